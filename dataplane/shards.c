/* Shard-per-core: messages between workers, single-shard hand-off, and the
 * shard locks that make multi-shard commands atomic.
 *
 * Every worker owns one shard. A command whose keys all live on another
 * worker's shard is copied into a message and pushed onto the SPSC ring
 * (this worker -> owner); the owner runs it and pushes the message back with
 * the reply. A client's replies stay in request order: while any of its
 * commands is away, later replies wait in the client's reply queue.
 *
 * A command that needs several shards (multi-key commands over keys of
 * different shards, EXEC, whole-keyspace commands) runs on the client's own
 * worker after it holds every shard involved:
 *  - shards are acquired one by one in ascending index order (LOCK, then
 *    GRANT from the owner), so two such commands can never wait on each
 *    other in a cycle;
 *  - an owner that granted its shard stops touching it ("parked") and
 *    handles only lock traffic until UNLOCK; work for its shard that
 *    arrives meanwhile is stashed and run, in arrival order, before any
 *    later lock request is granted, so a client's earlier single-shard
 *    command is never overtaken by its later multi-shard one;
 *  - while a worker waits for grants it keeps serving the lock traffic of
 *    its rings, so a waiting worker never blocks the others.
 * The ring hand-off (release on push, acquire on pop) orders the memory
 * accesses: everything the owner did before GRANT is visible to the holder,
 * and everything the holder did before UNLOCK is visible to the owner.
 * Single-shard traffic pays nothing for this: with no lock traffic the
 * rings are empty and the checks are one branch each.
 */
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "server.h"

#define RING_SLOTS 4096

int shards_init(void)
{
    int n = server.nworkers;
    for (int i = 0; i < n; i++) {
        struct worker *w = &server.workers[i];
        w->in = calloc((size_t)n, sizeof(*w->in));
        w->out = calloc((size_t)n, sizeof(*w->out));
        if (!w->in || !w->out)
            return -1;
        w->lent_to = -1;
        w->parkfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->parkfd < 0)
            return -1;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            if (i == j)
                continue;
            struct ring *r = ring_new(RING_SLOTS);
            if (!r)
                return -1;
            server.workers[i].out[j] = r;
            server.workers[j].in[i] = r;
        }
    return 0;
}

struct shard *shard_of_key(const void *key, size_t len)
{
    return server.workers[dp_owner(dp_keyslot(key, len))].shard;
}

struct msg *msg_new(int kind, struct worker *from)
{
    struct msg *m = calloc(1, sizeof(*m));
    if (!m)
        abort();
    m->kind = kind;
    m->from = from->id;
    return m;
}

/* Copy a command and its arguments into an EXEC message. */
static struct msg *msg_exec(struct worker *w, struct client *c, const struct command *cmd,
                            int argc, const struct resp_arg *argv)
{
    struct msg *m = msg_new(MSG_EXEC, w);
    m->args = resp_args_copy(argc, argv);
    m->argc = argc;
    m->cmd = cmd;
    m->client = c;
    m->dbid = c->dbid;
    reply_init_small(&m->reply, c->reply.proto);
    return m;
}

void msg_free(struct msg *m)
{
    reply_free(&m->reply);
    free(m->args);
    free(m);
}

static void serve_rings(struct worker *w);

/* Push m to worker `to`; while the ring is full, keep serving our own
 * rings (the peer may be waiting on us to drain its ring). */
void post(struct worker *w, int to, struct msg *m)
{
    /* Full: the peer is behind. Keep draining our own rings meanwhile (it
     * may be waiting for room in them), but only stash work for our shard:
     * running it here would post again, recursing without bound. */
    if (!ring_push(w->out[to], m)) {
        w->posting++;
        while (!ring_push(w->out[to], m)) {
            ring_bells(w);
            io_uring_submit(&w->ring);
            serve_rings(w);
            sched_yield();
        }
        w->posting--;
    }
    w->bells |= 1ull << to;
    /* A peer blocked in WAIT_UNTIL sleeps on its eventfd, not its ring.
     * seq_cst pairs with the store of `blocked` before its last check. */
    struct worker *peer = &server.workers[to];
    if (atomic_load(&peer->blocked)) {
        uint64_t one = 1;
        ssize_t n = write(peer->parkfd, &one, sizeof(one));
        (void)n;
    }
}

/* Ring the doorbell of every worker we pushed to this turn: one MSG_RING
 * per peer, posting a completion on its ring so it wakes if asleep. The
 * entries go out with the loop's next submit (waiting loops submit
 * themselves). */
void ring_bells(struct worker *w)
{
    aof_worker_flush(w); /* records taken so far must not wait for our turn's end */
    if (config.busy_poll) /* every peer polls its rings each turn */
        w->bells = 0;
    if (!w->bells)
        return;
    for (int to = 0; to < server.nworkers; to++) {
        if (!(w->bells & (1ull << to)))
            continue;
        struct io_uring_sqe *sqe = worker_sqe(w);
        io_uring_prep_msg_ring(sqe, server.workers[to].ring.ring_fd, 0, OP_BELL, 0);
        sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
        io_uring_sqe_set_data64(sqe, OP_BELL);
    }
    w->bells = 0;
}

