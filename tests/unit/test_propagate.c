/* Unit tests for propagation to the append-only file: what each write
 * command logs through cmd_propagate and store_propagate_del (cmd.h), as
 * Redis 7.0 rewrites commands for its AOF.
 *
 * A collecting pair of hooks records every propagated command. The runner
 * adds what the AOF writer adds by default: a command that did not call
 * cmd_propagate and made the shard's dirty counter grow is logged as sent.
 * So each test asserts the whole log a command leaves, e.g.
 *   SET k v EX 100  ->  SET k v PXAT <T0 + 100000>
 *
 * The last suite is a replay property: random command sequences (with the
 * clock moving, lazy and active expiry, eviction) run on one shard while
 * the log is collected; the log replayed on a fresh shard, which like
 * redis-server loading an AOF never expires anything, must give the same
 * dataset (DEBUG DIGEST's digest plus every key's expiry time).
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "harness.h"
#include "rdb.h"
#include "t_set.h"

/* ---- the collected log ---- */

struct rec {
    int dbid;
    int argc;
    char **argv;
    size_t *lens;
};

static struct rec *recs;
static size_t nrecs, caprecs;
static bool collecting;

static void rec_add(int dbid, int argc, const struct resp_arg *argv)
{
    if (!collecting)
        return;
    if (nrecs == caprecs) {
        caprecs = caprecs ? 2 * caprecs : 64;
        recs = realloc(recs, caprecs * sizeof(*recs));
        cr_assert_not_null(recs);
    }
    struct rec *r = &recs[nrecs++];
    r->dbid = dbid;
    r->argc = argc;
    r->argv = malloc((size_t)argc * sizeof(char *));
    r->lens = malloc((size_t)argc * sizeof(size_t));
    for (int i = 0; i < argc; i++) {
        r->argv[i] = malloc(argv[i].len + 1);
        memcpy(r->argv[i], argv[i].ptr, argv[i].len);
        r->argv[i][argv[i].len] = '\0';
        r->lens[i] = argv[i].len;
    }
}

static void recs_clear(void)
{
    for (size_t i = 0; i < nrecs; i++) {
        for (int j = 0; j < recs[i].argc; j++)
            free(recs[i].argv[j]);
        free(recs[i].argv);
        free(recs[i].lens);
    }
    nrecs = 0;
}

static void hook_cmd(struct cmd_ctx *c, int argc, const struct resp_arg *argv)
{
    rec_add(c->dbid, argc, argv);
}

static void hook_del(struct shard *sh, int dbid, const char *key, size_t len)
{
    (void)sh;
    struct resp_arg argv[2] = {{"DEL", 3}, {key, len}};
    rec_add(dbid, 2, argv);
}

/* The log as text: commands separated by " | ", arguments by spaces, a
 * db other than 0 as a "[n] " prefix. Valid until the next call. */
static const char *log_text(void)
{
    static char buf[1 << 16];
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < nrecs; i++) {
        if (i)
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, " | ");
        if (recs[i].dbid)
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "[%d] ", recs[i].dbid);
        for (int j = 0; j < recs[i].argc; j++)
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", j ? " " : "", recs[i].argv[j]);
    }
    return buf;
}

/* ---- running commands ---- */

static struct shard *replica; /* the replay property's second shard */

/* Run one command on sh in db dbid and log it as the AOF writer would. */
static const char *prun(struct shard *sh, int dbid, void (*fn)(struct cmd_ctx *), int argc,
                        const struct resp_arg *argv)
{
    struct reply out;
    struct cmd_ctx c = {
        .shard = sh,
        .db = &sh->db[dbid],
        .dbid = dbid,
        .argc = argc,
        .argv = argv,
        .out = &out,
    };
    reply_init(&out, harness_proto);
    uint64_t dirty = shard_dirty(sh);
    size_t before = nrecs;
    fn(&c);
    if (!c.propagated && shard_dirty(sh) > dirty) {
        rec_add(dbid, argc, argv);
    } else if (!c.propagated && collecting) {
        /* Nothing changed: only store-side deletions may have been logged. */
        for (size_t i = before; i < nrecs; i++)
            cr_assert_str_eq(recs[i].argv[0], "DEL");
    }
    return harness_take(&out);
}

static const char *prun_str(int dbid, void (*fn)(struct cmd_ctx *), int argc, const char **args)
{
    struct resp_arg argv[64];
    for (int i = 0; i < argc; i++)
        argv[i] = (struct resp_arg){args[i], strlen(args[i])};
    return prun(s, dbid, fn, argc, argv);
}

#define NARGS(...) ((int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)))
/* Run a command, logging it. */
#define P(fn, ...) prun_str(0, fn, NARGS(__VA_ARGS__), (const char *[]){__VA_ARGS__})
#define PDB(db, fn, ...) prun_str(db, fn, NARGS(__VA_ARGS__), (const char *[]){__VA_ARGS__})
/* Set up state without logging it. */
#define SETUP(fn, ...)                                                                             \
    do {                                                                                           \
        collecting = false;                                                                        \
        P(fn, __VA_ARGS__);                                                                        \
        collecting = true;                                                                         \
    } while (0)
