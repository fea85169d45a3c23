/* test_rram.c - the RRAM synapse device (shared/spec/RRAM.md): the compact
   model's check values, the read fit, programming under compliance, and the
   3-bit device array the layers call. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include "bruno.h"
#include "test_util.h"

static bruno_rram_geometry geom(double r, double l)
{
    bruno_rram_geometry g;
    g.r = r;
    g.l = l;
    return g;
}

static double read_g(const bruno_rram_params *p, bruno_rram_geometry g, double N)
{
    double G = -1;
    cr_assert_eq(bruno_rram_read_g(p, g, N, &G), BRUNO_OK, "read at N = %g", N);
    return G;
}

static double pulse_g(const bruno_rram_params *p, bruno_rram_geometry g, double icc, double *N)
{
    double G = -1, Nf = -1;
    cr_assert_eq(bruno_rram_set_pulse(p, g, p->N_min, icc, &Nf, &G), BRUNO_OK, "pulse at %g A", icc);
    if (N) *N = Nf;
    return G;
}

/* ---- compact model -------------------------------------------------------- */
Test(rram, read_check_values_match_spec_within_2_percent)
{
    bruno_rram_params p = bruno_rram_params_default();
    bruno_rram_geometry g = bruno_rram_geometry_make(&p, 0, 0);
    cr_expect_lt(rel_diff(read_g(&p, g, 0.008), 15.3e-6), 0.02);
    cr_expect_lt(rel_diff(read_g(&p, g, 1.0), 480e-6), 0.02);
    cr_expect_lt(rel_diff(read_g(&p, g, 20.0), 618e-6), 0.02);
}

Test(rram, self_heating_changes_a_read_by_under_0_3_percent)
{
    bruno_rram_params p = bruno_rram_params_default(), q = p;
    bruno_rram_geometry g = bruno_rram_geometry_make(&p, 0, 0);
    double N[3] = {0.008, 1.0, 20.0};
    int i;
    q.self_heating = 0;
    for (i = 0; i < 3; ++i) cr_expect_lt(rel_diff(read_g(&p, g, N[i]), read_g(&q, g, N[i])), 0.003);
}

Test(rram, compliance_programming_matches_spec_check_values)
{
    bruno_rram_params p = bruno_rram_params_default();
    bruno_rram_geometry g = bruno_rram_geometry_make(&p, 0, 0);
    double N;
    /* 8 uA: below the SET threshold, the device stays in HRS */
    cr_expect_lt(rel_diff(pulse_g(&p, g, 8e-6, &N), 15.3e-6), 0.02);
    cr_expect_lt(rel_diff(N, p.N_min), 1e-3);
    cr_expect_lt(rel_diff(pulse_g(&p, g, 80e-6, NULL), 238e-6), 0.02);
    cr_expect_lt(rel_diff(pulse_g(&p, g, 320e-6, NULL), 584e-6), 0.02);
}

Test(rram, fit_tracks_full_solve_within_8_percent_at_all_geometries)
{
    bruno_rram_params p = bruno_rram_params_default();
    bruno_rram_geometry gs[3];
    int j, k;
    gs[0] = geom(45e-9, 0.40e-9);
    gs[1] = geom(49e-9, 0.36e-9);
    gs[2] = geom(41e-9, 0.44e-9);
    for (j = 0; j < 3; ++j)
        for (k = 0; k <= 30; ++k) {
            double N = p.N_min * pow(p.N_max / p.N_min, k / 30.0), Gf;
            if (k == 30) N = p.N_max;
            cr_assert_eq(bruno_rram_fit_read_g(&p, gs[j], N, &Gf), BRUNO_OK);
            cr_expect_lt(rel_diff(Gf, read_g(&p, gs[j], N)), 0.08, "geometry %d, N = %g", j, N);
        }
}

