/* cmd_gradcheck.c - `bruno-bench gradcheck`: the gradient of BRUNO (and of
   checkpointing, and coarse-only) against exact BPTT on the E1 set-up,
   per parameter tensor: cosine similarity and relative error
   ||g - g_bptt|| / ||g_bptt|| (EXPERIMENTS.md E5). --n-fine and --dt take
   comma-separated lists, so one run gives the curve vs N or vs dt. */
#include "e1.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Parse "a,b,c" into at most max positive finite doubles (the strict
   number syntax of every option); returns the count or -1. */
static int parse_list(const char *s, double *v, int max)
{
    char item[64];
    int n = 0, k;
    double d;
    while ((k = bench_list_next(&s, item, sizeof item)) > 0) {
        if (n == max || bench_parse_double(item, &d) != 0 || !(d > 0)) return -1;
        v[n++] = d;
    }
    return k < 0 ? -1 : n;
}

/* Gradient of the E1 set-up (loss sum s^2) for one trainer; NULL on error.
   A gradient that is not finite (BRUNO_ERR_DIVERGED) is still returned,
   with *diverged = 1: its row says nan, and stderr says why. */
static bruno_real *e1_grad(e1_setup *s, bruno_trainer tr, const bruno_real *x, size_t *n, double *loss, int *diverged)
{
    bruno_net net;
    const bruno_real *y;
    bruno_real *dy, *g = NULL;
    size_t ny = s->T * s->batch * s->hidden, i, off = 0, tot = 0;
    bruno_result r;
    s->net.trainer = tr;
    if (e1_build(&net, s) != BRUNO_OK) return NULL;
    dy = (bruno_real *)malloc(ny * sizeof *dy);
    *diverged = 0;
    if (dy && (r = bruno_net_forward(&net, x, s->T, s->batch, 1, &y)) == BRUNO_OK &&
        bruno_loss_sum_sq(y, ny, dy, loss) == BRUNO_OK &&
        ((void)bruno_net_zero_grad(&net), (r = bruno_net_backward(&net, dy)) == BRUNO_OK || r == BRUNO_ERR_DIVERGED)) {
        *diverged = r == BRUNO_ERR_DIVERGED;
        for (i = 0; i < net.n_params; ++i) tot += net.params[i].n;
        g = (bruno_real *)malloc(tot * sizeof *g);
        if (g)
            for (i = 0; i < net.n_params; ++i) {
                memcpy(g + off, net.params[i].grad, net.params[i].n * sizeof *g);
                off += net.params[i].n;
            }
        *n = tot;
    }
    free(dy);
    bruno_net_free(&net);
    return g;
}

