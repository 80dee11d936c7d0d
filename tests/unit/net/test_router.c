/* test_router.c: method + pattern routing, 404 vs 405, captures (net/router.c). */
#include "base/sys.h"
#include "net/router.h"
#include "net/http.h"

#include <http_parser.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

/* Handlers are only compared by address. */
static void h_me(struct http_req *r)
{
    (void)r;
}
static void h_users_list(struct http_req *r)
{
    (void)r;
}
static void h_users_create(struct http_req *r)
{
    (void)r;
}
static void h_user_get(struct http_req *r)
{
    (void)r;
}
static void h_user_del(struct http_req *r)
{
    (void)r;
}
static void h_user_patch(struct http_req *r)
{
    (void)r;
}
static void h_users_self(struct http_req *r)
{
    (void)r;
}
static void h_root(struct http_req *r)
{
    (void)r;
}
static void h_deep(struct http_req *r)
{
    (void)r;
}
static void h_login(struct http_req *r)
{
    (void)r;
}

struct fixture {
    struct router rt;
    struct http_req *r;
    char allow[128];
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    router_init(&f->rt);
    router_add(&f->rt, HTTP_GET, "/api/v1/me", h_me, 1);
    router_add(&f->rt, HTTP_GET, "/api/v1/accounts/{aid}/users", h_users_list, 2);
    router_add(&f->rt, HTTP_POST, "/api/v1/accounts/{aid}/users", h_users_create, 3);
    router_add(&f->rt, HTTP_GET, "/api/v1/users/me", h_users_self, 0);
    router_add(&f->rt, HTTP_GET, "/api/v1/accounts/{aid}/users/{uid}", h_user_get, 0);
    router_add(&f->rt, HTTP_DELETE, "/api/v1/accounts/{aid}/users/{uid}", h_user_del, 0);
    router_add(&f->rt, HTTP_PATCH, "/api/v1/accounts/{aid}/users/{uid}", h_user_patch, 0);
    router_add(&f->rt, HTTP_POST, "/api/v1/auth/login", h_login, 0);
    router_add(&f->rt, HTTP_GET, "/", h_root, 0);
    /* 12 segments, the most a pattern may have. */
    router_add(&f->rt, HTTP_GET, "/a/b/c/d/e/f/g/h/i/j/k/{last}", h_deep, 0);
    f->r = xcalloc(1, sizeof(*f->r));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    router_release(&f->rt);
    free(f->r);
    free(f);
    return 0;
}

static enum router_result match(struct fixture *f, int method, const char *path)
{
    struct http_req *r = f->r;
    r->method = method;
    r->path = span_of(path);
    r->route = NULL;
    memset(f->allow, 'Z', sizeof(f->allow) - 1);
    f->allow[sizeof(f->allow) - 1] = '\0';
    return router_match(&f->rt, r, f->allow, sizeof(f->allow));
}

static void assert_param(const struct http_req *r, const char *name, const char *want)
{
    struct span v = http_param(r, name);
    if (!span_eq_cstr(v, want))
        fail_msg("param %s is '%.*s', expected '%s'", name, (int)v.len, v.p ? v.p : "", want);
}

static void test_found_with_captures(void **state)
{
    struct fixture *f = *state;
    struct http_req *r = f->r;
    assert_int_equal(match(f, HTTP_GET, "/api/v1/me"), ROUTER_FOUND);
    assert_non_null(r->route);
    assert_ptr_equal(r->route->fn, h_me);
    assert_int_equal(r->route->flags, 1);
    assert_int_equal(r->nparams, 0);

    assert_int_equal(match(f, HTTP_GET, "/api/v1/accounts/42/users"), ROUTER_FOUND);
    assert_ptr_equal(r->route->fn, h_users_list);
    assert_string_equal(r->route->pattern, "/api/v1/accounts/{aid}/users");
    assert_int_equal(r->nparams, 1);
    assert_param(r, "aid", "42");

    assert_int_equal(match(f, HTTP_POST, "/api/v1/accounts/7/users"), ROUTER_FOUND);
    assert_ptr_equal(r->route->fn, h_users_create);
    assert_int_equal(r->route->flags, 3);
    assert_param(r, "aid", "7");

    assert_int_equal(match(f, HTTP_DELETE, "/api/v1/accounts/42/users/abc-9"), ROUTER_FOUND);
    assert_ptr_equal(r->route->fn, h_user_del);
    assert_int_equal(r->nparams, 2);
    assert_param(r, "aid", "42");
    assert_param(r, "uid", "abc-9");
    /* Absent names give SPAN_NULL. */
    struct span none = http_param(r, "nope");
    assert_null(none.p);
    assert_int_equal(none.len, 0);
    assert_int_equal(http_param(r, "ai").len, 0);
    assert_int_equal(http_param(r, "aidx").len, 0);

    /* Params from an earlier match do not linger. */
    assert_int_equal(match(f, HTTP_GET, "/api/v1/me"), ROUTER_FOUND);
    assert_int_equal(r->nparams, 0);
    assert_int_equal(http_param(r, "aid").len, 0);

    /* A literal registered before a capture at the same place wins. */
    assert_int_equal(match(f, HTTP_GET, "/api/v1/users/me"), ROUTER_FOUND);
    assert_ptr_equal(r->route->fn, h_users_self);

    /* The root. */
    assert_int_equal(match(f, HTTP_GET, "/"), ROUTER_FOUND);
    assert_ptr_equal(r->route->fn, h_root);
}

