/* Sorted sets: the ZSET type, its two encodings and every Z* command of
 * Redis 7.0 (ZADD ... ZSCAN, the blocking BZPOPMIN/BZPOPMAX/BZMPOP).
 *
 * Encodings (what OBJECT ENCODING reports, with Redis 7.0's rules):
 *  - "listpack": one listpack of member, score, member, score ... ordered by
 *    score, then by member bytes. Byte for byte what Redis writes: a score is
 *    stored as a listpack integer when it is integral (Redis's double2ll,
 *    so -0 becomes 0) and as Redis's d2string text otherwise ("1.5",
 *    "-inf"). Used while the set has at most zset-max-listpack-entries
 *    members, none longer than zset-max-listpack-value bytes.
 *  - "skiplist": a skiplist ordered by (score, member) whose links carry
 *    spans, so rank and range-by-rank are O(log N), plus a store/dict.c table
 *    member -> node for O(1) ZSCORE. A member costs one allocation: its
 *    skiplist node with the table's item (a struct entry whose key is the
 *    member) inside it, so the member's bytes are stored once and nothing
 *    else points at them (Redis: three allocations, the member string, the
 *    node and the dict entry; 1M members: 78 bytes each against Redis's
 *    110). Deleting or re-scoring a member finds its place by (score,
 *    member) descent, as Redis does.
 * A set converts listpack -> skiplist when an insert crosses a threshold,
 * and back only where Redis 7.0 does: ZUNIONSTORE/ZINTERSTORE/ZDIFFSTORE
 * results that fit, and ZRANGESTORE results created small.
 *
 * Reading: commands go through a small position abstraction (struct zpos:
 * a listpack element pointer or a skiplist node) so that range, rank and
 * pop logic is written once for both encodings. Range commands never need
 * a deferred reply length: a score/lex range is counted first (same walk,
 * nothing emitted), then emitted.
 *
 * Multi-key commands (ZUNIONSTORE, ZRANGESTORE, ZDIFF, ZMPOP, BZPOPMIN ...)
 * reach every key through key_lookup()/arg_shard()/arg_db(), so their keys
 * may live on different shards; the dispatcher holds all of them.
 *
 * Replies, error texts and the order in which errors are detected follow
 * Redis 7.0.15's t_zset.c; where the order is subtle the comment above the
 * handler says so. Scores are formatted with %.17g (RESP2 bulk, RESP3
 * double) as Redis 7.0 does.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "cmd.h"
#include "listpack.h"
#include "t_set.h"
#include "t_zset.h"

#define ZSL_MAXLEVEL 32
#define ERR_MINMAX_FLOAT "ERR min or max is not a float"
#define ERR_MINMAX_LEX "ERR min or max not valid string range item"
#define ERR_NAN "ERR resulting score is not a number (NaN)"
#define ERR_POSITIVE "ERR value is out of range, must be positive"
#define LIMIT_RANK_ERR                                                                             \
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
#define WITHSCORES_LEX_ERR "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
/* Redis's lpSafeToAdd: a listpack never grows past 1 GB. */
#define LP_SAFETY_SIZE (1UL << 30)

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        abort();
    return p;
}

/* ------------------------------------------------------------------------
 * The skiplist + dict encoding
 *
 * One allocation per member holds its skiplist node and its dict item:
 *
 *   level[L-1] ... level[0] | score | backward | struct entry: member
 *
 * The levels sit before the node's fixed part so that the dict item, a
 * struct entry laid out as store.h documents (next, meta, flags, varint
 * key length, key) with no value, can follow it; a node and its entry are
 * always 16 bytes apart. The entry's 24 LRU bits, unused for an item of a
 * private table, hold the node's level (needed to find the allocation's
 * start). The header node has 32 levels and no entry.
 * ------------------------------------------------------------------------ */

struct zsl_level {
    struct zsl_node *forward;
    unsigned long span; /* elements crossed by following forward */
};

struct zsl_node {
    double score;
    struct zsl_node *backward;
};

struct zsl {
    struct zsl_node *header, *tail;
    unsigned long length;
    int level;
};

struct zset {
    struct dict dict; /* member -> the entry inside the member's node */
    struct zsl zsl;
};

static uint64_t zset_seed;

__attribute__((constructor)) static void zset_seed_init(void)
{
    if (getrandom(&zset_seed, sizeof(zset_seed), 0) != sizeof(zset_seed))
        zset_seed = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)&zset_seed;
}

/* Level i of node x (the levels are stored below the node). */
static inline struct zsl_level *LV(const struct zsl_node *x, int i)
{
    return (struct zsl_level *)x - 1 - i;
}

static inline struct entry *node_ent(const struct zsl_node *x)
{
    return (struct entry *)((char *)x + sizeof(struct zsl_node));
}

static inline struct zsl_node *ent_node(const struct entry *e)
{
    return (struct zsl_node *)((char *)e - sizeof(struct zsl_node));
}

static inline int node_level(const struct zsl_node *x) { return (int)entry_lru(node_ent(x)); }

static inline double ent_score(const struct entry *e) { return ent_node(e)->score; }

static inline const char *node_member(const struct zsl_node *x, size_t *n)
{
    return entry_key(node_ent(x), n);
}

/* Byte order of members, then length, as Redis's sdscmp. */
static inline int mem_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int r = memcmp(a, b, an < bn ? an : bn);
    if (r)
        return r;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

/* True when node x sorts before (score, m). */
static inline bool node_before(const struct zsl_node *x, double score, const char *m, size_t n)
{
    if (x->score != score)
        return x->score < score;
    size_t xl;
    const char *xm = node_member(x, &xl);
    return mem_cmp(xm, xl, m, n) < 0;
}

static __thread uint64_t zsl_rng = 0x853c49e6748fea9bULL;

/* A level in 1..ZSL_MAXLEVEL, each next one 1/4 as likely (Redis's
 * ZSKIPLIST_P). */
static int zsl_random_level(void)
{
    int level = 1;
    for (;;) {
        zsl_rng ^= zsl_rng << 13;
        zsl_rng ^= zsl_rng >> 7;
        zsl_rng ^= zsl_rng << 17;
        uint64_t r = zsl_rng;
        /* 32 two-bit draws per random word */
        for (int i = 0; i < 32; i++, r >>= 2) {
            if ((r & 3) != 0 || level == ZSL_MAXLEVEL)
                return level;
            level++;
        }
    }
}

static inline size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* A node of a random level for member m, not linked yet. Its entry is
 * built in place with store.h's entry layout (varint length, key). */
static struct zsl_node *node_new(double score, const char *m, size_t n)
{
    int level = zsl_random_level();
    size_t lv = (size_t)level * sizeof(struct zsl_level);
    char *p = xmalloc(lv + sizeof(struct zsl_node) + offsetof(struct entry, data) +
                      varint_len(n) + n);
    struct zsl_node *x = (struct zsl_node *)(p + lv);
    struct entry *e = node_ent(x);
    x->score = score;
    x->backward = NULL;
    e->next = NULL;
    e->meta = ((uint32_t)OBJ_STRING << 28) | (uint32_t)level;
    e->flags = 0;
    unsigned char *d = e->data;
    uint64_t v = n;
    while (v >= 0x80) {
        *d++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *d++ = (unsigned char)v;
    memcpy(d, m, n);
    return x;
}

static inline void *node_alloc_start(const struct zsl_node *x, int level)
{
    return (char *)x - (size_t)level * sizeof(struct zsl_level);
}

static void node_free(struct zsl_node *x) { free(node_alloc_start(x, node_level(x))); }


static void zsl_init(struct zsl *zsl)
{
    char *p = xmalloc(ZSL_MAXLEVEL * sizeof(struct zsl_level) + sizeof(struct zsl_node));
    zsl->header = (struct zsl_node *)(p + ZSL_MAXLEVEL * sizeof(struct zsl_level));
    zsl->header->score = 0;
    zsl->header->backward = NULL;
    for (int i = 0; i < ZSL_MAXLEVEL; i++) {
        LV(zsl->header, i)->forward = NULL;
        LV(zsl->header, i)->span = 0;
    }
    zsl->tail = NULL;
    zsl->length = 0;
    zsl->level = 1;
}

/* Free every node (and so every dict item) and the header. */
static void zsl_free_nodes(struct zsl *zsl)
{
    struct zsl_node *x = LV(zsl->header, 0)->forward;
    free(node_alloc_start(zsl->header, ZSL_MAXLEVEL));
    while (x) {
        struct zsl_node *next = LV(x, 0)->forward;
        node_free(x);
        x = next;
    }
}

/* Link node x (not in the list) at its (score, member) place. */
static void zsl_insert(struct zsl *zsl, struct zsl_node *x)
{
    struct zsl_node *update[ZSL_MAXLEVEL], *h = zsl->header;
    unsigned long rank[ZSL_MAXLEVEL];
    size_t n;
    const char *m = node_member(x, &n);
    int level = node_level(x);

    for (int i = zsl->level - 1; i >= 0; i--) {
        rank[i] = i == zsl->level - 1 ? 0 : rank[i + 1];
        while (LV(h, i)->forward && node_before(LV(h, i)->forward, x->score, m, n)) {
            rank[i] += LV(h, i)->span;
            h = LV(h, i)->forward;
        }
        update[i] = h;
    }
    if (level > zsl->level) {
        for (int i = zsl->level; i < level; i++) {
            rank[i] = 0;
            update[i] = zsl->header;
            LV(update[i], i)->span = zsl->length;
        }
        zsl->level = level;
    }
    for (int i = 0; i < level; i++) {
        LV(x, i)->forward = LV(update[i], i)->forward;
        LV(update[i], i)->forward = x;
        LV(x, i)->span = LV(update[i], i)->span - (rank[0] - rank[i]);
        LV(update[i], i)->span = (rank[0] - rank[i]) + 1;
    }
    for (int i = level; i < zsl->level; i++)
        LV(update[i], i)->span++;
    x->backward = update[0] == zsl->header ? NULL : update[0];
    if (LV(x, 0)->forward)
        LV(x, 0)->forward->backward = x;
    else
        zsl->tail = x;
    zsl->length++;
}

/* Unlink x given the rightmost node before it on every level. */
static void zsl_unlink(struct zsl *zsl, struct zsl_node *x, struct zsl_node **update)
{
    int level = node_level(x);
    for (int i = 0; i < zsl->level; i++) {
        if (i < level && LV(update[i], i)->forward == x) {
            LV(update[i], i)->span += LV(x, i)->span - 1;
            LV(update[i], i)->forward = LV(x, i)->forward;
        } else {
            LV(update[i], i)->span -= 1;
        }
    }
    if (LV(x, 0)->forward)
        LV(x, 0)->forward->backward = x->backward;
    else
        zsl->tail = x->backward;
    while (zsl->level > 1 && LV(zsl->header, zsl->level - 1)->forward == NULL)
        zsl->level--;
    zsl->length--;
}

/* Fill update[] with the rightmost nodes before node x on every level
 * (descending by x's score and member). */
static void zsl_path(struct zsl *zsl, const struct zsl_node *x, struct zsl_node **update)
{
    struct zsl_node *h = zsl->header;
    size_t n;
    const char *m = node_member(x, &n);
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (LV(h, i)->forward && node_before(LV(h, i)->forward, x->score, m, n))
            h = LV(h, i)->forward;
        update[i] = h;
    }
}

