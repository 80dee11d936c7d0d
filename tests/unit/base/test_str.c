/* test_str.c: spans, integer parsing, URL decoding, hex and UTF-8 checks (base/str.c). */
#include "base/sys.h"
#include "base/str.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

/* A span over a heap copy without a terminating NUL, so a function that reads past len trips ASan.
 */
static struct span heap_span(const char *s, char **owned)
{
    size_t n = strlen(s);
    char *p = xmalloc(n ? n : 1);
    memcpy(p, s, n);
    *owned = p;
    return (struct span){p, n};
}

static void test_span_eq(void **state)
{
    (void)state;
    assert_true(span_eq(SPAN_LIT("abc"), SPAN_LIT("abc")));
    assert_false(span_eq(SPAN_LIT("abc"), SPAN_LIT("abd")));
    assert_false(span_eq(SPAN_LIT("abc"), SPAN_LIT("ab")));
    assert_false(span_eq(SPAN_LIT("ab"), SPAN_LIT("abc")));
    assert_true(span_eq(SPAN_NULL, SPAN_LIT("")));
    assert_true(span_eq(SPAN_NULL, SPAN_NULL));
    assert_false(span_eq(SPAN_NULL, SPAN_LIT("a")));
    /* Only len bytes count: a span into a longer string. */
    struct span part = {"abcdef", 3};
    assert_true(span_eq(part, SPAN_LIT("abc")));
    assert_true(span_eq_cstr(part, "abc"));
    assert_false(span_eq_cstr(part, "abcdef"));
    assert_false(span_eq_cstr(part, "ab"));
    /* Case matters for span_eq. */
    assert_false(span_eq(SPAN_LIT("ABC"), SPAN_LIT("abc")));
}

static void test_span_case_eq(void **state)
{
    (void)state;
    assert_true(span_case_eq(SPAN_LIT("Content-Type"), "content-type"));
    assert_true(span_case_eq(SPAN_LIT("CONTENT-TYPE"), "Content-Type"));
    assert_false(span_case_eq(SPAN_LIT("Content-Typ"), "content-type"));
    assert_false(span_case_eq(SPAN_LIT("Content-Types"), "content-type"));
    assert_false(span_case_eq(SPAN_LIT("Content-Tape"), "content-type"));
    assert_true(span_case_eq(SPAN_LIT(""), ""));
    /* The span is not NUL-terminated: only its len bytes are compared. */
    char *owned;
    struct span s = heap_span("Cookie", &owned);
    assert_true(span_case_eq(s, "cookie"));
    assert_false(span_case_eq(s, "cookies"));
    free(owned);
    struct span part = {"HostX", 4};
    assert_true(span_case_eq(part, "host"));
}

static void test_span_starts_with(void **state)
{
    (void)state;
    assert_true(span_starts_with(SPAN_LIT("Bearer abc"), "Bearer "));
    assert_true(span_starts_with(SPAN_LIT("Bearer "), "Bearer "));
    assert_false(span_starts_with(SPAN_LIT("Bearer"), "Bearer "));
    assert_false(span_starts_with(SPAN_LIT("bearer abc"), "Bearer "));
    assert_true(span_starts_with(SPAN_LIT("abc"), ""));
    assert_false(span_starts_with(SPAN_NULL, "a"));
    struct span part = {"/api/v1", 4};
    assert_true(span_starts_with(part, "/api"));
    assert_false(span_starts_with(part, "/api/"));
}

static void test_span_to_i64_valid(void **state)
{
    (void)state;
    int64_t v = 12345;
    assert_true(span_to_i64(SPAN_LIT("0"), &v));
    assert_int_equal(v, 0);
    assert_true(span_to_i64(SPAN_LIT("42"), &v));
    assert_int_equal(v, 42);
    assert_true(span_to_i64(SPAN_LIT("-42"), &v));
    assert_int_equal(v, -42);
    assert_true(span_to_i64(SPAN_LIT("-0"), &v));
    assert_int_equal(v, 0);
    assert_true(span_to_i64(SPAN_LIT("007"), &v));
    assert_int_equal(v, 7);
    assert_true(span_to_i64(SPAN_LIT("9223372036854775807"), &v));
    assert_true(v == INT64_MAX);
    assert_true(span_to_i64(SPAN_LIT("-9223372036854775808"), &v));
    assert_true(v == INT64_MIN);
    assert_true(span_to_i64(SPAN_LIT("-9223372036854775807"), &v));
    assert_true(v == -INT64_MAX);
    /* 19 digits is the most allowed. */
    assert_true(span_to_i64(SPAN_LIT("1000000000000000000"), &v));
    assert_true(v == 1000000000000000000LL);
    /* Only len bytes count. */
    struct span part = {"123456", 3};
    assert_true(span_to_i64(part, &v));
    assert_int_equal(v, 123);
}

