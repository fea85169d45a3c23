/* bruno.h - v0.1.0 - training spiking neural networks of device models
   (ferroelectric FeLIF neurons, 3-bit RRAM synapses) with BRUNO.
   Public domain / MIT-0, see the end of the file.

   BRUNO ("Backpropagation Running Undersampled for Novel device
   Optimization", arXiv 2505.17791) runs the device ODE of every neuron at a
   fine step h = dt/N (1 us) in the forward pass and computes the gradient
   from ONE coarse Euler step of length dt (1 ms) per network step, so only
   one state per network step is kept. This header also has the exact
   baselines (BPTT through every fine step, and checkpointing), LIF neurons,
   quantised synapses, losses and optimisers.

   USAGE
   -----
   In exactly one C or C++ file:

       #define BRUNO_IMPLEMENTATION
       #include "bruno.h"

   everywhere else just #include "bruno.h".  Ten lines of use:

       bruno_felif_params fp = bruno_felif_params_default();
       bruno_felif_pop pop;
       bruno_felif_pop_config pc = bruno_felif_pop_config_default(&fp, 1);
       if (bruno_felif_pop_init(&pop, &pc) != BRUNO_OK) return 1;
       bruno_real v = 0, p = (bruno_real)-fp.P_s, s = 0, I = (bruno_real)1e-9;
       for (int k = 0; k < 40; ++k) {                 // 40 network steps of 1 ms
           bruno_felif_network_step(&pop, 1, &I, &v, &p, &s, 1e-3, 1000);
           if (s > 0) printf("spike after step %d\n", k);   // 12 and 27
       }
       bruno_felif_pop_free(&pop);

   CONFIGURATION MACROS (define before including)
   ------------------------------------------------
   BRUNO_IMPLEMENTATION  compile the implementation in this translation unit.
   BRUNO_STATIC          make every function static (private to one file).
   BRUNO_REAL_DOUBLE     bruno_real is double (default float). The gradient
                         checks use double.
   BRUNO_ASSERT(x)       internal consistency checks (default assert()).
                         Bad input never reaches an assert: every public
                         function validates and returns a bruno_result.
   BRUNO_MALLOC/BRUNO_FREE  what the default allocator calls (malloc/free).

   CONVENTIONS
   -----------
   - SI units everywhere; every time is in seconds (dt, h), never a bare
     number of steps. N (n_fine) is a count of fine steps per network step.
   - Functions return bruno_result; bruno_result_string() explains a code.
   - Objects are made from config structs filled by *_default() functions.
     A config carries the allocator (alloc/free callbacks with a user
     pointer, free also receives the size so a counting allocator needs no
     header). There is no global state.
   - Randomness comes from an explicit bruno_rng (xoshiro256** seeded by
     splitmix64), passed into every stochastic call. Same seed, same bits.
   - Arrays of neuron state are laid out [batch][neurons], row-major.
   - Equations cite shared/spec/MODELS.md as "MODELS §n".
   - Floating point: the library is written so that the exact trainers
     (BPTT, checkpointing) share one code path per fine step; build without
     -ffast-math and with -ffp-contract=off for bit-identical gradients
     across the two.

   VERSION HISTORY
   ---------------
   0.1.0  FeLIF and LIF neurons, quantised synapse, RNG, allocator.
*/
#ifndef BRUNO_H
#define BRUNO_H

#include <stddef.h>
#include <stdint.h>

#define BRUNO_VERSION_MAJOR 0
#define BRUNO_VERSION_MINOR 1
#define BRUNO_VERSION_PATCH 0
#define BRUNO_VERSION_STRING "0.1.0"

#ifndef BRUNO_API
#ifdef BRUNO_STATIC
#if defined(__GNUC__) || defined(__clang__)
#define BRUNO_API static __attribute__((unused)) /* no warning for what a file does not call */
#else
#define BRUNO_API static
#endif
#else
#define BRUNO_API extern
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

#ifdef BRUNO_REAL_DOUBLE
typedef double bruno_real;
#define BRUNO_REAL_IS_DOUBLE 1
#else
typedef float bruno_real;
#define BRUNO_REAL_IS_DOUBLE 0
#endif

/* ------------------------------------------------------------------------ */
/* Result codes                                                             */
/* ------------------------------------------------------------------------ */
typedef enum bruno_result {
    BRUNO_OK = 0,
    BRUNO_ERR_ARG = -1,           /* a NULL pointer or an impossible option */
    BRUNO_ERR_TIME_STEP = -2,     /* dt <= 0, or not finite */
    BRUNO_ERR_N_FINE = -3,        /* N (fine steps per network step) = 0 */
    BRUNO_ERR_SIZE = -4,          /* a zero or too large size (neurons, batch, layer) */
    BRUNO_ERR_NONFINITE = -5,     /* a NaN or infinite input (current, weight) */
    BRUNO_ERR_BITS = -6,          /* quantiser bits outside 2..16 */
    BRUNO_ERR_PARAM = -7,         /* a device or model parameter out of its range */
    BRUNO_ERR_NOMEM = -8,         /* the allocator returned NULL */
    BRUNO_ERR_DIVERGED = -9,      /* a loss or gradient became NaN or infinite */
    BRUNO_ERR_IO = -10,           /* a file could not be read or written */
    BRUNO_ERR_FORMAT = -11,       /* a data file is malformed */
    BRUNO_ERR_NO_CONVERGENCE = -12, /* a bounded solver did not converge */
    BRUNO_ERR_SHAPE = -13,        /* sizes of two arguments do not match */
    BRUNO_ERR_STATE = -14         /* call out of order (e.g. backward before forward) */
} bruno_result;

BRUNO_API const char *bruno_result_string(bruno_result r);

/* ------------------------------------------------------------------------ */
/* Allocator                                                                */
/* ------------------------------------------------------------------------ */
/* alloc(size, user) returns NULL on failure; free(ptr, size, user) gets the
   size that was asked for. A zeroed struct means "use BRUNO_MALLOC/FREE". */
typedef struct bruno_allocator {
    void *user;
    void *(*alloc)(size_t size, void *user);
    void (*free)(void *ptr, size_t size, void *user);
} bruno_allocator;

BRUNO_API bruno_allocator bruno_allocator_default(void);
/* Allocate n*size bytes, zero-filled; NULL on failure or overflow. */
BRUNO_API void *bruno_alloc(const bruno_allocator *a, size_t n, size_t size);
BRUNO_API void bruno_free(const bruno_allocator *a, void *ptr, size_t n, size_t size);

/* A counting allocator: wraps another one and tracks live and peak bytes
   exactly. Optionally fails the k-th allocation (fail_at = k >= 1) to test
   out-of-memory paths. Not thread-safe; one per thread of training. */
typedef struct bruno_counting_allocator {
    bruno_allocator inner;
    size_t live_bytes, peak_bytes, total_bytes;
    size_t n_allocs, n_frees;
    size_t fail_at;      /* 0: never fail */
} bruno_counting_allocator;

BRUNO_API void bruno_counting_allocator_init(bruno_counting_allocator *c, const bruno_allocator *inner);
/* An allocator that counts into c. */
BRUNO_API bruno_allocator bruno_counting_allocator_get(bruno_counting_allocator *c);
/* Start a new peak measurement: peak := live. */
BRUNO_API void bruno_counting_allocator_reset_peak(bruno_counting_allocator *c);

/* ------------------------------------------------------------------------ */
/* Random numbers: xoshiro256** (Blackman & Vigna 2018), seeded through      */
/* splitmix64. uniform() uses the top 53 bits; normal() is Box-Muller with   */
/* the second value cached, computed in double with libm log/cos/sin.        */
/* ------------------------------------------------------------------------ */
typedef struct bruno_rng {
    uint64_t s[4];
    double cached_normal;
    int has_cached;
} bruno_rng;

BRUNO_API void bruno_rng_seed(bruno_rng *rng, uint64_t seed);
BRUNO_API uint64_t bruno_rng_u64(bruno_rng *rng);
BRUNO_API double bruno_rng_uniform(bruno_rng *rng);           /* [0, 1) */
BRUNO_API double bruno_rng_normal(bruno_rng *rng);            /* N(0, 1) */
/* An independent stream: equivalent to 2^128 calls of u64 (xoshiro jump). */
BRUNO_API void bruno_rng_jump(bruno_rng *rng);

/* ------------------------------------------------------------------------ */
/* Time grid (MODELS §1)                                                    */
/* ------------------------------------------------------------------------ */
/* dt: network step in seconds (> 0, finite); n_fine: N >= 1.
   The fine step is h = dt / n_fine. */
BRUNO_API bruno_result bruno_check_time(double dt, uint32_t n_fine);

/* ------------------------------------------------------------------------ */
/* FeLIF neuron (MODELS §2)                                                  */
/* ------------------------------------------------------------------------ */
typedef struct bruno_felif_params {
    double A;        /* FeCap area [m^2] */
    double t_fe;     /* ferroelectric thickness [m] */
    double t_i;      /* interlayer thickness [m] */
    double eps_fe;   /* ferroelectric relative permittivity */
    double eps_i;    /* interlayer relative permittivity */
    double E_a;      /* activation field [V/m] */
    double P_s;      /* saturation polarization [C/m^2] */
    double tau_0;    /* switching time prefactor [s] */
    double I_0;      /* leakage prefactor [A/m^2] (times A) */
    double V_t;      /* leakage voltage scale [V] */
    double C_par;    /* parasitic capacitance [F] */
    double alpha;    /* switching exponent */
    double E_soft;   /* keeps the rate finite at E = 0 [V/m] */
    double I_dsc;    /* constant discharge current [A] */
    double V_thr;    /* spike threshold [V] */
    double v_reset;  /* [V] */
    double p_reset;  /* [C/m^2] */
    double v_init;   /* [V] */
    double p_init;   /* [C/m^2] */
    double v_clip;   /* v is clipped to [-v_clip, v_clip] [V] (5 V) */
} bruno_felif_params;

/* The defaults of MODELS §2 (p_reset = p_init = -P_s). */
BRUNO_API bruno_felif_params bruno_felif_params_default(void);
/* The older reset option of MODELS §2: p_reset = -0.1478602, p_init = +0.1478602. */
BRUNO_API void bruno_felif_params_use_legacy_reset(bruno_felif_params *p);
BRUNO_API bruno_result bruno_felif_params_validate(const bruno_felif_params *p);

/* The constants one neuron's Euler step needs, derived from its parameters
   (so device-to-device variability is one set per neuron). */
typedef struct bruno_felif_consts {
    bruno_real A;          /* [m^2] */
    bruno_real P_s;        /* [C/m^2] */
    bruno_real E_a;        /* [V/m] */
    bruno_real alpha;
    bruno_real E_soft;     /* [V/m] */
    bruno_real inv_tau_0;  /* [1/s] */
    bruno_real I0A;        /* I_0*A [A] */
    bruno_real inv_V_t;    /* [1/V] */
    bruno_real I_dsc;      /* [A] */
    bruno_real inv_C_tot;  /* 1/(C_0 + C_par) [1/F] */
    bruno_real k_v;        /* [1/m] */
    bruno_real k_p;        /* [V m/C] */
    bruno_real v_clip;     /* [V] */
    bruno_real gain;       /* input gain multiplier (1 unless varied) */
} bruno_felif_consts;

