// azo_testutil — helpers shared by the tests (see the header).
#define _XOPEN_SOURCE 700 // nftw
#include "azo_testutil.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
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

int
azo_test_listen(int backlog, uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(fd, backlog) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

uint16_t
azo_test_closed_port(void)
{
    uint16_t port = 0;
    int fd = azo_test_listen(1, &port);
    if (fd < 0)
        return 0;
    close(fd);
    return port;
}
