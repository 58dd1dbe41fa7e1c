/* Persistence: RDB snapshots (the append-only file comes later).
 *
 * The format lives in store/rdb.c; this file decides when and where:
 *  - dir: sluiced chdir()s into it at start and on CONFIG SET, as Redis,
 *    and config.dir then holds the absolute path (CONFIG GET dir).
 *  - SAVE, BGSAVE, SHUTDOWN [SAVE], SIGTERM/SIGINT with save rules, the
 *    save rules themselves (persist_cron on worker 0) and DEBUG RELOAD all
 *    end in snapshot(): with every shard held, the dataset is written to
 *    temp-<pid>.rdb, fsynced, renamed over dbfilename, and the directory
 *    fsynced, so a crash leaves either the old file or the new one.
 *  - BGSAVE is, for now, the same snapshot taken in the foreground with
 *    every shard held (serving pauses while it is written). The fork-less
 *    background snapshot needs a copy-before-change hook in the types'
 *    write paths (see the report of the persistence issue); the replies
 *    and INFO fields are already Redis's.
 *  - Loading at start maps dbfilename and hands it to rdb_load_mem with
 *    shard_of_key as the router, before any worker serves: a bad file is
 *    logged with its offset and sluiced refuses to start.
 * Changes since the last save are the shards' dirty counters: a save
 * (holding every shard) zeroes them; the cron reads them without the
 * shards (relaxed loads: a rule firing one tick late is harmless).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "rdb.h"
#include "server.h"

#define BGSAVE_RETRY_DELAY_MS 5000 /* Redis's CONFIG_BGSAVE_RETRY_DELAY */
#define MAX_SAVE_RULES 16

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

void persist_init(void)
{
    cfg_on_change("dir", apply_dir);
    if (!enter_dir())
        exit(1); /* Redis exits too when dir does not exist */
}

/* ---- save rules ---- */

struct save_rule {
    long long secs, changes;
};

static int save_rules(struct save_rule *r, int max)
{
    int n = 0;
    const char *p = config.save ? config.save : "";
    while (n < max) {
        char *end;
        long long a = strtoll(p, &end, 10);
        if (end == p)
            break;
        p = end;
        long long b = strtoll(p, &end, 10);
        if (end == p)
            break;
        p = end;
        r[n++] = (struct save_rule){a, b};
    }
    return n;
}

static uint64_t dirty_total(void)
{
    uint64_t n = 0;
    for (int i = 0; i < server.nworkers; i++)
        n += __atomic_load_n(&server.workers[i].shard->dirty, __ATOMIC_RELAXED);
    return n;
}

/* ---- the snapshot ---- */

