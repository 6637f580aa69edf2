// test_exec — azo_exec with real programs on a real zloop: output and exit
// status, the output cap, the timeout and its group kill, background
// children that keep the pipes open, spawn failures, cancels from a timer,
// from a callback and outside the loop, and several programs at once. A
// safety timer fails a test instead of letting it hang; every test ends
// with no child of ours left to collect.
#include "azo_exec.h"

#include <czmq.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define S_SAFETY_MS 10000 // a run that takes longer is a failure
#define S_RUNS      8     // execs per test
#define S_CAP       65536 // max_out unless a test says otherwise

typedef struct s_fix s_fix_t;
typedef struct s_run s_run_t;

struct s_run {
    s_fix_t *f;
    azo_exec_t *handle;
    int calls;
    azo_exec_result_t res;    // out and err point to the copies below
    char *out, *err;          // owned copies
    void (*hook)(s_run_t *r); // runs inside the callback
};

struct s_fix {
    zloop_t *loop;
    s_run_t runs[S_RUNS];
    int pending; // callbacks still awaited
    bool safety_fired;
    azo_exec_t *victim; // what a hook or timer cancels
    pid_t victim_pid;
};

// Ends the loop. The safety timer passes a flag to raise first.
static int
s_stop(zloop_t *loop, int id, void *flag)
{
    (void)loop;
    (void)id;
    if (flag)
        *(bool *)flag = true;
    return -1;
}

static char *
s_copy(const char *s, size_t len)
{
    assert_non_null(s);
    assert_int_equal(s[len], 0);
    char *c = malloc(len + 1);
    assert_non_null(c);
    memcpy(c, s, len + 1);
    return c;
}

static void
s_done(void *arg, const azo_exec_result_t *res)
{
    s_run_t *r = arg;
    r->calls++;
    r->res = *res;
    r->res.out = r->out = s_copy(res->out, res->out_len);
    r->res.err = r->err = s_copy(res->err, res->err_len);
    if (r->hook)
        r->hook(r);
    r->handle = NULL; // freed when we return
    if (--r->f->pending == 0)
        assert_true(zloop_timer(r->f->loop, 0, 1, s_stop, NULL) >= 0);
}

static int
s_start(s_fix_t *f, int i, char *const argv[], int64_t timeout_ms,
        size_t max_out)
{
    f->runs[i].f = f;
    return azo_exec_start(f->loop, argv, timeout_ms, max_out, s_done,
                          &f->runs[i], &f->runs[i].handle);
}

// Runs the loop until `expected` callbacks have come.
static void
s_run(s_fix_t *f, int expected)
{
    f->pending = expected;
    int safety = zloop_timer(f->loop, S_SAFETY_MS, 1, s_stop, &f->safety_fired);
    assert_true(safety >= 0);
    (void)zloop_start(f->loop); // ends by s_done's s_stop or the safety
    (void)zloop_timer_end(f->loop, safety);
    assert_false(f->safety_fired);
    assert_int_equal(f->pending, 0);
}

// Runs the loop for ms, expecting no callback.
static void
s_run_for(s_fix_t *f, int ms)
{
    assert_true(zloop_timer(f->loop, (size_t)ms, 1, s_stop, NULL) >= 0);
    (void)zloop_start(f->loop);
}

// Waits up to 5 s for a process that is not our child to end.
static void
s_wait_gone(pid_t pid)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) {
        assert_int_equal(errno, ESRCH); // gone already
        return;
    }
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 5000), 1);
    close(fd);
}

// The child is collected, and its process group empty.
static void
s_assert_collected(pid_t pid)
{
    assert_true(pid > 0);
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    assert_int_equal(kill(-pid, 0), -1);
    assert_int_equal(errno, ESRCH);
}

static int
setup(void **state)
{
    s_fix_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->loop = zloop_new();
    assert_non_null(f->loop);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    s_fix_t *f = *state;
    // No child of ours left: every exec was collected.
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    zloop_destroy(&f->loop);
    for (int i = 0; i < S_RUNS; i++) {
        free(f->runs[i].out);
        free(f->runs[i].err);
    }
    free(f);
    return 0;
}

