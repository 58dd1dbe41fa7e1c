/* Bitmap commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
 * BITFIELD and BITFIELD_RO, with the replies, error texts and order of checks
 * of Redis 7.0.15.
 *
 * Bit numbering is Redis's: bit 0 is the most significant bit of byte 0, so
 * a bitmap reads left to right like one big-endian number. Reads past the
 * end of a string see zeros.
 *
 * Reads take the bytes of any string encoding through entry_str(). Writes
 * leave the value ENC_RAW, as Redis does: a raw buffer grows in place, an
 * int or embstr value is copied into a new raw entry that keeps its TTL.
 * BITOP's destination is a fresh value without a TTL, as Redis's setKey
 * leaves it. The shard's dirty counter moves by the number of changes Redis
 * would count (a SETBIT that flips nothing and grows nothing counts zero).
 *
 * Redis 7.0 behaviours kept on purpose, because clients can observe them:
 *  - BITCOUNT and BITPOS look the key up before parsing the range, so a
 *    missing key answers 0 (BITPOS: -1 for bit 1, 0 for bit 0) whatever the
 *    remaining arguments are, and a wrong type wins over a bad range.
 *  - BITCOUNT answers 0 without looking further when start and end are both
 *    negative and start > end, even before checking the BIT|BYTE word.
 *  - BITFIELD creates a missing key for any write subcommand, even when every
 *    write then fails under OVERFLOW FAIL.
 *  - Keywords (AND, BIT, GET, WRAP, ...) and the digits of a bitfield type are
 *    compared as C strings, so they end at an embedded NUL byte.
 *  - "#n" offsets multiply with two's-complement wrap-around, and BITFIELD's
 *    overflow checks use Redis's exact arithmetic, including its treatment of
 *    SET values near INT64_MIN under OVERFLOW SAT (they saturate upwards).
 *
 * BITCOUNT and BITPOS work on 8-byte words (hardware popcount when the CPU
 * has it), so they run at memory speed on bitmaps of hundreds of megabytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"

#define ERR_BIT_VALUE "ERR bit is not an integer or out of range"
#define ERR_BITPOS_BIT "ERR The bit argument must be 1 or 0."
#define ERR_BITOP_NOT "ERR BITOP NOT must be called with a single source key."
#define ERR_BF_TYPE                                                                                \
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not "                  \
    "supported but i64 is."
#define ERR_BF_OVERFLOW "ERR Invalid OVERFLOW type specified"
#define ERR_BF_RO "ERR BITFIELD_RO only supports the GET subcommand"

/* ---- argument parsing ---- */

/* Case-insensitive keyword match with C-string semantics (strcasecmp on a
 * NUL-terminated argument), which is how Redis compares these keywords. */
static bool word_is(const struct cmd_ctx *c, int i, const char *word)
{
    const char *p = c->argv[i].ptr;
    size_t n = strnlen(p, c->argv[i].len);
    return n == strlen(word) && strncasecmp(p, word, n) == 0;
}

/* Parse argument i as a bit offset: a non-negative integer whose byte
 * (offset / 8) lies below store_max_string. With bits > 0 (BITFIELD) the form
 * "#n" means n * bits. Replies ERR_BIT_OFFSET on failure. */
static bool parse_bit_offset(struct cmd_ctx *c, int i, int bits, uint64_t *off)
{
    const char *p = c->argv[i].ptr;
    size_t n = c->argv[i].len;
    size_t skip = (bits > 0 && n > 0 && p[0] == '#') ? 1 : 0;
    long long v;

    if (!str_to_ll(p + skip, n - skip, &v))
        goto bad;
    if (skip)
        v = (long long)((unsigned long long)v * (unsigned long long)bits);
    if (v < 0 || (v >> 3) >= store_max_string)
        goto bad;
    *off = (uint64_t)v;
    return true;
bad:
    reply_error(c->out, ERR_BIT_OFFSET);
    return false;
}

