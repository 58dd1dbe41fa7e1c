/* The command interface between the dataplane and the store.
 *
 * The dataplane parses a request, finds its entry in the command table
 * (dataplane/commands.c) and calls the handler with a cmd_ctx. A handler
 * runs to completion on the thread that owns ctx->shard and writes exactly
 * one reply to ctx->out. Handlers never see sockets or connections: the
 * same call can run inline on the connection's worker or, for a key owned
 * by another shard, on that shard's worker with a reply buffer that is
 * handed back through a ring.
 *
 * Handlers are named cmd_<name> and live in one file per type
 * (t_string.c, t_bitmap.c, t_keys.c, ...).
 */
#ifndef SLUICE_CMD_H
#define SLUICE_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "resp.h"
#include "store.h"

struct client; /* dataplane connection; opaque to the store */
struct command;

struct cmd_ctx {
    struct shard *shard;
    struct db *db;
    int dbid;
    int argc;
    const struct resp_arg *argv;
    struct reply *out;
    struct client *client; /* NULL when not run for a connection */
    const struct command *cmd;
    /* Several shards: set when the command runs with every shard it needs
     * held by this thread (multi-key commands, EXEC, whole-keyspace
     * commands). key_shard maps a key to the shard that owns it; all lists
     * every shard. With one shard key_shard is NULL and all is NULL. */
    struct shard *(*key_shard)(const void *key, size_t len);
    struct shard *const *all;
    int nall;
    /* Blocking commands (BLPOP, BZPOPMIN, ...): block_ok is set by the
     * dataplane when the client may block (never inside MULTI, nor when a
     * blocked command is re-run at its timeout); cmd_block() records how
     * long in block_ms. */
    bool block_ok;
    long long block_ms; /* 0: no timeout */
    bool blocked;
    bool propagated; /* cmd_propagate was called: do not log the request */
};

/* A blocking command that finds nothing to serve calls this: true means the
 * client now waits (the handler writes no reply; the command runs again when
 * one of its keys changes; at the timeout the dataplane replies a null
 * array, as Redis 7.0 does); false means it may not block (MULTI) and the
 * handler replies its own null at once. */
static inline bool cmd_block(struct cmd_ctx *c, long long timeout_ms)
{
    if (!c->block_ok)
        return false;
    c->blocked = true;
    c->block_ms = timeout_ms;
    return true;
}

/* The shard and db that own argument i (a key). */
static inline struct shard *arg_shard(const struct cmd_ctx *c, int i)
{
    return c->key_shard ? c->key_shard(c->argv[i].ptr, c->argv[i].len) : c->shard;
}

static inline struct db *arg_db(const struct cmd_ctx *c, int i)
{
    return &arg_shard(c, i)->db[c->dbid];
}

/* ---- propagation (the append-only file) ----
 * A write command that changed the dataset (its shards' dirty counters
 * grew) is logged as the client sent it. A command whose effect depends on
 * the clock, on chance or on what it found (EXPIRE and SET EX: relative
 * times; SPOP, INCRBYFLOAT, BLPOP, LMPOP ...) calls cmd_propagate instead,
 * once per deterministic command that reproduces its effect (PEXPIREAT,
 * SREM, SET ... KEEPTTL, LPOP ...), as Redis 7.0 rewrites them; the request
 * itself is then not logged. Keys the store removes on its own (lazy and
 * active expiry, eviction) are logged as DEL through store_propagate_del.
 * The dataplane installs the hooks while appendonly is on; with none
 * installed these calls only mark the context. */
struct cmd_prop_hooks {
    void (*cmd)(struct cmd_ctx *c, int argc, const struct resp_arg *argv);
    void (*del)(struct shard *s, int dbid, const char *key, size_t len);
};
extern struct cmd_prop_hooks cmd_prop_hooks;

static inline void cmd_propagate(struct cmd_ctx *c, int argc, const struct resp_arg *argv)
{
    c->propagated = true;
    if (cmd_prop_hooks.cmd)
        cmd_prop_hooks.cmd(c, argc, argv);
}

