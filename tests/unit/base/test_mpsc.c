/* test_mpsc.c: the bounded queue between the loop and the store threads (base/mpsc.c). */
#include "base/sys.h"
#include "base/mpsc.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#define ITEM(i) ((void *)(uintptr_t)((i) + 1))
#define INDEX(p) ((size_t)(uintptr_t)(p)-1)

static void test_full_busy(void **state)
{
    (void)state;
    struct mpsc q;
    mpsc_init(&q, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(mpsc_push(&q, ITEM(i)), 0);
    assert_int_equal(mpsc_depth(&q), 4);
    assert_int_equal(mpsc_push(&q, ITEM(4)), ERR_BUSY);
    assert_int_equal(mpsc_push(&q, ITEM(5)), ERR_BUSY);
    assert_int_equal(mpsc_depth(&q), 4);
    /* The refused items were not queued: the four come out, in order. */
    void *out[8];
    assert_int_equal(mpsc_pop_batch(&q, out, 8), 4);
    for (size_t i = 0; i < 4; i++)
        assert_ptr_equal(out[i], ITEM(i));
    assert_int_equal(mpsc_depth(&q), 0);
    /* Room again after popping. */
    assert_int_equal(mpsc_push(&q, ITEM(9)), 0);
    assert_int_equal(mpsc_pop_batch(&q, out, 8), 1);
    assert_ptr_equal(out[0], ITEM(9));
    mpsc_release(&q);
}

static void test_pop_batch_order(void **state)
{
    (void)state;
    struct mpsc q;
    mpsc_init(&q, 5);
    void *out[5];
    size_t next_in = 0, next_out = 0;
    /* Many rounds so the ring wraps around several times; batches of various sizes. */
    for (int round = 0; round < 50; round++) {
        size_t push = 1 + (size_t)round % 5;
        for (size_t i = 0; i < push; i++)
            assert_int_equal(mpsc_push(&q, ITEM(next_in++)), 0);
        size_t max = 1 + (size_t)round % 3;
        while (mpsc_depth(&q) > 0) {
            size_t depth = mpsc_depth(&q);
            size_t n = mpsc_pop_batch(&q, out, max);
            assert_int_equal(n, MIN(max, depth));
            for (size_t i = 0; i < n; i++)
                assert_ptr_equal(out[i], ITEM(next_out++));
        }
    }
    assert_int_equal(next_in, next_out);
    mpsc_release(&q);
}

static void test_close(void **state)
{
    (void)state;
    struct mpsc q;
    mpsc_init(&q, 8);
    assert_int_equal(mpsc_push(&q, ITEM(0)), 0);
    assert_int_equal(mpsc_push(&q, ITEM(1)), 0);
    assert_int_equal(mpsc_push(&q, ITEM(2)), 0);
    mpsc_close(&q);
    assert_int_equal(mpsc_push(&q, ITEM(3)), ERR_SHUTDOWN);
    /* Items already queued are still handed out after close... */
    void *out[2];
    assert_int_equal(mpsc_pop_batch(&q, out, 2), 2);
    assert_ptr_equal(out[0], ITEM(0));
    assert_ptr_equal(out[1], ITEM(1));
    assert_int_equal(mpsc_pop_batch(&q, out, 2), 1);
    assert_ptr_equal(out[0], ITEM(2));
    /* ...then 0 without blocking, every time. */
    assert_int_equal(mpsc_pop_batch(&q, out, 2), 0);
    assert_int_equal(mpsc_pop_batch(&q, out, 2), 0);
    assert_int_equal(mpsc_push(&q, ITEM(4)), ERR_SHUTDOWN);
    mpsc_release(&q);

    /* A full queue that is closed reports shutdown, not busy. */
    mpsc_init(&q, 1);
    assert_int_equal(mpsc_push(&q, ITEM(0)), 0);
    mpsc_close(&q);
    assert_int_equal(mpsc_push(&q, ITEM(1)), ERR_SHUTDOWN);
    mpsc_release(&q);
}

/* A consumer blocked in pop_batch on an empty queue is woken by close. */
struct waiter {
    struct mpsc *q;
    size_t got;
    volatile int done;
};

static void *wait_pop(void *p)
{
    struct waiter *w = p;
    void *out[4];
    w->got = mpsc_pop_batch(w->q, out, 4);
    __atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_close_wakes_consumers(void **state)
{
    (void)state;
    struct mpsc q;
    mpsc_init(&q, 4);
    struct waiter w[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (struct waiter){&q, 99, 0};
        assert_int_equal(pthread_create(&t[i], NULL, wait_pop, &w[i]), 0);
    }
    usleep(20000); /* let them block */
    for (int i = 0; i < 3; i++)
        assert_int_equal(__atomic_load_n(&w[i].done, __ATOMIC_SEQ_CST), 0);
    mpsc_close(&q);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].got, 0);
    }
    mpsc_release(&q);
}

