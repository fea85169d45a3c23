/* test_quantize.c - the quantised synapse (MODELS §5.1). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include "bruno.h"

#define NW 2001

/* W spans [-1, 1] densely; every output must be k*scale/m for an integer
   |k| <= m, and every one of the 2m+1 levels must occur. */
static void check_levels(int bits, int stochastic)
{
    static bruno_real W[NW], Wq[NW];
    int m = (1 << (bits - 1)) - 1, i, k, *seen;
    bruno_real scale = 0;
    bruno_rng rng;
    bruno_rng_seed(&rng, (uint64_t)bits);
    for (i = 0; i < NW; ++i) W[i] = (bruno_real)(0.8 * (2.0 * i / (NW - 1) - 1)); /* max |W| = 0.8 */
    cr_assert_eq(bruno_quantize(W, Wq, NW, bits, stochastic, &rng, &scale), BRUNO_OK);
    cr_expect(fabs(scale - 0.8) < 1e-7);
    seen = (int *)calloc((size_t)(2 * m + 1), sizeof *seen);
    for (i = 0; i < NW; ++i) {
        double kq = (double)Wq[i] / (double)scale * m;
        k = (int)lround(kq);
        cr_assert(fabs(kq - k) < 1e-4 * m, "bits %d: W %g -> %g is not a level", bits, (double)W[i], (double)Wq[i]);
        cr_assert(k >= -m && k <= m);
        /* deterministic: the nearest level; stochastic: one of the two around W */
        if (stochastic) cr_assert(fabs((double)Wq[i] - (double)W[i]) < (double)scale / m * (1 + 1e-5));
        else cr_assert(fabs((double)Wq[i] - (double)W[i]) <= (double)scale / (2 * m) * (1 + 1e-5));
        seen[k + m] = 1;
    }
    for (k = 0; k <= 2 * m; ++k) cr_expect(seen[k], "bits %d: level %d never used", bits, k - m);
    free(seen);
}

Test(quantize, levels_are_2m_plus_1_uniform_steps_for_2_3_4_8_bits)
{
    check_levels(2, 0);  /* 3 levels */
    check_levels(3, 0);  /* 7 levels: the paper's 3-bit RRAM */
    check_levels(4, 0);  /* 15 */
    check_levels(8, 0);  /* 255 */
}

Test(quantize, stochastic_rounding_also_lands_on_levels)
{
    check_levels(2, 1);
    check_levels(3, 1);
    check_levels(4, 1);
    check_levels(8, 1);
}

Test(quantize, three_bit_levels_are_multiples_of_scale_over_three)
{
    bruno_real W[5] = {-1.0f, -0.4f, 0.0f, 0.2f, 1.0f}, Wq[5];
    cr_assert_eq(bruno_quantize(W, Wq, 5, 3, 0, NULL, NULL), BRUNO_OK);
    cr_expect_eq(Wq[0], -1.0f);
    cr_expect(fabs(Wq[1] + 1.0 / 3) < 1e-7);  /* -1.2 levels -> -1 */
    cr_expect_eq(Wq[2], 0.0f);
    cr_expect(fabs(Wq[3] - 1.0 / 3) < 1e-7);   /* 0.6 levels -> 1 */
    cr_expect_eq(Wq[4], 1.0f);
}

Test(quantize, zero_tensor_uses_scale_one_and_stays_zero)
{
    bruno_real W[4] = {0}, Wq[4] = {1, 1, 1, 1}, scale = 0;
    bruno_rng rng;
    bruno_rng_seed(&rng, 1);
    cr_assert_eq(bruno_quantize(W, Wq, 4, 3, 1, &rng, &scale), BRUNO_OK);
    cr_expect_eq(scale, 1);
    cr_expect(Wq[0] == 0 && Wq[1] == 0 && Wq[2] == 0 && Wq[3] == 0);
}

Test(quantize, output_may_alias_input)
{
    bruno_real W[4] = {0.3f, -0.9f, 0.55f, 0.1f}, W2[4], Wq[4];
    memcpy(W2, W, sizeof W);
    cr_assert_eq(bruno_quantize(W, Wq, 4, 3, 0, NULL, NULL), BRUNO_OK);
    cr_assert_eq(bruno_quantize(W2, W2, 4, 3, 0, NULL, NULL), BRUNO_OK);
    cr_expect(memcmp(Wq, W2, sizeof W2) == 0);
}

