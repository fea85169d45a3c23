/* test_dense.c - the products of dense and recurrent layers over a batch
   (bruno__gemm: register-blocked, or skipping zero inputs) against the
   naive loops, bit for bit: the kernel keeps the order of every sum. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "bruno.h"
#include "net_util.h"

static bruno_real urand(bruno_rng *g) { return (bruno_real)bruno_rng_uniform(g); }

/* ENCODE (tile 1, bias 0, gain > 0: its output is x scaled) -> DENSE; x has the given share of non-zeros */
typedef struct dense_case {
    size_t n_in, n_out, T, B;
    int bias;
    double share; /* of non-zero inputs and of non-zero output gradients */
    unsigned threads;
} dense_case;

static bruno_param *param(bruno_net *net, size_t k) { return &net->params[k]; }

static void check_dense(const dense_case *c)
{
    bruno_net_config nc = bruno_net_config_default(c->n_in);
    bruno_layer_config e = bruno_layer_config_default(BRUNO_LAYER_ENCODE), d = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    bruno_net net;
    bruno_rng g;
    size_t R = c->T * c->B, ni = c->n_in, no = c->n_out, r, i, o;
    bruno_real *x = (bruno_real *)malloc(R * ni * sizeof *x), *u = (bruno_real *)malloc(R * ni * sizeof *u);
    bruno_real *dy = (bruno_real *)malloc(R * no * sizeof *dy), *ref = (bruno_real *)malloc(R * no * sizeof *ref);
    bruno_real *dx = (bruno_real *)malloc(R * ni * sizeof *dx), *gW = (bruno_real *)calloc(no * ni, sizeof *gW);
    bruno_real *gb = (bruno_real *)calloc(no, sizeof *gb), *ggain = (bruno_real *)calloc(ni, sizeof *ggain);
    bruno_real *gbias = (bruno_real *)calloc(ni, sizeof *gbias);
    const bruno_real *y, *W, *gain, *b;
    cr_assert(x && u && dy && ref && dx && gW && gb && ggain && gbias);
    nc.threads = c->threads;
    d.n_out = no;
    d.matrix.bias = c->bias;
    cr_assert_eq(bruno_net_init(&net, &nc), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&net, &e), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&net, &d), BRUNO_OK);
    bruno_rng_seed(&g, 1000 * ni + no);
    for (i = 0; i < ni; ++i) {
        param(&net, 0)->data[i] = (bruno_real)0.5 + urand(&g); /* gain */
        param(&net, 1)->data[i] = 0;                          /* bias: zero inputs stay zero */
    }
    if (c->bias)
        for (o = 0; o < no; ++o) param(&net, 3)->data[o] = urand(&g) - (bruno_real)0.5;
    for (r = 0; r < R * ni; ++r) x[r] = urand(&g) < c->share ? urand(&g) * 2 - 1 : 0;
    for (r = 0; r < R * no; ++r) dy[r] = urand(&g) < c->share ? urand(&g) * 2 - 1 : 0;
    gain = param(&net, 0)->data;
    b = param(&net, 1)->data;
    W = param(&net, 2)->data;

    /* forward: y[r][o] = (sum_i u[r][i] W[o][i], i ascending, from +0) + b[o] */
    cr_assert_eq(bruno_net_forward(&net, x, c->T, c->B, 1, &y), BRUNO_OK);
    for (r = 0; r < R; ++r)
        for (i = 0; i < ni; ++i) u[r * ni + i] = gain[i] * (x[r * ni + i] + b[i]);
    for (r = 0; r < R; ++r)
        for (o = 0; o < no; ++o) {
            bruno_real s = 0;
            for (i = 0; i < ni; ++i) s += u[r * ni + i] * W[o * ni + i];
            ref[r * no + o] = c->bias ? s + param(&net, 3)->data[o] : s;
        }
    cr_expect(memcmp(ref, y, R * no * sizeof *y) == 0, "%zu->%zu, %zu rows, share %g, %u threads: forward differs",
              ni, no, R, c->share, c->threads);

    /* backward: gW[o][i] = sum_r dy[r][o] u[r][i] and gb[o] = sum_r dy[r][o] (r ascending);
       dx[r][i] = sum_o dy[r][o] W[o][i] (o ascending), seen through the ENCODE gradients */
    bruno_net_zero_grad(&net);
    cr_assert_eq(bruno_net_backward(&net, dy), BRUNO_OK);
    for (o = 0; o < no; ++o)
        for (r = 0; r < R; ++r) {
            for (i = 0; i < ni; ++i) gW[o * ni + i] += dy[r * no + o] * u[r * ni + i];
            gb[o] += dy[r * no + o];
        }
    for (r = 0; r < R; ++r)
        for (i = 0; i < ni; ++i) {
            bruno_real s = 0;
            for (o = 0; o < no; ++o) s += dy[r * no + o] * W[o * ni + i];
            dx[r * ni + i] = s;
        }
    for (r = 0; r < R; ++r)
        for (i = 0; i < ni; ++i) {
            ggain[i] += dx[r * ni + i] * (x[r * ni + i] + b[i]);
            gbias[i] += dx[r * ni + i] * gain[i];
        }
    cr_expect(memcmp(gW, param(&net, 2)->grad, no * ni * sizeof *gW) == 0, "%zu->%zu, share %g: gW differs", ni, no,
              c->share);
    if (c->bias) cr_expect(memcmp(gb, param(&net, 3)->grad, no * sizeof *gb) == 0, "%zu->%zu: gb differs", ni, no);
    cr_expect(memcmp(ggain, param(&net, 0)->grad, ni * sizeof *ggain) == 0 &&
                  memcmp(gbias, param(&net, 1)->grad, ni * sizeof *gbias) == 0,
              "%zu->%zu, share %g: dx differs (seen through the encoding's gradients)", ni, no, c->share);
    bruno_net_free(&net);
    free(x), free(u), free(dy), free(ref), free(dx), free(gW), free(gb), free(ggain), free(gbias);
}

