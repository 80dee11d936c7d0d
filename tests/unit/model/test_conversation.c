/* test_conversation.c: labels, client ids, phones, previews, contact fields and pre-chat answers
 * (model/conversation.c), and ISO-8601 parsing (base/clock.c) used by snooze. */
#include "base/sys.h"
#include "base/clock.h"
#include "model/conversation.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

static void test_labels(void **state)
{
    (void)state;
    const char *good[] = {"vip", "refund-2", "a_b", "退款", "Señal", "x"};
    const char *bad[] = {"", "has space", "a,b", "a/b", "tab\t", "nbsp\xc2\xa0x",
                         "idsp\xe3\x80\x80x", "c1\xc2\x85", "bad\xff",
                         /* invisible and direction controls: RLO, LRI, PDI, zero-width space and
                          * joiner, BOM, soft hyphen, word joiner, a tag */
                         "elif\xe2\x80\xae"
                         "exe",
                         "a\xe2\x81\xa6"
                         "b",
                         "a\xe2\x81\xa9", "vip\xe2\x80\x8b", "v\xe2\x80\x8dip", "\xef\xbb\xbfvip",
                         "v\xc2\xadip", "v\xe2\x81\xa0ip", "vip\xf3\xa0\x80\x81"};
    for (size_t i = 0; i < ARRAY_SIZE(good); i++)
        if (!label_valid(good[i]))
            fail_msg("label '%s' rejected", good[i]);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (label_valid(bad[i]))
            fail_msg("label '%s' accepted", bad[i]);
    char long_label[200];
    memset(long_label, 'a', 51);
    long_label[51] = '\0';
    assert_false(label_valid(long_label));
    long_label[50] = '\0';
    assert_true(label_valid(long_label));
    /* 50 CJK characters are 150 bytes and still one label. */
    long_label[0] = '\0';
    for (int i = 0; i < 50; i++)
        strcat(long_label, "字");
    assert_true(label_valid(long_label));
    strcat(long_label, "字");
    assert_false(label_valid(long_label));
}

/* label_check says which character is not allowed, for labels and the identifiers that share
 * their alphabet. */
static void test_label_check(void **state)
{
    (void)state;
    struct jfail f;
    assert_int_equal(label_check("退款-2", 50, "labels", "label", &f), 0);
    memset(&f, 0, sizeof(f));
    assert_int_equal(label_check("vip\xe2\x80\xae", 50, "labels", "label", &f), ERR_VALIDATION);
    assert_string_equal(f.field, "labels");
    assert_string_equal(
        f.msg, "label must not contain invisible or direction-control characters (U+202E).");
    memset(&f, 0, sizeof(f));
    assert_int_equal(label_check("a\xe2\x80\x8b"
                                 "b",
                                 32, "short_code", "short_code", &f),
                     ERR_VALIDATION);
    assert_non_null(strstr(f.msg, "(U+200B)"));
    memset(&f, 0, sizeof(f));
    assert_int_equal(label_check("a b", 32, "short_code", "short_code", &f), ERR_VALIDATION);
    assert_non_null(strstr(f.msg, "letters, digits"));
    assert_int_equal(label_check("", 32, "short_code", "short_code", &f), ERR_VALIDATION);
    assert_non_null(strstr(f.msg, "must not be empty"));
    assert_int_equal(label_check("abc", 2, "name", "name", &f), ERR_VALIDATION);
    assert_non_null(strstr(f.msg, "at most 2"));
}

static void test_client_id_and_phone(void **state)
{
    (void)state;
    assert_true(client_id_valid("3f2a-uuid-like"));
    assert_false(client_id_valid(""));
    assert_false(client_id_valid("has space"));
    assert_false(client_id_valid("ünicode"));
    char id[80];
    memset(id, 'x', 65);
    id[65] = '\0';
    assert_false(client_id_valid(id));
    id[64] = '\0';
    assert_true(client_id_valid(id));
    assert_true(phone_valid("+86 138-0000 (0000)"));
    assert_false(phone_valid("12"));
    assert_false(phone_valid("call me"));
    assert_false(phone_valid("+++---"));
    assert_true(text_blank(" \n\t"));
    assert_false(text_blank(" a "));
}

