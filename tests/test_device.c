/* test_device.c - the device-neuron interface (issue 13): the table of
   devices, parameter sets from key=value text and their refusals, and a
   layer named by its device giving the bits of the typed FeLIF layer. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include "bruno.h"
#include "net_util.h"

static const bruno_device *felif(void)
{
    const bruno_device *d = bruno_device_find("felif");
    cr_assert_not_null(d);
    return d;
}

Test(device, table_lists_felif_and_finds_by_name_only)
{
    cr_expect_eq(bruno_device_at(0), felif());
    cr_expect_null(bruno_device_find("FeLIF"));
    cr_expect_null(bruno_device_find("nonsense"));
    cr_expect_null(bruno_device_find(NULL));
}

Test(device, felif_defaults_are_the_typed_defaults)
{
    bruno_felif_params fp = bruno_felif_params_default(), back;
    double prm[BRUNO_DEVICE_MAX_PARAMS], vec[BRUNO_DEVICE_MAX_PARAMS];
    bruno_device_defaults(felif(), prm);
    bruno_felif_params_to_vector(&fp, vec);
    cr_expect(memcmp(prm, vec, felif()->n_params * sizeof prm[0]) == 0);
    bruno_felif_params_from_vector(prm, &back);
    cr_expect(memcmp(&back, &fp, sizeof fp) == 0);
    cr_expect_eq(bruno_device_validate(felif(), prm, NULL, 0), BRUNO_OK);
}

/* Parse text over the defaults; returns the code, msg receives the message. */
static bruno_result parse(const char *text, double *prm, char *msg)
{
    bruno_device_defaults(felif(), prm);
    msg[0] = 0;
    return bruno_device_parse(felif(), text, prm, msg, 256);
}

Test(device, parse_reads_si_values_comments_and_blank_lines)
{
    double prm[BRUNO_DEVICE_MAX_PARAMS];
    char msg[256];
    int k = bruno_device_param_index(felif(), "t_fe");
    cr_assert(k >= 0);
    cr_assert_eq(parse("# a thicker ferroelectric\n\n  t_fe = 12e-9   # m\nV_thr=2.4\n", prm, msg), BRUNO_OK, "%s", msg);
    cr_expect_eq(prm[k], 12e-9);
    cr_expect_eq(prm[bruno_device_param_index(felif(), "V_thr")], 2.4);
    cr_expect_eq(prm[bruno_device_param_index(felif(), "A")], 25e-12); /* untouched keys keep the defaults */
}

Test(device, parse_refuses_an_unknown_key_naming_it)
{
    double prm[BRUNO_DEVICE_MAX_PARAMS];
    char msg[256];
    cr_expect_eq(parse("t_fe = 12e-9\nthickness = 3\n", prm, msg), BRUNO_ERR_PARAM);
    cr_expect(strstr(msg, "thickness") != NULL, "%s", msg);
    cr_expect(strstr(msg, "line 2") != NULL, "%s", msg);
}

Test(device, parse_refuses_non_numeric_text_naming_the_key)
{
    double prm[BRUNO_DEVICE_MAX_PARAMS];
    char msg[256];
    cr_expect_eq(parse("t_fe = 12nm\n", prm, msg), BRUNO_ERR_FORMAT);
    cr_expect(strstr(msg, "t_fe") != NULL, "%s", msg);
    cr_expect_eq(parse("t_fe =\n", prm, msg), BRUNO_ERR_FORMAT);
    cr_expect_eq(parse("t_fe 12e-9\n", prm, msg), BRUNO_ERR_FORMAT);
    cr_expect_eq(parse("t_fe = nan\n", prm, msg), BRUNO_ERR_NONFINITE);
    cr_expect(strstr(msg, "t_fe") != NULL, "%s", msg);
    cr_expect_eq(parse("t_fe = 1e-8\nt_fe = 2e-8\n", prm, msg), BRUNO_ERR_FORMAT); /* given twice */
}

