/* String commands: GET/SET and their variants, multi-key MGET/MSET, in-place
 * edits (APPEND, SETRANGE), counters (INCR family, INCRBYFLOAT) and LCS.
 *
 * Replies, reply types, error texts and the order in which errors are
 * detected follow Redis 7.0.15's t_string.c, so a client cannot tell the two
 * apart; the comments above each handler name the Redis function it mirrors
 * where the order of checks is subtle.
 *
 * Choices worth knowing:
 *  - Expiry times are absolute milliseconds computed from the shard's cached
 *    clock (shard->now_ms), the same clock lazy expiry uses.
 *  - APPEND and SETRANGE grow an ENC_RAW value in place (sbuf_resize doubles
 *    the capacity), so repeated appends are amortized O(1) per byte, and INCR
 *    of an ENC_INT value rewrites the int64 in place: the hot paths do not
 *    allocate. Both keep the key's TTL and bump shard->dirty themselves
 *    because no db_* call sees the change.
 *  - INCRBYFLOAT stores its result as a string never int-encoded (STR_NOINT),
 *    so an integral result ("3") is embstr as in Redis.
 *  - MGET/MSET/MSETNX run on one shard here; cross-shard atomicity belongs to
 *    the dispatcher.
 *  - Option words are compared as C strings, as Redis does, so "nx\0junk"
 *    is read as NX.
 *  - Propagation (cmd.h), as Redis 7.0 rewrites these for its AOF: SET with
 *    any expiry, SETEX and PSETEX log SET key value PXAT <ms>; SET ... GET
 *    logs the request without its GET words; GETSET logs SET; GETDEL logs
 *    DEL; GETEX logs PEXPIREAT, DEL (a past EXAT/PXAT) or PERSIST, and
 *    nothing when it only read; INCRBYFLOAT logs SET key <result> KEEPTTL.
 *    The rest are logged as sent.
 */
#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"

#define ERR_EXPIRE_FMT "ERR invalid expire time in '%s' command"
#define ERR_ARITY_FMT "ERR wrong number of arguments for '%s' command"

/* Flags of SET and GETEX options (Redis's OBJ_SET_* / OBJ_EX ...). */
#define F_NX (1 << 0)
#define F_XX (1 << 1)
#define F_EX (1 << 2)
#define F_PX (1 << 3)
#define F_KEEPTTL (1 << 4)
#define F_GET (1 << 5)
#define F_EXAT (1 << 6)
#define F_PXAT (1 << 7)
#define F_PERSIST (1 << 8)

/* Room for the digits of any int64 (entry_str's contract). */
#define INT_BUF 21
/* Redis's MAX_LONG_DOUBLE_CHARS: "%.17Lf" of LDBL_MAX fits. */
#define LD_BUF (5 * 1024)

/* The command's name in lower case, as Redis prints c->cmd->fullname in
 * error texts. argv[0] is the name the dispatcher matched, so lowering it
 * gives the same text. */
static const char *cmd_name(const struct cmd_ctx *c, char *buf, size_t cap)
{
    size_t n = c->argv[0].len < cap - 1 ? c->argv[0].len : cap - 1;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)tolower((unsigned char)c->argv[0].ptr[i]);
    buf[n] = '\0';
    return buf;
}

static void reply_expire_error(struct cmd_ctx *c)
{
    char name[32];
    reply_errorf(c->out, ERR_EXPIRE_FMT, cmd_name(c, name, sizeof(name)));
}

static void reply_arity_error(struct cmd_ctx *c)
{
    char name[32];
    reply_errorf(c->out, ERR_ARITY_FMT, cmd_name(c, name, sizeof(name)));
}


static void reply_value(struct cmd_ctx *c, const struct entry *e)
{
    char buf[INT_BUF];
    size_t len;
    const char *s = entry_str(e, &len, buf);
    reply_bulk(c->out, s, len);
}

static size_t value_len(const struct entry *e)
{
    char buf[INT_BUF];
    size_t len;
    entry_str(e, &len, buf);
    return len;
}

/* Redis's checkStringLength: would a string of size + add bytes exceed
 * proto-max-bulk-len? Replies the error when it would. */
