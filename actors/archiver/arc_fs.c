// arc_fs — the archiver's file operations that never lose a file (see
// arc_fs.h). Blocking I/O on the caller's thread; no global state. Every
// file written here goes to a temporary name first ("." base ARC_TMP_MARK
// 16 hex digits, in the destination's directory), is fsynced, and only
// then takes its final name through a rename that never overwrites; the
// directory is fsynced after. Does not decide what to move or when: that
// is the actor's job, which records its intent first (#8).
#define _GNU_SOURCE // renameat2, RENAME_NOREPLACE, copy_file_range
#include "arc_fs.h"

#include "azo_err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define S_BUF           (256 * 1024) // read, write and zlib buffers
#define S_SMALL         (16 * 1024)  // first read of a checksum, on the stack
#define S_RAND_HEX      16           // random hex digits in a temporary name
#define S_TMP_BASE_MAX  200 // base bytes kept in a temporary name (NAME_MAX)
#define S_MAX_COLLISION 9999

// A temporary file being written beside its destination.
typedef struct {
    int fd;              // -1 when closed
    char path[PATH_MAX]; // its name, "" when none exists
} s_tmp_t;

// Writes the directory part of path into buf ("." when there is none).
static int
s_dirname(const char *path, char *buf, size_t len)
{
    const char *slash = strrchr(path, '/');
    size_t n;
    if (!slash) {
        n = 1;
        path = ".";
    } else {
        n = slash == path ? 1 : (size_t)(slash - path); // "/x" -> "/"
    }
    if (n >= len)
        return -ENAMETOOLONG;
    memcpy(buf, path, n);
    buf[n] = '\0';
    return 0;
}

static const char *
s_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int
s_write_all(int fd, const unsigned char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

static ssize_t
s_read(int fd, unsigned char *buf, size_t n)
{
    for (;;) {
        ssize_t r = read(fd, buf, n);
        if (r >= 0 || errno != EINTR)
            return r < 0 ? -errno : r;
    }
}

static void
s_hex(const unsigned char *md, unsigned n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * n] = '\0';
}

// SHA-256 of fd's whole content, read with pread from offset 0 (fd's own
// offset is not used). Returns 0, -errno, or AZO_EINTERNAL (OpenSSL).
// SHA-256 fetched once: EVP_sha256() looks the provider up on every
// EVP_DigestInit_ex, which costs as much as hashing a small file.
static pthread_once_t s_md_once = PTHREAD_ONCE_INIT;
static EVP_MD *s_md_fetched;

static void
s_md_fetch(void)
{
    s_md_fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *
s_sha256(void)
{
    (void)pthread_once(&s_md_once, s_md_fetch);
    return s_md_fetched ? s_md_fetched : EVP_sha256();
}

static int
s_sha_fd(int fd, char hex[ARC_SHA_HEX], int64_t *size)
{
    // Most files end within the first, small read: no heap buffer, no
    // read-ahead hint and no second read to find the end for them.
    unsigned char small[S_SMALL], *big = NULL, *buf = small;
    size_t cap = sizeof small;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = AZO_EINTERNAL;
    if (!md) {
        rc = -ENOMEM;
        goto fail;
    }
    if (EVP_DigestInit_ex(md, s_sha256(), NULL) != 1)
        goto fail;
    int64_t off = 0;
    for (;;) {
        ssize_t r = pread(fd, buf, cap, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            goto fail;
        }
        if (r > 0 && EVP_DigestUpdate(md, buf, (size_t)r) != 1)
            goto fail;
        off += r;
        // A regular file's read comes back short only at its end.
        if ((size_t)r < cap)
            break;
        if (!big) {
            if (!(big = malloc(S_BUF))) {
                rc = -ENOMEM;
                goto fail;
            }
            buf = big;
            cap = S_BUF;
            (void)posix_fadvise(fd, off, 0, POSIX_FADV_SEQUENTIAL); // a hint
        }
    }
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (EVP_DigestFinal_ex(md, out, &n) != 1 || n != 32)
        goto fail;
    s_hex(out, n, hex);
    if (size)
        *size = off;
    rc = 0;
fail:
    EVP_MD_CTX_free(md);
    free(big);
    return rc;
}

int
arc_fs_sha256(const char *path, char hex[ARC_SHA_HEX], int64_t *size, char *err,
              size_t errlen)
{
    return arc_fs_sha256_at(AT_FDCWD, path, path, hex, size, err, errlen);
}

int
arc_fs_sha256_at(int dirfd, const char *name, const char *path,
                 char hex[ARC_SHA_HEX], int64_t *size, char *err, size_t errlen)
{
    // Not through a symbolic link, and never blocking on a FIFO put in
    // the file's place.
    int fd =
        openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        int rc = -errno;
        return azo_err_set(err, errlen, rc, "open %s: %s", path,
                           azo_err_str(rc));
    }
    int rc = s_sha_fd(fd, hex, size);
    (void)close(fd); // read-only: nothing to lose
    if (rc < 0)
        return azo_err_set(err, errlen, rc, "sha256 %s: %s", path,
                           azo_err_str(rc));
    return 0;
}

