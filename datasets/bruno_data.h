/* bruno_data.h - loaders and preprocessing for the bruno benchmark data sets
   (JSB chorales, tactile Braille letters). Same conventions as bruno.h,
   which it includes: bruno_result codes, bruno_allocator, bruno_rng,
   bruno_real, SI units (every time in seconds).

   USAGE
   -----
   In exactly one C or C++ file (after BRUNO_IMPLEMENTATION somewhere):

       #define BRUNO_DATA_IMPLEMENTATION
       #include "datasets/bruno_data.h"

       char msg[256];
       bruno_data_braille_raw raw;
       bruno_data_seq train, test;
       bruno_data_braille_raw_config cfg = bruno_data_braille_raw_config_default();
       if (bruno_data_braille_raw_load(&raw, "datasets/data/braille/braille_raw2021_40hz.bin",
                                       NULL, msg, sizeof msg) != BRUNO_OK) { puts(msg); return 1; }
       if (bruno_data_braille_raw_prepare(&raw, &cfg, &train, &test, msg, sizeof msg) != BRUNO_OK) ...
       // train.x is [train.n_samples][train.n_steps][train.n_channels], train.label[n_samples]
       bruno_data_seq_free(&train); bruno_data_seq_free(&test); bruno_data_braille_raw_free(&raw);

   The files come from `make datasets` (datasets/fetch.sh), which verifies
   their sha256; datasets/convert.py makes them from the published originals.

   FILE FORMATS (all little-endian; full description in
   ../shared/datasets/{jsb_chorales,braille}/README.md)
   -----------------------------------------------------------------------
   JSBP (jsb_*.bin):
       char[4] "JSBP"; u32 version=1, n_keys=88, lowest_midi=21, n_splits=3, reserved=0;
       per split (train, valid, test): u32 n_seqs; per piece: u32 T; u8 roll[T][88] (0/1).
   BRAILEV1 (braille_th10_events.bin):
       char[8] "BRAILEV1"; u32 n_samples, n_taxels=12, n_polarities=2, n_classes=27;
       f64 threshold, f64 source rate [Hz]; char[27][8] class names (NUL padded);
       per sample: u32 label, u32 n_events, n_events x {f64 t [s], u32 taxel, u32 polarity},
       records sorted by (t, taxel, polarity).
   BRAILRW1 (braille_raw*.bin):
       char[8] "BRAILRW1"; u32 n_samples, n_taxels=12, n_classes=27, reserved=0;
       f64 rate [Hz]; char[27][8] class names;
       per sample: u32 label, u32 repetition, u32 n_frames, u8 value[n_frames][12].
   Every file ends exactly after its last record.

   VALIDATION
   ----------
   The loaders trust nothing in a file. Every count is checked against the
   bytes that remain BEFORE anything is allocated (a corrupt count cannot
   cause a huge allocation), every index against its range, every time for
   being finite and ordered, and the file must end exactly after the last
   record. A first pass validates the whole buffer without allocating; the
   second pass decodes into exactly-sized arrays. On error the result is
   BRUNO_ERR_IO (cannot read), BRUNO_ERR_FORMAT (malformed) or
   BRUNO_ERR_NOMEM, the output object is left zeroed (nothing to free), and
   msg receives "<file>: <what is wrong>".

   CONFIGURATION: BRUNO_DATA_IMPLEMENTATION compiles the implementation.
   Public names bruno_data_, internal bruno_data__.

   VERSION HISTORY: 0.1.0 loaders, Braille raw/event and JSB pipelines, approximate raw
   readings rebuilt from events.
*/
#ifndef BRUNO_DATA_H
#define BRUNO_DATA_H

#include <stddef.h>
#include <stdint.h>
#include "bruno.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BRUNO_DATA_BRAILLE_TAXELS 12
#define BRUNO_DATA_BRAILLE_POLARITIES 2
#define BRUNO_DATA_BRAILLE_CLASSES 27     /* 0 = Space, 1 = A, ..., 26 = Z */
#define BRUNO_DATA_JSB_KEYS 88
#define BRUNO_DATA_JSB_SPLITS 3
/* Bounds on what a file's values may make the pipelines allocate (the
   counts are bounded by the file's size; these bound the values): the
   latest event time of a Braille recording (the recordings last ~1.3 s),
   and the bytes of one dense [samples][steps][channels] array. */
#ifndef BRUNO_DATA_BRAILLE_MAX_EVENT_S
#define BRUNO_DATA_BRAILLE_MAX_EVENT_S 10.0
#endif
#ifndef BRUNO_DATA_MAX_DENSE_BYTES
#define BRUNO_DATA_MAX_DENSE_BYTES 4294967296.0
#endif

enum { BRUNO_DATA_TRAIN = 0, BRUNO_DATA_VALID = 1, BRUNO_DATA_TEST = 2 };

/* ---- JSB chorales (JSBP) --------------------------------------------------- */
typedef struct bruno_data_jsb_split {
    uint32_t n_seqs;      /* pieces */
    uint32_t *len;        /* [n_seqs] frames T of each piece */
    size_t *offset;       /* [n_seqs] first frame of piece i in roll */
    size_t n_frames;      /* sum of len */
    uint8_t *roll;        /* [n_frames][n_keys], 1 = key sounds */
} bruno_data_jsb_split;

typedef struct bruno_data_jsb {
    uint32_t n_keys;      /* 88 */
    uint32_t lowest_midi; /* 21: key k is MIDI note 21 + k */
    bruno_data_jsb_split split[BRUNO_DATA_JSB_SPLITS]; /* BRUNO_DATA_TRAIN/VALID/TEST */
    bruno_allocator allocator;
} bruno_data_jsb;

/* ---- Braille events (BRAILEV1) ---------------------------------------------- */
typedef struct bruno_data_braille_events {
    uint32_t n_samples, n_taxels, n_polarities, n_classes;
    double threshold;        /* sigma-delta threshold of the encoder (10) */
    double source_rate_hz;   /* 40 Hz */
    char class_names[BRUNO_DATA_BRAILLE_CLASSES][9];
    uint32_t *label;         /* [n_samples] */
    size_t *first;           /* [n_samples + 1]: events of sample i are first[i] .. first[i+1]-1 */
    size_t n_events;
    double *t;               /* [n_events] seconds from the start of the sample */
    uint8_t *taxel;          /* [n_events] 0..11 */
    uint8_t *polarity;       /* [n_events] 0 = ON, 1 = OFF */
    bruno_allocator allocator;
} bruno_data_braille_events;

/* ---- Braille raw analog readings (BRAILRW1) --------------------------------- */
typedef struct bruno_data_braille_raw {
    uint32_t n_samples, n_taxels, n_classes;
    double rate_hz;          /* frames per second (40) */
    char class_names[BRUNO_DATA_BRAILLE_CLASSES][9];
    uint32_t *label;         /* [n_samples] */
    uint32_t *repetition;    /* [n_samples] */
    uint32_t *n_frames;      /* [n_samples] */
    size_t *offset;          /* [n_samples] first frame of sample i in value */
    size_t total_frames;
    uint8_t *value;          /* [total_frames][n_taxels], 255 = no contact */
    bruno_allocator allocator;
} bruno_data_braille_raw;

/* Loaders. allocator may be NULL (malloc/free). name (for _mem) is used in
   messages only and may be NULL. msg may be NULL or msg_size 0. On failure
   *out is zeroed and nothing needs freeing; the *_free functions accept a
   zeroed object and zero it again. */
BRUNO_API bruno_result bruno_data_jsb_load(bruno_data_jsb *out, const char *path,
                                           const bruno_allocator *allocator, char *msg, size_t msg_size);
BRUNO_API bruno_result bruno_data_jsb_load_mem(bruno_data_jsb *out, const void *data, size_t size,
                                               const char *name, const bruno_allocator *allocator,
                                               char *msg, size_t msg_size);
BRUNO_API void bruno_data_jsb_free(bruno_data_jsb *d);

BRUNO_API bruno_result bruno_data_braille_events_load(bruno_data_braille_events *out, const char *path,
                                                      const bruno_allocator *allocator, char *msg,
                                                      size_t msg_size);
BRUNO_API bruno_result bruno_data_braille_events_load_mem(bruno_data_braille_events *out, const void *data,
                                                          size_t size, const char *name,
                                                          const bruno_allocator *allocator, char *msg,
                                                          size_t msg_size);
BRUNO_API void bruno_data_braille_events_free(bruno_data_braille_events *d);

BRUNO_API bruno_result bruno_data_braille_raw_load(bruno_data_braille_raw *out, const char *path,
                                                   const bruno_allocator *allocator, char *msg,
                                                   size_t msg_size);
BRUNO_API bruno_result bruno_data_braille_raw_load_mem(bruno_data_braille_raw *out, const void *data,
                                                       size_t size, const char *name,
                                                       const bruno_allocator *allocator, char *msg,
                                                       size_t msg_size);
BRUNO_API void bruno_data_braille_raw_free(bruno_data_braille_raw *d);

/* ---- Dense sequences for a trainer ------------------------------------------- */
/* Equal-length sequences with one label each: x is [n_samples][n_steps][n_channels]. */
typedef struct bruno_data_seq {
    size_t n_samples, n_steps, n_channels;
    bruno_real *x;             /* [n_samples][n_steps][n_channels] */
    uint32_t *label;           /* [n_samples] class index */
    uint32_t *source_index;    /* [n_samples] index of the sample in the loaded file */
    uint32_t n_classes;
    double step_s;             /* real time one step covers in the recording [s] */
    bruno_allocator allocator;
} bruno_data_seq;

BRUNO_API void bruno_data_seq_free(bruno_data_seq *s);

/* Braille raw pipeline (EXPERIMENTS.md E2, the BRUNO authors' pipeline):
   x = 1 - raw/255; crop every sample to the shortest one; keep the taxels
   listed; z-score each channel over all samples and frames (population
   s.d., divided by sd + sd_eps); FFT-upsample by `upsample` (scipy.signal.
   resample semantics); shuffle with `seed` and split. As in the authors'
   code, the z-score statistics come from the whole file, before the split.

   Validation carve (val_fraction > 0, for hyper-parameter selection): the
   training split is split again, stratified by class with val_seed, every
   class giving n_c - round((1 - val_fraction) * n_c) of its training
   samples to validation. train receives the training split minus those,
   test receives the validation samples, and the test split is never read:
   the crop length and the z-score statistics come from the training split
   only (train + validation, as the default takes them from train + test). */
