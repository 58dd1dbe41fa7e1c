/* Request dispatch: command lookup, arity and subcommand checks with Redis's
 * error texts, then routing to the shard that owns the keys.
 *
 * Routing: key -> slot is CRC16(key or its {hash tag}) mod 16384, as Redis
 * Cluster computes it; slot -> worker is a contiguous range per worker
 * (dp_owner). With one worker every command runs inline; with several,
 * execute() decides between inline, a hand-off to the owner through a ring,
 * and holding several shards (shards.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "server.h"

#define SLOTS 16384

static uint16_t crc16_table[256];

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

/* Slot -> owning worker, through a table so that moving slots later
 * (resharding, cluster mode) only rewrites entries. It starts as contiguous
 * ranges, one per worker, as a cluster would split them. */
static uint8_t slot_owner[SLOTS];

void dp_slots_init(void)
{
    for (unsigned s = 0; s < SLOTS; s++)
        slot_owner[s] = (uint8_t)((s * (unsigned)server.nworkers) / SLOTS);
}

int dp_owner(unsigned slot)
{
    return slot_owner[slot & (SLOTS - 1)];
}

static uint64_t all_shards(void)
{
    return server.nworkers >= 64 ? ~0ull : (1ull << server.nworkers) - 1;
}

uint64_t dp_shard_mask(struct client *c, const struct command *cmd, int argc,
                       const struct resp_arg *argv)
{
    if (cmd->fn == cmd_exec)
        return multi_shard_mask(c);
    if (cmd_every_shard(cmd, argc, argv))
        return all_shards();
    int idx[64];
    int n = cmd_key_args(cmd, argc, argv, idx, 64);
    if (n == 64) /* more keys than fit: take them all */
        return all_shards();
    uint64_t mask = 0;
    for (int i = 0; i < n; i++)
        mask |= 1ull << dp_owner(dp_keyslot(argv[idx[i]].ptr, argv[idx[i]].len));
    return mask;
}

/* The shard that owns the command's first key (the client's own worker's
 * shard for keyless commands). */
static struct shard *route(struct client *c, const struct command *cmd, int argc,
                           const struct resp_arg *argv)
{
    int first;
    if (server.nworkers > 1 && cmd_key_args(cmd, argc, argv, &first, 1))
        return shard_of_key(argv[first].ptr, argv[first].len);
    return c->w->shard;
}

static bool arity_ok(const struct command *cmd, int argc)
{
    return cmd->arity > 0 ? argc == cmd->arity : argc >= -cmd->arity;
}


static struct shard *all_shard_list[MAX_WORKERS];

/* Where a reply made here goes: straight to the client, or, while an
 * earlier command of the client is away on another shard, into a new slot
 * at the end of its reply queue (*slot; the caller completes it). */
struct reply *reply_target(struct client *c, struct msg **slot)
{
    *slot = NULL;
    if (!c->rq_head)
        return &c->reply;
    *slot = msg_new(MSG_REPLY, c->w);
    reply_init_small(&(*slot)->reply, c->reply.proto);
    client_queue_slot(c, *slot);
    return &(*slot)->reply;
}

uint64_t run_handler(struct cmd_ctx *ctx, struct worker *w, bool own_only)
{
    if ((ctx->cmd->flags & CMD_WRITE) &&
        atomic_load_explicit(&snapshot_hooked, memory_order_relaxed))
        snapshot_before_write(ctx);
    if (!aof_capturing()) {
        ctx->cmd->fn(ctx);
        return 0;
    }
    struct aof_cmd ac;
    aof_cmd_begin(&ac, w, own_only);
    ctx->cmd->fn(ctx);
    return aof_cmd_end(&ac, ctx);
}

