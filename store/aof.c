/* The append-only file on disk: the manifest of Redis 7.0's multi-part
 * layout, the file names, and the parser of the RESP command stream that
 * the AOF files hold (see aof.h).
 *
 * The manifest is read with the rules of Redis 7.0 (aofLoadManifestFromFile):
 *  - the text is read as fgets reads it, in pieces of at most 1024 bytes;
 *    a piece starting with '#' is a comment; any other piece must end in a
 *    newline ("too long line" otherwise, which also catches a last line
 *    without one); a line blank after trimming " \t\r\n" is invalid;
 *  - a line is split with the inline-command quoting rules (sdssplitargs)
 *    into at least 6 words, key/value pairs; "file", "seq" and "type" are
 *    matched without case, unknown keys are ignored (forward compatible);
 *    seq is read as atoll reads it, type is the first byte of its value;
 *  - a file name may not contain '/' or '\'; a line needs a name, a
 *    non-zero seq and a type; at most one base; incr seqs strictly grow;
 *  - a manifest with no line at all is an error (an all-comment one is not).
 * It is written as Redis writes it: base first, then history, then incr
 * files, one "file <name> seq <n> type <t>" line each, a name that needs it
 * quoted as sdscatrepr quotes it.
 *
 * The command stream is walked as Redis 7.0's loadSingleAppendOnlyFile
 * reads it (fgets lines of at most 1023 bytes, lenient atoi/strtol counts,
 * the CRLF after a bulk skipped unchecked), so the same files end the same
 * way: cleanly, truncated (an unexpected end of the input, to be cut at the
 * last whole command) or with a format error.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aof.h"
#include "resp.h"

#define MANIFEST_MAX_LINE 1024 /* Redis's MANIFEST_MAX_LINE */

/* ---- names ---- */

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = malloc((size_t)n + 1);
    if (!s)
        abort();
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

char *aof_base_name(const char *appendfilename, long long seq, bool rdb_preamble)
{
    return xasprintf("%s.%lld.base.%s", appendfilename, seq, rdb_preamble ? "rdb" : "aof");
}

char *aof_incr_name(const char *appendfilename, long long seq)
{
    return xasprintf("%s.%lld.incr.aof", appendfilename, seq);
}

char *aof_manifest_name(const char *appendfilename)
{
    return xasprintf("%s.manifest", appendfilename);
}

/* ---- manifest text ---- */

void aof_manifest_free(struct aof_manifest *m)
{
    if (m->base) {
        free(m->base->name);
        free(m->base);
    }
    for (size_t i = 0; i < m->nincr; i++)
        free(m->incr[i].name);
    for (size_t i = 0; i < m->nhist; i++)
        free(m->hist[i].name);
    free(m->incr);
    free(m->hist);
    memset(m, 0, sizeof(*m));
}

static void list_push(struct aof_file_info **list, size_t *n, struct aof_file_info fi)
{
    /* Grows by doubling: capacity is the next power of two >= n. */
    if ((*n & (*n - 1)) == 0) {
        size_t cap = *n ? *n * 2 : 1;
        struct aof_file_info *l = realloc(*list, cap * sizeof(**list));
        if (!l)
            abort();
        *list = l;
    }
    (*list)[(*n)++] = fi;
}

