/* Allocator accounting: figures come from jemalloc's own statistics. */
#include <jemalloc/jemalloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

static size_t stat_size(const char *name)
{
    size_t v = 0, len = sizeof(v);
    if (mallctl(name, &v, &len, NULL, 0) != 0)
        return 0;
    return v;
}

void store_mem_stats(struct mem_stats *m)
{
    uint64_t epoch = 1;
    size_t len = sizeof(epoch);
    mallctl("epoch", &epoch, &len, &epoch, len);
    m->allocated = stat_size("stats.allocated");
    m->active = stat_size("stats.active");
    m->resident = stat_size("stats.resident");

    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    m->rss = (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}
