/* Unit tests for expiry and iteration in the store: lazy expiry as the
 * commands see it (GET, EXISTS, KEYS, SCAN, TTL, TYPE), the active expiry
 * cycle (db_active_expire), SCAN's guarantee that a full iteration returns
 * every key present throughout while the table grows, shrinks and rehashes
 * between calls, and the glob matcher (store_match) with Redis's rules.
 *
 * The shard clock starts at T0 and only moves when a test advances it.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <time.h>

#include "harness.h"

TestSuite(expire, .init = harness_setup, .fini = harness_teardown);
TestSuite(scan, .init = harness_setup, .fini = harness_teardown);
TestSuite(match);

static void put_in(int db, const char *k, int64_t expire)
{
    db_set(s, &s->db[db], entry_new_string(k, strlen(k), "v", 1, expire, STR_SET));
}

static void putf(int db, int64_t expire, const char *fmt, int i)
{
    char k[32];
    snprintf(k, sizeof(k), fmt, i);
    put_in(db, k, expire);
}

static bool live(int db, const char *fmt, int i)
{
    char k[32];
    snprintf(k, sizeof(k), fmt, i);
    return db_lookup(s, &s->db[db], k, strlen(k), LOOKUP_NOTOUCH | LOOKUP_NOSTATS, NULL) != NULL;
}

static int count_volatile(void *arg, struct entry *e)
{
    if (e->flags & ENTRY_EXPIRE)
        ++*(uint64_t *)arg;
    return 0;
}

static void assert_volatile_consistent(int db)
{
    uint64_t n = 0;
    dict_foreach(&s->db[db].keys, count_volatile, &n);
    cr_assert_eq(s->db[db].volatile_keys, n, "db %d: volatile_keys %llu, entries with TTL %llu", db,
                 (unsigned long long)s->db[db].volatile_keys, (unsigned long long)n);
}

static void advance(int64_t ms)
{
    shard_tick(s, s->now_ms + ms);
}

/* ============================================================ lazy expiry */

Test(expire, an_expired_key_is_invisible_to_every_read)
{
    put_in(0, "k", T0 + 100);
    put_in(0, "stay", -1);
    EXPECT("$1\r\nv\r\n", cmd_get, "GET", "k");
    advance(101);
    EXPECT("$-1\r\n", cmd_get, "GET", "k");
    put_in(0, "k", T0 + 100); /* expired again on insertion */
    EXPECT(":0\r\n", cmd_exists, "EXISTS", "k");
    put_in(0, "k", T0 + 100);
    EXPECT("*1\r\n$4\r\nstay\r\n", cmd_keys, "KEYS", "*");
    EXPECT("*0\r\n", cmd_keys, "KEYS", "k");
    EXPECT("*2\r\n$1\r\n0\r\n*1\r\n$4\r\nstay\r\n", cmd_scan, "SCAN", "0");
    put_in(0, "k", T0 + 100);
    EXPECT(":-2\r\n", cmd_ttl, "TTL", "k");
    put_in(0, "k", T0 + 100);
    EXPECT(":-2\r\n", cmd_pttl, "PTTL", "k");
    put_in(0, "k", T0 + 100);
    EXPECT("+none\r\n", cmd_type, "TYPE", "k");
    put_in(0, "k", T0 + 100);
    EXPECT("$-1\r\n", cmd_object, "OBJECT", "ENCODING", "k");
}

Test(expire, a_key_lives_through_its_expiry_millisecond_and_is_gone_one_later)
{
    put_in(0, "k", T0 + 1000);
    advance(1000);
    EXPECT("$1\r\nv\r\n", cmd_get, "GET", "k");
    EXPECT(":0\r\n", cmd_pttl, "PTTL", "k");
    advance(1);
    EXPECT("$-1\r\n", cmd_get, "GET", "k");
}

