/* cmd_memtime.c - `bruno-bench memtime`: peak memory and wall time of one
   forward + backward of the E1 set-up (EXPERIMENTS.md E1), one CSV row.
   Peak memory three ways in one run: the exact counting allocator (all
   of the network's, the input's and dL/dy's bytes pass through it), its
   prediction from bruno_net_train_bytes() before anything runs, and
   jemalloc's per-thread peak (thread.peak.read, jemalloc >= 5.3; it
   rounds to size classes and also sees the driver's own allocations).
   Under valgrind jemalloc's counters read 0; `make massif` measures
   there instead.
   Time: the network keeps its workspace from one repetition to the next,
   as training does (the workspace is sized for a (T, batch) and reused
   while it fits), so the timed repetitions measure what a training step
   costs. The first repetition allocates the workspace and touches its
   pages for the first time (BPTT's store of every fine state, ~100 MB at
   hidden 128 and 100 ms, pays page faults there that no later step does):
   it is timed on its own (time_first_forward_s, time_first_backward_s)
   and never in the means. Every trainer gets the same treatment. */
#include "e1.h"

#include <jemalloc/jemalloc.h>
#include <stdlib.h>
#include <string.h>

static int jemalloc_peak_reset(void) { return mallctl("thread.peak.reset", NULL, NULL, NULL, 0); }

static unsigned long long jemalloc_peak(void)
{
    uint64_t v = 0;
    size_t sz = sizeof v;
    if (mallctl("thread.peak.read", &v, &sz, NULL, 0) != 0) return 0;
    return (unsigned long long)v;
}

