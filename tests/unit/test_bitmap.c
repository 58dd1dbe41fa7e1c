/* Unit tests for the bitmap commands (store/t_bitmap.c). Expected replies
 * were taken from redis-server 7.0.15 running the same commands. Values are
 * put in place with db_set so the test needs no other command file. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "harness.h"

#define NOW 1000000000LL

#define RUN_ON(s, fn, ...)                                                                            \
    run(s, fn, (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), __VA_ARGS__)

#define WRONGTYPE "-" ERR_WRONGTYPE "\r\n"
#define SYNTAX "-ERR syntax error\r\n"
#define NOT_INT "-ERR value is not an integer or out of range\r\n"
#define BAD_OFFSET "-ERR bit offset is not an integer or out of range\r\n"
#define BAD_BIT "-ERR bit is not an integer or out of range\r\n"
#define BAD_TYPE                                                                                   \
    "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not "                 \
    "supported but i64 is.\r\n"

static struct shard *new_shard(void)
{
    struct shard *s = shard_new(0, 16);
    shard_tick(s, NOW);
    return s;
}

/* Store a string value the way SET would encode it. */
static void put(struct shard *s, const char *key, const void *val, size_t len, int64_t expire)
{
    db_set(s, &s->db[0], entry_new_string(key, strlen(key), val, len, expire, STR_SET));
}

static void put_str(struct shard *s, const char *key, const char *val)
{
    put(s, key, val, strlen(val), -1);
}

/* A key holding a list (a real one: freeing it runs the list's code). */
static void put_list(struct shard *sh, const char *key)
{
    run(sh, cmd_rpush, 3, "RPUSH", key, "x");
}

static struct entry *lookup(struct shard *s, const char *key)
{
    return db_lookup(s, &s->db[0], key, strlen(key), LOOKUP_NOSTATS | LOOKUP_NOTOUCH, NULL);
}

static char valbuf[1 << 16];

/* The key's string value (copied), or NULL when missing. */
static const char *value(struct shard *s, const char *key, size_t *len)
{
    char buf[21];
    struct entry *e = lookup(s, key);
    if (!e)
        return NULL;
    const char *p = entry_str(e, len, buf);
    cr_assert(*len <= sizeof(valbuf));
    memcpy(valbuf, p, *len);
    return valbuf;
}

static void assert_value(struct shard *s, const char *key, const void *want, size_t wlen)
{
    size_t len;
    const char *v = value(s, key, &len);
    cr_assert_not_null(v, "key %s missing", key);
    cr_assert_eq(len, wlen, "key %s has length %zu, want %zu", key, len, wlen);
    cr_assert(memcmp(v, want, wlen) == 0, "key %s has other bytes", key);
}

/* ---------------------------------------------------------------- SETBIT */

Test(setbit, creates_the_key_and_replies_the_previous_bit)
{
    struct shard *s = new_shard();
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "s", "7", "1"), ":0\r\n");
    assert_value(s, "s", "\x01", 1);
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "s", "7", "1"), ":1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "s", "7", "0"), ":1\r\n");
    assert_value(s, "s", "\x00", 1);
    cr_assert_eq(entry_enc(lookup(s, "s")), ENC_RAW);
    shard_free(s);
}

Test(setbit, grows_the_string_with_zero_bytes)
{
    struct shard *s = new_shard();
    RUN_ON(s, cmd_setbit, "SETBIT", "s", "7", "1");
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "s", "100", "1"), ":0\r\n");
    assert_value(s, "s", "\x01\0\0\0\0\0\0\0\0\0\0\0\x08", 13);
    shard_free(s);
}

Test(setbit, grows_a_raw_value_in_place_without_replacing_the_entry)
{
    struct shard *s = new_shard();
    RUN_ON(s, cmd_setbit, "SETBIT", "s", "0", "1");
    struct entry *before = lookup(s, "s");
    RUN_ON(s, cmd_setbit, "SETBIT", "s", "80000", "1");
    cr_assert_eq(lookup(s, "s"), before);
    size_t len;
    value(s, "s", &len);
    cr_assert_eq(len, 10001);
    shard_free(s);
}

Test(setbit, turns_an_embstr_value_raw_and_keeps_its_ttl)
{
    struct shard *s = new_shard();
    put(s, "e", "a", 1, NOW + 100000);
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "e", "0", "0"), ":0\r\n");
    struct entry *e = lookup(s, "e");
    cr_assert_eq(entry_enc(e), ENC_RAW);
    cr_assert_eq(entry_expire(e), NOW + 100000);
    assert_value(s, "e", "a", 1);
    cr_assert_eq(s->db[0].volatile_keys, 1);
    shard_free(s);
}

Test(setbit, edits_the_digits_of_an_integer_value)
{
    struct shard *s = new_shard();
    put_str(s, "n", "42");
    cr_assert_eq(entry_enc(lookup(s, "n")), ENC_INT);
    /* '2' is 0x32; bit 15 is its lowest bit. */
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "n", "15", "1"), ":0\r\n");
    assert_value(s, "n", "43", 2);
    cr_assert_eq(entry_enc(lookup(s, "n")), ENC_RAW);
    shard_free(s);
}

Test(setbit, treats_an_expired_key_as_missing)
{
    struct shard *s = new_shard();
    put(s, "x", "\xff", 1, NOW - 1);
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "x", "1", "1"), ":0\r\n");
    assert_value(s, "x", "\x40", 1);
    cr_assert_eq(entry_expire(lookup(s, "x")), -1);
    shard_free(s);
}

Test(setbit, rejects_bad_offsets_before_bad_bits_and_both_before_the_type)
{
    struct shard *s = new_shard();
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "s", "-1", "1"), BAD_OFFSET);
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "s", "x", "1"), BAD_OFFSET);
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "s", "+1", "1"), BAD_OFFSET);
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "s", "01", "1"), BAD_OFFSET);
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "s", "4294967296", "1"), BAD_OFFSET);
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "s", "x", "x"), BAD_OFFSET);
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "s", "1", "2"), BAD_BIT);
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "s", "1", "-1"), BAD_BIT);
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "s", "1", "x"), BAD_BIT);
    cr_assert_null(lookup(s, "s"));
    put_list(s, "l");
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "l", "0", "1"), WRONGTYPE);
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "l", "x", "1"), BAD_OFFSET);
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "l", "0", "5"), BAD_BIT);
    shard_free(s);
}

