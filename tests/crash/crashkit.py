"""Pieces of the crash-safety tests: the server under test, powerfs, and a
write workload whose every acknowledged write can be checked after a crash.

Server under test: redis-server 7.0 (the oracle, which validates the harness)
or sluiced. The choice is made once per run (conftest.py): `--server
redis|sluice` on the pytest command line; without it, sluiced when $SLUICED
is set, else DEFAULT_SERVER. Both get the same Redis options (--appendonly
yes --appendfsync always|everysec --dir D --aof-load-truncated yes).

Workload: each writer thread issues one sequence of operations, round-robin
over five kinds, waiting for each reply before the next (so the thread's
operations reach the append-only file in order):

    SET s:C:T:j v..      INCR n:C:T         RPUSH l:C:T ej
    HSET h:C:T fj j      MULTI INCR m:{C.T}:n / RPUSH m:{C.T}:l xj / SET m:{C.T}:s j EXEC

(C = cycle, T = thread, j = the operation's index among those of its kind).
After a crash, the state of the keys tells, for each operation, whether it
survived. Because the file is a log replayed in order, the survivors of one
thread must be a prefix of what it sent: every operation up to some p is
there and none after it (a MULTI block all or nothing). Acknowledged
operations beyond p were lost; with appendfsync always there must be none.

Ports come from CRASH_PORTS (default 7940-7959); every process is killed by
its own process group (a server and the rewrite child it forked) or PID.
"""
import os
import pathlib
import random
import signal
import socket
import subprocess
import threading
import time

import redis

REPO = pathlib.Path(__file__).resolve().parents[2]
# The server the crash tests run against when neither --server nor $SLUICED
# says otherwise.
DEFAULT_SERVER = "sluice"
SERVER = {"kind": None}  # set by conftest.py: "redis" or "sluice"

START_TIMEOUT = 30.0


def server_kind():
    if SERVER["kind"]:
        return SERVER["kind"]
    return "sluice" if os.environ.get("SLUICED") else DEFAULT_SERVER


def server_binary():
    if server_kind() == "redis":
        return os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")
    return os.environ.get("SLUICED") or str(REPO / "build" / "dataplane" / "sluiced")


# ---------------------------------------------------------------------------
# ports


def _port_range():
    lo, _, hi = os.environ.get("CRASH_PORTS", "7940-7959").partition("-")
    return int(lo), int(hi)


_PORT_LO, _PORT_HI = _port_range()
_next_port = [_PORT_LO + os.getpid() % (_PORT_HI - _PORT_LO + 1)]


def free_port():
    n = _PORT_HI - _PORT_LO + 1
    for _ in range(n):
        port = _next_port[0]
        _next_port[0] = _PORT_LO + (port - _PORT_LO + 1) % n
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # As the servers do: a killed server's port in TIME_WAIT is reusable.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            pass
        finally:
            s.close()
    raise RuntimeError("no free port in %d-%d" % (_PORT_LO, _PORT_HI))


# ---------------------------------------------------------------------------
# the server under test


class ServerDied(Exception):
    pass


class Server:
    """One server process on a data directory. Its output goes to a log file
    outside that directory (which may be on a filesystem that gets cut)."""

    def __init__(self, datadir, logdir, fsync="always", extra=()):
        self.datadir = str(datadir)
        self.logdir = str(logdir)
        self.fsync = fsync
        self.extra = [str(a) for a in extra]
        self.proc = None
        self.port = None
        self.starts = 0

    def argv(self, port):
        argv = [server_binary(), "--port", str(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "yes", "--appendfsync", self.fsync,
                "--dir", self.datadir, "--aof-load-truncated", "yes"]
        return argv + self.extra

    @property
    def logpath(self):
        return os.path.join(self.logdir, "server.log")

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=30):
        return "\n".join(self.log().splitlines()[-lines:])

    def start(self, timeout=START_TIMEOUT):
        """Start and wait until it answers PING (after loading). Raises
        ServerDied with the log if it exits first."""
        assert self.proc is None or self.proc.poll() is not None
        binary = server_binary()
        if not os.access(binary, os.X_OK):
            raise RuntimeError("server binary %s is missing (build it, or set SLUICED)" % binary)
        for _ in range(4):
            self.port = free_port()
            with open(self.logpath, "ab") as log:
                log.write(b"\n=== start %d on port %d\n" % (self.starts, self.port))
                log.flush()
                # A session of its own: kill() takes the whole process group,
                # i.e. the server and any rewrite child, as a power cut would.
                self.proc = subprocess.Popen(self.argv(self.port), cwd=self.logdir, stdout=log,
                                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             start_new_session=True)
            self.starts += 1
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    c = self.client(socket_timeout=2)
                    if c.ping():
                        c.close()
                        return self
                except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                    pass
                time.sleep(0.02)
            if self.proc.poll() is None:
                self.kill()
                raise ServerDied("server did not answer within %.0fs\n%s" % (timeout, self.log_tail()))
            if "in use" not in self.log_tail(5):
                raise ServerDied("server exited with %s at start\n%s"
                                 % (self.proc.returncode, self.log_tail()))
        raise ServerDied("no free port\n" + self.log_tail())

    def client(self, **kw):
        kw.setdefault("socket_timeout", 10)
        kw.setdefault("socket_connect_timeout", 5)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL the server's process group and reap it."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        # Wait for the rest of the group (a rewrite child) to be gone too.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _group_alive(self.proc.pid):
            time.sleep(0.01)


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


