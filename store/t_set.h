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

#endif
