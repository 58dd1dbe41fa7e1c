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

#include "aof_rt.h"
#include "config.h"
#include "resp.h"
#include "ring.h"
#include "store.h"

struct worker;
struct command;
struct cmd_ctx;

#define MAX_WORKERS 64
#define MAX_LISTENERS_PER_WORKER 18 /* 16 bind addresses + Unix socket */

/* Completion tags in io_uring user_data (low 3 bits; pointers are 8-aligned). */
enum { OP_RECV = 1, OP_SEND = 2, OP_ACCEPT = 3, OP_WAKE = 4, OP_BELL = 5 };

/* A message between workers (shards.c). EXEC carries a copied command to
 * the shard's owner and comes back as REPLY with the reply filled in; a
 * REPLY also serves as a client's queued reply slot. LOCK, GRANT and
 * UNLOCK move a shard between its owner and a multi-shard command. */
enum msg_kind { MSG_EXEC, MSG_REPLY, MSG_LOCK, MSG_GRANT, MSG_UNLOCK };

struct msg {
    int kind;
    int from;             /* the worker that sent it */
    struct msg *next;     /* in the client's reply queue */
    struct msg *snext;    /* in a worker's stash (a reply can be in both) */
    struct client *client;
    const struct command *cmd;
    int dbid;
    int argc;
    struct resp_arg *args; /* copied arguments (one allocation) */
    bool done;            /* reply complete (REPLY, or a local slot) */
    uint64_t aof_need;    /* the reply waits for aof_durable >= this (aof.c) */
    struct reply reply;
};

enum { MODE_NORMAL, MODE_COORD, MODE_PARKED };

enum {
    CL_CLOSE_AFTER_REPLY = 1u << 0, /* QUIT, protocol error: flush then close */
    CL_CLOSING = 1u << 1,           /* shut down; freed when no op is in flight */
    CL_PENDING_WRITE = 1u << 2,     /* on the worker's flush list */
    CL_UNIX = 1u << 3,              /* connected over the Unix socket */
    CL_RECV_ARMED = 1u << 4,        /* a multishot recv is outstanding */
    CL_SENDING = 1u << 5,           /* a send is outstanding */
    CL_MULTI = 1u << 6,             /* inside MULTI: commands are queued */
    CL_DIRTY_EXEC = 1u << 7,        /* a queued command was refused: EXEC aborts */
    CL_BLOCKED = 1u << 8,           /* waiting in a blocking command: input paused */
    CL_AWAITING = 1u << 9,          /* shards_await() spins for its replies: not freed */
    CL_AOF_HELD = 1u << 10,         /* output held for an AOF fsync (worker's aof_held) */
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
    _Atomic int dirty_cas; /* set by the store when a watched key changes */
    /* Replies that must wait for an earlier command still running on
     * another shard, in request order (shards.c). */
    struct msg *rq_head, *rq_tail;
    int away; /* commands of this client out on other workers */
    struct blocked *blk; /* set while CL_BLOCKED (blocking.c) */
    int64_t obuf_soft_since; /* ms when replies went above the soft limit, 0 */
    /* appendfsync always: the output is sent only once aof_durable >= this
     * (0: nothing to wait for); held clients are on their worker's list. */
    uint64_t aof_need;
    struct client *next_held;
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
    bool busy;              /* this loop turn had a batch of completions */
    unsigned nclients;
    int64_t next_cron_ms;
    _Atomic int ready;
    bool min_wait_ok; /* the kernel honours min_wait_usec */
    /* shard-per-core (shards.c) */
    int nlisten;                 /* listening sockets this worker accepts on */
    int listen_fds[MAX_LISTENERS_PER_WORKER];
    struct ring **in, **out;     /* in[j]: ring from worker j; out[j]: to j */
    uint64_t bells;              /* peers to wake at the end of this turn */
    struct msg *stash_head, *stash_tail; /* messages waiting for the shard */
    int stash_execs;             /* EXECs among them */
    int mode;
    int lent_to;                 /* worker holding our shard, or -1 */
    bool self_held, want_self;   /* our own multi-shard command holds it */
    uint64_t granted;            /* shards granted to our multi-shard command */
    int lockq[MAX_WORKERS];      /* workers waiting for our shard, FIFO */
    int lockq_head, lockq_len;
    int posting;                 /* inside post(), waiting for ring room */
    int parkfd;                  /* eventfd a waiting worker blocks on */
    _Atomic int blocked;         /* set while blocked on parkfd */
    /* blocked clients (blocking.c), in blocking order */
    struct blocked *blk_head, *blk_tail;
    _Atomic int blk_ready;       /* a waiter of ours was woken */
    int64_t blk_deadline;        /* earliest timeout among them, 0: none */
    _Atomic size_t client_mem;   /* memory of our clients, as of our last cron */
    /* clients whose output waits for an AOF fsync; aof_hold_need is the
     * smallest mark they wait for (0: none), read by the AOF thread */
    struct client *aof_held;
    _Atomic uint64_t aof_hold_need;
};


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
    int unix_listen_fd; /* the Unix socket's listening fd, or -1 */
    _Atomic int started; /* every worker is set up (rings may be used) */
    /* The dataset is being loaded at start (by the main thread, into every
     * shard): workers serve connections but refuse commands with -LOADING
     * and leave their shards alone (no clock tick, no cron) until it ends. */
    _Atomic int loading;
    _Atomic int stop;
    _Atomic int connected_clients;
    _Atomic int blocked_clients;
    _Atomic long long maxmemory_clients; /* bytes; 0: no limit (memory.c) */
    /* client-output-buffer-limit of normal clients: bytes, bytes, seconds */
    _Atomic long long obuf_hard, obuf_soft, obuf_soft_secs;
    _Atomic uint64_t next_client_id;
    int64_t start_ms;
    _Atomic int64_t lastsave; /* written by the snapshot writer thread too */
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
/* An SQE of this worker's ring (submits to make room when full). */
struct io_uring_sqe *worker_sqe(struct worker *w);
/* Put a client's reply slot (a REPLY message) at the end of its queue;
 * client_reply_done marks one complete and flushes the queue's done head. */
