/* test_trainers.c - gradients of the three trainers (MODELS §3). */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "bruno.h"
#include "net_util.h"

#define T_STEPS 6
#define BATCH 2
#define N_IN 3

static double run_loss(bruno_net *net, const bruno_real *x, bruno_real *dy, int train)
{
    const bruno_real *y;
    size_t n = T_STEPS * BATCH * bruno_net_n_out(net);
    cr_assert_eq(bruno_net_forward(net, x, T_STEPS, BATCH, train, &y), BRUNO_OK);
    return linear_loss(y, n, dy);
}

static void grads_of(bruno_net *net, const bruno_real *x)
{
    bruno_real dy[T_STEPS * BATCH * 16];
    run_loss(net, x, dy, 1);
    bruno_net_zero_grad(net);
    cr_assert_eq(bruno_net_backward(net, dy), BRUNO_OK);
}

#if BRUNO_REAL_IS_DOUBLE
/* Exact BPTT is the derivative of the Euler scheme when the rate gradient
   is on and the spike is a smooth sigmoid with its exact derivative.
   The fine step here is 0.1 us: at 1 us the explicit Euler scheme is
   itself unstable while the polarization switches (dv'/dv reaches -15 per
   step), so the exact derivative of the scheme explodes and no finite
   difference can follow it. */
Test(trainers, bptt_matches_central_differences_for_every_parameter)
{
    bruno_net net;
    bruno_real x[T_STEPS * BATCH * N_IN];
    size_t i, j, checked = 0, nonzero = 0;
    fill_input(x, sizeof x / sizeof x[0], 3);
    cr_assert_eq(make_small_net(&net, BRUNO_TRAINER_BPTT, BRUNO_SCHEDULE_BINOMIAL, 31, 10000, BRUNO_SURROGATE_SIGMOID, 1,
                                N_IN, NULL), BRUNO_OK);
    grads_of(&net, x);
    for (i = 0; i < net.n_params; ++i) {
        bruno_param *p = &net.params[i];
        double err_max = 0, g_max = 0;
        for (j = 0; j < p->n; ++j) {
            double w = p->data[j], e = 1e-7 * (fabs(w) > 1 ? fabs(w) : 1), lp, lm, fd, an = p->grad[j];
            p->data[j] = (bruno_real)(w + e);
            lp = run_loss(&net, x, NULL, 0);
            p->data[j] = (bruno_real)(w - e);
            lm = run_loss(&net, x, NULL, 0);
            p->data[j] = (bruno_real)w;
            fd = (lp - lm) / (2 * e);
            /* each entry to 1e-4 (the difference quotient carries rounding
               noise of about 1e-7 absolute here) ... */
            cr_expect(fabs(fd - an) <= 1e-4 * fmax(fabs(fd), fabs(an)) + 1e-9,
                      "%s[%zu]: finite difference %.10g, BPTT %.10g", p->name, j, fd, an);
            err_max = fmax(err_max, fabs(fd - an));
            g_max = fmax(g_max, fabs(an));
            ++checked;
            if (fabs(an) > 1e-6) ++nonzero;
        }
        /* ... and each tensor to a relative 1e-5 in the max norm */
        cr_expect(err_max <= 1e-5 * g_max, "%s: max |FD - BPTT| = %.3g, max |grad| = %.3g", p->name, err_max, g_max);
    }
    cr_expect_gt(nonzero, checked / 2, "most gradients should be non-zero (%zu of %zu)", nonzero, checked);
    bruno_net_free(&net);
}
#endif

static bruno_real *grads_for(bruno_trainer tr, bruno_schedule sch, uint32_t K, uint32_t N, size_t *n)
{
    bruno_net net;
    bruno_real x[T_STEPS * BATCH * N_IN], *g;
    fill_input(x, sizeof x / sizeof x[0], 5);
    cr_assert_eq(make_small_net(&net, tr, sch, K, N, BRUNO_SURROGATE_SUPERSPIKE, 0, N_IN, NULL), BRUNO_OK);
    grads_of(&net, x);
    g = collect_grads(&net, n);
    cr_assert_not_null(g);
    bruno_net_free(&net);
    return g;
}

