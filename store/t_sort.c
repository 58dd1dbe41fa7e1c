/* SORT and SORT_RO over lists, sets and sorted sets, with Redis 7.0's
 * options, replies and errors:
 *
 *   SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET ...]]
 *            [ASC|DESC] [ALPHA] [STORE destination]
 *
 * What Redis does, and so what this does:
 *  - Options are parsed first (errors before WRONGTYPE); a missing key is an
 *    empty list.
 *  - Without ALPHA an element sorts by its value read as a double with
 *    strtod (so " 1", "1e1", "0x10" and "" are numbers); text that is not
 *    wholly a number, overflows/underflows or is NaN makes the reply
 *    "One or more scores can't be converted into double" (after sorting,
 *    so nothing is stored). Equal scores sort by the element's bytes.
 *  - ALPHA sorts by bytes up to the first NUL (Redis uses strcoll; under
 *    the C.UTF-8 locale Redis runs with, that is byte order for UTF-8
 *    text), or by all the bytes when storing.
 *  - BY pattern: the first '*' is replaced by the element, naming a string
 *    key, or "key->field" a hash field; a missing value weighs 0 (or sorts
 *    first with ALPHA). A pattern without '*' means "do not sort": lists
 *    and sorted sets keep their order (DESC reverses it), sets their
 *    iteration order, except with STORE where a set is sorted ALPHA so that
 *    the stored result is deterministic.
 *  - GET pattern (repeatable): the same lookup, '#' the element itself; a
 *    missing value is a null (an empty string when stored).
 *  - LIMIT offset count is clamped to the input; count < 0 means all.
 *  - STORE writes the result as a list (replacing any value and TTL) and
 *    replies its length; an empty result deletes the destination.
 *  - Ties between distinct elements (same BY value) keep input order, as
 *    glibc's merge-sort qsort does for Redis.
 *
 * Keys named by BY/GET patterns and the STORE destination may live on any
 * shard: sort_getkeys (below) tells the dataplane the destination, and asks
 * for every shard when patterns read other keys; keys are reached through
 * c->key_shard (NULL when everything is on the shard running the command).
 *
 * One difference from Redis 7.0 is left: Redis converts a listpack sorted
 * set to a skiplist as a side effect of sorting it (visible in OBJECT
 * ENCODING); t_zset.h offers no conversion, and it is no part of SORT's
 * contract, so the sorted set keeps its encoding here.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "listpack.h"
#include "t_list.h"
#include "t_set.h"
#include "t_zset.h"

#define ERR_SCORES "ERR One or more scores can't be converted into double"

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

static char *xmemdup(const char *p, size_t n)
{
    char *d = xmalloc(n + 1);
    memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

/* One element being sorted: its bytes (owned, NUL-terminated), its
 * numeric weight and, for ALPHA BY, the owned BY value (NULL: missing). */
struct sitem {
    char *p;
    size_t n;
    double score;
    char *cmp;
    size_t cmplen;
    size_t idx; /* input position: ties keep it */
};

struct sort_opts {
    bool desc, alpha, dontsort;
    long long limit_start, limit_count;
    const struct resp_arg *by;    /* NULL: by the element */
    int store;                    /* STORE destination's argument index; 0: reply */
    int *gets;                    /* argument indexes of GET patterns */
    int ngets;
};

/* ---- pattern lookups ---- */

/* A value found by a pattern: bytes valid until the keyspace changes. */
struct pval {
    const char *p;
    size_t n;
    char buf[LP_INTBUF_SIZE + 8];
};

static struct entry *lookup_any(struct cmd_ctx *c, const char *k, size_t n)
{
    struct shard *s = c->key_shard ? c->key_shard(k, n) : c->shard;
    return db_lookup(s, &s->db[c->dbid], k, n, LOOKUP_NONE, NULL);
}

/* Field f of a hash entry (listpack of field,value... or a dict of string
 * entries, as t_hash.h documents). */
