/* test_train.c - the library-like pieces of `bruno-bench train`
   (bench/train_util.c): SHA-256, the resumable state file, key=value
   files and the JSB music metrics. The harness itself is tested end to
   end by tests/train_check.sh (make train-check). */
#include "bench/train_util.c"

#include <criterion/criterion.h>
#include <math.h>
#include "net_util.h"

static void sha_hex(const char *s, size_t n, char hex[65])
{
    train_sha256 c;
    unsigned char d[32];
    train_sha256_init(&c);
    train_sha256_update(&c, s, n);
    train_sha256_final(&c, d);
    train_sha256_hex(d, hex);
}

Test(train, sha256_matches_the_fips_180_examples)
{
    char hex[65], big[1001];
    sha_hex("abc", 3, hex);
    cr_expect_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha_hex("", 0, hex);
    cr_expect_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
    cr_expect_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* one million 'a', fed in uneven pieces */
    {
        train_sha256 c;
        unsigned char d[32];
        int i;
        memset(big, 'a', sizeof big);
        train_sha256_init(&c);
        for (i = 0; i < 1000; ++i) train_sha256_update(&c, big, i % 2 ? 999 : 1001);
        train_sha256_final(&c, d);
        train_sha256_hex(d, hex);
        cr_expect_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    }
}

/* A small net, an Adamax optimiser that has taken a step, a plateau. */
static void setup(bruno_net *net, bruno_optim *opt, bruno_plateau *pl, uint64_t seed)
{
    bruno_optim_config oc = bruno_optim_config_default(BRUNO_OPTIM_ADAMAX, 1e-2);
    bruno_real x[6 * 2 * 3], dy[6 * 2 * 4];
    const bruno_real *y;
    size_t i;
    cr_assert_eq(make_small_net(net, BRUNO_TRAINER_BRUNO, BRUNO_SCHEDULE_BINOMIAL, 31, 20, BRUNO_SURROGATE_SUPERSPIKE,
                                0, 3, NULL), BRUNO_OK);
    cr_assert_eq(bruno_optim_init(opt, &oc, net), BRUNO_OK);
    fill_input(x, sizeof x / sizeof x[0], seed);
    cr_assert_eq(bruno_net_forward(net, x, 6, 2, 1, &y), BRUNO_OK);
    linear_loss(y, 6 * 2 * 4, dy);
    bruno_net_zero_grad(net);
    cr_assert_eq(bruno_net_backward(net, dy), BRUNO_OK);
    cr_assert_eq(bruno_optim_step(opt, net), BRUNO_OK);
    for (i = 0; i < seed; ++i) bruno_rng_u64(&net->rng);
    *pl = bruno_plateau_default();
    pl->best = 0.5 + (double)seed;
    pl->bad_epochs = (int)seed;
}

static train_state a_state(void)
{
    train_state s;
    memset(&s, 0, sizeof s);
    s.epochs_done = 7;
    bruno_rng_seed(&s.shuffle_rng, 42);
    bruno_rng_normal(&s.shuffle_rng); /* leaves a cached normal */
    s.best_metric = 0.75;
    s.best_epoch = 5;
    return s;
}

