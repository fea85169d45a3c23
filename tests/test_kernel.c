/* test_kernel.c - the fast FeLIF kernel against the scalar reference, and
   results that do not depend on the number of threads. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "bruno.h"
#include "net_util.h"

static int spikes_with_kernel(double I_amps, int kernel, int *steps, int max)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_pop_config pc = bruno_felif_pop_config_default(&fp, 1);
    bruno_felif_pop pop;
    bruno_real v = 0, p = (bruno_real)-fp.P_s, s = 0, I = (bruno_real)I_amps;
    int k, n = 0;
    cr_assert_eq(bruno_felif_pop_init(&pop, &pc), BRUNO_OK);
    for (k = 0; k < 40; ++k) {
        cr_assert_eq(bruno_felif_network_step_kernel(&pop, 1, &I, &v, &p, &s, 1e-3, 1000, kernel), BRUNO_OK);
        if (s > 0 && n < max) steps[n++] = k;
    }
    bruno_felif_pop_free(&pop);
    return n;
}

Test(kernel, fast_kernel_keeps_the_models_check_values)
{
    static const double I[4] = {0.2e-9, 0.5e-9, 1.0e-9, 2.0e-9};
    static const int n_expect[4] = {0, 1, 2, 5};
    static const int expect[4][5] = {{0}, {25}, {12, 27}, {6, 14, 22, 30, 38}};
    int c, i, st[8];
    for (c = 0; c < 4; ++c) {
        int n = spikes_with_kernel(I[c], BRUNO_KERNEL_FAST, st, 8);
        cr_assert_eq(n, n_expect[c], "%g A: %d spikes", I[c], n);
        for (i = 0; i < n; ++i) cr_expect_eq(st[i], expect[c][i], "%g A: spike %d at %d", I[c], i, st[i]);
    }
}

/* One network step from many random states: the fast kernel's state agrees
   with the libm reference to the stated accuracy. The dynamics are stiff
   while the polarization switches (one Euler step multiplies a difference
   by up to ~15), so the tolerance is on the population, not every lane. */
Test(kernel, fast_kernel_agrees_with_the_reference_over_random_states)
{
    enum { NN = 4096 };
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_pop_config pc = bruno_felif_pop_config_default(&fp, NN);
    bruno_felif_pop pop;
    bruno_real *v1 = malloc(NN * sizeof *v1), *p1 = malloc(NN * sizeof *p1), *v2 = malloc(NN * sizeof *v2),
               *p2 = malloc(NN * sizeof *p2), *I = malloc(NN * sizeof *I), *s1 = calloc(NN, sizeof *s1),
               *s2 = calloc(NN, sizeof *s2);
    bruno_rng g;
    size_t q, close_v = 0, close_p = 0;
    double worst_v = 0;
    cr_assert(v1 && p1 && v2 && p2 && I && s1 && s2);
    cr_assert_eq(bruno_felif_pop_init(&pop, &pc), BRUNO_OK);
    bruno_rng_seed(&g, 42);
    for (q = 0; q < NN; ++q) {
        v1[q] = v2[q] = (bruno_real)(-1.5 + 3.9 * bruno_rng_uniform(&g));
        p1[q] = p2[q] = (bruno_real)(0.22 * (2 * bruno_rng_uniform(&g) - 1));
        I[q] = (bruno_real)(3e-9 * bruno_rng_uniform(&g));
    }
    /* ten fine steps of 1 us each: a tenth of a network step */
    cr_assert_eq(bruno_felif_network_step_kernel(&pop, 1, I, v1, p1, s1, 1e-5, 10, BRUNO_KERNEL_FAST), BRUNO_OK);
    cr_assert_eq(bruno_felif_network_step_kernel(&pop, 1, I, v2, p2, s2, 1e-5, 10, BRUNO_KERNEL_REFERENCE), BRUNO_OK);
    for (q = 0; q < NN; ++q) {
        double dv = fabs((double)v1[q] - v2[q]), dp = fabs((double)p1[q] - p2[q]);
        close_v += dv <= 1e-4;
        close_p += dp <= 1e-5;
        if (dv > worst_v) worst_v = dv;
    }
    cr_expect_geq(close_v, NN * 99 / 100, "|dv| <= 0.1 mV for %zu of %d states (worst %.3g V)", close_v, NN, worst_v);
    cr_expect_geq(close_p, NN * 99 / 100, "|dp| <= 1e-5 C/m^2 for %zu of %d states", close_p, NN);
    bruno_felif_pop_free(&pop);
    free(v1); free(p1); free(v2); free(p2); free(I); free(s1); free(s2);
}

