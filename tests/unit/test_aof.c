/* Unit tests of store/aof.c: the manifest is parsed and formatted as
 * Redis 7.0 does (round trips, quoting, comments, unknown keys) and every
 * malformed manifest Redis refuses is refused with Redis's message; the
 * command-stream parser ends cleanly, truncated or on a bad format at the
 * exact offsets Redis's loader would, skips annotations and applies a
 * transaction only at its EXEC (reverting one without EXEC). The base in
 * commands (aof_rewrite.c) has Redis 7.0's bytes: SELECT, SET, PEXPIREAT
 * after the key, at most 64 elements a command, scores as %.17g. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aof.h"
#include "harness.h"
#include "rdb.h"
#include "resp.h"

TestSuite(aof_manifest);
TestSuite(aof_parse);

/* ---- manifest ---- */

static int parse(const char *text, struct aof_manifest *m, char *err)
{
    return aof_manifest_parse(text, strlen(text), m, err, 512);
}

static void assert_rejects(const char *text, const char *msg)
{
    struct aof_manifest m;
    char err[512] = "";
    cr_assert_eq(parse(text, &m, err), -1, "accepted: %s", text);
    cr_assert(strstr(err, msg), "'%s': got '%s', want '%s'", text, err, msg);
    cr_assert_null(m.base);
    cr_assert_eq(m.nincr, 0);
}

Test(aof_manifest, parses_redis_example_and_formats_it_back_byte_for_byte)
{
    const char *text = "file appendonly.aof.2.base.rdb seq 2 type b\n"
                       "file appendonly.aof.1.incr.aof seq 1 type h\n"
                       "file appendonly.aof.2.incr.aof seq 2 type h\n"
                       "file appendonly.aof.4.incr.aof seq 4 type i\n"
                       "file appendonly.aof.5.incr.aof seq 5 type i\n";
    struct aof_manifest m;
    char err[512];
    cr_assert_eq(parse(text, &m, err), 0, "%s", err);
    cr_assert_str_eq(m.base->name, "appendonly.aof.2.base.rdb");
    cr_assert_eq(m.base->seq, 2);
    cr_assert_eq(m.base->type, 'b');
    cr_assert_eq(m.nhist, 2);
    cr_assert_eq(m.nincr, 2);
    cr_assert_str_eq(m.incr[1].name, "appendonly.aof.5.incr.aof");
    cr_assert_eq(m.curr_base_seq, 2);
    cr_assert_eq(m.curr_incr_seq, 5);
    char *out = aof_manifest_format(&m);
    cr_assert_str_eq(out, text);
    free(out);
    aof_manifest_free(&m);
}

Test(aof_manifest, format_puts_base_then_history_then_incr)
{
    struct aof_file_info incr[] = {{"i.7", 7, 'i'}}, hist[] = {{"h.3", 3, 'h'}};
    struct aof_file_info base = {"b.4", 4, 'b'};
    struct aof_manifest m = {.base = &base, .incr = incr, .nincr = 1, .hist = hist, .nhist = 1};
    char *out = aof_manifest_format(&m);
    cr_assert_str_eq(out, "file b.4 seq 4 type b\nfile h.3 seq 3 type h\nfile i.7 seq 7 type i\n");
    free(out);
    struct aof_manifest empty = {0};
    out = aof_manifest_format(&empty);
    cr_assert_str_eq(out, "");
    free(out);
}

Test(aof_manifest, names_that_need_it_are_quoted_as_sdscatrepr_and_read_back)
{
    const char *names[] = {"a b", "q\"uote", "nl\nx", "tab\tcr\r",
                           "bell\a\b", "\x01\x7f\xff", "plain.aof"};
    const char *want[] = {"\"a b\"", "\"q\\\"uote\"", "\"nl\\nx\"",
                          "\"tab\\tcr\\r\"", "\"bell\\a\\b\"", "\"\\x01\\x7f\\xff\"", "plain.aof"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct aof_file_info fi = {(char *)names[i], 1, 'i'};
        struct aof_manifest m = {.incr = &fi, .nincr = 1};
        char *out = aof_manifest_format(&m);
        char line[128];
        snprintf(line, sizeof(line), "file %s seq 1 type i\n", want[i]);
        cr_assert_str_eq(out, line);
        struct aof_manifest back;
        char err[512];
        cr_assert_eq(parse(out, &back, err), 0, "%s: %s", out, err);
        cr_assert_eq(back.nincr, 1);
        cr_assert_str_eq(back.incr[0].name, names[i]);
        aof_manifest_free(&back);
        free(out);
    }
    /* A backslash is quoted too, but no manifest may name such a file
     * (Redis's pathIsBaseName). */
    struct aof_file_info fi = {"back\\slash", 1, 'i'};
    struct aof_manifest m = {.incr = &fi, .nincr = 1};
    char *out = aof_manifest_format(&m);
    cr_assert_str_eq(out, "file \"back\\\\slash\" seq 1 type i\n");
    free(out);
}

