/* Persistence: RDB snapshots (the append-only file is dataplane/aof.c).
 *
 * The format lives in store/rdb.c; this file decides when and where:
 *  - dir: sluiced chdir()s into it at start and on CONFIG SET, as Redis,
 *    and config.dir then holds the absolute path (CONFIG GET dir).
 *  - SAVE, SHUTDOWN [SAVE], SIGTERM/SIGINT with save rules and DEBUG
 *    RELOAD end in snapshot(): with every shard held, the dataset is
 *    written to temp-<pid>.rdb, fsynced, renamed over dbfilename, and the
 *    directory fsynced, so a crash leaves either the old file or the new.
 *  - BGSAVE and the save rules (persist_cron on worker 0) take a
 *    fork-less snapshot (snapshot.c): the cut is taken with every shard
 *    held, then each worker writes its own shard in slices between
 *    requests while a writer thread streams the file to temp-bg-<pid>.rdb
 *    and fsyncs it; bg_done renames it over dbfilename and fsyncs the
 *    directory. Redis's replies ("already in progress", SCHEDULE) and INFO
 *    fields (rdb_bgsave_in_progress, current_save_keys_processed/total).
 *    SAVE, SHUTDOWN and DEBUG RELOAD stay synchronous, as Redis's SAVE:
 *    SAVE is refused while a background save runs (as Redis), SHUTDOWN
 *    and SIGTERM cancel it (as Redis kills its child), DEBUG RELOAD lets it
 *    finish first.
 *  - Loading at start maps dbfilename and hands it to rdb_load_mem with
 *    shard_of_key as the router, before any worker serves: a bad file is
 *    logged with its offset and sluiced refuses to start.
 * Changes since the last save are the shards' dirty counters (plus what a
 * failed save gave back): a save zeroes them at its cut, with every shard
 * held; the cron reads them without the shards (relaxed loads: a rule
 * firing one tick late is harmless).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aof.h"
#include "commands.h"
#include "rdb.h"
#include "server.h"

#define BGSAVE_RETRY_DELAY_MS 5000 /* Redis's CONFIG_BGSAVE_RETRY_DELAY */
static struct {
    _Atomic bool last_ok;          /* rdb_last_bgsave_status */
    _Atomic int64_t last_try_ms;   /* last automatic/background attempt */
    _Atomic long long last_bg_secs; /* rdb_last_bgsave_time_sec */
    _Atomic uint64_t saves;        /* rdb_saves */
    _Atomic uint64_t loaded, expired; /* of the last load */
} st = {.last_ok = true, .last_bg_secs = -1};

/* ---- dir ---- */

/* chdir into config.dir; config.dir becomes the absolute path. false
 * (logged, config.dir back to the current directory) on failure. */
static bool enter_dir(void)
{
    char cwd[PATH_MAX];
    bool ok = true;
    if (config.dir && config.dir[0] && chdir(config.dir) != 0) {
        log_msg(LL_WARNING, "Can't chdir to '%s': %s", config.dir, strerror(errno));
        ok = false;
    }
    if (getcwd(cwd, sizeof(cwd))) {
        char *dup = strdup(cwd);
        if (dup) {
            free(config.dir);
            config.dir = dup;
        }
    }
    return ok;
}

static void apply_dir(void) { enter_dir(); }

/* ---- save rules and dbfilename ----
 * CONFIG SET frees the old string of an option while other threads may be
 * reading it, so the cron and the savers never read config.save or
 * config.dbfilename: the hooks copy them here, under a lock. */

#define MAX_SAVE_RULES 16

struct save_rule {
    long long secs, changes;
};

static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct save_rule cfg_rules[MAX_SAVE_RULES];
static int cfg_nrules;
static char cfg_dbfilename[256] = "dump.rdb";

static void apply_save(void)
{
    pthread_mutex_lock(&cfg_lock);
    int n = 0;
    const char *p = config.save ? config.save : "";
    while (n < MAX_SAVE_RULES) {
        char *end;
        long long a = strtoll(p, &end, 10);
        if (end == p)
            break;
        p = end;
        long long b = strtoll(p, &end, 10);
        if (end == p)
            break;
        p = end;
        cfg_rules[n++] = (struct save_rule){a, b};
    }
    cfg_nrules = n;
    pthread_mutex_unlock(&cfg_lock);
}

