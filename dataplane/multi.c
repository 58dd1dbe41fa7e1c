/* Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH with Redis 7.0's
 * semantics.
 *
 * - Inside MULTI every command but the transaction controls (EXEC DISCARD
 *   MULTI WATCH QUIT RESET) is checked (known, right arity, allowed in a
 *   transaction) and queued with its arguments copied; a refused command
 *   marks the transaction so EXEC aborts with EXECABORT.
 * - WATCH registers the client's dirty_cas flag with each key's db
 *   (db_watch); any write, delete, expiry or flush of the key sets it, and
 *   EXEC then replies a null array. A watched key that was live at WATCH and
 *   is logically expired at EXEC also fails the transaction, as in Redis.
 * - EXEC runs the queue back to back on this worker; nothing else runs in
 *   between, so the transaction is atomic. Runtime errors of one command do
 *   not roll back the others.
 *
 * With several shards, EXEC holds every shard its queued commands and its
 * watched keys touch (multi_shard_mask) for the whole run, and WATCH,
 * UNWATCH and the clean-up hold the shards of the keys they register with.
 */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "server.h"

_Thread_local int dp_in_exec;

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        abort();
    return p;
}

void multi_queue(struct client *c, const struct command *cmd, int argc,
                 const struct resp_arg *argv)
{
    struct resp_arg *copy = resp_args_copy(argc, argv);
    if (c->mq_len == c->mq_cap) {
        c->mq_cap = c->mq_cap ? c->mq_cap * 2 : 8;
        c->mq = realloc(c->mq, (size_t)c->mq_cap * sizeof(*c->mq));
        if (!c->mq)
            abort();
    }
    c->mq[c->mq_len++] = (struct queued_cmd){.cmd = cmd, .argc = argc, .argv = copy};
    struct msg *slot;
    reply_simple(reply_target(c, &slot), "QUEUED");
    if (slot)
        client_reply_done(slot);
}

static void discard_queue(struct client *c)
{
    for (int i = 0; i < c->mq_len; i++)
        free(c->mq[i].argv);
    free(c->mq);
    c->mq = NULL;
    c->mq_len = c->mq_cap = 0;
    c->flags &= ~(CL_MULTI | CL_DIRTY_EXEC);
}

static struct shard *key_owner(struct client *c, const struct watched_key *wk)
{
    return server.nworkers > 1 ? shard_of_key(wk->key, wk->klen) : c->w->shard;
}

static uint64_t watched_mask(struct client *c)
{
    uint64_t mask = 0;
    for (int i = 0; i < c->nwatched; i++)
        mask |= 1ull << dp_owner(dp_keyslot(c->watched[i].key, c->watched[i].klen));
    return mask;
}

/* Forget every watched key. held: the caller already holds their shards
 * (EXEC); otherwise they are taken here when there are several. At
 * shutdown the shards are freed whole, so nothing is unregistered. */
static void unwatch_all(struct client *c, bool held)
{
    bool lock = server.nworkers > 1 && !held && c->nwatched;
    uint64_t mask = lock ? watched_mask(c) : 0;
    bool stopping = atomic_load(&server.stop);

    if (lock && !stopping)
        stopping = !shards_acquire(c->w, mask);
    for (int i = 0; i < c->nwatched; i++) {
        struct watched_key *wk = &c->watched[i];
        if (!stopping)
            db_unwatch(&key_owner(c, wk)->db[wk->dbid], wk->key, wk->klen, &c->dirty_cas);
        free(wk->key);
    }
    if (lock)
        shards_release(c->w, mask);
    free(c->watched);
    c->watched = NULL;
    c->nwatched = c->watched_cap = 0;
    atomic_store_explicit(&c->dirty_cas, 0, memory_order_relaxed);
}

void multi_reset(struct client *c)
{
    discard_queue(c);
    unwatch_all(c, false);
}

uint64_t multi_shard_mask(struct client *c)
{
    uint64_t mask = watched_mask(c);
    for (int i = 0; i < c->mq_len; i++)
        mask |= dp_shard_mask(c, c->mq[i].cmd, c->mq[i].argc, c->mq[i].argv);
    return mask;
}