typedef struct bruno_data_braille_raw_config {
    uint32_t taxels[BRUNO_DATA_BRAILLE_TAXELS]; /* default {1, 2, 6, 10} */
    uint32_t n_taxels;                          /* default 4 */
    uint32_t upsample;                          /* k >= 1, default 2 */
    double sd_eps;                              /* default 1e-3 */
    double train_fraction;                      /* default 0.8; n_train = round(f * n) */
    int stratified;                             /* 0 (default): one shuffle of all samples, as the authors;
                                                   1: f of every class goes to train */
    uint64_t seed;                              /* shuffle seed (default 0) */
    double val_fraction;                        /* 0 (default): train/test; in (0, 1): train minus val / val */
    uint64_t val_seed;                          /* seed of the validation carve (default 0) */
    bruno_allocator allocator;                  /* zeroed: malloc/free */
} bruno_data_braille_raw_config;

BRUNO_API bruno_data_braille_raw_config bruno_data_braille_raw_config_default(void);
/* On success train and test own their memory (bruno_data_seq_free each). */
BRUNO_API bruno_result bruno_data_braille_raw_prepare(const bruno_data_braille_raw *raw,
                                                      const bruno_data_braille_raw_config *cfg,
                                                      bruno_data_seq *train, bruno_data_seq *test,
                                                      char *msg, size_t msg_size);

/* Braille event pipeline: 24 channels (channel = 2*taxel + polarity),
   binary bins of bin_s seconds: bin = round-half-even(t / bin_s), computed
   in milliseconds as t*1000 / (bin_s*1000) exactly like the authors'
   notebook (round(t*1000/5)); the plain quotient t/5e-3 rounds differently
   for about 1 in 200 events. Several events of one channel in one bin give
   a single 1. Events at bin >= n_steps are dropped (counted in stats).
   Default split: stratified 80/20 (each class split 160/40 for 200
   samples; the train and test sets are then shuffled), seeded.
   val_fraction > 0: the validation carve of the raw pipeline (train gets
   the training split minus validation, test the validation samples; the
   test split is never read, n_steps = 0 takes the largest bin of the
   training split's events only). */
typedef struct bruno_data_braille_events_config {
    double bin_s;            /* default 5e-3 s */
    uint32_t n_steps;        /* 0 (default): max bin + 1 over the whole file */
    double train_fraction;   /* default 0.8 */
    int stratified;          /* default 1 */
    uint64_t seed;           /* default 0 */
    double val_fraction;     /* 0 (default): train/test; in (0, 1): train minus val / val */
    uint64_t val_seed;       /* seed of the validation carve (default 0) */
    bruno_allocator allocator;
} bruno_data_braille_events_config;

typedef struct bruno_data_events_stats {
    size_t n_events;         /* events in the file */
    size_t n_merged;         /* events that fell into an already set bin */
    size_t n_dropped;        /* events at bin >= n_steps */
    uint64_t max_bin;        /* largest bin index in the file */
} bruno_data_events_stats;

BRUNO_API bruno_data_braille_events_config bruno_data_braille_events_config_default(void);
/* Largest bin index over all events (to size n_steps before allocating). */
BRUNO_API bruno_result bruno_data_braille_events_max_bin(const bruno_data_braille_events *ev, double bin_s,
                                                         uint64_t *max_bin);
/* stats may be NULL. */
BRUNO_API bruno_result bruno_data_braille_events_prepare(const bruno_data_braille_events *ev,
                                                         const bruno_data_braille_events_config *cfg,
                                                         bruno_data_seq *train, bruno_data_seq *test,
                                                         bruno_data_events_stats *stats, char *msg,
                                                         size_t msg_size);

/* APPROXIMATE raw readings rebuilt from sigma-delta events (offered as an
   option because the 5400-sample raw file is not available): per taxel the
   level x(t) = threshold * (#ON - #OFF events up to t) is sampled at the
   source rate (frame k at k / rate seconds, an event at t counts from the
   first frame at or after t) and turned back into a reading
   r = 255 - x, clamped to 0..255 (the encoder used x = |255 - r|). This is
   x quantised to the threshold (10 of 255 for the theta = 10 file), not
   the recorded signal; and the true starting level is unknown (the sum
   starts at 0 = no contact): in the theta = 10 file it goes below 0, so
   clamps at 255, in 11666 of the 64800 taxel traces. n_frames = 0: ceil(latest event * rate) + 1 frames
   for every sample. Labels are copied; repetition = index within its
   class. The result is an ordinary bruno_data_braille_raw (free it with
   bruno_data_braille_raw_free) that bruno_data_braille_raw_prepare takes. */
BRUNO_API bruno_result bruno_data_braille_events_to_raw(const bruno_data_braille_events *ev, uint32_t n_frames,
                                                        const bruno_allocator *allocator,
                                                        bruno_data_braille_raw *out, char *msg, size_t msg_size);

/* JSB pipeline (EXPERIMENTS.md E3): keys key_lo .. key_lo+n_keys-1 of the
   88 (default 22, 54: MIDI 43..96), input = frames 0..T-2, target = frames
   1..T-1 of each piece. Pieces differ in length, so the steps of all
   pieces are stored back to back: piece i has n_steps[i] = T-1 steps
   starting at step offset[i]; x and y are [total_steps][n_keys]. */
typedef struct bruno_data_jsb_seqs {
    size_t n_seqs, n_keys, total_steps;
    size_t *n_steps;          /* [n_seqs] */
    size_t *offset;           /* [n_seqs] */
    bruno_real *x;            /* [total_steps][n_keys] input (frame t) */
    bruno_real *y;            /* [total_steps][n_keys] target (frame t+1) */
    size_t n_dropped_notes;   /* active notes of the split outside the crop */
    bruno_allocator allocator;
} bruno_data_jsb_seqs;

#define BRUNO_DATA_JSB_KEY_LO 22
#define BRUNO_DATA_JSB_CROP_KEYS 54

/* Validation carve for hyper-parameter selection, in place: a seeded
   choice of n - round((1 - val_fraction) * n) whole pieces of the training
   split (n pieces) becomes split VALID (replacing the file's own
   validation pieces), the other pieces stay TRAIN, both in file order;
   split TEST is freed and left empty, so nothing afterwards can read it.
   val_fraction in (0, 1). On error d is unchanged. */
BRUNO_API bruno_result bruno_data_jsb_holdout(bruno_data_jsb *d, double val_fraction, uint64_t val_seed, char *msg,
                                              size_t msg_size);

/* split: BRUNO_DATA_TRAIN/VALID/TEST. allocator may be NULL. */
BRUNO_API bruno_result bruno_data_jsb_prepare(const bruno_data_jsb *d, int split, uint32_t key_lo,
                                              uint32_t n_keys, const bruno_allocator *allocator,
                                              bruno_data_jsb_seqs *out, char *msg, size_t msg_size);
BRUNO_API void bruno_data_jsb_seqs_free(bruno_data_jsb_seqs *s);

/* FFT resampling of a real signal x[n] to y[num], num >= n, with the
   semantics of scipy.signal.resample (periodic band-limited interpolation;
   for even n the Nyquist bin is split in half between +n/2 and -n/2).
   Computed as a direct DFT in double, O(n * (n + num)): meant for n up to
   a few hundred. work needs 2*n + 2*num doubles (NULL: allocated through
   allocator, which may be NULL). */
BRUNO_API bruno_result bruno_data_resample_fft(const double *x, size_t n, double *y, size_t num,
                                               double *work, const bruno_allocator *allocator);

#ifdef __cplusplus
}
#endif
#endif /* BRUNO_DATA_H */

/* ======================================================================== */
/* IMPLEMENTATION                                                           */
/* ======================================================================== */
#ifdef BRUNO_DATA_IMPLEMENTATION
#ifndef BRUNO_DATA_IMPLEMENTATION_DONE
#define BRUNO_DATA_IMPLEMENTATION_DONE

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- messages ------------------------------------------------------------ */
static void bruno_data__vmsg(char *msg, size_t msg_size, const char *name, const char *fmt, va_list ap)
{
    int k;
    if (!msg || msg_size == 0) return;
    k = snprintf(msg, msg_size, "%s: ", name ? name : "(memory)");
    if (k < 0) k = 0;
    if ((size_t)k < msg_size) vsnprintf(msg + k, msg_size - (size_t)k, fmt, ap);
}

static void bruno_data__msg(char *msg, size_t msg_size, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bruno_data__vmsg(msg, msg_size, name, fmt, ap);
    va_end(ap);
}

static int bruno_data__finite(double x) { return x == x && x - x == 0.0; }

/* ---- little-endian reader --------------------------------------------------- */
typedef struct bruno_data__rd {
    const unsigned char *p;
    size_t n, pos;
    const char *name;
    char *msg;
    size_t msg_size;
} bruno_data__rd;

static size_t bruno_data__left(const bruno_data__rd *r) { return r->n - r->pos; }