#define BRUNO_EPS0 8.8541878128e-12

BRUNO_API bruno_felif_consts bruno_felif_derive(const bruno_felif_params *p);
/* C_tot = eps0*eps_fe*A/t_fe + C_par [F] */
BRUNO_API double bruno_felif_c_tot(const bruno_felif_params *p);

/* Switching rate r(E) [1/s] and, when dr != NULL, dr/dE (MODELS §2, §3). */
BRUNO_API bruno_real bruno_felif_rate(const bruno_felif_consts *c, bruno_real E, bruno_real *dr);

/* One explicit Euler step of length tau [s] from (v, p) with current I [A]:
   both derivatives at the old state, then clip (MODELS §2). Returns the
   clip flags: bit 0 = v was clipped, bit 1 = p was clipped. */
BRUNO_API int bruno_felif_euler(const bruno_felif_consts *c, bruno_real v, bruno_real p,
                                bruno_real I, bruno_real tau, bruno_real *v_out, bruno_real *p_out);

/* The Jacobian of one Euler step (MODELS §3). With rate_grad = 0 (the
   default everywhere, as in the authors' code) r'(E) is taken as 0.
   Clipped outputs have zero rows. */
typedef struct bruno_felif_jacobian {
    bruno_real dv_dv, dv_dp, dv_dI;
    bruno_real dp_dv, dp_dp, dp_dI;
} bruno_felif_jacobian;

BRUNO_API bruno_felif_jacobian bruno_felif_euler_jacobian(const bruno_felif_consts *c, bruno_real v,
                                                          bruno_real p, bruno_real I, bruno_real tau,
                                                          int rate_grad);

/* The fine pass of one network step for one neuron: up to n_fine Euler
   steps of length h from (v, p) with constant I; after each step, if
   v >= V_thr the rest of the window is frozen. Returns the number of steps
   actually taken (n_fine if it never froze). */
BRUNO_API uint32_t bruno_felif_fine_pass(const bruno_felif_consts *c, bruno_real V_thr, bruno_real *v,
                                         bruno_real *p, bruno_real I, bruno_real h, uint32_t n_fine);

/* A population of n FeLIF neurons sharing one parameter set, each with
   its own derived constants (device-to-device variability, MODELS §2). */
typedef struct bruno_felif_pop_config {
    bruno_felif_params params;
    size_t n;                 /* neurons (>= 1) */
    double sigma;             /* relative spread of A, E_a, P_s, I_0, t_fe, t_i (0: off) */
    int vary_gain;            /* also vary the input gain by (1 + sigma*n) */
    uint64_t seed;            /* seeds the variability draw */
    bruno_allocator allocator;
} bruno_felif_pop_config;

typedef struct bruno_felif_pop {
    bruno_felif_params params;
    size_t n;
    bruno_felif_consts *c;    /* [n] */
    bruno_allocator allocator;
} bruno_felif_pop;

BRUNO_API bruno_felif_pop_config bruno_felif_pop_config_default(const bruno_felif_params *p, size_t n);
/* Bytes bruno_felif_pop_init allocates. */
BRUNO_API size_t bruno_felif_pop_bytes(size_t n);
BRUNO_API bruno_result bruno_felif_pop_init(bruno_felif_pop *pop, const bruno_felif_pop_config *cfg);
/* Redraw the device-to-device variability with a new sigma from rng. */
BRUNO_API bruno_result bruno_felif_pop_redraw(bruno_felif_pop *pop, double sigma, int vary_gain, bruno_rng *rng);
BRUNO_API void bruno_felif_pop_free(bruno_felif_pop *pop);

/* One network step k -> k+1 for batch x n neurons (arrays [batch][n]):
   fine pass with freeze, reset where s_k = 1, then s_{k+1} = H(v - V_thr)
   (MODELS §2). I is the input current [A] (already times the gain). */
BRUNO_API bruno_result bruno_felif_network_step(const bruno_felif_pop *pop, size_t batch,
                                                const bruno_real *I, bruno_real *v, bruno_real *p,
                                                bruno_real *s, double dt, uint32_t n_fine);

/* The coarse step of BRUNO (MODELS §3): one Euler step of length dt from
   the window's start, and its Jacobian. */
BRUNO_API bruno_felif_jacobian bruno_felif_coarse_jacobian(const bruno_felif_consts *c, bruno_real v,
                                                           bruno_real p, bruno_real I, double dt,
                                                           int rate_grad);

/* ------------------------------------------------------------------------ */
/* LIF neuron (MODELS §4), one network step                                  */
/* ------------------------------------------------------------------------ */
/* syn <- beta*syn + (1-beta)*x; mem <- alpha*mem + (1-alpha)*syn;
   s = H(mem - 1); mem <- 0 where s = 1. alpha, beta in [0.5, 1].
   Arrays [batch][n]. */
BRUNO_API bruno_result bruno_lif_step(size_t n, size_t batch, bruno_real alpha, bruno_real beta,
                                      const bruno_real *x, bruno_real *syn, bruno_real *mem,
                                      bruno_real *s);

