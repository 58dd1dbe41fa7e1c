/* Unit tests of store/listpack.c: the exact bytes of every encoding at its
 * boundaries (the bytes Redis 7 writes), round trips, edits in the middle,
 * backwards iteration, random operations against a plain array model, and
 * the validator against truncated and corrupted buffers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listpack.h"

/* The element at p as text, into buf. */
static const char *text(unsigned char *p, char *buf, uint32_t *len)
{
    char ib[LP_INTBUF_SIZE];
    const unsigned char *s = lp_get_str(p, len, ib);
    memcpy(buf, s, *len);
    buf[*len] = '\0';
    return buf;
}

static void check_valid(unsigned char *lp)
{
    cr_assert(lp_validate(lp, lp_bytes(lp), NULL, NULL), "listpack fails validation");
}

/* Append one string and check the entry's total size and that it reads back
 * as an integer or a string as expected. */
static void roundtrip(const char *s, size_t len, uint32_t entry_size, bool is_int)
{
    unsigned char *lp = lp_new(0);
    lp = lp_append(lp, s, len);
    unsigned char *p = lp_first(lp);
    cr_assert_eq(lp_entry_size(p), entry_size, "'%.*s' (%zu bytes): entry %u, want %u",
                 (int)(len > 30 ? 30 : len), s, len, lp_entry_size(p), entry_size);
    cr_assert_eq(lp_bytes(lp), LP_EMPTY_BYTES + entry_size);
    uint32_t l;
    long long v;
    const unsigned char *got = lp_get(p, &l, &v);
    cr_assert_eq(got == NULL, is_int, "'%.*s' int-ness", (int)(len > 30 ? 30 : len), s);
    char ib[LP_INTBUF_SIZE];
    got = lp_get_str(p, &l, ib);
    cr_assert_eq(l, len);
    cr_assert(memcmp(got, s, len) == 0);
    cr_assert(lp_eq(p, s, len));
    cr_assert_eq(lp_last(lp), p);
    cr_assert_null(lp_next(lp, p));
    cr_assert_null(lp_prev(lp, p));
    check_valid(lp);
    lp_free(lp);
}

static void int_roundtrip(long long v, uint32_t entry_size)
{
    char b[LP_INTBUF_SIZE];
    int n = lp_fmt_int(v, b);
    char ref[32];
    snprintf(ref, sizeof(ref), "%lld", v);
    cr_assert_str_eq(b, ref);
    roundtrip(b, (size_t)n, entry_size, true);
    /* And through the integer API. */
    unsigned char *lp = lp_append_int(lp_new(0), v);
    long long got;
    cr_assert(lp_get_int(lp_first(lp), &got));
    cr_assert_eq(got, v);
    cr_assert_eq(lp_entry_size(lp_first(lp)), entry_size);
    lp_free(lp);
}

Test(listpack, empty_listpack_is_seven_bytes)
{
    unsigned char *lp = lp_new(0);
    unsigned char want[] = {7, 0, 0, 0, 0, 0, 0xFF};
    cr_assert_eq(lp_bytes(lp), 7);
    cr_assert(memcmp(lp, want, 7) == 0);
    cr_assert_eq(lp_length(lp), 0);
    cr_assert_null(lp_first(lp));
    cr_assert_null(lp_last(lp));
    cr_assert_null(lp_seek(lp, 0));
    cr_assert_null(lp_seek(lp, -1));
    check_valid(lp);
    lp_free(lp);
}

Test(listpack, integer_encodings_at_their_boundaries)
{
    /* entry size = encoding+data + 1 byte backlen */
    int_roundtrip(0, 2);
    int_roundtrip(127, 2);
    int_roundtrip(128, 3);
    int_roundtrip(-1, 3);
    int_roundtrip(4095, 3);
    int_roundtrip(-4096, 3);
    int_roundtrip(4096, 4);
    int_roundtrip(-4097, 4);
    int_roundtrip(32767, 4);
    int_roundtrip(-32768, 4);
    int_roundtrip(32768, 5);
    int_roundtrip(-32769, 5);
    int_roundtrip(8388607, 5);
    int_roundtrip(-8388608, 5);
    int_roundtrip(8388608, 6);
    int_roundtrip(-8388609, 6);
    int_roundtrip(2147483647LL, 6);
    int_roundtrip(-2147483648LL, 6);
    int_roundtrip(2147483648LL, 10);
    int_roundtrip(-2147483649LL, 10);
    int_roundtrip(INT64_MAX, 10);
    int_roundtrip(INT64_MIN, 10);
}

