#!/usr/bin/python3
"""Cache hit ratio under maxmemory: redis-server's allkeys-lru against each
sluice eviction policy, on a Zipfian GET-then-SET-on-miss workload over ten
times more keys than fit.

Each server (pinned to CPU 0, freshly started) gets maxmemory = its own idle
used_memory + DATA_MB, so every server has the same room for data whatever
its fixed overhead. The client (CPU 1, redis-py) sends GETs in pipelined
batches of BATCH; every miss is SET (VALUE bytes) in the next pipeline, as a
cache-aside application does. The first WARM requests fill the cache and are
not counted; then REQUESTS requests are: hit ratio = hits / requests, with
evictions/s and requests/s (client-bound: a Python client) over that part.
The key sequence is the same for every server (seeded).

usage: perf/hitratio.py [--sluiced PATH] [--skews 0.9,1.1] [--rounds N]
                        [--policies allkeys-lru,...] [--write] [--quick]
Ports 7300-7399 (perf/bench.py's), servers stopped by PID.
"""
import argparse
import bisect
import datetime
import itertools
import os
import random
import statistics
import sys
import time

import redis

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

ap = argparse.ArgumentParser()
ap.add_argument("--sluiced", default=os.path.join(REPO, "build/dataplane/sluiced"))
ap.add_argument("--skews", default="0.9,1.1")
ap.add_argument("--rounds", type=int, default=1)
ap.add_argument("--policies", default="allkeys-lru,allkeys-lfu,allkeys-random,allkeys-sieve")
ap.add_argument("--write", action="store_true")
ap.add_argument("--quick", action="store_true")
ARGS = ap.parse_args()

os.environ.setdefault("BENCH_REPO", REPO)
os.environ["BENCH_SLUICED"] = os.path.abspath(ARGS.sluiced)
sys.path.insert(0, HERE)
import bench as B  # noqa: E402

DATA_MB = 8 if not ARGS.quick else 2
VALUE = b"v" * 100
BATCH = 500
KEYS = 400000 if not ARGS.quick else 100000
WARM = KEYS if not ARGS.quick else KEYS // 2
REQUESTS = 3 * KEYS if not ARGS.quick else KEYS


def zipf_keys(skew, n, seed):
    """n key indexes drawn from Zipf(skew) over KEYS ranks; ranks are
    shuffled onto key names so popularity is not in key order."""
    cum, t = [], 0.0
    for r in range(1, KEYS + 1):
        t += 1.0 / r ** skew
        cum.append(t)
    rnd = random.Random(seed)
    names = list(range(KEYS))
    rnd.shuffle(names)
    return [names[min(bisect.bisect(cum, rnd.random() * t), KEYS - 1)] for _ in range(n)]


def run(role, policy, seq):
    B.SERVER_CPU = "0"
    s = B.start_server(role, WORKDIR)
    try:
        r = redis.Redis(port=s.port)
        base = r.info("memory")["used_memory"]
        r.config_set("maxmemory", base + DATA_MB * 1024 * 1024)
        r.config_set("maxmemory-policy", policy)
        os.sched_setaffinity(0, {1})
        hits = misses = 0
        t0 = ev0 = None
        for i in range(0, len(seq), BATCH):
            if i >= WARM and t0 is None:
                t0, ev0, c0 = time.monotonic(), r.info("stats")["evicted_keys"], s.cpu_seconds()
                hits = misses = 0
            chunk = seq[i:i + BATCH]
            p = r.pipeline(transaction=False)
            for k in chunk:
                p.get(b"k:%d" % k)
            res = p.execute()
            p = r.pipeline(transaction=False)
            miss = [k for k, v in zip(chunk, res) if v is None]
            for k in miss:
                p.set(b"k:%d" % k, VALUE)
            p.execute()
            misses += len(miss)
            hits += len(chunk) - len(miss)
        secs = time.monotonic() - t0
        ev = r.info("stats")["evicted_keys"] - ev0
        cpu = s.cpu_seconds() - c0
        keys = r.dbsize()
        return {"hit": hits / (hits + misses), "evict_s": ev / secs,
                "req_s": (hits + misses) / secs, "cpu_us_per_req": cpu / (hits + misses) * 1e6,
                "keys": keys}
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count())))
        B.stop_server(s)


def main():
    global WORKDIR
    WORKDIR = B.tempfile.mkdtemp(prefix="sluice-hitratio-")
    skews = [float(x) for x in ARGS.skews.split(",")]
    combos = [("redis", "allkeys-lru")] + [("sluice", p) for p in ARGS.policies.split(",")]
    res = {}
    la0 = os.getloadavg()[0]
    for skew in skews:
        seq = zipf_keys(skew, WARM + REQUESTS, seed=int(skew * 1000))
        for rnd in range(ARGS.rounds):
            order = combos if rnd % 2 == 0 else combos[::-1]
            for role, pol in order:
                B.wait_quiet()
                e = run(role, pol, seq)
                B.log("skew %.1f %-6s %-15s hit %.4f  evictions/s %.0f  req/s %.0f  "
                      "server CPU %.2f us/req  keys %d" % (
                          skew, role, pol, e["hit"], e["evict_s"], e["req_s"],
                          e["cpu_us_per_req"], e["keys"]))
                res.setdefault((skew, role, pol), []).append(e)
    B.subprocess.run(["rm", "-rf", WORKDIR])
    table = report(res, skews, combos)
    print(table)
    if ARGS.write:
        write(table, la0)


def med(rows, f):
    return statistics.median(r[f] for r in rows)


def report(res, skews, combos):
    out = ["| skew | server | policy | hit ratio | vs redis LRU (points) | evictions/s "
           "| requests/s | server CPU us/req | keys held |",
           "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for skew in skews:
        ref = med(res[(skew, "redis", "allkeys-lru")], "hit")
        for role, pol in combos:
            rows = res[(skew, role, pol)]
            h = med(rows, "hit")
            out.append("| %.1f | %s | %s | %.2f%% | %+.2f | %.0f | %.0f | %.2f | %d |" % (
                skew, role, pol, 100 * h, 100 * (h - ref), med(rows, "evict_s"),
                med(rows, "req_s"), med(rows, "cpu_us_per_req"), med(rows, "keys")))
    return "\n".join(out)


def write(table, la0):
    begin, end = "<!-- hitratio:begin -->", "<!-- hitratio:end -->"
    rv, sha = B.versions()
    body = "\n".join([
        begin,
        "## %s eviction hit ratio (perf/hitratio.py, %d round(s))" % (
            datetime.date.today().isoformat(), ARGS.rounds), "",
        "* Command: `perf/hitratio.py %s`" % " ".join(sys.argv[1:]),
        "* %s; sluice at %s; load average %.2f at start, %.2f at end" % (
            rv, sha, la0, os.getloadavg()[0]),
        "* Workload: %d keys, Zipfian; %d warm-up requests then %d counted; GET in "
        "pipelined batches of %d, every miss SET with a %d-byte value; maxmemory = the "
        "server's idle used_memory + %d MB, so each server has the same room for data "
        "(about a tenth of the key space). Server on CPU 0, client on CPU 1." % (
            KEYS, WARM, REQUESTS, BATCH, len(VALUE), DATA_MB),
        "* Requests/s is bounded by the Python client; server CPU per request is the "
        "server's utime+stime over the counted part.", "",
        table, "", end])
    B.replace_section(begin, end, body)
    B.log("wrote the hit-ratio section of perf/RESULTS.md")


if __name__ == "__main__":
    main()
