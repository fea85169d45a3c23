/* test_layers.c - the table of layer kinds (bruno.h "the table of layer
   kinds"): every kind is reached through its row, trains, and its memory
   is predicted to the byte; what the rows decide (the value range of the
   kind, constrain, the gradient-in-place rule) is pinned here. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include "bruno.h"

#define KINDS 6 /* ENCODE .. SNU */
#define T 5
#define B 2
#define NI 3

/* A net around one layer of `kind`: dense(3 -> 4) first (an encoding
   layer comes first itself), and a dense(-> 2) readout. */
static bruno_result net_with(bruno_net *net, bruno_layer_kind kind, const bruno_allocator *a)
{
    bruno_net_config nc = bruno_net_config_default(NI);
    bruno_layer_config d = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    bruno_layer_config k = bruno_layer_config_default(kind);
    bruno_layer_config o = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    bruno_result r;
    nc.n_fine = 10;
    nc.trainer = BRUNO_TRAINER_BPTT;
    nc.seed = 11;
    if (a) nc.allocator = *a;
    d.n_out = 4;
    d.matrix.init_scale = 3;
    d.matrix.init_nonneg = 1; /* positive currents: a device neuron driven below its clip passes no gradient */
    k.n_out = kind == BRUNO_LAYER_DENSE ? 5 : 0;
    k.matrix.bias = 1;
    k.matrix.bits = kind == BRUNO_LAYER_ENCODE || kind == BRUNO_LAYER_LIF || kind == BRUNO_LAYER_FELIF ? 32 : 4;
    k.dev.input_gain = 3e-9;
    o.n_out = 2;
    if ((r = bruno_net_init(net, &nc)) != BRUNO_OK) return r;
    if (kind != BRUNO_LAYER_ENCODE && (r = bruno_net_add(net, &d)) != BRUNO_OK) return r;
    if ((r = bruno_net_add(net, &k)) != BRUNO_OK) return r;
    return bruno_net_add(net, &o);
}

static void input(bruno_real *x, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) x[i] = (bruno_real)(0.3 + 0.7 * (double)((i * 7) % 5) / 4.0);
}

Test(layers, every_kind_trains_with_the_counted_peak_equal_to_the_predicted_one)
{
    bruno_real x[T * B * NI], dy[T * B * 2];
    int kind;
    input(x, sizeof x / sizeof x[0]);
    for (kind = 0; kind < KINDS; ++kind) {
        bruno_counting_allocator ca;
        bruno_allocator a;
        bruno_net net;
        const bruno_real *y;
        size_t i, predicted;
        double g = 0;
        bruno_counting_allocator_init(&ca, NULL);
        a = bruno_counting_allocator_get(&ca);
        cr_assert_eq(net_with(&net, (bruno_layer_kind)kind, &a), BRUNO_OK, "kind %d", kind);
        predicted = bruno_net_bytes(&net) + bruno_net_train_bytes(&net, T, B);
        cr_assert_eq(bruno_net_forward(&net, x, T, B, 1, &y), BRUNO_OK, "kind %d", kind);
        for (i = 0; i < T * B * 2; ++i) dy[i] = (bruno_real)(i % 3 == 0 ? 1 : -0.5);
        bruno_net_zero_grad(&net);
        cr_assert_eq(bruno_net_backward(&net, dy), BRUNO_OK, "kind %d", kind);
        cr_expect_eq(ca.peak_bytes, predicted, "kind %d: counted %zu, predicted %zu", kind, ca.peak_bytes, predicted);
        /* the gradient reached the first layer through the layer of this kind */
        for (i = 0; i < net.params[0].n; ++i) g += fabs((double)net.params[0].grad[i]);
        cr_expect_gt(g, 0, "kind %d: no gradient reached the first layer", kind);
        bruno_net_free(&net);
        cr_expect_eq(ca.live_bytes, 0, "kind %d", kind);
    }
}

