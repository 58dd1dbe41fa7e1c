/* sluice-bench: an open-loop latency benchmark for RESP servers.
 *
 * Requests leave on a fixed schedule (constant or Poisson gaps at --rate per
 * second in total) whatever the server is doing, and each latency is counted
 * from the request's intended send time, so queueing behind a slow reply
 * shows up in the tail instead of being hidden (coordinated omission).
 * --rate 0 runs closed loop, the way redis-benchmark does, for comparison.
 *
 * This file is the command line: options, the table and JSON reports, and
 * the sweep (step the rate up until the server saturates). The load itself
 * is bench.c; the histogram histogram.c; schedules and keys schedule.c.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define MAX_PORTS 16

static void usage(FILE *f)
{
    fprintf(f,
"usage: sluice-bench [options]\n"
"\n"
"  --server HOST         server address (127.0.0.1)\n"
"  --port P[,P...]       port; a list runs each server in turn (6379)\n"
"  --clients N           connections in total (50)\n"
"  --threads N           load threads (1)\n"
"  --cpus LIST           pin thread i to the i-th CPU of LIST, e.g. 1 or 2-5,7\n"
"  --rate R              requests/s in total; 0 = closed loop (0)\n"
"  --arrival fixed|poisson  inter-arrival times at --rate (fixed)\n"
"  --duration S          seconds of load (10); with --requests, the time bound\n"
"  --requests N          stop after N requests instead of after --duration\n"
"  --ratio SET:GET       mix of SET and GET (1:10)\n"
"  --key-space N         keys key:000000000000 .. N-1 (100000)\n"
"  --key-prefix STR      key prefix (key:)\n"
"  --key-dist D          uniform | zipf:S (skew S, e.g. zipf:0.99) | seq (uniform)\n"
"  --data-size N|MIN-MAX value bytes, fixed or uniform in a range (32)\n"
"  --pipeline N          requests per batch on a connection (1); open loop\n"
"                        sends a batch of N per schedule slot\n"
"  --command TEMPLATE    raw mode: send this command, __key__ and __data__\n"
"                        replaced, e.g. \"LPUSH list:__key__ __data__\"; commands\n"
"                        separated by ';' are one request timed to its last\n"
"                        reply: \"MULTI; INCR __key__; EXEC\"\n"
"  --prefill             SET every key of the key space before the run\n"
"  --timeout MS          a reply later than this is a timeout; also how long\n"
"                        to wait for stragglers after the run (1000)\n"
"  --seed N              random seed (1)\n"
"  --spin-us N           open loop: busy-poll for the last N us before a send\n"
"                        is due instead of sleeping (0); trades a load-generator\n"
"                        core for send times that are not late by a wakeup\n"
"  --sweep               closed-loop run for capacity C, then open-loop steps\n"
"                        at fractions of C (then +10%% of C each, up to 2x C)\n"
"                        until the server saturates\n"
"  --sweep-steps LIST    fractions of C (0.1,0.2,...,1.2), or with\n"
"  --sweep-rates LIST    absolute rates instead\n"
"  --json                one JSON object on stdout instead of the table\n"
"  --quiet               no progress line on stderr\n"
"  -h, --help            this text\n"
"\n"
"Exit status: 0 ok, 1 a failed run (refused or dropped connection, protocol\n"
"error, time bound), 2 bad usage.\n");
}

static int parse_cpus(const char *s, struct bench_config *c)
{
    c->ncpus = 0;
    while (*s) {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (end == s || a < 0)
            return -1;
        if (*end == '-') {
            s = end + 1;
            b = strtol(s, &end, 10);
            if (end == s || b < a)
                return -1;
        }
        for (long i = a; i <= b; i++) {
            if (c->ncpus == BENCH_MAX_CPUS)
                return -1;
            c->cpus[c->ncpus++] = (int)i;
        }
        if (*end == ',')
            end++;
        else if (*end)
            return -1;
        s = end;
    }
    return c->ncpus ? 0 : -1;
}

static int parse_list(const char *s, double *out, int max)
{
    int n = 0;
    while (*s && n < max) {
        char *end;
        out[n++] = strtod(s, &end);
        if (end == s)
            return -1;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return n;
}

static void on_signal(int sig)
{
    (void)sig;
    bench_request_stop();
}

static const double spectrum_q[] = { 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75,
                                     0.775, 0.8, 0.825, 0.85, 0.875, 0.9, 0.925, 0.95, 0.9625,
                                     0.975, 0.98, 0.985, 0.99, 0.9925, 0.995, 0.9975, 0.999,
                                     0.99925, 0.9995, 0.99975, 0.9999, 0.99999, 1 };

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

static void print_json_result(FILE *f, const struct bench_config *c, const struct bench_result *r)
{
    const struct hist *h = &r->hist;
    fprintf(f,
            "{\"server\": \"%s:%d\", \"mode\": \"%s\", \"arrival\": \"%s\", \"clients\": %d, "
            "\"threads\": %d, \"pipeline\": %u, \"duration_s\": %.3f, "
            "\"target_rate\": %.1f, \"achieved_rate\": %.1f, \"sent\": %" PRIu64
            ", \"completed\": %" PRIu64 ", \"errors\": %" PRIu64 ", \"timeouts\": %" PRIu64
            ", \"unanswered\": %" PRIu64 ", \"sets\": %" PRIu64 ", \"gets\": %" PRIu64 ", "
            "\"latency_us\": {\"min\": %.1f, \"mean\": %.1f, \"p50\": %.1f, \"p90\": %.1f, "
            "\"p99\": %.1f, \"p999\": %.1f, \"p9999\": %.1f, \"max\": %.1f}, \"spectrum_us\": [",
            c->host, c->port, c->rate > 0 ? "open" : "closed",
            c->arrival == ARRIVAL_POISSON ? "poisson" : "fixed", c->clients, c->threads,
            c->pipeline, r->elapsed, r->target_rate, r->achieved_rate, r->sent, r->completed,
            r->errors, r->timeouts, r->unanswered, r->sets, r->gets, us(h->total ? h->min : 0),
            hist_mean(h) / 1000.0, us(hist_quantile(h, 0.5)), us(hist_quantile(h, 0.9)),
            us(hist_quantile(h, 0.99)), us(hist_quantile(h, 0.999)),
            us(hist_quantile(h, 0.9999)), us(h->max));
    for (size_t i = 0; i < sizeof(spectrum_q) / sizeof(spectrum_q[0]); i++)
        fprintf(f, "%s[%g, %.1f]", i ? ", " : "", spectrum_q[i],
                us(hist_quantile(h, spectrum_q[i])));
    const struct hist *l = &r->lag;
    fprintf(f, "], \"send_lag_us\": {\"p50\": %.1f, \"p99\": %.1f, \"p999\": %.1f, \"max\": %.1f}}",
            us(hist_quantile(l, 0.5)), us(hist_quantile(l, 0.99)), us(hist_quantile(l, 0.999)),
            us(l->total ? l->max : 0));
}

static void print_table(FILE *f, const struct bench_config *c, const struct bench_result *r)
{
    const struct hist *h = &r->hist;
    fprintf(f, "server %s:%d, %s loop, %d clients on %d threads, pipeline %u\n", c->host,
            c->port, c->rate > 0 ? "open" : "closed", c->clients, c->threads, c->pipeline);
    if (c->rate > 0)
        fprintf(f, "target rate   %12.0f req/s (%s arrivals)\n", r->target_rate,
                c->arrival == ARRIVAL_POISSON ? "poisson" : "fixed");
    fprintf(f, "achieved rate %12.0f req/s over %.2f s\n", r->achieved_rate, r->elapsed);
    fprintf(f, "requests %" PRIu64 " sent, %" PRIu64 " answered, %" PRIu64 " errors, %" PRIu64
               " timeouts (%" PRIu64 " unanswered)\n",
            r->sent, r->completed, r->errors, r->timeouts, r->unanswered);
    fprintf(f, "latency (us, from the intended send time):\n");
    fprintf(f, "  %10s %10s %10s %10s %10s %10s %10s\n", "p50", "p90", "p99", "p99.9", "p99.99",
            "max", "mean");
    fprintf(f, "  %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f\n", us(hist_quantile(h, 0.5)),
            us(hist_quantile(h, 0.9)), us(hist_quantile(h, 0.99)), us(hist_quantile(h, 0.999)),
            us(hist_quantile(h, 0.9999)), us(h->max), hist_mean(h) / 1000.0);
    if (c->rate > 0)
        fprintf(f, "send lag (us, the generator's own lateness, included above): p50 %.1f, "
                   "p99 %.1f, p99.9 %.1f, max %.1f\n",
                us(hist_quantile(&r->lag, 0.5)), us(hist_quantile(&r->lag, 0.99)),
                us(hist_quantile(&r->lag, 0.999)), us(r->lag.total ? r->lag.max : 0));
}

/* A step saturates when the server no longer keeps up with the schedule. */
static bool saturated(const struct bench_result *r)
{
    return r->achieved_rate < 0.95 * r->target_rate ||
           r->timeouts > r->completed / 1000 || r->errors > 0;
}