Test(train, state_round_trip_restores_everything_bit_for_bit)
{
    bruno_net a, b;
    bruno_optim oa, ob;
    bruno_plateau pa, pb;
    train_state sa = a_state(), sb;
    train_buf buf, buf2;
    char msg[256];
    size_t i;
    setup(&a, &oa, &pa, 1);
    setup(&b, &ob, &pb, 2); /* different values everywhere */
    oa.cfg.lr = 0.00123;
    cr_assert_eq(train_state_encode(&buf, "task=x\nlr=1\n", &sa, &a, &oa, &pa), 0);
    memset(&sb, 0, sizeof sb);
    cr_assert_eq(train_state_decode(buf.p, buf.n, "task=x\nlr=1\n", &sb, &b, &ob, &pb, msg, sizeof msg), 0, "%s", msg);
    cr_expect(memcmp(&sa.shuffle_rng.s, &sb.shuffle_rng.s, sizeof sa.shuffle_rng.s) == 0);
    cr_expect_eq(sb.shuffle_rng.has_cached, 1);
    cr_expect_eq(sb.shuffle_rng.cached_normal, sa.shuffle_rng.cached_normal);
    cr_expect_eq(sb.epochs_done, 7);
    cr_expect_eq(sb.best_epoch, 5);
    cr_expect(memcmp(a.rng.s, b.rng.s, sizeof a.rng.s) == 0, "network RNG");
    for (i = 0; i < a.n_params; ++i)
        cr_expect(memcmp(a.params[i].data, b.params[i].data, a.params[i].n * sizeof(bruno_real)) == 0, "%s",
                  a.params[i].name);
    cr_expect(memcmp(oa.m, ob.m, oa.n_total * sizeof(bruno_real)) == 0);
    cr_expect(memcmp(oa.u, ob.u, oa.n_total * sizeof(bruno_real)) == 0);
    cr_expect_eq(ob.t, oa.t);
    cr_expect_eq(ob.cfg.lr, 0.00123);
    cr_expect_eq(pb.best, pa.best);
    cr_expect_eq(pb.bad_epochs, pa.bad_epochs);
    /* encoding the restored objects gives the same bytes */
    cr_assert_eq(train_state_encode(&buf2, "task=x\nlr=1\n", &sb, &b, &ob, &pb), 0);
    cr_expect_eq(buf2.n, buf.n);
    cr_expect(memcmp(buf.p, buf2.p, buf.n) == 0);
    train_buf_free(&buf);
    train_buf_free(&buf2);
    bruno_optim_free(&oa);
    bruno_optim_free(&ob);
    bruno_net_free(&a);
    bruno_net_free(&b);
}

/* A state written before --model was renamed --neuron ("model=felif" in
   its configuration) resumes under "neuron=felif" and under nothing else. */
Test(train, a_state_from_before_the_neuron_rename_resumes_under_the_new_name)
{
    bruno_net a, b;
    bruno_optim oa, ob;
    bruno_plateau pa, pb;
    train_state sa = a_state(), sb;
    train_buf buf;
    char msg[256];
    const char *now[] = {"task=jsb\nneuron=felif\nbits=3\n", "neuron=felif\nbits=3\n"};
    const char *old[] = {"task=jsb\nmodel=felif\nbits=3\n", "model=felif\nbits=3\n"};
    const char *other[] = {"task=jsb\nneuron=snu\nbits=3\n", "neuron=felif\nbits=4\n"};
    int i;
    setup(&a, &oa, &pa, 1);
    setup(&b, &ob, &pb, 2);
    for (i = 0; i < 2; ++i) {
        cr_assert_eq(train_state_encode(&buf, old[i], &sa, &a, &oa, &pa), 0);
        cr_expect_eq(train_state_decode(buf.p, buf.n, now[i], &sb, &b, &ob, &pb, msg, sizeof msg), 0, "%s", msg);
        cr_expect_eq(train_state_decode(buf.p, buf.n, other[i], &sb, &b, &ob, &pb, msg, sizeof msg), -1);
        train_buf_free(&buf);
    }
    bruno_optim_free(&oa);
    bruno_optim_free(&ob);
    bruno_net_free(&a);
    bruno_net_free(&b);
}

/* Decoding must fail with `want` in the message and leave b untouched. */
static void expect_refused(const unsigned char *p, size_t n, const char *config, const char *want)
{
    bruno_net b;
    bruno_optim ob;
    bruno_plateau pb;
    train_state sb;
    char msg[256];
    bruno_real *copy;
    size_t i, off = 0, total = 0;
    setup(&b, &ob, &pb, 2);
    for (i = 0; i < b.n_params; ++i) total += b.params[i].n;
    copy = (bruno_real *)malloc(total * sizeof *copy);
    for (i = 0; i < b.n_params; ++i) {
        memcpy(copy + off, b.params[i].data, b.params[i].n * sizeof *copy);
        off += b.params[i].n;
    }
    memset(&sb, 0x5a, sizeof sb);
    cr_expect_eq(train_state_decode(p, n, config, &sb, &b, &ob, &pb, msg, sizeof msg), -1);
    cr_expect(strstr(msg, want) != NULL, "message '%s' should say '%s'", msg, want);
    for (i = 0, off = 0; i < b.n_params; ++i) {
        cr_expect(memcmp(copy + off, b.params[i].data, b.params[i].n * sizeof *copy) == 0, "%s changed", b.params[i].name);
        off += b.params[i].n;
    }
    cr_expect_eq(pb.bad_epochs, 2);
    free(copy);
    bruno_optim_free(&ob);
    bruno_net_free(&b);
}