int bench_cmd_gradcheck(int argc, char **argv)
{
    const char *nfine_list = "1000", *dt_list = "1e-3", *out_path = NULL, *neuron = "felif";
    uint64_t hidden = 32, inputs = 512, batch = 1, seed = 1, checkpoints = 31;
    double seq_ms = 50, gain = 1e-9;
    int rate_grad = 0, help = 0, rc, nn, nd, i, j, m;
    double Ns[64], dts[64];
    bench_opt opts[] = {
        {"neuron", BENCH_OPT_STRING, &neuron, "felif (default) or another device neuron", 0},
        {"hidden", BENCH_OPT_U64, &hidden, "device neurons (default 32)", 0},
        {"inputs", BENCH_OPT_U64, &inputs, "input features (default 512)", 0},
        {"seq-ms", BENCH_OPT_DOUBLE, &seq_ms, "sequence length in ms (default 50)", 0},
        {"n-fine", BENCH_OPT_STRING, &nfine_list, "fine steps per network step, comma list (default 1000)", 0},
        {"dt", BENCH_OPT_STRING, &dt_list, "network step in s, comma list (default 1e-3)", 0},
        {"batch", BENCH_OPT_U64, &batch, "batch size (default 1)", 0},
        {"gain", BENCH_OPT_DOUBLE, &gain, "FeLIF input gain in A (default 1e-9)", 0},
        {"checkpoints", BENCH_OPT_U64, &checkpoints, "checkpoints of the binomial schedule (default 31)", 0},
        {"rate-grad", BENCH_OPT_FLAG, &rate_grad, "the plain derivative in every trainer (FeLIF: r'(E) used; default: the authors' rule)", 0},
        {"seed", BENCH_OPT_U64, &seed, "seed (default 1)", 0},
        {"out", BENCH_OPT_STRING, &out_path, "CSV file (default stdout), written atomically", 0},
    };
    bench_out out;
    rc = bench_opts_parse("gradcheck", "Cosine similarity and relative error of BRUNO/checkpointing gradients vs BPTT.",
                          opts, (int)(sizeof opts / sizeof opts[0]), argc, argv, &help);
    if (rc || help) return rc;
    nn = parse_list(nfine_list, Ns, 64);
    nd = parse_list(dt_list, dts, 64);
    if (!bruno_device_find(neuron)) {
        fprintf(stderr, "bruno-bench gradcheck: --neuron must be a device neuron (felif, heracles, ...), got '%s'\n",
                neuron);
        return BENCH_EXIT_USAGE;
    }
    if (nn <= 0 || nd <= 0 || checkpoints == 0 || checkpoints > UINT32_MAX) {
        fprintf(stderr, "bruno-bench gradcheck: --n-fine and --dt need positive comma lists; --checkpoints 1..2^32-1\n");
        return BENCH_EXIT_USAGE;
    }
    for (j = 0; j < nd; ++j)
        if (e1_check_sizes("gradcheck", inputs, hidden, batch, seq_ms, dts[j]) != 0) return BENCH_EXIT_USAGE;
    for (i = 0; i < nn; ++i)
        if (Ns[i] != floor(Ns[i]) || Ns[i] > 1e6) {
            fprintf(stderr, "bruno-bench gradcheck: --n-fine values must be whole numbers up to 1e6\n");
            return BENCH_EXIT_USAGE;
        }
    if (bench_out_open(&out, out_path) != 0) return BENCH_EXIT_FAIL;
    fprintf(out.f, "trainer,n_fine,dt,hidden,seq_ms,rate_grad,cosine,rel_err,norm_bptt,norm,loss_bptt,loss\n");
    for (j = 0; j < nd; ++j)
        for (i = 0; i < nn; ++i) {
            e1_setup s;
            bruno_real *x, *ref;
            size_t nref = 0, k;
            double loss_ref = 0;
            const bruno_trainer others[3] = {BRUNO_TRAINER_BRUNO, BRUNO_TRAINER_CHECKPOINT, BRUNO_TRAINER_COARSE};
            e1_setup_init(&s, neuron, inputs, hidden, batch, seq_ms, dts[j], gain, (uint32_t)Ns[i], seed);
            s.net.rate_grad = rate_grad;
            s.net.checkpoints = (uint32_t)checkpoints;
            x = (bruno_real *)malloc(s.T * batch * inputs * sizeof *x);
            if (!x) goto oom;
            e1_input(x, s.T * batch * inputs, seed);
            int div_ref = 0, div = 0;
            ref = e1_grad(&s, BRUNO_TRAINER_BPTT, x, &nref, &loss_ref, &div_ref);
            if (!ref) {
                free(x);
                goto oom;
            }
            for (m = 0; m < 3; ++m) {
                size_t n = 0;
                double loss = 0, dot = 0, a2 = 0, b2 = 0, d2 = 0;
                bruno_real *g = e1_grad(&s, others[m], x, &n, &loss, &div);
                if (!g || n != nref) {
                    free(g);
                    free(ref);
                    free(x);
                    goto oom;
                }
                if (div || div_ref)
                    fprintf(stderr, "bruno-bench gradcheck: N = %u, dt = %g s%s: the %s gradient is not finite "
                                    "(BRUNO_ERR_DIVERGED); its row says nan\n",
                            (unsigned)Ns[i], dts[j], rate_grad ? ", --rate-grad" : "",
                            div ? e1_trainer_name(others[m]) : "exact BPTT");
                for (k = 0; k < n; ++k) {
                    double a = g[k], b = ref[k];
                    dot += a * b;
                    a2 += a * a;
                    b2 += b * b;
                    d2 += (a - b) * (a - b);
                }
                fprintf(out.f, "%s,%u,%g,%llu,%g,%d,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n", e1_trainer_name(others[m]),
                        (unsigned)Ns[i], dts[j], (unsigned long long)hidden, seq_ms, rate_grad,
                        div || div_ref ? (double)NAN : a2 > 0 && b2 > 0 ? dot / sqrt(a2 * b2) : 0.0, b2 > 0 ? sqrt(d2 / b2) : 0.0, sqrt(b2), sqrt(a2),
                        loss_ref, loss);
                free(g);
            }
            free(ref);
            free(x);
        }
    return bench_out_commit(&out) == 0 ? BENCH_EXIT_OK : BENCH_EXIT_FAIL;
oom:
    fprintf(stderr, "bruno-bench gradcheck: out of memory or a training step failed\n");
    bench_out_abort(&out);
    return BENCH_EXIT_FAIL;
}
