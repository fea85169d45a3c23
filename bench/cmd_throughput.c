/* cmd_throughput.c - `bruno-bench throughput`: FeLIF updates per second per
   core of the scalar reference loop and of the fast kernel, their ratio,
   and a whole BRUNO training step (E1 set-up) at 1 and 2 threads, all in
   one run (issue: performance). An "update" is one neuron's Euler step
   inside a window; frozen neurons count as they are skipped work the
   paper's loop does too. The two loops do not skip the same work: the
   reference skips each frozen neuron, the fast kernel computes every lane
   until all lanes of its item froze. On the default workload (0.2 to
   2 nA; most neurons do not spike in a given step, the 0.2 nA ones never)
   the reference computes 92 % of the counted updates and the fast kernel
   all of them (instrumented count), so the ratio if anything understates
   the fast kernel. Kernel times are a best of several repetitions, the two
   kernels timed alternately (best_alternating): a reference pass then
   three fast ones, three times.

   The 2-thread speed-up compares two threads with one thread on the same
   two cores, measured back to back. On a shared host the two cores do not
   run at the same speed: a neighbour on one of them slowed a 1-thread
   step pinned there from 0.054 to 0.071 s for seconds at a time, while
   the other core stayed fast. Two threads can at best add the two cores'
   speeds, so a speed-up against the faster core alone would measure the
   neighbour, not the code. Each round therefore times the 1-thread step
   pinned to each core, then the 2-thread step with one thread on each;
   its speed-up is the 1-thread time on the average core of the two (the
   harmonic mean of the two times: the mean speed) over the 2-thread time,
   and the reported speed-up is the median of the rounds. On Linux the
   threads are pinned with sched_setaffinity; elsewhere they run where the
   system puts them and the two 1-thread times are two runs.
   Each round also runs two independent 1-thread steps at once, one per
   core: nothing shared, no synchronisation, so their speed-up (2 steps in
   that time against one on the average core) is the most any 2-thread
   code could get from these two cores at that moment. On this project's
   shared 2-core VM it was 1.72-1.96 (median of 20-25 rounds, run to run),
   so a 2-thread target near 1.8 can fail on the host alone; the ratio of
   the two (threads2_efficiency_vs_pair) tells the code's share.

   The exact trainers' phases (issue 14, §1), at the E1 set-up (dense
   512 -> FeLIF, or the device --neuron names, --phase-hidden 128,
   --phase-ms 100 ms, batch 1, N = 1000, one thread), all in the same run and on a workspace that is already
   allocated (a training epoch's steady state, as `bruno-bench memtime`'s
   times, which report the first touch of its pages apart): the forward pass of BRUNO, of BPTT (every fine step's state
   stored) and of checkpointing (binomial, 31), and each one's backward
   pass, best of --phase-rounds rounds, the nets timed one after the other
   in each round. Updates are T B H N neuron-steps of the fine loop
   (recomputed ones: bruno_checkpoint_recompute_steps per window). The
   adjoint sweep's time is BPTT's backward minus BRUNO's (both reverse the
   dense layer, BRUNO's fine part is one coarse step per window); the
   recomputation's is checkpointing's backward (binomial, 31 snapshots)
   minus the same schedule's with N snapshots, which keeps every state and
   recomputes each step once (the two reverse the same steps the same way
   from snapshots; the first recomputes the difference of
   bruno_checkpoint_recompute_steps besides). Checkpointing's backward
   passes are also reported whole, as all their fine updates (recomputed
   and reversed) per second, and their adjoint sweep as the N-snapshot
   backward's time less its recomputation (N - 1 steps a window stored as
   they go, timed at BPTT's forward rate, which does the same). Beside
   them the machine's limits, measured in the same run: the store
   bandwidth, a plain streaming write of as many bytes as BPTT stores into
   a buffer whose pages are already mapped; and the arithmetic limit of one
   update, the core's rate of independent 512-bit FMAs times 16 lanes over
   the vector operations of one fast-kernel step (PHASE_LANE_OPS). The
   targets: BPTT's forward at least min(1/3 of BRUNO's forward rate, 60 %
   of the store bandwidth in updates (2 states per update)), the adjoint
   sweep at least 1/4 of BRUNO's forward rate; PASS or FAIL per target on
   stderr and as 1/0 in the CSV. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sched_setaffinity, CPU_SET */
#endif
#include "e1.h"

#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sched.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__AVX512F__) || defined(__SSE2__)
#include <immintrin.h>
#endif

/* Time a and b in the same windows of a shared machine: each round runs a
   na times, then b nb times; best of each. A busy spell of the host then
   lands on both, not on one only. 0, or -1 when a run failed. */
