/* Connection and server commands: the handlers that need the client, the
 * workers or the config (PING ECHO QUIT RESET HELLO SELECT CLIENT COMMAND
 * INFO CONFIG TIME SHUTDOWN LASTSAVE DEBUG). Replies and errors follow
 * Redis 7.0; sluice answers HELLO and INFO as a 7.0.15 server would, so
 * clients that gate features on the version see what they expect.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "server.h"

#define COMPAT_VERSION "7.0.15"

static struct client *cl(struct cmd_ctx *c) { return c->client; }

static void reply_help(struct reply *r, const char *const *lines)
{
    int n = 0;
    while (lines[n])
        n++;
    reply_array(r, n);
    for (int i = 0; i < n; i++)
        reply_simple(r, lines[i]);
}

void cmd_ping(struct cmd_ctx *c)
{
    if (c->argc > 2)
        return reply_errorf(c->out, "ERR wrong number of arguments for 'ping' command");
    if (c->argc == 1)
        return reply_raw(c->out, "+PONG\r\n", 7);
    reply_bulk(c->out, c->argv[1].ptr, c->argv[1].len);
}

void cmd_echo(struct cmd_ctx *c) { reply_bulk(c->out, c->argv[1].ptr, c->argv[1].len); }

void cmd_quit(struct cmd_ctx *c)
{
    reply_ok(c->out);
    cl(c)->flags |= CL_CLOSE_AFTER_REPLY;
}

void cmd_reset(struct cmd_ctx *c)
{
    struct client *k = cl(c);
    multi_reset(k);
    k->dbid = 0;
    k->reply.proto = 2;
    free(k->name);
    k->name = NULL;
    reply_simple(c->out, "RESET");
}

static bool valid_client_name(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < '!' || p[i] > '~')
            return false;
    return true;
}

static bool set_client_name(struct cmd_ctx *c, const struct resp_arg *a)
{
    struct client *k = cl(c);
    if (!valid_client_name(a->ptr, a->len)) {
        reply_error(c->out,
                    "ERR Client names cannot contain spaces, newlines or special characters.");
        return false;
    }
    free(k->name);
    k->name = NULL;
    if (a->len) {
        k->name = strndup(a->ptr, a->len);
        if (!k->name)
            abort();
    }
    return true;
}

void cmd_hello(struct cmd_ctx *c)
{
    struct client *k = cl(c);
    long long ver = 0;
    int i = 1;

    if (c->argc >= 2) {
        if (!str_to_ll(c->argv[1].ptr, c->argv[1].len, &ver))
            return reply_error(c->out, "ERR Protocol version is not an integer or out of range");
        if (ver < 2 || ver > 3)
            return reply_error(c->out, "NOPROTO unsupported protocol version");
        i = 2;
    }
    const struct resp_arg *setname = NULL;
    for (; i < c->argc; i++) {
        int left = c->argc - i - 1;
        if (arg_is(c, i, "AUTH") && left >= 2) {
            /* No users are configured: "default" has no password. */
            if (!(c->argv[i + 1].len == 7 && !strncmp(c->argv[i + 1].ptr, "default", 7)))
                return reply_error(c->out, "WRONGPASS invalid username-password pair or user is disabled.");
            i += 2;
        } else if (arg_is(c, i, "SETNAME") && left >= 1) {
            setname = &c->argv[++i];
        } else {
            return reply_errorf(c->out, "ERR Syntax error in HELLO option '%.*s'",
                                (int)c->argv[i].len, c->argv[i].ptr);
        }
    }
    if (setname && !set_client_name(c, setname))
        return;
    if (ver)
        k->reply.proto = (int)ver;
    struct reply *r = c->out;
    reply_map(r, 7);
    reply_bulk_cstr(r, "server");
    reply_bulk_cstr(r, "redis");
    reply_bulk_cstr(r, "version");
    reply_bulk_cstr(r, COMPAT_VERSION);
    reply_bulk_cstr(r, "proto");
    reply_int(r, k->reply.proto);
    reply_bulk_cstr(r, "id");
    reply_int(r, (long long)k->id);
    reply_bulk_cstr(r, "mode");
    reply_bulk_cstr(r, "standalone");
    reply_bulk_cstr(r, "role");
    reply_bulk_cstr(r, "master");
    reply_bulk_cstr(r, "modules");
    reply_array(r, 0);
}

void cmd_select(struct cmd_ctx *c)
{
    long long id;
    if (!str_to_ll(c->argv[1].ptr, c->argv[1].len, &id))
        return reply_error(c->out, ERR_NOT_INT);
    if (id < 0 || id >= c->shard->ndb)
        return reply_error(c->out, ERR_DB_INDEX);
    cl(c)->dbid = (int)id;
    reply_ok(c->out);
}

/* ---- CLIENT ---- */

static void format_addr(int fd, bool peer, bool is_unix, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &sl)
                  : getsockname(fd, (struct sockaddr *)&ss, &sl);
    buf[0] = '\0';
    if (rc < 0)
        return;
    if (is_unix || ss.ss_family == AF_UNIX) {
        snprintf(buf, len, "%s:0", peer ? "/unixsocket" : (config.unixsocket ? config.unixsocket : ""));
        return;
    }
    char ip[INET6_ADDRSTRLEN];
    int port;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        port = ntohs(a->sin_port);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        port = ntohs(a->sin6_port);
    }
    snprintf(buf, len, "%s:%d", ip, port);
}

