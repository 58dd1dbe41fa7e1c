/* Unit tests for the key table (store/dict.c): chained hashing with
 * incremental rehash, SCAN's reverse-binary cursor, random sampling.
 *
 * Besides the public calls, the tests read struct dict directly to check the
 * table's invariants (every entry in the bucket its hash names, buckets below
 * rehashidx empty, used == number of entries) and to look keys up without
 * the rehash step dict_find_ref takes, so "findable mid-rehash" is checked
 * while the rehash really is in progress.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define SEED 0x5eed5eed12345678ULL

static int keyname(char *buf, size_t cap, const char *prefix, long i)
{
    return snprintf(buf, cap, "%s:%ld", prefix, i);
}

static struct entry *make(const char *prefix, long i, const char *val)
{
    char k[64];
    int kl = keyname(k, sizeof(k), prefix, i);
    return entry_new_string(k, kl, val, strlen(val), -1, STR_SET);
}

static void add(struct dict *d, const char *prefix, long i, const char *val)
{
    dict_add(d, make(prefix, i, val));
}

static struct entry **find(struct dict *d, const char *prefix, long i)
{
    char k[64];
    int kl = keyname(k, sizeof(k), prefix, i);
    return dict_find_ref(d, k, kl);
}

/* Look a key up in both tables without doing any rehash work. */
static struct entry *peek(const struct dict *d, const char *prefix, long i)
{
    char k[64];
    int kl = keyname(k, sizeof(k), prefix, i);
    uint64_t h = store_hash(d->seed, k, kl);
    for (int t = 0; t < 2; t++) {
        if (!d->size[t])
            continue;
        for (struct entry *e = d->table[t][h & (d->size[t] - 1)]; e; e = e->next) {
            size_t el;
            const char *ek = entry_key(e, &el);
            if (el == (size_t)kl && memcmp(ek, k, kl) == 0)
                return e;
        }
    }
    return NULL;
}

/* Which table holds e (it must be in one). */
static int table_of(const struct dict *d, const struct entry *e)
{
    size_t kl;
    const char *k = entry_key(e, &kl);
    uint64_t h = store_hash(d->seed, k, kl);
    for (int t = 0; t < 2; t++) {
        if (!d->size[t])
            continue;
        for (struct entry *p = d->table[t][h & (d->size[t] - 1)]; p; p = p->next)
            if (p == e)
                return t;
    }
    cr_assert_fail("entry is in neither table");
    return -1;
}

static bool del(struct dict *d, const char *prefix, long i)
{
    struct entry **ref = find(d, prefix, i);
    if (!ref)
        return false;
    entry_free(dict_unlink(d, ref));
    return true;
}

static bool is_rehashing(const struct dict *d) { return d->rehashidx >= 0; }

/* The table's structural invariants. */
static void check_invariants(const struct dict *d)
{
    uint64_t n = 0;
    for (int t = 0; t < 2; t++) {
        if (t == 1 && !is_rehashing(d)) {
            cr_assert_null(d->table[1]);
            cr_assert_eq(d->size[1], 0);
            break;
        }
        if (d->size[t])
            cr_assert_eq(d->size[t] & (d->size[t] - 1), 0, "size %lu is a power of two",
                         (unsigned long)d->size[t]);
        for (uint64_t b = 0; b < d->size[t]; b++) {
            if (t == 0 && is_rehashing(d) && b < (uint64_t)d->rehashidx)
                cr_assert_null(d->table[0][b], "bucket %lu below rehashidx is empty",
                               (unsigned long)b);
            for (struct entry *e = d->table[t][b]; e; e = e->next) {
                size_t kl;
                const char *k = entry_key(e, &kl);
                cr_assert_eq(store_hash(d->seed, k, kl) & (d->size[t] - 1), b,
                             "entry in the bucket its hash names");
                n++;
            }
        }
    }
    cr_assert_eq(n, d->used, "%lu entries, used says %lu", (unsigned long)n,
                 (unsigned long)d->used);
}