/* A lane's bits do not depend on where it sits: in a full block of
   vectors, in a tail of 1 to 4 vectors side by side (rows of 101, 17, 33,
   49 and 63 lanes), or alone (what makes results independent of how
   threads split a layer). */
Test(kernel, fast_kernel_gives_a_lane_the_same_bits_wherever_it_sits)
{
    enum { NN = 101 };
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_pop_config pc = bruno_felif_pop_config_default(&fp, NN), pc1 = bruno_felif_pop_config_default(&fp, 1);
    bruno_felif_pop pop, pop1;
    bruno_real v[NN], p[NN], I[NN], s[NN], vb[NN], pb[NN], sb[NN], v0[NN], p0[NN];
    const size_t lens[4] = {17, 33, 49, 63};
    bruno_rng g;
    size_t q, m;
    cr_assert_eq(bruno_felif_pop_init(&pop, &pc), BRUNO_OK);
    cr_assert_eq(bruno_felif_pop_init(&pop1, &pc1), BRUNO_OK);
    bruno_rng_seed(&g, 7);
    for (q = 0; q < NN; ++q) {
        v[q] = vb[q] = v0[q] = (bruno_real)(-1.5 + 4 * bruno_rng_uniform(&g));
        p[q] = pb[q] = p0[q] = (bruno_real)(0.22 * (2 * bruno_rng_uniform(&g) - 1));
        I[q] = (bruno_real)(3e-9 * bruno_rng_uniform(&g));
        s[q] = sb[q] = 0;
    }
    /* one row of 101 neurons, and a batch of 101 of a 1-neuron population */
    cr_assert_eq(bruno_felif_network_step_kernel(&pop, 1, I, v, p, s, 1e-4, 100, BRUNO_KERNEL_FAST), BRUNO_OK);
    cr_assert_eq(bruno_felif_network_step_kernel(&pop1, NN, I, vb, pb, sb, 1e-4, 100, BRUNO_KERNEL_FAST), BRUNO_OK);
    cr_expect(memcmp(v, vb, sizeof v) == 0 && memcmp(p, pb, sizeof p) == 0, "row and batch layouts differ");
    for (m = 0; m < 4; ++m) { /* the first lens[m] lanes as a short row: all of it a tail */
        memcpy(vb, v0, sizeof vb);
        memcpy(pb, p0, sizeof pb);
        memset(sb, 0, sizeof sb);
        cr_assert_eq(bruno_felif_network_step_kernel(&pop1, lens[m], I, vb, pb, sb, 1e-4, 100, BRUNO_KERNEL_FAST),
                     BRUNO_OK);
        cr_expect(memcmp(v, vb, lens[m] * sizeof *v) == 0 && memcmp(p, pb, lens[m] * sizeof *p) == 0,
                  "a row of %zu lanes differs from the same lanes in the row of %d", lens[m], (int)NN);
    }
    for (q = 0; q < NN; ++q) { /* each neuron alone */
        bruno_real v1 = 0, p1 = 0, s1 = 0;
        bruno_rng_seed(&g, 7);
        {
            size_t k;
            for (k = 0; k <= q; ++k) {
                v1 = (bruno_real)(-1.5 + 4 * bruno_rng_uniform(&g));
                p1 = (bruno_real)(0.22 * (2 * bruno_rng_uniform(&g) - 1));
                (void)bruno_rng_uniform(&g);
            }
        }
        cr_assert_eq(bruno_felif_network_step_kernel(&pop1, 1, &I[q], &v1, &p1, &s1, 1e-4, 100, BRUNO_KERNEL_FAST),
                     BRUNO_OK);
        cr_expect(memcmp(&v1, &v[q], sizeof v1) == 0 && memcmp(&p1, &p[q], sizeof p1) == 0,
                  "neuron %zu alone differs from its lane in the row", q);
    }
    bruno_felif_pop_free(&pop);
    bruno_felif_pop_free(&pop1);
}