/* Shapes around the vector length (16 floats, 8 doubles with AVX-512), the
   8-row and 2-vector tiles, the 16-input blocks of the forward pass, the
   128-term chunks of the reduction and the forward's chunks of rows (512
   KiB of sums: the last three shapes have 127 rows (float) or 63 (double)
   a chunk, so their 135 to 300 rows take several, at one and two threads);
   dense inputs (the blocked variant) and a few per cent of non-zeros at
   many outputs (the skipping variant). */
Test(dense, products_equal_the_naive_loops_bit_for_bit)
{
    static const size_t shapes[][4] = {{3, 1, 1, 1},   {5, 7, 3, 1},    {16, 16, 4, 2},  {17, 27, 5, 3},
                                       {33, 54, 7, 5}, {130, 150, 9, 7}, {88, 150, 40, 4}, {256, 27, 37, 5},
                                       {40, 200, 70, 3}, {20, 1030, 45, 3}, {21, 1030, 40, 7},
                                       {9, 1030, 50, 6}};
    static const double shares[] = {1.0, 0.3, 0.03};
    size_t s, k;
    for (s = 0; s < sizeof shapes / sizeof shapes[0]; ++s)
        for (k = 0; k < sizeof shares / sizeof shares[0]; ++k) {
            dense_case c;
            c.n_in = shapes[s][0], c.n_out = shapes[s][1], c.T = shapes[s][2], c.B = shapes[s][3];
            c.bias = (int)(s & 1);
            c.share = shares[k];
            c.threads = 1 + (unsigned)(s % 3 == 2);
            check_dense(&c);
        }
}

/* ENCODE (C inputs tiled) -> DENSE where the dense layer folds the encoding
   (bruno__dense_setup: the encoding is the first layer and tiles at least
   twice): its output and every gradient (W, bias, the encoding's gain and
   bias) against the layer-by-layer sums in double, within a bound of the
   rounding of float sums of that many terms, and the same bits at one and
   two threads. */
