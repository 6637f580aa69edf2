// azo_archive — the archiver actor (#8). Jobs from config, run by the
// scheduler or archive.run: `archive` moves old files matching a glob into
// an archive directory under dated names (optionally gzip-compressed) and
// catalogs them, `cleanup` keeps a cache directory under a size and an
// age. The file work runs in a worker thread (a zactor), one job at a
// time, so that a long run never stalls the actor's loop and heartbeats;
// the worker reports events and results through its pipe and the actor
// publishes and answers them. Every archived file gets an intent committed
// before it is touched and its catalog entry committed after (arc_cat), in
// batches, so a crash at any point is finished by the next run.
#define _GNU_SOURCE // renameat2, RENAME_NOREPLACE
#include "azo_archive.h"

#include "arc_cat.h"
#include "arc_fs.h"
#include "arc_rot.h"
#include "azo_err.h"
#include "azo_mp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_BATCH       2048 // most files per intent commit / catalog commit
#define S_BATCH_FIRST 128  // files of the first batch (then doubling)
#define S_LISTED      1000 // most files listed in one answer
#define S_ERRS        100  // most errors listed in one answer
#define S_MAXFILES    1000000

// --- what the worker needs --------------------------------------------------

typedef struct {
    const azo_config_t *cfg;
    azo_store_t *store;
    int db;
} s_wargs_t;

// msgpack being built: an event body (sent by s_body_send), a list.
typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} s_body_t;

static msgpack_packer *
s_body_init(s_body_t *b)
{
    msgpack_sbuffer_init(&b->sb);
    msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
    return &b->pk;
}

// One run's result, built by the worker.
typedef struct {
    s_body_t files; // packed file entries (dry run plan / moves)
    uint32_t nfiles;
    s_body_t errs; // packed {path, error}
    uint32_t nerrs;
    int64_t moved, bytes, errors, pruned;
} s_result_t;

typedef struct {
    zsock_t *pipe; // to the actor
    const azo_config_t *cfg;
    azo_store_t *store;
    int db;
    bool term; // $TERM seen
    char base[200];
} s_worker_t;

static void
s_result_init(s_result_t *r)
{
    memset(r, 0, sizeof *r);
    s_body_init(&r->files);
    s_body_init(&r->errs);
}

static void
s_result_fini(s_result_t *r)
{
    msgpack_sbuffer_destroy(&r->files.sb);
    msgpack_sbuffer_destroy(&r->errs.sb);
}

static void
s_error(s_result_t *r, const char *path, const char *why)
{
    r->errors++;
    if (r->nerrs >= S_ERRS)
        return;
    msgpack_pack_map(&r->errs.pk, 2);
    azo_pack_kstr(&r->errs.pk, "path", path);
    azo_pack_kstr(&r->errs.pk, "error", why);
    r->nerrs++;
}

// Sends an event to the actor: EV, topic, body (a msgpack map).
static void
s_event(s_worker_t *w, const char *topic, const msgpack_sbuffer *body)
{
    zmsg_t *m = zmsg_new();
    zmsg_addstr(m, "EV");
    zmsg_addstr(m, topic);
    zmsg_addmem(m, body->data, body->size);
    zmsg_send(&m, w->pipe);
}

// Sends b as an event on topic and frees it.
static void
s_body_send(s_worker_t *w, const char *topic, s_body_t *b)
{
    s_event(w, topic, &b->sb);
    msgpack_sbuffer_destroy(&b->sb);
}

// True when the actor asked the worker to stop.
static bool
s_stopping(s_worker_t *w)
{
    if (w->term)
        return true;
    while (zsock_events(w->pipe) & ZMQ_POLLIN) {
        char *cmd = zstr_recv(w->pipe);
        if (cmd && strcmp(cmd, "$TERM") == 0)
            w->term = true;
        zstr_free(&cmd);
        if (w->term)
            break;
    }
    return w->term;
}

static const char *
s_jobkey(s_worker_t *w, const char *job, const char *key, char *buf, size_t len)
{
    snprintf(buf, len, "%s/jobs/%s/%s", w->base, job, key);
    return buf;
}

// --- recovery of intents --------------------------------------------------

typedef struct {
    arc_entry_t *v;
    size_t n, cap;
} s_entries_t;

static int
s_collect(const arc_entry_t *e, void *arg)
{
    s_entries_t *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        arc_entry_t *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *e;
    return 0;
}

static bool
s_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void
s_dirname(const char *path, char *dir, size_t len)
{
    snprintf(dir, len, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = 0;
    else if (slash)
        *slash = 0;
    else
        snprintf(dir, len, ".");
}

// Finishes what a crash interrupted: each intent ends as an archived
// entry (the archive copy is complete: the source goes) or is dropped (the
// file is still at its source). Returns 0 or a negative code.
static int
s_recover(s_worker_t *w, s_result_t *r)
{
    s_entries_t l = {0};
    azo_txn_t *txn = NULL;
    int rc = azo_store_begin(w->store, false, &txn);
    if (rc == 0)
        rc = arc_cat_each(txn, w->db, true, 0, s_collect, &l, NULL);
    azo_store_abort(&txn);
    char cleaned[ARC_PATH_MAX] = ""; // intents come in batches: one dir
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        arc_entry_t *e = &l.v[i];
        char err[512] = "", dir[ARC_PATH_MAX];
        bool done = false;
        s_dirname(e->path, dir, sizeof dir);
        if (strcmp(dir, cleaned) != 0) {
            (void)arc_fs_clean_tmp(dir, NULL, 0);
            memcpy(cleaned, dir, sizeof cleaned);
        }
        if (s_exists(e->path)) {
            // The archive copy is complete: gzip and cross-fs copies are
            // renamed into place only when whole, and a rename is atomic.
            if (s_exists(e->orig)) {
                char sha[ARC_SHA_HEX];
                int64_t size;
                int src = e->gzip ? 0
                                  : arc_fs_sha256(e->path, sha, &size, err,
                                                  sizeof err);
                if (src == 0 && (e->gzip || strcmp(sha, e->sha) == 0)) {
                    if (unlink(e->orig) == 0) {
                        s_dirname(e->orig, dir, sizeof dir);
                        (void)arc_fs_sync_dir(dir, NULL, 0);
                        done = true;
                    } else
                        (void)azo_err_set(err, sizeof err, 0, "unlink %s: %s",
                                          e->orig, strerror(errno));
                } else if (!err[0])
                    (void)azo_err_set(
                        err, sizeof err, 0,
                        "%s differs from the interrupted copy %s: both "
                        "kept",
                        e->orig, e->path);
            } else
                done = true;
        }
        if (err[0])
            s_error(r, e->orig, err);
        rc = azo_store_begin(w->store, true, &txn);
        if (rc == 0)
            rc = arc_cat_del_intent(txn, w->db, e->id);
        if (rc == 0 && done) {
            e->state = ARC_ARCHIVED;
            rc = arc_cat_put(txn, w->db, e, false);
        }
        if (rc == 0)
            rc = azo_store_commit(&txn);
        azo_store_abort(&txn);
    }
    free(l.v);
    return rc;
}

// --- archive jobs ----------------------------------------------------------

typedef struct {
    char *path; // owned
    int64_t mtime, size;
} s_file_t;

typedef struct {
    s_file_t *v;
    size_t n, cap;
} s_files_t;

static int
s_add_file(s_files_t *f, const char *path, const struct stat *st)
{
    if (f->n >= S_MAXFILES)
        return -E2BIG;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 256;
        s_file_t *v = realloc(f->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        f->v = v;
        f->cap = cap;
    }
    s_file_t *x = &f->v[f->n];
    if (!(x->path = strdup(path)))
        return -ENOMEM;
    f->n++;
    x->mtime = st->st_mtime;
    x->size = st->st_size;
    return 0;
}

