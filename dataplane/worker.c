/* The dataplane worker: one thread, one io_uring, one shard.
 *
 * The loop is: wait for completions (one io_uring_submit_and_wait_timeout
 * per turn, which also submits everything queued in the previous turn),
 * handle each completion, run the cron when due, queue sends for clients
 * with replies, repeat. No syscall is made per request:
 *
 * - listening sockets use multishot accept;
 * - each client has one multishot recv drawing from a provided buffer ring,
 *   so idle connections hold no receive buffer at all;
 * - a request is parsed straight out of the ring buffer and only an
 *   incomplete tail is copied into the client's own query buffer;
 * - replies of a whole turn are gathered per client and sent with one send.
 *
 * Completions carry (pointer | op) in user_data; clients are allocated with
 * at least 8-byte alignment so the low bits are free for the op.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

#define RING_ENTRIES 4096
#define BUF_GROUP 0
/* Provided receive buffers. A buffer is handed back as soon as its bytes
 * are parsed (an incomplete tail is copied out), so only the receives of
 * one loop turn hold them; when they run out the kernel ends the multishot
 * receive with ENOBUFS and it is re-armed. The ring hands buffers out in
 * turn, so over time every one is touched and stays resident: 128 x 16 KB
 * (2 MB per worker) rather than more. */
#define BUF_COUNT 128   /* power of two */
#define BUF_SIZE 16384

#define UD(ptr, op) ((uint64_t)(uintptr_t)(ptr) | (op))
#define UD_OP(ud) ((int)((ud) & 7))
#define UD_PTR(ud) ((void *)(uintptr_t)((ud) & ~(uint64_t)7))

int64_t ustime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t mstime(void) { return ustime() / 1000; }

/* Submit everything queued and wait for completions, in one io_uring_enter.
 * With a min-wait kernel (6.12+) and batch_us > 0, the wait lasts up to
 * batch_us for up to RING_BATCH completions before it returns with what it
 * has, so a busy worker wakes once per batch rather than once per request.
 * The caller passes batch_us only when the previous turn was busy (see
 * BUSY_TURN: 16 completions, about half a batch), so a server at moderate
 * load does not wait and answers as fast as an idle one (at 4 it waited
 * at half of redis-server's P1 capacity: p50 130 us vs redis's 70), while
 * at saturation the turns stay batched. This is what
 * liburing's submit-and-wait does, plus the min_wait_usec field its 2.3
 * headers call `pad`. */
#define RING_BATCH 32
#define BUSY_TURN 16 /* completions in a turn that mean "under load" */

static int ring_enter(struct worker *w, unsigned batch_us, const struct __kernel_timespec *ts)
{
    struct io_uring_sq *sq = &w->ring.sq;
    if (sq->sqe_tail != sq->sqe_head) {
        /* Publish the new entries to the kernel (release: entries first). */
        sq->sqe_head = sq->sqe_tail;
        io_uring_smp_store_release(sq->ktail, sq->sqe_tail);
    }
    /* Everything published and not yet consumed, as liburing counts it. */
    unsigned to_submit = sq->sqe_tail - io_uring_smp_load_acquire(sq->khead);
    struct io_uring_getevents_arg arg = {
        .pad = w->min_wait_ok ? batch_us : 0, .ts = (uint64_t)(uintptr_t)ts};
    unsigned want = arg.pad ? RING_BATCH : 1;
    return (int)syscall(__NR_io_uring_enter, w->ring.ring_fd, to_submit, want,
                        IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
}

struct io_uring_sqe *worker_sqe(struct worker *w)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
    while (!sqe) {
        io_uring_submit(&w->ring);
        sqe = io_uring_get_sqe(&w->ring);
    }
    return sqe;
}

static void arm_accept(struct worker *w, int idx)
{
    struct io_uring_sqe *sqe = worker_sqe(w);
    io_uring_prep_multishot_accept(sqe, w->listen_fds[idx], NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, ((uint64_t)idx << 3) | OP_ACCEPT);
}

