/* The listpack: see listpack.h for the byte format and the API contract.
 *
 * Every modification goes through one routine, splice(), which replaces a
 * byte range of the listpack with at most one newly encoded entry and fixes
 * the header. Growing reallocates before moving the tail, shrinking moves
 * first and reallocates after, so the tail is moved exactly once. Reads trust
 * the listpack (it was built here or passed lp_validate()); only
 * lp_validate() is written for hostile bytes and checks every read against
 * the buffer bounds. */
#include "listpack.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ENC_7BIT_UINT_MASK 0x80 /* 0xxxxxxx */
#define ENC_6BIT_STR 0x80       /* 10xxxxxx */
#define ENC_13BIT_INT 0xC0      /* 110xxxxx */
#define ENC_12BIT_STR 0xE0      /* 1110xxxx */
#define ENC_32BIT_STR 0xF0
#define ENC_16BIT_INT 0xF1
#define ENC_24BIT_INT 0xF2
#define ENC_32BIT_INT 0xF3
#define ENC_64BIT_INT 0xF4

#define MAX_INT_ENC 9  /* 64-bit int: 1 + 8 bytes */
#define MAX_BACKLEN 5

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        abort();
    return p;
}

/* ---- header ---- */

static uint32_t hdr_bytes(const unsigned char *lp)
{
    return (uint32_t)lp[0] | (uint32_t)lp[1] << 8 | (uint32_t)lp[2] << 16 |
           (uint32_t)lp[3] << 24;
}

static void set_hdr_bytes(unsigned char *lp, uint32_t v)
{
    lp[0] = v & 0xff;
    lp[1] = (v >> 8) & 0xff;
    lp[2] = (v >> 16) & 0xff;
    lp[3] = v >> 24;
}

static unsigned hdr_count(const unsigned char *lp)
{
    return (unsigned)lp[4] | (unsigned)lp[5] << 8;
}

static void set_hdr_count(unsigned char *lp, unsigned long n)
{
    if (n > LP_HDR_NUMELE_UNKNOWN)
        n = LP_HDR_NUMELE_UNKNOWN;
    lp[4] = n & 0xff;
    lp[5] = (n >> 8) & 0xff;
}

/* ---- integers as text ---- */

/* Parse a canonical decimal 64-bit integer, as Redis's lpStringToInt64:
 * no sign but '-', no leading zeros, no "-0", at most 20 characters. */
static bool str_to_i64(const unsigned char *s, size_t len, long long *out)
{
    if (len == 0 || len > 20)
        return false;
    if (len == 1 && s[0] == '0') {
        *out = 0;
        return true;
    }
    size_t i = 0;
    bool neg = false;
    if (s[0] == '-') {
        neg = true;
        if (++i == len)
            return false;
    }
    if (s[i] < '1' || s[i] > '9')
        return false;
    uint64_t v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = s[i] - '0';
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return false;
        *out = (long long)(0 - v);
    } else {
        if (v > INT64_MAX)
            return false;
        *out = (long long)v;
    }
    return true;
}