void client_describe(struct client *k, char *buf, size_t len)
{
    char addr[80], laddr[80], flags[8];
    int64_t now = k->w->shard->now_ms;
    bool is_unix = k->flags & CL_UNIX;

    format_addr(k->fd, true, is_unix, addr, sizeof(addr));
    format_addr(k->fd, false, is_unix, laddr, sizeof(laddr));
    snprintf(flags, sizeof(flags), "%s", is_unix ? "U" : "N");
    size_t omem = k->reply.bytes;
    snprintf(buf, len,
             "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=0 "
             "psub=0 ssub=0 multi=-1 qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu "
             "rbp=0 obl=0 oll=0 omem=%zu tot-mem=%zu events=r cmd=%s user=default redir=-1 "
             "resp=%d",
             (unsigned long long)k->id, addr, laddr, k->fd, k->name ? k->name : "",
             (long long)((now - k->ctime_ms) / 1000), (long long)((now - k->last_ms) / 1000),
             flags, k->dbid, k->qlen, k->qcap - k->qlen, k->qcap, omem,
             sizeof(*k) + k->qcap + omem, k->lastcmd ? cmd_fullname(k->lastcmd) : "NULL",
             k->reply.proto);
}

static const char *const client_help[] = {
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "    * ID <client-id>",
    "      Kill connections by client id.",
    "    * MAXAGE <maxage>",
    "      Kill connections older than the specified age.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "HELP",
    "    Prints this help.",
    NULL,
};

struct kill_filter {
    const char *addr, *laddr;
    size_t addr_len, laddr_len;
    long long id;
    bool skipme;
    long long maxage;
    int type; /* 0 any, 1 normal, 2 none (master/replica/pubsub) */
    const char *user;
    size_t user_len;
};

static bool kill_matches(struct client *me, struct client *k, const struct kill_filter *f)
{
    char buf[80];
    if (k->flags & CL_CLOSING)
        return false;
    if (f->skipme && k == me)
        return false;
    if (f->id && (long long)k->id != f->id)
        return false;
    if (f->type == 2)
        return false;
    if (f->user && !(f->user_len == 7 && !strncmp(f->user, "default", 7)))
        return false;
    if (f->maxage && (k->w->shard->now_ms - k->ctime_ms) / 1000 < f->maxage)
        return false;
    if (f->addr) {
        format_addr(k->fd, true, k->flags & CL_UNIX, buf, sizeof(buf));
        if (strlen(buf) != f->addr_len || strncmp(buf, f->addr, f->addr_len))
            return false;
    }
    if (f->laddr) {
        format_addr(k->fd, false, k->flags & CL_UNIX, buf, sizeof(buf));
        if (strlen(buf) != f->laddr_len || strncmp(buf, f->laddr, f->laddr_len))
            return false;
    }
    return true;
}

static int parse_client_type(struct cmd_ctx *c, int i)
{
    if (arg_is(c, i, "normal"))
        return 1;
    if (arg_is(c, i, "master") || arg_is(c, i, "replica") || arg_is(c, i, "slave") ||
        arg_is(c, i, "pubsub"))
        return 2;
    reply_errorf(c->out, "ERR Unknown client type '%.*s'", (int)c->argv[i].len, c->argv[i].ptr);
    return -1;
}

static void client_kill(struct cmd_ctx *c)
{
    struct kill_filter f = {.skipme = true};
    bool old_style = c->argc == 3;

    if (old_style) {
        f.addr = c->argv[2].ptr;
        f.addr_len = c->argv[2].len;
        f.skipme = false;
    } else {
        if (c->argc % 2 == 1)
            return reply_error(c->out, ERR_SYNTAX);
        for (int i = 2; i < c->argc; i += 2) {
            if (arg_is(c, i, "id")) {
                if (!str_to_ll(c->argv[i + 1].ptr, c->argv[i + 1].len, &f.id) || f.id <= 0)
                    return reply_error(c->out, "ERR client-id should be greater than 0");
            } else if (arg_is(c, i, "type")) {
                if ((f.type = parse_client_type(c, i + 1)) < 0)
                    return;
            } else if (arg_is(c, i, "addr")) {
                f.addr = c->argv[i + 1].ptr;
                f.addr_len = c->argv[i + 1].len;
            } else if (arg_is(c, i, "laddr")) {
                f.laddr = c->argv[i + 1].ptr;
                f.laddr_len = c->argv[i + 1].len;
            } else if (arg_is(c, i, "user")) {
                f.user = c->argv[i + 1].ptr;
                f.user_len = c->argv[i + 1].len;
            } else if (arg_is(c, i, "skipme")) {
                if (arg_is(c, i + 1, "yes"))
                    f.skipme = true;
                else if (arg_is(c, i + 1, "no"))
                    f.skipme = false;
                else
                    return reply_error(c->out, ERR_SYNTAX);
            } else if (arg_is(c, i, "maxage")) {
                if (!str_to_ll(c->argv[i + 1].ptr, c->argv[i + 1].len, &f.maxage) ||
                    f.maxage <= 0)
                    return reply_error(c->out, ERR_SYNTAX);
            } else {
                return reply_error(c->out, ERR_SYNTAX);
            }
        }
    }
    long long killed = 0;
    struct client *me = cl(c);
    for (int w = 0; w < server.nworkers; w++) {
        struct client *next;
        for (struct client *k = server.workers[w].clients; k; k = next) {
            next = k->next; /* k may be freed by client_close */
            if (!kill_matches(me, k, &f))
                continue;
            killed++;
            if (k == me)
                me->flags |= CL_CLOSE_AFTER_REPLY;
            else if (k->w == me->w)
                client_close(k, "killed by CLIENT KILL");
            else
                shutdown(k->fd, SHUT_RDWR); /* its own worker sees EOF and closes it */
        }
    }
    if (old_style) {
        if (!killed)
            return reply_error(c->out, "ERR No such client");
        return reply_ok(c->out);
    }
    reply_int(c->out, killed);
}

