// Unit tests of arc_fs: SHA-256, moves on one file system and across two
// (/dev/shm is a tmpfs: skipped where it is not a different file system),
// gzip and gunzip checked against the gzip tool, dated names with their
// collision suffixes, temporary-file recognition and cleanup, and
// permission errors (as an unprivileged user, also when run as root).
#include "arc_fs.h"
#include "azo_err.h"
#include "azo_testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#define NOBODY 65534

typedef struct {
    char dir[PATH_MAX];
    char shm[PATH_MAX]; // "" unless a test made one
} fix_t;

static int
setup(void **state)
{
    fix_t *f = calloc(1, sizeof *f);
    if (!f || azo_test_tmpdir(f->dir, sizeof f->dir, "arc_fs") < 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fix_t *f = *state;
    azo_test_rm_rf(f->dir);
    if (f->shm[0])
        azo_test_rm_rf(f->shm);
    free(f);
    return 0;
}

static void
s_path(char *buf, const char *dir, const char *name)
{
    int n = snprintf(buf, PATH_MAX, "%s/%s", dir, name);
    assert_true(n > 0 && n < PATH_MAX);
}

static void
s_write(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

// Returns the file's bytes (malloc'd, *len set), or NULL if it is absent.
static unsigned char *
s_read(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    unsigned char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static void
s_assert_file(const char *path, const void *data, size_t len)
{
    size_t n = 0;
    unsigned char *got = s_read(path, &n);
    assert_non_null(got);
    assert_int_equal(n, len);
    assert_memory_equal(got, data, len);
    free(got);
}

static bool
s_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

// How many of our temporary files dir holds (by name, and any name with
// the mark in it, in case arc_fs_is_tmp were wrong).
static int
s_count_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (arc_fs_is_tmp(e->d_name) || strstr(e->d_name, ARC_TMP_MARK))
            n++;
    closedir(d);
    return n;
}

static unsigned char *
s_random(size_t len)
{
    unsigned char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    unsigned x = 2463534242u;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (unsigned char)x;
    }
    return buf;
}

static void
s_set_mtime(const char *path, time_t sec, long nsec)
{
    struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void
s_assert_meta(const char *path, mode_t mode, time_t sec, long nsec)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, mode);
    assert_int_equal(st.st_mtim.tv_sec, sec);
    assert_int_equal(st.st_mtim.tv_nsec, nsec);
}

static void
s_mkdir(char *buf, const char *dir, const char *name)
{
    s_path(buf, dir, name);
    assert_int_equal(mkdir(buf, 0755), 0);
}

static void
test_arc_fs_sha256_known_content(void **state)
{
    fix_t *f = *state;
    char p[PATH_MAX], hex[ARC_SHA_HEX], err[256];
    int64_t size = -1;
    s_path(p, f->dir, "abc");
    s_write(p, "abc", 3, 0644);
    assert_int_equal(arc_fs_sha256(p, hex, &size, err, sizeof err), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
                             "b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(size, 3);

    s_path(p, f->dir, "empty");
    s_write(p, "", 0, 0644);
    assert_int_equal(arc_fs_sha256(p, hex, NULL, err, sizeof err), 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                             "27ae41e4649b934ca495991b7852b855");

    s_path(p, f->dir, "missing");
    assert_int_equal(arc_fs_sha256(p, hex, &size, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, p));
    assert_true(azo_test_one_line(err));
}

// sha256sum's digest of path.
static void
s_sha256sum(const char *path, char hex[ARC_SHA_HEX])
{
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(hex, ARC_SHA_HEX, p));
    assert_int_equal(strlen(hex), 64);
    (void)pclose(p);
}