static inline void store_propagate_del(struct shard *s, int dbid, const char *key, size_t len)
{
    if (cmd_prop_hooks.del)
        cmd_prop_hooks.del(s, dbid, key, len);
}

/* Building what cmd_propagate logs (cmd.c): a word (a command name or an
 * option) and a number printed into buf, which must outlive the call. */
#define PROP_LL_BUF 24
struct resp_arg prop_word(const char *word);
struct resp_arg prop_ll(char buf[PROP_LL_BUF], long long v);
/* Propagate `word key` for key argument i (DEL k, PERSIST k, LPOP k, ...). */
void cmd_propagate_key(struct cmd_ctx *c, const char *word, int i);
/* Propagate `word key n` for key argument i (PEXPIREAT k ms, LPOP k n, ...). */
void cmd_propagate_key_ll(struct cmd_ctx *c, const char *word, int i, long long n);

/* Shard k of the whole keyspace (k < ctx_nshards(c)). */
static inline int ctx_nshards(const struct cmd_ctx *c) { return c->all ? c->nall : 1; }
static inline struct shard *ctx_shard_at(const struct cmd_ctx *c, int k)
{
    return c->all ? c->all[k] : c->shard;
}

/* Redis's shared error texts (reply_error adds the leading '-'). */
#define ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define ERR_SYNTAX "ERR syntax error"
#define ERR_NOT_INT "ERR value is not an integer or out of range"
#define ERR_NOT_FLOAT "ERR value is not a valid float"
#define ERR_OVERFLOW "ERR increment or decrement would overflow"
#define ERR_NO_KEY "ERR no such key"
#define ERR_DB_INDEX "ERR DB index is out of range"
#define ERR_BIT_OFFSET "ERR bit offset is not an integer or out of range"
#define ERR_STRING_SIZE "ERR string exceeds maximum allowed size (proto-max-bulk-len)"

/* Maximum string size (proto-max-bulk-len); set by the config layer. */
extern long long store_max_string;

/* ---- argument helpers (cmd.c) ---- */

/* Case-insensitive compare of argument i with an ASCII word. */
bool arg_is(const struct cmd_ctx *c, int i, const char *word);
/* Parse argument i as a long long; on failure reply ERR_NOT_INT (or msg
 * when given) and return false. */
bool arg_ll(struct cmd_ctx *c, int i, long long *v, const char *msg);
/* Parse argument i as a long double / double with Redis's rules (no
 * spaces, no NaN); on failure reply ERR_NOT_FLOAT and return false. */
bool arg_ld(struct cmd_ctx *c, int i, long double *v);
bool arg_double(struct cmd_ctx *c, int i, double *v);
/* Parse a strict long long from bytes (Redis string2ll). */
bool str_to_ll(const char *s, size_t n, long long *v);
/* Parse a long double from bytes as Redis's string2ld does. */
bool str_to_ld(const char *s, size_t n, long double *v);

/* Argument i equals an option word, compared as a C string (up to its
 * first NUL) and case-insensitively, as Redis's strcasecmp. */
bool arg_opt(const struct cmd_ctx *c, int i, const char *word);
/* A SCAN-family cursor as Redis's parseScanCursorOrReply reads it (strtoul:
 * an optional sign, "-1" wraps, digits up to the first NUL, no overflow, ""
 * is 0); on failure replies "ERR invalid cursor". */
bool arg_cursor(struct cmd_ctx *c, int i, uint64_t *cursor);

/* SCAN-family options from argument i on: COUNT n (>= 1), MATCH pattern
 * ("*" leaves *pat NULL: everything), and with type non-NULL TYPE name
 * (SCAN only). Replies Redis's error and returns false on a bad one. */
bool arg_scan_opts(struct cmd_ctx *c, int i, long long *count, const char **pat, size_t *plen,
                   const struct resp_arg **type);

/* Entries gathered by one dict_scan step (entry_vec_push is its callback). */
struct entry_vec {
    struct entry **v;
    size_t n, cap;
};
void entry_vec_push(void *vec, struct entry *e);

/* Parse a blocking command's timeout (seconds, a double; argument i) into
 * milliseconds with Redis's errors ("timeout is not a float or out of
 * range", "timeout is negative"); 0 means forever. */
