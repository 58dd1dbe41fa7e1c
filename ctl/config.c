/* The config table and everything that reads it (see config.h). Error texts
 * follow Redis 7.0 so that CONFIG SET failures read the same. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resp.h"

struct sluice_config config;

/* Redis 7.0's levels ("nothing" came with 7.2). */
static const char *const loglevel_names[] = {"debug", "verbose", "notice", "warning", NULL};

static const char *const policy_names[] = {
    "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
    "allkeys-lru",  "allkeys-lfu",  "allkeys-random",  "noeviction",
    "allkeys-sieve", NULL};
static const char *const debug_names[] = {"no", "yes", "local", NULL};
static const char *const fsync_names[] = {"everysec", "always", "no", NULL}; /* enum aof_fsync */

static const char *check_cores(const char *v);
static const char *check_bind(const char *v);
static const char *check_mem_or_percent(const char *v);
static const char *check_save(const char *v);
static const char *check_obuf(const char *v);

#define I(f) (&config.f)

/* Sorted by name, as CONFIG GET * lists them. */
static const struct cfg_option options[] = {
    {"aof-load-truncated", CFG_BOOL, 0, "yes", 0, 0, 0, 0, NULL, I(aof_load_truncated), NULL,
     "At start, an append-only file whose last command was cut short is\n"
     "truncated to its last whole command and loaded (logged); \"no\": refuse\n"
     "to start instead."},
    {"aof-rewrite-incremental-fsync", CFG_BOOL, 0, "yes", 0, 0, 0, 0, NULL,
     I(aof_rewrite_incremental_fsync), NULL,
     "While a rewrite writes the new base file, have it written out to disk\n"
     "every 4 MB so the final fsync does not stall on a large dirty page cache."},
    {"aof-timestamp-enabled", CFG_BOOL, 0, "no", 0, 0, 0, 0, NULL, I(aof_timestamp_enabled), NULL,
     "Annotate the append-only file with \"#TS:<unix time>\" lines (at most one\n"
     "a second), as Redis 7 does."},
    {"aof-use-rdb-preamble", CFG_BOOL, 0, "yes", 0, 0, 0, 0, NULL, I(aof_use_rdb_preamble), NULL,
     "A rewrite writes the base file as an RDB snapshot (.base.rdb) instead of\n"
     "commands (.base.aof)."},
    {"appenddirname", CFG_STRING, CFG_IMMUTABLE, "appendonlydir", 0, 0, 0, 0, NULL,
     I(appenddirname), NULL,
     "Directory, inside dir, of the append-only files and their manifest."},
    {"appendfilename", CFG_STRING, CFG_IMMUTABLE, "appendonly.aof", 0, 0, 0, 0, NULL,
     I(appendfilename), NULL,
     "Prefix of the append-only files' names (<name>.1.base.rdb,\n"
     "<name>.1.incr.aof, <name>.manifest)."},
    {"appendfsync", CFG_ENUM, 0, "everysec", 0, 0, 0, 0, fsync_names, I(appendfsync), NULL,
     "always: a write is acknowledged only after the fsync that covers it (one\n"
     "fsync covers every write pending from all workers); everysec: fsync once\n"
     "a second (about one second of writes at risk); no: leave it to the OS."},
    {"appendonly", CFG_BOOL, 0, "no", 0, 0, 0, 0, NULL, I(appendonly), NULL,
     "Log every write to the append-only file and load it at start (instead\n"
     "of the RDB snapshot). Turning it on at runtime writes a base file first."},
    {"auto-aof-rewrite-min-size", CFG_MEMORY, 0, "64mb", 0, LLONG_MAX, 0, 0, NULL,
     I(auto_aof_rewrite_min_size), NULL,
     "No automatic rewrite while the append-only files are smaller than this."},
    {"auto-aof-rewrite-percentage", CFG_INT, 0, "100", 0, INT_MAX, 0, 0, NULL,
     I(auto_aof_rewrite_percentage), NULL,
     "Rewrite automatically when the files grew by this percentage over the\n"
     "size after the last rewrite (0: never)."},
    {"bind", CFG_STRING, CFG_IMMUTABLE, "127.0.0.1", 0, 0, 0, 0, NULL, I(bind), check_bind,
     "Addresses to listen on, space separated. A leading '-' makes an address\n"
     "optional (no error if it is not available)."},
    {"busy-poll", CFG_BOOL, CFG_IMMUTABLE, "no", 0, 0, 0, 0, NULL, I(busy_poll), NULL,
     "Workers never sleep: each loop turn polls the network and the rings\n"
     "from other workers without waiting, and peers skip the doorbell. Cuts\n"
     "the latency of commands handed to another worker's shard at the price\n"
     "of one core spinning per worker."},
    {"client-output-buffer-limit", CFG_STRING, 0,
     "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", 0, 0, 0, 0, NULL,
     I(client_output_buffer_limit), check_obuf,
     "Per client class (normal, replica, pubsub): a client whose unsent replies\n"
     "exceed <hard> bytes, or stay above <soft> for <soft seconds>, is\n"
     "disconnected (0 disables a limit). Setting some classes keeps the others."},
    {"client-query-buffer-limit", CFG_MEMORY, 0, "1gb", 1024 * 1024, LLONG_MAX, 0, 0, NULL,
     I(client_query_buffer_limit), NULL,
     "Maximum bytes a client's unparsed query may hold; past it the client is\n"
     "disconnected."},
    {"daemonize", CFG_BOOL, CFG_IMMUTABLE, "no", 0, 0, 0, 0, NULL, I(daemonize), NULL,
     "Run in the background (fork, detach, write pidfile)."},
    {"databases", CFG_INT, CFG_IMMUTABLE, "16", 1, INT_MAX, 0, 0, NULL, I(databases), NULL,
     "Number of logical databases (SELECT 0 .. databases-1)."},
    {"dbfilename", CFG_STRING, CFG_PROTECTED, "dump.rdb", 0, 0, 0, 0, NULL, I(dbfilename), NULL,
     "Name of the RDB snapshot file, inside dir."},
    {"dataplane-batch-usec", CFG_INT, 0, "50", 0, 1000, 0, 0, NULL, I(dataplane_batch_usec), NULL,
     "Under load (a loop turn that had several completions), wait up to this\n"
     "many microseconds for more before handling them (kernel 6.12+): fewer\n"
     "wake-ups and less CPU per request; a lightly loaded server never waits.\n"
     "0: handle every completion as soon as it arrives."},
    {"dataplane-cores", CFG_STRING, CFG_IMMUTABLE, "", 0, 0, 0, 0, NULL, I(dataplane_cores),
     check_cores,
     "CPU cores for dataplane workers, e.g. \"2\" or \"2,3\" or \"2-5\": one worker\n"
     "pinned to each. Empty: one unpinned worker."},
    {"dir", CFG_STRING, CFG_PROTECTED, ".", 0, 0, 0, 0, NULL, I(dir), NULL,
     "Working directory: snapshots and the append-only files go here."},
    {"enable-protected-configs", CFG_ENUM, CFG_IMMUTABLE, "no", 0, 0, 0, 0, debug_names,
     I(enable_protected_configs), NULL,
     "Allow CONFIG SET of protected options (dir, dbfilename): no, yes, or local\n"
     "(only from loopback and Unix socket connections), as in Redis 7."},
    {"enable-debug-command", CFG_ENUM, CFG_IMMUTABLE, "no", 0, 0, 0, 0, debug_names,
     I(enable_debug_command), NULL,
     "Allow the DEBUG command: no, yes, or local (only from loopback and Unix\n"
     "socket connections). Off by default, as in Redis 7."},
    {"hash-max-listpack-entries", CFG_INT, 0, "512", 0, LLONG_MAX, 0, 0, NULL,
     I(hash_max_listpack_entries), NULL,
     "A hash keeps the compact listpack encoding up to this many fields."},
    {"hash-max-listpack-value", CFG_INT, 0, "64", 0, LLONG_MAX, 0, 0, NULL,
     I(hash_max_listpack_value), NULL,
     "... and while every field and value is at most this many bytes."},
    {"hash-max-ziplist-entries", CFG_INT, 0, "512", 0, LLONG_MAX, 0, 0, NULL,
     I(hash_max_listpack_entries), NULL, "Older name of hash-max-listpack-entries."},
    {"hash-max-ziplist-value", CFG_INT, 0, "64", 0, LLONG_MAX, 0, 0, NULL,
     I(hash_max_listpack_value), NULL, "Older name of hash-max-listpack-value."},
    {"hz", CFG_INT, CFG_CLAMP, "10", 0, INT_MAX, 1, 500, NULL, I(hz), NULL,
     "Background task frequency (active expiry, rehashing, client timeouts)."},
    {"key-load-delay", CFG_INT, 0, "0", INT_MIN, INT_MAX, 0, 0, NULL, I(key_load_delay), NULL,
     "Testing aid (as Redis's): sleep this many microseconds after each key\n"
     "loaded at start, so the loading state can be observed. 0: none."},
    {"list-max-listpack-size", CFG_INT, 0, "-2", INT_MIN, INT_MAX, 0, 0, NULL,
     I(list_max_listpack_size), NULL,
     "Size of each node of a list: N > 0 entries, or -1..-5 for 4, 8, 16, 32\n"
     "or 64 KB."},
    {"list-compress-depth", CFG_INT, 0, "0", 0, INT_MAX, 0, 0, NULL, I(list_compress_depth), NULL,
     "Accepted with Redis's name and range for configuration files written for\n"
     "Redis; sluice does not compress list nodes, whatever its value."},
    {"list-max-ziplist-size", CFG_INT, 0, "-2", INT_MIN, INT_MAX, 0, 0, NULL,
     I(list_max_listpack_size), NULL, "Older name of list-max-listpack-size."},
    {"logfile", CFG_STRING, CFG_IMMUTABLE, "", 0, 0, 0, 0, NULL, I(logfile), NULL,
     "Log file path; empty logs to standard output."},
    {"loglevel", CFG_ENUM, 0, "notice", 0, 0, 0, 0, loglevel_names, I(loglevel), NULL,
     "debug, verbose, notice or warning."},
    {"lfu-decay-time", CFG_INT, 0, "1", 0, INT_MAX, 0, 0, NULL, I(lfu_decay_time), NULL,
     "LFU policies: a key's access counter drops by one for every this many\n"
     "minutes it is not used (0: never)."},
    {"lfu-log-factor", CFG_INT, 0, "10", 0, INT_MAX, 0, 0, NULL, I(lfu_log_factor), NULL,
     "LFU policies: how slowly the logarithmic access counter grows."},
    {"maxclients", CFG_INT, 0, "10000", 1, UINT_MAX, 0, 0, NULL, I(maxclients), NULL,
     "Maximum number of connected clients."},
    {"maxmemory", CFG_MEMORY, 0, "0", 0, LLONG_MAX, 0, 0, NULL, I(maxmemory), NULL,
     "Memory limit (bytes, or 100mb / 4gb style); 0 means none. Above it,\n"
     "keys are evicted by maxmemory-policy before each write, or writes fail\n"
     "with OOM under noeviction."},
    {"maxmemory-clients", CFG_STRING, 0, "0", 0, 0, 0, 0, NULL, I(maxmemory_clients),
     check_mem_or_percent,
     "Total memory client buffers may use (bytes, or a percentage of maxmemory\n"
     "like 10%); above it the clients using most are disconnected, biggest\n"
     "first. 0: no limit."},
    {"maxmemory-eviction-tenacity", CFG_INT, 0, "10", 0, 100, 0, 0, NULL,
     I(maxmemory_eviction_tenacity), NULL,
     "How long one eviction pass may run (10: about 500 us; 100: until done)."},
    {"maxmemory-policy", CFG_ENUM, 0, "noeviction", 0, 0, 0, 0, policy_names,
     I(maxmemory_policy), NULL,
     "Which keys go when maxmemory is reached: volatile-lru, volatile-lfu,\n"
     "volatile-random, volatile-ttl (only keys with an expiry), allkeys-lru,\n"
     "allkeys-lfu, allkeys-random, or noeviction (writes fail instead); and,\n"
     "beyond Redis, allkeys-sieve: SIEVE eviction over samples, a higher hit\n"
     "ratio than allkeys-lru on skewed workloads (perf/RESULTS.md)."},
    {"maxmemory-samples", CFG_INT, 0, "5", 1, INT_MAX, 0, 0, NULL, I(maxmemory_samples), NULL,
     "Keys sampled per database for each eviction round (more: closer to\n"
     "true LRU/LFU, more CPU)."},
    {"no-appendfsync-on-rewrite", CFG_BOOL, 0, "no", 0, 0, 0, 0, NULL,
     I(no_appendfsync_on_rewrite), NULL,
     "With appendfsync everysec or always, skip fsyncs while a rewrite or a\n"
     "snapshot is writing (less disk contention, more writes at risk)."},
    {"pidfile", CFG_STRING, CFG_IMMUTABLE, "", 0, 0, 0, 0, NULL, I(pidfile), NULL,
     "Write the process id here at start and remove it at exit."},
    {"port", CFG_INT, CFG_IMMUTABLE, "6379", 0, 65535, 0, 0, NULL, I(port), NULL,
     "TCP port; 0 disables TCP."},
    {"proto-max-bulk-len", CFG_MEMORY, 0, "512mb", 1024 * 1024, LLONG_MAX, 0, 0, NULL,
     I(proto_max_bulk_len), NULL,
     "Largest bulk argument a request may carry (and largest string value)."},
    {"rdb-del-sync-files", CFG_BOOL, 0, "no", 0, 0, 0, 0, NULL, I(rdb_del_sync_files), NULL,
     "Delete RDB files made only for replication (no persistence configured)."},
    {"rdb-save-incremental-fsync", CFG_BOOL, 0, "yes", 0, 0, 0, 0, NULL,
     I(rdb_save_incremental_fsync), NULL,
     "While a background snapshot writes the RDB file, have it written out to\n"
     "disk every 4 MB so the final fsync does not stall on a large dirty page\n"
     "cache."},
    {"rdbchecksum", CFG_BOOL, CFG_IMMUTABLE, "yes", 0, 0, 0, 0, NULL, I(rdbchecksum), NULL,
     "End snapshots with a CRC64 checksum (checked at load)."},
    {"rdbcompression", CFG_BOOL, 0, "yes", 0, 0, 0, 0, NULL, I(rdbcompression), NULL,
     "Compress strings in snapshots with LZF."},
    {"save", CFG_STRING, 0, "3600 1 300 100 60 10000", 0, 0, 0, 0, NULL, I(save), check_save,
     "Snapshot rules: \"<seconds> <changes>\" pairs; a snapshot is taken when at\n"
     "least <changes> writes happened in <seconds>. Empty: no automatic\n"
     "snapshots."},
    {"set-max-intset-entries", CFG_INT, 0, "512", 0, LLONG_MAX, 0, 0, NULL,
     I(set_max_intset_entries), NULL,
     "A set of integers only keeps the compact intset encoding up to this many\n"
     "members."},
    {"stop-writes-on-bgsave-error", CFG_BOOL, 0, "yes", 0, 0, 0, 0, NULL,
     I(stop_writes_on_bgsave_error), NULL,
     "Refuse writes while the last background snapshot failed."},
    {"tcp-backlog", CFG_INT, CFG_IMMUTABLE, "511", 0, INT_MAX, 0, 0, NULL, I(tcp_backlog), NULL,
     "listen(2) backlog."},
    {"tcp-keepalive", CFG_INT, 0, "300", 0, INT_MAX, 0, 0, NULL, I(tcp_keepalive), NULL,
     "Seconds between TCP keepalive probes on client connections; 0 disables."},
    {"timeout", CFG_INT, 0, "0", 0, INT_MAX, 0, 0, NULL, I(timeout), NULL,
     "Close a client after this many idle seconds; 0 disables."},
    {"unixsocket", CFG_STRING, CFG_IMMUTABLE, "", 0, 0, 0, 0, NULL, I(unixsocket), NULL,
     "Path of a Unix socket to listen on as well; empty disables."},
    {"unixsocketperm", CFG_OCTAL, CFG_IMMUTABLE, "0", 0, 0777, 0, 0, NULL, I(unixsocketperm), NULL,
     "Permissions of the Unix socket (octal)."},
    {"zset-max-listpack-entries", CFG_INT, 0, "128", 0, LLONG_MAX, 0, 0, NULL,
     I(zset_max_listpack_entries), NULL,
     "A sorted set keeps the compact listpack encoding up to this many members."},
    {"zset-max-listpack-value", CFG_INT, 0, "64", 0, LLONG_MAX, 0, 0, NULL,
     I(zset_max_listpack_value), NULL,
     "... and while every member is at most this many bytes."},
    {"zset-max-ziplist-entries", CFG_INT, 0, "128", 0, LLONG_MAX, 0, 0, NULL,
     I(zset_max_listpack_entries), NULL, "Older name of zset-max-listpack-entries."},
    {"zset-max-ziplist-value", CFG_INT, 0, "64", 0, LLONG_MAX, 0, 0, NULL,
     I(zset_max_listpack_value), NULL, "Older name of zset-max-listpack-value."},
};

