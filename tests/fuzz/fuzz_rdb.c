/* libFuzzer target for the RDB loader (store/rdb.c): any bytes, after the
 * fixed "REDIS00xx" header the fuzzer may also change, are loaded into two
 * shards routed by the key's first byte. The loader must return 0 or -1
 * with a message, never read outside the input (ASan: the input is copied
 * to an exact-size allocation) and leave consistent shards: whatever
 * loaded can be saved again, and that file loads again into fresh shards
 * with the same DEBUG DIGEST. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdb.h"

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);    \
            abort();                                                                    \
        }                                                                               \
    } while (0)

static struct shard *two[2];

static struct shard *route(const void *key, size_t len)
{
    return two[len ? ((const unsigned char *)key)[0] & 1 : 0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    two[0] = shard_new(0, 4);
    two[1] = shard_new(1, 4);
    char err[256];
    struct rdb_load_opts o = {.route = route, .now_ms = 1700000000000LL};
    int r = rdb_load_mem(buf, size, two, 2, &o, NULL, err, sizeof(err));
    CHECK(r == 0 || r == -1);
    if (r == -1)
        CHECK(err[0] != '\0');
    if (r == 0) {
        struct rdb_save_opts so = {.compress = true, .checksum = true};
        size_t len;
        unsigned char *again = rdb_save_mem(two, 2, &so, &len);
        struct shard *t = shard_new(2, 4);
        struct rdb_load_opts o2 = {.now_ms = 1700000000000LL};
        CHECK(rdb_load_mem(again, len, &t, 1, &o2, NULL, err, sizeof(err)) == 0);
        unsigned char d1[20], d2[20];
        rdb_digest_dataset(two, 2, d1);
        rdb_digest_dataset(&t, 1, d2);
        CHECK(memcmp(d1, d2, 20) == 0);
        shard_free(t);
        free(again);
    }
    shard_free(two[0]);
    shard_free(two[1]);
    free(buf);
    return 0;
}
