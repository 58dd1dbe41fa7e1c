/* Unit tests for store/t_keys.c: every keyspace, expiry and OBJECT command
 * against one shard, checked byte for byte against the RESP that
 * redis-server 7.0.15 sends for the same input (error texts and edge-case
 * replies below were taken from it), plus what the commands leave in the
 * store: entries, TTLs, encodings and the db counters.
 *
 * Keys are created directly with db_set so these tests do not depend on
 * the string commands. The shard clock starts at T0 and only moves when a
 * test advances it, so expiry is deterministic.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>

#include "harness.h"

TestSuite(keys, .init = harness_setup, .fini = harness_teardown);

#define OK "+OK\r\n"
#define NIL "$-1\r\n"
#define ZERO ":0\r\n"
#define ONE ":1\r\n"
#define SYNTAX "-ERR syntax error\r\n"
#define NOT_INT "-ERR value is not an integer or out of range\r\n"
#define NO_KEY "-ERR no such key\r\n"
#define DB_INDEX "-ERR DB index is out of range\r\n"
#define SAME_OBJECT "-ERR source and destination objects are the same\r\n"
#define INT_RANGE "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
#define BAD_CURSOR "-ERR invalid cursor\r\n"
#define EMPTY_ARRAY "*0\r\n"

/* ---- building and inspecting the store directly ---- */

static void put_in(int db, const char *k, const char *v, int64_t expire)
{
    db_set(s, &s->db[db], entry_new_string(k, strlen(k), v, strlen(v), expire, STR_SET));
}

static void put(const char *k, const char *v)
{
    put_in(0, k, v, -1);
}

static void put_ttl(const char *k, const char *v, int64_t expire)
{
    put_in(0, k, v, expire);
}

static void put_raw(const char *k, const char *v)
{
    db_set(s, &s->db[0], entry_new_string(k, strlen(k), v, strlen(v), -1, STR_RAW));
}

/* A non-string key of the given type and encoding, made by its commands
 * (a value longer than 64 bytes takes the large encodings). */
static void put_obj(const char *k, int type, int enc)
{
    static const char big[] = "0123456789012345678901234567890123456789012345678901234567890123456789";
    switch (type) {
    case OBJ_HASH:
        RUN(cmd_hset, "HSET", k, "f", enc == ENC_HT ? big : "v");
        break;
    case OBJ_SET:
        RUN(cmd_sadd, "SADD", k, enc == ENC_INTSET ? "1" : "a");
        break;
    case OBJ_ZSET:
        RUN(cmd_zadd, "ZADD", k, "1", enc == ENC_SKIPLIST ? big : "m");
        break;
    default:
        RUN(cmd_rpush, "RPUSH", k, "a");
    }
    struct entry *e = db_lookup(s, &s->db[0], k, strlen(k), LOOKUP_NOTOUCH | LOOKUP_NOSTATS, NULL);
    cr_assert(e && entry_type(e) == type && entry_enc(e) == enc, "put_obj %s", k);
}

static struct entry *find_in(int db, const char *k)
{
    return db_lookup(s, &s->db[db], k, strlen(k), LOOKUP_NOTOUCH | LOOKUP_NOSTATS, NULL);
}

static struct entry *find(const char *k)
{
    return find_in(0, k);
}

/* The string value of a live key as a C string (static buffer). */
static const char *value_of_in(int db, const char *k)
{
    static char out[256];
    char buf[21];
    size_t len;
    struct entry *e = find_in(db, k);
    cr_assert_not_null(e, "key %s missing", k);
    const char *v = entry_str(e, &len, buf);
    cr_assert_lt(len, sizeof(out));
    memcpy(out, v, len);
    out[len] = '\0';
    return out;
}

static const char *value_of(const char *k)
{
    return value_of_in(0, k);
}

static int64_t expire_of_in(int db, const char *k)
{
    struct entry *e = find_in(db, k);
    cr_assert_not_null(e, "key %s missing", k);
    return entry_expire(e);
}

static int64_t expire_of(const char *k)
{
    return expire_of_in(0, k);
}

/* Number of entries of db that carry an expiry, counted by walking it. */
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
    cr_assert_eq(s->db[db].volatile_keys, n, "volatile_keys %llu, entries with TTL %llu",
                 (unsigned long long)s->db[db].volatile_keys, (unsigned long long)n);
}

static void advance(int64_t ms)
{
    shard_tick(s, s->now_ms + ms);
}

/* ---- reading array replies ---- */

/* Parse one bulk string at *p; returns its bytes (NUL-terminated copy). */
static char *parse_bulk(const char **p, size_t *len)
{
    cr_assert_eq(**p, '$', "expected a bulk at '%s'", *p);
    long n = strtol(*p + 1, (char **)p, 10);
    cr_assert(n >= 0);
    *p += 2;
    char *out = malloc((size_t)n + 1);
    memcpy(out, *p, (size_t)n);
    out[n] = '\0';
    *p += n + 2;
    if (len)
        *len = (size_t)n;
    return out;
}

/* Does a flat array reply (of bulks) contain key? */
static bool array_has(const char *reply, const char *key)
{
    const char *p = reply;
    cr_assert_eq(*p, '*');
    long n = strtol(p + 1, (char **)&p, 10);
    p += 2;
    bool found = false;
    for (long i = 0; i < n; i++) {
        char *k = parse_bulk(&p, NULL);
        if (strcmp(k, key) == 0)
            found = true;
        free(k);
    }
    return found;
}

static long array_len(const char *reply)
{
    cr_assert_eq(*reply, '*');
    return strtol(reply + 1, NULL, 10);
}

/* A SCAN reply: its cursor, and the keys in *keys (caller frees). */
struct scan_reply {
    unsigned long long cursor;
    long n;
    char **keys;
};

static struct scan_reply parse_scan(const char *reply)
{
    struct scan_reply r = {0};
    const char *p = reply;
    cr_assert(strncmp(p, "*2\r\n", 4) == 0, "not a SCAN reply: %s", reply);
    p += 4;
    char *cur = parse_bulk(&p, NULL);
    r.cursor = strtoull(cur, NULL, 10);
    free(cur);
    cr_assert_eq(*p, '*');
    r.n = strtol(p + 1, (char **)&p, 10);
    p += 2;
    r.keys = calloc((size_t)r.n + 1, sizeof(char *));
    for (long i = 0; i < r.n; i++)
        r.keys[i] = parse_bulk(&p, NULL);
    cr_assert_eq(*p, '\0', "trailing bytes after SCAN reply");
    return r;
}

static void free_scan(struct scan_reply *r)
{
    for (long i = 0; i < r->n; i++)
        free(r->keys[i]);
    free(r->keys);
}

static unsigned long long scan_cursor(const char *reply)
{
    struct scan_reply r = parse_scan(reply);
    free_scan(&r);
    return r.cursor;
}

/* Run a full SCAN iteration with extra options; returns how many distinct
 * of the keys k0..k(n-1) ("k%d") were returned, and counts all returned
 * keys in *total. */
static int scan_collect(int nkeys, const char *opt1, const char *opt2, long *total)
{
    bool *seen = calloc((size_t)nkeys, 1);
    char cursor[32] = "0";
    int distinct = 0, calls = 0;
    *total = 0;
    do {
        const char *reply = opt1 ? run(s, cmd_scan, 4, "SCAN", cursor, opt1, opt2)
                                 : run(s, cmd_scan, 2, "SCAN", cursor);
        struct scan_reply r = parse_scan(reply);
        for (long i = 0; i < r.n; i++) {
            int idx;
            if (sscanf(r.keys[i], "k%d", &idx) == 1 && idx >= 0 && idx < nkeys && !seen[idx]) {
                seen[idx] = true;
                distinct++;
            }
        }
        *total += r.n;
        snprintf(cursor, sizeof(cursor), "%llu", r.cursor);
        free_scan(&r);
        cr_assert_lt(++calls, 1000000, "SCAN did not terminate");
    } while (strcmp(cursor, "0") != 0);
    free(seen);
    return distinct;
}

static void put_many(int n)
{
    char k[32];
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        put(k, "v");
    }
}

/* ================================================================ DEL */

Test(keys, del_removes_existing_keys_and_counts_only_the_ones_it_removed)
{
    put("a", "1");
    put("b", "2");
    put_obj("c", OBJ_LIST, ENC_QUICKLIST);
    EXPECT(":3\r\n", cmd_del, "DEL", "a", "b", "c", "d", "a");
    cr_assert_eq(db_size(&s->db[0]), 0);
    EXPECT(ZERO, cmd_del, "DEL", "a");
}

