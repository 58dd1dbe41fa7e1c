/* The set type: SADD SREM SISMEMBER SMISMEMBER SMEMBERS SCARD SPOP
 * SRANDMEMBER SMOVE SINTER SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF
 * SDIFFSTORE SSCAN, with Redis 7.0's replies, errors and encodings.
 *
 * Encodings (what OBJECT ENCODING reports), as Redis 7.0 (which has no
 * listpack sets, so a small set of strings is a hashtable):
 *   intset    - intset.h: Redis's sorted array of int64 in one allocation,
 *               binary-searched. Used while every member is the canonical
 *               text of an int64 (Redis's string2ll) and there are at most
 *               set-max-intset-entries members (capped at 2^30 as Redis).
 *   hashtable - a struct dict (dict.c) whose items are entries with the
 *               member as key and an empty value: one allocation per
 *               member. SSCAN walks it with dict_scan.
 * A set turns into a hashtable when a non-integer member arrives or it
 * grows past the threshold, and never converts back; but a set built anew
 * (the result of SINTERSTORE/SUNIONSTORE/SDIFFSTORE, what SPOP keeps when
 * it pops most of a set) starts again as an intset, so it may be one, as
 * in Redis. The threshold is read at each add, so CONFIG SET applies to
 * the next write.
 *
 * A command works on a local handle (struct sobj: encoding + pointer) and
 * writes it back once (skey_commit): the encoding lives in the entry's
 * meta bits, so a conversion replaces the entry; an intset that moved is
 * re-pointed in place; a set left empty deletes its key.
 *
 * Multi-key commands reach every key through key_lookup(c, i) and
 * arg_shard/arg_db(c, i): the keys may live on different shards, which the
 * dataplane holds for the whole command. Results are computed before the
 * destination is written, so a destination that is also a source is fine.
 *
 * The algorithms (smallest set first for SINTER, the SDIFF algorithm
 * choice, SPOP's and SRANDMEMBER's strategies) follow Redis, because they
 * decide the encoding of stored results and the cost of each call.
 */
#include <ctype.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "intset.h"
#include "t_set.h"

#define ERR_POSITIVE "ERR value is out of range, must be positive"

/* SPOP: keep the remaining members in a new set when they are few. */
#define SPOP_MOVE_STRATEGY_MUL 5
/* SRANDMEMBER: copy the set and remove members when count is close to it. */
#define SRANDMEMBER_SUB_STRATEGY_MUL 3

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

/* ---- members: bytes or an integer, converted lazily ---- */

struct smember {
    bool isint;   /* v is valid */
    int64_t v;
    const char *p; /* bytes, or NULL until formatted */
    size_t n;
    char buf[24];
};

static void mem_str_init(struct smember *m, const char *p, size_t n)
{
    m->isint = false;
    m->v = 0; /* unused; set so no compiler sees it read uninitialized */
    m->p = p;
    m->n = n;
}

static void mem_int_init(struct smember *m, int64_t v)
{
    m->isint = true;
    m->v = v;
    m->p = NULL;
}

static const char *mem_str(struct smember *m, size_t *n)
{
    if (!m->p) {
        m->n = (size_t)snprintf(m->buf, sizeof(m->buf), "%lld", (long long)m->v);
        m->p = m->buf;
    }
    *n = m->n;
    return m->p;
}

/* The member as an int64, if it is the canonical text of one. */
static bool mem_int(const struct smember *m, int64_t *v)
{
    long long ll;
    if (m->isint) {
        *v = m->v;
        return true;
    }
    if (!str_to_ll(m->p, m->n, &ll))
        return false;
    *v = ll;
    return true;
}

static void reply_member(struct cmd_ctx *c, struct smember *m)
{
    if (m->isint)
        return reply_bulk_ll(c->out, m->v);
    reply_bulk(c->out, m->p, m->n);
}

/* ---- the set object: encoding + pointer ---- */

struct sobj {
    int enc;   /* ENC_INTSET or ENC_HT */
    void *ptr; /* struct intset * or struct dict * */
};

static unsigned long long max_intset(void)
{
    long long m = store_limits.set_max_intset_entries;
    if (m < 0)
        m = 0;
    return m > (1LL << 30) ? (1ULL << 30) : (unsigned long long)m;
}

static unsigned long sobj_len(const struct sobj *o)
{
    if (o->enc == ENC_INTSET)
        return intset_len(o->ptr);
    return (unsigned long)dict_size(o->ptr);
}

static struct entry *member_entry(const char *p, size_t n)
{
    return entry_new_string(p, n, "", 0, -1, STR_SET);
}

static struct dict *dict_new(uint64_t seed)
{
    struct dict *d = xmalloc(sizeof(*d));
    dict_init(d, seed);
    return d;
}

