/* test_rram_layer.c - layers whose weights live in RRAM device arrays
   (bruno_layer_config.synapse = BRUNO_SYNAPSE_RRAM; MODELS §5.2, RRAM.md §6). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "bruno.h"
#include "net_util.h"

#define T_STEPS 6
#define BATCH 2
#define N_IN 3
#define N_CLS 3

/* The device-free twin of an RRAM layer: no variability, no noise. */
static void quiet(bruno_layer_config *c)
{
    c->matrix.rram.variability = BRUNO_RRAM_VAR_NONE;
    c->matrix.rram.prog_noise = 0;
    c->matrix.rram.read_noise = 0;
}

/* dense(N_IN->8) -> RLIF -> dense(8->N_CLS) -> LIF, 3 bits; the two dense
   matrices and W_rec use `syn` (RRAM: default devices, or quiet). */
static bruno_result make_net(bruno_net *net, bruno_synapse syn, int quiet_devices, const bruno_allocator *alloc)
{
    bruno_net_config nc = bruno_net_config_default(N_IN);
    bruno_layer_config L[4];
    bruno_result r;
    int i;
    nc.seed = 11;
    if (alloc) nc.allocator = *alloc;
    L[0] = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    L[0].n_out = 8;
    L[0].matrix.init_scale = 4.0;
    L[1] = bruno_layer_config_default(BRUNO_LAYER_RLIF);
    L[1].lif.alpha = 0.5;
    L[1].lif.beta = 0.5;
    L[2] = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    L[2].n_out = N_CLS;
    L[2].matrix.init_scale = 4.0;
    L[3] = bruno_layer_config_default(BRUNO_LAYER_LIF);
    L[3].lif.alpha = 0.5;
    L[3].lif.beta = 0.5;
    for (i = 0; i < 4; ++i) {
        L[i].matrix.bits = 3;
        L[i].matrix.stochastic_rounding = 0;
        L[i].matrix.synapse = syn;
        if (quiet_devices) quiet(&L[i]);
    }
    if ((r = bruno_net_init(net, &nc)) != BRUNO_OK) return r;
    for (i = 0; i < 4; ++i)
        if ((r = bruno_net_add(net, &L[i])) != BRUNO_OK) {
            bruno_net_free(net);
            return r;
        }
    return BRUNO_OK;
}

/* steps of Adamax on the count cross-entropy; losses[s], then all weights
   into w (n_w of them, caller frees) */
static void train(bruno_net *net, int steps, double lr, double *losses, bruno_real **w, size_t *n_w)
{
    bruno_optim opt;
    bruno_optim_config oc = bruno_optim_config_default(BRUNO_OPTIM_ADAMAX, lr);
    bruno_real x[T_STEPS * BATCH * N_IN], dy[T_STEPS * BATCH * N_CLS];
    int32_t labels[BATCH] = {0, 2};
    size_t i, n = 0, off = 0;
    int s;
    fill_input(x, sizeof x / sizeof x[0], 13);
    for (i = 0; i < sizeof x / sizeof x[0]; ++i) x[i] *= 3; /* enough drive to spike */
    cr_assert_eq(bruno_optim_init(&opt, &oc, net), BRUNO_OK);
    for (s = 0; s < steps; ++s) {
        const bruno_real *y;
        cr_assert_eq(bruno_net_forward(net, x, T_STEPS, BATCH, 1, &y), BRUNO_OK);
        cr_assert_eq(bruno_loss_count_ce(y, T_STEPS, BATCH, N_CLS, labels, dy, &losses[s], NULL), BRUNO_OK);
        bruno_net_zero_grad(net);
        cr_assert_eq(bruno_net_backward(net, dy), BRUNO_OK);
        cr_assert_eq(bruno_optim_step(&opt, net), BRUNO_OK);
    }
    bruno_optim_free(&opt);
    for (i = 0; i < net->n_params; ++i) n += net->params[i].n;
    *w = (bruno_real *)malloc(n * sizeof **w);
    cr_assert_not_null(*w);
    for (i = 0; i < net->n_params; ++i) {
        memcpy(*w + off, net->params[i].data, net->params[i].n * sizeof **w);
        off += net->params[i].n;
    }
    *n_w = n;
}

