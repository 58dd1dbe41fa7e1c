/* The store: shards, databases, the key table and entries.
 *
 * A shard is owned by exactly one worker thread; nothing here is locked.
 * Each shard has `databases` logical databases; each database is one hash
 * table of entries with incremental resize (dict.c).
 *
 * An entry is one allocation that holds the key, the expiry time (only when
 * one is set) and, for small strings, the value itself:
 *
 *   next (8) | meta: type:4 enc:4 lru:24 (4) | flags (1) |
 *   [expire ms, 8, if ENTRY_EXPIRE] | varint klen | key | value
 *
 * where value is, by encoding: ENC_INT an int64; ENC_EMBSTR a varint length
 * and the bytes; any other encoding a pointer to the object that holds it
 * (ENC_RAW: struct sbuf). The encoding is what OBJECT ENCODING reports, and
 * follows Redis 7.0's rules for which one a value gets.
 *
 * An entry's address changes when its value is replaced or its expiry added,
 * so callers hold entry pointers only within one command.
 */
#ifndef SLUICE_STORE_H
#define SLUICE_STORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum obj_type { OBJ_STRING = 0, OBJ_LIST = 1, OBJ_SET = 2, OBJ_ZSET = 3, OBJ_HASH = 4 };

enum obj_enc {
    ENC_RAW = 0,
    ENC_INT = 1,
    ENC_HT = 2,
    ENC_EMBSTR = 8,
    ENC_LISTPACK = 11,
    ENC_INTSET = 6,
    ENC_SKIPLIST = 7,
    ENC_QUICKLIST = 9,
};

#define ENTRY_EXPIRE 0x01
#define ENTRY_SNAP 0x02 /* snapshot parity: see "snapshot hooks" below */

#define EMBSTR_MAX 44 /* longest string Redis 7.0 keeps as embstr */

struct entry {
    struct entry *next;
    uint32_t meta;
    uint8_t flags;
    unsigned char data[];
};

/* The value object of a collection type, hung off entry_get_ptr(). Each
 * type (t_list.c, t_set.c, t_zset.c, t_hash.c) provides these for every
 * encoding it uses. */
struct obj_ops {
    void (*free)(void *obj, int enc);
    void *(*dup)(const void *obj, int enc);   /* deep copy (COPY) */
    size_t (*mem)(const void *obj, int enc);  /* bytes allocated, as MEMORY USAGE counts */
};
extern const struct obj_ops list_ops, set_ops, zset_ops, hash_ops;

/* Encoding thresholds of the collection types, with Redis 7.0's names and
 * defaults (set by the config layer). */
struct store_limits {
    long long hash_max_listpack_entries, hash_max_listpack_value;
    long long set_max_intset_entries;
    long long zset_max_listpack_entries, zset_max_listpack_value;
    long long list_max_listpack_size; /* > 0 entries per node, < 0 -1..-5: 4..64 KB */
};
extern struct store_limits store_limits;

/* A growable string value, owned by its entry (ENC_RAW). */
struct sbuf {
    size_t len, cap;
    char data[];
};

struct dict {
    struct entry **table[2];
    uint64_t size[2]; /* buckets, power of two or 0 */
    uint64_t used;     /* entries in both tables */
    int64_t rehashidx; /* -1 when not rehashing */
    uint64_t seed;
};

struct db {
    struct dict keys;
    struct dict watched;    /* WATCHed key -> its watchers (see db_watch) */
    struct dict blocked;    /* key -> clients blocked on it (see db_block) */
    uint64_t volatile_keys; /* entries with ENTRY_EXPIRE */
    uint64_t expire_cursor; /* active expiry scan position */
    int64_t avg_ttl;
};

struct shard_stats {
    uint64_t expired_keys;
    uint64_t expired_stale_perc;
    uint64_t expire_cycle_cpu_ms;
    uint64_t keyspace_hits;
    uint64_t keyspace_misses;
    uint64_t evicted_keys;
};