static void check_value(struct entry *e, const char *want)
{
    char buf[32];
    size_t n;
    const char *v = entry_str(e, &n, buf);
    cr_assert_eq(n, strlen(want));
    cr_assert_eq(memcmp(v, want, n), 0);
}

#define BIG 200000

Test(dict, inserts_finds_replaces_and_unlinks_200k_entries)
{
    struct dict d;
    char val[32];
    dict_init(&d, SEED);
    cr_assert_eq(dict_size(&d), 0);
    cr_assert_null(find(&d, "k", 1), "an empty table finds nothing");

    for (long i = 0; i < BIG; i++) {
        snprintf(val, sizeof(val), "v%ld", i);
        add(&d, "k", i, val);
    }
    cr_assert_eq(dict_size(&d), BIG);
    check_invariants(&d);
    for (long i = 0; i < BIG; i++) {
        struct entry **ref = find(&d, "k", i);
        cr_assert_not_null(ref, "key %ld is found", i);
        snprintf(val, sizeof(val), "v%ld", i);
        check_value(*ref, val);
        size_t kl;
        char k[64];
        keyname(k, sizeof(k), "k", i);
        const char *ek = entry_key(*ref, &kl);
        cr_assert_eq(kl, strlen(k));
        cr_assert_eq(memcmp(ek, k, kl), 0);
    }
    for (long i = 0; i < 1000; i++)
        cr_assert_null(find(&d, "absent", i));

    /* Replace every even key with an integer value. */
    for (long i = 0; i < BIG; i += 2) {
        struct entry **ref = find(&d, "k", i);
        struct entry *old = *ref;
        snprintf(val, sizeof(val), "%ld", i * 3);
        dict_replace(ref, make("k", i, val));
        entry_free(old);
    }
    cr_assert_eq(dict_size(&d), BIG, "replacing does not change the count");
    check_invariants(&d);

    /* Unlink every third key. */
    long removed = 0;
    for (long i = 0; i < BIG; i += 3) {
        cr_assert(del(&d, "k", i));
        removed++;
    }
    cr_assert_eq(dict_size(&d), BIG - removed);
    check_invariants(&d);
    for (long i = 0; i < BIG; i++) {
        struct entry **ref = find(&d, "k", i);
        if (i % 3 == 0) {
            cr_assert_null(ref, "unlinked key %ld is gone", i);
            continue;
        }
        cr_assert_not_null(ref, "key %ld survives", i);
        if (i % 2 == 0)
            snprintf(val, sizeof(val), "%ld", i * 3);
        else
            snprintf(val, sizeof(val), "v%ld", i);
        check_value(*ref, val);
    }
    cr_assert_not(del(&d, "k", 0), "unlinking twice finds nothing");

    dict_free(&d, entry_free);
    cr_assert_eq(dict_size(&d), 0);
    cr_assert_null(find(&d, "k", 1));
}

Test(dict, grows_incrementally_and_finds_every_key_mid_rehash)
{
    struct dict d;
    dict_init(&d, SEED);
    uint64_t last_size = 0;
    int grows = 0;
    bool saw_rehash_with_keys = false;

    for (long i = 0; i < BIG; i++) {
        add(&d, "g", i, "x");
        if (d.size[0] != last_size || is_rehashing(&d)) {
            uint64_t target = is_rehashing(&d) ? d.size[1] : d.size[0];
            if (target > last_size) {
                grows++;
                last_size = target;
            }
        }
        /* Never more than one resize at a time, and only growing. */
        if (is_rehashing(&d)) {
            cr_assert_gt(d.size[1], d.size[0]);
            saw_rehash_with_keys = saw_rehash_with_keys || i > 1000;
        }
    }
    cr_assert_geq(grows, 15, "the table doubled many times (%d)", grows);
    cr_assert(saw_rehash_with_keys);
    check_invariants(&d);

    /* Start a fresh grow and walk it to the end in small steps, checking
     * that every key is where a lookup can see it at every stage. */
    while (dict_rehash(&d, 1000))
        ;
    long n = BIG;
    while (!is_rehashing(&d))
        add(&d, "g", n++, "x");
    cr_assert_eq(d.size[1], d.size[0] * 2);
    int stages = 0;
    while (is_rehashing(&d)) {
        check_invariants(&d);
        for (long i = 0; i < n; i++)
            cr_assert_not_null(peek(&d, "g", i), "key %ld visible at rehashidx %ld", i,
                               (long)d.rehashidx);
        /* dict_find_ref itself advances the rehash; sample it too. */
        for (long i = stages; i < n; i += 997)
            cr_assert_not_null(find(&d, "g", i));
        stages++;
        dict_rehash(&d, (int)(d.size[0] / 16));
    }
    cr_assert_geq(stages, 8);
    check_invariants(&d);
    for (long i = 0; i < n; i++)
        cr_assert_not_null(find(&d, "g", i));
    dict_free(&d, entry_free);
}