Test(trainers, checkpointing_equals_bptt_bit_for_bit_for_every_schedule)
{
    const uint32_t N = 40;
    const uint32_t Ks[3] = {1, 31, N};
    const bruno_schedule S[3] = {BRUNO_SCHEDULE_BINOMIAL, BRUNO_SCHEDULE_UNIFORM, BRUNO_SCHEDULE_SEQUENCE};
    size_t n_ref, n, i, nonzero = 0;
    int a, b;
    bruno_real *ref = grads_for(BRUNO_TRAINER_BPTT, BRUNO_SCHEDULE_BINOMIAL, 31, N, &n_ref);
    for (i = 0; i < n_ref; ++i) nonzero += ref[i] != 0;
    cr_assert_gt(nonzero, n_ref / 2, "the reference gradient is mostly zero");
    for (a = 0; a < 3; ++a)
        for (b = 0; b < 3; ++b) {
            bruno_real *g = grads_for(BRUNO_TRAINER_CHECKPOINT, S[a], Ks[b], N, &n);
            cr_assert_eq(n, n_ref);
            cr_expect(memcmp(g, ref, n * sizeof *g) == 0, "schedule %d with %u checkpoints differs from BPTT", a, Ks[b]);
            free(g);
        }
    free(ref);
}

/* The binomial schedule recomputes the fewest fine steps any schedule with
   its snapshots can: the dynamic programme F(l, s) = min over the first
   split m of m + F(l - m, s - 1) + F(m, s), F(1, s) = 0, F(l, 1) =
   l (l - 1) / 2 (s counts the snapshot holding the window's start). */
Test(trainers, binomial_schedule_recomputes_the_optimal_number_of_steps)
{
    enum { LMAX = 160, SMAX = 12 };
    static long F[LMAX + 1][SMAX + 1];
    long l, s, m;
    for (s = 1; s <= SMAX; ++s)
        for (l = 1; l <= LMAX; ++l) {
            long best = -1;
            if (l == 1 || s == 1) {
                F[l][s] = l * (l - 1) / 2;
                continue;
            }
            for (m = 1; m < l; ++m) {
                long c = m + F[l - m][s - 1] + F[m][s];
                if (best < 0 || c < best) best = c;
            }
            F[l][s] = best;
        }
    for (s = 1; s <= SMAX; ++s)
        for (l = 1; l <= LMAX; ++l)
            cr_expect_eq((long)bruno_checkpoint_recompute_steps(BRUNO_SCHEDULE_BINOMIAL, (size_t)l, (size_t)s), F[l][s],
                         "binomial, %ld steps, %ld snapshots", l, s);
    /* the paper's set-up: closed form t l - C(s + t, t - 1) with t = 3 */
    cr_expect_eq(bruno_checkpoint_recompute_steps(BRUNO_SCHEDULE_BINOMIAL, 1000, 31), (size_t)(3 * 1000 - 561));
    /* uniform: one sweep to the 31 checkpoints (30 segments of 33 steps),
       then every segment again */
    cr_expect_eq(bruno_checkpoint_recompute_steps(BRUNO_SCHEDULE_UNIFORM, 1000, 31), (size_t)(30 * 33 + 1000));
    cr_expect_eq(bruno_checkpoint_recompute_steps(BRUNO_SCHEDULE_SEQUENCE, 1000, 31), 0);
    cr_expect_eq(bruno_checkpoint_recompute_steps(BRUNO_SCHEDULE_BINOMIAL, 0, 31), 0);
}

Test(trainers, bruno_with_one_fine_step_equals_bptt)
{
    size_t n1, n2;
    bruno_real *g1 = grads_for(BRUNO_TRAINER_BRUNO, BRUNO_SCHEDULE_BINOMIAL, 31, 1, &n1);
    bruno_real *g2 = grads_for(BRUNO_TRAINER_BPTT, BRUNO_SCHEDULE_BINOMIAL, 31, 1, &n2);
    cr_assert_eq(n1, n2);
    cr_expect(memcmp(g1, g2, n1 * sizeof *g1) == 0);
    free(g1);
    free(g2);
}

