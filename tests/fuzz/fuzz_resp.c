/* libFuzzer target for the RESP codec (dataplane/resp.c).
 *
 * Input layout:
 *   byte 0        control: bits 0-2 = number of split-size bytes minus one,
 *                 bit 3 = build replies in RESP3 (else RESP2),
 *                 bit 4 = proto-max-bulk-len of 16 (else Redis's 512MB)
 *   next 1..8     split sizes, used in turn: 0 = all the rest,
 *                 1..127 = that many bytes, 128..255 = (b - 127) * 32 bytes
 *   the rest      the byte stream a client sends
 *
 * The stream is fed to resp_parse the way a connection feeds it: in reads
 * of the chosen sizes, keeping the unconsumed tail buf[pos..] and moving it
 * to a new allocation on every read (so a parser that kept a pointer into an
 * old buffer trips ASan). Checked on every call:
 *   - pos never moves backwards or past len; on RESP_NEED_MORE it stays at
 *     the request start; RESP_DONE and RESP_EMPTY consume at least a byte;
 *   - RESP_DONE has argc > 0 and every argument lies inside the request just
 *     consumed (multibulk) or inside the parser's inline scratch (inline);
 *   - RESP_PROTO_ERR carries a "ERR Protocol error: " text, and nothing is
 *     parsed after it;
 *   - the results equal those of parsing the whole stream in one read
 *     (unless a "too big" limit was hit, which depends on how bytes arrive).
 * Every request parsed in the fragmented run is also turned into replies
 * with the reply_* builders (bulk, error, simple, int, double, bool,
 * verbatim, bignum, null, map, set), which must form well-formed RESP2/RESP3
 * that a small validator accepts exactly; the reply is then spliced and
 * consumed in the same fragment sizes. resp_parse_ll, resp_format_ld and
 * resp_format_double get every argument as well.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                    \
        }                                                                               \
    } while (0)

/* ---- fragment sizes from the input's first bytes ---- */

struct splits {
    const uint8_t *b;
    int n, next;
};

static size_t next_split(struct splits *s, size_t left)
{
    uint8_t b = s->b[s->next++ % s->n];
    size_t k = b == 0 ? left : b < 128 ? b : (size_t)(b - 127) * 32;
    return k < left ? k : left;
}

/* ---- growable byte string ---- */

struct sb {
    char *s;
    size_t len, cap;
};

static void sb_add(struct sb *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->s = realloc(b->s, b->cap);
        CHECK(b->s);
    }
    if (n)
        memcpy(b->s + b->len, p, n);
    b->len += n;
}

static void sb_u64(struct sb *b, uint64_t v) { sb_add(b, &v, sizeof(v)); }

/* ---- a minimal RESP2/RESP3 validator for what the reply builder emits ---- */

static const char *crlf(const char *s, const char *end)
{
    for (const char *p = s; p + 1 < end; p++)
        if (p[0] == '\r' && p[1] == '\n')
            return p;
    return NULL;
}

static bool line_ll(const char *s, const char *e, long long *v)
{
    return resp_parse_ll(s, (size_t)(e - s), v);
}

/* Parse one value at *p; false when malformed. */
static bool valid_value(const char **p, const char *end, int proto, int depth)
{
    if (*p >= end || depth > 8)
        return false;
    char t = **p;
    const char *s = *p + 1, *e = crlf(s, end);
    long long n;
    if (!e)
        return false;
    *p = e + 2;
    for (const char *q = s; q < e; q++)
        if (*q == '\r' || *q == '\n')
            return false;
    if (proto == 2 && strchr("_%~>,#(=", t))
        return false;
    switch (t) {
    case '+':
    case '-':
        return true;
    case ':':
        return line_ll(s, e, &n);
    case '_':
        return e == s;
    case ',':
        return e > s;
    case '#':
        return e == s + 1 && (*s == 't' || *s == 'f');
    case '(':
        if (s < e && *s == '-')
            s++;
        if (s == e)
            return false;
        for (; s < e; s++)
            if (*s < '0' || *s > '9')
                return false;
        return true;
    case '$':
    case '=':
        if (!line_ll(s, e, &n))
            return false;
        if (n == -1 && t == '$' && proto == 2)
            return true;
        if (n < 0 || (size_t)(end - *p) < (size_t)n + 2)
            return false;
        /* Verbatim: a 3-byte format (padded with spaces, never NUL), ':'. */
        if (t == '=' && (n < 4 || (*p)[3] != ':' || memchr(*p, '\0', 3)))
            return false;
        if ((*p)[n] != '\r' || (*p)[n + 1] != '\n')
            return false;
        *p += n + 2;
        return true;
    case '*':
    case '%':
    case '~':
    case '>':
        if (!line_ll(s, e, &n))
            return false;
        if (n == -1 && t == '*' && proto == 2)
            return true;
        if (n < 0 || n > 100000)
            return false;
        if (t == '%')
            n *= 2;
        for (long long i = 0; i < n; i++)
            if (!valid_value(p, end, proto, depth + 1))
                return false;
        return true;
    default:
        return false;
    }
}

