/* senti.c: the sentiment model (see senti.h).
 *
 * Training. The seed model's softmax temperature is fitted on held-out seed rows (a fifth of each
 * class, the model trained on the rest), then the model is trained on every seed row. A tenant's
 * model trains on the seed plus each of the tenant's labelled messages SENTI_TENANT_WEIGHT times
 * and keeps the seed model's temperature; with enough labels it is first cross-validated over them
 * (each fold trains on the seed and the other folds), scored the way messages are, so the figure
 * an admin sees is the accuracy of the badge agents see. One training thread: callers already run
 * on a worker, and the pool has other work. */
#include "base/sys.h"

#include "nlp/senti.h"

#include <math.h>

#include "base/alloc.h"
#include "base/embed.h"
#include "base/err.h"
#include "nlp/sentiment.h"

const char *const senti_labels[SENTI_NCLASS] = {"negative", "neutral", "positive"};

int senti_label_parse(const char *label, size_t len)
{
    for (int c = 0; c < SENTI_NCLASS; c++)
        if (strlen(senti_labels[c]) == len && memcmp(senti_labels[c], label, len) == 0)
            return c;
    return -1;
}

double senti_label_score(int cls)
{
    return cls == SENTI_NEGATIVE ? -1.0 : cls == SENTI_POSITIVE ? 1.0 : 0.0;
}

size_t senti_seed(struct nlp_data *d)
{
    const struct embedded_file *f = nlp_embed;
    while (f->name && strcmp(f->name, "senti_seed.tsv") != 0)
        f++;
    if (!f->name)
        return 0;
    const char *p = f->data, *end = f->data + f->len;
    const char *nl = memchr(p, '\n', (size_t)(end - p)); /* the header */
    p = nl ? nl + 1 : end;
    size_t n = 0;
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *tab = memchr(p, '\t', (size_t)(le - p));
        if (tab && tab > p && le > tab + 1 && senti_label_parse(p, (size_t)(tab - p)) >= 0) {
            nlp_data_add(d, tab + 1, (size_t)(le - tab - 1), p, (size_t)(tab - p));
            n++;
        }
        p = nl ? nl + 1 : end;
    }
    return n;
}

void senti_free(struct senti_model *sm)
{
    if (!sm)
        return;
    nlp_model_free(sm->m);
    free(sm);
}

/* ---- scoring ---- */

/* A long text is scored on its opening and its close, where people say how they feel, so a
 * message costs the loop tens of microseconds whatever its length. Cuts fall between characters. */
enum { HEAD = 320, TAIL = 160 };

/* The start of the character at or before (back) or at or after (forward) byte at. */
static size_t char_start(const char *s, size_t len, size_t at, bool forward)
{
    while (at > 0 && at < len && ((unsigned char)s[at] & 0xC0) == 0x80)
        at += forward ? 1 : (size_t)-1;
    return at;
}

static double model_part(const struct senti_model *sm, struct feat_buf *fb, const char *text,
                         size_t len)
{
    float sc[SENTI_NCLASS], pr[SENTI_NCLASS];
    if (nlp_scores(sm->m, fb, text, len, sc) < 0)
        return NAN; /* nothing the model knows: it has no opinion */
    nlp_softmax(sm->m, sc, pr);
    return (double)pr[sm->cls[SENTI_POSITIVE]] - (double)pr[sm->cls[SENTI_NEGATIVE]];
}

void senti_parts(const struct senti_model *sm, struct feat_buf *fb, const char *text, size_t len,
                 struct senti_parts *p)
{
    char short_text[HEAD + 1 + TAIL];
    if (len > SENTI_TEXT_MAX) {
        size_t h = char_start(text, len, HEAD, false), t = char_start(text, len, len - TAIL, true);
        memcpy(short_text, text, h);
        short_text[h] = '\n';
        memcpy(short_text + h + 1, text + t, len - t);
        text = short_text;
        len = h + 1 + (len - t);
    }
    p->lex = sentiment_score(text, len);
    p->model = NAN;
    p->weight = sm ? sm->blend : SENTI_BLEND;
    if (!sm)
        return;
    p->model = model_part(sm, fb, text, len);
    if (sm->base && p->model == p->model) {
        /* where the account's corrections moved the model away from the seed model's opinion,
         * the model speaks louder: its share grows with the move, to all of it at 1 */
        double b = model_part(sm->base, fb, text, len);
        double move = fabs(p->model - (b == b ? b : 0));
        p->weight += (1.0 - p->weight) * (move < 1 ? move : 1);
    }
}

