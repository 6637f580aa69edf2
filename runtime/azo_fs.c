// azo_fs — file-system helpers. Stateless; any thread.
#include "azo_fs.h"
#include "azo_err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// Creates path unless it is already a directory. Returns 0 or -errno.
static int
s_mkdir_one(const char *path, mode_t mode)
{
    if (mkdir(path, mode) == 0)
        return 0;
    int e = errno;
    // An existing directory is fine even when mkdir reports EACCES or EROFS
    // for it; an existing non-directory is not.
    struct stat st;
    if (stat(path, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
    return -e;
}

int
azo_fs_mkdirs(const char *dir, mode_t mode, char *err, size_t errlen)
{
    char *buf = strdup(dir);
    if (!buf)
        return -ENOMEM;
    size_t len = strlen(buf);
    while (len > 1 && buf[len - 1] == '/')
        buf[--len] = '\0';
    int rc = 0;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = '\0';
        rc = s_mkdir_one(buf, mode);
        if (rc < 0) {
            (void)azo_err_set(err, errlen, 0,
                              "%s: cannot create directory %s: %s", dir, buf,
                              strerror(-rc));
            free(buf);
            return rc;
        }
        *p = '/';
    }
    rc = s_mkdir_one(buf, mode);
    if (rc < 0)
        (void)azo_err_set(err, errlen, 0, "%s: cannot create directory: %s",
                          dir, strerror(-rc));
    free(buf);
    return rc;
}

int
azo_fs_read_file(int dirfd, const char *path, int flags, size_t max, char **buf,
                 size_t *len, char *err, size_t errlen)
{
    *buf = NULL;
    *len = 0;
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | flags);
    if (fd < 0) {
        int rc = -errno;
        return azo_err_set(err, errlen, rc, "%s", strerror(-rc));
    }
    struct stat st;
    int rc = 0;
    char *b = NULL;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        (void)azo_err_set(err, errlen, rc, "%s", strerror(-rc));
    } else if (!S_ISREG(st.st_mode))
        rc = azo_err_set(err, errlen, -EINVAL, "not a regular file");
    else if ((uint64_t)st.st_size > max)
        rc = azo_err_set(err, errlen, -EFBIG,
                         "%lld bytes, more than the %zu MiB allowed",
                         (long long)st.st_size, max >> 20);
    else if (!(b = malloc((size_t)st.st_size + 1)))
        rc = azo_err_set(err, errlen, -ENOMEM, "out of memory");
    size_t got = 0;
    while (!rc && got < (size_t)st.st_size) {
        ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            (void)azo_err_set(err, errlen, rc, "%s", strerror(-rc));
        } else if (n == 0)
            break; // shrunk meanwhile: what is there
        else
            got += (size_t)n;
    }
    (void)close(fd); // read only
    if (rc) {
        free(b);
        return rc;
    }
    b[got] = 0;
    *buf = b;
    *len = got;
    return 0;
}