static char *flatten(const struct reply *r, size_t *n)
{
    char *s = malloc(r->bytes + 1);
    size_t k = 0;
    CHECK(s);
    for (const struct reply_chunk *c = r->head; c; c = c->next) {
        CHECK(c->off <= c->len && c->len <= c->cap);
        CHECK(c->next || c == r->tail);
        memcpy(s + k, c->data + c->off, c->len - c->off);
        k += c->len - c->off;
    }
    CHECK(k == r->bytes);
    *n = k;
    return s;
}

/* ---- replies built from a parsed request ---- */

/* Copy an argument to a NUL-terminated string (cut at an inner NUL). */
static char *cstr(const struct resp_arg *a, size_t max)
{
    size_t n = a->len < max ? a->len : max;
    char *s = malloc(n + 1);
    CHECK(s);
    memcpy(s, a->ptr, n);
    s[n] = '\0';
    return s;
}

static void check_numbers(const struct resp_arg *a)
{
    long long v;
    bool ok = resp_parse_ll(a->ptr, a->len, &v);
    char buf[32];
    if (ok) {
        /* Strictness: only the canonical spelling of a value is accepted. */
        int n = snprintf(buf, sizeof(buf), "%lld", v);
        CHECK((size_t)n == a->len && memcmp(buf, a->ptr, a->len) == 0);
    } else if (a->len > 0 && a->len < 24) {
        char *s = cstr(a, 23), *end;
        if (strlen(s) == a->len && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))) {
            errno = 0;
            long long w = strtoll(s, &end, 10);
            int n = snprintf(buf, sizeof(buf), "%lld", w);
            /* A canonical in-range number must not be rejected. */
            CHECK(!(errno == 0 && *end == '\0' && (size_t)n == a->len &&
                    memcmp(buf, s, a->len) == 0));
        }
        free(s);
    }

    char *s = cstr(a, 400);
    long double ld = strtold(s, NULL);
    char out[5200];
    int n = resp_format_ld(out, sizeof(out), ld);
    if (n >= 0) {
        CHECK((size_t)n == strlen(out));
        CHECK(!(n == 2 && out[0] == '-' && out[1] == '0'));
        if (strchr(out, '.'))
            CHECK(out[n - 1] != '0' && out[n - 1] != '.');
    }
    char small[8];
    n = resp_format_ld(small, sizeof(small), ld);
    CHECK(n < 0 || (size_t)n == strlen(small));
    n = resp_format_double(out, sizeof(out), (double)ld);
    CHECK(n > 0 && (size_t)n == strlen(out));
    free(s);
}

