/* The config schema: one table declares every option once (name, type,
 * default, bounds, whether it may change at runtime). The config file
 * parser, the command line, CONFIG GET/SET and `sluiced --dump-config` all
 * read it. Names and semantics follow redis.conf where Redis has the option.
 *
 * The values live in one struct (struct sluice_config) owned by this module.
 * Runtime changes happen on the thread that runs CONFIG SET; readers take
 * a value when they need it (each loop turn, each new connection), so no
 * option needs a restart unless it is marked immutable.
 */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* In the order Redis lists them (CONFIG SET errors name the values so). */
enum aof_fsync { AOF_FSYNC_EVERYSEC = 0, AOF_FSYNC_ALWAYS, AOF_FSYNC_NO };

enum log_level { LL_DEBUG = 0, LL_VERBOSE, LL_NOTICE, LL_WARNING, LL_NOTHING };

struct sluice_config {
    char *bind;
    long long port;
    char *unixsocket;
    long long unixsocketperm;
    long long maxclients;
    long long timeout;
    long long tcp_keepalive;
    long long tcp_backlog;
    long long databases;
    char *dataplane_cores;
    bool daemonize;
    bool busy_poll;
    char *pidfile;
    char *logfile;
    int loglevel;
    long long proto_max_bulk_len;
    long long client_query_buffer_limit;
    long long hz;
    int enable_debug_command; /* 0 no, 1 yes, 2 local */
    int enable_protected_configs; /* the same */
    long long dataplane_batch_usec;
    long long hash_max_listpack_entries, hash_max_listpack_value;
    long long set_max_intset_entries;
    long long zset_max_listpack_entries, zset_max_listpack_value;
    long long list_max_listpack_size;
    long long list_compress_depth;
    long long maxmemory;
    char *maxmemory_clients;
    char *client_output_buffer_limit;
    /* persistence (dataplane/persist.c) */
    char *dir, *dbfilename, *save;
    bool rdbcompression, rdbchecksum, stop_writes_on_bgsave_error, rdb_del_sync_files;
    bool rdb_save_incremental_fsync;
    /* the append-only file (dataplane/aof.c) */
    bool appendonly, aof_use_rdb_preamble, aof_load_truncated, aof_timestamp_enabled;
    bool no_appendfsync_on_rewrite, aof_rewrite_incremental_fsync;
    char *appendfilename, *appenddirname;
    int appendfsync; /* enum aof_fsync */
    long long auto_aof_rewrite_percentage, auto_aof_rewrite_min_size;
    long long key_load_delay; /* us after each key loaded at start (tests) */
    int maxmemory_policy;
    long long maxmemory_samples, maxmemory_eviction_tenacity, lfu_log_factor, lfu_decay_time;
};

extern struct sluice_config config;

enum cfg_type { CFG_BOOL, CFG_INT, CFG_MEMORY, CFG_STRING, CFG_ENUM, CFG_OCTAL };

enum {
    CFG_IMMUTABLE = 1u << 0, /* only from the config file / command line */
    CFG_CLAMP = 1u << 1,     /* accepted values are clamped to [lo, hi] */
    CFG_PROTECTED = 1u << 2, /* CONFIG SET only with enable-protected-configs */
};

struct cfg_option {
    const char *name;
    enum cfg_type type;
    unsigned flags;
    const char *def;               /* default, in config-file syntax */
    long long min, max;            /* accepted range for CFG_INT / CFG_MEMORY */
    long long lo, hi;              /* stored range with CFG_CLAMP */
    const char *const *enum_names; /* for CFG_ENUM, NULL-terminated */
    void *field;                   /* bool *, long long *, int *, char ** */
    /* Extra validation for strings; returns an error text or NULL. */
    const char *(*check)(const char *value);
    const char *help;
};

/* Set every option to its default. */
void cfg_init(void);
/* Parse config text (file contents plus command-line options turned into
 * lines). On error writes a Redis-style FATAL CONFIG message to err. */
int cfg_load_string(const char *text, char *err, size_t errlen);
/* Read a file and load it. */
int cfg_load_file(const char *path, char *err, size_t errlen);
/* Turn argv "--port 7000 --bind a b" into config lines appended to *text. */
int cfg_args_to_text(int argc, char **argv, char **text, char *err, size_t errlen);

const struct cfg_option *cfg_find(const char *name, size_t len);
const struct cfg_option *cfg_options(int *n);
/* Set one option from its text value. at_runtime refuses immutable options.
 * Returns 0 or -1 with a Redis-style reason in err ("argument couldn't be
 * parsed into an integer", ...). */
int cfg_set(const struct cfg_option *o, const char *value, size_t vlen, bool at_runtime,
            char *err, size_t errlen);
/* Format the current value as CONFIG GET shows it. */
void cfg_format(const struct cfg_option *o, char *buf, size_t len);
/* Parse "512mb"-style memory values (k=1000, kb=1024, ...). */
bool cfg_parse_memory(const char *s, long long *out);
/* client-output-buffer-limit as [normal, replica, pubsub][hard, soft,
 * soft seconds]. */
int cfg_obuf_limits(long long limits[3][3]);
/* Number of space-separated words (list-valued options like bind). */
int cfg_count_words(const char *s);
/* Register a function called after an option changes at runtime. */
void cfg_on_change(const char *name, void (*fn)(void));
/* Print the table as a commented config file (the generated reference). */
void cfg_dump(FILE *out);

#endif
