/* Snapshots without fork: the RDB file of BGSAVE, the save rules and the
 * AOF rewrite's base, written while the workers keep serving.
 *
 * The cut. snapshot_start() runs with every shard held, so it is one
 * moment on all shards. It flips store_snap_parity and gives every shard
 * that has keys a struct snap_shard (s->snap); from then on a key entry
 * whose ENTRY_SNAP bit differs from the parity holds its value as of the
 * cut and is "not yet written". The store gives every entry it puts into a
 * key table the new parity (store.h, "snapshot hooks"), so nothing written
 * after the cut is taken for part of it and the cut needs no pass over the
 * keys: it costs O(shards + databases).
 *
 * Slices. Each worker, once per loop turn while its shard is at home and
 * after the turn's replies were submitted, scans its shard's databases in
 * dict_scan order (safe across incremental rehash and resize: every entry
 * present for the whole scan is visited; dict_scan_many prefetches a batch
 * of buckets and entries, which makes the scan as fast as SAVE's linear
 * walk) for at most SLICE_US, serializes the entries not yet written into
 * the shard's current piece and marks them written. An idle worker does
 * not sleep while its shard has a snapshot, so an idle server writes at
 * full speed, and a busy one adds at most one slice to a request's wait.
 *
 * Before a change. A not-yet-written entry is written (and marked) before
 * it changes: the dataplane calls snapshot_before_write() before every
 * CMD_WRITE command (dispatch.c run_cmd, which MULTI/EXEC and the blocking
 * commands go through, and shards.c for commands run on a remote owner)
 * for each key it names, in the command's db, on whatever thread holds the
 * key's shard: the pieces belong to the shard, not to a worker. The store
 * itself calls the hooks before it unlinks, replaces or re-expires a
 * not-yet-written entry (DEL, UNLINK and lazy free, RENAME, MOVE and COPY
 * into another db, eviction, lazy and active expiry: an expired key is
 * written too, the loader drops it), and before FLUSHDB/FLUSHALL drop a db
 * (that db's scan on that shard is finished first, synchronously, waiting
 * for the writer when its queue is full). So what a command names is
 * covered by the first hook and what the store does on its own by the
 * second; a change in place that neither sees would be a command whose
 * keys its table row does not name.
 *
 * The file. Pieces of about PIECE_BYTES go, in the order they fill, to the
 * writer thread (nice 19: on a CPU shared with a worker it runs when the
 * worker waits), which writes them to the temp file, keeps the CRC64 over
 * the bytes in file order, and when every shard is done writes EOF and the
 * checksum, fsyncs and closes the file and calls done(ok, arg) (on the
 * writer thread; the caller renames). With rdb-save-incremental-fsync (an
 * RDB) or aof-rewrite-incremental-fsync (an AOF base) on, it also has every
 * 4 MB written out as it goes (rdb_autosync_wrote, as Redis's autosync). The stream is: magic and AUX fields,
 * SELECTDB + RESIZEDB of every non-empty db with its size at the cut, then
 * pieces, each starting with SELECTDB of its first key's db (and again
 * wherever the db changes inside it). redis-server 7.0, redis-check-rdb and
 * our loader take repeated SELECTDB and RESIZEDB.
 *
 * Kinds of file (enum snapshot_kind): an RDB (BGSAVE, the save rules), an
 * AOF base with the RDB preamble (the same, aux field aof-base 1), or an
 * AOF base in commands (aof-use-rdb-preamble no: Redis 7.0's rewrite
 * format, store/aof_rewrite.c: an optional "#TS:" line, then per piece
 * SELECT and each key's commands; no EOF, no checksum). Only the
 * serializer (struct format) differs: cut, slices, hooks and writer are
 * shared.
 *
 * Backpressure. Bytes queued for the writer are bounded by QUEUE_MAX: above
 * it the slices pause (the worker then waits up to a millisecond per turn)
 * and the synchronous paths wait; the hooks of single keys never wait and
 * are never skipped. The extra memory of a snapshot is therefore about
 * QUEUE_MAX + one piece per shard + what hooks add while the writer lags
 * (INFO rdb_last_cow_size reports the peak, as the nearest Redis field:
 * the memory a snapshot cost beyond the dataset). The pieces are not
 * counted against maxmemory (as Redis does not count its buffers).
 *
 * Failure. If a write fails (or the snapshot is cancelled), the workers go
 * on scanning and marking without serializing, so when the snapshot ends
 * every entry has the parity again and the next cut starts right.
 *
 * FLUSHDB/FLUSHALL during a snapshot therefore pause for the rest of the
 * flushed dbs' serialization, and the file still holds the cut (Redis 7.0
 * kills its child instead).
 *
 * Limits: one snapshot at a time (one parity bit). One big value (a list
 * of millions of elements) is serialized in one go, in a slice or a hook:
 * a pause of its size, not of the dataset's. IDLE/FREQ records are taken
 * when the key is written, not at the cut.
 *
 * Threading: s->snap and a shard's piece are touched only by the thread
 * holding the shard; the queue, its counters and the writer's state are
 * under sn.lock; sn.running/failed/hooked are atomics read without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "aof.h"
#include "commands.h"
#include "rdb.h"
#include "server.h"

#define PIECE_BYTES (256u << 10) /* a piece goes to the writer at this size */
#define QUEUE_MAX (4u << 20)     /* bytes queued to the writer before slices pause */
#define SLICE_US 250             /* one slice of a worker's turn */
#define CHECK_EVERY 32           /* entries between clock reads in a slice */
#define WRITER_NICE 19