void cmd_client(struct cmd_ctx *c)
{
    struct client *me = cl(c);
    char line[1024];

    if (arg_is(c, 1, "id"))
        return reply_int(c->out, (long long)me->id);
    if (arg_is(c, 1, "getname"))
        return me->name ? reply_bulk_cstr(c->out, me->name) : reply_null(c->out);
    if (arg_is(c, 1, "setname")) {
        if (set_client_name(c, &c->argv[2]))
            reply_ok(c->out);
        return;
    }
    if (arg_is(c, 1, "info")) {
        client_describe(me, line, sizeof(line));
        strcat(line, "\n");
        return reply_verbatim(c->out, line, strlen(line), "txt");
    }
    if (arg_is(c, 1, "help"))
        return reply_help(c->out, client_help);
    if (arg_is(c, 1, "kill"))
        return client_kill(c);
    /* LIST [TYPE type] [ID id ...] */
    int type = 0;
    long long ids[64];
    int nids = 0;
    for (int i = 2; i < c->argc; i++) {
        if (arg_is(c, i, "type") && i + 1 < c->argc) {
            if ((type = parse_client_type(c, ++i)) < 0)
                return;
        } else if (arg_is(c, i, "id") && i + 1 < c->argc) {
            while (++i < c->argc) {
                long long id;
                if (!str_to_ll(c->argv[i].ptr, c->argv[i].len, &id) || id <= 0)
                    return reply_error(c->out, "ERR Invalid client ID");
                if (nids < 64)
                    ids[nids++] = id;
            }
        } else {
            return reply_error(c->out, ERR_SYNTAX);
        }
    }
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    if (!out)
        abort();
    for (int w = 0; w < server.nworkers; w++) {
        for (struct client *k = server.workers[w].clients; k; k = k->next) {
            if ((k->flags & CL_CLOSING) || type == 2)
                continue;
            bool match = nids == 0;
            for (int j = 0; j < nids; j++)
                match |= (long long)k->id == ids[j];
            if (!match)
                continue;
            client_describe(k, line, sizeof(line));
            size_t n = strlen(line);
            if (len + n + 2 > cap) {
                cap = (len + n + 2) * 2;
                out = realloc(out, cap);
                if (!out)
                    abort();
            }
            memcpy(out + len, line, n);
            len += n;
            out[len++] = '\n';
        }
    }
    reply_verbatim(c->out, out, len, "txt");
    free(out);
}

/* ---- COMMAND ---- */

static const char *const flag_names[] = {
    "write", "readonly", "denyoom", "admin", "noscript", "loading", "stale", "fast",
    "no_auth", "allow_busy", "skip_slowlog", "no_multi", "sentinel",
    NULL /* CMD_KEYSPACE: routing only */, "blocking", "movablekeys",
};


/* A set of the space-separated words (NULL: empty), as simple strings with
 * an optional prefix, or as bulk strings when prefix is NULL. */
static void reply_words(struct reply *r, const char *words, const char *prefix)
{
    reply_set(r, words ? cfg_count_words(words) : 0);
    for (const char *p = words; p && *p;) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if (e > p && prefix)
            reply_simple_fmt(r, "%s%.*s", prefix, (int)(e - p), p);
        else if (e > p)
            reply_bulk(r, p, (size_t)(e - p));
        p = e;
    }
}

/* Emit the key specs of cmd->keyspecs ("FLAGS;index;lastkey;keystep|..."). */
static void reply_key_specs(struct reply *r, const struct command *cmd)
{
    const char *p = cmd->keyspecs;
    int n = 0;
    for (const char *q = p; q && *q; q++)
        n += *q == '|';
    reply_set(r, p && *p ? n + 1 : 0);
    for (int i = 0; p && *p; i++) {
        char flags[64];
        int idx, a, b, c3, used = 0;
        bool keynum = false;
        /* "FLAGS;index;lastkey;keystep" or "FLAGS;index;Kkeynumidx,firstkey,keystep" */
        if (sscanf(p, "%63[^;];%d;%d;%d%n", flags, &idx, &a, &b, &used) == 4)
            c3 = 0;
        else if (sscanf(p, "%63[^;];%d;K%d,%d,%d%n", flags, &idx, &a, &b, &c3, &used) == 5)
            keynum = true;
        else
            break;
        bool notes = i == 0 && cmd->keynotes;
        reply_map(r, 3 + notes);
        if (notes) {
            reply_bulk_cstr(r, "notes");
            reply_bulk_cstr(r, cmd->keynotes);
        }
        reply_bulk_cstr(r, "flags");
        reply_words(r, flags, "");
        reply_bulk_cstr(r, "begin_search");
        reply_map(r, 2);
        reply_bulk_cstr(r, "type");
        reply_bulk_cstr(r, "index");
        reply_bulk_cstr(r, "spec");
        reply_map(r, 1);
        reply_bulk_cstr(r, "index");
        reply_int(r, idx);
        reply_bulk_cstr(r, "find_keys");
        reply_map(r, 2);
        reply_bulk_cstr(r, "type");
        reply_bulk_cstr(r, keynum ? "keynum" : "range");
        reply_bulk_cstr(r, "spec");
        reply_map(r, 3);
        reply_bulk_cstr(r, keynum ? "keynumidx" : "lastkey");
        reply_int(r, a);
        reply_bulk_cstr(r, keynum ? "firstkey" : "keystep");
        reply_int(r, b);
        reply_bulk_cstr(r, keynum ? "keystep" : "limit");
        reply_int(r, c3);
        p += used;
        if (*p == '|')
            p++;
    }
}

static void reply_command_info(struct reply *r, const struct command *cmd)
{
    int nflags = 0;
    for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
        nflags += flag_names[i] && ((cmd->flags >> i) & 1);
    reply_array(r, 10);
    reply_bulk_cstr(r, cmd->name);
    reply_int(r, cmd->arity);
    reply_set(r, nflags);
    for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
        if (flag_names[i] && ((cmd->flags >> i) & 1))
            reply_simple(r, flag_names[i]);
    reply_int(r, cmd->first_key);
    reply_int(r, cmd->last_key);
    reply_int(r, cmd->key_step);
    reply_words(r, cmd->acl, "@");
    reply_words(r, cmd->tips, NULL);
    reply_key_specs(r, cmd);
    int nsubs = 0;
    for (const struct command *s = cmd->subs; s && s->name; s++)
        nsubs++;
    reply_set(r, nsubs);
    for (const struct command *s = cmd->subs; s && s->name; s++)
        reply_command_info(r, s);
}

