/* The listpack: a compact sequence of strings and integers in one allocation,
 * byte for byte the format of Redis 7 (listpack.md), so the RDB writer can dump
 * one as is (RDB types 16/17/18) and a listpack read from a Redis RDB file can be
 * used directly after lp_validate().
 *
 * Layout (all multi-byte header fields little endian):
 *
 *   <total-bytes:u32> <num-elements:u16> <entry> ... <entry> <0xFF>
 *
 * num-elements is 65535 when the count is not known (65535 or more elements);
 * lp_length() then counts by walking. Each entry is
 *
 *   <encoding+data> <backlen>
 *
 * where backlen (1..5 bytes, read right to left, 7 bits per byte, high bit set
 * on every byte but the leftmost) is the size of encoding+data, so the list can
 * be walked backwards. Encodings (first byte):
 *
 *   0xxxxxxx                 7-bit unsigned int (0..127)
 *   10xxxxxx <data>          string, length 0..63
 *   110xxxxx yyyyyyyy        13-bit signed int (-4096..4095)
 *   1110xxxx yyyyyyyy <data> string, length 64..4095 (12-bit length, high bits first)
 *   11110000 <u32 len> <data> string, any length
 *   11110001 <i16>           16-bit signed int
 *   11110010 <i24>           24-bit signed int
 *   11110011 <i32>           32-bit signed int
 *   11110100 <i64>           64-bit signed int
 *   11111111                 end of listpack
 *
 * A string that is a canonical integer ("-12", not "012", "+1", " 1" or "-0")
 * of at most 20 characters is stored in the smallest integer encoding, exactly
 * as Redis does; reading it back gives the integer, and lp_get_str() formats it
 * back to the same string. So callers need not care how an element is stored.
 *
 * Positions: an element is addressed by a pointer p to its first byte inside
 * the listpack. A pointer stays valid until the next call that modifies the
 * listpack (those return the possibly moved listpack, and where useful the new
 * position through an out-parameter).
 *
 * Ownership: the listpack is one malloc() block owned by whoever holds the
 * pointer (for a key: the entry's value pointer); lp_free() releases it.
 *
 * Complexity: append, first, last, next, prev, get, compare are O(1) (get and
 * next are O(1) per element); seek(i), insert and delete in the middle are
 * O(n) in bytes (memmove), which is the point of the compact encoding: types
 * keep listpacks small (hash-max-listpack-entries, list-max-listpack-size...). */
#ifndef SLUICE_LISTPACK_H
#define SLUICE_LISTPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LP_HDR_SIZE 6           /* total bytes (4) + element count (2) */
#define LP_HDR_NUMELE_UNKNOWN 65535
#define LP_EOF 0xFF
#define LP_INTBUF_SIZE 21       /* room for "-9223372036854775808" + NUL */
#define LP_EMPTY_BYTES 7        /* header + terminator */

/* Where lp_insert() puts the new element relative to p. */
enum lp_where { LP_BEFORE, LP_AFTER, LP_REPLACE };

/* ---- create, free, size ---- */

/* A new empty listpack (7 bytes). capacity is a hint of the bytes the caller
 * expects to need; 0 is fine. Never returns NULL (aborts on out of memory, as
 * the rest of the store does). */
unsigned char *lp_new(size_t capacity);
void lp_free(unsigned char *lp);
/* Total bytes of the listpack (header field): what the RDB writer dumps. */
size_t lp_bytes(const unsigned char *lp);
/* Number of elements. O(1) unless there are 65535 or more (then O(n)). */
unsigned long lp_length(const unsigned char *lp);
/* Redis never lets a listpack grow past 1 GB (lpSafeToAdd): types convert
 * to their large encoding instead. True if adding add bytes (NULL lp: to
 * an empty listpack) stays within that. */
#define LP_SAFETY_SIZE (1UL << 30)
bool lp_safe_to_add(const unsigned char *lp, size_t add);
/* Bytes allocated for it (malloc_usable_size), for MEMORY USAGE. */
size_t lp_mem(const unsigned char *lp);
/* A copy of the listpack (one allocation of exactly lp_bytes()). */
unsigned char *lp_dup(const unsigned char *lp);

/* ---- iteration: NULL means "no such element" ---- */

unsigned char *lp_first(unsigned char *lp);
unsigned char *lp_last(unsigned char *lp);
unsigned char *lp_next(unsigned char *lp, unsigned char *p);
unsigned char *lp_prev(unsigned char *lp, unsigned char *p);
/* The element at index (0 = first, -1 = last), NULL when out of range.
 * Walks from whichever end is closer when the length is known. */
unsigned char *lp_seek(unsigned char *lp, long index);

/* ---- reading an element ---- */

/* Read the element at p. A string element: returns a pointer to its bytes
 * (inside the listpack, not NUL-terminated) and sets *len. An integer element:
 * returns NULL and sets *ival. Either out-parameter may be NULL if unused. */
const unsigned char *lp_get(const unsigned char *p, uint32_t *len, long long *ival);
/* Read the element at p as bytes: a string returns its pointer in the
 * listpack, an integer is formatted into buf (LP_INTBUF_SIZE bytes) and buf
 * is returned. *len is set in both cases. */
