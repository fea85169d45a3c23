/* cmd_rram.c - `bruno-bench rram curve|states|fit`: the RRAM synapse device
   (shared/spec/RRAM.md) as CSV for the device figures.
     curve   conductance after a SET pulse vs programming current (§5)
     states  the 2^bits state conductances of many devices (§6)
     fit     the closed-form read fit against the full solve (§3) */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The caption's geometries: mean 45 nm / 0.4 nm, upper limit 49 nm /
   0.36 nm (larger radius, shorter disc), lower limit 41 nm / 0.44 nm. */
static int geometry_by_name(const char *name, bruno_rram_geometry *g)
{
    if (strcmp(name, "mean") == 0) { g->r = 45e-9; g->l = 0.40e-9; return 0; }
    if (strcmp(name, "upper") == 0) { g->r = 49e-9; g->l = 0.36e-9; return 0; }
    if (strcmp(name, "lower") == 0) { g->r = 41e-9; g->l = 0.44e-9; return 0; }
    return -1;
}

static int fail(const char *cmd, bruno_result r)
{
    fprintf(stderr, "bruno-bench %s: %s\n", cmd, bruno_result_string(r));
    return BENCH_EXIT_FAIL;
}

static int cmd_curve(int argc, char **argv)
{
    const char *cmd = "rram curve", *geometry = "mean", *scheme = "compliance", *out_path = NULL;
    double icc_min = 5e-6, icc_max = 400e-6;
    uint64_t points = 40;
    int help = 0, rc, fixed_n;
    bench_opt opts[] = {
        {"icc-min", BENCH_OPT_DOUBLE, &icc_min, "lowest compliance current in A (default 5e-6)", 0},
        {"icc-max", BENCH_OPT_DOUBLE, &icc_max, "highest compliance current in A (default 400e-6)", 0},
        {"points", BENCH_OPT_U64, &points, "number of currents, linearly spaced (default 40)", 0},
        {"geometry", BENCH_OPT_STRING, &geometry, "mean (45 nm/0.4 nm), upper (49/0.36) or lower (41/0.44)", 0},
        {"scheme", BENCH_OPT_STRING, &scheme,
         "compliance (default): SET this geometry under I_cc; fixed-n: program the nominal device under "
         "I_cc, then read this geometry at that same N (the icc column is the nominal device's current)", 0},
        {"out", BENCH_OPT_STRING, &out_path, "CSV file (default stdout); written atomically", 0},
    };
    bruno_rram_params p = bruno_rram_params_default();
    bruno_rram_geometry g, g0;
    bench_out out;
    uint64_t k;
    rc = bench_opts_parse(cmd,
                          "Conductance after a SET pulse (-1.2 V, 1 us, from HRS) vs compliance current:\n"
                          "CSV icc,g_read,n_final,r,l (A, S, 1e26 m^-3, m, m). RRAM.md §5.",
                          opts, (int)(sizeof opts / sizeof opts[0]), argc, argv, &help);
    if (rc || help) return rc;
    if (geometry_by_name(geometry, &g) != 0) {
        fprintf(stderr, "bruno-bench %s: --geometry must be mean, upper or lower, got '%s'\n", cmd, geometry);
        return BENCH_EXIT_USAGE;
    }
    if (strcmp(scheme, "compliance") != 0 && strcmp(scheme, "fixed-n") != 0) {
        fprintf(stderr, "bruno-bench %s: --scheme must be compliance or fixed-n, got '%s'\n", cmd, scheme);
        return BENCH_EXIT_USAGE;
    }
    fixed_n = strcmp(scheme, "fixed-n") == 0;
    if (!(icc_min > 0) || !(icc_max >= icc_min) || icc_max > 1e-2 || points < 1 || points > 100000 ||
        (points == 1 && icc_max != icc_min)) {
        fprintf(stderr, "bruno-bench %s: need 0 < --icc-min <= --icc-max <= 1e-2 and 1 <= --points <= 100000\n", cmd);
        return BENCH_EXIT_USAGE;
    }
    g0 = bruno_rram_geometry_make(&p, 0, 0);
    if (bench_out_open(&out, out_path) != 0) return BENCH_EXIT_FAIL;
    fprintf(out.f, "icc,g_read,n_final,r,l\n");
    for (k = 0; k < points; ++k) {
        double icc = points == 1 ? icc_min : icc_min + (icc_max - icc_min) * (double)k / (double)(points - 1);
        double N = 0, G = 0;
        bruno_result r = bruno_rram_set_pulse(&p, fixed_n ? g0 : g, p.N_min, icc, &N, &G);
        if (r == BRUNO_OK && fixed_n) r = bruno_rram_read_g(&p, g, N, &G);
        if (r != BRUNO_OK) {
            bench_out_abort(&out);
            return fail(cmd, r);
        }
        fprintf(out.f, "%.9g,%.9g,%.9g,%.9g,%.9g\n", icc, G, N, g.r, g.l);
    }
    return bench_out_commit(&out) == 0 ? BENCH_EXIT_OK : BENCH_EXIT_FAIL;
}