static void arm_recv(struct client *c)
{
    struct io_uring_sqe *sqe = worker_sqe(c->w);
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    io_uring_sqe_set_data64(sqe, UD(c, OP_RECV));
    c->flags |= CL_RECV_ARMED;
}

static void arm_doorbell(struct worker *w)
{
    struct io_uring_sqe *sqe = worker_sqe(w);
    io_uring_prep_read(sqe, w->doorbell, &w->doorbell_val, sizeof(w->doorbell_val), 0);
    io_uring_sqe_set_data64(sqe, UD(w, OP_WAKE));
}

void worker_wake(struct worker *w)
{
    uint64_t one = 1;
    ssize_t n = write(w->doorbell, &one, sizeof(one));
    (void)n; /* a full counter already means "wake up" */
}

static const char *uring_help =
    "io_uring is not available to this process (%s). sluiced needs it: check that "
    "the kernel is 5.19 or newer, that the sysctl kernel.io_uring_disabled is 0 "
    "(sysctl -w kernel.io_uring_disabled=0), and that no seccomp profile (container "
    "runtime default profiles often do) blocks io_uring_setup, io_uring_enter and "
    "io_uring_register.";

static int worker_init(struct worker *w)
{
    struct io_uring_params p;
    int rc;

    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN;
    rc = io_uring_queue_init_params(RING_ENTRIES, &w->ring, &p);
    if (rc == -EINVAL) {
        memset(&p, 0, sizeof(p));
        rc = io_uring_queue_init_params(RING_ENTRIES, &w->ring, &p);
    }
    if (rc < 0) {
        log_msg(LL_WARNING, uring_help, strerror(-rc));
        return -1;
    }
    if (!(p.features & IORING_FEAT_EXT_ARG) || !(p.features & IORING_FEAT_FAST_POLL)) {
        log_msg(LL_WARNING, uring_help, "kernel too old: missing EXT_ARG or FAST_POLL");
        return -1;
    }
    w->min_wait_ok = (p.features & (1U << 15)) != 0; /* IORING_FEAT_MIN_TIMEOUT */

    /* The provided buffer ring shared by every client of this worker. */
    size_t ring_bytes = BUF_COUNT * sizeof(struct io_uring_buf);
    w->br = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    w->bufs = malloc((size_t)BUF_COUNT * BUF_SIZE);
    if (w->br == MAP_FAILED || !w->bufs) {
        log_msg(LL_WARNING, "Out of memory allocating receive buffers");
        return -1;
    }
    struct io_uring_buf_reg reg = {
        .ring_addr = (uint64_t)(uintptr_t)w->br, .ring_entries = BUF_COUNT, .bgid = BUF_GROUP};
    rc = io_uring_register_buf_ring(&w->ring, &reg, 0);
    if (rc < 0) {
        log_msg(LL_WARNING, uring_help, "provided buffer rings unsupported");
        return -1;
    }
    io_uring_buf_ring_init(w->br);
    for (int i = 0; i < BUF_COUNT; i++)
        io_uring_buf_ring_add(w->br, w->bufs + (size_t)i * BUF_SIZE, BUF_SIZE, i,
                              io_uring_buf_ring_mask(BUF_COUNT), i);
    io_uring_buf_ring_advance(w->br, BUF_COUNT);

    w->doorbell = eventfd(0, EFD_CLOEXEC);
    if (w->doorbell < 0) {
        log_msg(LL_WARNING, "eventfd: %s", strerror(errno));
        return -1;
    }
    w->shard = shard_new(w->id, (int)config.databases);
    return 0;
}

static void recycle_buf(struct worker *w, int bid)
{
    io_uring_buf_ring_add(w->br, w->bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, bid,
                          io_uring_buf_ring_mask(BUF_COUNT), 0);
    io_uring_buf_ring_advance(w->br, 1);
}

