/* train_util.c - SHA-256, the resumable state file, key=value files, JSB
   metrics and the progress line of `bruno-bench train` (see train.h). */
#define _POSIX_C_SOURCE 200809L
#include "train.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void train__msg(char *msg, size_t n, const char *fmt, ...)
{
    va_list ap;
    if (!msg || !n) return;
    va_start(ap, fmt);
    vsnprintf(msg, n, fmt, ap);
    va_end(ap);
}

static double train__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- SHA-256 --------------------------------------------------------------- */
static const uint32_t train__k256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define TRAIN__ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void train__sha256_block(train_sha256 *s, const unsigned char *b)
{
    uint32_t w[64], a, c, d, e, f, g, h, bb, t1, t2;
    int i;
    for (i = 0; i < 16; ++i)
        w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 | (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
    for (i = 16; i < 64; ++i) {
        uint32_t s0 = TRAIN__ROR(w[i - 15], 7) ^ TRAIN__ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = TRAIN__ROR(w[i - 2], 17) ^ TRAIN__ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = s->h[0]; bb = s->h[1]; c = s->h[2]; d = s->h[3];
    e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
    for (i = 0; i < 64; ++i) {
        uint32_t S1 = TRAIN__ROR(e, 6) ^ TRAIN__ROR(e, 11) ^ TRAIN__ROR(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t S0 = TRAIN__ROR(a, 2) ^ TRAIN__ROR(a, 13) ^ TRAIN__ROR(a, 22);
        uint32_t mj = (a & bb) ^ (a & c) ^ (bb & c);
        t1 = h + S1 + ch + train__k256[i] + w[i];
        t2 = S0 + mj;
        h = g; g = f; f = e; e = d + t1;
        d = c; c = bb; bb = a; a = t1 + t2;
    }
    s->h[0] += a; s->h[1] += bb; s->h[2] += c; s->h[3] += d;
    s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

void train_sha256_init(train_sha256 *s)
{
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->len = 0;
    s->n = 0;
}

void train_sha256_update(train_sha256 *s, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    s->len += n;
    while (n) {
        size_t k = 64 - s->n < n ? 64 - s->n : n;
        memcpy(s->buf + s->n, p, k);
        s->n += k;
        p += k;
        n -= k;
        if (s->n == 64) {
            train__sha256_block(s, s->buf);
            s->n = 0;
        }
    }
}

void train_sha256_final(train_sha256 *s, unsigned char out[32])
{
    uint64_t bits = s->len * 8;
    unsigned char pad = 0x80, z = 0, L[8];
    int i;
    train_sha256_update(s, &pad, 1);
    while (s->n != 56) train_sha256_update(s, &z, 1);
    for (i = 0; i < 8; ++i) L[i] = (unsigned char)(bits >> (56 - 8 * i));
    train_sha256_update(s, L, 8);
    for (i = 0; i < 8; ++i) {
        out[4 * i] = (unsigned char)(s->h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
        out[4 * i + 3] = (unsigned char)s->h[i];
    }
}

void train_sha256_hex(const unsigned char d[32], char hex[65])
{
    static const char xd[] = "0123456789abcdef";
    int i;
    for (i = 0; i < 32; ++i) {
        hex[2 * i] = xd[d[i] >> 4];
        hex[2 * i + 1] = xd[d[i] & 15];
    }
    hex[64] = 0;
}

int train_sha256_file(const char *path, char hex[65])
{
    unsigned char buf[65536], d[32];
    train_sha256 s;
    size_t k;
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    train_sha256_init(&s);
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) train_sha256_update(&s, buf, k);
    if (ferror(f)) {
        fclose(f);
        return -1;
    }
    fclose(f);
    train_sha256_final(&s, d);
    train_sha256_hex(d, hex);
    return 0;
}

/* ---- buffers ----------------------------------------------------------------- */
void train_buf_put(train_buf *b, const void *d, size_t n)
{
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        unsigned char *q;
        while (cap < b->n + n) cap *= 2;
        q = (unsigned char *)realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
}

/* Numbers are stored in the machine's byte order; the header's byte-order
   word makes a file from another byte order an error, not garbage. */
void train_buf_u32(train_buf *b, uint32_t v) { train_buf_put(b, &v, sizeof v); }
void train_buf_u64(train_buf *b, uint64_t v) { train_buf_put(b, &v, sizeof v); }
void train_buf_f64(train_buf *b, double v) { train_buf_put(b, &v, sizeof v); }
void train_buf_str(train_buf *b, const char *s)
{
    size_t n = strlen(s);
    train_buf_u64(b, (uint64_t)n);
    train_buf_put(b, s, n);
}
void train_buf_free(train_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void train_rd_get(train_rd *r, void *d, size_t n)
{
    if (r->bad || n > r->n - r->off) {
        r->bad = 1;
        if (n) memset(d, 0, n);
        return;
    }
    if (n) memcpy(d, r->p + r->off, n);
    r->off += n;
}
uint32_t train_rd_u32(train_rd *r)
{
    uint32_t v;
    train_rd_get(r, &v, sizeof v);
    return v;
}
uint64_t train_rd_u64(train_rd *r)
{
    uint64_t v;
    train_rd_get(r, &v, sizeof v);
    return v;
}
double train_rd_f64(train_rd *r)
{
    double v;
    train_rd_get(r, &v, sizeof v);
    return v;
}
char *train_rd_str(train_rd *r)
{
    uint64_t n = train_rd_u64(r);
    char *s;
    if (r->bad || n > r->n - r->off) {
        r->bad = 1;
        return NULL;
    }
    s = (char *)malloc((size_t)n + 1);
    if (!s) {
        r->bad = 1;
        return NULL;
    }
    train_rd_get(r, s, (size_t)n);
    s[n] = 0;
    return s;
}

/* ---- state ------------------------------------------------------------------- */
static void train__put_rng(train_buf *b, const bruno_rng *g)
{
    int i;
    for (i = 0; i < 4; ++i) train_buf_u64(b, g->s[i]);
    train_buf_f64(b, g->cached_normal);
    train_buf_u32(b, (uint32_t)g->has_cached);
}

static void train__get_rng(train_rd *r, bruno_rng *g)
{
    int i;
    for (i = 0; i < 4; ++i) g->s[i] = train_rd_u64(r);
    g->cached_normal = train_rd_f64(r);
    g->has_cached = (int)train_rd_u32(r);
}

int train_state_encode(train_buf *out, const char *config, const train_state *st, const bruno_net *net,
                       const bruno_optim *opt, const bruno_plateau *pl)
{
    train_buf pay;
    train_sha256 sh;
    unsigned char hdr[TRAIN_STATE_HEADER], dig[32];
    uint32_t u;
    uint64_t n;
    size_t i;
    memset(&pay, 0, sizeof pay);
    memset(out, 0, sizeof *out);
    train_buf_str(&pay, config);
    train_buf_u64(&pay, st->epochs_done);
    train__put_rng(&pay, &st->shuffle_rng);
    train_buf_f64(&pay, st->best_metric);
    train_buf_u64(&pay, st->best_epoch);
    /* the network: RNG (stochastic rounding) and every parameter by name */
    train__put_rng(&pay, &net->rng);
    train_buf_u64(&pay, net->n_params);
    for (i = 0; i < net->n_params; ++i) {
        train_buf_str(&pay, net->params[i].name);
        train_buf_u64(&pay, net->params[i].n);
        train_buf_put(&pay, net->params[i].data, net->params[i].n * sizeof(bruno_real));
    }
    /* the optimiser */
    train_buf_u32(&pay, (uint32_t)opt->cfg.kind);
    train_buf_f64(&pay, opt->cfg.lr);
    train_buf_f64(&pay, opt->cfg.beta1);
    train_buf_f64(&pay, opt->cfg.beta2);
    train_buf_f64(&pay, opt->cfg.eps);
    train_buf_u64(&pay, opt->t);
    train_buf_u64(&pay, opt->n_total);
    train_buf_u32(&pay, opt->m ? 1u : 0u);
    if (opt->m) {
        train_buf_put(&pay, opt->m, opt->n_total * sizeof(bruno_real));
        train_buf_put(&pay, opt->u, opt->n_total * sizeof(bruno_real));
    }
    /* the plateau schedule */
    train_buf_u32(&pay, (uint32_t)pl->patience);
    train_buf_f64(&pay, pl->factor);
    train_buf_f64(&pay, pl->rtol);
    train_buf_f64(&pay, pl->best);
    train_buf_u32(&pay, (uint32_t)pl->bad_epochs);
    if (pay.oom) {
        train_buf_free(&pay);
        return -1;
    }
    train_sha256_init(&sh);
    train_sha256_update(&sh, pay.p, pay.n);
    train_sha256_final(&sh, dig);
    memset(hdr, 0, sizeof hdr);
    memcpy(hdr, TRAIN_STATE_MAGIC, 8);
    u = TRAIN_STATE_VERSION;
    memcpy(hdr + 8, &u, 4);
    u = 0x01020304u;
    memcpy(hdr + 12, &u, 4);
    u = (uint32_t)sizeof(bruno_real);
    memcpy(hdr + 16, &u, 4);
    n = pay.n;
    memcpy(hdr + 24, &n, 8);
    memcpy(hdr + 32, dig, 32);
    train_buf_put(out, hdr, sizeof hdr);
    train_buf_put(out, pay.p, pay.n);
    train_buf_free(&pay);
    if (out->oom) {
        train_buf_free(out);
        return -1;
    }
    return 0;
}

/* The first line of a that differs from b, as "key" (for the message). */
static void train__first_diff(const char *a, const char *b, char *key, size_t n)
{
    while (*a || *b) {
        const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
        size_t la = ea ? (size_t)(ea - a) : strlen(a), lb = eb ? (size_t)(eb - b) : strlen(b);
        if (la != lb || memcmp(a, b, la) != 0) {
            const char *eq = memchr(a, '=', la);
            size_t k = eq ? (size_t)(eq - a) : la;
            if (k == 0) { /* a ran out: name b's line */
                eq = memchr(b, '=', lb);
                k = eq ? (size_t)(eq - b) : lb;
                a = b;
            }
            if (k >= n) k = n - 1;
            memcpy(key, a, k);
            key[k] = 0;
            return;
        }
        a += la + (ea ? 1 : 0);
        b += lb + (eb ? 1 : 0);
    }
    snprintf(key, n, "?");
}

/* Whether a stored configuration is `config`. One written before the
   option --model was renamed --neuron says "model=NAME" where `config`
   says "neuron=NAME": the same run, so it resumes (the next save writes
   the new name). */
static int train__same_config(const char *stored, const char *config)
{
    const char *m = strncmp(stored, "model=", 6) == 0 ? stored : strstr(stored, "\nmodel=");
    size_t head;
    if (strcmp(stored, config) == 0) return 1;
    if (!m) return 0;
    if (*m == '\n') ++m;
    head = (size_t)(m - stored);
    return strncmp(config, stored, head) == 0 && strncmp(config + head, "neuron=", 7) == 0 &&
           strcmp(config + head + 7, m + 6) == 0;
}

int train_state_decode(const unsigned char *data, size_t n, const char *config, train_state *st, bruno_net *net,
                       bruno_optim *opt, bruno_plateau *pl, char *msg, size_t msg_size)
{
    train_rd r;
    train_sha256 sh;
    unsigned char dig[32];
    uint32_t ver, order, rsize, kind, has_m;
    uint64_t plen, np, i;
    char *cfg = NULL;
    train_state s;
    bruno_rng nrng;
    double lr, b1, b2, eps, pf, prt, pbest;
    uint64_t t, ntot;
    uint32_t ppat, pbad;
    size_t param_off, m_off = 0;

    if (n < TRAIN_STATE_HEADER || memcmp(data, TRAIN_STATE_MAGIC, 8) != 0) {
        train__msg(msg, msg_size, "not a bruno training state file (bad magic)");
        return -1;
    }
    memcpy(&ver, data + 8, 4);
    memcpy(&order, data + 12, 4);
    memcpy(&rsize, data + 16, 4);
    memcpy(&plen, data + 24, 8);
    if (order != 0x01020304u) {
        train__msg(msg, msg_size, "written on a machine of the other byte order");
        return -1;
    }
    if (ver != TRAIN_STATE_VERSION) {
        train__msg(msg, msg_size, "state format version %u, this program reads version %u", ver, TRAIN_STATE_VERSION);
        return -1;
    }
    if (rsize != sizeof(bruno_real)) {
        train__msg(msg, msg_size, "written with %u-byte reals, this program uses %u-byte reals", rsize,
                   (unsigned)sizeof(bruno_real));
        return -1;
    }
    if (plen != n - TRAIN_STATE_HEADER) {
        train__msg(msg, msg_size, "truncated or padded: header says %llu payload bytes, file has %llu",
                   (unsigned long long)plen, (unsigned long long)(n - TRAIN_STATE_HEADER));
        return -1;
    }
    train_sha256_init(&sh);
    train_sha256_update(&sh, data + TRAIN_STATE_HEADER, (size_t)plen);
    train_sha256_final(&sh, dig);
    if (memcmp(dig, data + 32, 32) != 0) {
        train__msg(msg, msg_size, "checksum mismatch: the file is corrupt");
        return -1;
    }
    r.p = data + TRAIN_STATE_HEADER;
    r.n = (size_t)plen;
    r.off = 0;
    r.bad = 0;
    cfg = train_rd_str(&r);
    if (!cfg) {
        train__msg(msg, msg_size, "malformed payload");
        return -1;
    }
    if (!train__same_config(cfg, config)) {
        char key[128];
        train__first_diff(cfg, config, key, sizeof key);
        train__msg(msg, msg_size, "made by a different configuration (first difference: '%s'); "
                                  "use another --out directory or the original options", key);
        free(cfg);
        return -1;
    }
    free(cfg);
    memset(&s, 0, sizeof s);
    s.epochs_done = train_rd_u64(&r);
    train__get_rng(&r, &s.shuffle_rng);
    s.best_metric = train_rd_f64(&r);
    s.best_epoch = train_rd_u64(&r);
    train__get_rng(&r, &nrng);
    np = train_rd_u64(&r);
    if (r.bad || np != net->n_params) {
        train__msg(msg, msg_size, "the network has %zu parameter tensors, the file %llu", net->n_params,
                   (unsigned long long)np);
        return -1;
    }
    /* first pass: check names and sizes; the values are copied only once
       everything has been checked */
    param_off = r.off;
    for (i = 0; i < np; ++i) {
        char *nm = train_rd_str(&r);
        uint64_t k = train_rd_u64(&r);
        int ok = nm && !r.bad && strcmp(nm, net->params[i].name) == 0 && k == net->params[i].n;
        free(nm);
        if (!ok) {
            train__msg(msg, msg_size, "parameter %llu ('%s') does not match the network", (unsigned long long)i,
                       net->params[i].name);
            return -1;
        }
        if (k > (r.n - r.off) / sizeof(bruno_real)) r.bad = 1;
        else r.off += (size_t)k * sizeof(bruno_real);
    }
    kind = train_rd_u32(&r);
    lr = train_rd_f64(&r);
    b1 = train_rd_f64(&r);
    b2 = train_rd_f64(&r);
    eps = train_rd_f64(&r);
    t = train_rd_u64(&r);
    ntot = train_rd_u64(&r);
    has_m = train_rd_u32(&r);
    if (r.bad || kind != (uint32_t)opt->cfg.kind || ntot != opt->n_total || has_m != (opt->m ? 1u : 0u)) {
        train__msg(msg, msg_size, "the optimiser state does not match this run");
        return -1;
    }
    if (has_m) {
        m_off = r.off;
        if (ntot > (r.n - r.off) / (2 * sizeof(bruno_real))) r.bad = 1;
        else r.off += 2 * (size_t)ntot * sizeof(bruno_real);
    }
    ppat = train_rd_u32(&r);
    pf = train_rd_f64(&r);
    prt = train_rd_f64(&r);
    pbest = train_rd_f64(&r);
    pbad = train_rd_u32(&r);
    if (r.bad || r.off != r.n) {
        train__msg(msg, msg_size, "malformed payload (%s)", r.bad ? "too short" : "trailing bytes");
        return -1;
    }
    /* a checksum proves the bytes are the ones written, not that they are
       usable: values a run cannot continue from are refused like corruption */
    if (!(isfinite(lr) && lr > 0) || !(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1) || !(isfinite(eps) && eps > 0) ||
        ppat > 1000000u || pbad > 1000000u || !(pf > 0 && pf < 1) || !(isfinite(prt) && prt >= 0) || isnan(pbest) ||
        isnan(s.best_metric) || s.best_epoch > s.epochs_done || s.epochs_done > 1000000u) {
        train__msg(msg, msg_size, "optimiser, schedule or epoch values out of range");
        return -1;
    }
    {
        /* every stored number finite (Adamax's u >= 0) before anything is copied */
        size_t off = r.off;
        r.off = param_off;
        for (i = 0; i < np && !r.bad; ++i) {
            uint64_t j;
            free(train_rd_str(&r));
            (void)train_rd_u64(&r);
            for (j = 0; j < net->params[i].n; ++j) {
                bruno_real v;
                train_rd_get(&r, &v, sizeof v);
                if (!isfinite((double)v)) r.bad = 1;
            }
        }
        if (has_m) {
            r.off = m_off;
            for (i = 0; i < 2 * ntot && !r.bad; ++i) {
                bruno_real v;
                train_rd_get(&r, &v, sizeof v);
                if (!isfinite((double)v) || (i >= ntot && v < 0)) r.bad = 1;
            }
        }
        if (r.bad) {
            train__msg(msg, msg_size, "a stored parameter or optimiser moment is not finite");
            return -1;
        }
        r.off = off;
    }
    /* all checked: apply */
    r.off = param_off;
    for (i = 0; i < np; ++i) {
        free(train_rd_str(&r));
        (void)train_rd_u64(&r);
        train_rd_get(&r, net->params[i].data, net->params[i].n * sizeof(bruno_real));
    }
    net->rng = nrng;
    opt->cfg.lr = lr;
    opt->cfg.beta1 = b1;
    opt->cfg.beta2 = b2;
    opt->cfg.eps = eps;
    opt->t = t;
    if (has_m) {
        r.off = m_off;
        train_rd_get(&r, opt->m, (size_t)ntot * sizeof(bruno_real));
        train_rd_get(&r, opt->u, (size_t)ntot * sizeof(bruno_real));
    }
    pl->patience = (int)ppat;
    pl->factor = pf;
    pl->rtol = prt;
    pl->best = pbest;
    pl->bad_epochs = (int)pbad;
    *st = s;
    return 0;
}

static int train__write_atomic(const char *path, const void *data, size_t n)
{
    size_t len = strlen(path) + 32;
    char *tmp = (char *)malloc(len);
    FILE *f;
    int rc = 0;
    if (!tmp) return -1;
    snprintf(tmp, len, "%s.tmp.%ld", path, (long)getpid());
    f = fopen(tmp, "wb");
    if (!f) {
        free(tmp);
        return -1;
    }
    if (fwrite(data, 1, n, f) != n) rc = -1;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) rc = -1;
    if (fclose(f) != 0) rc = -1;
    if (rc == 0 && rename(tmp, path) != 0) rc = -1;
    if (rc != 0) remove(tmp);
    free(tmp);
    return rc;
}

int train_state_save(const char *path, const char *config, const train_state *st, const bruno_net *net,
                     const bruno_optim *opt, const bruno_plateau *pl)
{
    train_buf b;
    int rc;
    if (train_state_encode(&b, config, st, net, opt, pl) != 0) return -1;
    rc = train__write_atomic(path, b.p, b.n);
    train_buf_free(&b);
    return rc;
}

char *train_read_file(const char *path, size_t *size)
{
    /* O_NONBLOCK: a FIFO (or a device) in place of the file must not block
       the open; only regular files are read */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    struct stat sb;
    FILE *f;
    char *p = NULL;
    size_t cap = 0, n = 0, k;
    if (fd < 0) return NULL;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return NULL;
    }
    for (;;) {
        if (n + 65536 + 1 > cap) {
            char *q;
            cap = cap ? 2 * cap : 65536 * 2;
            q = (char *)realloc(p, cap);
            if (!q) {
                free(p);
                fclose(f);
                return NULL;
            }
            p = q;
        }
        k = fread(p + n, 1, 65536, f);
        n += k;
        if (k < 65536) break;
    }
    if (ferror(f)) {
        free(p);
        fclose(f);
        return NULL;
    }
    fclose(f);
    p[n] = 0;
    if (size) *size = n;
    return p;
}

int train_state_load(const char *path, const char *config, train_state *st, bruno_net *net, bruno_optim *opt,
                     bruno_plateau *pl, char *msg, size_t msg_size)
{
    size_t n;
    char *d;
    int rc;
    char inner[384];
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT) return 1;
        train__msg(msg, msg_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        train__msg(msg, msg_size, "%s: not a regular file", path);
        return -1;
    }
    d = train_read_file(path, &n);
    if (!d) {
        train__msg(msg, msg_size, "%s: cannot read (not a regular file, or %s)", path, strerror(errno));
        return -1;
    }
    rc = train_state_decode((const unsigned char *)d, n, config, st, net, opt, pl, inner, sizeof inner);
    free(d);
    if (rc != 0) {
        train__msg(msg, msg_size, "%s: %s", path, inner);
        return -1;
    }
    return 0;
}

/* ---- key=value ------------------------------------------------------------------ */
static char *train__trim(char *s)
{
    char *e;
    while (*s == ' ' || *s == '\t' || *s == '\r') ++s;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) *--e = 0;
    return s;
}

int train_kv_parse(const char *text, const char *name, train_kv_set set, void *user, char *msg, size_t msg_size)
{
    const char *p = text;
    int line = 0;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char buf[1024], *s, *eq, *hash, why[256];
        ++line;
        if (len >= sizeof buf) {
            train__msg(msg, msg_size, "%s:%d: line too long", name, line);
            return -1;
        }
        memcpy(buf, p, len);
        buf[len] = 0;
        p += len + (e ? 1 : 0);
        if ((hash = strchr(buf, '#')) != NULL) *hash = 0;
        s = train__trim(buf);
        if (!*s) continue;
        eq = strchr(s, '=');
        if (!eq) {
            train__msg(msg, msg_size, "%s:%d: expected key=value, got '%s'", name, line, s);
            return -1;
        }
        *eq = 0;
        why[0] = 0;
        if (set(train__trim(s), train__trim(eq + 1), user, why, sizeof why) != 0) {
            train__msg(msg, msg_size, "%s:%d: %s", name, line, why[0] ? why : "refused");
            return -1;
        }
    }
    return 0;
}

