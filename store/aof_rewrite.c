/* The base file of an AOF in commands (aof-use-rdb-preamble no): the
 * dataset as the commands that rebuild it, in the form Redis 7.0's
 * rewriteAppendOnlyFileRio writes (see aof.h):
 *  - "#TS:<unix seconds>" first when aof-timestamp-enabled (the caller);
 *  - SELECT <db> before the keys of a db (the fork-less snapshot repeats it
 *    at the start of each piece, which loads the same);
 *  - a string as SET key value; a list as RPUSH, a set as SADD, a sorted
 *    set as ZADD (score first, written as "%.17g"), a hash as HMSET (Redis
 *    7.0 still writes HMSET there), each command carrying at most
 *    AOF_REWRITE_ITEMS_PER_CMD elements (pairs for ZADD and HMSET);
 *  - then PEXPIREAT key <ms> for a key with a TTL.
 * Elements go out in the value's own order (list head to tail, intset
 * ascending, sorted sets by score, tables in table order); loading gives
 * the same value and, under the same thresholds, the same encoding Redis's
 * loader gives. A piece's buffer grows as rdb.c's pieces do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aof.h"
#include "rdb.h"
#include "t_hash.h"
#include "t_list.h"
#include "t_set.h"
#include "t_zset.h"

#define ITEMS_PER_CMD 64 /* Redis's AOF_REWRITE_ITEMS_PER_CMD */

static void put(struct rdb_piece *p, const void *s, size_t n)
{
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (cap < p->len + n)
            cap *= 2;
        unsigned char *b = realloc(p->buf, cap);
        if (!b)
            abort();
        p->buf = b;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, s, n);
    p->len += n;
}

/* "<c><n>\r\n": a multibulk count or a bulk length. */
static void put_count(struct rdb_piece *p, char c, long long n)
{
    char b[32];
    int k = snprintf(b, sizeof(b), "%c%lld\r\n", c, n);
    put(p, b, (size_t)k);
}

static void put_bulk(struct rdb_piece *p, const void *s, size_t n)
{
    put_count(p, '$', (long long)n);
    put(p, s, n);
    put(p, "\r\n", 2);
}

static void put_bulk_ll(struct rdb_piece *p, long long v)
{
    char b[LP_INTBUF_SIZE];
    put_bulk(p, b, (size_t)lp_fmt_int(v, b));
}

/* A command of many elements cut into commands of at most ITEMS_PER_CMD:
 * each starts with its name and the key. */
struct batch {
    struct rdb_piece *p;
    const char *cmd;
    const char *key;
    size_t klen;
    unsigned long left;  /* elements not written yet */
    unsigned in_cmd;     /* elements written in the open command */
    unsigned per_elem;   /* bulk strings per element: 1, or 2 (pairs) */
};

static void batch_elem(struct batch *b)
{
    if (b->in_cmd == 0) {
        unsigned long n = b->left < ITEMS_PER_CMD ? b->left : ITEMS_PER_CMD;
        put_count(b->p, '*', (long long)(2 + n * b->per_elem));
        put_bulk(b->p, b->cmd, strlen(b->cmd));
        put_bulk(b->p, b->key, b->klen);
    }
    if (++b->in_cmd == ITEMS_PER_CMD)
        b->in_cmd = 0;
    b->left--;
}

static bool set_member(void *arg, const char *m, size_t n)
{
    struct batch *b = arg;
    batch_elem(b);
    put_bulk(b->p, m, n);
    return true;
}

static bool zset_member(void *arg, const char *m, size_t n, double score)
{
    struct batch *b = arg;
    char d[64];
    int k = snprintf(d, sizeof(d), "%.17g", score);
    batch_elem(b);
    put_bulk(b->p, d, (size_t)k);
    put_bulk(b->p, m, n);
    return true;
}

static void hash_pair(void *arg, const char *f, size_t fl, const char *v, size_t vl)
{
    struct batch *b = arg;
    batch_elem(b);
    put_bulk(b->p, f, fl);
    put_bulk(b->p, v, vl);
}

void aof_piece_timestamp(struct rdb_piece *p, long long unix_secs)
{
    char b[48];
    int k = snprintf(b, sizeof(b), "#TS:%lld\r\n", unix_secs);
    put(p, b, (size_t)k);
}

void aof_piece_select(struct rdb_piece *p, int dbid)
{
    put(p, "*2\r\n$6\r\nSELECT\r\n", 16);
    put_bulk_ll(p, dbid);
}

void aof_piece_key(struct rdb_piece *p, const struct entry *e)
{
    size_t klen;
    const char *key = entry_key(e, &klen);
    struct batch b = {.p = p, .key = key, .klen = klen, .per_elem = 1};
    void *obj = entry_type(e) == OBJ_STRING ? NULL : entry_get_ptr(e);
    switch (entry_type(e)) {
    case OBJ_STRING: {
        char buf[24];
        size_t len;
        const char *s = entry_str(e, &len, buf);
        put(p, "*3\r\n$3\r\nSET\r\n", 13);
        put_bulk(p, key, klen);
        put_bulk(p, s, len);
        break;
    }
    case OBJ_LIST: {
        struct quicklist *ql = obj;
        struct ql_iter it;
        b.cmd = "RPUSH";
        b.left = ql->count;
        for (ql_iter_init(ql, 0, true, &it); ql_iter_valid(&it); ql_iter_next(&it)) {
            char buf[LP_INTBUF_SIZE];
            uint32_t len;
            const unsigned char *s = ql_iter_get(&it, &len, buf);
            batch_elem(&b);
            put_bulk(p, s, len);
        }
        break;
    }
    case OBJ_SET:
        b.cmd = "SADD";
        b.left = set_length(e);
        set_each(e, set_member, &b);
        break;
    case OBJ_ZSET:
        b.cmd = "ZADD";
        b.left = zset_length(e);
        b.per_elem = 2;
        zset_foreach(e, false, zset_member, &b);
        break;
    case OBJ_HASH:
        b.cmd = "HMSET";
        b.left = hash_obj_len(obj, entry_enc(e));
        b.per_elem = 2;
        hash_obj_foreach(obj, entry_enc(e), hash_pair, &b);
        break;
    }
    int64_t exp = entry_expire(e);
    if (exp != -1) {
        put(p, "*3\r\n$9\r\nPEXPIREAT\r\n", 19);
        put_bulk(p, key, klen);
        put_bulk_ll(p, exp);
    }
}