/* An empty set of the given encoding. */
static void sobj_init(struct sobj *o, int enc, uint64_t seed)
{
    o->enc = enc;
    o->ptr = enc == ENC_INTSET ? (void *)intset_new() : (void *)dict_new(seed);
}

/* An empty set that can hold m: an intset if m is an integer (Redis's
 * setTypeCreate). */
static void sobj_init_for(struct sobj *o, const struct smember *m, uint64_t seed)
{
    int64_t v;
    sobj_init(o, mem_int(m, &v) ? ENC_INTSET : ENC_HT, seed);
}

static void free_member(struct entry *e) { entry_free(e); }

static void sobj_free(struct sobj *o)
{
    if (!o->ptr)
        return;
    if (o->enc == ENC_HT) {
        dict_free(o->ptr, free_member);
        free(o->ptr);
    } else {
        free(o->ptr);
    }
    o->ptr = NULL;
}

/* intset -> hashtable, keeping every member. */
static void sobj_convert(struct sobj *o, uint64_t seed)
{
    struct intset *is = o->ptr;
    struct dict *d = dict_new(seed);
    char buf[24];
    for (uint32_t i = 0; i < intset_len(is); i++) {
        int n = snprintf(buf, sizeof(buf), "%lld", (long long)intset_get(is, i));
        dict_add(d, member_entry(buf, (size_t)n));
    }
    free(is);
    o->enc = ENC_HT;
    o->ptr = d;
}

static bool sobj_has(const struct sobj *o, struct smember *m)
{
    if (o->enc == ENC_INTSET) {
        int64_t v;
        return mem_int(m, &v) && intset_find(o->ptr, v);
    }
    size_t n;
    const char *p = mem_str(m, &n);
    return dict_find_ref(o->ptr, p, n) != NULL;
}

/* Add m; true if it was not there. Converts to a hashtable on a
 * non-integer member or when the intset grows past the threshold. */
static bool sobj_add(struct sobj *o, struct smember *m, uint64_t seed)
{
    if (o->enc == ENC_INTSET) {
        int64_t v;
        if (mem_int(m, &v)) {
            bool added;
            o->ptr = intset_add(o->ptr, v, &added);
            if (added && intset_len(o->ptr) > max_intset())
                sobj_convert(o, seed);
            return added;
        }
        sobj_convert(o, seed);
    }
    size_t n;
    const char *p = mem_str(m, &n);
    if (dict_find_ref(o->ptr, p, n))
        return false;
    dict_add(o->ptr, member_entry(p, n));
    return true;
}

/* Remove m; true if it was there. A hashtable shrinks when mostly empty
 * (as Redis's htNeedsResize), which keeps random picks fast. */
static bool sobj_remove(struct sobj *o, struct smember *m)
{
    if (o->enc == ENC_INTSET) {
        int64_t v;
        bool removed = false;
        if (mem_int(m, &v))
            o->ptr = intset_remove(o->ptr, v, &removed);
        return removed;
    }
    size_t n;
    const char *p = mem_str(m, &n);
    struct entry **ref = dict_find_ref(o->ptr, p, n);
    if (!ref)
        return false;
    entry_free(dict_unlink(o->ptr, ref));
    dict_resize_if_needed(o->ptr);
    return true;
}


/* A random member of a non-empty set (bytes valid until the set changes). */
static void sobj_random(const struct sobj *o, struct smember *m)
{
    if (o->enc == ENC_INTSET)
        return mem_int_init(m, intset_random(o->ptr));
    size_t n;
    const char *p = entry_key(dict_random(o->ptr), &n);
    mem_str_init(m, p, n);
}

/* ---- iteration (the set must not change meanwhile) ---- */

struct siter {
    const struct sobj *o;
    uint32_t i;         /* intset position */
    int t;              /* hashtable: table, bucket, next entry */
    uint64_t b;
    struct entry *e;
};

static void siter_init(struct siter *it, const struct sobj *o)
{
    it->o = o;
    it->i = 0;
    it->t = 0;
    it->b = 0;
    it->e = NULL;
}

static bool siter_next(struct siter *it, struct smember *m)
{
    if (it->o->enc == ENC_INTSET) {
        if (it->i >= intset_len(it->o->ptr))
            return false;
        mem_int_init(m, intset_get(it->o->ptr, it->i++));
        return true;
    }
    const struct dict *d = it->o->ptr;
    while (!it->e) {
        if (it->t > 1)
            return false;
        if (it->b >= d->size[it->t]) {
            it->t++;
            it->b = 0;
            continue;
        }
        it->e = d->table[it->t][it->b++];
    }
    size_t n;
    const char *p = entry_key(it->e, &n);
    mem_str_init(m, p, n);
    it->e = it->e->next;
    return true;
}

/* ---- obj_ops ---- */

static void obj_free(void *obj, int enc)
{
    struct sobj o = {enc, obj};
    sobj_free(&o);
}

