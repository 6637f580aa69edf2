// test_fs — runtime/azo_fs: azo_fs_read_file on a temp directory (a file,
// relative to a directory fd, size limit, what is not a regular file, links
// refused with O_NOFOLLOW).
#include "azo_fs.h"
#include "azo_testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static void
s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void
test_fs_read_file(void **state)
{
    (void)state;
    char dir[PATH_MAX], p[PATH_MAX + 32], err[256], *buf;
    size_t len;
    assert_int_equal(azo_test_tmpdir(dir, sizeof dir, "fs"), 0);
    snprintf(p, sizeof p, "%s/a.txt", dir);
    s_write(p, "hello\n");
    assert_int_equal(
        azo_fs_read_file(AT_FDCWD, p, 0, 100, &buf, &len, err, sizeof err), 0);
    assert_int_equal(len, 6);
    assert_string_equal(buf, "hello\n"); // NUL-terminated
    free(buf);
    // Relative to a directory fd; over the limit.
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    assert_int_equal(azo_fs_read_file(dfd, "a.txt", O_NOFOLLOW, 6, &buf, &len,
                                      err, sizeof err),
                     0);
    free(buf);
    assert_int_equal(
        azo_fs_read_file(dfd, "a.txt", 0, 5, &buf, &len, err, sizeof err),
        -EFBIG);
    assert_null(buf);
    assert_non_null(strstr(err, "6 bytes"));
    assert_true(azo_test_one_line(err));
    // Not regular: a directory, a FIFO (never blocks); missing; a link.
    assert_int_equal(
        azo_fs_read_file(dfd, ".", 0, 100, &buf, &len, err, sizeof err),
        -EINVAL);
    assert_string_equal(err, "not a regular file");
    assert_int_equal(mkfifoat(dfd, "fifo", 0600), 0);
    assert_int_equal(
        azo_fs_read_file(dfd, "fifo", 0, 100, &buf, &len, err, sizeof err),
        -EINVAL);
    assert_int_equal(
        azo_fs_read_file(dfd, "none", 0, 100, &buf, &len, err, sizeof err),
        -ENOENT);
    assert_true(azo_test_one_line(err));
    assert_int_equal(symlinkat("a.txt", dfd, "link"), 0);
    assert_int_equal(azo_fs_read_file(dfd, "link", O_NOFOLLOW, 100, &buf, &len,
                                      err, sizeof err),
                     -ELOOP);
    assert_int_equal(
        azo_fs_read_file(dfd, "link", 0, 100, &buf, &len, err, sizeof err), 0);
    free(buf);
    close(dfd);
    azo_test_rm_rf(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fs_read_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