static bool check_len(struct cmd_ctx *c, unsigned long long size, unsigned long long add)
{
    unsigned long long max = (unsigned long long)store_max_string;
    if (size > max || add > max - size) {
        reply_error(c->out, ERR_STRING_SIZE);
        return false;
    }
    return true;
}


/* Make the string at *ref an ENC_RAW value of at least len bytes (new bytes
 * zeroed; never shrinks) and return its buffer for the caller to write into.
 * A raw value grows in place; an int or embstr value is copied into a new
 * raw entry that keeps the key's expiry (Redis's dbUnshareStringValue).
 * Either way *ref stays the key's live link. */
static struct sbuf *make_raw(struct cmd_ctx *c, struct entry **ref, size_t len)
{
    struct entry *e = *ref;

    if (entry_enc(e) == ENC_RAW) {
        struct sbuf *b = entry_get_ptr(e);
        if (len > b->len) {
            b = sbuf_resize(b, len);
            entry_set_ptr(e, b);
        }
        db_changed(c->shard, c->db, c->argv[1].ptr, c->argv[1].len, 1);
        return b;
    }

    char buf[INT_BUF];
    size_t olen, klen;
    const char *s = entry_str(e, &olen, buf);
    const char *key = entry_key(e, &klen);
    struct sbuf *b = sbuf_new(s, olen);
    if (len > olen)
        b = sbuf_resize(b, len);
    struct entry *n = entry_new_ptr(key, klen, OBJ_STRING, ENC_RAW, b, entry_expire(e));
    db_replace(c->shard, c->db, ref, n);
    return b;
}

/* Store argv[vi] under argv[1] with SET's encoding rules. ref is the key's
 * live link when it exists (from a lookup with no db_* call since), else
 * NULL. */
static void store_value(struct cmd_ctx *c, struct entry **ref, int vi, int64_t expire)
{
    const struct resp_arg *k = &c->argv[1], *v = &c->argv[vi];
    struct entry *e = entry_new_string(k->ptr, k->len, v->ptr, v->len, expire, STR_SET);

    if (ref)
        db_replace(c->shard, c->db, ref, e);
    else
        db_set(c->shard, c->db, e);
}

/* Parse SET's (from argv[3]) or GETEX's (from argv[2]) options into flags
 * and the index of the expire argument (0 when none). The combinations
 * Redis rejects, and an option missing its value, are a syntax error.
 * Mirrors parseExtendedStringArgumentsOrReply, including that a repeated
 * EX/PX/... simply takes the later value. */
static bool parse_ext(struct cmd_ctx *c, bool is_set, int *flags, int *ei)
{
    const int ttl_opts = F_EX | F_PX | F_EXAT | F_PXAT;

    for (int j = is_set ? 3 : 2; j < c->argc; j++) {
        bool next = j < c->argc - 1;
        int f = *flags;

        if (is_set && arg_opt(c, j, "NX") && !(f & F_XX)) {
            f |= F_NX;
        } else if (is_set && arg_opt(c, j, "XX") && !(f & F_NX)) {
            f |= F_XX;
        } else if (is_set && arg_opt(c, j, "GET")) {
            f |= F_GET;
        } else if (is_set && arg_opt(c, j, "KEEPTTL") && !(f & (F_PERSIST | ttl_opts))) {
            f |= F_KEEPTTL;
        } else if (!is_set && arg_opt(c, j, "PERSIST") && !(f & (F_KEEPTTL | ttl_opts))) {
            f |= F_PERSIST;
        } else if (arg_opt(c, j, "EX") && next &&
                   !(f & (F_KEEPTTL | F_PERSIST | (ttl_opts & ~F_EX)))) {
            f |= F_EX;
            *ei = ++j;
        } else if (arg_opt(c, j, "PX") && next &&
                   !(f & (F_KEEPTTL | F_PERSIST | (ttl_opts & ~F_PX)))) {
            f |= F_PX;
            *ei = ++j;
        } else if (arg_opt(c, j, "EXAT") && next &&
                   !(f & (F_KEEPTTL | F_PERSIST | (ttl_opts & ~F_EXAT)))) {
            f |= F_EXAT;
            *ei = ++j;
        } else if (arg_opt(c, j, "PXAT") && next &&
                   !(f & (F_KEEPTTL | F_PERSIST | (ttl_opts & ~F_PXAT)))) {
            f |= F_PXAT;
            *ei = ++j;
        } else {
            reply_error(c->out, ERR_SYNTAX);
            return false;
        }
        *flags = f;
    }
    return true;
}