#define NOPTS (sizeof(options) / sizeof(options[0]))

static void (*hooks[NOPTS])(void);

const struct cfg_option *cfg_options(int *n)
{
    *n = (int)NOPTS;
    return options;
}

const struct cfg_option *cfg_find(const char *name, size_t len)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (strlen(options[i].name) == len && strncasecmp(options[i].name, name, len) == 0)
            return &options[i];
    return NULL;
}

void cfg_on_change(const char *name, void (*fn)(void))
{
    const struct cfg_option *o = cfg_find(name, strlen(name));
    if (o)
        hooks[o - options] = fn;
}

static const char *check_cores(const char *v)
{
    const char *p = v;
    while (*p) {
        char *end;
        long a = strtol(p, &end, 10), b = a;
        if (end == p || a < 0)
            return "dataplane-cores must be a list of core numbers like 0,2-3";
        p = end;
        if (*p == '-') {
            b = strtol(p + 1, &end, 10);
            if (end == p + 1 || b < a)
                return "dataplane-cores must be a list of core numbers like 0,2-3";
            p = end;
        }
        if (b >= 1024)
            return "dataplane-cores: core number too large";
        if (*p == ',' || *p == ' ')
            p++;
        else if (*p)
            return "dataplane-cores must be a list of core numbers like 0,2-3";
    }
    return NULL;
}

