/* Read access to sets for other store modules (SORT reads a set's members;
 * sorted-set operations take sets as inputs; RDB and AOF writers dump
 * them).
 *
 * A set key's value (entry_get_ptr of an OBJ_SET entry) is either a
 * struct intset (ENC_INTSET, intset.h: Redis's exact bytes) or a struct dict
 * of member entries (ENC_HT: each item is an entry whose key is the
 * member). Use these functions rather than the encodings where you can.
 */
#ifndef SLUICE_T_SET_H
#define SLUICE_T_SET_H

#include <stdbool.h>
#include <stddef.h>

#include "intset.h"
#include "store.h"

/* Number of members of the set held by e (an OBJ_SET entry). O(1). */
unsigned long set_length(const struct entry *e);

/* Whether member is in e. O(log N) intset, O(1) hashtable. */
bool set_contains(const struct entry *e, const char *member, size_t len);

/* Call fn for every member of e (ascending for an intset, table order for
 * a hashtable) with its bytes, valid only during the call. fn returns
 * false to stop. The set must not change during the walk. O(N). */
void set_each(const struct entry *e, bool (*fn)(void *arg, const char *member, size_t len),
              void *arg);

/* Building a set while loading (RDB, RESTORE), following Redis 7.0's
 * loader: a hashtable from the start when more members are announced than
 * set-max-intset-entries, otherwise an intset that converts at the first
 * non-integer member. The result goes into a key with
 * entry_new_ptr(key, klen, OBJ_SET, b.enc, b.obj, expire); free it with
 * set_ops.free(b.obj, b.enc) on a corrupt payload. */
struct set_build {
    int enc;       /* ENC_INTSET or ENC_HT */
    void *obj;     /* struct intset * or struct dict * */
    uint64_t seed; /* for a hashtable: the db's keys.seed */
};
void set_build_init(struct set_build *b, uint64_t seed, unsigned long announced_len);
/* Add a member; false (nothing added) when it is already there, which a
 * loader treats as a corrupt payload. */
bool set_build_add(struct set_build *b, const void *member, size_t len);
/* Adopt a malloc'd intset blob that passed intset_validate() (ownership
 * moves to the builder); converted to a hashtable when it has more than
 * set-max-intset-entries members, as Redis's loader does. */
void set_build_adopt_intset(struct set_build *b, struct intset *is, uint64_t seed);

#endif
