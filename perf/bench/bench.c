/* The load engine of sluice-bench (see bench.h for the threading story).
 *
 * Per thread the loop is: issue every request whose due time has come
 * (appending RESP to the connection's fill buffer and queueing a send if none
 * is in flight), submit and wait for completions until the next due time, and
 * handle each completion: a recv advances the connection's reply parser and
 * records one latency per complete reply; a send moves on to the bytes queued
 * meanwhile. Every connection always has exactly one recv in flight and at
 * most one send.
 *
 * Send buffers are double-buffered: the kernel may read the in-flight one,
 * so new requests go to the other and the two swap when the send completes.
 */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <liburing.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RECV_INIT (64 * 1024)
#define OP_RECV 0
#define OP_SEND 1
#define HARD_BOUND_SLACK_NS (10ull * 1000000000ull)
#define MAX_SEQ 8
/* A FIFO entry with this bit is an inner command of a ';' sequence: its reply
 * is checked for errors but the latency is the sequence's last reply's. */
#define INNER_BIT (1ull << 63)

static atomic_bool stop_requested;

void bench_request_stop(void)
{
    atomic_store_explicit(&stop_requested, true, memory_order_relaxed);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void bench_config_defaults(struct bench_config *c)
{
    memset(c, 0, sizeof(*c));
    c->host = "127.0.0.1";
    c->port = 6379;
    c->clients = 50;
    c->threads = 1;
    c->rate = 0;
    c->arrival = ARRIVAL_FIXED;
    c->duration = 10;
    c->set_ratio = 1;
    c->get_ratio = 10;
    c->key_space = 100000;
    c->key_dist = KEYS_UNIFORM;
    c->zipf_s = 0.99;
    c->key_prefix = "key:";
    c->data_min = c->data_max = 32;
    c->pipeline = 1;
    c->timeout_ns = 1000000000ull;
    c->seed = 1;
    c->spin_ns = 0;
    c->progress = false;
}

/* ---- RESP replies ---------------------------------------------------- */

static long skip_value(const char *p, size_t n, int depth)
{
    if (depth > 64)
        return -1;
    const char *nl = memchr(p, '\n', n);
    if (!nl)
        return 0;
    long line = nl - p + 1;
    if (line < 3 || nl[-1] != '\r')
        return -1;
    switch (p[0]) {
    case '+': case '-': case ':': case '_': case ',': case '#': case '(':
        return line;
    case '$': case '!': case '=': {
        long len = strtol(p + 1, NULL, 10);
        if (len < 0)
            return line;
        if ((size_t)line + (size_t)len + 2 > n)
            return 0;
        return line + len + 2;
    }
    case '*': case '%': case '~': case '>': {
        long count = strtol(p + 1, NULL, 10);
        if (count < 0)
            return line;
        if (p[0] == '%')
            count *= 2;
        long off = line;
        for (long i = 0; i < count; i++) {
            long m = skip_value(p + off, n - (size_t)off, depth + 1);
            if (m <= 0)
                return m;
            off += m;
        }
        return off;
    }
    default:
        return -1;
    }
}

long bench_resp_skip(const char *p, size_t n)
{
    if (!n)
        return 0;
    return skip_value(p, n, 0);
}

/* ---- request templates ----------------------------------------------- */

enum seg_kind { SEG_LIT, SEG_KEY, SEG_DATA };

struct seg {
    enum seg_kind kind;
    const char *lit;
    size_t len;
};

struct arg_tpl {
    struct seg seg[8];
    int nseg;
};

struct tpl {
    struct arg_tpl arg[32];
    int argc;
    char *storage;
};

/* Split a template on spaces into arguments, each into literal, __key__ and
 * __data__ segments. Returns 0 or -1 (too many arguments or segments). */
static int tpl_parse(struct tpl *t, const char *text)
{
    memset(t, 0, sizeof(*t));
    t->storage = strdup(text);
    if (!t->storage)
        return -1;
    char *save = NULL;
    for (char *a = strtok_r(t->storage, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
        if (t->argc == 32)
            return -1;
        struct arg_tpl *at = &t->arg[t->argc++];
        const char *p = a;
        while (*p) {
            if (at->nseg == 8)
                return -1;
            struct seg *s = &at->seg[at->nseg++];
            if (!strncmp(p, "__key__", 7)) {
                s->kind = SEG_KEY;
                p += 7;
                continue;
            }
            if (!strncmp(p, "__data__", 8)) {
                s->kind = SEG_DATA;
                p += 8;
                continue;
            }
            const char *k = strstr(p, "__key__"), *d = strstr(p, "__data__");
            const char *end = p + strlen(p);
            if (k && k < end)
                end = k;
            if (d && d < end)
                end = d;
            s->kind = SEG_LIT;
            s->lit = p;
            s->len = (size_t)(end - p);
            p = end;
        }
    }
    return t->argc ? 0 : -1;
}

/* ---- connections and threads ----------------------------------------- */

struct buf {
    char *p;
    size_t len, cap;
};

struct conn {
    int fd;
    int id;
    struct buf out[2];
    int fill;            /* index of the buffer new requests go to */
    bool sending;        /* out[fill ^ 1] is in flight */
    size_t sent_off;
    char *in;
    size_t in_len, in_cap;
    uint64_t *fifo;      /* intended times of the outstanding requests, in order */
    size_t fifo_cap, fifo_head, fifo_count;
};

struct run;

struct worker {
    struct run *run;
    int idx;
    pthread_t tid;
    bool joined;         /* by the progress loop already */
    struct io_uring ring;
    struct conn *conns;
    int nconn;
    struct rng rng;
    struct keygen keys;
    struct hist hist;
    struct hist lag;     /* open loop: how late each batch left after its due time */
    uint64_t quota;      /* requests this thread may send (UINT64_MAX: by time) */
    uint64_t issued;
    uint64_t first_due, last_reply;
    uint64_t sets, gets, timeouts, unanswered;
    _Atomic uint64_t completed, errors;
    char err[256];
};

struct run {
    const struct bench_config *cfg;
    struct tpl set_tpl, get_tpl;
    struct tpl raw_tpl[MAX_SEQ]; /* --command, split on ';' */
    int nraw;
    struct zipf_table *zipf;
    char *data;          /* cfg->data_max filler bytes for __data__ */
    uint64_t start, send_end, hard_end;
    atomic_bool failed;
    struct worker *workers;
};

static int buf_reserve(struct buf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static void fail(struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record the thread's first error and make every thread stop. */
static void fail(struct worker *w, const char *fmt, ...)
{
    if (!w->err[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->err, sizeof(w->err), fmt, ap);
        va_end(ap);
    }
    atomic_store(&w->run->failed, true);
}

/* Append one request built from template t to b. */
static int encode(struct buf *b, const struct tpl *t, const char *key, size_t klen,
                  const char *data, size_t dlen)
{
    size_t need = 16;
    for (int i = 0; i < t->argc; i++) {
        need += 24;
        for (int j = 0; j < t->arg[i].nseg; j++) {
            const struct seg *s = &t->arg[i].seg[j];
            need += s->kind == SEG_KEY ? klen : s->kind == SEG_DATA ? dlen : s->len;
        }
    }
    if (buf_reserve(b, need))
        return -1;
    char *p = b->p + b->len;
    p += sprintf(p, "*%d\r\n", t->argc);
    for (int i = 0; i < t->argc; i++) {
        size_t alen = 0;
        for (int j = 0; j < t->arg[i].nseg; j++) {
            const struct seg *s = &t->arg[i].seg[j];
            alen += s->kind == SEG_KEY ? klen : s->kind == SEG_DATA ? dlen : s->len;
        }
        p += sprintf(p, "$%zu\r\n", alen);
        for (int j = 0; j < t->arg[i].nseg; j++) {
            const struct seg *s = &t->arg[i].seg[j];
            const char *src = s->kind == SEG_KEY ? key : s->kind == SEG_DATA ? data : s->lit;
            size_t n = s->kind == SEG_KEY ? klen : s->kind == SEG_DATA ? dlen : s->len;
            memcpy(p, src, n);
            p += n;
        }
        *p++ = '\r';
        *p++ = '\n';
    }
    b->len = (size_t)(p - b->p);
    return 0;
}

static size_t pick_data_len(const struct bench_config *c, struct rng *r)
{
    if (c->data_max <= c->data_min)
        return c->data_min;
    return c->data_min + rng_below(r, (uint64_t)(c->data_max - c->data_min) + 1);
}

static int fifo_push(struct conn *c, uint64_t t)
{
    if (c->fifo_count == c->fifo_cap) {
        size_t cap = c->fifo_cap ? c->fifo_cap * 2 : 64;
        uint64_t *f = malloc(cap * sizeof(*f));
        if (!f)
            return -1;
        for (size_t i = 0; i < c->fifo_count; i++)
            f[i] = c->fifo[(c->fifo_head + i) % c->fifo_cap];
        free(c->fifo);
        c->fifo = f;
        c->fifo_cap = cap;
        c->fifo_head = 0;
    }
    c->fifo[(c->fifo_head + c->fifo_count) % c->fifo_cap] = t;
    c->fifo_count++;
    return 0;
}

static uint64_t fifo_pop(struct conn *c)
{
    uint64_t t = c->fifo[c->fifo_head];
    c->fifo_head = (c->fifo_head + 1) % c->fifo_cap;
    c->fifo_count--;
    return t;
}

static struct io_uring_sqe *get_sqe(struct worker *w)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
    if (!sqe) {
        io_uring_submit(&w->ring);
        sqe = io_uring_get_sqe(&w->ring);
    }
    return sqe;
}

static void arm_recv(struct worker *w, struct conn *c)
{
    struct io_uring_sqe *sqe = get_sqe(w);
    io_uring_prep_recv(sqe, c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    io_uring_sqe_set_data64(sqe, ((uint64_t)c->id << 1) | OP_RECV);
}

static void arm_send(struct worker *w, struct conn *c)
{
    struct buf *b = &c->out[c->fill ^ 1];
    struct io_uring_sqe *sqe = get_sqe(w);
    io_uring_prep_send(sqe, c->fd, b->p + c->sent_off, b->len - c->sent_off, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, ((uint64_t)c->id << 1) | OP_SEND);
}

/* Start sending what was queued, unless a send is already in flight (its
 * completion calls this again). */
static void flush(struct worker *w, struct conn *c)
{
    if (c->sending || !c->out[c->fill].len)
        return;
    c->fill ^= 1;
    c->sending = true;
    c->sent_off = 0;
    arm_send(w, c);
}

/* Queue one batch of cfg->pipeline requests on c, all intended at `due`. */
static int issue(struct worker *w, struct conn *c, uint64_t due)
{
    const struct bench_config *cfg = w->run->cfg;
    struct run *r = w->run;
    for (unsigned i = 0; i < cfg->pipeline; i++) {
        char key[160];
        uint64_t k = keygen_next(&w->keys, &w->rng);
        int klen = snprintf(key, sizeof(key), "%s%012" PRIu64, cfg->key_prefix, k);
        size_t dlen = pick_data_len(cfg, &w->rng);
        const struct tpl *t;
        if (cfg->command) {
            /* A sequence shares one key and value; all but the last reply
             * are inner. */
            for (int j = 0; j + 1 < r->nraw; j++)
                if (encode(&c->out[c->fill], &r->raw_tpl[j], key, (size_t)klen, r->data, dlen) ||
                    fifo_push(c, due | INNER_BIT)) {
                    fail(w, "out of memory");
                    return -1;
                }
            t = &r->raw_tpl[r->nraw - 1];
        } else if (rng_below(&w->rng, cfg->set_ratio + cfg->get_ratio) < cfg->set_ratio) {
            t = &r->set_tpl;
            w->sets++;
        } else {
            t = &r->get_tpl;
            w->gets++;
        }
        if (encode(&c->out[c->fill], t, key, (size_t)klen, r->data, dlen) || fifo_push(c, due)) {
            fail(w, "out of memory");
            return -1;
        }
    }
    w->issued += cfg->pipeline;
    flush(w, c);
    return 0;
}

static void on_reply(struct worker *w, struct conn *c, const char *p, uint64_t now)
{
    uint64_t due = fifo_pop(c);
    if (due & INNER_BIT) {
        if (p[0] == '-' || p[0] == '!')
            atomic_fetch_add_explicit(&w->errors, 1, memory_order_relaxed);
        return;
    }
    uint64_t lat = now > due ? now - due : 0;
    hist_record(&w->hist, lat);
    if (lat > w->run->cfg->timeout_ns)
        w->timeouts++;
    if (p[0] == '-' || p[0] == '!')
        atomic_fetch_add_explicit(&w->errors, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->completed, 1, memory_order_relaxed);
    w->last_reply = now;
}

static bool may_issue(const struct worker *w, uint64_t now)
{
    return w->issued < w->quota && now < w->run->send_end;
}

static int handle_recv(struct worker *w, struct conn *c, int res, uint64_t now)
{
    if (res <= 0) {
        const struct bench_config *cfg = w->run->cfg;
        if (res == 0)
            fail(w, "connection %d to %s:%d closed by the server", c->id, cfg->host, cfg->port);
        else
            fail(w, "connection %d to %s:%d dropped: %s", c->id, cfg->host, cfg->port,
                 strerror(-res));
        return -1;
    }
    c->in_len += (size_t)res;
    size_t off = 0;
    for (;;) {
        long n = bench_resp_skip(c->in + off, c->in_len - off);
        if (n < 0) {
            fail(w, "protocol error in a reply on connection %d", c->id);
            return -1;
        }
        if (n == 0)
            break;
        if (!c->fifo_count) {
            fail(w, "a reply nobody asked for on connection %d", c->id);
            return -1;
        }
        on_reply(w, c, c->in + off, now);
        off += (size_t)n;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    if (c->in_len == c->in_cap) {
        char *p = realloc(c->in, c->in_cap * 2);
        if (!p) {
            fail(w, "out of memory");
            return -1;
        }
        c->in = p;
        c->in_cap *= 2;
    }
    /* Closed loop: the next batch goes out when the whole last one is in. */
    if (w->run->cfg->rate <= 0 && !c->fifo_count && may_issue(w, now))
        if (issue(w, c, now))
            return -1;
    arm_recv(w, c);
    return 0;
}

static int handle_send(struct worker *w, struct conn *c, int res)
{
    if (res < 0) {
        const struct bench_config *cfg = w->run->cfg;
        fail(w, "connection %d to %s:%d dropped: %s", c->id, cfg->host, cfg->port,
             strerror(-res));
        return -1;
    }
    struct buf *b = &c->out[c->fill ^ 1];
    c->sent_off += (size_t)res;
    if (c->sent_off < b->len) {
        arm_send(w, c);
        return 0;
    }
    b->len = 0;
    c->sending = false;
    flush(w, c);
    return 0;
}

static uint64_t outstanding(const struct worker *w)
{
    uint64_t n = 0;
    for (int i = 0; i < w->nconn; i++)
        n += w->conns[i].fifo_count;
    return n;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->run;
    const struct bench_config *cfg = r->cfg;

    if (cfg->ncpus) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cfg->cpus[w->idx % cfg->ncpus], &set);
        int e = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
        if (e) {
            fail(w, "cannot pin thread %d to CPU %d: %s", w->idx, cfg->cpus[w->idx % cfg->ncpus], strerror(e));
            return NULL;
        }
    }
    /* Timer slack would make every timed wakeup up to 50 us late. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    unsigned entries = 16;
    while (entries < (unsigned)w->nconn * 2 + 8)
        entries *= 2;
    struct io_uring_params p = {
        .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
                 IORING_SETUP_TASKRUN_FLAG,
    };
    int e = io_uring_queue_init_params(entries, &w->ring, &p);
    if (e == -EINVAL) {
        memset(&p, 0, sizeof(p));
        e = io_uring_queue_init_params(entries, &w->ring, &p);
    }
    if (e < 0) {
        fail(w, "io_uring setup failed: %s", strerror(-e));
        return NULL;
    }

    bool open_loop = cfg->rate > 0;
    struct sched sched;
    if (open_loop) {
        /* Each thread carries rate/threads; batches of `pipeline` requests
         * are one schedule entry. Fixed schedules of the threads are
         * staggered so the total stream is evenly spaced. */
        double trate = cfg->rate / cfg->threads / cfg->pipeline;
        uint64_t offset = (uint64_t)(1e9 / (cfg->rate / cfg->pipeline) * w->idx);
        sched_init(&sched, cfg->arrival, trate, r->start + offset, cfg->seed * 7919 + w->idx);
        w->first_due = r->start + offset;
    } else {
        w->first_due = r->start;
    }

    for (int i = 0; i < w->nconn; i++)
        arm_recv(w, &w->conns[i]);
    while (now_ns() < r->start)
        ;
    if (!open_loop)
        for (int i = 0; i < w->nconn && may_issue(w, r->start); i++)
            if (issue(w, &w->conns[i], now_ns()))
                goto out;

    int rr = 0;
    for (;;) {
        uint64_t now = now_ns();
        if (open_loop) {
            while (may_issue(w, now) && sched_peek(&sched) <= now) {
                uint64_t due = sched_next(&sched);
                if (due >= r->send_end) {
                    w->quota = w->issued; /* the schedule is over */
                    break;
                }
                hist_record(&w->lag, now > due ? now - due : 0);
                if (issue(w, &w->conns[rr], due))
                    goto out;
                rr = (rr + 1) % w->nconn;
            }
        }
        bool sending_over = !may_issue(w, now);
        if (sending_over && !outstanding(w))
            break;
        if (atomic_load_explicit(&stop_requested, memory_order_relaxed) ||
            atomic_load_explicit(&r->failed, memory_order_relaxed))
            break;
        if (sending_over && now >= r->send_end + cfg->timeout_ns)
            break; /* drained as long as we wait for anything */
        if (now >= r->hard_end) {
            fail(w, "hard time bound hit: the run took longer than its duration + timeout + 10 s");
            break;
        }

        uint64_t wait = 10000000; /* wake at least every 10 ms to check the bounds */
        if (open_loop && !sending_over) {
            /* Sleep until spin_ns before the next due time, then poll: a
             * wakeup is late by some microseconds, and that lateness would
             * be counted as server latency. */
            uint64_t due = sched_peek(&sched);
            wait = due > now + cfg->spin_ns ? due - now - cfg->spin_ns : 0;
        }
        if (wait == 0) {
            io_uring_submit(&w->ring);
        } else {
            struct __kernel_timespec ts = { .tv_sec = (long long)(wait / 1000000000ull),
                                            .tv_nsec = (long long)(wait % 1000000000ull) };
            struct io_uring_cqe *cqe;
            int rc = io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &ts, NULL);
            if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
                fail(w, "io_uring wait failed: %s", strerror(-rc));
                break;
            }
        }
        now = now_ns();
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        bool bad = false;
        io_uring_for_each_cqe(&w->ring, head, cqe)
        {
            seen++;
            uint64_t ud = io_uring_cqe_get_data64(cqe);
            struct conn *c = &w->conns[(ud >> 1) - (uint64_t)w->conns[0].id];
            int rc = (ud & 1) == OP_RECV ? handle_recv(w, c, cqe->res, now)
                                         : handle_send(w, c, cqe->res);
            if (rc) {
                bad = true;
                break;
            }
        }
        io_uring_cq_advance(&w->ring, seen);
        if (bad)
            break;
    }
out:
    w->unanswered = outstanding(w);
    io_uring_queue_exit(&w->ring);
    return NULL;
}