static void
s_files_free(s_files_t *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i].path);
    free(f->v);
    memset(f, 0, sizeof *f);
}

static int
s_by_mtime(const void *a, const void *b)
{
    const s_file_t *x = a, *y = b;
    if (x->mtime != y->mtime)
        return x->mtime < y->mtime ? -1 : 1;
    return strcmp(x->path, y->path);
}

// Lists the regular files under dir (recursive: into subdirectories, but
// never into skip) whose name matches glob and whose mtime is before
// before (0: any). Symlinks and our temporary files are skipped.
static int
s_scan(const char *dir, const char *glob, bool recursive, const char *skip,
       int64_t before, s_files_t *out, s_result_t *r)
{
    DIR *d = opendir(dir);
    if (!d) {
        char why[600];
        (void)azo_err_set(why, sizeof why, 0, "opendir %s: %s", dir,
                          strerror(errno));
        s_error(r, dir, why);
        return errno == ENOENT ? 0 : 0;
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            arc_fs_is_tmp(de->d_name))
            continue;
        char path[ARC_PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >=
            (int)sizeof path)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; // vanished
        if (S_ISDIR(st.st_mode)) {
            if (recursive && (!skip || strcmp(path, skip) != 0))
                rc = s_scan(path, glob, true, skip, before, out, r);
            continue;
        }
        if (!S_ISREG(st.st_mode) || fnmatch(glob, de->d_name, 0) != 0)
            continue;
        if (before && st.st_mtime >= before)
            continue;
        rc = s_add_file(out, path, &st);
    }
    closedir(d);
    return rc;
}

static void
s_pack_plan(s_result_t *r, const char *action, const char *from, const char *to,
            int64_t size)
{
    if (r->nfiles >= S_LISTED)
        return;
    msgpack_pack_map(&r->files.pk, 4);
    azo_pack_kstr(&r->files.pk, "action", action);
    azo_pack_kstr(&r->files.pk, "path", from);
    azo_pack_kstr(&r->files.pk, "to", to);
    azo_pack_kint(&r->files.pk, "size", size);
    r->nfiles++;
}

// The names in the archive directory, read once per run, plus those this
// run picks (so two files of one batch never get the same name).
static zhashx_t *
s_taken_load(const char *adir)
{
    zhashx_t *t = zhashx_new();
    if (!t)
        return NULL;
    DIR *d = opendir(adir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        zhashx_insert(t, de->d_name, (void *)1);
    if (d)
        closedir(d);
    return t;
}

// Picks the archive name of f: "<stem>_<YYYYMMDD><ext><suffix>"
// (arc_fs_dated_name's form, date of the mtime in UTC), with _1, _2, ...
// when the name is taken, and takes it. Returns 0 or a negative code.
static int
s_name(zhashx_t *taken, const s_file_t *f, bool gz, char *out, size_t outlen)
{
    const char *base = strrchr(f->path, '/');
    base = base ? base + 1 : f->path;
    const char *dot = strrchr(base, '.');
    if (dot == base)
        dot = NULL;
    int stem = dot ? (int)(dot - base) : (int)strlen(base);
    struct tm tm;
    time_t mt = (time_t)f->mtime;
    gmtime_r(&mt, &tm);
    char date[16];
    strftime(date, sizeof date, "%Y%m%d", &tm);
    for (int i = 0; i < 10000; i++) {
        char num[16] = "", name[256];
        if (i)
            snprintf(num, sizeof num, "_%d", i);
        int len = snprintf(name, sizeof name, "%.*s_%s%s%s%s", stem, base, date,
                           num, dot ? dot : "", gz ? ".gz" : "");
        if (len < 0 || len >= (int)sizeof name || len >= (int)outlen)
            return -ENAMETOOLONG;
        if (zhashx_lookup(taken, name))
            continue;
        if (zhashx_insert(taken, name, (void *)1) != 0)
            return -ENOMEM;
        memcpy(out, name, (size_t)len + 1);
        return 0;
    }
    return -EEXIST;
}

// --- a batch's checksums, taken on a second thread ---------------------------

// A directory of the files being worked on, kept open while consecutive
// files are in it (their names are then looked up relative to it); dirty
// when entries in it changed, so that leaving it fsyncs it.
typedef struct {
    char path[ARC_PATH_MAX];
    int fd; // -1: none
    bool dirty;
} s_dir_t;

// Leaves d, with an fsync when dirty. Returns 0 or a negative code (the
// fsync failed; message in err).
static int
s_dir_leave(s_dir_t *d, char *err, size_t errlen)
{
    int rc = 0;
    if (d->fd >= 0 && d->dirty && fsync(d->fd) != 0) {
        rc = -errno;
        (void)azo_err_set(err, errlen, rc, "fsync dir %s: %s", d->path,
                          azo_err_str(rc));
    }
    if (d->fd >= 0)
        (void)close(d->fd); // synced above, or read-only use
    d->fd = -1;
    d->dirty = false;
    d->path[0] = 0;
    return rc;
}

// The fd of the directory holding path, *name set to path's last part.
// Another directory than d's last is opened, the last one left first (a
// failed fsync clears *synced). Returns the fd or a negative code (err).
static int
s_dir_enter(s_dir_t *d, const char *path, const char **name, bool *synced,
            char *err, size_t errlen)
{
    char dir[ARC_PATH_MAX];
    s_dirname(path, dir, sizeof dir);
    const char *slash = strrchr(path, '/');
    *name = slash ? slash + 1 : path;
    if (d->fd >= 0 && strcmp(dir, d->path) == 0)
        return d->fd;
    if (s_dir_leave(d, err, errlen) != 0 && synced)
        *synced = false;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        return azo_err_set(err, errlen, rc, "open dir %s: %s", dir,
                           azo_err_str(rc));
    }
    d->fd = fd;
    memcpy(d->path, dir, sizeof d->path);
    return fd;
}

// One file's checksum, or why there is none.
typedef struct {
    char sha[ARC_SHA_HEX];
    int64_t size;
    bool bad;
    char *err; // owned; NULL when bad and out of memory
} s_sum_t;

// The checksums of files[0..n): taken on a thread of their own while the
// worker moves the batch before (reading files and renaming them then use
// both cores), or inline when no thread can be had.
typedef struct {
    const s_file_t *files;
    size_t n;
    s_sum_t *sums; // n, owned
    pthread_t th;
    bool threaded;
} s_hasher_t;

static void *
s_hash_run(void *arg)
{
    s_hasher_t *h = arg;
    s_dir_t d = {.fd = -1};
    for (size_t i = 0; i < h->n; i++) {
        s_sum_t *sum = &h->sums[i];
        const char *path = h->files[i].path, *name;
        char err[600];
        int fd = s_dir_enter(&d, path, &name, NULL, err, sizeof err);
        if (fd < 0 || arc_fs_sha256_at(fd, name, path, sum->sha, &sum->size,
                                       err, sizeof err) != 0) {
            sum->bad = true;
            sum->err = strdup(err);
        }
    }
    (void)s_dir_leave(&d, NULL, 0); // read only: no fsync
    return NULL;
}

static int
s_hash_start(s_hasher_t *h, const s_file_t *files, size_t n)
{
    *h = (s_hasher_t){.files = files, .n = n};
    if (!(h->sums = calloc(n ? n : 1, sizeof *h->sums)))
        return -ENOMEM;
    h->threaded = pthread_create(&h->th, NULL, s_hash_run, h) == 0;
    if (!h->threaded)
        (void)s_hash_run(h);
    return 0;
}

static void
s_hash_join(s_hasher_t *h)
{
    if (h->threaded)
        (void)pthread_join(h->th, NULL);
    h->threaded = false;
}

