/* e1.h - the memory/time set-up of EXPERIMENTS.md E1, shared by the
   memtime and gradcheck subcommands: inputs -> dense (no bias) -> a
   spiking layer of `hidden` neurons (FeLIF with input gain 1e-9 A, or the
   LIF/RLIF baselines), loss sum of s^2. */
#ifndef BRUNO_BENCH_E1_H
#define BRUNO_BENCH_E1_H
#include "bench.h"

typedef struct e1_setup {
    const char *neuron;       /* felif (or another device neuron), lif, rlif */
    const double *device_params; /* the device's parameter set (NULL: its defaults) */
    size_t inputs, hidden, batch, T;
    double dt, gain;
    bruno_net_config net;     /* trainer, schedule, checkpoints, n_fine, seed, allocator */
} e1_setup;

/* Parse a trainer / schedule name; -1 if unknown. */
int e1_trainer(const char *name);
int e1_schedule(const char *name);
const char *e1_trainer_name(bruno_trainer t);
const char *e1_schedule_name(bruno_schedule s);

/* Fill s for the E1 set-up: T = seq_ms of network time at step dt (at
   least one step), the network config at its defaults but for dt, N and
   the seed; callers then set the trainer, schedule, threads... */
void e1_setup_init(e1_setup *s, const char *neuron, size_t inputs, size_t hidden, size_t batch, double seq_ms,
                   double dt, double gain, uint32_t n_fine, uint64_t seed);

/* Upper bounds of the E1 commands' size options (far above any experiment,
   far below what overflows a size), checked with every product that sizes
   an array; -1 with one line on stderr. */
#define E1_MAX_WIDTH (1u << 20)
#define E1_MAX_BATCH 4096u
#define E1_MAX_STEPS 1e6
int e1_check_sizes(const char *cmd, uint64_t inputs, uint64_t hidden, uint64_t batch, double seq_ms, double dt);

/* Build the network; BRUNO_OK or the library's error. */
bruno_result e1_build(bruno_net *net, const e1_setup *s);
/* Fill x [T][batch][inputs] with uniform [0, 1) draws from seed. */
void e1_input(bruno_real *x, size_t n, uint64_t seed);
#endif
