/* test_flow.c: guided flows (model/flow.c): a flow validated whole and normalized, the field named
 * at fault, rings of buttonless messages, the references handed to the caller, button payloads,
 * label matching and the answers to questions by type. */
#include "base/sys.h"
#include "model/flow.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

/* Parses steps (JSON text); returns the field at fault, or "" when valid (then *out and *refs are
 * set). */
static const char *parse(const char *text, json_t **out, json_t **refs)
{
    static struct jfail f;
    memset(&f, 0, sizeof(f));
    json_error_t je;
    json_t *steps = json_loads(text, 0, &je);
    if (!steps)
        fail_msg("bad test JSON: %s: %s", text, je.text);
    json_t *o = NULL, *r = NULL;
    int rc = flow_steps_parse(steps, &o, &r, &f);
    json_decref(steps);
    if (out)
        *out = o;
    else
        json_decref(o);
    if (refs)
        *refs = r;
    else
        json_decref(r);
    if (rc == 0)
        return "";
    assert_int_equal(rc, ERR_VALIDATION);
    assert_true(f.msg[0] != 0);
    return f.field;
}

static void test_valid_flow_is_normalized(void **state)
{
    (void)state;
    json_t *out, *refs;
    const char *field =
        parse("[{\"id\":\"start\",\"kind\":\"message\",\"text\":\"Hi\",\"buttons\":["
              "{\"label\":\"Track\",\"target\":{\"type\":\"step\",\"step\":\"ask\"}},"
              "{\"label\":\"Costs\",\"target\":{\"type\":\"faq\",\"faq_id\":7}},"
              "{\"label\":\"Agent\",\"target\":{\"type\":\"handoff\",\"team_id\":3}},"
              "{\"label\":\"Menu\",\"target\":{\"type\":\"step\",\"step\":\"start\"}}]},"
              "{\"id\":\"ask\",\"kind\":\"collect\",\"text\":\"E-mail?\",\"field\":\"email\","
              "\"field_type\":\"email\"},"
              "{\"id\":\"size\",\"kind\":\"collect\",\"text\":\"Size?\",\"field\":\"size\","
              "\"field_type\":\"choice\",\"options\":[\"S\",\"M\"],\"next\":{\"type\":\"step\","
              "\"step\":\"h\"}},"
              "{\"id\":\"h\",\"kind\":\"handoff\",\"skill_id\":5,\"note\":\"n\"},"
              "{\"id\":\"bye\",\"kind\":\"end\"}]",
              &out, &refs);
    assert_string_equal(field, "");
    assert_int_equal(json_array_size(out), 5);
    json_t *ask = flow_step(out, "ask");
    assert_non_null(ask);
    assert_string_equal(json_string_value(json_object_get(ask, "field_type")), "email");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ask, "next"), "type")),
                        "end");
    assert_string_equal(json_string_value(json_object_get(ask, "retry_text")), "");
    assert_true(json_is_null(json_object_get(flow_step(out, "start"), "next")));
    assert_string_equal(json_string_value(json_object_get(flow_step(out, "bye"), "text")), "");
    assert_null(flow_step(out, "nope"));
    /* a cycle through buttons ("back to the menu") is fine; references go to the caller */
    assert_int_equal(json_array_size(refs), 3);
    const char *want[][2] = {{"faq", "steps[0].buttons[1].target"},
                             {"team", "steps[0].buttons[2].target"},
                             {"skill", "steps[3].skill_id"}};
    for (size_t i = 0; i < 3; i++) {
        json_t *r = json_array_get(refs, i);
        assert_string_equal(json_string_value(json_object_get(r, "type")), want[i][0]);
        assert_string_equal(json_string_value(json_object_get(r, "field")), want[i][1]);
    }
    json_decref(out);
    json_decref(refs);
}