static void build_replies(struct reply *r, const struct resp_parser *p)
{
    reply_array(r, p->argc + 1);
    for (int i = 0; i < p->argc; i++) {
        const struct resp_arg *a = &p->argv[i];
        unsigned char sel = a->len ? (unsigned char)a->ptr[0] : 0;
        char *s = cstr(a, 300);
        check_numbers(a);
        switch ((sel + i) % 14) {
        case 0:
            reply_bulk(r, a->ptr, a->len);
            break;
        case 1:
            reply_error(r, s);
            break;
        case 2:
            if (strpbrk(s, "\r\n"))
                reply_bulk_cstr(r, s);
            else
                reply_simple(r, s);
            break;
        case 3: {
            long long v;
            if (resp_parse_ll(a->ptr, a->len, &v))
                reply_int(r, v);
            else
                reply_bulk_ll(r, (long long)a->len * (i & 1 ? -1 : 1));
            break;
        }
        case 4:
            reply_double(r, strtod(s, NULL));
            break;
        case 5:
            reply_bool(r, a->len & 1);
            break;
        case 6: {
            /* The format is the first bytes of the argument, maybe short. */
            char ext[4] = {0};
            memcpy(ext, s, strlen(s) < 3 ? strlen(s) : 3);
            reply_verbatim(r, a->ptr, a->len, ext);
            break;
        }
        case 7: {
            bool digits = a->len > 0;
            for (size_t k = 0; k < a->len; k++)
                digits = digits && a->ptr[k] >= '0' && a->ptr[k] <= '9';
            if (digits && strlen(s) == a->len)
                reply_bignum(r, s);
            else
                reply_null(r);
            break;
        }
        case 8:
            reply_null_array(r);
            break;
        case 9:
            reply_map(r, 1);
            reply_bulk(r, a->ptr, a->len);
            reply_int(r, (long long)a->len);
            break;
        case 10:
            reply_set(r, 2);
            reply_bulk_cstr(r, s);
            reply_bulk_cstr(r, NULL);
            break;
        case 11:
            reply_errorf(r, "ERR arg %d '%s'", i, s);
            break;
        case 12:
            reply_ok(r);
            break;
        default:
            reply_int(r, sel % 2 ? LLONG_MIN : LLONG_MAX);
            break;
        }
        free(s);
    }
    reply_bulk(r, NULL, 0);
}

/* Check the reply, then send it in fragments through a connection's reply
 * (splice) and consume it. */
static void check_reply(struct reply *r, struct reply *conn, struct splits *sp)
{
    size_t n;
    char *all = flatten(r, &n);
    const char *p = all;
    CHECK(valid_value(&p, all + n, r->proto, 0));
    CHECK(p == all + n);

    size_t before = conn->bytes;
    reply_splice(conn, r);
    CHECK(r->head == NULL && r->tail == NULL && r->bytes == 0);
    CHECK(conn->bytes == before + n);
    /* Send what is queued, in the input's fragment sizes; the rest is
     * compared on the first and last steps (every step would be
     * quadratic). */
    for (int step = 0; conn->bytes; step++) {
        size_t k = next_split(sp, conn->bytes);
        if (k == 0)
            k = conn->bytes;
        reply_consume(conn, k);
        if (step < 16 || conn->bytes < 256) {
            size_t left;
            char *rest = flatten(conn, &left);
            CHECK(left == conn->bytes);
            if (before == 0 && left <= n)
                CHECK(memcmp(rest, all + (n - left), left) == 0);
            free(rest);
        }
    }
    CHECK(conn->head == NULL && conn->tail == NULL);
    free(all);
}

/* ---- a connection feeding the parser ---- */

struct conn {
    struct resp_parser p;
    char *buf;
    size_t len;
    bool dead;
    bool too_big;
    struct sb out;      /* transcript */
    struct reply reply; /* the connection's outgoing replies */
    int proto;
    bool replies;       /* build and check replies (one run does) */
};

static void record(struct conn *c, enum resp_status st, const char *req, size_t reqlen,
                   struct splits *sp)
{
    sb_u64(&c->out, (uint64_t)st);
    if (st == RESP_PROTO_ERR) {
        sb_add(&c->out, c->p.err, strlen(c->p.err) + 1);
        return;
    }
    if (st != RESP_DONE)
        return;
    sb_u64(&c->out, (uint64_t)c->p.argc);
    bool multibulk = req[0] == '*';
    size_t inline_total = 0;
    for (int i = 0; i < c->p.argc; i++) {
        const struct resp_arg *a = &c->p.argv[i];
        CHECK(a->ptr != NULL);
        if (multibulk) {
            CHECK(a->ptr >= req && a->len <= reqlen && a->ptr + a->len <= req + reqlen);
        } else {
            CHECK(c->p.inline_buf != NULL);
            CHECK(a->ptr >= c->p.inline_buf && a->len <= c->p.inline_cap &&
                  a->ptr + a->len <= c->p.inline_buf + c->p.inline_cap);
            inline_total += a->len;
        }
        sb_u64(&c->out, a->len);
        sb_add(&c->out, a->ptr, a->len);
    }
    /* Unquoting never makes the arguments longer than the line. */
    CHECK(inline_total <= reqlen);
    if (!c->replies)
        return;

