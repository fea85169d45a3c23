/* cmd_products.c - `bruno-bench products`: the two variants of the product
   kernel that every dense, recurrent and readout layer runs over a batch
   (bruno.h, "products of a layer over a batch"), timed on this suite's own
   shapes, and which one bruno.h's rule picks (issue 14 §2: blocked and
   vectorised, or skipping zero inputs, "whichever is faster for the shape
   (measure both)").

   The kernels are internal to the implementation, so this file compiles
   its own private copy of it (BRUNO_STATIC: every function static, none
   clashes with main.c's). Same flags, same code: the same kernels.

   One CSV row per product and input share: the best time of each variant
   over --repeats rounds (each round runs the product enough times to take
   about 20 ms; the two variants alternate inside a round, so a slow
   second on a shared host hits both), their ratio, the rule's pick
   (bruno__gemm_skip_pays on the same A), and what the pick costs over the
   faster variant. Both variants give the same bits (tests/test_dense.c);
   this run also compares them. */
#define _POSIX_C_SOURCE 200809L
#define BRUNO_STATIC
#define BRUNO_IMPLEMENTATION
#include "bruno.h"
#include "bench.h"

#include <stdlib.h>
#include <string.h>

/* A product as a layer calls it: Y[M][N] (+)= sum_k A[m ars + k aks] B[k][N]. */
typedef struct product {
    const char *name;  /* where the suite runs it */
    size_t M, N, K;
    int a_transposed;  /* A read down its columns (a weight gradient: A = dL/dy, ars = 1, aks = M) */
    int spikes;        /* A is spikes (timed at several shares) or dense values (share 1) */
    size_t lda;        /* the row stride of A as the layer lays it out (a forward's block of 16 inputs
                          reads 16 of each row of n_in), 0: K */
} product;

/* Braille raw file: 4 raw inputs -> encoding 128 -> hidden 256 -> readout
   27, batch 128 x 152 steps = 19456 rows; the hidden layer folds the
   encoding (bruno__dense_setup: 4 multiply-adds a row and output, not 128),
   the other dense forwards run in chunks of 512 KiB of sums (4854 rows at
   27 outputs); RLIF's recurrent product per step
   over the batch; JSB: 88 piano-roll inputs (a few notes at a time) ->
   hidden 150 -> 88, one piece of 256 steps (batch 1). The weight gradients
   sum over every row of a batch. (E1's dense layer reads uniform values,
   not spikes: the dense variant, as the folded encoding's.) */
static const product products[] = {
    {"dense forward: Braille's folded encoding, 4 raw inputs -> hidden 256 over the batch", 19456, 256, 4, 0, 0, 0},
    {"dense forward: hidden 256 spikes -> readout 27 (a 16-input block of a chunk)", 4854, 27, 16, 0, 1, 256},
    {"dense forward: JSB 88 piano-roll inputs -> hidden 150 (a 16-input block of a piece)", 256, 150, 16, 0, 1, 88},
    {"dense forward: JSB hidden 150 spikes -> 88 outputs (a 16-input block of a piece)", 256, 88, 16, 0, 1, 150},
    {"RLIF recurrent current of one step: 256 -> 256 over the batch", 128, 256, 256, 0, 1, 0},
    {"RLIF backward dL/ds of one step: 256 -> 256 over the batch", 128, 256, 256, 0, 0, 0},
    {"dense backward dL/dx: readout 27 -> hidden 256 over the batch", 19456, 256, 27, 0, 0, 0},
    {"the folded encoding's gradient sums Gt = x^T dy: 4 raw inputs x hidden 256 over the batch", 4, 256, 19456, 1, 0, 0},
    {"the same sums as G = dy^T x (256 x 4: bruno.h's layout before 2026-12-05, the kernel's scalar path)", 256, 4, 19456, 1, 0, 0},
    {"weight gradient: RLIF 256 x 256 of one step over the batch", 256, 256, 128, 1, 0, 0},
};

static const double spike_shares[] = {0.02, 0.05, 0.1, 0.2, 0.4};

static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *s) { return (double)(mix(s) >> 11) * (1.0 / 9007199254740992.0); }

/* one call of the variant on the product; Y starts from Y0 (the layers add into a running sum) */
static void run_once(const product *p, int skip, const bruno_real *A, const bruno_real *B, bruno_real *Y)
{
    size_t ars = p->a_transposed ? 1 : p->lda ? p->lda : p->K, aks = p->a_transposed ? p->M : 1;
    if (skip) bruno__gemm_skip(p->M, p->N, p->K, A, ars, aks, B, p->N, Y, p->N, 1);
    else bruno__gemm_dense(p->M, p->N, p->K, A, ars, aks, B, p->N, Y, p->N, 1);
}

