// azo_exec — programs run from a zloop (see azo_exec.h). The loop's thread
// only.
//
// Every event comes through a zloop poller: the two pipes, the pidfd and,
// for the timeout, a timerfd. Not a zloop timer: czmq 4.2 still runs a
// timer cancelled earlier in the same timer pass, or before the loop's
// first pass, with the arg it was given, so azo_exec_cancel from another
// timer could not free at once. A poller that is ended is never called
// again: zloop_poller_end marks the poll set for a rebuild, and zloop skips
// its poller pass when a timer or ticket handler left that mark, and leaves
// the pass after any reader or poller handler that did. So an exec is freed
// as soon as it is done: after fn returns, or in azo_exec_cancel. A poller
// is ended before its fd is closed: zloop_poller_end matches fd numbers,
// and a closed number may be someone else's a moment later.
//
// The child is collected only through its own pidfd (waitid P_PIDFD):
// other code in the process spawns children too, and no SIGCHLD handler is
// installed. Its process group is killed while the child is still
// unreaped (a zombie at worst), so that the group id cannot have been
// recycled.
#define _GNU_SOURCE // pipe2, posix_spawn_file_actions_addclosefrom_np
#include "azo_exec.h"

#include "azo_err.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define S_SCRATCH        16384         // one read(2)
#define S_READ_BUDGET    (256 * 1024)  // pipe bytes read per wakeup
#define S_DRAIN_MAX      (1024 * 1024) // pipe bytes read after the end
#define S_FIRST_CAP      1024          // first output buffer
#define S_KILL_GRACE_MS  5000          // SIGKILLed at timeout, still there
#define S_CANCEL_WAIT_MS 100           // cancel waits this for the corpse

typedef enum {
    S_RUNNING, // pipes, pidfd and timer watched
    S_KILLED,  // timed out: group killed, the child not yet collected
    S_CALLING, // fn runs
    S_REAPING, // fn ran or was cancelled: only the pidfd is left to watch
} s_state_t;

typedef struct {
    int fd;         // read end, owned; -1 once finished
    char *buf;      // owned, NUL-terminated; NULL while empty
    size_t len;     //
    size_t cap;     // allocated, minus the NUL
    size_t max;     // kept at most
    bool truncated; // bytes beyond max were dropped
} s_stream_t;

struct azo_exec {
    zloop_t *loop;       // borrowed
    azo_exec_fn *fn;     // borrowed
    void *arg;           // borrowed, the caller's
    pid_t pid;           // our child, and its process group id
    bool reaped;         // true once pid is collected (or never started)
    int pidfd;           // owned, -1 when none
    int tfd;             // owned timerfd, -1 when no timeout
    s_stream_t out, err; // stdout, stderr
    int64_t started;     // zclock_mono() at start
    s_state_t state;     //
    bool timed_out;      //
};

// Stops watching *fd and closes it, in that order (see the file comment).
static void
s_unwatch(azo_exec_t *self, int *fd)
{
    if (*fd < 0)
        return;
    zmq_pollitem_t item = {.fd = *fd, .events = ZMQ_POLLIN};
    zloop_poller_end(self->loop, &item);
    close(*fd);
    *fd = -1;
}

static void
s_free(azo_exec_t *self)
{
    s_unwatch(self, &self->out.fd);
    s_unwatch(self, &self->err.fd);
    s_unwatch(self, &self->tfd);
    s_unwatch(self, &self->pidfd);
    free(self->out.buf);
    free(self->err.buf);
    free(self);
}

// fn has run or never will, but the child is still to be collected: only
// its pidfd stays watched, and its handler frees the exec.
static void
s_leave_to_reap(azo_exec_t *self)
{
    self->state = S_REAPING;
    free(self->out.buf);
    free(self->err.buf);
    self->out.buf = self->err.buf = NULL;
}

// Keeps what fits under s->max and counts the rest as dropped.
static void
s_keep(s_stream_t *s, const char *data, size_t n)
{
    size_t take = n < s->max - s->len ? n : s->max - s->len;
    if (take < n)
        s->truncated = true;
    if (take == 0)
        return;
    if (s->len + take > s->cap) {
        size_t cap = s->cap ? s->cap : S_FIRST_CAP;
        while (cap < s->len + take)
            cap = cap > s->max / 2 ? s->max : cap * 2;
        char *buf = realloc(s->buf, cap + 1);
        if (!buf) {
            s->truncated = true; // out of memory: keep what we have
            return;
        }
        s->buf = buf;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, take);
    s->len += take;
    s->buf[s->len] = 0;
}

