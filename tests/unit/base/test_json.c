/* test_json.c: strict body parsing and typed field access (base/json.c). */
#include "base/sys.h"
#include "base/json.h"
#include "base/str.h"

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

/* One object with a value of every JSON type, for the wrong-type and null cases of every getter.
 */
#define ALL_TYPES                                                                                  \
    "\"s\":\"text\",\"i\":5,\"r\":1.5,\"t\":true,\"n\":null,\"a\":[1,2],\"o\":{\"k\":1}"
static const char *const TYPE_KEYS[] = {"s", "i", "r", "t", "a", "o"};

/* Every getter, behind one signature: kind picks it; *set says *out was written (its sentinel
 * changed), *is_null what a _nullable getter said. */
enum getter { G_STR, G_STR_NULL, G_INT, G_INT_NULL, G_NUM, G_BOOL, G_ENUM, G_ARRAY, G_OBJECT };
static const char *const G_NAMES[] = {"str",  "str_nullable", "int",   "int_nullable", "num",
                                      "bool", "enum",         "array", "object"};
static const char *const CHOICES[] = {"text", "other", NULL};

static int call(enum getter g, json_t *o, const char *name, bool required, bool *set, bool *is_null,
                struct jfail *f)
{
    const char *s = "untouched";
    int64_t i = 77;
    double d = 77;
    bool b = false, nul = false;
    int e = 77;
    json_t *v = (json_t *)0x1;
    int rc = 0;
    switch (g) {
    case G_STR:
        rc = json_field_str(o, name, required, 0, 100, &s, f);
        break;
    case G_STR_NULL:
        rc = json_field_str_nullable(o, name, 0, 100, &s, &nul, f);
        break;
    case G_INT:
        rc = json_field_int(o, name, required, INT64_MIN, INT64_MAX, &i, f);
        break;
    case G_INT_NULL:
        rc = json_field_int_nullable(o, name, INT64_MIN, INT64_MAX, &i, &nul, f);
        break;
    case G_NUM:
        rc = json_field_num(o, name, required, -1e9, 1e9, &d, f);
        break;
    case G_BOOL:
        rc = json_field_bool(o, name, required, &b, f); /* "t" is true: a write shows */
        break;
    case G_ENUM:
        rc = json_field_enum(o, name, required, CHOICES, &e, f);
        break;
    case G_ARRAY:
        rc = json_field_array(o, name, required, 0, 10, &v, f);
        break;
    case G_OBJECT:
        rc = json_field_object(o, name, required, &v, f);
        break;
    }
    *set = strcmp(s, "untouched") != 0 || i != 77 || d != 77 || b || e != 77 || v != (json_t *)0x1;
    if (is_null)
        *is_null = nul;
    return rc;
}

/* The keys of ALL_TYPES each getter takes. */
static bool takes(enum getter g, const char *key)
{
    switch (g) {
    case G_STR:
    case G_STR_NULL:
    case G_ENUM:
        return strcmp(key, "s") == 0;
    case G_INT:
    case G_INT_NULL:
        return strcmp(key, "i") == 0;
    case G_NUM:
        return strcmp(key, "i") == 0 || strcmp(key, "r") == 0;
    case G_BOOL:
        return strcmp(key, "t") == 0;
    case G_ARRAY:
        return strcmp(key, "a") == 0;
    case G_OBJECT:
        return strcmp(key, "o") == 0;
    }
    return false;
}

/* The contract, for every getter: 1 and *out set when there; 0 and *out untouched when absent and
 * optional; ERR_VALIDATION naming the field, *out untouched, when absent and required, null (but
 * for the _nullable ones), or of another type. */
