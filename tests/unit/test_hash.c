/* Unit tests for store/t_hash.c: the hash commands against one shard, the
 * listpack -> hashtable conversion at the exact thresholds (by field count
 * and by field/value length, with the thresholds changed as CONFIG SET
 * does), the value object's free/dup/mem for both encodings, HSCAN over a
 * large hashtable returning every field, and random operations checked
 * against a simple model in both encodings. Expected replies are the bytes
 * redis-server 7.0.15 sends. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "harness.h"
#include "listpack.h"

static void restore_limits(void)
{
    store_limits.hash_max_listpack_entries = 512;
    store_limits.hash_max_listpack_value = 64;
}

static void setup(void)
{
    harness_setup();
    restore_limits();
}

static void teardown(void)
{
    harness_teardown();
    restore_limits();
}

TestSuite(hash, .init = setup, .fini = teardown);

#define WRONGTYPE "-" ERR_WRONGTYPE "\r\n"
#define NIL "$-1\r\n"

static struct entry *find(const char *k)
{
    return db_lookup(s, &s->db[0], k, strlen(k), LOOKUP_NOTOUCH | LOOKUP_NOSTATS, NULL);
}

static int enc_of(const char *k)
{
    struct entry *e = find(k);
    cr_assert_not_null(e, "key %s missing", k);
    cr_assert_eq(entry_type(e), OBJ_HASH);
    return entry_enc(e);
}

/* HSET key with fields f0..f(n-1), values v0..; via runv for long lines. */
static const char *hset_n(const char *key, int from, int n, size_t vlen)
{
    int argc = 2 + 2 * n;
    struct resp_arg *argv = calloc((size_t)argc, sizeof(*argv));
    char **bufs = calloc((size_t)argc, sizeof(char *));
    argv[0] = (struct resp_arg){"HSET", 4};
    argv[1] = (struct resp_arg){key, strlen(key)};
    for (int i = 0; i < n; i++) {
        bufs[2 + 2 * i] = malloc(32);
        int fl = snprintf(bufs[2 + 2 * i], 32, "f%d", from + i);
        bufs[3 + 2 * i] = malloc(vlen + 32);
        int vl = snprintf(bufs[3 + 2 * i], vlen + 32, "v%d", from + i);
        while ((size_t)vl < vlen)
            bufs[3 + 2 * i][vl++] = 'x';
        argv[2 + 2 * i] = (struct resp_arg){bufs[2 + 2 * i], (size_t)fl};
        argv[3 + 2 * i] = (struct resp_arg){bufs[3 + 2 * i], (size_t)vl};
    }
    const char *r = runv(s, cmd_hset, argc, argv);
    for (int i = 2; i < argc; i++)
        free(bufs[i]);
    free(bufs);
    free(argv);
    return r;
}

Test(hash, hset_creates_a_listpack_and_replies_fields_added)
{
    EXPECT(":2\r\n", cmd_hset, "HSET", "h", "a", "1", "b", "2");
    EXPECT(":1\r\n", cmd_hset, "HSET", "h", "a", "3", "c", "4");
    cr_assert_eq(enc_of("h"), ENC_LISTPACK);
    EXPECT("*6\r\n$1\r\na\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n4\r\n", cmd_hgetall,
           "HGETALL", "h");
    EXPECT("-ERR wrong number of arguments for 'hset' command\r\n", cmd_hset, "HSET", "h", "a",
           "1", "b");
    EXPECT("+OK\r\n", cmd_hmset, "HMSET", "h", "d", "5");
    EXPECT("-ERR wrong number of arguments for 'hmset' command\r\n", cmd_hmset, "hmset", "h", "d");
    EXPECT(":4\r\n", cmd_hlen, "HLEN", "h");
}

