// test_mo_switch — the switching rules with hysteresis, evaluation by
// evaluation: confirmations, the threshold (a fraction of |current|), the
// dwell on the current coin, the profit floor (to idle without dwell),
// a current coin gone from the data, ties and the switch counter.
#include "mo_switch.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define MIN_MS INT64_C(60000)
#define IDLE   (-0.144) // 50 W idle at 0.12 per kWh

// Threshold 5%, three evaluations in a row, 10 minutes' dwell, floor 0.
static const mo_switch_cfg_t s_cfg = {
    .threshold = 0.05,
    .confirmations = 3,
    .min_dwell_ms = 10 * MIN_MS,
    .floor = 0,
};

// One evaluation at minute t (cands terminated by a NULL symbol).
static mo_decision_t
s_eval(mo_switch_t *s, const mo_switch_cfg_t *cfg, const mo_cand_t *cands,
       int t)
{
    size_t n = 0;
    while (cands[n].symbol)
        n++;
    mo_decision_t d;
    mo_switch_eval(s, cfg, cands, n, IDLE, t * MIN_MS, &d);
    return d;
}

// Fails unless d is a non-switch with this reason.
static void
s_stay(mo_decision_t dv, const char *reason, int line)
{
    const mo_decision_t *d = &dv;
    if (d->switched || !d->reason || strcmp(d->reason, reason) != 0) {
        print_error("line %d: switched %d to \"%s\", reason %s; want to "
                    "stay, %s\n",
                    line, d->switched, d->to, d->reason ? d->reason : "NULL",
                    reason);
        fail();
    }
}
#define assert_stay(d, reason) s_stay((d), (reason), __LINE__)

// Fails unless d switched to `to` for this reason.
static void
s_moved(mo_decision_t dv, const char *to, const char *reason, int line)
{
    const mo_decision_t *d = &dv;
    if (!d->switched || strcmp(d->to, to) != 0 || !d->reason ||
        strcmp(d->reason, reason) != 0) {
        print_error("line %d: switched %d to \"%s\", reason %s; want a "
                    "switch to \"%s\", %s\n",
                    line, d->switched, d->to, d->reason ? d->reason : "NULL",
                    to, reason);
        fail();
    }
}
#define assert_moved(d, to, reason) s_moved((d), (to), (reason), __LINE__)

// Starts idle at minute t and moves onto sym (profit p) with
// cfg->confirmations evaluations at minute t; the dwell then runs from t.
static void
s_start_on(mo_switch_t *s, const mo_switch_cfg_t *cfg, const char *sym,
           double p, int t)
{
    mo_switch_init(s, t * MIN_MS);
    const mo_cand_t c[] = {{sym, "sha256", p}, {NULL, NULL, 0}};
    mo_decision_t d = {0};
    for (int i = 0; i < cfg->confirmations; i++)
        d = s_eval(s, cfg, c, t);
    assert_moved(d, sym, "above_floor");
    assert_string_equal(s->current, sym);
    assert_true(s->since_ms == t * MIN_MS);
}

static void
test_mo_switch_from_idle_after_confirmations(void **state)
{
    (void)state;
    mo_switch_t s;
    mo_switch_init(&s, 0);
    assert_string_equal(s.current, "");
    const mo_cand_t c[] = {
        {"B", "scrypt", 8}, {"A", "sha256", 10}, {NULL, NULL, 0}};
    // Minutes 1 and 2: confirming, still idle, A recommended.
    mo_decision_t d = s_eval(&s, &s_cfg, c, 1);
    assert_stay(d, "confirming");
    assert_int_equal(d.streak, 1);
    assert_string_equal(d.best, "A");
    assert_string_equal(d.best_algo, "sha256");
    assert_true(d.best_profit == 10);
    assert_string_equal(d.from, "");
    assert_string_equal(d.to, "");
    assert_true(d.from_profit == IDLE && d.to_profit == IDLE);
    d = s_eval(&s, &s_cfg, c, 2);
    assert_stay(d, "confirming");
    assert_int_equal(d.streak, 2);
    assert_string_equal(s.current, "");
    // Minute 3: the third in a row; no dwell applies to leaving idle.
    d = s_eval(&s, &s_cfg, c, 3);
    assert_moved(d, "A", "above_floor");
    assert_string_equal(d.from, "");
    assert_string_equal(d.to_algo, "sha256");
    assert_true(d.from_profit == IDLE);
    assert_true(d.to_profit == 10);
    assert_string_equal(s.current, "A");
    assert_string_equal(s.algo, "sha256");
    assert_true(s.since_ms == 3 * MIN_MS);
    assert_int_equal(s.switches, 1);
    assert_false(s.has_pending);
    // Minute 4: A is the best and current.
    d = s_eval(&s, &s_cfg, c, 4);
    assert_stay(d, "best");
    assert_string_equal(d.from, "A");
    assert_string_equal(d.to, "A");
    assert_true(d.from_profit == 10 && d.to_profit == 10);
    assert_int_equal(s.switches, 1);
}

