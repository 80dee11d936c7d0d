/* sentiment.h: the lexicon's sentiment of a text, -1 (angry) .. 1 (delighted), for Chinese and
 * English: a hand-written list of customer-service words with negation ("不满意", "not happy"),
 * intensifiers ("非常", "very") and exclamation marks. The product's score blends it with a trained
 * model (senti.h), and uses it alone until that model is ready; `parleyd senti-eval` measures both.
 */
#ifndef PARLEY_NLP_SENTIMENT_H
#define PARLEY_NLP_SENTIMENT_H
#include <stddef.h>

double sentiment_score(const char *text, size_t len);
/* sentiment_label: "negative" (score <= -0.25), "positive" (>= 0.25) or "neutral". */
const char *sentiment_label(double score);
#endif