Test(setbit, accepts_offsets_up_to_the_maximum_string_size)
{
    struct shard *s = new_shard();
    store_max_string = 1024;
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "s", "8192", "1"), BAD_OFFSET);
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "s", "8191", "1"), ":0\r\n");
    size_t len;
    const char *v = value(s, "s", &len);
    cr_assert_eq(len, 1024);
    cr_assert_eq((unsigned char)v[1023], 0x01);
    store_max_string = 512LL * 1024 * 1024;
    shard_free(s);
}

Test(setbit, counts_a_change_only_when_a_bit_flips_or_the_string_grows)
{
    struct shard *s = new_shard();
    uint64_t d = s->dirty;
    RUN_ON(s, cmd_setbit, "SETBIT", "s", "3", "0");
    cr_assert_eq(s->dirty, d + 1); /* created */
    RUN_ON(s, cmd_setbit, "SETBIT", "s", "3", "0");
    cr_assert_eq(s->dirty, d + 1);
    RUN_ON(s, cmd_setbit, "SETBIT", "s", "3", "1");
    cr_assert_eq(s->dirty, d + 2);
    RUN_ON(s, cmd_setbit, "SETBIT", "s", "30", "0");
    cr_assert_eq(s->dirty, d + 3); /* grown */
    shard_free(s);
}

Test(setbit, works_on_binary_keys)
{
    struct shard *s = new_shard();
    struct resp_arg argv[] = {{"SETBIT", 6}, {"k\0\xff", 3}, {"9", 1}, {"1", 1}};
    cr_assert_str_eq(runv(s, cmd_setbit, 4, argv), ":0\r\n");
    struct entry *e = db_lookup(s, &s->db[0], "k\0\xff", 3, LOOKUP_NOSTATS, NULL);
    cr_assert_not_null(e);
    char buf[21];
    size_t len;
    const char *v = entry_str(e, &len, buf);
    cr_assert_eq(len, 2);
    cr_assert(memcmp(v, "\x00\x40", 2) == 0);
    cr_assert_null(lookup(s, "k"));
    shard_free(s);
}

/* ---------------------------------------------------------------- GETBIT */

Test(getbit, reads_bits_msb_first_and_zero_past_the_end)
{
    struct shard *s = new_shard();
    put(s, "s", "\x01\0\0\0\0\0\0\0\0\0\0\0\x08", 13, -1);
    cr_assert_str_eq(RUN_ON(s, cmd_getbit, "GETBIT", "s", "7"), ":1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_getbit, "GETBIT", "s", "6"), ":0\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_getbit, "GETBIT", "s", "100"), ":1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_getbit, "GETBIT", "s", "99"), ":0\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_getbit, "GETBIT", "s", "1000000"), ":0\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_getbit, "GETBIT", "s", "4294967295"), ":0\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_getbit, "GETBIT", "nokey", "5"), ":0\r\n");
    cr_assert_null(lookup(s, "nokey"));
    shard_free(s);
}

Test(getbit, reads_the_digits_of_integer_and_empty_values)
{
    struct shard *s = new_shard();
    put_str(s, "n", "12345"); /* '1' = 0x31 */
    cr_assert_str_eq(RUN_ON(s, cmd_getbit, "GETBIT", "n", "2"), ":1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_getbit, "GETBIT", "n", "3"), ":1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_getbit, "GETBIT", "n", "4"), ":0\r\n");
    put_str(s, "e", "");
    cr_assert_str_eq(RUN_ON(s, cmd_getbit, "GETBIT", "e", "0"), ":0\r\n");
    shard_free(s);
}

Test(getbit, rejects_bad_offsets_before_checking_the_type)
{
    struct shard *s = new_shard();
    put_list(s, "l");
    cr_assert_str_eq(RUN_ON(s, cmd_getbit, "GETBIT", "l", "0"), WRONGTYPE);
    cr_assert_str_eq(RUN_ON(s, cmd_getbit, "GETBIT", "l", "x"), BAD_OFFSET);
    cr_assert_str_eq(RUN_ON(s, cmd_getbit, "GETBIT", "s", "-1"), BAD_OFFSET);
    cr_assert_str_eq(RUN_ON(s, cmd_getbit, "GETBIT", "s", "4294967296"), BAD_OFFSET);
    cr_assert_str_eq(RUN_ON(s, cmd_getbit, "GETBIT", "s", "01"), BAD_OFFSET);
    shard_free(s);
}

/* -------------------------------------------------------------- BITCOUNT */

Test(bitcount, counts_bytes_ranges_like_redis)
{
    struct shard *s = new_shard();
    put_str(s, "k", "foobar");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k"), ":26\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "0", "0"), ":4\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "1", "1"), ":6\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "-1", "-1"), ":4\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "0", "100"), ":26\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "-100", "100"), ":26\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "2", "1"), ":0\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "0", "-100"), ":4\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "0", "-1", "BYTE"), ":26\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "0", "-1", "byte"), ":26\r\n");
    cr_assert_str_eq(
        RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "9223372036854775807", "-9223372036854775808"),
        ":0\r\n");
    shard_free(s);
}

Test(bitcount, counts_bit_ranges_like_redis)
{
    struct shard *s = new_shard();
    put_str(s, "k", "foobar");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "1", "1", "BIT"), ":1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "5", "30", "BIT"), ":17\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "-5", "-1", "bit"), ":2\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "0", "-1", "bit"), ":26\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "47", "47", "bit"), ":0\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "48", "100", "bit"), ":0\r\n");
    shard_free(s);
}

Test(bitcount, answers_zero_for_inverted_negative_ranges_before_reading_the_unit)
{
    struct shard *s = new_shard();
    put_str(s, "k", "foobar");
    /* Clamped, -100..-200 would be 0..0; Redis answers 0 first. */
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "-100", "-200"), ":0\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "-1", "-2", "foo"), ":0\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "1", "0", "foo"), SYNTAX);
    shard_free(s);
}

Test(bitcount, rejects_bad_arguments_only_for_existing_strings)
{
    struct shard *s = new_shard();
    put_str(s, "k", "foobar");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "0"), SYNTAX);
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "0", "1", "2", "3"), SYNTAX);
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "0", "-1", "bits"), SYNTAX);
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "1", "a"), NOT_INT);
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "k", "a", "1"), NOT_INT);
    /* Redis 7.0 looks the key up first. */
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "nokey", "a", "b"), ":0\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "nokey", "0"), ":0\r\n");
    put_list(s, "l");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "l"), WRONGTYPE);
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "l", "x", "y"), WRONGTYPE);
    shard_free(s);
}

