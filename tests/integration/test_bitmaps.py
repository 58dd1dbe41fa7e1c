"""Bitmap commands through redis-py: SETBIT/GETBIT, BITCOUNT and BITPOS with
BYTE and BIT ranges, BITOP, and BITFIELD with each overflow mode."""

import pytest
import redis


def test_setbit_returns_the_previous_bit_and_getbit_reads_it(rb):
    assert rb.setbit("b", 7, 1) == 0
    assert rb.setbit("b", 7, 1) == 1
    assert rb.getbit("b", 7) == 1
    assert rb.getbit("b", 6) == 0
    assert rb.getbit("b", 100000) == 0
    assert rb.getbit("missing", 3) == 0
    assert rb.get("b") == b"\x01"
    rb.setbit("b", 100, 1)
    assert rb.strlen("b") == 13


def test_setbit_rejects_bad_offsets_and_values(rb):
    with pytest.raises(redis.ResponseError) as e:
        rb.setbit("b", -1, 1)
    assert str(e.value) == "bit offset is not an integer or out of range"
    with pytest.raises(redis.ResponseError) as e:
        rb.setbit("b", 2**32, 1)
    assert str(e.value) == "bit offset is not an integer or out of range"
    with pytest.raises(redis.ResponseError) as e:
        rb.execute_command("SETBIT", "b", 1, 2)
    assert str(e.value) == "bit is not an integer or out of range"


def test_bitcount_counts_set_bits_in_byte_and_bit_ranges(rb):
    rb.set("k", "foobar")
    assert rb.bitcount("k") == 26
    assert rb.bitcount("k", 0, 0) == 4
    assert rb.bitcount("k", 1, 1) == 6
    assert rb.bitcount("k", -2, -1) == 7
    assert rb.bitcount("k", 5, 30, "BIT") == 17
    assert rb.bitcount("missing") == 0


def test_bitpos_finds_first_set_or_clear_bit(rb):
    rb.set("k", b"\xff\xf0\x00")
    assert rb.bitpos("k", 0) == 12
    rb.set("k", b"\x00\xff\xf0")
    assert rb.bitpos("k", 1, 0) == 8
    assert rb.bitpos("k", 1, 2) == 16
    assert rb.bitpos("k", 1, 7, 15, "BIT") == 8
    rb.set("k", b"\x00\x00\x00")
    assert rb.bitpos("k", 1) == -1
    rb.set("k", b"\xff\xff\xff")
    # Looking for a clear bit with no end given finds the bit past the end.
    assert rb.bitpos("k", 0) == 24
    assert rb.bitpos("k", 0, 0, -1) == -1
    assert rb.bitpos("missing", 0) == 0
    assert rb.bitpos("missing", 1) == -1


def test_bitop_combines_strings_and_pads_shorter_ones_with_zeros(rb):
    rb.set("a", b"\xf0\x0f")
    rb.set("b", b"\xff")
    assert rb.bitop("AND", "d", "a", "b") == 2
    assert rb.get("d") == b"\xf0\x00"
    assert rb.bitop("OR", "d", "a", "b") == 2
    assert rb.get("d") == b"\xff\x0f"
    assert rb.bitop("XOR", "d", "a", "b") == 2
    assert rb.get("d") == b"\x0f\x0f"
    assert rb.bitop("NOT", "d", "a") == 2
    assert rb.get("d") == b"\x0f\xf0"
    with pytest.raises(redis.ResponseError) as e:
        rb.bitop("NOT", "d", "a", "b")
    assert str(e.value) == "BITOP NOT must be called with a single source key."
    # An empty result deletes the destination.
    assert rb.bitop("AND", "d", "missing1", "missing2") == 0
    assert rb.exists("d") == 0


def test_bitfield_sets_gets_and_increments_with_wrap_by_default(rb):
    got = (rb.bitfield("bf").set("u8", 0, 255).get("u8", 0)
           .incrby("u8", 0, 10).get("i4", 4).execute())
    assert got == [0, 255, 9, -7]
    assert rb.get("bf") == b"\x09"


def test_bitfield_overflow_sat_and_fail(rb):
    got = rb.bitfield("bf", default_overflow="SAT").incrby("u8", 0, 300).incrby(
        "i8", 8, -200).execute()
    assert got == [255, -128]
    got = rb.bitfield("bf", default_overflow="FAIL").incrby("u8", 0, 1).execute()
    assert got == [None]
    assert rb.bitfield("bf").get("u8", 0).execute() == [255]


def test_bitfield_ro_reads_and_bad_types_are_rejected(rb):
    rb.set("bf", b"\x80")
    assert rb.execute_command("BITFIELD_RO", "bf", "GET", "u1", "0") == [1]
    with pytest.raises(redis.ResponseError) as e:
        rb.execute_command("BITFIELD", "bf", "GET", "u64", "0")
    assert str(e.value) == ("Invalid bitfield type. Use something like i16 u8. "
                            "Note that u64 is not supported but i64 is.")
