/* The memory limit: used-memory accounting cheap enough to check before
 * every write, the access clock of each entry (LRU or LFU), and eviction.
 *
 * Used memory. jemalloc keeps, per thread, the bytes that thread allocated
 * and freed (thread.allocatedp / thread.deallocatedp, plain counters it
 * updates on every call). Every thread that allocates or frees store memory
 * registers its pair once (store_mem_register_thread); their sum of
 * differences is the bytes the process holds through malloc, exact in sum
 * even when one thread frees what another allocated. Reading them costs a
 * few loads per thread, so the limit is checked before each write. Sanitizer
 * builds replace malloc, so there the sanitizer's own figure is used.
 *
 * Access clock. The 24-bit field of each entry holds, as in Redis, either the
 * LRU clock in seconds when it was last used, or with an LFU policy 16 bits
 * of minutes when its counter was last decremented and an 8-bit logarithmic
 * access counter (lfu-log-factor, halved every lfu-decay-time minutes).
 *
 * allkeys-sieve (beyond Redis) keeps there instead a "visited" bit and the
 * entry's insertion order (a per-shard counter, 23 bits); see below.
 *
 * Eviction. Each shard evicts only from itself, on the thread that holds it:
 * a pool of the 16 best candidates is refilled with maxmemory-samples random
 * keys of each database per round (Redis's approximation of LRU/LFU/TTL),
 * and the best one still present goes. Random policies pick a random key.
 * Volatile policies only look at keys with an expiry. How the work is spread
 * over shards is the dataplane's business (a shard gives up memory in
 * proportion to the keys it holds).
 */
#include <jemalloc/jemalloc.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifdef SANITIZED
/* From the sanitizer runtime (declared here: not every compiler ships
 * sanitizer/allocator_interface.h). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

struct store_evict store_evict = {
    .maxmemory = 0,
    .policy = EVICT_NOEVICTION,
    .samples = 5,
    .tenacity = 10,
    .lfu_log_factor = 10,
    .lfu_decay_time = 1,
};

/* ---- used memory ---- */

#ifndef SANITIZED
#define MAX_MEM_THREADS 80

/* A thread that exits (a snapshot's writer, the workers at shutdown) first
 * folds its net bytes into mem_carry and points its slot at zero counters,
 * so that nobody reads its counters once its memory is gone. mem_gen makes
 * that switch look atomic to readers (odd while it happens: they retry);
 * the exiting thread then lingers a grace period, longer than any reader
 * holds a pointer it loaded, before its counters can be unmapped. */
static struct {
    const _Atomic uint64_t *_Atomic alloc, *_Atomic dealloc;
} mem_threads[MAX_MEM_THREADS];
static _Atomic int n_mem_threads;
static _Atomic int64_t mem_carry;
static _Atomic uint64_t mem_gen;
static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;
static const _Atomic uint64_t zero_counter;
static _Thread_local int mem_slot = -1;
#define MEM_GRACE_US 2000
#endif

void store_mem_register_thread(void)
{
#ifndef SANITIZED
    uint64_t *a, *d;
    size_t len = sizeof(a);
    if (mallctl("thread.allocatedp", &a, &len, NULL, 0) ||
        mallctl("thread.deallocatedp", &d, &len, NULL, 0))
        return;
    /* The counters are written by their thread only; others read a value
     * that may be a moment old, which is all an estimate needs. A slot
     * given up by a thread that exited is used again. */
    pthread_mutex_lock(&mem_lock);
    int n = atomic_load(&n_mem_threads), i = 0;
    while (i < n && atomic_load(&mem_threads[i].alloc) != &zero_counter)
        i++;
    if (i < MAX_MEM_THREADS) {
        atomic_fetch_add(&mem_gen, 1);
        atomic_store(&mem_threads[i].alloc, (const _Atomic uint64_t *)a);
        atomic_store(&mem_threads[i].dealloc, (const _Atomic uint64_t *)d);
        atomic_fetch_add(&mem_gen, 1);
        if (i == n)
            atomic_store(&n_mem_threads, n + 1);
        mem_slot = i;
    }
    pthread_mutex_unlock(&mem_lock);
#endif
}