Test(hash, listpack_bytes_are_field_value_pairs_in_redis_format)
{
    RUN(cmd_hset, "HSET", "h", "a", "12", "bb", "-5");
    unsigned char *lp = entry_get_ptr(find("h"));
    cr_assert(lp_validate(lp, lp_bytes(lp), NULL, NULL));
    /* a(2) 12(2) bb(3) -5(3): 6 + 10 + 1 */
    unsigned char want[] = {17, 0, 0, 0, 4, 0, 0x81, 'a', 2, 12, 1, 0x82, 'b', 'b', 3,
                            0xDF, 0xFB, 2, 0xFF};
    want[0] = sizeof(want);
    cr_assert_eq(lp_bytes(lp), sizeof(want));
    cr_assert(memcmp(lp, want, sizeof(want)) == 0);
}

Test(hash, converts_after_the_entry_threshold_not_at_it)
{
    store_limits.hash_max_listpack_entries = 128;
    hset_n("h", 0, 128, 2);
    cr_assert_eq(enc_of("h"), ENC_LISTPACK);
    hset_n("h", 0, 128, 2); /* updates only */
    cr_assert_eq(enc_of("h"), ENC_LISTPACK);
    EXPECT(":1\r\n", cmd_hset, "HSET", "h", "extra", "1");
    cr_assert_eq(enc_of("h"), ENC_HT);
    EXPECT(":129\r\n", cmd_hlen, "HLEN", "h");
    EXPECT("$2\r\nv7\r\n", cmd_hget, "HGET", "h", "f7");
    /* never back, even after deletes */
    EXPECT(":1\r\n", cmd_hdel, "HDEL", "h", "extra");
    EXPECT(":3\r\n", cmd_hdel, "HDEL", "h", "f1", "f2", "f3");
    cr_assert_eq(enc_of("h"), ENC_HT);
}

Test(hash, converts_by_field_or_value_length)
{
    store_limits.hash_max_listpack_value = 8;
    EXPECT(":1\r\n", cmd_hset, "HSET", "h1", "a", "12345678");
    cr_assert_eq(enc_of("h1"), ENC_LISTPACK);
    EXPECT(":1\r\n", cmd_hset, "HSET", "h1", "b", "123456789");
    cr_assert_eq(enc_of("h1"), ENC_HT);
    EXPECT(":1\r\n", cmd_hset, "HSET", "h2", "abcdefgh", "x");
    cr_assert_eq(enc_of("h2"), ENC_LISTPACK);
    EXPECT(":1\r\n", cmd_hset, "HSET", "h2", "abcdefghi", "x");
    cr_assert_eq(enc_of("h2"), ENC_HT);
    EXPECT("$1\r\nx\r\n", cmd_hget, "HGET", "h2", "abcdefgh");
    /* HSETNX, HINCRBY and HINCRBYFLOAT check lengths too */
    EXPECT(":1\r\n", cmd_hsetnx, "HSETNX", "h3", "abcdefghi", "x");
    cr_assert_eq(enc_of("h3"), ENC_HT);
    EXPECT(":123456789\r\n", cmd_hincrby, "HINCRBY", "h4", "a", "123456789");
    cr_assert_eq(enc_of("h4"), ENC_HT);
    EXPECT("$8\r\n1.234567\r\n", cmd_hincrbyfloat, "HINCRBYFLOAT", "h5", "a", "1.234567");
    cr_assert_eq(enc_of("h5"), ENC_LISTPACK);
    EXPECT("$9\r\n2.2345671\r\n", cmd_hincrbyfloat, "HINCRBYFLOAT", "h5", "a", "1.0000001");
    cr_assert_eq(enc_of("h5"), ENC_HT);
}

Test(hash, thresholds_of_zero)
{
    store_limits.hash_max_listpack_entries = 0;
    RUN(cmd_hset, "HSET", "h", "a", "1");
    cr_assert_eq(enc_of("h"), ENC_HT);
    restore_limits();
    store_limits.hash_max_listpack_value = 0;
    RUN(cmd_hset, "HSET", "h2", "", "");
    cr_assert_eq(enc_of("h2"), ENC_LISTPACK);
    RUN(cmd_hset, "HSET", "h2", "a", "");
    cr_assert_eq(enc_of("h2"), ENC_HT);
}

