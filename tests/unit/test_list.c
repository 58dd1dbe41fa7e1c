/* Unit tests for store/t_list.c: the quicklist's node sizes for every
 * list-max-listpack-size setting (split by count, by bytes, an oversized
 * element alone in its node, the 8 KB cap of count fills), merging of
 * neighbours after deletions, random push/pop/insert/delete/replace/trim
 * against an array model with the structural invariants checked after
 * every step, LINDEX-style positioning from both ends, and the commands'
 * replies (RESP2 and RESP3) through the command harness. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "harness.h"
#include "listpack.h"
#include "t_list.h"

static void setup(void)
{
    harness_setup();
    store_limits.list_max_listpack_size = -2;
}

static void teardown(void)
{
    harness_teardown();
    store_limits.list_max_listpack_size = -2;
}

TestSuite(list, .init = setup, .fini = teardown);

static const size_t levels[] = {4096, 8192, 16384, 32768, 65536};

/* Would Redis accept a node of sz bytes and count elements under fill? */
static bool node_ok(size_t sz, unsigned long count, int fill)
{
    if (count <= 1)
        return true; /* an oversized element gets a node of its own */
    if (fill < 0)
        return sz <= levels[-fill - 1];
    return count <= (unsigned long)fill && sz <= 8192;
}

/* Links, counts and sizes of every node. */
static void check_invariants(const struct quicklist *ql)
{
    int fill = ql_fill();
    unsigned long count = 0, nodes = 0;
    const struct ql_node *prev = NULL;
    for (const struct ql_node *n = ql->head; n; prev = n, n = n->next) {
        cr_assert_eq(n->prev, prev, "broken back link at node %lu", nodes);
        cr_assert_gt(n->count, 0, "empty node %lu", nodes);
        cr_assert_eq(n->count, lp_length(n->lp), "node %lu count", nodes);
        cr_assert(lp_validate(n->lp, lp_bytes(n->lp), NULL, NULL));
        cr_assert(node_ok(lp_bytes(n->lp), n->count, fill),
                  "node %lu: %u elements, %zu bytes over fill %d", nodes, n->count, lp_bytes(n->lp),
                  fill);
        count += n->count;
        nodes++;
    }
    cr_assert_eq(ql->tail, prev);
    cr_assert_eq(ql->count, count);
    cr_assert_eq(ql->nodes, nodes);
}

/* ---- an array model ---- */

struct model {
    char **v;
    size_t *len;
    unsigned long n, cap;
};

static void m_insert(struct model *m, unsigned long at, const char *s, size_t len)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->v = realloc(m->v, m->cap * sizeof(*m->v));
        m->len = realloc(m->len, m->cap * sizeof(*m->len));
    }
    memmove(m->v + at + 1, m->v + at, (m->n - at) * sizeof(*m->v));
    memmove(m->len + at + 1, m->len + at, (m->n - at) * sizeof(*m->len));
    m->v[at] = malloc(len + 1);
    memcpy(m->v[at], s, len);
    m->len[at] = len;
    m->n++;
}

static void m_delete(struct model *m, unsigned long at, unsigned long num)
{
    for (unsigned long k = at; k < at + num; k++)
        free(m->v[k]);
    memmove(m->v + at, m->v + at + num, (m->n - at - num) * sizeof(*m->v));
    memmove(m->len + at, m->len + at + num, (m->n - at - num) * sizeof(*m->len));
    m->n -= num;
}

static void m_free(struct model *m)
{
    m_delete(m, 0, m->n);
    free(m->v);
    free(m->len);
}

/* The list equals the model, read forwards, backwards and by index from
 * both ends. */
