/* Unit tests for the RESP codec (dataplane/resp.c).
 *
 * The request parser is driven the way a connection drives it: bytes arrive
 * in pieces, the connection keeps the unconsumed tail buf[pos..] and calls
 * again with more bytes appended. Every sample request is fed whole, split at
 * every byte position, split at every pair of positions (small samples) and
 * one byte at a time; each feeding must produce the same transcript of
 * results. Error texts are Redis 7.0.15's, checked against a real
 * redis-server (the bytes it sent are quoted in the tests).
 *
 * The reply builder is checked byte for byte in RESP2 and RESP3, and across
 * chunk boundaries for large replies.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

#define MAX_BULK (512LL * 1024 * 1024) /* Redis's default proto-max-bulk-len */

/* ---- a growable string for transcripts ---- */

struct sb {
    char *s;
    size_t len, cap;
};

static void sb_add(struct sb *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        cr_assert_not_null(b->s);
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(struct sb *b, const char *s) { sb_add(b, s, strlen(s)); }

/* Append bytes quoted so that a transcript is readable in a failure message
 * and binary-safe: 'a\r\n\x00'. */
static void sb_quoted(struct sb *b, const char *p, size_t n)
{
    sb_str(b, "'");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        char tmp[8];
        if (c == '\r')
            sb_str(b, "\\r");
        else if (c == '\n')
            sb_str(b, "\\n");
        else if (c == '\\' || c == '\'') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            sb_add(b, tmp, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            snprintf(tmp, sizeof(tmp), "\\x%02x", c);
            sb_str(b, tmp);
        } else
            sb_add(b, &p[i], 1);
    }
    sb_str(b, "'");
}

/* ---- a simulated connection ---- */

struct conn {
    struct resp_parser p;
    char *buf;   /* the unconsumed tail, owned by the connection */
    size_t len;
    bool fresh;  /* move the tail to a new allocation on every read */
    bool dead;   /* a protocol error was reported; ignore further input */
    struct sb out;
};

static void conn_init(struct conn *c, long long max_bulk, bool fresh)
{
    memset(c, 0, sizeof(*c));
    resp_parser_init(&c->p, max_bulk);
    c->fresh = fresh;
}

static void conn_free(struct conn *c)
{
    resp_parser_free(&c->p);
    free(c->buf);
    free(c->out.s);
}

/* An argument in a transcript: quoted, or for long ones (which would make
 * every-split runs quadratic in formatting) its length and a hash. */
static void sb_arg(struct sb *b, const char *p, size_t n)
{
    if (n <= 64)
        return sb_quoted(b, p, n);
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
    }
    for (; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "<%zu bytes, hash %016llx>", n, (unsigned long long)h);
    sb_str(b, tmp);
}

static void record_done(struct conn *c, const char *req, size_t reqlen)
{
    char tmp[32];
    cr_assert_gt(c->p.argc, 0, "RESP_DONE with argc %d", c->p.argc);
    snprintf(tmp, sizeof(tmp), "DONE %d", c->p.argc);
    sb_str(&c->out, tmp);
    for (int i = 0; i < c->p.argc; i++) {
        const struct resp_arg *a = &c->p.argv[i];
        bool in_req = a->ptr >= req && a->ptr + a->len <= req + reqlen;
        bool in_scratch = c->p.inline_buf && a->ptr >= c->p.inline_buf &&
                          a->ptr + a->len <= c->p.inline_buf + c->p.inline_cap;
        cr_assert(in_req || in_scratch, "argv[%d] points outside the request and scratch", i);
        sb_str(&c->out, " ");
        sb_arg(&c->out, a->ptr, a->len);
    }
    sb_str(&c->out, "\n");
}

