#!/usr/bin/python3
"""Side-by-side benchmark of sluiced and redis-server 7.0 on one core each.

Driven by perf/bench.sh, which parses the command line and passes settings in
the environment (BENCH_*). Standard library only.

How a run is laid out (see perf/RESULTS.md for the why):
  * every server runs pinned to CPU 0 (taskset -c 0), every client
    (redis-benchmark, redis-cli --pipe) pinned to CPU 1;
  * only one server is alive at a time; for every section of every round both
    servers run back to back, and the order flips each round so slow drift of
    the machine hits both equally;
  * each section starts a fresh server on a free loopback port in 7300-7399
    and stops it by PID (SIGTERM, then SIGKILL after a grace period);
  * the report shows the median over rounds and the sluice/redis ratio of the
    medians.

Sections:
  throughput  SET and GET, 50 connections, -r 100000 -d 32, pipeline 1 and 16:
              ops/s, p50/p99 latency (redis-benchmark --csv), and server
              CPU-seconds per million operations from /proc/PID/stat.
  memory      used_memory and used_memory_rss (INFO memory) before and after
              loading N keys "key:%07d" (11 bytes) with 32-byte values through
              redis-cli --pipe; once without and once with EX 100000.
  expiry      load N keys with PX <ttl>, then poll DBSIZE (which never touches
              a key) until 0: seconds from end of load, and server CPU-seconds
              over the same window.
"""

import datetime
import json
import os
import platform
import random
import resource
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

SERVER_CPU = "0"
CLIENT_CPU = "1"
PORT_LO, PORT_HI = 7300, 7399
CLK_TCK = os.sysconf("SC_CLK_TCK")

ENV = os.environ
REPO = ENV["BENCH_REPO"]
ROUNDS = int(ENV.get("BENCH_ROUNDS", "3"))
QUICK = ENV.get("BENCH_QUICK", "0") == "1"
DRY_RUN = ENV.get("BENCH_DRY_RUN", "0") == "1"
WRITE = ENV.get("BENCH_WRITE", "0") == "1"
SLUICED = ENV.get("BENCH_SLUICED", "")
SLUICED_ARGS = ENV.get("BENCH_SLUICED_ARGS", "").split()
REDIS_SERVER = ENV.get("BENCH_REDIS_SERVER", "redis-server")
CMDLINE = ENV.get("BENCH_CMDLINE", "perf/bench.sh")
SECTIONS = ENV.get("BENCH_SECTIONS", "throughput,memory,expiry").split(",")

CONNS = 50
KEYSPACE = 100000
VALUE_SIZE = 32
PIPELINES = (1, 16)
# Requests per redis-benchmark run: enough for a few seconds per run at the
# rates a single core reaches, so 10 ms CPU-tick granularity is noise.
REQUESTS = {1: 100000, 16: 400000} if QUICK else {1: 500000, 16: 2000000}
MEM_KEYS = 200000 if QUICK else 1000000
EXPIRE_TTL_MS = int(ENV.get("BENCH_TTL_MS", "2000"))

# A run during which other processes kept CPU 0 or 1 busy for more than
# CONTENDED_MAX of its wall time is redone, at most CONTENDED_RETRIES times.
CONTENDED_MAX = 0.10
CONTENDED_RETRIES = 2
# Before each timed run, wait up to QUIET_WAIT s for the machine to be below
# QUIET_BUSY busy (all CPUs together).
QUIET_WAIT = float(ENV.get("BENCH_QUIET_WAIT", "30"))
QUIET_BUSY = 0.10

RUN_TIMEOUT = 300      # any single client run (benchmark, load)
START_TIMEOUT = 15     # server answering PING
STOP_TIMEOUT = 10      # SIGTERM grace before SIGKILL
RECLAIM_TIMEOUT = 180  # expiry: give up waiting for DBSIZE 0 after this