static void
test_exec_captures_stdout(void **state)
{
    s_fix_t *f = *state;
    char *argv[] = {"/bin/echo", "hello", NULL};
    assert_int_equal(s_start(f, 0, argv, 5000, S_CAP), 0);
    assert_non_null(f->runs[0].handle);
    s_run(f, 1);
    const azo_exec_result_t *r = &f->runs[0].res;
    assert_int_equal(f->runs[0].calls, 1);
    assert_int_equal(r->exit_status, 0);
    assert_int_equal(r->term_signal, 0);
    assert_false(r->timed_out);
    assert_string_equal(r->out, "hello\n");
    assert_int_equal(r->out_len, 6);
    assert_false(r->out_truncated);
    assert_string_equal(r->err, "");
    assert_int_equal(r->err_len, 0);
    assert_true(r->elapsed_ms >= 0);
}

static void
test_exec_reports_status_and_stderr(void **state)
{
    s_fix_t *f = *state;
    char *argv[] = {"sh", "-c", "echo err >&2; exit 3", NULL}; // PATH
    assert_int_equal(s_start(f, 0, argv, 5000, S_CAP), 0);
    s_run(f, 1);
    const azo_exec_result_t *r = &f->runs[0].res;
    assert_int_equal(r->exit_status, 3);
    assert_int_equal(r->term_signal, 0);
    assert_string_equal(r->err, "err\n");
    assert_string_equal(r->out, "");
}

static void
test_exec_reports_signal(void **state)
{
    s_fix_t *f = *state;
    char *argv[] = {"sh", "-c", "kill -TERM $$", NULL};
    assert_int_equal(s_start(f, 0, argv, 5000, S_CAP), 0);
    s_run(f, 1);
    const azo_exec_result_t *r = &f->runs[0].res;
    assert_int_equal(r->exit_status, -1);
    assert_int_equal(r->term_signal, SIGTERM);
    assert_false(r->timed_out);
}

static void
test_exec_caps_output(void **state)
{
    s_fix_t *f = *state;
    char *argv[] = {"head", "-c", "1048576", "/dev/zero", NULL};
    assert_int_equal(s_start(f, 0, argv, 5000, 1000), 0);
    s_run(f, 1);
    const azo_exec_result_t *r = &f->runs[0].res;
    assert_int_equal(r->exit_status, 0); // all of it was read
    assert_int_equal(r->out_len, 1000);
    assert_true(r->out_truncated);
    static const char zeros[1000];
    assert_memory_equal(r->out, zeros, sizeof zeros);
    assert_int_equal(r->err_len, 0);
    assert_false(r->err_truncated);
}

static void
test_exec_caps_both_streams(void **state)
{
    s_fix_t *f = *state;
    // stderr fills its pipe first: stdout's reader must not wait for it.
    char *argv[] = {"sh", "-c",
                    "head -c 300000 /dev/zero >&2; head -c 300000 /dev/zero",
                    NULL};
    assert_int_equal(s_start(f, 0, argv, 5000, S_CAP), 0);
    s_run(f, 1);
    const azo_exec_result_t *r = &f->runs[0].res;
    assert_int_equal(r->exit_status, 0);
    assert_int_equal(r->out_len, S_CAP);
    assert_true(r->out_truncated);
    assert_int_equal(r->err_len, S_CAP);
    assert_true(r->err_truncated);
}

static void
test_exec_timeout_kills(void **state)
{
    s_fix_t *f = *state;
    char *argv[] = {"sleep", "30", NULL};
    assert_int_equal(s_start(f, 0, argv, 200, S_CAP), 0);
    pid_t pid = azo_exec_pid(f->runs[0].handle);
    s_run(f, 1);
    const azo_exec_result_t *r = &f->runs[0].res;
    assert_int_equal(f->runs[0].calls, 1);
    assert_true(r->timed_out);
    assert_int_equal(r->term_signal, SIGKILL);
    assert_int_equal(r->exit_status, -1);
    s_assert_collected(pid); // before the callback
    s_run_for(f, 50);
    assert_int_equal(f->runs[0].calls, 1); // once only
}

static void
test_exec_timeout_kills_group(void **state)
{
    s_fix_t *f = *state;
    char *argv[] = {"sh", "-c", "sleep 30 & echo $!; exec sleep 30", NULL};
    assert_int_equal(s_start(f, 0, argv, 300, S_CAP), 0);
    pid_t pid = azo_exec_pid(f->runs[0].handle);
    s_run(f, 1);
    const azo_exec_result_t *r = &f->runs[0].res;
    assert_true(r->timed_out);
    assert_int_equal(r->term_signal, SIGKILL);
    int bg = 0;
    assert_int_equal(sscanf(r->out, "%d", &bg), 1); // read before the end
    assert_true(bg > 0);
    assert_int_equal(kill(pid, 0), -1);
    s_wait_gone(bg); // not our child: its new parent collects it
}