static void apply_dbfilename(void)
{
    pthread_mutex_lock(&cfg_lock);
    snprintf(cfg_dbfilename, sizeof(cfg_dbfilename), "%s",
             config.dbfilename ? config.dbfilename : "dump.rdb");
    pthread_mutex_unlock(&cfg_lock);
}

static int save_rules(struct save_rule *r, int max)
{
    pthread_mutex_lock(&cfg_lock);
    int n = cfg_nrules < max ? cfg_nrules : max;
    memcpy(r, cfg_rules, (size_t)n * sizeof(*r));
    pthread_mutex_unlock(&cfg_lock);
    return n;
}

static void dbfilename(char *out, size_t len)
{
    pthread_mutex_lock(&cfg_lock);
    snprintf(out, len, "%s", cfg_dbfilename);
    pthread_mutex_unlock(&cfg_lock);
}

void persist_init(void)
{
    cfg_on_change("dir", apply_dir);
    cfg_on_change("save", apply_save);
    cfg_on_change("dbfilename", apply_dbfilename);
    apply_save();
    apply_dbfilename();
    if (!enter_dir())
        exit(1); /* Redis exits too when dir does not exist */
}

static _Atomic uint64_t dirty_carry; /* given back by failed saves */

static uint64_t dirty_total(void)
{
    uint64_t n = atomic_load(&dirty_carry);
    for (int i = 0; i < server.nworkers; i++)
        n += shard_dirty(server.workers[i].shard);
    return n;
}

/* ---- the snapshot ---- */

/* A snapshot is written in two phases: the dataset into a temp file while
 * every shard is held (write_temp), then fsync, rename over dbfilename and
 * fsync of the directory (finish_temp), which need no shard: SAVE does both
 * at once, a background save hands the second to a thread, so the shards
 * are only held while the bytes go to the page cache, not while the disk
 * syncs. The changes counted until the cut are taken off the shards' dirty
 * counters at the cut and given back (carry) if the save fails, so the save
 * rules try again as Redis's do. */

/* Absolute paths, taken at the cut: a background finish must not follow a
 * later CONFIG SET dir/dbfilename (Redis's child does not either). */
struct temp_file {
    int fd;
    char dir[PATH_MAX];
    char tmp[PATH_MAX + 64];
    char dest[PATH_MAX + 256];
    int64_t t0;
    uint64_t zeroed;      /* dirty taken off the shards at the cut */
    uint64_t carry_taken; /* dirty_carry included in this snapshot */
};

/* Paths and clock of a save starting now. */
static void temp_paths(struct temp_file *t, const char *prefix)
{
    if (!getcwd(t->dir, sizeof(t->dir)))
        snprintf(t->dir, sizeof(t->dir), ".");
    snprintf(t->tmp, sizeof(t->tmp), "%s/%s-%d.rdb", t->dir, prefix, (int)getpid());
    char name[256];
    dbfilename(name, sizeof(name));
    snprintf(t->dest, sizeof(t->dest), "%s/%s", t->dir, name);
    t->t0 = mstime();
}

/* The changes counted until the cut leave the shards' dirty counters. */
static void take_dirty(struct temp_file *t, struct shard *const *shards, int n)
{
    t->zeroed = 0;
    for (int i = 0; i < n; i++) {
        t->zeroed += shard_dirty(shards[i]);
        shard_dirty_set(shards[i], 0);
    }
    t->carry_taken = atomic_load(&dirty_carry);
}