problems = []          # human-readable notes that end up in the report
noise = ""             # load average and steal over the run, for the record


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def note(msg):
    log("!! " + msg)
    problems.append(msg)


# ---------------------------------------------------------------- RESP client

class RespError(Exception):
    pass


def resp_encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    """A tiny blocking RESP2 client, enough for PING/INFO/DBSIZE/GET."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.f = self.sock.makefile("rb")

    def close(self):
        self.f.close()
        self.sock.close()

    def cmd(self, *args):
        self.sock.sendall(resp_encode(*args))
        return self._read()

    def _read(self):
        line = self.f.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed")
        t, body = line[:1], line[1:-2]
        if t == b"+":
            return body.decode()
        if t == b"-":
            raise RespError(body.decode())
        if t == b":":
            return int(body)
        if t == b"$":
            n = int(body)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2]
        if t == b"*":
            n = int(body)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RespError("unexpected reply type %r" % line)


# ---------------------------------------------------------------- servers

used_ports = set()


def free_port():
    """A loopback port in 7300-7399 nothing listens on and we did not use yet
    in this run (avoids confusing a late-dying server with a new one)."""
    ports = list(range(PORT_LO, PORT_HI + 1))
    random.shuffle(ports)
    for p in ports:
        if p in used_ports:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            continue
        finally:
            s.close()
        used_ports.add(p)
        return p
    used_ports.clear()
    raise RuntimeError("no free port in %d-%d" % (PORT_LO, PORT_HI))


def redis_argv(port):
    return [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--daemonize", "no"]


def sluice_argv(port):
    if DRY_RUN:
        return redis_argv(port)
    # --save '' as redis-server gets: no snapshot may pause a measurement.
    return [SLUICED, "--port", str(port), "--bind", "127.0.0.1",
            "--dataplane-cores", "0", "--save", ""] + SLUICED_ARGS


ROLES = {"redis": redis_argv, "sluice": sluice_argv}


class Server:
    def __init__(self, role, workdir):
        self.role = role
        self.workdir = workdir
        self.proc = None
        self.port = None
        self.logpath = None

    def start(self):
        for attempt in range(3):
            self.port = free_port()
            d = tempfile.mkdtemp(prefix="%s-%d-" % (self.role, self.port),
                                 dir=self.workdir)
            self.logpath = os.path.join(d, "server.log")
            argv = ["taskset", "-c", SERVER_CPU] + ROLES[self.role](self.port)
            with open(self.logpath, "wb") as lf:
                # taskset execs the server, so proc.pid is the server's PID.
                self.proc = subprocess.Popen(argv, cwd=d, stdout=lf,
                                             stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL,
                                             start_new_session=True)
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    c = Conn(self.port, timeout=2)
                    try:
                        if c.cmd("PING") == "PONG":
                            return
                    finally:
                        c.close()
                except (OSError, RespError, ConnectionError):
                    pass
                time.sleep(0.05)
            why = self.death() or "did not answer PING in %ds" % START_TIMEOUT
            self.stop()
            log("%s failed to start on port %d: %s\n%s" %
                (self.role, self.port, why, self.log_tail()))
        raise RuntimeError("%s: could not start (see %s)" %
                           (self.role, self.logpath))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def death(self):
        """Why the server is gone, or None if it still runs."""
        if self.proc is None or self.proc.poll() is None:
            return None
        rc = self.proc.returncode
        if rc < 0:
            return "killed by signal %s" % signal.Signals(-rc).name
        return "exited with status %d" % rc

    def log_tail(self, n=15):
        try:
            with open(self.logpath, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
            return "\n".join("    | " + l for l in lines[-n:])
        except OSError:
            return ""

    def cpu_seconds(self):
        """utime+stime of the whole process (all threads), in seconds."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # fields[0] is field 3 (state); utime/stime are fields 14/15.
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def rss_bytes(self):
        with open("/proc/%d/statm" % self.proc.pid) as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def cmd(self, *args, timeout=10.0):
        c = Conn(self.port, timeout)
        try:
            return c.cmd(*args)
        finally:
            c.close()

    def info(self, section="memory"):
        try:
            text = self.cmd("INFO", section)
        except RespError:
            text = self.cmd("INFO")
        text = text.decode(errors="replace") if isinstance(text, bytes) else ""
        out = {}
        for line in text.splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                out[k.strip()] = v.strip()
        return out

    def stop(self):
        """Stop by PID: SIGTERM, then SIGKILL after STOP_TIMEOUT."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                note("%s (pid %d) ignored SIGTERM for %ds; sent SIGKILL" %
                     (self.role, self.proc.pid, STOP_TIMEOUT))
                self.proc.kill()
                self.proc.wait()
            except ProcessLookupError:
                pass
        self.proc = None


live_servers = []


def start_server(role, workdir):
    s = Server(role, workdir)
    live_servers.append(s)
    s.start()
    return s


def stop_server(s):
    s.stop()
    if s in live_servers:
        live_servers.remove(s)


def client_run(argv, stdin=None, timeout=RUN_TIMEOUT):
    """Run a client pinned to CLIENT_CPU; returns (rc, stdout, stderr).
    rc is None on timeout (the client's process group is killed)."""
    argv = ["taskset", "-c", CLIENT_CPU] + argv
    fin = open(stdin, "rb") if stdin else subprocess.DEVNULL
    try:
        p = subprocess.Popen(argv, stdin=fin, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout)
            return p.returncode, out.decode(errors="replace"), \
                err.decode(errors="replace")
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
            return None, out.decode(errors="replace"), \
                err.decode(errors="replace")
    finally:
        if stdin:
            fin.close()


def check_alive(s, what):
    why = s.death()
    if why:
        note("%s %s during %s (port %d); last log lines:\n%s" %
             (s.role, why, what, s.port, s.log_tail()))
        return False
    return True


# ---------------------------------------------------------------- load files

def value_for(i):
    return b"v%031d" % i   # 32 bytes, never integer-encodable


def gen_resp(path, nkeys, keyfmt, extra):
    """Write a RESP stream of SET key value [extra...] for nkeys keys."""
    extra_enc = b"".join(b"$%d\r\n%s\r\n" % (len(e), e) for e in extra)
    head = b"*%d\r\n$3\r\nSET\r\n" % (3 + len(extra))
    with open(path, "wb") as f:
        chunk = []
        for i in range(nkeys):
            k = keyfmt % i
            chunk.append(b"%s$%d\r\n%s\r\n$%d\r\n%s\r\n%s" %
                         (head, len(k), k, VALUE_SIZE, value_for(i), extra_enc))
            if len(chunk) == 65536:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))