/* ---- setup ------------------------------------------------------------ */

static int connect_one(const struct bench_config *c, char *err, size_t errlen)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%d", c->port);
    int e = getaddrinfo(c->host, port, &hints, &ai);
    if (e) {
        snprintf(err, errlen, "cannot resolve %s: %s", c->host, gai_strerror(e));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        snprintf(err, errlen, "cannot connect to %s:%d: %s", c->host, c->port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static void run_free(struct run *r)
{
    free(r->set_tpl.storage);
    free(r->get_tpl.storage);
    for (int i = 0; i < r->nraw; i++)
        free(r->raw_tpl[i].storage);
    zipf_table_free(r->zipf);
    free(r->data);
}

static int run_init(struct run *r, const struct bench_config *c, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->cfg = c;
    if (tpl_parse(&r->set_tpl, "SET __key__ __data__") || tpl_parse(&r->get_tpl, "GET __key__")) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (c->command) {
        char *copy = strdup(c->command), *save = NULL;
        if (!copy) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (char *cmd = strtok_r(copy, ";", &save); cmd; cmd = strtok_r(NULL, ";", &save)) {
            if (r->nraw == MAX_SEQ || tpl_parse(&r->raw_tpl[r->nraw++], cmd)) {
                free(copy);
                snprintf(err, errlen, "bad command template (at most %d commands of 32 "
                         "arguments of 8 parts)", MAX_SEQ);
                return -1;
            }
        }
        free(copy);
        if (!r->nraw) {
            snprintf(err, errlen, "empty command template");
            return -1;
        }
    }
    r->data = malloc(c->data_max + 1);
    if (!r->data) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memset(r->data, 'x', c->data_max);
    if (c->key_dist == KEYS_ZIPF) {
        r->zipf = zipf_table_new(c->key_space, c->zipf_s);
        if (!r->zipf) {
            snprintf(err, errlen, "out of memory for the Zipf table of %" PRIu64 " keys",
                     c->key_space);
            return -1;
        }
    }
    return 0;
}

static void progress_line(struct run *r, uint64_t now, uint64_t *last_done, uint64_t *last_t)
{
    const struct bench_config *c = r->cfg;
    uint64_t done = 0, errors = 0;
    for (int i = 0; i < c->threads; i++) {
        done += atomic_load_explicit(&r->workers[i].completed, memory_order_relaxed);
        errors += atomic_load_explicit(&r->workers[i].errors, memory_order_relaxed);
    }
    double dt = (double)(now - *last_t) / 1e9;
    double el = now > r->start ? (double)(now - r->start) / 1e9 : 0;
    char target[32] = "closed loop";
    if (c->rate > 0)
        snprintf(target, sizeof(target), "%.0f/s", c->rate);
    fprintf(stderr, "[%6.1fs] rate %.0f/s (target %s), replies %" PRIu64 ", errors %" PRIu64 "\n",
            el, dt > 0 ? (double)(done - *last_done) / dt : 0, target, done, errors);
    *last_done = done;
    *last_t = now;
}

int bench_run(const struct bench_config *c, struct bench_result *res, char *err, size_t errlen)
{
    struct run r;
    int rc = -1;
    err[0] = '\0';
    memset(res, 0, sizeof(*res));
    hist_init(&res->hist);
    hist_init(&res->lag);
    if (c->clients < c->threads || c->threads < 1 || c->pipeline < 1) {
        snprintf(err, errlen, "need threads >= 1, clients >= threads and pipeline >= 1");
        return -1;
    }
    if (run_init(&r, c, err, errlen)) {
        run_free(&r);
        return -1;
    }
    atomic_store(&stop_requested, false);
    r.workers = calloc((size_t)c->threads, sizeof(struct worker));
    struct conn *conns = calloc((size_t)c->clients, sizeof(struct conn));
    int nconnected = 0;
    if (!r.workers || !conns) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (; nconnected < c->clients; nconnected++) {
        struct conn *cn = &conns[nconnected];
        cn->id = nconnected;
        cn->in_cap = RECV_INIT;
        cn->in = malloc(cn->in_cap);
        cn->fd = cn->in ? connect_one(c, err, errlen) : -1;
        if (cn->fd < 0) {
            free(cn->in);
            goto done;
        }
    }

    /* Threads get contiguous slices of the connections. */
    uint64_t per = c->requests / (uint64_t)c->threads, extra = c->requests % (uint64_t)c->threads;
    int first = 0;
    for (int i = 0; i < c->threads; i++) {
        struct worker *w = &r.workers[i];
        int n = c->clients / c->threads + (i < c->clients % c->threads);
        w->run = &r;
        w->idx = i;
        w->conns = &conns[first];
        w->nconn = n;
        first += n;
        rng_seed(&w->rng, c->seed * 1000003 + (uint64_t)i);
        w->keys = (struct keygen){ .dist = c->key_dist, .space = c->key_space,
                                   .seq_next = (uint64_t)i, .seq_step = (uint64_t)c->threads,
                                   .zipf = r.zipf };
        hist_init(&w->hist);
        hist_init(&w->lag);
        w->quota = c->requests ? per + ((uint64_t)i < extra) : UINT64_MAX;
    }
    uint64_t dur_ns = c->requests ? UINT64_MAX / 4 : (uint64_t)(c->duration * 1e9);
    r.start = now_ns() + 20000000; /* every thread starts on the same tick */
    r.send_end = r.start + dur_ns;
    /* With a request count, --duration is only the bound. */
    r.hard_end = r.start + (uint64_t)(c->duration * 1e9) + c->timeout_ns + HARD_BOUND_SLACK_NS;

    int started = 0;
    for (; started < c->threads; started++)
        if (pthread_create(&r.workers[started].tid, NULL, worker_main, &r.workers[started])) {
            snprintf(err, errlen, "cannot start a thread");
            bench_request_stop();
            break;
        }
    if (c->progress && started == c->threads) {
        uint64_t last_t = r.start, last_done = 0, next = r.start + 1000000000ull;
        for (;;) {
            struct timespec ts = { 0, 50000000 };
            nanosleep(&ts, NULL);
            bool alive = false;
            for (int i = 0; i < c->threads; i++) {
                if (!r.workers[i].joined && pthread_tryjoin_np(r.workers[i].tid, NULL) == 0)
                    r.workers[i].joined = true;
                if (!r.workers[i].joined)
                    alive = true;
            }
            if (!alive)
                break;
            uint64_t now = now_ns();
            if (now >= next) {
                progress_line(&r, now, &last_done, &last_t);
                next += 1000000000ull;
            }
        }
    }
    for (int i = 0; i < started; i++)
        if (!r.workers[i].joined)
            pthread_join(r.workers[i].tid, NULL);

    uint64_t first_due = UINT64_MAX, last_reply = 0;
    for (int i = 0; i < started; i++) {
        struct worker *w = &r.workers[i];
        hist_merge(&res->hist, &w->hist);
        hist_merge(&res->lag, &w->lag);
        res->sent += w->issued;
        res->completed += w->completed;
        res->errors += w->errors;
        res->timeouts += w->timeouts + w->unanswered;
        res->unanswered += w->unanswered;
        res->sets += w->sets;
        res->gets += w->gets;
        if (w->first_due < first_due)
            first_due = w->first_due;
        if (w->last_reply > last_reply)
            last_reply = w->last_reply;
        if (w->err[0] && !err[0])
            snprintf(err, errlen, "%s", w->err);
    }
    res->target_rate = c->rate;
    double span = last_reply > first_due ? (double)(last_reply - first_due) / 1e9 : 0;
    if (!c->requests && span < c->duration)
        span = c->duration;
    res->elapsed = span;
    res->achieved_rate = span > 0 ? (double)res->completed / span : 0;
    rc = atomic_load(&r.failed) || started < c->threads ? -1 : 0;
done:
    for (int i = 0; i < nconnected; i++) {
        close(conns[i].fd);
        free(conns[i].in);
        free(conns[i].out[0].p);
        free(conns[i].out[1].p);
        free(conns[i].fifo);
    }
    free(conns);
    free(r.workers);
    run_free(&r);
    return rc;
}

/* ---- prefill ---------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int bench_prefill(const struct bench_config *c, char *err, size_t errlen)
{
    struct run r;
    if (run_init(&r, c, err, errlen)) {
        run_free(&r);
        return -1;
    }
    int fd = connect_one(c, err, errlen);
    if (fd < 0) {
        run_free(&r);
        return -1;
    }
    struct timeval tv = { .tv_sec = 30 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    uint64_t deadline = now_ns() + 300ull * 1000000000ull;
    struct rng rng;
    rng_seed(&rng, c->seed);
    struct buf out = { 0 };
    size_t in_cap = 1 << 20, in_len = 0;
    char *in = malloc(in_cap);
    int rc = -1;
    if (!in)
        goto out;
    for (uint64_t k = 0; k < c->key_space;) {
        uint64_t batch = 0;
        out.len = 0;
        for (; batch < 1000 && k < c->key_space; batch++, k++) {
            char key[160];
            int klen = snprintf(key, sizeof(key), "%s%012" PRIu64, c->key_prefix, k);
            if (encode(&out, &r.set_tpl, key, (size_t)klen, r.data, pick_data_len(c, &rng)))
                goto out;
        }
        if (write_all(fd, out.p, out.len)) {
            snprintf(err, errlen, "prefill: connection to %s:%d dropped: %s", c->host, c->port,
                     strerror(errno));
            goto out;
        }
        while (batch) {
            ssize_t n = recv(fd, in + in_len, in_cap - in_len, 0);
            if (n <= 0) {
                snprintf(err, errlen, "prefill: connection to %s:%d %s", c->host, c->port,
                         n == 0 ? "closed by the server" : strerror(errno));
                goto out;
            }
            in_len += (size_t)n;
            size_t off = 0;
            long m;
            while (batch && (m = bench_resp_skip(in + off, in_len - off)) > 0) {
                if (in[off] == '-') {
                    snprintf(err, errlen, "prefill: the server replied %.*s", (int)m - 2, in + off);
                    goto out;
                }
                off += (size_t)m;
                batch--;
            }
            memmove(in, in + off, in_len - off);
            in_len -= off;
        }
        if (now_ns() > deadline) {
            snprintf(err, errlen, "prefill: did not finish within 300 s");
            goto out;
        }
    }
    rc = 0;
out:
    free(in);
    free(out.p);
    close(fd);
    run_free(&r);
    return rc;
}