/* Run a command and assert the log it leaves (and only that). */
#define LOGS(expect, fn, ...)                                                                      \
    do {                                                                                           \
        recs_clear();                                                                              \
        P(fn, __VA_ARGS__);                                                                        \
        cr_assert_str_eq(log_text(), expect, "reply was %s", harness_last);                        \
    } while (0)

static void prop_setup(void)
{
    harness_setup();
    cmd_prop_hooks.cmd = hook_cmd;
    cmd_prop_hooks.del = hook_del;
    collecting = true;
    replica = NULL;
}

static void prop_teardown(void)
{
    cmd_prop_hooks.cmd = NULL;
    cmd_prop_hooks.del = NULL;
    collecting = false;
    recs_clear();
    if (replica)
        shard_free(replica);
    harness_teardown();
}

TestSuite(propagate, .init = prop_setup, .fini = prop_teardown);

static void advance(int64_t ms)
{
    shard_tick(s, s->now_ms + ms);
}

static char *fmt_ll(long long v)
{
    static char bufs[4][32];
    static int k;
    char *b = bufs[k++ & 3];
    snprintf(b, 32, "%lld", v);
    return b;
}

/* The bulk strings of a flat RESP2 array reply, joined by spaces. */
static const char *reply_members(const char *r)
{
    static char buf[4096];
    size_t n = 0;
    buf[0] = '\0';
    cr_assert_eq(r[0], '*', "not an array: %s", r);
    long cnt = strtol(r + 1, (char **)&r, 10);
    r += 2;
    for (long i = 0; i < cnt; i++) {
        cr_assert_eq(r[0], '$');
        long len = strtol(r + 1, (char **)&r, 10);
        r += 2;
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%.*s", i ? " " : "", (int)len, r);
        r += len + 2;
    }
    return buf;
}

/* ============================================================ strings */

Test(propagate, set_with_a_relative_or_absolute_expiry_is_logged_as_set_pxat)
{
    char want[128];
    snprintf(want, sizeof(want), "SET k v PXAT %lld", T0 + 100000);
    LOGS(want, cmd_set, "SET", "k", "v", "EX", "100");
    snprintf(want, sizeof(want), "SET k v PXAT %lld", T0 + 1500);
    LOGS(want, cmd_set, "set", "k", "v", "px", "1500");
    LOGS("SET k v PXAT 1800000000000", cmd_set, "SET", "k", "v", "EXAT", "1800000000");
    LOGS("SET k v PXAT 1800000000123", cmd_set, "SET", "k", "v", "PXAT", "1800000000123");
    /* NX, XX and GET are not kept: the set already happened. */
    snprintf(want, sizeof(want), "SET k2 w PXAT %lld", T0 + 5000);
    LOGS(want, cmd_set, "SET", "k2", "w", "NX", "GET", "EX", "5");
    snprintf(want, sizeof(want), "SET k2 x PXAT %lld", T0 + 7);
    LOGS(want, cmd_set, "SET", "k2", "x", "XX", "PX", "7");
    /* A time in the past is stored as given and logged as such. */
    LOGS("SET k y PXAT 5", cmd_set, "SET", "k", "y", "PXAT", "5");
}

Test(propagate, setex_and_psetex_are_logged_as_set_pxat)
{
    char want[128];
    snprintf(want, sizeof(want), "SET k v PXAT %lld", T0 + 10000);
    LOGS(want, cmd_setex, "SETEX", "k", "10", "v");
    snprintf(want, sizeof(want), "SET k w PXAT %lld", T0 + 250);
    LOGS(want, cmd_psetex, "PSETEX", "k", "250", "w");
}

Test(propagate, set_get_without_expiry_is_logged_without_its_get_words)
{
    LOGS("SET k v", cmd_set, "SET", "k", "v", "GET");
    LOGS("SET k w KEEPTTL XX", cmd_set, "SET", "k", "w", "get", "KEEPTTL", "GET", "XX");
    LOGS("SET k x", cmd_set, "SET", "k", "x"); /* plain SET: as sent */
}

Test(propagate, a_set_that_sets_nothing_logs_nothing)
{
    SETUP(cmd_set, "SET", "k", "v");
    SETUP(cmd_rpush, "RPUSH", "l", "a");
    LOGS("", cmd_set, "SET", "k", "w", "NX", "EX", "10");
    LOGS("", cmd_set, "SET", "nokey", "w", "XX", "GET", "PX", "10");
    LOGS("", cmd_set, "SET", "k", "w", "EX", "0");
    LOGS("", cmd_set, "SET", "l", "w", "GET", "EX", "10"); /* WRONGTYPE */
    LOGS("", cmd_setex, "SETEX", "k", "-1", "w");
    LOGS("", cmd_setnx, "SETNX", "k", "w");
    LOGS("SETNX n w", cmd_setnx, "SETNX", "n", "w");
}