/* Turn argument i into an absolute expiry in ms (Redis's
 * getExpireMillisecondsOrReply): EX/EXAT count seconds, EX/PX are relative
 * to now. Zero, negative or overflowing times are "invalid expire time". */
static bool parse_expire(struct cmd_ctx *c, int i, int flags, int64_t *when)
{
    long long v;

    if (!arg_ll(c, i, &v, NULL))
        return false;
    bool seconds = flags & (F_EX | F_EXAT);
    if (v <= 0 || (seconds && v > LLONG_MAX / 1000))
        goto bad;
    if (seconds)
        v *= 1000;
    if (flags & (F_EX | F_PX)) {
        if (c->shard->now_ms > 0 && v > LLONG_MAX - c->shard->now_ms)
            goto bad;
        v += c->shard->now_ms;
        if (v <= 0)
            goto bad;
    }
    *when = v;
    return true;
bad:
    reply_expire_error(c);
    return false;
}

/* Reply argv[1]'s value, or null when missing (Redis's getGenericCommand).
 * False, with WRONGTYPE replied, when the key holds another type. */
static bool get_generic(struct cmd_ctx *c)
{
    bool wrongtype;
    struct entry *e = key_lookup_type(c, 1, OBJ_STRING, LOOKUP_NONE, NULL, &wrongtype);

    if (wrongtype)
        return false;
    if (!e)
        reply_null(c->out);
    else
        reply_value(c, e);
    return true;
}

/* GET key: bulk value, null when missing. O(1). */
void cmd_get(struct cmd_ctx *c)
{
    get_generic(c);
}

/* SET ... GET is logged without its GET words (Redis 7.0 drops every
 * argument from the fourth on that reads "GET" as a C string). */
static void propagate_without_get(struct cmd_ctx *c)
{
    struct resp_arg *argv = malloc((size_t)c->argc * sizeof(*argv));
    int n = 0;
    if (!argv)
        abort();
    for (int j = 0; j < c->argc; j++)
        if (j < 3 || !arg_opt(c, j, "GET"))
            argv[n++] = c->argv[j];
    cmd_propagate(c, n, argv);
    free(argv);
}

/* The common body of SET, SETNX, SETEX and PSETEX (setGenericCommand).
 * Order of checks, as in Redis: the expire value, then GET's read (which
 * may fail with WRONGTYPE and then sets nothing), then NX/XX. Without GET
 * the reply is +OK (or :1 for SETNX) when set, null (or :0) when NX/XX
 * stopped it; with GET the only reply is the old value. Without KEEPTTL
 * the key loses any TTL it had. */
static void set_generic(struct cmd_ctx *c, int flags, int vi, int ei, bool int_reply)
{
    int64_t expire = -1;
    struct entry **ref = NULL;

    if (ei && !parse_expire(c, ei, flags, &expire))
        return;
    if ((flags & F_GET) && !get_generic(c))
        return;

    struct entry *old = key_lookup(c, 1, LOOKUP_WRITE, &ref);
    if (((flags & F_NX) && old) || ((flags & F_XX) && !old)) {
        if (!(flags & F_GET)) {
            if (int_reply)
                reply_int(c->out, 0);
            else
                reply_null(c->out);
        }
        return;
    }
    if (old && (flags & F_KEEPTTL))
        expire = entry_expire(old);
    store_value(c, old ? ref : NULL, vi, expire);
    if (ei) {
        /* Logged as SET key value PXAT ms, whatever the form of the expiry
         * and the other options (Redis 7.0): it replays to the same time. */
        char buf[PROP_LL_BUF];
        struct resp_arg argv[5] = {prop_word("SET"), c->argv[1], c->argv[vi], prop_word("PXAT"),
                                   prop_ll(buf, expire)};
        cmd_propagate(c, 5, argv);
    } else if (flags & F_GET) {
        propagate_without_get(c);
    }
    if (flags & F_GET)
        return;
    if (int_reply)
        reply_int(c->out, 1);
    else
        reply_ok(c->out);
}

/* SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL]. An
 * EXAT/PXAT in the past is stored as is and the key expires on its next
 * access, as in Redis 7.0. */
void cmd_set(struct cmd_ctx *c)
{
    int flags = 0, ei = 0;

    if (!parse_ext(c, true, &flags, &ei))
        return;
    set_generic(c, flags, 2, ei, false);
}

/* SETNX key value: :1 if set, :0 if the key existed (of any type). */
void cmd_setnx(struct cmd_ctx *c)
{
    set_generic(c, F_NX, 2, 0, true);
}

/* SETEX key seconds value. */
void cmd_setex(struct cmd_ctx *c)
{
    set_generic(c, F_EX, 3, 2, false);
}

/* PSETEX key milliseconds value. */
void cmd_psetex(struct cmd_ctx *c)
{
    set_generic(c, F_PX, 3, 2, false);
}

/* GETSET key value: the old value (or null), then set without TTL. Logged
 * as SET key value, as Redis 7.0 does. */
void cmd_getset(struct cmd_ctx *c)
{
    if (!get_generic(c))
        return;
    store_value(c, NULL, 2, -1);
    struct resp_arg argv[3] = {prop_word("SET"), c->argv[1], c->argv[2]};
    cmd_propagate(c, 3, argv);
}

/* GETDEL key: the value (or null), then delete the key. Logged as DEL key
 * when it deleted one (Redis 7.0; sluice has no lazyfree-lazy-user-del,
 * so never UNLINK). */
void cmd_getdel(struct cmd_ctx *c)
{
    if (!get_generic(c))
        return;
    if (db_delete(c->shard, c->db, c->argv[1].ptr, c->argv[1].len))
        cmd_propagate_key(c, "DEL", 1);
}

/* GETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST]: GET that also sets or
 * removes the TTL. As in Redis, a missing key replies null before the
 * expire value is even parsed, and an EXAT/PXAT not in the future deletes
 * the key after replying its value. */
void cmd_getex(struct cmd_ctx *c)
{
    int flags = 0, ei = 0;
    int64_t when = -1;
    struct entry **ref;
    bool wrongtype;

    if (!parse_ext(c, false, &flags, &ei))
        return;
    struct entry *e = key_lookup_type(c, 1, OBJ_STRING, LOOKUP_NONE, &ref, &wrongtype);
    if (wrongtype)
        return;
    if (!e)
        return reply_null(c->out);
    if (ei && !parse_expire(c, ei, flags, &when))
        return;

    /* Never logged as sent: DEL key, PEXPIREAT key ms or PERSIST key for
     * what it did, nothing when it only read (Redis 7.0). */
    reply_value(c, e);
    if ((flags & (F_EXAT | F_PXAT)) && when <= c->shard->now_ms) {
        db_delete_ref(c->shard, c->db, ref);
        cmd_propagate_key(c, "DEL", 1);
    } else if (ei) {
        db_set_expire(c->shard, c->db, ref, when);
        cmd_propagate_key_ll(c, "PEXPIREAT", 1, when);
    } else if ((flags & F_PERSIST) && entry_expire(e) >= 0) {
        db_set_expire(c->shard, c->db, ref, -1);
        cmd_propagate_key(c, "PERSIST", 1);
    }
}

/* MGET key [key ...]: one bulk per key, null for missing and non-string
 * keys (never WRONGTYPE). O(N). */
void cmd_mget(struct cmd_ctx *c)
{
    reply_array(c->out, c->argc - 1);
    for (int j = 1; j < c->argc; j++) {
        struct entry *e = key_lookup(c, j, LOOKUP_NONE, NULL);
        if (!e || entry_type(e) != OBJ_STRING)
            reply_null(c->out);
        else
            reply_value(c, e);
    }
}

/* MSET / MSETNX key value [key value ...]. Every key loses its TTL; a key
 * given twice ends with its last value. MSETNX sets nothing and replies :0
 * if any key exists (of any type). */
