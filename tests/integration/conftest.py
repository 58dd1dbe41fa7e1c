"""Harness for sluice's integration tests.

Every test here drives a real server process over loopback with real clients
(redis-py, redis-cli, raw sockets). The server under test is sluiced, taken
from $SLUICED or build/dataplane/sluiced under the repository root. With
SLUICE_TEST_REDIS=1 the same tests run against /usr/bin/redis-server (or
$REDIS_SERVER), which is the oracle: a test that fails against Redis is a
wrong test. Tests that only make sense for sluiced are marked `sluice_only`.

Rules the harness keeps: ports come from 7400-7499 only; every child is
killed by its own PID at teardown (never by name); every wait is bounded.

Fixtures:
  r             redis-py client (decode_responses=True) on a shared server,
                with all databases flushed before the test
  rb            the same, returning bytes
  shared        the shared Server object (module scope)
  start_server  factory: start_server(*extra_args, config_text=None, ...)
                returns a fresh Server that the test owns
"""

import os
import pathlib
import re
import resource
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import redis

REPO = pathlib.Path(__file__).resolve().parents[2]
USE_REDIS = os.environ.get("SLUICE_TEST_REDIS", "") not in ("", "0")
PORT_LO, PORT_HI = 7400, 7499
START_TIMEOUT = 10.0

sluice_only = pytest.mark.skipif(USE_REDIS, reason="sluiced-specific behaviour")


def server_binary():
    if USE_REDIS:
        return os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")
    return os.environ.get("SLUICED") or str(REPO / "build" / "dataplane" / "sluiced")


def redis_cli_binary():
    return os.environ.get("REDIS_CLI", "/usr/bin/redis-cli")


def _raise_nofile_limit():
    # 2000-connection tests need more descriptors than the usual 1024, in the
    # test process and in the server it starts (which inherits the limit).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


_raise_nofile_limit()

# Ports are handed out round-robin from a per-process starting point so that
# consecutive servers never reuse a port still in TIME_WAIT, and two test runs
# at the same time rarely collide (a collision is retried at start).
_next_port = [PORT_LO + os.getpid() % (PORT_HI - PORT_LO + 1)]


def _port_is_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port():
    n = PORT_HI - PORT_LO + 1
    for _ in range(n):
        port = _next_port[0]
        _next_port[0] = PORT_LO + (port - PORT_LO + 1) % n
        if _port_is_free(port):
            return port
    raise RuntimeError("no free port in %d-%d" % (PORT_LO, PORT_HI))


