/* The hash type: HSET HSETNX HGET HMGET HMSET HDEL HLEN HSTRLEN HEXISTS
 * HKEYS HVALS HGETALL HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN, with Redis
 * 7.0's replies, errors and encodings.
 *
 * Encodings (what OBJECT ENCODING reports):
 *   listpack  - one listpack (listpack.h) of field,value,field,value...
 *               in insertion order. Used while the hash has at most
 *               hash-max-listpack-entries fields and every field and value
 *               is at most hash-max-listpack-value bytes. Lookups are a
 *               linear lp_find() over the fields (skip 1), which is what
 *               makes it compact: one allocation, no pointers.
 *   hashtable - a struct dict (dict.c) whose items are string entries
 *               (entry_new_string): the field is the entry's key and the
 *               value its inline value (int / embstr / raw as for keys), so
 *               one allocation per field for values up to 44 bytes. HSCAN
 *               walks it with dict_scan and gets SCAN's guarantees.
 * A hash converts listpack -> hashtable when it crosses a threshold and
 * never converts back, as in Redis. The thresholds are read from
 * store_limits at each check, so CONFIG SET applies to the next write.
 *
 * A command works on a local handle (struct hobj: encoding + pointer)
 * and writes it back to the key once at the end (hash_commit): the
 * encoding lives in the entry's meta bits, so a conversion replaces the
 * entry, while a listpack that only moved is re-pointed in place. A hash
 * left empty deletes its key; a missing key is created at commit.
 *
 * Check order follows Redis: argument parsing that Redis does before the
 * key lookup (HINCRBY's increment, HRANDFIELD's count, HSCAN's cursor)
 * wins over WRONGTYPE; HSCAN's options are parsed after the lookup.
 */
#include <ctype.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "listpack.h"
#include "t_hash.h"

#define ERR_ARITY_FMT "ERR wrong number of arguments for '%s' command"
#define ERR_HASH_NOT_INT "ERR hash value is not an integer"
#define ERR_HASH_NOT_FLOAT "ERR hash value is not a float"
#define ERR_INCR_NAN "ERR increment would produce NaN or Infinity"
#define ERR_VALUE_NAN "ERR value is NaN or Infinity"
#define ERR_OUT_OF_RANGE "ERR value is out of range"

/* Longest hash value HINCRBYFLOAT parses (Redis's MAX_LONG_DOUBLE_CHARS). */
#define MAX_LD_CHARS (5 * 1024)
/* HRANDFIELD: Redis's batch size for negative counts and its threshold for
 * picking by elimination rather than by sampling. */
#define RANDFIELD_BATCH 1000
#define RANDFIELD_SUB_MUL 3

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

/* ---- the hash object: encoding + pointer ---- */

struct hobj {
    int enc;   /* ENC_LISTPACK or ENC_HT */
    void *ptr; /* unsigned char * listpack, or struct dict * */
};

/* A value read out of a hash: bytes valid until the hash changes. */
struct hval {
    const char *s;
    size_t len;
    char buf[LP_INTBUF_SIZE];
};

static struct dict *dict_new(uint64_t seed)
{
    struct dict *d = xmalloc(sizeof(*d));
    dict_init(d, seed);
    return d;
}

static unsigned long hash_len(const struct hobj *h)
{
    if (h->enc == ENC_LISTPACK)
        return lp_length(h->ptr) / 2;
    return (unsigned long)dict_size(h->ptr);
}

/* Seed for a hashtable created by conversion: the process-wide random
 * seed the key table uses, so field buckets are as unpredictable as keys. */
static uint64_t hash_seed(struct cmd_ctx *c)
{
    return arg_db(c, 1)->keys.seed;
}

static struct entry *field_entry(const void *f, size_t flen, const void *v, size_t vlen)
{
    return entry_new_string(f, flen, v, vlen, -1, STR_SET);
}

/* listpack -> hashtable, keeping every field. */
static void hash_convert(struct hobj *h, uint64_t seed)
{
    unsigned char *lp = h->ptr;
    struct dict *d = dict_new(seed);
    char fb[LP_INTBUF_SIZE], vb[LP_INTBUF_SIZE];
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, lp_next(lp, p))) {
        uint32_t fl, vl;
        const unsigned char *f = lp_get_str(p, &fl, fb);
        const unsigned char *v = lp_get_str(lp_next(lp, p), &vl, vb);
        dict_add(d, field_entry(f, fl, v, vl));
    }
    lp_free(lp);
    h->enc = ENC_HT;
    h->ptr = d;
}

/* Position of field f's entry in a listpack hash, or NULL. */
static unsigned char *lp_field(unsigned char *lp, const void *f, size_t flen)
{
    return lp_find(lp, lp_first(lp), f, flen, 1);
}

