/* Lazy free: UNLINK, FLUSHDB ASYNC and FLUSHALL ASYNC hand what they remove
 * to one background thread, so a worker never walks the millions of
 * elements of a big collection (or table) it dropped: it unlinks in O(1)
 * and goes on serving.
 *
 * Only values no shard can reach any more come here (an unlinked entry, or
 * the bucket arrays of a table that was emptied by taking them), so the
 * thread touches no shard state; the queue's mutex orders the hand-over.
 * A string entry is one or two allocations: it is freed at once instead.
 * The thread starts on first use.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "store.h"

struct lazy_item {
    struct lazy_item *next;
    struct entry *e;    /* an entry, or NULL with tables */
    struct dict tables; /* a whole table's buckets */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nonempty = PTHREAD_COND_INITIALIZER;
static struct lazy_item *head, *tail;
static _Atomic size_t pending;
static pthread_once_t started = PTHREAD_ONCE_INIT;

static void *lazy_main(void *arg)
{
    (void)arg;
    /* Freeing is never urgent: as SCHED_IDLE the thread yields its CPU to a
     * worker at once. Best of all it runs on a core no worker uses
     * (dataplane-cores leaves the others to it). */
    struct sched_param sp = {0};
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
    store_mem_register_thread();
    for (;;) {
        pthread_mutex_lock(&lock);
        while (!head)
            pthread_cond_wait(&nonempty, &lock);
        struct lazy_item *it = head;
        head = it->next;
        if (!head)
            tail = NULL;
        pthread_mutex_unlock(&lock);
        if (it->e)
            entry_free(it->e);
        else
            dict_free(&it->tables, entry_free);
        free(it);
        atomic_fetch_sub_explicit(&pending, 1, memory_order_relaxed);
    }
    return NULL;
}

static void start(void)
{
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, lazy_main, NULL) != 0)
        abort();
    pthread_attr_destroy(&a);
}

static void enqueue(struct lazy_item *it)
{
    pthread_once(&started, start);
    atomic_fetch_add_explicit(&pending, 1, memory_order_relaxed);
    it->next = NULL;
    pthread_mutex_lock(&lock);
    if (tail)
        tail->next = it;
    else
        head = it;
    tail = it;
    pthread_cond_signal(&nonempty);
    pthread_mutex_unlock(&lock);
}

void lazyfree_entry(struct entry *e)
{
    if (entry_type(e) == OBJ_STRING) {
        entry_free(e);
        return;
    }
    struct lazy_item *it = calloc(1, sizeof(*it));
    if (!it)
        abort();
    it->e = e;
    enqueue(it);
}

void lazyfree_table(struct dict *d)
{
    if (dict_size(d) == 0)
        return dict_free(d, NULL);
    struct lazy_item *it = calloc(1, sizeof(*it));
    if (!it)
        abort();
    it->tables = *d;
    dict_init(d, d->seed);
    enqueue(it);
}

size_t lazyfree_pending(void)
{
    return atomic_load_explicit(&pending, memory_order_relaxed);
}
