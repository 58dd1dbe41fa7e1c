"""Fork-less BGSAVE (dataplane/snapshot.c): the file holds the dataset as
it was at the cut, however the keys change while it is written.

* Writers (several clients, every data type, multi-key commands across
  shards, MOVE/COPY into another db, FLUSHDB of that db, RENAME, UNLINK)
  are paused, DEBUG DIGEST is taken, BGSAVE starts, and the writers resume
  and mutate heavily while the shards are written. The file then loads in
  a fresh sluiced and in redis-server 7.0 with the digest taken at the
  cut, and redis-check-rdb accepts it. Three rounds per server, so the
  snapshot parity flips back and forth; with two workers and with one.
* FLUSHALL right after BGSAVE: the file still holds the whole dataset.
* A snapshot whose file cannot be written fails with Redis's status, and
  the next one is still complete (every entry was marked on the way).
* Serving goes on during BGSAVE: the longest PING/GET round trip during a
  BGSAVE of 500k keys stays under half of a SAVE of the same data.
* rdb-save-incremental-fsync: BGSAVE and SAVE of 13 MB start a writeout
  every 4 MB when it is on, none when off; the files load either way.
"""
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest
import redis
from conftest import USE_REDIS, encode_command, wait_for
from test_persistence import CHECK_RDB, oracle_fixture, tmpdir_  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(USE_REDIS, reason="compares sluiced with redis-server")

DEBUG = ("--enable-debug-command", "yes")


oracle = oracle_fixture()


def info_persistence(c):
    return c.info("persistence")


def wait_bgsave_done(c, timeout=60):
    wait_for(lambda: info_persistence(c)["rdb_bgsave_in_progress"] == 0, timeout,
             what="the background save to end")


def digest(c):
    d = c.execute_command("DEBUG", "DIGEST")
    return d.decode() if isinstance(d, bytes) else d


N = 40000  # strings; lists, hashes, sets and zsets are a tenth each


def populate(c):
    rnd = random.Random(1)
    p = c.pipeline(transaction=False)
    for i in range(N):
        p.set("s:%d" % i, "v%d" % i * rnd.randrange(1, 8))
        if i % 10 == 0:
            j = i // 10
            p.rpush("l:%d" % j, *range(rnd.randrange(1, 20)))
            p.hset("h:%d" % j, mapping={"f%d" % k: k for k in range(rnd.randrange(1, 12))})
            p.sadd("t:%d" % j, *range(rnd.randrange(1, 10)))
            p.zadd("z:%d" % j, {"m%d" % k: k * 1.5 for k in range(rnd.randrange(1, 10))})
        if i % 9 == 0:
            p.expire("s:%d" % i, 100000 + i)
        if i % 1000 == 999:
            p.execute()
    # big values in the table encodings, and a list of many nodes
    p.hset("bighash", mapping={"f%d" % k: "v" * (k % 50) for k in range(3000)})
    p.zadd("bigzset", {"m%d" % k: k for k in range(3000)})
    p.sadd("bigset", *["m%d" % k for k in range(3000)])
    p.rpush("biglist", *["e%d" % k for k in range(10000)])
    p.execute_command("SELECT", 2)
    for i in range(2000):
        p.set("d2:%d" % i, i)
    p.execute_command("SELECT", 0)
    p.execute()