Test(propagate, getset_is_logged_as_set)
{
    LOGS("SET k v", cmd_getset, "GETSET", "k", "v");
    SETUP(cmd_rpush, "RPUSH", "l", "a");
    LOGS("", cmd_getset, "GETSET", "l", "v");
}

Test(propagate, getdel_is_logged_as_del_when_it_deleted)
{
    SETUP(cmd_set, "SET", "k", "v");
    LOGS("DEL k", cmd_getdel, "GETDEL", "k");
    LOGS("", cmd_getdel, "GETDEL", "k");
}

Test(propagate, getex_is_logged_as_what_it_did_to_the_ttl)
{
    char want[128];
    SETUP(cmd_set, "SET", "k", "v");
    snprintf(want, sizeof(want), "PEXPIREAT k %lld", T0 + 10000);
    LOGS(want, cmd_getex, "GETEX", "k", "EX", "10");
    snprintf(want, sizeof(want), "PEXPIREAT k %lld", T0 + 20);
    LOGS(want, cmd_getex, "GETEX", "k", "PX", "20");
    LOGS("PEXPIREAT k 1800000000000", cmd_getex, "GETEX", "k", "EXAT", "1800000000");
    LOGS("PERSIST k", cmd_getex, "GETEX", "k", "PERSIST");
    LOGS("", cmd_getex, "GETEX", "k", "PERSIST"); /* no TTL to remove */
    LOGS("", cmd_getex, "GETEX", "k");
    LOGS("", cmd_getex, "GETEX", "missing", "EX", "10");
    LOGS("", cmd_getex, "GETEX", "k", "EX", "0"); /* invalid expire time */
    LOGS("DEL k", cmd_getex, "GETEX", "k", "PXAT", "100");
    cr_assert_str_eq(P(cmd_exists, "EXISTS", "k"), ":0\r\n");
}

Test(propagate, incrbyfloat_is_logged_as_set_keepttl_with_the_result)
{
    LOGS("SET f 10.5 KEEPTTL", cmd_incrbyfloat, "INCRBYFLOAT", "f", "10.5");
    LOGS("SET f 10.6 KEEPTTL", cmd_incrbyfloat, "INCRBYFLOAT", "f", "0.1");
    LOGS("SET f 5000 KEEPTTL", cmd_incrbyfloat, "INCRBYFLOAT", "f", "4.9894e3");
    LOGS("", cmd_incrbyfloat, "INCRBYFLOAT", "f", "abc");
    SETUP(cmd_set, "SET", "s", "notanumber");
    LOGS("", cmd_incrbyfloat, "INCRBYFLOAT", "s", "1");
}

/* ============================================================ expiry */

Test(propagate, expire_family_is_logged_as_pexpireat_with_an_absolute_time)
{
    char want[128];
    SETUP(cmd_set, "SET", "k", "v");
    snprintf(want, sizeof(want), "PEXPIREAT k %lld", T0 + 100000);
    LOGS(want, cmd_expire, "EXPIRE", "k", "100");
    snprintf(want, sizeof(want), "PEXPIREAT k %lld", T0 + 200000);
    LOGS(want, cmd_pexpire, "PEXPIRE", "k", "200000");
    LOGS("PEXPIREAT k 1800000000000", cmd_expireat, "EXPIREAT", "k", "1800000000");
    LOGS("PEXPIREAT k 1800000000001", cmd_pexpireat, "PEXPIREAT", "k", "1800000000001");
    /* The options stay: on the same state they decide the same way. */
    LOGS("PEXPIREAT k 1800000000002 GT", cmd_pexpireat, "PEXPIREAT", "k", "1800000000002", "GT");
    snprintf(want, sizeof(want), "PEXPIREAT k %lld xx lt", T0 + 1000);
    LOGS(want, cmd_expire, "EXPIRE", "k", "1", "xx", "lt");
}

Test(propagate, an_expiry_in_the_past_is_logged_as_del)
{
    SETUP(cmd_set, "SET", "a", "v");
    SETUP(cmd_set, "SET", "b", "v");
    SETUP(cmd_set, "SET", "c", "v");
    LOGS("DEL a", cmd_expire, "EXPIRE", "a", "-1");
    LOGS("DEL b", cmd_pexpire, "PEXPIRE", "b", "0");
    LOGS("DEL c", cmd_expireat, "EXPIREAT", "c", "1");
}

Test(propagate, an_expire_that_changes_nothing_logs_nothing)
{
    SETUP(cmd_set, "SET", "k", "v");
    LOGS("", cmd_expire, "EXPIRE", "missing", "100");
    LOGS("", cmd_expire, "EXPIRE", "k", "100", "XX");
    LOGS("", cmd_expire, "EXPIRE", "k", "100", "GT");
    LOGS("", cmd_expire, "EXPIRE", "k", "abc");
    LOGS("", cmd_expire, "EXPIRE", "k", "100", "NX", "XX");
    LOGS("", cmd_expire, "EXPIRE", "k", "-1", "XX"); /* the option wins: no DEL */
    LOGS("", cmd_persist, "PERSIST", "k");
}

