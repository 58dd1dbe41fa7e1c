/* Unit tests for sluice-bench's log-linear histogram (perf/bench/histogram.c):
 * the bucket arithmetic, and percentiles against a sorted reference on
 * random data of several shapes, within the 1% relative error promised. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "histogram.h"
#include "schedule.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static const double qs[] = { 0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99,
                             0.995, 0.999, 0.9999, 1 };

/* Record n values from gen, then compare every quantile with the sorted
 * reference value at the same rank. */
static void check_against_reference(uint64_t (*gen)(struct rng *), size_t n, uint64_t seed)
{
    static struct hist h;
    uint64_t *ref = malloc(n * sizeof(*ref));
    struct rng r;
    rng_seed(&r, seed);
    hist_init(&h);
    for (size_t i = 0; i < n; i++) {
        ref[i] = gen(&r);
        hist_record(&h, ref[i]);
    }
    qsort(ref, n, sizeof(*ref), cmp_u64);
    cr_assert_eq(h.total, n);
    cr_assert_eq(h.min, ref[0]);
    cr_assert_eq(h.max, ref[n - 1]);
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        double q = qs[i];
        size_t rank = (size_t)ceil(q * (double)n);
        if (rank < 1)
            rank = 1;
        uint64_t want = ref[rank - 1], got = hist_quantile(&h, q);
        double diff = fabs((double)got - (double)want);
        cr_assert(diff <= 0.01 * (double)want,
                  "q=%g: histogram %llu, reference %llu (error %.3f%%)", q,
                  (unsigned long long)got, (unsigned long long)want,
                  want ? 100.0 * diff / (double)want : 0.0);
    }
    free(ref);
}

static uint64_t gen_uniform(struct rng *r)
{
    return rng_below(r, 10000000);
}

/* Log-uniform over 1 ns .. ~1000 s: every bucket scale gets samples. */
static uint64_t gen_log_uniform(struct rng *r)
{
    return (uint64_t)exp(rng_double(r) * log(1e12));
}

static uint64_t gen_small(struct rng *r)
{
    return rng_below(r, 300);
}

/* Latency-like: mostly ~50 us with an exponential tail and rare 100 ms stalls. */
static uint64_t gen_latency(struct rng *r)
{
    if (rng_below(r, 10000) == 0)
        return 100000000 + rng_below(r, 1000000);
    return 40000 + (uint64_t)(-log(1.0 - rng_double(r)) * 20000);
}

Test(histogram, buckets_cover_every_value_with_less_than_one_percent_width)
{
    struct rng r;
    rng_seed(&r, 42);
    for (int i = 0; i < 200000; i++) {
        uint64_t v = rng_next(&r) >> rng_below(&r, 64);
        unsigned idx = hist_index(v);
        cr_assert_lt(idx, HIST_BUCKETS);
        uint64_t lo = hist_bucket_low(idx), w = hist_bucket_width(idx);
        cr_assert(lo <= v && v - lo < w, "v=%llu lo=%llu w=%llu", (unsigned long long)v,
                  (unsigned long long)lo, (unsigned long long)w);
        cr_assert(w == 1 || (double)w / (double)lo <= 1.0 / 128, "bucket too wide at %llu",
                  (unsigned long long)v);
    }
    cr_assert_lt(hist_index(UINT64_MAX), HIST_BUCKETS);
    for (uint64_t v = 0; v < 1000; v++)
        cr_assert_eq(hist_bucket_low(hist_index(v)) + (v < 128 ? 0 : v - hist_bucket_low(hist_index(v))), v);
}

Test(histogram, small_values_are_exact)
{
    struct hist h;
    hist_init(&h);
    for (uint64_t v = 1; v <= 100; v++)
        hist_record(&h, v);
    cr_assert_eq(hist_quantile(&h, 0.5), 50);
    cr_assert_eq(hist_quantile(&h, 0.99), 99);
    cr_assert_eq(hist_quantile(&h, 1), 100);
    cr_assert_eq(hist_quantile(&h, 0), 1);
}

Test(histogram, uniform_percentiles_match_sorted_reference)
{
    check_against_reference(gen_uniform, 200000, 1);
}

Test(histogram, log_uniform_percentiles_match_sorted_reference)
{
    check_against_reference(gen_log_uniform, 200000, 2);
}

Test(histogram, small_integer_percentiles_match_sorted_reference)
{
    check_against_reference(gen_small, 50000, 3);
}

Test(histogram, latency_shaped_percentiles_match_sorted_reference)
{
    for (uint64_t seed = 10; seed < 15; seed++)
        check_against_reference(gen_latency, 100000, seed);
}

Test(histogram, merge_equals_recording_everything_in_one)
{
    static struct hist a, b, all;
    struct rng r;
    rng_seed(&r, 7);
    hist_init(&a);
    hist_init(&b);
    hist_init(&all);
    for (int i = 0; i < 50000; i++) {
        uint64_t v = gen_latency(&r);
        hist_record(i % 3 ? &a : &b, v);
        hist_record(&all, v);
    }
    hist_merge(&a, &b);
    cr_assert_eq(a.total, all.total);
    cr_assert_eq(a.min, all.min);
    cr_assert_eq(a.max, all.max);
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
        cr_assert_eq(hist_quantile(&a, qs[i]), hist_quantile(&all, qs[i]));
}

Test(histogram, count_at_least_counts_the_tail)
{
    struct hist h;
    hist_init(&h);
    hist_record_n(&h, 1000, 990);
    hist_record_n(&h, 100000000, 10);
    cr_assert_eq(hist_count_at_least(&h, 50000000), 10);
    cr_assert_eq(hist_count_at_least(&h, 0), 1000);
    cr_assert_leq(hist_quantile(&h, 0.99) - 1000, 10);
    cr_assert_geq(hist_quantile(&h, 0.999), 99000000);
}

Test(histogram, empty_histogram_reports_zero)
{
    struct hist h;
    hist_init(&h);
    cr_assert_eq(hist_quantile(&h, 0.5), 0);
    cr_assert_eq(hist_mean(&h), 0);
}