static void test_getter_contract(void **state)
{
    (void)state;
    json_t *o = parse_ok("{" ALL_TYPES "}");
    for (int g = G_STR; g <= G_OBJECT; g++) {
        struct jfail f;
        bool set, nul;
        bool nullable = g == G_STR_NULL || g == G_INT_NULL;
        for (size_t k = 0; k < ARRAY_SIZE(TYPE_KEYS); k++) {
            const char *key = TYPE_KEYS[k];
            memset(&f, 0, sizeof(f));
            int rc = call((enum getter)g, o, key, true, &set, &nul, &f);
            if (takes((enum getter)g, key)) {
                if (rc != 1 || !set || nul)
                    fail_msg("%s(%s): rc %d set %d (%s)", G_NAMES[g], key, rc, set, f.msg);
            } else {
                if (rc != ERR_VALIDATION || set)
                    fail_msg("%s took %s: rc %d set %d", G_NAMES[g], key, rc, set);
                check_fail(rc, &f, key, NULL);
            }
        }
        /* absent */
        assert_int_equal(call((enum getter)g, o, "absent", false, &set, &nul, &f), 0);
        assert_false(set);
        assert_false(nul);
        if (!nullable) {
            memset(&f, 0, sizeof(f));
            check_fail(call((enum getter)g, o, "absent", true, &set, &nul, &f), &f, "absent",
                       "is required");
            assert_false(set);
        }
        /* null */
        memset(&f, 0, sizeof(f));
        int rc = call((enum getter)g, o, "n", true, &set, &nul, &f);
        if (nullable) {
            assert_int_equal(rc, 1);
            assert_true(nul);
            assert_false(set);
        } else {
            check_fail(rc, &f, "n", "null is not allowed");
            assert_false(set);
            memset(&f, 0, sizeof(f));
            check_fail(call((enum getter)g, o, "n", false, &set, &nul, &f), &f, "n",
                       "null is not allowed");
        }
    }
    json_decref(o);
}

/* A field named by a path is looked up by its last part, and named in full. */
static void test_getter_paths(void **state)
{
    (void)state;
    json_t *o = parse_ok("{\"mode\":null,\"text\":7,\"ok\":\"always\"}");
    static const char *const modes[] = {"off", "always", "outside_hours", NULL};
    struct jfail f;
    int mode = -1;
    memset(&f, 0, sizeof(f));
    check_fail(json_field_enum(o, "bot.mode", false, modes, &mode, &f), &f, "bot.mode",
               "bot.mode must be one of: off, always, outside_hours; null is not allowed.");
    assert_int_equal(mode, -1);
    assert_int_equal(json_field_enum(o, "bot.ok", true, modes, &mode, &f), 1);
    assert_int_equal(mode, 1);
    const char *s = NULL;
    memset(&f, 0, sizeof(f));
    check_fail(json_field_str(o, "steps[2].text", true, 1, 10, &s, &f), &f, "steps[2].text",
               "must be a string");
    memset(&f, 0, sizeof(f));
    check_fail(json_field_str(o, "steps[2].label", true, 1, 10, &s, &f), &f, "steps[2].label",
               "is required");
    /* a path longer than jfail.field is cut, still NUL-terminated */
    char longp[100];
    memset(longp, 'x', sizeof(longp) - 7);
    memcpy(longp + sizeof(longp) - 7, ".label", 7);
    assert_int_equal(json_field_str(o, longp, true, 1, 10, &s, &f), ERR_VALIDATION);
    assert_int_equal(strlen(f.field), sizeof(f.field) - 1);
    json_decref(o);
}

