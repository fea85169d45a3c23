/* test_datasets.c - datasets/bruno_data.h: the loaders on the real files,
   the preprocessing pipelines, FFT resampling, and damaged files.

   The counts asserted here are the independent facts of the dataset READMEs
   (../shared/datasets/{jsb_chorales,braille}/README.md), not outputs of
   this code. Files are looked up like datasets/fetch.sh does: $BRUNO_DATA_DIR,
   datasets/data/, then the mirror ../shared/datasets/ (make runs the tests
   from the repository root).

   This is the one test translation unit that compiles the implementation. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bruno.h"
#define BRUNO_DATA_IMPLEMENTATION
#include "datasets/bruno_data.h"

#define JSB_REL "jsb_chorales/jsb_quarter.bin"
#define EV_REL "braille/braille_th10_events.bin"
#define RAW_REL "braille/braille_raw2021_40hz.bin"

/* ---- finding and reading files ------------------------------------------- */
static int exists(const char *p)
{
    FILE *f = fopen(p, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* The first existing candidate, into buf; aborts the test if none. */
static const char *find_data(const char *rel, char *buf, size_t n)
{
    const char *dir = getenv("BRUNO_DATA_DIR");
    const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    if (dir && *dir) {
        snprintf(buf, n, "%s/%s", dir, rel);
        if (exists(buf)) return buf;
        snprintf(buf, n, "%s/%s", dir, base);
        if (exists(buf)) return buf;
    }
    snprintf(buf, n, "datasets/data/%s", rel);
    if (exists(buf)) return buf;
    snprintf(buf, n, "../shared/datasets/%s", rel);
    if (exists(buf)) return buf;
    cr_assert_fail("%s not found (BRUNO_DATA_DIR, datasets/data/, ../shared/datasets/); run `make datasets`", rel);
    return NULL;
}

static unsigned char *slurp(const char *rel, size_t *size)
{
    char path[512];
    FILE *f = fopen(find_data(rel, path, sizeof path), "rb");
    unsigned char *p;
    long n;
    cr_assert(f != NULL);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = (unsigned char *)malloc((size_t)n + 64); /* room for appended bytes */
    cr_assert(p != NULL);
    cr_assert_eq(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return p;
}

static uint32_t get_u32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}
static void put_f64(unsigned char *p, double d)
{
    uint64_t u;
    int i;
    memcpy(&u, &d, 8);
    for (i = 0; i < 8; ++i) p[i] = (unsigned char)(u >> (8 * i));
}

/* ---- loading the real files: counts from the READMEs ------------------------ */
Test(datasets, jsb_quarter_has_the_readme_counts)
{
    char path[512], msg[256];
    bruno_data_jsb d;
    static const uint32_t pieces[3] = {229, 76, 77}, actives[3] = {53824, 17811, 18367};
    static const size_t frames[3] = {13807, 4602, 4725};
    static const uint32_t maxlen[3] = {129, 144, 160}, minlen[3] = {25, 32, 32};
    int s;
    cr_assert_eq(bruno_data_jsb_load(&d, find_data(JSB_REL, path, sizeof path), NULL, msg, sizeof msg), BRUNO_OK,
                 "%s", msg);
    cr_expect_eq(d.n_keys, 88);
    for (s = 0; s < 3; ++s) {
        const bruno_data_jsb_split *sp = &d.split[s];
        uint32_t i, lo = 0xffffffffu, hi = 0;
        size_t k, active = 0, f = 0;
        cr_expect_eq(sp->n_seqs, pieces[s]);
        cr_expect_eq(sp->n_frames, frames[s]);
        for (i = 0; i < sp->n_seqs; ++i) {
            cr_expect_eq(sp->offset[i], f);
            f += sp->len[i];
            if (sp->len[i] < lo) lo = sp->len[i];
            if (sp->len[i] > hi) hi = sp->len[i];
        }
        cr_expect_eq(lo, minlen[s]);
        cr_expect_eq(hi, maxlen[s]);
        for (k = 0; k < sp->n_frames * 88; ++k) active += sp->roll[k];
        cr_expect_eq(active, actives[s]);
    }
    cr_expect_eq(d.split[0].len[0], 129); /* first training piece */
    bruno_data_jsb_free(&d);
}

Test(datasets, braille_events_have_the_readme_counts)
{
    char path[512], msg[256];
    bruno_data_braille_events ev;
    size_t k, on = 0, per_taxel[12] = {0}, per_class[27] = {0};
    uint32_t i;
    cr_assert_eq(bruno_data_braille_events_load(&ev, find_data(EV_REL, path, sizeof path), NULL, msg, sizeof msg),
                 BRUNO_OK, "%s", msg);
    cr_expect_eq(ev.n_samples, 5400);
    cr_expect_eq(ev.n_events, 221107);
    cr_expect_eq(ev.threshold, 10.0);
    cr_expect_eq(ev.source_rate_hz, 40.0);
    cr_expect_str_eq(ev.class_names[0], "Space");
    cr_expect_str_eq(ev.class_names[1], "A");
    cr_expect_str_eq(ev.class_names[26], "Z");
    for (k = 0; k < ev.n_events; ++k) {
        on += ev.polarity[k] == 0;
        per_taxel[ev.taxel[k]]++;
        cr_assert(ev.t[k] >= 0 && ev.t[k] <= 1.31, "event %zu at %g s outside 0..1.30 s", k, ev.t[k]);
    }
    cr_expect_eq(on, 113088);
    cr_expect_eq(ev.n_events - on, 108019);
    cr_expect_eq(per_taxel[1], 63414);
    cr_expect_eq(per_taxel[0], 3299);
    for (i = 0; i < ev.n_samples; ++i) per_class[ev.label[i]]++;
    for (i = 0; i < 27; ++i) cr_expect_eq(per_class[i], 200, "class %u", i);
    cr_expect_eq(ev.label[0], 1);      /* ordered A..Z then Space */
    cr_expect_eq(ev.label[5399], 0);
    cr_expect_eq(ev.first[5400], ev.n_events);
    bruno_data_braille_events_free(&ev);
}

Test(datasets, braille_raw_has_the_readme_counts)
{
    char path[512], msg[256];
    bruno_data_braille_raw raw;
    size_t k, n76 = 0, n77 = 0, per_class[27] = {0};
    uint8_t lo = 255, hi = 0;
    uint32_t i;
    cr_assert_eq(bruno_data_braille_raw_load(&raw, find_data(RAW_REL, path, sizeof path), NULL, msg, sizeof msg),
                 BRUNO_OK, "%s", msg);
    cr_expect_eq(raw.n_samples, 1350);
    cr_expect_eq(raw.rate_hz, 40.0);
    for (i = 0; i < raw.n_samples; ++i) {
        n76 += raw.n_frames[i] == 76;
        n77 += raw.n_frames[i] == 77;
        per_class[raw.label[i]]++;
        cr_expect(raw.repetition[i] < 50);
    }
    cr_expect_eq(n76, 891);
    cr_expect_eq(n77, 459);
    for (i = 0; i < 27; ++i) cr_expect_eq(per_class[i], 50, "class %u", i);
    cr_expect_eq(raw.label[0], 0); /* Space x50 first */
    for (k = 0; k < raw.total_frames * 12; ++k) {
        if (raw.value[k] < lo) lo = raw.value[k];
        if (raw.value[k] > hi) hi = raw.value[k];
    }
    cr_expect_eq(lo, 55);
    cr_expect_eq(hi, 255);
    bruno_data_braille_raw_free(&raw);
}

Test(datasets, loaders_free_everything_they_allocate)
{
    char path[512], msg[256];
    bruno_counting_allocator ca;
    bruno_allocator a;
    bruno_data_braille_raw raw;
    bruno_counting_allocator_init(&ca, NULL);
    a = bruno_counting_allocator_get(&ca);
    cr_assert_eq(bruno_data_braille_raw_load(&raw, find_data(RAW_REL, path, sizeof path), &a, msg, sizeof msg),
                 BRUNO_OK, "%s", msg);
    cr_expect_gt(ca.live_bytes, 0);
    bruno_data_braille_raw_free(&raw);
    cr_expect_eq(ca.live_bytes, 0);
    cr_expect_eq(ca.n_allocs, ca.n_frees);
}

Test(datasets, a_missing_file_is_an_io_error)
{
    char msg[256];
    bruno_data_jsb d;
    cr_expect_eq(bruno_data_jsb_load(&d, "datasets/data/no_such_file.bin", NULL, msg, sizeof msg), BRUNO_ERR_IO);
    cr_expect(strstr(msg, "no_such_file.bin") != NULL, "%s", msg);
    cr_expect_eq(bruno_data_jsb_load(&d, "datasets", NULL, msg, sizeof msg), BRUNO_ERR_IO, "%s", msg);
    cr_expect_eq(bruno_data_jsb_load(&d, NULL, NULL, msg, sizeof msg), BRUNO_ERR_ARG);
}

/* ---- FFT resampling ----------------------------------------------------------- */
Test(datasets, resample_reproduces_a_bandlimited_sinusoid)
{
    double x[76], y[152];
    const double pi = 3.14159265358979323846;
    size_t n = 76, num = 152, j, m;
    /* 5 cycles per window, phase 0.3: inside the band, so the periodic
       interpolation is the sinusoid itself at the finer grid */
    for (m = 0; m < n; ++m) x[m] = 0.7 + 1.3 * cos(2 * pi * 5 * (double)m / (double)n + 0.3);
    cr_assert_eq(bruno_data_resample_fft(x, n, y, num, NULL, NULL), BRUNO_OK);
    for (j = 0; j < num; ++j)
        cr_expect(fabs(y[j] - (0.7 + 1.3 * cos(2 * pi * 5 * (double)j / (double)num + 0.3))) < 1e-12, "j=%zu", j);
    /* odd length, upsample x3 */
    for (m = 0; m < 25; ++m) x[m] = sin(2 * pi * 7 * (double)m / 25.0);
    cr_assert_eq(bruno_data_resample_fft(x, 25, y, 75, NULL, NULL), BRUNO_OK);
    for (j = 0; j < 75; ++j) cr_expect(fabs(y[j] - sin(2 * pi * 7 * (double)j / 75.0)) < 1e-12, "j=%zu", j);
}

Test(datasets, resample_splits_the_nyquist_bin_like_scipy)
{
    /* x = (-1)^m, n even: scipy.signal.resample halves the Nyquist bin into
       +n/2 and -n/2, which gives cos(pi j / k) at upsampling factor k. */
    double x[8], y[16], w[2 * 8 + 2 * 16];
    size_t m, j;
    for (m = 0; m < 8; ++m) x[m] = (m % 2) ? -1.0 : 1.0;
    cr_assert_eq(bruno_data_resample_fft(x, 8, y, 16, w, NULL), BRUNO_OK);
    for (j = 0; j < 16; ++j) cr_expect(fabs(y[j] - cos(3.14159265358979323846 * (double)j / 2.0)) < 1e-12);
    /* num == n is the identity */
    for (m = 0; m < 8; ++m) x[m] = (double)(m * m) - 3.0;
    cr_assert_eq(bruno_data_resample_fft(x, 8, y, 8, NULL, NULL), BRUNO_OK);
    for (m = 0; m < 8; ++m) cr_expect(fabs(y[m] - x[m]) < 1e-12);
    cr_expect_eq(bruno_data_resample_fft(x, 8, y, 4, NULL, NULL), BRUNO_ERR_SIZE);
    cr_expect_eq(bruno_data_resample_fft(x, 0, y, 4, NULL, NULL), BRUNO_ERR_ARG);
}

/* ---- Braille raw pipeline -------------------------------------------------------- */
static void load_raw(bruno_data_braille_raw *raw)
{
    char path[512], msg[256];
    cr_assert_eq(bruno_data_braille_raw_load(raw, find_data(RAW_REL, path, sizeof path), NULL, msg, sizeof msg),
                 BRUNO_OK, "%s", msg);
}

Test(datasets, raw_pipeline_gives_152_steps_of_4_zscored_channels)
{
    bruno_data_braille_raw raw;
    bruno_data_braille_raw_config cfg = bruno_data_braille_raw_config_default();
    bruno_data_seq tr, te;
    char msg[256];
    size_t c, i, k, seen_n = 0;
    unsigned char *seen;
    load_raw(&raw);
    cr_assert_eq(bruno_data_braille_raw_prepare(&raw, &cfg, &tr, &te, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cr_expect_eq(tr.n_steps, 152); /* crop to 76 frames, x2 */
    cr_expect_eq(tr.n_channels, 4);
    cr_expect_eq(tr.n_samples, 1080);
    cr_expect_eq(te.n_samples, 270);
    cr_expect(fabs(tr.step_s - 1.0 / 80.0) < 1e-15);
    /* every sample exactly once, labels carried along */
    seen = (unsigned char *)calloc(raw.n_samples, 1);
    for (i = 0; i < tr.n_samples + te.n_samples; ++i) {
        const bruno_data_seq *s = i < tr.n_samples ? &tr : &te;
        size_t r = i < tr.n_samples ? i : i - tr.n_samples;
        cr_assert_lt(s->source_index[r], raw.n_samples);
        seen_n += !seen[s->source_index[r]];
        seen[s->source_index[r]] = 1;
        cr_expect_eq(s->label[r], raw.label[s->source_index[r]]);
    }
    cr_expect_eq(seen_n, raw.n_samples);
    free(seen);
    /* Mean 0 is preserved exactly by the resampling (DC bin), and so is the
       energy up to the halved Nyquist bin. The s.d. of a channel is
       sigma / (sigma + 1e-3), sigma the s.d. of 1 - raw/255 over the set,
       which is well below 1 for the taxels that are rarely touched. */
    for (c = 0; c < 4; ++c) {
        double s = 0, ss = 0, cnt = 0, m0 = 0, v0 = 0, sigma, want;
        uint32_t tx = cfg.taxels[c];
        for (i = 0; i < raw.n_samples; ++i)
            for (k = 0; k < 76; ++k) m0 += 1.0 - raw.value[(raw.offset[i] + k) * 12 + tx] / 255.0;
        m0 /= raw.n_samples * 76.0;
        for (i = 0; i < raw.n_samples; ++i)
            for (k = 0; k < 76; ++k) {
                double d = 1.0 - raw.value[(raw.offset[i] + k) * 12 + tx] / 255.0 - m0;
                v0 += d * d;
            }
        sigma = sqrt(v0 / (raw.n_samples * 76.0));
        want = sigma / (sigma + 1e-3);
        for (i = 0; i < tr.n_samples + te.n_samples; ++i) {
            const bruno_data_seq *q = i < tr.n_samples ? &tr : &te;
            size_t r = i < tr.n_samples ? i : i - tr.n_samples;
            for (k = 0; k < q->n_steps; ++k) {
                double v = q->x[(r * q->n_steps + k) * 4 + c];
                s += v;
                ss += v * v;
                cnt++;
            }
        }
        cr_expect(fabs(s / cnt) < 1e-5, "channel %zu mean %g", c, s / cnt);
        cr_expect(fabs(sqrt(ss / cnt - (s / cnt) * (s / cnt)) - want) < 1e-3 * want, "channel %zu sd %g, want %g",
                  c, sqrt(ss / cnt), want);
        cr_expect(want > 0.6 && want <= 1.0);
    }
    bruno_data_seq_free(&tr);
    bruno_data_seq_free(&te);
    bruno_data_braille_raw_free(&raw);
}

Test(datasets, raw_pipeline_without_upsampling_is_the_plain_zscore)
{
    bruno_data_braille_raw raw;
    bruno_data_braille_raw_config cfg = bruno_data_braille_raw_config_default();
    bruno_data_seq tr, te;
    char msg[256];
    size_t i, k;
    load_raw(&raw);
    cfg.upsample = 1;
    cfg.train_fraction = 1.0;
    cfg.taxels[0] = 3;
    cfg.n_taxels = 1;
    cr_assert_eq(bruno_data_braille_raw_prepare(&raw, &cfg, &tr, &te, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cr_expect_eq(tr.n_steps, 76);
    cr_expect_eq(te.n_samples, 0);
    {
        /* independent recomputation of x = (1 - raw/255 - mean) / (sd + 1e-3) */
        double s = 0, ss = 0, cnt = (double)raw.n_samples * 76, mean, sd;
        for (i = 0; i < raw.n_samples; ++i)
            for (k = 0; k < 76; ++k) s += 1.0 - raw.value[(raw.offset[i] + k) * 12 + 3] / 255.0;
        mean = s / cnt;
        for (i = 0; i < raw.n_samples; ++i)
            for (k = 0; k < 76; ++k) {
                double d = 1.0 - raw.value[(raw.offset[i] + k) * 12 + 3] / 255.0 - mean;
                ss += d * d;
            }
        sd = sqrt(ss / cnt);
        for (i = 0; i < tr.n_samples; ++i)
            for (k = 0; k < 76; ++k) {
                size_t src = tr.source_index[i];
                double want = (1.0 - raw.value[(raw.offset[src] + k) * 12 + 3] / 255.0 - mean) / (sd + 1e-3);
                cr_assert(fabs(tr.x[i * 76 + k] - want) < 1e-5 * (1 + fabs(want)), "sample %zu step %zu", i, k);
            }
    }
    bruno_data_seq_free(&tr);
    bruno_data_seq_free(&te);
    bruno_data_braille_raw_free(&raw);
}

Test(datasets, raw_pipeline_split_is_deterministic_per_seed)
{
    bruno_data_braille_raw raw;
    bruno_data_braille_raw_config cfg = bruno_data_braille_raw_config_default();
    bruno_data_seq a1, b1, a2, b2, a3, b3;
    char msg[256];
    load_raw(&raw);
    cfg.seed = 7;
    cr_assert_eq(bruno_data_braille_raw_prepare(&raw, &cfg, &a1, &b1, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cr_assert_eq(bruno_data_braille_raw_prepare(&raw, &cfg, &a2, &b2, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cfg.seed = 8;
    cr_assert_eq(bruno_data_braille_raw_prepare(&raw, &cfg, &a3, &b3, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cr_expect_eq(memcmp(a1.x, a2.x, a1.n_samples * a1.n_steps * a1.n_channels * sizeof(bruno_real)), 0);
    cr_expect_eq(memcmp(b1.source_index, b2.source_index, b1.n_samples * sizeof(uint32_t)), 0);
    cr_expect_neq(memcmp(a1.source_index, a3.source_index, a1.n_samples * sizeof(uint32_t)), 0);
    bruno_data_seq_free(&a1);
    bruno_data_seq_free(&b1);
    bruno_data_seq_free(&a2);
    bruno_data_seq_free(&b2);
    bruno_data_seq_free(&a3);
    bruno_data_seq_free(&b3);
    /* stratified: 40 of every class of 50 */
    cfg.stratified = 1;
    cr_assert_eq(bruno_data_braille_raw_prepare(&raw, &cfg, &a1, &b1, msg, sizeof msg), BRUNO_OK, "%s", msg);
    {
        size_t per[27] = {0}, i;
        for (i = 0; i < a1.n_samples; ++i) per[a1.label[i]]++;
        for (i = 0; i < 27; ++i) cr_expect_eq(per[i], 40);
    }
    bruno_data_seq_free(&a1);
    bruno_data_seq_free(&b1);
    /* a bad option is refused with a message */
    cfg.taxels[0] = 12;
    cr_expect_eq(bruno_data_braille_raw_prepare(&raw, &cfg, &a1, &b1, msg, sizeof msg), BRUNO_ERR_ARG);
    cr_expect(strstr(msg, "taxel 12") != NULL, "%s", msg);
    bruno_data_braille_raw_free(&raw);
}

Test(datasets, pipelines_free_everything_on_out_of_memory)
{
    bruno_data_braille_raw raw;
    bruno_data_braille_raw_config cfg = bruno_data_braille_raw_config_default();
    bruno_counting_allocator ca;
    bruno_data_seq tr, te;
    char msg[256];
    size_t k;
    bruno_result e = BRUNO_ERR_NOMEM;
    load_raw(&raw);
    for (k = 1; e == BRUNO_ERR_NOMEM; ++k) {
        bruno_counting_allocator_init(&ca, NULL);
        ca.fail_at = k;
        cfg.allocator = bruno_counting_allocator_get(&ca);
        e = bruno_data_braille_raw_prepare(&raw, &cfg, &tr, &te, msg, sizeof msg);
        if (e == BRUNO_ERR_NOMEM) {
            cr_expect_eq(ca.live_bytes, 0, "allocation %zu failed: %zu bytes leaked", k, ca.live_bytes);
            cr_expect(strstr(msg, "out of memory") != NULL, "%s", msg);
        }
    }
    cr_expect_eq(e, BRUNO_OK);
    cr_expect_gt(k, 5);
    bruno_data_seq_free(&tr);
    bruno_data_seq_free(&te);
    cr_expect_eq(ca.live_bytes, 0);
    bruno_data_braille_raw_free(&raw);
}

/* ---- Braille event pipeline --------------------------------------------------------- */
Test(datasets, event_pipeline_bins_like_the_benchmark_notebook)
{
    char path[512], msg[256];
    bruno_data_braille_events ev;
    bruno_data_braille_events_config cfg = bruno_data_braille_events_config_default();
    bruno_data_events_stats st;
    bruno_data_seq tr, te;
    size_t i, k, ones = 0, per[27] = {0};
    cr_assert_eq(bruno_data_braille_events_load(&ev, find_data(EV_REL, path, sizeof path), NULL, msg, sizeof msg),
                 BRUNO_OK, "%s", msg);
    cr_assert_eq(bruno_data_braille_events_prepare(&ev, &cfg, &tr, &te, &st, msg, sizeof msg), BRUNO_OK, "%s", msg);
    /* README: largest bin index 260 at 5 ms; binary bins merge 181 events */
    cr_expect_eq(st.max_bin, 260);
    cr_expect_eq(tr.n_steps, 261);
    cr_expect_eq(tr.n_channels, 24);
    cr_expect_eq(st.n_merged, 181);
    cr_expect_eq(st.n_dropped, 0);
    cr_expect_eq(tr.n_samples, 4320);
    cr_expect_eq(te.n_samples, 1080);
    for (i = 0; i < tr.n_samples * tr.n_steps * 24; ++i) ones += tr.x[i] != 0;
    for (i = 0; i < te.n_samples * te.n_steps * 24; ++i) ones += te.x[i] != 0;
    cr_expect_eq(ones, 221107 - 181);
    for (i = 0; i < tr.n_samples; ++i) per[tr.label[i]]++;
    for (k = 0; k < 27; ++k) cr_expect_eq(per[k], 160, "class %zu", k); /* stratified */
    bruno_data_seq_free(&tr);
    bruno_data_seq_free(&te);
    /* a fixed, shorter window drops the late events and says how many */
    cfg.n_steps = 100;
    cfg.bin_s = 10e-3;
    cr_assert_eq(bruno_data_braille_events_prepare(&ev, &cfg, &tr, &te, &st, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cr_expect_eq(tr.n_steps, 100);
    cr_expect_gt(st.n_dropped, 0);
    {
        size_t late = 0;
        for (k = 0; k < ev.n_events; ++k) late += nearbyint(ev.t[k] * 1000.0 / 10.0) >= 100;
        cr_expect_eq(st.n_dropped, late);
    }
    bruno_data_seq_free(&tr);
    bruno_data_seq_free(&te);
    cfg.bin_s = 0;
    cr_expect_eq(bruno_data_braille_events_prepare(&ev, &cfg, &tr, &te, &st, msg, sizeof msg), BRUNO_ERR_TIME_STEP);
    cfg.bin_s = 1e-9; /* ~1e9 steps: refused before allocating */
    cfg.n_steps = 0;
    cr_expect_eq(bruno_data_braille_events_prepare(&ev, &cfg, &tr, &te, &st, msg, sizeof msg), BRUNO_ERR_SIZE);
    bruno_data_braille_events_free(&ev);
}

Test(datasets, approximate_raw_from_events_feeds_the_raw_pipeline)
{
    char path[512], msg[256];
    bruno_data_braille_events ev;
    bruno_data_braille_raw raw;
    bruno_data_braille_raw_config cfg = bruno_data_braille_raw_config_default();
    bruno_data_seq tr, te;
    size_t k, tx, i;
    cr_assert_eq(bruno_data_braille_events_load(&ev, find_data(EV_REL, path, sizeof path), NULL, msg, sizeof msg),
                 BRUNO_OK, "%s", msg);
    cr_assert_eq(bruno_data_braille_events_to_raw(&ev, 0, NULL, &raw, msg, sizeof msg), BRUNO_OK, "%s", msg);
    /* README: events cover 0..1.30 s; at 40 Hz that is 53 frames (0..52) */
    cr_expect_eq(raw.n_frames[0], 53);
    cr_expect_eq(raw.n_samples, 5400);
    cr_expect_eq(raw.repetition[199], 199);
    /* the last frame of sample 0 is 255 - 10 * (ON - OFF) of each taxel */
    for (tx = 0; tx < 12; ++tx) {
        long net = 0;
        for (k = ev.first[0]; k < ev.first[1]; ++k)
            if (ev.taxel[k] == tx) net += ev.polarity[k] == 0 ? 1 : -1;
        i = (raw.offset[0] + 52) * 12 + tx;
        net = 255 - 10 * net;
        cr_expect_eq(raw.value[i], net < 0 ? 0 : net > 255 ? 255 : net, "taxel %zu", tx);
    }
    cr_assert_eq(bruno_data_braille_raw_prepare(&raw, &cfg, &tr, &te, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cr_expect_eq(tr.n_steps, 106);
    cr_expect_eq(tr.n_samples, 4320); /* 80 % of 5400 */
    cr_expect_eq(te.n_samples, 1080);
    bruno_data_seq_free(&tr);
    bruno_data_seq_free(&te);
    bruno_data_braille_raw_free(&raw);
    bruno_data_braille_events_free(&ev);
}

/* ---- JSB pipeline ------------------------------------------------------------------ */
Test(datasets, jsb_pipeline_shifts_targets_by_one_frame_in_54_keys)
{
    char path[512], msg[256];
    bruno_data_jsb d;
    bruno_data_jsb_seqs s;
    static const size_t frames[3] = {13807, 4602, 4725}, pieces[3] = {229, 76, 77};
    int sp;
    size_t i, t, k;
    cr_assert_eq(bruno_data_jsb_load(&d, find_data(JSB_REL, path, sizeof path), NULL, msg, sizeof msg), BRUNO_OK,
                 "%s", msg);
    for (sp = 0; sp < 3; ++sp) {
        cr_assert_eq(bruno_data_jsb_prepare(&d, sp, BRUNO_DATA_JSB_KEY_LO, BRUNO_DATA_JSB_CROP_KEYS, NULL, &s, msg,
                                            sizeof msg),
                     BRUNO_OK, "%s", msg);
        cr_expect_eq(s.n_keys, 54);
        cr_expect_eq(s.total_steps, frames[sp] - pieces[sp]);
        cr_expect_eq(s.n_dropped_notes, 0); /* README: pitch range 43..96 = keys 22..75 */
        for (i = 0; i < s.n_seqs; ++i) {
            cr_assert_eq(s.n_steps[i], d.split[sp].len[i] - 1);
            for (t = 0; t < s.n_steps[i]; ++t)
                for (k = 0; k < 54; ++k) {
                    const uint8_t *roll = d.split[sp].roll + (d.split[sp].offset[i] + t) * 88;
                    cr_assert_eq(s.x[(s.offset[i] + t) * 54 + k], (bruno_real)roll[22 + k]);
                    cr_assert_eq(s.y[(s.offset[i] + t) * 54 + k], (bruno_real)roll[88 + 22 + k]);
                }
        }
        bruno_data_jsb_seqs_free(&s);
    }
    /* the full keyboard keeps every note; a crop to 4 keys drops most */
    cr_assert_eq(bruno_data_jsb_prepare(&d, 0, 0, 88, NULL, &s, msg, sizeof msg), BRUNO_OK);
    cr_expect_eq(s.n_dropped_notes, 0);
    bruno_data_jsb_seqs_free(&s);
    cr_assert_eq(bruno_data_jsb_prepare(&d, 0, 40, 4, NULL, &s, msg, sizeof msg), BRUNO_OK);
    cr_expect_gt(s.n_dropped_notes, 40000);
    bruno_data_jsb_seqs_free(&s);
    cr_expect_eq(bruno_data_jsb_prepare(&d, 0, 80, 9, NULL, &s, msg, sizeof msg), BRUNO_ERR_ARG);
    cr_expect_eq(bruno_data_jsb_prepare(&d, 3, 22, 54, NULL, &s, msg, sizeof msg), BRUNO_ERR_ARG);
    bruno_data_jsb_free(&d);
}

/* ---- damaged files -------------------------------------------------------------------- */
typedef bruno_result (*load_fn)(const unsigned char *p, size_t n, char *msg, size_t msg_size,
                                const bruno_allocator *a);

static bruno_result load_jsb(const unsigned char *p, size_t n, char *msg, size_t ms, const bruno_allocator *a)
{
    bruno_data_jsb d;
    bruno_result e = bruno_data_jsb_load_mem(&d, p, n, "jsb_quarter.bin", a, msg, ms);
    bruno_data_jsb_free(&d);
    return e;
}
static bruno_result load_ev(const unsigned char *p, size_t n, char *msg, size_t ms, const bruno_allocator *a)
{
    bruno_data_braille_events d;
    bruno_result e = bruno_data_braille_events_load_mem(&d, p, n, "braille_th10_events.bin", a, msg, ms);
    bruno_data_braille_events_free(&d);
    return e;
}
static bruno_result load_raw_mem(const unsigned char *p, size_t n, char *msg, size_t ms, const bruno_allocator *a)
{
    bruno_data_braille_raw d;
    bruno_result e = bruno_data_braille_raw_load_mem(&d, p, n, "braille_raw2021_40hz.bin", a, msg, ms);
    bruno_data_braille_raw_free(&d);
    return e;
}

/* Every prefix shorter than the file is malformed: each byte of the header
   and the first records, then ~120 offsets spread over the rest, and the
   last 20. The counting allocator proves nothing leaks. */
static void truncations(const char *rel, load_fn load, size_t dense)
{
    size_t n, cut, step;
    unsigned char *p = slurp(rel, &n);
    char msg[256];
    bruno_counting_allocator ca;
    bruno_allocator a;
    bruno_counting_allocator_init(&ca, NULL);
    a = bruno_counting_allocator_get(&ca);
    cr_assert_eq(load(p, n, msg, sizeof msg, &a), BRUNO_OK, "%s", msg);
    step = (n - dense) / 120 + 1;
    for (cut = 0; cut < n; ++cut) {
        /* dense up to `dense`, then every step-th offset, then the last 20 */
        if (cut >= dense && cut + 20 < n && (cut - dense) % step != 0) continue;
        msg[0] = 0;
        cr_assert_eq(load(p, cut, msg, sizeof msg, &a), BRUNO_ERR_FORMAT, "cut at %zu", cut);
        cr_assert(msg[0] != 0, "cut at %zu: no message", cut);
        cr_assert_eq(ca.live_bytes, 0);
    }
    cr_expect(strstr(msg, "truncated") != NULL, "%s", msg);
    free(p);
}

Test(datasets, truncated_files_are_format_errors)
{
    truncations(JSB_REL, load_jsb, 24 + 4 + 4 + 88 * 3);
    truncations(EV_REL, load_ev, 256 + 8 + 16 * 4);
    truncations(RAW_REL, load_raw_mem, 248 + 12 + 12 * 3);
}

/* Change a copy, load it, check the code and that msg contains want. */
static void expect_damage(const unsigned char *orig, size_t n, load_fn load, size_t off, const void *bytes,
                          size_t len, size_t extra, bruno_result code, const char *want)
{
    unsigned char *p = (unsigned char *)malloc(n + extra);
    char msg[256];
    bruno_counting_allocator ca;
    bruno_allocator a;
    bruno_counting_allocator_init(&ca, NULL);
    a = bruno_counting_allocator_get(&ca);
    memcpy(p, orig, n);
    memset(p + n, 0, extra);
    if (bytes) memcpy(p + off, bytes, len);
    msg[0] = 0;
    cr_expect_eq(load(p, n + extra, msg, sizeof msg, &a), code, "offset %zu: %s", off, msg);
    cr_expect(strstr(msg, want) != NULL, "expected \"%s\" in \"%s\"", want, msg);
    cr_expect_eq(ca.live_bytes, 0);
    free(p);
}

static void put32(unsigned char *b, uint32_t v) { put_u32(b, v); }

Test(datasets, damaged_braille_events_are_reported_precisely)
{
    size_t n, s, off = 256;
    unsigned char *p = slurp(EV_REL, &n), b[8];
    /* offset of sample 17 */
    for (s = 0; s < 17; ++s) off += 8 + 16 * (size_t)get_u32(p + off + 4);
    cr_assert_gt(get_u32(p + off + 4), 2);
    expect_damage(p, n, load_ev, 0, "BRAILEV2", 8, 0, BRUNO_ERR_FORMAT, "wrong magic");
    put32(b, 0xffffffffu);
    expect_damage(p, n, load_ev, 8, b, 4, 0, BRUNO_ERR_FORMAT, "n_samples 4294967295");
    put32(b, 5401);
    expect_damage(p, n, load_ev, 8, b, 4, 0, BRUNO_ERR_FORMAT, "truncated: sample 5400 header");
    put32(b, 13);
    expect_damage(p, n, load_ev, 12, b, 4, 0, BRUNO_ERR_FORMAT, "n_taxels is 13, expected 12");
    put32(b, 28);
    expect_damage(p, n, load_ev, 20, b, 4, 0, BRUNO_ERR_FORMAT, "n_classes is 28");
    put_f64(b, NAN);
    expect_damage(p, n, load_ev, 24, b, 8, 0, BRUNO_ERR_FORMAT, "threshold");
    expect_damage(p, n, load_ev, 40 + 8 * 3, "ABCDEFGH", 8, 0, BRUNO_ERR_FORMAT, "class name 3 is not NUL");
    put32(b, 27);
    expect_damage(p, n, load_ev, off, b, 4, 0, BRUNO_ERR_FORMAT, "sample 17: label 27 out of range 0..26");
    put32(b, 0x10000000u);
    expect_damage(p, n, load_ev, off + 4, b, 4, 0, BRUNO_ERR_FORMAT, "truncated: sample 17 (268435456 events)");
    put32(b, 14);
    expect_damage(p, n, load_ev, off + 8 + 16 + 8, b, 4, 0, BRUNO_ERR_FORMAT,
                  "sample 17 event 1: taxel 14 out of range 0..11");
    put32(b, 2);
    expect_damage(p, n, load_ev, off + 8 + 12, b, 4, 0, BRUNO_ERR_FORMAT, "sample 17 event 0: polarity 2");
    put_f64(b, NAN);
    expect_damage(p, n, load_ev, off + 8 + 16, b, 8, 0, BRUNO_ERR_FORMAT, "sample 17 event 1: time nan");
    put_f64(b, INFINITY);
    expect_damage(p, n, load_ev, off + 8, b, 8, 0, BRUNO_ERR_FORMAT, "sample 17 event 0: time inf");
    put_f64(b, -1.0);
    expect_damage(p, n, load_ev, off + 8, b, 8, 0, BRUNO_ERR_FORMAT, "time -1 s is not a finite number >= 0");
    put_f64(b, 5.0); /* event 0 later than event 1 (within the 10 s a recording may last) */
    expect_damage(p, n, load_ev, off + 8, b, 8, 0, BRUNO_ERR_FORMAT, "sample 17 event 1: not sorted");
    expect_damage(p, n, load_ev, 0, NULL, 0, 1, BRUNO_ERR_FORMAT, "1 trailing bytes");
    expect_damage(p, n, load_ev, 0, NULL, 0, 37, BRUNO_ERR_FORMAT, "37 trailing bytes");
    free(p);
}

Test(datasets, damaged_braille_raw_and_jsb_are_reported_precisely)
{
    size_t n, s, off;
    unsigned char *p = slurp(RAW_REL, &n), b[8];
    off = 248;
    for (s = 0; s < 3; ++s) off += 12 + 12 * (size_t)get_u32(p + off + 8);
    expect_damage(p, n, load_raw_mem, 0, "BRAILEV1", 8, 0, BRUNO_ERR_FORMAT, "not a BRAILRW1 file");
    put32(b, 1);
    expect_damage(p, n, load_raw_mem, 20, b, 4, 0, BRUNO_ERR_FORMAT, "reserved is 1");
    put32(b, 0x7fffffffu);
    expect_damage(p, n, load_raw_mem, 8, b, 4, 0, BRUNO_ERR_FORMAT, "n_samples 2147483647 needs");
    put_f64(b, -40.0);
    expect_damage(p, n, load_raw_mem, 24, b, 8, 0, BRUNO_ERR_FORMAT, "sampling rate");
    put32(b, 99);
    expect_damage(p, n, load_raw_mem, off, b, 4, 0, BRUNO_ERR_FORMAT, "sample 3: label 99 out of range 0..26");
    put32(b, 0);
    expect_damage(p, n, load_raw_mem, off + 8, b, 4, 0, BRUNO_ERR_FORMAT, "sample 3: 0 frames");
    put32(b, 0xfffffff0u);
    expect_damage(p, n, load_raw_mem, off + 8, b, 4, 0, BRUNO_ERR_FORMAT, "truncated: sample 3");
    put32(b, 77); /* sample 3 has 76 or 77 frames; with 78 the framing shifts */
    b[0] = (unsigned char)(get_u32(p + off + 8) + 1);
    expect_damage(p, n, load_raw_mem, off + 8, b, 4, 0, BRUNO_ERR_FORMAT, "");
    expect_damage(p, n, load_raw_mem, 0, NULL, 0, 5, BRUNO_ERR_FORMAT, "5 trailing bytes");
    free(p);

    p = slurp(JSB_REL, &n);
    put32(b, 2);
    expect_damage(p, n, load_jsb, 4, b, 4, 0, BRUNO_ERR_FORMAT, "version is 2, expected 1");
    put32(b, 89);
    expect_damage(p, n, load_jsb, 8, b, 4, 0, BRUNO_ERR_FORMAT, "n_keys is 89");
    put32(b, 4);
    expect_damage(p, n, load_jsb, 16, b, 4, 0, BRUNO_ERR_FORMAT, "n_splits is 4");
    put32(b, 0xffffffffu);
    expect_damage(p, n, load_jsb, 24, b, 4, 0, BRUNO_ERR_FORMAT, "train: n_seqs 4294967295 cannot fit");
    put32(b, 0);
    expect_damage(p, n, load_jsb, 28, b, 4, 0, BRUNO_ERR_FORMAT, "train piece 0: 0 frames");
    b[0] = 2;
    expect_damage(p, n, load_jsb, 32 + 88 * 5 + 7, b, 1, 0, BRUNO_ERR_FORMAT,
                  "train piece 0 frame 5 key 7: note byte 2 is not 0 or 1");
    expect_damage(p, n, load_jsb, 0, NULL, 0, 88, BRUNO_ERR_FORMAT, "88 trailing bytes");
    free(p);
}

Test(datasets, loaders_survive_every_failed_allocation)
{
    size_t n, k;
    unsigned char *p = slurp(RAW_REL, &n);
    char msg[256];
    bruno_counting_allocator ca;
    bruno_allocator a;
    bruno_result e = BRUNO_ERR_NOMEM;
    for (k = 1; e == BRUNO_ERR_NOMEM; ++k) {
        bruno_counting_allocator_init(&ca, NULL);
        ca.fail_at = k;
        a = bruno_counting_allocator_get(&ca);
        e = load_raw_mem(p, n, msg, sizeof msg, &a);
        if (e == BRUNO_ERR_NOMEM) cr_expect(strstr(msg, "out of memory") != NULL, "%s", msg);
        cr_expect_eq(ca.live_bytes, 0);
    }
    cr_expect_eq(e, BRUNO_OK);
    cr_expect_eq(k, 7); /* five arrays: allocations 1..5 failed, the 6th run succeeded */
    free(p);
}

/* ---- hostile content (issue 16, class 5) ------------------------------------------ */
/* A valid-in-form events file of n samples, one event each at t_s; labels
   from label_of(i). */
static unsigned char *make_events(size_t n, uint32_t (*label_of)(size_t), double t_s, size_t *size)
{
    size_t i, off = 256;
    unsigned char *p;
    *size = 256 + n * (8 + 16);
    p = (unsigned char *)calloc(1, *size);
    cr_assert(p != NULL);
    memcpy(p, "BRAILEV1", 8);
    put_u32(p + 8, (uint32_t)n);
    put_u32(p + 12, 12);
    put_u32(p + 16, 2);
    put_u32(p + 20, 27);
    put_f64(p + 24, 10.0);
    put_f64(p + 32, 40.0);
    for (i = 0; i < 27; ++i) p[40 + 8 * i] = (unsigned char)('A' + i % 26);
    for (i = 0; i < n; ++i, off += 24) {
        put_u32(p + off, label_of(i));
        put_u32(p + off + 4, 1);
        put_f64(p + off + 8, t_s);
        put_u32(p + off + 16, (uint32_t)(i % 12));
        put_u32(p + off + 20, (uint32_t)(i % 2));
    }
    return p;
}

static uint32_t mostly_class_0(size_t i) { return i < 90 ? 0u : (uint32_t)(1 + i % 5); }

Test(datasets, a_stratified_split_with_one_dominant_class_keeps_every_sample_once)
{
    size_t n = 100, size, i;
    unsigned char *p = make_events(n, mostly_class_0, 0.01, &size);
    bruno_data_braille_events ev;
    bruno_data_braille_events_config cfg = bruno_data_braille_events_config_default();
    bruno_data_seq tr, te;
    char msg[256];
    int seen[100] = {0};
    cr_assert_eq(bruno_data_braille_events_load_mem(&ev, p, size, "dominant", NULL, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cfg.stratified = 1;
    cr_assert_eq(bruno_data_braille_events_prepare(&ev, &cfg, &tr, &te, NULL, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cr_expect_eq(tr.n_samples + te.n_samples, n);
    for (i = 0; i < tr.n_samples; ++i) seen[tr.source_index[i]]++;
    for (i = 0; i < te.n_samples; ++i) seen[te.source_index[i]]++;
    for (i = 0; i < n; ++i) cr_expect_eq(seen[i], 1, "sample %zu appears %d times", i, seen[i]);
    /* and the labels follow their samples */
    for (i = 0; i < te.n_samples; ++i) cr_expect_eq(te.label[i], mostly_class_0(te.source_index[i]));
    bruno_data_seq_free(&tr);
    bruno_data_seq_free(&te);
    bruno_data_braille_events_free(&ev);
    free(p);
}

Test(datasets, an_event_time_beyond_any_recording_is_a_format_error)
{
    /* one event at t = 100 s asked the event pipeline for 8.3 GB */
    size_t size;
    unsigned char *p = make_events(10, mostly_class_0, 100.0, &size);
    bruno_data_braille_events ev;
    char msg[256];
    cr_expect_eq(bruno_data_braille_events_load_mem(&ev, p, size, "late", NULL, msg, sizeof msg), BRUNO_ERR_FORMAT);
    cr_expect(strstr(msg, "time 100 s is after 10 s") != NULL, "%s", msg);
    free(p);
}

Test(datasets, a_bin_width_that_makes_a_huge_dense_array_is_refused_before_allocating)
{
    /* 5400 samples at 1 us bins: 1.3e6 steps x 24 channels would be ~670 GB */
    size_t size;
    unsigned char *p = make_events(5400, mostly_class_0, 1.3, &size);
    bruno_data_braille_events ev;
    bruno_data_braille_events_config cfg = bruno_data_braille_events_config_default();
    bruno_data_seq tr, te;
    bruno_counting_allocator ca;
    bruno_allocator a;
    char msg[256];
    cr_assert_eq(bruno_data_braille_events_load_mem(&ev, p, size, "fine", NULL, msg, sizeof msg), BRUNO_OK, "%s", msg);
    bruno_counting_allocator_init(&ca, NULL);
    a = bruno_counting_allocator_get(&ca);
    cfg.allocator = a;
    cfg.bin_s = 1e-6;
    cr_expect_eq(bruno_data_braille_events_prepare(&ev, &cfg, &tr, &te, NULL, msg, sizeof msg), BRUNO_ERR_SIZE);
    cr_expect(strstr(msg, "bytes") != NULL, "%s", msg);
    cr_expect_eq(ca.peak_bytes, 0, "nothing allocated");
    bruno_data_braille_events_free(&ev);
    free(p);
}

/* ---- the validation carve (bruno-bench train --eval val) ------------------------------ */
/* Every id of a (train, test) pair of sets: 1 train, 2 test; counts each
   id once at most. */
static void mark_ids(const bruno_data_seq *s, unsigned char *mark, unsigned char v, size_t n)
{
    size_t i;
    for (i = 0; i < s->n_samples; ++i) {
        cr_assert_lt(s->source_index[i], n);
        cr_assert_eq(mark[s->source_index[i]], 0, "sample %u in two sets", (unsigned)s->source_index[i]);
        mark[s->source_index[i]] = v;
    }
}

static int same_seq(const bruno_data_seq *a, const bruno_data_seq *b)
{
    return a->n_samples == b->n_samples && a->n_steps == b->n_steps && a->n_channels == b->n_channels &&
           memcmp(a->x, b->x, a->n_samples * a->n_steps * a->n_channels * sizeof(bruno_real)) == 0 &&
           memcmp(a->label, b->label, a->n_samples * sizeof(uint32_t)) == 0 &&
           memcmp(a->source_index, b->source_index, a->n_samples * sizeof(uint32_t)) == 0;
}

Test(datasets, raw_val_carve_is_a_stratified_deterministic_partition_of_the_training_split)
{
    bruno_data_braille_raw raw;
    bruno_data_braille_raw_config cfg = bruno_data_braille_raw_config_default();
    bruno_data_seq tr, te, a, v, a2, v2, a3, v3;
    unsigned char mark[1350] = {0}, mark_v[1350] = {0};
    size_t per_tr[27] = {0}, per_v[27] = {0}, i;
    char msg[256];
    load_raw(&raw);
    cr_assert_eq(raw.n_samples, 1350);
    cr_assert_eq(bruno_data_braille_raw_prepare(&raw, &cfg, &tr, &te, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cfg.val_fraction = 0.2;
    cfg.val_seed = 1;
    cr_assert_eq(bruno_data_braille_raw_prepare(&raw, &cfg, &a, &v, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cr_assert_eq(bruno_data_braille_raw_prepare(&raw, &cfg, &a2, &v2, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cfg.val_seed = 2;
    cr_assert_eq(bruno_data_braille_raw_prepare(&raw, &cfg, &a3, &v3, msg, sizeof msg), BRUNO_OK, "%s", msg);
    /* train minus val and val cover the training split exactly, and no test sample */
    mark_ids(&a, mark, 1, 1350);
    mark_ids(&v, mark, 1, 1350);
    mark_ids(&tr, mark_v, 1, 1350);
    cr_expect_eq(memcmp(mark, mark_v, sizeof mark), 0, "train + val is not the training split");
    cr_expect_eq(a.n_samples + v.n_samples, tr.n_samples);
    /* stratified: every class gives n_c - round(0.8 n_c) of its training samples */
    for (i = 0; i < tr.n_samples; ++i) per_tr[tr.label[i]]++;
    for (i = 0; i < v.n_samples; ++i) per_v[v.label[i]]++;
    for (i = 0; i < 27; ++i)
        cr_expect_eq(per_v[i], per_tr[i] - (size_t)floor(0.8 * (double)per_tr[i] + 0.5), "class %zu", i);
    /* deterministic per val_seed, another seed another carve */
    cr_expect(same_seq(&a, &a2) && same_seq(&v, &v2));
    cr_expect_neq(memcmp(v.source_index, v3.source_index, v.n_samples * sizeof(uint32_t)), 0);
    bruno_data_seq_free(&a3);
    bruno_data_seq_free(&v3);
    /* a bad fraction is refused */
    cfg.val_fraction = 1.0;
    cr_expect_eq(bruno_data_braille_raw_prepare(&raw, &cfg, &a3, &v3, msg, sizeof msg), BRUNO_ERR_ARG);
    cr_expect(strstr(msg, "val_fraction") != NULL, "%s", msg);

    /* the test split is never read: damage every test sample (values and
       length: a shorter one would change the crop) and the carve gives the
       same bits; without the carve the same damage changes the training set */
    for (i = 0; i < te.n_samples; ++i) {
        uint32_t s = te.source_index[i];
        memset(raw.value + raw.offset[s] * raw.n_taxels, 0, (size_t)raw.n_frames[s] * raw.n_taxels);
        raw.n_frames[s] = 3;
    }
    cfg.val_fraction = 0.2;
    cfg.val_seed = 1;
    cr_assert_eq(bruno_data_braille_raw_prepare(&raw, &cfg, &a3, &v3, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cr_expect(same_seq(&a, &a3) && same_seq(&v, &v3), "the val carve depends on the test samples");
    bruno_data_seq_free(&a3);
    bruno_data_seq_free(&v3);
    cfg.val_fraction = 0;
    cr_assert_eq(bruno_data_braille_raw_prepare(&raw, &cfg, &a3, &v3, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cr_expect(!same_seq(&tr, &a3), "the damage is invisible even without the carve: the check above proves nothing");
    bruno_data_seq_free(&a3);
    bruno_data_seq_free(&v3);
    bruno_data_seq_free(&tr);
    bruno_data_seq_free(&te);
    bruno_data_seq_free(&a);
    bruno_data_seq_free(&v);
    bruno_data_seq_free(&a2);
    bruno_data_seq_free(&v2);
    bruno_data_braille_raw_free(&raw);
}

static uint32_t five_classes(size_t i) { return (uint32_t)(i % 5); }

Test(datasets, events_val_carve_partitions_the_training_split_and_never_reads_the_test_split)
{
    size_t n = 200, size, i, k;
    unsigned char *p = make_events(n, five_classes, 0.05, &size);
    bruno_data_braille_events ev;
    bruno_data_braille_events_config cfg = bruno_data_braille_events_config_default();
    bruno_data_seq tr, te, a, v, a2, v2;
    unsigned char mark[200] = {0}, mark_tr[200] = {0};
    size_t per_v[5] = {0};
    char msg[256];
    cr_assert_eq(bruno_data_braille_events_load_mem(&ev, p, size, "five", NULL, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cr_assert_eq(bruno_data_braille_events_prepare(&ev, &cfg, &tr, &te, NULL, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cfg.val_fraction = 0.25;
    cfg.val_seed = 9;
    cr_assert_eq(bruno_data_braille_events_prepare(&ev, &cfg, &a, &v, NULL, msg, sizeof msg), BRUNO_OK, "%s", msg);
    mark_ids(&a, mark, 1, n);
    mark_ids(&v, mark, 1, n);
    mark_ids(&tr, mark_tr, 1, n);
    cr_expect_eq(memcmp(mark, mark_tr, sizeof mark), 0, "train + val is not the training split");
    for (i = 0; i < v.n_samples; ++i) per_v[v.label[i]]++;
    for (i = 0; i < 5; ++i) cr_expect_eq(per_v[i], 8, "class %zu: %zu of 32 training samples", i, per_v[i]);
    /* a test event late enough to lengthen every sample without the carve */
    for (i = 0; i < te.n_samples; ++i)
        for (k = ev.first[te.source_index[i]]; k < ev.first[te.source_index[i] + 1]; ++k) ev.t[k] = 1.0;
    cr_assert_eq(bruno_data_braille_events_prepare(&ev, &cfg, &a2, &v2, NULL, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cr_expect(same_seq(&a, &a2) && same_seq(&v, &v2), "the val carve depends on the test samples");
    bruno_data_seq_free(&a2);
    bruno_data_seq_free(&v2);
    cfg.val_fraction = 0;
    cr_assert_eq(bruno_data_braille_events_prepare(&ev, &cfg, &a2, &v2, NULL, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cr_expect_neq(a2.n_steps, tr.n_steps, "the damage is invisible without the carve: the check proves nothing");
    bruno_data_seq_free(&a2);
    bruno_data_seq_free(&v2);
    bruno_data_seq_free(&tr);
    bruno_data_seq_free(&te);
    bruno_data_seq_free(&a);
    bruno_data_seq_free(&v);
    bruno_data_braille_events_free(&ev);
    free(p);
}

Test(datasets, jsb_holdout_moves_whole_training_pieces_and_drops_the_test_split)
{
    char path[512], msg[256];
    bruno_data_jsb d, h, h2;
    bruno_counting_allocator ca;
    bruno_allocator al;
    unsigned char used[229] = {0};
    size_t i, j, hits;
    bruno_result e = BRUNO_ERR_NOMEM;
    find_data(JSB_REL, path, sizeof path);
    cr_assert_eq(bruno_data_jsb_load(&d, path, NULL, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cr_assert_eq(bruno_data_jsb_load(&h, path, NULL, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cr_assert_eq(bruno_data_jsb_load(&h2, path, NULL, msg, sizeof msg), BRUNO_OK, "%s", msg);
    /* the test split's content cannot matter: h2's is wiped before the carve */
    memset(h2.split[BRUNO_DATA_TEST].roll, 1, h2.split[BRUNO_DATA_TEST].n_frames * 88);
    cr_assert_eq(bruno_data_jsb_holdout(&h, 0.2, 3, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cr_assert_eq(bruno_data_jsb_holdout(&h2, 0.2, 3, msg, sizeof msg), BRUNO_OK, "%s", msg);
    cr_expect_eq(h.split[BRUNO_DATA_TRAIN].n_seqs, 183);
    cr_expect_eq(h.split[BRUNO_DATA_VALID].n_seqs, 46);
    cr_expect_eq(h.split[BRUNO_DATA_TEST].n_seqs, 0);
    cr_expect_eq(h.split[BRUNO_DATA_TEST].roll, NULL);
    /* every piece of both parts is a distinct original training piece, in file order */
    for (j = 0; j < 2; ++j) {
        const bruno_data_jsb_split *s = &h.split[j == 0 ? BRUNO_DATA_TRAIN : BRUNO_DATA_VALID];
        const bruno_data_jsb_split *o = &d.split[BRUNO_DATA_TRAIN];
        size_t from = 0;
        for (i = 0; i < s->n_seqs; ++i) {
            size_t q;
            for (q = from, hits = 0; q < o->n_seqs && !hits; ++q)
                if (!used[q] && o->len[q] == s->len[i] &&
                    memcmp(o->roll + o->offset[q] * 88, s->roll + s->offset[i] * 88, (size_t)s->len[i] * 88) == 0) {
                    used[q] = 1;
                    hits = 1;
                    from = q + 1;
                }
            cr_assert(hits, "part %zu piece %zu is not a later unused training piece", j, i);
        }
    }
    for (i = 0; i < 229; ++i) cr_expect(used[i], "training piece %zu lost", i);
    /* deterministic, independent of the test split */
    for (j = 0; j < 2; ++j) {
        const bruno_data_jsb_split *x = &h.split[j], *y = &h2.split[j];
        cr_expect(x->n_seqs == y->n_seqs && x->n_frames == y->n_frames &&
                  memcmp(x->roll, y->roll, x->n_frames * 88) == 0);
    }
    cr_expect_eq(bruno_data_jsb_holdout(&h2, 0.0, 3, msg, sizeof msg), BRUNO_ERR_ARG);
    cr_expect(strstr(msg, "val_fraction") != NULL, "%s", msg);
    bruno_data_jsb_free(&h);
    bruno_data_jsb_free(&h2);
    bruno_data_jsb_free(&d);
    /* out of memory at every allocation: nothing leaks, the data is unchanged */
    for (i = 1; e == BRUNO_ERR_NOMEM; ++i) {
        bruno_counting_allocator_init(&ca, NULL);
        al = bruno_counting_allocator_get(&ca);
        cr_assert_eq(bruno_data_jsb_load(&h, path, &al, msg, sizeof msg), BRUNO_OK, "%s", msg);
        ca.fail_at = ca.n_allocs + i;
        e = bruno_data_jsb_holdout(&h, 0.2, 3, msg, sizeof msg);
        if (e == BRUNO_ERR_NOMEM) cr_expect_eq(h.split[BRUNO_DATA_TEST].n_seqs, 77);
        ca.fail_at = 0;
        bruno_data_jsb_free(&h);
        cr_expect_eq(ca.live_bytes, 0, "allocation %zu failed: leak", i);
        if (i > 20) break;
    }
    cr_expect_eq(e, BRUNO_OK);
}
