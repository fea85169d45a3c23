/* test_felif.c - the FeLIF neuron (MODELS §2) and the Jacobian of its
   Euler step used by BRUNO's coarse step (MODELS §3). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include "bruno.h"
#include "test_util.h"

/* Spike steps for a constant current, MODELS §2 check table. */
static int spikes_for(double I_amps, int *steps, int max)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_pop_config pc = bruno_felif_pop_config_default(&fp, 1);
    bruno_felif_pop pop;
    bruno_real v = 0, p = (bruno_real)-fp.P_s, s = 0, I = (bruno_real)I_amps;
    int k, n = 0;
    cr_assert_eq(bruno_felif_pop_init(&pop, &pc), BRUNO_OK);
    for (k = 0; k < 40; ++k) {
        cr_assert_eq(bruno_felif_network_step(&pop, 1, &I, &v, &p, &s, 1e-3, 1000), BRUNO_OK);
        if (s > 0 && n < max) steps[n++] = k;
    }
    bruno_felif_pop_free(&pop);
    return n;
}

Test(felif, check_values_match_models_table)
{
    int st[16], n;
    n = spikes_for(0.2e-9, st, 16);
    cr_expect_eq(n, 0);
    n = spikes_for(0.5e-9, st, 16);
    cr_assert_eq(n, 1);
    cr_expect_eq(st[0], 25);
    n = spikes_for(1.0e-9, st, 16);
    cr_assert_eq(n, 2);
    cr_expect_eq(st[0], 12);
    cr_expect_eq(st[1], 27);
    n = spikes_for(2.0e-9, st, 16);
    cr_assert_eq(n, 5);
    cr_expect_eq(st[0], 6);
    cr_expect_eq(st[1], 14);
    cr_expect_eq(st[2], 22);
    cr_expect_eq(st[3], 30);
    cr_expect_eq(st[4], 38);
}

Test(felif, default_params_are_the_models_table_and_valid)
{
    bruno_felif_params fp = bruno_felif_params_default();
    /* C_tot ~ 0.573 pF (MODELS §2, "Derived") */
    cr_expect(fabs(bruno_felif_c_tot(&fp) - 0.573e-12) < 0.001e-12, "C_tot = %g", bruno_felif_c_tot(&fp));
    cr_expect_eq(fp.p_reset, -fp.P_s);
    cr_expect_eq(fp.p_init, -fp.P_s);
    cr_expect_eq(fp.v_reset, -1.5);
    cr_expect_eq(bruno_felif_params_validate(&fp), BRUNO_OK);
    bruno_felif_params_use_legacy_reset(&fp);
    cr_expect_eq(fp.p_reset, -0.1478602);
    cr_expect_eq(fp.p_init, 0.1478602);
    cr_expect_eq(bruno_felif_params_validate(&fp), BRUNO_OK);
}

Test(felif, euler_step_clips_v_and_p_and_reports_which)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_consts c = bruno_felif_derive(&fp);
    bruno_real vo, po;
    int f;
    /* a huge current drives v past +5 V in one step; at v = -2 V the field
       is negative, so p = -P_s does not move and stays on its bound, which
       counts as clipped too (its derivative is 0 from inside the range) */
    f = bruno_felif_euler(&c, -2, (bruno_real)-0.22, (bruno_real)1e-3, (bruno_real)1e-8, &vo, &po);
    cr_expect_eq(f, 3);
    cr_expect_eq(vo, c.v_clip);
    cr_expect_eq(po, -c.P_s);
    f = bruno_felif_euler(&c, -2, (bruno_real)-0.22, (bruno_real)-1e-3, (bruno_real)1e-8, &vo, &po);
    cr_expect_eq(f, 3);
    cr_expect_eq(vo, -c.v_clip);
    /* inside the bound, only v clips */
    f = bruno_felif_euler(&c, 0, (bruno_real)-0.2, (bruno_real)1e-3, (bruno_real)1e-8, &vo, &po);
    cr_expect_eq(f, 1);
    /* strong positive field at p just below +P_s: the switching overshoots */
    f = bruno_felif_euler(&c, 3, (bruno_real)0.219, (bruno_real)1e-9, (bruno_real)1e-6, &vo, &po);
    cr_expect_eq(f, 2);
    cr_expect_eq(po, c.P_s);
    cr_expect(vo > -c.v_clip && vo < c.v_clip);
}

