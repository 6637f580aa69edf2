// arc_rot — logrotate-style rotation of one log file (see arc_rot.h).
// Blocking I/O on the caller's thread; no global state.
//
// A run first builds a model of the rotated files (s_gen_t, one per name
// with its plain and .gz forms), then every step updates the model the
// same way whether it was done or, in a dry run, only reported: later
// steps decide from the model, so a dry run reports the same sequence a
// real run would do. A real step that fails leaves the model as the disk
// is.
//
// Ordering rules that keep every crash recoverable (the rules themselves
// are in the header): the shift moves the oldest first, so each rename's
// target was freed by the one before; the directory is fsynced after each
// rename so that no later rename reaches the disk before an earlier one;
// removals come last and are not fsynced: a removal a crash forgets is
// found again by the next run's recovery. copytruncate truncates only
// after its copy is renamed into place and the directory is fsynced.
#define _GNU_SOURCE // renameat2, RENAME_NOREPLACE
#include "arc_rot.h"

#include "arc_fs.h"
#include "azo_err.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_BUF      (64 * 1024) // copy and compare buffers
#define S_SEQ_MAX  9999        // dateext collision suffixes -1 .. -9999
#define S_SFX_MAX  24          // "-YYYYMMDD-9999.gz", ".10001.gz"
#define S_CATCH_UP 16          // copytruncate: passes after the copy
#define S_LEVEL    6           // gzip level

// One rotated generation: a name (the suffix after the log's name) in its
// plain and/or gzip form.
typedef struct {
    char sfx[S_SFX_MAX]; // ".3" or "-20261123-1", without ".gz"
    int64_t key;         // numbered: the number; dateext: date*10000 + seq
    bool plain, gz;      // forms present
    int64_t plain_bytes, gz_bytes;
    int64_t ctime_ms; // the newest ctime of the forms present
} s_gen_t;

typedef struct {
    const arc_rot_cfg_t *cfg; // borrowed
    bool dry;
    arc_rot_report_fn *fn;
    void *arg;
    char *err; // the caller's, for the failure that stops the run
    size_t errlen;
    int64_t now;
    char dir[PATH_MAX];
    int dfd;
    const char *base; // the log's name, in cfg->path
    int prefix;       // bytes of cfg->path before base
    s_gen_t *gens;    // numbered: slot i at gens[i-1]; dateext: newest first
    size_t n, cap;
    char msg[PATH_MAX + 256]; // the reason of the last step that failed
} s_run_t;

static bool
s_present(const s_gen_t *g)
{
    return g->plain || g->gz;
}

static void
s_report(s_run_t *r, const char *action, const char *from, const char *to,
         int64_t bytes, int rc, const char *err)
{
    if (r->fn)
        r->fn(r->arg, action, from, to, bytes, rc, err);
}

// Formats the failure of a step into r->msg, reports it and returns rc;
// stop: the run ends here, and the caller's err gets the reason too.
static int __attribute__((format(printf, 7, 8)))
s_fail(s_run_t *r, bool stop, const char *action, const char *from,
       const char *to, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    azo_err_vset(r->msg, sizeof r->msg, rc, fmt, ap);
    va_end(ap);
    s_report(r, action, from, to, 0, rc, r->msg);
    if (stop)
        azo_err_set(r->err, r->errlen, rc, "%s", r->msg);
    return rc;
}

// Stops the run with the failure a step already reported (r->msg).
static int
s_stop(s_run_t *r, int rc)
{
    azo_err_set(r->err, r->errlen, rc, "%s", r->msg);
    return rc;
}

// name (in the log's directory) with the log's directory prefix, as the
// caller spelled it: the paths the reports carry.
static const char *
s_full(const s_run_t *r, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%.*s%s", r->prefix, r->cfg->path, name);
    return buf;
}

// The name in the directory of g's plain (gz false) or gzip form.
static const char *
s_name(const s_run_t *r, const s_gen_t *g, bool gz, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s", r->base, g->sfx, gz ? ".gz" : "");
    return buf;
}

static int64_t
s_ctime_ms(const struct stat *st)
{
    return (int64_t)st->st_ctim.tv_sec * 1000 + st->st_ctim.tv_nsec / 1000000;
}