int cfg_count_words(const char *s)
{
    int n = 0;
    for (const char *p = s; *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        n++;
        while (*p && *p != ' ')
            p++;
    }
    return n;
}

static const char *check_bind(const char *v)
{
    return cfg_count_words(v) > 16 ? "Too many bind addresses specified." : NULL;
}

/* client-output-buffer-limit: "<class> <hard> <soft> <soft seconds>" groups,
 * class normal, replica (or slave) or pubsub; sizes are memory values. */
static const char *const obuf_classes[] = {"normal", "slave", "pubsub"};

static int obuf_class(const char *w, size_t n)
{
    if (n == 7 && !strncasecmp(w, "replica", 7))
        return 1;
    for (int i = 0; i < 3; i++)
        if (strlen(obuf_classes[i]) == n && !strncasecmp(w, obuf_classes[i], n))
            return i;
    return -1;
}

/* Parse v into limits[class][hard, soft, seconds] (only the classes v
 * names are written); an error text or NULL. */
static const char *parse_obuf(const char *v, long long limits[3][3])
{
    char words[16][64];
    int n = 0;
    for (const char *p = v; *p && n < 16;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (!len)
            break;
        if (len >= sizeof(words[0]))
            return "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        memcpy(words[n], p, len);
        words[n++][len] = '\0';
        p += len;
    }
    if (n == 0 || n % 4)
        return "Wrong number of arguments in buffer limit configuration.";
    for (int i = 0; i < n; i += 4) {
        int cls = obuf_class(words[i], strlen(words[i]));
        if (cls < 0)
            return "Invalid client class specified in buffer limit configuration.";
        long long hard, soft, secs;
        char *end;
        secs = strtoll(words[i + 3], &end, 10);
        if (!cfg_parse_memory(words[i + 1], &hard) || !cfg_parse_memory(words[i + 2], &soft) ||
            *end || end == words[i + 3] || hard < 0 || soft < 0 || secs < 0)
            return "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        limits[cls][0] = hard;
        limits[cls][1] = soft;
        limits[cls][2] = secs;
    }
    return NULL;
}

