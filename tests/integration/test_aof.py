"""The append-only file at run time, against redis-server 7.0 as the oracle.

* Files: the same command sequence sent to sluiced (four workers) and to
  redis-server, both started with --appendonly yes in an empty dir, leaves
  the same file names, the same manifest text and byte-identical incr files
  (SELECT on db changes, MULTI/EXEC only around transactions that logged
  more than one write, nothing for reads or no-op writes), after start, after
  BGREWRITEAOF and after CONFIG SET appendonly no / yes.
* redis-check-aof accepts our directory (RDB preamble base, timestamps).
* aof-use-rdb-preamble no: the base is a command file (.base.aof) named and
  listed as redis-server names it; each server loads the other's base to the
  same DEBUG DIGEST, keys and encodings; at most 64 elements a command.
* Durability: after writes (appendfsync always), kill -9 and a restart with
  appendonly yes give the same DEBUG DIGEST and the same keys; redis-server
  7.0 started on a copy of our directory loads the same data. BGREWRITEAOF
  under concurrent writers loses no acknowledged write. SHUTDOWN and
  SIGTERM write what was pending (everysec).
* Group commit: under always a pipeline of 100 SETs costs a few fsyncs
  (aof_fsyncs, a sluice-only INFO field), single writes one each.
* A full disk (a 1 MB tmpfs) makes writes and PING fail with Redis's
  -MISCONF text and aof_last_write_status:err; when space returns the
  pending data is written and writes are accepted again.
* Automatic rewrite (auto-aof-rewrite-percentage/min-size), INFO fields.
* aof-rewrite-incremental-fsync: a 13 MB base (either format) is written
  out every 4 MB when it is on, not when off.

Expiry in these tests uses absolute times (PEXPIREAT, SET PXAT): relative
forms are logged as Redis rewrites them only with the propagation calls in
the handlers (branch prop).
"""

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest
import redis
from conftest import USE_REDIS, RespConn, wait_for
from test_persistence import RedisOracle, digest, dump, oracle_fixture, tmpdir_  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(USE_REDIS, reason="compares sluiced with redis-server")

FOUR = ("--dataplane-cores", "0,1,0,1")
DEBUG = ("--enable-debug-command", "yes")
AOF_DIR = "appendonlydir"
CHECK_AOF = shutil.which("redis-check-aof") or "/usr/bin/redis-check-aof"
FAR = "99999999999999"  # an absolute expiry time (ms) far in the future


oracle = oracle_fixture("--appendonly", "yes")


def sluiced(start_server, workdir, *extra, **kw):
    return start_server("--dir", workdir, "--appendonly", "yes", "--save", "", *DEBUG, *FOUR,
                        *extra, **kw)


def info(c):
    return c.info("persistence")


def aof_files(workdir):
    return sorted(os.listdir(os.path.join(workdir, AOF_DIR)))


def read(workdir, name):
    with open(os.path.join(workdir, AOF_DIR, name), "rb") as f:
        return f.read()


def manifest(workdir):
    return read(workdir, "appendonly.aof.manifest").decode()


def incr_files(workdir):
    return [f for f in aof_files(workdir) if f.endswith(".incr.aof")]


def wait_rewritten(c, before, timeout=20):
    """Until a rewrite after `before` rewrites finished and none is pending."""
    def done():
        i = info(c)
        return (i["aof_rewrites"] > before and not i["aof_rewrite_in_progress"]
                and not i["aof_rewrite_scheduled"])
    wait_for(done, timeout, what="AOF rewrite")