Test(rram_layer, same_seed_trains_bit_identically)
{
    double losses[2][5];
    bruno_real *w[2];
    size_t nw[2];
    int run;
    for (run = 0; run < 2; ++run) {
        bruno_net net;
        bruno_rram_layer_stats st;
        cr_assert_eq(make_net(&net, BRUNO_SYNAPSE_RRAM, 0, NULL), BRUNO_OK);
        train(&net, 5, 2e-2, losses[run], &w[run], &nw[run]);
        cr_assert_eq(bruno_net_rram_stats(&net, 1, &st), BRUNO_OK);   /* W_rec */
        cr_expect_eq(st.programs, 5);
        cr_expect_eq(st.n_devices, 2 * 8 * 8, "a differential pair per weight");
        cr_expect_geq(st.total_reprogrammed, st.n_devices);
        bruno_net_free(&net);
    }
    cr_assert_eq(nw[0], nw[1]);
    cr_expect(memcmp(losses[0], losses[1], sizeof losses[0]) == 0);
    cr_expect(memcmp(w[0], w[1], nw[0] * sizeof(bruno_real)) == 0);
    cr_expect(losses[0][4] != losses[0][0], "training moved the loss (%.6f -> %.6f)", losses[0][0], losses[0][4]);
    free(w[0]);
    free(w[1]);
}

/* With neither variability nor noise every device reads exactly its level,
   so the RRAM network IS the deterministic 3-bit quantised one, bit for bit,
   through training (same initial W: the arrays do not advance the RNG). */
Test(rram_layer, without_variability_and_noise_equals_the_ideal_deterministic_quantiser)
{
    double l_ideal[4], l_rram[4];
    bruno_real *w_ideal, *w_rram;
    size_t n1, n2;
    bruno_net a, b;
    cr_assert_eq(make_net(&a, BRUNO_SYNAPSE_IDEAL, 0, NULL), BRUNO_OK);
    cr_assert_eq(make_net(&b, BRUNO_SYNAPSE_RRAM, 1, NULL), BRUNO_OK);
    train(&a, 4, 2e-2, l_ideal, &w_ideal, &n1);
    train(&b, 4, 2e-2, l_rram, &w_rram, &n2);
    cr_assert_eq(n1, n2);
    cr_expect(memcmp(l_ideal, l_rram, sizeof l_ideal) == 0, "loss %.17g vs %.17g", l_ideal[3], l_rram[3]);
    cr_expect(memcmp(w_ideal, w_rram, n1 * sizeof(bruno_real)) == 0);
    free(w_ideal);
    free(w_rram);
    bruno_net_free(&a);
    bruno_net_free(&b);
}

/* With the default devices (variability, programming and read noise) the
   network is a different one: the devices reach the forward pass. */
Test(rram_layer, device_variability_changes_the_forward_pass)
{
    bruno_net_config nc = bruno_net_config_default(N_IN);
    bruno_layer_config d = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    bruno_net a, b;
    bruno_real x[T_STEPS * BATCH * N_IN], yi[T_STEPS * BATCH * 8];
    const bruno_real *y;
    size_t i, differ = 0;
    fill_input(x, sizeof x / sizeof x[0], 3);
    d.n_out = 8;
    d.matrix.bits = 3;
    d.matrix.stochastic_rounding = 0;
    cr_assert_eq(bruno_net_init(&a, &nc), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&a, &d), BRUNO_OK);
    d.matrix.synapse = BRUNO_SYNAPSE_RRAM;
    cr_assert_eq(bruno_net_init(&b, &nc), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&b, &d), BRUNO_OK);
    cr_assert_eq(bruno_net_forward(&a, x, T_STEPS, BATCH, 0, &y), BRUNO_OK);
    memcpy(yi, y, sizeof yi);
    cr_assert_eq(bruno_net_forward(&b, x, T_STEPS, BATCH, 0, &y), BRUNO_OK);
    for (i = 0; i < sizeof yi / sizeof yi[0]; ++i) {
        differ += yi[i] != y[i];
        /* devices stay within a fraction of a level (max|W|/3 at 3 bits) of the ideal */
        cr_expect_lt(fabs((double)(yi[i] - y[i])), 0.5, "[%zu] %g vs %g", i, (double)yi[i], (double)y[i]);
    }
    cr_expect_eq(differ, sizeof yi / sizeof yi[0]);
    bruno_net_free(&a);
    bruno_net_free(&b);
}