int bench_cmd_memtime(int argc, char **argv)
{
    const char *trainer = "bruno", *schedule = "binomial", *neuron = "felif", *out_path = NULL, *device_path = NULL;
    uint64_t checkpoints = 31, hidden = 128, inputs = 512, batch = 1, n_fine = 1000, repeats = 1, seed = 1, warmup = 0, threads = 1;
    double seq_ms = 100, dt = 1e-3, gain = 1e-9;
    int help = 0, rc, header = 1, no_header = 0;
    bench_opt opts[] = {
        {"trainer", BENCH_OPT_STRING, &trainer, "bruno (default), bptt, checkpoint or coarse", 0},
        {"method", BENCH_OPT_RENAMED, NULL, "trainer", 0},
        {"schedule", BENCH_OPT_STRING, &schedule, "checkpointing schedule: binomial (default), uniform, sequence", 0},
        {"checkpoints", BENCH_OPT_U64, &checkpoints, "checkpoints K (default 31)", 0},
        {"neuron", BENCH_OPT_STRING, &neuron, "felif (default) or another device neuron, lif or rlif (baselines at dt, exact BPTT)", 0},
        {"device", BENCH_OPT_STRING, &device_path, "key=value file of the device's parameters in SI units", 0},
        {"hidden", BENCH_OPT_U64, &hidden, "hidden neurons (default 128)", 0},
        {"inputs", BENCH_OPT_U64, &inputs, "input features (default 512)", 0},
        {"seq-ms", BENCH_OPT_DOUBLE, &seq_ms, "sequence length in ms of network time (default 100)", 0},
        {"dt", BENCH_OPT_DOUBLE, &dt, "network step in s (default 1e-3)", 0},
        {"batch", BENCH_OPT_U64, &batch, "batch size (default 1)", 0},
        {"n-fine", BENCH_OPT_U64, &n_fine, "fine FeLIF steps per network step (default 1000)", 0},
        {"gain", BENCH_OPT_DOUBLE, &gain, "FeLIF input gain in A (default 1e-9)", 0},
        {"repeats", BENCH_OPT_U64, &repeats, "forward+backward repetitions averaged, on the kept workspace (default 1)", 0},
        {"warmup", BENCH_OPT_U64, &warmup, "untimed repetitions after the first one, which allocates the workspace "
                                           "and is timed on its own (default 0)", 0},
        {"seed", BENCH_OPT_U64, &seed, "seed of weights and input (default 1)", 0},
        {"threads", BENCH_OPT_U64, &threads, "worker threads (default 1; results are the same for any count)", 0},
        {"no-header", BENCH_OPT_FLAG, &no_header, "omit the CSV header row", 0},
        {"out", BENCH_OPT_STRING, &out_path, "CSV file (default stdout), written atomically", 0},
    };
    int n_opts = (int)(sizeof opts / sizeof opts[0]);
    e1_setup s;
    bench_device dv;
    bruno_counting_allocator ca;
    bruno_allocator a;
    bruno_net net;
    bruno_real *x = NULL, *dy = NULL;
    size_t nx, ny, predicted;
    double tf = 0, tb = 0, tf1 = 0, tb1 = 0, loss = 0;
    unsigned long long je_peak;
    uint64_t rep;
    int tr, sc;
    bruno_result r;
    bench_out out;

    rc = bench_opts_parse("memtime", "Peak memory and time of one forward+backward of the E1 set-up (CSV row).", opts,
                          n_opts, argc, argv, &help);
    if (rc || help) return rc;
    header = !no_header;
    tr = e1_trainer(trainer);
    sc = e1_schedule(schedule);
    if (tr < 0 || sc < 0) {
        fprintf(stderr, "bruno-bench memtime: unknown --trainer '%s' or --schedule '%s'\n", trainer, schedule);
        return BENCH_EXIT_USAGE;
    }
    if ((rc = bench_device_load(&dv, "memtime", neuron, device_path)) != 0) return rc;
    if (!dv.dev && strcmp(neuron, "lif") && strcmp(neuron, "rlif")) {
        fprintf(stderr, "bruno-bench memtime: --neuron must be a device neuron (felif, ...), lif or rlif\n");
        return BENCH_EXIT_USAGE;
    }
    if (repeats == 0 || repeats > 1000000 || warmup > 1000000 || n_fine == 0 || n_fine > UINT32_MAX ||
        checkpoints == 0 || checkpoints > UINT32_MAX || threads > 1024) {
        fprintf(stderr, "bruno-bench memtime: --repeats must be 1..1e6, --warmup <= 1e6, --n-fine and --checkpoints "
                        "1..2^32-1, --threads <= 1024\n");
        return BENCH_EXIT_USAGE;
    }
    if (e1_check_sizes("memtime", inputs, hidden, batch, seq_ms, dt) != 0) return BENCH_EXIT_USAGE;
    e1_setup_init(&s, neuron, inputs, hidden, batch, seq_ms, dt, gain, (uint32_t)n_fine, seed);
    s.net.trainer = (bruno_trainer)tr;
    s.net.schedule = (bruno_schedule)sc;
    s.net.checkpoints = (uint32_t)checkpoints;
    s.net.threads = (unsigned)threads;
    if (!dv.dev) s.net.trainer = BRUNO_TRAINER_BPTT; /* LIF layers are BPTT at dt */
    if (dv.from_file) s.device_params = dv.prm;

    jemalloc_peak_reset();
    bruno_counting_allocator_init(&ca, NULL);
    a = bruno_counting_allocator_get(&ca);
    s.net.allocator = a;
    if ((r = e1_build(&net, &s)) != BRUNO_OK) {
        fprintf(stderr, "bruno-bench memtime: %s\n", bruno_result_string(r));
        return BENCH_EXIT_FAIL;
    }
    nx = s.T * batch * inputs;
    ny = s.T * batch * hidden;
    predicted = bruno_net_bytes(&net) + bruno_net_train_bytes(&net, s.T, batch) + (nx + ny) * sizeof(bruno_real);
    x = (bruno_real *)bruno_alloc(&a, nx, sizeof *x);
    dy = (bruno_real *)bruno_alloc(&a, ny, sizeof *dy);
    if (!x || !dy) {
        fprintf(stderr, "bruno-bench memtime: out of memory for the input\n");
        rc = BENCH_EXIT_FAIL;
        goto done;
    }
    e1_input(x, nx, seed);
    for (rep = 0; rep < 1 + warmup + repeats; ++rep) {
        const bruno_real *y;
        double t0 = bench_now(), t1, t2;
        if ((r = bruno_net_forward(&net, x, s.T, batch, 1, &y)) != BRUNO_OK) break;
        t1 = bench_now();
        if ((r = bruno_loss_sum_sq(y, ny, dy, &loss)) != BRUNO_OK) break;
        bruno_net_zero_grad(&net);
        if ((r = bruno_net_backward(&net, dy)) != BRUNO_OK) break;
        t2 = bench_now();
        if (rep == 0) { /* the first touch of the workspace */
            tf1 = t1 - t0;
            tb1 = t2 - t1;
        } else if (rep > warmup) { /* the warm-up runs count for the peaks, not for the time */
            tf += t1 - t0;
            tb += t2 - t1;
        }
    }
    if (r != BRUNO_OK) {
        fprintf(stderr, "bruno-bench memtime: %s\n", bruno_result_string(r));
        rc = BENCH_EXIT_FAIL;
        goto done;
    }
    je_peak = jemalloc_peak();
    if (bench_out_open(&out, out_path) != 0) {
        rc = BENCH_EXIT_FAIL;
        goto done;
    }
    if (header)
        fprintf(out.f, "trainer,schedule,checkpoints,neuron,hidden,inputs,seq_ms,batch,n_fine,repeats,"
                       "peak_bytes_counted,peak_bytes_predicted,peak_bytes_jemalloc,time_forward_s,time_backward_s,"
                       "time_total_s,loss,recompute_steps,time_first_forward_s,time_first_backward_s\n");
    /* recompute_steps: fine steps the schedule recomputes per network step
       (bruno_checkpoint_recompute_steps), so the tables can say what the
       time pays for; 0 for the other trainers */
    fprintf(out.f, "%s,%s,%llu,%s,%llu,%llu,%g,%llu,%llu,%llu,%zu,%zu,%llu,%.6f,%.6f,%.6f,%.9g,%zu,%.6f,%.6f\n",
            dv.dev ? trainer : "bptt", tr == BRUNO_TRAINER_CHECKPOINT ? schedule : "",
            tr == BRUNO_TRAINER_CHECKPOINT ? (unsigned long long)checkpoints : 0ULL, neuron,
            (unsigned long long)hidden, (unsigned long long)inputs, (double)s.T * dt * 1e3, (unsigned long long)batch,
            (unsigned long long)n_fine, (unsigned long long)repeats, ca.peak_bytes, predicted, je_peak,
            tf / (double)repeats, tb / (double)repeats, (tf + tb) / (double)repeats, loss,
            tr == BRUNO_TRAINER_CHECKPOINT ? bruno_checkpoint_recompute_steps((bruno_schedule)sc, n_fine, checkpoints) : 0,
            tf1, tb1);
    rc = bench_out_commit(&out) == 0 ? BENCH_EXIT_OK : BENCH_EXIT_FAIL;
done:
    bruno_free(&a, x, nx, sizeof *x);
    bruno_free(&a, dy, ny, sizeof *dy);
    bruno_net_free(&net);
    return rc;
}