Test(bitcount, counts_integer_and_empty_values)
{
    struct shard *s = new_shard();
    put_str(s, "n", "12345");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "n"), ":17\r\n");
    put_str(s, "e", "");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "e"), ":0\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "e", "0", "-1"), ":0\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "e", "0", "-1", "bit"), ":0\r\n");
    shard_free(s);
}

Test(bitcount, counts_a_long_mostly_ones_string)
{
    struct shard *s = new_shard();
    char v[41];
    memset(v, 0xff, sizeof(v));
    v[39] = (char)0xfe;
    put(s, "big", v, sizeof(v), -1);
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "big"), ":327\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "big", "1", "-2"), ":311\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "big", "17", "318", "bit"), ":302\r\n");
    shard_free(s);
}

/* ---------------------------------------------------------------- BITPOS */

Test(bitpos, finds_bits_in_byte_ranges_like_redis)
{
    struct shard *s = new_shard();
    put(s, "a", "\xff\xf0\x00", 3, -1);
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "a", "0"), ":12\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "a", "1", "2"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "a", "0", "2"), ":16\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "a", "1", "-1"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "a", "0", "0", "0"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "a", "0", "0", "1"), ":12\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "a", "1", "1", "1"), ":8\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "a", "0", "100"), ":-1\r\n");
    put_str(s, "k", "foobar");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "k", "0", "-100", "-90"), ":0\r\n");
    shard_free(s);
}

Test(bitpos, finds_bits_in_bit_ranges_like_redis)
{
    struct shard *s = new_shard();
    put(s, "a", "\xff\xf0\x00", 3, -1);
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "a", "1", "12", "23", "BIT"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "a", "0", "0", "11", "BIT"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "a", "0", "3", "13", "bit"), ":12\r\n");
    put(s, "b", "\x00\xff\x00", 3, -1);
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "b", "1", "7", "15", "bit"), ":8\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "b", "0", "8", "15", "bit"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "b", "0", "8", "16", "bit"), ":16\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "b", "1", "3", "5", "bit"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "b", "1", "0", "-1", "byte"), ":8\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "b", "0", "1", "1"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "b", "0", "1"), ":16\r\n");
    put_str(s, "k", "foobar");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "k", "1", "-1", "-1", "bit"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "k", "1", "-9223372036854775808",
                         "9223372036854775807", "bit"),
                     ":1\r\n");
    shard_free(s);
}

Test(bitpos, looks_past_an_all_ones_string_only_without_an_end)
{
    struct shard *s = new_shard();
    put(s, "ones", "\xff\xff\xff", 3, -1);
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "ones", "0"), ":24\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "ones", "0", "0"), ":24\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "ones", "0", "1"), ":24\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "ones", "0", "0", "-1"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "ones", "0", "0", "-1", "bit"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "ones", "0", "0", "23", "bit"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "ones", "0", "5", "2"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "ones", "1"), ":0\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "ones", "1", "-1"), ":16\r\n");
    shard_free(s);
}

Test(bitpos, finds_no_set_bit_in_an_all_zeros_string)
{
    struct shard *s = new_shard();
    put(s, "z", "\0\0\0", 3, -1);
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "z", "1"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "z", "0"), ":0\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "z", "1", "1"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "z", "0", "1"), ":8\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "z", "0", "1", "2"), ":8\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "z", "1", "0", "-1", "bit"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "z", "0", "-3", "-1", "bit"), ":21\r\n");
    shard_free(s);
}

Test(bitpos, scans_long_strings_word_by_word)
{
    struct shard *s = new_shard();
    char v[41];
    memset(v, 0xff, sizeof(v));
    v[39] = (char)0xfe;
    put(s, "big", v, sizeof(v), -1);
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "big", "0"), ":319\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "big", "0", "3"), ":319\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "big", "0", "3", "-2"), ":319\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "big", "0", "3", "-3"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "big", "0", "17", "318", "bit"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "big", "0", "17", "319", "bit"), ":319\r\n");
    shard_free(s);
}

Test(bitpos, treats_missing_keys_as_zeros_whatever_the_range)
{
    struct shard *s = new_shard();
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "nokey", "1"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "nokey", "0"), ":0\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "nokey", "1", "a", "b", "c", "d"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "nokey", "0", "5", "9", "bit"), ":0\r\n");
    shard_free(s);
}

Test(bitpos, handles_integer_and_empty_values)
{
    struct shard *s = new_shard();
    put_str(s, "n", "12345");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "n", "1"), ":2\r\n");
    put_str(s, "e", "");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "e", "0"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "e", "1"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "e", "0", "0"), ":-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "e", "0", "0", "-1"), ":-1\r\n");
    shard_free(s);
}

Test(bitpos, checks_the_bit_then_the_type_then_the_range_in_redis_order)
{
    struct shard *s = new_shard();
    put_str(s, "k", "foobar");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "k", "2"),
                     "-ERR The bit argument must be 1 or 0.\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "nokey", "2"),
                     "-ERR The bit argument must be 1 or 0.\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "nokey", "x"), NOT_INT);
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "k", "1", "0", "abc", "foo"), SYNTAX);
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "k", "1", "abc", "0", "foo"), NOT_INT);
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "k", "1", "0", "abc"), NOT_INT);
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "k", "1", "0", "1", "bits"), SYNTAX);
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "k", "1", "0", "1", "bit", "x"), SYNTAX);
    put_list(s, "l");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "l", "1"), WRONGTYPE);
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "l", "2"),
                     "-ERR The bit argument must be 1 or 0.\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "l", "1", "x"), WRONGTYPE);
    shard_free(s);
}

/* ----------------------------------------- randomized BITCOUNT / BITPOS */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int bit_at(const unsigned char *p, long long i)
{
    return (p[i / 8] >> (7 - i % 8)) & 1;
}

/* The range [lo, hi] in units (bits or bytes) that Redis reads, following
 * the documented rules: negative counts from the end, then clamp to the
 * string. Returns false when empty. */