Test(listpack, integer_bytes_match_redis)
{
    struct {
        long long v;
        unsigned char enc[10];
        size_t n;
    } cases[] = {
        {5, {0x05, 0x01}, 2},
        {-1, {0xDF, 0xFF, 0x02}, 3},       /* 13-bit 0x1FFF */
        {4095, {0xCF, 0xFF, 0x02}, 3},
        {-4096, {0xD0, 0x00, 0x02}, 3},
        {-2, {0xDF, 0xFE, 0x02}, 3},
        {1000, {0xC3, 0xE8, 0x02}, 3},
        {32767, {0xF1, 0xFF, 0x7F, 0x03}, 4},
        {-32768, {0xF1, 0x00, 0x80, 0x03}, 4},
        {8388607, {0xF2, 0xFF, 0xFF, 0x7F, 0x04}, 5},
        {-8388608, {0xF2, 0x00, 0x00, 0x80, 0x04}, 5},
        {2147483647LL, {0xF3, 0xFF, 0xFF, 0xFF, 0x7F, 0x05}, 6},
        {-2147483648LL, {0xF3, 0x00, 0x00, 0x00, 0x80, 0x05}, 6},
        {INT64_MIN, {0xF4, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x09}, 10},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned char *lp = lp_append_int(lp_new(0), cases[i].v);
        cr_assert_eq(lp_bytes(lp), 7 + cases[i].n, "v=%lld", cases[i].v);
        cr_assert(memcmp(lp + 6, cases[i].enc, cases[i].n) == 0, "bytes of %lld", cases[i].v);
        cr_assert_eq(lp[6 + cases[i].n], 0xFF);
        lp_free(lp);
    }
}

Test(listpack, string_encodings_at_their_boundaries)
{
    static char big[70000];
    memset(big, 'x', sizeof(big));
    roundtrip("", 0, 2, false);
    roundtrip(big, 63, 1 + 63 + 1, false);
    roundtrip(big, 64, 2 + 64 + 1, false);    /* 66: backlen 1 byte */
    roundtrip(big, 125, 2 + 125 + 1, false);  /* enc 127: 1-byte backlen */
    roundtrip(big, 126, 2 + 126 + 2, false);  /* enc 128: 2-byte backlen */
    roundtrip(big, 4095, 2 + 4095 + 2, false);
    roundtrip(big, 4096, 5 + 4096 + 2, false);
    roundtrip(big, 16377, 5 + 16377 + 2, false); /* enc 16382 */
    roundtrip(big, 16378, 5 + 16378 + 3, false); /* enc 16383: Redis uses 3 */
    roundtrip(big, 70000, 5 + 70000 + 3, false);
}

Test(listpack, string_bytes_match_redis)
{
    unsigned char *lp = lp_append(lp_new(0), "ab", 2);
    unsigned char want[] = {9 + 1, 0, 0, 0, 1, 0, 0x82, 'a', 'b', 3, 0xFF};
    want[0] = sizeof(want);
    cr_assert_eq(lp_bytes(lp), sizeof(want));
    cr_assert(memcmp(lp, want, sizeof(want)) == 0);
    lp_free(lp);

    static char big[200];
    memset(big, 'y', sizeof(big));
    lp = lp_append(lp_new(0), big, 200);
    /* 12-bit string header 0xE0|0, 200; enc 202 -> backlen {1, 202-128|128} */
    cr_assert_eq(lp[6], 0xE0);
    cr_assert_eq(lp[7], 200);
    cr_assert_eq(lp[6 + 202], 202 >> 7);
    cr_assert_eq(lp[6 + 203], (202 & 127) | 128);
    lp_free(lp);
}

