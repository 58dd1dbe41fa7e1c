/* Keyspace commands: existence and deletion (DEL, UNLINK, EXISTS, TOUCH,
 * TYPE), enumeration (KEYS, SCAN, RANDOMKEY, DBSIZE), moving values between
 * names and databases (RENAME, RENAMENX, COPY, MOVE), flushing (FLUSHDB,
 * FLUSHALL), expiry (EXPIRE family, TTL family, PERSIST) and OBJECT.
 *
 * Replies, error texts and the order in which errors are detected follow
 * Redis 7.0.15's db.c, expire.c and object.c; the comment above each
 * handler names the Redis function it mirrors where the order matters.
 *
 * Choices worth knowing:
 *  - Expiry times are absolute milliseconds on the shard's cached clock
 *    (shard->now_ms), the clock lazy expiry uses. A time at or before now
 *    deletes the key at once, as Redis does on a master.
 *  - KEYS skips expired keys without deleting them (Redis 7.0's keysCommand);
 *    SCAN filters them out and deletes the ones it visited, as Redis's
 *    expireIfNeeded does from scanGenericCommand.
 *  - store_scan() is the whole of SCAN's iteration for one database, so a
 *    multi-shard SCAN can run it on each shard and merge the keys. Its
 *    prototype and the SCAN_*_TYPE values belong in store.h; until that
 *    shared header carries them, a caller declares them itself.
 *  - RANDOMKEY deletes the expired keys it lands on, like dbRandomKey, but
 *    gives up sampling after RANDOMKEY_TRIES and falls back to the first
 *    live key in table order, so a database of mostly expired keys cannot
 *    stall the worker. That key is then not uniformly random.
 *  - RENAME and MOVE move the value object instead of copying it: the new
 *    entry takes the value pointer and the old entry is disowned (turned
 *    into an int string) before it is deleted, so entry_free does not free
 *    the moved value. COPY makes a deep copy.
 *  - UNLINK, FLUSHDB ASYNC and FLUSHALL ASYNC free what they remove on the
 *    lazy-free thread (lazyfree.c); DEL and the plain flushes free inline,
 *    as Redis does with its lazyfree-lazy-* options at their defaults.
 *  - OBJECT REFCOUNT reports 2147483647 (Redis's OBJ_SHARED_REFCOUNT) for
 *    int-encoded values 0..9999, the integers Redis shares, else 1.
 *  - OBJECT FREQ always replies Redis's "no LFU policy" error for an
 *    existing key: no LFU policy exists yet.
 *  - Option words are compared as C strings (up to the first NUL) and
 *    case-insensitively, as Redis's strcasecmp on argv does.
 *  - Propagation (cmd.h), as Redis 7.0: the EXPIRE family logs PEXPIREAT
 *    key <ms> with the request's NX/XX/GT/LT words, or DEL key when the
 *    time is not in the future; FLUSHDB and FLUSHALL are logged even when
 *    there was nothing to flush (Redis forces them). Expired keys that
 *    RANDOMKEY and SCAN reclaim are logged as DEL by db_expire_ref.
 */
#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"

#define ERR_SAME_OBJECT "ERR source and destination objects are the same"
#define ERR_INT_RANGE "ERR value is out of range, value must between -2147483648 and 2147483647"
#define ERR_INVALID_CURSOR "ERR invalid cursor"

/* Redis's OBJ_SHARED_INTEGERS and OBJ_SHARED_REFCOUNT. */
#define SHARED_INTEGERS 10000
#define SHARED_REFCOUNT INT_MAX

#define RANDOMKEY_TRIES 100


static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        abort();
    return p;
}


