/* The list type: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET
 * LINSERT LREM LTRIM LPOS LMOVE RPOPLPUSH LMPOP and the blocking BLPOP BRPOP
 * BLMOVE BRPOPLPUSH BLMPOP, with Redis 7.0's replies, errors and order of
 * checks.
 *
 * Encoding: always "quicklist" (Redis 7.0 reports nothing else), a doubly
 * linked list of listpack nodes (t_list.h). Node sizes follow Redis's
 * quicklist rules, read from store_limits at every insert so CONFIG SET
 * applies to the next write:
 *   - list-max-listpack-size N > 0: at most N elements per node, and no
 *     node grows past 8 KB (Redis's SIZE_SAFETY_LIMIT);
 *   - -1..-5: at most 4, 8, 16, 32, 64 KB per node;
 *   - an element that does not fit the limit goes to a node of its own
 *     (Redis 7.0 also has "plain" nodes for elements of 1 GB and more; ours
 *     stay listpacks, which hold up to 4 GB).
 * Whether an element fits is decided on an over-estimate of its encoded
 * size, so a node of two or more elements is always within the limit.
 *
 * Push and pop at either end are O(1). LINDEX, LSET and LINSERT find an
 * index by skipping whole nodes from the nearer end. A node that fills up
 * in the middle (LINSERT, LSET with a longer value) is split. Deleting in
 * the middle (LREM, LSET, LTRIM's cut) merges a node with a neighbour when
 * both fit in one, so a list that shrinks stays compact: two neighbours
 * one of which lost an element never both stay half empty. Single-element
 * pops do not merge (they stay O(1) like pushes); the end node simply
 * empties and goes away. A pop with a count merges at its cut.
 *
 * The quicklist header is allocated once per key and never moves, so a
 * command changes a list in place and only tells the db (db_changed), or
 * deletes the key when the list is left empty. Keys of multi-key commands
 * (LMOVE, BLPOP, LMPOP...) may live on different shards: each one is
 * reached through arg_shard/arg_db/key_lookup with its own argument index.
 */
#include <ctype.h>
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "listpack.h"
#include "t_list.h"

#define ERR_ARITY_FMT "ERR wrong number of arguments for '%s' command"
#define ERR_INDEX_RANGE "ERR index out of range"
#define ERR_MUST_POSITIVE "ERR value is out of range, must be positive"
#define ERR_RANK_ZERO                                                                              \
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use "   \
    "negative to start from the end of the list"
#define ERR_COUNT_NEGATIVE "ERR COUNT can't be negative"
#define ERR_MAXLEN_NEGATIVE "ERR MAXLEN can't be negative"
#define ERR_NUMKEYS "ERR numkeys should be greater than 0"
#define ERR_COUNT_POSITIVE "ERR count should be greater than 0"

/* Redis's quicklist limits: the byte sizes of fill -1..-5, the cap on a
 * count-limited node, and the largest count fill. */
static const size_t ql_size_levels[] = {4096, 8192, 16384, 32768, 65536};
#define QL_SIZE_SAFETY 8192
#define QL_FILL_MAX 32767

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

/* ---- node sizes ---- */

int ql_fill(void)
{
    long long f = store_limits.list_max_listpack_size;
    if (f > QL_FILL_MAX)
        return QL_FILL_MAX;
    if (f < -5)
        return -5;
    return (int)f;
}

/* May a node of sz bytes holding count elements exist under fill? A size
 * level is enough on its own; a count fill also needs the 8 KB cap. */
static bool ql_within(size_t sz, unsigned long count, int fill)
{
    if (fill < 0 && sz <= ql_size_levels[-fill - 1])
        return true;
    if (sz > QL_SIZE_SAFETY)
        return false;
    return fill > 0 && count <= (unsigned long)fill;
}

/* Bytes a string of len bytes takes in a listpack at most (it may be
 * stored smaller, as an integer): encoding header, data, backlen. */
static size_t lp_entry_est(size_t len)
{
    size_t e = (len < 64 ? 1 : len < 4096 ? 2 : 5) + len;
    return e + (e < 128 ? 1 : e < 16384 ? 2 : e < 2097152 ? 3 : e < 268435456 ? 4 : 5);
}

static bool node_allows(const struct ql_node *n, size_t len, int fill)
{
    return n && ql_within(lp_bytes(n->lp) + lp_entry_est(len), n->count + 1, fill);
}

/* ---- nodes ---- */

static struct ql_node *node_new(void)
{
    struct ql_node *n = xmalloc(sizeof(*n));
    n->prev = n->next = NULL;
    n->lp = lp_new(0);
    n->count = 0;
    return n;
}

/* Link n after at (at NULL: as the new head). */
static void node_link_after(struct quicklist *ql, struct ql_node *at, struct ql_node *n)
{
    n->prev = at;
    n->next = at ? at->next : ql->head;
    if (n->next)
        n->next->prev = n;
    else
        ql->tail = n;
    if (at)
        at->next = n;
    else
        ql->head = n;
    ql->nodes++;
}

static void node_link_before(struct quicklist *ql, struct ql_node *at, struct ql_node *n)
{
    node_link_after(ql, at ? at->prev : ql->tail, n);
}

static void node_unlink_free(struct quicklist *ql, struct ql_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        ql->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        ql->tail = n->prev;
    ql->nodes--;
    lp_free(n->lp);
    free(n);
}