void client_queue_slot(struct client *c, struct msg *m);
void client_reply_done(struct msg *m);
/* A blocked client got its reply: send it and go on with the requests
 * that waited in its query buffer. */
void client_unblocked(struct client *c);

/* shards.c */
int shards_init(void);
struct shard *shard_of_key(const void *key, size_t len);
struct msg *msg_new(int kind, struct worker *from);
void msg_free(struct msg *m);
void post(struct worker *w, int to, struct msg *m);
void ring_bells(struct worker *w);
void shards_poll(struct worker *w);
/* Hold every shard of mask (false: the server is stopping; nothing held). */
bool shards_acquire(struct worker *w, uint64_t mask);
/* busy-poll: wait here, serving our rings, for the replies of c's commands
 * out on other shards (bounded), instead of a loop turn later. */
void shards_await(struct worker *w, struct client *c);
void shards_drain(void);
void shards_release(struct worker *w, uint64_t mask);
void shards_send(struct worker *w, struct client *c, int owner, const struct command *cmd,
                 int argc, const struct resp_arg *argv);

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
/* Where a reply made now goes (see dispatch.c); *slot, when set, must be
 * completed with client_reply_done once the reply is written. */
struct reply *reply_target(struct client *c, struct msg **slot);
/* Run a command on this thread with every shard it needs already held
 * (multi-shard: keys resolve to their owners), writing to out. */
void run_held(struct client *c, const struct command *cmd, int argc, const struct resp_arg *argv,
              struct reply *out);
/* Call ctx->cmd's handler on the thread holding its shards: a write's keys
 * go into a running snapshot first, and while the AOF captures, the
 * command's record is closed after it. Returns the reply's AOF wait mark
 * (aof_cmd_end; 0: none). own_only: run for another worker (aof_cmd_begin). */
