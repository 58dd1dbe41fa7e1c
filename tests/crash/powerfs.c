/*
 * powerfs: a test-only FUSE filesystem that simulates a disk's volatile write
 * cache, so that crash tests can cut the power under a server and see what a
 * real machine would have kept.
 *
 * It passes every operation through to a backing directory (the live view:
 * what processes see while the "machine" runs) and keeps, beside it in a
 * state directory, the durable view: what would be on the platters if the
 * power failed now. The durability rules are the ones POSIX and Linux's
 * fsync(2) page tell applications to assume, which is what a careful program
 * must do on ext4 as well:
 *
 *   - A file's data (and its size) becomes durable when the file is fsynced
 *     (fsync or fdatasync, through any descriptor of it). Until then writes,
 *     truncations and appends exist only in the live view.
 *   - A directory's entries (create, mkdir, rename, unlink, rmdir) become
 *     durable when that directory is fsynced (open(dir) + fsync). Fsyncing a
 *     file does not make its name durable. A rename is therefore durable at
 *     the target when the target's directory is fsynced and gone from the
 *     source when the source's directory is fsynced.
 *   - With -o journal, any fsync (file or directory) also makes every
 *     namespace change so far durable, as ext4's ordered metadata journal
 *     does in practice (one journal commit carries all earlier metadata).
 *     That is the weaker model, useful to tell the two kinds of bug apart.
 *   - Permissions, ownership and times are not modelled (a rebuilt file gets
 *     the mode it had when it was created or last chmod-ed). Symlinks and
 *     hard links are refused (EPERM); so are xattrs.
 *
 * A "cut" drops everything not durable, as a power loss does: the backing
 * directory is rebuilt from the durable view, every file handle open before
 * the cut fails with EIO afterwards, and the mount goes on from the durable
 * state (as a rebooted machine does from its disk). A "tear" is a cut after
 * which each file also keeps a random prefix of the bytes appended since its
 * last fsync (the cache had written part of them), which leaves torn tails.
 * A clean unmount keeps the live view in the backing directory (a clean
 * shutdown flushes everything).
 *
 * Control:
 *   - the virtual file /.powerfs at the mount root (not listed, not in the
 *     backing directory). Writing a command runs it before the write returns:
 *       "cut"          power loss
 *       "tear SEED"    power loss with torn appends (SEED: random seed)
 *       "sync"         make everything durable (sync(2))
 *     Reading it returns counters ("cuts N\nfsyncs N\nfsyncdirs N\n...").
 *   - SIGUSR1 runs "cut" between two requests (asynchronous; read the cuts
 *     counter to see that it happened).
 *
 * Usage: powerfs -f -s -o backing=DIR[,state=DIR][,journal] MOUNTPOINT
 * The state directory (default: a fresh one under /tmp, removed at exit)
 * holds one file per inode with its durable content.
 *
 * The request loop is single-threaded (-s is implied): every operation, and
 * a cut, runs alone, so the bookkeeping below needs no locks.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define FUSE_USE_VERSION 31

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

#define CTL_NAME ".powerfs"
#define MAX_DEPTH 64

/* One file or directory as powerfs knows it. Nodes are never freed: a node
 * unlinked from the live tree may still be named by a durable directory entry,
 * and file handles may point at nodes of a generation that a cut ended
 * (dead = 1, descriptors closed). */
struct node {
    uint64_t id;
    int is_dir;
    int dead;
    mode_t mode;
    /* directories: live entries, and the entries as of the last fsyncdir */
    struct dent *live;
    struct dent *durable;
    /* files: lfd reads the live content (opened at creation, valid after
     * rename and unlink); dfd is the durable image in the state directory.
     * Since the last fsync, bytes [dirty_lo, dirty_hi) may differ and the
     * size went down to min_size at least once. */
    int lfd;
    int dfd;
    off_t dirty_lo, dirty_hi;
    off_t min_size;
    struct node *all_next;
};

struct dent {
    char *name;
    struct node *node;
    struct dent *next;
};

/* An open file, directory or the control file (fi->fh). */
enum hkind { H_FILE, H_DIR, H_CTL };