Test(listpack, non_canonical_numbers_stay_strings)
{
    const char *strs[] = {"01", "+1", " 1", "1 ", "-0", "-", "1e3", "0x10", "1.5",
                          "9223372036854775808", "-9223372036854775809",
                          "123456789012345678901"};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        unsigned char *lp = lp_append(lp_new(0), strs[i], strlen(strs[i]));
        uint32_t l;
        cr_assert_not_null(lp_get(lp_first(lp), &l, NULL), "%s", strs[i]);
        cr_assert(lp_eq(lp_first(lp), strs[i], strlen(strs[i])));
        lp_free(lp);
    }
    unsigned char *lp = lp_append(lp_new(0), "-9223372036854775808", 20);
    cr_assert_null(lp_get(lp_first(lp), NULL, NULL));
    cr_assert(!lp_eq(lp_first(lp), "-9223372036854775807", 20));
    lp_free(lp);
}

Test(listpack, integer_elements_compare_by_text)
{
    unsigned char *lp = lp_new(0);
    lp = lp_append(lp, "12", 2);
    lp = lp_append(lp, "012", 3);
    unsigned char *p = lp_first(lp);
    cr_assert(lp_eq(p, "12", 2));
    cr_assert(!lp_eq(p, "012", 3));
    cr_assert(!lp_eq(p, "12 ", 3));
    p = lp_next(lp, p);
    cr_assert(lp_eq(p, "012", 3));
    cr_assert(!lp_eq(p, "12", 2));
    lp_free(lp);
}

Test(listpack, seek_iterate_and_iterate_backwards)
{
    unsigned char *lp = lp_new(0);
    char buf[64];
    for (int i = 0; i < 300; i++) {
        int n = snprintf(buf, sizeof(buf), i % 3 ? "s%d" : "%d", i * 1000 - 5000);
        lp = lp_append(lp, buf, (size_t)n);
    }
    cr_assert_eq(lp_length(lp), 300);
    int i = 0;
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p), i++) {
        int n = snprintf(buf, sizeof(buf), i % 3 ? "s%d" : "%d", i * 1000 - 5000);
        cr_assert(lp_eq(p, buf, (size_t)n));
        cr_assert_eq(lp_seek(lp, i), p);
        cr_assert_eq(lp_seek(lp, i - 300), p);
    }
    cr_assert_eq(i, 300);
    for (unsigned char *p = lp_last(lp); p; p = lp_prev(lp, p)) {
        i--;
        int n = snprintf(buf, sizeof(buf), i % 3 ? "s%d" : "%d", i * 1000 - 5000);
        cr_assert(lp_eq(p, buf, (size_t)n));
    }
    cr_assert_eq(i, 0);
    cr_assert_null(lp_seek(lp, 300));
    cr_assert_null(lp_seek(lp, -301));
    check_valid(lp);
    lp_free(lp);
}

