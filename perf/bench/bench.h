/* The load engine of sluice-bench: connections spread over pinned threads,
 * each thread running one io_uring loop that sends requests on a schedule
 * (open loop) or one batch per reply batch (closed loop, rate 0), and records
 * every reply's latency in a histogram.
 *
 * Threading: bench_run connects every socket from the calling thread (so a
 * refused connection is reported before any load starts), then starts one
 * thread per --threads, each owning its connections, ring, random state and
 * histogram outright. The only shared state is read-only (config, Zipf
 * table, value bytes) plus a few relaxed atomic counters for the progress
 * line and a stop flag. Histograms are merged after the threads are joined.
 *
 * Latency is measured from the request's intended send time (open loop) or
 * from the moment its batch was queued (closed loop). Requests are pipelined
 * on a connection as the schedule demands, whatever is still outstanding, so
 * a slow reply never delays the sending of the next request.
 */
#ifndef SLUICE_BENCH_BENCH_H
#define SLUICE_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "histogram.h"
#include "schedule.h"

#define BENCH_MAX_CPUS 256

struct bench_config {
    const char *host;       /* numeric IPv4/IPv6 or a host name */
    int port;
    int clients;            /* connections in total */
    int threads;
    int cpus[BENCH_MAX_CPUS];
    int ncpus;              /* 0: threads not pinned */
    double rate;            /* requests/s in total; 0 = closed loop */
    enum arrival arrival;
    double duration;        /* seconds of sending (ignored when requests > 0) */
    uint64_t requests;      /* > 0: stop after this many requests instead */
    unsigned set_ratio, get_ratio;
    uint64_t key_space;
    enum key_dist key_dist;
    double zipf_s;
    const char *key_prefix;
    unsigned data_min, data_max;
    unsigned pipeline;
    const char *command;    /* raw template, e.g. "LPUSH __key__ __data__", or a ';'
                             * sequence sent as one request ("MULTI; INCR __key__;
                             * EXEC"); NULL = the SET/GET mix */
    uint64_t timeout_ns;    /* a reply later than this counts as a timeout; also the drain */
    uint64_t seed;
    uint64_t spin_ns;       /* open loop: poll instead of sleeping this close to a due time */
    bool progress;          /* a progress line on stderr once a second */
};

/* The defaults of the command-line tool. */
void bench_config_defaults(struct bench_config *c);

struct bench_result {
    struct hist hist;       /* latency in ns of every reply received */
    struct hist lag;        /* open loop: ns each batch left after its due time
                             * (the load generator's own lateness, part of hist) */
    double target_rate;     /* 0 for closed loop */
    double achieved_rate;   /* replies per second over the measured interval */
    double elapsed;         /* seconds, first due time to last reply (>= duration) */
    uint64_t sent, completed, errors, timeouts, unanswered;
    uint64_t sets, gets;    /* requests by kind (raw mode: all counted in neither) */
};

/* Run one measurement. Returns 0, or -1 with a message in err: a refused or
 * dropped connection, a protocol error, or the hard time bound exceeded
 * (duration + timeout + 10 s). *res holds what was measured either way. */
int bench_run(const struct bench_config *c, struct bench_result *res, char *err, size_t errlen);

/* SET every key of the key space once (pipelined, one connection), with
 * values sized as the run's. Bounded to 300 s. Returns 0 or -1 with err. */
int bench_prefill(const struct bench_config *c, char *err, size_t errlen);

/* Ask bench_run to stop early (async-signal-safe). */
void bench_request_stop(void);

/* The length of the complete RESP reply at p, 0 if more bytes are needed, -1
 * on a protocol error. Exposed for the tests. */
long bench_resp_skip(const char *p, size_t n);

#endif
