/* bm25.h: Okapi BM25 retrieval over short documents (FAQ entries, help-center articles), using
 * the classifier's tokeniser: stemmed Latin words, and CJK characters plus CJK bigrams (so Chinese
 * needs no segmenter). k1 = 1.2, b = 0.75. Build once, then search from any thread. */
#ifndef PARLEY_NLP_BM25_H
#define PARLEY_NLP_BM25_H
#include <stddef.h>
#include <stdint.h>

#include "base/map.h"
#include "nlp/feat.h"

struct bm25 {
    struct map terms; /* term hash -> struct bm25_postings * */
    uint32_t *doclen;
    size_t ndocs, cap;
    double avgdl, total;
};

struct bm25_hit {
    uint32_t doc;
    double score;
};

void bm25_init(struct bm25 *b);
void bm25_release(struct bm25 *b);
/* bm25_add: adds the next document (its number is the count added before it). */
uint32_t bm25_add(struct bm25 *b, struct feat_buf *fb, const char *text, size_t len);
/* bm25_search: the best k documents with a score above 0, best first; returns how many. */
size_t bm25_search(const struct bm25 *b, struct feat_buf *fb, const char *text, size_t len,
                   struct bm25_hit *out, size_t k);
#endif