Test(hash, conversion_keeps_expiry_and_all_fields)
{
    store_limits.hash_max_listpack_entries = 3;
    RUN(cmd_hset, "HSET", "h", "a", "1", "b", "-2", "c", "x");
    int64_t exp = T0 + 100000;
    struct entry **ref;
    db_lookup(s, &s->db[0], "h", 1, LOOKUP_NOTOUCH, &ref);
    db_set_expire(s, &s->db[0], ref, exp);
    RUN(cmd_hset, "HSET", "h", "d", "4");
    cr_assert_eq(enc_of("h"), ENC_HT);
    cr_assert_eq(entry_expire(find("h")), exp);
    EXPECT("*4\r\n$1\r\n1\r\n$2\r\n-2\r\n$1\r\nx\r\n$1\r\n4\r\n", cmd_hmget, "HMGET", "h", "a",
           "b", "c", "d");
}

Test(hash, missing_keys_and_wrong_types)
{
    EXPECT(NIL, cmd_hget, "HGET", "h", "a");
    EXPECT("*2\r\n" NIL NIL, cmd_hmget, "HMGET", "h", "a", "b");
    EXPECT(":0\r\n", cmd_hlen, "HLEN", "h");
    EXPECT(":0\r\n", cmd_hdel, "HDEL", "h", "a");
    EXPECT(":0\r\n", cmd_hexists, "HEXISTS", "h", "a");
    EXPECT(":0\r\n", cmd_hstrlen, "HSTRLEN", "h", "a");
    EXPECT("*0\r\n", cmd_hkeys, "HKEYS", "h");
    EXPECT("*0\r\n", cmd_hgetall, "HGETALL", "h");
    EXPECT(NIL, cmd_hrandfield, "HRANDFIELD", "h");
    EXPECT("*0\r\n", cmd_hrandfield, "HRANDFIELD", "h", "3");
    EXPECT("*2\r\n$1\r\n0\r\n*0\r\n", cmd_hscan, "HSCAN", "h", "0");
    cr_assert_null(find("h"));

    RUN(cmd_set, "SET", "s", "x");
    EXPECT(WRONGTYPE, cmd_hset, "HSET", "s", "a", "1");
    EXPECT(WRONGTYPE, cmd_hget, "HGET", "s", "a");
    EXPECT(WRONGTYPE, cmd_hmget, "HMGET", "s", "a");
    EXPECT(WRONGTYPE, cmd_hdel, "HDEL", "s", "a");
    EXPECT(WRONGTYPE, cmd_hgetall, "HGETALL", "s");
    EXPECT(WRONGTYPE, cmd_hincrby, "HINCRBY", "s", "a", "1");
    EXPECT("-" ERR_NOT_INT "\r\n", cmd_hincrby, "HINCRBY", "s", "a", "x");
    EXPECT(WRONGTYPE, cmd_hscan, "HSCAN", "s", "0");
    EXPECT("-ERR invalid cursor\r\n", cmd_hscan, "HSCAN", "s", "x");
}

Test(hash, hdel_of_the_last_field_deletes_the_key)
{
    RUN(cmd_hset, "HSET", "h", "a", "1", "b", "2");
    EXPECT(":2\r\n", cmd_hdel, "HDEL", "h", "a", "b", "c");
    cr_assert_null(find("h"));
    store_limits.hash_max_listpack_entries = 1;
    RUN(cmd_hset, "HSET", "h", "a", "1", "b", "2");
    cr_assert_eq(enc_of("h"), ENC_HT);
    EXPECT(":2\r\n", cmd_hdel, "HDEL", "h", "b", "a");
    cr_assert_null(find("h"));
}