static void
s_hash_free(s_hasher_t *h)
{
    s_hash_join(h);
    for (size_t i = 0; h->sums && i < h->n; i++)
        free(h->sums[i].err);
    free(h->sums);
    h->sums = NULL;
}

// --- a batch: intents, moves, directory syncs, catalog -----------------------

// The plan for one file of a batch.
typedef struct {
    uint64_t id;
    char name[256]; // in the archive directory
    bool planned;   // intent written
    bool ok;        // moved
} s_item_t;

typedef struct {
    const char *job, *adir;
    int adirfd;
    zhashx_t *taken;
    bool gz;
    int level;
    int64_t ts; // of this batch's intents and entries
    const s_file_t *files;
    const s_sum_t *sums;
    s_item_t *items;
    size_t n;
} s_batch_t;

// The catalog entry of b's file i.
static void
s_entry(const s_batch_t *b, size_t i, uint8_t state, arc_entry_t *e)
{
    const s_file_t *f = &b->files[i];
    e->id = b->items[i].id;
    snprintf(e->orig, sizeof e->orig, "%s", f->path);
    snprintf(e->path, sizeof e->path, "%s/%s", b->adir, b->items[i].name);
    e->size = b->sums[i].size;
    e->mtime = f->mtime;
    memcpy(e->sha, b->sums[i].sha, sizeof e->sha);
    e->gzip = b->gz;
    snprintf(e->job, sizeof e->job, "%s", b->job);
    e->ts = b->ts;
    e->state = state;
}

// One archive.moved event per batch: {job, count, files: [ENTRY]}.
static void
s_moved_event(s_worker_t *w, const s_batch_t *b, size_t count, arc_entry_t *e)
{
    if (!count)
        return;
    s_body_t body;
    msgpack_packer *pk = s_body_init(&body);
    msgpack_pack_map(pk, 3);
    azo_pack_kstr(pk, "job", b->job);
    azo_pack_kint(pk, "count", (int64_t)count);
    msgpack_pack_str_with_body(pk, "files", 5);
    msgpack_pack_array(pk, (uint32_t)count);
    for (size_t i = 0; i < b->n; i++)
        if (b->items[i].ok) {
            s_entry(b, i, ARC_ARCHIVED, e);
            arc_entry_pack(e, pk);
        }
    s_body_send(w, "archive.moved", &body);
}

// Moves b's planned file i into the archive (renamed relative to its
// directory's fd sfd; gzip-compressed; or copied to another file system).
// Returns 0 or a negative code (err).
static int
s_move(const s_batch_t *b, size_t i, int sfd, const char *name, char *err,
       size_t errlen)
{
    const char *from = b->files[i].path;
    char to[ARC_PATH_MAX];
    snprintf(to, sizeof to, "%s/%s", b->adir, b->items[i].name);
    int rc;
    if (b->gz) {
        rc = arc_fs_gzip(from, to, b->level, err, errlen);
        if (rc == 0 && unlinkat(sfd, name, 0) != 0) {
            rc = -errno;
            (void)azo_err_set(err, errlen, 0, "unlink %s: %s", from,
                              strerror(errno));
        }
        return rc;
    }
    rc = renameat2(sfd, name, b->adirfd, b->items[i].name, RENAME_NOREPLACE)
             ? -errno
             : 0;
    // Another file system (a copy), or one that refuses RENAME_NOREPLACE:
    // arc_fs does it the long way.
    if (rc == -EXDEV || rc == -EINVAL)
        rc = arc_fs_move(from, to, b->sums[i].sha, NULL, err, errlen);
    else if (rc)
        (void)azo_err_set(err, errlen, 0, "rename %s -> %s: %s", from, to,
                          strerror(-rc));
    return rc;
}

// Archives b's files (one batch): intents, the moves, the directory syncs,
// then the catalog. Returns 0 or a negative code (store).
static int
s_batch(s_worker_t *w, s_batch_t *b, s_result_t *r)
{
    arc_entry_t *e = malloc(sizeof *e); // one at a time: 8 KiB each
    if (!e)
        return -ENOMEM;
    uint64_t planned = 0;
    for (size_t i = 0; i < b->n; i++) {
        s_item_t *it = &b->items[i];
        char err[600];
        if (b->sums[i].bad) {
            s_error(r, b->files[i].path,
                    b->sums[i].err ? b->sums[i].err : "out of memory");
            continue;
        }
        int nrc =
            s_name(b->taken, &b->files[i], b->gz, it->name, sizeof it->name);
        if (nrc) {
            (void)azo_err_set(err, sizeof err, 0, "no free archive name: %s",
                              azo_err_str(nrc));
            s_error(r, b->files[i].path, err);
            continue;
        }
        it->planned = true;
        planned++;
    }
    uint64_t id = 0;
    azo_txn_t *txn = NULL;
    int rc = azo_store_begin(w->store, true, &txn);
    if (rc == 0 && planned)
        rc = arc_cat_next_ids(txn, w->db, planned, &id);
    for (size_t i = 0; rc == 0 && i < b->n; i++) {
        if (!b->items[i].planned)
            continue;
        b->items[i].id = id++;
        s_entry(b, i, ARC_MOVING, e);
        rc = arc_cat_put(txn, w->db, e, true);
    }
    if (rc == 0)
        rc = azo_store_commit(&txn);
    azo_store_abort(&txn);
    if (rc < 0) {
        free(e);
        return rc;
    }
    // The moves; each directory synced once, after its renames.
    bool synced = true;
    s_dir_t src = {.fd = -1};
    char err[600] = "";
    for (size_t i = 0; i < b->n; i++) {
        if (!b->items[i].planned)
            continue;
        const char *name;
        int sfd = s_dir_enter(&src, b->files[i].path, &name, &synced, err,
                              sizeof err);
        if (sfd < 0 || s_move(b, i, sfd, name, err, sizeof err) != 0) {
            s_error(r, b->files[i].path, err);
            continue;
        }
        src.dirty = true;
        b->items[i].ok = true;
    }
    err[0] = 0;
    if (s_dir_leave(&src, err, sizeof err) != 0)
        synced = false;
    if (fsync(b->adirfd) != 0) {
        synced = false;
        (void)azo_err_set(err, sizeof err, 0, "fsync dir %s: %s", b->adir,
                          strerror(errno));
    }
    if (!synced) {
        // Not known to be on disk: the intents stay, and the next run's
        // recovery looks at the files again.
        s_error(r, b->adir, err[0] ? err : "directory fsync failed");
        free(e);
        return 0;
    }
    rc = azo_store_begin(w->store, true, &txn);
    for (size_t i = 0; rc == 0 && i < b->n; i++) {
        if (!b->items[i].planned)
            continue;
        rc = arc_cat_del_intent(txn, w->db, b->items[i].id);
        if (rc == 0 && b->items[i].ok) {
            s_entry(b, i, ARC_ARCHIVED, e);
            rc = arc_cat_put(txn, w->db, e, false);
        }
    }
    if (rc == 0)
        rc = azo_store_commit(&txn);
    azo_store_abort(&txn);
    size_t count = 0;
    for (size_t i = 0; rc == 0 && i < b->n; i++)
        if (b->items[i].ok) {
            char to[ARC_PATH_MAX];
            snprintf(to, sizeof to, "%s/%s", b->adir, b->items[i].name);
            r->moved++;
            r->bytes += b->sums[i].size;
            s_pack_plan(r, "archived", b->files[i].path, to, b->sums[i].size);
            count++;
        }
    if (rc == 0)
        s_moved_event(w, b, count, e);
    free(e);
    return rc;
}

typedef struct {
    const char *job;
    s_entries_t l;
} s_prune_t;

static int
s_collect_job(const arc_entry_t *e, void *arg)
{
    s_prune_t *p = arg;
    if (e->state != ARC_ARCHIVED || strcmp(e->job, p->job) != 0)
        return 0;
    return s_collect(e, &p->l);
}

