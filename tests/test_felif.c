/* test_felif.c - the FeLIF neuron (MODELS §2). */
#include <criterion/criterion.h>
#include "bruno.h"

/* Spike steps for a constant current, MODELS §2 check table. */
static int spikes_for(double I_amps, int *steps, int max)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_pop_config pc = bruno_felif_pop_config_default(&fp, 1);
    bruno_felif_pop pop;
    bruno_real v = 0, p = (bruno_real)-fp.P_s, s = 0, I = (bruno_real)I_amps;
    int k, n = 0;
    cr_assert_eq(bruno_felif_pop_init(&pop, &pc), BRUNO_OK);
    for (k = 0; k < 40; ++k) {
        cr_assert_eq(bruno_felif_network_step(&pop, 1, &I, &v, &p, &s, 1e-3, 1000), BRUNO_OK);
        if (s > 0 && n < max) steps[n++] = k;
    }
    bruno_felif_pop_free(&pop);
    return n;
}

Test(felif, check_values_match_models_table)
{
    int st[16], n;
    n = spikes_for(0.2e-9, st, 16);
    cr_expect_eq(n, 0);
    n = spikes_for(0.5e-9, st, 16);
    cr_assert_eq(n, 1);
    cr_expect_eq(st[0], 25);
    n = spikes_for(1.0e-9, st, 16);
    cr_assert_eq(n, 2);
    cr_expect_eq(st[0], 12);
    cr_expect_eq(st[1], 27);
    n = spikes_for(2.0e-9, st, 16);
    cr_assert_eq(n, 5);
    cr_expect_eq(st[0], 6);
    cr_expect_eq(st[1], 14);
    cr_expect_eq(st[2], 22);
    cr_expect_eq(st[3], 30);
    cr_expect_eq(st[4], 38);
}
