// azo_fs — file-system helpers. Stateless; any thread.
#include "azo_fs.h"
#include "azo_err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
