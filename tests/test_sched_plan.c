// Unit tests of sched_plan with a controlled clock: interval jobs fire on
// time without drift, jitter is stable, a late run fires once, downtime
// gives exactly one catch-up run (missed = once) or none (skip), the start
// deadline, failure backoff growing from the third failure up to the cap
// and reset by a success, and the same for a cron job.
#include "azo_err.h"
#include "sched_plan.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#define T0  INT64_C(1767225600000) // 2026-01-01T00:00:00Z
#define SEC INT64_C(1000)
#define MIN (60 * SEC)

static sched_spec_t
s_every(int64_t every)
{
    return (sched_spec_t){.every_ms = every,
                          .missed = SCHED_MISSED_ONCE,
                          .max_failures = 3,
                          .backoff_mult = 2.0,
                          .max_interval_ms = 240 * MIN};
}

static void
test_plan_interval_fires_on_time_without_drift(void **state)
{
    (void)state;
    sched_spec_t s = s_every(MIN);
    sched_plan_t p;
    assert_int_equal(sched_plan_first(&s, T0, &p), 0);
    assert_int_equal(p.next_ms, T0); // a new job runs at once
    int64_t run, missed, at;
    assert_int_equal(sched_plan_due(&s, &p, "j", T0, &run, &missed, &at),
                     SCHED_FIRE);
    assert_int_equal(run, T0);
    assert_int_equal(missed, 1);
    assert_int_equal(p.next_ms, T0 + MIN);
    // Early: wait until the fire time. Late by 20 s: that run fires, and
    // the next one stays on the grid.
    assert_int_equal(
        sched_plan_due(&s, &p, "j", T0 + 30 * SEC, &run, &missed, &at),
        SCHED_WAIT);
    assert_int_equal(at, T0 + MIN);
    assert_int_equal(
        sched_plan_due(&s, &p, "j", T0 + MIN + 20 * SEC, &run, &missed, &at),
        SCHED_FIRE);
    assert_int_equal(run, T0 + MIN);
    assert_int_equal(p.next_ms, T0 + 2 * MIN);
}

static void
test_plan_jitter_is_stable_and_bounded(void **state)
{
    (void)state;
    sched_spec_t s = s_every(MIN);
    s.jitter_ms = 10 * SEC;
    bool differs = false;
    for (int64_t k = 0; k < 50; k++) {
        int64_t run = T0 + k * MIN;
        int64_t f = sched_plan_fire_at(&s, "job", run);
        assert_true(f >= run && f < run + 10 * SEC);
        assert_int_equal(f, sched_plan_fire_at(&s, "job", run));
        differs = differs || f != sched_plan_fire_at(&s, "other", run);
    }
    assert_true(differs);
    sched_plan_t p = {.next_ms = T0};
    int64_t run, missed, at, f = sched_plan_fire_at(&s, "job", T0);
    if (f > T0) {
        assert_int_equal(
            sched_plan_due(&s, &p, "job", f - 1, &run, &missed, &at),
            SCHED_WAIT);
        assert_int_equal(at, f);
    }
    assert_int_equal(sched_plan_due(&s, &p, "job", f, &run, &missed, &at),
                     SCHED_FIRE);
    assert_int_equal(run, T0);
}

static void
test_plan_downtime_gives_one_catch_up(void **state)
{
    (void)state;
    sched_spec_t s = s_every(MIN);
    sched_plan_t p = {.next_ms = T0 + MIN};
    int64_t now = T0 + MIN + 10 * MIN + 5 * SEC; // 10 minutes down
    int64_t run, missed, at;
    assert_int_equal(sched_plan_due(&s, &p, "j", now, &run, &missed, &at),
                     SCHED_FIRE);
    assert_int_equal(run, T0 + 11 * MIN); // the latest scheduled time
    assert_int_equal(missed, 11);
    assert_int_equal(p.next_ms, T0 + 12 * MIN);
    // Exactly one: asked again right away, it waits.
    assert_int_equal(sched_plan_due(&s, &p, "j", now, &run, &missed, &at),
                     SCHED_WAIT);
    assert_int_equal(at, T0 + 12 * MIN);

    s.missed = SCHED_MISSED_SKIP;
    p = (sched_plan_t){.next_ms = T0 + MIN};
    assert_int_equal(sched_plan_due(&s, &p, "j", now, &run, &missed, &at),
                     SCHED_SKIP);
    assert_int_equal(run, T0 + 11 * MIN);
    assert_int_equal(p.next_ms, T0 + 12 * MIN);
    // One late run is not "missed": skip still fires it.
    p = (sched_plan_t){.next_ms = T0 + MIN};
    assert_int_equal(
        sched_plan_due(&s, &p, "j", T0 + MIN + 30 * SEC, &run, &missed, &at),
        SCHED_FIRE);
}