Test(listpack, insert_replace_delete_in_the_middle)
{
    unsigned char *lp = lp_new(0);
    lp = lp_append(lp, "a", 1);
    lp = lp_append(lp, "c", 1);
    lp = lp_prepend_int(lp, 7);
    unsigned char *p = lp_seek(lp, 1), *np;
    lp = lp_insert(lp, p, "b", 1, LP_AFTER, &np);
    cr_assert(lp_eq(np, "b", 1));
    lp = lp_insert(lp, np, "x", 1, LP_BEFORE, &np);
    cr_assert(lp_eq(np, "x", 1));
    /* 7 a x b c */
    const char *want[] = {"7", "a", "x", "b", "c"};
    char buf[64];
    uint32_t l;
    int i = 0;
    for (p = lp_first(lp); p; p = lp_next(lp, p))
        cr_assert_str_eq(text(p, buf, &l), want[i++]);
    cr_assert_eq(lp_length(lp), 5);

    /* Replace with a longer value, then with an integer. */
    p = lp_seek(lp, 2);
    static char big[5000];
    memset(big, 'z', sizeof(big));
    lp = lp_replace(lp, &p, big, sizeof(big));
    cr_assert(lp_eq(p, big, sizeof(big)));
    cr_assert(lp_eq(lp_next(lp, p), "b", 1));
    cr_assert(lp_eq(lp_prev(lp, p), "a", 1));
    lp = lp_replace_int(lp, &p, -77);
    cr_assert(lp_eq(p, "-77", 3));
    cr_assert_eq(lp_length(lp), 5);
    check_valid(lp);

    /* Delete in the middle: next is returned. */
    lp = lp_delete(lp, p, &np);
    cr_assert(lp_eq(np, "b", 1));
    cr_assert_eq(lp_length(lp), 4);
    lp = lp_delete_range(lp, 1, 2); /* a b */
    cr_assert_eq(lp_length(lp), 2);
    cr_assert(lp_eq(lp_first(lp), "7", 1));
    cr_assert(lp_eq(lp_last(lp), "c", 1));
    lp = lp_delete_range(lp, -1, 100);
    cr_assert_eq(lp_length(lp), 1);
    lp = lp_delete_range(lp, 5, 1); /* out of range: nothing */
    cr_assert_eq(lp_length(lp), 1);
    lp = lp_delete(lp, lp_first(lp), &np);
    cr_assert_null(np);
    cr_assert_eq(lp_length(lp), 0);
    cr_assert_eq(lp_bytes(lp), 7);
    check_valid(lp);
    lp_free(lp);
}

Test(listpack, insert_data_taken_from_the_same_listpack)
{
    unsigned char *lp = lp_new(0);
    static char big[3000];
    memset(big, 'q', sizeof(big));
    lp = lp_append(lp, big, sizeof(big));
    uint32_t l;
    const unsigned char *s = lp_get(lp_first(lp), &l, NULL);
    for (int i = 0; i < 5; i++)
        lp = lp_prepend(lp, s = lp_get(lp_last(lp), &l, NULL), l);
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p))
        cr_assert(lp_eq(p, big, sizeof(big)));
    lp_free(lp);
}

Test(listpack, find_with_skip_compares_every_other_element)
{
    unsigned char *lp = lp_new(0);
    const char *kv[] = {"f1", "v1", "v1", "f1", "10", "x", "f3", "10"};
    for (int i = 0; i < 8; i++)
        lp = lp_append(lp, kv[i], strlen(kv[i]));
    unsigned char *p = lp_find(lp, lp_first(lp), "f1", 2, 1);
    cr_assert_eq(p, lp_seek(lp, 0));
    p = lp_find(lp, lp_first(lp), "v1", 2, 1); /* index 2 is a field slot */
    cr_assert_eq(p, lp_seek(lp, 2));
    p = lp_find(lp, lp_first(lp), "10", 2, 1);
    cr_assert_eq(p, lp_seek(lp, 4));
    cr_assert_null(lp_find(lp, lp_first(lp), "x", 1, 1));
    cr_assert_eq(lp_find(lp, lp_first(lp), "x", 1, 0), lp_seek(lp, 5));
    cr_assert_null(lp_find(lp, NULL, "x", 1, 0));
    lp_free(lp);
}

Test(listpack, count_header_becomes_unknown_past_65534)
{
    unsigned char *lp = lp_new(0);
    for (int i = 0; i < 65536; i++)
        lp = lp_append_int(lp, i & 127);
    cr_assert_eq(lp[4] | lp[5] << 8, LP_HDR_NUMELE_UNKNOWN);
    cr_assert_eq(lp_length(lp), 65536);
    check_valid(lp);
    lp = lp_delete_range(lp, 0, 10);
    cr_assert_eq(lp_length(lp), 65526);
    long long v;
    cr_assert(lp_get_int(lp_seek(lp, -1), &v));
    cr_assert_eq(v, 127);
    cr_assert(lp_get_int(lp_seek(lp, 65525), &v));
    cr_assert_eq(v, 127);
    lp = lp_delete_range(lp, 0, 1000);
    cr_assert_eq(lp_length(lp), 64526); /* counted, then cached again */
    cr_assert_eq(lp[4] | lp[5] << 8, 64526);
    check_valid(lp);
    lp_free(lp);
}

/* ---- random operations against an array model ---- */

