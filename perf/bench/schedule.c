/* Arrival schedules, random numbers and key distributions for sluice-bench
 * (see schedule.h). */
#include "schedule.h"

#include <math.h>
#include <stdlib.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_double(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
    /* Lemire's multiply-shift; the bias for n << 2^64 is negligible here. */
    return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

void sched_init(struct sched *s, enum arrival a, double rate, uint64_t start_ns, uint64_t seed)
{
    s->arrival = a;
    s->gap_ns = 1e9 / rate;
    s->start = start_ns;
    s->k = 0;
    s->acc = 0;
    rng_seed(&s->rng, seed);
}

uint64_t sched_peek(const struct sched *s)
{
    if (s->arrival == ARRIVAL_FIXED)
        return s->start + (uint64_t)((double)s->k * s->gap_ns);
    return s->start + (uint64_t)s->acc;
}

uint64_t sched_next(struct sched *s)
{
    uint64_t due = sched_peek(s);
    s->k++;
    if (s->arrival == ARRIVAL_POISSON) {
        /* Exponential gap by inversion; 1 - u is in (0, 1], so log is finite. */
        s->acc += -log(1.0 - rng_double(&s->rng)) * s->gap_ns;
    }
    return due;
}

struct zipf_table *zipf_table_new(uint64_t n, double s)
{
    struct zipf_table *z = malloc(sizeof(*z));
    if (!z)
        return NULL;
    z->n = n;
    z->cdf = malloc(n * sizeof(double));
    if (!z->cdf) {
        free(z);
        return NULL;
    }
    double sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        sum += pow((double)(i + 1), -s);
        z->cdf[i] = sum;
    }
    for (uint64_t i = 0; i < n; i++)
        z->cdf[i] /= sum;
    z->cdf[n - 1] = 1.0;
    return z;
}

void zipf_table_free(struct zipf_table *z)
{
    if (!z)
        return;
    free(z->cdf);
    free(z);
}

/* The first rank whose cumulative probability reaches u: O(log n). */
uint64_t zipf_pick(const struct zipf_table *z, struct rng *r)
{
    double u = rng_double(r);
    uint64_t lo = 0, hi = z->n - 1;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (z->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint64_t keygen_next(struct keygen *g, struct rng *r)
{
    switch (g->dist) {
    case KEYS_ZIPF:
        return zipf_pick(g->zipf, r);
    case KEYS_SEQ: {
        uint64_t k = g->seq_next % g->space;
        g->seq_next += g->seq_step;
        return k;
    }
    case KEYS_UNIFORM:
    default:
        return rng_below(r, g->space);
    }
}