/* Deliver n more bytes, then parse every complete request in the buffer. */
static void conn_read(struct conn *c, const char *data, size_t n)
{
    if (c->dead || n == 0)
        return;
    if (c->fresh) {
        /* A new allocation each time: a parser that kept a pointer into the
         * old buffer would read freed memory (caught under ASan). */
        char *nb = malloc(c->len + n);
        cr_assert_not_null(nb);
        if (c->len)
            memcpy(nb, c->buf, c->len);
        free(c->buf);
        c->buf = nb;
    } else {
        c->buf = realloc(c->buf, c->len + n);
        cr_assert_not_null(c->buf);
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;

    size_t pos = 0;
    for (;;) {
        size_t start = pos;
        enum resp_status st = resp_parse(&c->p, c->buf, c->len, &pos);
        cr_assert(pos >= start && pos <= c->len, "pos moved from %zu to %zu (len %zu)", start,
                  pos, c->len);
        if (st == RESP_DONE) {
            cr_assert_gt(pos, start);
            record_done(c, c->buf + start, pos - start);
        } else if (st == RESP_EMPTY) {
            cr_assert_gt(pos, start);
            sb_str(&c->out, "EMPTY\n");
        } else if (st == RESP_NEED_MORE) {
            cr_assert_eq(pos, start, "RESP_NEED_MORE moved pos from the request start");
            break;
        } else {
            cr_assert_eq(st, RESP_PROTO_ERR);
            cr_assert_not_null(c->p.err);
            sb_str(&c->out, "ERR ");
            sb_str(&c->out, c->p.err);
            sb_str(&c->out, "\n");
            c->dead = true;
            break;
        }
    }
    memmove(c->buf, c->buf + pos, c->len - pos);
    c->len -= pos;
}

/* The transcript ends with INCOMPLETE when bytes of an unfinished request
 * are still held at the end of the input. */
static void conn_finish(struct conn *c)
{
    if (!c->dead && c->len)
        sb_str(&c->out, "INCOMPLETE\n");
}

/* Feed data cut at the given ascending positions; returns the transcript
 * (malloc'd). */
static char *feed_cuts(const char *data, size_t n, const size_t *cuts, int ncuts,
                       long long max_bulk, bool fresh)
{
    struct conn c;
    size_t at = 0;

    conn_init(&c, max_bulk, fresh);
    for (int i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        conn_read(&c, data + at, end - at);
        at = end;
    }
    conn_finish(&c);
    char *t = c.out.s ? c.out.s : strdup("");
    c.out.s = NULL;
    conn_free(&c);
    return t;
}

static char *feed_whole(const char *data, size_t n)
{
    return feed_cuts(data, n, NULL, 0, MAX_BULK, true);
}

static char *feed_bytewise(const char *data, size_t n, bool fresh)
{
    struct conn c;
    conn_init(&c, MAX_BULK, fresh);
    for (size_t i = 0; i < n; i++)
        conn_read(&c, data + i, 1);
    conn_finish(&c);
    char *t = c.out.s ? c.out.s : strdup("");
    c.out.s = NULL;
    conn_free(&c);
    return t;
}

/* Feed data whole, at every single split point, at every pair of split
 * points (short inputs), and byte by byte; every transcript must equal
 * expected. */
static void check_all_splits(const char *data, size_t n, const char *expected)
{
    bool small = n < 4096; /* large inputs reuse one growing buffer */
    char *t = feed_whole(data, n);
    cr_assert_str_eq(t, expected, "whole input");
    free(t);

    for (size_t k = 0; k <= n; k++) {
        t = feed_cuts(data, n, &k, 1, MAX_BULK, small);
        cr_assert_str_eq(t, expected, "split at %zu of %zu", k, n);
        free(t);
    }
    if (n <= 160) {
        for (size_t i = 1; i < n; i++) {
            for (size_t j = i + 1; j < n; j++) {
                size_t cuts[2] = {i, j};
                t = feed_cuts(data, n, cuts, 2, MAX_BULK, true);
                cr_assert_str_eq(t, expected, "split at %zu and %zu of %zu", i, j, n);
                free(t);
            }
        }
    }
    t = feed_bytewise(data, n, small);
    cr_assert_str_eq(t, expected, "byte at a time");
    free(t);
}

#define CHECK_SPLITS(lit, expected) check_all_splits(lit, sizeof(lit) - 1, expected)

/* ---- request parsing: valid input, split anywhere ---- */

Test(resp_parse, reads_a_multibulk_request_with_several_arguments_split_anywhere)
{
    CHECK_SPLITS("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
                 "DONE 3 'SET' 'key' 'value'\n");
    CHECK_SPLITS("*5\r\n$4\r\nMSET\r\n$1\r\na\r\n$0\r\n\r\n$2\r\nbb\r\n$10\r\n0123456789\r\n",
                 "DONE 5 'MSET' 'a' '' 'bb' '0123456789'\n");
}

Test(resp_parse, keeps_cr_lf_and_nul_bytes_inside_bulk_payloads)
{
    CHECK_SPLITS("*3\r\n$3\r\nSET\r\n$4\r\na\r\nb\r\n$9\r\n\r\n\0\r\n*1\r\n\r\n",
                 "DONE 3 'SET' 'a\\r\\nb' '\\r\\n\\x00\\r\\n*1\\r\\n'\n");
    CHECK_SPLITS("*2\r\n$4\r\nECHO\r\n$6\r\n$3\r\nab\r\n",
                 "DONE 2 'ECHO' '$3\\r\\nab'\n");
}

Test(resp_parse, reads_a_pipeline_of_mixed_requests_split_anywhere)
{
    CHECK_SPLITS("*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\n*0\r\n*-1\r\n"
                 "\r\nGET k\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
                 "DONE 1 'PING'\n"
                 "DONE 2 'ECHO' 'hi'\n"
                 "DONE 1 'PING'\n"
                 "EMPTY\n"
                 "EMPTY\n"
                 "EMPTY\n"
                 "DONE 2 'GET' 'k'\n"
                 "DONE 2 'GET' 'k'\n");
}

Test(resp_parse, skips_the_two_bytes_after_a_payload_unchecked_as_redis_does)
{
    /* redis-server 7.0.15 answers "+PONG\r\n+PONG\r\n" to this. */
    CHECK_SPLITS("*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n", "DONE 1 'PING'\nDONE 1 'PING'\n");
}

Test(resp_parse, treats_star_zero_and_star_minus_one_as_empty_requests)
{
    CHECK_SPLITS("*0\r\n", "EMPTY\n");
    CHECK_SPLITS("*-1\r\n", "EMPTY\n");
    CHECK_SPLITS("*-7\r\n*1\r\n$4\r\nPING\r\n", "EMPTY\nDONE 1 'PING'\n");
}

Test(resp_parse, unquotes_inline_double_quotes_and_hex_escapes)
{
    /* redis-server: ECHO "\x41\x42\n\"q\"" -> $6 AB\n"q" */
    CHECK_SPLITS("SET \"a b\" \"\\x41\\x42\\n\\\"q\\\"\"\r\n",
                 "DONE 3 'SET' 'a b' 'AB\\n\"q\"'\n");
    /* An invalid \x escape keeps the x: "\x4g" -> x4g. */
    CHECK_SPLITS("ECHO \"\\x41\\x4g\\xfF\"\n", "DONE 2 'ECHO' 'Ax4g\\xff'\n");
    CHECK_SPLITS("ECHO \"\\r\\t\\b\\a\\\\\\z\"\n",
                 "DONE 2 'ECHO' '\\r\\x09\\x08\\x07\\\\z'\n");
    CHECK_SPLITS("ECHO \"\" x\"a b\"\n", "DONE 3 'ECHO' '' 'xa b'\n");
}

Test(resp_parse, unquotes_inline_single_quotes_with_only_escaped_quote)
{
    CHECK_SPLITS("ECHO 'it\\'s' 'a\"b' 'a\\nb' ''\n",
                 "DONE 5 'ECHO' 'it\\'s' 'a\"b' 'a\\\\nb' ''\n");
}

Test(resp_parse, splits_inline_words_on_spaces_and_tabs_and_keeps_other_bytes)
{
    CHECK_SPLITS("  SET\tk   v\x0b" "w  \r\n", "DONE 3 'SET' 'k' 'v\\x0bw'\n");
    CHECK_SPLITS("ECHO a\\\n", "DONE 2 'ECHO' 'a\\\\'\n");
    /* A lone \r inside the line separates words; only the \r before \n
     * belongs to the terminator. */
    CHECK_SPLITS("ECHO a\rb\r\r\n", "DONE 3 'ECHO' 'a' 'b'\n");
}

Test(resp_parse, reports_blank_inline_lines_as_empty)
{
    CHECK_SPLITS("\r\n\n   \r\n\t\nPING\r\n", "EMPTY\nEMPTY\nEMPTY\nEMPTY\nDONE 1 'PING'\n");
}

Test(resp_parse, holds_an_unfinished_request_until_the_rest_arrives)
{
    CHECK_SPLITS("*2\r\n$3\r\nGET\r\n$1\r\nk", "INCOMPLETE\n");
    CHECK_SPLITS("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGE", "DONE 1 'PING'\nINCOMPLETE\n");
    CHECK_SPLITS("PING\r\nECHO \"unfinished", "DONE 1 'PING'\nINCOMPLETE\n");
    CHECK_SPLITS("*3\r", "INCOMPLETE\n");
}

static char *make_big_pipeline(size_t bulk, size_t *n, char **payload)
{
    char *p = malloc(bulk);
    cr_assert_not_null(p);
    /* A payload full of protocol-looking bytes. */
    for (size_t i = 0; i < bulk; i++)
        p[i] = "*$\r\n0123456789abc"[i * 7 % 17];
    char hdr[64];
    int h = snprintf(hdr, sizeof(hdr), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%zu\r\n", bulk);
    const char *tail = "\r\nPING\r\n";
    char *d = malloc(h + bulk + strlen(tail));
    cr_assert_not_null(d);
    memcpy(d, hdr, h);
    memcpy(d + h, p, bulk);
    memcpy(d + h + bulk, tail, strlen(tail));
    *n = h + bulk + strlen(tail);
    *payload = p;
    return d;
}

Test(resp_parse, reads_a_bulk_larger_than_the_big_arg_threshold_split_anywhere, .timeout = 120)
{
    size_t n, bulk = RESP_MBULK_BIG_ARG + 7000;
    char *payload;
    char *d = make_big_pipeline(bulk, &n, &payload);
    struct sb exp = {0};

    sb_str(&exp, "DONE 3 'SET' 'k' ");
    sb_arg(&exp, payload, bulk);
    sb_str(&exp, "\nDONE 1 'PING'\n");
    check_all_splits(d, n, exp.s);
    free(exp.s);
    free(payload);
    free(d);
}

Test(resp_parse, tells_the_caller_how_many_bytes_a_large_bulk_needs)
{
    struct resp_parser p;
    const char *d = "*2\r\n$3\r\nSET\r\n$100000\r\nabc";
    size_t pos = 0;

    resp_parser_init(&p, MAX_BULK);
    cr_assert_eq(resp_parser_want(&p), 0);
    cr_assert_eq(resp_parse(&p, d, strlen(d), &pos), RESP_NEED_MORE);
    cr_assert_eq(pos, 0);
    /* The whole request up to the end of the bulk: header bytes + payload. */
    size_t w = resp_parser_want(&p);
    cr_assert_eq(w, strlen("*2\r\n$3\r\nSET\r\n$100000\r\n") + 100002, "want %zu", w);
    resp_parser_free(&p);
}

Test(resp_parse, does_not_trust_a_huge_argument_count_for_allocation)
{
    struct resp_parser p;
    const char *d = "*2147483647\r\n$4\r\nPING\r\n";
    size_t pos = 0;

    resp_parser_init(&p, MAX_BULK);
    cr_assert_eq(resp_parse(&p, d, strlen(d), &pos), RESP_NEED_MORE);
    cr_assert_leq(p.argv_cap, 1024);
    resp_parser_free(&p);
}

Test(resp_parse, starts_over_after_a_reset)
{
    struct resp_parser p;
    const char *a = "*2\r\n$3\r\nGET\r\n$1";
    const char *b = "PING\r\n";
    size_t pos = 0;

    resp_parser_init(&p, MAX_BULK);
    cr_assert_eq(resp_parse(&p, a, strlen(a), &pos), RESP_NEED_MORE);
    resp_parser_reset(&p);
    cr_assert_eq(resp_parse(&p, b, strlen(b), &pos), RESP_DONE);
    cr_assert_eq(p.argc, 1);
    cr_assert_eq(p.argv[0].len, 4);
    cr_assert_eq(memcmp(p.argv[0].ptr, "PING", 4), 0);
    cr_assert_eq(pos, strlen(b));
    resp_parser_free(&p);
}

Test(resp_split_inline, splits_one_line_with_the_inline_quoting_rules)
{
    struct resp_parser p;
    const char *line = "SET \"a b\" 'c\\'d' \\x41";
    resp_parser_init(&p, MAX_BULK);
    cr_assert_eq(resp_split_inline(&p, line, strlen(line)), 4);
    cr_assert_eq(p.argc, 4);
    const char *want[] = {"SET", "a b", "c'd", "\\x41"};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(p.argv[i].len, strlen(want[i]));
        cr_assert_eq(memcmp(p.argv[i].ptr, want[i], p.argv[i].len), 0, "argument %d", i);
    }
    cr_assert_eq(resp_split_inline(&p, "  \t ", 4), 0, "a blank line has no arguments");
    cr_assert_eq(resp_split_inline(&p, "GET \"k", 6), -1, "unbalanced quotes");
    cr_assert_eq(resp_split_inline(&p, "GET 'k'x", 8), -1, "closing quote before a letter");
    resp_parser_free(&p);
}

/* ---- request parsing: protocol errors with Redis 7.0's texts ---- */

/* The error reply a client sees, built as the connection would build it. */
static char *error_reply(const char *err)
{
    struct reply r;
    reply_init(&r, 2);
    reply_error(&r, err);
    char *s = malloc(r.bytes + 1);
    size_t n = 0;
    for (struct reply_chunk *c = r.head; c; c = c->next) {
        memcpy(s + n, c->data + c->off, c->len - c->off);
        n += c->len - c->off;
    }
    s[n] = '\0';
    reply_free(&r);
    return s;
}

/* Feed the input split every way; the transcript must end in the error, and
 * the reply text must be the bytes redis-server 7.0.15 sent. */
static void check_error(const char *data, size_t n, const char *before, const char *err,
                        const char *redis_reply)
{
    struct sb exp = {0};
    sb_str(&exp, before);
    sb_str(&exp, "ERR ");
    sb_str(&exp, err);
    sb_str(&exp, "\n");
    check_all_splits(data, n, exp.s);
    free(exp.s);

    char *r = error_reply(err);
    cr_assert_str_eq(r, redis_reply);
    free(r);
}

#define CHECK_ERROR(lit, before, err, redis) check_error(lit, sizeof(lit) - 1, before, err, redis)

#define E_MBULK "ERR Protocol error: invalid multibulk length"
#define E_BULK "ERR Protocol error: invalid bulk length"
#define E_QUOTES "ERR Protocol error: unbalanced quotes in request"

Test(resp_errors, rejects_a_bad_multibulk_count_as_invalid_multibulk_length)
{
    const char *redis = "-" E_MBULK "\r\n";
    CHECK_ERROR("*x\r\n", "", E_MBULK, redis);
    CHECK_ERROR("*\r\n", "", E_MBULK, redis);
    CHECK_ERROR("*+1\r\n", "", E_MBULK, redis);
    CHECK_ERROR("*01\r\n", "", E_MBULK, redis);
    CHECK_ERROR("*-0\r\n", "", E_MBULK, redis);
    CHECK_ERROR("* 1\r\n", "", E_MBULK, redis);
    CHECK_ERROR("*2147483648\r\n", "", E_MBULK, redis);
    CHECK_ERROR("*1\r\n$4\r\nPING\r\n*1x\r\n*1\r\n$4\r\nPING\r\n", "DONE 1 'PING'\n", E_MBULK,
                redis);
}

Test(resp_errors, rejects_a_bad_bulk_length_as_invalid_bulk_length)
{
    const char *redis = "-" E_BULK "\r\n";
    CHECK_ERROR("*1\r\n$-1\r\n", "", E_BULK, redis);
    CHECK_ERROR("*1\r\n$-0\r\n", "", E_BULK, redis);
    CHECK_ERROR("*1\r\n$x\r\n", "", E_BULK, redis);
    CHECK_ERROR("*1\r\n$\r\n", "", E_BULK, redis);
    CHECK_ERROR("*1\r\n$01\r\n", "", E_BULK, redis);
    CHECK_ERROR("*1\r\n$+1\r\n", "", E_BULK, redis);
    CHECK_ERROR("*1\r\n$ 1\r\n", "", E_BULK, redis);
    CHECK_ERROR("*1\r\n$1 \r\n", "", E_BULK, redis);
    CHECK_ERROR("*2\r\n$3\r\nGET\r\n$99999999999999999999\r\n", "", E_BULK, redis);
    /* Above proto-max-bulk-len (512MB by default). */
    CHECK_ERROR("*1\r\n$536870913\r\n", "", E_BULK, redis);
}

Test(resp_errors, accepts_a_bulk_of_exactly_max_bulk_len_and_rejects_one_more)
{
    struct conn c;
    const char *ok = "*1\r\n$536870912\r\n";
    conn_init(&c, MAX_BULK, true);
    conn_read(&c, ok, strlen(ok));
    conn_finish(&c);
    cr_assert_str_eq(c.out.s, "INCOMPLETE\n");
    conn_free(&c);

    const char *d = "*2\r\n$4\r\nECHO\r\n$10\r\n0123456789\r\n*2\r\n$4\r\nECHO\r\n$11\r\n";
    conn_init(&c, 10, true);
    conn_read(&c, d, strlen(d));
    cr_assert_str_eq(c.out.s, "DONE 2 'ECHO' '0123456789'\nERR " E_BULK "\n");
    conn_free(&c);
}

Test(resp_errors, names_the_unexpected_byte_where_a_bulk_header_should_start)
{
    CHECK_ERROR("*1\r\nx4\r\n", "", "ERR Protocol error: expected '$', got 'x'",
                "-ERR Protocol error: expected '$', got 'x'\r\n");
    CHECK_ERROR("*2\r\n$3\r\nGET\r\n:4\r\n", "", "ERR Protocol error: expected '$', got ':'",
                "-ERR Protocol error: expected '$', got ':'\r\n");
    /* The byte is a \r here; the reply shows it as a space, as Redis's does. */
    CHECK_ERROR("*1\r\n\r\n", "", "ERR Protocol error: expected '$', got '\r'",
                "-ERR Protocol error: expected '$', got ' '\r\n");
}

Test(resp_errors, rejects_unbalanced_inline_quotes)
{
    const char *redis = "-" E_QUOTES "\r\n";
    CHECK_ERROR("SET \"a\r\n", "", E_QUOTES, redis);
    CHECK_ERROR("SET 'a\r\n", "", E_QUOTES, redis);
    CHECK_ERROR("SET \"a\"b\r\n", "", E_QUOTES, redis);
    CHECK_ERROR("SET 'a'b\r\n", "", E_QUOTES, redis);
    CHECK_ERROR("ECHO \"a\\\"\n", "", E_QUOTES, redis);
    CHECK_ERROR("ECHO x\"a b\"y\n", "", E_QUOTES, redis);
    CHECK_ERROR("PING\r\nECHO 'it\\'\n", "DONE 1 'PING'\n", E_QUOTES, redis);
}

/* A line of n filler bytes starting with first, without any \r or \n. */
static char *filler(char first, const char *prefix, size_t n)
{
    char *d = malloc(n);
    cr_assert_not_null(d);
    size_t pl = strlen(prefix);
    memcpy(d, prefix, pl);
    for (size_t i = pl; i < n; i++)
        d[i] = first;
    return d;
}

/* Up to RESP_INLINE_MAX bytes without the line end (counted from the start
 * of the line being read) are a prefix; one more byte is a protocol error,
 * whether the bytes come at once or in reads. */
static void check_too_big(const char *prefix, size_t line_start, char fill, const char *err)
{
    size_t limit = line_start + RESP_INLINE_MAX;
    char *d = filler(fill, prefix, limit + 1);

    char *t = feed_cuts(d, limit, NULL, 0, MAX_BULK, false);
    cr_assert_str_eq(t, "INCOMPLETE\n", "%zu bytes", limit);
    free(t);

    char exp[160];
    snprintf(exp, sizeof(exp), "ERR %s\n", err);
    t = feed_cuts(d, limit + 1, NULL, 0, MAX_BULK, false);
    cr_assert_str_eq(t, exp);
    free(t);

    size_t cuts[40];
    int nc = 0;
    for (size_t at = 4096; at < limit + 1 && nc < 40; at += 4096)
        cuts[nc++] = at;
    t = feed_cuts(d, limit + 1, cuts, nc, MAX_BULK, false);
    cr_assert_str_eq(t, exp, "in 4096-byte reads");
    free(t);

    char *r = error_reply(err);
    char redis[160];
    snprintf(redis, sizeof(redis), "-%s\r\n", err);
    cr_assert_str_eq(r, redis);
    free(r);
    free(d);
}

Test(resp_errors, rejects_a_multibulk_count_line_longer_than_64k)
{
    check_too_big("*", 0, '1', "ERR Protocol error: too big mbulk count string");
}

Test(resp_errors, rejects_a_bulk_count_line_longer_than_64k)
{
    check_too_big("*2\r\n$3\r\nGET\r\n$", 13, '1', "ERR Protocol error: too big bulk count string");
}

Test(resp_errors, rejects_an_inline_request_longer_than_64k)
{
    check_too_big("PING ", 0, 'a', "ERR Protocol error: too big inline request");
}

Test(resp_errors, accepts_a_long_inline_line_that_arrives_whole)
{
    /* Like Redis, the limit only applies while no line end has arrived. */
    size_t n = RESP_INLINE_MAX * 2;
    char *d = filler('a', "ECHO ", n);
    d[n - 1] = '\n';
    char *t = feed_whole(d, n);
    struct sb exp = {0};
    sb_str(&exp, "DONE 2 'ECHO' ");
    sb_arg(&exp, d + 5, n - 6);
    sb_str(&exp, "\n");
    cr_assert_str_eq(t, exp.s);
    free(exp.s);
    free(t);
    free(d);
}

/* ---- resp_parse_ll ---- */

Test(resp_parse_ll, accepts_canonical_decimals_including_the_extremes)
{
    struct {
        const char *s;
        long long v;
    } ok[] = {
        {"0", 0}, {"1", 1}, {"-1", -1}, {"10", 10}, {"123456789", 123456789},
        {"9223372036854775807", LLONG_MAX}, {"-9223372036854775808", LLONG_MIN},
        {"-9223372036854775807", -LLONG_MAX},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        long long v = 42;
        cr_assert(resp_parse_ll(ok[i].s, strlen(ok[i].s), &v), "%s rejected", ok[i].s);
        cr_assert_eq(v, ok[i].v, "%s parsed as %lld", ok[i].s, v);
    }
}

Test(resp_parse_ll, rejects_signs_spaces_leading_zeros_minus_zero_and_overflow)
{
    const char *bad[] = {
        "", "-", "+1", "01", "00", "-0", "-01", " 1", "1 ", "1a", "0x10", "1.0", "1e3",
        "9223372036854775808", "-9223372036854775809", "18446744073709551615",
        "18446744073709551616", "99999999999999999999", "-99999999999999999999",
        "000000000000000000001", "--1", "1-",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long long v = 42;
        cr_assert_not(resp_parse_ll(bad[i], strlen(bad[i]), &v), "'%s' accepted", bad[i]);
    }
}

Test(resp_parse_ll, reads_only_the_given_length)
{
    long long v;
    cr_assert(resp_parse_ll("12x", 2, &v));
    cr_assert_eq(v, 12);
    cr_assert_not(resp_parse_ll("1", 0, &v));
}

/* ---- resp_format_ld / resp_format_double ---- */

static void check_ld(long double v, const char *want)
{
    char buf[512];
    int n = resp_format_ld(buf, sizeof(buf), v);
    cr_assert_eq(n, (int)strlen(want), "%Lg gave '%s'", v, buf);
    cr_assert_str_eq(buf, want);
}

Test(resp_format_ld, formats_incrbyfloat_results_as_redis_does)
{
    /* Each expectation is what redis-server 7.0.15 replied to
     * INCRBYFLOAT k <v> on a missing key. */
    check_ld(strtold("10.5", NULL), "10.5");
    check_ld(strtold("3.0e3", NULL), "3000");
    check_ld(strtold("0.1", NULL), "0.1");
    check_ld(strtold("-2.5", NULL), "-2.5");
    check_ld(strtold("1e20", NULL), "100000000000000000000");
    check_ld(strtold("3.14159", NULL), "3.14159");
    check_ld(strtold("1e-17", NULL), "0.00000000000000001");
}

Test(resp_format_ld, rounds_tiny_values_and_negative_zero_to_zero)
{
    check_ld(strtold("1e-20", NULL), "0");
    check_ld(strtold("-1e-20", NULL), "0");
    check_ld(-0.0L, "0");
    check_ld(0.0L, "0");
    check_ld(100.0L, "100");
}

Test(resp_format_ld, fails_when_the_buffer_is_too_small)
{
    char buf[21];
    /* "%.17Lf" of 10.5 needs 20 bytes before trimming, plus the NUL. */
    cr_assert_eq(resp_format_ld(buf, 21, 10.5L), 4);
    cr_assert_str_eq(buf, "10.5");
    cr_assert_lt(resp_format_ld(buf, 20, 10.5L), 0);
    char big[64];
    cr_assert_lt(resp_format_ld(big, sizeof(big), 1e300L), 0);
}

Test(resp_format_double, formats_scores_with_17_significant_digits_and_inf)
{
    char buf[64];
    cr_assert_eq(resp_format_double(buf, sizeof(buf), 1.5), 3);
    cr_assert_str_eq(buf, "1.5");
    resp_format_double(buf, sizeof(buf), 0.1);
    cr_assert_str_eq(buf, "0.10000000000000001");
    resp_format_double(buf, sizeof(buf), INFINITY);
    cr_assert_str_eq(buf, "inf");
    resp_format_double(buf, sizeof(buf), -INFINITY);
    cr_assert_str_eq(buf, "-inf");
    resp_format_double(buf, sizeof(buf), 1e300);
    cr_assert_str_eq(buf, "1.0000000000000001e+300");
    resp_format_double(buf, sizeof(buf), -3.0);
    cr_assert_str_eq(buf, "-3");
}

/* ---- replies ---- */

/* The queued bytes of a reply, from the first unsent byte. */
static char *flatten(const struct reply *r, size_t *n)
{
    char *s = malloc(r->bytes + 1);
    size_t k = 0;
    cr_assert_not_null(s);
    for (struct reply_chunk *c = r->head; c; c = c->next) {
        cr_assert_leq(c->off, c->len);
        cr_assert_leq(c->len, c->cap);
        memcpy(s + k, c->data + c->off, c->len - c->off);
        k += c->len - c->off;
    }
    cr_assert_eq(k, r->bytes, "chunks hold %zu bytes, reply counts %zu", k, r->bytes);
    s[k] = '\0';
    *n = k;
    return s;
}

static void assert_reply_mem(struct reply *r, const char *want, size_t wn)
{
    size_t n;
    char *s = flatten(r, &n);
    struct sb a = {0}, b = {0};
    sb_quoted(&a, s, n);
    sb_quoted(&b, want, wn);
    cr_assert_str_eq(a.s, b.s);
    free(a.s);
    free(b.s);
    free(s);
    reply_free(r);
    reply_init(r, r->proto);
}

#define ASSERT_REPLY(r, lit) assert_reply_mem(r, lit, sizeof(lit) - 1)

Test(reply, encodes_scalars_the_same_in_resp2_and_resp3)
{
    for (int proto = 2; proto <= 3; proto++) {
        struct reply r;
        reply_init(&r, proto);
        reply_ok(&r);
        ASSERT_REPLY(&r, "+OK\r\n");
        reply_simple(&r, "PONG");
        ASSERT_REPLY(&r, "+PONG\r\n");
        reply_int(&r, 0);
        ASSERT_REPLY(&r, ":0\r\n");
        reply_int(&r, -42);
        ASSERT_REPLY(&r, ":-42\r\n");
        reply_int(&r, LLONG_MIN);
        ASSERT_REPLY(&r, ":-9223372036854775808\r\n");
        reply_int(&r, LLONG_MAX);
        ASSERT_REPLY(&r, ":9223372036854775807\r\n");
        reply_bulk(&r, "a\r\nb", 4);
        ASSERT_REPLY(&r, "$4\r\na\r\nb\r\n");
        reply_bulk(&r, "", 0);
        ASSERT_REPLY(&r, "$0\r\n\r\n");
        reply_bulk_cstr(&r, "hello");
        ASSERT_REPLY(&r, "$5\r\nhello\r\n");
        reply_bulk_ll(&r, -12345);
        ASSERT_REPLY(&r, "$6\r\n-12345\r\n");
        reply_array(&r, 3);
        ASSERT_REPLY(&r, "*3\r\n");
        reply_array(&r, 0);
        ASSERT_REPLY(&r, "*0\r\n");
        reply_error(&r, "ERR unknown command");
        ASSERT_REPLY(&r, "-ERR unknown command\r\n");
        reply_errorf(&r, "ERR wrong number of arguments for '%s' command", "get");
        ASSERT_REPLY(&r, "-ERR wrong number of arguments for 'get' command\r\n");
        reply_free(&r);
    }
}

Test(reply, encodes_resp2_fallbacks_for_resp3_types)
{
    struct reply r;
    reply_init(&r, 2);
    reply_null(&r);
    ASSERT_REPLY(&r, "$-1\r\n");
    reply_bulk_cstr(&r, NULL);
    ASSERT_REPLY(&r, "$-1\r\n");
    reply_null_array(&r);
    ASSERT_REPLY(&r, "*-1\r\n");
    reply_map(&r, 2);
    ASSERT_REPLY(&r, "*4\r\n");
    reply_set(&r, 3);
    ASSERT_REPLY(&r, "*3\r\n");
    reply_push(&r, 2);
    ASSERT_REPLY(&r, "*2\r\n");
    reply_double(&r, 1.5);
    ASSERT_REPLY(&r, "$3\r\n1.5\r\n");
    reply_double(&r, INFINITY);
    ASSERT_REPLY(&r, "$3\r\ninf\r\n");
    reply_double(&r, -INFINITY);
    ASSERT_REPLY(&r, "$4\r\n-inf\r\n");
    reply_double(&r, 0.1);
    ASSERT_REPLY(&r, "$19\r\n0.10000000000000001\r\n");
    reply_bool(&r, true);
    ASSERT_REPLY(&r, ":1\r\n");
    reply_bool(&r, false);
    ASSERT_REPLY(&r, ":0\r\n");
    reply_verbatim(&r, "hello", 5, "txt");
    ASSERT_REPLY(&r, "$5\r\nhello\r\n");
    reply_bignum(&r, "1234567890123456789012345678901234567890");
    ASSERT_REPLY(&r, "$40\r\n1234567890123456789012345678901234567890\r\n");
    reply_free(&r);
}

Test(reply, encodes_resp3_types)
{
    struct reply r;
    reply_init(&r, 3);
    reply_null(&r);
    ASSERT_REPLY(&r, "_\r\n");
    reply_bulk_cstr(&r, NULL);
    ASSERT_REPLY(&r, "_\r\n");
    reply_null_array(&r);
    ASSERT_REPLY(&r, "_\r\n");
    reply_map(&r, 2);
    ASSERT_REPLY(&r, "%2\r\n");
    reply_set(&r, 3);
    ASSERT_REPLY(&r, "~3\r\n");
    reply_push(&r, 2);
    ASSERT_REPLY(&r, ">2\r\n");
    reply_double(&r, 1.5);
    ASSERT_REPLY(&r, ",1.5\r\n");
    reply_double(&r, INFINITY);
    ASSERT_REPLY(&r, ",inf\r\n");
    reply_double(&r, -INFINITY);
    ASSERT_REPLY(&r, ",-inf\r\n");
    reply_double(&r, -0.25);
    ASSERT_REPLY(&r, ",-0.25\r\n");
    reply_bool(&r, true);
    ASSERT_REPLY(&r, "#t\r\n");
    reply_bool(&r, false);
    ASSERT_REPLY(&r, "#f\r\n");
    reply_verbatim(&r, "hello", 5, "txt");
    ASSERT_REPLY(&r, "=9\r\ntxt:hello\r\n");
    reply_bignum(&r, "-1234567890123456789012345678901234567890");
    ASSERT_REPLY(&r, "(-1234567890123456789012345678901234567890\r\n");
    reply_free(&r);
}

Test(reply, pads_a_short_verbatim_format_with_spaces_as_redis_does)
{
    struct reply r;
    reply_init(&r, 3);
    reply_verbatim(&r, "hi", 2, "md");
    ASSERT_REPLY(&r, "=6\r\nmd :hi\r\n");
    reply_verbatim(&r, "", 0, "");
    ASSERT_REPLY(&r, "=4\r\n   :\r\n");
    reply_free(&r);
}

Test(reply, replaces_newlines_in_error_text_with_spaces)
{
    struct reply r;
    reply_init(&r, 2);
    reply_error(&r, "ERR bad\r\nthing\n");
    ASSERT_REPLY(&r, "-ERR bad  thing \r\n");
    reply_errorf(&r, "ERR %s", "multi\nline");
    ASSERT_REPLY(&r, "-ERR multi line\r\n");
    reply_free(&r);
}

/* A pseudo-random byte pattern that makes misplaced bytes visible. */
static void pattern(char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (char)(seed >> 16);
    }
}