/* A truncation message: what was being read, where, and how much is missing. */
static bruno_result bruno_data__trunc(bruno_data__rd *r, size_t need, const char *fmt, ...)
{
    char what[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    bruno_data__msg(r->msg, r->msg_size, r->name,
                    "truncated: %s needs %lu bytes at offset %lu but the file has %lu bytes", what,
                    (unsigned long)need, (unsigned long)r->pos, (unsigned long)r->n);
    return BRUNO_ERR_FORMAT;
}

static bruno_result bruno_data__bad(bruno_data__rd *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bruno_data__vmsg(r->msg, r->msg_size, r->name, fmt, ap);
    va_end(ap);
    return BRUNO_ERR_FORMAT;
}

/* Callers check bruno_data__left() first; these never read past the end. */
static uint32_t bruno_data__u32(bruno_data__rd *r)
{
    const unsigned char *q = r->p + r->pos;
    r->pos += 4;
    return (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
}

static double bruno_data__f64(bruno_data__rd *r)
{
    const unsigned char *q = r->p + r->pos;
    uint64_t u = 0;
    double d;
    int i;
    for (i = 7; i >= 0; --i) u = u << 8 | q[i];
    r->pos += 8;
    memcpy(&d, &u, sizeof d); /* IEEE 754 binary64 assumed, as everywhere bruno runs */
    return d;
}

/* Class names: 27 entries of 8 bytes, printable ASCII, NUL padded. */
static bruno_result bruno_data__names(bruno_data__rd *r, char names[][9], uint32_t n)
{
    uint32_t k;
    size_t i, len;
    if (bruno_data__left(r) < (size_t)n * 8) return bruno_data__trunc(r, (size_t)n * 8, "the class name table");
    for (k = 0; k < n; ++k) {
        const unsigned char *q = r->p + r->pos + (size_t)k * 8;
        for (len = 0; len < 8 && q[len]; ++len)
            if (q[len] < 0x20 || q[len] > 0x7e)
                return bruno_data__bad(r, "class name %u: byte 0x%02x is not printable ASCII", (unsigned)k,
                                       (unsigned)q[len]);
        if (len == 0) return bruno_data__bad(r, "class name %u is empty", (unsigned)k);
        if (len == 8) return bruno_data__bad(r, "class name %u is not NUL terminated within 8 bytes", (unsigned)k);
        for (i = len; i < 8; ++i)
            if (q[i]) return bruno_data__bad(r, "class name %u: non-zero padding byte after the name", (unsigned)k);
        if (names) {
            memcpy(names[k], q, len);
            names[k][len] = 0;
        }
    }
    r->pos += (size_t)n * 8;
    return BRUNO_OK;
}

static bruno_result bruno_data__magic(bruno_data__rd *r, const char *magic, size_t len)
{
    size_t i;
    if (bruno_data__left(r) < len) return bruno_data__trunc(r, len, "the magic \"%s\"", magic);
    for (i = 0; i < len; ++i)
        if (r->p[i] != (unsigned char)magic[i])
            return bruno_data__bad(r, "not a %s file (wrong magic at byte %lu)", magic, (unsigned long)i);
    r->pos = len;
    return BRUNO_OK;
}

/* Checks that a header field has its only valid value. */
static bruno_result bruno_data__expect(bruno_data__rd *r, const char *field, uint32_t got, uint32_t want)
{
    if (got != want) return bruno_data__bad(r, "%s is %lu, expected %lu", field, (unsigned long)got, (unsigned long)want);
    return BRUNO_OK;
}

static bruno_result bruno_data__trailing(bruno_data__rd *r)
{
    if (r->pos != r->n)
        return bruno_data__bad(r, "%lu trailing bytes after the last record (offset %lu)",
                               (unsigned long)(r->n - r->pos), (unsigned long)r->pos);
    return BRUNO_OK;
}

/* ---- reading a whole file ----------------------------------------------------- */
static bruno_result bruno_data__read_file(const char *path, const bruno_allocator *a, unsigned char **buf,
                                          size_t *size, char *msg, size_t msg_size)
{
    FILE *f;
    long end;
    size_t n, got;
    unsigned char *p;
    *buf = NULL;
    *size = 0;
    if (!path) {
        bruno_data__msg(msg, msg_size, "(null)", "no path given");
        return BRUNO_ERR_ARG;
    }
    f = fopen(path, "rb");
    if (!f) {
        bruno_data__msg(msg, msg_size, path, "cannot open (missing? run `make datasets`)");
        return BRUNO_ERR_IO;
    }
    /* A directory opens fine on POSIX but fails on the first read; find
       out before trusting ftell (which reports LONG_MAX for it). */
    if ((fgetc(f) == EOF && ferror(f)) || fseek(f, 0, SEEK_END) != 0 || (end = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        bruno_data__msg(msg, msg_size, path, "cannot determine the file size (not a regular file?)");
        return BRUNO_ERR_IO;
    }
    n = (size_t)end;
    p = (unsigned char *)bruno_alloc(a, n, 1);
    if (!p) {
        fclose(f);
        bruno_data__msg(msg, msg_size, path, "out of memory reading %lu bytes", (unsigned long)n);
        return BRUNO_ERR_NOMEM;
    }
    got = n ? fread(p, 1, n, f) : 0;
    if (got != n || fgetc(f) != EOF || ferror(f)) {
        fclose(f);
        bruno_free(a, p, n, 1);
        bruno_data__msg(msg, msg_size, path, "read error (file changed while reading?)");
        return BRUNO_ERR_IO;
    }
    fclose(f);
    *buf = p;
    *size = n;
    return BRUNO_OK;
}

static bruno_allocator bruno_data__alloc_of(const bruno_allocator *a)
{
    if (a && a->alloc && a->free) return *a;
    return bruno_allocator_default();
}

#define BRUNO_DATA__ALLOC(a, n, T) ((T *)bruno_alloc(&(a), (n), sizeof(T)))
#define BRUNO_DATA__FREE(a, p, n) bruno_free(&(a), (p), (n), sizeof *(p))

/* ======================================================================== */
/* JSB                                                                      */
/* ======================================================================== */
#define BRUNO_DATA__JSB_HEADER 24
static const char *const bruno_data__split_names[3] = {"train", "valid", "test"};

BRUNO_API void bruno_data_jsb_free(bruno_data_jsb *d)
{
    int s;
    if (!d) return;
    for (s = 0; s < BRUNO_DATA_JSB_SPLITS; ++s) {
        bruno_data_jsb_split *sp = &d->split[s];
        BRUNO_DATA__FREE(d->allocator, sp->len, sp->n_seqs);
        BRUNO_DATA__FREE(d->allocator, sp->offset, sp->n_seqs);
        bruno_free(&d->allocator, sp->roll, sp->n_frames, d->n_keys);
    }
    memset(d, 0, sizeof *d);
}

/* Pass 1: validate everything and count, without allocating. */
static bruno_result bruno_data__jsb_scan(bruno_data__rd *r, uint32_t n_seqs[3], size_t n_frames[3])
{
    bruno_result e;
    uint32_t s, i, T, version, keys, lo, splits, reserved;
    size_t k, bytes;
    if ((e = bruno_data__magic(r, "JSBP", 4)) != BRUNO_OK) return e;
    if (bruno_data__left(r) < 20) return bruno_data__trunc(r, 20, "the header");
    version = bruno_data__u32(r);
    keys = bruno_data__u32(r);
    lo = bruno_data__u32(r);
    splits = bruno_data__u32(r);
    reserved = bruno_data__u32(r);
    if ((e = bruno_data__expect(r, "version", version, 1)) != BRUNO_OK) return e;
    if ((e = bruno_data__expect(r, "n_keys", keys, BRUNO_DATA_JSB_KEYS)) != BRUNO_OK) return e;
    if ((e = bruno_data__expect(r, "lowest_midi", lo, 21)) != BRUNO_OK) return e;
    if ((e = bruno_data__expect(r, "n_splits", splits, BRUNO_DATA_JSB_SPLITS)) != BRUNO_OK) return e;
    if ((e = bruno_data__expect(r, "reserved", reserved, 0)) != BRUNO_OK) return e;
    for (s = 0; s < BRUNO_DATA_JSB_SPLITS; ++s) {
        const char *sn = bruno_data__split_names[s];
        if (bruno_data__left(r) < 4) return bruno_data__trunc(r, 4, "%s n_seqs", sn);
        n_seqs[s] = bruno_data__u32(r);
        /* each piece takes at least 4 + 88 bytes */
        if (n_seqs[s] > bruno_data__left(r) / (4 + BRUNO_DATA_JSB_KEYS))
            return bruno_data__bad(r, "%s: n_seqs %lu cannot fit in the %lu bytes that remain", sn,
                                   (unsigned long)n_seqs[s], (unsigned long)bruno_data__left(r));
        n_frames[s] = 0;
        for (i = 0; i < n_seqs[s]; ++i) {
            if (bruno_data__left(r) < 4) return bruno_data__trunc(r, 4, "%s piece %lu length", sn, (unsigned long)i);
            T = bruno_data__u32(r);
            if (T == 0) return bruno_data__bad(r, "%s piece %lu: 0 frames", sn, (unsigned long)i);
            if (T > bruno_data__left(r) / BRUNO_DATA_JSB_KEYS)
                return bruno_data__trunc(r, (size_t)T * BRUNO_DATA_JSB_KEYS, "%s piece %lu (%lu frames)", sn,
                                         (unsigned long)i, (unsigned long)T);
            bytes = (size_t)T * BRUNO_DATA_JSB_KEYS;
            for (k = 0; k < bytes; ++k)
                if (r->p[r->pos + k] > 1)
                    return bruno_data__bad(r, "%s piece %lu frame %lu key %lu: note byte %u is not 0 or 1", sn,
                                           (unsigned long)i, (unsigned long)(k / BRUNO_DATA_JSB_KEYS),
                                           (unsigned long)(k % BRUNO_DATA_JSB_KEYS), (unsigned)r->p[r->pos + k]);
            r->pos += bytes;
            n_frames[s] += T;
        }
    }
    return bruno_data__trailing(r);
}

BRUNO_API bruno_result bruno_data_jsb_load_mem(bruno_data_jsb *out, const void *data, size_t size,
                                               const char *name, const bruno_allocator *allocator,
                                               char *msg, size_t msg_size)
{
    bruno_data__rd r;
    bruno_result e;
    uint32_t n_seqs[3] = {0, 0, 0};
    size_t n_frames[3] = {0, 0, 0};
    int s;
    uint32_t i;
    if (msg && msg_size) msg[0] = 0;
    if (!out) return BRUNO_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!data && size) return BRUNO_ERR_ARG;
    r.p = (const unsigned char *)data;
    r.n = size;
    r.pos = 0;
    r.name = name;
    r.msg = msg;
    r.msg_size = msg_size;
    if ((e = bruno_data__jsb_scan(&r, n_seqs, n_frames)) != BRUNO_OK) return e;

    /* Pass 2: the layout is known to be valid; decode. */
    out->allocator = bruno_data__alloc_of(allocator);
    out->n_keys = BRUNO_DATA_JSB_KEYS;
    out->lowest_midi = 21;
    for (s = 0; s < BRUNO_DATA_JSB_SPLITS; ++s) {
        bruno_data_jsb_split *sp = &out->split[s];
        sp->len = BRUNO_DATA__ALLOC(out->allocator, n_seqs[s], uint32_t);
        sp->offset = BRUNO_DATA__ALLOC(out->allocator, n_seqs[s], size_t);
        sp->roll = (uint8_t *)bruno_alloc(&out->allocator, n_frames[s], BRUNO_DATA_JSB_KEYS);
        /* sizes are recorded even when an allocation failed so free is exact */
        sp->n_seqs = n_seqs[s];
        sp->n_frames = n_frames[s];
        if (!sp->len || !sp->offset || !sp->roll) {
            bruno_data_jsb_free(out);
            bruno_data__msg(msg, msg_size, name, "out of memory");
            return BRUNO_ERR_NOMEM;
        }
    }
    r.pos = BRUNO_DATA__JSB_HEADER;
    for (s = 0; s < BRUNO_DATA_JSB_SPLITS; ++s) {
        bruno_data_jsb_split *sp = &out->split[s];
        size_t f = 0;
        r.pos += 4;
        for (i = 0; i < sp->n_seqs; ++i) {
            uint32_t T = bruno_data__u32(&r);
            sp->len[i] = T;
            sp->offset[i] = f;
            memcpy(sp->roll + f * BRUNO_DATA_JSB_KEYS, r.p + r.pos, (size_t)T * BRUNO_DATA_JSB_KEYS);
            r.pos += (size_t)T * BRUNO_DATA_JSB_KEYS;
            f += T;
        }
    }
    return BRUNO_OK;
}

/* ======================================================================== */
/* Braille events                                                           */
/* ======================================================================== */
#define BRUNO_DATA__EV_HEADER (40 + 27 * 8)
#define BRUNO_DATA__EV_RECORD 16

BRUNO_API void bruno_data_braille_events_free(bruno_data_braille_events *d)
{
    if (!d) return;
    BRUNO_DATA__FREE(d->allocator, d->label, d->n_samples);
    if (d->first) BRUNO_DATA__FREE(d->allocator, d->first, (size_t)d->n_samples + 1);
    BRUNO_DATA__FREE(d->allocator, d->t, d->n_events);
    BRUNO_DATA__FREE(d->allocator, d->taxel, d->n_events);
    BRUNO_DATA__FREE(d->allocator, d->polarity, d->n_events);
    memset(d, 0, sizeof *d);
}

static bruno_result bruno_data__events_scan(bruno_data__rd *r, bruno_data_braille_events *h, size_t *n_events)
{
    bruno_result e;
    uint32_t i, j, label, n, taxel, pol, prev_taxel = 0, prev_pol = 0;
    double t, prev_t = 0;
    if ((e = bruno_data__magic(r, "BRAILEV1", 8)) != BRUNO_OK) return e;
    if (bruno_data__left(r) < 32) return bruno_data__trunc(r, 32, "the header");
    h->n_samples = bruno_data__u32(r);
    h->n_taxels = bruno_data__u32(r);
    h->n_polarities = bruno_data__u32(r);
    h->n_classes = bruno_data__u32(r);
    h->threshold = bruno_data__f64(r);
    h->source_rate_hz = bruno_data__f64(r);
    /* The header has room for exactly 27 names and the channel layout is
       fixed, so these counts have one valid value each. */
    if ((e = bruno_data__expect(r, "n_taxels", h->n_taxels, BRUNO_DATA_BRAILLE_TAXELS)) != BRUNO_OK) return e;
    if ((e = bruno_data__expect(r, "n_polarities", h->n_polarities, BRUNO_DATA_BRAILLE_POLARITIES)) != BRUNO_OK)
        return e;
    if ((e = bruno_data__expect(r, "n_classes", h->n_classes, BRUNO_DATA_BRAILLE_CLASSES)) != BRUNO_OK) return e;
    if (!bruno_data__finite(h->threshold) || h->threshold <= 0)
        return bruno_data__bad(r, "threshold %g is not a finite positive number", h->threshold);
    if (!bruno_data__finite(h->source_rate_hz) || h->source_rate_hz <= 0)
        return bruno_data__bad(r, "source rate %g Hz is not a finite positive number", h->source_rate_hz);
    if ((e = bruno_data__names(r, h->class_names, h->n_classes)) != BRUNO_OK) return e;
    if (h->n_samples == 0) return bruno_data__bad(r, "n_samples is 0");
    if (h->n_samples > bruno_data__left(r) / 8)
        return bruno_data__bad(r, "n_samples %lu needs at least %lu bytes but only %lu remain",
                               (unsigned long)h->n_samples, (unsigned long)h->n_samples * 8ul,
                               (unsigned long)bruno_data__left(r));
    *n_events = 0;
    for (i = 0; i < h->n_samples; ++i) {
        if (bruno_data__left(r) < 8) return bruno_data__trunc(r, 8, "sample %lu header", (unsigned long)i);
        label = bruno_data__u32(r);
        n = bruno_data__u32(r);
        if (label >= h->n_classes)
            return bruno_data__bad(r, "sample %lu: label %lu out of range 0..%lu", (unsigned long)i,
                                   (unsigned long)label, (unsigned long)h->n_classes - 1);
        if (n > bruno_data__left(r) / BRUNO_DATA__EV_RECORD)
            return bruno_data__trunc(r, (size_t)n * BRUNO_DATA__EV_RECORD, "sample %lu (%lu events)",
                                     (unsigned long)i, (unsigned long)n);
        for (j = 0; j < n; ++j) {
            t = bruno_data__f64(r);
            taxel = bruno_data__u32(r);
            pol = bruno_data__u32(r);
            if (!bruno_data__finite(t) || t < 0)
                return bruno_data__bad(r, "sample %lu event %lu: time %g s is not a finite number >= 0",
                                       (unsigned long)i, (unsigned long)j, t);
            /* the time sizes the dense arrays of every pipeline (steps =
               t / bin): bounded by what a recording of the task holds */
            if (t > BRUNO_DATA_BRAILLE_MAX_EVENT_S)
                return bruno_data__bad(r, "sample %lu event %lu: time %g s is after %g s, longer than any "
                                          "recording of the task",
                                       (unsigned long)i, (unsigned long)j, t, (double)BRUNO_DATA_BRAILLE_MAX_EVENT_S);
            if (taxel >= h->n_taxels)
                return bruno_data__bad(r, "sample %lu event %lu: taxel %lu out of range 0..%lu", (unsigned long)i,
                                       (unsigned long)j, (unsigned long)taxel, (unsigned long)h->n_taxels - 1);
            if (pol >= h->n_polarities)
                return bruno_data__bad(r, "sample %lu event %lu: polarity %lu out of range 0..%lu",
                                       (unsigned long)i, (unsigned long)j, (unsigned long)pol,
                                       (unsigned long)h->n_polarities - 1);
            /* the documented order (t, taxel, polarity); a binner may rely on it */
            if (j > 0 && (t < prev_t || (t == prev_t && (taxel < prev_taxel ||
                                                         (taxel == prev_taxel && pol < prev_pol)))))
                return bruno_data__bad(r, "sample %lu event %lu: not sorted by (time, taxel, polarity) "
                                          "(t = %.17g s after %.17g s)",
                                       (unsigned long)i, (unsigned long)j, t, prev_t);
            prev_t = t;
            prev_taxel = taxel;
            prev_pol = pol;
        }
        *n_events += n;
    }
    return bruno_data__trailing(r);
}

BRUNO_API bruno_result bruno_data_braille_events_load_mem(bruno_data_braille_events *out, const void *data,
                                                          size_t size, const char *name,
                                                          const bruno_allocator *allocator, char *msg,
                                                          size_t msg_size)
{
    bruno_data__rd r;
    bruno_data_braille_events h;
    bruno_result e;
    size_t n_events = 0, k = 0;
    uint32_t i, j, n;
    if (msg && msg_size) msg[0] = 0;
    if (!out) return BRUNO_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!data && size) return BRUNO_ERR_ARG;
    memset(&h, 0, sizeof h);
    r.p = (const unsigned char *)data;
    r.n = size;
    r.pos = 0;
    r.name = name;
    r.msg = msg;
    r.msg_size = msg_size;
    if ((e = bruno_data__events_scan(&r, &h, &n_events)) != BRUNO_OK) return e;

    h.allocator = bruno_data__alloc_of(allocator);
    h.n_events = n_events;
    h.label = BRUNO_DATA__ALLOC(h.allocator, h.n_samples, uint32_t);
    h.first = BRUNO_DATA__ALLOC(h.allocator, (size_t)h.n_samples + 1, size_t);
    h.t = BRUNO_DATA__ALLOC(h.allocator, n_events, double);
    h.taxel = BRUNO_DATA__ALLOC(h.allocator, n_events, uint8_t);
    h.polarity = BRUNO_DATA__ALLOC(h.allocator, n_events, uint8_t);
    if (!h.label || !h.first || !h.t || !h.taxel || !h.polarity) {
        bruno_data_braille_events_free(&h);
        bruno_data__msg(msg, msg_size, name, "out of memory");
        return BRUNO_ERR_NOMEM;
    }
    r.pos = BRUNO_DATA__EV_HEADER;
    for (i = 0; i < h.n_samples; ++i) {
        h.label[i] = bruno_data__u32(&r);
        n = bruno_data__u32(&r);
        h.first[i] = k;
        for (j = 0; j < n; ++j, ++k) {
            h.t[k] = bruno_data__f64(&r);
            h.taxel[k] = (uint8_t)bruno_data__u32(&r);
            h.polarity[k] = (uint8_t)bruno_data__u32(&r);
        }
    }
    h.first[h.n_samples] = k;
    *out = h;
    return BRUNO_OK;
}

/* ======================================================================== */
/* Braille raw                                                              */
/* ======================================================================== */
#define BRUNO_DATA__RW_HEADER (32 + 27 * 8)

BRUNO_API void bruno_data_braille_raw_free(bruno_data_braille_raw *d)
{
    if (!d) return;
    BRUNO_DATA__FREE(d->allocator, d->label, d->n_samples);
    BRUNO_DATA__FREE(d->allocator, d->repetition, d->n_samples);
    BRUNO_DATA__FREE(d->allocator, d->n_frames, d->n_samples);
    BRUNO_DATA__FREE(d->allocator, d->offset, d->n_samples);
    bruno_free(&d->allocator, d->value, d->total_frames, d->n_taxels);
    memset(d, 0, sizeof *d);
}

static bruno_result bruno_data__raw_scan(bruno_data__rd *r, bruno_data_braille_raw *h)
{
    bruno_result e;
    uint32_t i, label, nf, reserved;
    if ((e = bruno_data__magic(r, "BRAILRW1", 8)) != BRUNO_OK) return e;
    if (bruno_data__left(r) < 24) return bruno_data__trunc(r, 24, "the header");
    h->n_samples = bruno_data__u32(r);
    h->n_taxels = bruno_data__u32(r);
    h->n_classes = bruno_data__u32(r);
    reserved = bruno_data__u32(r);
    h->rate_hz = bruno_data__f64(r);
    if ((e = bruno_data__expect(r, "n_taxels", h->n_taxels, BRUNO_DATA_BRAILLE_TAXELS)) != BRUNO_OK) return e;
    if ((e = bruno_data__expect(r, "n_classes", h->n_classes, BRUNO_DATA_BRAILLE_CLASSES)) != BRUNO_OK) return e;
    if ((e = bruno_data__expect(r, "reserved", reserved, 0)) != BRUNO_OK) return e;
    if (!bruno_data__finite(h->rate_hz) || h->rate_hz <= 0)
        return bruno_data__bad(r, "sampling rate %g Hz is not a finite positive number", h->rate_hz);
    if ((e = bruno_data__names(r, h->class_names, h->n_classes)) != BRUNO_OK) return e;
    if (h->n_samples == 0) return bruno_data__bad(r, "n_samples is 0");
    if (h->n_samples > bruno_data__left(r) / 12)
        return bruno_data__bad(r, "n_samples %lu needs at least %lu bytes but only %lu remain",
                               (unsigned long)h->n_samples, (unsigned long)h->n_samples * 12ul,
                               (unsigned long)bruno_data__left(r));
    h->total_frames = 0;
    for (i = 0; i < h->n_samples; ++i) {
        if (bruno_data__left(r) < 12) return bruno_data__trunc(r, 12, "sample %lu header", (unsigned long)i);
        label = bruno_data__u32(r);
        r->pos += 4; /* repetition: any value is valid */
        nf = bruno_data__u32(r);
        if (label >= h->n_classes)
            return bruno_data__bad(r, "sample %lu: label %lu out of range 0..%lu", (unsigned long)i,
                                   (unsigned long)label, (unsigned long)h->n_classes - 1);
        if (nf == 0) return bruno_data__bad(r, "sample %lu: 0 frames", (unsigned long)i);
        if (nf > bruno_data__left(r) / h->n_taxels)
            return bruno_data__trunc(r, (size_t)nf * h->n_taxels, "sample %lu (%lu frames)", (unsigned long)i,
                                     (unsigned long)nf);
        r->pos += (size_t)nf * h->n_taxels; /* every byte 0..255 is a valid reading */
        h->total_frames += nf;
    }
    return bruno_data__trailing(r);
}

BRUNO_API bruno_result bruno_data_braille_raw_load_mem(bruno_data_braille_raw *out, const void *data,
                                                       size_t size, const char *name,
                                                       const bruno_allocator *allocator, char *msg,
                                                       size_t msg_size)
{
    bruno_data__rd r;
    bruno_data_braille_raw h;
    bruno_result e;
    uint32_t i;
    size_t f = 0, bytes;
    if (msg && msg_size) msg[0] = 0;
    if (!out) return BRUNO_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!data && size) return BRUNO_ERR_ARG;
    memset(&h, 0, sizeof h);
    r.p = (const unsigned char *)data;
    r.n = size;
    r.pos = 0;
    r.name = name;
    r.msg = msg;
    r.msg_size = msg_size;
    if ((e = bruno_data__raw_scan(&r, &h)) != BRUNO_OK) return e;

    h.allocator = bruno_data__alloc_of(allocator);
    h.label = BRUNO_DATA__ALLOC(h.allocator, h.n_samples, uint32_t);
    h.repetition = BRUNO_DATA__ALLOC(h.allocator, h.n_samples, uint32_t);
    h.n_frames = BRUNO_DATA__ALLOC(h.allocator, h.n_samples, uint32_t);
    h.offset = BRUNO_DATA__ALLOC(h.allocator, h.n_samples, size_t);
    h.value = (uint8_t *)bruno_alloc(&h.allocator, h.total_frames, h.n_taxels);
    if (!h.label || !h.repetition || !h.n_frames || !h.offset || !h.value) {
        bruno_data_braille_raw_free(&h);
        bruno_data__msg(msg, msg_size, name, "out of memory");
        return BRUNO_ERR_NOMEM;
    }
    r.pos = BRUNO_DATA__RW_HEADER;
    for (i = 0; i < h.n_samples; ++i) {
        h.label[i] = bruno_data__u32(&r);
        h.repetition[i] = bruno_data__u32(&r);
        h.n_frames[i] = bruno_data__u32(&r);
        h.offset[i] = f;
        bytes = (size_t)h.n_frames[i] * h.n_taxels;
        memcpy(h.value + f * h.n_taxels, r.p + r.pos, bytes);
        r.pos += bytes;
        f += h.n_frames[i];
    }
    *out = h;
    return BRUNO_OK;
}

