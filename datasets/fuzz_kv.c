/* fuzz_kv.c - libFuzzer target for the key=value hyper-parameter reader
   (bench/train_util.c: train_kv_parse) and the one strict number parser
   every option and hparams value goes through (bench/util.c:
   bench_parse_u64, bench_parse_double).

   Build and run with `make fuzz-kv` (clang -fsanitize=fuzzer,address,undefined).
   Properties checked for every pair the reader hands out: key and value
   are trimmed and non-empty-keyed, contain no '#' and no newline; a value
   the integer parser accepts is digits only and prints back to itself
   (modulo leading zeros); a value the real parser accepts is finite. A
   refused file must name its line. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define BRUNO_IMPLEMENTATION
#include "bruno.h"
#include "bench/bench.h"
#include "bench/train.h"

static int check_pair(const char *key, const char *value, void *user, char *msg, size_t msg_size)
{
    uint64_t u;
    double d;
    size_t i;
    (void)user;
    if (strchr(key, '#') || strchr(value, '#') || strchr(key, '\n') || strchr(value, '\n')) __builtin_trap();
    if (strchr(key, '=') != NULL) __builtin_trap(); /* the first '=' splits */
    if (*key == ' ' || *value == ' ' || (*value && value[strlen(value) - 1] == ' ')) __builtin_trap();
    if (bench_parse_u64(value, UINT64_MAX, &u) == 0) {
        char back[32];
        const char *v = value;
        for (i = 0; value[i]; ++i)
            if (value[i] < '0' || value[i] > '9') __builtin_trap();
        while (v[0] == '0' && v[1]) ++v;
        snprintf(back, sizeof back, "%llu", (unsigned long long)u);
        if (strcmp(back, v) != 0) __builtin_trap();
        if (bench_parse_u64(value, 1000, &u) == 0 && u > 1000) __builtin_trap();
    }
    if (bench_parse_double(value, &d) == 0 && !isfinite(d)) __builtin_trap();
    /* refuse one key so that the error path runs too */
    if (strcmp(key, "bad") == 0) {
        snprintf(msg, msg_size, "refused");
        return -1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[512], *text = (char *)malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    msg[0] = 0;
    if (train_kv_parse(text, "fuzz.txt", check_pair, NULL, msg, sizeof msg) != 0 && strncmp(msg, "fuzz.txt:", 9) != 0)
        __builtin_trap();
    free(text);
    return 0;
}
