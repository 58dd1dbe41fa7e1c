/* RDB version 10 writer and loader, CRC64, LZF and the DEBUG DIGEST
 * algorithm. The format and the choices are described in rdb.h.
 *
 * Facts taken from Redis 7.0's rdb.h/rdb.c, lzf_c.c/lzf_d.c, crc64.c,
 * ziplist.c, zipmap.c and debug.c (the code here is our own):
 *   length prefix   00xxxxxx (6 bits) | 01xxxxxx xxxxxxxx (14 bits, big
 *                   endian) | 0x80 + u32 BE | 0x81 + u64 BE | 11xxxxxx a
 *                   special string encoding: 0 int8, 1 int16, 2 int32 (little
 *                   endian), 3 LZF (compressed len, original len, data)
 *   string          length + bytes, or one of the special encodings; Redis
 *                   tries the integer forms for strings of at most 11 bytes
 *                   that are canonical integers, and LZF for strings longer
 *                   than 20 bytes when it saves at least 4 bytes
 *   ZSET_2 scores   8-byte little-endian IEEE doubles
 *   ZSET scores     1-byte length + text; 253 nan, 254 +inf, 255 -inf
 *   quicklist 2     node count, then per node a container (1 plain, 2
 *                   packed) and the node's listpack (or plain element)
 *   EOF             0xFF then the CRC64 of everything before it, LE
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "intset.h"
#include "listpack.h"
#include "rdb.h"
#include "t_hash.h"
#include "t_list.h"
#include "t_set.h"
#include "t_zset.h"

#define RDB_TYPE_STRING 0
#define RDB_TYPE_LIST 1
#define RDB_TYPE_SET 2
#define RDB_TYPE_ZSET 3
#define RDB_TYPE_HASH 4
#define RDB_TYPE_ZSET_2 5
#define RDB_TYPE_MODULE 6
#define RDB_TYPE_MODULE_2 7
#define RDB_TYPE_HASH_ZIPMAP 9
#define RDB_TYPE_LIST_ZIPLIST 10
#define RDB_TYPE_SET_INTSET 11
#define RDB_TYPE_ZSET_ZIPLIST 12
#define RDB_TYPE_HASH_ZIPLIST 13
#define RDB_TYPE_LIST_QUICKLIST 14
#define RDB_TYPE_STREAM_LISTPACKS 15
#define RDB_TYPE_HASH_LISTPACK 16
#define RDB_TYPE_ZSET_LISTPACK 17
#define RDB_TYPE_LIST_QUICKLIST_2 18
#define RDB_TYPE_STREAM_LISTPACKS_2 19

#define RDB_OPCODE_FUNCTION2 245
#define RDB_OPCODE_FUNCTION 246
#define RDB_OPCODE_MODULE_AUX 247
#define RDB_OPCODE_IDLE 248
#define RDB_OPCODE_FREQ 249
#define RDB_OPCODE_AUX 250
#define RDB_OPCODE_RESIZEDB 251
#define RDB_OPCODE_EXPIRETIME_MS 252
#define RDB_OPCODE_EXPIRETIME 253
#define RDB_OPCODE_SELECTDB 254
#define RDB_OPCODE_EOF 255

#define RDB_ENC_INT8 0
#define RDB_ENC_INT16 1
#define RDB_ENC_INT32 2
#define RDB_ENC_LZF 3

#define QL_CONTAINER_PLAIN 1
#define QL_CONTAINER_PACKED 2

/* ======================================================================
 * CRC64 (Jones), LSB first, one table
 * ====================================================================== */

/* Slice-by-8: crc_table[k][b] is the CRC of byte b followed by k zero
 * bytes, so eight input bytes are folded with eight lookups (~5x the
 * byte-at-a-time speed; the CRC was a fifth of SAVE's time). */
static uint64_t crc_table[8][256];

static void crc_init(void)
{
    /* The polynomial is given MSB first; the reflected algorithm uses it
     * bit-reversed. */
    uint64_t poly = 0xad93d23594c935a9ULL, rpoly = 0;
    for (int i = 0; i < 64; i++)
        if (poly & (1ULL << i))
            rpoly |= 1ULL << (63 - i);
    for (int i = 0; i < 256; i++) {
        uint64_t c = (uint64_t)i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ rpoly : c >> 1;
        crc_table[0][i] = c;
    }
    for (int i = 0; i < 256; i++)
        for (int k = 1; k < 8; k++)
            crc_table[k][i] =
                (crc_table[k - 1][i] >> 8) ^ crc_table[0][crc_table[k - 1][i] & 0xff];
}

uint64_t rdb_crc64(uint64_t crc, const void *p, size_t n)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc_init);
    const unsigned char *s = p;
    while (n >= 8) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
            v = v << 8 | s[i];
        crc ^= v;
        crc = crc_table[7][crc & 0xff] ^ crc_table[6][(crc >> 8) & 0xff] ^
              crc_table[5][(crc >> 16) & 0xff] ^ crc_table[4][(crc >> 24) & 0xff] ^
              crc_table[3][(crc >> 32) & 0xff] ^ crc_table[2][(crc >> 40) & 0xff] ^
              crc_table[1][(crc >> 48) & 0xff] ^ crc_table[0][crc >> 56];
        s += 8;
        n -= 8;
    }
    while (n--)
        crc = crc_table[0][(crc ^ *s++) & 0xff] ^ (crc >> 8);
    return crc;
}

/* ======================================================================
 * LZF
 *
 * A literal run is a control byte 000LLLLL (L+1 bytes follow, 1..32); a
 * back reference is LLLooooo [extra length] oooooooo: length L+2 (L = 7
 * means 9 + the extra byte), distance o+1 (up to 8192) back in the output.
 * ====================================================================== */

#define LZF_HLOG 14
#define LZF_MAX_OFF (1 << 13)
#define LZF_MAX_REF ((1 << 8) + (1 << 3)) /* 264 */
#define LZF_MAX_LIT (1 << 5)

static inline uint32_t lzf_hash(const unsigned char *p)
{
    uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    return (v * 2654435761u) >> (32 - LZF_HLOG);
}

/* Emit in[from..to) as literal runs; false when out is full. */
static bool lzf_literals(const unsigned char *in, size_t from, size_t to, unsigned char *out,
                         size_t *op, size_t outlen)
{
    while (from < to) {
        size_t n = to - from > LZF_MAX_LIT ? LZF_MAX_LIT : to - from;
        if (*op + 1 + n > outlen)
            return false;
        out[(*op)++] = (unsigned char)(n - 1);
        memcpy(out + *op, in + from, n);
        *op += n;
        from += n;
    }
    return true;
}

/* The hash table of recent positions is per thread and tagged with a
 * per-call epoch instead of being cleared: clearing 64 KB for every
 * 30-byte string made saving a million strings take seconds. Tags keep
 * the output deterministic (a stale slot never matches). */
struct lzf_slot {
    uint32_t pos;
    uint32_t epoch;
};
static __thread struct lzf_slot lzf_htab[1u << LZF_HLOG];
static __thread uint32_t lzf_epoch;

size_t rdb_lzf_compress(const void *inp, size_t inlen, void *outp, size_t outlen)
{
    const unsigned char *in = inp;
    unsigned char *out = outp;
    struct lzf_slot *htab = lzf_htab;
    uint32_t epoch = ++lzf_epoch;
    if (epoch == 0) { /* wrapped: clear once every 4 billion calls */
        memset(lzf_htab, 0, sizeof(lzf_htab));
        epoch = lzf_epoch = 1;
    }
    size_t ip = 0, lit = 0, op = 0;
    bool ok = true;
    while (ok && ip + 2 < inlen) {
        uint32_t h = lzf_hash(in + ip);
        size_t ref = htab[h].epoch == epoch ? htab[h].pos : 0;
        htab[h] = (struct lzf_slot){(uint32_t)(ip + 1), epoch};
        if (ref && ip - (ref - 1) <= LZF_MAX_OFF && memcmp(in + ref - 1, in + ip, 3) == 0 &&
            ip < UINT32_MAX) {
            ref--;
            size_t off = ip - ref - 1;
            size_t max = inlen - ip > LZF_MAX_REF ? LZF_MAX_REF : inlen - ip;
            size_t len = 3;
            while (len < max && in[ref + len] == in[ip + len])
                len++;
            if (!lzf_literals(in, lit, ip, out, &op, outlen) || op + 3 > outlen) {
                ok = false;
                break;
            }
            size_t l = len - 2;
            if (l < 7) {
                out[op++] = (unsigned char)(l << 5 | off >> 8);
            } else {
                out[op++] = (unsigned char)(7 << 5 | off >> 8);
                out[op++] = (unsigned char)(l - 7);
            }
            if (op >= outlen) {
                ok = false;
                break;
            }
            out[op++] = (unsigned char)(off & 0xff);
            /* Index the positions inside the match too (cheaply: the
             * next two), as liblzf does. */
            for (size_t k = 1; k < 3 && ip + k + 2 < inlen && k < len; k++)
                htab[lzf_hash(in + ip + k)] = (struct lzf_slot){(uint32_t)(ip + k + 1), epoch};
            ip += len;
            lit = ip;
        } else {
            ip++;
        }
    }
    if (ok)
        ok = lzf_literals(in, lit, inlen, out, &op, outlen);
    return ok ? op : 0;
}