static void
test_plan_start_deadline(void **state)
{
    (void)state;
    sched_spec_t s = s_every(10 * MIN);
    s.start_deadline_ms = 30 * SEC;
    sched_plan_t p = {.next_ms = T0};
    int64_t run, missed, at;
    assert_int_equal(
        sched_plan_due(&s, &p, "j", T0 + 31 * SEC, &run, &missed, &at),
        SCHED_SKIP);
    assert_int_equal(run, T0);
    assert_int_equal(p.next_ms, T0 + 10 * MIN);
    assert_int_equal(sched_plan_due(&s, &p, "j", T0 + 10 * MIN + 29 * SEC, &run,
                                    &missed, &at),
                     SCHED_FIRE);
    // After downtime, the catch-up run too must be within the deadline.
    p.next_ms = T0;
    assert_int_equal(sched_plan_due(&s, &p, "j", T0 + 20 * MIN + 40 * SEC, &run,
                                    &missed, &at),
                     SCHED_SKIP);
    assert_int_equal(run, T0 + 20 * MIN);
}

static void
test_plan_backoff_grows_and_resets(void **state)
{
    (void)state;
    sched_spec_t s = s_every(MIN);
    s.max_interval_ms = 5 * MIN;
    sched_plan_t p = {.next_ms = T0};
    bool backoff;
    int64_t run = T0, now = T0 + SEC;
    // Failures 1 and 2: nothing changes.
    for (int i = 0; i < 2; i++) {
        p.next_ms = run + MIN;
        assert_int_equal(sched_plan_result(&s, &p, run, false, now, &backoff),
                         0);
        assert_false(backoff);
        assert_int_equal(p.interval_ms, 0);
        assert_int_equal(p.next_ms, run + MIN);
        run += MIN;
        now += MIN;
    }
    // Failure 3: 2 min; 4: 4 min; 5: the cap, 5 min; 6: stays.
    static const int64_t want[] = {2 * MIN, 4 * MIN, 5 * MIN, 5 * MIN};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(sched_plan_result(&s, &p, run, false, now, &backoff),
                         0);
        assert_int_equal(backoff, i < 3);
        assert_int_equal(p.interval_ms, want[i]);
        assert_int_equal(p.next_ms, run + want[i]);
        assert_int_equal(p.failures, 3 + i);
        run = p.next_ms;
        now = run + SEC;
    }
    // The step of the schedule is the backoff interval now.
    int64_t r, missed, at;
    assert_int_equal(sched_plan_due(&s, &p, "j", run + SEC, &r, &missed, &at),
                     SCHED_FIRE);
    assert_int_equal(p.next_ms, run + 5 * MIN);
    // One success: back to every minute, from that run.
    assert_int_equal(
        sched_plan_result(&s, &p, run, true, run + 2 * SEC, &backoff), 0);
    assert_int_equal(p.failures, 0);
    assert_int_equal(p.interval_ms, 0);
    assert_int_equal(p.next_ms, run + MIN);
    // A cap below the interval: no backoff at all.
    s.max_interval_ms = 30 * SEC;
    p = (sched_plan_t){.next_ms = T0 + MIN, .failures = 5};
    assert_int_equal(sched_plan_result(&s, &p, T0, false, T0, &backoff), 0);
    assert_false(backoff);
    assert_int_equal(p.interval_ms, 0);
    assert_int_equal(p.next_ms, T0 + MIN);
}

