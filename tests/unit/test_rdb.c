/* Unit tests of store/rdb.c: CRC64 and SHA1 known vectors, LZF round trips
 * and corrupt input, the RDB writer and loader round-tripping every type
 * and encoding (checked by DEBUG DIGEST's algorithm and OBJECT ENCODING),
 * expiry handling, several dbs and shards, and the loader on hostile input:
 * every truncation, every single-byte change, random multi-byte damage
 * and huge declared lengths are rejected (or, without a checksum, loaded
 * as something valid) and never crash. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "rdb.h"

TestSuite(rdb_blocks);
TestSuite(rdb, .init = harness_setup, .fini = harness_teardown);

Test(rdb_blocks, crc64_jones_check_value)
{
    /* Redis's crc64.c self test: crc64(0, "123456789") */
    cr_assert_eq(rdb_crc64(0, "123456789", 9), 0xe9c6d914c4b8d9caULL);
    /* Incremental equals whole. */
    uint64_t c = rdb_crc64(0, "1234", 4);
    cr_assert_eq(rdb_crc64(c, "56789", 5), 0xe9c6d914c4b8d9caULL);
    /* The 8-bytes-at-a-time path equals the byte path, at any offset. */
    unsigned char buf[1000];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    for (size_t off = 0; off < 9; off++) {
        uint64_t whole = rdb_crc64(0, buf + off, sizeof(buf) - off), bytes = 0;
        for (size_t i = off; i < sizeof(buf); i++)
            bytes = rdb_crc64(bytes, buf + i, 1);
        cr_assert_eq(whole, bytes);
    }
}