static bool args_equal(const struct resp_arg *a, const struct resp_arg *b)
{
    return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

static const char *type_name(int type)
{
    switch (type) {
    case OBJ_STRING:
        return "string";
    case OBJ_LIST:
        return "list";
    case OBJ_SET:
        return "set";
    case OBJ_ZSET:
        return "zset";
    case OBJ_HASH:
        return "hash";
    default:
        return "none";
    }
}

static const char *encoding_name(int enc)
{
    switch (enc) {
    case ENC_RAW:
        return "raw";
    case ENC_INT:
        return "int";
    case ENC_HT:
        return "hashtable";
    case ENC_EMBSTR:
        return "embstr";
    case ENC_LISTPACK:
        return "listpack";
    case ENC_INTSET:
        return "intset";
    case ENC_SKIPLIST:
        return "skiplist";
    case ENC_QUICKLIST:
        return "quicklist";
    default:
        return "unknown";
    }
}

/* Parse argument i as a database index the way Redis's
 * getIntFromObjectOrReply + selectDb do: not an integer, outside int, and
 * outside [0, ndb) are three different errors. */
static bool arg_dbid(struct cmd_ctx *c, int i, int *id)
{
    long long v;
    if (!arg_ll(c, i, &v, NULL))
        return false;
    if (v < INT_MIN || v > INT_MAX) {
        reply_error(c->out, ERR_INT_RANGE);
        return false;
    }
    if (v < 0 || v >= c->shard->ndb) {
        reply_error(c->out, ERR_DB_INDEX);
        return false;
    }
    *id = (int)v;
    return true;
}

/* Delete an expired entry found by iteration or sampling, counting it as
 * expired (and logged as DEL: db_expire_ref). The key is read only to
 * find the entry's link. */
static void delete_expired(struct shard *s, struct db *db, struct entry *e)
{
    size_t klen;
    const char *key = entry_key(e, &klen);
    struct entry **ref = dict_find_ref(&db->keys, key, klen);
    assert(ref && *ref == e);
    db_expire_ref(s, db, ref);
}

/* ---- DEL, UNLINK, EXISTS, TOUCH, TYPE ---- */

/* DEL key [key ...]: the number of keys removed; a repeated key counts once
 * because the second delete finds nothing. Expired keys count as missing. */
static void del_keys(struct cmd_ctx *c, bool lazy)
{
    long long n = 0;
    for (int i = 1; i < c->argc; i++)
        n += (lazy ? db_delete_lazy : db_delete)(arg_shard(c, i), arg_db(c, i),
                                                   c->argv[i].ptr, c->argv[i].len);
    reply_int(c->out, n);
}

void cmd_del(struct cmd_ctx *c) { del_keys(c, false); }

/* UNLINK: DEL whose values are freed in the background. */
void cmd_unlink(struct cmd_ctx *c) { del_keys(c, true); }

/* EXISTS key [key ...]: every argument that names a live key counts, so a
 * key given twice counts twice. Does not touch the LRU clock. */
void cmd_exists(struct cmd_ctx *c)
{
    long long n = 0;
    for (int i = 1; i < c->argc; i++)
        if (key_lookup(c, i, LOOKUP_NOTOUCH, NULL))
            n++;
    reply_int(c->out, n);
}

/* TOUCH key [key ...]: like EXISTS but updates each key's access time. */
void cmd_touch(struct cmd_ctx *c)
{
    long long n = 0;
    for (int i = 1; i < c->argc; i++)
        if (key_lookup(c, i, LOOKUP_NONE, NULL))
            n++;
    reply_int(c->out, n);
}

void cmd_type(struct cmd_ctx *c)
{
    struct entry *e = key_lookup(c, 1, LOOKUP_NOTOUCH, NULL);
    reply_simple(c->out, e ? type_name(entry_type(e)) : "none");
}

/* ---- KEYS ---- */

struct keys_state {
    const struct shard *s;
    const char *pat;
    size_t plen;
    bool all;
    struct entry **v;
    size_t n, cap;
};

static int keys_visit(void *arg, struct entry *e)
{
    struct keys_state *k = arg;
    size_t klen;
    const char *key = entry_key(e, &klen);

    if (!k->all && !store_match(k->pat, k->plen, key, klen, false))
        return 0;
    if (entry_is_expired(k->s, e))
        return 0;
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 64;
        k->v = xrealloc(k->v, k->cap * sizeof(*k->v));
    }
    k->v[k->n++] = e;
    return 0;
}

/* KEYS pattern: every live key matching the glob, in table order. O(N).
 * The table is not changed while the reply is built, so holding the
 * entry pointers until then is safe. "*" matches every key without
 * running the matcher (keysCommand's allkeys shortcut). */
