/* RESP codec: see resp.h for the contract. The parsing rules and error texts
 * follow Redis 7.0 so that clients see the same behaviour on bad input. */
#include "resp.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q)
        abort();
    return q;
}

struct resp_arg *resp_args_copy(int argc, const struct resp_arg *argv)
{
    size_t bytes = (size_t)argc * sizeof(struct resp_arg);
    for (int i = 0; i < argc; i++)
        bytes += argv[i].len;
    struct resp_arg *copy = malloc(bytes ? bytes : 1);
    if (!copy)
        abort();
    char *data = (char *)(copy + argc);
    for (int i = 0; i < argc; i++) {
        memcpy(data, argv[i].ptr, argv[i].len);
        copy[i].ptr = data;
        copy[i].len = argv[i].len;
        data += argv[i].len;
    }
    return copy;
}

bool resp_parse_ll(const char *s, size_t n, long long *out)
{
    unsigned long long v = 0;
    size_t i = 0;
    bool neg = false;

    if (n == 0 || n > 20)
        return false;
    if (n == 1 && s[0] == '0') {
        *out = 0;
        return true;
    }
    if (s[0] == '-') {
        neg = true;
        i = 1;
        if (n == 1)
            return false;
    }
    if (s[i] < '1' || s[i] > '9')
        return false;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (v > (ULLONG_MAX - (s[i] - '0')) / 10)
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1)
            return false;
        *out = (long long)(0 - v);
    } else {
        if (v > LLONG_MAX)
            return false;
        *out = (long long)v;
    }
    return true;
}

void resp_parser_init(struct resp_parser *p, long long max_bulk_len)
{
    memset(p, 0, sizeof(*p));
    p->max_bulk_len = max_bulk_len;
    p->bulk_len = -1;
}

void resp_parser_free(struct resp_parser *p)
{
    free(p->arg_off);
    free(p->arg_len);
    free(p->argv);
    free(p->inline_buf);
    memset(p, 0, sizeof(*p));
}

void resp_parser_reset(struct resp_parser *p)
{
    p->kind = 0;
    p->mbulk_left = 0;
    p->bulk_len = -1;
    p->scan = 0;
    p->argc = 0;
}

size_t resp_parser_want(const struct resp_parser *p)
{
    if (p->kind == 1 && p->bulk_len >= 0)
        return p->scan + (size_t)p->bulk_len + 2;
    return 0;
}

static void ensure_args(struct resp_parser *p, long long n)
{
    if (n <= p->argv_cap)
        return;
    int cap = p->argv_cap ? p->argv_cap : 8;
    while (cap < n)
        cap *= 2;
    p->arg_off = xrealloc(p->arg_off, cap * sizeof(size_t));
    p->arg_len = xrealloc(p->arg_len, cap * sizeof(size_t));
    p->argv = xrealloc(p->argv, cap * sizeof(struct resp_arg));
    p->argv_cap = cap;
}

static enum resp_status proto_error(struct resp_parser *p, const char *msg)
{
    p->err = msg;
    resp_parser_reset(p);
    return RESP_PROTO_ERR;
}

