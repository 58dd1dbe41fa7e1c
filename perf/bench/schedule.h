/* The request schedule of sluice-bench: when each request is due, and which
 * key it touches.
 *
 * Open-loop load is a sequence of intended send times fixed before the run:
 * constant spacing (1/rate) or Poisson arrivals (exponential gaps with mean
 * 1/rate). A request's latency is measured from its intended time, not from
 * when the socket took it, so a stalled server makes every request scheduled
 * behind the stall late too (no coordinated omission).
 *
 * Everything here is deterministic for a given seed, so tests can replay it.
 */
#ifndef SLUICE_BENCH_SCHEDULE_H
#define SLUICE_BENCH_SCHEDULE_H

#include <stdint.h>

/* xoshiro256** by Blackman and Vigna: fast, good enough for load shaping. */
struct rng {
    uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, 1). */
double rng_double(struct rng *r);
/* Uniform in [0, n) for n > 0. */
uint64_t rng_below(struct rng *r, uint64_t n);

enum arrival { ARRIVAL_FIXED, ARRIVAL_POISSON };

struct sched {
    enum arrival arrival;
    double gap_ns;  /* mean gap between consecutive due times */
    uint64_t start; /* due time of the first request */
    uint64_t k;     /* requests handed out so far */
    double acc;     /* Poisson: offset of the next due time from start */
    struct rng rng;
};

/* Requests at `rate` per second starting at start_ns. rate must be > 0. */
void sched_init(struct sched *s, enum arrival a, double rate, uint64_t start_ns, uint64_t seed);
/* The due time of the next request, advancing the schedule. Fixed arrivals
 * are computed from the start (start + k * gap), so rounding never drifts. */
uint64_t sched_next(struct sched *s);
/* The due time sched_next would return, without advancing. */
uint64_t sched_peek(const struct sched *s);

enum key_dist { KEYS_UNIFORM, KEYS_ZIPF, KEYS_SEQ };

/* Key picker over [0, space). Zipf (rank k has weight 1/(k+1)^s) uses a
 * cumulative table shared read-only by all threads: build it once with
 * zipf_table_new, free with zipf_table_free. */
struct zipf_table {
    uint64_t n;
    double *cdf; /* cdf[i] = P(rank <= i), cdf[n-1] == 1 */
};

struct zipf_table *zipf_table_new(uint64_t n, double s);
void zipf_table_free(struct zipf_table *z);
uint64_t zipf_pick(const struct zipf_table *z, struct rng *r);

struct keygen {
    enum key_dist dist;
    uint64_t space;
    uint64_t seq_next, seq_step; /* sequential: this thread's next key and stride */
    const struct zipf_table *zipf;
};

uint64_t keygen_next(struct keygen *g, struct rng *r);

#endif
