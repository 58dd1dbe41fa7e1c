/* Read access to sorted sets for other store modules (SORT reads a sorted
 * set's members in order; RDB and AOF writers read members and scores).
 *
 * A sorted set key's value (entry_get_ptr of an OBJ_ZSET entry) is either a
 * listpack of member, score pairs (ENC_LISTPACK, the exact Redis 7.0 bytes:
 * scores stored as Redis's d2string text) or a struct zset (ENC_SKIPLIST)
 * private to t_zset.c. Use these functions rather than the encodings.
 */
#ifndef SLUICE_T_ZSET_H
#define SLUICE_T_ZSET_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

/* Number of members of the sorted set held by e (an OBJ_ZSET entry). O(1). */
unsigned long zset_length(const struct entry *e);

/* Call fn for every member of e in score order (then member order), or in
 * the reverse order when rev is true, with the member's bytes (valid only
 * during the call) and its score. fn returns false to stop early. The set
 * must not be modified during the walk. O(N). */
void zset_foreach(const struct entry *e, bool rev,
                  bool (*fn)(void *arg, const char *member, size_t len, double score),
                  void *arg);

/* The score of member in e: true and *score set if it is a member. */
bool zset_score(const struct entry *e, const char *member, size_t len, double *score);

#endif