struct handle {
    enum hkind kind;
    int fd;            /* H_FILE: the backing descriptor */
    DIR *dp;           /* H_DIR */
    struct node *node; /* H_FILE, H_DIR */
    char out[256];     /* H_CTL: the text a read returns */
    size_t outlen;
};

static struct {
    char *backing;
    char *state;
    int journal;
    int state_is_temp;
    struct node *root;
    struct node *all;
    uint64_t next_id;
    unsigned long cuts, fsyncs, fsyncdirs, syncs;
    volatile sig_atomic_t cut_requested;
} P;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("powerfs: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (!p)
        die("out of memory");
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        die("out of memory");
    return p;
}

/* The backing path for a mount-relative path ("/a/b" -> "<backing>/a/b"). */
static int bpath(char *out, const char *path)
{
    int n = snprintf(out, PATH_MAX, "%s%s", P.backing, path);
    return n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static int is_ctl(const char *path)
{
    return path && strcmp(path, "/" CTL_NAME) == 0;
}

/* ------------------------------------------------------------------------ */
/* nodes and directory entries */

static void state_file(char *out, uint64_t id)
{
    snprintf(out, PATH_MAX, "%s/n%llu", P.state, (unsigned long long)id);
}

/* A new node. A file gets an empty durable image; lfd is set by the caller. */
static struct node *node_new(int is_dir, mode_t mode)
{
    struct node *n = xcalloc(1, sizeof *n);
    n->id = ++P.next_id;
    n->is_dir = is_dir;
    n->mode = mode & 07777;
    n->lfd = -1;
    n->dfd = -1;
    if (!is_dir) {
        char sp[PATH_MAX];
        state_file(sp, n->id);
        n->dfd = open(sp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (n->dfd < 0)
            die("cannot create %s: %s", sp, strerror(errno));
    }
    n->all_next = P.all;
    P.all = n;
    return n;
}

static struct dent *dent_find(struct dent *list, const char *name)
{
    for (; list; list = list->next)
        if (strcmp(list->name, name) == 0)
            return list;
    return NULL;
}

/* Point name at node in the list (replacing an entry of that name). */
static void dent_set(struct dent **list, const char *name, struct node *node)
{
    struct dent *d = dent_find(*list, name);
    if (d) {
        d->node = node;
        return;
    }
    d = xcalloc(1, sizeof *d);
    d->name = xstrdup(name);
    d->node = node;
    d->next = *list;
    *list = d;
}

static void dent_del(struct dent **list, const char *name)
{
    for (struct dent **pp = list; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->name, name) == 0) {
            struct dent *d = *pp;
            *pp = d->next;
            free(d->name);
            free(d);
            return;
        }
    }
}

static void dent_free(struct dent *d)
{
    while (d) {
        struct dent *next = d->next;
        free(d->name);
        free(d);
        d = next;
    }
}

static struct dent *dent_copy(const struct dent *d)
{
    struct dent *out = NULL;
    for (; d; d = d->next)
        dent_set(&out, d->name, d->node);
    return out;
}

/* The live node at a mount-relative path, or NULL. */
static struct node *lookup(const char *path)
{
    struct node *n = P.root;
    char buf[PATH_MAX];
    if (!path || strlen(path) >= sizeof buf)
        return NULL;
    strcpy(buf, path);
    char *save = NULL;
    for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!n->is_dir)
            return NULL;
        struct dent *d = dent_find(n->live, c);
        if (!d)
            return NULL;
        n = d->node;
    }
    return n;
}

/* Split path into its parent's live node and the last name. */
static struct node *lookup_parent(const char *path, const char **name)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return NULL;
    *name = slash + 1;
    char buf[PATH_MAX];
    size_t len = (size_t)(slash - path);
    if (len >= sizeof buf)
        return NULL;
    memcpy(buf, path, len);
    buf[len] = '\0';
    struct node *parent = lookup(len ? buf : "/");
    return parent && parent->is_dir ? parent : NULL;
}

/* ------------------------------------------------------------------------ */
/* durability */