static void check_equal(struct quicklist *ql, const struct model *m)
{
    check_invariants(ql);
    cr_assert_eq(ql->count, m->n);
    struct ql_iter it;
    char buf[LP_INTBUF_SIZE];
    uint32_t len;
    unsigned long k = 0;
    for (ql_iter_init(ql, 0, true, &it); ql_iter_valid(&it); ql_iter_next(&it), k++) {
        const unsigned char *p = ql_iter_get(&it, &len, buf);
        cr_assert_eq(len, m->len[k], "element %lu length", k);
        cr_assert(memcmp(p, m->v[k], len) == 0, "element %lu", k);
    }
    cr_assert_eq(k, m->n);
    for (ql_iter_init(ql, -1, false, &it); ql_iter_valid(&it); ql_iter_next(&it)) {
        k--;
        const unsigned char *p = ql_iter_get(&it, &len, buf);
        cr_assert(len == m->len[k] && memcmp(p, m->v[k], len) == 0, "backwards %lu", k);
    }
    cr_assert_eq(k, 0);
    for (int probe = 0; probe < 8 && m->n; probe++) {
        unsigned long i = (unsigned long)rand() % m->n;
        cr_assert(ql_iter_init(ql, (long long)i, true, &it));
        ql_iter_get(&it, &len, buf);
        cr_assert(len == m->len[i]);
        cr_assert(ql_iter_init(ql, (long long)i - (long long)m->n, false, &it));
        const unsigned char *p = ql_iter_get(&it, &len, buf);
        cr_assert(len == m->len[i] && memcmp(p, m->v[i], len) == 0, "index %lu from the end", i);
    }
    cr_assert_not(ql_iter_init(ql, (long long)m->n, true, &it));
    cr_assert_not(ql_iter_init(ql, -(long long)m->n - 1, true, &it));
    cr_assert_not(ql_iter_valid(&it));
}

/* A value: mostly short strings, some integers, now and then a long one
 * (over 4 KB, so it crosses the byte limits). */
static size_t rand_value(char *buf, int big_every)
{
    int r = rand() % 100;
    if (r < 25)
        return (size_t)snprintf(buf, 32, "%d", rand() % 100000 - 50000);
    size_t len = (size_t)(rand() % 40);
    if (big_every && rand() % big_every == 0)
        len = 3000 + (size_t)(rand() % 7000);
    else if (r > 90)
        len = 100 + (size_t)(rand() % 600);
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)('a' + rand() % 4); /* few letters: LREM-style matches */
    return len;
}

/* ---- node sizes ---- */

Test(list, count_fill_splits_nodes)
{
    for (int fill = 1; fill <= 9; fill++) {
        store_limits.list_max_listpack_size = fill;
        struct quicklist *ql = ql_new();
        for (int i = 0; i < 50; i++)
            ql_push(ql, "x", 1, QL_TAIL);
        check_invariants(ql);
        cr_assert_eq(ql->nodes, (unsigned long)(50 + fill - 1) / (unsigned long)fill,
                     "fill %d: %lu nodes", fill, ql->nodes);
        /* Pushing at the head fills new head nodes the same way. */
        for (int i = 0; i < 10 * fill; i++)
            ql_push(ql, "y", 1, QL_HEAD);
        check_invariants(ql);
        cr_assert_eq(ql->nodes, (unsigned long)(50 + fill - 1) / (unsigned long)fill + 10);
        ql_free(ql);
    }
}

Test(list, count_fill_is_capped_at_8kb)
{
    store_limits.list_max_listpack_size = 1000;
    struct quicklist *ql = ql_new();
    char v[200];
    memset(v, 'v', sizeof(v));
    for (int i = 0; i < 500; i++)
        ql_push(ql, v, sizeof(v), QL_TAIL);
    check_invariants(ql);
    for (struct ql_node *n = ql->head; n; n = n->next)
        cr_assert_leq(lp_bytes(n->lp), 8192);
    cr_assert_gt(ql->nodes, 10);
    ql_free(ql);
}

Test(list, fill_above_max_is_clamped)
{
    store_limits.list_max_listpack_size = 100000;
    cr_assert_eq(ql_fill(), 32767);
    store_limits.list_max_listpack_size = -100;
    cr_assert_eq(ql_fill(), -5);
}

Test(list, byte_fill_splits_nodes_at_each_level)
{
    char v[100];
    memset(v, 'b', sizeof(v));
    for (int fill = -1; fill >= -5; fill--) {
        store_limits.list_max_listpack_size = fill;
        struct quicklist *ql = ql_new();
        for (int i = 0; i < 3000; i++)
            ql_push(ql, v, sizeof(v), i % 3 ? QL_TAIL : QL_HEAD);
        check_invariants(ql);
        size_t level = levels[-fill - 1];
        /* Every node is full: one more element would not fit. */
        for (struct ql_node *n = ql->head; n; n = n->next) {
            cr_assert_leq(lp_bytes(n->lp), level);
            if (n != ql->head && n != ql->tail)
                cr_assert_gt(lp_bytes(n->lp) + 103, level - 110, "fill %d underfull node", fill);
        }
        unsigned long per = level / 102;
        cr_assert_geq(ql->nodes, 3000 / per, "fill %d: %lu nodes", fill, ql->nodes);
        cr_assert_leq(ql->nodes, 3000 / (per - 2) + 3, "fill %d: %lu nodes", fill, ql->nodes);
        ql_free(ql);
    }
}

