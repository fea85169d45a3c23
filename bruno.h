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
   - Floating point: the exact trainers (BPTT, checkpointing) share one
     code path per fine step, so their gradients are bit-identical; build
     without -ffast-math. For speed build the file that defines
     BRUNO_IMPLEMENTATION with -O3 -march=native -fno-trapping-math: the
     FeLIF fine loop is written branch-free so the compiler vectorises it,
     and gcc does so only without trapping math (clang's default).
     -ffp-contract=off keeps results the same across compilers' FMA choices.

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
    bruno_real *soa;          /* the same constants as arrays [field][n], for the vectorised kernel */
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
/* A network is a stack of layers applied to a whole sequence at once:
   layer l maps [T][batch][n_in] to [T][batch][n_out]. Because no layer
   feeds back into an earlier one, each layer is backpropagated through
   time on its own, last layer first; that is exactly BPTT over network
   steps for the whole stack (MODELS §3, "the outer loop ... is always
   backpropagated through time"). Only the FeLIF inner loop of N fine
   steps per network step is differentiated differently by each trainer. */

#define BRUNO_MAX_LAYERS 16

typedef enum bruno_layer_kind {
    BRUNO_LAYER_ENCODE = 0, /* tile the inputs, then gain*(x + bias); gain, bias trainable */
    BRUNO_LAYER_DENSE,      /* y = W x (+ b); W optionally quantised (MODELS §5.1) */
    BRUNO_LAYER_LIF,        /* current-based LIF (MODELS §4); alpha, beta trainable */
    BRUNO_LAYER_RLIF,       /* LIF with a recurrent matrix W_rec s_{t-1} added to the input */
    BRUNO_LAYER_FELIF,      /* FeLIF neurons, current = gain * input (MODELS §2, §3) */
    BRUNO_LAYER_SNU         /* SNU-style cell: h = h(1-s)decay + x + W_rec s + b (MODELS §4) */
} bruno_layer_kind;

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

typedef enum bruno_surrogate {
    BRUNO_SURROGATE_SUPERSPIKE = 0, /* forward H(x), backward 1/(beta|x| + 1)^2 */
    BRUNO_SURROGATE_TANH,           /* forward H(x), backward 1 - tanh^2(x) */
    BRUNO_SURROGATE_SIGMOID         /* forward sigmoid(beta x) and its exact derivative:
                                       smooth, for finite-difference checks. The reset
                                       decision stays H(x) in every mode. */
} bruno_surrogate;

typedef struct bruno_layer_config {
    bruno_layer_kind kind;
    size_t n_out;            /* ENCODE: n_in*tile (0: derived); DENSE: outputs; neurons: 0 (= n_in) */
    /* ENCODE */
    size_t tile;             /* copies of the input vector (default 1) */
    double gain_init_std;    /* gain ~ N(0,1)*gain_init_std (default 1) */
    double gain_init_mean;   /* added to the gain draw (default 0) */
    double bias_init_std;    /* bias ~ N(0,1)*bias_init_std (default 1) */
    /* DENSE and the recurrent matrices of RLIF and SNU */
    int bias;                /* DENSE: add a trainable bias */
    int bits;                /* 32: full precision; 2..16: quantised with a straight-through gradient */
    int stochastic_rounding; /* quantiser: stochastic (default 1) or deterministic rounding */
    double init_scale;       /* W ~ U(-s, s)*init_scale with s = 1/sqrt(n_in) (default 1) */
    int init_nonneg;         /* W ~ U(0, init_scale*sqrt(1/n_out)) instead (the JSB input layer) */
    /* spiking layers */
    bruno_surrogate surrogate;
    double surrogate_beta;   /* SuperSpike slope (10) or sigmoid steepness */
    /* LIF / RLIF */
    double alpha, beta;      /* initial decays in [0.5, 1] */
    int train_decay;         /* alpha, beta trainable (default 1), clamped to [0.5, 1] */
    /* FELIF */
    bruno_felif_params felif;
    double input_gain;       /* g [A]: current = g * input (MODELS §2) */
    double sigma;            /* device-to-device variability (0: off) */
    int vary_gain;           /* vary the input gain per neuron too */
    /* SNU */
    double decay;            /* h decay (0.4) */
    double threshold;        /* spike threshold of h (1) */
} bruno_layer_config;

BRUNO_API bruno_layer_config bruno_layer_config_default(bruno_layer_kind kind);

typedef struct bruno_net_config {
    size_t n_in;              /* input features per network step */
    double dt;                /* network step [s] (1e-3) */
    uint32_t n_fine;          /* N, fine FeLIF steps per network step (1000) */
    bruno_trainer trainer;
    bruno_schedule schedule;  /* CHECKPOINT only */
    uint32_t checkpoints;     /* CHECKPOINT: K snapshots (31) */
    int rate_grad;            /* use r'(E) (default 0: stopped, as the authors' code) */
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
    /* training workspace, sized for (T, batch) */
    size_t ws_T, ws_batch;
    int ws_train;             /* the workspace holds what backward needs */
    int has_forward;          /* a training forward pass is stored */
    const bruno_real *x;      /* the input of that pass (must stay valid until backward) */
    bruno_real *grad_a, *grad_b;  /* ping-pong buffers for dL/d(activations) */
    size_t grad_elems;
    size_t n_params;
    bruno_param params[4 * BRUNO_MAX_LAYERS];
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

/* Forward over a sequence x [T][batch][n_in]. With train = 1 everything
   the backward pass needs is kept (workspace allocated on first use or
   when T or batch change). *y receives the output [T][batch][n_out],
   owned by the network and valid until the next forward. */
BRUNO_API bruno_result bruno_net_forward(bruno_net *net, const bruno_real *x, size_t T, size_t batch,
                                         int train, const bruno_real **y);
/* Backward from dL/dy [T][batch][n_out]; gradients ACCUMULATE into the
   params' grad arrays (call bruno_net_zero_grad first). */
BRUNO_API bruno_result bruno_net_backward(bruno_net *net, const bruno_real *dy);
BRUNO_API void bruno_net_zero_grad(bruno_net *net);
/* Clamp constrained parameters (LIF alpha, beta to [0.5, 1]); the
   optimiser calls it after each step. */
BRUNO_API void bruno_net_constrain(bruno_net *net);
/* Release the training workspace (it is made again by the next training forward). */
BRUNO_API void bruno_net_release_workspace(bruno_net *net);
/* Redraw the FeLIF device variability of every FeLIF layer. */
BRUNO_API bruno_result bruno_net_redraw_devices(bruno_net *net, double sigma, bruno_rng *rng);
/* 1 if every parameter and gradient is finite. */
BRUNO_API int bruno_net_finite(const bruno_net *net);

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

/* Fields of the structure-of-arrays copy of the constants (pop->soa). */
enum {
    BRUNO__S_KV, BRUNO__S_KP, BRUNO__S_LNEA, BRUNO__S_ALPHA, BRUNO__S_ESOFT, BRUNO__S_PS, BRUNO__S_A,
    BRUNO__S_INVC, BRUNO__S_I0A, BRUNO__S_INVVT, BRUNO__S_IDSC, BRUNO__S_ITAU, BRUNO__S_VCLIP, BRUNO__S_GAIN,
    BRUNO__S_COUNT
};

BRUNO_API size_t bruno_felif_pop_bytes(size_t n)
{
    return n * sizeof(bruno_felif_consts) + (size_t)BRUNO__S_COUNT * n * sizeof(bruno_real);
}

static void bruno__felif_soa_fill(bruno_felif_pop *pop)
{
    size_t j, n = pop->n;
    bruno_real *S = pop->soa;
    for (j = 0; j < n; ++j) {
        const bruno_felif_consts *c = &pop->c[j];
        S[BRUNO__S_KV * n + j] = c->k_v;
        S[BRUNO__S_KP * n + j] = c->k_p;
        S[BRUNO__S_LNEA * n + j] = (bruno_real)log((double)c->E_a);
        S[BRUNO__S_ALPHA * n + j] = c->alpha;
        S[BRUNO__S_ESOFT * n + j] = c->E_soft;
        S[BRUNO__S_PS * n + j] = c->P_s;
        S[BRUNO__S_A * n + j] = c->A;
        S[BRUNO__S_INVC * n + j] = c->inv_C_tot;
        S[BRUNO__S_I0A * n + j] = c->I0A;
        S[BRUNO__S_INVVT * n + j] = c->inv_V_t;
        S[BRUNO__S_IDSC * n + j] = c->I_dsc;
        S[BRUNO__S_ITAU * n + j] = c->inv_tau_0;
        S[BRUNO__S_VCLIP * n + j] = c->v_clip;
        S[BRUNO__S_GAIN * n + j] = c->gain;
    }
}

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
    bruno__felif_soa_fill(pop);
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
    pop->soa = (bruno_real *)bruno_alloc(&pop->allocator, (size_t)BRUNO__S_COUNT * cfg->n, sizeof(bruno_real));
    if (!pop->soa) {
        bruno_free(&pop->allocator, pop->c, cfg->n, sizeof(bruno_felif_consts));
        pop->c = NULL;
        return BRUNO_ERR_NOMEM;
    }
    bruno_rng_seed(&rng, cfg->seed);
    return bruno_felif_pop_redraw(pop, cfg->sigma, cfg->vary_gain, &rng);
}

BRUNO_API void bruno_felif_pop_free(bruno_felif_pop *pop)
{
    if (!pop) return;
    bruno_free(&pop->allocator, pop->c, pop->n, sizeof(bruno_felif_consts));
    bruno_free(&pop->allocator, pop->soa, (size_t)BRUNO__S_COUNT * pop->n, sizeof(bruno_real));
    pop->c = NULL;
    pop->soa = NULL;
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
        /* round(y + U - 0.5) = floor(y + U): unbiased, E[q] = y (MODELS §5.1) */
        bruno_real y = W[i] / scale * m;
        bruno_real u = stochastic ? (bruno_real)bruno_rng_uniform(rng) : (bruno_real)0.5;
        bruno_real q = (bruno_real)floor((double)(y + u));
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
/* A layer. Parameters live as long as the network; the workspace (out,
   st_*, taken, fine, tmp) is sized for one (T, batch) and holds what the
   backward pass needs. */
struct bruno_layer {
    bruno_layer_config cfg;
    size_t n_in, n_out;
    /* parameters and their gradients */
    bruno_real *W, *gW;       /* DENSE [n_out][n_in]; RLIF, SNU: W_rec [n][n] */
    bruno_real *b, *gb;       /* DENSE, SNU bias [n_out]; ENCODE bias [n_out] */
    bruno_real *gain, *ggain; /* ENCODE gain [n_out] */
    bruno_real *dec, *gdec;   /* LIF, RLIF: {alpha, beta} */
    bruno_real *Wq;           /* the quantised W of the last forward (NULL at 32 bits) */
    size_t nW;                /* elements of W */
    bruno_felif_pop pop;      /* FELIF devices */
    char names[4][16];
    /* workspace */
    bruno_real *out;          /* [T][B][n_out] */
    bruno_real *st_a, *st_b;  /* LIF: syn, m~ [T][B][n]; SNU: h; FELIF: v, p [T+1][B][n] */
    uint32_t *taken;          /* FELIF: fine steps taken before freezing [T][B][n] (or [B][n]) */
    bruno_real *fine;         /* FELIF: stored fine states or checkpoint slots */
    bruno_real *tmp;          /* per-step scratch, [k][B][n] */
    const bruno_real *in;     /* the input of the stored forward pass */
};

/* A workspace buffer: where it goes, how many elements of what size. */
typedef struct bruno__buf {
    void **ptr;
    size_t n, size;
} bruno__buf;

#define BRUNO__RUNNING 0xffffffffu

static bruno_real bruno__rsqrt_in(size_t n) { return (bruno_real)(1.0 / sqrt((double)n)); }

BRUNO_API bruno_layer_config bruno_layer_config_default(bruno_layer_kind kind)
{
    bruno_layer_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.tile = 1;
    c.gain_init_std = 1.0;
    c.gain_init_mean = 0.0;
    c.bias_init_std = 1.0;
    c.bits = 32;
    c.stochastic_rounding = 1;
    c.init_scale = 1.0;
    c.surrogate = BRUNO_SURROGATE_SUPERSPIKE;
    c.surrogate_beta = 10.0;
    c.alpha = 0.95;
    c.beta = 0.9;
    c.train_decay = 1;
    c.felif = bruno_felif_params_default();
    c.input_gain = 1e-9;
    c.decay = 0.4;
    c.threshold = 1.0;
    return c;
}

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

BRUNO_API bruno_result bruno_net_init(bruno_net *net, const bruno_net_config *cfg)
{
    bruno_result r;
    if (!net || !cfg) return BRUNO_ERR_ARG;
    memset(net, 0, sizeof *net);
    if (cfg->n_in == 0 || cfg->n_in > ((size_t)1 << 30)) return BRUNO_ERR_SIZE;
    if ((r = bruno_check_time(cfg->dt, cfg->n_fine)) != BRUNO_OK) return r;
    if ((unsigned)cfg->trainer > BRUNO_TRAINER_COARSE || (unsigned)cfg->schedule > BRUNO_SCHEDULE_SEQUENCE ||
        (unsigned)cfg->kernel > BRUNO_KERNEL_REFERENCE || cfg->threads > 1024)
        return BRUNO_ERR_ARG;
    if (cfg->trainer == BRUNO_TRAINER_CHECKPOINT && cfg->checkpoints == 0) return BRUNO_ERR_PARAM;
    net->cfg = *cfg;
    if (!net->cfg.allocator.alloc || !net->cfg.allocator.free) net->cfg.allocator = bruno_allocator_default();
    bruno_rng_seed(&net->rng, cfg->seed);
    return BRUNO_OK;
}

BRUNO_API size_t bruno_net_n_out(const bruno_net *net)
{
    if (!net) return 0;
    return net->n_layers ? net->layers[net->n_layers - 1]->n_out : net->cfg.n_in;
}

static int bruno__is_spiking(bruno_layer_kind k)
{
    return k == BRUNO_LAYER_LIF || k == BRUNO_LAYER_RLIF || k == BRUNO_LAYER_FELIF || k == BRUNO_LAYER_SNU;
}

static int bruno__has_W(bruno_layer_kind k)
{
    return k == BRUNO_LAYER_DENSE || k == BRUNO_LAYER_RLIF || k == BRUNO_LAYER_SNU;
}

/* The persistent buffers of a layer (parameters, gradients, Wq). */
static size_t bruno__layer_params_plan(bruno_layer *L, bruno__buf *b)
{
    size_t k = 0, n = L->n_out;
    bruno_layer_kind kind = L->cfg.kind;
    if (bruno__has_W(kind)) {
        b[k].ptr = (void **)&L->W; b[k].n = L->nW; b[k++].size = sizeof(bruno_real);
        b[k].ptr = (void **)&L->gW; b[k].n = L->nW; b[k++].size = sizeof(bruno_real);
        if (L->cfg.bits < 32) { b[k].ptr = (void **)&L->Wq; b[k].n = L->nW; b[k++].size = sizeof(bruno_real); }
    }
    if ((kind == BRUNO_LAYER_DENSE && L->cfg.bias) || kind == BRUNO_LAYER_SNU || kind == BRUNO_LAYER_ENCODE) {
        b[k].ptr = (void **)&L->b; b[k].n = n; b[k++].size = sizeof(bruno_real);
        b[k].ptr = (void **)&L->gb; b[k].n = n; b[k++].size = sizeof(bruno_real);
    }
    if (kind == BRUNO_LAYER_ENCODE) {
        b[k].ptr = (void **)&L->gain; b[k].n = n; b[k++].size = sizeof(bruno_real);
        b[k].ptr = (void **)&L->ggain; b[k].n = n; b[k++].size = sizeof(bruno_real);
    }
    if (kind == BRUNO_LAYER_LIF || kind == BRUNO_LAYER_RLIF) {
        b[k].ptr = (void **)&L->dec; b[k].n = 2; b[k++].size = sizeof(bruno_real);
        b[k].ptr = (void **)&L->gdec; b[k].n = 2; b[k++].size = sizeof(bruno_real);
    }
    return k;
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

static bruno_result bruno__alloc_bufs(const bruno_allocator *a, bruno__buf *b, size_t k)
{
    size_t i;
    for (i = 0; i < k; ++i) {
        *b[i].ptr = bruno_alloc(a, b[i].n, b[i].size);
        if (!*b[i].ptr) {
            bruno__free_bufs(a, b, i);
            return BRUNO_ERR_NOMEM;
        }
    }
    return BRUNO_OK;
}

/* Fine-state buffer sizes of a FeLIF layer, in units of one state array
   [2][B][n] (v and p). */
static size_t bruno__felif_fine_states(const bruno_net_config *c, size_t T)
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

/* The workspace of a layer for (T, B). */
static size_t bruno__layer_ws_plan(bruno_layer *L, const bruno_net_config *c, size_t T, size_t B, int train,
                                   bruno__buf *b)
{
    size_t k = 0, n = L->n_out, BN = B * L->n_out;
    int seq = train && c->trainer == BRUNO_TRAINER_CHECKPOINT && c->schedule == BRUNO_SCHEDULE_SEQUENCE;
    b[k].ptr = (void **)&L->out; b[k].n = T * B * n; b[k++].size = sizeof(bruno_real);
    switch (L->cfg.kind) {
    case BRUNO_LAYER_LIF:
    case BRUNO_LAYER_RLIF:
        b[k].ptr = (void **)&L->st_a; b[k].n = T * BN; b[k++].size = sizeof(bruno_real);
        b[k].ptr = (void **)&L->st_b; b[k].n = T * BN; b[k++].size = sizeof(bruno_real);
        b[k].ptr = (void **)&L->tmp; b[k].n = 4 * BN; b[k++].size = sizeof(bruno_real);
        break;
    case BRUNO_LAYER_SNU:
        b[k].ptr = (void **)&L->st_a; b[k].n = T * BN; b[k++].size = sizeof(bruno_real);
        b[k].ptr = (void **)&L->tmp; b[k].n = 3 * BN; b[k++].size = sizeof(bruno_real);
        break;
    case BRUNO_LAYER_FELIF:
        if (!seq) {
            b[k].ptr = (void **)&L->st_a; b[k].n = (T + 1) * BN; b[k++].size = sizeof(bruno_real);
            b[k].ptr = (void **)&L->st_b; b[k].n = (T + 1) * BN; b[k++].size = sizeof(bruno_real);
        }
        /* fine steps taken before the freeze: every step's when the backward pass needs them */
        b[k].ptr = (void **)&L->taken; b[k].n = (train && !seq && (c->trainer == BRUNO_TRAINER_BPTT ||
                    c->trainer == BRUNO_TRAINER_CHECKPOINT) ? T : 1) * BN;
        b[k++].size = sizeof(uint32_t);
        if (train && (c->trainer == BRUNO_TRAINER_BPTT || c->trainer == BRUNO_TRAINER_CHECKPOINT)) {
            b[k].ptr = (void **)&L->fine; b[k].n = bruno__felif_fine_states(c, T) * 2 * BN;
            b[k++].size = sizeof(bruno_real);
        }
        /* gv, gp, gI, I, and a work state (v, p) */
        b[k].ptr = (void **)&L->tmp; b[k].n = 6 * BN; b[k++].size = sizeof(bruno_real);
        break;
    default: break;
    }
    return k;
}

static size_t bruno__grad_width(const bruno_net *net)
{
    size_t l, w = 0;
    for (l = 1; l < net->n_layers; ++l)
        if (net->layers[l]->n_in > w) w = net->layers[l]->n_in;
    return w;
}

BRUNO_API size_t bruno_net_bytes(const bruno_net *net)
{
    size_t l, s = 0;
    bruno__buf b[16];
    if (!net) return 0;
    for (l = 0; l < net->n_layers; ++l) {
        bruno_layer *L = net->layers[l];
        s += sizeof(bruno_layer) + bruno__bytes_of(b, bruno__layer_params_plan(L, b));
        if (L->cfg.kind == BRUNO_LAYER_FELIF) s += bruno_felif_pop_bytes(L->n_out);
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
    if (gw) s += 2 * (T * batch * gw * sizeof(bruno_real));
    return s;
}

BRUNO_API void bruno_net_release_workspace(bruno_net *net)
{
    size_t l;
    bruno__buf b[16];
    if (!net) return;
    for (l = 0; l < net->n_layers; ++l)
        bruno__free_bufs(&net->cfg.allocator, b, bruno__layer_ws_plan(net->layers[l], &net->cfg, net->ws_T, net->ws_batch, net->ws_train, b));
    bruno_free(&net->cfg.allocator, net->grad_a, net->grad_elems, sizeof(bruno_real));
    bruno_free(&net->cfg.allocator, net->grad_b, net->grad_elems, sizeof(bruno_real));
    net->grad_a = net->grad_b = NULL;
    net->grad_elems = 0;
    net->ws_T = net->ws_batch = 0;
    net->ws_train = 0;
    net->has_forward = 0;
}

static bruno_result bruno__ensure_ws(bruno_net *net, size_t T, size_t B, int train)
{
    size_t l, gw;
    bruno__buf b[16];
    bruno_result r;
    if (net->ws_T == T && net->ws_batch == B && (net->ws_train || !train)) return BRUNO_OK;
    bruno_net_release_workspace(net);
    for (l = 0; l < net->n_layers; ++l) {
        size_t k = bruno__layer_ws_plan(net->layers[l], &net->cfg, T, B, train, b);
        if ((r = bruno__alloc_bufs(&net->cfg.allocator, b, k)) != BRUNO_OK) {
            size_t m;
            for (m = 0; m < l; ++m)
                bruno__free_bufs(&net->cfg.allocator, b, bruno__layer_ws_plan(net->layers[m], &net->cfg, T, B, train, b));
            return r;
        }
    }
    gw = bruno__grad_width(net);
    if (gw) {
        net->grad_elems = T * B * gw;
        net->grad_a = (bruno_real *)bruno_alloc(&net->cfg.allocator, net->grad_elems, sizeof(bruno_real));
        net->grad_b = net->grad_a ? (bruno_real *)bruno_alloc(&net->cfg.allocator, net->grad_elems, sizeof(bruno_real)) : NULL;
        if (!net->grad_b) {
            net->ws_T = T;
            net->ws_batch = B;
            net->ws_train = train;
            bruno_net_release_workspace(net);
            return BRUNO_ERR_NOMEM;
        }
    }
    net->ws_T = T;
    net->ws_batch = B;
    net->ws_train = train;
    return BRUNO_OK;
}

static void bruno__layer_free(bruno_net *net, bruno_layer *L)
{
    bruno__buf b[16];
    bruno__free_bufs(&net->cfg.allocator, b, bruno__layer_params_plan(L, b));
    if (L->cfg.kind == BRUNO_LAYER_FELIF) bruno_felif_pop_free(&L->pop);
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

static void bruno__add_param(bruno_net *net, bruno_layer *L, int slot, const char *what, bruno_real *d,
                             bruno_real *g, size_t n)
{
    bruno_param *p = &net->params[net->n_params++];
    char *nm = L->names[slot];
    size_t i = 0, l = net->n_layers;
    /* "l<index>.<what>" without snprintf, which C89-ish C++ builds may warn about */
    nm[i++] = 'l';
    if (l >= 10) nm[i++] = (char)('0' + l / 10);
    nm[i++] = (char)('0' + l % 10);
    nm[i++] = '.';
    while (*what && i < sizeof L->names[0] - 1) nm[i++] = *what++;
    nm[i] = 0;
    p->name = nm;
    p->data = d;
    p->grad = g;
    p->n = n;
}

BRUNO_API bruno_result bruno_net_add(bruno_net *net, const bruno_layer_config *lc)
{
    bruno_layer *L;
    bruno__buf b[16];
    size_t k, i, n_in;
    bruno_result r;
    if (!net || !lc) return BRUNO_ERR_ARG;
    if (net->n_layers >= BRUNO_MAX_LAYERS) return BRUNO_ERR_SIZE;
    if ((unsigned)lc->kind > BRUNO_LAYER_SNU || (unsigned)lc->surrogate > BRUNO_SURROGATE_SIGMOID) return BRUNO_ERR_ARG;
    if (net->ws_T) bruno_net_release_workspace(net);
    n_in = bruno_net_n_out(net);
    L = (bruno_layer *)bruno_alloc(&net->cfg.allocator, 1, sizeof *L);
    if (!L) return BRUNO_ERR_NOMEM;
    L->cfg = *lc;
    L->n_in = n_in;
    switch (lc->kind) {
    case BRUNO_LAYER_ENCODE:
        if (lc->tile == 0) { r = BRUNO_ERR_SIZE; goto fail; }
        L->n_out = n_in * lc->tile;
        if (lc->n_out && lc->n_out != L->n_out) { r = BRUNO_ERR_SHAPE; goto fail; }
        break;
    case BRUNO_LAYER_DENSE:
        if (lc->n_out == 0 || lc->n_out > ((size_t)1 << 24)) { r = BRUNO_ERR_SIZE; goto fail; }
        L->n_out = lc->n_out;
        L->nW = L->n_out * n_in;
        break;
    default:
        if (lc->n_out && lc->n_out != n_in) { r = BRUNO_ERR_SHAPE; goto fail; }
        L->n_out = n_in;
        if (lc->kind == BRUNO_LAYER_RLIF || lc->kind == BRUNO_LAYER_SNU) L->nW = n_in * n_in;
        break;
    }
    if (bruno__has_W(lc->kind) && lc->bits != 32 && (lc->bits < 2 || lc->bits > 16)) { r = BRUNO_ERR_BITS; goto fail; }
    if (!bruno__finite(lc->init_scale) || !bruno__finite(lc->gain_init_std) || !bruno__finite(lc->bias_init_std) ||
        !bruno__finite(lc->gain_init_mean) || !bruno__finite(lc->surrogate_beta) || !bruno__finite(lc->input_gain) ||
        !bruno__finite(lc->decay) || !bruno__finite(lc->threshold)) { r = BRUNO_ERR_NONFINITE; goto fail; }
    if (bruno__is_spiking(lc->kind) && !(lc->surrogate_beta > 0)) { r = BRUNO_ERR_PARAM; goto fail; }
    if ((lc->kind == BRUNO_LAYER_LIF || lc->kind == BRUNO_LAYER_RLIF) &&
        !(lc->alpha >= 0.5 && lc->alpha <= 1 && lc->beta >= 0.5 && lc->beta <= 1)) { r = BRUNO_ERR_PARAM; goto fail; }
    if (lc->kind == BRUNO_LAYER_FELIF) {
        bruno_felif_pop_config pc = bruno_felif_pop_config_default(&lc->felif, L->n_out);
        if (!(lc->input_gain > 0)) { r = BRUNO_ERR_PARAM; goto fail; }
        pc.sigma = lc->sigma;
        pc.vary_gain = lc->vary_gain;
        pc.seed = bruno_rng_u64(&net->rng);
        pc.allocator = net->cfg.allocator;
        if ((r = bruno_felif_pop_init(&L->pop, &pc)) != BRUNO_OK) goto fail;
    }
    k = bruno__layer_params_plan(L, b);
    if ((r = bruno__alloc_bufs(&net->cfg.allocator, b, k)) != BRUNO_OK) {
        if (lc->kind == BRUNO_LAYER_FELIF) bruno_felif_pop_free(&L->pop);
        goto fail;
    }
    /* initialisation, drawn from the network's RNG in a fixed order */
    if (L->W) {
        if (lc->init_nonneg) {
            double hi = lc->init_scale * sqrt(1.0 / (double)L->n_out);
            for (i = 0; i < L->nW; ++i) L->W[i] = (bruno_real)(hi * bruno_rng_uniform(&net->rng));
        } else {
            double s = lc->init_scale * (double)bruno__rsqrt_in(n_in);
            for (i = 0; i < L->nW; ++i) L->W[i] = (bruno_real)(s * (2.0 * bruno_rng_uniform(&net->rng) - 1.0));
        }
        bruno__add_param(net, L, 0, lc->kind == BRUNO_LAYER_DENSE ? "W" : "W_rec", L->W, L->gW, L->nW);
    }
    if (lc->kind == BRUNO_LAYER_ENCODE) {
        for (i = 0; i < L->n_out; ++i)
            L->gain[i] = (bruno_real)(lc->gain_init_mean + lc->gain_init_std * bruno_rng_normal(&net->rng));
        for (i = 0; i < L->n_out; ++i) L->b[i] = (bruno_real)(lc->bias_init_std * bruno_rng_normal(&net->rng));
        bruno__add_param(net, L, 0, "gain", L->gain, L->ggain, L->n_out);
        bruno__add_param(net, L, 1, "bias", L->b, L->gb, L->n_out);
    } else if (L->b) {
        bruno__add_param(net, L, 1, "b", L->b, L->gb, L->n_out);
    }
    if (L->dec) {
        L->dec[0] = (bruno_real)lc->alpha;
        L->dec[1] = (bruno_real)lc->beta;
        if (lc->train_decay) bruno__add_param(net, L, 2, "decay", L->dec, L->gdec, 2);
    }
    net->layers[net->n_layers++] = L;
    return BRUNO_OK;
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
    for (l = 0; l < net->n_layers; ++l) {
        bruno_layer *L = net->layers[l];
        int i;
        if (!L->dec) continue;
        for (i = 0; i < 2; ++i) {
            if (L->dec[i] < (bruno_real)0.5) L->dec[i] = (bruno_real)0.5;
            if (L->dec[i] > 1) L->dec[i] = 1;
        }
    }
}

BRUNO_API int bruno_net_finite(const bruno_net *net)
{
    size_t i, j;
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
        if (net->layers[l]->cfg.kind == BRUNO_LAYER_FELIF)
            if ((r = bruno_felif_pop_redraw(&net->layers[l]->pop, sigma, net->layers[l]->cfg.vary_gain, rng)) != BRUNO_OK)
                return r;
    return BRUNO_OK;
}
/* ---- spikes and surrogates (MODELS §3 end) -------------------------------- */
static bruno_real bruno__spike(const bruno_layer_config *c, bruno_real x)
{
    if (c->surrogate == BRUNO_SURROGATE_SIGMOID)
        return (bruno_real)1 / (1 + BRUNO__EXP(-(bruno_real)c->surrogate_beta * x));
    return x >= 0 ? (bruno_real)1 : (bruno_real)0;
}

static bruno_real bruno__surrogate(const bruno_layer_config *c, bruno_real x)
{
    bruno_real b = (bruno_real)c->surrogate_beta, d, t;
    switch (c->surrogate) {
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

/* ---- dense: y[r] = W x[r] (+ b) over rows r ------------------------------- */
static const bruno_real *bruno__weights(bruno_net *net, bruno_layer *L, bruno_result *r)
{
    *r = BRUNO_OK;
    if (L->cfg.bits >= 32) return L->W;
    /* a fresh stochastic rounding per forward call; the same Wq serves its backward */
    *r = bruno_quantize(L->W, L->Wq, L->nW, L->cfg.bits, L->cfg.stochastic_rounding, &net->rng, NULL);
    return L->Wq;
}

static void bruno__matvec(const bruno_real *W, const bruno_real *x, bruno_real *y, size_t n_out, size_t n_in, int add)
{
    size_t o, i;
    for (o = 0; o < n_out; ++o) {
        const bruno_real *w = W + o * n_in;
        bruno_real s = 0;
        for (i = 0; i < n_in; ++i) s += w[i] * x[i];
        y[o] = add ? y[o] + s : s;
    }
}

/* y^T W added into dx: dx[i] += sum_o dy[o] W[o][i]; and gW[o][i] += dy[o] x[i] */
static void bruno__matvec_back(const bruno_real *W, const bruno_real *x, const bruno_real *dy, bruno_real *dx,
                               bruno_real *gW, size_t n_out, size_t n_in)
{
    size_t o, i;
    for (o = 0; o < n_out; ++o) {
        const bruno_real *w = W + o * n_in;
        bruno_real *g = gW + o * n_in, d = dy[o];
        if (d == 0) continue;
        if (dx)
            for (i = 0; i < n_in; ++i) dx[i] += d * w[i];
        for (i = 0; i < n_in; ++i) g[i] += d * x[i];
    }
}

/* ---- LIF / RLIF forward over the sequence --------------------------------- */
static bruno_result bruno__lif_forward(bruno_net *net, bruno_layer *L, const bruno_real *x, size_t T, size_t B)
{
    size_t n = L->n_out, BN = B * n, t, i, b;
    bruno_real a = L->dec[0], be = L->dec[1];
    bruno_real *xin = L->tmp;   /* [B][n] */
    const bruno_real *Wr = NULL;
    bruno_result r = BRUNO_OK;
    if (L->cfg.kind == BRUNO_LAYER_RLIF) {
        Wr = bruno__weights(net, L, &r);
        if (r != BRUNO_OK) return r;
    }
    for (t = 0; t < T; ++t) {
        const bruno_real *xt = x + t * BN;
        bruno_real *syn = L->st_a + t * BN, *mt = L->st_b + t * BN, *y = L->out + t * BN;
        const bruno_real *syn_p = t ? L->st_a + (t - 1) * BN : NULL, *mt_p = t ? L->st_b + (t - 1) * BN : NULL;
        memcpy(xin, xt, BN * sizeof *xin);
        if (Wr && t)
            for (b = 0; b < B; ++b) bruno__matvec(Wr, L->out + (t - 1) * BN + b * n, xin + b * n, n, n, 1);
        for (i = 0; i < BN; ++i) {
            bruno_real sp = syn_p ? syn_p[i] : 0;
            bruno_real mp = mt_p ? (mt_p[i] >= 1 ? 0 : mt_p[i]) : 0; /* mem after the reset */
            syn[i] = be * sp + (1 - be) * xin[i];
            mt[i] = a * mp + (1 - a) * syn[i];
            y[i] = bruno__spike(&L->cfg, mt[i] - 1);
        }
    }
    return BRUNO_OK;
}

static void bruno__lif_backward(bruno_layer *L, const bruno_real *x, const bruno_real *dy, bruno_real *dx,
                                size_t T, size_t B)
{
    size_t n = L->n_out, BN = B * n, t, i, b;
    bruno_real a = L->dec[0], be = L->dec[1], ga = 0, gb = 0;
    bruno_real *g_syn = L->tmp, *g_mem = L->tmp + BN, *g_s = L->tmp + 2 * BN, *xin = L->tmp + 3 * BN;
    const bruno_real *Wr = L->cfg.kind == BRUNO_LAYER_RLIF ? (L->Wq ? L->Wq : L->W) : NULL;
    memset(L->tmp, 0, 3 * BN * sizeof(bruno_real));
    for (t = T; t-- > 0;) {
        const bruno_real *syn = L->st_a + t * BN, *mt = L->st_b + t * BN, *dyt = dy + t * BN;
        const bruno_real *syn_p = t ? L->st_a + (t - 1) * BN : NULL, *mt_p = t ? L->st_b + (t - 1) * BN : NULL;
        memcpy(xin, x + t * BN, BN * sizeof *xin);
        if (Wr && t)
            for (b = 0; b < B; ++b) bruno__matvec(Wr, L->out + (t - 1) * BN + b * n, xin + b * n, n, n, 1);
        for (i = 0; i < BN; ++i) {
            bruno_real s_hard = mt[i] >= 1 ? (bruno_real)1 : (bruno_real)0;
            bruno_real gy = dyt[i] + g_s[i];
            bruno_real gm = g_mem[i] * (1 - s_hard) + gy * bruno__surrogate(&L->cfg, mt[i] - 1);
            bruno_real gsyn = g_syn[i] + gm * (1 - a);
            bruno_real mp = mt_p ? (mt_p[i] >= 1 ? 0 : mt_p[i]) : 0;
            bruno_real sp = syn_p ? syn_p[i] : 0;
            ga += gm * (mp - syn[i]);
            g_mem[i] = gm * a;
            gb += gsyn * (sp - xin[i]);
            g_syn[i] = gsyn * be;
            xin[i] = gsyn * (1 - be); /* now dL/dxin */
        }
        if (dx) memcpy(dx + t * BN, xin, BN * sizeof *xin);
        if (Wr) {
            memset(g_s, 0, BN * sizeof *g_s);
            if (t)
                for (b = 0; b < B; ++b)
                    bruno__matvec_back(Wr, L->out + (t - 1) * BN + b * n, xin + b * n, g_s + b * n, L->gW, n, n);
        }
    }
    L->gdec[0] += ga;
    L->gdec[1] += gb;
}

/* ---- SNU-style cell --------------------------------------------------------- */
static bruno_result bruno__snu_forward(bruno_net *net, bruno_layer *L, const bruno_real *x, size_t T, size_t B)
{
    size_t n = L->n_out, BN = B * n, t, i, b;
    bruno_real d = (bruno_real)L->cfg.decay, thr = (bruno_real)L->cfg.threshold;
    bruno_result r;
    const bruno_real *Wr = bruno__weights(net, L, &r);
    if (r != BRUNO_OK) return r;
    for (t = 0; t < T; ++t) {
        bruno_real *h = L->st_a + t * BN, *y = L->out + t * BN;
        for (i = 0; i < BN; ++i) {
            bruno_real hp = t ? L->st_a[(t - 1) * BN + i] : 0;
            bruno_real sp = (t && hp >= thr) ? (bruno_real)1 : (bruno_real)0;
            h[i] = hp * (1 - sp) * d + x[t * BN + i] + L->b[i % n];
        }
        if (t)
            for (b = 0; b < B; ++b) bruno__matvec(Wr, L->out + (t - 1) * BN + b * n, h + b * n, n, n, 1);
        for (i = 0; i < BN; ++i) y[i] = bruno__spike(&L->cfg, h[i] - thr);
    }
    return BRUNO_OK;
}

static void bruno__snu_backward(bruno_layer *L, const bruno_real *dy, bruno_real *dx, size_t T, size_t B)
{
    size_t n = L->n_out, BN = B * n, t, i, b;
    bruno_real d = (bruno_real)L->cfg.decay, thr = (bruno_real)L->cfg.threshold;
    bruno_real *g_h = L->tmp, *g_s = L->tmp + BN, *gh_t = L->tmp + 2 * BN;
    const bruno_real *Wr = L->Wq ? L->Wq : L->W;
    memset(L->tmp, 0, 2 * BN * sizeof(bruno_real));
    for (t = T; t-- > 0;) {
        const bruno_real *h = L->st_a + t * BN;
        for (i = 0; i < BN; ++i) {
            gh_t[i] = g_h[i] + (dy[t * BN + i] + g_s[i]) * bruno__surrogate(&L->cfg, h[i] - thr);
            L->gb[i % n] += gh_t[i];
        }
        if (dx) memcpy(dx + t * BN, gh_t, BN * sizeof *gh_t);
        memset(g_s, 0, BN * sizeof *g_s);
        if (t) {
            for (b = 0; b < B; ++b)
                bruno__matvec_back(Wr, L->out + (t - 1) * BN + b * n, gh_t + b * n, g_s + b * n, L->gW, n, n);
            for (i = 0; i < BN; ++i) {
                bruno_real hp = L->st_a[(t - 1) * BN + i];
                g_h[i] = gh_t[i] * (hp >= thr ? 0 : 1) * d;
            }
        }
    }
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
        for (t = 1; bruno__beta(s, t) < (double)l; ++t) {}
        {
            double right = bruno__beta(s - 1, t);
            m = (double)l - right > 1.0 ? a + (size_t)((double)l - right) : a + 1;
        }
        R->advance(R->ctx, slot_a, next_free, a, m);
        bruno__revolve(R, m, b, next_free, next_free + 1, s - 1);
        b = m;
    }
}

/* ---- FeLIF layer ------------------------------------------------------------ */
/* gcc if-converts (and so vectorises) the branch-free kernels below only
   with -fno-trapping-math (clang's default); nothing here relies on FP
   exceptions and no result changes with it. See the manual at the top. */
#if defined(__cplusplus)
#define BRUNO__RESTRICT __restrict
#define BRUNO__INLINE inline
#else
#define BRUNO__RESTRICT restrict
#define BRUNO__INLINE inline
#endif

/* Fast math for the fine loop. In float: Cephes-style expf/logf, branch
   free so the neuron loop vectorises (relative error about 1e-7, i.e. a few
   ulp; tests/test_kernel.c measures it against libm). In double: libm. */
#if BRUNO_REAL_IS_DOUBLE
static bruno_real bruno__fexp(bruno_real x) { return exp(x); }
static bruno_real bruno__flog(bruno_real x) { return log(x); }
#else
static BRUNO__INLINE float bruno__fexp(float x)
{
    float n, r, z, y;
    int32_t k;
    uint32_t bits;
    x = x > 88.3762626647949f ? 88.3762626647949f : x;
    x = x < -87.3365447505531f ? -87.3365447505531f : x;
    /* n = round(x log2 e), half away from zero, written without a ternary:
       one here stops gcc from vectorising the caller's loop */
    n = (float)(int32_t)(x * 1.44269504088896341f + 0.5f * (float)(x >= 0) - 0.5f * (float)(x < 0));
    r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    z = r * r;
    y = (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
          1.6666665459e-1f) * r + 5.0000001201e-1f) * z + r + 1.0f;
    k = (int32_t)n + 127;
    bits = (uint32_t)k << 23;
    memcpy(&z, &bits, sizeof z);
    return y * z;
}

static BRUNO__INLINE float bruno__flog(float x) /* x > 0, normal */
{
    uint32_t bits, mb;
    int32_t e;
    float m, z, y, fe, lo;
    memcpy(&bits, &x, sizeof bits);
    e = (int32_t)((bits >> 23) & 0xff) - 126;
    mb = (bits & 0x807fffffu) | 0x3f000000u; /* mantissa in [0.5, 1) */
    memcpy(&m, &mb, sizeof m);
    /* m < sqrt(1/2): use 2m - 1 and e - 1 (as a 0/1 factor, branch free) */
    lo = (float)(m < 0.707106781186547524f);
    fe = (float)e - lo;
    m = m + lo * m - 1.0f;
    z = m * m;
    y = ((((((((7.0376836292e-2f * m - 1.1514610310e-1f) * m + 1.1676998740e-1f) * m - 1.2420140846e-1f) * m +
             1.4249322787e-1f) * m - 1.6668057665e-1f) * m + 2.0000714765e-1f) * m - 2.4999993993e-1f) * m +
         3.3333331174e-1f) * m * z;
    y += -2.12194440e-4f * fe;
    y += -0.5f * z;
    return m + y + 0.693359375f * fe;
}
#endif

/* One fine-grid work item: neurons q in [q0, q1) of the [B][n] layout. */
typedef struct bruno__felif_ctx {
    bruno_layer *L;
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
} bruno__felif_ctx;

static void bruno__felif_ctx_init(bruno__felif_ctx *X, bruno_net *net, bruno_layer *L, size_t T, size_t B,
                                  size_t q0, size_t q1)
{
    memset(X, 0, sizeof *X);
    X->L = L;
    X->nc = &net->cfg;
    X->B = B;
    X->n = L->n_out;
    X->BN = B * L->n_out;
    X->T = T;
    X->q0 = q0;
    X->q1 = q1;
    X->N = net->cfg.n_fine;
    X->h = (bruno_real)(net->cfg.dt / (double)net->cfg.n_fine);
    X->V_thr = (bruno_real)L->cfg.felif.V_thr;
    X->v_reset = (bruno_real)L->cfg.felif.v_reset;
    X->p_reset_rel = (bruno_real)(L->cfg.felif.p_reset / L->cfg.felif.P_s);
    X->g = (bruno_real)L->cfg.input_gain;
    X->gv = L->tmp;
    X->gp = L->tmp + X->BN;
    X->gI = L->tmp + 2 * X->BN;
    X->I = L->tmp + 3 * X->BN;
    X->wv = L->tmp + 4 * X->BN;
    X->wp = L->tmp + 5 * X->BN;
}

/* Copy the item's part of an array [BN] (every FeLIF array is laid out so). */
static void bruno__cpy(const bruno__felif_ctx *X, bruno_real *d, const bruno_real *s)
{
    memcpy(d + X->q0, s + X->q0, (X->q1 - X->q0) * sizeof *d);
}

/* Iterate the item's neurons row by row, so the inner loop over j is
   contiguous (it vectorises) and per-neuron constants are S[field][j]. */
#define BRUNO__FOR_ROWS(X, rs, ja, jb)                                                       \
    for (rs = (X)->q0 - (X)->q0 % (X)->n; rs < (X)->q1; rs += (X)->n)                          \
        if ((ja = ((X)->q0 > rs ? (X)->q0 - rs : 0)), (jb = ((X)->q1 < rs + (X)->n ? (X)->q1 - rs : (X)->n)), 1)

static void bruno__felif_current(bruno__felif_ctx *X, size_t k)
{
    const bruno_real *u = X->u + k * X->BN, *gain = X->L->pop.soa + BRUNO__S_GAIN * X->n;
    size_t rs, ja, jb, j;
    BRUNO__FOR_ROWS(X, rs, ja, jb)
    for (j = ja; j < jb; ++j) X->I[rs + j] = X->g * gain[j] * u[rs + j];
}

/* The fast fine steps [i0, i1) of step length tau (MODELS §2) on the item,
   branch free: every lane computes the Euler update, frozen lanes keep
   their state. Returns the number of lanes still running after i1 - 1. */
/* One row [ja, jb) of the item (its own function, with restrict
   pointers, so gcc sees a simple loop it can vectorise). */
static uint32_t bruno__felif_row_fast(bruno_real *BRUNO__RESTRICT vr, bruno_real *BRUNO__RESTRICT pr,
                                                    uint32_t *BRUNO__RESTRICT tr, const bruno_real *BRUNO__RESTRICT Ir,
                                                    const bruno_real *S, size_t n, size_t ja, size_t jb, uint32_t i,
                                                    bruno_real tau, bruno_real thr)
{
    const bruno_real *kv = S + BRUNO__S_KV * n, *kp = S + BRUNO__S_KP * n, *lnEa = S + BRUNO__S_LNEA * n;
    const bruno_real *al = S + BRUNO__S_ALPHA * n, *Es = S + BRUNO__S_ESOFT * n, *Ps = S + BRUNO__S_PS * n;
    const bruno_real *A = S + BRUNO__S_A * n, *iC = S + BRUNO__S_INVC * n, *I0A = S + BRUNO__S_I0A * n;
    const bruno_real *iVt = S + BRUNO__S_INVVT * n, *Id = S + BRUNO__S_IDSC * n, *itau = S + BRUNO__S_ITAU * n;
    const bruno_real *vc = S + BRUNO__S_VCLIP * n;
    const bruno_real XMAX = BRUNO__X_MAX;
    uint32_t running = 0;
    size_t j;
    for (j = ja; j < jb; ++j) {
        bruno_real vq = vr[j], pq = pr[j];
        uint32_t tk = tr[j], ntk;
        bruno_real E = kv[j] * vq - kp[j] * pq;
        bruno_real sE = E > 0 ? (bruno_real)1 : (E < 0 ? (bruno_real)-1 : (bruno_real)0);
        bruno_real aE = BRUNO__FABS(E) + Es[j];
        bruno_real Xs = bruno__fexp(al[j] * (lnEa[j] - bruno__flog(aE)));
        bruno_real r0 = bruno__fexp(-Xs) * itau[j]; /* computed in every lane, then masked */
        bruno_real r = r0 * (bruno_real)(Xs <= XMAX);
        bruno_real a = sE * Ps[j] - pq;
        bruno_real sv = vq > 0 ? (bruno_real)1 : (vq < 0 ? (bruno_real)-1 : (bruno_real)0);
        bruno_real Il = sv * (I0A[j] * (bruno__fexp(vq * iVt[j]) - 1) + Id[j]);
        bruno_real pn = pq + tau * (a * r);
        bruno_real vn = vq + tau * (Ir[j] - Il - A[j] * a * r) * iC[j];
        pn = pn > Ps[j] ? Ps[j] : (pn < -Ps[j] ? -Ps[j] : pn);
        vn = vn > vc[j] ? vc[j] : (vn < -vc[j] ? -vc[j] : vn);
        vr[j] = i < tk ? vn : vq;
        pr[j] = i < tk ? pn : pq;
        ntk = (tk == BRUNO__RUNNING && vn >= thr) ? i + 1 : tk;
        tr[j] = ntk;
        running += i + 1 < ntk;
    }
    return running;
}

/* The fast fine step i of length tau (MODELS §2) on the item, branch
   free: every lane computes the Euler update, frozen lanes keep their
   state. Returns the number of lanes still running after step i. */
static size_t bruno__felif_fine_fast(const bruno__felif_ctx *X, bruno_real *v, bruno_real *p, uint32_t *taken,
                                     uint32_t i, bruno_real tau)
{
    size_t rs, ja, jb, running = 0;
    BRUNO__FOR_ROWS(X, rs, ja, jb)
    running += bruno__felif_row_fast(v + rs, p + rs, taken + rs, X->I + rs, X->L->pop.soa, X->n, ja, jb, i, tau,
                                     X->V_thr);
    return running;
}

/* The same step as bruno_felif_euler (libm, one neuron at a time). */
static size_t bruno__felif_fine_ref(const bruno__felif_ctx *X, bruno_real *v, bruno_real *p, uint32_t *taken,
                                    uint32_t i, bruno_real tau)
{
    const bruno_felif_consts *c = X->L->pop.c;
    size_t q, running = 0;
    for (q = X->q0; q < X->q1; ++q) {
        if (i >= taken[q]) continue;
        bruno_felif_euler(&c[q % X->n], v[q], p[q], X->I[q], tau, &v[q], &p[q]);
        if (taken[q] == BRUNO__RUNNING && v[q] >= X->V_thr) taken[q] = i + 1;
        running += i + 1 < taken[q];
    }
    return running;
}

static size_t bruno__felif_step(const bruno__felif_ctx *X, bruno_real *v, bruno_real *p, uint32_t *taken, uint32_t i,
                                bruno_real tau)
{
    return X->nc->kernel == BRUNO_KERNEL_REFERENCE ? bruno__felif_fine_ref(X, v, p, taken, i, tau)
                                                   : bruno__felif_fine_fast(X, v, p, taken, i, tau);
}

/* Fine Euler steps [i0, i1) of the current window for every neuron that
   has not frozen (i < taken). During the forward pass taken is RUNNING
   and becomes i + 1 at the step after which v >= V_thr (MODELS §2). With
   store, the input state of each step is saved as [i - i0][v|p][BN]. */
static void bruno__felif_fine(const bruno__felif_ctx *X, bruno_real *v, bruno_real *p, uint32_t *taken,
                              uint32_t i0, uint32_t i1, bruno_real *store)
{
    uint32_t i;
    for (i = i0; i < i1; ++i) {
        if (store) {
            bruno__cpy(X, store + (size_t)(i - i0) * 2 * X->BN, v);
            bruno__cpy(X, store + (size_t)(i - i0) * 2 * X->BN + X->BN, p);
        }
        /* every neuron frozen: the rest of the window is the identity and
           the backward pass never reads the states past the last freeze */
        if (!bruno__felif_step(X, v, p, taken, i, X->h)) break;
    }
}

/* Reverse one Euler step of length tau from its input state (vi, pi) for
   the lanes with i < taken (all lanes when taken is NULL): gv, gp become
   the adjoints of the input state and gI accumulates dL/dI (MODELS §3). */
static void bruno__felif_adj_fast(const bruno__felif_ctx *X, const bruno_real *vi, const bruno_real *pi,
                                  const uint32_t *taken, uint32_t i, bruno_real tau)
{
    const bruno_real *S = X->L->pop.soa;
    size_t n = X->n, rs, ja, jb, j;
    const bruno_real *kv = S + BRUNO__S_KV * n, *kp = S + BRUNO__S_KP * n, *lnEa = S + BRUNO__S_LNEA * n;
    const bruno_real *al = S + BRUNO__S_ALPHA * n, *Es = S + BRUNO__S_ESOFT * n, *Ps = S + BRUNO__S_PS * n;
    const bruno_real *A = S + BRUNO__S_A * n, *iC = S + BRUNO__S_INVC * n, *I0A = S + BRUNO__S_I0A * n;
    const bruno_real *iVt = S + BRUNO__S_INVVT * n, *Id = S + BRUNO__S_IDSC * n, *itau = S + BRUNO__S_ITAU * n;
    const bruno_real *vc = S + BRUNO__S_VCLIP * n;
    const bruno_real XMAX = BRUNO__X_MAX;
    const bruno_real rg = X->nc->rate_grad ? (bruno_real)1 : (bruno_real)0;
    BRUNO__FOR_ROWS(X, rs, ja, jb)
    {
        const bruno_real *BRUNO__RESTRICT vr = vi + rs, *BRUNO__RESTRICT pr = pi + rs, *BRUNO__RESTRICT Ir = X->I + rs;
        bruno_real *BRUNO__RESTRICT gvr = X->gv + rs, *BRUNO__RESTRICT gpr = X->gp + rs, *BRUNO__RESTRICT gIr = X->gI + rs;
        for (j = ja; j < jb; ++j) {
            bruno_real vq = vr[j], pq = pr[j];
            int act = taken ? i < taken[rs + j] : 1;
            bruno_real E = kv[j] * vq - kp[j] * pq;
            bruno_real sE = E > 0 ? (bruno_real)1 : (E < 0 ? (bruno_real)-1 : (bruno_real)0);
            bruno_real aE = BRUNO__FABS(E) + Es[j];
            bruno_real Xs = bruno__fexp(al[j] * (lnEa[j] - bruno__flog(aE)));
            bruno_real r0 = bruno__fexp(-Xs) * itau[j]; /* computed in every lane, then masked */
            bruno_real r = r0 * (bruno_real)(Xs <= XMAX);
            bruno_real dr = rg * al[j] * Xs * r * sE / aE;
            bruno_real a = sE * Ps[j] - pq;
            bruno_real sv = vq > 0 ? (bruno_real)1 : (vq < 0 ? (bruno_real)-1 : (bruno_real)0);
            bruno_real ev = bruno__fexp(vq * iVt[j]);
            bruno_real Il = sv * (I0A[j] * (ev - 1) + Id[j]);
            bruno_real pn = pq + tau * (a * r);
            bruno_real vn = vq + tau * (Ir[j] - Il - A[j] * a * r) * iC[j];
            /* MODELS §3 with I_pa = A*a: dI_p/dp = -A r - I_pa r' k_p, dI_p/dv = I_pa r' k_v */
            bruno_real dIp_dp = -A[j] * r - A[j] * a * dr * kp[j], dIp_dv = A[j] * a * dr * kv[j];
            bruno_real dIl_dv = sv * I0A[j] * ev * iVt[j];
            bruno_real hC = tau * iC[j];
            bruno_real dv_dv = 1 - hC * (dIl_dv + dIp_dv), dv_dp = -hC * dIp_dp, dv_dI = hC;
            bruno_real dp_dv = tau * a * dr * kv[j], dp_dp = 1 - tau * r - tau * a * dr * kp[j];
            bruno_real cv = (vn > vc[j] || vn < -vc[j]) ? (bruno_real)0 : (bruno_real)1;
            bruno_real cp = (pn > Ps[j] || pn < -Ps[j]) ? (bruno_real)0 : (bruno_real)1;
            bruno_real gv = gvr[j], gp = gpr[j];
            bruno_real ngv = cv * gv * dv_dv + cp * gp * dp_dv;
            bruno_real ngp = cv * gv * dv_dp + cp * gp * dp_dp;
            bruno_real ngI = gIr[j] + cv * gv * dv_dI;
            gvr[j] = act ? ngv : gv;
            gpr[j] = act ? ngp : gp;
            gIr[j] = act ? ngI : gIr[j];
        }
    }
}

static void bruno__felif_adj_ref(const bruno__felif_ctx *X, const bruno_real *vi, const bruno_real *pi,
                                 const uint32_t *taken, uint32_t i, bruno_real tau)
{
    const bruno_felif_consts *c = X->L->pop.c;
    size_t q;
    for (q = X->q0; q < X->q1; ++q) {
        bruno_felif_jacobian J;
        bruno_real gv, gp;
        if (taken && i >= taken[q]) continue;
        J = bruno_felif_euler_jacobian(&c[q % X->n], vi[q], pi[q], X->I[q], tau, X->nc->rate_grad);
        gv = X->gv[q];
        gp = X->gp[q];
        X->gI[q] += gv * J.dv_dI;
        X->gv[q] = gv * J.dv_dv + gp * J.dp_dv;
        X->gp[q] = gv * J.dv_dp + gp * J.dp_dp;
    }
}

static void bruno__felif_adj_step(const bruno__felif_ctx *X, const bruno_real *vi, const bruno_real *pi,
                                  const uint32_t *taken, uint32_t i, bruno_real tau)
{
    if (X->nc->kernel == BRUNO_KERNEL_REFERENCE) bruno__felif_adj_ref(X, vi, pi, taken, i, tau);
    else bruno__felif_adj_fast(X, vi, pi, taken, i, tau);
}

static void bruno__felif_adj_fine(const bruno__felif_ctx *X, const bruno_real *vi, const bruno_real *pi, uint32_t i)
{
    bruno__felif_adj_step(X, vi, pi, X->taken, i, X->h);
}

static uint32_t bruno__max_taken(const bruno__felif_ctx *X)
{
    uint32_t m = 0;
    size_t q;
    for (q = X->q0; q < X->q1; ++q)
        if (X->taken[q] > m) m = X->taken[q];
    return m;
}

/* One network step k -> k+1 in place on (v, p): fine pass (or the coarse
   step), reset where v_start >= V_thr (s_k = 1), MODELS §2. */
static void bruno__felif_step_fwd(bruno__felif_ctx *X, size_t k, bruno_real *v, bruno_real *p,
                                  const bruno_real *v_start, uint32_t *taken, bruno_real *store)
{
    const bruno_felif_consts *c = X->L->pop.c;
    size_t q;
    bruno__felif_current(X, k);
    for (q = X->q0; q < X->q1; ++q) taken[q] = BRUNO__RUNNING;
    if (X->nc->trainer == BRUNO_TRAINER_COARSE) {
        /* one Euler step of length dt; a single step is never frozen early */
        bruno__felif_step(X, v, p, taken, 0, (bruno_real)X->nc->dt);
    } else {
        bruno__felif_fine(X, v, p, taken, 0, X->N, store);
    }
    for (q = X->q0; q < X->q1; ++q) {
        if (taken[q] == BRUNO__RUNNING) taken[q] = X->N;
        if (v_start[q] >= X->V_thr) {
            v[q] = X->v_reset;
            p[q] = X->p_reset_rel * c[q % X->n].P_s;
        }
    }
}

/* Before reversing step k: add the spike's gradient at v_{k+1}, and cut
   the path through a reset (no gradient to the pre-reset values). */
static void bruno__felif_adj_begin(bruno__felif_ctx *X, size_t k, const bruno_real *v_k, const bruno_real *v_k1)
{
    const bruno_real *dy = X->dy + k * X->BN;
    size_t q;
    bruno__felif_current(X, k);
    for (q = X->q0; q < X->q1; ++q) {
        X->gv[q] += dy[q] * bruno__surrogate(&X->L->cfg, v_k1[q] - X->V_thr);
        if (v_k[q] >= X->V_thr) X->gv[q] = X->gp[q] = 0;
        X->gI[q] = 0;
    }
}

static void bruno__felif_adj_end(bruno__felif_ctx *X, size_t k)
{
    const bruno_real *gain = X->L->pop.soa + BRUNO__S_GAIN * X->n;
    size_t q;
    if (!X->du) return;
    for (q = X->q0; q < X->q1; ++q) X->du[k * X->BN + q] = X->gI[q] * X->g * gain[q % X->n];
}

/* Exact reverse of a window whose fine states are stored in F. */
static void bruno__felif_adj_stored(bruno__felif_ctx *X, const bruno_real *F)
{
    uint32_t i = bruno__max_taken(X);
    while (i-- > 0) bruno__felif_adj_fine(X, F + (size_t)i * 2 * X->BN, F + (size_t)i * 2 * X->BN + X->BN, i);
}

/* revolve callbacks inside one window: slots are [v|p] arrays in L->fine */
static bruno_real *bruno__slot(const bruno__felif_ctx *X, int s) { return X->L->fine + (size_t)s * 2 * X->BN; }

static void bruno__slot_copy(const bruno__felif_ctx *X, bruno_real *d, const bruno_real *s)
{
    bruno__cpy(X, d, s);
    bruno__cpy(X, d + X->BN, s + X->BN);
}

static void bruno__fine_advance(void *ctx, int from, int to, size_t i0, size_t i1)
{
    bruno__felif_ctx *X = (bruno__felif_ctx *)ctx;
    bruno_real *d = bruno__slot(X, to);
    if (from != to) bruno__slot_copy(X, d, bruno__slot(X, from));
    bruno__felif_fine(X, d, d + X->BN, X->taken, (uint32_t)i0, (uint32_t)i1, NULL);
}

static void bruno__fine_adjoint(void *ctx, int slot, size_t i)
{
    bruno__felif_ctx *X = (bruno__felif_ctx *)ctx;
    bruno_real *s = bruno__slot(X, slot);
    bruno__felif_adj_fine(X, s, s + X->BN, (uint32_t)i);
}

/* Exact reverse of window k by recomputation from its start state. */
static void bruno__felif_adj_checkpoint(bruno__felif_ctx *X, const bruno_real *v_k, const bruno_real *p_k)
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
        bruno__revolve(&R, 0, N, 0, 1, s);
    } else { /* UNIFORM: one sweep to the checkpoints, then each segment stored and reversed */
        size_t Lseg = (X->N + K - 1) / K, nck = (N + Lseg - 1) / Lseg, ck;
        bruno_real *seg = X->L->fine + ((X->N + Lseg - 1) / Lseg) * 2 * BN;
        for (ck = 1; ck < nck; ++ck) bruno__fine_advance(X, (int)ck - 1, (int)ck, (ck - 1) * Lseg, ck * Lseg);
        for (ck = nck; ck-- > 0;) {
            uint32_t i0 = (uint32_t)(ck * Lseg), i1 = (uint32_t)((ck + 1) * Lseg < N ? (ck + 1) * Lseg : N), i;
            bruno__cpy(X, X->wv, bruno__slot(X, (int)ck));
            bruno__cpy(X, X->wp, bruno__slot(X, (int)ck) + BN);
            bruno__felif_fine(X, X->wv, X->wp, X->taken, i0, i1, seg);
            for (i = i1; i-- > i0;) bruno__felif_adj_fine(X, seg + (size_t)(i - i0) * 2 * BN, seg + (size_t)(i - i0) * 2 * BN + BN, i);
        }
    }
}

/* SEQUENCE schedule: revolve over network steps; slots hold (v, p) of a
   step's start; then revolve's work slot, the adjoint's own work slot (the
   state the window is recomputed in) and one window's fine states. */
typedef struct bruno__seq_ctx {
    bruno__felif_ctx *X;
    size_t n_slots;
} bruno__seq_ctx;

static void bruno__seq_advance(void *ctx, int from, int to, size_t k0, size_t k1)
{
    bruno__seq_ctx *S = (bruno__seq_ctx *)ctx;
    bruno__felif_ctx *X = S->X;
    bruno_real *d = bruno__slot(X, to);
    size_t k;
    if (from != to) bruno__slot_copy(X, d, bruno__slot(X, from));
    for (k = k0; k < k1; ++k) {
        bruno__cpy(X, X->wv, d);
        bruno__felif_step_fwd(X, k, d, d + X->BN, X->wv, X->taken, NULL);
    }
}

static void bruno__seq_adjoint(void *ctx, int slot, size_t k)
{
    bruno__seq_ctx *S = (bruno__seq_ctx *)ctx;
    bruno__felif_ctx *X = S->X;
    bruno_real *st = bruno__slot(X, slot), *w = bruno__slot(X, (int)S->n_slots + 1);
    bruno__slot_copy(X, w, st);
    bruno__felif_step_fwd(X, k, w, w + X->BN, st, X->taken, X->fine);
    bruno__felif_adj_begin(X, k, st, w);
    bruno__felif_adj_stored(X, X->fine);
    bruno__felif_adj_end(X, k);
}

static void bruno__felif_init_state(const bruno__felif_ctx *X, bruno_real *v, bruno_real *p)
{
    const bruno_real *Ps = X->L->pop.soa + BRUNO__S_PS * X->n;
    size_t q;
    for (q = X->q0; q < X->q1; ++q) {
        v[q] = (bruno_real)X->L->cfg.felif.v_init;
        p[q] = (bruno_real)(X->L->cfg.felif.p_init / X->L->cfg.felif.P_s) * Ps[q % X->n];
    }
}

static int bruno__felif_seq(const bruno_net_config *c, int train)
{
    return train && c->trainer == BRUNO_TRAINER_CHECKPOINT && c->schedule == BRUNO_SCHEDULE_SEQUENCE;
}

/* The work items of a layer: contiguous neuron ranges, one per thread.
   Every neuron's arithmetic is the same whichever item holds it, so the
   results do not depend on the number of threads. */
static size_t bruno__n_items(const bruno_net *net, size_t BN)
{
    size_t t = net->cfg.threads ? net->cfg.threads : 1;
    if (t > BN) t = BN;
    return t ? t : 1;
}

static void bruno__item_range(size_t BN, size_t items, size_t it, size_t *q0, size_t *q1)
{
    *q0 = BN * it / items;
    *q1 = BN * (it + 1) / items;
}

static void bruno__felif_forward_item(bruno_net *net, bruno_layer *L, const bruno_real *u, size_t T, size_t B,
                                      int train, size_t q0, size_t q1)
{
    bruno__felif_ctx X;
    size_t k, q, BN;
    int bptt = train && net->cfg.trainer == BRUNO_TRAINER_BPTT;
    int keep_taken = train && (bptt || net->cfg.trainer == BRUNO_TRAINER_CHECKPOINT);
    bruno__felif_ctx_init(&X, net, L, T, B, q0, q1);
    X.u = u;
    BN = X.BN;
    if (bruno__felif_seq(&net->cfg, train)) {
        /* keep nothing but the outputs; the backward pass recomputes */
        bruno_real *v = bruno__slot(&X, 0), *p = v + BN;
        bruno__felif_init_state(&X, v, p);
        for (k = 0; k < T; ++k) {
            bruno__cpy(&X, X.wv, v);
            bruno__felif_step_fwd(&X, k, v, p, X.wv, L->taken, NULL);
            for (q = q0; q < q1; ++q) L->out[k * BN + q] = bruno__spike(&L->cfg, v[q] - X.V_thr);
        }
        return;
    }
    bruno__felif_init_state(&X, L->st_a, L->st_b);
    for (k = 0; k < T; ++k) {
        bruno_real *v0 = L->st_a + k * BN, *v1 = v0 + BN, *p1 = L->st_b + (k + 1) * BN;
        uint32_t *tk = keep_taken ? L->taken + k * BN : L->taken; /* one step's worth when not kept */
        bruno__cpy(&X, v1, v0);
        bruno__cpy(&X, p1, L->st_b + k * BN);
        bruno__felif_step_fwd(&X, k, v1, p1, v0, tk, bptt ? L->fine + k * (size_t)X.N * 2 * BN : NULL);
        for (q = q0; q < q1; ++q) L->out[k * BN + q] = bruno__spike(&L->cfg, v1[q] - X.V_thr);
    }
}

static void bruno__felif_backward_item(bruno_net *net, bruno_layer *L, const bruno_real *u, const bruno_real *dy,
                                       bruno_real *du, size_t T, size_t B, size_t q0, size_t q1)
{
    bruno__felif_ctx X;
    size_t k, q, BN;
    bruno__felif_ctx_init(&X, net, L, T, B, q0, q1);
    X.u = u;
    X.dy = dy;
    X.du = du;
    BN = X.BN;
    for (q = q0; q < q1; ++q) X.gv[q] = X.gp[q] = 0;
    if (bruno__felif_seq(&net->cfg, 1)) {
        bruno__seq_ctx S;
        bruno__rev R;
        size_t s = net->cfg.checkpoints < T ? net->cfg.checkpoints : T;
        S.X = &X;
        S.n_slots = s;
        X.taken = L->taken;
        X.fine = L->fine + (s + 2) * 2 * BN;
        bruno__felif_init_state(&X, bruno__slot(&X, 0), bruno__slot(&X, 0) + BN);
        R.ctx = &S;
        R.work = (int)s;
        R.advance = bruno__seq_advance;
        R.adjoint = bruno__seq_adjoint;
        bruno__revolve(&R, 0, T, 0, 1, s);
        return;
    }
    for (k = T; k-- > 0;) {
        const bruno_real *v0 = L->st_a + k * BN, *p0 = L->st_b + k * BN;
        bruno__felif_adj_begin(&X, k, v0, v0 + BN);
        switch (net->cfg.trainer) {
        case BRUNO_TRAINER_BPTT:
            X.taken = L->taken + k * BN;
            bruno__felif_adj_stored(&X, L->fine + k * (size_t)X.N * 2 * BN);
            break;
        case BRUNO_TRAINER_CHECKPOINT:
            X.taken = L->taken + k * BN;
            bruno__felif_adj_checkpoint(&X, v0, p0);
            break;
        default:
            /* BRUNO and coarse-only: the gradient of ONE coarse Euler step of
               length dt from the window's start (MODELS §3); with N = 1 this
               is exactly the BPTT step */
            for (q = q0; q < q1; ++q) X.gI[q] = 0;
            bruno__felif_adj_step(&X, v0, p0, NULL, 0, (bruno_real)net->cfg.dt);
            break;
        }
        bruno__felif_adj_end(&X, k);
    }
}

static void bruno__felif_forward(bruno_net *net, bruno_layer *L, const bruno_real *u, size_t T, size_t B, int train)
{
    size_t BN = B * L->n_out, items = bruno__n_items(net, BN);
    long it;
#ifdef _OPENMP
#pragma omp parallel for num_threads((int)items) schedule(static, 1) if (items > 1)
#endif
    for (it = 0; it < (long)items; ++it) {
        size_t q0, q1;
        bruno__item_range(BN, items, (size_t)it, &q0, &q1);
        bruno__felif_forward_item(net, L, u, T, B, train, q0, q1);
    }
}

static void bruno__felif_backward(bruno_net *net, bruno_layer *L, const bruno_real *u, const bruno_real *dy,
                                  bruno_real *du, size_t T, size_t B)
{
    size_t BN = B * L->n_out, items = bruno__n_items(net, BN);
    long it;
#ifdef _OPENMP
#pragma omp parallel for num_threads((int)items) schedule(static, 1) if (items > 1)
#endif
    for (it = 0; it < (long)items; ++it) {
        size_t q0, q1;
        bruno__item_range(BN, items, (size_t)it, &q0, &q1);
        bruno__felif_backward_item(net, L, u, dy, du, T, B, q0, q1);
    }
}

/* ---- the network ------------------------------------------------------------ */
static bruno_result bruno__layer_forward(bruno_net *net, bruno_layer *L, const bruno_real *x, size_t T, size_t B,
                                         int train)
{
    size_t R = T * B, r, c;
    bruno_result res = BRUNO_OK;
    switch (L->cfg.kind) {
    case BRUNO_LAYER_ENCODE:
        for (r = 0; r < R; ++r)
            for (c = 0; c < L->n_out; ++c)
                L->out[r * L->n_out + c] = L->gain[c] * (x[r * L->n_in + c % L->n_in] + L->b[c]);
        break;
    case BRUNO_LAYER_DENSE: {
        const bruno_real *W = bruno__weights(net, L, &res);
        if (res != BRUNO_OK) return res;
        for (r = 0; r < R; ++r) {
            bruno_real *y = L->out + r * L->n_out;
            bruno__matvec(W, x + r * L->n_in, y, L->n_out, L->n_in, 0);
            if (L->b)
                for (c = 0; c < L->n_out; ++c) y[c] += L->b[c];
        }
        break;
    }
    case BRUNO_LAYER_LIF:
    case BRUNO_LAYER_RLIF: res = bruno__lif_forward(net, L, x, T, B); break;
    case BRUNO_LAYER_SNU: res = bruno__snu_forward(net, L, x, T, B); break;
    case BRUNO_LAYER_FELIF: bruno__felif_forward(net, L, x, T, B, train); break;
    }
    return res;
}

static void bruno__layer_backward(bruno_net *net, bruno_layer *L, const bruno_real *x, const bruno_real *dy,
                                  bruno_real *dx, size_t T, size_t B)
{
    size_t R = T * B, r, c;
    switch (L->cfg.kind) {
    case BRUNO_LAYER_ENCODE:
        if (dx) memset(dx, 0, R * L->n_in * sizeof *dx);
        for (r = 0; r < R; ++r)
            for (c = 0; c < L->n_out; ++c) {
                bruno_real d = dy[r * L->n_out + c], xi = x[r * L->n_in + c % L->n_in];
                L->ggain[c] += d * (xi + L->b[c]);
                L->gb[c] += d * L->gain[c];
                if (dx) dx[r * L->n_in + c % L->n_in] += d * L->gain[c];
            }
        break;
    case BRUNO_LAYER_DENSE: {
        const bruno_real *W = L->Wq ? L->Wq : L->W;
        if (dx) memset(dx, 0, R * L->n_in * sizeof *dx);
        for (r = 0; r < R; ++r) {
            const bruno_real *d = dy + r * L->n_out;
            bruno__matvec_back(W, x + r * L->n_in, d, dx ? dx + r * L->n_in : NULL, L->gW, L->n_out, L->n_in);
            if (L->b)
                for (c = 0; c < L->n_out; ++c) L->gb[c] += d[c];
        }
        break;
    }
    case BRUNO_LAYER_LIF:
    case BRUNO_LAYER_RLIF: bruno__lif_backward(L, x, dy, dx, T, B); break;
    case BRUNO_LAYER_SNU: bruno__snu_backward(L, dy, dx, T, B); break;
    case BRUNO_LAYER_FELIF: bruno__felif_backward(net, L, x, dy, dx, T, B); break;
    }
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
        if ((r = bruno__layer_forward(net, net->layers[l], in, T, batch, train)) != BRUNO_OK) return r;
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
    if (!net->has_forward) return BRUNO_ERR_STATE;
    T = net->ws_T;
    B = net->ws_batch;
    if ((r = bruno__check_finite_array(dy, T * B * bruno_net_n_out(net))) != BRUNO_OK) return r;
    g = dy;
    for (l = net->n_layers; l-- > 0;) {
        bruno_layer *L = net->layers[l];
        bruno_real *dx = l ? (g == net->grad_a ? net->grad_b : net->grad_a) : NULL;
        bruno__layer_backward(net, L, l ? net->layers[l - 1]->out : net->x, g, dx, T, B);
        g = dx;
    }
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
    for (b = 0; b < B; ++b) {
        double mx = -1e300, z = 0, cnt_best = -1e300;
        size_t best = 0;
        /* counts: sum over time; softmax in double for a stable log-sum-exp */
        double cnt[1024], *cp = cnt;
        double *heap = NULL;
        if (C > 1024) {
            heap = (double *)malloc(C * sizeof *heap);
            if (!heap) return BRUNO_ERR_NOMEM;
            cp = heap;
        }
        for (c = 0; c < C; ++c) {
            double s = 0;
            for (t = 0; t < T; ++t) s += (double)y[(t * B + b) * C + c];
            cp[c] = s;
            if (s > mx) mx = s;
            if (s > cnt_best) { cnt_best = s; best = c; }
        }
        for (c = 0; c < C; ++c) z += exp(cp[c] - mx);
        total += -(cp[labels[b]] - mx - log(z));
        if (best == (size_t)labels[b]) ++correct;
        if (dy)
            for (c = 0; c < C; ++c) {
                double g = (exp(cp[c] - mx) / z - (c == (size_t)labels[b] ? 1.0 : 0.0)) / (double)B;
                for (t = 0; t < T; ++t) dy[(t * B + b) * C + c] = (bruno_real)g;
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

BRUNO_API bruno_result bruno_optim_init(bruno_optim *opt, const bruno_optim_config *cfg, const bruno_net *net)
{
    if (!opt || !cfg || !net) return BRUNO_ERR_ARG;
    memset(opt, 0, sizeof *opt);
    if ((unsigned)cfg->kind > BRUNO_OPTIM_ADAMAX) return BRUNO_ERR_ARG;
    if (!bruno__finite(cfg->lr) || cfg->lr <= 0 || !(cfg->beta1 >= 0 && cfg->beta1 < 1) ||
        !(cfg->beta2 >= 0 && cfg->beta2 < 1) || !(cfg->eps >= 0) || !bruno__finite(cfg->eps))
        return BRUNO_ERR_PARAM;
    opt->cfg = *cfg;
    if (!opt->cfg.allocator.alloc || !opt->cfg.allocator.free) opt->cfg.allocator = bruno_allocator_default();
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
