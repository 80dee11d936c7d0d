/* fuzz_json_bodies.c: one harness for every request-body parser a caller outside its file can
 * reach: the input's first byte picks the parser (low nibble) and a few variants (high nibble:
 * create or update, agent or visitor), the rest is the body, parsed by json_parse_object exactly as
 * http_body_json does. The parsers get the body, or the member of it their handler hands them
 * (body.bot, body.routing, body.steps), as the handlers in src/api do.
 *
 * Checks besides the sanitizers, from what the headers promise:
 *   - every rejection is ERR_VALIDATION with a message (a bad input gets a clear error);
 *   - what a parser accepted and normalized is accepted again, unchanged (bot and routing settings
 *     through their JSON and load functions, flow steps, pre-chat fields);
 *   - strings the getters accept are within their bounds, in code points.
 *
 * The parsers that live inside a handler (static, or inline json_field_* calls) cannot be called
 * from here; their getters are covered by target 0, and tests/fuzz/README.md lists them. */
#include "base/sys.h"
#include "base/json.h"
#include "base/str.h"

#include <sodium.h>

#include "api/app.h"
#include "conv/conv.h"
#include "model/bot.h"
#include "model/conversation.h"
#include "model/flow.h"
#include "model/inbox.h"
#include "model/password.h"
#include "model/user.h"
#include "net/http.h"
#include "route/rules.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_json_bodies: %s\n", what);
    abort();
}

/* A rejection must be ERR_VALIDATION with a message. */
static void rejected(int rc, const struct jfail *f, const char *parser)
{
    if (rc != ERR_VALIDATION || !f->msg[0]) {
        fprintf(stderr, "fuzz_json_bodies: %s rejected with rc=%d and message \"%s\"\n", parser, rc,
                f->msg);
        abort();
    }
}

static const char *str_of(json_t *body, const char *key)
{
    return json_string_value(json_object_get(body, key));
}

static char *dump(json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* ---- 0: the getters, on every key of the body ---- */

static void t_getters(json_t *body, unsigned variant)
{
    static const char *const allowed[] = {"open", "pending", "snoozed", "resolved", "", NULL};
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        struct jfail f = {0};
        unsigned h = (unsigned)strlen(key) * 31u + variant;
        size_t lo = h % 4, hi = lo + h % 300;
        bool req = h & 1;
        const char *s = NULL;
        int rc = json_field_str(body, key, req, lo, hi, &s, &f);
        if (rc < 0)
            rejected(rc, &f, "json_field_str");
        else if (s && (!utf8_valid(s, strlen(s)) || utf8_chars(s, strlen(s)) < lo ||
                       utf8_chars(s, strlen(s)) > hi))
            fail("json_field_str accepted a string outside its bounds");
        int64_t i = 0, min = -(int64_t)(h % 1000), max = (int64_t)(h % 100000);
        memset(&f, 0, sizeof(f));
        if ((rc = json_field_int(body, key, req, min, max, &i, &f)) < 0)
            rejected(rc, &f, "json_field_int");
        else if (i < min || i > max)
            fail("json_field_int accepted an integer outside its bounds");
        bool b;
        memset(&f, 0, sizeof(f));
        if ((rc = json_field_bool(body, key, req, &b, &f)) < 0)
            rejected(rc, &f, "json_field_bool");
        int e = -1;
        memset(&f, 0, sizeof(f));
        if ((rc = json_field_enum(body, key, req, allowed, &e, &f)) < 0)
            rejected(rc, &f, "json_field_enum");
        else if (e >= (int)ARRAY_SIZE(allowed) - 1)
            fail("json_field_enum gave an index past its list");
        /* a key that is not there: required fails, optional leaves *out alone */
        memset(&f, 0, sizeof(f));
        s = "untouched";
        if (json_field_str(body, "\x01missing", false, 0, 10, &s, &f) != 0 ||
            strcmp(s, "untouched"))
            fail("an optional missing field was not left alone");
    }
}

/* ---- 1: bot settings (inbox PATCH body.bot, api_inboxes.c take_bot) ---- */

