/* The append-only file at run time: Redis 7.0's multi-part AOF (a base file
 * plus incr files named by a manifest, store/aof.h), fed by every worker,
 * written and fsynced by one persistence thread with its own io_uring.
 *
 * Capture (workers). While capturing, every record gets a global sequence
 * number (one relaxed fetch_add) taken while the shards it changed are
 * held, so for two records touching a common shard the numbers follow
 * execution order; records on disjoint shards commute. A record is one
 * "command": the request as the client sent it when it was a write that
 * grew the dirty counters of the shards this thread holds and did not call
 * cmd_propagate, else what the handler propagated; a command that logs
 * several (EXEC, a handler propagating more than one) is one record that
 * the file shows as MULTI ... EXEC, as Redis 7.0 wraps also_propagate.
 * Keys the store deletes on its own (lazy/active expiry, eviction) are
 * logged at once as their own DEL record, ahead of the command that found
 * them, as Redis 7.0 does. Records carry their db; the thread writes
 * SELECT when the db changes. Each worker appends to its own chunk and
 * hands chunks to the persistence thread once per loop turn (and while it
 * waits for shards) through a lock-free SPSC ring; a full ring keeps them
 * on the worker until the next turn: a worker never blocks on the AOF.
 *
 * The persistence thread merges the workers' streams by sequence number
 * (every number is used exactly once, so it takes exactly the next one),
 * formats them into a buffer and writes in batches: while one batch is in
 * flight (IORING_OP_WRITE, linked to an IORING_FSYNC_DATASYNC fsync under
 * appendfsync always) the next one gathers whatever every worker sent
 * meanwhile: group commit, one fsync per batch however many clients wrote.
 * It publishes aof_durable (records below it are as durable as the policy
 * promises) and rings the doorbell (MSG_RING) of workers whose held
 * clients that releases.
 *
 * appendfsync always: a client's output is not sent while it holds a reply
 * that follows one of its logged writes whose batch is not fsynced
 * (client->aof_need, worker.c); a pipeline of 100 SETs is one batch, one
 * fsync. Clients that wrote nothing are never held. everysec: batches are
 * written as they come, an fsync is issued once a second when something
 * was written since the last one; no reply ever waits. no: never fsync.
 *
 * When the disk stalls: workers go on serving; their records pile up in
 * the persistence thread's memory (aof_buffer_length; chunks are drained
 * from the rings even while a write or fsync is stuck in the kernel,
 * because the thread only submits and reaps). Under everysec an fsync due
 * while the previous one has been running for more than 2 s counts one
 * aof_delayed_fsync (Redis's counter) and is skipped; the window of writes
 * lost on a crash grows by the stall. Under always the replies of writing
 * clients wait for the stall to end (acknowledged means fsynced); readers
 * and clients that did not write are served. Memory is not bounded: the
 * stall costs RAM, as Redis's aof_buf does.
 *
 * Write errors (ENOSPC, EIO): a failed or short batch is truncated back to
 * where it started (as Redis), kept, and retried once a second;
 * aof_last_write_status is err and writes (and PING) are refused with
 * -MISCONF until a batch succeeds. Under always the replies of the clients
 * whose writes are in the failed batch stay held until it succeeds (Redis
 * exits instead); a failed fsync is retried the same way.
 *
 * Files. At start with appendonly yes the last incr file of the manifest
 * is opened for appending, or, with no AOF yet, a base of the dataset and
 * a first incr file are written and the manifest persisted. A rewrite
 * (BGREWRITEAOF, auto-aof-rewrite-*, CONFIG SET appendonly yes) takes a cut
 * with every shard held: records from then on go to a new incr file (in
 * the manifest at once, as Redis), and the new base is the dataset at the
 * cut: the fork-less snapshot (snapshot.c) that the workers write between
 * requests. When it is fsynced, rw_done renames it into place, makes it
 * the manifest's base with the incr files opened since the cut, persists
 * the manifest atomically and deletes the old files (history first, as
 * Redis). The first base at start (no AOF yet) is the same snapshot,
 * written at once by base_snapshot() before anyone is served.
 *
 * The base is an RDB with the aof-base aux field (<name>.<seq>.base.rdb)
 * or, with aof-use-rdb-preamble no, the commands Redis 7.0's rewrite
 * writes (<name>.<seq>.base.aof): the same snapshot, another serializer;
 * the format is the one aof-use-rdb-preamble had at the rewrite's cut.
 *
 * aof-rewrite-incremental-fsync: the snapshot's writer has the base written
 * out every 4 MB (snapshot.c).
 *
 * Not done yet: Redis's limit on rewrites after repeated failures (a failed
 * one is retried after 5 s).
 *
 * Locks: capture state is per worker thread (tls[]); the persistence
 * thread's state is its own; ctl.lock guards the manifest and the rewrite
 * (taken by the cutting worker, the rewrite thread, CONFIG SET and start);
 * what INFO shows is in atomics (st).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aof.h"
#include "aof_rt.h"
#include "commands.h"
#include "rdb.h"
#include "server.h"

enum { AOF_OFF, AOF_ON, AOF_WAIT_REWRITE };

_Atomic bool aof_capture_on;
_Atomic uint64_t aof_durable;
static _Atomic uint64_t next_seq; /* the next record's sequence number */

/* What INFO shows, and the state others read without ctl.lock. */
static struct {
    _Atomic int state;
    _Atomic int write_errno; /* 0: aof_last_write_status ok */
    _Atomic long long cur_size, base_size, incr_bytes;
    _Atomic size_t buf_len;
    _Atomic bool fsync_pending;
    _Atomic uint64_t delayed_fsync, fsyncs;
    _Atomic bool rw_active, rw_scheduled;
    _Atomic int64_t rw_start_ms, retry_after_ms;
    _Atomic long long last_rw_secs;
    _Atomic bool last_rw_ok;
    _Atomic uint64_t rewrites, rw_failures;
} st = {.last_rw_secs = -1, .last_rw_ok = true};

/* Config values other threads read, copied by the change hooks. */
static _Atomic int pol_fsync;
static _Atomic bool pol_ts, pol_no_fsync_rw;
static _Atomic long long pol_auto_perc, pol_auto_min;

static void apply_policy(void)
{
    atomic_store(&pol_fsync, config.appendfsync);
    atomic_store(&pol_ts, config.aof_timestamp_enabled);
    atomic_store(&pol_no_fsync_rw, config.no_appendfsync_on_rewrite);
    atomic_store(&pol_auto_perc, config.auto_aof_rewrite_percentage);
    atomic_store(&pol_auto_min, config.auto_aof_rewrite_min_size);
}

/* Our threads need little stack (no recursion, small buffers). A small
 * one also keeps glibc's cache of dead threads' stacks from growing: the
 * store's used_memory reads the allocation counters of threads that have
 * exited (see the report of this branch). */
static int thread_start(pthread_t *t, void *(*fn)(void *))
{
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 256 * 1024);
    int rc = pthread_create(t, &a, fn, NULL);
    pthread_attr_destroy(&a);
    return rc;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        abort();
    return p;
}

/* ======================================================================
 * Capture (worker threads)
 * ====================================================================== */

/* A chunk of records, filled by one worker and then owned by the
 * persistence thread (the ring hands it over). Records: rec_hdr, then
 * payload of ops: op_hdr and the command in RESP. */
struct chunk {
    struct chunk *next;
    size_t len, cap, rd;
    char data[];
};

struct rec_hdr {
    uint64_t seq;
    uint64_t len; /* payload bytes */
    uint32_t flags;
    uint32_t pad;
};
#define REC_WRAP 1u /* several ops: MULTI ... EXEC */

struct op_hdr {
    int64_t db;
    uint64_t len;
};

struct gbuf {
    char *p;
    size_t len, cap;
};

#define CHUNK_MIN (64 * 1024)
#define GBUF_KEEP (1u << 20) /* a scratch above this is freed after use */

struct aof_tls {
    struct worker *w;
    struct chunk *cur;                   /* being filled */
    struct chunk *full_head, *full_tail; /* to push, in order */
    struct gbuf g;                       /* ops of the open command */
    struct gbuf one;                     /* a record outside any command */
    struct chunk *spare;                 /* consumed chunks back for reuse */
    int nspare;
    int depth, ops;
    int64_t wake_after_ms; /* lazy wake-ups under everysec and no */
    bool unwoken;          /* chunks pushed since the thread was last woken */
} __attribute__((aligned(64)));