static void mark_pending(struct client *c)
{
    if (c->flags & CL_PENDING_WRITE)
        return;
    c->flags |= CL_PENDING_WRITE;
    c->next_pending = c->w->pending;
    c->w->pending = c;
}

static void client_free(struct client *c)
{
    struct worker *w = c->w;
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nclients--;
    atomic_fetch_sub_explicit(&server.connected_clients, 1, memory_order_relaxed);
    multi_reset(c);
    resp_parser_free(&c->parser);
    reply_free(&c->reply);
    free(c->qbuf);
    free(c->name);
    free(c);
}

static void maybe_free(struct client *c)
{
    if ((c->flags & CL_CLOSING) &&
        !(c->flags & (CL_RECV_ARMED | CL_SENDING | CL_PENDING_WRITE | CL_AWAITING |
                      CL_AOF_HELD)) &&
        c->away == 0)
        client_free(c);
}

/* Safe to call more than once; c may be freed on return. */
void client_close(struct client *c, const char *why)
{
    if (c->flags & CL_CLOSING)
        return maybe_free(c);
    if (c->blk)
        blocking_abort(c); /* completes its reply slot before we close */
    if (why)
        log_msg(LL_VERBOSE, "Closing client id=%llu: %s", (unsigned long long)c->id, why);
    c->flags |= CL_CLOSING;
    /* Wakes the outstanding recv with EOF; the fd is closed when freed. */
    shutdown(c->fd, SHUT_RDWR);
    maybe_free(c);
}

void client_queue_slot(struct client *c, struct msg *m)
{
    m->client = c;
    m->next = NULL;
    if (c->rq_tail)
        c->rq_tail->next = m;
    else
        c->rq_head = m;
    c->rq_tail = m;
    c->away++;
}

/* A reply slot is complete: move every complete reply at the head of the
 * queue to the client's output, in order. */
void client_reply_done(struct msg *m)
{
    struct client *c = m->client;
    if (!m->done) {
        m->done = true;
        c->away--; /* every slot counted in client_queue_slot */
    }
    while (c->rq_head && c->rq_head->done) {
        struct msg *h = c->rq_head;
        c->rq_head = h->next;
        if (!c->rq_head)
            c->rq_tail = NULL;
        if (h->aof_need > c->aof_need)
            c->aof_need = h->aof_need;
        reply_splice(&c->reply, &h->reply);
        msg_free(h);
    }
    if (c->flags & CL_CLOSING)
        client_close(c, NULL);
    else if (c->reply.bytes || (c->flags & CL_CLOSE_AFTER_REPLY))
        mark_pending(c);
}

static void new_client(struct worker *w, int fd, int listener)
{
    if (atomic_load_explicit(&server.connected_clients, memory_order_relaxed) >=
        config.maxclients) {
        static const char msg[] = "-ERR max number of clients reached\r\n";
        ssize_t n = write(fd, msg, sizeof(msg) - 1);
        (void)n;
        close(fd);
        atomic_fetch_add_explicit(&server.stats.rejected_connections, 1, memory_order_relaxed);
        return;
    }
    struct client *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return;
    }
    bool is_unix = w->listen_fds[listener] == server.unix_listen_fd;
    if (!is_unix) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (config.tcp_keepalive > 0) {
            int idle = (int)config.tcp_keepalive, intvl = idle / 3 ? idle / 3 : 1, cnt = 3;
            setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
        }
    }
    c->id = atomic_fetch_add_explicit(&server.next_client_id, 1, memory_order_relaxed);
    c->fd = fd;
    c->w = w;
    c->flags = is_unix ? CL_UNIX : 0;
    c->ctime_ms = c->last_ms = w->shard->now_ms;
    resp_parser_init(&c->parser, config.proto_max_bulk_len);
    reply_init(&c->reply, 2);
    c->next = w->clients;
    if (w->clients)
        w->clients->prev = c;
    w->clients = c;
    w->nclients++;
    atomic_fetch_add_explicit(&server.connected_clients, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&server.stats.connections_received, 1, memory_order_relaxed);
    arm_recv(c);
}

