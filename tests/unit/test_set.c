/* Unit tests of store/intset.c and store/t_set.c: the intset's exact bytes
 * and width upgrades, binary search, ordered insert/remove and random
 * operations against a model; the set commands against one shard with the
 * intset -> hashtable conversion at the exact thresholds, the value
 * object's dup/mem, and random SADD/SREM/SPOP against a model in both
 * encodings. Expected replies are what redis-server 7.0.15 sends. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "harness.h"
#include "intset.h"
#include "t_set.h"

static void restore_limits(void) { store_limits.set_max_intset_entries = 512; }

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

TestSuite(intset);
TestSuite(set, .init = setup, .fini = teardown);

static struct entry *find(const char *k)
{
    return db_lookup(s, &s->db[0], k, strlen(k), LOOKUP_NOTOUCH | LOOKUP_NOSTATS, NULL);
}

/* ---- intset ---- */

Test(intset, starts_16_bit_with_redis_header_bytes)
{
    struct intset *is = intset_new();
    is = intset_add(is, 5, NULL);
    is = intset_add(is, -2, NULL);
    static const unsigned char want[] = {2, 0, 0, 0, 2, 0, 0, 0, 0xfe, 0xff, 5, 0};
    cr_assert_eq(intset_blob_len(is), sizeof(want));
    cr_assert(memcmp(is, want, sizeof(want)) == 0);
    cr_assert(intset_validate(is, intset_blob_len(is)));
    free(is);
}

Test(intset, upgrades_to_32_and_64_bits_keeping_order)
{
    struct intset *is = intset_new();
    is = intset_add(is, 1, NULL);
    is = intset_add(is, 32767, NULL);
    cr_assert_eq(intset_width(is), 2);
    is = intset_add(is, 32768, NULL);
    cr_assert_eq(intset_width(is), 4);
    is = intset_add(is, -2147483648LL, NULL);
    cr_assert_eq(intset_width(is), 4);
    is = intset_add(is, -2147483649LL, NULL); /* negative: goes first */
    cr_assert_eq(intset_width(is), 8);
    is = intset_add(is, INT64_MAX, NULL);
    int64_t want[] = {-2147483649LL, -2147483648LL, 1, 32767, 32768, INT64_MAX};
    cr_assert_eq(intset_len(is), 6);
    for (uint32_t i = 0; i < 6; i++)
        cr_assert_eq(intset_get(is, i), want[i]);
    cr_assert_eq(intset_blob_len(is), 8 + 6 * 8);
    /* Removing the wide values never narrows it. */
    is = intset_remove(is, -2147483649LL, NULL);
    is = intset_remove(is, INT64_MAX, NULL);
    cr_assert_eq(intset_width(is), 8);
    cr_assert(intset_find(is, 32768));
    cr_assert(intset_validate(is, intset_blob_len(is)));
    free(is);
}

Test(intset, upgrade_with_positive_value_appends)
{
    struct intset *is = intset_new();
    for (int v = -5; v <= 5; v++)
        is = intset_add(is, v, NULL);
    is = intset_add(is, 100000, NULL);
    cr_assert_eq(intset_get(is, 11), 100000);
    cr_assert_eq(intset_get(is, 0), -5);
    cr_assert_eq(intset_get(is, 10), 5);
    free(is);
}

Test(intset, find_rejects_values_wider_than_encoding)
{
    struct intset *is = intset_add(intset_new(), 7, NULL);
    cr_assert_not(intset_find(is, 7 + 65536));
    cr_assert_not(intset_find(is, INT64_MIN));
    bool removed = true;
    is = intset_remove(is, 5000000000LL, &removed);
    cr_assert_not(removed);
    cr_assert(intset_find(is, 7));
    free(is);
}

Test(intset, add_reports_duplicates_and_remove_absent)
{
    bool added, removed;
    struct intset *is = intset_new();
    is = intset_add(is, 3, &added);
    cr_assert(added);
    is = intset_add(is, 3, &added);
    cr_assert_not(added);
    is = intset_remove(is, 4, &removed);
    cr_assert_not(removed);
    is = intset_remove(is, 3, &removed);
    cr_assert(removed);
    cr_assert_eq(intset_len(is), 0);
    free(is);
}