/* Parse a bitfield type: 'i' (signed, 1..64 bits) or 'u' (unsigned, 1..63
 * bits: a u64 could not be returned as a RESP integer). */
static bool parse_bitfield_type(struct cmd_ctx *c, int i, bool *sign, int *bits)
{
    const char *p = c->argv[i].ptr;
    size_t n = c->argv[i].len;
    long long v;

    if (n == 0 || (p[0] != 'i' && p[0] != 'u'))
        goto bad;
    *sign = p[0] == 'i';
    if (!str_to_ll(p + 1, strnlen(p + 1, n - 1), &v) || v < 1 || v > (*sign ? 64 : 63))
        goto bad;
    *bits = (int)v;
    return true;
bad:
    reply_error(c->out, ERR_BF_TYPE);
    return false;
}

/* Turn a start/end pair (negative counts from the end) into an inclusive
 * range inside a string of len bytes, in bits or bytes. False when the
 * range is empty. */
static bool range_clamp(size_t len, bool isbit, long long *start, long long *end)
{
    long long total = isbit ? (long long)len * 8 : (long long)len;

    if (*start < 0)
        *start += total;
    if (*end < 0)
        *end += total;
    if (*start < 0)
        *start = 0;
    if (*end < 0)
        *end = 0;
    if (*end >= total)
        *end = total - 1;
    return *start <= *end;
}

/* ---- bit scanning ---- */

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

static inline uint64_t load_be64(const unsigned char *p)
{
    uint64_t w = load64(p);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/* Set bits in n bytes. Four independent counters over 32-byte blocks keep
 * the popcount units busy. Inlined into both variants below. */
static inline __attribute__((always_inline)) uint64_t popcount_body(const unsigned char *p,
                                                                    size_t n)
{
    uint64_t a = 0, b = 0, c = 0, d = 0;
    size_t i = 0;

    for (; i + 32 <= n; i += 32) {
        a += (uint64_t)__builtin_popcountll(load64(p + i));
        b += (uint64_t)__builtin_popcountll(load64(p + i + 8));
        c += (uint64_t)__builtin_popcountll(load64(p + i + 16));
        d += (uint64_t)__builtin_popcountll(load64(p + i + 24));
    }
    for (; i + 8 <= n; i += 8)
        a += (uint64_t)__builtin_popcountll(load64(p + i));
    for (; i < n; i++)
        b += (uint64_t)__builtin_popcount(p[i]);
    return a + b + c + d;
}

static uint64_t popcount_generic(const unsigned char *p, size_t n)
{
    return popcount_body(p, n);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("popcnt"))) static uint64_t popcount_hw(const unsigned char *p, size_t n)
{
    return popcount_body(p, n);
}
#endif

static uint64_t popcount(const unsigned char *p, size_t n)
{
#if defined(__x86_64__) || defined(__i386__)
    if (__builtin_cpu_supports("popcnt"))
        return popcount_hw(p, n);
#endif
    return popcount_generic(p, n);
}

/* Set bits among bits from..to (inclusive) of p. */
static uint64_t count_bits(const unsigned char *p, uint64_t from, uint64_t to)
{
    uint64_t first = from >> 3, last = to >> 3;
    uint64_t n = popcount(p + first, last - first + 1);

    n -= (uint64_t)__builtin_popcount(p[first] & ~(0xffu >> (from & 7)) & 0xffu);
    n -= (uint64_t)__builtin_popcount(p[last] & (0xffu >> ((to & 7) + 1)));
    return n;
}

/* Position of the first bit equal to bit among bits from..to (inclusive)
 * of p, or -1. Whole words equal to the skip pattern are passed over 32
 * bytes at a time. */