Test(dict, adds_during_rehash_land_in_the_new_table_and_stay_findable)
{
    struct dict d;
    dict_init(&d, SEED);
    long n = 0;
    while (!is_rehashing(&d) || d.size[0] < 1024)
        add(&d, "a", n++, "x");
    long first_new = n;
    for (int i = 0; i < 50 && is_rehashing(&d); i++)
        add(&d, "a", n++, "y");
    for (long i = first_new; i < n; i++) {
        if (!is_rehashing(&d))
            break;
        char k[64];
        int kl = keyname(k, sizeof(k), "a", i);
        uint64_t h = store_hash(d.seed, k, kl);
        bool in_new = false;
        for (struct entry *e = d.table[1][h & (d.size[1] - 1)]; e; e = e->next)
            in_new = in_new || e == peek(&d, "a", i);
        cr_assert(in_new, "key %ld added during rehash is in the new table", i);
    }
    for (long i = 0; i < n; i++)
        cr_assert_not_null(find(&d, "a", i));
    dict_free(&d, entry_free);
}

/* The table grows at two entries per bucket and shrinks below a tenth of
 * that, a fifth of an entry per bucket (dict.c). */
Test(dict, shrinks_when_less_than_a_tenth_of_its_growth_load)
{
    struct dict d;
    dict_init(&d, SEED);
    const long n = 100000;
    for (long i = 0; i < n; i++)
        add(&d, "s", i, "x");
    while (dict_rehash(&d, 1000))
        ;
    uint64_t big = d.size[0];

    /* A fifth of an entry per bucket or more: no shrink. */
    long keep = (long)((big + 4) / 5);
    for (long i = keep; i < n; i++)
        cr_assert(del(&d, "s", i));
    dict_resize_if_needed(&d);
    cr_assert_not(is_rehashing(&d), "%lu of %lu buckets used", (unsigned long)d.used,
                  (unsigned long)big);
    cr_assert_eq(d.size[0], big);

    /* Below: shrink to the smallest power of two that holds them. */
    long left = keep - 1;
    cr_assert(del(&d, "s", left));
    dict_resize_if_needed(&d);
    cr_assert(is_rehashing(&d));
    uint64_t want = 4;
    while (want < (uint64_t)left)
        want <<= 1;
    cr_assert_eq(d.size[1], want);
    int stages = 0;
    while (is_rehashing(&d)) {
        check_invariants(&d);
        for (long i = 0; i < left; i++)
            cr_assert_not_null(peek(&d, "s", i), "key %ld visible mid-shrink", i);
        stages++;
        dict_rehash(&d, 300);
    }
    cr_assert_geq(stages, 3);
    cr_assert_eq(d.size[0], want);
    check_invariants(&d);
    for (long i = 0; i < left; i++)
        cr_assert_not_null(find(&d, "s", i));
    for (long i = left; i < n; i++)
        cr_assert_null(find(&d, "s", i));

    /* Emptied down to the minimum size, and no further. */
    for (long i = 0; i < left; i++)
        cr_assert(del(&d, "s", i));
    dict_resize_if_needed(&d);
    while (dict_rehash(&d, 100))
        ;
    cr_assert_eq(d.size[0], 4);
    cr_assert_eq(dict_size(&d), 0);
    dict_resize_if_needed(&d);
    cr_assert_not(is_rehashing(&d));
    cr_assert_eq(d.size[0], 4);

    /* An emptied table grows again. */
    for (long i = 0; i < 100; i++)
        add(&d, "t", i, "x");
    for (long i = 0; i < 100; i++)
        cr_assert_not_null(find(&d, "t", i));
    check_invariants(&d);
    dict_free(&d, entry_free);
}