def pipe_load(s, path, nkeys, what):
    """Load a RESP file with redis-cli --pipe; returns seconds or None."""
    t0 = time.monotonic()
    rc, out, err = client_run(["redis-cli", "-p", str(s.port), "--pipe"],
                              stdin=path)
    dt = time.monotonic() - t0
    if rc is None:
        note("%s: redis-cli --pipe timed out after %ds (%s)" %
             (s.role, RUN_TIMEOUT, what))
        return None
    m = re.search(r"errors:\s*(\d+),\s*replies:\s*(\d+)", out + err)
    if rc != 0 or not m or int(m.group(1)) != 0 or int(m.group(2)) != nkeys:
        note("%s: redis-cli --pipe failed (%s): rc=%s %s" %
             (s.role, what, rc, (out + err).strip().replace("\n", " | ")[-300:]))
        check_alive(s, what)
        return None
    return dt


# ---------------------------------------------------------------- sections

def parse_csv(text):
    """redis-benchmark 7.0 --csv -> {test: row dict}."""
    lines = [l for l in text.splitlines() if l.startswith('"')]
    if not lines:
        return {}
    hdr = [h.strip('"') for h in lines[0].split(",")]
    rows = {}
    for l in lines[1:]:
        vals = [v.strip('"') for v in l.split(",")]
        rows[vals[0]] = dict(zip(hdr, vals))
    return rows