static void mset_generic(struct cmd_ctx *c, bool nx)
{
    if (c->argc % 2 == 0)
        return reply_arity_error(c);
    if (nx) {
        for (int j = 1; j < c->argc; j += 2) {
            if (key_lookup(c, j, LOOKUP_WRITE, NULL))
                return reply_int(c->out, 0);
        }
    }
    for (int j = 1; j < c->argc; j += 2) {
        const struct resp_arg *k = &c->argv[j], *v = &c->argv[j + 1];
        db_set(arg_shard(c, j), arg_db(c, j),
               entry_new_string(k->ptr, k->len, v->ptr, v->len, -1, STR_SET));
    }
    if (nx)
        reply_int(c->out, 1);
    else
        reply_ok(c->out);
}

void cmd_mset(struct cmd_ctx *c)
{
    mset_generic(c, false);
}

void cmd_msetnx(struct cmd_ctx *c)
{
    mset_generic(c, true);
}

/* APPEND key value: the new length. A missing key is created as SET would
 * (so "12" becomes int); an existing value becomes raw and grows in place,
 * keeping its TTL. */
void cmd_append(struct cmd_ctx *c)
{
    struct entry **ref;
    bool wrongtype;
    const struct resp_arg *v = &c->argv[2];
    struct entry *e = key_lookup_type(c, 1, OBJ_STRING, LOOKUP_WRITE, &ref, &wrongtype);

    if (wrongtype)
        return;
    if (!e) {
        store_value(c, NULL, 2, -1);
        return reply_int(c->out, (long long)v->len);
    }
    size_t olen = value_len(e);
    if (!check_len(c, olen, v->len))
        return;
    struct sbuf *b = make_raw(c, ref, olen + v->len);
    memcpy(b->data + olen, v->ptr, v->len);
    reply_int(c->out, (long long)b->len);
}

/* STRLEN key: length in bytes (of the decimal text for ints), 0 if
 * missing. */
void cmd_strlen(struct cmd_ctx *c)
{
    bool wrongtype;
    struct entry *e = key_lookup_type(c, 1, OBJ_STRING, LOOKUP_NONE, NULL, &wrongtype);

    if (wrongtype)
        return;
    reply_int(c->out, e ? (long long)value_len(e) : 0);
}

/* GETRANGE (and SUBSTR) key start end: inclusive byte range, negative
 * indexes from the end, clamped; an empty bulk when the range is empty or
 * the key missing. The indexes are parsed before the key is looked up. */
void cmd_getrange(struct cmd_ctx *c)
{
    long long start, end;
    bool wrongtype;
    char buf[INT_BUF];
    size_t n;

    if (!arg_ll(c, 2, &start, NULL) || !arg_ll(c, 3, &end, NULL))
        return;
    struct entry *e = key_lookup_type(c, 1, OBJ_STRING, LOOKUP_NONE, NULL, &wrongtype);
    if (wrongtype)
        return;
    if (!e)
        return reply_bulk(c->out, "", 0);

    const char *s = entry_str(e, &n, buf);
    long long len = (long long)n;
    if (start < 0 && end < 0 && start > end)
        return reply_bulk(c->out, "", 0);
    if (start < 0)
        start += len;
    if (end < 0)
        end += len;
    if (start < 0)
        start = 0;
    if (end < 0)
        end = 0;
    if (end >= len)
        end = len - 1;
    if (len == 0 || start > end)
        return reply_bulk(c->out, "", 0);
    reply_bulk(c->out, s + start, (size_t)(end - start + 1));
}

/* SETRANGE key offset value: overwrite from offset, zero-padding a gap;
 * replies the new length. An empty value changes nothing (and does not
 * create the key) and replies the current length. The result is raw and
 * keeps the TTL. */