/* Keep buf[pos, len) as the start of the next request. */
static int keep_tail(struct client *c, const char *buf, size_t pos, size_t len)
{
    size_t tail = len - pos;
    if (buf == c->qbuf) {
        if (pos)
            memmove(c->qbuf, c->qbuf + pos, tail);
        c->qlen = tail;
    } else if (tail) {
        if (c->qcap < tail) {
            free(c->qbuf);
            c->qcap = tail < 4096 ? 4096 : tail;
            c->qbuf = malloc(c->qcap);
            if (!c->qbuf)
                return -1;
        }
        memcpy(c->qbuf, buf + pos, tail);
        c->qlen = tail;
    } else {
        c->qlen = 0;
    }
    /* Reserve room for a large bulk being read, so it is copied once. */
    size_t want = resp_parser_want(&c->parser);
    if (want > c->qcap && want < (size_t)config.client_query_buffer_limit) {
        char *q = realloc(c->qbuf, want);
        if (!q)
            return -1;
        c->qbuf = q;
        c->qcap = want;
    }
    if (c->qlen == 0 && c->qcap > 65536) {
        free(c->qbuf);
        c->qbuf = NULL;
        c->qcap = 0;
    }
    return 0;
}

/* Parse and run every complete request in buf. */
static void process_input(struct client *c, const char *data, size_t n)
{
    const char *buf = data;
    size_t len = n, pos = 0;

    c->net_in += n;
    c->last_ms = c->w->shard->now_ms;
    if (c->qlen) {
        if (c->qlen + n > c->qcap) {
            size_t cap = (c->qlen + n) * 2;
            char *q = realloc(c->qbuf, cap);
            if (!q) {
                client_close(c, "out of memory for query buffer");
                return;
            }
            c->qbuf = q;
            c->qcap = cap;
        }
        memcpy(c->qbuf + c->qlen, data, n);
        c->qlen += n;
        buf = c->qbuf;
        len = c->qlen;
    }
    c->parser.max_bulk_len = config.proto_max_bulk_len;
    while (!(c->flags & (CL_CLOSE_AFTER_REPLY | CL_CLOSING | CL_BLOCKED))) {
        /* A multi-shard command may have lent our shard out: wait for it
         * back before running anything else. */
        if (c->w->lent_to >= 0)
            shards_poll(c->w);
        enum resp_status st = resp_parse(&c->parser, buf, len, &pos);
        if (st == RESP_DONE)
            dispatch(c, c->parser.argc, c->parser.argv);
        else if (st == RESP_EMPTY)
            continue;
        else if (st == RESP_NEED_MORE)
            break;
        else {
            struct msg *slot;
            reply_error(reply_target(c, &slot), c->parser.err);
            if (slot)
                client_reply_done(slot);
            log_msg(LL_VERBOSE, "Protocol error (%s) from client id=%llu", c->parser.err,
                    (unsigned long long)c->id);
            atomic_fetch_add_explicit(&server.stats.protocol_errors, 1, memory_order_relaxed);
            c->flags |= CL_CLOSE_AFTER_REPLY;
        }
    }
    if (config.busy_poll && c->away && !(c->flags & CL_CLOSING)) {
        shards_await(c->w, c);
        if (c->flags & CL_CLOSING)
            return maybe_free(c);
    }
    if (c->flags & (CL_CLOSE_AFTER_REPLY | CL_CLOSING)) {
        c->qlen = 0;
    } else if (keep_tail(c, buf, pos, len) < 0) {
        client_close(c, "out of memory for query buffer");
        return;
    } else if (c->qlen > (size_t)config.client_query_buffer_limit) {
        log_msg(LL_WARNING, "Closing client that reached max query buffer length: id=%llu qbuf=%zu",
                (unsigned long long)c->id, c->qlen);
        client_close(c, NULL);
        return;
    }
    if (c->reply.bytes || (c->flags & CL_CLOSE_AFTER_REPLY))
        mark_pending(c);
}