def check_aof(workdir):
    p = subprocess.run([CHECK_AOF, os.path.join(workdir, AOF_DIR, "appendonly.aof.manifest")],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def kill9(srv):
    os.kill(srv.pid, signal.SIGKILL)
    srv.proc.wait(10)


# ---------------------------------------------------------------------------
# the same files as redis-server

SEQUENCE = [
    ("SET", "a", "1"), ("set", "b", "2"), ("GET", "a"), ("DEL", "nokey"), ("INCR", "n"),
    ("RPUSH", "l", "x", "y"), ("HSET", "h", "f", "v"), ("SADD", "s", "m"), ("SADD", "s", "m"),
    ("ZADD", "z", "1", "m"), ("SELECT", "3"), ("SET", "x", "1"), ("SELECT", "0"),
    ("MSET", "k1", "v1", "k2", "v2", "k3", "v3"),
    ("MULTI",), ("SET", "t1", "1"), ("INCR", "t2"), ("GET", "t1"), ("EXEC",),
    ("MULTI",), ("SET", "t3", "1"), ("EXEC",),
    ("MULTI",), ("GET", "a"), ("EXEC",),
    ("SET", "e", "v", "PXAT", FAR), ("PEXPIREAT", "k1", FAR), ("APPEND", "a", "zz"),
    ("SELECT", "5"), ("LPUSH", "q", "1"), ("SELECT", "0"), ("DEL", "a", "b", "nokey"),
    ("SETRANGE", "sr", "3", "abc"), ("HDEL", "h", "nofield"), ("SREM", "s", "m"),
]


def run_sequence(port, seq):
    with RespConn(port) as c:
        for cmd in seq:
            r = c.cmd(*cmd)
            assert not isinstance(r, Exception), (cmd, r)


def test_files_and_manifest_as_redis_writes_them(start_server, oracle, tmpdir_):
    ours, theirs = os.path.join(tmpdir_, "s"), os.path.join(tmpdir_, "r")
    os.mkdir(ours)
    os.mkdir(theirs)
    s = sluiced(start_server, ours, "--appendfsync", "always")
    o = oracle(theirs, "--appendfsync", "always")
    sc, rc = s.client(decode_responses=True), o.client()
    rc = redis.Redis(port=o.port, decode_responses=True)

    # at start: base 1 (RDB preamble), empty incr 1, the manifest
    assert aof_files(ours) == aof_files(theirs) == [
        "appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"]
    assert manifest(ours) == manifest(theirs)
    assert read(ours, "appendonly.aof.1.base.rdb")[:5] == b"REDIS"

    run_sequence(s.port, SEQUENCE)
    run_sequence(o.port, SEQUENCE)
    assert read(ours, "appendonly.aof.1.incr.aof") == read(theirs, "appendonly.aof.1.incr.aof")
    assert b"MULTI" in read(ours, "appendonly.aof.1.incr.aof")

    # BGREWRITEAOF: base 2 + incr 2, the old files gone
    n_s, n_r = info(sc)["aof_rewrites"], info(rc)["aof_rewrites"]
    assert sc.bgrewriteaof() == rc.bgrewriteaof()
    wait_rewritten(sc, n_s)
    wait_rewritten(rc, n_r)
    assert aof_files(ours) == aof_files(theirs) == [
        "appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"]
    assert manifest(ours) == manifest(theirs) == (
        "file appendonly.aof.2.base.rdb seq 2 type b\n"
        "file appendonly.aof.2.incr.aof seq 2 type i\n")
    run_sequence(s.port, SEQUENCE[:14])
    run_sequence(o.port, SEQUENCE[:14])
    assert read(ours, "appendonly.aof.2.incr.aof") == read(theirs, "appendonly.aof.2.incr.aof")

    # CONFIG SET appendonly no: the files stay, nothing more is appended
    for c in (sc, rc):
        assert c.config_set("appendonly", "no")
        assert info(c)["aof_enabled"] == 0
    size = len(read(ours, "appendonly.aof.2.incr.aof"))
    sc.set("while_off", "1")
    rc.set("while_off", "1")
    time.sleep(0.2)
    assert len(read(ours, "appendonly.aof.2.incr.aof")) == size
    assert aof_files(ours) == aof_files(theirs)

    # CONFIG SET appendonly yes: a rewrite first (base 3 of the current
    # data, incr 3), then appending
    n_s, n_r = info(sc)["aof_rewrites"], info(rc)["aof_rewrites"]
    for c in (sc, rc):
        assert c.config_set("appendonly", "yes")
        assert info(c)["aof_enabled"] == 1
    wait_rewritten(sc, n_s)
    wait_rewritten(rc, n_r)
    assert aof_files(ours) == aof_files(theirs) == [
        "appendonly.aof.3.base.rdb", "appendonly.aof.3.incr.aof", "appendonly.aof.manifest"]
    assert manifest(ours) == manifest(theirs)
    run_sequence(s.port, SEQUENCE[:10])
    run_sequence(o.port, SEQUENCE[:10])
    assert read(ours, "appendonly.aof.3.incr.aof") == read(theirs, "appendonly.aof.3.incr.aof")

    # and it all restarts to the same data
    want = digest(sc)
    kill9(s)
    s2 = sluiced(start_server, ours)
    assert digest(s2.client()) == want


def test_bgrewriteaof_with_aof_off_writes_a_base_only(start_server, oracle, tmpdir_):
    ours, theirs = os.path.join(tmpdir_, "s"), os.path.join(tmpdir_, "r")
    os.mkdir(ours)
    os.mkdir(theirs)
    s = start_server("--dir", ours, "--save", "", *DEBUG, *FOUR)
    o = RedisOracle(theirs)
    try:
        for c in (s.client(), o.client()):
            c.set("k", "v")
            n = info(c)["aof_rewrites"]
            assert c.bgrewriteaof() is True
            wait_rewritten(c, n)
            assert info(c)["aof_enabled"] == 0
        assert aof_files(ours) == aof_files(theirs) == [
            "appendonly.aof.1.base.rdb", "appendonly.aof.manifest"]
        assert manifest(ours) == manifest(theirs)
    finally:
        o.stop()


# ---------------------------------------------------------------------------
# durability and interoperability

BIG = "B" * 70000


def populate_det(c):
    """Every type, several dbs, absolute expiry times, a transaction."""
    p = c.pipeline(transaction=False)
    p.set("str", "hello")
    p.set(b"bin\x00key\xff", b"\x00\x01\x02")
    p.set("int", "12345")
    p.set("big", BIG)
    p.execute_command("SET", "ttl_str", "v", "PXAT", FAR)
    p.rpush("list", "a", "1", "-200", "70000", BIG)
    p.rpush("biglist", *["e%d" % i for i in range(3000)])
    p.sadd("intset", 1, -5, 100000, 5000000000)
    p.sadd("bigset", *["m%d" % i for i in range(700)])
    p.zadd("zlp", {"a": 1, "b": 2.5, "c": float("-inf"), "e": 0.1})
    p.zadd("zskip", {"m%d" % i: i * 1.5 - 100 for i in range(500)})
    p.hset("hlp", mapping={"f": "v", "n": "123"})
    p.hset("hbig", mapping={"f%d" % i: "v%d" % i for i in range(800)})
    p.execute_command("PEXPIREAT", "zskip", FAR)
    p.execute_command("PEXPIREAT", "hbig", FAR)
    p.incr("counter")
    p.incrby("counter", 41)
    p.lpop("list")
    p.srem("bigset", "m1", "m2")
    p.zrem("zskip", "m3")
    p.hdel("hbig", "f7")
    p.mset({"{t}a": "1", "{t}b": "2", "x1": "y1", "x2": "y2"})
    p.delete("x1", "nonexistent")
    p.execute()
    t = c.pipeline(transaction=True)
    t.set("tx1", "1")
    t.rpush("txl", "a", "b")
    t.sadd("txs", "z")
    t.execute()
    c.execute_command("SELECT", 1)
    c.set("db1", "one")
    c.zadd("db1z", {"x": 1})
    c.execute_command("SELECT", 9)
    c.hset("db9h", "a", "b")
    c.execute_command("SELECT", 0)


def test_kill9_restart_keeps_every_write(start_server, tmpdir_):
    s = sluiced(start_server, tmpdir_, "--appendfsync", "always")
    c = s.client(single_connection_client=True)
    populate_det(c)
    n = info(c)["aof_rewrites"]
    c.bgrewriteaof()
    wait_rewritten(c, n)
    # after the rewrite: writes on top of the new base
    c.set("after", "rewrite")
    c.rpush("list", "tail")
    c.execute_command("SELECT", 9)
    c.delete("db9h")
    c.execute_command("SELECT", 0)
    want_digest, want = digest(c), dump(c)
    kill9(s)
    s2 = sluiced(start_server, tmpdir_)
    c2 = s2.client(single_connection_client=True)
    assert digest(c2) == want_digest
    assert dump(c2) == want
    code, out = check_aof(tmpdir_)
    assert code == 0 and "All AOF files and manifest are valid" in out, out


def test_redis_server_loads_our_directory(start_server, tmpdir_):
    ours = os.path.join(tmpdir_, "s")
    os.mkdir(ours)
    s = sluiced(start_server, ours, "--appendfsync", "always", "--aof-timestamp-enabled", "yes")
    c = s.client(single_connection_client=True)
    populate_det(c)
    assert read(ours, "appendonly.aof.1.incr.aof").startswith(b"#TS:")
    n = info(c)["aof_rewrites"]
    c.bgrewriteaof()
    wait_rewritten(c, n)
    c.set("after", "rewrite")
    c.hset("hlp", "g", "w")
    want_digest, want = digest(c), dump(c)
    code, out = check_aof(ours)
    assert code == 0 and "All AOF files and manifest are valid" in out, out
    kill9(s)
    theirs = os.path.join(tmpdir_, "r")
    shutil.copytree(ours, theirs)
    o = RedisOracle(theirs, "--appendonly", "yes")
    try:
        oc = redis.Redis(port=o.port, single_connection_client=True)
        assert digest(oc) == want_digest
        assert dump(oc) == want
    finally:
        o.stop()


def all_encodings(c, dbs=16):
    """{(db, key): OBJECT ENCODING} of every key."""
    return {k: v[3] for k, v in dump(c, dbs).items()}


def test_base_in_commands_as_redis_writes_it(start_server, oracle, tmpdir_):
    """aof-use-rdb-preamble no: the base is a command file, named, listed
    and loaded as redis-server's."""
    ours, theirs = os.path.join(tmpdir_, "s"), os.path.join(tmpdir_, "r")
    os.mkdir(ours)
    os.mkdir(theirs)
    s = sluiced(start_server, ours, "--aof-use-rdb-preamble", "no")
    o = oracle(theirs, "--aof-use-rdb-preamble", "no")
    sc = s.client(single_connection_client=True)
    rc = redis.Redis(port=o.port, single_connection_client=True)

    # at start: an (empty) command base
    assert aof_files(ours) == aof_files(theirs) == [
        "appendonly.aof.1.base.aof", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"]
    assert manifest(ours) == manifest(theirs)
    assert read(ours, "appendonly.aof.1.base.aof") == read(theirs, "appendonly.aof.1.base.aof")

    for c in (sc, rc):
        populate_det(c)
        n = info(c)["aof_rewrites"]
        assert c.bgrewriteaof()
        wait_rewritten(c, n)
    want_digest, want = digest(rc), dump(rc)
    assert digest(sc) == want_digest and dump(sc) == want
    assert aof_files(ours) == aof_files(theirs) == [
        "appendonly.aof.2.base.aof", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"]
    assert manifest(ours) == manifest(theirs) == (
        "file appendonly.aof.2.base.aof seq 2 type b\n"
        "file appendonly.aof.2.incr.aof seq 2 type i\n")
    base = read(ours, "appendonly.aof.2.base.aof")
    head = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
    assert base.startswith(head) and read(theirs, "appendonly.aof.2.base.aof").startswith(head)
    assert b"REDIS" not in base[:16] and b"HMSET" in base and b"PEXPIREAT" in base
    # at most 64 elements a command: 3000 list elements take 47 RPUSHes
    assert base.count(b"$5\r\nRPUSH\r\n$7\r\nbiglist\r\n") == 47
    assert read(ours, "appendonly.aof.2.incr.aof") == b""
    code, out = check_aof(ours)
    assert code == 0 and "All AOF files and manifest are valid" in out, out
    assert "BASE AOF appendonly.aof.2.base.aof is valid" in out, out

    # each base loaded by the other server gives the same data
    kill9(s)
    theirs_copy, ours_copy = os.path.join(tmpdir_, "rc"), os.path.join(tmpdir_, "sc")
    shutil.copytree(ours, ours_copy)
    shutil.copytree(theirs, theirs_copy)
    o2 = oracle(ours_copy)
    oc = redis.Redis(port=o2.port, single_connection_client=True)
    assert digest(oc) == want_digest
    assert dump(oc) == want
    s2 = sluiced(start_server, theirs_copy)
    assert digest(s2.client()) == want_digest
    # and our own restart round trip: same data, same encodings as redis
    s3 = sluiced(start_server, ours)
    c3 = s3.client(single_connection_client=True)
    assert digest(c3) == want_digest
    assert dump(c3) == want
    assert all_encodings(c3) == all_encodings(oc)
    assert set(all_encodings(c3).values()) >= {
        b"embstr", b"raw", b"int", b"quicklist", b"listpack", b"intset", b"hashtable",
        b"skiplist"}


def test_base_in_commands_with_timestamps(start_server, tmpdir_):
    s = sluiced(start_server, tmpdir_, "--aof-use-rdb-preamble", "no",
                "--aof-timestamp-enabled", "yes")
    c = s.client()
    c.set("k", "v")
    n = info(c)["aof_rewrites"]
    t0 = int(time.time())
    c.bgrewriteaof()
    wait_rewritten(c, n)
    base = read(tmpdir_, "appendonly.aof.2.base.aof")
    assert base.startswith(b"#TS:")
    ts, rest = base[4:].split(b"\r\n", 1)
    assert t0 - 1 <= int(ts) <= time.time() + 1
    assert rest.startswith(b"*2\r\n$6\r\nSELECT\r\n")
    code, out = check_aof(tmpdir_)
    assert code == 0, out
    # switching the option back: the next rewrite writes an RDB base
    c.config_set("aof-use-rdb-preamble", "yes")
    c.bgrewriteaof()
    wait_rewritten(c, n + 1)
    assert aof_files(tmpdir_) == [
        "appendonly.aof.3.base.rdb", "appendonly.aof.3.incr.aof", "appendonly.aof.manifest"]
    assert read(tmpdir_, "appendonly.aof.3.base.rdb")[:5] == b"REDIS"


def test_shutdown_and_sigterm_write_what_is_pending(start_server, tmpdir_):
    for how in ("shutdown", "sigterm"):
        d = os.path.join(tmpdir_, how)
        os.mkdir(d)
        s = sluiced(start_server, d, "--appendfsync", "everysec")
        c = s.client()
        p = c.pipeline(transaction=False)
        for i in range(5000):
            p.set("k%d" % i, "v%d" % i)
        p.execute()
        if how == "shutdown":
            try:
                c.shutdown(nosave=True)
            except redis.ConnectionError:
                pass
        else:
            s.signal(signal.SIGTERM)
        assert s.wait_exit(20) == 0
        s2 = sluiced(start_server, d)
        c2 = s2.client()
        assert c2.dbsize() == 5000
        assert c2.get("k4999") == b"v4999"
        kill9(s2)


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_rewrite_under_concurrent_writers_loses_nothing(start_server, tmpdir_, preamble):
    s = sluiced(start_server, tmpdir_, "--appendfsync", "always",
                "--aof-use-rdb-preamble", preamble)
    stop = threading.Event()
    acked = {}
    errors = []

    def writer(tid):
        c = s.client()
        i = 0
        try:
            while not stop.is_set():
                i += 1
                assert c.incr("ctr%d" % tid) == i
                c.set("w%d:%d" % (tid, i), i)
                if i % 10 == 0:
                    c.execute_command("MULTI")
                    c.execute_command("INCR", "{m%d}x" % tid)
                    c.execute_command("INCR", "{m%d}y" % tid)
                    c.execute_command("EXEC")
                acked[tid] = i
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    c = s.client()
    deadline = time.monotonic() + 30
    for _ in range(4):
        n = info(c)["aof_rewrites"]
        time.sleep(0.3)
        assert c.bgrewriteaof() is True
        wait_rewritten(c, n)
        assert time.monotonic() < deadline
    stop.set()
    for t in threads:
        t.join(10)
    assert not errors, errors
    assert info(c)["aof_rewrites"] >= 4
    want_digest = digest(c)
    kill9(s)
    s2 = sluiced(start_server, tmpdir_)
    c2 = s2.client()
    for tid, n in acked.items():
        assert int(c2.get("ctr%d" % tid)) == n
        assert int(c2.get("w%d:%d" % (tid, n))) == n
        assert c2.get("{m%d}x" % tid) == c2.get("{m%d}y" % tid)
    assert digest(c2) == want_digest
    code, out = check_aof(tmpdir_)
    assert code == 0, out


def test_config_set_appendonly_at_runtime(start_server, tmpdir_):
    s = start_server("--dir", tmpdir_, "--save", "", *DEBUG, *FOUR)
    c = s.client()
    populate_det(c)
    assert info(c)["aof_enabled"] == 0
    assert not os.path.exists(os.path.join(tmpdir_, AOF_DIR))
    n = info(c)["aof_rewrites"]
    assert c.config_set("appendonly", "yes")
    wait_rewritten(c, n)
    c.set("logged", "1")
    c.rpush("list", "more")
    want = digest(c)
    # the base holds what was there before, the incr file what came after
    assert b"logged" in read(tmpdir_, "appendonly.aof.1.incr.aof")
    assert b"hello" not in read(tmpdir_, "appendonly.aof.1.incr.aof")
    time.sleep(1.2)  # everysec
    kill9(s)
    s2 = sluiced(start_server, tmpdir_)
    c2 = s2.client()
    assert digest(c2) == want
    assert c2.config_set("appendonly", "no")
    i = info(c2)
    assert i["aof_enabled"] == 0 and "aof_current_size" not in i
    size = len(read(tmpdir_, "appendonly.aof.1.incr.aof"))
    c2.set("not_logged", "1")
    time.sleep(0.3)
    assert len(read(tmpdir_, "appendonly.aof.1.incr.aof")) == size


# ---------------------------------------------------------------------------
# group commit

def test_always_pipeline_costs_few_fsyncs(start_server, tmpdir_):
    s = sluiced(start_server, tmpdir_, "--appendfsync", "always")
    c = s.client()
    c.set("warm", "1")
    before = info(c)["aof_fsyncs"]
    for i in range(20):
        c.set("one%d" % i, i)
    single = info(c)["aof_fsyncs"] - before
    assert single >= 20  # every acknowledged single write was fsynced
    before = info(c)["aof_fsyncs"]
    p = c.pipeline(transaction=False)
    for i in range(100):
        p.set("p%d" % i, i)
    assert all(p.execute())
    piped = info(c)["aof_fsyncs"] - before
    assert 1 <= piped <= 5, piped
    # reads are not held, and a reader sees what it reads
    assert c.get("p99") == b"99"
    kill9(s)
    s2 = sluiced(start_server, tmpdir_)
    assert s2.client().get("p99") == b"99"


def test_everysec_fsyncs_about_once_a_second(start_server, tmpdir_):
    s = sluiced(start_server, tmpdir_, "--appendfsync", "everysec")
    c = s.client()
    before = info(c)["aof_fsyncs"]
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2.5:
        c.set("k", "v")
        time.sleep(0.01)
    n = info(c)["aof_fsyncs"] - before
    assert 1 <= n <= 4, n
    assert info(c)["aof_delayed_fsync"] == 0


# ---------------------------------------------------------------------------
# a full disk

MISCONF = "MISCONF Errors writing to the AOF file: No space left on device"


def test_misconf_on_write_error_and_recovery(start_server, tmpdir_):
    mnt = os.path.join(tmpdir_, "mnt")
    os.mkdir(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs: %s" % r.stderr.decode().strip())
    try:
        s = sluiced(start_server, mnt, "--appendfsync", "everysec")
        c = s.client()
        c.set("before", "1")
        wait_for(lambda: b"before" in read(mnt, "appendonly.aof.1.incr.aof"), 5,
                 what="the first write on disk")
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb") as f:
            try:
                f.write(b"\0" * (2 << 20))
            except OSError:
                pass  # the tmpfs is full now
        c.set("lost_space", "x" * 20000)  # acknowledged (everysec): kept in memory
        wait_for(lambda: info(c)["aof_last_write_status"] == "err", 5, what="write error")
        with pytest.raises(redis.ResponseError) as e:
            c.set("refused", "1")
        assert str(e.value) == MISCONF
        with pytest.raises(redis.ResponseError) as e:
            c.ping()
        assert str(e.value) == MISCONF
        assert c.get("before") == b"1"  # reads are served
        assert info(c)["aof_buffer_length"] > 0
        os.unlink(filler)
        wait_for(lambda: info(c)["aof_last_write_status"] == "ok", 5, what="recovery")
        assert c.set("after", "1")
        assert info(c)["aof_buffer_length"] == 0
        time.sleep(1.2)
        kill9(s)
        s2 = sluiced(start_server, mnt)
        c2 = s2.client()
        assert c2.get("lost_space") == b"x" * 20000
        assert c2.get("after") == b"1"
        assert c2.get("refused") is None
        kill9(s2)
    finally:
        subprocess.run(["umount", "-l", mnt], capture_output=True)


# ---------------------------------------------------------------------------
# automatic rewrite, INFO

def test_automatic_rewrite_on_growth(start_server, tmpdir_):
    s = sluiced(start_server, tmpdir_, "--appendfsync", "always",
                "--auto-aof-rewrite-min-size", "64kb", "--auto-aof-rewrite-percentage", "100")
    c = s.client()
    assert info(c)["aof_rewrites"] == 0
    p = c.pipeline(transaction=False)
    for i in range(200):
        p.set("k%d" % i, "v" * 500)
    p.execute()
    wait_rewritten(c, 0)
    i = info(c)
    assert i["aof_base_size"] > 0 and i["aof_current_size"] >= i["aof_base_size"]
    assert "appendonly.aof.2.base.rdb" in aof_files(tmpdir_)


def test_info_fields_are_redis_fields(start_server, oracle, tmpdir_):
    ours, theirs = os.path.join(tmpdir_, "s"), os.path.join(tmpdir_, "r")
    os.mkdir(ours)
    os.mkdir(theirs)
    s = sluiced(start_server, ours)
    o = oracle(theirs)
    fields = lambda c: [k for k in info(c) if k.startswith("aof_")]  # noqa: E731
    assert fields(s.client()) == fields(o.client()) + ["aof_fsyncs"]
    for c in (s.client(), o.client()):
        c.config_set("appendonly", "no")
    assert fields(s.client()) == fields(o.client())
    assert info(s.client())["aof_enabled"] == 0


def test_aof_rewrite_incremental_fsync_writes_the_base_out_every_4mb(start_server, tmpdir_):
    s = sluiced(start_server, tmpdir_)
    c = s.client()
    assert c.config_get("aof-rewrite-incremental-fsync") == {
        "aof-rewrite-incremental-fsync": "yes"}
    p = c.pipeline(transaction=False)
    for i in range(13 * 8):
        p.set("blob:%d" % i, os.urandom(128 * 1024))
    p.execute()
    want = digest(c)
    n = info(c)["aof_rewrites"]
    for preamble in ("yes", "no"):
        for on, grow in (("yes", 3), ("no", 0)):
            c.config_set("aof-use-rdb-preamble", preamble)
            c.config_set("aof-rewrite-incremental-fsync", on)
            before = info(c)["rdb_incremental_syncs"]
            c.bgrewriteaof()
            wait_rewritten(c, n)
            n += 1
            # the command base is larger (bulk headers): 3 or 4 writeouts
            got = info(c)["rdb_incremental_syncs"] - before
            assert got == grow or (grow and preamble == "no" and got == grow + 1), (preamble, on, got)
    kill9(s)
    s2 = sluiced(start_server, tmpdir_)
    assert digest(s2.client()) == want
