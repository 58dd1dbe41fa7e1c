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

/* One jemalloc arena per shard: its worker thread binds itself to a new
 * arena, so what the shard allocates on its own thread (nearly all of its
 * memory; a multi-shard command run by another worker allocates in that
 * worker's arena) is counted there, with the arena's tcache in front. */
int store_arena_bind(void)
{
    unsigned arena;
    size_t len = sizeof(arena);
    if (mallctl("arenas.create", &arena, &len, NULL, 0) ||
        mallctl("thread.arena", NULL, NULL, &arena, sizeof(arena)))
        return -1;
    return (int)arena;
}

size_t store_arena_allocated(int arena)
{
    if (arena < 0)
        return 0;
    uint64_t epoch = 1;
    size_t len = sizeof(epoch);
    mallctl("epoch", &epoch, &len, &epoch, len);
    char name[64];
    snprintf(name, sizeof(name), "stats.arenas.%d.small.allocated", arena);
    size_t small = stat_size(name);
    snprintf(name, sizeof(name), "stats.arenas.%d.large.allocated", arena);
    return small + stat_size(name);
}

/* Return an arena's freed pages to the system once more than `threshold`
 * bytes of them have gathered (a rehashed table, a pipeline's buffers):
 * jemalloc would keep them for its decay time (10 s), which shows as RSS
 * well above used memory. Called from the worker's cron; the purge costs
 * an madvise over those pages only. */
void store_arena_trim(int arena, size_t threshold)
{
    if (arena < 0 || lazyfree_pending())
        return;
    uint64_t epoch = 1;
    size_t len = sizeof(epoch);
    mallctl("epoch", &epoch, &len, &epoch, len);
    char name[64];
    snprintf(name, sizeof(name), "stats.arenas.%d.pdirty", arena);
    if (stat_size(name) * (size_t)sysconf(_SC_PAGESIZE) <= threshold)
        return;
    snprintf(name, sizeof(name), "arena.%d.purge", arena);
    mallctl(name, NULL, NULL, NULL, 0);
}