int
arc_fs_sync_dir(const char *dir, char *err, size_t errlen)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        return azo_err_set(err, errlen, rc, "open dir %s: %s", dir,
                           azo_err_str(rc));
    }
    int rc = fsync(fd) < 0 ? -errno : 0;
    (void)close(fd); // already synced or already failed
    if (rc < 0)
        return azo_err_set(err, errlen, rc, "fsync dir %s: %s", dir,
                           azo_err_str(rc));
    return 0;
}

// fsync of the directory holding path.
static int
s_sync_parent(const char *path, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    if (s_dirname(path, dir, sizeof dir) < 0)
        return azo_err_set(err, errlen, -ENAMETOOLONG, "dir of %s: %s", path,
                           azo_err_str(-ENAMETOOLONG));
    return arc_fs_sync_dir(dir, err, errlen);
}

// Renames src to dst unless dst exists. Some file systems refuse
// RENAME_NOREPLACE (EINVAL); there link() + unlink() also never overwrites,
// and a crash between the two leaves the file under both names, which the
// contract allows. Returns 0 or -errno.
static int
s_rename_noreplace(const char *src, const char *dst)
{
    if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -errno;
    if (link(src, dst) < 0)
        return -errno;
    if (unlink(src) < 0)
        return -errno;
    return 0;
}

// Creates a temporary file beside dst with mode (umask applies here; the
// caller sets the mode exactly later).
static int
s_tmp_open(s_tmp_t *t, const char *dst, mode_t mode, char *err, size_t errlen)
{
    t->fd = -1;
    t->path[0] = '\0';
    char dir[PATH_MAX];
    if (s_dirname(dst, dir, sizeof dir) < 0)
        return azo_err_set(err, errlen, -ENAMETOOLONG, "temp for %s: %s", dst,
                           azo_err_str(-ENAMETOOLONG));
    const char *base = s_basename(dst);
    int baselen = (int)strnlen(base, S_TMP_BASE_MAX);
    for (int tries = 0; tries < 100; tries++) {
        unsigned char rnd[S_RAND_HEX / 2];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
            int rc = -errno;
            return azo_err_set(err, errlen, rc, "getrandom: %s",
                               azo_err_str(rc));
        }
        char hex[S_RAND_HEX + 1];
        s_hex(rnd, sizeof rnd, hex);
        int n = snprintf(t->path, sizeof t->path, "%s/.%.*s" ARC_TMP_MARK "%s",
                         dir, baselen, base, hex);
        if (n < 0 || (size_t)n >= sizeof t->path) {
            t->path[0] = '\0';
            return azo_err_set(err, errlen, -ENAMETOOLONG, "temp for %s: %s",
                               dst, azo_err_str(-ENAMETOOLONG));
        }
        t->fd = open(t->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (t->fd >= 0)
            return 0;
        if (errno != EEXIST) {
            int rc = -errno;
            t->path[0] = '\0';
            return azo_err_set(err, errlen, rc, "create temp in %s: %s", dir,
                               azo_err_str(rc));
        }
    }
    t->path[0] = '\0';
    return azo_err_set(err, errlen, -EEXIST, "create temp in %s: %s", dir,
                       azo_err_str(-EEXIST));
}

