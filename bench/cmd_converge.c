/* cmd_converge.c - `bruno-bench converge`: how far the FeLIF Euler scheme
   at fine step h = dt/N is from a much finer reference integration of the
   same ODE (MODELS §2; EXPERIMENTS E4 "convergence of the model").

   Two measurements, each at every N of --n-fine-list:

   1. Trajectory (default 308 pA for 40 ms, which stays below V_thr = 2.5 V;
      the first spike at 308 pA is after step 41): the plain ODE from
      (v_init, p_init), Euler steps with the clips of MODELS §2 and WITHOUT
      the threshold freeze and reset, which would make trajectories
      discontinuous. v and p are compared with the reference every dt/10
      (100 us): max |dv|, max |dp|, rms.
   2. Spike times (default 1 nA for 40 ms, the MODELS §2 check case): the
      full network-step semantics (fine pass with freeze at V_thr, reset
      where the previous step spiked). A spike's time is the end of the
      first fine step with v >= V_thr (k*dt + steps_taken*h, which is when
      the library freezes); the error is the largest |t - t_ref| over
      spikes matched in order.

   Integrators (the column `impl`):
   - lib_float or lib_double (after bruno_real):
                bruno_felif_euler / bruno_felif_fine_pass of bruno.h, in the
                compiled bruno_real (float unless BRUNO_REAL_DOUBLE).
   - euler_d:   the same explicit Euler + clip, written out below in double.
   - reference: classical RK4 (or Euler with --ref euler) in double at
                h_ref = dt/--ref-n (1 ns), clipping after each step like the
                Euler scheme. Row `rk4_check` repeats it at 2*h_ref; its
                distance to the reference bounds the reference's own error.
   The double evaluation of MODELS §2 below (felif_d_*) is checked against
   bruno_felif_euler at start-up; the command stops if they disagree. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- MODELS §2 in double ------------------------------------------------- */
typedef struct felif_d {
    double A, P_s, E_a, alpha, E_soft, inv_tau_0, I0A, inv_V_t, I_dsc, inv_C_tot, k_v, k_p, v_clip;
    double V_thr, v_reset, p_reset;
} felif_d;

static felif_d felif_d_make(const bruno_felif_params *p)
{
    felif_d c;
    double den = p->t_fe * p->eps_i + p->t_i * p->eps_fe;
    c.A = p->A;
    c.P_s = p->P_s;
    c.E_a = p->E_a;
    c.alpha = p->alpha;
    c.E_soft = p->E_soft;
    c.inv_tau_0 = 1.0 / p->tau_0;
    c.I0A = p->I_0 * p->A;
    c.inv_V_t = 1.0 / p->V_t;
    c.I_dsc = p->I_dsc;
    c.inv_C_tot = 1.0 / (BRUNO_EPS0 * p->eps_fe * p->A / p->t_fe + p->C_par);
    c.k_v = p->eps_i / den;
    c.k_p = p->t_i / (BRUNO_EPS0 * den);
    c.v_clip = p->v_clip;
    c.V_thr = p->V_thr;
    c.v_reset = p->v_reset;
    c.p_reset = p->p_reset;
    return c;
}

static double sgn(double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); }

/* dv/dt and dp/dt at (v, p) with current I (MODELS §2). */
static void felif_d_rhs(const felif_d *c, double v, double p, double I, double *dv, double *dp)
{
    double E = c->k_v * v - c->k_p * p;
    double X = pow(c->E_a / (fabs(E) + c->E_soft), c->alpha);
    double r = X > 745.0 ? 0.0 : exp(-X) * c->inv_tau_0;
    double I_p = (sgn(E) * c->P_s - p) * c->A * r;
    double I_leak = sgn(v) * (c->I0A * expm1(v * c->inv_V_t) + c->I_dsc);
    *dp = I_p / c->A;
    *dv = (I - I_leak - I_p) * c->inv_C_tot;
}

static void felif_d_clip(const felif_d *c, double *v, double *p)
{
    if (*p > c->P_s) *p = c->P_s;
    else if (*p < -c->P_s) *p = -c->P_s;
    if (*v > c->v_clip) *v = c->v_clip;
    else if (*v < -c->v_clip) *v = -c->v_clip;
}

/* ---- the integrators compared ----------------------------------------------- */
enum { IMPL_LIB, IMPL_EULER_D, IMPL_RK4_D };

