/* rules.c: routing settings as JSON, routing rules (validation and matching), and small facts the
 * router derives from a conversation (its language, a VIP flag). */
#include "base/sys.h"
#include "base/str.h"
#include "model/conversation.h"
#include "route/rules.h"

#include <ctype.h>
#include <math.h>
#include <strings.h>

/* ---- settings ---- */

static int get_seconds(json_t *v, const char *key, int *out, struct jfail *f)
{
    json_t *x = json_object_get(v, key);
    if (!x)
        return 0;
    if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > 86400) {
        char field[48];
        snprintf(field, sizeof(field), "routing.%s", key);
        return json_fail(f, field, "%s must be a whole number of seconds, 0..86400.", field);
    }
    *out = (int)json_integer_value(x);
    return 0;
}

int route_settings_parse(json_t *v, struct route_settings *s, struct jfail *f)
{
    char field[48];
    if (!json_is_object(v))
        return json_fail(f, "routing", "routing must be an object.");
    static const char *const known[] = {"strategy",
                                        "weights",
                                        "overflow_team_id",
                                        "overflow_after_seconds",
                                        "reroute_after_seconds",
                                        "vip_attribute"};
    const char *key;
    json_t *x;
    json_object_foreach(v, key, x)
    {
        bool ok = false;
        for (size_t i = 0; i < ARRAY_SIZE(known); i++)
            ok = ok || strcmp(key, known[i]) == 0;
        if (!ok) {
            snprintf(field, sizeof(field), "routing.%.30s", key);
            return json_fail(f, field,
                             "unknown routing setting; use strategy, weights, overflow_team_id,"
                             " overflow_after_seconds, reroute_after_seconds or vip_attribute.");
        }
    }
    int idx, rc;
    if (json_object_get(v, "strategy")) {
        if (json_get_enum(v, "strategy", true, route_strategy_names, &idx, f) < 0)
            return json_fail(f, "routing.strategy",
                             "routing.strategy must be manual, round_robin, least_busy or"
                             " weighted.");
        s->strategy = (enum route_strategy)idx;
    }
    x = json_object_get(v, "weights");
    if (x) {
        if (!json_is_object(x))
            return json_fail(f, "routing.weights", "routing.weights must be an object.");
        json_t *w;
        json_object_foreach(x, key, w)
        {
            int t = -1;
            for (int k = 0; k < TERM_COUNT; k++)
                if (strcmp(key, route_term_names[k]) == 0)
                    t = k;
            snprintf(field, sizeof(field), "routing.weights.%.20s", key);
            if (t < 0)
                return json_fail(f, field,
                                 "unknown weight; use skill, load, priority, wait, language,"
                                 " stickiness or region.");
            if (!json_is_number(w) || json_number_value(w) < 0 || json_number_value(w) > 100 ||
                !isfinite(json_number_value(w)))
                return json_fail(f, field, "a weight is a number from 0 to 100.");
            s->weights[t] = json_number_value(w);
        }
    }
    x = json_object_get(v, "overflow_team_id");
    if (x) {
        if (json_is_null(x))
            s->overflow_team_id = 0;
        else if (json_is_integer(x) && json_integer_value(x) > 0)
            s->overflow_team_id = json_integer_value(x);
        else
            return json_fail(f, "routing.overflow_team_id",
                             "routing.overflow_team_id must be a team id or null.");
    }
    if ((rc = get_seconds(v, "overflow_after_seconds", &s->overflow_after_s, f)) < 0 ||
        (rc = get_seconds(v, "reroute_after_seconds", &s->reroute_after_s, f)) < 0)
        return rc;
    x = json_object_get(v, "vip_attribute");
    if (x) {
        const char *a = json_string_value(x);
        size_t n = a ? strlen(a) : 0;
        bool ok = a && n >= 1 && n <= 40;
        for (size_t i = 0; ok && i < n; i++)
            ok = isalnum((unsigned char)a[i]) || a[i] == '_' || a[i] == '-';
        if (!ok)
            return json_fail(f, "routing.vip_attribute",
                             "routing.vip_attribute is an attribute name: 1 to 40 letters,"
                             " digits, '_' or '-'.");
        snprintf(s->vip_attribute, sizeof(s->vip_attribute), "%s", a);
    }
    return 0;
}

void route_settings_load(const char *text, struct route_settings *s)
{
    route_settings_default(s);
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    if (!v)
        return;
    struct route_settings tmp = *s;
    struct jfail f;
    if (route_settings_parse(v, &tmp, &f) == 0)
        *s = tmp;
    json_decref(v);
}

json_t *route_settings_json(const struct route_settings *s)
{
    json_t *w = json_object();
    for (int k = 0; k < TERM_COUNT; k++)
        json_object_set_new(w, route_term_names[k], json_real(s->weights[k]));
    return json_pack("{s:s, s:o, s:o, s:i, s:i, s:s}", "strategy",
                     route_strategy_names[s->strategy], "weights", w, "overflow_team_id",
                     s->overflow_team_id ? json_integer(s->overflow_team_id) : json_null(),
                     "overflow_after_seconds", s->overflow_after_s, "reroute_after_seconds",
                     s->reroute_after_s, "vip_attribute", s->vip_attribute);
}

