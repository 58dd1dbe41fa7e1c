#!/usr/bin/python3
"""How long deleting a big collection stalls the server: DEL (frees inline)
against UNLINK and FLUSHALL ASYNC (free on the lazy-free thread), for
sluiced and redis-server side by side.

For each type a collection of N elements is built (pipelined), then a
pinger connection sends PING back to back and records each round trip while
another connection deletes the key; the stall is the longest PING round
trip in the window around the delete, minus the median one before it.
Server pinned to CPU 0, client to CPU 1; ports 7300-7399 (perf/bench.py's);
servers stopped by PID.

usage: perf/lazyfree.py [--sluiced PATH] [--elements N] [--rounds R] [--server-cpus 0,1] [--write]
"""
import argparse
import datetime
import os
import socket
import statistics
import sys
import threading
import time

import redis

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ap = argparse.ArgumentParser()
ap.add_argument("--sluiced", default=os.path.join(REPO, "build/dataplane/sluiced"))
ap.add_argument("--elements", type=int, default=1000000)
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--server-cpus", default="0",
                help="CPUs of the server process (its dataplane worker is on CPU 0): "
                     "'0,1' lets the lazy-free thread run beside the worker")
ap.add_argument("--write", action="store_true")
ARGS = ap.parse_args()
os.environ.setdefault("BENCH_REPO", REPO)
os.environ["BENCH_SLUICED"] = os.path.abspath(ARGS.sluiced)
sys.path.insert(0, HERE)
import bench as B  # noqa: E402

BUILD = {
    "hash": lambda p, i: p.hset("big", "f%d" % i, "v"),
    "set": lambda p, i: p.sadd("big", "m%d" % i),
    "zset": lambda p, i: p.zadd("big", {"m%d" % i: i}),
    "list": lambda p, i: p.rpush("big", "e%d" % i),
}
DELETES = ("DEL big", "UNLINK big", "FLUSHALL ASYNC")


def build(r, kind):
    n = ARGS.elements
    for base in range(0, n, 10000):
        p = r.pipeline(transaction=False)
        for i in range(base, min(n, base + 10000)):
            BUILD[kind](p, i)
        p.execute()


def ping_rtts(port, stop, out):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while not stop.is_set():
        t0 = time.perf_counter()
        s.sendall(b"PING\r\n")
        buf = b""
        while not buf.endswith(b"\r\n"):
            buf += s.recv(64)
        out.append((t0, time.perf_counter() - t0))
    s.close()


def measure(role, kind, delete):
    B.SERVER_CPU = ARGS.server_cpus
    s = B.start_server(role, WORKDIR)
    try:
        r = redis.Redis(port=s.port)
        build(r, kind)
        assert r.exists("big")
        os.sched_setaffinity(0, {1})
        rtts, stop = [], threading.Event()
        t = threading.Thread(target=ping_rtts, args=(s.port, stop, rtts), daemon=True)
        t.start()
        time.sleep(0.3)
        t_del = time.perf_counter()
        r.execute_command(*delete.split())
        took = time.perf_counter() - t_del
        time.sleep(0.3)
        stop.set()
        t.join(5)
        before = [d for (t0, d) in rtts if t0 < t_del]
        during = [d for (t0, d) in rtts if t0 >= t_del - 0.01]
        base = statistics.median(before)
        return {"stall_ms": max(0.0, (max(during) - base) * 1000), "cmd_ms": took * 1000}
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count())))
        B.stop_server(s)


def main():
    global WORKDIR
    WORKDIR = B.tempfile.mkdtemp(prefix="sluice-lazyfree-")
    res = {}
    la0 = os.getloadavg()[0]
    for kind in BUILD:
        for delete in DELETES:
            for rnd in range(ARGS.rounds):
                for role in (("redis", "sluice") if rnd % 2 == 0 else ("sluice", "redis")):
                    B.wait_quiet()
                    e = measure(role, kind, delete)
                    B.log("%-4s %-14s %-6s stall %.2f ms, command %.2f ms" % (
                        kind, delete, role, e["stall_ms"], e["cmd_ms"]))
                    res.setdefault((kind, delete, role), []).append(e)
    B.subprocess.run(["rm", "-rf", WORKDIR])
    out = ["| type | delete | redis stall ms | sluice stall ms | redis command ms "
           "| sluice command ms |", "|---|---|---:|---:|---:|---:|"]
    for kind in BUILD:
        for delete in DELETES:
            def m(role, f):
                return statistics.median(x[f] for x in res[(kind, delete, role)])
            out.append("| %s | %s | %.2f | %.2f | %.2f | %.2f |" % (
                kind, delete, m("redis", "stall_ms"), m("sluice", "stall_ms"),
                m("redis", "cmd_ms"), m("sluice", "cmd_ms")))
    table = "\n".join(out)
    print(table)
    if ARGS.write:
        begin, end = "<!-- lazyfree:begin -->", "<!-- lazyfree:end -->"
        rv, sha = B.versions()
        body = "\n".join([
            begin, "## %s deleting big collections (perf/lazyfree.py, %d rounds)" % (
                datetime.date.today().isoformat(), ARGS.rounds), "",
            "* Command: `perf/lazyfree.py %s`; %s; sluice at %s; load average %.2f at "
            "start, %.2f at end" % (" ".join(sys.argv[1:]), rv, sha, la0, os.getloadavg()[0]),
            "* One collection of %d elements; a second connection PINGs back to back; "
            "stall = the longest PING round trip from the delete on, minus the median "
            "before it (medians over rounds). Command = the delete's own round trip. "
            "Server process on CPUs %s (sluiced's worker on CPU 0), client on CPU 1." % (
                ARGS.elements, ARGS.server_cpus), "", table, "", end])
        B.replace_section(begin, end, body)


if __name__ == "__main__":
    main()