static void test_span_to_i64_invalid(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "-",
        "+1",
        " 1",
        "1 ",
        "1a",
        "a1",
        "--1",
        "1-",
        "0x10",
        "1.5",
        "9223372036854775808",  /* INT64_MAX + 1 */
        "-9223372036854775809", /* INT64_MIN - 1 */
        "9999999999999999999",  /* 19 digits, out of range */
        "-9999999999999999999",
        "12345678901234567890", /* 20 digits */
        "00000000000000000001", /* 20 digits, even if the value is small */
        "18446744073709551616", /* 2^64: would wrap to 0 in a u64 */
        "18446744073709551617", /* 2^64 + 1: would wrap to 1 */
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        int64_t v = 777;
        bool ok = span_to_i64(span_of(bad[i]), &v);
        if (ok)
            fail_msg("span_to_i64(\"%s\") accepted the input (value %" PRId64 ")", bad[i], v);
        assert_int_equal(v, 777); /* out untouched on failure */
    }
    int64_t v = 5;
    assert_false(span_to_i64(SPAN_NULL, &v));
    assert_int_equal(v, 5);
}

static void test_span_split(void **state)
{
    (void)state;
    struct span s = SPAN_LIT("a=1&b=2&&c");
    struct span h = span_split(&s, '&');
    assert_true(span_eq_cstr(h, "a=1"));
    assert_true(span_eq_cstr(s, "b=2&&c"));
    h = span_split(&s, '&');
    assert_true(span_eq_cstr(h, "b=2"));
    h = span_split(&s, '&');
    assert_int_equal(h.len, 0); /* the empty field between && */
    assert_true(span_eq_cstr(s, "c"));
    h = span_split(&s, '&');
    assert_true(span_eq_cstr(h, "c"));
    assert_int_equal(s.len, 0);
    /* Splitting an exhausted span gives empty pieces. */
    h = span_split(&s, '&');
    assert_int_equal(h.len, 0);
    assert_int_equal(s.len, 0);

    /* Separator at the very end: head is everything before it, rest is empty. */
    s = SPAN_LIT("key=");
    h = span_split(&s, '=');
    assert_true(span_eq_cstr(h, "key"));
    assert_int_equal(s.len, 0);
    /* Separator first. */
    s = SPAN_LIT("/x");
    h = span_split(&s, '/');
    assert_int_equal(h.len, 0);
    assert_true(span_eq_cstr(s, "x"));
    /* No separator: the whole span is the head. */
    s = SPAN_LIT("abc");
    h = span_split(&s, ';');
    assert_true(span_eq_cstr(h, "abc"));
    assert_int_equal(s.len, 0);
    /* The separator past len is not seen. */
    s = (struct span){"ab;cd", 2};
    h = span_split(&s, ';');
    assert_true(span_eq_cstr(h, "ab"));
    assert_int_equal(s.len, 0);
    /* SPAN_NULL is fine. */
    s = SPAN_NULL;
    h = span_split(&s, ';');
    assert_int_equal(h.len, 0);
    assert_int_equal(s.len, 0);
}

static void test_span_trim(void **state)
{
    (void)state;
    assert_true(span_eq_cstr(span_trim(SPAN_LIT("  a b \t")), "a b"));
    assert_true(span_eq_cstr(span_trim(SPAN_LIT("\t\tx")), "x"));
    assert_true(span_eq_cstr(span_trim(SPAN_LIT("x  ")), "x"));
    assert_true(span_eq_cstr(span_trim(SPAN_LIT("x")), "x"));
    assert_int_equal(span_trim(SPAN_LIT("   \t ")).len, 0);
    assert_int_equal(span_trim(SPAN_LIT("")).len, 0);
    assert_int_equal(span_trim(SPAN_NULL).len, 0);
    /* Only spaces and tabs: a newline stays. */
    assert_true(span_eq_cstr(span_trim(SPAN_LIT(" x\n")), "x\n"));
}

static long decode(const char *in, bool plus_space, char *out)
{
    char *owned;
    struct span s = heap_span(in, &owned);
    long n = url_decode(s, out, plus_space);
    free(owned);
    return n;
}