static struct aof_tls tls[MAX_WORKERS];
static _Thread_local struct aof_tls *me;
/* to_pt[i]: worker i's chunks to the persistence thread; from_pt[i]: the
 * consumed ones back, so that memory is freed (or reused) by the thread
 * that allocated it (used_memory counts per thread). */
static struct ring *to_pt[MAX_WORKERS], *from_pt[MAX_WORKERS];
#define MAX_SPARE 4

/* Take back consumed chunks: keep a few for reuse, free the rest. */
static void take_back(struct aof_tls *t)
{
    struct chunk *c;
    while ((c = ring_pop(from_pt[t->w->id]))) {
        if (c->cap == CHUNK_MIN && t->nspare < MAX_SPARE) {
            c->next = t->spare;
            t->spare = c;
            t->nspare++;
        } else {
            free(c);
        }
    }
}

static void gbuf_reserve(struct gbuf *g, size_t n)
{
    if (g->cap - g->len >= n)
        return;
    size_t cap = g->cap ? g->cap : 256;
    while (cap - g->len < n)
        cap *= 2;
    g->p = realloc(g->p, cap);
    if (!g->p)
        abort();
    g->cap = cap;
}

static void gbuf_trim(struct gbuf *g)
{
    g->len = 0;
    if (g->cap > GBUF_KEEP) {
        free(g->p);
        g->p = NULL;
        g->cap = 0;
    }
}