/* ---- rules ---- */

static const char *const operators[] = {"equals", "not_equals", "contains", "starts_with", NULL};

static bool attr_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 40)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

static bool field_valid(const char *s)
{
    if (!strcmp(s, "label") || !strcmp(s, "page_url") || !strcmp(s, "message") ||
        !strcmp(s, "intent"))
        return true;
    if (!strncmp(s, "prechat.", 8))
        return attr_name_valid(s + 8);
    if (!strncmp(s, "contact.", 8))
        return attr_name_valid(s + 8);
    return false;
}

static int parse_conditions(json_t *v, struct jfail *f)
{
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > RULE_CONDITIONS_MAX)
        return json_fail(f, "conditions", "conditions must be a list of 1 to %d conditions.",
                         RULE_CONDITIONS_MAX);
    size_t i;
    json_t *c;
    json_array_foreach(v, i, c)
    {
        if (!json_is_object(c) || json_object_size(c) != 3)
            return json_fail(f, "conditions",
                             "condition %zu must be {\"field\", \"operator\", \"value\"}.", i + 1);
        const char *field = json_string_value(json_object_get(c, "field"));
        const char *op = json_string_value(json_object_get(c, "operator"));
        json_t *val = json_object_get(c, "value");
        if (!field || !field_valid(field))
            return json_fail(f, "conditions",
                             "condition %zu: field must be label, page_url, message, intent,"
                             " prechat.<name> or contact.<attribute>.",
                             i + 1);
        bool op_ok = false;
        for (int k = 0; op && operators[k]; k++)
            op_ok = op_ok || strcmp(op, operators[k]) == 0;
        if (!op_ok)
            return json_fail(f, "conditions",
                             "condition %zu: operator must be equals, not_equals, contains or"
                             " starts_with.",
                             i + 1);
        const char *s = json_string_value(val);
        if (!s || !utf8_valid(s, strlen(s)) || utf8_chars(s, strlen(s)) < 1 ||
            utf8_chars(s, strlen(s)) > RULE_VALUE_MAX)
            return json_fail(f, "conditions",
                             "condition %zu: value must be text of 1 to %d characters.", i + 1,
                             RULE_VALUE_MAX);
    }
    return 0;
}

int route_rule_parse(json_t *body, bool create, struct route_rule_input *in, struct jfail *f)
{
    memset(in, 0, sizeof(*in));
    in->priority = -1;
    in->min_level = 1;
    in->enabled = true;
    static const char *const known[] = {"name",  "inbox_id",   "position", "enabled",
                                        "match", "conditions", "actions"};
    const char *key;
    json_t *x;
    json_object_foreach(body, key, x)
    {
        bool ok = false;
        for (size_t i = 0; i < ARRAY_SIZE(known); i++)
            ok = ok || strcmp(key, known[i]) == 0;
        if (!ok)
            return json_fail(f, key,
                             "unknown field; a rule has name, inbox_id, position, enabled, match,"
                             " conditions and actions.");
    }
    int rc = json_get_str(body, "name", create, 1, RULE_NAME_MAX, &in->name, f);
    if (rc < 0)
        return rc;
    if (in->name && text_blank(in->name))
        return json_fail(f, "name", "name must not be blank.");
    x = json_object_get(body, "inbox_id");
    if (x) {
        in->has_inbox = true;
        if (!json_is_null(x) &&
            (rc = json_get_int(body, "inbox_id", true, 1, INT64_MAX, &in->inbox_id, f)) < 0)
            return rc;
    }
    if (json_object_get(body, "position")) {
        in->has_position = true;
        if ((rc = json_get_int(body, "position", true, 0, 1000000, &in->position, f)) < 0)
            return rc;
    }
    if (json_object_get(body, "enabled")) {
        in->has_enabled = true;
        if ((rc = json_get_bool(body, "enabled", true, &in->enabled, f)) < 0)
            return rc;
    }
    if (json_object_get(body, "match")) {
        static const char *const m[] = {"all", "any", NULL};
        int idx;
        in->has_match = true;
        if ((rc = json_get_enum(body, "match", true, m, &idx, f)) < 0)
            return rc;
        in->match_any = idx == 1;
    }
    x = json_object_get(body, "conditions");
    if (x || create) {
        in->has_conditions = true;
        if (!x)
            return json_fail(f, "conditions", "conditions is required.");
        if ((rc = parse_conditions(x, f)) < 0)
            return rc;
        in->conditions = x;
    }
    x = json_object_get(body, "actions");
    if (x || create) {
        in->has_actions = true;
        if (!json_is_object(x))
            return json_fail(f, "actions",
                             "actions must be an object with team_id, skill (and min_level) or"
                             " priority.");
        json_t *a;
        json_object_foreach(x, key, a)
        {
            if (strcmp(key, "team_id") && strcmp(key, "skill") && strcmp(key, "min_level") &&
                strcmp(key, "priority"))
                return json_fail(f, "actions",
                                 "unknown action %s; use team_id, skill, min_level or priority.",
                                 key);
        }
        json_t *t = json_object_get(x, "team_id");
        if (t && !json_is_null(t) &&
            (rc = json_get_int(x, "team_id", true, 1, INT64_MAX, &in->team_id, f)) < 0) {
            snprintf(f->field, sizeof(f->field), "actions.team_id");
            return rc;
        }
        t = json_object_get(x, "skill");
        if (t && !json_is_null(t)) {
            if ((rc = json_get_str(x, "skill", true, 1, SKILL_NAME_MAX, &in->skill, f)) < 0 ||
                text_blank(in->skill)) {
                return json_fail(f, "actions.skill",
                                 "actions.skill is a skill name of 1 to %d characters.",
                                 SKILL_NAME_MAX);
            }
        }
        if (json_object_get(x, "min_level") &&
            (rc = json_get_int(x, "min_level", true, 1, 5, &in->min_level, f)) < 0) {
            snprintf(f->field, sizeof(f->field), "actions.min_level");
            return rc;
        }
        t = json_object_get(x, "priority");
        if (t && !json_is_null(t) &&
            (rc = json_get_enum(x, "priority", true, conv_priority_names, &in->priority, f)) < 0) {
            snprintf(f->field, sizeof(f->field), "actions.priority");
            return rc;
        }
        if (!in->team_id && !in->skill && in->priority < 0)
            return json_fail(f, "actions",
                             "a rule needs at least one action: team_id, skill or priority.");
    }
    return 0;
}