static bool hash_get(struct hobj *h, const void *f, size_t flen, struct hval *v)
{
    if (h->enc == ENC_LISTPACK) {
        unsigned char *p = lp_field(h->ptr, f, flen);
        if (!p)
            return false;
        uint32_t l;
        v->s = (const char *)lp_get_str(lp_next(h->ptr, p), &l, v->buf);
        v->len = l;
        return true;
    }
    struct entry **ref = dict_find_ref(h->ptr, f, flen);
    if (!ref)
        return false;
    v->s = entry_str(*ref, &v->len, v->buf);
    return true;
}

static bool hash_exists(struct hobj *h, const void *f, size_t flen)
{
    if (h->enc == ENC_LISTPACK)
        return lp_field(h->ptr, f, flen) != NULL;
    return dict_find_ref(h->ptr, f, flen) != NULL;
}

/* May a field or value of len bytes live in a listpack hash? */
static bool fits_listpack(size_t len)
{
    return (long long)len <= store_limits.hash_max_listpack_value;
}

/* Set field f to v; true if the field existed (value updated). Converts
 * before adding an over-long field or value, and after adding the field
 * that passes hash-max-listpack-entries, as Redis's hashTypeSet. */
static bool hash_set(struct hobj *h, uint64_t seed, const void *f, size_t flen, const void *v,
                     size_t vlen)
{
    if (h->enc == ENC_LISTPACK && (!fits_listpack(flen) || !fits_listpack(vlen)))
        hash_convert(h, seed);
    if (h->enc == ENC_LISTPACK) {
        unsigned char *lp = h->ptr;
        unsigned char *p = lp_field(lp, f, flen);
        bool update = p != NULL;
        if (p) {
            p = lp_next(lp, p);
            lp = lp_replace(lp, &p, v, vlen);
        } else {
            lp = lp_append(lp, f, flen);
            lp = lp_append(lp, v, vlen);
        }
        h->ptr = lp;
        if ((long long)hash_len(h) > store_limits.hash_max_listpack_entries)
            hash_convert(h, seed);
        return update;
    }
    struct dict *d = h->ptr;
    struct entry **ref = dict_find_ref(d, f, flen);
    struct entry *ne = field_entry(f, flen, v, vlen);
    if (!ref) {
        dict_add(d, ne);
        return false;
    }
    struct entry *old = *ref;
    dict_replace(ref, ne);
    entry_free(old);
    return true;
}

static bool hash_delete(struct hobj *h, const void *f, size_t flen)
{
    if (h->enc == ENC_LISTPACK) {
        unsigned char *p = lp_field(h->ptr, f, flen);
        if (!p)
            return false;
        h->ptr = lp_delete_range_at(h->ptr, &p, 2);
        return true;
    }
    struct dict *d = h->ptr;
    struct entry **ref = dict_find_ref(d, f, flen);
    if (!ref)
        return false;
    entry_free(dict_unlink(d, ref));
    dict_resize_if_needed(d); /* shrink a mostly emptied table, as Redis */
    return true;
}

/* Before a multi-field write: convert up front if any of the strings is
 * too long for a listpack or the total would pass the listpack size cap
 * (Redis's hashTypeTryConversion). */
static void hash_try_convert(struct hobj *h, uint64_t seed, const struct resp_arg *a, int n)
{
    if (h->enc != ENC_LISTPACK)
        return;
    size_t sum = 0;
    for (int i = 0; i < n; i++) {
        if (!fits_listpack(a[i].len)) {
            hash_convert(h, seed);
            return;
        }
        sum += a[i].len;
    }
    if (!lp_safe_to_add(h->ptr, sum))
        hash_convert(h, seed);
}

/* ---- iteration over both encodings ---- */

/* Calls fn(arg, field, value) for each pair, in listpack order or table
 * order. */
struct hiter_cb {
    void (*fn)(void *arg, const char *f, size_t fl, const char *v, size_t vl);
    void *arg;
};

static int hiter_entry(void *arg, struct entry *e)
{
    struct hiter_cb *cb = arg;
    char vb[LP_INTBUF_SIZE];
    size_t fl, vl;
    const char *f = entry_key(e, &fl);
    const char *v = entry_str(e, &vl, vb);
    cb->fn(cb->arg, f, fl, v, vl);
    return 0;
}

static void hash_foreach(struct hobj *h,
                         void (*fn)(void *arg, const char *f, size_t fl, const char *v, size_t vl),
                         void *arg)
{
    if (h->enc == ENC_LISTPACK) {
        unsigned char *lp = h->ptr;
        char fb[LP_INTBUF_SIZE], vb[LP_INTBUF_SIZE];
        for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, lp_next(lp, p))) {
            uint32_t fl, vl;
            const unsigned char *f = lp_get_str(p, &fl, fb);
            const unsigned char *v = lp_get_str(lp_next(lp, p), &vl, vb);
            fn(arg, (const char *)f, fl, (const char *)v, vl);
        }
        return;
    }
    struct hiter_cb cb = {fn, arg};
    dict_foreach(h->ptr, hiter_entry, &cb);
}