Test(device, parse_refuses_a_value_out_of_range_naming_the_key)
{
    double prm[BRUNO_DEVICE_MAX_PARAMS];
    char msg[256];
    cr_expect_eq(parse("t_fe = 12\n", prm, msg), BRUNO_ERR_PARAM); /* 12 m, not 12 nm */
    cr_expect(strstr(msg, "t_fe") != NULL, "%s", msg);
    cr_expect_eq(parse("P_s = -0.2\n", prm, msg), BRUNO_ERR_PARAM);
    cr_expect(strstr(msg, "P_s") != NULL, "%s", msg);
    /* a relation between keys: the threshold beyond the clip */
    cr_expect_eq(parse("V_thr = 6\n", prm, msg), BRUNO_ERR_PARAM);
    cr_expect(strstr(msg, "V_thr") != NULL, "%s", msg);
}

Test(device, parse_refuses_derived_constants_that_underflow_naming_the_key)
{
    double prm[BRUNO_DEVICE_MAX_PARAMS];
    char msg[256];
    /* I_0*A: 1e-40 A/m^2 times 1e-12 m^2 is 1e-52 A, below float and
       above 0 in double; in double 1e-300 times 1e-18 underflows instead */
    const char *text = BRUNO_REAL_IS_DOUBLE ? "I_0 = 1e-300\nA = 1e-18\n" : "I_0 = 1e-40\nA = 1e-12\n";
    cr_expect_eq(parse(text, prm, msg), BRUNO_ERR_PARAM);
    cr_expect(strstr(msg, "I_0") != NULL, "%s", msg);
    cr_expect(strstr(msg, "underflow") != NULL, "%s", msg);
    cr_expect_eq(parse("I_0 = 0\n", prm, msg), BRUNO_OK, "%s", msg); /* exactly 0 is no underflow */
}

Test(device, check_const_refuses_overflow_in_the_build_precision)
{
    char msg[128];
    cr_expect_eq(bruno_device_check_const(HUGE_VAL, "k", "x", msg, sizeof msg), BRUNO_ERR_PARAM);
    cr_expect(strstr(msg, "k: ") == msg, "%s", msg);
    /* finite in double, beyond float's range */
    cr_expect_eq(bruno_device_check_const(1e39, "k", "x", msg, sizeof msg),
                 BRUNO_REAL_IS_DOUBLE ? BRUNO_OK : BRUNO_ERR_PARAM);
    cr_expect_eq(bruno_device_check_const(1e300, "k", "x", msg, sizeof msg),
                 BRUNO_REAL_IS_DOUBLE ? BRUNO_OK : BRUNO_ERR_PARAM);
    cr_expect_eq(bruno_device_check_const(1.0, "k", "x", msg, sizeof msg), BRUNO_OK);
    cr_expect_eq(bruno_device_check_const(-1e-20, "k", "x", msg, sizeof msg), BRUNO_OK);
}

/* The E1-like net dense -> device layer with the given device parameters. */
static void run_net(const bruno_device *dev, const double *prm, const bruno_felif_params *fp, double sigma,
                    bruno_real *y_out, bruno_real *g_out, size_t *ng)
{
    bruno_net net;
    bruno_net_config nc = bruno_net_config_default(5);
    bruno_layer_config d = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    bruno_layer_config f = bruno_layer_config_default(BRUNO_LAYER_FELIF);
    bruno_real x[6 * 2 * 5], dy[6 * 2 * 9];
    const bruno_real *y;
    size_t i;
    nc.n_fine = 50;
    nc.seed = 3;
    d.n_out = 9;
    d.matrix.init_scale = 3.0;
    f.dev.device = dev;
    f.dev.device_params = prm;
    if (fp) f.dev.felif = *fp;
    f.dev.sigma = sigma;
    f.dev.input_gain = 3e-9;
    cr_assert_eq(bruno_net_init(&net, &nc), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&net, &d), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&net, &f), BRUNO_OK);
    fill_input(x, sizeof x / sizeof x[0], 9);
    cr_assert_eq(bruno_net_forward(&net, x, 6, 2, 1, &y), BRUNO_OK);
    memcpy(y_out, y, sizeof dy);
    for (i = 0; i < sizeof dy / sizeof dy[0]; ++i) dy[i] = (bruno_real)(0.1 * (double)(i % 5) - 0.2);
    bruno_net_zero_grad(&net);
    cr_assert_eq(bruno_net_backward(&net, dy), BRUNO_OK);
    *ng = net.params[0].n;
    memcpy(g_out, net.params[0].grad, *ng * sizeof *g_out);
    bruno_net_free(&net);
}