static void *obj_dup(const void *obj, int enc)
{
    if (enc == ENC_INTSET)
        return intset_dup(obj);
    const struct dict *src = obj;
    struct sobj o = {ENC_HT, (void *)obj};
    struct dict *d = dict_new(src->seed);
    struct siter it;
    struct smember m;
    siter_init(&it, &o);
    while (siter_next(&it, &m))
        dict_add(d, member_entry(m.p, m.n));
    return d;
}

/* Bytes allocated for the set: the intset, or the table, its bucket arrays
 * and its member entries (sampled past 64: dict_mem). */
static size_t obj_mem(const void *obj, int enc)
{
    if (!obj)
        return 0;
    if (enc == ENC_INTSET)
        return malloc_usable_size((void *)obj);
    return dict_mem(obj);
}

const struct obj_ops set_ops = {obj_free, obj_dup, obj_mem};

/* ---- read API for other modules (t_set.h) ---- */

static struct sobj entry_sobj(const struct entry *e)
{
    struct sobj o = {entry_enc(e), entry_get_ptr(e)};
    return o;
}

unsigned long set_length(const struct entry *e)
{
    struct sobj o = entry_sobj(e);
    return sobj_len(&o);
}

bool set_contains(const struct entry *e, const char *member, size_t len)
{
    struct sobj o = entry_sobj(e);
    struct smember m;
    mem_str_init(&m, member, len);
    return sobj_has(&o, &m);
}

void set_each(const struct entry *e, bool (*fn)(void *arg, const char *member, size_t len),
              void *arg)
{
    struct sobj o = entry_sobj(e);
    struct siter it;
    struct smember m;
    siter_init(&it, &o);
    while (siter_next(&it, &m)) {
        size_t n;
        const char *p = mem_str(&m, &n);
        if (!fn(arg, p, n))
            return;
    }
}

/* ---- building a set for a loader (t_set.h) ---- */

void set_build_init(struct set_build *b, uint64_t seed, unsigned long announced_len)
{
    struct sobj o;
    sobj_init(&o, announced_len > max_intset() ? ENC_HT : ENC_INTSET, seed);
    b->enc = o.enc;
    b->obj = o.ptr;
    b->seed = seed;
}

/* Unlike SADD, an intset does not convert for its length here: the count
 * was checked against the announced length, as Redis's loader does. */
bool set_build_add(struct set_build *b, const void *member, size_t len)
{
    struct sobj o = {b->enc, b->obj};
    struct smember m;
    int64_t v;
    bool added;

    mem_str_init(&m, member, len);
    if (o.enc == ENC_INTSET && mem_int(&m, &v)) {
        b->obj = intset_add(o.ptr, v, &added);
        return added;
    }
    if (o.enc == ENC_INTSET)
        sobj_convert(&o, b->seed);
    added = sobj_add(&o, &m, b->seed);
    b->enc = o.enc;
    b->obj = o.ptr;
    return added;
}

void set_build_adopt_intset(struct set_build *b, struct intset *is, uint64_t seed)
{
    struct sobj o = {ENC_INTSET, is};
    if (intset_len(is) > max_intset())
        sobj_convert(&o, seed);
    b->enc = o.enc;
    b->obj = o.ptr;
    b->seed = seed;
}

/* ---- opening keys and writing them back ---- */

/* Seed of new member tables: the key table's, so member buckets are as
 * unpredictable as keys. */
static uint64_t set_seed(struct cmd_ctx *c, int i)
{
    return arg_db(c, i)->keys.seed;
}

/* A set key being written by one command. */
struct skey {
    struct cmd_ctx *c;
    int arg;            /* its argument index */
    struct shard *s;
    struct db *db;
    struct entry *e;    /* NULL: the key does not exist (yet) */
    struct entry **ref; /* its link in the key table */
    struct sobj o;      /* o.ptr NULL: nothing to write */
};

/* Open key argument i for writing. Returns false when it holds another
 * type (WRONGTYPE replied). A missing key leaves k->e and k->o.ptr NULL. */
static bool skey_open(struct cmd_ctx *c, int i, struct skey *k)
{
    bool wt;
    k->c = c;
    k->arg = i;
    k->s = arg_shard(c, i);
    k->db = arg_db(c, i);
    k->e = key_lookup_type(c, i, OBJ_SET, LOOKUP_WRITE, &k->ref, &wt);
    k->o.enc = ENC_INTSET;
    k->o.ptr = NULL;
    if (wt)
        return false;
    if (k->e)
        k->o = entry_sobj(k->e);
    return true;
}

/* Write the handle back after `changes` modifications: creates the key,
 * replaces its entry (encoding changed), re-points it (intset moved) or
 * deletes it (set now empty). */