void client_unblocked(struct client *c)
{
    if (c->qlen && !(c->flags & (CL_CLOSE_AFTER_REPLY | CL_CLOSING)))
        process_input(c, "", 0); /* marks it pending */
    else if (c->reply.bytes)
        mark_pending(c);
}

static void on_recv(struct worker *w, struct client *c, struct io_uring_cqe *cqe)
{
    bool more = cqe->flags & IORING_CQE_F_MORE;

    if (cqe->res > 0) {
        int bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        if (!(c->flags & CL_CLOSING))
            process_input(c, w->bufs + (size_t)bid * BUF_SIZE, (size_t)cqe->res);
        recycle_buf(w, bid);
        atomic_fetch_add_explicit(&server.stats.net_input_bytes, (uint64_t)cqe->res,
                                  memory_order_relaxed);
    }
    if (more)
        return;
    c->flags &= ~CL_RECV_ARMED;
    if (cqe->res == 0 || (cqe->res < 0 && cqe->res != -ENOBUFS) || (c->flags & CL_CLOSING))
        client_close(c, NULL);
    else
        arm_recv(c); /* out of buffers or the kernel ended the multishot */
}

static void on_send(struct client *c, struct io_uring_cqe *cqe)
{
    c->flags &= ~CL_SENDING;
    if (cqe->res < 0)
        return client_close(c, NULL);
    reply_consume(&c->reply, (size_t)cqe->res);
    c->net_out += (uint64_t)cqe->res;
    atomic_fetch_add_explicit(&server.stats.net_output_bytes, (uint64_t)cqe->res,
                              memory_order_relaxed);
    if (c->flags & CL_CLOSING)
        client_close(c, NULL);
    else if (c->reply.bytes || (c->flags & CL_CLOSE_AFTER_REPLY))
        mark_pending(c);
}

/* client-output-buffer-limit (normal class): unsent replies above the hard
 * limit, or above the soft one for longer than its seconds. */
static bool over_output_limit(struct client *c)
{
    long long hard = atomic_load_explicit(&server.obuf_hard, memory_order_relaxed);
    long long soft = atomic_load_explicit(&server.obuf_soft, memory_order_relaxed);
    size_t bytes = c->reply.bytes;
    if (hard && bytes > (size_t)hard)
        return true;
    if (!soft || bytes <= (size_t)soft) {
        c->obuf_soft_since = 0;
        return false;
    }
    int64_t now = c->w->shard->now_ms;
    if (!c->obuf_soft_since)
        c->obuf_soft_since = now;
    return now - c->obuf_soft_since >
           atomic_load_explicit(&server.obuf_soft_secs, memory_order_relaxed) * 1000;
}

/* appendfsync always: a client whose replies follow a logged write keeps
 * them until the AOF thread says the write is fsynced (aof.c). The hold
 * mark is stored before aof_durable is read again (seq_cst both, paired
 * with the AOF thread's store of aof_durable and its read of the mark), so
 * either we see the write durable or the thread sees our mark and rings
 * our doorbell. */
static void hold_note(struct worker *w, uint64_t need)
{
    uint64_t cur = atomic_load(&w->aof_hold_need);
    if (!cur || need < cur)
        atomic_store(&w->aof_hold_need, need);
}

static bool aof_hold(struct client *c)
{
    struct worker *w = c->w;
    if (c->aof_need <= atomic_load(&aof_durable)) {
        c->aof_need = 0;
        return false;
    }
    hold_note(w, c->aof_need);
    if (c->aof_need <= atomic_load(&aof_durable)) {
        c->aof_need = 0; /* a stale mark costs at most one spurious wake-up */
        return false;
    }
    if (!(c->flags & CL_AOF_HELD)) {
        c->flags |= CL_AOF_HELD;
        c->next_held = w->aof_held;
        w->aof_held = c;
    }
    return true;
}

