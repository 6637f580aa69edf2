// Unit tests of azo_proc: spawning with a fresh process group and signal
// mask, pidfd readiness, reaping and how a process ended, signals through
// the pidfd, start times, and adoption checks that refuse a recycled pid.
#include "azo_err.h"
#include "azo_proc.h"

#include <czmq.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

// Waits until p's pidfd is readable (the process ended), up to 10 s.
static void
s_wait_end(azo_proc_t *p)
{
    zmq_pollitem_t item = {NULL, p->pidfd, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&item, 1, 10000), 1);
}

static void
s_spawn_sh(azo_proc_t *p, const char *script)
{
    char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
    assert_int_equal(azo_proc_spawn(p, "/bin/sh", argv), 0);
    assert_true(p->pid > 0);
    assert_true(p->pidfd >= 0);
    assert_true(p->child);
}

static void
test_proc_reports_exit_status(void **state)
{
    (void)state;
    azo_proc_t p;
    char how[32];
    bool failed = false;
    s_spawn_sh(&p, "exit 3");
    s_wait_end(&p);
    assert_int_equal(azo_proc_reap(&p, how, sizeof how, &failed), 0);
    assert_string_equal(how, "exit 3");
    assert_true(failed);
    assert_int_equal(p.pid, 0);
    assert_int_equal(p.pidfd, -1);

    s_spawn_sh(&p, "exit 0");
    s_wait_end(&p);
    assert_int_equal(azo_proc_reap(&p, how, sizeof how, &failed), 0);
    assert_string_equal(how, "exit 0");
    assert_false(failed);
}

static void
test_proc_signals_through_the_pidfd(void **state)
{
    (void)state;
    azo_proc_t p;
    char how[32];
    bool failed;
    s_spawn_sh(&p, "sleep 30");
    // Not ended yet: reaping says so and keeps the pidfd.
    assert_int_equal(azo_proc_reap(&p, how, sizeof how, &failed), -EAGAIN);
    assert_true(p.pidfd >= 0);
    assert_int_equal(azo_proc_signal(&p, SIGKILL), 0);
    s_wait_end(&p);
    assert_int_equal(azo_proc_reap(&p, how, sizeof how, &failed), 0);
    assert_string_equal(how, "signal 9");
    assert_true(failed);
    assert_int_equal(azo_proc_signal(&p, SIGKILL), -ESRCH);
}

static void
test_proc_child_has_own_group_and_clean_mask(void **state)
{
    (void)state;
    // The parent blocks SIGTERM, as azod does; the child must not inherit
    // that, and must lead its own process group.
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, &term, &old), 0);
    azo_proc_t p;
    s_spawn_sh(&p, "kill -TERM $$; sleep 30");
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    s_wait_end(&p);
    char how[32];
    bool failed;
    assert_int_equal(azo_proc_reap(&p, how, sizeof how, &failed), 0);
    assert_string_equal(how, "signal 15");

    s_spawn_sh(&p, "sleep 30");
    assert_int_equal(getpgid(p.pid), p.pid);
    assert_int_equal(azo_proc_signal(&p, SIGKILL), 0);
    s_wait_end(&p);
    assert_int_equal(azo_proc_reap(&p, how, sizeof how, &failed), 0);
}

static void
test_proc_start_time_and_adoption(void **state)
{
    (void)state;
    uint64_t mine = 0, again = 0;
    assert_int_equal(azo_proc_start_time(getpid(), &mine), 0);
    assert_int_equal(azo_proc_start_time(getpid(), &again), 0);
    assert_true(mine > 0 && mine == again);
    assert_true(azo_proc_start_time(999999999, &again) < 0);

    azo_proc_t p, q;
    // A shell that stays (runs sleep as a child) with the marker in argv.
    char *argv[] = {"/bin/sh", "-c", "sleep 5; :", "--actor", "probe", NULL};
    assert_int_equal(azo_proc_spawn(&p, "/bin/sh", argv), 0);
    // Until the exec, the child is a copy of us: wait for the command line.
    int64_t end = zclock_mono() + 5000;
    int rc;
    while ((rc = azo_proc_adopt(&q, p.pid, p.start_time, "--actor", "probe")) !=
               0 &&
           zclock_mono() < end)
        zclock_sleep(5);
    assert_int_equal(rc, 0);
    assert_false(q.child);
    assert_int_equal(q.pid, p.pid);
    // A different start time means another process under a recycled pid.
    azo_proc_t r;
    assert_int_equal(
        azo_proc_adopt(&r, p.pid, p.start_time + 1, "--actor", "probe"),
        AZO_ENOTFOUND);
    // So does another command line.
    assert_int_equal(
        azo_proc_adopt(&r, p.pid, p.start_time, "--actor", "other"),
        AZO_ENOTFOUND);
    assert_int_equal(azo_proc_adopt(&r, 0, 1, "--actor", "probe"),
                     AZO_ENOTFOUND);
    // An adopted process is signalled and seen ending, not reaped.
    assert_int_equal(azo_proc_signal(&q, SIGKILL), 0);
    s_wait_end(&q);
    char how[32];
    bool failed;
    assert_int_equal(azo_proc_reap(&q, how, sizeof how, &failed), 0);
    assert_string_equal(how, "ended");
    s_wait_end(&p);
    assert_int_equal(azo_proc_reap(&p, how, sizeof how, &failed), 0);
    assert_string_equal(how, "signal 9");
}

static void
test_proc_exec_failure_is_an_error(void **state)
{
    (void)state;
    azo_proc_t p;
    char *argv[] = {"/nonexistent/azod", NULL};
    assert_int_equal(azo_proc_spawn(&p, "/nonexistent/azod", argv), -ENOENT);
    assert_int_equal(p.pid, 0);
    assert_int_equal(p.pidfd, -1);
    azo_proc_close(&p); // NULL-safe on "none"
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proc_reports_exit_status),
        cmocka_unit_test(test_proc_signals_through_the_pidfd),
        cmocka_unit_test(test_proc_child_has_own_group_and_clean_mask),
        cmocka_unit_test(test_proc_start_time_and_adoption),
        cmocka_unit_test(test_proc_exec_failure_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
