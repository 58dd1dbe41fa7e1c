/* Unit tests of store/t_zset.c, white box: the module source is included so
 * the skiplist, the listpack helpers and the range code can be checked
 * directly (the test program then does not link the library's copy).
 *
 *  - skiplist invariants (levels, spans, backward links, order, rank, the
 *    dict agreeing with the list) under random insert/delete/re-score
 *    against a sorted-array model, ties included;
 *  - the listpack encoding against the same model, and its exact bytes;
 *  - score and lex ranges (count, first/last in range, walks with offset
 *    and limit) on both encodings against the model;
 *  - conversions at the exact thresholds, by count and by member length,
 *    and back to listpack for *STORE results;
 *  - a few commands byte for byte in RESP2 and RESP3.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "harness.h"
#include "t_zset.c"

TestSuite(zset, .init = harness_setup, .fini = harness_teardown);

/* ---- the model: members "m<k>" with a score, kept sorted ---- */

#define MAXM 600

struct melem {
    double score;
    char m[16];
    size_t n;
};

struct model {
    struct melem e[MAXM];
    int n;
};

static int melem_cmp(const void *a, const void *b)
{
    const struct melem *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return mem_cmp(x->m, x->n, y->m, y->n);
}

static int model_find(const struct model *md, const char *m, size_t n)
{
    for (int i = 0; i < md->n; i++)
        if (md->e[i].n == n && memcmp(md->e[i].m, m, n) == 0)
            return i;
    return -1;
}

static void model_set(struct model *md, const char *m, size_t n, double score)
{
    int i = model_find(md, m, n);
    if (i < 0) {
        i = md->n++;
        memcpy(md->e[i].m, m, n);
        md->e[i].n = n;
    }
    md->e[i].score = score;
    qsort(md->e, (size_t)md->n, sizeof(md->e[0]), melem_cmp);
}

static void model_del(struct model *md, const char *m, size_t n)
{
    int i = model_find(md, m, n);
    if (i < 0)
        return;
    memmove(&md->e[i], &md->e[i + 1], (size_t)(md->n - i - 1) * sizeof(md->e[0]));
    md->n--;
}

static uint64_t trng = 88172645463325252ULL;

static uint64_t tr(void)
{
    trng ^= trng << 13;
    trng ^= trng >> 7;
    trng ^= trng << 17;
    return trng;
}

/* Few distinct scores so ties are common; the odd fractional one too. */
static double rand_score(void)
{
    static const double pool[] = {-INFINITY, -3, -0.5, 0, 1, 1, 2, 2.5, 7, 1e300, INFINITY};
    return pool[tr() % (sizeof(pool) / sizeof(pool[0]))];
}

static size_t rand_member(char *buf)
{
    return (size_t)snprintf(buf, 16, "m%d", (int)(tr() % 400));
}

/* ---- invariant checks ---- */

