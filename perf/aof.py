#!/usr/bin/python3
"""The price of the append-only file: SET throughput, latency and server CPU
with appendfsync always, everysec and AOF off, for sluiced and redis-server
side by side in one run.

redis-benchmark -c 50 -t set -d 32 -r 100000 (closed loop, pipeline 1) on
CPU 1, the whole server process (workers and its persistence threads) on
CPU 0; each run on a fresh server in a fresh directory on the same disk;
rounds alternate which server goes first; medians over rounds. Ports
7300-7399 (perf/bench.py's); servers stopped by PID.

usage: perf/aof.py [--sluiced PATH] [--rounds R] [--quick] [--write]
"""
import argparse
import datetime
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ap = argparse.ArgumentParser()
ap.add_argument("--sluiced", default=os.path.join(REPO, "build/dataplane/sluiced"))
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--quick", action="store_true", help="100k requests per run (default 500k)")
ap.add_argument("--write", action="store_true")
ARGS = ap.parse_args()
os.environ.setdefault("BENCH_REPO", REPO)
os.environ["BENCH_SLUICED"] = os.path.abspath(ARGS.sluiced)
if ARGS.quick:
    os.environ["BENCH_QUICK"] = "1"
sys.path.insert(0, HERE)
import bench as B  # noqa: E402

MODES = {
    "off": ["--appendonly", "no"],
    "everysec": ["--appendonly", "yes", "--appendfsync", "everysec"],
    "always": ["--appendonly", "yes", "--appendfsync", "always"],
}


def measure(role, mode, workdir):
    base = {"redis": B.redis_argv, "sluice": B.sluice_argv}[role]
    # Later arguments win in both servers' command lines.
    B.ROLES[role] = lambda port: base(port) + MODES[mode]
    s = B.start_server(role, workdir)
    try:
        e = B.bench_run(s, role, 1, "SET")
        if e is not None:
            info = s.info("persistence")
            e["aof_size"] = int(info.get("aof_current_size", 0) or 0)
            e["fsyncs"] = info.get("aof_fsyncs")  # sluice only
        return e
    finally:
        B.ROLES[role] = base
        B.stop_server(s)


def main():
    workdir = B.tempfile.mkdtemp(prefix="sluice-aofbench-")
    la0 = B.loadavg()
    res = {}
    for rnd in range(ARGS.rounds):
        for mode in MODES:
            for role in (("redis", "sluice") if rnd % 2 == 0 else ("sluice", "redis")):
                e = measure(role, mode, workdir)
                if e is not None:
                    res.setdefault((role, mode), []).append(e)
    B.subprocess.run(["rm", "-rf", workdir])

    def m(role, mode, f):
        xs = [x[f] for x in res.get((role, mode), [])]
        return statistics.median(xs) if xs else float("nan")

    out = ["| appendfsync | redis ops/s | sluice ops/s | sluice/redis | redis p50 / p99 ms "
           "| sluice p50 / p99 ms | redis CPU-s per M ops | sluice CPU-s per M ops "
           "| runs contended (>15%) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for mode in MODES:
        cont = sum(1 for role in ("redis", "sluice") for x in res.get((role, mode), [])
                   if x["contended"] > 0.15)
        out.append("| %s | %.0f | %.0f | %.2f | %.3f / %.3f | %.3f / %.3f | %.2f | %.2f | %d |" % (
            mode, m("redis", mode, "ops"), m("sluice", mode, "ops"),
            m("sluice", mode, "ops") / m("redis", mode, "ops"),
            m("redis", mode, "p50"), m("redis", mode, "p99"),
            m("sluice", mode, "p50"), m("sluice", mode, "p99"),
            m("redis", mode, "cpu_per_mop"), m("sluice", mode, "cpu_per_mop"), cont))
    t = {role: {mode: m(role, mode, "ops") for mode in MODES} for role in ("redis", "sluice")}
    targets = [
        ("sluice always >= 2x redis always", t["sluice"]["always"] / t["redis"]["always"], 2.0),
        ("sluice always >= 0.8x sluice AOF off", t["sluice"]["always"] / t["sluice"]["off"], 0.8),
        ("sluice everysec >= 0.95x sluice AOF off",
         t["sluice"]["everysec"] / t["sluice"]["off"], 0.95),
        ("(reference) redis always / redis off", t["redis"]["always"] / t["redis"]["off"], 0),
    ]
    out += ["", "| target | measured | met |", "|---|---:|---|"]
    for name, v, goal in targets:
        out.append("| %s | %.2f | %s |" % (name, v, "-" if not goal else
                                            ("yes" if v >= goal else "NO")))
    table = "\n".join(out)
    print(table)
    if ARGS.write:
        begin, end = "<!-- aof:begin -->", "<!-- aof:end -->"
        rv, sha = B.versions()
        body = "\n".join([
            begin, "## %s append-only file: SET with appendfsync always / everysec / off "
            "(perf/aof.py, %d rounds)" % (datetime.date.today().isoformat(), ARGS.rounds), "",
            "* Command: `perf/aof.py %s`; %s; sluice at %s; load average %s at start, %s at "
            "end." % (" ".join(sys.argv[1:]), rv, sha, la0, B.loadavg()),
            "* `redis-benchmark -c 50 -t set -d 32 -r 100000 -n %d --csv` on CPU 1; the server "
            "process (all its threads) on CPU 0, sluiced with one worker; AOF files on the "
            "machine's disk (%s); fresh server and directory per run; medians over rounds. "
            "CPU = the server process's user+system time per million SETs." % (
                B.REQUESTS[1], B.subprocess.run(["df", "--output=source,fstype", workdir
                                                 if os.path.exists(workdir) else "/tmp"],
                                                capture_output=True, text=True)
                .stdout.split("\n")[1].strip()), "", table, "", end])
        B.replace_section(begin, end, body)


if __name__ == "__main__":
    main()