static void test_not_found(void **state)
{
    struct fixture *f = *state;
    static const char *paths[] = {
        "/api/v1/nothing",
        "/api/v1",
        "/api/v1/me/more",
        "/api/v1/accounts/42",
        "/api/v1/accounts/42/users/7/extra",
        "/API/v1/me",              /* case matters */
        "/api/v1/accounts//users", /* an empty capture does not match */
        "/api/v1/accounts/42/user",
        "/api/v1/mex",
        "//api/v1/me",
    };
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
        enum router_result res = match(f, HTTP_GET, paths[i]);
        if (res != ROUTER_NOTFOUND)
            fail_msg("GET %s: result %d, expected not found", paths[i], res);
    }
    /* Unknown paths are 404 whatever the method. */
    assert_int_equal(match(f, HTTP_POST, "/api/v1/nothing"), ROUTER_NOTFOUND);
    assert_int_equal(match(f, HTTP_DELETE, "/nowhere"), ROUTER_NOTFOUND);
}

static void test_method_not_allowed(void **state)
{
    struct fixture *f = *state;
    struct http_req *r = f->r;
    assert_int_equal(match(f, HTTP_PUT, "/api/v1/accounts/42/users/7"), ROUTER_BADMETHOD);
    assert_string_equal(f->allow, "GET, DELETE, PATCH");
    assert_null(r->route);

    assert_int_equal(match(f, HTTP_DELETE, "/api/v1/accounts/42/users"), ROUTER_BADMETHOD);
    assert_string_equal(f->allow, "GET, POST");

    assert_int_equal(match(f, HTTP_GET, "/api/v1/auth/login"), ROUTER_BADMETHOD);
    assert_string_equal(f->allow, "POST");

    assert_int_equal(match(f, HTTP_POST, "/api/v1/me"), ROUTER_BADMETHOD);
    assert_string_equal(f->allow, "GET");

    /* A 405 that becomes a match: the allow list from routes tried earlier does not matter. */
    assert_int_equal(match(f, HTTP_PATCH, "/api/v1/accounts/1/users/2"), ROUTER_FOUND);
    assert_ptr_equal(r->route->fn, h_user_patch);

    /* Trailing slash also on the 405 path. */
    assert_int_equal(match(f, HTTP_POST, "/api/v1/me/"), ROUTER_BADMETHOD);
    assert_string_equal(f->allow, "GET");
}

static void test_allow_truncation(void **state)
{
    struct fixture *f = *state;
    struct http_req *r = f->r;
    r->method = HTTP_PUT;
    r->path = SPAN_LIT("/api/v1/accounts/42/users/7");
    char buf[16];
    memset(buf, 'Z', sizeof(buf));
    /* Only 8 bytes offered: the list is cut, stays NUL-terminated, and nothing past 8 is touched.
     */
    assert_int_equal(router_match(&f->rt, r, buf, 8), ROUTER_BADMETHOD);
    assert_true(memchr(buf, '\0', 8) != NULL);
    for (size_t i = 8; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 'Z');
    assert_true(strncmp(buf, "GET", 3) == 0);
}

static void test_head_matches_get(void **state)
{
    struct fixture *f = *state;
    struct http_req *r = f->r;
    assert_int_equal(match(f, HTTP_HEAD, "/api/v1/me"), ROUTER_FOUND);
    assert_ptr_equal(r->route->fn, h_me);
    assert_int_equal(match(f, HTTP_HEAD, "/api/v1/accounts/5/users/6"), ROUTER_FOUND);
    assert_ptr_equal(r->route->fn, h_user_get);
    assert_param(r, "uid", "6");
    /* HEAD on a POST-only resource is a 405 listing POST. */
    assert_int_equal(match(f, HTTP_HEAD, "/api/v1/auth/login"), ROUTER_BADMETHOD);
    assert_string_equal(f->allow, "POST");
    /* HEAD is not a wildcard for other methods. */
    assert_int_equal(match(f, HTTP_HEAD, "/nowhere"), ROUTER_NOTFOUND);
}

