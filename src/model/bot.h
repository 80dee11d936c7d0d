/* bot.h: an inbox's bot settings (inboxes.bot, JSON): when the bot answers, what it says first and
 * which guided flows it offers under that, how sure it must be, which words hand over to a person,
 * business hours, what it asks for outside them, and whether a negative customer message raises the
 * priority. No I/O. */
#ifndef PARLEY_MODEL_BOT_H
#define PARLEY_MODEL_BOT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/json.h"

enum bot_mode { BOT_OFF = 0, BOT_ALWAYS, BOT_OUTSIDE_HOURS };
enum {
    BOT_GREETING_MAX = 500,
    BOT_KEYWORDS_MAX = 20,
    BOT_KEYWORD_MAX = 40,
    BOT_SPANS_MAX = 4,
    BOT_FLOWS_MAX = 5
};
enum bot_field { BOT_FIELD_NAME = 1, BOT_FIELD_EMAIL = 2, BOT_FIELD_PHONE = 4 };

struct bot_settings {
    enum bot_mode mode;
    char greeting[BOT_GREETING_MAX * 4 + 1];
    double threshold; /* calibrated probability needed to answer */
    int nkeywords;
    char keywords[BOT_KEYWORDS_MAX][BOT_KEYWORD_MAX * 4 + 1];
    unsigned collect; /* BOT_FIELD_* bits, in the order name, email, phone */
    int utc_offset_min;
    /* open hours per weekday (0 = Monday), minutes from midnight, [open, close) */
    int nspans[7];
    int16_t spans[7][BOT_SPANS_MAX][2];
    bool negative_priority;
    /* guided flows offered as buttons under the greeting (bot_flows ids; the API checks they
     * exist in the account) */
    int nflows;
    int64_t flows[BOT_FLOWS_MAX];
};

extern const char *const bot_mode_names[]; /* "off", "always", "outside_hours", NULL */

void bot_settings_default(struct bot_settings *s);
/* bot_settings_parse: a `bot` object (any subset of keys) over *s; ERR_VALIDATION naming
 * "bot.<key>" (a null, a wrong type, a bad value, an unknown key). *s may be half-changed then. */
int bot_settings_parse(json_t *v, struct bot_settings *s, struct jfail *f);
/* bot_settings_load: stored JSON over the defaults, key by key: a key whose value does not parse
 * (or text that is not a JSON object) keeps the default, so no stored row can fail a reader. */
void bot_settings_load(const char *text, struct bot_settings *s);
json_t *bot_settings_json(const struct bot_settings *s);

/* bot_in_hours: is wall-clock time now_ms inside the business hours? */
bool bot_in_hours(const struct bot_settings *s, int64_t now_ms);
/* bot_active: does the bot answer a conversation that starts at now_ms? */
bool bot_active(const struct bot_settings *s, int64_t now_ms);
/* bot_handoff_word: the text asks for a person (one of the keywords, case-insensitive). */
bool bot_handoff_word(const struct bot_settings *s, const char *text);
/* bot_offers_flow: the flow is one of the greeting's buttons. */
bool bot_offers_flow(const struct bot_settings *s, int64_t flow_id);
/* bot_collect_prompt: what the bot says to ask for a form field. An admin may have written the
 * label as a name ("订单号", "order number") or as a whole question ("请提供您的订单号",
 * "What is your order number?"): a name goes into the template ("请留下您的订单号："), a question
 * is said as it is, never wrapped ("请留下您的请提供您的订单号" was the bug). again: the answer
 * did not fit, ask once more. */
void bot_collect_prompt(const char *label, bool zh, bool again, char *out, size_t len);
#endif