Test(propagate, a_key_found_expired_on_access_is_logged_as_del_in_its_db)
{
    SETUP(cmd_set, "SET", "k", "v", "PX", "100");
    collecting = false;
    PDB(3, cmd_set, "SET", "k3", "v", "PX", "100");
    collecting = true;
    advance(101);
    uint64_t dirty = shard_dirty(s);
    LOGS("DEL k", cmd_get, "GET", "k");
    cr_assert_eq(shard_dirty(s), dirty, "a read that meets an expired key changes nothing");
    recs_clear();
    PDB(3, cmd_exists, "EXISTS", "k3");
    cr_assert_str_eq(log_text(), "[3] DEL k3");
    cr_assert_eq(s->stats.expired_keys, 2);
}

Test(propagate, a_write_on_an_expired_key_logs_the_del_first)
{
    SETUP(cmd_set, "SET", "k", "v", "PX", "100");
    advance(101);
    LOGS("DEL k | RPUSH k a", cmd_rpush, "RPUSH", "k", "a");
    SETUP(cmd_set, "SET", "e", "v", "PX", "100");
    advance(101);
    LOGS("DEL e", cmd_del, "DEL", "e"); /* DEL itself found nothing */
}

Test(propagate, the_active_expiry_cycle_logs_a_del_per_key)
{
    collecting = false;
    for (int i = 0; i < 5; i++) {
        char k[8];
        snprintf(k, sizeof(k), "k%d", i);
        PDB(i % 2 ? 1 : 0, cmd_set, "SET", k, "v", "PX", i < 3 ? "10" : "100000");
    }
    collecting = true;
    advance(11);
    uint64_t dirty = shard_dirty(s);
    cr_assert_eq(db_active_expire(s, 1000000), 3);
    cr_assert_eq(shard_dirty(s), dirty);
    cr_assert_eq(nrecs, 3);
    int seen = 0;
    for (size_t i = 0; i < nrecs; i++) {
        cr_assert_str_eq(recs[i].argv[0], "DEL");
        int k = recs[i].argv[1][1] - '0';
        cr_assert(k >= 0 && k < 3, "only expired keys: %s", recs[i].argv[1]);
        cr_assert_eq(recs[i].dbid, k % 2 ? 1 : 0);
        seen |= 1 << k;
    }
    cr_assert_eq(seen, 7);
}

Test(propagate, eviction_logs_a_del_per_key)
{
    struct store_evict saved = store_evict;
    collecting = false;
    for (int i = 0; i < 4; i++)
        PDB(2, cmd_set, "SET", fmt_ll(i), "value");
    collecting = true;
    store_evict.policy = EVICT_ALLKEYS_RANDOM;
    size_t freed = shard_evict(s, (size_t)-1 / 2, 1000000);
    store_evict = saved;
    cr_assert_gt(freed, 0);
    cr_assert_eq(nrecs, 4);
    for (size_t i = 0; i < nrecs; i++) {
        cr_assert_str_eq(recs[i].argv[0], "DEL");
        cr_assert_eq(recs[i].dbid, 2);
    }
    cr_assert_eq(s->stats.evicted_keys, 4);
    cr_assert_eq(db_size(&s->db[2]), 0);
}

/* ============================================================ hashes */

Test(propagate, hincrbyfloat_is_logged_as_hset_with_the_result)
{
    LOGS("HSET h f 2.5", cmd_hincrbyfloat, "HINCRBYFLOAT", "h", "f", "2.5");
    LOGS("HSET h f 2.6", cmd_hincrbyfloat, "HINCRBYFLOAT", "h", "f", "0.1");
    LOGS("", cmd_hincrbyfloat, "HINCRBYFLOAT", "h", "f", "x");
    SETUP(cmd_hset, "HSET", "h", "g", "text");
    LOGS("", cmd_hincrbyfloat, "HINCRBYFLOAT", "h", "g", "1");
}

/* ============================================================ sets */

Test(propagate, spop_is_logged_as_srem_of_the_member_it_returned)
{
    SETUP(cmd_sadd, "SADD", "s", "a", "b", "c");
    const char *r = P(cmd_spop, "SPOP", "s");
    cr_assert_eq(r[0], '$');
    char want[64];
    snprintf(want, sizeof(want), "SREM s %.1s", strchr(r, '\n') + 1);
    cr_assert_str_eq(log_text(), want);
}

/* SPOP s n with n below the size: one SREM per member replied, in reply
 * order, for both of SPOP's strategies and both encodings. */