static long long find_bit(const unsigned char *p, uint64_t from, uint64_t to, int bit)
{
    const unsigned flip = bit ? 0 : 0xff;
    const uint64_t flipw = bit ? 0 : UINT64_MAX;
    const unsigned last_mask = (0xff00u >> ((to & 7) + 1)) & 0xff;
    uint64_t i = from >> 3, last = to >> 3;
    unsigned v = (p[i] ^ flip) & (0xffu >> (from & 7));

    if (i == last)
        v &= last_mask;
    if (v)
        return (long long)(i * 8 + (uint64_t)__builtin_clz(v) - 24);
    if (i++ == last)
        return -1;
    /* Whole bytes i..last-1, then the masked last byte. */
    while (last - i >= 32) {
        if ((load64(p + i) ^ flipw) | (load64(p + i + 8) ^ flipw) | (load64(p + i + 16) ^ flipw) |
            (load64(p + i + 24) ^ flipw))
            break;
        i += 32;
    }
    for (; last - i >= 8; i += 8) {
        uint64_t w = load_be64(p + i) ^ flipw;
        if (w)
            return (long long)(i * 8 + (uint64_t)__builtin_clzll(w));
    }
    for (; i < last; i++) {
        v = p[i] ^ flip;
        if (v)
            return (long long)(i * 8 + (uint64_t)__builtin_clz(v) - 24);
    }
    v = (p[last] ^ flip) & last_mask;
    if (v)
        return (long long)(last * 8 + (uint64_t)__builtin_clz(v) - 24);
    return -1;
}

/* ---- writing ---- */

/* The value of key argv[1] as a raw string buffer of at least nbytes bytes,
 * for SETBIT and BITFIELD. A missing key is created zero-filled; an int or
 * embstr value is converted to raw, keeping its TTL. Replies WRONGTYPE and
 * returns NULL for other types. *grown is set when the key was created or
 * lengthened, which Redis counts as a change even if no bit flips.
 *
 * The buffer stays valid until the next db_* call. Creating or converting
 * the entry is not a change in Redis's dirty count by itself (the caller
 * adds what it changed), so the count db_set/db_replace add is taken back. */
static struct sbuf *bit_string_for_write(struct cmd_ctx *c, size_t nbytes, bool *grown)
{
    struct shard *s = c->shard;
    const struct resp_arg *key = &c->argv[1];
    uint64_t dirty = shard_dirty(s);
    struct entry **ref, *e;
    struct sbuf *b;
    bool wrongtype;

    e = key_lookup_type(c, 1, OBJ_STRING, LOOKUP_WRITE, &ref, &wrongtype);
    if (wrongtype)
        return NULL;
    if (!e) {
        b = sbuf_new(NULL, nbytes);
        e = entry_new_ptr(key->ptr, key->len, OBJ_STRING, ENC_RAW, b, -1);
        db_set(s, c->db, e);
        *grown = true;
    } else if (entry_enc(e) == ENC_RAW) {
        b = entry_get_ptr(e);
        *grown = b->len < nbytes;
        if (*grown) {
            b = sbuf_resize(b, nbytes);
            entry_set_ptr(e, b);
        }
    } else {
        char buf[21];
        size_t len;
        const char *v = entry_str(e, &len, buf);
        struct entry *n = entry_new_string(key->ptr, key->len, v, len, entry_expire(e), STR_RAW);

        b = entry_get_ptr(n);
        *grown = len < nbytes;
        if (*grown) {
            b = sbuf_resize(b, nbytes);
            entry_set_ptr(n, b);
        }
        db_replace(s, c->db, ref, n);
    }
    shard_dirty_set(s, dirty);
    return b;
}

/* ---- SETBIT / GETBIT ---- */

/* SETBIT key offset 0|1: set or clear one bit, growing the string with
 * zeros as needed; replies the bit's previous value. O(1) unless the string
 * grows. */
