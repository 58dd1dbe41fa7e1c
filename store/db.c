/* Shards and databases: key lookup with lazy expiry, writes, deletes, and
 * the background work a shard does from its owner's cron (active expiry,
 * incremental rehash, shrinking).
 *
 * Expiry times live inside entries, so there is no second "expires" table.
 * Active expiry therefore walks the key table with a SCAN cursor and samples
 * the entries that carry an expiry, in the spirit of Redis's
 * activeExpireCycle: batches of 20 volatile keys, stop a database when fewer
 * than 10% of a batch had expired, and never exceed the time budget.
 *
 * Keys removed by the store itself (lazy and active expiry, eviction: see
 * db_expire_ref) are logged as DEL for the append-only file and, as in
 * Redis, are not counted as changes in the dirty counter.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "store.h"

static uint64_t rand_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)ts.tv_sec;
    x ^= (uint64_t)(uintptr_t)&ts;
    return x ^ (x >> 29);
}

struct shard *shard_new(int id, int ndb)
{
    struct shard *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->id = id;
    s->ndb = ndb;
    s->arena = -1;
    s->db = calloc(ndb, sizeof(struct db));
    if (!s->db)
        abort();
    uint64_t seed = rand_seed();
    for (int i = 0; i < ndb; i++) {
        dict_init(&s->db[i].keys, seed);
        dict_init(&s->db[i].watched, seed);
        dict_init(&s->db[i].blocked, seed);
    }
    return s;
}

void shard_free(struct shard *s)
{
    for (int i = 0; i < s->ndb; i++) {
        dict_free(&s->db[i].keys, entry_free);
        dict_free(&s->db[i].watched, entry_free);
        dict_free(&s->db[i].blocked, entry_free);
    }
    shard_evict_free(s);
    free(s->db);
    free(s);
}

void shard_tick(struct shard *s, int64_t now_ms)
{
    s->now_ms = now_ms;
    s->lru_clock = (uint32_t)(now_ms / 1000) & 0xffffff;
    s->lfu_minutes = (uint32_t)(now_ms / 60000) & 0xffff;
}

bool entry_is_expired(const struct shard *s, const struct entry *e)
{
    if (!(e->flags & ENTRY_EXPIRE))
        return false;
    return s->now_ms > entry_expire(e);
}

uint8_t store_snap_parity;
struct store_snap_hooks store_snap_hooks;

/* A key entry about to be unlinked, replaced or re-expired: if the running
 * snapshot has not written it, write it now. */
static inline void snap_before(struct shard *s, struct db *db, struct entry *e)
{
    if (entry_snap_pending(s, e))
        store_snap_hooks.entry(s, (int)(db - s->db), e);
}

/* A new entry in a key table belongs after the cut. */
static inline void snap_new(struct entry *e)
{
    e->flags = (uint8_t)((e->flags & ~ENTRY_SNAP) | store_snap_parity);
}

static void account_remove(struct db *db, const struct entry *e)
{
    if (e->flags & ENTRY_EXPIRE)
        db->volatile_keys--;
}

static void account_add(struct db *db, const struct entry *e)
{
    if (e->flags & ENTRY_EXPIRE)
        db->volatile_keys++;
}


/* ---- WATCH ----
 * db->watched maps a key to a struct watchers (an entry holding a pointer,
 * freed with the entry). Touching sets every watcher's flag. */

struct watchers {
    int n, cap;
    _Atomic int *flags[];
};

static void touch_key(struct db *db, const void *key, size_t klen)
{
    if (dict_size(&db->watched) == 0)
        return;
    struct entry **ref = dict_find_ref(&db->watched, key, klen);
    if (!ref)
        return;
    struct watchers *w = entry_get_ptr(*ref);
    for (int i = 0; i < w->n; i++)
        atomic_store_explicit(w->flags[i], 1, memory_order_relaxed);
}

static void touch_entry(struct db *db, const struct entry *e)
{
    if (dict_size(&db->watched) == 0)
        return;
    size_t klen;
    const char *key = entry_key(e, &klen);
    touch_key(db, key, klen);
}

