"""Bulk traffic through redis-py: long non-transactional pipelines, binary-safe
keys and values, and a 50 MB value round trip."""

import os

import redis


def test_pipeline_of_ten_thousand_commands_returns_every_reply_in_order(r):
    pipe = r.pipeline(transaction=False)
    for i in range(5000):
        pipe.set("k%d" % i, "v%d" % i)
    for i in range(5000):
        pipe.get("k%d" % (4999 - i))
    replies = pipe.execute()
    assert len(replies) == 10000
    assert replies[:5000] == [True] * 5000
    assert replies[5000:] == ["v%d" % (4999 - i) for i in range(5000)]
    assert r.dbsize() == 5000


def test_pipeline_with_an_error_in_the_middle_keeps_the_other_replies(r):
    pipe = r.pipeline(transaction=False)
    pipe.set("s", "text")
    pipe.incr("s")
    pipe.incr("n")
    replies = pipe.execute(raise_on_error=False)
    assert replies[0] is True
    assert isinstance(replies[1], redis.ResponseError)
    assert replies[2] == 1


def test_binary_keys_and_values_round_trip_unchanged(rb):
    every_byte = bytes(range(256))
    keys = [b"\x00", b"a\x00b", b"\r\n", b"\xff\xfe", b" spaced key ", every_byte]
    for i, k in enumerate(keys):
        assert rb.set(k, every_byte * (i + 1)) is True
    for i, k in enumerate(keys):
        assert rb.get(k) == every_byte * (i + 1)
    assert sorted(rb.keys("*")) == sorted(keys)
    assert rb.exists(*keys) == len(keys)
    assert rb.get(b"\x00\x00") is None
    assert rb.set(b"", b"empty key") is True
    assert rb.get(b"") == b"empty key"
    assert rb.set(b"empty value", b"") is True
    assert rb.get(b"empty value") == b""


def test_a_50_megabyte_value_round_trips_intact(rb):
    value = os.urandom(1024 * 1024) * 50
    assert rb.set("big", value) is True
    assert rb.strlen("big") == len(value)
    got = rb.get("big")
    assert len(got) == len(value)
    assert got == value
    assert rb.getrange("big", len(value) - 10, -1) == value[-10:]
    assert rb.delete("big") == 1