static const char *check_obuf(const char *v)
{
    long long limits[3][3];
    return parse_obuf(v, limits);
}

int cfg_obuf_limits(long long limits[3][3])
{
    return parse_obuf(config.client_output_buffer_limit, limits) ? -1 : 0;
}

/* "" or pairs of "<seconds> <changes>" (save rules). */
static const char *check_save(const char *v)
{
    int n = 0;
    for (const char *p = v; *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        char *end;
        long long x = strtoll(p, &end, 10);
        if (end == p || x < 0 || (*end && *end != ' '))
            return "Invalid save parameters";
        p = end;
        n++;
    }
    return n % 2 ? "Invalid save parameters" : NULL;
}

/* "0", a memory value, or a percentage of maxmemory ("10%"). */
static const char *check_mem_or_percent(const char *v)
{
    long long n;
    size_t len = strlen(v);
    if (len > 1 && v[len - 1] == '%') {
        char *end;
        n = strtoll(v, &end, 10);
        if (end == v + len - 1 && n >= 1 && n <= 100)
            return NULL;
    } else if (cfg_parse_memory(v, &n) && n >= 0) {
        return NULL;
    }
    return "argument must be a memory or percent value";
}

bool cfg_parse_memory(const char *s, long long *out)
{
    char *end;
    size_t n = strlen(s);
    long long mul = 1;
    const char *u = s + n;

    while (u > s && isalpha((unsigned char)u[-1]))
        u--;
    if (!strcasecmp(u, "k")) mul = 1000;
    else if (!strcasecmp(u, "kb")) mul = 1024;
    else if (!strcasecmp(u, "m")) mul = 1000 * 1000;
    else if (!strcasecmp(u, "mb")) mul = 1024 * 1024;
    else if (!strcasecmp(u, "g")) mul = 1000LL * 1000 * 1000;
    else if (!strcasecmp(u, "gb")) mul = 1024LL * 1024 * 1024;
    else if (*u) return false;
    if (u == s)
        return false;
    char num[32];
    if ((size_t)(u - s) >= sizeof(num))
        return false;
    memcpy(num, s, u - s);
    num[u - s] = '\0';
    errno = 0;
    long long v = strtoll(num, &end, 10);
    if (*end || errno || v < 0)
        return false;
    if (v > LLONG_MAX / mul)
        return false;
    *out = v * mul;
    return true;
}