Test(reply, spreads_a_bulk_larger_than_a_chunk_over_several_chunks)
{
    size_t n = 3 * REPLY_CHUNK + 123;
    char *v = malloc(n);
    pattern(v, n, 1);
    struct reply r;
    reply_init(&r, 2);
    reply_int(&r, 7);
    reply_bulk(&r, v, n);
    reply_ok(&r);

    size_t len;
    char *s = flatten(&r, &len);
    char hdr[32];
    int h = snprintf(hdr, sizeof(hdr), ":7\r\n$%zu\r\n", n);
    cr_assert_eq(len, h + n + 2 + 5);
    cr_assert_eq(memcmp(s, hdr, h), 0);
    cr_assert_eq(memcmp(s + h, v, n), 0);
    cr_assert_eq(memcmp(s + h + n, "\r\n+OK\r\n", 7), 0);
    int chunks = 0;
    for (struct reply_chunk *c = r.head; c; c = c->next) {
        chunks++;
        cr_assert_leq(c->cap, REPLY_CHUNK);
        if (c->next)
            cr_assert_eq(c->len, c->cap, "a chunk before the tail is full");
    }
    cr_assert_geq(chunks, 4);
    free(s);
    free(v);
    reply_free(&r);
    cr_assert_null(r.head);
    cr_assert_eq(r.bytes, 0);
}