void cmd_setbit(struct cmd_ctx *c)
{
    uint64_t off;
    long long on;
    bool grown;

    if (!parse_bit_offset(c, 2, 0, &off) || !arg_ll(c, 3, &on, ERR_BIT_VALUE))
        return;
    if (on & ~1LL) {
        reply_error(c->out, ERR_BIT_VALUE);
        return;
    }
    struct sbuf *b = bit_string_for_write(c, (size_t)(off >> 3) + 1, &grown);
    if (!b)
        return;
    unsigned char *byte = (unsigned char *)b->data + (off >> 3);
    unsigned char mask = (unsigned char)(0x80u >> (off & 7));
    int old = (*byte & mask) != 0;
    if (grown || old != on) {
        *byte = on ? (*byte | mask) : (*byte & ~mask);
        db_changed(c->shard, c->db, c->argv[1].ptr, c->argv[1].len, 1);
    }
    reply_int(c->out, old);
}

/* Read the string at argv[1] for a read-only bit command: 1 with p and len
 * set (ENC_INT values are formatted into buf, >= 21 bytes), 0 when the key
 * is missing, -1 when it holds another type (WRONGTYPE already replied). */
static int read_string(struct cmd_ctx *c, const unsigned char **p, size_t *len, char *buf)
{
    bool wrongtype;
    struct entry *e = key_lookup_type(c, 1, OBJ_STRING, LOOKUP_NONE, NULL, &wrongtype);
    if (wrongtype)
        return -1;
    if (!e)
        return 0;
    *p = (const unsigned char *)entry_str(e, len, buf);
    return 1;
}

/* GETBIT key offset: the bit's value, 0 past the end or for a missing key. */
void cmd_getbit(struct cmd_ctx *c)
{
    uint64_t off;
    char buf[21];
    size_t len;
    const unsigned char *p;

    if (!parse_bit_offset(c, 2, 0, &off))
        return;
    int found = read_string(c, &p, &len, buf);
    if (found <= 0) {
        if (found == 0)
            reply_int(c->out, 0);
        return;
    }
    uint64_t byte = off >> 3;
    reply_int(c->out, byte < len && (p[byte] & (0x80u >> (off & 7))));
}

/* ---- BITCOUNT / BITPOS ---- */

/* BITCOUNT key [start end [BYTE|BIT]]: set bits in the range (bytes by
 * default, negative indexes count from the end). O(range / 8). */
void cmd_bitcount(struct cmd_ctx *c)
{
    bool isbit = false;
    char buf[21];
    size_t len;
    long long start, end;
    const unsigned char *p;

    int found = read_string(c, &p, &len, buf);
    if (found <= 0) {
        if (found == 0)
            reply_int(c->out, 0);
        return;
    }

    if (c->argc == 2) {
        start = 0;
        end = (long long)len - 1;
    } else if (c->argc == 4 || c->argc == 5) {
        if (!arg_ll(c, 2, &start, NULL) || !arg_ll(c, 3, &end, NULL))
            return;
        if (start < 0 && end < 0 && start > end) {
            reply_int(c->out, 0);
            return;
        }
        if (c->argc == 5) {
            if (word_is(c, 4, "bit")) {
                isbit = true;
            } else if (!word_is(c, 4, "byte")) {
                reply_error(c->out, ERR_SYNTAX);
                return;
            }
        }
        if (!range_clamp(len, isbit, &start, &end)) {
            reply_int(c->out, 0);
            return;
        }
    } else {
        reply_error(c->out, ERR_SYNTAX);
        return;
    }
    if (start > end) {
        reply_int(c->out, 0);
        return;
    }
    uint64_t from = isbit ? (uint64_t)start : (uint64_t)start * 8;
    uint64_t to = isbit ? (uint64_t)end : (uint64_t)end * 8 + 7;
    reply_int(c->out, (long long)count_bits(p, from, to));
}

/* BITPOS key bit [start [end [BYTE|BIT]]]: position of the first bit equal
 * to bit in the range, -1 if there is none. Looking for a 0 without an
 * explicit end treats the string as followed by zeros, so the answer is
 * then the first bit after the range. O(range / 8). */