Test(list, oversized_element_gets_its_own_node)
{
    int fills[] = {-1, -2, -5, 3, 128};
    for (size_t f = 0; f < sizeof(fills) / sizeof(*fills); f++) {
        store_limits.list_max_listpack_size = fills[f];
        size_t big = fills[f] == -5 ? 70000 : 9000;
        char *v = malloc(big);
        memset(v, 'z', big);
        struct quicklist *ql = ql_new();
        ql_push(ql, "a", 1, QL_TAIL);
        ql_push(ql, v, big, QL_TAIL);
        ql_push(ql, "b", 1, QL_TAIL);
        ql_push(ql, v, big, QL_HEAD);
        check_invariants(ql);
        cr_assert_eq(ql->nodes, 4, "fill %d", fills[f]);
        cr_assert_eq(ql->head->count, 1);
        cr_assert_eq(ql->head->next->next->count, 1);
        /* Replacing a small element by a big one moves it out too. */
        ql_push(ql, "c", 1, QL_TAIL);
        ql_replace(ql, 3, v, big);
        check_invariants(ql);
        struct ql_iter it;
        uint32_t len;
        char buf[LP_INTBUF_SIZE];
        cr_assert(ql_iter_init(ql, 3, true, &it));
        ql_iter_get(&it, &len, buf);
        cr_assert_eq(len, big);
        ql_free(ql);
        free(v);
    }
}

Test(list, fill_zero_puts_each_element_alone)
{
    store_limits.list_max_listpack_size = 0;
    struct quicklist *ql = ql_new();
    for (int i = 0; i < 10; i++)
        ql_push(ql, "e", 1, QL_TAIL);
    cr_assert_eq(ql->nodes, 10);
    ql_free(ql);
}

/* ---- merging ---- */

static struct quicklist *filled(int n)
{
    struct quicklist *ql = ql_new();
    char b[16];
    for (int i = 0; i < n; i++)
        ql_push(ql, b, (size_t)snprintf(b, sizeof(b), "e%d", i), QL_TAIL);
    return ql;
}

Test(list, deleting_in_the_middle_merges_neighbours)
{
    store_limits.list_max_listpack_size = 4;
    struct quicklist *ql = filled(12);
    cr_assert_eq(ql->nodes, 3);
    /* Take two from the first node and two from the second: 2 + 2 fit. */
    struct ql_iter it;
    ql_iter_init(ql, 1, true, &it);
    ql_iter_delete(&it);
    ql_iter_delete(&it); /* e1, e2 */
    cr_assert_eq(ql->nodes, 3);
    ql_iter_init(ql, 2, true, &it); /* e4 */
    ql_iter_delete(&it);
    cr_assert_eq(ql->nodes, 3); /* 2 + 3 > 4 */
    ql_iter_delete(&it);        /* e5 */
    check_invariants(ql);
    cr_assert_eq(ql->nodes, 2);
    /* The iterator follows the merge: it is on e6 now. */
    char buf[LP_INTBUF_SIZE];
    uint32_t len;
    const unsigned char *p = ql_iter_get(&it, &len, buf);
    cr_assert(len == 2 && memcmp(p, "e6", 2) == 0);
    ql_free(ql);
}

Test(list, emptied_node_lets_its_neighbours_merge)
{
    store_limits.list_max_listpack_size = 4;
    struct quicklist *ql = filled(12);
    ql_del_range(ql, 0, 2); /* first node: 2 left */
    ql_del_range(ql, 8, 2); /* last node: 2 left */
    cr_assert_eq(ql->nodes, 3);
    struct ql_iter it;
    ql_iter_init(ql, 2, true, &it);
    for (int i = 0; i < 4; i++)
        ql_iter_delete(&it);
    check_invariants(ql);
    cr_assert_eq(ql->nodes, 1);
    cr_assert_eq(ql->count, 4);
    ql_free(ql);
}

Test(list, trim_merges_at_the_cut)
{
    store_limits.list_max_listpack_size = 10;
    struct quicklist *ql = filled(40);
    cr_assert_eq(ql->nodes, 4);
    ql_del_range(ql, 5, 10); /* e5..e14: nodes of 5 and 5 */
    check_invariants(ql);
    cr_assert_eq(ql->nodes, 3);
    ql_free(ql);
}

