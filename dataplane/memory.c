/* The memory limit across workers, and the MEMORY command.
 *
 * maxmemory is one limit for the whole process (store_used_memory()). Before
 * a command Redis refuses above the limit (a write that may grow memory,
 * EXEC of one, anything queued in MULTI; see dispatch.c) the client's worker
 * checks it. Over it:
 *  - with noeviction the command is refused with Redis's OOM error;
 *  - otherwise the worker takes every shard (the multi-shard mechanism,
 *    shards.c) and evicts from each in proportion to the keys it holds, so
 *    the shard that holds most of the data gives up most, until memory is
 *    EVICT_SLACK below the limit (so a flood does not take every shard on
 *    every write), within maxmemory-eviction-tenacity's time budget. If
 *    nothing could be evicted (a volatile policy and no key with an
 *    expiry), the command is refused with OOM, as Redis does; running out
 *    of time is not a refusal, the next write goes on evicting.
 * So under a write flood used memory stays within one command's growth of
 * maxmemory, plus what a pipeline of writes admitted before an eviction
 * burst finished adds: the tests hold it to max(1 MB, maxmemory / 64).
 */
#include <jemalloc/jemalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "server.h"

static size_t evict_slack(void)
{
    size_t s = (size_t)store_evict.maxmemory / 128;
    return s < 256 * 1024 ? s : 256 * 1024;
}

/* Redis's eviction time limit: 50 us per tenacity step up to 10, then
 * growing 15% per step; 100 is unlimited. */
static uint64_t budget_us(void)
{
    int t = store_evict.tenacity;
    if (t <= 10)
        return 50 * (uint64_t)t;
    if (t >= 100)
        return UINT64_MAX / 2;
    double us = 500;
    for (int i = 10; i < t; i++)
        us *= 1.15;
    return (uint64_t)us;
}

static uint64_t shard_keys(const struct shard *s)
{
    uint64_t n = 0;
    for (int i = 0; i < s->ndb; i++)
        n += dict_size(&s->db[i].keys);
    return n;
}

bool mem_admit(struct worker *w)
{
    /* A snapshot's pieces do not count, as Redis leaves its buffers out. */
    size_t used = store_used_memory(), max = (size_t)store_evict.maxmemory;
    size_t snap = snapshot_buffered();
    used = used > snap ? used - snap : 0;
    if (used <= max)
        return true;
    if (store_evict.policy == EVICT_NOEVICTION)
        return false;
    uint64_t all = server.nworkers >= 64 ? ~0ull : (1ull << server.nworkers) - 1;
    if (server.nworkers > 1 && !shards_acquire(w, all))
        return false;
    size_t want = used - max + evict_slack(), freed = 0;
    uint64_t keys = 0;
    for (int i = 0; i < server.nworkers; i++)
        keys += shard_keys(server.workers[i].shard);
    uint64_t budget = budget_us() / (uint64_t)server.nworkers + 1;
    for (int i = 0; i < server.nworkers && keys; i++) {
        struct shard *s = server.workers[i].shard;
        double part = (double)shard_keys(s) / (double)keys;
        freed += shard_evict(s, (size_t)((double)want * part) + 1, budget);
    }
    if (server.nworkers > 1)
        shards_release(w, all);
    return freed > 0;
}

/* ---- maxmemory-clients ----
 * Each worker counts its own clients' buffers at its cron and publishes the
 * sum; the total over workers is compared with the limit, and each worker
 * over it closes its biggest client (one per cron tick), as Redis's client
 * eviction does biggest first. */

static size_t client_mem(const struct client *c)
{
    return sizeof(*c) + c->qcap + c->reply.bytes;
}

void mem_clients_cron(struct worker *w)
{
    size_t mine = 0;
    struct client *big = NULL;
    for (struct client *c = w->clients; c; c = c->next) {
        mine += client_mem(c);
        if (!(c->flags & CL_CLOSING) && (!big || client_mem(c) > client_mem(big)))
            big = c;
    }
    atomic_store_explicit(&w->client_mem, mine, memory_order_relaxed);
    long long limit = atomic_load_explicit(&server.maxmemory_clients, memory_order_relaxed);
    if (limit <= 0 || !big)
        return;
    size_t total = 0;
    for (int i = 0; i < server.nworkers; i++)
        total += atomic_load_explicit(&server.workers[i].client_mem, memory_order_relaxed);
    if (total > (size_t)limit)
        client_close(big, "client memory above maxmemory-clients");
}

/* ---- figures (INFO memory, MEMORY STATS, MEMORY DOCTOR) ---- */

static size_t peak;
size_t mem_startup;

/* The bucket arrays of db d of a worker's shard. */
static size_t table_bytes(const struct worker *w, int d)
{
    const struct dict *t = &w->shard->db[d].keys;
    return (size_t)(t->size[0] + t->size[1]) * sizeof(struct entry *);
}