Test(felif, zero_field_gives_zero_rate)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_consts c = bruno_felif_derive(&fp);
    bruno_real dr = 1;
    cr_expect_eq(bruno_felif_rate(&c, 0, &dr), 0);
    cr_expect_eq(dr, 0);
    /* and the rate is even in E, r' odd */
    {
        bruno_real d1, d2, r1 = bruno_felif_rate(&c, (bruno_real)1.2e8, &d1);
        bruno_real r2 = bruno_felif_rate(&c, (bruno_real)-1.2e8, &d2);
        cr_expect(r1 > 0);
        cr_expect_eq(r1, r2);
        cr_expect_eq(d1, -d2);
    }
}

Test(felif, fine_pass_freezes_after_crossing_threshold)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_consts c = bruno_felif_derive(&fp);
    bruno_real v = 2.4f, p = (bruno_real)-0.22, I = (bruno_real)2e-9, h = (bruno_real)1e-6;
    bruno_real vr = v, pr = p, V_thr = (bruno_real)fp.V_thr;
    uint32_t k, taken = bruno_felif_fine_pass(&c, V_thr, &v, &p, I, h, 1000);
    cr_assert(taken >= 1 && taken < 1000, "taken = %u", (unsigned)taken);
    /* the state is exactly that after `taken` plain Euler steps, the first
       to reach V_thr, and nothing afterwards changed it */
    for (k = 0; k < taken; ++k) {
        if (k > 0) cr_assert(vr < V_thr);
        bruno_felif_euler(&c, vr, pr, I, h, &vr, &pr);
    }
    cr_expect(vr >= V_thr);
    cr_expect_eq(v, vr);
    cr_expect_eq(p, pr);
    /* below threshold all steps are taken */
    v = 0; p = (bruno_real)-0.22;
    cr_expect_eq(bruno_felif_fine_pass(&c, V_thr, &v, &p, (bruno_real)1e-10, h, 1000), 1000u);
}

Test(felif, network_step_resets_after_a_spike_and_spikes_at_threshold)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_pop_config pc = bruno_felif_pop_config_default(&fp, 1);
    bruno_felif_pop pop;
    bruno_real v = 2.4f, p = (bruno_real)-0.22, s = 0, I = (bruno_real)2e-9;
    cr_assert_eq(bruno_felif_pop_init(&pop, &pc), BRUNO_OK);
    cr_assert_eq(bruno_felif_network_step(&pop, 1, &I, &v, &p, &s, 1e-3, 1000), BRUNO_OK);
    cr_expect_eq(s, 1);
    cr_expect(v >= (bruno_real)fp.V_thr);
    /* s_k = 1: reset overrides the fine pass, whatever the current */
    cr_assert_eq(bruno_felif_network_step(&pop, 1, &I, &v, &p, &s, 1e-3, 1000), BRUNO_OK);
    cr_expect_eq(v, (bruno_real)fp.v_reset);
    cr_expect_eq(p, (bruno_real)fp.p_reset);
    cr_expect_eq(s, 0);
    bruno_felif_pop_free(&pop);

    /* the legacy option resets p to its own value */
    bruno_felif_params_use_legacy_reset(&fp);
    pc = bruno_felif_pop_config_default(&fp, 1);
    cr_assert_eq(bruno_felif_pop_init(&pop, &pc), BRUNO_OK);
    v = 1; p = 0; s = 1;
    cr_assert_eq(bruno_felif_network_step(&pop, 1, &I, &v, &p, &s, 1e-3, 1000), BRUNO_OK);
    cr_expect_eq(v, (bruno_real)fp.v_reset);
    cr_expect(fabs((double)p - fp.p_reset) < 1e-6);
    bruno_felif_pop_free(&pop);
}