Test(dict, rehash_reports_whether_work_remains)
{
    struct dict d;
    dict_init(&d, SEED);
    cr_assert_not(dict_rehash(&d, 10), "nothing to do when not rehashing");
    long n = 0;
    while (!is_rehashing(&d) || d.size[0] < 4096)
        add(&d, "r", n++, "x");
    cr_assert(dict_rehash(&d, 1));
    while (dict_rehash(&d, 1))
        ;
    cr_assert_not(is_rehashing(&d));
    cr_assert_null(d.table[1]);
    check_invariants(&d);
    dict_free(&d, entry_free);
}

/* ---- SCAN ---- */

struct seen {
    unsigned char *hits; /* per key id */
    long n;
    long visits;
};

static void scan_cb(void *arg, struct entry *e)
{
    struct seen *s = arg;
    size_t kl;
    const char *k = entry_key(e, &kl);
    char buf[64];
    cr_assert_lt(kl, sizeof(buf));
    memcpy(buf, k, kl);
    buf[kl] = '\0';
    long id = strtol(strchr(buf, ':') + 1, NULL, 10);
    cr_assert(id >= 0 && id < s->n, "visited key %s exists", buf);
    if (s->hits[id] < 255)
        s->hits[id]++;
    s->visits++;
}

Test(dict, scan_of_a_stable_table_visits_every_key_exactly_once)
{
    struct dict d;
    dict_init(&d, SEED);
    cr_assert_eq(dict_scan(&d, 0, scan_cb, NULL), 0, "an empty table ends at once");
    const long n = 5000;
    for (long i = 0; i < n; i++)
        add(&d, "k", i, "x");
    while (dict_rehash(&d, 1000))
        ;
    struct seen s = {.hits = calloc(n, 1), .n = n};
    uint64_t cur = 0;
    long calls = 0;
    do {
        cur = dict_scan(&d, cur, scan_cb, &s);
        calls++;
    } while (cur);
    cr_assert_eq((uint64_t)calls, d.size[0], "one call per bucket");
    for (long i = 0; i < n; i++)
        cr_assert_eq(s.hits[i], 1, "key %ld visited %d times", i, s.hits[i]);
    free(s.hits);
    dict_free(&d, entry_free);
}

/* Scan while mutate() changes the table between calls; every key that was
 * present for the whole iteration must be visited. present[i] is 1 while key
 * i is in the table; stable[i] stays 1 only if it never left. */
struct scan_run {
    struct dict d;
    long n;            /* key ids in use: [0, n) */
    unsigned char *present, *stable;
    long ncap;
};

static void run_add(struct scan_run *r)
{
    cr_assert_lt(r->n, r->ncap);
    add(&r->d, "k", r->n, "x");
    r->present[r->n] = 1;
    r->stable[r->n] = 0; /* not present from the start */
    r->n++;
}

static void run_del(struct scan_run *r, long id)
{
    if (!r->present[id])
        return;
    cr_assert(del(&r->d, "k", id));
    r->present[id] = 0;
    r->stable[id] = 0;
}

