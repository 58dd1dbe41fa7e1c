"""maxmemory and the eviction policies, OBJECT FREQ/IDLETIME, INFO memory and
the MEMORY command.

Limits are set relative to the server's own used_memory at the start of the
test (sluiced and redis-server start from different baselines), so the same
tests run against redis-server (SLUICE_TEST_REDIS=1), the oracle for what
gets evicted and for every error text.
"""
import threading
import time

import pytest
import redis
from conftest import sluice_only

MB = 1024 * 1024
VALUE = "v" * 200
OOM = "OOM command not allowed when used memory > 'maxmemory'."


def used(r):
    return r.info("memory")["used_memory"]


def limit_above_now(r, extra):
    m = used(r) + extra
    r.config_set("maxmemory", m)
    return m


def fill(r, prefix, n, ttl=None, start=0):
    """SET n keys (pipelined); returns how many got OOM."""
    oom = 0
    for base in range(start, start + n, 500):
        p = r.pipeline(transaction=False)
        for i in range(base, min(base + 500, start + n)):
            if ttl:
                p.set("%s:%d" % (prefix, i), VALUE, ex=ttl)
            else:
                p.set("%s:%d" % (prefix, i), VALUE)
        for res in p.execute(raise_on_error=False):
            if isinstance(res, redis.exceptions.ResponseError):
                assert str(res) == OOM
                oom += 1
    return oom


@pytest.fixture
def mr(srv):
    c = srv.client(decode_responses=True)
    c.config_resetstat()
    yield c
    c.config_set("maxmemory", 0)
    c.config_set("maxmemory-policy", "noeviction")
    c.flushall()
    c.close()


def evicted(r):
    return r.info("stats")["evicted_keys"]


def test_noeviction_refuses_writes_with_redis_error_and_keeps_everything(mr):
    limit_above_now(mr, 2 * MB)
    oom = fill(mr, "k", 30000)
    assert oom > 0
    n = mr.dbsize()
    assert evicted(mr) == 0
    with pytest.raises(redis.exceptions.ResponseError, match="^OOM command not allowed"):
        for i in range(200):  # client buffers move used memory a little
            mr.set("another:%d" % i, VALUE)
    assert mr.get("k:0") == VALUE  # reads keep working
    assert mr.delete("k:0") == 1  # and deletes
    assert mr.dbsize() <= n - 1 + 200
    mr.config_set("maxmemory", 0)
    assert mr.set("another", "x")


def test_above_the_limit_every_command_queued_in_multi_is_refused(mr):
    limit_above_now(mr, 1 * MB)
    fill(mr, "k", 20000)
    for cmds in (["get"], ["get", "set"]):  # queueing takes memory too
        p = mr.pipeline(transaction=True)
        for c in cmds:
            getattr(p, c)("k:1", *([VALUE] if c == "set" else []))
        with pytest.raises(redis.exceptions.ResponseError) as e:
            p.execute()
        assert OOM in str(e.value)
    assert mr.get("k:1") == VALUE


def test_allkeys_lru_keeps_the_recently_used_working_set(mr):
    mr.config_set("maxmemory-policy", "allkeys-lru")
    fill(mr, "hot", 2000)
    fill(mr, "cold", 15000)
    time.sleep(2.1)  # the LRU clock has a resolution of one second
    mr.mget(["hot:%d" % i for i in range(2000)])
    limit_above_now(mr, 1 * MB)
    assert fill(mr, "new", 8000) == 0
    assert evicted(mr) > 3000
    mr.config_set("maxmemory", 0)  # big replies below would evict more
    hot = sum(1 for v in mr.mget(["hot:%d" % i for i in range(2000)]) if v)
    cold = sum(1 for v in mr.mget(["cold:%d" % i for i in range(15000)]) if v)
    assert hot >= 1900, hot
    assert cold < 15000 - 3000 + 100, cold


def test_allkeys_lfu_keeps_frequently_used_keys_and_reports_freq(mr):
    mr.config_set("maxmemory-policy", "allkeys-lfu")
    fill(mr, "freq", 1000)
    for _ in range(20):
        mr.mget(["freq:%d" % i for i in range(1000)])
    assert mr.object("freq", "freq:1") > 5
    with pytest.raises(redis.exceptions.ResponseError, match="idle time not tracked"):
        mr.object("idletime", "freq:1")
    limit_above_now(mr, 2 * MB)
    assert fill(mr, "once", 30000) == 0
    assert evicted(mr) > 0
    mr.config_set("maxmemory", 0)
    kept = sum(1 for v in mr.mget(["freq:%d" % i for i in range(1000)]) if v)
    assert kept >= 950, kept


