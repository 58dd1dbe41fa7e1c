/* The hash type's value object, for modules other than t_hash.c that read
 * or build hashes without going through commands: the RDB writer and
 * loader, RESTORE, AOF rewrite.
 *
 * A hash value object is (enc, obj): ENC_LISTPACK with obj a listpack of
 * field,value,... (listpack.h; dumped as is as RDB_TYPE_HASH_LISTPACK, 16),
 * or ENC_HT with obj a struct dict of string entries (field = entry key,
 * value = entry string value). Free, dup and mem are hash_ops (store.h).
 */
#ifndef SLUICE_T_HASH_H
#define SLUICE_T_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Number of fields. O(1). */
unsigned long hash_obj_len(const void *obj, int enc);

/* Visit every field/value pair: listpack order, or table order. The
 * pointers are valid during the call only; fn must not modify the hash. */
typedef void (*hash_pair_fn)(void *arg, const char *f, size_t flen, const char *v, size_t vlen);
void hash_obj_foreach(void *obj, int enc, hash_pair_fn fn, void *arg);

/* Is the untrusted buffer lp[0..size) a valid listpack hash: well formed
 * (lp_validate), an even number of elements, no field twice? Never reads
 * outside the buffer. O(n). */
bool hash_listpack_valid(const unsigned char *lp, size_t size);

/* Building a hash while loading, following the encoding rules of Redis's
 * loader: a hashtable from the start when more fields are announced than
 * hash-max-listpack-entries, otherwise a listpack that converts when a
 * field or value is too long or the count passes the threshold. */
struct hash_build {
    int enc;
    void *obj;
    uint64_t seed; /* for a hashtable: the db's keys.seed */
};
void hash_build_init(struct hash_build *b, uint64_t seed, unsigned long announced_len);
/* Add a pair; false (nothing added) when the field is already there, which
 * a loader treats as a corrupt payload. */
bool hash_build_add(struct hash_build *b, const void *f, size_t flen, const void *v,
                    size_t vlen);
/* Adopt a listpack that passed hash_listpack_valid() (ownership moves to
 * the builder); converted to a hashtable when over the thresholds. */
void hash_build_adopt_listpack(struct hash_build *b, unsigned char *lp, uint64_t seed);

#endif