void store_mem_unregister_thread(void)
{
#ifndef SANITIZED
    if (mem_slot < 0)
        return;
    pthread_mutex_lock(&mem_lock);
    int i = mem_slot;
    const _Atomic uint64_t *a = atomic_load(&mem_threads[i].alloc);
    const _Atomic uint64_t *d = atomic_load(&mem_threads[i].dealloc);
    atomic_fetch_add(&mem_gen, 1);
    atomic_fetch_add(&mem_carry, (int64_t)(atomic_load(a) - atomic_load(d)));
    atomic_store(&mem_threads[i].alloc, &zero_counter);
    atomic_store(&mem_threads[i].dealloc, &zero_counter);
    atomic_fetch_add(&mem_gen, 1);
    mem_slot = -1;
    pthread_mutex_unlock(&mem_lock);
    usleep(MEM_GRACE_US);
#endif
}

size_t store_used_memory(void)
{
#ifdef SANITIZED
    return __sanitizer_get_current_allocated_bytes();
#else
    int64_t sum;
    uint64_t gen;
    do {
        while ((gen = atomic_load(&mem_gen)) & 1)
            ;
        int n = atomic_load(&n_mem_threads);
        sum = atomic_load(&mem_carry);
        for (int i = 0; i < n && i < MAX_MEM_THREADS; i++)
            sum += (int64_t)(atomic_load_explicit(atomic_load_explicit(&mem_threads[i].alloc,
                                                                       memory_order_acquire),
                                                  memory_order_relaxed) -
                             atomic_load_explicit(atomic_load_explicit(&mem_threads[i].dealloc,
                                                                       memory_order_acquire),
                                                  memory_order_relaxed));
    } while (atomic_load(&mem_gen) != gen);
    return sum > 0 ? (size_t)sum : 0;
#endif
}

/* ---- the access clock ---- */

#define LFU_INIT_VAL 5

static bool lfu(void) { return store_evict.policy == EVICT_ALLKEYS_LFU ||
                               store_evict.policy == EVICT_VOLATILE_LFU; }

static uint32_t minutes(const struct shard *s)
{
    return s->lfu_minutes;
}

/* The counter after the decay its idle minutes call for. */
static uint32_t lfu_decayed(const struct shard *s, const struct entry *e)
{
    uint32_t v = entry_lru(e), ldt = v >> 8, counter = v & 0xff;
    uint32_t now = minutes(s);
    uint32_t elapsed = now >= ldt ? now - ldt : 65535 - ldt + now;
    uint32_t periods = store_evict.lfu_decay_time ? elapsed / (uint32_t)store_evict.lfu_decay_time
                                                  : 0;
    return periods > counter ? 0 : counter - periods;
}

static __thread uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return rng >> 11;
}

/* Redis's logarithmic counter: the higher it is, the less likely a hit
 * raises it (lfu-log-factor sets how much less). */
static uint32_t lfu_incr(uint32_t counter)
{
    if (counter == 255)
        return 255;
    double base = counter > LFU_INIT_VAL ? counter - LFU_INIT_VAL : 0;
    double p = 1.0 / (base * (double)store_evict.lfu_log_factor + 1);
    return (double)rng_next() / (double)(1ull << 53) < p ? counter + 1 : counter;
}

/* allkeys-sieve, beyond Redis: the SIEVE family (SIEVE, NSDI'24; S3-FIFO,
 * SOSP'23) over samples instead of queues. The entry's 24 bits hold a 2-bit
 * hit counter, a "kept" bit and its insertion order (a per-shard counter,
 * 21 bits, compared modulo its wrap). A hit raises the counter and sets
 * "kept". Among sampled candidates:
 *  - one with hits left loses one and is spared (the SIEVE/CLOCK hand
 *    passing over a visited object: lazy promotion, no reordering on hits);
 *  - one never hit since it was written goes first, oldest first (S3-FIFO's
 *    quick demotion: most new keys are never asked for again);
 *  - then the kept ones, oldest first.
 * Chosen by measuring (perf/hitratio.py, perf/RESULTS.md): on Zipfian
 * workloads it holds about as well as LFU and well above sampled LRU, while
 * adapting to a change of popularity as fast as a FIFO does. */
