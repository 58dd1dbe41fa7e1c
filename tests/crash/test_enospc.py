"""A full disk under the append-only file.

The data directory is on a 2 MiB tmpfs that also holds a 1 MiB filler file
the test made. Writes of 8 KB values fill it until the server's write to the
file fails with ENOSPC.

* appendfsync everysec: the server stays up; write commands (and PING, as
  in Redis 7.0) get "MISCONF Errors writing to the AOF file: No space left
  on device", reads still work; once the filler is deleted the server writes its pending
  buffer and writes are accepted again; after kill -9 and a restart
  everything acknowledged is there.
* appendfsync always: no write is acknowledged that is not in the file.
  redis-server exits (an acknowledged write must be on disk); sluiced stays
  up: the write that hit the full disk gets no reply until the file has it
  (its client waits), later writes get MISCONF, reads are served, and once
  space returns the pending write is written and writes are accepted again.
  Either way a restart loads everything acknowledged.
"""
import os
import time

import pytest
import redis

MISCONF = "MISCONF Errors writing to the AOF file: No space left on device"
VALUE = 8000


def value(i):
    return (b"%d:" % i) + b"x" * VALUE


def make_filler(mnt):
    path = os.path.join(mnt, "filler")
    with open(path, "wb") as f:
        f.write(b"\xa5" * (1 << 20))
    return path


def fill(c, limit=1000):
    """SET k0, k1, ... until an error. Returns (acknowledged indexes, error)."""
    acked = []
    for i in range(limit):
        try:
            assert c.set("k%d" % i, value(i))
        except (redis.ResponseError, redis.ConnectionError, redis.TimeoutError) as e:
            return acked, e
        acked.append(i)
    pytest.fail("%d writes of %d bytes fit on a 2 MiB tmpfs" % (limit, VALUE))


def check_all(c, acked, extra=()):
    missing = [i for i in acked if c.get("k%d" % i) != value(i)]
    assert not missing, "acknowledged keys missing or wrong after restart: %s" % missing[:10]
    for k, v in extra:
        assert c.get(k) == v, k


def test_enospc_everysec_refuses_writes_with_misconf_then_recovers(small_tmpfs, servers, workdir):
    filler = make_filler(small_tmpfs)
    srv = servers(os.path.join(small_tmpfs, "data"), workdir, fsync="everysec")
    os.makedirs(srv.datadir)
    srv.start()
    c = srv.client()
    acked, err = fill(c)
    assert isinstance(err, redis.ResponseError), "expected MISCONF, got %r\n%s" % (err, srv.log_tail())
    assert str(err) == MISCONF
    assert len(acked) > 10
    assert srv.alive()

    # reads work, writes are refused while the error lasts
    assert c.get("k0") == value(0)
    assert c.get("k%d" % acked[-1]) == value(acked[-1])
    assert c.dbsize() == len(acked)
    with pytest.raises(redis.ResponseError) as e:
        c.incr("counter")
    assert str(e.value) == MISCONF
    # Redis 7.0 refuses PING too while writes are refused, so that a
    # monitoring PING notices the broken disk
    with pytest.raises(redis.ResponseError) as e:
        c.ping()
    assert str(e.value) == MISCONF
    assert c.exists("k0", "nosuchkey") == 1

    os.unlink(filler)
    deadline = time.monotonic() + 10
    while True:
        try:
            assert c.set("after", "1")
            break
        except redis.ResponseError as e:
            assert str(e) == MISCONF
            assert time.monotonic() < deadline, "writes still refused 10 s after freeing space"
            time.sleep(0.05)
    assert c.incr("counter") == 1
    more = list(range(acked[-1] + 1, acked[-1] + 21))
    for i in more:
        assert c.set("k%d" % i, value(i))
    srv.kill()

    srv.start()
    c = srv.client()
    check_all(c, acked + more, [("after", b"1"), ("counter", b"1")])
    assert c.dbsize() == len(acked) + len(more) + 2


def test_enospc_always_acknowledges_nothing_it_could_not_write(small_tmpfs, servers, workdir):
    filler = make_filler(small_tmpfs)
    srv = servers(os.path.join(small_tmpfs, "data"), workdir, fsync="always")
    os.makedirs(srv.datadir)
    srv.start()
    c = srv.client(socket_timeout=3)
    acked, err = fill(c)
    assert len(acked) > 10
    extra = []
    if isinstance(err, redis.ResponseError):
        assert str(err) == MISCONF  # a server that stays up refuses writes
    if isinstance(err, redis.TimeoutError):
        # the write waits for the disk; the server serves everyone else
        c2 = srv.client()
        assert srv.alive()
        with pytest.raises(redis.ResponseError) as e:
            c2.set("x", "1")
        assert str(e.value) == MISCONF
        assert c2.get("k0") == value(0)
        os.unlink(filler)
        deadline = time.monotonic() + 10
        while True:
            try:
                assert c2.set("after", "1")
                break
            except redis.ResponseError as e:
                assert str(e) == MISCONF
                assert time.monotonic() < deadline, "writes still refused 10 s after freeing space"
                time.sleep(0.05)
        extra = [("after", b"1")]
    elif not isinstance(err, redis.ResponseError):
        srv.proc.wait(10)  # or it exits, as redis-server does
        assert "AOF" in srv.log_tail(10)
    srv.kill()
    if os.path.exists(filler):
        os.unlink(filler)
    srv.start()
    c = srv.client()
    check_all(c, acked, extra)
    # the write that failed is not half there: it is either absent or whole
    failed = acked[-1] + 1
    assert c.get("k%d" % failed) in (None, value(failed))
    assert c.set("after", "1")
    srv.kill()
    srv.start()
    check_all(srv.client(), acked, [("after", b"1")])