/* Add the listpack element at p to the head or the tail of dst. */
static unsigned char *lp_add_elem(unsigned char *dst, const unsigned char *p, bool tail)
{
    uint32_t len;
    long long v;
    const unsigned char *s = lp_get(p, &len, &v);
    if (s)
        return tail ? lp_append(dst, s, len) : lp_prepend(dst, s, len);
    return tail ? lp_append_int(dst, v) : lp_prepend_int(dst, v);
}

/* Add s at element index k of node n (k == count: at its end). */
static void node_insert(struct quicklist *ql, struct ql_node *n, unsigned long k, const void *s,
                        size_t len)
{
    if (k == 0)
        n->lp = lp_prepend(n->lp, s, len);
    else if (k >= n->count)
        n->lp = lp_append(n->lp, s, len);
    else
        n->lp = lp_insert(n->lp, lp_seek(n->lp, (long)k), s, len, LP_BEFORE, NULL);
    n->count++;
    ql->count++;
}

/* A position that must survive merges: element i of node. */
struct ql_pos {
    struct ql_node *node;
    unsigned long i;
};

/* Merge neighbours a and b (b == a->next) into one node if the result is
 * within fill: the smaller one's elements move into the larger one. *keep
 * is remapped when it points into either. Returns the merged node, or NULL
 * when they stay apart. O(smaller node). */
static struct ql_node *ql_merge(struct quicklist *ql, struct ql_node *a, struct ql_node *b,
                                int fill, struct ql_pos *keep)
{
    if (!a || !b)
        return NULL;
    size_t sz = lp_bytes(a->lp) + lp_bytes(b->lp) - LP_EMPTY_BYTES;
    if (!ql_within(sz, (unsigned long)a->count + b->count, fill))
        return NULL;
    if (a->count >= b->count) {
        for (unsigned char *p = lp_first(b->lp); p; p = lp_next(b->lp, p))
            a->lp = lp_add_elem(a->lp, p, true);
        if (keep && keep->node == b)
            *keep = (struct ql_pos){a, a->count + keep->i};
        a->count += b->count;
        node_unlink_free(ql, b);
        return a;
    }
    for (unsigned char *p = lp_last(a->lp); p; p = lp_prev(a->lp, p))
        b->lp = lp_add_elem(b->lp, p, false);
    if (keep && keep->node == a)
        keep->node = b;
    else if (keep && keep->node == b)
        keep->i += a->count;
    b->count += a->count;
    node_unlink_free(ql, a);
    return b;
}

/* Try to merge n with its previous and then its next neighbour. True if
 * any merge happened (positions inside them moved: see keep). */
static bool ql_merge_around(struct quicklist *ql, struct ql_node *n, int fill, struct ql_pos *keep)
{
    struct ql_node *m = ql_merge(ql, n->prev, n, fill, keep);
    bool merged = m != NULL;
    if (!m)
        m = n;
    return ql_merge(ql, m, m->next, fill, keep) != NULL || merged;
}

/* Find element index i (0 <= i < count): its node and index inside it,
 * skipping whole nodes from the nearer end. */
static struct ql_node *ql_locate(const struct quicklist *ql, unsigned long i, unsigned long *in)
{
    struct ql_node *n;
    if (i < ql->count / 2) {
        for (n = ql->head; i >= n->count; n = n->next)
            i -= n->count;
        *in = i;
        return n;
    }
    unsigned long back = ql->count - 1 - i;
    for (n = ql->tail; back >= n->count; n = n->prev)
        back -= n->count;
    *in = n->count - 1 - back;
    return n;
}

/* ---- whole lists ---- */

struct quicklist *ql_new(void)
{
    struct quicklist *ql = xmalloc(sizeof(*ql));
    *ql = (struct quicklist){0};
    return ql;
}

void ql_free(struct quicklist *ql)
{
    if (!ql)
        return;
    for (struct ql_node *n = ql->head, *next; n; n = next) {
        next = n->next;
        lp_free(n->lp);
        free(n);
    }
    free(ql);
}

struct quicklist *ql_dup(const struct quicklist *ql)
{
    struct quicklist *d = ql_new();
    for (struct ql_node *n = ql->head; n; n = n->next) {
        struct ql_node *c = xmalloc(sizeof(*c));
        c->lp = lp_dup(n->lp);
        c->count = n->count;
        node_link_after(d, d->tail, c);
    }
    d->count = ql->count;
    return d;
}

size_t ql_mem(const struct quicklist *ql)
{
    size_t m = malloc_usable_size((void *)ql);
    for (struct ql_node *n = ql->head; n; n = n->next)
        m += malloc_usable_size(n) + lp_mem(n->lp);
    return m;
}

void ql_push(struct quicklist *ql, const void *s, size_t len, enum ql_where where)
{
    struct ql_node *n = where == QL_HEAD ? ql->head : ql->tail;
    if (!node_allows(n, len, ql_fill())) {
        n = node_new();
        if (where == QL_HEAD)
            node_link_after(ql, NULL, n);
        else
            node_link_after(ql, ql->tail, n);
    }
    node_insert(ql, n, where == QL_HEAD ? 0 : n->count, s, len);
}

/* ---- iterators ---- */

/* Point it at element i of node n (n NULL: the walk is over). */
static void iter_set(struct ql_iter *it, struct ql_node *n, unsigned long i)
{
    it->node = n;
    it->i = i;
    it->p = n ? lp_seek(n->lp, (long)i) : NULL;
}

