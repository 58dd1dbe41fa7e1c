/* The key table: chained hashing over a power-of-two bucket array, with
 * incremental rehash into a second array so no single operation pays for a
 * whole resize. While rehashing, buckets [0, rehashidx) of table 0 are empty
 * and every entry is in exactly one of the two tables.
 *
 * The chain link lives in the entry itself (struct entry.next), so the table
 * costs one pointer per bucket and nothing per entry beyond that link. The
 * hash is not stored; rehash recomputes it from the key.
 *
 * The table grows when it holds twice as many entries as buckets (to the
 * power of two at or above the count), so it runs between one and two
 * entries per bucket: 4 to 8 bytes of bucket per entry instead of Redis's 8
 * to 16, for half an extra chain step per lookup on average.
 *
 * SCAN uses the reverse-binary cursor: because bucket = hash & mask, a cursor
 * walked in bit-reversed order visits every bucket of the final table that
 * could hold an entry present from the start, across any number of grows or
 * shrinks between calls.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define DICT_MIN_SIZE 4
#define MAX_LOAD 2 /* entries per bucket that make the table grow */

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* A seeded 64-bit hash: 8-byte lanes folded with multiply-rotate, then a
 * full avalanche. The seed is random per process so bucket positions cannot
 * be predicted by clients. */
uint64_t store_hash(uint64_t seed, const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);
    const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;

    while (len >= 8) {
        uint64_t k;
        memcpy(&k, p, 8);
        k *= c1;
        k = rotl64(k, 31);
        k *= c2;
        h ^= k;
        h = rotl64(h, 27) * 5 + 0x52dce729;
        p += 8;
        len -= 8;
    }
    if (len) {
        uint64_t k = 0;
        memcpy(&k, p, len);
        k *= c1;
        k = rotl64(k, 31);
        k *= c2;
        h ^= k;
    }
    return mix64(h);
}

static inline uint64_t entry_hash(const struct dict *d, const struct entry *e)
{
    size_t klen;
    const char *k = entry_key(e, &klen);
    return store_hash(d->seed, k, klen);
}

void dict_init(struct dict *d, uint64_t seed)
{
    memset(d, 0, sizeof(*d));
    d->rehashidx = -1;
    d->seed = seed;
}

void dict_free(struct dict *d, void (*free_entry)(struct entry *))
{
    for (int t = 0; t < 2; t++) {
        for (uint64_t i = 0; i < d->size[t]; i++) {
            struct entry *e = d->table[t][i];
            while (e) {
                struct entry *n = e->next;
                if (free_entry)
                    free_entry(e);
                e = n;
            }
        }
        free(d->table[t]);
    }
    dict_init(d, d->seed);
}

uint64_t dict_size(const struct dict *d) { return d->used; }

static inline bool rehashing(const struct dict *d) { return d->rehashidx >= 0; }

static void start_resize(struct dict *d, uint64_t want)
{
    uint64_t size = DICT_MIN_SIZE;
    while (size < want)
        size <<= 1;
    if (size == d->size[0] && !rehashing(d))
        return;
    struct entry **t = calloc(size, sizeof(*t));
    if (!t)
        return; /* stay at the current size; chains just get longer */
    if (d->size[0] == 0) {
        d->table[0] = t;
        d->size[0] = size;
        return;
    }
    d->table[1] = t;
    d->size[1] = size;
    d->rehashidx = 0;
}

bool dict_rehash(struct dict *d, int n)
{
    int empty_visits = n * 10;

    if (!rehashing(d))
        return false;
    while (n-- && (uint64_t)d->rehashidx < d->size[0]) {
        while ((uint64_t)d->rehashidx < d->size[0] && !d->table[0][d->rehashidx]) {
            d->rehashidx++;
            if (--empty_visits == 0)
                return true;
        }
        if ((uint64_t)d->rehashidx == d->size[0])
            break;
        struct entry *e = d->table[0][d->rehashidx];
        uint64_t mask = d->size[1] - 1;
        while (e) {
            struct entry *next = e->next;
            uint64_t idx = entry_hash(d, e) & mask;
            e->next = d->table[1][idx];
            d->table[1][idx] = e;
            e = next;
        }
        d->table[0][d->rehashidx] = NULL;
        d->rehashidx++;
    }
    if ((uint64_t)d->rehashidx >= d->size[0]) {
        free(d->table[0]);
        d->table[0] = d->table[1];
        d->size[0] = d->size[1];
        d->table[1] = NULL;
        d->size[1] = 0;
        d->rehashidx = -1;
        return false;
    }
    return true;
}