static bool write_temp(struct temp_file *t, const char *prefix, struct shard *const *shards,
                       int n)
{
    temp_paths(t, prefix);
    t->fd = open(t->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (t->fd < 0) {
        log_msg(LL_WARNING, "Failed opening the temp RDB file %s for saving: %s", t->tmp,
                strerror(errno));
        return false;
    }
    struct rdb_save_opts o = {.compress = config.rdbcompression,
                              .checksum = config.rdbchecksum,
                              .now_ms = t->t0,
                              .used_mem = store_used_memory(),
                              .lru_records = rdb_lru_records_for_policy(),
                              .autosync = config.rdb_save_incremental_fsync};
    if (rdb_save_fd(t->fd, shards, n, &o) != 0) {
        log_msg(LL_WARNING, "Write error saving DB on disk: %s", strerror(errno));
        close(t->fd);
        unlink(t->tmp);
        return false;
    }
    take_dirty(t, shards, n);
    return true;
}

/* The temp file is complete and synced (sync_done: by the snapshot's
 * writer) or still to sync: rename it over dbfilename and sync the
 * directory. A failure gives the changes back to the save rules. */
static bool finish_temp(struct temp_file *t, bool synced, bool ok)
{
    if (ok && !synced) {
        ok = fsync(t->fd) == 0;
        int err = errno;
        if (close(t->fd) != 0 && ok) {
            ok = false;
            err = errno;
        }
        if (!ok)
            log_msg(LL_WARNING, "Write error saving DB on disk: %s", strerror(err));
    }
    if (ok && rename(t->tmp, t->dest) != 0) {
        log_msg(LL_WARNING, "Error moving temp DB file %s on the final destination %s: %s",
                t->tmp, t->dest, strerror(errno));
        ok = false;
    }
    if (!ok) {
        unlink(t->tmp);
        atomic_fetch_add(&dirty_carry, t->zeroed);
        return false;
    }
    if (aof_fsync_dir(t->dir) != 0)
        log_msg(LL_WARNING, "Failed to fsync the directory after saving: %s", strerror(errno));
    atomic_fetch_sub(&dirty_carry, t->carry_taken);
    server.lastsave = mstime() / 1000;
    atomic_fetch_add(&st.saves, 1);
    return true;
}

/* Write the shards (every one held by the caller) to dbfilename, in the
 * foreground. 0 or -1 (logged). */
static int snapshot(struct shard *const *shards, int n)
{
    struct temp_file t;
    if (!write_temp(&t, "temp", shards, n) || !finish_temp(&t, false, true))
        return -1;
    log_msg(LL_NOTICE, "DB saved on disk");
    return 0;
}

/* The shards of a command run with every shard held (CMD_KEYSPACE). */
static int ctx_shards(struct cmd_ctx *c, struct shard **out)
{
    int n = ctx_nshards(c);
    for (int k = 0; k < n; k++)
        out[k] = ctx_shard_at(c, k);
    return n;
}

static int all_shards(struct shard **out)
{
    for (int i = 0; i < server.nworkers; i++)
        out[i] = server.workers[i].shard;
    return server.nworkers;
}

/* ---- background saves ----
 * At most one snapshot runs (snapshot.c); bg_active says it is ours (the
 * AOF rewrite may own it instead). Starting one, SAVE, and waiting for or
 * cancelling one all happen with every shard held (or after the workers
 * stopped), so they never race each other; bg_done runs on the snapshot's
 * writer thread. */
static _Atomic bool bg_active, bg_scheduled, bg_cancelled;
static _Atomic int64_t bg_start_ms;
static struct temp_file bg_file;

static void bg_done(bool ok, void *arg)
{
    struct temp_file *t = arg;
    bool cancelled = atomic_load(&bg_cancelled);
    ok = finish_temp(t, true, ok && !cancelled);
    if (!cancelled) {
        atomic_store(&st.last_ok, ok);
        atomic_store(&st.last_bg_secs, (long long)((mstime() - t->t0) / 1000));
    }
    if (ok)
        log_msg(LL_NOTICE, "DB saved on disk");
    if (ok)
        log_msg(LL_NOTICE, "Background saving terminated with success (%.3f s, peak buffered "
                           "%zu bytes)", (double)(mstime() - t->t0) / 1000, snapshot_last_peak());
    else
        log_msg(LL_WARNING, cancelled ? "Background saving cancelled" : "Background saving error");
    atomic_store(&bg_active, false);
}

/* Wait for the background save in progress, if any, to end (every shard
 * held, or the workers stopped). cancel: drop it instead, as Redis kills
 * its child. */
static void bg_wait(bool cancel)
{
    if (cancel && atomic_load(&bg_active)) {
        log_msg(LL_WARNING, "There is a background save in progress. Cancelling it!");
        atomic_store(&bg_cancelled, true);
    }
    snapshot_finish(cancel);
}

/* Start a background save (every shard held). false: it failed at once
 * (status err, logged). */
static bool background_save(struct shard *const *shards, int n, const char *why)
{
    atomic_store(&st.last_try_ms, mstime());
    atomic_store(&bg_scheduled, false);
    log_msg(LL_NOTICE, "%s", why);
    temp_paths(&bg_file, "temp-bg");
    atomic_store(&bg_cancelled, false);
    atomic_store(&bg_active, true);
    atomic_store(&bg_start_ms, bg_file.t0);
    if (!snapshot_start(bg_file.tmp, SNAP_RDB, bg_done, &bg_file)) {
        atomic_store(&bg_active, false);
        atomic_store(&st.last_ok, false);
        log_msg(LL_WARNING, "Background saving error");
        return false;
    }
    take_dirty(&bg_file, shards, n);
    log_msg(LL_NOTICE, "Background saving started (fork-less: each worker writes its shard "
                       "between requests)");
    return true;
}

void cmd_save(struct cmd_ctx *c)
{
    if (snapshot_running())
        return reply_error(c->out, "ERR Background save already in progress");
    bg_wait(false);
    struct shard *sh[MAX_WORKERS];
    int n = ctx_shards(c, sh);
    if (snapshot(sh, n) != 0)
        return reply_error(c->out, "ERR");
    reply_ok(c->out);
}

/* BGSAVE [SCHEDULE], with Redis's replies. */
void cmd_bgsave(struct cmd_ctx *c)
{
    bool schedule = false;
    if (c->argc > 1) {
        if (c->argc == 2 && arg_is(c, 1, "schedule"))
            schedule = true;
        else
            return reply_error(c->out, ERR_SYNTAX);
    }
    if (atomic_load(&bg_active))
        return reply_error(c->out, "ERR Background save already in progress");
    if (snapshot_running() || aof_rewrite_active() || dp_in_exec) {
        /* Redis: another child (the AOF rewrite's snapshot), or inside EXEC
         * (always scheduled there). */
        if (!schedule && !dp_in_exec)
            return reply_error(c->out, "ERR Another child process is active (AOF?): can't BGSAVE "
                                       "right now. Use BGSAVE SCHEDULE in order to schedule a "
                                       "BGSAVE whenever possible.");
        atomic_store(&bg_scheduled, true);
        return reply_simple(c->out, "Background saving scheduled");
    }
    struct shard *sh[MAX_WORKERS];
    int n = ctx_shards(c, sh);
    if (!background_save(sh, n, "Background save requested by a client"))
        return reply_error(c->out, "ERR");
    reply_simple(c->out, "Background saving started");
}

/* ---- loading state (INFO loading_*) ---- */

static struct {
    _Atomic long long start; /* unix seconds */
    _Atomic size_t total, loaded, logged;
} ld;

void persist_loading_start(size_t total_bytes)
{
    atomic_store(&ld.start, (long long)(mstime() / 1000));
    atomic_store(&ld.total, total_bytes);
    atomic_store(&ld.loaded, 0);
    atomic_store(&ld.logged, 0);
}

#define LOAD_LOG_BYTES (64u << 20)

void persist_loading_progress(size_t loaded, const char *what, size_t done, size_t total,
                              unsigned long long count, const char *unit)
{
    atomic_store(&ld.loaded, loaded);
    if (loaded < atomic_load(&ld.logged) + LOAD_LOG_BYTES)
        return;
    atomic_store(&ld.logged, loaded);
    double el = (double)(mstime() / 1000 - atomic_load(&ld.start));
    double frac = total ? (double)done / (double)total : 1;
    log_msg(LL_NOTICE, "Loading %s: %.0f%% (%llu %s, %.0f s elapsed, about %.0f s left)", what,
            frac * 100, count, unit, el, frac > 0 ? el * (1 - frac) / frac : 0);
}

void persist_loading_end(void)
{
    atomic_store(&server.loading, 0);
}

static void load_progress(void *arg, size_t done, size_t total, uint64_t keys)
{
    persist_loading_progress(done, (const char *)arg, done, total, keys, "keys");
}

/* Load an RDB file into the shards (every one held, or not serving yet):
 * 0, 1 when there is no such file, -1 (logged). allow_dup: keys already
 * present are replaced (DEBUG RELOAD MERGE). */
static int load_file(const char *path, struct shard *const *shards, int n, bool at_start,
                     bool allow_dup)
{
    const char *exiting = at_start ? " Exiting." : "";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        log_msg(LL_WARNING, "Fatal error loading the DB (%s): %s.%s", path, strerror(errno),
                exiting);
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        log_msg(LL_WARNING, "Fatal error loading the DB (%s): %s.%s", path, strerror(errno),
                exiting);
        close(fd);
        return -1;
    }
    size_t len = (size_t)sb.st_size;
    const unsigned char *buf = (const unsigned char *)"";
    void *map = NULL;
    if (len) {
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            log_msg(LL_WARNING, "Fatal error loading the DB (%s): mmap: %s", path,
                    strerror(errno));
            close(fd);
            return -1;
        }
        madvise(map, len, MADV_SEQUENTIAL);
        buf = map;
    }
    close(fd);
    int64_t t0 = mstime();
    persist_loading_start(len);
    char err[512];
    struct rdb_load_stats ls;
    struct rdb_load_opts o = {.route = n > 1 ? shard_of_key : NULL, .now_ms = t0,
                              .progress = load_progress, .progress_arg = (void *)path,
                              .key_load_delay_us = at_start ? config.key_load_delay : 0,
                              .allow_dup = allow_dup};
    int r = rdb_load_mem(buf, len, shards, n, &o, &ls, err, sizeof(err));
    if (map)
        munmap(map, len);
    if (r != 0) {
        log_msg(LL_WARNING, "Error loading the RDB file %s: %s", path, err);
        if (at_start)
            log_msg(LL_WARNING, "Fatal error loading the DB, check server logs. Exiting.");
        return -1;
    }
    if (ls.redis_ver[0])
        log_msg(LL_NOTICE, "Loading RDB produced by version %s", ls.redis_ver);
    if (ls.functions_skipped)
        log_msg(LL_WARNING, "RDB file has %llu function libraries: skipped (no functions in sluice)",
                (unsigned long long)ls.functions_skipped);
    if (ls.empty)
        log_msg(LL_WARNING, "Done loading RDB, empty keys skipped: %llu",
                (unsigned long long)ls.empty);
    log_msg(LL_NOTICE, "Done loading RDB, keys loaded: %llu, keys expired: %llu.",
            (unsigned long long)ls.keys, (unsigned long long)ls.expired);
    log_msg(LL_NOTICE, "DB loaded from disk: %.3f seconds", (double)(mstime() - t0) / 1000);
    atomic_store(&st.loaded, ls.keys);
    atomic_store(&st.expired, ls.expired);
    for (int i = 0; i < n; i++)
        shard_dirty_set(shards[i], 0);
    return 0;
}