def wait_for(pred, timeout, interval=0.02, what="condition"):
    """Poll pred() until it returns a truthy value or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


class StartError(Exception):
    pass


class Server:
    """One server child process, its port and its captured output."""

    def __init__(self, proc, port, workdir, argv):
        self.proc = proc
        self.pid = proc.pid
        self.port = port
        self.workdir = workdir
        self.argv = argv
        self.extra_pids = []  # daemons the test discovered (pidfile)

    # -- output ---------------------------------------------------------
    def output(self):
        """Everything the process wrote to stdout and stderr so far."""
        text = ""
        for name in ("stdout", "stderr"):
            try:
                with open(os.path.join(self.workdir, name), "rb") as f:
                    text += f.read().decode("utf-8", "replace")
            except OSError:
                pass
        return text

    def describe(self):
        tail = "\n".join(self.output().splitlines()[-30:])
        return "argv: %s\nexit: %s\noutput tail:\n%s" % (
            " ".join(self.argv), self.proc.poll(), tail)

    # -- clients --------------------------------------------------------
    def client(self, **kw):
        kw.setdefault("socket_timeout", 30)
        kw.setdefault("socket_connect_timeout", 5)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def conn(self, timeout=10):
        return RespConn(self.port, timeout=timeout)

    # -- lifecycle ------------------------------------------------------
    def alive(self):
        return self.proc.poll() is None

    def wait_exit(self, timeout=10):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("server did not exit within %ss\n%s" % (timeout, self.describe()))

    def signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.pid, sig)

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        for pid in self.extra_pids:
            if pid_alive(pid) and _is_our_binary(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def rss_kb(self):
        return rss_kb(self.pid)


def _is_our_binary(pid):
    try:
        exe = os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return False
    return os.path.basename(exe) == os.path.basename(server_binary())


def _accepts(port):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=0.5)
    except OSError:
        return False
    try:
        s.sendall(b"PING\r\n")
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = s.recv(256)
            if not chunk:
                return False
            data += chunk
        return data.startswith(b"+PONG")
    except OSError:
        return False
    finally:
        s.close()


def wait_accepting(port, timeout=START_TIMEOUT, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        if _accepts(port):
            return True
        time.sleep(0.02)
    return False


def spawn(extra_args=(), config_text=None, port=None, port_on_cmdline=True,
          wait=True, workdir=None):
    """Start a server; return a Server. With wait=True, block until it
    answers PING (raise StartError with its output if it exits or does not
    answer within START_TIMEOUT). config_text is written to a file passed as
    the first argument; the string '{port}' in it is replaced by the port."""
    port = port or free_port()
    workdir = workdir or tempfile.mkdtemp(prefix="sluice-integ-")
    argv = [server_binary()]
    if config_text is not None:
        path = os.path.join(workdir, "test.conf")
        with open(path, "w") as f:
            f.write(config_text.replace("{port}", str(port)))
        argv.append(path)
    if port_on_cmdline:
        argv += ["--port", str(port), "--bind", "127.0.0.1"]
    if USE_REDIS:
        # Keep Redis from writing dump.rdb anywhere.
        argv += ["--save", "", "--appendonly", "no"]
    argv += [str(a) for a in extra_args]
    if not os.access(argv[0], os.X_OK):
        pytest.fail("server binary %s is missing or not executable "
                    "(build it, or set SLUICED)" % argv[0])
    with open(os.path.join(workdir, "stdout"), "wb") as out, \
            open(os.path.join(workdir, "stderr"), "wb") as err:
        proc = subprocess.Popen(argv, cwd=workdir, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL)
    srv = Server(proc, port, workdir, argv)
    if wait and not wait_accepting(port, proc=proc):
        srv.kill()
        raise StartError("server did not start\n" + srv.describe())
    return srv


def spawn_retrying(extra_args=(), **kw):
    """spawn(), retried on a new port if the port was taken meanwhile."""
    last = None
    for _ in range(4):
        try:
            return spawn(extra_args, **kw)
        except StartError as e:
            last = e
            if not re.search(r"in use", str(e), re.I):
                break
    raise last


# ---------------------------------------------------------------------------
# Fixtures


@pytest.fixture
def start_server():
    """Factory for servers owned by one test; all are killed at teardown."""
    servers = []

    def start(*extra_args, **kw):
        if kw.get("wait", True) and "port" not in kw:
            srv = spawn_retrying(extra_args, **kw)
        else:
            srv = spawn(extra_args, **kw)
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.kill()


class _Shared:
    """The module's shared server, restarted if an earlier test killed it.
    A failure to start is remembered so later tests fail fast with it."""

    def __init__(self):
        self.srv = None
        self.start_error = None

    def get(self):
        if self.start_error is not None:
            raise StartError("(repeated) " + str(self.start_error))
        if self.srv is None or not self.srv.alive():
            try:
                self.srv = spawn_retrying()
            except StartError as e:
                self.start_error = e
                raise
        return self.srv


@pytest.fixture(scope="module")
def shared():
    holder = _Shared()
    yield holder
    if holder.srv is not None:
        holder.srv.kill()


def _client_on_shared(shared, decode):
    srv = shared.get()
    c = srv.client(decode_responses=decode)
    c.flushall()
    yield c
    c.close()
    if not srv.alive():
        pytest.fail("server died during this test\n" + srv.describe())


@pytest.fixture
def r(shared):
    yield from _client_on_shared(shared, True)


@pytest.fixture
def rb(shared):
    yield from _client_on_shared(shared, False)


@pytest.fixture
def srv(shared):
    """The shared server itself (flushed), for raw-socket tests."""
    s = shared.get()
    c = s.client()
    c.flushall()
    c.close()
    yield s
    if not s.alive():
        pytest.fail("server died during this test\n" + s.describe())


# ---------------------------------------------------------------------------
# A small RESP2/RESP3 client for raw-socket tests.


class RespError(Exception):
    """An error reply (returned, not raised, by RespConn.read)."""

    def __eq__(self, other):
        return isinstance(other, RespError) and str(self) == str(other)

    def __hash__(self):
        return hash(str(self))


class Verbatim(bytes):
    pass


def encode_command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class RespConn:
    """A raw TCP connection with a RESP reader. read() decodes one reply;
    read_raw() returns its exact bytes; read_until_close() drains to EOF."""

    def __init__(self, port, timeout=10, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def cmd(self, *args):
        self.send(encode_command(*args))
        return self.read()

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("connection closed by server")
        if self.pos > (1 << 20):
            del self.buf[:self.pos]
            self.pos = 0
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = bytes(self.buf[self.pos:i])
                self.pos = i + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        if self.buf[self.pos + n:self.pos + n + 2] != b"\r\n":
            raise AssertionError("bulk not terminated by CRLF")
        self.pos += n + 2
        return data

    def read_exact(self, n):
        """Read exactly n bytes of the raw stream."""
        while len(self.buf) - self.pos < n:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return data

    def _parse(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RespError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"(":
            return int(rest)
        if t == b"$" or t == b"=":
            n = int(rest)
            if n < 0:
                return None
            data = self._exact(n)
            return Verbatim(data[4:]) if t == b"=" else data
        if t == b"!":
            return RespError(self._exact(int(rest)).decode())
        if t == b"_":
            return None
        if t == b",":
            return float(rest.decode())
        if t == b"#":
            return rest == b"t"
        if t in (b"*", b"~", b">"):
            n = int(rest)
            if n < 0:
                return None
            return [self._parse() for _ in range(n)]
        if t == b"%":
            n = int(rest)
            d = {}
            for _ in range(n):
                k = self._parse()
                d[k] = self._parse()
            return d
        if t == b"|":
            n = int(rest)
            for _ in range(2 * n):
                self._parse()
            return self._parse()
        raise AssertionError("unknown RESP type byte in line %r" % line)

    def read(self):
        return self._parse()

    def read_raw(self):
        start = self.pos
        self._parse()
        return bytes(self.buf[start:self.pos])

    def read_until_close(self, timeout=5):
        """Return all bytes up to EOF (connection reset counts as EOF).
        Fails if the server keeps the connection open past timeout."""
        data = bytes(self.buf[self.pos:])
        self.pos = len(self.buf)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("connection still open after %ss; got %r"
                                     % (timeout, data[:200]))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk
