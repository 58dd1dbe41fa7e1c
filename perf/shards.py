#!/usr/bin/python3
"""Shard-per-core benchmark: sluiced with 1, 2 and 4 workers vs redis-server.

Standard library only. Reuses perf/bench.py's helpers (RESP client, server
start/stop by PID, redis-benchmark CSV parsing, quiet-machine wait). Sections:

  throughput  redis-benchmark -c 50 -r 100000 -d 32, SET and GET, -P 1 and
              -P 16, after preloading the 100k keys; ops/s, p50, p99, server
              CPU-seconds per million ops. Servers: redis-server (taskset CPU 0),
              sluiced 1 worker (CPU 0), 2 workers (cores 0,1), 4 workers
              (cores 0,1,0,1). redis-benchmark is pinned to CPU 1 always, so
              with 2 and 4 workers it shares CPU 1 with a worker.
  hop         sluiced with 2 workers. Keys picked by CLUSTER KEYSLOT: a set
              owned by worker 0 (slot < 8192) and one owned by worker 1. Each of
              several fresh connections does sequential GETs at a fixed pace,
              alternating randomly between the two sets; per connection the set
              with the lower p50 is taken as local (the connection's worker),
              the other as remote; hop cost = p50(remote) - p50(local). Then,
              on the same connection, a closed-loop burst of GETs on only local
              keys and one on only remote keys, with server utime+stime from
              /proc/PID/stat around each: server CPU per op.
  multi       "MULTI; INCR k1; INCR k2; EXEC" as one write per request
              (perf/bench/sluice-bench --command), 50 connections closed loop:
              transactions/s; k1/k2 on different shards, and {t}a/{t}b (one
              shard). Afterwards GET k1 must equal the number of completed
              transactions (atomicity/no lost INCR check).

Usage: perf/shards.py --sluiced BUILD/dataplane/sluiced \
           --sluice-bench BUILD/perf/bench/sluice-bench [--rounds 3]
           [--only throughput,hop,multi] [--quick] [--write] [--note TEXT]
Ports 7800-7899 on loopback. Every client run is bounded in time; servers are
stopped by PID. Exit status 1 if anything went wrong (listed in the report).
"""

import argparse
import binascii
import datetime
import json
import os
import random
import re
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--sluiced", default=os.path.join(REPO, "build/dataplane/sluiced"))
ap.add_argument("--sluice-bench",
                default=os.path.join(REPO, "build/perf/bench/sluice-bench"))
ap.add_argument("--redis-server", default="redis-server")
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--only", default="throughput,hop,multi")
ap.add_argument("--quick", action="store_true")
ap.add_argument("--write", action="store_true")
ap.add_argument("--note", default="")
ap.add_argument("--quiet-wait", type=float, default=5.0,
                help="max seconds to wait for an idle machine before a run")
ARGS = ap.parse_args()

os.environ.update(BENCH_REPO=REPO, BENCH_QUICK="1" if ARGS.quick else "0",
                  BENCH_REDIS_SERVER=ARGS.redis_server,
                  BENCH_QUIET_WAIT=str(ARGS.quiet_wait))
sys.path.insert(0, HERE)
import bench as B  # noqa: E402

B.PORT_LO, B.PORT_HI = 7800, 7899
SLUICED = os.path.abspath(ARGS.sluiced)
SBENCH = os.path.abspath(ARGS.sluice_bench)
CLIENT_CPU = "1"

# role -> (server CPU list for taskset, dataplane-cores or None for redis)
SERVERS = {"redis": ("0", None), "sluice1": ("0", "0"),
           "sluice2": ("0,1", "0,1"), "sluice4": ("0,1", "0,1,0,1"),
           "sluice2bp": ("0,1", "0,1")}
EXTRA_ARGS = {"sluice2bp": ["--busy-poll", "yes"]}
ROLE_ORDER = ["redis", "sluice1", "sluice2", "sluice4"]


def argv_for(role):
    cores = SERVERS[role][1]
    if cores is None:
        return B.redis_argv
    return lambda port: [SLUICED, "--port", str(port), "--bind", "127.0.0.1",
                         "--dataplane-cores", cores, "--save", ""] + EXTRA_ARGS.get(role, [])


B.ROLES = {r: argv_for(r) for r in SERVERS}


