#!/usr/bin/python3
r"""Differential test harness: the same command scripts go to redis-server
7.0.15 (the oracle) and to sluiced, and the typed replies must be equal.

Usage
    tests/diff/diffharness.py                  # all cases/*.txt vs sluiced
    tests/diff/diffharness.py strings bits     # only cases/strings.txt, bits.txt
    tests/diff/diffharness.py -k setrange      # cases whose name contains it
    tests/diff/diffharness.py --self-check     # redis vs a second redis
    tests/diff/diffharness.py --sluice-addr 127.0.0.1:6379   # already running
    tests/diff/diffharness.py --list           # print case names and exit
    tests/diff/diffharness.py --dump bits      # print redis's replies only

sluiced is $SLUICED, else build/dataplane/sluiced under the repo root;
$SLUICED_ARGS (split like a shell, shlex) is appended to its command line,
e.g. SLUICED_ARGS="--dataplane-cores 0,1,0,1". Both
servers are child processes on free loopback ports in 7200-7299, stopped by
PID on exit. Output: one line per failing case (first differing command and
both replies, -v for every difference), then last the line
"N passed, N failed". Exit status is 1 when any case fails.

Case files (cases/*.txt)
    # comment                     ignored (a line starting with "#" but not "##")
    ## case name                  starts a case; names are unique per file
    SET "a\x00b" "x\r\ny"         a command, split the way redis-cli does:
                                  "double quotes" with \\ \" \n \r \t \b \a \xHH,
                                  'single quotes' with \' only
Every case runs on two fresh connections (RESP2, db 0) after FLUSHALL, one
per server. All commands of a case run even after a difference. A case must leave server-wide
state (CONFIG) as it found it.

Directives (a line prefix; several may be combined, e.g. "@sort @approx"):
    @sort CMD        compare arrays, sets and maps ignoring element order
    @type CMD        compare the shape only: reply types, array lengths and map
                     keys, not scalar values (TIME, HELLO, COMMAND INFO)
    @approx[=N] CMD  integers/doubles >= 0 may differ by N (default 1); used
                     for TTL/PTTL; negative values must still be equal
    @ignore CMD      send and read the reply, but do not compare it
    @scan CMD        SCAN: iterate from the given cursor until the cursor is 0
                     and compare the set of keys returned (errors: exactly)
    @sleep MS        sleep MS milliseconds (expiry cases)
    @raw N "BYTES"   write BYTES as is (escapes as above) and compare N replies
    @conn2 CMD       run CMD (or "@conn2 @raw ...") on a second connection to
                     the same server, opened (RESP2, db 0, no FLUSHALL) at its
                     first use in the case; for a client that touches keys
                     another one WATCHes. Not allowed inside @pipeline.
    @pipeline ... @end   the commands between them are sent in one write and
                     every reply is compared in order
    @needs NAME ...  (a line of its own) the case needs these commands or
                     "config:OPTION"s; see below
    @cluster-oracle  (a line of its own) the oracle for this case is a
                     redis-server started with cluster-enabled yes (own
                     process, started at first use), because CLUSTER KEYSLOT
                     answers only there; such a redis serves no slots, so
                     these cases send no keyed commands. With --self-check
                     both sides are cluster-enabled redis-servers.

Cases that need what sluiced does not have yet are skipped, not passed: a
case needs every command it sends (checked with COMMAND INFO on sluiced) and
what its @needs line names (config:OPTION is checked with CONFIG GET), when
redis-server has it and sluiced does not. The
skipped cases are counted on the last line ("N passed, N failed, N skipped")
and listed by what they wait for, so a feature that lands turns them on.
"""

import argparse
import glob
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
REDIS = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")
PORT_RANGE = range(7200, 7300)
READ_TIMEOUT = 5.0


# ---------------------------------------------------------------- RESP client

class Closed(Exception):
    pass


