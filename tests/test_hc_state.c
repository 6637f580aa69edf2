// test_hc_state — the health-checker's thresholds and heartbeat judgement.
#include "hc_state.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

// Feeds a string of outcomes ('+' ok, '-' fail, 's' slow ok) and returns
// the states after each, as letters: u h d D.
static void
s_run(hc_track_t *t, int fth, int sth, const char *outcomes, char *states)
{
    static const char letter[] = {'u', 'h', 'd', 'D'};
    for (size_t i = 0; outcomes[i]; i++) {
        char o = outcomes[i];
        (void)hc_state_feed(t, fth, sth, o != '-', o == 's');
        states[i] = letter[t->state];
        states[i + 1] = 0;
    }
}

static void
test_hc_state_down_after_failure_threshold(void **state)
{
    (void)state;
    hc_track_t t = {0};
    char got[64];
    s_run(&t, 3, 1, "+--+---", got);
    // One failure degrades a healthy target; the third in a row takes it
    // down; a success in between starts the count again.
    assert_string_equal(got, "hddhddD");
    assert_int_equal(t.fails, 3);
    assert_int_equal(t.probes, 7);
    assert_int_equal(t.failures, 5);
}

static void
test_hc_state_unknown_stays_unknown_until_judged(void **state)
{
    (void)state;
    hc_track_t t = {0};
    char got[64];
    s_run(&t, 2, 1, "--", got);
    assert_string_equal(got, "uD");
    hc_track_t u = {0};
    s_run(&u, 3, 2, "+", got);
    assert_string_equal(got, "u"); // one success of two needed
}

static void
test_hc_state_recovery_needs_success_threshold(void **state)
{
    (void)state;
    hc_track_t t = {0};
    char got[64];
    s_run(&t, 1, 3, "-++-+++", got);
    assert_string_equal(got, "DDDDDDh");
}

static void
test_hc_state_slow_success_is_degraded(void **state)
{
    (void)state;
    hc_track_t t = {0};
    char got[64];
    s_run(&t, 3, 1, "s+s", got);
    assert_string_equal(got, "dhd");
}

static void
test_hc_state_feed_reports_changes_only(void **state)
{
    (void)state;
    hc_track_t t = {0};
    assert_true(hc_state_feed(&t, 3, 1, true, false));   // u -> h
    assert_false(hc_state_feed(&t, 3, 1, true, false));  // h
    assert_true(hc_state_feed(&t, 3, 1, false, false));  // h -> d
    assert_false(hc_state_feed(&t, 3, 1, false, false)); // d
    assert_true(hc_state_feed(&t, 3, 1, false, false));  // d -> D
}

static void
test_hc_state_actor_heartbeats(void **state)
{
    (void)state;
    int missed;
    const char *why;
    // Heartbeat every 1000 ms, down after 2 missed.
    assert_int_equal(hc_state_actor("running", 0, 1000, 2, &missed, &why),
                     HC_HEALTHY);
    assert_int_equal(missed, 0);
    assert_int_equal(hc_state_actor("running", 1499, 1000, 2, &missed, &why),
                     HC_HEALTHY);
    assert_int_equal(hc_state_actor("running", 1500, 1000, 2, &missed, &why),
                     HC_DEGRADED);
    assert_int_equal(missed, 1);
    assert_string_equal(why, "heartbeat late");
    assert_int_equal(hc_state_actor("running", 2499, 1000, 2, &missed, &why),
                     HC_DEGRADED);
    assert_int_equal(hc_state_actor("running", 2500, 1000, 2, &missed, &why),
                     HC_DOWN);
    assert_int_equal(missed, 2);
    assert_string_equal(why, "heartbeats missed");
    assert_int_equal(
        hc_state_actor("running", INT64_MAX / 2, 1000, 2, &missed, &why),
        HC_DOWN);
}

static void
test_hc_state_actor_not_running(void **state)
{
    (void)state;
    int missed;
    const char *why;
    assert_int_equal(hc_state_actor("starting", 0, 1000, 2, &missed, &why),
                     HC_UNKNOWN);
    assert_int_equal(hc_state_actor("backoff", 0, 1000, 2, &missed, &why),
                     HC_DOWN);
    assert_string_equal(why, "waiting to restart");
    assert_int_equal(hc_state_actor("stopped", 0, 1000, 2, &missed, &why),
                     HC_DOWN);
    assert_int_equal(hc_state_actor("failed", 0, 1000, 2, &missed, &why),
                     HC_DOWN);
    assert_int_equal(hc_state_actor("gone", 0, 1000, 2, &missed, &why),
                     HC_DOWN);
    assert_int_equal(hc_state_actor(NULL, 0, 1000, 2, &missed, &why),
                     HC_UNKNOWN);
    // No heartbeat figures (an older supervisor): running is enough.
    assert_int_equal(hc_state_actor("running", -1, 0, 2, &missed, &why),
                     HC_HEALTHY);
}

static void
test_hc_state_worst_and_names(void **state)
{
    (void)state;
    assert_int_equal(hc_state_worst(HC_HEALTHY, HC_UNKNOWN), HC_UNKNOWN);
    assert_int_equal(hc_state_worst(HC_DEGRADED, HC_UNKNOWN), HC_DEGRADED);
    assert_int_equal(hc_state_worst(HC_DOWN, HC_DEGRADED), HC_DOWN);
    assert_int_equal(hc_state_worst(HC_HEALTHY, HC_HEALTHY), HC_HEALTHY);
    assert_string_equal(hc_state_name(HC_DOWN), "down");
    assert_string_equal(hc_state_name((hc_state_t)42), "unknown");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hc_state_down_after_failure_threshold),
        cmocka_unit_test(test_hc_state_unknown_stays_unknown_until_judged),
        cmocka_unit_test(test_hc_state_recovery_needs_success_threshold),
        cmocka_unit_test(test_hc_state_slow_success_is_degraded),
        cmocka_unit_test(test_hc_state_feed_reports_changes_only),
        cmocka_unit_test(test_hc_state_actor_heartbeats),
        cmocka_unit_test(test_hc_state_actor_not_running),
        cmocka_unit_test(test_hc_state_worst_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