static void
test_exec_background_child_not_waited(void **state)
{
    s_fix_t *f = *state;
    // The background sleep holds stdout and stderr open for 30 s; the
    // safety timer (10 s) fails the test if the exec waits for it.
    char *argv[] = {"sh", "-c", "sleep 30 & echo $!", NULL};
    assert_int_equal(s_start(f, 0, argv, 20000, S_CAP), 0);
    s_run(f, 1);
    const azo_exec_result_t *r = &f->runs[0].res;
    assert_int_equal(r->exit_status, 0);
    assert_false(r->timed_out);
    int bg = 0;
    assert_int_equal(sscanf(r->out, "%d", &bg), 1);
    s_wait_gone(bg); // killed with the group
}

static void
test_exec_spawn_failure(void **state)
{
    s_fix_t *f = *state;
    char *missing[] = {"azo-test-no-such-program", NULL};
    f->runs[0].handle = (azo_exec_t *)f; // must be reset
    assert_int_equal(s_start(f, 0, missing, 5000, S_CAP), -ENOENT);
    assert_null(f->runs[0].handle);
    char *nopath[] = {"/nonexistent/azo-test", NULL};
    assert_int_equal(s_start(f, 1, nopath, 5000, S_CAP), -ENOENT);
    char *noexec[] = {"/etc/passwd", NULL};
    assert_int_equal(s_start(f, 2, noexec, 5000, S_CAP), -EACCES);
    assert_int_equal(
        azo_exec_start(f->loop, missing, 0, 0, s_done, &f->runs[3], NULL),
        -ENOENT);
    s_run_for(f, 50);
    for (int i = 0; i < 4; i++)
        assert_int_equal(f->runs[i].calls, 0);
}

static void
test_exec_no_shell_no_stdin_no_fds(void **state)
{
    s_fix_t *f = *state;
    int leak[2]; // not close-on-exec
    assert_int_equal(pipe(leak), 0);
    char script[128];
    snprintf(script, sizeof script,
             "[ -e /proc/$$/fd/1 ] && echo one; "
             "[ -e /proc/$$/fd/%d ] && echo leaked; exit 0",
             leak[1]);
    char *literal[] = {"/bin/echo", "$HOME;*", NULL};
    char *cat[] = {"cat", NULL};
    char *fds[] = {"sh", "-c", script, NULL};
    assert_int_equal(s_start(f, 0, literal, 5000, S_CAP), 0);
    assert_int_equal(s_start(f, 1, cat, 5000, S_CAP), 0);
    assert_int_equal(s_start(f, 2, fds, 5000, S_CAP), 0);
    s_run(f, 3);
    close(leak[0]);
    close(leak[1]);
    assert_string_equal(f->runs[0].res.out, "$HOME;*\n");
    assert_int_equal(f->runs[1].res.exit_status, 0); // stdin: /dev/null
    assert_string_equal(f->runs[1].res.out, "");
    assert_string_equal(f->runs[2].res.out, "one\n");
}

static void
test_exec_runs_several_at_once(void **state)
{
    s_fix_t *f = *state;
    char *argv[] = {"sh", "-c", "echo out$1; echo err$1 >&2; exit $1",
                    "sh", NULL, NULL};
    char num[5][4];
    for (int i = 0; i < 5; i++) {
        snprintf(num[i], sizeof num[i], "%d", i);
        argv[4] = num[i];
        assert_int_equal(s_start(f, i, argv, 5000, S_CAP), 0);
    }
    s_run(f, 5);
    for (int i = 0; i < 5; i++) {
        char out[16], err[16];
        snprintf(out, sizeof out, "out%d\n", i);
        snprintf(err, sizeof err, "err%d\n", i);
        assert_int_equal(f->runs[i].calls, 1);
        assert_int_equal(f->runs[i].res.exit_status, i);
        assert_string_equal(f->runs[i].res.out, out);
        assert_string_equal(f->runs[i].res.err, err);
    }
}

static int
s_cancel_victim(zloop_t *loop, int id, void *arg)
{
    (void)loop;
    (void)id;
    s_fix_t *f = arg;
    azo_exec_cancel(&f->victim);
    assert_null(f->victim);
    s_assert_collected(f->victim_pid); // reaped by the cancel itself
    azo_exec_cancel(&f->victim);       // NULL: nothing
    return 0;
}

