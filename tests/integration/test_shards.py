"""Several workers, each owning a shard: replies keep request order across
shards, whole-keyspace commands and SCAN cover every shard, and multi-key
commands are atomic. sluiced-only (redis-server has no workers)."""
import pytest
import redis

from conftest import sluice_only, encode_command

FOUR = ("--dataplane-cores", "0,1,0,1")


@sluice_only
@pytest.mark.parametrize("busy", [[], ["--busy-poll", "yes"]], ids=["doorbell", "busy-poll"])
def test_a_deep_pipeline_over_many_shards_replies_in_request_order(start_server, busy):
    s = start_server(*FOUR, *busy)
    with s.conn(timeout=30) as c:
        cmds = []
        for i in range(5000):
            cmds.append(encode_command("SET", "key:%d" % i, "v%d" % i))
            cmds.append(encode_command("GET", "key:%d" % i))
            if i % 100 == 0:
                cmds.append(encode_command("MSET", "key:%d" % i, "m%d" % i, "other:%d" % i, "x"))
                cmds.append(encode_command("MGET", "key:%d" % i, "other:%d" % i))
        c.send(b"".join(cmds))
        for i in range(5000):
            assert c.read() == "OK"
            assert c.read() == b"v%d" % i
            if i % 100 == 0:
                assert c.read() == "OK"
                assert c.read() == [b"m%d" % i, b"x"]


@sluice_only
def test_keyspace_commands_and_scan_cover_every_shard(start_server):
    s = start_server(*FOUR)
    r = s.client()
    names = ["k%05d" % i for i in range(10000)]
    pipe = r.pipeline(transaction=False)
    for n in names:
        pipe.set(n, 1)
    pipe.execute()
    assert r.dbsize() == 10000
    assert len(r.keys("k*")) == 10000
    seen = set(k.decode() if isinstance(k, bytes) else k for k in r.scan_iter(count=100))
    assert seen == set(names)
    info = r.info("keyspace")
    assert info["db0"]["keys"] == 10000
    assert r.randomkey() is not None
    r.flushall()
    assert r.dbsize() == 0
    assert r.scan(0) == (0, [])


@sluice_only
@pytest.mark.parametrize("busy", [[], ["--busy-poll", "yes"]], ids=["doorbell", "busy-poll"])
def test_multi_key_commands_and_transactions_span_shards(start_server, busy):
    s = start_server(*FOUR, *busy)
    r = s.client()
    keys = ["a", "b", "c", "d", "{t}1", "{t}2"]
    slots = {r.execute_command("CLUSTER", "KEYSLOT", k) for k in keys}
    assert len(slots) >= 4, "the keys must fall into several slots"
    assert r.mset({k: k.upper() for k in keys}) is True
    assert r.mget(keys) == [k.upper().encode() for k in keys]
    assert r.exists(*keys) == len(keys)
    assert r.rename("a", "z") is True
    assert r.get("z") == b"A" and r.get("a") is None
    p = r.pipeline(transaction=True)
    p.incr("n1").incr("n2").get("b")
    assert p.execute() == [1, 1, b"B"]
    w = s.client()
    p = r.pipeline(transaction=True)
    p.watch("n1")
    w.incr("n1")  # another client changes a watched key
    p.multi()
    p.incr("n1")
    try:
        p.execute()
        raise AssertionError("EXEC should have failed")
    except redis.WatchError:
        pass
    assert r.delete(*keys, "z", "n1", "n2") == 8  # "a" was renamed to "z"


@sluice_only
def test_a_pipeline_larger_than_the_rings_between_workers_completes(start_server):
    # 100k commands in one write overflow the 4096-slot ring to the other
    # worker: the sender must wait for room without running the peer's work
    # recursively (this once overflowed the stack).
    s = start_server("--dataplane-cores", "0,1")
    n = 100000
    with s.conn(timeout=60) as c:
        c.send(b"".join(encode_command("SET", "key:%012d" % i, "x" * 32) for i in range(n)))
        for _ in range(n):
            assert c.read() == "OK"
        assert c.cmd("DBSIZE") == n
