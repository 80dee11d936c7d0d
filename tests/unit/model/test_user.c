/* test_user.c: e-mail and name rules (model/user.c; passwords: test_password.c). */
#include "base/sys.h"
#include "model/user.h"

#include <jansson.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

static void expect_email(const char *in, const char *want)
{
    char out[USER_EMAIL_MAX + 1];
    memset(out, 'Q', sizeof(out));
    if (!user_email_normalize(in, out))
        fail_msg("'%s' was rejected, expected '%s'", in, want);
    assert_string_equal(out, want);
}

static void expect_bad_email(const char *in)
{
    char out[USER_EMAIL_MAX + 1];
    if (user_email_normalize(in, out))
        fail_msg("'%s' was accepted as an e-mail address (normalized '%s')", in, out);
}

static void test_email_normalize(void **state)
{
    (void)state;
    expect_email("ann@example.com", "ann@example.com");
    expect_email("Ann.Lee@Example.COM", "ann.lee@example.com");
    expect_email("  ann@example.com \t", "ann@example.com");
    expect_email("\tBOB+tag@Mail.Example.org  ", "bob+tag@mail.example.org");
    expect_email("a@b.co", "a@b.co");
    expect_email("x_y-z@sub-domain.example.io", "x_y-z@sub-domain.example.io");
    /* Non-ASCII is kept as is (only ASCII is lower-cased). */
    expect_email("J\xC3\xBCrgen@Example.de", "j\xC3\xBCrgen@example.de");
    expect_email("\xE7\x8E\x8B@\xE4\xBE\x8B\xE5\xAD\x90.\xE4\xB8\xAD\xE5\x9B\xBD",
                 "\xE7\x8E\x8B@\xE4\xBE\x8B\xE5\xAD\x90.\xE4\xB8\xAD\xE5\x9B\xBD");
}

static void test_email_rejects(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "   ",
        "a",
        "annexample.com",   /* no @ */
        "ann@@example.com", /* two @ */
        "ann@ex@ample.com",
        "@example.com",     /* empty local part */
        "ann@",             /* empty domain */
        "ann@localhost",    /* no dot in the domain */
        "ann@.example.com", /* domain starts with a dot */
        "ann@example.",     /* ends with a dot */
        "a@b.",
        "ann@example..com",      /* empty label */
        "ann smith@example.com", /* space inside */
        "ann@exa mple.com",
        "ann@example.com x",
        "ann\t@example.com",
        "ann\n@example.com", /* control characters */
        "ann\x01@example.com",
        "ann\x7f@example.com",
        "ann@example.com\n",
        "\"ann\"@example.com",
        "<ann@example.com>",
        "ann@example.com,bob@example.com",
        "ann@example.com;",
        "ann@exa\xffmple.com", /* invalid UTF-8 */
        "\xC0\xC1@example.com",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        expect_bad_email(bad[i]);
}

/* A leading dot is rejected in the local part too, not only in the domain: RFC 5322's dot-atom (the
 * unquoted local part) cannot start or end with a dot or hold two in a row, and such addresses
 * bounce. */
static void test_email_local_part_dots(void **state)
{
    (void)state;
    expect_bad_email(".ann@example.com");
    expect_bad_email("ann.@example.com");
    expect_bad_email("ann..lee@example.com");
    expect_email("ann.lee@example.com", "ann.lee@example.com");
}

static void test_email_length(void **state)
{
    (void)state;
    /* 254 bytes is the most: local part of 64, domain filled to the limit. */
    char in[400], out[USER_EMAIL_MAX + 1];
    size_t n = 0;
    memset(in, 'a', 64);
    n = 64;
    in[n++] = '@';
    while (n < 254 - 4)
        in[n++] = 'b';
    memcpy(in + n, ".com", 4);
    n += 4;
    in[n] = '\0';
    assert_int_equal(strlen(in), 254);
    assert_true(user_email_normalize(in, out));
    assert_int_equal(strlen(out), 254);
    /* 255 bytes: too long. */
    memmove(in + 1, in, n + 1);
    in[0] = 'a';
    assert_int_equal(strlen(in), 255);
    assert_false(user_email_normalize(in, out));
    /* Surrounding spaces do not count against the limit. */
    memmove(in, in + 1, strlen(in));
    char padded[300];
    snprintf(padded, sizeof(padded), "  %s  ", in);
    assert_true(user_email_normalize(padded, out));
    assert_int_equal(strlen(out), 254);
    /* A very long input does not overflow out. */
    char huge[2000];
    memset(huge, 'a', sizeof(huge));
    memcpy(huge + 1000, "@example.com", 12);
    huge[sizeof(huge) - 1] = '\0';
    assert_false(user_email_normalize(huge, out));
}

