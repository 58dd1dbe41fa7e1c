#!/usr/bin/python3
"""BGSAVE under load: sluiced's fork-less snapshot against redis-server's
fork, side by side.

For each server (pinned with taskset to CPU 0, one at a time, order flipped
each round; sluiced with one dataplane worker on CPU 0, so its snapshot
writer thread shares that CPU as redis's forked child does):
  * prefill N keys (sluice-bench --prefill: "key:%012d", 32-byte values);
  * BGSAVE on the idle server: its duration (BGSAVE until
    rdb_bgsave_in_progress:0, polled every 5 ms);
  * a 50/50 GET/SET open-loop load from sluice-bench (pinned to CPU 1) at
    --rate for --seconds, twice: once with no snapshot ("before"), once
    with BGSAVEs back to back for the whole run ("during"); p50/p99/p99.9
    and max latency of each; the BGSAVE durations under load;
  * peak memory above the pre-snapshot RSS, sampled every 10 ms while
    snapshots run: sluiced's process RSS; redis-server's RSS plus its
    child's private pages (Private_Clean + Private_Dirty of
    /proc/<child>/smaps_rollup: the copies its writes forced), as % of
    used_memory before the snapshot;
  * load time of the resulting dump.rdb in both servers ("DB loaded from
    disk: X seconds" in their logs), for the file sluiced wrote and the
    file redis-server wrote.
Ports 7300-7399 (perf/bench.py's); servers stopped by PID.

usage: perf/snapshot.py [--sluiced PATH] [--keys N] [--rate R] [--seconds S]
                        [--rounds R] [--write]
"""
import argparse
import datetime
import os
import re
import shutil
import statistics
import sys
import threading
import time
import json

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ap = argparse.ArgumentParser()
ap.add_argument("--sluiced", default=os.path.join(REPO, "build/dataplane/sluiced"))
ap.add_argument("--bench", default=os.path.join(REPO, "build/perf/bench/sluice-bench"))
ap.add_argument("--keys", type=int, default=1000000)
ap.add_argument("--rate", type=int, default=10000, help="requests/s of the load")
ap.add_argument("--seconds", type=float, default=6.0, help="length of each load run")
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--write", action="store_true", help="write the section of perf/RESULTS.md")
ARGS = ap.parse_args()
os.environ.setdefault("BENCH_REPO", REPO)
os.environ["BENCH_SLUICED"] = os.path.abspath(ARGS.sluiced)
sys.path.insert(0, HERE)
import bench as B  # noqa: E402

ROLES = ("redis", "sluice")


def info(s, section):
    return s.info(section)


def bgsave_running(s):
    return info(s, "persistence").get("rdb_bgsave_in_progress") == "1"


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def private_bytes(pid):
    """Private_Clean + Private_Dirty of a process, in bytes (0 if gone)."""
    n = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    n += int(line.split()[1]) * 1024
    except OSError:
        return 0
    return n


def footprint(s):
    """Bytes the server holds now: its RSS, plus a forked child's private
    pages (redis)."""
    n = s.rss_bytes()
    for c in children(s.proc.pid):
        n += private_bytes(c)
    return n


def one_bgsave(s, peak):
    """BGSAVE and wait for its end; seconds. peak[0] gets the largest
    footprint seen meanwhile."""
    t0 = time.monotonic()
    r = s.cmd("BGSAVE")
    assert "started" in str(r), r
    while True:
        peak[0] = max(peak[0], footprint(s))
        if not bgsave_running(s):
            break
        if time.monotonic() - t0 > 300:
            raise RuntimeError("%s: BGSAVE did not end in 300 s" % s.role)
        time.sleep(0.005)
    dt = time.monotonic() - t0
    st = info(s, "persistence").get("rdb_last_bgsave_status")
    if st != "ok":
        raise RuntimeError("%s: BGSAVE status %s\n%s" % (s.role, st, s.log_tail()))
    return dt