static int cmd_states(int argc, char **argv)
{
    const char *cmd = "rram states", *scheme = "fixed-n", *variability = "uniform", *placement = "linear";
    const char *out_path = NULL;
    uint64_t devices = 1000, seed = 1, bits = 3;
    double sigma = 0.1;
    int help = 0, rc, k;
    bench_opt opts[] = {
        {"devices", BENCH_OPT_U64, &devices, "number of devices (default 1000)", 0},
        {"seed", BENCH_OPT_U64, &seed, "seed of the device-to-device draw (default 1)", 0},
        {"scheme", BENCH_OPT_STRING, &scheme, "fixed-n (default) or compliance (takes seconds)", 0},
        {"variability", BENCH_OPT_STRING, &variability, "uniform (default, +-sigma) or normal (sigma, clipped to +-0.1)", 0},
        {"sigma", BENCH_OPT_DOUBLE, &sigma, "relative spread of radius and disc length (default 0.1)", 0},
        {"placement", BENCH_OPT_STRING, &placement, "linear (default) or log spacing of the target conductances", 0},
        {"bits", BENCH_OPT_U64, &bits, "bits per device, 2..5 (default 3: 8 states)", 0},
        {"out", BENCH_OPT_STRING, &out_path, "CSV file (default stdout); written atomically", 0},
    };
    bruno_rram_array_config c;
    bruno_rram_array a;
    bruno_result r;
    bench_out out;
    size_t d;
    rc = bench_opts_parse(cmd,
                          "State conductances of many devices with device-to-device geometry variability:\n"
                          "CSV device,state,g_read,r,l (S, m, m). RRAM.md §6. A per-state summary goes to stderr.",
                          opts, (int)(sizeof opts / sizeof opts[0]), argc, argv, &help);
    if (rc || help) return rc;
    if (devices < 1 || devices > 10000000 || bits < 2 || bits > 5 || !(sigma >= 0 && sigma <= 0.5)) {
        fprintf(stderr, "bruno-bench %s: need 1 <= --devices <= 1e7, 2 <= --bits <= 5, 0 <= --sigma <= 0.5\n", cmd);
        return BENCH_EXIT_USAGE;
    }
    c = bruno_rram_array_config_default((size_t)devices);
    c.mapping = BRUNO_RRAM_REFERENCE_CELL; /* one device per "weight" */
    c.seed = seed;
    c.bits = (int)bits;
    c.var_sigma = sigma;
    if (strcmp(scheme, "fixed-n") == 0) c.scheme = BRUNO_RRAM_FIXED_N;
    else if (strcmp(scheme, "compliance") == 0) c.scheme = BRUNO_RRAM_COMPLIANCE;
    else {
        fprintf(stderr, "bruno-bench %s: --scheme must be fixed-n or compliance, got '%s'\n", cmd, scheme);
        return BENCH_EXIT_USAGE;
    }
    if (strcmp(variability, "uniform") == 0) c.variability = BRUNO_RRAM_VAR_UNIFORM;
    else if (strcmp(variability, "normal") == 0) c.variability = BRUNO_RRAM_VAR_NORMAL;
    else {
        fprintf(stderr, "bruno-bench %s: --variability must be uniform or normal, got '%s'\n", cmd, variability);
        return BENCH_EXIT_USAGE;
    }
    if (strcmp(placement, "linear") == 0) c.placement = BRUNO_RRAM_LEVELS_LINEAR;
    else if (strcmp(placement, "log") == 0) c.placement = BRUNO_RRAM_LEVELS_LOG;
    else {
        fprintf(stderr, "bruno-bench %s: --placement must be linear or log, got '%s'\n", cmd, placement);
        return BENCH_EXIT_USAGE;
    }
    if ((r = bruno_rram_array_init(&a, &c)) != BRUNO_OK) return fail(cmd, r);
    if (bench_out_open(&out, out_path) != 0) {
        bruno_rram_array_free(&a);
        return BENCH_EXIT_FAIL;
    }
    fprintf(out.f, "device,state,g_read,r,l\n");
    for (d = 0; d < a.n_devices; ++d) {
        bruno_rram_geometry g = bruno_rram_array_device_geometry(&a, d);
        for (k = 0; k < a.n_states; ++k)
            fprintf(out.f, "%zu,%d,%.9g,%.9g,%.9g\n", d, k, bruno_rram_array_state_g(&a, d, k), g.r, g.l);
    }
    fprintf(stderr, "state  target_uS  mean_uS  sd/mean_%%  min_uS  max_uS\n");
    for (k = 0; k < a.n_states; ++k) {
        double s = 0, s2 = 0, mn = 1e9, mx = 0, mean, sd;
        for (d = 0; d < a.n_devices; ++d) {
            double G = bruno_rram_array_state_g(&a, d, k);
            s += G;
            s2 += G * G;
            if (G < mn) mn = G;
            if (G > mx) mx = G;
        }
        mean = s / (double)a.n_devices;
        sd = sqrt(fmax(s2 / (double)a.n_devices - mean * mean, 0.0));
        fprintf(stderr, "%5d  %9.2f  %7.2f  %9.2f  %6.2f  %6.2f\n", k, a.g_target[k] * 1e6, mean * 1e6,
                100 * sd / mean, mn * 1e6, mx * 1e6);
    }
    bruno_rram_array_free(&a);
    return bench_out_commit(&out) == 0 ? BENCH_EXIT_OK : BENCH_EXIT_FAIL;
}

