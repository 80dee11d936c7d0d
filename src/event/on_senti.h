/* on_senti.h: the sentiment model on the event loop. It trains the seed model (nlp/senti.h) on the
 * libuv thread pool at start-up, keeps a model per account whose agents corrected messages
 * (retrained, debounced, after each change to the corrections), and scores customer messages on the
 * loop with the account's model, the seed model, or the lexicon until the seed model is ready. */
#ifndef PARLEY_ON_SENTI_H
#define PARLEY_ON_SENTI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct event;
struct store;

/* on_senti_init: queues the seed model's training and returns at once (start-up stays fast; until
 * the model is ready, messages get the lexicon's score). */
void on_senti_init(uv_loop_t *loop, struct store *s);
void on_senti_stop(void);
void on_senti_release(void);
/* the listener: a message.updated event with reason "sentiment" retrains the account's model */
void on_senti(const struct event *ev);

/* on_senti_score: a customer message's score, -1..1 (loop thread only). */
double on_senti_score(int64_t account_id, const char *text, size_t len);
/* on_senti_status: {status: "training"|"ready"|"failed", examples, tenant_examples, cv_accuracy,
 * base_accuracy, trained_at, train_ms, error}. Returns owned. */
json_t *on_senti_status(int64_t account_id);

#endif