// Reads what the pipe holds, up to budget bytes. Returns true when the pipe
// is finished (end of file, or an error), false when it would block or the
// budget is spent.
static bool
s_read(s_stream_t *s, size_t budget)
{
    char scratch[S_SCRATCH];
    while (budget > 0) {
        ssize_t n = read(s->fd, scratch, sizeof scratch);
        if (n > 0) {
            s_keep(s, scratch, (size_t)n);
            budget -= (size_t)n < budget ? (size_t)n : budget;
        } else if (n == 0)
            return true;
        else if (errno != EINTR)
            return errno != EAGAIN;
    }
    return false;
}

// The child is not collected yet, so neither its pid nor its group id can
// have been recycled. The second kill reaches a child that left its group.
static void
s_kill(azo_exec_t *self)
{
    if (self->reaped)
        return;
    (void)kill(-self->pid, SIGKILL); // ESRCH: nobody left in the group
    (void)kill(self->pid, SIGKILL);
}

// Asks whether the child has ended, collecting it unless flags hold
// WNOWAIT. Returns 1 with *si filled in, 0 while it runs, -1 when its
// status is lost (someone else waited for it).
static int
s_wait(azo_exec_t *self, siginfo_t *si, int flags)
{
    memset(si, 0, sizeof *si);
    int rc;
    do
        rc = waitid(P_PIDFD, (id_t)self->pidfd, si, WEXITED | WNOHANG | flags);
    while (rc < 0 && errno == EINTR);
    if (rc == 0 && si->si_pid == 0)
        return 0;
    if (!(flags & WNOWAIT) || rc < 0)
        self->reaped = true;
    return rc < 0 ? -1 : 1;
}

// The end: reads what the program left in the pipes, closes everything but
// an uncollected child's pidfd, calls fn, and frees the exec unless the
// child is still to be collected. si is NULL when the status is unknown.
static void
s_finish(azo_exec_t *self, const siginfo_t *si)
{
    // Whatever it wrote before it ended is in the pipes now; a background
    // child may hold them open still, so read without waiting for EOF.
    s_stream_t *streams[] = {&self->out, &self->err};
    for (size_t i = 0; i < 2; i++) {
        if (streams[i]->fd >= 0)
            (void)s_read(streams[i], S_DRAIN_MAX); // finished or not: done
        s_unwatch(self, &streams[i]->fd);
    }
    s_unwatch(self, &self->tfd);

    azo_exec_result_t res = {
        .exit_status = -1,
        .timed_out = self->timed_out,
        .out = self->out.buf ? self->out.buf : "",
        .out_len = self->out.len,
        .out_truncated = self->out.truncated,
        .err = self->err.buf ? self->err.buf : "",
        .err_len = self->err.len,
        .err_truncated = self->err.truncated,
        .elapsed_ms = zclock_mono() - self->started,
    };
    if (si && si->si_code == CLD_EXITED)
        res.exit_status = si->si_status;
    else if (si)
        res.term_signal = si->si_status; // CLD_KILLED, CLD_DUMPED
    self->state = S_CALLING;
    self->fn(self->arg, &res);

    if (self->reaped)
        s_free(self);
    else
        s_leave_to_reap(self); // stuck after SIGKILL
}

static int
s_on_pipe(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    azo_exec_t *self = arg;
    s_stream_t *s = item->fd == self->out.fd ? &self->out : &self->err;
    assert(s->fd == item->fd); // ended pollers are never called
    if (s_read(s, S_READ_BUDGET))
        s_unwatch(self, &s->fd); // EOF: the pidfd says when it has ended
    return 0;
}

static int
s_on_pidfd(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    (void)item;
    azo_exec_t *self = arg;
    siginfo_t si;
    int rc = s_wait(self, &si, WNOWAIT);
    if (rc == 0)
        return 0; // not ended after all
    if (rc > 0) {
        // Its background children must not outlive it (nor hold the pipes
        // open): kill the group while the child is a zombie, then collect.
        if (self->state != S_REAPING)
            s_kill(self);
        rc = s_wait(self, &si, 0);
    }
    if (self->state == S_REAPING)
        s_free(self);
    else
        s_finish(self, rc > 0 ? &si : NULL);
    return 0;
}

// Arms the timerfd ms (> 0) from now.
static int
s_arm(int fd, int64_t ms)
{
    struct itimerspec its = {
        .it_value = {.tv_sec = (time_t)(ms / 1000),
                     .tv_nsec = (long)(ms % 1000) * 1000000}};
    return timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
}

