#!/usr/bin/python3
r"""Stress test of cross-shard atomicity: concurrent WATCH/MULTI/EXEC transfers
between accounts on different slots, concurrent MSET/MGET of key groups, and
auditors checking the invariants throughout.

Usage
    tests/stress/transfer_stress.py                 # sluiced, 20 s
    tests/stress/transfer_stress.py --redis         # validate against redis-server
    tests/stress/transfer_stress.py --seconds 45 --accounts 200 -v

Server: sluiced is $SLUICED, else build/dataplane/sluiced under the repo root,
started with "--port P --bind 127.0.0.1" plus $SLUICED_ARGS (split like a
shell; default "--dataplane-cores 0,1,0,1", i.e. 4 workers on 2 cores). With
--redis it is $REDIS_SERVER or /usr/bin/redis-server (no persistence). Either
runs as a child on a free loopback port in 7700-7799 in a temporary directory
and is killed by its PID at the end. --addr HOST:PORT uses a running server
instead (nothing is started or killed; the keys acct:*, grp* are overwritten).

What runs (standard library only, raw RESP over sockets, one thread each):
  * transfer clients: WATCH a b; GET a; GET b; then MULTI, DECRBY a n,
    INCRBY b n, EXEC in one write, between random accounts acct:0..N-1 (no
    hash tags, so spread over slots and shards); a null EXEC is retried. A
    committed EXEC must return exactly the watched balances -n and +n (WATCH
    guarantees nobody touched them in between).
  * group writers: one per group grpG:k1..k8 (no hash tags), MSET of all 8 keys
    to the same value "g<generation>", generation increasing.
  * group readers: MGET of a group (and sometimes MULTI + MGET + EXEC); all 8
    values must be equal (MSET all-or-none, MGET atomic) and a connection
    never sees a group's generation go backwards.
  * auditors: the sum of all accounts must equal N * initial, read three ways:
    MULTI + MGET of all + EXEC, plain MGET of all (must be atomic too), and
    MULTI + one GET per account + EXEC.
Every reply is checked; any unexpected reply, error or timeout is a failure.

Never hangs: every socket operation has a timeout (--timeout, default 5 s),
worker threads stop at --seconds, and a hard deadline (--seconds + 30 s) kills
the server and exits. Output: violations as they happen (first 20), a stats
line, then last "N passed, N failed" (invariant checks). Exit status 0 only
when nothing failed and every kind of client made progress; 2 when the
server could not be started.
"""

import argparse
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PORT_RANGE = range(7700, 7800)
GROUP_KEYS = 8
INITIAL = 1000


# ---------------------------------------------------------------- RESP client

class ProtocolError(Exception):
    pass


class Conn:
    """Blocking RESP2 connection; every operation times out."""

    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _fill(self):
        chunk = self.sock.recv(65536)   # socket.timeout / OSError propagate
        if not chunk:
            raise ProtocolError("connection closed by server")
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self._fill()

    def read(self):
        """Reply as: bytes (simple/bulk), int, None (null bulk or array),
        list, or ReplyError."""
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest
        if t == b"-":
            return ReplyError(rest.decode("latin-1"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if t == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self.read() for _ in range(n)]
        raise ProtocolError("unexpected reply type %r" % line[:40])

    def send(self, *cmds):
        out = []
        for args in cmds:
            out.append(b"*%d\r\n" % len(args))
            for a in args:
                a = a if isinstance(a, bytes) else str(a).encode()
                out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))

    def call(self, *args):
        self.send(args)
        return self.read()

    def pipeline(self, *cmds):
        self.send(*cmds)
        return [self.read() for _ in cmds]


class ReplyError(object):
    def __init__(self, msg):
        self.msg = msg

    def __repr__(self):
        return "-" + self.msg

    def __eq__(self, other):
        return isinstance(other, ReplyError) and other.msg == self.msg


