/* test_json.c: strict body parsing and typed field access (base/json.c). */
#include "base/sys.h"
#include "base/json.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

static json_t *parse_ok(const char *s)
{
    json_t *v = (json_t *)0x1;
    struct jfail f = {0};
    int rc = json_parse_object(s, strlen(s), &v, &f);
    if (rc != 0)
        fail_msg("json_parse_object(%s) failed: %d %s", s, rc, f.msg);
    assert_non_null(v);
    return v;
}

static void expect_json_error(const char *s, size_t len)
{
    json_t *v = (json_t *)0x1;
    struct jfail f;
    memset(&f, 0, sizeof(f));
    snprintf(f.field, sizeof(f.field), "stale");
    int rc = json_parse_object(s, len, &v, &f);
    if (rc != ERR_JSON)
        fail_msg("json_parse_object(%.*s) returned %d, expected ERR_JSON", (int)len, s, rc);
    assert_null(v);
    assert_string_equal(f.field, ""); /* a body error is not about one field */
    assert_true(f.msg[0] != '\0');    /* and says something */
}

static void test_parse_object_ok(void **state)
{
    (void)state;
    json_t *v = parse_ok("{\"name\":\"\xE4\xBD\xA0\",\"n\":1,\"nested\":{\"a\":[1,2]}}");
    assert_true(json_is_object(v));
    assert_string_equal(json_string_value(json_object_get(v, "name")), "\xE4\xBD\xA0");
    json_decref(v);
    v = parse_ok("  {}  \n");
    assert_int_equal(json_object_size(v), 0);
    json_decref(v);
    /* Only len bytes are parsed. */
    json_t *w = NULL;
    struct jfail f;
    assert_int_equal(json_parse_object("{\"a\":1}garbage", 7, &w, &f), 0);
    assert_int_equal(json_integer_value(json_object_get(w, "a")), 1);
    json_decref(w);
}