struct model {
    char **v;
    size_t *len;
    size_t n;
};

static void rand_value(char *buf, size_t *len)
{
    switch (rand() % 6) {
    case 0: *len = (size_t)snprintf(buf, 64, "%d", rand() % 256 - 128); break;
    case 1: *len = (size_t)snprintf(buf, 64, "%lld", (long long)rand() * rand() * (rand() % 2 ? 1 : -1)); break;
    case 2: *len = (size_t)snprintf(buf, 64, "0%d", rand() % 100); break;
    case 3: *len = (size_t)(rand() % 80); memset(buf, 'a' + rand() % 26, *len); break;
    case 4: *len = (size_t)(rand() % 5000); memset(buf, 'A' + rand() % 26, *len); break;
    default: *len = (size_t)snprintf(buf, 64, "%d", rand() % 100000 - 50000); break;
    }
}

static void model_check(unsigned char *lp, struct model *m)
{
    cr_assert_eq(lp_length(lp), m->n);
    unsigned char *p = lp_first(lp);
    char ib[LP_INTBUF_SIZE];
    for (size_t i = 0; i < m->n; i++, p = lp_next(lp, p)) {
        cr_assert_not_null(p);
        uint32_t l;
        const unsigned char *s = lp_get_str(p, &l, ib);
        cr_assert_eq(l, m->len[i], "element %zu length %u vs %zu", i, l, m->len[i]);
        cr_assert(memcmp(s, m->v[i], l) == 0);
    }
    cr_assert_null(p);
    p = lp_last(lp);
    for (size_t i = m->n; i-- > 0; p = lp_prev(lp, p))
        cr_assert(lp_eq(p, m->v[i], m->len[i]));
    cr_assert_null(p);
    check_valid(lp);
}

Test(listpack, random_operations_match_an_array_model)
{
    srand(12345);
    struct model m = {NULL, NULL, 0};
    unsigned char *lp = lp_new(0);
    static char buf[6000];
    for (int op = 0; op < 3000; op++) {
        size_t len;
        int kind = rand() % 6;
        if (m.n == 0)
            kind = 0;
        size_t at = m.n ? (size_t)rand() % m.n : 0;
        if (kind <= 2) { /* insert before / after / append */
            rand_value(buf, &len);
            size_t pos;
            if (kind == 0) {
                lp = m.n ? lp_insert(lp, lp_seek(lp, (long)at), buf, len, LP_BEFORE, NULL)
                         : lp_append(lp, buf, len);
                pos = m.n ? at : 0;
            } else if (kind == 1) {
                lp = lp_insert(lp, lp_seek(lp, (long)at), buf, len, LP_AFTER, NULL);
                pos = at + 1;
            } else {
                lp = lp_append(lp, buf, len);
                pos = m.n;
            }
            m.v = realloc(m.v, (m.n + 1) * sizeof(*m.v));
            m.len = realloc(m.len, (m.n + 1) * sizeof(*m.len));
            memmove(m.v + pos + 1, m.v + pos, (m.n - pos) * sizeof(*m.v));
            memmove(m.len + pos + 1, m.len + pos, (m.n - pos) * sizeof(*m.len));
            m.v[pos] = malloc(len + 1);
            memcpy(m.v[pos], buf, len);
            m.len[pos] = len;
            m.n++;
        } else if (kind == 3) { /* replace */
            rand_value(buf, &len);
            unsigned char *p = lp_seek(lp, (long)at - (long)m.n);
            lp = lp_replace(lp, &p, buf, len);
            free(m.v[at]);
            m.v[at] = malloc(len + 1);
            memcpy(m.v[at], buf, len);
            m.len[at] = len;
        } else { /* delete a range */
            size_t num = (size_t)rand() % 4;
            if (at + num > m.n)
                num = m.n - at;
            lp = lp_delete_range(lp, (long)at, num);
            for (size_t i = at; i < at + num; i++)
                free(m.v[i]);
            memmove(m.v + at, m.v + at + num, (m.n - at - num) * sizeof(*m.v));
            memmove(m.len + at, m.len + at + num, (m.n - at - num) * sizeof(*m.len));
            m.n -= num;
        }
        if (op % 50 == 0)
            model_check(lp, &m);
    }
    model_check(lp, &m);
    for (size_t i = 0; i < m.n; i++)
        free(m.v[i]);
    free(m.v);
    free(m.len);
    lp_free(lp);
}