static int run_one(const struct bench_config *c, struct bench_result *r, bool json)
{
    char err[512];
    if (bench_run(c, r, err, sizeof(err))) {
        fprintf(stderr, "sluice-bench: %s\n", err);
        return 1;
    }
    if (json)
        print_json_result(stdout, c, r);
    else
        print_table(stdout, c, r);
    return 0;
}

/* Closed loop first for the capacity, then open-loop steps. JSON: one
 * object per server with its steps; a table line per step otherwise. */
static int sweep_one(struct bench_config *c, const double *steps, int nsteps, bool absolute,
                     bool json, struct bench_result *r)
{
    char err[512];
    double base_rate = c->rate;
    double capacity = 0;
    c->rate = 0;
    if (bench_run(c, r, err, sizeof(err))) {
        fprintf(stderr, "sluice-bench: %s\n", err);
        return 1;
    }
    capacity = r->achieved_rate;
    if (json) {
        printf("{\"server\": \"%s:%d\", \"pipeline\": %u, \"clients\": %d, \"closed_loop\": ",
               c->host, c->port, c->pipeline, c->clients);
        print_json_result(stdout, c, r);
        printf(", \"steps\": [");
    } else {
        printf("server %s:%d pipeline %u: closed-loop capacity %.0f req/s (p50 %.1f us, "
               "p99 %.1f us)\n",
               c->host, c->port, c->pipeline, capacity, us(hist_quantile(&r->hist, 0.5)),
               us(hist_quantile(&r->hist, 0.99)));
        printf("  %10s %10s %9s %9s %9s %9s %9s %s\n", "target", "achieved", "p50", "p90", "p99",
               "p99.9", "max", "(us)");
    }
    double best = 0;
    int rc = 0, printed = 0;
    /* Past the listed steps, keep adding 10% of the capacity (up to 2x it):
     * open-loop load can outrun the closed-loop rate, since requests queued
     * on a connection reach the server as free pipelining. */
    int total = absolute ? nsteps : nsteps + 30;
    for (int i = 0; i < total; i++) {
        if (i < nsteps)
            c->rate = absolute ? steps[i] : steps[i] * capacity;
        else
            c->rate = (steps[nsteps - 1] + 0.1 * (i - nsteps + 1)) * capacity;
        if (!absolute && c->rate > 2 * capacity)
            break;
        if (c->rate < 1)
            continue;
        if (bench_run(c, r, err, sizeof(err))) {
            fprintf(stderr, "sluice-bench: %s\n", err);
            rc = 1;
            break;
        }
        bool sat = saturated(r);
        if (!sat && r->achieved_rate > best)
            best = r->achieved_rate;
        if (json) {
            printf("%s", printed++ ? ", " : "");
            print_json_result(stdout, c, r);
        } else {
            const struct hist *h = &r->hist;
            printf("  %10.0f %10.0f %9.1f %9.1f %9.1f %9.1f %9.1f%s\n", c->rate, r->achieved_rate,
                   us(hist_quantile(h, 0.5)), us(hist_quantile(h, 0.9)),
                   us(hist_quantile(h, 0.99)), us(hist_quantile(h, 0.999)), us(h->max),
                   sat ? "  saturated" : "");
        }
        fflush(stdout);
        if (sat)
            break;
    }
    if (json)
        printf("], \"closed_loop_rate\": %.1f, \"saturation_rate\": %.1f}", capacity, best);
    else
        printf("  highest rate sustained open loop: %.0f req/s\n", best);
    c->rate = base_rate;
    return rc;
}

