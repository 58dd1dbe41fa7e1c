/* Log-linear histogram: see histogram.h for the error bound.
 *
 * Index layout: values below SUB_COUNT map to themselves. A larger value with
 * highest set bit h is shifted right by (h - SUB_BITS), which leaves a number
 * in [SUB_COUNT, 2 * SUB_COUNT); the index is (h - SUB_BITS + 1) * SUB_COUNT
 * plus that number minus SUB_COUNT. For h == SUB_BITS this is the value
 * itself, so the exact and the logarithmic ranges join without a gap.
 */
#include "histogram.h"

#include <string.h>

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

unsigned hist_index(uint64_t v)
{
    if (v < HIST_SUB_COUNT)
        return (unsigned)v;
    unsigned hb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = hb - HIST_SUB_BITS;
    return (shift + 1) * HIST_SUB_COUNT + (unsigned)((v >> shift) - HIST_SUB_COUNT);
}

uint64_t hist_bucket_low(unsigned idx)
{
    if (idx < HIST_SUB_COUNT)
        return idx;
    unsigned shift = idx / HIST_SUB_COUNT - 1;
    uint64_t sub = idx % HIST_SUB_COUNT + HIST_SUB_COUNT;
    return sub << shift;
}

uint64_t hist_bucket_width(unsigned idx)
{
    if (idx < HIST_SUB_COUNT)
        return 1;
    return 1ull << (idx / HIST_SUB_COUNT - 1);
}

void hist_record_n(struct hist *h, uint64_t v, uint64_t n)
{
    if (!n)
        return;
    h->counts[hist_index(v)] += n;
    h->total += n;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

void hist_record(struct hist *h, uint64_t v)
{
    hist_record_n(h, v, 1);
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    if (!src->total)
        return;
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
    if (!h->total)
        return 0;
    if (q <= 0)
        return h->min;
    if (q >= 1)
        return h->max;
    /* The rank (1-based) of the wanted value in sorted order. */
    double r = q * (double)h->total;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r)
        rank++;
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = hist_bucket_low(i) + hist_bucket_width(i) / 2;
            if (v < h->min)
                v = h->min;
            if (v > h->max)
                v = h->max;
            return v;
        }
    }
    return h->max;
}

uint64_t hist_count_at_least(const struct hist *h, uint64_t v)
{
    uint64_t n = 0;
    unsigned first = hist_index(v);
    if (hist_bucket_low(first) < v)
        first++;
    for (unsigned i = first; i < HIST_BUCKETS; i++)
        n += h->counts[i];
    return n;
}

double hist_mean(const struct hist *h)
{
    if (!h->total)
        return 0;
    double sum = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        if (h->counts[i])
            sum += (double)h->counts[i] *
                   ((double)hist_bucket_low(i) + (double)(hist_bucket_width(i) - 1) / 2);
    return sum / (double)h->total;
}
