/* bruno.h - v0.1.0 - training spiking neural networks of device models
   (ferroelectric FeLIF neurons, 3-bit RRAM synapses) with BRUNO.
   Public domain / MIT-0, see the end of the file.

   BRUNO ("Backpropagation Running Undersampled for Novel device
   Optimization", arXiv 2505.17791) runs the device ODE of every neuron at a
   fine step h = dt/N (1 us) in the forward pass and computes the gradient
   from ONE coarse Euler step of length dt (1 ms) per network step, so only
   one state per network step is kept. This header also has the exact
   baselines (BPTT through every fine step, and checkpointing), LIF neurons,
   quantised synapses, a filamentary RRAM device model, losses and
   optimisers.

   CONTENTS (in this order below)
   --------
   result codes, allocator (and a counting allocator), RNG, time grid;
   FeLIF neuron (MODELS §2): parameters, one Euler step and its Jacobian,
     the fine pass with freeze, populations with device variability, one
     network step (scalar reference, or the vectorised kernel);
   device neurons: the interface a device model provides (bruno_device:
     parameter table, derived constants, lane step and adjoint), parameter
     sets from key=value text, the table of devices (FeLIF first);
   LIF neuron (MODELS §4); the quantiser (MODELS §5.1);
   RRAM device (RRAM.md): read solve, closed-form fit, switching, SET
     programming under compliance, 3-bit device arrays;
   trainers: the fine-step engine written once over the device interface,
     BRUNO / BPTT / checkpointing (binomial, uniform, sequence) / coarse;
   layers, one section each (encode, dense, LIF and RLIF, SNU, device
     neurons) and the table of layer kinds;
   the network: exact memory prediction (bruno_net_train_bytes), forward
     and backward; losses; Adamax, Adam, SGD and reduce-on-plateau.
   The implementation follows the same order, in dependency order: core,
   devices, the engine and trainers, layers, the network, losses,
   optimisers.

   A NETWORK IN TWENTY LINES
   -------------------------
       bruno_net_config nc = bruno_net_config_default(512);   // 512 inputs
       nc.trainer = BRUNO_TRAINER_BRUNO;                      // or BPTT, CHECKPOINT
       bruno_layer_config d = bruno_layer_config_default(BRUNO_LAYER_DENSE);
       bruno_layer_config f = bruno_layer_config_default(BRUNO_LAYER_FELIF);
       d.n_out = 128;
       f.dev.input_gain = 1e-9;                               // amperes per unit input
       bruno_net net;
       bruno_net_init(&net, &nc);
       bruno_net_add(&net, &d);
       bruno_net_add(&net, &f);
       // x: [T][batch][512]; y: [T][batch][128] spikes
       bruno_net_forward(&net, x, T, batch, 1, &y);
       bruno_loss_sum_sq(y, T * batch * 128, dy, &loss);
       bruno_net_zero_grad(&net);
       bruno_net_backward(&net, dy);
       bruno_optim_step(&opt, &net);                          // opt from bruno_optim_init
       bruno_net_free(&net);

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

   ADDING A LAYER KIND
   -------------------
   A layer kind is one section of the implementation ("layer: NAME") and
   one row of the table of layer kinds (struct bruno__layer_ops, "the table
   of layer kinds"); the network reaches a kind only through its row. A new
   kind needs:
   1. its value in bruno_layer_kind, after the last one (the table is in
      enum order; bruno_net_add refuses values past its end);
   2. its section: check (n_out, and nW if it has a matrix, from the input
      size; the size checks), params_plan and init (its parameters:
      buffers, initial values drawn from the network's RNG, their names),
      ws_plan (its workspace for (T, batch) beyond the output), forward,
      backward; optionally setup (its own parameter checks, and anything
      it holds outside its buffers), constrain, own_bytes, release, redraw;
   3. its row: those functions and four facts: the name of its matrix W
      (NULL: none; with one, bits, quantisation and RRAM synapses come from
      the shared W code), whether it spikes (surrogate checks), and the two
      flags of the gradient-in-place rule (dx_over_input, out_overwritable);
   4. if it keeps arrays of its own, a member of the union `as` of struct
      bruno_layer ("the layer record") that names them; its configuration
      goes in bruno_layer_config (fields read by the kinds that say so).
   bruno_net_bytes, bruno_net_train_bytes, the workspace, forward, backward,
   constrain and the parameter list then serve it with no other change;
   tests/test_layers.c runs every kind through a training step with its
   memory predicted to the byte.

   CONFIGURATION MACROS (define before including)
   ------------------------------------------------
   BRUNO_IMPLEMENTATION  compile the implementation in this translation unit.
   BRUNO_STATIC          make every function static (private to one file).
   BRUNO_REAL_DOUBLE     bruno_real is double (default float). The gradient
                         checks use double.
   BRUNO_ASSERT(x)       internal consistency checks (default assert()).
                         Bad input never reaches an assert: every public
                         function validates and returns a bruno_result.
   BRUNO_MALLOC/BRUNO_FREE  what the default allocator calls (default: a
                         64-byte aligned malloc where the C library has one,
                         see below, and free).
   BRUNO_NO_AVX512       use the portable (auto-vectorised) FeLIF kernel even
                         where the target has AVX-512 (float build).
   BRUNO_FELIF_CHUNK_UPDATES  with threads, the forward FeLIF pass hands out
                         its work items in chunks of network steps of about
                         this many neuron updates (default 2^21). The
                         results do not depend on it; the tests set it to 1
                         so that every network step can change thread.

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
   - Floating point: the exact trainers (BPTT, checkpointing) share one
     code path per fine step, so their gradients are bit-identical; build
     without -ffast-math. For speed build the file that defines
     BRUNO_IMPLEMENTATION with -O3 -march=native -fno-trapping-math: with
     AVX-512 (float) the FeLIF fine loop is hand-vectorised with
     intrinsics; elsewhere it is written branch-free so the compiler
     vectorises it, and gcc does so only without trapping math (clang's
     default).
     -ffp-contract=off keeps results the same across compilers' FMA choices
     (the kernel uses fmaf explicitly where the target has FMA).
   - Threads: with OpenMP (-fopenmp) the FeLIF layers and dense layers
     split their neurons or rows over bruno_net_config.threads workers;
     every neuron's arithmetic is the same whichever worker holds it, so
     results are bit-identical for any thread count.

   WHAT EVERY PUBLIC FUNCTION VALIDATES (tests/test_hostile.c tests each line)
   ------------------------------------
   - Functions that return a bruno_result: any NULL object or config
     argument that is not documented as optional -> BRUNO_ERR_ARG, before
     anything is touched. Sizes whose product would wrap size_t ->
     BRUNO_ERR_SIZE (bruno_alloc returns NULL). Non-finite reals ->
     BRUNO_ERR_NONFINITE; out-of-range ones -> BRUNO_ERR_PARAM.
   - Functions that return a value: NULL gives a neutral value and writes
     nothing: bruno_rng_u64/uniform/normal 0, bruno_felif_rate 0 (and *dr
     = 0), bruno_felif_euler -1, the Jacobians all zero, bruno_felif_fine_pass
     0 steps, bruno_felif_derive all-zero constants, bruno_felif_c_tot 0,
     bruno_rram_geometry_make a zero geometry (which fails
     bruno_rram_geometry_validate), bruno_net_n_out 0, bruno_net_finite 0,
     *_bytes 0. void functions (seed, jump, *_free, zero_grad, constrain,
     release_workspace, counting_allocator_init/reset_peak) do nothing.
   - *_init (net, felif_pop, rram_array, optim) zero the object first; a
     failed init leaves it zeroed (or, after a partial allocation, freed
     and zeroed), so the matching *_free is always safe, also on a zeroed
     object and twice.
   - An allocator is both callbacks or neither (NULL/NULL = the default):
     alloc without free, or free without alloc, is BRUNO_ERR_ARG at every
     *_init, NULL from bruno_alloc, and allocates nothing through a
     counting allocator wrapped around it.
   - bruno_felif_params_validate (and so every population and FeLIF layer)
     refuses parameters the build cannot compute in bruno_real: derived
     constants (1/tau_0, I_0 A, 1/C_tot, the field gains) and the largest
     right-hand-side terms (currents at |v| = v_clip, rate 1/tau_0, its
     derivative) must stay 1e6 below the largest bruno_real, and A, E_soft,
     V_t, P_s must be normal numbers; so the reference and the fast kernel
     refuse the same inputs (a double build accepts e.g. tau_0 = 1e-40,
     which a float build refuses).
   - bruno_net_add: layer sizes up to 2^24 neurons (an encoding layer's
     n_in * tile too), bits 2..16 or 32 (RRAM 2..5), finite initial values.
   - bruno_optim_init and every bruno_optim_step: lr finite and > 0,
     beta1, beta2 in [0, 1), eps finite and > 0 (opt->cfg may be changed
     between steps); a step whose gradient or result is not finite returns
     BRUNO_ERR_DIVERGED.

   VERSION HISTORY
   ---------------
   0.1.0  FeLIF and LIF neurons, quantised synapse, RNG, allocator;
          RRAM device model and arrays; networks and the four trainers
          with exact memory prediction; the vectorised FeLIF kernel and
          threads; the device-neuron interface, FeLIF its first device.
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
    bruno_real *soa;          /* the same constants as arrays [field][n], for the vectorised kernel */
    int uniform;              /* every neuron has the same constants (no variability) */
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

/* The same network step with the vectorised kernel of the trainers
   (kernel = BRUNO_KERNEL_FAST) or the scalar reference (BRUNO_KERNEL_REFERENCE,
   which is bruno_felif_network_step). The fast kernel evaluates exp2 and
   log2 by polynomials in float (exp2: relative error <= 2.2e-7; log2:
   absolute error <= 1.6e-7 on the mantissa's part, below the rounding of
   log2 |E| ~ 28 itself); tests/test_kernel.c states its agreement with
   the reference. Declared kernel enum below. */
BRUNO_API bruno_result bruno_felif_network_step_kernel(const bruno_felif_pop *pop, size_t batch,
                                                       const bruno_real *I, bruno_real *v, bruno_real *p,
                                                       bruno_real *s, double dt, uint32_t n_fine, int kernel);

/* The coarse step of BRUNO (MODELS §3): one Euler step of length dt from
   the window's start, and its Jacobian. */
BRUNO_API bruno_felif_jacobian bruno_felif_coarse_jacobian(const bruno_felif_consts *c, bruno_real v,
                                                           bruno_real p, bruno_real I, double dt,
                                                           int rate_grad);

/* ------------------------------------------------------------------------ */
/* Device neurons: the interface every device model provides (issue 13)     */
/* ------------------------------------------------------------------------ */
/* A device neuron has the state (v, p, s) of MODELS §2 (membrane voltage
   [V], polarization [C/m^2], spike) and is run by ONE engine: the fine
   pass with freeze, windows of fine steps, work items and threads, the
   BPTT store, every checkpoint schedule, BRUNO's straight-through coarse
   step, coarse-only and the exact memory plan are written once over this
   interface. A device provides only what is its own, as one constant
   bruno_device (the implementation section "device: NAME") registered by
   one line in the table of devices:

   1. params, n_params: its parameter table, one bruno_device_param row per
      parameter: name (the key of a device file, `--device FILE`), default,
      SI unit, valid range [min, max], and whether device-to-device
      variability multiplies it by (1 + sigma n). A parameter SET is a
      double[n_params] in table order (defaults: bruno_device_defaults).
      The variability draws one N(0,1) per varied parameter in table order,
      then one for the input gain if asked.
   2. check (may be NULL): relations between parameters the ranges cannot
      express (FeLIF: |V_thr| < v_clip); names the offending key in msg.
   3. derive: the per-neuron constants of one neuron from its (varied)
      parameter set, written into column j of the structure of arrays
      S[c*n + j], c < n_consts, in bruno_real; plus, when aos_bytes > 0,
      the device's own per-neuron record (its reference kernel's form).
      It refuses a set whose constants overflow or underflow in the build's
      precision (bruno_device_check_const does the test and names the key).
      Rows c_gain (the input gain multiplier, 1 unless varied), c_vclip and
      c_pclip (the symmetric clip bounds of v and p) and c_pscale (the
      scale of p_reset and p_init, e.g. this neuron's P_s) are rows of S.
   4. state: threshold V_thr, v_reset, v_init [V] and p_reset, p_init as
      fractions of row c_pscale, from a parameter set.
   5. The lane function, ONE explicit Euler step of one lane before the
      clip, branch free, written in the portable form: a static BRUNO__INLINE
      function of plain C on the SoA constants,
          void lane(const bruno_real *S, size_t n, size_t j, bruno_real v,
                    bruno_real p, bruno_real I, bruno_real tau,
                    bruno_real *vn, bruno_real *pn)
      and its adjoint lane (the vector-Jacobian product of one clipped step:
      act = 0 is a frozen lane (identity), a clipped output passes no
      gradient, grad is the device's gradient option, 0 or 1, see
      bruno_net_config.rate_grad):
          void adj(const bruno_real *S, size_t n, size_t j, bruno_real v,
                   bruno_real p, bruno_real I, bruno_real tau, bruno_real grad,
                   bruno_real act, bruno_real *gv, bruno_real *gp,
                   bruno_real *gI)
      BRUNO_DEVICE_PORTABLE_ROWS(prefix, lane, adj, c_vclip, c_pclip) (in the
      implementation) expands them into the engine's row functions
      prefix_fwd_row and prefix_adj_row (the loop over a row with the clip,
      the freeze and the uniform/varied split) and its window functions
      prefix_fwd_window (the fine steps of a window in one call, storing
      each step's input state as it loads it: BPTT's forward and
      checkpointing's recomputation) and prefix_adj_window (the reverse
      sweep over stored states in one call), so the compiler inlines and
      vectorises the lane; the engine reaches a device only through the
      function pointers below, once per ROW or per WINDOW, never per lane.
   6. Optionally a hand-written fast kernel in the same slots (FeLIF's
      AVX-512 rows and windows, Heracles' AVX-512 windows), and a scalar
      reference kernel (BRUNO_KERNEL_REFERENCE; NULL: the portable rows).

   A layer names its device by bruno_layer_config.dev.device (NULL: FeLIF from
   the typed bruno_layer_config.dev.felif, as before) and its parameter set by
   dev.device_params (NULL: the device's defaults); both are read by
   bruno_net_add. bruno_device_find("felif") looks a device up by name (the
   command line's --neuron). */

/* 28: FeLIF has 20 parameters, Heracles 21, and a device of one's own may
   have a few more; with it a layer keeps the size it had before the
   device interface and the per-kind layer and config parts (the counted
   peaks of reference/ci_baseline.csv are exact bytes). */
#define BRUNO_DEVICE_MAX_PARAMS 28
#define BRUNO_DEVICE_MAX_CONSTS 32
#define BRUNO_RUNNING 0xffffffffu /* taken[] of a lane that has not frozen in this window */

typedef struct bruno_device_param {
    const char *name;  /* key in a device file, e.g. "t_fe" */
    double def;        /* default value, SI */
    const char *unit;  /* SI unit ("" for a pure number) */
    double min, max;   /* valid closed range */
    int varies;        /* device-to-device variability multiplies it by (1 + sigma n) */
} bruno_device_param;

/* Scalars of the state from a parameter set (item 4 above). */
typedef struct bruno_device_state {
    double V_thr, v_reset, v_init;  /* [V] */
    double p_reset, p_init;         /* fractions of the constants' row c_pscale */
} bruno_device_state;

/* One row of lanes [ja, jb) as the engine hands it to a device: every
   array is indexed by the lane j (the engine offsets the pointers). */
typedef struct bruno_device_row {
    bruno_real *v, *p;           /* state, updated in place (forward) or read (adjoint: the step's input) */
    uint32_t *taken;             /* forward: RUNNING until v >= thr, then i + 1; adjoint: lanes with i < taken run (NULL: all) */
    const bruno_real *I;         /* input current [A] */
    bruno_real *gv, *gp, *gI;    /* adjoint: dL/dv, dL/dp in/out; dL/dI accumulated */
    const bruno_real *S;         /* constants S[c*n + j] (uniform: every lane reads j = 0) */
    const void *aos;             /* the device's own per-neuron records, lane j at j*aos_bytes */
    size_t n, ja, jb;
    int uniform;                 /* every lane has the same constants */
    int grad;                    /* the device's gradient option (bruno_net_config.rate_grad) */
    bruno_real thr;              /* V_thr */
} bruno_device_row;

typedef struct bruno_device {
    const char *name;                    /* "felif": --neuron NAME */
    const char *doc;                     /* one line: what it is, which MODELS section */
    size_t n_params;
    const bruno_device_param *params;    /* [n_params] */
    size_t n_consts;                     /* rows of S (<= BRUNO_DEVICE_MAX_CONSTS) */
    size_t aos_bytes;                    /* per-neuron bytes of the device's own records (0: none) */
    int c_gain, c_vclip, c_pclip, c_pscale; /* rows of S the engine reads */
    bruno_result (*check)(const double *prm, char *msg, size_t cap);
    /* column j of S (and record j of aos) from one neuron's parameter set;
       gain is that neuron's input gain multiplier, written to row c_gain */
    bruno_result (*derive)(const double *prm, double gain, bruno_real *S, size_t n, size_t j, void *aos,
                           char *msg, size_t cap);
    bruno_device_state (*state)(const double *prm);
    /* fine step i of length tau on one row, with the freeze: returns nonzero
       while a lane of the row still runs after step i */
    size_t (*fwd_row)(const bruno_device_row *r, uint32_t i, bruno_real tau);
    /* reverse one step of length tau of one row (lanes i < taken) */
    void (*adj_row)(const bruno_device_row *r, uint32_t i, bruno_real tau);
    /* optional (NULL: fwd_row once per step): fine steps [i0, i1) of one row
       in one call, with the freeze. With sv not NULL, the input state of
       step i is written to sv[(i - i0) stride + j] and sp[(i - i0) stride + j]
       as the step loads it (BPTT's store, checkpointing's segments); stream
       asks for non-temporal stores where the kernel has them and the arrays
       are 64-byte aligned (states read back only after much other traffic).
       Stops after the step that leaves no lane of the row running; returns
       the number of steps run (and stored), at least 1 when i0 < i1. */
    uint32_t (*fwd_window)(const bruno_device_row *r, uint32_t i0, uint32_t i1, bruno_real tau, bruno_real *sv,
                           bruno_real *sp, size_t stride, int stream);
    /* optional (NULL: adj_row once per step): reverse steps i1 - 1 down to
       i0 of one row in one call (lanes i < taken); step i's input state is
       r->v[(i - i0) stride + j], r->p[(i - i0) stride + j]. */
    void (*adj_window)(const bruno_device_row *r, uint32_t i0, uint32_t i1, bruno_real tau, size_t stride);
    /* optional scalar reference kernel (NULL: fwd_row, adj_row) */
    size_t (*ref_fwd_row)(const bruno_device_row *r, uint32_t i, bruno_real tau);
    void (*ref_adj_row)(const bruno_device_row *r, uint32_t i, bruno_real tau);
} bruno_device;

/* The registered devices: by name (NULL if none), and the i-th (NULL past the end). */
BRUNO_API const bruno_device *bruno_device_find(const char *name);
BRUNO_API const bruno_device *bruno_device_at(size_t i);
/* Index of a parameter by name, or -1. */
BRUNO_API int bruno_device_param_index(const bruno_device *dev, const char *name);
/* prm[n_params] = the table's defaults. */
BRUNO_API void bruno_device_defaults(const bruno_device *dev, double *prm);
/* A parameter set: every value finite and in range, the device's check,
   and derive for the nominal neuron (no overflow/underflow). On error msg
   (may be NULL) names the key. */
BRUNO_API bruno_result bruno_device_validate(const bruno_device *dev, const double *prm, char *msg, size_t cap);
/* For derive: BRUNO_ERR_PARAM (with "key: ..." in msg) if x, a constant
   derived mainly from parameter key, is not finite in bruno_real, or is
   nonzero in double and zero or subnormal in bruno_real. */
BRUNO_API bruno_result bruno_device_check_const(double x, const char *key, const char *what, char *msg, size_t cap);
/* key=value lines in SI units ('#' starts a comment, blank lines ignored)
   over the table, on top of prm (start from bruno_device_defaults). An
   unknown key, text that is not a number, a value out of range, a key
   given twice, or a set that fails bruno_device_validate is an error whose
   msg names the key (and the line). */
BRUNO_API bruno_result bruno_device_parse(const bruno_device *dev, const char *text, double *prm, char *msg,
                                          size_t cap);

/* n neurons of one device with their derived constants (variability as
   MODELS §2: sigma, seeded). */
typedef struct bruno_device_pop {
    const bruno_device *dev;
    double prm[BRUNO_DEVICE_MAX_PARAMS];  /* the nominal parameter set */
    size_t n;
    bruno_real *soa;          /* [n_consts][n] */
    void *aos;                /* [n] records of aos_bytes, or NULL */
    int uniform;              /* every neuron has the same constants */
    bruno_allocator allocator;
} bruno_device_pop;

BRUNO_API size_t bruno_device_pop_bytes(const bruno_device *dev, size_t n);
BRUNO_API bruno_result bruno_device_pop_init(bruno_device_pop *pop, const bruno_device *dev, const double *prm,
                                             size_t n, double sigma, int vary_gain, uint64_t seed,
                                             const bruno_allocator *allocator);
BRUNO_API bruno_result bruno_device_pop_redraw(bruno_device_pop *pop, double sigma, int vary_gain, bruno_rng *rng);
BRUNO_API void bruno_device_pop_free(bruno_device_pop *pop);
/* The initial state (v_init, p_init) of batch x n neurons, arrays [batch][n]. */
BRUNO_API void bruno_device_init_state(const bruno_device_pop *pop, size_t batch, bruno_real *v, bruno_real *p);
/* One network step k -> k+1 for batch x n neurons (arrays [batch][n]) with
   the engine of the trainers: fine pass with freeze, reset where s_k = 1,
   then s_{k+1} = H(v - V_thr) (MODELS §2); kernel BRUNO_KERNEL_FAST (the
   device's rows) or BRUNO_KERNEL_REFERENCE (its reference rows). I is the
   input current [A] (already times the gain, row c_gain of pop->soa). */
BRUNO_API bruno_result bruno_device_network_step(const bruno_device_pop *pop, size_t batch, const bruno_real *I,
                                                 bruno_real *v, bruno_real *p, bruno_real *s, double dt,
                                                 uint32_t n_fine, int kernel);

/* FeLIF as a device: its parameter set as a vector in table order and back. */
BRUNO_API void bruno_felif_params_to_vector(const bruno_felif_params *p, double *prm);
BRUNO_API void bruno_felif_params_from_vector(const double *prm, bruno_felif_params *p);


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
/* The compact model is the JART VCM v1b "var" model (Bengel et al. 2020,
   variability fit Ntinas et al. 2023) as written in RRAM.md. Units are SI
   except the vacancy concentration N, which every function takes and
   returns in units of 1e26 m^-3 as RRAM.md writes it (N_min = 0.008,
   N_max = 20). Device math runs in double precision whatever bruno_real
   is; only the effective weights of the array are bruno_real. */
#define BRUNO_RRAM_N_UNIT 1e26 /* [m^-3] per unit of N */
#define BRUNO_RRAM_MAX_STATES 32

typedef struct bruno_rram_params {
    double T0;              /* ambient temperature [K] */
    double eps;             /* oxide relative permittivity (tunnelling) */
    double eps_phiB;        /* relative permittivity for image-force lowering */
    double phi_Bn0;         /* nominal Schottky barrier [eV] */
    double phi_n;           /* Fermi level to conduction band offset [eV] */
    double mu_n;            /* electron mobility [m^2/(V s)] */
    double N_min, N_max;    /* state limits [1e26 m^-3] */
    double N_plug;          /* plug concentration [1e26 m^-3] */
    double a;               /* ion hopping distance [m] */
    double nu0;             /* attempt frequency [Hz] */
    double dW_A;            /* migration activation energy [eV] */
    double R_th0;           /* filament thermal resistance [K/W] */
    double r_det, l_det;    /* nominal filament radius and disc length [m] */
    double l_cell;          /* disc + plug length [m] */
    double Rth_scale_reset; /* factor on R_th for V > 0 */
    double R_TiOx;          /* series oxide resistance [ohm] */
    double R0;              /* line resistance at T0 [ohm] */
    double R_th_line;       /* line thermal resistance [K/W] */
    double alpha_line;      /* line temperature coefficient [1/K] */
    double A_star;          /* Richardson constant [A/(m^2 K^2)] */
    double m_star;          /* effective electron mass [kg] */
    double z;               /* vacancy charge number */
    double V_read;          /* read voltage [V] (RRAM.md §3: +0.2 V) */
    double V_set;           /* SET pulse amplitude [V] (§5: -1.2 V) */
    double t_set;           /* SET pulse length [s] (§5: 1 us) */
    int self_heating;       /* 1: filament temperature from Joule heating (§3); 0: T = T0 */
} bruno_rram_params;

/* One device's filament: radius r and disc length l [m]. */
typedef struct bruno_rram_geometry {
    double r, l;
} bruno_rram_geometry;

/* The defaults of RRAM.md §2 (plus V_read, V_set, t_set, self_heating = 1). */
BRUNO_API bruno_rram_params bruno_rram_params_default(void);
/* BRUNO_ERR_NONFINITE for a NaN/inf field, BRUNO_ERR_PARAM for a value out
   of range (non-positive geometry, N_min >= N_max, l_det >= l_cell,
   V_read = 0, ...), BRUNO_ERR_ARG for NULL. */
BRUNO_API bruno_result bruno_rram_params_validate(const bruno_rram_params *p);
/* r = r_det (1 + d_r), l = l_det (1 + d_l) (RRAM.md §6). */
BRUNO_API bruno_rram_geometry bruno_rram_geometry_make(const bruno_rram_params *p, double d_r, double d_l);
/* BRUNO_ERR_PARAM unless r > 0 and 0 < l < l_cell (and finite). */
BRUNO_API bruno_result bruno_rram_geometry_validate(const bruno_rram_params *p, bruno_rram_geometry g);

/* Static current I [A] through the device at applied voltage V [V] and
   state N (RRAM.md §3): the Schottky interface voltage is solved for (first
   sign change scanning up from V_S = 0 and bisection for V > 0; bisection
   on [V, 0] for V < 0), the series resistance includes line heating, and
   with p->self_heating the filament temperature T is iterated to its fixed
   point. T_out [K] may be NULL. BRUNO_ERR_PARAM for N outside
   [N_min, N_max] or a bad geometry; BRUNO_ERR_NO_CONVERGENCE if a bounded
   solver fails (thermal runaway included). */
BRUNO_API bruno_result bruno_rram_current(const bruno_rram_params *p, bruno_rram_geometry g, double N,
                                          double V, double *I, double *T_out);
/* Read conductance G = I(V_read)/V_read [S] from the full solve. */
BRUNO_API bruno_result bruno_rram_read_g(const bruno_rram_params *p, bruno_rram_geometry g, double N,
                                         double *G);
/* The closed-form variability-aware fit of Ntinas 2023 (RRAM.md §3), valid
   for V > 0 (BRUNO_ERR_PARAM otherwise): current [A] and G = I/V [S]. */
BRUNO_API bruno_result bruno_rram_fit_current(bruno_rram_geometry g, double N, double V, double *I);
BRUNO_API bruno_result bruno_rram_fit_read_g(const bruno_rram_params *p, bruno_rram_geometry g, double N,
                                             double *G);
/* Switching rate dN/dt [1e26 m^-3 / s] at applied voltage V (RRAM.md §4),
   with the static current solved at V. I_out, T_out may be NULL. */
BRUNO_API bruno_result bruno_rram_dndt(const bruno_rram_params *p, bruno_rram_geometry g, double N, double V,
                                       double *dNdt, double *I_out, double *T_out);

/* A SET pulse of amplitude p->V_set (< 0) and length p->t_set from state
   N0 under the current compliance I_cc [A] > 0 (RRAM.md §5): at every time
   step the free current is compared with I_cc and, in compliance, the
   device voltage where |I| = I_cc is found by bisection; the step is
   limited so that dN <= 1 % of N. N_final (1e26 m^-3) and G_read [S]
   (full solve at V_read after the pulse) may be NULL. */
BRUNO_API bruno_result bruno_rram_set_pulse(const bruno_rram_params *p, bruno_rram_geometry g, double N0,
                                            double I_cc, double *N_final, double *G_read);

/* ---- 3-bit device array (RRAM.md §6): what a layer calls --------------- */
/* Signed weights from conductances. REFERENCE_CELL: one device per weight,
   w = x(G) - x(G_ref) with the reference an ideal nominal state m (state 3
   of 8: levels -m..m use states 0..2m). DIFFERENTIAL_PAIR: two devices,
   w = (x(G+) - x(G-)) / stride, level L >= 0 puts G+ in state L*stride and
   G- in state 0 (mirrored for L < 0), stride = (2^bits - 1) / m (2 for 3
   bits, so the pair spans states 0..6 of 8). x(G) is the calibrated
   readout: G mapped through the nominal device's state conductances
   (piecewise linear, x = k at state k), which for the default linear
   placement is the linear w ~ G - G_ref or G+ - G-. A nominal,
   noise-free device therefore gives exactly its integer level, and every
   deviation of a real device reaches the network. */
typedef enum { BRUNO_RRAM_REFERENCE_CELL = 0, BRUNO_RRAM_DIFFERENTIAL_PAIR = 1 } bruno_rram_mapping;
/* Device-to-device geometry draw: d_r, d_l uniform in +-var_sigma, or
   N(0, var_sigma) clipped to +-var_clip (RRAM.md §6). */
typedef enum { BRUNO_RRAM_VAR_NONE = 0, BRUNO_RRAM_VAR_UNIFORM = 1, BRUNO_RRAM_VAR_NORMAL = 2 } bruno_rram_variability;
/* Target conductances of the 2^bits states: equally spaced in G, or in log G. */
typedef enum { BRUNO_RRAM_LEVELS_LINEAR = 0, BRUNO_RRAM_LEVELS_LOG = 1 } bruno_rram_placement;
/* How a state is written: a fixed N per state (the same vacancy
   concentration in every device), or a SET pulse under the compliance
   current that programs the nominal device to the target (§5). */
typedef enum { BRUNO_RRAM_FIXED_N = 0, BRUNO_RRAM_COMPLIANCE = 1 } bruno_rram_scheme;

typedef struct bruno_rram_array_config {
    bruno_rram_params dev;      /* device parameters (nominal geometry r_det, l_det) */
    size_t n_weights;           /* >= 1 */
    int bits;                   /* 2..5; 3: 8 states, levels -3..3 */
    bruno_rram_mapping mapping; /* default DIFFERENTIAL_PAIR */
    bruno_rram_variability variability; /* default UNIFORM */
    double var_sigma;           /* 0.1: half-width (uniform) or sigma (normal) of d_r, d_l */
    double var_clip;            /* 0.1: |d| bound of the normal draw */
    int cycle_to_cycle;         /* 1: redraw d_r, d_l at every programming event (default 0) */
    double prog_noise;          /* 0.02: relative sigma of G at each programming event (0: off) */
    double read_noise;          /* 0.01: sigma of G per read, relative to the top state's G (0: off) */
    bruno_rram_placement placement; /* default LINEAR */
    bruno_rram_scheme scheme;   /* default FIXED_N (init in ms; COMPLIANCE takes ~seconds) */
    double icc_top;             /* 320e-6 A: the top state is the nominal device SET under this compliance */
    int use_fit;                /* FIXED_N only: state conductances from the closed-form fit (default 0: full solve) */
    int table_points;           /* points per axis of the (d_r, d_l) table (0: 9 for FIXED_N, 5 for COMPLIANCE) */
    uint64_t seed;              /* seeds the device-to-device draw */
    bruno_allocator allocator;
} bruno_rram_array_config;

typedef struct bruno_rram_array {
    bruno_rram_array_config cfg;
    size_t n_devices;           /* n_weights (reference cell) or 2 n_weights (pair) */
    int n_states, m, stride, ref_state, table_points;
    double bound;               /* |d_r|, |d_l| range of the table */
    double g_target[BRUNO_RRAM_MAX_STATES];  /* [S] placement targets */
    double g_nominal[BRUNO_RRAM_MAX_STATES]; /* [S] nominal device per state: the readout calibration */
    double program[BRUNO_RRAM_MAX_STATES];   /* per state: N [1e26 m^-3] (FIXED_N) or I_cc [A] (COMPLIANCE; 0 = HRS) */
    double *table;              /* [n_states][P][P] G [S] over (d_r, d_l) */
    float *delta;               /* [n_devices][2] d_r, d_l */
    float *g_state;             /* [n_devices][n_states] this device's state conductances [S] */
    double *g;                  /* [n_devices] programmed conductance, with programming noise [S] */
    int8_t *state;              /* [n_devices] programmed state, -1 never */
    int8_t *level;              /* [n_weights] programmed level */
    int programmed;             /* program() has run */
} bruno_rram_array;

BRUNO_API bruno_rram_array_config bruno_rram_array_config_default(size_t n_weights);
/* Exact bytes bruno_rram_array_init allocates (0 for an invalid config). */
BRUNO_API size_t bruno_rram_array_bytes(const bruno_rram_array_config *cfg);
/* Finds the state targets and how to program them (bisection on N or on
   I_cc at the nominal geometry), tabulates every state's conductance over
   the (d_r, d_l) range with the full model, draws each device's geometry
   and precomputes its state conductances, so neither programming nor a
   forward pass solves the device. All devices start unprogrammed. */
BRUNO_API bruno_result bruno_rram_array_init(bruno_rram_array *a, const bruno_rram_array_config *cfg);
/* levels[i] in -m..m (m = 2^(bits-1) - 1, the quantiser's signed level).
   Programs only the devices whose target state changed (all of them on
   the first call), drawing programming noise (and, with cycle_to_cycle, a
   new geometry) from rng; rng may be NULL when both are off.
   *n_reprogrammed (may be NULL) counts devices touched. A level out of
   range leaves the array unchanged (BRUNO_ERR_PARAM). */
BRUNO_API bruno_result bruno_rram_array_program(bruno_rram_array *a, const int8_t *levels, bruno_rng *rng,
                                                size_t *n_reprogrammed);
/* Effective weights in LEVEL units (~ levels, with device variability and
   noise) from the cached conductances. With read noise, one Gaussian
   sample per device per call is drawn from rng (required then): the caller
   keeps w_levels for its backward pass. BRUNO_ERR_STATE before the first
   program(). */
BRUNO_API bruno_result bruno_rram_array_weights(const bruno_rram_array *a, bruno_real *w_levels, bruno_rng *rng);
/* Device dev's conductance in state k from the precomputed table [S] (no
   programming noise), and its geometry; for figures and tests. */
BRUNO_API double bruno_rram_array_state_g(const bruno_rram_array *a, size_t dev, int k);
BRUNO_API bruno_rram_geometry bruno_rram_array_device_geometry(const bruno_rram_array *a, size_t dev);
BRUNO_API void bruno_rram_array_free(bruno_rram_array *a);
/* ==== end of RRAM declarations ==== */

/* ------------------------------------------------------------------------ */
/* Networks, layers, trainers (MODELS §3-§6)                                 */
/* ------------------------------------------------------------------------ */
/* A network is a stack of layers applied to a whole sequence at once:
   layer l maps [T][batch][n_in] to [T][batch][n_out]. Because no layer
   feeds back into an earlier one, each layer is backpropagated through
   time on its own, last layer first; that is exactly BPTT over network
   steps for the whole stack (MODELS §3, "the outer loop ... is always
   backpropagated through time"). Only the FeLIF inner loop of N fine
   steps per network step is differentiated differently by each trainer. */

#define BRUNO_MAX_LAYERS 16

/* ---- trainers: how the fine steps are differentiated (MODELS §3) ---- */
/* How the N fine FeLIF steps of one network step are differentiated (MODELS §3). */
typedef enum bruno_trainer {
    BRUNO_TRAINER_BRUNO = 0,   /* fine forward, one coarse Euler step for the gradient */
    BRUNO_TRAINER_BPTT,        /* exact: every fine step stored and differentiated */
    BRUNO_TRAINER_CHECKPOINT,  /* exact, same gradient as BPTT, recomputes from checkpoints */
    BRUNO_TRAINER_COARSE       /* forward AND gradient from the coarse step (fails; a baseline) */
} bruno_trainer;

typedef enum bruno_schedule {
    BRUNO_SCHEDULE_BINOMIAL = 0, /* revolve-style within each network step, K snapshots */
    BRUNO_SCHEDULE_UNIFORM,      /* within each network step, a checkpoint every ceil(N/K) fine steps */
    BRUNO_SCHEDULE_SEQUENCE      /* revolve over the network steps of the sequence with K snapshots;
                                    the step being reversed keeps its N fine states */
} bruno_schedule;

/* The FeLIF fine loop: FAST is vectorisable (structure of arrays over
   neurons, branch-free, in float a polynomial exp/log of a few ulp);
   REFERENCE is the plain scalar loop over bruno_felif_euler with libm. */
typedef enum bruno_kernel { BRUNO_KERNEL_FAST = 0, BRUNO_KERNEL_REFERENCE = 1 } bruno_kernel;

/* ---- layers (MODELS §3-§5) ----------------------------------------------- */
typedef enum bruno_layer_kind {
    BRUNO_LAYER_ENCODE = 0, /* tile the inputs, then gain*(x + bias); gain, bias trainable */
    BRUNO_LAYER_DENSE,      /* y = W x (+ b); W optionally quantised (MODELS §5.1) */
    BRUNO_LAYER_LIF,        /* current-based LIF (MODELS §4); alpha, beta trainable */
    BRUNO_LAYER_RLIF,       /* LIF with a recurrent matrix W_rec s_{t-1} added to the input */
    BRUNO_LAYER_FELIF,      /* device neurons (FeLIF unless cfg.dev.device), current = gain * input (MODELS §2, §3) */
    BRUNO_LAYER_SNU         /* SNU-style cell: h = h(1-s)decay + x + W_rec s + b (MODELS §4) */
    /* a new kind goes here: see ADDING A LAYER KIND at the top */
} bruno_layer_kind;

typedef enum bruno_surrogate {
    BRUNO_SURROGATE_SUPERSPIKE = 0, /* forward H(x), backward 1/(beta|x| + 1)^2 */
    BRUNO_SURROGATE_TANH,           /* forward H(x), backward 1 - tanh^2(x) */
    BRUNO_SURROGATE_SIGMOID         /* forward sigmoid(beta x) and its exact derivative:
                                       smooth, for finite-difference checks. The reset
                                       decision stays H(x) in every mode. */
} bruno_surrogate;

/* Where the weights of a DENSE, RLIF or SNU matrix live (MODELS §5).
   IDEAL: W itself, or at bits < 32 the quantiser's Wq (MODELS §5.1).
   RRAM: a 3-bit device array per matrix (MODELS §5.2, RRAM.md §6). The
   full-precision shadow W is rounded deterministically to the signed
   levels q (m = 2^(bits-1) - 1, scale = max|W|); the array reprograms only
   the devices whose level changed; the forward uses
   Wq = x(G) * scale / m, x(G) the array's read-out in level units with its
   variability, programming noise and one read-noise sample, and the
   backward uses that same Wq and passes the gradient straight through to
   W. Rounding is always deterministic here (stochastic_rounding is
   ignored): a device holds the state it was programmed to, and stochastic
   rounding would rewrite every device with a fractional level on every
   forward pass (wear, and a fresh programming-noise draw each time); the
   device noise already dithers the weights. */
typedef enum bruno_synapse { BRUNO_SYNAPSE_IDEAL = 0, BRUNO_SYNAPSE_RRAM = 1 } bruno_synapse;

/* One configuration for every kind, in named parts by the kinds that read
   them (a kind ignores the other parts); bruno_layer_config_default fills
   every part, so a caller sets only what differs. A layer's state is in
   per-kind parts too (struct bruno_layer in the implementation). */
typedef struct bruno_layer_encode_config {
    size_t tile;             /* copies of the input vector (default 1); a first-layer encoding with
                                tile >= 2 under a dense layer is folded into it (bruno__dense_setup) */
    double gain_init_std;    /* gain ~ N(0,1)*gain_init_std (default 1) */
    double gain_init_mean;   /* added to the gain draw (default 0) */
    double bias_init_std;    /* bias ~ N(0,1)*bias_init_std (default 1) */
} bruno_layer_encode_config;

/* DENSE and the recurrent matrices of RLIF and SNU */
typedef struct bruno_layer_matrix_config {
    int bias;                /* DENSE: add a trainable bias */
    int bits;                /* 32: full precision; 2..16: quantised with a straight-through gradient */
    int stochastic_rounding; /* quantiser: stochastic (default 1) or deterministic rounding */
    bruno_synapse synapse;   /* IDEAL (default) or RRAM (needs bits 2..5); other kinds ignore it */
    bruno_rram_array_config rram; /* RRAM: the device array (default bruno_rram_array_config_default);
                                     n_weights, bits, seed and allocator are set by the layer: the
                                     seed from the network's RNG, without consuming it, so that an
                                     RRAM network starts from the same W as its IDEAL twin */
    double init_scale;       /* W ~ U(-s, s)*init_scale with s = 1/sqrt(n_in) (default 1) */
    int init_nonneg;         /* W ~ U(0, init_scale*sqrt(1/n_out)) instead (the JSB input layer) */
} bruno_layer_matrix_config;

/* every spiking kind */
typedef struct bruno_layer_spiking_config {
    bruno_surrogate surrogate;
    double beta;             /* SuperSpike slope (10) or sigmoid steepness */
} bruno_layer_spiking_config;

/* LIF / RLIF */
typedef struct bruno_layer_lif_config {
    double alpha, beta;      /* initial decays in [0.5, 1] */
    int train_decay;         /* alpha, beta trainable (default 1), clamped to [0.5, 1] */
} bruno_layer_lif_config;

/* FELIF: a device neuron layer */
typedef struct bruno_layer_dev_config {
    bruno_felif_params felif;
    double input_gain;       /* g [A]: current = g * input (MODELS §2) */
    double sigma;            /* device-to-device variability (0: off) */
    int vary_gain;           /* vary the input gain per neuron too */
    const bruno_device *device;   /* the device of a FELIF layer (NULL: FeLIF, parameters from felif) */
    const double *device_params;  /* its parameter set [n_params] (NULL: felif for FeLIF, else the
                                     device's defaults); read by bruno_net_add */
} bruno_layer_dev_config;

/* SNU */
typedef struct bruno_layer_snu_config {
    double decay;            /* h decay (0.4) */
    double threshold;        /* spike threshold of h (1) */
} bruno_layer_snu_config;

typedef struct bruno_layer_config {
    bruno_layer_kind kind;
    size_t n_out;            /* ENCODE: n_in*tile (0: derived); DENSE: outputs; neurons: 0 (= n_in) */
    bruno_layer_encode_config encode;
    bruno_layer_matrix_config matrix;
    bruno_layer_spiking_config spiking;
    bruno_layer_lif_config lif;
    bruno_layer_dev_config dev;
    bruno_layer_snu_config snu;
} bruno_layer_config;

BRUNO_API bruno_layer_config bruno_layer_config_default(bruno_layer_kind kind);

/* ---- the network ---------------------------------------------------------- */
typedef struct bruno_net_config {
    size_t n_in;              /* input features per network step */
    double dt;                /* network step [s] (1e-3) */
    uint32_t n_fine;          /* N, fine FeLIF steps per network step (1000) */
    bruno_trainer trainer;
    bruno_schedule schedule;  /* CHECKPOINT only */
    uint32_t checkpoints;     /* CHECKPOINT: K snapshots (31) */
    int rate_grad;            /* the device's gradient option: 0 (default) the authors' rule (FeLIF:
                                 r'(E) stopped), 1 the plain derivative (FeLIF: r'(E) used) */
    bruno_kernel kernel;      /* the FeLIF fine loop: FAST (default) or REFERENCE */
    unsigned threads;         /* worker threads (OpenMP builds); 0 or 1: one */
    uint64_t seed;            /* initialisation and stochastic rounding */
    bruno_allocator allocator;
} bruno_net_config;

BRUNO_API bruno_net_config bruno_net_config_default(size_t n_in);

/* One trainable tensor: value, gradient (accumulated by backward) and size. */
typedef struct bruno_param {
    const char *name;
    bruno_real *data;
    bruno_real *grad;
    size_t n;
} bruno_param;

typedef struct bruno_layer bruno_layer;  /* defined in the implementation */
typedef struct bruno_net {
    bruno_net_config cfg;
    size_t n_layers;
    bruno_layer *layers[BRUNO_MAX_LAYERS];
    bruno_rng rng;
    /* training workspace: the pass it holds is (ws_T, ws_batch); it was
       allocated for (ws_cap_T, ws_cap_batch) and serves every pass whose
       buffers fit in those (a shorter sequence or a smaller batch) */
    size_t ws_T, ws_batch, ws_cap_T, ws_cap_batch;
    int ws_train;             /* the workspace holds what backward needs */
    /* the longest sequence and the largest batch of the inference [0] and
       training [1] passes since bruno_net_init or the last
       bruno_net_release_workspace: a workspace that must be made again is
       made for them (when that is no more T x batch than the largest pass
       of its kind), so sequences of varying length grow it once, not at
       every longer one (JSB: a test pass between training epochs made
       every epoch's training grow it again, 7-8 times) */
    size_t ws_hi_T[2], ws_hi_batch[2], ws_hi_elems[2];
    bruno_net_config ws_cfg;  /* the configuration the workspace was sized for */
    int has_forward;          /* a training forward pass is stored */
    const bruno_real *x;      /* the input of that pass (must stay valid until backward) */
    bruno_real *grad_a, *grad_b;  /* ping-pong buffers for dL/d(activations) */
    size_t grad_elems;
    size_t n_params;
    bruno_param params[4 * BRUNO_MAX_LAYERS];
    char param_names[4 * BRUNO_MAX_LAYERS][16]; /* params[i].name */
} bruno_net;

BRUNO_API bruno_result bruno_net_init(bruno_net *net, const bruno_net_config *cfg);
/* Append a layer; its input size is the previous layer's output size. */
BRUNO_API bruno_result bruno_net_add(bruno_net *net, const bruno_layer_config *lc);
BRUNO_API void bruno_net_free(bruno_net *net);
BRUNO_API size_t bruno_net_n_out(const bruno_net *net);

/* Bytes the network holds between steps (layers, parameters, gradients). */
BRUNO_API size_t bruno_net_bytes(const bruno_net *net);
/* Bytes a training step (forward with train = 1, then backward) allocates
   for a sequence of T network steps and a batch; with bruno_net_bytes
   this is the exact peak a counting allocator sees. Returns 0 for T or
   batch = 0. */
BRUNO_API size_t bruno_net_train_bytes(const bruno_net *net, size_t T, size_t batch);
/* Fine steps a checkpointing schedule (BINOMIAL or UNIFORM) recomputes in
   the backward pass of one network step of n_fine steps with K
   checkpoints, when no neuron freezes early (freezing only shortens it):
   the price of its memory saving, in forward sweeps' worth of work it is
   this / n_fine. 0 for other schedules or a zero size. */
BRUNO_API size_t bruno_checkpoint_recompute_steps(bruno_schedule schedule, size_t n_fine, size_t K);

/* Forward over a sequence x [T][batch][n_in]. With train = 1 everything
   the backward pass needs is kept (workspace allocated on first use or
   when T or batch change). *y receives the output [T][batch][n_out],
   owned by the network and valid until the next forward. net->cfg's
   trainer, schedule, checkpoints, n_fine, dt and threads may be changed
   between passes: the next forward checks them as bruno_net_init does
   and sizes its workspace anew; a backward after such a change without
   a new forward returns BRUNO_ERR_STATE. */
BRUNO_API bruno_result bruno_net_forward(bruno_net *net, const bruno_real *x, size_t T, size_t batch,
                                         int train, const bruno_real **y);
/* Backward from dL/dy [T][batch][n_out]; gradients ACCUMULATE into the
   params' grad arrays (call bruno_net_zero_grad first). It consumes the
   training forward pass (hidden outputs may be overwritten by gradients
   to save memory; y stays valid): a second backward without a new forward
   returns BRUNO_ERR_STATE. Returns
   BRUNO_ERR_DIVERGED when a gradient came out NaN or infinite (e.g. the
   rate derivative r'(E) through a 1 ms coarse step overflows float): the
   arrays hold what was computed, for inspection, and must not be applied. */
BRUNO_API bruno_result bruno_net_backward(bruno_net *net, const bruno_real *dy);
BRUNO_API void bruno_net_zero_grad(bruno_net *net);
/* Clamp constrained parameters (LIF alpha, beta to [0.5, 1]); the
   optimiser calls it after each step. */
BRUNO_API void bruno_net_constrain(bruno_net *net);
/* Release the training workspace (it is made again by the next forward,
   for that pass: the largest passes seen so far are forgotten too). */
BRUNO_API void bruno_net_release_workspace(bruno_net *net);
/* Redraw the device-to-device variability of every device-neuron layer. */
BRUNO_API bruno_result bruno_net_redraw_devices(bruno_net *net, double sigma, bruno_rng *rng);
/* 1 if every parameter and gradient is finite. */
BRUNO_API int bruno_net_finite(const bruno_net *net);

/* The device array of an RRAM layer (synapse = BRUNO_SYNAPSE_RRAM): how
   many of its devices the programming before each forward pass touched.
   The first forward programs every device; later ones only the devices
   whose level changed (after an optimiser step, say). */
typedef struct bruno_rram_layer_stats {
    size_t n_weights, n_devices;
    size_t last_reprogrammed;     /* devices written by the last forward pass */
    uint64_t total_reprogrammed;  /* since the layer was made */
    uint64_t programs;            /* forward passes (programming rounds) so far */
} bruno_rram_layer_stats;
/* BRUNO_ERR_ARG if layer is not an RRAM layer. */
BRUNO_API bruno_result bruno_net_rram_stats(const bruno_net *net, size_t layer, bruno_rram_layer_stats *stats);
/* The array itself (NULL if layer is not an RRAM layer), for figures and tests. */
BRUNO_API const bruno_rram_array *bruno_net_rram_array(const bruno_net *net, size_t layer);

/* ---- losses (MODELS §6) -------------------------------------------------- */
/* Softmax cross-entropy on spike counts summed over time: y [T][B][C],
   labels [B]. loss = mean over the batch. dy (may be NULL) receives dL/dy.
   *n_correct (may be NULL): argmax(counts) == label (ties: lowest index). */
BRUNO_API bruno_result bruno_loss_count_ce(const bruno_real *y, size_t T, size_t B, size_t C,
                                           const int32_t *labels, bruno_real *dy, double *loss,
                                           size_t *n_correct);
/* Sigmoid binary cross-entropy on logits y [T][B][K] against targets in
   {0,1} (same shape), averaged over keys, batch and the steps t >= skip. */
BRUNO_API bruno_result bruno_loss_bce_logits(const bruno_real *y, const bruno_real *target, size_t T,
                                             size_t B, size_t K, size_t skip, bruno_real *dy,
                                             double *loss);
/* sum over time, batch and neurons of y^2 (the memory/time benchmark loss). */
BRUNO_API bruno_result bruno_loss_sum_sq(const bruno_real *y, size_t n, bruno_real *dy, double *loss);

/* ---- optimisers (MODELS §6) ---------------------------------------------- */
typedef enum bruno_optim_kind { BRUNO_OPTIM_SGD = 0, BRUNO_OPTIM_ADAM, BRUNO_OPTIM_ADAMAX } bruno_optim_kind;

typedef struct bruno_optim_config {
    bruno_optim_kind kind;
    double lr;
    double beta1, beta2;  /* Adamax: 0.9, 0.995 (the paper); Adam: 0.9, 0.999 */
    double eps;           /* 1e-8 */
    bruno_allocator allocator;
} bruno_optim_config;

typedef struct bruno_optim {
    bruno_optim_config cfg;
    size_t n_params, n_total;
    bruno_real *m, *u;    /* first moment; second moment (Adam) or infinity norm (Adamax) */
    uint64_t t;
} bruno_optim;

BRUNO_API bruno_optim_config bruno_optim_config_default(bruno_optim_kind kind, double lr);
BRUNO_API size_t bruno_optim_bytes(const bruno_net *net, bruno_optim_kind kind);
BRUNO_API bruno_result bruno_optim_init(bruno_optim *opt, const bruno_optim_config *cfg, const bruno_net *net);
/* One step on every parameter of net from its accumulated gradient; then
   bruno_net_constrain(). BRUNO_ERR_DIVERGED if a gradient is not finite
   (nothing is changed then). */
BRUNO_API bruno_result bruno_optim_step(bruno_optim *opt, bruno_net *net);
BRUNO_API void bruno_optim_free(bruno_optim *opt);

/* Reduce-on-plateau (PyTorch semantics, mode min, relative threshold):
   after `patience` epochs without the metric falling below best*(1-rtol),
   lr *= factor. */
typedef struct bruno_plateau {
    int patience;     /* 10 */
    double factor;    /* 0.9 */
    double rtol;      /* 1e-4 */
    double best;
    int bad_epochs;
} bruno_plateau;

BRUNO_API bruno_plateau bruno_plateau_default(void);
/* Feed one epoch's metric; may lower opt->cfg.lr. Returns 1 if it did. */
BRUNO_API int bruno_plateau_step(bruno_plateau *pl, double metric, bruno_optim *opt);
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

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#ifndef BRUNO_ASSERT
#include <assert.h>
#define BRUNO_ASSERT(x) assert(x)
#endif
/* The default allocation is 64-byte aligned where the C library offers it
   (POSIX posix_memalign, declared when the translation unit asks for POSIX
   or, as gcc's default gnu dialects do, for the default source; else C11
   aligned_alloc), plain malloc otherwise. The fast FeLIF kernel works on
   64-byte rows; with glibc's malloc (16-byte aligned) every row straddles
   two cache lines and the fine pass ran 1.35x slower (E1 step, hidden 128,
   one thread: 0.069 s against 0.051 s). Either is freed with free(). */
#ifndef BRUNO_MALLOC
#if defined(_GNU_SOURCE) || defined(_DEFAULT_SOURCE) || (defined(_POSIX_C_SOURCE) && _POSIX_C_SOURCE >= 200112L) || \
    (defined(_XOPEN_SOURCE) && _XOPEN_SOURCE >= 600)
static void *bruno__malloc64(size_t sz)
{
    void *p = NULL;
    return posix_memalign(&p, 64, sz ? sz : 1) == 0 ? p : NULL;
}
#define BRUNO_MALLOC(sz) bruno__malloc64(sz)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(_WIN32)
static void *bruno__malloc64(size_t sz)
{
    /* aligned_alloc wants a multiple of the alignment */
    return sz > (size_t)-1 - 63 ? NULL : aligned_alloc(64, (sz + 63) & ~(size_t)63);
}
#define BRUNO_MALLOC(sz) bruno__malloc64(sz)
#else
#define BRUNO_MALLOC(sz) malloc(sz)
#endif
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
#define BRUNO__COPYSIGN copysign
#else
#define BRUNO__EXP expf
#define BRUNO__EXPM1 expm1f
#define BRUNO__POW powf
#define BRUNO__FABS fabsf
#define BRUNO__LOG logf
#define BRUNO__COPYSIGN copysignf
#endif

#if defined(__cplusplus)
#define BRUNO__RESTRICT __restrict
#else
#define BRUNO__RESTRICT restrict
#endif
/* the lane functions must be inlined into their loops to vectorise */
#if defined(__GNUC__)
#define BRUNO__INLINE inline __attribute__((always_inline))
#define BRUNO__NOINLINE __attribute__((noinline))
#else
#define BRUNO__INLINE inline
#define BRUNO__NOINLINE
#endif
/* a device's portable rows stay unused where it has a hand-written kernel */
#if defined(__GNUC__)
#define BRUNO__UNUSED __attribute__((unused))
#else
#define BRUNO__UNUSED
#endif

/* Flush subnormal results to zero for a stretch of code (the SSE control
   register's FTZ bit on x86-64; restored by bruno__ftz_end). A device whose
   fine loop makes subnormal intermediates that its state never feels runs
   its kernels so (Heracles, see bruno__heracles_device): where the CPU
   takes a slow path for a subnormal result, that path was most of the
   loop's time. Other targets keep gradual underflow (their kernels of one
   build still agree with each other). */
#if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#include <xmmintrin.h>
typedef unsigned int bruno__fpenv;
static BRUNO__INLINE bruno__fpenv bruno__ftz_begin(void)
{
    bruno__fpenv e = _mm_getcsr();
    _mm_setcsr(e | _MM_FLUSH_ZERO_ON);
    return e;
}
/* the caller's FTZ bit back; the exception flags the code raised stay raised */
static BRUNO__INLINE void bruno__ftz_end(bruno__fpenv e)
{
    _mm_setcsr((_mm_getcsr() & ~(unsigned)_MM_FLUSH_ZERO_MASK) | (e & _MM_FLUSH_ZERO_MASK));
}
#else
typedef int bruno__fpenv;
static BRUNO__INLINE bruno__fpenv bruno__ftz_begin(void) { return 0; }
static BRUNO__INLINE void bruno__ftz_end(bruno__fpenv e) { (void)e; }
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

/* An allocator is both functions or neither (the default): memory from a
   pool's alloc must never reach BRUNO_FREE, nor BRUNO_MALLOC's a pool's free. */
static int bruno__allocator_ok(const bruno_allocator *a) { return !a || !a->alloc == !a->free; }

/* bruno_alloc without the zero fill, for a buffer every reader finds
   written (BPTT's fine states: zeroing them first wrote each byte twice). */
static void *bruno__alloc_raw(const bruno_allocator *a, size_t n, size_t size)
{
    size_t bytes;
    if (size != 0 && n > (size_t)-1 / size) return NULL;
    if (!bruno__allocator_ok(a)) return NULL;
    bytes = n * size;
    if (bytes == 0) bytes = 1; /* a valid, distinct pointer; freed with size 1 */
    if (a && a->alloc) return a->alloc(bytes, a->user);
    return BRUNO_MALLOC(bytes);
}

BRUNO_API void *bruno_alloc(const bruno_allocator *a, size_t n, size_t size)
{
    void *p = bruno__alloc_raw(a, n, size);
    if (p) memset(p, 0, n * size != 0 ? n * size : 1);
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
    if (!bruno__allocator_ok(&c->inner)) return NULL;
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
    if (!c) return;
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

BRUNO_API void bruno_counting_allocator_reset_peak(bruno_counting_allocator *c)
{
    if (c) c->peak_bytes = c->live_bytes;
}

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
    if (!rng) return;
    for (i = 0; i < 4; ++i) rng->s[i] = bruno__splitmix64(&x);
    rng->cached_normal = 0.0;
    rng->has_cached = 0;
}

BRUNO_API uint64_t bruno_rng_u64(bruno_rng *rng)
{
    uint64_t *s, result, t;
    if (!rng) return 0;
    s = rng->s;
    result = bruno__rotl(s[1] * 5, 7) * 9;
    t = s[1] << 17;
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
    if (!rng) return 0.0;
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
    if (!rng) return;
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
    if (!p) return;
    p->p_reset = -0.1478602;
    p->p_init = 0.1478602;
}

/* What the computation needs, in the precision of the build (bruno_real):
   every derived constant finite, nonzero where the kernels divide by it
   (A, E_soft, V_t), and the largest term of the right-hand side (the
   polarization and leakage currents at |v| = v_clip, |p| = P_s, the
   largest rate 1/tau_0, the field, the rate's derivative) at least 1e6
   below the largest bruno_real, so that the reference and the fast kernel
   see finite numbers (and a +-sigma device variation stays finite). A
   double build accepts what a float build must refuse (tau_0 = 1e-40). */
static bruno_result bruno__felif_derived_ok(const bruno_felif_params *p)
{
#if BRUNO_REAL_IS_DOUBLE
    const double big = 1.7976931348623157e308 * 1e-6, tiny = 2.2250738585072014e-308;
#else
    const double big = 3.4028234663852886e38 * 1e-6, tiny = 1.1754943508222875e-38;
#endif
    double den = p->t_fe * p->eps_i + p->t_i * p->eps_fe, inv_c = 1.0 / bruno_felif_c_tot(p);
    double r_max = 1.0 / p->tau_0, i_p = 2.0 * p->P_s * p->A * r_max;
    double i_leak = p->I_0 * p->A * exp(p->v_clip / p->V_t) + p->I_dsc;
    double k_v = p->eps_i / den, k_p = p->t_i / (BRUNO_EPS0 * den);
    double q[12];
    size_t i;
    if (!(den > 0) || !(p->A >= tiny) || !(p->E_soft >= tiny) || !(p->V_t >= tiny) || !(p->P_s >= tiny))
        return BRUNO_ERR_PARAM;
    q[0] = r_max;
    q[1] = i_p;
    q[2] = i_leak;
    q[3] = (i_p + i_leak) * inv_c;
    q[4] = 2.0 * p->P_s * r_max;
    q[5] = k_v * p->v_clip + k_p * p->P_s;
    q[6] = p->alpha * r_max / p->E_soft * (k_v + k_p) * (2.0 * p->P_s * p->A * inv_c + 2.0 * p->P_s);
    q[7] = p->I_0 * p->A / p->V_t * exp(p->v_clip / p->V_t) * inv_c;
    q[8] = inv_c;
    q[9] = 1.0 / p->V_t;
    q[10] = p->E_a / p->E_soft;
    q[11] = k_p;
    for (i = 0; i < sizeof q / sizeof q[0]; ++i)
        if (!(q[i] <= big)) return BRUNO_ERR_PARAM;
    return BRUNO_OK;
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
    /* The exponentials stay finite (in float too, where the fast kernel
       evaluates them without a clamp): e^(v/V_t) for |v| <= v_clip, and
       (E_a/E_soft)^alpha, the largest switching exponent. */
    if (p->v_clip / p->V_t > 80.0 || p->alpha * log2(p->E_a / p->E_soft) > 120.0) return BRUNO_ERR_PARAM;
    return bruno__felif_derived_ok(p);
}

BRUNO_API double bruno_felif_c_tot(const bruno_felif_params *p)
{
    if (!p) return 0.0;
    return BRUNO_EPS0 * p->eps_fe * p->A / p->t_fe + p->C_par;
}

BRUNO_API bruno_felif_consts bruno_felif_derive(const bruno_felif_params *p)
{
    bruno_felif_consts c;
    double den;
    memset(&c, 0, sizeof c); /* NULL p: all zero (validate p first; this does not) */
    if (!p) return c;
    den = p->t_fe * p->eps_i + p->t_i * p->eps_fe;
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
    bruno_real aE, X, r;
    if (!c) {
        if (dr) *dr = 0;
        return 0;
    }
    aE = BRUNO__FABS(E) + c->E_soft;
    X = BRUNO__POW(c->E_a / aE, c->alpha);
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
    if (!c || !v_out || !p_out) return -1;
    bruno__felif_eval(c, v, p, 0, &o);
    pn = p + tau * o.I_p / c->A;
    vn = v + tau * (I - o.I_leak - o.I_p) * c->inv_C_tot;
    /* A value ON a bound counts as clipped too (derivative 0): at p = -P_s
       with E < 0 the update is exactly 0 and the one-sided derivative from
       inside [-P_s, P_s] is 0, while the formula's 1 - tau*r reaches -6e7
       at 1 ms and makes every gradient through a reset neuron overflow. */
    if (pn >= c->P_s) { pn = c->P_s; flags |= 2; }
    else if (pn <= -c->P_s) { pn = -c->P_s; flags |= 2; }
    if (vn >= c->v_clip) { vn = c->v_clip; flags |= 1; }
    else if (vn <= -c->v_clip) { vn = -c->v_clip; flags |= 1; }
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
    if (!c) {
        memset(&J, 0, sizeof J);
        return J;
    }
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
    bruno_real vv, pp;
    uint32_t i;
    if (!c || !v || !p) return 0;
    vv = *v;
    pp = *p;
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

/* ---- device neurons: the parts of the interface every device shares -------- */
/* The registered devices are listed after the engine (bruno__devices), as
   their row functions are instantiated there. */
#define BRUNO__DEVICE_MAX_AOS 512 /* bytes of one neuron's own record (bruno_device.aos_bytes) */

static void bruno__msg(char *msg, size_t cap, const char *fmt, ...)
{
    va_list ap;
    if (!msg || cap == 0) return;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
}

BRUNO_API int bruno_device_param_index(const bruno_device *dev, const char *name)
{
    size_t k;
    if (!dev || !name) return -1;
    for (k = 0; k < dev->n_params; ++k)
        if (strcmp(dev->params[k].name, name) == 0) return (int)k;
    return -1;
}

BRUNO_API void bruno_device_defaults(const bruno_device *dev, double *prm)
{
    size_t k;
    if (!dev || !prm) return;
    for (k = 0; k < dev->n_params; ++k) prm[k] = dev->params[k].def;
}

BRUNO_API bruno_result bruno_device_check_const(double x, const char *key, const char *what, char *msg, size_t cap)
{
    bruno_real r = (bruno_real)x;
    const char *prec = BRUNO_REAL_IS_DOUBLE ? "double" : "float";
    if (!bruno__finite(x) || !bruno__finite((double)r)) {
        bruno__msg(msg, cap, "%s: the derived constant %s = %g overflows %s", key, what, x, prec);
        return BRUNO_ERR_PARAM;
    }
    /* zero or subnormal in the build's precision: the step would lose it */
    if (x != 0 && BRUNO__FABS(r) < (BRUNO_REAL_IS_DOUBLE ? (bruno_real)DBL_MIN : (bruno_real)FLT_MIN)) {
        bruno__msg(msg, cap, "%s: the derived constant %s = %g underflows %s", key, what, x, prec);
        return BRUNO_ERR_PARAM;
    }
    return BRUNO_OK;
}

/* Every value finite and inside its row's range. */
static bruno_result bruno__device_ranges(const bruno_device *dev, const double *prm, char *msg, size_t cap)
{
    size_t k;
    for (k = 0; k < dev->n_params; ++k) {
        const bruno_device_param *d = &dev->params[k];
        if (!bruno__finite(prm[k])) {
            bruno__msg(msg, cap, "%s: value is not finite", d->name);
            return BRUNO_ERR_NONFINITE;
        }
        if (prm[k] < d->min || prm[k] > d->max) {
            bruno__msg(msg, cap, "%s = %g %s is outside its valid range [%g, %g]", d->name, prm[k], d->unit, d->min,
                       d->max);
            return BRUNO_ERR_PARAM;
        }
    }
    return BRUNO_OK;
}

BRUNO_API bruno_result bruno_device_validate(const bruno_device *dev, const double *prm, char *msg, size_t cap)
{
    bruno_real S[BRUNO_DEVICE_MAX_CONSTS];
    double aos[BRUNO__DEVICE_MAX_AOS / sizeof(double)];
    bruno_result r;
    if (!dev || !prm) return BRUNO_ERR_ARG;
    if (dev->n_params > BRUNO_DEVICE_MAX_PARAMS || dev->n_consts > BRUNO_DEVICE_MAX_CONSTS ||
        dev->aos_bytes > sizeof aos)
        return BRUNO_ERR_ARG;
    if ((r = bruno__device_ranges(dev, prm, msg, cap)) != BRUNO_OK) return r;
    if (dev->check && (r = dev->check(prm, msg, cap)) != BRUNO_OK) return r;
    return dev->derive(prm, 1.0, S, 1, 0, dev->aos_bytes ? aos : NULL, msg, cap);
}

/* One key=value line (already stripped of its comment) into prm; seen[]
   marks the keys given so far. */
static bruno_result bruno__device_line(const bruno_device *dev, char *line, int lineno, double *prm, char *seen,
                                       char *msg, size_t cap)
{
    char *eq = strchr(line, '='), *key = line, *val, *end, *e;
    double x;
    int k;
    if (!eq) {
        bruno__msg(msg, cap, "line %d: expected key=value, got '%s'", lineno, line);
        return BRUNO_ERR_FORMAT;
    }
    *eq = 0;
    val = eq + 1;
    for (e = eq; e > key && isspace((unsigned char)e[-1]);) *--e = 0;
    while (isspace((unsigned char)*val)) ++val;
    if ((k = bruno_device_param_index(dev, key)) < 0) {
        bruno__msg(msg, cap, "line %d: %s: unknown key for device %s", lineno, key, dev->name);
        return BRUNO_ERR_PARAM;
    }
    if (seen[k]) {
        bruno__msg(msg, cap, "line %d: %s: given twice", lineno, key);
        return BRUNO_ERR_FORMAT;
    }
    x = strtod(val, &end);
    while (isspace((unsigned char)*end)) ++end;
    if (end == val || *end) {
        bruno__msg(msg, cap, "line %d: %s: '%s' is not a number (SI units, e.g. 1.2e-8)", lineno, key, val);
        return BRUNO_ERR_FORMAT;
    }
    seen[k] = 1;
    prm[k] = x;
    return bruno__device_ranges(dev, prm, msg, cap) == BRUNO_OK ? BRUNO_OK
           : (bruno__msg(msg, cap, "line %d: %s = %g %s is outside its valid range [%g, %g]", lineno, key, x,
                         dev->params[k].unit, dev->params[k].min, dev->params[k].max),
              bruno__finite(x) ? BRUNO_ERR_PARAM : BRUNO_ERR_NONFINITE);
}

BRUNO_API bruno_result bruno_device_parse(const bruno_device *dev, const char *text, double *prm, char *msg,
                                          size_t cap)
{
    char line[512], seen[BRUNO_DEVICE_MAX_PARAMS];
    const char *s = text;
    int lineno = 0;
    if (!dev || !text || !prm || dev->n_params > BRUNO_DEVICE_MAX_PARAMS) return BRUNO_ERR_ARG;
    memset(seen, 0, sizeof seen);
    while (*s) {
        size_t len = strcspn(s, "\n"), a = 0, b;
        ++lineno;
        if (len >= sizeof line) {
            bruno__msg(msg, cap, "line %d: longer than %u characters", lineno, (unsigned)sizeof line - 1);
            return BRUNO_ERR_FORMAT;
        }
        memcpy(line, s, len);
        line[len] = 0;
        s += len + (s[len] == '\n');
        if (strchr(line, '#')) *strchr(line, '#') = 0;
        b = strlen(line);
        while (a < b && isspace((unsigned char)line[a])) ++a;
        while (b > a && isspace((unsigned char)line[b - 1])) line[--b] = 0;
        if (a == b) continue;
        {
            bruno_result r = bruno__device_line(dev, line + a, lineno, prm, seen, msg, cap);
            if (r != BRUNO_OK) return r;
        }
    }
    return bruno_device_validate(dev, prm, msg, cap);
}

BRUNO_API size_t bruno_device_pop_bytes(const bruno_device *dev, size_t n)
{
    return dev ? n * dev->aos_bytes + dev->n_consts * n * sizeof(bruno_real) : 0;
}

/* Whether every neuron's constants are neuron 0's (bit for bit). */
static int bruno__device_uniform(const bruno_device_pop *pop)
{
    size_t c, j, n = pop->n;
    for (c = 0; c < pop->dev->n_consts; ++c)
        for (j = 1; j < n; ++j)
            if (memcmp(&pop->soa[c * n + j], &pop->soa[c * n], sizeof(bruno_real)) != 0) return 0;
    return 1;
}

/* (1 + sigma n) with n ~ N(0,1); a draw that would make a positive
   quantity <= 0.05 of its value is redrawn. */
static double bruno__vary_factor(double sigma, bruno_rng *rng)
{
    double f;
    do f = 1.0 + sigma * bruno_rng_normal(rng); while (f <= 0.05);
    return f;
}

BRUNO_API bruno_result bruno_device_pop_redraw(bruno_device_pop *pop, double sigma, int vary_gain, bruno_rng *rng)
{
    const bruno_device *dev;
    size_t j, k;
    if (!pop || !pop->soa || !pop->dev) return BRUNO_ERR_ARG;
    if (!bruno__finite(sigma) || sigma < 0 || sigma >= 1) return BRUNO_ERR_PARAM;
    if (sigma > 0 && !rng) return BRUNO_ERR_ARG;
    dev = pop->dev;
    for (j = 0; j < pop->n; ++j) {
        double q[BRUNO_DEVICE_MAX_PARAMS], g = 1.0;
        bruno_result r;
        memcpy(q, pop->prm, dev->n_params * sizeof q[0]);
        if (sigma > 0) { /* MODELS §2: one draw per varied parameter, in table order, then the gain */
            for (k = 0; k < dev->n_params; ++k)
                if (dev->params[k].varies) q[k] *= bruno__vary_factor(sigma, rng);
            if (vary_gain) g = bruno__vary_factor(sigma, rng);
        }
        r = dev->derive(q, g, pop->soa, pop->n, j, dev->aos_bytes ? (char *)pop->aos + j * dev->aos_bytes : NULL,
                        NULL, 0);
        if (r != BRUNO_OK) return r;
    }
    pop->uniform = bruno__device_uniform(pop);
    return BRUNO_OK;
}

BRUNO_API bruno_result bruno_device_pop_init(bruno_device_pop *pop, const bruno_device *dev, const double *prm,
                                             size_t n, double sigma, int vary_gain, uint64_t seed,
                                             const bruno_allocator *allocator)
{
    bruno_result r;
    bruno_rng rng;
    if (!pop || !dev || !prm) return BRUNO_ERR_ARG;
    memset(pop, 0, sizeof *pop);
    if ((r = bruno_device_validate(dev, prm, NULL, 0)) != BRUNO_OK) return r;
    if (n == 0 || n > ((size_t)1 << 32)) return BRUNO_ERR_SIZE;
    if (!bruno__finite(sigma) || sigma < 0 || sigma >= 1) return BRUNO_ERR_PARAM;
    pop->dev = dev;
    memcpy(pop->prm, prm, dev->n_params * sizeof *prm);
    pop->n = n;
    pop->allocator = allocator ? *allocator : bruno_allocator_default();
    if (dev->aos_bytes && !(pop->aos = bruno_alloc(&pop->allocator, n, dev->aos_bytes))) return BRUNO_ERR_NOMEM;
    pop->soa = (bruno_real *)bruno_alloc(&pop->allocator, dev->n_consts * n, sizeof(bruno_real));
    if (!pop->soa) {
        bruno_device_pop_free(pop);
        return BRUNO_ERR_NOMEM;
    }
    bruno_rng_seed(&rng, seed);
    return bruno_device_pop_redraw(pop, sigma, vary_gain, &rng);
}

BRUNO_API void bruno_device_pop_free(bruno_device_pop *pop)
{
    if (!pop || !pop->dev) return;
    bruno_free(&pop->allocator, pop->aos, pop->n, pop->dev->aos_bytes);
    bruno_free(&pop->allocator, pop->soa, pop->dev->n_consts * pop->n, sizeof(bruno_real));
    pop->aos = NULL;
    pop->soa = NULL;
    pop->n = 0;
}

/* ---- device: felif (MODELS §2), its table, derivation and state ----------- */
/* Table order is also the variability's draw order (MODELS §2: A, E_a, P_s,
   I_0, t_fe, t_i), so the varied rows come first. The ranges guard a
   device file against typos (a thickness in nm, say); the relations
   between parameters are bruno_felif_params_validate's. */
static const bruno_device_param bruno__felif_table[] = {
    {"A", 25e-12, "m^2", 1e-18, 1e-6, 1},     {"E_a", 1.27e9, "V/m", 1e6, 1e11, 1},
    {"P_s", 0.22, "C/m^2", 1e-4, 2.0, 1},     {"I_0", 1e-4, "A/m^2", 0.0, 1e6, 1},
    {"t_fe", 10e-9, "m", 1e-10, 1e-5, 1},     {"t_i", 1.375e-9, "m", 0.0, 1e-6, 1},
    {"eps_fe", 25.2, "", 1.0, 1e4, 0},        {"eps_i", 33.0, "", 1.0, 1e4, 0},
    {"tau_0", 1e-13, "s", 1e-18, 1.0, 0},     {"V_t", 0.32, "V", 1e-3, 10.0, 0},
    {"C_par", 15e-15, "F", 0.0, 1e-9, 0},     {"alpha", 1.3, "", 0.01, 20.0, 0},
    {"E_soft", 5e-6, "V/m", 1e-30, 1e6, 0},   {"I_dsc", 10e-12, "A", 0.0, 1e-6, 0},
    {"V_thr", 2.5, "V", -100.0, 100.0, 0},    {"v_reset", -1.5, "V", -100.0, 100.0, 0},
    {"p_reset", -0.22, "C/m^2", -2.0, 2.0, 0}, {"v_init", 0.0, "V", -100.0, 100.0, 0},
    {"p_init", -0.22, "C/m^2", -2.0, 2.0, 0}, {"v_clip", 5.0, "V", 1e-3, 100.0, 0}};
#define BRUNO__FELIF_NP (sizeof bruno__felif_table / sizeof bruno__felif_table[0])

/* The typed parameters in table order (the one place that maps them). */
static void bruno__felif_fields(bruno_felif_params *p, double **f)
{
    f[0] = &p->A; f[1] = &p->E_a; f[2] = &p->P_s; f[3] = &p->I_0; f[4] = &p->t_fe; f[5] = &p->t_i;
    f[6] = &p->eps_fe; f[7] = &p->eps_i; f[8] = &p->tau_0; f[9] = &p->V_t; f[10] = &p->C_par;
    f[11] = &p->alpha; f[12] = &p->E_soft; f[13] = &p->I_dsc; f[14] = &p->V_thr; f[15] = &p->v_reset;
    f[16] = &p->p_reset; f[17] = &p->v_init; f[18] = &p->p_init; f[19] = &p->v_clip;
}

BRUNO_API void bruno_felif_params_to_vector(const bruno_felif_params *p, double *prm)
{
    bruno_felif_params q = *p;
    double *f[BRUNO__FELIF_NP];
    size_t k;
    bruno__felif_fields(&q, f);
    for (k = 0; k < BRUNO__FELIF_NP; ++k) prm[k] = *f[k];
}

BRUNO_API void bruno_felif_params_from_vector(const double *prm, bruno_felif_params *p)
{
    double *f[BRUNO__FELIF_NP];
    size_t k;
    bruno__felif_fields(p, f);
    for (k = 0; k < BRUNO__FELIF_NP; ++k) *f[k] = prm[k];
}

static bruno_result bruno__felif_check(const double *prm, char *msg, size_t cap)
{
    bruno_felif_params p;
    bruno_felif_params_from_vector(prm, &p);
    if (bruno_felif_params_validate(&p) == BRUNO_OK) return BRUNO_OK;
    if (fabs(p.V_thr) >= p.v_clip) bruno__msg(msg, cap, "V_thr: |V_thr| must be below v_clip");
    else if (fabs(p.v_reset) > p.v_clip || fabs(p.v_init) > p.v_clip)
        bruno__msg(msg, cap, "%s: |v| must not exceed v_clip", fabs(p.v_reset) > p.v_clip ? "v_reset" : "v_init");
    else if (fabs(p.p_reset) > p.P_s || fabs(p.p_init) > p.P_s)
        bruno__msg(msg, cap, "%s: |p| must not exceed P_s", fabs(p.p_reset) > p.P_s ? "p_reset" : "p_init");
    else if (p.v_clip / p.V_t > 80.0) bruno__msg(msg, cap, "V_t: e^(v_clip/V_t) overflows (v_clip/V_t > 80)");
    else bruno__msg(msg, cap, "alpha: (E_a/E_soft)^alpha overflows (alpha log2(E_a/E_soft) > 120)");
    return BRUNO_ERR_PARAM;
}

/* Each constant in the build's precision, named by the parameter it comes from. */
static bruno_result bruno__felif_check_consts(const bruno_felif_params *p, char *msg, size_t cap)
{
    double den = p->t_fe * p->eps_i + p->t_i * p->eps_fe;
    const double x[] = {p->A, p->P_s, p->E_a, p->E_soft, 1.0 / p->tau_0, p->I_0 * p->A, 1.0 / p->V_t, p->I_dsc,
                        1.0 / bruno_felif_c_tot(p), p->eps_i / den, p->t_i / (BRUNO_EPS0 * den)};
    static const char *const key[] = {"A", "P_s", "E_a", "E_soft", "tau_0", "I_0", "V_t", "I_dsc", "t_fe",
                                      "t_i", "t_i"};
    static const char *const what[] = {"A", "P_s", "E_a", "E_soft", "1/tau_0", "I_0*A", "1/V_t", "I_dsc",
                                       "1/C_tot", "k_v", "k_p"};
    size_t i;
    for (i = 0; i < sizeof x / sizeof x[0]; ++i) {
        bruno_result r = bruno_device_check_const(x[i], key[i], what[i], msg, cap);
        if (r != BRUNO_OK) return r;
    }
    return BRUNO_OK;
}

/* Rows of FeLIF's structure of arrays (bruno_device_pop.soa). */
enum {
    BRUNO__S_KV, BRUNO__S_KP, BRUNO__S_L2EA, BRUNO__S_ALPHA, BRUNO__S_ESOFT, BRUNO__S_PS, BRUNO__S_A,
    BRUNO__S_INVC, BRUNO__S_I0A, BRUNO__S_INVVT, BRUNO__S_IDSC, BRUNO__S_L2ITAU, BRUNO__S_VCLIP, BRUNO__S_GAIN,
    BRUNO__S_IVTL2,
    BRUNO__S_COUNT
};

static bruno_result bruno__felif_derive_dev(const double *prm, double gain, bruno_real *S, size_t n, size_t j,
                                            void *aos, char *msg, size_t cap)
{
    bruno_felif_params p;
    bruno_felif_consts c;
    bruno_result r;
    bruno_felif_params_from_vector(prm, &p);
    if ((r = bruno__felif_check_consts(&p, msg, cap)) != BRUNO_OK) return r;
    c = bruno_felif_derive(&p);
    c.gain = (bruno_real)gain;
    if (aos) memcpy(aos, &c, sizeof c);
    S[BRUNO__S_KV * n + j] = c.k_v;
    S[BRUNO__S_KP * n + j] = c.k_p;
    S[BRUNO__S_L2EA * n + j] = (bruno_real)(log((double)c.E_a) / log(2.0));
    S[BRUNO__S_ALPHA * n + j] = c.alpha;
    S[BRUNO__S_ESOFT * n + j] = c.E_soft;
    S[BRUNO__S_PS * n + j] = c.P_s;
    S[BRUNO__S_A * n + j] = c.A;
    S[BRUNO__S_INVC * n + j] = c.inv_C_tot;
    S[BRUNO__S_I0A * n + j] = c.I0A;
    S[BRUNO__S_INVVT * n + j] = c.inv_V_t;
    S[BRUNO__S_IDSC * n + j] = c.I_dsc;
    S[BRUNO__S_L2ITAU * n + j] = (bruno_real)(log((double)c.inv_tau_0) / log(2.0));
    S[BRUNO__S_IVTL2 * n + j] = (bruno_real)((double)c.inv_V_t / log(2.0));
    S[BRUNO__S_VCLIP * n + j] = c.v_clip;
    S[BRUNO__S_GAIN * n + j] = c.gain;
    return BRUNO_OK;
}

static bruno_device_state bruno__felif_state(const double *prm)
{
    bruno_felif_params p;
    bruno_device_state st;
    bruno_felif_params_from_vector(prm, &p);
    st.V_thr = p.V_thr;
    st.v_reset = p.v_reset;
    st.v_init = p.v_init;
    st.p_reset = p.p_reset / p.P_s;
    st.p_init = p.p_init / p.P_s;
    return st;
}

static const bruno_device *bruno__felif_dev(void); /* defined after the engine, with its row functions */

/* A FeLIF population is a typed view of a device population. */
static bruno_device_pop bruno__felif_as_device(const bruno_felif_pop *pop)
{
    bruno_device_pop d;
    memset(&d, 0, sizeof d);
    d.dev = bruno__felif_dev();
    bruno_felif_params_to_vector(&pop->params, d.prm);
    d.n = pop->n;
    d.soa = pop->soa;
    d.aos = pop->c;
    d.uniform = pop->uniform;
    d.allocator = pop->allocator;
    return d;
}

BRUNO_API size_t bruno_felif_pop_bytes(size_t n)
{
    return n * sizeof(bruno_felif_consts) + (size_t)BRUNO__S_COUNT * n * sizeof(bruno_real);
}

BRUNO_API bruno_result bruno_felif_pop_redraw(bruno_felif_pop *pop, double sigma, int vary_gain, bruno_rng *rng)
{
    bruno_device_pop d;
    bruno_result r;
    if (!pop || !pop->c) return BRUNO_ERR_ARG;
    d = bruno__felif_as_device(pop);
    r = bruno_device_pop_redraw(&d, sigma, vary_gain, rng);
    pop->uniform = d.uniform;
    return r;
}

BRUNO_API bruno_result bruno_felif_pop_init(bruno_felif_pop *pop, const bruno_felif_pop_config *cfg)
{
    bruno_device_pop d;
    double prm[BRUNO_DEVICE_MAX_PARAMS];
    bruno_result r;
    if (!pop || !cfg) return BRUNO_ERR_ARG;
    memset(pop, 0, sizeof *pop);
    if (!bruno__allocator_ok(&cfg->allocator)) return BRUNO_ERR_ARG;
    if ((r = bruno_felif_params_validate(&cfg->params)) != BRUNO_OK) return r;
    bruno_felif_params_to_vector(&cfg->params, prm);
    r = bruno_device_pop_init(&d, bruno__felif_dev(), prm, cfg->n, cfg->sigma, cfg->vary_gain, cfg->seed,
                              &cfg->allocator);
    if (r == BRUNO_ERR_NOMEM || !d.soa) return r;
    pop->params = cfg->params;
    pop->n = d.n;
    pop->c = (bruno_felif_consts *)d.aos;
    pop->soa = d.soa;
    pop->uniform = d.uniform;
    pop->allocator = d.allocator;
    if (r != BRUNO_OK) {
        bruno_felif_pop_free(pop); /* a failed init leaves the object zeroed */
        memset(pop, 0, sizeof *pop);
    }
    return r;
}

BRUNO_API void bruno_felif_pop_free(bruno_felif_pop *pop)
{
    bruno_device_pop d;
    if (!pop || !pop->soa) return;
    d = bruno__felif_as_device(pop);
    bruno_device_pop_free(&d);
    pop->c = NULL;
    pop->soa = NULL;
    pop->n = 0;
}

/* BRUNO_ERR_NONFINITE when x holds a NaN or an infinity. A block at a
   time with no exit inside the block, so the loop vectorises: x - x is 0
   for a finite x and NaN otherwise, and the flags are OR-ed as integers.
   Not inlined: inlined into a caller with one scalar, gcc 12 warns that
   the vector loop may read it uninitialised (-Wmaybe-uninitialized).
   E1's input (400 x 512 floats) took 0.12 ms with an exit at each value. */
static BRUNO__NOINLINE bruno_result bruno__check_finite_array(const bruno_real *x, size_t n)
{
    size_t i0, i;
    for (i0 = 0; i0 < n; i0 += 4096) {
        size_t i1 = n - i0 > 4096 ? i0 + 4096 : n;
        int bad = 0;
        for (i = i0; i < i1; ++i) bad |= !(x[i] - x[i] == 0);
        if (bad) return BRUNO_ERR_NONFINITE;
    }
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
/* bruno_quantize, also writing the signed integer levels q to levels
   (may be NULL; bits <= 8 then). */
static bruno_result bruno__quantize(const bruno_real *W, bruno_real *Wq, int8_t *levels, size_t n, int bits,
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
        if (levels) levels[i] = (int8_t)q;
    }
    if (scale_out) *scale_out = scale;
    return BRUNO_OK;
}

BRUNO_API bruno_result bruno_quantize(const bruno_real *W, bruno_real *Wq, size_t n, int bits,
                                      int stochastic, bruno_rng *rng, bruno_real *scale_out)
{
    return bruno__quantize(W, Wq, NULL, n, bits, stochastic, rng, scale_out);
}

/* ---- RRAM device (RRAM.md) ------------------------------------------------ */
/* Physical constants (CODATA 2018 exact values). */
#define BRUNO__RRAM_Q 1.602176634e-19   /* elementary charge [C] */
#define BRUNO__RRAM_KB 1.380649e-23     /* Boltzmann constant [J/K] */
#define BRUNO__RRAM_H 6.62607015e-34    /* Planck constant [J s] */
#define BRUNO__RRAM_PI 3.14159265358979323846
/* Bounds of every loop of the device solver. */
#define BRUNO__RRAM_SCAN 400        /* scan points on [0, V] for V > 0 (§3) */
#define BRUNO__RRAM_BISECT 200      /* bisection iterations (60 reach double precision) */
#define BRUNO__RRAM_HEAT_ITERS 300  /* self-heating fixed-point iterations */
#define BRUNO__RRAM_T_MAX 3000.0    /* [K]: beyond this the filament has run away */
#define BRUNO__RRAM_MAX_STEPS 100000 /* time steps of one SET pulse */

BRUNO_API bruno_rram_params bruno_rram_params_default(void)
{
    bruno_rram_params p;
    memset(&p, 0, sizeof p);
    p.T0 = 293.0;
    p.eps = 17.0;
    p.eps_phiB = 5.5;
    p.phi_Bn0 = 0.18;
    p.phi_n = 0.1;
    p.mu_n = 4e-6;
    p.N_min = 0.008;
    p.N_max = 20.0;
    p.N_plug = 20.0;
    p.a = 0.25e-9;
    p.nu0 = 2e13;
    p.dW_A = 1.35;
    p.R_th0 = 15.72e6;
    p.r_det = 45e-9;
    p.l_det = 0.4e-9;
    p.l_cell = 3e-9;
    p.Rth_scale_reset = 0.27;
    p.R_TiOx = 650.0;
    p.R0 = 719.2437;
    p.R_th_line = 90471.47;
    p.alpha_line = 3.92e-3;
    p.A_star = 6.01e5;
    p.m_star = 9.10938e-31;
    p.z = 2.0;
    p.V_read = 0.2;
    p.V_set = -1.2;
    p.t_set = 1e-6;
    p.self_heating = 1;
    return p;
}

BRUNO_API bruno_result bruno_rram_params_validate(const bruno_rram_params *p)
{
    const double *f;
    size_t i, n;
    if (!p) return BRUNO_ERR_ARG;
    /* every double field from T0 to t_set, in declaration order */
    f = &p->T0;
    n = (size_t)(&p->t_set - &p->T0) + 1;
    for (i = 0; i < n; ++i)
        if (!bruno__finite(f[i])) return BRUNO_ERR_NONFINITE;
    if (p->T0 <= 0 || p->eps <= 0 || p->eps_phiB <= 0 || p->phi_Bn0 < 0 || p->mu_n <= 0 || p->N_min <= 0 ||
        p->N_max <= p->N_min || p->N_plug <= 0 || p->a <= 0 || p->nu0 <= 0 || p->dW_A <= 0 || p->R_th0 < 0 ||
        p->r_det <= 0 || p->l_det <= 0 || p->l_cell <= p->l_det || p->Rth_scale_reset < 0 || p->R_TiOx < 0 ||
        p->R0 < 0 || p->R_th_line < 0 || p->A_star <= 0 || p->m_star <= 0 || p->z <= 0)
        return BRUNO_ERR_PARAM;
    /* a read at 0 V has no conductance; a SET pulse is negative (§1) */
    if (p->V_read == 0 || p->V_set >= 0 || p->t_set <= 0) return BRUNO_ERR_PARAM;
    if (p->self_heating != 0 && p->self_heating != 1) return BRUNO_ERR_PARAM;
    return BRUNO_OK;
}

BRUNO_API bruno_rram_geometry bruno_rram_geometry_make(const bruno_rram_params *p, double d_r, double d_l)
{
    bruno_rram_geometry g;
    if (!p) {
        g.r = g.l = 0.0; /* fails bruno_rram_geometry_validate */
        return g;
    }
    g.r = p->r_det * (1.0 + d_r);
    g.l = p->l_det * (1.0 + d_l);
    return g;
}

BRUNO_API bruno_result bruno_rram_geometry_validate(const bruno_rram_params *p, bruno_rram_geometry g)
{
    if (!p) return BRUNO_ERR_ARG;
    if (!bruno__finite(g.r) || !bruno__finite(g.l)) return BRUNO_ERR_NONFINITE;
    if (g.r <= 0 || g.l <= 0 || g.l >= p->l_cell) return BRUNO_ERR_PARAM;
    return BRUNO_OK;
}

/* One device at one state and one temperature: everything the static
   equations of §3 need. */
typedef struct bruno__rram_dev {
    const bruno_rram_params *p;
    double A;       /* filament cross-section pi r^2 [m^2] */
    double l;       /* disc length [m] */
    double N;       /* [m^-3] */
    double R_disc, R_plug;  /* [ohm] */
    double R_th;    /* filament thermal resistance for the sign of V [K/W] */
    double T, vt;   /* temperature [K] and kT/q [V] */
    double imf;     /* image-force coefficient: lowering = (imf*psi)^(1/4) [V] */
    double W00;     /* [J] (§3, V_S < 0) */
} bruno__rram_dev;

static bruno_result bruno__rram_dev_init(bruno__rram_dev *d, const bruno_rram_params *p, bruno_rram_geometry g,
                                         double N, double V)
{
    bruno_result r;
    double zqmu, e;
    if ((r = bruno_rram_params_validate(p)) != BRUNO_OK) return r;
    if ((r = bruno_rram_geometry_validate(p, g)) != BRUNO_OK) return r;
    if (!bruno__finite(N) || !bruno__finite(V)) return BRUNO_ERR_NONFINITE;
    /* a tiny tolerance so that N_min and N_max themselves, reached by
       arithmetic, stay valid */
    if (N < p->N_min * (1 - 1e-12) || N > p->N_max * (1 + 1e-12)) return BRUNO_ERR_PARAM;
    d->p = p;
    d->A = BRUNO__RRAM_PI * g.r * g.r;
    d->l = g.l;
    d->N = N * BRUNO_RRAM_N_UNIT;
    zqmu = p->z * BRUNO__RRAM_Q * p->mu_n;
    d->R_disc = g.l / (zqmu * d->N * d->A);
    d->R_plug = (p->l_cell - g.l) / (zqmu * p->N_plug * BRUNO_RRAM_N_UNIT * d->A);
    /* §3: R_th scales with the nominal-to-actual area ratio; the RESET
       polarity has its own factor */
    d->R_th = p->R_th0 * (p->r_det / g.r) * (p->r_det / g.r) * (V > 0 ? p->Rth_scale_reset : 1.0);
    e = p->eps_phiB * BRUNO_EPS0;
    d->imf = BRUNO__RRAM_Q * BRUNO__RRAM_Q * BRUNO__RRAM_Q * p->z * d->N /
             (8.0 * BRUNO__RRAM_PI * BRUNO__RRAM_PI * e * e * e);
    d->W00 = BRUNO__RRAM_Q * BRUNO__RRAM_H / (4.0 * BRUNO__RRAM_PI) *
             sqrt(p->z * d->N / (p->m_star * p->eps * BRUNO_EPS0));
    d->T = p->T0;
    d->vt = BRUNO__RRAM_KB * d->T / BRUNO__RRAM_Q;
    return BRUNO_OK;
}

static void bruno__rram_dev_set_T(bruno__rram_dev *d, double T)
{
    d->T = T;
    d->vt = BRUNO__RRAM_KB * T / BRUNO__RRAM_Q;
}

/* Series resistance with line heating (§3) [ohm]. */
static double bruno__rram_rseries(const bruno_rram_params *p, double I)
{
    return p->R_TiOx + p->R0 * (1.0 + p->R0 * p->alpha_line * I * I * p->R_th_line);
}

/* Schottky barrier with image-force lowering (§3) [eV]. */
static double bruno__rram_phi_bn(const bruno__rram_dev *d, double V_S)
{
    const bruno_rram_params *p = d->p;
    double lim = p->phi_Bn0 - p->phi_n, phi;
    if (V_S >= lim) return p->phi_Bn0;
    phi = p->phi_Bn0 - sqrt(sqrt(d->imf * (lim - V_S)));
    return phi > 0 ? phi : 0.0;
}

/* x - tanh(x) without cancellation for small x (used in eps' of §3). */
static double bruno__x_minus_tanh(double x)
{
    if (x < 1e-2) {
        double x2 = x * x;
        return x * x2 * (1.0 / 3.0 - x2 * (2.0 / 15.0 - x2 * 17.0 / 315.0));
    }
    return x - tanh(x);
}

/* Interface current I_S(V_S) at the device temperature (§3) [A]. */
static double bruno__rram_is(const bruno__rram_dev *d, double V_S)
{
    const bruno_rram_params *p = d->p;
    double phi = bruno__rram_phi_bn(d, V_S);
    if (V_S >= 0) /* thermionic emission */
        return d->A * p->A_star * d->T * d->T * exp(-phi / d->vt) * expm1(V_S / d->vt);
    {
        /* thermionic-field emission, SET polarity */
        double kT = BRUNO__RRAM_KB * d->T;
        double x = d->W00 / kT, ch = cosh(x);
        double W0 = d->W00 / tanh(x);
        double epsp = d->W00 / bruno__x_minus_tanh(x);
        double aV = -V_S;
        return -d->A * (p->A_star * d->T / BRUNO__RRAM_KB) *
               sqrt(BRUNO__RRAM_PI * d->W00 * BRUNO__RRAM_Q * (aV + phi / (ch * ch))) *
               exp(-BRUNO__RRAM_Q * phi / W0) * expm1(BRUNO__RRAM_Q * aV / epsp);
    }
}

/* Residual of the series chain at interface voltage V_S: V_S + I (R_disc +
   R_plug + R_series(I)) - V, with I = I_S(V_S). */
static double bruno__rram_resid(const bruno__rram_dev *d, double V_S, double V, double *I)
{
    double i = bruno__rram_is(d, V_S);
    *I = i;
    return V_S + i * (d->R_disc + d->R_plug + bruno__rram_rseries(d->p, i)) - V;
}

/* Bisection of the residual on [lo, hi] with f(lo) < 0 <= f(hi), to the
   resolution of double precision. */
static bruno_result bruno__rram_bisect(const bruno__rram_dev *d, double lo, double hi, double V, double *V_S,
                                       double *I)
{
    int it;
    double i;
    for (it = 0; it < BRUNO__RRAM_BISECT; ++it) {
        double mid = 0.5 * (lo + hi);
        if (mid <= lo || mid >= hi) break;
        if (bruno__rram_resid(d, mid, V, &i) < 0) lo = mid;
        else hi = mid;
    }
    if (it == BRUNO__RRAM_BISECT) return BRUNO_ERR_NO_CONVERGENCE;
    *V_S = 0.5 * (lo + hi);
    bruno__rram_resid(d, *V_S, V, I);
    return bruno__finite(*I) ? BRUNO_OK : BRUNO_ERR_NO_CONVERGENCE;
}

/* The interface voltage and current at the present temperature (§3). */
static bruno_result bruno__rram_solve_fixed_T(const bruno__rram_dev *d, double V, double *V_S, double *I)
{
    double i;
    if (V == 0) {
        *V_S = 0;
        *I = 0;
        return BRUNO_OK;
    }
    if (V < 0) {
        /* f(V) = I_S(V) R < 0 <= f(0) = -V, and f rises with V_S: one root */
        return bruno__rram_bisect(d, V, 0.0, V, V_S, I);
    }
    {
        /* V > 0: f is not monotonic (the barrier jumps back as psi -> 0), so
           the physical root is the first sign change scanning up from 0. */
        int k;
        double prev = 0.0;
        for (k = 1; k <= BRUNO__RRAM_SCAN; ++k) {
            double x = V * (double)k / BRUNO__RRAM_SCAN;
            double f = bruno__rram_resid(d, x, V, &i);
            if (!bruno__finite(f)) return BRUNO_ERR_NO_CONVERGENCE;
            if (f >= 0) return bruno__rram_bisect(d, prev, x, V, V_S, I);
            prev = x;
        }
        return BRUNO_ERR_NO_CONVERGENCE; /* f(V) = I R > 0, so unreachable */
    }
}

/* Full static solve with self-heating: T <- T0 + I (V - I R_series) R_th
   from T0 upwards. Joule power rises with T, so the iterates rise
   monotonically to the lowest fixed point (the cold-start branch). */
static bruno_result bruno__rram_solve(bruno__rram_dev *d, double V, double *I)
{
    const bruno_rram_params *p = d->p;
    double V_S, i = 0, T = p->T0;
    int it;
    bruno_result r;
    bruno__rram_dev_set_T(d, T);
    for (it = 0; it < BRUNO__RRAM_HEAT_ITERS; ++it) {
        double Tn;
        if ((r = bruno__rram_solve_fixed_T(d, V, &V_S, &i)) != BRUNO_OK) return r;
        if (!p->self_heating) break;
        Tn = p->T0 + i * (V - i * bruno__rram_rseries(p, i)) * d->R_th;
        if (!bruno__finite(Tn) || Tn > BRUNO__RRAM_T_MAX) return BRUNO_ERR_NO_CONVERGENCE;
        if (Tn < p->T0) Tn = p->T0;
        if (fabs(Tn - T) <= 1e-10 * T) break;
        T = Tn;
        bruno__rram_dev_set_T(d, T);
    }
    if (it == BRUNO__RRAM_HEAT_ITERS) return BRUNO_ERR_NO_CONVERGENCE;
    *I = i;
    return BRUNO_OK;
}

BRUNO_API bruno_result bruno_rram_current(const bruno_rram_params *p, bruno_rram_geometry g, double N,
                                          double V, double *I, double *T_out)
{
    bruno__rram_dev d;
    bruno_result r;
    double i;
    if (!p || !I) return BRUNO_ERR_ARG;
    if ((r = bruno__rram_dev_init(&d, p, g, N, V)) != BRUNO_OK) return r;
    if ((r = bruno__rram_solve(&d, V, &i)) != BRUNO_OK) return r;
    *I = i;
    if (T_out) *T_out = d.T;
    return BRUNO_OK;
}

BRUNO_API bruno_result bruno_rram_read_g(const bruno_rram_params *p, bruno_rram_geometry g, double N,
                                         double *G)
{
    double I;
    bruno_result r;
    if (!p || !G) return BRUNO_ERR_ARG;
    if ((r = bruno_rram_current(p, g, N, p->V_read, &I, NULL)) != BRUNO_OK) return r;
    *G = I / p->V_read;
    return BRUNO_OK;
}

BRUNO_API bruno_result bruno_rram_fit_current(bruno_rram_geometry g, double N, double V, double *I)
{
    /* Ntinas 2023 (§3): the reference point 45 nm / 0.4 nm and the 10 %
       steps are part of the fit, not of the parameter set. */
    double dr, dl, p5, p6, p7, p8, p10, p11, base;
    if (!I) return BRUNO_ERR_ARG;
    if (!bruno__finite(g.r) || !bruno__finite(g.l) || !bruno__finite(N) || !bruno__finite(V))
        return BRUNO_ERR_NONFINITE;
    if (V <= 0 || N <= 0 || g.r <= 0 || g.l <= 0) return BRUNO_ERR_PARAM;
    dr = (g.r - 45e-9) / 4.5e-9;
    dl = (g.l - 0.4e-9) / 0.04e-9;
    p5 = (1.3769e-3 + 2.3087e-4 * dr + 1.3293e-7 * dl) * (1.0 - exp(-0.081819 * V));
    p6 = 0.19687 + 0.026129 * dr - 0.021833 * V;
    p7 = (-97.606 - 0.74338 * dr + 0.11713 * dr * dr + 2.4377 * dl) + 7.825 * V +
         (99.296 + 0.69547 * dr - 0.13724 * dr * dr + (-2.3728 - 0.0090456 * dr - 0.0012221 * dr * dr) * dl) *
             exp(-0.071092 * V);
    p8 = 0.11713 - 0.003832 * dl + 0.08137 * V;
    p10 = 0.97733 + 5.9623e-5 * dl + 0.035214 * V + 0.012856 * V * V;
    p11 = 0.94207 - 6.7239e-4 * dl + 0.038953 * V + 0.023436 * V * V;
    base = p6 + p7 * pow(p8 * N / 0.004, -p10);
    if (!(base > 0) || !(p8 > 0)) return BRUNO_ERR_PARAM; /* outside the fit's range */
    *I = p5 / pow(base, 1.0 / p11);
    return bruno__finite(*I) ? BRUNO_OK : BRUNO_ERR_PARAM;
}

BRUNO_API bruno_result bruno_rram_fit_read_g(const bruno_rram_params *p, bruno_rram_geometry g, double N,
                                             double *G)
{
    double I;
    bruno_result r;
    if (!p || !G) return BRUNO_ERR_ARG;
    if ((r = bruno_rram_fit_current(g, N, p->V_read, &I)) != BRUNO_OK) return r;
    *G = I / p->V_read;
    return BRUNO_OK;
}

/* dN/dt of §4 [1e26 m^-3/s] at device voltage V with current I at the
   device's temperature. */
static double bruno__rram_rate(const bruno__rram_dev *d, double V, double I)
{
    const bruno_rram_params *p = d->p;
    double E, gam, s, dWf, dWr, F, c_vo, x;
    if (V == 0) return 0.0;
    c_vo = 0.5 * (p->N_plug * BRUNO_RRAM_N_UNIT + d->N);
    /* field on the ions: in the disc for SET, across the cell for RESET */
    E = V < 0 ? I * d->R_disc / d->l : (V - I * bruno__rram_rseries(p, I)) / p->l_cell;
    gam = p->z * p->a * E / (BRUNO__RRAM_PI * p->dW_A);
    /* |gamma| -> 1 is the field where the barrier vanishes; beyond it the
       expressions leave their domain, so the barrier stays at 0 */
    if (gam > 1) gam = 1;
    if (gam < -1) gam = -1;
    s = sqrt(1.0 - gam * gam) + gam * asin(gam);
    dWf = p->dW_A * (s - gam * BRUNO__RRAM_PI / 2);
    dWr = p->dW_A * (s + gam * BRUNO__RRAM_PI / 2);
    if (V < 0) {
        x = d->N / (p->N_max * BRUNO_RRAM_N_UNIT);
        x = x * x; x = x * x * x * x * x; /* ^10 */
    } else {
        x = p->N_min * BRUNO_RRAM_N_UNIT / d->N;
        x = x * x; x = x * x * x * x * x;
    }
    F = 1.0 - x;
    /* I_ion / (z q A l) with I_ion = z q c_VO a nu0 A (e^-f - e^-r) F */
    return -c_vo * p->a * p->nu0 * (exp(-dWf / d->vt) - exp(-dWr / d->vt)) * F / d->l / BRUNO_RRAM_N_UNIT;
}

BRUNO_API bruno_result bruno_rram_dndt(const bruno_rram_params *p, bruno_rram_geometry g, double N, double V,
                                       double *dNdt, double *I_out, double *T_out)
{
    bruno__rram_dev d;
    bruno_result r;
    double I;
    if (!p || !dNdt) return BRUNO_ERR_ARG;
    if ((r = bruno__rram_dev_init(&d, p, g, N, V)) != BRUNO_OK) return r;
    if ((r = bruno__rram_solve(&d, V, &I)) != BRUNO_OK) return r;
    *dNdt = bruno__rram_rate(&d, V, I);
    if (I_out) *I_out = I;
    if (T_out) *T_out = d.T;
    return BRUNO_OK;
}

/* In compliance the current is known, I = -i, so the filament temperature
   is an explicit function of V_S: T = T0 + i (|V_S| + i (R_disc + R_plug))
   R_th, and the device voltage is V_S - i R_tot. The device voltage where
   |I| = i is found on the inner variable V_S: the spec's "bisection on V"
   (§5) done where the equation is explicit. |I_S(V_S, T(V_S))| rises with
   |V_S| on the cold branch but falls again once T reaches thousands of K
   (eps' of the TFE term grows like T^3), so, as in §3, the physical root is
   the FIRST crossing scanning |V_S| up from 0; then bisection.
   Returns 1 (d left at the solution's temperature, *V_dev set) when the
   device can carry i at a voltage no larger in magnitude than |V_app|, 0
   when it cannot (its free current at V_app is below i, or no cold-branch
   state carries i), <0 (a bruno_result) on failure. */
#define BRUNO__RRAM_SCAN_SET 32
static double bruno__rram_excess(bruno__rram_dev *d, double V_S, double i, double R_in)
{
    const bruno_rram_params *p = d->p;
    bruno__rram_dev_set_T(d, p->self_heating ? p->T0 + i * (-V_S + i * R_in) * d->R_th : p->T0);
    return -bruno__rram_is(d, V_S) - i;
}

static int bruno__rram_carry(bruno__rram_dev *d, double V_app, double i, double *V_dev)
{
    const bruno_rram_params *p = d->p;
    double R_in = d->R_disc + d->R_plug, R_tot = R_in + bruno__rram_rseries(p, i);
    double lo = V_app + i * R_tot; /* at V_S = lo the device voltage is V_app */
    double prev = 0.0, x = 0.0;
    int k, it;
    if (lo >= 0) return 0; /* the ohmic drop alone exceeds |V_app| */
    for (k = 1; k <= BRUNO__RRAM_SCAN_SET; ++k) {
        double e;
        x = lo * (double)k / BRUNO__RRAM_SCAN_SET;
        e = bruno__rram_excess(d, x, i, R_in);
        if (!bruno__finite(e)) return (int)BRUNO_ERR_NO_CONVERGENCE;
        if (e >= 0) break;
        prev = x;
    }
    if (k > BRUNO__RRAM_SCAN_SET) return 0;
    /* excess(x) >= 0 > excess(prev), x < prev <= 0: the root is bracketed.
       Regula falsi with the Illinois modification keeps the bracket like
       bisection (so it converges to the same root) but needs ~8 instead of
       ~40 evaluations; this is the inner loop of every SET time step. */
    {
        double fa = bruno__rram_excess(d, x, i, R_in), fb = bruno__rram_excess(d, prev, i, R_in);
        double a = x, b = prev;
        int side = 0;
        for (it = 0; it < BRUNO__RRAM_BISECT; ++it) {
            double c, fc;
            if (b - a <= 1e-12 * (fabs(a) + fabs(b)) + 1e-300) break;
            c = (a * fb - b * fa) / (fb - fa);
            if (!(c > a && c < b)) c = 0.5 * (a + b); /* keep inside the bracket */
            fc = bruno__rram_excess(d, c, i, R_in);
            if (fc == 0) { a = b = c; break; }
            if (fc > 0) { /* same sign as fa */
                a = c; fa = fc;
                if (side == -1) fb *= 0.5;
                side = -1;
            } else {
                b = c; fb = fc;
                if (side == 1) fa *= 0.5;
                side = 1;
            }
            if (fabs(fc) <= 1e-10 * i) { a = b = c; break; }
        }
        if (it == BRUNO__RRAM_BISECT) return (int)BRUNO_ERR_NO_CONVERGENCE;
        lo = a;
    }
    (void)bruno__rram_excess(d, lo, i, R_in); /* leave d at the solution's temperature */
    *V_dev = lo - i * R_tot;
    return 1;
}

/* The operating point of one time step of a SET pulse at V_app < 0 under
   compliance I_cc (§5): *V (device voltage), *I (< 0), d left at the
   filament temperature. If the device can carry I_cc within |V_app| it is
   in compliance, I = -I_cc. Otherwise its current is the largest i < I_cc
   it can carry at |V| <= |V_app|, found by bisection on i (in log i):
   - on the cold branch, where the I-V curve is monotone, that is exactly
     the free current at V_app (the device voltage comes out as V_app);
   - in the thermal runaway of the abrupt SET (N ~ 0.1-0.6 at -1.2 V for
     I_cc above ~100 uA) the free static solve of §3 has no cold-branch
     solution and no state carries I_cc: the device then sits at the nose of
     its I-V curve, the largest current the static model allows. This phase
     lasts nanoseconds; N_final is set by the compliance-limited tail.
   *i_hint (0 for none) is the previous step's current: N changes by <= 1 %
   per step, so the bracket is searched next to it first. */
static bruno_result bruno__rram_set_point(bruno__rram_dev *d, double V_app, double I_cc, double *V, double *I,
                                          double *i_hint)
{
    double lo, hi, V_lo = 0, Vt = 0;
    int c, it;
    c = bruno__rram_carry(d, V_app, I_cc, V);
    if (c < 0) return (bruno_result)c;
    if (c == 1) {
        *I = -I_cc;
        *i_hint = I_cc;
        return BRUNO_OK;
    }
    /* a bracket [lo, hi] in log i with carry(lo) = 1, carry(hi) = 0 */
    hi = I_cc;
    lo = 1e-6 * I_cc;
    if (*i_hint > lo && *i_hint < I_cc) {
        double t = *i_hint * 0.9;
        c = bruno__rram_carry(d, V_app, t, &Vt);
        if (c < 0) return (bruno_result)c;
        if (c == 1) {
            lo = t;
            V_lo = Vt;
            t = *i_hint * 1.1;
            if (t < I_cc) {
                c = bruno__rram_carry(d, V_app, t, &Vt);
                if (c < 0) return (bruno_result)c;
                if (c == 1) { lo = t; V_lo = Vt; }
                else hi = t;
            }
        } else {
            hi = t;
        }
    }
    if (V_lo == 0) {
        c = bruno__rram_carry(d, V_app, lo, &V_lo);
        if (c != 1) return c < 0 ? (bruno_result)c : BRUNO_ERR_NO_CONVERGENCE;
    }
    for (it = 0; it < BRUNO__RRAM_BISECT && hi - lo > 1e-7 * hi; ++it) {
        double mid = sqrt(lo * hi), Vm = 0;
        c = bruno__rram_carry(d, V_app, mid, &Vm);
        if (c < 0) return (bruno_result)c;
        if (c == 1) { lo = mid; V_lo = Vm; }
        else hi = mid;
    }
    if (it == BRUNO__RRAM_BISECT) return BRUNO_ERR_NO_CONVERGENCE;
    /* leave d at the temperature of the operating point */
    if (bruno__rram_carry(d, V_app, lo, &V_lo) != 1) return BRUNO_ERR_NO_CONVERGENCE;
    *V = V_lo;
    *I = -lo;
    *i_hint = lo;
    return BRUNO_OK;
}

BRUNO_API bruno_result bruno_rram_set_pulse(const bruno_rram_params *p, bruno_rram_geometry g, double N0,
                                            double I_cc, double *N_final, double *G_read)
{
    bruno__rram_dev d;
    bruno_result r;
    double N = N0, t = 0.0, i_hint = 0.0;
    long step;
    if (!p) return BRUNO_ERR_ARG;
    if (!bruno__finite(I_cc)) return BRUNO_ERR_NONFINITE;
    if (I_cc <= 0) return BRUNO_ERR_PARAM;
    if ((r = bruno__rram_dev_init(&d, p, g, N, p->V_set)) != BRUNO_OK) return r;
    for (step = 0; step < BRUNO__RRAM_MAX_STEPS && t < p->t_set && N < p->N_max; ++step) {
        double V = 0, I = 0, rate, dt;
        if ((r = bruno__rram_dev_init(&d, p, g, N, p->V_set)) != BRUNO_OK) return r;
        if ((r = bruno__rram_set_point(&d, p->V_set, I_cc, &V, &I, &i_hint)) != BRUNO_OK) return r;
        rate = bruno__rram_rate(&d, V, I);
        if (!bruno__finite(rate)) return BRUNO_ERR_NO_CONVERGENCE;
        dt = p->t_set - t;
        if (rate > 0 && rate * dt > 0.01 * N) dt = 0.01 * N / rate; /* dN <= 1 % of N (§5) */
        N += rate * dt;
        t += dt;
        if (N > p->N_max) N = p->N_max;
        if (N < p->N_min) N = p->N_min;
    }
    if (step == BRUNO__RRAM_MAX_STEPS) return BRUNO_ERR_NO_CONVERGENCE;
    if (N_final) *N_final = N;
    if (G_read) return bruno_rram_read_g(p, g, N, G_read);
    return BRUNO_OK;
}

/* ---- 3-bit device array (RRAM.md §6) -------------------------------------- */
BRUNO_API bruno_rram_array_config bruno_rram_array_config_default(size_t n_weights)
{
    bruno_rram_array_config c;
    memset(&c, 0, sizeof c);
    c.dev = bruno_rram_params_default();
    c.n_weights = n_weights;
    c.bits = 3;
    c.mapping = BRUNO_RRAM_DIFFERENTIAL_PAIR; /* MODELS §5.2 */
    c.variability = BRUNO_RRAM_VAR_UNIFORM;   /* the caption's +-10 % bounds */
    c.var_sigma = 0.1;
    c.var_clip = 0.1;
    c.cycle_to_cycle = 0;
    c.prog_noise = 0.02;
    c.read_noise = 0.01;
    c.placement = BRUNO_RRAM_LEVELS_LINEAR;
    c.scheme = BRUNO_RRAM_FIXED_N;
    c.icc_top = 320e-6; /* gives the 583.6 uS top state of §6 */
    c.use_fit = 0;
    c.table_points = 0;
    c.seed = 0;
    c.allocator = bruno_allocator_default();
    return c;
}

/* Resolved sizes of a config; BRUNO_OK if it is valid. */
typedef struct bruno__rram_layout {
    size_t n_dev;
    int n_states, P;
} bruno__rram_layout;

static bruno_result bruno__rram_array_check(const bruno_rram_array_config *c, bruno__rram_layout *L)
{
    bruno_result r;
    if (!c) return BRUNO_ERR_ARG;
    if ((r = bruno_rram_params_validate(&c->dev)) != BRUNO_OK) return r;
    if (c->bits < 2 || c->bits > 5) return BRUNO_ERR_BITS;
    if (c->mapping != BRUNO_RRAM_REFERENCE_CELL && c->mapping != BRUNO_RRAM_DIFFERENTIAL_PAIR) return BRUNO_ERR_ARG;
    if (c->variability != BRUNO_RRAM_VAR_NONE && c->variability != BRUNO_RRAM_VAR_UNIFORM &&
        c->variability != BRUNO_RRAM_VAR_NORMAL)
        return BRUNO_ERR_ARG;
    if (c->placement != BRUNO_RRAM_LEVELS_LINEAR && c->placement != BRUNO_RRAM_LEVELS_LOG) return BRUNO_ERR_ARG;
    if (c->scheme != BRUNO_RRAM_FIXED_N && c->scheme != BRUNO_RRAM_COMPLIANCE) return BRUNO_ERR_ARG;
    if (!bruno__finite(c->var_sigma) || !bruno__finite(c->var_clip) || !bruno__finite(c->prog_noise) ||
        !bruno__finite(c->read_noise) || !bruno__finite(c->icc_top))
        return BRUNO_ERR_NONFINITE;
    /* geometry draws stay well inside a valid filament (l < l_cell) */
    if (c->var_sigma < 0 || c->var_sigma > 0.5 || c->var_clip <= 0 || c->var_clip > 0.5 || c->prog_noise < 0 ||
        c->prog_noise > 0.5 || c->read_noise < 0 || c->read_noise > 0.5 || c->icc_top <= 0 || c->table_points < 0 ||
        c->table_points > 65 || (c->cycle_to_cycle != 0 && c->cycle_to_cycle != 1) ||
        (c->use_fit != 0 && c->use_fit != 1))
        return BRUNO_ERR_PARAM;
    if (c->use_fit && c->scheme != BRUNO_RRAM_FIXED_N) return BRUNO_ERR_ARG;
    if (c->n_weights == 0 || c->n_weights > ((size_t)-1) / 1024) return BRUNO_ERR_SIZE;
    if (L) {
        L->n_dev = c->mapping == BRUNO_RRAM_DIFFERENTIAL_PAIR ? 2 * c->n_weights : c->n_weights;
        L->n_states = 1 << c->bits;
        if (c->variability == BRUNO_RRAM_VAR_NONE || c->var_sigma == 0) L->P = 1;
        else if (c->table_points > 0) L->P = c->table_points < 2 ? 2 : c->table_points;
        else L->P = c->scheme == BRUNO_RRAM_FIXED_N ? 9 : 5;
    }
    return BRUNO_OK;
}

BRUNO_API size_t bruno_rram_array_bytes(const bruno_rram_array_config *cfg)
{
    bruno__rram_layout L;
    if (bruno__rram_array_check(cfg, &L) != BRUNO_OK) return 0;
    return (size_t)L.n_states * (size_t)L.P * (size_t)L.P * sizeof(double) /* table */
           + L.n_dev * 2 * sizeof(float)                                  /* delta */
           + L.n_dev * (size_t)L.n_states * sizeof(float)                 /* g_state */
           + L.n_dev * sizeof(double)                                     /* g */
           + L.n_dev * sizeof(int8_t)                                     /* state */
           + cfg->n_weights * sizeof(int8_t);                             /* level */
}

/* G [S] of state k for geometry (d_r, d_l) computed by the model itself. */
static bruno_result bruno__rram_state_g_model(const bruno_rram_array *a, int k, double d_r, double d_l, double *G)
{
    const bruno_rram_params *p = &a->cfg.dev;
    bruno_rram_geometry g = bruno_rram_geometry_make(p, d_r, d_l);
    if (a->cfg.scheme == BRUNO_RRAM_FIXED_N)
        return a->cfg.use_fit ? bruno_rram_fit_read_g(p, g, a->program[k], G) : bruno_rram_read_g(p, g, a->program[k], G);
    if (a->program[k] == 0) return bruno_rram_read_g(p, g, p->N_min, G); /* HRS: no pulse */
    return bruno_rram_set_pulse(p, g, p->N_min, a->program[k], NULL, G);
}

/* Bilinear interpolation of the state-k table at (d_r, d_l). */
static double bruno__rram_table_g(const bruno_rram_array *a, int k, double d_r, double d_l)
{
    int P = a->table_points, i, j;
    const double *t = a->table + (size_t)k * (size_t)P * (size_t)P;
    double u, v, fu, fv;
    if (P == 1) return t[0];
    u = (d_r + a->bound) / (2 * a->bound) * (P - 1);
    v = (d_l + a->bound) / (2 * a->bound) * (P - 1);
    i = (int)floor(u);
    j = (int)floor(v);
    if (i < 0) i = 0;
    if (i > P - 2) i = P - 2;
    if (j < 0) j = 0;
    if (j > P - 2) j = P - 2;
    fu = u - i;
    fv = v - j;
    return (1 - fu) * ((1 - fv) * t[i * P + j] + fv * t[i * P + j + 1]) +
           fu * ((1 - fv) * t[(i + 1) * P + j] + fv * t[(i + 1) * P + j + 1]);
}

/* One geometry draw (RRAM.md §6). */
static double bruno__rram_draw_delta(const bruno_rram_array_config *c, bruno_rng *rng)
{
    double d;
    if (c->variability == BRUNO_RRAM_VAR_NONE || c->var_sigma == 0) return 0.0;
    if (c->variability == BRUNO_RRAM_VAR_UNIFORM) return c->var_sigma * (2.0 * bruno_rng_uniform(rng) - 1.0);
    d = c->var_sigma * bruno_rng_normal(rng);
    if (d > c->var_clip) d = c->var_clip;
    if (d < -c->var_clip) d = -c->var_clip;
    return d;
}

static void bruno__rram_device_draw(bruno_rram_array *a, size_t dev, bruno_rng *rng)
{
    int k;
    double d_r = bruno__rram_draw_delta(&a->cfg, rng);
    double d_l = bruno__rram_draw_delta(&a->cfg, rng);
    a->delta[2 * dev] = (float)d_r;
    a->delta[2 * dev + 1] = (float)d_l;
    for (k = 0; k < a->n_states; ++k)
        a->g_state[dev * (size_t)a->n_states + (size_t)k] =
            (float)bruno__rram_table_g(a, k, (double)a->delta[2 * dev], (double)a->delta[2 * dev + 1]);
}

/* The way to reach each target at the nominal geometry: N_k (bisection on
   log N of the read solve) or I_cc,k (bisection on log I_cc of the §5
   pulse); both monotone. Bounded; NO_CONVERGENCE if a target is outside
   what the device can reach. */
static bruno_result bruno__rram_find_programs(bruno_rram_array *a, double N_top)
{
    const bruno_rram_params *p = &a->cfg.dev;
    bruno_rram_geometry g0 = bruno_rram_geometry_make(p, 0, 0);
    int k, S = a->n_states, it;
    bruno_result r;
    for (k = 0; k < S; ++k) {
        double lo, hi, G, target = a->g_target[k];
        if (k == 0) {
            a->program[0] = a->cfg.scheme == BRUNO_RRAM_FIXED_N ? p->N_min : 0.0;
            continue;
        }
        if (k == S - 1) {
            a->program[k] = a->cfg.scheme == BRUNO_RRAM_FIXED_N ? N_top : a->cfg.icc_top;
            continue;
        }
        if (a->cfg.scheme == BRUNO_RRAM_FIXED_N) {
            lo = p->N_min;
            hi = p->N_max;
        } else {
            lo = 1e-3 * a->cfg.icc_top; /* below the SET threshold (~8 uA): HRS */
            hi = a->cfg.icc_top;
        }
        for (it = 0; it < 200 && hi / lo > 1.0 + 1e-9; ++it) {
            double mid = sqrt(lo * hi);
            if (a->cfg.scheme == BRUNO_RRAM_FIXED_N) {
                r = a->cfg.use_fit ? bruno_rram_fit_read_g(p, g0, mid, &G) : bruno_rram_read_g(p, g0, mid, &G);
            } else {
                r = bruno_rram_set_pulse(p, g0, p->N_min, mid, NULL, &G);
            }
            if (r != BRUNO_OK) return r;
            if (G < target) lo = mid;
            else hi = mid;
            /* a pulse costs ~10 ms: stop at 1e-5 of G rather than at 1e-9 of I_cc */
            if (a->cfg.scheme == BRUNO_RRAM_COMPLIANCE && fabs(G - target) <= 1e-5 * target) {
                lo = hi = mid;
                break;
            }
        }
        if (it == 200) return BRUNO_ERR_NO_CONVERGENCE;
        a->program[k] = sqrt(lo * hi);
    }
    return BRUNO_OK;
}

/* §6 targets: the state conductances from the nominal HRS to the nominal
   device SET at icc_top, and the programs that reach them. */
static bruno_result bruno__rram_targets(bruno_rram_array *a)
{
    const bruno_rram_array_config *cfg = &a->cfg;
    const bruno_rram_params *p = &a->cfg.dev;
    bruno_rram_geometry g0 = bruno_rram_geometry_make(p, 0, 0);
    double G_lo, G_hi, N_top;
    bruno_result r;
    int k, S = a->n_states;
    if (cfg->use_fit) {
        if ((r = bruno_rram_fit_read_g(p, g0, p->N_min, &G_lo)) != BRUNO_OK) return r;
    } else if ((r = bruno_rram_read_g(p, g0, p->N_min, &G_lo)) != BRUNO_OK) {
        return r;
    }
    if ((r = bruno_rram_set_pulse(p, g0, p->N_min, cfg->icc_top, &N_top, &G_hi)) != BRUNO_OK) return r;
    if (cfg->use_fit && (r = bruno_rram_fit_read_g(p, g0, N_top, &G_hi)) != BRUNO_OK) return r;
    if (!(G_hi > G_lo * (1.0 + 1e-3))) return BRUNO_ERR_PARAM; /* icc_top does not SET the device */
    for (k = 0; k < S; ++k) {
        double f = (double)k / (double)(S - 1);
        a->g_target[k] = cfg->placement == BRUNO_RRAM_LEVELS_LINEAR ? G_lo + f * (G_hi - G_lo)
                                                                     : G_lo * pow(G_hi / G_lo, f);
    }
    return bruno__rram_find_programs(a, N_top);
}

/* The state conductances over the (d_r, d_l) box, by the model, and the
   calibration: the nominal device as the table gives it, so that it
   reads exactly its integer level. */
static bruno_result bruno__rram_table_fill(bruno_rram_array *a)
{
    bruno_result r;
    int k, i, j, S = a->n_states, P = a->table_points;
    for (k = 0; k < S; ++k)
        for (i = 0; i < P; ++i)
            for (j = 0; j < P; ++j) {
                double d_r = P == 1 ? 0.0 : -a->bound + 2.0 * a->bound * i / (P - 1);
                double d_l = P == 1 ? 0.0 : -a->bound + 2.0 * a->bound * j / (P - 1);
                double *t = &a->table[((size_t)k * (size_t)P + (size_t)i) * (size_t)P + (size_t)j];
                if ((r = bruno__rram_state_g_model(a, k, d_r, d_l, t)) != BRUNO_OK) return r;
            }
    for (k = 0; k < S; ++k) {
        /* rounded as g_state stores it, so that a nominal device without
           noise reads exactly x = k (and a layer exactly its levels) */
        a->g_nominal[k] = (double)(float)bruno__rram_table_g(a, k, 0.0, 0.0);
        if (k > 0 && !(a->g_nominal[k] > a->g_nominal[k - 1])) return BRUNO_ERR_NO_CONVERGENCE; /* not ordered */
    }
    return BRUNO_OK;
}

BRUNO_API bruno_result bruno_rram_array_init(bruno_rram_array *a, const bruno_rram_array_config *cfg)
{
    bruno__rram_layout L;
    bruno_result r;
    bruno_rng rng;
    int S, P;
    size_t dev;
    if (!a || !cfg) return BRUNO_ERR_ARG;
    memset(a, 0, sizeof *a);
    if (!bruno__allocator_ok(&cfg->allocator)) return BRUNO_ERR_ARG;
    if ((r = bruno__rram_array_check(cfg, &L)) != BRUNO_OK) return r;
    a->cfg = *cfg;
    S = a->n_states = L.n_states;
    P = a->table_points = L.P;
    a->n_devices = L.n_dev;
    a->m = (1 << (cfg->bits - 1)) - 1;
    a->ref_state = a->m;
    a->stride = (S - 1) / a->m;
    a->bound = cfg->variability == BRUNO_RRAM_VAR_UNIFORM ? cfg->var_sigma : cfg->var_clip;
    if ((r = bruno__rram_targets(a)) != BRUNO_OK) return r;

    a->table = (double *)bruno_alloc(&a->cfg.allocator, (size_t)S * (size_t)P * (size_t)P, sizeof(double));
    a->delta = (float *)bruno_alloc(&a->cfg.allocator, L.n_dev * 2, sizeof(float));
    a->g_state = (float *)bruno_alloc(&a->cfg.allocator, L.n_dev * (size_t)S, sizeof(float));
    a->g = (double *)bruno_alloc(&a->cfg.allocator, L.n_dev, sizeof(double));
    a->state = (int8_t *)bruno_alloc(&a->cfg.allocator, L.n_dev, sizeof(int8_t));
    a->level = (int8_t *)bruno_alloc(&a->cfg.allocator, cfg->n_weights, sizeof(int8_t));
    if (!a->table || !a->delta || !a->g_state || !a->g || !a->state || !a->level) {
        bruno_rram_array_free(a);
        return BRUNO_ERR_NOMEM;
    }
    if ((r = bruno__rram_table_fill(a)) != BRUNO_OK) {
        bruno_rram_array_free(a);
        return r;
    }
    bruno_rng_seed(&rng, cfg->seed);
    for (dev = 0; dev < L.n_dev; ++dev) {
        bruno__rram_device_draw(a, dev, &rng);
        a->state[dev] = -1;
    }
    return BRUNO_OK;
}

BRUNO_API void bruno_rram_array_free(bruno_rram_array *a)
{
    size_t nd, S, P;
    if (!a) return;
    nd = a->n_devices;
    S = (size_t)a->n_states;
    P = (size_t)a->table_points;
    bruno_free(&a->cfg.allocator, a->table, S * P * P, sizeof(double));
    bruno_free(&a->cfg.allocator, a->delta, nd * 2, sizeof(float));
    bruno_free(&a->cfg.allocator, a->g_state, nd * S, sizeof(float));
    bruno_free(&a->cfg.allocator, a->g, nd, sizeof(double));
    bruno_free(&a->cfg.allocator, a->state, nd, sizeof(int8_t));
    bruno_free(&a->cfg.allocator, a->level, a->cfg.n_weights, sizeof(int8_t));
    a->table = NULL;
    a->delta = NULL;
    a->g_state = NULL;
    a->g = NULL;
    a->state = NULL;
    a->level = NULL;
    a->n_devices = 0;
    a->programmed = 0;
}

/* Program one device to state k: programming noise (and a cycle-to-cycle
   geometry redraw) at every event (§6). */
static void bruno__rram_write(bruno_rram_array *a, size_t dev, int k, bruno_rng *rng)
{
    double g;
    if (a->cfg.cycle_to_cycle) bruno__rram_device_draw(a, dev, rng);
    g = (double)a->g_state[dev * (size_t)a->n_states + (size_t)k];
    if (a->cfg.prog_noise > 0) {
        double f = 1.0 + a->cfg.prog_noise * bruno_rng_normal(rng);
        if (f < 1e-3) f = 1e-3; /* a conductance stays positive */
        g *= f;
    }
    a->g[dev] = g;
    a->state[dev] = (int8_t)k;
}

BRUNO_API bruno_result bruno_rram_array_program(bruno_rram_array *a, const int8_t *levels, bruno_rng *rng,
                                                size_t *n_reprogrammed)
{
    size_t i, count = 0;
    int m;
    if (n_reprogrammed) *n_reprogrammed = 0;
    if (!a || !a->g || !levels) return BRUNO_ERR_ARG;
    if (!rng && (a->cfg.prog_noise > 0 || a->cfg.cycle_to_cycle)) return BRUNO_ERR_ARG;
    m = a->m;
    for (i = 0; i < a->cfg.n_weights; ++i)
        if (levels[i] < -m || levels[i] > m) return BRUNO_ERR_PARAM;
    for (i = 0; i < a->cfg.n_weights; ++i) {
        int L = levels[i], t0, t1;
        if (a->programmed && a->level[i] == levels[i]) continue;
        if (a->cfg.mapping == BRUNO_RRAM_REFERENCE_CELL) {
            t0 = L + a->ref_state;
            if (a->state[i] != t0) { bruno__rram_write(a, i, t0, rng); ++count; }
        } else {
            t0 = L > 0 ? L * a->stride : 0;   /* G+ */
            t1 = L < 0 ? -L * a->stride : 0;  /* G- */
            if (a->state[2 * i] != t0) { bruno__rram_write(a, 2 * i, t0, rng); ++count; }
            if (a->state[2 * i + 1] != t1) { bruno__rram_write(a, 2 * i + 1, t1, rng); ++count; }
        }
        a->level[i] = levels[i];
    }
    a->programmed = 1;
    if (n_reprogrammed) *n_reprogrammed = count;
    return BRUNO_OK;
}

/* The calibrated readout x(G): piecewise linear through (g_nominal[k], k),
   extended linearly past both ends. */
static double bruno__rram_readout(const bruno_rram_array *a, double G)
{
    const double *gn = a->g_nominal;
    int S = a->n_states, k = 1;
    while (k < S - 1 && G > gn[k]) ++k;
    return (double)(k - 1) + (G - gn[k - 1]) / (gn[k] - gn[k - 1]);
}

BRUNO_API bruno_result bruno_rram_array_weights(const bruno_rram_array *a, bruno_real *w_levels, bruno_rng *rng)
{
    size_t i;
    double sr;
    if (!a || !a->g || !w_levels) return BRUNO_ERR_ARG;
    if (!a->programmed) return BRUNO_ERR_STATE;
    sr = a->cfg.read_noise * a->g_nominal[a->n_states - 1];
    if (sr > 0 && !rng) return BRUNO_ERR_ARG;
    for (i = 0; i < a->cfg.n_weights; ++i) {
        double w;
        if (a->cfg.mapping == BRUNO_RRAM_REFERENCE_CELL) {
            double G = a->g[i];
            if (sr > 0) G += sr * bruno_rng_normal(rng);
            w = bruno__rram_readout(a, G) - (double)a->ref_state;
        } else {
            double Gp = a->g[2 * i], Gm = a->g[2 * i + 1];
            if (sr > 0) {
                Gp += sr * bruno_rng_normal(rng);
                Gm += sr * bruno_rng_normal(rng);
            }
            w = (bruno__rram_readout(a, Gp) - bruno__rram_readout(a, Gm)) / (double)a->stride;
        }
        w_levels[i] = (bruno_real)w;
    }
    return BRUNO_OK;
}

BRUNO_API double bruno_rram_array_state_g(const bruno_rram_array *a, size_t dev, int k)
{
    if (!a || !a->g_state || dev >= a->n_devices || k < 0 || k >= a->n_states) return 0.0;
    return (double)a->g_state[dev * (size_t)a->n_states + (size_t)k];
}

BRUNO_API bruno_rram_geometry bruno_rram_array_device_geometry(const bruno_rram_array *a, size_t dev)
{
    bruno_rram_geometry g;
    g.r = g.l = 0.0;
    if (!a || !a->delta || dev >= a->n_devices) return g;
    return bruno_rram_geometry_make(&a->cfg.dev, (double)a->delta[2 * dev], (double)a->delta[2 * dev + 1]);
}
/* ==== end of RRAM implementation ==== */

/* ---- fast math of the device lanes ----------------------------------------- */
/* gcc if-converts (and so vectorises) the branch-free kernels below only
   with -fno-trapping-math (clang's default); nothing here relies on FP
   exceptions and no result changes with it. See the manual at the top. */

/* fma where the target has FMA (one exactly rounded instruction, so a
   vector lane and a scalar epilogue give the same bits); a*b + c otherwise. */
#if defined(__FMA__)
#if BRUNO_REAL_IS_DOUBLE
#define BRUNO__FMAF(a, b, c) fma(a, b, c)
#else
#define BRUNO__FMAF(a, b, c) fmaf(a, b, c)
#endif
#else
#define BRUNO__FMAF(a, b, c) ((a) * (b) + (c))
#endif

/* Fast math for the portable fine loop (the AVX-512 kernel below has its
   own, of the same accuracy). In float: polynomial exp2/log2, branch free
   so the neuron loop vectorises (relative error about 2e-7, i.e. a few
   ulp; tests/test_kernel.c measures it against libm). In double: libm. */
#if BRUNO_REAL_IS_DOUBLE
static bruno_real bruno__fexp2(bruno_real x) { return exp2(x); }
static bruno_real bruno__flog2(bruno_real x) { return log2(x); }
#else

/* 2^y: y = n + f with n = round(y) by the 1.5*2^23 shifter (no compare or
   conversion, which would cost the vectorised loop several blends),
   |f| <= 1/2, then a degree-5 polynomial (Chebyshev fit, max relative
   error 1.0e-7) in Estrin form. No clamp: each caller's argument is
   bounded (see bruno__felif_lane), which saves the loop six blends. */
static BRUNO__INLINE float bruno__fexp2(float y) /* y in [-126, 128): the caller makes sure */
{
    float t, f, f2, p01, p23, p45, p, s;
    uint32_t tb, bits;
    t = y + 12582912.0f;
    f = y - (t - 12582912.0f);
    f2 = f * f;
    p01 = BRUNO__FMAF(0.693147188f, f, 1.000000075f);
    p23 = BRUNO__FMAF(0.05550357114f, f, 0.2402210749f);
    p45 = BRUNO__FMAF(0.001339086336f, f, 0.009676031918f);
    p = BRUNO__FMAF(BRUNO__FMAF(p45, f2, p23), f2, p01);
    memcpy(&tb, &t, sizeof tb);
    bits = (tb - 0x4B400000u + 127u) << 23; /* (n + 127) << 23: 2^n */
    memcpy(&s, &bits, sizeof s);
    return p * s;
}

/* log2 x for normal x > 0: x = 2^e (1 + m) with 1 + m in [sqrt(1/2),
   sqrt(2)), log2(1 + m) = m g(m), g of degree 7 (Chebyshev fit, max
   relative error 1.9e-7), Estrin form. */
static BRUNO__INLINE float bruno__flog2(float x)
{
    uint32_t bits, mb;
    int32_t e;
    float m, m2, m4, lo, fe, g01, g23, g45, g67, g;
    memcpy(&bits, &x, sizeof bits);
    e = (int32_t)((bits >> 23) & 0xff) - 126;
    mb = (bits & 0x807fffffu) | 0x3f000000u; /* mantissa in [0.5, 1) */
    memcpy(&m, &mb, sizeof m);
    /* m < sqrt(1/2): use 2m - 1 and e - 1 (as a 0/1 factor, branch free) */
    lo = (float)(m < 0.707106781186547524f);
    fe = (float)e - lo;
    m = m + lo * m - 1.0f;
    m2 = m * m;
    m4 = m2 * m2;
    g01 = BRUNO__FMAF(-0.7213529314f, m, 1.442694995f);
    g23 = BRUNO__FMAF(-0.3602251825f, m, 0.480916708f);
    g45 = BRUNO__FMAF(-0.2492718221f, m, 0.2872888824f);
    g67 = BRUNO__FMAF(-0.1427597343f, m, 0.2326525788f);
    g = BRUNO__FMAF(BRUNO__FMAF(g67, m2, g45), m4, BRUNO__FMAF(g23, m2, g01));
    return BRUNO__FMAF(m, g, fe);
}
#endif

/* Steps a row of the device's window ran: it stops after the step that
   leaves none of its lanes running (i + 1 >= taken for every lane, taken
   as the window left it), and runs at least one. */
static uint32_t bruno__row_steps(const uint32_t *taken, size_t ja, size_t jb, uint32_t i0, uint32_t i1)
{
    uint32_t m = i0 + 1;
    size_t j;
    for (j = ja; j < jb; ++j)
        if (taken[j] > m) m = taken[j];
    return (m < i1 ? m : i1) - i0;
}

/* ---- the portable row functions of a device --------------------------------
   BRUNO_DEVICE_PORTABLE_ROWS(pre, LANE, ADJ, C_VCLIP, C_PCLIP) defines a
   device's four engine slots from its lane functions (bruno_device, item
   5): pre##_fwd_row, one fine step of a row with the clip and the freeze,
   pre##_adj_row, its reverse, and their windows pre##_fwd_window (the
   steps of a window in one call, each step's input state stored from the
   values the lane loaded) and pre##_adj_window (the reverse sweep over
   stored states in one call). Each row loop is its own function with
   restrict pointers, written twice by a literal uniform = 1 / 0: uniform
   reads every constant at index 0, so the loads leave the loop and the
   constants stay in registers; the lane is inlined and the loop
   vectorises. LANE(S, n, j, v, p, I, tau, &vn, &pn) is one Euler step
   before the clip; ADJ(S, n, j, v, p, I, tau, grad, act, &gv, &gp, &gI)
   reverses one clipped step (grad 0 or 1 as a bruno_real, act 0 for a
   frozen lane). */
#define BRUNO_DEVICE_PORTABLE_ROWS(pre, LANE, ADJ, C_VCLIP, C_PCLIP)                                                  \
    static BRUNO__INLINE uint32_t pre##_fwd_impl(bruno_real *BRUNO__RESTRICT vr, bruno_real *BRUNO__RESTRICT pr,       \
                                                 uint32_t *BRUNO__RESTRICT tr, const bruno_real *BRUNO__RESTRICT Ir,   \
                                                 const bruno_real *S, size_t n, size_t ja, size_t jb, uint32_t i,      \
                                                 bruno_real tau, bruno_real thr, int uniform,                          \
                                                 bruno_real *BRUNO__RESTRICT sv, bruno_real *BRUNO__RESTRICT sp)       \
    {                                                                                                                  \
        uint32_t running = 0;                                                                                          \
        size_t j;                                                                                                      \
        for (j = ja; j < jb; ++j) {                                                                                    \
            size_t jc = uniform ? 0 : j;                                                                               \
            bruno_real vq = vr[j], pq = pr[j], pc = S[(C_PCLIP) * n + jc], vc = S[(C_VCLIP) * n + jc], pn, vn;         \
            uint32_t tk = tr[j], fresh;                                                                                \
            if (sv) { /* the step's input state, as loaded */                                                         \
                sv[j] = vq;                                                                                            \
                sp[j] = pq;                                                                                            \
            }                                                                                                          \
            LANE(S, n, jc, vq, pq, Ir[j], tau, &vn, &pn);                                                              \
            pn = pn > pc ? pc : (pn < -pc ? -pc : pn);                                                                 \
            vn = vn > vc ? vc : (vn < -vc ? -vc : vn);                                                                 \
            vr[j] = i < tk ? vn : vq;                                                                                  \
            pr[j] = i < tk ? pn : pq;                                                                                  \
            fresh = (uint32_t)(tk == BRUNO_RUNNING) & (uint32_t)(vn >= thr); /* spikes in this step */                 \
            tr[j] = fresh ? i + 1 : tk;                                                                                \
            /* i + 1 < the new taken, as a sum of 0/1 (gcc 12 did not take a  \
               count under a select for a reduction) */                       \
            running += (fresh ^ 1u) & (uint32_t)(i + 1 < tk);                                                          \
        }                                                                                                              \
        return running;                                                                                                \
    }                                                                                                                  \
    static BRUNO__UNUSED BRUNO__NOINLINE size_t pre##_fwd_row(const bruno_device_row *r, uint32_t i, bruno_real tau)   \
    {                                                                                                                  \
        if (r->uniform)                                                                                                \
            return pre##_fwd_impl(r->v, r->p, r->taken, r->I, r->S, r->n, r->ja, r->jb, i, tau, r->thr, 1, NULL, NULL); \
        return pre##_fwd_impl(r->v, r->p, r->taken, r->I, r->S, r->n, r->ja, r->jb, i, tau, r->thr, 0, NULL, NULL);    \
    }                                                                                                                  \
    /* one step of the window's loop with the store: a function of its own,  \
       like pre##_fwd_row (inlined into the loop over steps, gcc 12 left     \
       Heracles' row loop scalar) */                                          \
    static BRUNO__NOINLINE size_t pre##_fwd_row_store(const bruno_device_row *r, uint32_t i, bruno_real tau,          \
                                                      bruno_real *sv, bruno_real *sp)                                  \
    {                                                                                                                  \
        if (r->uniform)                                                                                                \
            return pre##_fwd_impl(r->v, r->p, r->taken, r->I, r->S, r->n, r->ja, r->jb, i, tau, r->thr, 1, sv, sp);    \
        return pre##_fwd_impl(r->v, r->p, r->taken, r->I, r->S, r->n, r->ja, r->jb, i, tau, r->thr, 0, sv, sp);        \
    }                                                                                                                  \
    static BRUNO__UNUSED uint32_t pre##_fwd_window(const bruno_device_row *r, uint32_t i0, uint32_t i1,               \
                                                   bruno_real tau, bruno_real *sv, bruno_real *sp, size_t stride,      \
                                                   int stream)                                                         \
    {                                                                                                                  \
        uint32_t i, run;                                                                                               \
        (void)stream; /* plain stores: the compiler's loop */                                                          \
        for (i = i0; i < i1; ++i) {                                                                                    \
            size_t o = (size_t)(i - i0) * stride;                                                                      \
            run = sv ? pre##_fwd_row_store(r, i, tau, sv + o, sp + o) != 0 : pre##_fwd_row(r, i, tau) != 0;           \
            if (!run) return i - i0 + 1;                                                                               \
        }                                                                                                              \
        return i1 - i0;                                                                                                \
    }                                                                                                                  \
    static BRUNO__INLINE void pre##_adj_impl(const bruno_real *BRUNO__RESTRICT vr, const bruno_real *BRUNO__RESTRICT pr, \
                                             const bruno_real *BRUNO__RESTRICT Ir, const uint32_t *BRUNO__RESTRICT tr, \
                                             bruno_real *BRUNO__RESTRICT gvr, bruno_real *BRUNO__RESTRICT gpr,         \
                                             bruno_real *BRUNO__RESTRICT gIr, const bruno_real *BRUNO__RESTRICT S,     \
                                             size_t n, size_t ja, size_t jb, uint32_t i, bruno_real tau,               \
                                             bruno_real rg, int uniform)                                               \
    {                                                                                                                  \
        size_t j;                                                                                                      \
        if (tr) {                                                                                                      \
            for (j = ja; j < jb; ++j)                                                                                  \
                ADJ(S, n, uniform ? 0 : j, vr[j], pr[j], Ir[j], tau, rg, (bruno_real)(i < tr[j]), &gvr[j], &gpr[j],    \
                    &gIr[j]);                                                                                          \
        } else {                                                                                                       \
            for (j = ja; j < jb; ++j)                                                                                  \
                ADJ(S, n, uniform ? 0 : j, vr[j], pr[j], Ir[j], tau, rg, (bruno_real)1, &gvr[j], &gpr[j], &gIr[j]);    \
        }                                                                                                              \
    }                                                                                                                  \
    /* the row loop behind a call of its own whose pointers are restrict      \
       parameters: inlined into the window's loop the restrict was lost, and  \
       gcc 12 gave up on the run-time alias checks of every row of S */       \
    static BRUNO__UNUSED BRUNO__NOINLINE void pre##_adj_call(                                                          \
        const bruno_real *BRUNO__RESTRICT vr, const bruno_real *BRUNO__RESTRICT pr, const bruno_real *BRUNO__RESTRICT Ir, \
        const uint32_t *BRUNO__RESTRICT tr, bruno_real *BRUNO__RESTRICT gvr, bruno_real *BRUNO__RESTRICT gpr,          \
        bruno_real *BRUNO__RESTRICT gIr, const bruno_real *BRUNO__RESTRICT S, size_t n, size_t ja, size_t jb,          \
        uint32_t i, bruno_real tau, bruno_real rg, int uniform)                                                        \
    {                                                                                                                  \
        if (uniform) pre##_adj_impl(vr, pr, Ir, tr, gvr, gpr, gIr, S, n, ja, jb, i, tau, rg, 1);                       \
        else pre##_adj_impl(vr, pr, Ir, tr, gvr, gpr, gIr, S, n, ja, jb, i, tau, rg, 0);                               \
    }                                                                                                                  \
    static BRUNO__UNUSED void pre##_adj_row(const bruno_device_row *r, uint32_t i, bruno_real tau)                     \
    {                                                                                                                  \
        bruno_real rg = r->grad ? (bruno_real)1 : (bruno_real)0;                                                       \
        pre##_adj_call(r->v, r->p, r->I, r->taken, r->gv, r->gp, r->gI, r->S, r->n, r->ja, r->jb, i, tau, rg,          \
                       r->uniform);                                                                                    \
    }                                                                                                                  \
    static BRUNO__UNUSED void pre##_adj_window(const bruno_device_row *r, uint32_t i0, uint32_t i1, bruno_real tau,    \
                                               size_t stride)                                                          \
    {                                                                                                                  \
        bruno_real rg = r->grad ? (bruno_real)1 : (bruno_real)0;                                                       \
        uint32_t i = i1;                                                                                               \
        while (i-- > i0) {                                                                                             \
            const bruno_real *v = r->v + (size_t)(i - i0) * stride, *p = r->p + (size_t)(i - i0) * stride;             \
            pre##_adj_call(v, p, r->I, r->taken, r->gv, r->gp, r->gI, r->S, r->n, r->ja, r->jb, i, tau, rg,            \
                           r->uniform);                                                                                \
        }                                                                                                              \
    }

/* ---- device: felif (MODELS §2), its lane and the AVX-512 kernel ------------ */
/* One lane of the fast Euler step (MODELS §2) before the clip, with the
   pieces its adjoint needs: the portable kernel (double, or a target
   without AVX-512; the AVX-512 kernel below mirrors it in bruno__v_lane).
   Forward and adjoint share it, so the adjoint's clip decisions are
   exactly the forward's. In the log2 domain:
   X = 2^(alpha (log2 E_a - log2 |E|')), r = 2^(log2(1/tau_0) - X log2 e),
   e^(v/V_t) = 2^(v log2(e)/V_t). */
typedef struct bruno__lane {
    bruno_real vn, pn;           /* the new state before the clip */
    bruno_real sE, aE, X, r, a, sv, ev;
} bruno__lane;

static BRUNO__INLINE void bruno__felif_lane(const bruno_real *S, size_t n, size_t j, bruno_real vq, bruno_real pq,
                                           bruno_real Iq, bruno_real tau, bruno__lane *o)
{
    bruno_real E = BRUNO__FMAF(S[BRUNO__S_KV * n + j], vq, -(S[BRUNO__S_KP * n + j] * pq));
    bruno_real er;
    /* sign(E) as copysign: at E = 0 exactly r = 0 (X is huge), so the sign
       there cannot matter */
    o->sE = BRUNO__COPYSIGN((bruno_real)1, E);
    o->aE = BRUNO__FABS(E) + S[BRUNO__S_ESOFT * n + j];
    /* |E| <= k_v v_clip + k_p P_s keeps this exponent in [1, 63] for any
       sane device (E_a >> |E|) */
    o->X = bruno__fexp2(S[BRUNO__S_ALPHA * n + j] * (S[BRUNO__S_L2EA * n + j] - bruno__flog2(o->aE)));
    er = S[BRUNO__S_L2ITAU * n + j] - o->X * (bruno_real)1.44269504088896341;
    er = er < (bruno_real)-126 ? (bruno_real)-126 : er;
    o->r = bruno__fexp2(er) * (bruno_real)(o->X <= BRUNO__X_MAX); /* masked: 0 past underflow */
    o->a = o->sE * S[BRUNO__S_PS * n + j] - pq;
    /* sign(v) exactly (0 at v = 0, the initial state) */
    o->sv = (bruno_real)(vq > 0) - (bruno_real)(vq < 0);
    /* |v| <= v_clip: |v log2(e)/V_t| stays far inside the float range */
    o->ev = bruno__fexp2(vq * S[BRUNO__S_IVTL2 * n + j]);
    o->pn = pq + tau * (o->a * o->r);
    o->vn = vq + tau * (Iq - o->sv * (S[BRUNO__S_I0A * n + j] * (o->ev - 1) + S[BRUNO__S_IDSC * n + j]) -
                        S[BRUNO__S_A * n + j] * o->a * o->r) * S[BRUNO__S_INVC * n + j];
}

/* ---- AVX-512 fast kernel ------------------------------------------------------
   Where the target has AVX-512 F and DQ (float build), the fast forward and
   adjoint steps are written with intrinsics. gcc's vectorised C loop was bound by
   instruction throughput (about 150 instructions per 16 lanes: the bit
   tricks of the portable exp2/log2, blends for the freeze and the clip,
   sign(v) as two compares and two conversions). Here log2 takes its
   exponent and mantissa from vgetexp/vgetmant, exp2 scales by vscalef (no
   integer shifts), the clip is one vrange, and frozen lanes are left out
   of masked stores instead of blended. One lane is a chain of about 50
   dependent instructions (log2 -> exp2 -> exp2 -> update), longer than the
   out-of-order window can cover for one vector at a time, so every step
   below is written for BRUNO__VU vectors side by side: independent work is
   interleaved in the instruction stream. The tail of a row is the same code
   under a mask, so a lane gets the same bits wherever a thread's item
   boundary falls. The forward and the adjoint share bruno__v_lane, so the
   adjoint's clip decisions are exactly the forward's. Define
   BRUNO_NO_AVX512 to use the portable loop.
   Measured (bruno-bench throughput, fast_over_reference, one core of the
   2-core Sapphire Rapids VM): the auto-vectorised loop 21; these
   intrinsics one vector at a time 30; two vectors side by side 39, three
   39, four 44, six 43. Accuracy as the portable loop: exp2 relative error
   <= 2.2e-7, log2 absolute error <= 1.6e-7 on top of its exponent. */
#if !BRUNO_REAL_IS_DOUBLE && defined(__AVX512F__) && defined(__AVX512DQ__) && !defined(BRUNO_NO_AVX512)
#define BRUNO__AVX512 1
#include <immintrin.h>

#define BRUNO__V1(x) _mm512_set1_ps(x)
#define BRUNO__VU 4 /* vectors in flight (see the measurements above) */
/* the forward window's blocks: 8 vectors side by side (bruno__v_block) */
#define BRUNO__FVU 8
#define BRUNO__EACH(stmt)                     \
    do {                                      \
        int u_;                               \
        for (u_ = 0; u_ < nu; ++u_) { \
            stmt;                             \
        }                                     \
    } while (0)

/* 2^y for y in [-126, 127] in each vector: n = round(y), f = y - n in
   [-1/2, 1/2], the degree-5 polynomial of bruno__fexp2 in Horner form,
   then p 2^n by vscalef. Only the lanes of k are computed, others are 0. */
static BRUNO__INLINE void bruno__v_exp2(int nu, const __mmask16 *k, const __m512 *y, __m512 *out)
{
    __m512 n[BRUNO__FVU], f[BRUNO__FVU], p[BRUNO__FVU];
    BRUNO__EACH(n[u_] = _mm512_maskz_roundscale_ps((__mmask16)0xffff, y[u_], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    BRUNO__EACH(f[u_] = _mm512_sub_ps(y[u_], n[u_]));
    BRUNO__EACH(p[u_] = _mm512_fmadd_ps(BRUNO__V1(0.001339086336f), f[u_], BRUNO__V1(0.009676031918f)));
    BRUNO__EACH(p[u_] = _mm512_fmadd_ps(p[u_], f[u_], BRUNO__V1(0.05550357114f)));
    BRUNO__EACH(p[u_] = _mm512_fmadd_ps(p[u_], f[u_], BRUNO__V1(0.2402210749f)));
    BRUNO__EACH(p[u_] = _mm512_fmadd_ps(p[u_], f[u_], BRUNO__V1(0.693147188f)));
    BRUNO__EACH(p[u_] = _mm512_fmadd_ps(p[u_], f[u_], BRUNO__V1(1.000000075f)));
    BRUNO__EACH(out[u_] = _mm512_maskz_scalef_ps(k[u_], p[u_], n[u_]));
}

/* log2 x for normal x > 0: x = 2^e m with m in [3/4, 3/2) (vgetmant; the
   matching e is the exponent of 4x/3, which agrees at the boundary for
   every mantissa, checked exhaustively), log2 m = t g(t) with t = m - 1 in
   [-1/4, 1/2), g of degree 7 (Chebyshev fit; |error of t g| <= 1.6e-7). */
static BRUNO__INLINE void bruno__v_log2(int nu, const __m512 *x, __m512 *out)
{
    /* vgetmant, vgetexp (and vrndscale in exp2) under a full mask: g++ 12
       warns that the unmasked forms' pass-through operand is uninitialised */
    __m512 e[BRUNO__FVU], t[BRUNO__FVU], g[BRUNO__FVU];
    BRUNO__EACH(t[u_] = _mm512_sub_ps(_mm512_maskz_getmant_ps((__mmask16)0xffff, x[u_], _MM_MANT_NORM_p75_1p5,
                                                                              _MM_MANT_SIGN_src),
                                      BRUNO__V1(1.0f)));
    BRUNO__EACH(e[u_] = _mm512_maskz_getexp_ps((__mmask16)0xffff, _mm512_mul_ps(x[u_], BRUNO__V1(1.33333333f))));
    BRUNO__EACH(g[u_] = _mm512_fmadd_ps(BRUNO__V1(-0.0938960967f), t[u_], BRUNO__V1(0.202076588f)));
    BRUNO__EACH(g[u_] = _mm512_fmadd_ps(g[u_], t[u_], BRUNO__V1(-0.250414432f)));
    BRUNO__EACH(g[u_] = _mm512_fmadd_ps(g[u_], t[u_], BRUNO__V1(0.290264516f)));
    BRUNO__EACH(g[u_] = _mm512_fmadd_ps(g[u_], t[u_], BRUNO__V1(-0.360368292f)));
    BRUNO__EACH(g[u_] = _mm512_fmadd_ps(g[u_], t[u_], BRUNO__V1(0.480842665f)));
    BRUNO__EACH(g[u_] = _mm512_fmadd_ps(g[u_], t[u_], BRUNO__V1(-0.721350080f)));
    BRUNO__EACH(g[u_] = _mm512_fmadd_ps(g[u_], t[u_], BRUNO__V1(1.44269527f)));
    BRUNO__EACH(out[u_] = _mm512_fmadd_ps(t[u_], g[u_], e[u_]));
}

/* copysign(a, b) in one vpternlog (the sign bit from b, the rest from a),
   0 in the lanes outside k */
static BRUNO__INLINE __m512 bruno__v_copysign(__mmask16 k, __m512 a, __m512 b)
{
    return _mm512_castsi512_ps(_mm512_maskz_ternarylogic_epi32(k, _mm512_castps_si512(a), _mm512_castps_si512(b),
                                                               _mm512_set1_epi32((int)0x80000000u), 0xD8));
}

/* The constants of 16 lanes: broadcast once for a uniform population,
   loaded per vector otherwise. tC = tau/C_tot, ild = I_dsc - I0A. */
typedef struct bruno__vc {
    __m512 kv, kp, l2ea, alpha, es, ps, A, tC, i0a, ild, l2itau, vclip, ivtl2, invvt;
} bruno__vc;

static BRUNO__INLINE void bruno__vc_load(bruno__vc *c, const bruno_real *S, size_t n, size_t j, int uniform,
                                        __mmask16 k, bruno_real tau)
{
#define BRUNO__VLD(f) (uniform ? _mm512_set1_ps(S[(f) * n]) : _mm512_maskz_loadu_ps(k, S + (f) * n + j))
    c->kv = BRUNO__VLD(BRUNO__S_KV);
    c->kp = BRUNO__VLD(BRUNO__S_KP);
    c->l2ea = BRUNO__VLD(BRUNO__S_L2EA);
    c->alpha = BRUNO__VLD(BRUNO__S_ALPHA);
    c->es = BRUNO__VLD(BRUNO__S_ESOFT);
    c->ps = BRUNO__VLD(BRUNO__S_PS);
    c->A = BRUNO__VLD(BRUNO__S_A);
    c->tC = _mm512_mul_ps(_mm512_set1_ps(tau), BRUNO__VLD(BRUNO__S_INVC));
    c->i0a = BRUNO__VLD(BRUNO__S_I0A);
    c->ild = _mm512_sub_ps(BRUNO__VLD(BRUNO__S_IDSC), c->i0a);
    c->l2itau = BRUNO__VLD(BRUNO__S_L2ITAU);
    c->vclip = BRUNO__VLD(BRUNO__S_VCLIP);
    c->ivtl2 = BRUNO__VLD(BRUNO__S_IVTL2);
    c->invvt = BRUNO__VLD(BRUNO__S_INVVT);
#undef BRUNO__VLD
}

/* BRUNO__VU vectors of lanes: their constants (c[0] for all when cu = 0),
   and the lanes present in each (km). */
typedef struct bruno__vblk {
    bruno__vc c[BRUNO__FVU];
    int cu;
    __mmask16 km[BRUNO__FVU];
} bruno__vblk;

#define BRUNO__C(b, u) (&(b)->c[(b)->cu ? (u) : 0])

/* Each vector's 16 lanes of the Euler step (MODELS §2) before the clip, as
   bruno__felif_lane: X = 2^(alpha (log2 E_a - log2 |E|')),
   r = 2^(log2(1/tau_0) - X log2 e) (0 where X > X_MAX, as libm's
   underflow), e^(v/V_t) = 2^(v log2(e)/V_t). */
typedef struct bruno__vlane {
    __m512 E[BRUNO__FVU], vn[BRUNO__FVU], pn[BRUNO__FVU], aE[BRUNO__FVU], X[BRUNO__FVU], r[BRUNO__FVU], a[BRUNO__FVU],
        ev[BRUNO__FVU];
    __mmask16 vnz[BRUNO__FVU]; /* v != 0: sign(v) is copysign(1, v) there, 0 elsewhere */
} bruno__vlane;

static BRUNO__INLINE void bruno__v_lane(int nu, const bruno__vblk *b, const __m512 *v, const __m512 *p, const __m512 *I,
                                        __m512 tau, bruno__vlane *o)
{
    __m512 t[BRUNO__FVU], er[BRUNO__FVU], leak[BRUNO__FVU], ar[BRUNO__FVU];
    __mmask16 k[BRUNO__FVU];
    BRUNO__EACH(o->E[u_] = _mm512_fmsub_ps(BRUNO__C(b, u_)->kv, v[u_], _mm512_mul_ps(BRUNO__C(b, u_)->kp, p[u_])));
    BRUNO__EACH(o->aE[u_] = _mm512_add_ps(_mm512_abs_ps(o->E[u_]), BRUNO__C(b, u_)->es));
    bruno__v_log2(nu, o->aE, t);
    /* |E| <= k_v v_clip + k_p P_s keeps this exponent in [1, 63] */
    BRUNO__EACH(t[u_] = _mm512_mul_ps(BRUNO__C(b, u_)->alpha, _mm512_sub_ps(BRUNO__C(b, u_)->l2ea, t[u_])));
    BRUNO__EACH(k[u_] = (__mmask16)0xffff);
    bruno__v_exp2(nu, k, t, o->X);
    BRUNO__EACH(er[u_] = _mm512_fnmadd_ps(o->X[u_], BRUNO__V1(1.44269504088896341f), BRUNO__C(b, u_)->l2itau));
    BRUNO__EACH(k[u_] = _mm512_cmp_ps_mask(o->X[u_], BRUNO__V1(BRUNO__X_MAX), _CMP_LE_OQ));
    bruno__v_exp2(nu, k, er, o->r);
    /* |v| <= v_clip: |v log2(e)/V_t| stays far inside the float range */
    BRUNO__EACH(t[u_] = _mm512_mul_ps(v[u_], BRUNO__C(b, u_)->ivtl2));
    BRUNO__EACH(k[u_] = (__mmask16)0xffff);
    bruno__v_exp2(nu, k, t, o->ev);
    BRUNO__EACH(o->a[u_] = _mm512_sub_ps(bruno__v_copysign((__mmask16)0xffff, BRUNO__C(b, u_)->ps, o->E[u_]), p[u_]));
    BRUNO__EACH(o->vnz[u_] = _mm512_cmp_ps_mask(v[u_], _mm512_setzero_ps(), _CMP_NEQ_UQ));
    /* I_leak = sign(v) (I0A (e^(v/V_t) - 1) + I_dsc), 0 at v = 0 */
    BRUNO__EACH(leak[u_] = _mm512_fmadd_ps(BRUNO__C(b, u_)->i0a, o->ev[u_], BRUNO__C(b, u_)->ild));
    BRUNO__EACH(leak[u_] = bruno__v_copysign(o->vnz[u_], leak[u_], v[u_]));
    BRUNO__EACH(ar[u_] = _mm512_mul_ps(o->a[u_], o->r[u_]));
    BRUNO__EACH(o->pn[u_] = _mm512_fmadd_ps(tau, ar[u_], p[u_]));
    BRUNO__EACH(o->vn[u_] = _mm512_fmadd_ps(BRUNO__C(b, u_)->tC,
                                            _mm512_fnmadd_ps(BRUNO__C(b, u_)->A, ar[u_], _mm512_sub_ps(I[u_], leak[u_])),
                                            v[u_]));
}

/* lanes [j, j + 16 BRUNO__VU) of a row ending at jb: the masks, and the
   constants when the population varies */
static BRUNO__INLINE void bruno__vblk_at(int nu, bruno__vblk *b, const bruno_real *S, size_t n, size_t j, size_t jb,
                                         int uniform, int full, bruno_real tau)
{
    BRUNO__EACH(b->km[u_] = full ? (__mmask16)0xffff
                                 : (j + 16 * (size_t)u_ >= jb ? (__mmask16)0
                                                              : (jb - j - 16 * (size_t)u_ >= 16
                                                                     ? (__mmask16)0xffff
                                                                     : (__mmask16)((1u << (jb - j - 16 * (size_t)u_)) - 1u))));
    if (!uniform) BRUNO__EACH(bruno__vc_load(&b->c[u_], S, n, j + 16 * (size_t)u_, 0, b->km[u_], tau));
}

#define BRUNO__VLOAD(full, k, ptr) ((full) ? _mm512_loadu_ps(ptr) : _mm512_maskz_loadu_ps(k, ptr))

/* The forward step on BRUNO__VU vectors from vr etc.: frozen lanes
   (i >= taken) keep their state (left out of the stores). With sv, the
   input state goes to sv, sp from the registers it was loaded into
   (stream: whole vectors by non-temporal stores, the arrays 64-byte
   aligned). Returns the lanes still running after step i. */
static BRUNO__INLINE __mmask16 bruno__v_fwd(int nu, const bruno__vblk *b, bruno_real *vr, bruno_real *pr, uint32_t *tr,
                                            const bruno_real *Ir, int full, __m512i vi, __m512i vi1, __m512 tau,
                                            __m512 thr, bruno_real *sv, bruno_real *sp, int stream)
{
    __m512 v[BRUNO__VU], p[BRUNO__VU], I[BRUNO__VU], vn[BRUNO__VU], pn[BRUNO__VU];
    __m512i tk[BRUNO__VU];
    __mmask16 act[BRUNO__VU], spk[BRUNO__VU], km[BRUNO__VU], run = 0;
    bruno__vlane o;
    /* whole vectors: an all-ones literal, so b->km need not be set for them */
    BRUNO__EACH(km[u_] = full ? (__mmask16)0xffff : b->km[u_]);
    BRUNO__EACH(v[u_] = BRUNO__VLOAD(full, km[u_], vr + 16 * u_));
    BRUNO__EACH(p[u_] = BRUNO__VLOAD(full, km[u_], pr + 16 * u_));
    BRUNO__EACH(I[u_] = BRUNO__VLOAD(full, km[u_], Ir + 16 * u_));
    BRUNO__EACH(tk[u_] = full ? _mm512_loadu_si512((const void *)(tr + 16 * u_))
                              : _mm512_maskz_loadu_epi32(km[u_], tr + 16 * u_));
    if (sv && full && stream) {
        BRUNO__EACH(_mm512_stream_ps(sv + 16 * u_, v[u_]));
        BRUNO__EACH(_mm512_stream_ps(sp + 16 * u_, p[u_]));
    } else if (sv) {
        BRUNO__EACH(_mm512_mask_storeu_ps(sv + 16 * u_, km[u_], v[u_]));
        BRUNO__EACH(_mm512_mask_storeu_ps(sp + 16 * u_, km[u_], p[u_]));
    }
    bruno__v_lane(nu, b, v, p, I, tau, &o);
    /* clip to [-P_s, P_s] and [-v_clip, v_clip]: the smaller magnitude,
       with the sign of the first operand */
    BRUNO__EACH(pn[u_] = _mm512_range_ps(o.pn[u_], BRUNO__C(b, u_)->ps, 0x02));
    BRUNO__EACH(vn[u_] = _mm512_range_ps(o.vn[u_], BRUNO__C(b, u_)->vclip, 0x02));
    BRUNO__EACH(act[u_] = _mm512_mask_cmpgt_epu32_mask(km[u_], tk[u_], vi));
    BRUNO__EACH(_mm512_mask_storeu_ps(vr + 16 * u_, act[u_], vn[u_]));
    BRUNO__EACH(_mm512_mask_storeu_ps(pr + 16 * u_, act[u_], pn[u_]));
    /* freeze at the step after which v >= V_thr */
    BRUNO__EACH(spk[u_] = _mm512_mask_cmp_ps_mask(
                    _mm512_mask_cmpeq_epu32_mask(km[u_], tk[u_], _mm512_set1_epi32((int)BRUNO_RUNNING)), vn[u_],
                    thr, _CMP_GE_OQ));
    BRUNO__EACH(_mm512_mask_storeu_epi32(tr + 16 * u_, spk[u_], vi1));
    BRUNO__EACH(run |= (__mmask16)(_mm512_mask_cmpgt_epu32_mask(km[u_], tk[u_], vi1) & (__mmask16)~spk[u_]));
    return run;
}

/* The last 1 to 63 lanes [j, jb) of a row: as many vectors side by side
   as they fill (4 to 1, each count a literal so its code is unrolled), not
   one after the other, which is latency-bound (see above). */
#if BRUNO__VU != 4
#error "bruno__v_fwd_tail and bruno__v_adj_tail are written for BRUNO__VU = 4"
#endif
static BRUNO__INLINE __mmask16 bruno__v_fwd_tail(bruno__vblk *b, const bruno_real *S, size_t n, size_t j, size_t jb,
                                                 int uniform, bruno_real tau, bruno_real *vr, bruno_real *pr,
                                                 uint32_t *tr, const bruno_real *Ir, __m512i vi, __m512i vi1,
                                                 __m512 vtau, __m512 vthr, bruno_real *sv, bruno_real *sp)
{
    bruno_real *svj = sv ? sv + j : NULL, *spj = sv ? sp + j : NULL;
    if (jb - j > 48) {
        bruno__vblk_at(4, b, S, n, j, jb, uniform, 0, tau);
        return bruno__v_fwd(4, b, vr + j, pr + j, tr + j, Ir + j, 0, vi, vi1, vtau, vthr, svj, spj, 0);
    }
    if (jb - j > 32) {
        bruno__vblk_at(3, b, S, n, j, jb, uniform, 0, tau);
        return bruno__v_fwd(3, b, vr + j, pr + j, tr + j, Ir + j, 0, vi, vi1, vtau, vthr, svj, spj, 0);
    }
    if (jb - j > 16) {
        bruno__vblk_at(2, b, S, n, j, jb, uniform, 0, tau);
        return bruno__v_fwd(2, b, vr + j, pr + j, tr + j, Ir + j, 0, vi, vi1, vtau, vthr, svj, spj, 0);
    }
    bruno__vblk_at(1, b, S, n, j, jb, uniform, 0, tau);
    return bruno__v_fwd(1, b, vr + j, pr + j, tr + j, Ir + j, 0, vi, vi1, vtau, vthr, svj, spj, 0);
}

/* The forward step i on [ja, jb) of a row (or of the whole item for a
   uniform population; uniform is a literal at each call, so the constants
   stay in registers) with the block b whose constants are loaded (c[0]
   broadcast when uniform); nonzero when a lane is still running after it.
   BRUNO__VU vectors at a time, then the rest side by side
   (bruno__v_fwd_tail; a short row computes no empty vectors). With sv,
   each lane's input state is stored at sv[j], sp[j]. */
static BRUNO__INLINE __mmask16 bruno__v_sweep(bruno__vblk *b, bruno_real *vr, bruno_real *pr, uint32_t *tr,
                                              const bruno_real *Ir, const bruno_real *S, size_t n, size_t ja,
                                              size_t jb, uint32_t i, bruno_real tau, __m512 vtau, __m512 vthr,
                                              int uniform, bruno_real *sv, bruno_real *sp, int stream)
{
    const __m512i vi = _mm512_set1_epi32((int)i), vi1 = _mm512_set1_epi32((int)(i + 1));
    __mmask16 any = 0;
    size_t j, full = jb - (jb - ja) % (16 * BRUNO__VU);
    for (j = ja; j < full; j += 16 * BRUNO__VU) {
        if (!uniform) bruno__vblk_at(BRUNO__VU, b, S, n, j, jb, 0, 1, tau); /* these neurons' constants */
        any |= bruno__v_fwd(BRUNO__VU, b, vr + j, pr + j, tr + j, Ir + j, 1, vi, vi1, vtau, vthr, sv ? sv + j : NULL,
                            sv ? sp + j : NULL, stream);
    }
    if (j < jb) any |= bruno__v_fwd_tail(b, S, n, j, jb, uniform, tau, vr, pr, tr, Ir, vi, vi1, vtau, vthr, sv, sp);
    return any;
}

/* The freeze of one step of a block (the rule of
   BRUNO_DEVICE_PORTABLE_ROWS): the lanes of km with i < taken take the new
   state (vn, pn); a running lane (taken is BRUNO_RUNNING) whose vn >= V_thr
   freezes after this step (taken = i + 1). Returns the lanes still running
   after it. */
static BRUNO__INLINE __mmask16 bruno__v_freeze(int nu, const __mmask16 *km, __m512i *tk, __m512 *v, __m512 *p,
                                               const __m512 *vn, const __m512 *pn, __m512 thr, uint32_t i)
{
    const __m512i running = _mm512_set1_epi32((int)BRUNO_RUNNING), vi = _mm512_set1_epi32((int)i),
                  vi1 = _mm512_set1_epi32((int)(i + 1));
    __mmask16 act[BRUNO__FVU], spk[BRUNO__FVU], run = 0;
    BRUNO__EACH(act[u_] = _mm512_mask_cmpgt_epu32_mask(km[u_], tk[u_], vi));
    BRUNO__EACH(v[u_] = _mm512_mask_mov_ps(v[u_], act[u_], vn[u_]));
    BRUNO__EACH(p[u_] = _mm512_mask_mov_ps(p[u_], act[u_], pn[u_]));
    BRUNO__EACH(spk[u_] = _mm512_mask_cmp_ps_mask(_mm512_mask_cmpeq_epu32_mask(km[u_], tk[u_], running), vn[u_], thr,
                                                  _CMP_GE_OQ));
    BRUNO__EACH(run |= (__mmask16)(_mm512_mask_cmpgt_epu32_mask(km[u_], tk[u_], vi1) & (__mmask16)~spk[u_]));
    BRUNO__EACH(tk[u_] = _mm512_mask_mov_epi32(tk[u_], spk[u_], vi1));
    return run;
}

/* The same where every lane of the block is running or froze before the
   window (taken <= i0; the engine sets taken to BRUNO_RUNNING at each
   network step, so the windows of its fine pass always see this): then
   "i < taken" is "taken is BRUNO_RUNNING" at every step of the window, and
   rn, the mask of the running lanes (bruno__v_freeze_init), cleared where a
   lane spikes, decides the step with one compare (vn >= V_thr) for the
   general rule's four (i < taken, taken is BRUNO_RUNNING, vn >= V_thr,
   i + 1 < taken), with the same result. */
static BRUNO__INLINE __mmask16 bruno__v_freeze_rn(int nu, __mmask16 *rn, __m512i *tk, __m512 *v, __m512 *p,
                                                  const __m512 *vn, const __m512 *pn, __m512 thr, uint32_t i)
{
    const __m512i vi1 = _mm512_set1_epi32((int)(i + 1));
    __mmask16 spk[BRUNO__FVU], run = 0;
    BRUNO__EACH(v[u_] = _mm512_mask_mov_ps(v[u_], rn[u_], vn[u_]));
    BRUNO__EACH(p[u_] = _mm512_mask_mov_ps(p[u_], rn[u_], pn[u_]));
    BRUNO__EACH(spk[u_] = _mm512_mask_cmp_ps_mask(rn[u_], vn[u_], thr, _CMP_GE_OQ));
    BRUNO__EACH(tk[u_] = _mm512_mask_mov_epi32(tk[u_], spk[u_], vi1));
    BRUNO__EACH(rn[u_] = (__mmask16)(rn[u_] & ~spk[u_]));
    BRUNO__EACH(run |= rn[u_]);
    return run;
}

/* Whether bruno__v_freeze_rn applies to a block whose window starts at i0,
   and then its running lanes in rn. */
static BRUNO__INLINE int bruno__v_freeze_init(int nu, const __mmask16 *km, const __m512i *tk, uint32_t i0,
                                              __mmask16 *rn)
{
    const __m512i running = _mm512_set1_epi32((int)BRUNO_RUNNING), vi0 = _mm512_set1_epi32((int)i0);
    __mmask16 late = 0;
    BRUNO__EACH(rn[u_] = _mm512_mask_cmpeq_epu32_mask(km[u_], tk[u_], running));
    BRUNO__EACH(late |= _mm512_mask_cmpgt_epu32_mask((__mmask16)(km[u_] & ~rn[u_]), tk[u_], vi0));
    return late == 0;
}

/* A block's state (v, p of nu vectors, lanes km) to sv, sp: whole vectors
   by plain stores, or non-temporal ones where asked (the caller checked
   the alignment), else masked stores */
static BRUNO__INLINE void bruno__v_store_state(int nu, int full, int stream, const __mmask16 *km, const __m512 *v,
                                               const __m512 *p, bruno_real *sv, bruno_real *sp)
{
    if (full && stream) {
        BRUNO__EACH(_mm512_stream_ps(sv + 16 * u_, v[u_]));
        BRUNO__EACH(_mm512_stream_ps(sp + 16 * u_, p[u_]));
    } else if (full) {
        BRUNO__EACH(_mm512_storeu_ps(sv + 16 * u_, v[u_]));
        BRUNO__EACH(_mm512_storeu_ps(sp + 16 * u_, p[u_]));
    } else {
        BRUNO__EACH(_mm512_mask_storeu_ps(sv + 16 * u_, km[u_], v[u_]));
        BRUNO__EACH(_mm512_mask_storeu_ps(sp + 16 * u_, km[u_], p[u_]));
    }
}

/* Steps [i0, i1) of the nu vectors of one block at vr etc. (lanes b->km),
   the state, current and taken in registers for the whole window; stops
   after the step that leaves none of its lanes running and returns the
   steps run. With sv, step i's input state goes to sv, sp + (i - i0)
   stride. Each lane's operations and their order are bruno__v_fwd's, so
   the bits are the same; what changes is the order of the work: one block
   through the window, not every block through each step. A step of the
   row-at-a-time sweep loaded v, p, I and taken and stored them back for
   every vector; here those loads and stores are once a window, and 8
   vectors side by side (BRUNO__FVU) cover the chain from one step to the
   next (measured in bruno__v_window). More do not pay: on the Zen 5 VM
   (throughput --phases-only --phase-hidden 3456, Braille's lanes) blocks
   of 12 and 16 vectors ran at 1.55e9 and 1.1e9 updates/s against 8's
   1.65e9 (the registers spill), 4 to 6 at 1.3-1.4e9; and bruno__v_lane
   itself, on independent inputs with no chain from step to step, ran at
   1.85e9: the window is within ~12 % of its own instruction stream. */
static BRUNO__INLINE uint32_t bruno__v_block(int nu, const bruno__vblk *b, bruno_real *vr, bruno_real *pr,
                                             uint32_t *tr, const bruno_real *Ir, uint32_t i0, uint32_t i1,
                                             __m512 tau, __m512 thr, bruno_real *sv, bruno_real *sp, size_t stride,
                                             int stream, int store)
{
    __m512 v[BRUNO__FVU], p[BRUNO__FVU], I[BRUNO__FVU], vn[BRUNO__FVU], pn[BRUNO__FVU];
    __m512i tk[BRUNO__FVU];
    __mmask16 rn[BRUNO__FVU], run;
    bruno__vlane o;
    uint32_t i;
    int full = 1, simple; /* every vector whole: plain (or non-temporal) stores, not masked ones */
    BRUNO__EACH(full &= b->km[u_] == (__mmask16)0xffff);
    BRUNO__EACH(v[u_] = _mm512_maskz_loadu_ps(b->km[u_], vr + 16 * u_));
    BRUNO__EACH(p[u_] = _mm512_maskz_loadu_ps(b->km[u_], pr + 16 * u_));
    BRUNO__EACH(I[u_] = _mm512_maskz_loadu_ps(b->km[u_], Ir + 16 * u_));
    BRUNO__EACH(tk[u_] = _mm512_maskz_loadu_epi32(b->km[u_], tr + 16 * u_));
    simple = bruno__v_freeze_init(nu, b->km, tk, i0, rn);
    /* Without a store, one loop per freeze rule: with the choice inside the
       loop gcc 12 if-converted it, computing both rules at every step and
       selecting (Braille's hot loop: 817 instructions a step of 8 vectors,
       286 of them stack accesses, the general rule's compares and mask
       moves among them; 761 and 184 now, perf annotate). With the store
       (BPTT, checkpointing), the choice stays inside: split, gcc gave that
       loop more spills (JSB's 5-vector blocks: 541 instructions, 148 stack
       accesses, against 478 and 87). store is a literal at every call, so
       each instantiation holds only its own loops. */
#define BRUNO__V_BLOCK_LOOP(FREEZE)                                                                                    \
    for (i = i0; i < i1; ++i) {                                                                                    \
        if (sv) bruno__v_store_state(nu, full, stream, b->km, v, p, sv + (size_t)(i - i0) * stride,                \
                                     sp + (size_t)(i - i0) * stride);                                              \
        bruno__v_lane(nu, b, v, p, I, tau, &o);                                                                    \
        BRUNO__EACH(pn[u_] = _mm512_range_ps(o.pn[u_], BRUNO__C(b, u_)->ps, 0x02));                                \
        BRUNO__EACH(vn[u_] = _mm512_range_ps(o.vn[u_], BRUNO__C(b, u_)->vclip, 0x02));                             \
        /* freeze at the step after which v >= V_thr */                                                            \
        run = FREEZE;                                                                                              \
        if (!run) {                                                                                                \
            ++i;                                                                                                   \
            break;                                                                                                 \
        }                                                                                                          \
    }
    if (store) {
        BRUNO__V_BLOCK_LOOP(simple ? bruno__v_freeze_rn(nu, rn, tk, v, p, vn, pn, thr, i)
                                   : bruno__v_freeze(nu, b->km, tk, v, p, vn, pn, thr, i))
    } else if (simple) {
        BRUNO__V_BLOCK_LOOP(bruno__v_freeze_rn(nu, rn, tk, v, p, vn, pn, thr, i))
    } else {
        BRUNO__V_BLOCK_LOOP(bruno__v_freeze(nu, b->km, tk, v, p, vn, pn, thr, i))
    }
#undef BRUNO__V_BLOCK_LOOP
    BRUNO__EACH(_mm512_mask_storeu_ps(vr + 16 * u_, b->km[u_], v[u_]));
    BRUNO__EACH(_mm512_mask_storeu_ps(pr + 16 * u_, b->km[u_], p[u_]));
    BRUNO__EACH(_mm512_mask_storeu_epi32(tr + 16 * u_, b->km[u_], tk[u_]));
    return i - i0;
}

/* The row [ja, jb) through steps [i0, i1): its nv vectors in the fewest
   blocks of at most BRUNO__FVU, as even as they go (bruno__v_block_nu:
   Braille's 3456 lanes in 27 blocks of 8, JSB's 150 in 5 + 5; a short
   block left at the end would run its few vectors latency-bound). A block
   that stopped before the row repeats its frozen state in the steps the
   row still ran, so the store holds what a step at a time over the row
   would. One call per window, the uniform constants loaded once for it
   (their load cost ~50 cycles a call). With sv (BPTT's store,
   checkpointing's segments), step i's input state goes to sv + (i - i0)
   stride, sp + (i - i0) stride from the registers that hold it. Until
   d7d8e30 the window was a sweep of the whole row per step (bruno__v_sweep,
   which now serves the one-step row only); measured on the same runs
   (throughput --phases-only, alternated): BRUNO forward 1.6e9 -> 1.9e9
   updates/s, BPTT's forward 0.97e9 -> 1.15e9; Braille raw-file epoch
   3.57 -> 3.17 s. */
static size_t bruno__v_block_nu(size_t left, size_t *blocks)
{
    size_t nu = (left + *blocks - 1) / *blocks;
    --*blocks;
    return nu;
}

static BRUNO__INLINE uint32_t bruno__v_blocks_impl(bruno_real *vr, bruno_real *pr, uint32_t *tr, const bruno_real *Ir,
                                                   const bruno_real *S, size_t n, size_t ja, size_t jb, uint32_t i0,
                                                   uint32_t i1, bruno_real tau, bruno_real thr, int uniform,
                                                   bruno_real *sv, bruno_real *sp, size_t stride, int stream,
                                                   int store)
{
    const __m512 vtau = _mm512_set1_ps(tau), vthr = _mm512_set1_ps(thr);
    const size_t nv = (jb - ja + 15) / 16;
    bruno__vblk b;
    size_t j, je, left, blocks, nu;
    uint32_t k = i0 < i1, kb, i;
    bruno__vc_load(&b.c[0], S, n, 0, 1, (__mmask16)0xffff, tau);
    b.cu = !uniform;
#define BRUNO__VB(nu_, j_, jend_, full_)                                                                              \
    do {                                                                                                           \
        bruno__vblk_at(nu_, &b, S, n, j_, jend_, uniform, full_, tau);                                             \
        kb = bruno__v_block(nu_, &b, vr + (j_), pr + (j_), tr + (j_), Ir + (j_), i0, i1, vtau, vthr,               \
                            store ? sv + (j_) : NULL, store ? sp + (j_) : NULL, stride, stream, store);             \
        if (kb > k) k = kb;                                                                                        \
    } while (0)
#if BRUNO__FVU != 8
#error "bruno__v_blocks_impl is written for BRUNO__FVU = 8"
#endif
    blocks = (nv + BRUNO__FVU - 1) / BRUNO__FVU;
    for (j = ja, left = nv; j < jb; j += 16 * nu, left -= nu) {
        nu = bruno__v_block_nu(left, &blocks);
        switch (nu) { /* each count a literal, so its block is unrolled */
        case 8: BRUNO__VB(8, j, jb, 0); break;
        case 7: BRUNO__VB(7, j, jb, 0); break;
        case 6: BRUNO__VB(6, j, jb, 0); break;
        case 5: BRUNO__VB(5, j, jb, 0); break;
        case 4: BRUNO__VB(4, j, jb, 0); break;
        case 3: BRUNO__VB(3, j, jb, 0); break;
        case 2: BRUNO__VB(2, j, jb, 0); break;
        default: BRUNO__VB(1, j, jb, 0); break;
        }
    }
#undef BRUNO__VB
    blocks = (nv + BRUNO__FVU - 1) / BRUNO__FVU;
    if (sv)
        for (j = ja, left = nv; j < jb; j = je, left -= nu) {
            nu = bruno__v_block_nu(left, &blocks);
            je = jb - j > 16 * nu ? j + 16 * nu : jb;
            for (i = bruno__row_steps(tr, j, je, i0, i1); i < k; ++i) {
                memcpy(sv + (size_t)i * stride + j, vr + j, (je - j) * sizeof *sv);
                memcpy(sp + (size_t)i * stride + j, pr + j, (je - j) * sizeof *sp);
            }
        }
    if (stream) _mm_sfence(); /* the non-temporal stores before any later read, by any thread */
    return k;
}

/* One step of a row (the device slot fwd_row: the reference-free
   single-step form), and a window of fine steps of a row (fwd_window):
   separate functions, so each hot loop is compiled on its own (one
   function for both measured 1-2 % slower); each form is instantiated
   with literal uniform, store and stream flags. */
static size_t bruno__v_row(bruno_real *vr, bruno_real *pr, uint32_t *tr, const bruno_real *Ir, const bruno_real *S,
                           size_t n, size_t ja, size_t jb, uint32_t i, bruno_real tau, bruno_real thr, int uniform)
{
    const __m512 vtau = _mm512_set1_ps(tau), vthr = _mm512_set1_ps(thr);
    bruno__vblk b;
    bruno__vc_load(&b.c[0], S, n, 0, 1, (__mmask16)0xffff, tau);
    if (uniform) {
        b.cu = 0;
        return bruno__v_sweep(&b, vr, pr, tr, Ir, S, n, ja, jb, i, tau, vtau, vthr, 1, NULL, NULL, 0) != 0;
    }
    b.cu = 1;
    return bruno__v_sweep(&b, vr, pr, tr, Ir, S, n, ja, jb, i, tau, vtau, vthr, 0, NULL, NULL, 0) != 0;
}

static uint32_t bruno__v_window(bruno_real *vr, bruno_real *pr, uint32_t *tr, const bruno_real *Ir,
                                const bruno_real *S, size_t n, size_t ja, size_t jb, uint32_t i0, uint32_t i1,
                                bruno_real tau, bruno_real thr, int uniform, bruno_real *sv, bruno_real *sp,
                                size_t stride, int stream)
{
    /* streaming only where every whole vector it writes is aligned */
    stream = stream && sv && ((uintptr_t)(sv + ja) | (uintptr_t)(sp + ja)) % 64 == 0 &&
             (stride * sizeof(bruno_real)) % 64 == 0;
    if (!sv) {
        if (uniform) return bruno__v_blocks_impl(vr, pr, tr, Ir, S, n, ja, jb, i0, i1, tau, thr, 1, NULL, NULL, 0, 0, 0);
        return bruno__v_blocks_impl(vr, pr, tr, Ir, S, n, ja, jb, i0, i1, tau, thr, 0, NULL, NULL, 0, 0, 0);
    }
    if (stream) {
        if (uniform) return bruno__v_blocks_impl(vr, pr, tr, Ir, S, n, ja, jb, i0, i1, tau, thr, 1, sv, sp, stride, 1, 1);
        return bruno__v_blocks_impl(vr, pr, tr, Ir, S, n, ja, jb, i0, i1, tau, thr, 0, sv, sp, stride, 1, 1);
    }
    if (uniform) return bruno__v_blocks_impl(vr, pr, tr, Ir, S, n, ja, jb, i0, i1, tau, thr, 1, sv, sp, stride, 0, 1);
    return bruno__v_blocks_impl(vr, pr, tr, Ir, S, n, ja, jb, i0, i1, tau, thr, 0, sv, sp, stride, 0, 1);
}

/* The adjoint of steps i1 - 1 down to i0 on BRUNO__VU vectors, as
   bruno__felif_adj_lane: lanes of act (i < taken) reverse the step, the
   others keep their adjoints. Step i's input state is at vr, pr +
   (i - i0) stride. The adjoints (gv, gp, gI), the input current and taken
   stay in registers for the whole window, loaded before the first step and
   stored after the last, so a step costs the loads of its state and its
   arithmetic; consecutive steps' arithmetic is independent but for the
   last products, so the core overlaps them. grad is a literal: without
   the rate gradient (rg = 0) r'(E) = copysign(((0 alpha) X) r / aE, E),
   and the quotient of that numerator (+0, or NaN if X overflowed) by
   aE > 0 is the numerator itself, bit for bit, so the division is left
   out. One step (i1 = i0 + 1) is the device slot adj_row: the same code,
   so the bits do not depend on how the engine cuts a window. */
static BRUNO__INLINE void bruno__v_adj(int nu, const bruno__vblk *b, const bruno_real *vr, const bruno_real *pr,
                                       size_t stride, const bruno_real *Ir, const uint32_t *tr, bruno_real *gvr,
                                       bruno_real *gpr, bruno_real *gIr, int full, uint32_t i0, uint32_t i1,
                                       __m512 tau, __m512 rg, int grad)
{
    __m512 v[BRUNO__VU], p[BRUNO__VU], I[BRUNO__VU], gv[BRUNO__VU], gp[BRUNO__VU], gI[BRUNO__VU];
    __m512 dr[BRUNO__VU], Adr[BRUNO__VU], dIp_dp[BRUNO__VU], dIp_dv[BRUNO__VU], dIl_dv[BRUNO__VU], dv_dv[BRUNO__VU],
        dv_dp[BRUNO__VU], dp_dv[BRUNO__VU], dp_dp[BRUNO__VU], tadr[BRUNO__VU], nv[BRUNO__VU], np[BRUNO__VU],
        one = BRUNO__V1(1.0f);
    __m512i tk[BRUNO__VU];
    __mmask16 km[BRUNO__VU], act[BRUNO__VU], tv[BRUNO__VU], tp[BRUNO__VU];
    bruno__vlane o;
    uint32_t i = i1;
    BRUNO__EACH(km[u_] = full ? (__mmask16)0xffff : b->km[u_]);
    BRUNO__EACH(I[u_] = BRUNO__VLOAD(full, km[u_], Ir + 16 * u_));
    BRUNO__EACH(gv[u_] = BRUNO__VLOAD(full, km[u_], gvr + 16 * u_));
    BRUNO__EACH(gp[u_] = BRUNO__VLOAD(full, km[u_], gpr + 16 * u_));
    BRUNO__EACH(gI[u_] = BRUNO__VLOAD(full, km[u_], gIr + 16 * u_));
    /* no taken: every lane of the row runs */
    BRUNO__EACH(tk[u_] = tr ? _mm512_maskz_loadu_epi32(km[u_], tr + 16 * u_) : _mm512_set1_epi32(-1));
    while (i-- > i0) {
        const bruno_real *vi_ = vr + (size_t)(i - i0) * stride, *pi_ = pr + (size_t)(i - i0) * stride;
        const __m512i vi = _mm512_set1_epi32((int)i);
        BRUNO__EACH(v[u_] = BRUNO__VLOAD(full, km[u_], vi_ + 16 * u_));
        BRUNO__EACH(p[u_] = BRUNO__VLOAD(full, km[u_], pi_ + 16 * u_));
        BRUNO__EACH(act[u_] = _mm512_mask_cmpgt_epu32_mask(km[u_], tk[u_], vi));
        bruno__v_lane(nu, b, v, p, I, tau, &o);
        /* r'(E) = alpha X r sign(E)/(|E| + E_soft); rg = 0 without the rate
           gradient */
        BRUNO__EACH(dr[u_] = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(rg, BRUNO__C(b, u_)->alpha), o.X[u_]), o.r[u_]));
        if (grad) BRUNO__EACH(dr[u_] = _mm512_div_ps(dr[u_], o.aE[u_]));
        BRUNO__EACH(dr[u_] = bruno__v_copysign((__mmask16)0xffff, dr[u_], o.E[u_]));
        BRUNO__EACH(Adr[u_] = _mm512_mul_ps(_mm512_mul_ps(BRUNO__C(b, u_)->A, o.a[u_]), dr[u_]));
        /* with I_pa = A*a: dI_p/dp = -A r - I_pa r' k_p, dI_p/dv = I_pa r' k_v */
        BRUNO__EACH(dIp_dp[u_] = _mm512_fnmsub_ps(BRUNO__C(b, u_)->A, o.r[u_], _mm512_mul_ps(Adr[u_], BRUNO__C(b, u_)->kp)));
        BRUNO__EACH(dIp_dv[u_] = _mm512_mul_ps(Adr[u_], BRUNO__C(b, u_)->kv));
        BRUNO__EACH(dIl_dv[u_] = bruno__v_copysign(
                        o.vnz[u_], _mm512_mul_ps(_mm512_mul_ps(BRUNO__C(b, u_)->i0a, o.ev[u_]), BRUNO__C(b, u_)->invvt),
                        v[u_]));
        /* h/C = tC */
        BRUNO__EACH(dv_dv[u_] = _mm512_fnmadd_ps(BRUNO__C(b, u_)->tC, _mm512_add_ps(dIl_dv[u_], dIp_dv[u_]), one));
        BRUNO__EACH(dv_dp[u_] = _mm512_fnmadd_ps(BRUNO__C(b, u_)->tC, dIp_dp[u_], _mm512_setzero_ps()));
        BRUNO__EACH(tadr[u_] = _mm512_mul_ps(_mm512_mul_ps(tau, o.a[u_]), dr[u_]));
        BRUNO__EACH(dp_dv[u_] = _mm512_mul_ps(tadr[u_], BRUNO__C(b, u_)->kv));
        BRUNO__EACH(dp_dp[u_] = _mm512_fnmadd_ps(tadr[u_], BRUNO__C(b, u_)->kp, _mm512_fnmadd_ps(tau, o.r[u_], one)));
        /* clipped outputs have zero derivative (a state on a bound counts as
           clipped, as in bruno_felif_euler); masked, so a lane contributes
           exactly 0 even where a derivative overflowed */
        BRUNO__EACH(tv[u_] = _mm512_mask_cmp_ps_mask(act[u_], _mm512_abs_ps(o.vn[u_]), BRUNO__C(b, u_)->vclip, _CMP_LT_OQ));
        BRUNO__EACH(tp[u_] = _mm512_mask_cmp_ps_mask(act[u_], _mm512_abs_ps(o.pn[u_]), BRUNO__C(b, u_)->ps, _CMP_LT_OQ));
        BRUNO__EACH(nv[u_] = _mm512_add_ps(_mm512_maskz_mul_ps(tv[u_], gv[u_], dv_dv[u_]),
                                           _mm512_maskz_mul_ps(tp[u_], gp[u_], dp_dv[u_])));
        BRUNO__EACH(np[u_] = _mm512_add_ps(_mm512_maskz_mul_ps(tv[u_], gv[u_], dv_dp[u_]),
                                           _mm512_maskz_mul_ps(tp[u_], gp[u_], dp_dp[u_])));
        /* dv/dI = h/C */
        BRUNO__EACH(gI[u_] = _mm512_mask_add_ps(gI[u_], tv[u_], gI[u_], _mm512_mul_ps(gv[u_], BRUNO__C(b, u_)->tC)));
        BRUNO__EACH(gv[u_] = _mm512_mask_mov_ps(gv[u_], act[u_], nv[u_]));
        BRUNO__EACH(gp[u_] = _mm512_mask_mov_ps(gp[u_], act[u_], np[u_]));
    }
    BRUNO__EACH(_mm512_mask_storeu_ps(gvr + 16 * u_, km[u_], gv[u_]));
    BRUNO__EACH(_mm512_mask_storeu_ps(gpr + 16 * u_, km[u_], gp[u_]));
    BRUNO__EACH(_mm512_mask_storeu_ps(gIr + 16 * u_, km[u_], gI[u_]));
}

/* The adjoint of the last 1 to 63 lanes of a row, as bruno__v_fwd_tail. */
static BRUNO__INLINE void bruno__v_adj_tail(bruno__vblk *b, const bruno_real *S, size_t n, size_t j, size_t jb,
                                            int uniform, bruno_real tau, const bruno_real *vr, const bruno_real *pr,
                                            size_t stride, const bruno_real *Ir, const uint32_t *tr, bruno_real *gvr,
                                            bruno_real *gpr, bruno_real *gIr, uint32_t i0, uint32_t i1, __m512 vtau,
                                            __m512 vrg, int grad)
{
    const uint32_t *t = tr ? tr + j : NULL;
    int nu = jb - j > 48 ? 4 : jb - j > 32 ? 3 : jb - j > 16 ? 2 : 1;
    bruno__vblk_at(nu, b, S, n, j, jb, uniform, 0, tau);
    if (nu == 4)
        bruno__v_adj(4, b, vr + j, pr + j, stride, Ir + j, t, gvr + j, gpr + j, gIr + j, 0, i0, i1, vtau, vrg, grad);
    else if (nu == 3)
        bruno__v_adj(3, b, vr + j, pr + j, stride, Ir + j, t, gvr + j, gpr + j, gIr + j, 0, i0, i1, vtau, vrg, grad);
    else if (nu == 2)
        bruno__v_adj(2, b, vr + j, pr + j, stride, Ir + j, t, gvr + j, gpr + j, gIr + j, 0, i0, i1, vtau, vrg, grad);
    else bruno__v_adj(1, b, vr + j, pr + j, stride, Ir + j, t, gvr + j, gpr + j, gIr + j, 0, i0, i1, vtau, vrg, grad);
}

/* The adjoint steps i1 - 1 down to i0 on [ja, jb), a block of BRUNO__VU
   vectors at a time (each block's whole window in registers, see
   bruno__v_adj), the constants loaded once (uniform) or once per block. */
static BRUNO__INLINE void bruno__v_adj_win_impl(const bruno_real *vr, const bruno_real *pr, const bruno_real *Ir,
                                               const uint32_t *tr, bruno_real *gvr, bruno_real *gpr, bruno_real *gIr,
                                               const bruno_real *S, size_t n, size_t ja, size_t jb, uint32_t i0,
                                               uint32_t i1, size_t stride, bruno_real tau, bruno_real rg, int uniform,
                                               int grad)
{
    const __m512 vtau = _mm512_set1_ps(tau), vrg = _mm512_set1_ps(rg);
    bruno__vblk b;
    size_t j = ja;
    bruno__vc_load(&b.c[0], S, n, 0, 1, (__mmask16)0xffff, tau);
    b.cu = !uniform;
    for (; j + 16 * BRUNO__VU <= jb; j += 16 * BRUNO__VU) {
        bruno__vblk_at(BRUNO__VU, &b, S, n, j, jb, uniform, 1, tau);
        bruno__v_adj(BRUNO__VU, &b, vr + j, pr + j, stride, Ir + j, tr ? tr + j : NULL, gvr + j, gpr + j, gIr + j, 1,
                     i0, i1, vtau, vrg, grad);
    }
    if (j < jb)
        bruno__v_adj_tail(&b, S, n, j, jb, uniform, tau, vr, pr, stride, Ir, tr, gvr, gpr, gIr, i0, i1, vtau, vrg, grad);
}

/* The adjoint steps [i0, i1) of [ja, jb) in reverse, as the forward window. */
static void bruno__v_adj_window(const bruno_real *vr, const bruno_real *pr, const bruno_real *Ir, const uint32_t *tr,
                                bruno_real *gvr, bruno_real *gpr, bruno_real *gIr, const bruno_real *S, size_t n,
                                size_t ja, size_t jb, uint32_t i0, uint32_t i1, size_t stride, bruno_real tau,
                                bruno_real rg, int uniform)
{
    if (rg == 0) {
        if (uniform) bruno__v_adj_win_impl(vr, pr, Ir, tr, gvr, gpr, gIr, S, n, ja, jb, i0, i1, stride, tau, rg, 1, 0);
        else bruno__v_adj_win_impl(vr, pr, Ir, tr, gvr, gpr, gIr, S, n, ja, jb, i0, i1, stride, tau, rg, 0, 0);
    } else if (uniform) bruno__v_adj_win_impl(vr, pr, Ir, tr, gvr, gpr, gIr, S, n, ja, jb, i0, i1, stride, tau, rg, 1, 1);
    else bruno__v_adj_win_impl(vr, pr, Ir, tr, gvr, gpr, gIr, S, n, ja, jb, i0, i1, stride, tau, rg, 0, 1);
}
#else
#define BRUNO__AVX512 0
#endif

/* ---- device: felif, its rows and its entry in the table ---------------------- */
/* One lane of the adjoint of an Euler step (MODELS §3), branch free. */
static BRUNO__INLINE void bruno__felif_adj_lane(const bruno_real *S, size_t n, size_t j, bruno_real vq, bruno_real pq,
                                               bruno_real Iq, bruno_real tau, bruno_real rg, bruno_real act,
                                               bruno_real *gvp, bruno_real *gpp, bruno_real *gIp)
{
    const bruno_real kv = S[BRUNO__S_KV * n + j], kp = S[BRUNO__S_KP * n + j], Ps = S[BRUNO__S_PS * n + j];
    const bruno_real A = S[BRUNO__S_A * n + j], iC = S[BRUNO__S_INVC * n + j], vc = S[BRUNO__S_VCLIP * n + j];
    bruno__lane o;
    bruno_real dr, dIp_dp, dIp_dv, dIl_dv, hC, dv_dv, dv_dp, dv_dI, dp_dv, dp_dp, gv, gp, keepv, keepp;
    int tv, tp;
    bruno__felif_lane(S, n, j, vq, pq, Iq, tau, &o);
    /* r'(E) = alpha X r sign(E)/(|E| + E_soft); 0 unless the rate gradient is on */
    dr = rg * S[BRUNO__S_ALPHA * n + j] * o.X * o.r * o.sE / o.aE;
    /* with I_pa = A*a: dI_p/dp = -A r - I_pa r' k_p, dI_p/dv = I_pa r' k_v */
    dIp_dp = -A * o.r - A * o.a * dr * kp;
    dIp_dv = A * o.a * dr * kv;
    dIl_dv = o.sv * S[BRUNO__S_I0A * n + j] * o.ev * S[BRUNO__S_INVVT * n + j];
    hC = tau * iC;
    dv_dv = 1 - hC * (dIl_dv + dIp_dv);
    dv_dp = -hC * dIp_dp;
    dv_dI = hC;
    dp_dv = tau * o.a * dr * kv;
    dp_dp = 1 - tau * o.r - tau * o.a * dr * kp;
    /* clipped outputs have zero derivative (a state on a bound counts as
       clipped, as in bruno_felif_euler); frozen lanes (act = 0) are the
       identity. Selected, not multiplied by 0/1: a masked lane contributes
       exactly 0 even where a derivative overflowed (inf * 0 is NaN). */
    tv = (act != 0) & (o.vn < vc) & (o.vn > -vc);
    tp = (act != 0) & (o.pn < Ps) & (o.pn > -Ps);
    gv = *gvp;
    gp = *gpp;
    keepv = act != 0 ? (bruno_real)0 : gv;
    keepp = act != 0 ? (bruno_real)0 : gp;
    *gvp = keepv + (tv ? gv * dv_dv : (bruno_real)0) + (tp ? gp * dp_dv : (bruno_real)0);
    *gpp = keepp + (tv ? gv * dv_dp : (bruno_real)0) + (tp ? gp * dp_dp : (bruno_real)0);
    *gIp = *gIp + (tv ? gv * dv_dI : (bruno_real)0);
}
/* The lane in the form of the interface: the new state before the clip. */
static BRUNO__INLINE void bruno__felif_lane_vp(const bruno_real *S, size_t n, size_t j, bruno_real vq, bruno_real pq,
                                              bruno_real Iq, bruno_real tau, bruno_real *vn, bruno_real *pn)
{
    bruno__lane o;
    bruno__felif_lane(S, n, j, vq, pq, Iq, tau, &o);
    *vn = o.vn;
    *pn = o.pn;
}

BRUNO_DEVICE_PORTABLE_ROWS(bruno__felif_port, bruno__felif_lane_vp, bruno__felif_adj_lane, BRUNO__S_VCLIP, BRUNO__S_PS)

#if BRUNO__AVX512
/* The AVX-512 kernel in the same slots: its rows and its windows. */
static size_t bruno__felif_v_fwd_row(const bruno_device_row *r, uint32_t i, bruno_real tau)
{
    return bruno__v_row(r->v, r->p, r->taken, r->I, r->S, r->n, r->ja, r->jb, i, tau, r->thr, r->uniform);
}

static void bruno__felif_v_adj_row(const bruno_device_row *r, uint32_t i, bruno_real tau)
{
    bruno__v_adj_window(r->v, r->p, r->I, r->taken, r->gv, r->gp, r->gI, r->S, r->n, r->ja, r->jb, i, i + 1, 0, tau,
                        r->grad ? (bruno_real)1 : (bruno_real)0, r->uniform);
}

static uint32_t bruno__felif_v_fwd_window(const bruno_device_row *r, uint32_t i0, uint32_t i1, bruno_real tau,
                                          bruno_real *sv, bruno_real *sp, size_t stride, int stream)
{
    return bruno__v_window(r->v, r->p, r->taken, r->I, r->S, r->n, r->ja, r->jb, i0, i1, tau, r->thr, r->uniform, sv,
                           sp, stride, stream);
}

static void bruno__felif_v_adj_window(const bruno_device_row *r, uint32_t i0, uint32_t i1, bruno_real tau,
                                      size_t stride)
{
    bruno__v_adj_window(r->v, r->p, r->I, r->taken, r->gv, r->gp, r->gI, r->S, r->n, r->ja, r->jb, i0, i1, stride,
                        tau, r->grad ? (bruno_real)1 : (bruno_real)0, r->uniform);
}
#endif

/* The scalar reference kernel: bruno_felif_euler and its Jacobian with libm,
   on the device's own records (bruno_felif_consts). */
static size_t bruno__felif_ref_fwd_row(const bruno_device_row *r, uint32_t i, bruno_real tau)
{
    const bruno_felif_consts *c = (const bruno_felif_consts *)r->aos;
    size_t j, running = 0;
    for (j = r->ja; j < r->jb; ++j) {
        if (i >= r->taken[j]) continue;
        bruno_felif_euler(&c[j], r->v[j], r->p[j], r->I[j], tau, &r->v[j], &r->p[j]);
        if (r->taken[j] == BRUNO_RUNNING && r->v[j] >= r->thr) r->taken[j] = i + 1;
        running += i + 1 < r->taken[j];
    }
    return running;
}

static void bruno__felif_ref_adj_row(const bruno_device_row *r, uint32_t i, bruno_real tau)
{
    const bruno_felif_consts *c = (const bruno_felif_consts *)r->aos;
    size_t j;
    for (j = r->ja; j < r->jb; ++j) {
        bruno_felif_jacobian J;
        bruno_real gv, gp;
        if (r->taken && i >= r->taken[j]) continue;
        J = bruno_felif_euler_jacobian(&c[j], r->v[j], r->p[j], r->I[j], tau, r->grad);
        gv = r->gv[j];
        gp = r->gp[j];
        r->gI[j] += gv * J.dv_dI;
        r->gv[j] = gv * J.dv_dv + gp * J.dp_dv;
        r->gp[j] = gv * J.dv_dp + gp * J.dp_dp;
    }
}

static const bruno_device bruno__felif_device = {
    "felif", "FeLIF: ferroelectric leaky integrate-and-fire neuron (MODELS §2)", BRUNO__FELIF_NP,
    bruno__felif_table, BRUNO__S_COUNT, sizeof(bruno_felif_consts), BRUNO__S_GAIN, BRUNO__S_VCLIP, BRUNO__S_PS,
    BRUNO__S_PS, bruno__felif_check, bruno__felif_derive_dev, bruno__felif_state,
#if BRUNO__AVX512
    bruno__felif_v_fwd_row, bruno__felif_v_adj_row, bruno__felif_v_fwd_window, bruno__felif_v_adj_window,
#else
    bruno__felif_port_fwd_row, bruno__felif_port_adj_row, bruno__felif_port_fwd_window, bruno__felif_port_adj_window,
#endif
    bruno__felif_ref_fwd_row, bruno__felif_ref_adj_row};

static const bruno_device *bruno__felif_dev(void) { return &bruno__felif_device; }

/* ---- device: heracles (MODELS §7) ------------------------------------------
   The authors' second device neuron: an HZO capacitor with a depletion layer
   at one electrode (thermally activated switching over a barrier, a field-
   and polarization-dependent capacitance). State (v, p, s), the fine pass
   with freeze, reset and spike as FeLIF (MODELS §2), with three differences
   the spec makes: the freeze and the spike test v > V_thr (FeLIF: v >= V_thr),
   the constants are §7's own (eps0 to more digits than §2's), and the
   authors' gradient rule (grad = 0, the default) holds C_tot, the two
   dividers and I_leak constant and scales the gradient through dp/dt by
   1e-3; grad = 1 is the plain derivative of the step.

   One step differs from a literal reading of MODELS §2 in one place, the
   charge-conserving clip: when the clip stops p at +-P_s, the polarization
   current that reaches the capacitor is the one of the switching the clip
   let happen, I_p = A (p' - p)/tau, not A dp/dt. Why: at
   v_u = q_fix t_fe/(eps0 eps_fe) (1.494 V) the factor w_u vanishes; if p
   has not reached +P_s exactly by then, the depletion width w collapses,
   the rate jumps to ~1e12/s and the literal step moves v by
   A (P_s - p) k_down tau/C_tot, hundreds of volts for a p only 4e-5 C/m^2
   short of P_s (MODELS §7, Numerics). Whether p gets there first is a race
   that rounding decides, in double too: on a grid around §7's check (5
   currents times 1 + 3e-5 j, j < 6, at N = 1000, 1050, 1100: 90 runs of
   40 steps; tests/test_heracles.c, converged_spike_trains_...) the literal
   step leaves the converged spike trains in 24 runs in float and 1 in
   double (the authors' float kernel: 7, 16, 25, 34 at 2 nA), this step in
   none, in both. A lane computed in double on a state kept in float was
   tried first and is no cure (at 1 nA it spiked at 15, 32). Where the clip
   does not act the step is §7's verbatim, and in the continuous model the
   switching moves exactly the charge A (P_s - p), so this is also the limit
   of small h.

   w is written w = 2 P_s g (v + v_u)|v - v_u| / ((P_s + p)|v - v_u| +
   (P_s - p)(v + v_u)), the spec's w_d w_u/(prob w_u + (1 - prob) w_d) with
   w_d = g (v + v_u), w_u = g |v - v_u|, prob = (P_s + p)/(2 P_s), and kept
   in [0, g (|v| + v_u)]: the weighted harmonic mean of w_d and w_u lies
   there wherever the spec's formula is physical (v >= -v_u); below -v_u
   (strong negative input) w_d < 0 and the formula has a pole, which the
   bound keeps finite (at p = -P_s the bound is the formula's own value).
   At the two corners 0/0 (v = +-v_u with p = +-P_s) w = 0.

   Variability (MODELS §2 names FeLIF's parameters only) varies A, t_fe,
   P_s and I_0 as FeLIF, and for E_a and t_i their analogues here: the
   switching barrier w_b and n_depl, which sets the depletion layer's
   width.

   What the authors did (their simulator ncas-tum/ELEANOR):
   - BRUNO for Heracles is on their branch main only (commits 0f1b132,
     b52cc66, July-October 2025), eleanor/models/jax/_heracles.py: the
     fine pass is a scan of 1000 steps of dt/1000 with freeze (lines
     270-332); the coarse step is the same function with int_div = 1
     (line 333) and x = x_c + stop_gradient(x_f - x_c) for v, p (337-338).
     In that step C_tot and both dividers are stop_gradient (253-255),
     I_leak is stop_gradient times sign(v) (292-294), dp/dt passes through
     _scale_grad, gradient x 1e-3 (16-21, 288), both into p and (I_p =
     A dp/dt) into v; v clipped to [-5, 5], p to [-P_s, P_s] (297-298);
     reset v <- 0, p <- -P_s on the previous spike with the gradient
     stopped (340-342); spike = superspike(v - V_thr), beta 10 per volt
     (line 13; x in volts). Their PyTorch twin (models/torch/_heracles.py
     346-401) keeps C_tot and the dividers differentiable and clips v to
     [-1, 4]. This is the rule above (grad = 0), with one change: where the
     clip stops p we differentiate our charge-conserving I_p (see the
     adjoint), since their A dp/dt there gives dv'/dp ~ 1e8 V per C/m^2
     after every switching.
   - The paper's Braille row for Heracles (91.58 / 91.78 / 85.61 / 76.89 %)
     is NOT that model: it is in scripts/benchmark/optuna/results/
     {FP,8,4,3}bit_Heracles/model.pkl (50 seeds x 150 epochs; their final-
     epoch means are exactly those numbers), committed at tag bruno
     (9f99f68, December 2024), when eleanor/models.py (unchanged since
     9bc7839) had class Heracles (lines 627-851) as ONE explicit Euler step
     of dt = 1 ms (experiment.py 136-138: dt=1e-3), no fine pass, plain
     autodiff through it: only up-switching (k_plus, line 829), its
     exponential clipped to <= 3e-12 (828: k <= 18/s), v clipped to
     [-1.5, 3.5] (839), spike from the post-reset v (849), and q_fix
     multiplied by paramsScale (741) against a field term that is not, so
     the depletion width is field-independent for paramsScale >= 1e5.
     Set-up (experiment.py 120-171, 186-196): encoding tile 32, dense
     128-256-27 without bias, LIF hidden, Heracles output, softmax cross-
     entropy of the output spike counts, Adamax (0.9, 0.995), batch 128,
     150 epochs; optuna tuned alpha, beta in [0.1, 1], V_thr in [2.5, 3.5]
     V, paramsScale 10^k (k = 5..12; input current = u / paramsScale A),
     lr in [1e-5, 1e-1] log (the values are in bruno.db, which the mirror
     does not hold). Their mean test accuracy after epoch 8 was 79.1 (FP32)
     and 42.9 % (3 bit). */

static const bruno_device_param bruno__heracles_table[] = {
    {"A", 25e-12, "m^2", 1e-18, 1e-6, 1},      {"t_fe", 9.8e-9, "m", 1e-10, 1e-5, 1},
    {"P_s", 0.27, "C/m^2", 1e-4, 2.0, 1},      {"I_0", 1e-4, "A/m^2", 0.0, 1e6, 1},
    {"w_b", 1.05, "eV", 0.0, 20.0, 1},         {"n_depl", 1.4e28, "1/m^3", 1e20, 1e32, 1},
    {"eps_fe", 70.0, "", 1.0, 1e4, 0},         {"eps_depl", 3.6, "", 1.0, 1e4, 0},
    {"q_fix", 945e-4, "C/m^2", 0.0, 10.0, 0},  {"e_off", 2e7, "V/m", -1e10, 1e10, 0},
    {"T", 294.0, "K", 1.0, 1e4, 0},            {"d_e", 7.5e-9, "m", 0.0, 1e-6, 0},
    {"V_t", 0.32, "V", 1e-3, 10.0, 0},         {"C_par", 15e-15, "F", 0.0, 1e-9, 0},
    {"I_dsc", 10e-12, "A", 0.0, 1e-6, 0},      {"V_thr", 3.5, "V", -100.0, 100.0, 0},
    {"v_reset", 0.0, "V", -100.0, 100.0, 0},   {"p_reset", -0.27, "C/m^2", -2.0, 2.0, 0},
    {"v_init", 0.0, "V", -100.0, 100.0, 0},    {"p_init", -0.27, "C/m^2", -2.0, 2.0, 0},
    {"v_clip", 5.0, "V", 1e-3, 100.0, 0}};
enum { /* the table's rows */
    BRUNO__HP_A, BRUNO__HP_TFE, BRUNO__HP_PS, BRUNO__HP_I0, BRUNO__HP_WB, BRUNO__HP_N, BRUNO__HP_EFE, BRUNO__HP_EDE,
    BRUNO__HP_QF, BRUNO__HP_EOFF, BRUNO__HP_T, BRUNO__HP_DE, BRUNO__HP_VT, BRUNO__HP_CPAR, BRUNO__HP_IDSC,
    BRUNO__HP_VTHR, BRUNO__HP_VRESET, BRUNO__HP_PRESET, BRUNO__HP_VINIT, BRUNO__HP_PINIT, BRUNO__HP_VCLIP
};
/* Rows of the structure of arrays: P_s, v_u, g = eps0 eps_fe/(t_fe q n_depl),
   2 P_s g, 1/(C_fe + C_par), 1/(eps0 eps_depl A), 1/(eps0 eps_depl), t_fe,
   eps_fe/eps_depl; the rates' exponents in log2 units: beta (w_b + d_e e_off),
   beta (w_b - d_e e_off), beta d_e (beta = q/(k_B T) log2 e), log2(k_B T/h);
   A, I_0 A, log2(e)/V_t, 1/V_t, I_dsc, v_clip, gain. */
enum {
    BRUNO__H_PS, BRUNO__H_VU, BRUNO__H_GW, BRUNO__H_G2, BRUNO__H_IC0, BRUNO__H_KCW, BRUNO__H_KPW, BRUNO__H_TFE,
    BRUNO__H_RFD, BRUNO__H_XD, BRUNO__H_XU, BRUNO__H_BE, BRUNO__H_L2NU, BRUNO__H_A, BRUNO__H_I0A, BRUNO__H_IVTL2,
    BRUNO__H_IVT, BRUNO__H_IDSC, BRUNO__H_VCLIP, BRUNO__H_GAIN, BRUNO__H_COUNT
};
#define BRUNO__H_EPS0 8.85418792394420013968e-12 /* MODELS §7 constants (SI) */
#define BRUNO__H_Q 1.60217663e-19
#define BRUNO__H_KB 1.380649e-23
#define BRUNO__H_HP 6.62607015e-34

static bruno_result bruno__heracles_check(const double *q, char *msg, size_t cap)
{
    const double vc = q[BRUNO__HP_VCLIP], Ps = q[BRUNO__HP_PS];
    const char *key = NULL, *why = "|v| must not exceed v_clip";
    if (fabs(q[BRUNO__HP_VTHR]) >= vc) key = "V_thr", why = "|V_thr| must be below v_clip";
    else if (fabs(q[BRUNO__HP_VRESET]) > vc) key = "v_reset";
    else if (fabs(q[BRUNO__HP_VINIT]) > vc) key = "v_init";
    else if (fabs(q[BRUNO__HP_PRESET]) > Ps) key = "p_reset", why = "|p| must not exceed P_s";
    else if (fabs(q[BRUNO__HP_PINIT]) > Ps) key = "p_init", why = "|p| must not exceed P_s";
    else if (vc / q[BRUNO__HP_VT] > 80.0) key = "V_t", why = "e^(v_clip/V_t) overflows (v_clip/V_t > 80)";
    if (!key) return BRUNO_OK;
    bruno__msg(msg, cap, "%s: %s", key, why);
    return BRUNO_ERR_PARAM;
}

static bruno_result bruno__heracles_derive(const double *q, double gain, bruno_real *S, size_t n, size_t j, void *aos,
                                           char *msg, size_t cap)
{
    const double l2e = 1.44269504088896340736, beta = l2e * BRUNO__H_Q / (BRUNO__H_KB * q[BRUNO__HP_T]);
    const double efe = BRUNO__H_EPS0 * q[BRUNO__HP_EFE], g = efe / (q[BRUNO__HP_TFE] * BRUNO__H_Q * q[BRUNO__HP_N]);
    const double vu = q[BRUNO__HP_QF] * q[BRUNO__HP_TFE] / efe, A = q[BRUNO__HP_A];
    const double kcw = 1 / (BRUNO__H_EPS0 * q[BRUNO__HP_EDE] * A), whi = g * (q[BRUNO__HP_VCLIP] + vu);
    double x[BRUNO__H_COUNT];
    /* the key each constant comes from, and the largest intermediate of
       the step (1/C_tot and w/(eps0 eps_depl) at the widest w) */
    static const char *const key[BRUNO__H_COUNT + 2] = {
        "P_s", "q_fix", "n_depl", "n_depl", "t_fe", "eps_depl", "eps_depl", "t_fe", "eps_fe", "w_b", "w_b", "d_e",
        "T", "A", "I_0", "V_t", "V_t", "I_dsc", "v_clip", "gain", "n_depl", "n_depl"};
    static const char *const what[BRUNO__H_COUNT + 2] = {
        "P_s", "v_u", "g", "2 P_s g", "1/(C_fe + C_par)", "1/(eps0 eps_depl A)", "1/(eps0 eps_depl)", "t_fe",
        "eps_fe/eps_depl", "beta (w_b + d_e e_off)", "beta (w_b - d_e e_off)", "beta d_e", "log2(k_B T/h)", "A",
        "I_0 A", "log2(e)/V_t", "1/V_t", "I_dsc", "v_clip", "gain", "1/C_tot at the widest w", "w/(eps0 eps_depl)"};
    size_t c;
    (void)aos;
    x[BRUNO__H_PS] = q[BRUNO__HP_PS];
    x[BRUNO__H_VU] = vu;
    x[BRUNO__H_GW] = g;
    x[BRUNO__H_G2] = 2 * q[BRUNO__HP_PS] * g;
    x[BRUNO__H_IC0] = 1 / (efe * A / q[BRUNO__HP_TFE] + q[BRUNO__HP_CPAR]);
    x[BRUNO__H_KCW] = kcw;
    x[BRUNO__H_KPW] = 1 / (BRUNO__H_EPS0 * q[BRUNO__HP_EDE]);
    x[BRUNO__H_TFE] = q[BRUNO__HP_TFE];
    x[BRUNO__H_RFD] = q[BRUNO__HP_EFE] / q[BRUNO__HP_EDE];
    x[BRUNO__H_XD] = beta * (q[BRUNO__HP_WB] + q[BRUNO__HP_DE] * q[BRUNO__HP_EOFF]);
    x[BRUNO__H_XU] = beta * (q[BRUNO__HP_WB] - q[BRUNO__HP_DE] * q[BRUNO__HP_EOFF]);
    x[BRUNO__H_BE] = beta * q[BRUNO__HP_DE];
    x[BRUNO__H_L2NU] = log2(BRUNO__H_KB * q[BRUNO__HP_T] / BRUNO__H_HP);
    x[BRUNO__H_A] = A;
    x[BRUNO__H_I0A] = q[BRUNO__HP_I0] * A;
    x[BRUNO__H_IVTL2] = l2e / q[BRUNO__HP_VT];
    x[BRUNO__H_IVT] = 1 / q[BRUNO__HP_VT];
    x[BRUNO__H_IDSC] = q[BRUNO__HP_IDSC];
    x[BRUNO__H_VCLIP] = q[BRUNO__HP_VCLIP];
    x[BRUNO__H_GAIN] = gain;
    for (c = 0; c < BRUNO__H_COUNT + 2; ++c) {
        double y;
        bruno_result r;
        if (c == BRUNO__H_GAIN) continue; /* (1 + sigma n) of the input gain, not a device constant */
        y = c < BRUNO__H_COUNT ? x[c] : (c == BRUNO__H_COUNT ? x[BRUNO__H_IC0] + whi * kcw : whi * x[BRUNO__H_KPW]);
        r = bruno_device_check_const(y, key[c], what[c], msg, cap);
        if (r != BRUNO_OK) return r;
    }
    for (c = 0; c < BRUNO__H_COUNT; ++c) S[c * n + j] = (bruno_real)x[c];
    return BRUNO_OK;
}

/* The engine freezes and spikes at v >= thr; MODELS §7 says v > V_thr. The
   threshold handed over is therefore the next value above V_thr in the
   build's precision: v >= that is v > V_thr for every v (the surrogate's
   x = v - thr moves by one ulp of V_thr). */
static bruno_device_state bruno__heracles_state(const double *q)
{
    bruno_device_state st;
    bruno_real thr = (bruno_real)q[BRUNO__HP_VTHR];
#if BRUNO_REAL_IS_DOUBLE
    st.V_thr = nextafter(thr, HUGE_VAL);
#else
    st.V_thr = (double)nextafterf(thr, HUGE_VALF);
#endif
    st.v_reset = q[BRUNO__HP_VRESET];
    st.v_init = q[BRUNO__HP_VINIT];
    st.p_reset = q[BRUNO__HP_PRESET] / q[BRUNO__HP_PS];
    st.p_init = q[BRUNO__HP_PINIT] / q[BRUNO__HP_PS];
    return st;
}

/* One lane's Euler step with the pieces its adjoint needs. */
typedef struct bruno__hlane {
    bruno_real vn, pn;            /* the new state: p clipped, v before the clip */
    bruno_real pc;                /* 1 where p was clipped (or landed on a bound) */
    bruno_real a, sa, b, Pp, Pm, Ds, w0, w, whi, iC, den, E, kd, ku, md, mu, f, fe, sv, ev, Il;
} bruno__hlane;

#define BRUNO__HS(f) S[(f) * n + j]

static BRUNO__INLINE void bruno__heracles_eval(const bruno_real *S, size_t n, size_t j, bruno_real v, bruno_real p,
                                              bruno_real I, bruno_real tau, bruno__hlane *o)
{
    const bruno_real Ps = BRUNO__HS(BRUNO__H_PS), vu = BRUNO__HS(BRUNO__H_VU);
    bruno_real D, xd, xu, ed, eu, pr;
    o->a = BRUNO__FABS(v - vu);
    o->sa = BRUNO__COPYSIGN((bruno_real)1, v - vu);
    o->b = v + vu;
    o->Pp = Ps + p;
    o->Pm = Ps - p;
    D = o->Pp * o->a + o->Pm * o->b;
    o->Ds = D == 0 ? (bruno_real)1 : D;
    o->w0 = BRUNO__HS(BRUNO__H_G2) * o->b * o->a / o->Ds;
    o->whi = BRUNO__HS(BRUNO__H_GW) * (BRUNO__FABS(v) + vu);
    o->w = o->w0 < 0 ? (bruno_real)0 : (o->w0 > o->whi ? o->whi : o->w0);
    o->iC = BRUNO__HS(BRUNO__H_IC0) + o->w * BRUNO__HS(BRUNO__H_KCW); /* 1/C_tot */
    o->den = BRUNO__HS(BRUNO__H_TFE) + o->w * BRUNO__HS(BRUNO__H_RFD);
    o->E = (v - p * o->w * BRUNO__HS(BRUNO__H_KPW)) / o->den; /* v eps_depl/den - p w/(eps0 den) */
    /* k_down, k_up = (k_B T/h) e^(-max(w_b -+ w_e, 0) q/(k_B T)), w_e = (E - e_off) d_e;
       floored at 2^-126/s (the float exp2's range; 0 for any purpose) */
    xd = BRUNO__HS(BRUNO__H_XD) - BRUNO__HS(BRUNO__H_BE) * o->E;
    xu = BRUNO__HS(BRUNO__H_XU) + BRUNO__HS(BRUNO__H_BE) * o->E;
    ed = BRUNO__HS(BRUNO__H_L2NU) - (xd > 0 ? xd : (bruno_real)0);
    eu = BRUNO__HS(BRUNO__H_L2NU) - (xu > 0 ? xu : (bruno_real)0);
    o->md = (bruno_real)((xd > 0) & (ed > -126));
    o->mu = (bruno_real)((xu > 0) & (eu > -126));
    o->kd = bruno__fexp2(ed < -126 ? (bruno_real)-126 : ed);
    o->ku = bruno__fexp2(eu < -126 ? (bruno_real)-126 : eu);
    o->f = o->kd * o->Pm - o->ku * o->Pp; /* dp/dt = 2 P_s (k_down (1 - prob) - k_up prob) */
    pr = p + tau * o->f;
    o->pc = (bruno_real)((pr >= Ps) | (pr <= -Ps));
    o->pn = pr >= Ps ? Ps : (pr <= -Ps ? -Ps : pr);
    o->fe = o->pc != 0 ? (o->pn - p) / tau : o->f; /* the charge-conserving clip (above) */
    o->sv = (bruno_real)(v > 0) - (bruno_real)(v < 0);
    o->ev = bruno__fexp2(v * BRUNO__HS(BRUNO__H_IVTL2)); /* |v| <= v_clip, v_clip/V_t <= 80 */
    o->Il = o->sv * (BRUNO__HS(BRUNO__H_I0A) * (o->ev - 1) + BRUNO__HS(BRUNO__H_IDSC));
    o->vn = v + tau * (I - o->Il - BRUNO__HS(BRUNO__H_A) * o->fe) * o->iC;
}

static BRUNO__INLINE void bruno__heracles_lane(const bruno_real *S, size_t n, size_t j, bruno_real v, bruno_real p,
                                              bruno_real I, bruno_real tau, bruno_real *vn, bruno_real *pn)
{
    bruno__hlane o;
    bruno__heracles_eval(S, n, j, v, p, I, tau, &o);
    *vn = o.vn;
    *pn = o.pn;
}

/* The Jacobian of one clipped step. grad = 1: the plain derivative (the
   clips pass nothing, the charge-conserving clip's I_p = A (p' - p)/tau
   included); grad = 0: the authors' rule on their step (I_p = A dp/dt):
   w (so C_tot and both dividers) and I_leak constant, dp/dt's gradient
   times 1e-3, except where the clip stops p (then I_p = A (p' - p)/tau
   as in the plain rule). Selected, not multiplied by 0/1, so an infinite term of the
   rule not chosen cannot make a NaN. */
typedef struct bruno__hjac {
    bruno_real dv_dv, dv_dp, dv_dI, dp_dv, dp_dp, tv, tp;
} bruno__hjac;

static BRUNO__INLINE void bruno__heracles_jac(const bruno_real *S, size_t n, size_t j, bruno_real v, bruno_real p,
                                             bruno_real I, bruno_real tau, bruno_real grad, bruno__hjac *J)
{
    const bruno_real KPW = BRUNO__HS(BRUNO__H_KPW), RFD = BRUNO__HS(BRUNO__H_RFD), A = BRUNO__HS(BRUNO__H_A);
    const bruno_real vc = BRUNO__HS(BRUNO__H_VCLIP), ln2 = (bruno_real)0.693147180559945309;
    /* every constant loaded unconditionally: a load under a select became a
       masked load of an invariant address, which gcc 12 cannot vectorise */
    const bruno_real GW = BRUNO__HS(BRUNO__H_GW), I0A = BRUNO__HS(BRUNO__H_I0A), IVT = BRUNO__HS(BRUNO__H_IVT);
    const int plain = grad != 0;
    bruno__hlane o;
    bruno_real num_v, D_v, D_p, w_v, w_p, E_v, E_p, kE, f_v, f_p, fe_v, fe_p, Il_v, sc, q;
    int wi;
    bruno__heracles_eval(S, n, j, v, p, I, tau, &o);
    /* w = num/D with num = 2 P_s g b a, D = (P_s + p) a + (P_s - p) b */
    num_v = BRUNO__HS(BRUNO__H_G2) * (o.a + o.b * o.sa);
    D_v = o.Pp * o.sa + o.Pm;
    D_p = o.a - o.b;
    wi = (o.w0 >= 0) & (o.w0 <= o.whi);
    w_v = !plain ? (bruno_real)0
                 : (wi ? (num_v - o.w0 * D_v) / o.Ds : (o.w0 > o.whi ? GW * o.sv : (bruno_real)0));
    w_p = plain && wi ? -o.w0 * D_p / o.Ds : (bruno_real)0;
    Il_v = plain ? o.sv * I0A * o.ev * IVT : (bruno_real)0;
    sc = plain ? (bruno_real)1 : (bruno_real)1e-3;
    E_v = (1 - p * KPW * w_v - o.E * RFD * w_v) / o.den;
    E_p = (-KPW * (o.w + p * w_p) - o.E * RFD * w_p) / o.den;
    /* dk_down/dE = ln2 beta d_e k_down, dk_up/dE = -ln2 beta d_e k_up, 0 at
       max(., 0) and at the floor */
    kE = ln2 * BRUNO__HS(BRUNO__H_BE) * (o.md * o.kd * o.Pm + o.mu * o.ku * o.Pp);
    f_v = sc * kE * E_v;
    f_p = sc * (kE * E_p - o.kd - o.ku);
    /* where the clip stops p, both rules differentiate I_p = A (p' - p)/tau
       with p' = +-P_s: the charge the switching moved. The authors' step
       (I_p = A dp/dt) would give dv'/dp = tau^2 A k iC 1e-3 with k up to
       k_B T/h = 6e12/s, ~1e8 V per C/m^2 for the 1 ms step, where p sits on
       +P_s after a switching and v climbs to V_thr: that one term made
       BRUNO's gradient 1e5 times BPTT's at 1e-8 A (gradcheck). */
    fe_v = o.pc != 0 ? (bruno_real)0 : f_v;
    fe_p = o.pc != 0 ? -1 / tau : f_p;
    q = tau * (I - o.Il - A * o.fe);
    J->dv_dv = 1 + tau * (-Il_v - A * fe_v) * o.iC + q * BRUNO__HS(BRUNO__H_KCW) * w_v;
    J->dv_dp = -tau * A * fe_p * o.iC + q * BRUNO__HS(BRUNO__H_KCW) * w_p;
    J->dv_dI = tau * o.iC;
    J->dp_dv = tau * f_v;
    J->dp_dp = 1 + tau * f_p;
    /* a clipped output (a state on a bound counts as clipped) passes nothing */
    J->tv = (bruno_real)((o.vn < vc) & (o.vn > -vc));
    J->tp = 1 - o.pc;
}

static BRUNO__INLINE void bruno__heracles_adj(const bruno_real *S, size_t n, size_t j, bruno_real v, bruno_real p,
                                             bruno_real I, bruno_real tau, bruno_real grad, bruno_real act,
                                             bruno_real *gvp, bruno_real *gpp, bruno_real *gIp)
{
    bruno__hjac J;
    bruno_real gv = *gvp, gp = *gpp;
    int tv, tp;
    bruno__heracles_jac(S, n, j, v, p, I, tau, grad, &J);
    tv = (act != 0) & (J.tv != 0);
    tp = (act != 0) & (J.tp != 0);
    /* frozen lanes (act = 0) are the identity */
    *gvp = (act != 0 ? (bruno_real)0 : gv) + (tv ? gv * J.dv_dv : (bruno_real)0) + (tp ? gp * J.dp_dv : (bruno_real)0);
    *gpp = (act != 0 ? (bruno_real)0 : gp) + (tv ? gv * J.dv_dp : (bruno_real)0) + (tp ? gp * J.dp_dp : (bruno_real)0);
    *gIp = *gIp + (tv ? gv * J.dv_dI : (bruno_real)0);
}

BRUNO_DEVICE_PORTABLE_ROWS(bruno__heracles, bruno__heracles_lane, bruno__heracles_adj, BRUNO__H_VCLIP, BRUNO__H_PS)

#if BRUNO__AVX512
/* ---- Heracles' AVX-512 windows ------------------------------------------------
   The portable rows above run Heracles' step one row of lanes per call and
   one vector at a time. Its lane is a chain of about 90 dependent
   instructions with three divisions in it (w, E, the clip's charge), longer
   than the out-of-order window covers: the BRUNO forward ran at 27 % of
   the arithmetic limit of its 119 vector operations (`make bench`,
   results/bench.md) and took 92 % of a Braille epoch (perf). As FeLIF's
   kernel, each statement below is written for BRUNO__VU vectors side by
   side. A block of up to 64 lanes keeps its state, current and taken in
   registers for the whole window and stops on its own (a row of a varied
   population does too, see bruno__eng_fine), its constants broadcast once
   per window (uniform) or loaded once per block. Every operation is the
   portable lane's, in its order and with its roundings (the exp2 is
   bruno__fexp2 step for step, a * b + c is a product and a sum, fmaf an
   fma), so the bits are the portable rows' bits: tests/grad_hash.sh
   compares this build's Heracles cases with the portable build's, and
   tests/test_heracles.c runs both windows on random states and the
   trainers through both. The adjoint window (BPTT and checkpointing;
   BRUNO's backward pass is coarse) is written the same way. The reference
   kernel (BRUNO_KERNEL_REFERENCE) is the portable rows, a step at a time.
   Measured (bruno-bench throughput --neuron heracles --phases-only, E1
   hidden 128, 100 ms, one thread, AMD EPYC with AVX-512): BRUNO forward
   2.6e8 -> 5.3e8 updates/s; a Braille raw-file Heracles epoch at one
   thread 19.9 s -> 10.7 s, epochs.csv and state.bin unchanged. */
/* Heracles' forward runs whole blocks of 16 BRUNO__HVU lanes (8 vectors;
   the rest of a row in blocks of up to 4, as the adjoint). A block's window
   is one dependent chain per vector (step i + 1 needs step i's v and p), so
   the vectors side by side are all the core can overlap: with 8 instead of
   4, the BRUNO forward 1.12-1.16e9 -> 1.20-1.29e9 updates/s (throughput
   --neuron heracles --phases-only, runs alternated), a Braille raw-file
   epoch 5.16 -> 4.83 s; 6 was slower than 4 on E1's 128 lanes. */
#ifndef BRUNO__HVU
#define BRUNO__HVU 8
#endif
#if BRUNO__HVU > BRUNO__FVU
#error "bruno__v_freeze's arrays hold BRUNO__FVU vectors"
#endif
typedef struct bruno__hvc {
    __m512 ps, nps, vu, g2, gw, ic0, kcw, kpw, tfe, rfd, xd, xu, be, l2nu, a, i0a, ivtl2, ivt, idsc, vclip, nvclip;
} bruno__hvc;

/* vmaxps, vminps (a > b ? a : b, a < b ? a : b; b where either is NaN)
   under a full mask: g++ 12 warns that the unmasked forms' pass-through
   operand is uninitialised */
static BRUNO__INLINE __m512 bruno__v_max(__m512 a, __m512 b) { return _mm512_maskz_max_ps((__mmask16)0xffff, a, b); }
static BRUNO__INLINE __m512 bruno__v_min(__m512 a, __m512 b) { return _mm512_maskz_min_ps((__mmask16)0xffff, a, b); }

/* -x, exactly (the sign bit flipped, as C's unary minus) */
static BRUNO__INLINE __m512 bruno__v_neg(__m512 x)
{
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u)));
}

static BRUNO__INLINE void bruno__hvc_load(bruno__hvc *c, const bruno_real *S, size_t n, size_t j, int uniform,
                                         __mmask16 k)
{
#define BRUNO__HLD(f) (uniform ? _mm512_set1_ps(S[(f) * n]) : _mm512_maskz_loadu_ps(k, S + (f) * n + j))
    c->ps = BRUNO__HLD(BRUNO__H_PS);
    c->nps = bruno__v_neg(c->ps);
    c->vu = BRUNO__HLD(BRUNO__H_VU);
    c->g2 = BRUNO__HLD(BRUNO__H_G2);
    c->gw = BRUNO__HLD(BRUNO__H_GW);
    c->ic0 = BRUNO__HLD(BRUNO__H_IC0);
    c->kcw = BRUNO__HLD(BRUNO__H_KCW);
    c->kpw = BRUNO__HLD(BRUNO__H_KPW);
    c->tfe = BRUNO__HLD(BRUNO__H_TFE);
    c->rfd = BRUNO__HLD(BRUNO__H_RFD);
    c->xd = BRUNO__HLD(BRUNO__H_XD);
    c->xu = BRUNO__HLD(BRUNO__H_XU);
    c->be = BRUNO__HLD(BRUNO__H_BE);
    c->l2nu = BRUNO__HLD(BRUNO__H_L2NU);
    c->a = BRUNO__HLD(BRUNO__H_A);
    c->i0a = BRUNO__HLD(BRUNO__H_I0A);
    c->ivtl2 = BRUNO__HLD(BRUNO__H_IVTL2);
    c->ivt = BRUNO__HLD(BRUNO__H_IVT);
    c->idsc = BRUNO__HLD(BRUNO__H_IDSC);
    c->vclip = BRUNO__HLD(BRUNO__H_VCLIP);
    c->nvclip = bruno__v_neg(c->vclip);
#undef BRUNO__HLD
}

/* bruno__fexp2 on BRUNO__VU vectors, with its bits: the shifter's
   rounding, Estrin's scheme, then p 2^n. bruno__fexp2 multiplies by 2^n
   made from the integer bits; vscalef(p, n) is the same exactly rounded
   p 2^n in one instruction for every n the callers make (-126 to 43:
   2^n normal, no overflow), in place of the shift, two integer sums and
   the product. The shifter's n = (y + 1.5 2^23) - 1.5 2^23 is y rounded to
   the nearest integer, ties to even, for |y| < 2^22: vroundscale's, in one
   instruction for two. They differ only in the sign of a zero n (y in
   (-1/2, -0]: the shifter +0, vroundscale -0), which changes neither
   f = y - n but at y = -0 (-0 against +0: the polynomial's value is the
   same) nor 2^n. */
static BRUNO__INLINE void bruno__hv_exp2(int nu, const __m512 *y, __m512 *out)
{
    __m512 n[BRUNO__HVU], f[BRUNO__HVU], f2[BRUNO__HVU], p01[BRUNO__HVU], p23[BRUNO__HVU], p45[BRUNO__HVU];
    BRUNO__EACH(n[u_] = _mm512_maskz_roundscale_ps((__mmask16)0xffff, y[u_], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    BRUNO__EACH(f[u_] = _mm512_sub_ps(y[u_], n[u_]));
    BRUNO__EACH(f2[u_] = _mm512_mul_ps(f[u_], f[u_]));
    BRUNO__EACH(p01[u_] = _mm512_fmadd_ps(BRUNO__V1(0.693147188f), f[u_], BRUNO__V1(1.000000075f)));
    BRUNO__EACH(p23[u_] = _mm512_fmadd_ps(BRUNO__V1(0.05550357114f), f[u_], BRUNO__V1(0.2402210749f)));
    BRUNO__EACH(p45[u_] = _mm512_fmadd_ps(BRUNO__V1(0.001339086336f), f[u_], BRUNO__V1(0.009676031918f)));
    BRUNO__EACH(p01[u_] = _mm512_fmadd_ps(_mm512_fmadd_ps(p45[u_], f2[u_], p23[u_]), f2[u_], p01[u_]));
    BRUNO__EACH(out[u_] = _mm512_maskz_scalef_ps((__mmask16)0xffff, p01[u_], n[u_]));
}

#define BRUNO__HVC(u) (&c[cu ? (u) : 0])

/* bruno__heracles_eval (MODELS §7) for BRUNO__VU vectors: the new state
   and the pieces the adjoint needs (what the forward does not read, the
   compiler leaves out). */
/* A switching rate of MODELS §7 from its barrier's exponent x:
   k = 2^(log2(k_B T/h) - max(x, 0)), the exponent floored at -126 (as
   bruno__heracles_eval), and m = 1 where neither the max nor the floor
   acts (the rate's derivative passes there), 0 elsewhere. x is used up. */
static BRUNO__INLINE void bruno__hv_rate(int nu, const bruno__hvc *c, int cu, __m512 *x, __m512 *m, __m512 *k)
{
    const __m512 zero = _mm512_setzero_ps(), lo = BRUNO__V1(-126.0f);
    __mmask16 pos[BRUNO__HVU];
    /* x > 0 ? x : 0 and x < lo ? lo : x are vmaxps(x, 0) and vmaxps(lo, x)
       exactly (vmaxps(a, b) is a > b ? a : b, b where either is NaN): one
       instruction each for a compare into a mask and a masked move. pos is
       the mask of m only, which the forward does not read (and the compiler
       leaves out). */
    BRUNO__EACH(pos[u_] = _mm512_cmp_ps_mask(x[u_], zero, _CMP_GT_OQ));
    BRUNO__EACH(x[u_] = _mm512_sub_ps(BRUNO__HVC(u_)->l2nu, bruno__v_max(x[u_], zero)));
    BRUNO__EACH(m[u_] = _mm512_maskz_mov_ps(pos[u_] & _mm512_cmp_ps_mask(x[u_], lo, _CMP_GT_OQ), BRUNO__V1(1.0f)));
    BRUNO__EACH(x[u_] = bruno__v_max(lo, x[u_]));
    bruno__hv_exp2(nu, x, k);
}

typedef struct bruno__hvlane {
    __m512 a[BRUNO__HVU], sa[BRUNO__HVU], b[BRUNO__HVU], Pp[BRUNO__HVU], Pm[BRUNO__HVU], Ds[BRUNO__HVU], w0[BRUNO__HVU],
        w[BRUNO__HVU], whi[BRUNO__HVU], iC[BRUNO__HVU], den[BRUNO__HVU], E[BRUNO__HVU], kd[BRUNO__HVU], ku[BRUNO__HVU],
        md[BRUNO__HVU], mu[BRUNO__HVU], fe[BRUNO__HVU], sv[BRUNO__HVU], ev[BRUNO__HVU], Il[BRUNO__HVU], vn[BRUNO__HVU],
        pn[BRUNO__HVU];
    __mmask16 pc[BRUNO__HVU]; /* p was clipped (or landed on a bound) */
} bruno__hvlane;

static BRUNO__INLINE void bruno__hv_eval(int nu, const bruno__hvc *c, int cu, const __m512 *v, const __m512 *p,
                                         const __m512 *I, __m512 tau, bruno__hvlane *o)
{
    const __m512 zero = _mm512_setzero_ps(), one = BRUNO__V1(1.0f);
    __m512 t[BRUNO__HVU], x[BRUNO__HVU], f[BRUNO__HVU], pr[BRUNO__HVU];
    BRUNO__EACH(o->a[u_] = _mm512_abs_ps(_mm512_sub_ps(v[u_], BRUNO__HVC(u_)->vu)));
    BRUNO__EACH(o->sa[u_] = bruno__v_copysign((__mmask16)0xffff, one, _mm512_sub_ps(v[u_], BRUNO__HVC(u_)->vu)));
    BRUNO__EACH(o->b[u_] = _mm512_add_ps(v[u_], BRUNO__HVC(u_)->vu));
    BRUNO__EACH(o->Pp[u_] = _mm512_add_ps(BRUNO__HVC(u_)->ps, p[u_]));
    BRUNO__EACH(o->Pm[u_] = _mm512_sub_ps(BRUNO__HVC(u_)->ps, p[u_]));
    BRUNO__EACH(t[u_] = _mm512_add_ps(_mm512_mul_ps(o->Pp[u_], o->a[u_]), _mm512_mul_ps(o->Pm[u_], o->b[u_])));
    BRUNO__EACH(o->Ds[u_] = _mm512_mask_mov_ps(t[u_], _mm512_cmp_ps_mask(t[u_], zero, _CMP_EQ_OQ), one));
    BRUNO__EACH(o->w0[u_] = _mm512_div_ps(_mm512_mul_ps(_mm512_mul_ps(BRUNO__HVC(u_)->g2, o->b[u_]), o->a[u_]),
                                          o->Ds[u_]));
    BRUNO__EACH(o->whi[u_] = _mm512_mul_ps(BRUNO__HVC(u_)->gw, _mm512_add_ps(_mm512_abs_ps(v[u_]), BRUNO__HVC(u_)->vu)));
    /* w0 < 0 ? 0 : (w0 > whi ? whi : w0), both tests on w0: vminps(whi, w0)
       is whi < w0 ? whi : w0 (w0 where either is NaN), and as whi >= 0 (g,
       v_u >= 0) that is < 0 exactly where w0 < 0, so vmaxps(0, .) is the
       outer test (-0 and NaN pass through, as there) */
    BRUNO__EACH(o->w[u_] = bruno__v_max(zero, bruno__v_min(o->whi[u_], o->w0[u_])));
    BRUNO__EACH(o->iC[u_] = _mm512_add_ps(BRUNO__HVC(u_)->ic0, _mm512_mul_ps(o->w[u_], BRUNO__HVC(u_)->kcw)));
    BRUNO__EACH(o->den[u_] = _mm512_add_ps(BRUNO__HVC(u_)->tfe, _mm512_mul_ps(o->w[u_], BRUNO__HVC(u_)->rfd)));
    BRUNO__EACH(o->E[u_] = _mm512_div_ps(
                    _mm512_sub_ps(v[u_], _mm512_mul_ps(_mm512_mul_ps(p[u_], o->w[u_]), BRUNO__HVC(u_)->kpw)),
                    o->den[u_]));
    BRUNO__EACH(t[u_] = _mm512_mul_ps(BRUNO__HVC(u_)->be, o->E[u_]));
    /* k_down with xd = XD - beta d_e E, k_up with xu = XU + beta d_e E */
    BRUNO__EACH(x[u_] = _mm512_sub_ps(BRUNO__HVC(u_)->xd, t[u_]));
    bruno__hv_rate(nu, c, cu, x, o->md, o->kd);
    BRUNO__EACH(x[u_] = _mm512_add_ps(BRUNO__HVC(u_)->xu, t[u_]));
    bruno__hv_rate(nu, c, cu, x, o->mu, o->ku);
    BRUNO__EACH(f[u_] = _mm512_sub_ps(_mm512_mul_ps(o->kd[u_], o->Pm[u_]), _mm512_mul_ps(o->ku[u_], o->Pp[u_])));
    BRUNO__EACH(pr[u_] = _mm512_add_ps(p[u_], _mm512_mul_ps(tau, f[u_])));
    /* pr >= P_s or pr <= -P_s is |pr| >= P_s; pr clipped to [-P_s, P_s] is
       vrange's smaller magnitude with pr's sign (a bound it lands on is
       the bound's value either way) */
    BRUNO__EACH(o->pc[u_] = _mm512_cmp_ps_mask(_mm512_abs_ps(pr[u_]), BRUNO__HVC(u_)->ps, _CMP_GE_OQ));
    BRUNO__EACH(o->pn[u_] = _mm512_range_ps(pr[u_], BRUNO__HVC(u_)->ps, 0x02));
    /* the charge-conserving clip: (p' - p)/tau where p was clipped */
    BRUNO__EACH(o->fe[u_] = _mm512_mask_div_ps(f[u_], o->pc[u_], _mm512_sub_ps(o->pn[u_], p[u_]), tau));
    /* sign(v) = (v > 0) - (v < 0): +-1 with v's sign where v != 0 (neither
       +-0 nor NaN), +0 elsewhere */
    BRUNO__EACH(o->sv[u_] = bruno__v_copysign(_mm512_cmp_ps_mask(v[u_], zero, _CMP_NEQ_OQ), one, v[u_]));
    BRUNO__EACH(x[u_] = _mm512_mul_ps(v[u_], BRUNO__HVC(u_)->ivtl2));
    bruno__hv_exp2(nu, x, o->ev);
    /* I_leak = sign(v) (I0A (e^(v/V_t) - 1) + I_dsc) */
    BRUNO__EACH(o->Il[u_] = _mm512_mul_ps(
                    o->sv[u_], _mm512_add_ps(_mm512_mul_ps(BRUNO__HVC(u_)->i0a, _mm512_sub_ps(o->ev[u_], one)),
                                             BRUNO__HVC(u_)->idsc)));
    BRUNO__EACH(o->vn[u_] = _mm512_add_ps(
                    v[u_], _mm512_mul_ps(_mm512_mul_ps(tau, _mm512_sub_ps(_mm512_sub_ps(I[u_], o->Il[u_]),
                                                                          _mm512_mul_ps(BRUNO__HVC(u_)->a, o->fe[u_]))),
                                         o->iC[u_])));
}

/* Steps [i0, i1) of the nu vectors of one block at vr etc. (lanes km), the
   state in registers; stops after the step that leaves none of its lanes
   running and returns the steps run. With sv, step i's input state goes to
   sv, sp + (i - i0) stride. The row's clip and freeze as
   BRUNO_DEVICE_PORTABLE_ROWS (its second clip of p to +-P_s is the
   identity on the lane's clipped p, so it is left out). */
static BRUNO__INLINE uint32_t bruno__hv_block(int nu, const bruno__hvc *c, int cu, const __mmask16 *km,
                                              bruno_real *vr, bruno_real *pr, uint32_t *tr, const bruno_real *Ir,
                                              uint32_t i0, uint32_t i1, __m512 tau, __m512 thr, bruno_real *sv,
                                              bruno_real *sp, size_t stride, int stream)
{
    __m512 v[BRUNO__HVU], p[BRUNO__HVU], I[BRUNO__HVU], vn[BRUNO__HVU];
    __m512i tk[BRUNO__HVU];
    __mmask16 rn[BRUNO__HVU], run;
    bruno__hvlane o;
    uint32_t i;
    int full = 1, simple; /* every vector whole: plain (or non-temporal) stores, not masked ones */
    BRUNO__EACH(full &= km[u_] == (__mmask16)0xffff);
    BRUNO__EACH(v[u_] = _mm512_maskz_loadu_ps(km[u_], vr + 16 * u_));
    BRUNO__EACH(p[u_] = _mm512_maskz_loadu_ps(km[u_], pr + 16 * u_));
    BRUNO__EACH(I[u_] = _mm512_maskz_loadu_ps(km[u_], Ir + 16 * u_));
    BRUNO__EACH(tk[u_] = _mm512_maskz_loadu_epi32(km[u_], tr + 16 * u_));
    simple = bruno__v_freeze_init(nu, km, tk, i0, rn);
    for (i = i0; i < i1; ++i) {
        if (sv) bruno__v_store_state(nu, full, stream, km, v, p, sv + (size_t)(i - i0) * stride,
                                     sp + (size_t)(i - i0) * stride);
        bruno__hv_eval(nu, c, cu, v, p, I, tau, &o);
        /* vn > v_clip ? v_clip : (vn < -v_clip ? -v_clip : vn): vrange's
           smaller magnitude with vn's sign, as FeLIF's clip */
        BRUNO__EACH(vn[u_] = _mm512_range_ps(o.vn[u_], BRUNO__HVC(u_)->vclip, 0x02));
        /* freeze at the step after which v >= V_thr */
        run = simple ? bruno__v_freeze_rn(nu, rn, tk, v, p, vn, o.pn, thr, i)
                     : bruno__v_freeze(nu, km, tk, v, p, vn, o.pn, thr, i);
        if (!run) {
            ++i;
            break;
        }
    }
    BRUNO__EACH(_mm512_mask_storeu_ps(vr + 16 * u_, km[u_], v[u_]));
    BRUNO__EACH(_mm512_mask_storeu_ps(pr + 16 * u_, km[u_], p[u_]));
    BRUNO__EACH(_mm512_mask_storeu_epi32(tr + 16 * u_, km[u_], tk[u_]));
    return i - i0;
}

/* The row [ja, jb) in blocks of 16 BRUNO__VU lanes (the last one as many
   vectors as it fills, each count a literal). A block that stopped before
   the row repeats its frozen state in the steps the row still ran, so the
   store holds what one step at a time over the row would (as the engine
   does for the rows of a varied population). */
static BRUNO__INLINE uint32_t bruno__hv_window_impl(const bruno_device_row *r, uint32_t i0, uint32_t i1,
                                                    bruno_real tau, bruno_real *sv, bruno_real *sp, size_t stride,
                                                    int uniform, int stream)
{
    const __m512 vtau = _mm512_set1_ps(tau), vthr = _mm512_set1_ps(r->thr);
    bruno__hvc c[BRUNO__HVU];
    __mmask16 km[BRUNO__HVU];
    size_t j, jb = r->jb;
    uint32_t k = i0 < i1, kb, i;
    if (uniform) bruno__hvc_load(&c[0], r->S, r->n, 0, 1, (__mmask16)0xffff);
    for (j = r->ja; jb - j >= 16 * BRUNO__HVU; j += 16 * BRUNO__HVU) {
        int nu = BRUNO__HVU;
        bruno_real *svj = sv ? sv + j : NULL, *spj = sv ? sp + j : NULL;
        BRUNO__EACH(km[u_] = (__mmask16)0xffff);
        if (!uniform) BRUNO__EACH(bruno__hvc_load(&c[u_], r->S, r->n, j + 16 * (size_t)u_, 0, km[u_]));
        kb = bruno__hv_block(BRUNO__HVU, c, !uniform, km, r->v + j, r->p + j, r->taken + j, r->I + j, i0, i1, vtau, vthr,
                             svj, spj, stride, stream);
        if (kb > k) k = kb;
    }
    for (; j < jb; j += 16 * BRUNO__VU) {
        int nu = jb - j > 48 ? 4 : jb - j > 32 ? 3 : jb - j > 16 ? 2 : 1;
        bruno_real *svj = sv ? sv + j : NULL, *spj = sv ? sp + j : NULL;
        BRUNO__EACH(km[u_] = jb - j - 16 * (size_t)u_ >= 16 ? (__mmask16)0xffff
                                                             : (__mmask16)((1u << (jb - j - 16 * (size_t)u_)) - 1u));
        if (!uniform) BRUNO__EACH(bruno__hvc_load(&c[u_], r->S, r->n, j + 16 * (size_t)u_, 0, km[u_]));
        if (nu == 4)
            kb = bruno__hv_block(4, c, !uniform, km, r->v + j, r->p + j, r->taken + j, r->I + j, i0, i1, vtau, vthr,
                                 svj, spj, stride, stream);
        else if (nu == 3)
            kb = bruno__hv_block(3, c, !uniform, km, r->v + j, r->p + j, r->taken + j, r->I + j, i0, i1, vtau, vthr,
                                 svj, spj, stride, stream);
        else if (nu == 2)
            kb = bruno__hv_block(2, c, !uniform, km, r->v + j, r->p + j, r->taken + j, r->I + j, i0, i1, vtau, vthr,
                                 svj, spj, stride, stream);
        else
            kb = bruno__hv_block(1, c, !uniform, km, r->v + j, r->p + j, r->taken + j, r->I + j, i0, i1, vtau, vthr,
                                 svj, spj, stride, stream);
        if (kb > k) k = kb;
    }
    if (sv)
        for (j = r->ja; j < jb; j += 16 * BRUNO__VU) {
            size_t je = jb - j > 16 * BRUNO__VU ? j + 16 * BRUNO__VU : jb;
            for (i = bruno__row_steps(r->taken, j, je, i0, i1); i < k; ++i) {
                memcpy(sv + (size_t)i * stride + j, r->v + j, (je - j) * sizeof *sv);
                memcpy(sp + (size_t)i * stride + j, r->p + j, (je - j) * sizeof *sp);
            }
        }
    if (stream) _mm_sfence(); /* the non-temporal stores before any later read, by any thread */
    return k;
}

/* The adjoint of steps i1 - 1 down to i0 of one block, as
   bruno__heracles_jac and bruno__heracles_adj operation for operation
   (grad a literal: 1 the plain derivative, 0 the authors' rule): lanes of
   act (i < taken; all when tr is NULL) reverse the step, the others keep
   their adjoints. Step i's input state is at vr, pr + (i - i0) stride; the
   adjoints, the current and taken stay in registers for the window. */
static BRUNO__INLINE void bruno__hv_adj_block(int nu, const bruno__hvc *c, int cu, const __mmask16 *km,
                                              const bruno_real *vr, const bruno_real *pr, size_t stride,
                                              const bruno_real *Ir, const uint32_t *tr, bruno_real *gvr,
                                              bruno_real *gpr, bruno_real *gIr, uint32_t i0, uint32_t i1, __m512 tau,
                                              int grad)
{
    const __m512 zero = _mm512_setzero_ps(), one = BRUNO__V1(1.0f);
    const __m512 ln2 = BRUNO__V1((bruno_real)0.693147180559945309), sc = BRUNO__V1(grad ? 1.0f : (bruno_real)1e-3);
    const __m512 fe_clip = _mm512_div_ps(BRUNO__V1(-1.0f), tau), ntau = bruno__v_neg(tau);
    __m512 v[BRUNO__VU], p[BRUNO__VU], I[BRUNO__VU], gv[BRUNO__VU], gp[BRUNO__VU], gI[BRUNO__VU];
    __m512 w_v[BRUNO__VU], w_p[BRUNO__VU], Il_v[BRUNO__VU], t[BRUNO__VU], E_v[BRUNO__VU], E_p[BRUNO__VU],
        kE[BRUNO__VU], f_v[BRUNO__VU], f_p[BRUNO__VU], q[BRUNO__VU], dv_dv[BRUNO__VU], dv_dp[BRUNO__VU],
        dp_dv[BRUNO__VU], dp_dp[BRUNO__VU], ngv[BRUNO__VU], ngp[BRUNO__VU];
    __m512i tk[BRUNO__VU];
    __mmask16 act[BRUNO__VU], wi[BRUNO__VU], tv[BRUNO__VU], tp[BRUNO__VU];
    bruno__hvlane o;
    uint32_t i = i1;
    int full = 1;
    BRUNO__EACH(full &= km[u_] == (__mmask16)0xffff);
    BRUNO__EACH(I[u_] = _mm512_maskz_loadu_ps(km[u_], Ir + 16 * u_));
    BRUNO__EACH(gv[u_] = _mm512_maskz_loadu_ps(km[u_], gvr + 16 * u_));
    BRUNO__EACH(gp[u_] = _mm512_maskz_loadu_ps(km[u_], gpr + 16 * u_));
    BRUNO__EACH(gI[u_] = _mm512_maskz_loadu_ps(km[u_], gIr + 16 * u_));
    BRUNO__EACH(tk[u_] = tr ? _mm512_maskz_loadu_epi32(km[u_], tr + 16 * u_) : _mm512_set1_epi32(-1));
    while (i-- > i0) {
        const bruno_real *vi_ = vr + (size_t)(i - i0) * stride, *pi_ = pr + (size_t)(i - i0) * stride;
        const __m512i vi = _mm512_set1_epi32((int)i);
        if (full) { /* whole vectors: plain loads. Masked ones of all 16 lanes held BPTT's
                       adjoint at 2.4e8 updates/s; plain, 7.0e8 (throughput --neuron heracles) */
            BRUNO__EACH(v[u_] = _mm512_loadu_ps(vi_ + 16 * u_));
            BRUNO__EACH(p[u_] = _mm512_loadu_ps(pi_ + 16 * u_));
        } else {
            BRUNO__EACH(v[u_] = _mm512_maskz_loadu_ps(km[u_], vi_ + 16 * u_));
            BRUNO__EACH(p[u_] = _mm512_maskz_loadu_ps(km[u_], pi_ + 16 * u_));
        }
        BRUNO__EACH(act[u_] = _mm512_mask_cmpgt_epu32_mask(km[u_], tk[u_], vi));
        bruno__hv_eval(nu, c, cu, v, p, I, tau, &o);
        /* w = num/D: num_v = 2 P_s g (a + b sa), D_v = Pp sa + Pm, D_p = a - b */
        BRUNO__EACH(wi[u_] = _mm512_cmp_ps_mask(o.w0[u_], zero, _CMP_GE_OQ) &
                             _mm512_cmp_ps_mask(o.w0[u_], o.whi[u_], _CMP_LE_OQ));
        if (grad) {
            BRUNO__EACH(t[u_] = _mm512_sub_ps(
                            _mm512_mul_ps(BRUNO__HVC(u_)->g2, _mm512_add_ps(o.a[u_], _mm512_mul_ps(o.b[u_], o.sa[u_]))),
                            _mm512_mul_ps(o.w0[u_], _mm512_add_ps(_mm512_mul_ps(o.Pp[u_], o.sa[u_]), o.Pm[u_]))));
            BRUNO__EACH(w_v[u_] = _mm512_mask_mov_ps(
                            _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(o.w0[u_], o.whi[u_], _CMP_GT_OQ),
                                                _mm512_mul_ps(BRUNO__HVC(u_)->gw, o.sv[u_])),
                            wi[u_], _mm512_div_ps(t[u_], o.Ds[u_])));
            BRUNO__EACH(w_p[u_] = _mm512_maskz_mov_ps(
                            wi[u_], _mm512_div_ps(_mm512_mul_ps(bruno__v_neg(o.w0[u_]), _mm512_sub_ps(o.a[u_], o.b[u_])),
                                                  o.Ds[u_])));
            BRUNO__EACH(Il_v[u_] = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(o.sv[u_], BRUNO__HVC(u_)->i0a), o.ev[u_]),
                                                 BRUNO__HVC(u_)->ivt));
        } else {
            BRUNO__EACH(w_v[u_] = zero);
            BRUNO__EACH(w_p[u_] = zero);
            BRUNO__EACH(Il_v[u_] = zero);
        }
        BRUNO__EACH(t[u_] = _mm512_mul_ps(o.E[u_], BRUNO__HVC(u_)->rfd));
        BRUNO__EACH(E_v[u_] = _mm512_div_ps(
                        _mm512_sub_ps(_mm512_sub_ps(one, _mm512_mul_ps(_mm512_mul_ps(p[u_], BRUNO__HVC(u_)->kpw), w_v[u_])),
                                      _mm512_mul_ps(t[u_], w_v[u_])),
                        o.den[u_]));
        BRUNO__EACH(E_p[u_] = _mm512_div_ps(
                        _mm512_sub_ps(_mm512_mul_ps(bruno__v_neg(BRUNO__HVC(u_)->kpw),
                                                    _mm512_add_ps(o.w[u_], _mm512_mul_ps(p[u_], w_p[u_]))),
                                      _mm512_mul_ps(t[u_], w_p[u_])),
                        o.den[u_]));
        BRUNO__EACH(kE[u_] = _mm512_mul_ps(_mm512_mul_ps(ln2, BRUNO__HVC(u_)->be),
                                           _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(o.md[u_], o.kd[u_]), o.Pm[u_]),
                                                         _mm512_mul_ps(_mm512_mul_ps(o.mu[u_], o.ku[u_]), o.Pp[u_]))));
        BRUNO__EACH(f_v[u_] = _mm512_mul_ps(_mm512_mul_ps(sc, kE[u_]), E_v[u_]));
        BRUNO__EACH(f_p[u_] = _mm512_mul_ps(
                        sc, _mm512_sub_ps(_mm512_sub_ps(_mm512_mul_ps(kE[u_], E_p[u_]), o.kd[u_]), o.ku[u_])));
        /* where the clip stops p: I_p = A (p' - p)/tau (bruno__heracles_jac) */
        BRUNO__EACH(q[u_] = _mm512_mul_ps(tau, _mm512_sub_ps(_mm512_sub_ps(I[u_], o.Il[u_]),
                                                             _mm512_mul_ps(BRUNO__HVC(u_)->a, o.fe[u_]))));
        BRUNO__EACH(t[u_] = _mm512_mul_ps(q[u_], BRUNO__HVC(u_)->kcw));
        BRUNO__EACH(dv_dv[u_] = _mm512_add_ps(
                        _mm512_add_ps(one, _mm512_mul_ps(_mm512_mul_ps(tau, _mm512_sub_ps(bruno__v_neg(Il_v[u_]),
                                                                                          _mm512_mul_ps(
                                                                                              BRUNO__HVC(u_)->a,
                                                                                              _mm512_maskz_mov_ps(
                                                                                                  (__mmask16)~o.pc[u_],
                                                                                                  f_v[u_])))),
                                                         o.iC[u_])),
                        _mm512_mul_ps(t[u_], w_v[u_])));
        BRUNO__EACH(dv_dp[u_] = _mm512_add_ps(
                        _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(ntau, BRUNO__HVC(u_)->a),
                                                    _mm512_mask_mov_ps(f_p[u_], o.pc[u_], fe_clip)),
                                      o.iC[u_]),
                        _mm512_mul_ps(t[u_], w_p[u_])));
        BRUNO__EACH(dp_dv[u_] = _mm512_mul_ps(tau, f_v[u_]));
        BRUNO__EACH(dp_dp[u_] = _mm512_add_ps(one, _mm512_mul_ps(tau, f_p[u_])));
        /* a clipped output passes nothing; a frozen lane is the identity */
        BRUNO__EACH(tv[u_] = act[u_] & _mm512_cmp_ps_mask(o.vn[u_], BRUNO__HVC(u_)->vclip, _CMP_LT_OQ) &
                             _mm512_cmp_ps_mask(o.vn[u_], BRUNO__HVC(u_)->nvclip, _CMP_GT_OQ));
        BRUNO__EACH(tp[u_] = act[u_] & (__mmask16)~o.pc[u_]);
        BRUNO__EACH(ngv[u_] = _mm512_add_ps(_mm512_add_ps(_mm512_maskz_mov_ps((__mmask16)~act[u_], gv[u_]),
                                                          _mm512_maskz_mul_ps(tv[u_], gv[u_], dv_dv[u_])),
                                            _mm512_maskz_mul_ps(tp[u_], gp[u_], dp_dv[u_])));
        BRUNO__EACH(ngp[u_] = _mm512_add_ps(_mm512_add_ps(_mm512_maskz_mov_ps((__mmask16)~act[u_], gp[u_]),
                                                          _mm512_maskz_mul_ps(tv[u_], gv[u_], dv_dp[u_])),
                                            _mm512_maskz_mul_ps(tp[u_], gp[u_], dp_dp[u_])));
        BRUNO__EACH(gI[u_] = _mm512_add_ps(gI[u_], _mm512_maskz_mul_ps(tv[u_], gv[u_], _mm512_mul_ps(tau, o.iC[u_]))));
        BRUNO__EACH(gv[u_] = ngv[u_]);
        BRUNO__EACH(gp[u_] = ngp[u_]);
    }
    BRUNO__EACH(_mm512_mask_storeu_ps(gvr + 16 * u_, km[u_], gv[u_]));
    BRUNO__EACH(_mm512_mask_storeu_ps(gpr + 16 * u_, km[u_], gp[u_]));
    BRUNO__EACH(_mm512_mask_storeu_ps(gIr + 16 * u_, km[u_], gI[u_]));
}

/* The adjoint window of a row, block by block (blocks are independent
   backwards: each lane's adjoints depend only on its own states). */
static BRUNO__INLINE void bruno__hv_adj_impl(const bruno_device_row *r, uint32_t i0, uint32_t i1, bruno_real tau,
                                             size_t stride, int uniform, int grad)
{
    const __m512 vtau = _mm512_set1_ps(tau);
    bruno__hvc c[BRUNO__VU];
    __mmask16 km[BRUNO__VU];
    size_t j, jb = r->jb;
    if (uniform) bruno__hvc_load(&c[0], r->S, r->n, 0, 1, (__mmask16)0xffff);
    for (j = r->ja; j < jb; j += 16 * BRUNO__VU) {
        int nu = jb - j > 48 ? 4 : jb - j > 32 ? 3 : jb - j > 16 ? 2 : 1;
        const uint32_t *t = r->taken ? r->taken + j : NULL;
        BRUNO__EACH(km[u_] = jb - j - 16 * (size_t)u_ >= 16 ? (__mmask16)0xffff
                                                             : (__mmask16)((1u << (jb - j - 16 * (size_t)u_)) - 1u));
        if (!uniform) BRUNO__EACH(bruno__hvc_load(&c[u_], r->S, r->n, j + 16 * (size_t)u_, 0, km[u_]));
        if (nu == 4)
            bruno__hv_adj_block(4, c, !uniform, km, r->v + j, r->p + j, stride, r->I + j, t, r->gv + j, r->gp + j,
                                r->gI + j, i0, i1, vtau, grad);
        else if (nu == 3)
            bruno__hv_adj_block(3, c, !uniform, km, r->v + j, r->p + j, stride, r->I + j, t, r->gv + j, r->gp + j,
                                r->gI + j, i0, i1, vtau, grad);
        else if (nu == 2)
            bruno__hv_adj_block(2, c, !uniform, km, r->v + j, r->p + j, stride, r->I + j, t, r->gv + j, r->gp + j,
                                r->gI + j, i0, i1, vtau, grad);
        else
            bruno__hv_adj_block(1, c, !uniform, km, r->v + j, r->p + j, stride, r->I + j, t, r->gv + j, r->gp + j,
                                r->gI + j, i0, i1, vtau, grad);
    }
}

static BRUNO__NOINLINE void bruno__heracles_v_adj_window(const bruno_device_row *r, uint32_t i0, uint32_t i1,
                                                         bruno_real tau, size_t stride)
{
    if (r->grad) {
        if (r->uniform) bruno__hv_adj_impl(r, i0, i1, tau, stride, 1, 1);
        else bruno__hv_adj_impl(r, i0, i1, tau, stride, 0, 1);
    } else if (r->uniform) bruno__hv_adj_impl(r, i0, i1, tau, stride, 1, 0);
    else bruno__hv_adj_impl(r, i0, i1, tau, stride, 0, 0);
}

/* One step: the window's code, so the bits do not depend on how the
   engine cuts a window. */
static void bruno__heracles_v_adj_row(const bruno_device_row *r, uint32_t i, bruno_real tau)
{
    bruno__heracles_v_adj_window(r, i, i + 1, tau, 0);
}

static BRUNO__NOINLINE uint32_t bruno__heracles_v_fwd_window(const bruno_device_row *r, uint32_t i0, uint32_t i1,
                                                             bruno_real tau, bruno_real *sv, bruno_real *sp,
                                                             size_t stride, int stream)
{
    /* the store: whole vectors by plain stores (with masked stores of all
       16 lanes, BPTT's forward ran at 3.8e8 updates/s; plain, 7.7e8: bruno-bench
       throughput --neuron heracles --phases-only), non-temporal
       where asked and every whole vector it writes is 64-byte aligned (the
       blocks start 16 BRUNO__VU lanes apart), as FeLIF's bruno__v_window */
    if (sv) {
        stream = stream && ((uintptr_t)(sv + r->ja) | (uintptr_t)(sp + r->ja)) % 64 == 0 &&
                 (stride * sizeof(bruno_real)) % 64 == 0;
        /* stream stays a run-time flag: a copy of the kernel per value cost
           the forward without the store 10 % (code layout) */
        if (r->uniform) return bruno__hv_window_impl(r, i0, i1, tau, sv, sp, stride, 1, stream);
        return bruno__hv_window_impl(r, i0, i1, tau, sv, sp, stride, 0, stream);
    }
    if (r->uniform) return bruno__hv_window_impl(r, i0, i1, tau, NULL, NULL, 0, 1, 0);
    return bruno__hv_window_impl(r, i0, i1, tau, NULL, NULL, 0, 0, 0);
}
#undef BRUNO__HVC
#endif

/* Every fine-loop entry of Heracles (the windows, the rows, the reference
   kernel) runs with subnormal results flushed to zero (bruno__ftz_begin).
   Where a switching rate sits at its floor (2^-126/s) its product with
   P_s -+ p is subnormal, and so are the rate term of dp/dt and its current
   A dp/dt; on this AMD EPYC (Zen 5) every such result took a slow path.
   Measured (bruno-bench throughput --neuron heracles --phases-only, one
   thread): the AVX-512 BRUNO forward 6.3e8 -> 9.4e8 updates/s, the
   checkpointing backward 5.4e8 -> 8.3e8, BPTT's adjoint 1.9e8 -> 2.5e8; a
   Braille raw-file epoch 8.8 s -> 6.6 s. (Two earlier experiments read
   this wrongly: removing the division of the clip's charge changed
   nothing, and E's division as a product ran 1.5x only because its
   results were no longer subnormal.) A flushed value is below 1.2e-38 in a sum with a normal
   term many orders larger (p, v, I_leak), so it leaves the state's bits
   alone unless p or v is itself within ~1e-30 of zero while the other
   terms vanish: tests/grad_hash.sh's Heracles gradients and the quick
   grid's Heracles runs (epochs.csv, state.bin) are bit-identical to the
   gradual-underflow ones. Every kernel of one build flushes alike, so the
   windows, the rows and the reference still agree bit for bit. Each entry
   is a call of its own around a kernel that is not inlined, so no
   arithmetic of the kernel moves across the mode switch. */
static size_t bruno__heracles_fwd_row_z(const bruno_device_row *r, uint32_t i, bruno_real tau)
{
    bruno__fpenv e = bruno__ftz_begin();
    size_t k = bruno__heracles_fwd_row(r, i, tau);
    bruno__ftz_end(e);
    return k;
}

static void bruno__heracles_adj_row_z(const bruno_device_row *r, uint32_t i, bruno_real tau)
{
    bruno__fpenv e = bruno__ftz_begin();
#if BRUNO__AVX512
    bruno__heracles_v_adj_row(r, i, tau);
#else
    bruno__heracles_adj_row(r, i, tau);
#endif
    bruno__ftz_end(e);
}

static uint32_t bruno__heracles_fwd_window_z(const bruno_device_row *r, uint32_t i0, uint32_t i1, bruno_real tau,
                                             bruno_real *sv, bruno_real *sp, size_t stride, int stream)
{
    bruno__fpenv e = bruno__ftz_begin();
#if BRUNO__AVX512
    uint32_t k = bruno__heracles_v_fwd_window(r, i0, i1, tau, sv, sp, stride, stream);
#else
    uint32_t k = bruno__heracles_fwd_window(r, i0, i1, tau, sv, sp, stride, stream);
#endif
    bruno__ftz_end(e);
    return k;
}

static void bruno__heracles_adj_window_z(const bruno_device_row *r, uint32_t i0, uint32_t i1, bruno_real tau,
                                         size_t stride)
{
    bruno__fpenv e = bruno__ftz_begin();
#if BRUNO__AVX512
    bruno__heracles_v_adj_window(r, i0, i1, tau, stride);
#else
    bruno__heracles_adj_window(r, i0, i1, tau, stride);
#endif
    bruno__ftz_end(e);
}

#if BRUNO__AVX512 /* the reference kernel: the portable rows, a step at a time */
static void bruno__heracles_ref_adj_row_z(const bruno_device_row *r, uint32_t i, bruno_real tau)
{
    bruno__fpenv e = bruno__ftz_begin();
    bruno__heracles_adj_row(r, i, tau);
    bruno__ftz_end(e);
}
#endif

static const bruno_device bruno__heracles_device = {
    "heracles", "Heracles: HZO capacitor with a depletion layer (MODELS §7)",
    sizeof bruno__heracles_table / sizeof bruno__heracles_table[0], bruno__heracles_table, BRUNO__H_COUNT, 0,
    BRUNO__H_GAIN, BRUNO__H_VCLIP, BRUNO__H_PS, BRUNO__H_PS, bruno__heracles_check, bruno__heracles_derive,
    bruno__heracles_state, bruno__heracles_fwd_row_z, bruno__heracles_adj_row_z, bruno__heracles_fwd_window_z,
    bruno__heracles_adj_window_z,
#if BRUNO__AVX512
    bruno__heracles_fwd_row_z, bruno__heracles_ref_adj_row_z};
#else
    NULL, NULL};
#endif

/* ---- the table of devices: one line per device ------------------------------ */
static const bruno_device *const bruno__devices[] = {
    &bruno__felif_device,
    &bruno__heracles_device,
};

BRUNO_API const bruno_device *bruno_device_at(size_t i)
{
    return i < sizeof bruno__devices / sizeof bruno__devices[0] ? bruno__devices[i] : NULL;
}

BRUNO_API const bruno_device *bruno_device_find(const char *name)
{
    size_t i;
    for (i = 0; name && bruno_device_at(i); ++i)
        if (strcmp(bruno_device_at(i)->name, name) == 0) return bruno_device_at(i);
    return NULL;
}

/* ---- binomial checkpointing (Griewank's revolve, recursive form) -----------
   Reverse the steps [a, b) of a chain given the state at a in slot_a, with
   s snapshot slots in all (slot_a included; the others are next_free,
   next_free+1, ...) and one work slot. beta(s, t) = C(s + t, s) is the
   longest chain s snapshots can reverse with t forward sweeps; the first
   snapshot goes at m so that [m, b) fits beta(s - 1, t) and [a, m) fits
   beta(s, t - 1), which keeps every step recomputed at most t times. */
typedef struct bruno__rev {
    void *ctx;
    int work;   /* the work slot */
    /* state of slot `from` (at index i0) copied into `to` and advanced to i1 */
    void (*advance)(void *ctx, int from, int to, size_t i0, size_t i1);
    /* reverse step i, whose input state is in `slot` */
    void (*adjoint)(void *ctx, int slot, size_t i);
    /* optional: reverse [a, b), l = b - a <= s + 1 steps, the state at a
       in slot_a: the states of a + 1 .. b - 1 computed in one call into
       the slots slot_a + 1 .. slot_a + l - 1 (the last may be the work
       slot, which is always slot_a + s), then the reverse sweep over them
       in one call. The same l - 1 recomputed steps as revolve's own path
       there (one step into each further slot), without a call per step. */
    void (*window)(void *ctx, int slot_a, size_t a, size_t b);
} bruno__rev;

static double bruno__beta(size_t s, size_t t)
{
    double r = 1.0;
    size_t i;
    for (i = 1; i <= t; ++i) r = r * (double)(s + i) / (double)i; /* C(s+t, t), exact enough to compare */
    return r;
}

static void bruno__revolve(const bruno__rev *R, size_t a, size_t b, int slot_a, int next_free, size_t s)
{
    while (b > a) {
        size_t l = b - a, t, m, i;
        if (l == 1) {
            R->adjoint(R->ctx, slot_a, a);
            return;
        }
        if (R->window && l <= s + 1) {
            R->window(R->ctx, slot_a, a, b);
            return;
        }
        if (s <= 1) { /* no snapshot left: recompute from a for every step */
            for (i = b; i-- > a;) {
                if (i == a) R->adjoint(R->ctx, slot_a, a);
                else {
                    R->advance(R->ctx, slot_a, R->work, a, i);
                    R->adjoint(R->ctx, R->work, i);
                }
            }
            return;
        }
        /* t = the repetitions this range needs (the least t with
           C(s+t, t) >= l); the first split m - a = max(1, C(s+t-2, t-2),
           l - C(s-1+t, t)) is an optimal one: it gives the least number
           of recomputed steps, t l - C(s+t, t-1) (checked against the
           dynamic programme min over m of m + F(l-m, s-1) + F(m, s) for
           every l <= 1200, s <= 33). 1000 steps, 31 snapshots: 2439. */
        for (t = 1; bruno__beta(s, t) < (double)l; ++t) {}
        {
            double lo = t >= 2 ? bruno__beta(s, t - 2) : 0.0, right = (double)l - bruno__beta(s - 1, t);
            if (right > lo) lo = right;
            m = lo > 1.0 ? (size_t)lo : 1;
            if (m > l - 1) m = l - 1;
            m += a;
        }
        R->advance(R->ctx, slot_a, next_free, a, m);
        bruno__revolve(R, m, b, next_free, next_free + 1, s - 1);
        b = m;
    }
}

/* counting callbacks: bruno_checkpoint_recompute_steps runs the schedule dry */
static void bruno__count_advance(void *ctx, int from, int to, size_t i0, size_t i1)
{
    (void)from;
    (void)to;
    *(size_t *)ctx += i1 - i0;
}

static void bruno__count_adjoint(void *ctx, int slot, size_t i)
{
    (void)ctx;
    (void)slot;
    (void)i;
}

BRUNO_API size_t bruno_checkpoint_recompute_steps(bruno_schedule schedule, size_t n_fine, size_t K)
{
    size_t count = 0;
    if (n_fine == 0 || K == 0) return 0;
    if (schedule == BRUNO_SCHEDULE_BINOMIAL) {
        bruno__rev R;
        size_t s = K < n_fine ? K : n_fine;
        R.ctx = &count;
        R.work = (int)s;
        R.advance = bruno__count_advance;
        R.adjoint = bruno__count_adjoint;
        R.window = NULL; /* revolve's own path recomputes the same steps */
        bruno__revolve(&R, 0, n_fine, 0, 1, s);
        return count;
    }
    if (schedule == BRUNO_SCHEDULE_UNIFORM) { /* as bruno__eng_adj_checkpoint: the sweep, then each segment */
        size_t Lseg = (n_fine + K - 1) / K, nck = (n_fine + Lseg - 1) / Lseg;
        return (nck - 1) * Lseg + n_fine;
    }
    return 0;
}

/* ---- the layer record --------------------------------------------------------- */
/* A layer: what every kind has (sizes, its row of the table of layer
   kinds, the output, the matrix W of the kinds that have one with its
   RRAM array), then the part of its own kind, by name: L->as.lif.syn is a
   LIF layer's synaptic current and nothing else. Parameters live as long
   as the network; the workspace (out and the kind's workspace arrays) is
   sized for one (T, batch) and holds what the backward pass needs. The
   fine-step engine below reads a device layer's part, as.dev. */
typedef struct bruno__layer_ops bruno__layer_ops;

struct bruno_layer {
    bruno_layer_config cfg;
    const bruno__layer_ops *ops;  /* the row of its kind in the table of layer kinds */
    size_t n_in, n_out;
    /* the matrix of DENSE (W [n_out][n_in]) and of RLIF, SNU (W_rec [n][n]) */
    bruno_real *W, *gW;
    bruno_real *b, *gb;       /* bias [n_out]: DENSE (cfg.matrix.bias), SNU, ENCODE */
    bruno_real *Wq;           /* the quantised W of the last forward (NULL at 32 bits) */
    bruno_real *Wt;           /* RLIF, SNU: the W of the last forward, transposed [n_in][n_out] */
    size_t nW;                /* elements of W (0: no matrix) */
    /* RRAM synapses (cfg.matrix.synapse == BRUNO_SYNAPSE_RRAM) */
    bruno_rram_array rram;    /* the device array of W */
    bruno_rng rram_rng;       /* programming and read noise */
    int8_t *levels;           /* [nW] the levels W rounds to (programmed by the last forward) */
    size_t rram_last;
    uint64_t rram_total, rram_programs;
    bruno_real *out;          /* workspace: the output [T][B][n_out] */
    union {
        struct {
            bruno_real *gain, *ggain; /* [n_out] */
            const bruno_real *in;     /* folded into the dense layer above: the forward's input */
        } encode;
        struct {
            bruno_real *blocks;       /* workspace: BRUNO__DENSE_BLOCK inputs of W transposed, one block per thread */
            bruno_layer *enc;         /* the encoding layer folded into this one, or NULL (bruno__dense_setup) */
            bruno_real *fold;         /* workspace with enc: [n_in of enc][n_out] + [n_out] + [n_out][n_in of enc] + [n_out] */
        } dense;
        struct {                      /* LIF and RLIF */
            bruno_real *dec, *gdec;   /* {alpha, beta} */
            bruno_real *syn, *mem;    /* workspace: synaptic current, membrane before the reset [T][B][n] */
            bruno_real *rin;          /* RLIF, training: each step's input with the recurrent current [T][B][n]
                                         (its backward reads it instead of computing it again) */
            bruno_real *work;         /* workspace: [4][B][n] */
        } lif;
        struct {
            bruno_real *h;            /* workspace: cell state [T][B][n] */
            bruno_real *work;         /* workspace: [3][B][n] */
        } snu;
        struct {                      /* device neurons */
            bruno_device_pop pop;
            bruno_real *v, *p;        /* workspace: state [T+1][B][n] (not with the sequence schedule) */
            uint32_t *taken;          /* workspace: fine steps taken before freezing [T][B][n] (or [B][n]) */
            bruno_real *fine;         /* workspace: stored fine states or checkpoint slots */
            bruno_real *work;         /* workspace: gv, gp, gI, I, and a work state (v, p): [6][B][n] */
        } dev;
    } as;
};

/* Fine-state buffer sizes of a FeLIF layer, in units of one state array
   [2][B][n] (v and p). */
static size_t bruno__eng_fine_states(const bruno_net_config *c, size_t T)
{
    size_t N = c->n_fine, K = c->checkpoints;
    switch (c->trainer) {
    case BRUNO_TRAINER_BPTT: return T * N;
    case BRUNO_TRAINER_CHECKPOINT:
        if (c->schedule == BRUNO_SCHEDULE_BINOMIAL) return (K < N ? K : N) + 1;   /* slots + work */
        if (c->schedule == BRUNO_SCHEDULE_UNIFORM) {
            size_t L = (N + K - 1) / K, nck = (N + L - 1) / L;
            return nck + L;                                                    /* checkpoints + segment */
        }
        return (K < T ? K : T) + 2 + N;   /* SEQUENCE: step snapshots, revolve's work slot, the
                                              adjoint's work slot, one step's fine states */
    default: return 0;
    }
}

/* The threads a loop over n independent items runs on (c->threads, at
   most n): the work items of a layer are contiguous ranges, one per
   thread. Every item's arithmetic is the same whichever thread holds it,
   so the results do not depend on the number of threads. The workspace
   plan calls it too: the dense forward needs a transpose block per
   thread. */
static size_t bruno__n_items(const bruno_net_config *c, size_t n)
{
    size_t t = c->threads ? c->threads : 1;
    if (t > n) t = n;
    return t ? t : 1;
}

/* ---- spikes and surrogates (MODELS §3 end) -------------------------------- */
static bruno_real bruno__spike(const bruno_layer_config *c, bruno_real x)
{
    if (c->spiking.surrogate == BRUNO_SURROGATE_SIGMOID)
        return (bruno_real)1 / (1 + BRUNO__EXP(-(bruno_real)c->spiking.beta * x));
    return x >= 0 ? (bruno_real)1 : (bruno_real)0;
}

static bruno_real bruno__surrogate(const bruno_layer_config *c, bruno_real x)
{
    bruno_real b = (bruno_real)c->spiking.beta, d, t;
    switch (c->spiking.surrogate) {
    case BRUNO_SURROGATE_TANH:
        t = (bruno_real)tanh((double)x);
        return 1 - t * t;
    case BRUNO_SURROGATE_SIGMOID:
        t = (bruno_real)1 / (1 + BRUNO__EXP(-b * x));
        return b * t * (1 - t);
    default:
        d = b * BRUNO__FABS(x) + 1;
        return 1 / (d * d);
    }
}

/* bruno__spike and bruno__surrogate of x[i] - thr for i < n, the kind
   tested once, not per element: the loops of the Heaviside spike and the
   SuperSpike surrogate then vectorise (the same operations in the same
   order, so the same bits) */
static void bruno__spike_n(const bruno_layer_config *c, const bruno_real *x, bruno_real thr, bruno_real *y, size_t n)
{
    size_t i;
    if (c->spiking.surrogate == BRUNO_SURROGATE_SIGMOID) {
        for (i = 0; i < n; ++i) y[i] = bruno__spike(c, x[i] - thr);
        return;
    }
    for (i = 0; i < n; ++i) y[i] = x[i] - thr >= 0 ? (bruno_real)1 : (bruno_real)0;
}

static void bruno__surrogate_n(const bruno_layer_config *c, const bruno_real *x, bruno_real thr, bruno_real *g,
                               size_t n)
{
    size_t i;
    bruno_real b = (bruno_real)c->spiking.beta, d;
    if (c->spiking.surrogate != BRUNO_SURROGATE_SUPERSPIKE) {
        for (i = 0; i < n; ++i) g[i] = bruno__surrogate(c, x[i] - thr);
        return;
    }
    for (i = 0; i < n; ++i) {
        d = b * BRUNO__FABS(x[i] - thr) + 1;
        g[i] = 1 / (d * d);
    }
}

/* ---- the fine-step engine over the interface ------------------------------- */
/* One fine-grid work item: neurons q in [q0, q1) of the [B][n] layout. */
typedef struct bruno__eng_ctx {
    bruno_layer *L;          /* NULL for the population-level API */
    const bruno_device_pop *pop;
    const bruno_device *dev;
    const bruno_net_config *nc;
    size_t B, n, BN, T, q0, q1;
    uint32_t N;
    bruno_real h, V_thr, v_reset, p_reset_rel, g;
    const bruno_real *u;     /* input [T][B][n] */
    const bruno_real *dy;    /* dL/dy [T][B][n] */
    bruno_real *du;          /* dL/du [T][B][n] or NULL */
    bruno_real *gv, *gp, *gI, *I, *wv, *wp; /* [BN] each; this item uses [q0, q1) */
    uint32_t *taken;         /* of the current step, [BN] */
    bruno_real *fine;        /* stored fine states of the current step (BPTT, SEQUENCE) */
    int stream;              /* the store is BPTT's whole sequence: non-temporal stores */
} bruno__eng_ctx;

/* The part of a work item that only depends on the population. */
static void bruno__ctx_pop(bruno__eng_ctx *X, const bruno_device_pop *pop, const bruno_net_config *nc, size_t B)
{
    bruno_device_state st = pop->dev->state(pop->prm);
    X->pop = pop;
    X->dev = pop->dev;
    X->nc = nc;
    X->B = B;
    X->n = pop->n;
    X->BN = B * pop->n;
    X->N = nc->n_fine;
    X->h = (bruno_real)(nc->dt / (double)nc->n_fine);
    X->V_thr = (bruno_real)st.V_thr;
    X->v_reset = (bruno_real)st.v_reset;
    X->p_reset_rel = (bruno_real)st.p_reset;
}

static void bruno__eng_ctx_init(bruno__eng_ctx *X, bruno_net *net, bruno_layer *L, size_t T, size_t B,
                                  size_t q0, size_t q1)
{
    memset(X, 0, sizeof *X);
    bruno__ctx_pop(X, &L->as.dev.pop, &net->cfg, B);
    X->L = L;
    X->T = T;
    X->q0 = q0;
    X->q1 = q1;
    X->g = (bruno_real)L->cfg.dev.input_gain;
    X->gv = L->as.dev.work;
    X->gp = L->as.dev.work + X->BN;
    X->gI = L->as.dev.work + 2 * X->BN;
    X->I = L->as.dev.work + 3 * X->BN;
    X->wv = L->as.dev.work + 4 * X->BN;
    X->wp = L->as.dev.work + 5 * X->BN;
}

/* Copy the item's part of an array [BN] (every FeLIF array is laid out so). */
static void bruno__cpy(const bruno__eng_ctx *X, bruno_real *d, const bruno_real *s)
{
    memcpy(d + X->q0, s + X->q0, (X->q1 - X->q0) * sizeof *d);
}

/* Iterate the item's neurons row by row, so the inner loop over j is
   contiguous (it vectorises) and per-neuron constants are S[field][j]. */
#define BRUNO__FOR_ROWS(X, rs, ja, jb)                                                       \
    for (rs = (X)->q0 - (X)->q0 % (X)->n; rs < (X)->q1; rs += (X)->n)                          \
        if ((ja = ((X)->q0 > rs ? (X)->q0 - rs : 0)), (jb = ((X)->q1 < rs + (X)->n ? (X)->q1 - rs : (X)->n)), 1)

static void bruno__eng_current(bruno__eng_ctx *X, size_t k)
{
    const bruno_real *u = X->u + k * X->BN, *gain = X->pop->soa + (size_t)X->dev->c_gain * X->n;
    size_t rs, ja, jb, j;
    BRUNO__FOR_ROWS(X, rs, ja, jb)
    for (j = ja; j < jb; ++j) X->I[rs + j] = X->g * gain[j] * u[rs + j];
}

/* A row of the item as the device sees it: lanes [ja, jb) of the row that
   starts at lane rs of the [B][n] arrays. */
static bruno_device_row bruno__row(const bruno__eng_ctx *X, const bruno_real *v, const bruno_real *p,
                                   const uint32_t *taken, size_t rs, size_t ja, size_t jb, int uniform)
{
    bruno_device_row r;
    r.v = (bruno_real *)(uintptr_t)(v + rs); /* the adjoint only reads the state */
    r.p = (bruno_real *)(uintptr_t)(p + rs);
    r.taken = taken ? (uint32_t *)(uintptr_t)(taken + rs) : NULL;
    r.I = X->I + rs;
    r.gv = X->gv ? X->gv + rs : NULL;
    r.gp = X->gp ? X->gp + rs : NULL;
    r.gI = X->gI ? X->gI + rs : NULL;
    r.S = X->pop->soa;
    r.aos = X->pop->aos;
    r.n = X->n;
    r.ja = ja;
    r.jb = jb;
    r.uniform = uniform;
    r.grad = X->nc->rate_grad;
    r.thr = X->V_thr;
    return r;
}

/* Fine step i of length tau (MODELS §2) on the item with the freeze: every
   lane computes the Euler update, frozen lanes keep their state. Returns
   nonzero while a lane is still running after step i. A uniform
   population's constants do not depend on the neuron: one flat row over
   the item, so a small layer (27 outputs) still fills whole vectors
   instead of running a remainder per row. The reference kernel goes row
   by row (its records are per neuron). */
static size_t bruno__eng_step(const bruno__eng_ctx *X, bruno_real *v, bruno_real *p, uint32_t *taken, uint32_t i,
                                bruno_real tau)
{
    size_t rs, ja, jb, running = 0;
    int ref = X->nc->kernel == BRUNO_KERNEL_REFERENCE;
    size_t (*row)(const bruno_device_row *, uint32_t, bruno_real) =
        ref && X->dev->ref_fwd_row ? X->dev->ref_fwd_row : X->dev->fwd_row;
    bruno_device_row r;
    if (X->pop->uniform && !ref) {
        r = bruno__row(X, v, p, taken, X->q0, 0, X->q1 - X->q0, 1);
        return row(&r, i, tau);
    }
    BRUNO__FOR_ROWS(X, rs, ja, jb) {
        r = bruno__row(X, v, p, taken, rs, ja, jb, 0);
        running += row(&r, i, tau);
    }
    return running;
}

/* Fine Euler steps [i0, i1) of the current window for every neuron that
   has not frozen (i < taken). During the forward pass taken is RUNNING
   and becomes i + 1 at the step after which v >= V_thr (MODELS §2). With
   store, the input state of each step is saved as [i - i0][v|p][BN] up to
   the step after which no lane of the item runs (the backward pass never
   reads past it). With the device's window (every kernel but the
   reference), one call per row, or per item for a uniform population, and
   the state stored as the kernel loads it; a row of a varied population
   stops on its own, and repeats its frozen state in the steps the rest of
   the item still runs, so the store holds what one step at a time over
   the item would. */
static void bruno__eng_fine(const bruno__eng_ctx *X, bruno_real *v, bruno_real *p, uint32_t *taken,
                              uint32_t i0, uint32_t i1, bruno_real *store)
{
    size_t BN = X->BN, rs, ja, jb;
    uint32_t i;
    bruno_device_row r;
    if (i0 >= i1) return;
    if (X->dev->fwd_window && X->nc->kernel != BRUNO_KERNEL_REFERENCE) {
        uint32_t m = 0;
        if (X->pop->uniform) {
            r = bruno__row(X, v, p, taken, X->q0, 0, X->q1 - X->q0, 1);
            X->dev->fwd_window(&r, i0, i1, X->h, store ? store + X->q0 : NULL, store ? store + BN + X->q0 : NULL,
                               2 * BN, X->stream);
            return;
        }
        BRUNO__FOR_ROWS(X, rs, ja, jb) {
            uint32_t k;
            r = bruno__row(X, v, p, taken, rs, ja, jb, 0);
            k = X->dev->fwd_window(&r, i0, i1, X->h, store ? store + rs : NULL, store ? store + BN + rs : NULL, 2 * BN,
                                   X->stream);
            if (k > m) m = k;
        }
        if (store)
            BRUNO__FOR_ROWS(X, rs, ja, jb) {
                for (i = bruno__row_steps(taken + rs, ja, jb, i0, i1); i < m; ++i) {
                    memcpy(store + (size_t)i * 2 * BN + rs + ja, v + rs + ja, (jb - ja) * sizeof *v);
                    memcpy(store + (size_t)i * 2 * BN + BN + rs + ja, p + rs + ja, (jb - ja) * sizeof *p);
                }
            }
        return;
    }
    for (i = i0; i < i1; ++i) {
        if (store) {
            bruno__cpy(X, store + (size_t)(i - i0) * 2 * X->BN, v);
            bruno__cpy(X, store + (size_t)(i - i0) * 2 * X->BN + X->BN, p);
        }
        /* every neuron frozen: the rest of the window is the identity and
           the backward pass never reads the states past the last freeze */
        if (!bruno__eng_step(X, v, p, taken, i, X->h)) break;
    }
}

/* Reverse one Euler step of length tau from its input state (vi, pi) for
   the lanes with i < taken (all lanes when taken is NULL): gv, gp become
   the adjoints of the input state and gI accumulates dL/dI (MODELS §3). */
static void bruno__eng_adj_step(const bruno__eng_ctx *X, const bruno_real *vi, const bruno_real *pi,
                                  const uint32_t *taken, uint32_t i, bruno_real tau)
{
    size_t rs, ja, jb;
    int ref = X->nc->kernel == BRUNO_KERNEL_REFERENCE;
    void (*row)(const bruno_device_row *, uint32_t, bruno_real) =
        ref && X->dev->ref_adj_row ? X->dev->ref_adj_row : X->dev->adj_row;
    bruno_device_row r;
    if (X->pop->uniform && !ref) { /* one flat row, as the forward step */
        r = bruno__row(X, vi, pi, taken, X->q0, 0, X->q1 - X->q0, 1);
        row(&r, i, tau);
        return;
    }
    BRUNO__FOR_ROWS(X, rs, ja, jb) {
        r = bruno__row(X, vi, pi, taken, rs, ja, jb, 0);
        row(&r, i, tau);
    }
}

static void bruno__eng_adj_fine(const bruno__eng_ctx *X, const bruno_real *vi, const bruno_real *pi, uint32_t i)
{
    bruno__eng_adj_step(X, vi, pi, X->taken, i, X->h);
}

/* Reverse fine steps i1 - 1 down to i0 whose input states are stored in F
   as [i - i0][v|p][BN]: with the device's adj_window one call per row (per
   item for a uniform population), else one adj_row call per step. */
static void bruno__eng_adj_window(const bruno__eng_ctx *X, const bruno_real *F, uint32_t i0, uint32_t i1)
{
    size_t BN = X->BN, rs, ja, jb;
    uint32_t i;
    bruno_device_row r;
    if (!X->dev->adj_window || X->nc->kernel == BRUNO_KERNEL_REFERENCE) {
        for (i = i1; i-- > i0;) bruno__eng_adj_fine(X, F + (size_t)(i - i0) * 2 * BN, F + (size_t)(i - i0) * 2 * BN + BN, i);
        return;
    }
    if (X->pop->uniform) {
        r = bruno__row(X, F, F + BN, X->taken, X->q0, 0, X->q1 - X->q0, 1);
        X->dev->adj_window(&r, i0, i1, X->h, 2 * BN);
        return;
    }
    BRUNO__FOR_ROWS(X, rs, ja, jb) {
        r = bruno__row(X, F, F + BN, X->taken, rs, ja, jb, 0);
        X->dev->adj_window(&r, i0, i1, X->h, 2 * BN);
    }
}

static uint32_t bruno__max_taken(const bruno__eng_ctx *X)
{
    uint32_t m = 0;
    size_t q;
    for (q = X->q0; q < X->q1; ++q)
        if (X->taken[q] > m) m = X->taken[q];
    return m;
}

/* One network step k -> k+1 in place on (v, p): fine pass (or the coarse
   step), reset where v_start >= V_thr (s_k = 1), MODELS §2. */
static void bruno__eng_step_fwd(bruno__eng_ctx *X, size_t k, bruno_real *v, bruno_real *p,
                                  const bruno_real *v_start, uint32_t *taken, bruno_real *store)
{
    const bruno_real *ps = X->pop->soa + (size_t)X->dev->c_pscale * X->n;
    size_t q;
    bruno__eng_current(X, k);
    for (q = X->q0; q < X->q1; ++q) taken[q] = BRUNO_RUNNING;
    if (X->nc->trainer == BRUNO_TRAINER_COARSE) {
        /* one Euler step of length dt; a single step is never frozen early */
        bruno__eng_step(X, v, p, taken, 0, (bruno_real)X->nc->dt);
    } else {
        bruno__eng_fine(X, v, p, taken, 0, X->N, store);
    }
    for (q = X->q0; q < X->q1; ++q) {
        if (taken[q] == BRUNO_RUNNING) taken[q] = X->N;
        if (v_start[q] >= X->V_thr) {
            v[q] = X->v_reset;
            p[q] = X->p_reset_rel * ps[q % X->n];
        }
    }
}

BRUNO_API bruno_result bruno_device_network_step(const bruno_device_pop *pop, size_t batch, const bruno_real *I,
                                                 bruno_real *v, bruno_real *p, bruno_real *s, double dt,
                                                 uint32_t n_fine, int kernel)
{
    bruno__eng_ctx X;
    bruno_net_config nc;
    bruno_result r;
    uint32_t *taken;
    size_t q;
    if ((kernel != BRUNO_KERNEL_FAST && kernel != BRUNO_KERNEL_REFERENCE) || !pop || !pop->soa || !I || !v || !p || !s)
        return BRUNO_ERR_ARG;
    if ((r = bruno_check_time(dt, n_fine)) != BRUNO_OK) return r;
    if (batch == 0) return BRUNO_ERR_SIZE;
    if ((r = bruno__check_finite_array(I, batch * pop->n)) != BRUNO_OK) return r;
    taken = (uint32_t *)bruno_alloc(&pop->allocator, batch * pop->n, sizeof *taken);
    if (!taken) return BRUNO_ERR_NOMEM;
    nc = bruno_net_config_default(pop->n);
    nc.dt = dt;
    nc.n_fine = n_fine;
    nc.kernel = (bruno_kernel)kernel;
    memset(&X, 0, sizeof X);
    bruno__ctx_pop(&X, pop, &nc, batch);
    X.q0 = 0;
    X.q1 = X.BN;
    X.I = (bruno_real *)(void *)(uintptr_t)I; /* read only by the kernel */
    for (q = 0; q < X.BN; ++q) taken[q] = BRUNO_RUNNING;
    bruno__eng_fine(&X, v, p, taken, 0, n_fine, NULL);
    for (q = 0; q < X.BN; ++q) {
        if (s[q] > 0) { /* reset overrides the fine pass (MODELS §2, step 2) */
            v[q] = X.v_reset;
            p[q] = X.p_reset_rel * pop->soa[(size_t)pop->dev->c_pscale * pop->n + q % pop->n];
        }
        s[q] = v[q] >= X.V_thr ? (bruno_real)1 : (bruno_real)0;
    }
    bruno_free(&pop->allocator, taken, batch * pop->n, sizeof *taken);
    return BRUNO_OK;
}

BRUNO_API bruno_result bruno_felif_network_step_kernel(const bruno_felif_pop *pop, size_t batch,
                                                       const bruno_real *I, bruno_real *v, bruno_real *p,
                                                       bruno_real *s, double dt, uint32_t n_fine, int kernel)
{
    bruno_device_pop d;
    if (kernel == BRUNO_KERNEL_REFERENCE) return bruno_felif_network_step(pop, batch, I, v, p, s, dt, n_fine);
    if (kernel != BRUNO_KERNEL_FAST || !pop || !pop->c) return BRUNO_ERR_ARG;
    d = bruno__felif_as_device(pop);
    return bruno_device_network_step(&d, batch, I, v, p, s, dt, n_fine, kernel);
}

/* Before reversing step k: add the spike's gradient at v_{k+1}, and cut
   the path through a reset (no gradient to the pre-reset values). */
static void bruno__eng_adj_begin(bruno__eng_ctx *X, size_t k, const bruno_real *v_k, const bruno_real *v_k1)
{
    const bruno_real *dy = X->dy + k * X->BN;
    size_t q;
    bruno__eng_current(X, k);
    for (q = X->q0; q < X->q1; ++q) {
        X->gv[q] += dy[q] * bruno__surrogate(&X->L->cfg, v_k1[q] - X->V_thr);
        if (v_k[q] >= X->V_thr) X->gv[q] = X->gp[q] = 0;
        X->gI[q] = 0;
    }
}

static void bruno__eng_adj_end(bruno__eng_ctx *X, size_t k)
{
    const bruno_real *gain = X->pop->soa + (size_t)X->dev->c_gain * X->n;
    size_t q;
    if (!X->du) return;
    for (q = X->q0; q < X->q1; ++q) X->du[k * X->BN + q] = X->gI[q] * X->g * gain[q % X->n];
}

/* Exact reverse of a window whose fine states are stored in F. */
static void bruno__eng_adj_stored(bruno__eng_ctx *X, const bruno_real *F)
{
    bruno__eng_adj_window(X, F, 0, bruno__max_taken(X));
}

/* revolve callbacks inside one window: slots are [v|p] arrays in L->as.dev.fine */
static bruno_real *bruno__slot(const bruno__eng_ctx *X, int s) { return X->L->as.dev.fine + (size_t)s * 2 * X->BN; }

static void bruno__slot_copy(const bruno__eng_ctx *X, bruno_real *d, const bruno_real *s)
{
    bruno__cpy(X, d, s);
    bruno__cpy(X, d + X->BN, s + X->BN);
}

static void bruno__fine_advance(void *ctx, int from, int to, size_t i0, size_t i1)
{
    bruno__eng_ctx *X = (bruno__eng_ctx *)ctx;
    bruno_real *d = bruno__slot(X, to);
    if (from != to) bruno__slot_copy(X, d, bruno__slot(X, from));
    bruno__eng_fine(X, d, d + X->BN, X->taken, (uint32_t)i0, (uint32_t)i1, NULL);
}

static void bruno__fine_adjoint(void *ctx, int slot, size_t i)
{
    bruno__eng_ctx *X = (bruno__eng_ctx *)ctx;
    bruno_real *s = bruno__slot(X, slot);
    bruno__eng_adj_fine(X, s, s + X->BN, (uint32_t)i);
}

/* revolve's leaf (bruno__rev.window): the states of steps a + 1 .. b - 1
   into the slots after slot_a, the last one computed in place in its slot
   and the others stored as the window kernel loads them (state a is
   rewritten into slot_a with the value it holds), then one adjoint sweep
   over the slots, which are laid out as a stored window [i - a][v|p][BN]. */
static void bruno__fine_window(void *ctx, int slot_a, size_t a, size_t b)
{
    bruno__eng_ctx *X = (bruno__eng_ctx *)ctx;
    bruno_real *F = bruno__slot(X, slot_a), *last = bruno__slot(X, slot_a + (int)(b - a) - 1);
    bruno__slot_copy(X, last, F);
    bruno__eng_fine(X, last, last + X->BN, X->taken, (uint32_t)a, (uint32_t)b - 1, F);
    bruno__eng_adj_window(X, F, (uint32_t)a, (uint32_t)b);
}

/* Exact reverse of window k by recomputation from its start state. */
static void bruno__eng_adj_checkpoint(bruno__eng_ctx *X, const bruno_real *v_k, const bruno_real *p_k)
{
    size_t BN = X->BN, K = X->nc->checkpoints;
    uint32_t N = bruno__max_taken(X); /* steps past the last freeze are the identity */
    if (N == 0) return;
    bruno__cpy(X, bruno__slot(X, 0), v_k);
    bruno__cpy(X, bruno__slot(X, 0) + BN, p_k);
    if (X->nc->schedule == BRUNO_SCHEDULE_BINOMIAL) {
        bruno__rev R;
        size_t s = K < X->N ? K : X->N;
        R.ctx = X;
        R.work = (int)s;
        R.advance = bruno__fine_advance;
        R.adjoint = bruno__fine_adjoint;
        R.window = bruno__fine_window;
        bruno__revolve(&R, 0, N, 0, 1, s);
    } else { /* UNIFORM: one sweep to the checkpoints, then each segment stored and reversed */
        size_t Lseg = (X->N + K - 1) / K, nck = (N + Lseg - 1) / Lseg, ck;
        bruno_real *seg = X->L->as.dev.fine + ((X->N + Lseg - 1) / Lseg) * 2 * BN;
        for (ck = 1; ck < nck; ++ck) bruno__fine_advance(X, (int)ck - 1, (int)ck, (ck - 1) * Lseg, ck * Lseg);
        for (ck = nck; ck-- > 0;) {
            uint32_t i0 = (uint32_t)(ck * Lseg), i1 = (uint32_t)((ck + 1) * Lseg < N ? (ck + 1) * Lseg : N);
            bruno__cpy(X, X->wv, bruno__slot(X, (int)ck));
            bruno__cpy(X, X->wp, bruno__slot(X, (int)ck) + BN);
            bruno__eng_fine(X, X->wv, X->wp, X->taken, i0, i1, seg);
            bruno__eng_adj_window(X, seg, i0, i1);
        }
    }
}

/* SEQUENCE schedule: revolve over network steps; slots hold (v, p) of a
   step's start; then revolve's work slot, the adjoint's own work slot (the
   state the window is recomputed in) and one window's fine states. */
typedef struct bruno__seq_ctx {
    bruno__eng_ctx *X;
    size_t n_slots;
} bruno__seq_ctx;

static void bruno__seq_advance(void *ctx, int from, int to, size_t k0, size_t k1)
{
    bruno__seq_ctx *S = (bruno__seq_ctx *)ctx;
    bruno__eng_ctx *X = S->X;
    bruno_real *d = bruno__slot(X, to);
    size_t k;
    if (from != to) bruno__slot_copy(X, d, bruno__slot(X, from));
    for (k = k0; k < k1; ++k) {
        bruno__cpy(X, X->wv, d);
        bruno__eng_step_fwd(X, k, d, d + X->BN, X->wv, X->taken, NULL);
    }
}

static void bruno__seq_adjoint(void *ctx, int slot, size_t k)
{
    bruno__seq_ctx *S = (bruno__seq_ctx *)ctx;
    bruno__eng_ctx *X = S->X;
    bruno_real *st = bruno__slot(X, slot), *w = bruno__slot(X, (int)S->n_slots + 1);
    bruno__slot_copy(X, w, st);
    bruno__eng_step_fwd(X, k, w, w + X->BN, st, X->taken, X->fine);
    bruno__eng_adj_begin(X, k, st, w);
    bruno__eng_adj_stored(X, X->fine);
    bruno__eng_adj_end(X, k);
}

/* Lanes [q0, q1) of [batch][n] arrays at the initial state. */
static void bruno__init_lanes(const bruno_device_pop *pop, size_t q0, size_t q1, bruno_real *v, bruno_real *p)
{
    bruno_device_state st = pop->dev->state(pop->prm);
    const bruno_real *ps = pop->soa + (size_t)pop->dev->c_pscale * pop->n;
    size_t q;
    for (q = q0; q < q1; ++q) {
        v[q] = (bruno_real)st.v_init;
        p[q] = (bruno_real)st.p_init * ps[q % pop->n];
    }
}

BRUNO_API void bruno_device_init_state(const bruno_device_pop *pop, size_t batch, bruno_real *v, bruno_real *p)
{
    if (pop && pop->soa && v && p) bruno__init_lanes(pop, 0, batch * pop->n, v, p);
}

static void bruno__eng_init_state(const bruno__eng_ctx *X, bruno_real *v, bruno_real *p)
{
    bruno__init_lanes(X->pop, X->q0, X->q1, v, p);
}

static int bruno__eng_seq(const bruno_net_config *c, int train)
{
    return train && c->trainer == BRUNO_TRAINER_CHECKPOINT && c->schedule == BRUNO_SCHEDULE_SEQUENCE;
}

/* Work items of a FeLIF layer: one with one thread; with more, up to 4 per
   thread of at least 256 lanes (16 AVX-512 vectors) each, handed out
   dynamically (the forward pass a chunk of network steps at a time, see
   bruno__eng_forward_chunks), so a core that runs slower takes less. An
   item runs its fine steps one after the other, each depending on the
   last: it needs enough independent vectors per step to hide the latency
   of one Euler update (three exp2 and a log2). With 64-lane items (4
   vectors) a 2-thread E1 step ran 1.67-1.80x the 1-thread one, with
   256-lane items 1.88-1.93x (alternating runs, one process; Sapphire
   Rapids). Since a window's fine steps run in one call (bruno__v_window),
   E1's FeLIF forward at one thread takes as long as 1, 2, 4 or 8 items
   (31.1-31.2 ms) and 1.4x as long as 16 (64 lanes, latency-bound; AMD
   Zen 5). A lane's bits do not depend on its item (tests/test_kernel.c),
   so neither do the results. */
#define BRUNO__MAX_ITEMS 256 /* with more threads than this, one item each */
#ifndef BRUNO_FELIF_CHUNK_UPDATES
#define BRUNO_FELIF_CHUNK_UPDATES 2097152
#endif
static size_t bruno__eng_items(const bruno_net *net, size_t BN)
{
    size_t t = bruno__n_items(&net->cfg, BN), k = BN / 256;
    if (t == 1) return 1;
    if (k > 4 * t) k = 4 * t;
    if (k > BRUNO__MAX_ITEMS) k = BRUNO__MAX_ITEMS;
    return k > t ? k : t;
}

/* Lanes [q0, q1) of work item it: boundaries on whole 16-lane blocks (64
   bytes of float), so two threads never write into the same cache line of
   the per-step arrays and each item's vectors start aligned; an item may
   be empty when there are fewer blocks than items. */
static void bruno__item_range(size_t BN, size_t items, size_t it, size_t *q0, size_t *q1)
{
    size_t blocks = (BN + 15) / 16;
    *q0 = blocks * it / items * 16;
    *q1 = it + 1 == items ? BN : blocks * (it + 1) / items * 16;
    if (*q0 > BN) *q0 = BN;
    if (*q1 > BN) *q1 = BN;
}

/* Network steps [k0, k1) of a work item's forward pass (k0 = 0 starts it).
   Every state an item carries from one step to the next is in the layer's
   arrays, so any thread can run the next steps of an item. */
static void bruno__eng_forward_item(bruno_net *net, bruno_layer *L, const bruno_real *u, size_t T, size_t B,
                                      int train, size_t q0, size_t q1, size_t k0, size_t k1)
{
    bruno__eng_ctx X;
    size_t k, q, BN;
    int bptt = train && net->cfg.trainer == BRUNO_TRAINER_BPTT;
    int keep_taken = train && (bptt || net->cfg.trainer == BRUNO_TRAINER_CHECKPOINT);
    bruno__eng_ctx_init(&X, net, L, T, B, q0, q1);
    X.u = u;
    X.stream = bptt; /* the whole sequence's states: read back only after the forward pass */
    BN = X.BN;
    if (bruno__eng_seq(&net->cfg, train)) {
        /* keep nothing but the outputs; the backward pass recomputes */
        bruno_real *v = bruno__slot(&X, 0), *p = v + BN;
        if (k0 == 0) bruno__eng_init_state(&X, v, p);
        for (k = k0; k < k1; ++k) {
            bruno__cpy(&X, X.wv, v);
            bruno__eng_step_fwd(&X, k, v, p, X.wv, L->as.dev.taken, NULL);
            for (q = q0; q < q1; ++q) L->out[k * BN + q] = bruno__spike(&L->cfg, v[q] - X.V_thr);
        }
        return;
    }
    if (k0 == 0) bruno__eng_init_state(&X, L->as.dev.v, L->as.dev.p);
    for (k = k0; k < k1; ++k) {
        bruno_real *v0 = L->as.dev.v + k * BN, *v1 = v0 + BN, *p1 = L->as.dev.p + (k + 1) * BN;
        uint32_t *tk = keep_taken ? L->as.dev.taken + k * BN : L->as.dev.taken; /* one step's worth when not kept */
        bruno__cpy(&X, v1, v0);
        bruno__cpy(&X, p1, L->as.dev.p + k * BN);
        bruno__eng_step_fwd(&X, k, v1, p1, v0, tk, bptt ? L->as.dev.fine + k * (size_t)X.N * 2 * BN : NULL);
        for (q = q0; q < q1; ++q) L->out[k * BN + q] = bruno__spike(&L->cfg, v1[q] - X.V_thr);
    }
}

static void bruno__eng_backward_item(bruno_net *net, bruno_layer *L, const bruno_real *u, const bruno_real *dy,
                                       bruno_real *du, size_t T, size_t B, size_t q0, size_t q1)
{
    bruno__eng_ctx X;
    size_t k, q, BN;
    bruno__eng_ctx_init(&X, net, L, T, B, q0, q1);
    X.u = u;
    X.dy = dy;
    X.du = du;
    BN = X.BN;
    for (q = q0; q < q1; ++q) X.gv[q] = X.gp[q] = 0;
    if (bruno__eng_seq(&net->cfg, 1)) {
        bruno__seq_ctx S;
        bruno__rev R;
        size_t s = net->cfg.checkpoints < T ? net->cfg.checkpoints : T;
        S.X = &X;
        S.n_slots = s;
        X.taken = L->as.dev.taken;
        X.fine = L->as.dev.fine + (s + 2) * 2 * BN;
        bruno__eng_init_state(&X, bruno__slot(&X, 0), bruno__slot(&X, 0) + BN);
        R.ctx = &S;
        R.work = (int)s;
        R.advance = bruno__seq_advance;
        R.adjoint = bruno__seq_adjoint;
        R.window = NULL; /* network steps: one at a time (each is a window of fine steps) */
        bruno__revolve(&R, 0, T, 0, 1, s);
        return;
    }
    for (k = T; k-- > 0;) {
        const bruno_real *v0 = L->as.dev.v + k * BN, *p0 = L->as.dev.p + k * BN;
        bruno__eng_adj_begin(&X, k, v0, v0 + BN);
        switch (net->cfg.trainer) {
        case BRUNO_TRAINER_BPTT:
            X.taken = L->as.dev.taken + k * BN;
            bruno__eng_adj_stored(&X, L->as.dev.fine + k * (size_t)X.N * 2 * BN);
            break;
        case BRUNO_TRAINER_CHECKPOINT:
            X.taken = L->as.dev.taken + k * BN;
            bruno__eng_adj_checkpoint(&X, v0, p0);
            break;
        default:
            /* BRUNO and coarse-only: the gradient of ONE coarse Euler step of
               length dt from the window's start (MODELS §3); with N = 1 this
               is exactly the BPTT step */
            for (q = q0; q < q1; ++q) X.gI[q] = 0;
            bruno__eng_adj_step(&X, v0, p0, NULL, 0, (bruno_real)net->cfg.dt);
            break;
        }
        bruno__eng_adj_end(&X, k);
    }
}

/* The forward pass of the layer's work items on nt threads, a chunk of
   network steps at a time, so an item moves to whichever thread is free
   and the threads finish within one chunk of each other. Whole items
   handed out once balance badly when one core runs slower than the other
   (a neighbour on a shared host): E1's 4 items on 2 threads, with a
   nice-5 busy loop sharing the second core, took 0.0507 s (first
   quartile of 30 steps) as whole items and 0.0456 s in chunks of 5 steps;
   on an idle core the chunks were no slower (0.0360 vs 0.0388 s).
   Tickets, taken in order with one atomic add: ticket t is chunk t / items
   of item t % items, and waits until the item's previous chunk is done
   (ticket t - items, taken earlier; the lowest unfinished ticket never
   waits, so the team always progresses). A lock per claim instead (a
   critical section) made the step slower than whole items: the threads
   met at the lock and slept in the kernel. A chunk is about
   BRUNO_FELIF_CHUNK_UPDATES lane updates (2^21: 9 network steps of an E1
   item): single steps cost 4 % at one thread and more at two, as the
   item's data moves between cores. The bits are those of one thread: each
   item's steps run in order, and a lane's arithmetic does not depend on
   the thread. */
static void bruno__eng_forward_chunks(bruno_net *net, bruno_layer *L, const bruno_real *u, size_t T, size_t B,
                                        int train, size_t items, size_t nt)
{
    long done[BRUNO__MAX_ITEMS], ticket = 0;
    size_t BN = B * L->n_out, lanes = BN / items + 1, j;
    size_t chunk = (size_t)BRUNO_FELIF_CHUNK_UPDATES / (lanes * net->cfg.n_fine) + 1, chunks = (T + chunk - 1) / chunk;
    long total = (long)(items * chunks);
    (void)nt;   /* used by the OpenMP pragma only */
    (void)done; /* gcc 12 does not count an atomic read as a use */
    for (j = 0; j < items; ++j) done[j] = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads((int)nt)
#endif
    for (;;) {
        long t, c, seen;
        size_t it, q0, q1, k0, k1;
#ifdef _OPENMP
#pragma omp atomic capture
#endif
        t = ticket++;
        if (t >= total) break;
        it = (size_t)t % items;
        c = t / (long)items;
        do {
#ifdef _OPENMP
#pragma omp atomic read seq_cst
#endif
            seen = done[it];
        } while (seen < c);
        k0 = (size_t)c * chunk;
        k1 = T - k0 > chunk ? k0 + chunk : T;
        bruno__item_range(BN, items, it, &q0, &q1);
        bruno__eng_forward_item(net, L, u, T, B, train, q0, q1, k0, k1);
#ifdef _OPENMP
#pragma omp atomic write seq_cst
#endif
        done[it] = c + 1;
    }
}

/* A pass of the layer over its work items, in parallel: the forward pass,
   or the backward one when dy is given. */
static void bruno__eng_pass(bruno_net *net, bruno_layer *L, const bruno_real *u, const bruno_real *dy,
                              bruno_real *du, size_t T, size_t B, int train)
{
    size_t BN = B * L->n_out, items = bruno__eng_items(net, BN), nt = bruno__n_items(&net->cfg, BN);
    long it;
    if (!dy && nt > 1 && items <= BRUNO__MAX_ITEMS) {
        bruno__eng_forward_chunks(net, L, u, T, B, train, items, nt);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel for num_threads((int)nt) schedule(dynamic, 1) if (nt > 1)
#endif
    for (it = 0; it < (long)items; ++it) {
        size_t q0, q1;
        bruno__item_range(BN, items, (size_t)it, &q0, &q1);
        if (dy) bruno__eng_backward_item(net, L, u, dy, du, T, B, q0, q1);
        else bruno__eng_forward_item(net, L, u, T, B, train, q0, q1, 0, T);
    }
}

static void bruno__eng_forward(bruno_net *net, bruno_layer *L, const bruno_real *u, size_t T, size_t B, int train)
{
    bruno__eng_pass(net, L, u, NULL, NULL, T, B, train);
}

static void bruno__eng_backward(bruno_net *net, bruno_layer *L, const bruno_real *u, const bruno_real *dy,
                                  bruno_real *du, size_t T, size_t B)
{
    bruno__eng_pass(net, L, u, dy, du, T, B, 1);
}

/* ---- layers: what every kind shares ------------------------------------------ */
/* Every layer kind is one section below ("layer: NAME") and one row of the
   table of layer kinds after them; the network reaches a kind only through
   its row (bruno__layer_ops). */

/* A buffer of a plan: where it goes, how many elements of what size. */
typedef struct bruno__buf {
    void **ptr;
    size_t n, size;
} bruno__buf;

/* A buffer of n elements of type T at b[k++]. */
#define BRUNO__BUF(b, k, p, count, T) \
    ((b)[k].ptr = (void **)&(p), (b)[k].n = (count), (b)[k].size = sizeof(T), ++(k))

/* One row of the table of layer kinds: what the network asks of a kind.
   Optional entries may be NULL. */
struct bruno__layer_ops {
    bruno_layer_kind kind;     /* the row's own kind: the table is in enum order */
    const char *name;
    const char *W_name;        /* its matrix W as a parameter ("W", "W_rec"), quantised and RRAM
                                  per cfg.matrix.bits and cfg.matrix.synapse; NULL: no matrix */
    int spiking;               /* its output is spikes with a surrogate gradient (cfg.spiking.surrogate) */
    int dx_over_input;         /* its backward may write dL/dx over its input (see bruno__grad_in_place) */
    int out_overwritable;      /* its backward never reads its own output: the layer above may write
                                  its dL/dx there */
    /* n_out (and nW) from the input size, and the checks of the sizes */
    bruno_result (*check)(bruno_layer *L, const bruno_layer_config *lc, size_t n_in);
    /* optional: after the shared checks, before the parameters are allocated: the checks of
       its own parameters and what it holds outside its buffers (a device population) */
    bruno_result (*setup)(bruno_net *net, bruno_layer *L, const bruno_layer_config *lc);
    /* the buffers that live as long as the layer (parameters, gradients) */
    size_t (*params_plan)(bruno_layer *L, bruno__buf *b);
    /* initial values from the network's RNG, in a fixed order; registers the parameters */
    void (*init)(bruno_net *net, bruno_layer *L, const bruno_layer_config *lc);
    /* the workspace for (T, B) after L->out (train: what the backward pass needs) */
    size_t (*ws_plan)(bruno_layer *L, const bruno_net_config *c, size_t T, size_t B, int train, bruno__buf *b);
    /* x [T][B][n_in] -> L->out [T][B][n_out] */
    bruno_result (*forward)(bruno_net *net, bruno_layer *L, const bruno_real *x, size_t T, size_t B, int train);
    /* dy -> dx (NULL for the first layer), gradients accumulated */
    void (*backward)(bruno_net *net, bruno_layer *L, const bruno_real *x, const bruno_real *dy, bruno_real *dx,
                     size_t T, size_t B);
    void (*constrain)(bruno_layer *L);                    /* optional: after an optimiser step */
    size_t (*own_bytes)(const bruno_layer *L);            /* optional: bytes held outside its buffers */
    void (*release)(bruno_layer *L);                      /* optional: frees what setup made */
    bruno_result (*redraw)(bruno_layer *L, double sigma, bruno_rng *rng); /* optional: device variability */
};

static bruno_real bruno__rsqrt_in(size_t n) { return (bruno_real)(1.0 / sqrt((double)n)); }

BRUNO_API bruno_layer_config bruno_layer_config_default(bruno_layer_kind kind)
{
    bruno_layer_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.encode.tile = 1;
    c.encode.gain_init_std = 1.0;
    c.encode.gain_init_mean = 0.0;
    c.encode.bias_init_std = 1.0;
    c.matrix.bits = 32;
    c.matrix.stochastic_rounding = 1;
    c.matrix.synapse = BRUNO_SYNAPSE_IDEAL;
    c.matrix.rram = bruno_rram_array_config_default(0);
    c.matrix.init_scale = 1.0;
    c.spiking.surrogate = BRUNO_SURROGATE_SUPERSPIKE;
    c.spiking.beta = 10.0;
    c.lif.alpha = 0.95;
    c.lif.beta = 0.9;
    c.lif.train_decay = 1;
    c.dev.felif = bruno_felif_params_default();
    c.dev.input_gain = 1e-9;
    c.snu.decay = 0.4;
    c.snu.threshold = 1.0;
    return c;
}

static size_t bruno__bytes_of(const bruno__buf *b, size_t k)
{
    size_t i, s = 0;
    for (i = 0; i < k; ++i) {
        size_t by = b[i].n * b[i].size;
        s += by != 0 ? by : 1; /* bruno_alloc makes a zero-size request one byte */
    }
    return s;
}

static void bruno__free_bufs(const bruno_allocator *a, bruno__buf *b, size_t k)
{
    size_t i;
    for (i = 0; i < k; ++i) {
        bruno_free(a, *b[i].ptr, b[i].n, b[i].size);
        *b[i].ptr = NULL;
    }
}

/* Allocate the k buffers of a plan, zero-filled but for the one at *raw
   (NULL: none). */
static bruno_result bruno__alloc_bufs(const bruno_allocator *a, bruno__buf *b, size_t k, void **raw)
{
    size_t i;
    for (i = 0; i < k; ++i) {
        *b[i].ptr = b[i].ptr == raw ? bruno__alloc_raw(a, b[i].n, b[i].size) : bruno_alloc(a, b[i].n, b[i].size);
        if (!*b[i].ptr) {
            bruno__free_bufs(a, b, i);
            return BRUNO_ERR_NOMEM;
        }
    }
    return BRUNO_OK;
}

static void bruno__add_param(bruno_net *net, const char *what, bruno_real *d,
                             bruno_real *g, size_t n)
{
    bruno_param *p = &net->params[net->n_params++];
    char *nm = net->param_names[net->n_params - 1];
    size_t i = 0, l = net->n_layers;
    /* "l<index>.<what>" without snprintf, which C89-ish C++ builds may warn about */
    nm[i++] = 'l';
    if (l >= 10) nm[i++] = (char)('0' + l / 10);
    nm[i++] = (char)('0' + l % 10);
    nm[i++] = '.';
    while (*what && i < sizeof net->param_names[0] - 1) nm[i++] = *what++;
    nm[i] = 0;
    p->name = nm;
    p->data = d;
    p->grad = g;
    p->n = n;
}

/* The sizes of a neuron layer: n neurons for n inputs. */
static bruno_result bruno__neurons_check(bruno_layer *L, const bruno_layer_config *lc, size_t n_in)
{
    if (lc->n_out && lc->n_out != n_in) return BRUNO_ERR_SHAPE;
    L->n_out = n_in;
    return BRUNO_OK;
}

/* ---- layers: the matrix W of DENSE, RLIF and SNU (MODELS §5) ------------------ */
static int bruno__has_rram(const bruno_layer *L)
{
    return L->ops->W_name && L->cfg.matrix.synapse == BRUNO_SYNAPSE_RRAM;
}

/* W, its gradient, the quantised Wq, the transpose Wt of the recurrent
   matrices (transposed: they run step by step on it; a dense layer
   transposes a block of inputs at a time into its workspace) and the RRAM
   levels (the device array allocates its own, bruno_rram_array_bytes). */
static size_t bruno__W_plan(bruno_layer *L, bruno__buf *b, int transposed)
{
    size_t k = 0;
    BRUNO__BUF(b, k, L->W, L->nW, bruno_real);
    BRUNO__BUF(b, k, L->gW, L->nW, bruno_real);
    if (L->cfg.matrix.bits < 32) BRUNO__BUF(b, k, L->Wq, L->nW, bruno_real);
    if (transposed) BRUNO__BUF(b, k, L->Wt, L->nW, bruno_real);
    if (bruno__has_rram(L)) BRUNO__BUF(b, k, L->levels, L->nW, int8_t);
    return k;
}

/* W ~ U(-s, s) with s = init_scale/sqrt(n_in), or U(0, init_scale*sqrt(1/n_out)). */
static void bruno__W_init(bruno_net *net, bruno_layer *L, const bruno_layer_config *lc)
{
    size_t i;
    if (lc->matrix.init_nonneg) {
        double hi = lc->matrix.init_scale * sqrt(1.0 / (double)L->n_out);
        for (i = 0; i < L->nW; ++i) L->W[i] = (bruno_real)(hi * bruno_rng_uniform(&net->rng));
    } else {
        double s = lc->matrix.init_scale * (double)bruno__rsqrt_in(L->n_in);
        for (i = 0; i < L->nW; ++i) L->W[i] = (bruno_real)(s * (2.0 * bruno_rng_uniform(&net->rng) - 1.0));
    }
    bruno__add_param(net, L->ops->W_name, L->W, L->gW, L->nW);
}

/* The RRAM array of W. Seeds from the network's RNG state without
   advancing it: the layers that follow draw the same initial values as
   with ideal synapses. */
static bruno_result bruno__layer_rram_init(bruno_net *net, bruno_layer *L, const bruno_layer_config *lc)
{
    bruno_rng peek = net->rng;
    uint64_t v = bruno_rng_u64(&peek);
    bruno_rram_array_config ac = lc->matrix.rram;
    ac.n_weights = L->nW;
    ac.bits = lc->matrix.bits;
    ac.seed = v ^ UINT64_C(0x52524d2d64657673);   /* "RRM-devs" */
    ac.allocator = net->cfg.allocator;
    bruno_rng_seed(&L->rram_rng, v ^ UINT64_C(0x52524d2d6e6f6973)); /* "RRM-nois" */
    L->rram_last = 0;
    L->rram_total = L->rram_programs = 0;
    return bruno_rram_array_init(&L->rram, &ac);
}

/* The W a forward pass uses (and its backward after it); the recurrent
   matrices get it transposed (Wt, the B of bruno__gemm). */
static const bruno_real *bruno__weights(bruno_net *net, bruno_layer *L, bruno_result *r)
{
    const bruno_real *W = L->W;
    size_t no = L->n_out, ni = L->nW / no, o, i;
    *r = BRUNO_OK;
    if (bruno__has_rram(L)) {
        /* MODELS §5.2, RRAM.md §6: program the levels (only changed devices
           are written), read them back with one read-noise sample; the
           same Wq serves the backward pass */
        bruno_real scale, m = (bruno_real)((1 << (L->cfg.matrix.bits - 1)) - 1);
        size_t n_re = 0, j;
        *r = bruno__quantize(L->W, L->Wq, L->levels, L->nW, L->cfg.matrix.bits, 0, NULL, &scale);
        if (*r == BRUNO_OK) *r = bruno_rram_array_program(&L->rram, L->levels, &L->rram_rng, &n_re);
        if (*r == BRUNO_OK) *r = bruno_rram_array_weights(&L->rram, L->Wq, &L->rram_rng);
        if (*r != BRUNO_OK) return NULL;
        L->rram_last = n_re;
        L->rram_total += n_re;
        ++L->rram_programs;
        /* the quantiser's q * scale / m, with q read from the devices */
        for (j = 0; j < L->nW; ++j) L->Wq[j] = L->Wq[j] * scale / m;
        W = L->Wq;
    } else if (L->cfg.matrix.bits < 32) {
        /* a fresh stochastic rounding per forward call; the same Wq serves its backward */
        *r = bruno_quantize(L->W, L->Wq, L->nW, L->cfg.matrix.bits, L->cfg.matrix.stochastic_rounding, &net->rng, NULL);
        if (*r != BRUNO_OK) return NULL;
        W = L->Wq;
    }
    if (!L->Wt) return W; /* dense: transposed block by block in the forward */
    for (o = 0; o < no; ++o)
        for (i = 0; i < ni; ++i) L->Wt[i * no + o] = W[o * ni + i];
    return L->Wt;
}

/* ---- products of a layer over a batch ----------------------------------------
   Every dense, recurrent and readout product over a batch is one kernel,

       Y[m][n] (+)= sum_k A[m * ars + k * aks] * B[k * ldb + n],   k ascending

   (without add, Y[m][n] starts from +0). Each Y[m][n] is summed in the
   order of the plain loop, a multiply then an add (the build has no FMA
   contraction), so any vector width, blocking, split of the rows or thread
   count gives the bits of the naive loop: the vectors run across n, never
   across the reduction over k. Two variants:
   - bruno__gemm_dense: register blocked, BRUNO__GEMM_MB rows by
     BRUNO__GEMM_NV vectors of Y stay in registers over a chunk of k, and
     one load of B serves MB rows. For inputs with few zeros.
   - bruno__gemm_skip: one row at a time over the list of its k with
     A[m][k] != 0, so its work follows the non-zeros (a spike input).
   Leaving a zero term out changes no bit: a sum that starts at +0 never
   turns into -0 under round-to-nearest, and x + (+-0) = x for any other
   x. The one exception is a Y that holds -0 on entry with add (an ENCODE
   layer can emit -0 into a recurrent layer's input current), which adding
   +0 makes +0; no later operation tells the two apart.
   bruno__gemm picks the variant by the share of non-zeros in A (see
   bruno__gemm_skip_pays). */
#if defined(__GNUC__) || defined(__clang__)
#if defined(__AVX512F__)
#define BRUNO__VBYTES 64
#elif defined(__AVX__)
#define BRUNO__VBYTES 32
#else
#define BRUNO__VBYTES 16
#endif
typedef bruno_real bruno__vr __attribute__((vector_size(BRUNO__VBYTES)));
#define BRUNO__VL (BRUNO__VBYTES / sizeof(bruno_real))
#define BRUNO__VMAC(acc, a, b) ((acc) += (a) * (b))
#else
typedef struct { bruno_real x[1]; } bruno__vr; /* no vector extension: one-lane "vectors" */
#define BRUNO__VL ((size_t)1)
#define BRUNO__VMAC(acc, a, b) ((acc).x[0] += (a) * (b).x[0])
#endif
/* loads and stores by memcpy: unaligned, no aliasing question, and no
   vector crosses a function boundary (that would depend on the ABI) */
#define BRUNO__VLD(v, p) memcpy(&(v), (p), sizeof(bruno__vr))
#if defined(__GNUC__) || defined(__clang__)
#define BRUNO__PREFETCH(p) __builtin_prefetch(p)
#else
#define BRUNO__PREFETCH(p) ((void)(p))
#endif
#define BRUNO__VST(p, v) memcpy((p), &(v), sizeof(bruno__vr))
#define BRUNO__GEMM_MB 8      /* rows of a dense tile */
#define BRUNO__GEMM_NV 2      /* vectors of a dense tile */
#define BRUNO__GEMM_SKIP_NV 8 /* vectors of a skipping tile (one row) */
#define BRUNO__GEMM_KC 128    /* k of one pass over the tiles; the skipping kernel's index list */

/* mb <= MB rows by nv vectors of columns over K terms (idx: the terms k =
   idx[0..K), one row), from the entry values of Y (add) into D */
static BRUNO__INLINE void bruno__gemm_tile(int mb, int nv, const uint32_t *idx, size_t K, const bruno_real *A,
                                           size_t ars, size_t aks, const bruno_real *B, size_t ldb,
                                           const bruno_real *Y, size_t ldy, int add, bruno_real *D, size_t ldd)
{
    bruno__vr acc[BRUNO__GEMM_MB][BRUNO__GEMM_SKIP_NV], b[BRUNO__GEMM_SKIP_NV];
    int r, v;
    size_t j, k;
    for (r = 0; r < mb; ++r)
        for (v = 0; v < nv; ++v) {
            if (add) BRUNO__VLD(acc[r][v], Y + r * ldy + (size_t)v * BRUNO__VL);
            else memset(&acc[r][v], 0, sizeof acc[r][v]);
        }
    for (j = 0; j < K; ++j) {
        k = idx ? idx[j] : j;
        for (v = 0; v < nv; ++v) BRUNO__VLD(b[v], B + k * ldb + (size_t)v * BRUNO__VL);
        for (r = 0; r < mb; ++r) {
            const bruno_real a = A[r * ars + k * aks];
            for (v = 0; v < nv; ++v) BRUNO__VMAC(acc[r][v], a, b[v]);
        }
    }
    for (r = 0; r < mb; ++r)
        for (v = 0; v < nv; ++v) BRUNO__VST(D + r * ldd + (size_t)v * BRUNO__VL, acc[r][v]);
}

/* One block of mb rows: the full vectors nv at a time, then one at a time.
   The last N % VL columns: the vector that ends at column N is summed
   first (from the entry values of Y), kept aside and stored last. Where it
   overlaps the full vectors it holds the very sums they store (same terms,
   same order, same entry values), so it is stored whole. N < VL: column by
   column. */
static BRUNO__INLINE void bruno__gemm_block(int mb, int nv, const uint32_t *idx, size_t N, size_t K,
                                            const bruno_real *A, size_t ars, size_t aks, const bruno_real *B,
                                            size_t ldb, bruno_real *Y, size_t ldy, int add)
{
    size_t n = 0, c, j, k, rem = N % BRUNO__VL;
    bruno_real tail[BRUNO__GEMM_MB * BRUNO__VL];
    int r;
    if (N < BRUNO__VL) {
        for (r = 0; r < mb; ++r)
            for (c = 0; c < N; ++c) {
                bruno_real s = add ? Y[r * ldy + c] : 0;
                for (j = 0; j < K; ++j) {
                    k = idx ? idx[j] : j;
                    s += A[r * ars + k * aks] * B[k * ldb + c];
                }
                Y[r * ldy + c] = s;
            }
        return;
    }
    if (rem) {
        memset(tail, 0, sizeof tail);
        bruno__gemm_tile(mb, 1, idx, K, A, ars, aks, B + N - BRUNO__VL, ldb, Y + N - BRUNO__VL, ldy, add, tail,
                         BRUNO__VL);
    }
    for (; n + (size_t)nv * BRUNO__VL <= N; n += (size_t)nv * BRUNO__VL)
        bruno__gemm_tile(mb, nv, idx, K, A, ars, aks, B + n, ldb, Y + n, ldy, add, Y + n, ldy);
    for (; n + BRUNO__VL <= N; n += BRUNO__VL)
        bruno__gemm_tile(mb, 1, idx, K, A, ars, aks, B + n, ldb, Y + n, ldy, add, Y + n, ldy);
    if (rem)
        for (r = 0; r < mb; ++r) memcpy(Y + r * ldy + N - BRUNO__VL, tail + (size_t)r * BRUNO__VL, sizeof(bruno__vr));
}

/* The k loop in chunks of KC, each over every tile: the chunk's rows of B
   stay in cache while all the tiles use them (a weight gradient sums over
   all T * batch rows). Y carries each sum from one chunk to the next, so
   the order over k is unchanged. */
static void bruno__gemm_dense(size_t M, size_t N, size_t K, const bruno_real *A, size_t ars, size_t aks,
                              const bruno_real *B, size_t ldb, bruno_real *Y, size_t ldy, int add)
{
    size_t m, k0 = 0;
    do {
        size_t kc = K - k0 < BRUNO__GEMM_KC ? K - k0 : BRUNO__GEMM_KC;
        const bruno_real *a = A + k0 * aks, *b = B + k0 * ldb;
        int ad = add || k0 > 0;
        for (m = 0; m + BRUNO__GEMM_MB <= M; m += BRUNO__GEMM_MB) {
            /* A's rows far apart (a forward's or dx's [rows][inputs], a block
               of 16 inputs of each): the lines of the tile 4 tiles ahead are
               asked for now. The core's prefetchers did not follow the
               row stride: a Braille readout's forward (4854 rows of 256
               spikes, 27 outputs) ran at 16 G products/s, with this 40 */
            if (aks == 1 && ars > 16 && m + 5 * BRUNO__GEMM_MB <= M) {
                int r;
                for (r = 0; r < BRUNO__GEMM_MB; ++r) BRUNO__PREFETCH(a + (m + 4 * BRUNO__GEMM_MB + (size_t)r) * ars);
            }
            bruno__gemm_block(BRUNO__GEMM_MB, BRUNO__GEMM_NV, NULL, N, kc, a + m * ars, ars, aks, b, ldb,
                              Y + m * ldy, ldy, ad);
        }
        for (; m < M; ++m)
            bruno__gemm_block(1, BRUNO__GEMM_NV, NULL, N, kc, a + m * ars, ars, aks, b, ldb, Y + m * ldy, ldy, ad);
        k0 += kc;
    } while (k0 < K);
}

static void bruno__gemm_skip(size_t M, size_t N, size_t K, const bruno_real *A, size_t ars, size_t aks,
                             const bruno_real *B, size_t ldb, bruno_real *Y, size_t ldy, int add)
{
    uint32_t idx[BRUNO__GEMM_KC];
    size_t m, k0, k, cnt;
    if (!add) /* then added to: the bits of a sum from +0 */
        for (m = 0; m < M; ++m) memset(Y + m * ldy, 0, N * sizeof *Y);
    for (k0 = 0; k0 < K; k0 += BRUNO__GEMM_KC) {
        size_t kc = K - k0 < BRUNO__GEMM_KC ? K - k0 : BRUNO__GEMM_KC;
        for (m = 0; m < M; ++m) {
            const bruno_real *a = A + m * ars + k0 * aks;
            for (cnt = 0, k = 0; k < kc; ++k)
                if (a[k * aks] != 0) idx[cnt++] = (uint32_t)k;
            if (cnt)
                bruno__gemm_block(1, BRUNO__GEMM_SKIP_NV, idx, N, cnt, a, 0, aks, B + k0 * ldb, ldb, Y + m * ldy, ldy,
                                  1);
        }
    }
}

/* Which variant is faster, from the share of non-zeros in A (counted on at
   most 64 x 64 entries spread over A), the vectors a row of Y takes,
   nv = ceil(N / VL), and the terms K. Skipping saves the zero terms but
   loads B for every term of one row, where a dense tile loads it once for
   MB rows, and it pays for its scan. Measured (both variants on random 0/1
   A, M = 512, one core of the AMD EPYC (Zen 5) VM, AVX-512, float, the
   8 x 2 dense tile; `bruno-bench products` times this suite's own shapes):
   - K = 64 and 256: skipping is faster below a share of ~8 % at nv = 8,
     ~15 % at nv = 16, 20-26 % at nv = 32, and never at nv <= 4 (its time
     over the dense one at a 1 % share: 1.0 at nv = 4, 1.7-2.0 at 27
     columns). Rule, on the conservative side: below 0.22 - 1.2 / nv.
   - K = 16 (a dense forward's block of inputs): the dense tile sums only
     16 terms per load and store of its sums, and skipping wins up to ~45 %
     at nv = 8 and above, ~15 % at nv = 4. Rule: below 0.4 at nv >= 8, 0.12
     at nv 4 to 7; never at nv <= 3, where the measured crossover moved
     with M (27 columns: skipping 0.7x at M = 512 but 1.3x at M = 4854).
   Below one vector a row (scalar columns): below one half. (With the 4 x 4
   tile this suite had before, the crossovers at K = 256 were about twice
   as high: the denser tile moved them.) The share is counted over all K
   terms of A; kc is the terms of one call (a dense forward calls the
   kernel once per block of BRUNO__DENSE_BLOCK inputs). */
static int bruno__gemm_skip_pays(size_t M, size_t N, size_t K, size_t kc, const bruno_real *A, size_t ars,
                                 size_t aks)
{
    size_t sm = M < 64 ? M : 64, sk = K < 64 ? K : 64, i, j, nnz = 0, nv = (N + BRUNO__VL - 1) / BRUNO__VL;
    size_t koff[64]; /* the sampled terms' offsets, divided out once: not 4096 divisions a call (an RLIF
                        backward asks per step, 10 % of its time went here) */
    double share, thr;
    for (j = 0; j < sk; ++j) koff[j] = (j * K / sk) * aks;
    for (i = 0; i < sm; ++i) {
        const bruno_real *row = A + (i * M / sm) * ars;
        for (j = 0; j < sk; ++j) nnz += row[koff[j]] != 0;
    }
    share = (double)nnz / (double)(sm * sk);
    if (N < BRUNO__VL) thr = 0.5;
    else if (kc <= 16) thr = nv >= 8 ? 0.4 : nv >= 4 ? 0.12 : 0.0;
    else thr = 0.22 - 1.2 / (double)nv;
    return share < thr;
}

/* skip: 1 the skipping variant, 0 the dense one, -1 by bruno__gemm_skip_pays */
static void bruno__gemm(size_t M, size_t N, size_t K, const bruno_real *A, size_t ars, size_t aks,
                        const bruno_real *B, size_t ldb, bruno_real *Y, size_t ldy, int add, int skip)
{
    if (M == 0 || N == 0) return;
    if (K == 0) {
        size_t m;
        if (!add)
            for (m = 0; m < M; ++m) memset(Y + m * ldy, 0, N * sizeof *Y);
        return;
    }
    if (skip < 0) skip = bruno__gemm_skip_pays(M, N, K, K, A, ars, aks);
    if (skip) bruno__gemm_skip(M, N, K, A, ars, aks, B, ldb, Y, ldy, add);
    else bruno__gemm_dense(M, N, K, A, ars, aks, B, ldb, Y, ldy, add);
}

/* ---- layer: encode: tile the inputs, then gain*(x + bias) (MODELS §3) ---------- */
static bruno_result bruno__encode_check(bruno_layer *L, const bruno_layer_config *lc, size_t n_in)
{
    /* n_in * tile must not wrap: the same bound as a dense layer's width */
    if (lc->encode.tile == 0 || lc->encode.tile > ((size_t)1 << 24) / n_in) return BRUNO_ERR_SIZE;
    L->n_out = n_in * lc->encode.tile;
    if (lc->n_out && lc->n_out != L->n_out) return BRUNO_ERR_SHAPE;
    return BRUNO_OK;
}

static size_t bruno__encode_params_plan(bruno_layer *L, bruno__buf *b)
{
    size_t k = 0;
    BRUNO__BUF(b, k, L->b, L->n_out, bruno_real);
    BRUNO__BUF(b, k, L->gb, L->n_out, bruno_real);
    BRUNO__BUF(b, k, L->as.encode.gain, L->n_out, bruno_real);
    BRUNO__BUF(b, k, L->as.encode.ggain, L->n_out, bruno_real);
    return k;
}

static void bruno__encode_init(bruno_net *net, bruno_layer *L, const bruno_layer_config *lc)
{
    size_t i;
    for (i = 0; i < L->n_out; ++i)
        L->as.encode.gain[i] = (bruno_real)(lc->encode.gain_init_mean + lc->encode.gain_init_std * bruno_rng_normal(&net->rng));
    for (i = 0; i < L->n_out; ++i) L->b[i] = (bruno_real)(lc->encode.bias_init_std * bruno_rng_normal(&net->rng));
    bruno__add_param(net, "gain", L->as.encode.gain, L->as.encode.ggain, L->n_out);
    bruno__add_param(net, "bias", L->b, L->gb, L->n_out);
}

static size_t bruno__no_ws_plan(bruno_layer *L, const bruno_net_config *c, size_t T, size_t B, int train,
                                bruno__buf *b)
{
    (void)L, (void)c, (void)T, (void)B, (void)train, (void)b;
    return 0;
}

/* Whether the dense layer above computes this layer's part (bruno__dense_setup) */
static int bruno__encode_folded(const bruno_net *net, const bruno_layer *L)
{
    return net->n_layers > 1 && net->layers[0] == L && net->layers[1]->cfg.kind == BRUNO_LAYER_DENSE &&
           net->layers[1]->as.dense.enc == L;
}

static bruno_result bruno__encode_forward(bruno_net *net, bruno_layer *L, const bruno_real *x, size_t T, size_t B,
                                          int train)
{
    size_t R = T * B, r, c, i, ni = L->n_in, no = L->n_out;
    const bruno_real *gain = L->as.encode.gain;
    (void)train;
    if (bruno__encode_folded(net, L)) { /* the dense layer above reads x itself */
        L->as.encode.in = x;
        return BRUNO_OK;
    }
    /* output c reads input c % n_in: c = t n_in + i over the tiles t, with
       no division per element (a size_t % per element was most of it) */
    for (r = 0; r < R; ++r)
        for (c = 0; c < no; c += ni)
            for (i = 0; i < ni; ++i) L->out[r * no + c + i] = gain[c + i] * (x[r * ni + i] + L->b[c + i]);
    return BRUNO_OK;
}

static void bruno__encode_backward(bruno_net *net, bruno_layer *L, const bruno_real *x, const bruno_real *dy,
                                   bruno_real *dx, size_t T, size_t B)
{
    size_t R = T * B, r, c, i, ni = L->n_in, no = L->n_out;
    const bruno_real *gain = L->as.encode.gain;
    if (bruno__encode_folded(net, L)) return; /* the dense layer above took its gradients (layer 0: no dx) */
    if (dx) memset(dx, 0, R * ni * sizeof *dx);
    /* c = t n_in + i as the forward; every sum keeps its order (ggain[c],
       gb[c] over r ascending, dx[r][i] over the tiles ascending) */
    for (r = 0; r < R; ++r)
        for (c = 0; c < no; c += ni)
            for (i = 0; i < ni; ++i) {
                bruno_real d = dy[r * no + c + i];
                L->as.encode.ggain[c + i] += d * (x[r * ni + i] + L->b[c + i]);
                L->gb[c + i] += d * gain[c + i];
                if (dx) dx[r * ni + i] += d * gain[c + i];
            }
}

/* ---- layer: dense: y[r] = W x[r] (+ b) over rows r (MODELS §5) ------------------ */
#define BRUNO__DENSE_BLOCK 16 /* inputs a dense layer transposes at a time */

/* Rows of a dense forward's chunk: their sums, 512 KiB, stay in a core's L2
   over all input blocks. Each chunk transposes W again, a block at a time:
   n_in x n_out copies for 512 KiB / n_out rows of n_in x n_out products. */
static size_t bruno__dense_chunk(size_t n_out)
{
    size_t rc = ((size_t)512 << 10) / (n_out * sizeof(bruno_real));
    return rc < 16 ? 16 : rc;
}

static bruno_result bruno__dense_check(bruno_layer *L, const bruno_layer_config *lc, size_t n_in)
{
    if (lc->n_out == 0 || lc->n_out > ((size_t)1 << 24)) return BRUNO_ERR_SIZE;
    L->n_out = lc->n_out;
    L->nW = L->n_out * n_in;
    return BRUNO_OK;
}

static size_t bruno__dense_params_plan(bruno_layer *L, bruno__buf *b)
{
    size_t k = bruno__W_plan(L, b, 0);
    if (L->cfg.matrix.bias) {
        BRUNO__BUF(b, k, L->b, L->n_out, bruno_real);
        BRUNO__BUF(b, k, L->gb, L->n_out, bruno_real);
    }
    return k;
}

/* An encoding layer is x_e[j] = g[j] (x[j mod C] + b[j]) over its C inputs
   tiled n_e / C times, so a dense layer above it is an affine map of x:

       y[o] = sum_i Weff[o][i] x[i] + c[o],
       Weff[o][i] = sum_{j mod C = i} W[o][j] g[j],   c[o] = sum_j W[o][j] g[j] b[j] (+ bias[o]),

   C multiply-adds a row for n_e (Braille: 4 for 128, 24 for 768). Its
   gradients fold the same way, with G[o][i] = sum_r dy[r][o] x[r][i] and
   h[o] = sum_r dy[r][o]: dL/dW[o][j] = g[j] (G[o][j mod C] + b[j] h[o]),
   dL/dg[j] = sum_o W[o][j] (G[o][j mod C] + b[j] h[o]), dL/db[j] =
   g[j] sum_o W[o][j] h[o]. The same sums in another order (Weff and c in
   double), so the bits differ from the layer-by-layer products at the
   rounding level. The dense layer takes it over where the encoding layer is
   the network's first (no dL/dx to pass down) and tiles at least twice (with
   one tile nothing is saved; those nets keep the layer-by-layer products
   and their bits). Measured on a Braille raw-file LIF epoch (hidden 256,
   batch 128): the encoder -> hidden products were ~40 % of it. */
static bruno_result bruno__dense_setup(bruno_net *net, bruno_layer *L, const bruno_layer_config *lc)
{
    bruno_layer *E = net->n_layers == 1 ? net->layers[0] : NULL;
    (void)lc;
    L->as.dense.enc = E && E->cfg.kind == BRUNO_LAYER_ENCODE && E->n_out >= 2 * E->n_in ? E : NULL;
    return BRUNO_OK;
}

static void bruno__dense_init(bruno_net *net, bruno_layer *L, const bruno_layer_config *lc)
{
    bruno__W_init(net, L, lc);
    if (L->b) bruno__add_param(net, "b", L->b, L->gb, L->n_out);
}

/* BRUNO__DENSE_BLOCK inputs of W, transposed, one block per thread */
static size_t bruno__dense_ws_plan(bruno_layer *L, const bruno_net_config *c, size_t T, size_t B, int train,
                                   bruno__buf *b)
{
    size_t k = 0;
    (void)train;
    if (L->as.dense.enc) {
        BRUNO__BUF(b, k, L->as.dense.fold, (2 * L->as.dense.enc->n_in + 2) * L->n_out, bruno_real);
        return k;
    }
    BRUNO__BUF(b, k, L->as.dense.blocks, BRUNO__DENSE_BLOCK * L->n_out * bruno__n_items(c, T * B), bruno_real);
    return k;
}

/* The folded forward (bruno__dense_setup): Weff transposed [C][n_out] and c
   [n_out] from this pass's W, then every row's c + x Weff^T, the rows a
   static share per thread (any thread count: the same bits). */
static void bruno__dense_forward_folded(bruno_net *net, bruno_layer *L, const bruno_real *W, size_t R)
{
    const bruno_layer *E = L->as.dense.enc;
    const bruno_real *x = E->as.encode.in, *g = E->as.encode.gain, *be = E->b;
    size_t no = L->n_out, ne = L->n_in, C = E->n_in, nt = bruno__n_items(&net->cfg, R), o, i, j;
    bruno_real *WeT = L->as.dense.fold, *c0 = WeT + C * no;
    long part;
    int skip;
    for (o = 0; o < no; ++o) {
        double cs = L->b ? (double)L->b[o] : 0.0;
        for (j = 0; j < ne; ++j) cs += (double)W[o * ne + j] * (double)g[j] * (double)be[j];
        c0[o] = (bruno_real)cs;
        for (i = 0; i < C; ++i) {
            double ws = 0;
            for (j = i; j < ne; j += C) ws += (double)W[o * ne + j] * (double)g[j];
            WeT[i * no + o] = (bruno_real)ws;
        }
    }
    skip = bruno__gemm_skip_pays(R, no, C, C, x, C, 1);
#ifdef _OPENMP
#pragma omp parallel for num_threads((int)nt) schedule(static) if (nt > 1)
#endif
    for (part = 0; part < (long)nt; ++part) {
        size_t r0 = R * (size_t)part / nt, r1 = R * ((size_t)part + 1) / nt, r;
        for (r = r0; r < r1; ++r) memcpy(L->out + r * no, c0, no * sizeof *c0);
        bruno__gemm(r1 - r0, no, C, x + r0 * C, C, 1, WeT, no, L->out + r0 * no, no, 1, skip);
    }
}

/* The folded backward: G transposed, Gt [C][n_out] = x^T dy, and h
   [n_out] over the rows (each output's sums owned by one thread, r
   ascending), then the gradients of W, the bias and the encoding layer's
   gain and bias from them, in double, serially (n_out n_e terms a batch).
   W as the unfolded backward reads it: the forward's quantised or read one.
   Gt, not G [n_out][C]: the product's vectors then run across the n_out
   outputs of a row of dy, where G's ran across its C = 4 columns (fewer
   than a vector: the kernel's scalar path, each term read down a column of
   dy, 1.1e9 multiply-adds/s, a fifth of a Braille raw-file LIF epoch;
   `bruno-bench products` times both). Each sum has the same terms in the
   same order, so the same bits. */
static void bruno__dense_backward_folded(bruno_net *net, bruno_layer *L, const bruno_real *dy, size_t R)
{
    bruno_layer *E = L->as.dense.enc;
    const bruno_real *W = L->Wq ? L->Wq : L->W, *x = E->as.encode.in, *g = E->as.encode.gain, *be = E->b;
    size_t no = L->n_out, ne = L->n_in, C = E->n_in, nt = bruno__n_items(&net->cfg, no), o, j;
    bruno_real *Gt = L->as.dense.fold + (C + 1) * no, *h = Gt + no * C;
    int skip = bruno__gemm_skip_pays(C, no, R, R, x, 1, C);
    long part;
#ifdef _OPENMP
#pragma omp parallel for num_threads((int)nt) schedule(static) if (nt > 1)
#endif
    for (part = 0; part < (long)nt; ++part) {
        size_t o0 = no * (size_t)part / nt, o1 = no * ((size_t)part + 1) / nt, rr, k;
        bruno__gemm(C, o1 - o0, R, x, 1, C, dy + o0, no, Gt + o0, no, 0, skip);
        for (k = o0; k < o1; ++k) h[k] = 0;
        for (rr = 0; rr < R; ++rr)
            for (k = o0; k < o1; ++k) h[k] += dy[rr * no + k];
    }
    if (L->b)
        for (o = 0; o < no; ++o) L->gb[o] += h[o];
    for (j = 0; j < ne; ++j) {
        double sg = 0, sb = 0, gj = (double)g[j], bj = (double)be[j];
        for (o = 0; o < no; ++o) {
            double q = (double)Gt[(j % C) * no + o] + bj * (double)h[o], w = (double)W[o * ne + j];
            L->gW[o * ne + j] += (bruno_real)(gj * q);
            sg += w * q;
            sb += w * (double)h[o];
        }
        E->as.encode.ggain[j] += (bruno_real)sg;
        E->gb[j] += (bruno_real)(gj * sb);
    }
}

static bruno_result bruno__dense_forward(bruno_net *net, bruno_layer *L, const bruno_real *x, size_t R)
{
    bruno_result res = BRUNO_OK;
    const bruno_real *W = bruno__weights(net, L, &res);
    size_t no = L->n_out, ni = L->n_in, nt = bruno__n_items(&net->cfg, R);
    long part;
    int skip;
    if (res != BRUNO_OK) return res;
    if (L->as.dense.enc) {
        bruno__dense_forward_folded(net, L, W, R);
        return res;
    }
    /* y = W x (+ b) for every row, a block of inputs at a time: the block is
       transposed into the workspace and bruno__gemm adds it to every row,
       inputs in ascending order, so the bits are those of a full transpose
       at a fraction of its memory. Each thread takes a static share of the
       rows and transposes every block into its own slice of the workspace:
       no barrier between blocks. A transpose shared by the threads needed
       two barriers per block, and E1's dense forward (512 inputs, 32
       blocks) ran 1.67x at two threads; the repeated transpose copies 16
       n_out values per block and thread, against 16 n_out multiply-adds
       per row (E1: 200 rows per thread). Any thread count gives the same
       bits: a row's sums do not depend on who computes it. The variant
       (skipping zero inputs or not) is chosen once for all rows and blocks. */
    skip = bruno__gemm_skip_pays(R, no, ni, ni < BRUNO__DENSE_BLOCK ? ni : BRUNO__DENSE_BLOCK, x, ni, 1);
#ifdef _OPENMP
#pragma omp parallel for num_threads((int)nt) schedule(static) if (nt > 1)
#endif
    for (part = 0; part < (long)nt; ++part) {
        bruno_real *Wt = L->as.dense.blocks + (size_t)part * BRUNO__DENSE_BLOCK * no;
        size_t r0 = R * (size_t)part / nt, r1 = R * ((size_t)part + 1) / nt, rc = bruno__dense_chunk(no), re, i0,
               r2, cc;
        /* a chunk of rows at a time, every input block over it: the chunk's
           sums stay in L2 from block to block (a Braille batch's 19456 rows
           x 256 outputs are 20 MB, which one block at a time over all rows
           streamed through memory once per block) */
        for (; r0 < r1; r0 = re) {
            re = r1 - r0 < rc ? r1 : r0 + rc;
            memset(L->out + r0 * no, 0, (re - r0) * no * sizeof *L->out);
            for (i0 = 0; i0 < ni; i0 += BRUNO__DENSE_BLOCK) {
                size_t nb = ni - i0 < BRUNO__DENSE_BLOCK ? ni - i0 : BRUNO__DENSE_BLOCK, oo, i;
                for (oo = 0; oo < no; ++oo)
                    for (i = 0; i < nb; ++i) Wt[i * no + oo] = W[oo * ni + i0 + i];
                bruno__gemm(re - r0, no, nb, x + r0 * ni + i0, ni, 1, Wt, no, L->out + r0 * no, no, 1, skip);
            }
            if (L->b)
                for (r2 = r0; r2 < re; ++r2)
                    for (cc = 0; cc < no; ++cc) L->out[r2 * no + cc] += L->b[cc];
        }
    }
    return res;
}

/* dx rows and gW rows are each owned by one thread and summed in the
   serial order, so any thread count gives the same bits:
   dx[r][i] = sum_o dy[r][o] W[o][i] (o ascending), and
   gW[o][i] += sum_r dy[r][o] x[r][i], gb[o] += sum_r dy[r][o] (r ascending). */
static void bruno__dense_backward(bruno_net *net, bruno_layer *L, const bruno_real *x, const bruno_real *dy,
                                  bruno_real *dx, size_t R)
{
    const bruno_real *W = L->Wq ? L->Wq : L->W;
    size_t ni = L->n_in, no = L->n_out, nt;
    int skip_dx, skip_gw;
    long part;
    if (L->as.dense.enc) {
        bruno__dense_backward_folded(net, L, dy, R);
        return;
    }
    skip_dx = dx ? bruno__gemm_skip_pays(R, ni, no, no, dy, no, 1) : 0;
    skip_gw = bruno__gemm_skip_pays(no, ni, R, R, dy, 1, no);
    if (dx) {
        nt = bruno__n_items(&net->cfg, R);
#ifdef _OPENMP
#pragma omp parallel for num_threads((int)nt) schedule(static) if (nt > 1)
#endif
        for (part = 0; part < (long)nt; ++part) {
            size_t r0 = R * (size_t)part / nt, r1 = R * ((size_t)part + 1) / nt;
            bruno__gemm(r1 - r0, ni, no, dy + r0 * no, no, 1, W, ni, dx + r0 * ni, ni, 0, skip_dx);
        }
    }
    nt = bruno__n_items(&net->cfg, no);
#ifdef _OPENMP
#pragma omp parallel for num_threads((int)nt) schedule(static) if (nt > 1)
#endif
    for (part = 0; part < (long)nt; ++part) {
        size_t o0 = no * (size_t)part / nt, o1 = no * ((size_t)part + 1) / nt, rr, k;
        bruno__gemm(o1 - o0, ni, R, dy + o0, 1, no, x, ni, L->gW + o0 * ni, ni, 1, skip_gw);
        if (L->b)
            for (rr = 0; rr < R; ++rr)
                for (k = o0; k < o1; ++k) L->gb[k] += dy[rr * no + k];
    }
}

/* the table's forms: a dense layer works on T*B rows */
static bruno_result bruno__dense_fwd(bruno_net *net, bruno_layer *L, const bruno_real *x, size_t T, size_t B,
                                     int train)
{
    (void)train;
    return bruno__dense_forward(net, L, x, T * B);
}

static void bruno__dense_bwd(bruno_net *net, bruno_layer *L, const bruno_real *x, const bruno_real *dy,
                             bruno_real *dx, size_t T, size_t B)
{
    bruno__dense_backward(net, L, x, dy, dx, T * B);
}

/* ---- layer: lif and rlif: current-based LIF, RLIF with W_rec s_{t-1} (MODELS §4) -- */
static bruno_result bruno__rlif_check(bruno_layer *L, const bruno_layer_config *lc, size_t n_in)
{
    bruno_result r = bruno__neurons_check(L, lc, n_in);
    L->nW = n_in * n_in;
    return r;
}

static bruno_result bruno__lif_setup(bruno_net *net, bruno_layer *L, const bruno_layer_config *lc)
{
    (void)net, (void)L;
    if (!(lc->lif.alpha >= 0.5 && lc->lif.alpha <= 1 && lc->lif.beta >= 0.5 && lc->lif.beta <= 1)) return BRUNO_ERR_PARAM;
    return BRUNO_OK;
}

static size_t bruno__lif_params_plan(bruno_layer *L, bruno__buf *b)
{
    size_t k = L->ops->W_name ? bruno__W_plan(L, b, 1) : 0;
    BRUNO__BUF(b, k, L->as.lif.dec, 2, bruno_real);
    BRUNO__BUF(b, k, L->as.lif.gdec, 2, bruno_real);
    return k;
}

static void bruno__lif_init(bruno_net *net, bruno_layer *L, const bruno_layer_config *lc)
{
    if (L->ops->W_name) bruno__W_init(net, L, lc);
    L->as.lif.dec[0] = (bruno_real)lc->lif.alpha;
    L->as.lif.dec[1] = (bruno_real)lc->lif.beta;
    if (lc->lif.train_decay) bruno__add_param(net, "decay", L->as.lif.dec, L->as.lif.gdec, 2);
}

static size_t bruno__lif_ws_plan(bruno_layer *L, const bruno_net_config *c, size_t T, size_t B, int train,
                                 bruno__buf *b)
{
    size_t k = 0, BN = B * L->n_out;
    (void)c, (void)train;
    BRUNO__BUF(b, k, L->as.lif.syn, T * BN, bruno_real);
    BRUNO__BUF(b, k, L->as.lif.mem, T * BN, bruno_real);
    if (train && L->ops->W_name) BRUNO__BUF(b, k, L->as.lif.rin, T * BN, bruno_real);
    BRUNO__BUF(b, k, L->as.lif.work, 4 * BN, bruno_real);
    return k;
}

static bruno_result bruno__lif_forward(bruno_net *net, bruno_layer *L, const bruno_real *x, size_t T, size_t B,
                                       int train)
{
    size_t n = L->n_out, BN = B * n, t, i;
    bruno_real a = L->as.lif.dec[0], be = L->as.lif.dec[1];
    bruno_real *xin = L->as.lif.work;   /* [B][n] */
    const bruno_real *Wr = NULL;
    bruno_result r = BRUNO_OK;
    if (L->ops->W_name) {
        Wr = bruno__weights(net, L, &r);
        if (r != BRUNO_OK) return r;
    }
    for (t = 0; t < T; ++t) {
        const bruno_real *xt = x + t * BN;
        bruno_real *syn = L->as.lif.syn + t * BN, *mt = L->as.lif.mem + t * BN, *y = L->out + t * BN;
        const bruno_real *syn_p = t ? syn - BN : NULL, *mt_p = t ? mt - BN : NULL, *xs = xt;
        /* the recurrent current of the batch: spikes [B][n] times W^T, added
           to a copy of the input (a plain LIF reads its input where it is),
           kept for the backward pass when training */
        if (Wr && t) {
            if (train) xin = L->as.lif.rin + t * BN;
            memcpy(xin, xt, BN * sizeof *xin);
            bruno__gemm(B, n, n, L->out + (t - 1) * BN, n, 1, Wr, n, xin, n, 1, -1);
            xs = xin;
        }
        if (!t)
            for (i = 0; i < BN; ++i) {
                syn[i] = be * 0 + (1 - be) * xs[i];
                mt[i] = a * 0 + (1 - a) * syn[i];
            }
        else
            for (i = 0; i < BN; ++i) {
                bruno_real mp = mt_p[i] >= 1 ? 0 : mt_p[i]; /* mem after the reset */
                syn[i] = be * syn_p[i] + (1 - be) * xs[i];
                mt[i] = a * mp + (1 - a) * syn[i];
            }
        bruno__spike_n(&L->cfg, mt, 1, y, BN);
    }
    return BRUNO_OK;
}

/* elements of a LIF backward pass per chunk: its terms of the decays'
   gradients are formed in a vectorised loop and summed in order after it */
#define BRUNO__LIF_CHUNK 256

/* One chunk of a LIF backward step (MODELS §4): the adjoints of its
   elements, and the terms ta, tb of the decays' gradients. mt_p, syn_p
   are NULL at t = 0 (the state before the first step is 0). The arrays do
   not overlap, which lets the compiler vectorise the loop. */
static void bruno__lif_bwd_chunk(size_t nc, bruno_real a, bruno_real be, const bruno_real *BRUNO__RESTRICT mt,
                                 const bruno_real *BRUNO__RESTRICT mt_p, const bruno_real *BRUNO__RESTRICT syn,
                                 const bruno_real *BRUNO__RESTRICT syn_p, const bruno_real *BRUNO__RESTRICT dyt,
                                 const bruno_real *BRUNO__RESTRICT g_s, const bruno_real *BRUNO__RESTRICT sg,
                                 bruno_real *BRUNO__RESTRICT g_mem, bruno_real *BRUNO__RESTRICT g_syn,
                                 bruno_real *BRUNO__RESTRICT xin, bruno_real *BRUNO__RESTRICT ta,
                                 bruno_real *BRUNO__RESTRICT tb)
{
    size_t c;
#define BRUNO__LIF_BWD(MP, SP)                                                        \
    for (c = 0; c < nc; ++c) {                                                       \
        bruno_real s_hard = mt[c] >= 1 ? (bruno_real)1 : (bruno_real)0;              \
        bruno_real gy = dyt[c] + g_s[c];                                             \
        bruno_real gm = g_mem[c] * (1 - s_hard) + gy * sg[c];                        \
        bruno_real gsyn = g_syn[c] + gm * (1 - a);                                   \
        ta[c] = gm * ((MP) - syn[c]);                                                \
        g_mem[c] = gm * a;                                                           \
        tb[c] = gsyn * ((SP) - xin[c]);                                              \
        g_syn[c] = gsyn * be;                                                        \
        xin[c] = gsyn * (1 - be); /* now dL/dxin */                                  \
    }
    if (mt_p && syn_p) BRUNO__LIF_BWD(mt_p[c] >= 1 ? 0 : mt_p[c], syn_p[c])
    else BRUNO__LIF_BWD((bruno_real)0, (bruno_real)0)
#undef BRUNO__LIF_BWD
}

static void bruno__lif_backward(bruno_net *net, bruno_layer *L, const bruno_real *x, const bruno_real *dy,
                                bruno_real *dx, size_t T, size_t B)
{
    size_t n = L->n_out, BN = B * n, t, i0;
    bruno_real a = L->as.lif.dec[0], be = L->as.lif.dec[1], ga = 0, gb = 0, *w = L->as.lif.work;
    bruno_real *g_syn = w, *g_mem = w + BN, *g_s = w + 2 * BN;
    const bruno_real *Wr = L->ops->W_name ? (L->Wq ? L->Wq : L->W) : NULL;
    (void)net;
    memset(w, 0, 3 * BN * sizeof(bruno_real));
    for (t = T; t-- > 0;) {
        const bruno_real *syn = L->as.lif.syn + t * BN, *mt = L->as.lif.mem + t * BN, *dyt = dy + t * BN;
        const bruno_real *syn_p = t ? syn - BN : NULL, *mt_p = t ? mt - BN : NULL;
        /* xin: step t's input (plus the recurrent current), then dL/dxin in
           its place; it is dx's step t itself (in place over x when the
           network writes dx there: bruno__grad_in_place), a scratch row
           for the first layer */
        bruno_real *xin = dx ? dx + t * BN : w + 3 * BN;
        if (Wr && t) memcpy(xin, L->as.lif.rin + t * BN, BN * sizeof *xin);
        else if (xin != x + t * BN) memcpy(xin, x + t * BN, BN * sizeof *xin);
        for (i0 = 0; i0 < BN; i0 += BRUNO__LIF_CHUNK) {
            /* the terms of ga and gb, then their sums over i ascending: the
               order of the plain loop, so the same bits */
            bruno_real sg[BRUNO__LIF_CHUNK], ta[BRUNO__LIF_CHUNK], tb[BRUNO__LIF_CHUNK];
            size_t nc = BN - i0 < BRUNO__LIF_CHUNK ? BN - i0 : BRUNO__LIF_CHUNK, c;
            bruno__surrogate_n(&L->cfg, mt + i0, 1, sg, nc);
            bruno__lif_bwd_chunk(nc, a, be, mt + i0, mt_p ? mt_p + i0 : NULL, syn + i0, syn_p ? syn_p + i0 : NULL,
                                 dyt + i0, g_s + i0, sg, g_mem + i0, g_syn + i0, xin + i0, ta, tb);
            for (c = 0; c < nc; ++c) {
                ga += ta[c];
                gb += tb[c];
            }
        }
        if (Wr) {
            memset(g_s, 0, BN * sizeof *g_s);
            if (t) {
                /* g_s[b][i] = sum_o xin[b][o] W[o][i]; gW[o][i] += sum_b xin[b][o] s_{t-1}[b][i], b ascending */
                bruno__gemm(B, n, n, xin, n, 1, Wr, n, g_s, n, 0, -1);
                bruno__gemm(n, n, B, xin, 1, n, L->out + (t - 1) * BN, n, L->gW, n, 1, -1);
            }
        }
    }
    L->as.lif.gdec[0] += ga;
    L->as.lif.gdec[1] += gb;
}

/* alpha, beta stay in [0.5, 1] */
static void bruno__lif_constrain(bruno_layer *L)
{
    int i;
    for (i = 0; i < 2; ++i) {
        if (L->as.lif.dec[i] < (bruno_real)0.5) L->as.lif.dec[i] = (bruno_real)0.5;
        if (L->as.lif.dec[i] > 1) L->as.lif.dec[i] = 1;
    }
}

/* ---- layer: snu: h = h(1-s)decay + x + W_rec s + b (MODELS §4) ------------------ */
static size_t bruno__snu_params_plan(bruno_layer *L, bruno__buf *b)
{
    size_t k = bruno__W_plan(L, b, 1);
    BRUNO__BUF(b, k, L->b, L->n_out, bruno_real);
    BRUNO__BUF(b, k, L->gb, L->n_out, bruno_real);
    return k;
}

static void bruno__snu_init(bruno_net *net, bruno_layer *L, const bruno_layer_config *lc)
{
    bruno__W_init(net, L, lc);
    bruno__add_param(net, "b", L->b, L->gb, L->n_out);
}

static size_t bruno__snu_ws_plan(bruno_layer *L, const bruno_net_config *c, size_t T, size_t B, int train,
                                 bruno__buf *b)
{
    size_t k = 0, BN = B * L->n_out;
    (void)c, (void)train;
    BRUNO__BUF(b, k, L->as.snu.h, T * BN, bruno_real);
    BRUNO__BUF(b, k, L->as.snu.work, 3 * BN, bruno_real);
    return k;
}

static bruno_result bruno__snu_forward(bruno_net *net, bruno_layer *L, const bruno_real *x, size_t T, size_t B,
                                       int train)
{
    size_t n = L->n_out, BN = B * n, t, i;
    bruno_real d = (bruno_real)L->cfg.snu.decay, thr = (bruno_real)L->cfg.snu.threshold, *H = L->as.snu.h;
    bruno_result r;
    const bruno_real *Wr = bruno__weights(net, L, &r);
    (void)train;
    if (r != BRUNO_OK) return r;
    for (t = 0; t < T; ++t) {
        bruno_real *h = H + t * BN, *y = L->out + t * BN;
        for (i = 0; i < BN; ++i) {
            bruno_real hp = t ? H[(t - 1) * BN + i] : 0;
            bruno_real sp = (t && hp >= thr) ? (bruno_real)1 : (bruno_real)0;
            h[i] = hp * (1 - sp) * d + x[t * BN + i] + L->b[i % n];
        }
        if (t) bruno__gemm(B, n, n, L->out + (t - 1) * BN, n, 1, Wr, n, h, n, 1, -1);
        for (i = 0; i < BN; ++i) y[i] = bruno__spike(&L->cfg, h[i] - thr);
    }
    return BRUNO_OK;
}

static void bruno__snu_backward(bruno_net *net, bruno_layer *L, const bruno_real *x, const bruno_real *dy,
                                bruno_real *dx, size_t T, size_t B)
{
    size_t n = L->n_out, BN = B * n, t, i;
    bruno_real d = (bruno_real)L->cfg.snu.decay, thr = (bruno_real)L->cfg.snu.threshold, *H = L->as.snu.h;
    bruno_real *g_h = L->as.snu.work, *g_s = g_h + BN, *gh_t = g_h + 2 * BN;
    const bruno_real *Wr = L->Wq ? L->Wq : L->W;
    (void)net, (void)x;
    memset(g_h, 0, 2 * BN * sizeof(bruno_real));
    for (t = T; t-- > 0;) {
        const bruno_real *h = H + t * BN;
        for (i = 0; i < BN; ++i) {
            gh_t[i] = g_h[i] + (dy[t * BN + i] + g_s[i]) * bruno__surrogate(&L->cfg, h[i] - thr);
            L->gb[i % n] += gh_t[i];
        }
        if (dx) memcpy(dx + t * BN, gh_t, BN * sizeof *gh_t);
        memset(g_s, 0, BN * sizeof *g_s);
        if (t) {
            bruno__gemm(B, n, n, gh_t, n, 1, Wr, n, g_s, n, 0, -1);
            bruno__gemm(n, n, B, gh_t, 1, n, L->out + (t - 1) * BN, n, L->gW, n, 1, -1);
            for (i = 0; i < BN; ++i) {
                bruno_real hp = H[(t - 1) * BN + i];
                g_h[i] = gh_t[i] * (hp >= thr ? 0 : 1) * d;
            }
        }
    }
}

/* ---- layer: device neurons: current = gain * input (MODELS §2, §3) --------------- */
/* The device neurons of a FELIF layer: lc->device (FeLIF if NULL) with
   lc->device_params (NULL: the typed felif parameters for FeLIF, else the
   device's defaults), seeded from the network's RNG. Its forward and
   backward are the fine-step engine's (bruno__eng_forward, _backward). */
static bruno_result bruno__device_layer_init(bruno_net *net, bruno_layer *L, const bruno_layer_config *lc)
{
    const bruno_device *dev = lc->dev.device ? lc->dev.device : bruno__felif_dev();
    double prm[BRUNO_DEVICE_MAX_PARAMS];
    bruno_result r;
    uint64_t seed;
    if (!(lc->dev.input_gain > 0)) return BRUNO_ERR_PARAM;
    seed = bruno_rng_u64(&net->rng);
    if (lc->dev.device_params) memcpy(prm, lc->dev.device_params, dev->n_params * sizeof prm[0]);
    else if (dev == bruno__felif_dev()) {
        /* the typed parameters keep their own checks (and error codes) */
        if ((r = bruno_felif_params_validate(&lc->dev.felif)) != BRUNO_OK) return r;
        bruno_felif_params_to_vector(&lc->dev.felif, prm);
    } else bruno_device_defaults(dev, prm);
    return bruno_device_pop_init(&L->as.dev.pop, dev, prm, L->n_out, lc->dev.sigma, lc->dev.vary_gain, seed,
                                 &net->cfg.allocator);
}

static size_t bruno__no_params_plan(bruno_layer *L, bruno__buf *b)
{
    (void)L, (void)b;
    return 0;
}

static void bruno__no_init(bruno_net *net, bruno_layer *L, const bruno_layer_config *lc)
{
    (void)net, (void)L, (void)lc;
}

static size_t bruno__device_ws_plan(bruno_layer *L, const bruno_net_config *c, size_t T, size_t B, int train,
                                    bruno__buf *b)
{
    size_t k = 0, BN = B * L->n_out;
    int seq = train && c->trainer == BRUNO_TRAINER_CHECKPOINT && c->schedule == BRUNO_SCHEDULE_SEQUENCE;
    int exact = train && (c->trainer == BRUNO_TRAINER_BPTT || c->trainer == BRUNO_TRAINER_CHECKPOINT);
    if (!seq) {
        BRUNO__BUF(b, k, L->as.dev.v, (T + 1) * BN, bruno_real);
        BRUNO__BUF(b, k, L->as.dev.p, (T + 1) * BN, bruno_real);
    }
    /* fine steps taken before the freeze: every step's when the backward pass needs them */
    BRUNO__BUF(b, k, L->as.dev.taken, (exact && !seq ? T : 1) * BN, uint32_t);
    if (exact) BRUNO__BUF(b, k, L->as.dev.fine, bruno__eng_fine_states(c, T) * 2 * BN, bruno_real);
    /* gv, gp, gI, I, and a work state (v, p) */
    BRUNO__BUF(b, k, L->as.dev.work, 6 * BN, bruno_real);
    return k;
}

static bruno_result bruno__device_forward(bruno_net *net, bruno_layer *L, const bruno_real *x, size_t T, size_t B,
                                          int train)
{
    bruno__eng_forward(net, L, x, T, B, train);
    return BRUNO_OK;
}

static size_t bruno__device_bytes(const bruno_layer *L)
{
    return bruno_device_pop_bytes(L->as.dev.pop.dev, L->n_out);
}

static void bruno__device_release(bruno_layer *L) { bruno_device_pop_free(&L->as.dev.pop); }

static bruno_result bruno__device_redraw(bruno_layer *L, double sigma, bruno_rng *rng)
{
    return bruno_device_pop_redraw(&L->as.dev.pop, sigma, L->cfg.dev.vary_gain, rng);
}

/* ---- the table of layer kinds: one row per kind, in bruno_layer_kind order ------- */
/* A new kind: its value in bruno_layer_kind (before the end), its section
   above, and its row here. */
static const bruno__layer_ops bruno__layer_kinds[] = {
    {BRUNO_LAYER_ENCODE, "encode", NULL, 0, 0, 1, bruno__encode_check, NULL, bruno__encode_params_plan,
     bruno__encode_init, bruno__no_ws_plan, bruno__encode_forward, bruno__encode_backward, NULL, NULL, NULL, NULL},
    {BRUNO_LAYER_DENSE, "dense", "W", 0, 0, 1, bruno__dense_check, bruno__dense_setup, bruno__dense_params_plan,
     bruno__dense_init, bruno__dense_ws_plan, bruno__dense_fwd, bruno__dense_bwd, NULL, NULL, NULL, NULL},
    {BRUNO_LAYER_LIF, "lif", NULL, 1, 1, 1, bruno__neurons_check, bruno__lif_setup, bruno__lif_params_plan,
     bruno__lif_init, bruno__lif_ws_plan, bruno__lif_forward, bruno__lif_backward, bruno__lif_constrain, NULL, NULL,
     NULL},
    {BRUNO_LAYER_RLIF, "rlif", "W_rec", 1, 1, 0, bruno__rlif_check, bruno__lif_setup, bruno__lif_params_plan,
     bruno__lif_init, bruno__lif_ws_plan, bruno__lif_forward, bruno__lif_backward, bruno__lif_constrain, NULL, NULL,
     NULL},
    {BRUNO_LAYER_FELIF, "device", NULL, 1, 1, 0, bruno__neurons_check, bruno__device_layer_init,
     bruno__no_params_plan, bruno__no_init, bruno__device_ws_plan, bruno__device_forward, bruno__eng_backward, NULL,
     bruno__device_bytes, bruno__device_release, bruno__device_redraw},
    {BRUNO_LAYER_SNU, "snu", "W_rec", 1, 0, 0, bruno__rlif_check, NULL, bruno__snu_params_plan, bruno__snu_init,
     bruno__snu_ws_plan, bruno__snu_forward, bruno__snu_backward, NULL, NULL, NULL, NULL},
};

/* The row of a kind; NULL for a value outside the enum. */
static const bruno__layer_ops *bruno__layer_ops_of(bruno_layer_kind kind)
{
    size_t k = (size_t)kind;
    if (k >= sizeof bruno__layer_kinds / sizeof bruno__layer_kinds[0]) return NULL;
    BRUNO_ASSERT(bruno__layer_kinds[k].kind == kind);
    return &bruno__layer_kinds[k];
}

/* ---- the network ------------------------------------------------------------ */
BRUNO_API bruno_net_config bruno_net_config_default(size_t n_in)
{
    bruno_net_config c;
    memset(&c, 0, sizeof c);
    c.n_in = n_in;
    c.dt = 1e-3;
    c.n_fine = 1000;
    c.trainer = BRUNO_TRAINER_BRUNO;
    c.schedule = BRUNO_SCHEDULE_BINOMIAL;
    c.checkpoints = 31;
    c.rate_grad = 0;
    c.kernel = BRUNO_KERNEL_FAST;
    c.threads = 1;
    c.seed = 0;
    c.allocator = bruno_allocator_default();
    return c;
}

/* The checks of a network configuration: at bruno_net_init, and again at
   a forward pass when the caller changed net->cfg since the last one. */
static bruno_result bruno__net_cfg_check(const bruno_net_config *cfg)
{
    bruno_result r;
    if (cfg->n_in == 0 || cfg->n_in > ((size_t)1 << 30)) return BRUNO_ERR_SIZE;
    if ((r = bruno_check_time(cfg->dt, cfg->n_fine)) != BRUNO_OK) return r;
    if ((unsigned)cfg->trainer > BRUNO_TRAINER_COARSE || (unsigned)cfg->schedule > BRUNO_SCHEDULE_SEQUENCE ||
        (unsigned)cfg->kernel > BRUNO_KERNEL_REFERENCE || cfg->threads > 1024)
        return BRUNO_ERR_ARG;
    if (cfg->trainer == BRUNO_TRAINER_CHECKPOINT && cfg->checkpoints == 0) return BRUNO_ERR_PARAM;
    return BRUNO_OK;
}

BRUNO_API bruno_result bruno_net_init(bruno_net *net, const bruno_net_config *cfg)
{
    bruno_result r;
    if (!net || !cfg) return BRUNO_ERR_ARG;
    memset(net, 0, sizeof *net);
    if (!bruno__allocator_ok(&cfg->allocator)) return BRUNO_ERR_ARG;
    if ((r = bruno__net_cfg_check(cfg)) != BRUNO_OK) return r;
    net->cfg = *cfg;
    if (!net->cfg.allocator.alloc) net->cfg.allocator = bruno_allocator_default();
    bruno_rng_seed(&net->rng, cfg->seed);
    return BRUNO_OK;
}

BRUNO_API size_t bruno_net_n_out(const bruno_net *net)
{
    if (!net) return 0;
    return net->n_layers ? net->layers[net->n_layers - 1]->n_out : net->cfg.n_in;
}

/* The workspace of a layer for (T, B): its output, then its kind's. */
static size_t bruno__layer_ws_plan(bruno_layer *L, const bruno_net_config *c, size_t T, size_t B, int train,
                                   bruno__buf *b)
{
    size_t k = 0;
    BRUNO__BUF(b, k, L->out, T * B * L->n_out, bruno_real);
    return k + L->ops->ws_plan(L, c, T, B, train, b + k);
}

/* Whether layer l >= 1 writes dL/d(its input) over the output of the layer
   below instead of into a buffer of its own: when its kind may
   (dx_over_input) and the kind below allows it (out_overwritable). A
   device layer reads its input u_k (as the current) when it starts
   reversing network step k and writes du_k when it ends, lane by lane,
   and its recomputations (checkpointing, the sequence schedule) read only
   steps before k; a LIF layer (plain or recurrent) reads its input x_t
   only while it reverses step t and writes dx_t there; a dense, encoding
   or plain LIF layer's backward never reads its own output (a recurrent
   one does: s_{t-1}). So the two can share the array: E1's dense -> FeLIF net
   needs no gradient buffer at all (T*B*n floats less, the same bits). The
   layer below's output is consumed: the next backward needs a new
   forward. */
static int bruno__grad_in_place(const bruno_net *net, size_t l)
{
    if (l == 0 || l >= net->n_layers || !net->layers[l]->ops->dx_over_input) return 0;
    return net->layers[l - 1]->ops->out_overwritable;
}

/* Where layer l writes dL/d(its input): -1 nowhere (layer 0) or in place,
   else one of the two dL/d(activations) buffers the backward pass
   ping-pongs between (never the one it reads its dL/dy from). One plan
   for predicting the bytes, allocating and running. */
static int bruno__grad_slot(const bruno_net *net, size_t l)
{
    size_t m;
    int cur = -1; /* the slot holding dL/d(output of layer m); -1: the caller's dy or in place */
    for (m = net->n_layers; m-- > l;) {
        int s = (m == 0 || bruno__grad_in_place(net, m)) ? -1 : cur == 0 ? 1 : 0;
        if (m == l) return s;
        cur = s;
    }
    return -1;
}

static size_t bruno__grad_buffers(const bruno_net *net)
{
    size_t l, n = 0;
    for (l = 1; l < net->n_layers; ++l) {
        int s = bruno__grad_slot(net, l);
        if (s >= 0 && (size_t)s + 1 > n) n = (size_t)s + 1;
    }
    return n;
}

/* The widest input among the layers that write into a buffer. */
static size_t bruno__grad_width(const bruno_net *net)
{
    size_t l, w = 0;
    for (l = 1; l < net->n_layers; ++l)
        if (bruno__grad_slot(net, l) >= 0 && net->layers[l]->n_in > w) w = net->layers[l]->n_in;
    return w;
}

BRUNO_API size_t bruno_net_bytes(const bruno_net *net)
{
    size_t l, s = 0;
    bruno__buf b[16];
    if (!net) return 0;
    for (l = 0; l < net->n_layers; ++l) {
        bruno_layer *L = net->layers[l];
        s += sizeof(bruno_layer) + bruno__bytes_of(b, L->ops->params_plan(L, b));
        if (L->ops->own_bytes) s += L->ops->own_bytes(L);
        if (bruno__has_rram(L)) s += bruno_rram_array_bytes(&L->rram.cfg);
    }
    return s;
}
BRUNO_API size_t bruno_net_train_bytes(const bruno_net *net, size_t T, size_t batch)
{
    size_t l, s = 0, gw;
    bruno__buf b[16];
    if (!net || T == 0 || batch == 0) return 0;
    for (l = 0; l < net->n_layers; ++l) {
        /* planning only reads sizes; the layer is not changed */
        s += bruno__bytes_of(b, bruno__layer_ws_plan(net->layers[l], &net->cfg, T, batch, 1, b));
    }
    gw = bruno__grad_width(net);
    if (gw) s += bruno__grad_buffers(net) * (T * batch * gw * sizeof(bruno_real));
    return s;
}

static void bruno__ws_free(bruno_net *net)
{
    size_t l;
    bruno__buf b[16];
    for (l = 0; l < net->n_layers; ++l)
        bruno__free_bufs(&net->cfg.allocator, b, bruno__layer_ws_plan(net->layers[l], &net->ws_cfg, net->ws_cap_T,
                                                                      net->ws_cap_batch, net->ws_train, b));
    bruno_free(&net->cfg.allocator, net->grad_a, net->grad_elems, sizeof(bruno_real));
    bruno_free(&net->cfg.allocator, net->grad_b, net->grad_elems, sizeof(bruno_real));
    net->grad_a = net->grad_b = NULL;
    net->grad_elems = 0;
    net->ws_T = net->ws_batch = net->ws_cap_T = net->ws_cap_batch = 0;
    net->ws_train = 0;
    net->has_forward = 0;
}

BRUNO_API void bruno_net_release_workspace(bruno_net *net)
{
    if (!net) return;
    bruno__ws_free(net);
    memset(net->ws_hi_T, 0, sizeof net->ws_hi_T);
    memset(net->ws_hi_batch, 0, sizeof net->ws_hi_batch);
    memset(net->ws_hi_elems, 0, sizeof net->ws_hi_elems);
}

/* Whether the settings a workspace's sizes depend on changed since it was
   allocated: a caller may change net->cfg between passes (the trainer, to
   compare BRUNO with BPTT on one net), and the workspace is then sized
   and freed anew. */
static int bruno__ws_cfg_changed(const bruno_net *net)
{
    const bruno_net_config *a = &net->cfg, *w = &net->ws_cfg;
    return a->trainer != w->trainer || a->schedule != w->schedule || a->checkpoints != w->checkpoints ||
           a->n_fine != w->n_fine || a->threads != w->threads || a->dt != w->dt;
}

/* Whether the allocated workspace holds every buffer a pass of (T, B)
   needs. Every buffer is indexed from its start with the strides of the
   pass (t * B * n, ...), so a buffer at least as large serves it. JSB's
   pieces differ in length and Braille's last test batch is short: sizing
   the workspace anew for each (freeing, allocating and zeroing a BPTT
   store of tens of MB, first-touch page faults included) cost more than
   the training step itself. The peak is the same as with re-sizing: the
   largest pass's workspace. */
static int bruno__ws_fits(const bruno_net *net, size_t T, size_t B, int train)
{
    size_t l, i, j, kn, kc;
    bruno__buf bn[16], bc[16];
    if (!net->ws_cap_T || (!net->ws_train && train) || bruno__ws_cfg_changed(net)) return 0;
    for (l = 0; l < net->n_layers; ++l) {
        kn = bruno__layer_ws_plan(net->layers[l], &net->ws_cfg, T, B, train, bn);
        kc = bruno__layer_ws_plan(net->layers[l], &net->ws_cfg, net->ws_cap_T, net->ws_cap_batch, net->ws_train, bc);
        for (i = 0; i < kn; ++i) {
            for (j = 0; j < kc && bc[j].ptr != bn[i].ptr; ++j) continue;
            if (j == kc || bn[i].size != bc[j].size || bn[i].n > bc[j].n) return 0;
        }
    }
    return !train || T * B * bruno__grad_width(net) <= net->grad_elems;
}

/* The workspace for (Ta, Ba) in training or inference; the caller released
   the previous one. */
static bruno_result bruno__ws_alloc(bruno_net *net, size_t Ta, size_t Ba, int train)
{
    size_t l, gw;
    bruno__buf b[16];
    bruno_result r;
    for (l = 0; l < net->n_layers; ++l) {
        size_t k = bruno__layer_ws_plan(net->layers[l], &net->cfg, Ta, Ba, train, b);
        /* the fine states of BPTT are written before they are read (the
           forward pass stores each window's steps up to its item's last
           running one, the only steps the backward pass reads), so they
           are not zero-filled; the checkpoint slots likewise, but they are
           small (as.dev is the device layer's part of a union: other kinds
           keep other buffers there) */
        void **raw = net->cfg.trainer == BRUNO_TRAINER_BPTT && net->layers[l]->cfg.kind == BRUNO_LAYER_FELIF
                         ? (void **)&net->layers[l]->as.dev.fine
                         : NULL;
        if ((r = bruno__alloc_bufs(&net->cfg.allocator, b, k, raw)) != BRUNO_OK) {
            size_t m;
            for (m = 0; m < l; ++m)
                bruno__free_bufs(&net->cfg.allocator, b,
                                 bruno__layer_ws_plan(net->layers[m], &net->cfg, Ta, Ba, train, b));
            return r;
        }
    }
    net->ws_cap_T = Ta;
    net->ws_cap_batch = Ba;
    net->ws_train = train;
    /* an inference forward never runs backward: no gradient buffers */
    gw = train ? bruno__grad_width(net) : 0;
    if (gw) {
        net->grad_elems = Ta * Ba * gw;
        net->grad_a = (bruno_real *)bruno_alloc(&net->cfg.allocator, net->grad_elems, sizeof(bruno_real));
        net->grad_b = net->grad_a && bruno__grad_buffers(net) == 2
                          ? (bruno_real *)bruno_alloc(&net->cfg.allocator, net->grad_elems, sizeof(bruno_real)) : NULL;
        if (!net->grad_a || (!net->grad_b && bruno__grad_buffers(net) == 2)) {
            bruno__ws_free(net);
            return BRUNO_ERR_NOMEM;
        }
    }
    return BRUNO_OK;
}

static bruno_result bruno__ensure_ws(bruno_net *net, size_t T, size_t B, int train)
{
    size_t Ta, Ba;
    bruno_result r;
    int m = train ? 1 : 0;
    if (bruno__ws_fits(net, T, B, train)) {
        net->ws_T = T;
        net->ws_batch = B;
        return BRUNO_OK;
    }
    if ((r = bruno__net_cfg_check(&net->cfg)) != BRUNO_OK) return r;
    bruno__ws_free(net);
    net->ws_cfg = net->cfg;
    if (T > net->ws_hi_T[m]) net->ws_hi_T[m] = T;
    if (B > net->ws_hi_batch[m]) net->ws_hi_batch[m] = B;
    if (T * B > net->ws_hi_elems[m]) net->ws_hi_elems[m] = T * B;
    /* the largest pass of this kind so far, unless that is more than the
       largest one asked for (a long sequence of one sample, then many
       samples of a short one) or cannot be had: then this pass's own */
    Ta = net->ws_hi_T[m];
    Ba = net->ws_hi_batch[m];
    if (Ta > ((size_t)1 << 32) / Ba || Ta * Ba > net->ws_hi_elems[m]) {
        Ta = T;
        Ba = B;
    }
    r = bruno__ws_alloc(net, Ta, Ba, train);
    if (r != BRUNO_OK) {
        if (r != BRUNO_ERR_NOMEM || (Ta == T && Ba == B)) return r;
        if ((r = bruno__ws_alloc(net, T, B, train)) != BRUNO_OK) return r;
    }
    net->ws_T = T;
    net->ws_batch = B;
    return BRUNO_OK;
}

static void bruno__layer_free(bruno_net *net, bruno_layer *L)
{
    bruno__buf b[16];
    bruno__free_bufs(&net->cfg.allocator, b, L->ops->params_plan(L, b));
    if (L->ops->release) L->ops->release(L);
    if (bruno__has_rram(L)) bruno_rram_array_free(&L->rram);
    bruno_free(&net->cfg.allocator, L, 1, sizeof *L);
}

BRUNO_API void bruno_net_free(bruno_net *net)
{
    size_t l;
    if (!net) return;
    bruno_net_release_workspace(net);
    for (l = 0; l < net->n_layers; ++l) bruno__layer_free(net, net->layers[l]);
    net->n_layers = 0;
    net->n_params = 0;
}

/* The layer's sizes from its kind and input, and the checks every kind
   shares (before anything is allocated or drawn). */
static bruno_result bruno__layer_check(bruno_layer *L, const bruno_layer_config *lc, size_t n_in)
{
    bruno_result r;
    if ((r = L->ops->check(L, lc, n_in)) != BRUNO_OK) return r;
    if (L->ops->W_name && lc->matrix.bits != 32 && (lc->matrix.bits < 2 || lc->matrix.bits > 16)) return BRUNO_ERR_BITS;
    if ((unsigned)lc->matrix.synapse > BRUNO_SYNAPSE_RRAM) return BRUNO_ERR_ARG;
    /* the array holds 2^bits states per device: 2..5 bits */
    if (bruno__has_rram(L) && (lc->matrix.bits < 2 || lc->matrix.bits > 5)) return BRUNO_ERR_BITS;
    if (!bruno__finite(lc->matrix.init_scale) || !bruno__finite(lc->encode.gain_init_std) || !bruno__finite(lc->encode.bias_init_std) ||
        !bruno__finite(lc->encode.gain_init_mean) || !bruno__finite(lc->spiking.beta) || !bruno__finite(lc->dev.input_gain) ||
        !bruno__finite(lc->snu.decay) || !bruno__finite(lc->snu.threshold))
        return BRUNO_ERR_NONFINITE;
    if (L->ops->spiking && !(lc->spiking.beta > 0)) return BRUNO_ERR_PARAM;
    return BRUNO_OK;
}

BRUNO_API bruno_result bruno_net_add(bruno_net *net, const bruno_layer_config *lc)
{
    bruno_layer *L;
    bruno__buf b[16];
    size_t k, n_params0;
    bruno_result r;
    const bruno__layer_ops *ops;
    if (!net || !lc) return BRUNO_ERR_ARG;
    n_params0 = net->n_params;
    if (net->n_layers >= BRUNO_MAX_LAYERS) return BRUNO_ERR_SIZE;
    ops = bruno__layer_ops_of(lc->kind);
    if (!ops || (unsigned)lc->spiking.surrogate > BRUNO_SURROGATE_SIGMOID) return BRUNO_ERR_ARG;
    if (net->ws_T) bruno_net_release_workspace(net);
    L = (bruno_layer *)bruno_alloc(&net->cfg.allocator, 1, sizeof *L);
    if (!L) return BRUNO_ERR_NOMEM;
    L->cfg = *lc;
    L->ops = ops;
    L->n_in = bruno_net_n_out(net);
    if ((r = bruno__layer_check(L, lc, L->n_in)) != BRUNO_OK) goto fail;
    if (ops->setup && (r = ops->setup(net, L, lc)) != BRUNO_OK) goto fail;
    k = ops->params_plan(L, b);
    if ((r = bruno__alloc_bufs(&net->cfg.allocator, b, k, NULL)) != BRUNO_OK) goto fail_setup;
    ops->init(net, L, lc);
    if (bruno__has_rram(L) && (r = bruno__layer_rram_init(net, L, lc)) != BRUNO_OK) {
        net->n_params = n_params0;
        bruno__free_bufs(&net->cfg.allocator, b, k);
        goto fail_setup;
    }
    net->layers[net->n_layers++] = L;
    return BRUNO_OK;
fail_setup:
    if (ops->release) ops->release(L);
fail:
    bruno_free(&net->cfg.allocator, L, 1, sizeof *L);
    return r;
}

BRUNO_API void bruno_net_zero_grad(bruno_net *net)
{
    size_t i;
    if (!net) return;
    for (i = 0; i < net->n_params; ++i) memset(net->params[i].grad, 0, net->params[i].n * sizeof(bruno_real));
}

BRUNO_API void bruno_net_constrain(bruno_net *net)
{
    size_t l;
    if (!net) return;
    for (l = 0; l < net->n_layers; ++l)
        if (net->layers[l]->ops->constrain) net->layers[l]->ops->constrain(net->layers[l]);
}

BRUNO_API int bruno_net_finite(const bruno_net *net)
{
    size_t i, j;
    if (!net) return 0;
    for (i = 0; i < net->n_params; ++i)
        for (j = 0; j < net->params[i].n; ++j)
            if (!bruno__finite((double)net->params[i].data[j]) || !bruno__finite((double)net->params[i].grad[j]))
                return 0;
    return 1;
}

BRUNO_API bruno_result bruno_net_redraw_devices(bruno_net *net, double sigma, bruno_rng *rng)
{
    size_t l;
    bruno_result r;
    if (!net) return BRUNO_ERR_ARG;
    for (l = 0; l < net->n_layers; ++l)
        if (net->layers[l]->ops->redraw && (r = net->layers[l]->ops->redraw(net->layers[l], sigma, rng)) != BRUNO_OK)
            return r;
    return BRUNO_OK;
}

BRUNO_API const bruno_rram_array *bruno_net_rram_array(const bruno_net *net, size_t layer)
{
    if (!net || layer >= net->n_layers || !bruno__has_rram(net->layers[layer])) return NULL;
    return &net->layers[layer]->rram;
}

BRUNO_API bruno_result bruno_net_rram_stats(const bruno_net *net, size_t layer, bruno_rram_layer_stats *stats)
{
    const bruno_layer *L;
    if (!stats) return BRUNO_ERR_ARG;
    memset(stats, 0, sizeof *stats);
    if (!bruno_net_rram_array(net, layer)) return BRUNO_ERR_ARG;
    L = net->layers[layer];
    stats->n_weights = L->rram.cfg.n_weights;
    stats->n_devices = L->rram.n_devices;
    stats->last_reprogrammed = L->rram_last;
    stats->total_reprogrammed = L->rram_total;
    stats->programs = L->rram_programs;
    return BRUNO_OK;
}

BRUNO_API bruno_result bruno_net_forward(bruno_net *net, const bruno_real *x, size_t T, size_t batch, int train,
                                         const bruno_real **y)
{
    size_t l;
    bruno_result r;
    const bruno_real *in = x;
    if (!net || !x) return BRUNO_ERR_ARG;
    if (net->n_layers == 0 || T == 0 || batch == 0) return BRUNO_ERR_SIZE;
    if (T > ((size_t)1 << 32) / batch) return BRUNO_ERR_SIZE;
    if ((r = bruno__check_finite_array(x, T * batch * net->cfg.n_in)) != BRUNO_OK) return r;
    net->has_forward = 0;
    if ((r = bruno__ensure_ws(net, T, batch, train)) != BRUNO_OK) return r;
    for (l = 0; l < net->n_layers; ++l) {
        if ((r = net->layers[l]->ops->forward(net, net->layers[l], in, T, batch, train)) != BRUNO_OK) return r;
        in = net->layers[l]->out;
    }
    net->has_forward = train ? 1 : 0;
    net->x = x;
    if (y) *y = in;
    return BRUNO_OK;
}

BRUNO_API bruno_result bruno_net_backward(bruno_net *net, const bruno_real *dy)
{
    size_t l, T, B;
    const bruno_real *g;
    bruno_result r;
    if (!net || !dy) return BRUNO_ERR_ARG;
    /* the stored pass must be the one this configuration backpropagates */
    if (!net->has_forward || bruno__ws_cfg_changed(net)) return BRUNO_ERR_STATE;
    T = net->ws_T;
    B = net->ws_batch;
    if ((r = bruno__check_finite_array(dy, T * B * bruno_net_n_out(net))) != BRUNO_OK) return r;
    g = dy;
    for (l = net->n_layers; l-- > 0;) {
        bruno_layer *L = net->layers[l];
        int slot = bruno__grad_slot(net, l);
        bruno_real *dx = l == 0 ? NULL : slot < 0 ? net->layers[l - 1]->out : slot == 0 ? net->grad_a : net->grad_b;
        L->ops->backward(net, L, l ? net->layers[l - 1]->out : net->x, g, dx, T, B);
        g = dx;
    }
    /* a layer's output may now hold a gradient (bruno__grad_in_place) */
    net->has_forward = 0;
    for (l = 0; l < net->n_params; ++l)
        if (bruno__check_finite_array(net->params[l].grad, net->params[l].n) != BRUNO_OK) return BRUNO_ERR_DIVERGED;
    return BRUNO_OK;
}

/* ---- losses ------------------------------------------------------------------ */
BRUNO_API bruno_result bruno_loss_count_ce(const bruno_real *y, size_t T, size_t B, size_t C, const int32_t *labels,
                                           bruno_real *dy, double *loss, size_t *n_correct)
{
    size_t b, t, c, correct = 0;
    double total = 0;
    if (!y || !labels || !loss) return BRUNO_ERR_ARG;
    if (T == 0 || B == 0 || C == 0) return BRUNO_ERR_SIZE;
    for (b = 0; b < B; ++b)
        if (labels[b] < 0 || (size_t)labels[b] >= C) return BRUNO_ERR_ARG;
    /* the samples in chunks of bb whose counts fit on the stack (one at a
       time on the heap when C does not): y and dy are [T][B][C], so the
       sums over time run down the chunk's rows t by t, each count's terms
       in t order (the same sums as one sample at a time, which strode
       through all of y for every count) */
    {
        double stack[2 * 1024], *cnt = stack, *gch, *heap = NULL;
        size_t bb = C <= 1024 ? 1024 / C : 1, b0, b1;
        if (C > 1024) {
            heap = (double *)malloc(2 * C * sizeof *heap);
            if (!heap) return BRUNO_ERR_NOMEM;
            cnt = heap;
        }
        gch = cnt + bb * C;
        for (b0 = 0; b0 < B; b0 = b1) {
            size_t w;
            b1 = B - b0 < bb ? B : b0 + bb;
            w = (b1 - b0) * C;
            for (c = 0; c < w; ++c) cnt[c] = 0;
            for (t = 0; t < T; ++t) {
                const bruno_real *yt = y + (t * B + b0) * C;
                for (c = 0; c < w; ++c) cnt[c] += (double)yt[c];
            }
            for (b = b0; b < b1; ++b) {
                /* softmax of the counts in double for a stable log-sum-exp */
                const double *cp = cnt + (b - b0) * C;
                double mx = -1e300, z = 0, cnt_best = -1e300;
                size_t best = 0;
                for (c = 0; c < C; ++c) {
                    if (cp[c] > mx) mx = cp[c];
                    if (cp[c] > cnt_best) { cnt_best = cp[c]; best = c; }
                }
                for (c = 0; c < C; ++c) z += exp(cp[c] - mx);
                total += -(cp[labels[b]] - mx - log(z));
                if (best == (size_t)labels[b]) ++correct;
                if (dy)
                    for (c = 0; c < C; ++c)
                        gch[(b - b0) * C + c] = (exp(cp[c] - mx) / z - (c == (size_t)labels[b] ? 1.0 : 0.0)) / (double)B;
            }
            if (dy)
                for (t = 0; t < T; ++t) {
                    bruno_real *dt = dy + (t * B + b0) * C;
                    for (c = 0; c < w; ++c) dt[c] = (bruno_real)gch[c];
                }
        }
        free(heap);
    }
    *loss = total / (double)B;
    if (n_correct) *n_correct = correct;
    return bruno__finite(*loss) ? BRUNO_OK : BRUNO_ERR_DIVERGED;
}

BRUNO_API bruno_result bruno_loss_bce_logits(const bruno_real *y, const bruno_real *target, size_t T, size_t B,
                                             size_t K, size_t skip, bruno_real *dy, double *loss)
{
    size_t t, i, BK = B * K;
    double total = 0, norm;
    if (!y || !target || !loss) return BRUNO_ERR_ARG;
    if (T == 0 || B == 0 || K == 0) return BRUNO_ERR_SIZE;
    if (skip >= T) return BRUNO_ERR_PARAM;
    norm = (double)((T - skip) * BK);
    for (t = 0; t < T; ++t)
        for (i = 0; i < BK; ++i) {
            size_t q = t * BK + i;
            double z = (double)y[q], tg = (double)target[q];
            if (t < skip) {
                if (dy) dy[q] = 0;
                continue;
            }
            /* log(1 + e^-|z|) form: stable for any z */
            total += (z > 0 ? z : 0) - z * tg + log1p(exp(-fabs(z)));
            if (dy) dy[q] = (bruno_real)((1.0 / (1.0 + exp(-z)) - tg) / norm);
        }
    *loss = total / norm;
    return bruno__finite(*loss) ? BRUNO_OK : BRUNO_ERR_DIVERGED;
}

BRUNO_API bruno_result bruno_loss_sum_sq(const bruno_real *y, size_t n, bruno_real *dy, double *loss)
{
    size_t i;
    double s = 0;
    if (!y || !loss) return BRUNO_ERR_ARG;
    if (n == 0) return BRUNO_ERR_SIZE;
    for (i = 0; i < n; ++i) {
        s += (double)y[i] * (double)y[i];
        if (dy) dy[i] = 2 * y[i];
    }
    *loss = s;
    return bruno__finite(s) ? BRUNO_OK : BRUNO_ERR_DIVERGED;
}

/* ---- optimisers ----------------------------------------------------------------- */
BRUNO_API bruno_optim_config bruno_optim_config_default(bruno_optim_kind kind, double lr)
{
    bruno_optim_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.lr = lr;
    c.beta1 = 0.9;
    c.beta2 = kind == BRUNO_OPTIM_ADAMAX ? 0.995 : 0.999;
    c.eps = 1e-8;
    c.allocator = bruno_allocator_default();
    return c;
}

static size_t bruno__n_total(const bruno_net *net)
{
    size_t i, n = 0;
    for (i = 0; i < net->n_params; ++i) n += net->params[i].n;
    return n;
}

BRUNO_API size_t bruno_optim_bytes(const bruno_net *net, bruno_optim_kind kind)
{
    size_t n;
    if (!net) return 0;
    n = bruno__n_total(net);
    if (kind == BRUNO_OPTIM_SGD || n == 0) return 0;
    return 2 * n * sizeof(bruno_real);
}

/* lr finite and > 0, beta1 and beta2 in [0, 1), eps finite and > 0 (Adam
   divides by sqrt(v) + eps, Adamax by max(beta2 u, |g| + eps): with eps = 0
   a zero gradient makes 0/0). Checked at init and at every step, since
   opt->cfg may be changed in between (the plateau schedule, a resumed run). */
static bruno_result bruno__optim_cfg_check(const bruno_optim_config *c)
{
    if (!bruno__finite(c->lr) || !(c->lr > 0) || !(c->beta1 >= 0 && c->beta1 < 1) ||
        !(c->beta2 >= 0 && c->beta2 < 1) || !bruno__finite(c->eps) || !(c->eps > 0))
        return BRUNO_ERR_PARAM;
    return BRUNO_OK;
}

BRUNO_API bruno_result bruno_optim_init(bruno_optim *opt, const bruno_optim_config *cfg, const bruno_net *net)
{
    if (!opt || !cfg || !net) return BRUNO_ERR_ARG;
    memset(opt, 0, sizeof *opt);
    if ((unsigned)cfg->kind > BRUNO_OPTIM_ADAMAX || !bruno__allocator_ok(&cfg->allocator)) return BRUNO_ERR_ARG;
    if (bruno__optim_cfg_check(cfg) != BRUNO_OK) return BRUNO_ERR_PARAM;
    opt->cfg = *cfg;
    if (!opt->cfg.allocator.alloc) opt->cfg.allocator = bruno_allocator_default();
    opt->n_params = net->n_params;
    opt->n_total = bruno__n_total(net);
    if (cfg->kind != BRUNO_OPTIM_SGD && opt->n_total) {
        opt->m = (bruno_real *)bruno_alloc(&opt->cfg.allocator, opt->n_total, sizeof(bruno_real));
        opt->u = opt->m ? (bruno_real *)bruno_alloc(&opt->cfg.allocator, opt->n_total, sizeof(bruno_real)) : NULL;
        if (!opt->u) {
            bruno_optim_free(opt);
            return BRUNO_ERR_NOMEM;
        }
    }
    return BRUNO_OK;
}

BRUNO_API bruno_result bruno_optim_step(bruno_optim *opt, bruno_net *net)
{
    size_t i, j, off = 0;
    double lr, b1, b2, eps, bc1, bc2;
    if (!opt || !net) return BRUNO_ERR_ARG;
    if (net->n_params != opt->n_params || bruno__n_total(net) != opt->n_total) return BRUNO_ERR_SHAPE;
    if ((unsigned)opt->cfg.kind > BRUNO_OPTIM_ADAMAX || bruno__optim_cfg_check(&opt->cfg) != BRUNO_OK)
        return BRUNO_ERR_PARAM;
    if (opt->cfg.kind != BRUNO_OPTIM_SGD && opt->n_total && (!opt->m || !opt->u)) return BRUNO_ERR_STATE;
    for (i = 0; i < net->n_params; ++i)
        if (bruno__check_finite_array(net->params[i].grad, net->params[i].n) != BRUNO_OK) return BRUNO_ERR_DIVERGED;
    opt->t++;
    lr = opt->cfg.lr;
    b1 = opt->cfg.beta1;
    b2 = opt->cfg.beta2;
    eps = opt->cfg.eps;
    bc1 = 1.0 - pow(b1, (double)opt->t);
    bc2 = 1.0 - pow(b2, (double)opt->t);
    for (i = 0; i < net->n_params; ++i) {
        bruno_param *p = &net->params[i];
        for (j = 0; j < p->n; ++j, ++off) {
            double g = (double)p->grad[j];
            if (opt->cfg.kind == BRUNO_OPTIM_SGD) {
                p->data[j] = (bruno_real)((double)p->data[j] - lr * g);
            } else if (opt->cfg.kind == BRUNO_OPTIM_ADAM) {
                double m = b1 * (double)opt->m[off] + (1 - b1) * g;
                double v = b2 * (double)opt->u[off] + (1 - b2) * g * g;
                opt->m[off] = (bruno_real)m;
                opt->u[off] = (bruno_real)v;
                p->data[j] = (bruno_real)((double)p->data[j] - lr * (m / bc1) / (sqrt(v / bc2) + eps));
            } else { /* Adamax, as torch.optim.Adamax */
                double m = b1 * (double)opt->m[off] + (1 - b1) * g;
                double u = b2 * (double)opt->u[off], a = fabs(g) + eps;
                if (a > u) u = a;
                opt->m[off] = (bruno_real)m;
                opt->u[off] = (bruno_real)u;
                p->data[j] = (bruno_real)((double)p->data[j] - (lr / bc1) * m / u);
            }
        }
    }
    bruno_net_constrain(net);
    /* finite gradients and settings can still step past the largest real */
    for (i = 0; i < net->n_params; ++i)
        if (bruno__check_finite_array(net->params[i].data, net->params[i].n) != BRUNO_OK) return BRUNO_ERR_DIVERGED;
    return BRUNO_OK;
}

BRUNO_API void bruno_optim_free(bruno_optim *opt)
{
    if (!opt) return;
    bruno_free(&opt->cfg.allocator, opt->m, opt->n_total, sizeof(bruno_real));
    bruno_free(&opt->cfg.allocator, opt->u, opt->n_total, sizeof(bruno_real));
    opt->m = opt->u = NULL;
}

BRUNO_API bruno_plateau bruno_plateau_default(void)
{
    bruno_plateau p;
    p.patience = 10;
    p.factor = 0.9;
    p.rtol = 1e-4;
    p.best = HUGE_VAL;
    p.bad_epochs = 0;
    return p;
}

BRUNO_API int bruno_plateau_step(bruno_plateau *pl, double metric, bruno_optim *opt)
{
    if (!pl || !opt || !bruno__finite(metric)) return 0;
    if (metric < pl->best * (1.0 - pl->rtol)) {
        pl->best = metric;
        pl->bad_epochs = 0;
        return 0;
    }
    if (++pl->bad_epochs > pl->patience) {
        opt->cfg.lr *= pl->factor;
        pl->bad_epochs = 0;
        return 1;
    }
    return 0;
}
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
