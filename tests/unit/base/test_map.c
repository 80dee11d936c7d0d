/* test_map.c: open-addressing maps with u64 and string keys (base/map.c). */
#include "base/sys.h"
#include "base/map.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

/* Values are fake pointers derived from the key, so a value can be checked against its key. */
#define VAL(k) ((void *)(uintptr_t)((k)*2 + 1))

static void test_u64_basic(void **state)
{
    (void)state;
    struct map m;
    map_init(&m, false);
    assert_null(map_get(&m, 1)); /* empty map */
    assert_null(map_del(&m, 1));
    map_put(&m, 1, VAL(1));
    map_put(&m, 0, VAL(0)); /* 0 is an ordinary key */
    map_put(&m, UINT64_MAX, VAL(7));
    assert_int_equal(m.len, 3);
    assert_ptr_equal(map_get(&m, 1), VAL(1));
    assert_ptr_equal(map_get(&m, 0), VAL(0));
    assert_ptr_equal(map_get(&m, UINT64_MAX), VAL(7));
    assert_null(map_get(&m, 2));
    /* Replace keeps one entry. */
    map_put(&m, 1, VAL(100));
    assert_int_equal(m.len, 3);
    assert_ptr_equal(map_get(&m, 1), VAL(100));
    /* Delete returns the old value, once. */
    assert_ptr_equal(map_del(&m, 1), VAL(100));
    assert_int_equal(m.len, 2);
    assert_null(map_get(&m, 1));
    assert_null(map_del(&m, 1));
    assert_int_equal(m.len, 2);
    assert_ptr_equal(map_get(&m, 0), VAL(0));
    /* Put after delete works. */
    map_put(&m, 1, VAL(5));
    assert_ptr_equal(map_get(&m, 1), VAL(5));
    map_release(&m);
    assert_int_equal(m.len, 0);
    assert_null(map_get(&m, 0));
    /* Usable after release. */
    map_put(&m, 9, VAL(9));
    assert_ptr_equal(map_get(&m, 9), VAL(9));
    map_release(&m);
}

static void check_u64_half(struct map *m, uint64_t n, uint64_t stride)
{
    for (uint64_t i = 0; i < n; i++) {
        uint64_t k = i * stride;
        void *v = map_get(m, k);
        if (i % 2 == 0 && v != NULL)
            fail_msg("deleted key %" PRIu64 " still found", k);
        if (i % 2 == 1 && v != VAL(k))
            fail_msg("key %" PRIu64 " lost or wrong after deletions", k);
    }
}

static void test_u64_many(void **state)
{
    (void)state;
    /* Sequential keys, and keys that share their low bits (stride 1024), which collide more. */
    static const uint64_t strides[] = {1, 1024, 0x100000001ULL};
    for (size_t s = 0; s < ARRAY_SIZE(strides); s++) {
        struct map m;
        map_init(&m, false);
        const uint64_t n = 10000, stride = strides[s];
        for (uint64_t i = 0; i < n; i++)
            map_put(&m, i * stride, VAL(i * stride));
        assert_int_equal(m.len, n);
        for (uint64_t i = 0; i < n; i++)
            assert_ptr_equal(map_get(&m, i * stride), VAL(i * stride));
        for (uint64_t i = 0; i < n; i += 2)
            assert_ptr_equal(map_del(&m, i * stride), VAL(i * stride));
        assert_int_equal(m.len, n / 2);
        check_u64_half(&m, n, stride);
        /* Iteration sees exactly the remaining entries, each once. */
        size_t seen = 0;
        struct map_entry *e;
        for (size_t it = 0; map_next(&m, &it, &e);) {
            assert_true(e->used);
            assert_true((e->key / stride) % 2 == 1);
            assert_ptr_equal(e->val, VAL(e->key));
            seen++;
        }
        assert_int_equal(seen, n / 2);
        /* Delete the rest; the map ends empty. */
        for (uint64_t i = 1; i < n; i += 2)
            assert_ptr_equal(map_del(&m, i * stride), VAL(i * stride));
        assert_int_equal(m.len, 0);
        size_t it = 0;
        assert_false(map_next(&m, &it, &e));
        map_release(&m);
    }
}

static void test_u64_churn(void **state)
{
    (void)state;
    /* Interleaved inserts and deletes with a shadow array: catches entries lost by a wrong shift.
     */
    enum { N = 4096 };
    static bool present[N];
    memset(present, 0, sizeof(present));
    struct map m;
    map_init(&m, false);
    uint64_t x = 88172645463325252ULL;
    size_t count = 0;
    for (int step = 0; step < 200000; step++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t k = x % N;
        if (x & (1ULL << 40)) {
            if (!present[k])
                count++;
            map_put(&m, k, VAL(k));
            present[k] = true;
        } else {
            void *v = map_del(&m, k);
            assert_ptr_equal(v, present[k] ? VAL(k) : NULL);
            if (present[k])
                count--;
            present[k] = false;
        }
    }
    assert_int_equal(m.len, count);
    for (uint64_t k = 0; k < N; k++)
        assert_ptr_equal(map_get(&m, k), present[k] ? VAL(k) : NULL);
    map_release(&m);
}

