/* hiccup: how long a CPU is taken away from a thread that never sleeps.
 *
 *   hiccup SECONDS [CPU]
 *
 * Spins on one CPU (pinned when CPU is given) reading the clock; any gap
 * between two reads longer than 20 us is a stall (the hypervisor or the
 * kernel ran something else). Prints one JSON object: the stall count and
 * percentiles of their lengths, and the share of wall time inside stalls
 * longer than 200 us and 1 ms. A request arriving during a stall waits for
 * its end, so when that share is above 0.1% no server on this CPU can have
 * a p99.9 below about the stall length: it is the latency floor of the
 * machine, not of the server. */
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "histogram.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 2 || atof(argv[1]) <= 0) {
        fprintf(stderr, "usage: %s SECONDS [CPU]\n", argv[0]);
        return 2;
    }
    if (argc > 2) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(atoi(argv[2]), &set);
        if (sched_setaffinity(0, sizeof(set), &set) != 0) {
            perror("sched_setaffinity");
            return 1;
        }
    }
    static struct hist h;
    hist_init(&h);
    uint64_t start = now_ns(), end = start + (uint64_t)(atof(argv[1]) * 1e9), prev = start;
    uint64_t over200 = 0, over1000 = 0;
    for (uint64_t t = start; t < end; prev = t) {
        t = now_ns();
        uint64_t gap = t - prev;
        if (gap > 20000) {
            hist_record(&h, gap);
            if (gap > 200000)
                over200 += gap;
            if (gap > 1000000)
                over1000 += gap;
        }
    }
    double wall = (double)(now_ns() - start);
    printf("{\"seconds\": %.1f, \"stalls_over_20us\": %" PRIu64 ", \"stall_us\": {\"p50\": %.1f, "
           "\"p99\": %.1f, \"max\": %.1f}, \"time_in_stalls_over_200us_pct\": %.4f, "
           "\"time_in_stalls_over_1ms_pct\": %.4f}\n",
           wall / 1e9, h.total, h.total ? (double)hist_quantile(&h, 0.5) / 1e3 : 0,
           h.total ? (double)hist_quantile(&h, 0.99) / 1e3 : 0, h.total ? (double)h.max / 1e3 : 0,
           100 * (double)over200 / wall, 100 * (double)over1000 / wall);
    return 0;
}