def start(role, workdir):
    B.SERVER_CPU = SERVERS[role][0]   # read by Server.start for taskset
    return B.start_server(role, workdir)


def busy_both():
    return B.cpu_busy("0") + B.cpu_busy("1")


# ---------------------------------------------------------------- throughput

# Shorter than bench.py's runs (500k / 2M) so three rounds of four servers
# fit in a few minutes; still >= 1.5 s per run at the rates seen here.
REQUESTS = {1: 150000, 16: 600000} if not ARGS.quick else B.REQUESTS


def tp_run(s, role, p, test):
    """One redis-benchmark run (client on CPU 1). 'contended' = share of one
    CPU, over the run's wall time, that went to anything but this server and
    this client (both CPUs together)."""
    nreq = REQUESTS[p]
    B.wait_quiet()
    t0, c0, b0, l0 = time.monotonic(), s.cpu_seconds(), busy_both(), B.children_cpu()
    rc, out, err = B.client_run(
        ["redis-benchmark", "-p", str(s.port), "-c", str(B.CONNS),
         "-n", str(nreq), "-r", str(B.KEYSPACE), "-d", str(B.VALUE_SIZE),
         "-P", str(p), "-t", test.lower(), "--csv"])
    if not B.check_alive(s, "redis-benchmark %s P%d" % (test, p)):
        return None
    t1, c1, b1, l1 = time.monotonic(), s.cpu_seconds(), busy_both(), B.children_cpu()
    row = B.parse_csv(out).get(test)
    if rc != 0 or row is None:
        B.note("%s: redis-benchmark %s P%d failed rc=%s: %s" %
               (role, test, p, rc, (err or out).strip()[-300:]))
        return None
    e = {"ops": float(row["rps"]), "p50": float(row["p50_latency_ms"]),
         "p99": float(row["p99_latency_ms"]),
         "cpu_per_mop": (c1 - c0) / (nreq / 1e6),
         "contended": max(0.0, (b1 - b0) - (c1 - c0) - (l1 - l0)) /
         max(t1 - t0, 0.01)}
    B.log("  %-7s %-3s P%-2d %10.0f ops/s  p50 %.3f  p99 %.3f ms  %.2f "
          "CPU-s/Mop  (others %.0f%% of a CPU)" %
          (role, test, p, e["ops"], e["p50"], e["p99"], e["cpu_per_mop"],
           100 * e["contended"]))
    return e