/* ---- the path entry points: read the whole file, then parse the buffer ---- */
#define BRUNO_DATA__LOAD_FROM_PATH(load_mem)                                                        \
    unsigned char *buf;                                                                            \
    size_t size;                                                                                   \
    bruno_result e;                                                                                \
    bruno_allocator a = bruno_data__alloc_of(allocator);                                           \
    if (msg && msg_size) msg[0] = 0;                                                               \
    if (!out) return BRUNO_ERR_ARG;                                                                \
    memset(out, 0, sizeof *out);                                                                   \
    if ((e = bruno_data__read_file(path, &a, &buf, &size, msg, msg_size)) != BRUNO_OK) return e;   \
    e = load_mem(out, buf, size, path, &a, msg, msg_size);                                         \
    bruno_free(&a, buf, size, 1);                                                                  \
    return e;

BRUNO_API bruno_result bruno_data_jsb_load(bruno_data_jsb *out, const char *path,
                                           const bruno_allocator *allocator, char *msg, size_t msg_size)
{
    BRUNO_DATA__LOAD_FROM_PATH(bruno_data_jsb_load_mem)
}

BRUNO_API bruno_result bruno_data_braille_events_load(bruno_data_braille_events *out, const char *path,
                                                      const bruno_allocator *allocator, char *msg,
                                                      size_t msg_size)
{
    BRUNO_DATA__LOAD_FROM_PATH(bruno_data_braille_events_load_mem)
}