/* Move node x to newscore: in place when the order does not change
 * (Redis's zslUpdateScore), else unlinked and linked again (same node, so
 * its dict item stays valid). */
static void zsl_update_score(struct zsl *zsl, struct zsl_node *x, double newscore)
{
    if ((x->backward == NULL || x->backward->score < newscore) &&
        (LV(x, 0)->forward == NULL || LV(x, 0)->forward->score > newscore)) {
        x->score = newscore;
        return;
    }
    struct zsl_node *update[ZSL_MAXLEVEL];
    zsl_path(zsl, x, update);
    zsl_unlink(zsl, x, update);
    x->score = newscore;
    zsl_insert(zsl, x);
}

/* 1-based rank of node x. */
static unsigned long zsl_rank(struct zsl *zsl, const struct zsl_node *x)
{
    struct zsl_node *h = zsl->header;
    unsigned long rank = 0;
    size_t n;
    const char *m = node_member(x, &n);
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (LV(h, i)->forward && (LV(h, i)->forward == x ||
                                     node_before(LV(h, i)->forward, x->score, m, n))) {
            rank += LV(h, i)->span;
            h = LV(h, i)->forward;
        }
        if (h == x)
            return rank;
    }
    return 0;
}

/* The node at 1-based rank, NULL when out of range. */
static struct zsl_node *zsl_by_rank(struct zsl *zsl, unsigned long rank)
{
    struct zsl_node *x = zsl->header;
    unsigned long traversed = 0;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (LV(x, i)->forward && traversed + LV(x, i)->span <= rank) {
            traversed += LV(x, i)->span;
            x = LV(x, i)->forward;
        }
        if (traversed == rank)
            return x;
    }
    return NULL;
}

static struct zset *zs_new(void)
{
    struct zset *zs = xmalloc(sizeof(*zs));
    dict_init(&zs->dict, zset_seed);
    zsl_init(&zs->zsl);
    return zs;
}

static void zs_free(struct zset *zs)
{
    /* The dict's items live inside the nodes: drop the table (which walks
     * its chains) while the nodes still exist, then free the nodes. */
    dict_free(&zs->dict, NULL);
    zsl_free_nodes(&zs->zsl);
    free(zs);
}

/* Add a member known to be absent. */
static void zs_insert(struct zset *zs, const char *m, size_t n, double score)
{
    struct zsl_node *x = node_new(score, m, n);
    dict_add(&zs->dict, node_ent(x));
    zsl_insert(&zs->zsl, x);
}

/* Remove member m; false if it was not there. */
static bool zs_delete(struct zset *zs, const char *m, size_t n)
{
    struct entry **ref = dict_find_ref(&zs->dict, m, n);
    if (!ref)
        return false;
    struct zsl_node *x = ent_node(dict_unlink(&zs->dict, ref));
    struct zsl_node *update[ZSL_MAXLEVEL];
    zsl_path(&zs->zsl, x, update);
    zsl_unlink(&zs->zsl, x, update);
    node_free(x);
    return true;
}

/* Delete 1-based ranks [start, end], list and dict. Returns the count. */
static unsigned long zs_delete_ranks(struct zset *zs, unsigned long start, unsigned long end)
{
    struct zsl *zsl = &zs->zsl;
    struct zsl_node *update[ZSL_MAXLEVEL], *x = zsl->header;
    unsigned long traversed = 0, removed = 0;

    for (int i = zsl->level - 1; i >= 0; i--) {
        while (LV(x, i)->forward && traversed + LV(x, i)->span < start) {
            traversed += LV(x, i)->span;
            x = LV(x, i)->forward;
        }
        update[i] = x;
    }
    traversed++;
    x = LV(x, 0)->forward;
    while (x && traversed <= end) {
        struct zsl_node *next = LV(x, 0)->forward;
        size_t n;
        const char *m = node_member(x, &n);
        struct entry **ref = dict_find_ref(&zs->dict, m, n);
        dict_unlink(&zs->dict, ref);
        zsl_unlink(zsl, x, update);
        node_free(x);
        removed++;
        traversed++;
        x = next;
    }
    dict_resize_if_needed(&zs->dict);
    return removed;
}

/* ------------------------------------------------------------------------
 * The listpack encoding: member, score pairs
 * ------------------------------------------------------------------------ */

/* Redis's double2ll: a score that is an integer in +-LLONG_MAX/2 is stored
 * as a listpack integer (so -0 is stored as 0, as in Redis 7.0.15). */
static bool double2ll(double d, long long *out)
{
    if (d < (double)(-LLONG_MAX / 2) || d > (double)(LLONG_MAX / 2))
        return false;
    long long ll = (long long)d;
    if ((double)ll != d)
        return false;
    *out = ll;
    return true;
}

/* Redis's d2string for the other scores. */
static int score_to_str(char *buf, size_t cap, double v)
{
    if (isnan(v))
        return snprintf(buf, cap, "nan");
    if (isinf(v))
        return snprintf(buf, cap, v < 0 ? "-inf" : "inf");
    return snprintf(buf, cap, "%.17g", v);
}

/* Redis's zzlStrtod: at most 127 bytes go to strtod. */
static double lp_score(const unsigned char *sp)
{
    uint32_t len;
    long long iv;
    const unsigned char *s = lp_get(sp, &len, &iv);
    if (!s)
        return (double)iv;
    char buf[128];
    if (len > sizeof(buf) - 1)
        len = sizeof(buf) - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return strtod(buf, NULL);
}

static inline unsigned long zzl_length(const unsigned char *lp)
{
    return lp_length(lp) / 2;
}

/* The member element equal to m, with its score, or NULL: lp_find over the
 * members only (skip 1), as Redis's zzlFind. */
static unsigned char *zzl_find(unsigned char *lp, const char *m, size_t n, double *score)
{
    unsigned char *ep = lp_find(lp, lp_first(lp), m, n, 1);
    if (ep && score)
        *score = lp_score(lp_next(lp, ep));
    return ep;
}

static int zzl_cmp_member(const unsigned char *ep, const char *m, size_t n)
{
    char buf[LP_INTBUF_SIZE];
    uint32_t len;
    const unsigned char *s = lp_get_str(ep, &len, buf);
    return mem_cmp((const char *)s, len, m, n);
}

/* Insert (m, score) before ep (NULL: at the end), as Redis's zzlInsertAt. */
static unsigned char *zzl_insert_at(unsigned char *lp, unsigned char *ep, const char *m, size_t n,
                                    double score)
{
    char sbuf[64];
    long long ll;
    bool is_ll = double2ll(score, &ll);
    int sl = is_ll ? 0 : score_to_str(sbuf, sizeof(sbuf), score);
    unsigned char *sp;
    if (!ep) {
        lp = lp_append(lp, m, n);
        return is_ll ? lp_append_int(lp, ll) : lp_append(lp, sbuf, (size_t)sl);
    }
    lp = lp_insert(lp, ep, m, n, LP_BEFORE, &sp);
    return is_ll ? lp_insert_int(lp, sp, ll, LP_AFTER, NULL)
                 : lp_insert(lp, sp, sbuf, (size_t)sl, LP_AFTER, NULL);
}

/* Insert a member known to be absent at its place in the order. */
static unsigned char *zzl_insert(unsigned char *lp, const char *m, size_t n, double score)
{
    unsigned char *ep = lp_first(lp);
    while (ep) {
        unsigned char *sp = lp_next(lp, ep);
        double s = lp_score(sp);
        if (s > score || (s == score && zzl_cmp_member(ep, m, n) > 0))
            break;
        ep = lp_next(lp, sp);
    }
    return zzl_insert_at(lp, ep, m, n, score);
}

static unsigned char *zzl_delete(unsigned char *lp, unsigned char *ep)
{
    return lp_delete_range_at(lp, &ep, 2);
}

/* ------------------------------------------------------------------------
 * Either encoding
 * ------------------------------------------------------------------------ */

struct zobj {
    int enc;           /* ENC_LISTPACK or ENC_SKIPLIST */
    unsigned char *lp; /* ENC_LISTPACK */
    struct zset *zs;   /* ENC_SKIPLIST */
};

static void zobj_of(const struct entry *e, struct zobj *z)
{
    z->enc = entry_enc(e);
    z->lp = NULL;
    z->zs = NULL;
    if (z->enc == ENC_LISTPACK)
        z->lp = entry_get_ptr(e);
    else
        z->zs = entry_get_ptr(e);
}

static void zobj_new(struct zobj *z, int enc)
{
    z->enc = enc;
    z->lp = enc == ENC_LISTPACK ? lp_new(0) : NULL;
    z->zs = enc == ENC_SKIPLIST ? zs_new() : NULL;
}

static void *zobj_ptr(const struct zobj *z)
{
    return z->enc == ENC_LISTPACK ? (void *)z->lp : (void *)z->zs;
}

static void zobj_free(struct zobj *z)
{
    if (z->enc == ENC_LISTPACK)
        lp_free(z->lp);
    else
        zs_free(z->zs);
    z->lp = NULL;
    z->zs = NULL;
}

static unsigned long zobj_len(const struct zobj *z)
{
    return z->enc == ENC_LISTPACK ? zzl_length(z->lp) : z->zs->zsl.length;
}

static bool zobj_score(const struct zobj *z, const char *m, size_t n, double *score)
{
    if (z->enc == ENC_LISTPACK)
        return zzl_find(z->lp, m, n, score) != NULL;
    struct entry **ref = dict_find_ref(&z->zs->dict, m, n);
    if (!ref)
        return false;
    *score = ent_score(*ref);
    return true;
}

/* listpack -> skiplist (inserting in order: each insert stops early). */
static void zobj_to_skiplist(struct zobj *z)
{
    if (z->enc == ENC_SKIPLIST)
        return;
    struct zset *zs = zs_new();
    unsigned char *ep = lp_first(z->lp);
    while (ep) {
        unsigned char *sp = lp_next(z->lp, ep);
        char buf[LP_INTBUF_SIZE];
        uint32_t len;
        const unsigned char *s = lp_get_str(ep, &len, buf);
        zs_insert(zs, (const char *)s, len, lp_score(sp));
        ep = lp_next(z->lp, sp);
    }
    lp_free(z->lp);
    z->lp = NULL;
    z->zs = zs;
    z->enc = ENC_SKIPLIST;
}

static void zobj_to_listpack(struct zobj *z)
{
    if (z->enc == ENC_LISTPACK)
        return;
    unsigned char *lp = lp_new(0);
    for (struct zsl_node *x = LV(z->zs->zsl.header, 0)->forward; x; x = LV(x, 0)->forward) {
        size_t n;
        const char *m = node_member(x, &n);
        lp = zzl_insert_at(lp, NULL, m, n, x->score);
    }
    zs_free(z->zs);
    z->zs = NULL;
    z->lp = lp;
    z->enc = ENC_LISTPACK;
}

/* ZADD flags (in) and outcomes (out), as Redis's zsetAdd. */
#define ZA_INCR (1 << 0)
#define ZA_NX (1 << 1)
#define ZA_XX (1 << 2)
#define ZA_GT (1 << 3)
#define ZA_LT (1 << 4)
#define ZA_OUT_NAN (1 << 0)
#define ZA_OUT_ADDED (1 << 1)
#define ZA_OUT_UPDATED (1 << 2)
#define ZA_OUT_NOP (1 << 3)