// Keeps at most max archives of job: the oldest catalogued ones go (and
// only catalogued archives, never another file).
static int
s_prune(s_worker_t *w, const char *job, int64_t max, bool dry, s_result_t *r)
{
    s_prune_t p = {job, {0}};
    azo_txn_t *txn = NULL;
    int rc = azo_store_begin(w->store, false, &txn);
    if (rc == 0)
        rc = arc_cat_each(txn, w->db, false, 0, s_collect_job, &p, NULL);
    azo_store_abort(&txn);
    for (size_t i = 0; rc == 0 && (int64_t)(p.l.n - i) > max; i++) {
        arc_entry_t *e = &p.l.v[i]; // id order: oldest first
        if (dry) {
            s_pack_plan(r, "prune", e->path, NULL, e->size);
            r->pruned++;
            continue;
        }
        if (unlink(e->path) != 0 && errno != ENOENT) {
            char why[600];
            (void)azo_err_set(why, sizeof why, 0, "unlink %s: %s", e->path,
                              strerror(errno));
            s_error(r, e->path, why);
            continue;
        }
        e->state = ARC_PRUNED;
        rc = azo_store_begin(w->store, true, &txn);
        if (rc == 0)
            rc = arc_cat_put(txn, w->db, e, false);
        if (rc == 0)
            rc = azo_store_commit(&txn);
        azo_store_abort(&txn);
        if (rc == 0) {
            r->pruned++;
            s_body_t b;
            arc_entry_pack(e, s_body_init(&b));
            s_body_send(w, "archive.pruned", &b);
        }
    }
    free(p.l.v);
    return rc;
}

