/* The command table: one row per command (and per subcommand) with its
 * handler, arity, flags, key positions and documentation. Dispatch, arity
 * checks, COMMAND INFO/DOCS/LIST/GETKEYS and key routing all read it.
 *
 * Arity follows Redis: N > 0 means exactly N arguments (command name
 * included), N < 0 means at least -N.
 */
#ifndef SLUICE_COMMANDS_H
#define SLUICE_COMMANDS_H

#include <stdint.h>

#include "cmd.h"

enum {
    CMD_WRITE = 1u << 0,
    CMD_READONLY = 1u << 1,
    CMD_DENYOOM = 1u << 2,
    CMD_ADMIN = 1u << 3,
    CMD_NOSCRIPT = 1u << 4,
    CMD_LOADING = 1u << 5,
    CMD_STALE = 1u << 6,
    CMD_FAST = 1u << 7,
    CMD_NO_AUTH = 1u << 8,
    CMD_ALLOW_BUSY = 1u << 9,
    CMD_SKIP_SLOWLOG = 1u << 10,
    CMD_NO_MULTI = 1u << 11,
    CMD_SENTINEL = 1u << 12,
    CMD_KEYSPACE = 1u << 13, /* touches every key of a db (routing: all shards) */
    CMD_BLOCKING = 1u << 14,
    CMD_MOVABLEKEYS = 1u << 15,
};

struct command {
    const char *name;          /* lower case; "config|get" style for subcommands */
    void (*fn)(struct cmd_ctx *c);
    int arity;
    uint32_t flags;
    int first_key, last_key, key_step; /* last_key -1: up to the last argument */
    const char *acl;           /* ACL categories, space separated, without '@' */
    const char *group;         /* COMMAND DOCS group */
    const char *since;
    const char *complexity;
    const char *summary;
    /* Key specs as COMMAND INFO shows them, "|" between specs, each
     * "FLAGS;begin index;lastkey;keystep" (range) or
     * "FLAGS;begin index;Kkeynumidx,firstkey,keystep" (keynum); NULL: no
     * keys. keynotes: the notes of the first spec (NULL: none). */
    const char *keyspecs;
    const char *keynotes;
    const char *tips;          /* COMMAND INFO tips, space separated, or NULL */
    /* Arguments for COMMAND DOCS (redis-cli builds its hints from them):
     * space-separated "name,type[,TOKEN][?][*][#][(sub-arguments)]" where
     * ? is optional, * multiple, # multiple_token; NULL when none. */
    const char *args;
    const struct command *subs; /* subcommand rows, ended by a row with name NULL */
    /* Index of a numkeys argument followed by that many keys (ZUNIONSTORE,
     * LMPOP, SINTERCARD ...), in addition to first_key..last_key; 0: none. */
    int numkeys;
    /* Keys found by a function instead (SORT): writes their indexes as
     * COMMAND GETKEYS reports them and sets *every_shard when the command
     * may read keys it does not name (SORT's BY and GET patterns). */
    int (*getkeys)(int argc, const struct resp_arg *argv, int *idx, int max, bool *every_shard);
};

/* The argument indexes of the keys of a request (at most max), as routing,
 * COMMAND GETKEYS and WATCH see them. A numkeys count that is not a
 * positive integer or runs past the arguments yields no keys from it (the
 * handler reports the error). */
int cmd_key_args(const struct command *cmd, int argc, const struct resp_arg *argv, int *idx,
             int max);
/* Whether the command may touch keys of every shard (CMD_KEYSPACE, or its
 * getkeys says so for these arguments). */
bool cmd_every_shard(const struct command *cmd, int argc, const struct resp_arg *argv);

/* Find a command by name (case-insensitive), or NULL. */
const struct command *cmd_lookup(const char *name, size_t len);
/* Find the subcommand argv[1] of a container command, or NULL. */
const struct command *cmd_lookup_sub(const struct command *parent, const char *name,
                                     size_t len);
/* Iterate the table (top-level rows). */
const struct command *cmd_table(int *n);
/* The name shown in errors: "get", "config|get". */
const char *cmd_fullname(const struct command *cmd);

/* Handlers implemented in the dataplane (server.c): they see the client. */
#define DPCMD(name) void cmd_##name(struct cmd_ctx *c)
DPCMD(ping); DPCMD(echo); DPCMD(quit); DPCMD(reset); DPCMD(hello); DPCMD(select);
DPCMD(client); DPCMD(command); DPCMD(info); DPCMD(config); DPCMD(time);
DPCMD(shutdown); DPCMD(lastsave); DPCMD(debug); DPCMD(memory);
DPCMD(save); DPCMD(bgsave); /* persist.c */
DPCMD(bgrewriteaof);       /* aof.c */
DPCMD(cluster); DPCMD(multi); DPCMD(exec); DPCMD(discard); DPCMD(watch); DPCMD(unwatch);
#undef DPCMD

#endif
