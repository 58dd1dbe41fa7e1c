/* Shared helpers for the Criterion unit tests of store commands: run one
 * command against a shard and get its reply as raw RESP text.
 *
 *   struct shard *s = shard_new(0, 16);
 *   cr_assert_str_eq(run(s, cmd_set, 3, "SET", "k", "v"), "+OK\r\n");
 *
 * Arguments are C strings; use runv() for binary arguments. The returned
 * string is owned by the harness and valid until the next call.
 */
#ifndef SLUICE_TEST_HARNESS_H
#define SLUICE_TEST_HARNESS_H

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static char *harness_last;
static size_t harness_last_len;
static int harness_proto = 2;
static int harness_db = 0;

/* The reply's bytes as a string in harness_last (the reply is freed). */
static inline const char *harness_take(struct reply *out)
{
    free(harness_last);
    harness_last = malloc(out->bytes + 1);
    harness_last_len = 0;
    for (struct reply_chunk *ch = out->head; ch; ch = ch->next) {
        memcpy(harness_last + harness_last_len, ch->data + ch->off, ch->len - ch->off);
        harness_last_len += ch->len - ch->off;
    }
    harness_last[harness_last_len] = '\0';
    reply_free(out);
    return harness_last;
}

static inline const char *runv(struct shard *s, void (*fn)(struct cmd_ctx *), int argc,
                               const struct resp_arg *argv)
{
    struct reply out;
    struct cmd_ctx c = {
        .shard = s, .db = &s->db[harness_db], .dbid = harness_db,
        .argc = argc, .argv = argv, .out = &out,
    };
    reply_init(&out, harness_proto);
    fn(&c);
    return harness_take(&out);
}

static inline const char *run(struct shard *sh, void (*fn)(struct cmd_ctx *), int argc, ...)
{
    struct resp_arg argv[64];
    va_list ap;
    if (argc > 64)
        argc = 64; /* use runv() for longer commands */
    va_start(ap, argc);
    for (int i = 0; i < argc && i < 64; i++) {
        argv[i].ptr = va_arg(ap, const char *);
        argv[i].len = strlen(argv[i].ptr);
    }
    va_end(ap);
    return runv(sh, fn, argc, argv);
}

/* A fresh 16-db shard per test, its clock at T0 (ms), defaults restored
 * afterwards: use as TestSuite(x, .init = harness_setup, .fini = harness_teardown). */
#define T0 1700000000000LL

static struct shard *s __attribute__((unused));

static inline void harness_setup(void)
{
    s = shard_new(0, 16);
    shard_tick(s, T0);
    harness_proto = 2;
    harness_db = 0;
}

static inline void harness_teardown(void)
{
    shard_free(s);
    store_max_string = 512LL * 1024 * 1024;
    harness_proto = 2;
    harness_db = 0;
}

/* Run a command on the test's shard, argc counted from the arguments. */
#define RUN(fn, ...)                                                                               \
    run(s, fn, (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)), __VA_ARGS__)
#define EXPECT(reply, fn, ...) cr_assert_str_eq(RUN(fn, __VA_ARGS__), reply)

/* The last reply equals a literal that may hold NULs. */
#define ASSERT_LAST_BIN(lit)                                                                       \
    do {                                                                                           \
        cr_assert_eq(harness_last_len, sizeof(lit) - 1, "reply length %zu", harness_last_len);     \
        cr_assert(memcmp(harness_last, lit, sizeof(lit) - 1) == 0);                                \
    } while (0)

#endif
