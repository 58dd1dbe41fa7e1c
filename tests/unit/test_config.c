/* Unit tests of the config table: parsing of values, bounds, immutability,
 * config files and command-line options, with Redis's error texts. */
#include <criterion/criterion.h>
#include <string.h>

#include "config.h"

static char err[2048];

static int set(const char *name, const char *value, bool runtime)
{
    const struct cfg_option *o = cfg_find(name, strlen(name));
    cr_assert_not_null(o, "option %s exists", name);
    return cfg_set(o, value, strlen(value), runtime, err, sizeof(err));
}

static const char *get(const char *name)
{
    static char buf[4096];
    cfg_format(cfg_find(name, strlen(name)), buf, sizeof(buf));
    return buf;
}

TestSuite(config, .init = cfg_init);

Test(config, defaults_match_redis_for_shared_options)
{
    cr_assert_str_eq(get("port"), "6379");
    cr_assert_str_eq(get("bind"), "127.0.0.1");
    cr_assert_str_eq(get("databases"), "16");
    cr_assert_str_eq(get("maxclients"), "10000");
    cr_assert_str_eq(get("timeout"), "0");
    cr_assert_str_eq(get("tcp-keepalive"), "300");
    cr_assert_str_eq(get("loglevel"), "notice");
    cr_assert_str_eq(get("proto-max-bulk-len"), "536870912");
    cr_assert_str_eq(get("client-query-buffer-limit"), "1073741824");
    cr_assert_str_eq(get("hz"), "10");
    cr_assert_str_eq(get("daemonize"), "no");
    cr_assert_str_eq(get("dataplane-batch-usec"), "50");
    cr_assert_eq(set("dataplane-batch-usec", "1001", true), -1);
    cr_assert_eq(set("dataplane-batch-usec", "0", true), 0);
}

Test(config, memory_values_accept_redis_units)
{
    long long v;
    cr_assert(cfg_parse_memory("1k", &v) && v == 1000);
    cr_assert(cfg_parse_memory("1kb", &v) && v == 1024);
    cr_assert(cfg_parse_memory("2MB", &v) && v == 2 * 1024 * 1024);
    cr_assert(cfg_parse_memory("3g", &v) && v == 3000000000LL);
    cr_assert(cfg_parse_memory("1gb", &v) && v == 1073741824LL);
    cr_assert(cfg_parse_memory("12345", &v) && v == 12345);
    cr_assert_not(cfg_parse_memory("", &v));
    cr_assert_not(cfg_parse_memory("mb", &v));
    cr_assert_not(cfg_parse_memory("1xb", &v));
    cr_assert_not(cfg_parse_memory("99999999999gb", &v));
}

Test(config, integers_out_of_range_are_refused_with_the_bounds)
{
    cr_assert_eq(set("timeout", "-1", true), -1);
    cr_assert_str_eq(err, "argument must be between 0 and 2147483647 inclusive");
    cr_assert_eq(set("maxclients", "0", true), -1);
    cr_assert_str_eq(err, "argument must be between 1 and 4294967295 inclusive");
    cr_assert_eq(set("proto-max-bulk-len", "1k", true), -1);
    cr_assert_str_eq(err, "argument must be between 1048576 and 9223372036854775807 inclusive");
    cr_assert_str_eq(get("timeout"), "0", "a refused value changes nothing");
}

Test(config, non_numbers_are_refused)
{
    cr_assert_eq(set("timeout", "abc", true), -1);
    cr_assert_str_eq(err, "argument couldn't be parsed into an integer");
    cr_assert_eq(set("timeout", "", true), -1);
    cr_assert_eq(set("timeout", "10x", true), -1);
}

Test(config, hz_is_clamped_like_redis)
{
    cr_assert_eq(set("hz", "0", true), 0);
    cr_assert_str_eq(get("hz"), "1");
    cr_assert_eq(set("hz", "1000", true), 0);
    cr_assert_str_eq(get("hz"), "500");
}