/* E[Wq] = W for stochastic rounding: over n draws the sample mean is within
   3 standard errors (the sample standard deviation / sqrt n) of W. Checked
   at several positions between levels, including one near a level. */
Test(quantize, stochastic_rounding_is_unbiased)
{
    const int n = 20000;
    const bruno_real probe[] = {0.37f, -0.37f, 0.05f, -0.61f, 0.9f, 0.34f};
    const int np = (int)(sizeof probe / sizeof probe[0]);
    bruno_real W[7], Wq[7];
    double s[6] = {0}, s2[6] = {0};
    bruno_rng rng;
    int i, j;
    bruno_rng_seed(&rng, 31337);
    W[0] = 1.0f; /* fixes scale = 1 */
    for (j = 0; j < np; ++j) W[j + 1] = probe[j];
    for (i = 0; i < n; ++i) {
        cr_assert_eq(bruno_quantize(W, Wq, 7, 3, 1, &rng, NULL), BRUNO_OK);
        for (j = 0; j < np; ++j) {
            s[j] += Wq[j + 1];
            s2[j] += (double)Wq[j + 1] * Wq[j + 1];
        }
    }
    for (j = 0; j < np; ++j) {
        double mean = s[j] / n, sd = sqrt((s2[j] - s[j] * mean) / (n - 1)), se = sd / sqrt((double)n);
        cr_expect(sd > 0, "W = %g never varied", (double)probe[j]);
        cr_expect(fabs(mean - probe[j]) <= 3 * se, "W = %g: mean %.6f, 3 SE %.6f", (double)probe[j], mean, 3 * se);
    }
}

/* Deterministic rounding is biased towards the nearest level: a control
   showing the test above can fail. */
Test(quantize, deterministic_rounding_is_biased_between_levels)
{
    bruno_real W[2] = {1.0f, 0.37f}, Wq[2];
    cr_assert_eq(bruno_quantize(W, Wq, 2, 3, 0, NULL, NULL), BRUNO_OK);
    cr_expect(fabs(Wq[1] - 1.0 / 3) < 1e-6); /* 1.11 levels -> 1 level = 0.333 */
}

Test(quantize, same_seed_gives_the_same_draws_and_fresh_draws_differ)
{
    bruno_real W[64], a[64], b[64], c[64];
    bruno_rng r1, r2;
    int i;
    for (i = 0; i < 64; ++i) W[i] = (bruno_real)sin(0.7 * i);
    bruno_rng_seed(&r1, 5);
    bruno_rng_seed(&r2, 5);
    cr_assert_eq(bruno_quantize(W, a, 64, 3, 1, &r1, NULL), BRUNO_OK);
    cr_assert_eq(bruno_quantize(W, b, 64, 3, 1, &r2, NULL), BRUNO_OK);
    cr_expect(memcmp(a, b, sizeof a) == 0);
    /* the next call draws fresh U (MODELS §5.1: fresh on every forward call) */
    cr_assert_eq(bruno_quantize(W, c, 64, 3, 1, &r1, NULL), BRUNO_OK);
    cr_expect(memcmp(a, c, sizeof a) != 0);
}

Test(quantize, deterministic_rounding_is_symmetric)
{
    /* +-W quantise to +-the same level, also at exact half-way points:
       scale = 3 and m = 3 make W/scale*m = W, so 0.5, 1.5, 2.5 are ties */
    bruno_real W[6] = {3.0f, 0.5f, 1.5f, 1.1f, 2.5f, 2.1f}, Wn[6], qp[6], qn[6];
    int i;
    for (i = 0; i < 6; ++i) Wn[i] = -W[i];
    cr_assert_eq(bruno_quantize(W, qp, 6, 3, 0, NULL, NULL), BRUNO_OK);
    cr_assert_eq(bruno_quantize(Wn, qn, 6, 3, 0, NULL, NULL), BRUNO_OK);
    for (i = 0; i < 6; ++i) cr_expect_eq(qp[i], -qn[i], "W = %g: %g vs %g", (double)W[i], (double)qp[i], (double)qn[i]);
}