Test(trainers, bruno_gradient_differs_from_bptt_but_points_the_same_way)
{
    size_t n1, n2, i;
    double dot = 0, a2 = 0, b2 = 0;
    bruno_real *g1 = grads_for(BRUNO_TRAINER_BRUNO, BRUNO_SCHEDULE_BINOMIAL, 31, 100, &n1);
    bruno_real *g2 = grads_for(BRUNO_TRAINER_BPTT, BRUNO_SCHEDULE_BINOMIAL, 31, 100, &n2);
    cr_assert_eq(n1, n2);
    for (i = 0; i < n1; ++i) {
        dot += (double)g1[i] * g2[i];
        a2 += (double)g1[i] * g1[i];
        b2 += (double)g2[i] * g2[i];
    }
    cr_expect(memcmp(g1, g2, n1 * sizeof *g1) != 0, "with N = 100 BRUNO is an approximation");
    cr_expect_gt(dot / sqrt(a2 * b2), 0.5, "cosine similarity %.3f", dot / sqrt(a2 * b2));
    free(g1);
    free(g2);
}

/* Forward values are the same for every exact trainer and BRUNO. */
Test(trainers, forward_values_are_the_same_for_every_trainer)
{
    const bruno_trainer trs[3] = {BRUNO_TRAINER_BRUNO, BRUNO_TRAINER_BPTT, BRUNO_TRAINER_CHECKPOINT};
    bruno_real x[T_STEPS * BATCH * N_IN], ref[T_STEPS * BATCH * 4];
    int i;
    fill_input(x, sizeof x / sizeof x[0], 11);
    for (i = 0; i < 3; ++i) {
        bruno_net net;
        const bruno_real *y;
        cr_assert_eq(make_small_net(&net, trs[i], BRUNO_SCHEDULE_SEQUENCE, 3, 50, BRUNO_SURROGATE_SUPERSPIKE, 0, N_IN, NULL), BRUNO_OK);
        cr_assert_eq(bruno_net_forward(&net, x, T_STEPS, BATCH, 1, &y), BRUNO_OK);
        if (i == 0) memcpy(ref, y, sizeof ref);
        else cr_expect(memcmp(ref, y, sizeof ref) == 0, "trainer %d", i);
        bruno_net_free(&net);
    }
}

Test(trainers, same_seed_gives_bit_identical_training)
{
    double losses[2][4];
    bruno_real *w[2];
    size_t nw = 0;
    int run, step;
    bruno_real x[T_STEPS * BATCH * N_IN];
    fill_input(x, sizeof x / sizeof x[0], 13);
    for (run = 0; run < 2; ++run) {
        bruno_net net;
        bruno_optim opt;
        bruno_optim_config oc = bruno_optim_config_default(BRUNO_OPTIM_ADAMAX, 1e-2);
        bruno_layer_config q;
        cr_assert_eq(make_small_net(&net, BRUNO_TRAINER_BRUNO, BRUNO_SCHEDULE_BINOMIAL, 31, 50, BRUNO_SURROGATE_SUPERSPIKE, 0, N_IN, NULL), BRUNO_OK);
        /* a stochastic 3-bit layer on top exercises the RNG */
        q = bruno_layer_config_default(BRUNO_LAYER_DENSE);
        q.n_out = 3;
        q.matrix.bits = 3;
        cr_assert_eq(bruno_net_add(&net, &q), BRUNO_OK);
        cr_assert_eq(bruno_optim_init(&opt, &oc, &net), BRUNO_OK);
        for (step = 0; step < 4; ++step) {
            const bruno_real *y;
            bruno_real dy[T_STEPS * BATCH * 3];
            int32_t labels[BATCH] = {0, 2};
            cr_assert_eq(bruno_net_forward(&net, x, T_STEPS, BATCH, 1, &y), BRUNO_OK);
            cr_assert_eq(bruno_loss_count_ce(y, T_STEPS, BATCH, 3, labels, dy, &losses[run][step], NULL), BRUNO_OK);
            bruno_net_zero_grad(&net);
            cr_assert_eq(bruno_net_backward(&net, dy), BRUNO_OK);
            cr_assert_eq(bruno_optim_step(&opt, &net), BRUNO_OK);
        }
        w[run] = collect_grads(&net, &nw);
        cr_assert_not_null(w[run]);
        {   /* weights too */
            size_t i, off = 0;
            for (i = 0; i < net.n_params; ++i) {
                memcpy(w[run] + off, net.params[i].data, net.params[i].n * sizeof(bruno_real));
                off += net.params[i].n;
            }
        }
        bruno_optim_free(&opt);
        bruno_net_free(&net);
    }
    cr_expect(memcmp(losses[0], losses[1], sizeof losses[0]) == 0);
    cr_expect(memcmp(w[0], w[1], nw * sizeof(bruno_real)) == 0);
    free(w[0]);
    free(w[1]);
}