Test(reply, consumes_sent_bytes_across_chunk_boundaries)
{
    size_t n = 5 * REPLY_CHUNK + 4321;
    char *v = malloc(n);
    pattern(v, n, 7);
    struct reply r;
    reply_init(&r, 3);
    reply_bulk(&r, v, n);
    reply_double(&r, INFINITY);
    reply_bulk(&r, v, 1000);

    size_t total;
    char *all = flatten(&r, &total);
    /* Odd sizes that land before, on and just past chunk boundaries. */
    size_t steps[] = {1, 7, REPLY_CHUNK - 8, 1, REPLY_CHUNK, REPLY_CHUNK + 1, 3, 2 * REPLY_CHUNK - 5};
    size_t done = 0;
    for (size_t i = 0; done < total; i++) {
        size_t k = steps[i % (sizeof(steps) / sizeof(steps[0]))];
        if (k > total - done)
            k = total - done;
        reply_consume(&r, k);
        done += k;
        cr_assert_eq(r.bytes, total - done);
        size_t left;
        char *s = flatten(&r, &left);
        cr_assert_eq(left, total - done);
        cr_assert_eq(memcmp(s, all + done, left), 0, "after consuming %zu", done);
        free(s);
    }
    cr_assert_null(r.head, "spent chunks are freed");
    cr_assert_null(r.tail);

    /* An emptied reply takes new bytes. */
    reply_ok(&r);
    ASSERT_REPLY(&r, "+OK\r\n");
    free(all);
    free(v);
    reply_free(&r);
}

