/* cmd_e1dump.c - `bruno-bench e1dump`: write one E1 training step
   (EXPERIMENTS.md E1: inputs -> dense (no bias) -> FeLIF, loss sum s^2) to
   a directory, so that an independent implementation (bench/peers/
   e1_torch.py) can run the same weights on the same input and compare its
   spikes and gradients with ours:

     W.f32            dense weights      [hidden][inputs]
     x.f32            input              [T][batch][inputs]
     spikes.f32       FeLIF output s     [T][batch][hidden]  (forward pass)
     grad_bruno.f32   dL/dW with BRUNO   [hidden][inputs]
     grad_bptt.f32    dL/dW, exact BPTT  [hidden][inputs]
     meta.json        shapes, time grid, FeLIF parameters, losses

   Raw little-endian float32, row-major, no header. The forward of the BPTT
   run must give the very spikes of the BRUNO run (MODELS §3: all trainers
   share the forward); if not, the command fails. */
#define _POSIX_C_SOURCE 200809L /* mkdir */
#include "e1.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Write n reals as little-endian float32 into dir/name; 0 ok. */
static int write_f32(const char *dir, const char *name, const bruno_real *v, size_t n)
{
    char path[4096];
    FILE *f;
    size_t i;
    int ok = 1;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!(f = fopen(path, "wb"))) {
        fprintf(stderr, "bruno-bench e1dump: cannot write '%s': %s\n", path, strerror(errno));
        return -1;
    }
    for (i = 0; i < n && ok; ++i) {
        float x = (float)v[i];
        unsigned char b[4];
        uint32_t u;
        memcpy(&u, &x, 4);
        b[0] = (unsigned char)u; b[1] = (unsigned char)(u >> 8);
        b[2] = (unsigned char)(u >> 16); b[3] = (unsigned char)(u >> 24);
        ok = fwrite(b, 1, 4, f) == 4;
    }
    if (fclose(f) != 0) ok = 0;
    if (!ok) fprintf(stderr, "bruno-bench e1dump: write error on '%s'\n", path);
    return ok ? 0 : -1;
}

/* One forward + backward with trainer tr; copies the spikes into y_out
   (may be NULL) and dL/dW into g. */
static bruno_result run(e1_setup *s, bruno_trainer tr, const bruno_real *x, bruno_real *y_out, bruno_real *g,
                        double *loss, double *seconds)
{
    bruno_net net;
    const bruno_real *y;
    bruno_real *dy;
    size_t ny = s->T * s->batch * s->hidden;
    double t0;
    bruno_result r;
    s->net.trainer = tr;
    if ((r = e1_build(&net, s)) != BRUNO_OK) return r;
    if (!(dy = (bruno_real *)malloc(ny * sizeof *dy))) {
        bruno_net_free(&net);
        return BRUNO_ERR_NOMEM;
    }
    t0 = bench_now();
    if ((r = bruno_net_forward(&net, x, s->T, s->batch, 1, &y)) == BRUNO_OK &&
        (r = bruno_loss_sum_sq(y, ny, dy, loss)) == BRUNO_OK) {
        bruno_net_zero_grad(&net);
        r = bruno_net_backward(&net, dy);
    }
    *seconds = bench_now() - t0;
    if (r == BRUNO_OK) {
        if (y_out) memcpy(y_out, y, ny * sizeof *y);
        /* the dense layer's W is the network's only parameter */
        memcpy(g, net.params[0].grad, net.params[0].n * sizeof *g);
    }
    free(dy);
    bruno_net_free(&net);
    return r;
}