def crc16(data):
    """CRC16-XMODEM as Redis Cluster uses it (only for the slot report)."""
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def key_slot(key):
    s = key.find(b"{")
    if s >= 0:
        e = key.find(b"}", s + 1)
        if e > s + 1:
            key = key[s + 1:e]
    return crc16(key) % 16384


# ------------------------------------------------------------------- results

class Results:
    def __init__(self, verbose):
        self.lock = threading.Lock()
        self.passed = 0
        self.failed = 0
        self.shown = 0
        self.verbose = verbose
        self.stats = {}

    def ok(self, n=1):
        with self.lock:
            self.passed += n

    def fail(self, who, msg):
        with self.lock:
            self.failed += 1
            if self.shown < 20 or self.verbose:
                self.shown += 1
                print("FAIL %s: %s" % (who, msg))
                sys.stdout.flush()

    def count(self, name, n=1):
        with self.lock:
            self.stats[name] = self.stats.get(name, 0) + n


# ------------------------------------------------------------------- clients

class Client(threading.Thread):
    """A worker thread with its own connection; stops at `stop` or at the
    first connection-level problem (counted as one failure)."""

    def __init__(self, name, cfg, res, stop, seed):
        threading.Thread.__init__(self, name=name, daemon=True)
        self.cfg, self.res, self.stop = cfg, res, stop
        self.rng = random.Random(seed)
        self.conn = None

    def run(self):
        try:
            self.conn = Conn(self.cfg.host, self.cfg.port, self.cfg.timeout)
            while not self.stop.is_set():
                self.step()
        except socket.timeout:
            self.res.fail(self.name, "no reply within %.1fs (server hung?)" %
                          self.cfg.timeout)
        except (OSError, ProtocolError, ValueError) as e:
            if not self.stop.is_set() or not isinstance(e, OSError):
                self.res.fail(self.name, "connection problem: %s" % e)
        finally:
            if self.conn:
                self.conn.close()

    def expect(self, what, got, want):
        if got != want:
            self.res.fail(self.name, "%s: expected %r, got %r" % (what, want, got))
            return False
        return True


def acct(i):
    return b"acct:%d" % i


def group_keys(g):
    return [b"grp%d:k%d" % (g, i) for i in range(1, GROUP_KEYS + 1)]


class Transfer(Client):
    def step(self):
        n = self.cfg.accounts
        a = self.rng.randrange(n)
        b = self.rng.randrange(n - 1)
        if b >= a:
            b += 1
        ka, kb = acct(a), acct(b)
        for attempt in range(1000):
            if self.stop.is_set():
                return
            r = self.conn.pipeline((b"WATCH", ka, kb), (b"GET", ka), (b"GET", kb))
            if not self.expect("WATCH", r[0], b"OK"):
                return
            try:
                ba, bb = int(r[1]), int(r[2])
            except (TypeError, ValueError):
                self.res.fail(self.name, "GET of watched accounts gave %r" % r[1:])
                self.conn.call(b"UNWATCH")
                return
            if ba <= 0:
                self.expect("UNWATCH", self.conn.call(b"UNWATCH"), b"OK")
                return
            amt = self.rng.randint(1, min(ba, 50))
            r = self.conn.pipeline((b"MULTI",), (b"DECRBY", ka, amt),
                                   (b"INCRBY", kb, amt), (b"EXEC",))
            good = self.expect("MULTI", r[0], b"OK")
            good &= self.expect("queued DECRBY", r[1], b"QUEUED")
            good &= self.expect("queued INCRBY", r[2], b"QUEUED")
            if not good:
                return
            if r[3] is None:
                self.res.count("transfer retries")
                continue
            if self.expect("EXEC of %s->%s after WATCH saw %d,%d" % (
                    ka.decode(), kb.decode(), ba, bb), r[3], [ba - amt, bb + amt]):
                self.res.ok()
                self.res.count("transfers")
            return
        self.res.fail(self.name, "1000 EXEC retries in a row on %r %r" % (ka, kb))


