/* model.c: training, prediction, calibration and (de)serialisation of the text classifier.
 *
 * Weighting is scikit-learn's TfidfVectorizer(sublinear_tf=True) per view: (1 + ln tf) * idf with
 * idf = ln((1 + n) / (1 + df)) + 1, each view L2-normalised on its own, the views concatenated.
 * Training is LIBLINEAR's dual coordinate descent for the L2-loss SVM with shrinking (Hsieh et al.
 * 2008, Algorithm 3), one class against the rest, classes shared out over a few threads. Each class
 * has its own seeded visiting order, so the model does not depend on the thread count. */
#include "base/sys.h"

#include "nlp/model.h"

#include <math.h>
#include <pthread.h>

#include "base/alloc.h"
#include "base/err.h"

/* ---- data ---- */

void nlp_data_init(struct nlp_data *d)
{
    memset(d, 0, sizeof(*d));
}

void nlp_data_release(struct nlp_data *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->text[i]);
    for (int c = 0; c < d->nclass; c++)
        free(d->labels[c]);
    free(d->text);
    free(d->len);
    free(d->label);
    free(d->labels);
    memset(d, 0, sizeof(*d));
}

int nlp_data_label(const struct nlp_data *d, const char *label, size_t llen)
{
    for (int c = 0; c < d->nclass; c++)
        if (strlen(d->labels[c]) == llen && memcmp(d->labels[c], label, llen) == 0)
            return c;
    return -1;
}

void nlp_data_add(struct nlp_data *d, const char *text, size_t len, const char *label, size_t llen)
{
    int c = nlp_data_label(d, label, llen);
    if (c < 0) {
        d->labels = xrealloc(d->labels, (size_t)(d->nclass + 1) * sizeof(*d->labels));
        d->labels[d->nclass] = xstrndup(label, llen);
        c = d->nclass++;
    }
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 256;
        d->text = xrealloc(d->text, d->cap * sizeof(*d->text));
        d->len = xrealloc(d->len, d->cap * sizeof(*d->len));
        d->label = xrealloc(d->label, d->cap * sizeof(*d->label));
    }
    d->text[d->n] = xstrndup(text, len);
    d->len[d->n] = len;
    d->label[d->n] = c;
    d->n++;
}

/* ---- the key -> feature table ---- */

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static void table_build(struct nlp_model *m)
{
    size_t cap = 16;
    while (cap < m->nfeat * 2)
        cap *= 2;
    m->tcap = cap;
    m->tkey = xmalloc(cap * sizeof(*m->tkey));
    m->tval = xmalloc(cap * sizeof(*m->tval));
    for (size_t i = 0; i < cap; i++)
        m->tval[i] = UINT32_MAX;
    for (size_t f = 0; f < m->nfeat; f++) {
        size_t i = mix64(m->keys[f]) & (cap - 1);
        while (m->tval[i] != UINT32_MAX)
            i = (i + 1) & (cap - 1);
        m->tkey[i] = m->keys[f];
        m->tval[i] = (uint32_t)f;
    }
}

static inline int64_t table_find(const struct nlp_model *m, uint64_t key)
{
    size_t i = mix64(key) & (m->tcap - 1);
    while (m->tval[i] != UINT32_MAX) {
        if (m->tkey[i] == key)
            return m->tval[i];
        i = (i + 1) & (m->tcap - 1);
    }
    return -1;
}

static inline uint64_t feat_key(const struct feat *f)
{
    return ((uint64_t)f->view << 32) | f->hash;
}

void nlp_model_free(struct nlp_model *m)
{
    if (!m)
        return;
    for (int c = 0; c < m->nclass; c++)
        free(m->labels[c]);
    free(m->labels);
    free(m->keys);
    free(m->idf);
    free(m->w);
    free(m->bias);
    free(m->tkey);
    free(m->tval);
    free(m->pa);
    free(m->pb);
    free(m->pbias);
    free(m->poff);
    free(m->pidx);
    free(m->pval);
    free(m);
}

/* ---- vectorising ---- */

/* A sparse vector: feature indexes and values. */
struct svec {
    uint32_t *idx;
    float *val;
    size_t n;
};

/* Turns the merged features of fb into tf-idf values, L2-normalised per view, dropping features the
 * model does not know. idx/val must hold fb->n entries. Returns the count kept. */
static size_t vectorise(const struct nlp_model *m, const struct feat_buf *fb, uint32_t *idx,
                        float *val)
{
    size_t n = 0;
    double norm[FEAT_NVIEWS] = {0};
    size_t start[FEAT_NVIEWS + 1] = {0};
    int view = 0;
    for (size_t i = 0; i < fb->n; i++) {
        int64_t f = table_find(m, feat_key(&fb->f[i]));
        if (f < 0)
            continue;
        while (view < fb->f[i].view)
            start[++view] = n;
        float v = (float)((1.0 + log((double)fb->f[i].count)) * m->idf[f]);
        idx[n] = (uint32_t)f;
        val[n] = v;
        norm[fb->f[i].view] += (double)v * v;
        n++;
    }
    while (view < FEAT_NVIEWS)
        start[++view] = n;
    for (int v = 0; v < FEAT_NVIEWS; v++) {
        if (norm[v] <= 0)
            continue;
        float inv = (float)(1.0 / sqrt(norm[v]));
        for (size_t k = start[v]; k < start[v + 1]; k++)
            val[k] *= inv;
    }
    return n;
}

size_t nlp_name_example(const char *name, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    size_t len = strlen(name), n = len < cap - 1 ? len : cap - 1;
    while (n > 0 && n < len && ((unsigned char)name[n] & 0xc0) == 0x80)
        n--; /* cut at a character's start, never inside one */
    bool letter = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        letter |= (ch | 0x20) >= 'a' && (ch | 0x20) <= 'z';
        letter |= ch >= 0x80; /* any non-ASCII text: 中文 names are words too */
        out[i] = ch == '_' || ch == '-' ? ' ' : (char)ch;
    }
    out[n] = 0;
    return letter ? n : 0;
}