static int cmd_fit(int argc, char **argv)
{
    const char *cmd = "rram fit", *out_path = NULL;
    static const char *names[3] = {"mean", "upper", "lower"};
    uint64_t points = 60;
    int help = 0, rc, j;
    bench_opt opts[] = {
        {"points", BENCH_OPT_U64, &points, "values of N per geometry, log-spaced N_min..N_max (default 60)", 0},
        {"out", BENCH_OPT_STRING, &out_path, "CSV file (default stdout); written atomically", 0},
    };
    bruno_rram_params p = bruno_rram_params_default();
    bench_out out;
    uint64_t k;
    rc = bench_opts_parse(cmd,
                          "Read conductance at V_read from the full solve and the Ntinas 2023 closed-form fit:\n"
                          "CSV geometry,N,g_full,g_fit,rel_err (N in 1e26 m^-3, S; rel_err = g_fit/g_full - 1). RRAM.md §3.",
                          opts, (int)(sizeof opts / sizeof opts[0]), argc, argv, &help);
    if (rc || help) return rc;
    if (points < 2 || points > 1000000) {
        fprintf(stderr, "bruno-bench %s: need 2 <= --points <= 1000000\n", cmd);
        return BENCH_EXIT_USAGE;
    }
    if (bench_out_open(&out, out_path) != 0) return BENCH_EXIT_FAIL;
    fprintf(out.f, "geometry,N,g_full,g_fit,rel_err\n");
    for (j = 0; j < 3; ++j) {
        bruno_rram_geometry g;
        geometry_by_name(names[j], &g);
        for (k = 0; k < points; ++k) {
            double N = p.N_min * pow(p.N_max / p.N_min, (double)k / (double)(points - 1)), Gf = 0, Gm = 0;
            bruno_result r;
            if (k == points - 1) N = p.N_max;
            r = bruno_rram_read_g(&p, g, N, &Gf);
            if (r == BRUNO_OK) r = bruno_rram_fit_read_g(&p, g, N, &Gm);
            if (r != BRUNO_OK) {
                bench_out_abort(&out);
                return fail(cmd, r);
            }
            fprintf(out.f, "%s,%.9g,%.9g,%.9g,%.9g\n", names[j], N, Gf, Gm, Gm / Gf - 1.0);
        }
    }
    return bench_out_commit(&out) == 0 ? BENCH_EXIT_OK : BENCH_EXIT_FAIL;
}

static void rram_usage(FILE *f)
{
    fprintf(f, "usage: bruno-bench rram SUBCOMMAND [options]\n"
               "The RRAM synapse device model (shared/spec/RRAM.md).\n\n"
               "subcommands:\n"
               "  curve    conductance vs SET compliance current (CSV icc,g_read,n_final,r,l)\n"
               "  states   state conductances of many devices (CSV device,state,g_read,r,l)\n"
               "  fit      closed-form read fit vs full solve (CSV geometry,N,g_full,g_fit,rel_err)\n\n"
               "'bruno-bench rram SUBCOMMAND --help' describes one.\n");
}

int bench_cmd_rram(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "bruno-bench rram: missing subcommand (curve, states or fit; see --help)\n");
        return BENCH_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        rram_usage(stdout);
        return BENCH_EXIT_OK;
    }
    if (strcmp(argv[1], "curve") == 0) return cmd_curve(argc - 1, argv + 1);
    if (strcmp(argv[1], "states") == 0) return cmd_states(argc - 1, argv + 1);
    if (strcmp(argv[1], "fit") == 0) return cmd_fit(argc - 1, argv + 1);
    fprintf(stderr, "bruno-bench rram: unknown subcommand '%s' (curve, states or fit)\n", argv[1]);
    return BENCH_EXIT_USAGE;
}