void dict_resize_if_needed(struct dict *d)
{
    if (rehashing(d) || d->size[0] <= DICT_MIN_SIZE)
        return;
    /* Shrink when a tenth of the growth load, as Redis does at 10% full. */
    if (d->used * 10 < d->size[0] * MAX_LOAD)
        start_resize(d, d->used);
}

static inline bool key_eq(const struct entry *e, const void *key, size_t klen)
{
    size_t el;
    const char *k = entry_key(e, &el);
    return el == klen && memcmp(k, key, klen) == 0;
}

struct entry **dict_find_ref(struct dict *d, const void *key, size_t klen)
{
    if (d->used == 0)
        return NULL;
    if (rehashing(d))
        dict_rehash(d, 1);
    uint64_t h = store_hash(d->seed, key, klen);
    for (int t = 0; t <= (rehashing(d) ? 1 : 0); t++) {
        struct entry **ref = &d->table[t][h & (d->size[t] - 1)];
        while (*ref) {
            if (key_eq(*ref, key, klen))
                return ref;
            ref = &(*ref)->next;
        }
    }
    return NULL;
}

void dict_add(struct dict *d, struct entry *e)
{
    if (rehashing(d))
        dict_rehash(d, 1);
    else if (d->used >= MAX_LOAD * d->size[0])
        start_resize(d, d->used > DICT_MIN_SIZE ? d->used : DICT_MIN_SIZE);
    int t = rehashing(d) ? 1 : 0;
    uint64_t idx = entry_hash(d, e) & (d->size[t] - 1);
    e->next = d->table[t][idx];
    d->table[t][idx] = e;
    d->used++;
}

void dict_replace(struct entry **ref, struct entry *e)
{
    e->next = (*ref)->next;
    *ref = e;
}

struct entry *dict_unlink(struct dict *d, struct entry **ref)
{
    struct entry *e = *ref;
    *ref = e->next;
    e->next = NULL;
    d->used--;
    return e;
}

static inline uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0f0f0f0f0f0f0f0fULL) | ((v & 0x0f0f0f0f0f0f0f0fULL) << 4);
    return __builtin_bswap64(v);
}

static void visit_bucket(struct entry *e, void (*fn)(void *, struct entry *), void *arg)
{
    while (e) {
        struct entry *n = e->next;
        fn(arg, e);
        e = n;
    }
}

/* Advance v to the next cursor under mask m in reverse-binary order. */
static inline uint64_t next_cursor(uint64_t v, uint64_t m)
{
    v |= ~m;
    v = rev64(v);
    v++;
    return rev64(v);
}

uint64_t dict_scan(struct dict *d, uint64_t v, void (*fn)(void *, struct entry *), void *arg)
{
    if (d->used == 0)
        return 0;
    if (!rehashing(d)) {
        uint64_t m0 = d->size[0] - 1;
        visit_bucket(d->table[0][v & m0], fn, arg);
        return next_cursor(v, m0);
    }
    int small = d->size[0] <= d->size[1] ? 0 : 1, big = 1 - small;
    uint64_t m0 = d->size[small] - 1, m1 = d->size[big] - 1;
    visit_bucket(d->table[small][v & m0], fn, arg);
    /* Visit every bucket of the larger table that expands the small one. */
    do {
        visit_bucket(d->table[big][v & m1], fn, arg);
        v = next_cursor(v, m1);
    } while (v & (m0 ^ m1));
    return v;
}

/* dict_scan over up to `buckets` cursor steps. Outside a rehash the
 * buckets of a batch are prefetched together, then their first entries,
 * before any is visited: the reverse-binary order touches a new cache line
 * of the bucket array at every step and each entry is a miss, so one at a
 * time a long scan (the snapshot) waits on memory for most of its time. */
#define SCAN_BATCH 16

uint64_t dict_scan_many(struct dict *d, uint64_t v, unsigned buckets,
                        void (*fn)(void *, struct entry *), void *arg)
{
    if (d->used == 0)
        return 0;
    if (rehashing(d)) {
        while (buckets-- > 0 && (v = dict_scan(d, v, fn, arg)) != 0)
            ;
        return v;
    }
    uint64_t m = d->size[0] - 1;
    struct entry **t = d->table[0];
    while (buckets > 0) {
        uint64_t c[SCAN_BATCH];
        struct entry *h[SCAN_BATCH];
        unsigned n = 0;
        do {
            c[n++] = v & m;
            v = next_cursor(v, m);
        } while (v != 0 && n < SCAN_BATCH && n < buckets);
        for (unsigned i = 0; i < n; i++)
            __builtin_prefetch(&t[c[i]]);
        for (unsigned i = 0; i < n; i++) {
            h[i] = t[c[i]];
            if (h[i])
                __builtin_prefetch(h[i]);
        }
        for (unsigned i = 0; i < n; i++)
            visit_bucket(h[i], fn, arg);
        buckets -= n;
        if (v == 0)
            break;
    }
    return v;
}

