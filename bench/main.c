/* main.c - bruno-bench: the command-line driver of the benchmark suite.
   One subcommand per experiment; each is in bench/cmd_*.c. */
/* POSIX: the default allocator's 64-byte aligned posix_memalign (bruno.h) */
#define _POSIX_C_SOURCE 200809L
#define BRUNO_IMPLEMENTATION
#include "bench.h"

#include <string.h>

/* jemalloc's options (bruno-bench is linked with it; it reads this when it
   starts, and MALLOC_CONF still overrides it): keep freed pages instead of
   giving them back to the kernel. A training step allocates and frees its
   per-batch buffers (about 20 MB for a Braille batch of 128, and BPTT's
   fine states), and jemalloc's defaults gave the blocks above 8 MiB back
   at once, so every batch paid the page faults and the kernel's zeroing
   again: a LIF Braille epoch (raw file, one thread) took 100 k page faults
   in 3 epochs and about 25 % longer. Every trainer and model gets the same
   allocator, the counting allocator's and jemalloc's peaks count allocated
   bytes (unchanged), and the process's resident set stays at its high-water
   mark, which it reached anyway. */
const char *malloc_conf = "dirty_decay_ms:-1,muzzy_decay_ms:-1";

/* Subcommands (each defined in its own bench/cmd_*.c). */
int bench_cmd_trace(int argc, char **argv);
int bench_cmd_converge(int argc, char **argv);
int bench_cmd_memtime(int argc, char **argv);
int bench_cmd_gradcheck(int argc, char **argv);
int bench_cmd_throughput(int argc, char **argv);
int bench_cmd_rram(int argc, char **argv);
int bench_cmd_e1dump(int argc, char **argv);
int bench_cmd_train(int argc, char **argv);
int bench_cmd_nn(int argc, char **argv);
int bench_cmd_products(int argc, char **argv);

static const bench_command commands[] = {
    {"trace", "simulate FeLIF or LIF neurons and write their trajectories as CSV", bench_cmd_trace},
    {"converge", "error of the FeLIF Euler step vs step size, against a fine reference", bench_cmd_converge},
    {"memtime", "peak memory and time of one training step of the E1 set-up", bench_cmd_memtime},
    {"gradcheck", "BRUNO's and checkpointing's gradients against exact BPTT", bench_cmd_gradcheck},
    {"throughput", "FeLIF updates per second: scalar reference vs fast kernel, and threads", bench_cmd_throughput},
    {"rram", "RRAM synapse device: conductance vs programming current, states, read fit", bench_cmd_rram},
    {"e1dump", "write one E1 step (weights, input, spikes, gradients) for bench/peers", bench_cmd_e1dump},
    {"train", "train a Braille (E2) or JSB (E3) network: epochs.csv, summary.json; resumable", bench_cmd_train},
    {"nn", "1-nearest-neighbour accuracy on a Braille split: the baseline beside the E2 tables", bench_cmd_nn},
    {"products", "the dense and the zero-skipping product kernels on this suite's shapes, and the rule's pick",
     bench_cmd_products},
};

static void usage(FILE *f)
{
    size_t i;
    fprintf(f, "usage: bruno-bench COMMAND [options]   (bruno %s)\n\ncommands:\n", BRUNO_VERSION_STRING);
    for (i = 0; i < sizeof commands / sizeof commands[0]; ++i)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'bruno-bench COMMAND --help' describes one command.\n");
}

int main(int argc, char **argv)
{
    size_t i;
    if (argc < 2) {
        usage(stderr);
        return BENCH_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return BENCH_EXIT_OK;
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; ++i)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "bruno-bench: unknown command '%s' (see bruno-bench --help)\n", argv[1]);
    return BENCH_EXIT_USAGE;
}