static void check_skiplist(struct zset *zs, const struct model *md)
{
    struct zsl *zsl = &zs->zsl;
    cr_assert_eq(zsl->length, (unsigned long)md->n);
    cr_assert_eq(dict_size(&zs->dict), (uint64_t)md->n);
    cr_assert(zsl->level >= 1 && zsl->level <= ZSL_MAXLEVEL);
    /* no empty top levels */
    if (zsl->level > 1)
        cr_assert_not_null(LV(zsl->header, zsl->level - 1)->forward);
    for (int i = zsl->level; i < ZSL_MAXLEVEL; i++)
        cr_assert_null(LV(zsl->header, i)->forward);

    /* level 0: order, backward links, tail, the model, the dict */
    struct zsl_node *x = LV(zsl->header, 0)->forward, *prev = NULL;
    int k = 0;
    for (; x; prev = x, x = LV(x, 0)->forward, k++) {
        size_t n;
        const char *m = node_member(x, &n);
        cr_assert_lt(k, md->n);
        cr_assert_eq(x->score, md->e[k].score, "score at %d", k);
        cr_assert(n == md->e[k].n && memcmp(m, md->e[k].m, n) == 0, "member at %d", k);
        cr_assert_eq(x->backward, prev);
        cr_assert_eq(LV(x, 0)->span, LV(x, 0)->forward ? 1UL : 0UL);
        struct entry **ref = dict_find_ref(&zs->dict, m, n);
        cr_assert_not_null(ref);
        cr_assert_eq(*ref, node_ent(x));
        cr_assert_eq(ent_score(node_ent(x)), x->score);
        cr_assert_eq(zsl_rank(zsl, x), (unsigned long)k + 1);
        cr_assert_eq(zsl_by_rank(zsl, (unsigned long)k + 1), x);
    }
    cr_assert_eq(k, md->n);
    cr_assert_eq(zsl->tail, prev);
    cr_assert_null(zsl_by_rank(zsl, (unsigned long)md->n + 1));

    /* every level: the span of a link is the number of level-0 steps it
     * covers (the header's span counts from rank 0) */
    for (int lv = 1; lv < zsl->level; lv++) {
        unsigned long rank = 0;
        struct zsl_node *y = zsl->header;
        while (LV(y, lv)->forward) {
            struct zsl_node *f = LV(y, lv)->forward;
            unsigned long frank = zsl_rank(zsl, f);
            cr_assert_eq(LV(y, lv)->span, frank - rank, "span at level %d", lv);
            rank = frank;
            y = f;
        }
    }
}

static void check_listpack(unsigned char *lp, const struct model *md)
{
    cr_assert_eq(zzl_length(lp), (unsigned long)md->n);
    unsigned char *ep = lp_first(lp);
    for (int k = 0; k < md->n; k++) {
        cr_assert_not_null(ep);
        cr_assert(lp_eq(ep, md->e[k].m, md->e[k].n), "member at %d", k);
        unsigned char *sp = lp_next(lp, ep);
        cr_assert_eq(lp_score(sp), md->e[k].score, "score at %d", k);
        ep = lp_next(lp, sp);
    }
    cr_assert_null(ep);
}

static void check_zobj(struct zobj *z, const struct model *md)
{
    if (z->enc == ENC_LISTPACK)
        check_listpack(z->lp, md);
    else
        check_skiplist(z->zs, md);
}

/* Random adds (new, re-scored, INCR), deletes and rank-range deletes on z,
 * mirrored on md; invariants checked every few steps. */
static void random_ops(struct zobj *z, struct model *md, int steps)
{
    for (int step = 0; step < steps; step++) {
        char m[16];
        size_t n = rand_member(m);
        int op = (int)(tr() % 10);
        if (op < 6) {
            double s = rand_score();
            int out;
            double ns;
            cr_assert(zobj_add(z, s, m, n, 0, &out, &ns));
            model_set(md, m, n, s);
        } else if (op < 7 && model_find(md, m, n) >= 0) {
            int out;
            double ns, cur = md->e[model_find(md, m, n)].score;
            bool ok = zobj_add(z, 1, m, n, ZA_INCR, &out, &ns);
            cr_assert_eq(ok, !isnan(cur + 1));
            if (ok)
                model_set(md, m, n, cur + 1);
        } else if (op < 9) {
            bool had = model_find(md, m, n) >= 0;
            cr_assert_eq(zobj_del(z, m, n), had);
            model_del(md, m, n);
        } else if (md->n > 0) {
            unsigned long a = tr() % (unsigned long)md->n, b = a + tr() % 4;
            if (b >= (unsigned long)md->n)
                b = (unsigned long)md->n - 1;
            cr_assert_eq(zobj_delete_ranks(z, a, b), b - a + 1);
            memmove(&md->e[a], &md->e[b + 1], (size_t)(md->n - (int)b - 1) * sizeof(md->e[0]));
            md->n -= (int)(b - a + 1);
        }
        if (step % 25 == 0)
            check_zobj(z, md);
    }
    check_zobj(z, md);
}

