"""Scale: thousands of idle connections at a small memory cost, and active
expiry of many keys that nobody touches."""

import selectors
import socket
import os
import time

from conftest import RespConn, encode_command, rss_kb

IDLE_CONNECTIONS = 2000
RSS_BUDGET_KB = 20 * 1024


def _open_connections(port, n):
    conns = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        conns.append(s)
    return conns


def _ping_all(conns, timeout=20):
    """Send PING on every connection, then collect every reply."""
    for s in conns:
        s.sendall(b"PING\r\n")
    sel = selectors.DefaultSelector()
    got = {}
    for s in conns:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        got[s] = b""
    pending = set(conns)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                chunk = s.recv(64)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                sel.unregister(s)
                pending.discard(s)
                continue
            got[s] += chunk
            if got[s].endswith(b"\r\n"):
                sel.unregister(s)
                pending.discard(s)
    sel.close()
    for s in conns:
        s.setblocking(True)
    return [got[s] for s in conns]


def test_2000_idle_connections_all_get_pong_and_cost_under_20mb_rss(start_server):
    s = start_server()
    with s.conn() as c:
        assert c.cmd("PING") == "PONG"
        time.sleep(0.2)
        before = s.rss_kb()
        conns = _open_connections(s.port, IDLE_CONNECTIONS)
        try:
            replies = _ping_all(conns)
            bad = [r for r in replies if r != b"+PONG\r\n"]
            assert not bad, "%d of %d connections did not get PONG, e.g. %r" % (
                len(bad), len(replies), bad[:3])
            info = c.cmd("INFO", "clients").decode()
            assert "connected_clients:%d\r\n" % (IDLE_CONNECTIONS + 1) in info, info
            time.sleep(0.2)
            grown = s.rss_kb() - before
            # Sanitizer builds pad every allocation: their RSS says nothing.
            if not os.environ.get("SLUICE_SANITIZED"):
                assert grown < RSS_BUDGET_KB, "RSS grew by %d kB for %d connections" % (
                    grown, IDLE_CONNECTIONS)
            # They stay usable after sitting idle.
            assert set(_ping_all(conns[::100])) == {b"+PONG\r\n"}
        finally:
            for sock in conns:
                sock.close()
        assert c.cmd("PING") == "PONG"


def _load_expiring_keys(port, n, px):
    payload = b"".join(encode_command("SET", "exp:%d" % i, "v", "PX", px) for i in range(n))
    with RespConn(port, timeout=30) as c:
        c.send(payload)
        expected = b"+OK\r\n" * n
        assert c.read_exact(len(expected)) == expected


def test_active_expiry_removes_100k_untouched_keys_within_10_seconds(start_server):
    s = start_server()
    n = 100000
    _load_expiring_keys(s.port, n, 200)
    with s.conn() as c:
        c.cmd("SET", "persistent", "stays")
        t0 = time.monotonic()
        while True:
            size = c.cmd("DBSIZE")
            if size == 1 or time.monotonic() - t0 > 10:
                break
            time.sleep(0.1)
        assert size == 1, "DBSIZE still %d after 10 s" % size
        assert c.cmd("GET", "persistent") == b"stays"
        info = c.cmd("INFO", "stats").decode()
        expired = int(info.split("expired_keys:")[1].split("\r\n")[0])
        assert expired == n
        info = c.cmd("INFO", "keyspace").decode()
        assert "db0:keys=1,expires=0," in info, info
