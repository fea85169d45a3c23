/* test_loss.c - the losses against their definitions */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "bruno.h"

/* The count loss over y [T][B][C], computed here one sample at a time as the
   definition reads (counts summed over t, a softmax in double), against
   bruno_loss_count_ce, which sums chunks of samples row by row: the loss, the
   correct count and every dy bit for bit, with batches over several chunks
   (C = 27: 37 samples a chunk) and with more classes than its stack holds. */
static void count_ce_reference(const bruno_real *y, size_t T, size_t B, size_t C, const int32_t *lab, bruno_real *dy,
                               double *loss, size_t *correct)
{
    size_t b, c, t;
    double total = 0, *cnt = malloc(C * sizeof *cnt);
    cr_assert_not_null(cnt);
    *correct = 0;
    for (b = 0; b < B; ++b) {
        double mx = -1e300, z = 0;
        size_t best = 0;
        for (c = 0; c < C; ++c) {
            double s = 0;
            for (t = 0; t < T; ++t) s += (double)y[(t * B + b) * C + c];
            cnt[c] = s;
            if (s > mx) { mx = s; best = c; }
        }
        for (c = 0; c < C; ++c) z += exp(cnt[c] - mx);
        total += -(cnt[lab[b]] - mx - log(z));
        *correct += best == (size_t)lab[b];
        for (c = 0; c < C; ++c)
            for (t = 0; t < T; ++t)
                dy[(t * B + b) * C + c] =
                    (bruno_real)((exp(cnt[c] - mx) / z - (c == (size_t)lab[b] ? 1.0 : 0.0)) / (double)B);
    }
    *loss = total / (double)B;
    free(cnt);
}

Test(loss, the_count_loss_equals_its_definition_sample_by_sample_bit_for_bit)
{
    static const size_t shapes[][3] = {{7, 100, 27}, {3, 1, 5}, {5, 3, 1100}, {4, 38, 27}};
    size_t s;
    for (s = 0; s < sizeof shapes / sizeof shapes[0]; ++s) {
        size_t T = shapes[s][0], B = shapes[s][1], C = shapes[s][2], i, n = T * B * C, ca, cb;
        bruno_real *y = malloc(n * sizeof *y), *da = malloc(n * sizeof *da), *db = malloc(n * sizeof *db);
        int32_t *lab = malloc(B * sizeof *lab);
        double la, lb;
        bruno_rng rng;
        cr_assert(y && da && db && lab);
        bruno_rng_seed(&rng, 7 + s);
        for (i = 0; i < n; ++i) y[i] = (bruno_real)(bruno_rng_uniform(&rng) < 0.5 ? 0.0 : bruno_rng_uniform(&rng));
        for (i = 0; i < B; ++i) lab[i] = (int32_t)(bruno_rng_u64(&rng) % C);
        cr_assert_eq(bruno_loss_count_ce(y, T, B, C, lab, da, &la, &ca), BRUNO_OK);
        count_ce_reference(y, T, B, C, lab, db, &lb, &cb);
        cr_expect(memcmp(&la, &lb, sizeof la) == 0, "shape %zu: loss %.17g against %.17g", s, la, lb);
        cr_expect_eq(ca, cb, "shape %zu", s);
        cr_expect(memcmp(da, db, n * sizeof *da) == 0, "shape %zu: dy differs", s);
        free(y), free(da), free(db), free(lab);
    }
}
