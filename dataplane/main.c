/* sluiced: the data daemon's entry point.
 *
 * Command line as redis-server's: `sluiced [config-file] [--option value ...]`.
 * The main thread reads the config, binds the listeners (so a port already
 * in use fails here with a clear message), starts the workers, and then only
 * waits for SIGTERM/SIGINT or a SHUTDOWN request before stopping them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd.h"
#include "server.h"

struct server server;

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: sluiced [/path/to/sluice.conf] [--option value ...]\n"
            "       sluiced --version\n"
            "       sluiced --dump-config   (print every option with its default)\n"
            "Examples:\n"
            "       sluiced\n"
            "       sluiced --port 7000 --bind 127.0.0.1\n"
            "       sluiced firmware-cfg/sluice.conf --loglevel verbose\n");
}

static void fatal(const char *msg)
{
    fprintf(stderr, "%s\n", msg);
    exit(1);
}

static void make_run_id(void)
{
    unsigned char raw[20];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw)) {
        for (size_t i = 0; i < sizeof(raw); i++)
            raw[i] = (unsigned char)(ustime() >> (i % 8));
    }
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i < sizeof(raw); i++)
        sprintf(server.run_id + 2 * i, "%02x", raw[i]);
}

/* Bind one TCP address; returns the fd, or -1 with errno set. */
/* Bind one TCP address; with reuseport, several sockets share the port
 * (one per worker) and the kernel spreads connections by flow hash. */
static int listen_tcp(const char *addr, int port, bool reuseport, bool do_listen,
                      int *err_stage)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST};
    struct addrinfo *res;
    char portstr[8];
    const char *host = addr;

    if (!strcmp(addr, "*"))
        host = "0.0.0.0";
    else if (!strcmp(addr, "::*"))
        host = "::";
    snprintf(portstr, sizeof(portstr), "%d", port);
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc) {
        *err_stage = 0;
        errno = EADDRNOTAVAIL;
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err_stage = 0;
        freeaddrinfo(res);
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (res->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
        *err_stage = 1;
        goto fail;
    }
    if (do_listen && listen(fd, (int)config.tcp_backlog) < 0) {
        *err_stage = 2;
        goto fail;
    }
    freeaddrinfo(res);
    return fd;
fail:;
    int e = errno;
    close(fd);
    freeaddrinfo(res);
    errno = e;
    return -1;
}

static void add_listener(struct worker *w, int fd)
{
    if (w->nlisten == MAX_LISTENERS_PER_WORKER)
        fatal("Too many bind addresses specified.");
    w->listen_fds[w->nlisten++] = fd;
}

/* Connections are spread over workers with SO_REUSEPORT: every worker has
 * its own listening socket per address and accepts on it, so accepting
 * needs no hand-off between cores and the kernel balances by flow hash.
 * A socket without SO_REUSEPORT is bound first, alone, so that a port
 * already in use (by another sluiced too) fails here with a clear message.
 * The Unix socket is served by worker 0. */
static void open_listeners(void)
{
    static const char *const stage[] = {"socket", "bind", "listen"};
    char *addrs = strdup(config.bind);
    char *save = NULL;
    bool multi = server.nworkers > 1;

    server.unix_listen_fd = -1;
    if (config.port > 0) {
        for (char *a = strtok_r(addrs, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
            bool optional = a[0] == '-';
            if (optional)
                a++;
            int st = 0, fd = listen_tcp(a, (int)config.port, false, !multi, &st);
            if (fd < 0) {
                if (optional && (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT ||
                                 errno == EPROTONOSUPPORT))
                    continue;
                log_msg(LL_WARNING, "Warning: Could not create server TCP listening socket %s:%lld: %s: %s",
                        a, config.port, stage[st], strerror(errno));
                log_msg(LL_WARNING, "Failed listening on port %lld (tcp), aborting.", config.port);
                if (config.logfile && config.logfile[0])
                    fprintf(stderr, "Could not listen on %s:%lld: %s\n", a, config.port,
                            strerror(errno));
                exit(1);
            }
            if (!multi) {
                add_listener(&server.workers[0], fd);
                continue;
            }
            close(fd); /* the probe: the port is free */
            for (int i = 0; i < server.nworkers; i++) {
                int wfd = listen_tcp(a, (int)config.port, true, true, &st);
                if (wfd < 0) {
                    log_msg(LL_WARNING, "Could not create listening socket %s:%lld for worker %d: %s",
                            a, config.port, i, strerror(errno));
                    exit(1);
                }
                add_listener(&server.workers[i], wfd);
            }
        }
    }
    free(addrs);
    if (config.unixsocket && config.unixsocket[0]) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(config.unixsocket) >= sizeof(sa.sun_path))
            fatal("unixsocket path too long");
        strcpy(sa.sun_path, config.unixsocket);
        unlink(config.unixsocket);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            listen(fd, (int)config.tcp_backlog) < 0) {
            log_msg(LL_WARNING, "Failed opening Unix socket %s: %s", config.unixsocket,
                    strerror(errno));
            exit(1);
        }
        if (config.unixsocketperm)
            chmod(config.unixsocket, (mode_t)config.unixsocketperm);
        server.unix_listen_fd = fd;
        add_listener(&server.workers[0], fd);
    }
    if (server.workers[0].nlisten == 0)
        fatal("Configured to not listen anywhere (port 0 and no unixsocket), exiting.");
}