static void check_spop_count(const char *key, int size, int count, bool ints)
{
    collecting = false;
    for (int i = 0; i < size; i++) {
        char m[16];
        snprintf(m, sizeof(m), ints ? "%d" : "m%d", i);
        P(cmd_sadd, "SADD", key, m);
    }
    collecting = true;
    recs_clear();
    const char *r = P(cmd_spop, "SPOP", key, fmt_ll(count));
    char members[4096];
    snprintf(members, sizeof(members), "%s", reply_members(r));
    cr_assert_eq(nrecs, (size_t)count);
    char want[8192];
    size_t n = 0;
    want[0] = '\0';
    for (char *save, *m = strtok_r(members, " ", &save); m; m = strtok_r(NULL, " ", &save))
        n += (size_t)snprintf(want + n, sizeof(want) - n, "%sSREM %s %s", n ? " | " : "", key, m);
    cr_assert_str_eq(log_text(), want);
    struct entry *e = db_lookup(s, &s->db[0], key, strlen(key), LOOKUP_NOTOUCH, NULL);
    cr_assert_not_null(e);
    cr_assert_eq(set_length(e), (unsigned long)(size - count));
}

Test(propagate, spop_with_a_count_is_logged_as_one_srem_per_member)
{
    check_spop_count("s1", 10, 2, false); /* picks and removes */
    check_spop_count("s2", 10, 9, false); /* keeps the few that remain */
    check_spop_count("s3", 10, 3, true);
    check_spop_count("s4", 10, 8, true);
}

Test(propagate, spop_of_the_whole_set_is_logged_as_del)
{
    SETUP(cmd_sadd, "SADD", "s", "a", "b", "c");
    LOGS("DEL s", cmd_spop, "SPOP", "s", "3");
    SETUP(cmd_sadd, "SADD", "t", "1", "2");
    LOGS("DEL t", cmd_spop, "SPOP", "t", "100");
    SETUP(cmd_sadd, "SADD", "u", "x");
    LOGS("SREM u x", cmd_spop, "SPOP", "u");
}

Test(propagate, an_spop_that_pops_nothing_logs_nothing)
{
    SETUP(cmd_sadd, "SADD", "s", "a");
    SETUP(cmd_set, "SET", "str", "a");
    LOGS("", cmd_spop, "SPOP", "missing");
    LOGS("", cmd_spop, "SPOP", "missing", "2");
    LOGS("", cmd_spop, "SPOP", "s", "0");
    LOGS("", cmd_spop, "SPOP", "s", "-1");
    LOGS("", cmd_spop, "SPOP", "str");
    LOGS("", cmd_spop, "SPOP", "s", "1", "2");
}

/* ============================================================ lists */

Test(propagate, blocking_list_pops_are_logged_as_plain_pops)
{
    SETUP(cmd_rpush, "RPUSH", "l", "a", "b", "c", "d", "e", "f");
    LOGS("LPOP l", cmd_blpop, "BLPOP", "missing", "l", "0");
    LOGS("RPOP l", cmd_brpop, "BRPOP", "l", "1");
    LOGS("LPOP l 2", cmd_lmpop, "LMPOP", "2", "missing", "l", "LEFT", "COUNT", "2");
    LOGS("RPOP l 2", cmd_blmpop, "BLMPOP", "0", "1", "l", "RIGHT", "COUNT", "10");
    LOGS("", cmd_lmpop, "LMPOP", "1", "l", "LEFT");
    LOGS("", cmd_blpop, "BLPOP", "l", "0"); /* empty, may not block: nothing */
    SETUP(cmd_rpush, "RPUSH", "m", "x");
    LOGS("RPOP m 1", cmd_blmpop, "BLMPOP", "0", "1", "m", "RIGHT");
}

Test(propagate, blocking_moves_are_logged_as_lmove_and_rpoplpush)
{
    SETUP(cmd_rpush, "RPUSH", "a", "1", "2", "3");
    LOGS("LMOVE a b left RIGHT", cmd_blmove, "BLMOVE", "a", "b", "left", "RIGHT", "0");
    LOGS("RPOPLPUSH a b", cmd_brpoplpush, "BRPOPLPUSH", "a", "b", "0");
    LOGS("LMOVE a b LEFT LEFT", cmd_lmove, "LMOVE", "a", "b", "LEFT", "LEFT"); /* as sent */
    LOGS("", cmd_blmove, "BLMOVE", "a", "b", "LEFT", "LEFT", "0");             /* empty */
    SETUP(cmd_rpush, "RPUSH", "c", "x");
    SETUP(cmd_set, "SET", "str", "x");
    LOGS("", cmd_blmove, "BLMOVE", "c", "str", "LEFT", "LEFT", "0"); /* WRONGTYPE */
    LOGS("", cmd_brpoplpush, "BRPOPLPUSH", "str", "c", "0");
    cr_assert_str_eq(P(cmd_llen, "LLEN", "c"), ":1\r\n");
}

/* ============================================================ sorted sets */

