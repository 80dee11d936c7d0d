/* eval.c: `parleyd nlp-eval`, which trains the classifier on a labelled file and scores it on
 * another, printing key=value lines. It is how the engine is measured against public data sets
 * (docs/performance.md, "Bot"), and it uses exactly the code the product trains with.
 *
 *   parleyd nlp-eval --train FILE --test FILE [--val FILE] [--oos-label LABEL]
 *                    [--format tsv|csv] [--per-class N] [--seed N] [--c X] [--threads N]
 *                    [--pair-c X|-1] [--pair-weight X] [--calibrate refit|split]
 *                    [--label-names on|off]
 *
 * tsv: a header line, then label<TAB>text. csv: RFC 4180 with a header; text, then label.
 * Without --val, a tenth of the training rows (every class represented) is held out: the one
 * training also refits each machine without them, warm-started (model.h, held_out), and the
 * temperature and threshold are fitted on their scores. --calibrate split instead trains a second,
 * pair-less model on the other nine tenths, as earlier versions did (slower; about the same fit).
 * --per-class N keeps N training rows per class, drawn with --seed (the few-shot setting). Each
 * label that has a letter in it also trains as a text of its class, as the product does with an
 * intent's name (model.h, nlp_name_example); --label-names off stops that. */
#include "base/sys.h"

#include "nlp/eval.h"

#include <math.h>
#include <time.h>

#include "base/alloc.h"
#include "base/err.h"
#include "nlp/model.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct buf b;
    buf_init(&b, (size_t)1 << 31);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(&b, chunk, n) < 0) {
            snprintf(err, errlen, "%s is larger than 2 GB", path);
            fclose(f);
            buf_release(&b);
            return NULL;
        }
    }
    fclose(f);
    return buf_take(&b, len);
}

/* One CSV field from p (RFC 4180: quoted fields may hold commas, newlines and "" for a quote).
 * Writes the unquoted value into out; returns the position after the field's delimiter, and sets
 * *eol when the field ended its record. Returns NULL on an unterminated quote. */
static const char *csv_field(const char *p, const char *end, struct buf *out, bool *eol)
{
    buf_reset(out);
    *eol = false;
    if (p < end && *p == '"') {
        p++;
        for (;;) {
            if (p >= end)
                return NULL;
            if (*p == '"') {
                if (p + 1 < end && p[1] == '"') {
                    buf_putc(out, '"');
                    p += 2;
                    continue;
                }
                p++;
                break;
            }
            buf_putc(out, *p++);
        }
    } else {
        while (p < end && *p != ',' && *p != '\n' && *p != '\r')
            buf_putc(out, *p++);
    }
    if (p < end && *p == ',')
        return p + 1;
    if (p < end && *p == '\r')
        p++;
    if (p < end && *p == '\n')
        p++;
    *eol = true;
    return p;
}

int nlp_eval_read(const char *path, bool csv, struct nlp_data *d, char *err, size_t errlen)
{
    size_t len;
    char *text = slurp(path, &len, err, errlen);
    if (!text)
        return ERR_IO;
    const char *p = text, *end = text + len;
    int rc = 0;
    size_t line = 1;
    /* skip the header record */
    if (csv) {
        struct buf f;
        buf_init(&f, 1 << 20);
        bool eol = false;
        while (p && p < end && !eol)
            p = csv_field(p, end, &f, &eol);
        struct buf t, l;
        buf_init(&t, 1 << 20);
        buf_init(&l, 1 << 20);
        while (p && p < end) {
            line++;
            p = csv_field(p, end, &t, &eol);
            if (!p || eol) {
                if (p && t.len == 0 && eol)
                    continue; /* blank line */
                snprintf(err, errlen, "%s: record %zu: expected text,label", path, line);
                rc = ERR_VALIDATION;
                break;
            }
            p = csv_field(p, end, &l, &eol);
            if (!p) {
                snprintf(err, errlen, "%s: record %zu: unterminated quote", path, line);
                rc = ERR_VALIDATION;
                break;
            }
            while (!eol && p) /* extra columns are ignored */
                p = csv_field(p, end, &f, &eol);
            if (l.len == 0) {
                snprintf(err, errlen, "%s: record %zu: empty label", path, line);
                rc = ERR_VALIDATION;
                break;
            }
            nlp_data_add(d, t.p ? t.p : "", t.len, l.p, l.len);
        }
        buf_release(&f);
        buf_release(&t);
        buf_release(&l);
    } else {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
        while (p < end) {
            line++;
            nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            const char *next = nl ? nl + 1 : end;
            if (le > p && le[-1] == '\r')
                le--;
            if (le == p) {
                p = next;
                continue;
            }
            const char *tab = memchr(p, '\t', (size_t)(le - p));
            if (!tab || tab == p) {
                snprintf(err, errlen, "%s: line %zu: expected label<TAB>text", path, line);
                rc = ERR_VALIDATION;
                break;
            }
            nlp_data_add(d, tab + 1, (size_t)(le - tab - 1), p, (size_t)(tab - p));
            p = next;
        }
    }
    free(text);
    if (rc == 0 && d->n == 0) {
        snprintf(err, errlen, "%s has no rows", path);
        rc = ERR_VALIDATION;
    }
    return rc;
}