static int copy_range(int from, int to, off_t lo, off_t hi)
{
    char buf[65536];
    while (lo < hi) {
        size_t want = (size_t)(hi - lo) < sizeof buf ? (size_t)(hi - lo) : sizeof buf;
        ssize_t r = pread(from, buf, want, lo);
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        for (ssize_t done = 0; done < r;) {
            ssize_t w = pwrite(to, buf + done, (size_t)(r - done), lo + done);
            if (w < 0)
                return -errno;
            done += w;
        }
        lo += r;
    }
    return 0;
}

static void note_write(struct node *n, off_t off, size_t len)
{
    if (n->dirty_lo == n->dirty_hi) {
        n->dirty_lo = off;
        n->dirty_hi = off + (off_t)len;
        return;
    }
    if (off < n->dirty_lo)
        n->dirty_lo = off;
    if (off + (off_t)len > n->dirty_hi)
        n->dirty_hi = off + (off_t)len;
}

static void note_truncate(struct node *n, off_t size)
{
    if (size < n->min_size)
        n->min_size = size;
}

/* Make a file's live content its durable content. */
static int file_sync(struct node *n)
{
    struct stat st;
    if (n->dead)
        return -EIO;
    if (fstat(n->lfd, &st) < 0)
        return -errno;
    off_t live = st.st_size;
    if (ftruncate(n->dfd, n->min_size) < 0 || ftruncate(n->dfd, live) < 0)
        return -errno;
    off_t hi = n->dirty_hi < live ? n->dirty_hi : live;
    if (n->dirty_lo < hi) {
        int rc = copy_range(n->lfd, n->dfd, n->dirty_lo, hi);
        if (rc < 0)
            return rc;
    }
    n->dirty_lo = n->dirty_hi = 0;
    n->min_size = live;
    return 0;
}

static void dir_sync(struct node *n)
{
    dent_free(n->durable);
    n->durable = dent_copy(n->live);
}

static void journal_commit(void)
{
    for (struct node *n = P.all; n; n = n->all_next)
        if (n->is_dir && !n->dead)
            dir_sync(n);
}