/* What a kind of file holds: the cut, the scan, the hooks and the writer
 * are the same for every kind, only the bytes differ. */
struct format {
    bool rdb; /* RESIZEDB in the header, EOF and the CRC64 at the end */
    void (*header)(struct rdb_piece *p, const struct rdb_save_opts *o);
    void (*select)(struct rdb_piece *p, int dbid);
    void (*key)(struct rdb_piece *p, const struct shard *s, struct entry *e,
                const struct rdb_save_opts *o);
};

struct piece {
    struct piece *next;
    struct rdb_piece p;
    uint64_t keys;
};

/* A shard's part of the running snapshot: a scan cursor per db. */
struct snap_shard {
    struct piece *cur; /* being filled */
    int curdb;         /* db of the last SELECTDB in cur, -1 none */
    int ndb;
    int db;            /* lowest db whose scan is not finished */
    uint64_t *cursor;  /* [ndb] */
    bool *done;        /* [ndb] */
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work; /* to the writer: a piece is queued, or the last shard is done */
    pthread_cond_t room; /* to producers: the queue went below QUEUE_MAX */
    struct piece *head, *tail;
    size_t queued;     /* bytes (allocated) in the queue */
    int shards_left;   /* shards with s->snap */
    int fd;
    char path[PATH_MAX + 64];
    void (*done)(bool ok, void *arg);
    void *arg;
    const struct format *fmt;
    bool timestamps; /* commands: a "#TS:" line first (aof-timestamp-enabled) */
    bool autosync;   /* incremental sync: rdb-save-/aof-rewrite-incremental-fsync */
    struct rdb_autosync as;
    struct rdb_save_opts opts;
    pthread_t thread;
    bool joinable;
    int64_t t0;
    _Atomic bool running; /* from the cut until done() returned */
    _Atomic bool failed;  /* write error or cancelled: only mark from now on */
    _Atomic size_t held;  /* bytes in pieces (queued or being filled) */
    _Atomic size_t peak;  /* of held, this snapshot */
    _Atomic size_t last_peak;
    _Atomic uint64_t keys_done, keys_total;
} sn = {.lock = PTHREAD_MUTEX_INITIALIZER,
        .work = PTHREAD_COND_INITIALIZER,
        .room = PTHREAD_COND_INITIALIZER,
        .fd = -1};

_Atomic bool snapshot_hooked;