int cfg_set(const struct cfg_option *o, const char *value, size_t vlen, bool at_runtime,
            char *err, size_t errlen)
{
    char v[4096];
    long long ll;

    if (at_runtime && (o->flags & CFG_IMMUTABLE)) {
        snprintf(err, errlen, "can't set immutable config");
        return -1;
    }
    if (vlen >= sizeof(v)) {
        snprintf(err, errlen, "argument too long");
        return -1;
    }
    memcpy(v, value, vlen);
    v[vlen] = '\0';

    switch (o->type) {
    case CFG_BOOL:
        if (!strcasecmp(v, "yes"))
            *(bool *)o->field = true;
        else if (!strcasecmp(v, "no"))
            *(bool *)o->field = false;
        else {
            snprintf(err, errlen, "argument must be 'yes' or 'no'");
            return -1;
        }
        break;
    case CFG_INT:
    case CFG_MEMORY:
    case CFG_OCTAL: {
        bool ok;
        if (o->type == CFG_MEMORY) {
            ok = cfg_parse_memory(v, &ll);
            if (!ok && v[0] == '-') {
                char *end;
                ll = strtoll(v, &end, 10);
                ok = *end == '\0' && end != v;
            }
        } else {
            char *end;
            errno = 0;
            ll = strtoll(v, &end, o->type == CFG_OCTAL ? 8 : 10);
            ok = *v && *end == '\0' && !errno;
        }
        if (!ok) {
            snprintf(err, errlen, o->type == CFG_MEMORY
                                      ? "argument must be a memory value"
                                      : "argument couldn't be parsed into an integer");
            return -1;
        }
        if (ll < o->min || ll > o->max) {
            snprintf(err, errlen, "argument must be between %lld and %lld inclusive", o->min,
                     o->max);
            return -1;
        }
        if (o->flags & CFG_CLAMP)
            ll = ll < o->lo ? o->lo : ll > o->hi ? o->hi : ll;
        *(long long *)o->field = ll;
        break;
    }
    case CFG_ENUM: {
        int i;
        for (i = 0; o->enum_names[i]; i++)
            if (!strcasecmp(v, o->enum_names[i]))
                break;
        if (!o->enum_names[i]) {
            size_t off = snprintf(err, errlen, "argument(s) must be one of the following: ");
            for (int j = 0; o->enum_names[j] && off < errlen; j++)
                off += snprintf(err + off, errlen - off, "%s%s", j ? ", " : "",
                                o->enum_names[j]);
            return -1;
        }
        *(int *)o->field = i;
        break;
    }
    case CFG_STRING: {
        const char *msg = o->check ? o->check(v) : NULL;
        if (msg) {
            snprintf(err, errlen, "%s", msg);
            return -1;
        }
        /* Buffer limits: the classes given replace theirs, the others stay;
         * it reads back whole, in bytes. */
        if (o->check == check_obuf) {
            long long lim[3][3] = {{0}};
            if (*(char **)o->field)
                parse_obuf(*(char **)o->field, lim);
            parse_obuf(v, lim);
            size_t off = 0;
            for (int i = 0; i < 3; i++)
                off += (size_t)snprintf(v + off, sizeof(v) - off, "%s%s %lld %lld %lld",
                                        i ? " " : "", obuf_classes[i], lim[i][0], lim[i][1],
                                        lim[i][2]);
        }
        /* A memory-or-percent value reads back in bytes, as in Redis. */
        if (o->check == check_mem_or_percent && v[strlen(v) - 1] != '%' &&
            cfg_parse_memory(v, &ll))
            snprintf(v, sizeof(v), "%lld", ll);
        char *dup = strdup(v);
        if (!dup)
            abort();
        free(*(char **)o->field);
        *(char **)o->field = dup;
        break;
    }
    }
    if (at_runtime && hooks[o - options])
        hooks[o - options]();
    return 0;
}