static void
test_plan_cron_catch_up_and_backoff(void **state)
{
    (void)state;
    sched_spec_t s = s_every(0);
    char err[256];
    assert_int_equal(
        sched_cron_parse(&s.cron, "*/5 * * * *", NULL, err, sizeof err), 0);
    sched_plan_t p;
    assert_int_equal(sched_plan_first(&s, T0 + 7 * MIN, &p), 0);
    assert_int_equal(p.next_ms, T0 + 10 * MIN);
    // Down for three hours: one run, at the latest 5-minute mark.
    int64_t now = T0 + 3 * 60 * MIN + 7 * MIN, run, missed, at;
    assert_int_equal(sched_plan_due(&s, &p, "c", now, &run, &missed, &at),
                     SCHED_FIRE);
    assert_int_equal(run, T0 + 3 * 60 * MIN + 5 * MIN);
    assert_int_equal(missed, 2);
    assert_int_equal(p.next_ms, T0 + 3 * 60 * MIN + 10 * MIN);
    // On time: one scheduled time passed.
    assert_int_equal(
        sched_plan_due(&s, &p, "c", p.next_ms + SEC, &run, &missed, &at),
        SCHED_FIRE);
    assert_int_equal(missed, 1);
    // Backoff: from the third failure, the 5-minute gap doubles.
    bool backoff;
    p = (sched_plan_t){.next_ms = T0 + 5 * MIN, .failures = 2};
    assert_int_equal(sched_plan_result(&s, &p, T0, false, T0 + SEC, &backoff),
                     0);
    assert_true(backoff);
    assert_int_equal(p.interval_ms, 10 * MIN);
    assert_int_equal(p.next_ms, T0 + 10 * MIN);
    assert_int_equal(sched_plan_result(&s, &p, T0 + 10 * MIN, true,
                                       T0 + 10 * MIN + SEC, &backoff),
                     0);
    assert_int_equal(p.next_ms, T0 + 15 * MIN);
    assert_int_equal(sched_plan_reset(&s, &p, T0 + 16 * MIN), 0);
    assert_int_equal(p.next_ms, T0 + 20 * MIN);
}

// A run fired late past the next scheduled time, whose own jittered fire
// time has not come yet, is not a catch-up: the next run stays due on its
// own (it was swallowed as "missed 2" before).
static void
test_plan_late_jittered_run_does_not_swallow_the_next(void **state)
{
    (void)state;
    sched_spec_t s = s_every(2 * SEC);
    s.jitter_ms = 2 * SEC - 1;
    sched_cron_t c;
    assert_int_equal(sched_cron_parse(&c, "* * * * *", NULL, NULL, 0), 0);
    sched_spec_t sc = s_every(0);
    sc.cron = c;
    sc.jitter_ms = MIN - 1;
    const sched_spec_t *specs[] = {&s, &sc};
    for (int k = 0; k < 2; k++) {
        const sched_spec_t *sp = specs[k];
        int64_t gap = sp->every_ms ? sp->every_ms : MIN;
        // A name whose first run's jitter is near the whole gap.
        char name[16];
        int i = 0;
        do
            snprintf(name, sizeof name, "j%d", i++);
        while (sched_plan_fire_at(sp, name, T0) - T0 < gap * 97 / 100 ||
               sched_plan_fire_at(sp, name, T0 + gap) - (T0 + gap) < gap / 2);
        sched_plan_t p = {.next_ms = T0};
        int64_t now = sched_plan_fire_at(sp, name, T0) + gap / 20;
        assert_true(now > T0 + gap); // past the next scheduled time
        int64_t run, missed, at;
        assert_int_equal(sched_plan_due(sp, &p, name, now, &run, &missed, &at),
                         SCHED_FIRE);
        assert_int_equal(run, T0);
        assert_int_equal(missed, 1);
        assert_int_equal(p.next_ms, T0 + gap);
        assert_int_equal(sched_plan_due(sp, &p, name, now, &run, &missed, &at),
                         SCHED_WAIT);
        assert_int_equal(at, sched_plan_fire_at(sp, name, T0 + gap));
        assert_int_equal(sched_plan_due(sp, &p, name, at, &run, &missed, &at),
                         SCHED_FIRE);
        assert_int_equal(run, T0 + gap);
        assert_int_equal(missed, 1);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_late_jittered_run_does_not_swallow_the_next),
        cmocka_unit_test(test_plan_interval_fires_on_time_without_drift),
        cmocka_unit_test(test_plan_jitter_is_stable_and_bounded),
        cmocka_unit_test(test_plan_downtime_gives_one_catch_up),
        cmocka_unit_test(test_plan_start_deadline),
        cmocka_unit_test(test_plan_backoff_grows_and_resets),
        cmocka_unit_test(test_plan_cron_catch_up_and_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