static bool hash_field(struct entry *e, const char *f, size_t flen, struct pval *v)
{
    void *obj = entry_get_ptr(e);
    if (entry_enc(e) == ENC_LISTPACK) {
        unsigned char *p = lp_find(obj, lp_first(obj), f, flen, 1);
        if (!p)
            return false;
        uint32_t l;
        v->p = (const char *)lp_get_str(lp_next(obj, p), &l, v->buf);
        v->n = l;
        return true;
    }
    struct entry **ref = dict_find_ref(obj, f, flen);
    if (!ref)
        return false;
    v->p = entry_str(*ref, &v->n, v->buf);
    return true;
}

/* The value pattern pat selects for element el, as Redis's
 * lookupKeyByPattern: "#" is the element; otherwise the first '*' is
 * replaced by the element, and "->field" after it reads a hash field. The
 * pattern is searched as a C string (up to a NUL), as Redis does. False
 * when there is no '*', the key is missing or of the wrong type, or the
 * field is absent. */
static bool pattern_value(struct cmd_ctx *c, const struct resp_arg *pat, const char *el,
                          size_t elen, struct pval *v)
{
    const char *sp = pat->ptr;
    size_t plen = pat->len, clen = strnlen(sp, plen);

    if (clen == 1 && sp[0] == '#') {
        v->p = el;
        v->n = elen;
        return true;
    }
    const char *star = memchr(sp, '*', clen);
    if (!star)
        return false;
    const char *f = NULL;
    for (const char *q = star + 1; q + 1 < sp + clen; q++) {
        if (q[0] == '-' && q[1] == '>') {
            f = q;
            break;
        }
    }
    size_t fieldlen = 0;
    if (f && f + 2 < sp + clen)
        fieldlen = plen - (size_t)(f - sp) - 2;
    else
        f = NULL;

    size_t prefix = (size_t)(star - sp);
    size_t postfix = plen - (prefix + 1) - (fieldlen ? fieldlen + 2 : 0);
    size_t kl = prefix + elen + postfix;
    char stackbuf[256];
    char *k = kl <= sizeof(stackbuf) ? stackbuf : xmalloc(kl);
    memcpy(k, sp, prefix);
    memcpy(k + prefix, el, elen);
    memcpy(k + prefix + elen, star + 1, postfix);
    struct entry *e = lookup_any(c, k, kl);
    if (k != stackbuf)
        free(k);
    if (!e)
        return false;
    if (f) {
        if (entry_type(e) != OBJ_HASH)
            return false;
        return hash_field(e, f + 2, fieldlen, v);
    }
    if (entry_type(e) != OBJ_STRING)
        return false;
    v->p = entry_str(e, &v->n, v->buf);
    return true;
}

/* ---- loading the input ---- */

struct loader {
    struct sitem *v;
    size_t n, cap;
    size_t skip, take; /* range loading (dontsort with LIMIT) */
};

static bool load_one(void *arg, const char *m, size_t n)
{
    struct loader *ld = arg;
    if (ld->skip) {
        ld->skip--;
        return true;
    }
    if (ld->n == ld->take)
        return false;
    if (ld->n == ld->cap) {
        ld->cap = ld->cap ? ld->cap * 2 : 16;
        ld->v = realloc(ld->v, ld->cap * sizeof(*ld->v));
        if (!ld->v)
            abort();
    }
    struct sitem *it = &ld->v[ld->n];
    it->p = xmemdup(m, n);
    it->n = n;
    it->score = 0;
    it->cmp = NULL;
    it->cmplen = 0;
    it->idx = ld->n;
    ld->n++;
    return true;
}

static bool load_zmember(void *arg, const char *m, size_t n, double score)
{
    (void)score;
    return load_one(arg, m, n);
}

/* Elements of a list from index `from` on, towards the tail (or the head
 * when !fwd), as long as the loader takes them. */
static void load_list(const struct entry *e, long long from, bool fwd, struct loader *ld)
{
    struct ql_iter it;
    char buf[LP_INTBUF_SIZE];
    if (!ql_iter_init(entry_get_ptr(e), from, fwd, &it))
        return;
    for (; ql_iter_valid(&it); ql_iter_next(&it)) {
        uint32_t n;
        const unsigned char *p = ql_iter_get(&it, &n, buf);
        if (!load_one(ld, (const char *)p, n))
            return;
    }
}

