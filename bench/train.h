/* train.h - the library-like pieces of `bruno-bench train` (bench/train_util.c):
   SHA-256, the resumable state file, key=value hyper-parameter files, the
   JSB music metrics and the terminal progress line. cmd_train.c is the
   driver around them; tests/test_train.c tests them. */
#ifndef BRUNO_BENCH_TRAIN_H
#define BRUNO_BENCH_TRAIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "bruno.h"

/* ---- SHA-256 (FIPS 180-4) ------------------------------------------------- */
typedef struct train_sha256 {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t n;
} train_sha256;

void train_sha256_init(train_sha256 *s);
void train_sha256_update(train_sha256 *s, const void *data, size_t n);
void train_sha256_final(train_sha256 *s, unsigned char out[32]);
/* hex: 65 bytes. 0 ok, -1 cannot read the file. */
int train_sha256_file(const char *path, char hex[65]);
void train_sha256_hex(const unsigned char d[32], char hex[65]);

/* ---- growable byte buffer and a bounds-checked reader ----------------------- */
typedef struct train_buf {
    unsigned char *p;
    size_t n, cap;
    int oom;
} train_buf;

void train_buf_put(train_buf *b, const void *d, size_t n);
void train_buf_u32(train_buf *b, uint32_t v);
void train_buf_u64(train_buf *b, uint64_t v);
void train_buf_f64(train_buf *b, double v);
void train_buf_str(train_buf *b, const char *s);
void train_buf_free(train_buf *b);

typedef struct train_rd {
    const unsigned char *p;
    size_t n, off;
    int bad;   /* a read went past the end */
} train_rd;

void train_rd_get(train_rd *r, void *d, size_t n);
uint32_t train_rd_u32(train_rd *r);
uint64_t train_rd_u64(train_rd *r);
double train_rd_f64(train_rd *r);
/* A string into a new malloc'ed buffer (NULL when bad). */
char *train_rd_str(train_rd *r);

/* ---- the resumable training state (state.bin) -------------------------------
   Everything the next epoch depends on: the network's parameters and RNG,
   the optimiser's moments, step count and learning rate, the shuffle RNG,
   the plateau schedule, the epoch counter, and the best result so far.
   No wall time: a resumed run's state.bin equals an uninterrupted one's.
   Layout: a 64-byte header, then the payload.
     char[8] "BRUNOTRS"; u32 version; u32 0x01020304 (byte order);
     u32 sizeof(bruno_real); u32 0; u64 payload bytes; u8[32] SHA-256 of the payload.
   The payload begins with the run's canonical configuration text (see
   cmd_train.c): a state file made by another configuration is refused,
   naming the first key that differs. */
#define TRAIN_STATE_MAGIC "BRUNOTRS"
#define TRAIN_STATE_VERSION 1u
#define TRAIN_STATE_HEADER 64

typedef struct train_state {
    uint64_t epochs_done;
    bruno_rng shuffle_rng;
    double best_metric;      /* best test accuracy (Braille) or lowest test loss (JSB) */
    uint64_t best_epoch;     /* 0: none yet */
} train_state;

/* Serialise config text + st + net + opt + plateau into *out (a fresh
   buffer; the caller frees it). */
int train_state_encode(train_buf *out, const char *config, const train_state *st, const bruno_net *net,
                       const bruno_optim *opt, const bruno_plateau *pl);
/* Check and decode. On any problem returns -1 with a message in msg and
   changes nothing; on success overwrites st, the network's parameters and
   RNG, the optimiser state and the plateau. */
int train_state_decode(const unsigned char *data, size_t n, const char *config, train_state *st, bruno_net *net,
                       bruno_optim *opt, bruno_plateau *pl, char *msg, size_t msg_size);
/* File versions: save is atomic (temp + fsync + rename); load returns 1 if
   there is no file, 0 when loaded, -1 on error (message in msg). */
int train_state_save(const char *path, const char *config, const train_state *st, const bruno_net *net,
                     const bruno_optim *opt, const bruno_plateau *pl);
int train_state_load(const char *path, const char *config, train_state *st, bruno_net *net, bruno_optim *opt,
                     bruno_plateau *pl, char *msg, size_t msg_size);

/* ---- key=value files ---------------------------------------------------------
   One "key = value" per line; '#' starts a comment; blank lines are
   skipped. Calls set(key, value, user) for each pair; returns 0, or -1
   with "file:line: ..." in msg if a line has no '=' or set() refuses it
   (set returns nonzero and may write its reason into msg). */
typedef int (*train_kv_set)(const char *key, const char *value, void *user, char *msg, size_t msg_size);
int train_kv_parse(const char *text, const char *name, train_kv_set set, void *user, char *msg, size_t msg_size);
/* Read a whole file into a NUL-terminated malloc'ed buffer (NULL on error). */
char *train_read_file(const char *path, size_t *size);

/* ---- JSB metrics (EXPERIMENTS E3) --------------------------------------------
   Logits z [T][K] of the K cropped keys (key_lo .. key_lo+K-1 of the 88),
   targets the 88-key frames [T][88] (0/1). The keys outside the crop are
   predicted with a fixed probability q_out[88] (the training-set marginal
   frequency, Laplace-smoothed: (count + 1) / (frames + 2)); the entries of
   q_out inside the crop are unused. Steps t < skip are not counted.
   Accumulates, over all 88 keys: the negative log-likelihood (nats), the
   frames counted, and TP/FP/FN of the prediction p >= 0.5. */
typedef struct train_music {
    double nll;
    uint64_t frames, tp, fp, fn;
} train_music;

void train_music_add(train_music *m, const bruno_real *z, size_t T, size_t K, size_t key_lo, const uint8_t *roll88,
                     const double *q_out, size_t skip);
double train_music_nll_per_frame(const train_music *m);   /* NaN if no frames */
double train_music_accuracy(const train_music *m);        /* TP/(TP+FP+FN); NaN if 0/0 */

/* ---- progress line on a terminal ---------------------------------------------- */
typedef struct train_progress {
    int on;                 /* stderr is a terminal */
    double t_start, t_epoch, t_last;
    int drawn;
} train_progress;

void train_progress_init(train_progress *p);
/* Redrawn at most ~5 times a second (and always on the last batch). */
void train_progress_draw(train_progress *p, uint64_t epoch, uint64_t epochs, size_t batch, size_t n_batches,
                         double loss, double epochs_left_after_this);
void train_progress_clear(train_progress *p);

#endif