/* dataplane-cores "0,2-3" -> cores[] (repeats allowed: several workers may
 * share a core); returns the count, 0 for an empty list. */
static int parse_cores(const char *list, int *cores, int max)
{
    int n = 0;
    for (const char *p = list; p && *p && n < max;) {
        char *end;
        long a = strtol(p, &end, 10), b = a;
        p = end;
        if (*p == '-')
            b = strtol(p + 1, &end, 10), p = end;
        for (long c = a; c <= b && n < max; c++)
            cores[n++] = (int)c;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return n;
}

static void daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0)
        fatal("fork failed");
    if (pid > 0)
        _exit(0);
    setsid();
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
}

static void apply_max_string(void) { store_max_string = config.proto_max_bulk_len; }

/* The encoding thresholds are read by every shard without locks: a change
 * takes effect at each shard's next conversion check. */
static void apply_limits(void)
{
    store_limits = (struct store_limits){
        .hash_max_listpack_entries = config.hash_max_listpack_entries,
        .hash_max_listpack_value = config.hash_max_listpack_value,
        .set_max_intset_entries = config.set_max_intset_entries,
        .zset_max_listpack_entries = config.zset_max_listpack_entries,
        .zset_max_listpack_value = config.zset_max_listpack_value,
        .list_max_listpack_size = config.list_max_listpack_size,
    };
    store_evict = (struct store_evict){
        .maxmemory = config.maxmemory,
        .policy = config.maxmemory_policy,
        .samples = (int)config.maxmemory_samples,
        .tenacity = (int)config.maxmemory_eviction_tenacity,
        .lfu_log_factor = (int)config.lfu_log_factor,
        .lfu_decay_time = (int)config.lfu_decay_time,
    };
    /* maxmemory-clients: bytes, or a percentage of maxmemory. */
    const char *mc = config.maxmemory_clients;
    long long bytes = 0;
    if (mc[0] && mc[strlen(mc) - 1] == '%')
        bytes = config.maxmemory / 100 * atoll(mc);
    else
        cfg_parse_memory(mc, &bytes);
    atomic_store(&server.maxmemory_clients, bytes);
    long long obuf[3][3];
    if (cfg_obuf_limits(obuf) == 0) {
        atomic_store(&server.obuf_hard, obuf[0][0]);
        atomic_store(&server.obuf_soft, obuf[0][1]);
        atomic_store(&server.obuf_soft_secs, obuf[0][2]);
    }
}