static void test_url_decode_good(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(decode("hello", false, out), 5);
    assert_string_equal(out, "hello");
    assert_int_equal(decode("a%20b", false, out), 3);
    assert_string_equal(out, "a b");
    assert_int_equal(decode("%41%62%7e%7E", false, out), 4);
    assert_string_equal(out, "Ab~~");
    /* UTF-8 in escapes: "你" = E4 BD A0. */
    assert_int_equal(decode("%E4%BD%A0x", false, out), 4);
    assert_string_equal(out, "\xE4\xBD\xA0x");
    /* Escape at the very end. */
    assert_int_equal(decode("ab%2F", false, out), 3);
    assert_string_equal(out, "ab/");
    assert_int_equal(decode("%25", false, out), 1);
    assert_string_equal(out, "%");
    /* "%2541" is "%41", not "A": one pass only. */
    assert_int_equal(decode("%2541", false, out), 3);
    assert_string_equal(out, "%41");
    assert_int_equal(decode("", false, out), 0);
    assert_string_equal(out, "");
}

static void test_url_decode_plus(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(decode("a+b", true, out), 3);
    assert_string_equal(out, "a b");
    assert_int_equal(decode("a+b", false, out), 3);
    assert_string_equal(out, "a+b");
    /* An escaped plus is a plus even in query mode. */
    assert_int_equal(decode("a%2Bb", true, out), 3);
    assert_string_equal(out, "a+b");
}

static void test_url_decode_bad(void **state)
{
    (void)state;
    char out[64];
    static const char *bad[] = {"%zz", "a%zz", "%4",  "ab%4",  "%",  "x%",
                                "%g1", "%1g",  "%00", "a%00b", "%-1"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        long n = decode(bad[i], false, out);
        if (n != -1)
            fail_msg("url_decode(\"%s\") returned %ld, expected -1", bad[i], n);
    }
    assert_int_equal(decode("%00", true, out), -1);
}

static void test_hex_encode(void **state)
{
    (void)state;
    const unsigned char in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[2 * sizeof(in) + 1];
    memset(out, 'X', sizeof(out));
    hex_encode(in, sizeof(in), out);
    assert_string_equal(out, "00017f80abff");
    char empty[1] = {'X'};
    hex_encode(in, 0, empty);
    assert_string_equal(empty, "");
}

static bool valid(const char *s)
{
    char *owned;
    struct span sp = heap_span(s, &owned);
    bool ok = utf8_valid(sp.p, sp.len);
    free(owned);
    return ok;
}

static void test_utf8_valid_good(void **state)
{
    (void)state;
    assert_true(valid(""));
    assert_true(valid("plain ascii"));
    assert_true(valid("caf\xC3\xA9"));              /* é */
    assert_true(valid("\xE4\xBD\xA0\xE5\xA5\xBD")); /* 你好 */
    assert_true(valid("\xF0\x9F\x98\x80"));         /* 😀 U+1F600 */
    assert_true(valid("\xC2\x80"));                 /* U+0080, smallest 2-byte */
    assert_true(valid("\xDF\xBF"));                 /* U+07FF */
    assert_true(valid("\xE0\xA0\x80"));             /* U+0800, smallest 3-byte */
    assert_true(valid("\xED\x9F\xBF"));             /* U+D7FF, just below surrogates */
    assert_true(valid("\xEE\x80\x80"));             /* U+E000, just above */
    assert_true(valid("\xEF\xBF\xBF"));             /* U+FFFF */
    assert_true(valid("\xF0\x90\x80\x80"));         /* U+10000 */
    assert_true(valid("\xF4\x8F\xBF\xBF"));         /* U+10FFFF, the last code point */
    assert_true(valid("a\xF0\x9F\x98\x80z"));
    /* An embedded NUL is well-formed UTF-8. */
    assert_true(utf8_valid("a\0b", 3));
}

