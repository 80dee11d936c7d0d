/* test_arena.c: the bump allocator requests use (base/arena.c). */
#include "base/sys.h"
#include "base/arena.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

static void test_alignment(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    static const size_t sizes[] = {1,   3,    7,    8,    15,   16,   17, 31, 33,
                                   100, 1000, 2040, 2041, 3000, 5000, 1,  2};
    for (int round = 0; round < 50; round++)
        for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
            unsigned char *p = arena_alloc(&a, sizes[i]);
            assert_non_null(p);
            if (((uintptr_t)p & 15) != 0)
                fail_msg("arena_alloc(%zu) returned %p, not 16-byte aligned", sizes[i], (void *)p);
            memset(p, 0xA5, sizes[i]); /* writable in full: ASan catches overruns */
        }
    arena_release(&a);
}

static void test_no_overlap(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    enum { N = 2000 };
    static unsigned char *ptrs[N];
    static size_t lens[N];
    for (int i = 0; i < N; i++) {
        lens[i] = (size_t)(1 + (i * 37) % 300);
        if (i % 250 == 0)
            lens[i] = 6000 + (size_t)i; /* a big one now and then */
        ptrs[i] = arena_alloc(&a, lens[i]);
        memset(ptrs[i], i & 0xff, lens[i]);
    }
    /* Every block still holds its own pattern: nothing overlapped or was reused. */
    for (int i = 0; i < N; i++)
        for (size_t k = 0; k < lens[i]; k++)
            if (ptrs[i][k] != (unsigned char)(i & 0xff))
                fail_msg("block %d byte %zu was overwritten", i, k);
    arena_release(&a);
}

static void test_large(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    char *small1 = arena_strndup(&a, "before", 6);
    /* Larger than a chunk. */
    size_t big = 1 << 20;
    unsigned char *p = arena_alloc(&a, big);
    assert_non_null(p);
    assert_true(((uintptr_t)p & 15) == 0);
    memset(p, 0x5A, big);
    assert_true(a.total >= big);
    /* The current chunk stays usable after a big block: small allocations keep coming from it. */
    char *small2 = arena_strndup(&a, "after", 5);
    assert_string_equal(small1, "before");
    assert_string_equal(small2, "after");
    assert_true(p[0] == 0x5A && p[big - 1] == 0x5A);
    /* A big first allocation. */
    struct arena b;
    arena_init(&b);
    unsigned char *q = arena_alloc(&b, 100000);
    memset(q, 1, 100000);
    char *s = arena_strndup(&b, "x", 1);
    assert_string_equal(s, "x");
    assert_true(q[99999] == 1);
    arena_release(&b);
    arena_release(&a);
}

static void test_arena_calloc(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    /* Dirty the chunk first (ASan also fills fresh malloc memory with 0xbe): calloc must still
     * zero. */
    for (int i = 0; i < 10; i++)
        memset(arena_alloc(&a, 300), 0xff, 300);
    unsigned char *z = arena_calloc(&a, 333);
    for (int i = 0; i < 333; i++)
        assert_int_equal(z[i], 0);
    unsigned char *zb = arena_calloc(&a, 10000);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(zb[i], 0);
    arena_release(&a);
}

static void test_strndup_printf(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    char *s = arena_strndup(&a, "hello world", 5);
    assert_string_equal(s, "hello");
    char *e = arena_strndup(&a, "", 0);
    assert_string_equal(e, "");
    char *z = arena_strndup(&a, NULL, 0);
    assert_string_equal(z, "");
    char *f = arena_printf(&a, "%s=%d;%05.2f", "k", -12, 1.5);
    assert_string_equal(f, "k=-12;01.50");
    char *empty = arena_printf(&a, "%s", "");
    assert_string_equal(empty, "");
    /* A long formatted string (bigger than a chunk). */
    char *longs = arena_printf(&a, "%08000d|", 7);
    assert_int_equal(strlen(longs), 8001);
    assert_int_equal(longs[7999], '7');
    assert_int_equal(longs[8000], '|');
    assert_int_equal(longs[0], '0');
    /* Earlier results are intact. */
    assert_string_equal(s, "hello");
    assert_string_equal(f, "k=-12;01.50");
    arena_release(&a);
}

static void test_release_and_reuse(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    for (int i = 0; i < 100; i++)
        arena_alloc(&a, 500);
    arena_alloc(&a, 50000);
    assert_true(a.total >= 100 * 500 + 50000);
    arena_release(&a);
    /* All chunks are freed (ASan's leak check would tell) and the arena is reset. */
    assert_null(a.head);
    assert_int_equal(a.total, 0);
    assert_int_equal(a.used, 0);
    /* It can be used again. */
    char *s = arena_printf(&a, "%d", 42);
    assert_string_equal(s, "42");
    assert_true(a.total > 0);
    arena_release(&a);
    /* Releasing an unused arena is fine, twice. */
    arena_release(&a);
    arena_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment),      cmocka_unit_test(test_no_overlap),
        cmocka_unit_test(test_large),          cmocka_unit_test(test_arena_calloc),
        cmocka_unit_test(test_strndup_printf), cmocka_unit_test(test_release_and_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