static size_t ndigits(size_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

static char *put_num(char *p, size_t v)
{
    size_t n = ndigits(v);
    for (size_t i = n; i > 0; i--) {
        p[i - 1] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

/* Append one op: the command as a RESP array, in db. */
static void add_op(struct gbuf *g, int db, int argc, const struct resp_arg *argv)
{
    size_t body = 1 + ndigits((size_t)argc) + 2;
    for (int i = 0; i < argc; i++)
        body += 1 + ndigits(argv[i].len) + 2 + argv[i].len + 2;
    gbuf_reserve(g, sizeof(struct op_hdr) + body);
    struct op_hdr h = {.db = db, .len = body};
    memcpy(g->p + g->len, &h, sizeof(h));
    char *p = g->p + g->len + sizeof(h);
    *p++ = '*';
    p = put_num(p, (size_t)argc);
    *p++ = '\r';
    *p++ = '\n';
    for (int i = 0; i < argc; i++) {
        *p++ = '$';
        p = put_num(p, argv[i].len);
        *p++ = '\r';
        *p++ = '\n';
        if (argv[i].len)
            memcpy(p, argv[i].ptr, argv[i].len);
        p += argv[i].len;
        *p++ = '\r';
        *p++ = '\n';
    }
    g->len += sizeof(h) + body;
}

static void queue_full(struct aof_tls *t, struct chunk *c)
{
    c->next = NULL;
    if (t->full_tail)
        t->full_tail->next = c;
    else
        t->full_head = c;
    t->full_tail = c;
}

/* Append a record and take its sequence number (the caller holds the
 * shards it changed). */
static uint64_t emit(struct aof_tls *t, uint32_t flags, const struct gbuf *g)
{
    size_t need = sizeof(struct rec_hdr) + g->len;
    if (!t->cur || t->cur->cap - t->cur->len < need) {
        if (t->cur && t->cur->len)
            queue_full(t, t->cur);
        else
            free(t->cur);
        size_t cap = need > CHUNK_MIN ? need : CHUNK_MIN;
        if (cap == CHUNK_MIN && !t->spare)
            take_back(t);
        if (cap == CHUNK_MIN && t->spare) {
            t->cur = t->spare;
            t->spare = t->cur->next;
            t->nspare--;
        } else {
            t->cur = xmalloc(sizeof(struct chunk) + cap);
        }
        t->cur->next = NULL;
        t->cur->len = t->cur->rd = 0;
        t->cur->cap = cap;
    }
    /* Relaxed is enough: a later holder of the same shard acquired it
     * after our release, so its fetch_add comes later in the counter's
     * modification order. */
    uint64_t seq = atomic_fetch_add_explicit(&next_seq, 1, memory_order_relaxed);
    struct rec_hdr h = {.seq = seq, .len = g->len, .flags = flags};
    char *p = t->cur->data + t->cur->len;
    memcpy(p, &h, sizeof(h));
    memcpy(p + sizeof(h), g->p, g->len);
    t->cur->len += need;
    return seq;
}

/* cmd_propagate: part of the running command's record. */
static void hook_cmd(struct cmd_ctx *c, int argc, const struct resp_arg *argv)
{
    struct aof_tls *t = me;
    if (!t)
        return;
    if (t->depth > 0) {
        add_op(&t->g, c->dbid, argc, argv);
        t->ops++;
        return;
    }
    if (!aof_capturing())
        return;
    t->one.len = 0;
    add_op(&t->one, c->dbid, argc, argv);
    emit(t, 0, &t->one);
    gbuf_trim(&t->one);
}

/* A key the store removed on its own: DEL, its own record, now. */
static void hook_del(struct shard *s, int dbid, const char *key, size_t len)
{
    (void)s;
    struct aof_tls *t = me;
    if (!t || (!aof_capturing() && t->depth == 0))
        return;
    struct resp_arg argv[2] = {{"DEL", 3}, {key, len}};
    t->one.len = 0;
    add_op(&t->one, dbid, 2, argv);
    emit(t, 0, &t->one);
    gbuf_trim(&t->one);
}

void aof_worker_bind(struct worker *w)
{
    tls[w->id].w = w;
    me = &tls[w->id];
}

/* The dirty counters of the shards this thread holds now: its own unless
 * lent out, and those granted to its multi-shard command. Nobody else
 * changes them while we hold them. */
static uint64_t held_dirty(struct worker *w, bool own_only)
{
    if (own_only || server.nworkers == 1)
        return shard_dirty(w->shard);
    uint64_t mask = w->granted, sum = 0;
    if (w->lent_to < 0)
        mask |= 1ull << w->id;
    while (mask) {
        int i = __builtin_ctzll(mask);
        mask &= mask - 1;
        sum += shard_dirty(server.workers[i].shard);
    }
    return sum;
}

void aof_cmd_begin(struct aof_cmd *a, struct worker *w, bool own_only)
{
    struct aof_tls *t = me;
    a->w = w;
    a->own_only = own_only;
    a->dirty = held_dirty(w, own_only);
    if (t && t->depth++ == 0) {
        t->g.len = 0;
        t->ops = 0;
    }
}

uint64_t aof_cmd_end(struct aof_cmd *a, const struct cmd_ctx *ctx)
{
    struct aof_tls *t = me;
    if (!t)
        return 0;
    if ((ctx->cmd->flags & CMD_WRITE) && !ctx->propagated && !ctx->blocked &&
        held_dirty(a->w, a->own_only) > a->dirty) {
        add_op(&t->g, ctx->dbid, ctx->argc, ctx->argv);
        t->ops++;
    }
    if (--t->depth > 0 || !t->ops)
        return 0;
    uint64_t seq = emit(t, t->ops > 1 ? REC_WRAP : 0, &t->g);
    t->ops = 0;
    gbuf_trim(&t->g);
    return atomic_load_explicit(&pol_fsync, memory_order_relaxed) == AOF_FSYNC_ALWAYS ? seq + 1
                                                                                      : 0;
}

/* ======================================================================
 * The persistence thread
 * ====================================================================== */

enum { PT_WAKE = 1, PT_CTL, PT_WRITE, PT_FSYNC_LINK, PT_FSYNC_SEC, PT_MSG };
enum { PTO_START, PTO_SWITCH, PTO_STOP, PTO_EXIT };

/* A change of file, applied when every record below seq was consumed. */
struct pt_op {
    struct pt_op *next;
    int kind;
    uint64_t seq;
    int fd;
    off_t off;
};

struct obuf {
    char *p;
    size_t len, cap;
};

static struct {
    pthread_t thread;
    bool started;
    struct io_uring ring;
    _Atomic int ring_fd;
    _Atomic bool sleeping;
    int efd;
    uint64_t efd_val;
    pthread_mutex_t lock; /* the shared op queue */
    struct pt_op *sh_head, *sh_tail;
    /* below: the thread's own */
    struct pt_op *op_head, *op_tail;
    struct chunk *qh[MAX_WORKERS], *qt[MAX_WORKERS];
    struct chunk *rh[MAX_WORKERS], *rt[MAX_WORKERS]; /* to give back */
    int last;
    uint64_t next;      /* the next sequence number to consume */
    uint64_t published; /* last aof_durable stored */
    int fd;
    off_t off, synced;
    int cur_db;
    long long last_ts;
    struct obuf nb, fl; /* gathering / in flight */
    size_t fl_done;
    uint64_t fl_end;
    bool fl_synced, fl_needs_sync;
    int wr_pending; /* CQEs of the flight still to come */
    int wr_err;
    bool fs_inflight;
    int64_t fs_start_ms;
    off_t fs_target;
    int64_t retry_at, next_tick;
    bool exiting, done;
} pt = {.lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1, .efd = -1};

static void pt_post(int kind, uint64_t seq, int fd, off_t off)
{
    struct pt_op *o = xmalloc(sizeof(*o));
    *o = (struct pt_op){.kind = kind, .seq = seq, .fd = fd, .off = off};
    pthread_mutex_lock(&pt.lock);
    if (pt.sh_tail)
        pt.sh_tail->next = o;
    else
        pt.sh_head = o;
    pt.sh_tail = o;
    pthread_mutex_unlock(&pt.lock);
    uint64_t one = 1;
    if (pt.efd >= 0) {
        ssize_t n = write(pt.efd, &one, sizeof(one));
        (void)n;
    }
}

static void ob_put(struct obuf *b, const void *p, size_t n)
{
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 64 * 1024;
        while (cap - b->len < n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            abort();
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void pt_select(int db)
{
    if (db < 0 || db == pt.cur_db)
        return;
    char buf[64];
    char num[24];
    int nl = snprintf(num, sizeof(num), "%d", db);
    int n = snprintf(buf, sizeof(buf), "*2\r\n$6\r\nSELECT\r\n$%d\r\n%s\r\n", nl, num);
    ob_put(&pt.nb, buf, (size_t)n);
    pt.cur_db = db;
}

/* One record into the gathering buffer (dropped when no file is open). */
static void pt_format(const char *payload, size_t plen, uint32_t flags)
{
    if (pt.fd < 0)
        return;
    if (atomic_load_explicit(&pol_ts, memory_order_relaxed)) {
        long long now = (long long)time(NULL);
        if (now > pt.last_ts) {
            char ts[48];
            int n = snprintf(ts, sizeof(ts), "#TS:%lld\r\n", now);
            ob_put(&pt.nb, ts, (size_t)n);
            pt.last_ts = now;
        }
    }
    if (flags & REC_WRAP) {
        struct op_hdr h;
        memcpy(&h, payload, sizeof(h));
        pt_select((int)h.db);
        ob_put(&pt.nb, "*1\r\n$5\r\nMULTI\r\n", 15);
    }
    for (size_t off = 0; off < plen;) {
        struct op_hdr h;
        memcpy(&h, payload + off, sizeof(h));
        pt_select((int)h.db);
        ob_put(&pt.nb, payload + off + sizeof(h), h.len);
        off += sizeof(h) + h.len;
    }
    if (flags & REC_WRAP)
        ob_put(&pt.nb, "*1\r\n$4\r\nEXEC\r\n", 14);
}

static void pt_drain_rings(void)
{
    for (int i = 0; i < server.nworkers; i++) {
        void *batch[64];
        uint32_t n;
        while ((n = ring_pop_burst(to_pt[i], batch, 64)) > 0) {
            for (uint32_t k = 0; k < n; k++) {
                struct chunk *c = batch[k];
                c->next = NULL;
                if (pt.qt[i])
                    pt.qt[i]->next = c;
                else
                    pt.qh[i] = c;
                pt.qt[i] = c;
            }
        }
    }
}

static void pt_take_ops(void)
{
    pthread_mutex_lock(&pt.lock);
    struct pt_op *h = pt.sh_head;
    pt.sh_head = pt.sh_tail = NULL;
    pthread_mutex_unlock(&pt.lock);
    if (!h)
        return;
    if (pt.op_tail)
        pt.op_tail->next = h;
    else
        pt.op_head = h;
    while (h->next)
        h = h->next;
    pt.op_tail = h;
}

/* A consumed chunk goes back to its worker (kept here while that ring is
 * full). */
static void pt_return(int i, struct chunk *c)
{
    c->next = NULL;
    if (pt.rt[i] || !ring_push(from_pt[i], c)) {
        if (pt.rt[i])
            pt.rt[i]->next = c;
        else
            pt.rh[i] = c;
        pt.rt[i] = c;
    }
}

static void pt_return_pending(void)
{
    for (int i = 0; i < server.nworkers; i++) {
        while (pt.rh[i] && ring_push(from_pt[i], pt.rh[i])) {
            struct chunk *n = pt.rh[i]->next;
            pt.rh[i] = n;
            if (!n)
                pt.rt[i] = NULL;
        }
    }
}

/* The head record of worker i's queue, or NULL. */
static const struct rec_hdr *pt_peek(int i, struct rec_hdr *h)
{
    struct chunk *c = pt.qh[i];
    while (c && c->rd >= c->len) {
        pt.qh[i] = c->next;
        if (!pt.qh[i])
            pt.qt[i] = NULL;
        pt_return(i, c);
        c = pt.qh[i];
    }
    if (!c)
        return NULL;
    memcpy(h, c->data + c->rd, sizeof(*h));
    return h;
}

static bool pt_flight_idle(void)
{
    return !pt.wr_pending && !pt.fl.len && !pt.nb.len && !pt.fs_inflight;
}

static void pt_close_file(void)
{
    if (pt.fd < 0)
        return;
    if (fsync(pt.fd) != 0)
        log_msg(LL_WARNING, "Fail to fsync the AOF file: %s.", strerror(errno));
    else
        atomic_fetch_add(&st.fsyncs, 1);
    close(pt.fd);
    pt.fd = -1;
}

/* Apply the head op (its seq reached). false: wait (the old file's bytes
 * are still being written). */
static bool pt_apply_op(void)
{
    struct pt_op *o = pt.op_head;
    if (o->kind == PTO_EXIT)
        pt.exiting = true;
    if (pt.fd >= 0) {
        if (!pt_flight_idle())
            return false;
        pt_close_file();
    }
    if (o->kind == PTO_START || o->kind == PTO_SWITCH) {
        pt.fd = o->fd;
        pt.off = pt.synced = o->off;
        pt.cur_db = -1;
        atomic_store(&st.incr_bytes, (long long)o->off);
    } else if (o->kind == PTO_EXIT) {
        pt.done = true;
    }
    pt.op_head = o->next;
    if (!pt.op_head)
        pt.op_tail = NULL;
    free(o);
    return true;
}

/* Consume records in sequence order, applying file changes at their
 * place. */
static void pt_merge(void)
{
    for (;;) {
        if (pt.op_head && pt.op_head->seq <= pt.next) {
            if (!pt_apply_op())
                return;
            if (pt.done)
                return;
            continue;
        }
        struct rec_hdr h;
        int found = -1;
        if (pt_peek(pt.last, &h) && h.seq == pt.next) {
            found = pt.last;
        } else {
            for (int i = 0; i < server.nworkers; i++)
                if (pt_peek(i, &h) && h.seq == pt.next) {
                    found = i;
                    break;
                }
        }
        if (found < 0)
            return;
        struct chunk *c = pt.qh[found];
        pt_format(c->data + c->rd + sizeof(h), h.len, h.flags);
        c->rd += sizeof(h) + h.len;
        pt.next++;
        pt.last = found;
    }
}

static struct io_uring_sqe *pt_sqe(void)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&pt.ring);
    while (!sqe) {
        io_uring_submit(&pt.ring);
        sqe = io_uring_get_sqe(&pt.ring);
    }
    return sqe;
}

static bool rewriting_no_fsync(void)
{
    return atomic_load(&pol_no_fsync_rw) && atomic_load(&st.rw_active);
}

/* Submit what is left of the batch in flight: the rest of its bytes and,
 * under always, the fsync linked behind them. */
static void pt_submit_flight(void)
{
    pt.fl_needs_sync = atomic_load(&pol_fsync) == AOF_FSYNC_ALWAYS && !rewriting_no_fsync();
    bool sync = pt.fl_needs_sync && !pt.fl_synced;
    if (pt.fl_done < pt.fl.len) {
        struct io_uring_sqe *sqe = pt_sqe();
        io_uring_prep_write(sqe, pt.fd, pt.fl.p + pt.fl_done, (unsigned)(pt.fl.len - pt.fl_done),
                            (uint64_t)pt.off);
        io_uring_sqe_set_data64(sqe, PT_WRITE);
        if (sync)
            sqe->flags |= IOSQE_IO_LINK;
        pt.wr_pending++;
    }
    if (sync) {
        struct io_uring_sqe *sqe = pt_sqe();
        io_uring_prep_fsync(sqe, pt.fd, IORING_FSYNC_DATASYNC);
        io_uring_sqe_set_data64(sqe, PT_FSYNC_LINK);
        pt.wr_pending++;
    }
}

static void pt_flight_done(void);

static void pt_io(int64_t now)
{
    if (pt.fd >= 0 && !pt.wr_pending && now >= pt.retry_at) {
        if (!pt.fl.len && pt.nb.len) {
            struct obuf t = pt.fl;
            pt.fl = pt.nb;
            pt.nb = t;
            pt.nb.len = 0;
            pt.fl_done = 0;
            pt.fl_synced = false;
            pt.fl_end = pt.next;
        }
        if (pt.fl.len) {
            pt_submit_flight();
            if (!pt.wr_pending)
                pt_flight_done();
        }
    }
    if (now >= pt.next_tick) {
        pt.next_tick = now + 1000;
        if (atomic_load(&pol_fsync) == AOF_FSYNC_EVERYSEC && pt.fd >= 0 && pt.off > pt.synced &&
            !rewriting_no_fsync()) {
            if (pt.fs_inflight) {
                if (now - pt.fs_start_ms > 2000) {
                    atomic_fetch_add(&st.delayed_fsync, 1);
                    log_msg(LL_NOTICE, "Asynchronous AOF fsync is taking too long (disk is busy?). "
                                       "Writing the AOF buffer without waiting for fsync to "
                                       "complete, this may slow down Redis.");
                }
            } else {
                struct io_uring_sqe *sqe = pt_sqe();
                io_uring_prep_fsync(sqe, pt.fd, IORING_FSYNC_DATASYNC);
                io_uring_sqe_set_data64(sqe, PT_FSYNC_SEC);
                pt.fs_inflight = true;
                pt.fs_start_ms = now;
                pt.fs_target = pt.off;
                atomic_store(&st.fsync_pending, true);
            }
        }
    }
    atomic_store_explicit(&st.buf_len, pt.nb.len + pt.fl.len - pt.fl_done, memory_order_relaxed);
}

/* Publish how far records are durable and wake workers whose held clients
 * that releases (seq_cst pairs with the worker's store of aof_hold_need
 * before its own check of aof_durable). */
static void pt_publish(uint64_t d)
{
    if (d <= pt.published)
        return;
    pt.published = d;
    atomic_store(&aof_durable, d);
    for (int i = 0; i < server.nworkers; i++) {
        struct worker *w = &server.workers[i];
        uint64_t h = atomic_load(&w->aof_hold_need);
        if (h && h <= d && atomic_compare_exchange_strong(&w->aof_hold_need, &h, 0)) {
            struct io_uring_sqe *sqe = pt_sqe();
            io_uring_prep_msg_ring(sqe, w->ring.ring_fd, 0, OP_BELL, 0);
            sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
            io_uring_sqe_set_data64(sqe, PT_MSG);
        }
    }
}

static void pt_write_failed(int e)
{
    if (pt.fl_done > 0 && pt.fl_done < pt.fl.len) {
        /* Take the partial batch back off the file so it never ends in
         * half a command; it is written again whole. */
        if (ftruncate(pt.fd, pt.off - (off_t)pt.fl_done) == 0) {
            pt.off -= (off_t)pt.fl_done;
            atomic_fetch_sub(&st.cur_size, (long long)pt.fl_done);
            atomic_fetch_sub(&st.incr_bytes, (long long)pt.fl_done);
            pt.fl_done = 0;
        } else {
            log_msg(LL_WARNING, "Could not remove short write from the append-only file. "
                                "The file may be left with a partial command: ftruncate: %s",
                    strerror(errno));
        }
    }
    if (atomic_exchange(&st.write_errno, e) == 0)
        log_msg(LL_WARNING, "Error writing to the AOF file: %s", strerror(e));
    pt.retry_at = mstime() + 1000;
    if (pt.exiting) {
        log_msg(LL_WARNING, "Exiting with %zu bytes of the AOF not written: %s",
                pt.fl.len - pt.fl_done + pt.nb.len, strerror(e));
        pt.fl.len = pt.nb.len = pt.fl_done = 0;
        pt.retry_at = 0;
    }
}

static void pt_flight_done(void)
{
    if (pt.wr_err) {
        int e = pt.wr_err;
        pt.wr_err = 0;
        return pt_write_failed(e);
    }
    if (pt.fl_done < pt.fl.len || (pt.fl_needs_sync && !pt.fl_synced)) {
        pt_submit_flight(); /* a short write: the rest now */
        return;
    }
    if (pt.fl_needs_sync)
        pt.synced = pt.off;
    pt.fl.len = pt.fl_done = 0;
    if (pt.fl.cap > (8u << 20)) {
        free(pt.fl.p);
        pt.fl.p = NULL;
        pt.fl.cap = 0;
    }
    if (atomic_exchange(&st.write_errno, 0) != 0)
        log_msg(LL_WARNING, "AOF write error looks solved, AOF is now writable again.");
    pt_publish(pt.fl_end);
}

static void pt_cqe(struct io_uring_cqe *cqe)
{
    uint64_t tag = io_uring_cqe_get_data64(cqe);
    int res = cqe->res;
    switch (tag) {
    case PT_CTL: {
        struct io_uring_sqe *sqe = pt_sqe();
        io_uring_prep_read(sqe, pt.efd, &pt.efd_val, sizeof(pt.efd_val), 0);
        io_uring_sqe_set_data64(sqe, PT_CTL);
        break;
    }
    case PT_WRITE:
        pt.wr_pending--;
        if (res > 0) {
            pt.off += res;
            pt.fl_done += (size_t)res;
            atomic_fetch_add(&st.cur_size, res);
            atomic_fetch_add(&st.incr_bytes, res);
        } else {
            pt.wr_err = res < 0 ? -res : ENOSPC;
        }
        if (!pt.wr_pending)
            pt_flight_done();
        break;
    case PT_FSYNC_LINK:
        pt.wr_pending--;
        if (res == 0) {
            pt.fl_synced = true;
            atomic_fetch_add(&st.fsyncs, 1);
        } else if (res != -ECANCELED) {
            pt.wr_err = -res;
        }
        if (!pt.wr_pending)
            pt_flight_done();
        break;
    case PT_FSYNC_SEC:
        pt.fs_inflight = false;
        atomic_store(&st.fsync_pending, false);
        if (res == 0) {
            if (pt.fs_target > pt.synced)
                pt.synced = pt.fs_target;
            atomic_fetch_add(&st.fsyncs, 1);
        } else if (atomic_exchange(&st.write_errno, -res) == 0) {
            log_msg(LL_WARNING, "Error fsyncing the AOF file: %s", strerror(-res));
        }
        break;
    default: /* PT_WAKE, PT_MSG */
        break;
    }
}

static bool pt_rings_pending(void)
{
    for (int i = 0; i < server.nworkers; i++)
        if (ring_count(to_pt[i]))
            return true;
    return false; /* new ops come with an eventfd write */
}

static _Atomic int pt_ready; /* 1 serving, -1 failed to set up */

/* The ring is created by the thread that uses it: with SINGLE_ISSUER and
 * DEFER_TASKRUN only that thread may submit and reap. */
static int pt_init_ring(void)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int rc = io_uring_queue_init_params(256, &pt.ring, &p);
    if (rc == -EINVAL) {
        memset(&p, 0, sizeof(p));
        rc = io_uring_queue_init_params(256, &pt.ring, &p);
    }
    if (rc < 0) {
        log_msg(LL_WARNING, "AOF: io_uring for the persistence thread: %s", strerror(-rc));
        return -1;
    }
    atomic_store(&pt.ring_fd, pt.ring.ring_fd);
    return 0;
}

static void *pt_main(void *arg)
{
    (void)arg;
    /* Not registered with the store's memory accounting: it frees nothing
     * the workers allocated (chunks go back), and its own buffers are not
     * counted. */
    if (pt_init_ring() != 0) {
        atomic_store(&pt_ready, -1);
        return NULL;
    }
    atomic_store(&pt_ready, 1);
    struct io_uring_sqe *sqe = pt_sqe();
    io_uring_prep_read(sqe, pt.efd, &pt.efd_val, sizeof(pt.efd_val), 0);
    io_uring_sqe_set_data64(sqe, PT_CTL);
    pt.next_tick = mstime() + 1000;
    while (!pt.done) {
        pt_return_pending();
        pt_drain_rings();
        pt_take_ops();
        pt_merge();
        if (pt.done)
            break;
        int64_t now = mstime();
        pt_io(now);
        if (pt_flight_idle() || pt.fd < 0)
            pt_publish(pt.next); /* nothing pending: everything consumed is done */

        /* Sleep unless a worker pushed meanwhile: workers check `sleeping`
         * after their push (both sides fence, seq_cst). */
        atomic_store(&pt.sleeping, true);
        atomic_thread_fence(memory_order_seq_cst);
        int64_t wait_ms = pt.next_tick - now;
        if (pt.retry_at > now && pt.retry_at - now < wait_ms)
            wait_ms = pt.retry_at - now;
        if (pt_rings_pending())
            wait_ms = 0;
        if (wait_ms < 0)
            wait_ms = 0;
        struct __kernel_timespec ts = {.tv_sec = wait_ms / 1000,
                                       .tv_nsec = (wait_ms % 1000) * 1000000};
        struct io_uring_cqe *cqe;
        io_uring_submit_and_wait_timeout(&pt.ring, &cqe, 1, &ts, NULL);
        atomic_store(&pt.sleeping, false);
        unsigned head, count = 0;
        io_uring_for_each_cqe(&pt.ring, head, cqe) {
            pt_cqe(cqe);
            count++;
        }
        io_uring_cq_advance(&pt.ring, count);
    }
    pt_close_file();
    pt_publish(pt.next);
    io_uring_submit(&pt.ring);
    io_uring_queue_exit(&pt.ring);
    return NULL;
}

static int pt_start(void)
{
    pt.efd = eventfd(0, EFD_CLOEXEC);
    if (pt.efd < 0) {
        log_msg(LL_WARNING, "AOF: eventfd: %s", strerror(errno));
        return -1;
    }
    if (thread_start(&pt.thread, pt_main) != 0) {
        log_msg(LL_WARNING, "AOF: cannot start the persistence thread");
        return -1;
    }
    while (atomic_load(&pt_ready) == 0)
        usleep(100);
    if (atomic_load(&pt_ready) < 0) {
        pthread_join(pt.thread, NULL);
        return -1;
    }
    pt.started = true;
    return 0;
}

/* ---- worker side of the hand-off ---- */

static bool push_chunks(struct aof_tls *t, int id)
{
    bool pushed = false;
    if (t->cur && t->cur->len) {
        queue_full(t, t->cur);
        t->cur = NULL;
    }
    while (t->full_head) {
        struct chunk *c = t->full_head, *next = c->next;
        if (!ring_push(to_pt[id], c))
            break; /* full: the rest waits for our next turn */
        pushed = true;
        t->full_head = next;
        if (!next)
            t->full_tail = NULL;
    }
    return pushed;
}

void aof_worker_flush(struct worker *w)
{
    struct aof_tls *t = &tls[w->id];
    if (t->full_head || (t->cur && t->cur->len))
        t->unwoken |= push_chunks(t, w->id);
    if (!t->unwoken)
        return;
    /* Under everysec and no no reply waits for the file: while records keep
     * coming (busy turns, the next one microseconds away) the thread is
     * woken at most once a millisecond, not every turn (a context switch
     * each, on a CPU the worker may share); an idle turn wakes it at once. */
    if (w->busy && atomic_load_explicit(&pol_fsync, memory_order_relaxed) != AOF_FSYNC_ALWAYS &&
        w->shard->now_ms < t->wake_after_ms)
        return;
    t->wake_after_ms = w->shard->now_ms + 1;
    t->unwoken = false;
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&pt.sleeping, memory_order_relaxed) &&
        atomic_exchange(&pt.sleeping, false)) {
        struct io_uring_sqe *sqe = worker_sqe(w);
        io_uring_prep_msg_ring(sqe, atomic_load(&pt.ring_fd), 0, PT_WAKE, 0);
        sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
        io_uring_sqe_set_data64(sqe, OP_BELL);
    }
}