Test(rram_layer, only_changed_devices_are_reprogrammed_after_an_optimiser_step)
{
    bruno_net_config nc = bruno_net_config_default(N_IN);
    bruno_layer_config d = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    bruno_optim_config oc = bruno_optim_config_default(BRUNO_OPTIM_SGD, 0.05);
    bruno_optim opt;
    bruno_net net;
    bruno_rram_layer_stats st;
    const bruno_rram_array *arr;
    bruno_real x[T_STEPS * BATCH * N_IN], dy[T_STEPS * BATCH * 16];
    int8_t before[16 * N_IN];
    const bruno_real *y;
    size_t i, expected = 0, changed = 0;
    fill_input(x, sizeof x / sizeof x[0], 5);
    d.n_out = 16;
    d.matrix.bits = 3;
    d.matrix.synapse = BRUNO_SYNAPSE_RRAM;
    cr_assert_eq(bruno_net_init(&net, &nc), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&net, &d), BRUNO_OK);
    cr_assert_eq(bruno_net_rram_stats(&net, 0, &st), BRUNO_OK);
    cr_expect_eq(st.programs, 0);
    arr = bruno_net_rram_array(&net, 0);
    cr_assert_not_null(arr);

    /* the first forward programs every device, a second one none */
    cr_assert_eq(bruno_net_forward(&net, x, T_STEPS, BATCH, 1, &y), BRUNO_OK);
    cr_assert_eq(bruno_net_rram_stats(&net, 0, &st), BRUNO_OK);
    cr_expect_eq(st.last_reprogrammed, st.n_devices);
    cr_expect_eq(st.n_devices, 2 * 16 * N_IN);
    cr_assert_eq(bruno_net_forward(&net, x, T_STEPS, BATCH, 1, &y), BRUNO_OK);
    cr_assert_eq(bruno_net_rram_stats(&net, 0, &st), BRUNO_OK);
    cr_expect_eq(st.last_reprogrammed, 0, "W did not change: no device is written");
    memcpy(before, arr->level, sizeof before);

    /* one step; then exactly the devices of changed levels are written */
    linear_loss(y, T_STEPS * BATCH * 16, dy);
    bruno_net_zero_grad(&net);
    cr_assert_eq(bruno_net_backward(&net, dy), BRUNO_OK);
    cr_assert_eq(bruno_optim_init(&opt, &oc, &net), BRUNO_OK);
    cr_assert_eq(bruno_optim_step(&opt, &net), BRUNO_OK);
    bruno_optim_free(&opt);
    cr_assert_eq(bruno_net_forward(&net, x, T_STEPS, BATCH, 1, &y), BRUNO_OK);
    cr_assert_eq(bruno_net_rram_stats(&net, 0, &st), BRUNO_OK);
    for (i = 0; i < 16 * N_IN; ++i) {
        int a = before[i], b = arr->level[i];
        /* differential pair: G+ holds max(L, 0), G- holds max(-L, 0) */
        expected += (a > 0 ? a : 0) != (b > 0 ? b : 0);
        expected += (a < 0 ? -a : 0) != (b < 0 ? -b : 0);
        changed += a != b;
    }
    cr_expect_gt(changed, 0, "the step should move some levels");
    cr_expect_lt(changed, 16 * N_IN, "and leave some where they were");
    cr_expect_eq(st.last_reprogrammed, expected, "reprogrammed %zu, changed devices %zu", st.last_reprogrammed, expected);
    cr_expect_eq(st.total_reprogrammed, (uint64_t)st.n_devices + expected);
    cr_expect_eq(st.programs, 3);
    bruno_net_free(&net);
}

/* encode (gain 1, bias 0) -> RRAM dense without bias. A batch of unit
   vectors reads the forward's Wq column by column; the encode layer's
   gradients are then Wq^T dy of the backward's Wq. With read noise the two
   agree only if the backward uses the forward's sample. */