/* The counting allocator sees exactly the predicted bytes at its peak. */
Test(trainers, predicted_memory_equals_counted_peak_for_every_trainer)
{
    const bruno_trainer trs[4] = {BRUNO_TRAINER_BRUNO, BRUNO_TRAINER_BPTT, BRUNO_TRAINER_CHECKPOINT, BRUNO_TRAINER_COARSE};
    const bruno_schedule S[3] = {BRUNO_SCHEDULE_BINOMIAL, BRUNO_SCHEDULE_UNIFORM, BRUNO_SCHEDULE_SEQUENCE};
    bruno_real x[T_STEPS * BATCH * N_IN], dy[T_STEPS * BATCH * 4];
    int i, s;
    fill_input(x, sizeof x / sizeof x[0], 17);
    for (i = 0; i < 4; ++i)
        for (s = 0; s < (trs[i] == BRUNO_TRAINER_CHECKPOINT ? 3 : 1); ++s) {
            bruno_counting_allocator ca;
            bruno_allocator a;
            bruno_net net;
            const bruno_real *y;
            size_t predicted;
            bruno_counting_allocator_init(&ca, NULL);
            a = bruno_counting_allocator_get(&ca);
            cr_assert_eq(make_small_net(&net, trs[i], S[s], 4, 30, BRUNO_SURROGATE_SUPERSPIKE, 0, N_IN, &a), BRUNO_OK);
            predicted = bruno_net_bytes(&net) + bruno_net_train_bytes(&net, T_STEPS, BATCH);
            cr_assert_eq(bruno_net_forward(&net, x, T_STEPS, BATCH, 1, &y), BRUNO_OK);
            linear_loss(y, T_STEPS * BATCH * 4, dy);
            cr_assert_eq(bruno_net_backward(&net, dy), BRUNO_OK);
            cr_expect_eq(ca.peak_bytes, predicted, "trainer %d schedule %d: counted %zu, predicted %zu", i, s,
                         ca.peak_bytes, predicted);
            bruno_net_free(&net);
            cr_expect_eq(ca.live_bytes, 0);
        }
}

/* An inference forward (train = 0) never runs backward, so its workspace
   has no dL/d(activations) buffers: with BRUNO the layers' own workspace is
   the same either way, so it must be strictly smaller than a training
   forward's. A training step after it still works (the workspace grows). */
Test(trainers, inference_forward_allocates_no_gradient_buffers)
{
    bruno_real x[T_STEPS * BATCH * N_IN], dy[T_STEPS * BATCH * 4];
    size_t live_infer = 0, live_train = 0;
    int pass;
    fill_input(x, sizeof x / sizeof x[0], 23);
    for (pass = 0; pass < 2; ++pass) {
        bruno_counting_allocator ca;
        bruno_allocator a;
        bruno_net net;
        const bruno_real *y;
        bruno_counting_allocator_init(&ca, NULL);
        a = bruno_counting_allocator_get(&ca);
        cr_assert_eq(make_small_net(&net, BRUNO_TRAINER_BRUNO, BRUNO_SCHEDULE_BINOMIAL, 4, 30, BRUNO_SURROGATE_SUPERSPIKE, 0,
                                    N_IN, &a), BRUNO_OK);
        cr_assert_eq(bruno_net_forward(&net, x, T_STEPS, BATCH, pass, &y), BRUNO_OK);
        if (pass == 0) {
            live_infer = ca.live_bytes;
            cr_expect_eq(bruno_net_backward(&net, dy), BRUNO_ERR_STATE);
            cr_assert_eq(bruno_net_forward(&net, x, T_STEPS, BATCH, 1, &y), BRUNO_OK);
            linear_loss(y, T_STEPS * BATCH * 4, dy);
            cr_expect_eq(bruno_net_backward(&net, dy), BRUNO_OK);
        } else {
            live_train = ca.live_bytes;
        }
        bruno_net_free(&net);
        cr_expect_eq(ca.live_bytes, 0);
    }
    cr_expect_lt(live_infer, live_train, "inference %zu B, training %zu B", live_infer, live_train);
}