/* ---- training ---- */

struct trainer {
    const struct nlp_data *d;
    const struct nlp_opts *o;
    struct nlp_model *m;
    /* the training texts as sparse rows (CSR) */
    size_t *row;
    uint32_t *idx;
    float *val;
    float *sq;      /* squared norm of each row, plus 1 for the bias feature */
    float *wc;      /* class-major weights during training: wc[c * nfeat + f] */
    uint32_t *keep; /* with held_out, the rows not held: keep[0 .. nkeep) */
    size_t nkeep;
    int next_class, done;
    pthread_mutex_t mu;
    /* the pairwise stage: each class's rows, the pairs to train, and what each produced */
    size_t *crow; /* rows of class c: cidx[crow[c] .. crow[c + 1]) */
    uint32_t *cidx;
    size_t npair, next_pair, pairs_done;
    uint32_t *rival; /* each row's best other class */
    size_t next_row;
    struct pair_out *pout;
};

/* One pairwise machine as trained, before it joins the model's arrays. */
struct pair_out {
    uint32_t a, b;
    float bias;
    size_t n;
    uint32_t *idx;
    float *val;
};

static inline uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A warm start (the held-out refit, model.h) stops after this many passes. It starts next to its
 * answer: on banking77, two passes put the fitted temperature within 0.5% of a converged refit's
 * (0.1592 against 0.1585) for under half the time of one. */
#define WARM_PASSES 2

/* One binary SVM by dual coordinate descent (L2 loss, with shrinking) over the rows rows[0..n)
 * (all rows when rows is NULL), positive where the label is pos, into w (nfeat long); returns the
 * bias. Cold (warm false), w is zero on entry and alpha is set here; warm, alpha[q] (by position in
 * rows) and w, wb are a consistent starting point, as w = sum alpha y x and wb = sum alpha y. */
static double train_binary(const struct trainer *t, const uint32_t *rows, size_t n, int pos,
                           double cost, uint64_t seed, float *w, double wb, bool warm,
                           double *alpha, uint32_t *order)
{
    const struct nlp_data *d = t->d;
    double diag = 0.5 / cost;
    double eps = t->o->eps > 0 ? t->o->eps : 0.1;
    int max_iter = t->o->max_iter > 0 ? t->o->max_iter : 200;
    if (warm && max_iter > WARM_PASSES)
        max_iter = WARM_PASSES;
    for (size_t s = 0; s < n; s++) {
        if (!warm)
            alpha[s] = 0;
        order[s] = (uint32_t)s;
    }
    size_t active = n;
    double pgmax_old = INFINITY; /* no upper bound on alpha for the L2 loss, so no pgmin_old */
    for (int iter = 0; iter < max_iter; iter++) {
        double pgmax = -INFINITY, pgmin = INFINITY;
        for (size_t s = 0; s + 1 < active; s++) {
            size_t j = s + splitmix(&seed) % (active - s);
            uint32_t tmp = order[s];
            order[s] = order[j];
            order[j] = tmp;
        }
        for (size_t s = 0; s < active; s++) {
            uint32_t q = order[s]; /* position in rows */
            uint32_t i = rows ? rows[q] : q;
            double y = d->label[i] == pos ? 1.0 : -1.0;
            double dot = wb;
            for (size_t k = t->row[i]; k < t->row[i + 1]; k++)
                dot += (double)w[t->idx[k]] * t->val[k];
            double g = y * dot - 1.0 + diag * alpha[q];
            double pg = 0;
            if (alpha[q] == 0) {
                if (g > pgmax_old) {
                    active--;
                    order[s] = order[active];
                    order[active] = q;
                    s--;
                    continue;
                }
                if (g < 0)
                    pg = g;
            } else {
                pg = g;
            }
            if (pg > pgmax)
                pgmax = pg;
            if (pg < pgmin)
                pgmin = pg;
            if (fabs(pg) > 1e-12) {
                double old = alpha[q];
                double a = old - g / (t->sq[i] + diag);
                alpha[q] = a > 0 ? a : 0;
                double delta = (alpha[q] - old) * y;
                for (size_t k = t->row[i]; k < t->row[i + 1]; k++)
                    w[t->idx[k]] += (float)(delta * t->val[k]);
                wb += delta;
            }
        }
        if (pgmax - pgmin <= eps) {
            if (active == n)
                break;
            active = n; /* converged on the active set: check everything once more */
            pgmax_old = INFINITY;
            continue;
        }
        pgmax_old = pgmax > 0 ? pgmax : INFINITY;
    }
    return wb;
}

/* Per-thread scratch of the one-vs-rest stage. */
struct class_scratch {
    double *alpha, *alpha2;
    uint32_t *order;
    float *w2; /* the held-out refit's weights */
};

static inline double dot_row(const struct trainer *t, const float *w, uint32_t i)
{
    double s = 0;
    for (size_t k = t->row[i]; k < t->row[i + 1]; k++)
        s += (double)w[t->idx[k]] * t->val[k];
    return s;
}

/* One class against the rest; then, when asked, the same machine without the held rows, warm-
 * started from this one, to score them (model.h, held_out). */