# ---------------------------------------------------------------------------
# powerfs


def powerfs_binary(tmpdir):
    """The powerfs program: $POWERFS, the meson build's, or compiled here
    with pkg-config's fuse3 flags. None when libfuse3 is not installed."""
    env = os.environ.get("POWERFS")
    if env:
        return env
    built = REPO / "build" / "tests" / "powerfs"
    src = REPO / "tests" / "crash" / "powerfs.c"
    if built.exists() and built.stat().st_mtime >= src.stat().st_mtime:
        return str(built)
    try:
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "fuse3"], check=True,
                               capture_output=True, text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return None
    out = os.path.join(tmpdir, "powerfs")
    subprocess.run(["cc", "-std=gnu11", "-O2", "-Wall", "-o", out, str(src)] + flags, check=True)
    return out


def fuse_usable():
    return os.path.exists("/dev/fuse") and bool(_which("fusermount3"))


def _which(name):
    for d in os.environ.get("PATH", "/usr/bin:/bin").split(":"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return None


class PowerFS:
    """A powerfs mount of `backing` at `mnt`. cut()/tear() are power losses;
    the durable state stays in `backing`, which a remount serves again."""

    def __init__(self, binary, backing, mnt, state, journal=False):
        self.binary = binary
        self.backing, self.mnt, self.state = str(backing), str(mnt), str(state)
        self.journal = journal
        self.proc = None
        for d in (self.backing, self.mnt, self.state):
            os.makedirs(d, exist_ok=True)

    @property
    def ctl(self):
        return os.path.join(self.mnt, ".powerfs")

    def mount(self):
        opts = "backing=%s,state=%s,fsname=powerfs" % (self.backing, self.state)
        if self.journal:
            opts += ",journal"
        self.log = open(os.path.join(os.path.dirname(self.state), "powerfs.log"), "ab")
        self.proc = subprocess.Popen([self.binary, "-f", "-s", "-o", opts, self.mnt],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.ctl):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.unmount()
                raise RuntimeError("powerfs did not mount %s" % self.mnt)
            time.sleep(0.01)
        return self

    def command(self, cmd):
        with open(self.ctl, "w") as f:
            f.write(cmd)

    def cut(self):
        self.command("cut")

    def tear(self, seed):
        self.command("tear %d" % seed)

    def sync(self):
        self.command("sync")

    def counters(self):
        with open(self.ctl) as f:
            return {k: int(v) for k, v in (line.split() for line in f if line.strip())}

    def mounted(self):
        with open("/proc/self/mounts") as f:
            return any(line.split()[1] == self.mnt for line in f)

    def unmount(self):
        """Unmount (lazily if something still holds it) and reap powerfs."""
        if self.mounted():
            r = subprocess.run(["fusermount3", "-u", self.mnt], capture_output=True)
            if r.returncode != 0:
                subprocess.run(["fusermount3", "-u", "-z", self.mnt], capture_output=True)
        if self.proc is not None:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None

    def remount(self):
        self.unmount()
        return self.mount()


# ---------------------------------------------------------------------------
# the workload

KINDS = ("set", "incr", "rpush", "hset", "multi")
PLAIN = KINDS[:4]  # without MULTI blocks


def op_kind(i, kinds=KINDS):
    return kinds[i % len(kinds)], i // len(kinds)


def torn_multi_defect():
    """redis-server 7.0 mishandles a torn tail inside a MULTI block: it
    truncates the file after the last complete command, leaving an open
    MULTI that swallows what is appended after it (see
    test_crash.test_torn_multi_block_is_dropped_whole). Cycles that tear
    the file leave MULTI out of the workload for that server."""
    return server_kind() == "redis"


def keys(cycle, tid):
    tag = "{%d.%d}" % (cycle, tid)
    return {"incr": "n:%d:%d" % (cycle, tid), "rpush": "l:%d:%d" % (cycle, tid),
            "hset": "h:%d:%d" % (cycle, tid), "mn": "m:%s:n" % tag, "ml": "m:%s:l" % tag,
            "ms": "m:%s:s" % tag}


def set_key(cycle, tid, j):
    return "s:%d:%d:%d" % (cycle, tid, j)


def set_value(cycle, tid, j):
    return "v%d.%d.%d" % (cycle, tid, j)


class Writer(threading.Thread):
    """One client issuing the operation sequence of (cycle, tid) until the
    server goes away or stop is set. acks[i] is the monotonic time operation
    i was acknowledged; sent counts operations sent (acked, plus at most one
    in flight when the connection broke)."""

    def __init__(self, port, cycle, tid, stop, kinds=KINDS):
        super().__init__(daemon=True)
        self.port, self.cycle, self.tid, self.stop = port, cycle, tid, stop
        self.kinds = kinds
        self.acks = []
        self.sent = 0
        self.error = None  # a wrong reply (a test failure, not a crash)

    def run(self):
        k = keys(self.cycle, self.tid)
        try:
            c = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10,
                            socket_connect_timeout=5)
        except redis.RedisError:
            return
        i = 0
        try:
            while not self.stop.is_set():
                kind, j = op_kind(i, self.kinds)
                self.sent = i + 1
                if kind == "set":
                    ok = c.set(set_key(self.cycle, self.tid, j), set_value(self.cycle, self.tid, j))
                    want = True
                elif kind == "incr":
                    ok, want = c.incr(k["incr"]), j + 1
                elif kind == "rpush":
                    ok, want = c.rpush(k["rpush"], "e%d" % j), j + 1
                elif kind == "hset":
                    ok, want = c.hset(k["hset"], "f%d" % j, str(j)), 1
                else:
                    p = c.pipeline(transaction=True)
                    p.incr(k["mn"])
                    p.rpush(k["ml"], "x%d" % j)
                    p.set(k["ms"], str(j))
                    ok, want = p.execute(), [j + 1, j + 1, True]
                if ok != want:
                    self.error = "op %d (%s): reply %r, expected %r" % (i, kind, ok, want)
                    return
                self.acks.append(time.monotonic())
                i += 1
        except (redis.ConnectionError, redis.TimeoutError, ConnectionError, OSError):
            pass
        except redis.ResponseError as e:
            self.error = "op %d: %s" % (i, e)
        finally:
            try:
                c.close()
            except Exception:
                pass