Test(device, layer_by_device_and_vector_equals_the_typed_felif_layer)
{
    bruno_felif_params fp = bruno_felif_params_default();
    double prm[BRUNO_DEVICE_MAX_PARAMS];
    bruno_real y1[6 * 2 * 9], y2[6 * 2 * 9], g1[64], g2[64];
    size_t n1, n2;
    fp.t_fe = 12e-9; /* not the defaults, so a layer that ignored the vector fails */
    bruno_felif_params_to_vector(&fp, prm);
    run_net(NULL, NULL, &fp, 0.1, y1, g1, &n1);
    run_net(felif(), prm, NULL, 0.1, y2, g2, &n2);
    cr_assert_eq(n1, n2);
    cr_expect(memcmp(y1, y2, sizeof y1) == 0);
    cr_expect(memcmp(g1, g2, n1 * sizeof g1[0]) == 0);
    /* and the thicker ferroelectric does change the outputs */
    run_net(NULL, NULL, NULL, 0.1, y2, g2, &n2);
    cr_expect(memcmp(g1, g2, n1 * sizeof g1[0]) != 0);
}

Test(device, layer_refuses_a_device_vector_out_of_range)
{
    bruno_net net;
    bruno_layer_config f = bruno_layer_config_default(BRUNO_LAYER_FELIF);
    double prm[BRUNO_DEVICE_MAX_PARAMS];
    bruno_device_defaults(felif(), prm);
    prm[bruno_device_param_index(felif(), "t_fe")] = 1.0;
    f.dev.device = felif();
    f.dev.device_params = prm;
    {
        bruno_net_config nc = bruno_net_config_default(4);
        cr_assert_eq(bruno_net_init(&net, &nc), BRUNO_OK);
    }
    cr_expect_eq(bruno_net_add(&net, &f), BRUNO_ERR_PARAM);
    bruno_net_free(&net);
}

Test(device, population_variability_is_seeded_and_redrawn)
{
    bruno_device_pop a, b;
    double prm[BRUNO_DEVICE_MAX_PARAMS];
    size_t bytes;
    bruno_device_defaults(felif(), prm);
    cr_assert_eq(bruno_device_pop_init(&a, felif(), prm, 33, 0.1, 1, 5, NULL), BRUNO_OK);
    cr_assert_eq(bruno_device_pop_init(&b, felif(), prm, 33, 0.1, 1, 5, NULL), BRUNO_OK);
    bytes = felif()->n_consts * 33 * sizeof(bruno_real);
    cr_expect(!a.uniform);
    cr_expect(memcmp(a.soa, b.soa, bytes) == 0);
    bruno_device_pop_free(&b);
    cr_assert_eq(bruno_device_pop_init(&b, felif(), prm, 33, 0.1, 1, 6, NULL), BRUNO_OK);
    cr_expect(memcmp(a.soa, b.soa, bytes) != 0);
    cr_expect_eq(bruno_device_pop_redraw(&b, 0.0, 0, NULL), BRUNO_OK);
    cr_expect(b.uniform);
    cr_expect_eq(bruno_device_pop_redraw(&b, 1.5, 0, NULL), BRUNO_ERR_PARAM);
    cr_expect_eq(bruno_device_pop_bytes(felif(), 33), bruno_felif_pop_bytes(33));
    bruno_device_pop_free(&a);
    bruno_device_pop_free(&b);
}

/* The engine's window slots (fwd_window, adj_window: a window of fine
   steps in one call, the BPTT store and the reverse sweep inside the
   kernel) against the same device without them (one fwd_row / adj_row
   call per step, the state copied before each): the same outputs and
   gradients, bit for bit, for every exact trainer, FeLIF and Heracles, a
   uniform and a varied population (row by row, rows of 64 + 6 lanes),
   with spikes and freezes inside windows. */
