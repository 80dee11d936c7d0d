/* flow.c: guided flows, validated whole and normalized (see flow.h). */
#include "base/sys.h"

#include "model/flow.h"

#include <ctype.h>
#include <math.h>
#include <strings.h>

#include "base/str.h"
#include "model/conversation.h"
#include "model/user.h"

const char *const flow_step_kinds[] = {"message", "collect", "handoff", "end", NULL};
const char *const flow_field_types[] = {"text", "email", "phone", "number", "choice", NULL};
static const char *const TARGET_TYPES[] = {"step", "faq", "handoff", "end", NULL};

enum kind { K_MESSAGE, K_COLLECT, K_HANDOFF, K_END };

static bool step_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > FLOW_STEP_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

static bool field_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > FLOW_FIELD_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return true;
}

static int enum_index(const char *const *names, const char *s)
{
    for (int i = 0; s && names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

/* Only the keys in `known` (NULL-terminated) may be in o. */
static int only_keys(json_t *o, const char *const *known, const char *path, const char *what,
                     struct jfail *f)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        if (enum_index(known, key) < 0) {
            char field[48];
            snprintf(field, sizeof(field), "%s.%s", path, key);
            return json_fail(f, field, "%.40s is not a field of %s.", key, what);
        }
    }
    return 0;
}

/* o[key] as text of at most max characters; "" when absent and not required (null is refused). */
static int get_text(json_t *o, const char *key, const char *path, bool required, size_t max,
                    const char **out, struct jfail *f)
{
    char field[48];
    snprintf(field, sizeof(field), "%s.%s", path, key);
    *out = "";
    int rc = json_field_str(o, field, required, 0, max, out, f);
    if (rc == 1 && required && text_blank(*out))
        return json_fail(f, field, "%s must not be blank.", field);
    return rc < 0 ? rc : 0;
}

/* o[key] as null or absent (0) or a positive id. */
static int get_id(json_t *o, const char *key, const char *path, int64_t *out, struct jfail *f)
{
    char field[48];
    snprintf(field, sizeof(field), "%s.%s", path, key);
    bool none = false;
    *out = 0;
    int rc = json_field_int_nullable(o, field, 1, INT64_MAX, out, &none, f);
    if (rc == 1 && none)
        *out = 0;
    return rc < 0 ? rc : 0;
}

static void add_ref(json_t *refs, const char *field, const char *type, int64_t id)
{
    json_array_append_new(
        refs, json_pack("{s:s, s:s, s:I}", "field", field, "type", type, "id", (json_int_t)id));
}

static json_t *opt_id(int64_t id)
{
    return id ? json_integer(id) : json_null();
}

/* A target at path; step targets must name a step in ids (an object id -> index). */
static int parse_target(json_t *t, const char *path, json_t *ids, json_t *refs, json_t **out,
                        struct jfail *f)
{
    *out = NULL;
    if (!json_is_object(t))
        return json_fail(f, path,
                         "Choose where this leads: {\"type\": \"step\"|\"faq\"|\"handoff\"|"
                         "\"end\", ...}.");
    char field[48];
    snprintf(field, sizeof(field), "%s.type", path);
    int type = -1;
    int rc = json_field_enum(t, field, true, TARGET_TYPES, &type, f);
    if (rc < 0)
        return json_fail(f, path, "The target's type is step, faq, handoff or end.");
    static const char *const known[][4] = {{"type", "step", NULL},
                                           {"type", "faq_id", NULL},
                                           {"type", "team_id", "skill_id", NULL},
                                           {"type", NULL}};
    if ((rc = only_keys(t, known[type], path, "this target", f)) < 0)
        return rc;
    switch (type) {
    case 0: {
        const char *s = json_string_value(json_object_get(t, "step"));
        if (!s || !json_object_get(ids, s))
            return json_fail(f, path, "This leads to step \"%.40s\", which is not in this flow.",
                             s ? s : "");
        *out = json_pack("{s:s, s:s}", "type", "step", "step", s);
        return 0;
    }
    case 1: {
        int64_t id = 0;
        snprintf(field, sizeof(field), "%s.faq_id", path);
        if (json_field_int(t, field, true, 1, INT64_MAX, &id, f) < 0)
            return json_fail(f, path, "Choose the FAQ entry whose answer the bot gives (faq_id).");
        add_ref(refs, path, "faq", id);
        *out = json_pack("{s:s, s:I}", "type", "faq", "faq_id", (json_int_t)id);
        return 0;
    }
    case 2: {
        int64_t team, skill;
        if ((rc = get_id(t, "team_id", path, &team, f)) < 0 ||
            (rc = get_id(t, "skill_id", path, &skill, f)) < 0)
            return rc;
        if (team)
            add_ref(refs, path, "team", team);
        if (skill)
            add_ref(refs, path, "skill", skill);
        *out = json_pack("{s:s, s:o, s:o}", "type", "handoff", "team_id", opt_id(team), "skill_id",
                         opt_id(skill));
        return 0;
    }
    default:
        *out = json_pack("{s:s}", "type", "end");
        return 0;
    }
}