static void test_preview(void **state)
{
    (void)state;
    const char *s = "你好world";
    assert_int_equal(utf8_prefix_len(s, strlen(s), 1), 3);
    assert_int_equal(utf8_prefix_len(s, strlen(s), 3), 7);
    assert_int_equal(utf8_prefix_len(s, strlen(s), 100), strlen(s));
    assert_int_equal(utf8_prefix_len("", 0, 5), 0);
}

static json_t *fields(void)
{
    return json_loads(
        "[{\"name\":\"name\",\"label\":\"Name\",\"type\":\"text\",\"required\":true},"
        "{\"name\":\"email\",\"label\":\"E-mail\",\"type\":\"email\",\"required\":true},"
        "{\"name\":\"phone\",\"label\":\"Phone\",\"type\":\"phone\",\"required\":false},"
        "{\"name\":\"qty\",\"label\":\"Qty\",\"type\":\"number\",\"required\":false}]",
        0, NULL);
}

static int check(const char *answers, json_t **norm, struct jfail *f)
{
    json_t *fs = fields(), *a = json_loads(answers, 0, NULL);
    int rc = prechat_check(fs, a, norm, f);
    json_decref(fs);
    json_decref(a);
    return rc;
}

static void test_prechat(void **state)
{
    (void)state;
    json_t *norm = NULL;
    struct jfail f = {0};
    assert_int_equal(
        check("{\"name\":\"  Ann \",\"email\":\"Ann@Example.COM\",\"qty\":3}", &norm, &f), 0);
    assert_string_equal(json_string_value(json_object_get(norm, "name")), "Ann");
    assert_string_equal(json_string_value(json_object_get(norm, "email")), "ann@example.com");
    assert_string_equal(json_string_value(json_object_get(norm, "qty")), "3");
    assert_null(json_object_get(norm, "phone"));
    json_decref(norm);

    struct {
        const char *answers, *field;
    } bad[] = {
        {"{\"name\":\"Ann\"}", "email"},
        {"{\"name\":\" \",\"email\":\"a@b.co\"}", "name"},
        {"{\"name\":\"Ann\",\"email\":\"nope\"}", "email"},
        {"{\"name\":\"Ann\",\"email\":\"a@b.co\",\"phone\":\"abc\"}", "phone"},
        {"{\"name\":\"Ann\",\"email\":\"a@b.co\",\"qty\":\"lots\"}", "qty"},
        {"{\"name\":\"Ann\",\"email\":\"a@b.co\",\"shoe\":\"42\"}", "prechat"},
        {"{\"name\":[1],\"email\":\"a@b.co\"}", "name"},
        {"{\"name\":null,\"email\":\"a@b.co\"}", "name"},
        {"{\"name\":\"Ann\",\"email\":\"a@b.co\",\"phone\":null}", "phone"},
        {"{\"name\":\"Ann\\u202E\",\"email\":\"a@b.co\"}", "name"},
        {"{\"name\":\"A\\u0007\",\"email\":\"a@b.co\"}", "name"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        memset(&f, 0, sizeof(f));
        norm = NULL;
        if (check(bad[i].answers, &norm, &f) != ERR_VALIDATION)
            fail_msg("%s was accepted", bad[i].answers);
        assert_null(norm);
        assert_string_equal(f.field, bad[i].field);
    }
}

static void test_contact_parse(void **state)
{
    (void)state;
    char email[300];
    struct contact_input in;
    struct jfail f = {0};
    json_t *o = json_loads("{\"name\":\"王小明\",\"email\":\" X@Y.Cn \",\"phone\":\"+86 10 1234\"}",
                           0, NULL);
    assert_int_equal(contact_parse(o, NULL, &in, email, &f), 0);
    assert_string_equal(in.email, "x@y.cn");
    assert_string_equal(in.name, "王小明");
    json_decref(o);
    o = json_loads("{\"phone\":\"x\"}", 0, NULL);
    assert_int_equal(contact_parse(o, NULL, &in, email, &f), ERR_VALIDATION);
    assert_string_equal(f.field, "phone");
    json_decref(o);
    o = json_loads("{\"name\":\"a\\u0085b\"}", 0, NULL);
    assert_int_equal(contact_parse(o, NULL, &in, email, &f), ERR_VALIDATION);
    json_decref(o);
    /* null, wrong types, a direction override in a name: named, under the path when given; ""
     * clears a field; absent fields stay NULL */
    struct {
        const char *body, *path, *field, *says;
    } bad[] = {
        {"{\"name\":null}", NULL, "name", "null is not allowed"},
        {"{\"email\":null}", "contact", "contact.email", "null is not allowed"},
        {"{\"phone\":5}", NULL, "phone", "must be a string"},
        {"{\"name\":[\"x\"]}", "contact", "contact.name", "must be a string"},
        {"{\"name\":\"Ann\\u202Eoj\"}", NULL, "name", "(U+202E)"},
        {"{\"name\":\"Ann\\u2066x\"}", "contact", "contact.name", "(U+2066)"},
        {"{\"name\":\"   \"}", NULL, "name", "blank"},
        {"{\"email\":\"nope\"}", "contact", "contact.email", "e-mail"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        o = json_loads(bad[i].body, 0, NULL);
        memset(&f, 0, sizeof(f));
        if (contact_parse(o, bad[i].path, &in, email, &f) != ERR_VALIDATION)
            fail_msg("%s was accepted", bad[i].body);
        assert_string_equal(f.field, bad[i].field);
        if (!strstr(f.msg, bad[i].says))
            fail_msg("%s: '%s' does not say '%s'", bad[i].body, f.msg, bad[i].says);
        json_decref(o);
    }
    o = json_loads("{\"name\":\"\",\"email\":\"\"}", 0, NULL);
    assert_int_equal(contact_parse(o, NULL, &in, email, &f), 0);
    assert_string_equal(in.name, "");
    assert_string_equal(in.email, "");
    assert_null(in.phone);
    json_decref(o);
    /* a right-to-left name with its marks is a name */
    o = json_loads("{\"name\":\"\\u0639\\u0644\\u064a\\u200f\"}", 0, NULL);
    assert_int_equal(contact_parse(o, NULL, &in, email, &f), 0);
    json_decref(o);
}

static void test_iso8601(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(clock_parse_iso8601("1970-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(clock_parse_iso8601("2026-11-21T04:50:00.123Z", &ms), 0);
    char back[25];
    clock_iso8601(ms, back);
    assert_string_equal(back, "2026-11-21T04:50:00.123Z");
    int64_t off;
    assert_int_equal(clock_parse_iso8601("2026-11-21T12:50:00.123+08:00", &off), 0);
    assert_int_equal(off, ms);
    assert_int_equal(clock_parse_iso8601("2024-02-29T00:00:00Z", &ms), 0);
    const char *bad[] = {"",
                         "2026-11-21",
                         "2026-11-21T04:50:00",
                         "2023-02-29T00:00:00Z",
                         "2026-13-01T00:00:00Z",
                         "2026-11-21T24:00:00Z",
                         "2026-11-21T04:50:00.Z",
                         "2026-11-21T04:50:00Zjunk",
                         "2026-11-21T04:50:00+8:00"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (clock_parse_iso8601(bad[i], &ms) == 0)
            fail_msg("'%s' was accepted", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_label_check),
        cmocka_unit_test(test_client_id_and_phone),
        cmocka_unit_test(test_preview),
        cmocka_unit_test(test_prechat),
        cmocka_unit_test(test_contact_parse),
        cmocka_unit_test(test_iso8601),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