static void test_errors_name_the_field(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"[]", "steps"},
        {"{}", "steps"},
        {"[1]", "steps[0]"},
        {"[{\"kind\":\"end\"}]", "steps[0].id"},
        {"[{\"id\":\"a b\",\"kind\":\"end\"}]", "steps[0].id"},
        {"[{\"id\":\"a\",\"kind\":\"end\"},{\"id\":\"a\",\"kind\":\"end\"}]", "steps[1].id"},
        {"[{\"id\":\"a\",\"kind\":\"sing\"}]", "steps[0].kind"},
        {"[{\"id\":\"a\",\"kind\":\"end\",\"x\":1}]", "steps[0].x"},
        {"[{\"id\":\"a\",\"kind\":\"message\"}]", "steps[0].text"},
        {"[{\"id\":\"a\",\"kind\":\"message\",\"text\":\" \"}]", "steps[0].text"},
        {"[{\"id\":\"a\",\"kind\":\"message\",\"text\":\"t\",\"buttons\":{}}]", "steps[0].buttons"},
        {"[{\"id\":\"a\",\"kind\":\"message\",\"text\":\"t\",\"buttons\":[{\"label\":\"\","
         "\"target\":{\"type\":\"end\"}}]}]",
         "steps[0].buttons[0].label"},
        {"[{\"id\":\"a\",\"kind\":\"message\",\"text\":\"t\",\"buttons\":[{\"label\":\"x\","
         "\"target\":{\"type\":\"end\"}},{\"label\":\" X \",\"target\":{\"type\":\"end\"}}]}]",
         "steps[0].buttons[1].label"},
        {"[{\"id\":\"a\",\"kind\":\"message\",\"text\":\"t\",\"buttons\":[{\"label\":\"x\","
         "\"target\":{\"type\":\"step\",\"step\":\"b\"}}]}]",
         "steps[0].buttons[0].target"},
        {"[{\"id\":\"a\",\"kind\":\"message\",\"text\":\"t\",\"buttons\":[{\"label\":\"x\","
         "\"target\":{\"type\":\"faq\"}}]}]",
         "steps[0].buttons[0].target"},
        {"[{\"id\":\"a\",\"kind\":\"message\",\"text\":\"t\",\"buttons\":[{\"label\":\"x\","
         "\"target\":{\"type\":\"handoff\",\"team_id\":-1}}]}]",
         "steps[0].buttons[0].target.team_id"},
        {"[{\"id\":\"a\",\"kind\":\"message\",\"text\":\"t\",\"buttons\":[{\"label\":\"x\","
         "\"target\":{\"type\":\"end\"},\"color\":1}]}]",
         "steps[0].buttons[0].color"},
        {"[{\"id\":\"a\",\"kind\":\"message\",\"text\":\"t\",\"buttons\":[{\"label\":\"x\","
         "\"target\":{\"type\":\"end\"}}],\"next\":{\"type\":\"end\"}}]",
         "steps[0].next"},
        {"[{\"id\":\"a\",\"kind\":\"message\",\"text\":\"t\",\"next\":{\"type\":\"step\","
         "\"step\":\"b\"}},{\"id\":\"b\",\"kind\":\"message\",\"text\":\"u\",\"next\":{\"type\":"
         "\"step\",\"step\":\"a\"}}]",
         "steps[0].next"},
        {"[{\"id\":\"a\",\"kind\":\"message\",\"text\":\"t\",\"next\":{\"type\":\"step\","
         "\"step\":\"a\"}}]",
         "steps[0].next"},
        {"[{\"id\":\"a\",\"kind\":\"collect\",\"text\":\"q\",\"field\":\"x-y\"}]",
         "steps[0].field"},
        {"[{\"id\":\"a\",\"kind\":\"collect\",\"text\":\"q\",\"field\":\"x\",\"field_type\":"
         "\"date\"}]",
         "steps[0].field_type"},
        {"[{\"id\":\"a\",\"kind\":\"collect\",\"text\":\"q\",\"field\":\"x\",\"field_type\":"
         "\"choice\",\"options\":[\"a\"]}]",
         "steps[0].options"},
        {"[{\"id\":\"a\",\"kind\":\"collect\",\"text\":\"q\",\"field\":\"x\",\"options\":[\"a\","
         "\"b\"]}]",
         "steps[0].options"},
        {"[{\"id\":\"a\",\"kind\":\"handoff\",\"team_id\":\"x\"}]", "steps[0].team_id"},
        {"[{\"id\":\"a\",\"kind\":\"handoff\",\"text\":\"hi\"}]", "steps[0].text"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const char *got = parse(cases[i][0], NULL, NULL);
        if (strcmp(got, cases[i][1]) != 0)
            fail_msg("%s: field '%s', want '%s'", cases[i][0], got, cases[i][1]);
    }
    /* sizes: 50 steps are fine, 51 are not; 11 buttons are too many */
    json_t *many = json_array();
    for (int i = 0; i < 51; i++) {
        char id[8];
        snprintf(id, sizeof(id), "s%d", i);
        json_array_append_new(many, json_pack("{s:s, s:s}", "id", id, "kind", "end"));
    }
    struct jfail f = {0};
    json_t *o, *r;
    assert_int_equal(flow_steps_parse(many, &o, &r, &f), ERR_VALIDATION);
    assert_string_equal(f.field, "steps");
    json_array_remove(many, 50);
    assert_int_equal(flow_steps_parse(many, &o, &r, &f), 0);
    json_decref(o);
    json_decref(r);
    json_decref(many);
    json_t *buttons = json_array();
    for (int i = 0; i < 11; i++) {
        char l[8];
        snprintf(l, sizeof(l), "b%d", i);
        json_array_append_new(buttons,
                              json_pack("{s:s, s:{s:s}}", "label", l, "target", "type", "end"));
    }
    json_t *st = json_pack("[{s:s, s:s, s:s, s:o}]", "id", "a", "kind", "message", "text", "t",
                           "buttons", buttons);
    assert_int_equal(flow_steps_parse(st, &o, &r, &f), ERR_VALIDATION);
    assert_string_equal(f.field, "steps[0].buttons");
    json_decref(st);
}

