/* device.c - `--device FILE`: a device neuron's parameters from key=value
   text in SI units (see bench.h). The library parses and refuses (unknown
   key, not a number, out of range, derived constants that overflow or
   underflow in the build's precision); this file only reads the file. */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_DEVICE_MAX_FILE 65536

/* The whole file as a NUL-terminated string (malloc'ed), or NULL. */
static char *read_text(const char *cmd, const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    if (!f) {
        fprintf(stderr, "bruno-bench %s: --device %s: %s\n", cmd, path, strerror(errno));
        return NULL;
    }
    buf = (char *)malloc(BENCH_DEVICE_MAX_FILE + 1);
    n = buf ? fread(buf, 1, BENCH_DEVICE_MAX_FILE + 1, f) : 0;
    fclose(f);
    if (!buf || n > BENCH_DEVICE_MAX_FILE || memchr(buf, 0, n)) {
        fprintf(stderr, "bruno-bench %s: --device %s: %s\n", cmd, path,
                buf ? "not a text file of at most 64 KiB" : "out of memory");
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    return buf;
}

int bench_device_apply(bench_device *d, const char *cmd, const char *path)
{
    char msg[512], *text;
    bruno_result r;
    if (!(text = read_text(cmd, path))) return BENCH_EXIT_USAGE;
    msg[0] = 0;
    r = bruno_device_parse(d->dev, text, d->prm, msg, sizeof msg);
    free(text);
    if (r != BRUNO_OK) {
        fprintf(stderr, "bruno-bench %s: --device %s: %s (%s)\n", cmd, path, msg, bruno_result_string(r));
        return BENCH_EXIT_USAGE;
    }
    d->from_file = 1;
    return 0;
}

int bench_device_load(bench_device *d, const char *cmd, const char *neuron, const char *path)
{
    memset(d, 0, sizeof *d);
    d->dev = bruno_device_find(neuron);
    if (!d->dev) {
        if (!path) return 0;
        fprintf(stderr, "bruno-bench %s: --device needs a device neuron (", cmd);
        for (size_t i = 0; bruno_device_at(i); ++i) fprintf(stderr, "%s%s", i ? ", " : "", bruno_device_at(i)->name);
        fprintf(stderr, "), not '%s'\n", neuron);
        return BENCH_EXIT_USAGE;
    }
    bruno_device_defaults(d->dev, d->prm);
    return path ? bench_device_apply(d, cmd, path) : 0;
}

void bench_device_set(bench_device *d, const char *key, double x)
{
    int k = d->dev ? bruno_device_param_index(d->dev, key) : -1;
    if (k >= 0) d->prm[k] = x;
}
