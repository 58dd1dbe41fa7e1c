/* RDB snapshots: the file format of Redis 7.0 (RDB version 10), written
 * from and loaded into the store's shards.
 *
 * Writing (rdb_save_fd / rdb_save_mem) walks every db of every shard: db i
 * of all shards together is database i of the file. The value encodings go
 * out as Redis 7.0 writes them, so Redis's tools and redis-server read our
 * files:
 *   string       STRING (0): integer-encoded when it is a short canonical
 *                integer, LZF-compressed when rdbcompression and it saves space
 *   list         QUICKLIST_2 (18): one listpack blob per quicklist node
 *   set intset   SET_INTSET (11): the intset blob as is
 *   set table    SET (2)
 *   zset lp      ZSET_LISTPACK (17): the listpack blob as is
 *   zset skip    ZSET_2 (5): binary doubles, highest score first (as Redis)
 *   hash lp      HASH_LISTPACK (16): the listpack blob as is
 *   hash table   HASH (4)
 * with the AUX fields, SELECTDB + RESIZEDB before each non-empty db,
 * EXPIRETIME_MS before a key with a TTL, EOF and the CRC64 (0 when
 * rdbchecksum is off).
 *
 * Loading (rdb_load_mem) takes the whole file in memory (mapped) and
 * trusts nothing: every length, type and blob is checked against the
 * buffer before use, listpacks/intsets/ziplists/zipmaps are validated
 * before they are walked, and any inconsistency stops the load with a
 * message naming the byte offset. Besides what we write it reads the
 * older encodings Redis 7.0 still loads: LIST (1), ZSET (3, text scores),
 * HASH_ZIPMAP (9), LIST_ZIPLIST (10), ZSET_ZIPLIST (12), HASH_ZIPLIST
 * (13), LIST_QUICKLIST (14), EXPIRETIME (seconds), IDLE/FREQ, FUNCTION2
 * (skipped with a warning). Streams and modules are refused.
 *
 * Values are rebuilt through the types' own paths (quicklist push, the hash
 * builder, SADD/ZADD on the target shard), so every key gets the encoding
 * Redis 7.0's loader would give it under the current thresholds.
 */
#ifndef SLUICE_RDB_H
#define SLUICE_RDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define RDB_VERSION 10
#define RDB_REDIS_VER "7.0.15"

struct rdb_save_opts {
    bool compress;   /* rdbcompression */
    bool checksum;   /* rdbchecksum */
    int64_t now_ms;  /* ctime aux field */
    size_t used_mem; /* used-mem aux field */
    /* As Redis: under an LRU policy each key gets an IDLE record (seconds
     * since last access), under an LFU policy a FREQ record (the decayed
     * counter); 0 neither. The loader restores them as Redis's
     * objectSetLRUOrLFU: FREQ under an LFU policy, IDLE under any other
     * (store_clock_restore). */
    int lru_records; /* 0, RDB_LRU_IDLE or RDB_LRU_FREQ */
    bool aof_base;   /* the base of an AOF: aux field aof-base 1 */
    bool autosync;   /* rdb_save_fd: incremental sync (rdb-save-incremental-fsync) */
};
#define RDB_LRU_IDLE 1
#define RDB_LRU_FREQ 2
/* What the current maxmemory-policy calls for (store_evict). */
int rdb_lru_records_for_policy(void);

/* Incremental sync of a file being written, as Redis's rioSetAutoSync
 * (REDIS_AUTOSYNC_BYTES, rdb-save-incremental-fsync and
 * aof-rewrite-incremental-fsync): every 4 MB written, the writeout of those
 * 4 MB is started and the writer waits for the 4 MB before them
 * (sync_file_range, as Redis on Linux), so the dirty page cache of the file
 * stays under 8 MB and the final fsync is short. Start from {0}. */
#define RDB_AUTOSYNC_BYTES (4u << 20)
struct rdb_autosync {
    uint64_t written, synced; /* bytes written to the file, bytes handed to writeout */
};
/* n more bytes were written to fd: 0, or the errno of a failed sync. */
int rdb_autosync_wrote(int fd, struct rdb_autosync *a, size_t n);
/* Writeouts started by every file since start (INFO, sluice's own). */
extern _Atomic uint64_t rdb_autosyncs;

/* Write a whole RDB file to fd (buffered writes; no fsync). 0, or -1 with
 * errno set. */