static void train_class(struct trainer *t, int c, struct class_scratch *cs)
{
    const struct nlp_data *d = t->d;
    size_t nf = t->m->nfeat;
    float *w = t->wc + (size_t)c * nf;
    double cost = t->o->c > 0 ? t->o->c : 0.5;
    uint64_t seed = t->o->seed ^ (0x51ed2701ULL * (uint64_t)(c + 1));
    memset(w, 0, nf * sizeof(*w));
    double b = train_binary(t, NULL, d->n, c, cost, seed, w, 0, false, cs->alpha, cs->order);
    t->m->bias[c] = (float)b;
    if (!t->o->held_out || t->nkeep == d->n)
        return;
    memcpy(cs->w2, w, nf * sizeof(*w));
    double b2 = b;
    for (size_t i = 0; i < d->n; i++) { /* take the held rows' share out */
        double a = cs->alpha[i];
        if (!t->o->hold[i] || a == 0)
            continue;
        double ay = d->label[i] == c ? a : -a;
        for (size_t k = t->row[i]; k < t->row[i + 1]; k++)
            cs->w2[t->idx[k]] -= (float)(ay * t->val[k]);
        b2 -= ay;
    }
    for (size_t q = 0; q < t->nkeep; q++)
        cs->alpha2[q] = cs->alpha[t->keep[q]];
    b2 = train_binary(t, t->keep, t->nkeep, c, cost, seed + 1, cs->w2, b2, true, cs->alpha2,
                      cs->order);
    size_t nc = (size_t)t->m->nclass;
    for (size_t i = 0; i < d->n; i++)
        if (t->o->hold[i])
            t->o->held_out[i * nc + (size_t)c] = (float)(b2 + dot_row(t, cs->w2, (uint32_t)i));
}

static void *train_worker(void *arg)
{
    struct trainer *t = arg;
    struct class_scratch cs = {0};
    cs.alpha = xmalloc(t->d->n * sizeof(*cs.alpha));
    cs.order = xmalloc(t->d->n * sizeof(*cs.order));
    if (t->o->held_out) {
        cs.alpha2 = xmalloc((t->nkeep ? t->nkeep : 1) * sizeof(*cs.alpha2));
        cs.w2 = xmalloc((t->m->nfeat ? t->m->nfeat : 1) * sizeof(*cs.w2));
    }
    for (;;) {
        pthread_mutex_lock(&t->mu);
        int c = t->next_class < t->m->nclass ? t->next_class++ : -1;
        pthread_mutex_unlock(&t->mu);
        if (c < 0)
            break;
        train_class(t, c, &cs);
        pthread_mutex_lock(&t->mu);
        t->done++;
        if (t->o->progress) /* the pairwise stage, when there is one, is the second half */
            t->o->progress(t->done,
                           t->o->pair_c >= 0 && t->m->nclass > 2 ? 2 * t->m->nclass : t->m->nclass,
                           t->o->progress_arg);
        pthread_mutex_unlock(&t->mu);
    }
    free(cs.alpha);
    free(cs.alpha2);
    free(cs.order);
    free(cs.w2);
    return NULL;
}

/* The pairwise stage's worker: takes pairs in turn; each is trained into a dense scratch vector,
 * then its non-zero weights (only features of its own rows can be non-zero) are kept in feature
 * order, and the scratch is cleared again by the same walk. */
static void *pair_worker(void *arg)
{
    struct trainer *t = arg;
    const struct nlp_model *m = t->m;
    size_t most = 0;
    for (int c = 0; c < m->nclass; c++)
        if (t->crow[c + 1] - t->crow[c] > most)
            most = t->crow[c + 1] - t->crow[c];
    double *alpha = xmalloc(2 * most * sizeof(*alpha) + 1);
    uint32_t *order = xmalloc(2 * most * sizeof(*order) + 1);
    uint32_t *rows = xmalloc(2 * most * sizeof(*rows) + 1);
    float *w = xcalloc(m->nfeat ? m->nfeat : 1, sizeof(*w));
    size_t nwords = (m->nfeat + 63) / 64;
    uint64_t *seen = xcalloc(nwords ? nwords : 1, sizeof(*seen));
    double cost = t->o->pair_c > 0 ? t->o->pair_c : 4.0;
    for (;;) {
        pthread_mutex_lock(&t->mu);
        size_t k = t->next_pair < t->npair ? t->next_pair++ : SIZE_MAX;
        pthread_mutex_unlock(&t->mu);
        if (k == SIZE_MAX)
            break;
        struct pair_out *po = &t->pout[k];
        size_t n = 0;
        for (size_t q = t->crow[po->a]; q < t->crow[po->a + 1]; q++)
            rows[n++] = t->cidx[q];
        for (size_t q = t->crow[po->b]; q < t->crow[po->b + 1]; q++)
            rows[n++] = t->cidx[q];
        uint64_t seed =
            t->o->seed ^ (0x2545f491ULL * (uint64_t)(po->a * (size_t)m->nclass + po->b + 1));
        po->bias =
            (float)train_binary(t, rows, n, (int)po->a, cost, seed, w, 0, false, alpha, order);
        /* the features of the pair's rows, in a bitmap walked in order: ascending, no sort */
        size_t nk = 0;
        for (size_t r = 0; r < n; r++) {
            uint32_t i = rows[r];
            for (size_t q = t->row[i]; q < t->row[i + 1]; q++) {
                uint32_t f = t->idx[q];
                uint64_t bit = 1ULL << (f & 63);
                nk += !(seen[f >> 6] & bit);
                seen[f >> 6] |= bit;
            }
        }
        po->idx = xmalloc((nk ? nk : 1) * sizeof(*po->idx));
        po->val = xmalloc((nk ? nk : 1) * sizeof(*po->val));
        po->n = 0;
        for (size_t wd = 0; wd < nwords; wd++) {
            uint64_t bits = seen[wd];
            seen[wd] = 0;
            while (bits) {
                uint32_t f = (uint32_t)(wd * 64 + (size_t)__builtin_ctzll(bits));
                bits &= bits - 1;
                if (w[f] != 0) {
                    po->idx[po->n] = f;
                    po->val[po->n] = w[f];
                    po->n++;
                }
                w[f] = 0;
            }
        }
        pthread_mutex_lock(&t->mu);
        t->pairs_done++;
        if (t->o->progress) /* the second half of the progress */
            t->o->progress(m->nclass + (int)(t->pairs_done * (size_t)m->nclass / t->npair),
                           2 * m->nclass, t->o->progress_arg);
        pthread_mutex_unlock(&t->mu);
    }
    free(alpha);
    free(order);
    free(rows);
    free(w);
    free(seen);
    return NULL;
}