static void scan_under_mutation(struct scan_run *r, void (*mutate)(struct scan_run *, long),
                                bool *saw_rehash)
{
    struct seen s = {.hits = calloc(r->ncap, 1), .n = r->ncap};
    uint64_t cur = 0;
    long call = 0;
    do {
        cur = dict_scan(&r->d, cur, scan_cb, &s);
        mutate(r, call++);
        *saw_rehash = *saw_rehash || is_rehashing(&r->d);
        cr_assert_lt(call, 10000000);
    } while (cur);
    long stable = 0;
    for (long i = 0; i < r->n; i++) {
        if (r->stable[i]) {
            stable++;
            cr_assert_geq(s.hits[i], 1, "key %ld present throughout was not visited", i);
        }
    }
    cr_assert_gt(stable, 0);
    free(s.hits);
}

static void scan_run_init(struct scan_run *r, long initial, long cap)
{
    dict_init(&r->d, SEED);
    r->ncap = cap;
    r->present = calloc(cap, 1);
    r->stable = calloc(cap, 1);
    r->n = 0;
    for (long i = 0; i < initial; i++)
        run_add(r);
    memset(r->stable, 1, initial);
    while (dict_rehash(&r->d, 1000))
        ;
}

static void scan_run_free(struct scan_run *r)
{
    dict_free(&r->d, entry_free);
    free(r->present);
    free(r->stable);
}

/* Between scan calls: add keys (so the table doubles repeatedly), drop
 * the even original keys, and look keys up (each lookup is a rehash
 * step). */
static void mutate_grow(struct scan_run *r, long call)
{
    for (int i = 0; i < 4 && r->n < 64000; i++)
        run_add(r);
    if (call % 3 == 0)
        run_del(r, (call * 7919) % 1000 & ~1L); /* odd originals stay */
    find(&r->d, "k", call % r->n);
}

Test(dict, scan_visits_every_key_present_throughout_while_the_table_grows)
{
    struct scan_run r;
    bool saw_rehash = false;
    scan_run_init(&r, 1000, 64000);
    uint64_t before = r.d.size[0];
    scan_under_mutation(&r, mutate_grow, &saw_rehash);
    cr_assert(saw_rehash, "a rehash was in progress between calls");
    cr_assert_geq(r.d.size[0], before * 8, "the table grew several times during the scan");
    check_invariants(&r.d);
    scan_run_free(&r);
}

/* Between scan calls: delete nine keys in ten, shrink when the cron would,
 * and do a little rehash work, so SCAN sees shrinks both finished and in
 * progress; add a few new keys too. */
static void mutate_shrink(struct scan_run *r, long call)
{
    for (int i = 0; i < 40; i++) {
        long id = (call * 40 + i) * 7 % 20000;
        if (id % 10)
            run_del(r, id);
    }
    if (call % 5 == 0)
        run_add(r);
    dict_resize_if_needed(&r->d);
    dict_rehash(&r->d, 2);
}

Test(dict, scan_visits_every_key_present_throughout_while_the_table_shrinks)
{
    struct scan_run r;
    bool saw_rehash = false;
    scan_run_init(&r, 20000, 40000);
    uint64_t before = r.d.size[0];
    scan_under_mutation(&r, mutate_shrink, &saw_rehash);
    cr_assert(saw_rehash, "a shrink was in progress between calls");
    uint64_t after = is_rehashing(&r.d) ? r.d.size[1] : r.d.size[0];
    cr_assert_leq(after * 4, before, "the table shrank (%lu -> %lu)", (unsigned long)before,
                  (unsigned long)after);
    check_invariants(&r.d);
    scan_run_free(&r);
}

/* Grow, then shrink, within one iteration. */
static void mutate_both(struct scan_run *r, long call)
{
    if (call < 200) {
        for (int i = 0; i < 20; i++)
            run_add(r);
    } else {
        for (int i = 0; i < 60; i++)
            run_del(r, 500 + (call - 200) * 60 + i < r->n ? 500 + (call - 200) * 60 + i : 0);
        dict_resize_if_needed(&r->d);
    }
    dict_rehash(&r->d, 1);
}