/* The rows of src whose label is not oos; with per_class > 0, at most per_class of each class,
 * drawn with seed. */
static void subset(const struct nlp_data *src, struct nlp_data *dst, const char *oos, int per_class,
                   uint64_t seed)
{
    size_t *ord = xmalloc(src->n * sizeof(*ord));
    for (size_t i = 0; i < src->n; i++)
        ord[i] = i;
    uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (size_t i = src->n; i > 1; i--) { /* Fisher-Yates */
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        size_t j = s % i;
        size_t t = ord[i - 1];
        ord[i - 1] = ord[j];
        ord[j] = t;
    }
    int *taken = xcalloc((size_t)src->nclass, sizeof(*taken));
    for (size_t k = 0; k < src->n; k++) {
        size_t i = per_class > 0 ? ord[k] : k;
        const char *lab = src->labels[src->label[i]];
        if (oos && strcmp(lab, oos) == 0)
            continue;
        if (per_class > 0 && taken[src->label[i]]++ >= per_class)
            continue;
        nlp_data_add(dst, src->text[i], src->len[i], lab, strlen(lab));
    }
    free(taken);
    free(ord);
}

/* Whether the next row of class label is held out for calibration: every tenth row of each class,
 * the first one never, so each class trains. seen counts the rows of each class so far. */
static bool held_row(int *seen, int label)
{
    return seen[label]++ % 10 == 9;
}

/* split: every tenth of the file's rows (the first nrows) of each class to held, the rest (and the
 * label names after them) to train. */
static void split(const struct nlp_data *src, size_t nrows, struct nlp_data *train,
                  struct nlp_data *held)
{
    int *seen = xcalloc((size_t)src->nclass, sizeof(*seen));
    for (size_t i = 0; i < src->n; i++) {
        const char *lab = src->labels[src->label[i]];
        bool hold = i < nrows && held_row(seen, src->label[i]);
        nlp_data_add(hold ? held : train, src->text[i], src->len[i], lab, strlen(lab));
    }
    free(seen);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: parleyd nlp-eval --train FILE --test FILE [--val FILE] [--oos-label LABEL]\n"
            "                        [--format tsv|csv] [--per-class N] [--seed N] [--c X] "
            "[--threads N]\n"
            "                        [--pair-c X|-1] [--pair-weight X] [--calibrate refit|split]\n"
            "                        [--label-names on|off]\n");
}