int persist_load_at_start(void)
{
    struct shard *sh[MAX_WORKERS];
    int n = all_shards(sh);
    /* The shards' clocks are read while loading (access times, and LFU
     * counters and idle times restored from the file): no worker has
     * ticked them yet. */
    for (int i = 0; i < n; i++)
        shard_tick(sh[i], mstime());
    int r = load_file(config.dbfilename, sh, n, true, false);
    return r < 0 ? -1 : 0;
}

/* ---- cron, shutdown ---- */

/* Hold every shard from cron and start a background save. */
static void cron_save(struct worker *w, const char *why)
{
    uint64_t all = server.nworkers >= 64 ? ~0ull : (1ull << server.nworkers) - 1;
    if (server.nworkers > 1 && !shards_acquire(w, all))
        return;
    struct shard *sh[MAX_WORKERS];
    int n = all_shards(sh);
    if (!snapshot_running())
        background_save(sh, n, why);
    if (server.nworkers > 1)
        shards_release(w, all);
}

void persist_cron(struct worker *w)
{
    if (atomic_load(&bg_active) || snapshot_running() || aof_rewrite_active())
        return;
    int64_t now = mstime();
    bool may = atomic_load(&st.last_ok) ||
               now - atomic_load(&st.last_try_ms) > BGSAVE_RETRY_DELAY_MS;
    if (atomic_load(&bg_scheduled) && may)
        return cron_save(w, "Starting the scheduled background save");
    struct save_rule rules[MAX_SAVE_RULES];
    int nr = save_rules(rules, MAX_SAVE_RULES);
    uint64_t dirty = dirty_total();
    for (int i = 0; i < nr && may; i++) {
        if (dirty < (uint64_t)rules[i].changes || !dirty ||
            now / 1000 - server.lastsave <= rules[i].secs) /* Redis: strictly more */
            continue;
        char why[128];
        snprintf(why, sizeof(why), "%lld changes in %lld seconds. Saving...", rules[i].changes,
                 rules[i].secs);
        return cron_save(w, why);
    }
}