void cmd_keys(struct cmd_ctx *c)
{
    struct keys_state k = {
        .pat = c->argv[1].ptr,
        .plen = c->argv[1].len,
        .all = c->argv[1].len == 1 && c->argv[1].ptr[0] == '*',
    };

    for (int i = 0; i < ctx_nshards(c); i++) {
        k.s = ctx_shard_at(c, i);
        dict_foreach(&k.s->db[c->dbid].keys, keys_visit, &k);
    }
    reply_array(c->out, (long long)k.n);
    for (size_t i = 0; i < k.n; i++) {
        size_t klen;
        const char *key = entry_key(k.v[i], &klen);
        reply_bulk(c->out, key, klen);
    }
    free(k.v);
}

/* ---- SCAN ---- */

/* Keys copied out of the table, back to back in one buffer. */
struct keybuf {
    char *data;
    size_t len, cap;
    size_t *off; /* start of key i; key i ends at off[i + 1] or len */
    size_t n, ncap;
};

static void keybuf_add(void *arg, const char *key, size_t klen)
{
    struct keybuf *b = arg;
    if (b->n == b->ncap) {
        b->ncap = b->ncap ? b->ncap * 2 : 16;
        b->off = xrealloc(b->off, b->ncap * sizeof(*b->off));
    }
    if (b->len + klen > b->cap || !b->data) {
        b->cap = (b->len + klen) * 2 + 64;
        b->data = xrealloc(b->data, b->cap);
    }
    b->off[b->n++] = b->len;
    memcpy(b->data + b->len, key, klen);
    b->len += klen;
}

static const char *keybuf_get(const struct keybuf *b, size_t i, size_t *klen)
{
    size_t end = i + 1 < b->n ? b->off[i + 1] : b->len;
    *klen = end - b->off[i];
    return b->data + b->off[i];
}

static void keybuf_free(struct keybuf *b)
{
    free(b->data);
    free(b->off);
}

struct scan_state {
    const struct shard *s;
    const char *pat;
    size_t plen;
    int type;
    unsigned long long seen; /* entries visited, matching or not */
    void (*emit)(void *arg, const char *key, size_t klen);
    void *arg;
    struct keybuf expired;
};

static void scan_visit(void *arg, struct entry *e)
{
    struct scan_state *st = arg;
    size_t klen;
    const char *key = entry_key(e, &klen);

    st->seen++;
    if (entry_is_expired(st->s, e)) {
        keybuf_add(&st->expired, key, klen);
        return;
    }
    if (st->pat && !store_match(st->pat, st->plen, key, klen, false))
        return;
    if (st->type != SCAN_ANY_TYPE && entry_type(e) != st->type)
        return;
    st->emit(st->arg, key, klen);
}

/* One SCAN step over one database, shared by SCAN and (later) a SCAN that
 * spans shards, which calls it on each shard's owner thread.
 *
 * Visits buckets from cursor until at least count entries were seen, or
 * 10 * count buckets were visited, or the iteration ended (Redis's loop in
 * scanGenericCommand: COUNT bounds work, not the reply). emit(arg, key,
 * klen) is called for every live key that matches pat (NULL: any) and type
 * (SCAN_ANY_TYPE, an obj_type, or SCAN_NO_TYPE); the key bytes are valid
 * only during the call and emit must not change the table. Expired keys
 * visited are deleted afterwards, counted as expired. Returns the next
 * cursor, 0 when the iteration is complete. Every key present in the
 * database from the first call to the last is emitted at least once
 * (dict_scan's guarantee); a key may be emitted more than once. */
uint64_t store_scan(struct shard *s, struct db *db, uint64_t cursor, long long count,
                    const char *pat, size_t plen, int type,
                    void (*emit)(void *arg, const char *key, size_t klen), void *arg)
{
    struct scan_state st = {
        .s = s,
        .pat = pat,
        .plen = plen,
        .type = type,
        .emit = emit,
        .arg = arg,
    };
    if (count < 1)
        count = 1;
    long long budget = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
    do {
        cursor = dict_scan(&db->keys, cursor, scan_visit, &st);
    } while (cursor && budget-- > 0 && st.seen < (unsigned long long)count);

    for (size_t i = 0; i < st.expired.n; i++) {
        size_t klen;
        const char *key = keybuf_get(&st.expired, i, &klen);
        /* db_lookup deletes the key (and counts it) if it is still expired. */
        db_lookup(s, db, key, klen, LOOKUP_WRITE | LOOKUP_NOTOUCH, NULL);
    }
    keybuf_free(&st.expired);
    return cursor;
}