void cfg_format(const struct cfg_option *o, char *buf, size_t len)
{
    switch (o->type) {
    case CFG_BOOL:
        snprintf(buf, len, "%s", *(bool *)o->field ? "yes" : "no");
        break;
    case CFG_INT:
    case CFG_MEMORY:
        snprintf(buf, len, "%lld", *(long long *)o->field);
        break;
    case CFG_OCTAL:
        snprintf(buf, len, "%llo", *(long long *)o->field);
        break;
    case CFG_ENUM:
        snprintf(buf, len, "%s", o->enum_names[*(int *)o->field]);
        break;
    case CFG_STRING: {
        const char *s = *(char **)o->field;
        snprintf(buf, len, "%s", s ? s : "");
        break;
    }
    }
}

void cfg_init(void)
{
    char err[256];
    for (size_t i = 0; i < NOPTS; i++) {
        if (options[i].type == CFG_STRING) {
            free(*(char **)options[i].field);
            *(char **)options[i].field = NULL;
        }
        if (cfg_set(&options[i], options[i].def, strlen(options[i].def), false, err,
                    sizeof(err)) != 0)
            abort(); /* a default that fails its own checks is a bug */
    }
}

int cfg_load_string(const char *text, char *err, size_t errlen)
{
    struct resp_parser p;
    const char *line = text;
    int lineno = 0, rc = 0;

    resp_parser_init(&p, LLONG_MAX);
    while (*line) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        char why[512];
        lineno++;
        why[0] = '\0';
        /* Comments and blank lines are skipped before any quote parsing. */
        const char *t = line;
        while (t < line + n && (*t == ' ' || *t == '\t' || *t == '\r'))
            t++;
        int argc = (t == line + n || *t == '#') ? 0 : resp_split_inline(&p, t, n - (size_t)(t - line));
        if (argc < 0) {
            snprintf(why, sizeof(why), "Unbalanced quotes in configuration line");
        } else if (argc > 0) {
            const struct cfg_option *o = cfg_find(p.argv[0].ptr, p.argv[0].len);
            char cerr[256];
            if (!o) {
                snprintf(why, sizeof(why), "Bad directive or wrong number of arguments");
            } else if (o->name[0] == 'b' && !strcmp(o->name, "bind")) {
                /* bind takes several addresses: rejoin them. */
                char addrs[4096];
                size_t off = 0;
                for (int i = 1; i < argc && off < sizeof(addrs) - 1; i++)
                    off += snprintf(addrs + off, sizeof(addrs) - off, "%s%.*s", i > 1 ? " " : "",
                                    (int)p.argv[i].len, p.argv[i].ptr);
                if (argc < 2)
                    snprintf(why, sizeof(why), "Bad directive or wrong number of arguments");
                else if (cfg_set(o, addrs, off, false, cerr, sizeof(cerr)))
                    snprintf(why, sizeof(why), "%s", cerr);
            } else if (argc != 2) {
                snprintf(why, sizeof(why), "wrong number of arguments");
            } else if (cfg_set(o, p.argv[1].ptr, p.argv[1].len, false, cerr, sizeof(cerr))) {
                snprintf(why, sizeof(why), "%s", cerr);
            }
        }
        if (why[0]) {
            snprintf(err, errlen,
                     "\n*** FATAL CONFIG FILE ERROR (sluice " SLUICE_VERSION ") ***\n"
                     "Reading the configuration file, at line %d\n>>> '%.*s'\n%s",
                     lineno, (int)(n > 200 ? 200 : n), line, why);
            rc = -1;
            break;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    resp_parser_free(&p);
    return rc;
}

int cfg_load_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "Fatal error, can't open config file '%s': %s", path,
                 strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    fclose(f);
    if (!buf)
        abort();
    buf[len] = '\0';
    int rc = cfg_load_string(buf, err, errlen);
    free(buf);
    return rc;
}