Test(felif, batch_rows_evolve_as_if_run_alone)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_pop_config pc = bruno_felif_pop_config_default(&fp, 2);
    bruno_felif_pop pop;
    /* [batch 3][neurons 2]; neurons differ (sigma 0.1), so a mixed-up
       index would show */
    bruno_real I[6] = {1e-9f, 2e-9f, 0.5e-9f, 1e-9f, 2e-9f, 0.2e-9f};
    bruno_real v[6] = {0}, p[6], s[6] = {0}, v1[6] = {0}, p1[6], s1[6] = {0};
    int i, k, b, spikes = 0;
    for (i = 0; i < 6; ++i) p[i] = p1[i] = (bruno_real)-0.22;
    pc.sigma = 0.1;
    pc.seed = 5;
    cr_assert_eq(bruno_felif_pop_init(&pop, &pc), BRUNO_OK);
    for (k = 0; k < 40; ++k) {
        cr_assert_eq(bruno_felif_network_step(&pop, 3, I, v, p, s, 1e-3, 1000), BRUNO_OK);
        for (b = 0; b < 3; ++b)
            cr_assert_eq(bruno_felif_network_step(&pop, 1, I + 2 * b, v1 + 2 * b, p1 + 2 * b, s1 + 2 * b, 1e-3, 1000),
                         BRUNO_OK);
        for (i = 0; i < 6; ++i) {
            cr_assert_eq(v[i], v1[i], "step %d entry %d", k, i);
            cr_assert_eq(p[i], p1[i], "step %d entry %d", k, i);
            cr_assert_eq(s[i], s1[i], "step %d entry %d", k, i);
            spikes += s[i] > 0;
        }
    }
    cr_expect(spikes > 0);
    bruno_felif_pop_free(&pop);
}

/* ---- Jacobian of one Euler step (MODELS §3) ------------------------------- */

typedef struct { double v, p, I, tau; } state;

/* States away from the clips where r(E)*tau is between 0.1 and 1: the rate
   derivative matters. Coarse (tau = dt = 1 ms) and fine (tau = h = 1 us),
   both signs of E, and one each with a negligible rate, v > 0 and v < 0. */
static const state active[] = {
    {0.15, -0.22, 1e-9, 1e-3},  {-0.15, 0.22, -1e-9, 1e-3}, {1.5, 0.0, 1e-9, 1e-6},
    {-1.5, 0.0, -1e-9, 1e-6},   {0.17, -0.15, 5e-10, 1e-3}, {-0.3, 0.1, -1e-9, 1e-3},
};

/* The spec's formula (MODELS §3), written out from the parameters in double,
   independently of the library; rp = r'(E) (pass 0 for rate_grad = 0).
   dI_leak/dv: MODELS writes I_0*A*exp(v/V_t)/V_t; bruno.h documents that it
   keeps the true derivative sign(v)*..., which differs for v < 0 only. */
static void spec_jacobian(const bruno_felif_params *fp, const state *x, double r, double rp, double J[6])
{
    double den = fp->t_fe * fp->eps_i + fp->t_i * fp->eps_fe;
    double k_v = fp->eps_i / den, k_p = fp->t_i / (BRUNO_EPS0 * den);
    double C = bruno_felif_c_tot(fp), A = fp->A, dt = x->tau;
    double E = k_v * x->v - k_p * x->p;
    double I_pa = A * ((E > 0 ? 1 : -1) * fp->P_s - x->p);
    double dIp_dp = -A * r - I_pa * rp * k_p, dIp_dv = I_pa * rp * k_v;
    double dIl_dv = (x->v > 0 ? 1 : -1) * fp->I_0 * A * exp(x->v / fp->V_t) / fp->V_t;
    J[0] = 1 - dt / C * (dIl_dv + dIp_dv);
    J[1] = -dt / C * dIp_dp;
    J[2] = dt / C;
    J[3] = dt / A * dIp_dv;
    J[4] = 1 + dt / A * dIp_dp;
    J[5] = 0;
}