/* ---- obj_ops ---- */

static void free_field(struct entry *e)
{
    entry_free(e);
}

static void obj_free(void *obj, int enc)
{
    if (!obj)
        return;
    if (enc == ENC_HT) {
        dict_free(obj, free_field);
        free(obj);
    } else {
        lp_free(obj);
    }
}

static void dup_pair(void *arg, const char *f, size_t fl, const char *v, size_t vl)
{
    dict_add(arg, field_entry(f, fl, v, vl));
}

static void *obj_dup(const void *obj, int enc)
{
    if (enc == ENC_LISTPACK)
        return lp_dup(obj);
    const struct dict *src = obj;
    struct dict *d = dict_new(src->seed);
    struct hobj h = {ENC_HT, (void *)obj};
    hash_foreach(&h, dup_pair, d);
    return d;
}

/* Bytes allocated for the hash: the listpack, or the table, its bucket
 * arrays and its field entries (sampled past 64: dict_mem). */
static size_t obj_mem(const void *obj, int enc)
{
    if (!obj)
        return 0;
    if (enc == ENC_LISTPACK)
        return lp_mem(obj);
    return dict_mem(obj);
}

const struct obj_ops hash_ops = {obj_free, obj_dup, obj_mem};

/* ---- opening a key and writing it back ---- */

/* A hash key being written by one command. */
struct hkey {
    struct cmd_ctx *c;
    struct shard *s;
    struct db *db;
    struct entry *e;    /* NULL: the key does not exist yet */
    struct entry **ref; /* its link in the key table */
    struct hobj h;
    uint64_t seed;
    bool wrongtype;     /* hkey_open failed with WRONGTYPE (replied) */
};

/* Open key argument 1 for writing. Replies WRONGTYPE and returns false if
 * it holds another type. A missing key gives an empty listpack hash when
 * create is set; otherwise returns false with h.ptr NULL (no reply). */
static bool hkey_open(struct cmd_ctx *c, struct hkey *k, bool create)
{
    bool wrongtype;
    k->c = c;
    k->wrongtype = false;
    k->s = arg_shard(c, 1);
    k->db = arg_db(c, 1);
    k->seed = hash_seed(c);
    k->e = key_lookup_type(c, 1, OBJ_HASH, LOOKUP_WRITE, &k->ref, &wrongtype);
    if (wrongtype) {
        k->wrongtype = true;
        return false;
    }
    if (k->e) {
        k->h.enc = entry_enc(k->e);
        k->h.ptr = entry_get_ptr(k->e);
        return true;
    }
    k->h.enc = ENC_LISTPACK;
    k->h.ptr = create ? lp_new(0) : NULL;
    return create;
}

/* Write the handle back to the key after `changes` modifications: creates
 * the key, replaces its entry (encoding changed), re-points it (listpack
 * moved) or deletes it (hash now empty). */
static void hkey_commit(struct hkey *k, uint64_t changes)
{
    const struct resp_arg *key = &k->c->argv[1];
    if (hash_len(&k->h) == 0) {
        if (k->e) {
            entry_set_ptr(k->e, k->h.ptr);
            db_delete_ref(k->s, k->db, k->ref);
        } else {
            obj_free(k->h.ptr, k->h.enc);
        }
        return;
    }
    if (!k->e) {
        db_set(k->s, k->db,
               entry_new_ptr(key->ptr, key->len, OBJ_HASH, k->h.enc, k->h.ptr, -1));
        if (changes > 1)
            db_changed(k->s, k->db, key->ptr, key->len, changes - 1);
        return;
    }
    db_store_value(k->s, k->db, k->ref, k->h.enc, k->h.ptr, changes);
}

/* Give up a write (error reply already sent): a key that did not exist
 * stays absent. */
static void hkey_abort(struct hkey *k)
{
    if (!k->e)
        obj_free(k->h.ptr, k->h.enc);
    else
        entry_set_ptr(k->e, k->h.ptr);
}

/* Open key argument 1 for reading; false when missing or of another type
 * (WRONGTYPE replied, *wrongtype set). */
static bool hkey_read(struct cmd_ctx *c, struct hobj *h, bool *wrongtype)
{
    struct entry *e = key_lookup_type(c, 1, OBJ_HASH, LOOKUP_NONE, NULL, wrongtype);
    if (!e)
        return false;
    h->enc = entry_enc(e);
    h->ptr = entry_get_ptr(e);
    return true;
}

static void reply_arity(struct cmd_ctx *c)
{
    char name[32];
    size_t n = c->argv[0].len < sizeof(name) - 1 ? c->argv[0].len : sizeof(name) - 1;
    for (size_t i = 0; i < n; i++)
        name[i] = (char)tolower((unsigned char)c->argv[0].ptr[i]);
    name[n] = '\0';
    reply_errorf(c->out, ERR_ARITY_FMT, name);
}