static void stash(struct worker *w, struct msg *m)
{
    w->stash_execs += m->kind == MSG_EXEC;
    m->snext = NULL;
    if (w->stash_tail)
        w->stash_tail->snext = m;
    else
        w->stash_head = m;
    w->stash_tail = m;
}

static bool shard_free_here(const struct worker *w)
{
    return w->lent_to < 0 && !w->self_held;
}

/* Run a single-shard command for another worker and send it back. */
static void run_exec(struct worker *w, struct msg *m)
{
    struct cmd_ctx ctx = {
        .shard = w->shard,
        .db = &w->shard->db[m->dbid],
        .dbid = m->dbid,
        .argc = m->argc,
        .argv = m->args,
        .out = &m->reply,
        .cmd = m->cmd,
    };
    m->aof_need = run_handler(&ctx, w, true);
    m->kind = MSG_REPLY;
    post(w, m->from, m);
}

static void grant(struct worker *w, int to)
{
    struct msg *m = msg_new(MSG_GRANT, w);
    w->lent_to = to;
    post(w, to, m);
}

/* Take the stashed messages of one kind, in arrival order: REPLYs go to
 * their clients; EXECs run while the shard is here. Others stay stashed,
 * ahead of anything stashed meanwhile (running an EXEC may serve the rings
 * and stash more). */
static void drain_stash(struct worker *w, int kind)
{
    struct msg *m = w->stash_head, *keep = NULL, *keep_tail = NULL;
    w->stash_head = w->stash_tail = NULL;
    while (m) {
        struct msg *next = m->snext;
        m->snext = NULL;
        if (m->kind == kind && kind == MSG_REPLY) {
            client_reply_done(m);
        } else if (m->kind == kind && shard_free_here(w) && !w->posting) {
            w->stash_execs--;
            run_exec(w, m);
        } else {
            if (keep_tail)
                keep_tail->snext = m;
            else
                keep = m;
            keep_tail = m;
        }
        m = next;
    }
    if (keep) {
        keep_tail->snext = w->stash_head;
        if (!w->stash_head)
            w->stash_tail = keep_tail;
        w->stash_head = keep;
    }
}

/* Our shard is ours again: run the work that waited for it, in arrival
 * order, then hand the shard to the next waiter (our own coordinator
 * first). Replies stay stashed until the normal loop delivers them. */
static void drain_stash(struct worker *w, int kind);

static void shard_returned(struct worker *w)
{
    drain_stash(w, MSG_EXEC);
    if (!shard_free_here(w))
        return;
    if (w->want_self) {
        w->want_self = false;
        w->self_held = true;
    } else if (w->lockq_len) {
        int to = w->lockq[w->lockq_head];
        w->lockq_head = (w->lockq_head + 1) % MAX_WORKERS;
        w->lockq_len--;
        grant(w, to);
    }
}

static bool stash_has_exec(const struct worker *w)
{
    return w->stash_execs > 0;
}

/* Handle one message. Work for our shard runs at once when the shard is
 * here and nothing older waits; replies go to clients only from the normal
 * loop; everything else is stashed in arrival order. */
static void handle(struct worker *w, struct msg *m)
{
    switch (m->kind) {
    case MSG_EXEC:
        if (shard_free_here(w) && !stash_has_exec(w) && !w->posting)
            run_exec(w, m);
        else
            stash(w, m);
        break;
    case MSG_REPLY:
        if (w->mode == MODE_NORMAL)
            client_reply_done(m);
        else
            stash(w, m);
        break;
    case MSG_LOCK:
        if (shard_free_here(w) && !w->want_self && !stash_has_exec(w)) {
            grant(w, m->from);
        } else {
            int tail = (w->lockq_head + w->lockq_len) % MAX_WORKERS;
            w->lockq[tail] = m->from;
            w->lockq_len++;
        }
        free(m);
        break;
    case MSG_GRANT:
        w->granted |= 1ull << m->from;
        free(m);
        break;
    case MSG_UNLOCK:
        w->lent_to = -1;
        free(m);
        shard_returned(w);
        break;
    }
}

static void serve_rings(struct worker *w)
{
    for (int from = 0; from < server.nworkers; from++) {
        struct ring *r = w->in[from];
        void *batch[64];
        uint32_t n;
        if (!r)
            continue;
        while ((n = ring_pop_burst(r, batch, 64)) > 0)
            for (uint32_t i = 0; i < n; i++)
                handle(w, batch[i]);
    }
}

/* Wait until cond holds, serving lock traffic: spin briefly (holders are
 * quick), then block on our eventfd so that, on a core shared by several
 * workers, the one we wait for gets the CPU. A peer that posts to us while
 * `blocked` is set writes the eventfd (see post()); the 1 ms poll bound
 * covers the gap between our last check and the poll. Gives up when the
 * server stops: peers stop answering then. */
