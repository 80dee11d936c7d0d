/* model.h: a text classifier: tf-idf weighted hashed n-grams (feat.h) and one-vs-rest linear SVMs
 * (L2-regularised, squared hinge, trained by dual coordinate descent as in LIBLINEAR), with
 * probabilities from a softmax over the SVM scores at a temperature fitted on held-out data, and
 * an out-of-scope threshold on the top probability.
 *
 * Pairwise refinement: the one-vs-rest machines are generalists, and most of their mistakes put
 * the right class second, behind a close neighbour ("card_arrival" and "card_delivery_estimate").
 * So the model also has one-vs-one SVMs for the pairs of classes that its one-vs-rest machines
 * confuse on the training texts (a training text's class and the best other class), each trained
 * on the texts of its two classes only. When a text's two best classes have such a machine, it
 * votes on their order: the one-vs-rest margin plus pair_weight times the pair's score. The two
 * scores keep their values (the winner gets the higher one), so probabilities, calibration and
 * the out-of-scope signal mean what they meant; only which of the two wins can change. The pair
 * weights are stored sparse: a pair's machine is a combination of its own texts' features.
 *
 * A model is immutable once trained: many threads may call nlp_predict on it at once, each with
 * its own struct feat_buf. Training runs on a worker thread (or the eval command), never the loop.
 */
#ifndef PARLEY_NLP_MODEL_H
#define PARLEY_NLP_MODEL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "nlp/feat.h"

struct nlp_opts {
    double c;           /* SVM cost; 0 means the default, 0.5 */
    double eps;         /* stopping tolerance of the dual solver; 0 means 0.1 */
    int max_iter;       /* passes over the data per class; 0 means 200 */
    int min_df;         /* features seen in fewer texts are dropped; 0 means 1 */
    int threads;        /* 0 means 2 */
    double pair_c;      /* cost of the pairwise SVMs; 0 means 4, below 0 trains none */
    double pair_weight; /* the pair's vote against the one-vs-rest margin; 0 means 1 */
    uint64_t seed;      /* for the solver's visiting order; training is deterministic given it */
    /* hold and held_out: when held_out is not NULL, hold[d->n] marks rows to hold out. Each
     * one-vs-rest machine is then fitted again without them, warm-started from the full fit (so
     * it costs a few passes, not a training), and held_out[i * nclass + c] receives the held row
     * i's score from that fit: true held-out scores for calibration (nlp_calibrate_scores)
     * without a second training. Rows not held are left alone. */
    const bool *hold;
    float *held_out;
    /* progress(done, total, arg): called as classes finish, from the training threads, one at a
     * time. May be NULL. */
    void (*progress)(int done, int total, void *arg);
    void *progress_arg;
};

struct nlp_model {
    int nclass;
    char **labels; /* owned, NUL-terminated */
    size_t nfeat;
    uint64_t *keys;  /* keys[f]: (view << 32) | hash of feature f */
    float *idf;      /* idf[f] */
    float *w;        /* w[f * nclass + c], feature-major so a sparse text touches whole rows */
    float *bias;     /* bias[c] */
    float temp;      /* softmax temperature (1 until calibrated) */
    float threshold; /* top probability under this means out of scope; 0 disables */
    /* the pairwise machines, sorted by (a, b) with a < b; pair k's weights are the features
     * pidx[poff[k] .. poff[k + 1]) (ascending) with values pval[...]; positive scores favour a */
    size_t npair;
    uint32_t *pa, *pb;
    float *pbias;
    size_t *poff;
    uint32_t *pidx;
    float *pval;
    float pair_weight;
    /* the lookup table from key to feature index (open addressing, built on train and load) */
    uint64_t *tkey;
    uint32_t *tval;
    size_t tcap;
};

/* A labelled training set: texts with class numbers 0..nclass-1 and the class names. */
struct nlp_data {
    size_t n, cap;
    char **text;
    size_t *len;
    int *label;
    int nclass;
    char **labels;
};

void nlp_data_init(struct nlp_data *d);
void nlp_data_release(struct nlp_data *d);
/* nlp_data_add: copies text; the label is looked up by name and added when new. */
void nlp_data_add(struct nlp_data *d, const char *text, size_t len, const char *label, size_t llen);
int nlp_data_label(const struct nlp_data *d, const char *label, size_t llen); /* -1 if unknown */

/* nlp_name_example: a class's name as one more training text for it ("card_arrival" becomes
 * "card arrival"; '_' and '-' become spaces), into out (cap bytes, NUL-terminated). Returns its
 * length, or 0 when the name has no letter (a number or a code says nothing about the texts). An
 * intent's name is what its owner calls it: on banking77 with 10 examples per intent it adds 1 to
 * 1.7 points, on the full set nothing. */
size_t nlp_name_example(const char *name, char *out, size_t cap);

/* nlp_train: trains on d. Returns 0 and *out, or a negative ERR_* (ERR_INVALID when d has no
 * text or fewer than two classes). */
int nlp_train(const struct nlp_data *d, const struct nlp_opts *opts, struct nlp_model **out);
void nlp_model_free(struct nlp_model *m);

/* nlp_scores: raw SVM scores for every class into scores[nclass]; returns the best class, or -1
 * when the text has no known feature (all scores are then the biases). */
int nlp_scores(const struct nlp_model *m, struct feat_buf *fb, const char *text, size_t len,
               float *scores);
/* nlp_softmax: calibrated probabilities from scores (both nclass long). */
void nlp_softmax(const struct nlp_model *m, const float *scores, float *probs);
/* nlp_predict: calibrated probabilities into probs[nclass] (may be NULL); returns the best class
 * and its probability in *p. */
int nlp_predict(const struct nlp_model *m, struct feat_buf *fb, const char *text, size_t len,
                float *probs, float *p);

/* nlp_calibrate: fits the temperature on d (labelled, held out from training) by minimising the
 * log loss. When oos_label names a class of d absent from the model, its rows are out of scope and
 * the threshold is chosen to maximise accuracy counting "out of scope" as a right answer for them;
 * otherwise the threshold is the top probability below which target_reject of the in-scope rows
 * fall (0 disables). Returns 0 or a negative ERR_*. */
int nlp_calibrate(struct nlp_model *m, const struct nlp_data *d, const char *oos_label,
                  double target_reject);

/* nlp_calibrate_scores: as nlp_calibrate, from scores already made: scores[n * nclass] and
 * truth[n] (the model's class, or -1 for out of scope). */
void nlp_calibrate_scores(struct nlp_model *m, const float *scores, const int *truth, size_t n,
                          double target_reject);

/* Serialisation to a self-describing little-endian blob (magic "PNLP", version 2 with the pairwise
 * machines; version 1 blobs load with none). */
int nlp_model_save(const struct nlp_model *m, struct buf *out);
int nlp_model_load(const void *p, size_t len, struct nlp_model **out);

#endif