static void fold_pass(size_t C, size_t tile, size_t no, size_t T, size_t B, int bias, int bits, unsigned threads,
                      bruno_real **out, bruno_real **grads, size_t *ng)
{
    bruno_net_config nc = bruno_net_config_default(C);
    bruno_layer_config e = bruno_layer_config_default(BRUNO_LAYER_ENCODE), d = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    bruno_net net;
    bruno_rng g;
    size_t R = T * B, ne = C * tile, r, j, o, k;
    bruno_real *x = (bruno_real *)malloc(R * C * sizeof *x), *dy = (bruno_real *)malloc(R * no * sizeof *dy);
    double *y_ref = (double *)calloc(R * no, sizeof *y_ref), *y_abs = (double *)calloc(R * no, sizeof *y_abs);
    double *gW = (double *)calloc(no * ne, sizeof *gW), *gWa = (double *)calloc(no * ne, sizeof *gWa);
    double *gg = (double *)calloc(ne, sizeof *gg), *gga = (double *)calloc(ne, sizeof *gga);
    double *gbe = (double *)calloc(ne, sizeof *gbe), *gbea = (double *)calloc(ne, sizeof *gbea);
    double *gb = (double *)calloc(no, sizeof *gb), *gba = (double *)calloc(no, sizeof *gba);
    const bruno_real *y, *W, *Wq, *gain, *be;
    bruno_real *wq = NULL;
    /* the bound of a float (double) sum of n terms of absolute sum a: n eps a, with room */
    const double eps = BRUNO_REAL_IS_DOUBLE ? 2.3e-16 : 1.2e-7;
    cr_assert(x && dy && y_ref && y_abs && gW && gWa && gg && gga && gbe && gbea && gb && gba);
    nc.threads = threads;
    e.encode.tile = tile;
    d.n_out = no;
    d.matrix.bias = bias;
    d.matrix.bits = bits;
    d.matrix.stochastic_rounding = 0;
    cr_assert_eq(bruno_net_init(&net, &nc), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&net, &e), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&net, &d), BRUNO_OK);
    bruno_rng_seed(&g, 31 * C + tile + no);
    for (j = 0; j < ne; ++j) {
        param(&net, 0)->data[j] = urand(&g) * 2 - (bruno_real)0.5; /* gain */
        param(&net, 1)->data[j] = urand(&g) * 2 - 1;               /* bias */
    }
    if (bias)
        for (o = 0; o < no; ++o) param(&net, 3)->data[o] = urand(&g) - (bruno_real)0.5;
    for (r = 0; r < R * C; ++r) x[r] = urand(&g) * 4 - 2;
    for (r = 0; r < R * no; ++r) dy[r] = urand(&g) * 2 - 1;
    gain = param(&net, 0)->data;
    be = param(&net, 1)->data;
    cr_assert_eq(bruno_net_forward(&net, x, T, B, 1, &y), BRUNO_OK);
    /* at bits < 32 the product reads the quantised W (deterministic rounding: the same Wq here) */
    W = param(&net, 2)->data;
    Wq = W;
    if (bits < 32) {
        cr_assert((wq = (bruno_real *)malloc(no * ne * sizeof *wq)) != NULL);
        cr_assert_eq(bruno_quantize(W, wq, no * ne, bits, 0, NULL, NULL), BRUNO_OK);
        Wq = wq;
    }
    *out = (bruno_real *)malloc(R * no * sizeof **out);
    cr_assert(*out);
    memcpy(*out, y, R * no * sizeof *y);
    for (r = 0; r < R; ++r)
        for (o = 0; o < no; ++o) {
            double s = bias ? (double)param(&net, 3)->data[o] : 0, a = fabs(s);
            for (j = 0; j < ne; ++j) {
                double t = (double)Wq[o * ne + j] * (double)gain[j] * ((double)x[r * C + j % C] + (double)be[j]);
                s += t;
                a += fabs(t);
            }
            y_ref[r * no + o] = s;
            y_abs[r * no + o] = a;
        }
    for (k = 0; k < R * no; ++k)
        cr_expect(fabs((double)y[k] - y_ref[k]) <= (2.0 * ne + 8) * eps * y_abs[k] + 1e-30,
                  "fold C %zu tile %zu -> %zu, bits %d: y[%zu] = %.9g, the sums %.9g (|terms| %.3g)", C, tile, no, bits,
                  k, (double)y[k], y_ref[k], y_abs[k]);
    bruno_net_zero_grad(&net);
    cr_assert_eq(bruno_net_backward(&net, dy), BRUNO_OK);
    for (r = 0; r < R; ++r)
        for (o = 0; o < no; ++o) {
            double d_ = (double)dy[r * no + o];
            gb[o] += d_;
            gba[o] += fabs(d_);
            for (j = 0; j < ne; ++j) {
                double xe = (double)gain[j] * ((double)x[r * C + j % C] + (double)be[j]), w = (double)Wq[o * ne + j];
                gW[o * ne + j] += d_ * xe;
                gWa[o * ne + j] += fabs(d_ * xe);
                gg[j] += d_ * w * ((double)x[r * C + j % C] + (double)be[j]);
                gga[j] += fabs(d_ * w * ((double)x[r * C + j % C] + (double)be[j]));
                gbe[j] += d_ * w * (double)gain[j];
                gbea[j] += fabs(d_ * w * (double)gain[j]);
            }
        }
    for (k = 0; k < no * ne; ++k)
        cr_expect(fabs((double)param(&net, 2)->grad[k] - gW[k]) <= (2.0 * R + 8) * eps * gWa[k] + 1e-30,
                  "fold C %zu tile %zu -> %zu: gW[%zu] = %.9g, the sums %.9g", C, tile, no, k,
                  (double)param(&net, 2)->grad[k], gW[k]);
    for (j = 0; j < ne; ++j) {
        cr_expect(fabs((double)param(&net, 0)->grad[j] - gg[j]) <= (2.0 * (R + no) + 8) * eps * gga[j] + 1e-30,
                  "fold C %zu tile %zu -> %zu: d gain[%zu] = %.9g, the sums %.9g", C, tile, no, j,
                  (double)param(&net, 0)->grad[j], gg[j]);
        cr_expect(fabs((double)param(&net, 1)->grad[j] - gbe[j]) <= (2.0 * (R + no) + 8) * eps * gbea[j] + 1e-30,
                  "fold C %zu tile %zu -> %zu: d bias[%zu] = %.9g, the sums %.9g", C, tile, no, j,
                  (double)param(&net, 1)->grad[j], gbe[j]);
    }
    if (bias)
        for (o = 0; o < no; ++o)
            cr_expect(fabs((double)param(&net, 3)->grad[o] - gb[o]) <= (2.0 * R + 8) * eps * gba[o] + 1e-30,
                      "fold: d b[%zu] = %.9g, the sums %.9g", o, (double)param(&net, 3)->grad[o], gb[o]);
    *grads = collect_grads(&net, ng);
    cr_assert(*grads);
    bruno_net_free(&net);
    free(x), free(dy), free(y_ref), free(y_abs), free(gW), free(gWa), free(gg), free(gga), free(gbe), free(gbea);
    free(gb), free(gba), free(wq);
}