typedef struct integ {
    int impl;
    const felif_d *cd;
    const bruno_felif_consts *cl; /* for IMPL_LIB */
} integ;

static void step(const integ *g, double *v, double *p, double I, double h)
{
    const felif_d *c = g->cd;
    if (g->impl == IMPL_LIB) {
        bruno_real vo, po;
        bruno_felif_euler(g->cl, (bruno_real)*v, (bruno_real)*p, (bruno_real)I, (bruno_real)h, &vo, &po);
        *v = vo;
        *p = po;
    } else if (g->impl == IMPL_EULER_D) {
        double dv, dp;
        felif_d_rhs(c, *v, *p, I, &dv, &dp);
        *v += h * dv;
        *p += h * dp;
        felif_d_clip(c, v, p);
    } else {
        double k1v, k1p, k2v, k2p, k3v, k3p, k4v, k4p;
        felif_d_rhs(c, *v, *p, I, &k1v, &k1p);
        felif_d_rhs(c, *v + 0.5 * h * k1v, *p + 0.5 * h * k1p, I, &k2v, &k2p);
        felif_d_rhs(c, *v + 0.5 * h * k2v, *p + 0.5 * h * k2p, I, &k3v, &k3p);
        felif_d_rhs(c, *v + h * k3v, *p + h * k3p, I, &k4v, &k4p);
        *v += h / 6 * (k1v + 2 * k2v + 2 * k3v + k4v);
        *p += h / 6 * (k1p + 2 * k2p + 2 * k3p + k4p);
        felif_d_clip(c, v, p);
    }
}

/* Measurement 1: free trajectory, sampled every dt/10; n_fine % 10 == 0. */
static void run_free(const integ *g, uint64_t n_fine, double dt, double I, size_t n_samples, double v0, double p0,
                     double *vs, double *ps)
{
    double h = dt / (double)n_fine, v = v0, p = p0;
    uint64_t per = n_fine / 10, i;
    size_t k;
    vs[0] = v;
    ps[0] = p;
    for (k = 1; k < n_samples; ++k) {
        for (i = 0; i < per; ++i) step(g, &v, &p, I, h);
        vs[k] = v;
        ps[k] = p;
    }
}

/* Measurement 2: network steps with freeze and reset (MODELS §2, "One
   network step"); writes crossing times, returns how many (at most max). */
static size_t run_spikes(const integ *g, uint64_t n_fine, double dt, double I, uint64_t n_steps, double v0,
                         double p0, double *t_spk, size_t max)
{
    double h = dt / (double)n_fine, v = v0, p = p0;
    const felif_d *c = g->cd;
    size_t n = 0;
    uint64_t k, i;
    int s = 0;
    for (k = 0; k < n_steps; ++k) {
        if (g->impl == IMPL_LIB) {
            /* the library's own fine pass */
            bruno_real vv = (bruno_real)v, pp = (bruno_real)p;
            i = bruno_felif_fine_pass(g->cl, (bruno_real)c->V_thr, &vv, &pp, (bruno_real)I, (bruno_real)h,
                                      (uint32_t)n_fine);
            v = vv;
            p = pp;
            if (s) { v = (bruno_real)c->v_reset; p = (bruno_real)c->p_reset; }
            s = v >= (double)(bruno_real)c->V_thr;
        } else {
            for (i = 0; i < n_fine;) {
                step(g, &v, &p, I, h);
                ++i;
                if (v >= c->V_thr) break;
            }
            if (s) { v = c->v_reset; p = c->p_reset; }
            s = v >= c->V_thr;
        }
        if (s && n < max) t_spk[n++] = (double)k * dt + (double)i * h;
    }
    return n;
}

/* The double equations above must be those of bruno.h: one Euler step from
   a few states (rate active and not, both signs) must agree to the
   precision of bruno_real. */
