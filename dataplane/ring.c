/* Lock-free single-producer single-consumer ring of message pointers.
 *
 * Exactly one thread pushes and exactly one thread pops. head and tail are
 * free-running 32-bit counters: they are never masked when stored, only when
 * used as a slot index, and they wrap through UINT32_MAX. Because capacity is
 * a power of two no larger than 2^31, tail - head (unsigned) is always the
 * number of queued messages, across the wrap too.
 *
 * Memory ordering, in one place (each use below says which edge it is):
 *   - A producer's write of slots[t] happens-before the consumer's read of it:
 *     release store of tail (producer) paired with acquire load of tail
 *     (consumer). This also publishes everything the producer wrote into the
 *     message itself before ring_push.
 *   - A consumer's read of slots[h] happens-before the producer reuses that
 *     slot: release store of head (consumer) paired with acquire load of head
 *     (producer). Without it the producer's next write to the slot could race
 *     with the consumer's read of the previous message pointer.
 *   - Each side loads its own index relaxed: it is the only writer, so it
 *     always sees its own last store.
 *   - head_cache and tail_cache are plain fields private to one side each;
 *     they may lag the real index, which only makes the ring look fuller (to
 *     the producer) or emptier (to the consumer) than it is, never the
 *     reverse. The real index is re-read only when the cache says no.
 */
#include "ring.h"

#include <assert.h>
#include <stdlib.h>

struct ring *ring_new(uint32_t capacity)
{
    uint32_t cap = 2;
    struct ring *r;
    size_t size;

    /* Above 2^31 the free-running indices could no longer tell a full ring
     * from an empty one. */
    if (capacity > (UINT32_C(1) << 31))
        return NULL;
    while (cap < capacity)
        cap <<= 1;

    /* aligned_alloc wants a size that is a multiple of the alignment. */
    size = sizeof(*r) + (size_t)cap * sizeof(r->slots[0]);
    size = (size + _Alignof(struct ring) - 1) & ~(size_t)(_Alignof(struct ring) - 1);
    r = aligned_alloc(_Alignof(struct ring), size);
    if (!r)
        return NULL;
    /* No other thread can see the ring yet: plain initialisation. Whoever
     * hands the ring to the two threads (thread creation, a mutex, ...)
     * provides the happens-before edge. */
    atomic_init(&r->tail, 0);
    atomic_init(&r->head, 0);
    r->head_cache = 0;
    r->tail_cache = 0;
    r->mask = cap - 1;
    return r;
}

void ring_free(struct ring *r)
{
    free(r);
}

/* The producer owns msg until the release store of tail publishes it. msg
 * must not be NULL: ring_pop returns NULL for "empty". */
bool ring_push(struct ring *r, void *msg)
{
    /* Relaxed: only this thread stores tail. */
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);

    assert(msg);
    if (t - r->head_cache > r->mask) {
        /* Full by our stale view; look at the consumer's real head. Acquire
         * pairs with the consumer's release store of head, so its reads of
         * the slots it freed happen-before our write to slots[t] below. */
        r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
        if (t - r->head_cache > r->mask)
            return false;
    }
    r->slots[t & r->mask] = msg;
    /* Release: the slot write above, and every write the caller made to
     * *msg, become visible to a consumer that acquire-loads this tail. */
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
    return true;
}

/* Takes up to max messages; ownership of each passes to the caller. */
uint32_t ring_pop_burst(struct ring *r, void **out, uint32_t max)
{
    /* Relaxed: only this thread stores head. */
    uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint32_t avail = r->tail_cache - h;
    uint32_t n;

    if (avail < max) {
        /* Our stale view cannot fill the burst; look at the producer's real
         * tail. Acquire pairs with the producer's release store of tail, so
         * the slots (and the messages) up to it are visible below. */
        r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
        avail = r->tail_cache - h;
    }
    n = avail < max ? avail : max;
    if (n == 0)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        out[i] = r->slots[(h + i) & r->mask];
    /* Release: our reads of the slots above complete before the producer,
     * acquire-loading this head, may overwrite them. */
    atomic_store_explicit(&r->head, h + n, memory_order_release);
    return n;
}

void *ring_pop(struct ring *r)
{
    void *msg;

    return ring_pop_burst(r, &msg, 1) ? msg : NULL;
}

/* A snapshot that may be stale by the time it returns; exact only when
 * called by one side while the other is idle. */
uint32_t ring_count(struct ring *r)
{
    /* head first, then tail, both acquire: the acquire on head keeps the
     * tail load from moving before it, and tail only grows, so the tail we
     * read is at least the tail the head we read had caught up with:
     * tail - head never underflows. */
    uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    uint32_t n = t - h;

    /* Between the two loads the consumer may pop and the producer refill,
     * so a third party can see more than fit at any one moment. */
    return n > r->mask + 1 ? r->mask + 1 : n;
}