/* ---- HSET HMSET HSETNX ---- */

/* HSET key field value [field value ...]: replies the number of fields
 * added; HMSET (same code, as in Redis) replies OK. An odd pair count is
 * an arity error. O(1) per pair in a hashtable, O(N) in a listpack. */
static void hset_generic(struct cmd_ctx *c, bool hmset)
{
    struct hkey k;
    if (c->argc % 2 == 1)
        return reply_arity(c);
    if (!hkey_open(c, &k, true))
        return;
    hash_try_convert(&k.h, k.seed, c->argv + 2, c->argc - 2);
    long long created = 0;
    for (int i = 2; i < c->argc; i += 2) {
        const struct resp_arg *f = &c->argv[i], *v = &c->argv[i + 1];
        created += !hash_set(&k.h, k.seed, f->ptr, f->len, v->ptr, v->len);
    }
    hkey_commit(&k, (uint64_t)(c->argc - 2) / 2);
    if (hmset)
        reply_ok(c->out);
    else
        reply_int(c->out, created);
}

void cmd_hset(struct cmd_ctx *c) { hset_generic(c, false); }
void cmd_hmset(struct cmd_ctx *c) { hset_generic(c, true); }

/* HSETNX key field value: 1 if the field was set, 0 if it existed. */
void cmd_hsetnx(struct cmd_ctx *c)
{
    struct hkey k;
    if (!hkey_open(c, &k, true))
        return;
    const struct resp_arg *f = &c->argv[2], *v = &c->argv[3];
    if (hash_exists(&k.h, f->ptr, f->len)) {
        hkey_commit(&k, 0);
        return reply_int(c->out, 0);
    }
    hash_try_convert(&k.h, k.seed, c->argv + 2, 2);
    hash_set(&k.h, k.seed, f->ptr, f->len, v->ptr, v->len);
    hkey_commit(&k, 1);
    reply_int(c->out, 1);
}

/* ---- reads of single fields ---- */

static void reply_field(struct cmd_ctx *c, struct hobj *h, const struct resp_arg *f)
{
    struct hval v;
    if (h && hash_get(h, f->ptr, f->len, &v))
        reply_bulk(c->out, v.s, v.len);
    else
        reply_null(c->out);
}

/* HGET key field: the value, or null. */
void cmd_hget(struct cmd_ctx *c)
{
    struct hobj h;
    bool wt;
    if (!hkey_read(c, &h, &wt)) {
        if (!wt)
            reply_null(c->out);
        return;
    }
    reply_field(c, &h, &c->argv[2]);
}

/* HMGET key field [field ...]: an array with a value or null per field;
 * a missing key is an empty hash. */
void cmd_hmget(struct cmd_ctx *c)
{
    struct hobj h;
    bool wt;
    bool found = hkey_read(c, &h, &wt);
    if (wt)
        return;
    reply_array(c->out, c->argc - 2);
    for (int i = 2; i < c->argc; i++)
        reply_field(c, found ? &h : NULL, &c->argv[i]);
}

/* HEXISTS key field: 1 or 0. */
void cmd_hexists(struct cmd_ctx *c)
{
    struct hobj h;
    bool wt;
    if (!hkey_read(c, &h, &wt)) {
        if (!wt)
            reply_int(c->out, 0);
        return;
    }
    reply_int(c->out, hash_exists(&h, c->argv[2].ptr, c->argv[2].len));
}

/* HSTRLEN key field: length of the value (of its decimal text for an
 * integer stored as one), 0 when missing. */
void cmd_hstrlen(struct cmd_ctx *c)
{
    struct hobj h;
    struct hval v;
    bool wt;
    if (!hkey_read(c, &h, &wt)) {
        if (!wt)
            reply_int(c->out, 0);
        return;
    }
    bool found = hash_get(&h, c->argv[2].ptr, c->argv[2].len, &v);
    reply_int(c->out, found ? (long long)v.len : 0);
}

/* HLEN key: number of fields. O(1). */
void cmd_hlen(struct cmd_ctx *c)
{
    struct hobj h;
    bool wt;
    if (!hkey_read(c, &h, &wt)) {
        if (!wt)
            reply_int(c->out, 0);
        return;
    }
    reply_int(c->out, (long long)hash_len(&h));
}

/* ---- HDEL ---- */

/* HDEL key field [field ...]: number of fields removed. The key goes away
 * with its last field. */
void cmd_hdel(struct cmd_ctx *c)
{
    struct hkey k;
    if (!hkey_open(c, &k, false)) {
        if (!k.wrongtype)
            reply_int(c->out, 0);
        return;
    }
    long long deleted = 0;
    for (int i = 2; i < c->argc; i++) {
        deleted += hash_delete(&k.h, c->argv[i].ptr, c->argv[i].len);
        if (hash_len(&k.h) == 0)
            break;
    }
    hkey_commit(&k, (uint64_t)deleted);
    reply_int(c->out, deleted);
}

