/* net_util.h - a small LIF + FeLIF network shared by the trainer tests. */
#ifndef BRUNO_TEST_NET_UTIL_H
#define BRUNO_TEST_NET_UTIL_H
#include <stdlib.h>
#include <string.h>
#include "bruno.h"

/* dense(n_in->6) -> LIF -> dense(6->4) -> FeLIF, spikes per surrogate. */
static inline bruno_result make_small_net(bruno_net *net, bruno_trainer tr, bruno_schedule sch, uint32_t K,
                                          uint32_t n_fine, bruno_surrogate sur, int rate_grad, size_t n_in,
                                          const bruno_allocator *alloc)
{
    bruno_net_config nc = bruno_net_config_default(n_in);
    bruno_layer_config d1 = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    bruno_layer_config lif = bruno_layer_config_default(BRUNO_LAYER_LIF);
    bruno_layer_config d2 = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    bruno_layer_config fe = bruno_layer_config_default(BRUNO_LAYER_FELIF);
    bruno_result r;
    nc.trainer = tr;
    nc.schedule = sch;
    nc.checkpoints = K;
    nc.n_fine = n_fine;
    nc.rate_grad = rate_grad;
    nc.seed = 7;
    if (alloc) nc.allocator = *alloc;
    d1.n_out = 6;
    d1.matrix.init_scale = 3.0;
    lif.spiking.surrogate = sur;
    lif.spiking.beta = sur == BRUNO_SURROGATE_SIGMOID ? 4.0 : 10.0;
    lif.lif.alpha = 0.8;
    lif.lif.beta = 0.7;
    d2.n_out = 4;
    d2.matrix.bias = 1;
    d2.matrix.init_scale = 2.0;
    fe.spiking.surrogate = sur;
    fe.spiking.beta = sur == BRUNO_SURROGATE_SIGMOID ? 3.0 : 10.0;
    fe.dev.input_gain = 3e-9;
    if ((r = bruno_net_init(net, &nc)) != BRUNO_OK) return r;
    if ((r = bruno_net_add(net, &d1)) != BRUNO_OK) goto fail;
    if ((r = bruno_net_add(net, &lif)) != BRUNO_OK) goto fail;
    if ((r = bruno_net_add(net, &d2)) != BRUNO_OK) goto fail;
    if ((r = bruno_net_add(net, &fe)) != BRUNO_OK) goto fail;
    /* bias the FeLIF input upwards so some neurons spike and some do not */
    {
        size_t i;
        bruno_param *b = &net->params[3];
        for (i = 0; i < b->n; ++i) b->data[i] = (bruno_real)(0.3 + 0.25 * (double)i);
    }
    return BRUNO_OK;
fail:
    bruno_net_free(net);
    return r;
}

/* Deterministic input in [0, 1). */
static inline void fill_input(bruno_real *x, size_t n, uint64_t seed)
{
    bruno_rng g;
    size_t i;
    bruno_rng_seed(&g, seed);
    for (i = 0; i < n; ++i) x[i] = (bruno_real)bruno_rng_uniform(&g);
}

/* A smooth scalar of the output: L = sum_i w_i y_i with fixed random w. */
static inline double linear_loss(const bruno_real *y, size_t n, bruno_real *dy)
{
    bruno_rng g;
    size_t i;
    double s = 0;
    bruno_rng_seed(&g, 99);
    for (i = 0; i < n; ++i) {
        double w = bruno_rng_uniform(&g) - 0.3;
        s += w * (double)y[i];
        if (dy) dy[i] = (bruno_real)w;
    }
    return s;
}
/* All gradients of a network, concatenated (caller frees). */
static inline bruno_real *collect_grads(bruno_net *net, size_t *n_out)
{
    size_t i, n = 0, off = 0;
    bruno_real *g;
    for (i = 0; i < net->n_params; ++i) n += net->params[i].n;
    g = (bruno_real *)malloc(n * sizeof *g);
    if (!g) return NULL; /* callers assert */
    for (i = 0; i < net->n_params; ++i) {
        memcpy(g + off, net->params[i].grad, net->params[i].n * sizeof *g);
        off += net->params[i].n;
    }
    *n_out = n;
    return g;
}

#endif
