/* e1.c - the E1 network (see e1.h). */
#include "e1.h"
#include <math.h>
#include <string.h>

static const char *trainer_names[] = {"bruno", "bptt", "checkpoint", "coarse"};
static const char *schedule_names[] = {"binomial", "uniform", "sequence"};

int e1_trainer(const char *name)
{
    int i;
    for (i = 0; i < 4; ++i)
        if (strcmp(name, trainer_names[i]) == 0) return i;
    return -1;
}

int e1_schedule(const char *name)
{
    int i;
    for (i = 0; i < 3; ++i)
        if (strcmp(name, schedule_names[i]) == 0) return i;
    return -1;
}

const char *e1_trainer_name(bruno_trainer t) { return (unsigned)t < 4 ? trainer_names[t] : "?"; }
const char *e1_schedule_name(bruno_schedule s) { return (unsigned)s < 3 ? schedule_names[s] : "?"; }

void e1_setup_init(e1_setup *s, const char *neuron, size_t inputs, size_t hidden, size_t batch, double seq_ms,
                   double dt, double gain, uint32_t n_fine, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->neuron = neuron;
    s->inputs = inputs;
    s->hidden = hidden;
    s->batch = batch;
    s->dt = dt;
    s->gain = gain;
    s->T = (size_t)(seq_ms * 1e-3 / dt + 0.5);
    if (s->T == 0) s->T = 1;
    s->net = bruno_net_config_default(inputs);
    s->net.dt = dt;
    s->net.n_fine = n_fine;
    s->net.seed = seed;
}

bruno_result e1_build(bruno_net *net, const e1_setup *s)
{
    bruno_layer_config d = bruno_layer_config_default(BRUNO_LAYER_DENSE), h;
    bruno_result r;
    if (bruno_device_find(s->neuron)) {
        h = bruno_layer_config_default(BRUNO_LAYER_FELIF);
        h.dev.device = bruno_device_find(s->neuron);
        h.dev.device_params = s->device_params;
        h.dev.input_gain = s->gain;
    } else if (strcmp(s->neuron, "lif") == 0) {
        h = bruno_layer_config_default(BRUNO_LAYER_LIF);
    } else if (strcmp(s->neuron, "rlif") == 0) {
        h = bruno_layer_config_default(BRUNO_LAYER_RLIF);
    } else {
        return BRUNO_ERR_ARG;
    }
    d.n_out = s->hidden;
    if ((r = bruno_net_init(net, &s->net)) != BRUNO_OK) return r;
    if ((r = bruno_net_add(net, &d)) != BRUNO_OK || (r = bruno_net_add(net, &h)) != BRUNO_OK) {
        bruno_net_free(net);
        return r;
    }
    return BRUNO_OK;
}

void e1_input(bruno_real *x, size_t n, uint64_t seed)
{
    bruno_rng g;
    size_t i;
    bruno_rng_seed(&g, seed ^ 0x5eedULL);
    for (i = 0; i < n; ++i) x[i] = (bruno_real)bruno_rng_uniform(&g);
}

int e1_check_sizes(const char *cmd, uint64_t inputs, uint64_t hidden, uint64_t batch, double seq_ms, double dt)
{
    double T = floor(seq_ms * 1e-3 / dt + 0.5);
    size_t nx, ny;
    if (inputs == 0 || hidden == 0 || batch == 0 || inputs > E1_MAX_WIDTH || hidden > E1_MAX_WIDTH ||
        batch > E1_MAX_BATCH || !(seq_ms > 0) || !(dt > 0) || !(T <= E1_MAX_STEPS) ||
        bench_mul_size(&nx, (size_t)T + 1, (size_t)batch, (size_t)inputs * sizeof(bruno_real)) ||
        bench_mul_size(&ny, (size_t)T + 1, (size_t)batch, (size_t)hidden * sizeof(bruno_real))) {
        fprintf(stderr, "bruno-bench %s: --inputs and --hidden must be 1..%u, --batch 1..%u, --seq-ms and --dt > 0 "
                        "with at most %.0f steps, and steps x batch x inputs (hidden) must fit a memory size\n",
                cmd, (unsigned)E1_MAX_WIDTH, (unsigned)E1_MAX_BATCH, E1_MAX_STEPS);
        return -1;
    }
    return 0;
}