struct shard {
    int id;
    int ndb;
    struct db *db;
    int64_t now_ms;     /* cached clock, refreshed by the owner each loop turn */
    uint32_t lru_clock; /* seconds-resolution LRU clock (24 bits) */
    /* Minutes of the LFU decay (16 bits). lru_clock and this follow the wall
     * clock even while now_ms is held (the AOF loader holds it at 0). */
    uint32_t lfu_minutes;
    uint64_t dirty;     /* changes since the last save */
    struct shard_stats stats;
    struct evict_pool *evict_pool; /* eviction candidates (evict.c) */
    uint32_t sieve_order;          /* insertions, for allkeys-sieve */
    int arena;                     /* the jemalloc arena of its worker, or -1 */
    /* Non-NULL while a snapshot still has entries of this shard to write
     * (dataplane/snapshot.c owns it; whoever holds the shard uses it). */
    struct snap_shard *snap;
};

/* shard->dirty is written only by the thread holding the shard and read by
 * worker 0's save-rule check (persist.c) without holding it: relaxed atomic
 * loads and stores, no read-modify-write needed. */
static inline uint64_t shard_dirty(const struct shard *s)
{
    return __atomic_load_n(&s->dirty, __ATOMIC_RELAXED);
}
static inline void shard_dirty_set(struct shard *s, uint64_t v)
{
    __atomic_store_n(&s->dirty, v, __ATOMIC_RELAXED);
}
static inline void shard_dirty_add(struct shard *s, uint64_t n)
{
    shard_dirty_set(s, shard_dirty(s) + n);
}

/* ---- snapshot hooks (db.c; the snapshot itself is dataplane/snapshot.c) ----
 * A fork-less snapshot writes each shard's keys as they were at its cut,
 * while commands go on changing them. At the cut store_snap_parity flips
 * (0 <-> ENTRY_SNAP, every shard held); a key entry whose ENTRY_SNAP bit
 * differs from it is "not yet written" while its shard has s->snap. Every
 * entry put into a key table gets the current parity (db_set, db_replace,
 * db_set_expire), so a key written after the cut is never part of it, and
 * no pass over the keys is needed at the cut. Before the store unlinks,
 * replaces or re-expires a not-yet-written entry, and before it flushes a
 * db, it calls the hooks, which write the old state first. Changes made in
 * place (INCR, LPUSH, HSET ... on the existing value) are not seen here:
 * the dataplane writes a write command's keys before the command runs. */
extern uint8_t store_snap_parity;
struct store_snap_hooks {
    void (*entry)(struct shard *s, int dbid, struct entry *e); /* e about to change */
    void (*db)(struct shard *s, int dbid);                     /* db about to be flushed */
};
extern struct store_snap_hooks store_snap_hooks;

static inline bool entry_snap_pending(const struct shard *s, const struct entry *e)
{
    return s->snap && (e->flags & ENTRY_SNAP) != store_snap_parity;
}

/* ---- hashing and the table (dict.c) ---- */

uint64_t store_hash(uint64_t seed, const void *key, size_t len);
void dict_init(struct dict *d, uint64_t seed);
void dict_free(struct dict *d, void (*free_entry)(struct entry *));
uint64_t dict_size(const struct dict *d);
/* Address of the link that points at the entry with this key (so it can be
 * replaced or unlinked), or NULL. Does one rehash step when rehashing. */
struct entry **dict_find_ref(struct dict *d, const void *key, size_t klen);
/* Insert an entry whose key is not present. */
void dict_add(struct dict *d, struct entry *e);
/* Replace *ref (the old entry stays allocated; the caller frees it). */
void dict_replace(struct entry **ref, struct entry *e);
/* Unlink *ref from its chain and return the entry. */
struct entry *dict_unlink(struct dict *d, struct entry **ref);
/* Do up to n bucket moves of incremental rehash; true if more remain. */
bool dict_rehash(struct dict *d, int n);
/* Grow or shrink when the fill calls for it (called from cron). */
void dict_resize_if_needed(struct dict *d);
/* Stateless scan in reverse-binary cursor order (every entry present for the
 * whole iteration is visited at least once). Calls fn for each entry of the
 * visited bucket(s); returns the next cursor, 0 when done. fn must not
 * modify the table. */
uint64_t dict_scan(struct dict *d, uint64_t cursor,
                   void (*fn)(void *arg, struct entry *e), void *arg);
/* dict_scan for up to `buckets` steps at once (prefetching ahead); the
 * same cursor and guarantee. */
uint64_t dict_scan_many(struct dict *d, uint64_t cursor, unsigned buckets,
                        void (*fn)(void *arg, struct entry *e), void *arg);
/* A random entry, or NULL when empty. */
struct entry *dict_random(struct dict *d);
/* Bytes of a table allocated on its own (the struct, its bucket arrays, its
 * entries): exact up to 64 entries, then extrapolated from the first 64, as
 * Redis samples, so MEMORY USAGE and eviction stay O(1) on huge
 * collections. */