double senti_combine(const struct senti_parts *p)
{
    if (p->model != p->model)
        return p->lex;
    if (p->lex == 0)
        return p->model;
    return p->weight * p->model + (1.0 - p->weight) * p->lex;
}

double senti_score(const struct senti_model *sm, struct feat_buf *fb, const char *text, size_t len)
{
    struct senti_parts p;
    senti_parts(sm, fb, text, len, &p);
    return senti_combine(&p);
}

/* ---- training ---- */

static void add_row(struct nlp_data *d, const struct nlp_data *src, size_t i, int copies)
{
    const char *lab = src->labels[src->label[i]];
    for (int k = 0; k < copies; k++)
        nlp_data_add(d, src->text[i], src->len[i], lab, strlen(lab));
}

/* Stratified folds: each class's rows go round the folds in turn. Returns owned fold numbers. */
static int *folds(const struct nlp_data *d, int k)
{
    int *seen = xcalloc((size_t)(d->nclass > 0 ? d->nclass : 1), sizeof(*seen));
    int *fold = xmalloc((d->n ? d->n : 1) * sizeof(*fold));
    for (size_t i = 0; i < d->n; i++)
        fold[i] = seen[d->label[i]]++ % k;
    free(seen);
    return fold;
}

static const struct nlp_opts TRAIN = {.threads = 1, .seed = 1, .min_df = 2};

/* wrap: the model as a senti_model (classes looked up by name); takes m, also on failure. */
static int wrap(struct nlp_model *m, struct senti_model **out)
{
    struct senti_model *sm = xcalloc(1, sizeof(*sm));
    sm->m = m;
    sm->cv = sm->base_accuracy = NAN;
    sm->blend = SENTI_BLEND;
    for (int c = 0; c < SENTI_NCLASS; c++) {
        sm->cls[c] = -1;
        for (int q = 0; q < m->nclass; q++)
            if (strcmp(m->labels[q], senti_labels[c]) == 0)
                sm->cls[c] = q;
        if (sm->cls[c] < 0) { /* a class the seed must have */
            senti_free(sm);
            return ERR_INVAL;
        }
    }
    *out = sm;
    return 0;
}

/* The temperature of a model trained on four fifths of the seed, fitted on the other fifth. */
static int fit_temperature(const struct nlp_data *seed, float *temp)
{
    struct nlp_data tr, held;
    nlp_data_init(&tr);
    nlp_data_init(&held);
    int *fold = folds(seed, 5);
    for (size_t i = 0; i < seed->n; i++)
        add_row(fold[i] == 4 ? &held : &tr, seed, i, 1);
    free(fold);
    struct nlp_model *m = NULL;
    int rc = nlp_train(&tr, &TRAIN, &m);
    if (rc == 0 && (rc = nlp_calibrate(m, &held, NULL, 0)) == 0)
        *temp = m->temp;
    nlp_model_free(m);
    nlp_data_release(&tr);
    nlp_data_release(&held);
    return rc;
}

static bool right(double score, int truth)
{
    return strcmp(sentiment_label(score), senti_labels[truth]) == 0;
}

/* One held-out row of the cross-validation: the parts of its score and its label. */
struct held {
    struct senti_parts p;
    int truth;
};

/* k-fold over the tenant's rows, each fold trained on the seed and the other folds: fills
 * out[tenant->n] with each row's parts as scored by the model that did not see it. */