Test(dense, a_folded_encoding_computes_the_layer_by_layer_sums_at_any_thread_count)
{
    /* C, tile, n_out, T, B, bias, bits: Braille's 4 x 32 -> 256 (raw file) and 24 x 32 (events) in
       small, odd shapes around the vector length, and quantised */
    static const size_t cases[][7] = {{4, 32, 256, 6, 5, 0, 32}, {4, 32, 27, 3, 7, 1, 32}, {3, 2, 5, 4, 3, 1, 32},
                                      {24, 4, 17, 5, 4, 0, 32}, {1, 7, 33, 9, 2, 1, 32},  {4, 8, 40, 6, 3, 1, 4}};
    size_t c;
    for (c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        bruno_real *y1, *y2, *g1, *g2;
        size_t n1, n2, R = cases[c][3] * cases[c][4], no = cases[c][2];
        fold_pass(cases[c][0], cases[c][1], no, cases[c][3], cases[c][4], (int)cases[c][5], (int)cases[c][6], 1, &y1,
                  &g1, &n1);
        fold_pass(cases[c][0], cases[c][1], no, cases[c][3], cases[c][4], (int)cases[c][5], (int)cases[c][6], 2, &y2,
                  &g2, &n2);
        cr_expect(memcmp(y1, y2, R * no * sizeof *y1) == 0, "fold case %zu: the output differs at two threads", c);
        cr_expect(n1 == n2 && memcmp(g1, g2, n1 * sizeof *g1) == 0, "fold case %zu: gradients differ at two threads", c);
        free(y1), free(y2), free(g1), free(g2);
    }
}