/* ---- HKEYS HVALS HGETALL ---- */

#define WANT_FIELD 1
#define WANT_VALUE 2

struct getall {
    struct reply *out;
    int what;
};

static void getall_pair(void *arg, const char *f, size_t fl, const char *v, size_t vl)
{
    struct getall *g = arg;
    if (g->what & WANT_FIELD)
        reply_bulk(g->out, f, fl);
    if (g->what & WANT_VALUE)
        reply_bulk(g->out, v, vl);
}

/* HKEYS/HVALS reply an array, HGETALL a map (flat array in RESP2); a
 * missing key is an empty one. */
static void getall_generic(struct cmd_ctx *c, int what)
{
    struct hobj h;
    bool wt;
    bool both = what == (WANT_FIELD | WANT_VALUE);
    bool found = hkey_read(c, &h, &wt);
    if (wt)
        return;
    long long n = found ? (long long)hash_len(&h) : 0;
    if (both)
        reply_map(c->out, n);
    else
        reply_array(c->out, n);
    if (!found)
        return;
    struct getall g = {c->out, what};
    hash_foreach(&h, getall_pair, &g);
}

void cmd_hkeys(struct cmd_ctx *c) { getall_generic(c, WANT_FIELD); }
void cmd_hvals(struct cmd_ctx *c) { getall_generic(c, WANT_VALUE); }
void cmd_hgetall(struct cmd_ctx *c) { getall_generic(c, WANT_FIELD | WANT_VALUE); }

/* ---- HINCRBY HINCRBYFLOAT ---- */

/* HINCRBY key field increment: the new value. The increment is parsed
 * before the key is looked up (a bad one wins over WRONGTYPE). */