Test(expire, lazy_expiry_deletes_the_key_and_keeps_the_counters_in_step)
{
    for (int i = 0; i < 100; i++)
        putf(0, T0 + 10, "e%d", i);
    for (int i = 0; i < 100; i++)
        putf(0, T0 + 100000, "f%d", i);
    advance(11);
    cr_assert_eq(db_size(&s->db[0]), 200);
    for (int i = 0; i < 100; i += 2) {
        char k[16];
        snprintf(k, sizeof(k), "e%d", i);
        cr_assert_str_eq(RUN(cmd_exists, "EXISTS", k), ":0\r\n");
    }
    cr_assert_eq(db_size(&s->db[0]), 150);
    cr_assert_eq(s->db[0].volatile_keys, 150);
    cr_assert_eq(s->stats.expired_keys, 50);
    assert_volatile_consistent(0);
    EXPECT(":1\r\n", cmd_exists, "EXISTS", "f7");
}

Test(expire, a_key_set_with_a_ttl_expires_after_the_clock_passes_it)
{
    put_in(0, "k", -1);
    EXPECT(":1\r\n", cmd_pexpire, "PEXPIRE", "k", "250");
    advance(200);
    EXPECT(":50\r\n", cmd_pttl, "PTTL", "k");
    advance(51);
    EXPECT(":0\r\n", cmd_exists, "EXISTS", "k");
    cr_assert_eq(s->db[0].volatile_keys, 0);
}

Test(expire, keys_in_other_databases_expire_independently)
{
    put_in(2, "k", T0 + 10);
    put_in(0, "k", -1);
    advance(11);
    harness_db = 2;
    EXPECT(":0\r\n", cmd_exists, "EXISTS", "k");
    harness_db = 0;
    EXPECT(":1\r\n", cmd_exists, "EXISTS", "k");
}

/* =========================================================== active expiry */

Test(expire, active_expiry_reclaims_100k_expired_keys_and_leaves_the_rest)
{
    const int nexp = 100000, nkeep = 1000;
    for (int i = 0; i < nexp; i++)
        putf(0, T0 + 1 + i % 1000, "e%d", i);
    for (int i = 0; i < nkeep; i++)
        putf(0, -1, "p%d", i);
    for (int i = 0; i < nkeep; i++)
        putf(0, T0 + 3600000, "f%d", i);
    cr_assert_eq(s->db[0].volatile_keys, (uint64_t)(nexp + nkeep));
    advance(2000);

    int calls = 0;
    uint64_t removed = 0;
    while (s->db[0].volatile_keys > (uint64_t)nkeep) {
        removed += db_active_expire(s, 1000);
        cr_assert_lt(++calls, 200000, "active expiry made no progress");
    }
    cr_assert_eq(removed, (uint64_t)nexp);
    cr_assert_eq(s->stats.expired_keys, (uint64_t)nexp);
    cr_assert_eq(db_size(&s->db[0]), (uint64_t)(2 * nkeep));
    assert_volatile_consistent(0);
    for (int i = 0; i < nkeep; i++) {
        cr_assert(live(0, "p%d", i), "persistent key p%d removed", i);
        cr_assert(live(0, "f%d", i), "future key f%d removed", i);
    }
    /* Nothing more to do. */
    cr_assert_eq(db_active_expire(s, 1000), 0);
}

Test(expire, active_expiry_does_a_bounded_amount_of_work_per_call)
{
    for (int i = 0; i < 100000; i++)
        putf(0, T0 + 1, "e%d", i);
    advance(10);
    uint64_t removed = db_active_expire(s, 0);
    cr_assert_gt(removed, 0);
    cr_assert_lt(removed, 100000, "a zero budget still reclaimed everything");
    assert_volatile_consistent(0);
}

Test(expire, active_expiry_reclaims_keys_in_every_database)
{
    for (int db = 0; db < 16; db += 3)
        for (int i = 0; i < 500; i++)
            putf(db, T0 + 1, "e%d", i);
    put_in(9, "keep", -1);
    advance(10);
    for (int calls = 0; calls < 10000; calls++)
        if (db_active_expire(s, 1000) == 0 && calls > 10)
            break;
    for (int db = 0; db < 16; db++) {
        cr_assert_eq(s->db[db].volatile_keys, 0, "db %d", db);
        assert_volatile_consistent(db);
    }
    cr_assert_eq(db_size(&s->db[9]), 1);
    cr_assert_eq(db_size(&s->db[0]), 0);
}