Test(aof_manifest, comments_unknown_keys_case_and_extra_blanks_are_accepted)
{
    const char *text = "# written by a future version\n"
                       "FILE x.base.rdb SEQ 3 TYPE b future-key 42\n"
                       "  file 'x.incr' seq 4 type i \t\r\n"
                       "#file ignored seq 9 type i\n";
    struct aof_manifest m;
    char err[512];
    cr_assert_eq(parse(text, &m, err), 0, "%s", err);
    cr_assert_str_eq(m.base->name, "x.base.rdb");
    cr_assert_eq(m.nincr, 1);
    cr_assert_str_eq(m.incr[0].name, "x.incr");
    aof_manifest_free(&m);
    /* Only comments: no file, but not "empty" (Redis counts the lines). */
    cr_assert_eq(parse("# nothing\n", &m, err), 0);
    cr_assert_null(m.base);
    cr_assert_eq(m.nincr, 0);
    aof_manifest_free(&m);
    /* A comment line needs no newline at the end. */
    cr_assert_eq(parse("file a seq 1 type i\n# end", &m, err), 0);
    aof_manifest_free(&m);
}

Test(aof_manifest, seq_is_read_as_atoll_and_type_is_the_first_byte)
{
    struct aof_manifest m;
    char err[512];
    cr_assert_eq(parse("file a seq 12abc type bogus\n", &m, err), 0, "%s", err);
    cr_assert_eq(m.base->seq, 12);
    cr_assert_eq(m.base->type, 'b');
    aof_manifest_free(&m);
    cr_assert_eq(parse("file a seq -3 type h\n", &m, err), 0, "%s", err);
    cr_assert_eq(m.nhist, 1);
    cr_assert_eq(m.hist[0].seq, -3);
    aof_manifest_free(&m);
}

Test(aof_manifest, every_malformed_manifest_is_refused_with_redis_message)
{
    assert_rejects("", "Found an empty AOF manifest");
    assert_rejects("\n", "Invalid AOF manifest file format");
    assert_rejects("file a seq 1 type b\n   \r\n", "Invalid AOF manifest file format (line 2");
    assert_rejects("file a seq 1 type b", "The AOF manifest file contains too long line");
    char longline[1200];
    memset(longline, 'x', sizeof(longline));
    memcpy(longline, "file ", 5);
    strcpy(longline + 1100, " seq 1 type b\n");
    assert_rejects(longline, "The AOF manifest file contains too long line");
    assert_rejects("file a seq 1\n", "Invalid AOF manifest file format");
    assert_rejects("file a seq 1 type\n", "Invalid AOF manifest file format");
    assert_rejects("file a seq 1 type b x\n", "Invalid AOF manifest file format");
    assert_rejects("file a seq 0 type b\n", "Invalid AOF manifest file format");
    assert_rejects("file a seq abc type b\n", "Invalid AOF manifest file format");
    assert_rejects("file a seq 1 typo b\n", "Invalid AOF manifest file format");
    assert_rejects("name a seq 1 type b\n", "Invalid AOF manifest file format");
    assert_rejects("file a seq 1 type \"\"\n", "Invalid AOF manifest file format");
    assert_rejects("file \"a seq 1 type b\n", "Invalid AOF manifest file format");
    assert_rejects("file \"a\"x seq 1 type b\n", "Invalid AOF manifest file format");
    assert_rejects("file dir/a seq 1 type b\n", "File can't be a path, just a filename");
    assert_rejects("file ..\\a seq 1 type b\n", "File can't be a path, just a filename");
    assert_rejects("file a seq 1 type b\nfile b seq 2 type b\n",
                   "Found duplicate base file information (line 2: 'file b seq 2 type b')");
    assert_rejects("file a seq 2 type i\nfile b seq 2 type i\n",
                   "Found a non-monotonic sequence number");
    assert_rejects("file a seq -1 type i\n", "Found a non-monotonic sequence number");
    assert_rejects("file a seq 1 type x\n", "Unknown AOF file type");
    /* A NUL ends the line for Redis (a C string): no newline is seen. */
    assert_rejects("file a seq 1 type b\0\n", "too long line");
    struct aof_manifest m;
    char err[512];
    cr_assert_eq(aof_manifest_parse("file a seq 1 type b\0\n", 21, &m, err, sizeof(err)), -1);
}