uint64_t run_handler(struct cmd_ctx *ctx, struct worker *w, bool own_only);
/* run_held for a command that may block (block_ok): true when its handler
 * chose to wait (no reply written), with the timeout in *block_ms. */
bool run_cmd(struct client *c, const struct command *cmd, int argc, const struct resp_arg *argv,
             struct reply *out, bool block_ok, long long *block_ms);
/* Key slot (CRC16 with hash tags) and the worker that owns a slot
 * (dp_slots_init fills the slot table once the worker count is known). */
unsigned dp_keyslot(const char *key, size_t len);
void dp_slots_init(void);
int dp_owner(unsigned slot);
/* The shards a command touches, as a bit mask (0: none). */
uint64_t dp_shard_mask(struct client *c, const struct command *cmd, int argc,
                       const struct resp_arg *argv);
uint64_t multi_shard_mask(struct client *c);

/* blocking.c: blocked clients (BLPOP, BZPOPMIN, ...) */
/* Run a CMD_BLOCKING command for a client; it may leave the client waiting. */
void blocking_run(struct client *c, const struct command *cmd, int argc,
                  const struct resp_arg *argv);
/* Re-run the commands of this worker's blocked clients whose keys were
 * written or whose timeout passed (each loop turn). */
void blocking_poll(struct worker *w);
/* The client goes away while blocked: unregister it. */
void blocking_abort(struct client *c);

/* memory.c: the memory limit across workers, MEMORY */
/* Before a write that may grow memory: false means refuse it with OOM. */
bool mem_admit(struct worker *w);
struct mem_figures {
    size_t used, peak, startup, rss, allocated, active, resident;
    size_t clients, tables, overhead, dataset, keys;
};
/* Needs every shard held (CMD_KEYSPACE): reads every worker's clients. */
void mem_figures(struct mem_figures *f);
void mem_reset_peak(void);
/* From cron: count our clients' memory; over maxmemory-clients, close our
 * biggest client. */
void mem_clients_cron(struct worker *w);
extern size_t mem_startup; /* used memory when the workers started */

/* persist.c: RDB snapshots, loading state (the AOF: aof_rt.h) */
/* Register config hooks (dir, save ...); once, before the workers start. */
void persist_init(void);
/* Load dir/dbfilename (or the AOF) into the shards before serving; 0 or -1
 * (the reason logged): sluiced then refuses to start, as Redis does. */
int persist_load_at_start(void);
/* Loading at start: INFO's loading_* fields follow these (the RDB and the
 * AOF loaders report progress in bytes of their input). */
void persist_loading_start(size_t total_bytes);
/* loaded: bytes of every file so far; the log line (every 64 MB) names
 * what (a file) with done/total of it and count units (keys, commands). */
void persist_loading_progress(size_t loaded, const char *what, size_t done, size_t total,
                              unsigned long long count, const char *unit);
void persist_loading_end(void);
/* aof_load.c: with appendonly yes, load <appenddirname>/ (manifest, base,
 * incr files) into the shards before serving, instead of dbfilename, as
 * Redis 7.0 does; 0, or -1 (the reason logged): sluiced refuses to start. */
int aof_load_at_start(void);
/* From worker 0's cron: save rules (save <seconds> <changes>). */
void persist_cron(struct worker *w);
/* SHUTDOWN [SAVE|NOSAVE]: save when asked or when save rules exist
 * (save: the SAVE flag; NOSAVE was handled by the caller). false: the save
 * failed and the shutdown is refused. Runs with every shard held. */
bool persist_shutdown(struct cmd_ctx *c, bool save);
/* SIGTERM/SIGINT: save as SHUTDOWN without arguments would, from the main
 * thread once the workers have stopped. */