Test(expire, active_expiry_ignores_keys_whose_time_has_not_come)
{
    for (int i = 0; i < 1000; i++)
        putf(0, T0 + 50000, "f%d", i);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(db_active_expire(s, 1000), 0);
    cr_assert_eq(db_size(&s->db[0]), 1000);
    advance(50001);
    int calls = 0;
    while (s->db[0].volatile_keys) {
        db_active_expire(s, 1000);
        cr_assert_lt(++calls, 10000);
    }
    cr_assert_eq(db_size(&s->db[0]), 0);
}

/* =============================================================== SCAN */

/* One full SCAN iteration with COUNT count. Before each call after the
 * first, step(i) may change the table. Marks seen[i] for every key "k<i>"
 * returned; also reports whether the table was ever mid-rehash between
 * calls, and whether a shrinking rehash was observed. */
struct scan_run {
    bool *seen;
    int nseen;
    bool saw_rehash, saw_shrink;
};

static void scan_all(struct scan_run *r, int nkeys, const char *count, void (*step)(int))
{
    char cursor[32] = "0";
    int calls = 0;
    r->seen = calloc((size_t)nkeys, 1);
    r->nseen = 0;
    do {
        if (calls && step)
            step(calls);
        struct dict *d = &s->db[0].keys;
        if (d->rehashidx >= 0) {
            r->saw_rehash = true;
            if (d->size[1] < d->size[0])
                r->saw_shrink = true;
        }
        const char *p = run(s, cmd_scan, 4, "SCAN", cursor, "COUNT", count);
        cr_assert(strncmp(p, "*2\r\n$", 5) == 0);
        long n = strtol(p + 5, (char **)&p, 10);
        p += 2;
        memcpy(cursor, p, (size_t)n);
        cursor[n] = '\0';
        p += n + 2;
        cr_assert_eq(*p, '*');
        long nk = strtol(p + 1, (char **)&p, 10);
        p += 2;
        for (long i = 0; i < nk; i++) {
            long kl = strtol(p + 1, (char **)&p, 10);
            p += 2;
            int idx;
            char k[64];
            cr_assert_lt(kl, (long)sizeof(k));
            memcpy(k, p, (size_t)kl);
            k[kl] = '\0';
            if (sscanf(k, "k%d", &idx) == 1 && idx >= 0 && idx < nkeys && !r->seen[idx]) {
                r->seen[idx] = true;
                r->nseen++;
            }
            p += kl + 2;
        }
        cr_assert_lt(++calls, 10000000);
    } while (strcmp(cursor, "0") != 0);
}

static int grow_next;

static void grow_step(int call)
{
    (void)call;
    for (int i = 0; i < 50 && grow_next < 30000; i++)
        putf(0, -1, "n%d", grow_next++);
}

Test(scan, a_full_iteration_returns_every_key_while_the_table_grows)
{
    const int n = 1000;
    for (int i = 0; i < n; i++)
        putf(0, -1, "k%d", i);
    struct scan_run r = {0};
    grow_next = 0;
    scan_all(&r, n, "5", grow_step);
    cr_assert_eq(r.nseen, n, "only %d of %d keys returned", r.nseen, n);
    cr_assert(r.saw_rehash, "the table never rehashed during the scan");
    cr_assert_gt(grow_next, 4 * n, "the table did not grow much");
    free(r.seen);
}

static int shrink_next, shrink_total;

static void shrink_step(int call)
{
    (void)call;
    struct dict *d = &s->db[0].keys;
    for (int i = 0; i < 400 && shrink_next < shrink_total; i++) {
        char k[32];
        snprintf(k, sizeof(k), "x%d", shrink_next++);
        db_delete(s, &s->db[0], k, strlen(k));
    }
    dict_resize_if_needed(d);
    dict_rehash(d, 2);
}