/* Add or update a member with Redis's zsetAdd semantics (see the flags).
 * Returns false only when the result would be NaN. May convert z to the
 * skiplist encoding. */
static bool zobj_add(struct zobj *z, double score, const char *m, size_t n, int flags, int *out,
                     double *newscore)
{
    bool incr = flags & ZA_INCR, nx = flags & ZA_NX, xx = flags & ZA_XX;
    bool gt = flags & ZA_GT, lt = flags & ZA_LT;
    double cur;

    *out = 0;
    if (isnan(score)) {
        *out = ZA_OUT_NAN;
        return false;
    }
    if (z->enc == ENC_LISTPACK) {
        unsigned char *ep = zzl_find(z->lp, m, n, &cur);
        if (ep) {
            if (nx) {
                *out |= ZA_OUT_NOP;
                return true;
            }
            if (incr) {
                score += cur;
                if (isnan(score)) {
                    *out |= ZA_OUT_NAN;
                    return false;
                }
            }
            if ((lt && score >= cur) || (gt && score <= cur)) {
                *out |= ZA_OUT_NOP;
                return true;
            }
            if (newscore)
                *newscore = score;
            if (score != cur) {
                z->lp = zzl_delete(z->lp, ep);
                z->lp = zzl_insert(z->lp, m, n, score);
                *out |= ZA_OUT_UPDATED;
            }
            return true;
        }
        if (xx) {
            *out |= ZA_OUT_NOP;
            return true;
        }
        if (zzl_length(z->lp) + 1 > (unsigned long long)store_limits.zset_max_listpack_entries ||
            n > (unsigned long long)store_limits.zset_max_listpack_value ||
            lp_bytes(z->lp) + n > LP_SAFETY_SIZE) {
            zobj_to_skiplist(z);
        } else {
            z->lp = zzl_insert(z->lp, m, n, score);
            if (newscore)
                *newscore = score;
            *out |= ZA_OUT_ADDED;
            return true;
        }
    }

    struct zset *zs = z->zs;
    struct entry **ref = dict_find_ref(&zs->dict, m, n);
    if (ref) {
        if (nx) {
            *out |= ZA_OUT_NOP;
            return true;
        }
        struct entry *e = *ref;
        cur = ent_score(e);
        if (incr) {
            score += cur;
            if (isnan(score)) {
                *out |= ZA_OUT_NAN;
                return false;
            }
        }
        if ((lt && score >= cur) || (gt && score <= cur)) {
            *out |= ZA_OUT_NOP;
            return true;
        }
        if (newscore)
            *newscore = score;
        if (score != cur) {
            zsl_update_score(&zs->zsl, ent_node(e), score);
            *out |= ZA_OUT_UPDATED;
        }
        return true;
    }
    if (xx) {
        *out |= ZA_OUT_NOP;
        return true;
    }
    zs_insert(zs, m, n, score);
    *out |= ZA_OUT_ADDED;
    if (newscore)
        *newscore = score;
    return true;
}

/* Plain insert or overwrite (ZRANGESTORE results, tests). */
static void zobj_set(struct zobj *z, const char *m, size_t n, double score)
{
    int out;
    zobj_add(z, score, m, n, 0, &out, NULL);
}

static bool zobj_del(struct zobj *z, const char *m, size_t n)
{
    if (z->enc == ENC_LISTPACK) {
        unsigned char *ep = zzl_find(z->lp, m, n, NULL);
        if (!ep)
            return false;
        z->lp = zzl_delete(z->lp, ep);
        return true;
    }
    if (!zs_delete(z->zs, m, n))
        return false;
    dict_resize_if_needed(&z->zs->dict);
    return true;
}

/* Delete 0-based ranks [start, end] (in range). Returns the count. */
static unsigned long zobj_delete_ranks(struct zobj *z, unsigned long start, unsigned long end)
{
    if (z->enc == ENC_LISTPACK) {
        unsigned long num = end - start + 1;
        z->lp = lp_delete_range(z->lp, (long)(2 * start), 2 * num);
        return num;
    }
    return zs_delete_ranks(z->zs, start + 1, end + 1);
}

/* 0-based rank of member m, -1 when absent (reverse: from the top). */
static long zobj_rank(struct zobj *z, const char *m, size_t n, bool reverse)
{
    unsigned long len = zobj_len(z), rank;
    if (z->enc == ENC_LISTPACK) {
        unsigned char *ep = lp_first(z->lp);
        rank = 1;
        while (ep && !lp_eq(ep, m, n)) {
            rank++;
            ep = lp_next(z->lp, lp_next(z->lp, ep));
        }
        if (!ep)
            return -1;
    } else {
        struct entry **ref = dict_find_ref(&z->zs->dict, m, n);
        if (!ref)
            return -1;
        rank = zsl_rank(&z->zs->zsl, ent_node(*ref));
    }
    return reverse ? (long)(len - rank) : (long)(rank - 1);
}

/* ---- positions: one element of either encoding ---- */

struct zpos {
    unsigned char *ep;     /* listpack: the member element (its score follows) */
    struct zsl_node *node; /* skiplist */
};

static inline bool zpos_ok(const struct zpos *p) { return p->ep || p->node; }

/* The element at 0-based rank (from the top when rev); rank < length. */
static void zpos_at_rank(const struct zobj *z, unsigned long rank, bool rev, struct zpos *p)
{
    p->ep = NULL;
    p->node = NULL;
    if (z->enc == ENC_LISTPACK) {
        p->ep = lp_seek(z->lp, rev ? -2 - 2 * (long)rank : 2 * (long)rank);
        return;
    }
    struct zsl *zsl = &z->zs->zsl;
    if (rev)
        p->node = rank == 0 ? zsl->tail : zsl_by_rank(zsl, zsl->length - rank);
    else
        p->node = rank == 0 ? LV(zsl->header, 0)->forward : zsl_by_rank(zsl, rank + 1);
}

static inline void zpos_next(const struct zobj *z, struct zpos *p)
{
    if (p->node)
        p->node = LV(p->node, 0)->forward;
    else
        p->ep = lp_next(z->lp, lp_next(z->lp, p->ep));
}

static inline void zpos_prev(const struct zobj *z, struct zpos *p)
{
    if (p->node) {
        p->node = p->node->backward;
    } else {
        unsigned char *sp = lp_prev(z->lp, p->ep);
        p->ep = sp ? lp_prev(z->lp, sp) : NULL;
    }
}

static inline void zpos_step(const struct zobj *z, struct zpos *p, bool rev)
{
    if (rev)
        zpos_prev(z, p);
    else
        zpos_next(z, p);
}

/* The member's bytes (buf: LP_INTBUF_SIZE, for integer elements). */
static inline const char *zpos_member(const struct zpos *p, size_t *n, char *buf)
{
    if (p->node)
        return node_member(p->node, n);
    uint32_t len;
    const char *s = (const char *)lp_get_str(p->ep, &len, buf);
    *n = len;
    return s;
}

static inline double zpos_score(const struct zobj *z, const struct zpos *p)
{
    return p->node ? p->node->score : lp_score(lp_next(z->lp, p->ep));
}

/* ---- score and lex ranges ---- */

enum { RANGE_RANK, RANGE_SCORE, RANGE_LEX };

/* A lex bound: -1 is "-", +1 is "+", 0 a string. */
struct lexb {
    int inf;
    const char *s;
    size_t n;
};

struct zspec {
    int kind; /* RANGE_SCORE or RANGE_LEX */
    double min, max;
    struct lexb lmin, lmax;
    bool minex, maxex;
};

/* strtod over a NUL-terminated copy, as Redis calls it on the sds. */
static double c_strtod(const char *p, size_t n, bool *ok)
{
    char sbuf[128], *buf = n < sizeof(sbuf) ? sbuf : xmalloc(n + 1), *end;
    memcpy(buf, p, n);
    buf[n] = '\0';
    double d = strtod(buf, &end);
    *ok = end[0] == '\0' && !isnan(d);
    if (buf != sbuf)
        free(buf);
    return d;
}

/* Redis's zslParseRange: "(" makes a bound exclusive; strtod must consume
 * the bytes up to the first NUL; NaN is refused. */
static bool parse_score_bound(const struct resp_arg *a, double *v, bool *ex)
{
    bool ok;
    *ex = a->len > 0 && a->ptr[0] == '(';
    *v = *ex ? c_strtod(a->ptr + 1, a->len - 1, &ok) : c_strtod(a->ptr, a->len, &ok);
    return ok;
}

static bool parse_score_range(const struct resp_arg *min, const struct resp_arg *max,
                              struct zspec *sp)
{
    sp->kind = RANGE_SCORE;
    return parse_score_bound(min, &sp->min, &sp->minex) &&
           parse_score_bound(max, &sp->max, &sp->maxex);
}

/* Redis's zslParseLexRangeItem: "+" and "-" alone (up to a NUL), or "(" /
 * "[" followed by the bound's bytes. */
static bool parse_lex_bound(const struct resp_arg *a, struct lexb *b, bool *ex)
{
    if (a->len == 0)
        return false;
    switch (a->ptr[0]) {
    case '+':
    case '-':
        if (a->len > 1 && a->ptr[1] != '\0')
            return false;
        b->inf = a->ptr[0] == '+' ? 1 : -1;
        *ex = true;
        return true;
    case '(':
    case '[':
        b->inf = 0;
        b->s = a->ptr + 1;
        b->n = a->len - 1;
        *ex = a->ptr[0] == '(';
        return true;
    default:
        return false;
    }
}

static bool parse_lex_range(const struct resp_arg *min, const struct resp_arg *max,
                            struct zspec *sp)
{
    sp->kind = RANGE_LEX;
    return parse_lex_bound(min, &sp->lmin, &sp->minex) &&
           parse_lex_bound(max, &sp->lmax, &sp->maxex);
}

/* Redis's sdscmplex of a member against a bound. */
static int lex_cmp(const char *m, size_t n, const struct lexb *b)
{
    if (b->inf)
        return -b->inf;
    return mem_cmp(m, n, b->s, b->n);
}

static int lexb_cmp(const struct lexb *a, const struct lexb *b)
{
    if (a->inf || b->inf) {
        if (a->inf == b->inf)
            return 0;
        if (a->inf == -1 || b->inf == 1)
            return -1;
        return 1;
    }
    return mem_cmp(a->s, a->n, b->s, b->n);
}

static bool spec_empty(const struct zspec *sp)
{
    if (sp->kind == RANGE_SCORE)
        return sp->min > sp->max || (sp->min == sp->max && (sp->minex || sp->maxex));
    int cmp = lexb_cmp(&sp->lmin, &sp->lmax);
    return cmp > 0 || (cmp == 0 && (sp->minex || sp->maxex));
}

static bool pos_gte_min(const struct zobj *z, const struct zspec *sp, const struct zpos *p)
{
    if (sp->kind == RANGE_SCORE) {
        double s = zpos_score(z, p);
        return sp->minex ? s > sp->min : s >= sp->min;
    }
    char buf[LP_INTBUF_SIZE];
    size_t n;
    const char *m = zpos_member(p, &n, buf);
    int c = lex_cmp(m, n, &sp->lmin);
    return sp->minex ? c > 0 : c >= 0;
}