static int check_equations(const felif_d *cd, const bruno_felif_consts *cl)
{
    static const double st[][4] = {{0.0, -0.22, 308e-12, 1e-6}, {1.5, 0.0, 1e-9, 1e-6}, {-1.5, 0.05, -1e-9, 1e-6},
                                   {2.4, 0.21, 1e-9, 1e-7}, {0.15, -0.22, 1e-9, 1e-3}};
    double tol = BRUNO_REAL_IS_DOUBLE ? 1e-12 : 1e-5;
    size_t k;
    for (k = 0; k < sizeof st / sizeof st[0]; ++k) {
        integ gl = {IMPL_LIB, cd, cl}, gd = {IMPL_EULER_D, cd, cl};
        double vl = st[k][0], pl = st[k][1], vd = vl, pd = pl;
        step(&gl, &vl, &pl, st[k][2], st[k][3]);
        step(&gd, &vd, &pd, st[k][2], st[k][3]);
        if (fabs(vl - vd) > tol * (1 + fabs(vd)) || fabs(pl - pd) > tol * (cd->P_s + fabs(pd))) {
            fprintf(stderr, "bruno-bench converge: the double equations disagree with bruno_felif_euler at state %zu "
                            "(v %.9g vs %.9g, p %.9g vs %.9g)\n", k, vl, vd, pl, pd);
            return -1;
        }
    }
    return 0;
}

static int parse_list(const char *s, uint64_t *out, int max)
{
    char item[32];
    int n = 0, k;
    uint64_t u;
    while ((k = bench_list_next(&s, item, sizeof item)) > 0) {
        if (n == max || bench_parse_u64(item, UINT32_MAX, &u) != 0 || u == 0 || u % 10 != 0) return -1;
        out[n++] = u;
    }
    return k < 0 ? -1 : n;
}

#define MAX_N 32
#define MAX_SPIKES 4096