size_t rdb_lzf_decompress(const void *inp, size_t inlen, void *outp, size_t outlen)
{
    const unsigned char *ip = inp, *iend = ip + inlen;
    unsigned char *out = outp, *op = out, *oend = out + outlen;
    while (ip < iend) {
        unsigned ctrl = *ip++;
        if (ctrl < 32) {
            size_t n = ctrl + 1;
            if ((size_t)(iend - ip) < n || (size_t)(oend - op) < n)
                return 0;
            memcpy(op, ip, n);
            op += n;
            ip += n;
        } else {
            size_t n = ctrl >> 5;
            if (n == 7) {
                if (ip >= iend)
                    return 0;
                n += *ip++;
            }
            if (ip >= iend)
                return 0;
            size_t back = ((size_t)(ctrl & 0x1f) << 8) + *ip++ + 1;
            n += 2;
            if (back > (size_t)(op - out) || (size_t)(oend - op) < n)
                return 0;
            const unsigned char *ref = op - back;
            for (size_t k = 0; k < n; k++) /* may overlap: byte by byte */
                op[k] = ref[k];
            op += n;
        }
    }
    return (size_t)(op - out);
}

/* ======================================================================
 * SHA1 (for DEBUG DIGEST), FIPS 180-1
 * ====================================================================== */

struct sha1 {
    uint32_t h[5];
    uint64_t bytes;
    unsigned char buf[64];
    size_t blen;
};

static inline uint32_t rol(uint32_t v, int n) { return v << n | v >> (32 - n); }

static void sha1_block(struct sha1 *c, const unsigned char *b)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 |
               (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = c->h[0], bb = c->h[1], cc = c->h[2], d = c->h[3], e = c->h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (bb & cc) | (~bb & d);
            k = 0x5A827999;
        } else if (i < 40) {
            f = bb ^ cc ^ d;
            k = 0x6ED9EBA1;
        } else if (i < 60) {
            f = (bb & cc) | (bb & d) | (cc & d);
            k = 0x8F1BBCDC;
        } else {
            f = bb ^ cc ^ d;
            k = 0xCA62C1D6;
        }
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = cc;
        cc = rol(bb, 30);
        bb = a;
        a = t;
    }
    c->h[0] += a;
    c->h[1] += bb;
    c->h[2] += cc;
    c->h[3] += d;
    c->h[4] += e;
}

static void sha1_init(struct sha1 *c)
{
    static const uint32_t iv[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    memcpy(c->h, iv, sizeof(iv));
    c->bytes = 0;
    c->blen = 0;
}

static void sha1_update(struct sha1 *c, const void *p, size_t n)
{
    const unsigned char *s = p;
    c->bytes += n;
    while (n) {
        size_t k = 64 - c->blen < n ? 64 - c->blen : n;
        memcpy(c->buf + c->blen, s, k);
        c->blen += k;
        s += k;
        n -= k;
        if (c->blen == 64) {
            sha1_block(c, c->buf);
            c->blen = 0;
        }
    }
}

static void sha1_final(struct sha1 *c, unsigned char out[20])
{
    uint64_t bits = c->bytes * 8;
    unsigned char pad = 0x80, zero = 0, len[8];
    sha1_update(c, &pad, 1);
    while (c->blen != 56)
        sha1_update(c, &zero, 1);
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha1_update(c, len, 8);
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 4; k++)
            out[4 * i + k] = (unsigned char)(c->h[i] >> (24 - 8 * k));
}

void rdb_sha1(const void *p, size_t n, unsigned char out[20])
{
    struct sha1 c;
    sha1_init(&c);
    sha1_update(&c, p, n);
    sha1_final(&c, out);
}

/* ======================================================================
 * DEBUG DIGEST: Redis's debug.c algorithm. Unordered collections (sets,
 * hash fields, zset members, keys) are xored, ordered ones (list
 * elements) chained, so equal datasets digest equally whatever the
 * encoding or the table order.
 * ====================================================================== */

static void xor_digest(unsigned char *d, const void *p, size_t n)
{
    unsigned char h[20];
    rdb_sha1(p, n, h);
    for (int i = 0; i < 20; i++)
        d[i] ^= h[i];
}

static void mix_digest(unsigned char *d, const void *p, size_t n)
{
    xor_digest(d, p, n);
    rdb_sha1(d, 20, d);
}

static bool dg_set_member(void *arg, const char *m, size_t n)
{
    xor_digest(arg, m, n);
    return true;
}

static bool dg_zset_member(void *arg, const char *m, size_t n, double score)
{
    unsigned char ed[20] = {0};
    char buf[128];
    mix_digest(ed, m, n);
    int k = snprintf(buf, sizeof(buf), "%.17g", score);
    mix_digest(ed, buf, (size_t)k);
    xor_digest(arg, ed, 20);
    return true;
}

static void dg_hash_pair(void *arg, const char *f, size_t fl, const char *v, size_t vl)
{
    unsigned char ed[20] = {0};
    mix_digest(ed, f, fl);
    mix_digest(ed, v, vl);
    xor_digest(arg, ed, 20);
}

void rdb_digest_value(const struct entry *e, unsigned char d[20])
{
    unsigned char tb[4];
    uint32_t t = (uint32_t)entry_type(e);
    tb[0] = (unsigned char)(t >> 24); /* htonl */
    tb[1] = (unsigned char)(t >> 16);
    tb[2] = (unsigned char)(t >> 8);
    tb[3] = (unsigned char)t;
    mix_digest(d, tb, 4);
    switch (entry_type(e)) {
    case OBJ_STRING: {
        char buf[24];
        size_t len;
        const char *s = entry_str(e, &len, buf);
        mix_digest(d, s, len);
        break;
    }
    case OBJ_LIST: {
        struct quicklist *ql = entry_get_ptr(e);
        char buf[LP_INTBUF_SIZE];
        for (struct ql_node *n = ql->head; n; n = n->next)
            for (unsigned char *p = lp_first(n->lp); p; p = lp_next(n->lp, p)) {
                uint32_t len;
                const unsigned char *s = lp_get_str(p, &len, buf);
                mix_digest(d, s, len);
            }
        break;
    }
    case OBJ_SET:
        set_each(e, dg_set_member, d);
        break;
    case OBJ_ZSET:
        zset_foreach(e, false, dg_zset_member, d);
        break;
    case OBJ_HASH:
        hash_obj_foreach(entry_get_ptr(e), entry_enc(e), dg_hash_pair, d);
        break;
    }
    if (entry_expire(e) != -1)
        xor_digest(d, "!!expire!!", 10);
}

struct dg_db {
    unsigned char *final;
};

static int dg_key(void *arg, struct entry *e)
{
    unsigned char d[20] = {0};
    size_t klen;
    const char *k = entry_key(e, &klen);
    mix_digest(d, k, klen);
    rdb_digest_value(e, d);
    xor_digest(((struct dg_db *)arg)->final, d, 20);
    return 0;
}

void rdb_digest_dataset(struct shard *const *shards, int nshards, unsigned char out[20])
{
    memset(out, 0, 20);
    if (nshards <= 0)
        return;
    for (int j = 0; j < shards[0]->ndb; j++) {
        uint64_t n = 0;
        for (int i = 0; i < nshards; i++)
            n += dict_size(&shards[i]->db[j].keys);
        if (!n)
            continue;
        unsigned char aux[4] = {(unsigned char)(j >> 24), (unsigned char)(j >> 16),
                                (unsigned char)(j >> 8), (unsigned char)j};
        mix_digest(out, aux, 4);
        struct dg_db a = {out};
        for (int i = 0; i < nshards; i++)
            dict_foreach(&shards[i]->db[j].keys, dg_key, &a);
    }
}

/* ======================================================================
 * Writing
 * ====================================================================== */

#define WBUF_CAP (1u << 20)

