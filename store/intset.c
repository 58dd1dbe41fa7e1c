/* intset: Redis's sorted integer array (layout in intset.h). All fields
 * are read and written little-endian through memcpy, so the blob is the
 * same bytes on any host and elements need no alignment. */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "intset.h"

static inline uint32_t rd32(uint32_t v) { return le32toh(v); }
static inline uint32_t wr32(uint32_t v) { return htole32(v); }

uint32_t intset_width(const struct intset *is) { return rd32(is->encoding); }
uint32_t intset_len(const struct intset *is) { return rd32(is->length); }

size_t intset_blob_len(const struct intset *is)
{
    return sizeof(*is) + (size_t)intset_len(is) * intset_width(is);
}

/* The narrowest width that holds v. */
static uint32_t width_for(int64_t v)
{
    if (v < INT32_MIN || v > INT32_MAX)
        return 8;
    if (v < INT16_MIN || v > INT16_MAX)
        return 4;
    return 2;
}

static int64_t get_w(const struct intset *is, uint32_t i, uint32_t w)
{
    const int8_t *p = is->contents + (size_t)i * w;
    if (w == 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        return (int64_t)le64toh(v);
    }
    if (w == 4) {
        uint32_t v;
        memcpy(&v, p, 4);
        return (int32_t)le32toh(v);
    }
    uint16_t v;
    memcpy(&v, p, 2);
    return (int16_t)le16toh(v);
}

static void set_w(struct intset *is, uint32_t i, uint32_t w, int64_t v)
{
    int8_t *p = is->contents + (size_t)i * w;
    if (w == 8) {
        uint64_t x = htole64((uint64_t)v);
        memcpy(p, &x, 8);
    } else if (w == 4) {
        uint32_t x = htole32((uint32_t)(int32_t)v);
        memcpy(p, &x, 4);
    } else {
        uint16_t x = htole16((uint16_t)(int16_t)v);
        memcpy(p, &x, 2);
    }
}

int64_t intset_get(const struct intset *is, uint32_t i)
{
    return get_w(is, i, intset_width(is));
}

static struct intset *resize(struct intset *is, uint32_t len, uint32_t w)
{
    struct intset *n = realloc(is, sizeof(*is) + (size_t)len * w);
    if (!n)
        abort();
    return n;
}

struct intset *intset_new(void)
{
    struct intset *is = malloc(sizeof(*is));
    if (!is)
        abort();
    is->encoding = wr32(2);
    is->length = 0;
    return is;
}

/* Binary search: true and *pos = index if v is present, else false and
 * *pos = where it would be inserted. */
static bool search(const struct intset *is, int64_t v, uint32_t *pos)
{
    uint32_t lo = 0, hi = intset_len(is), w = intset_width(is);
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int64_t cur = get_w(is, mid, w);
        if (cur == v) {
            *pos = mid;
            return true;
        }
        if (cur < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return false;
}

bool intset_find(const struct intset *is, int64_t v)
{
    uint32_t pos;
    return width_for(v) <= intset_width(is) && search(is, v, &pos);
}

/* Widen every element to hold v, then add v: it is outside the old range,
 * so it goes first (negative) or last (positive). Elements are moved from
 * the back so the wider copy never overwrites one not yet read. */
static struct intset *upgrade_add(struct intset *is, int64_t v)
{
    uint32_t old = intset_width(is), len = intset_len(is), w = width_for(v);
    uint32_t front = v < 0 ? 1 : 0;
    is = resize(is, len + 1, w);
    for (uint32_t i = len; i-- > 0;)
        set_w(is, i + front, w, get_w(is, i, old));
    set_w(is, front ? 0 : len, w, v);
    is->encoding = wr32(w);
    is->length = wr32(len + 1);
    return is;
}

struct intset *intset_add(struct intset *is, int64_t v, bool *added)
{
    uint32_t pos, len = intset_len(is), w = intset_width(is);
    if (added)
        *added = true;
    if (width_for(v) > w)
        return upgrade_add(is, v);
    if (search(is, v, &pos)) {
        if (added)
            *added = false;
        return is;
    }
    is = resize(is, len + 1, w);
    memmove(is->contents + (size_t)(pos + 1) * w, is->contents + (size_t)pos * w,
            (size_t)(len - pos) * w);
    set_w(is, pos, w, v);
    is->length = wr32(len + 1);
    return is;
}

struct intset *intset_remove(struct intset *is, int64_t v, bool *removed)
{
    uint32_t pos, len = intset_len(is), w = intset_width(is);
    bool found = width_for(v) <= w && search(is, v, &pos);
    if (removed)
        *removed = found;
    if (!found)
        return is;
    memmove(is->contents + (size_t)pos * w, is->contents + (size_t)(pos + 1) * w,
            (size_t)(len - pos - 1) * w);
    is->length = wr32(len - 1);
    return resize(is, len - 1, w);
}

/* splitmix64: well-mixed bits for a uniform index. */
static uint64_t rng_next(void)
{
    static __thread uint64_t state = 0x2545f4914f6cdd1dULL;
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int64_t intset_random(const struct intset *is)
{
    return intset_get(is, (uint32_t)(rng_next() % intset_len(is)));
}

struct intset *intset_dup(const struct intset *is)
{
    size_t n = intset_blob_len(is);
    struct intset *d = malloc(n);
    if (!d)
        abort();
    memcpy(d, is, n);
    return d;
}

bool intset_validate(const void *p, size_t n)
{
    struct intset hdr;
    if (n < sizeof(hdr))
        return false;
    memcpy(&hdr, p, sizeof(hdr));
    uint32_t w = rd32(hdr.encoding), len = rd32(hdr.length);
    if (w != 2 && w != 4 && w != 8)
        return false;
    if ((uint64_t)len * w != n - sizeof(hdr) || len == 0)
        return false;
    const struct intset *is = p;
    for (uint32_t i = 1; i < len; i++)
        if (get_w(is, i - 1, w) >= get_w(is, i, w))
            return false;
    return true;
}