Test(aof_manifest, file_names)
{
    char *s = aof_base_name("appendonly.aof", 3, true);
    cr_assert_str_eq(s, "appendonly.aof.3.base.rdb");
    free(s);
    s = aof_base_name("x", 1, false);
    cr_assert_str_eq(s, "x.1.base.aof");
    free(s);
    s = aof_incr_name("appendonly.aof", 12);
    cr_assert_str_eq(s, "appendonly.aof.12.incr.aof");
    free(s);
    s = aof_manifest_name("appendonly.aof");
    cr_assert_str_eq(s, "appendonly.aof.manifest");
    free(s);
}

Test(aof_manifest, persist_then_load_round_trips_and_a_missing_manifest_is_no_aof)
{
    char dir[] = "/tmp/sluice-test-aof-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    struct aof_manifest m;
    char err[512];
    cr_assert_eq(aof_manifest_load(dir, "appendonly.aof", &m, err, sizeof(err)), 1);
    const char *text = "file appendonly.aof.1.base.rdb seq 1 type b\n"
                       "file appendonly.aof.1.incr.aof seq 1 type i\n"
                       "file appendonly.aof.2.incr.aof seq 2 type i\n";
    cr_assert_eq(parse(text, &m, err), 0);
    cr_assert_eq(aof_manifest_persist(dir, "appendonly.aof", &m), 0);
    aof_manifest_free(&m);
    char path[256];
    snprintf(path, sizeof(path), "%s/temp-appendonly.aof.manifest", dir);
    cr_assert_neq(access(path, F_OK), 0, "the temp file is renamed away");
    cr_assert_eq(aof_manifest_load(dir, "appendonly.aof", &m, err, sizeof(err)), 0, "%s", err);
    char *out = aof_manifest_format(&m);
    cr_assert_str_eq(out, text);
    free(out);
    aof_manifest_free(&m);
    /* A damaged manifest on disk is an error, not "no AOF". */
    snprintf(path, sizeof(path), "%s/appendonly.aof.manifest", dir);
    FILE *f = fopen(path, "w");
    fputs("file x seq 1 type z\n", f);
    fclose(f);
    cr_assert_eq(aof_manifest_load(dir, "appendonly.aof", &m, err, sizeof(err)), -1);
    cr_assert(strstr(err, "Unknown AOF file type"));
    unlink(path);
    cr_assert_eq(aof_manifest_load("/nonexistent-dir-sluice", "a", &m, err, sizeof(err)), 1);
    rmdir(dir);
}

/* ---- command stream ---- */

struct rec {
    char log[4096]; /* applied commands, "name arg ...;" */
    size_t len;
    int checked;
    int stop_at_check; /* stop at the n-th checked command (1-based), 0 never */
};

static int rec_check(void *arg, int argc, const struct resp_arg *argv)
{
    struct rec *r = arg;
    (void)argc;
    (void)argv;
    return ++r->checked == r->stop_at_check ? -1 : 0;
}

static int rec_apply(void *arg, int argc, const struct resp_arg *argv)
{
    struct rec *r = arg;
    /* Bytes as they are (NULs too): "name arg ...;" */
    for (int i = 0; i < argc; i++) {
        if (i)
            r->log[r->len++] = ' ';
        memcpy(r->log + r->len, argv[i].ptr, argv[i].len);
        r->len += argv[i].len;
    }
    r->log[r->len++] = ';';
    r->log[r->len] = '\0';
    return 0;
}