static void skey_commit(struct skey *k, uint64_t changes)
{
    const struct resp_arg *key = &k->c->argv[k->arg];
    if (!k->o.ptr)
        return;
    if (sobj_len(&k->o) == 0) {
        if (k->e) {
            entry_set_ptr(k->e, k->o.ptr);
            db_delete_ref(k->s, k->db, k->ref);
        } else {
            sobj_free(&k->o);
        }
        return;
    }
    if (!k->e) {
        db_set(k->s, k->db, entry_new_ptr(key->ptr, key->len, OBJ_SET, k->o.enc, k->o.ptr, -1));
        if (changes > 1)
            db_changed(k->s, k->db, key->ptr, key->len, changes - 1);
        return;
    }
    db_store_value(k->s, k->db, k->ref, k->o.enc, k->o.ptr, changes);
}

/* Store a computed set under key argument i (replacing whatever is there,
 * without its TTL) or delete the key when the set is empty; replies the
 * size. Takes ownership of o. */
static void store_result(struct cmd_ctx *c, int i, struct sobj *o)
{
    const struct resp_arg *key = &c->argv[i];
    unsigned long n = sobj_len(o);
    if (n == 0) {
        sobj_free(o);
        db_delete(arg_shard(c, i), arg_db(c, i), key->ptr, key->len);
        return reply_int(c->out, 0);
    }
    db_set(arg_shard(c, i), arg_db(c, i),
           entry_new_ptr(key->ptr, key->len, OBJ_SET, o->enc, o->ptr, -1));
    reply_int(c->out, (long long)n);
}

/* Key argument i for reading: true with *o set when it is a set; false
 * when missing or of another type (WRONGTYPE replied, *wt set). */
static bool set_read(struct cmd_ctx *c, int i, struct sobj *o, bool *wt)
{
    struct entry *e = key_lookup_type(c, i, OBJ_SET, LOOKUP_NONE, NULL, wt);
    if (!e)
        return false;
    *o = entry_sobj(e);
    return true;
}

static void reply_all(struct cmd_ctx *c, const struct sobj *o)
{
    struct siter it;
    struct smember m;
    siter_init(&it, o);
    while (siter_next(&it, &m))
        reply_member(c, &m);
}

/* ---- SADD SREM SMOVE ---- */

/* SADD key member [member ...]: the number of members added. The first
 * member decides whether a new set starts as an intset. */
void cmd_sadd(struct cmd_ctx *c)
{
    struct skey k;
    struct smember m;
    uint64_t added = 0;

    if (!skey_open(c, 1, &k))
        return;
    if (!k.e) {
        mem_str_init(&m, c->argv[2].ptr, c->argv[2].len);
        sobj_init_for(&k.o, &m, set_seed(c, 1));
    }
    for (int i = 2; i < c->argc; i++) {
        mem_str_init(&m, c->argv[i].ptr, c->argv[i].len);
        added += sobj_add(&k.o, &m, set_seed(c, 1));
    }
    skey_commit(&k, added);
    reply_int(c->out, (long long)added);
}

/* SREM key member [member ...]: the number of members removed; the key
 * goes when the set empties. */
void cmd_srem(struct cmd_ctx *c)
{
    struct skey k;
    struct smember m;
    uint64_t removed = 0;

    if (!skey_open(c, 1, &k))
        return;
    if (!k.e)
        return reply_int(c->out, 0);
    for (int i = 2; i < c->argc && sobj_len(&k.o) > 0; i++) {
        mem_str_init(&m, c->argv[i].ptr, c->argv[i].len);
        removed += sobj_remove(&k.o, &m);
    }
    skey_commit(&k, removed);
    reply_int(c->out, (long long)removed);
}

/* SMOVE source destination member: 1 if member moved (or, with source ==
 * destination, is there), else 0. A missing source answers 0 before any
 * type check of the destination, as Redis. */
void cmd_smove(struct cmd_ctx *c)
{
    struct entry *src = key_lookup(c, 1, LOOKUP_WRITE, NULL);
    struct entry *dst = key_lookup(c, 2, LOOKUP_WRITE, NULL);
    struct smember m;
    struct skey k;

    if (!src)
        return reply_int(c->out, 0);
    if (entry_type(src) != OBJ_SET || (dst && entry_type(dst) != OBJ_SET))
        return reply_error(c->out, ERR_WRONGTYPE);
    mem_str_init(&m, c->argv[3].ptr, c->argv[3].len);
    if (src == dst) {
        struct sobj o = entry_sobj(src);
        return reply_int(c->out, sobj_has(&o, &m));
    }

    /* Source first, then the destination looked up again: deleting the
     * source may have moved the destination's link. */
    skey_open(c, 1, &k);
    if (!sobj_remove(&k.o, &m)) {
        skey_commit(&k, 0);
        return reply_int(c->out, 0);
    }
    skey_commit(&k, 1);
    skey_open(c, 2, &k);
    if (!k.e)
        sobj_init_for(&k.o, &m, set_seed(c, 2));
    skey_commit(&k, sobj_add(&k.o, &m, set_seed(c, 2)));
    reply_int(c->out, 1);
}

