/* Loading the append-only file at start (appendonly yes), as Redis 7.0's
 * loadAppendOnlyFiles does, with its log lines:
 *  - the manifest <appenddirname>/<appendfilename>.manifest names a base
 *    file and incr files; every one must exist (a missing one is fatal);
 *    a pre-7.0 single <appendfilename> in dir with no AOF directory (or an
 *    empty manifest) is moved into the directory as the base first;
 *  - the base is an RDB (it starts with "REDIS": loaded by rdb_load_mem,
 *    then any commands after it) or commands; then the incr files in
 *    manifest order. dump.rdb is not read when appendonly is on.
 *  - commands run through the command table as a client's would, with every
 *    shard at hand (the workers do not serve yet), no client, no blocking,
 *    SELECT taken here; their replies are dropped (errors are counted and
 *    logged once), commands that only read or act on a connection are
 *    skipped (they change no data);
 *  - nothing counts as expired while loading (Redis's keyIsExpired says no
 *    while loading): the shards' expiry clock is held at 0, so a PEXPIREAT
 *    already past stores its time instead of deleting the key, and a later
 *    command extending it finds the key as Redis does; keys past their time
 *    expire once serving starts. Relative times (EXPIRE, SET EX) would count
 *    from 0, but neither Redis 7.0 nor sluice writes them to the AOF;
 *  - the propagation hooks are off meanwhile: loading writes nothing back;
 *  - a truncated last file is cut at its last whole command when
 *    aof-load-truncated is yes (the file is truncated on disk, as Redis
 *    does), refused otherwise; a truncated file that is not the last, a
 *    format error, an unknown command or an unreadable file stop the start
 *    (exit code 1). Unlike Redis, a file that is not the last is never cut.
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

#include "aof.h"
#include "commands.h"
#include "rdb.h"
#include "server.h"

enum load_ret { LOAD_OK, LOAD_TRUNCATED, LOAD_EMPTY, LOAD_FAILED };

struct loader {
    struct shard *sh[MAX_WORKERS];
    int n;
    int dbid;
    const char *file; /* being loaded, for the log */
    unsigned long long errors, skipped, commands;
    char first_error[256];
    size_t before; /* bytes of the files loaded before this one */
};

static const char *aof_dir(void)
{
    return config.appenddirname && config.appenddirname[0] ? config.appenddirname
                                                             : "appendonlydir";
}

static const char *aof_name(void)
{
    return config.appendfilename && config.appendfilename[0] ? config.appendfilename
                                                               : "appendonly.aof";
}

/* The command row of a request, subcommand resolved; NULL: unknown (as
 * Redis's lookupCommand: a container with an unknown subcommand too). */
static const struct command *lookup(int argc, const struct resp_arg *argv)
{
    const struct command *cmd = cmd_lookup(argv[0].ptr, argv[0].len);
    if (cmd && cmd->subs && argc >= 2)
        cmd = cmd_lookup_sub(cmd, argv[1].ptr, argv[1].len);
    return cmd;
}

static int check_cmd(void *arg, int argc, const struct resp_arg *argv)
{
    struct loader *l = arg;
    if (lookup(argc, argv))
        return 0;
    log_msg(LL_WARNING, "Unknown command '%.*s' reading the append only file %s",
            (int)(argv[0].len > 128 ? 128 : argv[0].len), argv[0].ptr, l->file);
    return -1;
}