void cmd_hincrby(struct cmd_ctx *c)
{
    long long incr, value = 0;
    struct hkey k;
    struct hval v;
    if (!arg_ll(c, 3, &incr, NULL))
        return;
    if (!hkey_open(c, &k, true))
        return;
    const struct resp_arg *f = &c->argv[2];
    if (hash_get(&k.h, f->ptr, f->len, &v) && !str_to_ll(v.s, v.len, &value)) {
        hkey_abort(&k);
        return reply_error(c->out, ERR_HASH_NOT_INT);
    }
    if ((incr < 0 && value < 0 && incr < LLONG_MIN - value) ||
        (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
        hkey_abort(&k);
        return reply_error(c->out, ERR_OVERFLOW);
    }
    value += incr;
    char buf[LP_INTBUF_SIZE];
    int n = lp_fmt_int(value, buf);
    hash_set(&k.h, k.seed, f->ptr, f->len, buf, (size_t)n);
    hkey_commit(&k, 1);
    reply_int(c->out, value);
}

/* HINCRBYFLOAT key field increment: the new value as text (long double,
 * "%.17Lf" with trailing zeros removed, as INCRBYFLOAT). Refuses an
 * infinite or NaN increment before the lookup, a result that is one after
 * it. */
void cmd_hincrbyfloat(struct cmd_ctx *c)
{
    long double incr, value = 0;
    struct hkey k;
    struct hval v;
    if (!arg_ld(c, 3, &incr))
        return;
    if (isnan(incr) || isinf(incr))
        return reply_error(c->out, ERR_VALUE_NAN);
    if (!hkey_open(c, &k, true))
        return;
    const struct resp_arg *f = &c->argv[2];
    if (hash_get(&k.h, f->ptr, f->len, &v) &&
        (v.len >= MAX_LD_CHARS || !str_to_ld(v.s, v.len, &value))) {
        hkey_abort(&k);
        return reply_error(c->out, ERR_HASH_NOT_FLOAT);
    }
    value += incr;
    if (isnan(value) || isinf(value)) {
        hkey_abort(&k);
        return reply_error(c->out, ERR_INCR_NAN);
    }
    char buf[MAX_LD_CHARS];
    int n = resp_format_ld(buf, sizeof(buf), value);
    if (n < 0)
        n = 0;
    hash_set(&k.h, k.seed, f->ptr, f->len, buf, (size_t)n);
    hkey_commit(&k, 1);
    reply_bulk(c->out, buf, (size_t)n);
    /* Logged as HSET key field <result> (Redis 7.0), so a replay does not
     * depend on float arithmetic or formatting. */
    struct resp_arg argv[4] = {prop_word("HSET"), c->argv[1], *f, {buf, (size_t)n}};
    cmd_propagate(c, 4, argv);
}

/* ---- HRANDFIELD ---- */

/* One picked field (and value) of either encoding. */
static void reply_pick_lp(struct cmd_ctx *c, const struct lp_elem *f, const struct lp_elem *v)
{
    char buf[LP_INTBUF_SIZE];
    uint32_t l;
    const unsigned char *s;
    if (v && c->out->proto > 2)
        reply_array(c->out, 2);
    s = lp_elem_str(f, &l, buf);
    reply_bulk(c->out, s, l);
    if (v) {
        s = lp_elem_str(v, &l, buf);
        reply_bulk(c->out, s, l);
    }
}

static void reply_pick_entry(struct cmd_ctx *c, const struct entry *e, bool withvalues)
{
    size_t l;
    char buf[LP_INTBUF_SIZE];
    if (withvalues && c->out->proto > 2)
        reply_array(c->out, 2);
    const char *f = entry_key(e, &l);
    reply_bulk(c->out, f, l);
    if (withvalues) {
        const char *v = entry_str(e, &l, buf);
        reply_bulk(c->out, v, l);
    }
}

/* A set of entry pointers (open addressing) for picking distinct fields
 * of a large hashtable in O(count). */
struct ptrset {
    const void **slot;
    size_t mask;
};

static void ptrset_init(struct ptrset *ps, size_t n)
{
    size_t cap = 8;
    while (cap < n * 2)
        cap <<= 1;
    ps->slot = calloc(cap, sizeof(*ps->slot));
    if (!ps->slot)
        abort();
    ps->mask = cap - 1;
}

/* Add p; false if it was already there. */
static bool ptrset_add(struct ptrset *ps, const void *p)
{
    size_t i = (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull) & ps->mask;
    while (ps->slot[i]) {
        if (ps->slot[i] == p)
            return false;
        i = (i + 1) & ps->mask;
    }
    ps->slot[i] = p;
    return true;
}

struct collect {
    const struct entry **v;
    size_t n;
};

static int collect_entry(void *arg, struct entry *e)
{
    struct collect *cl = arg;
    cl->v[cl->n++] = e;
    return 0;
}

/* Random picks with repetition (negative count, or count 1): count
 * elements, in random order. */
static void randfield_repeat(struct cmd_ctx *c, struct hobj *h, unsigned long count,
                             bool withvalues)
{
    reply_array(c->out, (long long)(withvalues && c->out->proto == 2 ? count * 2 : count));
    if (h->enc == ENC_HT) {
        while (count--)
            reply_pick_entry(c, dict_random(h->ptr), withvalues);
        return;
    }
    unsigned long batch = count < RANDFIELD_BATCH ? count : RANDFIELD_BATCH;
    struct lp_elem *keys = xmalloc(batch * sizeof(*keys));
    struct lp_elem *vals = withvalues ? xmalloc(batch * sizeof(*vals)) : NULL;
    while (count) {
        unsigned long n = count < batch ? count : batch;
        count -= n;
        lp_random_pairs(h->ptr, n, keys, vals);
        for (unsigned long i = 0; i < n; i++)
            reply_pick_lp(c, &keys[i], vals ? &vals[i] : NULL);
    }
    free(keys);
    free(vals);
}

/* Distinct picks, count < size. A listpack is sampled in one walk. A
 * hashtable: when count is a large part of it, a partial shuffle of all
 * its entries; otherwise random draws with duplicates skipped, O(count). */
static void randfield_unique(struct cmd_ctx *c, struct hobj *h, unsigned long count,
                             unsigned long size, bool withvalues)
{
    if (h->enc == ENC_LISTPACK) {
        struct lp_elem *keys = xmalloc(count * sizeof(*keys));
        struct lp_elem *vals = withvalues ? xmalloc(count * sizeof(*vals)) : NULL;
        unsigned long n = lp_random_pairs_unique(h->ptr, count, keys, vals);
        for (unsigned long i = 0; i < n; i++)
            reply_pick_lp(c, &keys[i], vals ? &vals[i] : NULL);
        free(keys);
        free(vals);
        return;
    }
    if (count * RANDFIELD_SUB_MUL > size) {
        struct collect cl = {xmalloc(size * sizeof(*cl.v)), 0};
        dict_foreach(h->ptr, collect_entry, &cl);
        for (unsigned long i = 0; i < count; i++) {
            size_t j = i + (size_t)rand() % (cl.n - i);
            const struct entry *t = cl.v[i];
            cl.v[i] = cl.v[j];
            cl.v[j] = t;
            reply_pick_entry(c, cl.v[i], withvalues);
        }
        free(cl.v);
        return;
    }
    struct ptrset ps;
    ptrset_init(&ps, count);
    for (unsigned long added = 0; added < count;) {
        struct entry *e = dict_random(h->ptr);
        if (!ptrset_add(&ps, e))
            continue;
        reply_pick_entry(c, e, withvalues);
        added++;
    }
    free(ps.slot);
}

/* HRANDFIELD key: one random field as a bulk string. */
static void randfield_one(struct cmd_ctx *c, struct hobj *h)
{
    if (h->enc == ENC_HT) {
        size_t l;
        const char *f = entry_key(dict_random(h->ptr), &l);
        return reply_bulk(c->out, f, l);
    }
    struct lp_elem k;
    lp_random_pairs(h->ptr, 1, &k, NULL);
    reply_pick_lp(c, &k, NULL);
}

struct pairs_out {
    struct cmd_ctx *c;
    bool withvalues;
};

static void randfield_all_pair(void *arg, const char *f, size_t fl, const char *v, size_t vl)
{
    struct pairs_out *po = arg;
    if (po->withvalues && po->c->out->proto > 2)
        reply_array(po->c->out, 2);
    reply_bulk(po->c->out, f, fl);
    if (po->withvalues)
        reply_bulk(po->c->out, v, vl);
}

/* HRANDFIELD key [count [WITHVALUES]]: without count one random field
 * (null when the key is missing); with a count an array: count >= 0 gives
 * distinct fields (the whole hash when count >= its size), a negative
 * count |count| fields that may repeat. WITHVALUES interleaves values in
 * RESP2 and gives [field, value] pairs in RESP3. */
void cmd_hrandfield(struct cmd_ctx *c)
{
    struct hobj h;
    bool wt, withvalues = false;
    long long l = 0;

    if (c->argc >= 3) {
        if (!arg_ll(c, 2, &l, NULL))
            return;
        if (l < -LONG_MAX) {
            return reply_errorf(c->out, "ERR value is out of range, value must between %ld and %ld",
                                -LONG_MAX, LONG_MAX);
        }
        if (c->argc > 4 || (c->argc == 4 && !arg_is(c, 3, "withvalues")))
            return reply_error(c->out, ERR_SYNTAX);
        if (c->argc == 4) {
            withvalues = true;
            if (l < -LONG_MAX / 2 || l > LONG_MAX / 2)
                return reply_error(c->out, ERR_OUT_OF_RANGE);
        }
    }
    bool found = hkey_read(c, &h, &wt);
    if (wt)
        return;
    if (c->argc < 3) {
        if (!found)
            return reply_null(c->out);
        return randfield_one(c, &h);
    }
    if (!found || l == 0)
        return reply_array(c->out, 0);
    unsigned long count = l < 0 ? (unsigned long)-l : (unsigned long)l;
    if (l < 0 || count == 1)
        return randfield_repeat(c, &h, count, withvalues);
    unsigned long size = hash_len(&h);
    if (count >= size) {
        reply_array(c->out, (long long)(withvalues && c->out->proto == 2 ? size * 2 : size));
        struct pairs_out po = {c, withvalues};
        return hash_foreach(&h, randfield_all_pair, &po);
    }
    reply_array(c->out, (long long)(withvalues && c->out->proto == 2 ? count * 2 : count));
    randfield_unique(c, &h, count, size, withvalues);
}

/* ---- HSCAN ---- */




static bool scan_match(const char *pat, size_t plen, const char *f, size_t fl)
{
    return !pat || store_match(pat, plen, f, fl, false);
}

/* HSCAN key cursor [MATCH pattern] [COUNT count]: [next cursor, flat
 * field/value array]. A listpack hash is returned whole with cursor 0 (the
 * cursor argument is then ignored), as Redis does; a hashtable is walked
 * with dict_scan until about COUNT fields were seen (at most 10*COUNT*2
 * buckets), and MATCH filters what was seen. The cursor is checked before
 * the key, the options after it (so a missing key ignores bad options). */
void cmd_hscan(struct cmd_ctx *c)
{
    struct hobj h;
    bool wt;
    uint64_t cursor;
    long long count = 10;
    const char *pat = NULL;
    size_t plen = 0;

    if (!arg_cursor(c, 2, &cursor))
        return;
    if (!hkey_read(c, &h, &wt)) {
        if (!wt) {
            reply_array(c->out, 2);
            reply_bulk(c->out, "0", 1);
            reply_array(c->out, 0);
        }
        return;
    }
    if (!arg_scan_opts(c, 3, &count, &pat, &plen, NULL))
        return;

    char cbuf[24];
    if (h.enc == ENC_LISTPACK) {
        unsigned char *lp = h.ptr;
        unsigned long n = 0;
        char fb[LP_INTBUF_SIZE], vb[LP_INTBUF_SIZE];
        uint32_t fl, vl;
        for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, lp_next(lp, p))) {
            const unsigned char *f = lp_get_str(p, &fl, fb);
            n += scan_match(pat, plen, (const char *)f, fl);
        }
        reply_array(c->out, 2);
        reply_bulk(c->out, "0", 1);
        reply_array(c->out, (long long)n * 2);
        for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, lp_next(lp, p))) {
            const unsigned char *f = lp_get_str(p, &fl, fb);
            if (!scan_match(pat, plen, (const char *)f, fl))
                continue;
            const unsigned char *v = lp_get_str(lp_next(lp, p), &vl, vb);
            reply_bulk(c->out, f, fl);
            reply_bulk(c->out, v, vl);
        }
        return;
    }

    /* Redis doubles COUNT for a hash and counts fields and values, so a
     * step gathers about COUNT pairs, visiting at most 20*COUNT buckets. */
    struct entry_vec sc = {NULL, 0, 0};
    unsigned long long want = (unsigned long long)count;
    long long maxiter = count > LLONG_MAX / 20 ? LLONG_MAX : count * 20;
    do {
        cursor = dict_scan(h.ptr, cursor, entry_vec_push, &sc);
    } while (cursor && maxiter-- && sc.n < want);

    size_t n = 0;
    for (size_t i = 0; i < sc.n; i++) {
        size_t fl;
        const char *f = entry_key(sc.v[i], &fl);
        if (scan_match(pat, plen, f, fl))
            sc.v[n++] = sc.v[i];
    }
    int cl = snprintf(cbuf, sizeof(cbuf), "%llu", (unsigned long long)cursor);
    reply_array(c->out, 2);
    reply_bulk(c->out, cbuf, (size_t)cl);
    reply_array(c->out, (long long)n * 2);
    for (size_t i = 0; i < n; i++) {
        char vb[LP_INTBUF_SIZE];
        size_t fl, vl;
        const char *f = entry_key(sc.v[i], &fl);
        const char *v = entry_str(sc.v[i], &vl, vb);
        reply_bulk(c->out, f, fl);
        reply_bulk(c->out, v, vl);
    }
    free(sc.v);
}

