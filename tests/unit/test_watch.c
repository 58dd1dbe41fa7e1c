/* WATCH support in the db layer: every kind of change to a watched key sets
 * the watcher's flag, and nothing else does. */
#include <criterion/criterion.h>

#include "harness.h"

TestSuite(watch, .init = harness_setup, .fini = harness_teardown);

static _Atomic int flag;

static void watch(const char *k)
{
    flag = 0;
    db_watch(&s->db[0], k, strlen(k), &flag);
}

Test(watch, a_set_of_the_key_sets_the_flag_and_other_keys_do_not)
{
    watch("k");
    RUN(cmd_set, "SET", "other", "1");
    cr_assert_eq(flag, 0);
    RUN(cmd_set, "SET", "k", "1");
    cr_assert_eq(flag, 1);
}

Test(watch, in_place_changes_set_the_flag)
{
    RUN(cmd_set, "SET", "n", "1");
    watch("n");
    RUN(cmd_incr, "INCR", "n");
    cr_assert_eq(flag, 1, "INCR of an int value changes it in place");
    RUN(cmd_append, "APPEND", "s", "x");
    RUN(cmd_append, "APPEND", "s", "y");
    watch("s");
    RUN(cmd_append, "APPEND", "s", "z");
    cr_assert_eq(flag, 1, "APPEND to a raw value grows it in place");
    watch("s");
    RUN(cmd_setbit, "SETBIT", "s", "1", "1");
    cr_assert_eq(flag, 0, "a SETBIT that flips nothing is no change (Redis 7.0)");
    RUN(cmd_setbit, "SETBIT", "s", "0", "1");
    cr_assert_eq(flag, 1);
}

Test(watch, delete_expire_and_expiry_set_the_flag)
{
    RUN(cmd_set, "SET", "k", "1");
    watch("k");
    RUN(cmd_expire, "EXPIRE", "k", "100");
    cr_assert_eq(flag, 1);
    watch("k");
    RUN(cmd_del, "DEL", "k");
    cr_assert_eq(flag, 1);
    RUN(cmd_set, "SET", "t", "1", "PX", "10");
    watch("t");
    shard_tick(s, T0 + 1000);
    RUN(cmd_get, "GET", "t");
    cr_assert_eq(flag, 1, "lazy expiry deletes the key");
}

Test(watch, a_flush_touches_only_watched_keys_that_exist)
{
    _Atomic int present = 0, absent = 0;
    RUN(cmd_set, "SET", "p", "1");
    db_watch(&s->db[0], "p", 1, &present);
    db_watch(&s->db[0], "a", 1, &absent);
    db_flush(s, &s->db[0]);
    cr_assert_eq(present, 1);
    cr_assert_eq(absent, 0);
    db_unwatch(&s->db[0], "p", 1, &present);
    db_unwatch(&s->db[0], "a", 1, &absent);
}

Test(watch, an_unwatched_flag_is_left_alone)
{
    watch("k");
    db_unwatch(&s->db[0], "k", 1, &flag);
    RUN(cmd_set, "SET", "k", "1");
    cr_assert_eq(flag, 0);
    cr_assert_eq(dict_size(&s->db[0].watched), 0, "the last watcher removes the entry");
}

Test(watch, several_watchers_of_one_key_are_all_told)
{
    _Atomic int f[5] = {0};
    for (int i = 0; i < 5; i++)
        db_watch(&s->db[0], "k", 1, &f[i]);
    db_watch(&s->db[0], "k", 1, &f[0]); /* twice: kept once */
    RUN(cmd_set, "SET", "k", "1");
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(f[i], 1);
        db_unwatch(&s->db[0], "k", 1, &f[i]);
    }
    cr_assert_eq(dict_size(&s->db[0].watched), 0);
}