// Removes the temporary file, if any. Best effort: on failure a later
// arc_fs_clean_tmp() finds it by name.
static void
s_tmp_abort(s_tmp_t *t)
{
    if (t->fd >= 0)
        (void)close(t->fd);
    if (t->path[0])
        (void)unlink(t->path);
    t->fd = -1;
    t->path[0] = '\0';
}

// Gives the temporary file st's owner (when allowed), mode and times, then
// fsyncs it. The times go before the fsync so that they are durable too.
static int
s_tmp_finish(s_tmp_t *t, const struct stat *st, char *err, size_t errlen)
{
    // Only root may give a file away; anyone else keeps their own uid.
    if (fchown(t->fd, st->st_uid, st->st_gid) < 0 && errno != EPERM) {
        int rc = -errno;
        return azo_err_set(err, errlen, rc, "chown %s: %s", t->path,
                           azo_err_str(rc));
    }
    // After fchown, which clears set-id bits.
    if (fchmod(t->fd, st->st_mode & 07777) < 0) {
        int rc = -errno;
        return azo_err_set(err, errlen, rc, "chmod %s: %s", t->path,
                           azo_err_str(rc));
    }
    struct timespec ts[2] = {st->st_atim, st->st_mtim};
    if (futimens(t->fd, ts) < 0) {
        int rc = -errno;
        return azo_err_set(err, errlen, rc, "set times %s: %s", t->path,
                           azo_err_str(rc));
    }
    if (fsync(t->fd) < 0) {
        int rc = -errno;
        return azo_err_set(err, errlen, rc, "fsync %s: %s", t->path,
                           azo_err_str(rc));
    }
    return 0;
}

// Closes the temporary file, renames it to dst without overwrite and
// fsyncs dst's directory. On failure the temporary file is removed unless
// it already took its final name.
static int
s_tmp_publish(s_tmp_t *t, const char *dst, char *err, size_t errlen)
{
    int rc = close(t->fd) < 0 ? -errno : 0;
    t->fd = -1;
    if (rc < 0)
        return azo_err_set(err, errlen, rc, "close %s: %s", t->path,
                           azo_err_str(rc));
    rc = s_rename_noreplace(t->path, dst);
    if (rc < 0)
        return azo_err_set(err, errlen, rc, "rename %s -> %s: %s", t->path, dst,
                           azo_err_str(rc));
    t->path[0] = '\0'; // it is dst now
    return s_sync_parent(dst, err, errlen);
}

// Copies in to out from their current offsets: copy_file_range when
// md is NULL and the kernel can, else read/write, hashing what it reads
// into md (when not NULL). Returns the bytes copied or -errno (*werr true
// when writing failed).
static int64_t
s_copy(int in, int out, EVP_MD_CTX *md, bool *werr)
{
    int64_t total = 0;
    *werr = false;
    if (!md) {
        for (;;) {
            ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
            if (n > 0) {
                total += n;
                continue;
            }
            if (n == 0)
                return total;
            if (errno == EINTR)
                continue;
            // Across most file systems the kernel refuses (EXDEV) before
            // copying anything; then read/write below does the work.
            if (total > 0 ||
                (errno != EXDEV && errno != EINVAL && errno != ENOSYS &&
                 errno != EOPNOTSUPP && errno != EPERM))
                return -errno;
            break;
        }
    }
    unsigned char *buf = malloc(S_BUF);
    if (!buf)
        return -ENOMEM;
    int64_t rc = 0;
    for (;;) {
        ssize_t r = s_read(in, buf, S_BUF);
        if (r <= 0) {
            rc = r < 0 ? r : total;
            break;
        }
        if (md && EVP_DigestUpdate(md, buf, (size_t)r) != 1) {
            rc = AZO_EINTERNAL;
            break;
        }
        int w = s_write_all(out, buf, (size_t)r);
        if (w < 0) {
            *werr = true;
            rc = w;
            break;
        }
        total += r;
    }
    free(buf);
    return rc;
}