def bench_run(s, role, p, test):
    """One redis-benchmark run; returns its figures or None (noted)."""
    key = "%s P%d" % (test, p)
    nreq = REQUESTS[p]
    wait_quiet()
    t0, c0 = time.monotonic(), s.cpu_seconds()
    b0, k0, l0 = cpu_busy(SERVER_CPU), cpu_busy(CLIENT_CPU), children_cpu()
    rc, out, err = client_run(
        ["redis-benchmark", "-p", str(s.port), "-c", str(CONNS),
         "-n", str(nreq), "-r", str(KEYSPACE), "-d", str(VALUE_SIZE),
         "-P", str(p), "-t", test.lower(), "--csv"])
    if not check_alive(s, "redis-benchmark " + key):
        return None
    t1, c1 = time.monotonic(), s.cpu_seconds()
    b1, k1, l1 = cpu_busy(SERVER_CPU), cpu_busy(CLIENT_CPU), children_cpu()
    row = parse_csv(out).get(test)
    if rc is None:
        note("%s: redis-benchmark %s timed out after %ds" %
             (role, key, RUN_TIMEOUT))
        return None
    if rc != 0 or row is None:
        note("%s: redis-benchmark %s failed rc=%s: %s" %
             (role, key, rc, (err or out).strip()[-300:]))
        return None
    if "rror" in err:
        note("%s: redis-benchmark %s stderr: %s" %
             (role, key, err.strip()[-300:]))
    e = {"ops": float(row["rps"]),
         "p50": float(row["p50_latency_ms"]),
         "p99": float(row["p99_latency_ms"]),
         "cpu_per_mop": (c1 - c0) / (nreq / 1e6),
         # Share of the run's wall time CPU 0 spent on anything but the
         # server, or CPU 1 on anything but the client: other work on the
         # machine stealing a core from the benchmark.
         "contended": max((b1 - b0) - (c1 - c0), (k1 - k0) - (l1 - l0),
                          0.0) / max(t1 - t0, 0.01)}
    log("  %-6s %-7s %10.0f ops/s  p50 %.3f  p99 %.3f ms  %.2f CPU-s/Mop  "
        "(CPUs busy with others %.0f%%)" % (
            role, key, e["ops"], e["p50"], e["p99"], e["cpu_per_mop"],
            100 * e["contended"]))
    return e