static void
test_mo_switch_idle_stays_idle(void **state)
{
    (void)state;
    mo_switch_t s;
    mo_switch_init(&s, 0);
    // Nothing above the floor 0: idle, though the best is still named.
    const mo_cand_t c[] = {
        {"A", "sha256", -1}, {"B", "scrypt", 0}, {NULL, NULL, 0}};
    for (int t = 1; t <= 5; t++) {
        mo_decision_t d = s_eval(&s, &s_cfg, c, t);
        assert_stay(d, "idle");
        assert_string_equal(d.best, "B");
        assert_true(d.best_profit == 0);
        assert_int_equal(d.streak, 0);
    }
    // No candidates at all.
    const mo_cand_t none[] = {{NULL, NULL, 0}};
    mo_decision_t d = s_eval(&s, &s_cfg, none, 6);
    assert_stay(d, "idle");
    assert_string_equal(d.best, "");
    assert_true(d.best_profit == IDLE);
    assert_int_equal(s.switches, 0);
}

static void
test_mo_switch_one_confirmation_switches_at_once(void **state)
{
    (void)state;
    mo_switch_cfg_t cfg = s_cfg;
    cfg.confirmations = 1;
    mo_switch_t s;
    mo_switch_init(&s, 0);
    const mo_cand_t c[] = {{"A", "sha256", 10}, {NULL, NULL, 0}};
    mo_decision_t d = s_eval(&s, &cfg, c, 0);
    assert_moved(d, "A", "above_floor");
    assert_int_equal(d.streak, 1);
}

static void
test_mo_switch_below_threshold_never_switches(void **state)
{
    (void)state;
    mo_switch_t s;
    s_start_on(&s, &s_cfg, "A", 100, 0);
    // B is 4% better: 104 - 100 = 4 < 0.05 * 100 = 5. Never, however long.
    const mo_cand_t c[] = {
        {"A", "sha256", 100}, {"B", "scrypt", 104}, {NULL, NULL, 0}};
    for (int t = 1; t <= 60; t++) {
        mo_decision_t d = s_eval(&s, &s_cfg, c, t);
        assert_stay(d, "below_threshold");
        assert_string_equal(d.best, "B"); // still the recommendation
        assert_string_equal(d.to, "A");
    }
    assert_int_equal(s.switches, 1);
    // Exactly 5% is enough: 105 - 100 = 5 >= 5.
    const mo_cand_t c5[] = {
        {"A", "sha256", 100}, {"B", "scrypt", 105}, {NULL, NULL, 0}};
    mo_decision_t d = s_eval(&s, &s_cfg, c5, 61);
    assert_stay(d, "confirming");
}

static void
test_mo_switch_threshold_confirmations_dwell(void **state)
{
    (void)state;
    mo_switch_t s;
    s_start_on(&s, &s_cfg, "A", 100, 0);
    // B is 6% better: 106 - 100 = 6 >= 5.
    const mo_cand_t c[] = {
        {"A", "sha256", 100}, {"B", "scrypt", 106}, {NULL, NULL, 0}};
    mo_decision_t d = s_eval(&s, &s_cfg, c, 1);
    assert_stay(d, "confirming");
    assert_int_equal(d.streak, 1);
    d = s_eval(&s, &s_cfg, c, 2);
    assert_stay(d, "confirming");
    assert_int_equal(d.streak, 2);
    // Minute 3: confirmed, but A has run 3 of its 10 minutes: 7 left.
    d = s_eval(&s, &s_cfg, c, 3);
    assert_stay(d, "dwell");
    assert_int_equal(d.streak, 3);
    assert_true(d.dwell_left_ms == 7 * MIN_MS);
    assert_string_equal(d.to, "A");
    assert_string_equal(s.current, "A");
    for (int t = 4; t <= 9; t++) {
        d = s_eval(&s, &s_cfg, c, t);
        assert_stay(d, "dwell");
        assert_true(d.dwell_left_ms == (10 - t) * MIN_MS);
    }
    // One millisecond short.
    mo_switch_eval(&s, &s_cfg, c, 2, IDLE, 10 * MIN_MS - 1, &d);
    assert_stay(d, "dwell");
    assert_true(d.dwell_left_ms == 1);
    // Minute 10: the dwell is over.
    d = s_eval(&s, &s_cfg, c, 10);
    assert_moved(d, "B", "more_profitable");
    assert_string_equal(d.from, "A");
    assert_true(d.from_profit == 100);
    assert_true(d.to_profit == 106);
    assert_string_equal(d.to_algo, "scrypt");
    assert_string_equal(s.current, "B");
    assert_string_equal(s.algo, "scrypt");
    assert_true(s.since_ms == 10 * MIN_MS);
    assert_int_equal(s.switches, 2);
    // Back to A once it is 5% better than B (106 * 1.05 = 111.3): the
    // dwell now runs from minute 10, so minute 13 waits 7 more, and the
    // switch comes at minute 20.
    const mo_cand_t back[] = {
        {"A", "sha256", 112}, {"B", "scrypt", 106}, {NULL, NULL, 0}};
    for (int t = 11; t <= 12; t++)
        assert_stay(s_eval(&s, &s_cfg, back, t), "confirming");
    d = s_eval(&s, &s_cfg, back, 13);
    assert_stay(d, "dwell");
    assert_true(d.dwell_left_ms == 7 * MIN_MS);
    for (int t = 14; t <= 19; t++)
        assert_stay(s_eval(&s, &s_cfg, back, t), "dwell");
    d = s_eval(&s, &s_cfg, back, 20);
    assert_moved(d, "A", "more_profitable");
    assert_int_equal(s.switches, 3);
}

static void
test_mo_switch_confirmed_after_dwell_needs_no_wait(void **state)
{
    (void)state;
    // The dwell already over when the streak completes: switch at once.
    mo_switch_t s;
    s_start_on(&s, &s_cfg, "A", 100, 0);
    const mo_cand_t c[] = {
        {"A", "sha256", 100}, {"B", "scrypt", 106}, {NULL, NULL, 0}};
    assert_stay(s_eval(&s, &s_cfg, c, 30), "confirming");
    assert_stay(s_eval(&s, &s_cfg, c, 31), "confirming");
    mo_decision_t d = s_eval(&s, &s_cfg, c, 32);
    assert_moved(d, "B", "more_profitable");
    assert_true(d.dwell_left_ms == 0);
}

static void
test_mo_switch_broken_streak_restarts(void **state)
{
    (void)state;
    mo_switch_cfg_t cfg = s_cfg;
    cfg.min_dwell_ms = 0;
    mo_switch_t s;
    s_start_on(&s, &cfg, "A", 100, 0);
    const mo_cand_t better[] = {
        {"A", "sha256", 100}, {"B", "scrypt", 106}, {NULL, NULL, 0}};
    const mo_cand_t near[] = {
        {"A", "sha256", 100}, {"B", "scrypt", 104}, {NULL, NULL, 0}};
    assert_stay(s_eval(&s, &cfg, better, 1), "confirming");
    assert_stay(s_eval(&s, &cfg, better, 2), "confirming");
    // One evaluation where B is not 5% better: the count starts over.
    assert_stay(s_eval(&s, &cfg, near, 3), "below_threshold");
    assert_false(s.has_pending);
    assert_int_equal(s.streak, 0);
    mo_decision_t d = s_eval(&s, &cfg, better, 4);
    assert_stay(d, "confirming");
    assert_int_equal(d.streak, 1);
    assert_stay(s_eval(&s, &cfg, better, 5), "confirming");
    assert_moved(s_eval(&s, &cfg, better, 6), "B", "more_profitable");
    // Also broken by the current coin being best again.
    s_start_on(&s, &cfg, "A", 100, 10);
    const mo_cand_t worse[] = {
        {"A", "sha256", 100}, {"B", "scrypt", 90}, {NULL, NULL, 0}};
    assert_stay(s_eval(&s, &cfg, better, 11), "confirming");
    assert_stay(s_eval(&s, &cfg, better, 12), "confirming");
    assert_stay(s_eval(&s, &cfg, worse, 13), "best");
    assert_stay(s_eval(&s, &cfg, better, 14), "confirming");
}