Test(rram_layer, backward_uses_the_read_noise_sample_of_its_forward)
{
    enum { NI = 5, NO = 4 };
    bruno_net_config nc = bruno_net_config_default(NI);
    bruno_layer_config e = bruno_layer_config_default(BRUNO_LAYER_ENCODE);
    bruno_layer_config d = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    bruno_net net;
    bruno_real x[NI * NI], dy[NI * NO], wq[NO][NI];
    const bruno_real *y;
    size_t i, o, b;
    double max_noise = 0;
    d.n_out = NO;
    d.matrix.bits = 3;
    d.matrix.synapse = BRUNO_SYNAPSE_RRAM;
    d.matrix.rram.read_noise = 0.05;
    cr_assert_eq(bruno_net_init(&net, &nc), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&net, &e), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&net, &d), BRUNO_OK);
    for (i = 0; i < NI; ++i) {
        net.params[0].data[i] = 1; /* gain */
        net.params[1].data[i] = 0; /* bias */
    }
    memset(x, 0, sizeof x);
    for (b = 0; b < NI; ++b) x[b * NI + b] = 1;
    cr_assert_eq(bruno_net_forward(&net, x, 1, NI, 1, &y), BRUNO_OK);
    for (b = 0; b < NI; ++b)
        for (o = 0; o < NO; ++o) wq[o][b] = y[b * NO + o];
    fill_input(dy, NI * NO, 8);
    bruno_net_zero_grad(&net);
    cr_assert_eq(bruno_net_backward(&net, dy), BRUNO_OK);
    for (i = 0; i < NI; ++i) {
        double ggain = 0, gbias = 0;
        for (o = 0; o < NO; ++o) {
            ggain += (double)dy[i * NO + o] * wq[o][i];          /* row i of the batch sees only x_i */
            for (b = 0; b < NI; ++b) gbias += (double)dy[b * NO + o] * wq[o][i];
        }
        cr_expect_lt(fabs(net.params[0].grad[i] - ggain), 1e-5 * (1 + fabs(ggain)), "gain[%zu]: %g vs Wq^T dy %g", i,
                     (double)net.params[0].grad[i], ggain);
        cr_expect_lt(fabs(net.params[1].grad[i] - gbias), 1e-5 * (1 + fabs(gbias)), "bias[%zu]: %g vs Wq^T dy %g", i,
                     (double)net.params[1].grad[i], gbias);
    }
    /* the next forward reads a new sample: the test above is not vacuous */
    cr_assert_eq(bruno_net_forward(&net, x, 1, NI, 1, &y), BRUNO_OK);
    for (b = 0; b < NI; ++b)
        for (o = 0; o < NO; ++o) max_noise = fmax(max_noise, fabs((double)(y[b * NO + o] - wq[o][b])));
    cr_expect_gt(max_noise, 1e-3, "read noise should change Wq between forwards (%g)", max_noise);
    bruno_net_free(&net);
}

Test(rram_layer, predicted_memory_equals_counted_peak)
{
    bruno_real x[T_STEPS * BATCH * N_IN], dy[T_STEPS * BATCH * N_CLS];
    bruno_counting_allocator ca;
    bruno_allocator a;
    bruno_net net;
    const bruno_real *y;
    size_t predicted, with_ideal;
    fill_input(x, sizeof x / sizeof x[0], 17);
    cr_assert_eq(make_net(&net, BRUNO_SYNAPSE_IDEAL, 0, NULL), BRUNO_OK);
    with_ideal = bruno_net_bytes(&net);
    bruno_net_free(&net);
    bruno_counting_allocator_init(&ca, NULL);
    a = bruno_counting_allocator_get(&ca);
    cr_assert_eq(make_net(&net, BRUNO_SYNAPSE_RRAM, 0, &a), BRUNO_OK);
    predicted = bruno_net_bytes(&net) + bruno_net_train_bytes(&net, T_STEPS, BATCH);
    cr_expect_gt(bruno_net_bytes(&net), with_ideal, "the arrays are counted");
    cr_assert_eq(bruno_net_forward(&net, x, T_STEPS, BATCH, 1, &y), BRUNO_OK);
    linear_loss(y, T_STEPS * BATCH * N_CLS, dy);
    cr_assert_eq(bruno_net_backward(&net, dy), BRUNO_OK);
    cr_expect_eq(ca.peak_bytes, predicted, "counted %zu, predicted %zu", ca.peak_bytes, predicted);
    bruno_net_free(&net);
    cr_expect_eq(ca.live_bytes, 0);
}