/* A button's label or an option, shown to the visitor: 1..FLOW_LABEL_MAX characters, without
 * control or direction-override characters. */
static bool label_ok(const char *s)
{
    return s && !text_blank(s) && utf8_chars(s, strlen(s)) <= FLOW_LABEL_MAX &&
           utf8_find_hidden(s, strlen(s), UTF8_NAME) < 0;
}

static int parse_buttons(json_t *st, const char *path, json_t *ids, json_t *refs, json_t *out,
                         struct jfail *f)
{
    char field[48];
    snprintf(field, sizeof(field), "%s.buttons", path);
    json_t *v = NULL;
    int rc = json_field_array(st, field, false, 0, FLOW_BUTTONS_MAX, &v, f);
    if (rc <= 0)
        return rc;
    size_t i;
    json_t *b;
    json_array_foreach(v, i, b)
    {
        char bp[48];
        snprintf(bp, sizeof(bp), "%s[%zu]", field, i);
        if (!json_is_object(b))
            return json_fail(f, bp, "A button is {\"label\", \"target\"}.");
        static const char *const known[] = {"label", "target", NULL};
        if ((rc = only_keys(b, known, bp, "a button", f)) < 0)
            return rc;
        const char *label = json_string_value(json_object_get(b, "label"));
        char lp[48];
        snprintf(lp, sizeof(lp), "%s.label", bp);
        if (label && (rc = json_check_chars(label, lp, "A button's label", UTF8_NAME, f)) < 0)
            return rc;
        if (!label_ok(label))
            return json_fail(f, lp, "A button's label is 1 to %d characters.", FLOW_LABEL_MAX);
        if (flow_label_match(out, label) >= 0)
            return json_fail(f, lp, "Two buttons of this step are labelled \"%.40s\".", label);
        char tp[48];
        snprintf(tp, sizeof(tp), "%s.target", bp);
        json_t *t;
        if ((rc = parse_target(json_object_get(b, "target"), tp, ids, refs, &t, f)) < 0)
            return rc;
        json_array_append_new(out, json_pack("{s:s, s:o}", "label", label, "target", t));
    }
    return 0;
}