def section_throughput(role, workdir, files, res):
    s = start_server(role, workdir)
    try:
        if pipe_load(s, files["bench_keys"], KEYSPACE, "GET preload") is None:
            return
        n = s.cmd("DBSIZE")
        if n != KEYSPACE:
            note("%s: DBSIZE %r after preloading %d keys" % (role, n, KEYSPACE))
        # Unmeasured warm-up, so the first measured run does not pay for
        # page faults and the CPU's climb out of idle.
        client_run(["redis-benchmark", "-p", str(s.port), "-c", str(CONNS),
                    "-n", str(REQUESTS[16] // 4), "-r", str(KEYSPACE), "-d",
                    str(VALUE_SIZE), "-P", "16", "-t", "get", "-q"])
        for p in PIPELINES:
            for test in ("SET", "GET"):
                key = "%s P%d" % (test, p)
                for attempt in range(1 + CONTENDED_RETRIES):
                    e = bench_run(s, role, p, test)
                    if e is None or e["contended"] < CONTENDED_MAX:
                        break
                    log("  %-6s %-7s a CPU was %.0f%% busy with other work; "
                        "%s" % (role, key, 100 * e["contended"],
                                "retrying" if attempt < CONTENDED_RETRIES
                                else "keeping it"))
                    if attempt < CONTENDED_RETRIES:
                        time.sleep(2)
                if e is None:
                    if not s.alive():
                        return
                    continue
                e["attempts"] = attempt + 1
                res.setdefault(key, {}).setdefault(role, []).append(e)
        # A GET must return what SET stored: catches a server that answers
        # fast because it answers wrong.
        v = s.cmd("GET", "key:%012d" % 12345)
        if v is None or len(v) != VALUE_SIZE:
            note("%s: GET after the benchmark returned %r, expected %d bytes" %
                 (role, v, VALUE_SIZE))
    finally:
        stop_server(s)


def mem_fields(s):
    i = s.info("memory")
    um = int(i["used_memory"]) if "used_memory" in i else None
    if "used_memory_rss" in i:
        rss, src = int(i["used_memory_rss"]), "info"
    else:
        rss, src = s.rss_bytes(), "proc"
    return um, rss, src


def section_memory(role, workdir, files, res, kind):
    s = start_server(role, workdir)
    try:
        time.sleep(0.3)
        um0, rss0, src = mem_fields(s)
        if pipe_load(s, files[kind], MEM_KEYS, "memory load " + kind) is None:
            return
        n = s.cmd("DBSIZE")
        if n != MEM_KEYS:
            note("%s: DBSIZE %r after loading %d keys (%s)" %
                 (role, n, MEM_KEYS, kind))
        time.sleep(0.5)
        um1, rss1, src = mem_fields(s)
        if src == "proc":
            note("%s: INFO has no used_memory_rss; RSS read from /proc" % role)
        entry = {"rss": (rss1 - rss0) / MEM_KEYS}
        if um0 is None or um1 is None:
            note("%s: INFO memory has no used_memory" % role)
        else:
            entry["used"] = (um1 - um0) / MEM_KEYS
        res.setdefault(kind, {}).setdefault(role, []).append(entry)
        log("  %-6s %-9s used_memory %s B/key  rss %.1f B/key" %
            (role, kind, "%.1f" % entry["used"] if "used" in entry else "n/a",
             entry["rss"]))
    finally:
        stop_server(s)


def section_expiry(role, workdir, files, res):
    s = start_server(role, workdir)
    try:
        um0 = mem_fields(s)[0]
        wait_quiet()
        t_start = time.monotonic()
        if pipe_load(s, files["mem_px"], MEM_KEYS, "expiry load") is None:
            return
        t_loaded = time.monotonic()
        c0 = s.cpu_seconds()
        deadline = t_loaded + EXPIRE_TTL_MS / 1000 + RECLAIM_TIMEOUT
        n = None
        poll = Conn(s.port)    # one connection, so polling costs little
        try:
            while time.monotonic() < deadline:
                n = poll.cmd("DBSIZE")
                if n == 0:
                    break
                time.sleep(0.02)
        except (OSError, ConnectionError):
            check_alive(s, "expiry reclaim")
            raise
        finally:
            poll.close()
        t_zero = time.monotonic()
        c1 = s.cpu_seconds()
        if n != 0:
            note("%s: DBSIZE still %r %ds after the keys' TTL" %
                 (role, n, RECLAIM_TIMEOUT))
            return
        e = {"secs": t_zero - t_loaded, "cpu": c1 - c0,
             "load": t_loaded - t_start}
        # DBSIZE 0 should mean the memory is gone too, not just hidden.
        time.sleep(0.5)
        um2 = mem_fields(s)[0]
        if um0 is not None and um2 is not None:
            e["left"] = (um2 - um0) / MEM_KEYS
        res.setdefault("expiry", {}).setdefault(role, []).append(e)
        log("  %-6s expiry: load %.2fs, DBSIZE 0 after %.2fs, %.2f CPU-s, "
            "%s B/key left" % (role, e["load"], e["secs"], e["cpu"],
                               fmt(e.get("left"), ".1f")))
    finally:
        stop_server(s)


# ---------------------------------------------------------------- report

def med(res, key, role, field):
    vals = [r[field] for r in res.get(key, {}).get(role, []) if field in r]
    return statistics.median(vals) if vals else None


def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def verdict(r, target, higher_better):
    if r is None:
        return ""
    ok = r >= target if higher_better else r <= target
    return "%s %s%.1f" % ("yes" if ok else "NO", ">=" if higher_better else "<=",
                          target)


def report(res):
    sl = "sluice" if not DRY_RUN else "sluice (dry run: redis-server)"
    out = []
    if "throughput" in SECTIONS:
        report_throughput(res, sl, out)
    if "memory" in SECTIONS:
        report_memory(res, out)
    if "expiry" in SECTIONS:
        report_expiry(res, out)
    if problems:
        out.append("Problems seen during the run:")
        out.append("")
        for p in problems:
            out.append("* " + p.replace("\n", "\n  "))
    return "\n".join(out).rstrip("\n")


def report_throughput(res, sl, out):
    out.append("Throughput and latency: %d connections, -r %d -d %d, "
               "requests per run P1=%d P16=%d; latency in ms; CPU = server "
               "CPU-seconds per million ops; ratio = %s / redis of medians."
               % (CONNS, KEYSPACE, VALUE_SIZE, REQUESTS[1], REQUESTS[16], sl))
    out.append("")
    out.append("| test | redis ops/s | sluice ops/s | ratio | target | "
               "redis p50 | sluice p50 | redis p99 | sluice p99 | "
               "redis CPU | sluice CPU | CPU ratio | target |")
    out.append("|---|" + "---:|" * 12)
    for p in PIPELINES:
        for test in ("SET", "GET"):
            k = "%s P%d" % (test, p)
            m = {(role, f): med(res, k, role, f) for role in ROLES
                 for f in ("ops", "p50", "p99", "cpu_per_mop")}
            r_ops = ratio(m["sluice", "ops"], m["redis", "ops"])
            r_cpu = ratio(m["sluice", "cpu_per_mop"], m["redis", "cpu_per_mop"])
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s "
                       "| %s | %s |" % (
                           k, fmt(m["redis", "ops"], ".0f"),
                           fmt(m["sluice", "ops"], ".0f"), fmt(r_ops, ".2f"),
                           verdict(r_ops, 1.2 if p == 1 else 1.5, True),
                           fmt(m["redis", "p50"], ".3f"),
                           fmt(m["sluice", "p50"], ".3f"),
                           fmt(m["redis", "p99"], ".3f"),
                           fmt(m["sluice", "p99"], ".3f"),
                           fmt(m["redis", "cpu_per_mop"], ".2f"),
                           fmt(m["sluice", "cpu_per_mop"], ".2f"),
                           fmt(r_cpu, ".2f"), verdict(r_cpu, 0.8, False)))
    runs = [e for p in PIPELINES for t in ("SET", "GET")
            for role in ROLES for e in res.get("%s P%d" % (t, p), {}).get(role, [])]
    bad = [e for e in runs if e["contended"] >= CONTENDED_MAX]
    redone = sum(e["attempts"] - 1 for e in runs)
    out.append("")
    out.append("%d run%s redone because other processes used CPU 0 or 1 for "
               "more than %d%% of the run; %d of %d kept runs still were."
               % (redone, "" if redone == 1 else "s", 100 * CONTENDED_MAX,
                  len(bad), len(runs)))
    out.append("")