/* One producer and one consumer move 100k items; the queue is small so it fills often. */
enum { N_ITEMS = 100000 };

struct pc {
    struct mpsc *q;
    size_t busy;
    unsigned char *seen;
    size_t received;
    bool in_order;
};

static void *producer(void *p)
{
    struct pc *pc = p;
    for (size_t i = 0; i < N_ITEMS; i++) {
        int rc;
        while ((rc = mpsc_push(pc->q, ITEM(i))) == ERR_BUSY) {
            pc->busy++;
            sched_yield();
        }
        if (rc != 0)
            abort();
    }
    mpsc_close(pc->q);
    return NULL;
}

static void *consumer(void *p)
{
    struct pc *pc = p;
    void *out[64];
    size_t n, expect = 0;
    pc->in_order = true;
    while ((n = mpsc_pop_batch(pc->q, out, 64)) > 0)
        for (size_t i = 0; i < n; i++) {
            size_t idx = INDEX(out[i]);
            if (idx >= N_ITEMS)
                abort();
            if (idx != expect)
                pc->in_order = false;
            expect = idx + 1;
            pc->seen[idx]++;
            pc->received++;
        }
    return NULL;
}

static void test_producer_consumer(void **state)
{
    (void)state;
    struct mpsc q;
    mpsc_init(&q, 128);
    struct pc pc = {&q, 0, xcalloc(N_ITEMS, 1), 0, false};
    pthread_t tp, tc;
    assert_int_equal(pthread_create(&tc, NULL, consumer, &pc), 0);
    assert_int_equal(pthread_create(&tp, NULL, producer, &pc), 0);
    pthread_join(tp, NULL);
    pthread_join(tc, NULL);
    assert_int_equal(pc.received, N_ITEMS);
    for (size_t i = 0; i < N_ITEMS; i++)
        if (pc.seen[i] != 1)
            fail_msg("item %zu seen %d times", i, pc.seen[i]);
    assert_true(pc.in_order); /* one producer: FIFO */
    assert_int_equal(mpsc_depth(&q), 0);
    free(pc.seen);
    mpsc_release(&q);
}

/* Several producers and several consumers (the reader pool shares one queue). */
enum { N_PROD = 4, PER_PROD = 25000 };

struct mp {
    struct mpsc *q;
    size_t base;
};

static void *mproducer(void *p)
{
    struct mp *m = p;
    for (size_t i = 0; i < PER_PROD; i++)
        while (mpsc_push(m->q, ITEM(m->base + i)) == ERR_BUSY)
            sched_yield();
    return NULL;
}

struct mc {
    struct mpsc *q;
    unsigned char *seen; /* shared; each slot written by whoever got the item */
    size_t received;
};

static void *mconsumer(void *p)
{
    struct mc *c = p;
    void *out[16];
    size_t n;
    while ((n = mpsc_pop_batch(c->q, out, 16)) > 0)
        for (size_t i = 0; i < n; i++) {
            __atomic_fetch_add(&c->seen[INDEX(out[i])], 1, __ATOMIC_RELAXED);
            c->received++;
        }
    return NULL;
}

static void test_many_producers_consumers(void **state)
{
    (void)state;
    struct mpsc q;
    mpsc_init(&q, 64);
    unsigned char *seen = xcalloc(N_PROD * PER_PROD, 1);
    pthread_t tp[N_PROD], tc[3];
    struct mp mp[N_PROD];
    struct mc mc[3];
    for (int i = 0; i < 3; i++) {
        mc[i] = (struct mc){&q, seen, 0};
        pthread_create(&tc[i], NULL, mconsumer, &mc[i]);
    }
    for (int i = 0; i < N_PROD; i++) {
        mp[i] = (struct mp){&q, (size_t)i * PER_PROD};
        pthread_create(&tp[i], NULL, mproducer, &mp[i]);
    }
    for (int i = 0; i < N_PROD; i++)
        pthread_join(tp[i], NULL);
    mpsc_close(&q);
    size_t total = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(tc[i], NULL);
        total += mc[i].received;
    }
    assert_int_equal(total, N_PROD * PER_PROD);
    for (size_t i = 0; i < N_PROD * PER_PROD; i++)
        if (seen[i] != 1)
            fail_msg("item %zu seen %d times", i, seen[i]);
    free(seen);
    mpsc_release(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_busy),
        cmocka_unit_test(test_pop_batch_order),
        cmocka_unit_test(test_close),
        cmocka_unit_test(test_close_wakes_consumers),
        cmocka_unit_test(test_producer_consumer),
        cmocka_unit_test(test_many_producers_consumers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
