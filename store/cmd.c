/* Argument parsing and key lookup helpers shared by the command files.
 * Number parsing follows Redis 7.0 (string2ll, string2ld, strtod checks) so
 * that the same inputs are accepted and rejected. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"

long long store_max_string = 512LL * 1024 * 1024;
struct cmd_prop_hooks cmd_prop_hooks;
struct store_limits store_limits = {512, 64, 512, 128, 64, -2};

struct resp_arg prop_word(const char *word)
{
    return (struct resp_arg){word, strlen(word)};
}

struct resp_arg prop_ll(char buf[PROP_LL_BUF], long long v)
{
    int n = snprintf(buf, PROP_LL_BUF, "%lld", v);
    return (struct resp_arg){buf, (size_t)n};
}

void cmd_propagate_key(struct cmd_ctx *c, const char *word, int i)
{
    struct resp_arg argv[2] = {prop_word(word), c->argv[i]};
    cmd_propagate(c, 2, argv);
}

void cmd_propagate_key_ll(struct cmd_ctx *c, const char *word, int i, long long n)
{
    char buf[PROP_LL_BUF];
    struct resp_arg argv[3] = {prop_word(word), c->argv[i], prop_ll(buf, n)};
    cmd_propagate(c, 3, argv);
}

bool arg_is(const struct cmd_ctx *c, int i, const char *word)
{
    size_t n = strlen(word);
    return c->argv[i].len == n && strncasecmp(c->argv[i].ptr, word, n) == 0;
}

bool str_to_ll(const char *s, size_t n, long long *v)
{
    return resp_parse_ll(s, n, v);
}

bool arg_ll(struct cmd_ctx *c, int i, long long *v, const char *msg)
{
    if (str_to_ll(c->argv[i].ptr, c->argv[i].len, v))
        return true;
    reply_error(c->out, msg ? msg : ERR_NOT_INT);
    return false;
}

#define MAX_LD_CHARS 5120

bool str_to_ld(const char *s, size_t n, long double *v)
{
    char buf[MAX_LD_CHARS];
    char *end;

    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    long double d = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || (size_t)(end - buf) != n ||
        (errno == ERANGE && (d == HUGE_VALL || d == -HUGE_VALL || fpclassify(d) == FP_ZERO)) ||
        errno == EINVAL || isnan(d))
        return false;
    *v = d;
    return true;
}

bool arg_ld(struct cmd_ctx *c, int i, long double *v)
{
    if (str_to_ld(c->argv[i].ptr, c->argv[i].len, v))
        return true;
    reply_error(c->out, ERR_NOT_FLOAT);
    return false;
}

bool arg_double(struct cmd_ctx *c, int i, double *v)
{
    char buf[MAX_LD_CHARS];
    char *end;
    size_t n = c->argv[i].len;

    if (n == 0 || n >= sizeof(buf))
        goto bad;
    memcpy(buf, c->argv[i].ptr, n);
    buf[n] = '\0';
    errno = 0;
    double d = strtod(buf, &end);
    if (isspace((unsigned char)buf[0]) || (size_t)(end - buf) != n ||
        (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL || fpclassify(d) == FP_ZERO)) ||
        isnan(d))
        goto bad;
    *v = d;
    return true;
bad:
    reply_error(c->out, ERR_NOT_FLOAT);
    return false;
}

bool arg_opt(const struct cmd_ctx *c, int i, const char *word)
{
    size_t n = strnlen(c->argv[i].ptr, c->argv[i].len);
    return n == strlen(word) && strncasecmp(c->argv[i].ptr, word, n) == 0;
}

bool arg_cursor(struct cmd_ctx *c, int i, uint64_t *out)
{
    const char *p = c->argv[i].ptr;
    size_t n = strnlen(p, c->argv[i].len), k = 0;
    bool neg = false;
    uint64_t v = 0;

    if (n && (p[0] == '+' || p[0] == '-')) {
        neg = p[0] == '-';
        k++;
    }
    if (n && k == n)
        goto bad;
    for (; k < n; k++) {
        unsigned d = (unsigned)(p[k] - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            goto bad;
        v = v * 10 + d;
    }
    *out = neg ? (uint64_t)0 - v : v;
    return true;
bad:
    reply_error(c->out, "ERR invalid cursor");
    return false;
}

bool arg_scan_opts(struct cmd_ctx *c, int i, long long *count, const char **pat, size_t *plen,
                   const struct resp_arg **type)
{
    for (; i < c->argc; i += 2) {
        bool has_value = c->argc - i >= 2;
        if (arg_opt(c, i, "count") && has_value) {
            if (!arg_ll(c, i + 1, count, NULL))
                return false;
            if (*count < 1) {
                reply_error(c->out, ERR_SYNTAX);
                return false;
            }
        } else if (arg_opt(c, i, "match") && has_value) {
            const struct resp_arg *p = &c->argv[i + 1];
            bool star = p->len == 1 && p->ptr[0] == '*';
            *pat = star ? NULL : p->ptr;
            *plen = star ? 0 : p->len;
        } else if (type && arg_opt(c, i, "type") && has_value) {
            *type = &c->argv[i + 1];
        } else {
            reply_error(c->out, ERR_SYNTAX);
            return false;
        }
    }
    return true;
}

void entry_vec_push(void *vec, struct entry *e)
{
    struct entry_vec *a = vec;
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 32;
        a->v = realloc(a->v, a->cap * sizeof(*a->v));
        if (!a->v)
            abort();
    }
    a->v[a->n++] = e;
}

bool arg_timeout(struct cmd_ctx *c, int i, long long *ms)
{
    long double d;
    if (!str_to_ld(c->argv[i].ptr, c->argv[i].len, &d)) {
        reply_error(c->out, "ERR timeout is not a float or out of range");
        return false;
    }
    /* Redis 7.0 rounds up to whole milliseconds (0.0001 waits 1 ms, -0.0001
     * is 0: forever); what does not fit a long long comes out negative. */
    d = ceill(d * 1000.0L);
    if (d < 0 || d >= 9223372036854775807.0L) {
        reply_error(c->out, "ERR timeout is negative");
        return false;
    }
    *ms = (long long)d;
    return true;
}

struct entry *key_lookup(struct cmd_ctx *c, int i, int flags, struct entry ***ref)
{
    return db_lookup(arg_shard(c, i), arg_db(c, i), c->argv[i].ptr, c->argv[i].len, flags, ref);
}

struct entry *key_lookup_type(struct cmd_ctx *c, int i, int type, int flags,
                              struct entry ***ref, bool *wrongtype)
{
    struct entry *e = key_lookup(c, i, flags, ref);
    *wrongtype = false;
    if (e && entry_type(e) != type) {
        reply_error(c->out, ERR_WRONGTYPE);
        *wrongtype = true;
        return NULL;
    }
    return e;
}