/* For a flush: touch a watched key only if the db holds it (Redis 7.0). */
static int touch_if_present(void *arg, struct entry *e)
{
    struct db *db = arg;
    size_t klen;
    const char *key = entry_key(e, &klen);
    if (dict_find_ref(&db->keys, key, klen)) {
        struct watchers *w = entry_get_ptr(e);
        for (int i = 0; i < w->n; i++)
            atomic_store_explicit(w->flags[i], 1, memory_order_relaxed);
    }
    return 0;
}

void db_watch(struct db *db, const void *key, size_t klen, _Atomic int *flag)
{
    struct entry **ref = dict_find_ref(&db->watched, key, klen);
    struct watchers *w;
    if (!ref) {
        w = malloc(sizeof(*w) + 4 * sizeof(_Atomic int *));
        if (!w)
            abort();
        w->n = 0;
        w->cap = 4;
        dict_add(&db->watched, entry_new_ptr(key, klen, OBJ_STRING, ENC_RAW, w, -1));
    } else {
        w = entry_get_ptr(*ref);
        for (int i = 0; i < w->n; i++)
            if (w->flags[i] == flag)
                return;
        if (w->n == w->cap) {
            w->cap *= 2;
            w = realloc(w, sizeof(*w) + (size_t)w->cap * sizeof(_Atomic int *));
            if (!w)
                abort();
            entry_set_ptr(*ref, w);
        }
    }
    w->flags[w->n++] = flag;
}

void db_unwatch(struct db *db, const void *key, size_t klen, _Atomic int *flag)
{
    struct entry **ref = dict_find_ref(&db->watched, key, klen);
    if (!ref)
        return;
    struct watchers *w = entry_get_ptr(*ref);
    for (int i = 0; i < w->n; i++) {
        if (w->flags[i] == flag) {
            w->flags[i] = w->flags[--w->n];
            break;
        }
    }
    if (w->n == 0)
        entry_free(dict_unlink(&db->watched, ref));
}

/* ---- blocked clients ----
 * db->blocked maps a key to its waiters in blocking order (an entry holding
 * a pointer, freed with the entry), like db->watched. */

struct waiters {
    int n, cap;
    struct store_waiter *w[];
};

/* Wake the first waiter for the type the key holds now (none if absent). */
static void wake_first(struct db *db, const struct waiters *ws, const void *key, size_t klen)
{
    struct entry **ref = dict_find_ref(&db->keys, key, klen);
    if (!ref)
        return;
    for (int i = 0; i < ws->n; i++) {
        if (ws->w[i]->type == entry_type(*ref)) {
            ws->w[i]->wake(ws->w[i]);
            return;
        }
    }
}

/* The key was written. */
static void key_ready(struct db *db, const void *key, size_t klen)
{
    if (dict_size(&db->blocked) == 0)
        return;
    struct entry **ref = dict_find_ref(&db->blocked, key, klen);
    if (ref)
        wake_first(db, entry_get_ptr(*ref), key, klen);
}

void db_block(struct db *db, const void *key, size_t klen, struct store_waiter *w)
{
    struct entry **ref = dict_find_ref(&db->blocked, key, klen);
    struct waiters *ws;
    if (!ref) {
        ws = malloc(sizeof(*ws) + 4 * sizeof(ws->w[0]));
        if (!ws)
            abort();
        ws->n = 0;
        ws->cap = 4;
        dict_add(&db->blocked, entry_new_ptr(key, klen, OBJ_STRING, ENC_RAW, ws, -1));
    } else {
        ws = entry_get_ptr(*ref);
        for (int i = 0; i < ws->n; i++)
            if (ws->w[i] == w)
                return;
        if (ws->n == ws->cap) {
            ws->cap *= 2;
            ws = realloc(ws, sizeof(*ws) + (size_t)ws->cap * sizeof(ws->w[0]));
            if (!ws)
                abort();
            entry_set_ptr(*ref, ws);
        }
    }
    ws->w[ws->n++] = w;
}

void db_unblock(struct db *db, const void *key, size_t klen, struct store_waiter *w)
{
    struct entry **ref = dict_find_ref(&db->blocked, key, klen);
    if (!ref)
        return;
    struct waiters *ws = entry_get_ptr(*ref);
    int i = 0;
    while (i < ws->n && ws->w[i] != w)
        i++;
    if (i == ws->n)
        return;
    memmove(&ws->w[i], &ws->w[i + 1], (size_t)(ws->n - i - 1) * sizeof(ws->w[0]));
    ws->n--;
    if (ws->n == 0)
        entry_free(dict_unlink(&db->blocked, ref));
    else
        wake_first(db, ws, key, klen); /* the key may still serve the next one */
}

