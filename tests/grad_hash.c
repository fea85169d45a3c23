/* grad_hash.c - FNV-1a hashes of the exact trainers' gradients (issue 14,
   §1): every exact trainer (BPTT, each checkpoint schedule), FeLIF and
   Heracles, a few shapes (one flat uniform population; a varied one, row
   by row, with rows that are not whole vectors; the rate gradient on),
   with neurons that spike and freeze inside windows. One line per case:
   "case spikes hash". tests/grad_hash.sh builds this in float (AVX-512
   kernel where the host has it), float with the portable rows and double,
   and compares the lines with reference/grad_hashes.txt, recorded before
   the engine's window kernels replaced the per-step store and adjoint: a
   change of any gradient bit in any case fails. Every allocation comes
   from an allocator that fills it with NaN bytes: the library zero-fills
   what it must (bruno_alloc), and a buffer it leaves unfilled (BPTT's fine
   states) must be written before it is read, or the hashes change. */
#define _POSIX_C_SOURCE 200809L
#define BRUNO_IMPLEMENTATION
#include "bruno.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < n; ++i) {
        h ^= c[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* 64-byte aligned (as the default allocator), filled with 0xff: NaN */
static void *poison_alloc(size_t size, void *user)
{
    void *p = NULL;
    (void)user;
    if (posix_memalign(&p, 64, size) != 0) return NULL;
    memset(p, 0xff, size);
    return p;
}

static void poison_free(void *p, size_t size, void *user)
{
    (void)size;
    (void)user;
    free(p);
}

typedef struct shape {
    const char *name;
    size_t n_in, H, B, T;
    uint32_t N;
    double sigma;
    int rate_grad;
} shape;

/* dense(n_in -> H, bias) -> device layer; 0 or -1 */
static int run_case(const char *dev_name, const shape *s, bruno_trainer tr, bruno_schedule sch, uint32_t K,
                    uint64_t *hash, double *spikes)
{
    bruno_net net;
    bruno_net_config nc = bruno_net_config_default(s->n_in);
    bruno_layer_config d = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    bruno_layer_config fe = bruno_layer_config_default(BRUNO_LAYER_FELIF);
    const bruno_device *dev = bruno_device_find(dev_name);
    bruno_real *x, *dy;
    const bruno_real *y;
    size_t nx = s->T * s->B * s->n_in, ny = s->T * s->B * s->H, i;
    bruno_rng g;
    uint64_t h = 14695981039346656037ull;
    int rc = -1;
    nc.trainer = tr;
    nc.schedule = sch;
    nc.checkpoints = K;
    nc.n_fine = s->N;
    nc.rate_grad = s->rate_grad;
    nc.threads = 1;
    nc.seed = 11;
    nc.allocator.alloc = poison_alloc;
    nc.allocator.free = poison_free;
    d.n_out = s->H;
    d.matrix.bias = 1;
    d.matrix.init_scale = 2.0;
    fe.dev.device = dev;
    fe.n_out = 0;
    fe.dev.sigma = s->sigma;
    fe.dev.input_gain = 2e-9;
    fe.spiking.surrogate = BRUNO_SURROGATE_SUPERSPIKE;
    if (!dev || bruno_net_init(&net, &nc) != BRUNO_OK) return -1;
    x = (bruno_real *)malloc(nx * sizeof *x);
    dy = (bruno_real *)malloc(ny * sizeof *dy);
    if (!x || !dy || bruno_net_add(&net, &d) != BRUNO_OK || bruno_net_add(&net, &fe) != BRUNO_OK) goto out;
    /* the dense bias from 0 to 2: some neurons never spike, some spike and
       freeze early in their windows */
    for (i = 0; i < net.params[1].n; ++i) net.params[1].data[i] = (bruno_real)(2.0 * (double)i / (double)s->H);
    bruno_rng_seed(&g, 5);
    for (i = 0; i < nx; ++i) x[i] = (bruno_real)bruno_rng_uniform(&g);
    for (i = 0; i < ny; ++i) dy[i] = (bruno_real)(bruno_rng_uniform(&g) - 0.3);
    if (bruno_net_forward(&net, x, s->T, s->B, 1, &y) != BRUNO_OK) goto out;
    *spikes = 0;
    for (i = 0; i < ny; ++i) *spikes += y[i];
    h = fnv(h, y, ny * sizeof *y);
    bruno_net_zero_grad(&net);
    if (bruno_net_backward(&net, dy) != BRUNO_OK) goto out;
    for (i = 0; i < net.n_params; ++i) h = fnv(h, net.params[i].grad, net.params[i].n * sizeof(bruno_real));
    *hash = h;
    rc = 0;
out:
    free(x);
    free(dy);
    bruno_net_free(&net);
    return rc;
}

int main(void)
{
    static const shape shapes[] = {
        {"e1h128", 64, 128, 1, 6, 1000, 0.0, 0},    /* a flat uniform item of whole 64-lane blocks */
        {"h27b3", 16, 27, 3, 5, 37, 0.1, 0},        /* varied: row by row, 27-lane rows (tails) */
        {"h40b2rg", 16, 40, 2, 4, 200, 0.0, 1},     /* rate gradient on, a 16-lane tail */
        {"h70b1var", 16, 70, 1, 4, 150, 0.05, 1}};  /* varied with the rate gradient */
    static const struct {
        const char *name;
        bruno_trainer tr;
        bruno_schedule sch;
        uint32_t K;
    } trainers[] = {{"bptt", BRUNO_TRAINER_BPTT, BRUNO_SCHEDULE_BINOMIAL, 31},
                    {"binomial31", BRUNO_TRAINER_CHECKPOINT, BRUNO_SCHEDULE_BINOMIAL, 31},
                    {"binomial4", BRUNO_TRAINER_CHECKPOINT, BRUNO_SCHEDULE_BINOMIAL, 4},
                    {"uniform31", BRUNO_TRAINER_CHECKPOINT, BRUNO_SCHEDULE_UNIFORM, 31},
                    {"uniform6", BRUNO_TRAINER_CHECKPOINT, BRUNO_SCHEDULE_UNIFORM, 6},
                    {"sequence3", BRUNO_TRAINER_CHECKPOINT, BRUNO_SCHEDULE_SEQUENCE, 3},
                    {"bruno", BRUNO_TRAINER_BRUNO, BRUNO_SCHEDULE_BINOMIAL, 31}};
    static const char *devs[] = {"felif", "heracles"};
    size_t a, b, c;
    for (a = 0; a < sizeof devs / sizeof devs[0]; ++a)
        for (b = 0; b < sizeof shapes / sizeof shapes[0]; ++b)
            for (c = 0; c < sizeof trainers / sizeof trainers[0]; ++c) {
                uint64_t h = 0;
                double sp = 0;
                if (run_case(devs[a], &shapes[b], trainers[c].tr, trainers[c].sch, trainers[c].K, &h, &sp) != 0) {
                    fprintf(stderr, "grad_hash: %s %s %s failed\n", devs[a], shapes[b].name, trainers[c].name);
                    return 1;
                }
                printf("%s/%s/%s %.0f %016llx\n", devs[a], shapes[b].name, trainers[c].name, sp,
                       (unsigned long long)h);
            }
    return 0;
}