Test(train, a_corrupt_truncated_or_foreign_state_is_refused_and_changes_nothing)
{
    bruno_net a;
    bruno_optim oa;
    bruno_plateau pa;
    train_state sa = a_state();
    train_buf buf;
    unsigned char *p;
    size_t i;
    setup(&a, &oa, &pa, 1);
    cr_assert_eq(train_state_encode(&buf, "task=x\nlr=1\n", &sa, &a, &oa, &pa), 0);
    p = (unsigned char *)malloc(buf.n);
    /* every single flipped bit of the payload is caught by the checksum */
    for (i = TRAIN_STATE_HEADER; i < buf.n; i += buf.n / 37 + 1) {
        memcpy(p, buf.p, buf.n);
        p[i] ^= 0x01;
        expect_refused(p, buf.n, "task=x\nlr=1\n", "checksum mismatch");
    }
    memcpy(p, buf.p, buf.n);
    expect_refused(p, buf.n - 1, "task=x\nlr=1\n", "truncated");
    expect_refused(p, 10, "task=x\nlr=1\n", "bad magic");
    p[0] = 'X';
    expect_refused(p, buf.n, "task=x\nlr=1\n", "bad magic");
    memcpy(p, buf.p, buf.n);
    p[8] = 99; /* version */
    expect_refused(p, buf.n, "task=x\nlr=1\n", "version");
    memcpy(p, buf.p, buf.n);
    p[16] = (unsigned char)(sizeof(bruno_real) == 4 ? 8 : 4);
    expect_refused(p, buf.n, "task=x\nlr=1\n", "reals");
    memcpy(p, buf.p, buf.n);
    expect_refused(p, buf.n, "task=x\nlr=2\n", "first difference: 'lr'");
    expect_refused(p, buf.n, "task=x\n", "first difference: 'lr'");
    free(p);
    train_buf_free(&buf);
    bruno_optim_free(&oa);
    bruno_net_free(&a);
}

typedef struct kv_seen {
    char keys[8][32], vals[8][32];
    int n;
} kv_seen;

static int kv_collect(const char *k, const char *v, void *user, char *msg, size_t n)
{
    kv_seen *s = (kv_seen *)user;
    if (strcmp(k, "bad") == 0) {
        snprintf(msg, n, "no '%s'", k);
        return -1;
    }
    snprintf(s->keys[s->n], 32, "%s", k);
    snprintf(s->vals[s->n], 32, "%s", v);
    s->n++;
    return 0;
}

Test(train, key_value_files_skip_comments_and_name_the_bad_line)
{
    kv_seen s;
    char msg[256];
    memset(&s, 0, sizeof s);
    cr_assert_eq(train_kv_parse("# found by a sweep\n\nlr = 2e-3  # comment\r\n  v-thr=3.0\nempty=\n", "f.txt",
                                kv_collect, &s, msg, sizeof msg), 0, "%s", msg);
    cr_assert_eq(s.n, 3);
    cr_expect_str_eq(s.keys[0], "lr");
    cr_expect_str_eq(s.vals[0], "2e-3");
    cr_expect_str_eq(s.keys[1], "v-thr");
    cr_expect_str_eq(s.vals[1], "3.0");
    cr_expect_str_eq(s.vals[2], "");
    cr_expect_eq(train_kv_parse("lr=1\nno equals sign\n", "f.txt", kv_collect, &s, msg, sizeof msg), -1);
    cr_expect_str_eq(msg, "f.txt:2: expected key=value, got 'no equals sign'");
    cr_expect_eq(train_kv_parse("a=1\n\nbad=2", "g", kv_collect, &s, msg, sizeof msg), -1);
    cr_expect_str_eq(msg, "g:3: no 'bad'");
}