Test(rram, conductance_rises_with_n)
{
    bruno_rram_params p = bruno_rram_params_default();
    bruno_rram_geometry g = bruno_rram_geometry_make(&p, 0, 0);
    double prev = 0;
    int k;
    for (k = 0; k <= 40; ++k) {
        double N = p.N_min * pow(p.N_max / p.N_min, k / 40.0), G;
        if (k == 40) N = p.N_max;
        G = read_g(&p, g, N);
        cr_expect_gt(G, prev, "N = %g", N);
        prev = G;
    }
}

Test(rram, conductance_rises_with_compliance_current)
{
    bruno_rram_params p = bruno_rram_params_default();
    bruno_rram_geometry g = bruno_rram_geometry_make(&p, 0, 0);
    double icc[6] = {20e-6, 50e-6, 100e-6, 150e-6, 220e-6, 300e-6}, prev = 0;
    int k;
    for (k = 0; k < 6; ++k) {
        double G = pulse_g(&p, g, icc[k], NULL);
        cr_expect_gt(G, prev, "I_cc = %g", icc[k]);
        prev = G;
    }
}

/* RRAM.md §5 note: at fixed N the large/short filament conducts most; under
   compliance the small filament heats more and the order flips. */
Test(rram, geometry_order_at_fixed_n_flips_under_compliance)
{
    bruno_rram_params p = bruno_rram_params_default();
    bruno_rram_geometry up = geom(49e-9, 0.36e-9), mid = geom(45e-9, 0.40e-9), lo = geom(41e-9, 0.44e-9);
    cr_expect_gt(read_g(&p, up, 1.0), read_g(&p, mid, 1.0));
    cr_expect_gt(read_g(&p, mid, 1.0), read_g(&p, lo, 1.0));
    cr_expect_lt(pulse_g(&p, up, 80e-6, NULL), pulse_g(&p, mid, 80e-6, NULL));
    cr_expect_lt(pulse_g(&p, mid, 80e-6, NULL), pulse_g(&p, lo, 80e-6, NULL));
}

Test(rram, switching_rate_has_the_polarity_of_set_and_reset)
{
    bruno_rram_params p = bruno_rram_params_default();
    bruno_rram_geometry g = bruno_rram_geometry_make(&p, 0, 0);
    double r, I;
    cr_assert_eq(bruno_rram_dndt(&p, g, 0.01, -1.0, &r, &I, NULL), BRUNO_OK);
    cr_expect_gt(r, 0); /* SET at negative voltage: N rises */
    cr_expect_lt(I, 0);
    cr_assert_eq(bruno_rram_dndt(&p, g, 5.0, 1.0, &r, &I, NULL), BRUNO_OK);
    cr_expect_lt(r, 0); /* RESET at positive voltage: N falls */
    cr_assert_eq(bruno_rram_dndt(&p, g, p.N_min, 1.0, &r, NULL, NULL), BRUNO_OK);
    cr_expect_eq(r, 0); /* the window stops RESET at N_min */
}