static void t_bot(json_t *body)
{
    json_t *v = json_object_get(body, "bot");
    struct bot_settings s;
    bot_settings_default(&s);
    struct jfail f = {0};
    int rc = bot_settings_parse(v ? v : body, &s, &f);
    if (rc < 0) {
        rejected(rc, &f, "bot_settings_parse");
        return;
    }
    /* stored as its JSON, loaded back: the same settings */
    json_t *j = bot_settings_json(&s);
    char *text = dump(j);
    struct bot_settings t;
    bot_settings_load(text, &t);
    json_t *j2 = bot_settings_json(&t);
    char *text2 = dump(j2);
    if (!text || !text2 || strcmp(text, text2) != 0) {
        fprintf(stderr, "stored:   %s\nreloaded: %s\n", text ? text : "(none)",
                text2 ? text2 : "(none)");
        fail("bot settings did not survive their own JSON");
    }
    const char *msg = str_of(body, "text");
    if (msg)
        bot_handoff_word(&s, msg);
    bot_in_hours(&s, (int64_t)json_integer_value(json_object_get(body, "now")));
    bot_active(&s, 1700000000000);
    free(text);
    free(text2);
    json_decref(j);
    json_decref(j2);
}

/* ---- 2: routing settings (inbox PATCH body.routing, take_routing) ---- */

static void t_routing(json_t *body)
{
    json_t *v = json_object_get(body, "routing");
    struct route_settings s;
    route_settings_default(&s);
    struct jfail f = {0};
    int rc = route_settings_parse(v ? v : body, &s, &f);
    if (rc < 0) {
        rejected(rc, &f, "route_settings_parse");
        return;
    }
    json_t *j = route_settings_json(&s);
    char *text = dump(j);
    struct route_settings t;
    route_settings_load(text, &t);
    json_t *j2 = route_settings_json(&t);
    char *text2 = dump(j2);
    if (!text || !text2 || strcmp(text, text2) != 0) {
        fprintf(stderr, "stored:   %s\nreloaded: %s\n", text ? text : "(none)",
                text2 ? text2 : "(none)");
        fail("routing settings did not survive their own JSON");
    }
    free(text);
    free(text2);
    json_decref(j);
    json_decref(j2);
}

/* ---- 3: inboxes (POST/PATCH), and the pre-chat answers of a widget session ---- */

static void t_inbox(json_t *body, bool create)
{
    struct inbox_input in;
    struct jfail f = {0};
    int rc = inbox_parse(body, create, &in, &f);
    if (rc < 0) {
        rejected(rc, &f, "inbox_parse");
        return;
    }
    if (in.widget_color && *in.widget_color && !inbox_color_valid(in.widget_color))
        fail("inbox_parse accepted a bad widget_color");
    if (in.prechat_fields) {
        /* normalized fields are accepted again, unchanged */
        json_t *again = json_pack("{s:O}", "prechat_fields", in.prechat_fields);
        struct inbox_input in2;
        memset(&f, 0, sizeof(f));
        if (inbox_parse(again, false, &in2, &f) < 0 ||
            !json_equal(in2.prechat_fields, in.prechat_fields))
            fail("normalized prechat_fields were not accepted again as they are");
        inbox_input_release(&in2);
        json_decref(again);
        /* a visitor's answers against them (api_widget.c session_fn) */
        json_t *answers = json_object_get(body, "prechat");
        if (answers) {
            json_t *norm = NULL;
            memset(&f, 0, sizeof(f));
            rc = prechat_check(in.prechat_fields, answers, &norm, &f);
            if (rc < 0)
                rejected(rc, &f, "prechat_check");
            else if (!json_is_object(norm))
                fail("prechat_check gave no object");
            json_decref(norm);
        }
    }
    inbox_input_release(&in);
}

/* ---- 4: users (POST/PATCH): the routing profile and the credential rules ---- */

static void t_user(json_t *body)
{
    struct user_profile p;
    struct jfail f = {0};
    int rc = user_profile_parse(body, &p, &f);
    if (rc < 0)
        rejected(rc, &f, "user_profile_parse");
    else if (p.nskills > USER_SKILLS_MAX || p.nlanguages > USER_LANGS_MAX ||
             (p.has_capacity && (p.capacity < -1 || p.capacity > USER_CAPACITY_MAX)))
        fail("user_profile_parse accepted a profile out of its bounds");
    const char *s;
    char out[USER_EMAIL_MAX + 1];
    if ((s = str_of(body, "email")) && user_email_normalize(s, out) &&
        (strlen(out) > USER_EMAIL_MAX || !strchr(out, '@') || !utf8_valid(out, strlen(out))))
        fail("user_email_normalize accepted a bad address");
    if ((s = str_of(body, "name")))
        user_name_valid(s);
    if ((s = str_of(body, "password"))) {
        const char *why = password_check(s, str_of(body, "email"), str_of(body, "name"));
        if (why && !*why)
            fail("password_check refused with no reason");
    }
}

