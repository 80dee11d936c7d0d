/* test_bot.c: an inbox's bot settings as the API takes them and as a row holds them
 * (model/bot.c): null, wrong types and bounds for every key, and stored JSON of any shape. */
#include "base/sys.h"
#include "model/bot.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

static int parse(const char *text, struct bot_settings *s, struct jfail *f)
{
    json_t *v = json_loads(text, 0, NULL);
    if (!v)
        fail_msg("test JSON does not parse: %s", text);
    bot_settings_default(s);
    memset(f, 0, sizeof(*f));
    int rc = bot_settings_parse(v, s, f);
    json_decref(v);
    return rc;
}

/* The outside review's case: {"mode": null} was taken as "given" by the caller and left the mode
 * unset (a crash when the inbox was written back). Now it is a 422 that names bot.mode. */
static void test_mode_null(void **state)
{
    (void)state;
    struct bot_settings s;
    struct jfail f;
    assert_int_equal(parse("{\"mode\":null}", &s, &f), ERR_VALIDATION);
    assert_string_equal(f.field, "bot.mode");
    assert_string_equal(
        f.msg, "bot.mode must be one of: off, always, outside_hours; null is not allowed.");
    assert_int_equal(s.mode, BOT_OFF);
    assert_int_equal(parse("{\"mode\":\"always\"}", &s, &f), 0);
    assert_int_equal(s.mode, BOT_ALWAYS);
}

/* Every key: null and each other type is a 422 naming the key under bot. */
static void test_every_key_null_and_wrong_type(void **state)
{
    (void)state;
    static const char *const keys[] = {
        "mode",           "greeting", "threshold",         "handoff_keywords",
        "collect_fields", "hours",    "negative_priority", "greeting_flows"};
    /* the types each key takes; the others are wrong */
    static const char *const takes[] = {"s", "s", "n", "a", "a", "o", "b", "a"};
    static const struct {
        const char *type, *json;
    } values[] = {{"0", "null"}, {"s", "\"x\""}, {"n", "0.5"},
                  {"b", "true"}, {"a", "[]"},    {"o", "{}"}};
    for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
        for (size_t v = 0; v < ARRAY_SIZE(values); v++) {
            if (strcmp(values[v].type, takes[k]) == 0)
                continue;
            char body[128], field[48];
            snprintf(body, sizeof(body), "{\"%s\":%s}", keys[k], values[v].json);
            snprintf(field, sizeof(field), "bot.%s", keys[k]);
            struct bot_settings s;
            struct jfail f;
            if (parse(body, &s, &f) != ERR_VALIDATION)
                fail_msg("%s was accepted", body);
            if (strcmp(f.field, field) != 0)
                fail_msg("%s: field %s, not %s", body, f.field, field);
            if (v == 0 && strcmp(keys[k], "threshold") != 0 &&
                strcmp(keys[k], "collect_fields") != 0 && strcmp(keys[k], "greeting_flows") != 0 &&
                !strstr(f.msg, "null is not allowed"))
                fail_msg("%s: '%s' does not say null is not allowed", body, f.msg);
        }
}