void db_changed(struct shard *s, struct db *db, const void *key, size_t klen, uint64_t n)
{
    shard_dirty_add(s, n);
    touch_key(db, key, klen);
    key_ready(db, key, klen);
}

struct entry *db_store_value(struct shard *s, struct db *db, struct entry **ref, int enc,
                             void *ptr, uint64_t changes)
{
    struct entry *e = *ref;
    if (entry_enc(e) == enc) {
        entry_set_ptr(e, ptr);
        if (changes) {
            size_t klen;
            const char *key = entry_key(e, &klen);
            db_changed(s, db, key, klen, changes);
        }
        return e;
    }
    size_t klen;
    const char *key = entry_key(e, &klen);
    struct entry *ne = entry_new_ptr(key, klen, entry_type(e), enc, ptr, entry_expire(e));
    /* The old value was consumed by the conversion: a running snapshot has
     * it already (the dataplane writes a write command's keys first), and
     * it could not be written any more anyway. */
    if (entry_snap_pending(s, e))
        snap_new(e);
    entry_set_ptr(e, NULL); /* consumed by the conversion: not freed with e */
    db_replace(s, db, ref, ne); /* counts one change */
    if (changes > 1)
        db_changed(s, db, key, klen, changes - 1);
    return ne;
}

struct entry *db_unlink_ref(struct shard *s, struct db *db, struct entry **ref)
{
    snap_before(s, db, *ref);
    struct entry *e = dict_unlink(&db->keys, ref);
    account_remove(db, e);
    touch_entry(db, e);
    shard_dirty_add(s, 1);
    return e;
}

void db_delete_ref(struct shard *s, struct db *db, struct entry **ref)
{
    entry_free(db_unlink_ref(s, db, ref));
}

/* Remove a key the store itself decided to drop (see store.h). */
static void drop_ref(struct shard *s, struct db *db, struct entry **ref)
{
    snap_before(s, db, *ref);
    struct entry *e = dict_unlink(&db->keys, ref);
    size_t klen;
    const char *key = entry_key(e, &klen);
    account_remove(db, e);
    touch_entry(db, e);
    store_propagate_del(s, (int)(db - s->db), key, klen);
    entry_free(e);
}

void db_expire_ref(struct shard *s, struct db *db, struct entry **ref)
{
    drop_ref(s, db, ref);
    s->stats.expired_keys++;
}

void db_evict_ref(struct shard *s, struct db *db, struct entry **ref)
{
    drop_ref(s, db, ref);
    s->stats.evicted_keys++;
}

struct entry *db_lookup(struct shard *s, struct db *db, const void *key, size_t klen,
                        int flags, struct entry ***refp)
{
    struct entry **ref = dict_find_ref(&db->keys, key, klen);
    bool stats = !(flags & (LOOKUP_NOSTATS | LOOKUP_WRITE));

    if (ref && entry_is_expired(s, *ref)) {
        db_expire_ref(s, db, ref);
        ref = NULL;
    }
    if (!ref) {
        if (stats)
            s->stats.keyspace_misses++;
        return NULL;
    }
    if (stats)
        s->stats.keyspace_hits++;
    if (!(flags & LOOKUP_NOTOUCH))
        store_touch(s, *ref);
    if (refp)
        *refp = ref;
    return *ref;
}

void db_replace(struct shard *s, struct db *db, struct entry **ref, struct entry *e)
{
    struct entry *old = *ref;
    snap_before(s, db, old);
    snap_new(e);
    account_remove(db, old);
    dict_replace(ref, e);
    account_add(db, e);
    store_clock_new(s, e, old);
    entry_free(old);
    touch_entry(db, e);
    shard_dirty_add(s, 1);
    if (dict_size(&db->blocked)) {
        size_t klen;
        const char *key = entry_key(e, &klen);
        key_ready(db, key, klen);
    }
}