static void test_get_str(void **state)
{
    (void)state;
    json_t *o = parse_ok(
        "{\"name\":\"Ann\",\"cjk\":\"\xE4\xBD\xA0\xE5\xA5\xBD\",\"emoji\":\"\xF0\x9F\x98\x80\","
        "\"empty\":\"\",\"num\":5,\"nul\":null,\"arr\":[\"x\"]}");
    struct jfail f;
    const char *s = NULL;
    assert_int_equal(json_field_str(o, "name", true, 1, 100, &s, &f), 1);
    assert_string_equal(s, "Ann");
    /* Bounds are in characters: "你好" is 2 characters and 6 bytes; inclusive. */
    s = NULL;
    assert_int_equal(json_field_str(o, "cjk", true, 2, 2, &s, &f), 1);
    assert_string_equal(s, "\xE4\xBD\xA0\xE5\xA5\xBD");
    memset(&f, 0, sizeof(f));
    s = "untouched";
    check_fail(json_field_str(o, "cjk", true, 1, 1, &s, &f), &f, "cjk", "at most 1");
    assert_string_equal(s, "untouched"); /* *out set only on success */
    memset(&f, 0, sizeof(f));
    check_fail(json_field_str(o, "cjk", true, 3, 10, &s, &f), &f, "cjk", "at least 3");
    /* An emoji is one character (4 bytes). */
    assert_int_equal(json_field_str(o, "emoji", true, 1, 1, &s, &f), 1);
    /* Empty string against min 1, and with min 0. */
    memset(&f, 0, sizeof(f));
    check_fail(json_field_str(o, "empty", true, 1, 10, &s, &f), &f, "empty", "must not be empty");
    assert_int_equal(json_field_str(o, "empty", false, 0, 10, &s, &f), 1);
    assert_string_equal(s, "");
    /* Wrong type, even when optional. */
    memset(&f, 0, sizeof(f));
    check_fail(json_field_str(o, "num", false, 0, 100, &s, &f), &f, "num", "must be a string.");
    memset(&f, 0, sizeof(f));
    check_fail(json_field_str(o, "arr", true, 0, 100, &s, &f), &f, "arr", "must be a string.");
    /* nullable: null, a value, a wrong type (the message says null would do) and bounds */
    bool nul = false;
    s = "untouched";
    assert_int_equal(json_field_str_nullable(o, "nul", 0, 10, &s, &nul, &f), 1);
    assert_true(nul);
    assert_string_equal(s, "untouched");
    assert_int_equal(json_field_str_nullable(o, "name", 0, 10, &s, &nul, &f), 1);
    assert_false(nul);
    assert_string_equal(s, "Ann");
    memset(&f, 0, sizeof(f));
    check_fail(json_field_str_nullable(o, "num", 0, 10, &s, &nul, &f), &f, "num",
               "a string or null");
    memset(&f, 0, sizeof(f));
    check_fail(json_field_str_nullable(o, "name", 0, 2, &s, &nul, &f), &f, "name", "at most 2");
    json_decref(o);
}

static void test_get_int(void **state)
{
    (void)state;
    json_t *o = parse_ok("{\"n\":42,\"neg\":-7,\"real\":1.0,\"str\":\"42\",\"t\":true,\"nul\":null,"
                         "\"big\":9223372036854775807,\"min\":-9223372036854775808,\"zero\":0}");
    struct jfail f;
    int64_t v = 0;
    assert_int_equal(json_field_int(o, "n", true, 0, 100, &v, &f), 1);
    assert_int_equal(v, 42);
    assert_int_equal(json_field_int(o, "neg", true, -10, 10, &v, &f), 1);
    assert_int_equal(v, -7);
    /* Inclusive bounds. */
    assert_int_equal(json_field_int(o, "n", true, 42, 42, &v, &f), 1);
    memset(&f, 0, sizeof(f));
    v = 1;
    check_fail(json_field_int(o, "n", true, 0, 41, &v, &f), &f, "n", "between 0 and 41");
    assert_int_equal(v, 1);
    memset(&f, 0, sizeof(f));
    check_fail(json_field_int(o, "neg", true, 0, 10, &v, &f), &f, "neg", "between");
    /* An id: at least 1, up to INT64_MAX, said in words. */
    memset(&f, 0, sizeof(f));
    check_fail(json_field_int(o, "zero", true, 1, INT64_MAX, &v, &f), &f, "zero",
               "zero must be a positive integer.");
    memset(&f, 0, sizeof(f));
    check_fail(json_field_int(o, "neg", true, 0, INT64_MAX, &v, &f), &f, "neg",
               "an integer of at least 0");
    /* Extremes. */
    assert_int_equal(json_field_int(o, "big", true, INT64_MIN, INT64_MAX, &v, &f), 1);
    assert_true(v == INT64_MAX);
    assert_int_equal(json_field_int(o, "min", true, INT64_MIN, INT64_MAX, &v, &f), 1);
    assert_true(v == INT64_MIN);
    memset(&f, 0, sizeof(f));
    check_fail(json_field_int(o, "big", true, 1, INT64_MAX - 1, &v, &f), &f, "big", "between");
    /* Wrong types: a real (even 1.0), a numeric string, a boolean. */
    memset(&f, 0, sizeof(f));
    check_fail(json_field_int(o, "real", true, 0, 10, &v, &f), &f, "real", "an integer");
    memset(&f, 0, sizeof(f));
    check_fail(json_field_int(o, "str", true, 0, 100, &v, &f), &f, "str", "an integer");
    memset(&f, 0, sizeof(f));
    check_fail(json_field_int(o, "t", false, 0, 100, &v, &f), &f, "t", "an integer");
    /* nullable */
    bool nul = false;
    v = 99;
    assert_int_equal(json_field_int_nullable(o, "nul", 0, 10, &v, &nul, &f), 1);
    assert_true(nul);
    assert_int_equal(v, 99);
    assert_int_equal(json_field_int_nullable(o, "n", 0, 100, &v, &nul, &f), 1);
    assert_false(nul);
    assert_int_equal(v, 42);
    memset(&f, 0, sizeof(f));
    check_fail(json_field_int_nullable(o, "n", 0, 10, &v, &nul, &f), &f, "n",
               "between 0 and 10 or null");
    memset(&f, 0, sizeof(f));
    check_fail(json_field_int_nullable(o, "real", 1, INT64_MAX, &v, &nul, &f), &f, "real",
               "a positive integer or null");
    json_decref(o);
}

