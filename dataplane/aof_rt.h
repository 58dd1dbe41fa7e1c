/* The append-only file at run time (dataplane/aof.c): capturing writes on
 * the workers, the persistence thread that writes and fsyncs them, the
 * rewrite, and the files' life cycle. The on-disk names and the manifest
 * are store/aof.h's.
 */
#ifndef SLUICE_AOF_RT_H
#define SLUICE_AOF_RT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct worker;
struct client;
struct cmd_ctx;
struct shard;

/* Set while commands are being logged (AOF on, or waiting for its first
 * rewrite). Read with a relaxed load before every command: the only cost
 * of the AOF when it is off. It turns on only at a cut taken with every
 * shard held, so never in the middle of a command. */
extern _Atomic bool aof_capture_on;

static inline bool aof_capturing(void)
{
    return atomic_load_explicit(&aof_capture_on, memory_order_relaxed);
}

/* Records with a sequence number below this are as durable as appendfsync
 * promises (fsynced under always). A client whose write got record seq s
 * waits for aof_durable > s before its replies are sent. */
extern _Atomic uint64_t aof_durable;

/* Once, before the workers start (after shards_init): rings, config hooks. */
int aof_setup(void);
/* After the data was loaded, before serving: start the persistence thread
 * and, with appendonly yes, open the last incr file of the manifest (or
 * write a base of the current dataset and a first incr file). 0 or -1
 * (logged): sluiced then refuses to start, as Redis does. */
int aof_start(void);
/* After every worker stopped (SHUTDOWN, SIGTERM): write and fsync what is
 * pending, close the file, stop the thread. */
void aof_shutdown(void);

/* In the worker's thread, before its loop: records of this thread go to
 * the worker's buffer. */
void aof_worker_bind(struct worker *w);
/* Hand this worker's records to the persistence thread (end of each loop
 * turn, and while a worker waits for shards). Never blocks. */
void aof_worker_flush(struct worker *w);

/* Around a handler run while capturing (run_cmd, the remote path): begin
 * notes the dirty counters of the shards this thread holds; end logs the
 * request when it was a write that changed them and was not propagated
 * otherwise, and closes the command's record. own_only: only the worker's
 * own shard is in play (a command run for another worker). end returns the
 * client's new wait mark (see aof_durable), 0 when its reply needs none. */
struct aof_cmd {
    uint64_t dirty;
    struct worker *w;
    bool own_only;
};
void aof_cmd_begin(struct aof_cmd *a, struct worker *w, bool own_only);
uint64_t aof_cmd_end(struct aof_cmd *a, const struct cmd_ctx *ctx);

/* From worker 0's cron: a scheduled or automatic rewrite, the end of one. */
void aof_cron(struct worker *w);

/* A write must be refused: the errno of the last failed AOF write (then
 * "-MISCONF Errors writing to the AOF file: <strerror>"), or 0. */
int aof_write_errno(void);
/* Every record logged until now is written to the file (for DEBUG
 * LOADAOF). false: the AOF is off, or it did not happen within 10 s. */
bool aof_wait_written(struct worker *w);
/* A rewrite is running (BGSAVE waits for it, as for Redis's AOF child). */
bool aof_rewrite_active(void);

/* INFO persistence: the aof_* lines (and the fork lines between them,
 * in Redis 7.0's order), each ending in CRLF. Returns the length. */
size_t aof_info(char *buf, size_t len);

#endif