bool run_cmd(struct client *c, const struct command *cmd, int argc, const struct resp_arg *argv,
             struct reply *out, bool block_ok, long long *block_ms)
{
    struct shard *s = route(c, cmd, argc, argv);
    struct cmd_ctx ctx = {
        .shard = s,
        .db = &s->db[c->dbid],
        .dbid = c->dbid,
        .argc = argc,
        .argv = argv,
        .out = out,
        .client = c,
        .cmd = cmd,
        .block_ok = block_ok,
    };
    if (server.nworkers > 1) {
        if (!all_shard_list[0])
            for (int i = 0; i < server.nworkers; i++)
                all_shard_list[i] = server.workers[i].shard;
        ctx.key_shard = shard_of_key;
        ctx.all = all_shard_list;
        ctx.nall = server.nworkers;
    }
    c->lastcmd = cmd;
    uint64_t need = run_handler(&ctx, c->w, false);
    if (need > c->aof_need)
        c->aof_need = need;
    atomic_fetch_add_explicit(&server.stats.commands_processed, 1, memory_order_relaxed);
    if (block_ms)
        *block_ms = ctx.block_ms;
    return ctx.blocked;
}

void run_held(struct client *c, const struct command *cmd, int argc, const struct resp_arg *argv,
              struct reply *out)
{
    run_cmd(c, cmd, argc, argv, out, false, NULL);
}

/* Run a command for a client. One worker: inline. Several: inline when it
 * needs no shard or only ours; sent to the owner when it needs exactly one
 * other shard; otherwise run here with every shard it needs held. While
 * an earlier command of the client is away, the reply goes into a slot of
 * the client's reply queue so replies keep request order. */
void execute(struct client *c, const struct command *cmd, int argc, const struct resp_arg *argv)
{
    struct worker *w = c->w;
    if (cmd->flags & CMD_BLOCKING)
        return blocking_run(c, cmd, argc, argv);
    if (server.nworkers == 1)
        return run_held(c, cmd, argc, argv, &c->reply);

    uint64_t mask = dp_shard_mask(c, cmd, argc, argv);
    uint64_t me = 1ull << w->id;
    /* EXEC and WATCH change the client itself: they always run here. */
    bool client_bound = cmd->fn == cmd_exec || cmd->fn == cmd_watch;
    if (mask && !(mask & (mask - 1)) && mask != me && !client_bound) {
        c->lastcmd = cmd;
        atomic_fetch_add_explicit(&server.stats.commands_processed, 1, memory_order_relaxed);
        return shards_send(w, c, __builtin_ctzll(mask), cmd, argc, argv);
    }
    struct msg *slot;
    struct reply *out = reply_target(c, &slot);
    bool held = mask & ~me;
    if (held && !shards_acquire(w, mask))
        reply_error(out, "ERR the server is shutting down");
    else
        run_held(c, cmd, argc, argv, out);
    if (held)
        shards_release(w, mask);
    if (slot)
        client_reply_done(slot);
}

/* Commands that act on the transaction itself run at once even in MULTI. */
static bool txn_control(const struct command *cmd)
{
    return cmd->fn == cmd_exec || cmd->fn == cmd_discard || cmd->fn == cmd_multi ||
           cmd->fn == cmd_watch || cmd->fn == cmd_quit || cmd->fn == cmd_reset;
}

#define ERR_OOM "OOM command not allowed when used memory > 'maxmemory'."

/* A command Redis refuses above maxmemory: a write that may need memory,
 * EXEC when a queued command is one, and inside MULTI anything queued
 * (queueing takes memory too). */
static bool may_grow(struct client *c, const struct command *cmd)
{
    if (cmd->fn == cmd_exec && (c->flags & CL_MULTI)) {
        for (int i = 0; i < c->mq_len; i++)
            if (c->mq[i].cmd->flags & CMD_DENYOOM)
                return true;
        return false;
    }
    if ((c->flags & CL_MULTI) && cmd->fn != cmd_discard && cmd->fn != cmd_quit &&
        cmd->fn != cmd_reset)
        return true;
    return cmd->flags & CMD_DENYOOM;
}

/* Refuse a request with an error, in order with the client's other
 * replies; inside MULTI a refusal makes EXEC abort, as in Redis. */