/* The end of one argument in a COMMAND DOCS argument spec (see
 * commands.h): the next top-level space, ')' or the end. */
static const char *arg_end(const char *p)
{
    int depth = 0;
    for (; *p; p++) {
        if (*p == '(')
            depth++;
        else if (*p == ')' && depth-- == 0)
            break;
        else if (*p == ' ' && depth == 0)
            break;
    }
    return p;
}

/* Emit the argument list starting at p as an array of maps; returns the
 * position after it. Key arguments are numbered in order (key_spec_index). */
static const char *reply_args(struct reply *r, const char *p, int *key_index)
{
    int n = 0;
    for (const char *q = p; *q && *q != ')'; n++) {
        q = arg_end(q);
        if (*q == ' ')
            q++;
    }
    reply_array(r, n);
    for (int i = 0; i < n; i++) {
        const char *field[3] = {NULL, NULL, NULL};
        size_t flen[3] = {0, 0, 0};
        int nf = 0;
        /* name,type[,token] up to the first flag, '(' or separator */
        for (;;) {
            field[nf] = p;
            p += strcspn(p, ",?*#( )");
            flen[nf] = (size_t)(p - field[nf]);
            nf++;
            if (*p != ',' || nf == 3)
                break;
            p++;
        }
        bool opt = false, multi = false, multi_tok = false;
        for (; *p == '?' || *p == '*' || *p == '#'; p++) {
            opt |= *p == '?';
            multi |= *p == '*';
            multi_tok |= *p == '#';
        }
        bool is_key = flen[1] == 3 && !strncmp(field[1], "key", 3);
        int nflags = opt + multi + multi_tok;
        reply_map(r, 2 + is_key + (nf == 3) + (nflags > 0) + (*p == '('));
        reply_bulk_cstr(r, "name");
        reply_bulk(r, field[0], flen[0]);
        reply_bulk_cstr(r, "type");
        reply_bulk(r, field[1], flen[1]);
        if (is_key) {
            reply_bulk_cstr(r, "key_spec_index");
            reply_int(r, (*key_index)++);
        }
        if (nf == 3) {
            reply_bulk_cstr(r, "token");
            reply_bulk(r, field[2], flen[2]);
        }
        if (nflags) {
            reply_bulk_cstr(r, "flags");
            reply_set(r, nflags);
            if (opt)
                reply_simple(r, "optional");
            if (multi)
                reply_simple(r, "multiple");
            if (multi_tok)
                reply_simple(r, "multiple_token");
        }
        if (*p == '(') {
            reply_bulk_cstr(r, "arguments");
            p = reply_args(r, p + 1, key_index);
            if (*p == ')')
                p++;
        }
        if (*p == ' ')
            p++;
    }
    return p;
}

static void reply_command_docs(struct reply *r, const struct command *cmd)
{
    int nsubs = 0;
    for (const struct command *s = cmd->subs; s && s->name; s++)
        nsubs++;
    reply_map(r, 4 + (cmd->args != NULL) + (nsubs > 0));
    reply_bulk_cstr(r, "summary");
    reply_bulk_cstr(r, cmd->summary);
    reply_bulk_cstr(r, "since");
    reply_bulk_cstr(r, cmd->since);
    reply_bulk_cstr(r, "group");
    reply_bulk_cstr(r, cmd->group);
    reply_bulk_cstr(r, "complexity");
    reply_bulk_cstr(r, cmd->complexity);
    if (cmd->args) {
        int key_index = 0;
        reply_bulk_cstr(r, "arguments");
        reply_args(r, cmd->args, &key_index);
    }
    if (nsubs) {
        reply_bulk_cstr(r, "subcommands");
        reply_map(r, nsubs);
        for (const struct command *s = cmd->subs; s && s->name; s++) {
            reply_bulk_cstr(r, s->name);
            reply_command_docs(r, s);
        }
    }
}

/* Resolve "config|get" or "get" as COMMAND INFO/DOCS accept them. */
static const struct command *lookup_fullname(const char *name, size_t len)
{
    const char *bar = memchr(name, '|', len);
    if (!bar)
        return cmd_lookup(name, len);
    const struct command *p = cmd_lookup(name, (size_t)(bar - name));
    return p ? cmd_lookup_sub(p, bar + 1, len - (size_t)(bar - name) - 1) : NULL;
}

static const char *const command_help[] = {
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all commands.",
    "COUNT",
    "    Return the total number of commands in this server.",
    "LIST",
    "    Return a list of all commands in this server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full command.",
    "HELP",
    "    Prints this help.",
    NULL,
};

static void command_getkeys(struct cmd_ctx *c)
{
    const struct command *cmd = cmd_lookup(c->argv[2].ptr, c->argv[2].len);
    int argc = c->argc - 2;
    const struct resp_arg *argv = c->argv + 2;

    if (cmd && cmd->subs && argc >= 2) {
        const struct command *sub = cmd_lookup_sub(cmd, argv[1].ptr, argv[1].len);
        if (sub)
            cmd = sub;
    }
    if (!cmd)
        return reply_error(c->out, "ERR Invalid command specified");
    if (cmd->arity > 0 ? argc != cmd->arity : argc < -cmd->arity)
        return reply_error(c->out, "ERR Invalid number of arguments specified for command");
    if (cmd->first_key <= 0 && !cmd->numkeys && !cmd->getkeys)
        return reply_error(c->out, "ERR The command has no key arguments");
    int *idx = malloc(sizeof(int) * (size_t)argc);
    int n = cmd_key_args(cmd, argc, argv, idx, argc);
    if (n == 0 && cmd->numkeys) {
        free(idx);
        return reply_error(c->out, "ERR Invalid arguments specified for command");
    }
    reply_array(c->out, n);
    for (int i = 0; i < n; i++)
        reply_bulk(c->out, argv[idx[i]].ptr, argv[idx[i]].len);
    free(idx);
}