static enum aof_parse_status walk(const char *buf, size_t len, struct rec *r,
                                  struct aof_parse_result *res)
{
    struct aof_parse_ops ops = {.check = rec_check, .apply = rec_apply, .arg = r};
    return aof_parse_commands(buf, len, 0, &ops, res);
}

#define CMD_SET "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
#define CMD_INCR "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
#define CMD_MULTI "*1\r\n$5\r\nMULTI\r\n"
#define CMD_EXEC "*1\r\n$4\r\nEXEC\r\n"
#define LEN_SET (sizeof(CMD_SET) - 1)   /* 27 */
#define LEN_INCR (sizeof(CMD_INCR) - 1) /* 21 */
#define LEN_MULTI (sizeof(CMD_MULTI) - 1)

Test(aof_parse, clean_stream_applies_every_command_in_order)
{
    const char *s = CMD_SET CMD_INCR "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n";
    struct rec r = {0};
    struct aof_parse_result res;
    cr_assert_eq(walk(s, strlen(s), &r, &res), AOF_PARSE_OK);
    cr_assert_str_eq(r.log, "SET k v;INCR n;SELECT 3;");
    cr_assert_eq(res.commands, 3);
    cr_assert_eq(res.valid_up_to, strlen(s));
    /* Empty input: nothing, clean. */
    cr_assert_eq(walk("", 0, &r, &res), AOF_PARSE_OK);
    cr_assert_eq(res.valid_up_to, 0);
}

Test(aof_parse, arguments_are_binary_and_the_crlf_after_a_bulk_is_not_checked)
{
    const char s[] = "*2\r\n$3\r\nSET\r\n$5\r\na\r\n\0b\r\n" "*1\r\n$4\r\nPINGxx";
    struct rec r = {0};
    struct aof_parse_result res;
    cr_assert_eq(walk(s, sizeof(s) - 1, &r, &res), AOF_PARSE_OK);
    cr_assert_eq(memcmp(r.log, "SET a\r\n\0b;PING;", 16), 0);
}

Test(aof_parse, annotations_are_skipped)
{
    const char *s = "#TS:1700000000\r\n" CMD_SET "#TS:1700000001\r\n" CMD_INCR "#TS:2";
    struct rec r = {0};
    struct aof_parse_result res;
    cr_assert_eq(walk(s, strlen(s), &r, &res), AOF_PARSE_OK);
    cr_assert_str_eq(r.log, "SET k v;INCR n;");
    cr_assert_eq(res.valid_up_to, strlen(s) - 5, "the last annotation follows the last command");
}

Test(aof_parse, every_cut_inside_a_command_is_truncated_at_the_last_whole_command)
{
    const char *s = CMD_SET CMD_INCR CMD_SET;
    size_t ends[] = {0, LEN_SET, LEN_SET + LEN_INCR, 2 * LEN_SET + LEN_INCR};
    cr_assert_eq(strlen(s), ends[3]);
    for (size_t cut = 0; cut <= ends[3]; cut++) {
        struct rec r = {0};
        struct aof_parse_result res;
        enum aof_parse_status st = walk(s, cut, &r, &res);
        size_t last = 0;
        bool boundary = false;
        for (int i = 0; i < 4; i++) {
            if (ends[i] <= cut)
                last = ends[i];
            boundary |= ends[i] == cut;
        }
        cr_assert_eq(st, boundary ? AOF_PARSE_OK : AOF_PARSE_TRUNCATED, "cut %zu", cut);
        cr_assert_eq(res.valid_up_to, last, "cut %zu", cut);
        if (!boundary)
            cr_assert_eq(res.error_off, last, "cut %zu", cut);
    }
}