static void run_exact(const bruno_device *dev, bruno_trainer tr, bruno_schedule sch, double sigma, int rate_grad,
                      bruno_real *out, size_t *n_out)
{
    enum { T = 5, B = 2, NI = 7, H = 70 };
    static bruno_real x[T * B * NI], dy[T * B * H];
    bruno_net net;
    bruno_net_config nc = bruno_net_config_default(NI);
    bruno_layer_config d = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    bruno_layer_config f = bruno_layer_config_default(BRUNO_LAYER_FELIF);
    const bruno_real *y;
    size_t i, k = 0, p;
    nc.n_fine = 120;
    nc.trainer = tr;
    nc.schedule = sch;
    nc.checkpoints = sch == BRUNO_SCHEDULE_SEQUENCE ? 2 : 7;
    nc.rate_grad = rate_grad;
    nc.seed = 5;
    d.n_out = H;
    d.matrix.bias = 1;
    d.matrix.init_scale = 2.0;
    f.dev.device = dev;
    f.dev.sigma = sigma;
    f.dev.input_gain = 2e-9;
    cr_assert_eq(bruno_net_init(&net, &nc), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&net, &d), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&net, &f), BRUNO_OK);
    for (i = 0; i < net.params[1].n; ++i) net.params[1].data[i] = (bruno_real)(2.0 * (double)i / (double)H);
    fill_input(x, T * B * NI, 13);
    for (i = 0; i < T * B * H; ++i) dy[i] = (bruno_real)(0.1 * (double)(i % 7) - 0.25);
    cr_assert_eq(bruno_net_forward(&net, x, T, B, 1, &y), BRUNO_OK);
    memcpy(out, y, sizeof dy);
    k = T * B * H;
    bruno_net_zero_grad(&net);
    cr_assert_eq(bruno_net_backward(&net, dy), BRUNO_OK);
    for (p = 0; p < net.n_params; ++p) {
        memcpy(out + k, net.params[p].grad, net.params[p].n * sizeof *out);
        k += net.params[p].n;
    }
    *n_out = k;
    bruno_net_free(&net);
}

Test(device, window_slots_give_the_bits_of_one_step_at_a_time)
{
    static bruno_real a[4096], b[4096];
    static const char *names[] = {"felif", "heracles"};
    static const bruno_trainer trs[] = {BRUNO_TRAINER_BPTT, BRUNO_TRAINER_CHECKPOINT, BRUNO_TRAINER_CHECKPOINT,
                                        BRUNO_TRAINER_CHECKPOINT};
    static const bruno_schedule schs[] = {BRUNO_SCHEDULE_BINOMIAL, BRUNO_SCHEDULE_BINOMIAL, BRUNO_SCHEDULE_UNIFORM,
                                          BRUNO_SCHEDULE_SEQUENCE};
    int dv, t, var;
    double spikes = 0;
    for (dv = 0; dv < 2; ++dv) {
        const bruno_device *dev = bruno_device_find(names[dv]);
        bruno_device steps;
        cr_assert_not_null(dev);
        cr_assert_not_null(dev->fwd_window);
        cr_assert_not_null(dev->adj_window);
        steps = *dev;
        steps.fwd_window = NULL;
        steps.adj_window = NULL;
        for (t = 0; t < 4; ++t)
            for (var = 0; var < 2; ++var) {
                size_t na, nb, i;
                run_exact(dev, trs[t], schs[t], var ? 0.1 : 0.0, var, a, &na);
                run_exact(&steps, trs[t], schs[t], var ? 0.1 : 0.0, var, b, &nb);
                cr_assert_eq(na, nb);
                cr_expect(memcmp(a, b, na * sizeof a[0]) == 0, "%s, trainer %d, schedule %d, varied %d", names[dv],
                          (int)trs[t], (int)schs[t], var);
                for (i = 0; i < 5 * 2 * 70; ++i) spikes += a[i];
            }
    }
    cr_expect_gt(spikes, 0); /* neurons spiked (and froze inside their windows) */
}
