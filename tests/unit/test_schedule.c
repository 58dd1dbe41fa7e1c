/* Unit tests for sluice-bench's schedule (perf/bench/schedule.c) and for the
 * property the whole tool exists for: against a server that stalls once for
 * 100 ms, an open-loop run at a fixed rate shows the stall in its p99.9
 * (every request scheduled during the stall waits for it), while a closed-loop
 * run of the same server only sees it in one sample.
 *
 * The slow server is a thread in this test on a loopback port in 7680-7699.
 * Assertions only look at the tail the stall must create, never at how fast
 * the machine is, so a busy CI box cannot make them fail.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "histogram.h"
#include "schedule.h"

#define MS 1000000ull

Test(schedule, fixed_arrivals_are_evenly_spaced_without_drift)
{
    struct sched s;
    sched_init(&s, ARRIVAL_FIXED, 3000, 1000, 1);
    uint64_t prev = sched_next(&s);
    cr_assert_eq(prev, 1000);
    for (int i = 1; i < 3000000; i++) {
        uint64_t t = sched_next(&s);
        cr_assert(t - prev == 333333 || t - prev == 333334, "gap %llu",
                  (unsigned long long)(t - prev));
        prev = t;
    }
    /* 3M requests at 3000/s end exactly 1000 s (minus one gap) after the start. */
    cr_assert_eq(sched_peek(&s), 1000 + 1000000000000ull);
}

Test(schedule, poisson_arrivals_have_the_target_mean_rate_and_replay)
{
    struct sched a, b;
    sched_init(&a, ARRIVAL_POISSON, 10000, 0, 99);
    sched_init(&b, ARRIVAL_POISSON, 10000, 0, 99);
    uint64_t last = 0;
    int short_gaps = 0;
    uint64_t prev = 0;
    for (int i = 0; i < 200000; i++) {
        last = sched_next(&a);
        cr_assert_eq(last, sched_next(&b));
        if (i && last - prev < 100000 * 0.6931)
            short_gaps++; /* P(gap < ln2 * mean) = 1/2 for an exponential */
        prev = last;
    }
    double rate = 200000 / (last / 1e9);
    cr_assert(fabs(rate - 10000) < 10000 * 0.01, "rate %.1f", rate);
    cr_assert(fabs(short_gaps / 200000.0 - 0.5) < 0.01, "median gap share %.3f",
              short_gaps / 200000.0);
}

Test(schedule, zipf_rank_frequencies_follow_the_power_law)
{
    struct zipf_table *z = zipf_table_new(1000, 1.0);
    struct rng r;
    rng_seed(&r, 5);
    static unsigned counts[1000];
    memset(counts, 0, sizeof(counts));
    for (int i = 0; i < 1000000; i++)
        counts[zipf_pick(z, &r)]++;
    double h = 0;
    for (int k = 1; k <= 1000; k++)
        h += 1.0 / k;
    /* Rank 1 has probability 1/H, rank 10 one tenth of that. */
    cr_assert(fabs(counts[0] / 1e6 - 1 / h) < 0.005, "rank 1 share %.4f", counts[0] / 1e6);
    cr_assert(fabs((double)counts[0] / counts[9] - 10) < 0.5, "ratio %.2f",
              (double)counts[0] / counts[9]);
    zipf_table_free(z);
}

Test(schedule, sequential_keys_interleave_threads_and_wrap)
{
    struct keygen g0 = { .dist = KEYS_SEQ, .space = 5, .seq_next = 0, .seq_step = 2 };
    struct keygen g1 = { .dist = KEYS_SEQ, .space = 5, .seq_next = 1, .seq_step = 2 };
    struct rng r;
    rng_seed(&r, 1);
    uint64_t want0[] = { 0, 2, 4, 1, 3 }, want1[] = { 1, 3, 0, 2, 4 };
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(keygen_next(&g0, &r), want0[i]);
        cr_assert_eq(keygen_next(&g1, &r), want1[i]);
    }
}

Test(schedule, reply_parser_finds_complete_replies)
{
    cr_assert_eq(bench_resp_skip("+OK\r\n", 5), 5);
    cr_assert_eq(bench_resp_skip("+OK\r", 4), 0);
    cr_assert_eq(bench_resp_skip("$-1\r\n", 5), 5);
    cr_assert_eq(bench_resp_skip("$3\r\nabc\r\n", 9), 9);
    cr_assert_eq(bench_resp_skip("$3\r\nabc\r", 8), 0);
    cr_assert_eq(bench_resp_skip("*2\r\n:1\r\n$1\r\nx\r\n+extra", 21), 15);
    cr_assert_eq(bench_resp_skip("*2\r\n:1\r\n", 8), 0);
    cr_assert_eq(bench_resp_skip("*-1\r\n", 5), 5);
    cr_assert_eq(bench_resp_skip("%1\r\n+a\r\n:1\r\n", 12), 12);
    cr_assert_eq(bench_resp_skip("-ERR x\r\n", 8), 8);
    cr_assert_eq(bench_resp_skip("?\r\n", 3), -1);
}

/* ---- the slow fake server --------------------------------------------- */