Test(hash, hincrby_and_hincrbyfloat_errors)
{
    RUN(cmd_hset, "HSET", "h", "s", "abc", "max", "9223372036854775807", "f", "1.5");
    EXPECT("-ERR hash value is not an integer\r\n", cmd_hincrby, "HINCRBY", "h", "s", "1");
    EXPECT("-ERR hash value is not an integer\r\n", cmd_hincrby, "HINCRBY", "h", "f", "1");
    EXPECT("-" ERR_OVERFLOW "\r\n", cmd_hincrby, "HINCRBY", "h", "max", "1");
    EXPECT("-ERR hash value is not a float\r\n", cmd_hincrbyfloat, "HINCRBYFLOAT", "h", "s", "1");
    EXPECT("-ERR value is NaN or Infinity\r\n", cmd_hincrbyfloat, "HINCRBYFLOAT", "h", "f", "inf");
    EXPECT("-" ERR_NOT_FLOAT "\r\n", cmd_hincrbyfloat, "HINCRBYFLOAT", "h", "f", "x");
    EXPECT("$1\r\n3\r\n", cmd_hincrbyfloat, "HINCRBYFLOAT", "h", "f", "1.5");
    EXPECT(":4\r\n", cmd_hincrby, "HINCRBY", "h", "f", "1");
    EXPECT("$19\r\n9223372036854775808\r\n", cmd_hincrbyfloat, "HINCRBYFLOAT", "h", "max",
           "1.5");
    RUN(cmd_hset, "HSET", "h", "big", "1e4932");
    EXPECT("-ERR increment would produce NaN or Infinity\r\n", cmd_hincrbyfloat, "HINCRBYFLOAT",
           "h", "big", "1e4932");
    /* errors on a new key leave nothing behind */
    EXPECT("-" ERR_NOT_INT "\r\n", cmd_hincrby, "HINCRBY", "n", "a", "x");
    cr_assert_null(find("n"));
}

Test(hash, resp3_hgetall_is_a_map_and_hrandfield_pairs)
{
    harness_proto = 3;
    RUN(cmd_hset, "HSET", "h", "a", "1");
    EXPECT("%1\r\n$1\r\na\r\n$1\r\n1\r\n", cmd_hgetall, "HGETALL", "h");
    EXPECT("%0\r\n", cmd_hgetall, "HGETALL", "nokey");
    EXPECT("*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n", cmd_hrandfield, "HRANDFIELD", "h", "5",
           "WITHVALUES");
    EXPECT("*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n", cmd_hrandfield,
           "HRANDFIELD", "h", "-2", "WITHVALUES");
    EXPECT("_\r\n", cmd_hget, "HGET", "h", "zz");
    harness_proto = 2;
    EXPECT("*2\r\n$1\r\na\r\n$1\r\n1\r\n", cmd_hrandfield, "HRANDFIELD", "h", "1", "WITHVALUES");
}

/* ---- HSCAN over a large hashtable ---- */

/* Parse "*2\r\n$n\r\n<cursor>\r\n*m\r\n" + m bulks; records every field
 * seen (even positions) in seen[] by its number; returns the cursor. */
static unsigned long long parse_scan(const char *r, int *seen, int nfields, int *pairs)
{
    unsigned long long cursor;
    int m, n;
    cr_assert_eq(sscanf(r, "*2\r\n$%d\r\n%llu\r\n*%d\r\n%n", &n, &cursor, &m, &n), 3,
                 "bad scan reply %.40s", r);
    /* re-scan to find the offset after the header */
    const char *p = strstr(r + 4, "\r\n*");
    cr_assert_not_null(p);
    p = strstr(p + 3, "\r\n") + 2;
    for (int i = 0; i < m; i++) {
        int len;
        cr_assert_eq(sscanf(p, "$%d\r\n", &len), 1);
        p = strstr(p, "\r\n") + 2;
        if (i % 2 == 0) {
            cr_assert_eq(p[0], 'f');
            int id = atoi(p + 1);
            cr_assert(id >= 0 && id < nfields);
            seen[id]++;
        } else {
            cr_assert_eq(p[0], 'v');
        }
        p += len + 2;
    }
    *pairs += m / 2;
    return cursor;
}