/* ---- 5: contacts (widget PATCH contact, agents' contact update) ---- */

static void t_contact(json_t *body)
{
    json_t *v = json_object_get(body, "contact");
    struct contact_input in;
    char email[USER_EMAIL_MAX + 1];
    struct jfail f = {0};
    int rc = contact_parse(json_is_object(v) ? v : body, json_is_object(v) ? "contact" : NULL, &in,
                           email, &f);
    if (rc < 0)
        rejected(rc, &f, "contact_parse");
    else if (in.phone && *in.phone && !phone_valid(in.phone))
        fail("contact_parse accepted a bad phone");
}

/* ---- 6: guided flows (POST/PUT flows body.steps), and what the bot does with them ---- */

static void t_flow(json_t *body)
{
    json_t *steps = json_object_get(body, "steps"), *out = NULL, *refs = NULL;
    struct jfail f = {0};
    int rc = flow_steps_parse(steps ? steps : body, &out, &refs, &f);
    const char *payload = str_of(body, "payload");
    int64_t fid;
    char step[FLOW_STEP_ID_MAX + 1];
    int idx;
    if (payload && flow_payload_parse(payload, &fid, step, &idx) &&
        (fid <= 0 || idx < -1 || idx > 99 || strlen(step) > FLOW_STEP_ID_MAX))
        fail("flow_payload_parse accepted a bad payload");
    if (rc < 0) {
        rejected(rc, &f, "flow_steps_parse");
        return;
    }
    /* normalized steps are accepted again, unchanged */
    json_t *out2 = NULL, *refs2 = NULL;
    memset(&f, 0, sizeof(f));
    if (flow_steps_parse(out, &out2, &refs2, &f) < 0 || !json_equal(out, out2) ||
        !json_equal(refs, refs2)) {
        fprintf(stderr, "second parse: %s (%s)\n", f.msg, f.field);
        fail("normalized flow steps were not accepted again as they are");
    }
    /* the bot's side: find steps, check answers, match buttons */
    const char *answer = str_of(body, "answer");
    size_t i;
    json_t *st;
    json_array_foreach(out, i, st)
    {
        const char *id = str_of(st, "id");
        if (flow_step(out, id) != st)
            fail("flow_step did not find a step by its id");
        if (!answer)
            continue;
        char value[4 * FLOW_VALUE_MAX + 1];
        const char *type = str_of(st, "field_type");
        if (type)
            flow_value_check(type, json_object_get(st, "options"), answer, value, sizeof(value));
        flow_label_match(json_object_get(st, "buttons"), answer);
    }
    json_decref(out);
    json_decref(refs);
    json_decref(out2);
    json_decref(refs2);
}

/* ---- 7: routing rules (POST/PATCH rules), then matching them ---- */

static void t_rule(json_t *body, bool create)
{
    struct route_rule_input in;
    struct jfail f = {0};
    int rc = route_rule_parse(body, create, &in, &f);
    const char *text = str_of(body, "text");
    route_language_guess(text);
    if (rc < 0) {
        rejected(rc, &f, "route_rule_parse");
        return;
    }
    if (in.conditions) {
        json_t *facts = json_object_get(body, "facts");
        json_t *labels = json_object_get(facts, "labels");
        struct route_facts rf = {
            .page_url = str_of(facts, "page_url"),
            .message = text,
            .intent = str_of(facts, "intent"),
            .labels = json_is_array(labels) ? labels : NULL,
            .prechat = json_object_get(facts, "prechat"),
            .attributes = json_object_get(facts, "attributes"),
        };
        route_rule_matches(in.conditions, in.match_any, &rf);
        const char *key;
        json_t *v;
        json_object_foreach(rf.attributes, key, v)
        {
            route_truthy(v);
        }
    }
}

/* ---- 8: messages (REST send, WebSocket message.send of agents and visitors) ---- */

static void t_message(json_t *body, unsigned variant)
{
    struct msg_send ms;
    memset(&ms, 0, sizeof(ms));
    bool agent = variant & 1, need = variant & 2;
    ms.actor.visitor = !agent;
    ms.actor.account_id = 1;
    struct jfail f = {0};
    int rc = msg_send_parse(body, &ms, agent, need, &f);
    if (rc < 0)
        rejected(rc, &f, "msg_send_parse");
    else if ((ms.client_id && !client_id_valid(ms.client_id)) || ms.nattach > MSG_ATTACH_MAX ||
             (need && ms.conversation_id <= 0))
        fail("msg_send_parse accepted a bad message");
    msg_send_release(&ms);
}