static bool is_trim(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* The error text: Redis's message, with the line it was found on when
 * Redis shows it. */
static int manifest_err(char *err, size_t errlen, const char *msg, int linenum,
                        const char *line, size_t linelen)
{
    if (err && errlen) {
        if (line)
            snprintf(err, errlen, "%s (line %d: '%.*s')", msg, linenum,
                     (int)(linelen > 200 ? 200 : linelen), line);
        else
            snprintf(err, errlen, "%s", msg);
    }
    return -1;
}

int aof_manifest_parse(const char *buf, size_t len, struct aof_manifest *m, char *err,
                       size_t errlen)
{
    memset(m, 0, sizeof(*m));
    struct resp_parser sp;
    resp_parser_init(&sp, LLONG_MAX);
    size_t pos = 0;
    int linenum = 0;
    long long maxseq = 0;
    const char *msg = NULL;
    const char *line = NULL; /* set once the line was trimmed: shown with the error */
    size_t linelen = 0;
    char *name = NULL;

    while (pos < len) {
        /* One fgets piece: up to the newline, at most MANIFEST_MAX_LINE
         * bytes; as a C string it ends at its first NUL. */
        size_t avail = len - pos < MANIFEST_MAX_LINE ? len - pos : MANIFEST_MAX_LINE;
        const char *piece = buf + pos;
        const char *nl = memchr(piece, '\n', avail);
        size_t plen = nl ? (size_t)(nl - piece) + 1 : avail;
        pos += plen;
        linenum++;
        size_t slen = strnlen(piece, plen);
        if (slen && piece[0] == '#')
            continue;
        if (!memchr(piece, '\n', slen)) {
            msg = "The AOF manifest file contains too long line";
            goto fail;
        }
        size_t a = 0, b = slen;
        while (a < b && is_trim(piece[a]))
            a++;
        while (b > a && is_trim(piece[b - 1]))
            b--;
        line = piece + a;
        linelen = b - a;
        if (!linelen) {
            msg = "Invalid AOF manifest file format";
            goto fail;
        }
        int argc = resp_split_inline(&sp, line, linelen);
        if (argc < 6 || argc % 2) {
            msg = "Invalid AOF manifest file format";
            goto fail;
        }
        long long seq = 0;
        char type = 0;
        for (int i = 0; i < argc; i += 2) {
            /* Keys and values are C strings to Redis: a NUL ends them. */
            const struct resp_arg *k = &sp.argv[i], *v = &sp.argv[i + 1];
            size_t klen = strnlen(k->ptr, k->len), vlen = strnlen(v->ptr, v->len);
            if (klen == 4 && !strncasecmp(k->ptr, "file", 4)) {
                free(name);
                name = strndup(v->ptr, vlen);
                if (!name)
                    abort();
                if (strchr(name, '/') || strchr(name, '\\')) {
                    msg = "File can't be a path, just a filename";
                    goto fail;
                }
            } else if (klen == 3 && !strncasecmp(k->ptr, "seq", 3)) {
                char tmp[64];
                size_t n = vlen < sizeof(tmp) - 1 ? vlen : sizeof(tmp) - 1;
                memcpy(tmp, v->ptr, n);
                tmp[n] = '\0';
                seq = strtoll(tmp, NULL, 10); /* atoll: leading blanks, sign, digits */
            } else if (klen == 4 && !strncasecmp(k->ptr, "type", 4)) {
                type = vlen ? v->ptr[0] : 0;
            }
        }
        if (!name || !seq || !type) {
            msg = "Invalid AOF manifest file format";
            goto fail;
        }
        struct aof_file_info fi = {.name = name, .seq = seq, .type = type};
        if (type == AOF_FILE_BASE) {
            if (m->base) {
                msg = "Found duplicate base file information";
                goto fail;
            }
            m->base = malloc(sizeof(*m->base));
            if (!m->base)
                abort();
            *m->base = fi;
            m->curr_base_seq = seq;
        } else if (type == AOF_FILE_HIST) {
            list_push(&m->hist, &m->nhist, fi);
        } else if (type == AOF_FILE_INCR) {
            if (seq <= maxseq) {
                msg = "Found a non-monotonic sequence number";
                goto fail;
            }
            list_push(&m->incr, &m->nincr, fi);
            m->curr_incr_seq = seq;
            maxseq = seq;
        } else {
            msg = "Unknown AOF file type";
            goto fail;
        }
        name = NULL;
        line = NULL;
    }
    resp_parser_free(&sp);
    if (linenum == 0) {
        aof_manifest_free(m);
        return manifest_err(err, errlen, "Found an empty AOF manifest", 0, NULL, 0);
    }
    return 0;

fail:
    free(name);
    resp_parser_free(&sp);
    aof_manifest_free(m);
    return manifest_err(err, errlen, msg, linenum, line, linelen);
}

/* As Redis's sdsneedsrepr: a byte that sdssplitargs would not read back
 * as itself outside quotes. Unlike Redis, an empty name is quoted too (""),
 * so that what is written always reads back (Redis never makes one). */
static bool needs_repr(const char *s)
{
    if (!*s)
        return true;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\' || c == '"' || !isprint(c) || isspace(c))
            return true;
    }
    return false;
}

/* Append a name to out (room already ensured: 4 bytes per byte + 3). */
static size_t put_name(char *out, const char *s)
{
    size_t o = 0;
    if (!needs_repr(s)) {
        size_t n = strlen(s);
        memcpy(out, s, n);
        return n;
    }
    out[o++] = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '\\': case '"': out[o++] = '\\'; out[o++] = (char)c; break;
        case '\n': out[o++] = '\\'; out[o++] = 'n'; break;
        case '\r': out[o++] = '\\'; out[o++] = 'r'; break;
        case '\t': out[o++] = '\\'; out[o++] = 't'; break;
        case '\a': out[o++] = '\\'; out[o++] = 'a'; break;
        case '\b': out[o++] = '\\'; out[o++] = 'b'; break;
        default:
            if (isprint(c))
                out[o++] = (char)c;
            else
                o += (size_t)sprintf(out + o, "\\x%02x", c);
        }
    }
    out[o++] = '"';
    return o;
}

static size_t put_line(char *out, const struct aof_file_info *fi)
{
    size_t o = 0;
    memcpy(out, "file ", 5);
    o += 5;
    o += put_name(out + o, fi->name);
    o += (size_t)sprintf(out + o, " seq %lld type %c\n", fi->seq, fi->type);
    return o;
}

