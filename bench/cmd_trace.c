/* cmd_trace.c - `bruno-bench trace`: simulate device neurons (FeLIF, or
   any registered device, with --device FILE for its parameters) or LIF
   neurons under a constant current or +-pulses and write one CSV row per
   neuron and network step: neuron,step,t,v,p,s,I (p empty for LIF; I is
   the neuron's input during that step: the current in A times its gain
   for a device, the dimensionless input x for LIF). */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The pulse train of the paper's figure: +amp for width, 0 for width,
   -amp for width, 0 for width, repeated. */
static double pulse_current(double t, double amp, double width)
{
    double phase = t / width;
    long k = (long)phase % 4;
    return k == 0 ? amp : (k == 2 ? -amp : 0.0);
}

int bench_cmd_trace(int argc, char **argv)
{
    const char *neuron = "felif", *out_path = NULL, *device_path = NULL, *kernel = "reference";
    double current = 308e-12, duration = 0.1, dt = 1e-3, sigma = 0.0;
    double pulse_amp = 1e-9, pulse_width = 20e-3, v_thr = -1, lif_scale = 1e9;
    double alpha = 0.95, beta = 0.8;
    uint64_t n_fine = 1000, neurons = 1, seed = 0;
    int pulses = 0, help = 0, rc;
    bench_opt opts[] = {
        {"neuron", BENCH_OPT_STRING, &neuron, "felif (default), another device neuron, or lif", 0},
        {"device", BENCH_OPT_STRING, &device_path, "key=value file of the device's parameters in SI units", 0},
        {"kernel", BENCH_OPT_STRING, &kernel, "reference (default: scalar, libm) or fast (the trainers' rows)", 0},
        {"current", BENCH_OPT_DOUBLE, &current, "constant input current in A (default 308e-12)", 0},
        {"pulses", BENCH_OPT_FLAG, &pulses, "+-pulses instead: +amp, 0, -amp, 0, each --pulse-width long", 0},
        {"pulse-amp", BENCH_OPT_DOUBLE, &pulse_amp, "pulse amplitude in A (default 1e-9)", 0},
        {"pulse-width", BENCH_OPT_DOUBLE, &pulse_width, "pulse width in s (default 20e-3)", 0},
        {"duration", BENCH_OPT_DOUBLE, &duration, "simulated time in s (default 0.1)", 0},
        {"dt", BENCH_OPT_DOUBLE, &dt, "network step in s (default 1e-3)", 0},
        {"n-fine", BENCH_OPT_U64, &n_fine, "fine FeLIF steps per network step (default 1000)", 0},
        {"neurons", BENCH_OPT_U64, &neurons, "number of neurons (default 1)", 0},
        {"sigma", BENCH_OPT_DOUBLE, &sigma, "device-to-device variability, relative (default 0)", 0},
        {"seed", BENCH_OPT_U64, &seed, "seed of the variability draw (default 0)", 0},
        {"v-thr", BENCH_OPT_DOUBLE, &v_thr, "device threshold V_thr in V (default: the model's; overrides --device)", 0},
        {"alpha", BENCH_OPT_DOUBLE, &alpha, "LIF membrane decay per step (default 0.95)", 0},
        {"beta", BENCH_OPT_DOUBLE, &beta, "LIF synaptic decay per step (default 0.8)", 0},
        {"lif-scale", BENCH_OPT_DOUBLE, &lif_scale, "LIF input = current * scale (default 1e9, i.e. nA)", 0},
        {"out", BENCH_OPT_STRING, &out_path, "CSV file (default stdout); written atomically", 0},
    };
    int n_opts = (int)(sizeof opts / sizeof opts[0]);
    bench_device dv;
    bruno_device_pop pop;
    bruno_real *I = NULL, *v = NULL, *p = NULL, *s = NULL, *syn = NULL;
    uint64_t n_steps, k;
    size_t j, n;
    int is_lif;
    bench_out out;
    bruno_result r = BRUNO_OK;

    rc = bench_opts_parse("trace", "Simulate neurons and write neuron,step,t,v,p,s,I as CSV.", opts, n_opts, argc, argv, &help);
    if (rc || help) return rc;
    is_lif = strcmp(neuron, "lif") == 0;
    if ((rc = bench_device_load(&dv, "trace", neuron, device_path)) != 0) return rc;
    if (!is_lif && !dv.dev) {
        fprintf(stderr, "bruno-bench trace: --neuron must be lif or a device neuron (felif, ...), got '%s'\n", neuron);
        return BENCH_EXIT_USAGE;
    }
    if (strcmp(kernel, "reference") != 0 && strcmp(kernel, "fast") != 0) {
        fprintf(stderr, "bruno-bench trace: --kernel must be reference or fast, got '%s'\n", kernel);
        return BENCH_EXIT_USAGE;
    }
    is_lif = strcmp(neuron, "lif") == 0;
    if (n_fine > 10000000) {
        fprintf(stderr, "bruno-bench trace: --n-fine too large\n");
        return BENCH_EXIT_USAGE;
    }
    if ((r = bruno_check_time(dt, (uint32_t)n_fine)) != BRUNO_OK) {
        fprintf(stderr, "bruno-bench trace: %s\n", bruno_result_string(r));
        return BENCH_EXIT_USAGE;
    }
    if (!(duration > 0) || neurons == 0 || neurons > 1000000 || duration / dt > 1e8 || !(pulse_width > 0)) {
        fprintf(stderr, "bruno-bench trace: --duration, --neurons and --pulse-width must be > 0 (and not huge)\n");
        return BENCH_EXIT_USAGE;
    }
    n_steps = (uint64_t)(duration / dt + 0.5);
    if ((double)n_steps * (double)neurons > 1e9) {
        fprintf(stderr, "bruno-bench trace: --duration/--dt x --neurons is more than 1e9 CSV rows\n");
        return BENCH_EXIT_USAGE;
    }
    if (n_steps == 0) {
        fprintf(stderr, "bruno-bench trace: --duration must be at least one --dt\n");
        return BENCH_EXIT_USAGE;
    }
    /* what the library would reject mid-run, rejected before any output */
    if (is_lif && (!(alpha >= 0.5 && alpha <= 1) || !(beta >= 0.5 && beta <= 1))) {
        fprintf(stderr, "bruno-bench trace: --alpha and --beta: %s (LIF needs 0.5..1)\n", bruno_result_string(BRUNO_ERR_PARAM));
        return BENCH_EXIT_USAGE;
    }
    {
        double amp = pulses ? fabs(pulse_amp) : fabs(current);
        /* 2x: room for the +-sigma gain of a varied neuron */
        if (!isfinite((double)(bruno_real)(2 * amp * (is_lif ? lif_scale : 1.0)))) {
            fprintf(stderr, "bruno-bench trace: input current: %s\n", bruno_result_string(BRUNO_ERR_NONFINITE));
            return BENCH_EXIT_USAGE;
        }
    }
    if (v_thr > 0) bench_device_set(&dv, "V_thr", v_thr);
    n = (size_t)neurons;
    if (!is_lif) {
        char msg[512] = "";
        if ((r = bruno_device_validate(dv.dev, dv.prm, msg, sizeof msg)) != BRUNO_OK) {
            fprintf(stderr, "bruno-bench trace: %s (%s)\n", msg, bruno_result_string(r));
            return BENCH_EXIT_USAGE;
        }
        if ((r = bruno_device_pop_init(&pop, dv.dev, dv.prm, n, sigma, 0, seed, NULL)) != BRUNO_OK) {
            fprintf(stderr, "bruno-bench trace: %s\n", bruno_result_string(r));
            return BENCH_EXIT_USAGE;
        }
    }
    I = (bruno_real *)calloc(n, sizeof *I);
    v = (bruno_real *)calloc(n, sizeof *v);
    p = (bruno_real *)calloc(n, sizeof *p);
    s = (bruno_real *)calloc(n, sizeof *s);
    syn = (bruno_real *)calloc(n, sizeof *syn);
    if (!I || !v || !p || !s || !syn) {
        fprintf(stderr, "bruno-bench trace: out of memory\n");
        rc = BENCH_EXIT_FAIL;
        goto done;
    }
    if (!is_lif) bruno_device_init_state(&pop, 1, v, p);
    if (bench_out_open(&out, out_path) != 0) {
        rc = BENCH_EXIT_FAIL;
        goto done;
    }
    fprintf(out.f, "neuron,step,t,v,p,s,I\n");
    for (k = 0; k < n_steps; ++k) {
        double t = (double)k * dt;
        double cur = pulses ? pulse_current(t, pulse_amp, pulse_width) : current;
        for (j = 0; j < n; ++j)
            I[j] = (bruno_real)(is_lif ? cur * lif_scale : cur * pop.soa[(size_t)pop.dev->c_gain * n + j]);
        if (is_lif) r = bruno_lif_step(n, 1, (bruno_real)alpha, (bruno_real)beta, I, syn, v, s);
        else
            r = bruno_device_network_step(&pop, 1, I, v, p, s, dt, (uint32_t)n_fine,
                                          strcmp(kernel, "fast") == 0 ? BRUNO_KERNEL_FAST : BRUNO_KERNEL_REFERENCE);
        if (r != BRUNO_OK) break;
        /* row k: the state after network step k, at time (k+1)*dt */
        for (j = 0; j < n; ++j) {
            if (is_lif)
                fprintf(out.f, "%zu,%llu,%.9g,%.9g,,%d,%.9g\n", j, (unsigned long long)k, t + dt, (double)v[j], s[j] > 0,
                        (double)I[j]);
            else
                fprintf(out.f, "%zu,%llu,%.9g,%.9g,%.9g,%d,%.9g\n", j, (unsigned long long)k, t + dt, (double)v[j],
                        (double)p[j], s[j] > 0, (double)I[j]);
        }
    }
    if (r != BRUNO_OK) {
        fprintf(stderr, "bruno-bench trace: %s\n", bruno_result_string(r));
        bench_out_abort(&out);
        rc = BENCH_EXIT_FAIL;
        goto done;
    }
    rc = bench_out_commit(&out) == 0 ? BENCH_EXIT_OK : BENCH_EXIT_FAIL;
done:
    free(I); free(v); free(p); free(s); free(syn);
    if (!is_lif) bruno_device_pop_free(&pop);
    return rc;
}