def survivors(client, cycle, tid, sent, kinds=KINDS):
    """How many of the first `sent` operations of (cycle, tid) are in the
    server, checking that they form a prefix. Returns (p, problems)."""
    k = keys(cycle, tid)
    counts = {kind: 0 for kind in KINDS}
    for i in range(sent):
        counts[op_kind(i, kinds)[0]] += 1
    pipe = client.pipeline(transaction=False)
    set_keys = [set_key(cycle, tid, j) for j in range(counts["set"])]
    if set_keys:
        pipe.mget(set_keys)
    pipe.get(k["incr"])
    pipe.lrange(k["rpush"], 0, -1)
    pipe.hgetall(k["hset"])
    pipe.get(k["mn"])
    pipe.lrange(k["ml"], 0, -1)
    pipe.get(k["ms"])
    res = pipe.execute()
    sets = res.pop(0) if set_keys else []
    incr, lst, hsh, mn, ml, ms = res
    problems = []
    present = {kind: [] for kind in KINDS}

    for j, v in enumerate(sets):
        if v is not None and v.decode() != set_value(cycle, tid, j):
            problems.append("SET %s holds %r" % (set_keys[j], v))
        present["set"].append(v is not None)

    n = int(incr or 0)
    if n > counts["incr"]:
        problems.append("INCR %s is %d, only %d sent" % (k["incr"], n, counts["incr"]))
    present["incr"] = [j < n for j in range(counts["incr"])]

    want = [b"e%d" % j for j in range(len(lst))]
    if lst != want or len(lst) > counts["rpush"]:
        problems.append("RPUSH %s holds %r, not a prefix of e0..e%d"
                        % (k["rpush"], lst[:8], counts["rpush"] - 1))
    present["rpush"] = [j < len(lst) for j in range(counts["rpush"])]

    for f, v in hsh.items():
        if not f.startswith(b"f") or v != f[1:] or int(f[1:]) >= counts["hset"]:
            problems.append("HSET %s has field %r=%r" % (k["hset"], f, v))
    present["hset"] = [(b"f%d" % j) in hsh for j in range(counts["hset"])]

    mcount = int(mn or 0)
    if ml != [b"x%d" % j for j in range(mcount)] or \
            (ms != (str(mcount - 1).encode() if mcount else None)):
        problems.append("MULTI block torn: %s=%r, %s has %d elements, %s=%r"
                        % (k["mn"], mn, k["ml"], len(ml), k["ms"], ms))
    if mcount > counts["multi"]:
        problems.append("MULTI counter %d, only %d sent" % (mcount, counts["multi"]))
    present["multi"] = [j < mcount for j in range(counts["multi"])]

    flags = [present[op_kind(i, kinds)[0]][op_kind(i, kinds)[1]] for i in range(sent)]
    p = 0
    while p < sent and flags[p]:
        p += 1
    later = [i for i in range(p, sent) if flags[i]]
    if later:
        problems.append("thread %d of cycle %d: operations %s survived but %d (%s) did not "
                        "(not a prefix of the log)" % (tid, cycle, later[:5], p, op_kind(p, kinds)[0]))
    return p, problems