Test(config, immutable_options_are_refused_at_runtime_only)
{
    cr_assert_eq(set("databases", "4", true), -1);
    cr_assert_str_eq(err, "can't set immutable config");
    cr_assert_eq(set("databases", "4", false), 0);
    cr_assert_str_eq(get("databases"), "4");
}

Test(config, enums_list_their_choices)
{
    cr_assert_eq(set("loglevel", "foo", true), -1);
    cr_assert_str_eq(err, "argument(s) must be one of the following: debug, verbose, notice, "
                          "warning");
    cr_assert_eq(set("loglevel", "WARNING", true), 0);
    cr_assert_str_eq(get("loglevel"), "warning");
}

Test(config, booleans_take_yes_or_no)
{
    cr_assert_eq(set("daemonize", "maybe", false), -1);
    cr_assert_str_eq(err, "argument must be 'yes' or 'no'");
    cr_assert_eq(set("daemonize", "yes", false), 0);
    cr_assert_str_eq(get("daemonize"), "yes");
}

Test(config, dataplane_cores_must_be_a_core_list)
{
    cr_assert_eq(set("dataplane-cores", "0,2-3", false), 0);
    cr_assert_eq(set("dataplane-cores", "3-1", false), -1);
    cr_assert_eq(set("dataplane-cores", "a", false), -1);
    cr_assert_eq(set("dataplane-cores", "5000", false), -1);
    cr_assert_str_eq(get("dataplane-cores"), "0,2-3");
}

Test(config, config_text_sets_options_and_skips_comments)
{
    const char *text = "# a comment with 'quotes\n   # indented \"comment\n\nport 7000\nbind 127.0.0.1 -::1\n  timeout 5  \n"
                       "unixsocket \"/tmp/with space.sock\"\n";
    cr_assert_eq(cfg_load_string(text, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(get("port"), "7000");
    cr_assert_str_eq(get("bind"), "127.0.0.1 -::1");
    cr_assert_str_eq(get("timeout"), "5");
    cr_assert_str_eq(get("unixsocket"), "/tmp/with space.sock");
}

Test(config, a_bad_line_reports_its_number_and_reason)
{
    cr_assert_eq(cfg_load_string("port 1\nport abc\n", err, sizeof(err)), -1);
    cr_assert(strstr(err, "FATAL CONFIG FILE ERROR"));
    cr_assert(strstr(err, "at line 2"));
    cr_assert(strstr(err, ">>> 'port abc'"));
    cr_assert(strstr(err, "argument couldn't be parsed into an integer"));
    cr_assert_eq(cfg_load_string("no-such-option 1\n", err, sizeof(err)), -1);
    cr_assert(strstr(err, "Bad directive or wrong number of arguments"));
    cr_assert_eq(cfg_load_string("port 1 2\n", err, sizeof(err)), -1);
    cr_assert_eq(cfg_load_string("port \"1\n", err, sizeof(err)), -1);
    cr_assert(strstr(err, "Unbalanced quotes"));
}

Test(config, command_line_options_become_config_lines)
{
    char *argv[] = {"--port", "7001", "--bind", "127.0.0.1", "::1", "--logfile", "", NULL};
    char *text = NULL;
    cr_assert_eq(cfg_args_to_text(7, argv, &text, err, sizeof(err)), 0);
    cr_assert_eq(cfg_load_string(text, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(get("port"), "7001");
    cr_assert_str_eq(get("bind"), "127.0.0.1 ::1");
    cr_assert_str_eq(get("logfile"), "");
    free(text);

    char *bad[] = {"7001", NULL};
    text = NULL;
    cr_assert_eq(cfg_args_to_text(1, bad, &text, err, sizeof(err)), -1);
    cr_assert(strstr(err, "must start with --"));
}

Test(config, every_option_appears_in_the_default_config_file)
{
    FILE *f = fopen(SOURCE_ROOT "/firmware-cfg/sluice.conf", "r");
    cr_assert_not_null(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    int count;
    const struct cfg_option *o = cfg_options(&count);
    for (int i = 0; i < count; i++) {
        char line[128];
        snprintf(line, sizeof(line), "\n# %s ", o[i].name);
        cr_assert(strstr(text, line), "sluice.conf documents %s", o[i].name);
    }
}
