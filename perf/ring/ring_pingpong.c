/* ring-pingpong: the cost of one cross-shard hop on the rings themselves.
 *
 * Two threads, each pinned to its own CPU, pass one message back and forth
 * over a pair of the dataplane's SPSC rings (dataplane/ring.c), spinning on
 * the consumer side as a busy-polling worker does. Half a round trip is the
 * floor of a cross-shard hop: the message's cache lines move to the other
 * core and back. What a real hop adds on top (the owner's loop turn, the
 * doorbell when it sleeps, copying the request and the reply) is measured
 * end to end by perf/shards.py.
 *
 * usage: ring-pingpong [CPU_A CPU_B [ROUND_TRIPS]]   (defaults 0 1 2000000)
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ring.h"

static struct ring *ab, *ba;
static long trips = 2000000;

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
        fprintf(stderr, "could not pin to CPU %d\n", cpu);
}

static void *echo(void *arg)
{
    pin(*(int *)arg);
    for (long i = 0; i < trips; i++) {
        void *m;
        while (!(m = ring_pop(ab)))
            ;
        while (!ring_push(ba, m))
            ;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int a = argc > 2 ? atoi(argv[1]) : 0, b = argc > 2 ? atoi(argv[2]) : 1;
    if (argc > 3)
        trips = atol(argv[3]);
    ab = ring_new(1024);
    ba = ring_new(1024);
    if (!ab || !ba)
        return 1;
    pthread_t t;
    pthread_create(&t, NULL, echo, &b);
    pin(a);
    static int token = 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < trips; i++) {
        while (!ring_push(ab, &token))
            ;
        while (!ring_pop(ba))
            ;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(t, NULL);
    double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    printf("CPUs %d and %d: %ld round trips, %.1f ns per round trip, %.1f ns per hop\n", a, b,
           trips, ns / (double)trips, ns / (double)trips / 2);
    ring_free(ab);
    ring_free(ba);
    return 0;
}