Test(aof_parse, bad_format_reports_the_offset_of_the_bad_line)
{
    struct {
        const char *s;
        size_t off, valid;
    } cases[] = {
        {"SET k v\r\n", 0, 0},                              /* inline command */
        {CMD_SET "garbage\r\n" CMD_INCR, LEN_SET, LEN_SET},           /* garbage in the middle */
        {CMD_SET "\r\n", LEN_SET, LEN_SET},                           /* blank line */
        {"*0\r\n", 0, 0},
        {"*-1\r\n", 0, 0},
        {"*x\r\n", 0, 0},                                   /* atoi: 0 */
        {"*1\r\n+OK\r\n", 4, 0},                             /* not a bulk */
        {CMD_INCR "*2\r\n$4\r\nINCR\r\n:1\r\n", LEN_INCR + 14, LEN_INCR}, /* second arg is no bulk */
        {"*1\r\n$-1\r\n", 4, 0},
        {"*\0\r\n", 0, 0},                                   /* NUL after the star */
    };
    /* "*" then a NUL at the very end: Redis's read hits the end: cut. */
    struct rec r0 = {0};
    struct aof_parse_result r0s;
    cr_assert_eq(walk(CMD_INCR "*\0", LEN_INCR + 2, &r0, &r0s), AOF_PARSE_TRUNCATED);
    cr_assert_eq(walk(CMD_INCR "*", LEN_INCR + 1, &r0, &r0s), AOF_PARSE_TRUNCATED);
    cr_assert_eq(r0s.valid_up_to, LEN_INCR);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = i == 9 ? 4 : strlen(cases[i].s);
        struct rec r = {0};
        struct aof_parse_result res;
        cr_assert_eq(walk(cases[i].s, len, &r, &res), AOF_PARSE_BAD_FORMAT, "case %zu", i);
        cr_assert_eq(res.error_off, cases[i].off, "case %zu: %zu", i, res.error_off);
        cr_assert_eq(res.valid_up_to, cases[i].valid, "case %zu", i);
    }
}

Test(aof_parse, lenient_counts_as_redis_reads_them)
{
    /* atoi/strtol stop at the first non-digit: "*1abc" is one argument,
     * "$3xyz" three bytes. */
    const char *s = "*1abc\r\n$4xyz\r\nPING\r\n";
    struct rec r = {0};
    struct aof_parse_result res;
    cr_assert_eq(walk(s, strlen(s), &r, &res), AOF_PARSE_OK);
    cr_assert_str_eq(r.log, "PING;");
}

Test(aof_parse, an_annotation_longer_than_redis_line_buffer_is_bad_format)
{
    char s[1100 + 32];
    s[0] = '#';
    memset(s + 1, 'a', 1099);
    strcpy(s + 1100, "\r\n" CMD_INCR);
    struct rec r = {0};
    struct aof_parse_result res;
    cr_assert_eq(walk(s, strlen(s), &r, &res), AOF_PARSE_BAD_FORMAT);
    cr_assert_eq(res.error_off, 1023, "the rest of the line is read as the next line");
    /* 1022 bytes + newline fit in one read. */
    char t[1023 + 32];
    t[0] = '#';
    memset(t + 1, 'a', 1021);
    strcpy(t + 1022, "\n" CMD_INCR);
    memset(&r, 0, sizeof(r));
    cr_assert_eq(walk(t, strlen(t), &r, &res), AOF_PARSE_OK);
    cr_assert_str_eq(r.log, "INCR n;");
}

Test(aof_parse, a_transaction_is_applied_at_exec)
{
    const char *s = CMD_SET CMD_MULTI CMD_INCR CMD_INCR CMD_EXEC CMD_SET;
    struct rec r = {0};
    struct aof_parse_result res;
    cr_assert_eq(walk(s, strlen(s), &r, &res), AOF_PARSE_OK);
    cr_assert_str_eq(r.log, "SET k v;INCR n;INCR n;SET k v;");
    cr_assert_eq(r.checked, 6, "MULTI and EXEC are checked too");
    cr_assert_eq(res.commands, 4);
}

Test(aof_parse, a_multi_without_exec_at_the_end_is_reverted)
{
    const char *s = CMD_SET "#TS:5\r\n" CMD_MULTI CMD_INCR CMD_INCR;
    struct rec r = {0};
    struct aof_parse_result res;
    cr_assert_eq(walk(s, strlen(s), &r, &res), AOF_PARSE_TRUNCATED);
    cr_assert(res.multi_reverted);
    cr_assert_str_eq(r.log, "SET k v;", "queued commands are never applied");
    cr_assert_eq(res.valid_up_to, LEN_SET, "cut before the MULTI (after the last applied command)");
}