static int sync_all(void)
{
    for (struct node *n = P.all; n; n = n->all_next) {
        if (n->dead)
            continue;
        if (n->is_dir) {
            dir_sync(n);
        } else {
            int rc = file_sync(n);
            if (rc < 0)
                return rc;
        }
    }
    P.syncs++;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* building the node tree from the backing directory, and the cut */

/* Read the backing tree under dir (backing path bp) into live entries, all
 * durable: this is the state at mount time and right after a cut. */
static void scan(struct node *dir, const char *bp, int depth)
{
    if (depth > MAX_DEPTH)
        die("directory tree too deep at %s", bp);
    DIR *dp = opendir(bp);
    if (!dp)
        die("cannot read %s: %s", bp, strerror(errno));
    struct dirent *de;
    while ((de = readdir(dp)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s/%s", bp, de->d_name) >= (int)sizeof p)
            die("path too long under %s", bp);
        struct stat st;
        if (lstat(p, &st) < 0)
            die("cannot stat %s: %s", p, strerror(errno));
        struct node *n;
        if (S_ISDIR(st.st_mode)) {
            n = node_new(1, st.st_mode);
            scan(n, p, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            n = node_new(0, st.st_mode);
            n->lfd = open(p, O_RDONLY | O_CLOEXEC);
            if (n->lfd < 0)
                die("cannot open %s: %s", p, strerror(errno));
            if (copy_range(n->lfd, n->dfd, 0, st.st_size) < 0)
                die("cannot copy %s into the state directory", p);
            n->min_size = st.st_size;
        } else {
            die("%s: only regular files and directories are supported", p);
        }
        dent_set(&dir->live, de->d_name, n);
    }
    closedir(dp);
    dir->durable = dent_copy(dir->live);
}

static void load_tree(void)
{
    struct stat st;
    if (stat(P.backing, &st) < 0 || !S_ISDIR(st.st_mode))
        die("backing directory %s is not a directory", P.backing);
    P.root = node_new(1, st.st_mode);
    scan(P.root, P.backing, 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    if (ftw->level == 0)
        return 0; /* keep the top directory itself */
    if (remove(path) < 0)
        die("cannot remove %s: %s", path, strerror(errno));
    return 0;
}

static void rm_contents(const char *dir)
{
    if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
        die("cannot clear %s: %s", dir, strerror(errno));
}

/* Write the durable tree of dir into the (empty) backing path bp. */
static void rebuild(struct node *dir, const char *bp, int depth)
{
    if (depth > MAX_DEPTH)
        return; /* a durable cycle (a directory renamed into itself) */
    for (struct dent *d = dir->durable; d; d = d->next) {
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s/%s", bp, d->name) >= (int)sizeof p)
            die("path too long under %s", bp);
        struct node *n = d->node;
        if (n->is_dir) {
            if (mkdir(p, n->mode ? n->mode : 0755) < 0)
                die("cannot rebuild %s: %s", p, strerror(errno));
            rebuild(n, p, depth + 1);
        } else {
            int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, n->mode ? n->mode : 0644);
            struct stat st;
            if (fd < 0 || fstat(n->dfd, &st) < 0 || copy_range(n->dfd, fd, 0, st.st_size) < 0)
                die("cannot rebuild %s: %s", p, strerror(errno));
            close(fd);
        }
    }
}

/* Keep a random prefix of each file's bytes appended beyond its durable size. */
static void tear(unsigned seed)
{
    for (struct node *n = P.all; n; n = n->all_next) {
        if (n->dead || n->is_dir)
            continue;
        struct stat ls, ds;
        if (fstat(n->lfd, &ls) < 0 || fstat(n->dfd, &ds) < 0)
            continue;
        if (ls.st_size <= ds.st_size)
            continue;
        seed = seed * 1103515245u + 12345u;
        off_t extra = (off_t)((seed >> 8) % (unsigned)(ls.st_size - ds.st_size + 1));
        copy_range(n->lfd, n->dfd, ds.st_size, ds.st_size + extra);
    }
}

static void cut(int torn, unsigned seed)
{
    if (torn)
        tear(seed);
    rm_contents(P.backing);
    rebuild(P.root, P.backing, 0);
    for (struct node *n = P.all; n; n = n->all_next) {
        if (n->dead)
            continue;
        n->dead = 1;
        if (n->lfd >= 0)
            close(n->lfd);
        if (n->dfd >= 0) {
            char sp[PATH_MAX];
            close(n->dfd);
            state_file(sp, n->id);
            unlink(sp);
        }
        n->lfd = n->dfd = -1;
    }
    load_tree();
    P.cuts++;
}

/* ------------------------------------------------------------------------ */
/* the control file */

static int ctl_command(const char *buf, size_t len)
{
    char cmd[128];
    if (len >= sizeof cmd)
        return -EINVAL;
    memcpy(cmd, buf, len);
    cmd[len] = '\0';
    while (len && (cmd[len - 1] == '\n' || cmd[len - 1] == ' '))
        cmd[--len] = '\0';
    unsigned seed;
    if (strcmp(cmd, "cut") == 0)
        cut(0, 0);
    else if (sscanf(cmd, "tear %u", &seed) == 1)
        cut(1, seed);
    else if (strcmp(cmd, "sync") == 0)
        return sync_all();
    else
        return -EINVAL;
    return 0;
}

static void ctl_fill(struct handle *of)
{
    int n = snprintf(of->out, sizeof of->out,
                     "cuts %lu\nfsyncs %lu\nfsyncdirs %lu\nsyncs %lu\njournal %d\n", P.cuts,
                     P.fsyncs, P.fsyncdirs, P.syncs, P.journal);
    of->outlen = n < 0 ? 0 : (size_t)n;
}

/* ------------------------------------------------------------------------ */
/* FUSE operations */

static struct handle *OF(struct fuse_file_info *fi)
{
    return fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
}

/* The open regular file behind fi, if any. */
static struct handle *open_file_of(struct fuse_file_info *fi)
{
    struct handle *h = OF(fi);
    return h && h->kind == H_FILE ? h : NULL;
}

static void *pfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    /* Every write must reach us when write() returns (no kernel writeback
     * cache), and nothing may be served from stale kernel caches after a cut. */
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    cfg->entry_timeout = 0;
    cfg->attr_timeout = 0;
    cfg->negative_timeout = 0;
    cfg->kernel_cache = 0;
    cfg->auto_cache = 0;
    cfg->hard_remove = 1;
    cfg->nullpath_ok = 1;
    cfg->use_ino = 0;
    return NULL;
}

static int pfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct handle *h = OF(fi);
    if (is_ctl(path) || (h && h->kind == H_CTL)) {
        memset(st, 0, sizeof *st);
        st->st_mode = S_IFREG | 0600;
        st->st_nlink = 1;
        return 0;
    }
    if (h && h->kind == H_FILE)
        return fstat(h->fd, st) < 0 ? -errno : 0;
    if (h && h->kind == H_DIR)
        return fstat(dirfd(h->dp), st) < 0 ? -errno : 0;
    char p[PATH_MAX];
    int rc = bpath(p, path);
    if (rc < 0)
        return rc;
    return lstat(p, st) < 0 ? -errno : 0;
}

static int pfs_access(const char *path, int mask)
{
    if (is_ctl(path))
        return 0;
    char p[PATH_MAX];
    int rc = bpath(p, path);
    if (rc < 0)
        return rc;
    return access(p, mask) < 0 ? -errno : 0;
}

static int pfs_opendir(const char *path, struct fuse_file_info *fi)
{
    char p[PATH_MAX];
    int rc = bpath(p, path);
    if (rc < 0)
        return rc;
    struct node *n = lookup(path);
    if (!n || !n->is_dir)
        return -ENOENT;
    struct handle *od = xcalloc(1, sizeof *od);
    od->kind = H_DIR;
    od->fd = -1;
    od->dp = opendir(p);
    if (!od->dp) {
        rc = -errno;
        free(od);
        return rc;
    }
    od->node = n;
    fi->fh = (uintptr_t)od;
    return 0;
}

static int pfs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                       struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    (void)path;
    (void)off;
    (void)flags;
    struct handle *od = (struct handle *)(uintptr_t)fi->fh;
    if (od->node->dead)
        return -EIO;
    rewinddir(od->dp);
    struct dirent *de;
    while ((de = readdir(od->dp)) != NULL) {
        struct stat st = {.st_ino = de->d_ino, .st_mode = (mode_t)DTTOIF(de->d_type)};
        if (filler(buf, de->d_name, &st, 0, 0))
            break;
    }
    return 0;
}