static enum resp_status parse_multibulk(struct resp_parser *p, const char *buf,
                                        size_t len, size_t *pos)
{
    const char *req = buf + *pos;
    size_t avail = len - *pos;

    if (p->mbulk_left == 0) {
        const char *nl = memchr(req, '\r', avail);
        if (!nl) {
            if (avail > RESP_INLINE_MAX)
                return proto_error(p, "ERR Protocol error: too big mbulk count string");
            return RESP_NEED_MORE;
        }
        if ((size_t)(nl - req) + 2 > avail)
            return RESP_NEED_MORE;
        long long n;
        if (!resp_parse_ll(req + 1, nl - req - 1, &n) || n > INT_MAX)
            return proto_error(p, "ERR Protocol error: invalid multibulk length");
        p->scan = nl - req + 2;
        if (n <= 0) {
            *pos += p->scan;
            resp_parser_reset(p);
            return RESP_EMPTY;
        }
        p->mbulk_left = n;
        p->argc = 0;
        /* Never trust the count for allocation: grow as arguments arrive. */
        ensure_args(p, n < 1024 ? n : 1024);
    }

    while (p->mbulk_left) {
        if (p->bulk_len == -1) {
            const char *s = req + p->scan;
            size_t left = avail - p->scan;
            const char *nl = memchr(s, '\r', left);
            if (!nl) {
                if (left > RESP_INLINE_MAX)
                    return proto_error(p, "ERR Protocol error: too big bulk count string");
                return RESP_NEED_MORE;
            }
            if ((size_t)(nl - s) + 2 > left)
                return RESP_NEED_MORE;
            if (s[0] != '$') {
                snprintf(p->errbuf, sizeof(p->errbuf),
                         "ERR Protocol error: expected '$', got '%c'", s[0]);
                return proto_error(p, p->errbuf);
            }
            long long n;
            if (!resp_parse_ll(s + 1, nl - s - 1, &n) || n < 0 || n > p->max_bulk_len)
                return proto_error(p, "ERR Protocol error: invalid bulk length");
            p->scan += nl - s + 2;
            p->bulk_len = n;
        }
        if (avail - p->scan < (size_t)p->bulk_len + 2)
            return RESP_NEED_MORE;
        ensure_args(p, p->argc + 1);
        p->arg_off[p->argc] = p->scan;
        p->arg_len[p->argc] = p->bulk_len;
        p->argc++;
        /* Like Redis, the two bytes after the payload are skipped unchecked. */
        p->scan += p->bulk_len + 2;
        p->bulk_len = -1;
        p->mbulk_left--;
    }

    for (int i = 0; i < p->argc; i++) {
        p->argv[i].ptr = req + p->arg_off[i];
        p->argv[i].len = p->arg_len[i];
    }
    *pos += p->scan;
    int argc = p->argc;
    resp_parser_reset(p);
    p->argc = argc;
    return RESP_DONE;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Split an inline line into arguments with the quoting rules of redis-cli
 * and Redis's inline protocol: "double quotes" with \n \r \t \b \a \\ \" and
 * \xHH escapes, 'single quotes' with only \' escaped; a closing quote must be
 * followed by a space or the end. Returns -1 on unbalanced quotes. Unquoted
 * bytes are written to out (which has room for n bytes). */
static int split_inline(struct resp_parser *p, const char *s, size_t n, char *out)
{
    size_t i = 0, o = 0;
    int argc = 0;

    for (;;) {
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i >= n)
            return argc;
        bool inq = false, insq = false, done = false;
        size_t start = o;
        while (!done) {
            if (inq) {
                if (i >= n)
                    return -1;
                if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' && hexval(s[i + 2]) >= 0 &&
                    hexval(s[i + 3]) >= 0) {
                    out[o++] = (char)(hexval(s[i + 2]) * 16 + hexval(s[i + 3]));
                    i += 3;
                } else if (s[i] == '\\' && i + 1 < n) {
                    char c;
                    i++;
                    switch (s[i]) {
                    case 'n': c = '\n'; break;
                    case 'r': c = '\r'; break;
                    case 't': c = '\t'; break;
                    case 'b': c = '\b'; break;
                    case 'a': c = '\a'; break;
                    default: c = s[i]; break;
                    }
                    out[o++] = c;
                } else if (s[i] == '"') {
                    if (i + 1 < n && !isspace((unsigned char)s[i + 1]))
                        return -1;
                    done = true;
                } else {
                    out[o++] = s[i];
                }
            } else if (insq) {
                if (i >= n)
                    return -1;
                if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\'') {
                    i++;
                    out[o++] = '\'';
                } else if (s[i] == '\'') {
                    if (i + 1 < n && !isspace((unsigned char)s[i + 1]))
                        return -1;
                    done = true;
                } else {
                    out[o++] = s[i];
                }
            } else {
                if (i >= n) {
                    done = true;
                    break;
                }
                switch (s[i]) {
                case ' ': case '\n': case '\r': case '\t': case '\0':
                    done = true;
                    break;
                case '"': inq = true; break;
                case '\'': insq = true; break;
                default: out[o++] = s[i]; break;
                }
            }
            if (i < n)
                i++;
        }
        ensure_args(p, argc + 1);
        p->arg_off[argc] = start;
        p->arg_len[argc] = o - start;
        argc++;
    }
}

int resp_split_inline(struct resp_parser *p, const char *line, size_t n)
{
    if (p->inline_cap < n + 1) {
        p->inline_buf = xrealloc(p->inline_buf, n + 1);
        p->inline_cap = n + 1;
    }
    int argc = split_inline(p, line, n, p->inline_buf);
    if (argc <= 0)
        return argc;
    for (int i = 0; i < argc; i++) {
        p->argv[i].ptr = p->inline_buf + p->arg_off[i];
        p->argv[i].len = p->arg_len[i];
    }
    p->argc = argc;
    return argc;
}

static enum resp_status parse_inline(struct resp_parser *p, const char *buf,
                                     size_t len, size_t *pos)
{
    const char *req = buf + *pos;
    size_t avail = len - *pos;
    const char *nl = memchr(req, '\n', avail);

    if (!nl) {
        if (avail > RESP_INLINE_MAX)
            return proto_error(p, "ERR Protocol error: too big inline request");
        return RESP_NEED_MORE;
    }
    size_t linelen = nl - req, eol = 1;
    if (linelen && req[linelen - 1] == '\r') {
        linelen--;
        eol = 2;
    }
    resp_parser_reset(p);
    int argc = resp_split_inline(p, req, linelen);
    if (argc < 0)
        return proto_error(p, "ERR Protocol error: unbalanced quotes in request");
    *pos += linelen + eol;
    return argc == 0 ? RESP_EMPTY : RESP_DONE;
}