/* ---- SISMEMBER SMISMEMBER SCARD ---- */

void cmd_sismember(struct cmd_ctx *c)
{
    struct sobj o;
    struct smember m;
    bool wt;

    if (!set_read(c, 1, &o, &wt)) {
        if (!wt)
            reply_int(c->out, 0);
        return;
    }
    mem_str_init(&m, c->argv[2].ptr, c->argv[2].len);
    reply_int(c->out, sobj_has(&o, &m));
}

/* SMISMEMBER key member [member ...]: an array of 0/1; a missing key is
 * an empty set. */
void cmd_smismember(struct cmd_ctx *c)
{
    struct sobj o;
    struct smember m;
    bool wt;
    bool found = set_read(c, 1, &o, &wt);

    if (wt)
        return;
    reply_array(c->out, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        mem_str_init(&m, c->argv[i].ptr, c->argv[i].len);
        reply_int(c->out, found && sobj_has(&o, &m));
    }
}

void cmd_scard(struct cmd_ctx *c)
{
    struct sobj o;
    bool wt;

    if (!set_read(c, 1, &o, &wt)) {
        if (!wt)
            reply_int(c->out, 0);
        return;
    }
    reply_int(c->out, (long long)sobj_len(&o));
}

/* ---- SPOP ---- */

/* SPOP is logged as one SREM key member per member it took (or DEL key
 * when it took the whole set with a count), as Redis 7.0 does: chance
 * picked the members, so the replay must name them. Called before the
 * member is removed (its bytes may live in the set). */
static void propagate_srem(struct cmd_ctx *c, struct smember *m)
{
    size_t n;
    const char *p = mem_str(m, &n);
    struct resp_arg argv[3] = {prop_word("SREM"), c->argv[1], {p, n}};
    cmd_propagate(c, 3, argv);
}

/* SPOP key count: a set of up to count distinct members, removed. Count
 * >= size pops the whole set (and deletes the key). Otherwise, when the
 * members kept are few compared to those popped, the kept ones are
 * picked into a new set (which starts again as an intset if it can) and
 * the rest of the old one is replied; else members are picked and removed
 * one by one. */
static void spop_count(struct cmd_ctx *c)
{
    long long l;
    struct skey k;
    struct smember m;

    if (!str_to_ll(c->argv[2].ptr, c->argv[2].len, &l) || l < 0)
        return reply_error(c->out, ERR_POSITIVE);
    if (!skey_open(c, 1, &k))
        return;
    if (!k.e || l == 0)
        return reply_set(c->out, 0);

    unsigned long count = (unsigned long)l, size = sobj_len(&k.o);
    if (count >= size) {
        reply_set(c->out, (long long)size);
        reply_all(c, &k.o);
        db_delete_ref(k.s, k.db, k.ref);
        cmd_propagate_key(c, "DEL", 1);
        return;
    }
    reply_set(c->out, (long long)count);
    unsigned long remaining = size - count;
    if (remaining * SPOP_MOVE_STRATEGY_MUL > count) {
        for (unsigned long i = 0; i < count; i++) {
            sobj_random(&k.o, &m);
            reply_member(c, &m);
            propagate_srem(c, &m);
            sobj_remove(&k.o, &m); /* reads m's bytes before freeing them */
        }
        return skey_commit(&k, count);
    }

    struct sobj keep = {ENC_INTSET, NULL};
    uint64_t seed = set_seed(c, 1);
    for (unsigned long i = 0; i < remaining; i++) {
        sobj_random(&k.o, &m);
        if (!keep.ptr)
            sobj_init_for(&keep, &m, seed);
        sobj_add(&keep, &m, seed);
        sobj_remove(&k.o, &m); /* after the copy: m may point into it */
    }
    reply_all(c, &k.o);
    struct siter it;
    siter_init(&it, &k.o);
    while (siter_next(&it, &m))
        propagate_srem(c, &m);
    sobj_free(&k.o);
    k.o = keep;
    skey_commit(&k, count);
}

/* SPOP key [count]: without count one random member (null when the key
 * is missing), removed. */
void cmd_spop(struct cmd_ctx *c)
{
    struct skey k;
    struct smember m;

    if (c->argc == 3)
        return spop_count(c);
    if (c->argc > 3)
        return reply_error(c->out, ERR_SYNTAX);
    if (!skey_open(c, 1, &k))
        return;
    if (!k.e)
        return reply_null(c->out);
    sobj_random(&k.o, &m);
    reply_member(c, &m);
    propagate_srem(c, &m);
    sobj_remove(&k.o, &m);
    skey_commit(&k, 1);
}

/* ---- SRANDMEMBER ---- */

/* Distinct random picks, count < size, as Redis's cases 3 and 4: copy the
 * set and remove random members when count is close to size; otherwise
 * draw until count distinct members were seen. */
static void srand_unique(struct cmd_ctx *c, const struct sobj *o, unsigned long count,
                         unsigned long size, uint64_t seed)
{
    struct sobj picked;
    struct smember m;
    sobj_init(&picked, ENC_HT, seed);
    if (count * SRANDMEMBER_SUB_STRATEGY_MUL > size) {
        struct siter it;
        siter_init(&it, o);
        while (siter_next(&it, &m))
            sobj_add(&picked, &m, seed);
        while (size-- > count) {
            sobj_random(&picked, &m);
            sobj_remove(&picked, &m);
        }
    } else {
        while (sobj_len(&picked) < count) {
            sobj_random(o, &m);
            sobj_add(&picked, &m, seed);
        }
    }
    reply_array(c->out, (long long)count);
    reply_all(c, &picked);
    sobj_free(&picked);
}

/* SRANDMEMBER key count: an array. count >= 0: distinct members (the whole
 * set when count >= its size); count < 0: |count| members that may
 * repeat. */
static void srandmember_count(struct cmd_ctx *c)
{
    long long l;
    struct sobj o;
    struct smember m;
    bool wt;

    if (!arg_ll(c, 2, &l, NULL))
        return;
    if (l < -LONG_MAX)
        return reply_errorf(c->out, "ERR value is out of range, value must between %ld and %ld",
                            -LONG_MAX, LONG_MAX);
    if (!set_read(c, 1, &o, &wt)) {
        if (!wt)
            reply_array(c->out, 0);
        return;
    }
    if (l == 0)
        return reply_array(c->out, 0);
    unsigned long count = l < 0 ? (unsigned long)-l : (unsigned long)l;
    unsigned long size = sobj_len(&o);
    if (l < 0 || count == 1) {
        reply_array(c->out, (long long)count);
        while (count--) {
            sobj_random(&o, &m);
            reply_member(c, &m);
        }
        return;
    }
    if (count >= size) {
        reply_array(c->out, (long long)size);
        return reply_all(c, &o);
    }
    srand_unique(c, &o, count, size, set_seed(c, 1));
}

/* SRANDMEMBER key [count]: without count one random member (null when
 * the key is missing). */
void cmd_srandmember(struct cmd_ctx *c)
{
    struct sobj o;
    struct smember m;
    bool wt;

    if (c->argc == 3)
        return srandmember_count(c);
    if (c->argc > 3)
        return reply_error(c->out, ERR_SYNTAX);
    if (!set_read(c, 1, &o, &wt)) {
        if (!wt)
            reply_null(c->out);
        return;
    }
    sobj_random(&o, &m);
    reply_member(c, &m);
}

/* ---- SINTER SMEMBERS SINTERCARD SINTERSTORE ---- */

/* One input of a multi-key command: a set, or absent (NULL entry). */
struct sin {
    const struct entry *e;
    struct sobj o;
    unsigned long len;
    int pos; /* argument order, to keep sorts stable */
};

/* Look up keys first..first+n-1; false when one holds another type
 * (WRONGTYPE replied). Returns how many are missing in *missing. */
static bool read_inputs(struct cmd_ctx *c, int first, int n, struct sin *in, int *missing)
{
    *missing = 0;
    for (int j = 0; j < n; j++) {
        bool wt;
        struct entry *e = key_lookup_type(c, first + j, OBJ_SET, LOOKUP_NONE, NULL, &wt);
        if (wt)
            return false;
        in[j].e = e;
        in[j].pos = j;
        in[j].len = 0;
        in[j].o.ptr = NULL;
        if (e) {
            in[j].o = entry_sobj(e);
            in[j].len = sobj_len(&in[j].o);
        } else {
            (*missing)++;
        }
    }
    return true;
}

static int by_size(const void *a, const void *b)
{
    const struct sin *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->pos - y->pos;
}

static int by_size_desc(const void *a, const void *b)
{
    const struct sin *x = a, *y = b;
    if (x->len != y->len)
        return x->len > y->len ? -1 : 1;
    return x->pos - y->pos;
}

/* m is in every input after the first. */
static bool in_all(struct sin *in, int n, struct smember *m)
{
    for (int j = 1; j < n; j++) {
        if (in[j].e == in[0].e)
            continue;
        if (!sobj_has(&in[j].o, m))
            return false;
    }
    return true;
}

/* A member kept for a reply: bytes inside an input, or an integer. */
struct mref {
    const char *p; /* NULL: integer v */
    size_t n;
    int64_t v;
};

/* The intersection of keys first..first+n-1, walking the smallest set and
 * probing the others. dst > 0: store it under argument dst; card_only:
 * reply its size, stopping at limit (0: none); else reply it as a set. */