// Archives files in batches growing from S_BATCH_FIRST to S_BATCH: the
// checksums of the next batch are taken while this one is moved.
static int
s_archive_batches(s_worker_t *w, const char *job, const char *adir,
                  zhashx_t *taken, bool gz, int level, const s_files_t *f,
                  s_result_t *r)
{
    int adirfd = open(adir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (adirfd < 0) {
        char why[600];
        (void)azo_err_set(why, sizeof why, 0, "open dir %s: %s", adir,
                          strerror(errno));
        s_error(r, adir, why);
        return 0;
    }
    size_t n = f->n < S_BATCH_FIRST ? f->n : S_BATCH_FIRST;
    s_hasher_t cur = {0}, next = {0};
    int rc = n ? s_hash_start(&cur, f->v, n) : 0;
    for (size_t at = 0; rc == 0 && at < f->n;) {
        s_hash_join(&cur);
        size_t nat = at + n;
        size_t nn = f->n - nat < 2 * n ? f->n - nat : 2 * n;
        if (nn > S_BATCH)
            nn = S_BATCH;
        if (s_stopping(w))
            break;
        if (nn)
            rc = s_hash_start(&next, f->v + nat, nn);
        s_item_t *items = calloc(n, sizeof *items);
        if (rc == 0 && !items)
            rc = -ENOMEM;
        s_batch_t b = {.job = job,
                       .adir = adir,
                       .adirfd = adirfd,
                       .taken = taken,
                       .gz = gz,
                       .level = level,
                       .ts = zclock_time(),
                       .files = f->v + at,
                       .sums = cur.sums,
                       .items = items,
                       .n = n};
        if (rc == 0)
            rc = s_batch(w, &b, r);
        free(items);
        s_hash_free(&cur);
        cur = next;
        next = (s_hasher_t){0};
        at = nat;
        n = nn;
    }
    s_hash_free(&cur);
    (void)close(adirfd); // synced after each batch
    return rc;
}

static int
s_run_archive(s_worker_t *w, const char *job, bool dry, s_result_t *r)
{
    char k[400];
    const azo_config_t *cfg = w->cfg;
    const char *dir = azo_config_str(cfg, s_jobkey(w, job, "dir", k, sizeof k));
    const char *glob =
        azo_config_str(cfg, s_jobkey(w, job, "glob", k, sizeof k));
    const char *adir =
        azo_config_str(cfg, s_jobkey(w, job, "archive_dir", k, sizeof k));
    int64_t age = azo_config_ms(cfg, s_jobkey(w, job, "age", k, sizeof k),
                                7 * 86400000LL);
    bool rec =
        azo_config_bool(cfg, s_jobkey(w, job, "recursive", k, sizeof k), false);
    bool gz =
        azo_config_bool(cfg, s_jobkey(w, job, "compress", k, sizeof k), false);
    int level = (int)azo_config_int(
        cfg, s_jobkey(w, job, "compress_level", k, sizeof k), 6);
    int64_t max =
        azo_config_int(cfg, s_jobkey(w, job, "max_archived", k, sizeof k), 0);
    if (!dir || !adir)
        return AZO_EBADREQ;
    if (!dry && mkdir(adir, 0750) != 0 && errno != EEXIST) {
        char why[600];
        (void)azo_err_set(why, sizeof why, 0, "mkdir %s: %s", adir,
                          strerror(errno));
        s_error(r, adir, why);
        return 0;
    }
    if (!dry)
        (void)arc_fs_clean_tmp(adir, NULL, 0);
    s_files_t f = {0};
    int64_t before = (zclock_time() - age) / 1000;
    zhashx_t *taken = s_taken_load(adir);
    if (!taken)
        return -ENOMEM;
    int rc = s_scan(dir, glob ? glob : "*", rec, adir, before, &f, r);
    if (rc == 0)
        qsort(f.v, f.n, sizeof *f.v, s_by_mtime);
    if (dry) {
        for (size_t i = 0; rc == 0 && i < f.n; i++) {
            char name[256], to[ARC_PATH_MAX];
            if (s_name(taken, &f.v[i], gz, name, sizeof name) == 0) {
                snprintf(to, sizeof to, "%s/%s", adir, name);
                s_pack_plan(r, "archive", f.v[i].path, to, f.v[i].size);
                r->moved++;
                r->bytes += f.v[i].size;
            }
        }
    } else if (rc == 0)
        rc = s_archive_batches(w, job, adir, taken, gz, level, &f, r);
    if (rc == 0 && max > 0 && !s_stopping(w))
        rc = s_prune(w, job, max, dry, r);
    zhashx_destroy(&taken);
    s_files_free(&f);
    return rc;
}

// --- cleanup jobs ----------------------------------------------------------

static int
s_run_cleanup(s_worker_t *w, const char *job, bool dry, s_result_t *r)
{
    char k[400];
    const azo_config_t *cfg = w->cfg;
    const char *dir = azo_config_str(cfg, s_jobkey(w, job, "dir", k, sizeof k));
    const char *glob =
        azo_config_str(cfg, s_jobkey(w, job, "glob", k, sizeof k));
    int64_t max_age =
        azo_config_ms(cfg, s_jobkey(w, job, "max_age", k, sizeof k), 0);
    int64_t max_size =
        azo_config_size(cfg, s_jobkey(w, job, "max_size", k, sizeof k), 0);
    bool rec =
        azo_config_bool(cfg, s_jobkey(w, job, "recursive", k, sizeof k), false);
    if (!dir)
        return AZO_EBADREQ;
    s_files_t f = {0};
    int rc = s_scan(dir, glob ? glob : "*", rec, NULL, 0, &f, r);
    if (rc == 0)
        qsort(f.v, f.n, sizeof *f.v, s_by_mtime);
    int64_t total = 0;
    for (size_t i = 0; i < f.n; i++)
        total += f.v[i].size;
    int64_t cut = max_age ? (zclock_time() - max_age) / 1000 : 0;
    for (size_t i = 0; rc == 0 && i < f.n; i++) {
        bool old = cut && f.v[i].mtime < cut;
        bool over = max_size && total > max_size;
        if (!old && !over)
            break; // oldest first: the rest are newer and it fits
        if (!dry && s_stopping(w))
            break;
        if (!dry && unlink(f.v[i].path) != 0) {
            char why[600];
            (void)azo_err_set(why, sizeof why, 0, "unlink %s: %s", f.v[i].path,
                              strerror(errno));
            s_error(r, f.v[i].path, why);
            continue;
        }
        total -= f.v[i].size;
        r->pruned++;
        r->bytes += f.v[i].size;
        s_pack_plan(r, dry ? "delete" : "deleted", f.v[i].path, NULL,
                    f.v[i].size);
        if (!dry) {
            s_body_t b;
            msgpack_packer *pk = s_body_init(&b);
            msgpack_pack_map(pk, 4);
            azo_pack_kstr(pk, "job", job);
            azo_pack_kstr(pk, "path", f.v[i].path);
            azo_pack_kint(pk, "size", f.v[i].size);
            azo_pack_kstr(pk, "reason", old ? "max_age" : "max_size");
            s_body_send(w, "archive.pruned", &b);
        }
    }
    s_files_free(&f);
    return rc;
}

// --- rotate jobs -----------------------------------------------------------

typedef struct {
    s_worker_t *w;
    s_result_t *r;
    const char *job;
    bool dry;
} s_rot_t;

static void
s_rot_report(void *arg, const char *action, const char *from, const char *to,
             int64_t bytes, int rc, const char *err)
{
    s_rot_t *x = arg;
    if (rc < 0) {
        s_error(x->r, from ? from : "?", err && err[0] ? err : "failed");
        return;
    }
    s_pack_plan(x->r, action, from, to, bytes);
    if (strcmp(action, "rotate") == 0)
        x->r->moved++;
    else if (strcmp(action, "remove") == 0)
        x->r->pruned++;
    if (x->dry || strcmp(action, "skip") == 0)
        return;
    s_body_t b;
    msgpack_packer *pk = s_body_init(&b);
    msgpack_pack_map(pk, 5);
    azo_pack_kstr(pk, "job", x->job);
    azo_pack_kstr(pk, "action", action);
    azo_pack_kstr(pk, "path", from);
    azo_pack_kstr(pk, "to", to);
    azo_pack_kint(pk, "bytes", bytes);
    s_body_send(x->w,
                strcmp(action, "remove") == 0 ? "archive.pruned"
                                              : "archive.rotated",
                &b);
}

static int
s_run_rotate(s_worker_t *w, const char *job, bool dry, s_result_t *r)
{
    char k[400];
    const azo_config_t *cfg = w->cfg;
#define S_JK(key) s_jobkey(w, job, key, k, sizeof k)
    arc_rot_cfg_t rc = {
        .path = azo_config_str(cfg, S_JK("path")),
        .rotate = (int)azo_config_int(cfg, S_JK("rotate"), 4),
        .size = azo_config_size(cfg, S_JK("size"), 0),
        .max_age_ms = azo_config_ms(cfg, S_JK("max_age"), 0),
        .compress = azo_config_bool(cfg, S_JK("compress"), false),
        .delaycompress = azo_config_bool(cfg, S_JK("delaycompress"), false),
        .dateext = azo_config_bool(cfg, S_JK("dateext"), false),
        .missingok = azo_config_bool(cfg, S_JK("missingok"), false),
        .notifempty = azo_config_bool(cfg, S_JK("notifempty"), false),
        .copytruncate = azo_config_bool(cfg, S_JK("copytruncate"), false),
        .pidfile = azo_config_str(cfg, S_JK("pidfile")),
        .now_ms = zclock_time(),
    };
    const char *sig = azo_config_str(cfg, S_JK("signal"));
#undef S_JK
    rc.sig = !sig || strcmp(sig, "HUP") == 0 ? SIGHUP
             : strcmp(sig, "USR1") == 0      ? SIGUSR1
             : strcmp(sig, "USR2") == 0      ? SIGUSR2
                                             : SIGHUP;
    s_rot_t x = {w, r, job, dry};
    char err[600] = "";
    int n = arc_rot_run(&rc, dry, s_rot_report, &x, err, sizeof err);
    if (n < 0 && n != AZO_EBADREQ)
        return 0; // reported through s_rot_report
    if (n == AZO_EBADREQ)
        s_error(r, rc.path ? rc.path : job, err);
    return 0;
}

// --- restore -----------------------------------------------------------------

static int
s_restore(s_worker_t *w, uint64_t id, char *err, size_t errlen, arc_entry_t *e)
{
    azo_txn_t *txn = NULL;
    int rc = azo_store_begin(w->store, false, &txn);
    if (rc == 0)
        rc = arc_cat_get(txn, w->db, id, false, e);
    azo_store_abort(&txn);
    if (rc == AZO_ENOTFOUND) {
        (void)azo_err_set(err, errlen, 0, "no archived file with id %llu",
                          (unsigned long long)id);
        return rc;
    }
    if (rc < 0) {
        (void)azo_err_set(err, errlen, 0, "catalog: %s", azo_err_str(rc));
        return rc;
    }
    if (e->state != ARC_ARCHIVED) {
        (void)azo_err_set(err, errlen, 0, "file %llu is %s, not in the archive",
                          (unsigned long long)id, arc_state_name(e->state));
        return AZO_ECONFLICT;
    }
    if (s_exists(e->orig)) {
        (void)azo_err_set(
            err, errlen, 0,
            "%s exists: restore refuses to overwrite it (move it away "
            "first)",
            e->orig);
        return AZO_ECONFLICT;
    }
    char dir[ARC_PATH_MAX];
    s_dirname(e->orig, dir, sizeof dir);
    if (!s_exists(dir)) {
        (void)azo_err_set(err, errlen, 0, "%s: the original directory is gone",
                          dir);
        return AZO_ENOTFOUND;
    }
    if (e->gzip) {
        rc = arc_fs_gunzip(e->path, e->orig, err, errlen);
        char sha[ARC_SHA_HEX];
        if (rc == 0 &&
            (rc = arc_fs_sha256(e->orig, sha, NULL, err, errlen)) == 0 &&
            strcmp(sha, e->sha) != 0) {
            (void)unlink(e->orig);
            (void)azo_err_set(err, errlen, 0,
                              "%s: restored bytes differ from the "
                              "catalog's checksum; archive kept",
                              e->path);
            rc = AZO_EINTERNAL;
        }
        if (rc == 0 && unlink(e->path) != 0) {
            (void)azo_err_set(err, errlen, 0, "restored, but unlink %s: %s",
                              e->path, strerror(errno));
            rc = -errno;
        }
    } else
        rc = arc_fs_move(e->path, e->orig, e->sha, NULL, err, errlen);
    if (rc < 0)
        return rc;
    e->state = ARC_RESTORED;
    rc = azo_store_begin(w->store, true, &txn);
    if (rc == 0)
        rc = arc_cat_put(txn, w->db, e, false);
    if (rc == 0)
        rc = azo_store_commit(&txn);
    azo_store_abort(&txn);
    if (rc < 0)
        (void)azo_err_set(err, errlen, 0, "restored, but the catalog: %s",
                          azo_err_str(rc));
    return rc;
}

// --- the worker thread -----------------------------------------------------

static void
s_done(s_worker_t *w, int rc, const char *err, const msgpack_sbuffer *res)
{
    zmsg_t *m = zmsg_new();
    zmsg_addstr(m, "DONE");
    zmsg_addstrf(m, "%d", rc);
    zmsg_addstr(m, err ? err : "");
    zmsg_addmem(m, res ? res->data : "", res ? res->size : 0);
    zmsg_send(&m, w->pipe);
}

// Packs a run's summary: job, kind, dry_run (when dry is not NULL),
// moved, pruned, bytes, errors, duration_ms: 7 or 8 pairs.
static void
s_pack_summary(msgpack_packer *pk, const char *job, const char *kind,
               const bool *dry, const s_result_t *r, int64_t ms)
{
    azo_pack_kstr(pk, "job", job);
    azo_pack_kstr(pk, "kind", kind);
    if (dry)
        azo_pack_kbool(pk, "dry_run", *dry);
    azo_pack_kint(pk, "moved", r->moved);
    azo_pack_kint(pk, "pruned", r->pruned);
    azo_pack_kint(pk, "bytes", r->bytes);
    azo_pack_kint(pk, "errors", r->errors);
    azo_pack_kint(pk, "duration_ms", ms);
}

static void
s_do_run(s_worker_t *w, const char *job, bool dry)
{
    char k[400];
    const char *kind =
        azo_config_str(w->cfg, s_jobkey(w, job, "kind", k, sizeof k));
    int64_t t0 = zclock_mono();
    s_result_t r;
    s_result_init(&r);
    int rc = dry ? 0 : s_recover(w, &r);
    if (rc == 0) {
        if (kind && strcmp(kind, "cleanup") == 0)
            rc = s_run_cleanup(w, job, dry, &r);
        else if (kind && strcmp(kind, "archive") == 0)
            rc = s_run_archive(w, job, dry, &r);
        else if (kind && strcmp(kind, "rotate") == 0)
            rc = s_run_rotate(w, job, dry, &r);
        else
            rc = AZO_EUNAVAIL;
    }
    int64_t ms = zclock_mono() - t0;
    s_body_t res;
    msgpack_packer *pk = s_body_init(&res);
    msgpack_pack_map(pk, 10);
    s_pack_summary(pk, job, kind, &dry, &r, ms);
    msgpack_pack_str_with_body(pk, "files", 5);
    msgpack_pack_array(pk, r.nfiles);
    msgpack_sbuffer_write(&res.sb, r.files.sb.data, r.files.sb.size);
    msgpack_pack_str_with_body(pk, "error_list", 10);
    msgpack_pack_array(pk, r.nerrs);
    msgpack_sbuffer_write(&res.sb, r.errs.sb.data, r.errs.sb.size);
    if (!dry && rc == 0) {
        // archive.run: the summary, without the lists.
        s_body_t ev;
        msgpack_pack_map(s_body_init(&ev), 7);
        s_pack_summary(&ev.pk, job, kind, NULL, &r, ms);
        s_body_send(w, "archive.run", &ev);
    }
    char err[200] = "";
    if (rc == AZO_EUNAVAIL)
        (void)azo_err_set(err, sizeof err, 0,
                          "job '%s': kind '%s' is not available in "
                          "this build yet",
                          job, kind ? kind : "?");
    else if (rc < 0)
        (void)azo_err_set(err, sizeof err, 0, "job '%s': %s", job,
                          azo_err_str(rc));
    s_done(w, rc, err, &res.sb);
    msgpack_sbuffer_destroy(&res.sb);
    s_result_fini(&r);
}

static void
s_do_restore(s_worker_t *w, uint64_t id)
{
    char err[600] = "";
    arc_entry_t *e = calloc(1, sizeof *e);
    int rc = e ? s_restore(w, id, err, sizeof err, e) : -ENOMEM;
    s_body_t b;
    msgpack_packer *pk = s_body_init(&b);
    if (rc == 0) {
        arc_entry_pack(e, pk);
        s_event(w, "archive.restored", &b.sb);
    }
    s_done(w, rc, err, &b.sb); // the entry is also the answer
    msgpack_sbuffer_destroy(&b.sb);
    free(e);
}

static void
s_worker(zsock_t *pipe, void *arg)
{
    s_wargs_t *a = arg;
    s_worker_t w = {pipe, a->cfg, a->store, a->db, false, "actors/archiver"};
    free(a);
    zsock_signal(pipe, 0);
    while (!w.term) {
        zmsg_t *m = zmsg_recv(pipe);
        if (!m)
            break;
        char *cmd = zmsg_popstr(m);
        if (cmd && strcmp(cmd, "$TERM") == 0)
            w.term = true;
        else if (cmd && strcmp(cmd, "RUN") == 0) {
            char *job = zmsg_popstr(m), *dry = zmsg_popstr(m);
            s_do_run(&w, job ? job : "", dry && strcmp(dry, "1") == 0);
            zstr_free(&job);
            zstr_free(&dry);
        } else if (cmd && strcmp(cmd, "RESTORE") == 0) {
            char *id = zmsg_popstr(m);
            s_do_restore(&w, id ? strtoull(id, NULL, 10) : 0);
            zstr_free(&id);
        }
        zstr_free(&cmd);
        zmsg_destroy(&m);
    }
}

// --- the actor ---------------------------------------------------------------

typedef struct s_task {
    char kind; // 'R' run, 'S' restore
    char job[ARC_JOB_MAX];
    bool dry;
    uint64_t id;
    azo_reply_t *reply; // NULL: nobody waits (one-way or part of "all")
    struct s_all *all;  // archive.run without a job: gathers the results
} s_task_t;

typedef struct s_all {
    azo_reply_t *reply;
    size_t left;
    msgpack_sbuffer sb; // the results, an array's elements
    uint32_t n;
    int64_t moved, errors;
} s_all_t;

typedef struct {
    azo_actor_t *actor;
    zactor_t *worker;
    zlistx_t *tasks; // s_task_t, the first one running
    bool busy;
} s_arc_t;

static void s_next(s_arc_t *self);

// Publishes the worker's event: topic and the fields of body (a map), but
// v, ts, node and src: the envelope has its own (azo_actor_publish_map).
static void
s_publish(s_arc_t *self, const char *topic, const void *body, size_t len)
{
    (void)azo_actor_publish_map(self->actor, topic, body, len);
}

static void
s_all_done(s_arc_t *self, s_all_t *all)
{
    if (all->reply) {
        msgpack_packer *pk = azo_reply_result(all->reply);
        msgpack_pack_map(pk, 3);
        azo_pack_kint(pk, "moved", all->moved);
        azo_pack_kint(pk, "errors", all->errors);
        msgpack_pack_str_with_body(pk, "jobs", 4);
        msgpack_pack_array(pk, all->n);
        (void)pk->callback(pk->data, all->sb.data, all->sb.size);
        (void)azo_actor_reply(self->actor, &all->reply);
    }
    msgpack_sbuffer_destroy(&all->sb);
    free(all);
}

static int
s_on_worker(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    s_arc_t *self = arg;
    zmsg_t *m = zmsg_recv(sock);
    if (!m)
        return 0;
    char *kind = zmsg_popstr(m);
    if (kind && strcmp(kind, "EV") == 0) {
        char *topic = zmsg_popstr(m);
        zframe_t *body = zmsg_pop(m);
        if (topic && body)
            s_publish(self, topic, zframe_data(body), zframe_size(body));
        zstr_free(&topic);
        zframe_destroy(&body);
    } else if (kind && strcmp(kind, "DONE") == 0) {
        char *rcs = zmsg_popstr(m), *err = zmsg_popstr(m);
        zframe_t *res = zmsg_pop(m);
        int rc = rcs ? atoi(rcs) : AZO_EINTERNAL;
        s_task_t *t = zlistx_first(self->tasks);
        if (t) {
            if (t->all) {
                s_all_t *all = t->all;
                all->n++;
                if (rc < 0) {
                    msgpack_packer pk;
                    msgpack_packer_init(&pk, &all->sb, msgpack_sbuffer_write);
                    msgpack_pack_map(&pk, 2);
                    azo_pack_kstr(&pk, "job", t->job);
                    azo_pack_kstr(&pk, "error", err);
                    all->errors++;
                } else if (res && zframe_size(res)) {
                    msgpack_sbuffer_write(&all->sb,
                                          (const char *)zframe_data(res),
                                          zframe_size(res));
                    msgpack_zone zone;
                    msgpack_zone_init(&zone, 2048);
                    msgpack_object o;
                    int64_t v;
                    if (azo_mp_unpack(zframe_data(res), zframe_size(res), &zone,
                                      &o) == 0) {
                        if (azo_mp_int(azo_mp_get(&o, "moved"), &v) == 0)
                            all->moved += v;
                        if (azo_mp_int(azo_mp_get(&o, "errors"), &v) == 0)
                            all->errors += v;
                    }
                    msgpack_zone_destroy(&zone);
                }
                if (--all->left == 0)
                    s_all_done(self, all);
            } else if (t->reply) {
                if (rc < 0)
                    azo_reply_fail(t->reply, rc, "%s", err ? err : "");
                else {
                    msgpack_packer *pk = azo_reply_result(t->reply);
                    (void)pk->callback(pk->data, (const char *)zframe_data(res),
                                       zframe_size(res));
                }
                (void)azo_actor_reply(self->actor, &t->reply);
            }
            zlistx_delete(self->tasks, zlistx_cursor(self->tasks));
        }
        self->busy = false;
        zstr_free(&rcs);
        zstr_free(&err);
        zframe_destroy(&res);
        s_next(self);
    }
    zstr_free(&kind);
    zmsg_destroy(&m);
    return 0;
}

static void
s_next(s_arc_t *self)
{
    if (self->busy)
        return;
    s_task_t *t = zlistx_first(self->tasks);
    if (!t)
        return;
    self->busy = true;
    if (t->kind == 'R')
        zsock_send(self->worker, "sss", "RUN", t->job, t->dry ? "1" : "0");
    else {
        char id[32];
        snprintf(id, sizeof id, "%llu", (unsigned long long)t->id);
        zsock_send(self->worker, "ss", "RESTORE", id);
    }
}

static bool
s_job_exists(s_arc_t *self, const char *job)
{
    char k[400];
    snprintf(k, sizeof k, "actors/archiver/jobs/%s", job);
    return azo_config_section(azo_actor_config(self->actor), k) != NULL;
}

static s_task_t *
s_task(s_arc_t *self, char kind, const char *job, bool dry)
{
    s_task_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->kind = kind;
    snprintf(t->job, sizeof t->job, "%s", job ? job : "");
    t->dry = dry;
    if (!zlistx_add_end(self->tasks, t)) {
        free(t);
        return NULL;
    }
    return t;
}

static int
s_cmd_run(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_arc_t *self = selfp;
    const char *bad = azo_req_unknown_arg(req, "job,dry_run");
    if (bad)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "unknown argument '%s' (known: job, dry_run)",
                              bad);
    const char *job = azo_req_str(req, "job");
    if (azo_req_arg(req, "job") && !job)
        return azo_reply_fail(reply, AZO_EBADREQ, "job: must be a string");
    bool dry = false;
    if (azo_req_bool(req, "dry_run", &dry) == AZO_EBADREQ)
        return azo_reply_fail(reply, AZO_EBADREQ, "dry_run: must be a boolean");
    if (job && (strchr(job, '/') || !s_job_exists(self, job)))
        return azo_reply_fail(reply, AZO_ENOTFOUND, "no archiver job '%s'",
                              job);
    if (job) {
        s_task_t *t = s_task(self, 'R', job, dry);
        if (!t)
            return -ENOMEM;
        t->reply = azo_actor_defer(self->actor, reply);
        s_next(self);
        return 0;
    }
    // Every job, in config order.
    zconfig_t *jobs = azo_config_section(azo_actor_config(self->actor),
                                         "actors/archiver/jobs");
    s_all_t *all = calloc(1, sizeof *all);
    if (!all)
        return -ENOMEM;
    msgpack_sbuffer_init(&all->sb);
    for (zconfig_t *j = jobs ? zconfig_child(jobs) : NULL; j;
         j = zconfig_next(j)) {
        s_task_t *t = s_task(self, 'R', zconfig_name(j), dry);
        if (t) {
            t->all = all;
            all->left++;
        }
    }
    all->reply = azo_actor_defer(self->actor, reply);
    if (!all->left) { // no jobs configured
        s_all_done(self, all);
        return 0;
    }
    s_next(self);
    return 0;
}

