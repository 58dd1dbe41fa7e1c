/* Blocked clients: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
 * BZPOPMAX, BZMPOP.
 *
 * A blocking command always runs on its client's worker with every shard of
 * its keys held (never handed to another worker), so waiting can be set up
 * while the keys cannot change. When its handler finds nothing to serve it
 * calls cmd_block() (store/cmd.h) and writes no reply. Then:
 *  - the client stops running requests: the rest stay in its query buffer
 *    until it is served, as in Redis;
 *  - a waiter is registered on each key it waits for, in the db of the shard
 *    that owns the key (db_block), and joins its worker's list of blocked
 *    clients, in blocking order.
 * When a key is written the store wakes the key's first waiter for the type
 * now there (store.h). wake() may run on any worker thread: it only marks
 * the waiter ready and rings its worker's doorbell. Each loop turn the
 * worker re-runs its ready commands in blocking order, with their shards
 * held. A command that is served leaves: it is unregistered from every key
 * (which wakes the next waiter of a key that still holds a value); one that
 * is not keeps its place. At the deadline the client gets Redis 7.0's
 * timeout reply, a null array, whatever the command (inside MULTI the same
 * commands reply their own nulls instead). A client that disconnects leaves
 * at once.
 *
 * Like Redis 7.2 (and unlike 7.0, which pops on behalf of the client), a
 * woken client re-runs its whole command; the replies are the same except
 * when another key of the command changed type meanwhile.
 */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "server.h"

struct blocked {
    struct store_waiter waiter; /* first: wake() gets the container */
    _Atomic int ready;
    struct worker *w;
    struct client *c;
    const struct command *cmd;
    int argc;
    struct resp_arg *argv; /* copy (resp_args_copy) */
    int dbid;
    int64_t deadline;     /* ms; 0: forever */
    struct msg *slot;     /* the reply's place in the client's queue, or NULL */
    struct blocked *prev, *next;
};

static void wake(struct store_waiter *sw)
{
    struct blocked *b = (struct blocked *)sw;
    atomic_store_explicit(&b->ready, 1, memory_order_relaxed);
    /* seq_cst: the worker reads blk_ready after its turn's completions. */
    atomic_store(&b->w->blk_ready, 1);
    worker_wake(b->w);
}

/* The keys a command waits on: all of its keys, except that BLMOVE and
 * BRPOPLPUSH (a fixed last key: the destination) wait on the source only. */
static int wait_keys(const struct command *cmd, int argc, const struct resp_arg *argv, int *idx,
                     int max)
{
    int n = cmd_key_args(cmd, argc, argv, idx, max);
    return cmd->last_key > 0 && n > 1 ? 1 : n;
}

static struct db *key_db(struct blocked *b, const struct resp_arg *k)
{
    struct shard *s = server.nworkers > 1 ? shard_of_key(k->ptr, k->len) : b->w->shard;
    return &s->db[b->dbid];
}

/* With the keys' shards held: register or unregister every key. */
static void register_keys(struct blocked *b, bool on)
{
    int idx[256];
    int n = wait_keys(b->cmd, b->argc, b->argv, idx, 256);
    for (int i = 0; i < n; i++) {
        const struct resp_arg *k = &b->argv[idx[i]];
        if (on)
            db_block(key_db(b, k), k->ptr, k->len, &b->waiter);
        else
            db_unblock(key_db(b, k), k->ptr, k->len, &b->waiter);
    }
}

static void list_remove(struct blocked *b)
{
    struct worker *w = b->w;
    if (b->prev)
        b->prev->next = b->next;
    else
        w->blk_head = b->next;
    if (b->next)
        b->next->prev = b->prev;
    else
        w->blk_tail = b->prev;
}

static void block(struct client *c, const struct command *cmd, int argc,
                  const struct resp_arg *argv, long long ms, struct msg *slot)
{
    struct worker *w = c->w;
    struct blocked *b = calloc(1, sizeof(*b));
    if (!b)
        abort();
    b->waiter.wake = wake;
    b->waiter.type = strcmp(cmd->group, "list") == 0 ? OBJ_LIST : OBJ_ZSET;
    b->w = w;
    b->c = c;
    b->cmd = cmd;
    b->argc = argc;
    b->argv = resp_args_copy(argc, argv);
    b->dbid = c->dbid;
    b->deadline = ms <= 0 ? 0 : ms > INT64_MAX - w->shard->now_ms ? INT64_MAX : w->shard->now_ms + ms;
    b->slot = slot;
    b->prev = w->blk_tail;
    if (w->blk_tail)
        w->blk_tail->next = b;
    else
        w->blk_head = b;
    w->blk_tail = b;
    if (b->deadline && (!w->blk_deadline || b->deadline < w->blk_deadline))
        w->blk_deadline = b->deadline;
    register_keys(b, true);
    c->blk = b;
    c->flags |= CL_BLOCKED;
    atomic_fetch_add_explicit(&server.blocked_clients, 1, memory_order_relaxed);
}