static void test_parse_object_errors(void **state)
{
    (void)state;
    static const char *bad[] = {
        "[1,2]", /* not an object */
        "\"str\"",
        "42",
        "null",
        "true",
        "{", /* truncated */
        "{\"a\":}",
        "{'a':1}",
        "{\"a\":1,}",                /* trailing comma */
        "{} {}",                     /* two values */
        "{\"a\":1} x",               /* trailing garbage */
        "{\"a\":1,\"a\":2}",         /* duplicate keys */
        "{\"a\":{\"b\":1,\"b\":1}}", /* duplicate keys nested */
        "{\"a\":\"\xff\"}",          /* invalid UTF-8 in a string */
        "{\"a\":\"\xC0\x80\"}",      /* overlong NUL */
        "{\"a\":\"\xED\xA0\x80\"}",  /* encoded surrogate */
        "{\"\xE4\xBD\":1}",          /* truncated UTF-8 in a key */
        "{\"a\":\"\\u0000\"}",       /* NUL through an escape */
        "{\"a\":\"\\ud800\"}",       /* lone surrogate escape */
        "   ",                       /* only whitespace */
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        expect_json_error(bad[i], strlen(bad[i]));
    /* Empty body. */
    expect_json_error("", 0);
    expect_json_error("{}", 0);
    /* An embedded NUL byte in the raw body. */
    expect_json_error("{\"a\":1}\0", 8);
    expect_json_error("{\"a\0\":1}", 8);
}

static void check_fail(int rc, const struct jfail *f, const char *field, const char *needle)
{
    assert_int_equal(rc, ERR_VALIDATION);
    assert_string_equal(f->field, field);
    if (!strstr(f->msg, field))
        fail_msg("message '%s' does not name the field '%s'", f->msg, field);
    if (needle && !strstr(f->msg, needle))
        fail_msg("message '%s' does not say '%s'", f->msg, needle);
}

static void test_get_str(void **state)
{
    (void)state;
    json_t *o = parse_ok(
        "{\"name\":\"Ann\",\"cjk\":\"\xE4\xBD\xA0\xE5\xA5\xBD\",\"emoji\":\"\xF0\x9F\x98\x80\","
        "\"empty\":\"\",\"num\":5,\"nul\":null,\"arr\":[\"x\"]}");
    struct jfail f;
    const char *s = NULL;
    assert_int_equal(json_get_str(o, "name", true, 1, 100, &s, &f), 0);
    assert_string_equal(s, "Ann");

    /* Missing: required is an error naming the field; optional leaves *out alone. */
    memset(&f, 0, sizeof(f));
    check_fail(json_get_str(o, "email", true, 1, 100, &s, &f), &f, "email", "required");
    s = "untouched";
    assert_int_equal(json_get_str(o, "email", false, 1, 100, &s, &f), 0);
    assert_string_equal(s, "untouched");
    /* null counts as missing. */
    memset(&f, 0, sizeof(f));
    check_fail(json_get_str(o, "nul", true, 0, 100, &s, &f), &f, "nul", "required");
    s = "untouched";
    assert_int_equal(json_get_str(o, "nul", false, 0, 100, &s, &f), 0);
    assert_string_equal(s, "untouched");
    /* Wrong type, even when optional. */
    memset(&f, 0, sizeof(f));
    check_fail(json_get_str(o, "num", false, 0, 100, &s, &f), &f, "num", "string");
    memset(&f, 0, sizeof(f));
    check_fail(json_get_str(o, "arr", true, 0, 100, &s, &f), &f, "arr", "string");

    /* Bounds are in characters: "你好" is 2 characters and 6 bytes. */
    s = NULL;
    assert_int_equal(json_get_str(o, "cjk", true, 2, 2, &s, &f), 0);
    assert_string_equal(s, "\xE4\xBD\xA0\xE5\xA5\xBD");
    assert_int_equal(json_get_str(o, "cjk", true, 1, 5, &s, &f), 0);
    memset(&f, 0, sizeof(f));
    s = "untouched";
    check_fail(json_get_str(o, "cjk", true, 1, 1, &s, &f), &f, "cjk", "at most 1");
    assert_string_equal(s, "untouched"); /* *out set only on success */
    memset(&f, 0, sizeof(f));
    check_fail(json_get_str(o, "cjk", true, 3, 10, &s, &f), &f, "cjk", "at least 3");
    /* An emoji is one character (4 bytes). */
    assert_int_equal(json_get_str(o, "emoji", true, 1, 1, &s, &f), 0);
    /* Empty string against min 1. */
    memset(&f, 0, sizeof(f));
    check_fail(json_get_str(o, "empty", true, 1, 10, &s, &f), &f, "empty", "must not be empty");
    assert_int_equal(json_get_str(o, "empty", true, 0, 10, &s, &f), 0);
    assert_string_equal(s, "");
    json_decref(o);
}

static void test_get_int(void **state)
{
    (void)state;
    json_t *o = parse_ok("{\"n\":42,\"neg\":-7,\"real\":1.0,\"str\":\"42\",\"t\":true,\"nul\":null,"
                         "\"big\":9223372036854775807,\"min\":-9223372036854775808}");
    struct jfail f;
    int64_t v = 0;
    assert_int_equal(json_get_int(o, "n", true, 0, 100, &v, &f), 0);
    assert_int_equal(v, 42);
    assert_int_equal(json_get_int(o, "neg", true, -10, 10, &v, &f), 0);
    assert_int_equal(v, -7);
    /* Inclusive bounds. */
    assert_int_equal(json_get_int(o, "n", true, 42, 42, &v, &f), 0);
    memset(&f, 0, sizeof(f));
    v = 1;
    check_fail(json_get_int(o, "n", true, 0, 41, &v, &f), &f, "n", "between 0 and 41");
    assert_int_equal(v, 1);
    memset(&f, 0, sizeof(f));
    check_fail(json_get_int(o, "neg", true, 0, 10, &v, &f), &f, "neg", "between");
    /* Extremes. */
    assert_int_equal(json_get_int(o, "big", true, INT64_MIN, INT64_MAX, &v, &f), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(json_get_int(o, "min", true, INT64_MIN, INT64_MAX, &v, &f), 0);
    assert_true(v == INT64_MIN);
    /* Wrong types: a real (even 1.0), a numeric string, a boolean. */
    memset(&f, 0, sizeof(f));
    check_fail(json_get_int(o, "real", true, 0, 10, &v, &f), &f, "real", "integer");
    memset(&f, 0, sizeof(f));
    check_fail(json_get_int(o, "str", true, 0, 100, &v, &f), &f, "str", "integer");
    memset(&f, 0, sizeof(f));
    check_fail(json_get_int(o, "t", false, 0, 100, &v, &f), &f, "t", "integer");
    /* Missing and null. */
    memset(&f, 0, sizeof(f));
    check_fail(json_get_int(o, "absent", true, 0, 10, &v, &f), &f, "absent", "required");
    memset(&f, 0, sizeof(f));
    check_fail(json_get_int(o, "nul", true, 0, 10, &v, &f), &f, "nul", "required");
    v = 99;
    assert_int_equal(json_get_int(o, "absent", false, 0, 10, &v, &f), 0);
    assert_int_equal(json_get_int(o, "nul", false, 0, 10, &v, &f), 0);
    assert_int_equal(v, 99);
    json_decref(o);
}

static void test_get_bool(void **state)
{
    (void)state;
    json_t *o = parse_ok("{\"t\":true,\"f\":false,\"one\":1,\"s\":\"true\",\"nul\":null}");
    struct jfail f;
    bool b = false;
    assert_int_equal(json_get_bool(o, "t", true, &b, &f), 0);
    assert_true(b);
    assert_int_equal(json_get_bool(o, "f", true, &b, &f), 0);
    assert_false(b);
    memset(&f, 0, sizeof(f));
    check_fail(json_get_bool(o, "one", true, &b, &f), &f, "one", "true or false");
    memset(&f, 0, sizeof(f));
    check_fail(json_get_bool(o, "s", true, &b, &f), &f, "s", "true or false");
    memset(&f, 0, sizeof(f));
    check_fail(json_get_bool(o, "absent", true, &b, &f), &f, "absent", "required");
    memset(&f, 0, sizeof(f));
    check_fail(json_get_bool(o, "nul", true, &b, &f), &f, "nul", "required");
    b = true;
    assert_int_equal(json_get_bool(o, "absent", false, &b, &f), 0);
    assert_int_equal(json_get_bool(o, "nul", false, &b, &f), 0);
    assert_true(b);
    json_decref(o);
}

static void test_get_enum(void **state)
{
    (void)state;
    static const char *const statuses[] = {"open", "pending", "resolved", NULL};
    json_t *o = parse_ok(
        "{\"a\":\"open\",\"b\":\"resolved\",\"c\":\"Open\",\"d\":\"\",\"e\":3,\"nul\":null,"
        "\"f\":\"openx\"}");
    struct jfail f;
    int idx = -1;
    assert_int_equal(json_get_enum(o, "a", true, statuses, &idx, &f), 0);
    assert_int_equal(idx, 0);
    assert_int_equal(json_get_enum(o, "b", true, statuses, &idx, &f), 0);
    assert_int_equal(idx, 2);
    /* Case-sensitive; the message lists the choices. */
    memset(&f, 0, sizeof(f));
    idx = -1;
    check_fail(json_get_enum(o, "c", true, statuses, &idx, &f), &f, "c", "open, pending, resolved");
    assert_int_equal(idx, -1);
    memset(&f, 0, sizeof(f));
    check_fail(json_get_enum(o, "d", true, statuses, &idx, &f), &f, "d", "one of");
    memset(&f, 0, sizeof(f));
    check_fail(json_get_enum(o, "f", true, statuses, &idx, &f), &f, "f", "one of");
    memset(&f, 0, sizeof(f));
    check_fail(json_get_enum(o, "e", true, statuses, &idx, &f), &f, "e", "string");
    memset(&f, 0, sizeof(f));
    check_fail(json_get_enum(o, "absent", true, statuses, &idx, &f), &f, "absent", "required");
    memset(&f, 0, sizeof(f));
    check_fail(json_get_enum(o, "nul", true, statuses, &idx, &f), &f, "nul", "required");
    idx = 7;
    assert_int_equal(json_get_enum(o, "absent", false, statuses, &idx, &f), 0);
    assert_int_equal(json_get_enum(o, "nul", false, statuses, &idx, &f), 0);
    assert_int_equal(idx, 7);
    json_decref(o);
}

static void test_json_fail(void **state)
{
    (void)state;
    struct jfail f;
    assert_int_equal(json_fail(&f, "x", "%s is %d", "x", 5), ERR_VALIDATION);
    assert_string_equal(f.field, "x");
    assert_string_equal(f.msg, "x is 5");
    /* A long message is truncated, still NUL-terminated. */
    char longs[400];
    memset(longs, 'a', sizeof(longs) - 1);
    longs[sizeof(longs) - 1] = '\0';
    json_fail(&f, "y", "%s", longs);
    assert_int_equal(strlen(f.msg), sizeof(f.msg) - 1);
}

static void test_json_time(void **state)
{
    (void)state;
    json_t *t = json_time(0);
    assert_true(json_is_null(t));
    json_decref(t);
    t = json_time(1763700600123LL);
    assert_true(json_is_string(t));
    assert_string_equal(json_string_value(t), "2025-11-21T04:50:00.123Z");
    json_decref(t);
    t = json_time(951782400999LL); /* leap day, last millisecond of a second */
    assert_string_equal(json_string_value(t), "2000-02-29T00:00:00.999Z");
    json_decref(t);
    t = json_time(1);
    assert_string_equal(json_string_value(t), "1970-01-01T00:00:00.001Z");
    json_decref(t);
}

static void test_dump_compact(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:i,s:s}", "a", 1, "b", "\xE4\xBD\xA0");
    size_t len = 0;
    char *s = json_dump_compact(o, &len);
    assert_int_equal(len, strlen(s));
    /* Compact: no spaces; UTF-8 kept as is. */
    assert_null(strchr(s, ' '));
    json_t *back = json_loads(s, 0, NULL);
    assert_true(json_equal(o, back));
    free(s);
    json_decref(back);
    json_decref(o);
    /* Scalars too. */
    json_t *n = json_integer(5);
    s = json_dump_compact(n, &len);
    assert_string_equal(s, "5");
    free(s);
    json_decref(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_object_ok), cmocka_unit_test(test_parse_object_errors),
        cmocka_unit_test(test_get_str),         cmocka_unit_test(test_get_int),
        cmocka_unit_test(test_get_bool),        cmocka_unit_test(test_get_enum),
        cmocka_unit_test(test_json_fail),       cmocka_unit_test(test_json_time),
        cmocka_unit_test(test_dump_compact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
