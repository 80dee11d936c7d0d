/* rules.c: routing settings as JSON, routing rules (validation and matching), and small facts the
 * router derives from a conversation (its language, a VIP flag). */
#include "base/sys.h"
#include "base/str.h"
#include "model/conversation.h"
#include "model/user.h"
#include "route/rules.h"

#include <ctype.h>
#include <math.h>
#include <strings.h>

/* ---- settings ---- */

int route_settings_parse(json_t *v, struct route_settings *s, struct jfail *f)
{
    char field[48];
    if (!json_is_object(v))
        return json_fail(f, "routing", "routing must be an object%s.",
                         json_is_null(v) ? "; null is not allowed" : "");
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
    int idx = 0, rc;
    if ((rc = json_field_enum(v, "routing.strategy", false, route_strategy_names, &idx, f)) < 0)
        return rc;
    if (rc == 1)
        s->strategy = (enum route_strategy)idx;
    if ((rc = json_field_object(v, "routing.weights", false, &x, f)) < 0)
        return rc;
    if (rc == 1) {
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
            if ((rc = json_field_num(x, field, true, 0, 100, &s->weights[t], f)) < 0)
                return rc;
        }
    }
    int64_t n = 0;
    bool none = false;
    if ((rc = json_field_int_nullable(v, "routing.overflow_team_id", 1, INT64_MAX, &n, &none, f)) <
        0)
        return json_fail(f, "routing.overflow_team_id",
                         "routing.overflow_team_id must be a team id or null.");
    if (rc == 1)
        s->overflow_team_id = none ? 0 : n;
    if ((rc = json_field_int(v, "routing.overflow_after_seconds", false, 0, 86400, &n, f)) < 0)
        return rc;
    if (rc == 1)
        s->overflow_after_s = (int)n;
    if ((rc = json_field_int(v, "routing.reroute_after_seconds", false, 0, 86400, &n, f)) < 0)
        return rc;
    if (rc == 1)
        s->reroute_after_s = (int)n;
    const char *a = NULL;
    if ((rc = json_field_str(v, "routing.vip_attribute", false, 1, 40, &a, f)) < 0)
        return rc;
    if (rc == 1) {
        bool ok = true;
        for (size_t i = 0; ok && a[i]; i++)
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
    if (json_is_object(v)) {
        /* Key by key, as bot_settings_load: a bad stored value keeps its default only. */
        const char *key;
        json_t *x;
        json_object_foreach(v, key, x)
        {
            json_t *one = json_pack("{s:O}", key, x);
            struct route_settings tmp = *s;
            struct jfail f = {0};
            if (one && route_settings_parse(one, &tmp, &f) == 0)
                *s = tmp;
            json_decref(one);
        }
    }
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
    if (json_array_size(v) < 1 || json_array_size(v) > RULE_CONDITIONS_MAX)
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
        if (!s || utf8_chars(s, strlen(s)) < 1 || utf8_chars(s, strlen(s)) > RULE_VALUE_MAX)
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
    int rc = json_field_str(body, "name", create, 1, RULE_NAME_MAX, &in->name, f);
    if (rc < 0)
        return rc;
    if (rc == 1 && (rc = user_name_check(in->name, "name", RULE_NAME_MAX, f)) < 0)
        return rc;
    bool none = false;
    if ((rc = json_field_int_nullable(body, "inbox_id", 1, INT64_MAX, &in->inbox_id, &none, f)) < 0)
        return rc;
    in->has_inbox = rc == 1;
    if (rc == 1 && none)
        in->inbox_id = 0;
    if ((rc = json_field_int(body, "position", false, 0, 1000000, &in->position, f)) < 0)
        return rc;
    in->has_position = rc == 1;
    if ((rc = json_field_bool(body, "enabled", false, &in->enabled, f)) < 0)
        return rc;
    in->has_enabled = rc == 1;
    static const char *const m[] = {"all", "any", NULL};
    int idx = 0;
    if ((rc = json_field_enum(body, "match", false, m, &idx, f)) < 0)
        return rc;
    in->has_match = rc == 1;
    in->match_any = rc == 1 && idx == 1;
    x = NULL;
    if ((rc = json_field_array(body, "conditions", create, 1, RULE_CONDITIONS_MAX, &x, f)) < 0)
        return rc;
    if (rc == 1) {
        in->has_conditions = true;
        if ((rc = parse_conditions(x, f)) < 0)
            return rc;
        in->conditions = x;
    }
    if ((rc = json_field_object(body, "actions", create, &x, f)) < 0)
        return json_fail(f, "actions",
                         "actions must be an object with team_id, skill (and min_level) or"
                         " priority.");
    if (rc == 0)
        return 0;
    in->has_actions = true;
    json_t *a;
    json_object_foreach(x, key, a)
    {
        if (strcmp(key, "team_id") && strcmp(key, "skill") && strcmp(key, "min_level") &&
            strcmp(key, "priority"))
            return json_fail(f, "actions",
                             "unknown action %.40s; use team_id, skill, min_level or priority.",
                             key);
    }
    /* null is "no such action" (PATCH replaces the actions whole) */
    if ((rc = json_field_int_nullable(x, "actions.team_id", 1, INT64_MAX, &in->team_id, &none, f)) <
        0)
        return rc;
    if (rc == 1 && none)
        in->team_id = 0;
    if ((rc = json_field_str_nullable(x, "actions.skill", 1, SKILL_NAME_MAX, &in->skill, &none,
                                      f)) < 0)
        return rc;
    if (rc == 1 && none)
        in->skill = NULL;
    if (in->skill && (rc = user_skill_check(in->skill, "actions.skill", f)) < 0)
        return rc;
    if ((rc = json_field_int(x, "actions.min_level", false, 1, 5, &in->min_level, f)) < 0)
        return rc;
    a = json_object_get(x, "priority");
    if (a && !json_is_null(a) &&
        (rc = json_field_enum(x, "actions.priority", true, conv_priority_names, &in->priority, f)) <
            0)
        return rc;
    if (!in->team_id && !in->skill && in->priority < 0)
        return json_fail(f, "actions",
                         "a rule needs at least one action: team_id, skill or priority.");
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
    if (!field || !op || !want) /* a stored rule of another shape: it matches nothing */
        return false;
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