void cmd_multi(struct cmd_ctx *c)
{
    if (c->client->flags & CL_MULTI)
        return reply_error(c->out, "ERR MULTI calls can not be nested");
    c->client->flags |= CL_MULTI;
    reply_ok(c->out);
}

void cmd_discard(struct cmd_ctx *c)
{
    if (!(c->client->flags & CL_MULTI))
        return reply_error(c->out, "ERR DISCARD without MULTI");
    multi_reset(c->client);
    reply_ok(c->out);
}

/* A watched key that was live when watched and has since expired, without
 * anyone touching it yet, still fails the transaction. */
static bool watched_key_expired(struct client *k)
{
    for (int i = 0; i < k->nwatched; i++) {
        struct watched_key *wk = &k->watched[i];
        struct shard *s = key_owner(k, wk);
        if (wk->expired_at_watch)
            continue;
        struct entry **ref = dict_find_ref(&s->db[wk->dbid].keys, wk->key, wk->klen);
        if (ref && entry_is_expired(s, *ref))
            return true;
    }
    return false;
}

void cmd_exec(struct cmd_ctx *c)
{
    struct client *k = c->client;

    if (!(k->flags & CL_MULTI))
        return reply_error(c->out, "ERR EXEC without MULTI");
    if (k->flags & CL_DIRTY_EXEC) {
        discard_queue(k);
        unwatch_all(k, true);
        return reply_error(c->out,
                           "EXECABORT Transaction discarded because of previous errors.");
    }
    if (atomic_load_explicit(&k->dirty_cas, memory_order_relaxed) || watched_key_expired(k)) {
        discard_queue(k);
        unwatch_all(k, true);
        return reply_null_array(c->out);
    }
    /* Detach the queue first: the commands run with the client out of MULTI
     * and no key watched any more, as in Redis. */
    struct queued_cmd *q = k->mq;
    int n = k->mq_len;
    k->mq = NULL;
    k->mq_len = k->mq_cap = 0;
    k->flags &= ~CL_MULTI;
    unwatch_all(k, true);

    /* Every shard involved is held (or there is one): run them here. */
    reply_array(c->out, n);
    dp_in_exec++;
    for (int i = 0; i < n; i++) {
        run_held(k, q[i].cmd, q[i].argc, q[i].argv, c->out);
        free(q[i].argv);
    }
    dp_in_exec--;
    free(q);
}

void cmd_watch(struct cmd_ctx *c)
{
    struct client *k = c->client;

    if (k->flags & CL_MULTI)
        return reply_error(c->out, "ERR WATCH inside MULTI is not allowed");
    for (int i = 1; i < c->argc; i++) {
        const struct resp_arg *a = &c->argv[i];
        bool dup = false;
        for (int j = 0; j < k->nwatched && !dup; j++)
            dup = k->watched[j].dbid == c->dbid && k->watched[j].klen == a->len &&
                  memcmp(k->watched[j].key, a->ptr, a->len) == 0;
        if (dup)
            continue;
        if (k->nwatched == k->watched_cap) {
            k->watched_cap = k->watched_cap ? k->watched_cap * 2 : 4;
            k->watched = realloc(k->watched, (size_t)k->watched_cap * sizeof(*k->watched));
            if (!k->watched)
                abort();
        }
        struct db *db = arg_db(c, i);
        struct entry **ref = dict_find_ref(&db->keys, a->ptr, a->len);
        struct watched_key *wk = &k->watched[k->nwatched++];
        wk->dbid = c->dbid;
        wk->klen = a->len;
        wk->key = xmalloc(a->len ? a->len : 1);
        memcpy(wk->key, a->ptr, a->len);
        wk->expired_at_watch = ref && entry_is_expired(arg_shard(c, i), *ref);
        db_watch(db, a->ptr, a->len, &k->dirty_cas);
    }
    reply_ok(c->out);
}

void cmd_unwatch(struct cmd_ctx *c)
{
    unwatch_all(c->client, false);
    reply_ok(c->out);
}