int bench_cmd_converge(int argc, char **argv)
{
    const char *list = "10,30,100,300,1000,3000,10000,30000,100000", *ref = "rk4";
    const char *out_path = NULL, *traj_path = NULL, *spk_path = NULL;
    double current = 308e-12, duration = 0.04, spike_current = 1e-9, spike_duration = 0.04, dt = 1e-3;
    uint64_t ref_n = 1000000, ns[MAX_N];
    int help = 0, rc, n_ns, a, m;
    bench_opt opts[] = {
        {"current", BENCH_OPT_DOUBLE, &current, "trajectory: constant current in A (default 308e-12)", 0},
        {"duration", BENCH_OPT_DOUBLE, &duration, "trajectory: simulated time in s (default 0.04)", 0},
        {"spike-current", BENCH_OPT_DOUBLE, &spike_current, "spike times: constant current in A (default 1e-9)", 0},
        {"spike-duration", BENCH_OPT_DOUBLE, &spike_duration, "spike times: simulated time in s (default 0.04)", 0},
        {"dt", BENCH_OPT_DOUBLE, &dt, "network step in s (default 1e-3); h = dt/N", 0},
        {"n-fine-list", BENCH_OPT_STRING, &list,
         "comma-separated N (fine steps per dt), each a multiple of 10 (default 10,30,...,100000: h = 100 us ... 10 ns)", 0},
        {"ref", BENCH_OPT_STRING, &ref, "reference integrator in double: rk4 (default) or euler", 0},
        {"ref-n", BENCH_OPT_U64, &ref_n, "reference steps per dt, a multiple of 20 (default 1000000: h_ref = 1 ns)", 0},
        {"out", BENCH_OPT_STRING, &out_path,
         "summary CSV impl,n_fine,h,max_abs_dv,max_abs_dp,rms_dv,rms_dp,spikes,spikes_ref,max_abs_dt_spike,\n"
         "      current,duration,spike_current,spike_duration (default stdout)", 0},
        {"traj-out", BENCH_OPT_STRING, &traj_path, "also write the trajectories: impl,n_fine,h,t,v,p,v_ref,p_ref", 0},
        {"spikes-out", BENCH_OPT_STRING, &spk_path, "also write the spike times: impl,n_fine,h,index,t,t_ref", 0},
    };
    int n_opts = (int)(sizeof opts / sizeof opts[0]);
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_consts cl;
    felif_d cd;
    integ gref;
    size_t n_samples, n_spk_ref, k;
    uint64_t n_spike_steps;
    double *v_ref = NULL, *p_ref = NULL, *vs = NULL, *ps = NULL, *t_ref = NULL, *t_spk = NULL;
    bench_out out, traj, spk;
    int traj_open = 0, spk_open = 0, out_open = 0;
    bruno_result r;

    rc = bench_opts_parse("converge",
                          "Error of the FeLIF Euler scheme at h = dt/N against a fine double-precision reference\n"
                          "(free trajectory without threshold, and spike times with freeze and reset).",
                          opts, n_opts, argc, argv, &help);
    if (rc || help) return rc;
    n_ns = parse_list(list, ns, MAX_N);
    if (n_ns <= 0) {
        fprintf(stderr, "bruno-bench converge: --n-fine-list needs up to %d positive multiples of 10, got '%s'\n", MAX_N, list);
        return BENCH_EXIT_USAGE;
    }
    if (strcmp(ref, "rk4") != 0 && strcmp(ref, "euler") != 0) {
        fprintf(stderr, "bruno-bench converge: --ref must be rk4 or euler, got '%s'\n", ref);
        return BENCH_EXIT_USAGE;
    }
    if (ref_n == 0 || ref_n % 20 != 0 || ref_n > UINT32_MAX) {
        fprintf(stderr, "bruno-bench converge: --ref-n must be a positive multiple of 20 below 2^32\n");
        return BENCH_EXIT_USAGE;
    }
    if ((r = bruno_check_time(dt, (uint32_t)ref_n)) != BRUNO_OK) {
        fprintf(stderr, "bruno-bench converge: %s\n", bruno_result_string(r));
        return BENCH_EXIT_USAGE;
    }
    if (!(duration >= dt / 10) || !(spike_duration >= dt) || duration / dt > 1e5 || spike_duration / dt > 1e5) {
        fprintf(stderr, "bruno-bench converge: --duration must be >= dt/10, --spike-duration >= dt, both <= 1e5*dt\n");
        return BENCH_EXIT_USAGE;
    }
    if (fabs(current) > 1e-3 || fabs(spike_current) > 1e-3) {
        fprintf(stderr, "bruno-bench converge: currents must be at most 1 mA in magnitude\n");
        return BENCH_EXIT_USAGE;
    }
    {
        const char *paths[3], *names[3] = {"out", "traj-out", "spikes-out"};
        paths[0] = out_path ? out_path : "-";
        paths[1] = traj_path;
        paths[2] = spk_path;
        if (bench_outputs_distinct("converge", paths, names, 3) != 0) return BENCH_EXIT_USAGE;
    }
    cl = bruno_felif_derive(&fp);
    cd = felif_d_make(&fp);
    if (check_equations(&cd, &cl) != 0) return BENCH_EXIT_FAIL;

    n_samples = (size_t)(duration / dt * 10 + 0.5) + 1;
    n_spike_steps = (uint64_t)(spike_duration / dt + 0.5);
    v_ref = (double *)malloc(n_samples * sizeof *v_ref);
    p_ref = (double *)malloc(n_samples * sizeof *p_ref);
    vs = (double *)malloc(n_samples * sizeof *vs);
    ps = (double *)malloc(n_samples * sizeof *ps);
    t_ref = (double *)malloc(MAX_SPIKES * sizeof *t_ref);
    t_spk = (double *)malloc(MAX_SPIKES * sizeof *t_spk);
    if (!v_ref || !p_ref || !vs || !ps || !t_ref || !t_spk) {
        fprintf(stderr, "bruno-bench converge: out of memory\n");
        rc = BENCH_EXIT_FAIL;
        goto done;
    }

    /* the reference */
    gref.impl = strcmp(ref, "rk4") == 0 ? IMPL_RK4_D : IMPL_EULER_D;
    gref.cd = &cd;
    gref.cl = &cl;
    run_free(&gref, ref_n, dt, current, n_samples, fp.v_init, fp.p_init, v_ref, p_ref);
    n_spk_ref = run_spikes(&gref, ref_n, dt, spike_current, n_spike_steps, fp.v_init, fp.p_init, t_ref, MAX_SPIKES);

    if (bench_out_open(&out, out_path) != 0) { rc = BENCH_EXIT_FAIL; goto done; }
    out_open = 1;
    if (traj_path) {
        if (bench_out_open(&traj, traj_path) != 0) { rc = BENCH_EXIT_FAIL; goto done; }
        traj_open = 1;
        fprintf(traj.f, "impl,n_fine,h,t,v,p,v_ref,p_ref\n");
        for (k = 0; k < n_samples; ++k)
            fprintf(traj.f, "reference,%llu,%.6g,%.9g,%.12g,%.12g,%.12g,%.12g\n", (unsigned long long)ref_n,
                    dt / (double)ref_n, (double)k * dt / 10, v_ref[k], p_ref[k], v_ref[k], p_ref[k]);
    }
    if (spk_path) {
        if (bench_out_open(&spk, spk_path) != 0) { rc = BENCH_EXIT_FAIL; goto done; }
        spk_open = 1;
        fprintf(spk.f, "impl,n_fine,h,index,t,t_ref\n");
    }
    fprintf(out.f, "impl,n_fine,h,max_abs_dv,max_abs_dp,rms_dv,rms_dp,spikes,spikes_ref,max_abs_dt_spike,"
                   "current,duration,spike_current,spike_duration\n");
    /* rows: lib at every N, euler_d at every N, then the reference's
       self-check (grouped, so that a plot can draw each as one line) */
    for (m = 0; m < 2 * n_ns + 1; ++m) {
        integ g;
        uint64_t N;
        const char *name;
        double mdv = 0, mdp = 0, sdv = 0, sdp = 0, mdt = 0;
        size_t n_spk, j;
        g.cd = &cd;
        g.cl = &cl;
        if (m < 2 * n_ns) {
            a = m % n_ns;
            N = ns[a];
            g.impl = m < n_ns ? IMPL_LIB : IMPL_EULER_D;
            name = m < n_ns ? (BRUNO_REAL_IS_DOUBLE ? "lib_double" : "lib_float") : "euler_d";
        } else {
            N = ref_n / 2;
            g.impl = gref.impl;
            name = gref.impl == IMPL_RK4_D ? "rk4_check" : "euler_check";
        }
        run_free(&g, N, dt, current, n_samples, fp.v_init, fp.p_init, vs, ps);
        for (k = 0; k < n_samples; ++k) {
            double dv = fabs(vs[k] - v_ref[k]), dp = fabs(ps[k] - p_ref[k]);
            if (dv > mdv) mdv = dv;
            if (dp > mdp) mdp = dp;
            sdv += dv * dv;
            sdp += dp * dp;
            if (traj_open)
                fprintf(traj.f, "%s,%llu,%.6g,%.9g,%.12g,%.12g,%.12g,%.12g\n", name, (unsigned long long)N,
                        dt / (double)N, (double)k * dt / 10, vs[k], ps[k], v_ref[k], p_ref[k]);
        }
        n_spk = run_spikes(&g, N, dt, spike_current, n_spike_steps, fp.v_init, fp.p_init, t_spk, MAX_SPIKES);
        for (j = 0; j < n_spk && j < n_spk_ref; ++j) {
            double e = fabs(t_spk[j] - t_ref[j]);
            if (e > mdt) mdt = e;
        }
        if (spk_open)
            for (j = 0; j < n_spk || j < n_spk_ref; ++j) {
                fprintf(spk.f, "%s,%llu,%.6g,%zu,", name, (unsigned long long)N, dt / (double)N, j);
                if (j < n_spk) fprintf(spk.f, "%.9g,", t_spk[j]); else fprintf(spk.f, ",");
                if (j < n_spk_ref) fprintf(spk.f, "%.9g\n", t_ref[j]); else fprintf(spk.f, "\n");
            }
        /* a spike count that differs from the reference is shown by the
           counts; the time error covers the spikes matched in order */
        fprintf(out.f, "%s,%llu,%.6g,%.6g,%.6g,%.6g,%.6g,%zu,%zu,", name, (unsigned long long)N, dt / (double)N, mdv, mdp,
                sqrt(sdv / (double)n_samples), sqrt(sdp / (double)n_samples), n_spk, n_spk_ref);
        if (n_spk && n_spk_ref) fprintf(out.f, "%.6g", mdt);
        fprintf(out.f, ",%.6g,%.6g,%.6g,%.6g\n", current, duration, spike_current, spike_duration);
    }
    rc = BENCH_EXIT_OK;
    if (traj_open) { traj_open = 0; if (bench_out_commit(&traj) != 0) rc = BENCH_EXIT_FAIL; }
    if (spk_open) { spk_open = 0; if (bench_out_commit(&spk) != 0) rc = BENCH_EXIT_FAIL; }
    out_open = 0;
    if (bench_out_commit(&out) != 0) rc = BENCH_EXIT_FAIL;
done:
    if (traj_open) bench_out_abort(&traj);
    if (spk_open) bench_out_abort(&spk);
    if (out_open) bench_out_abort(&out);
    free(v_ref); free(p_ref); free(vs); free(ps); free(t_ref); free(t_spk);
    return rc;
}