static void test_utf8_valid_bad(void **state)
{
    (void)state;
    static const char *bad[] = {
        "\x80",                     /* lone continuation */
        "a\xBF",                    /* lone continuation after ASCII */
        "\xC0\x80",                 /* overlong NUL */
        "\xC1\xBF",                 /* overlong 2-byte */
        "\xE0\x80\x80",             /* overlong 3-byte */
        "\xE0\x9F\xBF",             /* overlong U+07FF */
        "\xF0\x80\x80\x80",         /* overlong 4-byte */
        "\xF0\x8F\xBF\xBF",         /* overlong U+FFFF */
        "\xED\xA0\x80",             /* U+D800 high surrogate */
        "\xED\xBF\xBF",             /* U+DFFF low surrogate */
        "\xED\xA0\xBD\xED\xB8\x80", /* CESU-8 pair */
        "\xF4\x90\x80\x80",         /* U+110000 */
        "\xF5\x80\x80\x80",         /* lead F5 */
        "\xF7\xBF\xBF\xBF",         /* lead F7 */
        "\xF8\x88\x80\x80\x80",     /* 5-byte form */
        "\xFC\x84\x80\x80\x80\x80", /* 6-byte form */
        "\xFE",
        "\xFF",
        "\xC3",         /* truncated 2-byte */
        "\xE4\xBD",     /* truncated 3-byte */
        "\xF0\x9F\x98", /* truncated 4-byte */
        "abc\xF0\x9F",  /* truncated at the end */
        "\xC3\x28",     /* bad continuation */
        "\xE4\x28\xA0",
        "\xF0\x9F\x28\x80",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (valid(bad[i]))
            fail_msg("utf8_valid accepted bad input #%zu", i);
    /* A sequence cut by len is truncated even if the bytes after len would complete it. */
    assert_false(utf8_valid("\xE4\xBD\xA0", 2));
    assert_false(utf8_valid("x\xF0\x9F\x98\x80", 4));
}

static void test_utf8_chars(void **state)
{
    (void)state;
    assert_int_equal(utf8_chars("", 0), 0);
    assert_int_equal(utf8_chars("abc", 3), 3);
    assert_int_equal(utf8_chars("caf\xC3\xA9", 5), 4);
    assert_int_equal(utf8_chars("\xE4\xBD\xA0\xE5\xA5\xBD", 6), 2);
    assert_int_equal(utf8_chars("\xF0\x9F\x98\x80!", 5), 2);
    assert_int_equal(utf8_chars("a\0b", 3), 3);
}

/* SPAN_NULL is a valid empty span (http_header returns it for a missing header), so every helper
 * must accept it, including with an empty needle: passing its NULL pointer on to memcmp/strncasecmp
 * is undefined behaviour, which UBSan reports and aborts on. Kept last: a UBSan abort ends the run.
 */
static void test_span_null_with_empty_needle(void **state)
{
    (void)state;
    assert_true(span_starts_with(SPAN_NULL, ""));
    assert_true(span_case_eq(SPAN_NULL, ""));
}

/* Every character of the classes, found where it is, in each class and only there; text around
 * it of every script passes. */
static void test_utf8_find_hidden(void **state)
{
    (void)state;
    struct {
        uint32_t cp;
        unsigned kind;
    } hidden[] = {
        {0x01, UTF8_CONTROL},      {0x09, UTF8_CONTROL},      {0x0a, UTF8_CONTROL},
        {0x1f, UTF8_CONTROL},      {0x7f, UTF8_CONTROL},      {0x80, UTF8_CONTROL},
        {0x85, UTF8_CONTROL},      {0x9f, UTF8_CONTROL},      {0x2028, UTF8_CONTROL},
        {0x2029, UTF8_CONTROL},    {0x202a, UTF8_BIDI},       {0x202b, UTF8_BIDI},
        {0x202c, UTF8_BIDI},       {0x202d, UTF8_BIDI},       {0x202e, UTF8_BIDI},
        {0x2066, UTF8_BIDI},       {0x2067, UTF8_BIDI},       {0x2068, UTF8_BIDI},
        {0x2069, UTF8_BIDI},       {0xad, UTF8_INVISIBLE},    {0x34f, UTF8_INVISIBLE},
        {0x61c, UTF8_INVISIBLE},   {0x115f, UTF8_INVISIBLE},  {0x1160, UTF8_INVISIBLE},
        {0x17b4, UTF8_INVISIBLE},  {0x17b5, UTF8_INVISIBLE},  {0x180e, UTF8_INVISIBLE},
        {0x200b, UTF8_INVISIBLE},  {0x200c, UTF8_INVISIBLE},  {0x200d, UTF8_INVISIBLE},
        {0x200e, UTF8_INVISIBLE},  {0x200f, UTF8_INVISIBLE},  {0x2060, UTF8_INVISIBLE},
        {0x2061, UTF8_INVISIBLE},  {0x2062, UTF8_INVISIBLE},  {0x2063, UTF8_INVISIBLE},
        {0x2064, UTF8_INVISIBLE},  {0x206a, UTF8_INVISIBLE},  {0x206f, UTF8_INVISIBLE},
        {0x3164, UTF8_INVISIBLE},  {0xfeff, UTF8_INVISIBLE},  {0xffa0, UTF8_INVISIBLE},
        {0xfff9, UTF8_INVISIBLE},  {0xfffb, UTF8_INVISIBLE},  {0xe0001, UTF8_INVISIBLE},
        {0xe0020, UTF8_INVISIBLE}, {0xe007f, UTF8_INVISIBLE},
    };
    for (size_t i = 0; i < ARRAY_SIZE(hidden); i++) {
        uint32_t c = hidden[i].cp;
        char s[16];
        size_t n = 0;
        s[n++] = 'a';
        if (c < 0x80) {
            s[n++] = (char)c;
        } else if (c < 0x800) {
            s[n++] = (char)(0xc0 | (c >> 6));
            s[n++] = (char)(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
            s[n++] = (char)(0xe0 | (c >> 12));
            s[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
            s[n++] = (char)(0x80 | (c & 0x3f));
        } else {
            s[n++] = (char)(0xf0 | (c >> 18));
            s[n++] = (char)(0x80 | ((c >> 12) & 0x3f));
            s[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
            s[n++] = (char)(0x80 | (c & 0x3f));
        }
        memcpy(s + n, "\xe4\xbd\xa0", 3); /* 你 after it */
        n += 3;
        assert_true(utf8_valid(s, n));
        if (utf8_find_hidden(s, n, hidden[i].kind) != (int32_t)c)
            fail_msg("U+%04X not found as its kind", (unsigned)c);
        if (utf8_find_hidden(s, n, UTF8_IDENT) != (int32_t)c)
            fail_msg("U+%04X not found in an identifier", (unsigned)c);
        unsigned others = UTF8_IDENT & ~hidden[i].kind;
        if (utf8_find_hidden(s, n, others) != -1)
            fail_msg("U+%04X found in another kind", (unsigned)c);
    }
    /* Display names keep the zero-width joiner of an emoji and the RTL marks of Arabic. */
    const char *family = "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9"; /* 👨‍👩 */
    assert_int_equal(utf8_find_hidden(family, strlen(family), UTF8_NAME), -1);
    assert_int_equal(utf8_find_hidden(family, strlen(family), UTF8_IDENT), 0x200d);
    /* Visible text of several scripts, the neighbours of the ranges, and the empty string. */
    const char *clean[] = {
        "",
        "vip",
        "退款",
        "Señal",
        "\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a",                 /* عربي */
        "\xd7\xa2\xd7\x91\xd7\xa8\xd7\x99\xd7\xaa",         /* עברית */
        "\xc2\xa0\xc2\xa9\xc2\xae",                         /* U+00A0 U+00A9 U+00AE */
        "\xe2\x80\x8a\xe2\x80\x90\xe2\x80\xa7\xe2\x80\xaf", /* 200A 2010 2027 202F */
        "\xe2\x81\xa5\xe2\x81\xb0",                         /* U+2065 U+2070 */
        "\xef\xbb\xbe\xef\xbf\xbc",                         /* U+FEFE U+FFFC */
        "\xf3\xa0\x82\x80",                                 /* U+E0080 */
        "x\xf0\x9f\x98\x80"};
    for (size_t i = 0; i < ARRAY_SIZE(clean); i++) {
        int32_t c = utf8_find_hidden(clean[i], strlen(clean[i]), UTF8_IDENT);
        if (c != -1)
            fail_msg("clean text %zu: found U+%04X", i, (unsigned)c);
    }
    /* The first one is reported; n bounds the search. */
    const char *two = "a\xe2\x80\x8b"
                      "b\xe2\x80\xae";
    assert_int_equal(utf8_find_hidden(two, strlen(two), UTF8_IDENT), 0x200b);
    assert_int_equal(utf8_find_hidden(two, strlen(two), UTF8_BIDI), 0x202e);
    assert_int_equal(utf8_find_hidden(two, 1, UTF8_IDENT), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_span_eq),
        cmocka_unit_test(test_span_case_eq),
        cmocka_unit_test(test_span_starts_with),
        cmocka_unit_test(test_span_to_i64_valid),
        cmocka_unit_test(test_span_to_i64_invalid),
        cmocka_unit_test(test_span_split),
        cmocka_unit_test(test_span_trim),
        cmocka_unit_test(test_url_decode_good),
        cmocka_unit_test(test_url_decode_plus),
        cmocka_unit_test(test_url_decode_bad),
        cmocka_unit_test(test_hex_encode),
        cmocka_unit_test(test_utf8_valid_good),
        cmocka_unit_test(test_utf8_valid_bad),
        cmocka_unit_test(test_utf8_chars),
        cmocka_unit_test(test_span_null_with_empty_needle),
        cmocka_unit_test(test_utf8_find_hidden),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