/* One training step of net on x ([T][B][n_in]; ny outputs), then: with
   th == 1 keep its outputs and gradients as the reference, else compare
   them bit for bit with it. Frees net. */
static void step_against_reference(bruno_net *net, const bruno_real *x, size_t T, size_t B, size_t ny, bruno_real *dy,
                                   bruno_real *ref_y, bruno_real **ref_g, int t, int th)
{
    const bruno_real *y;
    bruno_real *g;
    size_t i, ng = 0, nspk = 0;
    cr_assert_eq(bruno_net_forward(net, x, T, B, 1, &y), BRUNO_OK);
    for (i = 0; i < ny; ++i) nspk += y[i] > 0;
    cr_assert_gt(nspk, 0, "no spike: the test would compare zeros");
    linear_loss(y, ny, dy);
    bruno_net_zero_grad(net);
    cr_assert_eq(bruno_net_backward(net, dy), BRUNO_OK);
    g = collect_grads(net, &ng);
    cr_assert_not_null(g);
    if (th == 1) {
        memcpy(ref_y, y, ny * sizeof *y);
        *ref_g = g;
    } else {
        cr_expect(memcmp(ref_y, y, ny * sizeof *y) == 0, "trainer %d, %d threads: outputs differ", t, th);
        cr_expect(memcmp(*ref_g, g, ng * sizeof *g) == 0, "trainer %d, %d threads: gradients differ", t, th);
        free(g);
    }
    bruno_net_free(net);
}

/* Whole-network outputs and gradients are bit-identical for any number of
   threads, for every trainer. */
Test(kernel, results_do_not_depend_on_the_number_of_threads)
{
    enum { T = 6, B = 3, NI = 3 };
    const bruno_trainer trs[3] = {BRUNO_TRAINER_BRUNO, BRUNO_TRAINER_BPTT, BRUNO_TRAINER_CHECKPOINT};
    bruno_real x[T * B * NI], dy[T * B * 4];
    int t, th;
    fill_input(x, T * B * NI, 31);
    for (t = 0; t < 3; ++t) {
        bruno_real ref_y[T * B * 4], *ref_g = NULL;
        for (th = 1; th <= 3; ++th) {
            bruno_net net;
            cr_assert_eq(make_small_net(&net, trs[t], BRUNO_SCHEDULE_BINOMIAL, 5, 60, BRUNO_SURROGATE_SUPERSPIKE, 0, NI, NULL), BRUNO_OK);
            net.cfg.threads = (unsigned)th;
            step_against_reference(&net, x, T, B, T * B * 4, dy, ref_y, &ref_g, t, th);
        }
        free(ref_g);
    }
}

Test(kernel, parameters_outside_the_kernels_range_are_rejected)
{
    bruno_felif_params fp = bruno_felif_params_default();
    fp.V_t = 0.01; /* e^(v_clip/V_t) would overflow */
    cr_expect_eq(bruno_felif_params_validate(&fp), BRUNO_ERR_PARAM);
    fp = bruno_felif_params_default();
    fp.alpha = 5; /* (E_a/E_soft)^alpha would overflow */
    cr_expect_eq(bruno_felif_params_validate(&fp), BRUNO_ERR_PARAM);
}

/* A dense layer of H outputs into a FeLIF layer of H neurons, N = 40
   fine steps, checkpoints K = 5: wide enough to fill whole blocks of
   vectors, short enough for a unit test. */