/* Point it at the first element of n in the walk's direction. */
static void iter_enter(struct ql_iter *it, struct ql_node *n)
{
    it->node = n;
    if (!n) {
        it->p = NULL;
        return;
    }
    it->i = it->fwd ? 0 : n->count - 1;
    it->p = it->fwd ? lp_first(n->lp) : lp_last(n->lp);
}

bool ql_iter_init(struct quicklist *ql, long long index, bool fwd, struct ql_iter *it)
{
    it->ql = ql;
    it->fwd = fwd;
    unsigned long i;
    if (index < 0) {
        unsigned long back = (unsigned long)(-(index + 1)); /* no overflow at LLONG_MIN */
        if (back >= ql->count) {
            iter_set(it, NULL, 0);
            return false;
        }
        i = ql->count - 1 - back;
    } else {
        if ((unsigned long long)index >= ql->count) {
            iter_set(it, NULL, 0);
            return false;
        }
        i = (unsigned long)index;
    }
    unsigned long in;
    struct ql_node *n = ql_locate(ql, i, &in);
    iter_set(it, n, in);
    return true;
}

void ql_iter_next(struct ql_iter *it)
{
    struct ql_node *n = it->node;
    if (!n)
        return;
    if (it->fwd) {
        it->p = lp_next(n->lp, it->p);
        it->i++;
        if (!it->p)
            iter_enter(it, n->next);
    } else if (it->i == 0) {
        iter_enter(it, n->prev);
    } else {
        it->p = lp_prev(n->lp, it->p);
        it->i--;
    }
}

const unsigned char *ql_iter_get(const struct ql_iter *it, uint32_t *len, char *buf)
{
    return lp_get_str(it->p, len, buf);
}

void ql_iter_delete(struct ql_iter *it)
{
    struct quicklist *ql = it->ql;
    struct ql_node *n = it->node;
    unsigned char *next;
    int fill = ql_fill();

    n->lp = lp_delete(n->lp, it->p, &next);
    n->count--;
    ql->count--;
    if (n->count == 0) {
        struct ql_node *prev = n->prev, *after = n->next;
        node_unlink_free(ql, n);
        iter_enter(it, it->fwd ? after : prev);
        /* The neighbours of the removed node are now adjacent. */
        struct ql_pos keep = {it->node, it->i};
        if (ql_merge(ql, prev, after, fill, &keep))
            iter_set(it, keep.node, keep.i);
        return;
    }
    if (it->fwd) {
        if (next)
            it->p = next; /* same index: the next element moved down */
        else
            iter_enter(it, n->next);
    } else if (it->i == 0) {
        iter_enter(it, n->prev);
    } else {
        it->p = next ? lp_prev(n->lp, next) : lp_last(n->lp);
        it->i--;
    }
    struct ql_pos keep = {it->node, it->i};
    if (ql_merge_around(ql, n, fill, &keep))
        iter_set(it, keep.node, keep.i);
}

/* Insert s so that it becomes element k of node n (0 <= k <= count):
 * into n if it fits, else at the end of the previous node or the start of
 * the next one when it goes at an edge and fits there, else into a new
 * node, splitting n when k is in its middle (as Redis's _quicklistInsert). */
static void ql_insert_at(struct quicklist *ql, struct ql_node *n, unsigned long k, const void *s,
                         size_t len)
{
    int fill = ql_fill();
    if (node_allows(n, len, fill))
        return node_insert(ql, n, k, s, len);
    if (k == 0 && node_allows(n->prev, len, fill))
        return node_insert(ql, n->prev, n->prev->count, s, len);
    if (k == n->count && node_allows(n->next, len, fill))
        return node_insert(ql, n->next, 0, s, len);
    struct ql_node *nn = node_new();
    if (k == 0) {
        node_link_before(ql, n, nn);
        return node_insert(ql, nn, 0, s, len);
    }
    if (k == n->count) {
        node_link_after(ql, n, nn);
        return node_insert(ql, nn, 0, s, len);
    }
    /* Split: n keeps elements [0, k), nn takes [k, count). */
    unsigned char *p = lp_seek(n->lp, (long)k);
    for (unsigned char *q = p; q; q = lp_next(n->lp, q))
        nn->lp = lp_add_elem(nn->lp, q, true);
    nn->count = n->count - (uint32_t)k;
    n->lp = lp_delete_range_at(n->lp, &p, nn->count);
    n->count = (uint32_t)k;
    node_link_after(ql, n, nn);
    if (node_allows(n, len, fill)) {
        node_insert(ql, n, n->count, s, len);
    } else if (node_allows(nn, len, fill)) {
        node_insert(ql, nn, 0, s, len);
    } else {
        struct ql_node *mid = node_new();
        node_link_after(ql, n, mid);
        node_insert(ql, mid, 0, s, len);
    }
    ql_merge(ql, n->prev, n, fill, NULL);
    ql_merge(ql, nn, nn->next, fill, NULL);
}

void ql_iter_insert(struct ql_iter *it, const void *s, size_t len, bool after)
{
    ql_insert_at(it->ql, it->node, it->i + (after ? 1 : 0), s, len);
    it->node = NULL;
    it->p = NULL;
}

/* ---- by index ---- */