// lstat of name in the log's directory. Returns 0 or -errno.
static int
s_stat(const s_run_t *r, const char *name, struct stat *st)
{
    return fstatat(r->dfd, name, st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

// Fills the forms of g (its sfx set) from the disk. A form that is not a
// regular file stops the run: it is not ours to move or remove.
static int
s_load(s_run_t *r, s_gen_t *g)
{
    for (int gz = 0; gz <= 1; gz++) {
        char name[NAME_MAX + 1], full[PATH_MAX];
        struct stat st;
        int rc = s_stat(r, s_name(r, g, gz, name, sizeof name), &st);
        if (rc == -ENOENT)
            continue;
        s_full(r, name, full, sizeof full);
        if (rc < 0)
            return s_fail(r, true, "rotate", full, NULL, rc, "stat %s: %s",
                          full, azo_err_str(rc));
        if (!S_ISREG(st.st_mode))
            return s_fail(r, true, "rotate", full, NULL, -EEXIST,
                          "%s is not a regular file: not touched, rotation "
                          "stopped",
                          full);
        if (gz) {
            g->gz = true;
            g->gz_bytes = st.st_size;
        } else {
            g->plain = true;
            g->plain_bytes = st.st_size;
        }
        if (s_ctime_ms(&st) > g->ctime_ms)
            g->ctime_ms = s_ctime_ms(&st);
    }
    return 0;
}

static int
s_grow(s_run_t *r)
{
    if (r->n < r->cap)
        return 0;
    size_t cap = r->cap ? r->cap * 2 : 16;
    s_gen_t *v = realloc(r->gens, cap * sizeof *v);
    if (!v)
        return -ENOMEM;
    r->gens = v;
    r->cap = cap;
    return 0;
}

// Numbered mode: slots 1..N+1, whatever lies beyond is not ours.
static int
s_scan_numbered(s_run_t *r)
{
    int slots = r->cfg->rotate + 1;
    r->gens = calloc((size_t)slots, sizeof *r->gens);
    if (!r->gens)
        return s_fail(r, true, "rotate", r->cfg->path, NULL, -ENOMEM,
                      "out of memory");
    r->n = r->cap = (size_t)slots;
    for (int i = 1; i <= slots; i++) {
        s_gen_t *g = &r->gens[i - 1];
        snprintf(g->sfx, sizeof g->sfx, ".%d", i);
        g->key = i;
        int rc = s_load(r, g);
        if (rc < 0)
            return rc;
    }
    return 0;
}

// Parses the part of a name after the log's name in dateext mode:
// "-YYYYMMDD", then "-SEQ" (1..9999, no leading zero) or nothing, then
// ".gz" or nothing. Returns the key or -1 when it is not such a name.
static int64_t
s_parse_dated(const char *s, bool *gz)
{
    if (s[0] != '-')
        return -1;
    int64_t date = 0;
    for (int i = 1; i <= 8; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        date = date * 10 + (s[i] - '0');
    }
    int month = (int)(date / 100 % 100), day = (int)(date % 100);
    if (month < 1 || month > 12 || day < 1 || day > 31)
        return -1;
    s += 9;
    int64_t seq = 0;
    if (s[0] == '-') {
        if (s[1] < '1' || s[1] > '9')
            return -1;
        for (s++; *s >= '0' && *s <= '9'; s++)
            if ((seq = seq * 10 + (*s - '0')) > S_SEQ_MAX)
                return -1;
    }
    *gz = strcmp(s, ".gz") == 0;
    if (!*gz && s[0])
        return -1;
    return date * (S_SEQ_MAX + 1) + seq;
}

static int
s_newest_first(const void *a, const void *b)
{
    const s_gen_t *x = a, *y = b;
    return x->key > y->key ? -1 : x->key < y->key ? 1 : 0;
}

static void
s_dated_sfx(int64_t key, char *buf, size_t len)
{
    int64_t date = key / (S_SEQ_MAX + 1), seq = key % (S_SEQ_MAX + 1);
    if (seq)
        snprintf(buf, len, "-%08lld-%lld", (long long)date, (long long)seq);
    else
        snprintf(buf, len, "-%08lld", (long long)date);
}

// Opens the log's directory for reading into *d. Returns 0 or -errno
// (reported under action; stop: the run ends).
static int
s_opendir(s_run_t *r, const char *action, bool stop, DIR **d)
{
    int fd = dup(r->dfd);
    *d = fd < 0 ? NULL : fdopendir(fd);
    if (!*d) {
        int rc = -errno;
        if (fd >= 0)
            (void)close(fd); // read-only
        return s_fail(r, stop, action, r->dir, NULL, rc, "read dir %s: %s",
                      r->dir, azo_err_str(rc));
    }
    rewinddir(*d); // the dup shares its offset with r->dfd
    return 0;
}

// Dateext mode: every "<base>-YYYYMMDD[-SEQ][.gz]" in the directory, one
// entry per name (both forms together), newest first.
static int
s_scan_dated(s_run_t *r)
{
    DIR *d;
    int rc = s_opendir(r, "rotate", true, &d);
    if (rc < 0)
        return rc;
    size_t blen = strlen(r->base);
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno)
                rc = s_fail(r, true, "rotate", r->cfg->path, NULL, -errno,
                            "read dir %s: %s", r->dir, azo_err_str(-errno));
            break;
        }
        bool gz;
        int64_t key;
        if (strncmp(e->d_name, r->base, blen) != 0 ||
            (key = s_parse_dated(e->d_name + blen, &gz)) < 0)
            continue;
        size_t i = 0;
        while (i < r->n && r->gens[i].key != key)
            i++;
        if (i == r->n) { // a new name: its forms are read below
            if ((rc = s_grow(r)) < 0) {
                rc = s_fail(r, true, "rotate", r->cfg->path, NULL, rc,
                            "out of memory");
                break;
            }
            memset(&r->gens[i], 0, sizeof r->gens[i]);
            r->gens[i].key = key;
            s_dated_sfx(key, r->gens[i].sfx, sizeof r->gens[i].sfx);
            r->n++;
        }
    }
    (void)closedir(d); // read-only
    for (size_t i = 0; rc == 0 && i < r->n; i++)
        rc = s_load(r, &r->gens[i]);
    if (r->n) // qsort wants a non-NULL base even for no elements
        qsort(r->gens, r->n, sizeof *r->gens, s_newest_first);
    return rc;
}