struct entry *db_set(struct shard *s, struct db *db, struct entry *e)
{
    size_t klen;
    const char *key = entry_key(e, &klen);
    struct entry **ref = dict_find_ref(&db->keys, key, klen);

    if (ref) {
        db_replace(s, db, ref, e);
        return e;
    }
    store_clock_new(s, e, NULL);
    snap_new(e);
    dict_add(&db->keys, e);
    account_add(db, e);
    touch_entry(db, e);
    shard_dirty_add(s, 1);
    key_ready(db, key, klen);
    return e;
}

bool db_delete(struct shard *s, struct db *db, const void *key, size_t klen)
{
    struct entry **ref;
    if (!db_lookup(s, db, key, klen, LOOKUP_WRITE | LOOKUP_NOTOUCH, &ref))
        return false;
    db_delete_ref(s, db, ref);
    return true;
}

struct entry *db_set_expire(struct shard *s, struct db *db, struct entry **ref, int64_t expire)
{
    struct entry *old = *ref;
    snap_before(s, db, old);
    struct entry *e = entry_with_expire(old, expire);
    e->meta = old->meta;
    snap_new(e);
    account_remove(db, old);
    dict_replace(ref, e);
    account_add(db, e);
    free(old); /* the value moved to e */
    touch_entry(db, e);
    shard_dirty_add(s, 1);
    return e;
}

uint64_t db_size(const struct db *db) { return dict_size(&db->keys); }

static void flush(struct shard *s, struct db *db, bool lazy)
{
    if (s->snap)
        store_snap_hooks.db(s, (int)(db - s->db));
    shard_dirty_add(s, dict_size(&db->keys));
    dict_foreach(&db->watched, touch_if_present, db);
    if (lazy)
        lazyfree_table(&db->keys);
    else
        dict_free(&db->keys, entry_free);
    db->volatile_keys = 0;
    db->expire_cursor = 0;
    db->avg_ttl = 0;
}

void db_flush(struct shard *s, struct db *db) { flush(s, db, false); }
void db_flush_lazy(struct shard *s, struct db *db) { flush(s, db, true); }