typedef struct {
    msgpack_packer *pk;
    const char *job;
    int64_t since;
    uint32_t n, max;
    bool more;
    uint64_t last;
} s_list_t;

static int
s_list_one(const arc_entry_t *e, void *arg)
{
    s_list_t *l = arg;
    if ((l->job && strcmp(e->job, l->job) != 0) || e->ts < l->since)
        return 0;
    if (l->n == l->max) {
        l->more = true;
        return 1;
    }
    arc_entry_pack(e, l->pk);
    l->last = e->id;
    l->n++;
    return 0;
}

static int
s_cmd_list(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_arc_t *self = selfp;
    const char *bad = azo_req_unknown_arg(req, "job,since,after,limit");
    if (bad)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "unknown argument '%s' (known: job, since, "
                              "after, limit)",
                              bad);
    const char *job = azo_req_str(req, "job");
    if (azo_req_arg(req, "job") && !job)
        return azo_reply_fail(reply, AZO_EBADREQ, "job: must be a string");
    int64_t since = 0, after = 0, limit = S_LISTED;
    if (azo_req_int(req, "since", &since) == AZO_EBADREQ)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "since: must be Unix ms (an integer)");
    if (azo_req_int(req, "after", &after) == AZO_EBADREQ || after < 0)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "after: must be an id (an integer >= 0)");
    if (azo_req_int(req, "limit", &limit) == AZO_EBADREQ || limit < 1 ||
        limit > S_LISTED)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "limit: must be an integer 1..%d", S_LISTED);
    azo_txn_t *txn = NULL;
    int rc = azo_store_begin(azo_actor_store(self->actor), false, &txn);
    if (rc < 0)
        return azo_reply_fail(reply, rc, "catalog: %s", azo_err_str(rc));
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 4);
    msgpack_pack_str_with_body(pk, "files", 5);
    size_t at = azo_pack_array_open(pk);
    s_list_t l = {pk, job, since, 0, (uint32_t)limit, false, 0};
    int bad_n = 0;
    rc = arc_cat_each(txn, azo_actor_db(self->actor), false,
                      (uint64_t)after + 1, s_list_one, &l, &bad_n);
    azo_pack_array_close(pk, at, l.n);
    azo_pack_kint(pk, "count", l.n);
    azo_pack_kbool(pk, "more", l.more);
    azo_pack_kuint(pk, "next_after", l.more ? l.last : 0);
    azo_store_abort(&txn);
    if (bad_n)
        zsys_warning("archiver: %d corrupt catalog entries skipped", bad_n);
    return rc < 0 ? azo_reply_fail(reply, rc, "catalog: %s", azo_err_str(rc))
                  : 0;
}