Test(propagate, blocking_and_multi_zset_pops_are_logged_as_zpopmin_and_zpopmax)
{
    SETUP(cmd_zadd, "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e");
    LOGS("ZPOPMIN z", cmd_bzpopmin, "BZPOPMIN", "missing", "z", "0");
    LOGS("ZPOPMAX z", cmd_bzpopmax, "BZPOPMAX", "z", "0");
    LOGS("ZPOPMIN z 1", cmd_zmpop, "ZMPOP", "1", "z", "MIN");
    LOGS("ZPOPMAX z 2", cmd_bzmpop, "BZMPOP", "0", "2", "missing", "z", "MAX", "COUNT", "5");
    LOGS("", cmd_bzmpop, "BZMPOP", "0", "1", "z", "MAX");
    LOGS("", cmd_zmpop, "ZMPOP", "1", "z", "MIN");
    SETUP(cmd_zadd, "ZADD", "y", "1", "a", "2", "b");
    LOGS("ZPOPMIN y 2", cmd_zpopmin, "ZPOPMIN", "y", "2"); /* as sent */
}

/* ============================================================ flushes */

Test(propagate, flushes_are_logged_even_on_an_empty_db)
{
    LOGS("FLUSHALL", cmd_flushall, "FLUSHALL");
    LOGS("FLUSHDB ASYNC", cmd_flushdb, "FLUSHDB", "ASYNC");
    LOGS("", cmd_flushdb, "FLUSHDB", "bad");
}

/* ============================================================ replay */

TestSuite(replay, .init = prop_setup, .fini = prop_teardown);

#define CMD_ROW(name)                                                                              \
    {                                                                                              \
#name, cmd_##name                                                                          \
    }
static const struct {
    const char *name;
    void (*fn)(struct cmd_ctx *);
} handlers[] = {
    CMD_ROW(set),         CMD_ROW(setex),        CMD_ROW(psetex),     CMD_ROW(setnx),
    CMD_ROW(getset),      CMD_ROW(getdel),       CMD_ROW(getex),      CMD_ROW(get),
    CMD_ROW(incrbyfloat), CMD_ROW(incr),         CMD_ROW(append),     CMD_ROW(del),
    CMD_ROW(exists),      CMD_ROW(expire),       CMD_ROW(pexpire),    CMD_ROW(expireat),
    CMD_ROW(pexpireat),   CMD_ROW(persist),      CMD_ROW(rename),     CMD_ROW(flushdb),
    CMD_ROW(sadd),        CMD_ROW(srem),         CMD_ROW(spop),       CMD_ROW(smove),
    CMD_ROW(hset),        CMD_ROW(hincrbyfloat), CMD_ROW(hdel),       CMD_ROW(lpush),
    CMD_ROW(rpush),       CMD_ROW(lpop),         CMD_ROW(rpop),       CMD_ROW(blpop),
    CMD_ROW(brpop),       CMD_ROW(lmpop),        CMD_ROW(blmpop),     CMD_ROW(lmove),
    CMD_ROW(blmove),      CMD_ROW(rpoplpush),    CMD_ROW(brpoplpush), CMD_ROW(zadd),
    CMD_ROW(zincrby),     CMD_ROW(zpopmin),      CMD_ROW(zpopmax),    CMD_ROW(bzpopmin),
    CMD_ROW(bzpopmax),    CMD_ROW(zmpop),        CMD_ROW(bzmpop),
};

static void (*handler(const char *name))(struct cmd_ctx *)
{
    for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
        if (strcasecmp(handlers[i].name, name) == 0)
            return handlers[i].fn;
    cr_assert_fail("no handler for %s", name);
    return NULL;
}

static uint64_t rng;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* One random command's arguments, in strings owned by the caller's pool. */
struct gen {
    const char *argv[16];
    int argc;
    char pool[16][32];
};

static const char *g_str(struct gen *g, const char *fmt, long long v)
{
    char *b = g->pool[g->argc];
    snprintf(b, 32, fmt, v);
    return b;
}

static void g_add(struct gen *g, const char *a)
{
    g->argv[g->argc++] = a;
}
static void g_fmt(struct gen *g, const char *fmt, long long v)
{
    g_add(g, g_str(g, fmt, v));
}
static void g_key(struct gen *g)
{
    g_fmt(g, "k%lld", rnd(8));
}
static void g_mem(struct gen *g)
{
    if (rnd(2))
        g_fmt(g, "%lld", rnd(6));
    else
        g_fmt(g, "m%lld", rnd(6));
}

