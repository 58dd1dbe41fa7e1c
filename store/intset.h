/* intset: a sorted array of distinct integers in one allocation, the
 * "intset" encoding of small integer sets (t_set.c).
 *
 * The bytes are Redis's intset, so the RDB writer can dump one as is and
 * the loader can take Redis's after validating it:
 *
 *   encoding (u32 LE: 2, 4 or 8, the byte width of every element) |
 *   length (u32 LE) | length elements, little-endian, ascending
 *
 * Every element has the width of the widest one: adding a value that does
 * not fit the current width upgrades the whole array (it never downgrades).
 * Membership is a binary search, O(log N); add and remove move the tail,
 * O(N), and realloc to the exact size, so the blob is never larger than
 * 8 + length * width bytes (plus allocator rounding).
 *
 * The caller owns the intset; functions that change it return the
 * possibly moved pointer.
 */
#ifndef SLUICE_INTSET_H
#define SLUICE_INTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct intset {
    uint32_t encoding; /* little-endian on disk and in memory */
    uint32_t length;
    int8_t contents[];
};

/* An empty intset of the narrowest width. */
struct intset *intset_new(void);
/* Add v; *added (if not NULL) tells whether it was absent. */
struct intset *intset_add(struct intset *is, int64_t v, bool *added);
/* Remove v; *removed (if not NULL) tells whether it was present. */
struct intset *intset_remove(struct intset *is, int64_t v, bool *removed);
bool intset_find(const struct intset *is, int64_t v);
/* Element i (0 <= i < length), in ascending order. */
int64_t intset_get(const struct intset *is, uint32_t i);
uint32_t intset_len(const struct intset *is);
/* Element width in bytes: 2, 4 or 8. */
uint32_t intset_width(const struct intset *is);
/* Bytes of the blob: header plus elements. */
size_t intset_blob_len(const struct intset *is);
/* A uniformly random element of a non-empty intset. */
int64_t intset_random(const struct intset *is);
struct intset *intset_dup(const struct intset *is);
/* Check a blob of n bytes read from outside (RDB), as Redis's deep
 * intsetValidateIntegrity: a known width, the length matching n, not
 * empty, strictly ascending elements. */
bool intset_validate(const void *p, size_t n);

#endif