void ql_replace(struct quicklist *ql, unsigned long index, const void *s, size_t len)
{
    unsigned long i;
    struct ql_node *n = ql_locate(ql, index, &i);
    unsigned char *p = lp_seek(n->lp, (long)i);
    size_t sz = lp_bytes(n->lp) - lp_entry_size(p) + lp_entry_est(len);
    if (n->count == 1 || ql_within(sz, n->count, ql_fill())) {
        n->lp = lp_replace(n->lp, &p, s, len);
        return;
    }
    /* Too big for its node now: take the old one out (the node keeps at
     * least one element) and insert the new one where it was. */
    n->lp = lp_delete(n->lp, p, NULL);
    n->count--;
    ql->count--;
    ql_insert_at(ql, n, i, s, len);
}

void ql_del_end(struct quicklist *ql, enum ql_where where)
{
    struct ql_node *n = where == QL_HEAD ? ql->head : ql->tail;
    if (n->count == 1) {
        node_unlink_free(ql, n);
    } else {
        n->lp = lp_delete_range(n->lp, where == QL_HEAD ? 0 : -1, 1);
        n->count--;
    }
    ql->count--;
}

void ql_del_range(struct quicklist *ql, unsigned long index, unsigned long num)
{
    if (num == 0)
        return;
    unsigned long i;
    struct ql_node *n = ql_locate(ql, index, &i);
    struct ql_node *before = i > 0 ? n : n->prev;
    while (num > 0) {
        struct ql_node *next = n->next;
        unsigned long take = n->count - i < num ? n->count - i : num;
        if (take == n->count) {
            node_unlink_free(ql, n);
        } else {
            n->lp = lp_delete_range(n->lp, (long)i, take);
            n->count -= (uint32_t)take;
        }
        ql->count -= take;
        num -= take;
        n = next;
        i = 0;
    }
    /* The nodes on both sides of the cut may now fit in one. */
    struct ql_node *cut = before ? before : ql->head;
    if (cut)
        ql_merge_around(ql, cut, ql_fill(), NULL);
}

/* ---- obj_ops ---- */

static void obj_free(void *obj, int enc)
{
    (void)enc;
    ql_free(obj);
}

static void *obj_dup(const void *obj, int enc)
{
    (void)enc;
    return ql_dup(obj);
}

static size_t obj_mem(const void *obj, int enc)
{
    (void)enc;
    return ql_mem(obj);
}

const struct obj_ops list_ops = {obj_free, obj_dup, obj_mem};

/* ---- keys, arguments, replies ---- */

/* The list at key argument i, or NULL when missing or of another type
 * (WRONGTYPE replied, *wrongtype set). */
static struct quicklist *list_get(struct cmd_ctx *c, int i, int flags, bool *wrongtype)
{
    struct entry *e = key_lookup_type(c, i, OBJ_LIST, flags, NULL, wrongtype);
    return e ? entry_get_ptr(e) : NULL;
}

/* A new list key at argument i holding ql (already filled). */
static void list_add_key(struct cmd_ctx *c, int i, struct quicklist *ql)
{
    const struct resp_arg *k = &c->argv[i];
    db_set(arg_shard(c, i), arg_db(c, i),
           entry_new_ptr(k->ptr, k->len, OBJ_LIST, ENC_QUICKLIST, ql, -1));
}

/* The list at key argument i changed n times in place: tell the db, or
 * delete the key if the list is now empty (frees ql). */
static void list_changed(struct cmd_ctx *c, int i, struct quicklist *ql, uint64_t n)
{
    const struct resp_arg *k = &c->argv[i];
    if (ql->count == 0)
        db_delete(arg_shard(c, i), arg_db(c, i), k->ptr, k->len);
    else
        db_changed(arg_shard(c, i), arg_db(c, i), k->ptr, k->len, n);
}