def report_memory(res, out):
    out.append("Memory: bytes per key = (after - before) / %d keys, keys "
               "\"key:%%07d\" (11 bytes), 32-byte values, loaded with "
               "redis-cli --pipe." % MEM_KEYS)
    out.append("")
    out.append("| keys | redis used_memory | sluice used_memory | ratio | "
               "target | redis RSS | sluice RSS | RSS ratio |")
    out.append("|---|" + "---:|" * 7)
    for kind, label in (("mem_plain", "SET k v"),
                        ("mem_ex", "SET k v EX 100000")):
        u = {role: med(res, kind, role, "used") for role in ROLES}
        r = {role: med(res, kind, role, "rss") for role in ROLES}
        ru = ratio(u["sluice"], u["redis"])
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, fmt(u["redis"], ".1f"), fmt(u["sluice"], ".1f"),
            fmt(ru, ".2f"), verdict(ru, 0.7, False), fmt(r["redis"], ".1f"),
            fmt(r["sluice"], ".1f"), fmt(ratio(r["sluice"], r["redis"]), ".2f")))
    out.append("")


def report_expiry(res, out):
    out.append("Expiry reclaim: %d keys with PX %d loaded, then nothing but "
               "DBSIZE polls (every 20 ms) until DBSIZE is 0. Seconds and "
               "server CPU-seconds are counted from the end of the load."
               % (MEM_KEYS, EXPIRE_TTL_MS))
    out.append("")
    out.append("| metric | redis | sluice | ratio |")
    out.append("|---|---:|---:|---:|")
    for f, label in (("secs", "seconds until DBSIZE 0"),
                     ("cpu", "server CPU-seconds"),
                     ("left", "used_memory left 0.5 s later, B/key loaded"),
                     ("load", "load time (s), for reference")):
        a, b = med(res, "expiry", "redis", f), med(res, "expiry", "sluice", f)
        out.append("| %s | %s | %s | %s |" % (label, fmt(a, ".2f"),
                                             fmt(b, ".2f"),
                                             "" if f == "left" else
                                             fmt(ratio(b, a), ".2f")))
    out.append("")