size_t dict_mem(const struct dict *d);
/* Visit every entry; fn returns nonzero to stop. fn must not modify. */
void dict_foreach(struct dict *d, int (*fn)(void *arg, struct entry *e), void *arg);

/* ---- entries (entry.c) ---- */

static inline int entry_type(const struct entry *e) { return e->meta >> 28; }
static inline int entry_enc(const struct entry *e) { return (e->meta >> 24) & 0xf; }
#define LRU_CLOCK_MAX ((1u << 24) - 1) /* Redis's: the 24-bit access clock wraps */
static inline uint32_t entry_lru(const struct entry *e) { return e->meta & 0xffffff; }
static inline void entry_set_lru(struct entry *e, uint32_t v)
{
    e->meta = (e->meta & 0xff000000u) | (v & 0xffffffu);
}
const char *entry_key(const struct entry *e, size_t *len);
int64_t entry_expire(const struct entry *e); /* -1 when none */
/* The string value: for ENC_INT it is formatted into buf (>= 21 bytes). */
const char *entry_str(const struct entry *e, size_t *len, char *buf);
/* For ENC_INT entries. */
int64_t entry_int(const struct entry *e);
/* The value pointer of an ENC_RAW string (struct sbuf *) or of a
 * collection type. The slot inside the packed entry is unaligned, so it is
 * only read and written through these. */
void *entry_get_ptr(const struct entry *e);
void entry_set_ptr(struct entry *e, void *p);
/* Overwrite the value of an ENC_INT entry in place. */
void entry_set_int(struct entry *e, int64_t v);

/* Which encoding a new string value gets, following Redis 7.0: */
enum str_rule {
    STR_SET,   /* SET and friends: int if canonical integer, embstr if short, else raw */
    STR_NOINT, /* INCRBYFLOAT results: embstr if short, else raw */
    STR_RAW,   /* APPEND, SETRANGE, SETBIT, BITOP ... results: always raw */
};
struct entry *entry_new_string(const void *key, size_t klen, const void *val, size_t vlen,
                               int64_t expire, enum str_rule rule);
struct entry *entry_new_int(const void *key, size_t klen, int64_t v, int64_t expire);
/* Entry for a collection type holding ptr (owned by the entry). */
struct entry *entry_new_ptr(const void *key, size_t klen, int type, int enc, void *ptr,
                            int64_t expire);
/* Copy of e with a different expiry (-1 removes it); frees nothing. */
struct entry *entry_with_expire(const struct entry *e, int64_t expire);
/* Copy of e under another key (RENAME, COPY keeps value; deep copy if
 * deep: the value object is duplicated rather than moved). */
struct entry *entry_rekey(const struct entry *e, const void *key, size_t klen, bool deep);
/* Free the entry and its value. */
void entry_free(struct entry *e);
/* Bytes used by the entry and its value, as allocated. */
size_t entry_mem(const struct entry *e);

/* Grow a raw string buffer to hold at least len bytes (keeps contents,
 * zero-fills new bytes and sets len). Returns the possibly moved buffer. */
struct sbuf *sbuf_resize(struct sbuf *b, size_t len);
/* A buffer of exactly len bytes copied from p, or zero-filled if p is NULL. */
struct sbuf *sbuf_new(const void *p, size_t len);

/* ---- shard and databases (db.c) ---- */

#define LOOKUP_NONE 0
#define LOOKUP_NOTOUCH 1  /* do not update LRU */
#define LOOKUP_NOSTATS 2  /* do not count hits/misses */
#define LOOKUP_WRITE 4    /* lookup for a write: no hit/miss stats */

struct shard *shard_new(int id, int ndb);
void shard_free(struct shard *s);
/* Refresh the shard's cached clocks; call once per loop turn. */
void shard_tick(struct shard *s, int64_t now_ms);

/* Find a live key. An expired key is deleted on the way (counted as
 * expired) and NULL returned. ref, if given, gets the entry's link. */
struct entry *db_lookup(struct shard *s, struct db *db, const void *key, size_t klen,
                        int flags, struct entry ***ref);
/* Insert or replace the value of key with e (whose key must equal key).
 * The old entry, if any, is freed. Returns the new entry. */