Test(zset, skiplist_invariants_under_random_operations)
{
    struct zobj z;
    struct model md = {.n = 0};
    zobj_new(&z, ENC_SKIPLIST);
    random_ops(&z, &md, 4000);
    zobj_free(&z);
}

Test(zset, skiplist_levels_are_geometric)
{
    int hist[ZSL_MAXLEVEL + 1] = {0};
    for (int i = 0; i < 100000; i++)
        hist[zsl_random_level()]++;
    cr_assert_eq(hist[0], 0);
    /* P(level 1) = 3/4, P(>= 2) = 1/4, P(>= 3) = 1/16 */
    cr_assert(hist[1] > 73000 && hist[1] < 77000, "level 1: %d", hist[1]);
    cr_assert(hist[2] > 17000 && hist[2] < 20500, "level 2: %d", hist[2]);
}

Test(zset, listpack_operations_match_the_model)
{
    struct zobj z;
    struct model md = {.n = 0};
    long long saved = store_limits.zset_max_listpack_entries;
    store_limits.zset_max_listpack_entries = 1000000; /* never convert here */
    zobj_new(&z, ENC_LISTPACK);
    random_ops(&z, &md, 1500);
    cr_assert_eq(z.enc, ENC_LISTPACK);
    zobj_free(&z);
    store_limits.zset_max_listpack_entries = saved;
}

Test(zset, listpack_bytes_are_redis_bytes)
{
    /* ZADD z 1 a 2.5 b -0 c inf d: integral scores are listpack ints
     * (-0 as 0), the others d2string text. */
    struct zobj z;
    zobj_new(&z, ENC_LISTPACK);
    zobj_set(&z, "a", 1, 1);
    zobj_set(&z, "b", 1, 2.5);
    zobj_set(&z, "c", 1, -0.0);
    zobj_set(&z, "d", 1, INFINITY);
    const unsigned char want[] = {
        33, 0, 0, 0, 8, 0,                    /* total bytes, 8 elements */
        0x81, 'c', 2, 0x00, 1,                /* "c" 0 */
        0x81, 'a', 2, 0x01, 1,                /* "a" 1 */
        0x81, 'b', 2, 0x83, '2', '.', '5', 4, /* "b" "2.5" */
        0x81, 'd', 2, 0x83, 'i', 'n', 'f', 4, /* "d" "inf" */
        0xff};
    cr_assert_eq(lp_bytes(z.lp), sizeof(want));
    cr_assert(memcmp(z.lp, want, sizeof(want)) == 0);
    zobj_free(&z);
}

/* ---- ranges against the model ---- */

static bool model_in(const struct zspec *sp, const struct melem *e)
{
    if (sp->kind == RANGE_SCORE)
        return (sp->minex ? e->score > sp->min : e->score >= sp->min) &&
               (sp->maxex ? e->score < sp->max : e->score <= sp->max);
    int a = lex_cmp(e->m, e->n, &sp->lmin), b = lex_cmp(e->m, e->n, &sp->lmax);
    return (sp->minex ? a > 0 : a >= 0) && (sp->maxex ? b < 0 : b <= 0);
}

struct collect {
    char m[MAXM][16];
    size_t n[MAXM];
    int k;
};

static bool collect_cb(void *arg, const char *m, size_t n, double score)
{
    (void)score;
    struct collect *c = arg;
    memcpy(c->m[c->k], m, n);
    c->n[c->k++] = n;
    return true;
}

