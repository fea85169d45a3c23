/* bench.h - shared pieces of the bruno-bench driver (not part of the library).
   Each subcommand lives in its own bench/cmd_*.c and is listed in main.c. */
#ifndef BRUNO_BENCH_H
#define BRUNO_BENCH_H

#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include "bruno.h"

/* Exit codes of every subcommand: 0 ok, 1 a run failed (the message says
   why), 2 a usage error (one line on stderr). */
#define BENCH_EXIT_OK 0
#define BENCH_EXIT_FAIL 1
#define BENCH_EXIT_USAGE 2

/* ---- command-line options ------------------------------------------------
   Options are "--name value" or "--flag". bench_opts_parse() checks every
   argument against the table; an unknown option, a missing or malformed
   value prints one line "bruno-bench CMD: ..." and returns BENCH_EXIT_USAGE.
   BENCH_OPT_RENAMED is an old name (not in --help): using it is a usage
   error that names the new one, kept in `help`. */
typedef enum { BENCH_OPT_FLAG, BENCH_OPT_STRING, BENCH_OPT_DOUBLE, BENCH_OPT_U64, BENCH_OPT_RENAMED } bench_opt_kind;

typedef struct bench_opt {
    const char *name;     /* without the leading "--" */
    bench_opt_kind kind;
    void *target;         /* int*, const char**, double*, uint64_t* */
    const char *help;
    int seen;             /* set by the parser */
} bench_opt;

/* Returns 0 on success, BENCH_EXIT_OK with *help_shown=1 for --help (after
   printing usage), or BENCH_EXIT_USAGE. */
int bench_opts_parse(const char *cmd, const char *summary, bench_opt *opts, int n_opts, int argc,
                     char **argv, int *help_shown);
/* Strict numbers: digits only for integers (no sign, '+', space, hex or
   trailing junk; at most max), a plain finite decimal for reals. 0 ok, -1
   refused (*out unchanged). */
int bench_parse_u64(const char *s, uint64_t max, uint64_t *out);
int bench_parse_double(const char *s, double *out);
/* The next item of a comma list "a,b,c" into item[n], advancing *s: 1
   an item, 0 the end, -1 an empty or over-long item or a trailing comma. */
int bench_list_next(const char **s, char *item, size_t n);
/* *out = a*b*c; -1 (and *out unchanged) if it does not fit in size_t. */
int bench_mul_size(size_t *out, size_t a, size_t b, size_t c);
/* "dir/file" into buf[n]; -1 with a message if it does not fit (no silent truncation). */
int bench_path_join(char *buf, size_t n, const char *dir, const char *file);
/* -1 with a message if two of the outputs paths[0..n) (NULL: not written,
   "-": stdout) are the same file; names[] are the option names. */
int bench_outputs_distinct(const char *cmd, const char *const *paths, const char *const *names, int n);
/* A data file: data_file if not NULL, else DIR/<rel> or DIR/<basename> for DIR in data_dir (may be
   NULL), $BRUNO_DATA_DIR; then datasets/data/<rel>, ../shared/datasets/<rel> (the search order of
   datasets/fetch.sh). 0 found (path in buf), -1 not (buf holds the last path tried). */
int bench_find_data(const char *data_file, const char *data_dir, const char *rel, char *buf, size_t n);
void bench_opts_usage(FILE *f, const char *cmd, const char *summary, const bench_opt *opts, int n_opts);

/* ---- output ---------------------------------------------------------------
   Results are written atomically: into "<path>.tmp.<pid>", fsync'ed, then
   renamed over <path>; a run that fails leaves the old file untouched.
   path NULL or "-" writes to stdout. */
typedef struct bench_out {
    FILE *f;
    char *path;      /* final path, NULL for stdout */
    char *tmp_path;
} bench_out;

int bench_out_open(bench_out *o, const char *path);   /* 0 ok, -1 error (message printed) */
int bench_out_commit(bench_out *o);                   /* 0 ok; renames into place */
void bench_out_abort(bench_out *o);                   /* removes the temporary file */

/* ---- run-directory lock ----------------------------------------------------
   An output directory belongs to one process at a time: flock(2) on
   "<dir>/lock", which then holds "pid P host H". If another process holds it,
   prints "bruno-bench CMD: DIR is in use by pid P host H" and returns -1
   (also -1 with a message when the file cannot be opened). On success the
   descriptor stays open: the lock lasts until the process exits, however it
   exits (kill -9 included). flock works across nodes on NFS (Linux emulates
   it with byte-range locks there). */
int bench_lock_dir(const char *cmd, const char *dir);

/* ---- time ------------------------------------------------------------------ */
double bench_now(void); /* monotonic seconds */

/* ---- device neurons from a file (`--device FILE`, bench/device.c) ----------
   The device a command runs (found by name in the library's table of
   devices) and its parameter set: the table's defaults, then the file's
   key=value lines (SI units). The file's text is kept for summaries. */
typedef struct bench_device {
    const bruno_device *dev;
    double prm[BRUNO_DEVICE_MAX_PARAMS];
    int from_file;        /* a --device file was read */
} bench_device;

/* dev = the device named neuron (NULL if it is not a device); path may be
   NULL (the defaults). 0 ok, else BENCH_EXIT_USAGE after one line
   "bruno-bench CMD: FILE: line L: KEY: ..." on stderr. */
int bench_device_load(bench_device *d, const char *cmd, const char *neuron, const char *path);
/* The file's key=value lines on top of d->prm (d->dev set); as above. */
int bench_device_apply(bench_device *d, const char *cmd, const char *path);
/* Set parameter key to x if the device has it (command-line overrides). */
void bench_device_set(bench_device *d, const char *key, double x);

/* ---- subcommands ------------------------------------------------------------ */
typedef struct bench_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} bench_command;

#endif