void cmd_command(struct cmd_ctx *c)
{
    int n;
    const struct command *t = cmd_table(&n);

    if (c->argc == 1 || arg_is(c, 1, "info")) {
        if (c->argc <= 2) {
            reply_array(c->out, n);
            for (int i = 0; i < n; i++)
                reply_command_info(c->out, &t[i]);
            return;
        }
        reply_array(c->out, c->argc - 2);
        for (int i = 2; i < c->argc; i++) {
            const struct command *cmd = lookup_fullname(c->argv[i].ptr, c->argv[i].len);
            if (cmd)
                reply_command_info(c->out, cmd);
            else
                reply_null(c->out);
        }
        return;
    }
    if (arg_is(c, 1, "count"))
        return reply_int(c->out, n);
    if (arg_is(c, 1, "help"))
        return reply_help(c->out, command_help);
    if (arg_is(c, 1, "getkeys"))
        return command_getkeys(c);
    if (arg_is(c, 1, "docs")) {
        if (c->argc == 2) {
            reply_map(c->out, n);
            for (int i = 0; i < n; i++) {
                reply_bulk_cstr(c->out, t[i].name);
                reply_command_docs(c->out, &t[i]);
            }
            return;
        }
        int found = 0;
        for (int i = 2; i < c->argc; i++)
            found += lookup_fullname(c->argv[i].ptr, c->argv[i].len) != NULL;
        reply_map(c->out, found);
        for (int i = 2; i < c->argc; i++) {
            const struct command *cmd = lookup_fullname(c->argv[i].ptr, c->argv[i].len);
            if (!cmd)
                continue;
            reply_bulk_cstr(c->out, cmd->name);
            reply_command_docs(c->out, cmd);
        }
        return;
    }
    /* LIST [FILTERBY MODULE name | ACLCAT cat | PATTERN pat] */
    const char *pat = NULL, *cat = NULL;
    size_t plen = 0;
    bool module = false;
    if (c->argc == 5 && arg_is(c, 2, "filterby")) {
        if (arg_is(c, 3, "module"))
            module = true;
        else if (arg_is(c, 3, "aclcat"))
            cat = c->argv[4].ptr;
        else if (arg_is(c, 3, "pattern"))
            pat = c->argv[4].ptr, plen = c->argv[4].len;
        else
            return reply_error(c->out, ERR_SYNTAX);
    } else if (c->argc != 2) {
        return reply_error(c->out, ERR_SYNTAX);
    }
    const struct command *hits[512];
    int nh = 0;
    for (int i = 0; i < n && !module; i++) {
        for (const struct command *cmd = &t[i]; cmd; cmd = NULL) {
            if (pat && !store_match(pat, plen, cmd->name, strlen(cmd->name), true))
                continue;
            if (cat) {
                char want[64];
                snprintf(want, sizeof(want), " %.*s ", (int)c->argv[4].len, cat);
                char have[256];
                snprintf(have, sizeof(have), " %s ", cmd->acl);
                if (!strcasestr(have, want))
                    continue;
            }
            hits[nh++] = cmd;
        }
        for (const struct command *s = t[i].subs; s && s->name && nh < 512; s++) {
            if (pat && !store_match(pat, plen, s->name, strlen(s->name), true))
                continue;
            if (cat)
                continue;
            hits[nh++] = s;
        }
    }
    reply_array(c->out, nh);
    for (int i = 0; i < nh; i++)
        reply_bulk_cstr(c->out, hits[i]->name);
}

/* ---- INFO ---- */

struct sbuilder {
    char *p;
    size_t len, cap;
};

static void sb_printf(struct sbuilder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuilder *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
}

static void human_bytes(char *buf, size_t len, double n)
{
    if (n < 1024)
        snprintf(buf, len, "%lluB", (unsigned long long)n);
    else if (n < 1024.0 * 1024)
        snprintf(buf, len, "%.2fK", n / 1024);
    else if (n < 1024.0 * 1024 * 1024)
        snprintf(buf, len, "%.2fM", n / (1024.0 * 1024));
    else
        snprintf(buf, len, "%.2fG", n / (1024.0 * 1024 * 1024));
}


static bool want_section(struct cmd_ctx *c, const char *name, bool deflt)
{
    if (c->argc == 1)
        return deflt;
    for (int i = 1; i < c->argc; i++)
        if (arg_is(c, i, name) || arg_is(c, i, "all") || arg_is(c, i, "everything") ||
            (deflt && arg_is(c, i, "default")))
            return true;
    return false;
}