static void scan_all(int nfields, const char *count, int *seen, int *calls)
{
    char cur[32] = "0";
    int pairs = 0;
    *calls = 0;
    do {
        const char *r = RUN(cmd_hscan, "HSCAN", "h", cur, "COUNT", count);
        unsigned long long c = parse_scan(r, seen, nfields, &pairs);
        snprintf(cur, sizeof(cur), "%llu", c);
        ++*calls;
        cr_assert_lt(*calls, 100000);
    } while (strcmp(cur, "0") != 0);
}

Test(hash, hscan_of_a_large_hashtable_returns_every_field)
{
    const int n = 5000;
    for (int i = 0; i < n; i += 500)
        hset_n("h", i, 500, 3);
    cr_assert_eq(enc_of("h"), ENC_HT);
    int *seen = calloc(n, sizeof(int));
    int calls;
    scan_all(n, "10", seen, &calls);
    for (int i = 0; i < n; i++)
        cr_assert_geq(seen[i], 1, "field f%d never returned", i);
    cr_assert_gt(calls, 100, "COUNT 10 must take many calls (took %d)", calls);

    /* Deleting fields between calls: every field present all along is
     * still returned (the table shrinks while scanning). */
    memset(seen, 0, n * sizeof(int));
    char cur[32] = "0";
    int pairs = 0, round = 0;
    do {
        const char *r = RUN(cmd_hscan, "HSCAN", "h", cur, "COUNT", "50");
        unsigned long long c = parse_scan(r, seen, n, &pairs);
        snprintf(cur, sizeof(cur), "%llu", c);
        /* delete the fields numbered >= 1000 progressively */
        for (int k = 0; k < 100; k++) {
            int id = 1000 + round * 100 + k;
            if (id < n) {
                char f[16];
                snprintf(f, sizeof(f), "f%d", id);
                RUN(cmd_hdel, "HDEL", "h", f);
            }
        }
        round++;
    } while (strcmp(cur, "0") != 0);
    for (int i = 0; i < 1000; i++)
        cr_assert_geq(seen[i], 1, "field f%d lost during shrink", i);
    free(seen);
}

Test(hash, hscan_listpack_returns_everything_at_once_with_match)
{
    hset_n("h", 0, 20, 2);
    EXPECT("*2\r\n$1\r\n0\r\n*4\r\n$2\r\nf3\r\n$2\r\nv3\r\n$3\r\nf13\r\n$3\r\nv13\r\n", cmd_hscan,
           "HSCAN", "h", "99", "MATCH", "*3", "COUNT", "1");
    EXPECT("-ERR syntax error\r\n", cmd_hscan, "HSCAN", "h", "0", "COUNT", "0");
}

/* ---- obj_ops ---- */

Test(hash, dup_is_deep_and_mem_counts_both_encodings)
{
    for (int pass = 0; pass < 2; pass++) {
        store_limits.hash_max_listpack_entries = pass ? 0 : 512;
        hset_n("h", 0, 50, 60);
        struct entry *e = find("h");
        int enc = entry_enc(e);
        cr_assert_eq(enc, pass ? ENC_HT : ENC_LISTPACK);
        void *obj = entry_get_ptr(e);
        size_t mem = hash_ops.mem(obj, enc);
        cr_assert_gt(mem, 50 * 60, "mem %zu", mem);
        if (pass)
            cr_assert_gt(mem, 50 * 70, "hashtable pays per field (%zu)", mem);
        void *copy = hash_ops.dup(obj, enc);
        struct entry *ce = entry_new_ptr("c", 1, OBJ_HASH, enc, copy, -1);
        db_set(s, &s->db[0], ce);
        RUN(cmd_hset, "HSET", "h", "f1", "changed");
        char want[80] = "$60\r\nv1";
        memset(want + 7, 'x', 58);
        strcpy(want + 65, "\r\n");
        EXPECT(want, cmd_hget, "HGET", "c", "f1");
        EXPECT(":50\r\n", cmd_hlen, "HLEN", "c");
        RUN(cmd_del, "DEL", "h", "c");
        cr_assert_null(find("c"));
        hash_ops.free(NULL, enc); /* a detached value is a no-op */
    }
}