void mem_figures(struct mem_figures *f)
{
    struct mem_stats m;
    store_mem_stats(&m);
    memset(f, 0, sizeof(*f));
    f->used = store_used_memory();
    if (f->used > peak)
        peak = f->used;
    f->peak = peak;
    f->startup = mem_startup;
    f->rss = m.rss;
    f->allocated = m.allocated;
    f->active = m.active;
    f->resident = m.resident;
    /* Every other worker is parked while the caller holds all shards
     * (CMD_KEYSPACE), so their clients and tables can be read. */
    for (int i = 0; i < server.nworkers; i++) {
        struct worker *w = &server.workers[i];
        for (struct client *c = w->clients; c; c = c->next)
            f->clients += sizeof(*c) + c->qcap + c->reply.bytes;
        for (int d = 0; d < w->shard->ndb; d++) {
            f->keys += dict_size(&w->shard->db[d].keys);
            f->tables += table_bytes(w, d);
        }
    }
    f->overhead = f->startup + f->clients + f->tables;
    f->dataset = f->used > f->overhead ? f->used - f->overhead : 0;
}

void mem_reset_peak(void) { peak = 0; }

/* ---- MEMORY ---- */

static const char *const memory_help[] = {
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
};

/* MEMORY USAGE key [SAMPLES n]: the bytes the entry and its value hold as
 * allocated (exact: sluice measures instead of sampling, so SAMPLES is
 * checked and otherwise ignored), plus the key table's slot for it. */
static void memory_usage(struct cmd_ctx *c)
{
    for (int i = 3; i < c->argc; i++) {
        long long n;
        if (!arg_is(c, i, "samples") || i + 1 >= c->argc)
            return reply_error(c->out, ERR_SYNTAX);
        if (!arg_ll(c, ++i, &n, NULL))
            return;
        if (n < 0)
            return reply_error(c->out, ERR_SYNTAX);
    }
    struct entry *e = key_lookup(c, 2, LOOKUP_NOTOUCH, NULL);
    if (!e)
        return reply_null(c->out);
    reply_int(c->out, (long long)(entry_mem(e) + sizeof(struct entry *)));
}

static void stat_int(struct reply *r, const char *name, long long v)
{
    reply_bulk_cstr(r, name);
    reply_int(r, v);
}

static void stat_double(struct reply *r, const char *name, double v)
{
    reply_bulk_cstr(r, name);
    reply_double(r, v);
}

static double ratio(size_t a, size_t b) { return b ? (double)a / (double)b : 0; }

static void memory_stats(struct cmd_ctx *c)
{
    struct mem_figures f;
    mem_figures(&f);
    int ndb = server.workers[0].shard->ndb, nonempty = 0;
    size_t *dbt = calloc((size_t)ndb, sizeof(*dbt));
    if (!dbt)
        abort();
    for (int d = 0; d < ndb; d++) {
        bool keys = false;
        for (int i = 0; i < server.nworkers; i++) {
            dbt[d] += table_bytes(&server.workers[i], d);
            keys |= dict_size(&server.workers[i].shard->db[d].keys) > 0;
        }
        if (!keys)
            dbt[d] = 0;
        nonempty += keys;
    }
    struct reply *r = c->out;
    reply_map(r, 27 + nonempty + server.nworkers);
    stat_int(r, "peak.allocated", (long long)f.peak);
    stat_int(r, "total.allocated", (long long)f.used);
    stat_int(r, "startup.allocated", (long long)f.startup);
    stat_int(r, "replication.backlog", 0);
    stat_int(r, "clients.slaves", 0);
    stat_int(r, "clients.normal", (long long)f.clients);
    stat_int(r, "cluster.links", 0);
    stat_int(r, "aof.buffer", 0);
    stat_int(r, "lua.caches", 0);
    stat_int(r, "functions.caches", 0);
    for (int d = 0; d < ndb; d++) {
        if (!dbt[d])
            continue;
        char name[32];
        snprintf(name, sizeof(name), "db.%d", d);
        reply_bulk_cstr(r, name);
        reply_map(r, 2);
        stat_int(r, "overhead.hashtable.main", (long long)dbt[d]);
        stat_int(r, "overhead.hashtable.expires", 0);
    }
    free(dbt);
    for (int i = 0; i < server.nworkers; i++) {
        char name[48];
        snprintf(name, sizeof(name), "shard.%d.allocated", i);
        stat_int(r, name, (long long)store_arena_allocated(server.workers[i].shard->arena));
    }
    stat_int(r, "overhead.total", (long long)f.overhead);
    stat_int(r, "keys.count", (long long)f.keys);
    stat_int(r, "keys.bytes-per-key",
             f.keys ? (long long)((f.used > f.startup ? f.used - f.startup : 0) / f.keys) : 0);
    stat_int(r, "dataset.bytes", (long long)f.dataset);
    stat_double(r, "dataset.percentage",
                100.0 * ratio(f.dataset, f.used > f.startup ? f.used - f.startup : 0));
    stat_double(r, "peak.percentage", 100.0 * ratio(f.used, f.peak));
    stat_int(r, "allocator.allocated", (long long)f.allocated);
    stat_int(r, "allocator.active", (long long)f.active);
    stat_int(r, "allocator.resident", (long long)f.resident);
    stat_double(r, "allocator-fragmentation.ratio", ratio(f.active, f.allocated));
    stat_int(r, "allocator-fragmentation.bytes", (long long)f.active - (long long)f.allocated);
    stat_double(r, "allocator.rss-ratio", ratio(f.resident, f.active));
    stat_int(r, "allocator.rss-bytes", (long long)f.resident - (long long)f.active);
    stat_double(r, "rss-overhead.ratio", ratio(f.rss, f.resident));
    stat_int(r, "rss-overhead.bytes", (long long)f.rss - (long long)f.resident);
    stat_double(r, "fragmentation", ratio(f.rss, f.used));
    stat_int(r, "fragmentation.bytes", (long long)f.rss - (long long)f.used);
}

