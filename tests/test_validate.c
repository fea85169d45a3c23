/* test_validate.c - every bad input gets its own result code, and a call
   that fails leaves its outputs untouched. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include "bruno.h"

Test(validate, time_step_must_be_finite_and_positive)
{
    cr_expect_eq(bruno_check_time(1e-3, 1000), BRUNO_OK);
    cr_expect_eq(bruno_check_time(0.0, 1000), BRUNO_ERR_TIME_STEP);
    cr_expect_eq(bruno_check_time(-1e-3, 1000), BRUNO_ERR_TIME_STEP);
    cr_expect_eq(bruno_check_time(NAN, 1000), BRUNO_ERR_TIME_STEP);
    cr_expect_eq(bruno_check_time(INFINITY, 1000), BRUNO_ERR_TIME_STEP);
    cr_expect_eq(bruno_check_time(-INFINITY, 1000), BRUNO_ERR_TIME_STEP);
}

Test(validate, fine_steps_must_be_at_least_one)
{
    cr_expect_eq(bruno_check_time(1e-3, 0), BRUNO_ERR_N_FINE);
    cr_expect_eq(bruno_check_time(1e-3, 1), BRUNO_OK);
    /* a bad dt is reported first */
    cr_expect_eq(bruno_check_time(0.0, 0), BRUNO_ERR_TIME_STEP);
}

/* One FeLIF parameter set to a bad value at a time. */
typedef struct { size_t off; double bad; bruno_result want; const char *what; } bad_param;
#define BP(f, v, r) {offsetof(bruno_felif_params, f), v, r, #f " = " #v}

Test(validate, each_bad_felif_parameter_is_rejected)
{
    static const bad_param cases[] = {
        BP(A, 0.0, BRUNO_ERR_PARAM),        BP(A, -1e-12, BRUNO_ERR_PARAM),
        BP(t_fe, 0.0, BRUNO_ERR_PARAM),     BP(t_i, -1e-9, BRUNO_ERR_PARAM),
        BP(eps_fe, 0.0, BRUNO_ERR_PARAM),   BP(eps_i, -3.0, BRUNO_ERR_PARAM),
        BP(E_a, 0.0, BRUNO_ERR_PARAM),      BP(P_s, 0.0, BRUNO_ERR_PARAM),
        BP(tau_0, 0.0, BRUNO_ERR_PARAM),    BP(I_0, -1e-4, BRUNO_ERR_PARAM),
        BP(V_t, 0.0, BRUNO_ERR_PARAM),      BP(C_par, -1e-15, BRUNO_ERR_PARAM),
        BP(alpha, 0.0, BRUNO_ERR_PARAM),    BP(E_soft, 0.0, BRUNO_ERR_PARAM),
        BP(I_dsc, -1e-12, BRUNO_ERR_PARAM), BP(v_clip, 0.0, BRUNO_ERR_PARAM),
        BP(V_thr, 5.0, BRUNO_ERR_PARAM),    BP(V_thr, -6.0, BRUNO_ERR_PARAM),
        BP(v_reset, -5.5, BRUNO_ERR_PARAM), BP(v_init, 6.0, BRUNO_ERR_PARAM),
        BP(p_reset, -0.3, BRUNO_ERR_PARAM), BP(p_init, 0.23, BRUNO_ERR_PARAM),
        BP(A, NAN, BRUNO_ERR_NONFINITE),    BP(E_a, INFINITY, BRUNO_ERR_NONFINITE),
        BP(V_thr, NAN, BRUNO_ERR_NONFINITE), BP(p_init, -INFINITY, BRUNO_ERR_NONFINITE),
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        bruno_felif_params fp = bruno_felif_params_default();
        bruno_felif_pop_config pc;
        bruno_felif_pop pop;
        *(double *)((char *)&fp + cases[i].off) = cases[i].bad;
        cr_expect_eq(bruno_felif_params_validate(&fp), cases[i].want, "%s", cases[i].what);
        pc = bruno_felif_pop_config_default(&fp, 1);
        cr_expect_eq(bruno_felif_pop_init(&pop, &pc), cases[i].want, "pop_init with %s", cases[i].what);
        cr_expect_null(pop.c);
    }
    /* zero interlayer, zero leakage, zero parasitic and discharge are allowed */
    {
        bruno_felif_params fp = bruno_felif_params_default();
        fp.t_i = 0; fp.I_0 = 0; fp.C_par = 0; fp.I_dsc = 0;
        cr_expect_eq(bruno_felif_params_validate(&fp), BRUNO_OK);
    }
    cr_expect_eq(bruno_felif_params_validate(NULL), BRUNO_ERR_ARG);
}