/* A caller may change net->cfg between passes (threads, the trainer, the
   fine steps): the workspace is sized anew and freed with the sizes it was
   allocated with; a backward pass under a changed configuration is refused
   (its forward pass kept other states); an invalid change is an error, not
   a crash. Outputs stay those of a fresh net. */
Test(trainers, changing_the_configuration_between_passes_is_safe)
{
    bruno_real x[T_STEPS * BATCH * N_IN], dy[T_STEPS * BATCH * 4], y0[T_STEPS * BATCH * 4];
    const bruno_trainer trs[4] = {BRUNO_TRAINER_BRUNO, BRUNO_TRAINER_BPTT, BRUNO_TRAINER_CHECKPOINT, BRUNO_TRAINER_BRUNO};
    const unsigned ths[4] = {1, 2, 3, 1};
    bruno_counting_allocator ca;
    bruno_allocator a;
    bruno_net net;
    const bruno_real *y;
    int i;
    fill_input(x, sizeof x / sizeof x[0], 41);
    bruno_counting_allocator_init(&ca, NULL);
    a = bruno_counting_allocator_get(&ca);
    cr_assert_eq(make_small_net(&net, BRUNO_TRAINER_BRUNO, BRUNO_SCHEDULE_BINOMIAL, 4, 30, BRUNO_SURROGATE_SUPERSPIKE, 0,
                                N_IN, &a), BRUNO_OK);
    for (i = 0; i < 4; ++i) {
        net.cfg.trainer = trs[i];
        net.cfg.threads = ths[i];
        cr_assert_eq(bruno_net_forward(&net, x, T_STEPS, BATCH, 1, &y), BRUNO_OK, "pass %d", i);
        if (i == 0) memcpy(y0, y, sizeof y0);
        cr_expect(memcmp(y0, y, sizeof y0) == 0, "pass %d: outputs differ", i);
        linear_loss(y, T_STEPS * BATCH * 4, dy);
        bruno_net_zero_grad(&net);
        if (i == 1) {
            /* forward under BPTT, backward asked under BRUNO */
            net.cfg.trainer = BRUNO_TRAINER_BRUNO;
            cr_expect_eq(bruno_net_backward(&net, dy), BRUNO_ERR_STATE);
            net.cfg.trainer = trs[i];
        }
        cr_expect_eq(bruno_net_backward(&net, dy), BRUNO_OK, "pass %d", i);
    }
    net.cfg.n_fine = 0; /* impossible: reported, and the old workspace is still freed right */
    cr_expect_neq(bruno_net_forward(&net, x, T_STEPS, BATCH, 1, &y), BRUNO_OK);
    net.cfg.n_fine = 30;
    net.cfg.trainer = BRUNO_TRAINER_CHECKPOINT;
    net.cfg.checkpoints = 0;
    cr_expect_eq(bruno_net_forward(&net, x, T_STEPS, BATCH, 1, &y), BRUNO_ERR_PARAM);
    bruno_net_free(&net);
    cr_expect_eq(ca.live_bytes, 0, "%zu bytes left", ca.live_bytes);
}

/* An allocator that fails at the k-th call, for every k: each call returns
   BRUNO_ERR_NOMEM or succeeds, and nothing leaks. */
