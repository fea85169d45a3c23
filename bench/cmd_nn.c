/* cmd_nn.c - bruno-bench nn: a 1-nearest-neighbour classifier on a Braille
   split, the baseline that puts a table of trained networks to scale.

   The split is the one `bruno-bench train` feeds its network (the same
   bruno_data prepare call, the same defaults: split seed 0, 80 % train per
   class; --eval val: the training split minus its validation carve, scored
   on that carve, the test split never read). Every sample is its whole
   [steps][channels] input as one vector; the classifier assigns a test
   sample the label of its nearest training sample in Euclidean distance (a
   tie: the lower training index). datasets/check_split.py computes the same
   classifier on the raw file's 40 Hz z-scored data (before the pipeline's
   upsampling); this is the network's own input, so the events task, whose
   0/1 bins no z-score applies to, is measured the same way as the raw one.
   Events: one row per bin width of --bin-s (a list), since a bin decides
   which events count as coincident.

   Writes CSV: task,eval,bin_s,n_steps,n_channels,n_train,n_test,correct,acc */
#include "bench.h"
#include "datasets/bruno_data.h"

#include <stdlib.h>
#include <string.h>

/* nonzero entries of every sample: sparse, since an event sample is mostly 0 bins */
typedef struct nn_sparse {
    size_t *start;   /* [n + 1] */
    uint32_t *idx;   /* [nnz] position in the flat [steps][channels] vector */
    double *val;     /* [nnz] */
    double *sq;      /* [n] squared norm */
} nn_sparse;

static void nn_free(nn_sparse *s)
{
    free(s->start);
    free(s->idx);
    free(s->val);
    free(s->sq);
    memset(s, 0, sizeof *s);   /* freed twice is freed once */
}

static int nn_build(const bruno_data_seq *d, nn_sparse *s)
{
    size_t dim = d->n_steps * d->n_channels, i, k, nnz = 0;
    memset(s, 0, sizeof *s);
    if (dim > UINT32_MAX) return -1;
    for (k = 0; k < d->n_samples * dim; ++k) nnz += d->x[k] != 0;
    s->start = (size_t *)malloc((d->n_samples + 1) * sizeof *s->start);
    s->idx = (uint32_t *)malloc((nnz ? nnz : 1) * sizeof *s->idx);
    s->val = (double *)malloc((nnz ? nnz : 1) * sizeof *s->val);
    s->sq = (double *)calloc(d->n_samples ? d->n_samples : 1, sizeof *s->sq);
    if (!s->start || !s->idx || !s->val || !s->sq) {
        nn_free(s);
        return -1;
    }
    nnz = 0;
    for (i = 0; i < d->n_samples; ++i) {
        const bruno_real *x = d->x + i * dim;
        s->start[i] = nnz;
        for (k = 0; k < dim; ++k)
            if (x[k] != 0) {
                s->idx[nnz] = (uint32_t)k;
                s->val[nnz++] = (double)x[k];
                s->sq[i] += (double)x[k] * (double)x[k];
            }
    }
    s->start[d->n_samples] = nnz;
    return 0;
}

/* test samples whose nearest training sample has their label */
static size_t nn_correct(const bruno_data_seq *tr, const nn_sparse *a, const bruno_data_seq *te, const nn_sparse *b)
{
    size_t i, j, correct = 0;
    for (i = 0; i < te->n_samples; ++i) {
        double best = 0;
        size_t bj = 0;
        for (j = 0; j < tr->n_samples; ++j) {
            size_t p = a->start[j], q = b->start[i];
            double dot = 0, d2;
            while (p < a->start[j + 1] && q < b->start[i + 1]) {   /* merge of two sorted index lists */
                if (a->idx[p] < b->idx[q]) ++p;
                else if (a->idx[p] > b->idx[q]) ++q;
                else dot += a->val[p++] * b->val[q++];
            }
            d2 = a->sq[j] + b->sq[i] - 2 * dot;
            if (j == 0 || d2 < best) {
                best = d2;
                bj = j;
            }
        }
        correct += tr->n_samples && tr->label[bj] == te->label[i];
    }
    return correct;
}