Test(keys, del_of_an_expired_key_counts_it_as_missing_but_removes_it)
{
    put_ttl("a", "1", T0 + 10);
    advance(11);
    EXPECT(ZERO, cmd_del, "DEL", "a");
    cr_assert_eq(db_size(&s->db[0]), 0);
    cr_assert_eq(s->db[0].volatile_keys, 0);
}

Test(keys, del_accepts_binary_keys)
{
    db_set(s, &s->db[0], entry_new_string("a\0b", 3, "v", 1, -1, STR_SET));
    struct resp_arg argv[] = {{"DEL", 3}, {"a\0b", 3}, {"a", 1}};
    cr_assert_str_eq(runv(s, cmd_del, 3, argv), ONE);
    cr_assert_eq(db_size(&s->db[0]), 0);
}

Test(keys, del_keeps_the_volatile_key_counter_in_step)
{
    put_ttl("a", "1", T0 + 1000);
    put_ttl("b", "1", T0 + 1000);
    put("c", "1");
    EXPECT(":2\r\n", cmd_del, "DEL", "a", "c");
    cr_assert_eq(s->db[0].volatile_keys, 1);
    assert_volatile_consistent(0);
}

Test(keys, unlink_removes_keys_like_del)
{
    put("a", "1");
    put_raw("b", "a long raw value that lives outside the entry itself......");
    EXPECT(":2\r\n", cmd_unlink, "UNLINK", "a", "b", "c");
    cr_assert_eq(db_size(&s->db[0]), 0);
}

/* ============================================================= EXISTS */

Test(keys, exists_counts_every_argument_that_names_a_live_key_including_repeats)
{
    put("a", "1");
    put_obj("l", OBJ_LIST, ENC_QUICKLIST);
    EXPECT(":4\r\n", cmd_exists, "EXISTS", "a", "a", "a", "b", "l");
    EXPECT(ZERO, cmd_exists, "EXISTS", "nope");
}

Test(keys, exists_does_not_see_an_expired_key_and_reclaims_it)
{
    put_ttl("a", "1", T0 + 100);
    EXPECT(ONE, cmd_exists, "EXISTS", "a");
    advance(100);
    EXPECT(ONE, cmd_exists, "EXISTS", "a"); /* expiry is strictly after the time */
    advance(1);
    EXPECT(ZERO, cmd_exists, "EXISTS", "a");
    cr_assert_eq(db_size(&s->db[0]), 0);
    cr_assert_eq(s->stats.expired_keys, 1);
}

Test(keys, exists_does_not_update_the_access_time_but_counts_hits_and_misses)
{
    put("a", "1");
    advance(5000);
    EXPECT(":1\r\n", cmd_exists, "EXISTS", "a", "b");
    cr_assert_eq(entry_lru(find("a")), (uint32_t)(T0 / 1000) & 0xffffff);
    cr_assert_eq(s->stats.keyspace_hits, 1);
    cr_assert_eq(s->stats.keyspace_misses, 1);
}

/* ============================================================== TOUCH */

Test(keys, touch_counts_live_keys_and_updates_their_access_time)
{
    put("a", "1");
    put("b", "2");
    advance(7000);
    EXPECT(":3\r\n", cmd_touch, "TOUCH", "a", "b", "c", "a");
    cr_assert_eq(entry_lru(find("a")), s->lru_clock);
    cr_assert_eq(entry_lru(find("b")), s->lru_clock);
}

/* =============================================================== TYPE */

Test(keys, type_names_every_value_type_and_none_for_a_missing_key)
{
    put("int", "123");
    put("emb", "hello");
    put_raw("raw", "x");
    put_obj("l", OBJ_LIST, ENC_QUICKLIST);
    put_obj("st", OBJ_SET, ENC_INTSET);
    put_obj("z", OBJ_ZSET, ENC_SKIPLIST);
    put_obj("h", OBJ_HASH, ENC_HT);
    EXPECT("+string\r\n", cmd_type, "TYPE", "int");
    EXPECT("+string\r\n", cmd_type, "TYPE", "emb");
    EXPECT("+string\r\n", cmd_type, "TYPE", "raw");
    EXPECT("+list\r\n", cmd_type, "TYPE", "l");
    EXPECT("+set\r\n", cmd_type, "TYPE", "st");
    EXPECT("+zset\r\n", cmd_type, "TYPE", "z");
    EXPECT("+hash\r\n", cmd_type, "TYPE", "h");
    EXPECT("+none\r\n", cmd_type, "TYPE", "missing");
}

Test(keys, type_of_an_expired_key_is_none)
{
    put_ttl("a", "1", T0 + 1);
    advance(2);
    EXPECT("+none\r\n", cmd_type, "TYPE", "a");
}

/* =============================================================== KEYS */

Test(keys, keys_of_an_empty_database_is_an_empty_array)
{
    EXPECT(EMPTY_ARRAY, cmd_keys, "KEYS", "*");
    EXPECT(EMPTY_ARRAY, cmd_keys, "KEYS", "a*");
}

Test(keys, keys_star_returns_every_key_including_the_empty_key)
{
    put("a", "1");
    put("b", "2");
    put("", "3");
    const char *r = RUN(cmd_keys, "KEYS", "*");
    cr_assert_eq(array_len(r), 3);
    cr_assert(array_has(r, "a") && array_has(r, "b") && array_has(r, ""));
}

Test(keys, keys_matches_glob_patterns)
{
    put("a1", "1");
    put("a2", "1");
    put("a3", "1");
    put("b1", "1");
    put("ab", "1");
    put("a*", "1");
    const char *r = RUN(cmd_keys, "KEYS", "a[12]");
    cr_assert_eq(array_len(r), 2);
    cr_assert(array_has(r, "a1") && array_has(r, "a2"));
    r = RUN(cmd_keys, "KEYS", "a[^1]");
    cr_assert_eq(array_len(r), 4);
    cr_assert(!array_has(r, "a1"));
    r = RUN(cmd_keys, "KEYS", "[a-b]1");
    cr_assert_eq(array_len(r), 2);
    r = RUN(cmd_keys, "KEYS", "?b");
    cr_assert_eq(array_len(r), 1);
    r = RUN(cmd_keys, "KEYS", "a\\*");
    cr_assert_eq(array_len(r), 1);
    cr_assert(array_has(r, "a*"));
    r = RUN(cmd_keys, "KEYS", "a*");
    cr_assert_eq(array_len(r), 5);
    EXPECT("*1\r\n$2\r\nb1\r\n", cmd_keys, "KEYS", "b1");
    EXPECT(EMPTY_ARRAY, cmd_keys, "KEYS", "nope");
}

Test(keys, keys_with_an_empty_pattern_matches_only_the_empty_key)
{
    put("", "1");
    put("a", "1");
    EXPECT("*1\r\n$0\r\n\r\n", cmd_keys, "KEYS", "");
}

Test(keys, keys_returns_binary_keys_intact)
{
    db_set(s, &s->db[0], entry_new_string("k\0a", 3, "v", 1, -1, STR_SET));
    struct resp_arg argv[] = {{"KEYS", 4}, {"k\0*", 3}};
    runv(s, cmd_keys, 2, argv);
    ASSERT_LAST_BIN("*1\r\n$3\r\nk\0a\r\n");
}

Test(keys, keys_skips_expired_keys_without_deleting_them)
{
    put_ttl("gone", "1", T0 + 10);
    put_ttl("later", "1", T0 + 100000);
    put("kept", "1");
    advance(20);
    const char *r = RUN(cmd_keys, "KEYS", "*");
    cr_assert_eq(array_len(r), 2);
    cr_assert(!array_has(r, "gone"));
    r = RUN(cmd_keys, "KEYS", "g*");
    cr_assert_eq(array_len(r), 0);
    cr_assert_eq(db_size(&s->db[0]), 3, "KEYS must not delete");
    cr_assert_eq(s->db[0].volatile_keys, 2);
    cr_assert_eq(s->stats.expired_keys, 0);
}

Test(keys, keys_reads_the_selected_database)
{
    put_in(3, "x", "1", -1);
    EXPECT(EMPTY_ARRAY, cmd_keys, "KEYS", "*");
    harness_db = 3;
    EXPECT("*1\r\n$1\r\nx\r\n", cmd_keys, "KEYS", "*");
}

/* =============================================================== SCAN */

Test(keys, scan_of_an_empty_database_replies_cursor_zero_and_no_keys)
{
    EXPECT("*2\r\n$1\r\n0\r\n*0\r\n", cmd_scan, "SCAN", "0");
}