Test(trainers, allocation_failure_at_every_call_is_reported_and_leaks_nothing)
{
    bruno_real x[T_STEPS * BATCH * N_IN], dy[T_STEPS * BATCH * 4];
    size_t k, total = 0;
    fill_input(x, sizeof x / sizeof x[0], 19);
    for (k = 1;; ++k) {
        bruno_counting_allocator ca;
        bruno_allocator a;
        bruno_net net;
        bruno_optim opt;
        bruno_optim_config oc = bruno_optim_config_default(BRUNO_OPTIM_ADAM, 1e-3);
        const bruno_real *y;
        bruno_result r;
        int failed = 0;
        bruno_counting_allocator_init(&ca, NULL);
        ca.fail_at = k;
        a = bruno_counting_allocator_get(&ca);
        oc.allocator = a;
        r = make_small_net(&net, BRUNO_TRAINER_CHECKPOINT, BRUNO_SCHEDULE_UNIFORM, 4, 20, BRUNO_SURROGATE_SUPERSPIKE, 0, N_IN, &a);
        if (r != BRUNO_OK) {
            cr_expect_eq(r, BRUNO_ERR_NOMEM);
            cr_expect_eq(ca.live_bytes, 0, "k = %zu: %zu bytes leaked by init", k, ca.live_bytes);
            continue;
        }
        r = bruno_net_forward(&net, x, T_STEPS, BATCH, 1, &y);
        if (r == BRUNO_OK) {
            linear_loss(y, T_STEPS * BATCH * 4, dy);
            cr_expect_eq(bruno_net_backward(&net, dy), BRUNO_OK);
            r = bruno_optim_init(&opt, &oc, &net);
            if (r == BRUNO_OK) {
                cr_expect_eq(bruno_optim_step(&opt, &net), BRUNO_OK);
                bruno_optim_free(&opt);
            } else {
                failed = 1;
            }
        } else {
            failed = 1;
            cr_expect_eq(bruno_net_backward(&net, dy), BRUNO_ERR_STATE, "no backward without a stored forward");
        }
        if (failed) cr_expect_eq(r, BRUNO_ERR_NOMEM, "k = %zu: %s", k, bruno_result_string(r));
        bruno_net_free(&net);
        cr_expect_eq(ca.live_bytes, 0, "k = %zu: %zu bytes leaked", k, ca.live_bytes);
        if (!failed && ca.n_allocs < k) {
            total = k;
            break;
        }
    }
    cr_expect_gt(total, 10, "the run should make a good number of allocations");
}

Test(trainers, coarse_only_runs_and_differs_from_bruno_forward)
{
    bruno_real x[T_STEPS * BATCH * N_IN], a[T_STEPS * BATCH * 4];
    const bruno_real *y;
    bruno_net n1, n2;
    fill_input(x, sizeof x / sizeof x[0], 23);
    cr_assert_eq(make_small_net(&n1, BRUNO_TRAINER_BRUNO, BRUNO_SCHEDULE_BINOMIAL, 1, 1000, BRUNO_SURROGATE_SUPERSPIKE, 0, N_IN, NULL), BRUNO_OK);
    cr_assert_eq(make_small_net(&n2, BRUNO_TRAINER_COARSE, BRUNO_SCHEDULE_BINOMIAL, 1, 1000, BRUNO_SURROGATE_SUPERSPIKE, 0, N_IN, NULL), BRUNO_OK);
    cr_assert_eq(bruno_net_forward(&n1, x, T_STEPS, BATCH, 1, &y), BRUNO_OK);
    memcpy(a, y, sizeof a);
    cr_assert_eq(bruno_net_forward(&n2, x, T_STEPS, BATCH, 1, &y), BRUNO_OK);
    cr_expect(memcmp(a, y, sizeof a) != 0, "one 1 ms Euler step is not the 1 us trajectory");
    bruno_net_free(&n1);
    bruno_net_free(&n2);
}

Test(trainers, backward_before_forward_is_an_error)
{
    bruno_net net;
    bruno_real dy[4] = {0};
    cr_assert_eq(make_small_net(&net, BRUNO_TRAINER_BRUNO, BRUNO_SCHEDULE_BINOMIAL, 1, 10, BRUNO_SURROGATE_SUPERSPIKE, 0, N_IN, NULL), BRUNO_OK);
    cr_expect_eq(bruno_net_backward(&net, dy), BRUNO_ERR_STATE);
    bruno_net_free(&net);
}