/* The obj_type a SCAN TYPE name selects (case-insensitive, up to the first
 * NUL). Unknown names select nothing, as in Redis 7.0. */
static int scan_type(const struct resp_arg *a)
{
    static const int types[] = {OBJ_STRING, OBJ_LIST, OBJ_SET, OBJ_ZSET, OBJ_HASH};
    size_t n = strnlen(a->ptr, a->len);

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        const char *name = type_name(types[i]);
        if (strlen(name) == n && strncasecmp(a->ptr, name, n) == 0)
            return types[i];
    }
    return SCAN_NO_TYPE;
}

/* SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]: replies
 * [next cursor as a bulk string, array of keys]. Mirrors scanCommand +
 * scanGenericCommand: the cursor is checked first, then the options in
 * order; COUNT must be an integer >= 1; a later option overrides an
 * earlier one of the same name. MATCH "*" skips the matcher. */
#define SCAN_SHARD_BITS 6 /* up to 64 shards */

void cmd_scan(struct cmd_ctx *c)
{
    uint64_t cursor;
    long long count = 10;
    const char *pat = NULL;
    size_t plen = 0;

    if (!arg_cursor(c, 1, &cursor))
        return;
    const struct resp_arg *tname = NULL;
    if (!arg_scan_opts(c, 2, &count, &pat, &plen, &tname))
        return;
    int type = tname ? scan_type(tname) : SCAN_ANY_TYPE;

    /* Several shards: the low SCAN_SHARD_BITS of the cursor name the shard
     * being scanned and the rest is that shard's own cursor; a finished
     * shard moves on to the next, so a full iteration covers them all. */
    struct keybuf keys = {0};
    int n_sh = ctx_nshards(c);
    if (n_sh == 1) {
        cursor = store_scan(c->shard, c->db, cursor, count, pat, plen, type, keybuf_add, &keys);
    } else {
        int k = (int)(cursor & ((1u << SCAN_SHARD_BITS) - 1));
        uint64_t inner = cursor >> SCAN_SHARD_BITS;
        if (k >= n_sh)
            return reply_error(c->out, ERR_INVALID_CURSOR);
        /* A shard that finishes hands over to the next within the same
         * call until some keys were found, so an empty keyspace answers 0
         * at once, as it does with one shard. */
        for (;;) {
            struct shard *s = ctx_shard_at(c, k);
            inner = store_scan(s, &s->db[c->dbid], inner, count, pat, plen, type, keybuf_add,
                               &keys);
            if (inner) {
                cursor = (inner << SCAN_SHARD_BITS) | (uint64_t)k;
                break;
            }
            if (++k == n_sh) {
                cursor = 0;
                break;
            }
            if (keys.n) {
                cursor = (uint64_t)k;
                break;
            }
        }
    }
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)cursor);
    reply_array(c->out, 2);
    reply_bulk(c->out, buf, (size_t)n);
    reply_array(c->out, (long long)keys.n);
    for (size_t i = 0; i < keys.n; i++) {
        size_t klen;
        const char *key = keybuf_get(&keys, i, &klen);
        reply_bulk(c->out, key, klen);
    }
    keybuf_free(&keys);
}

/* ---- RANDOMKEY, DBSIZE ---- */

static int first_live(void *arg, struct entry *e)
{
    void **out = arg;
    const struct shard *s = out[1];
    if (entry_is_expired(s, e))
        return 0;
    out[0] = e;
    return 1;
}

/* RANDOMKEY: a random live key, or null when the database has none.
 * Mirrors dbRandomKey: an expired key it lands on is deleted and another
 * drawn. After RANDOMKEY_TRIES expired draws it takes the first live key
 * in table order instead (see the header comment). */