/* Runs worker on nth threads (the caller's among them). */
static void run_threads(struct trainer *t, int nth, void *(*worker)(void *))
{
    pthread_t th[16];
    if (nth > 16)
        nth = 16;
    int started = 0;
    for (int i = 1; i < nth; i++)
        if (pthread_create(&th[started], NULL, worker, t) == 0)
            started++;
    worker(t);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
}

/* Finds rival[i], the best class other than its own for each training row under the one-vs-rest
 * machines, taking rows in blocks. */
static void *rival_worker(void *arg)
{
    struct trainer *t = arg;
    const struct nlp_model *m = t->m;
    const struct nlp_data *d = t->d;
    size_t nc = (size_t)m->nclass;
    float *sc = xmalloc(nc * sizeof(*sc));
    for (;;) {
        pthread_mutex_lock(&t->mu);
        size_t lo = t->next_row;
        t->next_row = lo + 512 < d->n ? lo + 512 : d->n;
        size_t hi = t->next_row;
        pthread_mutex_unlock(&t->mu);
        if (lo >= hi)
            break;
        for (size_t i = lo; i < hi; i++) {
            memcpy(sc, m->bias, nc * sizeof(*sc));
            for (size_t k = t->row[i]; k < t->row[i + 1]; k++) {
                const float *wr = m->w + (size_t)t->idx[k] * nc;
                float v = t->val[k];
                for (size_t c = 0; c < nc; c++)
                    sc[c] += v * wr[c];
            }
            size_t y = (size_t)d->label[i], r = y == 0 ? 1 : 0;
            for (size_t c = 0; c < nc; c++)
                if (c != y && sc[c] > sc[r])
                    r = c;
            t->rival[i] = (uint32_t)r;
        }
    }
    free(sc);
    return NULL;
}

/* The pairwise stage (see model.h): finds the confused pairs on the training rows with the
 * finished one-vs-rest weights, trains them, and moves them into the model. */
static void train_pairs(struct trainer *t, int nth)
{
    struct nlp_model *m = t->m;
    const struct nlp_data *d = t->d;
    size_t nc = (size_t)m->nclass;
    /* each class's rows */
    t->crow = xcalloc(nc + 1, sizeof(*t->crow));
    t->cidx = xmalloc((d->n ? d->n : 1) * sizeof(*t->cidx));
    for (size_t i = 0; i < d->n; i++)
        t->crow[d->label[i] + 1]++;
    for (size_t c = 0; c < nc; c++)
        t->crow[c + 1] += t->crow[c];
    size_t *fill = xmalloc(nc * sizeof(*fill));
    memcpy(fill, t->crow, nc * sizeof(*fill));
    for (size_t i = 0; i < d->n; i++)
        t->cidx[fill[d->label[i]]++] = (uint32_t)i;
    free(fill);
    /* the confused pairs: each row's class and the best other class (rival_worker) */
    t->rival = xmalloc((d->n ? d->n : 1) * sizeof(*t->rival));
    t->next_row = 0;
    run_threads(t, nth, rival_worker);
    uint8_t *want = xcalloc(nc * nc, 1);
    for (size_t i = 0; i < d->n; i++) {
        size_t y = (size_t)d->label[i], r = t->rival[i];
        want[y < r ? y * nc + r : r * nc + y] = 1;
    }
    free(t->rival);
    t->npair = 0;
    for (size_t q = 0; q < nc * nc; q++)
        t->npair += want[q];
    t->pout = xcalloc(t->npair ? t->npair : 1, sizeof(*t->pout));
    size_t k = 0;
    for (size_t a = 0; a < nc; a++)
        for (size_t b = a + 1; b < nc; b++)
            if (want[a * nc + b]) {
                t->pout[k].a = (uint32_t)a;
                t->pout[k].b = (uint32_t)b;
                k++;
            }
    free(want);
    if (t->npair > 0)
        run_threads(t, nth, pair_worker);
    /* into the model, in pair order */
    size_t total = 0;
    for (size_t q = 0; q < t->npair; q++)
        total += t->pout[q].n;
    m->npair = t->npair;
    m->pa = xmalloc((m->npair ? m->npair : 1) * sizeof(*m->pa));
    m->pb = xmalloc((m->npair ? m->npair : 1) * sizeof(*m->pb));
    m->pbias = xmalloc((m->npair ? m->npair : 1) * sizeof(*m->pbias));
    m->poff = xmalloc((m->npair + 1) * sizeof(*m->poff));
    m->pidx = xmalloc((total ? total : 1) * sizeof(*m->pidx));
    m->pval = xmalloc((total ? total : 1) * sizeof(*m->pval));
    size_t off = 0;
    for (size_t q = 0; q < t->npair; q++) {
        struct pair_out *po = &t->pout[q];
        m->pa[q] = po->a;
        m->pb[q] = po->b;
        m->pbias[q] = po->bias;
        m->poff[q] = off;
        memcpy(m->pidx + off, po->idx, po->n * sizeof(*m->pidx));
        memcpy(m->pval + off, po->val, po->n * sizeof(*m->pval));
        off += po->n;
        free(po->idx);
        free(po->val);
    }
    m->poff[m->npair] = off;
    free(t->pout);
    free(t->crow);
    free(t->cidx);
}