Test(validate, population_size_and_sigma_are_checked)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_pop_config pc = bruno_felif_pop_config_default(&fp, 0);
    bruno_felif_pop pop;
    bruno_rng rng;
    static const double bad_sigma[] = {-0.1, 1.0, 2.0, NAN, INFINITY};
    size_t i;
    cr_expect_eq(bruno_felif_pop_init(&pop, &pc), BRUNO_ERR_SIZE);
    pc.n = 4;
    for (i = 0; i < sizeof bad_sigma / sizeof bad_sigma[0]; ++i) {
        pc.sigma = bad_sigma[i];
        cr_expect_eq(bruno_felif_pop_init(&pop, &pc), BRUNO_ERR_PARAM, "sigma %g", bad_sigma[i]);
    }
    pc.sigma = 0.1;
    cr_assert_eq(bruno_felif_pop_init(&pop, &pc), BRUNO_OK);
    bruno_rng_seed(&rng, 1);
    for (i = 0; i < sizeof bad_sigma / sizeof bad_sigma[0]; ++i)
        cr_expect_eq(bruno_felif_pop_redraw(&pop, bad_sigma[i], 0, &rng), BRUNO_ERR_PARAM, "sigma %g", bad_sigma[i]);
    cr_expect_eq(bruno_felif_pop_redraw(&pop, 0.1, 0, NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_felif_pop_redraw(NULL, 0.1, 0, &rng), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_felif_pop_redraw(&pop, 0.0, 0, NULL), BRUNO_OK); /* no draw, no rng needed */
    bruno_felif_pop_free(&pop);
    cr_expect_eq(bruno_felif_pop_init(NULL, &pc), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_felif_pop_init(&pop, NULL), BRUNO_ERR_ARG);
    bruno_felif_pop_free(NULL); /* harmless */
}

/* bruno_felif_network_step: each bad argument, and the state is unchanged. */
Test(validate, felif_network_step_rejects_bad_input_and_leaves_state_alone)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_pop_config pc = bruno_felif_pop_config_default(&fp, 2);
    bruno_felif_pop pop;
    bruno_real I[2] = {1e-9f, 1e-9f}, v[2] = {0.5f, 0.25f}, p[2] = {-0.2f, -0.1f}, s[2] = {0, 1};
    bruno_real v0[2], p0[2], s0[2];
    memcpy(v0, v, sizeof v);
    memcpy(p0, p, sizeof p);
    memcpy(s0, s, sizeof s);
    cr_assert_eq(bruno_felif_pop_init(&pop, &pc), BRUNO_OK);
    cr_expect_eq(bruno_felif_network_step(&pop, 1, I, v, p, s, 0.0, 1000), BRUNO_ERR_TIME_STEP);
    cr_expect_eq(bruno_felif_network_step(&pop, 1, I, v, p, s, -1e-3, 1000), BRUNO_ERR_TIME_STEP);
    cr_expect_eq(bruno_felif_network_step(&pop, 1, I, v, p, s, NAN, 1000), BRUNO_ERR_TIME_STEP);
    cr_expect_eq(bruno_felif_network_step(&pop, 1, I, v, p, s, 1e-3, 0), BRUNO_ERR_N_FINE);
    cr_expect_eq(bruno_felif_network_step(&pop, 0, I, v, p, s, 1e-3, 1000), BRUNO_ERR_SIZE);
    cr_expect_eq(bruno_felif_network_step(NULL, 1, I, v, p, s, 1e-3, 1000), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_felif_network_step(&pop, 1, NULL, v, p, s, 1e-3, 1000), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_felif_network_step(&pop, 1, I, NULL, p, s, 1e-3, 1000), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_felif_network_step(&pop, 1, I, v, NULL, s, 1e-3, 1000), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_felif_network_step(&pop, 1, I, v, p, NULL, 1e-3, 1000), BRUNO_ERR_ARG);
    I[1] = NAN;
    cr_expect_eq(bruno_felif_network_step(&pop, 1, I, v, p, s, 1e-3, 1000), BRUNO_ERR_NONFINITE);
    I[1] = INFINITY;
    cr_expect_eq(bruno_felif_network_step(&pop, 1, I, v, p, s, 1e-3, 1000), BRUNO_ERR_NONFINITE);
    I[1] = -INFINITY;
    cr_expect_eq(bruno_felif_network_step(&pop, 1, I, v, p, s, 1e-3, 1000), BRUNO_ERR_NONFINITE);
    cr_expect(memcmp(v, v0, sizeof v) == 0);
    cr_expect(memcmp(p, p0, sizeof p) == 0);
    cr_expect(memcmp(s, s0, sizeof s) == 0);
    bruno_felif_pop_free(&pop);
    /* a freed population is refused, not dereferenced */
    cr_expect_eq(bruno_felif_network_step(&pop, 1, I, v, p, s, 1e-3, 1000), BRUNO_ERR_ARG);
}