Test(keys, scan_and_keys_list_the_empty_key_when_it_is_the_only_one)
{
    db_set(s, &s->db[0], entry_new_string("", 0, "v", 1, -1, STR_SET));
    EXPECT("*2\r\n$1\r\n0\r\n*1\r\n$0\r\n\r\n", cmd_scan, "SCAN", "0");
    EXPECT("*1\r\n$0\r\n\r\n", cmd_keys, "KEYS", "*");
}

Test(keys, scan_iteration_returns_every_key)
{
    put_many(1000);
    long total;
    cr_assert_eq(scan_collect(1000, NULL, NULL, &total), 1000);
    cr_assert_geq(total, 1000);
    cr_assert_eq(scan_collect(1000, "COUNT", "1", &total), 1000);
    cr_assert_eq(scan_collect(1000, "count", "7", &total), 1000);
}

Test(keys, scan_count_bounds_the_work_of_one_call)
{
    put_many(1000);
    struct scan_reply r = parse_scan(RUN(cmd_scan, "SCAN", "0", "COUNT", "5"));
    cr_assert_neq(r.cursor, 0);
    cr_assert_lt(r.n, 100, "COUNT 5 returned %ld keys", r.n);
    free_scan(&r);
    r = parse_scan(RUN(cmd_scan, "SCAN", "0"));
    cr_assert_neq(r.cursor, 0);
    cr_assert_lt(r.n, 200);
    free_scan(&r);
}

Test(keys, scan_with_a_huge_count_returns_everything_in_one_call)
{
    put_many(500);
    struct scan_reply r = parse_scan(RUN(cmd_scan, "SCAN", "0", "COUNT", "9223372036854775807"));
    cr_assert_eq(r.cursor, 0);
    cr_assert_eq(r.n, 500);
    free_scan(&r);
}

Test(keys, scan_match_returns_only_matching_keys)
{
    put("user:1", "a");
    put("user:2", "a");
    put("user:33", "a");
    put("item:1", "a");
    struct scan_reply r = parse_scan(RUN(cmd_scan, "SCAN", "0", "MATCH", "user:?", "COUNT", "100"));
    cr_assert_eq(r.cursor, 0);
    cr_assert_eq(r.n, 2);
    for (long i = 0; i < r.n; i++)
        cr_assert(strcmp(r.keys[i], "user:1") == 0 || strcmp(r.keys[i], "user:2") == 0);
    free_scan(&r);
    r = parse_scan(RUN(cmd_scan, "SCAN", "0", "match", "*:1", "COUNT", "100"));
    cr_assert_eq(r.n, 2);
    free_scan(&r);
    r = parse_scan(RUN(cmd_scan, "SCAN", "0", "MATCH", "nomatch*", "COUNT", "100"));
    cr_assert_eq(r.n, 0);
    free_scan(&r);
}

Test(keys, scan_match_star_returns_every_key_including_the_empty_key)
{
    put("", "1");
    put("a", "1");
    struct scan_reply r = parse_scan(RUN(cmd_scan, "SCAN", "0", "MATCH", "*", "COUNT", "100"));
    cr_assert_eq(r.n, 2);
    free_scan(&r);
}

Test(keys, scan_type_filters_by_type_name_case_insensitively)
{
    put("s1", "a");
    put("s2", "123");
    put_obj("l", OBJ_LIST, ENC_QUICKLIST);
    put_obj("h", OBJ_HASH, ENC_LISTPACK);
    struct scan_reply r = parse_scan(RUN(cmd_scan, "SCAN", "0", "TYPE", "string", "COUNT", "100"));
    cr_assert_eq(r.n, 2);
    free_scan(&r);
    r = parse_scan(RUN(cmd_scan, "SCAN", "0", "TYPE", "LIST", "COUNT", "100"));
    cr_assert_eq(r.n, 1);
    cr_assert_str_eq(r.keys[0], "l");
    free_scan(&r);
    r = parse_scan(RUN(cmd_scan, "SCAN", "0", "TYPE", "zset", "COUNT", "100"));
    cr_assert_eq(r.n, 0);
    free_scan(&r);
    r = parse_scan(RUN(cmd_scan, "SCAN", "0", "MATCH", "s*", "TYPE", "string", "COUNT", "100"));
    cr_assert_eq(r.n, 2);
    free_scan(&r);
}

Test(keys, scan_type_with_an_unknown_name_returns_no_keys_but_still_iterates)
{
    put_many(300);
    long total;
    cr_assert_eq(scan_collect(300, "TYPE", "nosuchtype", &total), 0);
    cr_assert_eq(total, 0);
    cr_assert_eq(scan_collect(300, "TYPE", "none", &total), 0);
}

Test(keys, scan_rejects_a_count_below_one_or_not_an_integer)
{
    put("a", "1");
    EXPECT(SYNTAX, cmd_scan, "SCAN", "0", "COUNT", "0");
    EXPECT(SYNTAX, cmd_scan, "SCAN", "0", "COUNT", "-1");
    EXPECT(SYNTAX, cmd_scan, "SCAN", "0", "COUNT", "-9223372036854775808");
    EXPECT(NOT_INT, cmd_scan, "SCAN", "0", "COUNT", "abc");
    EXPECT(NOT_INT, cmd_scan, "SCAN", "0", "COUNT", "1.5");
    EXPECT(NOT_INT, cmd_scan, "SCAN", "0", "COUNT", "99999999999999999999");
    /* A later COUNT is checked too. */
    EXPECT(SYNTAX, cmd_scan, "SCAN", "0", "COUNT", "5", "COUNT", "0");
}

Test(keys, scan_rejects_unknown_options_and_options_missing_their_value)
{
    EXPECT(SYNTAX, cmd_scan, "SCAN", "0", "COUNT");
    EXPECT(SYNTAX, cmd_scan, "SCAN", "0", "MATCH");
    EXPECT(SYNTAX, cmd_scan, "SCAN", "0", "TYPE");
    EXPECT(SYNTAX, cmd_scan, "SCAN", "0", "FOO", "bar");
    EXPECT(SYNTAX, cmd_scan, "SCAN", "0", "MATCH", "*", "COUNT");
}

Test(keys, scan_reads_the_cursor_as_strtoul_does)
{
    put("a", "1");
    /* Accepted: empty (0), signs, leading zeros, the full unsigned range. */
    EXPECT("*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n", cmd_scan, "SCAN", "");
    EXPECT("*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n", cmd_scan, "SCAN", "-0");
    EXPECT("*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n", cmd_scan, "SCAN", "000");
    cr_assert_eq(scan_cursor(RUN(cmd_scan, "SCAN", "+5")), 0);
    cr_assert_eq(scan_cursor(RUN(cmd_scan, "SCAN", "-1")), 0);
    cr_assert_eq(scan_cursor(RUN(cmd_scan, "SCAN", "18446744073709551615")), 0);
    /* Rejected. */
    EXPECT(BAD_CURSOR, cmd_scan, "SCAN", "abc");
    EXPECT(BAD_CURSOR, cmd_scan, "SCAN", "1.5");
    EXPECT(BAD_CURSOR, cmd_scan, "SCAN", " 1");
    EXPECT(BAD_CURSOR, cmd_scan, "SCAN", "1 ");
    EXPECT(BAD_CURSOR, cmd_scan, "SCAN", "+");
    EXPECT(BAD_CURSOR, cmd_scan, "SCAN", "-");
    EXPECT(BAD_CURSOR, cmd_scan, "SCAN", "18446744073709551616");
    EXPECT(BAD_CURSOR, cmd_scan, "SCAN", "99999999999999999999999");
    /* The cursor is checked before the options. */
    EXPECT(BAD_CURSOR, cmd_scan, "SCAN", "x", "COUNT", "0");
}

Test(keys, scan_reads_the_cursor_only_up_to_a_nul_byte)
{
    put("a", "1");
    struct resp_arg argv[] = {{"SCAN", 4}, {"0\0zz", 4}};
    cr_assert_str_eq(runv(s, cmd_scan, 2, argv), "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n");
}

Test(keys, scan_filters_out_expired_keys_and_reclaims_them)
{
    put_many(50);
    for (int i = 0; i < 50; i++) {
        char k[16];
        snprintf(k, sizeof(k), "x%d", i);
        put_ttl(k, "v", T0 + 5);
    }
    advance(10);
    long total;
    cr_assert_eq(scan_collect(50, NULL, NULL, &total), 50);
    cr_assert_eq(total, 50, "expired keys were returned");
    cr_assert_eq(db_size(&s->db[0]), 50);
    cr_assert_eq(s->db[0].volatile_keys, 0);
    cr_assert_eq(s->stats.expired_keys, 50);
}

