"""Keyspace commands through redis-py: DEL/EXISTS/TYPE/KEYS/SCAN/RANDOMKEY,
RENAME/COPY/MOVE, databases, flushes, the EXPIRE family and OBJECT ENCODING."""

import time

import pytest
import redis


def test_delete_and_unlink_count_only_existing_keys(r):
    r.mset({"a": 1, "b": 2, "c": 3})
    assert r.delete("a", "b", "missing") == 2
    assert r.unlink("c", "c") == 1
    assert r.dbsize() == 0


def test_exists_counts_repeated_keys_each_time(r):
    r.set("a", 1)
    assert r.exists("a", "a", "missing") == 2
    assert r.exists("missing") == 0


def test_type_reports_string_and_none(r):
    r.set("s", "x")
    assert r.type("s") == "string"
    assert r.type("missing") == "none"


def test_keys_matches_glob_patterns(r):
    r.mset({"user:1": 1, "user:2": 2, "user:10": 3, "item:1": 4, "h?llo": 5,
            "hallo": 6, "hxllo": 7})
    assert sorted(r.keys("user:*")) == ["user:1", "user:10", "user:2"]
    assert sorted(r.keys("user:?")) == ["user:1", "user:2"]
    assert sorted(r.keys("h[ae]llo")) == ["hallo"]
    assert sorted(r.keys("h[^a]llo")) == ["h?llo", "hxllo"]
    assert sorted(r.keys("h\\?llo")) == ["h?llo"]
    assert len(r.keys("*")) == 7
    assert r.keys("nomatch*") == []


def test_scan_iter_over_ten_thousand_keys_returns_each_key_exactly_once(r):
    pipe = r.pipeline(transaction=False)
    for i in range(10000):
        pipe.set("key:%d" % i, i)
    pipe.execute()
    seen = list(r.scan_iter(count=100))
    assert len(seen) == 10000
    assert set(seen) == {"key:%d" % i for i in range(10000)}


def test_scan_match_and_type_filters(r):
    r.mset({"a1": 1, "a2": 2, "b1": 3})
    assert sorted(r.scan_iter(match="a*")) == ["a1", "a2"]
    assert sorted(r.scan_iter(_type="string")) == ["a1", "a2", "b1"]
    assert list(r.scan_iter(_type="list")) == []
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("SCAN", "notanumber")
    assert str(e.value) == "invalid cursor"


def test_randomkey_returns_an_existing_key_or_none(r):
    assert r.randomkey() is None
    r.mset({"a": 1, "b": 2, "c": 3})
    for _ in range(20):
        assert r.randomkey() in ("a", "b", "c")


def test_rename_moves_value_and_ttl_and_fails_on_missing_source(r):
    r.set("src", "v", ex=100)
    r.set("dst", "old")
    assert r.rename("src", "dst") is True
    assert r.get("dst") == "v"
    assert 98 <= r.ttl("dst") <= 100
    assert r.exists("src") == 0
    with pytest.raises(redis.ResponseError) as e:
        r.rename("missing", "x")
    assert str(e.value) == "no such key"
    r.set("a", 1)
    r.set("b", 2)
    assert r.renamenx("a", "b") is False
    assert r.renamenx("a", "c") is True
    assert r.get("c") == "1"


def test_copy_duplicates_a_key_within_and_across_databases(r, shared):
    r.set("src", "v", ex=100)
    assert r.copy("src", "dst") is True
    assert r.get("dst") == "v"
    assert 98 <= r.ttl("dst") <= 100
    assert r.copy("src", "dst") is False
    r.set("src", "v2")
    assert r.copy("src", "dst", replace=True) is True
    assert r.get("dst") == "v2"
    assert r.copy("src", "dst", destination_db=3) is True
    db3 = shared.get().client(db=3, decode_responses=True)
    assert db3.get("dst") == "v2"
    assert r.copy("missing", "x") is False


def test_move_transfers_a_key_to_another_database_only_if_absent_there(r, shared):
    db1 = shared.get().client(db=1, decode_responses=True)
    r.set("k", "v")
    assert r.move("k", 1) is True
    assert r.exists("k") == 0
    assert db1.get("k") == "v"
    r.set("k", "other")
    assert r.move("k", 1) is False
    assert r.get("k") == "other"
    with pytest.raises(redis.ResponseError) as e:
        r.move("k", 0)
    assert str(e.value) == "source and destination objects are the same"


def test_databases_are_isolated_and_select_checks_the_index(r, shared):
    db2 = shared.get().client(db=2, decode_responses=True)
    r.set("k", "db0")
    db2.set("k", "db2")
    assert r.get("k") == "db0"
    assert db2.get("k") == "db2"
    assert r.dbsize() == 1
    db2.delete("k")
    assert r.get("k") == "db0"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("SELECT", "16")
    assert str(e.value) == "DB index is out of range"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("SELECT", "x")
    assert str(e.value) == "value is not an integer or out of range"