Test(validate, lif_step_rejects_bad_input)
{
    bruno_real x[2] = {0.5f, 0.5f}, syn[2] = {0}, mem[2] = {0}, s[2] = {0};
    bruno_real a = (bruno_real)0.9, b = (bruno_real)0.8;
    cr_expect_eq(bruno_lif_step(0, 1, a, b, x, syn, mem, s), BRUNO_ERR_SIZE);
    cr_expect_eq(bruno_lif_step(2, 0, a, b, x, syn, mem, s), BRUNO_ERR_SIZE);
    cr_expect_eq(bruno_lif_step(2, 1, a, b, NULL, syn, mem, s), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_lif_step(2, 1, a, b, x, NULL, mem, s), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_lif_step(2, 1, a, b, x, syn, NULL, s), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_lif_step(2, 1, a, b, x, syn, mem, NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_lif_step(2, 1, (bruno_real)NAN, b, x, syn, mem, s), BRUNO_ERR_NONFINITE);
    cr_expect_eq(bruno_lif_step(2, 1, a, (bruno_real)INFINITY, x, syn, mem, s), BRUNO_ERR_NONFINITE);
    /* alpha, beta are clamped to [0.5, 1] by the trainer; outside is an error */
    cr_expect_eq(bruno_lif_step(2, 1, (bruno_real)0.49, b, x, syn, mem, s), BRUNO_ERR_PARAM);
    cr_expect_eq(bruno_lif_step(2, 1, (bruno_real)1.01, b, x, syn, mem, s), BRUNO_ERR_PARAM);
    cr_expect_eq(bruno_lif_step(2, 1, a, (bruno_real)0.4, x, syn, mem, s), BRUNO_ERR_PARAM);
    cr_expect_eq(bruno_lif_step(2, 1, a, (bruno_real)1.5, x, syn, mem, s), BRUNO_ERR_PARAM);
    x[1] = (bruno_real)NAN;
    cr_expect_eq(bruno_lif_step(2, 1, a, b, x, syn, mem, s), BRUNO_ERR_NONFINITE);
    x[1] = (bruno_real)-INFINITY;
    cr_expect_eq(bruno_lif_step(2, 1, a, b, x, syn, mem, s), BRUNO_ERR_NONFINITE);
    cr_expect(syn[0] == 0 && mem[0] == 0 && s[0] == 0); /* nothing was written */
    cr_expect_eq(bruno_lif_step(2, 1, (bruno_real)0.5, (bruno_real)1.0, x, syn, mem, s), BRUNO_ERR_NONFINITE);
}

Test(validate, quantize_rejects_bad_input)
{
    bruno_real W[3] = {0.1f, -0.5f, 0.3f}, Wq[3] = {7, 7, 7};
    bruno_rng rng;
    static const int bad_bits[] = {-3, 0, 1, 17, 32};
    size_t i;
    bruno_rng_seed(&rng, 1);
    for (i = 0; i < sizeof bad_bits / sizeof bad_bits[0]; ++i)
        cr_expect_eq(bruno_quantize(W, Wq, 3, bad_bits[i], 0, NULL, NULL), BRUNO_ERR_BITS, "bits %d", bad_bits[i]);
    cr_expect_eq(bruno_quantize(W, Wq, 3, 2, 0, NULL, NULL), BRUNO_OK);
    cr_expect_eq(bruno_quantize(W, Wq, 3, 16, 0, NULL, NULL), BRUNO_OK);
    Wq[0] = Wq[1] = Wq[2] = 7;
    cr_expect_eq(bruno_quantize(W, Wq, 0, 3, 0, NULL, NULL), BRUNO_ERR_SIZE);
    cr_expect_eq(bruno_quantize(NULL, Wq, 3, 3, 0, NULL, NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_quantize(W, NULL, 3, 3, 0, NULL, NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_quantize(W, Wq, 3, 3, 1, NULL, NULL), BRUNO_ERR_ARG); /* stochastic needs an rng */
    W[2] = (bruno_real)NAN;
    cr_expect_eq(bruno_quantize(W, Wq, 3, 3, 1, &rng, NULL), BRUNO_ERR_NONFINITE);
    W[2] = (bruno_real)INFINITY;
    cr_expect_eq(bruno_quantize(W, Wq, 3, 3, 0, NULL, NULL), BRUNO_ERR_NONFINITE);
    cr_expect(Wq[0] == 7 && Wq[1] == 7 && Wq[2] == 7); /* nothing was written */
}

Test(validate, every_result_code_has_its_own_message)
{
    static const bruno_result codes[] = {
        BRUNO_OK, BRUNO_ERR_ARG, BRUNO_ERR_TIME_STEP, BRUNO_ERR_N_FINE, BRUNO_ERR_SIZE,
        BRUNO_ERR_NONFINITE, BRUNO_ERR_BITS, BRUNO_ERR_PARAM, BRUNO_ERR_NOMEM, BRUNO_ERR_DIVERGED,
        BRUNO_ERR_IO, BRUNO_ERR_FORMAT, BRUNO_ERR_NO_CONVERGENCE, BRUNO_ERR_SHAPE, BRUNO_ERR_STATE,
    };
    const char *unknown = bruno_result_string((bruno_result)12345);
    size_t i, j, n = sizeof codes / sizeof codes[0];
    cr_assert_not_null(unknown);
    for (i = 0; i < n; ++i) {
        const char *m = bruno_result_string(codes[i]);
        cr_assert_not_null(m);
        cr_expect(strlen(m) > 0);
        cr_expect(strcmp(m, unknown) != 0, "code %d has no message", (int)codes[i]);
        for (j = 0; j < i; ++j) cr_expect(strcmp(m, bruno_result_string(codes[j])) != 0, "codes %d and %d share a message",
                                          (int)codes[i], (int)codes[j]);
    }
}