static bool ref_range(long long len, bool isbit, long long start, long long end, long long *lo,
                      long long *hi)
{
    long long units = isbit ? len * 8 : len;
    long long a = start < 0 ? units + start : start;
    long long b = end < 0 ? units + end : end;
    if (a < 0)
        a = 0;
    if (b < 0)
        b = 0;
    if (b > units - 1)
        b = units - 1;
    if (a > b)
        return false;
    *lo = isbit ? a : a * 8;
    *hi = isbit ? b : b * 8 + 7;
    return true;
}

static long long ref_bitcount(const unsigned char *p, long long len, int form, long long start,
                              long long end, bool isbit)
{
    long long lo = 0, hi = len * 8 - 1, n = 0;
    if (form) {
        if (start < 0 && end < 0 && start > end)
            return 0;
        if (!ref_range(len, isbit, start, end, &lo, &hi))
            return 0;
    }
    for (long long i = lo; i <= hi; i++)
        n += bit_at(p, i);
    return n;
}

static long long ref_bitpos(const unsigned char *p, long long len, int bit, int nargs,
                            long long start, long long end, bool isbit)
{
    long long lo = 0, hi = len * 8 - 1;
    if (nargs >= 1 && !ref_range(len, isbit, start, nargs >= 2 ? end : -1, &lo, &hi))
        return -1;
    if (nargs == 0 && len == 0)
        return -1;
    for (long long i = lo; i <= hi; i++)
        if (bit_at(p, i) == bit)
            return i;
    return (bit == 0 && nargs < 2) ? hi + 1 : -1;
}

static void fill_random(unsigned char *p, size_t len)
{
    int kind = (int)(rnd() % 5);
    for (size_t i = 0; i < len; i++) {
        switch (kind) {
        case 0:
            p[i] = (unsigned char)rnd();
            break;
        case 1:
            p[i] = 0;
            break;
        case 2:
            p[i] = 0xff;
            break;
        case 3:
            p[i] = (rnd() % 64) ? 0 : (unsigned char)rnd();
            break;
        default:
            p[i] = (rnd() % 64) ? 0xff : (unsigned char)rnd();
            break;
        }
    }
}

static long long random_index(long long len)
{
    long long span = len * 8 + 20;
    switch (rnd() % 8) {
    case 0:
        return -(long long)(rnd() % (uint64_t)span);
    case 1:
        return (long long)(rnd() % (uint64_t)span);
    case 2:
        return (long long)(rnd() % (uint64_t)(len + 3)) - 1;
    case 3:
        return -(long long)(rnd() % (uint64_t)(len + 3));
    case 4:
        return (rnd() & 1) ? INT64_MAX : INT64_MIN;
    default:
        return (long long)(rnd() % (uint64_t)(span * 2)) - span;
    }
}

Test(random, bitcount_and_bitpos_agree_with_a_bit_by_bit_reference)
{
    struct shard *s = new_shard();
    unsigned char buf[400];
    char a[32], b[32], want[64];

    for (int round = 0; round < 300; round++) {
        size_t len = rnd() % 3 ? rnd() % 200 : rnd() % 400;
        fill_random(buf, len);
        if (len && rnd() % 2)
            buf[rnd() % len] ^= (unsigned char)(1u << (rnd() % 8));
        put(s, "r", buf, len, -1);
        struct resp_arg av[7] = {{"X", 1}, {"r", 1}};

        for (int q = 0; q < 40; q++) {
            long long start = random_index((long long)len), end = random_index((long long)len);
            bool isbit = rnd() & 1;
            snprintf(a, sizeof(a), "%lld", start);
            snprintf(b, sizeof(b), "%lld", end);
            const char *unit = isbit ? "bit" : "byte";

            /* BITCOUNT r [start end [unit]] */
            int form = (int)(rnd() % 3);
            int argc = 2;
            if (form) {
                av[2] = (struct resp_arg){a, strlen(a)};
                av[3] = (struct resp_arg){b, strlen(b)};
                argc = 4;
                if (form == 2) {
                    av[4] = (struct resp_arg){unit, strlen(unit)};
                    argc = 5;
                }
            }
            snprintf(want, sizeof(want), ":%lld\r\n",
                     ref_bitcount(buf, (long long)len, form, start, end, form == 2 && isbit));
            cr_assert_str_eq(runv(s, cmd_bitcount, argc, av), want,
                             "BITCOUNT len=%zu form=%d %s %s %s", len, form, a, b,
                             form == 2 ? unit : "");

            /* BITPOS r bit [start [end [unit]]] */
            int bit = (int)(rnd() & 1), nargs = (int)(rnd() % 4);
            av[2] = (struct resp_arg){bit ? "1" : "0", 1};
            argc = 3;
            if (nargs >= 1)
                av[argc++] = (struct resp_arg){a, strlen(a)};
            if (nargs >= 2)
                av[argc++] = (struct resp_arg){b, strlen(b)};
            if (nargs >= 3)
                av[argc++] = (struct resp_arg){unit, strlen(unit)};
            snprintf(want, sizeof(want), ":%lld\r\n",
                     ref_bitpos(buf, (long long)len, bit, nargs, start, end, nargs == 3 && isbit));
            cr_assert_str_eq(runv(s, cmd_bitpos, argc, av), want,
                             "BITPOS len=%zu bit=%d nargs=%d %s %s %s", len, bit, nargs, a, b,
                             nargs == 3 ? unit : "");
        }
    }
    shard_free(s);
}

Test(random, bitcount_and_bitpos_find_every_single_bit_position)
{
    struct shard *s = new_shard();
    unsigned char buf[96];
    char pos[32], want[32];

    for (int i = 0; i < (int)sizeof(buf) * 8; i++) {
        memset(buf, 0, sizeof(buf));
        buf[i / 8] = (unsigned char)(0x80u >> (i % 8));
        put(s, "z", buf, sizeof(buf), -1);
        memset(buf, 0xff, sizeof(buf));
        buf[i / 8] = (unsigned char)~(0x80u >> (i % 8));
        put(s, "o", buf, sizeof(buf), -1);
        snprintf(want, sizeof(want), ":%d\r\n", i);
        cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "z", "1"), want);
        cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "o", "0"), want);
        snprintf(pos, sizeof(pos), "%d", i);
        cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "z", "1", "0", pos, "bit"), want);
        cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "o", "0", pos, "-1", "bit"), want);
        cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "z", pos, pos, "bit"), ":1\r\n");
        cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "o"), ":767\r\n");
    }
    shard_free(s);
}