// The EXDEV half of arc_fs_move (see the header).
static int
s_move_copy(const char *src, const char *dst, const char *sha, char *err,
            size_t errlen)
{
    s_tmp_t t = {.fd = -1, .path = ""};
    EVP_MD_CTX *md = NULL;
    struct stat st;
    int rc;
    int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0) {
        rc = -errno;
        return azo_err_set(err, errlen, rc, "open %s: %s", src,
                           azo_err_str(rc));
    }
    if (fstat(in, &st) < 0) {
        rc = -errno;
        azo_err_set(err, errlen, rc, "stat %s: %s", src, azo_err_str(rc));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = azo_err_set(err, errlen, -EINVAL, "copy %s: not a regular file",
                         src);
        goto fail;
    }
    // Do not copy gigabytes only to find dst taken at the end.
    if (faccessat(AT_FDCWD, dst, F_OK, AT_EACCESS) == 0) {
        rc = azo_err_set(err, errlen, -EEXIST, "copy %s -> %s: %s", src, dst,
                         azo_err_str(-EEXIST));
        goto fail;
    }
    rc = s_tmp_open(&t, dst, st.st_mode & 0777, err, errlen);
    if (rc < 0)
        goto fail;
    // Without an expected hash the source is hashed as it is read (one
    // pass); with one, copy_file_range may do the copy in the kernel.
    if (!sha) {
        md = EVP_MD_CTX_new();
        if (!md || EVP_DigestInit_ex(md, s_sha256(), NULL) != 1) {
            rc = azo_err_set(err, errlen, AZO_EINTERNAL, "sha256 init");
            goto fail;
        }
    }
    (void)posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL); // a hint only
    bool werr;
    int64_t copied = s_copy(in, t.fd, md, &werr);
    if (copied < 0) {
        rc = (int)copied;
        azo_err_set(err, errlen, rc, "copy %s -> %s: %s", src,
                    werr ? t.path : dst, azo_err_str(rc));
        goto fail;
    }
    char src_hex[ARC_SHA_HEX] = "";
    if (md) {
        unsigned char out[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        if (EVP_DigestFinal_ex(md, out, &n) != 1 || n != 32) {
            rc = azo_err_set(err, errlen, AZO_EINTERNAL, "sha256 final");
            goto fail;
        }
        s_hex(out, n, src_hex);
    }
    if (copied != (int64_t)st.st_size) {
        rc = azo_err_set(err, errlen, AZO_ECONFLICT,
                         "copy %s -> %s: source changed size during the copy",
                         src, dst);
        goto fail;
    }
    rc = s_tmp_finish(&t, &st, err, errlen);
    if (rc < 0)
        goto fail;
    // Read the copy back from the disk, not from the page cache, so that
    // the check covers what was written (clean pages after the fsync).
    (void)posix_fadvise(t.fd, 0, 0, POSIX_FADV_DONTNEED); // a hint only
    char tmp_hex[ARC_SHA_HEX];
    int64_t tmp_size = 0;
    rc = s_sha_fd(t.fd, tmp_hex, &tmp_size);
    if (rc < 0) {
        azo_err_set(err, errlen, rc, "verify %s: %s", t.path, azo_err_str(rc));
        goto fail;
    }
    const char *want = sha ? sha : src_hex;
    if (tmp_size == copied && strcmp(tmp_hex, want) == 0) {
        rc = s_tmp_publish(&t, dst, err, errlen);
        if (rc < 0)
            goto fail;
    } else if (sha && s_sha_fd(in, src_hex, NULL) == 0 &&
               strcmp(src_hex, sha) != 0) {
        rc = azo_err_set(err, errlen, AZO_ECONFLICT,
                         "copy %s -> %s: source's sha256 %s, expected %s", src,
                         dst, src_hex, sha);
        goto fail;
    } else {
        rc = azo_err_set(err, errlen, -EIO,
                         "copy %s -> %s: the copy's sha256 %s differs from "
                         "the source's %s",
                         src, dst, tmp_hex, want);
        goto fail;
    }
    (void)close(in); // read-only
    in = -1;
    // dst is complete and durable: only now may src go.
    if (unlink(src) < 0) {
        rc = -errno;
        return azo_err_set(err, errlen, rc, "unlink %s (copied to %s): %s", src,
                           dst, azo_err_str(rc));
    }
    EVP_MD_CTX_free(md);
    return s_sync_parent(src, err, errlen);
fail:
    s_tmp_abort(&t);
    EVP_MD_CTX_free(md);
    if (in >= 0)
        (void)close(in); // read-only
    return rc;
}