static int parse_step(json_t *st, size_t i, json_t *ids, json_t *refs, json_t **out,
                      struct jfail *f)
{
    char path[24];
    snprintf(path, sizeof(path), "steps[%zu]", i);
    *out = NULL;
    char field[48];
    snprintf(field, sizeof(field), "%s.kind", path);
    int kind = -1;
    if (json_field_enum(st, field, true, flow_step_kinds, &kind, f) < 0)
        return json_fail(f, field, "A step's kind is message, collect, handoff or end.");
    static const char *const known[][10] = {
        {"id", "kind", "text", "buttons", "next", NULL},
        {"id", "kind", "text", "field", "field_type", "options", "retry_text", "next", NULL},
        {"id", "kind", "team_id", "skill_id", "note", NULL},
        {"id", "kind", "text", NULL},
    };
    static const char *const what[] = {"a message step", "a collect step", "a handoff step",
                                       "an end step"};
    int rc = only_keys(st, known[kind], path, what[kind], f);
    if (rc < 0)
        return rc;
    const char *id = json_string_value(json_object_get(st, "id"));
    json_t *o = json_pack("{s:s, s:s}", "id", id, "kind", flow_step_kinds[kind]);
    const char *text = "";
    switch (kind) {
    case K_MESSAGE: {
        if ((rc = get_text(st, "text", path, true, FLOW_TEXT_MAX, &text, f)) < 0)
            break;
        json_t *buttons = json_array();
        json_object_set_new(o, "text", json_string(text));
        json_object_set_new(o, "buttons", buttons);
        if ((rc = parse_buttons(st, path, ids, refs, buttons, f)) < 0)
            break;
        json_t *next = json_object_get(st, "next"), *t = NULL;
        snprintf(field, sizeof(field), "%s.next", path);
        if (next && !json_is_null(next) && json_array_size(buttons) > 0)
            rc = json_fail(f, field,
                           "A step with buttons goes on through its buttons: leave next out.");
        else if (next && !json_is_null(next))
            rc = parse_target(next, field, ids, refs, &t, f);
        json_object_set_new(o, "next", t ? t : json_null());
        break;
    }
    case K_COLLECT: {
        const char *name, *retry, *type;
        if ((rc = get_text(st, "text", path, true, FLOW_TEXT_MAX, &text, f)) < 0 ||
            (rc = get_text(st, "field", path, true, FLOW_FIELD_MAX, &name, f)) < 0 ||
            (rc = get_text(st, "field_type", path, false, 16, &type, f)) < 0 ||
            (rc = get_text(st, "retry_text", path, false, FLOW_NOTE_MAX, &retry, f)) < 0)
            break;
        snprintf(field, sizeof(field), "%s.field", path);
        if (!field_name_valid(name)) {
            rc = json_fail(f, field,
                           "A field's name is 1 to 32 letters, digits or _ (like order_no or "
                           "email).");
            break;
        }
        if (!*type)
            type = "text";
        snprintf(field, sizeof(field), "%s.field_type", path);
        if (enum_index(flow_field_types, type) < 0) {
            rc = json_fail(f, field, "field_type is text, email, phone, number or choice.");
            break;
        }
        snprintf(field, sizeof(field), "%s.options", path);
        json_t *opts = NULL, *clean = json_array();
        bool choice = strcmp(type, "choice") == 0;
        json_object_set_new(o, "text", json_string(text));
        json_object_set_new(o, "field", json_string(name));
        json_object_set_new(o, "field_type", json_string(type));
        json_object_set_new(o, "options", clean);
        json_object_set_new(o, "retry_text", json_string(retry));
        if (json_field_array(st, field, false, 0, FLOW_OPTIONS_MAX, &opts, f) < 0) {
            rc = json_fail(f, field, "options is a list of at most %d options.", FLOW_OPTIONS_MAX);
            break;
        }
        if (choice && json_array_size(opts) < 2) {
            rc = json_fail(f, field, "A choice needs 2 to %d options.", FLOW_OPTIONS_MAX);
            break;
        }
        if (!choice && json_array_size(opts) > 0) {
            rc = json_fail(f, field, "Only a choice has options.");
            break;
        }
        size_t k;
        json_t *x;
        json_array_foreach(opts, k, x)
        {
            const char *s = json_string_value(x);
            if (s && (rc = json_check_chars(s, field, "An option", UTF8_NAME, f)) < 0)
                break;
            if (!label_ok(s)) {
                rc = json_fail(f, field, "Each option is 1 to %d characters (option %zu is not).",
                               FLOW_LABEL_MAX, k + 1);
                break;
            }
            if (flow_label_match(clean, s) >= 0) {
                rc = json_fail(f, field, "The option \"%.40s\" is there twice.", s);
                break;
            }
            json_array_append_new(clean, json_string(s));
        }
        if (rc < 0)
            break;
        json_t *next = json_object_get(st, "next"), *t = NULL;
        snprintf(field, sizeof(field), "%s.next", path);
        if (next && !json_is_null(next))
            rc = parse_target(next, field, ids, refs, &t, f);
        json_object_set_new(o, "next", t ? t : json_pack("{s:s}", "type", "end"));
        break;
    }
    case K_HANDOFF: {
        int64_t team, skill;
        const char *note;
        if ((rc = get_id(st, "team_id", path, &team, f)) < 0 ||
            (rc = get_id(st, "skill_id", path, &skill, f)) < 0 ||
            (rc = get_text(st, "note", path, false, FLOW_NOTE_MAX, &note, f)) < 0)
            break;
        snprintf(field, sizeof(field), "%s.team_id", path);
        if (team)
            add_ref(refs, field, "team", team);
        snprintf(field, sizeof(field), "%s.skill_id", path);
        if (skill)
            add_ref(refs, field, "skill", skill);
        json_object_set_new(o, "team_id", opt_id(team));
        json_object_set_new(o, "skill_id", opt_id(skill));
        json_object_set_new(o, "note", json_string(note));
        break;
    }
    default:
        if ((rc = get_text(st, "text", path, false, FLOW_TEXT_MAX, &text, f)) < 0)
            break;
        json_object_set_new(o, "text", json_string(text));
        break;
    }
    if (rc < 0) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

/* A message step without buttons goes on by itself: a ring of them would never wait. */
static int check_rings(json_t *steps, json_t *ids, struct jfail *f)
{
    size_t n = json_array_size(steps);
    for (size_t i = 0; i < n; i++) {
        size_t at = i, hops = 0;
        for (;;) {
            json_t *st = json_array_get(steps, at);
            if (strcmp(json_string_value(json_object_get(st, "kind")), "message") != 0 ||
                json_array_size(json_object_get(st, "buttons")) > 0)
                break;
            json_t *next = json_object_get(st, "next");
            const char *to = json_string_value(json_object_get(next, "step"));
            if (!to)
                break;
            at = (size_t)json_integer_value(json_object_get(ids, to));
            if (at == i || ++hops > n) {
                char field[48];
                snprintf(field, sizeof(field), "steps[%zu].next", i);
                return json_fail(f, field,
                                 "These messages lead to each other without waiting for the "
                                 "visitor: give one of them buttons or another next step.");
            }
        }
    }
    return 0;
}

int flow_steps_parse(json_t *steps, json_t **out, json_t **refs, struct jfail *f)
{
    *out = *refs = NULL;
    if (!json_is_array(steps) || json_array_size(steps) < 1 ||
        json_array_size(steps) > FLOW_STEPS_MAX)
        return json_fail(f, "steps", "steps is a list of 1 to %d steps; the first is the start.",
                         FLOW_STEPS_MAX);
    json_t *ids = json_object();
    size_t i;
    json_t *st;
    int rc = 0;
    json_array_foreach(steps, i, st)
    {
        char field[48];
        snprintf(field, sizeof(field), "steps[%zu]", i);
        if (!json_is_object(st)) {
            rc = json_fail(f, field, "A step is {\"id\", \"kind\", ...}.");
            break;
        }
        snprintf(field, sizeof(field), "steps[%zu].id", i);
        const char *id = json_string_value(json_object_get(st, "id"));
        if (!id || !step_id_valid(id)) {
            rc = json_fail(f, field, "A step's id is 1 to 32 letters, digits, - or _.");
            break;
        }
        if (json_object_get(ids, id)) {
            rc = json_fail(f, field, "Two steps have the id \"%s\".", id);
            break;
        }
        json_object_set_new(ids, id, json_integer((json_int_t)i));
    }
    json_t *clean = json_array(), *r = json_array();
    for (i = 0; rc == 0 && i < json_array_size(steps); i++) {
        json_t *o;
        if ((rc = parse_step(json_array_get(steps, i), i, ids, r, &o, f)) == 0)
            json_array_append_new(clean, o);
    }
    if (rc == 0)
        rc = check_rings(clean, ids, f);
    json_decref(ids);
    if (rc < 0) {
        json_decref(clean);
        json_decref(r);
        return rc;
    }
    *out = clean;
    *refs = r;
    return 0;
}

json_t *flow_step(json_t *steps, const char *id)
{
    size_t i;
    json_t *st;
    json_array_foreach(steps, i, st)
    {
        const char *s = json_string_value(json_object_get(st, "id"));
        if (s && id && strcmp(s, id) == 0)
            return st;
    }
    return NULL;
}

bool flow_payload_parse(const char *s, int64_t *flow_id, char *step, int *index)
{
    if (!s || strlen(s) > FLOW_PAYLOAD_MAX || strncmp(s, "flow:", 5) != 0)
        return false;
    const char *p = s + 5;
    int64_t id = 0;
    if (!isdigit((unsigned char)*p))
        return false;
    for (; isdigit((unsigned char)*p); p++) {
        if (id > (INT64_MAX - 9) / 10)
            return false;
        id = id * 10 + (*p - '0');
    }
    if (id <= 0)
        return false;
    *flow_id = id;
    step[0] = '\0';
    *index = -1;
    if (*p == '\0')
        return true;
    if (*p++ != ':')
        return false;
    const char *colon = strrchr(p, ':');
    if (!colon || (size_t)(colon - p) > FLOW_STEP_ID_MAX)
        return false;
    memcpy(step, p, (size_t)(colon - p));
    step[colon - p] = '\0';
    if (!step_id_valid(step))
        return false;
    const char *q = colon + 1;
    int idx = 0;
    if (!isdigit((unsigned char)*q) || strlen(q) > 2)
        return false;
    for (; isdigit((unsigned char)*q); q++)
        idx = idx * 10 + (*q - '0');
    if (*q)
        return false;
    *index = idx;
    return true;
}

/* s without the spaces around it: [*b, *b + *n). */
static void trim(const char *s, const char **b, size_t *n)
{
    size_t len = strlen(s);
    while (len && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    *b = s;
    *n = len;
}

int flow_label_match(json_t *labels, const char *text)
{
    const char *t;
    size_t tn;
    trim(text, &t, &tn);
    size_t i;
    json_t *x;
    json_array_foreach(labels, i, x)
    {
        const char *l = json_is_object(x) ? json_string_value(json_object_get(x, "label"))
                                          : json_string_value(x);
        if (!l)
            continue;
        const char *b;
        size_t n;
        trim(l, &b, &n);
        if (n == tn && n > 0 && strncasecmp(b, t, n) == 0)
            return (int)i;
    }
    return -1;
}

bool flow_value_check(const char *type, json_t *options, const char *text, char *out, size_t outlen)
{
    const char *b;
    size_t n;
    trim(text, &b, &n);
    if (n == 0 || n >= outlen || utf8_chars(b, n) > FLOW_VALUE_MAX)
        return false;
    memcpy(out, b, n);
    out[n] = '\0';
    if (strcmp(type, "email") == 0) {
        char e[USER_EMAIL_MAX + 1];
        if (!user_email_normalize(out, e))
            return false;
        snprintf(out, outlen, "%s", e);
        return true;
    }
    if (strcmp(type, "phone") == 0)
        return phone_valid(out);
    if (strcmp(type, "number") == 0) {
        char *end;
        double d = strtod(out, &end);
        return end != out && *end == '\0' && isfinite(d) && !isalpha((unsigned char)out[0]) &&
               !strpbrk(out, "xXpP");
    }
    if (strcmp(type, "choice") == 0) {
        int k = flow_label_match(options, out);
        if (k < 0)
            return false;
        snprintf(out, outlen, "%s", json_string_value(json_array_get(options, (size_t)k)));
        return true;
    }
    return true;
}