void cmd_setrange(struct cmd_ctx *c)
{
    long long offset;
    struct entry **ref;
    bool wrongtype;
    const struct resp_arg *v = &c->argv[3];

    if (!arg_ll(c, 2, &offset, NULL))
        return;
    if (offset < 0)
        return reply_error(c->out, "ERR offset is out of range");

    struct entry *e = key_lookup_type(c, 1, OBJ_STRING, LOOKUP_WRITE, &ref, &wrongtype);
    if (wrongtype)
        return;
    if (!e) {
        if (v->len == 0)
            return reply_int(c->out, 0);
        if (!check_len(c, (unsigned long long)offset, v->len))
            return;
        struct sbuf *b = sbuf_resize(sbuf_new("", 0), (size_t)offset + v->len);
        memcpy(b->data + offset, v->ptr, v->len);
        db_set(c->shard, c->db,
               entry_new_ptr(c->argv[1].ptr, c->argv[1].len, OBJ_STRING, ENC_RAW, b, -1));
        return reply_int(c->out, (long long)b->len);
    }

    size_t olen = value_len(e);
    if (v->len == 0)
        return reply_int(c->out, (long long)olen);
    if (!check_len(c, (unsigned long long)offset, v->len))
        return;
    size_t end = (size_t)offset + v->len;
    struct sbuf *b = make_raw(c, ref, end > olen ? end : olen);
    memcpy(b->data + offset, v->ptr, v->len);
    reply_int(c->out, (long long)b->len);
}

/* The INCR family (incrDecrCommand): add incr to the integer value (0 when
 * missing). The value must parse strictly as a 64-bit integer; overflow is
 * an error and changes nothing. The result is ENC_INT and the TTL stays.
 * An ENC_INT value is updated in place, so counters do not allocate. */
static void incr_generic(struct cmd_ctx *c, long long incr)
{
    struct entry **ref;
    bool wrongtype;
    long long v = 0;
    struct entry *e = key_lookup_type(c, 1, OBJ_STRING, LOOKUP_WRITE, &ref, &wrongtype);

    if (wrongtype)
        return;
    if (e) {
        if (entry_enc(e) == ENC_INT) {
            v = entry_int(e);
        } else {
            char buf[INT_BUF];
            size_t n;
            const char *s = entry_str(e, &n, buf);
            if (!str_to_ll(s, n, &v))
                return reply_error(c->out, ERR_NOT_INT);
        }
    }
    if ((incr < 0 && v < 0 && incr < LLONG_MIN - v) || (incr > 0 && v > 0 && incr > LLONG_MAX - v))
        return reply_error(c->out, ERR_OVERFLOW);
    v += incr;

    if (e && entry_enc(e) == ENC_INT) {
        entry_set_int(e, v);
        db_changed(c->shard, c->db, c->argv[1].ptr, c->argv[1].len, 1);
    } else if (e) {
        db_replace(c->shard, c->db, ref,
                   entry_new_int(c->argv[1].ptr, c->argv[1].len, v, entry_expire(e)));
    } else {
        db_set(c->shard, c->db, entry_new_int(c->argv[1].ptr, c->argv[1].len, v, -1));
    }
    reply_int(c->out, v);
}

void cmd_incr(struct cmd_ctx *c)
{
    incr_generic(c, 1);
}

void cmd_decr(struct cmd_ctx *c)
{
    incr_generic(c, -1);
}

/* INCRBY key increment: the increment is parsed before the key is read. */
void cmd_incrby(struct cmd_ctx *c)
{
    long long incr;

    if (!arg_ll(c, 2, &incr, NULL))
        return;
    incr_generic(c, incr);
}

/* DECRBY key decrement: LLONG_MIN cannot be negated, which Redis reports
 * with its own text. */
void cmd_decrby(struct cmd_ctx *c)
{
    long long incr;

    if (!arg_ll(c, 2, &incr, NULL))
        return;
    if (incr == LLONG_MIN)
        return reply_error(c->out, "ERR decrement would overflow");
    incr_generic(c, -incr);
}

/* Redis's string2ld also demands that strtold consumed every byte, so a
 * value with an embedded NUL ("1\0x") is not a float. str_to_ld (cmd.c)
 * stops at the NUL and accepts it; refuse such bytes here until it checks
 * the parsed length itself. */
static bool parse_ld(const char *s, size_t n, long double *v)
{
    return !memchr(s, '\0', n) && str_to_ld(s, n, v);
}

/* INCRBYFLOAT key increment: long double arithmetic, the result formatted
 * as Redis does (%.17Lf without trailing zeros) and stored as a string;
 * the TTL stays. A NaN or infinite result is refused and changes nothing.
 * Replies the new value as a bulk string. */