static double spec_rate(const bruno_felif_params *fp, const state *x)
{
    double den = fp->t_fe * fp->eps_i + fp->t_i * fp->eps_fe;
    double E = fp->eps_i / den * x->v - fp->t_i / (BRUNO_EPS0 * den) * x->p;
    double X = pow(fp->E_a / (fabs(E) + fp->E_soft), fp->alpha);
    return exp(-X) / fp->tau_0;
}

static void jac_array(const bruno_felif_jacobian *J, double a[6])
{
    a[0] = J->dv_dv; a[1] = J->dv_dp; a[2] = J->dv_dI;
    a[3] = J->dp_dv; a[4] = J->dp_dp; a[5] = J->dp_dI;
}

/* Scales that make entries dimensionless: d(out/out_scale)/d(in/in_scale). */
static const double out_scale[2] = {1.0, 0.22}, in_scale[3] = {1.0, 0.22, 1e-9};

static double scaled(const double J[6], int i)
{
    return J[i] / out_scale[i / 3] * in_scale[i % 3];
}

Test(felif_jacobian, rate_grad_off_equals_spec_formula_with_zero_r_prime)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_consts c = bruno_felif_derive(&fp);
    double tol = BRUNO_REAL_IS_DOUBLE ? 1e-11 : 2e-4;
    size_t k;
    int i;
    for (k = 0; k < sizeof active / sizeof active[0]; ++k) {
        const state *x = &active[k];
        double Jl[6], Js[6], r = spec_rate(&fp, x);
        bruno_felif_jacobian J = bruno_felif_coarse_jacobian(&c, (bruno_real)x->v, (bruno_real)x->p,
                                                             (bruno_real)x->I, x->tau, 0);
        jac_array(&J, Jl);
        spec_jacobian(&fp, x, r, 0, Js);
        for (i = 0; i < 6; ++i)
            cr_expect(fabs(scaled(Jl, i) - scaled(Js, i)) <= tol * (1 + fabs(scaled(Js, i))),
                      "state %zu entry %d: library %.12g, spec %.12g", k, i, Jl[i], Js[i]);
    }
}

Test(felif_jacobian, coarse_jacobian_is_the_euler_jacobian_at_dt)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_consts c = bruno_felif_derive(&fp);
    size_t k;
    for (k = 0; k < sizeof active / sizeof active[0]; ++k) {
        const state *x = &active[k];
        int rg;
        for (rg = 0; rg < 2; ++rg) {
            bruno_felif_jacobian a = bruno_felif_coarse_jacobian(&c, (bruno_real)x->v, (bruno_real)x->p,
                                                                 (bruno_real)x->I, 1e-3, rg);
            bruno_felif_jacobian b = bruno_felif_euler_jacobian(&c, (bruno_real)x->v, (bruno_real)x->p,
                                                                (bruno_real)x->I, (bruno_real)1e-3, rg);
            cr_expect(memcmp(&a, &b, sizeof a) == 0, "state %zu rate_grad %d", k, rg);
        }
    }
}

#if BRUNO_REAL_IS_DOUBLE
/* Central differences of bruno_felif_euler in double. Steps: 1 uV, 1e-7
   C/m^2 and 1 pA; the state's curvature (d ln r/dv ~ 30/V, d ln r/dp ~
   140 m^2/C) puts the truncation error near 1e-9 relative. */
static void fd_jacobian(const bruno_felif_consts *c, const state *x, double J[6])
{
    const double hv = 1e-6, hp = 1e-7, hI = 1e-12;
    double vp, pp, vm, pm;
    bruno_felif_euler(c, x->v + hv, x->p, x->I, x->tau, &vp, &pp);
    bruno_felif_euler(c, x->v - hv, x->p, x->I, x->tau, &vm, &pm);
    J[0] = (vp - vm) / (2 * hv);
    J[3] = (pp - pm) / (2 * hv);
    bruno_felif_euler(c, x->v, x->p + hp, x->I, x->tau, &vp, &pp);
    bruno_felif_euler(c, x->v, x->p - hp, x->I, x->tau, &vm, &pm);
    J[1] = (vp - vm) / (2 * hp);
    J[4] = (pp - pm) / (2 * hp);
    bruno_felif_euler(c, x->v, x->p, x->I + hI, x->tau, &vp, &pp);
    bruno_felif_euler(c, x->v, x->p, x->I - hI, x->tau, &vm, &pm);
    J[2] = (vp - vm) / (2 * hI);
    J[5] = (pp - pm) / (2 * hI);
}