/* With the keys' shards held (or the server stopping: unregister nothing,
 * the shards are freed whole). */
static void unblock(struct blocked *b, bool unregister)
{
    if (unregister)
        register_keys(b, false);
    list_remove(b);
    b->c->blk = NULL;
    b->c->flags &= ~CL_BLOCKED;
    atomic_fetch_sub_explicit(&server.blocked_clients, 1, memory_order_relaxed);
    free(b->argv);
    free(b);
}

static uint64_t held_mask(struct client *c, const struct command *cmd, int argc,
                          const struct resp_arg *argv)
{
    if (server.nworkers == 1)
        return 0;
    return dp_shard_mask(c, cmd, argc, argv) & ~(1ull << c->w->id);
}

void blocking_run(struct client *c, const struct command *cmd, int argc,
                  const struct resp_arg *argv)
{
    struct msg *slot;
    struct reply *out = reply_target(c, &slot);
    uint64_t mask = held_mask(c, cmd, argc, argv);
    long long ms = 0;

    if (mask && !shards_acquire(c->w, mask)) {
        reply_error(out, "ERR the server is shutting down");
    } else if (run_cmd(c, cmd, argc, argv, out, true, &ms)) {
        block(c, cmd, argc, argv, ms, slot);
        slot = NULL; /* completed when served */
    }
    if (mask)
        shards_release(c->w, mask);
    if (slot)
        client_reply_done(slot);
}

/* Run a blocked command again; true when the client was served (b is
 * gone). timed_out: reply the timeout instead. */
static bool retry(struct blocked *b, bool timed_out)
{
    struct client *c = b->c;
    struct msg *slot = b->slot;
    struct reply *out = slot ? &slot->reply : &c->reply;
    uint64_t mask = held_mask(c, b->cmd, b->argc, b->argv);

    atomic_store_explicit(&b->ready, 0, memory_order_relaxed);
    if (mask && !shards_acquire(c->w, mask)) {
        reply_error(out, "ERR the server is shutting down");
        unblock(b, false);
    } else if (timed_out) {
        reply_null_array(out); /* Redis 7.0's timeout reply, for every blocking command */
        unblock(b, true);
    } else if (!run_cmd(c, b->cmd, b->argc, b->argv, out, true, NULL)) {
        unblock(b, true);
    } else {
        if (mask)
            shards_release(c->w, mask);
        return false;
    }
    if (mask)
        shards_release(c->w, mask);
    if (slot)
        client_reply_done(slot);
    client_unblocked(c);
    return true;
}

void blocking_poll(struct worker *w)
{
    if (!w->blk_head)
        return;
    int64_t now = w->shard->now_ms;
    bool woken = atomic_exchange(&w->blk_ready, 0);
    if (!woken && (!w->blk_deadline || now < w->blk_deadline))
        return;
    /* Serving a client runs the requests it had queued, which may block or
     * close other clients: after each one served, start over from the
     * head. A waiter re-run without success is not ready any more, so each
     * is tried once per turn. */
    for (struct blocked *b = w->blk_head; b;) {
        bool expired = b->deadline && now >= b->deadline;
        if (atomic_load_explicit(&b->ready, memory_order_relaxed) || expired)
            b = retry(b, expired) ? w->blk_head : b->next;
        else
            b = b->next;
    }
    w->blk_deadline = 0;
    for (struct blocked *b = w->blk_head; b; b = b->next)
        if (b->deadline && (!w->blk_deadline || b->deadline < w->blk_deadline))
            w->blk_deadline = b->deadline;
}

void blocking_abort(struct client *c)
{
    struct blocked *b = c->blk;
    struct msg *slot = b->slot;
    uint64_t mask = held_mask(c, b->cmd, b->argc, b->argv);
    bool held = !atomic_load(&server.stop) && (!mask || shards_acquire(c->w, mask));

    unblock(b, held);
    if (mask && held)
        shards_release(c->w, mask);
    if (slot)
        client_reply_done(slot); /* empty: the client is going */
}
