// azo_testutil — helpers shared by the tests (see the header).
#define _XOPEN_SOURCE 700 // nftw
#include "azo_testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int
azo_test_tmpdir(char *buf, size_t len, const char *name)
{
    const char *parent = getenv("AZO_TEST_TMP");
    struct stat st;
    if (!parent || stat(parent, &st) != 0 || !S_ISDIR(st.st_mode))
        parent = "/tmp";
    int n = snprintf(buf, len, "%s/%s.XXXXXX", parent, name);
    if (n < 0 || (size_t)n >= len || !mkdtemp(buf))
        return -1;
    return 0;
}

static int
s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DNR || flag == FTW_D || flag == FTW_DP)
        (void)chmod(path, 0700); // a test may have made it unreadable
    (void)remove(path);          // best effort
    return 0;
}

void
azo_test_rm_rf(const char *path)
{
    // Directories unreadable to us are made readable first, so that the
    // depth-first walk can enter them.
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
        (void)chmod(path, 0700);
    (void)nftw(path, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

bool
azo_test_one_line(const char *s)
{
    if (!s[0])
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}