void cmd_randomkey(struct cmd_ctx *c)
{
    struct entry *e = NULL;
    /* Several shards: draw the shard in proportion to its size. */
    struct shard *s = c->shard;
    uint64_t total = 0;
    for (int i = 0; i < ctx_nshards(c); i++)
        total += db_size(&ctx_shard_at(c, i)->db[c->dbid]);
    if (total && ctx_nshards(c) > 1) {
        uint64_t pick = (uint64_t)rand() % total;
        for (int i = 0; i < ctx_nshards(c); i++) {
            s = ctx_shard_at(c, i);
            uint64_t n = db_size(&s->db[c->dbid]);
            if (pick < n)
                break;
            pick -= n;
        }
    }
    struct db *db = &s->db[c->dbid];

    for (int tries = 0; tries < RANDOMKEY_TRIES; tries++) {
        e = dict_random(&db->keys);
        if (!e || !entry_is_expired(s, e))
            break;
        delete_expired(s, db, e);
        e = NULL;
    }
    if (!e && db_size(db) > 0) {
        void *found[2] = {NULL, s};
        dict_foreach(&db->keys, first_live, found);
        e = found[0];
    }
    if (!e)
        return reply_null(c->out);
    size_t klen;
    const char *key = entry_key(e, &klen);
    reply_bulk(c->out, key, klen);
}

/* DBSIZE counts keys that expired but were not reclaimed yet, as Redis's
 * dictSize does. */
void cmd_dbsize(struct cmd_ctx *c)
{
    uint64_t n = 0;
    for (int i = 0; i < ctx_nshards(c); i++)
        n += db_size(&ctx_shard_at(c, i)->db[c->dbid]);
    reply_int(c->out, (long long)n);
}

/* ---- RENAME, RENAMENX, COPY, MOVE ---- */

/* Move the value of the live key src (in db from of shard fs) to key dst in
 * db to of shard ts, replacing whatever dst held. The entry keeps its
 * expiry. No entry pointer is kept from before: lookups elsewhere may have
 * rehashed the table or freed a chain neighbour of src. */
static void move_value(struct shard *fs, struct db *from, const struct resp_arg *src,
                       struct shard *ts, struct db *to, const struct resp_arg *dst)
{
    struct entry **ref;
    struct entry *e = db_lookup(fs, from, src->ptr, src->len, LOOKUP_WRITE | LOOKUP_NOTOUCH, &ref);
    assert(e);
    struct entry *n = entry_rekey(e, dst->ptr, dst->len, false);
    free(db_unlink_ref(fs, from, ref)); /* its value now belongs to n */
    db_set(ts, to, n);
}

/* Mirrors renameGenericCommand: a missing source is an error even when
 * both names are the same; the same existing name is a no-op. */
static void rename_generic(struct cmd_ctx *c, bool nx)
{
    if (!key_lookup(c, 1, LOOKUP_WRITE, NULL))
        return reply_error(c->out, ERR_NO_KEY);
    if (args_equal(&c->argv[1], &c->argv[2]))
        return nx ? reply_int(c->out, 0) : reply_ok(c->out);
    if (key_lookup(c, 2, LOOKUP_WRITE, NULL) && nx)
        return reply_int(c->out, 0);
    move_value(arg_shard(c, 1), arg_db(c, 1), &c->argv[1], arg_shard(c, 2), arg_db(c, 2),
               &c->argv[2]);
    if (nx)
        reply_int(c->out, 1);
    else
        reply_ok(c->out);
}

void cmd_rename(struct cmd_ctx *c)
{
    rename_generic(c, false);
}

void cmd_renamenx(struct cmd_ctx *c)
{
    rename_generic(c, true);
}

/* COPY source destination [DB destination-db] [REPLACE]: 1 if copied, 0 if
 * the source is missing or the destination exists without REPLACE. The
 * copy is deep and keeps the TTL. Mirrors copyCommand: options first, then
 * the same-key check, then the lookups. */
void cmd_copy(struct cmd_ctx *c)
{
    int dbid = c->dbid;
    bool replace = false;

    for (int j = 3; j < c->argc; j++) {
        if (arg_opt(c, j, "replace")) {
            replace = true;
        } else if (arg_opt(c, j, "db") && c->argc - j - 1 >= 1) {
            if (!arg_dbid(c, j + 1, &dbid))
                return;
            j++;
        } else {
            return reply_error(c->out, ERR_SYNTAX);
        }
    }

    const struct resp_arg *src = &c->argv[1], *dst = &c->argv[2];
    struct shard *ts = arg_shard(c, 2);
    struct db *to = &ts->db[dbid];
    if (dbid == c->dbid && args_equal(src, dst))
        return reply_error(c->out, ERR_SAME_OBJECT);
    if (!key_lookup(c, 1, LOOKUP_NONE, NULL))
        return reply_int(c->out, 0);
    if (db_lookup(ts, to, dst->ptr, dst->len, LOOKUP_WRITE, NULL) && !replace)
        return reply_int(c->out, 0);

    /* Look the source up again: the lookup above may have changed the table. */
    struct entry *e = key_lookup(c, 1, LOOKUP_NOTOUCH | LOOKUP_NOSTATS, NULL);
    assert(e);
    db_set(ts, to, entry_rekey(e, dst->ptr, dst->len, true));
    reply_int(c->out, 1);
}