static int pfs_releasedir(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    struct handle *od = (struct handle *)(uintptr_t)fi->fh;
    closedir(od->dp);
    free(od);
    return 0;
}

static int pfs_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path;
    (void)datasync;
    struct handle *od = (struct handle *)(uintptr_t)fi->fh;
    if (od->node->dead)
        return -EIO;
    P.fsyncdirs++;
    if (P.journal)
        journal_commit();
    else
        dir_sync(od->node);
    return 0;
}

static int pfs_mkdir(const char *path, mode_t mode)
{
    const char *name;
    struct node *parent = lookup_parent(path, &name);
    if (!parent)
        return -ENOENT;
    if (is_ctl(path))
        return -EPERM;
    char p[PATH_MAX];
    int rc = bpath(p, path);
    if (rc < 0)
        return rc;
    if (mkdir(p, mode) < 0)
        return -errno;
    dent_set(&parent->live, name, node_new(1, mode));
    return 0;
}

/* rmdir or unlink in the backing directory, and the live name goes. */
static int remove_name(const char *path, int (*rm)(const char *))
{
    const char *name;
    struct node *parent = lookup_parent(path, &name);
    if (!parent)
        return -ENOENT;
    char p[PATH_MAX];
    int rc = bpath(p, path);
    if (rc < 0)
        return rc;
    if (rm(p) < 0)
        return -errno;
    dent_del(&parent->live, name);
    return 0;
}

static int pfs_rmdir(const char *path)
{
    return remove_name(path, rmdir);
}

static int pfs_unlink(const char *path)
{
    if (is_ctl(path))
        return -EPERM;
    return remove_name(path, unlink);
}