static size_t line_room(const struct aof_file_info *fi)
{
    return strlen(fi->name) * 4 + 3 + 64;
}

char *aof_manifest_format(const struct aof_manifest *m)
{
    size_t room = 1;
    if (m->base)
        room += line_room(m->base);
    for (size_t i = 0; i < m->nhist; i++)
        room += line_room(&m->hist[i]);
    for (size_t i = 0; i < m->nincr; i++)
        room += line_room(&m->incr[i]);
    char *out = malloc(room);
    if (!out)
        abort();
    size_t o = 0;
    if (m->base)
        o += put_line(out + o, m->base);
    for (size_t i = 0; i < m->nhist; i++)
        o += put_line(out + o, &m->hist[i]);
    for (size_t i = 0; i < m->nincr; i++)
        o += put_line(out + o, &m->incr[i]);
    out[o] = '\0';
    return out;
}

/* ---- manifest file ---- */

int aof_manifest_load(const char *dirpath, const char *appendfilename, struct aof_manifest *m,
                      char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    char *name = aof_manifest_name(appendfilename);
    char *path = xasprintf("%s/%s", dirpath, name);
    free(name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR) {
            free(path);
            return 1;
        }
        snprintf(err, errlen, "can't open the AOF manifest file %s for reading: %s", path,
                 strerror(e));
        free(path);
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        abort();
    for (;;) {
        if (len == cap) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb)
                abort();
            buf = nb;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "Read AOF manifest failed (%s): %s", path, strerror(errno));
            close(fd);
            free(buf);
            free(path);
            return -1;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    int rc = aof_manifest_parse(buf, len, m, err, errlen);
    free(buf);
    free(path);
    return rc;
}

int aof_fsync_dir(const char *dirpath)
{
    int fd = open(dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

int aof_manifest_persist(const char *dirpath, const char *appendfilename,
                         const struct aof_manifest *m)
{
    char *name = aof_manifest_name(appendfilename);
    char *path = xasprintf("%s/%s", dirpath, name);
    char *tmp = xasprintf("%s/temp-%s", dirpath, name); /* Redis's temp name */
    free(name);
    char *text = aof_manifest_format(m);
    size_t len = strlen(text), off = 0;
    int rc = -1, e = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        e = errno;
        goto out;
    }
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            e = errno;
            break;
        }
        off += (size_t)w;
    }
    if (off == len && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e) {
        unlink(tmp);
        goto out;
    }
    if (aof_fsync_dir(dirpath) != 0) {
        e = errno;
        goto out;
    }
    rc = 0;
out:
    free(text);
    free(path);
    free(tmp);
    errno = e;
    return rc;
}

/* ---- the command stream ---- */

#define AOF_LINE_MAX 1024 /* Redis's AOF_ANNOTATION_LINE_MAX_LEN: fgets buffer */

bool aof_has_rdb_preamble(const void *buf, size_t len)
{
    return len >= 5 && memcmp(buf, "REDIS", 5) == 0;
}

/* The length of the line at buf[pos] as fgets(b, AOF_LINE_MAX) reads it:
 * through the newline, at most AOF_LINE_MAX - 1 bytes. Its C string (up
 * to a NUL) is copied into line; returns the bytes consumed, *clen the
 * string's length. */
static size_t read_line(const char *buf, size_t len, size_t pos, char *line, size_t *clen)
{
    size_t avail = len - pos < AOF_LINE_MAX - 1 ? len - pos : AOF_LINE_MAX - 1;
    const char *nl = memchr(buf + pos, '\n', avail);
    size_t n = nl ? (size_t)(nl - (buf + pos)) + 1 : avail;
    size_t c = strnlen(buf + pos, n);
    memcpy(line, buf + pos, c);
    line[c] = '\0';
    *clen = c;
    return n;
}

static bool name_is(const struct resp_arg *a, const char *word)
{
    size_t n = strlen(word);
    return a->len == n && !strncasecmp(a->ptr, word, n);
}

static void grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 8;
    while (c < need)
        c *= 2;
    void *np = realloc(*p, c * size);
    if (!np)
        abort();
    *p = np;
    *cap = c;
}

enum aof_parse_status aof_parse_commands(const char *buf, size_t len, size_t start,
                                         const struct aof_parse_ops *ops,
                                         struct aof_parse_result *r)
{
    memset(r, 0, sizeof(*r));
    if (start > len)
        start = len;
    r->valid_up_to = start;
    size_t pos = start, before_multi = start;
    size_t next_progress = start + AOF_PROGRESS_BYTES;
    bool in_multi = false;
    struct resp_arg *args = NULL; /* the command being read */
    size_t args_cap = 0;
    /* A transaction's commands until EXEC: their arguments one after the
     * other, and each command's argc. They point into buf. */
    struct resp_arg *q = NULL;
    size_t qn = 0, qcap = 0;
    int *qargc = NULL;
    size_t qcmds = 0, qcmdcap = 0;
    char line[AOF_LINE_MAX];
    size_t clen;
    enum aof_parse_status st = AOF_PARSE_OK;