/* A 64 MiB bitmap: a bit-at-a-time implementation would take seconds. */
Test(large, bitcount_and_bitpos_scan_a_64mib_bitmap_quickly, .timeout = 30)
{
    struct shard *s = new_shard();
    const long long bits = 64LL * 1024 * 1024 * 8;
    char off[32];
    snprintf(off, sizeof(off), "%lld", bits - 1);
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "big", off, "1"), ":0\r\n");
    snprintf(off, sizeof(off), "%lld", bits / 2 + 3);
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "big", off, "1"), ":0\r\n");

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 4; i++) {
        cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "big"), ":2\r\n");
        cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "big", "1", "33554433"), ":536870911\r\n");
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "big", "1"), ":268435459\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitcount, "BITCOUNT", "big", "0", "-2"), ":1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitpos, "BITPOS", "big", "0", "-1"), ":536870904\r\n");
    cr_log_info("8 scans of 64 MiB took %.3f s", secs);
    cr_assert_lt(secs, 20.0);
    shard_free(s);
}

/* ----------------------------------------------------------------- BITOP */

Test(bitop, combines_sources_padding_short_ones_with_zeros)
{
    struct shard *s = new_shard();
    put(s, "a", "\xff\x0f\xaa", 3, -1);
    put(s, "b", "\x0f\xff", 2, -1);
    cr_assert_str_eq(RUN_ON(s, cmd_bitop, "BITOP", "AND", "d", "a", "b"), ":3\r\n");
    assert_value(s, "d", "\x0f\x0f\x00", 3);
    cr_assert_str_eq(RUN_ON(s, cmd_bitop, "BITOP", "OR", "d", "a", "b"), ":3\r\n");
    assert_value(s, "d", "\xff\xff\xaa", 3);
    cr_assert_str_eq(RUN_ON(s, cmd_bitop, "BITOP", "xor", "d", "a", "b"), ":3\r\n");
    assert_value(s, "d", "\xf0\xf0\xaa", 3);
    cr_assert_str_eq(RUN_ON(s, cmd_bitop, "BITOP", "not", "d", "a"), ":3\r\n");
    assert_value(s, "d", "\x00\xf0U", 3);
    cr_assert_eq(entry_enc(lookup(s, "d")), ENC_RAW);
    shard_free(s);
}

Test(bitop, treats_missing_sources_as_empty_strings)
{
    struct shard *s = new_shard();
    put(s, "a", "\xff\x0f\xaa", 3, -1);
    put(s, "b", "\x0f\xff", 2, -1);
    cr_assert_str_eq(RUN_ON(s, cmd_bitop, "BITOP", "AND", "d", "a", "b", "missing"), ":3\r\n");
    assert_value(s, "d", "\0\0\0", 3);
    cr_assert_str_eq(RUN_ON(s, cmd_bitop, "BITOP", "OR", "d", "missing", "a"), ":3\r\n");
    assert_value(s, "d", "\xff\x0f\xaa", 3);
    shard_free(s);
}

Test(bitop, deletes_the_destination_when_the_result_is_empty)
{
    struct shard *s = new_shard();
    put_str(s, "d", "x");
    cr_assert_str_eq(RUN_ON(s, cmd_bitop, "BITOP", "and", "d", "missing", "missing2"), ":0\r\n");
    cr_assert_null(lookup(s, "d"));
    put_str(s, "d", "x");
    cr_assert_str_eq(RUN_ON(s, cmd_bitop, "BITOP", "OR", "d", "missing"), ":0\r\n");
    cr_assert_null(lookup(s, "d"));
    cr_assert_str_eq(RUN_ON(s, cmd_bitop, "BITOP", "NOT", "d", "missing"), ":0\r\n");
    cr_assert_null(lookup(s, "d"));
    shard_free(s);
}

Test(bitop, overwrites_any_destination_type_and_drops_its_ttl)
{
    struct shard *s = new_shard();
    put(s, "a", "\xff\x0f\xaa", 3, -1);
    put_list(s, "l");
    cr_assert_str_eq(RUN_ON(s, cmd_bitop, "BITOP", "OR", "l", "a"), ":3\r\n");
    cr_assert_eq(entry_type(lookup(s, "l")), OBJ_STRING);
    put(s, "t", "abc", 3, NOW + 100000);
    cr_assert_str_eq(RUN_ON(s, cmd_bitop, "BITOP", "NOT", "t", "a"), ":3\r\n");
    cr_assert_eq(entry_expire(lookup(s, "t")), -1);
    cr_assert_eq(s->db[0].volatile_keys, 0);
    shard_free(s);
}

Test(bitop, can_use_the_destination_as_a_source)
{
    struct shard *s = new_shard();
    put(s, "a", "\xff\x0f\xaa", 3, -1);
    put(s, "b", "\x0f\xff", 2, -1);
    cr_assert_str_eq(RUN_ON(s, cmd_bitop, "BITOP", "XOR", "a", "a", "b"), ":3\r\n");
    assert_value(s, "a", "\xf0\xf0\xaa", 3);
    cr_assert_str_eq(RUN_ON(s, cmd_bitop, "BITOP", "AND", "a", "a", "a"), ":3\r\n");
    assert_value(s, "a", "\xf0\xf0\xaa", 3);
    shard_free(s);
}

Test(bitop, reads_integer_values_as_their_digits)
{
    struct shard *s = new_shard();
    put_str(s, "num", "42");
    cr_assert_str_eq(RUN_ON(s, cmd_bitop, "BITOP", "OR", "d", "num"), ":2\r\n");
    assert_value(s, "d", "42", 2);
    cr_assert_eq(entry_enc(lookup(s, "d")), ENC_RAW);
    shard_free(s);
}