int
arc_fs_move(const char *src, const char *dst, const char *sha, bool *cross,
            char *err, size_t errlen)
{
    if (cross)
        *cross = false;
    int rc = s_rename_noreplace(src, dst);
    if (rc == -EXDEV) {
        if (cross)
            *cross = true;
        return s_move_copy(src, dst, sha, err, errlen);
    }
    if (rc < 0)
        return azo_err_set(err, errlen, rc, "move %s -> %s: %s", src, dst,
                           azo_err_str(rc));
    rc = s_sync_parent(dst, err, errlen);
    if (rc < 0)
        return rc;
    char sdir[PATH_MAX], ddir[PATH_MAX];
    if (s_dirname(src, sdir, sizeof sdir) == 0 &&
        s_dirname(dst, ddir, sizeof ddir) == 0 && strcmp(sdir, ddir) == 0)
        return 0; // one directory, already synced
    return s_sync_parent(src, err, errlen);
}

// One gzip or gunzip: the source, the temporary file and the buffers.
typedef struct {
    const char *what; // "gzip" or "gunzip", for messages; borrowed
    const char *src;  // borrowed
    int in;           // src, read-only; -1 when closed
    struct stat st;   // src's
    s_tmp_t t;
    unsigned char *ibuf, *obuf; // S_BUF each, owned
} s_zjob_t;

// Opens src, a temporary file beside dst with src's mode, and the buffers.
// On failure *z holds nothing.
static int
s_zjob_open(s_zjob_t *z, const char *what, const char *src, const char *dst,
            char *err, size_t errlen)
{
    *z = (s_zjob_t){.what = what, .src = src, .in = -1};
    z->t.fd = -1;
    z->in = open(src, O_RDONLY | O_CLOEXEC);
    if (z->in < 0) {
        int rc = -errno;
        return azo_err_set(err, errlen, rc, "%s %s: %s", what, src,
                           azo_err_str(rc));
    }
    int rc = 0;
    if (fstat(z->in, &z->st) < 0) {
        rc = -errno;
        azo_err_set(err, errlen, rc, "stat %s: %s", src, azo_err_str(rc));
    } else if (faccessat(AT_FDCWD, dst, F_OK, AT_EACCESS) == 0) {
        rc = azo_err_set(err, errlen, -EEXIST, "%s %s -> %s: %s", what, src,
                         dst, azo_err_str(-EEXIST));
    } else {
        rc = s_tmp_open(&z->t, dst, z->st.st_mode & 0777, err, errlen);
    }
    if (rc == 0) {
        z->ibuf = malloc(S_BUF);
        z->obuf = malloc(S_BUF);
        if (!z->ibuf || !z->obuf)
            rc = azo_err_set(err, errlen, -ENOMEM, "%s %s: out of memory", what,
                             src);
    }
    if (rc < 0) {
        free(z->ibuf);
        free(z->obuf);
        s_tmp_abort(&z->t);
        (void)close(z->in); // read-only
        return rc;
    }
    (void)posix_fadvise(z->in, 0, 0, POSIX_FADV_SEQUENTIAL); // a hint only
    return 0;
}

static ssize_t
s_zjob_read(s_zjob_t *z, char *err, size_t errlen)
{
    ssize_t r = s_read(z->in, z->ibuf, S_BUF);
    if (r < 0)
        azo_err_set(err, errlen, (int)r, "%s read %s: %s", z->what, z->src,
                    azo_err_str((int)r));
    return r;
}

// Writes obuf's first n bytes to the temporary file.
static int
s_zjob_write(s_zjob_t *z, size_t n, char *err, size_t errlen)
{
    int rc = s_write_all(z->t.fd, z->obuf, n);
    if (rc < 0)
        azo_err_set(err, errlen, rc, "%s %s -> %s: %s", z->what, z->src,
                    z->t.path, azo_err_str(rc));
    return rc;
}