/* MOVE key db: 1 if moved, 0 if the key is missing here or exists there.
 * Mirrors moveCommand: the index is validated before the key is looked
 * up. The entry keeps its TTL. */
void cmd_move(struct cmd_ctx *c)
{
    int dbid;

    if (!arg_dbid(c, 2, &dbid))
        return;
    if (dbid == c->dbid)
        return reply_error(c->out, ERR_SAME_OBJECT);
    if (!key_lookup(c, 1, LOOKUP_WRITE, NULL))
        return reply_int(c->out, 0);
    struct db *to = &c->shard->db[dbid];
    const struct resp_arg *k = &c->argv[1];
    if (db_lookup(c->shard, to, k->ptr, k->len, LOOKUP_WRITE, NULL))
        return reply_int(c->out, 0);
    move_value(c->shard, c->db, k, c->shard, to, k);
    reply_int(c->out, 1);
}

/* ---- FLUSHDB, FLUSHALL ---- */

/* getFlushCommandFlags: no argument, or exactly one of SYNC / ASYNC. */
static bool flush_args_ok(struct cmd_ctx *c)
{
    if (c->argc == 1 || (c->argc == 2 && (arg_opt(c, 1, "sync") || arg_opt(c, 1, "async"))))
        return true;
    reply_error(c->out, ERR_SYNTAX);
    return false;
}

/* ASYNC frees in the background; SYNC and no argument free inline. */
typedef void flush_fn(struct shard *s, struct db *db);
static flush_fn *flush_kind(struct cmd_ctx *c)
{
    return c->argc == 2 && arg_opt(c, 1, "async") ? db_flush_lazy : db_flush;
}

void cmd_flushdb(struct cmd_ctx *c)
{
    if (!flush_args_ok(c))
        return;
    flush_fn *flush = flush_kind(c);
    for (int i = 0; i < ctx_nshards(c); i++)
        flush(ctx_shard_at(c, i), &ctx_shard_at(c, i)->db[c->dbid]);
    /* Logged even when the db was already empty, as Redis 7.0 forces. */
    cmd_propagate(c, c->argc, c->argv);
    reply_ok(c->out);
}

void cmd_flushall(struct cmd_ctx *c)
{
    if (!flush_args_ok(c))
        return;
    flush_fn *flush = flush_kind(c);
    for (int k = 0; k < ctx_nshards(c); k++) {
        struct shard *s = ctx_shard_at(c, k);
        for (int i = 0; i < s->ndb; i++)
            flush(s, &s->db[i]);
    }
    cmd_propagate(c, c->argc, c->argv); /* even when empty (Redis 7.0) */
    reply_ok(c->out);
}

/* ---- EXPIRE family, TTL family, PERSIST ---- */

#define EXPIRE_NX (1 << 0)
#define EXPIRE_XX (1 << 1)
#define EXPIRE_GT (1 << 2)
#define EXPIRE_LT (1 << 3)

/* parseExtendedExpireArgumentsOrReply: options from argv[3]; an unknown
 * word is reported before the combination checks. */
