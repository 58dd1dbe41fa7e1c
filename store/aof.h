/* The append-only file on disk: Redis 7.0's multi-part layout.
 *
 *   <dir>/<appenddirname>/                      (default "appendonlydir")
 *       <appendfilename>.manifest               (default "appendonly.aof")
 *       <appendfilename>.<seq>.base.rdb         (RDB preamble; .base.aof without)
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
/* Write the manifest atomically: a temp file in dirpath, fsync, rename over
 * the manifest, fsync of dirpath. 0 or -1 (errno set). */
int aof_manifest_persist(const char *dirpath, const char *appendfilename,
                         const struct aof_manifest *m);

#endif
