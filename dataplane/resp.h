/* RESP codec: an incremental request parser and a reply builder.
 *
 * The parser reads RESP2 multibulk requests ("*2\r\n$3\r\nGET\r\n...") and
 * inline commands ("GET foo\r\n") from a byte buffer that the caller owns.
 * It keeps its state between calls, so a request may be split anywhere across
 * reads and a huge bulk is never rescanned. Limits and error texts are those
 * of Redis 7.0 (networking.c): a protocol error is reported once and the
 * connection must then be closed after the error reply is flushed.
 *
 * The reply builder appends RESP2 or RESP3 encodings to a chain of fixed
 * chunks. Chunks are never reallocated, so the bytes of a chunk that is being
 * sent by the kernel stay put while later replies are appended after them.
 * A reply chain belongs to one connection (or, for a command run on another
 * shard, to the in-flight request until it is spliced into the connection).
 */
#ifndef SLUICE_RESP_H
#define SLUICE_RESP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define RESP_INLINE_MAX (64 * 1024)      /* PROTO_INLINE_MAX_SIZE */
#define RESP_MBULK_BIG_ARG (32 * 1024)   /* PROTO_MBULK_BIG_ARG */

/* One argument of a parsed request: an offset into the caller's buffer. For
 * inline requests the bytes are unquoted into the parser's own scratch. */
struct resp_arg {
    const char *ptr;
    size_t len;
};

enum resp_status {
    RESP_DONE = 0,   /* a complete request is in argv[0..argc) */
    RESP_NEED_MORE,  /* everything consumed so far is a prefix of a request */
    RESP_EMPTY,      /* consumed an empty line or "*0": nothing to run */
    RESP_PROTO_ERR,  /* err holds the reply text; close after replying */
};

struct resp_parser {
    /* configuration (set by the owner; may change between requests) */
    long long max_bulk_len;  /* proto-max-bulk-len */

    /* state kept across calls; offsets are relative to the request start */
    int kind;                /* 0 unknown, 1 multibulk, 2 inline */
    long long mbulk_left;    /* arguments still to read */
    long long bulk_len;      /* -1 while reading a $ header */
    size_t scan;             /* bytes of the request already parsed */
    int argc;
    int argv_cap;
    size_t *arg_off;         /* offsets of args from the request start */
    size_t *arg_len;

    /* filled on RESP_DONE */
    struct resp_arg *argv;
    char *inline_buf;        /* unquoted inline arguments live here */
    size_t inline_cap;
    const char *err;         /* error text on RESP_PROTO_ERR */
    char errbuf[64];
};

void resp_parser_init(struct resp_parser *p, long long max_bulk_len);
void resp_parser_free(struct resp_parser *p);
/* Forget any partial request (used when the buffer is discarded). */
void resp_parser_reset(struct resp_parser *p);

/* Parse at most one request from buf[*pos, len). On RESP_DONE and RESP_EMPTY
 * *pos moves past the request. On RESP_NEED_MORE *pos moves to the start of
 * the bytes that must be kept (the caller keeps buf[*pos, len) and calls again
 * with more bytes appended; offsets stay relative to *pos). argv pointers are
 * valid until the buffer is changed. */
enum resp_status resp_parse(struct resp_parser *p, const char *buf, size_t len,
                            size_t *pos);

/* Split one line with the inline-command quoting rules into p->argv
 * (arguments are unquoted into the parser's scratch). Returns argc, 0 for a
 * blank line, or -1 on unbalanced quotes. Also used for config files. */
int resp_split_inline(struct resp_parser *p, const char *line, size_t n);

/* While a bulk is being read: the number of bytes, counted from the start
 * of the pending request, that must be buffered before the parser can move
 * on (0 if unknown). Lets the caller size its buffer once for a large
 * argument instead of growing it read by read. */
size_t resp_parser_want(const struct resp_parser *p);

/* Strict decimal parse as Redis's string2ll: no spaces, no '+', no leading
 * zeros, no "-0", must fit in a long long. */
bool resp_parse_ll(const char *s, size_t n, long long *out);
/* A copy of argv and every argument's bytes in one allocation (free() it),
 * for requests kept beyond the read buffer (MULTI, other shards, blocked). */
struct resp_arg *resp_args_copy(int argc, const struct resp_arg *argv);

/* ---- replies ---- */

#define REPLY_CHUNK 16384

struct reply_chunk {
    struct reply_chunk *next;
    uint32_t off;   /* bytes already consumed (sent) from the front */
    uint32_t len;   /* bytes written */
    uint32_t cap;   /* bytes available in data */
    char data[];
};

struct reply {
    struct reply_chunk *head, *tail;
    size_t bytes;      /* total bytes queued, for limits and INFO */
    int proto;         /* 2 or 3 */
    uint32_t next_cap; /* size of the next chunk (grows to REPLY_CHUNK) */
};

/* First chunk of a reply that usually stays small (one command's reply
 * carried between workers): grows by doubling up to REPLY_CHUNK. */
#define REPLY_SMALL_CHUNK 256

void reply_init(struct reply *r, int proto);
/* Like reply_init, starting with a small chunk (see REPLY_SMALL_CHUNK). */
void reply_init_small(struct reply *r, int proto);
void reply_free(struct reply *r);
/* Move src to the end of dst; src becomes empty. A small src is copied
 * into dst's last chunk so that dst stays in few chunks (one send). */
void reply_splice(struct reply *dst, struct reply *src);
/* Drop n bytes from the front (after they were sent); frees spent chunks. */
void reply_consume(struct reply *r, size_t n);

void reply_raw(struct reply *r, const void *p, size_t n);
void reply_simple(struct reply *r, const char *s);          /* +s */
void reply_simple_fmt(struct reply *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void reply_error(struct reply *r, const char *s);           /* -s (s without "-") */
void reply_errorf(struct reply *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void reply_ok(struct reply *r);
void reply_int(struct reply *r, long long v);
void reply_bulk(struct reply *r, const void *p, size_t n);
void reply_bulk_cstr(struct reply *r, const char *s);
void reply_bulk_ll(struct reply *r, long long v);
void reply_null(struct reply *r);                            /* $-1 / _ */
void reply_null_array(struct reply *r);                      /* *-1 / _ */
void reply_array(struct reply *r, long long n);
void reply_map(struct reply *r, long long n);                /* n pairs */
void reply_set(struct reply *r, long long n);
void reply_push(struct reply *r, long long n);
void reply_double(struct reply *r, double d);                /* bulk in RESP2 */
void reply_bool(struct reply *r, bool v);                    /* :0/1 in RESP2 */
void reply_verbatim(struct reply *r, const char *p, size_t n, const char *ext);
void reply_bignum(struct reply *r, const char *digits);

/* Format a long double the way Redis formats INCRBYFLOAT results
 * (%.17Lf, trailing zeros removed). Returns the length written. */
int resp_format_ld(char *buf, size_t cap, long double v);
/* Format a double the way Redis formats scores (%.17g, inf/-inf). */
int resp_format_double(char *buf, size_t cap, double v);

#endif