static void check_ranges(struct zobj *z, const struct model *md, int kind)
{
    static const char *lexb[] = {"-", "+", "[m1", "(m1", "[m2", "(m25", "[m9", "(m", "[", "(m3"};
    static const double sb[] = {-INFINITY, -3, -1, 0, 1, 2, 2.5, 3, INFINITY};
    for (int t = 0; t < 200; t++) {
        struct zspec sp;
        if (kind == RANGE_SCORE) {
            sp.kind = RANGE_SCORE;
            sp.min = sb[tr() % 9];
            sp.max = sb[tr() % 9];
            sp.minex = tr() & 1;
            sp.maxex = tr() & 1;
        } else {
            const char *a = lexb[tr() % 10], *b = lexb[tr() % 10];
            struct resp_arg ra = {a, strlen(a)}, rb = {b, strlen(b)};
            cr_assert(parse_lex_range(&ra, &rb, &sp));
        }
        int first = -1, cnt = 0;
        for (int i = 0; i < md->n; i++)
            if (model_in(&sp, &md->e[i])) {
                if (first < 0)
                    first = i;
                cnt++;
            }
        cr_assert_eq(zobj_count_in(z, &sp), (unsigned long)cnt);
        struct zpos p;
        unsigned long rank;
        cr_assert_eq(zobj_first_in(z, &sp, &p, &rank), cnt > 0);
        if (cnt) {
            cr_assert_eq(rank, (unsigned long)first);
            cr_assert(zobj_last_in(z, &sp, &p, &rank));
            cr_assert_eq(rank, (unsigned long)(first + cnt - 1));
        }
        long long off = (long long)(tr() % 4) - 1, lim = (long long)(tr() % 5) - 1;
        bool rev = tr() & 1;
        long long want = off < 0 ? 0 : cnt - off < 0 ? 0 : cnt - off;
        if (lim >= 0 && want > lim)
            want = lim;
        cr_assert_eq(range_walk(z, &sp, rev, off, lim, NULL), (unsigned long)want);
    }
}

static void fill_same_score(struct zobj *z, struct model *md, int n)
{
    for (int i = 0; i < n; i++) {
        char m[16];
        size_t len = (size_t)snprintf(m, sizeof(m), "m%d", i);
        zobj_set(z, m, len, 0);
        model_set(md, m, len, 0);
    }
}

Test(zset, score_ranges_match_the_model_in_both_encodings)
{
    for (int enc = 0; enc < 2; enc++) {
        struct zobj z;
        struct model md = {.n = 0};
        long long saved = store_limits.zset_max_listpack_entries;
        store_limits.zset_max_listpack_entries = 1000000;
        zobj_new(&z, enc ? ENC_SKIPLIST : ENC_LISTPACK);
        for (int i = 0; i < 150; i++) {
            char m[16];
            size_t n = rand_member(m);
            double s = rand_score();
            zobj_set(&z, m, n, s);
            model_set(&md, m, n, s);
        }
        check_ranges(&z, &md, RANGE_SCORE);
        zobj_free(&z);
        store_limits.zset_max_listpack_entries = saved;
    }
}

Test(zset, lex_ranges_match_the_model_in_both_encodings)
{
    for (int enc = 0; enc < 2; enc++) {
        struct zobj z;
        struct model md = {.n = 0};
        long long saved = store_limits.zset_max_listpack_entries;
        store_limits.zset_max_listpack_entries = 1000000;
        zobj_new(&z, enc ? ENC_SKIPLIST : ENC_LISTPACK);
        fill_same_score(&z, &md, 120);
        check_ranges(&z, &md, RANGE_LEX);
        zobj_free(&z);
        store_limits.zset_max_listpack_entries = saved;
    }
}

Test(zset, foreach_walks_in_order_both_ways)
{
    EXPECT(":3\r\n", cmd_zadd, "ZADD", "z", "2", "b", "1", "a", "3", "c");
    struct entry *e = db_lookup(s, &s->db[0], "z", 1, LOOKUP_NOTOUCH, NULL);
    struct collect *c = calloc(1, sizeof(*c));
    zset_foreach(e, false, collect_cb, c);
    cr_assert_eq(c->k, 3);
    cr_assert(c->m[0][0] == 'a' && c->m[2][0] == 'c');
    c->k = 0;
    zset_foreach(e, true, collect_cb, c);
    cr_assert(c->m[0][0] == 'c' && c->m[2][0] == 'a');
    cr_assert_eq(zset_length(e), 3);
    double sc;
    cr_assert(zset_score(e, "b", 1, &sc) && sc == 2);
    free(c);
}

