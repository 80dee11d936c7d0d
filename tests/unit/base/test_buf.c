/* test_buf.c: capped growable buffers (base/buf.c). */
#include "base/sys.h"
#include "base/buf.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

static void assert_terminated(const struct buf *b)
{
    assert_non_null(b->p);
    assert_int_equal(b->p[b->len], '\0');
    assert_true(b->len < b->cap);
    assert_true(b->len <= b->max);
}

static void test_append_and_printf(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(b.len, 0);
    assert_int_equal(buf_append(&b, "hello", 5), 0);
    assert_terminated(&b);
    assert_int_equal(buf_putc(&b, ','), 0);
    assert_int_equal(buf_append_str(&b, " world"), 0);
    assert_int_equal(buf_printf(&b, " %d-%s-%05.1f", 42, "x", 3.14159), 0);
    assert_terminated(&b);
    assert_int_equal(b.len, strlen("hello, world 42-x-003.1"));
    assert_string_equal(b.p, "hello, world 42-x-003.1");
    assert_true(span_eq_cstr(buf_span(&b), "hello, world 42-x-003.1"));
    /* Binary bytes, including NUL, are kept as they are. */
    assert_int_equal(buf_append(&b, "\0z", 2), 0);
    assert_int_equal(b.len, strlen("hello, world 42-x-003.1") + 2);
    assert_memory_equal(b.p + b.len - 2, "\0z", 2);
    assert_terminated(&b);
    /* An empty append is fine and changes nothing. */
    size_t len = b.len;
    assert_int_equal(buf_append(&b, "", 0), 0);
    assert_int_equal(b.len, len);
    buf_release(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
}

static void test_growth_keeps_content(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(buf_printf(&b, "%d,", i % 10), 0);
    assert_int_equal(b.len, 20000);
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(b.p[2 * i], '0' + i % 10);
        assert_int_equal(b.p[2 * i + 1], ',');
    }
    assert_terminated(&b);
    buf_release(&b);
}

static void test_empty_printf_and_reset(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 16);
    assert_int_equal(buf_printf(&b, "%s", ""), 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(buf_append_str(&b, "abc"), 0);
    char *p = b.p;
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.p, p); /* memory kept */
    assert_string_equal(b.p, "");
    assert_int_equal(buf_append_str(&b, "xy"), 0);
    assert_string_equal(b.p, "xy");
    buf_release(&b);
    /* Reset on a never-used buf is harmless. */
    buf_init(&b, 16);
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    buf_release(&b);
}

static void test_cap(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_append_str(&b, "12345"), 0);
    /* Over the cap: refused, content unchanged. */
    assert_int_equal(buf_append_str(&b, "678901"), ERR_TOOBIG);
    assert_int_equal(b.len, 5);
    assert_string_equal(b.p, "12345");
    assert_int_equal(buf_printf(&b, "%s", "abcdef"), ERR_TOOBIG);
    assert_int_equal(b.len, 5);
    assert_string_equal(b.p, "12345");
    /* Exactly up to the cap is allowed. */
    assert_int_equal(buf_append_str(&b, "67890"), 0);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.p, "1234567890");
    assert_terminated(&b);
    /* Full: one more byte is refused, an empty append is not. */
    assert_int_equal(buf_putc(&b, 'x'), ERR_TOOBIG);
    assert_int_equal(buf_append(&b, "", 0), 0);
    assert_int_equal(buf_printf(&b, "%d", 1), ERR_TOOBIG);
    assert_string_equal(b.p, "1234567890");
    assert_int_equal(b.len, 10);
    /* After consuming, there is room again. */
    buf_consume(&b, 4);
    assert_string_equal(b.p, "567890");
    assert_int_equal(buf_printf(&b, "%s", "abcd"), 0);
    assert_string_equal(b.p, "567890abcd");
    assert_terminated(&b);
    buf_release(&b);

    /* A first append that is itself larger than the cap. */
    buf_init(&b, 3);
    assert_int_equal(buf_append_str(&b, "abcd"), ERR_TOOBIG);
    assert_int_equal(b.len, 0);
    assert_int_equal(buf_printf(&b, "%d", 1234), ERR_TOOBIG);
    assert_int_equal(b.len, 0);
    assert_int_equal(buf_printf(&b, "%d", 123), 0);
    assert_string_equal(b.p, "123");
    buf_release(&b);

    /* A huge n must not wrap around the cap check. */
    buf_init(&b, 100);
    assert_int_equal(buf_append_str(&b, "a"), 0);
    assert_int_equal(buf_append(&b, "x", SIZE_MAX), ERR_TOOBIG);
    assert_int_equal(buf_append(&b, "x", SIZE_MAX - 1), ERR_TOOBIG);
    assert_string_equal(b.p, "a");
    buf_release(&b);
}

static void test_take(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 100);
    assert_int_equal(buf_append_str(&b, "owned"), 0);
    size_t len = 0;
    char *p = buf_take(&b, &len);
    assert_int_equal(len, 5);
    assert_string_equal(p, "owned");
    /* The buf is empty and usable afterwards, with its cap. */
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 100);
    assert_int_equal(buf_append_str(&b, "again"), 0);
    assert_string_equal(b.p, "again");
    assert_true(b.p != p);
    free(p);
    buf_release(&b);

    /* Taking from a never-used buf gives an empty, NUL-terminated string the caller frees. */
    buf_init(&b, 100);
    p = buf_take(&b, &len);
    assert_non_null(p);
    assert_int_equal(len, 0);
    assert_string_equal(p, "");
    free(p);
    /* len may be NULL. */
    assert_int_equal(buf_append_str(&b, "x"), 0);
    p = buf_take(&b, NULL);
    assert_string_equal(p, "x");
    free(p);
    buf_release(&b);
}

static void test_consume(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 100);
    assert_int_equal(buf_append_str(&b, "abcdef"), 0);
    buf_consume(&b, 0);
    assert_string_equal(b.p, "abcdef");
    buf_consume(&b, 2);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.p, "cdef");
    assert_terminated(&b);
    buf_consume(&b, 4);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    assert_int_equal(buf_append_str(&b, "xyz"), 0);
    buf_consume(&b, 1000); /* more than len: empties */
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    buf_release(&b);
    /* On an unused buf. */
    buf_init(&b, 10);
    buf_consume(&b, 3);
    assert_int_equal(b.len, 0);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_printf),
        cmocka_unit_test(test_growth_keeps_content),
        cmocka_unit_test(test_empty_printf_and_reset),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_take),
        cmocka_unit_test(test_consume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