    struct reply r;
    reply_init(&r, c->proto);
    build_replies(&r, &c->p);
    check_reply(&r, &c->reply, sp);
    reply_free(&r);
}

static void conn_read(struct conn *c, const uint8_t *data, size_t n, struct splits *sp)
{
    if (c->dead || n == 0)
        return;
    char *nb = malloc(c->len + n);
    CHECK(nb);
    if (c->len)
        memcpy(nb, c->buf, c->len);
    memcpy(nb + c->len, data, n);
    free(c->buf);
    c->buf = nb;
    c->len += n;

    size_t pos = 0;
    for (;;) {
        size_t start = pos;
        enum resp_status st = resp_parse(&c->p, c->buf, c->len, &pos);
        CHECK(pos >= start && pos <= c->len);
        (void)resp_parser_want(&c->p);
        if (st == RESP_NEED_MORE) {
            CHECK(pos == start);
            break;
        }
        if (st == RESP_PROTO_ERR) {
            CHECK(c->p.err && strncmp(c->p.err, "ERR Protocol error: ", 20) == 0);
            CHECK(strlen(c->p.err) < 128);
            if (strstr(c->p.err, "too big"))
                c->too_big = true;
            record(c, st, c->buf + start, pos - start, sp);
            c->dead = true;
            break;
        }
        CHECK(st == RESP_DONE || st == RESP_EMPTY);
        CHECK(pos > start);
        if (st == RESP_DONE)
            CHECK(c->p.argc > 0);
        record(c, st, c->buf + start, pos - start, sp);
    }
    memmove(c->buf, c->buf + pos, c->len - pos);
    c->len -= pos;
}

static void conn_init(struct conn *c, long long max_bulk, int proto)
{
    memset(c, 0, sizeof(*c));
    resp_parser_init(&c->p, max_bulk);
    reply_init(&c->reply, proto);
    c->proto = proto;
}

static void conn_free(struct conn *c)
{
    resp_parser_free(&c->p);
    reply_free(&c->reply);
    free(c->buf);
    free(c->out.s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t ctl = data[0];
    int nsplit = (ctl & 7) + 1;
    if (size < (size_t)1 + nsplit)
        return 0;
    int proto = ctl & 8 ? 3 : 2;
    long long max_bulk = ctl & 16 ? 16 : 512LL * 1024 * 1024;
    const uint8_t *in = data + 1 + nsplit;
    size_t n = size - 1 - nsplit;

    /* In the reads the split sizes choose. */
    struct splits sp = {.b = data + 1, .n = nsplit};
    struct conn frag;
    conn_init(&frag, max_bulk, proto);
    frag.replies = true;
    for (size_t at = 0; at < n;) {
        size_t k = next_split(&sp, n - at);
        conn_read(&frag, in + at, k, &sp);
        at += k;
    }

    /* In one read. */
    struct splits sp1 = {.b = data + 1, .n = nsplit};
    struct conn whole;
    conn_init(&whole, max_bulk, proto);
    conn_read(&whole, in, n, &sp1);

    if (!frag.too_big && !whole.too_big) {
        CHECK(frag.out.len == whole.out.len);
        CHECK(frag.out.len == 0 || memcmp(frag.out.s, whole.out.s, frag.out.len) == 0);
        CHECK(frag.dead == whole.dead);
        if (!frag.dead)
            CHECK(frag.len == whole.len); /* the same unfinished tail is held */
    }
    conn_free(&frag);
    conn_free(&whole);
    return 0;
}