#define SIEVE_HIT 0x400000u     /* the visit counter: 2 bits, saturating */
#define SIEVE_VISITED 0xc00000u
#define SIEVE_KEPT 0x200000u    /* hit at least once since it was written */
#define SIEVE_ORDER 0x1fffffu

static bool sieve(void) { return store_evict.policy == EVICT_ALLKEYS_SIEVE; }

bool store_policy_sieve(void) { return sieve(); }

void store_touch(struct shard *s, struct entry *e)
{
    if (sieve()) {
        uint32_t v = entry_lru(e);
        if ((v & SIEVE_VISITED) != SIEVE_VISITED)
            v += SIEVE_HIT;
        entry_set_lru(e, v | SIEVE_KEPT);
    }
    else if (lfu())
        entry_set_lru(e, (minutes(s) << 8) | lfu_incr(lfu_decayed(s, e)));
    else
        entry_set_lru(e, s->lru_clock);
}

void store_clock_new(struct shard *s, struct entry *e, const struct entry *old)
{
    if (sieve())
        entry_set_lru(e, old ? entry_lru(old) : s->sieve_order++ & SIEVE_ORDER);
    else if (!lfu())
        entry_set_lru(e, s->lru_clock);
    else if (old)
        entry_set_lru(e, entry_lru(old)); /* an overwrite keeps the frequency */
    else
        entry_set_lru(e, (minutes(s) << 8) | LFU_INIT_VAL);
}

int store_lfu_freq(const struct shard *s, const struct entry *e)
{
    return (int)lfu_decayed(s, e);
}

bool store_policy_lfu(void) { return lfu(); }

void store_clock_restore(struct shard *s, struct entry *e, int lfu_freq, long long idle_secs)
{
    if (lfu()) {
        if (lfu_freq >= 0)
            entry_set_lru(e, (minutes(s) << 8) | ((uint32_t)lfu_freq & 0xff));
    } else if (idle_secs >= 0 && !sieve()) {
        /* Redis wraps by LRU_CLOCK_MAX, as idle_seconds reads it back. */
        long long at = (long long)s->lru_clock - idle_secs;
        if (at < 0)
            at += LRU_CLOCK_MAX;
        entry_set_lru(e, (uint32_t)at & LRU_CLOCK_MAX);
    }
}

/* ---- eviction ---- */

#define POOL_SIZE 16

struct candidate {
    uint64_t score; /* higher goes first */
    int db;
    size_t klen;
    char *key;
};

struct evict_pool {
    int n;
    struct candidate c[POOL_SIZE];
};

static uint64_t score(const struct shard *s, struct entry *e)
{
    switch (store_evict.policy) {
    case EVICT_ALLKEYS_SIEVE: {
        uint32_t v = entry_lru(e);
        if (v & SIEVE_VISITED) {
            entry_set_lru(e, v - SIEVE_HIT);
            return 0;
        }
        uint64_t age = ((s->sieve_order - v) & SIEVE_ORDER) + 1; /* older: higher */
        return v & SIEVE_KEPT ? age : age + (1u << 22); /* never hit: first */
    }
    case EVICT_ALLKEYS_LFU:
    case EVICT_VOLATILE_LFU:
        return 255 - lfu_decayed(s, e);
    case EVICT_VOLATILE_TTL:
        return UINT64_MAX - (uint64_t)entry_expire(e);
    default: {
        uint32_t now = s->lru_clock & 0xffffff, lru = entry_lru(e);
        return now >= lru ? now - lru : 0xffffff - lru + now;
    }
    }
}

static bool volatile_only(void) { return store_evict.policy <= EVICT_VOLATILE_TTL; }