bool persist_shutdown(struct cmd_ctx *c, bool save)
{
    struct save_rule rules[1];
    if (!save && save_rules(rules, 1) == 0)
        return true;
    struct shard *sh[MAX_WORKERS];
    int n = ctx_shards(c, sh);
    bg_wait(true); /* Redis kills its child */
    log_msg(LL_NOTICE, "Saving the final RDB snapshot before exiting.");
    if (snapshot(sh, n) != 0) {
        log_msg(LL_WARNING, "Error trying to save the DB, can't exit.");
        return false;
    }
    return true;
}

void persist_at_signal_exit(void)
{
    struct save_rule rules[1];
    bg_wait(true);
    if (save_rules(rules, 1) == 0)
        return;
    struct shard *sh[MAX_WORKERS];
    int n = all_shards(sh);
    log_msg(LL_NOTICE, "Saving the final RDB snapshot before exiting.");
    if (snapshot(sh, n) != 0)
        log_msg(LL_WARNING, "Error trying to save the DB, can't exit.");
}

/* ---- DEBUG RELOAD / DIGEST / DIGEST-VALUE ---- */

static void reply_digest(struct cmd_ctx *c, const unsigned char d[20])
{
    char hex[41];
    for (int i = 0; i < 20; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    reply_simple(c->out, hex);
}

static void debug_reload(struct cmd_ctx *c, struct shard *const *sh, int n)
{
    bool flush = true, save = true, merge = false;
    for (int j = 2; j < c->argc; j++) {
        if (arg_is(c, j, "merge"))
            merge = true;
        else if (arg_is(c, j, "noflush"))
            flush = false;
        else if (arg_is(c, j, "nosave"))
            save = false;
        else
            return reply_error(c->out,
                               "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE "
                               "options.");
    }
    bg_wait(false);
    if (save && snapshot(sh, n) != 0)
        return reply_error(c->out, "ERR");
    if (flush)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < sh[i]->ndb; j++)
                db_flush(sh[i], &sh[i]->db[j]);
    char name[256];
    dbfilename(name, sizeof(name));
    if (load_file(name, sh, n, false, merge) != 0)
        return reply_error(c->out, "ERR Error trying to load the RDB dump");
    log_msg(LL_WARNING, "DB reloaded by DEBUG RELOAD");
    reply_ok(c->out);
}