static int fsync_dir(void)
{
    int fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

/* Write the shards (every one held by the caller) to dbfilename. 0 or -1
 * (logged). */
static int snapshot(struct shard *const *shards, int n)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "temp-%d.rdb", (int)getpid());
    int64_t start = mstime();
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        char cwd[PATH_MAX];
        log_msg(LL_WARNING,
                "Failed opening the temp RDB file %s (in server root dir %s) for saving: %s",
                tmp, getcwd(cwd, sizeof(cwd)) ? cwd : "unknown", strerror(errno));
        return -1;
    }
    struct rdb_save_opts o = {.compress = config.rdbcompression,
                              .checksum = config.rdbchecksum,
                              .now_ms = start,
                              .used_mem = store_used_memory()};
    int r = rdb_save_fd(fd, shards, n, &o);
    if (r == 0 && fsync(fd) != 0)
        r = -1;
    int saved_errno = errno;
    if (close(fd) != 0 && r == 0) {
        r = -1;
        saved_errno = errno;
    }
    if (r != 0) {
        log_msg(LL_WARNING, "Write error saving DB on disk: %s", strerror(saved_errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, config.dbfilename) != 0) {
        char cwd[PATH_MAX];
        log_msg(LL_WARNING,
                "Error moving temp DB file %s on the final destination %s (in server root "
                "dir %s): %s",
                tmp, config.dbfilename, getcwd(cwd, sizeof(cwd)) ? cwd : "unknown",
                strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (fsync_dir() != 0)
        log_msg(LL_WARNING, "Failed to fsync the directory after saving: %s", strerror(errno));
    log_msg(LL_NOTICE, "DB saved on disk");
    for (int i = 0; i < n; i++)
        shards[i]->dirty = 0;
    server.lastsave = mstime() / 1000;
    atomic_fetch_add(&st.saves, 1);
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

/* A background-style save (BGSAVE, save rules): Redis's log lines and
 * status, the snapshot in the foreground. */
static void background_save(struct shard *const *shards, int n, const char *why)
{
    int64_t t0 = mstime();
    atomic_store(&st.last_try_ms, t0);
    log_msg(LL_NOTICE, "%s", why);
    log_msg(LL_NOTICE,
            "Background saving started (a snapshot taken with every shard held: sluice does "
            "not fork)");
    bool ok = snapshot(shards, n) == 0;
    atomic_store(&st.last_ok, ok);
    atomic_store(&st.last_bg_secs, (long long)((mstime() - t0) / 1000));
    log_msg(ok ? LL_NOTICE : LL_WARNING, ok ? "Background saving terminated with success"
                                            : "Background saving error");
}

void cmd_save(struct cmd_ctx *c)
{
    struct shard *sh[MAX_WORKERS];
    int n = ctx_shards(c, sh);
    if (snapshot(sh, n) != 0)
        return reply_error(c->out, "ERR");
    reply_ok(c->out);
}

void cmd_bgsave(struct cmd_ctx *c)
{
    if (c->argc > 2 || (c->argc == 2 && !arg_is(c, 1, "schedule")))
        return reply_error(c->out, ERR_SYNTAX);
    struct shard *sh[MAX_WORKERS];
    int n = ctx_shards(c, sh);
    background_save(sh, n, "Background save requested by a client");
    reply_simple(c->out, "Background saving started");
}

/* ---- load ---- */

static int load_file(const char *path, struct shard *const *shards, int n, bool at_start)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        log_msg(LL_WARNING, "Fatal error loading the DB (%s): %s. Exiting.", path,
                strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        log_msg(LL_WARNING, "Fatal error loading the DB (%s): %s. Exiting.", path,
                strerror(errno));
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
    char err[512];
    struct rdb_load_stats ls;
    struct rdb_load_opts o = {.route = n > 1 ? shard_of_key : NULL, .now_ms = t0};
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
        shards[i]->dirty = 0;
    return 0;
}

int persist_load_at_start(void)
{
    struct shard *sh[MAX_WORKERS];
    int n = all_shards(sh);
    int r = load_file(config.dbfilename, sh, n, true);
    return r < 0 ? -1 : 0;
}

/* ---- cron, shutdown ---- */

void persist_cron(struct worker *w)
{
    struct save_rule rules[MAX_SAVE_RULES];
    int nr = save_rules(rules, MAX_SAVE_RULES);
    if (!nr)
        return;
    int64_t now = mstime();
    uint64_t dirty = dirty_total();
    bool may = atomic_load(&st.last_ok) ||
               now - atomic_load(&st.last_try_ms) > BGSAVE_RETRY_DELAY_MS;
    for (int i = 0; i < nr && may; i++) {
        if (dirty < (uint64_t)rules[i].changes || !dirty ||
            now / 1000 - server.lastsave <= rules[i].secs) /* Redis: strictly more */
            continue;
        uint64_t all = server.nworkers >= 64 ? ~0ull : (1ull << server.nworkers) - 1;
        if (server.nworkers > 1 && !shards_acquire(w, all))
            return;
        char why[128];
        snprintf(why, sizeof(why), "%lld changes in %lld seconds. Saving...", rules[i].changes,
                 rules[i].secs);
        struct shard *sh[MAX_WORKERS];
        int n = all_shards(sh);
        background_save(sh, n, why);
        if (server.nworkers > 1)
            shards_release(w, all);
        return;
    }
}

bool persist_shutdown(struct cmd_ctx *c, bool save)
{
    struct save_rule rules[1];
    if (!save && save_rules(rules, 1) == 0)
        return true;
    struct shard *sh[MAX_WORKERS];
    int n = ctx_shards(c, sh);
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
    if (save && snapshot(sh, n) != 0)
        return reply_error(c->out, "ERR");
    if (flush)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < sh[i]->ndb; j++)
                db_flush(sh[i], &sh[i]->db[j]);
    int fd_ok = access(config.dbfilename, R_OK);
    char err[512];
    int r = -1;
    if (fd_ok == 0) {
        /* load_file logs; MERGE lets keys already present be replaced. */
        int fd = open(config.dbfilename, O_RDONLY | O_CLOEXEC);
        struct stat sb;
        if (fd >= 0 && fstat(fd, &sb) == 0) {
            size_t len = (size_t)sb.st_size;
            void *map = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
            if (!len || map != MAP_FAILED) {
                struct rdb_load_opts o = {.route = n > 1 ? shard_of_key : NULL,
                                          .now_ms = mstime(),
                                          .allow_dup = merge};
                struct rdb_load_stats ls;
                r = rdb_load_mem(len ? map : (const void *)"", len, sh, n, &o, &ls, err,
                                 sizeof(err));
                if (r != 0)
                    log_msg(LL_WARNING, "Error loading the RDB file %s: %s", config.dbfilename,
                            err);
                if (len)
                    munmap(map, len);
            }
        }
        if (fd >= 0)
            close(fd);
    }
    if (r != 0)
        return reply_error(c->out, "ERR Error trying to load the RDB dump");
    for (int i = 0; i < n; i++)
        sh[i]->dirty = 0;
    log_msg(LL_WARNING, "DB reloaded by DEBUG RELOAD");
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
    int n = snprintf(
        buf, len,
        "loading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\n"
        "current_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\n"
        "current_save_keys_total:0\r\nrdb_changes_since_last_save:%llu\r\n"
        "rdb_bgsave_in_progress:0\r\nrdb_last_save_time:%lld\r\n"
        "rdb_last_bgsave_status:%s\r\nrdb_last_bgsave_time_sec:%lld\r\n"
        "rdb_current_bgsave_time_sec:-1\r\nrdb_saves:%llu\r\nrdb_last_cow_size:0\r\n"
        "rdb_last_load_keys_expired:%llu\r\nrdb_last_load_keys_loaded:%llu\r\n"
        "aof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\n"
        "aof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\n"
        "aof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\n"
        "aof_rewrites_consecutive_failures:0\r\naof_last_write_status:ok\r\n"
        "aof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
        (unsigned long long)dirty_total(), (long long)server.lastsave,
        atomic_load(&st.last_ok) ? "ok" : "err", atomic_load(&st.last_bg_secs),
        (unsigned long long)atomic_load(&st.saves),
        (unsigned long long)atomic_load(&st.expired),
        (unsigned long long)atomic_load(&st.loaded));
    return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

bool persist_writes_refused(void)
{
    /* As Redis's writeCommandsDeniedByDiskError (RDB part): only a failed
     * background save counts, not a failed SAVE. */
    struct save_rule rules[1];
    return config.stop_writes_on_bgsave_error && !atomic_load(&st.last_ok) &&
           save_rules(rules, 1) > 0;
}