/* Each turn: send the held clients whose writes are now durable; the mark
 * left is the smallest of those still held (checked again after the
 * store, as in aof_hold). */
static void aof_release(struct worker *w)
{
    for (;;) {
        uint64_t d = atomic_load(&aof_durable), min = 0;
        struct client **link = &w->aof_held;
        while (*link) {
            struct client *c = *link;
            if (c->aof_need <= d) {
                *link = c->next_held;
                c->flags &= ~CL_AOF_HELD;
                c->aof_need = 0;
                if (c->flags & CL_CLOSING)
                    client_close(c, NULL);
                else
                    mark_pending(c);
                continue;
            }
            if (!min || c->aof_need < min)
                min = c->aof_need;
            link = &c->next_held;
        }
        atomic_store(&w->aof_hold_need, min);
        if (!min || min > atomic_load(&aof_durable))
            return;
    }
}

/* Queue one send per client that has replies and none in flight. */
static void flush_pending(struct worker *w)
{
    struct client *c = w->pending;
    w->pending = NULL;
    while (c) {
        struct client *next = c->next_pending;
        c->flags &= ~CL_PENDING_WRITE;
        if (!(c->flags & CL_CLOSING) && over_output_limit(c)) {
            log_msg(LL_WARNING, "Client id=%llu closed for overcoming of output buffer limits.",
                    (unsigned long long)c->id);
            client_close(c, NULL);
        } else if (c->flags & CL_SENDING) {
            /* on_send requeues it */
        } else if (c->aof_need && !(c->flags & CL_CLOSING) && aof_hold(c)) {
            /* aof_release requeues it */
        } else if (c->flags & CL_CLOSING) {
            client_close(c, NULL);
        } else if (c->reply.bytes) {
            struct reply_chunk *ch = c->reply.head;
            struct io_uring_sqe *sqe = worker_sqe(w);
            io_uring_prep_send(sqe, c->fd, ch->data + ch->off, ch->len - ch->off, MSG_NOSIGNAL);
            io_uring_sqe_set_data64(sqe, UD(c, OP_SEND));
            c->flags |= CL_SENDING;
        } else if (c->flags & CL_CLOSE_AFTER_REPLY) {
            client_close(c, NULL);
        }
        c = next;
    }
}

static void cron(struct worker *w)
{
    int64_t now = w->shard->now_ms;
    uint64_t period_us = 1000000 / (uint64_t)config.hz;

    /* Active expiry may use a quarter of the cycle, as Redis's slow cycle. */
    db_active_expire(w->shard, period_us / 4);
    db_cron(w->shard, 1000);
    mem_clients_cron(w);
    store_arena_trim(w->shard->arena, 4 << 20);
    if (w->id == 0) {
        persist_cron(w);
        aof_cron(w);
    }
    if (config.timeout > 0) {
        for (struct client *c = w->clients; c; c = c->next)
            if (now - c->last_ms > config.timeout * 1000 && !(c->flags & CL_CLOSING))
                client_close(c, "idle timeout");
    }
    w->next_cron_ms = now + 1000 / config.hz;
}

static void handle_cqe(struct worker *w, struct io_uring_cqe *cqe)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);

    switch (UD_OP(ud)) {
    case OP_RECV:
        on_recv(w, UD_PTR(ud), cqe);
        break;
    case OP_SEND:
        on_send(UD_PTR(ud), cqe);
        break;
    case OP_ACCEPT: {
        int idx = (int)(ud >> 3);
        if (cqe->res >= 0)
            new_client(w, cqe->res, idx);
        else if (cqe->res != -ECANCELED)
            log_msg(LL_VERBOSE, "Accepting client connection: %s", strerror(-cqe->res));
        if (!(cqe->flags & IORING_CQE_F_MORE) && !atomic_load(&server.stop))
            arm_accept(w, idx);
        break;
    }
    case OP_WAKE:
        if (!atomic_load(&server.stop))
            arm_doorbell(w);
        break;
    case OP_BELL:
        break; /* a peer pushed to our rings; shards_poll drains them */
    }
}