def raw_json(res):
    """Per-round values, one line per (test, server), 3 significant decimals."""
    lines = []
    for k in sorted(res):
        for role in sorted(res[k]):
            rounds = [{f: round(v, 3) for f, v in sorted(r.items())}
                      for r in res[k][role]]
            lines.append("%s / %s: %s" % (k, role, json.dumps(rounds)))
    return "\n".join(lines)


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "nproc %d, CPU \"%s\", kernel %s" % (os.cpu_count(), model,
                                                platform.release())


def versions():
    v = subprocess.run([REDIS_SERVER, "--version"], capture_output=True,
                       text=True).stdout.strip()
    sha = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain",
                            "--untracked-files=no", "--", ".", ":!perf"],
                           capture_output=True, text=True).stdout.strip()
    return v, sha + ("+dirty" if dirty else "")


def write_results(table, raw):
    path = os.path.join(REPO, "perf", "RESULTS.md")
    date = datetime.date.today().isoformat()
    mode = "dry run" if DRY_RUN else ("quick" if QUICK else "full")
    if sorted(SECTIONS) != ["expiry", "memory", "throughput"]:
        mode += " " + "+".join(SECTIONS)  # a partial run keeps the full one's section
    tag = "%s %s" % (date, mode)
    rv, sha = versions()
    body = "\n".join([
        "<!-- bench:begin %s -->" % tag,
        "## %s (%s, %d round%s)" % (date, mode, ROUNDS, "" if ROUNDS == 1 else "s"),
        "",
        "* Command: `%s`" % CMDLINE,
        "* Machine: %s" % machine(),
        "* Noise: %s" % noise,
    ] + (["* Note: %s" % ENV["BENCH_NOTE"]] if ENV.get("BENCH_NOTE") else []) + [
        "* redis: %s" % rv,
        "* sluice: %s; repository HEAD %s" % (
            "redis-server standing in (dry run)" if DRY_RUN else SLUICED, sha),
        "",
        table,
        "",
        "<details><summary>Per-round values</summary>",
        "",
        "```",
        raw_json(raw),
        "```",
        "",
        "</details>",
        "<!-- bench:end %s -->" % tag,
    ])
    replace_section("<!-- bench:begin %s -->" % tag, "<!-- bench:end %s -->" % tag, body)
    log("wrote section \"%s\" to %s" % (tag, path))