/* As Redis: write out what the AOF has pending, empty the dataset and load
 * it back from the AOF directory alone (every shard held). */
static void debug_loadaof(struct cmd_ctx *c, struct shard *const *sh, int n)
{
    if (config.appendonly && !aof_wait_written(c->client ? c->client->w : NULL))
        return reply_error(c->out, "ERR the append only file could not be written out");
    bg_wait(false);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < sh[i]->ndb; j++)
            db_flush(sh[i], &sh[i]->db[j]);
    if (aof_load_at_start() != 0) {
        /* Redis exits here: the dataset is gone and the files are bad. */
        log_msg(LL_WARNING, "DEBUG LOADAOF: the append only file could not be loaded. Exiting.");
        exit(1);
    }
    for (int i = 0; i < n; i++)
        shard_dirty_set(sh[i], 0);
    log_msg(LL_NOTICE, "Append Only File loaded by DEBUG LOADAOF");
    reply_ok(c->out);
}

static void debug_digest_value(struct cmd_ctx *c, struct shard *const *sh, int n)
{
    reply_array(c->out, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        unsigned char d[20] = {0};
        struct shard *s = n > 1 ? shard_of_key(c->argv[j].ptr, c->argv[j].len) : sh[0];
        /* No expiry on the way, as Redis's dictFind: a debug command sees
         * logically expired keys too. */
        struct entry **ref = dict_find_ref(&s->db[c->dbid].keys, c->argv[j].ptr, c->argv[j].len);
        if (ref)
            rdb_digest_value(*ref, d);
        reply_digest(c, d);
    }
}

bool persist_debug(struct cmd_ctx *c)
{
    int which;
    if (arg_is(c, 1, "reload"))
        which = 0;
    else if (arg_is(c, 1, "digest") && c->argc == 2)
        which = 1;
    else if (arg_is(c, 1, "digest-value"))
        which = 2;
    else if (arg_is(c, 1, "loadaof") && c->argc == 2)
        which = 3;
    else
        return false;
    /* DEBUG's row names no keys, so nothing is held for it (ctx.all lists
     * the shards either way): take the ones this worker does not hold yet
     * (inside EXEC some may be), and give back only those. */
    struct shard *sh[MAX_WORKERS];
    int n = all_shards(sh);
    struct worker *w = c->client ? c->client->w : NULL;
    uint64_t missing = 0, prev_granted = 0;
    if (server.nworkers > 1 && w) {
        uint64_t all = server.nworkers >= 64 ? ~0ull : (1ull << server.nworkers) - 1;
        uint64_t held = w->granted | (w->self_held ? 1ull << w->id : 0);
        missing = all & ~held;
        prev_granted = w->granted;
        if (missing && !shards_acquire(w, missing)) {
            reply_error(c->out, "ERR the server is shutting down");
            return true;
        }
    }
    if (which == 0) {
        debug_reload(c, sh, n);
    } else if (which == 3) {
        debug_loadaof(c, sh, n);
    } else if (which == 1) {
        unsigned char d[20];
        rdb_digest_dataset(sh, n, d);
        reply_digest(c, d);
    } else {
        debug_digest_value(c, sh, n);
    }
    if (missing) {
        shards_release(w, missing);
        w->granted = prev_granted;
    }
    return true;
}