/* ------------------------------------------------------------------------ */
/* Quantised synapse (MODELS §5.1)                                           */
/* ------------------------------------------------------------------------ */
/* Uniform symmetric per-tensor quantiser with m = 2^(bits-1) - 1 levels on
   each side, scale = max|W| (1 if 0):
   q = clip(round(W/scale*m + U - 0.5), -m, m), U ~ U[0,1) fresh per call
   (stochastic = 1; rng required) or U = 0.5 (deterministic rounding).
   Wq = q*scale/m. The gradient is straight through (dWq/dW = 1). W and Wq
   may alias. scale_out may be NULL. */
BRUNO_API bruno_result bruno_quantize(const bruno_real *W, bruno_real *Wq, size_t n, int bits,
                                      int stochastic, bruno_rng *rng, bruno_real *scale_out);

/* ------------------------------------------------------------------------ */
/* RRAM device (shared/spec/RRAM.md)                                         */
/* ------------------------------------------------------------------------ */
/* (declarations of the RRAM section go here) */
/* ==== end of RRAM declarations ==== */

/* ------------------------------------------------------------------------ */
/* Networks, layers, trainers (MODELS §3-§6)                                 */
/* ------------------------------------------------------------------------ */
/* ==== end of network declarations ==== */

#ifdef __cplusplus
}
#endif
#endif /* BRUNO_H */

/* ======================================================================== */
/* IMPLEMENTATION                                                           */
/* ======================================================================== */
#ifdef BRUNO_IMPLEMENTATION
#ifndef BRUNO_IMPLEMENTATION_DONE
#define BRUNO_IMPLEMENTATION_DONE

#include <math.h>
#include <string.h>
#include <stdlib.h>

#ifndef BRUNO_ASSERT
#include <assert.h>
#define BRUNO_ASSERT(x) assert(x)
#endif
#ifndef BRUNO_MALLOC
#define BRUNO_MALLOC(sz) malloc(sz)
#endif
#ifndef BRUNO_FREE
#define BRUNO_FREE(p) free(p)
#endif

#if BRUNO_REAL_IS_DOUBLE
#define BRUNO__EXP exp
#define BRUNO__EXPM1 expm1
#define BRUNO__POW pow
#define BRUNO__FABS fabs
#define BRUNO__LOG log
#else
#define BRUNO__EXP expf
#define BRUNO__EXPM1 expm1f
#define BRUNO__POW powf
#define BRUNO__FABS fabsf
#define BRUNO__LOG logf
#endif

/* Deliberately without <stdbool.h> and isfinite() of C99 in the public part
   so the header stays plain C89-ish for C++ too. */
static int bruno__finite(double x) { return x == x && x - x == 0.0; }

BRUNO_API const char *bruno_result_string(bruno_result r)
{
    switch (r) {
    case BRUNO_OK: return "ok";
    case BRUNO_ERR_ARG: return "invalid argument (NULL pointer or impossible option)";
    case BRUNO_ERR_TIME_STEP: return "time step must be finite and > 0 seconds";
    case BRUNO_ERR_N_FINE: return "number of fine steps per network step must be >= 1";
    case BRUNO_ERR_SIZE: return "size must be >= 1 and not overflow";
    case BRUNO_ERR_NONFINITE: return "input contains NaN or infinity";
    case BRUNO_ERR_BITS: return "quantiser bits must be in 2..16";
    case BRUNO_ERR_PARAM: return "model parameter out of its valid range";
    case BRUNO_ERR_NOMEM: return "out of memory (allocator returned NULL)";
    case BRUNO_ERR_DIVERGED: return "training diverged (NaN or infinite loss or gradient)";
    case BRUNO_ERR_IO: return "file input/output error";
    case BRUNO_ERR_FORMAT: return "malformed data file";
    case BRUNO_ERR_NO_CONVERGENCE: return "a bounded solver did not converge";
    case BRUNO_ERR_SHAPE: return "array sizes do not match";
    case BRUNO_ERR_STATE: return "call out of order";
    }
    return "unknown result code";
}

/* ---- allocator ---------------------------------------------------------- */
static void *bruno__default_alloc(size_t size, void *user) { (void)user; return BRUNO_MALLOC(size); }
static void bruno__default_free(void *ptr, size_t size, void *user) { (void)user; (void)size; BRUNO_FREE(ptr); }

BRUNO_API bruno_allocator bruno_allocator_default(void)
{
    bruno_allocator a;
    a.user = NULL;
    a.alloc = bruno__default_alloc;
    a.free = bruno__default_free;
    return a;
}