Test(bitop, rejects_unknown_operations_not_with_many_keys_and_wrong_types)
{
    struct shard *s = new_shard();
    put(s, "a", "\xff", 1, -1);
    put_list(s, "l");
    cr_assert_str_eq(RUN_ON(s, cmd_bitop, "BITOP", "FOO", "d", "a"), SYNTAX);
    cr_assert_str_eq(RUN_ON(s, cmd_bitop, "BITOP", "NOT", "d", "a", "b"),
                     "-ERR BITOP NOT must be called with a single source key.\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitop, "BITOP", "OR", "d", "a", "l"), WRONGTYPE);
    cr_assert_null(lookup(s, "d"));
    shard_free(s);
}

Test(bitop, matches_a_bytewise_reference_on_long_random_strings)
{
    struct shard *s = new_shard();
    static unsigned char v[4][3000], want[3000];
    size_t len[4];
    const char *names[4] = {"s0", "s1", "s2", "s3"};
    const char *ops[3] = {"AND", "OR", "XOR"};

    for (int round = 0; round < 40; round++) {
        size_t maxlen = 0;
        for (int k = 0; k < 4; k++) {
            len[k] = rnd() % 3000;
            fill_random(v[k], len[k]);
            put(s, names[k], v[k], len[k], -1);
            if (len[k] > maxlen)
                maxlen = len[k];
        }
        for (int o = 0; o < 3; o++) {
            for (size_t i = 0; i < maxlen; i++) {
                unsigned char r = i < len[0] ? v[0][i] : 0;
                for (int k = 1; k < 4; k++) {
                    unsigned char x = i < len[k] ? v[k][i] : 0;
                    r = o == 0 ? (r & x) : o == 1 ? (r | x) : (r ^ x);
                }
                want[i] = r;
            }
            char reply[32];
            snprintf(reply, sizeof(reply), ":%zu\r\n", maxlen);
            cr_assert_str_eq(RUN_ON(s, cmd_bitop, "BITOP", ops[o], "d", "s0", "s1", "s2", "s3"),
                             reply);
            if (maxlen)
                assert_value(s, "d", want, maxlen);
            else
                cr_assert_null(lookup(s, "d"));
        }
        for (size_t i = 0; i < len[2]; i++)
            want[i] = (unsigned char)~v[2][i];
        RUN_ON(s, cmd_bitop, "BITOP", "NOT", "d", "s2");
        if (len[2])
            assert_value(s, "d", want, len[2]);
    }
    shard_free(s);
}

Test(bitop, accepts_binary_keys_and_operation_names_ending_at_a_nul)
{
    struct shard *s = new_shard();
    put(s, "a", "\x0f", 1, -1);
    struct resp_arg argv[] = {{"BITOP", 5}, {"not\0zz", 6}, {"d\0", 2}, {"a", 1}};
    cr_assert_str_eq(runv(s, cmd_bitop, 4, argv), ":1\r\n");
    struct entry *e = db_lookup(s, &s->db[0], "d\0", 2, LOOKUP_NOSTATS, NULL);
    cr_assert_not_null(e);
    char buf[21];
    size_t len;
    cr_assert_eq(*entry_str(e, &len, buf), (char)0xf0);
    shard_free(s);
}

/* -------------------------------------------------------------- BITFIELD */

Test(bitfield, sets_gets_and_increments_signed_and_unsigned_fields)
{
    struct shard *s = new_shard();
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "SET", "i8", "0", "-100", "GET", "i8",
                         "0", "GET", "u8", "0", "INCRBY", "i8", "0", "-100", "GET", "i8", "0"),
                     "*5\r\n:0\r\n:-100\r\n:156\r\n:56\r\n:56\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i8", "0",
                         "-100", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "-1", "OVERFLOW", "WRAP",
                         "INCRBY", "i8", "0", "-1"),
                     "*3\r\n:-44\r\n:-45\r\n:-46\r\n");
    cr_assert_eq(entry_enc(lookup(s, "bf")), ENC_RAW);
    shard_free(s);
}

Test(bitfield, applies_wrap_sat_and_fail_to_small_fields)
{
    struct shard *s = new_shard();
    put(s, "bf", "\xd2", 1, -1); /* 0xd2 = i8 -46 */
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "OVERFLOW", "SAT", "SET", "u4", "0",
                         "100", "GET", "u4", "0", "SET", "u4", "0", "-1", "GET", "u8", "0"),
                     "*4\r\n:13\r\n:15\r\n:15\r\n:242\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "OVERFLOW", "WRAP", "SET", "u4", "0",
                         "100", "GET", "u4", "0"),
                     "*2\r\n:15\r\n:4\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "OVERFLOW", "FAIL", "SET", "u4", "0",
                         "100", "GET", "u4", "0", "SET", "i4", "0", "-8", "SET", "i4", "0", "-9"),
                     "*4\r\n$-1\r\n:4\r\n:4\r\n$-1\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "SET", "u8", "#1", "255", "GET", "u8",
                         "8", "GET", "u16", "#1", "GET", "i16", "#0"),
                     "*4\r\n:0\r\n:255\r\n:0\r\n:-32001\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "INCRBY", "u2", "100", "1", "OVERFLOW",
                         "SAT", "INCRBY", "u2", "102", "5", "OVERFLOW", "WRAP", "INCRBY", "u2",
                         "104", "5"),
                     "*3\r\n:1\r\n:3\r\n:1\r\n");
    shard_free(s);
}

Test(bitfield, handles_64_bit_signed_and_63_bit_unsigned_fields)
{
    struct shard *s = new_shard();
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "SET", "i64", "0", "-1", "GET", "i64",
                         "0", "GET", "u63", "0", "GET", "u63", "1", "INCRBY", "i64", "0", "1"),
                     "*5\r\n:0\r\n:-1\r\n:9223372036854775807\r\n:9223372036854775807\r\n:0\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "SET", "i64", "0",
                         "9223372036854775807", "INCRBY", "i64", "0", "1", "OVERFLOW", "SAT",
                         "INCRBY", "i64", "0", "-9223372036854775808", "INCRBY", "i64", "0", "-10",
                         "GET", "i64", "0"),
                     "*5\r\n:0\r\n:-9223372036854775808\r\n:-9223372036854775808\r\n"
                     ":-9223372036854775808\r\n:-9223372036854775808\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "OVERFLOW", "SAT", "SET", "i64", "0",
                         "-9223372036854775808", "INCRBY", "i64", "0", "-1", "OVERFLOW", "WRAP",
                         "INCRBY", "i64", "0", "-1"),
                     "*3\r\n:-9223372036854775808\r\n:-9223372036854775808\r\n"
                     ":9223372036854775807\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "SET", "u63", "3",
                         "9223372036854775807", "GET", "u63", "3", "INCRBY", "u63", "3", "1", "GET",
                         "i64", "0", "GET", "i5", "66"),
                     "*5\r\n:9223372036854775804\r\n:9223372036854775807\r\n:0\r\n"
                     ":6917529027641081856\r\n:0\r\n");
    shard_free(s);
}

