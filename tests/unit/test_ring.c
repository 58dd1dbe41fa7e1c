/* Unit tests for the SPSC ring (dataplane/ring.c): capacity rounding, FIFO
 * order, full and empty behaviour, bursts, wrap-around of the free-running
 * 32-bit indices, and a producer/consumer pair of threads.
 *
 * To reach the uint32 wrap without 2^32 pushes, start_at() sets the indices
 * and both caches of a fresh, empty ring to a value near UINT32_MAX, as if
 * that many messages had already passed through. The threaded test is the
 * one that matters under ThreadSanitizer.
 *
 * Criterion cannot run under TSan (its BoxFort arena wants a fixed mapping
 * inside TSan's shadow range: "Could not initialize inheritable arena",
 * Snaipe/Criterion#274), so with -DRING_TEST_NO_CRITERION this file builds
 * as a plain program: the shim below runs every Test() in one process and
 * exits non-zero at the first failed assertion.
 */
#ifndef RING_TEST_NO_CRITERION
#include <criterion/criterion.h>
#else
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void (*shim_tests[32])(void);
static const char *shim_names[32];
static int shim_ntests;

#define Test(suite, name, ...)                                                                     \
    static void suite##_##name(void);                                                              \
    __attribute__((constructor)) static void suite##_##name##_reg(void)                            \
    {                                                                                              \
        if (shim_ntests == 32)                                                                     \
            abort(); /* raise the shim's table size */                                             \
        shim_names[shim_ntests] = #suite "::" #name;                                               \
        shim_tests[shim_ntests++] = suite##_##name;                                                \
    }                                                                                              \
    static void suite##_##name(void)

#define cr_assert_fail(...)                                                                        \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: assertion failed: ", __FILE__, __LINE__);                          \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        exit(1);                                                                                   \
    } while (0)