static bool arity_ok(const struct command *cmd, int argc)
{
    return cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

static void count_error(struct loader *l, const char *text, size_t len)
{
    if (!l->errors++)
        snprintf(l->first_error, sizeof(l->first_error), "%.*s", (int)(len > 200 ? 200 : len),
                 text);
}

static int apply_cmd(void *arg, int argc, const struct resp_arg *argv)
{
    struct loader *l = arg;
    const struct command *cmd = lookup(argc, argv);
    if (!cmd)
        return -1; /* check_cmd saw it first */
    l->commands++;
    if (!arity_ok(cmd, argc)) {
        char msg[160];
        int n = snprintf(msg, sizeof(msg), "ERR wrong number of arguments for '%s' command",
                         cmd_fullname(cmd));
        count_error(l, msg, (size_t)n);
        return 0;
    }
    if (cmd->fn == cmd_select) {
        long long id;
        if (!resp_parse_ll(argv[1].ptr, argv[1].len, &id) || id < 0 || id >= config.databases) {
            count_error(l, "ERR DB index is out of range", 28);
            return 0;
        }
        l->dbid = (int)id;
        return 0;
    }
    /* Only writes change data; the others may need a connection. */
    if (!(cmd->flags & CMD_WRITE)) {
        l->skipped++;
        return 0;
    }
    struct shard *s = l->sh[0];
    int first;
    if (l->n > 1 && cmd_key_args(cmd, argc, argv, &first, 1))
        s = shard_of_key(argv[first].ptr, argv[first].len);
    struct reply out;
    reply_init_small(&out, 2);
    struct cmd_ctx ctx = {
        .shard = s,
        .db = &s->db[l->dbid],
        .dbid = l->dbid,
        .argc = argc,
        .argv = argv,
        .out = &out,
        .client = NULL,
        .cmd = cmd,
        .block_ok = false,
    };
    if (l->n > 1) {
        ctx.key_shard = shard_of_key;
        ctx.all = l->sh;
        ctx.nall = l->n;
    }
    cmd->fn(&ctx);
    struct reply_chunk *c = out.head;
    if (c && c->len > c->off && c->data[c->off] == '-') {
        size_t len = c->len - c->off;
        const char *p = c->data + c->off + 1;
        const char *cr = memchr(p, '\r', len - 1);
        count_error(l, p, cr ? (size_t)(cr - p) : len - 1);
    }
    reply_free(&out);
    return 0;
}

static void aof_progress(void *arg, size_t done, size_t total)
{
    struct loader *l = arg;
    persist_loading_progress(l->before + done, l->file, done, total, l->commands, "commands");
}

static void rdb_progress(void *arg, size_t done, size_t total, uint64_t keys)
{
    struct loader *l = arg;
    persist_loading_progress(l->before + done, l->file, done, total, keys, "keys");
}

static void log_unexpected_eof(const char *name)
{
    log_msg(LL_WARNING,
            "Unexpected end of file reading the append only file %s. You can: 1) Make a backup "
            "of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) "
            "Alternatively you can set the 'aof-load-truncated' configuration option to yes and "
            "restart the server.",
            name);
}

/* loadSingleAppendOnlyFile: one file of the AOF directory. */
static enum load_ret load_one(struct loader *l, const char *name, bool last_file)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", aof_dir(), name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            log_msg(LL_WARNING, "The append log file %s doesn't exist: %s", name,
                    strerror(errno));
        else
            log_msg(LL_WARNING, "Fatal error: can't open the append log file %s for reading: %s",
                    name, strerror(errno));
        return LOAD_FAILED;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        log_msg(LL_WARNING, "Fatal error: can't open the append log file %s for reading: %s",
                name, strerror(errno));
        close(fd);
        return LOAD_FAILED;
    }
    if (sb.st_size == 0) {
        close(fd);
        return LOAD_EMPTY;
    }
    size_t len = (size_t)sb.st_size;
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        log_msg(LL_WARNING, "Unrecoverable error reading the append only file %s: %s", name,
                strerror(errno));
        return LOAD_FAILED;
    }
    madvise(map, len, MADV_SEQUENTIAL);
    const char *buf = map;
    l->file = name;
    l->dbid = 0;
    size_t start = 0;
    enum load_ret ret = LOAD_OK;

    if (aof_has_rdb_preamble(buf, len)) {
        bool old_style = !strcmp(name, aof_name());
        log_msg(LL_NOTICE, old_style ? "Reading RDB preamble from AOF file..."
                                     : "Reading RDB base file on AOF loading...");
        char err[512];
        struct rdb_load_stats ls;
        /* As Redis loads an AOF preamble: keys already expired load too. */
        struct rdb_load_opts o = {.route = l->n > 1 ? shard_of_key : NULL,
                                  .now_ms = INT64_MIN,
                                  .key_load_delay_us = config.key_load_delay,
                                  .progress = rdb_progress,
                                  .progress_arg = l};
        if (rdb_load_mem((const unsigned char *)buf, len, l->sh, l->n, &o, &ls, err,
                         sizeof(err)) != 0) {
            if (old_style)
                log_msg(LL_WARNING,
                        "Error reading the RDB preamble of the AOF file %s, AOF loading aborted",
                        name);
            else
                log_msg(LL_WARNING, "Error reading the RDB base file %s, AOF loading aborted",
                        name);
            log_msg(LL_WARNING, "%s: %s", name, err);
            munmap(map, len);
            return LOAD_FAILED;
        }
        if (ls.functions_skipped)
            log_msg(LL_WARNING,
                    "RDB of %s has %llu function libraries: skipped (no functions in sluice)",
                    name, (unsigned long long)ls.functions_skipped);
        log_msg(LL_NOTICE, "Done loading RDB of %s, keys loaded: %llu.", name,
                (unsigned long long)ls.keys);
        start = ls.bytes;
        if (old_style)
            log_msg(LL_NOTICE, "Reading the remaining AOF tail...");
    }

    struct aof_parse_ops ops = {.check = check_cmd, .apply = apply_cmd,
                                .progress = aof_progress, .arg = l};
    struct aof_parse_result r;
    aof_parse_commands(buf, len, start, &ops, &r);
    munmap(map, len);

    switch (r.status) {
    case AOF_PARSE_OK:
        break;
    case AOF_PARSE_STOPPED: /* an unknown command, logged */
        log_msg(LL_WARNING, "The command is at offset %zu of %s", r.error_off, name);
        ret = LOAD_FAILED;
        break;
    case AOF_PARSE_BAD_FORMAT:
        log_msg(LL_WARNING,
                "Bad file format reading the append only file %s: make a backup of your AOF "
                "file, then use ./redis-check-aof --fix <filename.manifest>",
                name);
        log_msg(LL_WARNING, "The bad format is at offset %zu of %s (last whole command ends at %zu)",
                r.error_off, name, r.valid_up_to);
        ret = LOAD_FAILED;
        break;
    case AOF_PARSE_TRUNCATED:
        if (r.multi_reverted)
            log_msg(LL_WARNING, "Revert incomplete MULTI/EXEC transaction in AOF file %s", name);
        if (!last_file) {
            log_msg(LL_WARNING,
                    "!!! Warning: short read while loading the AOF file %s!!! (the last whole "
                    "command ends at offset %zu; the file is left as it is)",
                    name, r.valid_up_to);
            return LOAD_TRUNCATED;
        }
        if (config.aof_load_truncated) {
            log_msg(LL_WARNING, "!!! Warning: short read while loading the AOF file %s!!!", name);
            log_msg(LL_WARNING, "!!! Truncating the AOF %s at offset %llu !!!", name,
                    (unsigned long long)r.valid_up_to);
            int fd = open(path, O_WRONLY | O_CLOEXEC);
            /* fsynced: commands appended later must not follow a torn tail
             * that comes back after a power cut. */
            if (fd < 0 || ftruncate(fd, (off_t)r.valid_up_to) == -1 || fsync(fd) == -1) {
                log_msg(LL_WARNING, "Error truncating the AOF file %s: %s", name,
                        strerror(errno));
                if (fd >= 0)
                    close(fd);
            } else {
                close(fd);
                log_msg(LL_WARNING, "AOF %s loaded anyway because aof-load-truncated is enabled",
                        name);
                ret = LOAD_TRUNCATED;
                break;
            }
        }
        log_unexpected_eof(name);
        log_msg(LL_WARNING, "The last whole command of %s ends at offset %zu", name,
                r.valid_up_to);
        ret = LOAD_FAILED;
        break;
    }
    return ret;
}

static bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && !S_ISDIR(sb.st_mode);
}

static bool dir_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* aofUpgradePrepare: a pre-7.0 AOF (one file in dir) becomes the base of
 * the directory: the manifest first, then the file moved in, so a crash in
 * between leaves a state this runs again on. */
static int upgrade(struct aof_manifest *m)
{
    if (mkdir(aof_dir(), 0755) != 0 && errno != EEXIST) {
        log_msg(LL_WARNING, "Can't open or create append-only dir %s: %s", aof_dir(),
                strerror(errno));
        return -1;
    }
    aof_manifest_free(m);
    m->base = malloc(sizeof(*m->base));
    char *name = strdup(aof_name());
    if (!m->base || !name)
        abort();
    *m->base = (struct aof_file_info){.name = name, .seq = 1, .type = AOF_FILE_BASE};
    m->curr_base_seq = 1;
    if (aof_manifest_persist(aof_dir(), aof_name(), m) != 0) {
        log_msg(LL_WARNING, "Can't persist the AOF manifest in %s: %s", aof_dir(),
                strerror(errno));
        return -1;
    }
    char dest[PATH_MAX];
    snprintf(dest, sizeof(dest), "%s/%s", aof_dir(), aof_name());
    if (rename(aof_name(), dest) == -1) {
        log_msg(LL_WARNING, "Error trying to move the old AOF file %s into dir %s: %s",
                aof_name(), aof_dir(), strerror(errno));
        return -1;
    }
    log_msg(LL_NOTICE,
            "Successfully migrated an old-style AOF file (%s) into the AOF directory (%s).",
            aof_name(), aof_dir());
    return 0;
}

/* The manifest's files in load order (base first), total bytes; -1 when one
 * is missing (logged). */