void cmd_bitpos(struct cmd_ctx *c)
{
    bool isbit = false, end_given = false;
    char buf[21];
    size_t len;
    long long bit, start, end;

    if (!arg_ll(c, 2, &bit, NULL))
        return;
    if (bit != 0 && bit != 1) {
        reply_error(c->out, ERR_BITPOS_BIT);
        return;
    }
    const unsigned char *p;
    int found = read_string(c, &p, &len, buf);
    if (found <= 0) {
        if (found == 0)
            reply_int(c->out, bit ? -1 : 0);
        return;
    }

    if (c->argc == 3) {
        start = 0;
        end = (long long)len - 1;
    } else if (c->argc <= 6) {
        if (!arg_ll(c, 3, &start, NULL))
            return;
        /* Redis checks the unit word before parsing end. */
        if (c->argc == 6) {
            if (word_is(c, 5, "bit")) {
                isbit = true;
            } else if (!word_is(c, 5, "byte")) {
                reply_error(c->out, ERR_SYNTAX);
                return;
            }
        }
        if (c->argc >= 5) {
            if (!arg_ll(c, 4, &end, NULL))
                return;
            end_given = true;
        } else {
            end = (long long)len - 1;
        }
    } else {
        reply_error(c->out, ERR_SYNTAX);
        return;
    }
    if (!range_clamp(len, isbit, &start, &end)) {
        reply_int(c->out, -1);
        return;
    }
    uint64_t from = isbit ? (uint64_t)start : (uint64_t)start * 8;
    uint64_t to = isbit ? (uint64_t)end : (uint64_t)end * 8 + 7;
    long long pos = find_bit(p, from, to, (int)bit);
    if (pos < 0 && bit == 0 && !end_given)
        pos = (long long)to + 1;
    reply_int(c->out, pos);
}

/* ---- BITOP ---- */

enum bitop { BITOP_AND, BITOP_OR, BITOP_XOR, BITOP_NOT };

/* d[0..n) op= s[0..n), a word at a time. */
static void bytes_combine(unsigned char *d, const unsigned char *s, size_t n, enum bitop op)
{
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t a = load64(d + i), b = load64(s + i);
        a = op == BITOP_AND ? (a & b) : op == BITOP_OR ? (a | b) : (a ^ b);
        memcpy(d + i, &a, 8);
    }
    for (; i < n; i++)
        d[i] = op == BITOP_AND ? (d[i] & s[i]) : op == BITOP_OR ? (d[i] | s[i]) : (d[i] ^ s[i]);
}

struct bitop_src {
    const unsigned char *p;
    size_t len;
    char buf[21]; /* digits of an ENC_INT value */
};

/* BITOP AND|OR|XOR|NOT destkey srckey...: store the bitwise result of the
 * sources (missing keys and the tails of shorter strings read as zeros) in
 * destkey and reply its length, the longest source's. An empty result
 * deletes destkey. O(total length of the sources).
 *
 * The source pointers point into live entries while later sources are
 * looked up. That is safe: a lookup frees only expired entries (none of
 * these, as the clock does not move within a command) and a rehash step
 * relinks entries without moving them. Only the final db_set may free one. */
