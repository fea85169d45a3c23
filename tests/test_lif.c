/* test_lif.c - the current-based LIF neuron (MODELS §4). */
#include <criterion/criterion.h>
#include <math.h>
#include "bruno.h"

#define TOL (BRUNO_REAL_IS_DOUBLE ? 1e-12 : 1e-5)

Test(lif, without_input_synapse_and_membrane_decay_geometrically)
{
    const bruno_real alpha = (bruno_real)0.9, beta = (bruno_real)0.6;
    bruno_real x = 0, syn = (bruno_real)0.5, mem = (bruno_real)0.8, s = 0;
    double syn_e = syn, mem_e = mem;
    int k;
    for (k = 0; k < 30; ++k) {
        cr_assert_eq(bruno_lif_step(1, 1, alpha, beta, &x, &syn, &mem, &s), BRUNO_OK);
        syn_e = (double)beta * syn_e;
        mem_e = (double)alpha * mem_e + (1 - (double)alpha) * syn_e; /* uses the new syn */
        cr_expect(fabs(syn - syn_e) < TOL, "step %d syn %g vs %g", k, (double)syn, syn_e);
        cr_expect(fabs(mem - mem_e) < TOL, "step %d mem %g vs %g", k, (double)mem, mem_e);
        cr_expect_eq(s, 0);
    }
    /* with syn = 0, mem decays as alpha^k exactly as a geometric series */
    syn = 0;
    mem = (bruno_real)0.5;
    for (k = 0; k < 10; ++k) bruno_lif_step(1, 1, alpha, beta, &x, &syn, &mem, &s);
    cr_expect(fabs(mem - 0.5 * pow((double)alpha, 10)) < TOL);
}

Test(lif, constant_subthreshold_input_converges_to_the_input)
{
    bruno_real x = (bruno_real)0.9, syn = 0, mem = 0, s = 0;
    int k;
    for (k = 0; k < 2000; ++k) {
        cr_assert_eq(bruno_lif_step(1, 1, (bruno_real)0.95, (bruno_real)0.8, &x, &syn, &mem, &s), BRUNO_OK);
        cr_assert_eq(s, 0);
        cr_assert(mem <= x + TOL);
    }
    cr_expect(fabs(syn - 0.9) < 1e-4);
    cr_expect(fabs(mem - 0.9) < 1e-4);
}

Test(lif, spikes_exactly_when_membrane_reaches_one)
{
    /* alpha = 0.5 and syn = 1 (beta = 1 holds it): mem' = 0.5*mem + 0.5.
       mem just below 1 -> mem' just below 1 (no spike); mem = 1 -> 1 (spike). */
    bruno_real x = 0, syn = 1, mem = (bruno_real)0.99, s = 0;
    cr_assert_eq(bruno_lif_step(1, 1, (bruno_real)0.5, (bruno_real)1.0, &x, &syn, &mem, &s), BRUNO_OK);
    cr_expect_eq(s, 0);
    cr_expect(fabs(mem - 0.995) < TOL);
    mem = 1;
    cr_assert_eq(bruno_lif_step(1, 1, (bruno_real)0.5, (bruno_real)1.0, &x, &syn, &mem, &s), BRUNO_OK);
    cr_expect_eq(s, 1); /* H(0) = 1: the threshold is reached */
}

Test(lif, spike_resets_membrane_to_zero_but_keeps_synaptic_current)
{
    bruno_real x = 3, syn = 2, mem = (bruno_real)0.95, s = 0;
    double syn_e = 0.8 * 2 + 0.2 * 3;
    cr_assert_eq(bruno_lif_step(1, 1, (bruno_real)0.9, (bruno_real)0.8, &x, &syn, &mem, &s), BRUNO_OK);
    cr_expect_eq(s, 1);
    cr_expect_eq(mem, 0);
    cr_expect(fabs(syn - syn_e) < TOL);
    /* next step starts from mem = 0 */
    cr_assert_eq(bruno_lif_step(1, 1, (bruno_real)0.9, (bruno_real)0.8, &x, &syn, &mem, &s), BRUNO_OK);
    syn_e = 0.8 * syn_e + 0.2 * 3;
    cr_expect(fabs(mem - 0.1 * syn_e) < TOL);
    cr_expect_eq(s, 0);
}

Test(lif, suprathreshold_input_fires_periodically)
{
    bruno_real x = 2, syn = 2, mem = 0, s = 0;
    int k, last = -1, period = -1, n = 0, regular = 1;
    for (k = 0; k < 200; ++k) {
        bruno_lif_step(1, 1, (bruno_real)0.9, (bruno_real)0.8, &x, &syn, &mem, &s);
        if (s > 0) {
            if (last >= 0) {
                if (period >= 0 && k - last != period) regular = 0;
                period = k - last;
            }
            last = k;
            ++n;
        }
    }
    /* mem -> 2*(1 - 0.9^k) reaches 1 at k = ceil(ln 0.5 / ln 0.9) = 7 */
    cr_expect_eq(period, 7);
    cr_expect(regular);
    cr_expect(n >= 28);
}

Test(lif, batch_entries_are_updated_independently)
{
    bruno_real x[6] = {0, (bruno_real)0.5, 3, -1, 2, (bruno_real)0.1}, syn[6] = {0}, mem[6] = {0}, s[6];
    bruno_real xs, ss, ms, sp;
    int i;
    cr_assert_eq(bruno_lif_step(3, 2, (bruno_real)0.9, (bruno_real)0.8, x, syn, mem, s), BRUNO_OK);
    for (i = 0; i < 6; ++i) {
        xs = x[i]; ss = 0; ms = 0;
        bruno_lif_step(1, 1, (bruno_real)0.9, (bruno_real)0.8, &xs, &ss, &ms, &sp);
        cr_expect_eq(syn[i], ss);
        cr_expect_eq(mem[i], ms);
        cr_expect_eq(s[i], sp);
    }
}
