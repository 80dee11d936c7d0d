/* test_http_range.c: Range header parsing against a representation's size (net/http.c,
 * http_range_parse; RFC 9110 14.1-14.2). */
#include "base/sys.h"
#include "net/http.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

static void expect_ok(const char *v, uint64_t size, uint64_t off, uint64_t len)
{
    uint64_t o = 99, l = 99;
    if (http_range_parse(span_of(v), size, &o, &l) != HTTP_RANGE_OK)
        fail_msg("'%s' of %" PRIu64 ": not a satisfiable range", v, size);
    if (o != off || l != len)
        fail_msg("'%s' of %" PRIu64 ": [%" PRIu64 ", +%" PRIu64 "), want [%" PRIu64 ", +%" PRIu64
                 ")",
                 v, size, o, l, off, len);
}

static void expect(const char *v, uint64_t size, enum http_range want)
{
    uint64_t o = 0, l = 0;
    enum http_range got = http_range_parse(span_of(v), size, &o, &l);
    if (got != want)
        fail_msg("'%s' of %" PRIu64 ": %d, want %d", v, size, (int)got, (int)want);
}

static void test_one_range(void **state)
{
    (void)state;
    expect_ok("bytes=0-99", 1000, 0, 100);
    expect_ok("bytes=0-0", 1000, 0, 1);
    expect_ok("bytes=999-999", 1000, 999, 1);
    expect_ok("bytes=100-", 1000, 100, 900);
    expect_ok("bytes=0-", 1000, 0, 1000);
    expect_ok("bytes=-1", 1000, 999, 1);
    expect_ok("bytes=-500", 1000, 500, 500);
    expect_ok("Bytes=5-9", 1000, 5, 5); /* the unit is case-insensitive */
    expect_ok("  bytes=5-9  ", 1000, 5, 5);
}

static void test_clamped(void **state)
{
    (void)state;
    expect_ok("bytes=990-5000", 1000, 990, 10);              /* last-pos past the end */
    expect_ok("bytes=-5000", 1000, 0, 1000);                 /* a suffix longer than the file */
    expect_ok("bytes=0-99999999999999999999999", 10, 0, 10); /* saturates, no overflow */
    expect_ok("bytes=-99999999999999999999999", 10, 0, 10);
}

static void test_unsatisfiable(void **state)
{
    (void)state;
    expect("bytes=1000-", 1000, HTTP_RANGE_UNSATISFIABLE);
    expect("bytes=1000-2000", 1000, HTTP_RANGE_UNSATISFIABLE);
    expect("bytes=99999999999999999999999-", 1000, HTTP_RANGE_UNSATISFIABLE);
    expect("bytes=-0", 1000, HTTP_RANGE_UNSATISFIABLE);
    expect("bytes=0-", 0, HTTP_RANGE_UNSATISFIABLE); /* nothing to give of an empty file */
    expect("bytes=-5", 0, HTTP_RANGE_UNSATISFIABLE);
}

static void test_ignored(void **state)
{
    (void)state;
    /* Not one valid byte range: the whole representation is the answer. */
    static const char *none[] = {
        "",           "bytes",      "bytes=",        "bytes=-",        "bytes=abc", "bytes=1-x",
        "bytes=x-1",  "bytes=9-2",  "bytes=0-1,5-9", "bytes=0-1, 3-4", "items=0-1", "bytes 0-1",
        "bytes=+1-2", "bytes=1--2", "bytes=0x10-20", "bytes=1 -2",
    };
    for (size_t i = 0; i < ARRAY_SIZE(none); i++)
        expect(none[i], 1000, HTTP_RANGE_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_range),
        cmocka_unit_test(test_clamped),
        cmocka_unit_test(test_unsatisfiable),
        cmocka_unit_test(test_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