Test(intset, validate_rejects_bad_blobs)
{
    unsigned char bad_width[] = {3, 0, 0, 0, 0, 0, 0, 0};
    unsigned char bad_len[] = {2, 0, 0, 0, 2, 0, 0, 0, 1, 0};
    unsigned char unsorted[] = {2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0};
    unsigned char dup[] = {2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 1, 0};
    cr_assert_not(intset_validate(bad_width, sizeof(bad_width)));
    cr_assert_not(intset_validate(bad_len, sizeof(bad_len)));
    cr_assert_not(intset_validate(unsorted, sizeof(unsorted)));
    cr_assert_not(intset_validate(dup, sizeof(dup)));
    cr_assert_not(intset_validate(bad_width, 4));
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Random adds and removes of values of every width against a sorted array
 * model: same members, same order, same width rule. */
Test(intset, random_ops_match_sorted_array_model)
{
    enum { N = 4000 };
    static int64_t model[N];
    size_t n = 0;
    struct intset *is = intset_new();
    srand(12345);
    for (int op = 0; op < 20000; op++) {
        int64_t v;
        int kind = rand() % 10;
        if (kind < 6)
            v = rand() % 200 - 100;
        else if (kind < 8)
            v = (int64_t)(rand() % 200000) - 100000;
        else
            v = (int64_t)((uint64_t)rand() << 33) * ((rand() & 1) ? 1 : -1);
        bool in = bsearch(&v, model, n, sizeof(*model), cmp64) != NULL;
        cr_assert_eq(intset_find(is, v), in);
        if (rand() % 3 && n < N) {
            bool added;
            is = intset_add(is, v, &added);
            cr_assert_eq(added, !in);
            if (!in) {
                model[n++] = v;
                qsort(model, n, sizeof(*model), cmp64);
            }
        } else {
            bool removed;
            is = intset_remove(is, v, &removed);
            cr_assert_eq(removed, in);
            if (in) {
                int64_t *p = bsearch(&v, model, n, sizeof(*model), cmp64);
                memmove(p, p + 1, (size_t)(model + n - p - 1) * sizeof(*model));
                n--;
            }
        }
    }
    cr_assert_eq(intset_len(is), n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(intset_get(is, (uint32_t)i), model[i]);
    cr_assert(intset_validate(is, intset_blob_len(is)));
    free(is);
}

Test(intset, random_returns_members)
{
    struct intset *is = intset_new();
    for (int i = 0; i < 10; i++)
        is = intset_add(is, i * 3, NULL);
    for (int i = 0; i < 100; i++)
        cr_assert(intset_find(is, intset_random(is)));
    free(is);
}

/* ---- set commands and conversions ---- */

Test(set, sadd_integers_makes_intset_and_smembers_sorted)
{
    EXPECT(":3\r\n", cmd_sadd, "SADD", "k", "3", "-1", "2");
    cr_assert_eq(entry_enc(find("k")), ENC_INTSET);
    EXPECT("*3\r\n$2\r\n-1\r\n$1\r\n2\r\n$1\r\n3\r\n", cmd_smembers, "SMEMBERS", "k");
}

Test(set, converts_at_exact_threshold)
{
    store_limits.set_max_intset_entries = 3;
    EXPECT(":3\r\n", cmd_sadd, "SADD", "k", "1", "2", "3");
    cr_assert_eq(entry_enc(find("k")), ENC_INTSET);
    EXPECT(":0\r\n", cmd_sadd, "SADD", "k", "3");
    cr_assert_eq(entry_enc(find("k")), ENC_INTSET);
    EXPECT(":1\r\n", cmd_sadd, "SADD", "k", "4");
    cr_assert_eq(entry_enc(find("k")), ENC_HT);
    EXPECT(":1\r\n", cmd_sismember, "SISMEMBER", "k", "4");
    EXPECT(":1\r\n", cmd_sismember, "SISMEMBER", "k", "1");
    EXPECT(":4\r\n", cmd_srem, "SREM", "k", "1", "2", "3", "4");
    cr_assert_null(find("k"));
}

Test(set, non_integer_converts_and_never_back)
{
    EXPECT(":2\r\n", cmd_sadd, "SADD", "k", "1", "x");
    cr_assert_eq(entry_enc(find("k")), ENC_HT);
    EXPECT(":1\r\n", cmd_srem, "SREM", "k", "x");
    cr_assert_eq(entry_enc(find("k")), ENC_HT);
    EXPECT(":1\r\n", cmd_scard, "SCARD", "k");
}

Test(set, non_canonical_integers_are_strings)
{
    const char *strs[] = {"01", "+1", "-0", " 1", "1 ", "9223372036854775808", ""};
    for (size_t i = 0; i < sizeof(strs) / sizeof(*strs); i++) {
        char key[8];
        snprintf(key, sizeof(key), "k%zu", i);
        EXPECT(":1\r\n", cmd_sadd, "SADD", key, strs[i]);
        cr_assert_eq(entry_enc(find(key)), ENC_HT, "%s", strs[i]);
    }
    EXPECT(":1\r\n", cmd_sadd, "SADD", "m", "-9223372036854775808");
    cr_assert_eq(entry_enc(find("m")), ENC_INTSET);
}

Test(set, store_result_starts_again_as_intset)
{
    store_limits.set_max_intset_entries = 2;
    RUN(cmd_sadd, "SADD", "a", "1", "2", "3");
    cr_assert_eq(entry_enc(find("a")), ENC_HT);
    RUN(cmd_sadd, "SADD", "b", "2", "3");
    EXPECT(":2\r\n", cmd_sinterstore, "SINTERSTORE", "d", "a", "b");
    cr_assert_eq(entry_enc(find("d")), ENC_INTSET);
    EXPECT(":3\r\n", cmd_sunionstore, "SUNIONSTORE", "d", "a", "b");
    cr_assert_eq(entry_enc(find("d")), ENC_HT);
}

Test(set, wrongtype_and_missing_keys)
{
    RUN(cmd_sadd, "SADD", "k", "a");
    struct entry *e = entry_new_string("str", 3, "v", 1, -1, STR_SET);
    db_set(s, &s->db[0], e);
    EXPECT("-" ERR_WRONGTYPE "\r\n", cmd_sadd, "SADD", "str", "a");
    EXPECT("-" ERR_WRONGTYPE "\r\n", cmd_sinter, "SINTER", "nokey", "str");
    EXPECT("*0\r\n", cmd_sinter, "SINTER", "nokey", "k");
    EXPECT(":0\r\n", cmd_smove, "SMOVE", "nokey", "str", "a");
    EXPECT("$-1\r\n", cmd_spop, "SPOP", "nokey");
}

Test(set, dup_and_mem_cover_both_encodings)
{
    RUN(cmd_sadd, "SADD", "i", "1", "2", "300000");
    RUN(cmd_sadd, "SADD", "h", "a", "b", "c");
    for (int k = 0; k < 2; k++) {
        struct entry *e = find(k ? "h" : "i");
        void *copy = set_ops.dup(entry_get_ptr(e), entry_enc(e));
        cr_assert(set_ops.mem(copy, entry_enc(e)) > 0);
        struct entry *ce = entry_new_ptr("c", 1, OBJ_SET, entry_enc(e), copy, -1);
        cr_assert_eq(set_length(ce), 3);
        cr_assert(set_contains(ce, k ? "b" : "300000", k ? 1 : 6));
        cr_assert_not(set_contains(ce, "zz", 2));
        entry_free(ce);
    }
}

static bool count_member(void *arg, const char *m, size_t n)
{
    (void)m;
    (void)n;
    (*(int *)arg)++;
    return true;
}

/* Random SADD/SREM/SPOP against a presence array, crossing the threshold
 * both ways (removals never convert back). */
Test(set, random_ops_match_model_in_both_encodings)
{
    enum { U = 300 };
    bool model[U] = {false};
    int n = 0;
    store_limits.set_max_intset_entries = 64;
    srand(777);
    for (int op = 0; op < 6000; op++) {
        int v = rand() % U;
        char buf[16];
        /* Members 250.. are strings, making the set a hashtable once one
         * arrives. */
        if (v >= 250)
            snprintf(buf, sizeof(buf), "s%d", v);
        else
            snprintf(buf, sizeof(buf), "%d", v - 125);
        int kind = rand() % 10;
        if (kind < 5) {
            RUN(cmd_sadd, "SADD", "k", buf);
            cr_assert_str_eq(harness_last, model[v] ? ":0\r\n" : ":1\r\n");
            n += !model[v];
            model[v] = true;
        } else if (kind < 9) {
            RUN(cmd_srem, "SREM", "k", buf);
            cr_assert_str_eq(harness_last, model[v] ? ":1\r\n" : ":0\r\n");
            n -= model[v];
            model[v] = false;
        } else {
            RUN(cmd_sismember, "SISMEMBER", "k", buf);
            cr_assert_str_eq(harness_last, model[v] ? ":1\r\n" : ":0\r\n");
        }
        struct entry *e = find("k");
        cr_assert_eq(e != NULL, n > 0);
        if (e) {
            cr_assert_eq(set_length(e), (unsigned long)n);
            int seen = 0;
            set_each(e, count_member, &seen);
            cr_assert_eq(seen, n);
            if (n > 64)
                cr_assert_eq(entry_enc(e), ENC_HT);
        }
    }
}

Test(set, spop_count_pops_distinct_members)
{
    for (int i = 0; i < 100; i++) {
        char b[8];
        snprintf(b, sizeof(b), "%d", i);
        RUN(cmd_sadd, "SADD", "k", b);
    }
    RUN(cmd_spop, "SPOP", "k", "90"); /* keeps 10 in a new set */
    cr_assert(strncmp(harness_last, "*90\r\n", 5) == 0);
    cr_assert_eq(set_length(find("k")), 10);
    cr_assert_eq(entry_enc(find("k")), ENC_INTSET);
    RUN(cmd_spop, "SPOP", "k", "3"); /* picks one by one */
    cr_assert_eq(set_length(find("k")), 7);
    RUN(cmd_spop, "SPOP", "k", "7");
    cr_assert_null(find("k"));
}

/* Count how often each "m<i>" member appears in the last RESP2 array
 * reply; returns the number of elements. */
static size_t tally(int *cnt, int n)
{
    const char *p = harness_last;
    size_t total = 0;
    memset(cnt, 0, (size_t)n * sizeof(*cnt));
    p = strchr(p, '\n') + 1; /* *<count> */
    while (*p == '$') {
        long len = strtol(p + 1, NULL, 10);
        p = strchr(p, '\n') + 1;
        int idx = atoi(p + 1);
        if (idx >= 0 && idx < n)
            cnt[idx]++;
        p += len + 2;
        total++;
    }
    return total;
}

static void fill_members(int n)
{
    for (int i = 0; i < n; i++) {
        char b[16];
        snprintf(b, sizeof(b), "m%d", i);
        RUN(cmd_sadd, "SADD", "k", b);
    }
}

/* Redis's "SRANDMEMBER histogram distribution" test: chi-square of 1000
 * draws over 10 members below 40 (df 9, p = 0.00001). */
Test(set, srandmember_is_fair_on_small_hashtables)
{
    int cnt[10];
    fill_members(10);
    for (int round = 0; round < 20; round++) {
        RUN(cmd_srandmember, "SRANDMEMBER", "k", "-1000");
        cr_assert_eq(tally(cnt, 10), 1000);
        double chi = 0;
        for (int i = 0; i < 10; i++)
            chi += (cnt[i] - 100.0) * (cnt[i] - 100.0) / 100.0;
        cr_assert_lt(chi, 40.0, "chi-square %f", chi);
    }
}

/* Every member of a larger hashtable can be drawn (consecutive random
 * numbers must not be correlated with the bucket picked). */
Test(set, srandmember_reaches_every_member)
{
    static int cnt[1000];
    fill_members(1000);
    RUN(cmd_srandmember, "SRANDMEMBER", "k", "-200000");
    cr_assert_eq(tally(cnt, 1000), 200000);
    for (int i = 0; i < 1000; i++)
        cr_assert_gt(cnt[i], 20, "member %d drawn %d times", i, cnt[i]);
}

Test(intset, validate_rejects_empty_as_redis)
{
    struct intset *is = intset_new();
    cr_assert_not(intset_validate(is, intset_blob_len(is)));
    free(is);
}

/* The loader's rules: announced length over the threshold gives a
 * hashtable even for integers; an intset converts at a string member;
 * duplicates are reported. */
Test(set, build_follows_redis_loader_rules)
{
    struct set_build b;
    store_limits.set_max_intset_entries = 3;
    set_build_init(&b, 1, 4);
    cr_assert_eq(b.enc, ENC_HT);
    cr_assert(set_build_add(&b, "1", 1));
    cr_assert_not(set_build_add(&b, "1", 1));
    set_ops.free(b.obj, b.enc);

    set_build_init(&b, 1, 3);
    cr_assert_eq(b.enc, ENC_INTSET);
    cr_assert(set_build_add(&b, "1", 1));
    cr_assert_not(set_build_add(&b, "1", 1));
    cr_assert(set_build_add(&b, "x", 1));
    cr_assert_eq(b.enc, ENC_HT);
    cr_assert_not(set_build_add(&b, "1", 1));
    struct entry *e = entry_new_ptr("k", 1, OBJ_SET, b.enc, b.obj, -1);
    cr_assert_eq(set_length(e), 2);
    entry_free(e);

    struct intset *is = intset_new();
    for (int i = 0; i < 4; i++)
        is = intset_add(is, i, NULL);
    set_build_adopt_intset(&b, is, 1);
    cr_assert_eq(b.enc, ENC_HT);
    set_ops.free(b.obj, b.enc);
    is = intset_add(intset_add(intset_new(), 5, NULL), 6, NULL);
    set_build_adopt_intset(&b, is, 1);
    cr_assert_eq(b.enc, ENC_INTSET);
    set_ops.free(b.obj, b.enc);
}