def load_run(s):
    """An open-loop 50/50 GET/SET run; its JSON result."""
    rc, out, err = B.client_run(
        [ARGS.bench, "--port", str(s.port), "--key-space", str(ARGS.keys), "--ratio", "1:1",
         "--rate", str(ARGS.rate), "--duration", str(ARGS.seconds), "--clients", "50",
         "--json", "--quiet"], timeout=ARGS.seconds + 120)
    if rc is None or not out.strip():
        raise RuntimeError("%s: sluice-bench failed: rc=%s %s" % (s.role, rc, err[-300:]))
    return json.loads(out)


def measure(role, workdir):
    s = B.start_server(role, workdir)
    try:
        rc, out, err = B.client_run(
            [ARGS.bench, "--port", str(s.port), "--key-space", str(ARGS.keys), "--prefill",
             "--requests", "1", "--quiet", "--json"])
        assert rc == 0, err
        dbsize = s.cmd("DBSIZE")
        assert dbsize == ARGS.keys, dbsize
        used = int(info(s, "memory")["used_memory"])
        B.wait_quiet()
        idle = one_bgsave(s, [0])
        before = load_run(s)
        rss0 = footprint(s)
        peak = [rss0]
        durs = []
        res = {}
        t = threading.Thread(target=lambda: res.setdefault("r", load_run(s)), daemon=True)
        t0 = time.monotonic()
        t.start()
        while t.is_alive() and time.monotonic() - t0 < ARGS.seconds:
            durs.append(one_bgsave(s, peak))
        t.join(ARGS.seconds + 120)
        during = res["r"]
        cow = int(info(s, "persistence").get("rdb_last_cow_size", 0))
        dump = os.path.join(workdir, "%s.rdb" % role)
        path = os.path.join(os.path.dirname(s.logpath), "dump.rdb")
        shutil.copy(path, dump)
        return {
            "used_mb": used / 1e6,
            "idle_bgsave_s": idle,
            "load_bgsave_s": statistics.median(durs),
            "bgsaves": len(durs),
            "covered": min(1.0, sum(durs) / ARGS.seconds),
            "p50_before_us": before["latency_us"]["p50"],
            "p99_before_us": before["latency_us"]["p99"],
            "p999_before_us": before["latency_us"]["p999"],
            "max_before_us": before["latency_us"]["max"],
            "p50_during_us": during["latency_us"]["p50"],
            "p99_during_us": during["latency_us"]["p99"],
            "p999_during_us": during["latency_us"]["p999"],
            "max_during_us": during["latency_us"]["max"],
            "rate_during": during["achieved_rate"],
            "peak_extra_pct": 100.0 * (peak[0] - rss0) / used,
            "reported_cow_mb": cow / 1e6,
            "file_mb": os.path.getsize(dump) / 1e6,
        }, dump
    finally:
        B.stop_server(s)


def load_time(role, dump, workdir):
    """Seconds the server reports for loading dump (copied into a fresh dir)."""
    d = B.tempfile.mkdtemp(prefix="load-%s-" % role, dir=workdir)
    shutil.copy(dump, os.path.join(d, "dump.rdb"))
    orig = B.ROLES[role]
    B.ROLES[role] = lambda port: orig(port) + ["--dir", d]
    try:
        s = B.start_server(role, workdir)
    finally:
        B.ROLES[role] = orig
    try:
        dbsize = s.cmd("DBSIZE")
        assert dbsize == ARGS.keys, (role, dbsize)
        with open(s.logpath, errors="replace") as f:
            m = re.findall(r"DB loaded from disk: ([0-9.]+) seconds", f.read())
        return float(m[-1])
    finally:
        B.stop_server(s)
        shutil.rmtree(d, ignore_errors=True)