Test(list, backwards_delete_keeps_position_across_merges)
{
    store_limits.list_max_listpack_size = 4;
    struct quicklist *ql = filled(16);
    struct model m = {0};
    char b[16];
    for (int i = 0; i < 16; i++)
        m_insert(&m, m.n, b, (size_t)snprintf(b, sizeof(b), "e%d", i));
    struct ql_iter it;
    ql_iter_init(ql, -1, false, &it);
    unsigned long idx = 15;
    /* Delete every other element walking to the head. */
    for (bool del = true; ql_iter_valid(&it); del = !del) {
        if (del) {
            ql_iter_delete(&it);
            m_delete(&m, idx, 1);
        } else {
            ql_iter_next(&it);
        }
        if (idx == 0)
            break;
        idx--;
        check_equal(ql, &m);
    }
    check_equal(ql, &m);
    cr_assert_leq(ql->nodes, 2);
    m_free(&m);
    ql_free(ql);
}

Test(list, insert_in_a_full_node_splits_it)
{
    store_limits.list_max_listpack_size = 4;
    struct quicklist *ql = filled(8);
    struct ql_iter it;
    ql_iter_init(ql, 1, true, &it);
    ql_iter_insert(&it, "new", 3, true);
    check_invariants(ql);
    cr_assert_eq(ql->count, 9);
    cr_assert_eq(ql->nodes, 3);
    ql_iter_init(ql, 2, true, &it);
    char buf[LP_INTBUF_SIZE];
    uint32_t len;
    const unsigned char *p = ql_iter_get(&it, &len, buf);
    cr_assert(len == 3 && memcmp(p, "new", 3) == 0);
    ql_free(ql);
}

/* ---- random operations against the model ---- */

static void random_ops(int fill, int steps, int big_every)
{
    store_limits.list_max_listpack_size = fill;
    struct quicklist *ql = ql_new();
    struct model m = {0};
    char *v = malloc(10001);
    for (int step = 0; step < steps; step++) {
        int op = rand() % 100;
        size_t len = rand_value(v, big_every);
        if (op < 30 || m.n == 0) {
            bool head = rand() % 2;
            ql_push(ql, v, len, head ? QL_HEAD : QL_TAIL);
            m_insert(&m, head ? 0 : m.n, v, len);
        } else if (op < 45) {
            bool head = rand() % 2;
            if (rand() % 2)
                ql_del_end(ql, head ? QL_HEAD : QL_TAIL);
            else
                ql_del_range(ql, head ? 0 : ql->count - 1, 1);
            m_delete(&m, head ? 0 : m.n - 1, 1);
        } else if (op < 60) {
            unsigned long i = (unsigned long)rand() % m.n;
            bool after = rand() % 2;
            struct ql_iter it;
            cr_assert(ql_iter_init(ql, (long long)i, rand() % 2, &it));
            ql_iter_insert(&it, v, len, after);
            m_insert(&m, i + after, v, len);
        } else if (op < 72) {
            /* LREM-style: delete matches of an element in either direction. */
            unsigned long i = (unsigned long)rand() % m.n;
            char *target = malloc(m.len[i] + 1);
            size_t tlen = m.len[i];
            memcpy(target, m.v[i], tlen);
            bool fwd = rand() % 2;
            unsigned long limit = (unsigned long)(rand() % 3), removed = 0;
            struct ql_iter it;
            ql_iter_init(ql, fwd ? 0 : -1, fwd, &it);
            long idx = fwd ? 0 : (long)m.n - 1;
            while (ql_iter_valid(&it)) {
                if (lp_eq(it.p, target, tlen)) {
                    ql_iter_delete(&it);
                    m_delete(&m, (unsigned long)idx, 1);
                    if (!fwd)
                        idx--;
                    if (++removed == limit)
                        break;
                } else {
                    ql_iter_next(&it);
                    idx += fwd ? 1 : -1;
                }
            }
            free(target);
        } else if (op < 82) {
            unsigned long i = (unsigned long)rand() % m.n;
            ql_replace(ql, i, v, len);
            m_delete(&m, i, 1);
            m_insert(&m, i, v, len);
        } else if (op < 90) {
            unsigned long i = (unsigned long)rand() % m.n;
            unsigned long num = (unsigned long)rand() % (m.n - i + 1);
            if (rand() % 4 == 0)
                num = (unsigned long)rand() % 3;
            if (i + num > m.n)
                num = m.n - i;
            ql_del_range(ql, i, num);
            m_delete(&m, i, num);
        } else {
            for (int k = 0; k < 20; k++) {
                len = rand_value(v, big_every);
                ql_push(ql, v, len, QL_TAIL);
                m_insert(&m, m.n, v, len);
            }
        }
        check_equal(ql, &m);
        if (rand() % 50 == 0) {
            struct quicklist *d = ql_dup(ql);
            check_equal(d, &m);
            cr_assert_gt(ql_mem(d), 0);
            ql_free(d);
        }
    }
    free(v);
    m_free(&m);
    ql_free(ql);
}