static void test_string_basic(void **state)
{
    (void)state;
    struct map m;
    map_init(&m, true);
    assert_null(map_sget(&m, "a", 1));
    char *key = xstrdup("alpha");
    map_sput(&m, key, 5, VAL(1));
    free(key); /* the map owns a copy of the key: ASan reports a use after free otherwise */
    assert_ptr_equal(map_sget(&m, "alpha", 5), VAL(1));
    /* Keys are (ptr, len): a prefix is a different key. */
    assert_null(map_sget(&m, "alp", 3));
    assert_null(map_sget(&m, "alphabet", 8));
    map_sput(&m, "alphabet", 5, VAL(2)); /* only "alpha": replaces */
    assert_int_equal(m.len, 1);
    assert_ptr_equal(map_sget(&m, "alpha", 5), VAL(2));
    map_sput(&m, "", 0, VAL(3)); /* the empty key */
    assert_ptr_equal(map_sget(&m, "", 0), VAL(3));
    map_sput(&m, "Alpha", 5, VAL(4)); /* case matters */
    assert_int_equal(m.len, 3);
    assert_ptr_equal(map_sget(&m, "Alpha", 5), VAL(4));
    assert_ptr_equal(map_sget(&m, "alpha", 5), VAL(2));
    assert_ptr_equal(map_sdel(&m, "alpha", 5), VAL(2));
    assert_null(map_sget(&m, "alpha", 5));
    assert_null(map_sdel(&m, "alpha", 5));
    assert_ptr_equal(map_sget(&m, "Alpha", 5), VAL(4));
    assert_int_equal(m.len, 2);
    map_release(&m); /* frees the owned keys: ASan reports a leak otherwise */
}

static void test_string_many(void **state)
{
    (void)state;
    struct map m;
    map_init(&m, true);
    const int n = 10000;
    char k[32];
    for (int i = 0; i < n; i++) {
        int len = snprintf(k, sizeof(k), "user-%d@example.com", i);
        map_sput(&m, k, (size_t)len, VAL((uint64_t)i));
    }
    assert_int_equal(m.len, (size_t)n);
    for (int i = 0; i < n; i += 2) {
        int len = snprintf(k, sizeof(k), "user-%d@example.com", i);
        assert_ptr_equal(map_sdel(&m, k, (size_t)len), VAL((uint64_t)i));
    }
    assert_int_equal(m.len, (size_t)n / 2);
    for (int i = 0; i < n; i++) {
        int len = snprintf(k, sizeof(k), "user-%d@example.com", i);
        void *v = map_sget(&m, k, (size_t)len);
        if (i % 2 == 0 && v)
            fail_msg("deleted key %s still found", k);
        if (i % 2 == 1 && v != VAL((uint64_t)i))
            fail_msg("key %s lost after deletions", k);
    }
    /* Iteration: each remaining key once, with its own value. */
    static bool seen[10000];
    memset(seen, 0, sizeof(seen));
    size_t count = 0;
    struct map_entry *e;
    for (size_t it = 0; map_next(&m, &it, &e);) {
        int i = -1;
        assert_int_equal(sscanf(e->skey, "user-%d@example.com", &i), 1);
        assert_true(i >= 0 && i < n && i % 2 == 1);
        assert_false(seen[i]);
        seen[i] = true;
        assert_ptr_equal(e->val, VAL((uint64_t)i));
        count++;
    }
    assert_int_equal(count, (size_t)n / 2);
    map_release(&m);
}

static void test_iteration_once(void **state)
{
    (void)state;
    struct map m;
    map_init(&m, false);
    size_t it = 0;
    struct map_entry *e;
    assert_false(map_next(&m, &it, &e)); /* empty, never allocated */
    const uint64_t n = 1000;
    for (uint64_t i = 1; i <= n; i++)
        map_put(&m, i, VAL(i));
    uint64_t sum = 0;
    size_t count = 0;
    for (it = 0; map_next(&m, &it, &e);) {
        sum += e->key;
        count++;
        assert_ptr_equal(e->val, VAL(e->key));
    }
    assert_int_equal(count, n);
    assert_int_equal(sum, n * (n + 1) / 2);
    /* Changing values while iterating is allowed. */
    for (it = 0; map_next(&m, &it, &e);)
        e->val = VAL(e->key + 1);
    assert_ptr_equal(map_get(&m, 10), VAL(11));
    map_release(&m);
}

/* String keys are (pointer, length) like every span in Parley, so a key is its len bytes, whatever
 * they are: one with a NUL inside must be found, replaced and deleted like any other. */
static int release_map(void **state)
{
    if (*state) {
        map_release(*state);
        free(*state);
    }
    return 0;
}

static void test_string_keys_with_nul(void **state)
{
    struct map *m = xcalloc(1, sizeof(*m));
    *state = m; /* released by the teardown even if an assertion fails */
    map_init(m, true);
    map_sput(m, "a\0b", 3, VAL(1));
    assert_ptr_equal(map_sget(m, "a\0b", 3), VAL(1));
    map_sput(m, "a\0b", 3, VAL(2)); /* replaces: still one entry */
    assert_int_equal(m->len, 1);
    assert_ptr_equal(map_sget(m, "a\0b", 3), VAL(2));
    assert_null(map_sget(m, "a", 1));
    assert_null(map_sget(m, "a\0c", 3));
    assert_ptr_equal(map_sdel(m, "a\0b", 3), VAL(2));
    assert_int_equal(m->len, 0);
}

static void test_hash_bytes(void **state)
{
    (void)state;
    assert_true(hash_bytes("abc", 3) == hash_bytes("abcd", 3));
    assert_true(hash_bytes("abc", 3) != hash_bytes("abd", 3));
    assert_true(hash_bytes("abc", 3) != hash_bytes("abc", 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64_basic),
        cmocka_unit_test(test_u64_many),
        cmocka_unit_test(test_u64_churn),
        cmocka_unit_test(test_string_basic),
        cmocka_unit_test(test_string_many),
        cmocka_unit_test(test_iteration_once),
        cmocka_unit_test(test_hash_bytes),
        cmocka_unit_test_teardown(test_string_keys_with_nul, release_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