def section_throughput(role, workdir, files, res):
    s = start(role, workdir)
    try:
        if B.pipe_load(s, files["bench_keys"], B.KEYSPACE, "preload") is None:
            return
        n = s.cmd("DBSIZE")
        if n != B.KEYSPACE:
            B.note("%s: DBSIZE %r after preloading %d keys" % (role, n, B.KEYSPACE))
        B.client_run(["redis-benchmark", "-p", str(s.port), "-c", str(B.CONNS),
                      "-n", str(REQUESTS[16] // 4), "-r", str(B.KEYSPACE), "-d",
                      str(B.VALUE_SIZE), "-P", "16", "-t", "get", "-q"])
        for p in B.PIPELINES:
            for test in ("SET", "GET"):
                # No redo when contended: on a machine with a persistent
                # CPU hog a redo only doubles the time; contention is reported.
                attempt = 0
                e = tp_run(s, role, p, test)
                if e is None:
                    if not s.alive():
                        return
                    continue
                e["attempts"] = attempt + 1
                res.setdefault("%s P%d" % (test, p), {}).setdefault(role, []).append(e)
        v = s.cmd("GET", "key:%012d" % 12345)
        if v is None or len(v) != B.VALUE_SIZE:
            B.note("%s: GET after the benchmark returned %r" % (role, v))
    finally:
        B.stop_server(s)


# ---------------------------------------------------------------- hop cost

HOP_KEYS = 200          # keys per set
HOP_CONNS = 8           # fresh connections per round
HOP_OPS = 3000          # paced GETs per connection (both sets together)
HOP_RATE = 2000         # ops/s per connection: moderate, fixed pace
HOP_CPU_OPS = 20000     # closed-loop GETs per set for CPU per op


def slot(key):
    """Redis Cluster key slot (CRC16/XMODEM of the hash tag or key)."""
    k = key.encode() if isinstance(key, str) else key
    i = k.find(b"{")
    if i >= 0:
        j = k.find(b"}", i + 1)
        if j > i + 1:
            k = k[i + 1:j]
    return binascii.crc_hqx(k, 0) % 16384


def pick_keys(c, nworkers, want, prefix):
    """{worker: [keys]} using CLUSTER KEYSLOT, checked against our CRC16."""
    out = {w: [] for w in range(nworkers)}
    i = 0
    while min(len(v) for v in out.values()) < want:
        k = "%s%d" % (prefix, i)
        i += 1
        sl = c.cmd("CLUSTER", "KEYSLOT", k)
        if sl != slot(k):
            B.note("CLUSTER KEYSLOT %s = %r, CRC16 says %d" % (k, sl, slot(k)))
        w = sl * nworkers // 16384
        if len(out[w]) < want:
            out[w].append(k)
    return out


def p50(v):
    return statistics.median(v)


def hop_conn(s, keys):
    """One fresh connection: paced GETs alternating randomly between worker 0's
    and worker 1's keys; then closed-loop CPU per op for each set."""
    c = B.Conn(s.port)
    try:
        lat = {0: [], 1: []}
        rnd = random.Random(len(B.used_ports))
        for _ in range(200):                       # warm-up, unmeasured
            c.cmd("GET", rnd.choice(keys[rnd.randrange(2)]))
        period = 1.0 / HOP_RATE
        nxt = time.perf_counter()
        for _ in range(HOP_OPS):
            w = rnd.randrange(2)
            k = rnd.choice(keys[w])
            nxt += period
            d = nxt - time.perf_counter()
            if d > 0:
                time.sleep(d)
            t0 = time.perf_counter_ns()
            v = c.cmd("GET", k)
            t1 = time.perf_counter_ns()
            if v is None or len(v) != B.VALUE_SIZE:
                raise RuntimeError("GET %s returned %r" % (k, v))
            lat[w].append((t1 - t0) / 1000.0)
        med = {w: p50(lat[w]) for w in (0, 1)}
        local = 0 if med[0] <= med[1] else 1
        remote = 1 - local
        cpu = {}
        for w in (local, remote):
            ks = keys[w]
            c0, t0 = s.cpu_seconds(), time.perf_counter()
            for i in range(HOP_CPU_OPS):
                c.cmd("GET", ks[i % len(ks)])
            c1, t1 = s.cpu_seconds(), time.perf_counter()
            cpu[w] = ((c1 - c0) / HOP_CPU_OPS * 1e6, HOP_CPU_OPS / (t1 - t0))
        e = {"worker": local, "local_p50": med[local], "remote_p50": med[remote],
             "hop": med[remote] - med[local],
             "local_p99": statistics.quantiles(lat[local], n=100)[98],
             "remote_p99": statistics.quantiles(lat[remote], n=100)[98],
             "local_cpu_us": cpu[local][0], "remote_cpu_us": cpu[remote][0],
             "local_cl_ops": cpu[local][1], "remote_cl_ops": cpu[remote][1]}
        B.log("  conn on worker %d: p50 local %.1f us, remote %.1f us, hop %+.1f "
              "us; closed-loop server CPU/op local %.1f us, remote %.1f us "
              "(%.0f vs %.0f ops/s)" % (
                  local, e["local_p50"], e["remote_p50"], e["hop"],
                  e["local_cpu_us"], e["remote_cpu_us"], e["local_cl_ops"],
                  e["remote_cl_ops"]))
        return e
    finally:
        c.close()


def section_hop(workdir, res, role="sluice2", key="hop"):
    s = start(role, workdir)
    try:
        c = B.Conn(s.port)
        try:
            keys = pick_keys(c, 2, HOP_KEYS, "hop:")
            for w in (0, 1):
                for k in keys[w]:
                    c.cmd("SET", k, B.value_for(0))
        finally:
            c.close()
        for _ in range(HOP_CONNS):
            B.wait_quiet()
            t0 = time.monotonic()
            try:
                e = hop_conn(s, keys)
            except (OSError, ConnectionError, B.RespError, RuntimeError) as ex:
                B.note("hop: %s" % ex)
                B.check_alive(s, "hop test")
                if not s.alive():
                    return
                continue
            if time.monotonic() - t0 > 120:
                B.note("hop: one connection took %.0fs" % (time.monotonic() - t0))
            res.setdefault(key, []).append(e)
    finally:
        B.stop_server(s)


# ---------------------------------------------------------------- MULTI/EXEC

MULTI_CONNS = 50
MULTI_SECS = 5


def multi_keys(role):
    """(cross-shard pair, same-shard pair). For sluice4 the pair spans workers
    0 and 3; for 1 worker / redis the same names are used (one shard)."""
    pool = ["mx:%d" % i for i in range(1000)]
    a = next(k for k in pool if slot(k) * 4 // 16384 == 0)
    b = next(k for k in pool if slot(k) * 4 // 16384 == 3)
    return (a, b), ("{t}a", "{t}b")


def multi_run(s, role, pair, res, label):
    k1, k2 = pair
    s.cmd("DEL", k1, k2)
    B.wait_quiet()
    rc, out, err = B.client_run(
        [SBENCH, "--port", str(s.port), "--clients", str(MULTI_CONNS),
         "--threads", "1", "--cpus", CLIENT_CPU, "--duration", str(MULTI_SECS),
         "--command", "MULTI; INCR %s; INCR %s; EXEC" % (k1, k2),
         "--json", "--quiet"], timeout=MULTI_SECS + 60)
    if not B.check_alive(s, "MULTI/EXEC " + label):
        return
    try:
        j = json.loads(out)
    except ValueError:
        B.note("%s: sluice-bench MULTI %s rc=%s: %s" %
               (role, label, rc, (err or out).strip()[-300:]))
        return
    if rc != 0 or j["errors"] or j["unanswered"]:
        B.note("%s: sluice-bench MULTI %s rc=%s errors=%s timeouts=%s "
               "unanswered=%s" % (role, label, rc, j["errors"], j["timeouts"],
                                  j["unanswered"]))
    v1, v2 = s.cmd("GET", k1), s.cmd("GET", k2)
    n1, n2 = int(v1 or 0), int(v2 or 0)
    if n1 != n2 or n1 != j["completed"]:
        B.note("%s: MULTI %s: %s=%d %s=%d but %d transactions completed" %
               (role, label, k1, n1, k2, n2, j["completed"]))
    # timeouts = replies later than 1 s; on this shared machine redis-server
    # shows them too, so they are recorded, not treated as failures.
    e = {"tps": j["achieved_rate"], "p50": j["latency_us"]["p50"],
         "p99": j["latency_us"]["p99"], "timeouts": j["timeouts"]}
    B.log("  %-7s MULTI %-11s %9.0f tx/s  p50 %.0f us  p99 %.0f us" %
          (role, label, e["tps"], e["p50"], e["p99"]))
    res.setdefault("multi " + label, {}).setdefault(role, []).append(e)


def section_multi(role, workdir, res):
    s = start(role, workdir)
    try:
        cross, same = multi_keys(role)
        if role != "redis":
            for k in cross + same:
                if s.cmd("CLUSTER", "KEYSLOT", k) != slot(k):
                    B.note("CLUSTER KEYSLOT %s disagrees with CRC16" % k)
        multi_run(s, role, cross, res, "cross-shard")
        multi_run(s, role, same, res, "same-shard")
    finally:
        B.stop_server(s)


# ---------------------------------------------------------------- report

def med(res, key, role, f):
    v = [r[f] for r in res.get(key, {}).get(role, []) if f in r]
    return statistics.median(v) if v else None


fmt, ratio = B.fmt, B.ratio

# Foundation (940eafe, 2026-11-25 full) sluiced 1-worker medians, for item 4.
FOUNDATION = {"SET P1": (99900, 0.311, 0.535), "GET P1": (98445, 0.311, 0.551),
              "SET P16": (1434720, 0.423, 0.743), "GET P16": (1402524, 0.423, 0.767)}


def hop_table(hop, title):
    """The hop section's table for one server variant (empty when not run)."""
    out = []
    if not hop:
        return out
    def m(f, rows=hop):
        return statistics.median(r[f] for r in rows)
    out += ["Cross-shard hop, 2 workers%s: %d connections, each %d sequential "
            "GETs paced at %d/s, keys drawn at random from %d owned by "
            "worker 0 and %d owned by worker 1; latency measured by the "
            "Python client (includes its own overhead, the same for both "
            "sets); local = the set with the lower p50 on that connection. "
            "CPU/op: %d closed-loop GETs per set on the same connection, "
            "server utime+stime / ops." % (
                " with busy-poll" if "busy" in title else "", len(hop), HOP_OPS, HOP_RATE, HOP_KEYS, HOP_KEYS, HOP_CPU_OPS), "",
            "| connections | n | local p50 us | remote p50 us | hop p50 us "
            "| local p99 | remote p99 | CPU/op local us | CPU/op remote us "
            "| closed-loop ops/s local / remote |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    groups = [("all", hop)] + [("on worker %d" % w, [r for r in hop if r["worker"] == w])
                               for w in (0, 1)]
    for name, rows in groups:
        if not rows:
            continue
        out.append("| %s | %d | %.1f | %.1f | %+.1f | %.1f | %.1f | %.2f | "
                   "%.2f | %.0f / %.0f |" % (
                       name, len(rows), m("local_p50", rows), m("remote_p50", rows),
                       m("hop", rows), m("local_p99", rows), m("remote_p99", rows),
                       m("local_cpu_us", rows), m("remote_cpu_us", rows),
                       m("local_cl_ops", rows), m("remote_cl_ops", rows)))
    out.append("")
    return out


def report(res, roles_run):
    out = []
    if any(k.startswith(("SET", "GET")) for k in res):
        out += ["Throughput: redis-benchmark -c %d -r %d -d %d, P1 %d and P16 %d "
                "requests per run, client pinned to CPU 1; latency ms; CPU = "
                "server CPU-s per million ops; ratios vs redis-server (r) and vs "
                "sluiced 1 worker (w1), of medians." % (
                    B.CONNS, B.KEYSPACE, B.VALUE_SIZE, REQUESTS[1], REQUESTS[16]), "",
                "| test | server | ops/s | vs r | vs w1 | p50 | p99 | CPU/Mop | "
                "others' CPU |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for p in B.PIPELINES:
            for t in ("SET", "GET"):
                k = "%s P%d" % (t, p)
                for role in ROLE_ORDER:
                    if role not in res.get(k, {}):
                        continue
                    o = med(res, k, role, "ops")
                    out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                        k, role, fmt(o, ".0f"),
                        fmt(ratio(o, med(res, k, "redis", "ops")), ".2f"),
                        fmt(ratio(o, med(res, k, "sluice1", "ops")), ".2f"),
                        fmt(med(res, k, role, "p50"), ".3f"),
                        fmt(med(res, k, role, "p99"), ".3f"),
                        fmt(med(res, k, role, "cpu_per_mop"), ".2f"),
                        fmt(med(res, k, role, "contended") and
                            100 * med(res, k, role, "contended"), ".0f") + "%"))
        out.append("")
        if "sluice1" in roles_run:
            out += ["1 worker vs the foundation section (940eafe, sluiced "
                    "medians):", "",
                    "| test | 940eafe ops/s | now ops/s | ratio | 940eafe p50/p99 "
                    "| now p50/p99 |", "|---|---:|---:|---:|---|---|"]
            for k, (o, a, b) in FOUNDATION.items():
                n = med(res, k, "sluice1", "ops")
                out.append("| %s | %d | %s | %s | %.3f / %.3f | %s / %s |" % (
                    k, o, fmt(n, ".0f"), fmt(ratio(n, o), ".2f"), a, b,
                    fmt(med(res, k, "sluice1", "p50"), ".3f"),
                    fmt(med(res, k, "sluice1", "p99"), ".3f")))
            out.append("")
    for hop_key in ("hop", "hop busy-poll"):
        out += hop_table(res.get(hop_key, []), hop_key)
    mk = [k for k in res if k.startswith("multi ")]
    if mk:
        out += ["MULTI; INCR k1; INCR k2; EXEC as one write, %d connections closed "
                "loop for %d s (perf/bench/sluice-bench, 1 thread on CPU 1); "
                "transactions/s, latency us; ratio vs redis of medians. "
                "cross-shard keys: owned by workers 0 and 3 of 4 (0 and 1 with 2 "
                "workers); same-shard: {t}a, {t}b." % (MULTI_CONNS, MULTI_SECS), "",
                "| keys | server | tx/s | vs redis | p50 | p99 | replies > 1 s (sum) |",
                "|---|---|---:|---:|---:|---:|---:|"]
        for k in ("multi cross-shard", "multi same-shard"):
            for role in ROLE_ORDER:
                if role in res.get(k, {}):
                    t = med(res, k, role, "tps")
                    out.append("| %s | %s | %s | %s | %s | %s | %d |" % (
                        k[6:], role, fmt(t, ".0f"),
                        fmt(ratio(t, med(res, k, "redis", "tps")), ".2f"),
                        fmt(med(res, k, role, "p50"), ".0f"),
                        fmt(med(res, k, role, "p99"), ".0f"),
                        sum(r["timeouts"] for r in res[k][role])))
        out.append("")
    if B.problems:
        out += ["Problems seen during the run:", ""]
        out += ["* " + p.replace("\n", "\n  ") for p in B.problems]
    return "\n".join(out).rstrip("\n")


def raw(res):
    lines = []
    for k in sorted(res):
        v = res[k]
        if isinstance(v, list):
            lines.append("%s: %s" % (k, json.dumps(
                [{f: round(x, 2) for f, x in sorted(r.items())} for r in v])))
        else:
            for role in sorted(v):
                lines.append("%s / %s: %s" % (k, role, json.dumps(
                    [{f: round(x, 3) for f, x in sorted(r.items())} for r in v[role]])))
    return "\n".join(lines)


def main():
    only = ARGS.only.split(",")
    workdir = B.tempfile.mkdtemp(prefix="sluice-shards-")
    res = {}
    la0 = B.loadavg()
    try:
        files = {"bench_keys": os.path.join(workdir, "keys.resp")}
        B.gen_resp(files["bench_keys"], B.KEYSPACE, b"key:%012d", [])
        os.sync()
        for rnd in range(ARGS.rounds):
            order = ROLE_ORDER if rnd % 2 == 0 else ROLE_ORDER[::-1]
            B.log("round %d/%d" % (rnd + 1, ARGS.rounds))
            for sec in only:
                try:
                    if sec == "throughput":
                        for role in order:
                            section_throughput(role, workdir, files, res)
                    elif sec == "hop":
                        section_hop(workdir, res)
                    elif sec == "hop-busy":
                        section_hop(workdir, res, "sluice2bp", "hop busy-poll")
                    elif sec == "multi":
                        for role in order:
                            if role != "sluice2":
                                section_multi(role, workdir, res)
                except (RuntimeError, OSError, B.RespError, ConnectionError) as e:
                    B.note("%s section failed: %s" % (sec, e))
        table = report(res, ROLE_ORDER)
        print(table)
        if ARGS.write:
            write(table, res, la0)
    finally:
        for s in list(B.live_servers):
            B.stop_server(s)
        subprocess.run(["rm", "-rf", workdir])
    return 1 if B.problems else 0


def write(table, res, la0):
    path = os.path.join(REPO, "perf", "RESULTS.md")
    date = datetime.date.today().isoformat()
    tag = "%s shards" % date
    rv, sha = B.versions()
    body = "\n".join([
        "<!-- bench:begin %s -->" % tag,
        "## %s (shards: 1/2/4 workers, cross-shard hop, MULTI/EXEC; %d rounds)"
        % (date, ARGS.rounds), "",
        "* Command: `perf/shards.py %s`" % " ".join(shlex.quote(a) for a in sys.argv[1:]),
        "* Machine: %s; load average %s at start, %s at end" % (
            B.machine(), la0, B.loadavg()),
    ] + (["* Note: %s" % ARGS.note] if ARGS.note else []) + [
        "* redis: %s" % rv, "* sluice: %s; repository HEAD %s" % (SLUICED, sha),
        "", table, "", "<details><summary>Per-round values</summary>", "",
        "```", raw(res), "```", "", "</details>",
        "<!-- bench:end %s -->" % tag])
    with open(path) as f:
        text = f.read()
    pat = re.compile(r"<!-- bench:begin %s -->.*?<!-- bench:end %s -->" %
                     (re.escape(tag), re.escape(tag)), re.S)
    text = pat.sub(lambda _m: body, text) if pat.search(text) else \
        text.rstrip("\n") + "\n\n" + body + "\n"
    with open(path, "w") as f:
        f.write(text)
    B.log("wrote section \"%s\" to %s" % (tag, path))


if __name__ == "__main__":
    B.signal.signal(B.signal.SIGTERM, B.on_term)
    sys.exit(main())
