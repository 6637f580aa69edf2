// azo_exec — runs a program (argv, no shell) from a zloop without blocking
// it: output captured up to a cap, a timeout that kills the program's whole
// process group, and one callback with how it ended. Owns the child, its
// pipes, pidfd and timerfd until the callback has returned. The loop's
// thread only. Does not: use a shell, feed stdin (it is /dev/null), install
// signal handlers or wait for any pid but its own. Linux (pidfd, 5.4+).
#ifndef AZO_EXEC_H
#define AZO_EXEC_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct azo_exec azo_exec_t;

// How a program ended. A view: every pointer is valid during the callback
// only.
typedef struct {
    int exit_status;    // 0..255 when it exited, else -1
    int term_signal;    // the signal that ended it, else 0
    bool timed_out;     // killed (SIGKILL to its process group) at timeout
    const char *out;    // stdout, NUL-terminated, at most max_out bytes
    size_t out_len;     //
    bool out_truncated; // it wrote more (read and dropped)
    const char *err;    // stderr likewise, same cap
    size_t err_len;     //
    bool err_truncated; //
    int64_t elapsed_ms; // zclock_mono() from start to end
} azo_exec_result_t;

// Called once, from the loop's thread. res is borrowed for the call.
typedef void(azo_exec_fn)(void *arg, const azo_exec_result_t *res);

// Starts argv[0] (searched in PATH when it has no '/') with argv
// (NULL-terminated): stdin /dev/null, stdout and stderr into pipes, a new
// process group, no signal blocked or ignored, no other fd inherited.
// Kills the group at timeout_ms (<= 0: never). fn runs once, from the loop,
// when the program has ended: its group is killed then (background
// children must not hold the loop; what they had not written is lost),
// what the pipes still hold is read, and fn gets the result. The exec is
// freed when fn returns: forget *handle then. A program that SIGKILL does
// not end (stuck in the kernel) is reported 5 s after the timeout without
// a status (exit_status -1, term_signal 0) and reaped when it goes.
// Returns 0 with *handle set (handle may be NULL). Otherwise fn is never
// called and the code is -errno: -ENOENT or -EACCES (no such program, or
// not executable), others from posix_spawn, -EMFILE (pipes, pidfd,
// timerfd), -ENOMEM.
int azo_exec_start(zloop_t *loop, char *const argv[], int64_t timeout_ms,
                   size_t max_out, azo_exec_fn *fn, void *arg,
                   azo_exec_t **handle);

// The child's pid (its process group id too).
pid_t azo_exec_pid(const azo_exec_t *self);

// Stops a running exec: SIGKILL to its process group, reaped, fds and
// zloop pollers closed, memory freed; fn is never called. Waits up to
// 100 ms for the killed child; one still there then is reaped from the
// loop later. Anywhere in the loop's thread: in any zloop handler (fn of
// this exec or another one included), or outside zloop_start. *handle
// becomes NULL; NULL and *handle NULL do nothing.
void azo_exec_cancel(azo_exec_t **handle);

// Splits a configured command line: a JSON array of strings, or blank-
// separated words (no quoting); argv[0] must be a path (hold a '/'): there
// is no search of PATH for configured commands. On success *argv_p owns a
// NULL-terminated array (free with azo_exec_argv_free) and 0 is returned;
// else AZO_EBADREQ with the reason in err, or -ENOMEM.
int azo_exec_argv(const char *text, char ***argv_p, char *err, size_t errlen);

// Frees *argv_p (NULL-safe) and sets it to NULL.
void azo_exec_argv_free(char ***argv_p);

#endif
