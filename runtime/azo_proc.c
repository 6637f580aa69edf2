// azo_proc — process actors' processes: fork+exec, pidfd, reaping. The
// supervisor's thread only: fork in a threaded program is safe because the
// child calls only async-signal-safe functions before exec.
#include "azo_proc.h"
#include "azo_err.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

void
azo_proc_init(azo_proc_t *p)
{
    memset(p, 0, sizeof *p);
    p->pidfd = -1;
}

int
azo_proc_start_time(pid_t pid, uint64_t *out)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int e = errno;
    close(fd);
    if (n <= 0)
        return n < 0 ? -e : -EIO;
    buf[n] = 0;
    // The command name (field 2) may hold spaces and parentheses: count
    // fields from the last ')'.
    char *p = strrchr(buf, ')');
    if (!p)
        return -EIO;
    p++; // the space before field 3; step to the one before field 22
    for (int field = 3; field < 22; field++) {
        p = strchr(p + 1, ' ');
        if (!p)
            return -EIO;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p + 1, &end, 10);
    if (errno || end == p + 1)
        return -EIO;
    *out = v;
    return 0;
}

static int
s_pidfd_open(pid_t pid)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : fd;
}

int
azo_proc_spawn(azo_proc_t *p, const char *exe, char *const argv[])
{
    azo_proc_init(p);
    // posix_spawn (vfork underneath) rather than fork: no copy of our page
    // tables, and no copy-on-write faults afterwards slowing the parent.
    // Its own process group: a Ctrl-C at azod's terminal is azod's to
    // handle, not the actors'. No signal blocked, SIGPIPE as default.
    posix_spawnattr_t attr;
    sigset_t none, pipe;
    sigemptyset(&none);
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    int rc = posix_spawnattr_init(&attr);
    if (rc != 0)
        return -rc;
    (void)posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
                                              POSIX_SPAWN_SETSIGMASK |
                                              POSIX_SPAWN_SETSIGDEF);
    (void)posix_spawnattr_setpgroup(&attr, 0);
    (void)posix_spawnattr_setsigmask(&attr, &none);
    (void)posix_spawnattr_setsigdefault(&attr, &pipe);
    pid_t pid;
    extern char **environ;
    rc = posix_spawn(&pid, exe, NULL, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        return -rc; // exec failures are reported here, not as exit 127
    int fd = s_pidfd_open(pid);
    if (fd < 0) {
        // Without a pidfd we cannot watch it: do not leave it running.
        kill(pid, SIGKILL);
        (void)waitpid(pid, NULL, 0);
        return fd;
    }
    p->pid = pid;
    p->pidfd = fd;
    p->child = true;
    if (azo_proc_start_time(pid, &p->start_time) < 0)
        p->start_time = 0; // ended already; the pidfd will say so
    return 0;
}

// True when /proc/PID/cmdline holds arg1 immediately followed by arg2.
static bool
s_cmdline_has(pid_t pid, const char *arg1, const char *arg2)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = 0;
    for (char *a = buf; a < buf + n; a += strlen(a) + 1) {
        char *b = a + strlen(a) + 1;
        if (b < buf + n && strcmp(a, arg1) == 0 && strcmp(b, arg2) == 0)
            return true;
    }
    return false;
}

int
azo_proc_adopt(azo_proc_t *p, pid_t pid, uint64_t start_time, const char *arg1,
               const char *arg2)
{
    azo_proc_init(p);
    if (pid <= 0)
        return AZO_ENOTFOUND;
    // Open the pidfd first, then check: from here on the pid cannot be
    // recycled under us.
    int fd = s_pidfd_open(pid);
    if (fd < 0)
        return fd == -ESRCH ? AZO_ENOTFOUND : fd;
    uint64_t st = 0;
    if (azo_proc_start_time(pid, &st) < 0 || st != start_time ||
        !s_cmdline_has(pid, arg1, arg2)) {
        close(fd);
        return AZO_ENOTFOUND;
    }
    p->pid = pid;
    p->pidfd = fd;
    p->start_time = st;
    p->child = false;
    return 0;
}

int
azo_proc_reap(azo_proc_t *p, char *how, size_t len, bool *failed)
{
    *failed = true;
    if (p->child) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (waitid(P_PIDFD, (id_t)p->pidfd, &si, WEXITED | WNOHANG) < 0)
            return -errno;
        if (si.si_pid == 0)
            return -EAGAIN; // not ended after all
        if (si.si_code == CLD_EXITED) {
            snprintf(how, len, "exit %d", si.si_status);
            *failed = si.si_status != 0;
        } else
            snprintf(how, len, "signal %d", si.si_status);
    } else
        snprintf(how, len, "ended"); // not ours: the status went elsewhere
    azo_proc_close(p);
    return 0;
}

int
azo_proc_signal(azo_proc_t *p, int sig)
{
    if (p->pidfd < 0)
        return -ESRCH;
    if (syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) < 0)
        return -errno;
    return 0;
}

void
azo_proc_close(azo_proc_t *p)
{
    if (p->pidfd >= 0)
        close(p->pidfd);
    azo_proc_init(p);
}