/* lower-cased copy, ASCII only (other scripts compare as they are) */
static void lower(const char *s, char *out, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = 0;
}

static bool compare(const char *have, const char *op, const char *want)
{
    char h[2048], w[RULE_VALUE_MAX * 4 + 1];
    lower(have ? have : "", h, sizeof(h));
    lower(want, w, sizeof(w));
    if (!strcmp(op, "equals"))
        return strcmp(h, w) == 0;
    if (!strcmp(op, "not_equals"))
        return strcmp(h, w) != 0;
    if (!strcmp(op, "contains"))
        return strstr(h, w) != NULL;
    return strncmp(h, w, strlen(w)) == 0; /* starts_with */
}

static const char *scalar_text(json_t *v, char *buf, size_t n)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_true(v))
        snprintf(buf, n, "true");
    else if (json_is_false(v))
        snprintf(buf, n, "false");
    else if (json_is_real(v))
        snprintf(buf, n, "%g", json_real_value(v));
    else
        return "";
    return buf;
}

static bool condition_holds(json_t *c, const struct route_facts *f)
{
    const char *field = json_string_value(json_object_get(c, "field"));
    const char *op = json_string_value(json_object_get(c, "operator"));
    const char *want = json_string_value(json_object_get(c, "value"));
    char buf[64];
    if (!strcmp(field, "label")) {
        /* equals/contains/starts_with: some label does; not_equals: no label equals */
        bool neg = !strcmp(op, "not_equals");
        size_t i;
        json_t *l;
        json_array_foreach(f->labels, i, l)
        {
            bool hit = compare(json_string_value(l), neg ? "equals" : op, want);
            if (hit)
                return !neg;
        }
        return neg;
    }
    if (!strcmp(field, "page_url"))
        return compare(f->page_url, op, want);
    if (!strcmp(field, "message"))
        return compare(f->message, op, want);
    if (!strcmp(field, "intent"))
        return compare(f->intent, op, want);
    json_t *obj = !strncmp(field, "prechat.", 8) ? f->prechat : f->attributes;
    return compare(scalar_text(json_object_get(obj, field + 8), buf, sizeof(buf)), op, want);
}

bool route_rule_matches(json_t *conditions, bool match_any, const struct route_facts *f)
{
    size_t i;
    json_t *c;
    json_array_foreach(conditions, i, c)
    {
        bool h = condition_holds(c, f);
        if (match_any && h)
            return true;
        if (!match_any && !h)
            return false;
    }
    return !match_any;
}

const char *route_language_guess(const char *text)
{
    bool latin = false;
    const unsigned char *p = (const unsigned char *)(text ? text : "");
    while (*p) {
        if (*p < 0x80) {
            latin = latin || isalpha(*p);
            p++;
            continue;
        }
        /* decode one UTF-8 sequence */
        uint32_t cp = 0;
        int n = *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : *p >= 0xc0 ? 1 : 0;
        cp = *p & (0x3f >> n);
        p++;
        for (int k = 0; k < n && (*p & 0xc0) == 0x80; k++, p++)
            cp = cp << 6 | (*p & 0x3f);
        if ((cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf))
            return "zh";
    }
    return latin ? "en" : "";
}

bool route_truthy(json_t *v)
{
    if (json_is_true(v))
        return true;
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        return !strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1") ||
               !strcasecmp(s, "vip");
    }
    return false;
}