static bool same_key(const struct cmd_ctx *c, int a, int b)
{
    return c->argv[a].len == c->argv[b].len &&
           memcmp(c->argv[a].ptr, c->argv[b].ptr, c->argv[a].len) == 0;
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

/* Redis's getRangeLongFromObjectOrReply with a message: an unparsable or
 * out-of-range argument i replies msg. */
static bool arg_range(struct cmd_ctx *c, int i, long long min, long long max, long long *v,
                      const char *msg)
{
    if (str_to_ll(c->argv[i].ptr, c->argv[i].len, v) && *v >= min && *v <= max)
        return true;
    reply_error(c->out, msg);
    return false;
}

/* LEFT or RIGHT (any case) at argument i, else a syntax error. */
static bool arg_where(struct cmd_ctx *c, int i, enum ql_where *w)
{
    if (arg_is(c, i, "left"))
        *w = QL_HEAD;
    else if (arg_is(c, i, "right"))
        *w = QL_TAIL;
    else {
        reply_error(c->out, ERR_SYNTAX);
        return false;
    }
    return true;
}

static void reply_iter_elem(struct reply *r, const struct ql_iter *it)
{
    char buf[LP_INTBUF_SIZE];
    uint32_t len;
    const unsigned char *s = ql_iter_get(it, &len, buf);
    reply_bulk(r, s, len);
}

/* Reply n elements from index start (0 <= start, start + n <= count) as an
 * array, walking towards the head instead when reverse (then start is the
 * first element replied, counted from the head). */
static void reply_elems(struct reply *r, struct quicklist *ql, unsigned long start, unsigned long n,
                        bool reverse)
{
    struct ql_iter it;
    reply_array(r, (long long)n);
    if (n == 0)
        return;
    ql_iter_init(ql, (long long)start, !reverse, &it);
    for (unsigned long k = 0; k < n; k++, ql_iter_next(&it))
        reply_iter_elem(r, &it);
}

/* Reply the element at one end of a non-empty list as a bulk and pop it. */
static void pop_reply(struct reply *r, struct quicklist *ql, enum ql_where where)
{
    struct ql_iter it;
    ql_iter_init(ql, where == QL_HEAD ? 0 : -1, true, &it);
    reply_iter_elem(r, &it);
    ql_del_end(ql, where);
}

/* Reply up to count elements popped from one end of ql, as an array
 * (RPOP's come last first), and delete them. Returns how many. */
static unsigned long pop_range_reply(struct reply *r, struct quicklist *ql, enum ql_where where,
                                     unsigned long long count)
{
    unsigned long n = count < ql->count ? (unsigned long)count : ql->count;
    unsigned long start = where == QL_HEAD ? 0 : ql->count - n;
    reply_elems(r, ql, where == QL_HEAD ? 0 : ql->count - 1, n, where == QL_TAIL);
    ql_del_range(ql, start, n);
    return n;
}

/* An element copied out of a list (LMOVE pops before it pushes). */
struct lval {
    char *s;
    size_t len;
    char buf[128];
};

static void lval_free(struct lval *v)
{
    if (v->s != v->buf)
        free(v->s);
}

/* Pop one element of a non-empty list into *v. */
static void pop_one(struct quicklist *ql, enum ql_where where, struct lval *v)
{
    struct ql_iter it;
    char buf[LP_INTBUF_SIZE];
    uint32_t len;
    ql_iter_init(ql, where == QL_HEAD ? 0 : -1, true, &it);
    const unsigned char *s = ql_iter_get(&it, &len, buf);
    v->len = len;
    v->s = len <= sizeof(v->buf) ? v->buf : xmalloc(len);
    memcpy(v->s, s, len);
    ql_del_end(ql, where);
}

/* ---- LPUSH RPUSH LPUSHX RPUSHX ---- */

/* Push argv[2..] one by one at one end; replies the new length. The X
 * variants do nothing (reply 0) when the key is missing. */
static void push_generic(struct cmd_ctx *c, enum ql_where where, bool xx)
{
    bool wrongtype;
    struct quicklist *ql = list_get(c, 1, LOOKUP_WRITE, &wrongtype);
    if (wrongtype)
        return;
    if (!ql && xx)
        return reply_int(c->out, 0);
    bool created = !ql;
    if (created)
        ql = ql_new();
    for (int j = 2; j < c->argc; j++)
        ql_push(ql, c->argv[j].ptr, c->argv[j].len, where);
    reply_int(c->out, (long long)ql->count);
    if (created) {
        list_add_key(c, 1, ql);
        if (c->argc > 3)
            db_changed(arg_shard(c, 1), arg_db(c, 1), c->argv[1].ptr, c->argv[1].len,
                       (uint64_t)c->argc - 3);
    } else {
        list_changed(c, 1, ql, (uint64_t)c->argc - 2);
    }
}

void cmd_lpush(struct cmd_ctx *c)
{
    push_generic(c, QL_HEAD, false);
}
void cmd_rpush(struct cmd_ctx *c)
{
    push_generic(c, QL_TAIL, false);
}
void cmd_lpushx(struct cmd_ctx *c)
{
    push_generic(c, QL_HEAD, true);
}
void cmd_rpushx(struct cmd_ctx *c)
{
    push_generic(c, QL_TAIL, true);
}

/* ---- LPOP RPOP ---- */

/* LPOP key [count]: one element as a bulk (null if missing), or with a
 * count an array of up to count elements (null array if missing, empty
 * array for count 0). The count is parsed before the lookup. */
static void pop_generic(struct cmd_ctx *c, enum ql_where where)
{
    long long count = 0;
    bool hascount = c->argc == 3, wrongtype;
    if (c->argc > 3)
        return reply_arity(c);
    if (hascount && !arg_range(c, 2, 0, LLONG_MAX, &count, ERR_MUST_POSITIVE))
        return;
    struct quicklist *ql = list_get(c, 1, LOOKUP_WRITE, &wrongtype);
    if (wrongtype)
        return;
    if (!ql)
        return hascount ? reply_null_array(c->out) : reply_null(c->out);
    if (hascount && count == 0)
        return reply_array(c->out, 0);
    unsigned long n = 1;
    if (hascount)
        n = pop_range_reply(c->out, ql, where, (unsigned long long)count);
    else
        pop_reply(c->out, ql, where);
    list_changed(c, 1, ql, n);
}

void cmd_lpop(struct cmd_ctx *c)
{
    pop_generic(c, QL_HEAD);
}
void cmd_rpop(struct cmd_ctx *c)
{
    pop_generic(c, QL_TAIL);
}

/* ---- LLEN LRANGE LINDEX ---- */

void cmd_llen(struct cmd_ctx *c)
{
    bool wrongtype;
    struct quicklist *ql = list_get(c, 1, LOOKUP_NONE, &wrongtype);
    if (!wrongtype)
        reply_int(c->out, ql ? (long long)ql->count : 0);
}

/* Clamp [start, end] (negative: from the end) to the list as Redis's
 * LRANGE/LTRIM: false when the range is empty, else *from and *n. */
static bool clamp_range(long long start, long long end, unsigned long llen, unsigned long *from,
                        unsigned long *n)
{
    long long len = (long long)llen;
    if (start < 0)
        start += len;
    if (end < 0)
        end += len;
    if (start < 0)
        start = 0;
    if (start > end || start >= len)
        return false;
    if (end >= len)
        end = len - 1;
    *from = (unsigned long)start;
    *n = (unsigned long)(end - start + 1);
    return true;
}

/* LRANGE key start stop: O(S+N), S the distance of start from the nearer
 * end. Indexes are parsed before the lookup, as in Redis. */
void cmd_lrange(struct cmd_ctx *c)
{
    long long start, end;
    bool wrongtype;
    if (!arg_ll(c, 2, &start, NULL) || !arg_ll(c, 3, &end, NULL))
        return;
    struct quicklist *ql = list_get(c, 1, LOOKUP_NONE, &wrongtype);
    if (wrongtype)
        return;
    unsigned long from, n;
    if (!ql || !clamp_range(start, end, ql->count, &from, &n))
        return reply_array(c->out, 0);
    reply_elems(c->out, ql, from, n, false);
}

/* LINDEX key index: the index is parsed after the lookup (a missing key
 * replies null whatever the index). */
void cmd_lindex(struct cmd_ctx *c)
{
    long long index;
    bool wrongtype;
    struct quicklist *ql = list_get(c, 1, LOOKUP_NONE, &wrongtype);
    if (wrongtype)
        return;
    if (!ql)
        return reply_null(c->out);
    if (!arg_ll(c, 2, &index, NULL))
        return;
    struct ql_iter it;
    if (!ql_iter_init(ql, index, true, &it))
        return reply_null(c->out);
    reply_iter_elem(c->out, &it);
}

/* ---- LSET LINSERT LREM LTRIM ---- */

void cmd_lset(struct cmd_ctx *c)
{
    long long index;
    bool wrongtype;
    struct quicklist *ql = list_get(c, 1, LOOKUP_WRITE, &wrongtype);
    if (wrongtype)
        return;
    if (!ql)
        return reply_error(c->out, ERR_NO_KEY);
    if (!arg_ll(c, 2, &index, NULL))
        return;
    if (index < 0)
        index += (long long)ql->count;
    if (index < 0 || index >= (long long)ql->count)
        return reply_error(c->out, ERR_INDEX_RANGE);
    ql_replace(ql, (unsigned long)index, c->argv[3].ptr, c->argv[3].len);
    list_changed(c, 1, ql, 1);
    reply_ok(c->out);
}

/* LINSERT key BEFORE|AFTER pivot element: the new length, -1 when the
 * pivot is not found, 0 when the key is missing. */
void cmd_linsert(struct cmd_ctx *c)
{
    bool after, wrongtype;
    if (arg_is(c, 2, "after"))
        after = true;
    else if (arg_is(c, 2, "before"))
        after = false;
    else
        return reply_error(c->out, ERR_SYNTAX);
    struct quicklist *ql = list_get(c, 1, LOOKUP_WRITE, &wrongtype);
    if (wrongtype)
        return;
    if (!ql)
        return reply_int(c->out, 0);
    const struct resp_arg *pivot = &c->argv[3], *v = &c->argv[4];
    struct ql_iter it;
    for (ql_iter_init(ql, 0, true, &it); ql_iter_valid(&it); ql_iter_next(&it)) {
        if (lp_eq(it.p, pivot->ptr, pivot->len)) {
            ql_iter_insert(&it, v->ptr, v->len, after);
            list_changed(c, 1, ql, 1);
            return reply_int(c->out, (long long)ql->count);
        }
    }
    reply_int(c->out, -1);
}

/* LREM key count element: count > 0 removes the first count matches from
 * the head, < 0 from the tail, 0 all of them. Replies how many. */
void cmd_lrem(struct cmd_ctx *c)
{
    long long toremove;
    bool wrongtype;
    if (!arg_ll(c, 2, &toremove, NULL))
        return;
    struct quicklist *ql = list_get(c, 1, LOOKUP_WRITE, &wrongtype);
    if (wrongtype)
        return;
    if (!ql)
        return reply_int(c->out, 0);
    bool fwd = toremove >= 0;
    /* Redis negates a negative count; LLONG_MIN stays negative there and
     * so never matches "removed == toremove": remove all. */
    unsigned long long limit = toremove == LLONG_MIN ? 0
                               : toremove < 0        ? (unsigned long long)-toremove
                                                     : (unsigned long long)toremove;
    const struct resp_arg *v = &c->argv[3];
    unsigned long long removed = 0;
    struct ql_iter it;
    ql_iter_init(ql, fwd ? 0 : -1, fwd, &it);
    while (ql_iter_valid(&it)) {
        if (!lp_eq(it.p, v->ptr, v->len)) {
            ql_iter_next(&it);
            continue;
        }
        ql_iter_delete(&it);
        if (++removed == limit)
            break;
    }
    reply_int(c->out, (long long)removed);
    if (removed)
        list_changed(c, 1, ql, removed);
}

/* LTRIM key start stop: keep only [start, stop]; an empty range deletes
 * the key. Always OK (a missing key too). */
void cmd_ltrim(struct cmd_ctx *c)
{
    long long start, end;
    bool wrongtype;
    if (!arg_ll(c, 2, &start, NULL) || !arg_ll(c, 3, &end, NULL))
        return;
    struct quicklist *ql = list_get(c, 1, LOOKUP_WRITE, &wrongtype);
    if (wrongtype)
        return;
    if (!ql)
        return reply_ok(c->out);
    unsigned long from, n, llen = ql->count;
    if (!clamp_range(start, end, llen, &from, &n)) {
        from = llen;
        n = 0;
    }
    /* Tail first, so the head cut's index is unchanged. */
    ql_del_range(ql, from + n, llen - from - n);
    ql_del_range(ql, 0, from);
    list_changed(c, 1, ql, llen - n);
    reply_ok(c->out);
}

/* ---- LPOS ---- */

/* LPOS key element [RANK rank] [COUNT num] [MAXLEN len]: the index of the
 * rank-th match (negative rank: counting from the tail), or with COUNT an
 * array of up to num matches (0: all). MAXLEN bounds the elements
 * compared. Options are parsed before the lookup. */
void cmd_lpos(struct cmd_ctx *c)
{
    long long rank = 1, count = -1, maxlen = 0;
    bool wrongtype;
    for (int j = 3; j < c->argc; j++) {
        bool more = j + 1 < c->argc;
        if (arg_is(c, j, "rank") && more) {
            if (!arg_ll(c, ++j, &rank, NULL))
                return;
            if (rank == 0)
                return reply_error(c->out, ERR_RANK_ZERO);
        } else if (arg_is(c, j, "count") && more) {
            if (!arg_range(c, ++j, 0, LLONG_MAX, &count, ERR_COUNT_NEGATIVE))
                return;
        } else if (arg_is(c, j, "maxlen") && more) {
            if (!arg_range(c, ++j, 0, LLONG_MAX, &maxlen, ERR_MAXLEN_NEGATIVE))
                return;
        } else {
            return reply_error(c->out, ERR_SYNTAX);
        }
    }
    bool fwd = rank > 0;
    /* Redis negates a negative rank; LLONG_MIN stays negative there, so
     * every match counts and COUNT never stops the walk. */
    bool rank_min = rank == LLONG_MIN;
    unsigned long long want = rank_min ? 1
                              : fwd    ? (unsigned long long)rank
                                       : (unsigned long long)-rank;
    struct quicklist *ql = list_get(c, 1, LOOKUP_NONE, &wrongtype);
    if (wrongtype)
        return;
    if (!ql)
        return count != -1 ? reply_array(c->out, 0) : reply_null(c->out);

    unsigned long *found = NULL;
    unsigned long nfound = 0, cap = 0, llen = ql->count;
    unsigned long long matches = 0;
    struct ql_iter it;
    const struct resp_arg *v = &c->argv[2];
    ql_iter_init(ql, fwd ? 0 : -1, fwd, &it);
    for (unsigned long index = 0;
         ql_iter_valid(&it) && (maxlen == 0 || index < (unsigned long long)maxlen);
         index++, ql_iter_next(&it)) {
        if (!lp_eq(it.p, v->ptr, v->len) || ++matches < want)
            continue;
        unsigned long pos = fwd ? index : llen - index - 1;
        if (count == -1) {
            free(found);
            return reply_int(c->out, (long long)pos);
        }
        if (nfound == cap) {
            cap = cap ? cap * 2 : 16;
            found = realloc(found, cap * sizeof(*found));
            if (!found)
                abort();
        }
        found[nfound++] = pos;
        if (count && !rank_min && matches - want + 1 >= (unsigned long long)count)
            break;
    }
    if (count == -1)
        return reply_null(c->out);
    reply_array(c->out, (long long)nfound);
    for (unsigned long k = 0; k < nfound; k++)
        reply_int(c->out, (long long)found[k]);
    free(found);
}

/* ---- LMOVE RPOPLPUSH BLMOVE BRPOPLPUSH ---- */

/* Move one element from the list at argument 1 to the list at argument 2
 * and reply it. A missing source replies a null bulk when nullreply is
 * set (a wrong destination type then does not matter, as in Redis) and
 * returns false; the blocking variants pass false and block instead. The
 * same key as source and destination rotates the list. */
enum move_result { MOVE_FAILED, MOVE_NO_SOURCE, MOVE_DONE };

static enum move_result move_generic(struct cmd_ctx *c, enum ql_where from, enum ql_where to,
                                     bool nullreply)
{
    bool wrongtype;
    struct quicklist *src = list_get(c, 1, LOOKUP_WRITE, &wrongtype);
    if (wrongtype)
        return MOVE_FAILED;
    if (!src) {
        if (nullreply)
            reply_null(c->out);
        return MOVE_NO_SOURCE;
    }
    struct quicklist *dst = list_get(c, 2, LOOKUP_WRITE, &wrongtype);
    if (wrongtype)
        return MOVE_FAILED;
    struct lval v;
    pop_one(src, from, &v);
    if (same_key(c, 1, 2)) {
        ql_push(src, v.s, v.len, to);
        list_changed(c, 1, src, 2);
    } else {
        list_changed(c, 1, src, 1); /* may delete the source key */
        if (dst) {
            ql_push(dst, v.s, v.len, to);
            list_changed(c, 2, dst, 1);
        } else {
            dst = ql_new();
            ql_push(dst, v.s, v.len, to);
            list_add_key(c, 2, dst);
        }
    }
    reply_bulk(c->out, v.s, v.len);
    lval_free(&v);
    return MOVE_DONE;
}

void cmd_lmove(struct cmd_ctx *c)
{
    enum ql_where from, to;
    if (!arg_where(c, 3, &from) || !arg_where(c, 4, &to))
        return;
    move_generic(c, from, to, true);
}

void cmd_rpoplpush(struct cmd_ctx *c)
{
    move_generic(c, QL_TAIL, QL_HEAD, true);
}

/* The blocking moves: served at once like LMOVE when the source holds a
 * list; else wait, or reply a null bulk when the client may not block. A
 * move is logged as the non-blocking command, LMOVE src dst from to or
 * RPOPLPUSH src dst (Redis 7.0), so that a replay never blocks. */
static void bmove_generic(struct cmd_ctx *c, enum ql_where from, enum ql_where to, int tidx)
{
    long long ms;
    if (!arg_timeout(c, tidx, &ms))
        return;
    enum move_result r = move_generic(c, from, to, false);
    if (r == MOVE_DONE && tidx == 5) {
        struct resp_arg argv[5] = {prop_word("LMOVE"), c->argv[1], c->argv[2], c->argv[3],
                                   c->argv[4]};
        cmd_propagate(c, 5, argv);
    } else if (r == MOVE_DONE) {
        struct resp_arg argv[3] = {prop_word("RPOPLPUSH"), c->argv[1], c->argv[2]};
        cmd_propagate(c, 3, argv);
    }
    if (r != MOVE_NO_SOURCE)
        return;
    if (cmd_block(c, ms))
        return;
    reply_null(c->out);
}

void cmd_blmove(struct cmd_ctx *c)
{
    enum ql_where from, to;
    if (!arg_where(c, 3, &from) || !arg_where(c, 4, &to))
        return;
    bmove_generic(c, from, to, 5);
}

void cmd_brpoplpush(struct cmd_ctx *c)
{
    bmove_generic(c, QL_TAIL, QL_HEAD, 3);
}

/* ---- BLPOP BRPOP LMPOP BLMPOP ---- */

/* Pop from the first non-empty list among key arguments [first, first+n):
 * count < 0 replies [key, element] (BLPOP), else [key, [elements...]]
 * (LMPOP). A key of another type met before a list replies WRONGTYPE.
 * Returns false (nothing replied) when every key is missing. */
static bool mpop_first(struct cmd_ctx *c, int first, int n, enum ql_where where, long long count)
{
    for (int i = first; i < first + n; i++) {
        bool wrongtype;
        struct quicklist *ql = list_get(c, i, LOOKUP_WRITE, &wrongtype);
        if (wrongtype)
            return true;
        if (!ql)
            continue;
        reply_array(c->out, 2);
        reply_bulk(c->out, c->argv[i].ptr, c->argv[i].len);
        unsigned long popped = 1;
        if (count < 0)
            pop_reply(c->out, ql, where);
        else
            popped = pop_range_reply(c->out, ql, where, (unsigned long long)count);
        list_changed(c, i, ql, popped);
        /* Logged as LPOP/RPOP key (BLPOP) or LPOP/RPOP key n with the
         * number popped ([B]LMPOP), as Redis 7.0 does. */
        const char *pop = where == QL_HEAD ? "LPOP" : "RPOP";
        if (count < 0)
            cmd_propagate_key(c, pop, i);
        else
            cmd_propagate_key_ll(c, pop, i, (long long)popped);
        return true;
    }
    return false;
}

/* BLPOP key [key ...] timeout */
static void bpop_generic(struct cmd_ctx *c, enum ql_where where)
{
    long long ms;
    if (!arg_timeout(c, c->argc - 1, &ms))
        return;
    if (mpop_first(c, 1, c->argc - 2, where, -1) || cmd_block(c, ms))
        return;
    reply_null_array(c->out);
}

void cmd_blpop(struct cmd_ctx *c)
{
    bpop_generic(c, QL_HEAD);
}
void cmd_brpop(struct cmd_ctx *c)
{
    bpop_generic(c, QL_TAIL);
}

/* [B]LMPOP [timeout] numkeys key [key ...] LEFT|RIGHT [COUNT count]:
 * numkeys, the direction and COUNT are checked before the timeout (which
 * is argument 1 of BLMPOP) and before any key. */
static void lmpop_generic(struct cmd_ctx *c, int nidx, bool block)
{
    long long numkeys, count = -1, ms = 0;
    enum ql_where where;
    if (!arg_range(c, nidx, 1, LLONG_MAX, &numkeys, ERR_NUMKEYS))
        return;
    if (numkeys >= c->argc - nidx - 1)
        return reply_error(c->out, ERR_SYNTAX);
    int widx = nidx + 1 + (int)numkeys;
    if (!arg_where(c, widx, &where))
        return;
    for (int j = widx + 1; j < c->argc; j++) {
        if (count == -1 && arg_is(c, j, "count") && j + 1 < c->argc) {
            if (!arg_range(c, ++j, 1, LLONG_MAX, &count, ERR_COUNT_POSITIVE))
                return;
        } else {
            return reply_error(c->out, ERR_SYNTAX);
        }
    }
    if (count == -1)
        count = 1;
    if (block && !arg_timeout(c, 1, &ms))
        return;
    if (mpop_first(c, nidx + 1, (int)numkeys, where, count))
        return;
    if (block && cmd_block(c, ms))
        return;
    reply_null_array(c->out);
}

void cmd_lmpop(struct cmd_ctx *c)
{
    lmpop_generic(c, 1, false);
}
void cmd_blmpop(struct cmd_ctx *c)
{
    lmpop_generic(c, 2, true);
}