static double max_scaled_err(const double a[6], const double b[6], int *worst)
{
    double m = 0;
    int i;
    for (i = 0; i < 6; ++i) {
        double e = fabs(scaled(a, i) - scaled(b, i)) / (1 + fabs(scaled(b, i)));
        if (e > m) { m = e; *worst = i; }
    }
    return m;
}

Test(felif_jacobian, rate_grad_on_matches_central_differences_away_from_clips)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_consts c = bruno_felif_derive(&fp);
    size_t k;
    for (k = 0; k < sizeof active / sizeof active[0]; ++k) {
        const state *x = &active[k];
        double Jl[6], Jfd[6], vo, po, err;
        int worst = -1;
        bruno_felif_jacobian J = bruno_felif_euler_jacobian(&c, x->v, x->p, x->I, x->tau, 1);
        cr_assert_eq(bruno_felif_euler(&c, x->v, x->p, x->I, x->tau, &vo, &po), 0, "state %zu clips", k);
        jac_array(&J, Jl);
        fd_jacobian(&c, x, Jfd);
        err = max_scaled_err(Jl, Jfd, &worst);
        cr_expect(err < 1e-6, "state %zu: entry %d library %.10g, FD %.10g (err %.3g)", k, worst,
                  worst >= 0 ? Jl[worst] : 0.0, worst >= 0 ? Jfd[worst] : 0.0, err);
    }
}

Test(felif_jacobian, rate_grad_on_matches_spec_formula_with_r_prime)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_consts c = bruno_felif_derive(&fp);
    size_t k;
    for (k = 0; k < sizeof active / sizeof active[0]; ++k) {
        const state *x = &active[k];
        double Jl[6], Js[6], r = spec_rate(&fp, x), err;
        double den = fp.t_fe * fp.eps_i + fp.t_i * fp.eps_fe;
        double E = fp.eps_i / den * x->v - fp.t_i / (BRUNO_EPS0 * den) * x->p;
        double X = pow(fp.E_a / (fabs(E) + fp.E_soft), fp.alpha);
        /* MODELS §3: r'(E) = alpha*X*e^{-X}*sign(E)/(tau_0*(|E| + E_soft)) */
        double rp = fp.alpha * X * exp(-X) * (E > 0 ? 1 : -1) / (fp.tau_0 * (fabs(E) + fp.E_soft));
        int worst = -1;
        bruno_felif_jacobian J = bruno_felif_euler_jacobian(&c, x->v, x->p, x->I, x->tau, 1);
        jac_array(&J, Jl);
        spec_jacobian(&fp, x, r, rp, Js);
        err = max_scaled_err(Jl, Js, &worst);
        cr_expect(err < 1e-11, "state %zu entry %d: %.12g vs %.12g", k, worst, worst >= 0 ? Jl[worst] : 0.0,
                  worst >= 0 ? Js[worst] : 0.0);
    }
}

/* The FD test above could not pass with r' dropped: where r*tau is not
   small the rate term dominates some entries. */
Test(felif_jacobian, rate_grad_off_differs_from_finite_differences_where_rate_is_active)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_consts c = bruno_felif_derive(&fp);
    size_t k;
    for (k = 0; k < 4; ++k) { /* the first four states have r*tau > 0.1 */
        const state *x = &active[k];
        double Jl[6], Jfd[6];
        int worst = -1;
        bruno_felif_jacobian J = bruno_felif_euler_jacobian(&c, x->v, x->p, x->I, x->tau, 0);
        cr_assert(spec_rate(&fp, x) * x->tau > 0.1);
        jac_array(&J, Jl);
        fd_jacobian(&c, x, Jfd);
        cr_expect(max_scaled_err(Jl, Jfd, &worst) > 0.1, "state %zu", k);
    }
}