void cmd_info(struct cmd_ctx *c)
{
    struct sbuilder b = {0};
    int64_t now = ustime();
    struct server_stats *st = &server.stats;
    char h1[32], h2[32], h3[32];

    b.cap = 4096;
    b.p = malloc(b.cap);
    if (!b.p)
        abort();
    b.p[0] = '\0';

    if (want_section(c, "server", true)) {
        struct utsname u;
        uname(&u);
        int64_t up = (now / 1000 - server.start_ms) / 1000;
        sb_printf(&b,
                  "# Server\r\nredis_version:%s\r\nsluice_version:%s\r\nredis_git_sha1:00000000\r\n"
                  "redis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\n"
                  "os:%s %s %s\r\narch_bits:%d\r\nmonotonic_clock:POSIX clock_gettime\r\n"
                  "multiplexing_api:io_uring\r\natomicvar_api:c11-builtin\r\n"
                  "gcc_version:%d.%d.%d\r\nprocess_id:%d\r\nprocess_supervised:no\r\n"
                  "run_id:%s\r\ntcp_port:%lld\r\nserver_time_usec:%lld\r\n"
                  "uptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\nhz:%lld\r\n"
                  "configured_hz:%lld\r\nlru_clock:%u\r\nexecutable:%s\r\nconfig_file:%s\r\n"
                  "io_threads_active:0\r\ndataplane_workers:%d\r\n\r\n",
                  COMPAT_VERSION, SLUICE_VERSION, u.sysname, u.release, u.machine,
                  (int)sizeof(void *) * 8, __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
                  (int)getpid(), server.run_id, config.port, (long long)now,
                  (long long)up, (long long)(up / 86400), config.hz, config.hz,
                  c->shard->lru_clock, server.executable, server.config_file, server.nworkers);
    }
    if (want_section(c, "clients", true)) {
        size_t maxq = 0, maxo = 0;
        for (int w = 0; w < server.nworkers; w++)
            for (struct client *k = server.workers[w].clients; k; k = k->next) {
                if (k->qcap > maxq)
                    maxq = k->qcap;
                if (k->reply.bytes > maxo)
                    maxo = k->reply.bytes;
            }
        sb_printf(&b,
                  "# Clients\r\nconnected_clients:%d\r\ncluster_connections:0\r\nmaxclients:%lld\r\n"
                  "client_recent_max_input_buffer:%zu\r\nclient_recent_max_output_buffer:%zu\r\n"
                  "blocked_clients:%d\r\ntracking_clients:0\r\nclients_in_timeout_table:0\r\n\r\n",
                  atomic_load(&server.connected_clients), config.maxclients, maxq, maxo,
                  atomic_load(&server.blocked_clients));
    }
    if (want_section(c, "memory", true)) {
        struct mem_figures f;
        mem_figures(&f);
        char h4[32], h5[32];
        human_bytes(h1, sizeof(h1), (double)f.used);
        human_bytes(h2, sizeof(h2), (double)f.rss);
        human_bytes(h3, sizeof(h3), (double)f.peak);
        human_bytes(h4, sizeof(h4), (double)store_evict.maxmemory);
        human_bytes(h5, sizeof(h5), (double)f.startup);
        static const char *const policies[] = {
            "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
            "allkeys-lru",  "allkeys-lfu",  "allkeys-random",  "noeviction",
            "allkeys-sieve"};
        sb_printf(&b,
                  "# Memory\r\nused_memory:%zu\r\nused_memory_human:%s\r\nused_memory_rss:%zu\r\n"
                  "used_memory_rss_human:%s\r\nused_memory_peak:%zu\r\nused_memory_peak_human:%s\r\n"
                  "used_memory_peak_perc:%.2f%%\r\nused_memory_overhead:%zu\r\n"
                  "used_memory_startup:%zu\r\nused_memory_startup_human:%s\r\n"
                  "used_memory_dataset:%zu\r\nused_memory_dataset_perc:%.2f%%\r\n"
                  "allocator_allocated:%zu\r\nallocator_active:%zu\r\nallocator_resident:%zu\r\n"
                  "maxmemory:%lld\r\nmaxmemory_human:%s\r\nmaxmemory_policy:%s\r\n"
                  "allocator_frag_ratio:%.2f\r\nallocator_frag_bytes:%lld\r\n"
                  "mem_fragmentation_ratio:%.2f\r\nmem_fragmentation_bytes:%lld\r\n"
                  "mem_not_counted_for_evict:0\r\nmem_clients_slaves:0\r\n"
                  "mem_clients_normal:%zu\r\nlazyfree_pending_objects:%zu\r\n"
                  "mem_allocator:jemalloc-5.3.0\r\n\r\n",
                  f.used, h1, f.rss, h2, f.peak, h3,
                  f.peak ? 100.0 * (double)f.used / (double)f.peak : 0, f.overhead, f.startup,
                  h5, f.dataset,
                  f.used > f.startup ? 100.0 * (double)f.dataset / (double)(f.used - f.startup)
                                     : 0,
                  f.allocated, f.active, f.resident, store_evict.maxmemory, h4,
                  policies[store_evict.policy],
                  f.allocated ? (double)f.active / (double)f.allocated : 0,
                  (long long)f.active - (long long)f.allocated,
                  f.used ? (double)f.rss / (double)f.used : 0,
                  (long long)f.rss - (long long)f.used, f.clients, lazyfree_pending());
    }
    if (want_section(c, "persistence", true)) {
        char pb[2048];
        persist_info(pb, sizeof(pb));
        sb_printf(&b, "# Persistence\r\n%s\r\n", pb);
    }
    if (want_section(c, "stats", true)) {
        uint64_t expired = 0, hits = 0, misses = 0, evicted = 0, cpu = 0;
        for (int w = 0; w < server.nworkers; w++) {
            struct shard_stats *s = &server.workers[w].shard->stats;
            expired += s->expired_keys;
            hits += s->keyspace_hits;
            misses += s->keyspace_misses;
            evicted += s->evicted_keys;
            cpu += s->expire_cycle_cpu_ms;
        }
        sb_printf(&b,
                  "# Stats\r\ntotal_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
                  "total_net_input_bytes:%llu\r\ntotal_net_output_bytes:%llu\r\n"
                  "rejected_connections:%llu\r\nexpired_keys:%llu\r\nexpire_cycle_cpu_milliseconds:%llu\r\n"
                  "evicted_keys:%llu\r\nkeyspace_hits:%llu\r\nkeyspace_misses:%llu\r\n"
                  "total_error_replies:0\r\nunexpected_error_replies:0\r\n"
                  "total_protocol_errors:%llu\r\n\r\n",
                  (unsigned long long)st->connections_received,
                  (unsigned long long)st->commands_processed,
                  (unsigned long long)st->net_input_bytes,
                  (unsigned long long)st->net_output_bytes,
                  (unsigned long long)st->rejected_connections, (unsigned long long)expired,
                  (unsigned long long)cpu, (unsigned long long)evicted,
                  (unsigned long long)hits, (unsigned long long)misses,
                  (unsigned long long)st->protocol_errors);
    }
    if (want_section(c, "cpu", true)) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        sb_printf(&b, "# CPU\r\nused_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\n\r\n",
                  (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec, (long)ru.ru_utime.tv_sec,
                  (long)ru.ru_utime.tv_usec);
    }
    if (want_section(c, "keyspace", true)) {
        sb_printf(&b, "# Keyspace\r\n");
        for (int d = 0; d < c->shard->ndb; d++) {
            uint64_t keys = 0, vol = 0;
            int64_t ttl = 0;
            for (int w = 0; w < server.nworkers; w++) {
                struct db *db = &server.workers[w].shard->db[d];
                keys += db_size(db);
                vol += db->volatile_keys;
                ttl = db->avg_ttl;
            }
            if (keys)
                sb_printf(&b, "db%d:keys=%llu,expires=%llu,avg_ttl=%lld\r\n", d,
                          (unsigned long long)keys, (unsigned long long)vol, (long long)ttl);
        }
    }
    /* Like Redis, no trailing blank line after the last section. */
    while (b.len >= 2 && b.p[b.len - 1] == '\n' && b.p[b.len - 3] == '\n')
        b.len -= 2;
    reply_verbatim(c->out, b.p, b.len, "txt");
    free(b.p);
}