Test(scan, a_full_iteration_returns_every_key_while_the_table_shrinks)
{
    const int n = 1000;
    shrink_total = 40000;
    shrink_next = 0;
    for (int i = 0; i < shrink_total; i++)
        putf(0, -1, "x%d", i);
    for (int i = 0; i < n; i++)
        putf(0, -1, "k%d", i);
    struct dict *d = &s->db[0].keys;
    while (dict_rehash(d, 1000))
        ;
    struct scan_run r = {0};
    scan_all(&r, n, "20", shrink_step);
    cr_assert_eq(r.nseen, n, "only %d of %d keys returned", r.nseen, n);
    cr_assert(r.saw_shrink, "the table never shrank during the scan");
    free(r.seen);
}

static unsigned rng = 12345;

static unsigned next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

static int churn_next;

/* Add or remove a burst of other keys, and sometimes start a resize. */
static void churn_step(int call)
{
    (void)call;
    struct dict *d = &s->db[0].keys;
    unsigned r = next_rand() % 3;
    if (r == 0) {
        int burst = (int)(next_rand() % 3000);
        for (int i = 0; i < burst; i++)
            putf(0, -1, "c%d", churn_next++);
    } else if (r == 1) {
        int burst = (int)(next_rand() % 3000);
        for (int i = 0; i < burst && churn_next > 0; i++) {
            char k[32];
            snprintf(k, sizeof(k), "c%d", --churn_next);
            db_delete(s, &s->db[0], k, strlen(k));
        }
    }
    dict_resize_if_needed(d);
    dict_rehash(d, (int)(next_rand() % 4));
}

Test(scan, a_full_iteration_returns_every_key_under_random_growth_and_shrinking)
{
    const int n = 2000;
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < n; i++)
            putf(0, -1, "k%d", i);
        churn_next = 0;
        struct scan_run r = {0};
        scan_all(&r, n, round % 2 ? "3" : "17", churn_step);
        cr_assert_eq(r.nseen, n, "round %d: only %d of %d keys returned", round, r.nseen, n);
        free(r.seen);
        db_flush(s, &s->db[0]);
    }
}

Test(scan, keys_with_a_ttl_present_throughout_are_all_returned)
{
    for (int i = 0; i < 500; i++)
        putf(0, T0 + 100000, "k%d", i);
    for (int i = 0; i < 500; i++)
        putf(0, T0 + 5, "gone%d", i);
    advance(10);
    struct scan_run r = {0};
    scan_all(&r, 500, "10", NULL);
    cr_assert_eq(r.nseen, 500);
    cr_assert_eq(db_size(&s->db[0]), 500, "expired keys visited were not reclaimed");
    assert_volatile_consistent(0);
    free(r.seen);
}

/* ============================================================== glob */

static bool m(const char *pat, const char *str)
{
    return store_match(pat, strlen(pat), str, strlen(str), false);
}

static bool mi(const char *pat, const char *str)
{
    return store_match(pat, strlen(pat), str, strlen(str), true);
}

Test(match, star_matches_any_run_of_bytes)
{
    cr_assert(m("*", "anything"));
    cr_assert(m("a*", "a"));
    cr_assert(m("a*", "abc"));
    cr_assert(m("*c", "abc"));
    cr_assert(m("a*c", "abbbc"));
    cr_assert(m("a*b*c", "aXbYc"));
    cr_assert(m("***", "x"));
    cr_assert(!m("a*", "ba"));
    cr_assert(!m("*a", "ab"));
    cr_assert(m("user:*:name", "user:1:name"));
    cr_assert(!m("user:*:name", "user:1:age"));
}

Test(match, question_mark_matches_exactly_one_byte)
{
    cr_assert(m("?", "a"));
    cr_assert(!m("?", ""));
    cr_assert(!m("?", "ab"));
    cr_assert(m("a?c", "abc"));
    cr_assert(m("??", "\xff\x01"));
}