static void refuse(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(struct client *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    struct msg *slot;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    c->flags |= (c->flags & CL_MULTI) ? CL_DIRTY_EXEC : 0;
    reply_error(reply_target(c, &slot), buf);
    if (slot)
        client_reply_done(slot);
}

void dispatch(struct client *c, int argc, const struct resp_arg *argv)
{
    const struct command *cmd = cmd_lookup(argv[0].ptr, argv[0].len);

    if (!cmd) {
        char args[512];
        size_t off = 0;
        args[0] = '\0';
        for (int i = 1; i < argc && off < 128; i++)
            off += (size_t)snprintf(args + off, sizeof(args) - off, "'%.*s' ",
                                    (int)(argv[i].len < 128 - off ? argv[i].len : 128 - off),
                                    argv[i].ptr);
        return refuse(c, "ERR unknown command '%.*s', with args beginning with: %s",
                      (int)(argv[0].len < 128 ? argv[0].len : 128), argv[0].ptr, args);
    }
    if (cmd->subs && argc >= 2) {
        const struct command *sub = cmd_lookup_sub(cmd, argv[1].ptr, argv[1].len);
        if (!sub) {
            char up[64];
            size_t n = strlen(cmd->name);
            for (size_t i = 0; i <= n && i < sizeof(up); i++)
                up[i] = (char)(cmd->name[i] >= 'a' && cmd->name[i] <= 'z' ? cmd->name[i] - 32
                                                                          : cmd->name[i]);
            return refuse(c, "ERR unknown subcommand '%.*s'. Try %s HELP.",
                          (int)(argv[1].len < 128 ? argv[1].len : 128), argv[1].ptr, up);
        }
        cmd = sub;
    }
    if (!arity_ok(cmd, argc)) {
        if (cmd->fn == cmd_exec && (c->flags & CL_MULTI)) {
            /* A refused EXEC ends the transaction, saying why (Redis). */
            multi_reset(c);
            c->flags &= ~CL_MULTI;
            return refuse(c, "EXECABORT Transaction discarded because of: wrong number of "
                             "arguments for '%s' command", cmd_fullname(cmd));
        }
        return refuse(c, "ERR wrong number of arguments for '%s' command", cmd_fullname(cmd));
    }
    /* stop-writes-on-bgsave-error: writes (and PING, as Redis) are refused
     * while the last background save failed, and while the AOF cannot be
     * written (Redis's writeCommandsDeniedByDiskError, RDB first). */
    if ((cmd->flags & CMD_WRITE) || cmd->fn == cmd_ping) {
        if (persist_writes_refused())
            return refuse(c, "%s", PERSIST_ERR_MISCONF);
        int aof_err = aof_write_errno();
        if (aof_err)
            return refuse(c, "MISCONF Errors writing to the AOF file: %s", strerror(aof_err));
    }
    /* While loading, only what Redis allows then (CMD_LOADING), less what
     * would touch the shards the loader fills (DEBUG, WATCH). */
    if (atomic_load_explicit(&server.loading, memory_order_acquire) &&
        (!(cmd->flags & CMD_LOADING) || cmd->fn == cmd_debug || cmd->fn == cmd_watch))
        return refuse(c, "%s", ERR_LOADING);
    if (store_evict.maxmemory && may_grow(c, cmd) && !mem_admit(c->w)) {
        if (cmd->fn == cmd_exec) {
            multi_reset(c);
            c->flags &= ~CL_MULTI;
            return refuse(c, "EXECABORT Transaction discarded because of: " ERR_OOM);
        }
        return refuse(c, "%s", ERR_OOM);
    }
    if ((c->flags & CL_MULTI) && !txn_control(cmd)) {
        if (cmd->flags & CMD_NO_MULTI)
            return refuse(c, "ERR Command not allowed inside a transaction");
        return multi_queue(c, cmd, argc, argv);
    }
    execute(c, cmd, argc, argv);
}