Test(aof_parse, a_cut_inside_a_transaction_is_truncated_before_its_multi)
{
    /* Not as Redis 7.0 (which cuts after the last whole queued command and
     * so leaves an open MULTI that swallows what is appended later): the
     * torn transaction goes whole. */
    char s[256];
    snprintf(s, sizeof(s), "%s%s%s%.10s", CMD_SET, CMD_MULTI, CMD_INCR, CMD_INCR);
    struct rec r = {0};
    struct aof_parse_result res;
    cr_assert_eq(walk(s, strlen(s), &r, &res), AOF_PARSE_TRUNCATED);
    cr_assert(res.multi_reverted);
    cr_assert_eq(res.valid_up_to, LEN_SET);
    cr_assert_str_eq(r.log, "SET k v;");
}

Test(aof_parse, exec_without_multi_is_passed_on_and_a_nested_multi_is_queued)
{
    const char *s = CMD_EXEC CMD_MULTI CMD_MULTI CMD_INCR CMD_EXEC;
    struct rec r = {0};
    struct aof_parse_result res;
    cr_assert_eq(walk(s, strlen(s), &r, &res), AOF_PARSE_OK);
    cr_assert_str_eq(r.log, "EXEC;MULTI;INCR n;");
}

Test(aof_parse, a_check_that_says_stop_stops_at_that_command)
{
    const char *s = CMD_SET CMD_INCR CMD_SET;
    struct rec r = {.stop_at_check = 2};
    struct aof_parse_result res;
    cr_assert_eq(walk(s, strlen(s), &r, &res), AOF_PARSE_STOPPED);
    cr_assert_eq(res.error_off, LEN_SET);
    cr_assert_eq(res.valid_up_to, LEN_SET);
    cr_assert_str_eq(r.log, "SET k v;");
}

Test(aof_parse, walking_starts_after_a_preamble)
{
    const char *s = "REDIS0010xxxx" CMD_INCR;
    cr_assert(aof_has_rdb_preamble(s, strlen(s)));
    cr_assert_not(aof_has_rdb_preamble("REDI", 4));
    struct rec r = {0};
    struct aof_parse_ops ops = {.apply = rec_apply, .arg = &r};
    struct aof_parse_result res;
    cr_assert_eq(aof_parse_commands(s, strlen(s), 13, &ops, &res), AOF_PARSE_OK);
    cr_assert_str_eq(r.log, "INCR n;");
    /* A tail cut right after the preamble is cut back to the preamble. */
    cr_assert_eq(aof_parse_commands(s, 13 + 5, 13, &ops, &res), AOF_PARSE_TRUNCATED);
    cr_assert_eq(res.valid_up_to, 13);
}

Test(aof_parse, a_huge_declared_count_or_length_is_truncation_not_an_allocation)
{
    const char *s = "*2147483647\r\n$3\r\nSET\r\n";
    struct rec r = {0};
    struct aof_parse_result res;
    cr_assert_eq(walk(s, strlen(s), &r, &res), AOF_PARSE_TRUNCATED);
    s = "*1\r\n$99999999999999999999\r\nx\r\n";
    cr_assert_eq(walk(s, strlen(s), &r, &res), AOF_PARSE_TRUNCATED);
}

/* ---- the base in commands ---- */

TestSuite(aof_base, .init = harness_setup, .fini = harness_teardown);

static struct entry *key(const char *k)
{
    struct entry **e = dict_find_ref(&s->db[0].keys, k, strlen(k));
    cr_assert(e, "no key %s", k);
    return *e;
}

static void assert_piece(const struct rdb_piece *p, const char *want)
{
    cr_assert_eq(p->len, strlen(want), "got %.*s", (int)p->len, p->buf);
    cr_assert(memcmp(p->buf, want, p->len) == 0, "got %.*s", (int)p->len, p->buf);
}

Test(aof_base, select_string_and_its_expiry_as_redis_writes_them)
{
    struct rdb_piece p = {0};
    RUN(cmd_set, "SET", "k", "hello");
    RUN(cmd_pexpireat, "PEXPIREAT", "k", "1900000000000");
    RUN(cmd_set, "SET", "n", "-42");
    aof_piece_timestamp(&p, 1700000000);
    aof_piece_select(&p, 12);
    aof_piece_key(&p, key("k"));
    aof_piece_key(&p, key("n"));
    assert_piece(&p, "#TS:1700000000\r\n"
                     "*2\r\n$6\r\nSELECT\r\n$2\r\n12\r\n"
                     "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"
                     "*3\r\n$9\r\nPEXPIREAT\r\n$1\r\nk\r\n$13\r\n1900000000000\r\n"
                     "*3\r\n$3\r\nSET\r\n$1\r\nn\r\n$3\r\n-42\r\n");
    free(p.buf);
}