struct entry *db_set(struct shard *s, struct db *db, struct entry *e);
/* Replace the live entry at *ref with e (same key). */
void db_replace(struct shard *s, struct db *db, struct entry **ref, struct entry *e);
/* Delete a key; true if it existed (and was live). */
bool db_delete(struct shard *s, struct db *db, const void *key, size_t klen);
/* Delete the entry at *ref. */
void db_delete_ref(struct shard *s, struct db *db, struct entry **ref);
/* A command changed the collection value of the live entry at *ref in
 * place (`changes` of them, 0: none): point the entry at ptr, moved into a
 * new entry when its encoding is now enc (the encoding lives in the entry;
 * the old value was consumed by the conversion), count the changes and
 * tell watchers and blocked clients. Returns the key's entry. */
struct entry *db_store_value(struct shard *s, struct db *db, struct entry **ref, int enc,
                             void *ptr, uint64_t changes);
/* The store removes the key at *ref on its own: it expired (lazily on
 * access, or by the active cycle; counted in expired_keys) or was evicted
 * (counted in evicted_keys). No command changed the dataset, so the dirty
 * counter does not move (as in Redis 7.0, a read that meets an expired
 * key is still a read); watchers are told, and the removal is logged as
 * DEL key through store_propagate_del (cmd.h) so that a replay that does
 * not expire or evict while loading ends with the same keys. */
void db_expire_ref(struct shard *s, struct db *db, struct entry **ref);
void db_evict_ref(struct shard *s, struct db *db, struct entry **ref);
/* Take the live entry at *ref out of the db without freeing it (its value
 * can then move to another entry: RENAME, MOVE). */
struct entry *db_unlink_ref(struct shard *s, struct db *db, struct entry **ref);
/* Set or clear (expire = -1) the expiry of the live entry at *ref. Returns
 * the new entry. */
struct entry *db_set_expire(struct shard *s, struct db *db, struct entry **ref,
                            int64_t expire);
uint64_t db_size(const struct db *db);
void db_flush(struct shard *s, struct db *db);
/* The same, freeing what goes in the background (UNLINK, FLUSH* ASYNC). */
bool db_delete_lazy(struct shard *s, struct db *db, const void *key, size_t klen);
void db_flush_lazy(struct shard *s, struct db *db);
/* A command changed the live key in place (INCR, APPEND, SETBIT...):
 * counts n changes and tells the key's watchers. db_set, db_replace,
 * db_delete*, db_set_expire and db_flush do this themselves. */
void db_changed(struct shard *s, struct db *db, const void *key, size_t klen, uint64_t n);

/* WATCH: a watcher is an atomic int flag owned by a client. Any change to
 * a watched key (write, delete, expiry, flush) sets the flag to 1; with
 * several shards, threads holding different shards may set the same
 * client's flag, hence atomic (relaxed: only ever set to 1, and read after
 * the reader took the shards). A watcher must be unwatched before its
 * flag's memory goes away. Costs nothing to writes while no key of the db
 * is watched. */
void db_watch(struct db *db, const void *key, size_t klen, _Atomic int *flag);
void db_unwatch(struct db *db, const void *key, size_t klen, _Atomic int *flag);
bool entry_is_expired(const struct shard *s, const struct entry *e);

/* Blocked clients (BLPOP, BZPOPMIN, ...): a waiter is registered on every
 * key its command waits for, in blocking order per key. When a key is
 * written (db_set, db_replace, db_changed) its first waiter for the type it
 * now holds is woken; when a waiter leaves (served, timed out, gone) and the
 * key holds a value, the first one is woken again. So each key serves its waiters first come, first
 * served, and only one at a time re-runs its command. wake() runs on the
 * thread that holds the key's shard, which may not be the waiter's: it may
 * only touch what is safe across threads. A waiter must be unblocked from
 * every key before its memory goes away. */
struct store_waiter {
    void (*wake)(struct store_waiter *w);
    int type; /* the value type it waits for: only that type wakes it (Redis 7.0) */
};
void db_block(struct db *db, const void *key, size_t klen, struct store_waiter *w);
void db_unblock(struct db *db, const void *key, size_t klen, struct store_waiter *w);

/* Active expiry: reclaim expired keys for at most budget_us microseconds.
 * Returns the number of keys removed. */
uint64_t db_active_expire(struct shard *s, uint64_t budget_us);
/* Incremental rehash and resize work for at most budget_us. */
void db_cron(struct shard *s, uint64_t budget_us);