void cmd_bitop(struct cmd_ctx *c)
{
    enum bitop op;
    bool wrongtype;

    if (word_is(c, 1, "and")) {
        op = BITOP_AND;
    } else if (word_is(c, 1, "or")) {
        op = BITOP_OR;
    } else if (word_is(c, 1, "xor")) {
        op = BITOP_XOR;
    } else if (word_is(c, 1, "not")) {
        op = BITOP_NOT;
    } else {
        reply_error(c->out, ERR_SYNTAX);
        return;
    }
    if (op == BITOP_NOT && c->argc != 4) {
        reply_error(c->out, ERR_BITOP_NOT);
        return;
    }

    int n = c->argc - 3, longest = 0;
    struct bitop_src *src = calloc((size_t)n, sizeof(*src));
    if (!src)
        abort();
    for (int j = 0; j < n; j++) {
        struct entry *e = key_lookup_type(c, j + 3, OBJ_STRING, LOOKUP_NONE, NULL, &wrongtype);
        if (wrongtype) {
            free(src);
            return;
        }
        if (e)
            src[j].p = (const unsigned char *)entry_str(e, &src[j].len, src[j].buf);
        if (src[j].len > src[longest].len)
            longest = j;
    }

    size_t maxlen = src[longest].len;
    const struct resp_arg *dest = &c->argv[2];
    if (maxlen == 0) {
        free(src);
        db_delete(arg_shard(c, 2), arg_db(c, 2), dest->ptr, dest->len);
        reply_int(c->out, 0);
        return;
    }

    /* AND, OR and XOR are commutative, so start from a copy of the longest
     * source and fold the others in; NOT has only that one. */
    struct sbuf *b = sbuf_new(src[longest].p, maxlen);
    unsigned char *r = (unsigned char *)b->data;
    if (op == BITOP_NOT) {
        size_t i = 0;
        for (; i + 8 <= maxlen; i += 8) {
            uint64_t w = ~load64(r + i);
            memcpy(r + i, &w, 8);
        }
        for (; i < maxlen; i++)
            r[i] = (unsigned char)~r[i];
    } else {
        for (int j = 0; j < n; j++) {
            if (j == longest)
                continue;
            if (src[j].len)
                bytes_combine(r, src[j].p, src[j].len, op);
            if (op == BITOP_AND)
                memset(r + src[j].len, 0, maxlen - src[j].len);
        }
    }
    free(src);

    /* Like SET: an expired destination goes through lazy expiry first and
     * the new value carries no TTL. */
    db_lookup(c->shard, c->db, dest->ptr, dest->len, LOOKUP_WRITE | LOOKUP_NOTOUCH, NULL);
    db_set(c->shard, c->db, entry_new_ptr(dest->ptr, dest->len, OBJ_STRING, ENC_RAW, b, -1));
    reply_int(c->out, (long long)maxlen);
}

/* ---- BITFIELD ---- */

enum bf_kind { BF_GET, BF_SET, BF_INCRBY };
enum bf_overflow { BF_WRAP, BF_SAT, BF_FAIL };

/* A 72-bit window holds any field: up to 64 bits starting anywhere in a byte. */
__extension__ typedef unsigned __int128 u128;

struct bf_op {
    uint64_t off;
    int64_t value; /* SET value or INCRBY increment */
    enum bf_kind kind;
    enum bf_overflow overflow;
    int bits;
    bool sign;
};

/* The bits-wide field at bit off, as an unsigned number; bytes at or past
 * len read as zero. A field spans at most 9 bytes, read into a 72-bit
 * big-endian window. */
static uint64_t field_get(const unsigned char *p, size_t len, uint64_t off, int bits)
{
    uint64_t byte = off >> 3;
    unsigned char w[9] = {0};
    u128 win = 0;

    for (int i = 0; i < 9 && byte + (uint64_t)i < len; i++)
        w[i] = p[byte + (uint64_t)i];
    for (int i = 0; i < 9; i++)
        win = (win << 8) | w[i];
    win >>= 72 - (off & 7) - (unsigned)bits;
    return (uint64_t)win & (bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1);
}

/* Store the low bits of v in the field at bit off; p must hold the field. */
static void field_set(unsigned char *p, uint64_t off, int bits, uint64_t v)
{
    unsigned char *q = p + (off >> 3);
    unsigned nbytes = (unsigned)((off & 7) + (unsigned)bits + 7) / 8;
    unsigned shift = 72 - (unsigned)(off & 7) - (unsigned)bits;
    uint64_t ones = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
    u128 win = 0, mask = (u128)ones << shift;

    for (unsigned i = 0; i < 9; i++)
        win = (win << 8) | (i < nbytes ? q[i] : 0);
    win = (win & ~mask) | ((u128)(v & ones) << shift);
    for (unsigned i = 0; i < nbytes; i++)
        q[i] = (unsigned char)(win >> (64 - 8 * i));
}