/* Counting features over the training texts: key -> (document frequency), open addressing. */
struct dfmap {
    uint64_t *key;
    uint32_t *df;
    size_t cap, len;
};

static void dfmap_add(struct dfmap *t, uint64_t key)
{
    if (t->len * 2 >= t->cap) {
        struct dfmap old = *t;
        t->cap = old.cap ? old.cap * 2 : 1 << 16;
        t->key = xmalloc(t->cap * sizeof(*t->key));
        t->df = xcalloc(t->cap, sizeof(*t->df));
        for (size_t i = 0; i < old.cap; i++) {
            if (!old.df[i])
                continue;
            size_t j = mix64(old.key[i]) & (t->cap - 1);
            while (t->df[j])
                j = (j + 1) & (t->cap - 1);
            t->key[j] = old.key[i];
            t->df[j] = old.df[i];
        }
        free(old.key);
        free(old.df);
    }
    size_t j = mix64(key) & (t->cap - 1);
    while (t->df[j]) {
        if (t->key[j] == key) {
            t->df[j]++;
            return;
        }
        j = (j + 1) & (t->cap - 1);
    }
    t->key[j] = key;
    t->df[j] = 1;
    t->len++;
}

static int key_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int nlp_train(const struct nlp_data *d, const struct nlp_opts *opts, struct nlp_model **out)
{
    if (d->n == 0 || d->nclass < 2)
        return ERR_INVAL;
    struct nlp_opts o = *opts;
    int min_df = o.min_df > 0 ? o.min_df : 1;
    struct feat_buf fb;
    feat_buf_init(&fb);

    /* 1. features of every text, and their document frequencies */
    size_t *frow = xmalloc((d->n + 1) * sizeof(*frow));
    size_t fcap = d->n * 64 + 64, fn = 0;
    struct feat *all = xmalloc(fcap * sizeof(*all));
    struct dfmap dfm = {0};
    for (size_t i = 0; i < d->n; i++) {
        feat_extract(&fb, d->text[i], d->len[i]);
        frow[i] = fn;
        if (fn + fb.n > fcap) {
            while (fn + fb.n > fcap)
                fcap *= 2;
            all = xrealloc(all, fcap * sizeof(*all));
        }
        memcpy(all + fn, fb.f, fb.n * sizeof(*all));
        fn += fb.n;
        for (size_t k = 0; k < fb.n; k++)
            dfmap_add(&dfm, feat_key(&fb.f[k]));
    }
    frow[d->n] = fn;

    /* 2. the vocabulary: features in at least min_df texts, in key order (so the model is the same
     * whatever the hash table's layout) */
    struct nlp_model *m = xcalloc(1, sizeof(*m));
    m->nclass = d->nclass;
    m->labels = xmalloc((size_t)d->nclass * sizeof(*m->labels));
    for (int c = 0; c < d->nclass; c++)
        m->labels[c] = xstrdup(d->labels[c]);
    m->keys = xmalloc((dfm.len ? dfm.len : 1) * sizeof(*m->keys));
    for (size_t j = 0; j < dfm.cap; j++)
        if (dfm.df[j] >= (uint32_t)min_df)
            m->keys[m->nfeat++] = dfm.key[j];
    qsort(m->keys, m->nfeat, sizeof(*m->keys), key_cmp);
    table_build(m);
    m->idf = xmalloc((m->nfeat ? m->nfeat : 1) * sizeof(*m->idf));
    for (size_t j = 0; j < dfm.cap; j++) {
        if (dfm.df[j] < (uint32_t)min_df)
            continue;
        int64_t f = table_find(m, dfm.key[j]);
        m->idf[f] = (float)(log((1.0 + (double)d->n) / (1.0 + dfm.df[j])) + 1.0);
    }
    free(dfm.key);
    free(dfm.df);
    m->bias = xcalloc((size_t)m->nclass, sizeof(*m->bias));
    m->temp = 1.0f;

    /* 3. the rows as tf-idf vectors */
    struct trainer t = {.d = d, .o = &o, .m = m};
    t.row = xmalloc((d->n + 1) * sizeof(*t.row));
    t.idx = xmalloc((fn ? fn : 1) * sizeof(*t.idx));
    t.val = xmalloc((fn ? fn : 1) * sizeof(*t.val));
    t.sq = xmalloc(d->n * sizeof(*t.sq));
    size_t nnz = 0;
    for (size_t i = 0; i < d->n; i++) {
        fb.n = frow[i + 1] - frow[i];
        if (fb.n > fb.cap) {
            fb.cap = fb.n;
            fb.f = xrealloc(fb.f, fb.cap * sizeof(*fb.f));
        }
        memcpy(fb.f, all + frow[i], fb.n * sizeof(*fb.f));
        t.row[i] = nnz;
        size_t k = vectorise(m, &fb, t.idx + nnz, t.val + nnz);
        double sq = 1.0; /* the bias feature */
        for (size_t q = 0; q < k; q++)
            sq += (double)t.val[nnz + q] * t.val[nnz + q];
        t.sq[i] = (float)sq;
        nnz += k;
    }
    t.row[d->n] = nnz;
    free(all);
    free(frow);
    feat_buf_release(&fb);

    /* 4. one SVM per class, over a few threads */
    if (o.held_out) {
        t.keep = xmalloc(d->n * sizeof(*t.keep));
        for (size_t i = 0; i < d->n; i++)
            if (!o.hold[i])
                t.keep[t.nkeep++] = (uint32_t)i;
    }
    t.wc = xmalloc((size_t)m->nclass * (m->nfeat ? m->nfeat : 1) * sizeof(*t.wc));
    pthread_mutex_init(&t.mu, NULL);
    int nth = o.threads > 0 ? o.threads : 2;
    if (nth > m->nclass)
        nth = m->nclass;
    run_threads(&t, nth, train_worker);

    /* 5. feature-major weights for prediction */
    m->w = xmalloc((m->nfeat ? m->nfeat : 1) * (size_t)m->nclass * sizeof(*m->w));
    for (int c = 0; c < m->nclass; c++)
        for (size_t f = 0; f < m->nfeat; f++)
            m->w[f * (size_t)m->nclass + (size_t)c] = t.wc[(size_t)c * m->nfeat + f];
    free(t.wc);
    free(t.keep);

    /* 6. the pairwise machines */
    m->pair_weight = (float)(o.pair_weight > 0 ? o.pair_weight : 1.0);
    if (o.pair_c >= 0 && m->nclass > 2)
        train_pairs(&t, o.threads > 0 ? o.threads : 2);
    pthread_mutex_destroy(&t.mu);
    free(t.row);
    free(t.idx);
    free(t.val);
    free(t.sq);
    *out = m;
    return 0;
}