/* ---- the value object API (t_hash.h) ---- */

unsigned long hash_obj_len(const void *obj, int enc)
{
    struct hobj h = {enc, (void *)obj};
    return hash_len(&h);
}

void hash_obj_foreach(void *obj, int enc, hash_pair_fn fn, void *arg)
{
    struct hobj h = {enc, obj};
    hash_foreach(&h, fn, arg);
}

struct lp_count {
    unsigned long n;
};

static bool count_elem(const unsigned char *p, void *ud)
{
    (void)p;
    ((struct lp_count *)ud)->n++;
    return true;
}

bool hash_listpack_valid(const unsigned char *lp, size_t size)
{
    struct lp_count cnt = {0};
    if (!lp_validate(lp, size, count_elem, &cnt) || cnt.n % 2)
        return false;
    /* Duplicate fields: an open-addressing set of field positions keyed
     * by the field's text, O(n) instead of lp_find's O(n^2). */
    unsigned long fields = cnt.n / 2;
    size_t cap = 8;
    while (cap < fields * 2)
        cap <<= 1;
    unsigned char **slot = calloc(cap, sizeof(*slot));
    if (!slot)
        abort();
    bool ok = true;
    unsigned char *l = (unsigned char *)lp;
    char buf[LP_INTBUF_SIZE];
    for (unsigned char *p = lp_first(l); p && ok; p = lp_next(l, lp_next(l, p))) {
        uint32_t len;
        const unsigned char *f = lp_get_str(p, &len, buf);
        size_t i = (size_t)store_hash(0x5eed, f, len) & (cap - 1);
        for (; slot[i]; i = (i + 1) & (cap - 1)) {
            if (lp_eq(slot[i], f, len)) {
                ok = false;
                break;
            }
        }
        slot[i] = p;
    }
    free(slot);
    return ok;
}

