/* util.c - option parsing, atomic output and timing for bruno-bench. */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700 /* realpath */
#define _DEFAULT_SOURCE  /* flock(2) */
#include "bench.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/file.h>

/* The one number syntax of every option, list and hyper-parameter file:
   what strtoull/strtod accept, minus what they quietly skip or allow
   (leading white space, a sign on an unsigned value, '+', trailing junk,
   hexadecimal, inf/nan). */
static int bench__plain_number(const char *s, int is_int)
{
    const char *p = s;
    if (!s || !*s) return 0;
    if (!is_int && *p == '-') ++p;
    if (!(*p >= '0' && *p <= '9') && !(!is_int && *p == '.' && p[1] >= '0' && p[1] <= '9')) return 0;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) return 0;
    for (; *p; ++p)
        if (!((*p >= '0' && *p <= '9') || (!is_int && (*p == '.' || *p == 'e' || *p == 'E' || *p == '-' || *p == '+'))))
            return 0;
    return 1;
}

int bench_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    unsigned long long u;
    if (!bench__plain_number(s, 1)) return -1;
    errno = 0;
    u = strtoull(s, &end, 10);
    if (end == s || *end || errno == ERANGE || (uint64_t)u > max) return -1;
    *out = (uint64_t)u;
    return 0;
}

int bench_parse_double(const char *s, double *out)
{
    char *end = NULL;
    double d;
    if (!bench__plain_number(s, 0)) return -1;
    errno = 0;
    d = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(d)) return -1;
    *out = d;
    return 0;
}

int bench_list_next(const char **s, char *item, size_t n)
{
    size_t len;
    if (!**s) return 0;
    len = strcspn(*s, ",");
    if (len == 0 || len >= n) return -1;
    memcpy(item, *s, len);
    item[len] = 0;
    *s += len;
    if (**s == ',' && *++*s == 0) return -1; /* a trailing comma */
    return 1;
}

int bench_mul_size(size_t *out, size_t a, size_t b, size_t c)
{
    if ((b && a > (size_t)-1 / b) || (c && a * b > (size_t)-1 / c)) return -1;
    *out = a * b * c;
    return 0;
}

int bench_path_join(char *buf, size_t n, const char *dir, const char *file)
{
    int k = snprintf(buf, n, "%s/%s", dir, file);
    if (k < 0 || (size_t)k >= n) {
        fprintf(stderr, "bruno-bench: path '%s/%s' is longer than %zu characters\n", dir, file, n - 1);
        return -1;
    }
    return 0;
}

/* Same file: same st_dev and st_ino when both exist; otherwise the same
   text after resolving the directory (an output not yet written). Two
   stdout outputs ("-") are the same too. */
static int bench__same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    int da = !a || strcmp(a, "-") == 0, db = !b || strcmp(b, "-") == 0;
    if (da || db) return da && db;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    {
        char ra[PATH_MAX], rb[PATH_MAX], *ca = strdup(a), *cb = strdup(b);
        int same = 0;
        if (ca && cb) {
            char *sla = strrchr(ca, '/'), *slb = strrchr(cb, '/');
            const char *fa = sla ? sla + 1 : ca, *fb = slb ? slb + 1 : cb;
            if (sla) *sla = 0;
            if (slb) *slb = 0;
            if (strcmp(fa, fb) == 0 && realpath(sla ? (*ca ? ca : "/") : ".", ra) &&
                realpath(slb ? (*cb ? cb : "/") : ".", rb))
                same = strcmp(ra, rb) == 0;
        }
        free(ca);
        free(cb);
        return same;
    }
}

int bench_outputs_distinct(const char *cmd, const char *const *paths, const char *const *names, int n)
{
    int i, j;
    for (i = 0; i < n; ++i)
        for (j = i + 1; j < n; ++j)
            if (paths[i] && paths[j] && bench__same_file(paths[i], paths[j])) {
                fprintf(stderr, "bruno-bench %s: --%s and --%s name the same file '%s'\n", cmd, names[i], names[j],
                        paths[j]);
                return -1;
            }
    return 0;
}

void bench_opts_usage(FILE *f, const char *cmd, const char *summary, const bench_opt *opts, int n_opts)
{
    int i;
    fprintf(f, "usage: bruno-bench %s [options]\n%s\n\noptions:\n", cmd, summary);
    for (i = 0; i < n_opts; ++i) {
        const char *arg = opts[i].kind == BENCH_OPT_FLAG ? "" : opts[i].kind == BENCH_OPT_STRING ? " VALUE" : " NUMBER";
        if (opts[i].kind == BENCH_OPT_RENAMED) continue;
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
        if (o->kind == BENCH_OPT_RENAMED) {
            fprintf(stderr, "bruno-bench %s: option '%s' is now '--%s' (see --help)\n", cmd, name, o->help);
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
            if (o->kind == BENCH_OPT_STRING) {
                *(const char **)o->target = val;
            } else if (o->kind == BENCH_OPT_DOUBLE) {
                if (bench_parse_double(val, (double *)o->target) != 0) {
                    fprintf(stderr, "bruno-bench %s: option '%s' needs a finite number, got '%s'\n", cmd, name, val);
                    return BENCH_EXIT_USAGE;
                }
            } else if (bench_parse_u64(val, UINT64_MAX, (uint64_t *)o->target) != 0) {
                fprintf(stderr, "bruno-bench %s: option '%s' needs a non-negative integer, got '%s'\n", cmd, name, val);
                return BENCH_EXIT_USAGE;
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
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "bruno-bench: cannot write to standard output: %s\n", strerror(errno));
            rc = -1;
        }
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

static int bench__file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

int bench_find_data(const char *data_file, const char *data_dir, const char *rel, char *buf, size_t n)
{
    const char *dirs[2];
    const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    int i;
    if (data_file) {
        snprintf(buf, n, "%s", data_file);
        return bench__file_exists(buf) ? 0 : -1;
    }
    dirs[0] = data_dir;
    dirs[1] = getenv("BRUNO_DATA_DIR");
    for (i = 0; i < 2; ++i) {
        if (!dirs[i] || !*dirs[i]) continue;
        snprintf(buf, n, "%s/%s", dirs[i], rel);
        if (bench__file_exists(buf)) return 0;
        snprintf(buf, n, "%s/%s", dirs[i], base);
        if (bench__file_exists(buf)) return 0;
    }
    snprintf(buf, n, "datasets/data/%s", rel);
    if (bench__file_exists(buf)) return 0;
    snprintf(buf, n, "../shared/datasets/%s", rel);
    if (bench__file_exists(buf)) return 0;
    snprintf(buf, n, "%s", rel);
    return -1;
}