static void hex(const unsigned char *d, char *out)
{
    for (int i = 0; i < 20; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

Test(rdb_blocks, sha1_vectors)
{
    unsigned char d[20];
    char h[41];
    rdb_sha1("abc", 3, d);
    hex(d, h);
    cr_assert_str_eq(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
    rdb_sha1("", 0, d);
    hex(d, h);
    cr_assert_str_eq(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    rdb_sha1(m, strlen(m), d);
    hex(d, h);
    cr_assert_str_eq(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

static void lzf_round(const unsigned char *in, size_t n)
{
    /* Incompressible input grows by one control byte per 32. */
    size_t cap = n + n / 32 + 64;
    unsigned char *c = malloc(cap), *d = malloc(n + 1);
    size_t cl = rdb_lzf_compress(in, n, c, cap);
    cr_assert(cl > 0 || n == 0);
    size_t dl = rdb_lzf_decompress(c, cl, d, n);
    cr_assert_eq(dl, n);
    cr_assert(memcmp(in, d, n) == 0);
    /* An output buffer one byte short is refused, never overrun. */
    if (n > 1)
        cr_assert_eq(rdb_lzf_decompress(c, cl, d, n - 1), 0);
    free(c);
    free(d);
}

Test(rdb_blocks, lzf_round_trips)
{
    unsigned char buf[70000];
    srand(7);
    for (size_t n = 1; n < 300; n++) {
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)"abcab"[rand() % 5];
        lzf_round(buf, n);
    }
    memset(buf, 'x', sizeof(buf));
    lzf_round(buf, sizeof(buf)); /* long runs: maximal back references */
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)rand();
    lzf_round(buf, sizeof(buf)); /* incompressible: literal runs only */
    /* Compressible data really shrinks, and a too-small output fails. */
    memset(buf, 'a', 1000);
    unsigned char out[1000];
    size_t cl = rdb_lzf_compress(buf, 1000, out, sizeof(out));
    cr_assert(cl > 0 && cl < 30, "compressed to %zu", cl);
    cr_assert_eq(rdb_lzf_compress(buf, 1000, out, 3), 0);
}

Test(rdb_blocks, lzf_corrupt_input_never_overruns)
{
    unsigned char in[64], out[128];
    srand(11);
    for (int it = 0; it < 20000; it++) {
        size_t n = (size_t)(rand() % 64) + 1;
        for (size_t i = 0; i < n; i++)
            in[i] = (unsigned char)rand();
        size_t r = rdb_lzf_decompress(in, n, out, sizeof(out));
        cr_assert(r <= sizeof(out));
    }
    /* A back reference before the start of the output is refused. */
    unsigned char bad[] = {0x20, 0x05};
    cr_assert_eq(rdb_lzf_decompress(bad, 2, out, sizeof(out)), 0);
}

/* ---- the dataset used by the round trips ---- */

static void populate(void)
{
    char big[200], k[32], v[32];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    RUN(cmd_set, "SET", "str", "hello");
    RUN(cmd_set, "SET", "int", "12345");
    RUN(cmd_set, "SET", "neg", "-7");
    RUN(cmd_set, "SET", "bigint", "9223372036854775807");
    RUN(cmd_set, "SET", "i32", "2147483648");
    RUN(cmd_set, "SET", "notcanon", "0012");
    RUN(cmd_set, "SET", "long", big); /* LZF */
    RUN(cmd_set, "SET", "empty", "");
    RUN(cmd_set, "SET", "ttl", "v");
    RUN(cmd_pexpireat, "PEXPIREAT", "ttl", "1900000000000");
    RUN(cmd_rpush, "RPUSH", "list", "a", "1", "-200", "70000", big);
    RUN(cmd_sadd, "SADD", "intset", "1", "-5", "100000", "5000000000");
    RUN(cmd_sadd, "SADD", "hset", "a", "b", "12");
    RUN(cmd_zadd, "ZADD", "zlp", "1", "a", "2.5", "b", "-inf", "c", "inf", "d", "0.1", "e");
    RUN(cmd_hset, "HSET", "hlp", "f", "v", "n", "123");
    for (int i = 0; i < 700; i++) {
        snprintf(k, sizeof(k), "m%d", i);
        snprintf(v, sizeof(v), "%d", i * 3);
        RUN(cmd_rpush, "RPUSH", "biglist", k);
        RUN(cmd_sadd, "SADD", "bigset", k);
        RUN(cmd_sadd, "SADD", "bigintset", v); /* > 512: hashtable of integers */
        RUN(cmd_zadd, "ZADD", "bigzset", v, k);
        RUN(cmd_hset, "HSET", "bighash", k, v);
    }
    RUN(cmd_hset, "HSET", "hlongval", "f", big); /* value > 64: hashtable */
    harness_db = 3;
    RUN(cmd_set, "SET", "db3key", "x");
    RUN(cmd_zadd, "ZADD", "db3z", "1", big);
    harness_db = 0;
}

static const char *enc_of(struct shard *sh, int db, const char *key)
{
    struct entry *e = db_lookup(sh, &sh->db[db], key, strlen(key), LOOKUP_NOTOUCH, NULL);
    if (!e)
        return "missing";
    switch (entry_enc(e)) {
    case ENC_RAW: return "raw";
    case ENC_INT: return "int";
    case ENC_EMBSTR: return "embstr";
    case ENC_HT: return "hashtable";
    case ENC_LISTPACK: return "listpack";
    case ENC_INTSET: return "intset";
    case ENC_SKIPLIST: return "skiplist";
    case ENC_QUICKLIST: return "quicklist";
    }
    return "?";
}

static const char *const keys0[] = {"str", "int", "neg", "bigint", "i32", "notcanon", "long",
                                    "empty", "ttl", "list", "intset", "hset", "zlp", "hlp",
                                    "biglist", "bigset", "bigintset", "bigzset", "bighash",
                                    "hlongval", NULL};

static void same_dataset(struct shard *a, struct shard *b)
{
    unsigned char da[20], db[20];
    rdb_digest_dataset(&a, 1, da);
    rdb_digest_dataset(&b, 1, db);
    cr_assert(memcmp(da, db, 20) == 0, "digests differ");
    for (int d = 0; d < 16; d++)
        cr_assert_eq(db_size(&a->db[d]), db_size(&b->db[d]), "db %d size", d);
    for (int i = 0; keys0[i]; i++)
        cr_assert_str_eq(enc_of(a, 0, keys0[i]), enc_of(b, 0, keys0[i]), "encoding of %s",
                         keys0[i]);
}

static unsigned char *save(struct shard *sh, bool compress, bool checksum, size_t *len)
{
    struct rdb_save_opts o = {.compress = compress, .checksum = checksum, .now_ms = T0};
    return rdb_save_mem(&sh, 1, &o, len);
}

static int load(struct shard *sh, const unsigned char *buf, size_t len, char *err)
{
    struct rdb_load_opts o = {.now_ms = T0};
    return rdb_load_mem(buf, len, &sh, 1, &o, NULL, err, 256);
}

Test(rdb, round_trip_every_type_and_encoding)
{
    populate();
    cr_assert_str_eq(enc_of(s, 0, "bigzset"), "skiplist");
    cr_assert_str_eq(enc_of(s, 0, "intset"), "intset");
    cr_assert_str_eq(enc_of(s, 0, "bigintset"), "hashtable");
    cr_assert_str_eq(enc_of(s, 0, "hlongval"), "hashtable");
    for (int mode = 0; mode < 4; mode++) {
        size_t len;
        unsigned char *buf = save(s, mode & 1, mode & 2, &len);
        cr_assert(memcmp(buf, "REDIS0010", 9) == 0);
        struct shard *t = shard_new(1, 16);
        shard_tick(t, T0);
        char err[256];
        cr_assert_eq(load(t, buf, len, err), 0, "load failed: %s", err);
        same_dataset(s, t);
        struct entry *e = db_lookup(t, &t->db[0], "ttl", 3, LOOKUP_NOTOUCH, NULL);
        cr_assert_eq(entry_expire(e), 1900000000000LL);
        /* Saving what was loaded gives the same bytes (same order aside,
         * same size). */
        size_t len2;
        unsigned char *buf2 = save(t, mode & 1, mode & 2, &len2);
        cr_assert_eq(len, len2);
        free(buf2);
        shard_free(t);
        free(buf);
    }
}

Test(rdb, compression_shrinks_and_checksum_is_zero_when_off)
{
    populate();
    size_t lc, lu;
    unsigned char *c = save(s, true, false, &lc), *u = save(s, false, false, &lu);
    cr_assert(lc < lu);
    static const unsigned char zero[8] = {0};
    cr_assert(memcmp(c + lc - 8, zero, 8) == 0);
    free(c);
    free(u);
    unsigned char *k = save(s, false, true, &lu);
    cr_assert(memcmp(k + lu - 8, zero, 8) != 0);
    uint64_t crc = rdb_crc64(0, k, lu - 8), stored = 0;
    for (int i = 7; i >= 0; i--)
        stored = stored << 8 | k[lu - 8 + i];
    cr_assert_eq(crc, stored);
    free(k);
}

Test(rdb, expired_keys_are_skipped_on_load)
{
    RUN(cmd_set, "SET", "gone", "v");
    RUN(cmd_pexpireat, "PEXPIREAT", "gone", "1700000001000"); /* T0 + 1 s */
    RUN(cmd_set, "SET", "stay", "v");
    RUN(cmd_sadd, "SADD", "gone_set", "a");
    RUN(cmd_pexpireat, "PEXPIREAT", "gone_set", "1700000001000");
    /* Loaded 2 s later: both have expired by then. */
    size_t len;
    unsigned char *buf = save(s, true, true, &len);
    struct shard *t = shard_new(1, 16);
    struct rdb_load_stats st;
    struct rdb_load_opts o = {.now_ms = T0 + 2000};
    char err[256];
    cr_assert_eq(rdb_load_mem(buf, len, &t, 1, &o, &st, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(st.keys, 1);
    cr_assert_eq(st.expired, 2);
    cr_assert_eq(db_size(&t->db[0]), 1);
    shard_free(t);
    free(buf);
}

Test(rdb, duplicate_key_is_an_error_unless_merge)
{
    RUN(cmd_set, "SET", "k", "v");
    size_t len;
    unsigned char *buf = save(s, true, true, &len);
    char err[256];
    cr_assert_eq(load(s, buf, len, err), -1);
    cr_assert(strstr(err, "Duplicate key"), "%s", err);
    struct rdb_load_opts o = {.now_ms = T0, .allow_dup = true};
    cr_assert_eq(rdb_load_mem(buf, len, &s, 1, &o, NULL, err, sizeof(err)), 0);
    free(buf);
}

/* Shards routed by the first byte of the key: each key lands on its own
 * shard and the file written from several shards holds them all. */
static struct shard *two[2];
static struct shard *route2(const void *key, size_t len)
{
    return two[len ? ((const unsigned char *)key)[0] & 1 : 0];
}

Test(rdb, several_shards_write_one_file_and_load_routed)
{
    populate();
    size_t len;
    unsigned char *buf = save(s, true, true, &len);
    two[0] = shard_new(1, 16);
    two[1] = shard_new(2, 16);
    struct rdb_load_opts o = {.now_ms = T0, .route = route2};
    char err[256];
    cr_assert_eq(rdb_load_mem(buf, len, two, 2, &o, NULL, err, sizeof(err)), 0, "%s", err);
    cr_assert(db_size(&two[0]->db[0]) > 0 && db_size(&two[1]->db[0]) > 0);
    unsigned char d1[20], d2[20];
    rdb_digest_dataset(&s, 1, d1);
    rdb_digest_dataset(two, 2, d2);
    cr_assert(memcmp(d1, d2, 20) == 0);
    size_t len2;
    struct rdb_save_opts so = {.compress = true, .checksum = true, .now_ms = T0};
    unsigned char *buf2 = rdb_save_mem(two, 2, &so, &len2);
    cr_assert_eq(len, len2);
    struct shard *t = shard_new(3, 16);
    cr_assert_eq(load(t, buf2, len2, err), 0, "%s", err);
    same_dataset(s, t);
    shard_free(t);
    shard_free(two[0]);
    shard_free(two[1]);
    free(buf);
    free(buf2);
}

Test(rdb, digest_is_order_and_encoding_independent)
{
    RUN(cmd_sadd, "SADD", "a", "1", "2", "3");
    RUN(cmd_hset, "HSET", "h", "x", "1", "y", "2");
    unsigned char d1[20], d2[20];
    rdb_digest_dataset(&s, 1, d1);
    struct shard *t = shard_new(1, 16);
    struct shard *keep = s;
    s = t;
    RUN(cmd_hset, "HSET", "h", "y", "2", "x", "1");
    RUN(cmd_sadd, "SADD", "a", "3", "2", "1");
    rdb_digest_dataset(&s, 1, d2);
    s = keep;
    cr_assert(memcmp(d1, d2, 20) == 0);
    shard_free(t);
    unsigned char z[20] = {0}, e[20];
    struct shard *empty = shard_new(2, 16);
    rdb_digest_dataset(&empty, 1, e);
    cr_assert(memcmp(z, e, 20) == 0);
    shard_free(empty);
}

/* ---- hostile input ---- */

static int try_load(const unsigned char *buf, size_t len)
{
    struct shard *t = shard_new(1, 16);
    shard_tick(t, T0);
    char err[256];
    /* A copy of exactly len bytes so that reading past it would be caught
     * by the sanitizers / allocator. */
    unsigned char *copy = malloc(len ? len : 1);
    memcpy(copy, buf, len);
    int r = load(t, copy, len, err);
    if (r != 0)
        cr_assert(err[0] != '\0', "no message");
    free(copy);
    shard_free(t);
    return r;
}

Test(rdb, every_truncation_is_rejected)
{
    populate();
    size_t len;
    unsigned char *buf = save(s, true, true, &len);
    for (size_t n = 0; n < len; n++)
        cr_assert_eq(try_load(buf, n), -1, "prefix of %zu bytes loaded", n);
    cr_assert_eq(try_load(buf, len), 0);
    free(buf);
}

Test(rdb, every_single_byte_change_is_rejected_with_checksum)
{
    RUN(cmd_set, "SET", "str", "hello");
    RUN(cmd_rpush, "RPUSH", "list", "a", "1");
    RUN(cmd_sadd, "SADD", "intset", "1", "2");
    RUN(cmd_zadd, "ZADD", "z", "1", "a");
    RUN(cmd_hset, "HSET", "h", "f", "v");
    size_t len;
    unsigned char *buf = save(s, true, true, &len);
    for (size_t i = 0; i < len; i++) {
        unsigned char old = buf[i];
        buf[i] ^= 0x5a;
        cr_assert_eq(try_load(buf, len), -1, "change at %zu loaded", i);
        buf[i] = old;
    }
    free(buf);
}

Test(rdb, random_damage_without_checksum_never_crashes)
{
    populate();
    size_t len;
    unsigned char *buf = save(s, false, false, &len);
    unsigned char *w = malloc(len);
    srand(1234);
    int loaded = 0;
    for (int it = 0; it < 300; it++) {
        memcpy(w, buf, len);
        int flips = 1 + rand() % 4;
        for (int f = 0; f < flips; f++)
            w[(size_t)rand() % len] = (unsigned char)rand();
        loaded += try_load(w, len) == 0;
    }
    cr_log_info("%d of 300 damaged files still loaded", loaded);
    free(w);
    free(buf);
}

Test(rdb, small_damaged_files_of_every_type_never_crash)
{
    /* Small values of every encoding: a flip lands in a blob header, a
     * listpack entry or a length far more often than in a big file. */
    RUN(cmd_rpush, "RPUSH", "l", "a", "12", "-3");
    RUN(cmd_sadd, "SADD", "is", "1", "70000");
    RUN(cmd_sadd, "SADD", "hs", "a", "b");
    RUN(cmd_zadd, "ZADD", "z", "1", "a", "2.5", "b");
    RUN(cmd_hset, "HSET", "h", "f", "v", "g", "1");
    size_t len;
    unsigned char *buf = save(s, false, false, &len);
    unsigned char *w = malloc(len);
    for (size_t i = 9; i < len; i++)
        for (int v = 0; v < 256; v += 7) {
            memcpy(w, buf, len);
            w[i] = (unsigned char)v;
            try_load(w, len);
        }
    free(w);
    free(buf);
}

/* A file built by hand: header, then raw body bytes, EOF, no checksum. */
static size_t handmade(unsigned char *out, const void *body, size_t n)
{
    memcpy(out, "REDIS0010", 9);
    memcpy(out + 9, body, n);
    out[9 + n] = 0xFF;
    memset(out + 10 + n, 0, 8);
    return 18 + n;
}

Test(rdb, hostile_lengths_and_types_are_rejected)
{
    unsigned char f[256];
    char err[256];
    struct shard *t = shard_new(1, 16);
    struct rdb_load_opts o = {.now_ms = T0};
    /* a string claiming 2^64-1 bytes */
    const unsigned char huge_str[] = {0x00, 0x01, 'k', 0x81, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff};
    size_t n = handmade(f, huge_str, sizeof(huge_str));
    cr_assert_eq(rdb_load_mem(f, n, &t, 1, &o, NULL, err, sizeof(err)), -1);
    /* a set claiming 4 billion members */
    const unsigned char huge_set[] = {0x02, 0x01, 'k', 0x80, 0xff, 0xff, 0xff, 0xff};
    n = handmade(f, huge_set, sizeof(huge_set));
    cr_assert_eq(rdb_load_mem(f, n, &t, 1, &o, NULL, err, sizeof(err)), -1);
    cr_assert(strstr(err, "larger than the rest"), "%s", err);
    /* an LZF string claiming a 1 GB result from 2 bytes */
    const unsigned char lzf_bomb[] = {0x00, 0x01, 'k', 0xC3, 0x02, 0x80, 0x40,
                                      0x00, 0x00, 0x00, 0x00, 0x61};
    n = handmade(f, lzf_bomb, sizeof(lzf_bomb));
    cr_assert_eq(rdb_load_mem(f, n, &t, 1, &o, NULL, err, sizeof(err)), -1);
    /* an unknown type, a stream, a module */
    const unsigned char types[] = {8, 15, 19, 6, 7, 20, 200};
    for (size_t i = 0; i < sizeof(types); i++) {
        unsigned char body[] = {types[i], 0x01, 'k', 0x01, 'v'};
        n = handmade(f, body, sizeof(body));
        cr_assert_eq(rdb_load_mem(f, n, &t, 1, &o, NULL, err, sizeof(err)), -1);
    }
    /* SELECTDB beyond the configured databases */
    const unsigned char seldb[] = {0xFE, 0x20};
    n = handmade(f, seldb, sizeof(seldb));
    cr_assert_eq(rdb_load_mem(f, n, &t, 1, &o, NULL, err, sizeof(err)), -1);
    cr_assert(strstr(err, "databases"), "%s", err);
    /* wrong signature, future version */
    cr_assert_eq(rdb_load_mem((const unsigned char *)"GARBAGEGARBAGE", 14, &t, 1, &o, NULL, err,
                              sizeof(err)),
                 -1);
    cr_assert(strstr(err, "Wrong signature"), "%s", err);
    cr_assert_eq(rdb_load_mem((const unsigned char *)"REDIS0011\xff", 10, &t, 1, &o, NULL, err,
                              sizeof(err)),
                 -1);
    cr_assert(strstr(err, "version 11"), "%s", err);
    /* a zset with a NaN score, a set with a duplicate member */
    unsigned char nan_z[] = {0x05, 0x01, 'k', 0x01, 0x01, 'a', 0, 0, 0, 0, 0, 0, 0xf8, 0x7f};
    n = handmade(f, nan_z, sizeof(nan_z));
    cr_assert_eq(rdb_load_mem(f, n, &t, 1, &o, NULL, err, sizeof(err)), -1);
    cr_assert(strstr(err, "NAN"), "%s", err);
    const unsigned char dup_set[] = {0x02, 0x01, 'k', 0x02, 0x01, 'a', 0x01, 'a'};
    n = handmade(f, dup_set, sizeof(dup_set));
    cr_assert_eq(rdb_load_mem(f, n, &t, 1, &o, NULL, err, sizeof(err)), -1);
    cr_assert(strstr(err, "Duplicate"), "%s", err);
    cr_assert_eq(db_size(&t->db[0]), 0);
    shard_free(t);
}

Test(rdb, legacy_ziplist_and_zipmap_values_load)
{
    /* LIST_ZIPLIST with "ab" and 5 (4-bit immediate): zlbytes 17, tail 13,
     * len 2; entries: [prev 0][0x02 'a' 'b'] [prev 4][0xF6]; end. */
    const unsigned char zl[] = {17, 0, 0, 0, 14, 0, 0, 0, 2, 0, 0x00, 0x02, 'a', 'b',
                                4, 0xF6, 0xFF};
    unsigned char body[64], f[128];
    size_t b = 0;
    body[b++] = 10; /* RDB_TYPE_LIST_ZIPLIST */
    body[b++] = 1;
    body[b++] = 'l';
    body[b++] = sizeof(zl);
    memcpy(body + b, zl, sizeof(zl));
    b += sizeof(zl);
    /* HASH_ZIPMAP {f: vv}: zmlen 1, [1 'f'] [2 free 0 'v' 'v'] end */
    const unsigned char zm[] = {1, 1, 'f', 2, 0, 'v', 'v', 0xFF};
    body[b++] = 9;
    body[b++] = 1;
    body[b++] = 'h';
    body[b++] = sizeof(zm);
    memcpy(body + b, zm, sizeof(zm));
    b += sizeof(zm);
    size_t n = handmade(f, body, b);
    char err[256];
    cr_assert_eq(load(s, f, n, err), 0, "%s", err);
    EXPECT("*2\r\n$2\r\nab\r\n$1\r\n5\r\n", cmd_lrange, "LRANGE", "l", "0", "-1");
    EXPECT("$2\r\nvv\r\n", cmd_hget, "HGET", "h", "f");
    /* A wrong prevlen in the ziplist is refused. */
    f[9 + 4 + 14] = 5;
    cr_assert_eq(try_load(f, n), -1);
}

/* ---- a file built from pieces (the fork-less snapshot) ---- */

struct piece_keys {
    struct shard *sh;
    int db;
    struct rdb_piece *p;
    int n;
};

static int piece_key(void *arg, struct entry *e)
{
    struct piece_keys *k = arg;
    /* SELECTDB before every key: the loader must take repeats. */
    rdb_piece_selectdb(k->p, k->db);
    rdb_piece_key(k->p, k->sh, e, NULL);
    k->n++;
    return 0;
}

Test(rdb, a_file_of_pieces_with_repeated_selectdb_loads_the_same_dataset)
{
    populate();
    struct rdb_save_opts o = {.compress = true, .checksum = true, .now_ms = T0};
    struct rdb_piece p = {0};
    rdb_piece_header(&p, &o);
    /* RESIZEDB up front for every db, then keys of db 3 between keys of db
     * 0, as slices of different shards interleave. */
    rdb_piece_selectdb(&p, 0);
    rdb_piece_resizedb(&p, db_size(&s->db[0]), s->db[0].volatile_keys);
    rdb_piece_selectdb(&p, 3);
    rdb_piece_resizedb(&p, db_size(&s->db[3]), 0);
    struct piece_keys k3 = {s, 3, &p, 0}, k0 = {s, 0, &p, 0};
    dict_foreach(&s->db[3].keys, piece_key, &k3);
    dict_foreach(&s->db[0].keys, piece_key, &k0);
    cr_assert_eq(k3.n, 2);
    uint64_t crc = rdb_crc64(0, p.buf, p.len);
    rdb_piece_eof(&p, crc, true);
    struct shard *t = shard_new(1, 16);
    shard_tick(t, T0);
    char err[256];
    struct rdb_load_stats st;
    struct rdb_load_opts lo = {.now_ms = T0};
    cr_assert_eq(rdb_load_mem(p.buf, p.len, &t, 1, &lo, &st, err, sizeof(err)), 0, "%s", err);
    cr_assert(st.checksum_checked);
    same_dataset(s, t);
    /* A wrong checksum is still caught. */
    p.buf[p.len - 1] ^= 1;
    struct shard *u = shard_new(2, 16);
    cr_assert_neq(rdb_load_mem(p.buf, p.len, &u, 1, &lo, NULL, err, sizeof(err)), 0);
    shard_free(u);
    shard_free(t);
    free(p.buf);
}

/* As Redis's objectSetLRUOrLFU: a FREQ record sets the counter under an
 * LFU policy (as of the loader's clock: no decay at once), an IDLE record
 * the access time under any other policy; the other record is ignored. */
Test(rdb, freq_and_idle_records_restore_the_access_clock)
{
    int policy = store_evict.policy;
    RUN(cmd_set, "SET", "k", "v");
    struct entry *e = db_lookup(s, &s->db[0], "k", 1, LOOKUP_NOTOUCH, NULL);
    for (int lfu = 0; lfu < 2; lfu++) {
        store_evict.policy = lfu ? EVICT_ALLKEYS_LFU : EVICT_ALLKEYS_LRU;
        /* counter 77 last decremented now; or last used 500 s ago */
        entry_set_lru(e, lfu ? (s->lfu_minutes << 8) | 77 : s->lru_clock - 500);
        struct rdb_save_opts o = {.now_ms = T0, .lru_records = rdb_lru_records_for_policy()};
        size_t len;
        unsigned char *buf = rdb_save_mem(&s, 1, &o, &len);
        for (int load_lfu = 0; load_lfu < 2; load_lfu++) {
            store_evict.policy = load_lfu ? EVICT_ALLKEYS_LFU : EVICT_NOEVICTION;
            struct shard *t = shard_new(1, 16);
            shard_tick(t, T0 + 3600 * 1000); /* an hour later */
            char err[256];
            cr_assert_eq(load(t, buf, len, err), 0, "load failed: %s", err);
            struct entry *f = db_lookup(t, &t->db[0], "k", 1, LOOKUP_NOTOUCH, NULL);
            if (lfu && load_lfu)
                cr_assert_eq(store_lfu_freq(t, f), 77);
            else if (!lfu && !load_lfu)
                cr_assert_eq(t->lru_clock - entry_lru(f), 500);
            else if (load_lfu) /* no FREQ record: a new key's counter */
                cr_assert_eq(store_lfu_freq(t, f), 5);
            else /* no IDLE record: used at the load */
                cr_assert_eq(entry_lru(f), t->lru_clock);
            shard_free(t);
        }
        free(buf);
    }
    store_evict.policy = policy;
}