// Ends the job: when rc is 0, publishes the temporary file as dst;
// otherwise (or if that fails) removes it. Frees all. Returns the result.
static int
s_zjob_close(s_zjob_t *z, int rc, const char *dst, char *err, size_t errlen)
{
    if (rc == 0)
        rc = s_tmp_finish(&z->t, &z->st, err, errlen);
    if (rc == 0)
        rc = s_tmp_publish(&z->t, dst, err, errlen);
    s_tmp_abort(&z->t); // nothing left to remove after a publish
    free(z->obuf);
    free(z->ibuf);
    (void)close(z->in); // read-only
    return rc;
}

static int
s_zerr(int zr, char *err, size_t errlen, const char *what, const char *src,
       const char *call)
{
    return azo_err_set(err, errlen, zr == Z_MEM_ERROR ? -ENOMEM : AZO_EINTERNAL,
                       "%s %s: %s: %d", what, src, call, zr);
}

int
arc_fs_gzip(const char *src, const char *dst, int level, char *err,
            size_t errlen)
{
    if (level < 1 || level > 9)
        return azo_err_set(err, errlen, -EINVAL, "gzip %s: level %d", src,
                           level);
    s_zjob_t z;
    int rc = s_zjob_open(&z, "gzip", src, dst, err, errlen);
    if (rc < 0)
        return rc;
    z_stream zs = {0};
    // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
    int zr =
        deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    if (zr != Z_OK)
        return s_zjob_close(
            &z, s_zerr(zr, err, errlen, "gzip", src, "deflateInit2"), dst, err,
            errlen);
    int flush = Z_NO_FLUSH;
    do {
        ssize_t r = s_zjob_read(&z, err, errlen);
        if (r < 0) {
            rc = (int)r;
            goto done;
        }
        flush = r == 0 ? Z_FINISH : Z_NO_FLUSH;
        zs.next_in = z.ibuf;
        zs.avail_in = (uInt)r;
        do {
            zs.next_out = z.obuf;
            zs.avail_out = S_BUF;
            zr = deflate(&zs, flush);
            if (zr == Z_STREAM_ERROR) {
                rc = s_zerr(zr, err, errlen, "gzip", src, "deflate");
                goto done;
            }
            rc = s_zjob_write(&z, S_BUF - zs.avail_out, err, errlen);
            if (rc < 0)
                goto done;
        } while (zs.avail_out == 0);
    } while (flush != Z_FINISH);
    if (zr != Z_STREAM_END)
        rc = s_zerr(zr, err, errlen, "gzip", src, "deflate");
done:
    (void)deflateEnd(&zs); // frees only; the result is already known
    return s_zjob_close(&z, rc, dst, err, errlen);
}

int
arc_fs_gunzip(const char *src, const char *dst, char *err, size_t errlen)
{
    s_zjob_t z;
    int rc = s_zjob_open(&z, "gunzip", src, dst, err, errlen);
    if (rc < 0)
        return rc;
    z_stream zs = {0};
    int zr = inflateInit2(&zs, 15 + 16); // gzip only
    if (zr != Z_OK)
        return s_zjob_close(
            &z, s_zerr(zr, err, errlen, "gunzip", src, "inflateInit2"), dst,
            err, errlen);
    // A gzip file may hold several members one after the other (gzip
    // concatenates them); each ends with Z_STREAM_END. The input must end
    // exactly at the end of a member: anything else is truncated or
    // corrupt.
    bool in_member = true;
    bool out_had_room = true; // else inflate may hold output: no read yet
    for (;;) {
        if (zs.avail_in == 0 && (out_had_room || !in_member)) {
            ssize_t r = s_zjob_read(&z, err, errlen);
            if (r < 0) {
                rc = (int)r;
                goto done;
            }
            if (r == 0) {
                if (in_member)
                    rc = azo_err_set(err, errlen, AZO_EBADREQ,
                                     "gunzip %s: truncated", src);
                break;
            }
            zs.next_in = z.ibuf;
            zs.avail_in = (uInt)r;
        }
        if (!in_member) {
            zr = inflateReset(&zs);
            if (zr != Z_OK) {
                rc = s_zerr(zr, err, errlen, "gunzip", src, "inflateReset");
                goto done;
            }
            in_member = true;
        }
        zs.next_out = z.obuf;
        zs.avail_out = S_BUF;
        zr = inflate(&zs, Z_NO_FLUSH);
        if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT ||
            (zr == Z_BUF_ERROR && zs.avail_in > 0 && zs.avail_out > 0)) {
            rc = azo_err_set(err, errlen, AZO_EBADREQ, "gunzip %s: %s", src,
                             zs.msg ? zs.msg : "corrupt data");
            goto done;
        }
        if (zr == Z_MEM_ERROR || zr == Z_STREAM_ERROR) {
            rc = s_zerr(zr, err, errlen, "gunzip", src, "inflate");
            goto done;
        }
        rc = s_zjob_write(&z, S_BUF - zs.avail_out, err, errlen);
        if (rc < 0)
            goto done;
        out_had_room = zs.avail_out > 0;
        if (zr == Z_STREAM_END)
            in_member = false;
    }