static void cmds_header(struct rdb_piece *p, const struct rdb_save_opts *o)
{
    if (sn.timestamps)
        aof_piece_timestamp(p, o->now_ms / 1000);
}

static void cmds_key(struct rdb_piece *p, const struct shard *s, struct entry *e,
                     const struct rdb_save_opts *o)
{
    (void)s;
    (void)o;
    aof_piece_key(p, e);
}

static const struct format formats[] = {
    [SNAP_RDB] = {true, rdb_piece_header, rdb_piece_selectdb, rdb_piece_key},
    [SNAP_AOF_RDB] = {true, rdb_piece_header, rdb_piece_selectdb, rdb_piece_key},
    [SNAP_AOF_CMDS] = {false, cmds_header, aof_piece_select, cmds_key},
};

static void held_add(size_t n)
{
    size_t now = atomic_fetch_add_explicit(&sn.held, n, memory_order_relaxed) + n;
    size_t p = atomic_load_explicit(&sn.peak, memory_order_relaxed);
    while (now > p &&
           !atomic_compare_exchange_weak_explicit(&sn.peak, &p, now, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

static void held_sub(size_t n)
{
    atomic_fetch_sub_explicit(&sn.held, n, memory_order_relaxed);
}

static struct piece *piece_new(void)
{
    struct piece *pc = calloc(1, sizeof(*pc));
    if (!pc)
        abort();
    pc->p.cap = PIECE_BYTES + PIECE_BYTES / 4; /* most keys fit without a realloc */
    pc->p.buf = malloc(pc->p.cap);
    if (!pc->p.buf)
        abort();
    held_add(pc->p.cap);
    return pc;
}

static void piece_free(struct piece *pc)
{
    held_sub(pc->p.cap);
    free(pc->p.buf);
    free(pc);
}

/* Append a piece to the writer's queue (sn.lock held). */
static void enqueue_locked(struct piece *pc)
{
    pc->next = NULL;
    if (sn.tail)
        sn.tail->next = pc;
    else
        sn.head = pc;
    sn.tail = pc;
    sn.queued += pc->p.cap;
}

/* Queue a piece for the writer (any thread). */
static void enqueue(struct piece *pc)
{
    pthread_mutex_lock(&sn.lock);
    enqueue_locked(pc);
    pthread_cond_signal(&sn.work);
    pthread_mutex_unlock(&sn.lock);
}

static bool queue_full(void)
{
    pthread_mutex_lock(&sn.lock);
    bool full = sn.queued > QUEUE_MAX;
    pthread_mutex_unlock(&sn.lock);
    return full;
}

/* Wait until the writer took the queue below QUEUE_MAX (or failed). */
static void wait_room(void)
{
    pthread_mutex_lock(&sn.lock);
    while (sn.queued > QUEUE_MAX && !atomic_load(&sn.failed))
        pthread_cond_wait(&sn.room, &sn.lock);
    pthread_mutex_unlock(&sn.lock);
}

static inline void mark(struct entry *e)
{
    e->flags = (uint8_t)((e->flags & ~ENTRY_SNAP) | store_snap_parity);
}

/* Write a not-yet-written entry of db dbid into its shard's piece and mark
 * it (only mark once the snapshot failed). */
static void write_entry(struct shard *s, int dbid, struct entry *e)
{
    struct snap_shard *ss = s->snap;
    if (!atomic_load_explicit(&sn.failed, memory_order_relaxed)) {
        if (!ss->cur) {
            ss->cur = piece_new();
            ss->curdb = -1;
        }
        struct piece *pc = ss->cur;
        size_t cap = pc->p.cap;
        if (ss->curdb != dbid) {
            sn.fmt->select(&pc->p, dbid);
            ss->curdb = dbid;
        }
        sn.fmt->key(&pc->p, s, e, &sn.opts);
        pc->keys++;
        if (pc->p.cap != cap)
            held_add(pc->p.cap - cap);
        if (pc->p.len >= PIECE_BYTES) {
            enqueue(pc);
            ss->cur = NULL;
        }
    }
    mark(e);
}

static void hook_entry(struct shard *s, int dbid, struct entry *e)
{
    write_entry(s, dbid, e);
}

/* ---- scanning ---- */

struct visit {
    struct shard *s;
    int dbid;
    unsigned seen;
};

static void visit(void *arg, struct entry *e)
{
    struct visit *v = arg;
    v->seen++;
    if (entry_snap_pending(v->s, e))
        write_entry(v->s, v->dbid, e);
}

/* Every db of the shard is scanned: hand over the last piece and let the
 * writer know. The shard's hooks are off from here. */
static void shard_done(struct shard *s)
{
    struct snap_shard *ss = s->snap;
    struct piece *last = ss->cur;
    free(ss);
    s->snap = NULL;
    pthread_mutex_lock(&sn.lock);
    if (last)
        enqueue_locked(last);
    if (--sn.shards_left == 0)
        atomic_store(&snapshot_hooked, false);
    pthread_cond_signal(&sn.work);
    pthread_mutex_unlock(&sn.lock);
}

/* A few dict_scan steps of db j; true when that db is finished. */
#define SCAN_BUCKETS 32

static bool scan_step(struct shard *s, int j, unsigned *seen)
{
    struct snap_shard *ss = s->snap;
    struct visit v = {s, j, 0};
    ss->cursor[j] = dict_scan_many(&s->db[j].keys, ss->cursor[j], SCAN_BUCKETS, visit, &v);
    *seen += v.seen + SCAN_BUCKETS / 4;
    if (ss->cursor[j] == 0)
        ss->done[j] = true;
    return ss->done[j];
}

static void advance_db(struct shard *s)
{
    struct snap_shard *ss = s->snap;
    while (ss->db < ss->ndb && ss->done[ss->db])
        ss->db++;
    if (ss->db == ss->ndb)
        shard_done(s);
}

/* Finish db j of the shard now (FLUSHDB/FLUSHALL, finishing or cancelling
 * a snapshot): waits for the writer when its queue is full. */
static void finish_db(struct shard *s, int j)
{
    unsigned seen = 0, steps = 0;
    while (!s->snap->done[j]) {
        if (steps++ % 64 == 0 && !atomic_load(&sn.failed))
            wait_room();
        scan_step(s, j, &seen);
    }
}

static void hook_db(struct shard *s, int dbid)
{
    finish_db(s, dbid);
    advance_db(s);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

bool snapshot_slice(struct shard *s)
{
    if (!s->snap)
        return true;
    if (!atomic_load_explicit(&sn.failed, memory_order_relaxed) && queue_full())
        return false;
    uint64_t until = now_us() + SLICE_US;
    unsigned seen = 0, next_check = CHECK_EVERY;
    while (s->snap) {
        struct snap_shard *ss = s->snap;
        if (scan_step(s, ss->db, &seen))
            advance_db(s);
        if (seen >= next_check) {
            if (now_us() >= until)
                break;
            next_check = seen + CHECK_EVERY;
        }
    }
    return true;
}

/* ---- before a write command ---- */

void snapshot_before_write(struct cmd_ctx *c)
{
    int small[16], *idx = small;
    int max = c->argc;
    if (max > 16) {
        idx = malloc((size_t)max * sizeof(int));
        if (!idx)
            abort();
    }
    int n = cmd_key_args(c->cmd, c->argc, c->argv, idx, max);
    for (int i = 0; i < n; i++) {
        struct shard *s = arg_shard(c, idx[i]);
        if (!s->snap)
            continue;
        const struct resp_arg *k = &c->argv[idx[i]];
        struct entry **ref = dict_find_ref(&s->db[c->dbid].keys, k->ptr, k->len);
        if (ref && entry_snap_pending(s, *ref))
            write_entry(s, c->dbid, *ref);
    }
    if (idx != small)
        free(idx);
}

/* ---- the writer ---- */

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? errno : EIO;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static void *writer_main(void *arg)
{
    (void)arg;
    /* Below the workers: on a CPU it shares with one, it runs when that
     * worker waits (the queue bound makes the worker wait when the writer
     * falls behind), instead of taking CFS slices of milliseconds while
     * requests wait. */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WRITER_NICE);
    store_mem_register_thread();
    uint64_t crc = 0;
    int err = 0;
    for (;;) {
        pthread_mutex_lock(&sn.lock);
        while (!sn.head && sn.shards_left > 0)
            pthread_cond_wait(&sn.work, &sn.lock);
        struct piece *pc = sn.head;
        if (pc) {
            sn.head = pc->next;
            if (!sn.head)
                sn.tail = NULL;
        }
        pthread_mutex_unlock(&sn.lock);
        if (!pc)
            break;
        if (!err && !atomic_load(&sn.failed)) {
            if (sn.fmt->rdb)
                crc = rdb_crc64(crc, pc->p.buf, pc->p.len);
            err = write_all(sn.fd, pc->p.buf, pc->p.len);
            if (!err && sn.autosync)
                err = rdb_autosync_wrote(sn.fd, &sn.as, pc->p.len);
            if (err) {
                log_msg(LL_WARNING, "Write error saving DB on disk: %s", strerror(err));
                atomic_store(&sn.failed, true);
            }
        }
        atomic_fetch_add_explicit(&sn.keys_done, pc->keys, memory_order_relaxed);
        pthread_mutex_lock(&sn.lock);
        sn.queued -= pc->p.cap;
        pthread_cond_broadcast(&sn.room);
        pthread_mutex_unlock(&sn.lock);
        piece_free(pc);
    }
    bool ok = !atomic_load(&sn.failed);
    if (ok) {
        if (sn.fmt->rdb) {
            struct rdb_piece t = {0};
            rdb_piece_eof(&t, crc, sn.opts.checksum);
            err = write_all(sn.fd, t.buf, t.len);
            free(t.buf);
        }
        if (!err && fsync(sn.fd) != 0)
            err = errno;
        if (err) {
            log_msg(LL_WARNING, "Write error saving DB on disk: %s", strerror(err));
            ok = false;
        }
    }
    if (close(sn.fd) != 0 && ok) {
        log_msg(LL_WARNING, "Write error saving DB on disk: %s", strerror(errno));
        ok = false;
    }
    sn.fd = -1;
    if (!ok)
        unlink(sn.path);
    atomic_store(&sn.last_peak, atomic_load(&sn.peak));
    sn.done(ok, sn.arg);
    atomic_store(&sn.running, false);
    store_mem_unregister_thread();
    return NULL;
}

/* ---- start, finish ---- */

static void join_writer(void)
{
    if (sn.joinable) {
        pthread_join(sn.thread, NULL);
        sn.joinable = false;
    }
}

bool snapshot_start(const char *tmp_path, enum snapshot_kind kind,
                    void (*done)(bool ok, void *arg), void *arg)
{
    if (atomic_load(&sn.running)) {
        errno = EBUSY;
        return false;
    }
    join_writer();
    snprintf(sn.path, sizeof(sn.path), "%s", tmp_path);
    sn.fd = open(sn.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (sn.fd < 0) {
        log_msg(LL_WARNING, "Failed opening the temp RDB file %s for saving: %s", sn.path,
                strerror(errno));
        return false;
    }
    sn.t0 = mstime();
    sn.opts = (struct rdb_save_opts){.compress = config.rdbcompression,
                                     .checksum = config.rdbchecksum,
                                     .now_ms = sn.t0,
                                     .used_mem = store_used_memory(),
                                     .lru_records = rdb_lru_records_for_policy(),
                                     .aof_base = kind != SNAP_RDB};
    sn.fmt = &formats[kind];
    sn.timestamps = kind == SNAP_AOF_CMDS && config.aof_timestamp_enabled;
    sn.autosync = kind == SNAP_RDB ? config.rdb_save_incremental_fsync
                                   : config.aof_rewrite_incremental_fsync;
    sn.as = (struct rdb_autosync){0};
    sn.done = done;
    sn.arg = arg;
    atomic_store(&sn.failed, false);
    atomic_store(&sn.peak, atomic_load(&sn.held));
    atomic_store(&sn.keys_done, 0);

    /* The header, with every non-empty db's size at the cut (RDB). */
    struct piece *hdr = piece_new();
    sn.fmt->header(&hdr->p, &sn.opts);
    int ndb = server.workers[0].shard->ndb;
    uint64_t total = 0;
    for (int j = 0; j < ndb; j++) {
        uint64_t keys = 0, expires = 0;
        for (int i = 0; i < server.nworkers; i++) {
            keys += dict_size(&server.workers[i].shard->db[j].keys);
            expires += server.workers[i].shard->db[j].volatile_keys;
        }
        if (!keys)
            continue;
        if (sn.fmt->rdb) {
            rdb_piece_selectdb(&hdr->p, j);
            rdb_piece_resizedb(&hdr->p, keys, expires);
        }
        total += keys;
    }
    atomic_store(&sn.keys_total, total);

    /* The cut. */
    store_snap_parity ^= ENTRY_SNAP;
    int left = 0;
    for (int i = 0; i < server.nworkers; i++) {
        struct shard *s = server.workers[i].shard;
        size_t sz = sizeof(struct snap_shard) + (size_t)s->ndb * (sizeof(uint64_t) + 1);
        struct snap_shard *ss = calloc(1, sz);
        if (!ss)
            abort();
        ss->ndb = s->ndb;
        ss->curdb = -1;
        ss->cursor = (uint64_t *)(ss + 1);
        ss->done = (bool *)(ss->cursor + s->ndb);
        bool any = false;
        for (int j = 0; j < s->ndb; j++) {
            ss->done[j] = dict_size(&s->db[j].keys) == 0;
            any |= !ss->done[j];
        }
        if (!any) {
            free(ss);
            continue;
        }
        while (ss->done[ss->db])
            ss->db++;
        s->snap = ss;
        left++;
    }
    store_snap_hooks.entry = hook_entry;
    store_snap_hooks.db = hook_db;
    sn.shards_left = left;
    sn.head = sn.tail = NULL;
    sn.queued = 0;
    atomic_store(&sn.running, true);
    atomic_store(&snapshot_hooked, left > 0);
    enqueue(hdr);
    if (pthread_create(&sn.thread, NULL, writer_main, NULL) != 0) {
        /* Nothing changed since the cut (every shard is held): undo it. */
        log_msg(LL_WARNING, "Can't start the snapshot writer thread: %s", strerror(errno));
        for (int i = 0; i < server.nworkers; i++) {
            free(server.workers[i].shard->snap);
            server.workers[i].shard->snap = NULL;
        }
        store_snap_parity ^= ENTRY_SNAP;
        atomic_store(&snapshot_hooked, false);
        sn.head = sn.tail = NULL;
        sn.queued = 0;
        piece_free(hdr);
        close(sn.fd);
        sn.fd = -1;
        unlink(sn.path);
        atomic_store(&sn.running, false);
        return false;
    }
    sn.joinable = true;
    return true;
}

bool snapshot_running(void)
{
    return atomic_load(&sn.running);
}

void snapshot_finish(bool cancel)
{
    if (atomic_load(&sn.running)) {
        if (cancel)
            atomic_store(&sn.failed, true);
        for (int i = 0; i < server.nworkers; i++) {
            struct shard *s = server.workers[i].shard;
            while (s->snap) {
                finish_db(s, s->snap->db);
                advance_db(s);
            }
        }
    }
    join_writer();
}

void snapshot_progress(uint64_t *done, uint64_t *total)
{
    bool on = atomic_load(&sn.running);
    *done = on ? atomic_load(&sn.keys_done) : 0;
    *total = on ? atomic_load(&sn.keys_total) : 0;
}

size_t snapshot_buffered(void)
{
    return atomic_load_explicit(&sn.held, memory_order_relaxed);
}

size_t snapshot_last_peak(void)
{
    return atomic_load(&sn.last_peak);
}