void cmd_incrbyfloat(struct cmd_ctx *c)
{
    struct entry **ref;
    bool wrongtype;
    long double v = 0, incr;
    struct entry *e = key_lookup_type(c, 1, OBJ_STRING, LOOKUP_WRITE, &ref, &wrongtype);

    if (wrongtype)
        return;
    if (e) {
        if (entry_enc(e) == ENC_INT) {
            v = (long double)entry_int(e);
        } else {
            char buf[INT_BUF];
            size_t n;
            const char *s = entry_str(e, &n, buf);
            if (!parse_ld(s, n, &v))
                return reply_error(c->out, ERR_NOT_FLOAT);
        }
    }
    if (!parse_ld(c->argv[2].ptr, c->argv[2].len, &incr))
        return reply_error(c->out, ERR_NOT_FLOAT);
    v += incr;
    if (isnan(v) || isinf(v))
        return reply_error(c->out, "ERR increment would produce NaN or Infinity");

    char out[LD_BUF];
    int n = resp_format_ld(out, sizeof(out), v);
    assert(n >= 0); /* LD_BUF holds "%.17Lf" of any finite long double */
    struct entry *ne = entry_new_string(c->argv[1].ptr, c->argv[1].len, out, (size_t)n,
                                        e ? entry_expire(e) : -1, STR_NOINT);
    if (e)
        db_replace(c->shard, c->db, ref, ne);
    else
        db_set(c->shard, c->db, ne);
    reply_bulk(c->out, out, (size_t)n);
    /* Logged as SET key <result> KEEPTTL, so a replay does not depend on
     * float arithmetic or formatting (Redis 7.0). */
    struct resp_arg argv[4] = {
        prop_word("SET"), c->argv[1], {out, (size_t)n}, prop_word("KEEPTTL")};
    cmd_propagate(c, 4, argv);
}

/* One matching range of LCS IDX, positions inclusive. */
struct lcs_range {
    uint32_t a0, a1, b0, b1;
};

/* LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: the longest
 * common subsequence of two strings by the O(N*M) time and space dynamic
 * program Redis uses, walked back from the end to get the string or, with
 * IDX, the matching ranges from last to first. Missing keys are empty
 * strings. Both keys are looked up before the options are parsed, so a
 * wrong type wins over a syntax error. IDX replies a map {matches, len}
 * (a flat array in RESP2). */