/* ---- random operations against a model ---- */

#define NF 40

struct model {
    bool has[NF];
    char val[NF][80];
};

static void model_check(struct model *m)
{
    int n = 0;
    char f[8];
    for (int i = 0; i < NF; i++) {
        snprintf(f, sizeof(f), "f%d", i);
        const char *r = RUN(cmd_hget, "HGET", "h", f);
        if (!m->has[i]) {
            cr_assert_str_eq(r, NIL);
            continue;
        }
        n++;
        char want[128];
        snprintf(want, sizeof(want), "$%zu\r\n%s\r\n", strlen(m->val[i]), m->val[i]);
        cr_assert_str_eq(r, want);
    }
    char want[32];
    snprintf(want, sizeof(want), ":%d\r\n", n);
    EXPECT(want, cmd_hlen, "HLEN", "h");
    if (n == 0)
        cr_assert_null(find("h"));
    else if (find("h")) {
        struct entry *e = find("h");
        if (entry_enc(e) == ENC_LISTPACK) {
            unsigned char *lp = entry_get_ptr(e);
            cr_assert(lp_validate(lp, lp_bytes(lp), NULL, NULL));
        }
    }
}

static void random_ops(unsigned seed)
{
    struct model m;
    memset(&m, 0, sizeof(m));
    srand(seed);
    char f[8], v[80];
    for (int op = 0; op < 3000; op++) {
        int i = rand() % NF;
        snprintf(f, sizeof(f), "f%d", i);
        switch (rand() % 6) {
        case 0:
        case 1: {
            int kind = rand() % 3;
            if (kind == 0)
                snprintf(v, sizeof(v), "%d", rand() % 20000 - 10000);
            else if (kind == 1)
                snprintf(v, sizeof(v), "s%d", rand());
            else {
                int len = rand() % 70;
                memset(v, 'a' + rand() % 26, (size_t)len);
                v[len] = '\0';
            }
            RUN(cmd_hset, "HSET", "h", f, v);
            m.has[i] = true;
            strcpy(m.val[i], v);
            break;
        }
        case 2:
            RUN(cmd_hdel, "HDEL", "h", f);
            m.has[i] = false;
            break;
        case 3: {
            const char *r = RUN(cmd_hincrby, "HINCRBY", "h", f, "7");
            long long cur = 0;
            if (m.has[i] && !str_to_ll(m.val[i], strlen(m.val[i]), &cur)) {
                cr_assert_str_eq(r, "-ERR hash value is not an integer\r\n");
                break;
            }
            snprintf(m.val[i], sizeof(m.val[i]), "%lld", cur + 7);
            m.has[i] = true;
            break;
        }
        case 4: {
            const char *r = RUN(cmd_hsetnx, "HSETNX", "h", f, "nx");
            cr_assert_str_eq(r, m.has[i] ? ":0\r\n" : ":1\r\n");
            if (!m.has[i]) {
                m.has[i] = true;
                strcpy(m.val[i], "nx");
            }
            break;
        }
        default:
            RUN(cmd_hexists, "HEXISTS", "h", f);
            break;
        }
        if (op % 100 == 0)
            model_check(&m);
    }
    model_check(&m);
}

Test(hash, random_operations_match_a_model_as_listpack)
{
    store_limits.hash_max_listpack_value = 100;
    random_ops(1);
}

Test(hash, random_operations_match_a_model_as_hashtable)
{
    store_limits.hash_max_listpack_entries = 0;
    random_ops(2);
}

Test(hash, random_operations_match_a_model_across_conversions)
{
    store_limits.hash_max_listpack_entries = 20;
    store_limits.hash_max_listpack_value = 40;
    random_ops(3);
}

/* ---- the value object API for loaders (t_hash.h) ---- */

#include "t_hash.h"

static void count_pair(void *arg, const char *f, size_t fl, const char *v, size_t vl)
{
    (void)f;
    (void)fl;
    (void)v;
    (void)vl;
    (*(int *)arg)++;
}