const unsigned char *lp_get_str(const unsigned char *p, uint32_t *len, char *buf);
/* True if the element at p is an integer or a string that parses as a
 * canonical 64-bit integer; sets *ival. */
bool lp_get_int(const unsigned char *p, long long *ival);
/* Format v into buf (at least LP_INTBUF_SIZE bytes, NUL terminated); returns
 * the length without the NUL. Same text as Redis's ll2string. */
int lp_fmt_int(long long v, char *buf);
/* Bytes occupied by the element at p (encoding + data + backlen). */
uint32_t lp_entry_size(const unsigned char *p);

/* ---- comparing and finding ---- */

/* True if the element at p equals the bytes s[0..len) (an integer element
 * compares as its decimal text). */
bool lp_eq(const unsigned char *p, const void *s, size_t len);
/* First element equal to s[0..len), starting at p and comparing p, then every
 * (skip+1)-th element after it (skip 1 on a hash = compare fields only, since
 * fields and values alternate). NULL when not found. p may be NULL (returns
 * NULL). */
unsigned char *lp_find(unsigned char *lp, unsigned char *p, const void *s, size_t len,
                       unsigned int skip);

/* ---- modifying: each returns the (possibly moved) listpack ---- */

/* Insert the string s[0..len) before/after p, or replace p with it. p must be
 * an element of lp; for LP_BEFORE it may also point at the 0xFF terminator
 * (= append). If newp is not NULL it receives the new element's position. */
unsigned char *lp_insert(unsigned char *lp, unsigned char *p, const void *s, size_t len,
                         enum lp_where where, unsigned char **newp);
/* Same with an integer value (stored in the smallest integer encoding). */
unsigned char *lp_insert_int(unsigned char *lp, unsigned char *p, long long v,
                             enum lp_where where, unsigned char **newp);
/* Replace the element at *p; *p is updated to the new element. */
unsigned char *lp_replace(unsigned char *lp, unsigned char **p, const void *s, size_t len);
unsigned char *lp_replace_int(unsigned char *lp, unsigned char **p, long long v);
unsigned char *lp_append(unsigned char *lp, const void *s, size_t len);
unsigned char *lp_append_int(unsigned char *lp, long long v);
unsigned char *lp_prepend(unsigned char *lp, const void *s, size_t len);
unsigned char *lp_prepend_int(unsigned char *lp, long long v);
/* Delete the element at p. If next is not NULL it receives the position of
 * the element that followed (NULL if p was the last). */
unsigned char *lp_delete(unsigned char *lp, unsigned char *p, unsigned char **next);
/* Delete num elements starting at index (negative from the end); fewer if the
 * list ends first. An out of range index deletes nothing. */
unsigned char *lp_delete_range(unsigned char *lp, long index, unsigned long num);
/* Delete num elements starting at *p (fewer if the list ends first); *p
 * receives the position of the element that followed, or NULL. */
unsigned char *lp_delete_range_at(unsigned char *lp, unsigned char **p, unsigned long num);

/* ---- random picks (HRANDFIELD / ZRANDMEMBER style) ---- */

/* An element read out of a listpack: a string (s != NULL, len) or an integer
 * (s == NULL, ival). Pointers refer into the listpack: valid until it changes. */
struct lp_elem {
    const unsigned char *s;
    uint32_t len;
    long long ival;
};
/* Read the element at p into *e. */
void lp_elem_at(const unsigned char *p, struct lp_elem *e);
/* Format an element as bytes: returns a pointer to them and sets *len (buf is
 * used for integers, LP_INTBUF_SIZE bytes). */
const unsigned char *lp_elem_str(const struct lp_elem *e, uint32_t *len, char *buf);
/* Pick count random pairs (elements 2i, 2i+1) of a listpack of pairs, with
 * repetition; keys[i]/vals[i] receive them (vals may be NULL). One walk. */
void lp_random_pairs(unsigned char *lp, unsigned long count, struct lp_elem *keys,
                     struct lp_elem *vals);
/* Pick count distinct random pairs (count <= pairs), in listpack order.
 * Returns how many were picked (= min(count, pairs)). One walk. */
unsigned long lp_random_pairs_unique(unsigned char *lp, unsigned long count,
                                     struct lp_elem *keys, struct lp_elem *vals);

/* ---- integrity (untrusted input: RDB load, RESTORE) ---- */

/* Called for each element during deep validation; return false to reject. */
typedef bool (*lp_validate_cb)(const unsigned char *p, void *ud);
/* Check that the size bytes at lp are a well-formed listpack: header total
 * equals size, every entry's encoding/length/backlen is consistent and inside
 * the buffer, the terminator is where it should be, and the element count
 * matches the header (unless 65535). Never reads outside lp[0..size). If cb
 * is not NULL it is called on each element (e.g. to reject duplicate hash
 * fields). Returns true if valid. */
bool lp_validate(const unsigned char *lp, size_t size, lp_validate_cb cb, void *ud);

#endif