def test_allkeys_random_evicts_and_holds_the_limit(mr):
    mr.config_set("maxmemory-policy", "allkeys-random")
    m = limit_above_now(mr, 2 * MB)
    assert fill(mr, "r", 30000) == 0
    assert evicted(mr) > 0
    assert used(mr) <= m + max(MB, m // 64)


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random"])
def test_volatile_policies_never_evict_keys_without_ttl(mr, policy):
    mr.config_set("maxmemory-policy", policy)
    fill(mr, "keep", 3000)
    limit_above_now(mr, 2 * MB)
    assert fill(mr, "tmp", 20000, ttl=1000) == 0
    assert evicted(mr) > 0
    assert mr.exists(*["keep:%d" % i for i in range(3000)]) == 3000
    # only keys without a TTL left to evict: writes fail
    mr.delete(*["tmp:%d" % i for i in range(20000)])
    fill(mr, "keep", 30000, start=3000)
    with pytest.raises(redis.exceptions.ResponseError, match="OOM"):
        for i in range(2000):
            mr.set("more:%d" % i, VALUE)


def test_volatile_ttl_evicts_the_soonest_expiring_first(mr):
    mr.config_set("maxmemory-policy", "volatile-ttl")
    fill(mr, "soon", 3000, ttl=1000)
    fill(mr, "late", 3000, ttl=100000)
    limit_above_now(mr, 1 * MB)
    assert fill(mr, "new", 5000) == 0
    ev = evicted(mr)
    mr.config_set("maxmemory", 0)
    assert 0 < ev < 2500, ev
    soon = sum(1 for v in mr.mget(["soon:%d" % i for i in range(3000)]) if v)
    late = sum(1 for v in mr.mget(["late:%d" % i for i in range(3000)]) if v)
    assert late >= 2950 and soon <= 3000 - ev + 50, (soon, late, ev)


def test_object_idletime_under_lru_and_freq_error(mr):
    mr.set("idle", "x")
    time.sleep(1.1)
    assert mr.object("idletime", "idle") >= 1
    with pytest.raises(redis.exceptions.ResponseError, match="LFU maxmemory policy is not"):
        mr.object("freq", "idle")


def test_config_values_are_checked_as_redis_does(mr):
    with pytest.raises(redis.exceptions.ResponseError, match="must be one of the following"):
        mr.config_set("maxmemory-policy", "lru")
    with pytest.raises(redis.exceptions.ResponseError, match="memory value"):
        mr.config_set("maxmemory", "12zb")
    with pytest.raises(redis.exceptions.ResponseError, match="CONFIG SET failed"):
        mr.config_set("maxmemory-samples", 0)
    mr.config_set("maxmemory", "4gb")
    assert mr.config_get("maxmemory")["maxmemory"] == str(4 << 30)
    assert mr.info("memory")["maxmemory_human"] == "4.00G"
    for k in ("maxmemory-samples", "maxmemory-eviction-tenacity", "lfu-log-factor",
              "lfu-decay-time"):
        assert k in mr.config_get(k)


def test_info_memory_and_memory_command(mr):
    mr.set("k", "v" * 1000)
    info = mr.info("memory")
    for f in ("used_memory", "used_memory_rss", "used_memory_peak", "used_memory_overhead",
              "used_memory_dataset", "used_memory_startup", "mem_fragmentation_ratio",
              "mem_fragmentation_bytes", "allocator_allocated", "allocator_active",
              "allocator_resident", "maxmemory", "maxmemory_policy",
              "mem_not_counted_for_evict", "mem_clients_normal"):
        assert f in info, f
    assert info["used_memory_peak"] >= info["used_memory"] > 0
    assert mr.memory_usage("k") >= 1000
    assert mr.memory_usage("nokey") is None
    with pytest.raises(redis.exceptions.ResponseError, match="syntax error"):
        mr.execute_command("MEMORY", "USAGE", "k", "SAMPLES")
    st = mr.memory_stats()
    assert st["keys.count"] == 1 and st["total.allocated"] > 0
    assert "db.0" in st
    assert isinstance(mr.execute_command("MEMORY", "DOCTOR"), str)
    assert mr.memory_purge()
    assert "jemalloc" in mr.execute_command("MEMORY", "MALLOC-STATS")
    with pytest.raises(redis.exceptions.ResponseError, match="unknown subcommand"):
        mr.execute_command("MEMORY", "NOPE")


@sluice_only
def test_a_write_flood_never_takes_memory_past_the_limit_and_margin(start_server):
    s = start_server("--maxmemory-policy", "allkeys-lru")
    r = s.client(decode_responses=True)
    m = limit_above_now(r, 8 * MB)
    bound = m + max(MB, m // 64)
    stop = threading.Event()
    errors = []

    def writer(k):
        c = s.client()
        i = 0
        while not stop.is_set():
            p = c.pipeline(transaction=False)
            for _ in range(200):
                p.set("w%d:%d" % (k, i), VALUE)
                i += 1
            for res in p.execute(raise_on_error=False):
                if isinstance(res, Exception):
                    errors.append(res)

    threads = [threading.Thread(target=writer, args=(k,), daemon=True) for k in range(4)]
    for t in threads:
        t.start()
    peak, end = 0, time.monotonic() + 4
    while time.monotonic() < end:
        peak = max(peak, used(r))
        time.sleep(0.01)
    stop.set()
    for t in threads:
        t.join(10)
    assert not errors, errors[:3]
    assert evicted(r) > 1000
    assert peak <= bound, (peak, bound)


@sluice_only
def test_several_shards_each_give_up_memory_in_proportion(start_server):
    s = start_server("--dataplane-cores", "0,1,0,1", "--maxmemory-policy", "allkeys-random")
    r = s.client(decode_responses=True)
    m = limit_above_now(r, 6 * MB)
    assert fill(r, "s", 60000) == 0
    bound = m + max(MB, m // 64)
    time.sleep(0.2)
    assert used(r) <= bound
    owners = {}
    for k in r.scan_iter(count=1000):
        slot = r.execute_command("CLUSTER", "KEYSLOT", k)
        owners[slot * 4 // 16384] = owners.get(slot * 4 // 16384, 0) + 1
    assert len(owners) == 4
    lo, hi = min(owners.values()), max(owners.values())
    assert hi <= 1.5 * lo, owners


def test_maxmemory_clients_disconnects_the_biggest_client(srv, mr):
    import socket
    with pytest.raises(redis.exceptions.ResponseError, match="memory or percent value"):
        mr.config_set("maxmemory-clients", "lots")
    mr.config_set("maxmemory-clients", "2mb")
    try:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$50000000\r\n")
        closed = False
        chunk = b"x" * 65536
        end = time.monotonic() + 5
        while time.monotonic() < end:
            try:
                s.sendall(chunk * 4)
            except OSError:
                closed = True
                break
            time.sleep(0.01)
        assert closed, "a client holding a 2 MB+ query buffer was not disconnected"
        assert mr.ping()  # the small client is still there
        assert mr.config_get("maxmemory-clients")["maxmemory-clients"] == "2097152"
    finally:
        mr.config_set("maxmemory-clients", "0")


def test_client_output_buffer_limit_disconnects_a_client_that_does_not_read(srv, mr):
    import socket
    with pytest.raises(redis.exceptions.ResponseError, match="Invalid client class"):
        mr.config_set("client-output-buffer-limit", "bogus 1 2 3")
    with pytest.raises(redis.exceptions.ResponseError, match="Wrong number of arguments"):
        mr.config_set("client-output-buffer-limit", "normal 1mb 0")
    old = mr.config_get("client-output-buffer-limit")["client-output-buffer-limit"]
    mr.config_set("client-output-buffer-limit", "normal 1mb 512kb 10")
    try:
        assert mr.config_get("client-output-buffer-limit")["client-output-buffer-limit"] == \
            "normal 1048576 524288 10 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        mr.set("big", "x" * 100000)
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"GET big\r\n" * 300)  # 30 MB of replies, none read yet
        time.sleep(0.5)
        got = 0
        try:
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                got += len(chunk)
        except OSError:
            pass
        s.close()
        assert got < 300 * 100000, "the client got every reply: it was not disconnected"
        assert mr.ping()
    finally:
        mr.config_set("client-output-buffer-limit", old)


@sluice_only
def test_allkeys_sieve_keeps_keys_that_are_hit_and_drops_one_hit_keys(mr):
    mr.config_set("maxmemory-policy", "allkeys-sieve")
    fill(mr, "hit", 2000)
    mr.mget(["hit:%d" % i for i in range(2000)])  # each hit once after its write
    with pytest.raises(redis.exceptions.ResponseError, match="idle time not tracked"):
        mr.object("idletime", "hit:1")
    limit_above_now(mr, 1 * MB)
    assert fill(mr, "once", 20000) == 0
    assert evicted(mr) > 3000
    mr.config_set("maxmemory", 0)
    kept = mr.exists(*["hit:%d" % i for i in range(2000)])
    assert kept >= 1900, kept