done:
    (void)inflateEnd(&zs); // frees only
    return s_zjob_close(&z, rc, dst, err, errlen);
}

int
arc_fs_dated_name(const char *dir, const char *base, time_t mtime,
                  const char *suffix, char *out, size_t outlen)
{
    struct tm tm;
    if (!gmtime_r(&mtime, &tm))
        return -EOVERFLOW;
    char date[32];
    snprintf(date, sizeof date, "%04d%02d%02d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday);
    // A leading dot starts a hidden name, not an extension.
    const char *dot = strrchr(base, '.');
    if (dot == base)
        dot = NULL;
    int stemlen = dot ? (int)(dot - base) : (int)strlen(base);
    const char *ext = dot ? dot : "";
    if (!suffix)
        suffix = "";
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    int rc = -EEXIST;
    for (int i = 0; i <= S_MAX_COLLISION; i++) {
        char num[16] = "";
        if (i > 0)
            snprintf(num, sizeof num, "_%d", i);
        int n = snprintf(out, outlen, "%.*s_%s%s%s%s", stemlen, base, date, num,
                         ext, suffix);
        if (n < 0 || (size_t)n >= outlen || n > NAME_MAX) {
            rc = -ENAMETOOLONG;
            break;
        }
        struct stat st;
        if (fstatat(dfd, out, &st, AT_SYMLINK_NOFOLLOW) == 0)
            continue;
        rc = errno == ENOENT ? 0 : -errno;
        break;
    }
    (void)close(dfd); // read-only
    if (rc < 0 && outlen > 0)
        out[0] = '\0';
    return rc;
}

bool
arc_fs_is_tmp(const char *name)
{
    size_t mark = strlen(ARC_TMP_MARK);
    size_t len = strlen(name);
    // "." + at least one byte of base + mark + random hex
    if (len < 2 + mark + S_RAND_HEX || name[0] != '.')
        return false;
    const char *p = name + len - S_RAND_HEX - mark;
    if (memcmp(p, ARC_TMP_MARK, mark) != 0)
        return false;
    for (p += mark; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

int
arc_fs_clean_tmp(const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        int rc = -errno;
        return azo_err_set(err, errlen, rc, "open dir %s: %s", dir,
                           azo_err_str(rc));
    }
    int dfd = dirfd(d);
    int count = 0, rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            int e2 = -errno;
            if (e2)
                rc = azo_err_set(err, errlen, e2, "read dir %s: %s", dir,
                                 azo_err_str(e2));
            break;
        }
        if (!arc_fs_is_tmp(e->d_name))
            continue;
        struct stat st;
        if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(st.st_mode))
            continue; // vanished, or not a file we would have made
        if (unlinkat(dfd, e->d_name, 0) < 0) {
            if (errno == ENOENT)
                continue; // another cleaner was faster
            int e2 = -errno;
            rc = azo_err_set(err, errlen, e2, "unlink %s/%s: %s", dir,
                             e->d_name, azo_err_str(e2));
            break;
        }
        count++;
    }
    if (rc == 0 && count > 0 && fsync(dfd) < 0) {
        int e2 = -errno;
        rc = azo_err_set(err, errlen, e2, "fsync dir %s: %s", dir,
                         azo_err_str(e2));
    }
    (void)closedir(d); // read-only
    return rc < 0 ? rc : count;
}
