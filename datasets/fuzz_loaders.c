/* fuzz_loaders.c - libFuzzer target for the three loaders of bruno_data.h.

   Build and run with `make fuzz` (clang -fsanitize=fuzzer,address,undefined).
   Every input goes to all three loaders (the magic decides which one gets
   past the first bytes). When a load succeeds, the matching pipeline runs
   too, with its size bounded so that a valid-but-huge request is not
   mistaken for a bug by libFuzzer's malloc limit. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#define BRUNO_IMPLEMENTATION
#include "bruno.h"
#define BRUNO_DATA_IMPLEMENTATION
#include "datasets/bruno_data.h"

/* Any failure must come with a message. */
static void check_msg(bruno_result e, const char *msg)
{
    if (e != BRUNO_OK && msg[0] == 0) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[256];
    bruno_result e;
    bruno_counting_allocator ca;
    bruno_allocator a;
    bruno_counting_allocator_init(&ca, NULL);
    a = bruno_counting_allocator_get(&ca);

    {
        bruno_data_jsb d;
        e = bruno_data_jsb_load_mem(&d, data, size, "fuzz", &a, msg, sizeof msg);
        check_msg(e, msg);
        if (e == BRUNO_OK) {
            bruno_data_jsb_seqs s;
            int sp;
            for (sp = 0; sp < 3; ++sp)
                if (bruno_data_jsb_prepare(&d, sp, 22, 54, &a, &s, msg, sizeof msg) == BRUNO_OK)
                    bruno_data_jsb_seqs_free(&s);
        }
        bruno_data_jsb_free(&d);
    }
    {
        bruno_data_braille_events d;
        e = bruno_data_braille_events_load_mem(&d, data, size, "fuzz", &a, msg, sizeof msg);
        check_msg(e, msg);
        if (e == BRUNO_OK) {
            bruno_data_braille_events_config cfg = bruno_data_braille_events_config_default();
            bruno_data_seq tr, te;
            uint64_t mb = 0;
            cfg.allocator = a;
            if (bruno_data_braille_events_max_bin(&d, cfg.bin_s, &mb) == BRUNO_OK && mb < 4096 &&
                (uint64_t)d.n_samples * (mb + 1) <= 65536 &&
                bruno_data_braille_events_prepare(&d, &cfg, &tr, &te, NULL, msg, sizeof msg) == BRUNO_OK) {
                bruno_data_seq_free(&tr);
                bruno_data_seq_free(&te);
            }
            {
                bruno_data_braille_raw r; /* a fixed short window keeps it small */
                if (bruno_data_braille_events_to_raw(&d, 8, &a, &r, msg, sizeof msg) == BRUNO_OK)
                    bruno_data_braille_raw_free(&r);
            }
        }
        bruno_data_braille_events_free(&d);
    }
    {
        bruno_data_braille_raw d;
        e = bruno_data_braille_raw_load_mem(&d, data, size, "fuzz", &a, msg, sizeof msg);
        check_msg(e, msg);
        if (e == BRUNO_OK) {
            bruno_data_braille_raw_config cfg = bruno_data_braille_raw_config_default();
            bruno_data_seq tr, te;
            cfg.allocator = a;
            cfg.stratified = (int)(size & 1);
            if (bruno_data_braille_raw_prepare(&d, &cfg, &tr, &te, msg, sizeof msg) == BRUNO_OK) {
                bruno_data_seq_free(&tr);
                bruno_data_seq_free(&te);
            }
        }
        bruno_data_braille_raw_free(&d);
    }
    if (ca.live_bytes != 0) __builtin_trap(); /* everything freed on every path */
    return 0;
}