struct wr {
    int fd; /* -1: into memory */
    unsigned char *buf;
    size_t len, cap;
    size_t crc_from; /* bytes of buf already in crc */
    uint64_t crc;
    bool compress;
    int err; /* errno of the first failed write */
    int lru_records;
    const struct shard *shard; /* of the entries being written */
    struct rdb_autosync *as;   /* incremental sync of fd, NULL none */
};

_Atomic uint64_t rdb_autosyncs;

int rdb_autosync_wrote(int fd, struct rdb_autosync *a, size_t n)
{
    a->written += n;
    while (a->written - a->synced >= RDB_AUTOSYNC_BYTES) {
        /* Start the writeout of these 4 MB, then wait for the 4 MB before
         * them (started one round ago, most likely done by now). */
        if (sync_file_range(fd, (off_t)a->synced, RDB_AUTOSYNC_BYTES, SYNC_FILE_RANGE_WRITE) != 0)
            return errno;
        if (a->synced >= RDB_AUTOSYNC_BYTES &&
            sync_file_range(fd, (off_t)(a->synced - RDB_AUTOSYNC_BYTES), RDB_AUTOSYNC_BYTES,
                            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                SYNC_FILE_RANGE_WAIT_AFTER) != 0)
            return errno;
        a->synced += RDB_AUTOSYNC_BYTES;
        atomic_fetch_add_explicit(&rdb_autosyncs, 1, memory_order_relaxed);
    }
    return 0;
}

/* Write n bytes to the file (the first error is kept, later calls do
 * nothing). */