static void gen_command(struct gen *g, int64_t now)
{
    static const char *const ttl_opts[] = {"EX", "PX", "EXAT", "PXAT"};
    static const char *const floats[] = {"0.1", "1.5", "-3e2", "2.5e-3", "7"};
    g->argc = 0;
    switch (rnd(40)) {
    case 0:
    case 1:
    case 2: {
        g_add(g, "SET");
        g_key(g);
        g_fmt(g, "v%lld", rnd(100));
        if (rnd(3) == 0)
            g_add(g, rnd(2) ? "NX" : "XX");
        if (rnd(4) == 0)
            g_add(g, "GET");
        unsigned t = rnd(6);
        if (t < 4) {
            g_add(g, ttl_opts[t]);
            long long v = 1 + rnd(3000);
            if (t == 0)
                v = 1 + rnd(3);
            if (t == 2)
                v = now / 1000 + rnd(5) - 1;
            if (t == 3)
                v = now + (long long)rnd(3000) - 500;
            g_fmt(g, "%lld", v);
        } else if (t == 4) {
            g_add(g, "KEEPTTL");
        }
        break;
    }
    case 3:
        g_add(g, rnd(2) ? "SETEX" : "PSETEX");
        g_key(g);
        g_fmt(g, "%lld", 1 + rnd(2000));
        g_add(g, "x");
        break;
    case 4:
        g_add(g, "GETSET");
        g_key(g);
        g_add(g, "gs");
        break;
    case 5:
        g_add(g, "GETDEL");
        g_key(g);
        break;
    case 6: {
        g_add(g, "GETEX");
        g_key(g);
        unsigned t = rnd(6);
        if (t < 4) {
            g_add(g, ttl_opts[t]);
            long long v = 1 + rnd(3000);
            if (t == 0)
                v = 1 + rnd(3);
            if (t == 2)
                v = now / 1000 + rnd(5) - 1;
            if (t == 3)
                v = now + (long long)rnd(3000) - 500;
            g_fmt(g, "%lld", v);
        } else if (t == 4) {
            g_add(g, "PERSIST");
        }
        break;
    }
    case 7:
    case 8:
        g_add(g, "INCRBYFLOAT");
        g_key(g);
        g_add(g, floats[rnd(5)]);
        break;
    case 9:
        g_add(g, rnd(2) ? "INCR" : "APPEND");
        g_key(g);
        if (strcmp(g->argv[0], "APPEND") == 0)
            g_add(g, "a");
        break;
    case 10:
    case 11:
    case 12: {
        static const char *const names[] = {"EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"};
        static const char *const flags[] = {"NX", "XX", "GT", "LT"};
        unsigned t = rnd(4);
        g_add(g, names[t]);
        g_key(g);
        long long v = (long long)rnd(3000) - 300;
        if (t == 0)
            v = (long long)rnd(5) - 1;
        if (t == 2)
            v = now / 1000 + rnd(5) - 1;
        if (t == 3)
            v = now + v;
        g_fmt(g, "%lld", v);
        if (rnd(3) == 0)
            g_add(g, flags[rnd(4)]);
        break;
    }
    case 13:
        g_add(g, rnd(2) ? "PERSIST" : "DEL");
        g_key(g);
        break;
    case 14:
    case 15:
        g_add(g, rnd(2) ? "GET" : "EXISTS");
        g_key(g);
        break;
    case 16:
    case 17:
        g_add(g, "SADD");
        g_key(g);
        for (unsigned i = 1 + rnd(4); i; i--)
            g_mem(g);
        break;
    case 18:
    case 19:
        g_add(g, "SPOP");
        g_key(g);
        if (rnd(3))
            g_fmt(g, "%lld", rnd(8));
        break;
    case 20:
        g_add(g, rnd(2) ? "SREM" : "SMOVE");
        g_key(g);
        if (strcmp(g->argv[0], "SMOVE") == 0)
            g_key(g);
        g_mem(g);
        break;
    case 21:
    case 22:
        g_add(g, rnd(3) ? "HINCRBYFLOAT" : "HSET");
        g_key(g);
        g_fmt(g, "f%lld", rnd(3));
        g_add(g, floats[rnd(5)]);
        break;
    case 23:
    case 24:
        g_add(g, rnd(2) ? "LPUSH" : "RPUSH");
        g_key(g);
        for (unsigned i = 1 + rnd(4); i; i--)
            g_mem(g);
        break;
    case 25:
        g_add(g, rnd(2) ? "BLPOP" : "BRPOP");
        g_key(g);
        g_key(g);
        g_add(g, "0");
        break;
    case 26:
        if (rnd(2)) {
            g_add(g, "BLMPOP");
            g_add(g, "0");
        } else {
            g_add(g, "LMPOP");
        }
        g_add(g, "2");
        g_key(g);
        g_key(g);
        g_add(g, rnd(2) ? "LEFT" : "RIGHT");
        if (rnd(2)) {
            g_add(g, "COUNT");
            g_fmt(g, "%lld", 1 + rnd(5));
        }
        break;
    case 27:
        g_add(g, rnd(2) ? "BLMOVE" : "LMOVE");
        g_key(g);
        g_key(g);
        g_add(g, rnd(2) ? "LEFT" : "right");
        g_add(g, rnd(2) ? "left" : "RIGHT");
        if (strcmp(g->argv[0], "BLMOVE") == 0)
            g_add(g, "0");
        break;
    case 28:
        g_add(g, rnd(2) ? "BRPOPLPUSH" : "RPOPLPUSH");
        g_key(g);
        g_key(g);
        if (strcmp(g->argv[0], "BRPOPLPUSH") == 0)
            g_add(g, "0");
        break;
    case 29:
    case 30:
        g_add(g, rnd(3) ? "ZADD" : "ZINCRBY");
        g_key(g);
        if (strcmp(g->argv[0], "ZINCRBY") == 0) {
            g_add(g, floats[rnd(5)]);
            g_mem(g);
        } else {
            for (unsigned i = 1 + rnd(3); i; i--) {
                g_add(g, floats[rnd(5)]);
                g_mem(g);
            }
        }
        break;
    case 31: {
        static const char *const names[] = {"BZPOPMIN", "BZPOPMAX", "ZPOPMIN", "ZPOPMAX"};
        g_add(g, names[rnd(4)]);
        g_key(g);
        if (g->argv[0][0] == 'B') {
            g_key(g);
            g_add(g, "0");
        } else if (rnd(2)) {
            g_fmt(g, "%lld", rnd(4));
        }
        break;
    }
    case 32:
        if (rnd(2)) {
            g_add(g, "BZMPOP");
            g_add(g, "0");
        } else {
            g_add(g, "ZMPOP");
        }
        g_add(g, "2");
        g_key(g);
        g_key(g);
        g_add(g, rnd(2) ? "MIN" : "MAX");
        if (rnd(2)) {
            g_add(g, "COUNT");
            g_fmt(g, "%lld", 1 + rnd(5));
        }
        break;
    case 33:
        g_add(g, "RENAME");
        g_key(g);
        g_key(g);
        break;
    case 34:
        if (rnd(10) == 0)
            g_add(g, "FLUSHDB");
        else {
            g_add(g, "SETNX");
            g_key(g);
            g_add(g, "nx");
        }
        break;
    default:
        break; /* no command: the clock or the store's own work moves */
    }
}

