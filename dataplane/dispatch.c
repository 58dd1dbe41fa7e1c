/* Request dispatch: command lookup, arity and subcommand checks with Redis's
 * error texts, then routing to the shard that owns the keys.
 *
 * Routing: key -> slot is CRC16(key or its {hash tag}) mod 16384, as Redis
 * Cluster computes it; slot -> shard goes through slot_owner[]. With one
 * worker every slot maps to shard 0 and every command runs inline. The
 * shard-per-core step adds the hand-off through a ring for commands whose
 * owner is another worker; route() is the one place that decides.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "server.h"

#define SLOTS 16384

static uint16_t crc16_table[256];
static uint16_t slot_owner[SLOTS]; /* all zero: one shard owns every slot */

static void crc16_init(void)
{
    for (int i = 0; i < 256; i++) {
        uint16_t crc = (uint16_t)(i << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
        crc16_table[i] = crc;
    }
}

static uint16_t crc16(const char *p, size_t n)
{
    uint16_t crc = 0;
    if (!crc16_table[1])
        crc16_init();
    for (size_t i = 0; i < n; i++)
        crc = (uint16_t)((crc << 8) ^ crc16_table[((crc >> 8) ^ (unsigned char)p[i]) & 0xff]);
    return crc;
}

/* Slot of a key: only the part inside the first non-empty {...} is hashed. */
unsigned dp_keyslot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open) {
        const char *start = open + 1;
        const char *close = memchr(start, '}', len - (size_t)(start - key));
        if (close && close > start)
            return crc16(start, (size_t)(close - start)) & (SLOTS - 1);
    }
    return crc16(key, len) & (SLOTS - 1);
}

/* The shard that must run this command: the owner of its first key, or the
 * client's own worker's shard for keyless commands. Until the shard-per-core
 * hand-off exists there is one worker and it owns every slot, so the owner
 * is always the local shard. */
static struct shard *route(struct client *c, const struct command *cmd, int argc,
                           const struct resp_arg *argv)
{
    if (cmd->first_key > 0 && cmd->first_key < argc) {
        const struct resp_arg *k = &argv[cmd->first_key];
        return server.workers[slot_owner[dp_keyslot(k->ptr, k->len)]].shard;
    }
    return c->w->shard;
}

static bool arity_ok(const struct command *cmd, int argc)
{
    return cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

static void reply_unknown(struct client *c, int argc, const struct resp_arg *argv)
{
    char args[512];
    size_t off = 0;
    args[0] = '\0';
    for (int i = 1; i < argc && off < 128; i++)
        off += (size_t)snprintf(args + off, sizeof(args) - off, "'%.*s' ",
                                (int)(argv[i].len < 128 - off ? argv[i].len : 128 - off),
                                argv[i].ptr);
    reply_errorf(&c->reply, "ERR unknown command '%.*s', with args beginning with: %s",
                 (int)(argv[0].len < 128 ? argv[0].len : 128), argv[0].ptr, args);
}

void execute(struct client *c, const struct command *cmd, int argc, const struct resp_arg *argv)
{
    struct shard *s = route(c, cmd, argc, argv);
    struct cmd_ctx ctx = {
        .shard = s,
        .db = &s->db[c->dbid],
        .dbid = c->dbid,
        .argc = argc,
        .argv = argv,
        .out = &c->reply,
        .client = c,
        .cmd = cmd,
    };
    c->lastcmd = cmd;
    cmd->fn(&ctx);
    atomic_fetch_add_explicit(&server.stats.commands_processed, 1, memory_order_relaxed);
}

/* Commands that act on the transaction itself run at once even in MULTI. */
static bool txn_control(const struct command *cmd)
{
    return cmd->fn == cmd_exec || cmd->fn == cmd_discard || cmd->fn == cmd_multi ||
           cmd->fn == cmd_watch || cmd->fn == cmd_quit || cmd->fn == cmd_reset;
}

void dispatch(struct client *c, int argc, const struct resp_arg *argv)
{
    const struct command *cmd = cmd_lookup(argv[0].ptr, argv[0].len);

    /* A refused command inside MULTI makes EXEC abort, as in Redis. */
    if (!cmd) {
        c->flags |= (c->flags & CL_MULTI) ? CL_DIRTY_EXEC : 0;
        return reply_unknown(c, argc, argv);
    }
    if (cmd->subs && argc >= 2) {
        const struct command *sub = cmd_lookup_sub(cmd, argv[1].ptr, argv[1].len);
        if (!sub) {
            char up[64];
            size_t n = strlen(cmd->name);
            for (size_t i = 0; i <= n && i < sizeof(up); i++)
                up[i] = (char)(cmd->name[i] >= 'a' && cmd->name[i] <= 'z' ? cmd->name[i] - 32
                                                                          : cmd->name[i]);
            c->flags |= (c->flags & CL_MULTI) ? CL_DIRTY_EXEC : 0;
            return reply_errorf(&c->reply, "ERR unknown subcommand '%.*s'. Try %s HELP.",
                                (int)(argv[1].len < 128 ? argv[1].len : 128), argv[1].ptr, up);
        }
        cmd = sub;
    }
    if (!arity_ok(cmd, argc)) {
        c->flags |= (c->flags & CL_MULTI) ? CL_DIRTY_EXEC : 0;
        return reply_errorf(&c->reply, "ERR wrong number of arguments for '%s' command",
                            cmd_fullname(cmd));
    }
    if ((c->flags & CL_MULTI) && !txn_control(cmd)) {
        if (cmd->flags & CMD_NO_MULTI) {
            c->flags |= CL_DIRTY_EXEC;
            return reply_error(&c->reply, "ERR Command not allowed inside a transaction");
        }
        return multi_queue(c, cmd, argc, argv);
    }
    execute(c, cmd, argc, argv);
}