/* ======================================================================
 * Files, the manifest, the rewrite
 * ====================================================================== */

static struct {
    pthread_mutex_t lock;
    char dir[PATH_MAX]; /* absolute path of the AOF directory */
    struct aof_manifest m;
    bool have_m;
    /* the rewrite in progress */
    int start_state;
    bool base_rdb; /* its base has the RDB preamble (.base.rdb), else commands */
    char tmp_base[PATH_MAX + 64];
    char tmp_incr[PATH_MAX + 64];
} ctl = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void path_in_dir(char *out, size_t n, const char *name)
{
    if ((size_t)snprintf(out, n, "%s/%s", ctl.dir, name) >= n)
        out[0] = '\0'; /* too long: open/rename then fail with ENOENT */
}

static long long file_size(const char *name)
{
    char p[PATH_MAX + 256];
    struct stat sb;
    path_in_dir(p, sizeof(p), name);
    return stat(p, &sb) == 0 ? (long long)sb.st_size : 0;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

static void fi_push(struct aof_file_info **v, size_t *n, const char *name, long long seq, char type)
{
    *v = realloc(*v, (*n + 1) * sizeof(**v));
    if (!*v)
        abort();
    (*v)[(*n)++] = (struct aof_file_info){.name = xstrdup(name), .seq = seq, .type = type};
}

static void man_copy(struct aof_manifest *d, const struct aof_manifest *s)
{
    memset(d, 0, sizeof(*d));
    if (s->base) {
        d->base = xmalloc(sizeof(*d->base));
        *d->base = (struct aof_file_info){xstrdup(s->base->name), s->base->seq, s->base->type};
    }
    for (size_t i = 0; i < s->nincr; i++)
        fi_push(&d->incr, &d->nincr, s->incr[i].name, s->incr[i].seq, s->incr[i].type);
    for (size_t i = 0; i < s->nhist; i++)
        fi_push(&d->hist, &d->nhist, s->hist[i].name, s->hist[i].seq, s->hist[i].type);
    d->curr_base_seq = s->curr_base_seq;
    d->curr_incr_seq = s->curr_incr_seq;
}

/* The AOF directory (created when missing) and its manifest in memory
 * (ctl.lock held). 0 or -1 (logged). */
static int ensure_dir(void)
{
    if (!ctl.dir[0]) {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd)))
            snprintf(cwd, sizeof(cwd), ".");
        if ((size_t)snprintf(ctl.dir, sizeof(ctl.dir), "%s/%s", cwd, config.appenddirname) >=
            sizeof(ctl.dir)) {
            ctl.dir[0] = '\0';
            log_msg(LL_WARNING, "The AOF directory path is too long");
            return -1;
        }
    }
    if (mkdir(ctl.dir, 0755) == 0) {
        /* The new directory's name is durable only once its parent is
         * fsynced: without it a power cut can take the whole AOF away. */
        char parent[PATH_MAX];
        snprintf(parent, sizeof(parent), "%s", ctl.dir);
        char *slash = strrchr(parent, '/');
        if (slash)
            *slash = '\0';
        if (aof_fsync_dir(slash && parent[0] ? parent : "/") != 0)
            log_msg(LL_WARNING, "Can't fsync the directory of %s: %s", config.appenddirname,
                    strerror(errno));
    } else if (errno != EEXIST) {
        log_msg(LL_WARNING, "Can't open or create append-only dir %s: %s", config.appenddirname,
                strerror(errno));
        return -1;
    }
    if (!ctl.have_m) {
        char err[512];
        int r = aof_manifest_load(ctl.dir, config.appendfilename, &ctl.m, err, sizeof(err));
        if (r < 0) {
            log_msg(LL_WARNING, "Can't read the AOF manifest: %s", err);
            return -1;
        }
        if (r == 1)
            memset(&ctl.m, 0, sizeof(ctl.m));
        ctl.have_m = true;
    }
    return 0;
}