static void
test_mo_switch_other_candidate_restarts_streak(void **state)
{
    (void)state;
    mo_switch_cfg_t cfg = s_cfg;
    cfg.min_dwell_ms = 0;
    mo_switch_t s;
    s_start_on(&s, &cfg, "A", 100, 0);
    const mo_cand_t b[] = {{"A", "sha256", 100},
                           {"B", "scrypt", 110},
                           {"C", "x11", 90},
                           {NULL, NULL, 0}};
    const mo_cand_t c[] = {{"A", "sha256", 100},
                           {"B", "scrypt", 110},
                           {"C", "x11", 120},
                           {NULL, NULL, 0}};
    assert_stay(s_eval(&s, &cfg, b, 1), "confirming");
    assert_stay(s_eval(&s, &cfg, b, 2), "confirming");
    // C overtakes B: a new pending move, counted from 1.
    mo_decision_t d = s_eval(&s, &cfg, c, 3);
    assert_stay(d, "confirming");
    assert_int_equal(d.streak, 1);
    assert_string_equal(s.pending, "C");
    assert_stay(s_eval(&s, &cfg, c, 4), "confirming");
    d = s_eval(&s, &cfg, c, 5);
    assert_moved(d, "C", "more_profitable");
    assert_true(d.to_profit == 120);
}

static void
test_mo_switch_below_floor_goes_idle_without_dwell(void **state)
{
    (void)state;
    mo_switch_t s;
    s_start_on(&s, &s_cfg, "A", 10, 0);
    // Everything at or below the floor 0 from minute 1; the 10 minutes'
    // dwell is not waited out.
    const mo_cand_t c[] = {
        {"A", "sha256", -1}, {"B", "scrypt", 0}, {NULL, NULL, 0}};
    assert_stay(s_eval(&s, &s_cfg, c, 1), "confirming");
    assert_stay(s_eval(&s, &s_cfg, c, 2), "confirming");
    assert_string_equal(s.pending, "");
    mo_decision_t d = s_eval(&s, &s_cfg, c, 3);
    assert_moved(d, "", "below_floor");
    assert_string_equal(d.from, "A");
    assert_true(d.from_profit == -1);
    assert_true(d.to_profit == IDLE);
    assert_string_equal(d.to_algo, "");
    assert_string_equal(s.current, "");
    assert_string_equal(s.algo, "");
    assert_int_equal(s.switches, 2);
    // Idle now: stays so while nothing beats the floor.
    assert_stay(s_eval(&s, &s_cfg, c, 4), "idle");
    // A positive floor: a coin must beat it, not merely be profitable.
    mo_switch_cfg_t cfg = s_cfg;
    cfg.floor = 5;
    s_start_on(&s, &cfg, "A", 10, 10);
    const mo_cand_t low[] = {{"A", "sha256", 5}, {NULL, NULL, 0}};
    assert_stay(s_eval(&s, &cfg, low, 11), "confirming");
    assert_stay(s_eval(&s, &cfg, low, 12), "confirming");
    assert_moved(s_eval(&s, &cfg, low, 13), "", "below_floor");
    // The current coin at 4.9 below the floor 5, another at 5.1 above it:
    // 0.2 is under 5% of 4.9, yet the rig moves (after three, no dwell)
    // rather than stay on a coin not worth mining.
    s_start_on(&s, &cfg, "A", 10, 20);
    const mo_cand_t near[] = {
        {"A", "sha256", 4.9}, {"B", "scrypt", 5.1}, {NULL, NULL, 0}};
    assert_stay(s_eval(&s, &cfg, near, 21), "confirming");
    assert_stay(s_eval(&s, &cfg, near, 22), "confirming");
    assert_moved(s_eval(&s, &cfg, near, 23), "B", "more_profitable");
}

static void
test_mo_switch_losing_coin_left_without_dwell(void **state)
{
    (void)state;
    mo_switch_t s;
    s_start_on(&s, &s_cfg, "A", 10, 0);
    // A now loses money, B makes 5: a switch to B at minute 3, inside
    // A's dwell (margin 0.05 * |-1| = 0.05, gain 6).
    const mo_cand_t c[] = {
        {"A", "sha256", -1}, {"B", "scrypt", 5}, {NULL, NULL, 0}};
    assert_stay(s_eval(&s, &s_cfg, c, 1), "confirming");
    assert_stay(s_eval(&s, &s_cfg, c, 2), "confirming");
    mo_decision_t d = s_eval(&s, &s_cfg, c, 3);
    assert_moved(d, "B", "more_profitable");
    assert_true(d.from_profit == -1);
    assert_true(d.to_profit == 5);
}