Test(felif_jacobian, clipped_outputs_have_zero_rows_and_so_do_finite_differences)
{
    static const state clipped[] = {
        {0.2, -0.22, 0, 1e-3},      /* v' below -5 V: v row zero, p row live */
        {3.0, 0.219, 1e-9, 1e-6},   /* p' above +P_s: p row zero, v row live */
        {2.2, -0.22, 1e-9, 1e-6},   /* both clip */
    };
    static const int expect_flags[] = {1, 2, 3};
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_consts c = bruno_felif_derive(&fp);
    size_t k;
    for (k = 0; k < sizeof clipped / sizeof clipped[0]; ++k) {
        const state *x = &clipped[k];
        double Jl[6], Jfd[6], vo, po;
        int rg, i;
        cr_assert_eq(bruno_felif_euler(&c, x->v, x->p, x->I, x->tau, &vo, &po), expect_flags[k], "state %zu", k);
        fd_jacobian(&c, x, Jfd);
        for (rg = 0; rg < 2; ++rg) {
            bruno_felif_jacobian J = bruno_felif_euler_jacobian(&c, x->v, x->p, x->I, x->tau, rg);
            jac_array(&J, Jl);
            for (i = 0; i < 6; ++i) {
                int row_clipped = (expect_flags[k] >> (i / 3)) & 1;
                if (row_clipped) {
                    cr_expect_eq(Jl[i], 0.0, "state %zu entry %d", k, i);
                    cr_expect_eq(Jfd[i], 0.0, "state %zu entry %d (FD)", k, i);
                }
            }
            /* the live row is not zero: its dX/dX diagonal is there */
            if (!(expect_flags[k] & 1)) cr_expect(Jl[0] != 0.0);
            if (!(expect_flags[k] & 2)) cr_expect(Jl[4] != 0.0);
            /* and, with rate_grad on, it matches central differences */
            if (rg == 1)
                for (i = 0; i < 6; ++i)
                    if (!((expect_flags[k] >> (i / 3)) & 1))
                        cr_expect(fabs(scaled(Jl, i) - scaled(Jfd, i)) < 1e-6 * (1 + fabs(scaled(Jfd, i))),
                                  "state %zu entry %d: %.10g vs FD %.10g", k, i, Jl[i], Jfd[i]);
        }
    }
}

Test(felif_jacobian, rate_derivative_matches_central_differences)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_consts c = bruno_felif_derive(&fp);
    static const double Es[] = {8e7, 1.07e8, 1.5e8, 3e8, -1.2e8, -2.5e8};
    size_t k;
    for (k = 0; k < sizeof Es / sizeof Es[0]; ++k) {
        double dr, hE = 1.0, fd;
        double r = bruno_felif_rate(&c, Es[k], &dr);
        fd = (bruno_felif_rate(&c, Es[k] + hE, NULL) - bruno_felif_rate(&c, Es[k] - hE, NULL)) / (2 * hE);
        cr_expect(r > 0);
        cr_expect(rel_diff(dr, fd) < 1e-6, "E = %g: r' %.10g, FD %.10g", Es[k], dr, fd);
    }
}
#endif /* BRUNO_REAL_IS_DOUBLE */

/* ---- device-to-device variability (MODELS §2) ----------------------------- */

static void pop_with(bruno_felif_pop *pop, size_t n, double sigma, uint64_t seed, int vary_gain)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_pop_config pc = bruno_felif_pop_config_default(&fp, n);
    pc.sigma = sigma;
    pc.seed = seed;
    pc.vary_gain = vary_gain;
    cr_assert_eq(bruno_felif_pop_init(pop, &pc), BRUNO_OK);
}

Test(felif_variability, same_seed_gives_the_same_devices_and_another_seed_does_not)
{
    bruno_felif_pop a, b, d;
    pop_with(&a, 50, 0.1, 7, 1);
    pop_with(&b, 50, 0.1, 7, 1);
    pop_with(&d, 50, 0.1, 8, 1);
    cr_expect(memcmp(a.c, b.c, 50 * sizeof *a.c) == 0);
    cr_expect(memcmp(a.c, d.c, 50 * sizeof *a.c) != 0);
    bruno_felif_pop_free(&a);
    bruno_felif_pop_free(&b);
    bruno_felif_pop_free(&d);
}

