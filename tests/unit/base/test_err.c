/* test_err.c: the error table's lookups (base/err.c). */
#include "base/sys.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

static void test_known_codes(void **state)
{
    (void)state;
    assert_string_equal(err_name(ERR_INVAL), "bad_request");
    assert_int_equal(err_http_status(ERR_INVAL), 400);
    assert_string_equal(err_name(ERR_NOTFOUND), "not_found");
    assert_int_equal(err_http_status(ERR_NOTFOUND), 404);
    assert_string_equal(err_str(ERR_NOTFOUND), "Nothing was found at this address.");
    assert_string_equal(err_name(ERR_METHOD), "method_not_allowed");
    assert_int_equal(err_http_status(ERR_METHOD), 405);
    assert_string_equal(err_name(ERR_CONFLICT), "conflict");
    assert_int_equal(err_http_status(ERR_CONFLICT), 409);
    assert_string_equal(err_name(ERR_EMAIL_TAKEN), "email_taken");
    assert_int_equal(err_http_status(ERR_EMAIL_TAKEN), 409);
    assert_string_equal(err_name(ERR_TOOBIG), "payload_too_large");
    assert_int_equal(err_http_status(ERR_TOOBIG), 413);
    assert_string_equal(err_name(ERR_VALIDATION), "validation_failed");
    assert_int_equal(err_http_status(ERR_VALIDATION), 422);
    assert_string_equal(err_name(ERR_RATE), "rate_limited");
    assert_int_equal(err_http_status(ERR_RATE), 429);
    assert_string_equal(err_name(ERR_BUSY), "busy");
    assert_int_equal(err_http_status(ERR_BUSY), 503);
    assert_string_equal(err_name(ERR_STORE), "store_error");
    assert_int_equal(err_http_status(ERR_STORE), 500);
    assert_string_equal(err_name(ERR_UNAUTHORIZED), "unauthorized");
    assert_int_equal(err_http_status(ERR_UNAUTHORIZED), 401);
    /* The first and the last entries of the table (off-by-one at either end). */
    assert_string_equal(err_name(ERR__FIRST + 1), "bad_request");
    assert_string_equal(err_name(ERR__LAST - 1), "io_error");
    assert_string_equal(err_name(ERR_IO), "io_error");
    assert_int_equal(err_http_status(ERR_IO), 500);
    assert_string_equal(err_str(ERR_IO), "An I/O operation failed.");
}

static void test_every_code_has_an_entry(void **state)
{
    (void)state;
    for (int e = ERR__FIRST + 1; e < ERR__LAST; e++) {
        assert_true(e < 0);
        const char *name = err_name(e), *msg = err_str(e);
        int status = err_http_status(e);
        assert_non_null(name);
        assert_non_null(msg);
        assert_true(name[0] != '\0');
        assert_true(msg[0] != '\0');
        assert_true(status >= 400 && status <= 599);
        /* Wire codes are unique. */
        for (int k = ERR__FIRST + 1; k < e; k++)
            if (strcmp(err_name(k), name) == 0)
                fail_msg("codes %d and %d share the wire code %s", k, e, name);
    }
}

static void test_out_of_range_falls_back(void **state)
{
    (void)state;
    static const int odd[] = {0,  1,     200,     ERR__FIRST, ERR__LAST, ERR__LAST + 5,
                              -1, -1001, INT_MIN, INT_MAX};
    for (size_t i = 0; i < ARRAY_SIZE(odd); i++) {
        int e = odd[i];
        if (e > ERR__FIRST && e < ERR__LAST)
            continue; /* a real code: not out of range */
        assert_string_equal(err_name(e), "internal");
        assert_int_equal(err_http_status(e), 500);
        assert_string_equal(err_str(e), err_str(ERR_INTERNAL));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_codes),
        cmocka_unit_test(test_every_code_has_an_entry),
        cmocka_unit_test(test_out_of_range_falls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