#define cr_assert(c, ...)                                                                          \
    do {                                                                                           \
        if (!(c))                                                                                  \
            cr_assert_fail("%s", #c);                                                              \
    } while (0)
#define cr_assert_not(c, ...) cr_assert(!(c))
#define cr_assert_null(p, ...) cr_assert((p) == NULL)
#define cr_assert_not_null(p, ...) cr_assert((p) != NULL)
#define cr_assert_eq(a, b, ...) cr_assert((a) == (b))
#define cr_assert_lt(a, b, ...) cr_assert((a) < (b))
#define cr_assert_leq(a, b, ...) cr_assert((a) <= (b))
#define cr_assert_gt(a, b, ...) cr_assert((a) > (b))

int main(void)
{
    for (int i = 0; i < shim_ntests; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        shim_tests[i]();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("[PASS] %s: (%.2fs)\n", shim_names[i],
               (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    }
    printf("%d tests passed\n", shim_ntests);
    return 0;
}
#endif
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#include "ring.h"

/* Make an empty ring look as if start messages had passed through it. Only
 * before any other thread uses the ring. */
static void start_at(struct ring *r, uint32_t start)
{
    atomic_store(&r->tail, start);
    atomic_store(&r->head, start);
    r->head_cache = start;
    r->tail_cache = start;
}

/* Distinct non-NULL message pointers standing for message i. */
static char msgs[4096];
#define MSG(i) ((void *)&msgs[(i) % sizeof(msgs)])

/* How many pushes succeed before the ring reports full. */
static uint32_t fill(struct ring *r)
{
    uint32_t n = 0;
    while (ring_push(r, MSG(n)))
        n++;
    return n;
}

Test(ring, capacity_rounds_up_to_a_power_of_two_of_at_least_two)
{
    static const struct {
        uint32_t asked, got;
    } cases[] = {{0, 2}, {1, 2},       {2, 2},       {3, 4},       {4, 4},
                 {5, 8}, {1000, 1024}, {1024, 1024}, {1025, 2048}, {65537, 131072}};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ring *r = ring_new(cases[i].asked);
        cr_assert_not_null(r);
        cr_assert_eq(r->mask + 1, cases[i].got, "ring_new(%u): capacity %u, want %u",
                     cases[i].asked, r->mask + 1, cases[i].got);
        cr_assert_eq(fill(r), cases[i].got, "ring_new(%u) must hold exactly %u", cases[i].asked,
                     cases[i].got);
        cr_assert_eq(ring_count(r), cases[i].got);
        ring_free(r);
    }
}

Test(ring, capacity_above_two_to_the_31_is_refused)
{
    cr_assert_null(ring_new((UINT32_C(1) << 31) + 1));
    cr_assert_null(ring_new(UINT32_MAX));
}

Test(ring, ring_is_aligned_and_starts_empty)
{
    struct ring *r = ring_new(16);
    cr_assert_eq((uintptr_t)r % 64, 0);
    cr_assert_eq(ring_count(r), 0);
    cr_assert_null(ring_pop(r));
    ring_free(r);
    ring_free(NULL);
}

Test(ring, messages_come_out_in_the_order_they_went_in)
{
    struct ring *r = ring_new(64);
    for (uint32_t i = 0; i < 50; i++)
        cr_assert(ring_push(r, MSG(i)));
    cr_assert_eq(ring_count(r), 50);
    for (uint32_t i = 0; i < 50; i++)
        cr_assert_eq(ring_pop(r), MSG(i), "message %u out of order", i);
    cr_assert_null(ring_pop(r));
    cr_assert_eq(ring_count(r), 0);
    ring_free(r);
}

Test(ring, push_on_a_full_ring_fails_and_overwrites_nothing)
{
    struct ring *r = ring_new(8);
    static char extra;

    cr_assert_eq(fill(r), 8);
    for (int k = 0; k < 3; k++)
        cr_assert_not(ring_push(r, &extra));
    cr_assert_eq(ring_count(r), 8);
    for (uint32_t i = 0; i < 8; i++)
        cr_assert_eq(ring_pop(r), MSG(i));
    cr_assert_null(ring_pop(r));

    /* One slot freed lets exactly one more in. */
    cr_assert_eq(fill(r), 8);
    cr_assert_eq(ring_pop(r), MSG(0));
    cr_assert(ring_push(r, &extra));
    cr_assert_not(ring_push(r, &extra));
    for (uint32_t i = 1; i < 8; i++)
        cr_assert_eq(ring_pop(r), MSG(i));
    cr_assert_eq(ring_pop(r), &extra);
    ring_free(r);
}

Test(ring, pop_on_an_empty_ring_returns_null_and_burst_returns_zero)
{
    struct ring *r = ring_new(4);
    void *out[4] = {&out, &out, &out, &out};

    cr_assert_null(ring_pop(r));
    cr_assert_eq(ring_pop_burst(r, out, 4), 0);
    cr_assert_eq(out[0], (void *)&out, "an empty burst must not write out[]");
    cr_assert(ring_push(r, MSG(1)));
    cr_assert_eq(ring_pop(r), MSG(1));
    cr_assert_null(ring_pop(r));
    cr_assert_eq(ring_pop_burst(r, out, 4), 0);
    ring_free(r);
}

Test(ring, burst_pop_takes_what_there_is_up_to_max)
{
    struct ring *r = ring_new(16);
    void *out[16];

    for (uint32_t i = 0; i < 5; i++)
        cr_assert(ring_push(r, MSG(i)));
    cr_assert_eq(ring_pop_burst(r, out, 0), 0);
    cr_assert_eq(ring_count(r), 5);
    cr_assert_eq(ring_pop_burst(r, out, 2), 2);
    cr_assert_eq(out[0], MSG(0));
    cr_assert_eq(out[1], MSG(1));
    /* Partial: asks for 16, gets the 3 left. */
    cr_assert_eq(ring_pop_burst(r, out, 16), 3);
    for (uint32_t i = 0; i < 3; i++)
        cr_assert_eq(out[i], MSG(i + 2));
    cr_assert_eq(ring_pop_burst(r, out, 16), 0);

    /* A burst sees messages pushed after its side cached the tail. */
    cr_assert(ring_push(r, MSG(7)));
    cr_assert_eq(ring_pop_burst(r, out, 16), 1);
    cr_assert_eq(out[0], MSG(7));
    ring_free(r);
}

Test(ring, burst_pop_wraps_across_the_end_of_the_slot_array)
{
    struct ring *r = ring_new(8);
    void *out[8];

    for (uint32_t i = 0; i < 6; i++)
        cr_assert(ring_push(r, MSG(i)));
    cr_assert_eq(ring_pop_burst(r, out, 6), 6);
    /* Slots 6, 7, 0, 1, 2, 3, 4. */
    for (uint32_t i = 0; i < 7; i++)
        cr_assert(ring_push(r, MSG(100 + i)));
    cr_assert_eq(ring_pop_burst(r, out, 8), 7);
    for (uint32_t i = 0; i < 7; i++)
        cr_assert_eq(out[i], MSG(100 + i));
    ring_free(r);
}

/* Many laps of a small ring with the indices crossing UINT32_MAX -> 0, in
 * uneven push/pop strides so full, empty and partial states all occur at
 * the wrap. */
Test(ring, many_laps_keep_fifo_order_across_uint32_overflow)
{
    static const uint32_t starts[] = {0, UINT32_MAX - 10, UINT32_MAX, UINT32_MAX - 7,
                                      (UINT32_C(1) << 31) - 3};

    for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
        struct ring *r = ring_new(8);
        uint32_t pushed = 0, popped = 0;
        void *out[8];

        start_at(r, starts[s]);
        for (uint32_t round = 0; round < 2000; round++) {
            uint32_t npush = 1 + round % 9, nburst = 1 + (round * 7) % 8;
            for (uint32_t k = 0; k < npush; k++) {
                bool ok = ring_push(r, MSG(pushed));
                cr_assert_eq(ok, pushed - popped < 8, "start %u round %u: push %s", starts[s],
                             round, ok ? "succeeded on a full ring" : "failed with room");
                if (ok)
                    pushed++;
            }
            cr_assert_eq(ring_count(r), pushed - popped);
            uint32_t got = ring_pop_burst(r, out, nburst);
            uint32_t want = pushed - popped < nburst ? pushed - popped : nburst;
            cr_assert_eq(got, want, "start %u round %u: burst of %u got %u, want %u", starts[s],
                         round, nburst, got, want);
            for (uint32_t k = 0; k < got; k++, popped++)
                cr_assert_eq(out[k], MSG(popped), "start %u: message %u out of order", starts[s],
                             popped);
        }
        while (popped < pushed) {
            cr_assert_eq(ring_pop(r), MSG(popped));
            popped++;
        }
        cr_assert_null(ring_pop(r));
        cr_assert_gt(pushed, 8 * 100, "too few laps");
        /* The indices really did go past UINT32_MAX. */
        if (starts[s] > UINT32_MAX - 100)
            cr_assert_lt(atomic_load(&r->tail), starts[s]);
        ring_free(r);
    }
}

Test(ring, full_and_empty_are_told_apart_exactly_at_the_wrap)
{
    struct ring *r = ring_new(4);
    void *out[4];

    start_at(r, UINT32_MAX - 1); /* tail will cross 0 after two pushes */
    cr_assert_eq(fill(r), 4);
    cr_assert_eq(atomic_load(&r->tail), 2);
    cr_assert_eq(ring_count(r), 4);
    cr_assert_not(ring_push(r, MSG(9)));
    cr_assert_eq(ring_pop_burst(r, out, 4), 4);
    for (uint32_t i = 0; i < 4; i++)
        cr_assert_eq(out[i], MSG(i));
    cr_assert_eq(ring_count(r), 0);
    cr_assert_null(ring_pop(r));
    ring_free(r);
}

/* Producer and consumer threads. Each message carries its sequence number
 * and a check value written by the producer before ring_push; the consumer
 * must see both (release/acquire publication), in order, each exactly once.
 * The indices start just below UINT32_MAX so they wrap under concurrency. */
#define N_MSGS 5000000u
#define RING_CAP 1024u

struct msg {
    uint32_t seq;
    uint32_t check;
};

static struct msg *pool;
static struct ring *shared;

static uint32_t check_of(uint32_t seq)
{
    return seq * 2654435761u ^ 0xa5a5a5a5u;
}

static void *producer(void *arg)
{
    (void)arg;
    for (uint32_t i = 0; i < N_MSGS; i++) {
        struct msg *m = &pool[i];
        m->seq = i;
        m->check = check_of(i);
        while (!ring_push(shared, m))
            sched_yield();
    }
    return NULL;
}

Test(ring, two_threads_pass_five_million_messages_in_order_exactly_once, .timeout = 30)
{
    pthread_t tid;
    uint32_t next = 0, spins = 0;
    void *out[64];

    pool = calloc(N_MSGS, sizeof(*pool));
    shared = ring_new(RING_CAP);
    cr_assert_not_null(pool);
    cr_assert_not_null(shared);
    start_at(shared, UINT32_MAX - 3000);
    cr_assert_eq(pthread_create(&tid, NULL, producer, NULL), 0);

    while (next < N_MSGS) {
        /* Alternate single pops and bursts of varying size. */
        uint32_t max = next % 3 == 0 ? 1 : 1 + next % 64;
        uint32_t n;
        if (max == 1) {
            out[0] = ring_pop(shared);
            n = out[0] != NULL;
        } else {
            n = ring_pop_burst(shared, out, max);
        }
        if (n == 0) {
            if (++spins % 64 == 0)
                sched_yield();
            continue;
        }
        for (uint32_t k = 0; k < n; k++, next++) {
            struct msg *m = out[k];
            /* Check the pointer first: if a message were lost or
             * duplicated, the payload of some other message would follow. */
            if (m != &pool[next])
                cr_assert_fail("message %u: got pool[%td]", next, m - pool);
            if (m->seq != next || m->check != check_of(next))
                cr_assert_fail("message %u: payload not visible (seq %u check %#x)", next, m->seq,
                               m->check);
        }
        cr_assert_leq(ring_count(shared), RING_CAP);
    }
    cr_assert_eq(pthread_join(tid, NULL), 0);
    cr_assert_null(ring_pop(shared), "a message arrived after the last one");
    cr_assert_eq(ring_count(shared), 0);
    cr_assert_eq(atomic_load(&shared->tail), (uint32_t)(UINT32_MAX - 3000 + N_MSGS));
    ring_free(shared);
    free(pool);
}
