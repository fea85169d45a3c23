/* felif_spikes.c - the smallest use of bruno.h: one FeLIF neuron under a
   constant 1 nA for 40 network steps of 1 ms (1000 fine steps each).
   Prints the steps after which it spiked: 12 and 27 (MODELS §2 check
   values). Build: cc -std=c99 -I.. felif_spikes.c -lm */
#include <stdio.h>
#define BRUNO_IMPLEMENTATION
#include "bruno.h"

int main(void)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_pop_config pc = bruno_felif_pop_config_default(&fp, 1);
    bruno_felif_pop pop;
    bruno_real v = (bruno_real)fp.v_init, p = (bruno_real)fp.p_init, s = 0, I = (bruno_real)1e-9;
    bruno_result r;
    int k;
    if ((r = bruno_felif_pop_init(&pop, &pc)) != BRUNO_OK) {
        fprintf(stderr, "felif_spikes: %s\n", bruno_result_string(r));
        return 1;
    }
    for (k = 0; k < 40; ++k) {
        r = bruno_felif_network_step(&pop, 1, &I, &v, &p, &s, 1e-3, 1000); /* dt = 1 ms, N = 1000 */
        if (r != BRUNO_OK) break;
        if (s > 0) printf("spike after step %d (v = %.3f V, p = %.3f C/m^2)\n", k, (double)v, (double)p);
    }
    bruno_felif_pop_free(&pop);
    if (r != BRUNO_OK) fprintf(stderr, "felif_spikes: %s\n", bruno_result_string(r));
    return r == BRUNO_OK ? 0 : 1;
}