static bool pos_lte_max(const struct zobj *z, const struct zspec *sp, const struct zpos *p)
{
    if (sp->kind == RANGE_SCORE) {
        double s = zpos_score(z, p);
        return sp->maxex ? s < sp->max : s <= sp->max;
    }
    char buf[LP_INTBUF_SIZE];
    size_t n;
    const char *m = zpos_member(p, &n, buf);
    int c = lex_cmp(m, n, &sp->lmax);
    return sp->maxex ? c < 0 : c <= 0;
}

/* Could any element be in range? (Redis's zslIsInRange / zzlIsInRange.) */
static bool zobj_in_range(const struct zobj *z, const struct zspec *sp)
{
    if (spec_empty(sp) || zobj_len(z) == 0)
        return false;
    struct zpos last, first;
    zpos_at_rank(z, 0, true, &last);
    zpos_at_rank(z, 0, false, &first);
    return pos_gte_min(z, sp, &last) && pos_lte_max(z, sp, &first);
}

/* The first element in range and its 0-based rank; false if none. The
 * skiplist descends in O(log N); the listpack walks from the front. */
static bool zobj_first_in(const struct zobj *z, const struct zspec *sp, struct zpos *p,
                          unsigned long *rank)
{
    p->ep = NULL;
    p->node = NULL;
    if (!zobj_in_range(z, sp))
        return false;
    unsigned long r = 0;
    if (z->enc == ENC_LISTPACK) {
        for (p->ep = lp_first(z->lp); p->ep; zpos_next(z, p), r++) {
            if (pos_gte_min(z, sp, p))
                break;
        }
    } else {
        struct zsl_node *x = z->zs->zsl.header;
        for (int i = z->zs->zsl.level - 1; i >= 0; i--) {
            while (LV(x, i)->forward) {
                struct zpos f = {NULL, LV(x, i)->forward};
                if (pos_gte_min(z, sp, &f))
                    break;
                r += LV(x, i)->span;
                x = f.node;
            }
        }
        p->node = LV(x, 0)->forward;
    }
    if (!zpos_ok(p) || !pos_lte_max(z, sp, p)) {
        p->ep = NULL;
        p->node = NULL;
        return false;
    }
    if (rank)
        *rank = r;
    return true;
}

/* The last element in range and its 0-based rank; false if none. */
static bool zobj_last_in(const struct zobj *z, const struct zspec *sp, struct zpos *p,
                         unsigned long *rank)
{
    p->ep = NULL;
    p->node = NULL;
    if (!zobj_in_range(z, sp))
        return false;
    unsigned long r = zobj_len(z);
    if (z->enc == ENC_LISTPACK) {
        for (p->ep = lp_seek(z->lp, -2); p->ep; zpos_prev(z, p)) {
            r--;
            if (pos_lte_max(z, sp, p))
                break;
        }
    } else {
        struct zsl_node *x = z->zs->zsl.header;
        r = 0;
        for (int i = z->zs->zsl.level - 1; i >= 0; i--) {
            while (LV(x, i)->forward) {
                struct zpos f = {NULL, LV(x, i)->forward};
                if (!pos_lte_max(z, sp, &f))
                    break;
                r += LV(x, i)->span;
                x = f.node;
            }
        }
        p->node = x != z->zs->zsl.header ? x : NULL;
        r--;
    }
    if (!zpos_ok(p) || !pos_gte_min(z, sp, p)) {
        p->ep = NULL;
        p->node = NULL;
        return false;
    }
    if (rank)
        *rank = r;
    return true;
}

/* Number of elements in range: O(log N) on the skiplist through ranks, as
 * Redis's ZCOUNT/ZLEXCOUNT; a walk on the listpack. */
static unsigned long zobj_count_in(const struct zobj *z, const struct zspec *sp)
{
    struct zpos p;
    unsigned long first, last;
    if (!zobj_first_in(z, sp, &p, &first))
        return 0;
    if (z->enc == ENC_LISTPACK) {
        unsigned long n = 0;
        for (; zpos_ok(&p) && pos_lte_max(z, sp, &p); zpos_next(z, &p))
            n++;
        return n;
    }
    if (!zobj_last_in(z, sp, &p, &last))
        return 0;
    return last - first + 1;
}

/* ------------------------------------------------------------------------
 * Keys
 * ------------------------------------------------------------------------ */

static void obj_free(void *obj, int enc)
{
    if (!obj)
        return;
    if (enc == ENC_LISTPACK)
        lp_free(obj);
    else
        zs_free(obj);
}

/* Deep copy with the same encoding. The skiplist is rebuilt from the
 * greatest member down, so every insert stops at the head (Redis's
 * zsetDup). */
static void *obj_dup(const void *obj, int enc)
{
    if (enc == ENC_LISTPACK)
        return lp_dup(obj);
    const struct zset *src = obj;
    struct zset *zs = zs_new();
    for (struct zsl_node *x = src->zsl.tail; x; x = x->backward) {
        size_t n;
        const char *m = node_member(x, &n);
        zs_insert(zs, m, n, x->score);
    }
    return zs;
}

/* Bytes allocated. A large skiplist is sampled (the first 1024 members),
 * since MEMORY USAGE must stay fast; Redis samples too. */
static size_t obj_mem(const void *obj, int enc)
{
    if (enc == ENC_LISTPACK)
        return lp_mem(obj);
    const struct zset *zs = obj;
    size_t n = malloc_usable_size((void *)zs) +
               malloc_usable_size(node_alloc_start(zs->zsl.header, ZSL_MAXLEVEL));
    n += (zs->dict.size[0] + zs->dict.size[1]) * sizeof(struct entry *);
    size_t sampled = 0, bytes = 0;
    for (struct zsl_node *x = LV(zs->zsl.header, 0)->forward; x && sampled < 1024;
         x = LV(x, 0)->forward, sampled++)
        bytes += malloc_usable_size(node_alloc_start(x, node_level(x)));
    if (sampled)
        n += bytes / sampled * zs->zsl.length;
    return n;
}

const struct obj_ops zset_ops = {obj_free, obj_dup, obj_mem};

unsigned long zset_length(const struct entry *e)
{
    struct zobj z;
    zobj_of(e, &z);
    return zobj_len(&z);
}

void zset_foreach(const struct entry *e, bool rev,
                  bool (*fn)(void *arg, const char *member, size_t len, double score), void *arg)
{
    struct zobj z;
    struct zpos p;
    zobj_of(e, &z);
    if (zobj_len(&z) == 0)
        return;
    for (zpos_at_rank(&z, 0, rev, &p); zpos_ok(&p); zpos_step(&z, &p, rev)) {
        char buf[LP_INTBUF_SIZE];
        size_t n;
        const char *m = zpos_member(&p, &n, buf);
        if (!fn(arg, m, n, zpos_score(&z, &p)))
            return;
    }
}

bool zset_score(const struct entry *e, const char *member, size_t len, double *score)
{
    struct zobj z;
    zobj_of(e, &z);
    return zobj_score(&z, member, len, score);
}

/* A sorted set key being read or changed by a command. */
struct zkey {
    struct shard *sh;
    struct db *db;
    struct entry *e; /* NULL: the key does not exist */
    struct entry **ref;
    struct zobj z;
};

/* Look up argument i. Returns 1 with k filled for a sorted set, 0 when the
 * key is missing, -1 after replying WRONGTYPE. */
static int zkey_get(struct cmd_ctx *c, int i, int flags, struct zkey *k)
{
    k->sh = arg_shard(c, i);
    k->db = arg_db(c, i);
    k->e = key_lookup(c, i, flags, &k->ref);
    if (!k->e)
        return 0;
    if (entry_type(k->e) != OBJ_ZSET) {
        reply_error(c->out, ERR_WRONGTYPE);
        return -1;
    }
    zobj_of(k->e, &k->z);
    return 1;
}

/* k's value was changed in place by n changes: store the (possibly moved)
 * value, in a new entry if its encoding changed, or delete the key if the
 * set is now empty. k->ref must still be valid (no other lookup in the same
 * db since zkey_get). */
static void zkey_changed(struct zkey *k, uint64_t n)
{
    bool empty = zobj_len(&k->z) == 0;
    /* Stored first even when empty, so the entry frees it by its encoding. */
    k->e = db_store_value(k->sh, k->db, k->ref, k->z.enc, zobj_ptr(&k->z), empty ? 0 : n);
    if (empty) {
        db_delete_ref(k->sh, k->db, k->ref);
        k->e = NULL;
    }
}

/* Store z (owned) as the new value of key argument i, replacing any value
 * of any type and its TTL; an empty z deletes the key instead. Replies the
 * size, as the *STORE commands do. */
static void zstore(struct cmd_ctx *c, int i, struct zobj *z)
{
    struct shard *sh = arg_shard(c, i);
    struct db *db = arg_db(c, i);
    unsigned long n = zobj_len(z);
    if (n == 0) {
        zobj_free(z);
        db_delete(sh, db, c->argv[i].ptr, c->argv[i].len);
        reply_int(c->out, 0);
        return;
    }
    db_set(sh, db,
           entry_new_ptr(c->argv[i].ptr, c->argv[i].len, OBJ_ZSET, z->enc, zobj_ptr(z), -1));
    reply_int(c->out, (long long)n);
}

/* ------------------------------------------------------------------------
 * Argument helpers
 * ------------------------------------------------------------------------ */


/* Redis's getDoubleFromObject (no reply). */
static bool str_to_double(const char *p, size_t n, double *v)
{
    char sbuf[128], *buf = n < sizeof(sbuf) ? sbuf : xmalloc(n + 1), *end;
    bool ok = n > 0;
    if (ok) {
        memcpy(buf, p, n);
        buf[n] = '\0';
        errno = 0;
        double d = strtod(buf, &end);
        ok = !isspace((unsigned char)buf[0]) && (size_t)(end - buf) == n &&
             !(errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL || fpclassify(d) == FP_ZERO)) &&
             !isnan(d);
        *v = d;
    }
    if (buf != sbuf)
        free(buf);
    return ok;
}

/* Redis's getRangeLongFromObjectOrReply: msg (or the default texts) on a
 * bad integer or one outside [min, max]. */
static bool arg_range(struct cmd_ctx *c, int i, long long min, long long max, long long *v,
                      const char *msg)
{
    if (!str_to_ll(c->argv[i].ptr, c->argv[i].len, v)) {
        reply_error(c->out, msg ? msg : ERR_NOT_INT);
        return false;
    }
    if (*v < min || *v > max) {
        if (msg)
            reply_error(c->out, msg);
        else
            reply_errorf(c->out, "ERR value is out of range, value must between %lld and %lld",
                         min, max);
        return false;
    }
    return true;
}

static inline bool resp3(const struct cmd_ctx *c) { return c->out->proto == 3; }

/* One member and its score in a reply: [member, score] in RESP3 when
 * nested, flat otherwise. */
static void reply_member(struct cmd_ctx *c, const char *m, size_t n, double score,
                         bool withscores)
{
    if (withscores && resp3(c))
        reply_array(c->out, 2);
    reply_bulk(c->out, m, n);
    if (withscores)
        reply_double(c->out, score);
}