int rdb_save_fd(int fd, struct shard *const *shards, int nshards,
                const struct rdb_save_opts *o);
/* The same into a malloc'd buffer (*len bytes); never NULL. */
unsigned char *rdb_save_mem(struct shard *const *shards, int nshards,
                            const struct rdb_save_opts *o, size_t *len);

/* Building a stream piece by piece in memory: the fork-less snapshot
 * (dataplane/snapshot.c) serializes keys of each shard into pieces that a
 * thread writes out in order. A piece's buffer is the caller's (malloc'd,
 * grown as needed: start from {0} or a preallocated buffer, free buf).
 * The file is: header, then any number of [SELECTDB [RESIZEDB]] and keys
 * (a key belongs to the last SELECTDB before it), then the EOF piece. */
struct rdb_piece {
    unsigned char *buf;
    size_t len, cap;
};
/* Magic and AUX fields (compress/checksum unused here). */
void rdb_piece_header(struct rdb_piece *p, const struct rdb_save_opts *o);
void rdb_piece_selectdb(struct rdb_piece *p, int dbid);
void rdb_piece_resizedb(struct rdb_piece *p, uint64_t keys, uint64_t expires);
/* One key of shard s as rdb_save_fd writes it (IDLE/FREQ from s's clock). */
void rdb_piece_key(struct rdb_piece *p, const struct shard *s, struct entry *e,
                   const struct rdb_save_opts *o);
/* The EOF opcode and the checksum: crc is the CRC64 of every byte before
 * this piece; returns it updated over the EOF byte (the checksum written is
 * that, or 0 when !checksum). */
uint64_t rdb_piece_eof(struct rdb_piece *p, uint64_t crc, bool checksum);

struct rdb_load_opts {
    /* The shard that owns a key; NULL: shards[0]. */
    struct shard *(*route)(const void *key, size_t len);
    int64_t now_ms;       /* keys whose expiry is <= now_ms are skipped */
    bool allow_dup;       /* a key already present is replaced (else an error) */
    /* Called about every RDB_PROGRESS_BYTES of input (NULL: never). */
    void (*progress)(void *arg, size_t done, size_t total, uint64_t keys);
    void *progress_arg;
    long long key_load_delay_us; /* sleep after each key (key-load-delay, tests) */
};
#define RDB_PROGRESS_BYTES (1u << 20)

struct rdb_load_stats {
    int version;
    char redis_ver[32];
    uint64_t keys;    /* loaded */
    uint64_t expired; /* skipped: already expired */
    uint64_t empty;   /* skipped: empty collections */
    uint64_t functions_skipped; /* FUNCTION2 records (sluice has no functions) */
    bool checksum_checked;
    size_t bytes; /* input read, through the checksum: what follows is not RDB
                   * (the command tail of an AOF with an RDB preamble) */
};

/* Load buf[0..len) into the shards (their dbs must be empty or allow_dup).
 * 0, or -1 with a message in err (with the byte offset). On error, keys
 * loaded so far stay (the caller refuses to start or flushes). */
int rdb_load_mem(const unsigned char *buf, size_t len, struct shard *const *shards,
                 int nshards, const struct rdb_load_opts *o, struct rdb_load_stats *st,
                 char *err, size_t errlen);

/* ---- building blocks (also for the unit tests and the AOF preamble) ---- */

/* CRC-64/Jones as Redis (reflected, poly 0xad93d23594c935a9, init 0). */
uint64_t rdb_crc64(uint64_t crc, const void *p, size_t n);
/* LZF (liblzf's format). Compress: bytes written, 0 if it does not fit in
 * outlen. Decompress: bytes written, 0 on corrupt input or overflow. */
size_t rdb_lzf_compress(const void *in, size_t inlen, void *out, size_t outlen);
size_t rdb_lzf_decompress(const void *in, size_t inlen, void *out, size_t outlen);

/* ---- DEBUG DIGEST, with Redis 7.0's algorithm (same data: same digest
 * as redis-server) ---- */

void rdb_sha1(const void *p, size_t n, unsigned char out[20]);
/* The digest of one key's value (DEBUG DIGEST-VALUE; xored with
 * "!!expire!!" when it has a TTL). */
void rdb_digest_value(const struct entry *e, unsigned char out[20]);
/* The digest of the whole dataset over the shards (DEBUG DIGEST); all
 * zeros when empty. */
void rdb_digest_dataset(struct shard *const *shards, int nshards, unsigned char out[20]);

#endif
