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
   value prints one line "bruno-bench CMD: ..." and returns BENCH_EXIT_USAGE. */
typedef enum { BENCH_OPT_FLAG, BENCH_OPT_STRING, BENCH_OPT_DOUBLE, BENCH_OPT_U64 } bench_opt_kind;

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

/* ---- subcommands ------------------------------------------------------------ */
typedef struct bench_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} bench_command;

#endif