BRUNO_API bruno_result bruno_data_braille_raw_load(bruno_data_braille_raw *out, const char *path,
                                                   const bruno_allocator *allocator, char *msg,
                                                   size_t msg_size)
{
    BRUNO_DATA__LOAD_FROM_PATH(bruno_data_braille_raw_load_mem)
}

/* ======================================================================== */
/* Preprocessing                                                            */
/* ======================================================================== */
BRUNO_API void bruno_data_seq_free(bruno_data_seq *s)
{
    if (!s) return;
    if (s->x) bruno_free(&s->allocator, s->x, s->n_samples * s->n_steps * s->n_channels, sizeof(bruno_real));
    BRUNO_DATA__FREE(s->allocator, s->label, s->n_samples);
    BRUNO_DATA__FREE(s->allocator, s->source_index, s->n_samples);
    memset(s, 0, sizeof *s);
}

/* Allocates one output set; sizes were checked for overflow by the caller. */
static bruno_result bruno_data__seq_init(bruno_data_seq *s, const bruno_allocator *a, size_t n, size_t steps,
                                         size_t channels, uint32_t n_classes, double step_s)
{
    memset(s, 0, sizeof *s);
    s->allocator = *a;
    s->n_samples = n;
    s->n_steps = steps;
    s->n_channels = channels;
    s->n_classes = n_classes;
    s->step_s = step_s;
    s->x = (bruno_real *)bruno_alloc(a, n * steps * channels, sizeof(bruno_real));
    s->label = BRUNO_DATA__ALLOC(s->allocator, n, uint32_t);
    s->source_index = BRUNO_DATA__ALLOC(s->allocator, n, uint32_t);
    if (!s->x || !s->label || !s->source_index) {
        bruno_data_seq_free(s);
        return BRUNO_ERR_NOMEM;
    }
    return BRUNO_OK;
}

/* n * steps * channels * sizeof(bruno_real) must not overflow size_t. */
static int bruno_data__size_ok(size_t n, size_t steps, size_t channels)
{
    size_t lim = (size_t)-1 / sizeof(bruno_real);
    if (steps && n > lim / steps) return 0;
    if (channels && n * steps > lim / channels) return 0;
    return 1;
}

/* Fisher-Yates with 53-bit uniforms from the caller's seeded RNG. */
static void bruno_data__shuffle(uint32_t *v, size_t n, bruno_rng *rng)
{
    size_t i, j;
    uint32_t tmp;
    for (i = n; i > 1; --i) {
        j = (size_t)(bruno_rng_uniform(rng) * (double)i);
        if (j >= i) j = i - 1;
        tmp = v[i - 1];
        v[i - 1] = v[j];
        v[j] = tmp;
    }
}

static size_t bruno_data__round_frac(double f, size_t n)
{
    double v = floor(f * (double)n + 0.5);
    if (v < 0) v = 0;
    if (v > (double)n) v = (double)n;
    return (size_t)v;
}

/* order[0 .. n_train-1] are the training samples, the rest the test
   samples, each part in shuffled order. Stratified: every class contributes
   round(f * n_class) to train. */
static bruno_result bruno_data__split(const uint32_t *label, size_t n, uint32_t n_classes, int stratified,
                                      double f, uint64_t seed, const bruno_allocator *a, uint32_t **order_out,
                                      size_t *n_train_out)
{
    bruno_rng rng;
    uint32_t *order, *tmp, c;
    size_t i, n_train = 0, n_test = 0, n_c, take, k;
    *order_out = NULL;
    bruno_rng_seed(&rng, seed);
    order = (uint32_t *)bruno_alloc(a, n, sizeof(uint32_t));
    if (!order) return BRUNO_ERR_NOMEM;
    if (!stratified) {
        for (i = 0; i < n; ++i) order[i] = (uint32_t)i;
        bruno_data__shuffle(order, n, &rng);
        n_train = bruno_data__round_frac(f, n);
    } else {
        /* two halves: tmp[0..n) one class's ids, tmp[n..2n) the parked test
           ids (from the back). One array of n served both before, and a
           class holding most of the samples overwrote its own unread ids
           with parked ones: duplicated and dropped test samples. */
        tmp = (uint32_t *)bruno_alloc(a, n, 2 * sizeof(uint32_t));
        if (!tmp) {
            bruno_free(a, order, n, sizeof(uint32_t));
            return BRUNO_ERR_NOMEM;
        }
        /* pass 1: train parts of every class to the front of order */
        for (c = 0; c < n_classes; ++c) {
            n_c = 0;
            for (i = 0; i < n; ++i)
                if (label[i] == c) tmp[n_c++] = (uint32_t)i;
            bruno_data__shuffle(tmp, n_c, &rng);
            take = bruno_data__round_frac(f, n_c);
            for (k = 0; k < take; ++k) order[n_train++] = tmp[k];
            for (k = take; k < n_c; ++k) tmp[2 * n - 1 - n_test++] = tmp[k]; /* park test ids at the back */
        }
        for (k = 0; k < n_test; ++k) order[n_train + k] = tmp[2 * n - 1 - k];
        bruno_free(a, tmp, n, 2 * sizeof(uint32_t));
        bruno_data__shuffle(order, n_train, &rng);
        bruno_data__shuffle(order + n_train, n_test, &rng);
    }
    *order_out = order;
    *n_train_out = n_train;
    return BRUNO_OK;
}

/* The validation carve: order[0 .. *n_train) are the training split's ids;
   afterwards order[0 .. *n_train) are those minus the validation ids and
   order[*n_train .. old *n_train) the validation ids. Stratified by label
   when label is given (each part shuffled), else one seeded shuffle. */
static bruno_result bruno_data__carve_val(const uint32_t *label, uint32_t n_classes, uint32_t *order,
                                          size_t *n_train, double val_fraction, uint64_t val_seed,
                                          const bruno_allocator *a)
{
    size_t n = *n_train, j, n_keep = 0;
    uint32_t *sub = NULL, *tmp;
    bruno_result e;
    tmp = (uint32_t *)bruno_alloc(a, n, sizeof(uint32_t));
    if (!tmp) return BRUNO_ERR_NOMEM;
    if (label)
        for (j = 0; j < n; ++j) tmp[j] = label[order[j]];
    e = bruno_data__split(label ? tmp : NULL, n, n_classes, label != NULL, 1.0 - val_fraction, val_seed, a, &sub,
                          &n_keep);
    if (e == BRUNO_OK) {
        for (j = 0; j < n; ++j) tmp[j] = order[sub[j]];
        memcpy(order, tmp, n * sizeof *order);
        bruno_free(a, sub, n, sizeof(uint32_t));
        *n_train = n_keep;
    }
    bruno_free(a, tmp, n, sizeof(uint32_t));
    return e;
}