static void test_values_and_bounds(void **state)
{
    (void)state;
    struct bot_settings s;
    struct jfail f;
    struct {
        const char *body, *field;
    } bad[] = {
        {"{\"mode\":\"sometimes\"}", "bot.mode"},
        {"{\"threshold\":0.04}", "bot.threshold"},
        {"{\"threshold\":1}", "bot.threshold"},
        {"{\"threshold\":\"0.5\"}", "bot.threshold"},
        {"{\"handoff_keywords\":[\"\"]}", "bot.handoff_keywords"},
        {"{\"handoff_keywords\":[1]}", "bot.handoff_keywords"},
        {"{\"handoff_keywords\":[null]}", "bot.handoff_keywords"},
        {"{\"collect_fields\":[\"age\"]}", "bot.collect_fields"},
        {"{\"collect_fields\":[\"name\",\"email\",\"phone\",\"name\"]}", "bot.collect_fields"},
        {"{\"greeting_flows\":[1,1]}", "bot.greeting_flows"},
        {"{\"greeting_flows\":[0]}", "bot.greeting_flows"},
        {"{\"greeting_flows\":[1.5]}", "bot.greeting_flows"},
        {"{\"greeting_flows\":[1,2,3,4,5,6]}", "bot.greeting_flows"},
        {"{\"hours\":{\"utc_offset_minutes\":841}}", "bot.hours.utc_offset_minutes"},
        {"{\"hours\":{\"utc_offset_minutes\":null}}", "bot.hours.utc_offset_minutes"},
        {"{\"hours\":{\"utc_offset_minutes\":60.5}}", "bot.hours.utc_offset_minutes"},
        {"{\"hours\":{\"utc_offset\":60}}", "bot.hours.utc_offset"},
        {"{\"hours\":{\"days\":null}}", "bot.hours.days"},
        {"{\"hours\":{\"days\":{\"someday\":[]}}}", "bot.hours.days"},
        {"{\"hours\":{\"days\":{\"mon\":null}}}", "bot.hours.days.mon"},
        {"{\"hours\":{\"days\":{\"mon\":[[\"18:00\",\"09:00\"]]}}}", "bot.hours.days.mon"},
        {"{\"hours\":{\"days\":{\"mon\":[[\"09:00\",null]]}}}", "bot.hours.days.mon"},
        {"{\"hours\":{\"days\":{\"mon\":[\"09:00\"]}}}", "bot.hours.days.mon"},
        {"{\"colour\":\"red\"}", "bot.colour"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        if (parse(bad[i].body, &s, &f) != ERR_VALIDATION)
            fail_msg("%s was accepted", bad[i].body);
        if (strcmp(f.field, bad[i].field) != 0)
            fail_msg("%s: field %s, not %s", bad[i].body, f.field, bad[i].field);
        if (!strstr(f.msg, "bot.") && !strstr(f.msg, "keyword") && !strstr(f.msg, "flow") &&
            !strstr(f.msg, "collect_fields"))
            fail_msg("%s: '%s' names nothing", bad[i].body, f.msg);
    }
    /* a greeting of 500 characters (in CJK, 1500 bytes) is the most */
    char body[4096] = "{\"greeting\":\"";
    for (int i = 0; i < 500; i++)
        strcat(body, "\xE4\xBD\xA0");
    strcat(body, "\"}");
    assert_int_equal(parse(body, &s, &f), 0);
    body[strlen(body) - 2] = '\0';
    strcat(body, "x\"}");
    assert_int_equal(parse(body, &s, &f), ERR_VALIDATION);
    assert_string_equal(f.field, "bot.greeting");
    /* the bounds themselves */
    assert_int_equal(parse("{\"threshold\":0.05,\"hours\":{\"utc_offset_minutes\":-720}}", &s, &f),
                     0);
    assert_true(s.threshold == 0.05);
    assert_int_equal(s.utc_offset_min, -720);
    assert_int_equal(parse("{\"threshold\":0.99,\"greeting_flows\":[9223372036854775807]}", &s, &f),
                     0);
    assert_int_equal(s.nflows, 1);
    assert_true(s.flows[0] == INT64_MAX);
}

/* A row holds JSON the API wrote, but a row can be corrupt or of an older shape: each key that does
 * not parse keeps its default and the others apply; no text makes the load fail. */
static void test_load_any_row(void **state)
{
    (void)state;
    struct bot_settings s;
    bot_settings_load("{\"mode\":null,\"greeting\":\"Hi\",\"threshold\":7,\"negative_priority\":"
                      "true,\"hours\":{\"days\":{\"mon\":\"all day\"}},\"what\":1}",
                      &s);
    assert_int_equal(s.mode, BOT_OFF);
    assert_string_equal(s.greeting, "Hi");
    assert_true(s.threshold == 0.5);
    assert_true(s.negative_priority);
    assert_int_equal(s.nspans[0], 1); /* Monday keeps 09:00-18:00 */
    assert_int_equal(s.spans[0][0][0], 9 * 60);
    static const char *const junk[] = {NULL, "",           "null", "[1,2]", "\"x\"",
                                       "{",  "{\"mode\":", "42",   "{}",    "{\"mode\":[{}]}"};
    for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
        bot_settings_load(junk[i], &s);
        assert_int_equal(s.mode, BOT_OFF);
        assert_true(s.threshold == 0.5);
        assert_int_equal(s.nkeywords, 6);
        json_t *out = bot_settings_json(&s); /* and it writes back */
        assert_non_null(out);
        json_decref(out);
    }
    /* what bot_settings_json writes loads back the same */
    bot_settings_load("{\"mode\":\"outside_hours\",\"collect_fields\":[\"name\",\"phone\"]}", &s);
    json_t *out = bot_settings_json(&s);
    char *text = json_dumps(out, 0);
    struct bot_settings back;
    bot_settings_load(text, &back);
    assert_int_equal(back.mode, BOT_OUTSIDE_HOURS);
    assert_int_equal(back.collect, BOT_FIELD_NAME | BOT_FIELD_PHONE);
    free(text);
    json_decref(out);
}

static void test_collect_prompt(void **state)
{
    (void)state;
    char out[300];
    /* a field's name goes into the template */
    bot_collect_prompt("订单号", true, false, out, sizeof(out));
    assert_string_equal(out, "请留下您的订单号：");
    bot_collect_prompt("order number", false, false, out, sizeof(out));
    assert_string_equal(out, "Please enter your order number:");
    bot_collect_prompt("订单号", true, true, out, sizeof(out));
    assert_string_equal(out, "这个格式好像不对，请再输入一次订单号：");
    /* the admin's whole sentence is said as it is (the review's "请留下您的请提供您的订单号") */
    bot_collect_prompt("请提供您的订单号", true, false, out, sizeof(out));
    assert_string_equal(out, "请提供您的订单号");
    bot_collect_prompt("您的订单号是多少？", true, false, out, sizeof(out));
    assert_string_equal(out, "您的订单号是多少？");
    bot_collect_prompt("What is your order number?", false, false, out, sizeof(out));
    assert_string_equal(out, "What is your order number?");
    bot_collect_prompt("Please give us the order number", false, true, out, sizeof(out));
    assert_string_equal(out, "That does not look right. Please give us the order number");
    bot_collect_prompt("请提供您的订单号", true, true, out, sizeof(out));
    assert_string_equal(out, "这个格式好像不对。请提供您的订单号");
    bot_collect_prompt("best time to call", false, false, out, sizeof(out));
    assert_string_equal(out, "Please enter your best time to call:");
    bot_collect_prompt(NULL, true, false, out, sizeof(out));
    assert_string_equal(out, "请留下您的：");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collect_prompt),
        cmocka_unit_test(test_mode_null),
        cmocka_unit_test(test_every_key_null_and_wrong_type),
        cmocka_unit_test(test_values_and_bounds),
        cmocka_unit_test(test_load_any_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