static void
test_mo_switch_current_unavailable(void **state)
{
    (void)state;
    mo_switch_t s;
    s_start_on(&s, &s_cfg, "A", 10, 0);
    // A is gone from the data; B makes 5. No dwell.
    const mo_cand_t c[] = {{"B", "scrypt", 5}, {NULL, NULL, 0}};
    mo_decision_t d = s_eval(&s, &s_cfg, c, 1);
    assert_stay(d, "confirming");
    assert_true(isnan(d.from_profit));
    assert_stay(s_eval(&s, &s_cfg, c, 2), "confirming");
    d = s_eval(&s, &s_cfg, c, 3);
    assert_moved(d, "B", "current_unavailable");
    assert_string_equal(d.from, "A");
    assert_true(d.to_profit == 5);
    assert_string_equal(s.current, "B");
    // B gone, nothing else above the floor: to idle.
    const mo_cand_t low[] = {{"C", "x11", -2}, {NULL, NULL, 0}};
    assert_stay(s_eval(&s, &s_cfg, low, 4), "confirming");
    assert_stay(s_eval(&s, &s_cfg, low, 5), "confirming");
    d = s_eval(&s, &s_cfg, low, 6);
    assert_moved(d, "", "current_unavailable");
    assert_true(d.to_profit == IDLE);
    assert_string_equal(s.current, "");
    // No data at all while mining: to idle too.
    s_start_on(&s, &s_cfg, "A", 10, 10);
    const mo_cand_t none[] = {{NULL, NULL, 0}};
    assert_stay(s_eval(&s, &s_cfg, none, 11), "confirming");
    assert_stay(s_eval(&s, &s_cfg, none, 12), "confirming");
    assert_moved(s_eval(&s, &s_cfg, none, 13), "", "current_unavailable");
}

static void
test_mo_switch_ties_by_symbol(void **state)
{
    (void)state;
    mo_switch_t s;
    mo_switch_init(&s, 0);
    // Equal profits: the smaller symbol, whatever the order given.
    const mo_cand_t ba[] = {
        {"B", "scrypt", 10}, {"A", "sha256", 10}, {NULL, NULL, 0}};
    const mo_cand_t ab[] = {
        {"A", "sha256", 10}, {"B", "scrypt", 10}, {NULL, NULL, 0}};
    assert_string_equal(s_eval(&s, &s_cfg, ba, 1).best, "A");
    assert_string_equal(s_eval(&s, &s_cfg, ab, 2).best, "A");
    assert_moved(s_eval(&s, &s_cfg, ba, 3), "A", "above_floor");
    assert_stay(s_eval(&s, &s_cfg, ab, 4), "best");
    // On B with A tied: A is named best but is not better.
    s_start_on(&s, &s_cfg, "B", 10, 10);
    mo_decision_t d = s_eval(&s, &s_cfg, ab, 11);
    assert_stay(d, "below_threshold");
    assert_string_equal(d.best, "A");
    assert_string_equal(d.to, "B");
}

static void
test_mo_switch_threshold_of_negative_profit(void **state)
{
    (void)state;
    // Mining at a loss allowed (floor -100), no dwell: the threshold is a
    // fraction of |current| = 10, a margin of 0.5.
    mo_switch_cfg_t cfg = s_cfg;
    cfg.floor = -100;
    cfg.min_dwell_ms = 0;
    mo_switch_t s;
    s_start_on(&s, &cfg, "A", -10, 0);
    // -9.6 - (-10) = 0.4 < 0.5: not enough.
    const mo_cand_t small[] = {
        {"A", "sha256", -10}, {"B", "scrypt", -9.6}, {NULL, NULL, 0}};
    for (int t = 1; t <= 5; t++)
        assert_stay(s_eval(&s, &cfg, small, t), "below_threshold");
    // -9.4 - (-10) = 0.6 >= 0.5: switches after three.
    const mo_cand_t big[] = {
        {"A", "sha256", -10}, {"B", "scrypt", -9.4}, {NULL, NULL, 0}};
    assert_stay(s_eval(&s, &cfg, big, 6), "confirming");
    assert_stay(s_eval(&s, &cfg, big, 7), "confirming");
    assert_moved(s_eval(&s, &cfg, big, 8), "B", "more_profitable");
    // With a dwell, a coin above the floor (-10 > -100) waits it out.
    cfg.min_dwell_ms = 10 * MIN_MS;
    s_start_on(&s, &cfg, "A", -10, 20);
    assert_stay(s_eval(&s, &cfg, big, 21), "confirming");
    assert_stay(s_eval(&s, &cfg, big, 22), "confirming");
    assert_stay(s_eval(&s, &cfg, big, 23), "dwell");
}