static unsigned long input_len(const struct entry *e)
{
    if (!e)
        return 0;
    switch (entry_type(e)) {
    case OBJ_SET:
        return set_length(e);
    case OBJ_ZSET:
        return zset_length(e);
    default:
        return ((const struct quicklist *)entry_get_ptr(e))->count;
    }
}

/* ---- sorting ---- */

static int bytes_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int r = memcmp(a, b, al < bl ? al : bl);
    if (r)
        return r;
    return al < bl ? -1 : al > bl;
}

struct sorter {
    bool desc, alpha, by, store;
};
static __thread struct sorter sorter;

/* ALPHA order: Redis compares with strcoll, so as C strings (up to a NUL),
 * except when storing, where it compares every byte. */
static int alpha_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    if (sorter.store)
        return bytes_cmp(a, al, b, bl);
    return strcmp(a, b);
}

static int item_cmp(const void *x, const void *y)
{
    const struct sitem *a = x, *b = y;
    int cmp;
    if (!sorter.alpha) {
        if (a->score != b->score)
            cmp = a->score > b->score ? 1 : -1;
        else
            cmp = bytes_cmp(a->p, a->n, b->p, b->n);
    } else if (sorter.by) {
        if (!a->cmp || !b->cmp)
            cmp = a->cmp == b->cmp ? 0 : (a->cmp ? 1 : -1);
        else
            cmp = alpha_cmp(a->cmp, a->cmplen, b->cmp, b->cmplen);
    } else {
        cmp = alpha_cmp(a->p, a->n, b->p, b->n);
    }
    if (sorter.desc)
        cmp = -cmp;
    if (cmp)
        return cmp;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Read text as Redis's SORT does: strtod over the whole C string; false
 * on trailing bytes, overflow/underflow or NaN. */
static bool parse_score(const char *p, double *d)
{
    char *end;
    errno = 0;
    *d = strtod(p, &end);
    return end[0] == '\0' && errno != ERANGE && !isnan(*d);
}

/* Fill in the weights; false when one can't be read as a double. */
static bool load_weights(struct cmd_ctx *c, const struct sort_opts *o, struct sitem *v, size_t n)
{
    bool ok = true;
    for (size_t j = 0; j < n; j++) {
        struct pval pv;
        if (o->by) {
            if (!pattern_value(c, o->by, v[j].p, v[j].n, &pv))
                continue;
        } else {
            pv.p = v[j].p;
            pv.n = v[j].n;
        }
        if (o->alpha) {
            if (o->by) {
                v[j].cmp = xmemdup(pv.p, pv.n);
                v[j].cmplen = pv.n;
            }
            continue;
        }
        char *z = pv.p == v[j].p ? NULL : xmemdup(pv.p, pv.n);
        if (!parse_score(z ? z : v[j].p, &v[j].score))
            ok = false;
        free(z);
    }
    return ok;
}

/* ---- output ---- */

/* The result as strings, in order: the elements, or for each one the
 * values of every GET pattern ("" for a missing one when stored). */
struct result {
    char **p;  /* NULL entry: missing (null in a reply) */
    size_t *n;
    size_t len;
};

static void result_build(struct cmd_ctx *c, const struct sort_opts *o, struct sitem *v,
                         long long start, long long end, struct result *r)
{
    size_t count = end >= start ? (size_t)(end - start + 1) : 0;
    size_t per = o->ngets ? (size_t)o->ngets : 1;
    r->len = count * per;
    r->p = xmalloc(r->len * sizeof(*r->p));
    r->n = xmalloc(r->len * sizeof(*r->n));
    size_t k = 0;
    for (long long j = start; j <= end; j++) {
        if (!o->ngets) {
            r->p[k] = xmemdup(v[j].p, v[j].n);
            r->n[k++] = v[j].n;
            continue;
        }
        for (int g = 0; g < o->ngets; g++) {
            struct pval pv;
            if (pattern_value(c, &c->argv[o->gets[g]], v[j].p, v[j].n, &pv)) {
                r->p[k] = xmemdup(pv.p, pv.n);
                r->n[k++] = pv.n;
            } else {
                r->p[k] = NULL;
                r->n[k++] = 0;
            }
        }
    }
}

static void result_free(struct result *r)
{
    for (size_t i = 0; i < r->len; i++)
        free(r->p[i]);
    free(r->p);
    free(r->n);
}

static void result_reply(struct cmd_ctx *c, const struct result *r)
{
    reply_array(c->out, (long long)r->len);
    for (size_t i = 0; i < r->len; i++) {
        if (r->p[i])
            reply_bulk(c->out, r->p[i], r->n[i]);
        else
            reply_null(c->out);
    }
}

/* STORE: the result becomes a list under the destination (any value and
 * TTL there go); an empty result deletes the destination. Replies the
 * length. Missing GET values are stored as empty strings. */
static void result_store(struct cmd_ctx *c, const struct sort_opts *o, const struct result *r)
{
    const struct resp_arg *key = &c->argv[o->store];
    struct shard *s = arg_shard(c, o->store);
    struct db *db = arg_db(c, o->store);

    if (r->len == 0) {
        db_delete(s, db, key->ptr, key->len);
        return reply_int(c->out, 0);
    }
    struct quicklist *ql = ql_new();
    for (size_t i = 0; i < r->len; i++)
        ql_push(ql, r->p[i] ? r->p[i] : "", r->n[i], QL_TAIL);
    db_set(s, db, entry_new_ptr(key->ptr, key->len, OBJ_LIST, ENC_QUICKLIST, ql, -1));
    /* Redis counts one change per stored element. */
    if (r->len > 1)
        db_changed(s, db, key->ptr, key->len, r->len - 1);
    reply_int(c->out, (long long)r->len);
}

/* ---- the command ---- */

/* Parse the options from argument 2 on; false when an error was replied. */
static bool parse_opts(struct cmd_ctx *c, bool readonly, struct sort_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->limit_count = -1;
    o->gets = xmalloc((size_t)c->argc * sizeof(*o->gets));
    for (int j = 2; j < c->argc; j++) {
        int left = c->argc - j - 1;
        if (arg_is(c, j, "asc")) {
            o->desc = false;
        } else if (arg_is(c, j, "desc")) {
            o->desc = true;
        } else if (arg_is(c, j, "alpha")) {
            o->alpha = true;
        } else if (arg_is(c, j, "limit") && left >= 2) {
            if (!arg_ll(c, j + 1, &o->limit_start, NULL) ||
                !arg_ll(c, j + 2, &o->limit_count, NULL))
                return false;
            j += 2;
        } else if (!readonly && arg_is(c, j, "store") && left >= 1) {
            o->store = ++j;
        } else if (arg_is(c, j, "by") && left >= 1) {
            o->by = &c->argv[++j];
            /* A pattern without '*' is constant: nothing to sort by. */
            o->dontsort = memchr(o->by->ptr, '*', strnlen(o->by->ptr, o->by->len)) == NULL;
        } else if (arg_is(c, j, "get") && left >= 1) {
            o->gets[o->ngets++] = ++j;
        } else {
            reply_error(c->out, ERR_SYNTAX);
            return false;
        }
    }
    return true;
}

static void sort_generic(struct cmd_ctx *c, bool readonly)
{
    struct sort_opts o;
    bool wt = false;

    if (!parse_opts(c, readonly, &o))
        return free(o.gets);
    struct entry *e = key_lookup(c, 1, LOOKUP_NONE, NULL);
    if (e && entry_type(e) != OBJ_SET && entry_type(e) != OBJ_LIST && entry_type(e) != OBJ_ZSET)
        wt = true;
    if (wt) {
        free(o.gets);
        return reply_error(c->out, ERR_WRONGTYPE);
    }
    /* A set has no order of its own: sorted anyway when the result is
     * stored, so that it is deterministic. */
    if (o.dontsort && e && entry_type(e) == OBJ_SET && o.store) {
        o.dontsort = false;
        o.alpha = true;
        o.by = NULL;
    }

    /* LIMIT, clamped to the input as Redis does (long arithmetic). */
    long long len = (long long)input_len(e);
    long long start = o.limit_start < 0 ? 0 : o.limit_start;
    if (start > len)
        start = len;
    long long count = o.limit_count < -1 ? -1 : o.limit_count;
    if (count > len)
        count = len;
    long long end = count < 0 ? len - 1 : start + count - 1;
    if (start >= len) {
        start = len - 1;
        end = len - 2;
    }
    if (end >= len)
        end = len - 1;

    /* Load: a list or sorted set with nothing to sort loads only the
     * range, in its own order (reversed by DESC). */
    struct loader ld = {NULL, 0, 0, 0, (size_t)-1};
    int type = e ? entry_type(e) : -1;
    if (o.dontsort && (type == OBJ_LIST || type == OBJ_ZSET)) {
        if (end >= start) {
            ld.take = (size_t)(end - start + 1);
            if (type == OBJ_LIST) {
                load_list(e, o.desc ? len - start - 1 : start, !o.desc, &ld);
            } else {
                ld.skip = (size_t)start;
                zset_foreach(e, o.desc, load_zmember, &ld);
            }
        }
        end -= start;
        start = 0;
    } else if (type == OBJ_LIST) {
        load_list(e, 0, true, &ld);
    } else if (type == OBJ_ZSET) {
        zset_foreach(e, false, load_zmember, &ld);
    } else if (type == OBJ_SET) {
        set_each(e, load_one, &ld);
    }

    bool ok = true;
    if (!o.dontsort) {
        ok = load_weights(c, &o, ld.v, ld.n);
        sorter = (struct sorter){o.desc, o.alpha, o.by != NULL, o.store != 0};
        if (ld.n)
            qsort(ld.v, ld.n, sizeof(*ld.v), item_cmp);
    }

    if (!ok) {
        reply_error(c->out, ERR_SCORES);
    } else {
        struct result r;
        result_build(c, &o, ld.v, start, end, &r);
        if (o.store)
            result_store(c, &o, &r);
        else
            result_reply(c, &r);
        result_free(&r);
    }
    for (size_t j = 0; j < ld.n; j++) {
        free(ld.v[j].p);
        free(ld.v[j].cmp);
    }
    free(ld.v);
    free(o.gets);
}

void cmd_sort(struct cmd_ctx *c) { sort_generic(c, false); }
void cmd_sort_ro(struct cmd_ctx *c) { sort_generic(c, true); }

/* SORT's keys as Redis's sortGetKeys finds them: the sorted key, then the
 * destination of the last STORE (LIMIT's two arguments and BY's and GET's
 * one are skipped, so a pattern named "store" is not taken for the option).
 * BY with a '*' pattern, or GET with anything but "#", reads keys the command
 * does not name, which may live on any shard. */
int sort_getkeys(int argc, const struct resp_arg *argv, int *idx, int max, bool *every_shard)
{
    int n = 0, store = 0;
    *every_shard = false;
    if (argc > 1 && n < max)
        idx[n++] = 1;
    for (int i = 2; i < argc; i++) {
        const struct resp_arg *a = &argv[i];
        bool has_next = i + 1 < argc;
        if (a->len == 5 && !strncasecmp(a->ptr, "limit", 5)) {
            i += 2;
        } else if (a->len == 2 && !strncasecmp(a->ptr, "by", 2) && has_next) {
            *every_shard |= memchr(argv[i + 1].ptr, '*', argv[i + 1].len) != NULL;
            i++;
        } else if (a->len == 3 && !strncasecmp(a->ptr, "get", 3) && has_next) {
            *every_shard |= !(argv[i + 1].len == 1 && argv[i + 1].ptr[0] == '#');
            i++;
        } else if (a->len == 5 && !strncasecmp(a->ptr, "store", 5) && has_next) {
            store = ++i;
        }
    }
    if (store && n < max)
        idx[n++] = store;
    return n;
}
