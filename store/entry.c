/* Entries: the one-allocation layout described in store.h, and the string
 * values they hold. Collection types (later) hang off entry_get_ptr(). */
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"
#include "store.h"

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        abort();
    return p;
}

static inline size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline size_t varint_put(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

static inline size_t varint_get(const unsigned char *p, uint64_t *v)
{
    uint64_t r = 0;
    size_t n = 0;
    int shift = 0;
    for (;;) {
        unsigned char b = p[n++];
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
        shift += 7;
    }
    *v = r;
    return n;
}

static inline const unsigned char *key_start(const struct entry *e)
{
    return e->data + ((e->flags & ENTRY_EXPIRE) ? 8 : 0);
}

const char *entry_key(const struct entry *e, size_t *len)
{
    const unsigned char *p = key_start(e);
    uint64_t kl;
    p += varint_get(p, &kl);
    *len = kl;
    return (const char *)p;
}

static inline unsigned char *value_start(const struct entry *e)
{
    const unsigned char *p = key_start(e);
    uint64_t kl;
    p += varint_get(p, &kl);
    return (unsigned char *)p + kl;
}

int64_t entry_expire(const struct entry *e)
{
    int64_t t;
    if (!(e->flags & ENTRY_EXPIRE))
        return -1;
    memcpy(&t, e->data, 8);
    return t;
}

int64_t entry_int(const struct entry *e)
{
    int64_t v;
    memcpy(&v, value_start(e), 8);
    return v;
}

void *entry_get_ptr(const struct entry *e)
{
    void *p;
    memcpy(&p, value_start(e), sizeof(p));
    return p;
}

void entry_set_ptr(struct entry *e, void *p)
{
    memcpy(value_start(e), &p, sizeof(p));
}

void entry_set_int(struct entry *e, int64_t v)
{
    memcpy(value_start(e), &v, sizeof(v));
}

const char *entry_str(const struct entry *e, size_t *len, char *buf)
{
    switch (entry_enc(e)) {
    case ENC_INT:
        *len = (size_t)snprintf(buf, 21, "%lld", (long long)entry_int(e));
        return buf;
    case ENC_EMBSTR: {
        const unsigned char *p = value_start(e);
        uint64_t vl;
        p += varint_get(p, &vl);
        *len = vl;
        return (const char *)p;
    }
    default: {
        struct sbuf *b = entry_get_ptr(e);
        *len = b->len;
        return b->data;
    }
    }
}

/* Allocate an entry with room for key and vbytes of value; returns a
 * pointer to where the value goes. */
static struct entry *entry_alloc(const void *key, size_t klen, int type, int enc,
                                 size_t vbytes, int64_t expire, unsigned char **val)
{
    size_t hdr = offsetof(struct entry, data) + (expire >= 0 ? 8 : 0);
    struct entry *e = xmalloc(hdr + varint_len(klen) + klen + vbytes);
    unsigned char *p = e->data;

    e->next = NULL;
    e->meta = ((uint32_t)type << 28) | ((uint32_t)enc << 24);
    e->flags = 0;
    if (expire >= 0) {
        e->flags |= ENTRY_EXPIRE;
        memcpy(p, &expire, 8);
        p += 8;
    }
    p += varint_put(p, klen);
    memcpy(p, key, klen);
    *val = p + klen;
    return e;
}

struct sbuf *sbuf_new(const void *p, size_t len)
{
    struct sbuf *b = xmalloc(sizeof(*b) + len + 1);
    b->len = b->cap = len;
    if (p && len)
        memcpy(b->data, p, len);
    else if (len)
        memset(b->data, 0, len);
    b->data[len] = '\0';
    return b;
}

struct sbuf *sbuf_resize(struct sbuf *b, size_t len)
{
    if (len > b->cap) {
        size_t cap = len < 1024 * 1024 ? len * 2 : len + 1024 * 1024;
        b = realloc(b, sizeof(*b) + cap + 1);
        if (!b)
            abort();
        b->cap = cap;
    }
    if (len > b->len)
        memset(b->data + b->len, 0, len - b->len);
    b->len = len;
    b->data[len] = '\0';
    return b;
}

struct entry *entry_new_int(const void *key, size_t klen, int64_t v, int64_t expire)
{
    unsigned char *val;
    struct entry *e = entry_alloc(key, klen, OBJ_STRING, ENC_INT, 8, expire, &val);
    memcpy(val, &v, 8);
    return e;
}

struct entry *entry_new_ptr(const void *key, size_t klen, int type, int enc, void *ptr,
                            int64_t expire)
{
    unsigned char *val;
    struct entry *e = entry_alloc(key, klen, type, enc, sizeof(ptr), expire, &val);
    memcpy(val, &ptr, sizeof(ptr));
    return e;
}

struct entry *entry_new_string(const void *key, size_t klen, const void *v, size_t vlen,
                               int64_t expire, enum str_rule rule)
{
    unsigned char *val;
    long long ll;

    if (rule == STR_SET && resp_parse_ll(v, vlen, &ll))
        return entry_new_int(key, klen, ll, expire);
    if (rule != STR_RAW && vlen <= EMBSTR_MAX) {
        struct entry *e = entry_alloc(key, klen, OBJ_STRING, ENC_EMBSTR,
                                      varint_len(vlen) + vlen, expire, &val);
        val += varint_put(val, vlen);
        memcpy(val, v, vlen);
        return e;
    }
    return entry_new_ptr(key, klen, OBJ_STRING, ENC_RAW, sbuf_new(v, vlen), expire);
}

/* Size of the value part of e in bytes (inline part only). */
static size_t value_bytes(const struct entry *e)
{
    if (entry_enc(e) == ENC_EMBSTR) {
        uint64_t vl;
        size_t n = varint_get(value_start(e), &vl);
        return n + vl;
    }
    return 8;
}

static const struct obj_ops *const type_ops[] = {
    [OBJ_LIST] = &list_ops, [OBJ_SET] = &set_ops, [OBJ_ZSET] = &zset_ops, [OBJ_HASH] = &hash_ops,
};

static void *dup_value(const struct entry *e)
{
    if (entry_type(e) == OBJ_STRING) {
        struct sbuf *b = entry_get_ptr(e);
        return sbuf_new(b->data, b->len);
    }
    return type_ops[entry_type(e)]->dup(entry_get_ptr(e), entry_enc(e));
}

static struct entry *entry_copy(const struct entry *e, const void *key, size_t klen,
                                int64_t expire, bool deep)
{
    unsigned char *val;
    size_t vb = value_bytes(e);
    struct entry *n =
        entry_alloc(key, klen, entry_type(e), entry_enc(e), vb, expire, &val);
    n->meta = e->meta;
    memcpy(val, value_start(e), vb);
    if (deep && entry_enc(e) != ENC_INT && entry_enc(e) != ENC_EMBSTR) {
        void *p = dup_value(e);
        memcpy(val, &p, sizeof(p));
    }
    return n;
}

struct entry *entry_with_expire(const struct entry *e, int64_t expire)
{
    size_t klen;
    const char *k = entry_key(e, &klen);
    return entry_copy(e, k, klen, expire, false);
}

struct entry *entry_rekey(const struct entry *e, const void *key, size_t klen, bool deep)
{
    return entry_copy(e, key, klen, entry_expire(e), deep);
}

void entry_free(struct entry *e)
{
    if (entry_type(e) != OBJ_STRING)
        type_ops[entry_type(e)]->free(entry_get_ptr(e), entry_enc(e));
    else if (entry_enc(e) == ENC_RAW)
        free(entry_get_ptr(e));
    free(e);
}

size_t entry_mem(const struct entry *e)
{
    size_t n = malloc_usable_size((void *)e);
    if (entry_type(e) != OBJ_STRING)
        n += type_ops[entry_type(e)]->mem(entry_get_ptr(e), entry_enc(e));
    else if (entry_enc(e) == ENC_RAW)
        n += malloc_usable_size(entry_get_ptr(e));
    return n;
}