/* ---- CONFIG ---- */

static const char *const config_help[] = {
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "HELP",
    "    Prints this help.",
    NULL,
};

static bool is_pattern(const struct resp_arg *a)
{
    return memchr(a->ptr, '*', a->len) || memchr(a->ptr, '?', a->len) ||
           memchr(a->ptr, '[', a->len);
}

/* CONFIG GET: an exact name is echoed as the client typed it (as Redis
 * does); a pattern lists the canonical names it matches. */
static void config_get(struct cmd_ctx *c)
{
    int n;
    const struct cfg_option *opts = cfg_options(&n);
    const struct resp_arg *as_typed[64] = {0};
    bool hit[64] = {0};
    int count = 0;

    for (int i = 2; i < c->argc; i++) {
        for (int j = 0; j < n && j < 64; j++) {
            if (hit[j])
                continue;
            if (is_pattern(&c->argv[i])
                    ? store_match(c->argv[i].ptr, c->argv[i].len, opts[j].name,
                                  strlen(opts[j].name), true)
                    : (c->argv[i].len == strlen(opts[j].name) &&
                       !strncasecmp(c->argv[i].ptr, opts[j].name, c->argv[i].len))) {
                hit[j] = true;
                as_typed[j] = is_pattern(&c->argv[i]) ? NULL : &c->argv[i];
                count++;
            }
        }
    }
    reply_map(c->out, count);
    for (int j = 0; j < n && j < 64; j++) {
        if (!hit[j])
            continue;
        char val[4096];
        cfg_format(&opts[j], val, sizeof(val));
        if (as_typed[j])
            reply_bulk(c->out, as_typed[j]->ptr, as_typed[j]->len);
        else
            reply_bulk_cstr(c->out, opts[j].name);
        reply_bulk_cstr(c->out, val);
    }
}

static bool is_local_client(struct client *k);

static void config_set(struct cmd_ctx *c)
{
    char err[512];
    const struct cfg_option *set[32];
    int nset = 0;

    if (c->argc % 2)
        return reply_error(c->out, ERR_SYNTAX);
    if (c->argc > 2 + 2 * 32)
        return reply_error(c->out, "ERR CONFIG SET failed - too many parameters");
    /* Validate names first so nothing changes on a bad request. */
    for (int i = 2; i < c->argc; i += 2) {
        const struct cfg_option *o = cfg_find(c->argv[i].ptr, c->argv[i].len);
        if (!o)
            return reply_errorf(c->out,
                                "ERR Unknown option or number of arguments for CONFIG SET - '%.*s'",
                                (int)c->argv[i].len, c->argv[i].ptr);
        for (int j = 0; j < nset; j++)
            if (set[j] == o)
                return reply_errorf(c->out,
                                    "ERR CONFIG SET failed (possibly related to argument '%.*s') - "
                                    "duplicate parameter",
                                    (int)c->argv[i].len, c->argv[i].ptr);
        if ((o->flags & CFG_PROTECTED) &&
            !(config.enable_protected_configs == 1 ||
              (config.enable_protected_configs == 2 && is_local_client(cl(c)))))
            return reply_errorf(c->out,
                                "ERR CONFIG SET failed (possibly related to argument '%.*s') - "
                                "can't set protected config",
                                (int)c->argv[i].len, c->argv[i].ptr);
        set[nset++] = o;
    }
    /* Apply; on failure restore the values already changed. */
    char old[32][4096];
    for (int j = 0; j < nset; j++)
        cfg_format(set[j], old[j], sizeof(old[j]));
    for (int j = 0; j < nset; j++) {
        const struct resp_arg *v = &c->argv[3 + 2 * j];
        if (cfg_set(set[j], v->ptr, v->len, true, err, sizeof(err)) != 0) {
            char ignored[256];
            for (int k = 0; k < j; k++)
                cfg_set(set[k], old[k], strlen(old[k]), true, ignored, sizeof(ignored));
            return reply_errorf(c->out,
                                "ERR CONFIG SET failed (possibly related to argument '%.*s') - %s",
                                (int)c->argv[2 + 2 * j].len, c->argv[2 + 2 * j].ptr, err);
        }
    }
    reply_ok(c->out);
}

void cmd_config(struct cmd_ctx *c)
{
    if (arg_is(c, 1, "get"))
        return config_get(c);
    if (arg_is(c, 1, "set"))
        return config_set(c);
    if (arg_is(c, 1, "help"))
        return reply_help(c->out, config_help);
    /* RESETSTAT */
    memset(&server.stats, 0, sizeof(server.stats));
    for (int w = 0; w < server.nworkers; w++)
        memset(&server.workers[w].shard->stats, 0, sizeof(struct shard_stats));
    mem_reset_peak();
    reply_ok(c->out);
}