Test(listpack, random_pairs_come_from_the_listpack)
{
    unsigned char *lp = lp_new(0);
    char buf[32];
    for (int i = 0; i < 20; i++) {
        int n = snprintf(buf, sizeof(buf), "f%d", i);
        lp = lp_append(lp, buf, (size_t)n);
        lp = lp_append_int(lp, i);
    }
    struct lp_elem k[100], v[100];
    lp_random_pairs(lp, 100, k, v);
    for (int i = 0; i < 100; i++) {
        cr_assert_not_null(k[i].s);
        cr_assert_null(v[i].s);
        int n = snprintf(buf, sizeof(buf), "f%lld", v[i].ival);
        cr_assert_eq(k[i].len, (uint32_t)n);
        cr_assert(memcmp(k[i].s, buf, (size_t)n) == 0);
    }
    unsigned long got = lp_random_pairs_unique(lp, 15, k, v);
    cr_assert_eq(got, 15);
    for (unsigned long i = 1; i < got; i++)
        cr_assert_gt(v[i].ival, v[i - 1].ival, "unique picks are in order and distinct");
    cr_assert_eq(lp_random_pairs_unique(lp, 50, k, NULL), 20);
    lp_free(lp);
}

/* ---- validation ---- */

static unsigned char *sample(void)
{
    unsigned char *lp = lp_new(0);
    static char big[300];
    memset(big, 'b', sizeof(big));
    lp = lp_append(lp, "hello", 5);
    lp = lp_append_int(lp, 5);
    lp = lp_append_int(lp, -3000);
    lp = lp_append_int(lp, 100000);
    lp = lp_append_int(lp, 1LL << 40);
    lp = lp_append(lp, big, sizeof(big));
    lp = lp_append(lp, big, 70);
    return lp;
}

static bool count_cb(const unsigned char *p, void *ud)
{
    (void)p;
    (*(int *)ud)++;
    return true;
}

static bool reject_cb(const unsigned char *p, void *ud)
{
    (void)ud;
    return !lp_eq(p, "5", 1);
}

Test(listpack, validator_accepts_good_and_calls_back)
{
    unsigned char *lp = sample();
    int n = 0;
    cr_assert(lp_validate(lp, lp_bytes(lp), count_cb, &n));
    cr_assert_eq(n, 7);
    cr_assert(!lp_validate(lp, lp_bytes(lp), reject_cb, NULL));
    lp_free(lp);
}

Test(listpack, validator_rejects_truncated_buffers)
{
    unsigned char *lp = sample();
    size_t n = lp_bytes(lp);
    for (size_t cut = 0; cut < n; cut++) {
        /* A truncated copy in its own allocation so ASan/valgrind would see
         * any read past it; header patched to claim the cut size too. */
        unsigned char *t = malloc(cut ? cut : 1);
        memcpy(t, lp, cut);
        cr_assert(!lp_validate(t, cut, NULL, NULL), "cut at %zu accepted", cut);
        if (cut >= 7) {
            t[0] = cut & 0xff;
            t[1] = (cut >> 8) & 0xff;
            t[2] = t[3] = 0;
            t[cut - 1] = 0xFF;
            cr_assert(!lp_validate(t, cut, NULL, NULL), "patched cut at %zu accepted", cut);
        }
        free(t);
    }
    /* Wrong count in the header. */
    lp[4]++;
    cr_assert(!lp_validate(lp, n, NULL, NULL));
    lp[4] = 0xFF;
    lp[5] = 0xFF;
    cr_assert(lp_validate(lp, n, NULL, NULL), "unknown count is allowed");
    cr_assert(!lp_validate(NULL, 0, NULL, NULL));
    lp_free(lp);
}