int main(int argc, char **argv)
{
    char err[2048];
    char *text = NULL;
    int argi = 1;

    store_mem_register_thread();
    cfg_init();
    if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-v"))) {
        printf("sluiced v=%s (Redis protocol %s compatible)\n", SLUICE_VERSION, "7.0");
        return 0;
    }
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "--dump-config")) {
        cfg_dump(stdout);
        return 0;
    }
    if (argc >= 2 && strncmp(argv[1], "--", 2) != 0) {
        if (cfg_load_file(argv[1], err, sizeof(err)) != 0)
            fatal(err);
        if (!realpath(argv[1], server.config_file))
            snprintf(server.config_file, sizeof(server.config_file), "%s", argv[1]);
        argi = 2;
    }
    if (cfg_args_to_text(argc - argi, argv + argi, &text, err, sizeof(err)) != 0)
        fatal(err);
    if (cfg_load_string(text, err, sizeof(err)) != 0)
        fatal(err);
    free(text);
    apply_max_string();
    cfg_on_change("proto-max-bulk-len", apply_max_string);
    apply_limits();
    persist_init();
    for (const char *const *n = (const char *const[]){"hash-max-listpack-entries",
                                                       "hash-max-listpack-value",
                                                       "set-max-intset-entries",
                                                       "zset-max-listpack-entries",
                                                       "zset-max-listpack-value",
                                                       "list-max-listpack-size", "maxmemory",
                                                       "hash-max-ziplist-entries",
                                                       "hash-max-ziplist-value",
                                                       "list-max-ziplist-size",
                                                       "zset-max-ziplist-entries",
                                                       "zset-max-ziplist-value",
                                                       "maxmemory-clients",
                                                       "client-output-buffer-limit",
                                                       "maxmemory-policy", "maxmemory-samples",
                                                       "maxmemory-eviction-tenacity",
                                                       "lfu-log-factor", "lfu-decay-time", NULL};
         *n; n++)
        cfg_on_change(*n, apply_limits);

    if (config.daemonize)
        daemonize();
    if (log_open() < 0) {
        fprintf(stderr, "Can't open the log file: %s\n", strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);

    server.start_ms = mstime();
    server.lastsave = server.start_ms / 1000;
    server.next_client_id = 1;
    make_run_id();
    ssize_t n = readlink("/proc/self/exe", server.executable, sizeof(server.executable) - 1);
    server.executable[n > 0 ? n : 0] = '\0';

    log_msg(LL_NOTICE, "oO0OoO0OoO0Oo sluice is starting oO0OoO0OoO0Oo");
    log_msg(LL_NOTICE, "sluice version=%s, bits=%d, pid=%d, just started", SLUICE_VERSION,
            (int)sizeof(void *) * 8, (int)getpid());

    int cores[MAX_WORKERS];
    int ncores = parse_cores(config.dataplane_cores, cores, MAX_WORKERS);
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    server.nworkers = ncores ? ncores : 1;
    server.workers = calloc((size_t)server.nworkers, sizeof(struct worker));
    for (int i = 0; i < server.nworkers; i++) {
        server.workers[i].id = i;
        server.workers[i].cpu = ncores ? cores[i] : -1;
        if (server.workers[i].cpu >= ncpu) {
            log_msg(LL_WARNING, "dataplane-cores: core %d does not exist on this machine",
                    server.workers[i].cpu);
            return 1;
        }
    }
    open_listeners();
    dp_slots_init();
    if (shards_init() != 0 || aof_setup() != 0) {
        log_msg(LL_WARNING, "Out of memory creating the rings between workers");
        return 1;
    }

    if (config.pidfile && config.pidfile[0]) {
        FILE *f = fopen(config.pidfile, "w");
        if (f) {
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
        } else {
            log_msg(LL_WARNING, "Failed to write PID file: %s", strerror(errno));
        }
    }

    /* Signals are taken synchronously by the main thread only. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    for (int i = 0; i < server.nworkers; i++) {
        struct worker *w = &server.workers[i];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            log_msg(LL_WARNING, "Cannot start worker thread");
            return 1;
        }
        while (atomic_load(&w->ready) == 0)
            usleep(1000);
        if (atomic_load(&w->ready) < 0) {
            pthread_join(w->thread, NULL);
            return 1;
        }
    }
    /* Every ring exists now: the workers serve (refusing commands with
     * -LOADING) while this thread loads the data into their shards. A file
     * that cannot be loaded stops everything, as Redis refuses to start;
     * what was loaded is freed on the way out like at shutdown. */
    int exit_code = 0;
    atomic_store(&server.loading, 1);
    atomic_store(&server.started, 1);
    /* aof_start may write a first base: the shards are still the loader's. */
    if ((config.appendonly ? aof_load_at_start() : persist_load_at_start()) != 0 ||
        aof_start() != 0) {
        exit_code = 1;
        atomic_store(&server.stop, 1);
    }
    mem_startup = store_used_memory();
    persist_loading_end();
    if (!exit_code) {
        log_msg(LL_NOTICE, "%d dataplane worker%s, one shard each", server.nworkers,
                server.nworkers > 1 ? "s" : "");
        log_msg(LL_NOTICE, "Ready to accept connections");
    }

    bool by_signal = false;
    while (!exit_code && !atomic_load(&server.stop)) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000 * 1000};
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig > 0) {
            by_signal = true;
            log_msg(LL_WARNING, "Received %s scheduling shutdown...",
                    sig == SIGINT ? "SIGINT" : "SIGTERM");
            atomic_store(&server.stop, 1);
        }
    }
    if (!exit_code)
        log_msg(LL_WARNING, "Shutting down: closing client connections");
    for (int i = 0; i < server.nworkers; i++)
        worker_wake(&server.workers[i]);
    for (int i = 0; i < server.nworkers; i++)
        pthread_join(server.workers[i].thread, NULL);
    shards_drain();
    if (by_signal && !exit_code)
        persist_at_signal_exit(); /* the workers are gone: the shards are ours */
    aof_shutdown(); /* what the workers logged is written and fsynced */
    persist_exit();
    for (int i = 0; i < server.nworkers; i++)
        close(server.workers[i].doorbell);
    for (int i = 0; i < server.nworkers; i++)
        for (int j = 0; j < server.workers[i].nlisten; j++)
            close(server.workers[i].listen_fds[j]);
    if (config.unixsocket && config.unixsocket[0])
        unlink(config.unixsocket);
    if (config.pidfile && config.pidfile[0])
        unlink(config.pidfile);
    for (int i = 0; i < server.nworkers; i++)
        shard_free(server.workers[i].shard);
    free(server.workers);
    if (!exit_code)
        log_msg(LL_WARNING, "sluice is now ready to exit, bye bye...");
    return exit_code;
}