void cmd_lcs(struct cmd_ctx *c)
{
    long long minmatchlen = 0;
    bool getlen = false, getidx = false, withmatchlen = false;
    char bufa[INT_BUF], bufb[INT_BUF];
    size_t alen_sz = 0, blen_sz = 0;
    const char *a = "", *b = "";

    /* The entry of key1 stays valid across the lookup of key2: a lookup
     * frees only the entry it finds expired, and key1's was live at this
     * same clock. */
    struct entry *ea = key_lookup(c, 1, LOOKUP_NONE, NULL);
    struct entry *eb = key_lookup(c, 2, LOOKUP_NONE, NULL);
    if ((ea && entry_type(ea) != OBJ_STRING) || (eb && entry_type(eb) != OBJ_STRING))
        return reply_error(c->out, "ERR The specified keys must contain string values");
    if (ea)
        a = entry_str(ea, &alen_sz, bufa);
    if (eb)
        b = entry_str(eb, &blen_sz, bufb);

    for (int j = 3; j < c->argc; j++) {
        bool more = j < c->argc - 1;
        if (arg_opt(c, j, "IDX")) {
            getidx = true;
        } else if (arg_opt(c, j, "LEN")) {
            getlen = true;
        } else if (arg_opt(c, j, "WITHMATCHLEN")) {
            withmatchlen = true;
        } else if (arg_opt(c, j, "MINMATCHLEN") && more) {
            if (!arg_ll(c, j + 1, &minmatchlen, NULL))
                return;
            if (minmatchlen < 0)
                minmatchlen = 0;
            j++;
        } else {
            return reply_error(c->out, ERR_SYNTAX);
        }
    }
    if (getlen && getidx)
        return reply_error(c->out,
                           "ERR If you want both the length and indexes, please just use IDX.");
    if (alen_sz >= UINT32_MAX - 1 || blen_sz >= UINT32_MAX - 1)
        return reply_error(c->out, "ERR String too long for LCS");

    uint32_t alen = (uint32_t)alen_sz, blen = (uint32_t)blen_sz;
    unsigned long long cells = (unsigned long long)(alen + 1ULL) * (blen + 1ULL);
    unsigned long long bytes = cells * sizeof(uint32_t);
    uint32_t *lcs = NULL;
    if (bytes < SIZE_MAX && bytes / cells == sizeof(uint32_t)) {
        if (bytes > (unsigned long long)store_max_string)
            return reply_error(c->out, "ERR Insufficient memory, transient memory for LCS "
                                       "exceeds proto-max-bulk-len");
        lcs = malloc((size_t)bytes);
    }
    if (!lcs)
        return reply_error(c->out,
                           "ERR Insufficient memory, failed allocating transient memory for LCS");

#define LCS(A, B) lcs[(size_t)(B) + (size_t)(A) * (blen + 1)]
    for (uint32_t i = 0; i <= alen; i++) {
        for (uint32_t j = 0; j <= blen; j++) {
            if (i == 0 || j == 0)
                LCS(i, j) = 0;
            else if (a[i - 1] == b[j - 1])
                LCS(i, j) = LCS(i - 1, j - 1) + 1;
            else
                LCS(i, j) = LCS(i - 1, j) > LCS(i, j - 1) ? LCS(i - 1, j) : LCS(i, j - 1);
        }
    }

    uint32_t total = LCS(alen, blen);
    if (getlen) {
        free(lcs);
        return reply_int(c->out, total);
    }

    /* Walk back from (alen, blen): the string is filled from its end, and
     * a range is emitted when the run of contiguous matches breaks. */
    char *result = malloc(total ? total : 1);
    struct lcs_range *ranges = NULL;
    size_t nranges = 0, cap = 0;
    if (!result)
        abort();
    uint32_t idx = total, i = alen, j = blen;
    uint32_t as = alen, ae = 0, bs = 0, be = 0; /* as == alen: no open range */
    while (i > 0 && j > 0) {
        bool emit = false;
        if (a[i - 1] == b[j - 1]) {
            result[idx - 1] = a[i - 1];
            if (as == alen) {
                as = ae = i - 1;
                bs = be = j - 1;
            } else if (as == i && bs == j) {
                as--;
                bs--;
            } else {
                emit = true;
            }
            if (as == 0 || bs == 0)
                emit = true;
            idx--;
            i--;
            j--;
        } else {
            if (LCS(i - 1, j) > LCS(i, j - 1))
                i--;
            else
                j--;
            if (as != alen)
                emit = true;
        }
        if (emit) {
            uint32_t mlen = ae - as + 1;
            if (getidx && (minmatchlen == 0 || mlen >= minmatchlen)) {
                if (nranges == cap) {
                    cap = cap ? cap * 2 : 16;
                    ranges = realloc(ranges, cap * sizeof(*ranges));
                    if (!ranges)
                        abort();
                }
                ranges[nranges++] = (struct lcs_range){as, ae, bs, be};
            }
            as = alen;
        }
    }
#undef LCS
    free(lcs);

    if (getidx) {
        reply_map(c->out, 2);
        reply_bulk_cstr(c->out, "matches");
        reply_array(c->out, (long long)nranges);
        for (size_t k = 0; k < nranges; k++) {
            reply_array(c->out, withmatchlen ? 3 : 2);
            reply_array(c->out, 2);
            reply_int(c->out, ranges[k].a0);
            reply_int(c->out, ranges[k].a1);
            reply_array(c->out, 2);
            reply_int(c->out, ranges[k].b0);
            reply_int(c->out, ranges[k].b1);
            if (withmatchlen)
                reply_int(c->out, ranges[k].a1 - ranges[k].a0 + 1);
        }
        reply_bulk_cstr(c->out, "len");
        reply_int(c->out, total);
    } else {
        reply_bulk(c->out, result, total);
    }
    free(ranges);
    free(result);
}