/* The array header for n members: 2n items in RESP2 with scores. */
static void reply_members_len(struct cmd_ctx *c, unsigned long n, bool withscores)
{
    reply_array(c->out, withscores && !resp3(c) ? 2 * (long long)n : (long long)n);
}

/* ------------------------------------------------------------------------
 * ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK
 * ------------------------------------------------------------------------ */

/* ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member ... and ZINCRBY (INCR
 * set): Redis's zaddGenericCommand. Errors in its order: pairs, NX+XX,
 * GT/LT/NX, INCR with several pairs, every score parsed before the key is
 * looked up (all or nothing), then WRONGTYPE. A new key is a skiplist from
 * the start when the first member is too long for a listpack. */
static void zadd_generic(struct cmd_ctx *c, int flags)
{
    int si = 2;
    bool ch = false;

    for (; si < c->argc; si++) {
        if (arg_opt(c, si, "nx"))
            flags |= ZA_NX;
        else if (arg_opt(c, si, "xx"))
            flags |= ZA_XX;
        else if (arg_opt(c, si, "ch"))
            ch = true;
        else if (arg_opt(c, si, "incr"))
            flags |= ZA_INCR;
        else if (arg_opt(c, si, "gt"))
            flags |= ZA_GT;
        else if (arg_opt(c, si, "lt"))
            flags |= ZA_LT;
        else
            break;
    }
    bool incr = flags & ZA_INCR, nx = flags & ZA_NX, xx = flags & ZA_XX;
    bool gt = flags & ZA_GT, lt = flags & ZA_LT;
    int elements = c->argc - si;
    if (elements % 2 || !elements)
        return reply_error(c->out, ERR_SYNTAX);
    elements /= 2;
    if (nx && xx)
        return reply_error(c->out, "ERR XX and NX options at the same time are not compatible");
    if ((gt && nx) || (lt && nx) || (gt && lt))
        return reply_error(c->out,
                           "ERR GT, LT, and/or NX options at the same time are not compatible");
    if (incr && elements > 1)
        return reply_error(c->out, "ERR INCR option supports a single increment-element pair");

    double sbuf[16], *scores = elements <= 16 ? sbuf : xmalloc(sizeof(double) * elements);
    for (int j = 0; j < elements; j++) {
        const struct resp_arg *a = &c->argv[si + 2 * j];
        if (!str_to_double(a->ptr, a->len, &scores[j])) {
            reply_error(c->out, ERR_NOT_FLOAT);
            goto done;
        }
    }

    struct zkey k;
    int found = zkey_get(c, 1, LOOKUP_WRITE, &k);
    if (found < 0)
        goto done;
    int added = 0, updated = 0, processed = 0;
    double score = 0;
    bool created = false, nan = false;
    if (!found) {
        if (xx)
            goto reply;
        bool big = store_limits.zset_max_listpack_entries == 0 ||
                   (unsigned long long)store_limits.zset_max_listpack_value <
                       c->argv[si + 1].len;
        zobj_new(&k.z, big ? ENC_SKIPLIST : ENC_LISTPACK);
        created = true;
    }
    for (int j = 0; j < elements && !nan; j++) {
        int out;
        double newscore;
        const struct resp_arg *m = &c->argv[si + 1 + 2 * j];
        if (!zobj_add(&k.z, scores[j], m->ptr, m->len, flags, &out, &newscore)) {
            nan = true; /* only INCR of an existing member: nothing changed */
            break;
        }
        if (out & ZA_OUT_ADDED)
            added++;
        if (out & ZA_OUT_UPDATED)
            updated++;
        if (!(out & ZA_OUT_NOP))
            processed++;
        score = newscore;
    }
    if (created && zobj_len(&k.z))
        db_set(k.sh, k.db,
               entry_new_ptr(c->argv[1].ptr, c->argv[1].len, OBJ_ZSET, k.z.enc, zobj_ptr(&k.z),
                             -1));
    else if (created)
        zobj_free(&k.z);
    else if (added + updated)
        zkey_changed(&k, (uint64_t)(added + updated));
    if (nan) {
        reply_error(c->out, ERR_NAN);
        goto done;
    }
reply:
    if (incr) {
        if (processed)
            reply_double(c->out, score);
        else
            reply_null(c->out);
    } else {
        reply_int(c->out, ch ? added + updated : added);
    }
done:
    if (scores != sbuf)
        free(scores);
}

void cmd_zadd(struct cmd_ctx *c) { zadd_generic(c, 0); }

void cmd_zincrby(struct cmd_ctx *c) { zadd_generic(c, ZA_INCR); }

/* ZREM key member ...: the number removed; the key goes when emptied. */
void cmd_zrem(struct cmd_ctx *c)
{
    struct zkey k;
    int found = zkey_get(c, 1, LOOKUP_WRITE, &k);
    if (found <= 0) {
        if (!found)
            reply_int(c->out, 0);
        return;
    }
    long long deleted = 0;
    for (int j = 2; j < c->argc; j++) {
        if (zobj_del(&k.z, c->argv[j].ptr, c->argv[j].len))
            deleted++;
        if (zobj_len(&k.z) == 0)
            break;
    }
    if (deleted)
        zkey_changed(&k, (uint64_t)deleted);
    reply_int(c->out, deleted);
}

/* ZCARD key: O(1). */
void cmd_zcard(struct cmd_ctx *c)
{
    struct zkey k;
    int found = zkey_get(c, 1, LOOKUP_NONE, &k);
    if (found >= 0)
        reply_int(c->out, found ? (long long)zobj_len(&k.z) : 0);
}

/* ZSCORE key member: a double (RESP3) or its %.17g bulk, null if absent. */
void cmd_zscore(struct cmd_ctx *c)
{
    struct zkey k;
    double score;
    int found = zkey_get(c, 1, LOOKUP_NONE, &k);
    if (found < 0)
        return;
    if (found && zobj_score(&k.z, c->argv[2].ptr, c->argv[2].len, &score))
        reply_double(c->out, score);
    else
        reply_null(c->out);
}

/* ZMSCORE key member ...: a missing key reads as an empty set. */
void cmd_zmscore(struct cmd_ctx *c)
{
    struct zkey k;
    double score;
    int found = zkey_get(c, 1, LOOKUP_NONE, &k);
    if (found < 0)
        return;
    reply_array(c->out, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        if (found && zobj_score(&k.z, c->argv[j].ptr, c->argv[j].len, &score))
            reply_double(c->out, score);
        else
            reply_null(c->out);
    }
}

static void zrank_generic(struct cmd_ctx *c, bool reverse)
{
    struct zkey k;
    int found = zkey_get(c, 1, LOOKUP_NONE, &k);
    if (found < 0)
        return;
    long rank = found ? zobj_rank(&k.z, c->argv[2].ptr, c->argv[2].len, reverse) : -1;
    if (rank >= 0)
        reply_int(c->out, rank);
    else
        reply_null(c->out);
}

/* ZRANK / ZREVRANK key member: O(log N) on a skiplist. */
void cmd_zrank(struct cmd_ctx *c) { zrank_generic(c, false); }
void cmd_zrevrank(struct cmd_ctx *c) { zrank_generic(c, true); }

/* ------------------------------------------------------------------------
 * ZCOUNT, ZLEXCOUNT and the ZRANGE family
 * ------------------------------------------------------------------------ */

static void zcount_generic(struct cmd_ctx *c, int kind)
{
    struct zspec sp = {0};
    if (kind == RANGE_SCORE ? !parse_score_range(&c->argv[2], &c->argv[3], &sp)
                            : !parse_lex_range(&c->argv[2], &c->argv[3], &sp))
        return reply_error(c->out, kind == RANGE_SCORE ? ERR_MINMAX_FLOAT : ERR_MINMAX_LEX);
    struct zkey k;
    int found = zkey_get(c, 1, LOOKUP_NONE, &k);
    if (found >= 0)
        reply_int(c->out, found ? (long long)zobj_count_in(&k.z, &sp) : 0);
}

/* ZCOUNT key min max / ZLEXCOUNT key min max: O(log N) on a skiplist. */
void cmd_zcount(struct cmd_ctx *c) { zcount_generic(c, RANGE_SCORE); }
void cmd_zlexcount(struct cmd_ctx *c) { zcount_generic(c, RANGE_LEX); }

/* Where a range's elements go: the client, or a new sorted set
 * (ZRANGESTORE). */
struct zsink {
    struct cmd_ctx *c;
    bool withscores;
    struct zobj *dst;
};

static void sink_emit(struct zsink *k, const struct zobj *z, const struct zpos *p)
{
    char buf[LP_INTBUF_SIZE];
    size_t n;
    const char *m = zpos_member(p, &n, buf);
    bool need_score = k->dst || k->withscores;
    double score = need_score ? zpos_score(z, p) : 0;
    if (k->dst)
        zobj_set(k->dst, m, n, score);
    else
        reply_member(k->c, m, n, score, k->withscores);
}

/* Walk a score or lex range: from the first element in range (the last
 * when rev), skip offset elements, then emit up to limit (< 0: all) while
 * they stay in range. With k NULL nothing is emitted: the count tells the
 * reply length first. A negative offset skips everything, as Redis's
 * "while (offset--)" does. */
static unsigned long range_walk(const struct zobj *z, const struct zspec *sp, bool rev,
                                long long offset, long long limit, struct zsink *k)
{
    struct zpos p;
    if (!(rev ? zobj_last_in(z, sp, &p, NULL) : zobj_first_in(z, sp, &p, NULL)))
        return 0;
    if (offset < 0)
        return 0;
    while (zpos_ok(&p) && offset--)
        zpos_step(z, &p, rev);
    unsigned long n = 0;
    if (limit < 0)
        limit = LLONG_MAX;
    while (zpos_ok(&p) && limit--) {
        if (rev ? !pos_gte_min(z, sp, &p) : !pos_lte_max(z, sp, &p))
            break;
        if (k)
            sink_emit(k, z, &p);
        n++;
        zpos_step(z, &p, rev);
    }
    return n;
}

/* Redis's zrangeGenericCommand for ZRANGE, ZRANGESTORE and the older
 * Z[REV]RANGE[BYSCORE|BYLEX]: ks is the source key's argument index; kind
 * and rev are fixed by the older commands (-1: chosen by options). Option
 * errors, then the LIMIT/WITHSCORES conflicts, then the range, then the
 * key. REV with BYSCORE/BYLEX takes the range as max, min. */