Test(match, classes_match_listed_bytes_ranges_and_negations)
{
    cr_assert(m("[abc]", "b"));
    cr_assert(!m("[abc]", "d"));
    cr_assert(m("[^a]", "b"));
    cr_assert(!m("[^a]", "a"));
    cr_assert(m("[a-z]", "q"));
    cr_assert(!m("[a-z]", "Q"));
    cr_assert(m("[z-a]", "q"), "a reversed range is swapped");
    cr_assert(m("a[0-9]b", "a5b"));
    cr_assert(m("[a-cx]", "x"));
    cr_assert(!m("[^a-c]", "b"));
    cr_assert(m("[\\]]", "]"), "an escaped ] is a member");
    cr_assert(m("[\\-]", "-"));
    cr_assert(m("[]", "]") == false);
}

Test(match, unterminated_classes_end_at_the_pattern_end_as_in_redis)
{
    cr_assert(m("[abc", "a"));
    cr_assert(!m("[abc", "d"));
    cr_assert(m("[a-", "a"), "Redis reads [a- as the single member a then '-'");
    /* "[a-]" is the range ']'..'a' (swapped) with no closing bracket. */
    cr_assert(m("[a-]", "_"));
    cr_assert(m("[a-]", "]"));
    cr_assert(!m("[a-]", "b"));
    cr_assert(m("[^", "x"));
}

Test(match, backslash_escapes_the_next_byte)
{
    cr_assert(m("a\\*", "a*"));
    cr_assert(!m("a\\*", "ab"));
    cr_assert(m("a\\?", "a?"));
    cr_assert(!m("a\\?", "ab"));
    cr_assert(m("a\\[", "a["));
    cr_assert(m("\\\\", "\\"));
    cr_assert(m("a\\", "a\\"), "a trailing backslash is literal");
    cr_assert(m("\\a", "a"));
}

Test(match, nocase_folds_ascii_case)
{
    cr_assert(mi("HeLLo", "hello"));
    cr_assert(mi("h*O", "HELLO"));
    cr_assert(mi("[A-Z]", "q"));
    cr_assert(mi("[abc]", "B"));
    cr_assert(!m("HeLLo", "hello"));
}

Test(match, binary_bytes_and_nuls_are_ordinary_bytes)
{
    cr_assert(store_match("k\0*", 3, "k\0abc", 5, false));
    cr_assert(!store_match("k\0*", 3, "kxabc", 5, false));
    cr_assert(store_match("?", 1, "\0", 1, false));
    cr_assert(store_match("", 0, "", 0, false));
    cr_assert(!store_match("", 0, "a", 1, false));
}

Test(match, an_empty_string_is_matched_only_by_the_empty_pattern_as_in_redis)
{
    /* Redis's stringmatchlen never enters its loop for an empty string, so
     * "*" and "**" do not match it (KEYS * and SCAN MATCH * still list the
     * empty key: they do not call the matcher). */
    cr_assert(!store_match("**", 2, "", 0, false));
    cr_assert(!store_match("*", 1, "", 0, false));
    cr_assert(store_match("", 0, "", 0, false));
}

Test(match, ranges_compare_signed_bytes_and_escapes_compare_exactly)
{
    /* Redis compares range ends as signed chars: [a-\xff] covers 0xff..'a'. */
    cr_assert(store_match("[a-\xff]", 5, "\xff", 1, false));
    cr_assert(store_match("[a-\xff]", 5, "A", 1, false));
    cr_assert(!store_match("[a-\xff]", 5, "b", 1, false));
    /* An escaped byte in a class is not case-folded under nocase. */
    cr_assert(!store_match("[\\A]", 4, "a", 1, true));
    cr_assert(store_match("[\\A]", 4, "A", 1, true));
}

Test(match, many_stars_against_a_long_string_run_in_polynomial_time)
{
    static char str[20001];
    memset(str, 'a', 20000);
    char pat[512] = "";
    for (int i = 0; i < 100; i++)
        strcat(pat, "a*");
    strcat(pat, "b");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert(!m(pat, str));
    cr_assert(!m("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b",
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    pat[strlen(pat) - 1] = 'a';
    cr_assert(m(pat, str));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_assert_lt(secs, 1.0, "pathological pattern took %.3f s", secs);
}