int bench_cmd_products(int argc, char **argv)
{
    const char *out_path = NULL;
    uint64_t repeats = 5, seed = 1;
    int help = 0, rc;
    bench_opt opts[] = {
        {"repeats", BENCH_OPT_U64, &repeats, "rounds per product and share, best of them (default 5)", 0},
        {"seed", BENCH_OPT_U64, &seed, "seed of the operands (default 1)", 0},
        {"out", BENCH_OPT_STRING, &out_path, "CSV file (default stdout), written atomically", 0},
    };
    size_t i, s;
    bench_out out;
    rc = bench_opts_parse("products", "Time the dense and the zero-skipping product kernels on this suite's shapes "
                                      "(CSV).", opts, (int)(sizeof opts / sizeof opts[0]), argc, argv, &help);
    if (rc || help) return rc;
    if (repeats == 0 || repeats > 1000) {
        fprintf(stderr, "bruno-bench products: --repeats must be 1..1000\n");
        return BENCH_EXIT_USAGE;
    }
    if (bench_out_open(&out, out_path) != 0) return BENCH_EXIT_FAIL;
    fprintf(out.f, "product,M,N,K,a_transposed,share,dense_s,skip_s,skip_over_dense,rule,rule_over_best,same_bits,"
                   "dense_mac_per_s\n");
    for (i = 0; i < sizeof products / sizeof products[0]; ++i) {
        const product *p = &products[i];
        size_t lda = p->a_transposed || !p->lda ? p->K : p->lda, nA = p->M * lda, nB = p->K * p->N, nY = p->M * p->N, ns = p->spikes ? sizeof spike_shares / sizeof *spike_shares : 1, j;
        bruno_real *A = (bruno_real *)malloc(nA * sizeof *A), *B = (bruno_real *)malloc(nB * sizeof *B);
        bruno_real *Y0 = (bruno_real *)malloc(nY * sizeof *Y0), *Yd = (bruno_real *)malloc(nY * sizeof *Yd),
                   *Ys = (bruno_real *)malloc(nY * sizeof *Ys);
        uint64_t g = seed * 0x100000001B3ull + i;
        if (!A || !B || !Y0 || !Yd || !Ys) {
            free(A), free(B), free(Y0), free(Yd), free(Ys);
            fprintf(stderr, "bruno-bench products: out of memory\n");
            bench_out_abort(&out);
            return BENCH_EXIT_FAIL;
        }
        for (j = 0; j < nB; ++j) B[j] = (bruno_real)(uniform01(&g) * 2 - 1);
        for (j = 0; j < nY; ++j) Y0[j] = (bruno_real)(uniform01(&g) - 0.5);
        for (s = 0; s < ns; ++s) {
            double share = p->spikes ? spike_shares[s] : 1.0, best[2] = {1e30, 1e30},
                   macs = (double)p->M * (double)p->K * (double)p->N;
            /* calls per timing: about 20 ms of the dense variant at ~50 G products/s */
            size_t calls = (size_t)(1e9 / macs) + 1, c;
            uint64_t rep;
            int v, rule, same;
            for (j = 0; j < nA; ++j)
                A[j] = p->spikes ? (bruno_real)(uniform01(&g) < share) : (bruno_real)(uniform01(&g) * 2 - 1);
            for (rep = 0; rep < repeats; ++rep)
                for (v = 0; v < 2; ++v) {
                    double t0, t;
                    memcpy(v ? Ys : Yd, Y0, nY * sizeof *Y0);
                    t0 = bench_now();
                    for (c = 0; c < calls; ++c) run_once(p, v, A, B, v ? Ys : Yd);
                    t = (bench_now() - t0) / (double)calls;
                    if (t < best[v]) best[v] = t;
                }
            /* the bits: one call of each from the same Y0 */
            memcpy(Yd, Y0, nY * sizeof *Y0);
            memcpy(Ys, Y0, nY * sizeof *Y0);
            run_once(p, 0, A, B, Yd);
            run_once(p, 1, A, B, Ys);
            same = memcmp(Yd, Ys, nY * sizeof *Yd) == 0;
            rule = bruno__gemm_skip_pays(p->M, p->N, p->K, p->K, A, p->a_transposed ? 1 : lda, p->a_transposed ? p->M : 1);
            /* the name quoted: some hold a comma */
            fprintf(out.f, "\"%s\",%zu,%zu,%zu,%d,%g,%.6g,%.6g,%.4f,%s,%.4f,%d,%.4g\n", p->name, p->M, p->N, p->K,
                    p->a_transposed, share, best[0], best[1], best[1] / best[0], rule ? "skip" : "dense",
                    best[rule] / (best[0] < best[1] ? best[0] : best[1]), same, macs / best[0]);
        }
        free(A), free(B), free(Y0), free(Yd), free(Ys);
    }
    return bench_out_commit(&out) == 0 ? BENCH_EXIT_OK : BENCH_EXIT_FAIL;
}