def main():
    workdir = B.tempfile.mkdtemp(prefix="sluice-snapshot-")
    la0 = B.loadavg()
    res, loads = {}, {}
    try:
        for rnd in range(ARGS.rounds):
            dumps = {}
            for role in (ROLES if rnd % 2 == 0 else ROLES[::-1]):
                e, dumps[role] = measure(role, workdir)
                B.log("%-6s bgsave idle %.3f s, under load %.3f s (%d); p99 %.0f -> %.0f us, "
                      "max %.0f -> %.0f us; peak extra %.1f%%" % (
                          role, e["idle_bgsave_s"], e["load_bgsave_s"], e["bgsaves"],
                          e["p99_before_us"], e["p99_during_us"], e["max_before_us"],
                          e["max_during_us"], e["peak_extra_pct"]))
                res.setdefault(role, []).append(e)
            for writer in ROLES:
                for loader in ROLES:
                    B.wait_quiet()
                    t = load_time(loader, dumps[writer], workdir)
                    B.log("file of %s loaded by %s in %.3f s" % (writer, loader, t))
                    loads.setdefault((writer, loader), []).append(t)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    def m(role, f):
        return statistics.median(x[f] for x in res[role])

    rows = [
        ("BGSAVE, idle server (s)", "idle_bgsave_s", "%.3f"),
        ("BGSAVE under the load (s, median)", "load_bgsave_s", "%.3f"),
        ("share of the 'during' run inside a BGSAVE", "covered", "%.2f"),
        ("p50 before / during (us)", ("p50_before_us", "p50_during_us"), "%.0f / %.0f"),
        ("p99 before / during (us)", ("p99_before_us", "p99_during_us"), "%.0f / %.0f"),
        ("p99.9 before / during (us)", ("p999_before_us", "p999_during_us"), "%.0f / %.0f"),
        ("max before / during (us)", ("max_before_us", "max_during_us"), "%.0f / %.0f"),
        ("requests/s achieved during", "rate_during", "%.0f"),
        ("peak memory above pre-snapshot RSS (% of used_memory)", "peak_extra_pct", "%.1f"),
        ("rdb_last_cow_size (MB)", "reported_cow_mb", "%.1f"),
        ("used_memory (MB)", "used_mb", "%.1f"),
        ("dump.rdb (MB)", "file_mb", "%.1f"),
    ]
    out = ["| %d keys | redis-server (fork) | sluice (fork-less) |" % ARGS.keys,
           "|---|---:|---:|"]
    for name, f, spec in rows:
        if isinstance(f, tuple):
            vals = [spec % (m(r, f[0]), m(r, f[1])) for r in ROLES]
        else:
            vals = [spec % m(r, f) for r in ROLES]
        out.append("| %s | %s | %s |" % (name, vals[0], vals[1]))
    out += ["", "| load time (s, median) | loaded by redis-server | loaded by sluice |",
            "|---|---:|---:|"]
    for writer in ROLES:
        out.append("| file written by %s | %.3f | %.3f |" % (
            writer, statistics.median(loads[(writer, "redis")]),
            statistics.median(loads[(writer, "sluice")])))
    table = "\n".join(out)
    print(table)
    raw = json.dumps({"runs": res, "loads": {"%s->%s" % k: v for k, v in loads.items()}},
                     indent=None, sort_keys=True)
    if ARGS.write:
        begin, end = "<!-- snapshot:begin -->", "<!-- snapshot:end -->"
        rv, sha = B.versions()
        body = "\n".join([
            begin,
            "## %s BGSAVE under load: fork-less snapshot vs fork (perf/snapshot.py, "
            "%d rounds)" % (datetime.date.today().isoformat(), ARGS.rounds), "",
            "* Command: `perf/snapshot.py %s`; %s; sluice at %s; %s; load average %s at "
            "start, %s at end (the machine was shared with other builds and tests: "
            "latency figures are noisy)" % (" ".join(sys.argv[1:]), rv, sha, B.machine(), la0,
                                            B.loadavg()),
            "* Each server pinned to CPU 0 (sluiced: one worker; its snapshot writer "
            "thread and redis's forked child share that CPU), the load generator to "
            "CPU 1. %d keys of 32 bytes; load = sluice-bench open loop, 50 "
            "connections, 50/50 GET/SET over the whole key space at %d requests/s for "
            "%.0f s, once without snapshots (before) and once with BGSAVEs back to back "
            "(during). Peak memory: sluiced's RSS; redis-server's RSS plus its child's "
            "private pages; above the RSS before the snapshots. Medians over rounds." % (
                ARGS.keys, ARGS.rate, ARGS.seconds), "",
            table, "",
            "<details><summary>Per-round values</summary>", "", "```", raw, "```", "",
            "</details>",
            end])
        B.replace_section(begin, end, body)


if __name__ == "__main__":
    main()