Test(listpack, validator_survives_random_byte_flips)
{
    srand(777);
    unsigned char *lp = sample();
    size_t n = lp_bytes(lp);
    int accepted = 0;
    for (int round = 0; round < 20000; round++) {
        unsigned char *t = malloc(n);
        memcpy(t, lp, n);
        int flips = 1 + rand() % 3;
        for (int f = 0; f < flips; f++) {
            size_t at = 6 + (size_t)rand() % (n - 6);
            t[at] = rand() % 4 ? (unsigned char)rand() : t[at] ^ (unsigned char)(1 << (rand() % 8));
        }
        if (lp_validate(t, n, NULL, NULL)) {
            accepted++;
            /* Whatever is accepted must be walkable both ways. */
            unsigned long cnt = 0;
            for (unsigned char *p = lp_first(t); p; p = lp_next(t, p)) {
                uint32_t l;
                char ib[LP_INTBUF_SIZE];
                lp_get_str(p, &l, ib);
                cnt++;
            }
            cr_assert_eq(cnt, lp_length(t));
            for (unsigned char *p = lp_last(t); p; p = lp_prev(t, p))
                cnt--;
            cr_assert_eq(cnt, 0);
        }
        free(t);
    }
    /* Flips inside string data keep it valid, so some must pass. */
    cr_assert_gt(accepted, 0);
    lp_free(lp);
}

Test(listpack, safe_to_add_stops_at_one_gigabyte)
{
    unsigned char *lp = lp_new(0);
    cr_assert(lp_safe_to_add(lp, 1000));
    cr_assert(lp_safe_to_add(NULL, LP_SAFETY_SIZE));
    cr_assert(!lp_safe_to_add(NULL, LP_SAFETY_SIZE + 1));
    cr_assert(!lp_safe_to_add(lp, LP_SAFETY_SIZE));
    lp_free(lp);
}

/* Golden bytes: the listpack inside DUMP of a hash built by HSET with these
 * field/value pairs on redis-server 7.0.15 (rdbcompression no). Our
 * listpack built by appending the same strings must be identical. */
static void hexcmp(const char *const *elems, size_t n, const char *hex)
{
    unsigned char *lp = lp_new(0);
    for (size_t i = 0; i < n; i++)
        lp = lp_append(lp, elems[i], strlen(elems[i]));
    size_t len = strlen(hex) / 2;
    cr_assert_eq(lp_bytes(lp), len, "size %zu vs redis %zu", lp_bytes(lp), len);
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        cr_assert_eq(lp[i], v, "byte %zu: %02x vs redis %02x", i, lp[i], v);
    }
    lp_free(lp);
}

Test(listpack, bytes_equal_redis_dump_payloads)
{
    const char *a[] = {"f", "0", "g", "127", "h", "128", "i", "-1",
                       "j", "4095", "k", "-4096", "l", "4096", "m", "-4097"};
    hexcmp(a, 16,
           "37000000100081660200018167027f01816802c08002816902dfff02816a02cfff02816b02d000028"
           "16c02f1001003816d02f1ffef03ff");
    const char *b[] = {"a", "32767", "b", "-32768", "c", "32768", "d", "-32769",
                       "e", "8388607", "f", "-8388608", "g", "8388608", "h", "-8388609"};
    hexcmp(b, 16,
           "470000001000816102f1ff7f03816202f1008003816302f200800004816402f2ff7fff04816502f2ff"
           "ff7f04816602f200008004816702f30000800005816802f3ffff7fff05ff");
    const char *c[] = {"a", "2147483647", "b", "-2147483648", "c", "2147483648",
                       "d", "-2147483649", "e", "9223372036854775807",
                       "f", "-9223372036854775808"};
    hexcmp(c, 12,
           "4d0000000c00816102f3ffffff7f05816202f30000008005816302f4000000800000000009816402f4"
           "ffffff7fffffffff09816502f4ffffffffffffff7f09816602f4000000000000008009ff");
    const char *d[] = {"a", "9223372036854775808", "b", "01", "c", "-0",
                       "d", "+1", "e", "1.5", "f", ""};
    hexcmp(d, 12,
           "410000000c0081610293393232333337323033363835343737353830381481620282303103816302"
           "822d3003816402822b310381650283312e35048166028001ff");
}