int main(int argc, char **argv)
{
    enum { O_SERVER = 256, O_PORT, O_CLIENTS, O_THREADS, O_CPUS, O_RATE, O_ARRIVAL, O_DURATION,
           O_REQUESTS, O_RATIO, O_KEYSPACE, O_KEYPREFIX, O_KEYDIST, O_DATASIZE, O_PIPELINE,
           O_COMMAND, O_PREFILL, O_TIMEOUT, O_SEED, O_SPIN, O_SWEEP, O_STEPS, O_RATES, O_JSON, O_QUIET };
    static const struct option opts[] = {
        { "server", required_argument, 0, O_SERVER },
        { "port", required_argument, 0, O_PORT },
        { "clients", required_argument, 0, O_CLIENTS },
        { "threads", required_argument, 0, O_THREADS },
        { "cpus", required_argument, 0, O_CPUS },
        { "rate", required_argument, 0, O_RATE },
        { "arrival", required_argument, 0, O_ARRIVAL },
        { "duration", required_argument, 0, O_DURATION },
        { "requests", required_argument, 0, O_REQUESTS },
        { "ratio", required_argument, 0, O_RATIO },
        { "key-space", required_argument, 0, O_KEYSPACE },
        { "key-prefix", required_argument, 0, O_KEYPREFIX },
        { "key-dist", required_argument, 0, O_KEYDIST },
        { "data-size", required_argument, 0, O_DATASIZE },
        { "pipeline", required_argument, 0, O_PIPELINE },
        { "command", required_argument, 0, O_COMMAND },
        { "prefill", no_argument, 0, O_PREFILL },
        { "timeout", required_argument, 0, O_TIMEOUT },
        { "seed", required_argument, 0, O_SEED },
        { "spin-us", required_argument, 0, O_SPIN },
        { "sweep", no_argument, 0, O_SWEEP },
        { "sweep-steps", required_argument, 0, O_STEPS },
        { "sweep-rates", required_argument, 0, O_RATES },
        { "json", no_argument, 0, O_JSON },
        { "quiet", no_argument, 0, O_QUIET },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    struct bench_config c;
    bench_config_defaults(&c);
    c.progress = true;
    int ports[MAX_PORTS] = { 6379 }, nports = 1;
    bool prefill = false, sweep = false, json = false, absolute = false;
    double steps[64] = { 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1,
                         1.2 };
    int nsteps = 15;
    int o;
    char *end;
#define BAD(what)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "sluice-bench: bad %s: %s\n", what, optarg);                               \
        return 2;                                                                                  \
    } while (0)
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case O_SERVER:
            c.host = optarg;
            break;
        case O_PORT: {
            double p[MAX_PORTS];
            nports = parse_list(optarg, p, MAX_PORTS);
            if (nports < 1)
                BAD("--port");
            for (int i = 0; i < nports; i++) {
                if (p[i] < 1 || p[i] > 65535 || p[i] != floor(p[i]))
                    BAD("--port");
                ports[i] = (int)p[i];
            }
            break;
        }
        case O_CLIENTS:
            c.clients = (int)strtol(optarg, &end, 10);
            if (*end || c.clients < 1 || c.clients > 100000)
                BAD("--clients");
            break;
        case O_THREADS:
            c.threads = (int)strtol(optarg, &end, 10);
            if (*end || c.threads < 1 || c.threads > 1024)
                BAD("--threads");
            break;
        case O_CPUS:
            if (parse_cpus(optarg, &c))
                BAD("--cpus");
            break;
        case O_RATE:
            c.rate = strtod(optarg, &end);
            if (*end || c.rate < 0)
                BAD("--rate");
            break;
        case O_ARRIVAL:
            if (!strcmp(optarg, "fixed"))
                c.arrival = ARRIVAL_FIXED;
            else if (!strcmp(optarg, "poisson"))
                c.arrival = ARRIVAL_POISSON;
            else
                BAD("--arrival");
            break;
        case O_DURATION:
            c.duration = strtod(optarg, &end);
            if (*end || c.duration <= 0 || c.duration > 86400)
                BAD("--duration");
            break;
        case O_REQUESTS:
            c.requests = strtoull(optarg, &end, 10);
            if (*end || !c.requests)
                BAD("--requests");
            break;
        case O_RATIO: {
            unsigned s, g;
            char tail;
            if (sscanf(optarg, "%u:%u%c", &s, &g, &tail) != 2 || s + g == 0)
                BAD("--ratio");
            c.set_ratio = s;
            c.get_ratio = g;
            break;
        }
        case O_KEYSPACE:
            c.key_space = strtoull(optarg, &end, 10);
            if (*end || !c.key_space || c.key_space > 1000000000000ull)
                BAD("--key-space");
            break;
        case O_KEYPREFIX:
            if (strlen(optarg) > 100)
                BAD("--key-prefix");
            c.key_prefix = optarg;
            break;
        case O_KEYDIST:
            if (!strcmp(optarg, "uniform")) {
                c.key_dist = KEYS_UNIFORM;
            } else if (!strcmp(optarg, "seq")) {
                c.key_dist = KEYS_SEQ;
            } else if (!strncmp(optarg, "zipf", 4)) {
                c.key_dist = KEYS_ZIPF;
                if (optarg[4] == ':') {
                    c.zipf_s = strtod(optarg + 5, &end);
                    if (*end || end == optarg + 5 || c.zipf_s < 0 || c.zipf_s > 10)
                        BAD("--key-dist");
                } else if (optarg[4]) {
                    BAD("--key-dist");
                }
            } else {
                BAD("--key-dist");
            }
            break;
        case O_DATASIZE: {
            unsigned a, b;
            char tail;
            int n = sscanf(optarg, "%u-%u%c", &a, &b, &tail);
            if (n == 1)
                b = a;
            else if (n != 2 || b < a)
                BAD("--data-size");
            if (b > 512u * 1024 * 1024)
                BAD("--data-size");
            c.data_min = a;
            c.data_max = b;
            break;
        }
        case O_PIPELINE:
            c.pipeline = (unsigned)strtoul(optarg, &end, 10);
            if (*end || c.pipeline < 1 || c.pipeline > 100000)
                BAD("--pipeline");
            break;
        case O_COMMAND:
            c.command = optarg;
            break;
        case O_PREFILL:
            prefill = true;
            break;
        case O_TIMEOUT: {
            double ms = strtod(optarg, &end);
            if (*end || ms <= 0 || ms > 3600e3)
                BAD("--timeout");
            c.timeout_ns = (uint64_t)(ms * 1e6);
            break;
        }
        case O_SEED:
            c.seed = strtoull(optarg, &end, 10);
            if (*end)
                BAD("--seed");
            break;
        case O_SPIN: {
            double v = strtod(optarg, &end);
            if (*end || v < 0 || v > 1e6)
                BAD("--spin-us");
            c.spin_ns = (uint64_t)(v * 1000);
            break;
        }
        case O_SWEEP:
            sweep = true;
            break;
        case O_STEPS:
        case O_RATES:
            nsteps = parse_list(optarg, steps, 64);
            if (nsteps < 1)
                BAD(o == O_STEPS ? "--sweep-steps" : "--sweep-rates");
            absolute = o == O_RATES;
            sweep = true;
            break;
        case O_JSON:
            json = true;
            break;
        case O_QUIET:
            c.progress = false;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
#undef BAD
    if (optind < argc) {
        fprintf(stderr, "sluice-bench: unexpected argument %s\n", argv[optind]);
        return 2;
    }
    if (c.threads > c.clients) {
        fprintf(stderr, "sluice-bench: --threads %d needs at least as many --clients\n",
                c.threads);
        return 2;
    }
    if (c.key_dist == KEYS_ZIPF && c.key_space > 100000000) {
        fprintf(stderr, "sluice-bench: zipf keys need --key-space <= 100000000\n");
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    struct bench_result *r = malloc(sizeof(*r));
    if (!r)
        return 1;
    int rc = 0;
    if (json && (nports > 1 || sweep))
        printf("{\"runs\": [");
    for (int i = 0; i < nports && !rc; i++) {
        c.port = ports[i];
        if (prefill) {
            char err[512];
            if (c.progress)
                fprintf(stderr, "prefilling %" PRIu64 " keys on %s:%d\n", c.key_space, c.host,
                        c.port);
            if (bench_prefill(&c, err, sizeof(err))) {
                fprintf(stderr, "sluice-bench: %s\n", err);
                rc = 1;
                break;
            }
        }
        if (json && i)
            printf(", ");
        if (sweep)
            rc = sweep_one(&c, steps, nsteps, absolute, json, r);
        else
            rc = run_one(&c, r, json);
        fflush(stdout);
    }
    if (json && (nports > 1 || sweep))
        printf("]}");
    if (json)
        printf("\n");
    free(r);
    return rc;
}