enum resp_status resp_parse(struct resp_parser *p, const char *buf, size_t len, size_t *pos)
{
    if (*pos >= len)
        return RESP_NEED_MORE;
    if (p->kind == 0)
        p->kind = buf[*pos] == '*' ? 1 : 2;
    if (p->kind == 1)
        return parse_multibulk(p, buf, len, pos);
    return parse_inline(p, buf, len, pos);
}

/* ---- replies ---- */

void reply_init(struct reply *r, int proto)
{
    r->head = r->tail = NULL;
    r->bytes = 0;
    r->proto = proto;
    r->next_cap = REPLY_CHUNK;
}

void reply_init_small(struct reply *r, int proto)
{
    reply_init(r, proto);
    r->next_cap = REPLY_SMALL_CHUNK;
}

void reply_free(struct reply *r)
{
    struct reply_chunk *c = r->head;
    while (c) {
        struct reply_chunk *n = c->next;
        free(c);
        c = n;
    }
    r->head = r->tail = NULL;
    r->bytes = 0;
}

void reply_splice(struct reply *dst, struct reply *src)
{
    if (!src->head)
        return;
    if (src->bytes <= REPLY_CHUNK / 4) {
        for (struct reply_chunk *c = src->head; c; c = c->next)
            reply_raw(dst, c->data + c->off, c->len - c->off);
        reply_free(src);
        return;
    }
    if (dst->tail)
        dst->tail->next = src->head;
    else
        dst->head = src->head;
    dst->tail = src->tail;
    dst->bytes += src->bytes;
    src->head = src->tail = NULL;
    src->bytes = 0;
}

void reply_consume(struct reply *r, size_t n)
{
    r->bytes -= n;
    while (n && r->head) {
        struct reply_chunk *c = r->head;
        size_t have = c->len - c->off;
        if (n < have) {
            c->off += n;
            return;
        }
        n -= have;
        r->head = c->next;
        if (!r->head)
            r->tail = NULL;
        free(c);
    }
}

static struct reply_chunk *new_chunk(struct reply *r, size_t want)
{
    size_t min = r->next_cap ? r->next_cap : REPLY_CHUNK;
    size_t cap = want > min ? want : min;
    if (min < REPLY_CHUNK)
        r->next_cap = (uint32_t)(min * 2);
    if (cap > UINT32_MAX / 2)
        cap = UINT32_MAX / 2;
    struct reply_chunk *c = malloc(sizeof(*c) + cap);
    if (!c)
        abort();
    c->next = NULL;
    c->off = c->len = 0;
    c->cap = (uint32_t)cap;
    if (r->tail)
        r->tail->next = c;
    else
        r->head = c;
    r->tail = c;
    return c;
}

void reply_raw(struct reply *r, const void *p, size_t n)
{
    const char *s = p;
    r->bytes += n;
    while (n) {
        struct reply_chunk *c = r->tail;
        if (!c || c->len == c->cap)
            c = new_chunk(r, 0);
        size_t room = c->cap - c->len;
        size_t k = n < room ? n : room;
        memcpy(c->data + c->len, s, k);
        c->len += (uint32_t)k;
        s += k;
        n -= k;
    }
}