// Sizes around the first (stack) read and the larger reads after it, the
// directory-relative form, and no following of symbolic links.
static void
test_arc_fs_sha256_sizes_at_and_links(void **state)
{
    fix_t *f = *state;
    static const size_t sizes[] = {16383, 16384, 16385, 300000, 1048576};
    char *data = malloc(1048576);
    assert_non_null(data);
    for (size_t i = 0; i < 1048576; i++)
        data[i] = (char)(i * 7 + i / 251);
    int dfd = open(f->dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char p[PATH_MAX], name[32], hex[ARC_SHA_HEX], want[ARC_SHA_HEX];
        char err[256];
        int64_t size = -1;
        snprintf(name, sizeof name, "s%zu", sizes[i]);
        s_path(p, f->dir, name);
        s_write(p, data, sizes[i], 0644);
        s_sha256sum(p, want);
        assert_int_equal(arc_fs_sha256(p, hex, &size, err, sizeof err), 0);
        assert_string_equal(hex, want);
        assert_int_equal(size, (int64_t)sizes[i]);
        memset(hex, 0, sizeof hex);
        assert_int_equal(
            arc_fs_sha256_at(dfd, name, p, hex, &size, err, sizeof err), 0);
        assert_string_equal(hex, want);
    }
    char p[PATH_MAX], t[PATH_MAX], hex[ARC_SHA_HEX], err[256];
    s_path(p, f->dir, "link");
    s_path(t, f->dir, "s16384");
    assert_int_equal(symlink(t, p), 0);
    assert_int_equal(arc_fs_sha256(p, hex, NULL, err, sizeof err), -ELOOP);
    assert_non_null(strstr(err, p));
    assert_int_equal(arc_fs_sha256_at(dfd, "missing", "/shown/path", hex, NULL,
                                      err, sizeof err),
                     -ENOENT);
    assert_non_null(strstr(err, "/shown/path"));
    close(dfd);
    free(data);
}

static void
test_arc_fs_move_same_fs(void **state)
{
    fix_t *f = *state;
    char a[PATH_MAX], b[PATH_MAX], src[PATH_MAX], dst[PATH_MAX], err[256];
    s_mkdir(a, f->dir, "a");
    s_mkdir(b, f->dir, "b");
    s_path(src, a, "app.log");
    s_path(dst, b, "app_20231114.log");
    s_write(src, "hello\n", 6, 0640);
    s_set_mtime(src, 1700000000, 123456789);
    bool cross = true;
    assert_int_equal(arc_fs_move(src, dst, NULL, &cross, err, sizeof err), 0);
    assert_false(cross);
    assert_false(s_exists(src));
    s_assert_file(dst, "hello\n", 6);
    s_assert_meta(dst, 0640, 1700000000, 123456789);

    // dst taken: -EEXIST, and neither file changes.
    s_write(src, "other\n", 6, 0600);
    assert_int_equal(arc_fs_move(src, dst, NULL, &cross, err, sizeof err),
                     -EEXIST);
    assert_non_null(strstr(err, dst));
    s_assert_file(src, "other\n", 6);
    s_assert_file(dst, "hello\n", 6);

    // A missing source names itself.
    s_path(src, a, "gone");
    assert_int_equal(arc_fs_move(src, dst, NULL, NULL, err, sizeof err),
                     -ENOENT);
    assert_non_null(strstr(err, src));
}

// Makes f->shm, a directory in /dev/shm on another file system than
// f->dir; false when this machine has none.
static bool
s_other_fs(fix_t *f)
{
    struct stat a, b;
    if (stat("/dev/shm", &b) != 0 || access("/dev/shm", W_OK) != 0)
        return false;
    assert_int_equal(stat(f->dir, &a), 0);
    if (a.st_dev == b.st_dev)
        return false;
    strcpy(f->shm, "/dev/shm/arc_fs.XXXXXX");
    if (!mkdtemp(f->shm)) {
        f->shm[0] = '\0';
        return false;
    }
    return true;
}

// Moves src to dst across file systems and checks the result (the
// fixture's mode and mtime kept, no temporary file left in dstdir).
static void
s_move_across(const char *src, const char *dst, const char *dstdir,
              const char *sha, const unsigned char *data, size_t len)
{
    char err[256];
    bool cross = false;
    assert_int_equal(arc_fs_move(src, dst, sha, &cross, err, sizeof err), 0);
    assert_true(cross);
    assert_false(s_exists(src));
    s_assert_file(dst, data, len);
    s_assert_meta(dst, 0604, 1700000000, 5);
    assert_int_equal(s_count_tmp(dstdir), 0);
}