class GroupWriter(Client):
    def __init__(self, group, *a):
        Client.__init__(self, *a)
        self.keys = group_keys(group)
        self.gen = 1

    def step(self):
        self.gen += 1
        val = b"g%d" % self.gen
        args = [b"MSET"]
        for k in self.keys:
            args += [k, val]
        if self.expect("MSET", self.conn.call(*args), b"OK"):
            self.res.count("msets")


class GroupReader(Client):
    def __init__(self, *a):
        Client.__init__(self, *a)
        self.last = {}

    def step(self):
        g = self.rng.randrange(self.cfg.groups)
        keys = group_keys(g)
        if self.rng.random() < 0.25:
            r = self.conn.pipeline((b"MULTI",), [b"MGET"] + keys, (b"EXEC",))
            if not (self.expect("MULTI", r[0], b"OK") and
                    self.expect("queued MGET", r[1], b"QUEUED")):
                return
            if not isinstance(r[2], list) or len(r[2]) != 1:
                self.res.fail(self.name, "EXEC of MGET gave %r" % (r[2],))
                return
            vals, how = r[2][0], "MULTI+MGET"
        else:
            vals, how = self.conn.call(b"MGET", *keys), "MGET"
        if not isinstance(vals, list) or len(vals) != GROUP_KEYS or \
                any(not isinstance(v, bytes) for v in vals):
            self.res.fail(self.name, "%s grp%d gave %r" % (how, g, vals))
            return
        if len(set(vals)) != 1:
            self.res.fail(self.name, "%s grp%d saw a partial MSET: %s" % (
                how, g, b" ".join(vals).decode("latin-1")))
            return
        gen = int(vals[0][1:])
        if gen < self.last.get(g, 0):
            self.res.fail(self.name, "%s grp%d went back from g%d to g%d" % (
                how, g, self.last[g], gen))
            return
        self.last[g] = gen
        self.res.ok()
        self.res.count("group reads")


class Auditor(Client):
    def step(self):
        keys = [acct(i) for i in range(self.cfg.accounts)]
        mode = self.rng.randrange(3)
        if mode == 0:
            r = self.conn.pipeline((b"MULTI",), [b"MGET"] + keys, (b"EXEC",))
            if not (self.expect("MULTI", r[0], b"OK") and
                    self.expect("queued MGET", r[1], b"QUEUED")):
                return
            if not isinstance(r[2], list) or len(r[2]) != 1:
                self.res.fail(self.name, "EXEC of MGET gave %r" % (r[2],))
                return
            vals, how = r[2][0], "MULTI+MGET"
        elif mode == 1:
            vals, how = self.conn.call(b"MGET", *keys), "MGET"
        else:
            cmds = [(b"MULTI",)] + [(b"GET", k) for k in keys] + [(b"EXEC",)]
            r = self.conn.pipeline(*cmds)
            if not self.expect("MULTI", r[0], b"OK"):
                return
            if any(x != b"QUEUED" for x in r[1:-1]):
                self.res.fail(self.name, "queued GETs gave %r" % (
                    [x for x in r[1:-1] if x != b"QUEUED"][:3],))
                return
            vals, how = r[-1], "MULTI+GET*%d" % len(keys)
        try:
            if not isinstance(vals, list) or len(vals) != len(keys):
                raise ValueError()
            total = sum(int(v) for v in vals)
        except (TypeError, ValueError):
            self.res.fail(self.name, "%s of accounts gave %r" % (how, vals))
            return
        want = self.cfg.accounts * INITIAL
        if total != want:
            self.res.fail(self.name, "%s: sum of accounts %d, expected %d" % (
                how, total, want))
            return
        if any(int(v) < 0 for v in vals):
            self.res.fail(self.name, "%s: negative balance" % how)
            return
        self.res.ok()
        self.res.count("audits")


# ------------------------------------------------------------------- servers

