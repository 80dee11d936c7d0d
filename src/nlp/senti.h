/* senti.h: the product's sentiment model. The bot's classifier (model.h) over three classes,
 * negative / neutral / positive, trained from a seed set of customer-service messages written for
 * Parley (senti_seed.tsv: original Chinese and English sentences, embedded in the binary; no public
 * data set is bundled) and, for an account, the messages its agents corrected, each repeated so a
 * tenant's word weighs more than the seed's.
 *
 * A message's score, -1..1, is P(positive) - P(negative) from the calibrated softmax, blended with
 * the lexicon (sentiment.h), which knows negation and intensifiers the few hundred seed sentences
 * cannot teach: SENTI_BLEND of the model, the rest lexicon (docs/performance.md, "Sentiment", has
 * the measurements behind the weight). A text with no feature the model knows gets the lexicon's
 * score alone, and so does every text when there is no model yet.
 *
 * Training runs on a worker thread or the eval command, never the loop; a trained model is
 * immutable, so any thread may score with it, each with its own struct feat_buf. */
#ifndef PARLEY_NLP_SENTI_H
#define PARLEY_NLP_SENTI_H
#include <stddef.h>

#include "nlp/feat.h"
#include "nlp/model.h"

#define SENTI_BLEND 0.3       /* the model's share of the score where the lexicon has a say */
#define SENTI_TENANT_WEIGHT 3 /* copies of each tenant row in the training set */
#define SENTI_CV_MIN 10       /* tenant rows needed for a cross-validated accuracy */
#define SENTI_CV_FOLDS 5
#define SENTI_TENANT_MAX 5000 /* the newest tenant rows used */
#define SENTI_TEXT_MAX 480    /* longer texts are scored on their first 320 and last 160 bytes */

/* The three labels, in the order of enum senti_class. */
enum senti_class { SENTI_NEGATIVE, SENTI_NEUTRAL, SENTI_POSITIVE, SENTI_NCLASS };
extern const char *const senti_labels[SENTI_NCLASS];
/* senti_label_parse: the class named by label (len bytes), or -1. */
int senti_label_parse(const char *label, size_t len);
/* senti_label_score: the score a person's label stands for: -1, 0 or 1. */
double senti_label_score(int cls);

struct senti_model {
    struct nlp_model *m;
    int cls[SENTI_NCLASS];          /* model class of each enum senti_class */
    size_t examples;                /* training rows, tenant copies counted once */
    size_t tenant_examples;         /* the tenant's labelled messages */
    double cv;                      /* accuracy on the tenant's rows, k-fold; NAN below CV_MIN */
    double base_accuracy;           /* the seed model's accuracy on the same rows; NAN likewise */
    double blend;                   /* the model's share of the score */
    const struct senti_model *base; /* a tenant model's seed model (borrowed), else NULL */
};

struct senti_opts {
    /* for a tenant model: the seed model, whose temperature it takes and whose accuracy on the
     * tenant's rows it reports. NULL for the seed model itself, whose temperature is fitted on
     * held-out seed rows. */
    const struct senti_model *base;
    int weight;   /* copies of each tenant row; 0 means SENTI_TENANT_WEIGHT */
    double blend; /* the model's share of the score; 0 means SENTI_BLEND */
};

/* senti_seed: appends the embedded seed rows to d. Returns the number of rows added. */
size_t senti_seed(struct nlp_data *d);

/* senti_train: trains on seed and tenant (may be NULL or empty: the seed model). Deterministic.
 * Returns 0 and *out (free with senti_free), or a negative ERR_*. */
int senti_train(const struct nlp_data *seed, const struct nlp_data *tenant,
                const struct senti_opts *o, struct senti_model **out);
void senti_free(struct senti_model *sm);

/* The parts of a score: the model's P(positive) - P(negative) (NAN when there is no model or the
 * text has no feature it knows), the lexicon's score, and the model's share. */
struct senti_parts {
    double model, lex, weight;
};
void senti_parts(const struct senti_model *sm, struct feat_buf *fb, const char *text, size_t len,
                 struct senti_parts *p);
/* senti_combine: weight * model + (1 - weight) * lex; the lexicon alone when the model has no
 * opinion, the model alone when the lexicon has none. */
double senti_combine(const struct senti_parts *p);
/* senti_score: the product's score of a text, -1..1 (sm may be NULL: the lexicon alone). */
double senti_score(const struct senti_model *sm, struct feat_buf *fb, const char *text, size_t len);

#endif