Test(reply, consumes_a_chunk_exactly_and_keeps_appending_after_it)
{
    struct reply r;
    reply_init(&r, 2);
    char *v = malloc(REPLY_CHUNK);
    pattern(v, REPLY_CHUNK, 3);
    reply_raw(&r, v, REPLY_CHUNK);
    reply_raw(&r, "abc", 3);
    reply_consume(&r, REPLY_CHUNK);
    cr_assert_eq(r.bytes, 3);
    cr_assert_eq(r.head, r.tail);
    reply_raw(&r, "def", 3);
    ASSERT_REPLY(&r, "abcdef");
    reply_raw(&r, "xyz", 3);
    reply_consume(&r, 3);
    cr_assert_null(r.head);
    cr_assert_null(r.tail);
    cr_assert_eq(r.bytes, 0);
    reply_int(&r, 5);
    ASSERT_REPLY(&r, ":5\r\n");
    free(v);
    reply_free(&r);
}

Test(reply, splices_another_reply_to_the_end_and_empties_it)
{
    struct reply dst, src, empty;
    reply_init(&dst, 2);
    reply_init(&src, 2);
    reply_init(&empty, 2);

    /* Into an empty destination. */
    reply_simple(&src, "one");
    reply_splice(&dst, &src);
    cr_assert_null(src.head);
    cr_assert_null(src.tail);
    cr_assert_eq(src.bytes, 0);

    /* A large source behind a partly sent destination. */
    size_t n = 2 * REPLY_CHUNK + 10;
    char *v = malloc(n);
    pattern(v, n, 9);
    reply_bulk(&src, v, n);
    reply_consume(&dst, 1);
    reply_splice(&dst, &src);
    reply_splice(&dst, &empty);
    cr_assert_null(empty.head);
    /* The source is reusable and the destination keeps appending at its end. */
    reply_int(&src, 1);
    reply_int(&dst, 2);

    size_t len;
    char *s = flatten(&dst, &len);
    char hdr[32];
    int h = snprintf(hdr, sizeof(hdr), "$%zu\r\n", n);
    cr_assert_eq(len, 5 + h + n + 2 + 4);
    cr_assert_eq(memcmp(s, "one\r\n", 5), 0);
    cr_assert_eq(memcmp(s + 5, hdr, h), 0);
    cr_assert_eq(memcmp(s + 5 + h, v, n), 0);
    cr_assert_eq(memcmp(s + 5 + h + n, "\r\n:2\r\n", 6), 0);
    ASSERT_REPLY(&src, ":1\r\n");
    free(s);
    free(v);
    reply_free(&dst);
    reply_free(&src);
}

