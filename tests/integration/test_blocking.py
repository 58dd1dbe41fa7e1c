"""Blocking commands (BLPOP, BRPOP, BLMOVE, BLMPOP, BZPOPMIN, BZMPOP):
timeouts, wake-up by pushes from other connections and other shards, first
blocked first served, requests pipelined behind a blocked one, MULTI, and
clients that disconnect while blocked.

Runs against redis-server too (SLUICE_TEST_REDIS=1): every expectation here
is Redis 7.0's behaviour. Tests skip when the server lacks the command.
"""
import socket
import threading
import time

import pytest
from conftest import sluice_only

FOUR = ("--dataplane-cores", "0,1,0,1")


def need(r, *cmds):
    for c in cmds:
        try:
            r.execute_command(c)  # too few arguments for any of them
        except Exception as e:  # noqa: BLE001
            if "unknown command" in str(e):
                pytest.skip("server has no %s" % c)


def blocked_count(r):
    return r.info("clients")["blocked_clients"]


def wait_blocked(r, n, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if blocked_count(r) >= n:
            return
        time.sleep(0.01)
    raise AssertionError("expected %d blocked clients, have %d" % (n, blocked_count(r)))


class Waiter(threading.Thread):
    """Runs one blocking command on its own connection; .result after join."""

    def __init__(self, server, *cmd):
        super().__init__(daemon=True)
        self.c = server.client(decode_responses=True)
        self.cmd = cmd
        self.result = self.error = None

    def run(self):
        try:
            self.result = self.c.execute_command(*self.cmd)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e

    def finish(self, timeout=5.0):
        self.join(timeout)
        assert not self.is_alive(), "blocking command %r never returned" % (self.cmd,)
        assert self.error is None, self.error
        # redis-py turns some of these replies into tuples
        return list(self.result) if isinstance(self.result, tuple) else self.result


def test_blpop_times_out_with_a_null_after_its_timeout(srv, r):
    need(r, "blpop")
    t0 = time.monotonic()
    assert r.blpop(["nolist"], timeout=0.2) is None
    took = time.monotonic() - t0
    assert 0.18 <= took < 2.0, took
    assert blocked_count(r) == 0


def test_a_push_from_another_client_wakes_the_blocked_one(srv, r):
    need(r, "blpop")
    w = Waiter(srv, "BLPOP", "q", "a2", 5)
    w.start()
    wait_blocked(r, 1)
    assert r.rpush("a2", "x") == 1
    assert w.finish() == ["a2", "x"]
    assert r.exists("a2") == 0
    assert blocked_count(r) == 0


def test_clients_blocked_on_one_key_are_served_first_come_first_served(srv, r):
    need(r, "brpop")
    waiters = []
    for i in range(4):
        w = Waiter(srv, "BRPOP", "fifo", 5)
        w.start()
        wait_blocked(r, i + 1)
        waiters.append(w)
    r.rpush("fifo", "v0")  # one element: only the first blocked gets it
    assert waiters[0].finish() == ["fifo", "v0"]
    time.sleep(0.05)
    assert all(w.is_alive() for w in waiters[1:])
    r.rpush("fifo", "v1", "v2", "v3")  # BRPOP pops from the tail
    got = [w.finish() for w in waiters[1:]]
    assert got == [["fifo", "v3"], ["fifo", "v2"], ["fifo", "v1"]]
    assert r.exists("fifo") == 0


def test_requests_pipelined_behind_a_blocked_one_wait_for_it(srv, r):
    need(r, "blpop")
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    try:
        s.sendall(b"BLPOP pq 5\r\nPING\r\nECHO after\r\n")
        wait_blocked(r, 1)
        s.settimeout(0.2)
        with pytest.raises(socket.timeout):
            s.recv(100)  # nothing: PING waits behind BLPOP
        r.lpush("pq", "v")
        s.settimeout(5)
        want = b"*2\r\n$2\r\npq\r\n$1\r\nv\r\n+PONG\r\n$5\r\nafter\r\n"
        got = b""
        while len(got) < len(want):
            chunk = s.recv(4096)
            assert chunk, "connection closed"
            got += chunk
        assert got == want
    finally:
        s.close()


def test_inside_multi_a_blocking_command_does_not_block(srv, r):
    need(r, "blpop", "brpoplpush")
    p = r.pipeline(transaction=True)
    p.blpop(["none1"], timeout=0)
    p.brpoplpush("none2", "dst", timeout=0)
    p.rpush("l", "a")
    p.blpop(["l"], timeout=0)
    assert p.execute() == [None, None, 1, ("l", "a")]


def test_a_client_that_disconnects_while_blocked_takes_nothing(srv, r):
    need(r, "blpop")
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    s.sendall(b"BLPOP gone 0\r\n")
    wait_blocked(r, 1)
    s.close()
    end = time.monotonic() + 5
    while blocked_count(r) and time.monotonic() < end:
        time.sleep(0.01)
    assert blocked_count(r) == 0
    assert r.rpush("gone", "kept") == 1
    assert r.lrange("gone", 0, -1) == ["kept"]


def test_a_key_of_another_type_does_not_wake_a_list_waiter(srv, r):
    need(r, "blpop")
    w = Waiter(srv, "BLPOP", "typed", 5)
    w.start()
    wait_blocked(r, 1)
    r.set("typed", "string")
    time.sleep(0.1)
    assert w.is_alive()
    r.delete("typed")
    r.rpush("typed", "ok")
    assert w.finish() == ["typed", "ok"]


def test_blmove_feeds_a_client_blocked_on_its_destination(srv, r):
    need(r, "blmove", "blpop")
    a = Waiter(srv, "BLMOVE", "src", "mid", "LEFT", "RIGHT", 5)
    a.start()
    wait_blocked(r, 1)
    b = Waiter(srv, "BLPOP", "mid", 5)
    b.start()
    wait_blocked(r, 2)
    r.rpush("src", "token")
    assert a.finish() == "token"
    assert b.finish() == ["mid", "token"]
    assert r.exists("src", "mid") == 0


def test_blmpop_and_bzpopmin_wake_on_their_type(srv, r):
    need(r, "blmpop", "bzpopmin")
    a = Waiter(srv, "BLMPOP", 5, 2, "m1", "m2", "LEFT", "COUNT", 2)
    a.start()
    wait_blocked(r, 1)
    z = Waiter(srv, "BZPOPMIN", "z1", 5)
    z.start()
    wait_blocked(r, 2)
    r.rpush("m2", "a", "b", "c")
    r.zadd("z1", {"low": 1, "high": 2})
    assert a.finish() == ["m2", ["a", "b"]]
    assert z.finish() == ["z1", "low", 1.0]


def test_timeout_errors(srv, r):
    need(r, "blpop")
    for bad, msg in (("abc", "timeout is not a float or out of range"),
                     ("-1", "timeout is negative")):
        with pytest.raises(Exception, match=msg):
            r.execute_command("BLPOP", "k", bad)


@sluice_only
def test_waiters_on_every_shard_are_woken_by_pushes_from_every_worker(start_server):
    s = start_server(*FOUR)
    r = s.client(decode_responses=True)
    need(r, "blpop")
    keys = ["xs:%d" % i for i in range(16)]  # spread over the four shards
    waiters = []
    for k in keys:
        for _ in range(2):  # two connections per key, likely on two workers
            w = Waiter(s, "BLPOP", k, 10)
            w.start()
            waiters.append((k, w))
    wait_blocked(r, len(waiters), timeout=10)
    pushers = [s.client(decode_responses=True) for _ in range(4)]
    for i, k in enumerate(keys):
        pushers[i % 4].rpush(k, "a", "b")
    got = {}
    for k, w in waiters:
        res = w.finish(10)
        assert res[0] == k
        got.setdefault(k, []).append(res[1])
    for k in keys:
        assert sorted(got[k]) == ["a", "b"], got[k]
    assert r.info("clients")["blocked_clients"] == 0
    assert r.dbsize() == 0


def test_every_blocking_command_times_out_with_a_null_array(srv, r):
    need(r, "blmove", "brpoplpush", "blpop", "bzpopmin", "blmpop", "bzmpop")
    r.set("str", "x")
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    try:
        s.sendall(b"BLMOVE n1 d LEFT LEFT 0.05\r\nBRPOPLPUSH n1 d 0.05\r\nBLPOP n1 0.05\r\n"
                  b"BZPOPMIN n1 0.05\r\nBLMPOP 0.05 1 n1 LEFT\r\nBZMPOP 0.05 1 n1 MIN\r\n")
        got = b""
        while got.count(b"\r\n") < 6:
            chunk = s.recv(100)
            assert chunk
            got += chunk
        assert got == b"*-1\r\n" * 6
    finally:
        s.close()


def test_timeouts_round_up_to_a_millisecond_and_huge_ones_are_refused(srv, r):
    need(r, "blpop")
    t0 = time.monotonic()
    assert r.blpop(["none"], timeout=0.0001) is None  # 1 ms, not forever
    assert time.monotonic() - t0 < 2
    for bad in ("inf", "1e400", "1e17", "-inf", "-1"):
        with pytest.raises(Exception, match="timeout is negative"):
            r.execute_command("BLPOP", "k", bad)