/* ---- JSB metrics ------------------------------------------------------------------ */
/* log(sigmoid(z)) and log(1 - sigmoid(z)) without overflow */
static double train__log_sig(double z) { return z >= 0 ? -log1p(exp(-z)) : z - log1p(exp(z)); }

void train_music_add(train_music *m, const bruno_real *z, size_t T, size_t K, size_t key_lo, const uint8_t *roll88,
                     const double *q_out, size_t skip)
{
    size_t t, k;
    for (t = skip; t < T; ++t) {
        const uint8_t *y = roll88 + t * 88;
        for (k = 0; k < 88; ++k) {
            int on = y[k] != 0, pred;
            if (k >= key_lo && k < key_lo + K) {
                double zz = (double)z[t * K + (k - key_lo)];
                m->nll -= on ? train__log_sig(zz) : train__log_sig(-zz);
                pred = zz >= 0; /* sigmoid(z) >= 0.5 */
            } else {
                double q = q_out[k];
                m->nll -= on ? log(q) : log1p(-q);
                pred = q >= 0.5;
            }
            if (pred && on) ++m->tp;
            else if (pred) ++m->fp;
            else if (on) ++m->fn;
        }
        ++m->frames;
    }
}

double train_music_nll_per_frame(const train_music *m) { return m->frames ? m->nll / (double)m->frames : NAN; }

double train_music_accuracy(const train_music *m)
{
    uint64_t d = m->tp + m->fp + m->fn;
    return d ? (double)m->tp / (double)d : NAN;
}

/* ---- progress ----------------------------------------------------------------------- */
void train_progress_init(train_progress *p)
{
    memset(p, 0, sizeof *p);
    p->on = isatty(fileno(stderr));
    p->t_start = train__now();
    p->t_epoch = p->t_start;
}

static void train__hms(char *b, size_t n, double s)
{
    long k = s > 0 && s < 1e9 ? (long)(s + 0.5) : 0;
    if (k >= 3600) snprintf(b, n, "%ldh%02ldm", k / 3600, (k / 60) % 60);
    else snprintf(b, n, "%ldm%02lds", k / 60, k % 60);
}

void train_progress_draw(train_progress *p, uint64_t epoch, uint64_t epochs, size_t batch, size_t n_batches,
                         double loss, double epochs_left_after_this)
{
    double now = train__now(), el, per, eta;
    char e1[32], e2[32];
    if (!p->on) return;
    if (batch == 1) p->t_epoch = now;
    if (batch != n_batches && p->drawn && now - p->t_last < 0.2) return;
    p->t_last = now;
    p->drawn = 1;
    el = now - p->t_epoch;
    per = el / (double)batch;
    eta = per * (double)(n_batches - batch) + per * (double)n_batches * epochs_left_after_this;
    train__hms(e1, sizeof e1, now - p->t_start);
    train__hms(e2, sizeof e2, eta);
    fprintf(stderr, "\r\033[Kepoch %llu/%llu  batch %zu/%zu  loss %.4f  elapsed %s  ETA %s",
            (unsigned long long)epoch, (unsigned long long)epochs, batch, n_batches, loss, e1, e2);
    fflush(stderr);
}

void train_progress_clear(train_progress *p)
{
    if (!p->on || !p->drawn) return;
    fprintf(stderr, "\r\033[K");
    fflush(stderr);
    p->drawn = 0;
}