static void
test_exec_cancel_from_timer(void **state)
{
    s_fix_t *f = *state;
    char *argv[] = {"sleep", "30", NULL};
    assert_int_equal(s_start(f, 0, argv, 20000, S_CAP), 0);
    f->victim = f->runs[0].handle;
    f->victim_pid = azo_exec_pid(f->victim);
    assert_true(zloop_timer(f->loop, 50, 1, s_cancel_victim, f) >= 0);
    s_run_for(f, 300); // the loop goes on after the cancel
    assert_null(f->victim);
    assert_int_equal(f->runs[0].calls, 0);
}

static void
test_exec_cancel_when_ready_in_the_same_pass(void **state)
{
    s_fix_t *f = *state;
    // The program has ended (pidfd and pipes ready) before the loop's first
    // pass, whose timer cancels it: the exec is freed in the timer pass,
    // and zloop must not call its pollers in that pass (ASan would see).
    char *argv[] = {"true", NULL};
    assert_int_equal(s_start(f, 0, argv, 1, S_CAP), 0);
    f->victim = f->runs[0].handle;
    f->victim_pid = azo_exec_pid(f->victim);
    int fd = (int)syscall(SYS_pidfd_open, f->victim_pid, 0);
    assert_true(fd >= 0);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 5000), 1); // ended, not collected
    close(fd);
    assert_true(zloop_timer(f->loop, 0, 1, s_cancel_victim, f) >= 0);
    s_run_for(f, 50);
    assert_null(f->victim);
    assert_int_equal(f->runs[0].calls, 0);
}

// Inside the callback of a quick program: cancels the victim, and its own
// exec, which is a no-op there.
static void
s_cancel_in_callback(s_run_t *r)
{
    azo_exec_cancel(&r->f->victim);
    azo_exec_cancel(&r->handle);
    assert_null(r->handle);
}

static void
test_exec_cancel_from_callback(void **state)
{
    s_fix_t *f = *state;
    char *sleeper[] = {"sleep", "30", NULL};
    char *quick[] = {"true", NULL};
    assert_int_equal(s_start(f, 0, sleeper, 20000, S_CAP), 0);
    f->victim = f->runs[0].handle;
    f->victim_pid = azo_exec_pid(f->victim);
    f->runs[1].hook = s_cancel_in_callback;
    assert_int_equal(s_start(f, 1, quick, 5000, S_CAP), 0);
    s_run(f, 1);
    assert_int_equal(f->runs[1].calls, 1);
    assert_int_equal(f->runs[1].res.exit_status, 0);
    assert_null(f->victim);
    s_assert_collected(f->victim_pid);
    s_run_for(f, 50);
    assert_int_equal(f->runs[0].calls, 0);
}

static void
test_exec_cancel_outside_the_loop(void **state)
{
    s_fix_t *f = *state;
    char *argv[] = {"sleep", "30", NULL};
    // Before the loop has ever run.
    assert_int_equal(s_start(f, 0, argv, 20, S_CAP), 0);
    pid_t pid = azo_exec_pid(f->runs[0].handle);
    azo_exec_cancel(&f->runs[0].handle);
    assert_null(f->runs[0].handle);
    s_assert_collected(pid);
    s_run_for(f, 100); // past its timeout: nothing fires
    // After the loop has stopped for good (an actor's fini).
    assert_int_equal(s_start(f, 1, argv, 20000, S_CAP), 0);
    pid = azo_exec_pid(f->runs[1].handle);
    s_run_for(f, 20);
    azo_exec_cancel(&f->runs[1].handle);
    s_assert_collected(pid);
    assert_int_equal(f->runs[0].calls + f->runs[1].calls, 0);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_exec_captures_stdout),
        T(test_exec_reports_status_and_stderr),
        T(test_exec_reports_signal),
        T(test_exec_caps_output),
        T(test_exec_caps_both_streams),
        T(test_exec_timeout_kills),
        T(test_exec_timeout_kills_group),
        T(test_exec_background_child_not_waited),
        T(test_exec_spawn_failure),
        T(test_exec_no_shell_no_stdin_no_fds),
        T(test_exec_runs_several_at_once),
        T(test_exec_cancel_from_timer),
        T(test_exec_cancel_when_ready_in_the_same_pass),
        T(test_exec_cancel_from_callback),
        T(test_exec_cancel_outside_the_loop),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