Test(list, random_ops_match_the_model_for_every_fill)
{
    int fills[] = {-1, -2, -3, -4, -5, 0, 1, 2, 3, 7, 128, 32767};
    srand(42);
    for (size_t f = 0; f < sizeof(fills) / sizeof(*fills); f++)
        random_ops(fills[f], 600, 40);
}

Test(list, random_ops_with_fill_changes_midway)
{
    srand(7);
    random_ops(3, 300, 0);
    random_ops(-1, 300, 10);
}

/* ---- commands ---- */

Test(list, push_pop_range_replies)
{
    EXPECT(":3\r\n", cmd_rpush, "RPUSH", "l", "a", "b", "c");
    EXPECT(":4\r\n", cmd_lpush, "LPUSH", "l", "z");
    EXPECT("*4\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", cmd_lrange, "LRANGE", "l", "0",
           "-1");
    EXPECT("*2\r\n$1\r\nc\r\n$1\r\nb\r\n", cmd_rpop, "RPOP", "l", "2");
    EXPECT("$1\r\nz\r\n", cmd_lpop, "LPOP", "l");
    EXPECT("$1\r\na\r\n", cmd_lindex, "LINDEX", "l", "-1");
    EXPECT("*0\r\n", cmd_lpop, "LPOP", "l", "0");
    EXPECT("$1\r\na\r\n", cmd_lpop, "LPOP", "l");
    cr_assert_null(db_lookup(s, &s->db[0], "l", 1, LOOKUP_NOTOUCH, NULL), "empty list deleted");
    EXPECT("*-1\r\n", cmd_lpop, "LPOP", "l", "1");
    EXPECT("-ERR value is out of range, must be positive\r\n", cmd_lpop, "LPOP", "l", "-1");
}

Test(list, resp3_nulls)
{
    harness_proto = 3;
    EXPECT("_\r\n", cmd_lpop, "LPOP", "l", "1");
    EXPECT("_\r\n", cmd_lindex, "LINDEX", "l", "0");
    EXPECT("_\r\n", cmd_blpop, "BLPOP", "l", "0");
    EXPECT("_\r\n", cmd_lmpop, "LMPOP", "1", "l", "LEFT");
    EXPECT("_\r\n", cmd_rpoplpush, "RPOPLPUSH", "l", "m");
}

Test(list, lmove_rotates_and_moves)
{
    RUN(cmd_rpush, "RPUSH", "l", "a", "b", "c");
    EXPECT("$1\r\nc\r\n", cmd_rpoplpush, "RPOPLPUSH", "l", "l");
    EXPECT("*3\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n", cmd_lrange, "LRANGE", "l", "0", "-1");
    EXPECT("$1\r\nc\r\n", cmd_lmove, "LMOVE", "l", "m", "LEFT", "RIGHT");
    EXPECT(":1\r\n", cmd_llen, "LLEN", "m");
    RUN(cmd_rpush, "RPUSH", "one", "x");
    EXPECT("$1\r\nx\r\n", cmd_lmove, "LMOVE", "one", "one", "left", "left");
    EXPECT(":1\r\n", cmd_llen, "LLEN", "one");
    EXPECT("*2\r\n$1\r\nm\r\n*1\r\n$1\r\nc\r\n", cmd_lmpop, "LMPOP", "2", "none", "m", "LEFT",
           "COUNT", "5");
}

Test(list, obj_ops_dup_and_mem)
{
    store_limits.list_max_listpack_size = 2;
    RUN(cmd_rpush, "RPUSH", "l", "a", "1", "bb", "22", "c");
    struct entry *e = db_lookup(s, &s->db[0], "l", 1, LOOKUP_NOTOUCH, NULL);
    cr_assert_eq(entry_enc(e), ENC_QUICKLIST);
    struct quicklist *ql = entry_get_ptr(e);
    cr_assert_eq(ql->nodes, 3);
    struct quicklist *d = list_ops.dup(ql, ENC_QUICKLIST);
    cr_assert_eq(d->count, 5);
    cr_assert_eq(d->nodes, 3);
    cr_assert_geq(list_ops.mem(d, ENC_QUICKLIST), sizeof(*d) + 3 * sizeof(struct ql_node));
    list_ops.free(d, ENC_QUICKLIST);
}