static int
s_cmd_restore(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_arc_t *self = selfp;
    const char *bad = azo_req_unknown_arg(req, "id");
    if (bad)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "unknown argument '%s' (known: id)", bad);
    int64_t id = 0;
    const char *ids = azo_req_str(req, "id"); // "12" from a command line
    if (ids && *ids && strspn(ids, "0123456789") == strlen(ids) &&
        strlen(ids) < 19)
        id = strtoll(ids, NULL, 10);
    else if (azo_req_int(req, "id", &id) != 0)
        id = 0;
    if (id <= 0)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "id: must be a catalog id (an integer > 0)");
    s_task_t *t = s_task(self, 'S', NULL, false);
    if (!t)
        return -ENOMEM;
    t->id = (uint64_t)id;
    t->reply = azo_actor_defer(self->actor, reply);
    s_next(self);
    return 0;
}

static void
s_task_free(void **item)
{
    free(*item);
    *item = NULL;
}

static void
s_fini(void *selfp)
{
    s_arc_t *self = selfp;
    if (!self)
        return;
    zactor_destroy(&self->worker); // $TERM: it stops between files
    // Tasks still queued: their deferred replies are answered by the
    // runtime ("unavailable"); gathered results are dropped.
    for (s_task_t *t = zlistx_first(self->tasks); t;
         t = zlistx_next(self->tasks))
        if (t->all && --t->all->left == 0) {
            t->all->reply = NULL;
            s_all_done(self, t->all);
        }
    zlistx_destroy(&self->tasks);
    free(self);
}