int lp_fmt_int(long long v, char *buf)
{
    char tmp[LP_INTBUF_SIZE];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    int n = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    int len = 0;
    if (v < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    buf[len] = '\0';
    return len;
}

/* ---- entry encoding ---- */

/* Encode integer v in the smallest encoding into out; returns its size. */
static size_t enc_int(long long v, unsigned char *out)
{
    uint64_t u = (uint64_t)v;
    if (v >= 0 && v <= 127) {
        out[0] = (unsigned char)v;
        return 1;
    }
    if (v >= -4096 && v <= 4095) {
        u &= 0x1fff;
        out[0] = (unsigned char)(ENC_13BIT_INT | (u >> 8));
        out[1] = u & 0xff;
        return 2;
    }
    size_t n;
    if (v >= -32768 && v <= 32767) {
        out[0] = ENC_16BIT_INT;
        n = 2;
    } else if (v >= -8388608 && v <= 8388607) {
        out[0] = ENC_24BIT_INT;
        n = 3;
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        out[0] = ENC_32BIT_INT;
        n = 4;
    } else {
        out[0] = ENC_64BIT_INT;
        n = 8;
    }
    for (size_t i = 0; i < n; i++)
        out[1 + i] = (u >> (8 * i)) & 0xff;
    return 1 + n;
}

/* Encode the header of a string of len bytes into out; returns its size. */
static size_t enc_str_hdr(size_t len, unsigned char *out)
{
    if (len < 64) {
        out[0] = (unsigned char)(ENC_6BIT_STR | len);
        return 1;
    }
    if (len < 4096) {
        out[0] = (unsigned char)(ENC_12BIT_STR | (len >> 8));
        out[1] = len & 0xff;
        return 2;
    }
    out[0] = ENC_32BIT_STR;
    out[1] = len & 0xff;
    out[2] = (len >> 8) & 0xff;
    out[3] = (len >> 16) & 0xff;
    out[4] = (len >> 24) & 0xff;
    return 5;
}

/* Bytes of the backlen that stores l. The thresholds (strict <) are Redis's,
 * so the bytes we write are the bytes Redis writes. */
static size_t backlen_size(uint64_t l)
{
    if (l <= 127)
        return 1;
    if (l < 16383)
        return 2;
    if (l < 2097151)
        return 3;
    if (l < 268435455)
        return 4;
    return 5;
}

/* Write the backlen of l into out (backlen_size(l) bytes): the leftmost byte
 * holds the highest bits; every byte right of it has the 0x80 flag. */
static void enc_backlen(uint64_t l, unsigned char *out)
{
    size_t n = backlen_size(l);
    for (size_t i = 0; i < n; i++) {
        size_t shift = 7 * (n - 1 - i);
        out[i] = (unsigned char)((l >> shift) & 127);
        if (i > 0)
            out[i] |= 128;
    }
}

/* Decode a backlen whose last byte is at p (reading leftwards). */
static uint64_t dec_backlen(const unsigned char *p)
{
    uint64_t v = 0;
    unsigned shift = 0;
    for (int i = 0; i < MAX_BACKLEN; i++, p--, shift += 7) {
        v |= (uint64_t)(p[0] & 127) << shift;
        if (!(p[0] & 128))
            break;
    }
    return v;
}

/* Size of encoding+data of the (trusted) entry at p. */
static uint32_t enc_size(const unsigned char *p)
{
    unsigned char b = p[0];
    if ((b & ENC_7BIT_UINT_MASK) == 0)
        return 1;
    if ((b & 0xC0) == ENC_6BIT_STR)
        return 1 + (b & 0x3f);
    if ((b & 0xE0) == ENC_13BIT_INT)
        return 2;
    if ((b & 0xF0) == ENC_12BIT_STR)
        return 2 + (((uint32_t)(b & 0x0f) << 8) | p[1]);
    switch (b) {
    case ENC_16BIT_INT: return 3;
    case ENC_24BIT_INT: return 4;
    case ENC_32BIT_INT: return 5;
    case ENC_64BIT_INT: return 9;
    case ENC_32BIT_STR:
        return 5 + ((uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 |
                    (uint32_t)p[4] << 24);
    }
    abort(); /* corrupted listpack: only lp_validate() accepts hostile bytes */
}

uint32_t lp_entry_size(const unsigned char *p)
{
    uint32_t l = enc_size(p);
    return l + (uint32_t)backlen_size(l);
}

/* The entry after p. Small strings and 7-bit integers (most hash fields
 * and values) are skipped without the general decode: their backlen is
 * always one byte. */
static inline const unsigned char *skip_entry(const unsigned char *p)
{
    unsigned char b = p[0];
    if (b < 0x80)
        return p + 2;
    if ((b & 0xC0) == ENC_6BIT_STR)
        return p + (b & 0x3f) + 2;
    return p + lp_entry_size(p);
}

/* ---- sizes ---- */

unsigned char *lp_new(size_t capacity)
{
    unsigned char *lp = xrealloc(NULL, capacity > LP_EMPTY_BYTES ? capacity : LP_EMPTY_BYTES);
    set_hdr_bytes(lp, LP_EMPTY_BYTES);
    set_hdr_count(lp, 0);
    lp[LP_HDR_SIZE] = LP_EOF;
    return lp;
}

void lp_free(unsigned char *lp)
{
    free(lp);
}

size_t lp_bytes(const unsigned char *lp)
{
    return hdr_bytes(lp);
}

bool lp_safe_to_add(const unsigned char *lp, size_t add)
{
    size_t len = lp ? hdr_bytes(lp) : 0;
    return len + add <= LP_SAFETY_SIZE;
}

size_t lp_mem(const unsigned char *lp)
{
    return malloc_usable_size((void *)lp);
}

unsigned char *lp_dup(const unsigned char *lp)
{
    size_t n = hdr_bytes(lp);
    unsigned char *c = xrealloc(NULL, n);
    memcpy(c, lp, n);
    return c;
}

unsigned long lp_length(const unsigned char *lp)
{
    unsigned n = hdr_count(lp);
    if (n != LP_HDR_NUMELE_UNKNOWN)
        return n;
    unsigned long count = 0;
    const unsigned char *p = lp + LP_HDR_SIZE;
    while (*p != LP_EOF) {
        p += lp_entry_size(p);
        count++;
    }
    /* Cache the count again once it fits, as Redis does: the header is a
     * cache of a derived value, so updating it through a const reader does
     * not change the listpack's meaning. */
    if (count < LP_HDR_NUMELE_UNKNOWN)
        set_hdr_count((unsigned char *)lp, count);
    return count;
}

/* ---- iteration ---- */

unsigned char *lp_first(unsigned char *lp)
{
    unsigned char *p = lp + LP_HDR_SIZE;
    return *p == LP_EOF ? NULL : p;
}

unsigned char *lp_next(unsigned char *lp, unsigned char *p)
{
    (void)lp;
    p = (unsigned char *)skip_entry(p);
    return *p == LP_EOF ? NULL : p;
}

unsigned char *lp_prev(unsigned char *lp, unsigned char *p)
{
    if (p == lp + LP_HDR_SIZE)
        return NULL;
    uint64_t l = dec_backlen(p - 1);
    return p - backlen_size(l) - l;
}

unsigned char *lp_last(unsigned char *lp)
{
    return lp_prev(lp, lp + hdr_bytes(lp) - 1);
}

unsigned char *lp_seek(unsigned char *lp, long index)
{
    unsigned n = hdr_count(lp);
    bool forward = true;
    if (n != LP_HDR_NUMELE_UNKNOWN) {
        if (index < 0)
            index += (long)n;
        if (index < 0 || index >= (long)n)
            return NULL;
        /* Walk from the nearer end. */
        if (index > (long)n / 2) {
            forward = false;
            index -= (long)n; /* now negative */
        }
    } else if (index < 0) {
        forward = false;
    }
    if (forward) {
        unsigned char *p = lp_first(lp);
        while (p && index-- > 0)
            p = lp_next(lp, p);
        return p;
    }
    unsigned char *p = lp_last(lp);
    while (p && ++index < 0)
        p = lp_prev(lp, p);
    return p;
}

/* ---- reading ---- */

static long long sign_extend(uint64_t u, unsigned bits)
{
    uint64_t m = (uint64_t)1 << (bits - 1);
    return (long long)((u ^ m) - m);
}

const unsigned char *lp_get(const unsigned char *p, uint32_t *len, long long *ival)
{
    unsigned char b = p[0];
    long long v;
    if ((b & ENC_7BIT_UINT_MASK) == 0) {
        v = b;
    } else if ((b & 0xC0) == ENC_6BIT_STR) {
        if (len)
            *len = b & 0x3f;
        return p + 1;
    } else if ((b & 0xE0) == ENC_13BIT_INT) {
        v = sign_extend(((uint64_t)(b & 0x1f) << 8) | p[1], 13);
    } else if ((b & 0xF0) == ENC_12BIT_STR) {
        if (len)
            *len = ((uint32_t)(b & 0x0f) << 8) | p[1];
        return p + 2;
    } else if (b == ENC_32BIT_STR) {
        if (len)
            *len = (uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 |
                   (uint32_t)p[4] << 24;
        return p + 5;
    } else {
        unsigned n = b == ENC_16BIT_INT ? 2 : b == ENC_24BIT_INT ? 3 : b == ENC_32BIT_INT ? 4 : 8;
        uint64_t u = 0;
        for (unsigned i = 0; i < n; i++)
            u |= (uint64_t)p[1 + i] << (8 * i);
        v = n == 8 ? (long long)u : sign_extend(u, 8 * n);
    }
    if (ival)
        *ival = v;
    return NULL;
}

const unsigned char *lp_get_str(const unsigned char *p, uint32_t *len, char *buf)
{
    long long v;
    const unsigned char *s = lp_get(p, len, &v);
    if (s)
        return s;
    *len = (uint32_t)lp_fmt_int(v, buf);
    return (const unsigned char *)buf;
}

bool lp_get_int(const unsigned char *p, long long *ival)
{
    uint32_t len;
    const unsigned char *s = lp_get(p, &len, ival);
    return s ? str_to_i64(s, len, ival) : true;
}

void lp_elem_at(const unsigned char *p, struct lp_elem *e)
{
    e->ival = 0;
    e->len = 0;
    e->s = lp_get(p, &e->len, &e->ival);
}

const unsigned char *lp_elem_str(const struct lp_elem *e, uint32_t *len, char *buf)
{
    if (e->s) {
        *len = e->len;
        return e->s;
    }
    *len = (uint32_t)lp_fmt_int(e->ival, buf);
    return (const unsigned char *)buf;
}

/* ---- comparing ---- */

/* The searched-for bytes. Whether they are a canonical integer (the only
 * way they can equal an integer element) is worked out on the first
 * integer element met, and only once. */
struct needle {
    const unsigned char *s;
    size_t len;
    int is_int; /* -1: not parsed yet */
    long long ival;
};

static void needle_init(struct needle *n, const void *s, size_t len)
{
    n->s = s;
    n->len = len;
    n->is_int = -1;
}

static bool needle_eq(const unsigned char *p, struct needle *n)
{
    uint32_t len;
    long long v;
    const unsigned char *s = lp_get(p, &len, &v);
    if (s)
        return len == n->len && (len == 0 || memcmp(s, n->s, len) == 0);
    if (n->is_int < 0)
        n->is_int = str_to_i64(n->s, n->len, &n->ival);
    return n->is_int && v == n->ival;
}

bool lp_eq(const unsigned char *p, const void *s, size_t len)
{
    struct needle n;
    needle_init(&n, s, len);
    return needle_eq(p, &n);
}

unsigned char *lp_find(unsigned char *lp, unsigned char *p, const void *s, size_t len,
                       unsigned int skip)
{
    struct needle n;
    needle_init(&n, s, len);
    (void)lp;
    while (p && *p != LP_EOF) {
        unsigned char b = p[0];
        /* Fast path: a short string compares by its length byte, then by
         * its last byte (fields often share a prefix: "user:1", "user:2"),
         * then whole. */
        if ((b & 0xC0) == ENC_6BIT_STR) {
            const unsigned char *d = s;
            if ((size_t)(b & 0x3f) == len &&
                (len == 0 || (p[len] == d[len - 1] && memcmp(p + 1, d, len) == 0)))
                return p;
        } else if (needle_eq(p, &n)) {
            return p;
        }
        const unsigned char *q = p;
        for (unsigned i = 0; i <= skip && *q != LP_EOF; i++)
            q = skip_entry(q);
        p = (unsigned char *)q;
    }
    return NULL;
}

/* ---- modifying ---- */

/* Replace the bytes [off, off+del) of lp with one entry made of hdr[0..hlen)
 * followed by data[0..dlen) and its backlen (no entry when hlen == 0), and
 * adjust the element count by delta. data must not point into lp. Returns
 * the new listpack. */
static unsigned char *splice(unsigned char *lp, size_t off, size_t del, const unsigned char *hdr,
                             size_t hlen, const void *data, size_t dlen, long delta)
{
    size_t old = hdr_bytes(lp);
    size_t enc = hlen + dlen;
    size_t ins = hlen ? enc + backlen_size(enc) : 0;
    size_t tail = old - off - del;
    size_t nbytes = old - del + ins;
    if (nbytes > UINT32_MAX)
        abort(); /* callers bound sizes far below 4 GB (proto-max-bulk-len) */

    if (ins > del)
        lp = xrealloc(lp, nbytes);
    memmove(lp + off + ins, lp + off + del, tail);
    if (ins < del)
        lp = xrealloc(lp, nbytes);
    if (hlen) {
        unsigned char *dst = lp + off;
        memcpy(dst, hdr, hlen);
        if (dlen)
            memcpy(dst + hlen, data, dlen);
        enc_backlen(enc, dst + enc);
    }
    set_hdr_bytes(lp, (uint32_t)nbytes);
    unsigned n = hdr_count(lp);
    if (n != LP_HDR_NUMELE_UNKNOWN)
        set_hdr_count(lp, (unsigned long)((long)n + delta));
    return lp;
}

/* Insert an encoded entry (hdr + data) at p according to where. */
static unsigned char *insert_enc(unsigned char *lp, unsigned char *p, const unsigned char *hdr,
                                 size_t hlen, const void *data, size_t dlen, enum lp_where where,
                                 unsigned char **newp)
{
    size_t off = (size_t)(p - lp);
    size_t del = 0;
    long delta = 1;
    if (where == LP_AFTER) {
        off += lp_entry_size(p);
    } else if (where == LP_REPLACE) {
        del = lp_entry_size(p);
        delta = 0;
    }
    /* data may come from this very listpack (moving an element inside it):
     * copy it out before the realloc/memmove can invalidate it. */
    void *copy = NULL;
    const unsigned char *d = data;
    if (dlen && d >= lp && d < lp + hdr_bytes(lp)) {
        copy = xrealloc(NULL, dlen);
        memcpy(copy, data, dlen);
        data = copy;
    }
    lp = splice(lp, off, del, hdr, hlen, data, dlen, delta);
    free(copy);
    if (newp)
        *newp = lp + off;
    return lp;
}

unsigned char *lp_insert(unsigned char *lp, unsigned char *p, const void *s, size_t len,
                         enum lp_where where, unsigned char **newp)
{
    unsigned char hdr[MAX_INT_ENC];
    long long v;
    if (str_to_i64(s, len, &v))
        return insert_enc(lp, p, hdr, enc_int(v, hdr), NULL, 0, where, newp);
    return insert_enc(lp, p, hdr, enc_str_hdr(len, hdr), s, len, where, newp);
}

unsigned char *lp_insert_int(unsigned char *lp, unsigned char *p, long long v,
                             enum lp_where where, unsigned char **newp)
{
    unsigned char hdr[MAX_INT_ENC];
    return insert_enc(lp, p, hdr, enc_int(v, hdr), NULL, 0, where, newp);
}

unsigned char *lp_replace(unsigned char *lp, unsigned char **p, const void *s, size_t len)
{
    return lp_insert(lp, *p, s, len, LP_REPLACE, p);
}

unsigned char *lp_replace_int(unsigned char *lp, unsigned char **p, long long v)
{
    return lp_insert_int(lp, *p, v, LP_REPLACE, p);
}

unsigned char *lp_append(unsigned char *lp, const void *s, size_t len)
{
    return lp_insert(lp, lp + hdr_bytes(lp) - 1, s, len, LP_BEFORE, NULL);
}

unsigned char *lp_append_int(unsigned char *lp, long long v)
{
    return lp_insert_int(lp, lp + hdr_bytes(lp) - 1, v, LP_BEFORE, NULL);
}

unsigned char *lp_prepend(unsigned char *lp, const void *s, size_t len)
{
    return lp_insert(lp, lp + LP_HDR_SIZE, s, len, LP_BEFORE, NULL);
}

unsigned char *lp_prepend_int(unsigned char *lp, long long v)
{
    return lp_insert_int(lp, lp + LP_HDR_SIZE, v, LP_BEFORE, NULL);
}

unsigned char *lp_delete_range_at(unsigned char *lp, unsigned char **pp, unsigned long num)
{
    unsigned char *p = *pp;
    size_t off = (size_t)(p - lp);
    unsigned char *q = p;
    unsigned long n = 0;
    while (n < num && *q != LP_EOF) {
        q += lp_entry_size(q);
        n++;
    }
    lp = splice(lp, off, (size_t)(q - p), NULL, 0, NULL, 0, -(long)n);
    *pp = lp[off] == LP_EOF ? NULL : lp + off;
    return lp;
}

unsigned char *lp_delete(unsigned char *lp, unsigned char *p, unsigned char **next)
{
    lp = lp_delete_range_at(lp, &p, 1);
    if (next)
        *next = p;
    return lp;
}

unsigned char *lp_delete_range(unsigned char *lp, long index, unsigned long num)
{
    unsigned char *p = lp_seek(lp, index);
    if (!p || num == 0)
        return lp;
    return lp_delete_range_at(lp, &p, num);
}

/* ---- random picks ---- */

/* A per-thread xorshift64*: workers never share it, and it is seeded from
 * the clock and the thread's own address so threads differ. */
static uint64_t rnd(void)
{
    static __thread uint64_t s;
    if (!s) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&s;
        if (!s)
            s = 0x9E3779B97F4A7C15ull;
    }
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
}

struct pick {
    unsigned long index; /* pair index */
    unsigned long order; /* slot in the output */
};

static int pick_cmp(const void *a, const void *b)
{
    const struct pick *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

void lp_random_pairs(unsigned char *lp, unsigned long count, struct lp_elem *keys,
                     struct lp_elem *vals)
{
    unsigned long pairs = lp_length(lp) / 2;
    if (!pairs || !count)
        return;
    /* Draw the indexes, sort them, and fill the output in one walk: the
     * output order stays random because each pick remembers its slot. */
    struct pick *picks = xrealloc(NULL, count * sizeof(*picks));
    for (unsigned long i = 0; i < count; i++) {
        picks[i].index = (unsigned long)(rnd() % pairs);
        picks[i].order = i;
    }
    qsort(picks, count, sizeof(*picks), pick_cmp);
    unsigned char *p = lp_first(lp);
    unsigned long at = 0;
    for (unsigned long i = 0; i < count; i++) {
        while (at < picks[i].index) {
            p = lp_next(lp, lp_next(lp, p));
            at++;
        }
        lp_elem_at(p, &keys[picks[i].order]);
        if (vals)
            lp_elem_at(lp_next(lp, p), &vals[picks[i].order]);
    }
    free(picks);
}

unsigned long lp_random_pairs_unique(unsigned char *lp, unsigned long count,
                                     struct lp_elem *keys, struct lp_elem *vals)
{
    unsigned long pairs = lp_length(lp) / 2;
    if (count > pairs)
        count = pairs;
    /* Selection sampling (Knuth's algorithm S): each pair is taken with
     * probability needed/remaining, which picks exactly count pairs. */
    unsigned long picked = 0;
    unsigned char *p = lp_first(lp);
    for (unsigned long i = 0; i < pairs && picked < count; i++) {
        unsigned char *v = lp_next(lp, p);
        if (rnd() % (pairs - i) < count - picked) {
            lp_elem_at(p, &keys[picked]);
            if (vals)
                lp_elem_at(v, &vals[picked]);
            picked++;
        }
        p = lp_next(lp, v);
    }
    return picked;
}

/* ---- validation ---- */

/* Size of the encoding+data of the entry at p, reading only inside
 * [p, end); 0 when the encoding is invalid or does not fit. */
static uint64_t safe_enc_size(const unsigned char *p, const unsigned char *end)
{
    size_t avail = (size_t)(end - p);
    unsigned char b = p[0];
    uint64_t l;
    if ((b & ENC_7BIT_UINT_MASK) == 0)
        l = 1;
    else if ((b & 0xC0) == ENC_6BIT_STR)
        l = 1 + (b & 0x3f);
    else if ((b & 0xE0) == ENC_13BIT_INT)
        l = 2;
    else if ((b & 0xF0) == ENC_12BIT_STR) {
        if (avail < 2)
            return 0;
        l = 2 + (((uint64_t)(b & 0x0f) << 8) | p[1]);
    } else if (b == ENC_32BIT_STR) {
        if (avail < 5)
            return 0;
        l = 5 + ((uint64_t)p[1] | (uint64_t)p[2] << 8 | (uint64_t)p[3] << 16 |
                 (uint64_t)p[4] << 24);
    } else if (b == ENC_16BIT_INT)
        l = 3;
    else if (b == ENC_24BIT_INT)
        l = 4;
    else if (b == ENC_32BIT_INT)
        l = 5;
    else if (b == ENC_64BIT_INT)
        l = 9;
    else
        return 0; /* 0xF5..0xFE are unused; 0xFF is a premature end */
    return l <= avail ? l : 0;
}

bool lp_validate(const unsigned char *lp, size_t size, lp_validate_cb cb, void *ud)
{
    if (!lp || size < LP_EMPTY_BYTES || size > UINT32_MAX)
        return false;
    if (hdr_bytes(lp) != size || lp[size - 1] != LP_EOF)
        return false;
    const unsigned char *end = lp + size - 1; /* the terminator */
    const unsigned char *p = lp + LP_HDR_SIZE;
    unsigned long count = 0;
    while (p < end) {
        uint64_t l = safe_enc_size(p, end);
        if (!l)
            return false;
        size_t bl = backlen_size(l);
        if (bl > (size_t)(end - p) - l)
            return false;
        /* The backlen must be exactly the canonical encoding of l: decode it
         * inside its own bytes only. */
        const unsigned char *b = p + l;
        uint64_t v = 0;
        for (size_t i = 0; i < bl; i++) {
            bool last = i == bl - 1;
            unsigned char c = b[bl - 1 - i];
            if (((c & 128) != 0) == last)
                return false;
            v |= (uint64_t)(c & 127) << (7 * i);
        }
        if (v != l)
            return false;
        if (cb && !cb(p, ud))
            return false;
        p += l + bl;
        count++;
    }
    if (p != end)
        return false;
    unsigned n = hdr_count(lp);
    return n == LP_HDR_NUMELE_UNKNOWN || n == count;
}