def mutate(p, rnd):
    """One batch of writes of every kind on keys that existed at the cut."""
    for _ in range(60):
        i = rnd.randrange(N)
        j = rnd.randrange(N // 10)
        op = rnd.randrange(26)
        if op == 0:
            p.set("s:%d" % i, "new%d" % rnd.randrange(10**6))
        elif op == 1:
            p.delete("s:%d" % i)
        elif op == 2:
            p.unlink("h:%d" % j)
        elif op == 3:
            p.lpush("l:%d" % j, "x")
            p.rpop("l:%d" % j)
        elif op == 4:
            p.hset("h:%d" % j, "f%d" % rnd.randrange(20), "changed")
        elif op == 5:
            p.zadd("z:%d" % j, {"m%d" % rnd.randrange(20): rnd.random()})
        elif op == 6:
            p.sadd("t:%d" % j, rnd.randrange(1000))
        elif op == 7:
            p.expire("s:%d" % i, 500000)
        elif op == 8:
            p.persist("s:%d" % i)
        elif op == 9:
            p.append("s:%d" % i, "tail")
        elif op == 10:
            p.incr("s:%d" % i)
        elif op == 11:
            p.rename("s:%d" % i, "s:%d" % rnd.randrange(N))
        elif op == 12:
            p.mset({"s:%d" % rnd.randrange(N): "m" for _ in range(4)})
        elif op == 13:
            p.execute_command("MOVE", "s:%d" % i, 2)
        elif op == 14:
            p.execute_command("COPY", "s:%d" % i, "d2:%d" % rnd.randrange(2000), "DB", 2,
                              "REPLACE")
        elif op == 15:
            p.hset("bighash", "f%d" % rnd.randrange(4000), "x" * rnd.randrange(60))
            p.hdel("bighash", "f%d" % rnd.randrange(4000))
        elif op == 16:
            p.zadd("bigzset", {"m%d" % rnd.randrange(4000): rnd.random()})
        elif op == 17:
            p.lpush("biglist", "head")
            p.ltrim("biglist", 0, 10000)
        elif op == 18:
            p.srem("bigset", "m%d" % rnd.randrange(3000))
        elif op == 19:
            # listpack -> skiplist / table conversions in place (128 entries)
            if rnd.randrange(4) == 0:
                p.zadd("z:%d" % j, {"c%d" % k: k for k in range(130)})
            else:
                p.hset("h:%d" % j, mapping={"c%d" % k: k for k in range(130)})
        elif op == 20:
            p.execute_command("SELECT", 2)
            if rnd.randrange(20) == 0:
                p.flushdb()
            else:
                p.set("d2:%d" % rnd.randrange(2000), "w")
            p.execute_command("SELECT", 0)
        elif op == 21:
            p.lmove("l:%d" % j, "l:%d" % rnd.randrange(N // 10), "LEFT", "RIGHT")
        elif op == 22:
            p.zunionstore("z:%d" % j, ["z:%d" % rnd.randrange(N // 10),
                                       "z:%d" % rnd.randrange(N // 10)])
        elif op == 23:
            p.delete(*["s:%d" % rnd.randrange(N) for _ in range(5)])
        elif op == 24:
            p.setrange("s:%d" % i, 3, "RANGE")
        else:
            p.spop("t:%d" % j)


class Writers:
    """Clients writing in batches; pause() returns once every batch sent
    before it has been answered (so DEBUG DIGEST then sees a quiet
    dataset), resume() lets them go on. Bounded by `deadline`."""

    def __init__(self, port, n, seed, deadline):
        self.go = threading.Event()
        self.stop = False
        self.deadline = deadline
        self.idle = [threading.Event() for _ in range(n)]
        self.batches = [0] * n
        self.errors = []
        self.threads = [threading.Thread(target=self.run, args=(port, k, seed + k), daemon=True)
                        for k in range(n)]
        for t in self.threads:
            t.start()

    def run(self, port, k, seed):
        rnd = random.Random(seed)
        c = redis.Redis(host="127.0.0.1", port=port, socket_timeout=30)
        try:
            while not self.stop and time.monotonic() < self.deadline:
                self.idle[k].set()
                if not self.go.wait(0.05):
                    continue
                self.idle[k].clear()
                if not self.go.is_set():
                    continue
                p = c.pipeline(transaction=False)
                mutate(p, rnd)
                p.execute(raise_on_error=False)
                self.batches[k] += 1
        except Exception as e:  # reported by the test
            self.errors.append(repr(e))
        finally:
            self.idle[k].set()

    def pause(self):
        self.go.clear()
        for ev in self.idle:
            assert ev.wait(30)

    def resume(self):
        for ev in self.idle:
            ev.clear()
        self.go.set()

    def finish(self):
        self.stop = True
        self.go.set()
        for t in self.threads:
            t.join(30)


def check_file(path, want_digest, workdir, start_server, oracle, cores):
    chk = subprocess.run([CHECK_RDB, path], capture_output=True, text=True, timeout=120)
    assert chk.returncode == 0 and "RDB looks OK" in chk.stdout, chk.stdout + chk.stderr
    a = tempfile.mkdtemp(dir=workdir)
    b = tempfile.mkdtemp(dir=workdir)
    shutil.copy(path, os.path.join(a, "dump.rdb"))
    shutil.copy(path, os.path.join(b, "dump.rdb"))
    s = start_server("--dir", a, "--save", "", "--dataplane-cores", cores, *DEBUG)
    assert digest(s.client()) == want_digest, "sluiced loading the file"
    s.kill()
    r = oracle(b)
    assert digest(r.client()) == want_digest, "redis-server loading the file"
    r.stop()


@pytest.mark.parametrize("cores", ["0,1", "0"])
def test_bgsave_under_writers_holds_the_dataset_at_the_cut(start_server, oracle, tmpdir_,
                                                           cores):
    s = start_server("--dir", tmpdir_, "--save", "", "--dataplane-cores", cores, *DEBUG)
    c = s.client()
    populate(c)
    w = Writers(s.port, 4, seed=7, deadline=time.monotonic() + 120)
    overlapped = []
    try:
        w.resume()
        time.sleep(0.3)
        for rnd in range(3):
            w.pause()
            want = digest(c)
            assert c.bgsave()
            w.resume()
            before = sum(w.batches)
            wait_bgsave_done(c)
            overlapped.append(sum(w.batches) - before)
            info = info_persistence(c)
            assert info["rdb_last_bgsave_status"] == "ok", s.describe()
            time.sleep(0.2)  # the writers go on after the snapshot too
            w.pause()  # and rest while the file is checked (2 cores)
            snap = os.path.join(tmpdir_, "round%d.rdb" % rnd)
            os.rename(os.path.join(tmpdir_, "dump.rdb"), snap)
            check_file(snap, want, tmpdir_, start_server, oracle, cores)
            w.resume()
        # batches answered while a snapshot was being written
        assert max(overlapped) > 0, overlapped
    finally:
        w.finish()
    assert not w.errors, w.errors
    # the writers really ran after the cuts: the data moved on
    assert digest(c) != want


def test_flushall_right_after_bgsave_keeps_the_cut(start_server, oracle, tmpdir_):
    s = start_server("--dir", tmpdir_, "--save", "", "--dataplane-cores", "0,1", *DEBUG)
    c = s.client()
    populate(c)
    want = digest(c)
    p = c.pipeline(transaction=False)
    p.bgsave()
    p.flushall()
    p.set("after", "cut")
    p.execute()
    wait_bgsave_done(c)
    assert info_persistence(c)["rdb_last_bgsave_status"] == "ok"
    assert c.dbsize() == 1
    check_file(os.path.join(tmpdir_, "dump.rdb"), want, tmpdir_, start_server, oracle, "0,1")


@pytest.mark.parametrize("cores", ["0,1", "0"])
def test_writes_right_after_the_cut_are_not_in_the_file(start_server, oracle, tmpdir_, cores):
    """BGSAVE and, in the same pipeline, writes of every kind: they run
    before any slice did, so every one meets keys not yet written (COPY and
    MOVE into db 2, whose keys the command does not name in that db, and
    evictions under a maxmemory set right after the cut)."""
    s = start_server("--dir", tmpdir_, "--save", "", "--dataplane-cores", cores, *DEBUG)
    c = s.client()
    populate(c)
    want = digest(c)
    used = c.info("memory")["used_memory"]
    rnd = random.Random(11)
    p = c.pipeline(transaction=False)
    p.bgsave()
    for i in range(300):
        p.execute_command("COPY", "s:%d" % i, "d2:%d" % i, "DB", 2, "REPLACE")
        p.execute_command("MOVE", "s:%d" % (1000 + i), 2)
        p.execute_command("SELECT", 2)
        p.delete("d2:%d" % (1000 + i))
        p.execute_command("SELECT", 0)
    for _ in range(40):
        mutate(p, rnd)
    p.config_set("maxmemory-policy", "allkeys-random")
    p.config_set("maxmemory", str(int(used * 0.7)))
    for i in range(200):
        p.set("fill:%d" % i, "x" * 1000)
    p.config_set("maxmemory", "0")
    p.execute(raise_on_error=False)
    wait_bgsave_done(c)
    assert info_persistence(c)["rdb_last_bgsave_status"] == "ok"
    assert c.info("stats")["evicted_keys"] > 0
    check_file(os.path.join(tmpdir_, "dump.rdb"), want, tmpdir_, start_server, oracle, cores)


def test_failed_bgsave_leaves_the_next_one_complete(start_server, oracle, tmpdir_):
    s = start_server("--dir", tmpdir_, "--save", "", "--dataplane-cores", "0,1", *DEBUG)
    c = s.client()
    populate(c)
    # The temp file is a link to /dev/full: every write fails (ENOSPC).
    tmp = os.path.join(tmpdir_, "temp-bg-%d.rdb" % s.pid)
    os.symlink("/dev/full", tmp)
    assert c.bgsave()
    wait_bgsave_done(c)
    assert info_persistence(c)["rdb_last_bgsave_status"] == "err"
    assert not os.path.exists(os.path.join(tmpdir_, "dump.rdb"))
    if os.path.islink(tmp):
        os.unlink(tmp)
    c.set("s:1", "changed after the failed one")
    want = digest(c)
    assert c.bgsave()
    wait_bgsave_done(c)
    assert info_persistence(c)["rdb_last_bgsave_status"] == "ok"
    check_file(os.path.join(tmpdir_, "dump.rdb"), want, tmpdir_, start_server, oracle, "0,1")


def big_dataset(c, n):
    p = c.pipeline(transaction=False)
    for i in range(n):
        p.set("key:%d" % i, "value-%d" % i)
        if i % 5000 == 4999:
            p.execute()
    p.execute()


@pytest.mark.parametrize("how", ["SHUTDOWN SAVE", "SHUTDOWN NOSAVE", "SIGTERM", "DEBUG RELOAD",
                                 "SAVE"])
def test_what_meets_a_running_bgsave(start_server, tmpdir_, how):
    """SHUTDOWN and SIGTERM cancel the background save (Redis kills its
    child) and save synchronously when asked; DEBUG RELOAD lets it finish;
    SAVE is refused meanwhile, as in Redis. No temp file is left."""
    args = ("--save", "3600 1") if how == "SIGTERM" else ("--save", "")
    s = start_server("--dir", tmpdir_, "--dataplane-cores", "0,1", *DEBUG, *args)
    c = s.client()
    big_dataset(c, 200000)
    want = digest(c)
    conn = s.conn()
    conn.send(encode_command("BGSAVE"))
    assert conn.read() in ("Background saving started", b"Background saving started")
    if how == "SAVE":
        conn.send(encode_command("SAVE"))
        r = conn.read_raw()
        assert r == b"-ERR Background save already in progress\r\n" or \
            r == b"+OK\r\n", r  # it may have ended already
        wait_bgsave_done(c)
    elif how == "DEBUG RELOAD":
        conn.send(encode_command("DEBUG", "RELOAD"))
        assert conn.read_raw() == b"+OK\r\n"
        assert digest(c) == want
        assert info_persistence(c)["rdb_bgsave_in_progress"] == 0
    elif how == "SIGTERM":
        s.signal(signal.SIGTERM)
        assert s.wait_exit(60) == 0, s.describe()
    else:
        conn.send(encode_command(*how.split()))
        s.wait_exit(60)
    leftovers = [f for f in os.listdir(tmpdir_) if f.startswith("temp")]
    assert not leftovers, leftovers
    path = os.path.join(tmpdir_, "dump.rdb")
    if how == "SHUTDOWN NOSAVE":
        return  # the cancelled background save left nothing (or a complete file)
    assert os.path.exists(path), s.describe()
    chk = subprocess.run([CHECK_RDB, path], capture_output=True, text=True, timeout=120)
    assert chk.returncode == 0, chk.stdout
    if not s.alive():
        t = start_server("--dir", tmpdir_, "--save", "", *DEBUG)
        assert digest(t.client()) == want


def test_serving_goes_on_during_bgsave(start_server, tmpdir_):
    s = start_server("--dir", tmpdir_, "--save", "", "--dataplane-cores", "0", *DEBUG)
    c = s.client()
    p = c.pipeline(transaction=False)
    for i in range(500000):
        p.set("key:%d" % i, "value-%d" % i)
        if i % 5000 == 4999:
            p.execute()
    p.execute()
    t0 = time.monotonic()
    assert c.save()
    save_s = time.monotonic() - t0
    probe = s.client()
    assert c.bgsave()
    worst, n = 0.0, 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        t = time.monotonic()
        probe.ping()
        probe.get("key:%d" % (n % 500000))
        worst = max(worst, time.monotonic() - t)
        n += 1
        if n % 20 == 0 and info_persistence(probe)["rdb_bgsave_in_progress"] == 0:
            break
    assert info_persistence(c)["rdb_last_bgsave_status"] == "ok"
    assert n >= 20, "the background save ended before it could be probed"
    assert worst < 0.5 * save_s, "worst round trip %.1f ms, SAVE took %.1f ms" % (
        worst * 1000, save_s * 1000)


def fill_mb(c, mb):
    """About mb MB of incompressible strings (LZF cannot shrink them)."""
    rnd = random.Random(7)
    p = c.pipeline(transaction=False)
    for i in range(mb * 8):
        p.set("blob:%d" % i, rnd.randbytes(128 * 1024))
    p.execute()


def syncs(c):
    return info_persistence(c)["rdb_incremental_syncs"]


def test_rdb_save_incremental_fsync_writes_out_every_4mb(start_server, tmpdir_):
    """rdb-save-incremental-fsync yes (the default): a background save or a
    SAVE of 13 MB starts three 4 MB writeouts (rdb_incremental_syncs,
    sluice's own field); no: none; the files load either way."""
    s = start_server("--dir", tmpdir_, "--save", "", *DEBUG)
    c = s.client()
    assert c.config_get("rdb-save-incremental-fsync") == {"rdb-save-incremental-fsync": "yes"}
    fill_mb(c, 13)
    want = digest(c)
    for how in ("bgsave", "save"):
        for on, grow in (("yes", 3), ("no", 0)):
            assert c.config_set("rdb-save-incremental-fsync", on)
            assert c.config_get("rdb-save-incremental-fsync")["rdb-save-incremental-fsync"] == on
            before = syncs(c)
            if how == "bgsave":
                c.bgsave()
                wait_bgsave_done(c)
                assert info_persistence(c)["rdb_last_bgsave_status"] == "ok"
            else:
                assert c.save()
            assert syncs(c) - before == grow, (how, on)
            c.execute_command("DEBUG", "RELOAD", "NOSAVE")
            assert digest(c) == want