/* ---- conversions ---- */

static int enc_of(const char *k)
{
    struct entry *e = db_lookup(s, &s->db[0], k, strlen(k), LOOKUP_NOTOUCH, NULL);
    cr_assert_not_null(e, "key %s missing", k);
    return entry_enc(e);
}

Test(zset, converts_at_the_exact_entry_count)
{
    store_limits.zset_max_listpack_entries = 3;
    RUN(cmd_zadd, "ZADD", "z", "1", "a", "2", "b", "3", "c");
    cr_assert_eq(enc_of("z"), ENC_LISTPACK);
    RUN(cmd_zadd, "ZADD", "z", "5", "c"); /* update: no growth */
    cr_assert_eq(enc_of("z"), ENC_LISTPACK);
    EXPECT(":1\r\n", cmd_zadd, "ZADD", "z", "4", "d");
    cr_assert_eq(enc_of("z"), ENC_SKIPLIST);
    EXPECT("*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\nc\r\n$1\r\n5\r\n",
           cmd_zrange, "ZRANGE", "z", "0", "-1", "WITHSCORES");
    RUN(cmd_zrem, "ZREM", "z", "a", "b");
    cr_assert_eq(enc_of("z"), ENC_SKIPLIST); /* never converts back in place */
    store_limits.zset_max_listpack_entries = 128;
}

Test(zset, converts_at_the_exact_member_length)
{
    store_limits.zset_max_listpack_value = 4;
    RUN(cmd_zadd, "ZADD", "z", "1", "abcd");
    cr_assert_eq(enc_of("z"), ENC_LISTPACK);
    RUN(cmd_zadd, "ZADD", "z", "2", "abcde");
    cr_assert_eq(enc_of("z"), ENC_SKIPLIST);
    RUN(cmd_zadd, "ZADD", "y", "1", "abcde", "2", "a"); /* the first member decides */
    cr_assert_eq(enc_of("y"), ENC_SKIPLIST);
    RUN(cmd_zadd, "ZADD", "x", "1", "a", "2", "abcde");
    cr_assert_eq(enc_of("x"), ENC_SKIPLIST);
    EXPECT("$1\r\n2\r\n", cmd_zscore, "ZSCORE", "x", "abcde");
    store_limits.zset_max_listpack_value = 64;
}

Test(zset, conversion_keeps_the_ttl)
{
    store_limits.zset_max_listpack_entries = 1;
    RUN(cmd_zadd, "ZADD", "z", "1", "a");
    struct entry **ref;
    struct entry *e = db_lookup(s, &s->db[0], "z", 1, LOOKUP_NOTOUCH, &ref);
    db_set_expire(s, &s->db[0], ref, T0 + 5000);
    RUN(cmd_zadd, "ZADD", "z", "2", "b");
    e = db_lookup(s, &s->db[0], "z", 1, LOOKUP_NOTOUCH, NULL);
    cr_assert_eq(entry_enc(e), ENC_SKIPLIST);
    cr_assert_eq(entry_expire(e), T0 + 5000);
    store_limits.zset_max_listpack_entries = 128;
}

