/* sentiment.h: the sentiment of a customer message, -1 (angry) .. 1 (delighted), for Chinese and
 * English, with no trained model: a hand-written lexicon of customer-service words with negation
 * ("不满意", "not happy"), intensifiers ("非常", "very") and exclamation marks. No data set is
 * bundled (chnsenticorp is for evaluation only); `parleyd nlp-eval` measures the trained
 * classifier on it instead. */
#ifndef PARLEY_NLP_SENTIMENT_H
#define PARLEY_NLP_SENTIMENT_H
#include <stddef.h>

double sentiment_score(const char *text, size_t len);
/* sentiment_label: "negative" (score <= -0.25), "positive" (>= 0.25) or "neutral". */
const char *sentiment_label(double score);
#endif
