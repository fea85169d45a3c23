/* util.c - option parsing, atomic output and timing for bruno-bench. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* flock(2) */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/file.h>

void bench_opts_usage(FILE *f, const char *cmd, const char *summary, const bench_opt *opts, int n_opts)
{
    int i;
    fprintf(f, "usage: bruno-bench %s [options]\n%s\n\noptions:\n", cmd, summary);
    for (i = 0; i < n_opts; ++i) {
        const char *arg = opts[i].kind == BENCH_OPT_FLAG ? "" : opts[i].kind == BENCH_OPT_STRING ? " VALUE" : " NUMBER";
        fprintf(f, "  --%s%s\n      %s\n", opts[i].name, arg, opts[i].help);
    }
    fprintf(f, "  --help\n      show this help\n");
}

int bench_opts_parse(const char *cmd, const char *summary, bench_opt *opts, int n_opts, int argc,
                     char **argv, int *help_shown)
{
    int a, i;
    *help_shown = 0;
    for (a = 1; a < argc; ++a) {
        const char *name = argv[a];
        bench_opt *o = NULL;
        if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
            bench_opts_usage(stdout, cmd, summary, opts, n_opts);
            *help_shown = 1;
            return BENCH_EXIT_OK;
        }
        if (strncmp(name, "--", 2) != 0) {
            fprintf(stderr, "bruno-bench %s: unexpected argument '%s' (see --help)\n", cmd, name);
            return BENCH_EXIT_USAGE;
        }
        for (i = 0; i < n_opts; ++i)
            if (strcmp(name + 2, opts[i].name) == 0) o = &opts[i];
        if (!o) {
            fprintf(stderr, "bruno-bench %s: unknown option '%s' (see --help)\n", cmd, name);
            return BENCH_EXIT_USAGE;
        }
        o->seen = 1;
        if (o->kind == BENCH_OPT_FLAG) {
            *(int *)o->target = 1;
            continue;
        }
        if (a + 1 >= argc) {
            fprintf(stderr, "bruno-bench %s: option '%s' needs a value\n", cmd, name);
            return BENCH_EXIT_USAGE;
        }
        {
            const char *val = argv[++a];
            char *end = NULL;
            errno = 0;
            if (o->kind == BENCH_OPT_STRING) {
                *(const char **)o->target = val;
            } else if (o->kind == BENCH_OPT_DOUBLE) {
                double d = strtod(val, &end);
                if (end == val || *end || errno || !isfinite(d)) {
                    fprintf(stderr, "bruno-bench %s: option '%s' needs a finite number, got '%s'\n", cmd, name, val);
                    return BENCH_EXIT_USAGE;
                }
                *(double *)o->target = d;
            } else {
                unsigned long long u;
                if (val[0] == '-') {
                    fprintf(stderr, "bruno-bench %s: option '%s' needs a non-negative integer, got '%s'\n", cmd, name, val);
                    return BENCH_EXIT_USAGE;
                }
                u = strtoull(val, &end, 10);
                if (end == val || *end || errno) {
                    fprintf(stderr, "bruno-bench %s: option '%s' needs a non-negative integer, got '%s'\n", cmd, name, val);
                    return BENCH_EXIT_USAGE;
                }
                *(uint64_t *)o->target = (uint64_t)u;
            }
        }
    }
    return 0;
}

int bench_out_open(bench_out *o, const char *path)
{
    memset(o, 0, sizeof *o);
    if (!path || strcmp(path, "-") == 0) {
        o->f = stdout;
        return 0;
    }
    o->path = strdup(path);
    o->tmp_path = (char *)malloc(strlen(path) + 32);
    if (!o->path || !o->tmp_path) {
        fprintf(stderr, "bruno-bench: out of memory\n");
        free(o->path);
        free(o->tmp_path);
        return -1;
    }
    sprintf(o->tmp_path, "%s.tmp.%ld", path, (long)getpid());
    o->f = fopen(o->tmp_path, "w");
    if (!o->f) {
        fprintf(stderr, "bruno-bench: cannot write '%s': %s\n", o->tmp_path, strerror(errno));
        free(o->path);
        free(o->tmp_path);
        o->path = o->tmp_path = NULL;
        return -1;
    }
    return 0;
}

int bench_out_commit(bench_out *o)
{
    int rc = 0;
    if (!o->path) {
        if (fflush(stdout) != 0) rc = -1;
        return rc;
    }
    if (fflush(o->f) != 0 || fsync(fileno(o->f)) != 0) rc = -1;
    if (fclose(o->f) != 0) rc = -1;
    o->f = NULL;
    if (rc == 0 && rename(o->tmp_path, o->path) != 0) rc = -1;
    if (rc != 0) {
        fprintf(stderr, "bruno-bench: cannot write '%s': %s\n", o->path, strerror(errno));
        remove(o->tmp_path);
    }
    free(o->path);
    free(o->tmp_path);
    o->path = o->tmp_path = NULL;
    return rc;
}

void bench_out_abort(bench_out *o)
{
    if (!o->path) return;
    if (o->f) fclose(o->f);
    remove(o->tmp_path);
    free(o->path);
    free(o->tmp_path);
    o->f = NULL;
    o->path = o->tmp_path = NULL;
}

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int bench_lock_dir(const char *cmd, const char *dir)
{
    char path[4096], holder[256], host[256];
    ssize_t n;
    int fd;
    if ((size_t)snprintf(path, sizeof path, "%s/lock", dir) >= sizeof path) {
        fprintf(stderr, "bruno-bench %s: output path too long\n", cmd);
        return -1;
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        fprintf(stderr, "bruno-bench %s: cannot open the lock file %s: %s\n", cmd, path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        n = pread(fd, holder, sizeof holder - 1, 0);
        holder[n > 0 ? n : 0] = 0;
        holder[strcspn(holder, "\n")] = 0;
        if (e == EWOULDBLOCK)
            fprintf(stderr, "bruno-bench %s: %s is in use by %s (lock %s); not writing into it\n", cmd, dir,
                    holder[0] ? holder : "another process", path);
        else
            fprintf(stderr, "bruno-bench %s: cannot lock %s: %s\n", cmd, path, strerror(e));
        close(fd);
        return -1;
    }
    if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = 0;
    if (ftruncate(fd, 0) != 0 || dprintf(fd, "pid %ld host %s\n", (long)getpid(), host) < 0) {
        fprintf(stderr, "bruno-bench %s: cannot write the lock file %s: %s\n", cmd, path, strerror(errno));
        close(fd);
        return -1;
    }
    return 0; /* fd stays open: the lock is held until the process exits */
}