Test(keys, scan_iterates_the_selected_database)
{
    put_in(5, "k0", "v", -1);
    put("other", "v");
    harness_db = 5;
    EXPECT("*2\r\n$1\r\n0\r\n*1\r\n$2\r\nk0\r\n", cmd_scan, "SCAN", "0");
}

/* ========================================================== RANDOMKEY */

Test(keys, randomkey_of_an_empty_database_is_null)
{
    EXPECT(NIL, cmd_randomkey, "RANDOMKEY");
    harness_proto = 3;
    EXPECT("_\r\n", cmd_randomkey, "RANDOMKEY");
}

Test(keys, randomkey_returns_one_of_the_keys)
{
    put("only", "v");
    EXPECT("$4\r\nonly\r\n", cmd_randomkey, "RANDOMKEY");
    put_many(20);
    bool seen_other = false;
    for (int i = 0; i < 200; i++) {
        const char *r = RUN(cmd_randomkey, "RANDOMKEY");
        size_t len;
        const char *p = r;
        char *k = parse_bulk(&p, &len);
        cr_assert_not_null(find(k), "RANDOMKEY returned %s", k);
        if (strcmp(k, "only") != 0)
            seen_other = true;
        free(k);
    }
    cr_assert(seen_other);
}

Test(keys, randomkey_deletes_expired_keys_it_lands_on)
{
    put("live", "v");
    for (int i = 0; i < 30; i++) {
        char k[16];
        snprintf(k, sizeof(k), "x%d", i);
        put_ttl(k, "v", T0 + 5);
    }
    advance(10);
    for (int i = 0; i < 20; i++)
        EXPECT("$4\r\nlive\r\n", cmd_randomkey, "RANDOMKEY");
    cr_assert_gt(s->stats.expired_keys, 0);
    cr_assert_eq(db_size(&s->db[0]), 31 - s->stats.expired_keys);
    assert_volatile_consistent(0);
}

Test(keys, randomkey_finds_the_one_live_key_among_many_expired_ones)
{
    for (int i = 0; i < 20000; i++) {
        char k[16];
        snprintf(k, sizeof(k), "x%d", i);
        put_ttl(k, "v", T0 + 5);
    }
    put("live", "v");
    advance(10);
    EXPECT("$4\r\nlive\r\n", cmd_randomkey, "RANDOMKEY");
    cr_assert_leq(s->stats.expired_keys, 100, "one call must stay bounded");
}

Test(keys, randomkey_of_only_expired_keys_is_null)
{
    for (int i = 0; i < 5000; i++) {
        char k[16];
        snprintf(k, sizeof(k), "x%d", i);
        put_ttl(k, "v", T0 + 5);
    }
    advance(10);
    EXPECT(NIL, cmd_randomkey, "RANDOMKEY");
    assert_volatile_consistent(0);
}

/* ============================================================= DBSIZE */

Test(keys, dbsize_counts_the_keys_of_the_selected_database)
{
    EXPECT(ZERO, cmd_dbsize, "DBSIZE");
    put("a", "1");
    put("b", "1");
    put_in(1, "c", "1", -1);
    EXPECT(":2\r\n", cmd_dbsize, "DBSIZE");
    harness_db = 1;
    EXPECT(ONE, cmd_dbsize, "DBSIZE");
}

Test(keys, dbsize_includes_expired_keys_not_yet_reclaimed)
{
    put_ttl("a", "1", T0 + 1);
    advance(5);
    EXPECT(ONE, cmd_dbsize, "DBSIZE");
}

/* ============================================================= RENAME */

Test(keys, rename_moves_the_value_to_the_new_name)
{
    put("a", "hello");
    EXPECT(OK, cmd_rename, "RENAME", "a", "b");
    cr_assert_null(find("a"));
    cr_assert_str_eq(value_of("b"), "hello");
    cr_assert_eq(entry_enc(find("b")), ENC_EMBSTR);
}

Test(keys, rename_moves_a_raw_value_without_copying_or_freeing_it)
{
    const char *big = "0123456789012345678901234567890123456789012345678901234567890123456789";
    put(big, big); /* long key and raw value */
    cr_assert_eq(entry_enc(find(big)), ENC_RAW);
    void *before;
    before = entry_get_ptr(find(big));
    EXPECT(OK, cmd_rename, "RENAME", big, "b");
    void *after;
    after = entry_get_ptr(find("b"));
    cr_assert_eq(before, after);
    cr_assert_str_eq(value_of("b"), big);
    cr_assert_eq(entry_enc(find("b")), ENC_RAW);
}

Test(keys, rename_of_a_missing_key_is_an_error_even_onto_itself)
{
    EXPECT(NO_KEY, cmd_rename, "RENAME", "a", "b");
    EXPECT(NO_KEY, cmd_rename, "RENAME", "a", "a");
}

Test(keys, rename_of_an_expired_key_is_an_error)
{
    put_ttl("a", "1", T0 + 1);
    advance(2);
    EXPECT(NO_KEY, cmd_rename, "RENAME", "a", "b");
}

Test(keys, rename_onto_itself_succeeds_and_changes_nothing)
{
    put_ttl("a", "1", T0 + 5000);
    EXPECT(OK, cmd_rename, "RENAME", "a", "a");
    cr_assert_str_eq(value_of("a"), "1");
    cr_assert_eq(expire_of("a"), T0 + 5000);
}

Test(keys, rename_keeps_the_ttl_of_the_source)
{
    put_ttl("a", "1", T0 + 100000);
    EXPECT(OK, cmd_rename, "RENAME", "a", "b");
    cr_assert_eq(expire_of("b"), T0 + 100000);
    cr_assert_eq(s->db[0].volatile_keys, 1);
    assert_volatile_consistent(0);
}

Test(keys, rename_overwrites_the_destination_and_drops_its_ttl)
{
    put("a", "1");
    put_ttl("b", "2", T0 + 100000);
    EXPECT(OK, cmd_rename, "RENAME", "a", "b");
    cr_assert_str_eq(value_of("b"), "1");
    cr_assert_eq(expire_of("b"), -1);
    EXPECT(ONE, cmd_dbsize, "DBSIZE");
    cr_assert_eq(s->db[0].volatile_keys, 0);
}

Test(keys, rename_moves_other_types_and_binary_names)
{
    put_obj("l", OBJ_LIST, ENC_QUICKLIST);
    EXPECT(OK, cmd_rename, "RENAME", "l", "m");
    EXPECT("+list\r\n", cmd_type, "TYPE", "m");
    db_set(s, &s->db[0], entry_new_string("a\0", 2, "v", 1, -1, STR_SET));
    struct resp_arg argv[] = {{"RENAME", 6}, {"a\0", 2}, {"b\r\n", 3}};
    cr_assert_str_eq(runv(s, cmd_rename, 3, argv), OK);
    cr_assert_str_eq(value_of("b\r\n"), "v");
}

Test(keys, renamenx_renames_only_when_the_destination_is_free)
{
    put("a", "1");
    put("b", "2");
    EXPECT(ZERO, cmd_renamenx, "RENAMENX", "a", "b");
    cr_assert_str_eq(value_of("a"), "1");
    cr_assert_str_eq(value_of("b"), "2");
    EXPECT(ONE, cmd_renamenx, "RENAMENX", "a", "c");
    cr_assert_null(find("a"));
    cr_assert_str_eq(value_of("c"), "1");
}

Test(keys, renamenx_onto_itself_replies_zero_and_missing_source_is_an_error)
{
    put("a", "1");
    EXPECT(ZERO, cmd_renamenx, "RENAMENX", "a", "a");
    EXPECT(NO_KEY, cmd_renamenx, "RENAMENX", "x", "y");
    EXPECT(NO_KEY, cmd_renamenx, "RENAMENX", "x", "x");
}

Test(keys, renamenx_treats_an_expired_destination_as_free)
{
    put("a", "1");
    put_ttl("b", "2", T0 + 1);
    advance(2);
    EXPECT(ONE, cmd_renamenx, "RENAMENX", "a", "b");
    cr_assert_str_eq(value_of("b"), "1");
    assert_volatile_consistent(0);
}

/* =============================================================== COPY */

Test(keys, copy_duplicates_the_value_under_the_new_name)
{
    put("a", "1");
    EXPECT(ONE, cmd_copy, "COPY", "a", "b");
    cr_assert_str_eq(value_of("a"), "1");
    cr_assert_str_eq(value_of("b"), "1");
    cr_assert_eq(entry_enc(find("b")), ENC_INT);
}