/* ---- 9: id lists (inbox and team members), 10: labels, client ids, phones, visitor tokens ---- */

static void t_ids(json_t *body)
{
    struct http_req r;
    memset(&r, 0, sizeof(r));
    arena_init(&r.arena);
    int64_t *ids = NULL;
    size_t n = 0;
    struct jfail f = {0};
    int rc = app_parse_ids(&r, body, "user_ids", 1000, &ids, &n, &f);
    if (rc < 0)
        rejected(rc, &f, "app_parse_ids");
    for (size_t i = 0; rc == 0 && i < n; i++)
        for (size_t k = 0; k < i; k++)
            if (ids[i] <= 0 || ids[i] == ids[k])
                fail("app_parse_ids gave a bad or repeated id");
    arena_release(&r.arena);
}

static struct app fake_app;

static void t_strings(json_t *body)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(body, "labels"), i, v)
    {
        const char *s = json_string_value(v);
        if (s && label_valid(s) && utf8_chars(s, strlen(s)) > LABEL_MAX_CHARS)
            fail("label_valid accepted a long label");
    }
    const char *s;
    if ((s = str_of(body, "client_id")))
        client_id_valid(s);
    if ((s = str_of(body, "phone")))
        phone_valid(s);
    if ((s = str_of(body, "content"))) {
        text_blank(s);
        size_t len = strlen(s), k = utf8_prefix_len(s, len, PREVIEW_CHARS);
        if (k > len || (utf8_valid(s, len) && !utf8_valid(s, k)))
            fail("utf8_prefix_len cut a character");
    }
    if ((s = str_of(body, "token"))) {
        struct visitor_claims c;
        visitor_token_verify(span_of(s), &c);
        const char *dot = strrchr(s, '.');
        size_t signed_len = dot ? (size_t)(dot - s) + 1 : 0;
        if (visitor_token_like(span_of(s)) && signed_len + 32 < VISITOR_TOKEN_MAX) {
            /* Its signed part with a MAC made with the key: what follows the MAC check, which
             * otherwise only tokens the server made reach. */
            char tok[VISITOR_TOKEN_MAX];
            unsigned char mac[crypto_auth_hmacsha256_BYTES];
            memcpy(tok, s, signed_len);
            crypto_auth_hmacsha256(mac, (const unsigned char *)s, signed_len, fake_app.visitor_key);
            hex_encode(mac, 16, tok + signed_len);
            visitor_token_verify((struct span){tok, signed_len + 32}, &c);
        }
        struct visitor_claims mine = {1, 2, 3, 4102444800000}, back;
        char tok[VISITOR_TOKEN_MAX];
        visitor_token_make(&mine, tok);
        if (visitor_token_verify(span_of(tok), &back) != 0 || memcmp(&mine, &back, sizeof(mine)))
            fail("a token the server made did not verify to its claims");
    }
}

/* ---- the fuzzer's entry points ---- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    UNUSED(argc);
    UNUSED(argv);
    memset(fake_app.visitor_key, 0x5a, sizeof(fake_app.visitor_key));
    the_app = &fake_app;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned target = data[0] & 15, variant = data[0] >> 4;
    json_t *body;
    struct jfail f = {0};
    int rc = json_parse_object((const char *)data + 1, size - 1, &body, &f);
    if (rc < 0) {
        if (rc != ERR_JSON || !f.msg[0])
            fail("json_parse_object rejected a body without a message");
        return 0;
    }
    switch (target % 11) {
    case 0:
        t_getters(body, variant);
        break;
    case 1:
        t_bot(body);
        break;
    case 2:
        t_routing(body);
        break;
    case 3:
        t_inbox(body, variant & 1);
        break;
    case 4:
        t_user(body);
        break;
    case 5:
        t_contact(body);
        break;
    case 6:
        t_flow(body);
        break;
    case 7:
        t_rule(body, variant & 1);
        break;
    case 8:
        t_message(body, variant);
        break;
    case 9:
        t_ids(body);
        break;
    default:
        t_strings(body);
        break;
    }
    json_decref(body);
    return 0;
}