Test(list, shrinking_by_random_deletes_stays_compact)
{
    store_limits.list_max_listpack_size = 8;
    struct quicklist *ql = filled(2000);
    srand(3);
    for (int round = 0; round < 6; round++) {
        struct ql_iter it;
        ql_iter_init(ql, 0, round % 2 == 0, &it);
        if (round % 2)
            ql_iter_init(ql, -1, false, &it);
        while (ql_iter_valid(&it)) {
            if (rand() % 3)
                ql_iter_delete(&it);
            else
                ql_iter_next(&it);
        }
        check_invariants(ql);
        /* Every two neighbours hold more than one node's worth. */
        for (struct ql_node *n = ql->head; n && n->next; n = n->next)
            cr_assert_gt(n->count + n->next->count, 8, "round %d: %u + %u", round, n->count,
                         n->next->count);
        cr_assert_leq(ql->nodes, 2 * ql->count / 8 + 1);
    }
    ql_free(ql);
}

/* Run a blocking command as a client that may block: returns whether it
 * blocked (and then it must have written no reply). */
static bool run_may_block(void (*fn)(struct cmd_ctx *), int argc, const char **args, long long *ms)
{
    struct resp_arg argv[16];
    struct reply out;
    for (int i = 0; i < argc; i++)
        argv[i] = (struct resp_arg){args[i], strlen(args[i])};
    struct cmd_ctx c = {
        .shard = s,
        .db = &s->db[0],
        .argc = argc,
        .argv = argv,
        .out = &out,
        .block_ok = true,
    };
    reply_init(&out, 2);
    fn(&c);
    if (c.blocked)
        cr_assert_eq(out.bytes, 0, "a blocked command writes no reply");
    else
        cr_assert_gt(out.bytes, 0);
    reply_free(&out);
    *ms = c.block_ms;
    return c.blocked;
}

Test(list, blocking_commands_block_only_when_nothing_to_serve)
{
    long long ms;
    cr_assert(run_may_block(cmd_blpop, 3, (const char *[]){"BLPOP", "l", "1.5"}, &ms));
    cr_assert_eq(ms, 1500);
    cr_assert(run_may_block(cmd_brpop, 4, (const char *[]){"BRPOP", "a", "b", "0"}, &ms));
    cr_assert_eq(ms, 0);
    cr_assert(run_may_block(cmd_blmove, 6,
                            (const char *[]){"BLMOVE", "l", "d", "LEFT", "LEFT", "0.25"}, &ms));
    cr_assert_eq(ms, 250);
    cr_assert(run_may_block(cmd_brpoplpush, 4, (const char *[]){"BRPOPLPUSH", "l", "d", "2"}, &ms));
    cr_assert(run_may_block(cmd_blmpop, 5, (const char *[]){"BLMPOP", "3", "1", "l", "LEFT"}, &ms));
    cr_assert_eq(ms, 3000);
    /* Errors and wrong types reply at once, never block. */
    cr_assert_not(run_may_block(cmd_blpop, 3, (const char *[]){"BLPOP", "l", "-1"}, &ms));
    cr_assert_not(
        run_may_block(cmd_blmpop, 5, (const char *[]){"BLMPOP", "0", "0", "l", "LEFT"}, &ms));
    RUN(cmd_set, "SET", "str", "x");
    RUN(cmd_rpush, "RPUSH", "l", "a", "b");
    cr_assert_not(run_may_block(cmd_blpop, 4, (const char *[]){"BLPOP", "str", "l", "0"}, &ms));
    /* Something to serve: served at once. */
    cr_assert_not(run_may_block(cmd_blpop, 4, (const char *[]){"BLPOP", "none", "l", "0"}, &ms));
    cr_assert_not(run_may_block(cmd_blmove, 6,
                                (const char *[]){"BLMOVE", "l", "d", "LEFT", "LEFT", "0"}, &ms));
    EXPECT(":0\r\n", cmd_llen, "LLEN", "l");
    EXPECT("*1\r\n$1\r\nb\r\n", cmd_lrange, "LRANGE", "d", "0", "-1");
}