/* Header like "$12\r\n" without snprintf on the hot path. */
static void reply_header(struct reply *r, char type, long long v)
{
    char buf[32];
    char tmp[24];
    int n = 0, t = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

    buf[n++] = type;
    if (v < 0)
        buf[n++] = '-';
    do {
        tmp[t++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (t)
        buf[n++] = tmp[--t];
    buf[n++] = '\r';
    buf[n++] = '\n';
    reply_raw(r, buf, n);
}

void reply_simple(struct reply *r, const char *s)
{
    reply_raw(r, "+", 1);
    reply_raw(r, s, strlen(s));
    reply_raw(r, "\r\n", 2);
}

void reply_simple_fmt(struct reply *r, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    reply_simple(r, buf);
}

void reply_error(struct reply *r, const char *s)
{
    size_t n = strlen(s);
    reply_raw(r, "-", 1);
    /* An error line may not contain newlines (Redis replaces them too). */
    for (size_t i = 0; i < n; i++) {
        char c = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
        reply_raw(r, &c, 1);
    }
    reply_raw(r, "\r\n", 2);
}

void reply_errorf(struct reply *r, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    reply_error(r, buf);
}

void reply_ok(struct reply *r)
{
    reply_raw(r, "+OK\r\n", 5);
}

void reply_int(struct reply *r, long long v)
{
    reply_header(r, ':', v);
}

/* Decimal digits of v written at d (at most 20); returns how many. */
static size_t put_u64(char *d, unsigned long long v)
{
    size_t len = 1;
    for (unsigned long long x = v; x >= 10; x /= 10)
        len++;
    for (size_t i = len; i-- > 0; v /= 10)
        d[i] = (char)('0' + v % 10);
    return len;
}

void reply_bulk(struct reply *r, const void *p, size_t n)
{
    struct reply_chunk *c = r->tail;
    /* Most bulks fit the tail chunk: write header, bytes and CRLF in place
     * with one room check instead of three appends. */
    if (c && c->cap - c->len >= n + 26) {
        char *start = c->data + c->len, *d = start;
        *d++ = '$';
        d += put_u64(d, n);
        *d++ = '\r';
        *d++ = '\n';
        if (n) /* p may be NULL for an empty bulk */
            memcpy(d, p, n);
        d += n;
        *d++ = '\r';
        *d++ = '\n';
        c->len += (uint32_t)(d - start);
        r->bytes += (size_t)(d - start);
        return;
    }
    reply_header(r, '$', (long long)n);
    reply_raw(r, p, n);
    reply_raw(r, "\r\n", 2);
}

void reply_bulk_cstr(struct reply *r, const char *s)
{
    if (!s)
        return reply_null(r);
    reply_bulk(r, s, strlen(s));
}

void reply_bulk_ll(struct reply *r, long long v)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%lld", v);
    reply_bulk(r, buf, n);
}

void reply_null(struct reply *r)
{
    if (r->proto == 3)
        reply_raw(r, "_\r\n", 3);
    else
        reply_raw(r, "$-1\r\n", 5);
}

void reply_null_array(struct reply *r)
{
    if (r->proto == 3)
        reply_raw(r, "_\r\n", 3);
    else
        reply_raw(r, "*-1\r\n", 5);
}

void reply_array(struct reply *r, long long n)
{
    reply_header(r, '*', n);
}

void reply_map(struct reply *r, long long n)
{
    if (r->proto == 3)
        reply_header(r, '%', n);
    else
        reply_header(r, '*', n * 2);
}

void reply_set(struct reply *r, long long n)
{
    reply_header(r, r->proto == 3 ? '~' : '*', n);
}

void reply_push(struct reply *r, long long n)
{
    reply_header(r, r->proto == 3 ? '>' : '*', n);
}

int resp_format_double(char *buf, size_t cap, double v)
{
    if (isinf(v))
        return snprintf(buf, cap, "%s", v > 0 ? "inf" : "-inf");
    return snprintf(buf, cap, "%.17g", v);
}

void reply_double(struct reply *r, double d)
{
    char buf[400];
    int n = resp_format_double(buf, sizeof(buf), d);
    if (r->proto == 3) {
        reply_raw(r, ",", 1);
        reply_raw(r, buf, n);
        reply_raw(r, "\r\n", 2);
    } else {
        reply_bulk(r, buf, n);
    }
}

void reply_bool(struct reply *r, bool v)
{
    if (r->proto == 3)
        reply_raw(r, v ? "#t\r\n" : "#f\r\n", 4);
    else
        reply_int(r, v);
}

void reply_verbatim(struct reply *r, const char *p, size_t n, const char *ext)
{
    if (r->proto != 3)
        return reply_bulk(r, p, n);
    /* The format is always 3 bytes: a shorter ext is padded with spaces
     * (as Redis's addReplyVerbatim does), never read past its end. */
    char fmt[4] = {' ', ' ', ' ', ':'};
    for (int i = 0; i < 3 && ext[i]; i++)
        fmt[i] = ext[i];
    reply_header(r, '=', (long long)n + 4);
    reply_raw(r, fmt, 4);
    reply_raw(r, p, n);
    reply_raw(r, "\r\n", 2);
}

void reply_bignum(struct reply *r, const char *digits)
{
    if (r->proto != 3)
        return reply_bulk_cstr(r, digits);
    reply_raw(r, "(", 1);
    reply_raw(r, digits, strlen(digits));
    reply_raw(r, "\r\n", 2);
}

int resp_format_ld(char *buf, size_t cap, long double v)
{
    int l = snprintf(buf, cap, "%.17Lf", v);
    if (l < 0 || (size_t)l + 1 > cap)
        return -1;
    if (strchr(buf, '.')) {
        char *p = buf + l - 1;
        while (*p == '0') {
            p--;
            l--;
        }
        if (*p == '.')
            l--;
    }
    if (l == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        l = 1;
    }
    buf[l] = '\0';
    return l;
}