static bruno_result bruno_data__check_val_cfg(double f, char *msg, size_t msg_size, const char *what)
{
    if (!(f >= 0.0 && f < 1.0)) {
        bruno_data__msg(msg, msg_size, what, "val_fraction %g outside [0, 1)", f);
        return BRUNO_ERR_ARG;
    }
    return BRUNO_OK;
}

/* The split (and, with val_fraction > 0, the validation carve) as one
   order: order[0 .. *n_train) train, order[*n_train .. *n_used) test or
   validation. *n_used = n without a carve; with one, the test ids beyond
   *n_used are never to be read. */
static bruno_result bruno_data__split_val(const uint32_t *label, size_t n, uint32_t n_classes, int stratified,
                                          double f, uint64_t seed, double val_fraction, uint64_t val_seed,
                                          const bruno_allocator *a, uint32_t **order, size_t *n_train,
                                          size_t *n_used)
{
    bruno_result e = bruno_data__split(label, n, n_classes, stratified, f, seed, a, order, n_train);
    *n_used = n;
    if (e != BRUNO_OK || val_fraction <= 0) return e;
    *n_used = *n_train;
    e = bruno_data__carve_val(label, n_classes, *order, n_train, val_fraction, val_seed, a);
    if (e != BRUNO_OK) {
        bruno_free(a, *order, n, sizeof(uint32_t));
        *order = NULL;
    }
    return e;
}

/* ---- FFT resampling ---------------------------------------------------------- */
BRUNO_API bruno_result bruno_data_resample_fft(const double *x, size_t n, double *y, size_t num, double *work,
                                               const bruno_allocator *allocator)
{
    const double two_pi = 6.283185307179586476925287;
    bruno_allocator a = bruno_data__alloc_of(allocator);
    double *w = work, *cn, *sn, *cm, *sm, re, im, acc;
    size_t k, m, j, kmax, wsize;
    if (!x || !y || n == 0) return BRUNO_ERR_ARG;
    if (num < n) return BRUNO_ERR_SIZE;
    if (n > ((size_t)-1 / sizeof(double) - 2 * num) / 2) return BRUNO_ERR_SIZE;
    wsize = 2 * n + 2 * num;
    if (!w && !(w = (double *)bruno_alloc(&a, wsize, sizeof(double)))) return BRUNO_ERR_NOMEM;
    /* twiddle tables: index (k*m) mod n keeps every angle in [0, 2 pi) */
    cn = w;
    sn = w + n;
    cm = w + 2 * n;
    sm = cm + num;
    for (k = 0; k < n; ++k) {
        cn[k] = cos(two_pi * (double)k / (double)n);
        sn[k] = sin(two_pi * (double)k / (double)n);
    }
    for (j = 0; j < num; ++j) {
        cm[j] = cos(two_pi * (double)j / (double)num);
        sm[j] = sin(two_pi * (double)j / (double)num);
    }
    /* y[j] = (1/n) [X_0 + 2 sum_{k=1}^{ceil(n/2)-1} Re(X_k e^{2 pi i k j/num})
                     + (n even) X_{n/2} cos(pi n j/num)]
       which is irfft(Y, num) * num/n with Y = rfft(x) zero-padded and, for
       even n, Y[n/2] halved as scipy.signal.resample does when num > n (for
       num == n the formula reduces to the identity). */
    kmax = (n + 1) / 2; /* bins 1 .. kmax-1 are paired with their conjugates */
    for (j = 0; j < num; ++j) y[j] = 0.0;
    for (k = 0; k <= n / 2; ++k) {
        re = 0.0;
        im = 0.0;
        for (m = 0; m < n; ++m) {
            size_t idx = (size_t)(((unsigned long long)k * m) % n);
            re += x[m] * cn[idx];
            im -= x[m] * sn[idx];
        }
        for (j = 0; j < num; ++j) {
            size_t idx = (size_t)(((unsigned long long)k * j) % num);
            if (k == 0) acc = re;
            else if (k < kmax) acc = 2.0 * (re * cm[idx] - im * sm[idx]);
            else acc = re * cm[idx]; /* even n, k = n/2: X real, cos(2 pi (n/2) j / num) */
            y[j] += acc;
        }
    }
    for (j = 0; j < num; ++j) y[j] /= (double)n;
    if (!work) bruno_free(&a, w, wsize, sizeof(double));
    return BRUNO_OK;
}

/* ---- Braille raw pipeline ------------------------------------------------------ */
BRUNO_API bruno_data_braille_raw_config bruno_data_braille_raw_config_default(void)
{
    bruno_data_braille_raw_config c;
    memset(&c, 0, sizeof c);
    c.taxels[0] = 1;
    c.taxels[1] = 2;
    c.taxels[2] = 6;
    c.taxels[3] = 10;
    c.n_taxels = 4;
    c.upsample = 2;
    c.sd_eps = 1e-3;
    c.train_fraction = 0.8;
    c.stratified = 0;
    c.seed = 0;
    return c;
}

static bruno_result bruno_data__check_split_cfg(double f, char *msg, size_t msg_size, const char *what)
{
    if (!(f >= 0.0 && f <= 1.0)) {
        bruno_data__msg(msg, msg_size, what, "train_fraction %g outside 0..1", f);
        return BRUNO_ERR_ARG;
    }
    return BRUNO_OK;
}

BRUNO_API bruno_result bruno_data_braille_raw_prepare(const bruno_data_braille_raw *raw,
                                                      const bruno_data_braille_raw_config *cfg,
                                                      bruno_data_seq *train, bruno_data_seq *test,
                                                      char *msg, size_t msg_size)
{
    static const char *who = "braille raw pipeline";
    bruno_allocator a;
    bruno_result e;
    size_t i, f, c, j, T = 0, steps = 0, C, n, n_train = 0, n_used = 0, wsize = 0, n_read = 0;
    double *mean = NULL, *sd = NULL, *buf = NULL, *up = NULL, *work = NULL, cnt, v, d;
    uint32_t *order = NULL;
    unsigned char *use = NULL; /* [n] 1: a sample of the sets made (never a test sample of a val carve) */
    if (msg && msg_size) msg[0] = 0;
    if (!raw || !cfg || !train || !test) return BRUNO_ERR_ARG;
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    a = bruno_data__alloc_of(&cfg->allocator);
    n = raw->n_samples;
    C = cfg->n_taxels;
    if (n == 0 || !raw->n_frames || !raw->value || !raw->offset || !raw->label) {
        bruno_data__msg(msg, msg_size, who, "no samples loaded");
        return BRUNO_ERR_ARG;
    }
    if (C == 0 || C > BRUNO_DATA_BRAILLE_TAXELS) {
        bruno_data__msg(msg, msg_size, who, "n_taxels %lu outside 1..%d", (unsigned long)C, BRUNO_DATA_BRAILLE_TAXELS);
        return BRUNO_ERR_ARG;
    }
    for (c = 0; c < C; ++c)
        if (cfg->taxels[c] >= raw->n_taxels) {
            bruno_data__msg(msg, msg_size, who, "taxel %lu out of range 0..%lu", (unsigned long)cfg->taxels[c],
                            (unsigned long)raw->n_taxels - 1);
            return BRUNO_ERR_ARG;
        }
    if (cfg->upsample == 0 || cfg->upsample > 1000) {
        bruno_data__msg(msg, msg_size, who, "upsample %lu outside 1..1000", (unsigned long)cfg->upsample);
        return BRUNO_ERR_ARG;
    }
    if (!bruno_data__finite(cfg->sd_eps) || cfg->sd_eps < 0) {
        bruno_data__msg(msg, msg_size, who, "sd_eps %g must be finite and >= 0", cfg->sd_eps);
        return BRUNO_ERR_ARG;
    }
    if ((e = bruno_data__check_split_cfg(cfg->train_fraction, msg, msg_size, who)) != BRUNO_OK) return e;
    if ((e = bruno_data__check_val_cfg(cfg->val_fraction, msg, msg_size, who)) != BRUNO_OK) return e;
    if ((e = bruno_data__split_val(raw->label, n, raw->n_classes, cfg->stratified, cfg->train_fraction, cfg->seed,
                                   cfg->val_fraction, cfg->val_seed, &a, &order, &n_train, &n_used)) != BRUNO_OK)
        goto fail;
    use = (unsigned char *)bruno_alloc(&a, n, 1);
    if (!use) {
        e = BRUNO_ERR_NOMEM;
        goto fail;
    }
    for (j = 0; j < n_used; ++j) use[order[j]] = 1;

    /* crop to the shortest sample (of those used) */
    for (i = 0; i < n; ++i)
        if (use[i] && (n_read++ == 0 || raw->n_frames[i] < T)) T = raw->n_frames[i];
    steps = T * cfg->upsample;
    if (!bruno_data__size_ok(n, steps, C) ||
        (double)n * (double)steps * (double)C * (double)sizeof(bruno_real) > BRUNO_DATA_MAX_DENSE_BYTES) {
        bruno_data__msg(msg, msg_size, who, "%lu samples x %lu steps x %lu channels is more than %.0f bytes",
                        (unsigned long)n, (unsigned long)steps, (unsigned long)C, (double)BRUNO_DATA_MAX_DENSE_BYTES);
        e = BRUNO_ERR_SIZE;
        goto fail;
    }

    /* z-score statistics over every sample used and its cropped frames, in double */
    mean = (double *)bruno_alloc(&a, C, sizeof(double));
    sd = (double *)bruno_alloc(&a, C, sizeof(double));
    buf = (double *)bruno_alloc(&a, T, sizeof(double));
    up = (double *)bruno_alloc(&a, steps, sizeof(double));
    wsize = 2 * T + 2 * steps;
    work = (double *)bruno_alloc(&a, wsize, sizeof(double));
    if (!mean || !sd || !buf || !up || !work) {
        e = BRUNO_ERR_NOMEM;
        goto fail;
    }
    cnt = (double)n_read * (double)T;
    for (c = 0; c < C; ++c) {
        double s = 0.0, ss = 0.0;
        for (i = 0; i < n; ++i)
            for (f = 0; use[i] && f < T; ++f)
                s += 1.0 - raw->value[(raw->offset[i] + f) * raw->n_taxels + cfg->taxels[c]] / 255.0;
        mean[c] = s / cnt;
        for (i = 0; i < n; ++i)
            for (f = 0; use[i] && f < T; ++f) {
                d = 1.0 - raw->value[(raw->offset[i] + f) * raw->n_taxels + cfg->taxels[c]] / 255.0 - mean[c];
                ss += d * d;
            }
        sd[c] = sqrt(ss / cnt); /* population s.d. (numpy's default ddof = 0) */
    }

    if ((e = bruno_data__seq_init(train, &a, n_train, steps, C, raw->n_classes,
                                  1.0 / (raw->rate_hz * cfg->upsample))) != BRUNO_OK)
        goto fail;
    if ((e = bruno_data__seq_init(test, &a, n_used - n_train, steps, C, raw->n_classes,
                                  1.0 / (raw->rate_hz * cfg->upsample))) != BRUNO_OK)
        goto fail;
    for (j = 0; j < n_used; ++j) {
        bruno_data_seq *dst = j < n_train ? train : test;
        size_t row = j < n_train ? j : j - n_train;
        size_t src = order[j];
        bruno_real *x = dst->x + row * steps * C;
        dst->label[row] = raw->label[src];
        dst->source_index[row] = (uint32_t)src;
        for (c = 0; c < C; ++c) {
            for (f = 0; f < T; ++f) {
                v = 1.0 - raw->value[(raw->offset[src] + f) * raw->n_taxels + cfg->taxels[c]] / 255.0;
                buf[f] = (v - mean[c]) / (sd[c] + cfg->sd_eps);
            }
            (void)bruno_data_resample_fft(buf, T, up, steps, work, &a); /* cannot fail: sizes checked */
            for (f = 0; f < steps; ++f) x[f * C + c] = (bruno_real)up[f];
        }
    }
    e = BRUNO_OK;
fail:
    if (e == BRUNO_ERR_NOMEM) bruno_data__msg(msg, msg_size, who, "out of memory");
    if (e != BRUNO_OK) {
        bruno_data_seq_free(train);
        bruno_data_seq_free(test);
    }
    if (order) bruno_free(&a, order, n, sizeof(uint32_t));
    if (use) bruno_free(&a, use, n, 1);
    if (work) bruno_free(&a, work, wsize, sizeof(double));
    if (up) bruno_free(&a, up, steps, sizeof(double));
    if (buf) bruno_free(&a, buf, T, sizeof(double));
    if (sd) bruno_free(&a, sd, C, sizeof(double));
    if (mean) bruno_free(&a, mean, C, sizeof(double));
    return e;
}