int nlp_eval_main(int argc, char **argv)
{
    const char *train_path = NULL, *test_path = NULL, *val_path = NULL, *oos = NULL, *format = NULL;
    struct nlp_opts o = {0};
    int per_class = 0;
    uint64_t seed = 1;
    bool split_calib = false, names = true;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 0;
        }
        if (!v) {
            fprintf(stderr, "parleyd nlp-eval: %s needs a value\n", a);
            usage();
            return 2;
        }
        char *e = NULL;
        if (strcmp(a, "--train") == 0)
            train_path = v;
        else if (strcmp(a, "--test") == 0)
            test_path = v;
        else if (strcmp(a, "--val") == 0)
            val_path = v;
        else if (strcmp(a, "--oos-label") == 0)
            oos = v;
        else if (strcmp(a, "--format") == 0)
            format = v;
        else if (strcmp(a, "--label-names") == 0) {
            if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
                fprintf(stderr, "parleyd nlp-eval: --label-names must be on or off\n");
                return 2;
            }
            names = strcmp(v, "on") == 0;
        } else if (strcmp(a, "--calibrate") == 0) {
            if (strcmp(v, "refit") != 0 && strcmp(v, "split") != 0) {
                fprintf(stderr, "parleyd nlp-eval: --calibrate must be refit or split\n");
                return 2;
            }
            split_calib = strcmp(v, "split") == 0;
        } else if (strcmp(a, "--per-class") == 0) {
            long n = strtol(v, &e, 10);
            if (*e || n < 1 || n > 1000000) {
                fprintf(stderr, "parleyd nlp-eval: --per-class must be a positive whole number\n");
                return 2;
            }
            per_class = (int)n;
        } else if (strcmp(a, "--seed") == 0) {
            unsigned long long n = strtoull(v, &e, 10);
            if (*e || *v == '-') {
                fprintf(stderr, "parleyd nlp-eval: --seed must be a whole number\n");
                return 2;
            }
            seed = n;
        } else if (strcmp(a, "--c") == 0) {
            double c = strtod(v, &e);
            if (*e || !(c > 0) || c > 1e6) {
                fprintf(stderr, "parleyd nlp-eval: --c must be a positive number\n");
                return 2;
            }
            o.c = c;
        } else if (strcmp(a, "--pair-c") == 0 || strcmp(a, "--pair-weight") == 0) {
            double c = strtod(v, &e);
            bool pc = strcmp(a, "--pair-c") == 0;
            if (*e || !(c > 0 || (pc && c == -1)) || c > 1e6) {
                fprintf(stderr, "parleyd nlp-eval: %s must be a %s number\n", a,
                        pc ? "positive (or -1: no pairwise machines)" : "positive");
                return 2;
            }
            if (pc)
                o.pair_c = c;
            else
                o.pair_weight = c;
        } else if (strcmp(a, "--threads") == 0) {
            long n = strtol(v, &e, 10);
            if (*e || n < 1 || n > 16) {
                fprintf(stderr, "parleyd nlp-eval: --threads must be 1..16\n");
                return 2;
            }
            o.threads = (int)n;
        } else {
            fprintf(stderr, "parleyd nlp-eval: unknown option %s\n", a);
            usage();
            return 2;
        }
        i++;
    }
    if (!train_path || !test_path) {
        fprintf(stderr, "parleyd nlp-eval: --train and --test are required\n");
        usage();
        return 2;
    }
    bool csv;
    if (format) {
        if (strcmp(format, "csv") != 0 && strcmp(format, "tsv") != 0) {
            fprintf(stderr, "parleyd nlp-eval: --format must be tsv or csv\n");
            return 2;
        }
        csv = strcmp(format, "csv") == 0;
    } else {
        size_t l = strlen(train_path);
        csv = l >= 4 && strcmp(train_path + l - 4, ".csv") == 0;
    }
    o.seed = seed;

    char err[512];
    struct nlp_data raw, train, test, val;
    nlp_data_init(&raw);
    nlp_data_init(&train);
    nlp_data_init(&test);
    nlp_data_init(&val);
    int status = 1;
    if (nlp_eval_read(train_path, csv, &raw, err, sizeof(err)) < 0 ||
        nlp_eval_read(test_path, csv, &test, err, sizeof(err)) < 0 ||
        (val_path && nlp_eval_read(val_path, csv, &val, err, sizeof(err)) < 0)) {
        fprintf(stderr, "parleyd nlp-eval: %s\n", err);
        goto out;
    }
    subset(&raw, &train, oos, per_class, seed);
    size_t nrows = train.n; /* the file's rows; the label names come after them */
    if (names) {
        int nc0 = train.nclass;
        for (int c = 0; c < nc0; c++) {
            char tx[256];
            size_t l = nlp_name_example(train.labels[c], tx, sizeof(tx));
            if (l > 0)
                nlp_data_add(&train, tx, l, train.labels[c], strlen(train.labels[c]));
        }
    }
    if (train.nclass < 2) {
        fprintf(stderr, "parleyd nlp-eval: the training data needs at least two labels\n");
        goto out;
    }

    double t0 = now_s();
    struct nlp_model *m = NULL;
    int rc;
    if (val_path) {
        if ((rc = nlp_train(&train, &o, &m)) == 0)
            rc = nlp_calibrate(m, &val, oos, 0.0);
    } else if (!split_calib) {
        /* hold out what split() would, score it from warm-started refits, calibrate on that */
        size_t nc = (size_t)train.nclass, nh = 0;
        bool *hold = xmalloc(train.n * sizeof(*hold));
        int *seen = xcalloc(nc, sizeof(*seen));
        for (size_t i = 0; i < train.n; i++) {
            hold[i] = i < nrows && held_row(seen, train.label[i]);
            nh += hold[i];
        }
        free(seen);
        float *ho = xmalloc(train.n * nc * sizeof(*ho));
        struct nlp_opts lo = o;
        lo.hold = hold;
        lo.held_out = ho;
        if ((rc = nlp_train(&train, &lo, &m)) == 0 && nh > 0) {
            int *truth = xmalloc(nh * sizeof(*truth));
            size_t k = 0;
            for (size_t i = 0; i < train.n; i++) { /* pack the held rows' scores to the front */
                if (!hold[i])
                    continue;
                memmove(ho + k * nc, ho + i * nc, nc * sizeof(*ho));
                truth[k++] = train.label[i]; /* the model's classes are the data's, in order */
            }
            nlp_calibrate_scores(m, ho, truth, nh, 0.02);
            if (!oos)
                m->threshold = 0;
            free(truth);
        }
        free(ho);
        free(hold);
    } else {
        struct nlp_data part, held;
        nlp_data_init(&part);
        nlp_data_init(&held);
        split(&train, nrows, &part, &held);
        struct nlp_model *pm = NULL;
        /* the temperature does not depend on the pairwise machines (they only reorder the two
         * best scores), so the calibration model does without them */
        struct nlp_opts po = o;
        po.pair_c = -1;
        rc = part.nclass >= 2 && held.n > 0 ? nlp_train(&part, &po, &pm) : ERR_INVAL;
        if (rc == 0 && (rc = nlp_train(&train, &o, &m)) == 0) {
            nlp_calibrate(pm, &held, NULL, 0.02);
            m->temp = pm->temp;
            m->threshold = oos ? pm->threshold : 0;
        } else if (rc == ERR_INVAL) { /* too few rows to hold any out: train, uncalibrated */
            rc = nlp_train(&train, &o, &m);
        }
        nlp_model_free(pm);
        nlp_data_release(&part);
        nlp_data_release(&held);
    }
    double train_s = now_s() - t0;
    if (rc < 0) {
        fprintf(stderr, "parleyd nlp-eval: training failed: %s\n", err_str(rc));
        goto out;
    }

    /* score */
    int nc = m->nclass;
    size_t *tp = xcalloc((size_t)nc + 1, sizeof(*tp)), *fp = xcalloc((size_t)nc + 1, sizeof(*fp)),
           *fn = xcalloc((size_t)nc + 1, sizeof(*fn));
    size_t right = 0, in_n = 0, in_right = 0, oos_n = 0, oos_right = 0;
    struct feat_buf fb;
    feat_buf_init(&fb);
    double q0 = now_s();
    for (size_t i = 0; i < test.n; i++) {
        float p;
        int best = nlp_predict(m, &fb, test.text[i], test.len[i], NULL, &p);
        const char *lab = test.labels[test.label[i]];
        bool is_oos = oos && strcmp(lab, oos) == 0;
        int truth = nc; /* nc stands for "out of scope" or an unknown label */
        for (int c = 0; c < nc && !is_oos; c++)
            if (strcmp(m->labels[c], lab) == 0)
                truth = c;
        int guess = oos && p < m->threshold ? nc : best;
        if (guess == truth) {
            right++;
            tp[truth]++;
        } else {
            fp[guess]++;
            fn[truth]++;
        }
        if (is_oos) {
            oos_n++;
            oos_right += guess == nc;
        } else {
            in_n++;
            in_right += guess == truth;
        }
    }
    double us_q = (now_s() - q0) * 1e6 / (double)(test.n ? test.n : 1);
    feat_buf_release(&fb);
    double f1sum = 0;
    int f1n = 0;
    for (int c = 0; c <= nc; c++) {
        if (tp[c] + fn[c] == 0 && (c == nc || tp[c] + fp[c] == 0))
            continue; /* a class absent from the test set and never predicted */
        double prec = tp[c] + fp[c] ? (double)tp[c] / (double)(tp[c] + fp[c]) : 0;
        double rec = tp[c] + fn[c] ? (double)tp[c] / (double)(tp[c] + fn[c]) : 0;
        f1sum += prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0;
        f1n++;
    }
    printf("train_rows=%zu\nlabel_names=%zu\ntest_rows=%zu\nclasses=%d\nfeatures=%zu\n", nrows,
           train.n - nrows, test.n, nc, m->nfeat);
    printf("accuracy=%.4f\nmacro_f1=%.4f\ntrain_seconds=%.3f\nus_per_query=%.1f\n",
           (double)right / (double)(test.n ? test.n : 1), f1n ? f1sum / f1n : 0, train_s, us_q);
    printf("temperature=%.4f\npairs=%zu\npair_weights=%zu\n", (double)m->temp, m->npair,
           m->npair ? m->poff[m->npair] : 0);
    if (oos) {
        printf("threshold=%.4f\nin_scope_accuracy=%.4f\noos_recall=%.4f\n", (double)m->threshold,
               in_n ? (double)in_right / (double)in_n : 0,
               oos_n ? (double)oos_right / (double)oos_n : 0);
    }
    free(tp);
    free(fp);
    free(fn);
    nlp_model_free(m);
    status = 0;
out:
    nlp_data_release(&raw);
    nlp_data_release(&train);
    nlp_data_release(&test);
    nlp_data_release(&val);
    return status;
}
