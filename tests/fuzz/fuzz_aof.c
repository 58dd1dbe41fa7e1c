/* libFuzzer target for the append-only file's formats (store/aof.c): the
 * same bytes go to the manifest parser and to the command-stream parser.
 *  - manifest: parse returns 0 or -1 with a message; what parses formats
 *    to a text that parses again and formats to the same text (unless
 *    quoting made a line longer than the reader's 1024 bytes);
 *  - commands: the walk ends with a known status, reports offsets inside
 *    the input, hands out arguments inside the input (ASan: the input is
 *    copied to an exact-size allocation), and re-walking the input cut at
 *    valid_up_to never runs into a format error there (it ends cleanly or,
 *    for a transaction left open, truncated again at the same place).
 * The walk also runs after a fake 9-byte preamble when the input starts
 * with "REDIS". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aof.h"
#include "resp.h"

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);    \
            abort();                                                                    \
        }                                                                               \
    } while (0)

struct walk {
    const char *buf;
    size_t len;
    unsigned long long applied, checked;
};

static int on_check(void *arg, int argc, const struct resp_arg *argv)
{
    struct walk *w = arg;
    CHECK(argc >= 1);
    for (int i = 0; i < argc; i++)
        CHECK(argv[i].ptr >= w->buf && argv[i].len <= w->len &&
              argv[i].ptr + argv[i].len <= w->buf + w->len);
    w->checked++;
    /* Stop on one name, as the loader stops on an unknown command. */
    return argv[0].len == 4 && !memcmp(argv[0].ptr, "STOP", 4) ? -1 : 0;
}

static int on_apply(void *arg, int argc, const struct resp_arg *argv)
{
    struct walk *w = arg;
    CHECK(argc >= 1);
    volatile unsigned char sink = 0;
    for (int i = 0; i < argc; i++) {
        CHECK(argv[i].ptr >= w->buf && argv[i].ptr + argv[i].len <= w->buf + w->len);
        if (argv[i].len)
            sink ^= (unsigned char)(argv[i].ptr[0] ^ argv[i].ptr[argv[i].len - 1]);
    }
    (void)sink;
    w->applied++;
    return 0;
}

static void fuzz_manifest(const char *buf, size_t len)
{
    struct aof_manifest m;
    char err[256];
    if (aof_manifest_parse(buf, len, &m, err, sizeof(err)) != 0) {
        CHECK(err[0]);
        CHECK(!m.base && !m.nincr && !m.nhist);
        return;
    }
    char *text = aof_manifest_format(&m);
    /* Quoting can make a line longer than Redis's 1024-byte line reader
     * takes (as with Redis): such a manifest is not expected to read back. */
    size_t longest = 0;
    for (const char *p = text, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if ((size_t)(nl - p) + 1 > longest)
            longest = (size_t)(nl - p) + 1;
    }
    if (longest > 1024) {
        free(text);
        aof_manifest_free(&m);
        return;
    }
    struct aof_manifest again;
    CHECK(aof_manifest_parse(text, strlen(text), &again, err, sizeof(err)) == 0 ||
          (!m.base && !m.nincr && !m.nhist)); /* an all-comment manifest formats to "" */
    if (m.base || m.nincr || m.nhist) {
        char *text2 = aof_manifest_format(&again);
        CHECK(!strcmp(text, text2));
        CHECK(again.nincr == m.nincr && again.nhist == m.nhist && !again.base == !m.base);
        free(text2);
        aof_manifest_free(&again);
    }
    free(text);
    aof_manifest_free(&m);
}

static void fuzz_stream(const char *buf, size_t len, size_t start)
{
    struct walk w = {.buf = buf, .len = len};
    struct aof_parse_ops ops = {.check = on_check, .apply = on_apply, .arg = &w};
    struct aof_parse_result r;
    enum aof_parse_status st = aof_parse_commands(buf, len, start, &ops, &r);
    CHECK(st == r.status);
    CHECK(st == AOF_PARSE_OK || st == AOF_PARSE_TRUNCATED || st == AOF_PARSE_BAD_FORMAT ||
          st == AOF_PARSE_STOPPED);
    CHECK(r.valid_up_to >= start && r.valid_up_to <= len);
    CHECK(r.commands == w.applied);
    CHECK(w.applied <= w.checked);
    if (st != AOF_PARSE_OK)
        CHECK(r.error_off >= start && r.error_off <= len);
    if (st == AOF_PARSE_BAD_FORMAT || st == AOF_PARSE_STOPPED)
        CHECK(r.error_off >= r.valid_up_to);
    if (st == AOF_PARSE_TRUNCATED) {
        /* What aof-load-truncated keeps loads without a format error. */
        struct walk w2 = {.buf = buf, .len = r.valid_up_to};
        struct aof_parse_ops ops2 = {.check = on_check, .apply = on_apply, .arg = &w2};
        struct aof_parse_result r2;
        aof_parse_commands(buf, r.valid_up_to, start, &ops2, &r2);
        CHECK(r2.status == AOF_PARSE_OK || r2.status == AOF_PARSE_STOPPED ||
              (r2.status == AOF_PARSE_TRUNCATED && r2.multi_reverted));
        CHECK(r2.valid_up_to <= r.valid_up_to);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    fuzz_manifest(buf, size);
    fuzz_stream(buf, size, 0);
    if (aof_has_rdb_preamble(buf, size) && size >= 9)
        fuzz_stream(buf, size, 9);
    free(buf);
    return 0;
}