void *worker_main(void *arg)
{
    struct worker *w = arg;

    if (w->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(w->cpu, &set);
        int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
        if (rc)
            log_msg(LL_WARNING, "Could not pin worker %d to core %d: %s", w->id, w->cpu,
                    strerror(rc));
    }
    /* The ring is created here: with SINGLE_ISSUER and DEFER_TASKRUN only
     * the creating thread may submit and reap. The main thread waits for
     * the outcome in `ready`. */
    store_mem_register_thread();
    aof_worker_bind(w);
    int arena = store_arena_bind();
    int rc = worker_init(w);
    if (rc == 0)
        w->shard->arena = arena;
    atomic_store(&w->ready, rc == 0 ? 1 : -1);
    if (rc)
        return NULL;
    while (!atomic_load(&server.started) && !atomic_load(&server.stop))
        usleep(100);
    for (int i = 0; i < w->nlisten; i++)
        arm_accept(w, i);
    arm_doorbell(w);
    w->next_cron_ms = mstime();

    bool busy = false;
    int snap_wait = -1; /* ms to wait at most while our shard has a snapshot; -1 none */
    while (!atomic_load_explicit(&server.stop, memory_order_relaxed)) {
        struct io_uring_cqe *cqe;
        int64_t until = w->next_cron_ms;
        if (w->blk_deadline && w->blk_deadline < until)
            until = w->blk_deadline;
        int64_t wait_ms = until - mstime();
        if (wait_ms < 0)
            wait_ms = 0;
        if (snap_wait >= 0 && wait_ms > snap_wait)
            wait_ms = snap_wait; /* a snapshot slice is due (snapshot.c) */
        if (config.busy_poll)
            wait_ms = 0; /* never sleep: just reap what is there */
        struct __kernel_timespec ts = {.tv_sec = wait_ms / 1000,
                                       .tv_nsec = (wait_ms % 1000) * 1000000};
        ring_enter(w, busy && !config.busy_poll ? (unsigned)config.dataplane_batch_usec : 0, &ts);

        /* While the main thread loads the dataset the shard is its own. */
        bool loading = atomic_load(&server.loading);
        if (!loading)
            shard_tick(w->shard, mstime());
        unsigned head, count = 0;
        io_uring_for_each_cqe(&w->ring, head, cqe) {
            handle_cqe(w, cqe);
            count++;
        }
        io_uring_cq_advance(&w->ring, count);
        busy = count >= BUSY_TURN;
        w->busy = busy;
        shards_poll(w);
        blocking_poll(w);
        if (!loading && w->shard->now_ms >= w->next_cron_ms)
            cron(w);
        if (w->aof_held)
            aof_release(w);
        flush_pending(w);
        aof_worker_flush(w);
        ring_bells(w);
        snap_wait = -1;
        if (w->shard->snap && w->lent_to < 0) {
            /* The turn's replies leave before the slice, not after it. */
            io_uring_submit(&w->ring);
            snap_wait = snapshot_slice(w->shard) ? 0 : 1;
        }
    }

    /* Flush what is queued (e.g. replies before SHUTDOWN) and close. */
    aof_worker_flush(w);
    io_uring_submit(&w->ring);
    w->aof_held = NULL;
    while (w->clients) {
        struct client *c = w->clients;
        c->flags &= ~(CL_RECV_ARMED | CL_SENDING | CL_PENDING_WRITE | CL_AOF_HELD);
        c->flags |= CL_CLOSING;
        client_free(c);
    }
    io_uring_queue_exit(&w->ring);
    munmap(w->br, BUF_COUNT * sizeof(struct io_uring_buf));
    free(w->bufs);
    store_mem_unregister_thread();
    return NULL; /* the doorbell is closed by main once every worker joined */
}
