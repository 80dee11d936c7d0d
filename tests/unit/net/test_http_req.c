/* test_http_req.c: request lookups on a hand-built request: headers, query, cookies (net/http.c).
 */
#include "base/sys.h"
#include "net/http.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

static int setup(void **state)
{
    struct http_req *r = xcalloc(1, sizeof(*r));
    arena_init(&r->arena);
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    struct http_req *r = *state;
    arena_release(&r->arena);
    free(r);
    return 0;
}

static void add_header(struct http_req *r, const char *name, const char *value)
{
    assert_true(r->nheaders < HTTP_MAX_HEADERS);
    r->headers[r->nheaders].name = span_of(name);
    r->headers[r->nheaders].value = span_of(value);
    r->nheaders++;
}

static void test_query_basic(void **state)
{
    struct http_req *r = *state;
    r->query = SPAN_LIT("a=1&b=2&empty=&flag&q=hello+world&enc=%E4%BD%A0%20x%2B&last=z");
    const char *v;
    assert_non_null(v = http_query(r, "a"));
    assert_string_equal(v, "1");
    assert_non_null(v = http_query(r, "b"));
    assert_string_equal(v, "2");
    assert_non_null(v = http_query(r, "empty"));
    assert_string_equal(v, "");
    assert_non_null(v = http_query(r, "q"));
    assert_string_equal(v, "hello world"); /* '+' is a space in a query */
    assert_non_null(v = http_query(r, "enc"));
    assert_string_equal(v, "\xE4\xBD\xA0 x+");
    assert_non_null(v = http_query(r, "last"));
    assert_string_equal(v, "z");
    /* Missing keys, prefixes and extensions of keys. */
    assert_null(http_query(r, "c"));
    assert_null(http_query(r, "la"));
    assert_null(http_query(r, "lastx"));
    assert_null(http_query(r, "A")); /* case-sensitive */
    assert_null(http_query(r, "1"));
}

static void test_query_edges(void **state)
{
    struct http_req *r = *state;
    /* No query at all. */
    r->query = SPAN_NULL;
    assert_null(http_query(r, "a"));
    r->query = SPAN_LIT("");
    assert_null(http_query(r, "a"));
    /* Repeated key: the first one. */
    r->query = SPAN_LIT("id=1&id=2");
    assert_string_equal(http_query(r, "id"), "1");
    /* Empty pairs are skipped. */
    r->query = SPAN_LIT("&&x=5&");
    assert_string_equal(http_query(r, "x"), "5");
    /* '=' inside the value. */
    r->query = SPAN_LIT("token=ab=cd");
    assert_string_equal(http_query(r, "token"), "ab=cd");
    /* The query is a span: bytes past len are not part of it. */
    const char *raw = "page=2&size=50";
    r->query = (struct span){raw, 6};
    assert_string_equal(http_query(r, "page"), "2");
    assert_null(http_query(r, "size"));
}

static void test_query_bad_escape(void **state)
{
    struct http_req *r = *state;
    r->query = SPAN_LIT("a=%zz&b=%4&c=%00&d=ok&e=x%");
    assert_null(http_query(r, "a"));
    assert_null(http_query(r, "b"));
    assert_null(http_query(r, "c"));
    assert_null(http_query(r, "e"));
    assert_string_equal(http_query(r, "d"), "ok");
}

static void test_header_case_insensitive(void **state)
{
    struct http_req *r = *state;
    add_header(r, "Host", "example.com");
    add_header(r, "content-type", "application/json");
    add_header(r, "X-Request-ID", "abc");
    add_header(r, "Accept", "a");
    add_header(r, "accept", "b");
    struct span v = http_header(r, "Content-Type");
    assert_true(span_eq_cstr(v, "application/json"));
    assert_true(span_eq_cstr(http_header(r, "CONTENT-TYPE"), "application/json"));
    assert_true(span_eq_cstr(http_header(r, "host"), "example.com"));
    assert_true(span_eq_cstr(http_header(r, "x-request-id"), "abc"));
    /* The first of repeated headers. */
    assert_true(span_eq_cstr(http_header(r, "ACCEPT"), "a"));
    /* Missing, and names that are prefixes or extensions of present ones. */
    v = http_header(r, "Authorization");
    assert_null(v.p);
    assert_int_equal(v.len, 0);
    assert_null(http_header(r, "Hos").p);
    assert_null(http_header(r, "Hosts").p);
    assert_null(http_header(r, "Content").p);
}

static void test_header_names_are_spans(void **state)
{
    struct http_req *r = *state;
    /* Header names as the parser leaves them: spans into one buffer, not NUL-terminated. */
    static const char raw[] = "Content-LengthCookieX";
    r->headers[0].name = (struct span){raw, 14};
    r->headers[0].value = SPAN_LIT("12");
    r->headers[1].name = (struct span){raw + 14, 6};
    r->headers[1].value = SPAN_LIT("a=1");
    r->nheaders = 2;
    assert_true(span_eq_cstr(http_header(r, "content-length"), "12"));
    assert_true(span_eq_cstr(http_header(r, "cookie"), "a=1"));
    assert_null(http_header(r, "Content-LengthC").p);
    assert_true(span_eq_cstr(http_cookie(r, "a"), "1"));
}

static void test_cookie(void **state)
{
    struct http_req *r = *state;
    add_header(r, "Host", "x");
    add_header(r, "Cookie", "theme=dark;  parley_session=tok123 ; lang = zh-CN;empty=;flag");
    add_header(r, "cookie", "second=2");
    struct span v = http_cookie(r, "parley_session");
    assert_true(span_eq_cstr(v, "tok123"));
    assert_true(span_eq_cstr(http_cookie(r, "theme"), "dark"));
    assert_true(span_eq_cstr(http_cookie(r, "lang"), "zh-CN"));
    /* Present but empty: a non-NULL empty span. */
    v = http_cookie(r, "empty");
    assert_int_equal(v.len, 0);
    /* A second Cookie header (lower-case name) is searched too. */
    assert_true(span_eq_cstr(http_cookie(r, "second"), "2"));
    /* Missing cookies, prefixes and case. */
    v = http_cookie(r, "missing");
    assert_null(v.p);
    assert_int_equal(v.len, 0);
    assert_null(http_cookie(r, "parley").p);
    assert_null(http_cookie(r, "parley_session_x").p);
    assert_null(http_cookie(r, "Theme").p);
    /* The value of one cookie is never taken from another header. */
    assert_null(http_cookie(r, "Host").p);
}

static void test_cookie_value_with_equals(void **state)
{
    struct http_req *r = *state;
    add_header(r, "Cookie", "a=b=c; d=\"quoted\"");
    assert_true(span_eq_cstr(http_cookie(r, "a"), "b=c"));
    assert_true(span_eq_cstr(http_cookie(r, "d"), "\"quoted\""));
}

static void test_no_headers(void **state)
{
    struct http_req *r = *state;
    assert_null(http_header(r, "Cookie").p);
    assert_null(http_cookie(r, "a").p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_query_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_bad_escape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_case_insensitive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_names_are_spans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cookie, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cookie_value_with_equals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_headers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