static void zrange_generic(struct cmd_ctx *c, int ks, bool store, int kind, int rev)
{
    int minidx = ks + 1, maxidx = ks + 2;
    bool withscores = false;
    long long offset = 0, limit = -1;

    for (int j = ks + 3; j < c->argc; j++) {
        int left = c->argc - j - 1;
        if (!store && arg_opt(c, j, "withscores")) {
            withscores = true;
        } else if (arg_opt(c, j, "limit") && left >= 2) {
            if (!arg_ll(c, j + 1, &offset, NULL) || !arg_ll(c, j + 2, &limit, NULL))
                return;
            j += 2;
        } else if (rev < 0 && arg_opt(c, j, "rev")) {
            rev = 1;
        } else if (kind < 0 && arg_opt(c, j, "bylex")) {
            kind = RANGE_LEX;
        } else if (kind < 0 && arg_opt(c, j, "byscore")) {
            kind = RANGE_SCORE;
        } else {
            return reply_error(c->out, ERR_SYNTAX);
        }
    }
    if (rev < 0)
        rev = 0;
    if (kind < 0)
        kind = RANGE_RANK;
    if (limit != -1 && kind == RANGE_RANK)
        return reply_error(c->out, LIMIT_RANK_ERR);
    if (withscores && kind == RANGE_LEX)
        return reply_error(c->out, WITHSCORES_LEX_ERR);
    if (rev && kind != RANGE_RANK) {
        minidx = ks + 2;
        maxidx = ks + 1;
    }

    long long start = 0, end = 0;
    struct zspec sp = {0};
    if (kind == RANGE_RANK) {
        if (!arg_ll(c, minidx, &start, NULL) || !arg_ll(c, maxidx, &end, NULL))
            return;
    } else if (kind == RANGE_SCORE) {
        if (!parse_score_range(&c->argv[minidx], &c->argv[maxidx], &sp))
            return reply_error(c->out, ERR_MINMAX_FLOAT);
    } else if (!parse_lex_range(&c->argv[minidx], &c->argv[maxidx], &sp)) {
        return reply_error(c->out, ERR_MINMAX_LEX);
    }

    struct zkey k;
    int found = zkey_get(c, ks, LOOKUP_NONE, &k);
    if (found < 0)
        return;
    struct zobj dst;
    struct zsink sink = {c, withscores, store ? &dst : NULL};
    if (!found) {
        if (!store)
            return reply_array(c->out, 0);
        zobj_new(&dst, ENC_LISTPACK);
        return zstore(c, 1, &dst);
    }

    if (kind == RANGE_RANK) {
        long long llen = (long long)zobj_len(&k.z);
        if (start < 0)
            start += llen;
        if (end < 0)
            end += llen;
        if (start < 0)
            start = 0;
        unsigned long n = 0;
        if (start <= end && start < llen) {
            if (end >= llen)
                end = llen - 1;
            n = (unsigned long)(end - start + 1);
        }
        if (store)
            zobj_new(&dst, (long long)n > store_limits.zset_max_listpack_entries ? ENC_SKIPLIST
                                                                                   : ENC_LISTPACK);
        else
            reply_members_len(c, n, withscores);
        if (n) {
            struct zpos p;
            zpos_at_rank(&k.z, (unsigned long)start, rev, &p);
            for (unsigned long i = 0; i < n; i++, zpos_step(&k.z, &p, rev))
                sink_emit(&sink, &k.z, &p);
        }
    } else {
        if (store) {
            zobj_new(&dst, ENC_LISTPACK);
        } else {
            unsigned long n = range_walk(&k.z, &sp, rev, offset, limit, NULL);
            reply_members_len(c, n, withscores);
        }
        range_walk(&k.z, &sp, rev, offset, limit, &sink);
    }
    if (store)
        zstore(c, 1, &dst);
}

/* ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES] */
void cmd_zrange(struct cmd_ctx *c) { zrange_generic(c, 1, false, -1, -1); }
/* ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count] */
void cmd_zrangestore(struct cmd_ctx *c) { zrange_generic(c, 2, true, -1, -1); }
void cmd_zrevrange(struct cmd_ctx *c) { zrange_generic(c, 1, false, RANGE_RANK, 1); }
void cmd_zrangebyscore(struct cmd_ctx *c) { zrange_generic(c, 1, false, RANGE_SCORE, 0); }
void cmd_zrevrangebyscore(struct cmd_ctx *c) { zrange_generic(c, 1, false, RANGE_SCORE, 1); }
void cmd_zrangebylex(struct cmd_ctx *c) { zrange_generic(c, 1, false, RANGE_LEX, 0); }
void cmd_zrevrangebylex(struct cmd_ctx *c) { zrange_generic(c, 1, false, RANGE_LEX, 1); }

/* ------------------------------------------------------------------------
 * ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX
 * ------------------------------------------------------------------------ */

/* Range parse errors come before the key lookup; each deletion is one
 * rank range, O(log N + M) on a skiplist. */
static void zremrange_generic(struct cmd_ctx *c, int kind)
{
    long long start = 0, end = 0;
    struct zspec sp = {0};
    if (kind == RANGE_RANK) {
        if (!arg_ll(c, 2, &start, NULL) || !arg_ll(c, 3, &end, NULL))
            return;
    } else if (kind == RANGE_SCORE) {
        if (!parse_score_range(&c->argv[2], &c->argv[3], &sp))
            return reply_error(c->out, ERR_MINMAX_FLOAT);
    } else if (!parse_lex_range(&c->argv[2], &c->argv[3], &sp)) {
        return reply_error(c->out, ERR_MINMAX_LEX);
    }
    struct zkey k;
    int found = zkey_get(c, 1, LOOKUP_WRITE, &k);
    if (found <= 0) {
        if (!found)
            reply_int(c->out, 0);
        return;
    }
    unsigned long first, n = 0;
    if (kind == RANGE_RANK) {
        long long llen = (long long)zobj_len(&k.z);
        if (start < 0)
            start += llen;
        if (end < 0)
            end += llen;
        if (start < 0)
            start = 0;
        if (start > end || start >= llen)
            return reply_int(c->out, 0);
        if (end >= llen)
            end = llen - 1;
        first = (unsigned long)start;
        n = (unsigned long)(end - start + 1);
    } else {
        struct zpos p;
        if (zobj_first_in(&k.z, &sp, &p, &first))
            for (; zpos_ok(&p) && pos_lte_max(&k.z, &sp, &p); zpos_next(&k.z, &p))
                n++;
    }
    if (n) {
        zobj_delete_ranks(&k.z, first, first + n - 1);
        zkey_changed(&k, n);
    }
    reply_int(c->out, (long long)n);
}

void cmd_zremrangebyrank(struct cmd_ctx *c) { zremrange_generic(c, RANGE_RANK); }
void cmd_zremrangebyscore(struct cmd_ctx *c) { zremrange_generic(c, RANGE_SCORE); }
void cmd_zremrangebylex(struct cmd_ctx *c) { zremrange_generic(c, RANGE_LEX); }

/* ------------------------------------------------------------------------
 * ZPOPMIN, ZPOPMAX, ZMPOP and the blocking BZPOPMIN, BZPOPMAX, BZMPOP
 * ------------------------------------------------------------------------ */

enum pop_shape {
    POP_FLAT,     /* ZPOPMIN/MAX: member, score, ... */
    POP_NESTED,   /* ZPOPMIN/MAX with a count in RESP3: [member, score] ... */
    POP_KEY_FLAT, /* BZPOPMIN/MAX: key, member, score */
    POP_KEY_NESTED, /* ZMPOP/BZMPOP: [key, [[member, score] ...]] */
};

/* Pop up to count members of the non-empty set k (key argument i) from
 * the bottom or the top, replying in the given shape: the members are
 * replied in pop order, then removed as one rank range. */
static void zpop_key(struct cmd_ctx *c, int i, struct zkey *k, bool max, long long count,
                     enum pop_shape shape)
{
    unsigned long len = zobj_len(&k->z);
    unsigned long n = (unsigned long long)count > len ? len : (unsigned long)count;
    bool nested = shape == POP_NESTED || shape == POP_KEY_NESTED;

    switch (shape) {
    case POP_FLAT:
        reply_array(c->out, 2 * (long long)n);
        break;
    case POP_NESTED:
        reply_array(c->out, (long long)n);
        break;
    case POP_KEY_FLAT:
        reply_array(c->out, 2 * (long long)n + 1);
        reply_bulk(c->out, c->argv[i].ptr, c->argv[i].len);
        break;
    case POP_KEY_NESTED:
        reply_array(c->out, 2);
        reply_bulk(c->out, c->argv[i].ptr, c->argv[i].len);
        reply_array(c->out, (long long)n);
        break;
    }
    struct zpos p;
    zpos_at_rank(&k->z, 0, max, &p);
    for (unsigned long j = 0; j < n; j++, zpos_step(&k->z, &p, max)) {
        char buf[LP_INTBUF_SIZE];
        size_t ml;
        const char *m = zpos_member(&p, &ml, buf);
        if (nested)
            reply_array(c->out, 2);
        reply_bulk(c->out, m, ml);
        reply_double(c->out, zpos_score(&k->z, &p));
    }
    if (max)
        zobj_delete_ranks(&k->z, len - n, len - 1);
    else
        zobj_delete_ranks(&k->z, 0, n - 1);
    zkey_changed(k, n);
}

static void zpop_minmax(struct cmd_ctx *c, bool max)
{
    if (c->argc > 3)
        return reply_error(c->out, ERR_SYNTAX);
    long long count = -1;
    if (c->argc == 3 && !arg_range(c, 2, 0, LONG_MAX, &count, ERR_POSITIVE))
        return;
    struct zkey k;
    int found = zkey_get(c, 1, LOOKUP_WRITE, &k);
    if (found < 0)
        return;
    if (!found || count == 0)
        return reply_array(c->out, 0);
    zpop_key(c, 1, &k, max, count < 0 ? 1 : count,
             resp3(c) && count != -1 ? POP_NESTED : POP_FLAT);
}

/* ZPOPMIN / ZPOPMAX key [count]: the count is checked before the key; an
 * absent key or a zero count is an empty array. */
void cmd_zpopmin(struct cmd_ctx *c) { zpop_minmax(c, false); }
void cmd_zpopmax(struct cmd_ctx *c) { zpop_minmax(c, true); }

/* Pop from the first non-empty key of arguments [first, first+nkeys);
 * WRONGTYPE stops at the first key of another type. Returns true when it
 * replied (served or an error). */
static bool zpop_first(struct cmd_ctx *c, int first, int nkeys, bool max, long long count,
                       enum pop_shape shape)
{
    for (int i = first; i < first + nkeys; i++) {
        struct zkey k;
        int found = zkey_get(c, i, LOOKUP_WRITE, &k);
        if (found < 0)
            return true;
        if (found) {
            unsigned long len = zobj_len(&k.z);
            zpop_key(c, i, &k, max, count, shape);
            /* Logged as ZPOPMIN/ZPOPMAX key (BZPOPMIN/MAX) or with the
             * number popped ([B]ZMPOP), as Redis 7.0 does. */
            const char *pop = max ? "ZPOPMAX" : "ZPOPMIN";
            if (shape == POP_KEY_FLAT)
                cmd_propagate_key(c, pop, i);
            else
                cmd_propagate_key_ll(c, pop, i,
                                     (unsigned long long)count < len ? count : (long long)len);
            return true;
        }
    }
    return false;
}

/* BZPOPMIN / BZPOPMAX key ... timeout: the timeout is parsed first; served
 * like ZPOPMIN on the first non-empty key, else block (null array when the
 * client may not block). */
static void bzpop_minmax(struct cmd_ctx *c, bool max)
{
    long long ms;
    if (!arg_timeout(c, c->argc - 1, &ms))
        return;
    if (zpop_first(c, 1, c->argc - 2, max, 1, POP_KEY_FLAT))
        return;
    if (cmd_block(c, ms))
        return;
    reply_null_array(c->out);
}