/* splitmix64: every output bit is well mixed, so consecutive outputs can
 * pick a bucket and then an index among the gathered entries without the
 * correlation the low bits of xorshift generators have. */
static uint64_t rng_next(void)
{
    static __thread uint64_t state = 0x853c49e6748fea9bULL;
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* As Redis's dictGetFairRandomKey: gather up to FAIR_SAMPLE entries from
 * consecutive buckets at a random place (skipping ahead after a run of
 * empty ones; the last chain is sampled whole by reservoir) and pick one of
 * them. A plain random bucket favours entries alone in their chain; this is
 * near uniform, and exactly uniform for tables of at most FAIR_SAMPLE
 * entries (all of them are gathered), which Redis's distribution tests of
 * RANDOMKEY, SRANDMEMBER and HRANDFIELD check. */
#define FAIR_SAMPLE 20

struct entry *dict_random(struct dict *d)
{
    if (d->used == 0)
        return NULL;
    struct entry *pick[FAIR_SAMPLE];
    unsigned long count = d->used < FAIR_SAMPLE ? (unsigned long)d->used : FAIR_SAMPLE;
    unsigned long stored = 0, maxsteps = count * 10, emptylen = 0;

    dict_rehash(d, (int)count);
    int tables = rehashing(d) ? 2 : 1;
    uint64_t mask = d->size[0] - 1;
    if (tables == 2 && d->size[1] > d->size[0])
        mask = d->size[1] - 1;
    uint64_t i = rng_next() & mask;
    while (stored < count && maxsteps--) {
        for (int t = 0; t < tables && stored < count; t++) {
            /* Buckets of table 0 below rehashidx are already moved. */
            if (tables == 2 && t == 0 && i < (uint64_t)d->rehashidx) {
                if (i >= d->size[1])
                    i = (uint64_t)d->rehashidx;
                else
                    continue;
            }
            if (i >= d->size[t])
                continue;
            struct entry *e = d->table[t][i];
            if (!e) {
                if (++emptylen >= 5 && emptylen > count) {
                    i = rng_next() & mask;
                    emptylen = 0;
                }
                continue;
            }
            emptylen = 0;
            for (; e; e = e->next, stored++) {
                if (stored < count) {
                    pick[stored] = e;
                } else {
                    uint64_t r = rng_next() % (stored + 1);
                    if (r < count)
                        pick[r] = e;
                }
            }
        }
        i = (i + 1) & mask;
    }
    if (stored > count)
        stored = count;
    if (stored)
        return pick[rng_next() % stored];
    /* Only empty buckets met within the step bound: scan from a random
     * place for the first entry. */
    for (uint64_t k = 0;; k++) {
        uint64_t b = (i + k) & mask;
        for (int t = 0; t < tables; t++)
            if (b < d->size[t] && !(t == 0 && tables == 2 && b < (uint64_t)d->rehashidx) &&
                d->table[t][b])
                return d->table[t][b];
    }
}

void dict_foreach(struct dict *d, int (*fn)(void *, struct entry *), void *arg)
{
    for (int t = 0; t < 2; t++) {
        for (uint64_t i = 0; i < d->size[t]; i++) {
            for (struct entry *e = d->table[t][i]; e; e = e->next)
                if (fn(arg, e))
                    return;
        }
    }
}

/* Entries whose sizes dict_mem adds up exactly before extrapolating. */
#define MEM_SAMPLES 64

struct mem_sample {
    size_t bytes;
    unsigned n;
};

static int mem_entry(void *arg, struct entry *e)
{
    struct mem_sample *m = arg;
    m->bytes += entry_mem(e);
    return ++m->n == MEM_SAMPLES;
}

size_t dict_mem(const struct dict *d)
{
    size_t n = malloc_usable_size((void *)d);
    for (int t = 0; t < 2; t++)
        if (d->table[t])
            n += malloc_usable_size(d->table[t]);
    struct mem_sample m = {0, 0};
    dict_foreach((struct dict *)d, mem_entry, &m);
    if (m.n)
        n += (size_t)((double)m.bytes / m.n * (double)dict_size(d));
    return n;
}