static int64_t sign_extend(uint64_t v, int bits)
{
    if (bits < 64 && (v & (UINT64_C(1) << (bits - 1))))
        v |= UINT64_MAX << bits;
    return (int64_t)v;
}

/* Whether v + incr leaves the range of a bits-wide unsigned field: 0 if it
 * fits, nonzero if not, and then *res gets the value to store under WRAP or
 * SAT. The tests and their int64 arithmetic are Redis's (a negative SET value
 * arrives as a huge v and counts as overflow). bits <= 63. */
static int bf_unsigned_overflow(uint64_t v, int64_t incr, int bits, enum bf_overflow how,
                                uint64_t *res)
{
    uint64_t max = (UINT64_C(1) << bits) - 1;
    int64_t room_up = (int64_t)(max - v);
    int64_t room_down = (int64_t)(0 - v);
    int dir;

    if (v > max || (incr > 0 && incr > room_up))
        dir = 1;
    else if (incr < 0 && incr < room_down)
        dir = -1;
    else
        return 0;
    if (how == BF_WRAP)
        *res = (v + (uint64_t)incr) & max;
    else if (how == BF_SAT)
        *res = dir > 0 ? max : 0;
    return dir;
}

/* The signed counterpart. room_up and room_down wrap like Redis's int64
 * arithmetic does, which is what makes a SET of a value within bits of
 * INT64_MIN saturate to max, as in Redis. */
static int bf_signed_overflow(int64_t v, int64_t incr, int bits, enum bf_overflow how, int64_t *res)
{
    int64_t max = bits == 64 ? INT64_MAX : (int64_t)((UINT64_C(1) << (bits - 1)) - 1);
    int64_t min = -max - 1;
    int64_t room_up = (int64_t)((uint64_t)max - (uint64_t)v);
    int64_t room_down = (int64_t)((uint64_t)min - (uint64_t)v);
    int dir;

    if (v > max || (bits != 64 && incr > room_up) || (v >= 0 && incr > 0 && incr > room_up))
        dir = 1;
    else if (v < min || (bits != 64 && incr < room_down) || (v < 0 && incr < 0 && incr < room_down))
        dir = -1;
    else
        return 0;
    if (how == BF_WRAP)
        *res = sign_extend(((uint64_t)v + (uint64_t)incr) &
                               (bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1),
                           bits);
    else if (how == BF_SAT)
        *res = dir > 0 ? max : min;
    return dir;
}

/* Run one SET or INCRBY on the raw buffer p (len bytes) and append its reply (the old
 * value for SET, the new one for INCRBY, a null when OVERFLOW FAIL refuses).
 * Returns whether it counts as a change. */
static bool bf_write(struct cmd_ctx *c, unsigned char *p, size_t len, const struct bf_op *op,
                     bool grown)
{
    uint64_t old = field_get(p, len, op->off, op->bits), store;
    long long reply;
    int over;

    if (op->sign) {
        int64_t sold = sign_extend(old, op->bits), snew = 0;
        if (op->kind == BF_INCRBY) {
            over = bf_signed_overflow(sold, op->value, op->bits, op->overflow, &snew);
            if (!over)
                snew = (int64_t)((uint64_t)sold + (uint64_t)op->value);
            reply = snew;
        } else {
            over = bf_signed_overflow(op->value, 0, op->bits, op->overflow, &snew);
            if (!over)
                snew = op->value;
            reply = sold;
        }
        store = (uint64_t)snew;
    } else {
        uint64_t unew = 0;
        if (op->kind == BF_INCRBY) {
            over = bf_unsigned_overflow(old, op->value, op->bits, op->overflow, &unew);
            if (!over)
                unew = old + (uint64_t)op->value;
            reply = (long long)unew;
        } else {
            over = bf_unsigned_overflow((uint64_t)op->value, 0, op->bits, op->overflow, &unew);
            if (!over)
                unew = (uint64_t)op->value;
            reply = (long long)old;
        }
        store = unew;
    }
    if (over && op->overflow == BF_FAIL) {
        reply_null(c->out);
        return false;
    }
    reply_int(c->out, reply);
    field_set(p, op->off, op->bits, store);
    uint64_t ones = op->bits == 64 ? UINT64_MAX : (UINT64_C(1) << op->bits) - 1;
    return grown || old != (store & ones);
}