Test(dict, scan_visits_every_key_present_throughout_a_grow_then_shrink)
{
    struct scan_run r;
    bool saw_rehash = false;
    scan_run_init(&r, 500, 200000);
    /* Keys 1..499 stay; key 0 is dropped by the shrink phase's clamp. */
    scan_under_mutation(&r, mutate_both, &saw_rehash);
    cr_assert(saw_rehash);
    check_invariants(&r.d);
    scan_run_free(&r);
}

/* ---- random, foreach, hashing ---- */

Test(dict, random_returns_members_and_covers_the_set)
{
    struct dict d;
    dict_init(&d, SEED);
    cr_assert_null(dict_random(&d), "an empty table has no random entry");
    const long n = 100;
    struct entry *members[100];
    for (long i = 0; i < n; i++) {
        members[i] = make("r", i, "x");
        dict_add(&d, members[i]);
    }
    int hits[100] = {0};
    for (int draw = 0; draw < 20000; draw++) {
        struct entry *e = dict_random(&d);
        long id = -1;
        for (long i = 0; i < n; i++)
            if (members[i] == e)
                id = i;
        cr_assert_geq(id, 0, "dict_random returned a member");
        hits[id]++;
    }
    for (long i = 0; i < n; i++)
        cr_assert_gt(hits[i], 20, "member %ld drawn %d times in 20000", i, hits[i]);
    dict_free(&d, entry_free);
}

Test(dict, random_returns_members_while_rehashing)
{
    struct dict d;
    dict_init(&d, SEED);
    long n = 0;
    while (!is_rehashing(&d) || d.size[0] < 1024)
        add(&d, "r", n++, "x");
    int from[2] = {0, 0};
    for (int draw = 0; draw < 2000; draw++) {
        struct entry *e = dict_random(&d);
        cr_assert_not_null(e);
        if (is_rehashing(&d))
            from[table_of(&d, e)]++;
        size_t kl;
        const char *k = entry_key(e, &kl);
        cr_assert(kl > 2 && memcmp(k, "r:", 2) == 0);
        char buf[32];
        memcpy(buf, k, kl);
        buf[kl] = '\0';
        long id = strtol(buf + 2, NULL, 10);
        cr_assert_eq(peek(&d, "r", id), e);
    }
    cr_assert(from[0] > 10 && from[1] > 10, "draws mid-rehash come from both tables (%d, %d)",
              from[0], from[1]);
    /* With one entry left, it is the only answer. */
    for (long i = 1; i < n; i++)
        cr_assert(del(&d, "r", i));
    struct entry *last = peek(&d, "r", 0);
    for (int draw = 0; draw < 100; draw++)
        cr_assert_eq(dict_random(&d), last);
    dict_free(&d, entry_free);
}

struct counter {
    unsigned char *hits;
    long n, visits, stop_after;
};

static int foreach_cb(void *arg, struct entry *e)
{
    struct counter *c = arg;
    size_t kl;
    const char *k = entry_key(e, &kl);
    char buf[32];
    memcpy(buf, k, kl);
    buf[kl] = '\0';
    long id = strtol(buf + 2, NULL, 10);
    cr_assert(id >= 0 && id < c->n);
    c->hits[id]++;
    c->visits++;
    return c->stop_after && c->visits == c->stop_after;
}

Test(dict, foreach_visits_every_entry_once_and_stops_on_request)
{
    struct dict d;
    dict_init(&d, SEED);
    long n = 0;
    while (!is_rehashing(&d) || d.size[0] < 2048)
        add(&d, "f", n++, "x");
    dict_rehash(&d, 100); /* part way */
    cr_assert(is_rehashing(&d));

    struct counter c = {.hits = calloc(n, 1), .n = n};
    dict_foreach(&d, foreach_cb, &c);
    cr_assert_eq(c.visits, n);
    for (long i = 0; i < n; i++)
        cr_assert_eq(c.hits[i], 1, "entry %ld visited %d times mid-rehash", i, c.hits[i]);

    memset(c.hits, 0, n);
    c.visits = 0;
    c.stop_after = 10;
    dict_foreach(&d, foreach_cb, &c);
    cr_assert_eq(c.visits, 10, "stops when the callback returns nonzero");

    struct dict empty;
    dict_init(&empty, SEED);
    c.visits = 0;
    dict_foreach(&empty, foreach_cb, &c);
    cr_assert_eq(c.visits, 0);
    free(c.hits);
    dict_free(&d, entry_free);
}