bool db_delete_lazy(struct shard *s, struct db *db, const void *key, size_t klen)
{
    struct entry **ref;
    if (!db_lookup(s, db, key, klen, LOOKUP_WRITE | LOOKUP_NOTOUCH, &ref))
        return false;
    lazyfree_entry(db_unlink_ref(s, db, ref));
    return true;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

#define EXPIRE_BATCH 20
#define EXPIRE_BUCKETS_PER_BATCH (EXPIRE_BATCH * 20)

struct expire_scan {
    struct shard *s;
    int sampled;
    int nexp;
    int64_t ttl_sum;
    char *keys[EXPIRE_BUCKETS_PER_BATCH];
    size_t lens[EXPIRE_BUCKETS_PER_BATCH];
    int nkeys;
};

static void expire_visit(void *arg, struct entry *e)
{
    struct expire_scan *x = arg;
    if (!(e->flags & ENTRY_EXPIRE))
        return;
    x->sampled++;
    if (entry_is_expired(x->s, e)) {
        if (x->nkeys < EXPIRE_BUCKETS_PER_BATCH) {
            size_t kl;
            const char *k = entry_key(e, &kl);
            x->keys[x->nkeys] = malloc(kl ? kl : 1);
            if (!x->keys[x->nkeys])
                abort();
            memcpy(x->keys[x->nkeys], k, kl);
            x->lens[x->nkeys++] = kl;
        }
    } else {
        x->ttl_sum += entry_expire(e) - x->s->now_ms;
    }
}

uint64_t db_active_expire(struct shard *s, uint64_t budget_us)
{
    uint64_t start = now_us(), removed = 0;

    for (int i = 0; i < s->ndb; i++) {
        struct db *db = &s->db[i];
        for (;;) {
            if (db->volatile_keys == 0)
                break;
            struct expire_scan x = {.s = s};
            int buckets = 0;
            do {
                db->expire_cursor = dict_scan(&db->keys, db->expire_cursor, expire_visit, &x);
                buckets++;
            } while (db->expire_cursor && x.sampled < EXPIRE_BATCH &&
                     buckets < EXPIRE_BUCKETS_PER_BATCH && x.nkeys < EXPIRE_BUCKETS_PER_BATCH - 16);
            for (int k = 0; k < x.nkeys; k++) {
                struct entry **ref = dict_find_ref(&db->keys, x.keys[k], x.lens[k]);
                if (ref && entry_is_expired(s, *ref)) {
                    db_expire_ref(s, db, ref);
                    removed++;
                }
                free(x.keys[k]);
            }
            int live = x.sampled - x.nkeys;
            if (live > 0) {
                int64_t avg = x.ttl_sum / live;
                db->avg_ttl = db->avg_ttl ? (db->avg_ttl / 50) * 49 + avg / 50 : avg;
            }
            if (now_us() - start > budget_us)
                goto out;
            /* Few expired in this batch, or a full pass done: next db. */
            if (x.sampled == 0 || x.nkeys * 10 < x.sampled || db->expire_cursor == 0)
                break;
        }
    }
out:
    s->stats.expire_cycle_cpu_ms += (now_us() - start) / 1000;
    return removed;
}

void db_cron(struct shard *s, uint64_t budget_us)
{
    uint64_t start = now_us();
    for (int i = 0; i < s->ndb; i++) {
        struct dict *d = &s->db[i].keys;
        dict_resize_if_needed(d);
        while (dict_rehash(d, 100))
            if (now_us() - start > budget_us)
                return;
    }
}

/* Glob match with single-character tokens (?, [...], literal, \x) and '*'.
 * Because every token but '*' consumes exactly one byte, the classic
 * greedy match with one backtrack point is exact and runs in O(|p|*|s|),
 * so hostile patterns cannot blow up as naive recursion would. */
static bool match_one(const char **pp, const char *pend, unsigned char c, bool nocase)
{
    const char *p = *pp;
    bool ok = false;
    unsigned char raw = c;

    if (nocase)
        c = (unsigned char)tolower(c);
    if (*p == '?') {
        *pp = p + 1;
        return true;
    }
    if (*p == '[') {
        bool neg = false;
        p++;
        if (p < pend && *p == '^') {
            neg = true;
            p++;
        }
        for (;;) {
            if (p >= pend) {
                p--; /* unterminated: Redis treats the class as ended */
                break;
            }
            if (*p == '\\' && pend - p >= 2) {
                p++;
                if ((unsigned char)*p == raw) /* escaped bytes compare exactly */
                    ok = true;
            } else if (*p == ']') {
                break;
            } else if (pend - p >= 3 && p[1] == '-') {
                /* Ranges compare signed chars, as Redis's matcher does. */
                int a = (signed char)p[0], b = (signed char)p[2], x = (signed char)raw;
                if (a > b) {
                    int t = a;
                    a = b;
                    b = t;
                }
                if (nocase) {
                    a = tolower(a);
                    b = tolower(b);
                    x = tolower(x);
                }
                if (x >= a && x <= b)
                    ok = true;
                p += 2;
            } else if ((unsigned char)(nocase ? tolower(*p) : *p) == c) {
                ok = true;
            }
            p++;
        }
        *pp = p + 1;
        return neg ? !ok : ok;
    }
    if (*p == '\\' && pend - p >= 2)
        p++;
    ok = (unsigned char)(nocase ? tolower(*p) : *p) == c;
    *pp = p + 1;
    return ok;
}

bool store_match(const char *pat, size_t plen, const char *s, size_t slen, bool nocase)
{
    const char *p = pat, *pend = pat + plen, *send = s + slen;
    const char *star_p = NULL, *star_s = NULL;

    /* As in Redis, the empty string matches only the empty pattern (KEYS *
     * and SCAN MATCH * never call the matcher). */
    if (slen == 0)
        return plen == 0;
    while (s < send) {
        if (p < pend && *p == '*') {
            while (p < pend && *p == '*')
                p++;
            if (p == pend)
                return true;
            star_p = p;
            star_s = s;
            continue;
        }
        const char *np = p;
        if (p < pend && match_one(&np, pend, (unsigned char)*s, nocase)) {
            p = np;
            s++;
            continue;
        }
        if (!star_p)
            return false;
        p = star_p;
        s = ++star_s;
    }
    while (p < pend && *p == '*')
        p++;
    return p == pend;
}