#define SPINS_BEFORE_BLOCKING 32

static void block_briefly(struct worker *w)
{
    struct pollfd p = {.fd = w->parkfd, .events = POLLIN};
    uint64_t v;
    poll(&p, 1, 1);
    ssize_t n = read(w->parkfd, &v, sizeof(v));
    (void)n;
}

#define WAIT_UNTIL(w, cond)                                                                        \
    do {                                                                                           \
        unsigned spins_ = 0;                                                                       \
        while (!(cond) && !atomic_load_explicit(&server.stop, memory_order_relaxed)) {            \
            ring_bells(w);                                                                         \
            io_uring_submit(&(w)->ring);                                                           \
            serve_rings(w);                                                                        \
            if ((cond))                                                                            \
                break;                                                                             \
            if (++spins_ < SPINS_BEFORE_BLOCKING) {                                                \
                sched_yield();                                                                     \
                continue;                                                                          \
            }                                                                                      \
            atomic_store(&(w)->blocked, 1);                                                        \
            serve_rings(w);                                                                        \
            if (!(cond))                                                                           \
                block_briefly(w);                                                                  \
            atomic_store(&(w)->blocked, 0);                                                        \
        }                                                                                          \
    } while (0)

/* Called by the normal loop each turn (and before running a client's next
 * command): deliver stashed replies, take new messages, and stay parked for
 * as long as our shard is lent out. */
void shards_poll(struct worker *w)
{
    if (server.nworkers == 1)
        return;
    for (;;) {
        /* Work that waited for the shard runs first, then replies go out. */
        if (shard_free_here(w) && stash_has_exec(w))
            shard_returned(w);
        drain_stash(w, MSG_REPLY);
        serve_rings(w);
        if (w->lent_to < 0)
            break;
        w->mode = MODE_PARKED;
        WAIT_UNTIL(w, w->lent_to < 0);
        w->mode = MODE_NORMAL;
    }
    ring_bells(w);
}

bool shards_acquire(struct worker *w, uint64_t mask)
{
    int saved = w->mode;
    w->mode = MODE_COORD;
    for (int s = 0; s < server.nworkers; s++) {
        if (!(mask & (1ull << s)))
            continue;
        if (s == w->id) {
            w->want_self = true;
            if (shard_free_here(w))
                shard_returned(w); /* runs waiting work, then takes the shard */
            WAIT_UNTIL(w, w->self_held);
        } else {
            post(w, s, msg_new(MSG_LOCK, w));
            WAIT_UNTIL(w, w->granted & (1ull << s));
        }
        if (atomic_load(&server.stop)) {
            w->mode = saved;
            return false;
        }
    }
    w->mode = saved;
    return true;
}

/* After every worker stopped: free what is still in rings and stashes. */
void shards_drain(void)
{
    for (int i = 0; i < server.nworkers; i++) {
        struct worker *w = &server.workers[i];
        for (struct msg *m = w->stash_head, *next; m; m = next) {
            next = m->snext;
            msg_free(m);
        }
        for (int j = 0; j < server.nworkers; j++) {
            void *m;
            while (w->in[j] && (m = ring_pop(w->in[j])))
                msg_free(m);
            ring_free(w->in[j]);
        }
        free(w->in);
        free(w->out);
        close(w->parkfd);
    }
}

void shards_release(struct worker *w, uint64_t mask)
{
    for (int s = 0; s < server.nworkers; s++) {
        if (!(mask & (1ull << s)))
            continue;
        if (s == w->id) {
            w->self_held = false;
            shard_returned(w);
        } else {
            post(w, s, msg_new(MSG_UNLOCK, w));
        }
    }
    w->granted = 0;
    ring_bells(w);
    io_uring_submit(&w->ring);
}

/* Send a single-shard command to the worker that owns it; the reply comes
 * back to the client's reply queue. */
/* With busy-poll every owner polls its rings all the time, so a reply comes
 * back within about a microsecond: spinning for it saves the loop turn (and
 * its io_uring_enter) that would otherwise come between the reply and the
 * send. Bounded, so a slow owner (a held shard, a long command) costs a
 * turn, not a stall. */
#define AWAIT_NS 50000

void shards_await(struct worker *w, struct client *c)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    c->flags |= CL_AWAITING;
    for (int i = 0; c->away && !(c->flags & CL_CLOSING); i++) {
        serve_rings(w);
        drain_stash(w, MSG_REPLY);
        if (i % 64 == 63) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            if ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) > AWAIT_NS)
                break;
        }
    }
    c->flags &= ~CL_AWAITING;
}

void shards_send(struct worker *w, struct client *c, int owner, const struct command *cmd,
                 int argc, const struct resp_arg *argv)
{
    struct msg *m = msg_exec(w, c, cmd, argc, argv);
    client_queue_slot(c, m);
    post(w, owner, m);
}