static void sinter_generic(struct cmd_ctx *c, int first, int n, int dst, bool card_only,
                           unsigned long limit)
{
    struct sin *in = xmalloc((size_t)n * sizeof(*in));
    int missing;

    if (!read_inputs(c, first, n, in, &missing))
        return free(in);
    if (missing) {
        free(in);
        if (dst > 0) {
            const struct resp_arg *key = &c->argv[dst];
            db_delete(arg_shard(c, dst), arg_db(c, dst), key->ptr, key->len);
            return reply_int(c->out, 0);
        }
        return card_only ? reply_int(c->out, 0) : reply_set(c->out, 0);
    }
    qsort(in, (size_t)n, sizeof(*in), by_size);

    struct siter it;
    struct smember m;
    unsigned long card = 0;
    struct sobj res = {ENC_INTSET, NULL};
    struct mref *out = NULL;
    uint64_t seed = dst > 0 ? set_seed(c, dst) : 0;

    if (dst > 0)
        sobj_init(&res, ENC_INTSET, seed);
    else if (!card_only)
        out = xmalloc((in[0].len ? in[0].len : 1) * sizeof(*out));
    siter_init(&it, &in[0].o);
    while (siter_next(&it, &m)) {
        if (!in_all(in, n, &m))
            continue;
        if (dst > 0) {
            sobj_add(&res, &m, seed);
        } else if (out) {
            out[card].p = m.isint ? NULL : m.p;
            out[card].n = m.n;
            out[card].v = m.v;
        }
        card++;
        if (card_only && limit && card >= limit)
            break;
    }
    free(in);
    if (dst > 0)
        return store_result(c, dst, &res);
    if (card_only)
        return reply_int(c->out, (long long)card);
    reply_set(c->out, (long long)card);
    for (unsigned long i = 0; i < card; i++) {
        if (out[i].p)
            reply_bulk(c->out, out[i].p, out[i].n);
        else
            reply_bulk_ll(c->out, out[i].v);
    }
    free(out);
}

/* SMEMBERS key: the whole set, as SINTER of one key (as Redis 7.0). */
void cmd_smembers(struct cmd_ctx *c) { sinter_generic(c, 1, 1, 0, false, 0); }
void cmd_sinter(struct cmd_ctx *c) { sinter_generic(c, 1, c->argc - 1, 0, false, 0); }
void cmd_sinterstore(struct cmd_ctx *c) { sinter_generic(c, 2, c->argc - 2, 1, false, 0); }

/* SINTERCARD numkeys key [key ...] [LIMIT limit] */
void cmd_sintercard(struct cmd_ctx *c)
{
    long long numkeys, limit = 0;

    if (!str_to_ll(c->argv[1].ptr, c->argv[1].len, &numkeys) || numkeys < 1)
        return reply_error(c->out, "ERR numkeys should be greater than 0");
    if (numkeys > c->argc - 2)
        return reply_error(c->out, "ERR Number of keys can't be greater than number of args");
    for (int i = 2 + (int)numkeys; i < c->argc; i++) {
        if (arg_is(c, i, "limit") && i + 1 < c->argc) {
            i++;
            if (!str_to_ll(c->argv[i].ptr, c->argv[i].len, &limit) || limit < 0)
                return reply_error(c->out, "ERR LIMIT can't be negative");
        } else {
            return reply_error(c->out, ERR_SYNTAX);
        }
    }
    sinter_generic(c, 2, (int)numkeys, 0, true, (unsigned long)limit);
}

/* ---- SUNION SDIFF and their STORE forms ---- */

enum setop { OP_UNION, OP_DIFF };

/* Add (or, for later inputs of algorithm 2, remove) every member of o. */
static void add_all(struct sobj *res, const struct sobj *o, uint64_t seed, bool remove)
{
    struct siter it;
    struct smember m;
    siter_init(&it, o);
    while (siter_next(&it, &m)) {
        if (remove)
            sobj_remove(res, &m);
        else
            sobj_add(res, &m, seed);
    }
}

/* SDIFF as Redis picks it: algorithm 1 walks the first set and probes the
 * others (largest first), O(N*M); algorithm 2 copies the first set and
 * removes every member of the others, O(total). The choice matters beyond
 * speed: algorithm 2 may convert the result to a hashtable on the way. */
static void sdiff_into(struct sobj *res, struct sin *in, int n, uint64_t seed)
{
    if (!in[0].e)
        return;
    for (int j = 1; j < n; j++)
        if (in[j].e == in[0].e)
            return; /* A - A - ... is empty */
    long long one = 0, two = 0;
    for (int j = 0; j < n; j++) {
        if (!in[j].e)
            continue;
        one += (long long)in[0].len;
        two += (long long)in[j].len;
    }
    one /= 2;
    if (one <= two) {
        if (n > 1)
            qsort(in + 1, (size_t)n - 1, sizeof(*in), by_size_desc);
        struct siter it;
        struct smember m;
        siter_init(&it, &in[0].o);
        while (siter_next(&it, &m)) {
            int j;
            for (j = 1; j < n; j++)
                if (in[j].e && sobj_has(&in[j].o, &m))
                    break;
            if (j == n)
                sobj_add(res, &m, seed);
        }
        return;
    }
    for (int j = 0; j < n; j++) {
        if (!in[j].e)
            continue;
        add_all(res, &in[j].o, seed, j > 0);
        if (sobj_len(res) == 0)
            break;
    }
}