static bool parse_expire_flags(struct cmd_ctx *c, int *flags)
{
    for (int j = 3; j < c->argc; j++) {
        if (arg_opt(c, j, "nx")) {
            *flags |= EXPIRE_NX;
        } else if (arg_opt(c, j, "xx")) {
            *flags |= EXPIRE_XX;
        } else if (arg_opt(c, j, "gt")) {
            *flags |= EXPIRE_GT;
        } else if (arg_opt(c, j, "lt")) {
            *flags |= EXPIRE_LT;
        } else {
            int n = (int)strnlen(c->argv[j].ptr, c->argv[j].len);
            reply_errorf(c->out, "ERR Unsupported option %.*s", n > 512 ? 512 : n, c->argv[j].ptr);
            return false;
        }
    }
    if ((*flags & EXPIRE_NX) && (*flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT))) {
        reply_error(c->out, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return false;
    }
    if ((*flags & EXPIRE_GT) && (*flags & EXPIRE_LT)) {
        reply_error(c->out, "ERR GT and LT options at the same time are not compatible");
        return false;
    }
    return true;
}

/* An expiry that was set is logged as PEXPIREAT key <ms> followed by the
 * request's own NX/XX/GT/LT words, as Redis 7.0 rewrites only the name and
 * the time: replayed on the same state they decide the same way. */
static void propagate_pexpireat(struct cmd_ctx *c, long long when)
{
    struct resp_arg *argv = xrealloc(NULL, (size_t)c->argc * sizeof(*argv));
    char buf[PROP_LL_BUF];
    argv[0] = prop_word("PEXPIREAT");
    argv[1] = c->argv[1];
    argv[2] = prop_ll(buf, when);
    for (int j = 3; j < c->argc; j++)
        argv[j] = c->argv[j];
    cmd_propagate(c, c->argc, argv);
    free(argv);
}

/* Mirrors expireGenericCommand. relative: the argument is added to now;
 * seconds: it is in seconds. Overflow of the unit conversion or of the
 * addition is an error; a key without a TTL counts as an infinite TTL for
 * GT and LT; a resulting time at or before now deletes the key and
 * replies 1. */
static void expire_generic(struct cmd_ctx *c, bool relative, bool seconds, const char *name)
{
    struct shard *s = c->shard;
    int flags = 0;
    long long when;

    if (!parse_expire_flags(c, &flags) || !arg_ll(c, 2, &when, NULL))
        return;
    if (seconds) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000)
            return reply_errorf(c->out, "ERR invalid expire time in '%s' command", name);
        when *= 1000;
    }
    long long base = relative ? s->now_ms : 0;
    if (when > LLONG_MAX - base)
        return reply_errorf(c->out, "ERR invalid expire time in '%s' command", name);
    when += base;

    struct entry **ref;
    struct entry *e = key_lookup(c, 1, LOOKUP_WRITE, &ref);
    if (!e)
        return reply_int(c->out, 0);
    long long cur = entry_expire(e);
    if ((flags & EXPIRE_NX) && cur != -1)
        return reply_int(c->out, 0);
    if ((flags & EXPIRE_XX) && cur == -1)
        return reply_int(c->out, 0);
    if ((flags & EXPIRE_GT) && (cur == -1 || when <= cur))
        return reply_int(c->out, 0);
    if ((flags & EXPIRE_LT) && cur != -1 && when >= cur)
        return reply_int(c->out, 0);

    if (when <= s->now_ms) {
        db_delete_ref(s, c->db, ref);
        cmd_propagate_key(c, "DEL", 1);
    } else {
        db_set_expire(s, c->db, ref, when);
        propagate_pexpireat(c, when);
    }
    reply_int(c->out, 1);
}

void cmd_expire(struct cmd_ctx *c)
{
    expire_generic(c, true, true, "expire");
}

void cmd_pexpire(struct cmd_ctx *c)
{
    expire_generic(c, true, false, "pexpire");
}

void cmd_expireat(struct cmd_ctx *c)
{
    expire_generic(c, false, true, "expireat");
}

void cmd_pexpireat(struct cmd_ctx *c)
{
    expire_generic(c, false, false, "pexpireat");
}

/* Mirrors ttlGenericCommand: -2 for a missing key, -1 without a TTL, else
 * the remaining (or, absolute, the expiry) time in ms, or in seconds
 * rounded to nearest. The rounding is done unsigned, as Redis's compiled
 * code does, so an expiry near LLONG_MAX does not wrap. */
static void ttl_generic(struct cmd_ctx *c, bool ms, bool absolute)
{
    struct entry *e = key_lookup(c, 1, LOOKUP_NOTOUCH, NULL);
    if (!e)
        return reply_int(c->out, -2);
    long long expire = entry_expire(e);
    if (expire == -1)
        return reply_int(c->out, -1);
    long long ttl = absolute ? expire : expire - c->shard->now_ms;
    if (ttl < 0)
        ttl = 0;
    reply_int(c->out, ms ? ttl : (long long)(((unsigned long long)ttl + 500) / 1000));
}