/* RLIF over a batch: the recurrent current sum_j W_rec[i][j] s_{t-1}[j] of
   every batch entry (spikes: the skipping or the blocked variant) against
   the naive loop and the layer's update, bit for bit. */
Test(dense, recurrent_layer_equals_the_naive_loops_bit_for_bit)
{
    static const size_t sizes[] = {5, 27, 150};
    size_t s;
    for (s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
        size_t n = sizes[s], T = 40, B = 6, BN = B * n, t, i, j, b;
        bruno_net_config nc = bruno_net_config_default(n);
        bruno_layer_config l = bruno_layer_config_default(BRUNO_LAYER_RLIF);
        bruno_net net;
        bruno_rng g;
        bruno_real *x = (bruno_real *)malloc(T * BN * sizeof *x), *syn = (bruno_real *)calloc(BN, sizeof *syn);
        bruno_real *mem = (bruno_real *)calloc(BN, sizeof *mem), *sp = (bruno_real *)calloc(BN, sizeof *sp);
        bruno_real *ref = (bruno_real *)malloc(T * BN * sizeof *ref), a, be;
        const bruno_real *y, *W;
        cr_assert(x && syn && mem && sp && ref);
        cr_assert_eq(bruno_net_init(&net, &nc), BRUNO_OK);
        cr_assert_eq(bruno_net_add(&net, &l), BRUNO_OK);
        bruno_rng_seed(&g, 77 + n);
        for (i = 0; i < T * BN; ++i) x[i] = urand(&g) * (bruno_real)4;
        W = net.params[0].data;
        for (i = 0; i < n * n; ++i) net.params[0].data[i] = (urand(&g) - (bruno_real)0.45) * (bruno_real)2;
        a = net.params[1].data[0];
        be = net.params[1].data[1];
        cr_assert_eq(bruno_net_forward(&net, x, T, B, 0, &y), BRUNO_OK);
        for (t = 0; t < T; ++t)
            for (b = 0; b < B; ++b)
                for (i = 0; i < n; ++i) {
                    bruno_real in = x[t * BN + b * n + i], mp;
                    size_t k = b * n + i;
                    if (t)
                        for (j = 0; j < n; ++j) in += sp[b * n + j] * W[i * n + j];
                    /* the update of bruno__lif_forward: mem after the reset, then syn and mem */
                    mp = mem[k] >= 1 ? 0 : mem[k];
                    syn[k] = be * syn[k] + (1 - be) * in;
                    mem[k] = a * mp + (1 - a) * syn[k];
                    ref[t * BN + k] = mem[k] - 1 >= 0 ? (bruno_real)1 : (bruno_real)0;
                    if (b == B - 1 && i == n - 1) memcpy(sp, ref + t * BN, BN * sizeof *sp);
                }
        cr_expect(memcmp(ref, y, T * BN * sizeof *y) == 0, "RLIF n = %zu: spikes differ", n);
        for (i = 0, j = 0; i < T * BN; ++i) j += ref[i] != 0;
        cr_expect(j > 0 && j < T * BN, "RLIF n = %zu: %zu spikes of %zu, the test needs some and not all", n, j, T * BN);
        bruno_net_free(&net);
        free(x), free(syn), free(mem), free(sp), free(ref);
    }
}