def replace_section(begin, end, body):
    """Put body (which starts with begin and ends with end) into
    perf/RESULTS.md in place of the section between those markers, or at the
    end of the file when there is none."""
    path = os.path.join(REPO, "perf", "RESULTS.md")
    with open(path) as f:
        text = f.read()
    pat = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if pat.search(text):
        text = pat.sub(lambda _m: body, text)
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    with open(path, "w") as f:
        f.write(text)


def cpu_stat():
    """(steal, total) jiffies over all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[7], sum(v[:8])


def cpu_busy(cpu):
    """Seconds CPU `cpu` spent not idle (user+nice+system+irq+softirq+steal)."""
    tag = "cpu%s " % cpu
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(tag):
                v = [int(x) for x in line.split()[1:]]
                return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK
    return 0.0


def children_cpu():
    """CPU-seconds of reaped children (the client runs, once waited for)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def machine_busy():
    """(busy, total) jiffies summed over all CPUs."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]) - v[3] - v[4], sum(v[:8])


def wait_quiet():
    """Wait, at most QUIET_WAIT seconds, until the whole machine has been
    below QUIET_BUSY busy for two 0.5 s windows in a row, so a measured run
    starts while nobody else is using the CPUs. Returns seconds waited."""
    t0 = time.monotonic()
    calm = 0
    while time.monotonic() - t0 < QUIET_WAIT:
        b0, a0 = machine_busy()
        time.sleep(0.5)
        b1, a1 = machine_busy()
        calm = calm + 1 if (b1 - b0) < QUIET_BUSY * max(1, a1 - a0) else 0
        if calm >= 2:
            break
    return time.monotonic() - t0


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def on_term(signum, _frame):
    raise SystemExit(128 + signum)


def main():
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    workdir = tempfile.mkdtemp(prefix="sluice-bench-")
    res = {}
    try:
        log("machine: %s" % machine())
        la0, (st0, tot0) = loadavg(), cpu_stat()
        log("generating RESP load files in %s ..." % workdir)
        files = {}
        todo = [("bench_keys", KEYSPACE, b"key:%012d", [])]
        if "memory" in SECTIONS:
            todo += [("mem_plain", MEM_KEYS, b"key:%07d", []),
                     ("mem_ex", MEM_KEYS, b"key:%07d", [b"EX", b"100000"])]
        if "expiry" in SECTIONS:
            todo += [("mem_px", MEM_KEYS, b"key:%07d",
                      [b"PX", str(EXPIRE_TTL_MS).encode()])]
        for name, n, fmt_, extra in todo:
            files[name] = os.path.join(workdir, name + ".resp")
            gen_resp(files[name], n, fmt_, extra)
        os.sync()   # no writeback of the load files during measurements
        for rnd in range(ROUNDS):
            order = ["redis", "sluice"] if rnd % 2 == 0 else ["sluice", "redis"]
            log("round %d/%d (order: %s)" % (rnd + 1, ROUNDS, ", ".join(order)))
            for sec in SECTIONS:
                for role in order:
                    try:
                        if sec == "throughput":
                            section_throughput(role, workdir, files, res)
                        elif sec == "memory":
                            section_memory(role, workdir, files, res, "mem_plain")
                            section_memory(role, workdir, files, res, "mem_ex")
                        elif sec == "expiry":
                            section_expiry(role, workdir, files, res)
                    except (RuntimeError, OSError, RespError,
                            ConnectionError) as e:
                        note("%s: %s section failed: %s" % (role, sec, e))
        st1, tot1 = cpu_stat()
        global noise
        noise = ("load average %s at start, %s at end; CPU steal %.1f%% "
                 "during the run (other work on the machine adds noise)" %
                 (la0, loadavg(), 100.0 * (st1 - st0) / max(1, tot1 - tot0)))
        table = report(res)
        print(table)
        log(noise)
        if WRITE:
            write_results(table, res)
    finally:
        for s in list(live_servers):
            stop_server(s)
        subprocess.run(["rm", "-rf", workdir])
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