class History:
    """What every finished cycle left: for each (cycle, tid), the number of
    operations that survived its crash. Later crashes must keep exactly
    those (the keys of a cycle are not written after it)."""

    def __init__(self):
        self.kept = {}  # (cycle, tid) -> (sent, kinds, p)

    def check(self, client):
        problems = []
        for (cycle, tid), (sent, kinds, p) in sorted(self.kept.items()):
            now, probs = survivors(client, cycle, tid, sent, kinds)
            problems += probs
            if now != p:
                problems.append("cycle %d thread %d: %d operations survived its crash, "
                                "%d are there now" % (cycle, tid, p, now))
        return problems


class CycleResult:
    def __init__(self, cycle):
        self.cycle = cycle
        self.acked = 0
        self.sent = 0
        self.lost = 0          # acknowledged operations missing after the crash
        self.lost_window = 0.0  # seconds between the oldest lost ack and the crash
        self.problems = []


def run_writers(port, cycle, nthreads, duration, on_crash, rewrite_at=None, server=None,
                kinds=KINDS):
    """Run nthreads writers for `duration` seconds, then call on_crash()
    (which kills the server) and return (writers, crash_time)."""
    stop = threading.Event()
    writers = [Writer(port, cycle, t, stop, kinds) for t in range(nthreads)]
    for w in writers:
        w.start()
    t0 = time.monotonic()
    if rewrite_at is not None and server is not None:
        time.sleep(min(rewrite_at, duration))
        try:
            c = server.client(socket_timeout=5)
            c.bgrewriteaof()
            c.close()
        except redis.RedisError:
            pass
    time.sleep(max(0.0, duration - (time.monotonic() - t0)))
    crash_time = time.monotonic()
    on_crash()
    stop.set()
    for w in writers:
        w.join(15)
        assert not w.is_alive(), "a writer did not stop"
    return writers, crash_time


def check_cycle(client, cycle, writers, crash_time, history):
    """Check what survived of one cycle's writers (and every earlier cycle)."""
    res = CycleResult(cycle)
    res.problems += history.check(client)
    for w in writers:
        if w.error:
            res.problems.append("thread %d: %s" % (w.tid, w.error))
        p, probs = survivors(client, cycle, w.tid, w.sent, w.kinds)
        res.problems += probs
        history.kept[(cycle, w.tid)] = (w.sent, w.kinds, p)
        acked = len(w.acks)
        res.acked += acked
        res.sent += w.sent
        if p < acked:
            res.lost += acked - p
            res.lost_window = max(res.lost_window, crash_time - w.acks[p])
        if p > w.sent:
            res.problems.append("thread %d: %d survived of %d sent" % (w.tid, p, w.sent))
    return res


def rng():
    seed = int(os.environ.get("CRASH_SEED") or random.randrange(1 << 30))
    return seed, random.Random(seed)


def cycles(default):
    return int(os.environ.get("CRASH_CYCLES") or default)