static int
s_on_timer(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    (void)item;
    azo_exec_t *self = arg;
    uint64_t expired;
    if (read(self->tfd, &expired, sizeof expired) != (ssize_t)sizeof expired)
        return 0; // not expired after all
    if (self->state == S_RUNNING) {
        self->timed_out = true;
        self->state = S_KILLED;
        s_kill(self);
        // SIGKILL ends a process within microseconds unless it is stuck in
        // the kernel; if it is, report without a status after a grace.
        if (s_arm(self->tfd, S_KILL_GRACE_MS) < 0)
            s_unwatch(self, &self->tfd); // then wait for the pidfd alone
    } else if (self->state == S_KILLED)
        s_finish(self, NULL);
    return 0;
}

static int
s_watch(azo_exec_t *self, int fd, zloop_fn *handler)
{
    if (fd < 0)
        return 0;
    zmq_pollitem_t item = {.fd = fd, .events = ZMQ_POLLIN};
    if (zloop_poller(self->loop, &item, handler, self) < 0)
        return -ENOMEM;
    // zloop drops a poller after two errors in a row (POLLHUP counts): ours
    // end themselves at EOF, and must not vanish before.
    zloop_poller_set_tolerant(self->loop, &item);
    return 0;
}

// A pipe whose read end (ours) is non-blocking and whose write end (the
// program's) is not: its writes must wait while the pipe is full.
static int
s_pipe(int *rd, int *wr)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    *rd = fds[0];
    *wr = fds[1];
    return fcntl(*rd, F_SETFL, O_NONBLOCK) < 0 ? -errno : 0;
}

static int
s_spawn(azo_exec_t *self, char *const argv[], int wout, int werr)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc != 0)
        return -rc;
    rc = posix_spawnattr_init(&attr);
    if (rc != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -rc;
    }
    // Nothing inherited but the three standard fds (other threads' fds are
    // not all close-on-exec), its own process group so that one kill
    // reaches what it starts, and no signal blocked or ignored whatever
    // this thread has.
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    short flags =
        POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
                                               0)) == 0 &&
        (rc = posix_spawn_file_actions_adddup2(&fa, wout, 1)) == 0 &&
        (rc = posix_spawn_file_actions_adddup2(&fa, werr, 2)) == 0 &&
        (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) == 0 &&
        (rc = posix_spawnattr_setflags(&attr, flags)) == 0 &&
        (rc = posix_spawnattr_setpgroup(&attr, 0)) == 0 &&
        (rc = posix_spawnattr_setsigmask(&attr, &none)) == 0 &&
        (rc = posix_spawnattr_setsigdefault(&attr, &all)) == 0)
        // Failures to exec come back here (glibc), not as exit 127.
        rc = posix_spawnp(&self->pid, argv[0], &fa, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    if (rc == 0)
        self->reaped = false;
    return -rc;
}

int
azo_exec_start(zloop_t *loop, char *const argv[], int64_t timeout_ms,
               size_t max_out, azo_exec_fn *fn, void *arg, azo_exec_t **handle)
{
    assert(loop && argv && argv[0] && fn);
    if (handle)
        *handle = NULL;
    azo_exec_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    self->loop = loop;
    self->fn = fn;
    self->arg = arg;
    self->reaped = true; // nothing to collect yet
    self->pidfd = self->tfd = self->out.fd = self->err.fd = -1;
    self->out.max = self->err.max =
        max_out < SIZE_MAX / 2 ? max_out : SIZE_MAX / 2;
    self->started = zclock_mono();

    int wout = -1, werr = -1;
    int rc = s_pipe(&self->out.fd, &wout);
    if (rc == 0)
        rc = s_pipe(&self->err.fd, &werr);
    if (rc == 0 && timeout_ms > 0) {
        self->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        rc = self->tfd < 0 ? -errno : s_arm(self->tfd, timeout_ms);
    }
    if (rc == 0)
        rc = s_spawn(self, argv, wout, werr);
    if (wout >= 0)
        close(wout);
    if (werr >= 0)
        close(werr);
    if (rc == 0) {
        self->pidfd = (int)syscall(SYS_pidfd_open, self->pid, 0);
        rc = self->pidfd < 0 ? -errno : 0;
    }
    // The pidfd last: when it ends the exec, the pipes' pollers have had
    // their turn in that pass.
    if (rc == 0)
        rc = s_watch(self, self->out.fd, s_on_pipe);
    if (rc == 0)
        rc = s_watch(self, self->err.fd, s_on_pipe);
    if (rc == 0)
        rc = s_watch(self, self->tfd, s_on_timer);
    if (rc == 0)
        rc = s_watch(self, self->pidfd, s_on_pidfd);
    if (rc < 0) {
        if (!self->reaped) {
            // Cannot watch it: do not leave it running. Just killed, so
            // this wait is short.
            s_kill(self);
            while (waitpid(self->pid, NULL, 0) < 0 && errno == EINTR)
                ;
            self->reaped = true;
        }
        s_free(self);
        return rc;
    }
    self->state = S_RUNNING;
    if (handle)
        *handle = self;
    return 0;
}

