/* Lock-free single-producer single-consumer rings between workers.
 *
 * One ring per ordered (producer worker, consumer worker) pair carries
 * pointers to messages. A slot belongs to the producer until ring_push
 * publishes it (release store of the tail), then to the consumer, which
 * takes it with an acquire load of the tail and gives the slot back with a
 * release store of the head. Each side caches the other side's index so the
 * common case touches no shared cache line but its own.
 *
 * The ring carries ownership: a pushed message belongs to the consumer.
 */
#ifndef SLUICE_RING_H
#define SLUICE_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct ring {
    _Alignas(64) _Atomic uint32_t tail; /* written by the producer */
    uint32_t head_cache;                /* producer's last view of head */
    _Alignas(64) _Atomic uint32_t head; /* written by the consumer */
    uint32_t tail_cache;                /* consumer's last view of tail */
    _Alignas(64) uint32_t mask;         /* capacity - 1 */
    _Alignas(64) void *slots[];         /* own lines: pushes don't evict mask */
};

/* A ring for capacity messages (rounded up to a power of two, >= 2); NULL
 * when capacity is above 2^31 or memory is short. */
struct ring *ring_new(uint32_t capacity);
void ring_free(struct ring *r);

/* Producer: append msg (never NULL: NULL means "empty" to ring_pop);
 * false when the ring is full (nothing changes). */
bool ring_push(struct ring *r, void *msg);
/* Consumer: take every queued message, up to max, in FIFO order into out;
 * returns how many. */
uint32_t ring_pop_burst(struct ring *r, void **out, uint32_t max);
/* Consumer: take one message, or NULL when empty. */
void *ring_pop(struct ring *r);
/* Either side: messages currently queued (a snapshot). */
uint32_t ring_count(struct ring *r);

#endif