Test(hash, listpack_validation_for_loaders)
{
    unsigned char *lp = lp_new(0);
    lp = lp_append(lp, "a", 1);
    lp = lp_append(lp, "1", 1);
    lp = lp_append(lp, "12", 2);
    lp = lp_append(lp, "x", 1);
    cr_assert(hash_listpack_valid(lp, lp_bytes(lp)));
    cr_assert(!hash_listpack_valid(lp, lp_bytes(lp) - 1));
    lp = lp_append(lp, "12", 2); /* odd count */
    cr_assert(!hash_listpack_valid(lp, lp_bytes(lp)));
    lp = lp_append(lp, "y", 1); /* field 12 twice */
    cr_assert(!hash_listpack_valid(lp, lp_bytes(lp)));
    lp_free(lp);

    /* Values may repeat and may equal fields. */
    lp = lp_new(0);
    for (int i = 0; i < 300; i++) {
        char f[16];
        int n = snprintf(f, sizeof(f), "%d", i);
        lp = lp_append(lp, f, (size_t)n);
        lp = lp_append(lp, "0", 1);
    }
    cr_assert(hash_listpack_valid(lp, lp_bytes(lp)));
    struct hash_build b;
    store_limits.hash_max_listpack_entries = 299;
    hash_build_adopt_listpack(&b, lp, 7);
    cr_assert_eq(b.enc, ENC_HT);
    cr_assert_eq(hash_obj_len(b.obj, b.enc), 300);
    int n = 0;
    hash_obj_foreach(b.obj, b.enc, count_pair, &n);
    cr_assert_eq(n, 300);
    hash_ops.free(b.obj, b.enc);
}

Test(hash, builder_follows_the_thresholds_and_refuses_duplicates)
{
    struct hash_build b;
    store_limits.hash_max_listpack_entries = 3;
    hash_build_init(&b, 1, 4);
    cr_assert_eq(b.enc, ENC_HT);
    hash_ops.free(b.obj, b.enc);

    hash_build_init(&b, 1, 3);
    cr_assert_eq(b.enc, ENC_LISTPACK);
    cr_assert(hash_build_add(&b, "a", 1, "1", 1));
    cr_assert(!hash_build_add(&b, "a", 1, "2", 1));
    cr_assert(hash_build_add(&b, "b", 1, "2", 1));
    cr_assert(hash_build_add(&b, "c", 1, "3", 1));
    cr_assert_eq(b.enc, ENC_LISTPACK);
    cr_assert(hash_build_add(&b, "d", 1, "4", 1));
    cr_assert_eq(b.enc, ENC_HT);
    cr_assert(!hash_build_add(&b, "d", 1, "4", 1));
    cr_assert_eq(hash_obj_len(b.obj, b.enc), 4);
    hash_ops.free(b.obj, b.enc);

    restore_limits();
    store_limits.hash_max_listpack_value = 2;
    hash_build_init(&b, 1, 2);
    cr_assert(hash_build_add(&b, "a", 1, "long", 4));
    cr_assert_eq(b.enc, ENC_HT);
    hash_ops.free(b.obj, b.enc);
}

static int sum_mem(void *arg, struct entry *e)
{
    *(size_t *)arg += entry_mem(e);
    return 0;
}

Test(hash, mem_of_a_large_hashtable_is_estimated_closely)
{
    for (int i = 0; i < 4000; i += 500)
        hset_n("h", i, 500, 20);
    struct entry *e = find("h");
    cr_assert_eq(entry_enc(e), ENC_HT);
    struct dict *d = entry_get_ptr(e);
    size_t exact = 0;
    dict_foreach(d, sum_mem, &exact);
    size_t est = hash_ops.mem(d, ENC_HT);
    cr_assert_gt(est, exact, "table arrays are counted on top");
    cr_assert_lt(est, exact + exact / 5 + 4000 * 16, "estimate %zu vs fields %zu", est, exact);
}