Test(zset, store_results_convert_back_when_small)
{
    store_limits.zset_max_listpack_entries = 2;
    RUN(cmd_zadd, "ZADD", "a", "1", "x", "2", "y", "3", "z");
    cr_assert_eq(enc_of("a"), ENC_SKIPLIST);
    EXPECT(":2\r\n", cmd_zrangestore, "ZRANGESTORE", "d", "a", "0", "1");
    cr_assert_eq(enc_of("d"), ENC_LISTPACK);
    EXPECT(":3\r\n", cmd_zrangestore, "ZRANGESTORE", "d", "a", "0", "-1");
    cr_assert_eq(enc_of("d"), ENC_SKIPLIST);
    EXPECT(":2\r\n", cmd_zrangestore, "ZRANGESTORE", "d", "a", "-inf", "+inf", "BYSCORE", "LIMIT",
           "0", "2");
    cr_assert_eq(enc_of("d"), ENC_LISTPACK);
    EXPECT(":3\r\n", cmd_zunionstore, "ZUNIONSTORE", "d", "1", "a");
    cr_assert_eq(enc_of("d"), ENC_SKIPLIST);
    RUN(cmd_zremrangebyrank, "ZREMRANGEBYRANK", "a", "0", "0");
    EXPECT(":2\r\n", cmd_zunionstore, "ZUNIONSTORE", "d", "1", "a");
    cr_assert_eq(enc_of("d"), ENC_LISTPACK);
    EXPECT("*4\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n", cmd_zrange, "ZRANGE", "d", "0",
           "-1", "WITHSCORES");
    store_limits.zset_max_listpack_entries = 128;
}

Test(zset, dup_and_mem_for_both_encodings)
{
    store_limits.zset_max_listpack_entries = 2;
    RUN(cmd_zadd, "ZADD", "big", "1", "x", "2", "y", "3", "z");
    RUN(cmd_zadd, "ZADD", "small", "1", "x");
    for (int i = 0; i < 2; i++) {
        struct entry *e = db_lookup(s, &s->db[0], i ? "big" : "small", i ? 3 : 5,
                                    LOOKUP_NOTOUCH, NULL);
        void *copy = zset_ops.dup(entry_get_ptr(e), entry_enc(e));
        struct entry *ce = entry_new_ptr("c", 1, OBJ_ZSET, entry_enc(e), copy, -1);
        cr_assert_eq(zset_length(ce), zset_length(e));
        double sc;
        cr_assert(zset_score(ce, "x", 1, &sc) && sc == 1);
        cr_assert_gt(zset_ops.mem(copy, entry_enc(e)), 0);
        if (i) {
            struct model md = {.n = 0};
            model_set(&md, "x", 1, 1);
            model_set(&md, "y", 1, 2);
            model_set(&md, "z", 1, 3);
            check_skiplist(copy, &md);
        }
        entry_free(ce);
    }
    store_limits.zset_max_listpack_entries = 128;
}

/* ---- replies ---- */

Test(zset, replies_in_resp2_and_resp3)
{
    RUN(cmd_zadd, "ZADD", "z", "1.5", "a", "inf", "b");
    EXPECT("$3\r\n1.5\r\n", cmd_zscore, "ZSCORE", "z", "a");
    EXPECT("$3\r\ninf\r\n", cmd_zscore, "ZSCORE", "z", "b");
    EXPECT("$-1\r\n", cmd_zscore, "ZSCORE", "z", "c");
    harness_proto = 3;
    EXPECT(",1.5\r\n", cmd_zscore, "ZSCORE", "z", "a");
    EXPECT(",inf\r\n", cmd_zscore, "ZSCORE", "z", "b");
    EXPECT("_\r\n", cmd_zscore, "ZSCORE", "z", "c");
    EXPECT("*2\r\n*2\r\n$1\r\na\r\n,1.5\r\n*2\r\n$1\r\nb\r\n,inf\r\n", cmd_zrange, "ZRANGE", "z",
           "0", "-1", "WITHSCORES");
    EXPECT("*1\r\n*2\r\n$1\r\na\r\n,1.5\r\n", cmd_zpopmin, "ZPOPMIN", "z", "1");
    EXPECT("*2\r\n$1\r\nb\r\n,inf\r\n", cmd_zpopmin, "ZPOPMIN", "z");
    EXPECT("_\r\n", cmd_zmpop, "ZMPOP", "1", "z", "MIN");
}