static int best_alternating(double (*run)(void *), void *a, unsigned na, void *b, unsigned nb, unsigned rounds,
                            double *ta, double *tb)
{
    unsigned r, k;
    *ta = *tb = 1e300;
    for (r = 0; r < rounds; ++r)
        for (k = 0; k < na + nb; ++k) {
            double t = run(k < na ? a : b), *best = k < na ? ta : tb;
            if (t < 0) return -1;
            if (t < *best) *best = t;
        }
    return 0;
}

/* One FeLIF layer fed a constant input, with one kernel, one thread. */
typedef struct kernel_run {
    bruno_net net;
    bruno_real *x;
    size_t B, T, n; /* n = T*B*H inputs */
    double spikes;  /* the output's sum after the last run */
} kernel_run;

static int kernel_run_init(kernel_run *k, bruno_kernel kernel, size_t H, size_t B, size_t T, uint32_t N)
{
    bruno_net_config nc = bruno_net_config_default(H);
    bruno_layer_config fe = bruno_layer_config_default(BRUNO_LAYER_FELIF);
    const bruno_real *y;
    size_t i;
    memset(k, 0, sizeof *k);
    nc.n_fine = N;
    nc.kernel = kernel;
    nc.threads = 1;
    fe.dev.input_gain = 1e-9;
    if (bruno_net_init(&k->net, &nc) != BRUNO_OK || bruno_net_add(&k->net, &fe) != BRUNO_OK) return -1;
    k->B = B;
    k->T = T;
    k->n = T * B * H;
    k->x = (bruno_real *)malloc(k->n * sizeof *k->x);
    if (!k->x) return -1;
    /* currents from 0.2 to 2 nA across the neurons: some never spike, some often */
    for (i = 0; i < k->n; ++i) k->x[i] = (bruno_real)(0.2 + 1.8 * (double)(i % H) / (double)H);
    /* allocate the workspace outside the timing */
    return bruno_net_forward(&k->net, k->x, T, B, 0, &y) == BRUNO_OK ? 0 : -1;
}

/* Seconds of one forward pass, or -1. */
static double kernel_run_time(void *ctx)
{
    kernel_run *k = (kernel_run *)ctx;
    const bruno_real *y;
    double t0 = bench_now(), t1, s = 0;
    size_t i;
    if (bruno_net_forward(&k->net, k->x, k->T, k->B, 0, &y) != BRUNO_OK) return -1;
    t1 = bench_now();
    for (i = 0; i < k->n; ++i) s += y[i];
    k->spikes = s;
    return t1 - t0;
}

static void kernel_run_free(kernel_run *k)
{
    free(k->x);
    bruno_net_free(&k->net);
}

/* The reference (slow) and the fast kernel: a reference pass, then three
   fast ones, three times. */
static int kernel_times(size_t H, size_t B, size_t T, uint32_t N, double *t_ref, double *t_fast, double *s_ref,
                        double *s_fast)
{
    kernel_run r, f;
    int rc = -1;
    memset(&f, 0, sizeof f); /* freed below even when r's set-up failed */
    if (kernel_run_init(&r, BRUNO_KERNEL_REFERENCE, H, B, T, N) == 0 &&
        kernel_run_init(&f, BRUNO_KERNEL_FAST, H, B, T, N) == 0)
        rc = best_alternating(kernel_run_time, &r, 1, &f, 3, 3, t_ref, t_fast);
    *s_ref = r.spikes;
    *s_fast = f.spikes;
    kernel_run_free(&r);
    kernel_run_free(&f);
    return rc;
}

/* One BRUNO training step of the E1 set-up (forward, loss, backward). */
typedef struct train_step {
    bruno_net net;
    bruno_real *x, *dy;
    size_t B, T, ny;
} train_step;

static int train_step_init(train_step *s, unsigned threads, size_t H, size_t B, size_t T)
{
    e1_setup e;
    const bruno_real *y;
    size_t nx = T * B * 512;
    memset(s, 0, sizeof *s);
    e1_setup_init(&e, "felif", 512, H, B, (double)T, 1e-3, 1e-9, 1000, 1);
    e.net.threads = threads;
    if (e1_build(&s->net, &e) != BRUNO_OK) return -1;
    s->B = B;
    s->T = T;
    s->ny = T * B * H;
    s->x = (bruno_real *)malloc(nx * sizeof *s->x);
    s->dy = (bruno_real *)malloc(s->ny * sizeof *s->dy);
    if (!s->x || !s->dy) return -1;
    e1_input(s->x, nx, 1);
    bruno_net_forward(&s->net, s->x, T, B, 1, &y); /* warm-up, allocates the workspace */
    return 0;
}