static void test_payloads(void **state)
{
    (void)state;
    int64_t id;
    char step[FLOW_STEP_ID_MAX + 1];
    int idx;
    assert_true(flow_payload_parse("flow:12", &id, step, &idx));
    assert_int_equal(id, 12);
    assert_string_equal(step, "");
    assert_int_equal(idx, -1);
    assert_true(flow_payload_parse("flow:7:ask_email:3", &id, step, &idx));
    assert_int_equal(id, 7);
    assert_string_equal(step, "ask_email");
    assert_int_equal(idx, 3);
    const char *bad[] = {"",
                         "flow:",
                         "flow:0",
                         "flow:-1",
                         "flow:x",
                         "flow:1:",
                         "flow:1:a",
                         "flow:1:a:",
                         "flow:1:a:x",
                         "flow:1:a b:0",
                         "flow:1:a:100",
                         "faq",
                         "handoff",
                         "flow:1x",
                         "flow:99999999999999999999",
                         "flow:1::0"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (flow_payload_parse(bad[i], &id, step, &idx))
            fail_msg("payload '%s' accepted", bad[i]);
}

static void test_labels_and_answers(void **state)
{
    (void)state;
    json_t *labels =
        json_pack("[{s:s}, {s:s}, s]", "label", "Track my parcel", "label", "退款", "Other");
    assert_int_equal(flow_label_match(labels, "  track MY parcel \n"), 0);
    assert_int_equal(flow_label_match(labels, "退款"), 1);
    assert_int_equal(flow_label_match(labels, "other"), 2);
    assert_int_equal(flow_label_match(labels, "track"), -1);
    assert_int_equal(flow_label_match(labels, ""), -1);
    json_decref(labels);

    char out[4 * FLOW_VALUE_MAX + 1];
    json_t *opts = json_pack("[s, s]", "Small", "Large");
    assert_true(flow_value_check("email", NULL, " Ann@Example.COM ", out, sizeof(out)));
    assert_string_equal(out, "ann@example.com");
    assert_false(flow_value_check("email", NULL, "ann@", out, sizeof(out)));
    assert_true(flow_value_check("phone", NULL, "+86 138 0000 0000", out, sizeof(out)));
    assert_false(flow_value_check("phone", NULL, "call me", out, sizeof(out)));
    assert_true(flow_value_check("number", NULL, " 178.5 ", out, sizeof(out)));
    assert_string_equal(out, "178.5");
    const char *nan[] = {"tall", "inf", "nan", "0x10", "1,5", "12cm", ""};
    for (size_t i = 0; i < ARRAY_SIZE(nan); i++)
        if (flow_value_check("number", NULL, nan[i], out, sizeof(out)))
            fail_msg("'%s' taken as a number", nan[i]);
    assert_true(flow_value_check("choice", opts, "large", out, sizeof(out)));
    assert_string_equal(out, "Large");
    assert_false(flow_value_check("choice", opts, "medium", out, sizeof(out)));
    assert_true(flow_value_check("text", NULL, "  A-1234 ", out, sizeof(out)));
    assert_string_equal(out, "A-1234");
    assert_false(flow_value_check("text", NULL, " \t ", out, sizeof(out)));
    char big[4 * FLOW_VALUE_MAX + 8];
    memset(big, 'x', FLOW_VALUE_MAX + 1);
    big[FLOW_VALUE_MAX + 1] = '\0';
    assert_false(flow_value_check("text", NULL, big, out, sizeof(out)));
    json_decref(opts);
}

/* null is refused where a value is expected, and taken where the API says what it means (a
 * message's next: the flow ends; a handoff's team and skill: none); what the visitor sees on a
 * button holds no control or direction-override character. */
static void test_nulls_and_shown_text(void **state)
{
    (void)state;
#define MSG "{\"id\":\"a\",\"kind\":\"message\",\"text\":\"t\""
#define ASK "{\"id\":\"a\",\"kind\":\"collect\",\"text\":\"q\",\"field\":\"x\""
#define BTN(label, target) ",\"buttons\":[{\"label\":" label ",\"target\":" target "}]"
    const char *cases[][2] = {
        {"[{\"id\":\"a\",\"kind\":null}]", "steps[0].kind"},
        {"[{\"id\":null,\"kind\":\"end\"}]", "steps[0].id"},
        {"[{\"id\":\"a\",\"kind\":\"message\",\"text\":null}]", "steps[0].text"},
        {"[{\"id\":\"a\",\"kind\":\"end\",\"text\":null}]", "steps[0].text"},
        {"[{\"id\":\"a\",\"kind\":\"end\",\"text\":5}]", "steps[0].text"},
        {"[" MSG ",\"buttons\":null}]", "steps[0].buttons"},
        {"[" MSG BTN("null", "{\"type\":\"end\"}") "}]", "steps[0].buttons[0].label"},
        {"[" MSG BTN("\"x\"", "null") "}]", "steps[0].buttons[0].target"},
        {"[" MSG BTN("\"x\"", "{\"type\":null}") "}]", "steps[0].buttons[0].target"},
        {"[" MSG BTN("\"x\"", "{\"type\":\"faq\",\"faq_id\":null}") "}]",
         "steps[0].buttons[0].target"},
        {"[" MSG BTN("\"x\"", "{\"type\":\"faq\",\"faq_id\":1.5}") "}]",
         "steps[0].buttons[0].target"},
        {"[" MSG BTN("\"x\"", "{\"type\":\"handoff\",\"team_id\":\"3\"}") "}]",
         "steps[0].buttons[0].target.team_id"},
        {"[" MSG BTN("\"Refund\\u202E\"", "{\"type\":\"end\"}") "}]", "steps[0].buttons[0].label"},
        {"[" MSG BTN("\"a\\u0007\"", "{\"type\":\"end\"}") "}]", "steps[0].buttons[0].label"},
        {"[" ASK ",\"field\":null}]", "steps[0].field"},
        {"[" ASK ",\"field_type\":null}]", "steps[0].field_type"},
        {"[" ASK ",\"retry_text\":null}]", "steps[0].retry_text"},
        {"[" ASK ",\"options\":null}]", "steps[0].options"},
        {"[" ASK ",\"field_type\":\"choice\",\"options\":[\"a\",\"b\\u2066\"]}]",
         "steps[0].options"},
        {"[" ASK ",\"field_type\":\"choice\",\"options\":[\"a\",null]}]", "steps[0].options"},
        {"[{\"id\":\"a\",\"kind\":\"handoff\",\"note\":null}]", "steps[0].note"},
        {"[{\"id\":\"a\",\"kind\":\"handoff\",\"skill_id\":0}]", "steps[0].skill_id"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const char *got = parse(cases[i][0], NULL, NULL);
        if (strcmp(got, cases[i][1]) != 0)
            fail_msg("%s: field '%s', want '%s'", cases[i][0], got, cases[i][1]);
    }
    const char *ok[] = {
        "[" MSG ",\"next\":null}]",
        "[" MSG ",\"buttons\":[],\"next\":null}]",
        "[" MSG BTN("\"x\"", "{\"type\":\"end\"}") ",\"next\":null}]",
        "[" ASK ",\"next\":null}]",
        "[{\"id\":\"a\",\"kind\":\"handoff\",\"team_id\":null,\"skill_id\":null}]",
        "[" MSG BTN("\"x\"", "{\"type\":\"handoff\",\"team_id\":null,\"skill_id\":null}") "}]",
        /* right-to-left text keeps its marks */
        "[" MSG BTN("\"\\u0646\\u0639\\u0645\\u200f\"", "{\"type\":\"end\"}") "}]",
    };
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
        const char *got = parse(ok[i], NULL, NULL);
        if (*got)
            fail_msg("%s: refused on '%s'", ok[i], got);
    }
#undef MSG
#undef ASK
#undef BTN
}

/* What flow_steps_parse gives back parses again to the same: the bot checks stored steps this way
 * before it walks them. */
static void test_normalized_parses_again(void **state)
{
    (void)state;
    json_t *out, *refs;
    assert_string_equal(
        parse(
            "[{\"id\":\"m\",\"kind\":\"message\",\"text\":\"Hi\",\"buttons\":[{\"label\":\"Go\","
            "\"target\":{\"type\":\"step\",\"step\":\"q\"}},{\"label\":\"FAQ\",\"target\":{"
            "\"type\":\"faq\",\"faq_id\":2}},{\"label\":\"P\",\"target\":{\"type\":"
            "\"handoff\"}}]},{\"id\":\"q\",\"kind\":\"collect\",\"text\":\"Size?\",\"field\":"
            "\"size\",\"field_type\":\"choice\",\"options\":[\"S\",\"M\"]},{\"id\":\"n\",\"kind\":"
            "\"message\",\"text\":\"x\"},{\"id\":\"h\",\"kind\":\"handoff\"},{\"id\":\"e\","
            "\"kind\":\"end\"}]",
            &out, &refs),
        "");
    json_decref(refs);
    struct jfail f = {0};
    json_t *again, *r2;
    assert_int_equal(flow_steps_parse(out, &again, &r2, &f), 0);
    assert_true(json_equal(out, again));
    json_decref(again);
    json_decref(r2);
    json_decref(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_flow_is_normalized),
        cmocka_unit_test(test_errors_name_the_field),
        cmocka_unit_test(test_payloads),
        cmocka_unit_test(test_labels_and_answers),
        cmocka_unit_test(test_nulls_and_shown_text),
        cmocka_unit_test(test_normalized_parses_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