/* Keys of db in a and b have the same expiry times (the digest only says
 * whether a key has one). */
struct cmp_arg {
    struct shard *other;
    int db;
};

static int same_expire(void *arg, struct entry *e)
{
    struct cmp_arg *a = arg;
    size_t klen;
    const char *k = entry_key(e, &klen);
    struct entry **ref = dict_find_ref(&a->other->db[a->db].keys, k, klen);
    cr_assert_not_null(ref, "db %d key %.*s missing after replay", a->db, (int)klen, k);
    cr_assert_eq(entry_expire(*ref), entry_expire(e), "db %d key %.*s: expiry %lld vs %lld", a->db,
                 (int)klen, k, (long long)entry_expire(*ref), (long long)entry_expire(e));
    return 0;
}

static void run_replay_case(uint64_t seed, int steps)
{
    struct store_evict saved = store_evict;
    rng = seed * 0x9e3779b97f4a7c15ULL + 1;
    recs_clear();
    collecting = true;
    for (int i = 0; i < steps; i++) {
        unsigned what = rnd(100);
        if (what < 10) {
            advance(rnd(400));
        } else if (what < 12) {
            db_active_expire(s, 1000000);
        } else if (what < 13) {
            store_evict.policy = rnd(2) ? EVICT_ALLKEYS_RANDOM : EVICT_VOLATILE_TTL;
            shard_evict(s, 1 + rnd(200), 1000000);
            store_evict = saved;
        } else {
            struct gen g;
            gen_command(&g, s->now_ms);
            if (g.argc)
                prun_str(rnd(5) == 0 ? 1 : 0, handler(g.argv[0]), g.argc, g.argv);
        }
    }
    collecting = false;

    /* Replay on a fresh shard whose clock stays at the start, so nothing
     * expires during the replay (as redis-server loads an AOF). */
    if (replica)
        shard_free(replica);
    replica = shard_new(1, 16);
    shard_tick(replica, T0);
    for (size_t i = 0; i < nrecs; i++) {
        struct resp_arg argv[16];
        cr_assert_leq(recs[i].argc, 16);
        for (int j = 0; j < recs[i].argc; j++)
            argv[j] = (struct resp_arg){recs[i].argv[j], recs[i].lens[j]};
        const char *r = prun(replica, recs[i].dbid, handler(recs[i].argv[0]), recs[i].argc, argv);
        cr_assert_neq(r[0], '-', "seed %llu: replayed command %zu (%s) failed: %s",
                      (unsigned long long)seed, i, recs[i].argv[0], r);
    }

    unsigned char da[20], db[20];
    struct shard *const a[] = {s}, *const b[] = {replica};
    rdb_digest_dataset(a, 1, da);
    rdb_digest_dataset(b, 1, db);
    for (int d = 0; d < 2; d++) {
        cr_assert_eq(db_size(&s->db[d]), db_size(&replica->db[d]), "seed %llu db %d size",
                     (unsigned long long)seed, d);
        struct cmp_arg arg = {replica, d};
        dict_foreach(&s->db[d].keys, same_expire, &arg);
    }
    cr_assert(memcmp(da, db, 20) == 0, "seed %llu: the replayed dataset differs",
              (unsigned long long)seed);
}

Test(replay, a_replayed_log_rebuilds_the_same_dataset, .timeout = 60)
{
    for (uint64_t seed = 1; seed <= 300; seed++) {
        shard_free(s);
        s = shard_new(0, 16);
        shard_tick(s, T0);
        run_replay_case(seed, 400);
    }
}