static int pfs_rename(const char *from, const char *to, unsigned int flags)
{
    if (is_ctl(from) || is_ctl(to))
        return -EPERM;
    if (flags & ~RENAME_NOREPLACE)
        return -EINVAL;
    const char *fname = NULL, *tname = NULL;
    struct node *fparent = lookup_parent(from, &fname);
    struct node *tparent = lookup_parent(to, &tname);
    if (!fparent || !tparent)
        return -ENOENT;
    struct dent *d = dent_find(fparent->live, fname);
    if (!d)
        return -ENOENT;
    char fp[PATH_MAX], tp[PATH_MAX];
    int rc = bpath(fp, from);
    if (rc == 0)
        rc = bpath(tp, to);
    if (rc < 0)
        return rc;
    if (renameat2(AT_FDCWD, fp, AT_FDCWD, tp, flags) < 0)
        return -errno;
    struct node *n = d->node;
    dent_del(&fparent->live, fname);
    dent_set(&tparent->live, tname, n);
    return 0;
}

static int pfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    if (is_ctl(path))
        return -EPERM;
    struct handle *h = open_file_of(fi);
    struct node *n = h ? h->node : lookup(path);
    int r;
    if (h) {
        r = fchmod(h->fd, mode);
    } else {
        char p[PATH_MAX];
        int rc = bpath(p, path);
        if (rc < 0)
            return rc;
        r = chmod(p, mode);
    }
    if (r < 0)
        return -errno;
    if (n)
        n->mode = mode & 07777;
    return 0;
}

static int pfs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    struct handle *h = open_file_of(fi);
    if (h)
        return fchown(h->fd, uid, gid) < 0 ? -errno : 0;
    char p[PATH_MAX];
    int rc = bpath(p, path);
    if (rc < 0)
        return rc;
    return lchown(p, uid, gid) < 0 ? -errno : 0;
}

static int pfs_utimens(const char *path, const struct timespec ts[2], struct fuse_file_info *fi)
{
    if (is_ctl(path))
        return 0;
    struct handle *h = open_file_of(fi);
    if (h)
        return futimens(h->fd, ts) < 0 ? -errno : 0;
    char p[PATH_MAX];
    int rc = bpath(p, path);
    if (rc < 0)
        return rc;
    return utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int pfs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    if (is_ctl(path))
        return 0;
    struct handle *h = open_file_of(fi);
    struct node *n = h ? h->node : lookup(path);
    if (!n)
        return -ENOENT;
    if (n->is_dir)
        return -EISDIR;
    if (n->dead)
        return -EIO;
    if (h) {
        if (ftruncate(h->fd, size) < 0)
            return -errno;
    } else {
        char p[PATH_MAX];
        int rc = bpath(p, path);
        if (rc < 0)
            return rc;
        if (truncate(p, size) < 0)
            return -errno;
    }
    note_truncate(n, size);
    return 0;
}

/* Open (or create, with O_CREAT) a backing file and wrap it in an ofile. */
static int open_file(const char *path, struct fuse_file_info *fi, mode_t mode, int create)
{
    if (is_ctl(path)) {
        struct handle *of = xcalloc(1, sizeof *of);
        of->kind = H_CTL;
        of->fd = -1;
        ctl_fill(of);
        fi->fh = (uintptr_t)of;
        fi->direct_io = 1;
        return 0;
    }
    char p[PATH_MAX];
    int rc = bpath(p, path);
    if (rc < 0)
        return rc;
    struct node *n = NULL, *parent = NULL;
    const char *name = NULL;
    if (create) {
        parent = lookup_parent(path, &name);
        if (!parent)
            return -ENOENT;
        n = dent_find(parent->live, name) ? dent_find(parent->live, name)->node : NULL;
    } else {
        n = lookup(path);
        if (!n)
            return -ENOENT;
    }
    int flags = fi->flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW);
    int fd = create ? open(p, fi->flags | O_CLOEXEC, mode) : open(p, flags | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (!n) {
        n = node_new(0, mode);
        n->lfd = open(p, O_RDONLY | O_CLOEXEC);
        if (n->lfd < 0) {
            rc = -errno;
            close(fd);
            unlink(p);
            return rc;
        }
        dent_set(&parent->live, name, n);
    }
    if (n->is_dir) {
        close(fd);
        return -EISDIR;
    }
    if (fi->flags & O_TRUNC)
        note_truncate(n, 0);
    struct handle *of = xcalloc(1, sizeof *of);
    of->kind = H_FILE;
    of->fd = fd;
    of->node = n;
    fi->fh = (uintptr_t)of;
    fi->keep_cache = 0;
    return 0;
}