Test(felif_variability, sigma_zero_gives_identical_nominal_devices)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_consts nominal = bruno_felif_derive(&fp);
    bruno_felif_pop a;
    size_t j;
    pop_with(&a, 10, 0.0, 3, 1);
    for (j = 0; j < 10; ++j) cr_expect(memcmp(&a.c[j], &nominal, sizeof nominal) == 0, "neuron %zu", j);
    bruno_felif_pop_free(&a);
}

/* mean and standard deviation of the relative factor x/x0 over the population */
static void factor_stats(const bruno_felif_pop *pop, size_t off, double nominal, double *mean, double *sd)
{
    double s = 0, s2 = 0;
    size_t j;
    for (j = 0; j < pop->n; ++j) {
        double f = (double)*(const bruno_real *)((const char *)&pop->c[j] + off) / nominal;
        s += f;
        s2 += f * f;
    }
    *mean = s / (double)pop->n;
    *sd = sqrt((s2 - s * *mean) / (double)(pop->n - 1));
}

Test(felif_variability, draw_has_the_requested_relative_spread)
{
    const size_t n = 4000;
    const double sigma = 0.1;
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_pop a;
    double mean, sd;
    /* three standard errors of the mean (sigma/sqrt n) and of the sd
       (about sigma/sqrt(2n)) */
    double tol_mean = 3 * sigma / sqrt((double)n), tol_sd = 3 * sigma / sqrt(2.0 * (double)n);
    pop_with(&a, n, sigma, 42, 1);
    factor_stats(&a, offsetof(bruno_felif_consts, A), fp.A, &mean, &sd);
    cr_expect(fabs(mean - 1) < tol_mean && fabs(sd - sigma) < tol_sd, "A: mean %g sd %g", mean, sd);
    factor_stats(&a, offsetof(bruno_felif_consts, P_s), fp.P_s, &mean, &sd);
    cr_expect(fabs(mean - 1) < tol_mean && fabs(sd - sigma) < tol_sd, "P_s: mean %g sd %g", mean, sd);
    factor_stats(&a, offsetof(bruno_felif_consts, E_a), fp.E_a, &mean, &sd);
    cr_expect(fabs(mean - 1) < tol_mean && fabs(sd - sigma) < tol_sd, "E_a: mean %g sd %g", mean, sd);
    factor_stats(&a, offsetof(bruno_felif_consts, gain), 1.0, &mean, &sd);
    cr_expect(fabs(mean - 1) < tol_mean && fabs(sd - sigma) < tol_sd, "gain: mean %g sd %g", mean, sd);
    bruno_felif_pop_free(&a);
    /* without vary_gain the gain stays 1 */
    pop_with(&a, 100, sigma, 42, 0);
    factor_stats(&a, offsetof(bruno_felif_consts, gain), 1.0, &mean, &sd);
    cr_expect(mean == 1 && sd == 0);
    bruno_felif_pop_free(&a);
}

Test(felif_variability, redraw_with_the_same_rng_state_reproduces_the_draw)
{
    bruno_felif_pop a;
    bruno_felif_consts first[20];
    bruno_rng r1, r2;
    pop_with(&a, 20, 0.0, 0, 0);
    bruno_rng_seed(&r1, 99);
    r2 = r1;
    cr_assert_eq(bruno_felif_pop_redraw(&a, 0.1, 0, &r1), BRUNO_OK);
    memcpy(first, a.c, sizeof first);
    cr_assert_eq(bruno_felif_pop_redraw(&a, 0.1, 0, &r1), BRUNO_OK); /* fresh draw */
    cr_expect(memcmp(first, a.c, sizeof first) != 0);
    cr_assert_eq(bruno_felif_pop_redraw(&a, 0.1, 0, &r2), BRUNO_OK); /* replay */
    cr_expect(memcmp(first, a.c, sizeof first) == 0);
    bruno_felif_pop_free(&a);
}