/* A gradient that overflows is reported, not handed back silently. */
Test(trainers, non_finite_gradient_is_reported_as_diverged)
{
    enum { T = 5, B = 2, NI = 3 };
    bruno_net net;
    const bruno_real *y;
    bruno_real x[T * B * NI], dy[T * B * 4];
    size_t i;
    for (i = 0; i < T * B * NI; ++i) x[i] = (bruno_real)(0.5 + 0.1 * (double)(i % 7));
    cr_assert_eq(make_small_net(&net, BRUNO_TRAINER_BRUNO, BRUNO_SCHEDULE_BINOMIAL, 31, 20, BRUNO_SURROGATE_SUPERSPIKE, 0,
                                NI, NULL), BRUNO_OK);
    cr_assert_eq(bruno_net_forward(&net, x, T, B, 1, &y), BRUNO_OK);
    /* finite, but the products overflow the real type */
    for (i = 0; i < T * B * 4; ++i) dy[i] = (bruno_real)(BRUNO_REAL_IS_DOUBLE ? DBL_MAX / 2 : FLT_MAX / 2);
    bruno_net_zero_grad(&net);
    cr_expect_eq(bruno_net_backward(&net, dy), BRUNO_ERR_DIVERGED);
    /* the backward consumed the forward pass (the FeLIF layer wrote its
       dL/du over the dense layer's output) */
    cr_expect_eq(bruno_net_backward(&net, dy), BRUNO_ERR_STATE);
    /* after a new forward, an ordinary dL/dy is fine again */
    cr_assert_eq(bruno_net_forward(&net, x, T, B, 1, &y), BRUNO_OK);
    for (i = 0; i < T * B * 4; ++i) dy[i] = (bruno_real)0.01;
    bruno_net_zero_grad(&net);
    cr_expect_eq(bruno_net_backward(&net, dy), BRUNO_OK);
    bruno_net_free(&net);
}

Test(trainers, nan_input_is_rejected)
{
    bruno_net net;
    bruno_real x[T_STEPS * BATCH * N_IN];
    const bruno_real *y;
    fill_input(x, sizeof x / sizeof x[0], 29);
    x[5] = (bruno_real)NAN;
    cr_assert_eq(make_small_net(&net, BRUNO_TRAINER_BRUNO, BRUNO_SCHEDULE_BINOMIAL, 1, 10, BRUNO_SURROGATE_SUPERSPIKE, 0, N_IN, NULL), BRUNO_OK);
    cr_expect_eq(bruno_net_forward(&net, x, T_STEPS, BATCH, 1, &y), BRUNO_ERR_NONFINITE);
    cr_expect_eq(bruno_net_forward(&net, x, 0, BATCH, 1, &y), BRUNO_ERR_SIZE);
    bruno_net_free(&net);
}

/* A large input is checked in blocks of 4096 values (bruno__check_finite_
   array): a NaN or an infinity anywhere, on either side of a block
   boundary or in the last, short block, is still found at any thread
   count. */
Test(trainers, nan_anywhere_in_a_large_input_is_rejected)
{
    enum { T = 64, B = 32, NI = 40, NAT = 5 }; /* 81920 values: 20 blocks */
    static bruno_real x[T * B * NI];
    const size_t at[NAT] = {0, 4095, 4096, T * B * NI / 2 + 1, T * B * NI - 1};
    const bruno_real *y;
    bruno_net net;
    unsigned th;
    int k;
    fill_input(x, T * B * NI, 7);
    for (th = 1; th <= 3; ++th)
        for (k = 0; k < NAT; ++k) {
            bruno_real keep = x[at[k]];
            cr_assert_eq(make_small_net(&net, BRUNO_TRAINER_BRUNO, BRUNO_SCHEDULE_BINOMIAL, 1, 10, BRUNO_SURROGATE_SUPERSPIKE, 0, NI, NULL), BRUNO_OK);
            net.cfg.threads = th;
            x[at[k]] = k % 3 == 1 ? (bruno_real)INFINITY : k % 3 == 2 ? (bruno_real)-INFINITY : (bruno_real)NAN;
            cr_expect_eq(bruno_net_forward(&net, x, T, B, 1, &y), BRUNO_ERR_NONFINITE, "%u threads, bad value at %zu", th, at[k]);
            x[at[k]] = keep;
            cr_expect_eq(bruno_net_forward(&net, x, T, B, 1, &y), BRUNO_OK, "%u threads, clean input", th);
            bruno_net_free(&net);
        }
}