static int pfs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    return open_file(path, fi, mode, 1);
}

static int pfs_open(const char *path, struct fuse_file_info *fi)
{
    return open_file(path, fi, 0, 0);
}

static int pfs_mknod(const char *path, mode_t mode, dev_t rdev)
{
    (void)rdev;
    if (!S_ISREG(mode))
        return -EPERM;
    struct fuse_file_info fi = {.flags = O_WRONLY | O_CREAT | O_EXCL};
    int rc = open_file(path, &fi, mode, 1);
    if (rc == 0) {
        struct handle *of = OF(&fi);
        close(of->fd);
        free(of);
    }
    return rc;
}

static int pfs_read(const char *path, char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    (void)path;
    struct handle *of = OF(fi);
    if (of->kind == H_CTL) {
        if (off >= (off_t)of->outlen)
            return 0;
        size_t n = of->outlen - (size_t)off < size ? of->outlen - (size_t)off : size;
        memcpy(buf, of->out + off, n);
        return (int)n;
    }
    if (of->node->dead)
        return -EIO;
    ssize_t r = pread(of->fd, buf, size, off);
    return r < 0 ? -errno : (int)r;
}

static int pfs_write(const char *path, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    (void)path;
    struct handle *of = OF(fi);
    if (of->kind == H_CTL) {
        int rc = ctl_command(buf, size);
        return rc < 0 ? rc : (int)size;
    }
    if (of->node->dead)
        return -EIO;
    ssize_t r = pwrite(of->fd, buf, size, off);
    if (r < 0)
        return -errno;
    if (fcntl(of->fd, F_GETFL) & O_APPEND) {
        /* pwrite on an O_APPEND descriptor appends whatever off says */
        struct stat st;
        if (fstat(of->fd, &st) == 0)
            off = st.st_size - r;
    }
    note_write(of->node, off, (size_t)r);
    return (int)r;
}

static int pfs_fallocate(const char *path, int mode, off_t off, off_t len,
                         struct fuse_file_info *fi)
{
    (void)path;
    struct handle *of = OF(fi);
    if (of->kind != H_FILE || mode != 0)
        return -EOPNOTSUPP;
    if (of->node->dead)
        return -EIO;
    int rc = posix_fallocate(of->fd, off, len);
    if (rc != 0)
        return -rc;
    note_write(of->node, off, (size_t)len);
    return 0;
}

static int pfs_flush(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    (void)fi;
    return 0;
}

static int pfs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path;
    (void)datasync;
    struct handle *of = OF(fi);
    if (of->kind != H_FILE)
        return 0;
    P.fsyncs++;
    int rc = file_sync(of->node);
    if (rc == 0 && P.journal)
        journal_commit();
    return rc;
}

static int pfs_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    struct handle *of = OF(fi);
    if (of->fd >= 0)
        close(of->fd);
    free(of);
    return 0;
}

static int pfs_statfs(const char *path, struct statvfs *st)
{
    (void)path;
    return statvfs(P.backing, st) < 0 ? -errno : 0;
}

static int pfs_refuse_link(const char *a, const char *b)
{
    (void)a;
    (void)b;
    return -EPERM;
}

static const struct fuse_operations pfs_ops = {
    .init = pfs_init,
    .getattr = pfs_getattr,
    .access = pfs_access,
    .opendir = pfs_opendir,
    .readdir = pfs_readdir,
    .releasedir = pfs_releasedir,
    .fsyncdir = pfs_fsyncdir,
    .mkdir = pfs_mkdir,
    .rmdir = pfs_rmdir,
    .unlink = pfs_unlink,
    .rename = pfs_rename,
    .symlink = pfs_refuse_link,
    .link = pfs_refuse_link,
    .chmod = pfs_chmod,
    .chown = pfs_chown,
    .utimens = pfs_utimens,
    .truncate = pfs_truncate,
    .create = pfs_create,
    .open = pfs_open,
    .mknod = pfs_mknod,
    .read = pfs_read,
    .write = pfs_write,
    .fallocate = pfs_fallocate,
    .flush = pfs_flush,
    .fsync = pfs_fsync,
    .release = pfs_release,
    .statfs = pfs_statfs,
};