bool arg_timeout(struct cmd_ctx *c, int i, long long *ms);

/* Look up argument i as a key in the context's db. */
struct entry *key_lookup(struct cmd_ctx *c, int i, int flags, struct entry ***ref);
/* Like key_lookup for a read, replying WRONGTYPE (and returning NULL with
 * *wrongtype set) when the key holds another type. */
struct entry *key_lookup_type(struct cmd_ctx *c, int i, int type, int flags,
                              struct entry ***ref, bool *wrongtype);

/* ---- handlers ---- */

#define CMD(name) void cmd_##name(struct cmd_ctx *c)

/* t_string.c */
CMD(get); CMD(set); CMD(setnx); CMD(setex); CMD(psetex); CMD(getset); CMD(getdel);
CMD(getex); CMD(mget); CMD(mset); CMD(msetnx); CMD(append); CMD(strlen);
CMD(getrange); CMD(setrange); CMD(incr); CMD(decr); CMD(incrby); CMD(decrby);
CMD(incrbyfloat); CMD(lcs);

/* t_bitmap.c */
CMD(setbit); CMD(getbit); CMD(bitcount); CMD(bitpos); CMD(bitop); CMD(bitfield);
CMD(bitfield_ro);

/* t_keys.c */
CMD(del); CMD(unlink); CMD(exists); CMD(touch); CMD(type); CMD(keys); CMD(scan);
CMD(randomkey); CMD(rename); CMD(renamenx); CMD(copy); CMD(move); CMD(dbsize);
CMD(flushdb); CMD(flushall); CMD(expire); CMD(pexpire); CMD(expireat); CMD(pexpireat);
CMD(ttl); CMD(pttl); CMD(expiretime); CMD(pexpiretime); CMD(persist); CMD(object);

/* t_hash.c */
CMD(hset); CMD(hsetnx); CMD(hget); CMD(hmget); CMD(hmset); CMD(hdel); CMD(hlen);
CMD(hstrlen); CMD(hexists); CMD(hkeys); CMD(hvals); CMD(hgetall); CMD(hincrby);
CMD(hincrbyfloat); CMD(hrandfield); CMD(hscan);

/* t_list.c */
CMD(lpush); CMD(rpush); CMD(lpushx); CMD(rpushx); CMD(lpop); CMD(rpop); CMD(llen);
CMD(lrange); CMD(lindex); CMD(lset); CMD(linsert); CMD(lrem); CMD(ltrim); CMD(lpos);
CMD(lmove); CMD(rpoplpush); CMD(lmpop); CMD(blpop); CMD(brpop); CMD(blmove);
CMD(brpoplpush); CMD(blmpop);

/* t_set.c */
CMD(sadd); CMD(srem); CMD(sismember); CMD(smismember); CMD(smembers); CMD(scard);
CMD(spop); CMD(srandmember); CMD(smove); CMD(sinter); CMD(sintercard); CMD(sinterstore);
CMD(sunion); CMD(sunionstore); CMD(sdiff); CMD(sdiffstore); CMD(sscan);

/* t_zset.c */
CMD(zadd); CMD(zincrby); CMD(zrem); CMD(zcard); CMD(zcount); CMD(zlexcount); CMD(zscore);
CMD(zmscore); CMD(zrank); CMD(zrevrank); CMD(zrange); CMD(zrevrange); CMD(zrangestore);
CMD(zrangebyscore); CMD(zrevrangebyscore); CMD(zrangebylex); CMD(zrevrangebylex);
CMD(zremrangebyrank); CMD(zremrangebyscore); CMD(zremrangebylex); CMD(zpopmin);
CMD(zpopmax); CMD(bzpopmin); CMD(bzpopmax); CMD(zmpop); CMD(bzmpop); CMD(zrandmember);
CMD(zunion); CMD(zunionstore); CMD(zinter); CMD(zinterstore); CMD(zintercard); CMD(zdiff);
CMD(zdiffstore); CMD(zscan);

/* t_sort.c */
CMD(sort); CMD(sort_ro);
int sort_getkeys(int argc, const struct resp_arg *argv, int *idx, int max, bool *every_shard);

#undef CMD

#endif