/* ---- SCAN over one database (t_keys.c) ---- */

#define SCAN_ANY_TYPE (-1)
#define SCAN_NO_TYPE (-2) /* a type name no key can have */
/* One SCAN step: visit buckets from cursor until count entries were seen
 * (or 10*count buckets visited); emit every live key matching pat (NULL:
 * any) and type. Returns the next cursor, 0 when done. */
uint64_t store_scan(struct shard *s, struct db *db, uint64_t cursor, long long count,
                    const char *pat, size_t plen, int type,
                    void (*emit)(void *arg, const char *key, size_t klen), void *arg);

/* ---- the memory limit (evict.c) ---- */

/* In the order Redis lists them in its CONFIG SET error. */
enum evict_policy {
    EVICT_VOLATILE_LRU,
    EVICT_VOLATILE_LFU,
    EVICT_VOLATILE_RANDOM,
    EVICT_VOLATILE_TTL,
    EVICT_ALLKEYS_LRU,
    EVICT_ALLKEYS_LFU,
    EVICT_ALLKEYS_RANDOM,
    EVICT_NOEVICTION,
    EVICT_ALLKEYS_SIEVE, /* beyond Redis: see evict.c */
};

/* maxmemory and its companions, with Redis's names (set by the config
 * layer; read by every shard without locks). */
struct store_evict {
    long long maxmemory; /* bytes; 0: no limit */
    int policy;          /* enum evict_policy */
    int samples, tenacity, lfu_log_factor, lfu_decay_time;
};
extern struct store_evict store_evict;

/* Every thread that allocates or frees store memory calls this once, and
 * store_mem_unregister_thread before it exits (its net bytes stay counted;
 * the call lingers a couple of milliseconds, see evict.c). */
void store_mem_register_thread(void);
void store_mem_unregister_thread(void);
/* Bytes the process holds through malloc, cheap enough for every write. */
size_t store_used_memory(void);
/* The access clock of an entry: on a read or write of it, and on a new
 * entry (old: the entry it replaces, or NULL). LRU or LFU by the policy. */
void store_touch(struct shard *s, struct entry *e);
void store_clock_new(struct shard *s, struct entry *e, const struct entry *old);
bool store_policy_lfu(void);
bool store_policy_sieve(void);
int store_lfu_freq(const struct shard *s, const struct entry *e); /* OBJECT FREQ */
/* A key loaded from an RDB with a FREQ (lfu_freq 0..255) or IDLE (idle
 * seconds) record, -1 for none: as Redis's objectSetLRUOrLFU, the counter
 * (as of now) under an LFU policy, else the access time idle seconds ago
 * (not under allkeys-sieve, whose bits are not a clock). */
void store_clock_restore(struct shard *s, struct entry *e, int lfu_freq, long long idle_secs);
/* Evict keys of this shard by the policy until about `bytes` were freed,
 * nothing is left to evict, or budget_us passed; returns bytes freed. */
size_t shard_evict(struct shard *s, size_t bytes, uint64_t budget_us);
void shard_evict_free(struct shard *s);

/* ---- lazy free (lazyfree.c) ---- */

/* Free an entry that no table holds any more, off the worker when it is a
 * collection. */
void lazyfree_entry(struct entry *e);
/* Take every entry of d (left empty) and free them in the background. */
void lazyfree_table(struct dict *d);
/* Objects handed over and not freed yet (INFO lazyfree_pending_objects). */
size_t lazyfree_pending(void);

/* ---- memory (mem.c) ---- */

struct mem_stats {
    size_t allocated; /* bytes the program asked for and holds */
    size_t active;    /* bytes in active pages */
    size_t resident;  /* allocator's resident bytes */
    size_t rss;       /* process resident set */
};
void store_mem_stats(struct mem_stats *m);
/* Bind the calling thread to a new jemalloc arena; its index, or -1. */
int store_arena_bind(void);
/* Bytes allocated from one arena (jemalloc's own statistics). */
size_t store_arena_allocated(int arena);
/* Purge the arena's dirty pages when more than threshold bytes (not while
 * the lazy-free thread is freeing into it). */
void store_arena_trim(int arena, size_t threshold);

/* Glob-style match with Redis's rules (* ? [a-z] [^x] \x), nocase optional. */
bool store_match(const char *pat, size_t plen, const char *s, size_t slen, bool nocase);

#endif