static int cross_validate(const struct nlp_data *seed, const struct nlp_data *tenant, int weight,
                          float temp, const struct senti_model *base, double blend,
                          struct held *out)
{
    int *fold = folds(tenant, SENTI_CV_FOLDS);
    struct feat_buf fb;
    feat_buf_init(&fb);
    int rc = 0;
    for (int k = 0; k < SENTI_CV_FOLDS && rc == 0; k++) {
        struct nlp_data tr;
        nlp_data_init(&tr);
        for (size_t i = 0; i < seed->n; i++)
            add_row(&tr, seed, i, 1);
        for (size_t i = 0; i < tenant->n; i++)
            if (fold[i] != k)
                add_row(&tr, tenant, i, weight);
        struct nlp_model *m = NULL;
        struct senti_model *sm = NULL;
        if ((rc = nlp_train(&tr, &TRAIN, &m)) == 0 && (rc = wrap(m, &sm)) == 0) {
            sm->m->temp = temp;
            sm->base = base;
            sm->blend = blend;
            for (size_t i = 0; i < tenant->n; i++) {
                if (fold[i] != k)
                    continue;
                senti_parts(sm, &fb, tenant->text[i], tenant->len[i], &out[i].p);
                const char *lab = tenant->labels[tenant->label[i]];
                out[i].truth = senti_label_parse(lab, strlen(lab));
            }
        }
        senti_free(sm);
        nlp_data_release(&tr);
    }
    feat_buf_release(&fb);
    free(fold);
    return rc;
}

static double accuracy(const struct held *h, size_t n)
{
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += right(senti_combine(&h[i].p), h[i].truth);
    return n ? (double)ok / (double)n : NAN;
}

int senti_train(const struct nlp_data *seed, const struct nlp_data *tenant,
                const struct senti_opts *o, struct senti_model **out)
{
    static const struct senti_opts dflt = {0};
    if (!o)
        o = &dflt;
    int weight = o->weight > 0 ? o->weight : SENTI_TENANT_WEIGHT;
    size_t nt = tenant ? tenant->n : 0;
    for (size_t i = 0; i < nt; i++) {
        const char *lab = tenant->labels[tenant->label[i]];
        if (senti_label_parse(lab, strlen(lab)) < 0)
            return ERR_INVAL;
    }
    float temp = 1.0f;
    int rc;
    if (o->base)
        temp = o->base->m->temp;
    else if ((rc = fit_temperature(seed, &temp)) < 0)
        return rc;
    double blend = o->blend > 0 ? o->blend : SENTI_BLEND;
    double cv = NAN, base_acc = NAN;
    if (nt >= SENTI_CV_MIN) {
        struct held *h = xcalloc(nt, sizeof(*h));
        if ((rc = cross_validate(seed, tenant, weight, temp, o->base, blend, h)) < 0) {
            free(h);
            return rc;
        }
        cv = accuracy(h, nt);
        if (o->base) { /* what the seed model alone gets right of the same rows */
            struct feat_buf fb;
            feat_buf_init(&fb);
            for (size_t i = 0; i < nt; i++)
                senti_parts(o->base, &fb, tenant->text[i], tenant->len[i], &h[i].p);
            feat_buf_release(&fb);
            base_acc = accuracy(h, nt);
        }
        free(h);
    }
    struct nlp_data all;
    nlp_data_init(&all);
    for (size_t i = 0; i < seed->n; i++)
        add_row(&all, seed, i, 1);
    for (size_t i = 0; i < nt; i++)
        add_row(&all, tenant, i, weight);
    struct nlp_model *m = NULL;
    rc = nlp_train(&all, &TRAIN, &m);
    nlp_data_release(&all);
    if (rc < 0)
        return rc;
    if ((rc = wrap(m, out)) < 0)
        return rc;
    (*out)->m->temp = temp;
    (*out)->blend = blend;
    (*out)->base = o->base;
    (*out)->examples = seed->n + nt;
    (*out)->tenant_examples = nt;
    (*out)->cv = cv;
    (*out)->base_accuracy = base_acc;
    return 0;
}