Test(rram_layer, allocation_failure_at_every_call_is_reported_and_leaks_nothing)
{
    bruno_real x[T_STEPS * BATCH * N_IN], dy[T_STEPS * BATCH * N_CLS];
    size_t k, total = 0;
    fill_input(x, sizeof x / sizeof x[0], 19);
    for (k = 1;; ++k) {
        bruno_counting_allocator ca;
        bruno_allocator a;
        bruno_net net;
        const bruno_real *y;
        bruno_result r;
        bruno_counting_allocator_init(&ca, NULL);
        ca.fail_at = k;
        a = bruno_counting_allocator_get(&ca);
        r = make_net(&net, BRUNO_SYNAPSE_RRAM, 0, &a);
        if (r != BRUNO_OK) {
            cr_expect_eq(r, BRUNO_ERR_NOMEM, "k = %zu: %s", k, bruno_result_string(r));
            cr_expect_eq(ca.live_bytes, 0, "k = %zu: %zu bytes leaked by init", k, ca.live_bytes);
            continue;
        }
        r = bruno_net_forward(&net, x, T_STEPS, BATCH, 1, &y);
        if (r == BRUNO_OK) {
            linear_loss(y, T_STEPS * BATCH * N_CLS, dy);
            cr_expect_eq(bruno_net_backward(&net, dy), BRUNO_OK);
        } else {
            cr_expect_eq(r, BRUNO_ERR_NOMEM, "k = %zu: %s", k, bruno_result_string(r));
        }
        bruno_net_free(&net);
        cr_expect_eq(ca.live_bytes, 0, "k = %zu: %zu bytes leaked", k, ca.live_bytes);
        if (r == BRUNO_OK && ca.n_allocs < k) {
            total = k;
            break;
        }
    }
    cr_expect_gt(total, 20, "three arrays of six buffers each, and the rest");
}

Test(rram_layer, bad_configurations_are_refused_without_leaks)
{
    bruno_counting_allocator ca;
    bruno_allocator a;
    bruno_net_config nc = bruno_net_config_default(N_IN);
    bruno_layer_config d = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    bruno_layer_config lif = bruno_layer_config_default(BRUNO_LAYER_LIF);
    bruno_net net;
    bruno_rram_layer_stats st;
    bruno_counting_allocator_init(&ca, NULL);
    a = bruno_counting_allocator_get(&ca);
    nc.allocator = a;
    cr_assert_eq(bruno_net_init(&net, &nc), BRUNO_OK);
    d.n_out = 4;
    d.matrix.synapse = BRUNO_SYNAPSE_RRAM;
    d.matrix.bits = 32;
    cr_expect_eq(bruno_net_add(&net, &d), BRUNO_ERR_BITS, "RRAM needs quantised levels");
    d.matrix.bits = 6;
    cr_expect_eq(bruno_net_add(&net, &d), BRUNO_ERR_BITS, "an array holds at most 2^5 states");
    d.matrix.bits = 3;
    d.matrix.synapse = (bruno_synapse)7;
    cr_expect_eq(bruno_net_add(&net, &d), BRUNO_ERR_ARG);
    d.matrix.synapse = BRUNO_SYNAPSE_RRAM;
    d.matrix.rram.var_sigma = 2.0;
    cr_expect_eq(bruno_net_add(&net, &d), BRUNO_ERR_PARAM, "the array's own check is propagated");
    d.matrix.rram.var_sigma = 0.1;
    d.matrix.rram.read_noise = NAN;
    cr_expect_eq(bruno_net_add(&net, &d), BRUNO_ERR_NONFINITE);
    cr_expect_eq(net.n_layers, 0);
    cr_expect_eq(net.n_params, 0, "a refused layer registers no parameter");
    cr_expect_eq(ca.live_bytes, 0);
    d.matrix.rram.read_noise = 0.01;
    cr_assert_eq(bruno_net_add(&net, &d), BRUNO_OK);
    lif.matrix.synapse = BRUNO_SYNAPSE_RRAM; /* no matrix: ignored */
    cr_assert_eq(bruno_net_add(&net, &lif), BRUNO_OK);
    cr_expect_eq(bruno_net_rram_stats(&net, 1, &st), BRUNO_ERR_ARG, "the LIF layer holds no array");
    cr_expect_null(bruno_net_rram_array(&net, 1));
    cr_expect_null(bruno_net_rram_array(&net, 2));
    cr_expect_eq(bruno_net_rram_stats(&net, 0, &st), BRUNO_OK);
    cr_expect_eq(st.n_weights, 4 * N_IN);
    bruno_net_free(&net);
    cr_expect_eq(ca.live_bytes, 0);
}
