/* fuzz_state.c - libFuzzer target for the resumable training state
   (state.bin, bench/train_util.c: train_state_decode).

   Build and run with `make fuzz-state` (clang -fsanitize=fuzzer,address,undefined).
   A SHA-256 over the payload guards the file, so raw mutations rarely get
   past the checksum; the first input byte picks a mode:
     even: the input is a whole state file, decoded as it is;
     odd:  a valid state of a small network is encoded once, the input's
           bytes 1..4 give an offset into its payload and the rest
           overwrites the payload there (or is appended); the header's
           length and checksum are then made right, so the decoder's
           checks of the values themselves are what is fuzzed.
   A decode that succeeds must leave a network and optimiser that can take
   a step (finite settings and values; bruno_optim_step returns OK or
   DIVERGED, never a crash), and a failed one must say why. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#define BRUNO_IMPLEMENTATION
#include "bruno.h"
#include "bench/train.h"

#define CONFIG "task=fuzz\nseed=1\n"

static bruno_net net;
static bruno_optim opt;
static bruno_plateau pl;
static train_buf valid;
static int ready;

static void setup(void)
{
    bruno_net_config nc = bruno_net_config_default(4);
    bruno_layer_config d = bruno_layer_config_default(BRUNO_LAYER_DENSE), l = bruno_layer_config_default(BRUNO_LAYER_LIF);
    bruno_optim_config oc = bruno_optim_config_default(BRUNO_OPTIM_ADAMAX, 1e-3);
    train_state st;
    d.n_out = 3;
    d.matrix.bias = 1;
    l.lif.train_decay = 1;
    if (bruno_net_init(&net, &nc) != BRUNO_OK || bruno_net_add(&net, &d) != BRUNO_OK ||
        bruno_net_add(&net, &l) != BRUNO_OK || bruno_optim_init(&opt, &oc, &net) != BRUNO_OK)
        abort();
    pl = bruno_plateau_default();
    memset(&st, 0, sizeof st);
    st.epochs_done = 3;
    st.best_epoch = 2;
    st.best_metric = 0.5;
    bruno_rng_seed(&st.shuffle_rng, 7);
    if (train_state_encode(&valid, CONFIG, &st, &net, &opt, &pl) != 0) abort();
    ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[384];
    train_state st;
    unsigned char *buf = NULL;
    size_t n = 0;
    int rc;
    if (!ready) setup();
    if (size == 0) return 0;
    if ((data[0] & 1) == 0) {
        buf = (unsigned char *)malloc(size - 1 + 1);
        if (!buf) return 0;
        memcpy(buf, data + 1, size - 1);
        n = size - 1;
    } else {
        size_t off = 0, len = size > 5 ? size - 5 : 0, plen;
        train_sha256 sh;
        if (size >= 5) off = (size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16 | (size_t)data[4] << 24;
        plen = valid.n - TRAIN_STATE_HEADER;
        off %= plen + 1;
        n = TRAIN_STATE_HEADER + (off + len > plen ? off + len : plen);
        buf = (unsigned char *)malloc(n);
        if (!buf) return 0;
        memcpy(buf, valid.p, valid.n < n ? valid.n : n);
        if (len) memcpy(buf + TRAIN_STATE_HEADER + off, data + 5, len);
        plen = n - TRAIN_STATE_HEADER;
        {
            uint64_t p64 = plen;
            memcpy(buf + 24, &p64, 8);
        }
        train_sha256_init(&sh);
        train_sha256_update(&sh, buf + TRAIN_STATE_HEADER, plen);
        train_sha256_final(&sh, buf + 32);
    }
    msg[0] = 0;
    rc = train_state_decode(buf, n, CONFIG, &st, &net, &opt, &pl, msg, sizeof msg);
    if (rc != 0 && msg[0] == 0) __builtin_trap();
    if (rc == 0) {
        bruno_result r;
        bruno_net_zero_grad(&net);
        if (!bruno_net_finite(&net) || st.best_epoch > st.epochs_done) __builtin_trap();
        r = bruno_optim_step(&opt, &net);
        if (r != BRUNO_OK && r != BRUNO_ERR_DIVERGED) __builtin_trap();
        (void)bruno_plateau_step(&pl, 1.0, &opt);
    }
    free(buf);
    return 0;
}