static void w_write(struct wr *w, const unsigned char *p, size_t n)
{
    size_t off = 0;
    while (off < n && !w->err) {
        ssize_t k = write(w->fd, p + off, n - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            w->err = k < 0 ? errno : EIO;
        else
            off += (size_t)k;
    }
    if (!w->err && w->as) {
        int e = rdb_autosync_wrote(w->fd, w->as, n);
        if (e)
            w->err = e;
    }
}

static void w_crc(struct wr *w)
{
    w->crc = rdb_crc64(w->crc, w->buf + w->crc_from, w->len - w->crc_from);
    w->crc_from = w->len;
}

static void w_flush(struct wr *w)
{
    if (w->fd < 0)
        return;
    w_crc(w);
    w_write(w, w->buf, w->len);
    w->len = w->crc_from = 0;
}

static void w_put(struct wr *w, const void *p, size_t n)
{
    if (w->len + n > w->cap) {
        if (w->fd >= 0) {
            w_flush(w);
        } else {
            size_t cap = w->cap ? w->cap : 4096;
            while (cap < w->len + n)
                cap *= 2;
            w->buf = realloc(w->buf, cap);
            if (!w->buf)
                abort();
            w->cap = cap;
        }
    }
    if (w->fd >= 0 && n > w->cap) { /* larger than the buffer: write through */
        w->crc = rdb_crc64(w->crc, p, n);
        w_write(w, p, n);
        return;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void w_byte(struct wr *w, unsigned v)
{
    unsigned char b = (unsigned char)v;
    w_put(w, &b, 1);
}

static void w_len(struct wr *w, uint64_t v)
{
    unsigned char b[9];
    if (v < 64) {
        b[0] = (unsigned char)v;
        w_put(w, b, 1);
    } else if (v < 16384) {
        b[0] = (unsigned char)(0x40 | v >> 8);
        b[1] = (unsigned char)v;
        w_put(w, b, 2);
    } else if (v <= UINT32_MAX) {
        b[0] = 0x80;
        for (int i = 0; i < 4; i++)
            b[1 + i] = (unsigned char)(v >> (24 - 8 * i));
        w_put(w, b, 5);
    } else {
        b[0] = 0x81;
        for (int i = 0; i < 8; i++)
            b[1 + i] = (unsigned char)(v >> (56 - 8 * i));
        w_put(w, b, 9);
    }
}

/* Redis's rdbTryIntegerEncoding: a canonical integer of at most 11 bytes
 * that fits 32 bits is written as int8/16/32. */
static bool w_try_int(struct wr *w, const char *s, size_t n)
{
    long long v;
    if (n == 0 || n > 11 || !str_to_ll(s, n, &v))
        return false;
    char buf[LP_INTBUF_SIZE];
    if ((size_t)lp_fmt_int(v, buf) != n || memcmp(buf, s, n) != 0)
        return false;
    unsigned char b[5];
    size_t k;
    if (v >= INT8_MIN && v <= INT8_MAX) {
        b[0] = 0xC0 | RDB_ENC_INT8;
        b[1] = (unsigned char)v;
        k = 2;
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
        b[0] = 0xC0 | RDB_ENC_INT16;
        b[1] = (unsigned char)v;
        b[2] = (unsigned char)(v >> 8);
        k = 3;
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        b[0] = 0xC0 | RDB_ENC_INT32;
        for (int i = 0; i < 4; i++)
            b[1 + i] = (unsigned char)((uint32_t)v >> (8 * i));
        k = 5;
    } else {
        return false;
    }
    w_put(w, b, k);
    return true;
}

static void w_str(struct wr *w, const void *p, size_t n)
{
    if (n <= 11 && w_try_int(w, p, n))
        return;
    if (w->compress && n > 20) {
        unsigned char *out = malloc(n);
        if (!out)
            abort();
        size_t c = rdb_lzf_compress(p, n, out, n - 4);
        if (c) {
            w_byte(w, 0xC0 | RDB_ENC_LZF);
            w_len(w, c);
            w_len(w, n);
            w_put(w, out, c);
            free(out);
            return;
        }
        free(out);
    }
    w_len(w, n);
    w_put(w, p, n);
}

static void w_aux(struct wr *w, const char *k, const char *v)
{
    w_byte(w, RDB_OPCODE_AUX);
    w_str(w, k, strlen(k));
    w_str(w, v, strlen(v));
}

static void w_aux_int(struct wr *w, const char *k, long long v)
{
    char buf[LP_INTBUF_SIZE];
    lp_fmt_int(v, buf);
    w_aux(w, k, buf);
}

static bool w_set_member(void *arg, const char *m, size_t n)
{
    w_str(arg, m, n);
    return true;
}

static bool w_zset_member(void *arg, const char *m, size_t n, double score)
{
    unsigned char b[8];
    uint64_t bits;
    memcpy(&bits, &score, 8);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(bits >> (8 * i));
    w_str(arg, m, n);
    w_put(arg, b, 8);
    return true;
}

static void w_hash_pair(void *arg, const char *f, size_t fl, const char *v, size_t vl)
{
    w_str(arg, f, fl);
    w_str(arg, v, vl);
}


/* One key: [EXPIRETIME_MS ms] type key value. */
static int w_entry(void *arg, struct entry *e)
{
    struct wr *w = arg;
    int64_t exp = entry_expire(e);
    if (exp != -1) {
        unsigned char b[8];
        for (int i = 0; i < 8; i++)
            b[i] = (unsigned char)((uint64_t)exp >> (8 * i));
        w_byte(w, RDB_OPCODE_EXPIRETIME_MS);
        w_put(w, b, 8);
    }
    if (w->lru_records == RDB_LRU_IDLE) {
        w_byte(w, RDB_OPCODE_IDLE);
        w_len(w, (w->shard->lru_clock - entry_lru(e)) & 0xffffff);
    } else if (w->lru_records == RDB_LRU_FREQ) {
        w_byte(w, RDB_OPCODE_FREQ);
        w_byte(w, (unsigned)store_lfu_freq(w->shard, e));
    }
    size_t klen;
    const char *key = entry_key(e, &klen);
    void *obj = entry_type(e) == OBJ_STRING ? NULL : entry_get_ptr(e);
    switch (entry_type(e)) {
    case OBJ_STRING: {
        char buf[24];
        size_t len;
        const char *s = entry_str(e, &len, buf);
        w_byte(w, RDB_TYPE_STRING);
        w_str(w, key, klen);
        w_str(w, s, len);
        break;
    }
    case OBJ_LIST: {
        struct quicklist *ql = obj;
        w_byte(w, RDB_TYPE_LIST_QUICKLIST_2);
        w_str(w, key, klen);
        w_len(w, ql->nodes);
        for (struct ql_node *n = ql->head; n; n = n->next) {
            w_len(w, QL_CONTAINER_PACKED);
            w_str(w, n->lp, lp_bytes(n->lp));
        }
        break;
    }
    case OBJ_SET:
        if (entry_enc(e) == ENC_INTSET) {
            w_byte(w, RDB_TYPE_SET_INTSET);
            w_str(w, key, klen);
            w_str(w, obj, intset_blob_len(obj));
        } else {
            w_byte(w, RDB_TYPE_SET);
            w_str(w, key, klen);
            w_len(w, set_length(e));
            set_each(e, w_set_member, w);
        }
        break;
    case OBJ_ZSET:
        if (entry_enc(e) == ENC_LISTPACK) {
            w_byte(w, RDB_TYPE_ZSET_LISTPACK);
            w_str(w, key, klen);
            w_str(w, obj, lp_bytes(obj));
        } else {
            w_byte(w, RDB_TYPE_ZSET_2);
            w_str(w, key, klen);
            w_len(w, zset_length(e));
            /* Highest score first, as Redis writes it. */
            zset_foreach(e, true, w_zset_member, w);
        }
        break;
    case OBJ_HASH:
        if (entry_enc(e) == ENC_LISTPACK) {
            w_byte(w, RDB_TYPE_HASH_LISTPACK);
            w_str(w, key, klen);
            w_str(w, obj, lp_bytes(obj));
        } else {
            w_byte(w, RDB_TYPE_HASH);
            w_str(w, key, klen);
            w_len(w, hash_obj_len(obj, entry_enc(e)));
            hash_obj_foreach(obj, entry_enc(e), w_hash_pair, w);
        }
        break;
    }
    return w->err != 0;
}

/* dict_foreach's order, with the entries of the bucket PREFETCH_AHEAD
 * places on fetched early: saving is bound by cache misses on entries
 * scattered over the heap (half of SAVE's time was the first touch of
 * each entry). */
#define PREFETCH_AHEAD 16

static void w_table(struct wr *w, const struct dict *d)
{
    for (int t = 0; t < 2 && !w->err; t++) {
        uint64_t size = d->size[t];
        for (uint64_t i = 0; i < size && !w->err; i++) {
            if (i + PREFETCH_AHEAD < size) {
                const struct entry *ahead = d->table[t][i + PREFETCH_AHEAD];
                if (ahead)
                    __builtin_prefetch(ahead);
            }
            for (struct entry *e = d->table[t][i]; e; e = e->next)
                w_entry(w, e);
        }
    }
}

static void w_all(struct wr *w, struct shard *const *shards, int nshards,
                  const struct rdb_save_opts *o)
{
    char magic[16];
    snprintf(magic, sizeof(magic), "REDIS%04d", RDB_VERSION);
    w_put(w, magic, 9);
    w_aux(w, "redis-ver", RDB_REDIS_VER);
    w_aux_int(w, "redis-bits", (long long)sizeof(void *) * 8);
    w_aux_int(w, "ctime", (long long)(o->now_ms / 1000));
    w_aux_int(w, "used-mem", (long long)o->used_mem);
    w_aux_int(w, "aof-base", o->aof_base ? 1 : 0);
    for (int j = 0; nshards > 0 && j < shards[0]->ndb && !w->err; j++) {
        uint64_t keys = 0, expires = 0;
        for (int i = 0; i < nshards; i++) {
            keys += dict_size(&shards[i]->db[j].keys);
            expires += shards[i]->db[j].volatile_keys;
        }
        if (!keys)
            continue;
        w_byte(w, RDB_OPCODE_SELECTDB);
        w_len(w, (uint64_t)j);
        w_byte(w, RDB_OPCODE_RESIZEDB);
        w_len(w, keys);
        w_len(w, expires);
        for (int i = 0; i < nshards && !w->err; i++) {
            w->shard = shards[i];
            w_table(w, &shards[i]->db[j].keys);
        }
    }
    w_byte(w, RDB_OPCODE_EOF);
    if (w->fd >= 0)
        w_flush(w);
    else
        w_crc(w);
    uint64_t crc = o->checksum ? w->crc : 0;
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(crc >> (8 * i));
    w_put(w, b, 8);
    w_flush(w);
}

/* ---- pieces of a stream (the fork-less snapshot) ----
 * The same writer on a caller-owned memory buffer: a struct wr in memory
 * mode borrows the piece's buffer for one call and gives it back grown. */

static struct wr piece_wr(struct rdb_piece *p, const struct rdb_save_opts *o)
{
    return (struct wr){.fd = -1, .buf = p->buf, .len = p->len, .cap = p->cap,
                       .compress = o && o->compress, .lru_records = o ? o->lru_records : 0};
}

static void piece_back(struct rdb_piece *p, const struct wr *w)
{
    p->buf = w->buf;
    p->len = w->len;
    p->cap = w->cap;
}

void rdb_piece_header(struct rdb_piece *p, const struct rdb_save_opts *o)
{
    struct wr w = piece_wr(p, o);
    char magic[16];
    snprintf(magic, sizeof(magic), "REDIS%04d", RDB_VERSION);
    w_put(&w, magic, 9);
    w_aux(&w, "redis-ver", RDB_REDIS_VER);
    w_aux_int(&w, "redis-bits", (long long)sizeof(void *) * 8);
    w_aux_int(&w, "ctime", (long long)(o->now_ms / 1000));
    w_aux_int(&w, "used-mem", (long long)o->used_mem);
    w_aux_int(&w, "aof-base", o->aof_base ? 1 : 0);
    piece_back(p, &w);
}

void rdb_piece_selectdb(struct rdb_piece *p, int dbid)
{
    struct wr w = piece_wr(p, NULL);
    w_byte(&w, RDB_OPCODE_SELECTDB);
    w_len(&w, (uint64_t)dbid);
    piece_back(p, &w);
}

void rdb_piece_resizedb(struct rdb_piece *p, uint64_t keys, uint64_t expires)
{
    struct wr w = piece_wr(p, NULL);
    w_byte(&w, RDB_OPCODE_RESIZEDB);
    w_len(&w, keys);
    w_len(&w, expires);
    piece_back(p, &w);
}

void rdb_piece_key(struct rdb_piece *p, const struct shard *s, struct entry *e,
                   const struct rdb_save_opts *o)
{
    struct wr w = piece_wr(p, o);
    w.shard = s;
    w_entry(&w, e);
    piece_back(p, &w);
}

uint64_t rdb_piece_eof(struct rdb_piece *p, uint64_t crc, bool checksum)
{
    struct wr w = piece_wr(p, NULL);
    size_t from = w.len;
    w_byte(&w, RDB_OPCODE_EOF);
    crc = rdb_crc64(crc, w.buf + from, 1);
    unsigned char b[8];
    uint64_t v = checksum ? crc : 0;
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    w_put(&w, b, 8);
    piece_back(p, &w);
    return crc;
}

int rdb_lru_records_for_policy(void)
{
    switch (store_evict.policy) {
    case EVICT_VOLATILE_LRU:
    case EVICT_ALLKEYS_LRU: return RDB_LRU_IDLE;
    case EVICT_VOLATILE_LFU:
    case EVICT_ALLKEYS_LFU: return RDB_LRU_FREQ;
    default: return 0;
    }
}

int rdb_save_fd(int fd, struct shard *const *shards, int nshards, const struct rdb_save_opts *o)
{
    struct rdb_autosync as = {0};
    struct wr w = {.fd = fd, .cap = WBUF_CAP, .compress = o->compress,
                   .lru_records = o->lru_records, .as = o->autosync ? &as : NULL};
    w.buf = malloc(w.cap);
    if (!w.buf)
        abort();
    w_all(&w, shards, nshards, o);
    free(w.buf);
    if (w.err) {
        errno = w.err;
        return -1;
    }
    return 0;
}

unsigned char *rdb_save_mem(struct shard *const *shards, int nshards,
                            const struct rdb_save_opts *o, size_t *len)
{
    struct wr w = {.fd = -1, .compress = o->compress, .lru_records = o->lru_records};
    w_all(&w, shards, nshards, o);
    *len = w.len;
    return w.buf;
}

/* ======================================================================
 * Loading
 * ====================================================================== */

struct ld {
    const unsigned char *base, *p, *end;
    char *err;
    size_t errlen;
    bool failed;
    struct shard *const *shards;
    int nshards;
    const struct rdb_load_opts *o;
    struct rdb_load_stats *st;
    int dbid;
    int64_t idle; /* from an IDLE record before the key, -1 none */
    int freq;     /* from a FREQ record before the key, -1 none */
};

static bool fail(struct ld *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct ld *l, const char *fmt, ...)
{
    if (l->failed)
        return false;
    l->failed = true;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (l->err && l->errlen)
        snprintf(l->err, l->errlen, "%s at offset %zu", msg, (size_t)(l->p - l->base));
    return false;
}

static inline size_t left(const struct ld *l) { return (size_t)(l->end - l->p); }

static bool rd_bytes(struct ld *l, size_t n, const unsigned char **out)
{
    *out = l->p;
    if (left(l) < n)
        return fail(l, "Unexpected end of file (short read)");
    l->p += n;
    return true;
}

static bool rd_u8(struct ld *l, unsigned *v)
{
    const unsigned char *b;
    if (!rd_bytes(l, 1, &b))
        return false;
    *v = b[0];
    return true;
}

static uint64_t le(const unsigned char *b, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

/* A length, or (enc set) the special string encoding number. */
static bool rd_len_enc(struct ld *l, uint64_t *v, bool *enc)
{
    unsigned b0;
    const unsigned char *b;
    *enc = false;
    if (!rd_u8(l, &b0))
        return false;
    switch (b0 >> 6) {
    case 0:
        *v = b0 & 0x3f;
        return true;
    case 1:
        if (!rd_bytes(l, 1, &b))
            return false;
        *v = (uint64_t)(b0 & 0x3f) << 8 | b[0];
        return true;
    case 2:
        if (b0 == 0x80) {
            if (!rd_bytes(l, 4, &b))
                return false;
            *v = (uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 | (uint64_t)b[2] << 8 | b[3];
            return true;
        }
        if (b0 == 0x81) {
            if (!rd_bytes(l, 8, &b))
                return false;
            *v = 0;
            for (int i = 0; i < 8; i++)
                *v = *v << 8 | b[i];
            return true;
        }
        return fail(l, "Unknown length encoding %u in rdbLoadLen()", b0);
    default:
        *enc = true;
        *v = b0 & 0x3f;
        return true;
    }
}

static bool rd_len(struct ld *l, uint64_t *v)
{
    bool enc;
    if (!rd_len_enc(l, v, &enc))
        return false;
    if (enc)
        return fail(l, "Unexpected encoded length");
    return true;
}

/* A count of items that each take at least min_bytes more of the file:
 * a hostile count fails here instead of in an allocation. */
static bool rd_count(struct ld *l, uint64_t *n, size_t min_bytes)
{
    if (!rd_len(l, n))
        return false;
    if (*n > left(l) / min_bytes)
        return fail(l, "Length %llu larger than the rest of the file", (unsigned long long)*n);
    return true;
}

/* A string read from the file: points into the file, into ibuf (integer
 * encodings) or into owned (LZF). */
struct rstr {
    const unsigned char *p;
    size_t len;
    unsigned char *owned;
    char ibuf[LP_INTBUF_SIZE];
};

static void rstr_free(struct rstr *s)
{
    free(s->owned);
    s->owned = NULL;
}

static bool rd_str(struct ld *l, struct rstr *s)
{
    uint64_t len = 0; /* set by rd_len_enc; -O3 cannot see it */
    bool enc;
    s->owned = NULL;
    if (!rd_len_enc(l, &len, &enc))
        return false;
    if (!enc) {
        s->len = (size_t)len;
        return rd_bytes(l, s->len, &s->p);
    }
    const unsigned char *b;
    long long v;
    switch (len) {
    case RDB_ENC_INT8:
        if (!rd_bytes(l, 1, &b))
            return false;
        v = (int8_t)b[0];
        break;
    case RDB_ENC_INT16:
        if (!rd_bytes(l, 2, &b))
            return false;
        v = (int16_t)le(b, 2);
        break;
    case RDB_ENC_INT32:
        if (!rd_bytes(l, 4, &b))
            return false;
        v = (int32_t)le(b, 4);
        break;
    case RDB_ENC_LZF: {
        uint64_t clen, ulen;
        if (!rd_len(l, &clen) || !rd_len(l, &ulen))
            return false;
        if (!rd_bytes(l, (size_t)clen, &b))
            return false;
        /* LZF expands at most 88 times (a 3-byte reference gives 264
         * bytes): a larger claim is a lie, not a reason to allocate. */
        if (ulen == 0 || ulen > clen * 88 + 32)
            return fail(l, "Invalid LZF compressed string");
        s->owned = malloc((size_t)ulen);
        if (!s->owned)
            return fail(l, "Out of memory decompressing a string");
        if (rdb_lzf_decompress(b, (size_t)clen, s->owned, (size_t)ulen) != ulen) {
            rstr_free(s);
            return fail(l, "Invalid LZF compressed string");
        }
        s->p = s->owned;
        s->len = (size_t)ulen;
        return true;
    }
    default:
        return fail(l, "Unknown RDB string encoding type %llu", (unsigned long long)len);
    }
    s->len = (size_t)lp_fmt_int(v, s->ibuf);
    s->p = (const unsigned char *)s->ibuf;
    return true;
}

/* A string that must be copied into its own allocation (blobs kept as a
 * value: listpacks, intsets). */
static unsigned char *rstr_take(struct rstr *s)
{
    if (s->owned && s->p == s->owned) {
        unsigned char *p = s->owned;
        s->owned = NULL;
        return p;
    }
    unsigned char *p = malloc(s->len ? s->len : 1);
    if (!p)
        abort();
    memcpy(p, s->p, s->len);
    return p;
}

static bool rd_double_bin(struct ld *l, double *d)
{
    const unsigned char *b;
    if (!rd_bytes(l, 8, &b))
        return false;
    uint64_t bits = le(b, 8);
    memcpy(d, &bits, 8);
    return true;
}

static bool rd_double_text(struct ld *l, double *d)
{
    unsigned n;
    const unsigned char *b;
    if (!rd_u8(l, &n))
        return false;
    switch (n) {
    case 253: *d = NAN; return true;
    case 254: *d = INFINITY; return true;
    case 255: *d = -INFINITY; return true;
    }
    char buf[256];
    if (!rd_bytes(l, n, &b))
        return false;
    memcpy(buf, b, n);
    buf[n] = '\0';
    char *end;
    *d = strtod(buf, &end);
    if (n == 0 || end != buf + n)
        return fail(l, "Invalid double value");
    return true;
}

/* ---- ziplist and zipmap walking (validated as they are walked) ---- */

/* One element of a ziplist or zipmap: bytes, or an integer. */
typedef bool (*elem_fn)(void *arg, const unsigned char *s, size_t len, long long v);

/* Walk a ziplist blob, checking the header, every entry's bounds and
 * prevlen, the terminator and the count; fn may stop it (returns false). */
static bool zl_walk(const unsigned char *zl, size_t size, elem_fn fn, void *arg, size_t *count)
{
    if (size < 11 || le(zl, 4) != size || zl[size - 1] != 0xFF)
        return false;
    size_t tail = (size_t)le(zl + 4, 4), declared = (size_t)le(zl + 8, 2);
    size_t pos = 10, prev = 0, n = 0, last = 0;
    const size_t end = size - 1;
    while (pos < end) {
        size_t start = pos, plen;
        if (zl[pos] < 254) {
            plen = zl[pos];
            pos += 1;
        } else if (zl[pos] == 254) {
            if (end - pos < 5)
                return false;
            plen = (size_t)le(zl + pos + 1, 4);
            pos += 5;
        } else {
            return false;
        }
        if (plen != prev || pos >= end)
            return false;
        unsigned b = zl[pos];
        size_t slen = 0, hdr;
        long long v = 0;
        bool is_str = true;
        switch (b >> 6) {
        case 0: slen = b & 0x3f; hdr = 1; break;
        case 1:
            if (end - pos < 2)
                return false;
            slen = (size_t)(b & 0x3f) << 8 | zl[pos + 1];
            hdr = 2;
            break;
        case 2:
            if (b != 0x80 || end - pos < 5)
                return false;
            slen = (size_t)zl[pos + 1] << 24 | (size_t)zl[pos + 2] << 16 |
                   (size_t)zl[pos + 3] << 8 | zl[pos + 4];
            hdr = 5;
            break;
        default: {
            is_str = false;
            hdr = 1;
            size_t ib;
            if (b == 0xC0) ib = 2;
            else if (b == 0xD0) ib = 4;
            else if (b == 0xE0) ib = 8;
            else if (b == 0xF0) ib = 3;
            else if (b == 0xFE) ib = 1;
            else if (b >= 0xF1 && b <= 0xFD) ib = 0;
            else return false;
            if (end - pos - 1 < ib)
                return false;
            if (ib == 0) {
                v = (long long)(b & 0x0f) - 1;
            } else {
                uint64_t u = le(zl + pos + 1, (int)ib);
                int shift = 64 - (int)ib * 8;
                v = (long long)(u << shift) >> shift; /* sign extend */
            }
            slen = ib;
        }
        }
        if (end - pos - hdr < slen)
            return false;
        const unsigned char *data = zl + pos + hdr;
        pos += hdr + slen;
        prev = pos - start;
        last = start;
        n++;
        if (fn && !(is_str ? fn(arg, data, slen, 0) : fn(arg, NULL, 0, v)))
            return false;
    }
    if (pos != end || (declared != 65535 && declared != n) || (n ? tail != last : tail != 10))
        return false;
    *count = n;
    return true;
}

/* Walk a zipmap blob: key, value, key, value ... */
static bool zm_walk(const unsigned char *zm, size_t size, elem_fn fn, void *arg)
{
    size_t pos = 1;
    if (size < 2)
        return false;
    for (int i = 0;; i++) {
        if (pos >= size)
            return false;
        if (zm[pos] == 255)
            return pos == size - 1 && i % 2 == 0;
        size_t len;
        if (zm[pos] < 254) {
            len = zm[pos++];
        } else if (zm[pos] == 254) {
            if (size - pos < 5)
                return false;
            len = (size_t)le(zm + pos + 1, 4);
            pos += 5;
        } else {
            return false;
        }
        size_t fr = 0;
        if (i % 2) { /* a value has a free-bytes count */
            if (pos >= size)
                return false;
            fr = zm[pos++];
        }
        if (size - pos < len || size - pos - len < fr)
            return false;
        if (!fn(arg, zm + pos, len, 0))
            return false;
        pos += len + fr;
    }
}

/* A listpack element as elem_fn arguments. */
static bool lp_visit(unsigned char *lp, elem_fn fn, void *arg)
{
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p)) {
        uint32_t len;
        long long v;
        const unsigned char *s = lp_get(p, &len, &v);
        if (!(s ? fn(arg, s, len, 0) : fn(arg, NULL, 0, v)))
            return false;
    }
    return true;
}

/* ---- building values ---- */

/* Runs a command (SADD/ZADD) on the key's shard to build a set or zset
 * with the type's own encoding rules, in batches. */
#define BATCH 256

struct batch {
    struct ld *l;
    struct shard *s;
    void (*fn)(struct cmd_ctx *);
    int per;  /* arguments per item: 1 (SADD) or 2 (ZADD) */
    struct resp_arg argv[2 + 2 * BATCH];
    int argc;
    char nums[2 * BATCH][40];
    int nnums;
    unsigned char *owned[2 * BATCH];
    int nowned;
    uint64_t items;
    bool dup;
};

static void batch_init(struct batch *b, struct ld *l, struct shard *s, const char *cmd,
                       void (*fn)(struct cmd_ctx *), int per, const struct rstr *key)
{
    b->l = l;
    b->s = s;
    b->fn = fn;
    b->per = per;
    b->argv[0] = (struct resp_arg){cmd, strlen(cmd)};
    b->argv[1] = (struct resp_arg){(const char *)key->p, key->len};
    b->argc = 2;
    b->nnums = b->nowned = 0;
    b->items = 0;
    b->dup = false;
}

static void batch_run(struct batch *b)
{
    if (b->argc == 2)
        return;
    struct reply out;
    struct cmd_ctx c = {.shard = b->s, .db = &b->s->db[b->l->dbid], .dbid = b->l->dbid,
                        .argc = b->argc, .argv = b->argv, .out = &out};
    reply_init(&out, 2);
    b->fn(&c);
    long long added = -1;
    if (out.head && out.head->len > 1 && out.head->data[0] == ':')
        added = strtoll(out.head->data + 1, NULL, 10);
    reply_free(&out);
    if (added != (b->argc - 2) / b->per)
        b->dup = true;
    for (int i = 0; i < b->nowned; i++)
        free(b->owned[i]);
    b->argc = 2;
    b->nnums = b->nowned = 0;
}

/* Add an argument: bytes (copied when the source is short-lived) or an
 * integer. */
static void batch_arg(struct batch *b, const unsigned char *s, size_t len, long long v,
                      bool copy)
{
    if (!s) {
        char *buf = b->nums[b->nnums++];
        len = (size_t)lp_fmt_int(v, buf);
        s = (const unsigned char *)buf;
    } else if (copy) {
        unsigned char *p = malloc(len ? len : 1);
        if (!p)
            abort();
        memcpy(p, s, len);
        b->owned[b->nowned++] = p;
        s = p;
    }
    b->argv[b->argc++] = (struct resp_arg){(const char *)s, len};
}

static void batch_double(struct batch *b, double d)
{
    char *buf = b->nums[b->nnums++];
    int n = isinf(d) ? snprintf(buf, 40, "%s", d > 0 ? "inf" : "-inf")
                     : snprintf(buf, 40, "%.17g", d);
    b->argv[b->argc++] = (struct resp_arg){buf, (size_t)n};
}

static void batch_item_done(struct batch *b)
{
    b->items++;
    if ((b->argc - 2) / b->per >= BATCH)
        batch_run(b);
}

/* ZADD wants the score first: items are staged as member then score and
 * swapped here. */
static void batch_zitem(struct batch *b, const unsigned char *m, size_t mlen, long long mv,
                        bool copy, double score)
{
    batch_double(b, score);
    batch_arg(b, m, mlen, mv, copy);
    batch_item_done(b);
}

/* Callbacks for zl_walk / lp_visit into a set or a zset batch. */
struct zpend {
    struct batch *b;
    bool have_member;
    const unsigned char *m;
    size_t mlen;
    long long mv;
    bool bad_score;
};

static bool parse_score(const unsigned char *s, size_t len, long long v, double *d)
{
    if (!s) {
        *d = (double)v;
        return true;
    }
    char buf[128];
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    *d = strtod(buf, &end);
    return end == buf + len && !isnan(*d);
}

static bool zset_elem(void *arg, const unsigned char *s, size_t len, long long v)
{
    struct zpend *z = arg;
    if (!z->have_member) {
        z->have_member = true;
        z->m = s;
        z->mlen = len;
        z->mv = v;
        return true;
    }
    double d;
    if (!parse_score(s, len, v, &d)) {
        z->bad_score = true;
        return false;
    }
    z->have_member = false;
    batch_zitem(z->b, z->m, z->mlen, z->mv, false, d);
    return true;
}

struct hpend {
    struct hash_build *hb;
    bool have_field;
    const unsigned char *f;
    size_t flen;
    char fbuf[LP_INTBUF_SIZE];
    bool dup;
};

static bool hash_elem(void *arg, const unsigned char *s, size_t len, long long v)
{
    struct hpend *h = arg;
    char vbuf[LP_INTBUF_SIZE];
    if (!s) {
        char *buf = h->have_field ? vbuf : h->fbuf;
        len = (size_t)lp_fmt_int(v, buf);
        s = (const unsigned char *)buf;
    }
    if (!h->have_field) {
        h->have_field = true;
        h->f = s;
        h->flen = len;
        return true;
    }
    h->have_field = false;
    if (!hash_build_add(h->hb, h->f, h->flen, s, len)) {
        h->dup = true;
        return false;
    }
    return true;
}

static bool set_elem_nop(void *arg, const unsigned char *s, size_t len, long long v)
{
    (void)arg;
    (void)s;
    (void)len;
    (void)v;
    return true;
}

static bool list_elem(void *arg, const unsigned char *s, size_t len, long long v)
{
    char buf[LP_INTBUF_SIZE];
    if (!s) {
        len = (size_t)lp_fmt_int(v, buf);
        s = (const unsigned char *)buf;
    }
    ql_push(arg, s, len, QL_TAIL);
    return true;
}

static bool count_lp_elem(const unsigned char *p, void *ud)
{
    (void)p;
    ++*(unsigned long *)ud;
    return true;
}

/* Where a key goes, and whether it may: duplicate keys are an error
 * unless allow_dup (then the old value goes). */
static struct shard *key_shard(struct ld *l, const struct rstr *key)
{
    return l->o && l->o->route ? l->o->route(key->p, key->len) : l->shards[0];
}

static bool key_free_slot(struct ld *l, struct shard *s, const struct rstr *key)
{
    struct db *db = &s->db[l->dbid];
    struct entry **ref;
    if (!db_lookup(s, db, key->p, key->len, LOOKUP_NOTOUCH | LOOKUP_NOSTATS, &ref))
        return true;
    if (l->o && l->o->allow_dup) {
        db_delete_ref(s, db, ref);
        return true;
    }
    return fail(l, "Duplicate key '%.*s' found in RDB file", (int)(key->len > 64 ? 64 : key->len),
                (const char *)key->p);
}

/* A key built by a command: give it its expiry, or drop it if expired. */
static void key_built(struct ld *l, struct shard *s, const struct rstr *key, int64_t expire,
                      bool expired)
{
    struct db *db = &s->db[l->dbid];
    struct entry **ref;
    if (!db_lookup(s, db, key->p, key->len, LOOKUP_NOTOUCH | LOOKUP_NOSTATS, &ref)) {
        l->st->empty++;
        return;
    }
    if (expired) {
        db_delete_ref(s, db, ref);
        l->st->expired++;
        return;
    }
    if (expire != -1)
        db_set_expire(s, db, ref, expire);
    l->st->keys++;
}

static void key_put(struct ld *l, struct shard *s, struct entry *e, bool expired)
{
    if (expired) {
        entry_free(e);
        l->st->expired++;
        return;
    }
    db_set(s, &s->db[l->dbid], e);
    l->st->keys++;
}

static bool load_set_or_zset(struct ld *l, int type, const struct rstr *key, struct shard *s,
                             int64_t expire, bool expired)
{
    bool zset = type == RDB_TYPE_ZSET || type == RDB_TYPE_ZSET_2 ||
                type == RDB_TYPE_ZSET_ZIPLIST || type == RDB_TYPE_ZSET_LISTPACK;
    struct batch *b = malloc(sizeof(*b));
    if (!b)
        abort();
    batch_init(b, l, s, zset ? "ZADD" : "SADD", zset ? cmd_zadd : cmd_sadd, zset ? 2 : 1, key);
    bool ok = true;
    uint64_t n;
    struct rstr blob = {0};
    switch (type) {
    case RDB_TYPE_SET:
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2:
        if (!rd_count(l, &n, zset ? 2 : 1)) {
            ok = false;
            break;
        }
        for (uint64_t i = 0; i < n && ok; i++) {
            struct rstr m;
            double d = 0;
            if (!rd_str(l, &m)) {
                ok = false;
                break;
            }
            if (type == RDB_TYPE_ZSET)
                ok = rd_double_text(l, &d);
            else if (type == RDB_TYPE_ZSET_2)
                ok = rd_double_bin(l, &d);
            if (ok && zset && isnan(d))
                ok = fail(l, "Zset with NAN score detected");
            if (!ok) {
                rstr_free(&m);
                break;
            }
            bool copy = m.owned || m.p == (const unsigned char *)m.ibuf;
            if (zset)
                batch_zitem(b, m.p, m.len, 0, copy, d);
            else {
                batch_arg(b, m.p, m.len, 0, copy);
                batch_item_done(b);
            }
            rstr_free(&m);
        }
        break;
    case RDB_TYPE_SET_INTSET: {
        if (!rd_str(l, &blob)) {
            ok = false;
            break;
        }
        unsigned char *copy = rstr_take(&blob);
        if (!intset_validate(copy, blob.len)) {
            free(copy);
            ok = fail(l, "Intset integrity check failed");
            break;
        }
        const struct intset *is = (const struct intset *)copy;
        for (uint32_t i = 0; i < intset_len(is); i++) {
            batch_arg(b, NULL, 0, intset_get(is, i), false);
            batch_item_done(b);
        }
        batch_run(b);
        free(copy);
        break;
    }
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_ZSET_LISTPACK: {
        if (!rd_str(l, &blob)) {
            ok = false;
            break;
        }
        struct zpend z = {.b = b};
        size_t cnt;
        /* Validate fully before building anything. */
        if (type == RDB_TYPE_ZSET_ZIPLIST) {
            if (!zl_walk(blob.p, blob.len, NULL, NULL, &cnt) || cnt % 2 ||
                !zl_walk(blob.p, blob.len, zset_elem, &z, &cnt))
                ok = fail(l, z.bad_score ? "Zset ziplist with a bad score"
                                         : "Zset ziplist integrity check failed");
        } else {
            unsigned long c = 0;
            unsigned char *lp = rstr_take(&blob);
            if (!lp_validate(lp, blob.len, count_lp_elem, &c) || c % 2)
                ok = fail(l, "Zset listpack integrity check failed");
            else if (!lp_visit(lp, zset_elem, &z))
                ok = fail(l, "Zset listpack with a bad score");
            batch_run(b); /* members point into lp */
            free(lp);
        }
        break;
    }
    }
    if (ok)
        batch_run(b);
    rstr_free(&blob);
    if (ok && b->dup)
        ok = fail(l, zset ? "Duplicate zset fields detected" : "Duplicate set members detected");
    for (int i = 0; i < b->nowned; i++) /* a failed load leaves a batch unrun */
        free(b->owned[i]);
    free(b);
    if (!ok) {
        db_delete(s, &s->db[l->dbid], key->p, key->len);
        return false;
    }
    key_built(l, s, key, expire, expired);
    return true;
}

static bool load_list(struct ld *l, int type, const struct rstr *key, struct shard *s,
                      int64_t expire, bool expired)
{
    struct quicklist *ql = ql_new();
    uint64_t n;
    bool ok = true;
    if (type == RDB_TYPE_LIST_ZIPLIST) {
        n = 1;
    } else if (!rd_count(l, &n, 1)) {
        ql_free(ql);
        return false;
    }
    for (uint64_t i = 0; i < n && ok; i++) {
        uint64_t container = QL_CONTAINER_PACKED;
        if (type == RDB_TYPE_LIST_QUICKLIST_2 && !rd_len(l, &container)) {
            ok = false;
            break;
        }
        struct rstr v;
        if (!rd_str(l, &v)) {
            ok = false;
            break;
        }
        if (type == RDB_TYPE_LIST) {
            ql_push(ql, v.p, v.len, QL_TAIL);
        } else if (type == RDB_TYPE_LIST_QUICKLIST_2) {
            if (container == QL_CONTAINER_PLAIN) {
                ql_push(ql, v.p, v.len, QL_TAIL);
            } else if (container != QL_CONTAINER_PACKED) {
                ok = fail(l, "Quicklist integrity check failed (container %llu)",
                          (unsigned long long)container);
            } else {
                unsigned char *lp = rstr_take(&v);
                if (!lp_validate(lp, v.len, NULL, NULL))
                    ok = fail(l, "Listpack integrity check failed");
                else
                    lp_visit(lp, list_elem, ql);
                free(lp);
            }
        } else { /* ziplist or quicklist of ziplists */
            size_t cnt;
            if (!zl_walk(v.p, v.len, NULL, NULL, &cnt))
                ok = fail(l, "Ziplist integrity check failed");
            else
                zl_walk(v.p, v.len, list_elem, ql, &cnt);
        }
        rstr_free(&v);
    }
    if (!ok) {
        ql_free(ql);
        return false;
    }
    if (ql->count == 0) {
        ql_free(ql);
        l->st->empty++;
        return true;
    }
    key_put(l, s, entry_new_ptr(key->p, key->len, OBJ_LIST, ENC_QUICKLIST, ql, expire), expired);
    return true;
}

static bool load_hash(struct ld *l, int type, const struct rstr *key, struct shard *s,
                      int64_t expire, bool expired)
{
    struct hash_build hb;
    uint64_t seed = s->db[l->dbid].keys.seed;
    bool ok = true;
    if (type == RDB_TYPE_HASH) {
        uint64_t n;
        if (!rd_count(l, &n, 2))
            return false;
        hash_build_init(&hb, seed, (unsigned long)n);
        for (uint64_t i = 0; i < n && ok; i++) {
            struct rstr f, v;
            if (!rd_str(l, &f)) {
                ok = false;
                break;
            }
            if (!rd_str(l, &v)) {
                rstr_free(&f);
                ok = false;
                break;
            }
            if (!hash_build_add(&hb, f.p, f.len, v.p, v.len))
                ok = fail(l, "Duplicate hash fields detected");
            rstr_free(&f);
            rstr_free(&v);
        }
    } else {
        struct rstr blob;
        if (!rd_str(l, &blob))
            return false;
        if (type == RDB_TYPE_HASH_LISTPACK) {
            unsigned char *lp = rstr_take(&blob);
            if (!hash_listpack_valid(lp, blob.len)) {
                free(lp);
                rstr_free(&blob);
                return fail(l, "Hash listpack integrity check failed");
            }
            hash_build_adopt_listpack(&hb, lp, seed);
        } else {
            size_t cnt = 0;
            bool valid = type == RDB_TYPE_HASH_ZIPLIST
                             ? zl_walk(blob.p, blob.len, NULL, NULL, &cnt) && cnt % 2 == 0
                             : zm_walk(blob.p, blob.len, set_elem_nop, NULL);
            if (!valid) {
                rstr_free(&blob);
                return fail(l, type == RDB_TYPE_HASH_ZIPLIST ? "Hash ziplist integrity check failed"
                                                             : "Zipmap integrity check failed");
            }
            hash_build_init(&hb, seed, (unsigned long)(cnt / 2));
            struct hpend h = {.hb = &hb};
            if (type == RDB_TYPE_HASH_ZIPLIST)
                zl_walk(blob.p, blob.len, hash_elem, &h, &cnt);
            else
                zm_walk(blob.p, blob.len, hash_elem, &h);
            if (h.dup)
                ok = fail(l, "Duplicate hash fields detected");
        }
        rstr_free(&blob);
    }
    if (!ok) {
        hash_ops.free(hb.obj, hb.enc);
        return false;
    }
    if (hash_obj_len(hb.obj, hb.enc) == 0) {
        hash_ops.free(hb.obj, hb.enc);
        l->st->empty++;
        return true;
    }
    key_put(l, s, entry_new_ptr(key->p, key->len, OBJ_HASH, hb.enc, hb.obj, expire), expired);
    return true;
}

static bool load_key(struct ld *l, int type, int64_t expire)
{
    struct rstr key;
    if (!rd_str(l, &key))
        return false;
    struct shard *s = key_shard(l, &key);
    bool ok = key_free_slot(l, s, &key);
    bool expired = expire != -1 && l->o && expire <= l->o->now_ms;
    if (ok) {
        switch (type) {
        case RDB_TYPE_STRING: {
            struct rstr v;
            if ((ok = rd_str(l, &v))) {
                key_put(l, s,
                        entry_new_string(key.p, key.len, v.p, v.len, expire, STR_SET), expired);
                rstr_free(&v);
            }
            break;
        }
        case RDB_TYPE_LIST:
        case RDB_TYPE_LIST_ZIPLIST:
        case RDB_TYPE_LIST_QUICKLIST:
        case RDB_TYPE_LIST_QUICKLIST_2:
            ok = load_list(l, type, &key, s, expire, expired);
            break;
        case RDB_TYPE_SET:
        case RDB_TYPE_SET_INTSET:
        case RDB_TYPE_ZSET:
        case RDB_TYPE_ZSET_2:
        case RDB_TYPE_ZSET_ZIPLIST:
        case RDB_TYPE_ZSET_LISTPACK:
            ok = load_set_or_zset(l, type, &key, s, expire, expired);
            break;
        case RDB_TYPE_HASH:
        case RDB_TYPE_HASH_ZIPMAP:
        case RDB_TYPE_HASH_ZIPLIST:
        case RDB_TYPE_HASH_LISTPACK:
            ok = load_hash(l, type, &key, s, expire, expired);
            break;
        case RDB_TYPE_STREAM_LISTPACKS:
        case RDB_TYPE_STREAM_LISTPACKS_2:
            ok = fail(l, "Stream keys are not supported by sluice (type %d)", type);
            break;
        case RDB_TYPE_MODULE:
        case RDB_TYPE_MODULE_2:
            ok = fail(l, "Module keys are not supported by sluice (type %d)", type);
            break;
        default:
            ok = fail(l, "Unknown RDB encoding type %d", type);
        }
    }
    if (ok && !expired && (l->idle >= 0 || l->freq >= 0)) {
        struct entry *e = db_lookup(s, &s->db[l->dbid], key.p, key.len,
                                    LOOKUP_NOTOUCH | LOOKUP_NOSTATS, NULL);
        if (e)
            store_clock_restore(s, e, l->freq, l->idle);
    }
    rstr_free(&key);
    return ok;
}

int rdb_load_mem(const unsigned char *buf, size_t len, struct shard *const *shards,
                 int nshards, const struct rdb_load_opts *o, struct rdb_load_stats *st,
                 char *err, size_t errlen)
{
    struct rdb_load_stats dummy;
    if (!st)
        st = &dummy;
    memset(st, 0, sizeof(*st));
    struct ld l = {.base = buf, .p = buf, .end = buf + len, .err = err, .errlen = errlen,
                   .shards = shards, .nshards = nshards, .o = o, .st = st, .idle = -1,
                   .freq = -1};
    if (err && errlen)
        err[0] = '\0';
    if (nshards <= 0)
        return fail(&l, "No shard to load into"), -1;
    const unsigned char *b;
    if (len < 9 || memcmp(buf, "REDIS", 5) != 0) {
        fail(&l, "Wrong signature trying to load DB from file");
        return -1;
    }
    int ver = 0;
    for (int i = 5; i < 9; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return fail(&l, "Wrong signature trying to load DB from file"), -1;
        ver = ver * 10 + (buf[i] - '0');
    }
    if (ver < 1 || ver > RDB_VERSION)
        return fail(&l, "Can't handle RDB format version %d", ver), -1;
    st->version = ver;
    l.p += 9;
    int64_t expire = -1;
    size_t next_progress = RDB_PROGRESS_BYTES;
    uint64_t delayed = 0;
    for (;;) {
        unsigned type;
        if (o && o->progress && (size_t)(l.p - buf) >= next_progress) {
            o->progress(o->progress_arg, (size_t)(l.p - buf), len, st->keys);
            next_progress += RDB_PROGRESS_BYTES;
        }
        if (o && o->key_load_delay_us > 0 && st->keys != delayed) {
            delayed = st->keys;
            usleep((useconds_t)o->key_load_delay_us);
        }
        if (!rd_u8(&l, &type))
            return -1;
        uint64_t v, v2;
        switch (type) {
        case RDB_OPCODE_EXPIRETIME_MS:
            if (!rd_bytes(&l, 8, &b))
                return -1;
            expire = (int64_t)le(b, 8);
            continue;
        case RDB_OPCODE_EXPIRETIME:
            if (!rd_bytes(&l, 4, &b))
                return -1;
            expire = (int64_t)(int32_t)le(b, 4) * 1000;
            continue;
        case RDB_OPCODE_FREQ:
            if (!rd_bytes(&l, 1, &b))
                return -1;
            l.freq = b[0];
            continue;
        case RDB_OPCODE_IDLE:
            if (!rd_len(&l, &v))
                return -1;
            l.idle = (int64_t)(v & 0xffffff);
            continue;
        case RDB_OPCODE_EOF:
            break;
        case RDB_OPCODE_SELECTDB:
            if (!rd_len(&l, &v))
                return -1;
            if (v >= (uint64_t)shards[0]->ndb)
                return fail(&l,
                            "FATAL: Data file was created with a Redis server configured to "
                            "handle more than %d databases. Exiting",
                            shards[0]->ndb),
                       -1;
            l.dbid = (int)v;
            continue;
        case RDB_OPCODE_RESIZEDB:
            if (!rd_len(&l, &v) || !rd_len(&l, &v2))
                return -1;
            continue;
        case RDB_OPCODE_AUX: {
            struct rstr k, val;
            if (!rd_str(&l, &k))
                return -1;
            if (!rd_str(&l, &val)) {
                rstr_free(&k);
                return -1;
            }
            if (k.len == 9 && memcmp(k.p, "redis-ver", 9) == 0) {
                size_t n = val.len < sizeof(st->redis_ver) - 1 ? val.len
                                                               : sizeof(st->redis_ver) - 1;
                memcpy(st->redis_ver, val.p, n);
                st->redis_ver[n] = '\0';
            }
            rstr_free(&k);
            rstr_free(&val);
            continue;
        }
        case RDB_OPCODE_FUNCTION2: {
            struct rstr f;
            if (!rd_str(&l, &f))
                return -1;
            rstr_free(&f);
            st->functions_skipped++;
            continue;
        }
        case RDB_OPCODE_FUNCTION:
            return fail(&l, "Pre-release function format not supported"), -1;
        case RDB_OPCODE_MODULE_AUX:
            return fail(&l, "Module auxiliary data is not supported by sluice"), -1;
        default:
            if (!load_key(&l, (int)type, expire))
                return -1;
            expire = -1;
            l.idle = -1;
            l.freq = -1;
            continue;
        }
        break;
    }
    if (ver >= 5) {
        size_t upto = (size_t)(l.p - buf);
        if (!rd_bytes(&l, 8, &b))
            return -1;
        uint64_t stored = le(b, 8);
        if (stored) {
            uint64_t crc = rdb_crc64(0, buf, upto);
            if (crc != stored)
                return fail(&l, "Wrong RDB checksum expected: (%016llx) got: (%016llx)",
                            (unsigned long long)stored, (unsigned long long)crc),
                       -1;
            st->checksum_checked = true;
        }
    }
    st->bytes = (size_t)(l.p - buf);
    return 0;
}