struct fake {
    int lfd, port;
    unsigned stall_at;  /* the request number (1-based) that stalls */
    uint64_t stall_ns;
    pthread_t tid;
    unsigned close_after; /* hang up after this many replies (0: never) */
};

/* Serve one connection: reply +PONG to every 14-byte "*1\r\n$4\r\nPING\r\n",
 * sleeping stall_ns once before answering request number stall_at. */
static void *fake_main(void *arg)
{
    struct fake *f = arg;
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    char in[65536], out[65536 / 14 * 7 + 7];
    size_t have = 0;
    unsigned n = 0;
    for (;;) {
        ssize_t got = read(fd, in + have, sizeof(in) - have);
        if (got <= 0)
            break;
        have += (size_t)got;
        size_t reqs = have / 14, olen = 0;
        for (size_t i = 0; i < reqs; i++) {
            if (++n == f->stall_at) {
                struct timespec ts = { 0, (long)f->stall_ns };
                nanosleep(&ts, NULL);
            }
            memcpy(out + olen, "+PONG\r\n", 7);
            olen += 7;
        }
        memmove(in, in + reqs * 14, have - reqs * 14);
        have -= reqs * 14;
        if (olen && write(fd, out, olen) != (ssize_t)olen)
            break;
        if (f->close_after && n >= f->close_after)
            break;
    }
    close(fd);
    return NULL;
}

static void fake_start(struct fake *f, unsigned stall_at, uint64_t stall_ns)
{
    memset(f, 0, sizeof(*f));
    f->stall_at = stall_at;
    f->stall_ns = stall_ns;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    for (int port = 7680; port < 7700; port++) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        if (bind(f->lfd, (struct sockaddr *)&a, sizeof(a)) == 0) {
            f->port = port;
            break;
        }
    }
    cr_assert_neq(f->port, 0, "no free loopback port in 7680-7699");
    cr_assert_eq(listen(f->lfd, 4), 0);
    pthread_create(&f->tid, NULL, fake_main, f);
}

static void fake_stop(struct fake *f)
{
    pthread_join(f->tid, NULL);
    close(f->lfd);
}

static struct bench_config ping_config(int port)
{
    struct bench_config c;
    bench_config_defaults(&c);
    c.port = port;
    c.clients = 1;
    c.threads = 1;
    c.command = "PING";
    c.timeout_ns = 2000 * MS;
    return c;
}

Test(schedule, open_loop_p999_includes_a_100ms_stall)
{
    static struct bench_result r;
    struct fake f;
    char err[256];
    fake_start(&f, 200, 100 * MS);
    struct bench_config c = ping_config(f.port);
    c.rate = 2000;
    c.duration = 1.0;
    int rc = bench_run(&c, &r, err, sizeof(err));
    fake_stop(&f);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(r.errors, 0);
    cr_assert_geq(r.completed, 1990);
    uint64_t p999 = hist_quantile(&r.hist, 0.999);
    /* Requests due during the stall wait for it: ~200 of them late by
     * 0-100 ms, so at least the first ~half are 50 ms late or more. */
    cr_assert_geq(p999, 90 * MS, "open-loop p99.9 %.1f ms misses the stall", p999 / 1e6);
    cr_assert_geq(hist_count_at_least(&r.hist, 50 * MS), 50);
}

Test(schedule, closed_loop_hides_the_same_stall_in_one_sample)
{
    static struct bench_result r;
    struct fake f;
    char err[256];
    fake_start(&f, 200, 100 * MS);
    struct bench_config c = ping_config(f.port);
    c.rate = 0;
    c.requests = 5000;
    c.duration = 30; /* only the bound */
    int rc = bench_run(&c, &r, err, sizeof(err));
    fake_stop(&f);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(r.completed, 5000);
    /* The stalled request itself is measured ... */
    cr_assert_geq(r.hist.max, 100 * MS);
    /* ... but nothing queued behind it, so p99.9 (the 6th largest of 5000)
     * does not see it: this is coordinated omission. */
    uint64_t p999 = hist_quantile(&r.hist, 0.999);
    cr_assert_lt(p999, 90 * MS, "closed-loop p99.9 %.1f ms", p999 / 1e6);
}

Test(schedule, refused_connection_is_a_clean_error)
{
    static struct bench_result r;
    struct fake f;
    char err[256];
    /* Take a port, then close it so nothing listens there. */
    fake_start(&f, 0, 0);
    int port = f.port;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    close(fd);
    fake_stop(&f);
    struct bench_config c = ping_config(port);
    c.rate = 100;
    c.duration = 0.2;
    cr_assert_eq(bench_run(&c, &r, err, sizeof(err)), -1);
    cr_assert(strstr(err, "cannot connect") && strstr(err, "refused"), "%s", err);
}

Test(schedule, dropped_connection_is_a_clean_error)
{
    static struct bench_result r;
    struct fake f;
    char err[256];
    fake_start(&f, 0, 0);
    f.close_after = 50;
    struct bench_config c = ping_config(f.port);
    c.rate = 500;
    c.duration = 2;
    int rc = bench_run(&c, &r, err, sizeof(err));
    fake_stop(&f);
    cr_assert_eq(rc, -1);
    cr_assert(strstr(err, "closed by the server") || strstr(err, "dropped"), "%s", err);
    cr_assert_geq(r.completed, 1);
}