void cmd_bzpopmin(struct cmd_ctx *c) { bzpop_minmax(c, false); }
void cmd_bzpopmax(struct cmd_ctx *c) { bzpop_minmax(c, true); }

/* ZMPOP numkeys key ... MIN|MAX [COUNT count] and BZMPOP timeout numkeys
 * ...: numkeys, the direction and COUNT are checked before the timeout and
 * the keys (Redis's zmpopGenericCommand). Nothing to pop: a null array. */
static void zmpop_generic(struct cmd_ctx *c, int nki, bool block)
{
    long long nkeys, count = -1;
    if (!arg_range(c, nki, 1, LONG_MAX, &nkeys, "ERR numkeys should be greater than 0"))
        return;
    long long wi = nki + nkeys + 1;
    if (wi >= c->argc)
        return reply_error(c->out, ERR_SYNTAX);
    bool max;
    if (arg_opt(c, (int)wi, "min"))
        max = false;
    else if (arg_opt(c, (int)wi, "max"))
        max = true;
    else
        return reply_error(c->out, ERR_SYNTAX);
    for (int j = (int)wi + 1; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (count == -1 && arg_opt(c, j, "count") && more) {
            j++;
            if (!arg_range(c, j, 1, LONG_MAX, &count, "ERR count should be greater than 0"))
                return;
        } else {
            return reply_error(c->out, ERR_SYNTAX);
        }
    }
    if (count == -1)
        count = 1;
    long long ms = 0;
    if (block && !arg_timeout(c, 1, &ms))
        return;
    if (zpop_first(c, nki + 1, (int)nkeys, max, count, POP_KEY_NESTED))
        return;
    if (block && cmd_block(c, ms))
        return;
    reply_null_array(c->out);
}

void cmd_zmpop(struct cmd_ctx *c) { zmpop_generic(c, 1, false); }
void cmd_bzmpop(struct cmd_ctx *c) { zmpop_generic(c, 2, true); }

/* ------------------------------------------------------------------------
 * ZRANDMEMBER
 * ------------------------------------------------------------------------ */

/* Below this many picks per round the listpack is sampled in rounds
 * (Redis's ZRANDMEMBER_RANDOM_SAMPLE_LIMIT). */
#define RAND_SAMPLE_LIMIT 1000

static double lp_elem_score(const struct lp_elem *v)
{
    if (!v->s)
        return (double)v->ival;
    char buf[128];
    uint32_t len = v->len < sizeof(buf) - 1 ? v->len : (uint32_t)sizeof(buf) - 1;
    memcpy(buf, v->s, len);
    buf[len] = '\0';
    return strtod(buf, NULL);
}

static void reply_lp_pairs(struct cmd_ctx *c, unsigned long n, const struct lp_elem *keys,
                           const struct lp_elem *vals)
{
    for (unsigned long i = 0; i < n; i++) {
        char buf[LP_INTBUF_SIZE];
        uint32_t len;
        const unsigned char *m = lp_elem_str(&keys[i], &len, buf);
        reply_member(c, (const char *)m, len, vals ? lp_elem_score(&vals[i]) : 0, vals != NULL);
    }
}

static void reply_entry_member(struct cmd_ctx *c, const struct entry *e, bool withscores)
{
    size_t n;
    const char *m = entry_key(e, &n);
    reply_member(c, m, n, ent_score(e), withscores);
}