pid_t
azo_exec_pid(const azo_exec_t *self)
{
    assert(self);
    return self->pid;
}

void
azo_exec_cancel(azo_exec_t **handle)
{
    if (!handle || !*handle)
        return;
    azo_exec_t *self = *handle;
    *handle = NULL;
    if (self->state == S_CALLING)
        return; // from its own fn: freed when fn returns
    assert(self->state == S_RUNNING || self->state == S_KILLED);
    s_kill(self);
    s_unwatch(self, &self->out.fd);
    s_unwatch(self, &self->err.fd);
    s_unwatch(self, &self->tfd);

    // Wait for the corpse (normally well under a millisecond): a loop that
    // stops after this would never collect it. Bounded, for a process stuck
    // in the kernel, which the pidfd handler collects later.
    int64_t until = zclock_mono() + S_CANCEL_WAIT_MS;
    struct pollfd pfd = {.fd = self->pidfd, .events = POLLIN};
    int n;
    do {
        int64_t left = until - zclock_mono();
        n = poll(&pfd, 1, left > 0 ? (int)left : 0);
    } while (n < 0 && errno == EINTR);
    siginfo_t si;
    if (s_wait(self, &si, 0) != 0)
        s_free(self);
    else
        s_leave_to_reap(self);
}

// --- command lines -----------------------------------------------------------

#define S_ARGV_MAX 256 // words of a command line

void
azo_exec_argv_free(char ***argv_p)
{
    char **argv = *argv_p;
    if (!argv)
        return;
    for (char **a = argv; *a; a++)
        free(*a);
    free(argv);
    *argv_p = NULL;
}

// Appends a copy of word[0..n) to argv (room for S_ARGV_MAX + 1).
static int
s_push(char **argv, size_t *argc, const char *word, size_t n)
{
    if (*argc == S_ARGV_MAX)
        return AZO_EBADREQ;
    char *w = strndup(word, n);
    if (!w)
        return -ENOMEM;
    argv[(*argc)++] = w;
    return 0;
}

int
azo_exec_argv(const char *text, char ***argv_p, char *err, size_t errlen)
{
    *argv_p = NULL;
    if (err && errlen)
        err[0] = 0; // a JSON element's own reason is told apart below
    char **argv = calloc(S_ARGV_MAX + 1, sizeof *argv);
    if (!argv)
        return -ENOMEM;
    size_t argc = 0;
    int rc = 0;
    const char *p = text + strspn(text, " \t");
    if (*p == '[') {
        json_error_t jerr;
        json_t *arr = json_loads(p, JSON_REJECT_DUPLICATES, &jerr);
        if (!arr || !json_is_array(arr)) {
            json_decref(arr);
            azo_exec_argv_free(&argv);
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "a JSON array of strings: %s",
                               arr ? "not an array" : jerr.text);
        }
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v)
        {
            if (!json_is_string(v) ||
                strlen(json_string_value(v)) != json_string_length(v)) {
                rc = azo_err_set(err, errlen, AZO_EBADREQ,
                                 "element %zu: expected a string without "
                                 "NUL",
                                 i);
                break;
            }
            rc = s_push(argv, &argc, json_string_value(v),
                        json_string_length(v));
            if (rc < 0)
                break;
        }
        json_decref(arr);
    } else {
        while (*p && rc == 0) {
            size_t n = strcspn(p, " \t");
            rc = s_push(argv, &argc, p, n);
            p += n;
            p += strspn(p, " \t");
        }
    }
    if (rc == AZO_EBADREQ && !(err && *err))
        azo_err_set(err, errlen, rc, "more than %d words", S_ARGV_MAX);
    else if (rc == 0 && argc == 0)
        rc = azo_err_set(err, errlen, AZO_EBADREQ, "an empty command");
    else if (rc == 0 && !strchr(argv[0], '/'))
        rc = azo_err_set(err, errlen, AZO_EBADREQ,
                         "'%s': the program must be a path (/usr/bin/%s), "
                         "there is no search of PATH",
                         argv[0], argv[0]);
    if (rc < 0) {
        azo_exec_argv_free(&argv);
        return rc;
    }
    *argv_p = argv;
    return 0;
}
