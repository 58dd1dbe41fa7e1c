/* Unit tests for store/t_string.c: every string command against one shard,
 * checked byte for byte against the RESP that redis-server 7.0.15 sends for
 * the same input (the expected texts below were taken from it), plus the
 * stored encoding and TTL of the entries the commands leave behind.
 *
 * The shard clock starts at T0 and only moves when a test advances it, so
 * expiry is deterministic.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>

#include "harness.h"


TestSuite(string, .init = harness_setup, .fini = harness_teardown);

#define WRONGTYPE "-" ERR_WRONGTYPE "\r\n"
#define SYNTAX "-" ERR_SYNTAX "\r\n"
#define NOT_INT "-" ERR_NOT_INT "\r\n"
#define NOT_FLOAT "-" ERR_NOT_FLOAT "\r\n"
#define OVERFLOW "-" ERR_OVERFLOW "\r\n"
#define STRING_SIZE "-" ERR_STRING_SIZE "\r\n"
#define NIL "$-1\r\n"
#define EMPTY "$0\r\n\r\n"

/* The live entry of key k, without touching LRU or stats. */
static struct entry *find(const char *k)
{
    return db_lookup(s, &s->db[0], k, strlen(k), LOOKUP_NOTOUCH | LOOKUP_NOSTATS, NULL);
}

static int enc_of(const char *k)
{
    struct entry *e = find(k);
    cr_assert_not_null(e, "key %s missing", k);
    return entry_enc(e);
}

static int64_t expire_of(const char *k)
{
    struct entry *e = find(k);
    cr_assert_not_null(e, "key %s missing", k);
    return entry_expire(e);
}

/* A key holding a list (a real one: freeing it runs the list's code). */
static void make_list(const char *k)
{
    RUN(cmd_rpush, "RPUSH", k, "x");
}

static void advance(int64_t ms)
{
    shard_tick(s, s->now_ms + ms);
}

static const char *runb(void (*fn)(struct cmd_ctx *), int argc, const struct resp_arg *argv)
{
    return runv(s, fn, argc, argv);
}

/* ---------------------------------------------------------------- GET */

Test(string, get_of_a_missing_key_replies_null_in_both_protocols)
{
    EXPECT(NIL, cmd_get, "GET", "nokey");
    harness_proto = 3;
    EXPECT("_\r\n", cmd_get, "GET", "nokey");
}

Test(string, get_returns_the_stored_value)
{
    EXPECT("+OK\r\n", cmd_set, "SET", "k", "hello");
    EXPECT("$5\r\nhello\r\n", cmd_get, "GET", "k");
}

Test(string, get_of_an_int_encoded_value_returns_its_decimal_text)
{
    RUN(cmd_set, "SET", "k", "-9223372036854775808");
    cr_assert_eq(enc_of("k"), ENC_INT);
    EXPECT("$20\r\n-9223372036854775808\r\n", cmd_get, "GET", "k");
}

Test(string, get_of_a_non_string_key_replies_wrongtype)
{
    make_list("l");
    EXPECT(WRONGTYPE, cmd_get, "GET", "l");
}

Test(string, get_of_an_expired_key_replies_null_and_removes_it)
{
    RUN(cmd_set, "SET", "k", "v", "PX", "100");
    advance(100);
    EXPECT("$1\r\nv\r\n", cmd_get, "GET", "k");
    advance(1);
    EXPECT(NIL, cmd_get, "GET", "k");
    cr_assert_eq(db_size(&s->db[0]), 0);
    cr_assert_eq(s->stats.expired_keys, 1);
}

Test(string, get_counts_keyspace_hits_and_misses)
{
    RUN(cmd_set, "SET", "k", "v");
    RUN(cmd_get, "GET", "k");
    RUN(cmd_get, "GET", "missing");
    cr_assert_eq(s->stats.keyspace_hits, 1);
    cr_assert_eq(s->stats.keyspace_misses, 1);
}

/* ---------------------------------------------------------------- SET */