/* ---- INFO persistence ---- */

size_t persist_info(char *buf, size_t len)
{
    int active = atomic_load(&bg_active);
    long long current = active ? (long long)((mstime() - atomic_load(&bg_start_ms)) / 1000) : -1;
    int loading = atomic_load(&server.loading);
    uint64_t kdone, ktotal;
    snapshot_progress(&kdone, &ktotal);
    /* rdb_incremental_syncs is sluice's own: 4 MB writeouts started by
     * incremental fsync (snapshots, AOF bases, SAVE) since start. */
    int n = snprintf(
        buf, len,
        "loading:%d\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\n"
        "current_cow_size_age:0\r\ncurrent_fork_perc:%.2f\r\ncurrent_save_keys_processed:%llu\r\n"
        "current_save_keys_total:%llu\r\nrdb_changes_since_last_save:%llu\r\n"
        "rdb_bgsave_in_progress:%d\r\nrdb_last_save_time:%lld\r\n"
        "rdb_last_bgsave_status:%s\r\nrdb_last_bgsave_time_sec:%lld\r\n"
        "rdb_current_bgsave_time_sec:%lld\r\nrdb_saves:%llu\r\nrdb_last_cow_size:%zu\r\n"
        "rdb_last_load_keys_expired:%llu\r\nrdb_last_load_keys_loaded:%llu\r\n"
        "rdb_incremental_syncs:%llu\r\n",
        loading, ktotal ? 100.0 * (double)kdone / (double)ktotal : 0.0,
        (unsigned long long)kdone, (unsigned long long)ktotal,
        (unsigned long long)dirty_total(), active, (long long)server.lastsave,
        atomic_load(&st.last_ok) ? "ok" : "err", atomic_load(&st.last_bg_secs), current,
        (unsigned long long)atomic_load(&st.saves), snapshot_last_peak(),
        (unsigned long long)atomic_load(&st.expired),
        (unsigned long long)atomic_load(&st.loaded),
        (unsigned long long)atomic_load(&rdb_autosyncs));
    if (n < 0)
        return 0;
    if ((size_t)n >= len)
        return len - 1;
    n += (int)aof_info(buf + n, len - (size_t)n);
    if (loading && (size_t)n < len) {
        /* As Redis: the ETA scales the elapsed time by the bytes left. */
        size_t total = atomic_load(&ld.total), done = atomic_load(&ld.loaded);
        long long start = atomic_load(&ld.start), elapsed = mstime() / 1000 - start;
        size_t left = total > done ? total - done : 0;
        long long eta = elapsed ? (long long)((double)elapsed * (double)left / (double)(done + 1)) : 1;
        int m = snprintf(buf + n, len - (size_t)n,
                         "loading_start_time:%lld\r\nloading_total_bytes:%zu\r\n"
                         "loading_rdb_used_mem:0\r\nloading_loaded_bytes:%zu\r\n"
                         "loading_loaded_perc:%.2f\r\nloading_eta_seconds:%lld\r\n",
                         start, total, done, total ? 100.0 * (double)done / (double)total : 0,
                         eta);
        n = m < 0 ? n : n + m;
    }
    return (size_t)n >= len ? len - 1 : (size_t)n;
}

void persist_exit(void)
{
    bg_wait(true);
}

bool persist_writes_refused(void)
{
    /* As Redis's writeCommandsDeniedByDiskError (RDB part): only a failed
     * background save counts, not a failed SAVE. */
    struct save_rule rules[1];
    return config.stop_writes_on_bgsave_error && !atomic_load(&st.last_ok) &&
           save_rules(rules, 1) > 0;
}