BRUNO_API void *bruno_alloc(const bruno_allocator *a, size_t n, size_t size)
{
    void *p;
    size_t bytes;
    if (size != 0 && n > (size_t)-1 / size) return NULL;
    bytes = n * size;
    if (bytes == 0) bytes = 1; /* a valid, distinct pointer; freed with size 1 */
    if (a && a->alloc) p = a->alloc(bytes, a->user);
    else p = BRUNO_MALLOC(bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

BRUNO_API void bruno_free(const bruno_allocator *a, void *ptr, size_t n, size_t size)
{
    size_t bytes = n * size;
    if (!ptr) return;
    if (bytes == 0) bytes = 1;
    if (a && a->free) a->free(ptr, bytes, a->user);
    else BRUNO_FREE(ptr);
}

static void *bruno__count_alloc(size_t size, void *user)
{
    bruno_counting_allocator *c = (bruno_counting_allocator *)user;
    void *p;
    c->n_allocs++;
    if (c->fail_at && c->n_allocs == c->fail_at) return NULL;
    p = c->inner.alloc ? c->inner.alloc(size, c->inner.user) : BRUNO_MALLOC(size);
    if (!p) return NULL;
    c->live_bytes += size;
    c->total_bytes += size;
    if (c->live_bytes > c->peak_bytes) c->peak_bytes = c->live_bytes;
    return p;
}

static void bruno__count_free(void *ptr, size_t size, void *user)
{
    bruno_counting_allocator *c = (bruno_counting_allocator *)user;
    c->n_frees++;
    c->live_bytes -= size;
    if (c->inner.free) c->inner.free(ptr, size, c->inner.user);
    else BRUNO_FREE(ptr);
}

BRUNO_API void bruno_counting_allocator_init(bruno_counting_allocator *c, const bruno_allocator *inner)
{
    memset(c, 0, sizeof *c);
    c->inner = inner ? *inner : bruno_allocator_default();
}

BRUNO_API bruno_allocator bruno_counting_allocator_get(bruno_counting_allocator *c)
{
    bruno_allocator a;
    a.user = c;
    a.alloc = bruno__count_alloc;
    a.free = bruno__count_free;
    return a;
}

BRUNO_API void bruno_counting_allocator_reset_peak(bruno_counting_allocator *c) { c->peak_bytes = c->live_bytes; }

/* ---- RNG ----------------------------------------------------------------- */
static uint64_t bruno__splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t bruno__rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

BRUNO_API void bruno_rng_seed(bruno_rng *rng, uint64_t seed)
{
    uint64_t x = seed;
    int i;
    for (i = 0; i < 4; ++i) rng->s[i] = bruno__splitmix64(&x);
    rng->cached_normal = 0.0;
    rng->has_cached = 0;
}

BRUNO_API uint64_t bruno_rng_u64(bruno_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = bruno__rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = bruno__rotl(s[3], 45);
    return result;
}

BRUNO_API double bruno_rng_uniform(bruno_rng *rng)
{
    return (double)(bruno_rng_u64(rng) >> 11) * (1.0 / 9007199254740992.0);
}

BRUNO_API double bruno_rng_normal(bruno_rng *rng)
{
    double u1, u2, r, th;
    if (rng->has_cached) {
        rng->has_cached = 0;
        return rng->cached_normal;
    }
    do u1 = bruno_rng_uniform(rng); while (u1 <= 0.0);
    u2 = bruno_rng_uniform(rng);
    r = sqrt(-2.0 * log(u1));
    th = 6.283185307179586 * u2;
    rng->cached_normal = r * sin(th);
    rng->has_cached = 1;
    return r * cos(th);
}

BRUNO_API void bruno_rng_jump(bruno_rng *rng)
{
    static const uint64_t J[4] = {0x180ec6d33cfd0abaULL, 0xd5a61266f0c9392cULL, 0xa9582618e03fc9aaULL,
                                  0x39abdc4529b1661cULL};
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int i, b;
    for (i = 0; i < 4; ++i)
        for (b = 0; b < 64; ++b) {
            if (J[i] & ((uint64_t)1 << b)) {
                s0 ^= rng->s[0];
                s1 ^= rng->s[1];
                s2 ^= rng->s[2];
                s3 ^= rng->s[3];
            }
            bruno_rng_u64(rng);
        }
    rng->s[0] = s0;
    rng->s[1] = s1;
    rng->s[2] = s2;
    rng->s[3] = s3;
    rng->has_cached = 0;
}

/* ---- time grid ------------------------------------------------------------ */
BRUNO_API bruno_result bruno_check_time(double dt, uint32_t n_fine)
{
    if (!bruno__finite(dt) || dt <= 0.0) return BRUNO_ERR_TIME_STEP;
    if (n_fine == 0) return BRUNO_ERR_N_FINE;
    return BRUNO_OK;
}

/* ---- FeLIF ---------------------------------------------------------------- */
BRUNO_API bruno_felif_params bruno_felif_params_default(void)
{
    bruno_felif_params p;
    p.A = 25e-12;
    p.t_fe = 10e-9;
    p.t_i = 1.375e-9;
    p.eps_fe = 25.2;
    p.eps_i = 33.0;
    p.E_a = 1.27e9;
    p.P_s = 0.22;
    p.tau_0 = 1e-13;
    p.I_0 = 1e-4;
    p.V_t = 0.32;
    p.C_par = 15e-15;
    p.alpha = 1.3;
    p.E_soft = 5e-6;
    p.I_dsc = 10e-12;
    p.V_thr = 2.5;
    p.v_reset = -1.5;
    p.p_reset = -0.22;
    p.v_init = 0.0;
    p.p_init = -0.22;
    p.v_clip = 5.0;
    return p;
}

BRUNO_API void bruno_felif_params_use_legacy_reset(bruno_felif_params *p)
{
    p->p_reset = -0.1478602;
    p->p_init = 0.1478602;
}

BRUNO_API bruno_result bruno_felif_params_validate(const bruno_felif_params *p)
{
    const double *f;
    size_t i;
    if (!p) return BRUNO_ERR_ARG;
    f = &p->A;
    for (i = 0; i < sizeof *p / sizeof(double); ++i)
        if (!bruno__finite(f[i])) return BRUNO_ERR_NONFINITE;
    if (p->A <= 0 || p->t_fe <= 0 || p->t_i < 0 || p->eps_fe <= 0 || p->eps_i <= 0 || p->E_a <= 0 ||
        p->P_s <= 0 || p->tau_0 <= 0 || p->I_0 < 0 || p->V_t <= 0 || p->C_par < 0 || p->alpha <= 0 ||
        p->E_soft <= 0 || p->I_dsc < 0 || p->v_clip <= 0)
        return BRUNO_ERR_PARAM;
    if (fabs(p->p_reset) > p->P_s || fabs(p->p_init) > p->P_s || fabs(p->v_reset) > p->v_clip ||
        fabs(p->v_init) > p->v_clip || fabs(p->V_thr) >= p->v_clip)
        return BRUNO_ERR_PARAM;
    return BRUNO_OK;
}

BRUNO_API double bruno_felif_c_tot(const bruno_felif_params *p)
{
    return BRUNO_EPS0 * p->eps_fe * p->A / p->t_fe + p->C_par;
}

BRUNO_API bruno_felif_consts bruno_felif_derive(const bruno_felif_params *p)
{
    bruno_felif_consts c;
    double den = p->t_fe * p->eps_i + p->t_i * p->eps_fe;
    c.A = (bruno_real)p->A;
    c.P_s = (bruno_real)p->P_s;
    c.E_a = (bruno_real)p->E_a;
    c.alpha = (bruno_real)p->alpha;
    c.E_soft = (bruno_real)p->E_soft;
    c.inv_tau_0 = (bruno_real)(1.0 / p->tau_0);
    c.I0A = (bruno_real)(p->I_0 * p->A);
    c.inv_V_t = (bruno_real)(1.0 / p->V_t);
    c.I_dsc = (bruno_real)p->I_dsc;
    c.inv_C_tot = (bruno_real)(1.0 / bruno_felif_c_tot(p));
    c.k_v = (bruno_real)(p->eps_i / den);
    c.k_p = (bruno_real)(p->t_i / (BRUNO_EPS0 * den));
    c.v_clip = (bruno_real)p->v_clip;
    c.gain = 1;
    return c;
}

/* exp(-X) underflows in float below about -103 and in double below -745;
   past that the rate is exactly 0 (MODELS §2). */
#if BRUNO_REAL_IS_DOUBLE
#define BRUNO__X_MAX ((bruno_real)745)
#else
#define BRUNO__X_MAX ((bruno_real)103)
#endif

BRUNO_API bruno_real bruno_felif_rate(const bruno_felif_consts *c, bruno_real E, bruno_real *dr)
{
    bruno_real aE = BRUNO__FABS(E) + c->E_soft;
    bruno_real X = BRUNO__POW(c->E_a / aE, c->alpha);
    bruno_real r;
    if (X > BRUNO__X_MAX) {
        if (dr) *dr = 0;
        return 0;
    }
    r = BRUNO__EXP(-X) * c->inv_tau_0;
    if (dr) {
        /* r'(E) = alpha*X*e^{-X}*sign(E)/(tau_0*(|E| + E_soft)) */
        bruno_real sg = E > 0 ? (bruno_real)1 : (E < 0 ? (bruno_real)-1 : (bruno_real)0);
        *dr = c->alpha * X * r * sg / aE;
    }
    return r;
}

static bruno_real bruno__sign(bruno_real x) { return x > 0 ? (bruno_real)1 : (x < 0 ? (bruno_real)-1 : (bruno_real)0); }

/* Right-hand side pieces at (v, p): polarization current I_p, its
   prefactor I_pa = A*(sign(E)*P_s - p), leakage I_leak. */
typedef struct bruno__felif_rhs {
    bruno_real E, r, dr, I_pa, I_p, I_leak;
} bruno__felif_rhs;

static void bruno__felif_eval(const bruno_felif_consts *c, bruno_real v, bruno_real p, int want_dr,
                              bruno__felif_rhs *o)
{
    o->E = c->k_v * v - c->k_p * p;
    o->r = bruno_felif_rate(c, o->E, want_dr ? &o->dr : NULL);
    if (!want_dr) o->dr = 0;
    o->I_pa = (bruno__sign(o->E) * c->P_s - p) * c->A;
    o->I_p = o->I_pa * o->r;
    o->I_leak = bruno__sign(v) * (c->I0A * BRUNO__EXPM1(v * c->inv_V_t) + c->I_dsc);
}

BRUNO_API int bruno_felif_euler(const bruno_felif_consts *c, bruno_real v, bruno_real p, bruno_real I,
                                bruno_real tau, bruno_real *v_out, bruno_real *p_out)
{
    bruno__felif_rhs o;
    bruno_real vn, pn;
    int flags = 0;
    bruno__felif_eval(c, v, p, 0, &o);
    pn = p + tau * o.I_p / c->A;
    vn = v + tau * (I - o.I_leak - o.I_p) * c->inv_C_tot;
    if (pn > c->P_s) { pn = c->P_s; flags |= 2; }
    else if (pn < -c->P_s) { pn = -c->P_s; flags |= 2; }
    if (vn > c->v_clip) { vn = c->v_clip; flags |= 1; }
    else if (vn < -c->v_clip) { vn = -c->v_clip; flags |= 1; }
    *v_out = vn;
    *p_out = pn;
    return flags;
}

BRUNO_API bruno_felif_jacobian bruno_felif_euler_jacobian(const bruno_felif_consts *c, bruno_real v,
                                                          bruno_real p, bruno_real I, bruno_real tau,
                                                          int rate_grad)
{
    bruno__felif_rhs o;
    bruno_felif_jacobian J;
    bruno_real dIp_dp, dIp_dv, dIl_dv, vn, pn;
    int flags;
    bruno__felif_eval(c, v, p, rate_grad, &o);
    /* MODELS §3: dI_p/dp = -A r - I_pa r' k_p, dI_p/dv = I_pa r' k_v */
    dIp_dp = -c->A * o.r - o.I_pa * o.dr * c->k_p;
    dIp_dv = o.I_pa * o.dr * c->k_v;
    /* d/dv of sign(v)*I0A*expm1(v/V_t) is sign(v)*I0A*exp(v/V_t)/V_t; the
       spec writes it without sign(v). They differ only for v < 0, where
       the term is below 1e-14 S; we keep the true derivative so that exact
       BPTT is the derivative of the Euler scheme. */
    dIl_dv = bruno__sign(v) * c->I0A * BRUNO__EXP(v * c->inv_V_t) * c->inv_V_t;
    J.dv_dv = 1 - tau * c->inv_C_tot * (dIl_dv + dIp_dv);
    J.dv_dp = -tau * c->inv_C_tot * dIp_dp;
    J.dv_dI = tau * c->inv_C_tot;
    J.dp_dv = tau / c->A * dIp_dv;
    J.dp_dp = 1 + tau / c->A * dIp_dp;
    J.dp_dI = 0;
    flags = bruno_felif_euler(c, v, p, I, tau, &vn, &pn);
    if (flags & 1) J.dv_dv = J.dv_dp = J.dv_dI = 0;
    if (flags & 2) J.dp_dv = J.dp_dp = J.dp_dI = 0;
    return J;
}

BRUNO_API bruno_felif_jacobian bruno_felif_coarse_jacobian(const bruno_felif_consts *c, bruno_real v,
                                                           bruno_real p, bruno_real I, double dt,
                                                           int rate_grad)
{
    return bruno_felif_euler_jacobian(c, v, p, I, (bruno_real)dt, rate_grad);
}

BRUNO_API uint32_t bruno_felif_fine_pass(const bruno_felif_consts *c, bruno_real V_thr, bruno_real *v,
                                         bruno_real *p, bruno_real I, bruno_real h, uint32_t n_fine)
{
    bruno_real vv = *v, pp = *p;
    uint32_t i;
    for (i = 0; i < n_fine; ++i) {
        bruno_felif_euler(c, vv, pp, I, h, &vv, &pp);
        if (vv >= V_thr) { ++i; break; }
    }
    *v = vv;
    *p = pp;
    return i;
}

BRUNO_API bruno_felif_pop_config bruno_felif_pop_config_default(const bruno_felif_params *p, size_t n)
{
    bruno_felif_pop_config c;
    memset(&c, 0, sizeof c);
    c.params = p ? *p : bruno_felif_params_default();
    c.n = n;
    c.sigma = 0.0;
    c.vary_gain = 0;
    c.seed = 0;
    c.allocator = bruno_allocator_default();
    return c;
}

BRUNO_API size_t bruno_felif_pop_bytes(size_t n) { return n * sizeof(bruno_felif_consts); }

BRUNO_API bruno_result bruno_felif_pop_redraw(bruno_felif_pop *pop, double sigma, int vary_gain, bruno_rng *rng)
{
    size_t j;
    if (!pop || !pop->c) return BRUNO_ERR_ARG;
    if (!bruno__finite(sigma) || sigma < 0 || sigma >= 1) return BRUNO_ERR_PARAM;
    if (sigma > 0 && !rng) return BRUNO_ERR_ARG;
    for (j = 0; j < pop->n; ++j) {
        bruno_felif_params q = pop->params;
        double g = 1.0;
        if (sigma > 0) {
            /* Multiplicative (1 + sigma*n) per parameter (MODELS §2); a draw
               that would make a positive quantity <= 0 is redrawn. */
            double *targets[6];
            int k;
            targets[0] = &q.A; targets[1] = &q.E_a; targets[2] = &q.P_s;
            targets[3] = &q.I_0; targets[4] = &q.t_fe; targets[5] = &q.t_i;
            for (k = 0; k < 6; ++k) {
                double f;
                do f = 1.0 + sigma * bruno_rng_normal(rng); while (f <= 0.05);
                *targets[k] *= f;
            }
            if (vary_gain) {
                do g = 1.0 + sigma * bruno_rng_normal(rng); while (g <= 0.05);
            }
        }
        /* reset and initial polarization scale with this neuron's P_s */
        q.p_reset = pop->params.p_reset / pop->params.P_s * q.P_s;
        q.p_init = pop->params.p_init / pop->params.P_s * q.P_s;
        pop->c[j] = bruno_felif_derive(&q);
        pop->c[j].gain = (bruno_real)g;
    }
    return BRUNO_OK;
}

BRUNO_API bruno_result bruno_felif_pop_init(bruno_felif_pop *pop, const bruno_felif_pop_config *cfg)
{
    bruno_result r;
    bruno_rng rng;
    if (!pop || !cfg) return BRUNO_ERR_ARG;
    memset(pop, 0, sizeof *pop);
    if ((r = bruno_felif_params_validate(&cfg->params)) != BRUNO_OK) return r;
    if (cfg->n == 0 || cfg->n > ((size_t)1 << 32)) return BRUNO_ERR_SIZE;
    if (!bruno__finite(cfg->sigma) || cfg->sigma < 0 || cfg->sigma >= 1) return BRUNO_ERR_PARAM;
    pop->params = cfg->params;
    pop->n = cfg->n;
    pop->allocator = cfg->allocator;
    pop->c = (bruno_felif_consts *)bruno_alloc(&pop->allocator, cfg->n, sizeof(bruno_felif_consts));
    if (!pop->c) return BRUNO_ERR_NOMEM;
    bruno_rng_seed(&rng, cfg->seed);
    return bruno_felif_pop_redraw(pop, cfg->sigma, cfg->vary_gain, &rng);
}

BRUNO_API void bruno_felif_pop_free(bruno_felif_pop *pop)
{
    if (!pop) return;
    bruno_free(&pop->allocator, pop->c, pop->n, sizeof(bruno_felif_consts));
    pop->c = NULL;
    pop->n = 0;
}

static bruno_result bruno__check_finite_array(const bruno_real *x, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i)
        if (!bruno__finite((double)x[i])) return BRUNO_ERR_NONFINITE;
    return BRUNO_OK;
}

BRUNO_API bruno_result bruno_felif_network_step(const bruno_felif_pop *pop, size_t batch,
                                                const bruno_real *I, bruno_real *v, bruno_real *p,
                                                bruno_real *s, double dt, uint32_t n_fine)
{
    bruno_result r;
    size_t b, j, n;
    bruno_real h, V_thr, v_reset, p_reset_rel;
    if (!pop || !pop->c || !I || !v || !p || !s) return BRUNO_ERR_ARG;
    if ((r = bruno_check_time(dt, n_fine)) != BRUNO_OK) return r;
    if (batch == 0) return BRUNO_ERR_SIZE;
    n = pop->n;
    if ((r = bruno__check_finite_array(I, batch * n)) != BRUNO_OK) return r;
    h = (bruno_real)(dt / (double)n_fine);
    V_thr = (bruno_real)pop->params.V_thr;
    v_reset = (bruno_real)pop->params.v_reset;
    p_reset_rel = (bruno_real)(pop->params.p_reset / pop->params.P_s);
    for (b = 0; b < batch; ++b)
        for (j = 0; j < n; ++j) {
            size_t k = b * n + j;
            bruno_real vv = v[k], pp = p[k];
            bruno_felif_fine_pass(&pop->c[j], V_thr, &vv, &pp, I[k], h, n_fine);
            if (s[k] > 0) { /* reset overrides the fine pass (MODELS §2, step 2) */
                vv = v_reset;
                pp = p_reset_rel * pop->c[j].P_s;
            }
            v[k] = vv;
            p[k] = pp;
            s[k] = vv >= V_thr ? (bruno_real)1 : (bruno_real)0;
        }
    return BRUNO_OK;
}

/* ---- LIF ------------------------------------------------------------------ */
BRUNO_API bruno_result bruno_lif_step(size_t n, size_t batch, bruno_real alpha, bruno_real beta,
                                      const bruno_real *x, bruno_real *syn, bruno_real *mem,
                                      bruno_real *s)
{
    size_t i, m;
    if (!x || !syn || !mem || !s) return BRUNO_ERR_ARG;
    if (n == 0 || batch == 0) return BRUNO_ERR_SIZE;
    if (!bruno__finite(alpha) || !bruno__finite(beta)) return BRUNO_ERR_NONFINITE;
    if (alpha < (bruno_real)0.5 || alpha > 1 || beta < (bruno_real)0.5 || beta > 1) return BRUNO_ERR_PARAM;
    m = n * batch;
    if (bruno__check_finite_array(x, m) != BRUNO_OK) return BRUNO_ERR_NONFINITE;
    for (i = 0; i < m; ++i) {
        syn[i] = beta * syn[i] + (1 - beta) * x[i];
        mem[i] = alpha * mem[i] + (1 - alpha) * syn[i];
        s[i] = mem[i] >= 1 ? (bruno_real)1 : (bruno_real)0;
        if (s[i] > 0) mem[i] = 0;
    }
    return BRUNO_OK;
}

/* ---- quantiser ------------------------------------------------------------ */
BRUNO_API bruno_result bruno_quantize(const bruno_real *W, bruno_real *Wq, size_t n, int bits,
                                      int stochastic, bruno_rng *rng, bruno_real *scale_out)
{
    bruno_real scale = 0, m;
    size_t i;
    if (!W || !Wq) return BRUNO_ERR_ARG;
    if (n == 0) return BRUNO_ERR_SIZE;
    if (bits < 2 || bits > 16) return BRUNO_ERR_BITS;
    if (stochastic && !rng) return BRUNO_ERR_ARG;
    for (i = 0; i < n; ++i) {
        bruno_real a = BRUNO__FABS(W[i]);
        if (!bruno__finite((double)W[i])) return BRUNO_ERR_NONFINITE;
        if (a > scale) scale = a;
    }
    if (scale == 0) scale = 1;
    m = (bruno_real)((1 << (bits - 1)) - 1);
    for (i = 0; i < n; ++i) {
        /* Stochastic: round(y + U - 0.5) = floor(y + U), unbiased, E[q] = y
           (MODELS §5.1); summed in double so that U stays in [0, 1) and is
           not rounded away next to a large y in float. Deterministic: round
           half away from zero, so that the quantiser is odd (q(-W) = -q(W)),
           which floor(y + 0.5) is not at ties. */
        double y = (double)(W[i] / scale * m);
        bruno_real q = stochastic ? (bruno_real)floor(y + bruno_rng_uniform(rng))
                                  : (bruno_real)(y < 0 ? -floor(-y + 0.5) : floor(y + 0.5));
        if (q > m) q = m;
        if (q < -m) q = -m;
        Wq[i] = q * scale / m;
    }
    if (scale_out) *scale_out = scale;
    return BRUNO_OK;
}

/* ---- RRAM device (RRAM.md) ------------------------------------------------ */
/* ==== end of RRAM implementation ==== */

/* ---- networks, layers, trainers -------------------------------------------- */
/* ==== end of network implementation ==== */

#endif /* BRUNO_IMPLEMENTATION_DONE */
#endif /* BRUNO_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
LICENCE: MIT No Attribution (MIT-0)
Copyright (c) 2026 the bruno developers
Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
*/