static void
test_arc_fs_move_across_fs(void **state)
{
    fix_t *f = *state;
    if (!s_other_fs(f))
        skip();
    enum { LEN = 3 * 1024 * 1024 + 17 };
    unsigned char *data = s_random(LEN);
    char src[PATH_MAX], dst[PATH_MAX], err[256], hex[ARC_SHA_HEX];
    s_path(src, f->shm, "model.bin");
    s_path(dst, f->dir, "model_20231114.bin");
    s_write(src, data, LEN, 0604);
    s_set_mtime(src, 1700000000, 5);
    assert_int_equal(arc_fs_sha256(src, hex, NULL, err, sizeof err), 0);

    // Without a hash (computed while copying), then back with the right one.
    s_move_across(src, dst, f->dir, NULL, data, LEN);
    char back[PATH_MAX];
    s_path(back, f->shm, "back.bin");
    s_move_across(dst, back, f->shm, hex, data, LEN);
    bool cross = false;

    // A wrong expected hash: conflict, the source stays, nothing else.
    char bad[ARC_SHA_HEX];
    memcpy(bad, hex, sizeof bad);
    bad[0] = bad[0] == '0' ? '1' : '0';
    assert_int_equal(arc_fs_move(back, dst, bad, &cross, err, sizeof err),
                     AZO_ECONFLICT);
    assert_true(cross);
    assert_non_null(strstr(err, back));
    s_assert_file(back, data, LEN);
    assert_false(s_exists(dst));
    assert_int_equal(s_count_tmp(f->dir), 0);

    // dst taken across file systems too.
    s_write(dst, "x", 1, 0644);
    assert_int_equal(arc_fs_move(back, dst, NULL, &cross, err, sizeof err),
                     -EEXIST);
    s_assert_file(back, data, LEN);
    s_assert_file(dst, "x", 1);
    assert_int_equal(s_count_tmp(f->dir), 0);
    free(data);
}

static int
s_sh(const char *fmt, ...)
{
    char cmd[3 * PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof cmd);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// gzip src, checks the result with gzip -t and zcat, gunzips it back and
// compares.
static void
s_round_trip(fix_t *f, const char *name, const unsigned char *data, size_t len)
{
    char src[PATH_MAX], gz[PATH_MAX], out[PATH_MAX], err[256];
    s_path(src, f->dir, name);
    char name_gz[NAME_MAX + 1], name_out[NAME_MAX + 1];
    snprintf(name_gz, sizeof name_gz, "%s.gz", name);
    snprintf(name_out, sizeof name_out, "%s.out", name);
    s_path(gz, f->dir, name_gz);
    s_path(out, f->dir, name_out);
    s_write(src, data, len, 0640);
    s_set_mtime(src, 1700000000, 0);
    assert_int_equal(arc_fs_gzip(src, gz, 6, err, sizeof err), 0);
    s_assert_file(src, data, len); // left in place
    s_assert_meta(gz, 0640, 1700000000, 0);
    assert_int_equal(s_sh("gzip -t '%s'", gz), 0);
    assert_int_equal(s_sh("zcat '%s' | cmp -s - '%s'", gz, src), 0);
    assert_int_equal(arc_fs_gunzip(gz, out, err, sizeof err), 0);
    s_assert_file(out, data, len);
    s_assert_meta(out, 0640, 1700000000, 0);
    assert_int_equal(s_count_tmp(f->dir), 0);
}

static void
test_arc_fs_gzip_round_trip(void **state)
{
    fix_t *f = *state;
    enum { LEN = 3 * 1024 * 1024 };
    unsigned char *data = s_random(LEN);
    s_round_trip(f, "random.bin", data, LEN);
    s_round_trip(f, "empty.log", data, 0);
    // Text compresses: several output buffers per input buffer are not
    // needed, but many input buffers per output buffer are.
    for (size_t i = 0; i < LEN; i++)
        data[i] = "2026-11-23 12:00:00 INFO request served\n"[i % 40];
    s_round_trip(f, "text.log", data, LEN);

    char src[PATH_MAX], gz[PATH_MAX], err[256];
    s_path(src, f->dir, "text.log");
    s_path(gz, f->dir, "text.log.gz");
    assert_int_equal(arc_fs_gzip(src, gz, 6, err, sizeof err), -EEXIST);
    assert_int_equal(arc_fs_gzip(src, "/nonexistent/x.gz", 0, err, sizeof err),
                     -EINVAL);
    free(data);
}

static void
test_arc_fs_gunzip_rejects_bad_input(void **state)
{
    fix_t *f = *state;
    enum { LEN = 1024 * 1024 };
    unsigned char *data = s_random(LEN);
    char src[PATH_MAX], gz[PATH_MAX], bad[PATH_MAX], out[PATH_MAX], err[256];
    s_path(src, f->dir, "data");
    s_path(gz, f->dir, "data.gz");
    s_path(bad, f->dir, "bad.gz");
    s_path(out, f->dir, "out");
    s_write(src, data, LEN, 0644);
    assert_int_equal(arc_fs_gzip(src, gz, 1, err, sizeof err), 0);
    size_t n = 0;
    unsigned char *z = s_read(gz, &n);
    assert_non_null(z);

    // Truncated at several points, including inside the trailer.
    size_t cuts[] = {0, 5, 10, n / 2, n - 4, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        s_write(bad, z, cuts[i], 0644);
        assert_int_equal(arc_fs_gunzip(bad, out, err, sizeof err), AZO_EBADREQ);
        assert_non_null(strstr(err, bad));
        assert_false(s_exists(out));
        assert_int_equal(unlink(bad), 0);
    }
    // A flipped byte in the data or in the CRC.
    size_t flips[] = {n / 2, n - 6};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        z[flips[i]] ^= 0x55;
        s_write(bad, z, n, 0644);
        z[flips[i]] ^= 0x55;
        assert_int_equal(arc_fs_gunzip(bad, out, err, sizeof err), AZO_EBADREQ);
        assert_false(s_exists(out));
        assert_int_equal(unlink(bad), 0);
    }
    // Not gzip at all; garbage after a member.
    assert_int_equal(arc_fs_gunzip(src, out, err, sizeof err), AZO_EBADREQ);
    unsigned char *junk = malloc(n + 3);
    assert_non_null(junk);
    memcpy(junk, z, n);
    memcpy(junk + n, "xyz", 3);
    s_write(bad, junk, n + 3, 0644);
    assert_int_equal(arc_fs_gunzip(bad, out, err, sizeof err), AZO_EBADREQ);
    assert_false(s_exists(out));
    assert_int_equal(unlink(bad), 0);
    assert_int_equal(s_count_tmp(f->dir), 0);

    // Two members one after the other: both come out.
    s_write(bad, z, n, 0644);
    assert_int_equal(s_sh("cat '%s' >> '%s'", gz, bad), 0);
    assert_int_equal(arc_fs_gunzip(bad, out, err, sizeof err), 0);
    unsigned char *two = malloc(2 * (size_t)LEN);
    assert_non_null(two);
    memcpy(two, data, LEN);
    memcpy(two + LEN, data, LEN);
    s_assert_file(out, two, 2 * (size_t)LEN);
    free(two);
    free(junk);
    free(z);
    free(data);
}