static void pool_insert(struct evict_pool *p, int db, const struct entry *e, uint64_t sc)
{
    size_t klen;
    const char *key = entry_key(e, &klen);
    for (int i = 0; i < p->n; i++)
        if (p->c[i].db == db && p->c[i].klen == klen && !memcmp(p->c[i].key, key, klen))
            return;
    int at = p->n;
    if (p->n == POOL_SIZE) {
        if (sc <= p->c[0].score) /* the pool is sorted ascending */
            return;
        free(p->c[0].key);
        memmove(&p->c[0], &p->c[1], sizeof(p->c[0]) * (POOL_SIZE - 1));
        at = POOL_SIZE - 1;
        p->n--;
    }
    while (at > 0 && p->c[at - 1].score > sc) {
        p->c[at] = p->c[at - 1];
        at--;
    }
    char *copy = malloc(klen ? klen : 1);
    if (!copy)
        abort();
    memcpy(copy, key, klen);
    p->c[at] = (struct candidate){sc, db, klen, copy};
    p->n++;
}

/* Sample keys of db into the pool. */
static void pool_fill(struct shard *s, struct evict_pool *p, int dbid)
{
    struct db *db = &s->db[dbid];
    int want = store_evict.samples, tries = want * 10;
    while (want > 0 && tries-- > 0) {
        struct entry *e = dict_random(&db->keys);
        if (!e)
            return;
        if (volatile_only() && !(e->flags & ENTRY_EXPIRE))
            continue;
        pool_insert(p, dbid, e, score(s, e));
        want--;
    }
}

static bool db_has_candidates(const struct db *db)
{
    return volatile_only() ? db->volatile_keys > 0 : dict_size(&db->keys) > 0;
}

/* Remove one key by the policy; its size, or 0 when nothing can go. */
static size_t evict_one(struct shard *s)
{
    bool any = false;
    for (int i = 0; i < s->ndb; i++)
        any |= db_has_candidates(&s->db[i]);
    if (!any)
        return 0;
    int pol = store_evict.policy;
    if (pol == EVICT_ALLKEYS_RANDOM || pol == EVICT_VOLATILE_RANDOM) {
        for (int tries = 0; tries < 1000; tries++) {
            int dbid = (int)(rng_next() % (uint64_t)s->ndb);
            struct db *db = &s->db[dbid];
            if (!db_has_candidates(db))
                continue;
            struct entry *e = dict_random(&db->keys);
            if (!e || (volatile_only() && !(e->flags & ENTRY_EXPIRE)))
                continue;
            size_t klen, n = entry_mem(e);
            const char *key = entry_key(e, &klen);
            struct entry **ref = dict_find_ref(&db->keys, key, klen);
            db_evict_ref(s, db, ref);
            return n;
        }
        return 0;
    }
    struct evict_pool *p = s->evict_pool;
    if (!p) {
        p = s->evict_pool = calloc(1, sizeof(*p));
        if (!p)
            abort();
    }
    for (int round = 0; round < 16; round++) {
        for (int i = 0; i < s->ndb; i++)
            if (db_has_candidates(&s->db[i]))
                pool_fill(s, p, i);
        /* Best first; entries whose key went meanwhile are dropped. */
        while (p->n) {
            struct candidate c = p->c[--p->n];
            struct db *db = &s->db[c.db];
            struct entry **ref = dict_find_ref(&db->keys, c.key, c.klen);
            free(c.key);
            if (!ref || (volatile_only() && !((*ref)->flags & ENTRY_EXPIRE)))
                continue;
            if (sieve() && (entry_lru(*ref) & SIEVE_VISITED)) {
                score(s, *ref); /* hit since it was sampled: spared, bit cleared */
                continue;
            }
            size_t n = entry_mem(*ref);
            db_evict_ref(s, db, ref);
            return n;
        }
    }
    return 0;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

size_t shard_evict(struct shard *s, size_t bytes, uint64_t budget_us)
{
    if (store_evict.policy == EVICT_NOEVICTION)
        return 0;
    size_t freed = 0;
    uint64_t end = now_us() + budget_us;
    int n = 0;
    while (freed < bytes) {
        size_t one = evict_one(s);
        if (!one)
            break;
        freed += one;
        if (++n % 16 == 0 && now_us() > end)
            break;
    }
    return freed;
}

void shard_evict_free(struct shard *s)
{
    struct evict_pool *p = s->evict_pool;
    if (!p)
        return;
    for (int i = 0; i < p->n; i++)
        free(p->c[i].key);
    free(p);
    s->evict_pool = NULL;
}