/* ------------------------------------------------------------------------ */
/* main: options, the request loop */

struct opts {
    char *backing;
    char *state;
    int journal;
};

static const struct fuse_opt pfs_opts[] = {
    {"backing=%s", offsetof(struct opts, backing), 0},
    {"state=%s", offsetof(struct opts, state), 0},
    {"journal", offsetof(struct opts, journal), 1},
    FUSE_OPT_END,
};

static void on_usr1(int sig)
{
    (void)sig;
    P.cut_requested = 1;
}

static int rm_all(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* Serve requests until unmounted. SIGUSR1 is blocked except while waiting
 * in ppoll, so a cut never lands in the middle of an operation. */
static int serve(struct fuse_session *se)
{
    sigset_t block, waitmask;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &waitmask);
    sigdelset(&waitmask, SIGUSR1);
    struct sigaction sa = {.sa_handler = on_usr1};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);

    struct fuse_buf fbuf = {.mem = NULL};
    int fd = fuse_session_fd(se);
    int res = 0;
    while (!fuse_session_exited(se)) {
        if (P.cut_requested) {
            P.cut_requested = 0;
            cut(0, 0);
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (ppoll(&pfd, 1, NULL, &waitmask) < 0) {
            if (errno == EINTR)
                continue;
            res = -errno;
            break;
        }
        res = fuse_session_receive_buf(se, &fbuf);
        if (res == -EINTR || res == -EAGAIN)
            continue;
        if (res <= 0)
            break;
        fuse_session_process_buf(se, &fbuf);
    }
    free(fbuf.mem);
    return res < 0 ? res : 0;
}

int main(int argc, char **argv)
{
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct opts o = {0};
    if (fuse_opt_parse(&args, &o, pfs_opts, NULL) < 0)
        return 1;
    struct fuse_cmdline_opts cl;
    if (fuse_parse_cmdline(&args, &cl) != 0)
        return 1;
    if (cl.show_help || !cl.mountpoint || !o.backing) {
        fprintf(stderr, "usage: %s [-f] -o backing=DIR[,state=DIR][,journal] MOUNTPOINT\n",
                argv[0]);
        return cl.show_help ? 0 : 2;
    }
    P.backing = realpath(o.backing, NULL);
    if (!P.backing)
        die("backing directory %s: %s", o.backing, strerror(errno));
    P.journal = o.journal;
    if (o.state) {
        if (mkdir(o.state, 0700) < 0 && errno != EEXIST)
            die("state directory %s: %s", o.state, strerror(errno));
        P.state = xstrdup(o.state);
    } else {
        char tmpl[] = "/tmp/powerfs-state.XXXXXX";
        if (!mkdtemp(tmpl))
            die("cannot create a state directory: %s", strerror(errno));
        P.state = xstrdup(tmpl);
        P.state_is_temp = 1;
    }
    load_tree();

    struct fuse *f = fuse_new(&args, &pfs_ops, sizeof pfs_ops, NULL);
    if (!f)
        return 1;
    if (fuse_mount(f, cl.mountpoint) != 0)
        return 1;
    struct fuse_session *se = fuse_get_session(f);
    if (fuse_daemonize(cl.foreground) != 0 || fuse_set_signal_handlers(se) != 0)
        return 1;
    int rc = serve(se);
    fuse_remove_signal_handlers(se);
    fuse_unmount(f);
    fuse_destroy(f);
    for (struct node *n = P.all; n; n = n->all_next) {
        if (n->lfd >= 0)
            close(n->lfd);
        if (n->dfd >= 0)
            close(n->dfd);
    }
    if (P.state_is_temp)
        nftw(P.state, rm_all, 16, FTW_DEPTH | FTW_PHYS);
    else
        rm_contents(P.state);
    free(cl.mountpoint);
    fuse_opt_free_args(&args);
    return rc < 0 ? 1 : 0;
}