def port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class Server:
    def __init__(self, use_redis):
        self.use_redis = use_redis
        self.proc = None
        self.workdir = None
        self.port = None

    def argv(self, port):
        if self.use_redis:
            redis = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")
            return [redis, "--port", str(port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--daemonize", "no",
                    "--dir", self.workdir]
        sluiced = os.environ.get("SLUICED") or os.path.join(
            REPO, "build", "dataplane", "sluiced")
        extra = os.environ.get("SLUICED_ARGS", "--dataplane-cores 0,1,0,1")
        return [sluiced, "--port", str(port), "--bind", "127.0.0.1"] + \
            shlex.split(extra)

    def start(self, timeout):
        last = "no free port in 7700-7799"
        for port in PORT_RANGE:
            if not port_free(port):
                continue
            argv = self.argv(port)
            if not os.access(argv[0], os.X_OK):
                raise RuntimeError("%s not found or not executable (set %s)" % (
                    argv[0], "REDIS_SERVER" if self.use_redis else "SLUICED"))
            self.workdir = tempfile.mkdtemp(prefix="transfer-stress-")
            argv = self.argv(port)
            self.log = open(os.path.join(self.workdir, "server.log"), "wb")
            self.proc = subprocess.Popen(argv, stdout=self.log,
                                         stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL,
                                         cwd=self.workdir)
            self.port = port
            print("server: %s (pid %d)" % (shlex.join(argv), self.proc.pid))
            if self.wait_ready(timeout):
                return
            last = "not ready on port %d: %s" % (port, self.log_tail())
            self.stop()
            if "in use" not in last.lower():
                break
        raise RuntimeError(last)

    def wait_ready(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                c = Conn("127.0.0.1", self.port, 1.0)
                r = c.call(b"PING")
                c.close()
                if r == b"PONG":
                    return True
            except (OSError, ProtocolError, ValueError):
                pass
            time.sleep(0.05)
        return False

    def log_tail(self, n=400):
        try:
            with open(os.path.join(self.workdir, "server.log"), "rb") as f:
                return f.read()[-n:].decode("latin-1").strip()
        except (OSError, TypeError):
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=3)
            self.proc = None
        if self.workdir:
            try:
                self.log.close()
            except (AttributeError, OSError):
                pass
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


# -------------------------------------------------------------------- main

def setup_data(cfg):
    c = Conn(cfg.host, cfg.port, cfg.timeout)
    try:
        args = [b"MSET"]
        for i in range(cfg.accounts):
            args += [acct(i), str(INITIAL).encode()]
        for g in range(cfg.groups):
            for k in group_keys(g):
                args += [k, b"g1"]
        r = c.call(*args)
        if r != b"OK":
            raise RuntimeError("setup MSET replied %r" % (r,))
    finally:
        c.close()


def final_check(cfg, res):
    c = Conn(cfg.host, cfg.port, cfg.timeout)
    try:
        vals = c.call(b"MGET", *[acct(i) for i in range(cfg.accounts)])
        total = sum(int(v) for v in vals)
        if total == cfg.accounts * INITIAL:
            res.ok()
        else:
            res.fail("final", "sum of accounts %d, expected %d" % (
                total, cfg.accounts * INITIAL))
        for g in range(cfg.groups):
            vals = c.call(b"MGET", *group_keys(g))
            if isinstance(vals, list) and len(set(vals)) == 1 and vals[0]:
                res.ok()
            else:
                res.fail("final", "grp%d is %r" % (g, vals))
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser(description="cross-shard MULTI/EXEC and "
                                 "MSET/MGET atomicity stress test")
    ap.add_argument("--redis", action="store_true",
                    help="run against redis-server (validates the test)")
    ap.add_argument("--addr", help="use a running server at HOST:PORT")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--accounts", type=int, default=64)
    ap.add_argument("--transfer-clients", type=int, default=6)
    ap.add_argument("--groups", type=int, default=3,
                    help="key groups, one MSET writer each")
    ap.add_argument("--readers", type=int, default=3)
    ap.add_argument("--auditors", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=5.0,
                    help="seconds for any one socket operation")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("-v", action="store_true", help="show every violation")
    cfg = ap.parse_args()
    if cfg.accounts < 2 or cfg.groups < 1:
        ap.error("need at least 2 accounts and 1 group")
    seed = cfg.seed if cfg.seed is not None else random.randrange(1 << 30)
    hard_deadline = cfg.seconds + 30.0

    server = Server(cfg.redis)

    def on_deadline(signum, frame):
        print("FAIL hard deadline of %.0fs passed; killing the server" %
              hard_deadline)
        server.stop()
        print("0 passed, 1 failed")
        sys.stdout.flush()
        os._exit(1)
    signal.signal(signal.SIGALRM, on_deadline)
    signal.alarm(int(hard_deadline) + 1)

    def on_term(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_term)

    res = Results(cfg.v)
    try:
        if cfg.addr:
            host, _, port = cfg.addr.rpartition(":")
            cfg.host, cfg.port = host or "127.0.0.1", int(port)
        else:
            try:
                server.start(timeout=10.0)
            except RuntimeError as e:
                print("cannot start server: %s" % e)
                print("0 passed, 1 failed")
                return 2
            cfg.host, cfg.port = "127.0.0.1", server.port
        slots = {key_slot(acct(i)) for i in range(cfg.accounts)}
        gslots = {key_slot(k) for g in range(cfg.groups) for k in group_keys(g)}
        print("seed %d: %d accounts on %d slots, %d groups of %d keys on %d "
              "slots, %d transfer clients, %d readers, %d auditors, %.0fs" % (
                  seed, cfg.accounts, len(slots), cfg.groups, GROUP_KEYS,
                  len(gslots), cfg.transfer_clients, cfg.readers, cfg.auditors,
                  cfg.seconds))
        sys.stdout.flush()
        setup_data(cfg)

        stop = threading.Event()
        threads = []
        n = 0
        for i in range(cfg.transfer_clients):
            threads.append(Transfer("transfer%d" % i, cfg, res, stop, seed + n))
            n += 1
        for g in range(cfg.groups):
            threads.append(GroupWriter(g, "writer%d" % g, cfg, res, stop, seed + n))
            n += 1
        for i in range(cfg.readers):
            threads.append(GroupReader("reader%d" % i, cfg, res, stop, seed + n))
            n += 1
        for i in range(cfg.auditors):
            threads.append(Auditor("auditor%d" % i, cfg, res, stop, seed + n))
            n += 1
        for t in threads:
            t.start()
        end = time.time() + cfg.seconds
        while time.time() < end:
            if not cfg.addr and not server.alive():
                res.fail("server", "exited with status %s: %s" % (
                    server.proc.returncode, server.log_tail()))
                break
            if not any(t.is_alive() for t in threads):
                break
            time.sleep(0.2)
        stop.set()
        join_by = time.time() + cfg.timeout + 5
        for t in threads:
            t.join(max(0.0, join_by - time.time()))
        stuck = [t.name for t in threads if t.is_alive()]
        if stuck:
            res.fail("main", "clients still running %.0fs after stop: %s" % (
                cfg.timeout + 5, ", ".join(stuck)))
        elif cfg.addr or server.alive():
            try:
                final_check(cfg, res)
            except (OSError, ProtocolError, ValueError, TypeError) as e:
                res.fail("final", "check failed: %s" % e)
        for name in ("transfers", "msets", "group reads", "audits"):
            if res.stats.get(name, 0) == 0 and res.failed == 0:
                res.fail("main", "no %s completed" % name)
        if not cfg.addr and not server.alive() and server.proc is not None:
            res.fail("server", "exited with status %s: %s" % (
                server.proc.returncode, server.log_tail()))
    except KeyboardInterrupt:
        res.fail("main", "interrupted")
    finally:
        server.stop()
        signal.alarm(0)
    print("stats: %s" % ", ".join("%s %d" % kv for kv in sorted(res.stats.items())))
    print("%d passed, %d failed" % (res.passed, res.failed))
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