int bench_cmd_e1dump(int argc, char **argv)
{
    const char *dir = NULL;
    uint64_t hidden = 32, inputs = 512, batch = 1, n_fine = 1000, seed = 1;
    double seq_ms = 50, dt = 1e-3, gain = 1e-9;
    int help = 0, rc = BENCH_EXIT_FAIL;
    bench_opt opts[] = {
        {"dir", BENCH_OPT_STRING, &dir, "output directory (created if missing; required)", 0},
        {"hidden", BENCH_OPT_U64, &hidden, "FeLIF neurons (default 32)", 0},
        {"inputs", BENCH_OPT_U64, &inputs, "input features (default 512)", 0},
        {"seq-ms", BENCH_OPT_DOUBLE, &seq_ms, "sequence length in ms of network time (default 50)", 0},
        {"dt", BENCH_OPT_DOUBLE, &dt, "network step in s (default 1e-3)", 0},
        {"n-fine", BENCH_OPT_U64, &n_fine, "fine FeLIF steps per network step (default 1000)", 0},
        {"batch", BENCH_OPT_U64, &batch, "batch size (default 1)", 0},
        {"gain", BENCH_OPT_DOUBLE, &gain, "FeLIF input gain in A (default 1e-9)", 0},
        {"seed", BENCH_OPT_U64, &seed, "seed of weights and input, as memtime's (default 1)", 0},
    };
    e1_setup s;
    bruno_layer_config fc = bruno_layer_config_default(BRUNO_LAYER_FELIF);
    const bruno_felif_params *fp = &fc.dev.felif;
    bruno_net probe;
    bruno_real *x = NULL, *y = NULL, *y2 = NULL, *gb = NULL, *gp = NULL;
    size_t nx, ny, nw, i, diff = 0;
    double loss_bruno = 0, loss_bptt = 0, t_bruno = 0, t_bptt = 0;
    bruno_result r;
    char path[4096];
    FILE *f;

    rc = bench_opts_parse("e1dump", "Dump weights, input, spikes and BRUNO/BPTT weight gradients of one E1 step.", opts,
                          (int)(sizeof opts / sizeof opts[0]), argc, argv, &help);
    if (rc || help) return rc;
    rc = BENCH_EXIT_FAIL;
    if (!dir || n_fine == 0 || n_fine > UINT32_MAX) {
        fprintf(stderr, "bruno-bench e1dump: --dir is required; --n-fine must be 1..2^32-1\n");
        return BENCH_EXIT_USAGE;
    }
    if (e1_check_sizes("e1dump", inputs, hidden, batch, seq_ms, dt) != 0) return BENCH_EXIT_USAGE;
    if (strlen(dir) + 16 >= sizeof path) {
        fprintf(stderr, "bruno-bench e1dump: --dir is longer than %zu characters\n", sizeof path - 16);
        return BENCH_EXIT_USAGE;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "bruno-bench e1dump: cannot create '%s': %s\n", dir, strerror(errno));
        return BENCH_EXIT_FAIL;
    }
    e1_setup_init(&s, "felif", inputs, hidden, batch, seq_ms, dt, gain, (uint32_t)n_fine, seed);
    nx = s.T * batch * inputs;
    ny = s.T * batch * hidden;
    nw = hidden * inputs;
    x = (bruno_real *)malloc(nx * sizeof *x);
    y = (bruno_real *)malloc(ny * sizeof *y);
    y2 = (bruno_real *)malloc(ny * sizeof *y2);
    gb = (bruno_real *)malloc(nw * sizeof *gb);
    gp = (bruno_real *)malloc(nw * sizeof *gp);
    if (!x || !y || !y2 || !gb || !gp) {
        fprintf(stderr, "bruno-bench e1dump: out of memory\n");
        goto done;
    }
    e1_input(x, nx, seed);
    /* the weights: the same seed builds the same network for every trainer */
    if ((r = e1_build(&probe, &s)) != BRUNO_OK) {
        fprintf(stderr, "bruno-bench e1dump: %s\n", bruno_result_string(r));
        goto done;
    }
    if (probe.n_params != 1 || probe.params[0].n != nw) {
        fprintf(stderr, "bruno-bench e1dump: unexpected parameter layout of the E1 network\n");
        bruno_net_free(&probe);
        goto done;
    }
    r = write_f32(dir, "W.f32", probe.params[0].data, nw) == 0 ? BRUNO_OK : BRUNO_ERR_ARG;
    bruno_net_free(&probe);
    if (r != BRUNO_OK || write_f32(dir, "x.f32", x, nx) != 0) goto done;
    if ((r = run(&s, BRUNO_TRAINER_BRUNO, x, y, gb, &loss_bruno, &t_bruno)) != BRUNO_OK ||
        (r = run(&s, BRUNO_TRAINER_BPTT, x, y2, gp, &loss_bptt, &t_bptt)) != BRUNO_OK) {
        fprintf(stderr, "bruno-bench e1dump: %s\n", bruno_result_string(r));
        goto done;
    }
    for (i = 0; i < ny; ++i) diff += y[i] != y2[i];
    if (diff) {
        fprintf(stderr, "bruno-bench e1dump: BRUNO and BPTT forward passes differ in %zu of %zu spikes\n", diff, ny);
        goto done;
    }
    if (write_f32(dir, "spikes.f32", y, ny) != 0 || write_f32(dir, "grad_bruno.f32", gb, nw) != 0 ||
        write_f32(dir, "grad_bptt.f32", gp, nw) != 0)
        goto done;
    snprintf(path, sizeof path, "%s/meta.json", dir);
    if (!(f = fopen(path, "w"))) {
        fprintf(stderr, "bruno-bench e1dump: cannot write '%s': %s\n", path, strerror(errno));
        goto done;
    }
    fprintf(f, "{\n  \"bruno_version\": \"%s\",\n  \"bruno_real\": \"%s\",\n  \"dtype\": \"float32-le\",\n",
            BRUNO_VERSION_STRING, sizeof(bruno_real) == 4 ? "float32" : "float64");
    fprintf(f, "  \"hidden\": %llu,\n  \"inputs\": %llu,\n  \"batch\": %llu,\n  \"T\": %zu,\n  \"seq_ms\": %.17g,\n",
            (unsigned long long)hidden, (unsigned long long)inputs, (unsigned long long)batch, s.T, (double)s.T * dt * 1e3);
    fprintf(f, "  \"dt\": %.17g,\n  \"n_fine\": %llu,\n  \"gain\": %.17g,\n  \"seed\": %llu,\n", dt,
            (unsigned long long)n_fine, gain, (unsigned long long)seed);
    fprintf(f, "  \"surrogate\": \"superspike\",\n  \"surrogate_beta\": %.17g,\n  \"rate_grad\": %d,\n", fc.spiking.beta,
            s.net.rate_grad);
    fprintf(f, "  \"felif\": {\"A\": %.17g, \"t_fe\": %.17g, \"t_i\": %.17g, \"eps_fe\": %.17g, \"eps_i\": %.17g, "
               "\"E_a\": %.17g, \"P_s\": %.17g, \"tau_0\": %.17g, \"I_0\": %.17g, \"V_t\": %.17g, \"C_par\": %.17g, "
               "\"alpha\": %.17g, \"E_soft\": %.17g, \"I_dsc\": %.17g, \"V_thr\": %.17g, \"v_reset\": %.17g, "
               "\"p_reset\": %.17g, \"v_init\": %.17g, \"p_init\": %.17g, \"v_clip\": %.17g, \"eps0\": %.17g},\n",
            fp->A, fp->t_fe, fp->t_i, fp->eps_fe, fp->eps_i, fp->E_a, fp->P_s, fp->tau_0, fp->I_0, fp->V_t, fp->C_par,
            fp->alpha, fp->E_soft, fp->I_dsc, fp->V_thr, fp->v_reset, fp->p_reset, fp->v_init, fp->p_init, fp->v_clip,
            BRUNO_EPS0);
    fprintf(f, "  \"loss_bruno\": %.17g,\n  \"loss_bptt\": %.17g,\n  \"seconds_bruno\": %.6f,\n  \"seconds_bptt\": %.6f,\n",
            loss_bruno, loss_bptt, t_bruno, t_bptt);
    fprintf(f, "  \"files\": {\"W.f32\": [%llu, %llu], \"x.f32\": [%zu, %llu, %llu], \"spikes.f32\": [%zu, %llu, %llu], "
               "\"grad_bruno.f32\": [%llu, %llu], \"grad_bptt.f32\": [%llu, %llu]}\n}\n",
            (unsigned long long)hidden, (unsigned long long)inputs, s.T, (unsigned long long)batch,
            (unsigned long long)inputs, s.T, (unsigned long long)batch, (unsigned long long)hidden,
            (unsigned long long)hidden, (unsigned long long)inputs, (unsigned long long)hidden, (unsigned long long)inputs);
    if (fclose(f) != 0) {
        fprintf(stderr, "bruno-bench e1dump: write error on '%s'\n", path);
        goto done;
    }
    printf("e1dump: %s: T=%zu batch=%llu hidden=%llu, %zu spikes, loss %.9g\n", dir, s.T, (unsigned long long)batch,
           (unsigned long long)hidden, (size_t)(loss_bruno + 0.5), loss_bruno);
    rc = BENCH_EXIT_OK;
done:
    free(x);
    free(y);
    free(y2);
    free(gb);
    free(gp);
    return rc;
}