static void make_wide_net(bruno_net *net, size_t ni, size_t H, bruno_trainer tr, bruno_schedule sc, uint64_t seed,
                          unsigned threads)
{
    bruno_net_config nc = bruno_net_config_default(ni);
    bruno_layer_config d = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    bruno_layer_config fe = bruno_layer_config_default(BRUNO_LAYER_FELIF);
    nc.trainer = tr;
    nc.schedule = sc;
    nc.n_fine = 40;
    nc.checkpoints = 5;
    nc.seed = seed;
    nc.threads = threads;
    d.n_out = H;
    d.matrix.init_scale = 3.0;
    fe.dev.input_gain = 3e-9;
    cr_assert_eq(bruno_net_init(net, &nc), BRUNO_OK);
    cr_assert_eq(bruno_net_add(net, &d), BRUNO_OK);
    cr_assert_eq(bruno_net_add(net, &fe), BRUNO_OK);
}

/* A FeLIF layer wide enough that, with threads, it is cut into many work
   items handed out dynamically (bruno__eng_items: up to 4 per thread of
   256 lanes or more; 6 items of B*H = 1600 lanes here), the forward pass
   one network step at a time (tests/impl.c sets BRUNO_FELIF_CHUNK_UPDATES),
   so items change thread between steps: outputs and gradients still do not
   depend on the number of threads, for every trainer and the sequence
   schedule. */
Test(kernel, many_work_items_give_the_same_bits_as_one)
{
    enum { T = 4, B = 4, NI = 5, H = 400 };
    const bruno_trainer trs[4] = {BRUNO_TRAINER_BRUNO, BRUNO_TRAINER_BPTT, BRUNO_TRAINER_CHECKPOINT,
                                  BRUNO_TRAINER_CHECKPOINT};
    static bruno_real x[T * B * NI], dy[T * B * H], ref_y[T * B * H];
    int t, th;
    fill_input(x, T * B * NI, 17);
    for (t = 0; t < 4; ++t) {
        bruno_real *ref_g = NULL;
        for (th = 1; th <= 3; ++th) {
            bruno_net net;
            make_wide_net(&net, NI, H, trs[t], t == 3 ? BRUNO_SCHEDULE_SEQUENCE : BRUNO_SCHEDULE_BINOMIAL, 3,
                          (unsigned)th);
            step_against_reference(&net, x, T, B, T * B * H, dy, ref_y, &ref_g, t, th);
        }
        free(ref_g);
    }
}

/* The fast forward runs a window's fine steps in one call (the device's
   fwd_window), storing each step's input state where BPTT, the uniform
   schedule's segments or the sequence schedule's window need it, and not
   where binomial checkpointing recomputes to a snapshot. Every form must
   give a lane the same bits, or checkpointing's gradients would not agree
   with BPTT's bit for bit. 300 lanes: full blocks of 64, two full vectors
   and a masked one in the tail; a nominal population (one flat row) and a
   varied one (row by row, each row stopping on its own). */
Test(kernel, windows_in_one_call_give_the_bits_of_single_steps)
{
    enum { T = 4, B = 3, NI = 5, H = 100 };
    static bruno_real x[T * B * NI], dy[T * B * H], ref_y[T * B * H];
    int var, t;
    fill_input(x, T * B * NI, 23);
    for (var = 0; var < 2; ++var) {
        bruno_real *ref_g = NULL;
        for (t = 0; t < 3; ++t) {
            bruno_net net;
            make_wide_net(&net, NI, H, t == 0 ? BRUNO_TRAINER_BPTT : BRUNO_TRAINER_CHECKPOINT,
                          t == 2 ? BRUNO_SCHEDULE_SEQUENCE : BRUNO_SCHEDULE_BINOMIAL, 9, 1);
            if (var) {
                bruno_rng g;
                bruno_rng_seed(&g, 4);
                cr_assert_eq(bruno_net_redraw_devices(&net, 0.05, &g), BRUNO_OK);
            }
            /* the reference is BPTT (t = 0), compared as "1 thread" */
            step_against_reference(&net, x, T, B, T * B * H, dy, ref_y, &ref_g, var * 10 + t, t == 0 ? 1 : 2);
        }
        free(ref_g);
    }
}