Test(store_hash, depends_on_the_seed_for_every_key_length)
{
    char key[128];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (char)(i * 31 + 7);
    for (size_t len = 0; len <= sizeof(key); len++) {
        uint64_t a = store_hash(1, key, len), b = store_hash(2, key, len);
        cr_assert_neq(a, b, "seeds 1 and 2 hash %zu bytes alike", len);
        cr_assert_neq(store_hash(SEED, key, len), store_hash(SEED ^ (1ULL << 63), key, len));
        cr_assert_eq(a, store_hash(1, key, len), "the hash is deterministic");
    }
    /* A different seed moves keys to different buckets. */
    int same = 0;
    for (long i = 0; i < 1000; i++) {
        char k[32];
        int kl = keyname(k, sizeof(k), "key", i);
        same += (store_hash(1, k, kl) & 1023) == (store_hash(2, k, kl) & 1023);
    }
    cr_assert_lt(same, 20, "%d of 1000 keys kept their bucket", same);
}

Test(store_hash, separates_keys_that_differ_in_length_or_one_bit)
{
    char a[40] = {0}, b[40] = {0};
    for (size_t len = 1; len <= sizeof(a); len++) {
        cr_assert_neq(store_hash(SEED, a, len), store_hash(SEED, a, len - 1),
                      "zero bytes of length %zu and %zu", len, len - 1);
        for (size_t bit = 0; bit < len * 8; bit++) {
            memcpy(b, a, sizeof(a));
            b[bit / 8] ^= (char)(1 << (bit % 8));
            cr_assert_neq(store_hash(SEED, a, len), store_hash(SEED, b, len));
        }
    }
}

Test(store_hash, spreads_keys_evenly_over_the_buckets)
{
    struct dict d;
    dict_init(&d, SEED);
    for (long i = 0; i < BIG; i++)
        add(&d, "key", i, "x");
    while (dict_rehash(&d, 1000))
        ;
    uint64_t longest = 0;
    for (uint64_t b = 0; b < d.size[0]; b++) {
        uint64_t len = 0;
        for (struct entry *e = d.table[0][b]; e; e = e->next)
            len++;
        if (len > longest)
            longest = len;
    }
    cr_assert_lt(longest, 12, "longest chain %lu with %lu keys in %lu buckets",
                 (unsigned long)longest, (unsigned long)d.used, (unsigned long)d.size[0]);
    dict_free(&d, entry_free);
}

static void ignore_cb(void *arg, struct entry *e)
{
    (void)arg;
    (void)e;
}

Test(dict, scan_many_visits_every_key_exactly_once_and_the_same_as_scan)
{
    struct dict d;
    dict_init(&d, SEED);
    cr_assert_eq(dict_scan_many(&d, 0, 16, scan_cb, NULL), 0, "an empty table ends at once");
    const long n = 5000;
    for (long i = 0; i < n; i++)
        add(&d, "k", i, "x");
    while (dict_rehash(&d, 1000))
        ;
    for (unsigned step = 1; step <= 100; step += 33) {
        struct seen s = {.hits = calloc(n, 1), .n = n};
        uint64_t cur = 0, single = 0;
        do {
            /* `step` buckets at once end where as many dict_scan calls do */
            for (unsigned i = 0; i < step; i++)
                if ((single = dict_scan(&d, single, ignore_cb, NULL)) == 0)
                    break;
            cur = dict_scan_many(&d, cur, step, scan_cb, &s);
            cr_assert_eq(cur, single, "step %u", step);
        } while (cur);
        for (long i = 0; i < n; i++)
            cr_assert_eq(s.hits[i], 1, "key %ld visited %d times", i, s.hits[i]);
        free(s.hits);
    }
    dict_free(&d, entry_free);
}
