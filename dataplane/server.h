/* sluiced's dataplane: the process-wide server state, worker threads and
 * client connections.
 *
 * Threading story (keep this true):
 * - The main thread parses config, binds the listening sockets, starts the
 *   workers and then only waits for a stop request (signal or SHUTDOWN).
 * - Each worker thread owns one io_uring, one store shard and the clients it
 *   accepted. Nothing of a worker is touched by another thread, except its
 *   doorbell eventfd (written to wake it) and the stop flag.
 * - struct server holds what every thread may read: config-derived values,
 *   start time, and counters that workers add to with relaxed atomics.
 */
#ifndef SLUICE_SERVER_H
#define SLUICE_SERVER_H

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "resp.h"
#include "store.h"

struct worker;

enum {
    CL_CLOSE_AFTER_REPLY = 1u << 0, /* QUIT, protocol error: flush then close */
    CL_CLOSING = 1u << 1,           /* shut down; freed when no op is in flight */
    CL_PENDING_WRITE = 1u << 2,     /* on the worker's flush list */
    CL_UNIX = 1u << 3,              /* connected over the Unix socket */
    CL_RECV_ARMED = 1u << 4,        /* a multishot recv is outstanding */
    CL_SENDING = 1u << 5,           /* a send is outstanding */
    CL_MULTI = 1u << 6,             /* inside MULTI: commands are queued */
    CL_DIRTY_EXEC = 1u << 7,        /* a queued command was refused: EXEC aborts */
};

/* A command queued by MULTI, with its arguments copied (one allocation). */
struct queued_cmd {
    const struct command *cmd;
    int argc;
    struct resp_arg *argv;
};

/* A key this client WATCHes. */
struct watched_key {
    int dbid;
    bool expired_at_watch; /* logically expired already when watched */
    size_t klen;
    char *key;
};

/* One client connection. Owned by its worker; freed by it. */
struct client {
    uint64_t id;
    int fd;
    uint32_t flags;
    struct worker *w;
    int dbid;
    struct resp_parser parser;
    char *qbuf; /* unparsed bytes kept between reads (NULL when none) */
    size_t qlen, qcap;
    struct reply reply; /* replies not yet sent; reply.proto is 2 or 3 */
    size_t inflight;    /* bytes handed to the kernel by the current send */
    struct client *next_pending;
    struct client *prev, *next; /* the worker's client list */
    char *name;
    int64_t ctime_ms, last_ms;
    const struct command *lastcmd;
    uint64_t net_in, net_out;
    /* MULTI/EXEC/WATCH (multi.c) */
    struct queued_cmd *mq;
    int mq_len, mq_cap;
    struct watched_key *watched;
    int nwatched, watched_cap;
    int dirty_cas; /* set by the store when a watched key changes */
};

/* One dataplane worker: a thread, its ring, its shard, its clients. */
struct worker {
    int id;
    int cpu; /* -1 when unpinned */
    pthread_t thread;
    struct io_uring ring;
    struct io_uring_buf_ring *br;
    char *bufs;
    int doorbell; /* eventfd: other threads wake us through it */
    uint64_t doorbell_val;
    struct shard *shard;
    struct client *clients;
    struct client *pending; /* clients with replies to send */
    unsigned nclients;
    int64_t next_cron_ms;
    _Atomic int ready;
    bool min_wait_ok; /* the kernel honours min_wait_usec */
};

#define MAX_LISTENERS 17

struct server_stats {
    _Atomic uint64_t connections_received;
    _Atomic uint64_t commands_processed;
    _Atomic uint64_t rejected_connections;
    _Atomic uint64_t net_input_bytes;
    _Atomic uint64_t net_output_bytes;
    _Atomic uint64_t protocol_errors;
};

struct server {
    int nworkers;
    struct worker *workers;
    int listen_fds[MAX_LISTENERS];
    int nlisten;
    int unix_fd; /* index into listen_fds of the Unix socket, or -1 */
    _Atomic int stop;
    _Atomic int connected_clients;
    _Atomic uint64_t next_client_id;
    int64_t start_ms;
    int64_t lastsave;
    char run_id[41];
    char executable[1024];
    char config_file[1024];
    struct server_stats stats;
    int64_t stat_reset_ms;
};

extern struct server server;

/* log.c */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int log_open(void);

/* worker.c */
/* Thread entry: set up the worker (ring, buffers, shard) and run its loop.
 * Sets w->ready to 1 once serving, or -1 if set-up failed. */
void *worker_main(void *arg);
void worker_wake(struct worker *w);
/* Mark a client for close; its memory is freed once no op is in flight. */
void client_close(struct client *c, const char *why);
int64_t mstime(void);
int64_t ustime(void);

/* dispatch.c: run one parsed request for a client. */
void dispatch(struct client *c, int argc, const struct resp_arg *argv);
/* Run a looked-up, arity-checked command now, on the shard that owns it. */
void execute(struct client *c, const struct command *cmd, int argc, const struct resp_arg *argv);

/* multi.c */
/* Queue a command inside MULTI (replies +QUEUED). */
void multi_queue(struct client *c, const struct command *cmd, int argc,
                 const struct resp_arg *argv);
/* Forget the transaction and every watched key (DISCARD, RESET, close). */
void multi_reset(struct client *c);

/* server.c: helpers shared with INFO and CLIENT. */
void client_describe(struct client *c, char *buf, size_t len);

#endif