Test(keys, copy_of_a_raw_value_is_deep)
{
    const char *big = "a raw value longer than forty-four bytes, held outside the entry";
    put("a", big);
    EXPECT(ONE, cmd_copy, "COPY", "a", "b");
    void *pa, *pb;
    pa = entry_get_ptr(find("a"));
    pb = entry_get_ptr(find("b"));
    cr_assert_neq(pa, pb);
    cr_assert_str_eq(value_of("b"), big);
    EXPECT(ONE, cmd_del, "DEL", "a");
    cr_assert_str_eq(value_of("b"), big);
}

Test(keys, copy_keeps_the_ttl)
{
    put_ttl("a", "1", T0 + 100000);
    EXPECT(ONE, cmd_copy, "COPY", "a", "b");
    cr_assert_eq(expire_of("b"), T0 + 100000);
    cr_assert_eq(s->db[0].volatile_keys, 2);
}

Test(keys, copy_does_not_overwrite_unless_replace_is_given)
{
    put("a", "1");
    put_ttl("b", "2", T0 + 100000);
    EXPECT(ZERO, cmd_copy, "COPY", "a", "b");
    cr_assert_str_eq(value_of("b"), "2");
    EXPECT(ONE, cmd_copy, "COPY", "a", "b", "REPLACE");
    cr_assert_str_eq(value_of("b"), "1");
    cr_assert_eq(expire_of("b"), -1);
    assert_volatile_consistent(0);
    EXPECT(ONE, cmd_copy, "COPY", "a", "b", "replace");
}

Test(keys, copy_of_a_missing_key_replies_zero)
{
    EXPECT(ZERO, cmd_copy, "COPY", "a", "b");
    EXPECT(ZERO, cmd_copy, "COPY", "a", "b", "REPLACE");
}

Test(keys, copy_onto_the_same_key_in_the_same_database_is_an_error_even_when_missing)
{
    put("a", "1");
    EXPECT(SAME_OBJECT, cmd_copy, "COPY", "a", "a");
    EXPECT(SAME_OBJECT, cmd_copy, "COPY", "a", "a", "DB", "0");
    EXPECT(SAME_OBJECT, cmd_copy, "COPY", "nokey", "nokey");
}

Test(keys, copy_to_another_database)
{
    put("a", "1");
    EXPECT(ONE, cmd_copy, "COPY", "a", "a", "DB", "1");
    cr_assert_str_eq(value_of_in(1, "a"), "1");
    put_in(2, "a", "other", -1);
    EXPECT(ZERO, cmd_copy, "COPY", "a", "a", "DB", "2");
    EXPECT(ONE, cmd_copy, "COPY", "a", "a", "REPLACE", "db", "2");
    cr_assert_str_eq(value_of_in(2, "a"), "1");
}

Test(keys, copy_validates_the_database_index_before_the_keys)
{
    put("a", "1");
    EXPECT(DB_INDEX, cmd_copy, "COPY", "a", "b", "DB", "16");
    EXPECT(DB_INDEX, cmd_copy, "COPY", "a", "b", "DB", "-1");
    EXPECT(NOT_INT, cmd_copy, "COPY", "a", "b", "DB", "x");
    EXPECT(NOT_INT, cmd_copy, "COPY", "a", "b", "DB", "1.0");
    EXPECT(INT_RANGE, cmd_copy, "COPY", "a", "b", "DB", "99999999999");
    EXPECT(DB_INDEX, cmd_copy, "COPY", "nokey", "b", "DB", "77");
}

Test(keys, copy_rejects_unknown_options_and_db_without_a_value)
{
    put("a", "1");
    EXPECT(SYNTAX, cmd_copy, "COPY", "a", "b", "FOO");
    EXPECT(SYNTAX, cmd_copy, "COPY", "a", "b", "DB");
    EXPECT(SYNTAX, cmd_copy, "COPY", "a", "b", "REPLACE", "DB");
    cr_assert_null(find("b"));
}

/* =============================================================== MOVE */

Test(keys, move_transfers_the_key_to_another_database_with_its_ttl)
{
    put_ttl("a", "hello", T0 + 100000);
    EXPECT(ONE, cmd_move, "MOVE", "a", "3");
    cr_assert_null(find("a"));
    cr_assert_str_eq(value_of_in(3, "a"), "hello");
    cr_assert_eq(expire_of_in(3, "a"), T0 + 100000);
    cr_assert_eq(s->db[0].volatile_keys, 0);
    cr_assert_eq(s->db[3].volatile_keys, 1);
}

Test(keys, move_of_a_raw_value_keeps_the_same_object)
{
    const char *big = "a raw value longer than forty-four bytes, held outside the entry";
    put("a", big);
    void *before, *after;
    before = entry_get_ptr(find("a"));
    EXPECT(ONE, cmd_move, "MOVE", "a", "1");
    after = entry_get_ptr(find_in(1, "a"));
    cr_assert_eq(before, after);
    cr_assert_str_eq(value_of_in(1, "a"), big);
}

Test(keys, move_replies_zero_when_the_key_exists_in_the_target_or_is_missing)
{
    put("a", "1");
    put_in(1, "a", "2", -1);
    EXPECT(ZERO, cmd_move, "MOVE", "a", "1");
    cr_assert_str_eq(value_of("a"), "1");
    cr_assert_str_eq(value_of_in(1, "a"), "2");
    EXPECT(ZERO, cmd_move, "MOVE", "nokey", "1");
}

Test(keys, move_treats_an_expired_key_in_the_target_as_absent)
{
    put("a", "1");
    put_in(1, "a", "2", T0 + 1);
    advance(2);
    EXPECT(ONE, cmd_move, "MOVE", "a", "1");
    cr_assert_str_eq(value_of_in(1, "a"), "1");
    cr_assert_eq(s->db[1].volatile_keys, 0);
}

Test(keys, move_rejects_bad_and_same_database_indexes)
{
    put("a", "1");
    EXPECT(SAME_OBJECT, cmd_move, "MOVE", "a", "0");
    EXPECT(DB_INDEX, cmd_move, "MOVE", "a", "16");
    EXPECT(DB_INDEX, cmd_move, "MOVE", "a", "-1");
    EXPECT(NOT_INT, cmd_move, "MOVE", "a", "abc");
    EXPECT(NOT_INT, cmd_move, "MOVE", "a", "1 ");
    EXPECT(INT_RANGE, cmd_move, "MOVE", "a", "99999999999");
    EXPECT(INT_RANGE, cmd_move, "MOVE", "a", "-2147483649");
    EXPECT(DB_INDEX, cmd_move, "MOVE", "a", "2147483647");
    EXPECT(DB_INDEX, cmd_move, "MOVE", "nokey", "16");
    cr_assert_str_eq(value_of("a"), "1");
}

Test(keys, move_from_a_selected_database)
{
    put_in(4, "a", "1", -1);
    harness_db = 4;
    EXPECT(SAME_OBJECT, cmd_move, "MOVE", "a", "4");
    EXPECT(ONE, cmd_move, "MOVE", "a", "0");
    cr_assert_str_eq(value_of("a"), "1");
}

/* ==================================================== FLUSHDB/FLUSHALL */

Test(keys, flushdb_empties_only_the_selected_database)
{
    put_ttl("a", "1", T0 + 1000);
    put_in(1, "b", "2", -1);
    EXPECT(OK, cmd_flushdb, "FLUSHDB");
    cr_assert_eq(db_size(&s->db[0]), 0);
    cr_assert_eq(s->db[0].volatile_keys, 0);
    cr_assert_eq(db_size(&s->db[1]), 1);
    put("c", "1");
    EXPECT(ONE, cmd_dbsize, "DBSIZE");
}

Test(keys, flushdb_accepts_sync_or_async_in_any_case)
{
    put("a", "1");
    EXPECT(OK, cmd_flushdb, "FLUSHDB", "ASYNC");
    put("a", "1");
    EXPECT(OK, cmd_flushdb, "FLUSHDB", "sync");
    cr_assert_eq(db_size(&s->db[0]), 0);
}

Test(keys, flushdb_rejects_other_arguments)
{
    put("a", "1");
    EXPECT(SYNTAX, cmd_flushdb, "FLUSHDB", "FOO");
    EXPECT(SYNTAX, cmd_flushdb, "FLUSHDB", "ASYNC", "SYNC");
    EXPECT(SYNTAX, cmd_flushall, "FLUSHALL", "now");
    EXPECT(SYNTAX, cmd_flushall, "FLUSHALL", "SYNC", "SYNC");
    cr_assert_eq(db_size(&s->db[0]), 1);
}