Test(string, set_picks_int_embstr_or_raw_encoding_as_redis_does)
{
    static const struct {
        const char *v;
        int enc;
    } cases[] = {
        {"123", ENC_INT},
        {"-1", ENC_INT},
        {"0", ENC_INT},
        {"9223372036854775807", ENC_INT},
        {"-9223372036854775808", ENC_INT},
        {"9223372036854775808", ENC_EMBSTR},
        {"0123", ENC_EMBSTR},
        {"-0", ENC_EMBSTR},
        {"+1", ENC_EMBSTR},
        {" 1", ENC_EMBSTR},
        {"1.5", ENC_EMBSTR},
        {"", ENC_EMBSTR},
        {"hello", ENC_EMBSTR},
        {"12345678901234567890123456789012345678901234", ENC_EMBSTR}, /* 44 */
        {"123456789012345678901234567890123456789012345", ENC_RAW},   /* 45 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        EXPECT("+OK\r\n", cmd_set, "SET", "k", cases[i].v);
        cr_assert_eq(enc_of("k"), cases[i].enc, "value '%s'", cases[i].v);
        char want[128];
        snprintf(want, sizeof(want), "$%zu\r\n%s\r\n", strlen(cases[i].v), cases[i].v);
        EXPECT(want, cmd_get, "GET", "k");
    }
}

Test(string, set_overwrites_a_key_of_another_type)
{
    make_list("l");
    EXPECT("+OK\r\n", cmd_set, "SET", "l", "v");
    EXPECT("$1\r\nv\r\n", cmd_get, "GET", "l");
    cr_assert_eq(entry_type(find("l")), OBJ_STRING);
}

Test(string, set_without_keepttl_clears_the_ttl)
{
    RUN(cmd_set, "SET", "k", "v", "EX", "100");
    cr_assert_eq(expire_of("k"), T0 + 100000);
    cr_assert_eq(s->db[0].volatile_keys, 1);
    EXPECT("+OK\r\n", cmd_set, "SET", "k", "w");
    cr_assert_eq(expire_of("k"), -1);
    cr_assert_eq(s->db[0].volatile_keys, 0);
}

Test(string, set_keepttl_keeps_the_existing_ttl)
{
    RUN(cmd_set, "SET", "k", "v", "PX", "5000");
    EXPECT("+OK\r\n", cmd_set, "SET", "k", "w", "KEEPTTL");
    cr_assert_eq(expire_of("k"), T0 + 5000);
    EXPECT("$1\r\nw\r\n", cmd_get, "GET", "k");
    advance(5001);
    EXPECT(NIL, cmd_get, "GET", "k");
}

Test(string, set_keepttl_on_a_missing_key_sets_no_ttl)
{
    EXPECT("+OK\r\n", cmd_set, "SET", "k", "v", "keepttl");
    cr_assert_eq(expire_of("k"), -1);
}

Test(string, set_ex_and_px_set_a_ttl_relative_to_the_shard_clock)
{
    EXPECT("+OK\r\n", cmd_set, "SET", "a", "v", "EX", "10");
    EXPECT("+OK\r\n", cmd_set, "SET", "b", "v", "PX", "10");
    cr_assert_eq(expire_of("a"), T0 + 10000);
    cr_assert_eq(expire_of("b"), T0 + 10);
    advance(11);
    EXPECT(NIL, cmd_get, "GET", "b");
    EXPECT("$1\r\nv\r\n", cmd_get, "GET", "a");
}

Test(string, set_exat_and_pxat_set_an_absolute_expiry)
{
    EXPECT("+OK\r\n", cmd_set, "SET", "a", "v", "EXAT", "1800000000");
    EXPECT("+OK\r\n", cmd_set, "SET", "b", "v", "PXAT", "1800000000123");
    cr_assert_eq(expire_of("a"), 1800000000000LL);
    cr_assert_eq(expire_of("b"), 1800000000123LL);
}

Test(string, set_with_a_past_pxat_stores_a_key_that_expires_on_access)
{
    EXPECT("+OK\r\n", cmd_set, "SET", "k", "v", "PXAT", "1");
    cr_assert_eq(db_size(&s->db[0]), 1);
    EXPECT(NIL, cmd_get, "GET", "k");
    cr_assert_eq(db_size(&s->db[0]), 0);
}

Test(string, set_nx_sets_only_a_missing_key)
{
    EXPECT("+OK\r\n", cmd_set, "SET", "k", "v1", "NX");
    EXPECT(NIL, cmd_set, "SET", "k", "v2", "nx");
    EXPECT("$2\r\nv1\r\n", cmd_get, "GET", "k");
    make_list("l");
    EXPECT(NIL, cmd_set, "SET", "l", "v", "NX");
    cr_assert_eq(entry_type(find("l")), OBJ_LIST);
}

Test(string, set_xx_sets_only_an_existing_key)
{
    EXPECT(NIL, cmd_set, "SET", "k", "v1", "XX");
    cr_assert_null(find("k"));
    RUN(cmd_set, "SET", "k", "v1");
    EXPECT("+OK\r\n", cmd_set, "SET", "k", "v2", "xx");
    EXPECT("$2\r\nv2\r\n", cmd_get, "GET", "k");
    harness_proto = 3;
    EXPECT("_\r\n", cmd_set, "SET", "other", "v", "XX");
}

Test(string, set_nx_on_an_expired_key_sets_it)
{
    RUN(cmd_set, "SET", "k", "old", "PX", "1");
    advance(2);
    EXPECT("+OK\r\n", cmd_set, "SET", "k", "new", "NX");
    EXPECT("$3\r\nnew\r\n", cmd_get, "GET", "k");
}

Test(string, set_get_replies_the_old_value_and_sets_the_new_one)
{
    RUN(cmd_set, "SET", "k", "old");
    EXPECT("$3\r\nold\r\n", cmd_set, "SET", "k", "new", "GET");
    EXPECT("$3\r\nnew\r\n", cmd_get, "GET", "k");
    EXPECT(NIL, cmd_set, "SET", "fresh", "v", "get");
    EXPECT("$1\r\nv\r\n", cmd_get, "GET", "fresh");
}

Test(string, set_get_on_a_wrong_type_key_replies_wrongtype_and_sets_nothing)
{
    make_list("l");
    EXPECT(WRONGTYPE, cmd_set, "SET", "l", "v", "GET");
    EXPECT(WRONGTYPE, cmd_set, "SET", "l", "v", "NX", "GET");
    cr_assert_eq(entry_type(find("l")), OBJ_LIST);
}

Test(string, set_nx_get_replies_the_old_value_without_setting)
{
    EXPECT(NIL, cmd_set, "SET", "k", "v", "NX", "GET");
    EXPECT("$1\r\nv\r\n", cmd_set, "SET", "k", "v2", "NX", "GET");
    EXPECT("$1\r\nv\r\n", cmd_get, "GET", "k");
}

Test(string, set_xx_get_on_a_missing_key_replies_null_without_setting)
{
    EXPECT(NIL, cmd_set, "SET", "k", "v", "XX", "GET");
    cr_assert_null(find("k"));
    RUN(cmd_set, "SET", "k", "v");
    EXPECT("$1\r\nv\r\n", cmd_set, "SET", "k", "v3", "XX", "GET");
    EXPECT("$2\r\nv3\r\n", cmd_get, "GET", "k");
}

Test(string, set_get_with_ex_replies_the_old_value_and_sets_the_ttl)
{
    RUN(cmd_set, "SET", "k", "old");
    EXPECT("$3\r\nold\r\n", cmd_set, "SET", "k", "new", "GET", "EX", "5");
    cr_assert_eq(expire_of("k"), T0 + 5000);
}

Test(string, set_rejects_conflicting_or_incomplete_options_with_a_syntax_error)
{
    static const char *bad[][4] = {
        {"NX", "XX", NULL},
        {"XX", "NX", NULL},
        {"KEEPTTL", "PX", "10", NULL},
        {"PX", "10", "KEEPTTL"},
        {"EX", "10", "EXAT", "10"},
        {"PX", "10", "PXAT", "10"},
        {"EX", "10", "PX", "10"},
        {"PXAT", "1", "EXAT", "1"},
        {"PERSIST", NULL},
        {"EX", NULL},
        {"PXAT", NULL},
        {"foo", NULL},
        {"NXX", NULL},
        {"GET", "EX", NULL},
        {"EXAT", "1", "EX", "1"},
    };
    RUN(cmd_set, "SET", "k", "orig");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct resp_arg argv[8] = {{"SET", 3}, {"k", 1}, {"v", 1}};
        int argc = 3;
        for (int j = 0; j < 4 && bad[i][j]; j++, argc++)
            argv[argc] = (struct resp_arg){bad[i][j], strlen(bad[i][j])};
        cr_assert_str_eq(runb(cmd_set, argc, argv), SYNTAX, "case %zu", i);
    }
    EXPECT("$4\r\norig\r\n", cmd_get, "GET", "k");
}

Test(string, set_accepts_repeated_options_and_the_last_expire_wins)
{
    EXPECT(NIL, cmd_set, "SET", "k", "v", "get", "GET", "get");
    EXPECT(NIL, cmd_set, "SET", "k", "v", "NX", "nx");
    EXPECT("+OK\r\n", cmd_set, "SET", "k", "v", "EX", "10", "ex", "20");
    cr_assert_eq(expire_of("k"), T0 + 20000);
    EXPECT("+OK\r\n", cmd_set, "SET", "k", "v", "KEEPTTL", "KEEPTTL");
    cr_assert_eq(expire_of("k"), T0 + 20000);
}

Test(string, set_option_words_are_case_insensitive)
{
    EXPECT("+OK\r\n", cmd_set, "set", "k", "v", "Px", "100", "nX");
    cr_assert_eq(expire_of("k"), T0 + 100);
    EXPECT("$1\r\nv\r\n", cmd_set, "SET", "k", "w", "gEt", "kEePtTl", "xX");
    cr_assert_eq(expire_of("k"), T0 + 100);
}

Test(string, set_rejects_zero_or_negative_expire_times)
{
    EXPECT("-ERR invalid expire time in 'set' command\r\n", cmd_set, "SET", "k", "v", "EX", "0");
    EXPECT("-ERR invalid expire time in 'set' command\r\n", cmd_set, "SET", "k", "v", "PX", "-1");
    EXPECT("-ERR invalid expire time in 'set' command\r\n", cmd_set, "SET", "k", "v", "EXAT", "0");
    EXPECT("-ERR invalid expire time in 'set' command\r\n", cmd_set, "SET", "k", "v", "PXAT", "-5");
    cr_assert_null(find("k"));
}

Test(string, set_rejects_expire_times_that_overflow)
{
    const char *err = "-ERR invalid expire time in 'set' command\r\n";
    EXPECT(err, cmd_set, "SET", "k", "v", "EX", "9223372036854776");
    EXPECT(err, cmd_set, "SET", "k", "v", "EXAT", "9223372036854776");
    /* Fits once multiplied, but adding the clock overflows. */
    EXPECT(err, cmd_set, "SET", "k", "v", "EX", "9223372036854775");
    EXPECT(err, cmd_set, "SET", "k", "v", "PX", "9223372036854775807");
    cr_assert_null(find("k"));
    /* Absolute times have nothing added and are accepted. */
    EXPECT("+OK\r\n", cmd_set, "SET", "k", "v", "EXAT", "9223372036854775");
    cr_assert_eq(expire_of("k"), 9223372036854775000LL);
    EXPECT("+OK\r\n", cmd_set, "SET", "k", "v", "PXAT", "9223372036854775807");
    cr_assert_eq(expire_of("k"), LLONG_MAX);
}

Test(string, set_rejects_a_non_integer_expire_time)
{
    EXPECT(NOT_INT, cmd_set, "SET", "k", "v", "EX", "abc");
    EXPECT(NOT_INT, cmd_set, "SET", "k", "v", "PX", "1.5");
    EXPECT(NOT_INT, cmd_set, "SET", "k", "v", "EX", " 10");
    EXPECT(NOT_INT, cmd_set, "SET", "k", "v", "EX", "99999999999999999999");
    cr_assert_null(find("k"));
}

Test(string, set_reports_syntax_before_expire_and_expire_before_wrongtype)
{
    make_list("l");
    EXPECT(SYNTAX, cmd_set, "SET", "l", "v", "EX", "0", "NX", "XX");
    EXPECT("-ERR invalid expire time in 'set' command\r\n", cmd_set, "SET", "l", "v", "EX", "0",
           "GET");
}

Test(string, set_and_get_are_binary_safe_in_keys_and_values)
{
    struct resp_arg set[] = {{"SET", 3}, {"k\0y", 3}, {"a\0b\r\nc", 6}};
    cr_assert_str_eq(runb(cmd_set, 3, set), "+OK\r\n");
    struct resp_arg get[] = {{"GET", 3}, {"k\0y", 3}};
    runb(cmd_get, 2, get);
    ASSERT_LAST_BIN("$6\r\na\0b\r\nc\r\n");
    struct resp_arg get2[] = {{"GET", 3}, {"k", 1}};
    cr_assert_str_eq(runb(cmd_get, 2, get2), NIL);
}

Test(string, set_reads_option_words_as_c_strings_as_redis_does)
{
    struct resp_arg argv[] = {{"SET", 3}, {"k", 1}, {"v", 1}, {"NX\0junk", 7}};
    cr_assert_str_eq(runb(cmd_set, 4, argv), "+OK\r\n");
    cr_assert_str_eq(runb(cmd_set, 4, argv), NIL);
}

Test(string, set_counts_one_change_per_write)
{
    uint64_t d = s->dirty;
    RUN(cmd_set, "SET", "k", "v");
    cr_assert_eq(s->dirty, d + 1);
    RUN(cmd_set, "SET", "k", "v", "NX");
    cr_assert_eq(s->dirty, d + 1);
}

/* ------------------------------------------------ SETNX, SETEX, PSETEX */

Test(string, setnx_replies_one_when_it_sets_and_zero_when_the_key_exists)
{
    EXPECT(":1\r\n", cmd_setnx, "SETNX", "k", "v");
    EXPECT(":0\r\n", cmd_setnx, "SETNX", "k", "w");
    EXPECT("$1\r\nv\r\n", cmd_get, "GET", "k");
    make_list("l");
    EXPECT(":0\r\n", cmd_setnx, "SETNX", "l", "w");
    cr_assert_eq(enc_of("k"), ENC_EMBSTR);
    EXPECT(":1\r\n", cmd_setnx, "SETNX", "n", "42");
    cr_assert_eq(enc_of("n"), ENC_INT);
}

Test(string, setex_sets_the_value_with_a_ttl_in_seconds)
{
    RUN(cmd_set, "SET", "k", "old", "PX", "1");
    EXPECT("+OK\r\n", cmd_setex, "SETEX", "k", "60", "v");
    cr_assert_eq(expire_of("k"), T0 + 60000);
    EXPECT("$1\r\nv\r\n", cmd_get, "GET", "k");
    advance(60001);
    EXPECT(NIL, cmd_get, "GET", "k");
}

Test(string, setex_errors_name_the_setex_command)
{
    EXPECT("-ERR invalid expire time in 'setex' command\r\n", cmd_setex, "SETEX", "k", "0", "v");
    EXPECT("-ERR invalid expire time in 'setex' command\r\n", cmd_setex, "setex", "k",
           "9223372036854776", "v");
    EXPECT(NOT_INT, cmd_setex, "SETEX", "k", "abc", "v");
    cr_assert_null(find("k"));
}

Test(string, psetex_sets_the_value_with_a_ttl_in_milliseconds)
{
    EXPECT("+OK\r\n", cmd_psetex, "PSETEX", "k", "1500", "123");
    cr_assert_eq(expire_of("k"), T0 + 1500);
    cr_assert_eq(enc_of("k"), ENC_INT);
    EXPECT("-ERR invalid expire time in 'psetex' command\r\n", cmd_psetex, "PSETEX", "k", "-1",
           "v");
    EXPECT("-ERR invalid expire time in 'psetex' command\r\n", cmd_psetex, "PSETEX", "k",
           "9223372036854775807", "v");
    EXPECT("$3\r\n123\r\n", cmd_get, "GET", "k");
}

Test(string, setex_overwrites_a_key_of_another_type)
{
    make_list("l");
    EXPECT("+OK\r\n", cmd_setex, "SETEX", "l", "10", "v");
    cr_assert_eq(entry_type(find("l")), OBJ_STRING);
}

/* ------------------------------------------------- GETSET, GETDEL */

Test(string, getset_replies_the_old_value_and_clears_the_ttl)
{
    RUN(cmd_set, "SET", "k", "old", "EX", "100");
    EXPECT("$3\r\nold\r\n", cmd_getset, "GETSET", "k", "new");
    EXPECT("$3\r\nnew\r\n", cmd_get, "GET", "k");
    cr_assert_eq(expire_of("k"), -1);
}

Test(string, getset_on_a_missing_key_replies_null_and_sets_it)
{
    EXPECT(NIL, cmd_getset, "GETSET", "k", "5");
    cr_assert_eq(enc_of("k"), ENC_INT);
    harness_proto = 3;
    EXPECT("_\r\n", cmd_getset, "GETSET", "k2", "v");
}

Test(string, getset_on_a_wrong_type_key_replies_wrongtype_and_keeps_it)
{
    make_list("l");
    EXPECT(WRONGTYPE, cmd_getset, "GETSET", "l", "v");
    cr_assert_eq(entry_type(find("l")), OBJ_LIST);
}

Test(string, getdel_replies_the_value_and_deletes_the_key)
{
    RUN(cmd_set, "SET", "k", "v", "EX", "10");
    EXPECT("$1\r\nv\r\n", cmd_getdel, "GETDEL", "k");
    cr_assert_null(find("k"));
    cr_assert_eq(s->db[0].volatile_keys, 0);
    EXPECT(NIL, cmd_getdel, "GETDEL", "k");
}

Test(string, getdel_on_a_wrong_type_key_replies_wrongtype_and_keeps_it)
{
    make_list("l");
    EXPECT(WRONGTYPE, cmd_getdel, "GETDEL", "l");
    cr_assert_not_null(find("l"));
}

/* ---------------------------------------------------------------- GETEX */

Test(string, getex_without_options_is_a_get_that_keeps_the_ttl)
{
    RUN(cmd_set, "SET", "k", "v", "EX", "10");
    EXPECT("$1\r\nv\r\n", cmd_getex, "GETEX", "k");
    cr_assert_eq(expire_of("k"), T0 + 10000);
}

Test(string, getex_ex_and_px_set_a_relative_ttl)
{
    RUN(cmd_set, "SET", "k", "v");
    EXPECT("$1\r\nv\r\n", cmd_getex, "GETEX", "k", "EX", "7");
    cr_assert_eq(expire_of("k"), T0 + 7000);
    EXPECT("$1\r\nv\r\n", cmd_getex, "GETEX", "k", "px", "70");
    cr_assert_eq(expire_of("k"), T0 + 70);
    cr_assert_eq(s->db[0].volatile_keys, 1);
}

Test(string, getex_exat_and_pxat_set_an_absolute_expiry)
{
    RUN(cmd_set, "SET", "k", "12");
    EXPECT("$2\r\n12\r\n", cmd_getex, "GETEX", "k", "EXAT", "1800000000");
    cr_assert_eq(expire_of("k"), 1800000000000LL);
    EXPECT("$2\r\n12\r\n", cmd_getex, "GETEX", "k", "PXAT", "1800000000001");
    cr_assert_eq(expire_of("k"), 1800000000001LL);
    cr_assert_eq(enc_of("k"), ENC_INT);
}

Test(string, getex_persist_removes_the_ttl)
{
    RUN(cmd_set, "SET", "k", "v", "EX", "10");
    EXPECT("$1\r\nv\r\n", cmd_getex, "GETEX", "k", "PERSIST");
    cr_assert_eq(expire_of("k"), -1);
    cr_assert_eq(s->db[0].volatile_keys, 0);
    EXPECT("$1\r\nv\r\n", cmd_getex, "GETEX", "k", "persist");
    cr_assert_eq(expire_of("k"), -1);
}

Test(string, getex_with_a_pxat_not_in_the_future_replies_the_value_and_deletes_the_key)
{
    char now[32];
    snprintf(now, sizeof(now), "%lld", T0);
    RUN(cmd_set, "SET", "k", "v");
    EXPECT("$1\r\nv\r\n", cmd_getex, "GETEX", "k", "PXAT", now);
    cr_assert_null(find("k"));
    RUN(cmd_set, "SET", "k", "v");
    EXPECT("$1\r\nv\r\n", cmd_getex, "GETEX", "k", "EXAT", "1");
    cr_assert_null(find("k"));
}

Test(string, getex_on_a_missing_key_replies_null_even_with_an_invalid_expire)
{
    EXPECT(NIL, cmd_getex, "GETEX", "nokey", "EX", "0");
    EXPECT(NIL, cmd_getex, "GETEX", "nokey", "EX", "abc");
    EXPECT(NIL, cmd_getex, "GETEX", "nokey", "PERSIST");
}

Test(string, getex_rejects_set_only_options_and_conflicts_with_a_syntax_error)
{
    RUN(cmd_set, "SET", "k", "v");
    EXPECT(SYNTAX, cmd_getex, "GETEX", "k", "KEEPTTL");
    EXPECT(SYNTAX, cmd_getex, "GETEX", "k", "NX");
    EXPECT(SYNTAX, cmd_getex, "GETEX", "k", "GET");
    EXPECT(SYNTAX, cmd_getex, "GETEX", "k", "PERSIST", "EX", "10");
    EXPECT(SYNTAX, cmd_getex, "GETEX", "k", "EX", "10", "PERSIST");
    EXPECT(SYNTAX, cmd_getex, "GETEX", "k", "EX");
    EXPECT(SYNTAX, cmd_getex, "GETEX", "nokey", "foo");
}

Test(string, getex_rejects_bad_expire_times_naming_getex)
{
    RUN(cmd_set, "SET", "k", "v", "EX", "10");
    EXPECT("-ERR invalid expire time in 'getex' command\r\n", cmd_getex, "GETEX", "k", "EX", "0");
    EXPECT("-ERR invalid expire time in 'getex' command\r\n", cmd_getex, "GETEX", "k", "PX",
           "9223372036854775807");
    EXPECT(NOT_INT, cmd_getex, "GETEX", "k", "PXAT", "abc");
    cr_assert_eq(expire_of("k"), T0 + 10000);
}

Test(string, getex_on_a_wrong_type_key_replies_wrongtype_before_parsing_the_expire)
{
    make_list("l");
    EXPECT(WRONGTYPE, cmd_getex, "GETEX", "l", "PERSIST");
    EXPECT(WRONGTYPE, cmd_getex, "GETEX", "l", "EX", "abc");
}

/* ------------------------------------------------- MGET, MSET, MSETNX */

Test(string, mget_replies_null_for_missing_and_non_string_keys)
{
    RUN(cmd_set, "SET", "a", "1");
    RUN(cmd_set, "SET", "b", "two");
    make_list("l");
    EXPECT("*4\r\n$1\r\n1\r\n$3\r\ntwo\r\n$-1\r\n$-1\r\n", cmd_mget, "MGET", "a", "b", "l",
           "nokey");
    harness_proto = 3;
    EXPECT("*3\r\n$1\r\n1\r\n_\r\n_\r\n", cmd_mget, "MGET", "a", "l", "nokey");
}

Test(string, mget_treats_expired_keys_as_missing)
{
    RUN(cmd_set, "SET", "a", "1", "PX", "10");
    RUN(cmd_set, "SET", "b", "2");
    advance(11);
    EXPECT("*2\r\n$-1\r\n$1\r\n2\r\n", cmd_mget, "MGET", "a", "b");
}

Test(string, mset_sets_every_pair_and_clears_their_ttls)
{
    RUN(cmd_set, "SET", "a", "old", "EX", "10");
    make_list("l");
    EXPECT("+OK\r\n", cmd_mset, "MSET", "a", "1", "b", "bee", "l", "x");
    EXPECT("*3\r\n$1\r\n1\r\n$3\r\nbee\r\n$1\r\nx\r\n", cmd_mget, "MGET", "a", "b", "l");
    cr_assert_eq(expire_of("a"), -1);
    cr_assert_eq(enc_of("a"), ENC_INT);
    cr_assert_eq(enc_of("b"), ENC_EMBSTR);
    cr_assert_eq(s->db[0].volatile_keys, 0);
}

Test(string, mset_with_a_key_twice_keeps_the_last_value)
{
    EXPECT("+OK\r\n", cmd_mset, "MSET", "a", "1", "a", "2");
    EXPECT("$1\r\n2\r\n", cmd_get, "GET", "a");
    cr_assert_eq(db_size(&s->db[0]), 1);
}

Test(string, mset_and_msetnx_with_a_key_without_value_reply_an_arity_error)
{
    EXPECT("-ERR wrong number of arguments for 'mset' command\r\n", cmd_mset, "MSET", "a", "b",
           "c");
    EXPECT("-ERR wrong number of arguments for 'msetnx' command\r\n", cmd_msetnx, "MSETNX", "a",
           "b", "c");
    cr_assert_eq(db_size(&s->db[0]), 0);
}

Test(string, msetnx_sets_nothing_when_any_key_exists)
{
    RUN(cmd_set, "SET", "b", "orig");
    EXPECT(":0\r\n", cmd_msetnx, "MSETNX", "a", "1", "b", "2");
    cr_assert_null(find("a"));
    EXPECT("$4\r\norig\r\n", cmd_get, "GET", "b");
    make_list("l");
    EXPECT(":0\r\n", cmd_msetnx, "MSETNX", "c", "1", "l", "2");
    cr_assert_null(find("c"));
}

Test(string, msetnx_sets_every_pair_when_no_key_exists)
{
    RUN(cmd_set, "SET", "gone", "x", "PX", "5");
    advance(6);
    EXPECT(":1\r\n", cmd_msetnx, "MSETNX", "a", "1", "gone", "2");
    EXPECT("*2\r\n$1\r\n1\r\n$1\r\n2\r\n", cmd_mget, "MGET", "a", "gone");
}

/* ---------------------------------------------------------------- APPEND */

Test(string, append_to_a_missing_key_creates_it_with_set_encoding)
{
    EXPECT(":3\r\n", cmd_append, "APPEND", "n", "123");
    cr_assert_eq(enc_of("n"), ENC_INT);
    EXPECT(":5\r\n", cmd_append, "APPEND", "s", "hello");
    cr_assert_eq(enc_of("s"), ENC_EMBSTR);
    cr_assert_eq(expire_of("s"), -1);
}

Test(string, append_to_an_existing_value_makes_it_raw_and_keeps_the_ttl)
{
    RUN(cmd_set, "SET", "k", "hello", "EX", "100");
    cr_assert_eq(enc_of("k"), ENC_EMBSTR);
    EXPECT(":11\r\n", cmd_append, "APPEND", "k", " world");
    cr_assert_eq(enc_of("k"), ENC_RAW);
    cr_assert_eq(expire_of("k"), T0 + 100000);
    EXPECT("$11\r\nhello world\r\n", cmd_get, "GET", "k");
}

Test(string, append_to_an_int_value_appends_to_its_decimal_text)
{
    RUN(cmd_set, "SET", "k", "123");
    EXPECT(":4\r\n", cmd_append, "APPEND", "k", "4");
    cr_assert_eq(enc_of("k"), ENC_RAW);
    EXPECT("$4\r\n1234\r\n", cmd_get, "GET", "k");
}

Test(string, append_of_an_empty_string_still_makes_the_value_raw)
{
    RUN(cmd_set, "SET", "k", "abc");
    EXPECT(":3\r\n", cmd_append, "APPEND", "k", "");
    cr_assert_eq(enc_of("k"), ENC_RAW);
    EXPECT("$3\r\nabc\r\n", cmd_get, "GET", "k");
}

Test(string, repeated_append_grows_a_raw_value_in_place)
{
    char want[3001];
    RUN(cmd_set, "SET", "k", "");
    for (int i = 0; i < 1000; i++) {
        char reply[16];
        snprintf(reply, sizeof(reply), ":%d\r\n", (i + 1) * 3);
        EXPECT(reply, cmd_append, "APPEND", "k", "abc");
        memcpy(want + i * 3, "abc", 3);
    }
    want[3000] = '\0';
    struct entry *e = find("k");
    cr_assert_eq(entry_enc(e), ENC_RAW);
    size_t len;
    char buf[21];
    const char *v = entry_str(e, &len, buf);
    cr_assert_eq(len, 3000);
    cr_assert(memcmp(v, want, 3000) == 0);
    /* The buffer was grown geometrically, not to the exact size each time. */
    struct sbuf *b = entry_get_ptr(e);
    cr_assert_geq(b->cap, 3000);
    /* Once raw, appending does not replace the entry. */
    RUN(cmd_append, "APPEND", "k", "x");
    cr_assert_eq(find("k"), e);
}

Test(string, append_in_place_counts_a_change)
{
    RUN(cmd_set, "SET", "k", "v");
    RUN(cmd_append, "APPEND", "k", "v");
    uint64_t d = s->dirty;
    RUN(cmd_append, "APPEND", "k", "v");
    cr_assert_eq(s->dirty, d + 1);
}

Test(string, append_is_binary_safe)
{
    struct resp_arg a1[] = {{"APPEND", 6}, {"k", 1}, {"a\0", 2}};
    struct resp_arg a2[] = {{"APPEND", 6}, {"k", 1}, {"\0b", 2}};
    cr_assert_str_eq(runb(cmd_append, 3, a1), ":2\r\n");
    cr_assert_str_eq(runb(cmd_append, 3, a2), ":4\r\n");
    RUN(cmd_get, "GET", "k");
    ASSERT_LAST_BIN("$4\r\na\0\0b\r\n");
}

Test(string, append_past_the_maximum_string_size_is_refused)
{
    store_max_string = 10;
    RUN(cmd_set, "SET", "k", "12345");
    EXPECT(":10\r\n", cmd_append, "APPEND", "k", "67890");
    EXPECT(STRING_SIZE, cmd_append, "APPEND", "k", "x");
    EXPECT("$10\r\n1234567890\r\n", cmd_get, "GET", "k");
}

Test(string, append_to_a_wrong_type_key_replies_wrongtype)
{
    make_list("l");
    EXPECT(WRONGTYPE, cmd_append, "APPEND", "l", "x");
}

/* ---------------------------------------------------------------- STRLEN */

Test(string, strlen_counts_bytes_of_strings_and_digits_of_ints)
{
    RUN(cmd_set, "SET", "s", "hello");
    RUN(cmd_set, "SET", "n", "-12345");
    EXPECT(":5\r\n", cmd_strlen, "STRLEN", "s");
    EXPECT(":6\r\n", cmd_strlen, "STRLEN", "n");
    EXPECT(":0\r\n", cmd_strlen, "STRLEN", "nokey");
    RUN(cmd_set, "SET", "r", "123456789012345678901234567890123456789012345678901");
    EXPECT(":51\r\n", cmd_strlen, "STRLEN", "r");
    make_list("l");
    EXPECT(WRONGTYPE, cmd_strlen, "STRLEN", "l");
}

/* ---------------------------------------------------------------- GETRANGE */

Test(string, getrange_returns_inclusive_ranges_with_negative_indexes)
{
    RUN(cmd_set, "SET", "s", "Hello World");
    EXPECT("$5\r\nHello\r\n", cmd_getrange, "GETRANGE", "s", "0", "4");
    EXPECT("$5\r\nWorld\r\n", cmd_getrange, "GETRANGE", "s", "-5", "-1");
    EXPECT("$11\r\nHello World\r\n", cmd_getrange, "GETRANGE", "s", "0", "-1");
    EXPECT("$1\r\nd\r\n", cmd_getrange, "GETRANGE", "s", "-1", "-1");
}

Test(string, getrange_clamps_out_of_range_indexes_as_redis_does)
{
    RUN(cmd_set, "SET", "s", "Hello World");
    EXPECT("$1\r\nH\r\n", cmd_getrange, "GETRANGE", "s", "0", "-100");
    EXPECT("$11\r\nHello World\r\n", cmd_getrange, "GETRANGE", "s", "-100", "-1");
    EXPECT("$11\r\nHello World\r\n", cmd_getrange, "GETRANGE", "s", "0", "1000");
    EXPECT(EMPTY, cmd_getrange, "GETRANGE", "s", "100", "200");
    EXPECT(EMPTY, cmd_getrange, "GETRANGE", "s", "-1", "-5");
    EXPECT(EMPTY, cmd_getrange, "GETRANGE", "s", "5", "2");
    EXPECT(EMPTY, cmd_getrange, "GETRANGE", "s", "-1", "5");
    EXPECT(EMPTY, cmd_getrange, "GETRANGE", "s", "-100", "-200");
    EXPECT(EMPTY, cmd_getrange, "GETRANGE", "s", "3", "-100");
    EXPECT("$11\r\nHello World\r\n", cmd_getrange, "GETRANGE", "s", "-9223372036854775808",
           "9223372036854775807");
}

Test(string, getrange_of_an_int_value_slices_its_decimal_text)
{
    RUN(cmd_set, "SET", "n", "12345");
    EXPECT("$2\r\n23\r\n", cmd_getrange, "GETRANGE", "n", "1", "2");
    EXPECT("$1\r\n5\r\n", cmd_getrange, "GETRANGE", "n", "-1", "-1");
}

Test(string, getrange_of_a_missing_key_or_empty_value_is_an_empty_bulk)
{
    EXPECT(EMPTY, cmd_getrange, "GETRANGE", "nokey", "0", "-1");
    RUN(cmd_set, "SET", "e", "");
    EXPECT(EMPTY, cmd_getrange, "GETRANGE", "e", "0", "-1");
    EXPECT(EMPTY, cmd_getrange, "GETRANGE", "e", "-1", "0");
    harness_proto = 3;
    EXPECT(EMPTY, cmd_getrange, "GETRANGE", "nokey", "0", "-1");
}

Test(string, getrange_parses_its_indexes_before_looking_at_the_key)
{
    make_list("l");
    EXPECT(NOT_INT, cmd_getrange, "GETRANGE", "l", "a", "1");
    EXPECT(NOT_INT, cmd_getrange, "GETRANGE", "nokey", "0", "1.0");
    EXPECT(WRONGTYPE, cmd_getrange, "GETRANGE", "l", "0", "1");
}

Test(string, substr_is_getrange_under_its_old_name)
{
    RUN(cmd_set, "SET", "s", "Hello World");
    EXPECT("$11\r\nHello World\r\n", cmd_getrange, "SUBSTR", "s", "0", "-1");
    EXPECT("$3\r\nllo\r\n", cmd_getrange, "substr", "s", "2", "4");
}

Test(string, getrange_is_binary_safe)
{
    struct resp_arg set[] = {{"SET", 3}, {"k", 1}, {"a\0b\0c", 5}};
    runb(cmd_set, 3, set);
    RUN(cmd_getrange, "GETRANGE", "k", "1", "3");
    ASSERT_LAST_BIN("$3\r\n\0b\0\r\n");
}

/* ---------------------------------------------------------------- SETRANGE */

Test(string, setrange_on_a_missing_key_zero_pads_and_creates_a_raw_value)
{
    EXPECT(":6\r\n", cmd_setrange, "SETRANGE", "k", "3", "abc");
    cr_assert_eq(enc_of("k"), ENC_RAW);
    RUN(cmd_get, "GET", "k");
    ASSERT_LAST_BIN("$6\r\n\0\0\0abc\r\n");
    EXPECT(":1\r\n", cmd_setrange, "SETRANGE", "one", "0", "1");
    cr_assert_eq(enc_of("one"), ENC_RAW);
}

Test(string, setrange_with_an_empty_value_on_a_missing_key_creates_nothing)
{
    EXPECT(":0\r\n", cmd_setrange, "SETRANGE", "k", "0", "");
    EXPECT(":0\r\n", cmd_setrange, "SETRANGE", "k", "100", "");
    cr_assert_null(find("k"));
}

Test(string, setrange_with_an_empty_value_replies_the_length_and_changes_nothing)
{
    RUN(cmd_set, "SET", "k", "hello");
    EXPECT(":5\r\n", cmd_setrange, "SETRANGE", "k", "0", "");
    EXPECT(":5\r\n", cmd_setrange, "SETRANGE", "k", "100", "");
    cr_assert_eq(enc_of("k"), ENC_EMBSTR);
    RUN(cmd_set, "SET", "n", "1234");
    EXPECT(":4\r\n", cmd_setrange, "SETRANGE", "n", "9", "");
    cr_assert_eq(enc_of("n"), ENC_INT);
}

Test(string, setrange_overwrites_and_extends_keeping_the_ttl)
{
    RUN(cmd_set, "SET", "k", "v", "EX", "50");
    EXPECT(":6\r\n", cmd_setrange, "SETRANGE", "k", "3", "abc");
    RUN(cmd_get, "GET", "k");
    ASSERT_LAST_BIN("$6\r\nv\0\0abc\r\n");
    EXPECT(":6\r\n", cmd_setrange, "SETRANGE", "k", "1", "X");
    RUN(cmd_get, "GET", "k");
    ASSERT_LAST_BIN("$6\r\nvX\0abc\r\n");
    cr_assert_eq(enc_of("k"), ENC_RAW);
    cr_assert_eq(expire_of("k"), T0 + 50000);
    EXPECT(":8\r\n", cmd_setrange, "SETRANGE", "k", "5", "XYZ");
    RUN(cmd_get, "GET", "k");
    ASSERT_LAST_BIN("$8\r\nvX\0abXYZ\r\n");
}

Test(string, setrange_on_an_int_value_makes_it_raw)
{
    RUN(cmd_set, "SET", "n", "1234");
    EXPECT(":4\r\n", cmd_setrange, "SETRANGE", "n", "1", "9");
    cr_assert_eq(enc_of("n"), ENC_RAW);
    EXPECT("$4\r\n1934\r\n", cmd_get, "GET", "n");
}

Test(string, setrange_rejects_negative_and_non_integer_offsets)
{
    make_list("l");
    EXPECT("-ERR offset is out of range\r\n", cmd_setrange, "SETRANGE", "l", "-1", "x");
    EXPECT(NOT_INT, cmd_setrange, "SETRANGE", "k", "1.5", "x");
    EXPECT(NOT_INT, cmd_setrange, "SETRANGE", "k", "abc", "");
    cr_assert_null(find("k"));
}

Test(string, setrange_past_the_maximum_string_size_is_refused)
{
    EXPECT(STRING_SIZE, cmd_setrange, "SETRANGE", "k", "536870911", "xx");
    EXPECT(STRING_SIZE, cmd_setrange, "SETRANGE", "k", "9223372036854775807", "x");
    cr_assert_null(find("k"));
    store_max_string = 8;
    RUN(cmd_set, "SET", "k", "abc");
    EXPECT(STRING_SIZE, cmd_setrange, "SETRANGE", "k", "8", "x");
    EXPECT(":8\r\n", cmd_setrange, "SETRANGE", "k", "7", "x");
    cr_assert_eq(enc_of("k"), ENC_RAW);
}

Test(string, setrange_on_a_wrong_type_key_replies_wrongtype)
{
    make_list("l");
    EXPECT(WRONGTYPE, cmd_setrange, "SETRANGE", "l", "0", "x");
    EXPECT(WRONGTYPE, cmd_setrange, "SETRANGE", "l", "0", "");
}

Test(string, setrange_of_a_raw_value_within_its_length_does_not_replace_the_entry)
{
    RUN(cmd_setrange, "SETRANGE", "k", "0", "hello world");
    struct entry *e = find("k");
    EXPECT(":11\r\n", cmd_setrange, "SETRANGE", "k", "0", "J");
    cr_assert_eq(find("k"), e);
    EXPECT("$11\r\nJello world\r\n", cmd_get, "GET", "k");
}

/* ------------------------------------------------------- INCR family */

Test(string, incr_of_a_missing_key_starts_from_zero_and_stores_an_int)
{
    EXPECT(":1\r\n", cmd_incr, "INCR", "k");
    cr_assert_eq(enc_of("k"), ENC_INT);
    cr_assert_eq(expire_of("k"), -1);
    EXPECT(":-1\r\n", cmd_decr, "DECR", "d");
    EXPECT(":10\r\n", cmd_incrby, "INCRBY", "i", "10");
    EXPECT(":-10\r\n", cmd_decrby, "DECRBY", "j", "10");
}

Test(string, incr_decr_incrby_and_decrby_add_to_the_value)
{
    RUN(cmd_set, "SET", "k", "10");
    EXPECT(":11\r\n", cmd_incr, "INCR", "k");
    EXPECT(":10\r\n", cmd_decr, "DECR", "k");
    EXPECT(":110\r\n", cmd_incrby, "INCRBY", "k", "100");
    EXPECT(":-90\r\n", cmd_decrby, "DECRBY", "k", "200");
    EXPECT(":-80\r\n", cmd_decrby, "DECRBY", "k", "-10");
    EXPECT(":-100\r\n", cmd_incrby, "INCRBY", "k", "-20");
    EXPECT("$4\r\n-100\r\n", cmd_get, "GET", "k");
}

Test(string, incr_keeps_the_ttl)
{
    RUN(cmd_set, "SET", "k", "5", "EX", "10");
    EXPECT(":6\r\n", cmd_incr, "INCR", "k");
    cr_assert_eq(expire_of("k"), T0 + 10000);
    RUN(cmd_set, "SET", "r", "5", "EX", "10");
    RUN(cmd_append, "APPEND", "r", "0");
    cr_assert_eq(enc_of("r"), ENC_RAW);
    EXPECT(":51\r\n", cmd_incr, "INCR", "r");
    cr_assert_eq(enc_of("r"), ENC_INT);
    cr_assert_eq(expire_of("r"), T0 + 10000);
}

Test(string, incr_of_an_int_value_updates_it_in_place)
{
    RUN(cmd_set, "SET", "k", "5");
    struct entry *e = find("k");
    uint64_t d = s->dirty;
    EXPECT(":6\r\n", cmd_incr, "INCR", "k");
    cr_assert_eq(find("k"), e);
    cr_assert_eq(s->dirty, d + 1);
}

Test(string, incr_past_the_int64_limits_is_an_overflow_error_and_changes_nothing)
{
    RUN(cmd_set, "SET", "max", "9223372036854775807");
    EXPECT(OVERFLOW, cmd_incr, "INCR", "max");
    EXPECT(OVERFLOW, cmd_incrby, "INCRBY", "max", "1");
    EXPECT(":9223372036854775806\r\n", cmd_incrby, "INCRBY", "max", "-1");
    RUN(cmd_set, "SET", "min", "-9223372036854775808");
    EXPECT(OVERFLOW, cmd_decr, "DECR", "min");
    EXPECT(OVERFLOW, cmd_decrby, "DECRBY", "min", "1");
    EXPECT(":-1\r\n", cmd_incrby, "INCRBY", "min", "9223372036854775807");
    RUN(cmd_set, "SET", "ten", "10");
    EXPECT(OVERFLOW, cmd_decrby, "DECRBY", "ten", "-9223372036854775807");
    EXPECT("$2\r\n10\r\n", cmd_get, "GET", "ten");
    RUN(cmd_set, "SET", "m1", "-1");
    EXPECT(":-9223372036854775808\r\n", cmd_decrby, "DECRBY", "m1", "9223372036854775807");
    EXPECT(OVERFLOW, cmd_decrby, "DECRBY", "m1", "1");
}

Test(string, decrby_of_the_smallest_int64_is_refused_with_its_own_message)
{
    RUN(cmd_set, "SET", "k", "0");
    EXPECT("-ERR decrement would overflow\r\n", cmd_decrby, "DECRBY", "k", "-9223372036854775808");
    EXPECT(":-9223372036854775808\r\n", cmd_incrby, "INCRBY", "k", "-9223372036854775808");
}

Test(string, incr_of_a_value_that_is_not_a_strict_integer_is_an_error)
{
    static const char *bad[] = {" 1", "01", "1.0", "9223372036854775808", "", "abc",
                                "-0", "+1", "1 "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        RUN(cmd_set, "SET", "k", bad[i]);
        cr_assert_str_eq(RUN(cmd_incr, "INCR", "k"), NOT_INT, "value '%s'", bad[i]);
    }
    struct resp_arg set[] = {{"SET", 3}, {"k", 1}, {"1\0", 2}};
    runb(cmd_set, 3, set);
    EXPECT(NOT_INT, cmd_incr, "INCR", "k");
}

Test(string, incrby_parses_the_increment_before_looking_at_the_key)
{
    make_list("l");
    EXPECT(NOT_INT, cmd_incrby, "INCRBY", "l", "x");
    EXPECT(NOT_INT, cmd_decrby, "DECRBY", "l", "1.5");
    EXPECT(NOT_INT, cmd_incrby, "INCRBY", "k", "99999999999999999999");
    EXPECT(WRONGTYPE, cmd_incrby, "INCRBY", "l", "1");
    EXPECT(WRONGTYPE, cmd_incr, "INCR", "l");
    EXPECT(WRONGTYPE, cmd_decr, "DECR", "l");
    cr_assert_null(find("k"));
}

Test(string, incr_of_an_expired_key_starts_from_zero)
{
    RUN(cmd_set, "SET", "k", "41", "PX", "10");
    advance(11);
    EXPECT(":1\r\n", cmd_incr, "INCR", "k");
    cr_assert_eq(expire_of("k"), -1);
}

/* ---------------------------------------------------------- INCRBYFLOAT */

Test(string, incrbyfloat_formats_results_as_redis_does)
{
    RUN(cmd_set, "SET", "f", "10.50");
    EXPECT("$4\r\n10.6\r\n", cmd_incrbyfloat, "INCRBYFLOAT", "f", "0.1");
    EXPECT("$23\r\n-4989.39999999999999991\r\n", cmd_incrbyfloat, "INCRBYFLOAT", "f", "-5.0e3");
    EXPECT("$23\r\n-4989.39500000000000002\r\n", cmd_incrbyfloat, "INCRBYFLOAT", "f", "5e-3");
    RUN(cmd_set, "SET", "x", "5.0e3");
    EXPECT("$4\r\n5200\r\n", cmd_incrbyfloat, "INCRBYFLOAT", "x", "2.0e2");
    RUN(cmd_set, "SET", "w", "1.1");
    EXPECT("$1\r\n0\r\n", cmd_incrbyfloat, "INCRBYFLOAT", "w", "-1.1");
    EXPECT("$11\r\n17179869184\r\n", cmd_incrbyfloat, "INCRBYFLOAT", "q", "17179869184");
    EXPECT("$1\r\n3\r\n", cmd_incrbyfloat, "INCRBYFLOAT", "r", "3.0000000000000000001");
    cr_assert_eq(enc_of("r"), ENC_EMBSTR, "an integral float result is embstr, as in Redis");
    EXPECT("$19\r\n1.23456789012345679\r\n", cmd_incrbyfloat, "INCRBYFLOAT", "t",
           "1.23456789012345678901234567890");
    EXPECT("$1\r\n0\r\n", cmd_incrbyfloat, "INCRBYFLOAT", "z", "-0.0");
}

Test(string, incrbyfloat_accepts_what_strtold_accepts)
{
    RUN(cmd_set, "SET", "z", "3");
    EXPECT("$19\r\n3.00000000000000001\r\n", cmd_incrbyfloat, "INCRBYFLOAT", "z", "1.5e-17");
    EXPECT("$20\r\n19.00000000000000001\r\n", cmd_incrbyfloat, "INCRBYFLOAT", "z", "0x10");
    EXPECT("$20\r\n19.00000000000000001\r\n", cmd_incrbyfloat, "INCRBYFLOAT", "z", "1e-400");
}

Test(string, incrbyfloat_of_a_huge_value_replies_all_its_digits)
{
    RUN(cmd_set, "SET", "x", "5200");
    RUN(cmd_incrbyfloat, "INCRBYFLOAT", "x", "1e308");
    cr_assert_eq(strncmp(harness_last, "$308\r\n99999999999999999996685879655845645660560099", 50),
                 0);
    cr_assert_eq(enc_of("x"), ENC_RAW);
    RUN(cmd_incrbyfloat, "INCRBYFLOAT", "y", "1e4000");
    cr_assert_eq(strncmp(harness_last, "$4000\r\n99999999999999999999654638730996237849", 45), 0);
}

Test(string, incrbyfloat_keeps_the_ttl_and_stores_a_string)
{
    RUN(cmd_set, "SET", "k", "1", "EX", "10");
    EXPECT("$3\r\n1.5\r\n", cmd_incrbyfloat, "INCRBYFLOAT", "k", "0.5");
    cr_assert_eq(expire_of("k"), T0 + 10000);
    cr_assert_eq(enc_of("k"), ENC_EMBSTR);
    EXPECT("$3\r\n1.5\r\n", cmd_get, "GET", "k");
    EXPECT(NOT_INT, cmd_incr, "INCR", "k");
}

Test(string, incrbyfloat_refuses_results_that_are_nan_or_infinite)
{
    const char *err = "-ERR increment would produce NaN or Infinity\r\n";
    RUN(cmd_set, "SET", "k", "1");
    EXPECT(err, cmd_incrbyfloat, "INCRBYFLOAT", "k", "inf");
    EXPECT(err, cmd_incrbyfloat, "INCRBYFLOAT", "k", "-inf");
    RUN(cmd_set, "SET", "i", "inf");
    EXPECT(err, cmd_incrbyfloat, "INCRBYFLOAT", "i", "-inf");
    EXPECT("$1\r\n1\r\n", cmd_get, "GET", "k");
    EXPECT(err, cmd_incrbyfloat, "INCRBYFLOAT", "n", "inf");
    cr_assert_null(find("n"));
}

Test(string, incrbyfloat_rejects_values_and_increments_that_are_not_floats)
{
    EXPECT(NOT_FLOAT, cmd_incrbyfloat, "INCRBYFLOAT", "k", "abc");
    EXPECT(NOT_FLOAT, cmd_incrbyfloat, "INCRBYFLOAT", "k", " 1");
    EXPECT(NOT_FLOAT, cmd_incrbyfloat, "INCRBYFLOAT", "k", "");
    EXPECT(NOT_FLOAT, cmd_incrbyfloat, "INCRBYFLOAT", "k", "nan");
    EXPECT(NOT_FLOAT, cmd_incrbyfloat, "INCRBYFLOAT", "k", "1e999999");
    cr_assert_null(find("k"));
    RUN(cmd_set, "SET", "y", " 1");
    EXPECT(NOT_FLOAT, cmd_incrbyfloat, "INCRBYFLOAT", "y", "1");
    RUN(cmd_set, "SET", "y", "1.5x");
    EXPECT(NOT_FLOAT, cmd_incrbyfloat, "INCRBYFLOAT", "y", "1");
}

Test(string, incrbyfloat_refuses_values_and_increments_with_embedded_nuls)
{
    struct resp_arg set[] = {{"SET", 3}, {"k", 1}, {"1\0x", 3}};
    runb(cmd_set, 3, set);
    EXPECT(NOT_FLOAT, cmd_incrbyfloat, "INCRBYFLOAT", "k", "1");
    struct resp_arg set2[] = {{"SET", 3},
                              {"k2", 2},
                              {"\0"
                               "3",
                               2}};
    runb(cmd_set, 3, set2);
    EXPECT(NOT_FLOAT, cmd_incrbyfloat, "INCRBYFLOAT", "k2", "1");
    struct resp_arg inc[] = {{"INCRBYFLOAT", 11}, {"n", 1}, {"1\0", 2}};
    cr_assert_str_eq(runb(cmd_incrbyfloat, 3, inc), NOT_FLOAT);
    cr_assert_null(find("n"));
}

Test(string, incrbyfloat_on_a_wrong_type_key_replies_wrongtype_first)
{
    make_list("l");
    EXPECT(WRONGTYPE, cmd_incrbyfloat, "INCRBYFLOAT", "l", "x");
    EXPECT(WRONGTYPE, cmd_incrbyfloat, "INCRBYFLOAT", "l", "1");
}

Test(string, incrbyfloat_of_an_int_value_adds_to_it)
{
    RUN(cmd_set, "SET", "k", "-9223372036854775808");
    EXPECT("$20\r\n-9223372036854775807\r\n", cmd_incrbyfloat, "INCRBYFLOAT", "k", "1");
    RUN(cmd_set, "SET", "k", "10");
    EXPECT("$4\r\n10.5\r\n", cmd_incrbyfloat, "INCRBYFLOAT", "k", "0.5");
}

/* ---------------------------------------------------------------- LCS */

Test(string, lcs_returns_the_longest_common_subsequence)
{
    RUN(cmd_mset, "MSET", "key1", "ohmytext", "key2", "mynewtext");
    EXPECT("$6\r\nmytext\r\n", cmd_lcs, "LCS", "key1", "key2");
    RUN(cmd_mset, "MSET", "a1", "ABCBDAB", "b1", "BDCABA");
    EXPECT("$4\r\nBDAB\r\n", cmd_lcs, "LCS", "a1", "b1");
    RUN(cmd_mset, "MSET", "q1", "The quick brown fox jumps over the lazy dog", "q2",
        "Pack my box with five dozen liquor jugs");
    EXPECT("$16\r\nck  ox  ve e log\r\n", cmd_lcs, "LCS", "q1", "q2");
}

Test(string, lcs_len_replies_only_the_length)
{
    RUN(cmd_mset, "MSET", "key1", "ohmytext", "key2", "mynewtext");
    EXPECT(":6\r\n", cmd_lcs, "LCS", "key1", "key2", "LEN");
    EXPECT(":6\r\n", cmd_lcs, "LCS", "key1", "key2", "len", "WITHMATCHLEN", "MINMATCHLEN", "3");
}

Test(string, lcs_idx_replies_the_matching_ranges_as_a_flat_array_in_resp2)
{
    RUN(cmd_mset, "MSET", "key1", "ohmytext", "key2", "mynewtext");
    EXPECT("*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n"
           ":2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n",
           cmd_lcs, "LCS", "key1", "key2", "IDX");
}

Test(string, lcs_idx_replies_a_map_in_resp3)
{
    harness_proto = 3;
    RUN(cmd_mset, "MSET", "key1", "ohmytext", "key2", "mynewtext");
    EXPECT("%2\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n"
           ":2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n",
           cmd_lcs, "LCS", "key1", "key2", "IDX");
    EXPECT("%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
           "$3\r\nlen\r\n:6\r\n",
           cmd_lcs, "LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN");
}

Test(string, lcs_minmatchlen_and_withmatchlen_filter_and_annotate_ranges)
{
    RUN(cmd_mset, "MSET", "key1", "ohmytext", "key2", "mynewtext");
    EXPECT("*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n"
           ":6\r\n",
           cmd_lcs, "LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4");
    EXPECT("*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n"
           "*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n",
           cmd_lcs, "LCS", "key1", "key2", "IDX", "WITHMATCHLEN");
    /* A negative minimum counts as no minimum. */
    EXPECT("*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n"
           ":2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n",
           cmd_lcs, "LCS", "key1", "key2", "MINMATCHLEN", "-5", "IDX");
}

Test(string, lcs_idx_of_longer_strings_matches_redis)
{
    RUN(cmd_mset, "MSET", "q1", "The quick brown fox jumps over the lazy dog", "q2",
        "Pack my box with five dozen liquor jugs");
    EXPECT("*4\r\n$7\r\nmatches\r\n*4\r\n*3\r\n*2\r\n:34\r\n:35\r\n*2\r\n:27\r\n:28\r\n:2\r\n"
           "*3\r\n*2\r\n:27\r\n:28\r\n*2\r\n:19\r\n:20\r\n:2\r\n*3\r\n*2\r\n:17\r\n:19\r\n*2\r\n"
           ":9\r\n:11\r\n:3\r\n*3\r\n*2\r\n:7\r\n:9\r\n*2\r\n:2\r\n:4\r\n:3\r\n$3\r\nlen\r\n"
           ":16\r\n",
           cmd_lcs, "LCS", "q1", "q2", "IDX", "MINMATCHLEN", "2", "WITHMATCHLEN");
    EXPECT("*4\r\n$7\r\nmatches\r\n*10\r\n*2\r\n*2\r\n:42\r\n:42\r\n*2\r\n:37\r\n:37\r\n*2\r\n"
           "*2\r\n:41\r\n:41\r\n*2\r\n:32\r\n:32\r\n*2\r\n*2\r\n:34\r\n:35\r\n*2\r\n:27\r\n:28\r\n"
           "*2\r\n*2\r\n:33\r\n:33\r\n*2\r\n:25\r\n:25\r\n*2\r\n*2\r\n:30\r\n:30\r\n*2\r\n:21\r\n"
           ":21\r\n*2\r\n*2\r\n:27\r\n:28\r\n*2\r\n:19\r\n:20\r\n*2\r\n*2\r\n:25\r\n:25\r\n*2\r\n"
           ":16\r\n:16\r\n*2\r\n*2\r\n:17\r\n:19\r\n*2\r\n:9\r\n:11\r\n*2\r\n*2\r\n:15\r\n:15\r\n"
           "*2\r\n:7\r\n:7\r\n*2\r\n*2\r\n:7\r\n:9\r\n*2\r\n:2\r\n:4\r\n$3\r\nlen\r\n:16\r\n",
           cmd_lcs, "LCS", "q1", "q2", "idx");
}

Test(string, lcs_of_classic_and_repeated_inputs_matches_redis)
{
    RUN(cmd_mset, "MSET", "a1", "ABCBDAB", "b1", "BDCABA", "x", "aaaa", "y", "aa");
    EXPECT("*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:5\r\n:6\r\n*2\r\n:3\r\n:4\r\n:2\r\n*3\r\n"
           "*2\r\n:3\r\n:4\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:4\r\n",
           cmd_lcs, "LCS", "a1", "b1", "IDX", "WITHMATCHLEN");
    EXPECT("*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n"
           "$3\r\nlen\r\n:2\r\n",
           cmd_lcs, "LCS", "x", "y", "IDX", "WITHMATCHLEN");
}

Test(string, lcs_of_a_key_with_itself_is_one_full_range)
{
    RUN(cmd_set, "SET", "k", "ohmytext");
    EXPECT("*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:7\r\n*2\r\n:0\r\n:7\r\n:8\r\n"
           "$3\r\nlen\r\n:8\r\n",
           cmd_lcs, "LCS", "k", "k", "IDX", "WITHMATCHLEN");
}

Test(string, lcs_reads_int_values_as_their_decimal_text)
{
    RUN(cmd_mset, "MSET", "n1", "12345", "n2", "2345");
    EXPECT("*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:1\r\n:4\r\n*2\r\n:0\r\n:3\r\n:4\r\n"
           "$3\r\nlen\r\n:4\r\n",
           cmd_lcs, "LCS", "n1", "n2", "IDX", "WITHMATCHLEN");
    EXPECT("$4\r\n2345\r\n", cmd_lcs, "LCS", "n1", "n2");
}

Test(string, lcs_treats_missing_keys_as_empty_strings)
{
    RUN(cmd_set, "SET", "k", "ohmytext");
    EXPECT(EMPTY, cmd_lcs, "LCS", "k", "nokey");
    EXPECT(":0\r\n", cmd_lcs, "LCS", "nokey", "k", "LEN");
    EXPECT("*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", cmd_lcs, "LCS", "nokey", "nokey",
           "IDX");
    harness_proto = 3;
    EXPECT("%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", cmd_lcs, "LCS", "nokey", "nokey",
           "IDX");
}

Test(string, lcs_is_binary_safe)
{
    struct resp_arg m[] = {{"MSET", 4}, {"b1", 2}, {"a\0b\0c", 5}, {"b2", 2}, {"\0\0c", 3}};
    runb(cmd_mset, 5, m);
    RUN(cmd_lcs, "LCS", "b1", "b2");
    ASSERT_LAST_BIN("$3\r\n\0\0c\r\n");
    EXPECT("*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:3\r\n:4\r\n*2\r\n:1\r\n:2\r\n*2\r\n*2\r\n"
           ":1\r\n:1\r\n*2\r\n:0\r\n:0\r\n$3\r\nlen\r\n:3\r\n",
           cmd_lcs, "LCS", "b1", "b2", "IDX");
}

Test(string, lcs_reports_wrong_types_before_option_errors)
{
    RUN(cmd_set, "SET", "k", "v");
    make_list("l");
    const char *err = "-ERR The specified keys must contain string values\r\n";
    EXPECT(err, cmd_lcs, "LCS", "l", "k", "foo");
    EXPECT(err, cmd_lcs, "LCS", "k", "l");
    EXPECT(err, cmd_lcs, "LCS", "nokey", "l", "LEN");
}

Test(string, lcs_rejects_bad_options)
{
    RUN(cmd_set, "SET", "k", "v");
    EXPECT("-ERR If you want both the length and indexes, please just use IDX.\r\n", cmd_lcs, "LCS",
           "k", "k", "LEN", "IDX");
    EXPECT(SYNTAX, cmd_lcs, "LCS", "k", "k", "MINMATCHLEN");
    EXPECT(SYNTAX, cmd_lcs, "LCS", "k", "k", "foo");
    EXPECT(SYNTAX, cmd_lcs, "LCS", "k", "k", "LEN", "foo", "IDX");
    EXPECT(NOT_INT, cmd_lcs, "LCS", "k", "k", "MINMATCHLEN", "x", "IDX");
}

Test(string, lcs_refuses_a_table_larger_than_the_maximum_string_size)
{
    store_max_string = 100;
    RUN(cmd_mset, "MSET", "a", "0123456789", "b", "abcdefghij");
    EXPECT("-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n",
           cmd_lcs, "LCS", "a", "b");
    EXPECT(":0\r\n", cmd_lcs, "LCS", "a", "nokey", "LEN");
}

/* ---------------------------------------------------------------- misc */

Test(string, commands_use_the_context_database)
{
    harness_db = 3;
    RUN(cmd_set, "SET", "k", "v");
    harness_db = 0;
    EXPECT(NIL, cmd_get, "GET", "k");
    cr_assert_eq(db_size(&s->db[3]), 1);
    harness_db = 3;
    EXPECT("$1\r\nv\r\n", cmd_get, "GET", "k");
    harness_db = 0;
}

Test(string, writes_to_an_expired_key_start_from_an_empty_value)
{
    RUN(cmd_set, "SET", "a", "hello", "PX", "5");
    RUN(cmd_set, "SET", "s", "hello", "PX", "5");
    RUN(cmd_set, "SET", "x", "1.5", "PX", "5");
    RUN(cmd_set, "SET", "n", "1", "PX", "5");
    advance(6);
    EXPECT(":1\r\n", cmd_append, "APPEND", "a", "x");
    EXPECT(":3\r\n", cmd_setrange, "SETRANGE", "s", "2", "y");
    EXPECT("$1\r\n2\r\n", cmd_incrbyfloat, "INCRBYFLOAT", "x", "2");
    EXPECT(":1\r\n", cmd_setnx, "SETNX", "n", "v");
    cr_assert_eq(expire_of("a"), -1);
    cr_assert_eq(expire_of("s"), -1);
    cr_assert_eq(s->db[0].volatile_keys, 0);
}
