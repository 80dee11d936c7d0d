/* on_bot.h: the bot on the event loop. It keeps each account's trained "brain" (the classifier over
 * FAQ entries and intents, and a BM25 index over FAQ entries and published articles), retrains it
 * on the libuv thread pool when what it knows changes, answers customers in conversations the bot
 * holds, hands them over to routing, and serves the console's bot status, "try it" and agent-assist
 * suggestions. */
#ifndef PARLEY_ON_BOT_H
#define PARLEY_ON_BOT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct event;
struct store;
struct store_tx;
struct event_batch;
struct conv_actor;
struct jfail;

int on_bot_init(uv_loop_t *loop, struct store *s, char *err, size_t errlen);
void on_bot_stop(void);
void on_bot_release(void);
void on_bot(const struct event *ev); /* the listener */

/* on_bot_status: {status, progress, version, trained_at, examples, classes, cv_accuracy, train_ms,
 * error}. Returns owned. */
json_t *on_bot_status(int64_t account_id);
/* on_bot_train: retrain now (a no-op while a training runs: it trains again after). */
void on_bot_train(int64_t account_id);
/* on_bot_test: what the bot would do with text: {match, confident, answer, suggestions,
 * sentiment}. threshold 0 means the default 0.5. Returns owned. */
json_t *on_bot_test(int64_t account_id, const char *text, double threshold);
/* on_bot_suggest: agent assist for text: {faqs: [...], articles: [...]} (canned responses are
 * added by the caller from the database). Returns owned. */
json_t *on_bot_suggest(int64_t account_id, const char *text);
/* on_bot_widget: {active, greeting, suggestions, flows: [{id, label, payload}]} for an inbox's
 * widget. Returns owned. */
json_t *on_bot_widget(int64_t account_id, int64_t inbox_id);

/* bot_handoff_tx: in a write job, hands a conversation the bot holds to people: a bot message to
 * the customer, a private note with what the bot learned, status open (so routing takes it), the
 * intent (and team/skill) set. reason: "visitor", "keyword", "intent", "low_confidence"... A
 * conversation the bot does not hold is left alone (returns 0, *done false). */
int bot_handoff_tx(struct store_tx *tx, struct event_batch *events, int64_t account_id,
                   int64_t conversation_id, const char *reason, const char *intent, int64_t team_id,
                   int64_t skill_id, const char *lang, bool *done);

/* bot_payload_valid: the shape of a flow button's payload ("flow:<id>" or
 * "flow:<id>:<step>:<index>", model/flow.h). */
bool bot_payload_valid(const char *payload);
/* bot_payload_check_tx: in the write job of a visitor's message that carries a button's payload,
 * before it is stored: the button must be one the bot offers now (a flow under the inbox's greeting
 * while the bot has the visitor, or a button of the step their conversation is at). A retry of a
 * stored message (its client_id) passes. ERR_VALIDATION naming "payload" otherwise. */
int bot_payload_check_tx(struct store_tx *tx, const struct conv_actor *a, const char *client_id,
                         const char *payload, struct jfail *f);

#endif