static int files_size(const struct aof_manifest *m, off_t *total)
{
    *total = 0;
    for (size_t i = 0; i <= m->nincr; i++) {
        const struct aof_file_info *fi = i == 0 ? m->base : &m->incr[i - 1];
        if (!fi)
            continue;
        char path[PATH_MAX];
        struct stat sb;
        snprintf(path, sizeof(path), "%s/%s", aof_dir(), fi->name);
        if (stat(path, &sb) == -1) {
            log_msg(LL_WARNING, "Unable to obtain the AOF file %s length. stat: %s", fi->name,
                    strerror(errno));
            return -1;
        }
        *total += sb.st_size;
    }
    return 0;
}

static int load_files(struct loader *l, const struct aof_manifest *m)
{
    size_t total_num = (m->base ? 1 : 0) + m->nincr, num = 0;
    for (size_t i = 0; i <= m->nincr; i++) {
        const struct aof_file_info *fi = i == 0 ? m->base : &m->incr[i - 1];
        if (!fi)
            continue;
        bool last = ++num == total_num;
        int64_t t0 = ustime();
        char path[PATH_MAX];
        struct stat sb;
        snprintf(path, sizeof(path), "%s/%s", aof_dir(), fi->name);
        enum load_ret r = load_one(l, fi->name, last);
        if (stat(path, &sb) == 0)
            l->before += (size_t)sb.st_size;
        if (r == LOAD_OK || (r == LOAD_TRUNCATED && last))
            log_msg(LL_NOTICE, "DB loaded from %s file %s: %.3f seconds",
                    i == 0 ? "base" : "incr", fi->name, (double)(ustime() - t0) / 1e6);
        if (r == LOAD_TRUNCATED && !last) {
            log_msg(LL_WARNING, "Fatal error: the truncated file is not the last file");
            r = LOAD_FAILED;
        }
        if (r == LOAD_FAILED)
            return -1;
    }
    return 0;
}

int aof_load_at_start(void)
{
    struct aof_manifest m;
    char err[512];
    int rc = aof_manifest_load(aof_dir(), aof_name(), &m, err, sizeof(err));
    if (rc < 0) {
        log_msg(LL_WARNING, "*** FATAL AOF MANIFEST FILE ERROR ***");
        log_msg(LL_WARNING, "%s/%s.manifest: %s", aof_dir(), aof_name(), err);
        return -1;
    }
    /* Upgrade from a single pre-7.0 file: no directory, a manifest naming
     * nothing, or one naming that file as the base when it is not there. */
    if (file_exists(aof_name())) {
        char inside[PATH_MAX];
        snprintf(inside, sizeof(inside), "%s/%s", aof_dir(), aof_name());
        if (!dir_exists(aof_dir()) || (!m.base && !m.nincr) ||
            (m.base && !m.nincr && !strcmp(m.base->name, aof_name()) && !file_exists(inside))) {
            if (upgrade(&m) != 0) {
                aof_manifest_free(&m);
                return -1;
            }
        }
    }
    if (!m.base && !m.nincr) {
        aof_manifest_free(&m);
        return 0; /* no AOF yet: start empty */
    }
    off_t total;
    if (files_size(&m, &total) != 0) {
        aof_manifest_free(&m);
        return -1;
    }
    int64_t t0 = ustime();
    int ret = 0;
    if (total > 0) {
        persist_loading_start((size_t)total);
        struct loader l = {.n = 0};
        for (int i = 0; i < server.nworkers; i++)
            l.sh[l.n++] = server.workers[i].shard;
        /* Nothing expires while loading, nothing is propagated. */
        struct cmd_prop_hooks hooks = cmd_prop_hooks;
        memset(&cmd_prop_hooks, 0, sizeof(cmd_prop_hooks));
        for (int i = 0; i < l.n; i++) {
            shard_tick(l.sh[i], mstime());
            l.sh[i]->now_ms = 0;
        }
        ret = load_files(&l, &m);
        for (int i = 0; i < l.n; i++) {
            shard_tick(l.sh[i], mstime());
            shard_dirty_set(l.sh[i], 0);
        }
        cmd_prop_hooks = hooks;
        if (l.skipped)
            log_msg(LL_NOTICE, "AOF loading skipped %llu commands that change no data",
                    l.skipped);
        if (l.errors)
            log_msg(LL_WARNING,
                    "AOF loading: %llu commands replied an error (ignored, as Redis does); the "
                    "first: %s",
                    l.errors, l.first_error);
    }
    aof_manifest_free(&m);
    if (ret == 0)
        log_msg(LL_NOTICE, "DB loaded from append only file: %.3f seconds",
                (double)(ustime() - t0) / 1e6);
    return ret;
}