    while (pos < len) {
        if (ops->progress && pos >= next_progress) {
            ops->progress(ops->arg, pos, len);
            next_progress = pos + AOF_PROGRESS_BYTES;
        }
        size_t cmd_off = pos;
        pos += read_line(buf, len, pos, line, &clen);
        if (clen && line[0] == '#')
            continue; /* annotation */
        if (!clen || line[0] != '*') {
            st = AOF_PARSE_BAD_FORMAT;
            r->error_off = cmd_off;
            break;
        }
        if (clen == 1) {
            /* "*" alone (as a C string): a cut command when the read ran
             * into the end of the input (Redis's feof), else a NUL follows
             * and Redis's read fails. */
            bool eof = pos >= len && buf[pos - 1] != '\n';
            st = eof ? AOF_PARSE_TRUNCATED : AOF_PARSE_BAD_FORMAT;
            r->error_off = cmd_off;
            break;
        }
        int argc = (int)strtol(line + 1, NULL, 10); /* atoi */
        if (argc < 1) {
            st = AOF_PARSE_BAD_FORMAT;
            r->error_off = cmd_off;
            break;
        }
        int j;
        for (j = 0; j < argc; j++) {
            if (pos >= len) {
                st = AOF_PARSE_TRUNCATED;
                break;
            }
            size_t arg_off = pos;
            pos += read_line(buf, len, pos, line, &clen);
            if (!clen || line[0] != '$') {
                st = AOF_PARSE_BAD_FORMAT;
                r->error_off = arg_off;
                break;
            }
            long blen = strtol(line + 1, NULL, 10);
            if (blen < 0) { /* Redis would take it as a huge unsigned length */
                st = AOF_PARSE_BAD_FORMAT;
                r->error_off = arg_off;
                break;
            }
            if ((unsigned long)blen > len - pos) {
                st = AOF_PARSE_TRUNCATED;
                break;
            }
            grow((void **)&args, &args_cap, (size_t)j + 1, sizeof(*args));
            args[j].ptr = buf + pos;
            args[j].len = (size_t)blen;
            pos += (size_t)blen;
            if (len - pos < 2) { /* the CRLF, read but not checked, as Redis */
                st = AOF_PARSE_TRUNCATED;
                break;
            }
            pos += 2;
        }
        if (j < argc) {
            if (st == AOF_PARSE_TRUNCATED)
                r->error_off = cmd_off;
            break;
        }
        if (ops->check && ops->check(ops->arg, argc, args)) {
            st = AOF_PARSE_STOPPED;
            r->error_off = cmd_off;
            break;
        }
        bool is_multi = name_is(&args[0], "multi"), is_exec = name_is(&args[0], "exec");
        if (is_multi)
            before_multi = r->valid_up_to; /* as Redis, also for a nested MULTI */
        int rc = 0;
        if (in_multi && !is_exec) {
            grow((void **)&q, &qcap, qn + (size_t)argc, sizeof(*q));
            memcpy(q + qn, args, (size_t)argc * sizeof(*q));
            qn += (size_t)argc;
            grow((void **)&qargc, &qcmdcap, qcmds + 1, sizeof(*qargc));
            qargc[qcmds++] = argc;
        } else if (is_multi) {
            in_multi = true;
        } else if (is_exec && in_multi) {
            size_t k = 0;
            for (size_t i = 0; i < qcmds && !rc; i++) {
                rc = ops->apply ? ops->apply(ops->arg, qargc[i], q + k) : 0;
                r->commands += !rc;
                k += (size_t)qargc[i];
            }
            in_multi = false;
            qn = qcmds = 0;
        } else {
            rc = ops->apply ? ops->apply(ops->arg, argc, args) : 0;
            r->commands += !rc;
        }
        if (rc) {
            st = AOF_PARSE_STOPPED;
            r->error_off = cmd_off;
            break;
        }
        r->valid_up_to = pos;
    }
    if ((st == AOF_PARSE_OK || st == AOF_PARSE_TRUNCATED) && in_multi) {
        /* The input ends inside a transaction, whole or cut: it is reverted
         * and the file is truncated before its MULTI. (Redis 7.0 cuts a torn
         * one after its last whole command instead, which leaves an open
         * MULTI that swallows the commands appended after it.) */
        st = AOF_PARSE_TRUNCATED;
        r->multi_reverted = true;
        r->valid_up_to = before_multi;
        r->error_off = before_multi;
    }
    free(args);
    free(q);
    free(qargc);
    r->status = st;
    return st;
}