Test(layers, a_kind_outside_the_enum_is_refused_and_adds_nothing)
{
    bruno_net net;
    bruno_net_config nc = bruno_net_config_default(NI);
    bruno_layer_config c = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    cr_assert_eq(bruno_net_init(&net, &nc), BRUNO_OK);
    c.n_out = 2;
    c.kind = (bruno_layer_kind)KINDS;
    cr_expect_eq(bruno_net_add(&net, &c), BRUNO_ERR_ARG);
    c.kind = (bruno_layer_kind)-1;
    cr_expect_eq(bruno_net_add(&net, &c), BRUNO_ERR_ARG);
    cr_expect_eq(net.n_layers, 0);
    cr_expect_eq(net.n_params, 0);
    bruno_net_free(&net);
}

/* constrain is a row's: LIF and RLIF clamp alpha, beta to [0.5, 1]; a
   dense matrix far outside that range is left alone. */
Test(layers, constrain_clamps_the_lif_decays_and_nothing_else)
{
    int kind;
    for (kind = BRUNO_LAYER_LIF; kind <= BRUNO_LAYER_RLIF; ++kind) {
        bruno_net net;
        size_t i;
        bruno_param *dec = NULL, *W = NULL;
        cr_assert_eq(net_with(&net, (bruno_layer_kind)kind, NULL), BRUNO_OK);
        for (i = 0; i < net.n_params; ++i) {
            if (strcmp(net.params[i].name, "l1.decay") == 0) dec = &net.params[i];
            if (strcmp(net.params[i].name, "l0.W") == 0) W = &net.params[i];
        }
        cr_assert(dec && W);
        dec->data[0] = (bruno_real)0.2;
        dec->data[1] = (bruno_real)1.5;
        W->data[0] = (bruno_real)7;
        bruno_net_constrain(&net);
        cr_expect_eq(dec->data[0], (bruno_real)0.5);
        cr_expect_eq(dec->data[1], (bruno_real)1);
        cr_expect_eq(W->data[0], (bruno_real)7);
        bruno_net_free(&net);
    }
}

/* The gradient-in-place rule: a device or LIF layer writes dL/dx over the
   output of the layer below it when that layer's backward never reads its
   own output (dense, plain LIF), not over a recurrent LIF layer's (which
   reads s_{t-1}). dense -> LIF -> device: both in place, no gradient
   buffer, only the LIF layer's own workspace beyond dense -> device.
   dense -> RLIF -> device: the device layer writes into one gradient
   buffer [T][B][n], the RLIF layer in place over the dense output. */
Test(layers, device_and_lif_layers_write_their_input_gradient_in_place_where_the_layer_below_allows)
{
    bruno_net_config nc = bruno_net_config_default(NI);
    bruno_layer_config d = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    bruno_layer_config f = bruno_layer_config_default(BRUNO_LAYER_FELIF);
    bruno_layer_config l = bruno_layer_config_default(BRUNO_LAYER_LIF);
    bruno_layer_config r = bruno_layer_config_default(BRUNO_LAYER_RLIF);
    bruno_net a, b, c;
    size_t n = 4, lif_ws = (2 * T * B * n + 4 * B * n + T * B * n) * sizeof(bruno_real);
    nc.trainer = BRUNO_TRAINER_BRUNO;
    d.n_out = n;
    cr_assert_eq(bruno_net_init(&a, &nc), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&a, &d), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&a, &f), BRUNO_OK);
    cr_assert_eq(bruno_net_init(&b, &nc), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&b, &d), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&b, &l), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&b, &f), BRUNO_OK);
    cr_assert_eq(bruno_net_init(&c, &nc), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&c, &d), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&c, &r), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&c, &f), BRUNO_OK);
    /* net b: the LIF layer's workspace (syn, mem, out, work) and no gradient buffer */
    cr_expect_eq(bruno_net_train_bytes(&b, T, B) - bruno_net_train_bytes(&a, T, B), lif_ws);
    /* net c: the same workspace (its W_rec is a parameter) with each step's
       input and recurrent current kept for training [T][B][n], and one
       gradient buffer */
    cr_expect_eq(bruno_net_train_bytes(&c, T, B) - bruno_net_train_bytes(&b, T, B),
                 2 * T * B * n * sizeof(bruno_real));
    bruno_net_free(&a);
    bruno_net_free(&b);
    bruno_net_free(&c);
}