void hash_build_init(struct hash_build *b, uint64_t seed, unsigned long announced_len)
{
    b->seed = seed;
    if ((long long)announced_len > store_limits.hash_max_listpack_entries) {
        b->enc = ENC_HT;
        b->obj = dict_new(seed);
    } else {
        b->enc = ENC_LISTPACK;
        b->obj = lp_new(0);
    }
}

bool hash_build_add(struct hash_build *b, const void *f, size_t flen, const void *v,
                    size_t vlen)
{
    struct hobj h = {b->enc, b->obj};
    if (hash_exists(&h, f, flen))
        return false;
    hash_set(&h, b->seed, f, flen, v, vlen);
    b->enc = h.enc;
    b->obj = h.ptr;
    return true;
}

void hash_build_adopt_listpack(struct hash_build *b, unsigned char *lp, uint64_t seed)
{
    struct hobj h = {ENC_LISTPACK, lp};
    bool convert = (long long)hash_len(&h) > store_limits.hash_max_listpack_entries;
    for (unsigned char *p = lp_first(lp); p && !convert; p = lp_next(lp, p)) {
        uint32_t len;
        char buf[LP_INTBUF_SIZE];
        lp_get_str(p, &len, buf);
        convert = !fits_listpack(len);
    }
    if (convert)
        hash_convert(&h, seed);
    b->seed = seed;
    b->enc = h.enc;
    b->obj = h.ptr;
}
