/* bm25.c: the BM25 index (see bm25.h). Postings are per term, in document order; a query scores
 * only the documents in its terms' postings, into a scratch array of accumulators. */
#include "base/sys.h"

#include "nlp/bm25.h"

#include <math.h>

#include "base/alloc.h"

#define K1 1.2
#define B 0.75
#define MAX_QUERY_TERMS 256

struct bm25_postings {
    uint32_t *doc;
    uint16_t *tf;
    size_t n, cap;
};

void bm25_init(struct bm25 *b)
{
    memset(b, 0, sizeof(*b));
    map_init(&b->terms, false);
}

void bm25_release(struct bm25 *b)
{
    struct map_entry *e;
    for (size_t i = 0; map_next(&b->terms, &i, &e);) {
        struct bm25_postings *p = e->val;
        free(p->doc);
        free(p->tf);
        free(p);
    }
    map_release(&b->terms);
    free(b->doclen);
    memset(b, 0, sizeof(*b));
}

/* The terms of a text as hashes (with repeats), into out; returns the count. */
static size_t terms(struct feat_buf *fb, const char *text, size_t len, uint64_t *out, size_t max)
{
    size_t nt = feat_tokens(fb, text, len), n = 0;
    for (size_t i = 0; i < nt && n < max; i++) {
        const char *raw = fb->norm + fb->tok[i];
        if (fb->cjk[i]) {
            out[n++] = hash_bytes(raw, strlen(raw));
            if (i + 1 < nt && fb->cjk[i + 1] && n < max) {
                const char *next = fb->norm + fb->tok[i + 1];
                char pair[16];
                size_t a = strlen(raw), c = strlen(next);
                if (a + c <= sizeof(pair)) {
                    memcpy(pair, raw, a);
                    memcpy(pair + a, next, c);
                    out[n++] = hash_bytes(pair, a + c) ^ 0x5bd1e995ULL;
                }
            }
        } else {
            const char *stem = raw + strlen(raw) + 1;
            out[n++] = hash_bytes(stem, strlen(stem));
        }
    }
    return n;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint32_t bm25_add(struct bm25 *b, struct feat_buf *fb, const char *text, size_t len)
{
    /* at most a token per byte, and a CJK token adds its pair */
    size_t max = 2 * (len < FEAT_MAX_TEXT ? len : FEAT_MAX_TEXT) + 1;
    uint64_t *t = xmalloc(max * sizeof(*t));
    size_t n = terms(fb, text, len, t, max);
    qsort(t, n, sizeof(*t), u64_cmp);
    uint32_t doc = (uint32_t)b->ndocs;
    if (b->ndocs == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->doclen = xrealloc(b->doclen, b->cap * sizeof(*b->doclen));
    }
    b->doclen[b->ndocs++] = (uint32_t)n;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && t[j] == t[i])
            j++;
        struct bm25_postings *p = map_get(&b->terms, t[i]);
        if (!p) {
            p = xcalloc(1, sizeof(*p));
            map_put(&b->terms, t[i], p);
        }
        if (p->n == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 4;
            p->doc = xrealloc(p->doc, p->cap * sizeof(*p->doc));
            p->tf = xrealloc(p->tf, p->cap * sizeof(*p->tf));
        }
        p->doc[p->n] = doc;
        p->tf[p->n] = (uint16_t)(j - i > UINT16_MAX ? UINT16_MAX : j - i);
        p->n++;
        i = j;
    }
    free(t);
    b->total += (double)n;
    b->avgdl = b->total / (double)b->ndocs;
    return doc;
}

size_t bm25_search(const struct bm25 *b, struct feat_buf *fb, const char *text, size_t len,
                   struct bm25_hit *out, size_t k)
{
    if (b->ndocs == 0 || k == 0)
        return 0;
    uint64_t t[MAX_QUERY_TERMS];
    size_t n = terms(fb, text, len, t, MAX_QUERY_TERMS);
    qsort(t, n, sizeof(*t), u64_cmp);
    double *acc = xcalloc(b->ndocs, sizeof(*acc));
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && t[i] == t[i - 1])
            continue; /* a repeated query term counts once */
        const struct bm25_postings *p = map_get(&b->terms, t[i]);
        if (!p)
            continue;
        double idf = log(1.0 + ((double)b->ndocs - (double)p->n + 0.5) / ((double)p->n + 0.5));
        for (size_t q = 0; q < p->n; q++) {
            double tf = p->tf[q];
            double norm = K1 * (1.0 - B + B * (double)b->doclen[p->doc[q]] / b->avgdl);
            acc[p->doc[q]] += idf * tf * (K1 + 1.0) / (tf + norm);
        }
    }
    size_t got = 0;
    for (size_t d = 0; d < b->ndocs; d++) {
        if (acc[d] <= 0)
            continue;
        /* insertion into the top k, best first; ties keep the earlier document first */
        size_t pos = got < k ? got : k;
        while (pos > 0 && out[pos - 1].score < acc[d])
            pos--;
        if (pos >= k)
            continue;
        size_t last = got < k ? got : k - 1;
        memmove(out + pos + 1, out + pos, (last - pos) * sizeof(*out));
        out[pos].doc = (uint32_t)d;
        out[pos].score = acc[d];
        if (got < k)
            got++;
    }
    free(acc);
    return got;
}