/* ---- Braille event pipeline ------------------------------------------------------ */
BRUNO_API bruno_data_braille_events_config bruno_data_braille_events_config_default(void)
{
    bruno_data_braille_events_config c;
    memset(&c, 0, sizeof c);
    c.bin_s = 5e-3;
    c.n_steps = 0;
    c.train_fraction = 0.8;
    c.stratified = 1;
    c.seed = 0;
    return c;
}

/* Bin index of an event time, as numpy's round(t_ms / bin_ms) (half to even).
   Times were validated finite and >= 0 by the loader; the caller bounds them. */
static double bruno_data__bin(double t_s, double bin_s)
{
    return nearbyint((t_s * 1000.0) / (bin_s * 1000.0));
}

/* Above this many steps a dense [samples][steps][24] array is certainly
   a mistake (a bin width in ms instead of s, or a corrupt time). */
#define BRUNO_DATA__MAX_STEPS 10000000.0

BRUNO_API bruno_result bruno_data_braille_events_max_bin(const bruno_data_braille_events *ev, double bin_s,
                                                         uint64_t *max_bin)
{
    size_t k;
    double b, mx = 0;
    if (!ev || !max_bin) return BRUNO_ERR_ARG;
    *max_bin = 0;
    if (!bruno_data__finite(bin_s) || bin_s <= 0) return BRUNO_ERR_TIME_STEP;
    for (k = 0; k < ev->n_events; ++k) {
        b = bruno_data__bin(ev->t[k], bin_s);
        if (!(b <= BRUNO_DATA__MAX_STEPS)) return BRUNO_ERR_SIZE;
        if (b > mx) mx = b;
    }
    *max_bin = (uint64_t)mx;
    return BRUNO_OK;
}

BRUNO_API bruno_result bruno_data_braille_events_prepare(const bruno_data_braille_events *ev,
                                                         const bruno_data_braille_events_config *cfg,
                                                         bruno_data_seq *train, bruno_data_seq *test,
                                                         bruno_data_events_stats *stats, char *msg,
                                                         size_t msg_size)
{
    static const char *who = "braille event pipeline";
    const size_t C = 2 * BRUNO_DATA_BRAILLE_TAXELS;
    bruno_allocator a;
    bruno_result e;
    bruno_data_events_stats st;
    uint64_t max_bin;
    size_t n, steps, n_train = 0, n_used = 0, j, k;
    uint32_t *order = NULL;
    if (msg && msg_size) msg[0] = 0;
    if (!ev || !cfg || !train || !test) return BRUNO_ERR_ARG;
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    memset(&st, 0, sizeof st);
    if (stats) *stats = st;
    a = bruno_data__alloc_of(&cfg->allocator);
    n = ev->n_samples;
    if (n == 0 || !ev->first || !ev->label) {
        bruno_data__msg(msg, msg_size, who, "no samples loaded");
        return BRUNO_ERR_ARG;
    }
    if (ev->n_taxels != BRUNO_DATA_BRAILLE_TAXELS || ev->n_polarities != 2) {
        bruno_data__msg(msg, msg_size, who, "expected 12 taxels x 2 polarities");
        return BRUNO_ERR_ARG;
    }
    if ((e = bruno_data__check_split_cfg(cfg->train_fraction, msg, msg_size, who)) != BRUNO_OK) return e;
    if ((e = bruno_data__check_val_cfg(cfg->val_fraction, msg, msg_size, who)) != BRUNO_OK) return e;
    if (!bruno_data__finite(cfg->bin_s) || cfg->bin_s <= 0) {
        bruno_data__msg(msg, msg_size, who, "bin width %g s must be finite and > 0", cfg->bin_s);
        return BRUNO_ERR_TIME_STEP;
    }
    if (cfg->val_fraction > 0) {
        /* a val carve reads no test sample: the largest bin of the samples used */
        double b, mx = 0;
        if ((e = bruno_data__split_val(ev->label, n, ev->n_classes, cfg->stratified, cfg->train_fraction, cfg->seed,
                                       cfg->val_fraction, cfg->val_seed, &a, &order, &n_train, &n_used)) != BRUNO_OK)
            goto fail;
        for (j = 0; j < n_used && mx <= BRUNO_DATA__MAX_STEPS; ++j)
            for (k = ev->first[order[j]]; k < ev->first[order[j] + 1]; ++k)
                if ((b = bruno_data__bin(ev->t[k], cfg->bin_s)) > mx) mx = b;
        e = mx <= BRUNO_DATA__MAX_STEPS ? BRUNO_OK : BRUNO_ERR_SIZE;
        max_bin = (uint64_t)mx;
    } else {
        e = bruno_data_braille_events_max_bin(ev, cfg->bin_s, &max_bin);
    }
    if (e != BRUNO_OK) {
        bruno_data__msg(msg, msg_size, who, "bin width %g s gives more than %.0f steps", cfg->bin_s,
                        BRUNO_DATA__MAX_STEPS);
        goto fail;
    }
    steps = cfg->n_steps ? cfg->n_steps : (size_t)max_bin + 1;
    if (!bruno_data__size_ok(n, steps, C) ||
        (double)n * (double)steps * (double)C * (double)sizeof(bruno_real) > BRUNO_DATA_MAX_DENSE_BYTES) {
        bruno_data__msg(msg, msg_size, who, "%lu samples x %lu steps x %lu channels is more than %.0f bytes "
                        "(bin width too small, or n_steps too large)", (unsigned long)n, (unsigned long)steps,
                        (unsigned long)C, (double)BRUNO_DATA_MAX_DENSE_BYTES);
        e = BRUNO_ERR_SIZE;
        goto fail;
    }
    st.n_events = ev->n_events;
    st.max_bin = max_bin;
    if (!order && (e = bruno_data__split_val(ev->label, n, ev->n_classes, cfg->stratified, cfg->train_fraction,
                                             cfg->seed, 0.0, 0, &a, &order, &n_train, &n_used)) != BRUNO_OK)
        goto fail;
    if ((e = bruno_data__seq_init(train, &a, n_train, steps, C, ev->n_classes, cfg->bin_s)) != BRUNO_OK) goto fail;
    if ((e = bruno_data__seq_init(test, &a, n_used - n_train, steps, C, ev->n_classes, cfg->bin_s)) != BRUNO_OK)
        goto fail;
    for (j = 0; j < n_used; ++j) {
        bruno_data_seq *dst = j < n_train ? train : test;
        size_t row = j < n_train ? j : j - n_train;
        size_t src = order[j];
        bruno_real *x = dst->x + row * steps * C; /* zero-filled by bruno_alloc */
        dst->label[row] = ev->label[src];
        dst->source_index[row] = (uint32_t)src;
        for (k = ev->first[src]; k < ev->first[src + 1]; ++k) {
            size_t b = (size_t)bruno_data__bin(ev->t[k], cfg->bin_s);
            size_t ch = 2 * (size_t)ev->taxel[k] + ev->polarity[k];
            if (b >= steps) {
                st.n_dropped++;
                continue;
            }
            if (x[b * C + ch] != 0) st.n_merged++;
            x[b * C + ch] = 1;
        }
    }
    e = BRUNO_OK;
fail:
    if (e == BRUNO_ERR_NOMEM) bruno_data__msg(msg, msg_size, who, "out of memory");
    if (e != BRUNO_OK) {
        bruno_data_seq_free(train);
        bruno_data_seq_free(test);
    } else if (stats) {
        *stats = st;
    }
    if (order) bruno_free(&a, order, n, sizeof(uint32_t));
    return e;
}