static void test_trailing_slash(void **state)
{
    struct fixture *f = *state;
    struct http_req *r = f->r;
    assert_int_equal(match(f, HTTP_GET, "/api/v1/me/"), ROUTER_FOUND);
    assert_ptr_equal(r->route->fn, h_me);
    assert_int_equal(match(f, HTTP_GET, "/api/v1/accounts/42/users/"), ROUTER_FOUND);
    assert_ptr_equal(r->route->fn, h_users_list);
    assert_param(r, "aid", "42");
    assert_int_equal(match(f, HTTP_GET, "/api/v1/accounts/42/users/9/"), ROUTER_FOUND);
    assert_ptr_equal(r->route->fn, h_user_get);
    assert_param(r, "uid", "9");
}

static void test_segment_limit(void **state)
{
    struct fixture *f = *state;
    struct http_req *r = f->r;
    /* Exactly 12 segments. */
    assert_int_equal(match(f, HTTP_GET, "/a/b/c/d/e/f/g/h/i/j/k/zz"), ROUTER_FOUND);
    assert_ptr_equal(r->route->fn, h_deep);
    assert_param(r, "last", "zz");
    assert_int_equal(match(f, HTTP_GET, "/a/b/c/d/e/f/g/h/i/j/k/zz/"), ROUTER_FOUND);
    /* 13 and many more: not found, no overflow of the segment array. */
    assert_int_equal(match(f, HTTP_GET, "/a/b/c/d/e/f/g/h/i/j/k/zz/m"), ROUTER_NOTFOUND);
    char longp[4096];
    size_t o = 0;
    for (int i = 0; i < 1000; i++)
        o += (size_t)snprintf(longp + o, sizeof(longp) - o, "/x");
    assert_int_equal(match(f, HTTP_GET, longp), ROUTER_NOTFOUND);
    assert_int_equal(match(f, HTTP_GET, "////////////////////////////////"), ROUTER_NOTFOUND);
}

static void test_path_is_a_span(void **state)
{
    struct fixture *f = *state;
    struct http_req *r = f->r;
    /* The path is (ptr, len), not NUL-terminated: what follows len is not part of it. */
    const char *raw = "/api/v1/accounts/42/users?x=1";
    r->method = HTTP_GET;
    r->path = (struct span){raw, strlen("/api/v1/accounts/42/users")};
    assert_int_equal(router_match(&f->rt, r, f->allow, sizeof(f->allow)), ROUTER_FOUND);
    assert_ptr_equal(r->route->fn, h_users_list);
    r->path = (struct span){raw, strlen("/api/v1/accounts/4")};
    assert_int_equal(router_match(&f->rt, r, f->allow, sizeof(f->allow)), ROUTER_NOTFOUND);
}

static void test_empty_router(void **state)
{
    (void)state;
    struct router rt;
    router_init(&rt);
    struct http_req *r = xcalloc(1, sizeof(*r));
    char allow[32] = "";
    r->method = HTTP_GET;
    r->path = SPAN_LIT("/");
    assert_int_equal(router_match(&rt, r, allow, sizeof(allow)), ROUTER_NOTFOUND);
    /* Many routes: the table grows. */
    static char patterns[100][32];
    for (int i = 0; i < 100; i++) {
        snprintf(patterns[i], sizeof(patterns[i]), "/r%d/{id}", i);
        router_add(&rt, HTTP_GET, patterns[i], h_me, (unsigned)i);
    }
    r->path = SPAN_LIT("/r77/abc");
    assert_int_equal(router_match(&rt, r, allow, sizeof(allow)), ROUTER_FOUND);
    assert_int_equal(r->route->flags, 77);
    assert_param(r, "id", "abc");
    router_release(&rt);
    free(r);
}

/* router_match takes the size of `allow`; with allowlen 0 it must neither write to nor read the
 * buffer. (The buffer here is bigger than 0 so that a write past the size shows up as a changed
 * byte rather than an ASan abort of the whole run.) */
static void test_allow_len_zero(void **state)
{
    struct fixture *f = *state;
    struct http_req *r = f->r;
    r->method = HTTP_PUT;
    r->path = SPAN_LIT("/api/v1/accounts/42/users/7");
    char buf[64] = "XXXXXXX"; /* whatever the caller's buffer held */
    char before[64];
    memcpy(before, buf, sizeof(buf));
    assert_int_equal(router_match(&f->rt, r, buf, 0), ROUTER_BADMETHOD);
    if (memcmp(buf, before, sizeof(buf)) != 0)
        fail_msg("router_match(allowlen=0) wrote into the buffer: now \"%.63s\"", buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_found_with_captures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_method_not_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allow_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_matches_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trailing_slash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_is_a_span, setup, teardown),
        cmocka_unit_test(test_empty_router),
        cmocka_unit_test_setup_teardown(test_allow_len_zero, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