/* Parse every subcommand first (any error replies before anything runs),
 * then run them in order on one string; reply an array with one entry per
 * GET/SET/INCRBY. */
static void bitfield_generic(struct cmd_ctx *c, bool readonly_cmd)
{
    struct bf_op *ops = malloc(sizeof(*ops) * (size_t)c->argc);
    enum bf_overflow overflow = BF_WRAP;
    uint64_t highest = 0;
    bool writes = false;
    int nops = 0;

    if (!ops)
        abort();
    for (int j = 2; j < c->argc; j++) {
        int left = c->argc - j - 1;
        struct bf_op *op = &ops[nops];

        if (word_is(c, j, "get") && left >= 2) {
            op->kind = BF_GET;
        } else if (word_is(c, j, "set") && left >= 3) {
            op->kind = BF_SET;
        } else if (word_is(c, j, "incrby") && left >= 3) {
            op->kind = BF_INCRBY;
        } else if (word_is(c, j, "overflow") && left >= 1) {
            j++;
            if (word_is(c, j, "wrap")) {
                overflow = BF_WRAP;
            } else if (word_is(c, j, "sat")) {
                overflow = BF_SAT;
            } else if (word_is(c, j, "fail")) {
                overflow = BF_FAIL;
            } else {
                reply_error(c->out, ERR_BF_OVERFLOW);
                goto out;
            }
            continue;
        } else {
            reply_error(c->out, ERR_SYNTAX);
            goto out;
        }
        if (!parse_bitfield_type(c, j + 1, &op->sign, &op->bits) ||
            !parse_bit_offset(c, j + 2, op->bits, &op->off))
            goto out;
        op->value = 0;
        op->overflow = overflow;
        if (op->kind != BF_GET) {
            long long v;
            writes = true;
            if (op->off + (uint64_t)op->bits - 1 > highest)
                highest = op->off + (uint64_t)op->bits - 1;
            if (!arg_ll(c, j + 3, &v, NULL))
                goto out;
            op->value = v;
        }
        nops++;
        j += op->kind == BF_GET ? 2 : 3;
    }

    const unsigned char *p = NULL;
    unsigned char *wp = NULL;
    size_t len = 0;
    char buf[21];
    bool grown = false;

    if (!writes) {
        if (read_string(c, &p, &len, buf) < 0)
            goto out;
    } else {
        if (readonly_cmd) {
            reply_error(c->out, ERR_BF_RO);
            goto out;
        }
        struct sbuf *b = bit_string_for_write(c, (size_t)(highest >> 3) + 1, &grown);
        if (!b)
            goto out;
        p = wp = (unsigned char *)b->data;
        len = b->len;
    }

    uint64_t changes = 0;
    reply_array(c->out, nops);
    for (int i = 0; i < nops; i++) {
        const struct bf_op *op = &ops[i];
        if (op->kind != BF_GET) {
            changes += bf_write(c, wp, len, op, grown);
            continue;
        }
        uint64_t v = field_get(p, len, op->off, op->bits);
        reply_int(c->out, op->sign ? sign_extend(v, op->bits) : (long long)v);
    }
    if (changes)
        db_changed(c->shard, c->db, c->argv[1].ptr, c->argv[1].len, changes);
out:
    free(ops);
}

/* BITFIELD key [GET type offset] [SET type offset value]
 *              [INCRBY type offset increment] [OVERFLOW WRAP|SAT|FAIL] ... */
void cmd_bitfield(struct cmd_ctx *c)
{
    bitfield_generic(c, false);
}

/* BITFIELD_RO key [GET type offset] ...: the read-only form. */
void cmd_bitfield_ro(struct cmd_ctx *c)
{
    bitfield_generic(c, true);
}