Test(keys, flushall_empties_every_database_of_the_shard)
{
    for (int db = 0; db < 16; db++)
        put_in(db, "k", "v", T0 + 1000);
    harness_db = 7;
    EXPECT(OK, cmd_flushall, "FLUSHALL");
    for (int db = 0; db < 16; db++) {
        cr_assert_eq(db_size(&s->db[db]), 0);
        cr_assert_eq(s->db[db].volatile_keys, 0);
    }
    put("k", "v");
    EXPECT(OK, cmd_flushall, "FLUSHALL", "async");
    EXPECT(OK, cmd_flushall, "FLUSHALL", "SYNC");
    cr_assert_eq(db_size(&s->db[0]), 0);
}

/* ============================================================= EXPIRE */

Test(keys, expire_family_sets_absolute_times_on_the_shard_clock)
{
    put("a", "1");
    put("b", "1");
    put("c", "1");
    put("d", "1");
    EXPECT(ONE, cmd_expire, "EXPIRE", "a", "100");
    EXPECT(ONE, cmd_pexpire, "PEXPIRE", "b", "1500");
    EXPECT(ONE, cmd_expireat, "EXPIREAT", "c", "4102444800");
    EXPECT(ONE, cmd_pexpireat, "PEXPIREAT", "d", "4102444800555");
    cr_assert_eq(expire_of("a"), T0 + 100000);
    cr_assert_eq(expire_of("b"), T0 + 1500);
    cr_assert_eq(expire_of("c"), 4102444800000LL);
    cr_assert_eq(expire_of("d"), 4102444800555LL);
    cr_assert_eq(s->db[0].volatile_keys, 4);
    assert_volatile_consistent(0);
}

Test(keys, expire_keeps_the_value_and_its_encoding)
{
    put("i", "42");
    put("r", "a raw value longer than forty-four bytes, held outside the entry");
    EXPECT(ONE, cmd_expire, "EXPIRE", "i", "100");
    EXPECT(ONE, cmd_expire, "EXPIRE", "r", "100");
    cr_assert_eq(entry_enc(find("i")), ENC_INT);
    cr_assert_str_eq(value_of("i"), "42");
    cr_assert_eq(entry_enc(find("r")), ENC_RAW);
    EXPECT(ONE, cmd_expire, "EXPIRE", "r", "200");
    cr_assert_eq(expire_of("r"), T0 + 200000);
    put_obj("l", OBJ_LIST, ENC_QUICKLIST);
    EXPECT(ONE, cmd_expire, "EXPIRE", "l", "100");
    EXPECT(":100\r\n", cmd_ttl, "TTL", "l");
}

Test(keys, expire_of_a_missing_key_replies_zero)
{
    EXPECT(ZERO, cmd_expire, "EXPIRE", "k", "100");
    EXPECT(ZERO, cmd_pexpireat, "PEXPIREAT", "k", "1");
    cr_assert_eq(db_size(&s->db[0]), 0);
}

Test(keys, expire_with_a_time_in_the_past_deletes_the_key_and_replies_one)
{
    const char *cases[][3] = {
        {"EXPIRE", "k", "-1"},    {"EXPIRE", "k", "0"},    {"PEXPIRE", "k", "0"},
        {"PEXPIRE", "k", "-100"}, {"EXPIREAT", "k", "1"},  {"EXPIREAT", "k", "0"},
        {"EXPIREAT", "k", "-1"},  {"PEXPIREAT", "k", "1"}, {"EXPIRE", "k", "-9223372036854775"},
    };
    void (*fns[])(struct cmd_ctx *) = {cmd_expire,   cmd_expire,    cmd_pexpire,
                                       cmd_pexpire,  cmd_expireat,  cmd_expireat,
                                       cmd_expireat, cmd_pexpireat, cmd_expire};
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        put_ttl("k", "v", T0 + 100000);
        cr_assert_str_eq(run(s, fns[i], 3, cases[i][0], cases[i][1], cases[i][2]), ONE, "%s %s",
                         cases[i][0], cases[i][2]);
        cr_assert_null(find("k"), "%s %s left the key", cases[i][0], cases[i][2]);
        cr_assert_eq(s->db[0].volatile_keys, 0);
    }
    /* Exactly now counts as the past, as in Redis's checkAlreadyExpired. */
    put("k", "v");
    char now[32];
    snprintf(now, sizeof(now), "%lld", T0);
    EXPECT(ONE, cmd_pexpireat, "PEXPIREAT", "k", now);
    cr_assert_null(find("k"));
}

Test(keys, expire_rejects_non_integers)
{
    put("k", "v");
    EXPECT(NOT_INT, cmd_expire, "EXPIRE", "k", "abc");
    EXPECT(NOT_INT, cmd_expire, "EXPIRE", "k", "1.5");
    EXPECT(NOT_INT, cmd_expire, "EXPIRE", "k", "");
    EXPECT(NOT_INT, cmd_expire, "EXPIRE", "k", " 1");
    EXPECT(NOT_INT, cmd_pexpire, "PEXPIRE", "k", "99999999999999999999");
    cr_assert_eq(expire_of("k"), -1);
}

Test(keys, expire_reports_overflow_with_the_command_name)
{
    put("k", "v");
    EXPECT("-ERR invalid expire time in 'expire' command\r\n", cmd_expire, "EXPIRE", "k",
           "9223372036854775807");
    /* Fits in ms, but overflows once now is added. */
    EXPECT("-ERR invalid expire time in 'expire' command\r\n", cmd_expire, "EXPIRE", "k",
           "9223372036854775");
    EXPECT("-ERR invalid expire time in 'expire' command\r\n", cmd_expire, "EXPIRE", "k",
           "-9223372036854775808");
    EXPECT("-ERR invalid expire time in 'pexpire' command\r\n", cmd_pexpire, "PEXPIRE", "k",
           "9223372036854775807");
    EXPECT("-ERR invalid expire time in 'pexpire' command\r\n", cmd_pexpire, "PEXPIRE", "k",
           "9223372036854775806");
    EXPECT("-ERR invalid expire time in 'expireat' command\r\n", cmd_expireat, "EXPIREAT", "k",
           "9223372036854776");
    EXPECT(ONE, cmd_expireat, "EXPIREAT", "k", "9223372036854775");
    cr_assert_eq(expire_of("k"), 9223372036854775000LL);
    EXPECT(ONE, cmd_pexpireat, "PEXPIREAT", "k", "9223372036854775807");
    cr_assert_eq(expire_of("k"), LLONG_MAX);
    /* Overflow is reported even for a missing key. */
    EXPECT("-ERR invalid expire time in 'expire' command\r\n", cmd_expire, "EXPIRE", "nokey",
           "9223372036854775807");
}

Test(keys, expire_nx_sets_only_a_key_without_ttl)
{
    put("k", "v");
    EXPECT(ONE, cmd_expire, "EXPIRE", "k", "100", "NX");
    EXPECT(ZERO, cmd_expire, "EXPIRE", "k", "200", "NX");
    cr_assert_eq(expire_of("k"), T0 + 100000);
}

Test(keys, expire_xx_sets_only_a_key_with_a_ttl)
{
    put("k", "v");
    EXPECT(ZERO, cmd_expire, "EXPIRE", "k", "100", "XX");
    cr_assert_eq(expire_of("k"), -1);
    EXPECT(ONE, cmd_expire, "EXPIRE", "k", "100");
    EXPECT(ONE, cmd_expire, "EXPIRE", "k", "200", "xx");
    cr_assert_eq(expire_of("k"), T0 + 200000);
}

Test(keys, expire_gt_only_extends_and_treats_no_ttl_as_infinite)
{
    put("k", "v");
    EXPECT(ZERO, cmd_expire, "EXPIRE", "k", "100", "GT");
    EXPECT(ZERO, cmd_expire, "EXPIRE", "k", "-5", "GT");
    cr_assert_not_null(find("k"));
    EXPECT(ONE, cmd_expire, "EXPIRE", "k", "100");
    EXPECT(ZERO, cmd_expire, "EXPIRE", "k", "50", "GT");
    EXPECT(ZERO, cmd_expire, "EXPIRE", "k", "100", "GT");
    EXPECT(ONE, cmd_expire, "EXPIRE", "k", "200", "GT");
    cr_assert_eq(expire_of("k"), T0 + 200000);
    EXPECT(ZERO, cmd_expire, "EXPIRE", "k", "-5", "GT");
    cr_assert_not_null(find("k"));
}

Test(keys, expire_lt_only_shortens_and_treats_no_ttl_as_infinite)
{
    put("k", "v");
    EXPECT(ONE, cmd_expire, "EXPIRE", "k", "100", "LT");
    cr_assert_eq(expire_of("k"), T0 + 100000);
    EXPECT(ZERO, cmd_expire, "EXPIRE", "k", "200", "LT");
    EXPECT(ZERO, cmd_expire, "EXPIRE", "k", "100", "LT");
    EXPECT(ONE, cmd_expire, "EXPIRE", "k", "50", "LT");
    cr_assert_eq(expire_of("k"), T0 + 50000);
    EXPECT(ONE, cmd_expire, "EXPIRE", "k", "-5", "LT");
    cr_assert_null(find("k"));
    put("k", "v");
    EXPECT(ONE, cmd_expire, "EXPIRE", "k", "-5", "LT");
    cr_assert_null(find("k"));
}