static void test_name_valid(void **state)
{
    (void)state;
    assert_true(user_name_valid("Ann"));
    assert_true(user_name_valid("A"));
    assert_true(user_name_valid("  Ann Lee  "));
    assert_true(user_name_valid("\xE7\x8E\x8B\xE5\xB0\x8F\xE6\x98\x8E")); /* 王小明 */
    assert_true(user_name_valid("Zo\xC3\xAB \xF0\x9F\x98\x80"));
    assert_false(user_name_valid(""));
    assert_false(user_name_valid("   "));
    assert_false(user_name_valid("\t"));
    assert_false(user_name_valid("Ann\nLee"));
    assert_false(user_name_valid("Ann\rLee"));
    assert_false(user_name_valid("Ann\x01"));
    assert_false(user_name_valid("Ann\x7f"));
    assert_false(user_name_valid("Ann\x1b[31m"));

    /* 100 characters is the most; counted in characters, not bytes. */
    char name[1024];
    memset(name, 'x', 100);
    name[100] = '\0';
    assert_true(user_name_valid(name));
    name[100] = 'x';
    name[101] = '\0';
    assert_false(user_name_valid(name));
    size_t o = 0;
    for (int i = 0; i < 100; i++) {
        memcpy(name + o, "\xE5\xA5\xBD", 3); /* 好: 3 bytes, one character */
        o += 3;
    }
    name[o] = '\0';
    assert_true(user_name_valid(name)); /* 100 characters, 300 bytes */
    memcpy(name + o, "\xE5\xA5\xBD", 4);
    assert_false(user_name_valid(name)); /* 101 characters */
    /* Trailing spaces beyond 100 do not count. */
    memset(name, 'y', 100);
    memcpy(name + 100, "    ", 5);
    assert_true(user_name_valid(name));
}

/* "No control characters" includes the C1 controls U+0080..U+009F (e.g. U+0085 NEXT LINE, U+009B
 * CSI, the 8-bit form of the terminal escape). In UTF-8 they are C2 80..C2 9F. */
static void test_name_rejects_c1_controls(void **state)
{
    (void)state;
    assert_false(user_name_valid("Ann\xC2\x85Lee"));
    assert_false(user_name_valid("Ann\xC2\x9B"
                                 "31m"));
    assert_true(user_name_valid("Ann\xC2\xA0Lee")); /* U+00A0 is not a control */
}

/* Display names: no direction overrides or isolates (they turn the text around them), but the
 * marks and joiners real names and emoji use are fine. */