Test(rram, bad_device_input_returns_error_codes)
{
    bruno_rram_params p = bruno_rram_params_default(), q;
    bruno_rram_geometry g = bruno_rram_geometry_make(&p, 0, 0);
    double G, I;
    cr_expect_eq(bruno_rram_params_validate(&p), BRUNO_OK);
    cr_expect_eq(bruno_rram_params_validate(NULL), BRUNO_ERR_ARG);
    q = p; q.r_det = -1e-9; cr_expect_eq(bruno_rram_params_validate(&q), BRUNO_ERR_PARAM);
    q = p; q.l_det = 0; cr_expect_eq(bruno_rram_params_validate(&q), BRUNO_ERR_PARAM);
    q = p; q.V_read = 0; cr_expect_eq(bruno_rram_params_validate(&q), BRUNO_ERR_PARAM);
    q = p; q.N_max = q.N_min; cr_expect_eq(bruno_rram_params_validate(&q), BRUNO_ERR_PARAM);
    q = p; q.mu_n = NAN; cr_expect_eq(bruno_rram_params_validate(&q), BRUNO_ERR_NONFINITE);
    q = p; q.t_set = INFINITY; cr_expect_eq(bruno_rram_params_validate(&q), BRUNO_ERR_NONFINITE);
    q = p; q.V_read = 0; cr_expect_eq(bruno_rram_read_g(&q, g, 1.0, &G), BRUNO_ERR_PARAM);
    cr_expect_eq(bruno_rram_read_g(&p, g, 0.001, &G), BRUNO_ERR_PARAM); /* N < N_min */
    cr_expect_eq(bruno_rram_read_g(&p, g, 25.0, &G), BRUNO_ERR_PARAM);  /* N > N_max */
    cr_expect_eq(bruno_rram_read_g(&p, g, NAN, &G), BRUNO_ERR_NONFINITE);
    cr_expect_eq(bruno_rram_read_g(&p, geom(-45e-9, 0.4e-9), 1.0, &G), BRUNO_ERR_PARAM);
    cr_expect_eq(bruno_rram_read_g(&p, geom(45e-9, 0.0), 1.0, &G), BRUNO_ERR_PARAM);
    cr_expect_eq(bruno_rram_read_g(&p, geom(45e-9, 5e-9), 1.0, &G), BRUNO_ERR_PARAM); /* l > l_cell */
    cr_expect_eq(bruno_rram_read_g(&p, g, 1.0, NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_rram_set_pulse(&p, g, p.N_min, 0.0, NULL, &G), BRUNO_ERR_PARAM);
    cr_expect_eq(bruno_rram_set_pulse(&p, g, p.N_min, -1e-6, NULL, &G), BRUNO_ERR_PARAM);
    cr_expect_eq(bruno_rram_set_pulse(&p, g, p.N_min, NAN, NULL, &G), BRUNO_ERR_NONFINITE);
    cr_expect_eq(bruno_rram_fit_current(g, 1.0, -0.2, &I), BRUNO_ERR_PARAM); /* the fit is for V > 0 */
    cr_expect_eq(bruno_rram_current(&p, g, 1.0, NAN, &I, NULL), BRUNO_ERR_NONFINITE);
}

Test(rram, thermal_runaway_reports_no_convergence_not_garbage)
{
    /* without a compliance, -1.2 V on a partly SET filament (N = 0.2) has
       no static state below BRUNO__RRAM_T_MAX: the solver must say so and
       leave the outputs alone; the cold N = 0.05 point still solves */
    bruno_rram_params p = bruno_rram_params_default();
    bruno_rram_geometry g = bruno_rram_geometry_make(&p, 0, 0);
    double I = 123.0, T = 7.0;
    cr_expect_eq(bruno_rram_current(&p, g, 0.2, -1.2, &I, &T), BRUNO_ERR_NO_CONVERGENCE);
    cr_expect_eq(I, 123.0);
    cr_expect_eq(T, 7.0);
    cr_expect_eq(bruno_rram_current(&p, g, 0.05, -1.2, &I, &T), BRUNO_OK);
    cr_expect(I < 0 && T > p.T0 && T < 3000.0);
}

/* ---- the array ------------------------------------------------------------ */
static bruno_rram_array_config quiet_config(size_t n)
{
    bruno_rram_array_config c = bruno_rram_array_config_default(n);
    c.variability = BRUNO_RRAM_VAR_NONE;
    c.prog_noise = 0;
    c.read_noise = 0;
    return c;
}

Test(rram_array, nominal_states_are_strictly_ordered_for_every_device)
{
    bruno_rram_array_config c = bruno_rram_array_config_default(200);
    bruno_rram_array a;
    size_t d;
    int k;
    cr_assert_eq(bruno_rram_array_init(&a, &c), BRUNO_OK);
    cr_expect_eq(a.n_states, 8);
    for (k = 1; k < 8; ++k) {
        cr_expect_gt(a.g_nominal[k], a.g_nominal[k - 1]);
        cr_expect_lt(rel_diff(a.g_nominal[k], a.g_target[k]), 1e-6);
    }
    /* linear placement from the HRS to the 320 uA state (RRAM.md §6) */
    cr_expect_lt(rel_diff(a.g_target[0], 15.3e-6), 0.02);
    cr_expect_lt(rel_diff(a.g_target[7], 583.6e-6), 0.02);
    cr_expect_lt(rel_diff(a.g_target[1] - a.g_target[0], 81.2e-6), 0.02);
    for (d = 0; d < a.n_devices; ++d)
        for (k = 1; k < 8; ++k) cr_expect_gt(bruno_rram_array_state_g(&a, d, k), bruno_rram_array_state_g(&a, d, k - 1));
    bruno_rram_array_free(&a);
}

Test(rram_array, per_device_table_matches_direct_solve)
{
    bruno_rram_array_config c = bruno_rram_array_config_default(20);
    bruno_rram_array a;
    size_t d;
    int k;
    cr_assert_eq(bruno_rram_array_init(&a, &c), BRUNO_OK);
    for (d = 0; d < a.n_devices; d += 7)
        for (k = 0; k < 8; ++k) {
            bruno_rram_geometry g = bruno_rram_array_device_geometry(&a, d);
            cr_expect_lt(rel_diff(bruno_rram_array_state_g(&a, d, k), read_g(&c.dev, g, a.program[k])), 0.005);
        }
    bruno_rram_array_free(&a);
}

Test(rram_array, spread_per_state_falls_from_about_12_to_about_2_percent)
{
    bruno_rram_array_config c = bruno_rram_array_config_default(1000);
    bruno_rram_array a;
    double cv[8];
    int k;
    size_t d;
    c.mapping = BRUNO_RRAM_REFERENCE_CELL;
    cr_assert_eq(bruno_rram_array_init(&a, &c), BRUNO_OK);
    for (k = 0; k < 8; ++k) {
        double s = 0, s2 = 0, m;
        for (d = 0; d < a.n_devices; ++d) {
            double G = bruno_rram_array_state_g(&a, d, k);
            s += G;
            s2 += G * G;
        }
        m = s / (double)a.n_devices;
        cv[k] = sqrt(s2 / (double)a.n_devices - m * m) / m;
        if (k > 0) cr_expect_lt(cv[k], cv[k - 1]);
    }
    cr_expect(cv[0] > 0.09 && cv[0] < 0.15, "lowest state %g", cv[0]);
    cr_expect(cv[7] > 0.01 && cv[7] < 0.035, "highest state %g", cv[7]);
    bruno_rram_array_free(&a);
}

Test(rram_array, same_seed_gives_same_devices)
{
    bruno_rram_array_config c = bruno_rram_array_config_default(50);
    bruno_rram_array a, b, e;
    size_t d;
    int differ = 0;
    c.seed = 42;
    cr_assert_eq(bruno_rram_array_init(&a, &c), BRUNO_OK);
    cr_assert_eq(bruno_rram_array_init(&b, &c), BRUNO_OK);
    c.seed = 43;
    cr_assert_eq(bruno_rram_array_init(&e, &c), BRUNO_OK);
    cr_expect_eq(memcmp(a.delta, b.delta, a.n_devices * 2 * sizeof(float)), 0);
    cr_expect_eq(memcmp(a.g_state, b.g_state, a.n_devices * 8 * sizeof(float)), 0);
    for (d = 0; d < a.n_devices; ++d) differ |= a.delta[2 * d] != e.delta[2 * d];
    cr_expect(differ);
    bruno_rram_array_free(&a);
    bruno_rram_array_free(&b);
    bruno_rram_array_free(&e);
}

Test(rram_array, nominal_noise_free_devices_give_exact_levels_in_both_mappings)
{
    int8_t lv[7] = {-3, -2, -1, 0, 1, 2, 3};
    bruno_real w[7];
    int mapping, i;
    for (mapping = 0; mapping < 2; ++mapping) {
        bruno_rram_array_config c = quiet_config(7);
        bruno_rram_array a;
        c.mapping = (bruno_rram_mapping)mapping;
        cr_assert_eq(bruno_rram_array_init(&a, &c), BRUNO_OK);
        cr_assert_eq(bruno_rram_array_program(&a, lv, NULL, NULL), BRUNO_OK);
        cr_assert_eq(bruno_rram_array_weights(&a, w, NULL), BRUNO_OK);
        for (i = 0; i < 7; ++i) cr_expect(fabs((double)w[i] - lv[i]) < 1e-5, "mapping %d: %g vs %d", mapping, (double)w[i], lv[i]);
        bruno_rram_array_free(&a);
    }
}

Test(rram_array, variability_reaches_the_weights)
{
    bruno_rram_array_config c = bruno_rram_array_config_default(100);
    bruno_rram_array a;
    int8_t lv[100];
    bruno_real w[100];
    bruno_rng rng;
    double err = 0;
    int i;
    c.read_noise = 0;
    c.prog_noise = 0;
    for (i = 0; i < 100; ++i) lv[i] = (int8_t)(i % 7 - 3);
    bruno_rng_seed(&rng, 5);
    cr_assert_eq(bruno_rram_array_init(&a, &c), BRUNO_OK);
    cr_assert_eq(bruno_rram_array_program(&a, lv, &rng, NULL), BRUNO_OK);
    cr_assert_eq(bruno_rram_array_weights(&a, w, NULL), BRUNO_OK);
    for (i = 0; i < 100; ++i) {
        double e = fabs((double)w[i] - lv[i]);
        cr_expect_lt(e, 1.0, "weight %d: %g vs %d", i, (double)w[i], lv[i]);
        err += e;
    }
    cr_expect_gt(err / 100, 0.01); /* not the ideal quantiser */
    bruno_rram_array_free(&a);
}

Test(rram_array, reprogramming_touches_only_changed_devices_and_counts_them)
{
    bruno_rram_array_config c = bruno_rram_array_config_default(6);
    bruno_rram_array a;
    int8_t lv[6] = {0, 1, 2, -1, 3, -3}, lv2[6];
    double g_before[12];
    bruno_rng rng;
    size_t n = 99;
    bruno_rng_seed(&rng, 7);
    cr_assert_eq(bruno_rram_array_init(&a, &c), BRUNO_OK); /* differential pair, stride 2 */
    cr_assert_eq(bruno_rram_array_program(&a, lv, &rng, &n), BRUNO_OK);
    cr_expect_eq(n, 12); /* first call: every device */
    memcpy(g_before, a.g, sizeof g_before);
    cr_assert_eq(bruno_rram_array_program(&a, lv, &rng, &n), BRUNO_OK);
    cr_expect_eq(n, 0);
    cr_expect_eq(memcmp(g_before, a.g, sizeof g_before), 0);
    memcpy(lv2, lv, sizeof lv);
    lv2[1] = 2;  /* G+ 2 -> 4, G- stays 0: one device */
    lv2[3] = 1;  /* G+ 0 -> 2 and G- 2 -> 0: two devices */
    lv2[0] = -1; /* G- 0 -> 2: one device */
    cr_assert_eq(bruno_rram_array_program(&a, lv2, &rng, &n), BRUNO_OK);
    cr_expect_eq(n, 4);
    cr_expect_eq(a.g[2 * 2], g_before[2 * 2]); /* weight 2 untouched */
    cr_expect_eq(a.g[2 * 1 + 1], g_before[2 * 1 + 1]); /* G- of weight 1 untouched */
    cr_expect_neq(a.g[2 * 1], g_before[2 * 1]);
    cr_expect_eq(a.state[2 * 1], 4);
    bruno_rram_array_free(&a);
}

Test(rram_array, reference_cell_uses_state_3_as_zero)
{
    bruno_rram_array_config c = quiet_config(3);
    bruno_rram_array a;
    int8_t lv[3] = {-3, 0, 3};
    size_t n;
    c.mapping = BRUNO_RRAM_REFERENCE_CELL;
    cr_assert_eq(bruno_rram_array_init(&a, &c), BRUNO_OK);
    cr_assert_eq(bruno_rram_array_program(&a, lv, NULL, &n), BRUNO_OK);
    cr_expect_eq(n, 3);
    cr_expect_eq(a.state[0], 0);
    cr_expect_eq(a.state[1], 3);
    cr_expect_eq(a.state[2], 6);
    bruno_rram_array_free(&a);
}

Test(rram_array, read_noise_sample_is_reproducible_from_the_rng_state)
{
    bruno_rram_array_config c = bruno_rram_array_config_default(64);
    bruno_rram_array a;
    int8_t lv[64];
    bruno_real w1[64], w2[64], w3[64];
    bruno_rng rng, saved;
    int i;
    for (i = 0; i < 64; ++i) lv[i] = (int8_t)(i % 7 - 3);
    bruno_rng_seed(&rng, 11);
    cr_assert_eq(bruno_rram_array_init(&a, &c), BRUNO_OK);
    cr_assert_eq(bruno_rram_array_program(&a, lv, &rng, NULL), BRUNO_OK);
    saved = rng;
    cr_assert_eq(bruno_rram_array_weights(&a, w1, &rng), BRUNO_OK);
    cr_assert_eq(bruno_rram_array_weights(&a, w3, &rng), BRUNO_OK);
    rng = saved;
    cr_assert_eq(bruno_rram_array_weights(&a, w2, &rng), BRUNO_OK);
    cr_expect_eq(memcmp(w1, w2, sizeof w1), 0);
    cr_expect_neq(memcmp(w1, w3, sizeof w1), 0); /* a fresh sample per forward pass */
    cr_expect_eq(bruno_rram_array_weights(&a, w1, NULL), BRUNO_ERR_ARG);
    bruno_rram_array_free(&a);
}

Test(rram_array, bytes_is_exact_and_out_of_memory_is_reported)
{
    bruno_rram_array_config c = bruno_rram_array_config_default(33);
    bruno_counting_allocator ca;
    bruno_rram_array a;
    size_t k;
    bruno_counting_allocator_init(&ca, NULL);
    c.allocator = bruno_counting_allocator_get(&ca);
    cr_assert_eq(bruno_rram_array_init(&a, &c), BRUNO_OK);
    cr_expect_eq(ca.live_bytes, bruno_rram_array_bytes(&c));
    bruno_rram_array_free(&a);
    cr_expect_eq(ca.live_bytes, 0);
    for (k = 1; k <= 6; ++k) {
        bruno_counting_allocator_init(&ca, NULL);
        ca.fail_at = k;
        c.allocator = bruno_counting_allocator_get(&ca);
        cr_expect_eq(bruno_rram_array_init(&a, &c), BRUNO_ERR_NOMEM);
        cr_expect_eq(ca.live_bytes, 0);
    }
}

Test(rram_array, bad_input_returns_error_codes_and_changes_nothing)
{
    bruno_rram_array_config c = bruno_rram_array_config_default(4), d;
    bruno_rram_array a;
    int8_t lv[4] = {0, 1, 2, 3}, bad[4] = {0, 1, 4, 3};
    bruno_real w[4];
    bruno_rng rng;
    size_t n = 5;
    bruno_rng_seed(&rng, 1);
    d = c; d.n_weights = 0; cr_expect_eq(bruno_rram_array_init(&a, &d), BRUNO_ERR_SIZE);
    d = c; d.bits = 1; cr_expect_eq(bruno_rram_array_init(&a, &d), BRUNO_ERR_BITS);
    d = c; d.bits = 9; cr_expect_eq(bruno_rram_array_init(&a, &d), BRUNO_ERR_BITS);
    d = c; d.prog_noise = -0.1; cr_expect_eq(bruno_rram_array_init(&a, &d), BRUNO_ERR_PARAM);
    d = c; d.read_noise = NAN; cr_expect_eq(bruno_rram_array_init(&a, &d), BRUNO_ERR_NONFINITE);
    d = c; d.dev.V_read = 0; cr_expect_eq(bruno_rram_array_init(&a, &d), BRUNO_ERR_PARAM);
    d = c; d.icc_top = 1e-6; cr_expect_eq(bruno_rram_array_init(&a, &d), BRUNO_ERR_PARAM); /* no SET */
    cr_expect_eq(bruno_rram_array_bytes(&d), bruno_rram_array_bytes(&c)); /* icc_top is not a size */
    d = c; d.n_weights = 0; cr_expect_eq(bruno_rram_array_bytes(&d), 0);
    cr_expect_eq(bruno_rram_array_init(NULL, &c), BRUNO_ERR_ARG);
    cr_assert_eq(bruno_rram_array_init(&a, &c), BRUNO_OK);
    cr_expect_eq(bruno_rram_array_weights(&a, w, &rng), BRUNO_ERR_STATE); /* not programmed yet */
    cr_expect_eq(bruno_rram_array_program(&a, bad, &rng, &n), BRUNO_ERR_PARAM);
    cr_expect_eq(n, 0);
    cr_expect_eq(a.state[0], -1); /* nothing written */
    cr_expect_eq(bruno_rram_array_program(&a, lv, NULL, &n), BRUNO_ERR_ARG); /* noise needs an rng */
    cr_expect_eq(bruno_rram_array_program(&a, NULL, &rng, &n), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_rram_array_program(&a, lv, &rng, &n), BRUNO_OK);
    bruno_rram_array_free(&a);
    bruno_rram_array_free(&a); /* idempotent */
}

Test(rram_array, compliance_scheme_programs_nominal_devices_to_their_levels)
{
    bruno_rram_array_config c = quiet_config(3);
    bruno_rram_array a;
    int8_t lv[3] = {-1, 0, 1};
    bruno_real w[3];
    int k;
    c.bits = 2; /* 4 states: two current inversions keep this test short */
    c.scheme = BRUNO_RRAM_COMPLIANCE;
    cr_assert_eq(bruno_rram_array_init(&a, &c), BRUNO_OK);
    for (k = 1; k < 4; ++k) {
        cr_expect_gt(a.program[k], a.program[k - 1]); /* I_cc rises with the state */
        cr_expect_lt(rel_diff(a.g_nominal[k], a.g_target[k]), 1e-3);
    }
    cr_assert_eq(bruno_rram_array_program(&a, lv, NULL, NULL), BRUNO_OK);
    cr_assert_eq(bruno_rram_array_weights(&a, w, NULL), BRUNO_OK);
    for (k = 0; k < 3; ++k) cr_expect(fabs((double)w[k] - lv[k]) < 1e-5);
    bruno_rram_array_free(&a);
}

Test(rram_array, cycle_to_cycle_redraws_geometry_at_each_programming)
{
    bruno_rram_array_config c = bruno_rram_array_config_default(10);
    bruno_rram_array a;
    int8_t lv[10] = {0}, lv2[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    float before[40];
    bruno_rng rng;
    c.cycle_to_cycle = 1;
    bruno_rng_seed(&rng, 3);
    cr_assert_eq(bruno_rram_array_init(&a, &c), BRUNO_OK);
    cr_assert_eq(bruno_rram_array_program(&a, lv, &rng, NULL), BRUNO_OK);
    memcpy(before, a.delta, sizeof before);
    cr_assert_eq(bruno_rram_array_program(&a, lv2, &rng, NULL), BRUNO_OK);
    cr_expect_neq(a.delta[0], before[0]); /* G+ of weight 0 reprogrammed: new geometry */
    cr_expect_eq(a.delta[2], before[2]);  /* G- untouched (state 0 -> 0) */
    bruno_rram_array_free(&a);
}