Test(zset, errors_and_their_order)
{
    EXPECT("-ERR XX and NX options at the same time are not compatible\r\n", cmd_zadd, "ZADD",
           "z", "NX", "XX", "x", "a");
    EXPECT("-ERR GT, LT, and/or NX options at the same time are not compatible\r\n", cmd_zadd,
           "ZADD", "z", "GT", "LT", "1", "a");
    EXPECT("-ERR INCR option supports a single increment-element pair\r\n", cmd_zadd, "ZADD",
           "z", "INCR", "1", "a", "2", "b");
    EXPECT("-ERR value is not a valid float\r\n", cmd_zadd, "ZADD", "z", "1", "a", "x", "b");
    RUN(cmd_zadd, "ZADD", "z", "inf", "a");
    EXPECT("-ERR resulting score is not a number (NaN)\r\n", cmd_zincrby, "ZINCRBY", "z", "-inf",
           "a");
    EXPECT("-ERR min or max is not a float\r\n", cmd_zcount, "ZCOUNT", "z", "(x", "1");
    EXPECT("-ERR min or max not valid string range item\r\n", cmd_zlexcount, "ZLEXCOUNT", "z",
           "a", "+");
    EXPECT("-" LIMIT_RANK_ERR "\r\n", cmd_zrange, "ZRANGE", "z", "0", "1", "LIMIT", "0", "1");
    EXPECT("-ERR value is out of range, must be positive\r\n", cmd_zpopmin, "ZPOPMIN", "z",
           "-1");
    EXPECT("-ERR at least 1 input key is needed for 'zunionstore' command\r\n", cmd_zunionstore,
           "ZUNIONSTORE", "d", "0", "z");
}

Test(zset, blocking_pops_reply_null_when_they_may_not_block)
{
    EXPECT("*-1\r\n", cmd_bzpopmin, "BZPOPMIN", "a", "b", "0");
    EXPECT("*-1\r\n", cmd_bzmpop, "BZMPOP", "0", "1", "a", "MIN");
    RUN(cmd_zadd, "ZADD", "b", "1", "x");
    EXPECT("*3\r\n$1\r\nb\r\n$1\r\nx\r\n$1\r\n1\r\n", cmd_bzpopmax, "BZPOPMAX", "a", "b", "0");
    cr_assert_null(db_lookup(s, &s->db[0], "b", 1, LOOKUP_NOTOUCH, NULL));
}

/* ---- plain sets as ZUNION/ZINTER inputs (score 1) ---- */

Test(zset, sets_are_inputs_with_score_one)
{
    RUN(cmd_sadd, "SADD", "s", "x", "y", "7");   /* hashtable */
    RUN(cmd_sadd, "SADD", "i", "-3", "7", "300"); /* intset */
    cr_assert_eq(enc_of("s"), ENC_HT);
    cr_assert_eq(enc_of("i"), ENC_INTSET);
    RUN(cmd_zadd, "ZADD", "z", "2", "x", "5", "7");
    EXPECT("*4\r\n$1\r\nx\r\n$1\r\n3\r\n$1\r\n7\r\n$1\r\n6\r\n", cmd_zinter, "ZINTER", "2", "s",
           "z", "WITHSCORES");
    EXPECT("*2\r\n$1\r\n7\r\n$1\r\n7\r\n", cmd_zinter, "ZINTER", "2", "i", "z", "WEIGHTS", "2",
           "1", "WITHSCORES");
    EXPECT("*3\r\n$2\r\n-3\r\n$3\r\n300\r\n$1\r\n7\r\n", cmd_zunion, "ZUNION", "1", "i");
    EXPECT(":1\r\n", cmd_zintercard, "ZINTERCARD", "3", "i", "s", "z");
    EXPECT("*2\r\n$1\r\nx\r\n$1\r\ny\r\n", cmd_zdiff, "ZDIFF", "2", "s", "i");
    EXPECT(":5\r\n", cmd_zunionstore, "ZUNIONSTORE", "d", "2", "s", "i");
    EXPECT("$1\r\n2\r\n", cmd_zscore, "ZSCORE", "d", "7");
    EXPECT("-" ERR_WRONGTYPE "\r\n", cmd_zadd, "ZADD", "s", "1", "a");
}