/* The union or difference of keys first..first+n-1 into a new set (which
 * starts as an intset); stored under argument dst when dst > 0, else
 * replied as a set. */
static void sunion_diff(struct cmd_ctx *c, int first, int n, int dst, enum setop op)
{
    struct sin *in = xmalloc((size_t)n * sizeof(*in));
    int missing;
    struct sobj res;
    uint64_t seed = set_seed(c, dst > 0 ? dst : first);

    if (!read_inputs(c, first, n, in, &missing))
        return free(in);
    sobj_init(&res, ENC_INTSET, seed);
    if (op == OP_UNION) {
        for (int j = 0; j < n; j++)
            if (in[j].e)
                add_all(&res, &in[j].o, seed, false);
    } else {
        sdiff_into(&res, in, n, seed);
    }
    free(in);
    if (dst > 0)
        return store_result(c, dst, &res);
    reply_set(c->out, (long long)sobj_len(&res));
    reply_all(c, &res);
    sobj_free(&res);
}

void cmd_sunion(struct cmd_ctx *c) { sunion_diff(c, 1, c->argc - 1, 0, OP_UNION); }
void cmd_sunionstore(struct cmd_ctx *c) { sunion_diff(c, 2, c->argc - 2, 1, OP_UNION); }
void cmd_sdiff(struct cmd_ctx *c) { sunion_diff(c, 1, c->argc - 1, 0, OP_DIFF); }
void cmd_sdiffstore(struct cmd_ctx *c) { sunion_diff(c, 2, c->argc - 2, 1, OP_DIFF); }

/* ---- SSCAN ---- */




/* SSCAN key cursor [MATCH pattern] [COUNT count]: [next cursor, members].
 * An intset is returned whole with cursor 0 (the cursor argument is then
 * ignored), as Redis does; a hashtable is walked with dict_scan until
 * COUNT members were seen (at most 10*COUNT buckets), and MATCH filters
 * what was seen. The cursor is checked before the key, the options after
 * it (so a missing key ignores bad options). */
void cmd_sscan(struct cmd_ctx *c)
{
    struct sobj o;
    bool wt;
    uint64_t cursor;
    long long count = 10;
    const char *pat = NULL;
    size_t plen = 0;

    if (!arg_cursor(c, 2, &cursor))
        return;
    if (!set_read(c, 1, &o, &wt)) {
        if (!wt) {
            reply_array(c->out, 2);
            reply_bulk(c->out, "0", 1);
            reply_array(c->out, 0);
        }
        return;
    }
    if (!arg_scan_opts(c, 3, &count, &pat, &plen, NULL))
        return;

    /* Gather the candidates as member references, then filter. */
    struct mref *v;
    size_t n = 0;
    if (o.enc == ENC_INTSET) {
        uint32_t len = intset_len(o.ptr);
        v = xmalloc((len ? len : 1) * sizeof(*v));
        for (uint32_t i = 0; i < len; i++)
            v[n++] = (struct mref){NULL, 0, intset_get(o.ptr, i)};
        cursor = 0;
    } else {
        struct entry_vec sc = {NULL, 0, 0};
        long long maxiter = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
        do {
            cursor = dict_scan(o.ptr, cursor, entry_vec_push, &sc);
        } while (cursor && maxiter-- && sc.n < (unsigned long long)count);
        v = xmalloc((sc.n ? sc.n : 1) * sizeof(*v));
        for (size_t i = 0; i < sc.n; i++) {
            v[n].p = entry_key(sc.v[i], &v[n].n);
            n++;
        }
        free(sc.v);
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        struct smember m;
        if (v[i].p)
            mem_str_init(&m, v[i].p, v[i].n);
        else
            mem_int_init(&m, v[i].v);
        size_t ml;
        const char *mp = mem_str(&m, &ml);
        if (!pat || store_match(pat, plen, mp, ml, false))
            v[kept++] = v[i];
    }
    char cbuf[24];
    int cl = snprintf(cbuf, sizeof(cbuf), "%llu", (unsigned long long)cursor);
    reply_array(c->out, 2);
    reply_bulk(c->out, cbuf, (size_t)cl);
    reply_array(c->out, (long long)kept);
    for (size_t i = 0; i < kept; i++) {
        if (v[i].p)
            reply_bulk(c->out, v[i].p, v[i].n);
        else
            reply_bulk_ll(c->out, v[i].v);
    }
    free(v);
}
