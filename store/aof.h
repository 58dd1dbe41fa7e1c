/* The append-only file on disk: Redis 7.0's multi-part layout.
 *
 *   <dir>/<appenddirname>/                      (default "appendonlydir")
 *       <appendfilename>.manifest               (default "appendonly.aof")
 *       <appendfilename>.<seq>.base.rdb         (RDB preamble; .base.aof without:
 *                                                commands, as Redis's rewrite writes them)
 *       <appendfilename>.<seq>.incr.aof         (RESP command records)
 *
 * The manifest has one line per file, as Redis writes it:
 *   file appendonly.aof.1.base.rdb seq 1 type b
 *   file appendonly.aof.1.incr.aof seq 1 type i
 * (type b base, h history, i incremental; incr files in replay order; a
 * name with spaces or special bytes is quoted as Redis's sdscatrepr does).
 *
 * This module is format and files only: the dataplane (dataplane/aof.c)
 * decides when to write, rewrite and load.
 */
#ifndef SLUICE_AOF_H
#define SLUICE_AOF_H

#include <stdbool.h>
#include <stddef.h>

enum aof_file_type { AOF_FILE_BASE = 'b', AOF_FILE_HIST = 'h', AOF_FILE_INCR = 'i' };

struct aof_file_info {
    char *name; /* file name inside the AOF directory (malloc'd) */
    long long seq;
    char type; /* enum aof_file_type */
};

struct aof_manifest {
    struct aof_file_info *base; /* NULL: no base file */
    struct aof_file_info *incr; /* replay order */
    size_t nincr;
    struct aof_file_info *hist; /* files waiting to be deleted */
    size_t nhist;
    long long curr_base_seq, curr_incr_seq; /* highest seqs used so far */
};

/* Parse a manifest's text. 0, or -1 with a message naming the line in err. */
int aof_manifest_parse(const char *buf, size_t len, struct aof_manifest *m, char *err,
                       size_t errlen);
/* The manifest's text (malloc'd, NUL-terminated), as Redis writes it. */
char *aof_manifest_format(const struct aof_manifest *m);
void aof_manifest_free(struct aof_manifest *m);

/* New file names (malloc'd): <appendfilename>.<seq>.base.rdb|.base.aof,
 * <appendfilename>.<seq>.incr.aof, <appendfilename>.manifest. */
char *aof_base_name(const char *appendfilename, long long seq, bool rdb_preamble);
char *aof_incr_name(const char *appendfilename, long long seq);
char *aof_manifest_name(const char *appendfilename);

/* Read <dirpath>/<appendfilename>.manifest: 0 loaded, 1 no manifest (no
 * AOF yet), -1 error (message in err). */
int aof_manifest_load(const char *dirpath, const char *appendfilename, struct aof_manifest *m,
                      char *err, size_t errlen);
/* fsync a directory, so that names created or renamed in it are durable
 * (also used for RDB snapshots). 0 or -1 (errno set). */
int aof_fsync_dir(const char *dirpath);
/* Write the manifest atomically: a temp file in dirpath, fsync, rename over
 * the manifest, fsync of dirpath. 0 or -1 (errno set). */
int aof_manifest_persist(const char *dirpath, const char *appendfilename,
                         const struct aof_manifest *m);

/* ---- the command stream of an AOF file ----
 * A walk over RESP multibulk commands ("*N\r\n$len\r\n...\r\n") in
 * memory, read as Redis 7.0 reads an AOF: "#..." lines (the "#TS:" time
 * annotations) are skipped; commands between MULTI and EXEC take effect at
 * EXEC; the input ends cleanly, or truncated (it stops inside a command,
 * or a MULTI has no EXEC: the transaction is reverted), or on a format
 * error. Pure: usable on any bytes (fuzzed). */

enum aof_parse_status {
    AOF_PARSE_OK = 0,       /* every command read and applied */
    AOF_PARSE_TRUNCATED,    /* unexpected end: cut the input at valid_up_to */
    AOF_PARSE_BAD_FORMAT,   /* not a command at error_off */
    AOF_PARSE_STOPPED,      /* a callback said stop, at the command at error_off */
};

struct resp_arg;

struct aof_parse_ops {
    /* Every command as it is read (MULTI and EXEC too), before it is
     * queued or applied; nonzero stops the walk (AOF_PARSE_STOPPED). NULL:
     * every command is accepted. */
    int (*check)(void *arg, int argc, const struct resp_arg *argv);
    /* A command taking effect: when read, or at its transaction's EXEC.
     * MULTI and a transaction's EXEC are not passed (an EXEC without MULTI
     * is). Nonzero stops the walk. argv points into the input. */
    int (*apply)(void *arg, int argc, const struct resp_arg *argv);
    /* About every AOF_PROGRESS_BYTES of input (NULL: never). */
    void (*progress)(void *arg, size_t done, size_t total);
    void *arg;
};
#define AOF_PROGRESS_BYTES (1u << 20)

struct aof_parse_result {
    enum aof_parse_status status;
    /* End of the last whole command read (a MULTI without EXEC: where it
     * started): where a truncated input is cut. At least start. */
    size_t valid_up_to;
    size_t error_off;        /* BAD_FORMAT: the bad line; STOPPED: the command */
    unsigned long long commands; /* applied (apply returned 0) */
    bool multi_reverted;     /* TRUNCATED because a MULTI had no EXEC */
};

/* Walk buf[start, len) (start: after an RDB preamble). Returns r->status. */
enum aof_parse_status aof_parse_commands(const char *buf, size_t len, size_t start,
                                         const struct aof_parse_ops *ops,
                                         struct aof_parse_result *r);

/* Whether a file's bytes begin with an RDB preamble ("REDIS"). */
bool aof_has_rdb_preamble(const void *buf, size_t len);

/* ---- a base file in commands (aof-use-rdb-preamble no; aof_rewrite.c) ----
 * Redis 7.0's rewrite format, appended to a piece (rdb.h) so that the
 * fork-less snapshot writes it as it writes an RDB: an optional "#TS:"
 * line, then SELECT <db> and each key's commands. */
struct rdb_piece;
struct entry;
void aof_piece_timestamp(struct rdb_piece *p, long long unix_secs);
void aof_piece_select(struct rdb_piece *p, int dbid);
/* SET, or RPUSH/SADD/ZADD/HMSET of at most 64 elements each, then
 * PEXPIREAT when the key has a TTL. */
void aof_piece_key(struct rdb_piece *p, const struct entry *e);

#endif