/* Seconds of one training step, or -1. */
static double train_step_run(void *ctx)
{
    train_step *s = (train_step *)ctx;
    const bruno_real *y;
    double t0 = bench_now(), loss;
    if (bruno_net_forward(&s->net, s->x, s->T, s->B, 1, &y) != BRUNO_OK) return -1;
    bruno_loss_sum_sq(y, s->ny, s->dy, &loss);
    bruno_net_zero_grad(&s->net);
    if (bruno_net_backward(&s->net, s->dy) != BRUNO_OK) return -1;
    return bench_now() - t0;
}

static void train_step_free(train_step *s)
{
    free(s->x);
    free(s->dy);
    bruno_net_free(&s->net);
}

/* The calling thread on CPU cpu (cpu < 0: back on every CPU of `all`).
   0, or -1 when the system cannot pin. */
static int pin_self(int cpu, const void *all)
{
#ifdef __linux__
    cpu_set_t one;
    if (cpu < 0) return sched_setaffinity(0, sizeof(cpu_set_t), (const cpu_set_t *)all);
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return sched_setaffinity(0, sizeof one, &one);
#else
    (void)cpu;
    (void)all;
    return -1;
#endif
}

/* The first two CPUs this process may use into cpu[2], and the whole set
   into all (to restore it); 0, or -1 when there are fewer than two or the
   system cannot tell. */
static int two_cpus(int cpu[2], void *all)
{
#ifdef __linux__
    int c, n = 0;
    cpu_set_t *set = (cpu_set_t *)all;
    if (sched_getaffinity(0, sizeof *set, set) != 0) return -1;
    for (c = 0; c < CPU_SETSIZE && n < 2; ++c)
        if (CPU_ISSET(c, set)) cpu[n++] = c;
    return n == 2 ? 0 : -1;
#else
    (void)cpu;
    (void)all;
    return -1;
#endif
}

/* Thread i of the 2-thread team on cpu[i]. The OpenMP runtime keeps its
   threads from one parallel region to the next, so the library's regions
   run on these two. 0, or -1. */