class Conn:
    """A raw RESP2/RESP3 connection. Replies are (type, value) tuples:
    simple/error/bulk/bignum: bytes, int: int, double: bytes (as sent),
    bool: bool, null: the wire form ('$-1', '*-1' or '_'),
    array/set/push: list, map/attr: list of (k, v), verbatim: (fmt, bytes).
    Protocol problems become ('closed', why) or ('timeout', None)."""

    def __init__(self, host, port, timeout=READ_TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.dead = None

    def close(self):
        if self.sock is None:
            return
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if self.dead:
            return
        try:
            self.sock.sendall(data)
        except OSError as e:
            self.dead = ("closed", "send: %s" % e)

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError()
        except OSError as e:
            raise Closed(str(e))
        if not chunk:
            raise Closed("connection closed by server")
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _parse(self):
        line = self._line()
        if not line:
            raise Closed("empty reply line")
        t, rest = line[:1], line[1:]
        if t == b"+":
            return ("simple", rest)
        if t == b"-":
            return ("error", rest)
        if t == b":":
            return ("int", int(rest))
        if t == b"$":
            n = int(rest)
            return ("null", "$-1") if n < 0 else ("bulk", self._exact(n))
        if t in (b"*", b"~", b">"):
            n = int(rest)
            if n < 0:
                return ("null", "*-1")
            kind = {b"*": "array", b"~": "set", b">": "push"}[t]
            return (kind, [self._parse() for _ in range(n)])
        if t in (b"%", b"|"):
            n = int(rest)
            pairs = [(self._parse(), self._parse()) for _ in range(n)]
            if t == b"|":
                return ("attr", pairs + [(("attr-of", None), self._parse())])
            return ("map", pairs)
        if t == b"_":
            return ("null", "_")
        if t == b",":
            return ("double", rest)
        if t == b"#":
            return ("bool", rest == b"t")
        if t == b"(":
            return ("bignum", rest)
        if t == b"=":
            data = self._exact(int(rest))
            return ("verbatim", (data[:3], data[4:]))
        if t == b"!":
            return ("error", self._exact(int(rest)))
        raise Closed("bad reply type byte %r" % t)

    def read(self):
        if self.dead:
            return self.dead
        try:
            return self._parse()
        except TimeoutError:
            self.dead = ("timeout", None)
        except (Closed, ValueError) as e:
            self.dead = ("closed", str(e))
        return self.dead

    def call(self, args):
        self.send(encode(args))
        return self.read()


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


# ----------------------------------------------------------- case file parser

def split_args(line):
    """Split like redis-cli (sdssplitargs); returns a list of bytes."""
    args, i, n = [], 0, len(line)
    while True:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            return args
        cur = bytearray()
        if line[i] == '"':
            i += 1
            while True:
                if i >= n:
                    raise ValueError("unbalanced double quote")
                c = line[i]
                if c == "\\" and i + 1 < n:
                    e = line[i + 1]
                    if e == "x" and _ishex(line[i + 2:i + 4]):
                        cur.append(int(line[i + 2:i + 4], 16))
                        i += 4
                        continue
                    cur += {"n": b"\n", "r": b"\r", "t": b"\t", "b": b"\b",
                            "a": b"\a"}.get(e, e.encode())
                    i += 2
                    continue
                if c == '"':
                    i += 1
                    if i < n and not line[i].isspace():
                        raise ValueError("closing quote must be followed by space")
                    break
                cur += c.encode()
                i += 1
        elif line[i] == "'":
            i += 1
            while True:
                if i >= n:
                    raise ValueError("unbalanced single quote")
                c = line[i]
                if c == "\\" and i + 1 < n and line[i + 1] == "'":
                    cur += b"'"
                    i += 2
                    continue
                if c == "'":
                    i += 1
                    if i < n and not line[i].isspace():
                        raise ValueError("closing quote must be followed by space")
                    break
                cur += c.encode()
                i += 1
        else:
            while i < n and not line[i].isspace():
                cur += line[i].encode()
                i += 1
        args.append(bytes(cur))


def _ishex(s):
    return len(s) == 2 and all(c in "0123456789abcdefABCDEF" for c in s)


class Step:
    """One command (or a raw write / sleep / pipeline) of a case."""

    def __init__(self, kind, text, args=None, flags=None, approx=1, count=1,
                 steps=None, ms=0, raw=b""):
        self.kind, self.text, self.args = kind, text, args
        self.flags = flags or set()
        self.approx, self.count, self.steps = approx, count, steps
        self.ms, self.raw = ms, raw
        self.conn = 2 if "conn2" in self.flags else 1


class Case:
    def __init__(self, file, name, lineno):
        self.file, self.name, self.lineno = file, name, lineno
        self.steps = []
        self.needs = set()
        self.cluster = False

    def commands(self):
        """Upper-case names of the commands the case sends."""
        names = set()
        for step in self.steps:
            subs = step.steps if step.kind == "pipeline" else [step]
            for sub in subs:
                if sub.kind == "cmd":
                    names.add(sub.args[0].upper().decode("latin-1"))
        return names

    @property
    def id(self):
        return "%s:%s" % (os.path.splitext(os.path.basename(self.file))[0],
                          self.name)


def parse_line(text, where):
    flags, approx = set(), 1
    rest = text.strip()
    while rest.startswith("@"):
        word, _, tail = rest.partition(" ")
        tail = tail.strip()
        if word == "@sleep":
            return Step("sleep", text, ms=int(tail))
        if word == "@conn2":
            flags.add("conn2")
            rest = tail
            continue
        if word == "@raw":
            cnt, _, data = tail.partition(" ")
            raw = split_args(data)
            if len(raw) != 1:
                raise ValueError("%s: @raw wants N and one quoted string" % where)
            return Step("raw", text, count=int(cnt), raw=raw[0], flags=flags)
        if word.startswith("@approx"):
            flags.add("approx")
            if "=" in word:
                approx = float(word.split("=", 1)[1])
        elif word in ("@sort", "@type", "@ignore", "@scan"):
            flags.add(word[1:])
        else:
            raise ValueError("%s: unknown directive %s" % (where, word))
        rest = tail
    args = split_args(rest)
    if not args:
        raise ValueError("%s: directive without a command" % where)
    return Step("cmd", text.strip(), args=args, flags=flags, approx=approx)


def load_cases(path):
    cases, case, pipe = [], None, None
    names = set()
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            where = "%s:%d" % (path, lineno)
            s = line.strip()
            if s.startswith("##"):
                if pipe is not None:
                    raise ValueError("%s: @pipeline without @end" % where)
                name = s[2:].strip()
                if name in names:
                    raise ValueError("%s: duplicate case name %r" % (where, name))
                names.add(name)
                case = Case(path, name, lineno)
                cases.append(case)
                continue
            if not s or s.startswith("#"):
                continue
            if case is None:
                raise ValueError("%s: command before the first ## case" % where)
            if s == "@cluster-oracle":
                case.cluster = True
                continue
            if s.startswith("@needs "):
                case.needs.update(s.split()[1:])
                continue
            if s == "@pipeline":
                pipe = Step("pipeline", s, steps=[])
                continue
            if s == "@end":
                if pipe is None:
                    raise ValueError("%s: @end without @pipeline" % where)
                case.steps.append(pipe)
                pipe = None
                continue
            step = parse_line(s, where)
            if pipe is not None:
                if step.kind != "cmd" or step.flags & {"scan", "conn2"}:
                    raise ValueError("%s: only plain commands in a pipeline" % where)
                pipe.steps.append(step)
            else:
                case.steps.append(step)
    if pipe is not None:
        raise ValueError("%s: @pipeline without @end" % path)
    return cases


# ----------------------------------------------------------------- comparing

def sort_key(v):
    return repr(v)


def normalize(v, flags):
    t, val = v
    if "sort" in flags:
        if t in ("array", "set", "push"):
            return (t, sorted((normalize(x, flags) for x in val), key=sort_key))
        if t == "map":
            return (t, sorted(((normalize(k, flags), normalize(x, flags))
                               for k, x in val), key=sort_key))
    return v


def shape(v):
    t, val = v
    if t in ("array", "set", "push"):
        return (t, [shape(x) for x in val])
    if t in ("map", "attr"):
        return (t, [(k, shape(x)) for k, x in val])
    return (t,)


def approx_equal(a, b, tol):
    ta, va = a
    tb, vb = b
    if ta != tb:
        return False
    if ta in ("array", "set", "push"):
        return len(va) == len(vb) and all(
            approx_equal(x, y, tol) for x, y in zip(va, vb))
    if ta == "map":
        return len(va) == len(vb) and all(
            k1 == k2 and approx_equal(x, y, tol)
            for (k1, x), (k2, y) in zip(va, vb))
    if ta in ("int", "double", "bulk"):
        try:
            x, y = float(va), float(vb)
        except (TypeError, ValueError):
            return va == vb
        if x < 0 or y < 0:
            return x == y
        return abs(x - y) <= tol
    return va == vb


def same(a, b, step):
    flags = step.flags
    if "ignore" in flags:
        return True
    a, b = normalize(a, flags), normalize(b, flags)
    if "type" in flags:
        return shape(a) == shape(b)
    if "approx" in flags:
        return approx_equal(a, b, step.approx)
    return a == b


def show(v, limit=300):
    t, val = v
    if t in ("simple", "error"):
        s = ("+" if t == "simple" else "-") + _b(val)
    elif t == "int":
        s = ":%d" % val
    elif t == "bulk":
        s = '"%s"' % _b(val)
    elif t == "null":
        s = "(nil %s)" % val
    elif t == "double":
        s = "(double) " + _b(val)
    elif t == "bool":
        s = "(bool) %s" % ("#t" if val else "#f")
    elif t == "bignum":
        s = "(bignum) " + _b(val)
    elif t == "verbatim":
        s = "(verbatim %s) \"%s\"" % (_b(val[0]), _b(val[1]))
    elif t in ("array", "set", "push"):
        s = "%s[%s]" % ({"array": "", "set": "set", "push": "push"}[t],
                        ", ".join(show(x, limit) for x in val))
    elif t in ("map", "attr"):
        s = "%s{%s}" % ("" if t == "map" else "attr",
                        ", ".join("%s: %s" % (show(k, limit), show(x, limit))
                                  for k, x in val))
    elif t == "timeout":
        s = "(no reply within %.0fs)" % READ_TIMEOUT
    elif t == "closed":
        s = "(connection lost: %s)" % val
    elif t == "scan":
        s = "keys{%s}" % ", ".join('"%s"' % _b(k) for k in sorted(val))
    else:
        s = repr(v)
    return s if len(s) <= limit else s[:limit] + "..."


def first_diff(a, b, path=""):
    """Where two container replies first differ: (path, a part, b part)."""
    if a[0] == b[0] and a[0] in ("array", "set", "push", "map", "attr"):
        xs, ys = a[1], b[1]
        if a[0] in ("map", "attr"):
            xs = [x for kv in xs for x in kv]
            ys = [y for kv in ys for y in kv]
        for i, (x, y) in enumerate(zip(xs, ys)):
            if x != y:
                return first_diff(x, y, "%s[%d]" % (path, i))
        if len(xs) != len(ys):
            return ("%s length" % (path or "top"), ("int", len(xs)),
                    ("int", len(ys)))
    return (path or "top", a, b)


def describe(x, y, label):
    """One line comparing two replies; long containers also name the first
    element that differs."""
    line = "redis: %s | %s: %s" % (show(x), label, show(y))
    if len(show(x, 10**6)) > 300 or len(show(y, 10**6)) > 300:
        path, px, py = first_diff(x, y)
        if path != "top":
            line += " | first difference at %s: redis: %s | %s: %s" % (
                path, show(px, 200), label, show(py, 200))
    return line


def _b(b):
    out = []
    for c in b:
        if c == 0x5c:
            out.append("\\\\")
        elif c == 0x22:
            out.append('\\"')
        elif c == 0x0a:
            out.append("\\n")
        elif c == 0x0d:
            out.append("\\r")
        elif 32 <= c < 127:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


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


_used_ports = set()


def pick_port():
    for p in PORT_RANGE:
        if p not in _used_ports and port_free(p):
            _used_ports.add(p)
            return p
    raise RuntimeError("no free port in 7200-7299")


class Server:
    def __init__(self, label, argv_fn, addr=None):
        self.label = label
        self.argv_fn = argv_fn
        self.proc = None
        self.logfile = None
        self.workdir = None
        if addr:
            host, _, port = addr.rpartition(":")
            self.host, self.port = host or "127.0.0.1", int(port)
        else:
            self.host, self.port = "127.0.0.1", None

    def start(self):
        if self.argv_fn is None:
            self.wait_ready()
            return
        last = None
        for _ in range(3):
            self.port = pick_port()
            self.workdir = tempfile.mkdtemp(prefix="diff-%s-" % self.label)
            self.logfile = open(os.path.join(self.workdir, "server.log"), "wb")
            argv = self.argv_fn(self.port, self.workdir)
            self.proc = subprocess.Popen(argv, stdout=self.logfile,
                                         stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL,
                                         cwd=self.workdir)
            try:
                self.wait_ready()
                return
            except RuntimeError as e:
                last = e
                self.stop()
        raise last

    def wait_ready(self, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError("%s exited with status %s; log: %s" % (
                    self.label, self.proc.returncode, self.log_tail()))
            try:
                c = Conn(self.host, self.port, timeout=1.0)
                r = c.call([b"PING"])
                c.close()
                if r[0] in ("simple", "error"):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("%s not ready on port %s; log: %s" % (
            self.label, self.port, self.log_tail()))

    def alive(self):
        return self.proc is None or self.proc.poll() is None

    def log_tail(self, n=600):
        if not self.workdir:
            return ""
        try:
            with open(os.path.join(self.workdir, "server.log"), "rb") as f:
                return _b(f.read()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        if self.logfile:
            self.logfile.close()
            self.logfile = None
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        _used_ports.discard(self.port)

    def connect(self):
        return Conn(self.host, self.port)


# --aof-check: both servers log every write and each case is followed by a
# reload of the append-only file (DEBUG LOADAOF, which writes out what is
# pending first) that must give back the same dataset (DEBUG DIGEST before
# and after). Cases that sleep are left out: keys expiring between the two
# digests change them on redis-server too; so does a reload that changes
# redis-server's own digest (a -0 score): only sluice changing alone fails.
AOF_ARGS = []


def redis_argv(port, workdir):
    return [REDIS, "--save", "", "--appendonly", "no", "--port", str(port),
            "--daemonize", "no", "--bind", "127.0.0.1", "--dir", workdir] + AOF_ARGS


def redis_cluster_argv(port, workdir):
    return redis_argv(port, workdir) + [
        "--cluster-enabled", "yes",
        "--cluster-config-file", os.path.join(workdir, "nodes.conf")]


def sluiced_path():
    return os.environ.get("SLUICED") or os.path.join(
        REPO, "build", "dataplane", "sluiced")


def sluiced_argv(port, workdir):
    return [sluiced_path(), "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir,
            "--save", ""] + shlex.split(os.environ.get("SLUICED_ARGS", "")) + AOF_ARGS


# -------------------------------------------------------------------- runner

class Result:
    def __init__(self, case):
        self.case = case
        self.diffs = []  # (command text, redis reply, sluice reply)


def run_step_on(conn, step):
    """Run one step on one connection; returns a list of replies."""
    if step.kind == "raw":
        conn.send(step.raw)
        return [conn.read() for _ in range(step.count)]
    if step.kind == "pipeline":
        conn.send(b"".join(encode(s.args) for s in step.steps))
        return [conn.read() for _ in step.steps]
    if "scan" in step.flags:
        return [scan_all(conn, step.args)]
    return [conn.call(step.args)]


def scan_all(conn, args):
    args = list(args)
    ci = 1 if args[0].upper() == b"SCAN" else 2
    keys = set()
    for _ in range(100000):
        r = conn.call(args)
        if r[0] != "array" or len(r[1]) != 2 or r[1][0][0] != "bulk" \
                or r[1][1][0] != "array":
            return r
        keys.update(x[1] for x in r[1][1][1])
        if r[1][0][1] == b"0":
            return ("scan", frozenset(keys))
        args[ci] = r[1][0][1]
    return ("closed", "SCAN did not finish")


def fresh(server):
    c = server.connect()
    r = c.call([b"FLUSHALL"])
    if r != ("simple", b"OK"):
        return c, "setup FLUSHALL replied %s" % show(r)
    return c, None


def missing_needs(cases, oracle, server):
    """Map each case id to the sorted list of commands and config options
    the oracle has and the server lacks (commands neither knows, like the
    unknown-command cases, are what those cases test)."""
    conns = (oracle.connect(), server.connect())
    have = {}

    def has(c, name):
        if name.startswith("config:"):
            r = c.call([b"CONFIG", b"GET", name[7:].encode()])
            return r[0] in ("array", "map") and len(r[1]) > 0
        r = c.call([b"COMMAND", b"INFO", name.encode("latin-1")])
        return r[0] == "array" and len(r[1]) == 1 and r[1][0][0] == "array"

    def lacks(name):
        if name not in have:
            have[name] = has(conns[0], name) and not has(conns[1], name)
        return have[name]
    out = {}
    try:
        for case in cases:
            missing = sorted(n for n in case.commands() | case.needs if lacks(n))
            if missing:
                out[case.id] = missing
    finally:
        for c in conns:
            c.close()
    return out


def conn_for(step, first, server, seconds, conns):
    """The connection a step runs on: the case's first one, or the second
    connection to the same server (opened at its first @conn2 step)."""
    if step.conn == 1:
        return first
    if server.label not in seconds:
        try:
            seconds[server.label] = server.connect()
        except OSError as e:
            c = Conn.__new__(Conn)
            c.sock, c.buf, c.dead = None, b"", ("closed", "connect: %s" % e)
            seconds[server.label] = c
        conns.append(seconds[server.label])
    return seconds[server.label]


def run_case(case, a, b):
    res = Result(case)
    conns = []
    seconds = {}
    try:
        try:
            ca, ea = fresh(a)
            conns.append(ca)
            cb, eb = fresh(b)
            conns.append(cb)
        except OSError as e:
            res.diffs.append(("(connect)", ("closed", str(e)), ("closed", "")))
            return res
        if ea or eb:
            res.diffs.append(("(setup)", ("closed", ea or "ok"),
                              ("closed", eb or "ok")))
        for step in case.steps:
            if step.kind == "sleep":
                time.sleep(step.ms / 1000.0)
                continue
            xa = conn_for(step, ca, a, seconds, conns)
            xb = conn_for(step, cb, b, seconds, conns)
            ra = run_step_on(xa, step)
            rb = run_step_on(xb, step)
            subs = step.steps if step.kind == "pipeline" else [step] * len(ra)
            for i, (x, y) in enumerate(zip(ra, rb)):
                if not same(x, y, subs[i]):
                    text = subs[i].text
                    if step.kind == "pipeline":
                        text = "[pipeline %d] %s" % (i + 1, text)
                    elif step.kind == "raw" and step.count > 1:
                        text = "%s [reply %d]" % (text, i + 1)
                    res.diffs.append((text, x, y))
            if xa.dead or xb.dead:
                break
    finally:
        for c in conns:
            c.close()
    return res


def aof_reload_check(case, server):
    """DEBUG DIGEST, DEBUG LOADAOF, DEBUG DIGEST: the dataset the case left
    must come back from the append-only file alone. A problem as a string."""
    c = server.connect()
    try:
        before = c.call([b"DEBUG", b"DIGEST"])
        r = c.call([b"DEBUG", b"LOADAOF"])
        after = c.call([b"DEBUG", b"DIGEST"])
    finally:
        c.close()
    if before != after or r != ("simple", b"OK") or before[0] != "simple":
        return "%s: digest %s, DEBUG LOADAOF %s, digest after %s" % (
            server.label, show(before), show(r), show(after))
    return None


def dump_case(case, server):
    print("## %s" % case.id)
    c, err = fresh(server)
    if err:
        print("  " + err)
    conns, seconds = [c], {}
    for step in case.steps:
        if step.kind == "sleep":
            time.sleep(step.ms / 1000.0)
            continue
        replies = run_step_on(conn_for(step, c, server, seconds, conns), step)
        subs = step.steps if step.kind == "pipeline" else [step] * len(replies)
        for sub, r in zip(subs, replies):
            print("  %s -> %s" % (sub.text, show(r, 2000)))
    for x in conns:
        x.close()


def select_cases(args):
    files = sorted(glob.glob(os.path.join(HERE, "cases", "*.txt")))
    if args.files:
        want = []
        for f in args.files:
            stem = os.path.splitext(os.path.basename(f))[0]
            match = [p for p in files
                     if os.path.splitext(os.path.basename(p))[0] == stem]
            if not match and os.path.exists(f):
                match = [f]
            if not match:
                sys.exit("no case file %r" % f)
            want += match
        files = want
    cases = []
    for f in files:
        cases += load_cases(f)
    if args.k:
        cases = [c for c in cases if any(k in c.id for k in args.k)]
    return cases


def main():
    global READ_TIMEOUT
    ap = argparse.ArgumentParser(description="redis vs sluiced differential tests")
    ap.add_argument("files", nargs="*", help="case files (name or path)")
    ap.add_argument("-k", action="append", help="run cases whose file:name "
                    "contains this (repeatable)")
    ap.add_argument("--self-check", action="store_true",
                    help="compare redis with a second redis (validates cases)")
    ap.add_argument("--sluice-addr", help="use a running sluiced at HOST:PORT")
    ap.add_argument("--list", action="store_true", help="list cases and exit")
    ap.add_argument("--dump", action="store_true",
                    help="run the cases on redis only and print every reply")
    ap.add_argument("-v", action="store_true", help="show every difference")
    ap.add_argument("--aof-check", action="store_true",
                    help="run both servers with appendonly yes and, after each "
                    "case, reload the AOF (DEBUG LOADAOF): the digest must not change")
    ap.add_argument("--timeout", type=float, default=READ_TIMEOUT,
                    help="seconds to wait for one reply")
    args = ap.parse_args()
    READ_TIMEOUT = args.timeout
    if args.aof_check:
        AOF_ARGS[:] = ["--appendonly", "yes", "--appendfsync", "everysec",
                       "--enable-debug-command", "yes"]

    cases = select_cases(args)
    if args.list:
        for c in cases:
            print(c.id)
        print("%d cases" % len(cases))
        return 0

    redis = Server("redis", redis_argv)
    redis_c = Server("redis-cluster", redis_cluster_argv)
    if args.dump:
        try:
            redis.start()
            for case in cases:
                if case.cluster and redis_c.proc is None:
                    redis_c.start()
                dump_case(case, redis_c if case.cluster else redis)
        finally:
            redis_c.stop()
            redis.stop()
        return 0
    if args.self_check:
        other = Server("redis2", redis_argv)
        other_c = Server("redis2-cluster", redis_cluster_argv)
        other_label = "redis2"
    elif args.sluice_addr:
        other = Server("sluice", None, addr=args.sluice_addr)
        other_c = other
        other_label = "sluice"
    else:
        if not os.access(sluiced_path(), os.X_OK):
            print("sluiced not found at %s (set SLUICED or build it)" %
                  sluiced_path())
            print("0 passed, %d failed" % len(cases))
            return 2
        other = Server("sluice", sluiced_argv)
        other_c = other
        other_label = "sluice"

    def on_signal(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_signal)

    passed = failed = 0
    skipped = {}
    try:
        redis.start()
        other.start()
        lacking = {} if args.self_check else missing_needs(cases, redis, other)
        for case in cases:
            if case.id in lacking:
                for need in lacking[case.id]:
                    skipped.setdefault(need, []).append(case.id)
                continue
            a, b = redis, other
            if case.cluster:
                a, b = redis_c, other_c
                for srv in (a, b):
                    if srv.argv_fn is not None and srv.proc is None:
                        srv.start()
            res = run_case(case, a, b)
            if args.aof_check and not case.cluster and \
                    not any(st.kind == "sleep" for st in case.steps):
                # Only a change redis-server does not show too is a failure
                # (a -0 score, say, comes back as 0 from redis's AOF too).
                pa = aof_reload_check(case, a) if a.alive() else None
                pb = aof_reload_check(case, b) if b.alive() else None
                if pb and not pa:
                    res.diffs.append(("(AOF reload)", ("simple", b"digest unchanged"),
                                      ("simple", pb.encode())))
            note = ""
            for srv in (a, b):
                if not srv.alive():
                    note = " [%s died (status %s), restarted; log: %s]" % (
                        srv.label, srv.proc.returncode, srv.log_tail(300))
                    srv.stop()
                    srv.start()
            if res.diffs or note:
                failed += 1
                if res.diffs:
                    cmd, x, y = res.diffs[0]
                    more = ""
                    if len(res.diffs) > 1 and not args.v:
                        more = " (+%d more)" % (len(res.diffs) - 1)
                    print("FAIL %s: %s | %s%s%s" % (
                        case.id, cmd, describe(x, y, other_label), more, note))
                    if args.v:
                        for cmd, x, y in res.diffs[1:]:
                            print("    %s | %s" % (
                                cmd, describe(x, y, other_label)))
                else:
                    print("FAIL %s:%s" % (case.id, note))
            else:
                passed += 1
            sys.stdout.flush()
    except KeyboardInterrupt:
        print("interrupted")
        failed += 1
    except RuntimeError as e:
        print("error: %s" % e)
        failed = max(failed, 1)
    finally:
        if other_c is not other:
            other_c.stop()
        redis_c.stop()
        other.stop()
        redis.stop()
    nskipped = len({c for ids in skipped.values() for c in ids})
    for need in sorted(skipped):
        print("SKIP %d case(s) need %s, which %s lacks: %s" % (
            len(skipped[need]), need, other_label, ", ".join(skipped[need][:4]) +
            (" ..." if len(skipped[need]) > 4 else "")))
    if nskipped:
        print("%d passed, %d failed, %d skipped" % (passed, failed, nskipped))
    else:
        print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