Test(bitfield, keeps_redis_arithmetic_for_extreme_values)
{
    struct shard *s = new_shard();
    put(s, "bf", "\x60", 1, -1);
    /* Values within a few of INT64_MIN saturate upwards, as in Redis. */
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "OVERFLOW", "SAT", "SET", "i8", "0",
                         "-9223372036854775808", "GET", "i8", "0"),
                     "*2\r\n:96\r\n:127\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "OVERFLOW", "SAT", "SET", "i8", "0",
                         "-9223372036854775681", "GET", "i8", "0", "SET", "i8", "0",
                         "-9223372036854775680", "GET", "i8", "0"),
                     "*4\r\n:127\r\n:127\r\n:127\r\n:-128\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "OVERFLOW", "SAT", "SET", "u8", "0",
                         "-9223372036854775808", "GET", "u8", "0", "INCRBY", "u8", "0",
                         "-9223372036854775808", "INCRBY", "u8", "0", "9223372036854775807"),
                     "*4\r\n:128\r\n:255\r\n:0\r\n:255\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "OVERFLOW", "WRAP", "INCRBY", "u8", "0",
                         "-9223372036854775808", "INCRBY", "u8", "0", "9223372036854775807",
                         "INCRBY", "i8", "0", "9223372036854775807", "INCRBY", "i8", "0",
                         "-9223372036854775808"),
                     "*4\r\n:255\r\n:254\r\n:-3\r\n:-3\r\n");
    shard_free(s);
}

Test(bitfield, grows_the_string_to_the_farthest_written_bit)
{
    struct shard *s = new_shard();
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "SET", "u2", "104", "1", "SET", "i8",
                         "0", "-3", "GET", "u8", "200"),
                     "*3\r\n:0\r\n:0\r\n:0\r\n");
    assert_value(s, "bf", "\xfd\0\0\0\0\0\0\0\0\0\0\0\0\x40", 14);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "GET", "i64", "100"),
                     "*1\r\n:288230376151711744\r\n");
    shard_free(s);
}

Test(bitfield, creates_the_key_even_when_every_write_fails)
{
    struct shard *s = new_shard();
    cr_assert_str_eq(
        RUN_ON(s, cmd_bitfield, "BITFIELD", "q", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "10"),
        "*1\r\n$-1\r\n");
    assert_value(s, "q", "\0", 1);
    shard_free(s);
}

Test(bitfield, reads_missing_keys_as_zeros_without_creating_them)
{
    struct shard *s = new_shard();
    cr_assert_str_eq(
        RUN_ON(s, cmd_bitfield, "BITFIELD", "nope", "GET", "i8", "0", "GET", "u63", "4294967295"),
        "*2\r\n:0\r\n:0\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "nope"), "*0\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "nope", "OVERFLOW", "SAT"), "*0\r\n");
    cr_assert_null(lookup(s, "nope"));
    shard_free(s);
}

Test(bitfield, edits_integer_values_and_keeps_their_ttl)
{
    struct shard *s = new_shard();
    put(s, "i", "7", 1, NOW + 5000);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "i", "GET", "u8", "0", "SET", "u8", "8", "0"),
                     "*2\r\n:55\r\n:0\r\n");
    assert_value(s, "i", "7\0", 2);
    cr_assert_eq(entry_enc(lookup(s, "i")), ENC_RAW);
    cr_assert_eq(entry_expire(lookup(s, "i")), NOW + 5000);
    put_str(s, "num", "42");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "num", "SET", "u8", "8", "51"),
                     "*1\r\n:50\r\n");
    assert_value(s, "num", "43", 2);
    shard_free(s);
}

Test(bitfield, parses_offsets_with_hash_multipliers_and_limits)
{
    struct shard *s = new_shard();
    put(s, "bf", "\x01\x02", 2, -1);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "GET", "u8", "4294967295"),
                     "*1\r\n:0\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "GET", "u8", "4294967296"), BAD_OFFSET);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "GET", "u8", "#536870911"),
                     "*1\r\n:0\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "GET", "u8", "#536870912"), BAD_OFFSET);
    /* (2^61 + 1) * 8 wraps to 8 as in Redis. */
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "GET", "u8", "#2305843009213693953"),
                     "*1\r\n:2\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "GET", "u8", "#"), BAD_OFFSET);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "GET", "u8", "#-1"), BAD_OFFSET);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "GET", "u8", "-1"), BAD_OFFSET);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "GET", "u8", "abc"), BAD_OFFSET);
    cr_assert_str_eq(RUN_ON(s, cmd_setbit, "SETBIT", "bf", "#1", "1"), BAD_OFFSET);
    shard_free(s);
}

Test(bitfield, writes_just_past_the_maximum_string_size_like_redis)
{
    struct shard *s = new_shard();
    store_max_string = 64;
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "SET", "i64", "511", "-1"),
                     "*1\r\n:0\r\n");
    size_t len;
    value(s, "bf", &len);
    cr_assert_eq(len, 72);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "SET", "u8", "512", "1"), BAD_OFFSET);
    store_max_string = 512LL * 1024 * 1024;
    shard_free(s);
}

Test(bitfield, rejects_bad_types_subcommands_and_values)
{
    struct shard *s = new_shard();
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "GET"), SYNTAX);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "GET", "i8"), SYNTAX);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "SET", "i8", "0"), SYNTAX);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "OVERFLOW"), SYNTAX);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "FOO"), SYNTAX);
    cr_assert_str_eq(
        RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "OVERFLOW", "sat", "GET", "u8", "0", "OVERFLOW"),
        SYNTAX);
    cr_assert_str_eq(
        RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "get", "u8", "0", "set", "u8", "0", "1", "foo"),
        SYNTAX);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "OVERFLOW", "bad", "GET", "i8", "0"),
                     "-ERR Invalid OVERFLOW type specified\r\n");
    const char *types[] = {"i65", "u64", "i0", "u0",  "x8",  "i",
                           "i08", "I8",  "U8", "i-1", "u+8", ""};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "GET", types[i], "0"), BAD_TYPE,
                         "type %s", types[i]);
    cr_assert_str_eq(
        RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "SET", "u8", "0", "1", "GET", "u8", "x"),
        BAD_OFFSET);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "SET", "u8", "0", "1.5"), NOT_INT);
    cr_assert_str_eq(
        RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "INCRBY", "u8", "0", "99999999999999999999"),
        NOT_INT);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "GET", "i64", "0", "GET", "u63", "0",
                         "get", "i1", "0", "gEt", "u1", "0"),
                     "*4\r\n:0\r\n:0\r\n:0\r\n:0\r\n");
    /* Nothing ran: the write before the error never happened. */
    cr_assert_null(lookup(s, "bf"));
    shard_free(s);
}