int bench_cmd_nn(int argc, char **argv)
{
    const char *task = NULL, *eval = "test", *out_path = NULL, *data_file = NULL, *data_dir = NULL;
    const char *bins = "5e-3";
    uint64_t split_seed = 0, val_seed = 0;
    double val_fraction = 0.2;
    bench_opt opts[] = {
        {"task", BENCH_OPT_STRING, &task, "braille-raw or braille-events (required)", 0},
        {"eval", BENCH_OPT_STRING, &eval, "test (default) or val: the validation carve of the training split", 0},
        {"val-fraction", BENCH_OPT_DOUBLE, &val_fraction, "--eval val: share held out per class (default 0.2)", 0},
        {"val-seed", BENCH_OPT_U64, &val_seed, "--eval val: seed of the carve (default 0)", 0},
        {"split-seed", BENCH_OPT_U64, &split_seed, "train/test split seed (default 0, as train)", 0},
        {"bin-s", BENCH_OPT_STRING, &bins, "braille-events: bin widths in s, a comma list (default 5e-3)", 0},
        {"data-file", BENCH_OPT_STRING, &data_file, "the data file (default: found as train finds it)", 0},
        {"data-dir", BENCH_OPT_STRING, &data_dir, "a directory to look in first", 0},
        {"out", BENCH_OPT_STRING, &out_path, "CSV output (default stdout)", 0},
    };
    int n_opts = (int)(sizeof opts / sizeof opts[0]), help = 0, rc, events, val;
    char path[1024], msg[512], item[64];
    const char *s;
    bruno_data_braille_events ev;
    bruno_data_braille_raw raw;
    bench_out out;
    bruno_result r = BRUNO_OK;

    rc = bench_opts_parse("nn", "1-nearest-neighbour accuracy on a Braille split (the tables' baseline).", opts,
                          n_opts, argc, argv, &help);
    if (rc || help) return rc;
    if (!task || (strcmp(task, "braille-raw") && strcmp(task, "braille-events"))) {
        fprintf(stderr, "bruno-bench nn: --task must be braille-raw or braille-events\n");
        return BENCH_EXIT_USAGE;
    }
    if (strcmp(eval, "test") && strcmp(eval, "val")) {
        fprintf(stderr, "bruno-bench nn: --eval must be test or val\n");
        return BENCH_EXIT_USAGE;
    }
    if (!(val_fraction > 0 && val_fraction < 1)) {
        fprintf(stderr, "bruno-bench nn: --val-fraction must be in (0, 1)\n");
        return BENCH_EXIT_USAGE;
    }
    events = strcmp(task, "braille-events") == 0;
    val = strcmp(eval, "val") == 0;
    /* every bin width parses before any work */
    for (s = bins; (rc = bench_list_next(&s, item, sizeof item)) == 1;) {
        double b;
        if (bench_parse_double(item, &b) != 0 || !(b > 0)) rc = -1;
        if (rc < 0) break;
    }
    if (rc < 0 || !*bins) {
        fprintf(stderr, "bruno-bench nn: --bin-s must be a comma list of widths > 0 s, got '%s'\n", bins);
        return BENCH_EXIT_USAGE;
    }
    if (bench_find_data(data_file, data_dir,
                        events ? "braille/braille_th10_events.bin" : "braille/braille_raw2021_40hz.bin", path,
                        sizeof path) != 0) {
        fprintf(stderr, "bruno-bench nn: data file %s not found (--data-file, --data-dir, $BRUNO_DATA_DIR, "
                        "datasets/data/, ../shared/datasets/); run `make datasets`\n", path);
        return BENCH_EXIT_FAIL;
    }
    memset(&ev, 0, sizeof ev);
    memset(&raw, 0, sizeof raw);
    r = events ? bruno_data_braille_events_load(&ev, path, NULL, msg, sizeof msg)
               : bruno_data_braille_raw_load(&raw, path, NULL, msg, sizeof msg);
    if (r != BRUNO_OK) {
        fprintf(stderr, "bruno-bench nn: %s\n", msg);
        return BENCH_EXIT_FAIL;
    }
    if (bench_out_open(&out, out_path) != 0) {
        rc = BENCH_EXIT_FAIL;
        goto done;
    }
    fprintf(out.f, "task,eval,bin_s,n_steps,n_channels,n_train,n_test,correct,acc\n");
    rc = BENCH_EXIT_OK;
    for (s = events ? bins : "0"; bench_list_next(&s, item, sizeof item) == 1;) {
        bruno_data_seq tr, te;
        nn_sparse a, b;
        size_t correct;
        double bin = 0;
        memset(&tr, 0, sizeof tr);
        memset(&te, 0, sizeof te);
        if (events) {
            bruno_data_braille_events_config c = bruno_data_braille_events_config_default();
            bench_parse_double(item, &bin);
            c.seed = split_seed;
            c.bin_s = bin;
            c.val_fraction = val ? val_fraction : 0.0;
            c.val_seed = val_seed;
            r = bruno_data_braille_events_prepare(&ev, &c, &tr, &te, NULL, msg, sizeof msg);
        } else {
            bruno_data_braille_raw_config c = bruno_data_braille_raw_config_default();
            c.seed = split_seed;
            c.val_fraction = val ? val_fraction : 0.0;
            c.val_seed = val_seed;
            r = bruno_data_braille_raw_prepare(&raw, &c, &tr, &te, msg, sizeof msg);
        }
        if (r != BRUNO_OK) {
            fprintf(stderr, "bruno-bench nn: %s\n", msg);
            rc = BENCH_EXIT_FAIL;
            break;
        }
        if (nn_build(&tr, &a) != 0 || nn_build(&te, &b) != 0) {
            fprintf(stderr, "bruno-bench nn: out of memory\n");
            nn_free(&a);
            bruno_data_seq_free(&tr);
            bruno_data_seq_free(&te);
            rc = BENCH_EXIT_FAIL;
            break;
        }
        correct = nn_correct(&tr, &a, &te, &b);
        fprintf(out.f, "%s,%s,%.6g,%zu,%zu,%zu,%zu,%zu,%.6f\n", task, eval, bin, tr.n_steps, tr.n_channels,
                tr.n_samples, te.n_samples, correct, te.n_samples ? (double)correct / (double)te.n_samples : 0.0);
        nn_free(&a);
        nn_free(&b);
        bruno_data_seq_free(&tr);
        bruno_data_seq_free(&te);
    }
    if (rc == BENCH_EXIT_OK && bench_out_commit(&out) != 0) rc = BENCH_EXIT_FAIL;
    if (rc != BENCH_EXIT_OK) bench_out_abort(&out);
done:
    if (events) bruno_data_braille_events_free(&ev);
    else bruno_data_braille_raw_free(&raw);
    return rc;
}