static void test_get_num(void **state)
{
    (void)state;
    json_t *o = parse_ok("{\"half\":0.5,\"one\":1,\"lo\":0.05,\"hi\":0.99,\"tiny\":0.0499,"
                         "\"huge\":1e300,\"neg\":-1e-300,\"s\":\"0.5\"}");
    struct jfail f;
    double d = 7;
    assert_int_equal(json_field_num(o, "half", true, 0.05, 0.99, &d, &f), 1);
    assert_true(d == 0.5);
    /* An integer is a number; the bounds are inclusive. */
    assert_int_equal(json_field_num(o, "one", true, 0, 1, &d, &f), 1);
    assert_true(d == 1);
    assert_int_equal(json_field_num(o, "lo", true, 0.05, 0.99, &d, &f), 1);
    assert_int_equal(json_field_num(o, "hi", true, 0.05, 0.99, &d, &f), 1);
    d = 7;
    memset(&f, 0, sizeof(f));
    check_fail(json_field_num(o, "tiny", true, 0.05, 0.99, &d, &f), &f, "tiny",
               "a number from 0.05 to 0.99");
    memset(&f, 0, sizeof(f));
    check_fail(json_field_num(o, "huge", true, 0, 100, &d, &f), &f, "huge", "from 0 to 100");
    memset(&f, 0, sizeof(f));
    check_fail(json_field_num(o, "neg", true, 0, 100, &d, &f), &f, "neg", "from 0 to 100");
    memset(&f, 0, sizeof(f));
    check_fail(json_field_num(o, "s", true, 0, 1, &d, &f), &f, "s", "a number");
    assert_true(d == 7);
    json_decref(o);
}

static void test_get_bool(void **state)
{
    (void)state;
    json_t *o = parse_ok("{\"t\":true,\"f\":false,\"one\":1,\"s\":\"true\",\"nul\":null}");
    struct jfail f;
    bool b = false;
    assert_int_equal(json_field_bool(o, "t", true, &b, &f), 1);
    assert_true(b);
    assert_int_equal(json_field_bool(o, "f", true, &b, &f), 1);
    assert_false(b);
    memset(&f, 0, sizeof(f));
    check_fail(json_field_bool(o, "one", true, &b, &f), &f, "one", "true or false");
    memset(&f, 0, sizeof(f));
    check_fail(json_field_bool(o, "s", true, &b, &f), &f, "s", "true or false");
    b = true;
    memset(&f, 0, sizeof(f));
    check_fail(json_field_bool(o, "nul", false, &b, &f), &f, "nul",
               "true or false; null is not allowed");
    assert_true(b); /* a null does not switch anything off */
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
    assert_int_equal(json_field_enum(o, "a", true, statuses, &idx, &f), 1);
    assert_int_equal(idx, 0);
    assert_int_equal(json_field_enum(o, "b", true, statuses, &idx, &f), 1);
    assert_int_equal(idx, 2);
    /* Case-sensitive; every failure lists the choices. */
    const char *bad[] = {"c", "d", "f", "e"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        memset(&f, 0, sizeof(f));
        idx = -1;
        check_fail(json_field_enum(o, bad[i], true, statuses, &idx, &f), &f, bad[i],
                   "must be one of: open, pending, resolved.");
        assert_int_equal(idx, -1);
    }
    memset(&f, 0, sizeof(f));
    check_fail(json_field_enum(o, "nul", false, statuses, &idx, &f), &f, "nul",
               "must be one of: open, pending, resolved; null is not allowed.");
    assert_int_equal(idx, -1);
    json_decref(o);
}