Test(reply, a_small_spliced_reply_is_copied_so_the_client_keeps_one_chunk)
{
    struct reply dst, src;
    reply_init(&dst, 2);
    reply_init_small(&src, 2);
    reply_simple(&dst, "OK");
    reply_bulk(&src, "abc", 3);
    cr_assert_eq(src.head->cap, REPLY_SMALL_CHUNK, "a message reply starts small");
    reply_splice(&dst, &src);
    cr_assert_eq(dst.head, dst.tail, "copied into the existing chunk");
    cr_assert_eq(dst.bytes, 5 + 9);
    cr_assert(memcmp(dst.head->data, "+OK\r\n$3\r\nabc\r\n", 14) == 0);
    cr_assert_null(src.head);
    cr_assert_eq(src.bytes, 0);
    reply_free(&dst);
}

Test(reply, a_large_spliced_reply_is_linked_and_small_chunks_grow)
{
    struct reply dst, src;
    static char big[3 * REPLY_CHUNK];
    memset(big, 'x', sizeof(big));
    reply_init(&dst, 2);
    reply_init_small(&src, 2);
    reply_raw(&src, big, sizeof(big));
    cr_assert_eq(src.head->cap, REPLY_SMALL_CHUNK);
    cr_assert_gt(src.tail->cap, REPLY_SMALL_CHUNK, "later chunks double");
    struct reply_chunk *first = src.head;
    reply_splice(&dst, &src);
    cr_assert_eq(dst.head, first, "large replies move by linking");
    cr_assert_eq(dst.bytes, sizeof(big));
    reply_free(&dst);
}