/* ---- prediction ---- */

/* The pairwise vote on the order of the two best classes (see model.h). Returns the winner; the
 * two scores are swapped when the second one wins. */
static int refine(const struct nlp_model *m, const uint32_t *idx, const float *val, size_t n,
                  float *scores, int best)
{
    int second = -1;
    for (int c = 0; c < m->nclass; c++)
        if (c != best && (second < 0 || scores[c] > scores[second]))
            second = c;
    uint32_t a = (uint32_t)(best < second ? best : second),
             b = (uint32_t)(best < second ? second : best);
    size_t lo = 0, hi = m->npair; /* the pair (a, b), if the model has it */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->pa[mid] < a || (m->pa[mid] == a && m->pb[mid] < b))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == m->npair || m->pa[lo] != a || m->pb[lo] != b)
        return best;
    const uint32_t *pi = m->pidx + m->poff[lo];
    const float *pv = m->pval + m->poff[lo];
    size_t pn = m->poff[lo + 1] - m->poff[lo];
    double d = m->pbias[lo];
    for (size_t q = 0; q < n; q++) {
        size_t l = 0, h = pn;
        while (l < h) {
            size_t mid = (l + h) / 2;
            if (pi[mid] < idx[q])
                l = mid + 1;
            else
                h = mid;
        }
        if (l < pn && pi[l] == idx[q])
            d += (double)pv[l] * val[q];
    }
    /* positive d favours a; the one-vs-rest margin of a over b plus the pair's vote */
    double margin = (double)scores[a] - scores[b] + m->pair_weight * d;
    int win = margin >= 0 ? (int)a : (int)b;
    if (win != best) {
        float tmp = scores[best];
        scores[best] = scores[second];
        scores[second] = tmp;
    }
    return win;
}

int nlp_scores(const struct nlp_model *m, struct feat_buf *fb, const char *text, size_t len,
               float *scores)
{
    size_t nc = (size_t)m->nclass;
    for (size_t c = 0; c < nc; c++)
        scores[c] = m->bias[c];
    size_t nf = feat_extract(fb, text, len);
    /* The tf-idf values go into fb's own spare room: two arrays after the features. */
    uint32_t idx_local[512];
    float val_local[512];
    uint32_t *idx = nf <= 512 ? idx_local : xmalloc(nf * sizeof(*idx));
    float *val = nf <= 512 ? val_local : xmalloc(nf * sizeof(*val));
    size_t k = vectorise(m, fb, idx, val);
    for (size_t q = 0; q < k; q++) {
        const float *row = m->w + (size_t)idx[q] * nc;
        float v = val[q];
        for (size_t c = 0; c < nc; c++)
            scores[c] += v * row[c];
    }
    int best = 0;
    for (size_t c = 1; c < nc; c++)
        if (scores[c] > scores[best])
            best = (int)c;
    if (k > 0 && m->npair > 0)
        best = refine(m, idx, val, k, scores, best);
    if (idx != idx_local) {
        free(idx);
        free(val);
    }
    return k == 0 ? -1 : best;
}

static void softmax(const float *scores, int nc, float temp, float *probs)
{
    float mx = scores[0];
    for (int c = 1; c < nc; c++)
        if (scores[c] > mx)
            mx = scores[c];
    double sum = 0;
    for (int c = 0; c < nc; c++) {
        probs[c] = expf((scores[c] - mx) / temp);
        sum += probs[c];
    }
    for (int c = 0; c < nc; c++)
        probs[c] = (float)(probs[c] / sum);
}

void nlp_softmax(const struct nlp_model *m, const float *scores, float *probs)
{
    softmax(scores, m->nclass, m->temp, probs);
}

int nlp_predict(const struct nlp_model *m, struct feat_buf *fb, const char *text, size_t len,
                float *probs, float *p)
{
    float sbuf[256], pbuf[256];
    float *scores = m->nclass <= 256 ? sbuf : xmalloc((size_t)m->nclass * sizeof(float));
    float *pr = probs              ? probs
                : m->nclass <= 256 ? pbuf
                                   : xmalloc((size_t)m->nclass * sizeof(float));
    int best = nlp_scores(m, fb, text, len, scores);
    softmax(scores, m->nclass, m->temp, pr);
    if (best < 0) { /* nothing known: no class can claim it */
        best = 0;
        for (int c = 1; c < m->nclass; c++)
            if (scores[c] > scores[best])
                best = c;
        if (p)
            *p = 0;
    } else if (p) {
        *p = pr[best];
    }
    if (scores != sbuf)
        free(scores);
    if (pr != probs && pr != pbuf)
        free(pr);
    return best;
}

/* ---- calibration ---- */

