/* test_hostile.c - the library's API contract under hostile use (issue 16):
   every public function called with NULL, objects whose init failed,
   half-set allocators, sizes that overflow, and parameters that pass the
   range checks but cannot be computed in the build's precision. The
   promises tested here are the ones the header's contract table states
   ("What every public function validates", bruno.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "bruno.h"

/* ---- class 7: NULL arguments -------------------------------------------------- */
Test(hostile, null_arguments_return_an_error_or_a_neutral_value)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_consts c = bruno_felif_derive(&fp), z;
    bruno_felif_jacobian J;
    bruno_rram_geometry g;
    bruno_real v = 0.5f, p = 0.1f, dr = 7;
    /* value-returning functions: NULL gives a neutral value and touches nothing */
    bruno_rng_seed(NULL, 1);
    bruno_rng_jump(NULL);
    cr_expect_eq(bruno_rng_u64(NULL), 0);
    cr_expect_eq(bruno_rng_uniform(NULL), 0.0);
    cr_expect_eq(bruno_rng_normal(NULL), 0.0);
    bruno_counting_allocator_init(NULL, NULL);
    bruno_counting_allocator_reset_peak(NULL);
    bruno_felif_params_use_legacy_reset(NULL);
    cr_expect_eq(bruno_felif_c_tot(NULL), 0.0);
    z = bruno_felif_derive(NULL);
    cr_expect_eq(z.A, 0);
    cr_expect_eq(z.inv_tau_0, 0);
    cr_expect_eq(bruno_felif_rate(NULL, 1, &dr), 0);
    cr_expect_eq(dr, 0);
    cr_expect_eq(bruno_felif_euler(NULL, 0, 0, 0, 1e-6f, &v, &p), -1);
    cr_expect_eq(bruno_felif_euler(&c, 0, 0, 0, 1e-6f, NULL, NULL), -1);
    cr_expect_eq(v, 0.5f, "nothing written");
    J = bruno_felif_euler_jacobian(NULL, 0, 0, 0, 1e-6f, 1);
    cr_expect_eq(J.dv_dv, 0);
    J = bruno_felif_coarse_jacobian(NULL, 0, 0, 0, 1e-3, 0);
    cr_expect_eq(J.dp_dp, 0);
    cr_expect_eq(bruno_felif_fine_pass(NULL, 2.5f, &v, &p, 0, 1e-6f, 10), 0);
    cr_expect_eq(bruno_felif_fine_pass(&c, 2.5f, NULL, NULL, 0, 1e-6f, 10), 0);
    g = bruno_rram_geometry_make(NULL, 0, 0);
    {
        bruno_rram_params rp = bruno_rram_params_default();
        cr_expect_neq(bruno_rram_geometry_validate(&rp, g), BRUNO_OK);
    }
    cr_expect_eq(bruno_net_finite(NULL), 0);
    cr_expect_eq(bruno_net_n_out(NULL), 0);
    /* functions with a result code: BRUNO_ERR_ARG */
    cr_expect_eq(bruno_felif_params_validate(NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_felif_pop_init(NULL, NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_net_init(NULL, NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_net_add(NULL, NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_net_forward(NULL, NULL, 1, 1, 0, NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_net_backward(NULL, NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_optim_init(NULL, NULL, NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_optim_step(NULL, NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_rram_array_init(NULL, NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_rram_params_validate(NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_net_bytes(NULL), 0);
    cr_expect_eq(bruno_net_train_bytes(NULL, 1, 1), 0);
    cr_expect_eq(bruno_optim_bytes(NULL, BRUNO_OPTIM_ADAM), 0);
    cr_expect_eq(bruno_rram_array_bytes(NULL), 0);
    cr_expect_eq(bruno_felif_network_step(NULL, 1, &v, &v, &p, &v, 1e-3, 10), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_lif_step(1, 1, 0.9f, 0.9f, NULL, NULL, NULL, NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_quantize(NULL, NULL, 1, 3, 0, NULL, NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_loss_count_ce(NULL, 1, 1, 1, NULL, NULL, NULL, NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_loss_bce_logits(NULL, NULL, 1, 1, 1, 0, NULL, NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_loss_sum_sq(NULL, 1, NULL, NULL), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_net_rram_stats(NULL, 0, NULL), BRUNO_ERR_ARG);
    cr_expect_null(bruno_net_rram_array(NULL, 0));
    /* free of NULL is a no-op */
    bruno_net_free(NULL);
    bruno_optim_free(NULL);
    bruno_felif_pop_free(NULL);
    bruno_rram_array_free(NULL);
}

/* ---- class 7: a failed init leaves a zeroed object that free accepts ------------ */
Test(hostile, objects_whose_init_failed_are_zeroed_and_free_is_safe)
{
    bruno_net net;
    bruno_felif_pop pop;
    bruno_optim opt;
    bruno_net_config nc = bruno_net_config_default(0); /* n_in 0: refused */
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_pop_config pc;
    bruno_optim_config oc = bruno_optim_config_default(BRUNO_OPTIM_ADAM, -1.0);
    unsigned char zero[sizeof net > sizeof pop ? sizeof net : sizeof pop];
    memset(zero, 0, sizeof zero);
    memset(&net, 0xab, sizeof net);
    cr_expect_neq(bruno_net_init(&net, &nc), BRUNO_OK);
    cr_expect_eq(memcmp(&net, zero, sizeof net), 0);
    bruno_net_free(&net);
    fp.tau_0 = -1;
    pc = bruno_felif_pop_config_default(&fp, 4);
    memset(&pop, 0xab, sizeof pop);
    cr_expect_neq(bruno_felif_pop_init(&pop, &pc), BRUNO_OK);
    cr_expect_eq(memcmp(&pop, zero, sizeof pop), 0);
    bruno_felif_pop_free(&pop);
    nc = bruno_net_config_default(4);
    cr_assert_eq(bruno_net_init(&net, &nc), BRUNO_OK);
    memset(&opt, 0xab, sizeof opt);
    cr_expect_neq(bruno_optim_init(&opt, &oc, &net), BRUNO_OK);
    cr_expect(opt.m == NULL && opt.u == NULL);
    bruno_optim_free(&opt);
    bruno_optim_free(&opt); /* twice */
    bruno_net_free(&net);
    bruno_net_free(&net);
    bruno_felif_pop_free(&pop);
}

/* ---- class 7: an allocator is both functions or neither ----------------------- */
static void *pool_alloc(size_t size, void *user)
{
    (void)user;
    return malloc(size);
}
static void pool_free(void *ptr, size_t size, void *user)
{
    (void)size;
    (void)user;
    free(ptr);
}

Test(hostile, a_half_set_allocator_is_refused)
{
    bruno_allocator half1 = {NULL, pool_alloc, NULL}, half2 = {NULL, NULL, pool_free};
    bruno_net net;
    bruno_net_config nc = bruno_net_config_default(4);
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_pop_config pc = bruno_felif_pop_config_default(&fp, 4);
    bruno_felif_pop pop;
    bruno_optim opt;
    bruno_optim_config oc = bruno_optim_config_default(BRUNO_OPTIM_ADAM, 1e-3);
    bruno_rram_array_config ac = bruno_rram_array_config_default(4);
    bruno_rram_array arr;
    bruno_counting_allocator ca;
    bruno_allocator cnt;
    cr_expect_null(bruno_alloc(&half1, 4, 4));
    cr_expect_null(bruno_alloc(&half2, 4, 4));
    nc.allocator = half1;
    cr_expect_eq(bruno_net_init(&net, &nc), BRUNO_ERR_ARG);
    nc.allocator = half2;
    cr_expect_eq(bruno_net_init(&net, &nc), BRUNO_ERR_ARG);
    pc.allocator = half1;
    cr_expect_eq(bruno_felif_pop_init(&pop, &pc), BRUNO_ERR_ARG);
    ac.allocator = half2;
    cr_expect_eq(bruno_rram_array_init(&arr, &ac), BRUNO_ERR_ARG);
    nc.allocator = bruno_allocator_default();
    cr_assert_eq(bruno_net_init(&net, &nc), BRUNO_OK);
    oc.allocator = half1;
    cr_expect_eq(bruno_optim_init(&opt, &oc, &net), BRUNO_ERR_ARG);
    bruno_net_free(&net);
    /* a counting allocator around a half-set one allocates nothing */
    bruno_counting_allocator_init(&ca, &half1);
    cnt = bruno_counting_allocator_get(&ca);
    cr_expect_null(bruno_alloc(&cnt, 4, 4));
    cr_expect_eq(ca.live_bytes, 0);
    /* a whole pool works */
    {
        bruno_allocator pool = {NULL, pool_alloc, pool_free};
        nc.allocator = pool;
        cr_expect_eq(bruno_net_init(&net, &nc), BRUNO_OK);
        bruno_net_free(&net);
    }
}

/* ---- class 1 and 7: an encoding layer whose width n_in * tile wraps ------------- */
Test(hostile, an_encoding_layer_whose_width_overflows_is_refused)
{
    bruno_net net;
    bruno_net_config nc = bruno_net_config_default(12);
    bruno_layer_config L = bruno_layer_config_default(BRUNO_LAYER_ENCODE);
    cr_assert_eq(bruno_net_init(&net, &nc), BRUNO_OK);
    L.encode.tile = ((size_t)-1) / 12 + 2; /* 12 * tile wraps to a small number */
    cr_expect_eq(bruno_net_add(&net, &L), BRUNO_ERR_SIZE);
    L.encode.tile = (size_t)1 << 30;      /* does not wrap, but 12 Gi neurons */
    cr_expect_eq(bruno_net_add(&net, &L), BRUNO_ERR_SIZE);
    cr_expect_eq(net.n_layers, 0);
    L.encode.tile = 32;
    cr_expect_eq(bruno_net_add(&net, &L), BRUNO_OK);
    cr_expect_eq(bruno_net_n_out(&net), 12 * 32);
    bruno_net_free(&net);
}

/* ---- class 6: parameters that validate but cannot be computed ------------------ */
static int states_finite(const bruno_real *v, const bruno_real *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i)
        if (!isfinite((double)v[i]) || !isfinite((double)p[i])) return 0;
    return 1;
}

/* Either the population is refused, or both kernels run it to finite states
   with the same result code: never NaN from one and numbers from the other. */
static void kernels_agree(bruno_felif_params fp, const char *what, int must_refuse)
{
    enum { N = 8 };
    bruno_felif_pop pop;
    bruno_felif_pop_config pc = bruno_felif_pop_config_default(&fp, N);
    bruno_real I[N], v[2][N], p[2][N], s[2][N];
    bruno_result r[2], ri = bruno_felif_pop_init(&pop, &pc);
    int k;
    size_t i;
    if (must_refuse) cr_expect_eq(ri, BRUNO_ERR_PARAM, "%s must be refused in this precision", what);
    if (ri != BRUNO_OK) return;
    for (k = 0; k < 2; ++k) {
        for (i = 0; i < N; ++i) {
            I[i] = (bruno_real)(1e-9 * (double)(i + 1));
            v[k][i] = 0;
            p[k][i] = (bruno_real)fp.p_init;
            s[k][i] = 0;
        }
        r[k] = bruno_felif_network_step_kernel(&pop, 1, I, v[k], p[k], s[k], 1e-3, 100,
                                               k ? BRUNO_KERNEL_REFERENCE : BRUNO_KERNEL_FAST);
    }
    cr_expect_eq(r[0], r[1], "%s: the kernels return different codes", what);
    if (r[0] == BRUNO_OK) {
        cr_expect(states_finite(v[0], p[0], N), "%s: fast kernel states not finite", what);
        cr_expect(states_finite(v[1], p[1], N), "%s: reference kernel states not finite", what);
    }
    bruno_felif_pop_free(&pop);
}

Test(hostile, extreme_device_parameters_are_refused_or_computed_alike_by_both_kernels)
{
    bruno_felif_params fp = bruno_felif_params_default();
    fp.tau_0 = 1e-40; /* 1/tau_0 = 1e40 is beyond float */
    kernels_agree(fp, "tau_0 = 1e-40", !BRUNO_REAL_IS_DOUBLE);
    fp = bruno_felif_params_default();
    fp.I_0 = 1e300;
    kernels_agree(fp, "I_0 = 1e300", 1);
    fp = bruno_felif_params_default();
    fp.I_dsc = 1e300;
    kernels_agree(fp, "I_dsc = 1e300", 1);
    fp = bruno_felif_params_default();
    fp.A = 1e-300; /* the kernels divide by A: zero in float */
    kernels_agree(fp, "A = 1e-300", !BRUNO_REAL_IS_DOUBLE);
    fp = bruno_felif_params_default();
    fp.E_soft = 1e-45;
    kernels_agree(fp, "E_soft = 1e-45", 1);
    fp = bruno_felif_params_default();
    kernels_agree(fp, "the defaults", 0);
    cr_expect_eq(bruno_felif_params_validate(&fp), BRUNO_OK);
    bruno_felif_params_use_legacy_reset(&fp);
    cr_expect_eq(bruno_felif_params_validate(&fp), BRUNO_OK);
}

Test(hostile, a_felif_layer_with_a_discharge_current_of_1e300_is_refused)
{
    /* `bruno-bench train --i-dsc 1e300` ran to the end at loss ln 27 */
    bruno_net net;
    bruno_net_config nc = bruno_net_config_default(4);
    bruno_layer_config d = bruno_layer_config_default(BRUNO_LAYER_DENSE), f = bruno_layer_config_default(BRUNO_LAYER_FELIF);
    cr_assert_eq(bruno_net_init(&net, &nc), BRUNO_OK);
    d.n_out = 3;
    cr_assert_eq(bruno_net_add(&net, &d), BRUNO_OK);
    f.dev.felif.I_dsc = 1e300;
    cr_expect_eq(bruno_net_add(&net, &f), BRUNO_ERR_PARAM);
    f.dev.felif.I_dsc = 10e-12;
    cr_expect_eq(bruno_net_add(&net, &f), BRUNO_OK);
    bruno_net_free(&net);
}

/* ---- class 6: optimiser settings that turn weights into NaN ---------------------- */
static void one_grad(bruno_net *net)
{
    size_t i, j;
    for (i = 0; i < net->n_params; ++i)
        for (j = 0; j < net->params[i].n; ++j) net->params[i].grad[j] = (bruno_real)(j % 3 == 0 ? 0 : 0.5);
}

Test(hostile, optimiser_settings_that_cannot_be_computed_are_refused)
{
    bruno_net net;
    bruno_net_config nc = bruno_net_config_default(4);
    bruno_layer_config d = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    bruno_optim opt;
    bruno_optim_kind kinds[3] = {BRUNO_OPTIM_SGD, BRUNO_OPTIM_ADAM, BRUNO_OPTIM_ADAMAX};
    int k;
    cr_assert_eq(bruno_net_init(&net, &nc), BRUNO_OK);
    d.n_out = 3;
    cr_assert_eq(bruno_net_add(&net, &d), BRUNO_OK);
    for (k = 0; k < 3; ++k) {
        bruno_optim_config oc = bruno_optim_config_default(kinds[k], 1e-3);
        bruno_optim_config bad[8];
        int b;
        for (b = 0; b < 8; ++b) bad[b] = oc;
        bad[0].eps = 0;
        bad[1].eps = -1e-8;
        bad[2].lr = 0;
        bad[3].lr = NAN;
        bad[4].lr = INFINITY;
        bad[5].beta1 = 1.0;
        bad[6].beta2 = -0.1;
        bad[7].eps = NAN;
        for (b = 0; b < 8; ++b) cr_expect_eq(bruno_optim_init(&opt, &bad[b], &net), BRUNO_ERR_PARAM, "kind %d case %d", k, b);
        /* settings changed after init are checked at the step: nothing changes */
        cr_assert_eq(bruno_optim_init(&opt, &oc, &net), BRUNO_OK);
        one_grad(&net);
        opt.cfg.eps = 0;
        cr_expect_eq(bruno_optim_step(&opt, &net), BRUNO_ERR_PARAM, "kind %d: eps = 0 at the step", k);
        cr_expect(bruno_net_finite(&net));
        opt.cfg.eps = 1e-8;
        cr_expect_eq(bruno_optim_step(&opt, &net), BRUNO_OK);
        cr_expect(bruno_net_finite(&net));
        /* a finite but huge rate steps the weights past the largest real
           (float at once, double within a few steps): that is divergence,
           never a successful step with infinite weights */
        {
            int st, diverged = 0;
            opt.cfg.lr = 1e308;
            for (st = 0; st < 4 && !diverged; ++st) {
                bruno_result r;
                one_grad(&net);
                r = bruno_optim_step(&opt, &net);
                if (r == BRUNO_OK) cr_expect(bruno_net_finite(&net), "kind %d: BRUNO_OK with weights beyond the reals", k);
                else diverged = r == BRUNO_ERR_DIVERGED;
            }
            cr_expect(diverged, "kind %d: never reported", k);
        }
        bruno_optim_free(&opt);
        /* fresh weights for the next kind */
        bruno_net_free(&net);
        cr_assert_eq(bruno_net_init(&net, &nc), BRUNO_OK);
        cr_assert_eq(bruno_net_add(&net, &d), BRUNO_OK);
    }
    bruno_net_free(&net);
}