/* A pass that fits in the workspace of an earlier, larger one (a shorter
   sequence, a smaller batch) reuses it: same outputs and gradients as on a
   fresh network, no new allocation, and release frees every byte. */
static void pass(bruno_net *net, size_t T, size_t B, bruno_real **y_out, bruno_real **g_out, size_t *ny, size_t *ng)
{
    size_t n_in = net->cfg.n_in;
    bruno_real *x = (bruno_real *)malloc(T * B * n_in * sizeof *x), *dy;
    const bruno_real *y;
    cr_assert(x);
    fill_input(x, T * B * n_in, 5);
    cr_assert_eq(bruno_net_forward(net, x, T, B, 1, &y), BRUNO_OK);
    *ny = T * B * bruno_net_n_out(net);
    dy = (bruno_real *)malloc(*ny * sizeof *dy);
    *y_out = (bruno_real *)malloc(*ny * sizeof **y_out);
    cr_assert(dy && *y_out);
    memcpy(*y_out, y, *ny * sizeof *y);
    linear_loss(y, *ny, dy);
    bruno_net_zero_grad(net);
    cr_assert_eq(bruno_net_backward(net, dy), BRUNO_OK);
    *g_out = collect_grads(net, ng);
    cr_assert(*g_out);
    free(x), free(dy);
}

Test(dense, smaller_pass_reuses_the_workspace_with_the_same_bits)
{
    static const bruno_trainer trainers[] = {BRUNO_TRAINER_BPTT, BRUNO_TRAINER_BRUNO, BRUNO_TRAINER_CHECKPOINT};
    size_t k;
    for (k = 0; k < sizeof trainers / sizeof trainers[0]; ++k) {
        bruno_counting_allocator ca;
        bruno_allocator al;
        bruno_net big, fresh;
        bruno_real *y0, *g0, *y1, *g1, *y2, *g2;
        size_t ny0, ng0, ny1, ng1, ny2, ng2, n_allocs;
        bruno_counting_allocator_init(&ca, NULL);
        al = bruno_counting_allocator_get(&ca);
        cr_assert_eq(make_small_net(&big, trainers[k], BRUNO_SCHEDULE_BINOMIAL, 3, 10, BRUNO_SURROGATE_SUPERSPIKE, 0, 5, &al),
                     BRUNO_OK);
        cr_assert_eq(make_small_net(&fresh, trainers[k], BRUNO_SCHEDULE_BINOMIAL, 3, 10, BRUNO_SURROGATE_SUPERSPIKE, 0, 5,
                                    NULL), BRUNO_OK);
        pass(&big, 20, 3, &y0, &g0, &ny0, &ng0);
        n_allocs = ca.n_allocs;
        pass(&big, 7, 2, &y1, &g1, &ny1, &ng1);
        cr_expect_eq(ca.n_allocs, n_allocs, "trainer %d: the shorter pass allocated again", (int)trainers[k]);
        pass(&fresh, 7, 2, &y2, &g2, &ny2, &ng2);
        cr_assert_eq(ny1, ny2);
        cr_assert_eq(ng1, ng2);
        cr_expect(memcmp(y1, y2, ny1 * sizeof *y1) == 0, "trainer %d: outputs differ from a fresh net's", (int)trainers[k]);
        cr_expect(memcmp(g1, g2, ng1 * sizeof *g1) == 0, "trainer %d: gradients differ from a fresh net's",
                  (int)trainers[k]);
        bruno_net_free(&big);
        bruno_net_free(&fresh);
        cr_expect_eq(ca.live_bytes, 0, "trainer %d: %zu bytes left", (int)trainers[k], ca.live_bytes);
        free(y0), free(g0), free(y1), free(g1), free(y2), free(g2);
    }
}
