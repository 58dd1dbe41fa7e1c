/* A small log-linear latency histogram in the spirit of HdrHistogram.
 *
 * Values (nanoseconds in sluice-bench, but any uint64) below 2^HIST_SUB_BITS
 * are counted exactly; above that, every power-of-two range [2^k, 2^(k+1)) is
 * split into 2^HIST_SUB_BITS equal buckets, so a bucket is at most 1/128 of
 * its lower bound wide. A percentile is reported as the middle of its bucket
 * (clamped to the exact min/max seen), so the relative error is at most
 * 1/256 (0.4%), well inside the 1% sluice-bench promises.
 *
 * Memory is fixed (HIST_BUCKETS counters, ~60 KB) and recording is a few
 * instructions with no allocation, so each load thread owns one histogram
 * and the threads' histograms are merged after the run. Not thread-safe.
 */
#ifndef SLUICE_BENCH_HISTOGRAM_H
#define SLUICE_BENCH_HISTOGRAM_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB_COUNT (1u << HIST_SUB_BITS)
#define HIST_BUCKETS ((64 - HIST_SUB_BITS + 1) * HIST_SUB_COUNT)

struct hist {
    uint64_t total;
    uint64_t min, max;
    uint64_t counts[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_record(struct hist *h, uint64_t v);
void hist_record_n(struct hist *h, uint64_t v, uint64_t n);
/* Add every count of src into dst. */
void hist_merge(struct hist *dst, const struct hist *src);
/* The value at quantile q in [0, 1]: the smallest recorded value v such that
 * at least ceil(q * total) values are <= v (q = 0 gives min, 1 gives max),
 * within the bucket error. 0 for an empty histogram. */
uint64_t hist_quantile(const struct hist *h, double q);
/* How many recorded values lie in buckets entirely at or above v. */
uint64_t hist_count_at_least(const struct hist *h, uint64_t v);
double hist_mean(const struct hist *h);

/* Bucket arithmetic, exposed for the unit test. */
unsigned hist_index(uint64_t v);
uint64_t hist_bucket_low(unsigned idx);
uint64_t hist_bucket_width(unsigned idx);

#endif
