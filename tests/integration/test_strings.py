"""String commands through redis-py: SET options, the INCR family, ranges,
multi-key forms, GETEX/GETDEL and LCS, with Redis 7.0's replies and errors."""

import time

import pytest
import redis


def err(excinfo):
    return str(excinfo.value)


def test_set_then_get_returns_the_value_and_get_of_a_missing_key_is_none(r):
    assert r.set("k", "v") is True
    assert r.get("k") == "v"
    assert r.get("missing") is None
    assert r.strlen("k") == 1
    assert r.strlen("missing") == 0


def test_set_ex_and_px_give_the_key_a_ttl(r):
    r.set("a", "1", ex=100)
    assert 98 <= r.ttl("a") <= 100
    r.set("b", "1", px=50000)
    assert 48000 <= r.pttl("b") <= 50000


def test_set_px_key_disappears_after_its_ttl(r):
    r.set("k", "v", px=100)
    assert r.get("k") == "v"
    time.sleep(0.25)
    assert r.get("k") is None
    assert r.exists("k") == 0


def test_set_exat_and_pxat_use_absolute_unix_times(r):
    now = int(time.time())
    r.set("a", "1", exat=now + 100)
    assert 98 <= r.ttl("a") <= 100
    r.set("b", "1", pxat=now * 1000 + 100000)
    assert 97000 <= r.pttl("b") <= 100000


def test_set_nx_only_sets_missing_keys_and_xx_only_existing_ones(r):
    assert r.set("k", "1", nx=True) is True
    assert r.set("k", "2", nx=True) is None
    assert r.get("k") == "1"
    assert r.set("other", "1", xx=True) is None
    assert r.exists("other") == 0
    assert r.set("k", "3", xx=True) is True
    assert r.get("k") == "3"


def test_plain_set_clears_the_ttl_but_keepttl_keeps_it(r):
    r.set("k", "1", ex=100)
    r.set("k", "2", keepttl=True)
    assert r.get("k") == "2"
    assert 98 <= r.ttl("k") <= 100
    r.set("k", "3")
    assert r.ttl("k") == -1


def test_set_get_returns_the_old_value(r):
    assert r.set("k", "new", get=True) is None
    assert r.set("k", "newer", get=True) == "new"
    assert r.get("k") == "newer"
    # NX and GET together are allowed since Redis 7.0.
    assert r.set("k", "x", nx=True, get=True) == "newer"
    assert r.get("k") == "newer"


def test_set_rejects_bad_expire_times_and_conflicting_options(r):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("SET", "k", "v", "EX", "0")
    assert err(e) == "invalid expire time in 'set' command"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("SET", "k", "v", "PX", "-5")
    assert err(e) == "invalid expire time in 'set' command"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("SET", "k", "v", "EX", "abc")
    assert err(e) == "value is not an integer or out of range"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("SET", "k", "v", "NX", "XX")
    assert err(e) == "syntax error"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("SET", "k", "v", "EX", "10", "PX", "100")
    assert err(e) == "syntax error"
    assert r.exists("k") == 0


def test_wrong_arity_and_unknown_commands_get_redis_error_text(r):
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("GET")
    assert err(e) == "wrong number of arguments for 'get' command"
    with pytest.raises(redis.ResponseError) as e:
        r.execute_command("NOSUCHCMD", "a", "b")
    assert err(e) == ("unknown command 'NOSUCHCMD', with args beginning with: "
                      "'a' 'b' ")


def test_incr_family_counts_and_creates_missing_keys(r):
    assert r.incr("n") == 1
    assert r.incr("n", 10) == 11
    assert r.incrby("n", -20) == -9
    assert r.decr("n") == -10
    assert r.decrby("n", 5) == -15
    assert r.get("n") == "-15"
    assert r.decr("fresh") == -1


def test_incr_rejects_non_integers_and_overflow(r):
    r.set("s", "abc")
    with pytest.raises(redis.ResponseError) as e:
        r.incr("s")
    assert err(e) == "value is not an integer or out of range"
    r.set("sp", " 1")
    with pytest.raises(redis.ResponseError):
        r.incr("sp")
    r.set("max", str(2**63 - 1))
    with pytest.raises(redis.ResponseError) as e:
        r.incr("max")
    assert err(e) == "increment or decrement would overflow"
    assert r.get("max") == str(2**63 - 1)
    r.set("min", str(-2**63))
    with pytest.raises(redis.ResponseError) as e:
        r.decr("min")
    assert err(e) == "increment or decrement would overflow"