Test(aof_base, sorted_set_scores_are_written_as_17g_score_first)
{
    struct rdb_piece p = {0};
    RUN(cmd_zadd, "ZADD", "z", "0.1", "a", "-inf", "b", "3", "c");
    aof_piece_key(&p, key("z"));
    assert_piece(&p, "*8\r\n$4\r\nZADD\r\n$1\r\nz\r\n$4\r\n-inf\r\n$1\r\nb\r\n"
                     "$19\r\n0.10000000000000001\r\n$1\r\na\r\n$1\r\n3\r\n$1\r\nc\r\n");
    free(p.buf);
}

struct counts {
    int n;
    int argc[16];
    char name[16][16];
};

static int count_apply(void *arg, int argc, const struct resp_arg *argv)
{
    struct counts *c = arg;
    if (c->n < 16) {
        c->argc[c->n] = argc;
        snprintf(c->name[c->n], sizeof(c->name[0]), "%.*s", (int)argv[0].len, argv[0].ptr);
    }
    c->n++;
    return 0;
}

/* The commands of one key: their names and argument counts. */
static struct counts commands_of(const char *k)
{
    struct rdb_piece p = {0};
    struct counts c = {0};
    aof_piece_key(&p, key(k));
    struct aof_parse_ops ops = {.apply = count_apply, .arg = &c};
    struct aof_parse_result res;
    cr_assert_eq(aof_parse_commands((const char *)p.buf, p.len, 0, &ops, &res), AOF_PARSE_OK);
    free(p.buf);
    return c;
}

Test(aof_base, collections_go_64_elements_a_command)
{
    struct resp_arg argv[140];
    char names[140][16];
    /* a list of 130: RPUSH of 64, 64, 2 */
    argv[0] = (struct resp_arg){"RPUSH", 5};
    argv[1] = (struct resp_arg){"l", 1};
    for (int i = 0; i < 130; i++) {
        int n = snprintf(names[i], sizeof(names[i]), "%d", i * 7);
        argv[2 + i] = (struct resp_arg){names[i], (size_t)n};
    }
    runv(s, cmd_rpush, 132, argv);
    struct counts c = commands_of("l");
    cr_assert_eq(c.n, 3);
    cr_assert_str_eq(c.name[0], "RPUSH");
    cr_assert_eq(c.argc[0], 66);
    cr_assert_eq(c.argc[1], 66);
    cr_assert_eq(c.argc[2], 4);
    /* a hash of 65 pairs: HMSET of 64 pairs, then 1, then PEXPIREAT */
    argv[0] = (struct resp_arg){"HSET", 4};
    argv[1] = (struct resp_arg){"h", 1};
    for (int i = 0; i < 65; i++) {
        argv[2 + 2 * i] = (struct resp_arg){names[i], strlen(names[i])};
        argv[3 + 2 * i] = (struct resp_arg){"v", 1};
    }
    runv(s, cmd_hset, 132, argv);
    RUN(cmd_pexpireat, "PEXPIREAT", "h", "1900000000000");
    c = commands_of("h");
    cr_assert_eq(c.n, 3);
    cr_assert_str_eq(c.name[0], "HMSET");
    cr_assert_eq(c.argc[0], 130);
    cr_assert_eq(c.argc[1], 4);
    cr_assert_str_eq(c.name[2], "PEXPIREAT");
    /* a set of exactly 64: one SADD */
    argv[0] = (struct resp_arg){"SADD", 4};
    argv[1] = (struct resp_arg){"st", 2};
    for (int i = 0; i < 64; i++)
        argv[2 + i] = (struct resp_arg){names[i], strlen(names[i])};
    runv(s, cmd_sadd, 66, argv);
    c = commands_of("st");
    cr_assert_eq(c.n, 1);
    cr_assert_str_eq(c.name[0], "SADD");
    cr_assert_eq(c.argc[0], 66);
}