Test(bitfield, checks_the_type_after_parsing_the_arguments)
{
    struct shard *s = new_shard();
    put_list(s, "l");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "l", "GET", "u8", "0"), WRONGTYPE);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "l", "SET", "u8", "0", "1"), WRONGTYPE);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "l", "GET", "u8", "x"), BAD_OFFSET);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield_ro, "BITFIELD_RO", "l", "GET", "u8", "0"), WRONGTYPE);
    shard_free(s);
}

Test(bitfield, counts_only_real_changes_as_dirty)
{
    struct shard *s = new_shard();
    put(s, "bf", "\x05", 1, -1);
    uint64_t d = s->dirty;
    RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "SET", "u8", "0", "5", "GET", "u8", "0");
    cr_assert_eq(s->dirty, d);
    RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "SET", "u8", "0", "6", "INCRBY", "u8", "0", "1");
    cr_assert_eq(s->dirty, d + 2);
    RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1000");
    cr_assert_eq(s->dirty, d + 2);
    RUN_ON(s, cmd_bitfield, "BITFIELD", "bf", "SET", "u8", "8", "0", "SET", "u8", "0", "7");
    cr_assert_eq(s->dirty, d + 4); /* grown: both count */
    shard_free(s);
}

Test(bitfield, accepts_keywords_and_type_digits_ending_at_a_nul)
{
    struct shard *s = new_shard();
    db_set(s, &s->db[0], entry_new_string("k\0", 2, "\x9c", 1, -1, STR_SET));
    /* Redis compares these as C strings. */
    struct resp_arg argv[] = {{"BITFIELD", 8}, {"k\0", 2}, {"GET\0x", 5}, {"u8\0zz", 5},
                              {"0", 1},        {"get", 3}, {"i8", 2},     {"0", 1}};
    cr_assert_str_eq(runv(s, cmd_bitfield, 8, argv), "*2\r\n:156\r\n:-100\r\n");
    struct resp_arg bad[] = {{"BITFIELD", 8}, {"k\0", 2}, {"GET", 3}, {"\0u8", 3}, {"0", 1}};
    cr_assert_str_eq(runv(s, cmd_bitfield, 5, bad), BAD_TYPE);
    shard_free(s);
}

Test(bitfield, matches_a_bit_by_bit_model_on_random_fields)
{
    struct shard *s = new_shard();
    static unsigned char model[64];
    char type[8], off[24], val[24], want[64];

    memset(model, 0, sizeof(model));
    put(s, "r", model, sizeof(model), -1);
    for (int i = 0; i < 3000; i++) {
        bool sign = rnd() & 1;
        int bits = 1 + (int)(rnd() % (sign ? 64 : 63));
        uint64_t o = rnd() % (sizeof(model) * 8 - (uint64_t)bits + 1);
        int64_t v = (int64_t)rnd();
        snprintf(type, sizeof(type), "%c%d", sign ? 'i' : 'u', bits);
        snprintf(off, sizeof(off), "%llu", (unsigned long long)o);
        snprintf(val, sizeof(val), "%lld", (long long)v);

        /* Old value from the model. */
        uint64_t old = 0;
        for (int b = 0; b < bits; b++)
            old = (old << 1) | (uint64_t)bit_at(model, (long long)(o + (uint64_t)b));
        long long oldv = (long long)old;
        if (sign && bits < 64 && (old >> (bits - 1)))
            oldv = (long long)(old | (UINT64_MAX << bits));
        /* SET under WRAP stores the low bits of v. */
        for (int b = 0; b < bits; b++) {
            uint64_t pos = o + (uint64_t)b;
            int bit = (int)(((uint64_t)v >> (bits - 1 - b)) & 1);
            model[pos / 8] = (unsigned char)((model[pos / 8] & ~(0x80u >> (pos % 8))) |
                                             ((unsigned)bit << (7 - pos % 8)));
        }
        snprintf(want, sizeof(want), "*1\r\n:%lld\r\n", oldv);
        cr_assert_str_eq(RUN_ON(s, cmd_bitfield, "BITFIELD", "r", "SET", type, off, val), want,
                         "SET %s %s %s", type, off, val);
    }
    assert_value(s, "r", model, sizeof(model));
    shard_free(s);
}

/* ----------------------------------------------------------- BITFIELD_RO */

Test(bitfield_ro, reads_fields_like_bitfield_get)
{
    struct shard *s = new_shard();
    put(s, "bf", "\xfd", 1, -1);
    cr_assert_str_eq(
        RUN_ON(s, cmd_bitfield_ro, "BITFIELD_RO", "bf", "GET", "i8", "0", "GET", "u4", "4"),
        "*2\r\n:-3\r\n:13\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield_ro, "BITFIELD_RO", "nope", "GET", "i8", "0"),
                     "*1\r\n:0\r\n");
    cr_assert_null(lookup(s, "nope"));
    shard_free(s);
}

Test(bitfield_ro, refuses_writes_after_checking_the_syntax)
{
    struct shard *s = new_shard();
    put(s, "bf", "\xfd", 1, -1);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield_ro, "BITFIELD_RO", "bf", "INCRBY", "u8", "0", "1"),
                     "-ERR BITFIELD_RO only supports the GET subcommand\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield_ro, "BITFIELD_RO", "bf", "SET", "u8", "0", "1"),
                     "-ERR BITFIELD_RO only supports the GET subcommand\r\n");
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield_ro, "BITFIELD_RO", "bf", "GET", "u8", "0", "SET", "u8",
                         "0", "1", "FOO"),
                     SYNTAX);
    cr_assert_str_eq(RUN_ON(s, cmd_bitfield_ro, "BITFIELD_RO", "nope", "SET", "u8", "0", "1"),
                     "-ERR BITFIELD_RO only supports the GET subcommand\r\n");
    cr_assert_null(lookup(s, "nope"));
    assert_value(s, "bf", "\xfd", 1);
    shard_free(s);
}