/* ---- approximate raw readings from events ---------------------------------------------- */
BRUNO_API bruno_result bruno_data_braille_events_to_raw(const bruno_data_braille_events *ev, uint32_t n_frames,
                                                        const bruno_allocator *allocator,
                                                        bruno_data_braille_raw *out, char *msg, size_t msg_size)
{
    static const char *who = "events to raw";
    bruno_data_braille_raw h;
    size_t i, k, f, tx, n_per_class[BRUNO_DATA_BRAILLE_CLASSES];
    double t_max = 0, level[BRUNO_DATA_BRAILLE_TAXELS];
    if (msg && msg_size) msg[0] = 0;
    if (!ev || !out) return BRUNO_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (ev->n_samples == 0 || !ev->first || ev->n_taxels != BRUNO_DATA_BRAILLE_TAXELS ||
        ev->n_classes != BRUNO_DATA_BRAILLE_CLASSES) {
        bruno_data__msg(msg, msg_size, who, "no events loaded");
        return BRUNO_ERR_ARG;
    }
    if (n_frames == 0) {
        double nf;
        for (k = 0; k < ev->n_events; ++k)
            if (ev->t[k] > t_max) t_max = ev->t[k];
        nf = ceil(t_max * ev->source_rate_hz) + 1;
        if (!(nf <= 1e6)) {
            bruno_data__msg(msg, msg_size, who, "latest event at %g s needs more than 1e6 frames", t_max);
            return BRUNO_ERR_SIZE;
        }
        n_frames = (uint32_t)nf;
    }
    if ((size_t)n_frames > (size_t)-1 / BRUNO_DATA_BRAILLE_TAXELS / ev->n_samples) {
        bruno_data__msg(msg, msg_size, who, "output size overflows");
        return BRUNO_ERR_SIZE;
    }
    memset(&h, 0, sizeof h);
    h.allocator = bruno_data__alloc_of(allocator);
    h.n_samples = ev->n_samples;
    h.n_taxels = BRUNO_DATA_BRAILLE_TAXELS;
    h.n_classes = ev->n_classes;
    h.rate_hz = ev->source_rate_hz;
    memcpy(h.class_names, ev->class_names, sizeof h.class_names);
    h.total_frames = (size_t)n_frames * ev->n_samples;
    h.label = BRUNO_DATA__ALLOC(h.allocator, h.n_samples, uint32_t);
    h.repetition = BRUNO_DATA__ALLOC(h.allocator, h.n_samples, uint32_t);
    h.n_frames = BRUNO_DATA__ALLOC(h.allocator, h.n_samples, uint32_t);
    h.offset = BRUNO_DATA__ALLOC(h.allocator, h.n_samples, size_t);
    h.value = (uint8_t *)bruno_alloc(&h.allocator, h.total_frames, h.n_taxels);
    if (!h.label || !h.repetition || !h.n_frames || !h.offset || !h.value) {
        bruno_data_braille_raw_free(&h);
        bruno_data__msg(msg, msg_size, who, "out of memory");
        return BRUNO_ERR_NOMEM;
    }
    memset(n_per_class, 0, sizeof n_per_class);
    for (i = 0; i < h.n_samples; ++i) {
        uint8_t *v = h.value + i * (size_t)n_frames * h.n_taxels;
        h.label[i] = ev->label[i];
        h.repetition[i] = (uint32_t)n_per_class[ev->label[i]]++;
        h.n_frames[i] = n_frames;
        h.offset[i] = i * (size_t)n_frames;
        for (tx = 0; tx < BRUNO_DATA_BRAILLE_TAXELS; ++tx) level[tx] = 0;
        k = ev->first[i];
        for (f = 0; f < n_frames; ++f) {
            double t_f = (double)f / ev->source_rate_hz;
            for (; k < ev->first[i + 1] && ev->t[k] <= t_f; ++k)
                level[ev->taxel[k]] += ev->polarity[k] == 0 ? ev->threshold : -ev->threshold;
            for (tx = 0; tx < BRUNO_DATA_BRAILLE_TAXELS; ++tx) {
                double r = 255.0 - level[tx];
                v[f * BRUNO_DATA_BRAILLE_TAXELS + tx] = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : floor(r + 0.5));
            }
        }
    }
    *out = h;
    return BRUNO_OK;
}

/* ---- JSB pipeline ---------------------------------------------------------------- */
BRUNO_API void bruno_data_jsb_seqs_free(bruno_data_jsb_seqs *s)
{
    if (!s) return;
    BRUNO_DATA__FREE(s->allocator, s->n_steps, s->n_seqs);
    BRUNO_DATA__FREE(s->allocator, s->offset, s->n_seqs);
    if (s->x) bruno_free(&s->allocator, s->x, s->total_steps * s->n_keys, sizeof(bruno_real));
    if (s->y) bruno_free(&s->allocator, s->y, s->total_steps * s->n_keys, sizeof(bruno_real));
    memset(s, 0, sizeof *s);
}

/* The pieces of split src with mark[i] == want, in file order, into a fresh split. */
static bruno_result bruno_data__jsb_pick(const bruno_data_jsb *d, const bruno_data_jsb_split *src,
                                         const unsigned char *mark, unsigned char want, bruno_data_jsb_split *out)
{
    bruno_allocator a = d->allocator;
    size_t f = 0, i;
    uint32_t n = 0, k = 0;
    memset(out, 0, sizeof *out);
    for (i = 0; i < src->n_seqs; ++i)
        if (mark[i] == want) {
            ++n;
            f += src->len[i];
        }
    out->len = BRUNO_DATA__ALLOC(a, n, uint32_t);
    out->offset = BRUNO_DATA__ALLOC(a, n, size_t);
    out->roll = (uint8_t *)bruno_alloc(&a, f, d->n_keys);
    out->n_seqs = n;
    out->n_frames = f;
    if (!out->len || !out->offset || !out->roll) return BRUNO_ERR_NOMEM;
    for (i = 0, f = 0; i < src->n_seqs; ++i)
        if (mark[i] == want) {
            out->len[k] = src->len[i];
            out->offset[k] = f;
            memcpy(out->roll + f * d->n_keys, src->roll + src->offset[i] * d->n_keys, (size_t)src->len[i] * d->n_keys);
            f += src->len[i];
            ++k;
        }
    return BRUNO_OK;
}

static void bruno_data__jsb_split_free(const bruno_data_jsb *d, bruno_data_jsb_split *sp)
{
    BRUNO_DATA__FREE(d->allocator, sp->len, sp->n_seqs);
    BRUNO_DATA__FREE(d->allocator, sp->offset, sp->n_seqs);
    bruno_free(&d->allocator, sp->roll, sp->n_frames, d->n_keys);
    memset(sp, 0, sizeof *sp);
}

BRUNO_API bruno_result bruno_data_jsb_holdout(bruno_data_jsb *d, double val_fraction, uint64_t val_seed, char *msg,
                                              size_t msg_size)
{
    static const char *who = "jsb validation carve";
    bruno_data_jsb_split *tr, keep, val;
    bruno_allocator a;
    bruno_result e;
    uint32_t *order = NULL;
    unsigned char *mark = NULL;
    size_t n, n_keep = 0, j;
    if (msg && msg_size) msg[0] = 0;
    if (!d || !d->n_keys) return BRUNO_ERR_ARG;
    if (!(val_fraction > 0.0 && val_fraction < 1.0)) {
        bruno_data__msg(msg, msg_size, who, "val_fraction %g outside (0, 1)", val_fraction);
        return BRUNO_ERR_ARG;
    }
    a = d->allocator;
    tr = &d->split[BRUNO_DATA_TRAIN];
    n = tr->n_seqs;
    memset(&keep, 0, sizeof keep);
    memset(&val, 0, sizeof val);
    if ((e = bruno_data__split_val(NULL, n, 0, 0, 1.0, 0, val_fraction, val_seed, &a, &order, &n_keep, &j)) !=
        BRUNO_OK)
        goto done;
    if (!(mark = (unsigned char *)bruno_alloc(&a, n, 1))) {
        e = BRUNO_ERR_NOMEM;
        goto done;
    }
    for (j = n_keep; j < n; ++j) mark[order[j]] = 1;
    if ((e = bruno_data__jsb_pick(d, tr, mark, 0, &keep)) != BRUNO_OK ||
        (e = bruno_data__jsb_pick(d, tr, mark, 1, &val)) != BRUNO_OK)
        goto done;
    bruno_data__jsb_split_free(d, tr);
    bruno_data__jsb_split_free(d, &d->split[BRUNO_DATA_VALID]);
    bruno_data__jsb_split_free(d, &d->split[BRUNO_DATA_TEST]);
    *tr = keep;
    d->split[BRUNO_DATA_VALID] = val;
    memset(&keep, 0, sizeof keep);
    memset(&val, 0, sizeof val);
done:
    if (e == BRUNO_ERR_NOMEM) bruno_data__msg(msg, msg_size, who, "out of memory");
    bruno_data__jsb_split_free(d, &keep);
    bruno_data__jsb_split_free(d, &val);
    if (mark) bruno_free(&a, mark, n, 1);
    if (order) bruno_free(&a, order, n, sizeof(uint32_t));
    return e;
}

BRUNO_API bruno_result bruno_data_jsb_prepare(const bruno_data_jsb *d, int split, uint32_t key_lo,
                                              uint32_t n_keys, const bruno_allocator *allocator,
                                              bruno_data_jsb_seqs *out, char *msg, size_t msg_size)
{
    static const char *who = "jsb pipeline";
    const bruno_data_jsb_split *sp;
    size_t i, t, k, total = 0, step;
    if (msg && msg_size) msg[0] = 0;
    if (!d || !out) return BRUNO_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (split < 0 || split >= BRUNO_DATA_JSB_SPLITS) {
        bruno_data__msg(msg, msg_size, who, "split %d is not train (0), valid (1) or test (2)", split);
        return BRUNO_ERR_ARG;
    }
    if (n_keys == 0 || key_lo >= d->n_keys || n_keys > d->n_keys - key_lo) {
        bruno_data__msg(msg, msg_size, who, "keys %lu..%lu outside 0..%lu", (unsigned long)key_lo,
                        (unsigned long)key_lo + n_keys - 1, (unsigned long)d->n_keys - 1);
        return BRUNO_ERR_ARG;
    }
    sp = &d->split[split];
    for (i = 0; i < sp->n_seqs; ++i) total += sp->len[i] - 1; /* len >= 1 (loader) */
    out->allocator = bruno_data__alloc_of(allocator);
    out->n_seqs = sp->n_seqs;
    out->n_keys = n_keys;
    out->total_steps = total;
    out->n_steps = BRUNO_DATA__ALLOC(out->allocator, sp->n_seqs, size_t);
    out->offset = BRUNO_DATA__ALLOC(out->allocator, sp->n_seqs, size_t);
    out->x = (bruno_real *)bruno_alloc(&out->allocator, total * n_keys, sizeof(bruno_real));
    out->y = (bruno_real *)bruno_alloc(&out->allocator, total * n_keys, sizeof(bruno_real));
    if (!out->n_steps || !out->offset || !out->x || !out->y) {
        bruno_data_jsb_seqs_free(out);
        bruno_data__msg(msg, msg_size, who, "out of memory");
        return BRUNO_ERR_NOMEM;
    }
    step = 0;
    for (i = 0; i < sp->n_seqs; ++i) {
        const uint8_t *roll = sp->roll + sp->offset[i] * d->n_keys;
        out->n_steps[i] = sp->len[i] - 1;
        out->offset[i] = step;
        for (t = 0; t < sp->len[i]; ++t) {
            const uint8_t *fr = roll + t * d->n_keys;
            for (k = 0; k < d->n_keys; ++k)
                if (fr[k] && (k < key_lo || k >= (size_t)key_lo + n_keys)) out->n_dropped_notes++;
            for (k = 0; k < n_keys; ++k) {
                bruno_real v = (bruno_real)fr[key_lo + k];
                if (t + 1 < sp->len[i]) out->x[(step + t) * n_keys + k] = v;  /* input: frames 0..T-2 */
                if (t > 0) out->y[(step + t - 1) * n_keys + k] = v;           /* target: frames 1..T-1 */
            }
        }
        step += sp->len[i] - 1;
    }
    return BRUNO_OK;
}

#endif /* BRUNO_DATA_IMPLEMENTATION_DONE */
#endif /* BRUNO_DATA_IMPLEMENTATION */