void cmd_ttl(struct cmd_ctx *c)
{
    ttl_generic(c, false, false);
}

void cmd_pttl(struct cmd_ctx *c)
{
    ttl_generic(c, true, false);
}

void cmd_expiretime(struct cmd_ctx *c)
{
    ttl_generic(c, false, true);
}

void cmd_pexpiretime(struct cmd_ctx *c)
{
    ttl_generic(c, true, true);
}

/* PERSIST key: 1 if a TTL was removed, 0 if the key is missing or has none. */
void cmd_persist(struct cmd_ctx *c)
{
    struct entry **ref;
    struct entry *e = key_lookup(c, 1, LOOKUP_WRITE, &ref);
    if (!e || entry_expire(e) == -1)
        return reply_int(c->out, 0);
    db_set_expire(c->shard, c->db, ref, -1);
    reply_int(c->out, 1);
}

/* ---- OBJECT ---- */

static const char *const object_help[] = {
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
};

/* Seconds since the entry's last access on the 24-bit LRU clock, with
 * Redis's estimateObjectIdleTime wraparound (including its off-by-one). */
static long long idle_seconds(const struct shard *s, const struct entry *e)
{
    unsigned long long now = s->lru_clock & LRU_CLOCK_MAX, lru = entry_lru(e);
    return (long long)(now >= lru ? now - lru : now + (LRU_CLOCK_MAX - lru));
}

/* OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ key, OBJECT HELP. The dispatcher
 * has checked the subcommand and its arity. A missing key is a null reply
 * for every subcommand, FREQ included (objectCommandLookupOrReply runs
 * first). Lookups do not touch the access time. */
void cmd_object(struct cmd_ctx *c)
{
    if (c->argc == 2 && arg_opt(c, 1, "help")) {
        size_t n = sizeof(object_help) / sizeof(object_help[0]);
        reply_array(c->out, (long long)n);
        for (size_t i = 0; i < n; i++)
            reply_simple(c->out, object_help[i]);
        return;
    }
    bool enc = arg_opt(c, 1, "encoding"), ref = arg_opt(c, 1, "refcount");
    bool idle = arg_opt(c, 1, "idletime"), freq = arg_opt(c, 1, "freq");
    if (c->argc != 3 || !(enc || ref || idle || freq)) {
        int n = (int)strnlen(c->argv[1].ptr, c->argv[1].len);
        return reply_errorf(c->out,
                            "ERR unknown subcommand or wrong number of arguments for "
                            "'%.*s'. Try OBJECT HELP.",
                            n > 128 ? 128 : n, c->argv[1].ptr);
    }

    struct entry *e = key_lookup(c, 2, LOOKUP_NOTOUCH, NULL);
    if (!e)
        return reply_null(c->out);
    if (enc) {
        reply_bulk_cstr(c->out, encoding_name(entry_enc(e)));
    } else if (ref) {
        bool shared =
            entry_enc(e) == ENC_INT && entry_int(e) >= 0 && entry_int(e) < SHARED_INTEGERS;
        reply_int(c->out, shared ? SHARED_REFCOUNT : 1);
    } else if (idle && store_policy_sieve()) {
        reply_error(c->out, "ERR The allkeys-sieve maxmemory policy is selected, idle time not "
                            "tracked.");
    } else if (idle && !store_policy_lfu()) {
        reply_int(c->out, idle_seconds(arg_shard(c, 2), e));
    } else if (idle) {
        reply_error(c->out, "ERR An LFU maxmemory policy is selected, idle time not tracked. "
                            "Please note that when switching between policies at runtime LRU "
                            "and LFU data will take some time to adjust.");
    } else if (store_policy_lfu()) {
        reply_int(c->out, store_lfu_freq(arg_shard(c, 2), e));
    } else {
        reply_error(c->out, "ERR An LFU maxmemory policy is not selected, access frequency not "
                            "tracked. Please note that when switching between policies at "
                            "runtime LRU and LFU data will take some time to adjust.");
    }
}