Test(keys, expire_xx_combines_with_gt_and_lt)
{
    put_ttl("k", "v", T0 + 50000);
    EXPECT(ONE, cmd_expire, "EXPIRE", "k", "100", "XX", "GT");
    cr_assert_eq(expire_of("k"), T0 + 100000);
    EXPECT(ONE, cmd_pexpire, "PEXPIRE", "k", "1000", "LT", "XX");
    cr_assert_eq(expire_of("k"), T0 + 1000);
    put("n", "v");
    EXPECT(ZERO, cmd_expire, "EXPIRE", "n", "100", "XX", "LT");
}

Test(keys, expire_rejects_incompatible_option_combinations)
{
    put("k", "v");
    const char *nx_err = "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n";
    const char *gtlt_err = "-ERR GT and LT options at the same time are not compatible\r\n";
    EXPECT(nx_err, cmd_expire, "EXPIRE", "k", "100", "NX", "XX");
    EXPECT(nx_err, cmd_expire, "EXPIRE", "k", "100", "NX", "GT");
    EXPECT(nx_err, cmd_expire, "EXPIRE", "k", "100", "nx", "lt");
    EXPECT(nx_err, cmd_pexpireat, "PEXPIREAT", "k", "100", "GT", "LT", "NX");
    EXPECT(gtlt_err, cmd_expire, "EXPIRE", "k", "100", "GT", "LT");
    EXPECT(gtlt_err, cmd_expireat, "EXPIREAT", "k", "100", "XX", "LT", "GT");
    cr_assert_eq(expire_of("k"), -1);
}

Test(keys, expire_reports_an_unsupported_option_before_anything_else)
{
    put("k", "v");
    EXPECT("-ERR Unsupported option foo\r\n", cmd_expire, "EXPIRE", "k", "100", "foo");
    EXPECT("-ERR Unsupported option FOO\r\n", cmd_expire, "EXPIRE", "k", "abc", "NX", "FOO");
    EXPECT("-ERR Unsupported option 100\r\n", cmd_expire, "EXPIRE", "k", "100", "100");
    /* Option checks come before the integer parse. */
    EXPECT("-ERR NX and XX, GT or LT options at the same time are not compatible\r\n", cmd_expire,
           "EXPIRE", "k", "abc", "nx", "xx");
    /* Newlines cannot break the error line. */
    EXPECT("-ERR Unsupported option a b\r\n", cmd_expire, "EXPIRE", "k", "1", "a\nb");
}

Test(keys, expire_options_are_read_up_to_a_nul_byte)
{
    put("k", "v");
    struct resp_arg argv[] = {{"EXPIRE", 6}, {"k", 1}, {"100", 3}, {"nx\0junk", 7}};
    cr_assert_str_eq(runv(s, cmd_expire, 4, argv), ONE);
    struct resp_arg bad[] = {{"EXPIRE", 6}, {"k", 1}, {"100", 3}, {"zz\0nx", 5}};
    cr_assert_str_eq(runv(s, cmd_expire, 4, bad), "-ERR Unsupported option zz\r\n");
}

Test(keys, expire_accepts_a_repeated_option)
{
    put("k", "v");
    EXPECT(ONE, cmd_expire, "EXPIRE", "k", "100", "NX", "NX");
    EXPECT(ONE, cmd_expire, "EXPIRE", "k", "200", "GT", "gt");
}

Test(keys, expire_on_an_expired_key_replies_zero)
{
    put_ttl("k", "v", T0 + 1);
    advance(2);
    EXPECT(ZERO, cmd_expire, "EXPIRE", "k", "100");
    cr_assert_eq(db_size(&s->db[0]), 0);
}

/* ================================================================ TTL */

Test(keys, ttl_family_replies_minus_two_for_a_missing_key_and_minus_one_without_ttl)
{
    EXPECT(":-2\r\n", cmd_ttl, "TTL", "k");
    EXPECT(":-2\r\n", cmd_pttl, "PTTL", "k");
    EXPECT(":-2\r\n", cmd_expiretime, "EXPIRETIME", "k");
    EXPECT(":-2\r\n", cmd_pexpiretime, "PEXPIRETIME", "k");
    put("k", "v");
    EXPECT(":-1\r\n", cmd_ttl, "TTL", "k");
    EXPECT(":-1\r\n", cmd_pttl, "PTTL", "k");
    EXPECT(":-1\r\n", cmd_expiretime, "EXPIRETIME", "k");
    EXPECT(":-1\r\n", cmd_pexpiretime, "PEXPIRETIME", "k");
}

Test(keys, ttl_rounds_milliseconds_to_the_nearest_second)
{
    put_ttl("k", "v", T0 + 1499);
    EXPECT(":1\r\n", cmd_ttl, "TTL", "k");
    EXPECT(":1499\r\n", cmd_pttl, "PTTL", "k");
    put_ttl("k", "v", T0 + 1500);
    EXPECT(":2\r\n", cmd_ttl, "TTL", "k");
    put_ttl("k", "v", T0 + 499);
    EXPECT(":0\r\n", cmd_ttl, "TTL", "k");
    advance(499);
    EXPECT(":0\r\n", cmd_pttl, "PTTL", "k");
    EXPECT(":0\r\n", cmd_ttl, "TTL", "k");
    advance(1);
    EXPECT(":-2\r\n", cmd_pttl, "PTTL", "k");
}

Test(keys, expiretime_reports_the_absolute_expiry)
{
    put_ttl("k", "v", 4102444800555LL);
    EXPECT(":4102444801\r\n", cmd_expiretime, "EXPIRETIME", "k");
    EXPECT(":4102444800555\r\n", cmd_pexpiretime, "PEXPIRETIME", "k");
    put_ttl("k", "v", 4102444800499LL);
    EXPECT(":4102444800\r\n", cmd_expiretime, "EXPIRETIME", "k");
}

Test(keys, ttl_near_the_largest_expiry_does_not_wrap)
{
    put_ttl("k", "v", LLONG_MAX);
    EXPECT(":9223372036854776\r\n", cmd_expiretime, "EXPIRETIME", "k");
    EXPECT(":9223372036854775807\r\n", cmd_pexpiretime, "PEXPIRETIME", "k");
    shard_tick(s, 0);
    EXPECT(":9223372036854776\r\n", cmd_ttl, "TTL", "k");
    put_ttl("k", "v", 9223372036854775300LL);
    EXPECT(":9223372036854775\r\n", cmd_expiretime, "EXPIRETIME", "k");
}

Test(keys, ttl_does_not_update_the_access_time)
{
    put_ttl("k", "v", T0 + 100000);
    advance(3000);
    EXPECT(":97\r\n", cmd_ttl, "TTL", "k");
    cr_assert_eq(entry_lru(find("k")), (uint32_t)(T0 / 1000) & 0xffffff);
}

/* ============================================================ PERSIST */

Test(keys, persist_removes_a_ttl_and_replies_one)
{
    put_ttl("k", "v", T0 + 100000);
    EXPECT(ONE, cmd_persist, "PERSIST", "k");
    cr_assert_eq(expire_of("k"), -1);
    cr_assert_str_eq(value_of("k"), "v");
    cr_assert_eq(s->db[0].volatile_keys, 0);
    EXPECT(":-1\r\n", cmd_ttl, "TTL", "k");
    EXPECT(ZERO, cmd_persist, "PERSIST", "k");
}

Test(keys, persist_replies_zero_for_missing_and_expired_keys)
{
    EXPECT(ZERO, cmd_persist, "PERSIST", "k");
    put_ttl("k", "v", T0 + 1);
    advance(2);
    EXPECT(ZERO, cmd_persist, "PERSIST", "k");
    cr_assert_eq(db_size(&s->db[0]), 0);
}

/* ============================================================= OBJECT */