/* The mean log loss of the in-scope rows (truth >= 0) at temperature temp; pr is scratch. */
static double log_loss(const float *scores, const int *truth, size_t n, int nc, double temp,
                       float *pr)
{
    double l = 0;
    size_t cnt = 0;
    for (size_t i = 0; i < n; i++) {
        if (truth[i] < 0)
            continue;
        softmax(scores + i * (size_t)nc, nc, (float)temp, pr);
        l -= log(pr[truth[i]] > 1e-12f ? pr[truth[i]] : 1e-12);
        cnt++;
    }
    return cnt ? l / (double)cnt : 0;
}

static void calibrate(struct nlp_model *m, const float *scores, const int *truth, const bool *known,
                      size_t n, double target_reject);

static int float_cmp(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

int nlp_calibrate(struct nlp_model *m, const struct nlp_data *d, const char *oos_label,
                  double target_reject)
{
    if (d->n == 0)
        return ERR_INVAL;
    size_t nc = (size_t)m->nclass;
    float *scores = xmalloc(d->n * nc * sizeof(*scores));
    int *truth =
        xmalloc(d->n * sizeof(*truth)); /* class of the model, -1 out of scope, -2 unknown */
    bool *known = xmalloc(d->n * sizeof(*known));
    struct feat_buf fb;
    feat_buf_init(&fb);
    for (size_t i = 0; i < d->n; i++) {
        const char *lab = d->labels[d->label[i]];
        truth[i] = -2;
        for (int c = 0; c < m->nclass; c++)
            if (strcmp(m->labels[c], lab) == 0)
                truth[i] = c;
        if (truth[i] == -2 && oos_label && strcmp(lab, oos_label) == 0)
            truth[i] = -1;
        known[i] = nlp_scores(m, &fb, d->text[i], d->len[i], scores + i * nc) >= 0;
    }
    feat_buf_release(&fb);
    calibrate(m, scores, truth, known, d->n, target_reject);
    free(scores);
    free(truth);
    free(known);
    return 0;
}

void nlp_calibrate_scores(struct nlp_model *m, const float *scores, const int *truth, size_t n,
                          double target_reject)
{
    calibrate(m, scores, truth, NULL, n, target_reject);
}

/* The temperature and threshold from scores[n * nclass]; truth[i] is the row's class, -1 for out
 * of scope or -2 for a class the model lacks; known[i] false (known may be NULL) means the row had
 * no feature the model knows. */
static void calibrate(struct nlp_model *m, const float *scores, const int *truth, const bool *known,
                      size_t n, double target_reject)
{
    size_t nc = (size_t)m->nclass;
    /* temperature: golden-section search on the mean log loss of the in-scope rows */
    double lo = 0.01, hi = 5.0;
    const double gr = 0.6180339887498949;
    float *pr = xmalloc(nc * sizeof(*pr));
    double a = hi - gr * (hi - lo), b = lo + gr * (hi - lo);
    double fa = log_loss(scores, truth, n, m->nclass, a, pr),
           fbv = log_loss(scores, truth, n, m->nclass, b, pr);
    for (int it = 0; it < 40; it++) {
        if (fa < fbv) {
            hi = b;
            b = a;
            fbv = fa;
            a = hi - gr * (hi - lo);
            fa = log_loss(scores, truth, n, m->nclass, a, pr);
        } else {
            lo = a;
            a = b;
            fa = fbv;
            b = lo + gr * (hi - lo);
            fbv = log_loss(scores, truth, n, m->nclass, b, pr);
        }
    }
    m->temp = (float)((lo + hi) / 2);

    /* threshold */
    float *top = xmalloc(n * sizeof(*top));
    int *arg = xmalloc(n * sizeof(*arg));
    size_t n_oos = 0;
    for (size_t i = 0; i < n; i++) {
        softmax(scores + i * nc, m->nclass, m->temp, pr);
        arg[i] = 0;
        for (size_t c = 1; c < nc; c++)
            if (pr[c] > pr[arg[i]])
                arg[i] = (int)c;
        top[i] = !known || known[i] ? pr[arg[i]] : 0;
        if (truth[i] == -1)
            n_oos++;
    }
    m->threshold = 0;
    if (n_oos > 0) {
        /* every observed top probability is a candidate; keep the one with the best accuracy */
        size_t best_right = 0;
        for (size_t i = 0; i < n; i++)
            if (truth[i] >= 0 && arg[i] == truth[i])
                best_right++;
        for (size_t j = 0; j < n; j++) {
            float th = top[j] + 1e-6f;
            size_t right = 0;
            for (size_t i = 0; i < n; i++) {
                if (top[i] < th)
                    right += truth[i] == -1;
                else
                    right += truth[i] >= 0 && arg[i] == truth[i];
            }
            if (right > best_right) {
                best_right = right;
                m->threshold = th;
            }
        }
    } else if (target_reject > 0) {
        /* the target_reject quantile of the in-scope top probabilities */
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (truth[i] >= 0)
                top[k++] = top[i];
        if (k) {
            qsort(top, k, sizeof(*top), float_cmp);
            size_t q = (size_t)(target_reject * (double)k);
            m->threshold = top[q < k ? q : k - 1];
        }
    }
    free(top);
    free(arg);
    free(pr);
}

/* ---- serialisation ---- */

static int put(struct buf *b, const void *p, size_t n)
{
    return buf_append(b, p, n);
}

int nlp_model_save(const struct nlp_model *m, struct buf *out)
{
    int rc = 0;
    uint32_t u;
    uint64_t nf = m->nfeat;
    rc |= put(out, "PNLP", 4);
    u = 2;
    rc |= put(out, &u, 4);
    u = (uint32_t)m->nclass;
    rc |= put(out, &u, 4);
    for (int c = 0; c < m->nclass; c++) {
        u = (uint32_t)strlen(m->labels[c]);
        rc |= put(out, &u, 4);
        rc |= put(out, m->labels[c], u);
    }
    rc |= put(out, &nf, 8);
    rc |= put(out, &m->temp, 4);
    rc |= put(out, &m->threshold, 4);
    rc |= put(out, m->bias, (size_t)m->nclass * 4);
    rc |= put(out, m->keys, m->nfeat * 8);
    rc |= put(out, m->idf, m->nfeat * 4);
    rc |= put(out, m->w, m->nfeat * (size_t)m->nclass * 4);
    /* version 2: the pairwise machines */
    uint64_t np = m->npair, total = m->npair ? m->poff[m->npair] : 0;
    rc |= put(out, &m->pair_weight, 4);
    rc |= put(out, &np, 8);
    rc |= put(out, &total, 8);
    for (size_t k = 0; k < m->npair; k++) {
        uint64_t cnt = m->poff[k + 1] - m->poff[k];
        rc |= put(out, &m->pa[k], 4);
        rc |= put(out, &m->pb[k], 4);
        rc |= put(out, &m->pbias[k], 4);
        rc |= put(out, &cnt, 8);
    }
    if (total) {
        rc |= put(out, m->pidx, total * 4);
        rc |= put(out, m->pval, total * 4);
    }
    return rc < 0 ? ERR_TOOBIG : 0;
}

struct reader {
    const unsigned char *p;
    size_t len, off;
};

static bool take(struct reader *r, void *dst, size_t n)
{
    if (r->len - r->off < n)
        return false;
    memcpy(dst, r->p + r->off, n);
    r->off += n;
    return true;
}

/* The pairwise machines of a version 2 blob: every pair in order with a < b < nclass, each
 * pair's features ascending and known. */
static int load_pairs(struct reader *r, struct nlp_model *m)
{
    uint64_t np, total;
    if (!take(r, &m->pair_weight, 4) || !(m->pair_weight >= 0) || !take(r, &np, 8) ||
        !take(r, &total, 8) || np > (r->len - r->off) / 20 || total > (r->len - r->off) / 8)
        return ERR_INVAL;
    m->npair = np;
    m->pa = xmalloc((np ? np : 1) * sizeof(*m->pa));
    m->pb = xmalloc((np ? np : 1) * sizeof(*m->pb));
    m->pbias = xmalloc((np ? np : 1) * sizeof(*m->pbias));
    m->poff = xmalloc((np + 1) * sizeof(*m->poff));
    size_t off = 0;
    for (size_t k = 0; k < np; k++) {
        uint64_t cnt;
        if (!take(r, &m->pa[k], 4) || !take(r, &m->pb[k], 4) || !take(r, &m->pbias[k], 4) ||
            !take(r, &cnt, 8) || m->pa[k] >= m->pb[k] || m->pb[k] >= (uint32_t)m->nclass ||
            cnt > total - off)
            return ERR_INVAL;
        if (k > 0 &&
            (m->pa[k] < m->pa[k - 1] || (m->pa[k] == m->pa[k - 1] && m->pb[k] <= m->pb[k - 1])))
            return ERR_INVAL;
        m->poff[k] = off;
        off += cnt;
    }
    m->poff[np] = off;
    if (off != total || r->len - r->off != total * 8)
        return ERR_INVAL;
    m->pidx = xmalloc((total ? total : 1) * 4);
    m->pval = xmalloc((total ? total : 1) * 4);
    take(r, m->pidx, total * 4);
    take(r, m->pval, total * 4);
    for (size_t k = 0; k < np; k++)
        for (size_t q = m->poff[k]; q < m->poff[k + 1]; q++)
            if (m->pidx[q] >= m->nfeat || (q > m->poff[k] && m->pidx[q] <= m->pidx[q - 1]))
                return ERR_INVAL;
    return 0;
}

int nlp_model_load(const void *p, size_t len, struct nlp_model **out)
{
    struct reader r = {p, len, 0};
    char magic[4];
    uint32_t ver, nclass;
    if (!take(&r, magic, 4) || memcmp(magic, "PNLP", 4) != 0 || !take(&r, &ver, 4) || ver < 1 ||
        ver > 2 || !take(&r, &nclass, 4) || nclass < 2 || nclass > 100000)
        return ERR_INVAL;
    struct nlp_model *m = xcalloc(1, sizeof(*m));
    m->labels = xcalloc(nclass, sizeof(*m->labels));
    m->nclass = (int)nclass;
    uint64_t nf = 0;
    for (uint32_t c = 0; c < nclass; c++) {
        uint32_t l;
        if (!take(&r, &l, 4) || l > r.len - r.off)
            goto bad;
        m->labels[c] = xstrndup((const char *)r.p + r.off, l);
        r.off += l;
    }
    if (!take(&r, &nf, 8) || nf > (r.len - r.off) / 12 || !take(&r, &m->temp, 4) ||
        !take(&r, &m->threshold, 4) || !(m->temp > 0))
        goto bad;
    m->nfeat = nf;
    size_t body = (size_t)nclass * 4 + nf * 8 + nf * 4 + nf * nclass * 4;
    if (ver == 1 ? r.len - r.off != body : r.len - r.off < body)
        goto bad;
    m->bias = xmalloc((size_t)nclass * 4);
    m->keys = xmalloc(nf ? nf * 8 : 1);
    m->idf = xmalloc(nf ? nf * 4 : 1);
    m->w = xmalloc(nf ? nf * nclass * 4 : 1);
    take(&r, m->bias, (size_t)nclass * 4);
    take(&r, m->keys, nf * 8);
    take(&r, m->idf, nf * 4);
    take(&r, m->w, nf * nclass * 4);
    m->pair_weight = 1;
    if (ver >= 2 && load_pairs(&r, m) < 0)
        goto bad;
    table_build(m);
    *out = m;
    return 0;
bad:
    nlp_model_free(m);
    return ERR_INVAL;
}