static void test_get_array_object(void **state)
{
    (void)state;
    json_t *o = parse_ok("{\"none\":[],\"two\":[1,\"x\"],\"obj\":{},\"nul\":null}");
    struct jfail f;
    json_t *v = NULL;
    assert_int_equal(json_field_array(o, "none", true, 0, 2, &v, &f), 1);
    assert_ptr_equal(v, json_object_get(o, "none"));
    assert_int_equal(json_field_array(o, "two", true, 2, 2, &v, &f), 1);
    memset(&f, 0, sizeof(f));
    check_fail(json_field_array(o, "none", true, 1, 5, &v, &f), &f, "none", "1 to 5 items");
    memset(&f, 0, sizeof(f));
    check_fail(json_field_array(o, "two", true, 0, 1, &v, &f), &f, "two", "at most 1 item");
    memset(&f, 0, sizeof(f));
    check_fail(json_field_array(o, "obj", true, 0, 1, &v, &f), &f, "obj", "a list");
    assert_int_equal(json_field_object(o, "obj", true, &v, &f), 1);
    assert_true(json_is_object(v));
    memset(&f, 0, sizeof(f));
    check_fail(json_field_object(o, "two", true, &v, &f), &f, "two", "an object");
    memset(&f, 0, sizeof(f));
    check_fail(json_field_object(o, "nul", false, &v, &f), &f, "nul",
               "an object; null is not allowed");
    json_decref(o);
}

/* The earlier getters: 0 whether the field is there or not, a null an error all the same. */
static void test_check_chars(void **state)
{
    (void)state;
    struct jfail f;
    assert_int_equal(json_check_chars("vip", "labels", "label", UTF8_IDENT, &f), 0);
    assert_int_equal(json_check_chars(NULL, "labels", "label", UTF8_IDENT, &f), 0);
    memset(&f, 0, sizeof(f));
    assert_int_equal(json_check_chars("a\xE2\x80\xAE"
                                      "b",
                                      "labels", "label", UTF8_IDENT, &f),
                     ERR_VALIDATION);
    assert_string_equal(f.field, "labels");
    assert_string_equal(
        f.msg, "label must not contain invisible or direction-control characters (U+202E).");
    /* a zero-width space is fine in a display name, not in an identifier */
    assert_int_equal(json_check_chars("a\xE2\x80\x8B"
                                      "b",
                                      "name", NULL, UTF8_NAME, &f),
                     0);
    assert_int_equal(json_check_chars("a\xE2\x80\x8B"
                                      "b",
                                      "name", NULL, UTF8_IDENT, &f),
                     ERR_VALIDATION);
    assert_non_null(strstr(f.msg, "(U+200B)"));
    memset(&f, 0, sizeof(f));
    assert_int_equal(json_check_chars("Ann\x01", "name", NULL, UTF8_NAME, &f), ERR_VALIDATION);
    assert_string_equal(f.msg,
                        "name must not contain control or direction-override characters (U+0001).");
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
        cmocka_unit_test(test_getter_contract), cmocka_unit_test(test_getter_paths),
        cmocka_unit_test(test_get_str),         cmocka_unit_test(test_get_int),
        cmocka_unit_test(test_get_num),         cmocka_unit_test(test_get_bool),
        cmocka_unit_test(test_get_enum),        cmocka_unit_test(test_get_array_object),
        cmocka_unit_test(test_check_chars),     cmocka_unit_test(test_json_fail),
        cmocka_unit_test(test_json_time),       cmocka_unit_test(test_dump_compact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