def test_incr_keeps_the_ttl_of_the_key(r):
    r.set("n", "5", ex=100)
    r.incr("n")
    assert 98 <= r.ttl("n") <= 100


def test_incrbyfloat_formats_like_redis(r):
    r.set("f", "10.50")
    assert r.incrbyfloat("f", 0.1) == pytest.approx(10.6)
    assert r.get("f") == "10.6"
    r.set("e", "5.0e3")
    r.incrbyfloat("e", 2.0e2)
    assert r.get("e") == "5200"
    r.incrbyfloat("new", 3)
    assert r.get("new") == "3"
    r.set("s", "x")
    with pytest.raises(redis.ResponseError) as e:
        r.incrbyfloat("s", 1)
    assert err(e) == "value is not a valid float"


def test_append_extends_the_string_and_returns_the_new_length(r):
    assert r.append("k", "Hello") == 5
    assert r.append("k", " World") == 11
    assert r.get("k") == "Hello World"
    r.set("n", 12)
    assert r.append("n", 3) == 3
    assert r.get("n") == "123"


def test_getrange_handles_negative_and_out_of_range_indexes(r):
    r.set("k", "This is a string")
    assert r.getrange("k", 0, 3) == "This"
    assert r.getrange("k", -3, -1) == "ing"
    assert r.getrange("k", 0, -1) == "This is a string"
    assert r.getrange("k", 10, 100) == "string"
    assert r.getrange("k", 5, 2) == ""
    assert r.getrange("missing", 0, 10) == ""


def test_setrange_overwrites_and_pads_with_zero_bytes(rb):
    rb.set("k", "Hello World")
    assert rb.setrange("k", 6, "Redis") == 11
    assert rb.get("k") == b"Hello Redis"
    assert rb.setrange("pad", 5, "hi") == 7
    assert rb.get("pad") == b"\x00\x00\x00\x00\x00hi"
    with pytest.raises(redis.ResponseError) as e:
        rb.setrange("k", 512 * 1024 * 1024, "x")
    assert str(e.value) == "string exceeds maximum allowed size (proto-max-bulk-len)"
    with pytest.raises(redis.ResponseError) as e:
        rb.setrange("k", -1, "x")
    assert str(e.value) == "offset is out of range"


def test_mset_and_mget_cover_many_keys_and_missing_ones(r):
    assert r.mset({"a": "1", "b": "2", "{t}c": "3"}) is True
    assert r.mget("a", "missing", "b", "{t}c") == ["1", None, "2", "3"]


def test_msetnx_sets_all_keys_or_none(r):
    assert r.msetnx({"a": "1", "b": "2"}) is True
    assert r.msetnx({"c": "3", "a": "9"}) is False
    assert r.get("a") == "1"
    assert r.exists("c") == 0


def test_getex_changes_or_removes_the_ttl(r):
    r.set("k", "v")
    assert r.getex("k", ex=100) == "v"
    assert 98 <= r.ttl("k") <= 100
    assert r.getex("k", px=5000) == "v"
    assert 4000 <= r.pttl("k") <= 5000
    assert r.getex("k", persist=True) == "v"
    assert r.ttl("k") == -1
    assert r.getex("missing", ex=10) is None


def test_getdel_returns_the_value_and_deletes_the_key(r):
    r.set("k", "v")
    assert r.getdel("k") == "v"
    assert r.exists("k") == 0
    assert r.getdel("k") is None


def test_getset_returns_the_old_value(r):
    assert r.getset("k", "1") is None
    assert r.getset("k", "2") == "1"
    assert r.get("k") == "2"


def test_lcs_finds_the_longest_common_subsequence(r):
    r.mset({"key1": "ohmytext", "key2": "mynewtext"})
    assert r.lcs("key1", "key2") == "mytext"
    assert r.lcs("key1", "key2", len=True) == 6
    got = r.execute_command("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4",
                            "WITHMATCHLEN")
    assert got == ["matches", [[[4, 7], [5, 8], 4]], "len", 6]
    assert r.lcs("key1", "missing") == ""