/* Plain-language advice from the real figures. */
static void memory_doctor(struct cmd_ctx *c)
{
    struct mem_figures f;
    mem_figures(&f);
    char buf[2048];
    size_t n = 0;
    uint64_t evicted = 0;
    for (int i = 0; i < server.nworkers; i++)
        evicted += server.workers[i].shard->stats.evicted_keys;
#define SAY(...) n += (size_t)snprintf(buf + n, sizeof(buf) - n, __VA_ARGS__)
    if (f.used < 5 * 1024 * 1024) {
        SAY("This instance holds very little data (%zu bytes): there is nothing to diagnose "
            "yet.",
            f.used);
    } else {
        double frag = ratio(f.rss, f.used);
        if (frag > 1.5)
            SAY("* Fragmentation is high: the process holds %.2f times the memory its data "
                "uses (%zu bytes more). MEMORY PURGE returns free pages to the system; "
                "a workload that deletes many keys of one size and writes others often "
                "causes this.\n",
                frag, f.rss - f.used);
        if (f.peak > f.used + f.used / 2)
            SAY("* The peak (%zu bytes) is far above current use (%zu bytes): memory was "
                "freed since, and RSS may stay near the peak until the allocator returns "
                "it.\n",
                f.peak, f.used);
        if (store_evict.maxmemory && evicted)
            SAY("* %llu keys were evicted to stay under maxmemory (%lld bytes): if hits "
                "drop (keyspace_misses in INFO stats), the limit is too low for the "
                "working set.\n",
                (unsigned long long)evicted, store_evict.maxmemory);
        if (f.keys && f.dataset / f.keys > 1024 * 1024)
            SAY("* The average key holds %zu bytes: big keys make eviction and deletion "
                "coarse; UNLINK frees them in the background.\n",
                f.dataset / f.keys);
        if (f.clients > 64 * 1024 * 1024)
            SAY("* Client buffers hold %zu bytes: some clients send faster than commands "
                "run, or read replies slowly.\n",
                f.clients);
        if (n == 0)
            SAY("No memory problem found: fragmentation %.2f, peak %zu bytes, %llu keys "
                "evicted.",
                frag, f.peak, (unsigned long long)evicted);
    }
#undef SAY
    reply_verbatim(c->out, buf, n, "txt");
}

static void malloc_stats_out(void *arg, const char *s)
{
    struct sbuf **b = arg;
    size_t len = strlen(s), at = (*b)->len;
    *b = sbuf_resize(*b, at + len);
    memcpy((*b)->data + at, s, len);
}

void cmd_memory(struct cmd_ctx *c)
{
    if (arg_is(c, 1, "usage"))
        return memory_usage(c);
    if (c->argc != 2)
        return reply_errorf(c->out,
                            "ERR unknown subcommand or wrong number of arguments for '%.*s'. "
                            "Try MEMORY HELP.",
                            (int)(c->argv[1].len > 128 ? 128 : c->argv[1].len), c->argv[1].ptr);
    if (arg_is(c, 1, "stats"))
        return memory_stats(c);
    if (arg_is(c, 1, "doctor"))
        return memory_doctor(c);
    if (arg_is(c, 1, "purge")) {
        char name[64];
        snprintf(name, sizeof(name), "arena.%u.purge", (unsigned)MALLCTL_ARENAS_ALL);
        mallctl(name, NULL, NULL, NULL, 0);
        return reply_ok(c->out);
    }
    if (arg_is(c, 1, "malloc-stats")) {
        struct sbuf *b = sbuf_new(NULL, 0);
        malloc_stats_print(malloc_stats_out, &b, NULL);
        reply_verbatim(c->out, b->data, b->len, "txt");
        free(b);
        return;
    }
    size_t n = sizeof(memory_help) / sizeof(memory_help[0]);
    reply_array(c->out, (long long)n);
    for (size_t i = 0; i < n; i++)
        reply_simple(c->out, memory_help[i]);
}