void persist_at_signal_exit(void);
/* DEBUG subcommands of persistence (RELOAD, DIGEST, DIGEST-VALUE): true
 * when it was one of them (and replied). */
bool persist_debug(struct cmd_ctx *c);
/* After the workers stopped: cancel a background save still running. */
void persist_exit(void);
/* SAVE and BGSAVE (rows in cmdtab_persist.inc, CMD_KEYSPACE: every shard
 * held). BGSAVE takes a fork-less snapshot (snapshot.c). */
void cmd_save(struct cmd_ctx *c);
void cmd_bgsave(struct cmd_ctx *c);
/* The body of INFO's "# Persistence" section (Redis 7.0's fields, each
 * line ending in CRLF; the aof_* lines from aof_info, then loading_* while
 * loading) into buf; returns its length. */
size_t persist_info(char *buf, size_t len);
/* stop-writes-on-bgsave-error: true while the last background save failed
 * (and save rules exist): writes get Redis's -MISCONF error. */
bool persist_writes_refused(void);

/* Redis's reply then (reply_error adds the '-'), to write commands and,
 * as Redis does, to PING. */
#define ERR_LOADING "LOADING Redis is loading the dataset in memory"
#define PERSIST_ERR_MISCONF                                                                         \
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist "   \
    "to disk. Commands that may modify the data set are disabled, because this instance is "     \
    "configured to report errors during writes if RDB snapshotting fails "                       \
    "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about the "    \
    "RDB error."

/* snapshot.c: fork-less snapshots (design in its header) */
enum snapshot_kind {
    SNAP_RDB,      /* an RDB 10 file (BGSAVE, the save rules) */
    SNAP_AOF_RDB,  /* an AOF base with the RDB preamble (aux field aof-base 1) */
    SNAP_AOF_CMDS, /* an AOF base in commands (aof-use-rdb-preamble no) */
};
/* Start writing the dataset as it is now (call with every shard held) to
 * tmp_path as a file of that kind. done(ok, arg) runs on the snapshot's
 * writer thread once the file is complete, fsynced and closed (ok), or
 * removed (!ok); the caller renames it. done must not wait for shards.
 * false (errno EBUSY when one is running; else logged): nothing started,
 * done never runs. */
bool snapshot_start(const char *tmp_path, enum snapshot_kind kind,
                    void (*done)(bool ok, void *arg), void *arg);
/* From the cut until done() returned. */
bool snapshot_running(void);
/* Every shard held (or the workers stopped): write what is left now (or,
 * cancel, drop the file: done(false)) and wait for done() to return. */
void snapshot_finish(bool cancel);
/* A worker's turn, its shard at home: one slice of its shard's snapshot.
 * false: the writer is behind (the worker should not spin). */
bool snapshot_slice(struct shard *s);
/* Before a CMD_WRITE command runs (its shards held): write its keys that
 * the snapshot has not written yet. Call only while snapshot_hooked (a
 * relaxed load: it is set at the cut with every shard held, which orders
 * it before any later command; a stale true costs lookups only). */
void snapshot_before_write(struct cmd_ctx *c);
extern _Atomic bool snapshot_hooked;
/* INFO: keys written of the keys at the cut (0, 0 when none runs); bytes
 * in the snapshot's pieces now; their peak during the last snapshot. */
void snapshot_progress(uint64_t *done, uint64_t *total);
size_t snapshot_buffered(void);
size_t snapshot_last_peak(void);

/* multi.c */
/* Queue a command inside MULTI (replies +QUEUED). */
void multi_queue(struct client *c, const struct command *cmd, int argc,
                 const struct resp_arg *argv);
/* Forget the transaction and every watched key (DISCARD, RESET, close). */
void multi_reset(struct client *c);
/* Set on this thread while EXEC runs its queue (Redis's server.in_exec). */
extern _Thread_local int dp_in_exec;

/* server.c: helpers shared with INFO and CLIENT. */
void client_describe(struct client *c, char *buf, size_t len);

#endif