// The newest generation present, or NULL.
static s_gen_t *
s_newest(s_run_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (s_present(&r->gens[i]))
            return &r->gens[i];
    return NULL;
}

// Removes one form of g. Returns 0 or -errno (reported).
static int
s_remove(s_run_t *r, s_gen_t *g, bool gz, const char *why)
{
    char name[NAME_MAX + 1], full[PATH_MAX];
    s_full(r, s_name(r, g, gz, name, sizeof name), full, sizeof full);
    int64_t bytes = gz ? g->gz_bytes : g->plain_bytes;
    if (!r->dry && unlinkat(r->dfd, name, 0) < 0 && errno != ENOENT) {
        int rc = -errno;
        return s_fail(r, false, "remove", full, NULL, rc, "unlink %s: %s", full,
                      azo_err_str(rc));
    }
    // Not fsynced: a removal the disk forgets is found again next run.
    s_report(r, "remove", full, NULL, bytes, 0, why);
    if (gz)
        g->gz = false;
    else
        g->plain = false;
    return 0;
}

// Renames name `from` to `to` in the log's directory, never over anything:
// neither `to` nor `other` (to's other form) may exist. Then fsyncs the
// directory. Reported (quiet: only a failure). Returns 0 or a negative
// code (it stops the run).
static int
s_rename(s_run_t *r, const char *from, const char *to, const char *other,
         int64_t bytes, bool quiet)
{
    char ffull[PATH_MAX], tfull[PATH_MAX];
    s_full(r, from, ffull, sizeof ffull);
    s_full(r, to, tfull, sizeof tfull);
    if (!r->dry) {
        struct stat st;
        if (other && s_stat(r, other, &st) == 0)
            return s_fail(r, true, "rename", ffull, tfull, -EEXIST,
                          "rename %s -> %s: %.*s%s exists: nothing "
                          "overwritten, rotation stopped",
                          ffull, tfull, r->prefix, r->cfg->path, other);
        if (renameat2(r->dfd, from, r->dfd, to, RENAME_NOREPLACE) < 0) {
            int rc = -errno;
            if (rc == -EEXIST)
                return s_fail(r, true, "rename", ffull, tfull, rc,
                              "rename %s -> %s: the target exists: nothing "
                              "overwritten, rotation stopped",
                              ffull, tfull);
            if (rc == -EINVAL)
                return s_fail(r, true, "rename", ffull, tfull, rc,
                              "rename %s -> %s: the file system cannot "
                              "rename without overwriting",
                              ffull, tfull);
            return s_fail(r, true, "rename", ffull, tfull, rc,
                          "rename %s -> %s: %s", ffull, tfull, azo_err_str(rc));
        }
        char why[PATH_MAX + 64];
        int rc = arc_fs_sync_dir(r->dir, why, sizeof why);
        if (rc < 0)
            return s_fail(r, true, "rename", ffull, tfull, rc, "%s", why);
    }
    if (!quiet)
        s_report(r, "rename", ffull, tfull, bytes, 0, NULL);
    return 0;
}

// Moves generation *from to the free generation *to (numbered shift).
static int
s_move(s_run_t *r, s_gen_t *from, s_gen_t *to)
{
    assert(!(from->plain && from->gz)); // recovery left one form
    assert(!s_present(to));
    char fname[NAME_MAX + 1], tname[NAME_MAX + 1], other[NAME_MAX + 1];
    bool gz = from->gz;
    int rc = s_rename(r, s_name(r, from, gz, fname, sizeof fname),
                      s_name(r, to, gz, tname, sizeof tname),
                      s_name(r, to, !gz, other, sizeof other),
                      gz ? from->gz_bytes : from->plain_bytes, false);
    if (rc < 0)
        return rc;
    to->plain = from->plain;
    to->gz = from->gz;
    to->plain_bytes = from->plain_bytes;
    to->gz_bytes = from->gz_bytes;
    to->ctime_ms = r->now; // a rename sets the ctime
    from->plain = from->gz = false;
    return 0;
}