Test(keys, object_encoding_names_every_encoding)
{
    put("i", "12345");
    put("e", "hello");
    put("r", "012345678901234567890123456789012345678901234");
    put_raw("ra", "a");
    put_obj("h", OBJ_HASH, ENC_HT);
    put_obj("lp", OBJ_HASH, ENC_LISTPACK);
    put_obj("is", OBJ_SET, ENC_INTSET);
    put_obj("z", OBJ_ZSET, ENC_SKIPLIST);
    put_obj("q", OBJ_LIST, ENC_QUICKLIST);
    EXPECT("$3\r\nint\r\n", cmd_object, "OBJECT", "ENCODING", "i");
    EXPECT("$6\r\nembstr\r\n", cmd_object, "OBJECT", "ENCODING", "e");
    EXPECT("$3\r\nraw\r\n", cmd_object, "OBJECT", "ENCODING", "r");
    EXPECT("$3\r\nraw\r\n", cmd_object, "OBJECT", "encoding", "ra");
    EXPECT("$9\r\nhashtable\r\n", cmd_object, "OBJECT", "ENCODING", "h");
    EXPECT("$8\r\nlistpack\r\n", cmd_object, "OBJECT", "ENCODING", "lp");
    EXPECT("$6\r\nintset\r\n", cmd_object, "OBJECT", "ENCODING", "is");
    EXPECT("$8\r\nskiplist\r\n", cmd_object, "OBJECT", "ENCODING", "z");
    EXPECT("$9\r\nquicklist\r\n", cmd_object, "OBJECT", "ENCODING", "q");
}

Test(keys, object_of_a_missing_or_expired_key_is_null_for_every_subcommand)
{
    const char *subs[] = {"ENCODING", "REFCOUNT", "IDLETIME", "FREQ"};
    put_ttl("x", "v", T0 + 1);
    advance(2);
    for (size_t i = 0; i < 4; i++) {
        EXPECT(NIL, cmd_object, "OBJECT", subs[i], "nokey");
        EXPECT(NIL, cmd_object, "OBJECT", subs[i], "x");
    }
    harness_proto = 3;
    EXPECT("_\r\n", cmd_object, "OBJECT", "ENCODING", "nokey");
}

Test(keys, object_refcount_reports_shared_small_integers_like_redis)
{
    const char *shared[] = {"0", "5", "100", "9999"};
    const char *single[] = {"10000", "-1", "123456789", "hello", "0123"};
    for (size_t i = 0; i < 4; i++) {
        put("k", shared[i]);
        EXPECT(":2147483647\r\n", cmd_object, "OBJECT", "REFCOUNT", "k");
    }
    for (size_t i = 0; i < 5; i++) {
        put("k", single[i]);
        EXPECT(":1\r\n", cmd_object, "OBJECT", "REFCOUNT", "k");
    }
    put_obj("l", OBJ_LIST, ENC_QUICKLIST);
    EXPECT(":1\r\n", cmd_object, "OBJECT", "refcount", "l");
}

Test(keys, object_idletime_counts_seconds_since_the_last_access)
{
    put("k", "v");
    EXPECT(ZERO, cmd_object, "OBJECT", "IDLETIME", "k");
    advance(10999);
    EXPECT(":10\r\n", cmd_object, "OBJECT", "IDLETIME", "k");
    /* OBJECT itself does not count as an access. */
    EXPECT(":10\r\n", cmd_object, "OBJECT", "IDLETIME", "k");
    EXPECT(ONE, cmd_touch, "TOUCH", "k");
    EXPECT(ZERO, cmd_object, "OBJECT", "IDLETIME", "k");
}

Test(keys, object_idletime_survives_the_24_bit_clock_wrapping)
{
    /* Clock at 10 s after a wrap; the entry was last seen 5 s before it. */
    shard_tick(s, ((int64_t)1 << 24) * 1000 + 10000);
    put("k", "v");
    entry_set_lru(find("k"), 0xffffff - 5);
    EXPECT(":15\r\n", cmd_object, "OBJECT", "IDLETIME", "k");
}

Test(keys, object_freq_without_an_lfu_policy_is_redis_error)
{
    put("k", "v");
    EXPECT("-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please "
           "note that when switching between policies at runtime LRU and LFU data will take some "
           "time to adjust.\r\n",
           cmd_object, "OBJECT", "FREQ", "k");
}

Test(keys, object_help_lists_redis_help_lines)
{
    EXPECT("*15\r\n"
           "+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
           "+ENCODING <key>\r\n"
           "+    Return the kind of internal representation used in order to store the value\r\n"
           "+    associated with a <key>.\r\n"
           "+FREQ <key>\r\n"
           "+    Return the access frequency index of the <key>. The returned integer is\r\n"
           "+    proportional to the logarithm of the recent access frequency of the key.\r\n"
           "+IDLETIME <key>\r\n"
           "+    Return the idle time of the <key>, that is the approximated number of\r\n"
           "+    seconds elapsed since the last access to the key.\r\n"
           "+REFCOUNT <key>\r\n"
           "+    Return the number of references of the value associated with the specified\r\n"
           "+    <key>.\r\n"
           "+HELP\r\n"
           "+    Prints this help.\r\n",
           cmd_object, "OBJECT", "help");
}

Test(keys, object_with_an_unknown_subcommand_points_to_help)
{
    EXPECT("-ERR unknown subcommand or wrong number of arguments for 'FOO'. Try OBJECT HELP.\r\n",
           cmd_object, "OBJECT", "FOO", "k");
}

Test(keys, object_lookups_count_hits_and_misses)
{
    put("k", "v");
    RUN(cmd_object, "OBJECT", "ENCODING", "k");
    RUN(cmd_object, "OBJECT", "ENCODING", "nokey");
    cr_assert_eq(s->stats.keyspace_hits, 1);
    cr_assert_eq(s->stats.keyspace_misses, 1);
}

/* ---- the store's snapshot hooks (store.h) ---- */

static int snap_entry_calls, snap_db_calls;
static char snap_last_key[64];

static void fake_entry_hook(struct shard *sh, int dbid, struct entry *e)
{
    (void)dbid;
    size_t kl;
    const char *k = entry_key(e, &kl);
    snprintf(snap_last_key, sizeof(snap_last_key), "%.*s", (int)kl, k);
    snap_entry_calls++;
    /* written: take the parity, as the snapshot does */
    e->flags = (uint8_t)((e->flags & ~ENTRY_SNAP) | store_snap_parity);
    (void)sh;
}

static void fake_db_hook(struct shard *sh, int dbid)
{
    (void)sh;
    (void)dbid;
    snap_db_calls++;
}

Test(keys, snapshot_hooks_see_keys_before_they_change_and_new_keys_are_after_the_cut)
{
    run(s, cmd_set, 3, "SET", "old", "v");
    run(s, cmd_set, 3, "SET", "old2", "v");
    run(s, cmd_set, 3, "SET", "old3", "v");
    struct store_snap_hooks saved = store_snap_hooks;
    uint8_t saved_parity = store_snap_parity;
    store_snap_hooks = (struct store_snap_hooks){fake_entry_hook, fake_db_hook};
    store_snap_parity ^= ENTRY_SNAP; /* the cut */
    s->snap = (struct snap_shard *)&snap_db_calls; /* any non-NULL marker */
    snap_entry_calls = snap_db_calls = 0;
    struct entry *e = db_lookup(s, &s->db[0], "old", 3, LOOKUP_NOTOUCH, NULL);
    cr_assert(entry_snap_pending(s, e), "a key from before the cut is not written yet");
    /* a new key is after the cut */
    run(s, cmd_set, 3, "SET", "new", "v");
    e = db_lookup(s, &s->db[0], "new", 3, LOOKUP_NOTOUCH, NULL);
    cr_assert(!entry_snap_pending(s, e));
    cr_assert_eq(snap_entry_calls, 0);
    /* replacing, deleting and re-expiring an old key write it first */
    run(s, cmd_set, 3, "SET", "old", "w");
    cr_assert_eq(snap_entry_calls, 1);
    cr_assert_str_eq(snap_last_key, "old");
    e = db_lookup(s, &s->db[0], "old", 3, LOOKUP_NOTOUCH, NULL);
    cr_assert(!entry_snap_pending(s, e), "the replacement is after the cut");
    run(s, cmd_expire, 3, "EXPIRE", "old2", "100");
    cr_assert_eq(snap_entry_calls, 2);
    cr_assert_str_eq(snap_last_key, "old2");
    run(s, cmd_del, 2, "DEL", "old3");
    cr_assert_eq(snap_entry_calls, 3);
    cr_assert_str_eq(snap_last_key, "old3");
    /* written keys are not written again */
    run(s, cmd_del, 2, "DEL", "old2");
    cr_assert_eq(snap_entry_calls, 3);
    /* a flush tells the db hook first */
    run(s, cmd_flushdb, 1, "FLUSHDB");
    cr_assert_eq(snap_db_calls, 1);
    s->snap = NULL;
    store_snap_hooks = saved;
    store_snap_parity = saved_parity;
}