static int pin_team(const int cpu[2], const void *all)
{
    int fails = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(2) reduction(+ : fails)
    fails += pin_self(cpu[omp_get_thread_num()], all) != 0 || omp_get_num_threads() != 2;
#else
    (void)cpu;
    (void)all;
    fails = 1;
#endif
    return fails ? -1 : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of v[0..n), n > 0; sorts v in place. */
static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Two independent 1-thread steps at once, one on each thread of the
   team: seconds until both are done, or -1. */
static double pair_run(train_step *a, train_step *c)
{
    double t0 = bench_now(), ta = 0, tc = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(2)
    {
        if (omp_get_thread_num() == 0) ta = train_step_run(a);
        else tc = train_step_run(c);
    }
#else
    ta = train_step_run(a);
    tc = train_step_run(c);
#endif
    return ta < 0 || tc < 0 ? -1 : bench_now() - t0;
}

typedef struct thread_times {
    double t1c[2], t2;     /* best steps: 1 thread on each core, 2 threads */
    double speedup;        /* median of the rounds' hm(1 thread on core 0, on core 1) / 2 threads */
    double pair_speedup;   /* median of 2 hm / (two independent 1-thread steps at once) */
    double efficiency;     /* median of (two independent steps at once) / (2 x 2-thread step) */
    int pinned;
} thread_times;

/* The step at 1 and 2 threads (see the top of the file): `rounds` rounds,
   each the 1-thread step on either core, the 2-thread step, and two
   independent 1-thread steps at once, one per core: the most two cores
   of this host give, with nothing shared. 0, or -1. */
static int train_step_times(size_t H, size_t B, size_t T, unsigned rounds, thread_times *o)
{
    train_step a, b, c2;
    int rc = -1, cpu[2] = {-1, -1}, have_all;
    unsigned r, c;
    double *ratio = (double *)malloc(3 * (size_t)rounds * sizeof *ratio), *pair = ratio + rounds, *eff = pair + rounds;
#ifdef __linux__
    cpu_set_t all;
#else
    char all;
#endif
    o->pinned = have_all = two_cpus(cpu, &all) == 0;
    memset(&a, 0, sizeof a); /* all freed below whatever set-up failed */
    memset(&b, 0, sizeof b);
    memset(&c2, 0, sizeof c2);
    if (ratio && train_step_init(&a, 1, H, B, T) == 0 && train_step_init(&b, 2, H, B, T) == 0 &&
        train_step_init(&c2, 1, H, B, T) == 0) {
        if (o->pinned && pin_team(cpu, &all) != 0) o->pinned = 0;
        o->t2 = o->t1c[0] = o->t1c[1] = 1e300;
        rc = 0;
        for (r = 0; r < rounds && rc == 0; ++r) {
            double t[2], tt, tp, hm;
            for (c = 0; c < 2; ++c) {
                if (o->pinned) pin_self(cpu[c], &all);
                t[c] = train_step_run(&a);
                if (t[c] < 0) rc = -1;
                if (t[c] < o->t1c[c]) o->t1c[c] = t[c];
            }
            if (o->pinned) pin_self(cpu[0], &all); /* thread 0 of the team is this thread */
            tt = train_step_run(&b);
            tp = pair_run(&a, &c2);
            if (tt < 0 || tp < 0) rc = -1;
            if (tt < o->t2) o->t2 = tt;
            hm = 2 / (1 / t[0] + 1 / t[1]);
            ratio[r] = hm / tt;
            pair[r] = 2 * hm / tp;
            eff[r] = tp / (2 * tt);
        }
        if (rc == 0) {
            o->speedup = median(ratio, rounds);
            o->pair_speedup = median(pair, rounds);
            o->efficiency = median(eff, rounds);
        }
        if (have_all) pin_self(-1, &all); /* back on every CPU (pin_team may have pinned this thread) */
    }
    free(ratio);
    train_step_free(&a);
    train_step_free(&b);
    train_step_free(&c2);
    return rc;
}

/* ---- the exact trainers' phases (see the top of the file) ---------------- */
/* The vector operations of one step of 16 lanes of the AVX-512 FeLIF
   kernel (bruno.h: bruno__v_lane and bruno__v_block), counted in the source
   one intrinsic each: the field and |E| + E_soft 4 (fmsub, mul, abs, add);
   log2 12 (getmant, sub, mul, getexp, 8 fma); X = 2^(alpha(...)) 2 + 8
   (sub, mul; exp2: roundscale, sub, 5 fma, scalef); the rate's exponent
   and its underflow mask 2, its exp2 8; e^(v/V_t) 1 + 8; a = sign(E) P_s -
   p 2 (ternlog, sub); v != 0 1; the leak 2 (fma, ternlog); a r 1; p' 1;
   v' 3 (sub, fnmadd, fma); the two clips 2 (range); the freeze 4 (the
   spike compare and the masked moves of v, p and taken: bruno__v_freeze_rn,
   the engine's case). 61 in all, not counting BPTT's 2 stores, which run
   on other ports; the state stays in registers through a window. (Until
   dabc68b the freeze was 4 compares and the state was loaded and stored
   each step: the same 61.) */
#define PHASE_LANE_OPS 61

typedef struct phase_net {
    bruno_net net;
    bruno_real *x, *dy;
    size_t T, ny;
    double tf, tb; /* best forward and backward [s] */
} phase_net;

static int phase_init(phase_net *s, const char *neuron, bruno_trainer tr, uint32_t K, size_t H, size_t T, uint32_t N)
{
    e1_setup e;
    size_t nx = T * 512;
    memset(s, 0, sizeof *s);
    e1_setup_init(&e, neuron, 512, H, 1, (double)T, 1e-3, 1e-9, N, 1);
    e.net.trainer = tr;
    e.net.schedule = BRUNO_SCHEDULE_BINOMIAL;
    e.net.checkpoints = K;
    e.net.threads = 1;
    if (e1_build(&s->net, &e) != BRUNO_OK) return -1;
    s->T = T;
    s->ny = T * H;
    s->tf = s->tb = 1e300;
    s->x = (bruno_real *)malloc(nx * sizeof *s->x);
    s->dy = (bruno_real *)malloc(s->ny * sizeof *s->dy);
    if (!s->x || !s->dy) return -1;
    e1_input(s->x, nx, 1);
    return 0;
}

/* One forward and backward pass; keeps the best of each. 0 or -1. */
static int phase_run(phase_net *s)
{
    const bruno_real *y;
    double t0 = bench_now(), t1, t2, loss;
    if (bruno_net_forward(&s->net, s->x, s->T, 1, 1, &y) != BRUNO_OK) return -1;
    t1 = bench_now();
    bruno_loss_sum_sq(y, s->ny, s->dy, &loss);
    bruno_net_zero_grad(&s->net);
    t2 = bench_now();
    if (bruno_net_backward(&s->net, s->dy) != BRUNO_OK) return -1;
    t2 = bench_now() - t2;
    if (t1 - t0 < s->tf) s->tf = t1 - t0;
    if (t2 < s->tb) s->tb = t2;
    return 0;
}

static void phase_free(phase_net *s)
{
    free(s->x);
    free(s->dy);
    bruno_net_free(&s->net);
}

/* Seconds of a plain streaming write of `bytes` (a multiple of 64) into
   buf, whose pages are mapped: non-temporal whole-vector stores. */
static double stream_write(void *buf, size_t bytes)
{
    double t0 = bench_now();
    size_t i;
#if defined(__AVX512F__)
    __m512i v = _mm512_set1_epi32(0x3f800000);
    for (i = 0; i < bytes; i += 64) _mm512_stream_si512((__m512i *)(void *)((char *)buf + i), v);
    _mm_sfence();
#elif defined(__SSE2__)
    __m128i v = _mm_set1_epi32(0x3f800000);
    for (i = 0; i < bytes; i += 16) _mm_stream_si128((__m128i *)(void *)((char *)buf + i), v);
    _mm_sfence();
#else
    volatile uint32_t *w = (volatile uint32_t *)buf;
    for (i = 0; i < bytes / 4; ++i) w[i] = 0x3f800000u;
#endif
    return bench_now() - t0;
}

/* Independent 512-bit FMAs per second on this core (12 chains, longer
   than any FMA latency times its ports; about 24 million), or 0 without
   AVX-512. */
static double vector_op_rate(void)
{
#if defined(__AVX512F__)
    __m512 a[12], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    const long iters = 2000000;
    double t0, t;
    float sink = 0;
    int u;
    long k;
    for (u = 0; u < 12; ++u) a[u] = _mm512_set1_ps(1.0f + (float)u);
    t0 = bench_now();
    for (k = 0; k < iters; ++k)
        for (u = 0; u < 12; ++u) a[u] = _mm512_fmadd_ps(a[u], m, c);
    t = bench_now() - t0;
    for (u = 0; u < 12; ++u) sink += _mm512_reduce_add_ps(a[u]);
    if (sink != sink || t <= 0) return 0; /* keeps the chains live */
    return 12.0 * (double)iters / t;
#else
    return 0;
#endif
}

typedef struct phase_times {
    double updates, recompute_updates, ckpt_updates, full_updates, store_bytes;
    double bruno_fwd, bptt_fwd, ckpt_fwd, bruno_bwd, bptt_bwd, ckpt_bwd, full_bwd, stream; /* best [s] */
    double vec_ops; /* independent 512-bit FMAs per s (0: not measured) */
} phase_times;

static int phase_times_run(const char *neuron, size_t H, size_t T, uint32_t N, unsigned rounds, phase_times *o)
{
    phase_net nb, np, nc, nf;
    void *buf = NULL;
    int rc = -1;
    unsigned r;
    memset(o, 0, sizeof *o);
    memset(&nb, 0, sizeof nb); /* all freed below whatever set-up failed */
    memset(&np, 0, sizeof np);
    memset(&nc, 0, sizeof nc);
    memset(&nf, 0, sizeof nf);
    o->updates = (double)T * (double)H * (double)N;
    /* recomputed beyond what N snapshots (every state kept, nothing recomputed twice) advance */
    o->recompute_updates = (double)T * (double)H *
                           ((double)bruno_checkpoint_recompute_steps(BRUNO_SCHEDULE_BINOMIAL, N, 31) -
                            (double)bruno_checkpoint_recompute_steps(BRUNO_SCHEDULE_BINOMIAL, N, N));
    /* every fine update of a checkpointing backward: the recomputed ones and the reversed ones */
    o->ckpt_updates = o->updates + (double)T * (double)H *
                                       (double)bruno_checkpoint_recompute_steps(BRUNO_SCHEDULE_BINOMIAL, N, 31);
    o->full_updates = o->updates + (double)T * (double)H *
                                       (double)bruno_checkpoint_recompute_steps(BRUNO_SCHEDULE_BINOMIAL, N, N);
    o->store_bytes = o->updates * 2 * (double)sizeof(bruno_real);
    o->stream = 1e300;
    if (phase_init(&nb, neuron, BRUNO_TRAINER_BRUNO, 31, H, T, N) == 0 && phase_init(&np, neuron, BRUNO_TRAINER_BPTT, 31, H, T, N) == 0 &&
        phase_init(&nc, neuron, BRUNO_TRAINER_CHECKPOINT, 31, H, T, N) == 0 &&
        phase_init(&nf, neuron, BRUNO_TRAINER_CHECKPOINT, N, H, T, N) == 0 &&
        (buf = malloc((size_t)o->store_bytes + 64)) != NULL) {
        char *b64 = (char *)buf + (64 - (uintptr_t)buf % 64) % 64;
        size_t bytes = (size_t)o->store_bytes / 64 * 64;
        memset(buf, 1, (size_t)o->store_bytes + 64); /* map every page before the timing */
        /* a first pass of each allocates its workspace */
        rc = phase_run(&nb) || phase_run(&np) || phase_run(&nc) || phase_run(&nf) ? -1 : 0;
        nb.tf = nb.tb = np.tf = np.tb = nc.tf = nc.tb = nf.tf = nf.tb = 1e300;
        for (r = 0; r < rounds && rc == 0; ++r) {
            double t;
            if (phase_run(&nb) || phase_run(&np) || phase_run(&nc) || phase_run(&nf)) rc = -1;
            t = stream_write(b64, bytes);
            if (t < o->stream) o->stream = t;
            t = vector_op_rate(); /* in every round too, so a busy spell of the host does not set it alone */
            if (t > o->vec_ops) o->vec_ops = t;
        }
        o->store_bytes = (double)bytes;
        o->bruno_fwd = nb.tf;
        o->bptt_fwd = np.tf;
        o->ckpt_fwd = nc.tf;
        o->bruno_bwd = nb.tb;
        o->bptt_bwd = np.tb;
        o->ckpt_bwd = nc.tb;
        o->full_bwd = nf.tb;
    }
    free(buf);
    phase_free(&nb);
    phase_free(&np);
    phase_free(&nc);
    phase_free(&nf);
    return rc;
}

/* The phases' rates beside the limits, the two targets (PASS/FAIL on
   stderr, 1/0 in the CSV). 0, or -1 when a write failed. */
static int phase_write(FILE *f, const phase_times *o, const char *neuron, size_t H, size_t ms)
{
    double upd_bytes = 2 * (double)sizeof(bruno_real); /* v and p of one update */
    double bruno = o->updates / o->bruno_fwd, bptt = o->updates / o->bptt_fwd, adj_s = o->bptt_bwd - o->bruno_bwd;
    double rec_s = o->ckpt_bwd - o->full_bwd, adj = adj_s > 0 ? o->updates / adj_s : 0;
    double rec = rec_s > 0 ? o->recompute_updates / rec_s : 0, bw = o->store_bytes / o->stream;
    double bw_upd = bw / upd_bytes, t_bptt = bruno / 3 < 0.6 * bw_upd ? bruno / 3 : 0.6 * bw_upd, t_adj = bruno / 4;
    /* the op count is the AVX-512 float kernel's (16 lanes a vector) */
    double arith = BRUNO_REAL_IS_DOUBLE ? 0 : o->vec_ops * 16 / PHASE_LANE_OPS;
    int pass_bptt = bptt >= t_bptt, pass_adj = adj >= t_adj;
    /* checkpointing's backward passes: all their fine updates (recomputed and
       reversed) per second; and the adjoint sweep of the one with N
       snapshots, its backward less its recomputation (N - 1 steps a window,
       each state stored as it goes, as BPTT's forward does: timed at BPTT's
       forward rate) */
    double ck_s = o->ckpt_bwd - o->bruno_bwd, full_s = o->full_bwd - o->bruno_bwd;
    double ck_adj_s = full_s - (o->full_updates - o->updates) / bptt;
    double ck_all = ck_s > 0 ? o->ckpt_updates / ck_s : 0, full_all = full_s > 0 ? o->full_updates / full_s : 0;
    double ck_adj = ck_adj_s > 0 ? o->updates / ck_adj_s : 0;
    fprintf(f, "phase_neuron,%s\n", neuron);
    fprintf(f, "phase_hidden,%zu\nphase_seq_ms,%zu\nphase_updates,%.6g\nphase_recompute_updates,%.6g\n", H, ms,
            o->updates, o->recompute_updates);
    fprintf(f, "phase_bruno_forward_s,%.6g\nphase_bptt_forward_s,%.6g\nphase_checkpoint_forward_s,%.6g\n", o->bruno_fwd,
            o->bptt_fwd, o->ckpt_fwd);
    fprintf(f, "phase_bruno_backward_s,%.6g\nphase_bptt_backward_s,%.6g\nphase_checkpoint_backward_s,%.6g\n",
            o->bruno_bwd, o->bptt_bwd, o->ckpt_bwd);
    fprintf(f, "phase_checkpoint_all_snapshots_backward_s,%.6g\n", o->full_bwd);
    fprintf(f, "bruno_forward_updates_per_s,%.6g\nbptt_forward_updates_per_s,%.6g\n", bruno, bptt);
    fprintf(f, "checkpoint_forward_updates_per_s,%.6g\n", o->updates / o->ckpt_fwd);
    fprintf(f, "adjoint_updates_per_s,%.6g\ncheckpoint_recompute_updates_per_s,%.6g\n", adj, rec);
    fprintf(f, "checkpoint_backward_updates,%.6g\ncheckpoint_backward_updates_per_s,%.6g\n", o->ckpt_updates, ck_all);
    fprintf(f, "checkpoint_all_snapshots_backward_updates,%.6g\ncheckpoint_all_snapshots_backward_updates_per_s,%.6g\n",
            o->full_updates, full_all);
    fprintf(f, "checkpoint_adjoint_updates_per_s,%.6g\n", ck_adj);
    fprintf(f, "bptt_store_bytes,%.6g\nbptt_store_bytes_per_s,%.6g\nstream_write_s,%.6g\nstore_bandwidth_bytes_per_s,%.6g\n",
            o->store_bytes, o->store_bytes / o->bptt_fwd, o->stream, bw);
    fprintf(f, "store_bandwidth_updates_per_s,%.6g\n", bw_upd);
    fprintf(f, "vector_fma_per_s,%.6g\nlane_vector_ops,%d\narithmetic_limit_updates_per_s,%.6g\n", o->vec_ops,
            PHASE_LANE_OPS, arith);
    fprintf(f, "target_bptt_forward_updates_per_s,%.6g\ntarget_bptt_forward_pass,%d\n", t_bptt, pass_bptt);
    fprintf(f, "target_adjoint_updates_per_s,%.6g\ntarget_adjoint_pass,%d\n", t_adj, pass_adj);
    fprintf(stderr, "throughput: BPTT forward %.3g updates/s >= min(BRUNO forward %.3g / 3, 60 %% of store bandwidth "
                    "%.3g updates/s) = %.3g: %s\n", bptt, bruno, bw_upd, t_bptt, pass_bptt ? "PASS" : "FAIL");
    fprintf(stderr, "throughput: adjoint sweep %.3g updates/s >= BRUNO forward / 4 = %.3g: %s\n", adj, t_adj,
            pass_adj ? "PASS" : "FAIL");
    return ferror(f) ? -1 : 0;
}

int bench_cmd_throughput(int argc, char **argv)
{
    uint64_t hidden = 256, batch = 4, steps = 20, n_fine = 1000, train_hidden = 128, train_batch = 8, train_ms = 50,
             repeats = 25, phase_hidden = 128, phase_ms = 100, phase_rounds = 5;
    const char *out_path = NULL, *neuron = "felif";
    int help = 0, rc, phases_only = 0;
    bench_opt opts[] = {
        {"hidden", BENCH_OPT_U64, &hidden, "FeLIF neurons of the kernel measurement (default 256)", 0},
        {"batch", BENCH_OPT_U64, &batch, "batch of the kernel measurement (default 4)", 0},
        {"steps", BENCH_OPT_U64, &steps, "network steps of the kernel measurement (default 20)", 0},
        {"n-fine", BENCH_OPT_U64, &n_fine, "fine steps per network step (default 1000)", 0},
        {"train-hidden", BENCH_OPT_U64, &train_hidden, "hidden size of the training-step measurement (default 128)", 0},
        {"train-batch", BENCH_OPT_U64, &train_batch, "batch of the training-step measurement (default 8)", 0},
        {"train-ms", BENCH_OPT_U64, &train_ms, "sequence length of the training step in ms (default 50)", 0},
        {"repeats", BENCH_OPT_U64, &repeats, "rounds of the training step: 1 thread on each core, 2 threads, two 1-thread steps at once (default 25)", 0},
        {"phase-hidden", BENCH_OPT_U64, &phase_hidden, "FeLIF neurons of the exact trainers' phases (default 128)", 0},
        {"phase-ms", BENCH_OPT_U64, &phase_ms, "sequence length of the phases in ms (default 100)", 0},
        {"phase-rounds", BENCH_OPT_U64, &phase_rounds, "rounds of the phases, best of (default 5)", 0},
        {"phases-only", BENCH_OPT_FLAG, &phases_only, "measure only the exact trainers' phases", 0},
        {"neuron", BENCH_OPT_STRING, &neuron, "device neuron of the phases' hidden layer (default felif)", 0},
        {"out", BENCH_OPT_STRING, &out_path, "CSV file (default stdout), written atomically", 0},
    };
    double s_ref = 0, s_fast = 0, t_ref = 1, t_fast = 1, t1 = 1, upd;
    thread_times tt;
    phase_times ph;
    bench_out out;
    rc = bench_opts_parse("throughput", "FeLIF updates per second: scalar reference vs fast kernel; training step at 1 and 2 threads.",
                          opts, (int)(sizeof opts / sizeof opts[0]), argc, argv, &help);
    if (rc || help) return rc;
    if (!hidden || !batch || !steps || !n_fine || n_fine > UINT32_MAX || !train_hidden || !train_batch || !train_ms ||
        !repeats || repeats > 1000 || hidden > E1_MAX_WIDTH || batch > E1_MAX_BATCH || steps > 1000000 ||
        (double)hidden * (double)batch > 1e8 || train_hidden > E1_MAX_WIDTH || train_batch > E1_MAX_BATCH ||
        train_ms > 1000000 || !phase_hidden || phase_hidden > E1_MAX_WIDTH || !phase_ms || phase_ms > 100000 ||
        !phase_rounds || phase_rounds > 1000) {
        fprintf(stderr, "bruno-bench throughput: every size must be > 0 (repeats at most 1000; --hidden, "
                        "--train-hidden <= 2^20, --batch, --train-batch <= 4096, hidden x batch <= 1e8, --steps, "
                        "--train-ms <= 1e6, --phase-hidden <= 2^20, --phase-ms <= 1e5, --phase-rounds <= 1000)\n");
        return BENCH_EXIT_USAGE;
    }
    if (!bruno_device_find(neuron)) {
        fprintf(stderr, "bruno-bench throughput: --neuron %s: no such device\n", neuron);
        return BENCH_EXIT_USAGE;
    }
    upd = (double)hidden * (double)batch * (double)steps * (double)n_fine;
    memset(&tt, 0, sizeof tt);
    tt.t1c[0] = tt.t1c[1] = tt.t2 = 1;
    if (!phases_only) {
        if (kernel_times(hidden, batch, steps, (uint32_t)n_fine, &t_ref, &t_fast, &s_ref, &s_fast) != 0) t_ref = t_fast = -1;
        if (train_step_times(train_hidden, train_batch, train_ms, (unsigned)repeats, &tt) != 0) tt.t1c[0] = tt.t2 = -1;
        t1 = tt.t1c[0] < tt.t1c[1] ? tt.t1c[0] : tt.t1c[1]; /* either core */
    }
    if (phase_times_run(neuron, phase_hidden, phase_ms, (uint32_t)n_fine, (unsigned)phase_rounds, &ph) != 0) ph.bptt_fwd = -1;
    if (t_ref <= 0 || t_fast <= 0 || t1 <= 0 || tt.t2 <= 0 || ph.bptt_fwd <= 0) {
        fprintf(stderr, "bruno-bench throughput: a measurement failed (out of memory?)\n");
        return BENCH_EXIT_FAIL;
    }
    if (bench_out_open(&out, out_path) != 0) return BENCH_EXIT_FAIL;
    fprintf(out.f, "metric,value\n");
    if (!phases_only) {
    fprintf(out.f, "reference_updates_per_s,%.6g\n", upd / t_ref);
    fprintf(out.f, "fast_updates_per_s,%.6g\n", upd / t_fast);
    fprintf(out.f, "fast_over_reference,%.4g\n", t_ref / t_fast);
    fprintf(out.f, "reference_spikes,%.0f\n", s_ref);
    fprintf(out.f, "fast_spikes,%.0f\n", s_fast);
    fprintf(out.f, "train_step_1thread_s,%.6g\n", t1);
    fprintf(out.f, "train_step_1thread_core0_s,%.6g\n", tt.t1c[0]);
    fprintf(out.f, "train_step_1thread_core1_s,%.6g\n", tt.t1c[1]);
    fprintf(out.f, "train_step_2threads_s,%.6g\n", tt.t2);
    fprintf(out.f, "threads_pinned,%d\n", tt.pinned);
    fprintf(out.f, "threads2_speedup,%.4g\n", tt.speedup);
    fprintf(out.f, "threads2_speedup_of_bests,%.4g\n", t1 / tt.t2);
    fprintf(out.f, "host_pair_speedup,%.4g\n", tt.pair_speedup);
    fprintf(out.f, "threads2_efficiency_vs_pair,%.4g\n", tt.efficiency);
    }
    if (phase_write(out.f, &ph, neuron, (size_t)phase_hidden, (size_t)phase_ms) != 0) {
        bench_out_abort(&out);
        return BENCH_EXIT_FAIL;
    }
    return bench_out_commit(&out) == 0 ? BENCH_EXIT_OK : BENCH_EXIT_FAIL;
}