// gzip's trailer ends with ISIZE, the uncompressed size mod 2^32. Returns
// 1 when the .gz form of g ends with the size of its plain form, 0 when
// not, or -errno.
static int
s_isize_matches(s_run_t *r, const s_gen_t *g)
{
    char name[NAME_MAX + 1];
    if (g->gz_bytes < 18) // a gzip header and trailer
        return 0;
    int fd = openat(r->dfd, s_name(r, g, true, name, sizeof name),
                    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    unsigned char b[4];
    ssize_t got = pread(fd, b, sizeof b, g->gz_bytes - 4);
    int rc = got == 4 ? 0 : got < 0 ? -errno : -EIO;
    (void)close(fd); // read-only
    if (rc < 0)
        return rc;
    uint32_t isize = (uint32_t)b[0] | (uint32_t)b[1] << 8 |
                     (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return isize == (uint32_t)g->plain_bytes;
}

// Recovery: X and X.gz both present.
static int
s_dedupe(s_run_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        s_gen_t *g = &r->gens[i];
        if (!g->plain || !g->gz)
            continue;
        char name[NAME_MAX + 1], full[PATH_MAX], gname[NAME_MAX + 1];
        s_full(r, s_name(r, g, false, name, sizeof name), full, sizeof full);
        s_name(r, g, true, gname, sizeof gname);
        int m = s_isize_matches(r, g);
        if (m < 0)
            return s_fail(r, true, "remove", full, NULL, m, "read %.*s%s: %s",
                          r->prefix, r->cfg->path, gname, azo_err_str(m));
        if (!m)
            return s_fail(r, true, "remove", full, NULL, -EEXIST,
                          "%s and %s.gz both exist and the .gz is not its "
                          "compressed copy: both kept, rotation stopped",
                          full, full);
        int rc = s_remove(r, g, false,
                          "its .gz is complete (a compression "
                          "was interrupted)");
        if (rc < 0)
            return s_stop(r, rc);
    }
    return 0;
}

// Compares the first n bytes of fds a and b. Returns 1 equal, 0 not, or
// -errno.
static int
s_same_prefix(int a, int b, int64_t n)
{
    char *x = malloc(S_BUF), *y = malloc(S_BUF);
    int rc = x && y ? 1 : -ENOMEM;
    for (int64_t off = 0; rc == 1 && off < n;) {
        size_t want = n - off < S_BUF ? (size_t)(n - off) : S_BUF;
        ssize_t gx = pread(a, x, want, off), gy = pread(b, y, want, off);
        if (gx < 0 || gy < 0)
            rc = -errno;
        else if (gx == 0 || gx != gy || memcmp(x, y, (size_t)gx) != 0)
            rc = 0;
        else
            off += gx;
    }
    free(x);
    free(y);
    return rc;
}

// Recovery, copytruncate: a plain newest rotated file whose bytes start
// the log is a copy whose truncation a crash (or a failure) prevented.
static int
s_uncopy(s_run_t *r, int64_t log_bytes)
{
    s_gen_t *g = s_newest(r);
    if (!g || !g->plain || g->gz || g->plain_bytes <= 0 ||
        g->plain_bytes > log_bytes)
        return 0;
    char name[NAME_MAX + 1], full[PATH_MAX];
    s_full(r, s_name(r, g, false, name, sizeof name), full, sizeof full);
    int a = openat(r->dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int b = openat(r->dfd, r->base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int rc = a < 0 || b < 0 ? -errno : s_same_prefix(a, b, g->plain_bytes);
    if (a >= 0)
        (void)close(a); // read-only
    if (b >= 0)
        (void)close(b);
    if (rc < 0)
        return s_fail(r, true, "remove", full, NULL, rc,
                      "compare %s with %s: %s", full, r->cfg->path,
                      azo_err_str(rc));
    if (rc == 0)
        return 0;
    rc = s_remove(r, g, false,
                  "a copy whose truncation never happened: "
                  "its bytes are still in the log");
    return rc < 0 ? s_stop(r, rc) : 0;
}

// Reads the pidfile and sends cfg->sig (a dry run only reads). Returns
// true when the signal went (or would go).
static bool
s_signal(s_run_t *r)
{
    const char *pf = r->cfg->pidfile;
    char buf[32];
    int fd = open(pf, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        s_fail(r, false, "signal", pf, NULL, rc, "read pidfile %s: %s", pf,
               azo_err_str(rc));
        return false;
    }
    ssize_t got = read(fd, buf, sizeof buf - 1);
    int rc = got < 0 ? -errno : 0;
    (void)close(fd); // read-only
    if (rc < 0) {
        s_fail(r, false, "signal", pf, NULL, rc, "read pidfile %s: %s", pf,
               azo_err_str(rc));
        return false;
    }
    buf[got] = '\0';
    char *end;
    errno = 0;
    long long pid = strtoll(buf, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
        end++;
    // 0, -1 and negatives would signal groups; 1 is init.
    if (errno || end == buf || *end || pid <= 1 || pid > INT32_MAX) {
        s_fail(r, false, "signal", pf, NULL, AZO_EBADREQ,
               "pidfile %s: no process id in it", pf);
        return false;
    }
    if (!r->dry && kill((pid_t)pid, r->cfg->sig) < 0) {
        rc = -errno;
        s_fail(r, false, "signal", pf, NULL, rc, "kill %lld: %s", pid,
               azo_err_str(rc));
        return false;
    }
    s_report(r, "signal", pf, NULL, pid, 0, NULL);
    return true;
}

// Appends the bytes of in from *off to its end onto out. Returns 0 or
// -errno.
static int
s_append(int in, int64_t *off, int out)
{
    char *buf = malloc(S_BUF);
    if (!buf)
        return -ENOMEM;
    int rc = 0;
    for (;;) {
        ssize_t got = pread(in, buf, S_BUF, *off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            rc = got < 0 ? -errno : 0;
            break;
        }
        for (ssize_t done = 0; done < got;) {
            ssize_t w = write(out, buf + done, (size_t)(got - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = -errno;
                break;
            }
            done += w;
        }
        if (rc < 0)
            break;
        *off += got;
    }
    free(buf);
    return rc;
}

// A temporary file beside the log, named as arc_fs names its own so that
// arc_fs_clean_tmp() removes it after a crash.
static int
s_tmp_open(s_run_t *r, char *name, size_t len)
{
    for (int tries = 0; tries < 100; tries++) {
        unsigned char rnd[8];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
            return -errno;
        int n = snprintf(name, len, ".%.200s" ARC_TMP_MARK, r->base);
        for (size_t i = 0; i < sizeof rnd && n > 0 && (size_t)n + 3 < len; i++)
            n += snprintf(name + n, len - (size_t)n, "%02x", rnd[i]);
        assert(arc_fs_is_tmp(name));
        int fd =
            openat(r->dfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd >= 0 ? fd : -errno;
    }
    return -EEXIST;
}

// Writes the log's bytes (lfd, stat *st) into a temporary file with the
// log's owner and mode, fsyncs it and renames it to `to`. Returns 0 or a
// negative code (reported).
static int
s_copy(s_run_t *r, int lfd, const struct stat *st, const char *to,
       const char *other, int64_t *off)
{
    char tmp[NAME_MAX + 1], full[PATH_MAX], tfull[PATH_MAX];
    s_full(r, to, tfull, sizeof tfull);
    int fd = s_tmp_open(r, tmp, sizeof tmp);
    if (fd < 0)
        return s_fail(r, true, "copy", r->cfg->path, tfull, fd,
                      "create a temporary file in %s: %s", r->dir,
                      azo_err_str(fd));
    s_full(r, tmp, full, sizeof full);
    int rc = s_append(lfd, off, fd);
    // Only root may give a file away; anyone else keeps it.
    if (rc == 0 && fchown(fd, st->st_uid, st->st_gid) < 0 && errno != EPERM)
        rc = -errno;
    if (rc == 0 && fchmod(fd, st->st_mode & 07777) < 0)
        rc = -errno;
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc < 0) {
        (void)unlinkat(r->dfd, tmp, 0); // else arc_fs_clean_tmp, next run
        return s_fail(r, true, "copy", r->cfg->path, tfull, rc,
                      "copy %s to %s: %s", r->cfg->path, full, azo_err_str(rc));
    }
    rc = s_rename(r, tmp, to, other, *off, true); // reported as the copy
    if (rc < 0)
        (void)unlinkat(r->dfd, tmp, 0); // as above
    return rc;
}

// copytruncate: the log's bytes go to `to` (see s_copy), the bytes the
// writer added meanwhile are appended there, and only then is the log
// truncated. *bytes gets the bytes kept in `to`.
static int
s_copytruncate(s_run_t *r, const char *to, const char *other, int64_t *bytes)
{
    char tfull[PATH_MAX] = "";
    if (to)
        s_full(r, to, tfull, sizeof tfull);
    int lfd = openat(r->dfd, r->base, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (lfd < 0 || fstat(lfd, &st) < 0) {
        int rc = -errno;
        if (lfd >= 0)
            (void)close(lfd); // nothing written
        return s_fail(r, true, "copy", r->cfg->path, tfull, rc, "open %s: %s",
                      r->cfg->path, azo_err_str(rc));
    }
    int64_t off = 0;
    if (r->dry) {
        off = st.st_size;
        if (to)
            s_report(r, "copy", r->cfg->path, tfull, off, 0, NULL);
        s_report(r, "truncate", r->cfg->path, NULL, off, 0, NULL);
        (void)close(lfd); // nothing written
        *bytes = off;
        return 0;
    }
    int rc = to ? s_copy(r, lfd, &st, to, other, &off) : 0;
    if (to && rc == 0) {
        // Catch up with the writer: what it wrote during the copy goes to
        // the copy too. A crash here leaves a copy that is a prefix of the
        // log, which recovery removes.
        int cfd =
            openat(r->dfd, to, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
        rc = cfd < 0 ? -errno : 0;
        for (int i = 0; rc == 0 && i < S_CATCH_UP; i++) {
            if (fstat(lfd, &st) < 0)
                rc = -errno;
            else if (st.st_size <= off)
                break;
            else
                rc = s_append(lfd, &off, cfd);
        }
        if (rc == 0 && fsync(cfd) < 0)
            rc = -errno;
        if (cfd >= 0 && close(cfd) < 0 && rc == 0)
            rc = -errno;
        if (rc < 0)
            s_fail(r, true, "copy", r->cfg->path, tfull, rc, "append to %s: %s",
                   tfull, azo_err_str(rc));
        else
            s_report(r, "copy", r->cfg->path, tfull, off, 0, NULL);
    }
    if (rc == 0) {
        if (fstat(lfd, &st) < 0 || ftruncate(lfd, 0) < 0 || fsync(lfd) < 0) {
            rc = -errno;
            s_fail(r, true, "truncate", r->cfg->path, NULL, rc,
                   "truncate %s: %s", r->cfg->path, azo_err_str(rc));
        } else if (to && st.st_size > off) {
            // The writer won the last race: these bytes are gone.
            char note[96];
            snprintf(note, sizeof note,
                     "%lld bytes written during the truncation were lost",
                     (long long)(st.st_size - off));
            s_report(r, "truncate", r->cfg->path, NULL, st.st_size, 0, note);
        } else
            s_report(r, "truncate", r->cfg->path, NULL, st.st_size, 0, NULL);
    }
    (void)close(lfd); // fsynced above
    *bytes = off;
    return rc;
}

// Numbered mode: frees slot 1 by shifting (see the header) and sets *out
// to it. Returns 0 or the code that stopped the run.
static int
s_shift(s_run_t *r, s_gen_t **out)
{
    int last = r->cfg->rotate + 1, k = 1, rc = 0;
    while (k <= last && s_present(&r->gens[k - 1]))
        k++;
    if (k > last) { // all full: the removal a crash interrupted
        s_gen_t *g = &r->gens[last - 1];
        if (g->gz)
            rc = s_remove(r, g, true, "past rotate");
        if (rc == 0 && g->plain)
            rc = s_remove(r, g, false, "past rotate");
        if (rc < 0)
            return s_stop(r, rc);
        k = last;
    }
    for (int i = k - 1; i >= 1; i--)
        if ((rc = s_move(r, &r->gens[i - 1], &r->gens[i])) < 0)
            return rc;
    *out = &r->gens[0];
    return 0;
}

// Dateext mode: sets *out to a new generation for the log, dated now.
// Returns 0 or the code that stopped the run.
static int
s_dated(s_run_t *r, s_gen_t **out)
{
    time_t t = (time_t)(r->now / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    int64_t date = (int64_t)(tm.tm_year + 1900) * 10000 +
                   (tm.tm_mon + 1) * 100 + tm.tm_mday;
    for (int64_t seq = 0; seq <= S_SEQ_MAX; seq++) {
        int64_t key = date * (S_SEQ_MAX + 1) + seq;
        size_t i = 0;
        while (i < r->n && r->gens[i].key != key)
            i++;
        if (i < r->n && s_present(&r->gens[i]))
            continue;
        s_gen_t g = {.key = key};
        s_dated_sfx(key, g.sfx, sizeof g.sfx);
        // Also names the scan did not see (made since); but a dry run's
        // removals are only in the model.
        char name[NAME_MAX + 1];
        struct stat st;
        bool model_only = r->dry && i < r->n;
        if (!model_only &&
            (s_stat(r, s_name(r, &g, false, name, sizeof name), &st) == 0 ||
             s_stat(r, s_name(r, &g, true, name, sizeof name), &st) == 0))
            continue;
        if (i < r->n) { // removed earlier in this run: reused
            *out = &r->gens[i];
            return 0;
        }
        if (s_grow(r) < 0)
            return s_fail(r, true, "rotate", r->cfg->path, NULL, -ENOMEM,
                          "out of memory");
        r->gens[r->n++] = g;
        qsort(r->gens, r->n, sizeof *r->gens, s_newest_first);
        for (i = 0; r->gens[i].key != key; i++)
            ;
        *out = &r->gens[i];
        return 0;
    }
    return s_fail(r, true, "rotate", r->cfg->path, NULL, -EEXIST,
                  "%s: every dated name of %lld is taken", r->cfg->path,
                  (long long)date);
}

// The log -> its first rotated name, by rename (+ signal) or copytruncate.
// *signal_failed: the writer may still be writing into the new file.
static int
s_rotate(s_run_t *r, const struct stat *lst, bool *signal_failed)
{
    const arc_rot_cfg_t *c = r->cfg;
    if (c->copytruncate && c->rotate == 0) { // nothing is kept: no copy
        int64_t bytes;
        return s_copytruncate(r, NULL, NULL, &bytes);
    }
    s_gen_t *g = NULL;
    int rc = c->dateext ? s_dated(r, &g) : s_shift(r, &g);
    if (rc < 0)
        return rc;
    char to[NAME_MAX + 1], other[NAME_MAX + 1];
    s_name(r, g, false, to, sizeof to);
    s_name(r, g, true, other, sizeof other);
    int64_t bytes = lst->st_size;
    rc = c->copytruncate ? s_copytruncate(r, to, other, &bytes)
                         : s_rename(r, r->base, to, other, lst->st_size, false);
    if (rc < 0)
        return rc;
    g->plain = true;
    g->plain_bytes = bytes;
    g->ctime_ms = r->now;
    if (!c->copytruncate && c->pidfile)
        *signal_failed = !s_signal(r);
    return 0;
}

// Removes what is past rotate N: numbered, path.(N+1) after a rotation or
// when 1..N are all there (an interrupted removal); dateext, the dated
// files older than the newest N.
static void
s_retain(s_run_t *r, bool rotated)
{
    int keep = r->cfg->rotate;
    if (!r->cfg->dateext) {
        bool full = true;
        for (int i = 0; i < keep && full; i++)
            full = s_present(&r->gens[i]);
        s_gen_t *g = &r->gens[keep];
        if (!rotated && !full)
            return;
        if (g->gz)
            (void)s_remove(r, g, true, "past rotate"); // reported
        if (g->plain)
            (void)s_remove(r, g, false, "past rotate");
        return;
    }
    int seen = 0;
    for (size_t i = 0; i < r->n; i++) {
        s_gen_t *g = &r->gens[i];
        if (!s_present(g) || seen++ < keep)
            continue;
        if (g->gz)
            (void)s_remove(r, g, true, "past rotate"); // reported
        if (g->plain)
            (void)s_remove(r, g, false, "past rotate");
    }
}

// Compresses one plain generation; the plain file goes only once the .gz
// is complete. Failures are reported; the run goes on.
static void
s_compress(s_run_t *r, s_gen_t *g)
{
    char name[NAME_MAX + 1], src[PATH_MAX], dst[PATH_MAX];
    s_full(r, s_name(r, g, true, name, sizeof name), dst, sizeof dst);
    s_full(r, s_name(r, g, false, name, sizeof name), src, sizeof src);
    if (!r->dry) {
        int rc = arc_fs_gzip(src, dst, S_LEVEL, r->msg, sizeof r->msg);
        if (rc < 0) {
            s_report(r, "compress", src, dst, g->plain_bytes, rc, r->msg);
            return;
        }
    }
    s_report(r, "compress", src, dst, g->plain_bytes, 0, NULL);
    g->gz = true;
    struct stat st;
    if (!r->dry && s_stat(r, s_name(r, g, true, name, sizeof name), &st) == 0)
        g->gz_bytes = st.st_size;
    // Unreported: the plain file was part of the compression. A crash
    // before this unlink leaves both forms, which recovery resolves.
    s_name(r, g, false, name, sizeof name);
    if (!r->dry && unlinkat(r->dfd, name, 0) < 0 && errno != ENOENT) {
        int rc = -errno;
        s_fail(r, false, "remove", src, NULL, rc, "unlink %s: %s", src,
               azo_err_str(rc));
        return;
    }
    g->plain = false;
}

static void
s_compress_all(s_run_t *r, bool hold_newest)
{
    if (!r->cfg->compress)
        return;
    s_gen_t *newest = r->cfg->dateext ? s_newest(r) : &r->gens[0];
    size_t end = r->cfg->dateext ? r->n : (size_t)r->cfg->rotate;
    for (size_t i = 0; i < end; i++) {
        s_gen_t *g = &r->gens[i];
        if (!g->plain || g->gz ||
            (g == newest && (r->cfg->delaycompress || hold_newest)))
            continue;
        s_compress(r, g);
    }
}

static int
s_check(const arc_rot_cfg_t *c, char *err, size_t errlen)
{
    const char *base = c->path ? strrchr(c->path, '/') : NULL;
    base = base ? base + 1 : c->path;
    if (!c->path || !base[0] || strcmp(base, ".") == 0 ||
        strcmp(base, "..") == 0)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "path: a log file's path needed");
    if (strlen(base) + S_SFX_MAX > NAME_MAX ||
        strlen(c->path) + S_SFX_MAX >= PATH_MAX)
        return azo_err_set(err, errlen, AZO_EBADREQ, "path: too long: %s",
                           c->path);
    if (c->rotate < 0 || c->rotate > ARC_ROT_MAX)
        return azo_err_set(err, errlen, AZO_EBADREQ, "rotate: must be 0..%d",
                           ARC_ROT_MAX);
    // The last rotation's time is read from the newest rotated file: with
    // none kept, every run would look like the first.
    if (c->rotate == 0 && c->max_age_ms)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "max_age: needs rotate >= 1 (rotate 0 keeps no "
                           "file to date the last rotation)");
    if (c->size < 0 || c->max_age_ms < 0 || c->now_ms < 0)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "size, max_age_ms, now_ms: must be >= 0");
    if (c->pidfile && !c->copytruncate && (c->sig <= 0 || c->sig >= NSIG))
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "sig: a signal number needed with pidfile");
    return 0;
}

// Recovery of temporary files: removed with arc_fs_clean_tmp() and
// reported one by one (listed first: they are gone after).
static void
s_clean_tmp(s_run_t *r)
{
    DIR *d;
    if (s_opendir(r, "remove", false, &d) < 0)
        return;
    typedef struct {
        char name[NAME_MAX + 1];
        int64_t bytes;
    } tmp_t;
    tmp_t *v = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        struct stat st;
        if (!arc_fs_is_tmp(e->d_name) ||
            fstatat(r->dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            tmp_t *nv = realloc(v, (cap = cap ? cap * 2 : 4) * sizeof *v);
            if (!nv)
                break; // the rest is removed unreported
            v = nv;
        }
        snprintf(v[n].name, sizeof v[n].name, "%s", e->d_name);
        v[n++].bytes = st.st_size;
    }
    (void)closedir(d); // read-only
    int rc = 0;
    if (!r->dry && n)
        rc = arc_fs_clean_tmp(r->dir, r->msg, sizeof r->msg);
    for (size_t i = 0; i < n; i++) {
        char full[PATH_MAX];
        struct stat st;
        s_full(r, v[i].name, full, sizeof full);
        if (r->dry || s_stat(r, v[i].name, &st) == -ENOENT)
            s_report(r, "remove", full, NULL, v[i].bytes, 0,
                     "a temporary file left by a crash");
        else
            s_report(r, "remove", full, NULL, v[i].bytes, rc < 0 ? rc : -EIO,
                     rc < 0 ? r->msg : "temporary file not removed");
    }
    free(v);
}

// The decision (see the header). why gets the reason.
static bool
s_due(s_run_t *r, const struct stat *lst, char *why, size_t len)
{
    const arc_rot_cfg_t *c = r->cfg;
    if (c->notifempty && lst->st_size == 0) {
        snprintf(why, len, "empty (notifempty)");
        return false;
    }
    if (!c->size && !c->max_age_ms) {
        snprintf(why, len, "rotated at every run");
        return true;
    }
    if (c->size && lst->st_size > c->size) {
        snprintf(why, len, "size %lld > %lld", (long long)lst->st_size,
                 (long long)c->size);
        return true;
    }
    const s_gen_t *g = s_newest(r);
    if (c->max_age_ms && !g) {
        snprintf(why, len, "never rotated");
        return true;
    }
    int64_t age = g ? r->now - g->ctime_ms : 0;
    if (c->max_age_ms && age >= c->max_age_ms) {
        snprintf(why, len, "last rotation %lld ms ago >= %lld", (long long)age,
                 (long long)c->max_age_ms);
        return true;
    }
    int n = snprintf(why, len, "not due:");
    if (c->size && n > 0 && (size_t)n < len)
        n += snprintf(why + n, len - (size_t)n, " size %lld <= %lld",
                      (long long)lst->st_size, (long long)c->size);
    if (c->max_age_ms && n > 0 && (size_t)n < len)
        snprintf(why + n, len - (size_t)n, " last rotation %lld ms ago",
                 (long long)age);
    return false;
}

// Everything after the recovery of the rotated files: the log's state,
// the decision, the rotation, retention and compression. Returns 0 or the
// code that stopped the run (-ENOENT: the log is missing, after all else).
static int
s_log(s_run_t *r)
{
    const arc_rot_cfg_t *c = r->cfg;
    int rc = 0, log_rc = 0;
    bool rotated = false, hold = false;
    struct stat lst;
    int src = s_stat(r, r->base, &lst);
    if (src == -ENOENT) {
        // Rename mode: a crash between the rename and the signal leaves
        // the writer writing into the rotated file, and no log.
        if (!c->copytruncate && c->pidfile)
            hold = !s_signal(r);
        if (c->missingok)
            s_report(r, "skip", c->path, NULL, 0, 0, "missing (missingok)");
        else
            log_rc = s_fail(r, true, "rotate", c->path, NULL, src, "%s: %s",
                            c->path, azo_err_str(src));
    } else if (src < 0)
        log_rc = s_fail(r, true, "rotate", c->path, NULL, src, "stat %s: %s",
                        c->path, azo_err_str(src));
    else if (!S_ISREG(lst.st_mode))
        log_rc = s_fail(r, true, "rotate", c->path, NULL, -EINVAL,
                        "%s: not a regular file", c->path);
    else {
        char why[160];
        if (c->copytruncate)
            rc = s_uncopy(r, lst.st_size);
        if (rc < 0)
            return rc;
        if (s_due(r, &lst, why, sizeof why)) {
            s_report(r, "rotate", c->path, NULL, lst.st_size, 0, why);
            if ((rc = s_rotate(r, &lst, &hold)) < 0)
                return rc;
            rotated = true;
        } else
            s_report(r, "skip", c->path, NULL, lst.st_size, 0, why);
    }
    s_retain(r, rotated);
    s_compress_all(r, hold);
    return log_rc;
}

int
arc_rot_run(const arc_rot_cfg_t *cfg, bool dry_run, arc_rot_report_fn *fn,
            void *arg, char *err, size_t errlen)
{
    assert(cfg);
    s_run_t r = {.cfg = cfg,
                 .dry = dry_run,
                 .fn = fn,
                 .arg = arg,
                 .err = err,
                 .errlen = errlen,
                 .dfd = -1};
    if (err && errlen)
        err[0] = '\0';
    char why[256];
    int rc = s_check(cfg, why, sizeof why);
    if (rc < 0)
        return s_fail(&r, true, "rotate", cfg->path ? cfg->path : "", NULL, rc,
                      "%s", why);
    r.now = cfg->now_ms;
    if (!r.now) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r.now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    const char *slash = strrchr(cfg->path, '/');
    r.base = slash ? slash + 1 : cfg->path;
    r.prefix = (int)(r.base - cfg->path);
    if (!slash)
        snprintf(r.dir, sizeof r.dir, ".");
    else if (slash == cfg->path)
        snprintf(r.dir, sizeof r.dir, "/");
    else
        snprintf(r.dir, sizeof r.dir, "%.*s", r.prefix - 1, cfg->path);
    r.dfd = open(r.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (r.dfd < 0) {
        rc = -errno;
        if (rc == -ENOENT && cfg->missingok) {
            s_report(&r, "skip", cfg->path, NULL, 0, 0, "missing (missingok)");
            return 0;
        }
        return s_fail(&r, true, "rotate", cfg->path, NULL, rc,
                      "open dir %s: %s", r.dir, azo_err_str(rc));
    }
    s_clean_tmp(&r);
    rc = cfg->dateext ? s_scan_dated(&r) : s_scan_numbered(&r);
    if (rc == 0)
        rc = s_dedupe(&r);
    if (rc == 0)
        rc = s_log(&r);
    (void)close(r.dfd); // read-only
    free(r.gens);
    return rc;
}