def test_select_on_one_connection_does_not_affect_others(srv):
    with srv.conn() as a, srv.conn() as b:
        assert a.cmd("SELECT", "5") == "OK"
        assert a.cmd("SET", "k", "in5") == "OK"
        assert b.cmd("GET", "k") is None
        assert b.cmd("SELECT", "5") == "OK"
        assert b.cmd("GET", "k") == b"in5"


def test_flushdb_clears_only_the_current_database_and_flushall_clears_all(r, shared):
    db1 = shared.get().client(db=1, decode_responses=True)
    r.set("a", 1)
    db1.set("b", 2)
    assert r.flushdb() is True
    assert r.dbsize() == 0
    assert db1.dbsize() == 1
    r.set("a", 1)
    assert r.flushall() is True
    assert r.dbsize() == 0
    assert db1.dbsize() == 0
    db1.set("b", 2)
    assert r.execute_command("FLUSHALL", "ASYNC")
    assert db1.dbsize() == 0


def test_expire_sets_ttl_and_expired_keys_vanish(r):
    r.set("k", "v")
    assert r.expire("k", 100) is True
    assert 98 <= r.ttl("k") <= 100
    assert r.pexpire("k", 150) is True
    time.sleep(0.3)
    assert r.exists("k") == 0
    assert r.expire("missing", 100) is False


def test_expire_with_nonpositive_or_past_time_deletes_the_key(r):
    r.set("a", 1)
    assert r.expire("a", -1) is True
    assert r.exists("a") == 0
    r.set("b", 1)
    assert r.expireat("b", int(time.time()) - 10) is True
    assert r.exists("b") == 0
    r.set("c", 1)
    assert r.pexpireat("c", int(time.time() * 1000) - 1000) is True
    assert r.exists("c") == 0


def test_expire_nx_xx_gt_lt_follow_redis_7_rules(r):
    r.set("k", "v")
    assert r.expire("k", 100, xx=True) is False
    assert r.ttl("k") == -1
    # A key without TTL counts as infinite TTL for GT and LT.
    assert r.expire("k", 100, gt=True) is False
    assert r.expire("k", 100, lt=True) is True
    assert r.expire("k", 200, nx=True) is False
    assert r.expire("k", 200, xx=True) is True
    assert r.expire("k", 100, gt=True) is False
    assert r.expire("k", 300, gt=True) is True
    assert r.expire("k", 400, lt=True) is False
    assert r.expire("k", 50, lt=True) is True
    assert 48 <= r.ttl("k") <= 50
    r.persist("k")
    assert r.expire("k", 100, nx=True) is True
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("EXPIRE", "k", "10", "NX", "XX")
    assert str(e.value) == "NX and XX, GT or LT options at the same time are not compatible"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("EXPIRE", "k", "10", "GT", "LT")
    assert str(e.value) == "GT and LT options at the same time are not compatible"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("EXPIRE", "k", "10", "BOGUS")
    assert str(e.value) == "Unsupported option BOGUS"


def test_ttl_and_pttl_report_minus_one_and_minus_two(r):
    r.set("k", "v")
    assert r.ttl("k") == -1
    assert r.pttl("k") == -1
    assert r.ttl("missing") == -2
    assert r.pttl("missing") == -2


def test_expiretime_and_pexpiretime_return_absolute_unix_times(r):
    at = int(time.time()) + 1000
    r.set("k", "v")
    r.expireat("k", at)
    assert r.expiretime("k") == at
    assert r.execute_command("PEXPIRETIME", "k") == at * 1000
    r.set("p", "v")
    assert r.expiretime("p") == -1
    assert r.expiretime("missing") == -2


def test_persist_removes_the_ttl_once(r):
    r.set("k", "v", ex=100)
    assert r.persist("k") is True
    assert r.ttl("k") == -1
    assert r.persist("k") is False
    assert r.persist("missing") is False


def test_object_encoding_reports_int_embstr_and_raw(r):
    r.set("i", "12345")
    assert r.object("encoding", "i") == "int"
    r.set("e", "hello")
    assert r.object("encoding", "e") == "embstr"
    r.set("long", "x" * 45)
    assert r.object("encoding", "long") == "raw"
    r.set("a", "ab")
    r.append("a", "c")
    assert r.object("encoding", "a") == "raw"
    assert r.object("encoding", "missing") is None


def test_touch_counts_existing_keys(r):
    r.mset({"a": 1, "b": 2})
    assert r.touch("a", "b", "c") == 2