Test(train, music_metrics_count_all_88_keys_after_the_warm_up)
{
    /* 3 steps, 2 cropped keys (keys 10, 11), skip 1 */
    bruno_real z[3 * 2] = {100, -100, /* skipped */ 0, 2, -3, 5};
    uint8_t roll[3 * 88];
    double q[88], want = 0;
    train_music m;
    int k;
    memset(roll, 0, sizeof roll);
    for (k = 0; k < 88; ++k) q[k] = 0.01;
    q[40] = 0.6;                  /* an outside key predicted on */
    roll[1 * 88 + 10] = 1;        /* t=1: key 10 on (z = 0: p = 0.5, predicted on: TP) */
    roll[1 * 88 + 11] = 0;        /* key 11 off, z = 2: FP */
    roll[2 * 88 + 11] = 1;        /* t=2: key 11 on, z = 5: TP; key 10 off, z = -3: TN */
    roll[2 * 88 + 50] = 1;        /* outside key on, q = 0.01: FN */
    memset(&m, 0, sizeof m);
    train_music_add(&m, z, 3, 2, 10, roll, q, 1);
    cr_expect_eq(m.frames, 2);
    cr_expect_eq(m.tp, 2);
    cr_expect_eq(m.fp, 1 + 2); /* z = 2 at t=1, and key 40 (q = 0.6) in both frames */
    cr_expect_eq(m.fn, 1);
    cr_expect_float_eq(train_music_accuracy(&m), 2.0 / 6.0, 1e-12);
    want += log(2.0) + log1p(exp(2.0)) + log1p(exp(-3.0)) + log1p(exp(-5.0)); /* cropped keys */
    want += 2 * (-log(0.4));                                                   /* key 40, off twice */
    want += -log(0.01) + (2 * 86 - 3) * -log1p(-0.01); /* key 50 on once; the rest off */
    cr_expect_float_eq(m.nll, want, 1e-9);
    cr_expect_float_eq(train_music_nll_per_frame(&m), want / 2, 1e-9);
    memset(&m, 0, sizeof m);
    cr_expect(isnan(train_music_accuracy(&m)));
    cr_expect(isnan(train_music_nll_per_frame(&m)));
}

/* ---- hostile state files and odd files (issue 16, classes 5 and 8) ---------------- */
/* A checksum proves the bytes are the ones written, not that a run can
   continue from them: a state written with values no run can have is
   refused like a corrupt one. */
Test(train, a_state_with_unusable_values_is_refused_and_changes_nothing)
{
    const char *cfg = "task=x\nlr=1\n";
    int k;
    for (k = 0; k < 9; ++k) {
        bruno_net a;
        bruno_optim oa;
        bruno_plateau pa;
        train_state sa = a_state();
        train_buf buf;
        setup(&a, &oa, &pa, 1);
        switch (k) {
        case 0: oa.cfg.eps = 0; break;
        case 1: oa.cfg.lr = NAN; break;
        case 2: oa.cfg.beta2 = 1.0; break;
        case 3: pa.factor = 0; break;
        case 4: pa.patience = -1; break;
        case 5: sa.best_epoch = sa.epochs_done + 1; break;
        case 6: sa.best_metric = NAN; break;
        case 7: a.params[0].data[1] = (bruno_real)NAN; break;
        default: oa.u[0] = (bruno_real)-1; break;
        }
        cr_assert_eq(train_state_encode(&buf, cfg, &sa, &a, &oa, &pa), 0);
        expect_refused(buf.p, buf.n, cfg, k < 7 ? "out of range" : "not finite");
        train_buf_free(&buf);
        bruno_optim_free(&oa);
        bruno_net_free(&a);
    }
}

Test(train, a_fifo_in_place_of_a_file_is_refused_without_blocking, .timeout = 20)
{
    char dir[] = "/tmp/bruno-fifo-XXXXXX", path[64], msg[256];
    bruno_net b;
    bruno_optim ob;
    bruno_plateau pb;
    train_state sb;
    cr_assert(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/state.bin", dir);
    cr_assert_eq(mkfifo(path, 0600), 0);
    setup(&b, &ob, &pb, 2);
    /* no writer ever opens the FIFO: a blocking open would hang here (the test's timeout says so) */
    cr_expect_eq(train_state_load(path, "task=x\n", &sb, &b, &ob, &pb, msg, sizeof msg), -1);
    cr_expect(strstr(msg, "not a regular file") != NULL, "%s", msg);
    cr_expect_null(train_read_file(path, NULL));
    cr_expect_null(train_read_file(dir, NULL), "a directory is not a file either");
    remove(path);
    rmdir(dir);
    bruno_optim_free(&ob);
    bruno_net_free(&b);
}