static uint64_t rand_next(void)
{
    static __thread uint64_t s = 0x6a09e667f3bcc909ULL;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

/* Redis's zrandmemberWithCountCommand: a negative count may repeat members
 * (random order); a positive one returns distinct members: the whole set in
 * order when count >= size, else a random subset. */
static void zrandmember_count(struct cmd_ctx *c, long long l, bool withscores)
{
    struct zkey k;
    int found = zkey_get(c, 1, LOOKUP_NONE, &k);
    if (found < 0)
        return;
    if (!found)
        return reply_array(c->out, 0);
    unsigned long size = zobj_len(&k.z);
    bool uniq = l >= 0;
    unsigned long long count = l >= 0 ? (unsigned long long)l : (unsigned long long)-l;
    if (count == 0)
        return reply_array(c->out, 0);

    if (!uniq || count == 1) {
        reply_members_len(c, count, withscores);
        if (k.z.enc == ENC_SKIPLIST) {
            while (count--)
                reply_entry_member(c, dict_random(&k.z.zs->dict), withscores);
            return;
        }
        unsigned long lim = count > RAND_SAMPLE_LIMIT ? RAND_SAMPLE_LIMIT : count;
        struct lp_elem *keys = xmalloc(sizeof(*keys) * lim);
        struct lp_elem *vals = withscores ? xmalloc(sizeof(*vals) * lim) : NULL;
        while (count) {
            unsigned long n = count > lim ? lim : count;
            count -= n;
            lp_random_pairs(k.z.lp, n, keys, vals);
            reply_lp_pairs(c, n, keys, vals);
        }
        free(keys);
        free(vals);
        return;
    }

    reply_members_len(c, count < size ? count : size, withscores);
    if (count >= size) {
        /* the whole set, from the top down as Redis's zuiNext walks */
        struct zpos p;
        for (zpos_at_rank(&k.z, 0, true, &p); zpos_ok(&p); zpos_prev(&k.z, &p)) {
            char buf[LP_INTBUF_SIZE];
            size_t n;
            const char *m = zpos_member(&p, &n, buf);
            reply_member(c, m, n, withscores ? zpos_score(&k.z, &p) : 0, withscores);
        }
        return;
    }
    if (k.z.enc == ENC_LISTPACK) {
        struct lp_elem *keys = xmalloc(sizeof(*keys) * count);
        struct lp_elem *vals = withscores ? xmalloc(sizeof(*vals) * count) : NULL;
        unsigned long n = lp_random_pairs_unique(k.z.lp, count, keys, vals);
        reply_lp_pairs(c, n, keys, vals);
        free(keys);
        free(vals);
        return;
    }
    if (count * 3 > size) {
        /* Most of the set: a partial Fisher-Yates shuffle of all nodes. */
        struct zsl_node **all = xmalloc(sizeof(*all) * size);
        unsigned long i = 0;
        for (struct zsl_node *x = LV(k.z.zs->zsl.header, 0)->forward; x; x = LV(x, 0)->forward)
            all[i++] = x;
        for (i = 0; i < count; i++) {
            unsigned long j = i + rand_next() % (size - i);
            struct zsl_node *t = all[i];
            all[i] = all[j];
            all[j] = t;
            reply_entry_member(c, node_ent(all[i]), withscores);
        }
        free(all);
        return;
    }
    /* A small part of a big set: random picks, duplicates skipped. */
    struct dict seen;
    dict_init(&seen, zset_seed);
    unsigned long added = 0;
    while (added < count) {
        struct entry *e = dict_random(&k.z.zs->dict);
        size_t n;
        const char *m = entry_key(e, &n);
        if (dict_find_ref(&seen, m, n))
            continue;
        dict_add(&seen, entry_new_int(m, n, 0, -1));
        added++;
        reply_entry_member(c, e, withscores);
    }
    dict_free(&seen, entry_free);
}

/* ZRANDMEMBER key [count [WITHSCORES]]: the count is checked before the
 * key; with WITHSCORES it must fit in +-LONG_MAX/2. */
void cmd_zrandmember(struct cmd_ctx *c)
{
    if (c->argc >= 3) {
        long long l;
        if (!arg_range(c, 2, -LONG_MAX, LONG_MAX, &l, NULL))
            return;
        if (c->argc > 4 || (c->argc == 4 && !arg_opt(c, 3, "withscores")))
            return reply_error(c->out, ERR_SYNTAX);
        if (c->argc == 4 && (l < -LONG_MAX / 2 || l > LONG_MAX / 2))
            return reply_error(c->out, "ERR value is out of range");
        return zrandmember_count(c, l, c->argc == 4);
    }
    struct zkey k;
    int found = zkey_get(c, 1, LOOKUP_NONE, &k);
    if (found < 0)
        return;
    if (!found)
        return reply_null(c->out);
    if (k.z.enc == ENC_SKIPLIST) {
        size_t n;
        const char *m = entry_key(dict_random(&k.z.zs->dict), &n);
        return reply_bulk(c->out, m, n);
    }
    struct lp_elem key, val;
    lp_random_pairs(k.z.lp, 1, &key, &val);
    reply_lp_pairs(c, 1, &key, NULL);
}

/* ------------------------------------------------------------------------
 * ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD
 * ------------------------------------------------------------------------ */

enum setop { OP_UNION, OP_INTER, OP_DIFF };
enum aggr { AGGR_SUM, AGGR_MIN, AGGR_MAX };

/* One input: a sorted set, a plain set (every member scores 1) or an
 * absent key (empty). */
struct zsrc {
    const struct entry *e; /* NULL: absent */
    int type;              /* OBJ_ZSET or OBJ_SET */
    struct zobj z;
    double weight;
    unsigned long len;
};

/* ---- plain sets as inputs: read through t_set.h, every member scores 1 ---- */

struct set_walk {
    bool (*fn)(void *arg, const char *m, size_t n, double score);
    void *arg;
};

static bool set_walk_cb(void *arg, const char *m, size_t n)
{
    struct set_walk *w = arg;
    return w->fn(w->arg, m, n, 1.0);
}

static void src_foreach(const struct zsrc *s, bool (*fn)(void *, const char *, size_t, double),
                        void *arg)
{
    if (!s->e)
        return;
    if (s->type == OBJ_SET) {
        struct set_walk w = {fn, arg};
        return set_each(s->e, set_walk_cb, &w);
    }
    /* From the top down, as Redis's zuiNext: results then insert at the
     * head of their skiplist in O(1). */
    zset_foreach(s->e, true, fn, arg);
}

static bool src_find(const struct zsrc *s, const char *m, size_t n, double *score)
{
    if (!s->e)
        return false;
    if (s->type == OBJ_SET) {
        *score = 1.0;
        return set_contains(s->e, m, n);
    }
    return zobj_score(&s->z, m, n, score);
}

static inline void aggregate(double *target, double v, enum aggr a)
{
    if (a == AGGR_SUM) {
        *target += v;
        /* inf + -inf: Redis keeps 0 rather than NaN */
        if (isnan(*target))
            *target = 0.0;
    } else if (a == AGGR_MIN) {
        *target = v < *target ? v : *target;
    } else {
        *target = v > *target ? v : *target;
    }
}

struct setop_run {
    struct zsrc *src;
    int nsrc;
    enum aggr aggr;
    struct zset *dst;
    bool card_only;
    unsigned long card, limit;
};

static bool inter_cb(void *arg, const char *m, size_t n, double score)
{
    struct setop_run *r = arg;
    double total = r->src[0].weight * score;
    if (isnan(total))
        total = 0;
    for (int j = 1; j < r->nsrc; j++) {
        double v;
        if (r->src[j].e == r->src[0].e)
            v = score;
        else if (!src_find(&r->src[j], m, n, &v))
            return true;
        aggregate(&total, v * r->src[j].weight, r->aggr);
    }
    if (r->card_only) {
        r->card++;
        return !(r->limit && r->card >= r->limit);
    }
    zs_insert(r->dst, m, n, total);
    return true;
}

struct union_run {
    struct zset *dst;
    double weight;
    enum aggr aggr;
};

/* Union accumulates into the result's dict only; the skiplist is built
 * once at the end. */
static bool union_cb(void *arg, const char *m, size_t n, double score)
{
    struct union_run *u = arg;
    double v = u->weight * score;
    if (isnan(v))
        v = 0;
    struct entry **ref = dict_find_ref(&u->dst->dict, m, n);
    if (!ref) {
        dict_add(&u->dst->dict, node_ent(node_new(v, m, n)));
        return true;
    }
    aggregate(&ent_node(*ref)->score, v, u->aggr);
    return true;
}

/* The union's nodes exist (in the dict) but are not linked yet. */
static int union_link_cb(void *arg, struct entry *e)
{
    struct zset *zs = arg;
    zsl_insert(&zs->zsl, ent_node(e));
    return 0;
}

static bool diff_cb(void *arg, const char *m, size_t n, double score)
{
    struct setop_run *r = arg;
    double v;
    for (int j = 1; j < r->nsrc; j++)
        if (r->src[j].e == r->src[0].e || src_find(&r->src[j], m, n, &v))
            return true;
    zs_insert(r->dst, m, n, score);
    return true;
}

/* Stable insertion sort by size (Redis qsorts; ties keep argument order
 * here, which only matters for the order of floating-point sums). */
static void sort_by_len(struct zsrc *src, int n)
{
    for (int i = 1; i < n; i++) {
        struct zsrc t = src[i];
        int j = i - 1;
        for (; j >= 0 && src[j].len > t.len; j--)
            src[j + 1] = src[j];
        src[j + 1] = t;
    }
}

/* Longest member of a skiplist result, for the listpack conversion test. */
static size_t zs_max_member(const struct zset *zs)
{
    size_t max = 0;
    for (struct zsl_node *x = LV(zs->zsl.header, 0)->forward; x; x = LV(x, 0)->forward) {
        size_t n;
        node_member(x, &n);
        if (n > max)
            max = n;
    }
    return max;
}

/* Redis's zunionInterDiffGenericCommand. dsti: the destination argument
 * (0: reply the result); nki: the numkeys argument. Checks in Redis's
 * order: numkeys integer, >= 1, not more than the arguments, then the
 * keys' types, then the options (WEIGHTS and AGGREGATE not for ZDIFF,
 * WITHSCORES only without a destination, LIMIT only for ZINTERCARD). */
static void setop_generic(struct cmd_ctx *c, int dsti, int nki, enum setop op, bool card_only)
{
    long long setnum;
    if (!arg_ll(c, nki, &setnum, NULL))
        return;
    if (setnum < 1) {
        char name[32];
        size_t n = c->argv[0].len < sizeof(name) - 1 ? c->argv[0].len : sizeof(name) - 1;
        for (size_t i = 0; i < n; i++)
            name[i] = (char)tolower((unsigned char)c->argv[0].ptr[i]);
        name[n] = '\0';
        return reply_errorf(c->out, "ERR at least 1 input key is needed for '%s' command", name);
    }
    if (setnum > c->argc - (nki + 1))
        return reply_error(c->out, ERR_SYNTAX);

    struct zsrc *src = calloc((size_t)setnum, sizeof(*src));
    if (!src)
        abort();
    int j = nki + 1;
    for (int i = 0; i < setnum; i++, j++) {
        struct entry *e = key_lookup(c, j, LOOKUP_NONE, NULL);
        src[i].weight = 1.0;
        if (!e)
            continue;
        if (entry_type(e) != OBJ_ZSET && entry_type(e) != OBJ_SET) {
            reply_error(c->out, ERR_WRONGTYPE);
            goto out;
        }
        src[i].e = e;
        src[i].type = entry_type(e);
        if (src[i].type == OBJ_ZSET) {
            zobj_of(e, &src[i].z);
            src[i].len = zobj_len(&src[i].z);
        } else {
            src[i].len = set_length(e);
        }
    }

    enum aggr aggr = AGGR_SUM;
    bool withscores = false;
    long long limit = 0;
    while (j < c->argc) {
        int remaining = c->argc - j;
        if (op != OP_DIFF && !card_only && remaining >= setnum + 1 && arg_opt(c, j, "weights")) {
            j++;
            for (int i = 0; i < setnum; i++, j++) {
                if (!str_to_double(c->argv[j].ptr, c->argv[j].len, &src[i].weight)) {
                    reply_error(c->out, "ERR weight value is not a float");
                    goto out;
                }
            }
        } else if (op != OP_DIFF && !card_only && remaining >= 2 && arg_opt(c, j, "aggregate")) {
            j++;
            if (arg_opt(c, j, "sum")) {
                aggr = AGGR_SUM;
            } else if (arg_opt(c, j, "min")) {
                aggr = AGGR_MIN;
            } else if (arg_opt(c, j, "max")) {
                aggr = AGGR_MAX;
            } else {
                reply_error(c->out, ERR_SYNTAX);
                goto out;
            }
            j++;
        } else if (!dsti && !card_only && arg_opt(c, j, "withscores")) {
            j++;
            withscores = true;
        } else if (card_only && remaining >= 2 && arg_opt(c, j, "limit")) {
            j++;
            if (!arg_range(c, j, 0, LONG_MAX, &limit, "ERR LIMIT can't be negative"))
                goto out;
            j++;
        } else {
            reply_error(c->out, ERR_SYNTAX);
            goto out;
        }
    }
    if (op != OP_DIFF)
        sort_by_len(src, (int)setnum);

    struct zset *dst = zs_new();
    struct setop_run run = {src, (int)setnum, aggr, dst, card_only, 0, (unsigned long)limit};
    if (op == OP_INTER) {
        if (src[0].len > 0)
            src_foreach(&src[0], inter_cb, &run);
    } else if (op == OP_UNION) {
        for (int i = 0; i < setnum; i++) {
            struct union_run u = {dst, src[i].weight, aggr};
            src_foreach(&src[i], union_cb, &u);
        }
        dict_foreach(&dst->dict, union_link_cb, dst);
    } else {
        if (src[0].len > 0)
            src_foreach(&src[0], diff_cb, &run);
    }

    if (card_only) {
        zs_free(dst);
        reply_int(c->out, (long long)run.card);
    } else if (dsti) {
        struct zobj z = {ENC_SKIPLIST, NULL, dst};
        if (dst->zsl.length <= (unsigned long long)store_limits.zset_max_listpack_entries &&
            zs_max_member(dst) <= (unsigned long long)store_limits.zset_max_listpack_value)
            zobj_to_listpack(&z);
        zstore(c, dsti, &z);
    } else {
        reply_members_len(c, dst->zsl.length, withscores);
        for (struct zsl_node *x = LV(dst->zsl.header, 0)->forward; x; x = LV(x, 0)->forward)
            reply_entry_member(c, node_ent(x), withscores);
        zs_free(dst);
    }
out:
    free(src);
}

void cmd_zunionstore(struct cmd_ctx *c) { setop_generic(c, 1, 2, OP_UNION, false); }
void cmd_zinterstore(struct cmd_ctx *c) { setop_generic(c, 1, 2, OP_INTER, false); }
void cmd_zdiffstore(struct cmd_ctx *c) { setop_generic(c, 1, 2, OP_DIFF, false); }
void cmd_zunion(struct cmd_ctx *c) { setop_generic(c, 0, 1, OP_UNION, false); }
void cmd_zinter(struct cmd_ctx *c) { setop_generic(c, 0, 1, OP_INTER, false); }
void cmd_zdiff(struct cmd_ctx *c) { setop_generic(c, 0, 1, OP_DIFF, false); }
void cmd_zintercard(struct cmd_ctx *c) { setop_generic(c, 0, 1, OP_INTER, true); }

/* ------------------------------------------------------------------------
 * ZSCAN
 * ------------------------------------------------------------------------ */



/* ZSCAN key cursor [MATCH pattern] [COUNT count]: Redis's
 * scanGenericCommand. A listpack is returned whole with cursor 0 (scores
 * as stored); a skiplist is scanned through its dict with the SCAN
 * guarantees, COUNT*2 items per call as Redis counts, MATCH applied to
 * members after collection. */
void cmd_zscan(struct cmd_ctx *c)
{
    uint64_t cursor;
    if (!arg_cursor(c, 2, &cursor))
        return;
    struct zkey k;
    int found = zkey_get(c, 1, LOOKUP_NONE, &k);
    if (found < 0)
        return;
    if (!found) {
        reply_array(c->out, 2);
        reply_bulk(c->out, "0", 1);
        return reply_array(c->out, 0);
    }
    long long count = 10;
    const char *pat = NULL;
    size_t plen = 0;
    if (!arg_scan_opts(c, 3, &count, &pat, &plen, NULL))
        return;

    if (k.z.enc == ENC_LISTPACK) {
        unsigned long n = 0;
        for (unsigned char *ep = lp_first(k.z.lp); ep; ep = lp_next(k.z.lp, lp_next(k.z.lp, ep))) {
            char buf[LP_INTBUF_SIZE];
            uint32_t len;
            const unsigned char *m = lp_get_str(ep, &len, buf);
            if (!pat || store_match(pat, plen, (const char *)m, len, false))
                n++;
        }
        reply_array(c->out, 2);
        reply_bulk(c->out, "0", 1);
        reply_array(c->out, 2 * (long long)n);
        for (unsigned char *ep = lp_first(k.z.lp); ep; ep = lp_next(k.z.lp, lp_next(k.z.lp, ep))) {
            char buf[LP_INTBUF_SIZE], sbuf[LP_INTBUF_SIZE];
            uint32_t len, slen;
            const unsigned char *m = lp_get_str(ep, &len, buf);
            if (pat && !store_match(pat, plen, (const char *)m, len, false))
                continue;
            const unsigned char *s = lp_get_str(lp_next(k.z.lp, ep), &slen, sbuf);
            reply_bulk(c->out, m, len);
            reply_bulk(c->out, s, slen);
        }
        return;
    }

    struct entry_vec acc = {NULL, 0, 0};
    long long maxiter = count * 20; /* Redis: 10 x COUNT, counted in items */
    do {
        cursor = dict_scan(&k.z.zs->dict, cursor, entry_vec_push, &acc);
    } while (cursor && maxiter-- && (long long)acc.n < count);
    size_t n = 0;
    for (size_t i = 0; i < acc.n; i++) {
        size_t ml;
        const char *m = entry_key(acc.v[i], &ml);
        if (!pat || store_match(pat, plen, m, ml, false))
            acc.v[n++] = acc.v[i];
    }
    char cbuf[24];
    int cl = snprintf(cbuf, sizeof(cbuf), "%llu", (unsigned long long)cursor);
    reply_array(c->out, 2);
    reply_bulk(c->out, cbuf, (size_t)cl);
    reply_array(c->out, 2 * (long long)n);
    for (size_t i = 0; i < n; i++) {
        char sbuf[64];
        size_t ml;
        const char *m = entry_key(acc.v[i], &ml);
        reply_bulk(c->out, m, ml);
        int sl = resp_format_double(sbuf, sizeof(sbuf), ent_score(acc.v[i]));
        reply_bulk(c->out, sbuf, (size_t)sl);
    }
    free(acc.v);
}