static void test_name_rejects_bidi_overrides(void **state)
{
    (void)state;
    const char *bad[] = {"Ann\xE2\x80\xAE"
                         "eeL",
                         "\xE2\x80\xAA"
                         "Ann",
                         "Ann\xE2\x80\xAB",
                         "Ann\xE2\x80\xAC",
                         "Ann\xE2\x80\xAD",
                         "Ann\xE2\x81\xA6",
                         "Ann\xE2\x81\xA7",
                         "Ann\xE2\x81\xA8",
                         "Ann\xE2\x81\xA9",
                         "Ann\xE2\x80\xA8"
                         "Lee"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (user_name_valid(bad[i]))
            fail_msg("name %zu was accepted", i);
    assert_true(user_name_valid("\xD8\xB9\xD9\x84\xD9\x8A\xE2\x80\x8F"));         /* علي + RLM */
    assert_true(user_name_valid("\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x92\xBB")); /* 👨‍💻 */
    struct jfail f;
    memset(&f, 0, sizeof(f));
    assert_int_equal(user_name_check("Ann\xE2\x80\xAE", "name", 100, &f), ERR_VALIDATION);
    assert_string_equal(f.field, "name");
    assert_string_equal(f.msg,
                        "name must not contain control or direction-override characters (U+202E).");
    assert_int_equal(user_name_check(" \t", "contact.name", 100, &f), ERR_VALIDATION);
    assert_string_equal(f.field, "contact.name");
    assert_int_equal(user_name_check("abcd", "region", 3, &f), ERR_VALIDATION);
    assert_non_null(strstr(f.msg, "at most 3"));
    assert_int_equal(user_name_check("  Ann  ", "name", 3, &f), 0); /* trimmed */
}

/* Skill names are identifiers: also nothing invisible. */
static void test_skill_check(void **state)
{
    (void)state;
    struct jfail f;
    assert_int_equal(user_skill_check("退款", "skills", &f), 0);
    assert_int_equal(user_skill_check("billing-2", "actions.skill", &f), 0);
    const char *bad[] = {"",
                         "  ",
                         "bill\xE2\x80\x8Bing",
                         "\xEF\xBB\xBF"
                         "billing",
                         "a\x01",
                         "x\xE2\x81\xA6"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        memset(&f, 0, sizeof(f));
        if (user_skill_check(bad[i], "actions.skill", &f) != ERR_VALIDATION)
            fail_msg("skill name %zu was accepted", i);
        assert_string_equal(f.field, "actions.skill");
    }
    char longname[64];
    memset(longname, 's', 41);
    longname[41] = '\0';
    assert_int_equal(user_skill_check(longname, "skills", &f), ERR_VALIDATION);
    longname[40] = '\0';
    assert_int_equal(user_skill_check(longname, "skills", &f), 0);
}

/* The profile borrows its strings from the body: the last one is kept until the next call. */
static int profile(const char *body, struct user_profile *p, struct jfail *f)
{
    static json_t *o;
    json_decref(o);
    o = json_loads(body, 0, NULL);
    assert_non_null(o);
    memset(f, 0, sizeof(*f));
    return user_profile_parse(o, p, f);
}

/* The routing profile: null where it means something (no capacity limit, no region), refused
 * elsewhere; wrong types named. */
static void test_profile_parse(void **state)
{
    (void)state;
    struct user_profile p;
    struct jfail f;
    assert_int_equal(profile("{}", &p, &f), 0);
    assert_false(p.has_capacity || p.has_skills || p.has_languages || p.has_region);
    assert_int_equal(profile("{\"capacity\":null,\"region\":null}", &p, &f), 0);
    assert_true(p.has_capacity && p.has_region);
    assert_int_equal(p.capacity, -1);
    assert_string_equal(p.region, "");
    assert_int_equal(profile("{\"capacity\":0,\"region\":\"CN\",\"languages\":[\"ZH\",\"zh\"],"
                             "\"skills\":[{\"name\":\"vip\",\"level\":5}]}",
                             &p, &f),
                     0);
    assert_int_equal(p.capacity, 0);
    assert_string_equal(p.region, "CN");
    assert_int_equal(p.nlanguages, 1);
    assert_int_equal(p.nskills, 1);
    assert_int_equal(p.skill_levels[0], 5);
    struct {
        const char *body, *field;
    } bad[] = {
        {"{\"capacity\":101}", "capacity"},
        {"{\"capacity\":1.5}", "capacity"},
        {"{\"capacity\":\"3\"}", "capacity"},
        {"{\"capacity\":true}", "capacity"},
        {"{\"skills\":null}", "skills"},
        {"{\"skills\":{}}", "skills"},
        {"{\"skills\":[\"vip\"]}", "skills"},
        {"{\"skills\":[{\"name\":\"vip\"}]}", "skills"},
        {"{\"skills\":[{\"name\":\"vip\",\"level\":null}]}", "skills"},
        {"{\"skills\":[{\"name\":\"vip\",\"level\":2.0}]}", "skills"},
        {"{\"skills\":[{\"name\":\"vip\",\"level\":1,\"x\":1}]}", "skills"},
        {"{\"skills\":[{\"name\":\"v\\u202eip\",\"level\":1}]}", "skills"},
        {"{\"skills\":[{\"name\":null,\"level\":1}]}", "skills"},
        {"{\"languages\":null}", "languages"},
        {"{\"languages\":[null]}", "languages"},
        {"{\"languages\":\"zh\"}", "languages"},
        {"{\"region\":5}", "region"},
        {"{\"region\":\"C\\u202eN\"}", "region"},
        {"{\"region\":\"a\\u0001\"}", "region"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        if (profile(bad[i].body, &p, &f) != ERR_VALIDATION)
            fail_msg("%s was accepted", bad[i].body);
        if (strcmp(f.field, bad[i].field) != 0)
            fail_msg("%s: field '%s', not '%s'", bad[i].body, f.field, bad[i].field);
    }
    assert_int_equal(profile("{\"skills\":[{\"name\":\"v\\u202eip\",\"level\":1}]}", &p, &f),
                     ERR_VALIDATION);
    assert_non_null(strstr(f.msg, "skill 1:"));
    assert_non_null(strstr(f.msg, "(U+202E)"));
    assert_int_equal(profile("{}", &p, &f), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_email_normalize),
        cmocka_unit_test(test_email_rejects),
        cmocka_unit_test(test_email_length),
        cmocka_unit_test(test_name_valid),
        cmocka_unit_test(test_name_rejects_c1_controls),
        cmocka_unit_test(test_email_local_part_dots),
        cmocka_unit_test(test_name_rejects_bidi_overrides),
        cmocka_unit_test(test_skill_check),
        cmocka_unit_test(test_profile_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