// From idle the evaluations count while any coin beats the floor, though
// the best changes each time: the best of the last one is started.
static void
test_mo_switch_from_idle_best_alternating(void **state)
{
    (void)state;
    mo_switch_t s;
    mo_switch_init(&s, 0);
    const mo_cand_t ab[] = {
        {"A", "sha256", 10}, {"B", "scrypt", 9}, {NULL, NULL, 0}};
    const mo_cand_t ba[] = {
        {"A", "sha256", 9}, {"B", "scrypt", 10}, {NULL, NULL, 0}};
    assert_stay(s_eval(&s, &s_cfg, ab, 1), "confirming");
    assert_stay(s_eval(&s, &s_cfg, ba, 2), "confirming");
    assert_moved(s_eval(&s, &s_cfg, ab, 3), "A", "above_floor");
    // A streak from idle is broken when nothing beats the floor.
    mo_switch_init(&s, 0);
    const mo_cand_t none[] = {{"A", "sha256", -1}, {NULL, NULL, 0}};
    assert_stay(s_eval(&s, &s_cfg, ab, 1), "confirming");
    assert_stay(s_eval(&s, &s_cfg, none, 2), "idle");
    assert_stay(s_eval(&s, &s_cfg, ba, 3), "confirming");
    assert_stay(s_eval(&s, &s_cfg, ab, 4), "confirming");
    assert_moved(s_eval(&s, &s_cfg, ba, 5), "B", "above_floor");
}

static void
test_mo_switch_counter(void **state)
{
    (void)state;
    mo_switch_cfg_t cfg = s_cfg;
    cfg.confirmations = 1;
    cfg.min_dwell_ms = 0;
    mo_switch_t s;
    mo_switch_init(&s, 0);
    const mo_cand_t a[] = {
        {"A", "sha256", 10}, {"B", "scrypt", 5}, {NULL, NULL, 0}};
    const mo_cand_t b[] = {
        {"A", "sha256", 5}, {"B", "scrypt", 10}, {NULL, NULL, 0}};
    const mo_cand_t off[] = {
        {"A", "sha256", -5}, {"B", "scrypt", -5}, {NULL, NULL, 0}};
    assert_moved(s_eval(&s, &cfg, a, 1), "A", "above_floor");
    assert_moved(s_eval(&s, &cfg, b, 2), "B", "more_profitable");
    assert_stay(s_eval(&s, &cfg, b, 3), "best");
    assert_moved(s_eval(&s, &cfg, a, 4), "A", "more_profitable");
    assert_moved(s_eval(&s, &cfg, off, 5), "", "below_floor");
    assert_stay(s_eval(&s, &cfg, off, 6), "idle");
    assert_int_equal(s.switches, 4);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mo_switch_from_idle_after_confirmations),
        cmocka_unit_test(test_mo_switch_idle_stays_idle),
        cmocka_unit_test(test_mo_switch_one_confirmation_switches_at_once),
        cmocka_unit_test(test_mo_switch_below_threshold_never_switches),
        cmocka_unit_test(test_mo_switch_threshold_confirmations_dwell),
        cmocka_unit_test(test_mo_switch_confirmed_after_dwell_needs_no_wait),
        cmocka_unit_test(test_mo_switch_broken_streak_restarts),
        cmocka_unit_test(test_mo_switch_other_candidate_restarts_streak),
        cmocka_unit_test(test_mo_switch_below_floor_goes_idle_without_dwell),
        cmocka_unit_test(test_mo_switch_losing_coin_left_without_dwell),
        cmocka_unit_test(test_mo_switch_current_unavailable),
        cmocka_unit_test(test_mo_switch_ties_by_symbol),
        cmocka_unit_test(test_mo_switch_threshold_of_negative_profit),
        cmocka_unit_test(test_mo_switch_from_idle_best_alternating),
        cmocka_unit_test(test_mo_switch_counter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
