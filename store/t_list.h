/* The list value: a quicklist, for t_list.c, for other store modules
 * (SORT reads a list's elements and builds a list from strings; the RDB
 * and AOF writers dump a list node by node) and for the unit tests.
 *
 * A list key's value (entry_get_ptr of an OBJ_LIST entry, encoding
 * ENC_QUICKLIST) is a struct quicklist: a doubly linked list of nodes, each
 * holding a non-empty listpack (listpack.h) of up to
 * list-max-listpack-size elements (N > 0: at most N elements and 8 KB;
 * -1..-5: at most 4/8/16/32/64 KB; an element too large for the limit gets
 * a node of its own). The node and element counts are kept so that an
 * index is found by skipping whole nodes. The quicklist header never moves
 * (its address is the entry's value pointer for the key's whole life).
 *
 * Ownership: the quicklist owns its nodes and their listpacks; ql_free()
 * releases all of them. Nothing here touches the key table: callers create
 * and delete keys (an empty list must not stay in the keyspace).
 *
 * Building a list key from strings (SORT ... STORE, a loader):
 *   struct quicklist *ql = ql_new();
 *   ql_push(ql, s, len, QL_TAIL);  ... for each element
 *   db_set(s, db, entry_new_ptr(key, klen, OBJ_LIST, ENC_QUICKLIST, ql, -1));
 * (only when ql->count > 0). Reading one in order:
 *   struct ql_iter it;
 *   for (ql_iter_init(ql, 0, true, &it); ql_iter_valid(&it); ql_iter_next(&it))
 *       p = ql_iter_get(&it, &len, buf);
 * The RDB writer can dump node by node (head to tail, n->lp is a Redis 7
 * listpack: RDB_TYPE_LIST_QUICKLIST_2 with container PACKED).
 */
#ifndef SLUICE_T_LIST_H
#define SLUICE_T_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "listpack.h"

struct ql_node {
    struct ql_node *prev, *next;
    unsigned char *lp; /* never empty while linked */
    uint32_t count;    /* = lp_length(lp), kept to skip nodes without decoding */
};

struct quicklist {
    struct ql_node *head, *tail;
    unsigned long count; /* elements in all nodes */
    unsigned long nodes;
};

enum ql_where { QL_HEAD, QL_TAIL };

/* ---- whole lists ---- */

struct quicklist *ql_new(void);
void ql_free(struct quicklist *ql);
struct quicklist *ql_dup(const struct quicklist *ql);
/* Bytes allocated for the list, its nodes and their listpacks. */
size_t ql_mem(const struct quicklist *ql);
/* Add an element at the head or the tail. O(1). */
void ql_push(struct quicklist *ql, const void *s, size_t len, enum ql_where where);

/* ---- walking: an iterator is a position (node, element) and a direction ---- */

struct ql_iter {
    struct quicklist *ql;
    struct ql_node *node; /* NULL when the walk is over */
    unsigned char *p;     /* the element inside node->lp */
    unsigned long i;      /* its index inside the node */
    bool fwd;             /* towards the tail */
};

/* Position it at element index (negative: from the end; -1 is the last),
 * walking towards the tail (fwd) or the head. False (and an ended
 * iterator) when index is out of range. O(nodes) to find the node, then
 * O(node) inside it. */
bool ql_iter_init(struct quicklist *ql, long long index, bool fwd, struct ql_iter *it);
static inline bool ql_iter_valid(const struct ql_iter *it)
{
    return it->node != NULL;
}
void ql_iter_next(struct ql_iter *it);
/* The current element's bytes (an integer element is formatted into buf,
 * LP_INTBUF_SIZE bytes); valid until the list changes. */
const unsigned char *ql_iter_get(const struct ql_iter *it, uint32_t *len, char *buf);
/* Delete the current element and move to the next one in the walk's
 * direction. Merges the node with a neighbour when both fit in one. */
void ql_iter_delete(struct ql_iter *it);
/* Insert s before or after the current element. The iterator is no longer
 * valid afterwards. */
void ql_iter_insert(struct ql_iter *it, const void *s, size_t len, bool after);

/* ---- by index (0 <= index < count) ---- */

/* Replace the element at index with s. */
void ql_replace(struct quicklist *ql, unsigned long index, const void *s, size_t len);
/* Remove the element at the head or the tail of a non-empty list. O(1). */
void ql_del_end(struct quicklist *ql, enum ql_where where);
/* Delete n elements from index on (index + n <= count). O(nodes + n). */
void ql_del_range(struct quicklist *ql, unsigned long index, unsigned long n);

/* The list-max-listpack-size in force, clamped as Redis does (-5..32767). */
int ql_fill(void);

#endif