/* ---- the rest ---- */

void cmd_time(struct cmd_ctx *c)
{
    int64_t us = ustime();
    reply_array(c->out, 2);
    reply_bulk_ll(c->out, us / 1000000);
    reply_bulk_ll(c->out, us % 1000000);
}

void cmd_lastsave(struct cmd_ctx *c) { reply_int(c->out, server.lastsave); }

void cmd_shutdown(struct cmd_ctx *c)
{
    bool abort_req = false, save = false, nosave = false;
    for (int i = 1; i < c->argc; i++) {
        save |= arg_is(c, i, "save");
        nosave |= arg_is(c, i, "nosave");
        if (arg_is(c, i, "nosave") || arg_is(c, i, "save") || arg_is(c, i, "now") ||
            arg_is(c, i, "force"))
            continue;
        if (arg_is(c, i, "abort")) {
            abort_req = true;
            continue;
        }
        return reply_error(c->out, ERR_SYNTAX);
    }
    if (abort_req) {
        if (c->argc != 2)
            return reply_error(c->out, ERR_SYNTAX);
        return reply_error(c->out, "ERR No shutdown in progress.");
    }
    log_msg(LL_WARNING, "User requested shutdown...");
    /* While loading there is no complete dataset to save (Redis too). */
    if (!nosave && !atomic_load(&server.loading) && !persist_shutdown(c, save))
        return reply_error(c->out, "ERR Errors trying to SHUTDOWN. Check logs.");
    atomic_store(&server.stop, 1);
    /* No reply: the connection closes as the server exits. */
    cl(c)->flags |= CL_CLOSE_AFTER_REPLY;
}

static const char *const debug_help[] = {
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "OBJECT <key>",
    "    Show low level info about the key and associated value.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "HELP",
    "    Prints this help.",
    NULL,
};

/* Bytes an RDB length prefix takes (used for serializedlength). */
static size_t rdb_len_bytes(size_t n) { return n < 64 ? 1 : n < 16384 ? 2 : n <= 0xffffffffu ? 5 : 9; }

static bool is_local_client(struct client *k)
{
    char addr[80];
    if (k->flags & CL_UNIX)
        return true;
    format_addr(k->fd, true, false, addr, sizeof(addr));
    return !strncmp(addr, "127.", 4) || !strncmp(addr, "::1:", 4);
}

void cmd_debug(struct cmd_ctx *c)
{
    if (config.enable_debug_command == 0 ||
        (config.enable_debug_command == 2 && !is_local_client(cl(c))))
        return reply_error(c->out,
                           "ERR DEBUG command not allowed. If the enable-debug-command option is "
                           "set to \"local\", you can run it from a local connection, otherwise "
                           "you need to set this option in the configuration file, and then "
                           "restart the server.");
    if (arg_is(c, 1, "help"))
        return reply_help(c->out, debug_help);
    if (persist_debug(c))
        return;
    if (arg_is(c, 1, "sleep") && c->argc == 3) {
        long double secs;
        if (!arg_ld(c, 2, &secs))
            return;
        if (secs > 0) {
            struct timespec ts = {.tv_sec = (time_t)secs,
                                  .tv_nsec = (long)((secs - (time_t)secs) * 1e9L)};
            nanosleep(&ts, NULL);
        }
        return reply_ok(c->out);
    }
    if (arg_is(c, 1, "object") && c->argc == 3) {
        struct entry *e = key_lookup(c, 2, LOOKUP_NOTOUCH | LOOKUP_NOSTATS, NULL);
        if (!e)
            return reply_error(c->out, ERR_NO_KEY);
        static const char *const enc_names[] = {
            [ENC_RAW] = "raw", [ENC_INT] = "int", [ENC_HT] = "hashtable",
            [ENC_INTSET] = "intset", [ENC_SKIPLIST] = "skiplist", [ENC_EMBSTR] = "embstr",
            [ENC_QUICKLIST] = "quicklist", [ENC_LISTPACK] = "listpack"};
        char buf[21];
        size_t slen = 0, ser;
        int enc = entry_enc(e);
        if (enc == ENC_INT) {
            long long v = entry_int(e);
            ser = (v >= -128 && v <= 127) ? 2 : (v >= -32768 && v <= 32767) ? 3
                : (v >= INT32_MIN && v <= INT32_MAX) ? 5 : 0;
            if (!ser) {
                entry_str(e, &slen, buf);
                ser = rdb_len_bytes(slen) + slen;
            }
        } else {
            entry_str(e, &slen, buf);
            ser = rdb_len_bytes(slen) + slen;
        }
        uint32_t idle = (c->shard->lru_clock - entry_lru(e)) & 0xffffff;
        return reply_simple_fmt(c->out,
                                "Value at:%p refcount:1 encoding:%s serializedlength:%zu "
                                "lru:%u lru_seconds_idle:%u",
                                (void *)e, enc_names[enc] ? enc_names[enc] : "unknown", ser,
                                entry_lru(e), idle);
    }
    reply_errorf(c->out, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try DEBUG HELP.",
                 (int)c->argv[1].len, c->argv[1].ptr);
}

/* CLUSTER KEYSLOT key: the slot a key hashes to (CRC16 of the key or of its
 * first non-empty {hash tag}, mod 16384), as a cluster node answers. */
/* sluiced is one node without cluster support: CLUSTER KEYSLOT answers as
 * a cluster node does (clients use it to group keys by slot, which is how
 * keys map to shards here too); every other subcommand gets the error of a
 * Redis started without cluster-enabled. */
void cmd_cluster(struct cmd_ctx *c)
{
    if (arg_is(c, 1, "keyslot"))
        return reply_int(c->out, dp_keyslot(c->argv[2].ptr, c->argv[2].len));
    reply_error(c->out, "ERR This instance has cluster support disabled");
}