/* Quote a value for a config line (so spaces and quotes survive). */
static void append_quoted(char **text, size_t *len, size_t *cap, const char *s)
{
    size_t need = *len + strlen(s) * 4 + 8;
    if (need > *cap) {
        *cap = need * 2;
        *text = realloc(*text, *cap);
        if (!*text)
            abort();
    }
    char *o = *text + *len;
    *o++ = '"';
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            *o++ = '\\';
            *o++ = *s;
        } else if ((unsigned char)*s < 32) {
            o += sprintf(o, "\\x%02x", (unsigned char)*s);
        } else {
            *o++ = *s;
        }
    }
    *o++ = '"';
    *len = o - *text;
    (*text)[*len] = '\0';
}

int cfg_args_to_text(int argc, char **argv, char **text, char *err, size_t errlen)
{
    size_t len = *text ? strlen(*text) : 0, cap = len + 64;
    char *t = realloc(*text, cap);
    if (!t)
        abort();
    t[len] = '\0';
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) == 0 && argv[i][2]) {
            if (len + strlen(argv[i]) + 4 > cap) {
                cap = (len + strlen(argv[i]) + 4) * 2;
                t = realloc(t, cap);
                if (!t)
                    abort();
            }
            len += sprintf(t + len, "\n%s", argv[i] + 2);
        } else {
            if (len == 0) {
                snprintf(err, errlen, "Invalid argument '%s': options must start with --",
                         argv[i]);
                free(t);
                *text = NULL;
                return -1;
            }
            t[len++] = ' ';
            t[len] = '\0';
            append_quoted(&t, &len, &cap, argv[i]);
        }
    }
    *text = t;
    return 0;
}

void cfg_dump(FILE *out)
{
    fprintf(out, "# sluice configuration reference (generated from the option table)\n");
    for (size_t i = 0; i < NOPTS; i++) {
        const struct cfg_option *o = &options[i];
        const char *h = o->help;
        fprintf(out, "\n");
        while (*h) {
            const char *e = strchr(h, '\n');
            size_t n = e ? (size_t)(e - h) : strlen(h);
            fprintf(out, "# %.*s\n", (int)n, h);
            h += n + (e ? 1 : 0);
        }
        fprintf(out, "# %s%s\n", (o->flags & CFG_IMMUTABLE) ? "Set at start only." : "CONFIG SET at runtime.",
                o->type == CFG_MEMORY ? " Units: k kb m mb g gb." : "");
        if (o->type == CFG_STRING && !o->def[0])
            fprintf(out, "# %s \"\"\n", o->name);
        else
            fprintf(out, "# %s %s\n", o->name, o->def);
    }
}
