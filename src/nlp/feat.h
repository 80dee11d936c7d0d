/* feat.h: text to hashed features, for Chinese and English alike, with no segmenter and no
 * downloaded resources (DESIGN §8).
 *
 * A text becomes tokens: lower-cased Latin words (contractions expanded, a light suffix stemmer,
 * digits folded to "0") and single CJK characters. Two views are hashed from them:
 *   words  unigrams, bigrams and skip pairs (two words up to five apart, order kept) of the
 *          stemmed words; CJK characters count as words here too;
 *   chars  character 2..5-grams inside each Latin word padded with spaces (scikit-learn's
 *          char_wb), and character 1..3-grams along each run of CJK characters.
 * Each feature is a 32-bit hash salted with its view. feat_extract gives (hash, view, count)
 * triples with repeats merged, grouped by view (words first) in first-seen order; weighting
 * (tf-idf, normalisation) is the model's business. */
#ifndef PARLEY_NLP_FEAT_H
#define PARLEY_NLP_FEAT_H
#include <stddef.h>
#include <stdint.h>

enum feat_view { FEAT_WORDS = 0, FEAT_CHARS = 1, FEAT_NVIEWS = 2 };

struct feat {
    uint32_t hash;
    uint8_t view;
    uint16_t count;
};

/* Scratch space reused across texts: no allocation per call once warm. */
struct feat_buf {
    struct feat *f;
    size_t n, cap;
    char *norm; /* the normalised text: tokens separated by NUL */
    size_t norm_cap;
    uint32_t *tok; /* offsets of the tokens in norm */
    uint8_t *cjk;  /* 1 if the token is one CJK character */
    size_t ntok, tok_cap;
    uint32_t *ht; /* scratch table merging repeated features */
    size_t ht_cap;
};

void feat_buf_init(struct feat_buf *fb);
void feat_buf_release(struct feat_buf *fb);

/* feat_tokens: splits text into the normalised tokens (fb->norm + fb->tok[i], NUL-terminated;
 * fb->cjk[i] says whether it is a CJK character). Invalid UTF-8 bytes separate tokens. Input past
 * FEAT_MAX_TEXT bytes is ignored. Returns the number of tokens. */
#define FEAT_MAX_TEXT 8192
size_t feat_tokens(struct feat_buf *fb, const char *text, size_t len);

/* feat_extract: tokens, then the features of both views, merged, grouped by view.
 * Returns the number of features in fb->f. */
size_t feat_extract(struct feat_buf *fb, const char *text, size_t len);

/* feat_stem: the light English suffix stemmer, in place; returns the new length. */
size_t feat_stem(char *w, size_t len);

#endif
