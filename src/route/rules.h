/* rules.h: an inbox's routing settings as JSON, routing rules (validation and matching), and the
 * conversation facts the rules and the score terms read. No I/O. */
#ifndef PARLEY_RULES_H
#define PARLEY_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/json.h"
#include "route/route.h"

/* route_settings_parse: applies a `routing` object (any subset of its keys) over *s. Bad values:
 * ERR_VALIDATION naming "routing.<key>". */
int route_settings_parse(json_t *v, struct route_settings *s, struct jfail *f);
/* route_settings_load: the stored JSON over the defaults (bad or missing keys keep the default). */
void route_settings_load(const char *text, struct route_settings *s);
json_t *route_settings_json(const struct route_settings *s); /* returns owned */

enum { RULE_NAME_MAX = 80, RULE_CONDITIONS_MAX = 10, RULE_VALUE_MAX = 200, SKILL_NAME_MAX = 40 };

/* A rule as given to POST/PATCH. Pointers borrow from the body. */
struct route_rule_input {
    const char *name;
    bool has_inbox, has_position, has_enabled, has_match, has_conditions, has_actions;
    int64_t inbox_id; /* 0: every inbox */
    int64_t position;
    bool enabled;
    bool match_any;
    json_t *conditions; /* borrowed, validated */
    int64_t team_id;    /* 0: none */
    const char *skill;  /* NULL: none */
    int64_t min_level;  /* 1..5 */
    int priority;       /* -1: none, else index in conv_priority_names */
};
int route_rule_parse(json_t *body, bool create, struct route_rule_input *in, struct jfail *f);

/* What rules look at. Borrowed. */
struct route_facts {
    const char *page_url, *message, *intent;
    json_t *labels;     /* array of strings */
    json_t *prechat;    /* object */
    json_t *attributes; /* contact attributes, object */
};
/* route_rule_matches: the rule's conditions (a validated array) against the facts. */
bool route_rule_matches(json_t *conditions, bool match_any, const struct route_facts *f);

/* route_language_guess: "zh" when the text has CJK characters, "en" when it has Latin letters, ""
 * otherwise. */
const char *route_language_guess(const char *text);
/* route_truthy: a contact attribute that means yes (true, a non-zero number, "true", "yes", "1").
 */
bool route_truthy(json_t *v);

#endif