static void
test_arc_fs_dated_names(void **state)
{
    fix_t *f = *state;
    // 2026-11-23 23:30:00 UTC: already the 24th east of UTC.
    const time_t t = 1795476600;
    assert_int_equal(setenv("TZ", "Pacific/Kiritimati", 1), 0);
    tzset();
    char out[NAME_MAX + 1], p[PATH_MAX];
    static const struct {
        const char *base, *suffix, *want;
    } cases[] = {
        {"app.log", "", "app_20261123.log"},
        {".bashrc", "", ".bashrc_20261123"},
        {"a.tar.gz", "", "a.tar_20261123.gz"},
        {"README", "", "README_20261123"},
        {"app.log", ".gz", "app_20261123.log.gz"},
        {".bashrc", ".gz", ".bashrc_20261123.gz"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(arc_fs_dated_name(f->dir, cases[i].base, t,
                                           cases[i].suffix, out, sizeof out),
                         0);
        assert_string_equal(out, cases[i].want);
    }
    // Collisions: _1, _2, before the extension and the suffix.
    s_path(p, f->dir, "app_20261123.log");
    s_write(p, "", 0, 0644);
    assert_int_equal(
        arc_fs_dated_name(f->dir, "app.log", t, "", out, sizeof out), 0);
    assert_string_equal(out, "app_20261123_1.log");
    s_path(p, f->dir, out);
    s_write(p, "", 0, 0644);
    assert_int_equal(
        arc_fs_dated_name(f->dir, "app.log", t, "", out, sizeof out), 0);
    assert_string_equal(out, "app_20261123_2.log");
    s_path(p, f->dir, "app_20261123.log.gz");
    s_write(p, "", 0, 0644);
    assert_int_equal(
        arc_fs_dated_name(f->dir, "app.log", t, ".gz", out, sizeof out), 0);
    assert_string_equal(out, "app_20261123_1.log.gz");

    // Too long for a file name, or for out.
    char longname[NAME_MAX + 1];
    memset(longname, 'x', 250);
    strcpy(longname + 250, ".log");
    assert_int_equal(
        arc_fs_dated_name(f->dir, longname, t, "", out, sizeof out),
        -ENAMETOOLONG);
    char small[8];
    assert_int_equal(
        arc_fs_dated_name(f->dir, "app.log", t, "", small, sizeof small),
        -ENAMETOOLONG);
    s_path(p, f->dir, "missing");
    assert_int_equal(arc_fs_dated_name(p, "app.log", t, "", out, sizeof out),
                     -ENOENT);
    assert_int_equal(unsetenv("TZ"), 0);
    tzset();
}

static void
test_arc_fs_tmp_names_and_cleanup(void **state)
{
    fix_t *f = *state;
    assert_true(arc_fs_is_tmp(".app.log" ARC_TMP_MARK "0123456789abcdef"));
    assert_true(arc_fs_is_tmp(".x" ARC_TMP_MARK "ffffffffffffffff"));
    assert_false(arc_fs_is_tmp("app.log"));
    assert_false(arc_fs_is_tmp(""));
    assert_false(arc_fs_is_tmp("app.log" ARC_TMP_MARK "0123456789abcdef"));
    assert_false(arc_fs_is_tmp(".app.log" ARC_TMP_MARK "0123456789ABCDEF"));
    assert_false(arc_fs_is_tmp(".app.log" ARC_TMP_MARK "0123456789abcde"));
    assert_false(arc_fs_is_tmp(".app.log" ARC_TMP_MARK "0123456789abcdef0"));
    assert_false(arc_fs_is_tmp(ARC_TMP_MARK "0123456789abcdef"));

    char p[PATH_MAX], err[256];
    s_path(p, f->dir, ".a" ARC_TMP_MARK "0123456789abcdef");
    s_write(p, "x", 1, 0600);
    s_path(p, f->dir, ".b.log" ARC_TMP_MARK "aaaaaaaaaaaaaaaa");
    s_write(p, "x", 1, 0600);
    s_path(p, f->dir, "keep.log");
    s_write(p, "x", 1, 0600);
    s_mkdir(p, f->dir, ".d" ARC_TMP_MARK "bbbbbbbbbbbbbbbb");
    assert_int_equal(arc_fs_clean_tmp(f->dir, err, sizeof err), 2);
    assert_int_equal(arc_fs_clean_tmp(f->dir, err, sizeof err), 0);
    s_path(p, f->dir, "keep.log");
    assert_true(s_exists(p));
    s_path(p, f->dir, ".d" ARC_TMP_MARK "bbbbbbbbbbbbbbbb");
    assert_true(s_exists(p)); // a directory is not ours
    s_path(p, f->dir, "missing");
    assert_int_equal(arc_fs_clean_tmp(p, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, p));
}

// As an unprivileged user: moving into, or gzipping into, a directory
// without write permission fails with -EACCES naming the path. Returns 0
// when all holds, else the number of the failed check.
static int
s_eacces_checks(const char *dir)
{
    char ro[PATH_MAX], src[PATH_MAX], dst[PATH_MAX], gz[PATH_MAX], err[512];
    snprintf(ro, sizeof ro, "%s/ro", dir);
    snprintf(src, sizeof src, "%s/src.log", dir);
    snprintf(dst, sizeof dst, "%s/ro/src.log", dir);
    snprintf(gz, sizeof gz, "%s/ro/src.log.gz", dir);
    if (mkdir(ro, 0500) != 0)
        return 1;
    int fd = open(src, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0 || write(fd, "x\n", 2) != 2 || close(fd) != 0)
        return 2;
    if (arc_fs_move(src, dst, NULL, NULL, err, sizeof err) != -EACCES)
        return 3;
    if (!strstr(err, dst) || access(src, F_OK) != 0)
        return 4;
    if (arc_fs_gzip(src, gz, 6, err, sizeof err) != -EACCES)
        return 5;
    if (!strstr(err, ro))
        return 6;
    return 0;
}

static void
test_arc_fs_permission_error(void **state)
{
    fix_t *f = *state;
    if (geteuid() != 0) {
        assert_int_equal(s_eacces_checks(f->dir), 0);
        return;
    }
    // Root bypasses permissions: run the checks as nobody in a directory
    // of theirs (mkdtemp made ours 0700).
    assert_int_equal(chmod(f->dir, 0711), 0);
    char sub[PATH_MAX];
    s_mkdir(sub, f->dir, "nobody");
    assert_int_equal(chown(sub, NOBODY, NOBODY), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
            _exit(100);
        _exit(s_eacces_checks(sub));
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 1)
        skip(); // a parent not searchable by nobody: nothing to learn here
    assert_int_equal(WEXITSTATUS(st), 0);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_arc_fs_sha256_known_content),
        T(test_arc_fs_sha256_sizes_at_and_links),
        T(test_arc_fs_move_same_fs),
        T(test_arc_fs_move_across_fs),
        T(test_arc_fs_gzip_round_trip),
        T(test_arc_fs_gunzip_rejects_bad_input),
        T(test_arc_fs_dated_names),
        T(test_arc_fs_tmp_names_and_cleanup),
        T(test_arc_fs_permission_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