static int
s_init(azo_actor_t *actor, void **self_p)
{
    s_arc_t *self = calloc(1, sizeof *self);
    s_wargs_t *a = calloc(1, sizeof *a);
    if (!self || !a) {
        free(self);
        free(a);
        return -ENOMEM;
    }
    self->actor = actor;
    self->tasks = zlistx_new();
    a->cfg = azo_actor_config(actor);
    a->store = azo_actor_store(actor);
    a->db = azo_actor_db(actor);
    self->worker = zactor_new(s_worker, a);
    if (!self->tasks || !self->worker) {
        if (!self->worker)
            free(a);
        s_fini(self);
        return -ENOMEM;
    }
    zlistx_set_destructor(self->tasks, s_task_free);
    if (zloop_reader(azo_actor_loop(actor), zactor_sock(self->worker),
                     s_on_worker, self) < 0) {
        s_fini(self);
        return -ENOMEM;
    }
    *self_p = self;
    return 0;
}

static const azo_cfg_key_t s_keys[] = {
    {"jobs", AZO_CFG_SECTION, NULL, 0, 0, NULL, "a section of jobs"},
    {"jobs/*", AZO_CFG_SECTION, NULL, 0, 0, NULL,
     "a job: a section named after it"},
    {"jobs/*/kind", AZO_CFG_ENUM, NULL, 0, 0, "archive|rotate|cleanup",
     "what the job does"},
    {"jobs/*/dir", AZO_CFG_STR, NULL, 0, 0, NULL,
     "archive, cleanup: the directory whose files it takes"},
    {"jobs/*/glob", AZO_CFG_STR, "*", 0, 0, NULL,
     "file names it takes (fnmatch)"},
    {"jobs/*/recursive", AZO_CFG_BOOL, "0", 0, 0, NULL,
     "also files in subdirectories"},
    {"jobs/*/age", AZO_CFG_DURATION, "7d", 0, 3650LL * 86400000, NULL,
     "archive: files older than this"},
    {"jobs/*/archive_dir", AZO_CFG_STR, NULL, 0, 0, NULL,
     "archive: where files go"},
    {"jobs/*/compress", AZO_CFG_BOOL, "0", 0, 0, NULL,
     "archive: gzip the archived copies"},
    {"jobs/*/compress_level", AZO_CFG_INT, "6", 1, 9, NULL, "gzip level"},
    {"jobs/*/max_archived", AZO_CFG_INT, "0", 0, 100000000, NULL,
     "archive: archives kept (0: all); the oldest go first"},
    {"jobs/*/max_age", AZO_CFG_DURATION, "0", 0, 3650LL * 86400000, NULL,
     "cleanup: delete files older than this; rotate: rotate when the last "
     "rotation is older (0: no limit)"},
    {"jobs/*/max_size", AZO_CFG_SIZE, "0", 0, 0, NULL,
     "cleanup: keep the directory under this many bytes (0: no limit)"},
    {"jobs/*/path", AZO_CFG_STR, NULL, 0, 0, NULL, "rotate: the log file"},
    {"jobs/*/rotate", AZO_CFG_INT, "4", 0, 10000, NULL,
     "rotate: rotated files kept"},
    {"jobs/*/size", AZO_CFG_SIZE, "0", 0, 0, NULL,
     "rotate: rotate when larger (0: size does not matter)"},
    {"jobs/*/delaycompress", AZO_CFG_BOOL, "0", 0, 0, NULL,
     "rotate: leave the newest rotated file uncompressed"},
    {"jobs/*/dateext", AZO_CFG_BOOL, "0", 0, 0, NULL,
     "rotate: name rotated files path-YYYYMMDD"},
    {"jobs/*/missingok", AZO_CFG_BOOL, "0", 0, 0, NULL,
     "rotate: a missing log is not an error"},
    {"jobs/*/notifempty", AZO_CFG_BOOL, "0", 0, 0, NULL,
     "rotate: do not rotate an empty log"},
    {"jobs/*/copytruncate", AZO_CFG_BOOL, "0", 0, 0, NULL,
     "rotate: copy then truncate instead of rename + signal"},
    {"jobs/*/pidfile", AZO_CFG_STR, NULL, 0, 0, NULL,
     "rotate: signal the process in this file after the rename"},
    {"jobs/*/signal", AZO_CFG_ENUM, "HUP", 0, 0, "HUP|USR1|USR2",
     "rotate: the signal that makes the writer reopen"},
};

static int
s_check(const azo_config_t *cfg, const char *base, char *err, size_t errlen)
{
    char k[400];
    snprintf(k, sizeof k, "%s/jobs", base);
    zconfig_t *jobs = azo_config_section(cfg, k);
    for (zconfig_t *j = jobs ? zconfig_child(jobs) : NULL; j;
         j = zconfig_next(j)) {
        const char *name = zconfig_name(j);
        snprintf(k, sizeof k, "%s/jobs/%s/kind", base, name);
        const char *kind = azo_config_str(cfg, k);
        if (!kind) {
            snprintf(k, sizeof k, "%s/jobs/%s", base, name);
            return azo_config_fail(cfg, k, err, errlen,
                                   "a job needs kind = archive, rotate or "
                                   "cleanup");
        }
        snprintf(k, sizeof k, "%s/jobs/%s/path", base, name);
        if (strcmp(kind, "rotate") == 0 && !azo_config_str(cfg, k)) {
            snprintf(k, sizeof k, "%s/jobs/%s", base, name);
            return azo_config_fail(cfg, k, err, errlen,
                                   "kind = rotate needs path = LOGFILE");
        }
        snprintf(k, sizeof k, "%s/jobs/%s/dir", base, name);
        if (strcmp(kind, "rotate") != 0 && !azo_config_str(cfg, k)) {
            snprintf(k, sizeof k, "%s/jobs/%s", base, name);
            return azo_config_fail(cfg, k, err, errlen,
                                   "kind = %s needs dir = DIRECTORY", kind);
        }
        snprintf(k, sizeof k, "%s/jobs/%s/archive_dir", base, name);
        if (strcmp(kind, "archive") == 0 && !azo_config_str(cfg, k)) {
            snprintf(k, sizeof k, "%s/jobs/%s", base, name);
            return azo_config_fail(cfg, k, err, errlen,
                                   "kind = archive needs archive_dir = "
                                   "DIRECTORY");
        }
    }
    return 0;
}

static const azo_cmd_entry_t s_cmds[] = {
    {"archive.run", s_cmd_run},
    {"archive.list", s_cmd_list},
    {"archive.restore", s_cmd_restore},
};

const azo_actor_def_t azo_archive_def = {
    .name = "archiver",
    .prefix = "archive.",
    .init = s_init,
    .fini = s_fini,
    .cmds = s_cmds,
    .ncmds = sizeof s_cmds / sizeof s_cmds[0],
    .keys = s_keys,
    .nkeys = sizeof s_keys / sizeof s_keys[0],
    .check = s_check,
};