static int open_in_dir(const char *name, int flags)
{
    char p[PATH_MAX + 256];
    path_in_dir(p, sizeof(p), name);
    return open(p, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
}

static void base_done(bool ok, void *arg)
{
    *(bool *)arg = ok;
}

/* The first base at start (no AOF yet): the fork-less snapshot of the
 * dataset loaded, in the format aof-use-rdb-preamble asks for, written at
 * once by this thread (nobody serves yet: snapshot_finish scans every
 * shard here) and the writer thread. The file is fsynced and closed when
 * it returns. 0 or -1 (the file is gone). */
static int base_snapshot(const char *tmp, bool rdb)
{
    bool ok = false;
    if (!snapshot_start(tmp, rdb ? SNAP_AOF_RDB : SNAP_AOF_CMDS, base_done, &ok))
        return -1;
    snapshot_finish(false);
    return ok ? 0 : -1;
}

/* A WAIT_REWRITE rewrite that failed: stop logging into its temp incr
 * file and try again later (ctl.lock held). */
static void wait_rewrite_failed(void)
{
    atomic_store(&aof_capture_on, false);
    pt_post(PTO_STOP, atomic_load(&next_seq), -1, 0);
    if (ctl.tmp_incr[0])
        unlink(ctl.tmp_incr);
    ctl.tmp_incr[0] = '\0';
    atomic_store(&st.rw_scheduled, true);
}

static void rw_failed(void)
{
    atomic_store(&st.last_rw_ok, false);
    atomic_fetch_add(&st.rw_failures, 1);
    atomic_store(&st.retry_after_ms, mstime() + 5000);
}

static void rw_done(bool ok, void *arg);

/* Start a rewrite: the cut (every shard held by the caller). 0 or -1
 * (logged). */
static int rewrite_start(void)
{
    pthread_mutex_lock(&ctl.lock);
    int state = atomic_load(&st.state);
    const char *fname = config.appendfilename;
    int incr_fd = -1;
    if (ensure_dir() != 0)
        goto fail;
    ctl.tmp_incr[0] = '\0';
    if (state == AOF_ON) {
        /* The new incr file joins the manifest at once, as Redis. */
        long long seq = ctl.m.curr_incr_seq + 1;
        char *name = aof_incr_name(fname, seq);
        incr_fd = open_in_dir(name, O_TRUNC);
        if (incr_fd < 0) {
            log_msg(LL_WARNING, "Can't open the append-only file %s: %s", name, strerror(errno));
            free(name);
            goto fail;
        }
        struct aof_manifest nm;
        man_copy(&nm, &ctl.m);
        fi_push(&nm.incr, &nm.nincr, name, seq, AOF_FILE_INCR);
        nm.curr_incr_seq = seq;
        if (aof_manifest_persist(ctl.dir, fname, &nm) != 0) {
            log_msg(LL_WARNING, "Can't persist the AOF manifest: %s", strerror(errno));
            close(incr_fd);
            char p[PATH_MAX + 256];
            path_in_dir(p, sizeof(p), name);
            unlink(p);
            free(name);
            aof_manifest_free(&nm);
            goto fail;
        }
        aof_manifest_free(&ctl.m);
        ctl.m = nm;
        log_msg(LL_NOTICE, "Creating AOF incr file %s on background rewrite", name);
        free(name);
    } else if (state == AOF_WAIT_REWRITE) {
        char name[300];
        snprintf(name, sizeof(name), "temp-%s.incr", fname);
        path_in_dir(ctl.tmp_incr, sizeof(ctl.tmp_incr), name);
        incr_fd = open_in_dir(name, O_TRUNC);
        if (incr_fd < 0) {
            log_msg(LL_WARNING, "Can't open the append-only file %s: %s", name, strerror(errno));
            ctl.tmp_incr[0] = '\0';
            goto fail;
        }
        log_msg(LL_NOTICE, "Creating AOF incr file %s on background rewrite", name);
    }
    /* The cut: nobody can take a sequence number while we hold every
     * shard, so records below it are in the base and the rest follow. */
    uint64_t cut = atomic_load(&next_seq);
    if (incr_fd >= 0)
        pt_post(state == AOF_ON ? PTO_SWITCH : PTO_START, cut, incr_fd, 0);
    if (state == AOF_WAIT_REWRITE)
        atomic_store(&aof_capture_on, true);

    snprintf(ctl.tmp_base, sizeof(ctl.tmp_base), "%s/temp-rewriteaof-bg-%d.aof", ctl.dir,
             (int)getpid());
    ctl.start_state = state;
    ctl.base_rdb = config.aof_use_rdb_preamble;
    atomic_store(&st.rw_start_ms, mstime());
    atomic_store(&st.rw_scheduled, false);
    atomic_store(&st.rw_active, true);
    /* The base is the fork-less snapshot from this cut (snapshot.c): the
     * workers write it between requests; rw_done finishes the rewrite. */
    if (!snapshot_start(ctl.tmp_base, ctl.base_rdb ? SNAP_AOF_RDB : SNAP_AOF_CMDS, rw_done,
                        NULL)) {
        atomic_store(&st.rw_active, false);
        log_msg(LL_WARNING, "Error starting the snapshot of the AOF base file %s: %s",
                ctl.tmp_base, strerror(errno));
        if (state == AOF_WAIT_REWRITE)
            wait_rewrite_failed();
        goto fail_logged;
    }
    log_msg(LL_NOTICE, "Background append only file rewriting started");
    pthread_mutex_unlock(&ctl.lock);
    return 0;
fail:
    if (state == AOF_WAIT_REWRITE)
        atomic_store(&st.rw_scheduled, true);
fail_logged:
    rw_failed();
    pthread_mutex_unlock(&ctl.lock);
    return -1;
}

/* Delete the history files, then drop them from the manifest (ctl.lock). */
static void delete_history(void)
{
    if (!ctl.m.nhist)
        return;
    for (size_t i = 0; i < ctl.m.nhist; i++) {
        char p[PATH_MAX + 256];
        log_msg(LL_NOTICE, "Removing the history file %s in the background", ctl.m.hist[i].name);
        path_in_dir(p, sizeof(p), ctl.m.hist[i].name);
        unlink(p);
        free(ctl.m.hist[i].name);
    }
    free(ctl.m.hist);
    ctl.m.hist = NULL;
    ctl.m.nhist = 0;
    if (aof_manifest_persist(ctl.dir, config.appendfilename, &ctl.m) != 0)
        log_msg(LL_WARNING, "Can't persist the AOF manifest: %s", strerror(errno));
}

/* The rewrite's background part: sync the base, put it in place, make it
 * the manifest's base. */
/* The base's snapshot ended (on its writer thread; the file is fsynced and
 * closed when ok, removed when not): put it in the manifest. */
static void rw_done(bool ok, void *arg)
{
    (void)arg;
    const char *fname = config.appendfilename;
    pthread_mutex_lock(&ctl.lock);
    int state = atomic_load(&st.state);
    char *bname = NULL, *iname = NULL;
    struct aof_manifest nm;
    bool have_nm = false;
    char bpath[PATH_MAX + 256], ipath[PATH_MAX + 256];
    if (!ok) {
        log_msg(LL_WARNING, "Error writing the temporary AOF base file %s", ctl.tmp_base);
        goto fail;
    }
    if (state != ctl.start_state) {
        /* appendonly changed meanwhile (Redis kills its child then). */
        log_msg(LL_NOTICE, "Background AOF rewrite discarded: appendonly changed meanwhile");
        unlink(ctl.tmp_base);
        if (ctl.start_state == AOF_WAIT_REWRITE && ctl.tmp_incr[0])
            unlink(ctl.tmp_incr);
        goto out;
    }
    man_copy(&nm, &ctl.m);
    have_nm = true;
    long long bseq = nm.curr_base_seq + 1;
    bname = aof_base_name(fname, bseq, ctl.base_rdb);
    path_in_dir(bpath, sizeof(bpath), bname);
    if (rename(ctl.tmp_base, bpath) != 0) {
        log_msg(LL_WARNING, "Error trying to rename the temporary AOF base file %s into %s: %s",
                ctl.tmp_base, bname, strerror(errno));
        unlink(ctl.tmp_base);
        goto fail;
    }
    log_msg(LL_NOTICE, "Successfully renamed the temporary AOF base file %s into %s",
            strrchr(ctl.tmp_base, '/') + 1, bname);
    if (nm.base) {
        fi_push(&nm.hist, &nm.nhist, nm.base->name, nm.base->seq, AOF_FILE_HIST);
        free(nm.base->name);
    } else {
        nm.base = xmalloc(sizeof(*nm.base));
    }
    *nm.base = (struct aof_file_info){xstrdup(bname), bseq, AOF_FILE_BASE};
    nm.curr_base_seq = bseq;
    /* Incr files written before the cut become history; under AOF_ON the
     * last one is the one opened at the cut. */
    size_t keep = state == AOF_ON && nm.nincr ? 1 : 0;
    for (size_t i = 0; i + keep < nm.nincr; i++) {
        fi_push(&nm.hist, &nm.nhist, nm.incr[i].name, nm.incr[i].seq, AOF_FILE_HIST);
        free(nm.incr[i].name);
    }
    if (keep) {
        nm.incr[0] = nm.incr[nm.nincr - 1];
        nm.nincr = 1;
    } else {
        nm.nincr = 0;
    }
    if (state == AOF_WAIT_REWRITE) {
        long long iseq = nm.curr_incr_seq + 1;
        iname = aof_incr_name(fname, iseq);
        path_in_dir(ipath, sizeof(ipath), iname);
        if (rename(ctl.tmp_incr, ipath) != 0) {
            log_msg(LL_WARNING, "Error trying to rename the temporary AOF incr file %s into %s: %s",
                    ctl.tmp_incr, iname, strerror(errno));
            unlink(bpath);
            goto fail;
        }
        log_msg(LL_NOTICE, "Successfully renamed the temporary AOF incr file %s into %s",
                strrchr(ctl.tmp_incr, '/') + 1, iname);
        fi_push(&nm.incr, &nm.nincr, iname, iseq, AOF_FILE_INCR);
        nm.curr_incr_seq = iseq;
    }
    if (aof_manifest_persist(ctl.dir, fname, &nm) != 0) {
        log_msg(LL_WARNING, "Can't persist the AOF manifest: %s", strerror(errno));
        unlink(bpath);
        if (iname)
            rename(ipath, ctl.tmp_incr);
        goto fail;
    }
    aof_manifest_free(&ctl.m);
    ctl.m = nm;
    have_nm = false;
    log_msg(LL_NOTICE, "Background AOF rewrite terminated with success");
    delete_history();
    if (state == AOF_WAIT_REWRITE) {
        atomic_store(&st.state, AOF_ON);
        ctl.tmp_incr[0] = '\0';
    }
    long long size = file_size(bname) + atomic_load(&st.incr_bytes);
    if (state == AOF_OFF)
        size = file_size(bname);
    atomic_store(&st.cur_size, size);
    atomic_store(&st.base_size, size);
    atomic_store(&st.last_rw_secs, (long long)((mstime() - atomic_load(&st.rw_start_ms)) / 1000));
    atomic_fetch_add(&st.rewrites, 1);
    atomic_store(&st.rw_failures, 0);
    atomic_store(&st.last_rw_ok, true);
    log_msg(LL_NOTICE, "Background AOF rewrite finished successfully");
    goto out;
fail:
    if (state == AOF_WAIT_REWRITE && ctl.start_state == state)
        wait_rewrite_failed();
    rw_failed();
    atomic_store(&st.last_rw_secs, (long long)((mstime() - atomic_load(&st.rw_start_ms)) / 1000));
    log_msg(LL_WARNING, "Background AOF rewrite failed");
out:
    if (have_nm)
        aof_manifest_free(&nm);
    free(bname);
    free(iname);
    atomic_store(&st.rw_active, false);
    pthread_mutex_unlock(&ctl.lock);
}

/* ---- start, stop ---- */

static void apply_appendonly(void)
{
    pthread_mutex_lock(&ctl.lock);
    int state = atomic_load(&st.state);
    if (config.appendonly && state == AOF_OFF) {
        if (ensure_dir() == 0) {
            /* Rewrite first (a base of the current data), then append: the
             * cron takes the cut within a tick. */
            atomic_store(&st.state, AOF_WAIT_REWRITE);
            atomic_store(&st.rw_scheduled, true);
            atomic_store(&st.retry_after_ms, 0);
        }
    } else if (!config.appendonly && state != AOF_OFF) {
        atomic_store(&aof_capture_on, false);
        atomic_store(&st.state, AOF_OFF);
        atomic_store(&st.rw_scheduled, false);
        atomic_store(&st.write_errno, 0);
        pt_post(PTO_STOP, atomic_load(&next_seq), -1, 0);
    }
    pthread_mutex_unlock(&ctl.lock);
}

int aof_setup(void)
{
    for (int i = 0; i < server.nworkers; i++) {
        to_pt[i] = ring_new(4096);
        from_pt[i] = ring_new(4096);
        if (!to_pt[i] || !from_pt[i])
            return -1;
    }
    apply_policy();
    for (const char *const *n = (const char *const[]){"appendfsync", "aof-timestamp-enabled",
                                                       "no-appendfsync-on-rewrite",
                                                       "auto-aof-rewrite-percentage",
                                                       "auto-aof-rewrite-min-size", NULL};
         *n; n++)
        cfg_on_change(*n, apply_policy);
    cfg_on_change("appendonly", apply_appendonly);
    return 0;
}

/* appendonly yes at start: the last incr file of the manifest, or a first
 * base (the dataset loaded, if any) and incr file. The shards are ours:
 * no worker serves yet. */
static int open_at_start(void)
{
    const char *fname = config.appendfilename;
    pthread_mutex_lock(&ctl.lock);
    int rc = -1;
    if (ensure_dir() != 0)
        goto out;
    bool created_base = false;
    if (!ctl.m.base && !ctl.m.nincr) {
        long long seq = ctl.m.curr_base_seq + 1;
        bool rdb = config.aof_use_rdb_preamble;
        char *name = aof_base_name(fname, seq, rdb);
        char tmp[PATH_MAX + 64], dest[PATH_MAX + 256];
        snprintf(tmp, sizeof(tmp), "%s/temp-rewriteaof-%d.aof", ctl.dir, (int)getpid());
        path_in_dir(dest, sizeof(dest), name);
        if (base_snapshot(tmp, rdb) != 0 || rename(tmp, dest) != 0) {
            log_msg(LL_WARNING, "Error writing the AOF base file %s: %s", name, strerror(errno));
            unlink(tmp);
            free(name);
            goto out;
        }
        ctl.m.base = xmalloc(sizeof(*ctl.m.base));
        *ctl.m.base = (struct aof_file_info){name, seq, AOF_FILE_BASE};
        ctl.m.curr_base_seq = seq;
        created_base = true;
        log_msg(LL_NOTICE, "Creating AOF base file %s on server start", name);
    }
    bool created_incr = false;
    if (!ctl.m.nincr) {
        long long seq = ctl.m.curr_incr_seq + 1;
        char *name = aof_incr_name(fname, seq);
        fi_push(&ctl.m.incr, &ctl.m.nincr, name, seq, AOF_FILE_INCR);
        ctl.m.curr_incr_seq = seq;
        free(name);
        created_incr = true;
    }
    const char *last = ctl.m.incr[ctl.m.nincr - 1].name;
    int fd = open_in_dir(last, 0);
    if (fd < 0) {
        log_msg(LL_WARNING, "Can't open the append-only file %s: %s", last, strerror(errno));
        goto out;
    }
    off_t end = lseek(fd, 0, SEEK_END);
    if (aof_manifest_persist(ctl.dir, fname, &ctl.m) != 0) {
        log_msg(LL_WARNING, "Can't persist the AOF manifest: %s", strerror(errno));
        close(fd);
        goto out;
    }
    log_msg(LL_NOTICE, created_incr ? "Creating AOF incr file %s on server start"
                                    : "Opening AOF incr file %s on server start",
            last);
    /* As Redis: the size of what was loaded (a base just written for an
     * empty start is not counted). */
    long long size = 0;
    if (!created_base) {
        size = ctl.m.base ? file_size(ctl.m.base->name) : 0;
        for (size_t i = 0; i < ctl.m.nincr; i++)
            size += file_size(ctl.m.incr[i].name);
    }
    atomic_store(&st.cur_size, size);
    atomic_store(&st.base_size, size);
    atomic_store(&st.state, AOF_ON);
    pt_post(PTO_START, atomic_load(&next_seq), fd, end < 0 ? 0 : end);
    atomic_store(&aof_capture_on, true);
    rc = 0;
out:
    pthread_mutex_unlock(&ctl.lock);
    return rc;
}

int aof_start(void)
{
    if (pt_start() != 0)
        return -1;
    cmd_prop_hooks.cmd = hook_cmd;
    cmd_prop_hooks.del = hook_del;
    if (!config.appendonly)
        return 0;
    return open_at_start();
}

void aof_shutdown(void)
{
    if (!pt.started)
        return;
    /* Workers are gone: hand over what they could not push. */
    for (int i = 0; i < server.nworkers; i++) {
        for (int tries = 0; tries < 100000; tries++) {
            push_chunks(&tls[i], i);
            if (!tls[i].full_head)
                break;
            usleep(100);
        }
    }
    pthread_mutex_lock(&ctl.lock);
    pthread_mutex_unlock(&ctl.lock);
    pt_post(PTO_EXIT, atomic_load(&next_seq), -1, 0);
    pthread_join(pt.thread, NULL);
    close(pt.efd);
    pt.started = false;
    for (int i = 0; i < server.nworkers; i++) {
        free(tls[i].cur);
        free(tls[i].g.p);
        free(tls[i].one.p);
        struct chunk *lists[3] = {pt.qh[i], pt.rh[i], tls[i].spare};
        for (int k = 0; k < 3; k++)
            for (struct chunk *c = lists[k], *n; c; c = n) {
                n = c->next;
                free(c);
            }
        void *c;
        while ((c = ring_pop(from_pt[i])))
            free(c);
        ring_free(to_pt[i]);
        ring_free(from_pt[i]);
        to_pt[i] = from_pt[i] = NULL;
    }
    aof_manifest_free(&ctl.m);
    free(pt.nb.p);
    free(pt.fl.p);
}

/* ---- cron, BGREWRITEAOF ---- */

bool aof_rewrite_active(void) { return atomic_load(&st.rw_active); }

static void cron_rewrite(struct worker *w)
{
    uint64_t all = server.nworkers >= 64 ? ~0ull : (1ull << server.nworkers) - 1;
    if (server.nworkers > 1 && !shards_acquire(w, all))
        return;
    if (!atomic_load(&st.rw_active) && !snapshot_running())
        rewrite_start();
    if (server.nworkers > 1)
        shards_release(w, all);
}

void aof_cron(struct worker *w)
{
    if (atomic_load(&st.rw_active))
        return;
    if (snapshot_running()) /* a BGSAVE's: Redis's rewrite waits for the child too */
        return;
    int64_t now = mstime();
    if (now < atomic_load(&st.retry_after_ms))
        return;
    if (atomic_load(&st.rw_scheduled))
        return cron_rewrite(w);
    long long perc = atomic_load(&pol_auto_perc), min = atomic_load(&pol_auto_min);
    long long cur = atomic_load(&st.cur_size), base = atomic_load(&st.base_size);
    if (atomic_load(&st.state) != AOF_ON || !perc || cur <= min)
        return;
    long long growth = cur * 100 / (base ? base : 1) - 100;
    if (growth < perc)
        return;
    log_msg(LL_NOTICE, "Starting automatic rewriting of AOF on %lld%% growth", growth);
    cron_rewrite(w);
}

/* BGREWRITEAOF (CMD_KEYSPACE: every shard is held), with Redis's replies. */
void cmd_bgrewriteaof(struct cmd_ctx *c)
{
    if (atomic_load(&st.rw_active))
        return reply_error(c->out, "ERR Background append only file rewriting already in progress");
    if (snapshot_running() || dp_in_exec) {
        atomic_store(&st.rw_scheduled, true);
        atomic_store(&st.retry_after_ms, 0);
        return reply_simple(c->out, "Background append only file rewriting scheduled");
    }
    if (rewrite_start() != 0)
        return reply_error(c->out, "ERR Can't execute an AOF background rewriting. Please check "
                                   "the server logs for more information.");
    reply_simple(c->out, "Background append only file rewriting started");
}

/* DEBUG LOADAOF: wait (bounded: 10 s) until every record logged so far is
 * in the file, handing over this worker's own meanwhile; the other workers
 * hand theirs over each loop turn. false: the AOF is off or it timed out. */
bool aof_wait_written(struct worker *w)
{
    if (atomic_load(&st.state) == AOF_OFF)
        return false;
    uint64_t target = atomic_load(&next_seq);
    for (int i = 0; i < 100000; i++) {
        if (atomic_load(&aof_durable) >= target)
            return true;
        if (w)
            aof_worker_flush(w);
        usleep(100);
    }
    return false;
}

/* ---- refusals, INFO ---- */

int aof_write_errno(void)
{
    if (atomic_load_explicit(&st.state, memory_order_relaxed) == AOF_OFF)
        return 0;
    return atomic_load_explicit(&st.write_errno, memory_order_relaxed);
}

size_t aof_info(char *buf, size_t len)
{
    int state = atomic_load(&st.state);
    bool active = atomic_load(&st.rw_active);
    long long cur_rw = active ? (long long)((mstime() - atomic_load(&st.rw_start_ms)) / 1000) : -1;
    int n = snprintf(buf, len,
                     "aof_enabled:%d\r\naof_rewrite_in_progress:%d\r\naof_rewrite_scheduled:%d\r\n"
                     "aof_last_rewrite_time_sec:%lld\r\naof_current_rewrite_time_sec:%lld\r\n"
                     "aof_last_bgrewrite_status:%s\r\naof_rewrites:%llu\r\n"
                     "aof_rewrites_consecutive_failures:%llu\r\naof_last_write_status:%s\r\n"
                     "aof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\n"
                     "module_fork_last_cow_size:0\r\n",
                     state != AOF_OFF, active, atomic_load(&st.rw_scheduled),
                     atomic_load(&st.last_rw_secs), cur_rw,
                     atomic_load(&st.last_rw_ok) ? "ok" : "err",
                     (unsigned long long)atomic_load(&st.rewrites),
                     (unsigned long long)atomic_load(&st.rw_failures),
                     atomic_load(&st.write_errno) ? "err" : "ok");
    if (n < 0 || (size_t)n >= len)
        return n < 0 ? 0 : len - 1;
    if (state != AOF_OFF) {
        /* aof_fsyncs is sluice's own: fsyncs the AOF thread completed. */
        int m = snprintf(buf + n, len - (size_t)n,
                         "aof_current_size:%lld\r\naof_base_size:%lld\r\naof_pending_rewrite:%d\r\n"
                         "aof_buffer_length:%zu\r\naof_pending_bio_fsync:%d\r\n"
                         "aof_delayed_fsync:%llu\r\naof_fsyncs:%llu\r\n",
                         atomic_load(&st.cur_size), atomic_load(&st.base_size),
                         atomic_load(&st.rw_scheduled), atomic_load(&st.buf_len),
                         atomic_load(&st.fsync_pending),
                         (unsigned long long)atomic_load(&st.delayed_fsync),
                         (unsigned long long)atomic_load(&st.fsyncs));
        if (m > 0)
            n = (size_t)(n + m) >= len ? (int)len - 1 : n + m;
    }
    return (size_t)n;
}
