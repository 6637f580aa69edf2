// test_mo_backtest — tiny histories replayed by hand. The rig mines
// algorithm x at 1000 H/s and every coin has a network of 1000 H/s, one
// block a minute and a reward of 1: the rig mines 1440 coins a day, one a
// minute. With ticks a minute apart, a step earns exactly the coin's price
// (before power and fee), which keeps the sums below easy to check.
#include "azo_err.h"
#include "mo_backtest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define HEAD "ts,symbol,algorithm,price,block_reward,block_time,net_hashrate\n"
#define EPS  1e-9

// Hysteresis 5%, one confirmation, no dwell, floor 0; no smoothing, no
// outlier check; no power, no fee, no switch cost.
static mo_conf_t
s_conf(void)
{
    mo_conf_t c;
    memset(&c, 0, sizeof c);
    snprintf(c.rig.algos[0].name, sizeof c.rig.algos[0].name, "x");
    c.rig.algos[0].hashrate = 1000;
    c.rig.nalgos = 1;
    c.smooth.ema_alpha = 1;
    c.sw.threshold = 0.05;
    c.sw.confirmations = 1;
    return c;
}

// Runs the backtest of csv under conf into a new result array (free it).
static mo_bt_result_t *
s_run(const char *csv, const mo_conf_t *conf)
{
    mo_hist_t *h = NULL;
    char err[512] = "";
    if (mo_hist_parse(&h, "t.csv", csv, strlen(csv), err, sizeof err))
        fail_msg("history: %s", err);
    mo_bt_result_t *r = calloc(MO_BT_N, sizeof *r);
    assert_non_null(r);
    if (mo_backtest_run(h, conf, r, err, sizeof err))
        fail_msg("run: %s", err);
    mo_hist_destroy(&h);
    assert_string_equal(r[MO_BT_HYSTERESIS].name, "hysteresis");
    assert_string_equal(r[MO_BT_NAIVE].name, "naive");
    assert_string_equal(r[MO_BT_NEVER].name, "never");
    return r;
}

// Two coins take turns being 3% better, minute by minute (A at even
// minutes); C pays far more but the rig has no algorithm z for it.
static const char s_alternating[] = HEAD "0,A,x,1.03,1,60,1000\n"
                                         "0,B,x,1.00,1,60,1000\n"
                                         "0,C,z,100,1,60,1000\n"
                                         "60,A,x,1.00,1,60,1000\n"
                                         "60,B,x,1.03,1,60,1000\n"
                                         "120,A,x,1.03,1,60,1000\n"
                                         "120,B,x,1.00,1,60,1000\n"
                                         "180,A,x,1.00,1,60,1000\n"
                                         "180,B,x,1.03,1,60,1000\n"
                                         "240,A,x,1.03,1,60,1000\n"
                                         "240,B,x,1.00,1,60,1000\n";

static void
test_mo_backtest_naive_flaps_hysteresis_holds(void **state)
{
    (void)state;
    mo_conf_t conf = s_conf();
    mo_bt_result_t *r = s_run(s_alternating, &conf);
    // Naive: A at 0 (the start, free), B at 1m, A at 2m, B at 3m: always
    // on the 1.03 coin, 4 x 1.03 = 4.12, three switches.
    assert_float_equal(r[MO_BT_NAIVE].profit, 4.12, EPS);
    assert_int_equal(r[MO_BT_NAIVE].switches, 3);
    assert_string_equal(r[MO_BT_NAIVE].final, "B");
    // Hysteresis at 5%: 3% never beats it; A throughout,
    // 1.03 + 1.00 + 1.03 + 1.00 = 4.06. Never: the same coin.
    assert_float_equal(r[MO_BT_HYSTERESIS].profit, 4.06, EPS);
    assert_int_equal(r[MO_BT_HYSTERESIS].switches, 0);
    assert_string_equal(r[MO_BT_HYSTERESIS].final, "A");
    assert_float_equal(r[MO_BT_NEVER].profit, 4.06, EPS);
    assert_int_equal(r[MO_BT_NEVER].switches, 0);
    for (int s = 0; s < MO_BT_N; s++) {
        assert_int_equal(r[s].steps, 5); // the fifth only ends the period
        assert_int_equal(r[s].from_ms, 0);
        assert_int_equal(r[s].to_ms, 240000);
        assert_int_equal(r[s].mined_ms, 240000);
        assert_int_equal(r[s].idle_ms, 0);
        assert_float_equal(r[s].switch_cost, 0, 0);
    }
    free(r);

    // A switch costing 30 s of the new coin's revenue: 1440 x 1.03 a day
    // x 30/86400 = 0.515 each. Naive loses exactly 3 x 0.515 = 1.545:
    // 4.12 - 1.545 = 2.575. Hysteresis never switched: still 4.06.
    conf.switch_cost_s = 30;
    r = s_run(s_alternating, &conf);
    assert_float_equal(r[MO_BT_NAIVE].switch_cost, 1.545, EPS);
    assert_float_equal(r[MO_BT_NAIVE].profit, 2.575, EPS);
    assert_float_equal(r[MO_BT_HYSTERESIS].profit, 4.06, EPS);
    assert_float_equal(r[MO_BT_NEVER].profit, 4.06, EPS);
    free(r);
}

static void
test_mo_backtest_idle_below_floor(void **state)
{
    (void)state;
    // One coin; the floor 1450 a day lies between 1440 x 1.00 = 1440 and
    // 1440 x 1.03 = 1483.2. Idle draws 1000 W at 1 per kWh: -24 a day,
    // -1/60 a minute; mining draws nothing (watts 0).
    mo_conf_t conf = s_conf();
    conf.sw.floor = 1450;
    conf.rig.idle_watts = 1000;
    conf.rig.kwh_price = 1;
    conf.sw.confirmations = 2;
    mo_bt_result_t *r = s_run(HEAD "0,A,x,1.03,1,60,1000\n"
                                   "60,A,x,1.00,1,60,1000\n"
                                   "120,A,x,1.00,1,60,1000\n"
                                   "180,A,x,1.03,1,60,1000\n"
                                   "240,A,x,1.03,1,60,1000\n"
                                   "300,A,x,1.03,1,60,1000\n",
                              &conf);
    // Naive: A at 0m (1.03); below the floor at 1m: idle (a switch) for
    // 1m and 2m (-1/60 each); back on A at 3m (a switch) for 3m and 4m:
    // 1.03 + 1.03 + 1.03 - 2/60.
    assert_float_equal(r[MO_BT_NAIVE].profit, 3.09 - 2.0 / 60, EPS);
    assert_int_equal(r[MO_BT_NAIVE].switches, 2);
    assert_int_equal(r[MO_BT_NAIVE].idle_ms, 120000);
    assert_int_equal(r[MO_BT_NAIVE].mined_ms, 180000);
    // Hysteresis, two confirmations: 0m confirming, 1m-2m no coin above
    // the floor (the streak restarts), 3m confirming, 4m starts A: idle
    // four minutes, then 1.03.
    assert_float_equal(r[MO_BT_HYSTERESIS].profit, 1.03 - 4.0 / 60, EPS);
    assert_int_equal(r[MO_BT_HYSTERESIS].switches, 0);
    assert_int_equal(r[MO_BT_HYSTERESIS].idle_ms, 240000);
    assert_int_equal(r[MO_BT_HYSTERESIS].mined_ms, 60000);
    // Never: A all along, below the floor or not: 1.03 + 1 + 1 + 1.03 +
    // 1.03 = 5.09.
    assert_float_equal(r[MO_BT_NEVER].profit, 5.09, EPS);
    assert_int_equal(r[MO_BT_NEVER].idle_ms, 0);
    free(r);

    // Three confirmations from the start: idle at 0m and 1m, A from 2m:
    // 1 + 1, with idle at -1/60 a minute before.
    conf.sw.floor = 0;
    conf.sw.confirmations = 3;
    r = s_run(HEAD "0,A,x,1,1,60,1000\n60,A,x,1,1,60,1000\n"
                   "120,A,x,1,1,60,1000\n180,A,x,1,1,60,1000\n"
                   "240,A,x,1,1,60,1000\n",
              &conf);
    assert_float_equal(r[MO_BT_HYSTERESIS].profit, 2 - 2.0 / 60, EPS);
    assert_int_equal(r[MO_BT_HYSTERESIS].idle_ms, 120000);
    assert_int_equal(r[MO_BT_HYSTERESIS].switches, 0);
    assert_float_equal(r[MO_BT_NAIVE].profit, 4, EPS); // one confirmation
    free(r);

    // Nothing ever above the floor: everyone idle but never.
    conf.sw.floor = 1e9;
    r = s_run(HEAD "0,A,x,1,1,60,1000\n60,A,x,1,1,60,1000\n", &conf);
    assert_float_equal(r[MO_BT_NAIVE].profit, -1.0 / 60, EPS);
    assert_string_equal(r[MO_BT_NAIVE].final, "");
    assert_int_equal(r[MO_BT_HYSTERESIS].idle_ms, 60000);
    assert_float_equal(r[MO_BT_NEVER].profit, 1, EPS);
    free(r);
}

static void
test_mo_backtest_dwell_and_cost(void **state)
{
    (void)state;
    // B turns 10% better at 1m; hysteresis has a 2-minute dwell from its
    // start at 0m, so it moves at 2m. A switch costs 60 s of revenue:
    // 1440 x 1.10 / 1440 = 1.10 for B.
    mo_conf_t conf = s_conf();
    conf.sw.min_dwell_ms = 120000;
    conf.switch_cost_s = 60;
    mo_bt_result_t *r = s_run(HEAD "0,A,x,1,1,60,1000\n"
                                   "0,B,x,1,1,60,1000\n"
                                   "60,A,x,1,1,60,1000\n"
                                   "60,B,x,1.10,1,60,1000\n"
                                   "120,A,x,1,1,60,1000\n"
                                   "120,B,x,1.10,1,60,1000\n"
                                   "180,A,x,1,1,60,1000\n"
                                   "180,B,x,1.10,1,60,1000\n"
                                   "240,A,x,1,1,60,1000\n",
                              &conf);
    // Hysteresis: A (a tie at 0m goes to the first symbol) 0m, 1m; B 2m,
    // 3m: 1 + 1 + 1.10 + 1.10 - 1.10.
    assert_float_equal(r[MO_BT_HYSTERESIS].profit, 3.10, EPS);
    assert_int_equal(r[MO_BT_HYSTERESIS].switches, 1);
    assert_float_equal(r[MO_BT_HYSTERESIS].switch_cost, 1.10, EPS);
    // Naive: B from 1m: 1 + 3 x 1.10 - 1.10.
    assert_float_equal(r[MO_BT_NAIVE].profit, 3.20, EPS);
    // Never: A, 4 x 1.
    assert_float_equal(r[MO_BT_NEVER].profit, 4, EPS);
    free(r);
}

static void
test_mo_backtest_power_by_time_of_day_and_fee(void **state)
{
    (void)state;
    // 1000 W: 24 kWh a day. Flat 0.5 (12 a day, 1/120 a minute), but 2
    // per kWh from 00:01 to 00:02 UTC (48 a day, 1/30 a minute). A 10%
    // pool fee leaves 0.9 of each minute's revenue of 1.
    mo_conf_t conf = s_conf();
    conf.rig.algos[0].watts = 1000;
    conf.rig.kwh_price = 0.5;
    conf.rig.bands[0] = (mo_band_t){.from = 1, .to = 2, .price = 2};
    conf.rig.nbands = 1;
    conf.rig.pool_fee = 0.1;
    mo_bt_result_t *r = s_run(HEAD "0,A,x,1,1,60,1000\n"
                                   "60,A,x,1,1,60,1000\n"
                                   "120,A,x,1,1,60,1000\n",
                              &conf);
    // (0.9 - 1/120) + (0.9 - 1/30) = 1.758333...
    for (int s = 0; s < MO_BT_N; s++)
        assert_float_equal(r[s].profit, 1.8 - 1.0 / 120 - 1.0 / 30, EPS);
    free(r);
}

static void
test_mo_backtest_decides_smoothed_earns_raw(void **state)
{
    (void)state;
    // EMA 0.5: at 1m A is smoothed to 2.4 and B to 2.0, though B's tick
    // says 3.0. Naive stays on A (decisions see the smoothed market) and
    // earns A's ticks as they came: 2.2 + 2.6 = 4.8.
    mo_conf_t conf = s_conf();
    conf.smooth.ema_alpha = 0.5;
    mo_bt_result_t *r = s_run(HEAD "0,A,x,2.2,1,60,1000\n"
                                   "0,B,x,1.0,1,60,1000\n"
                                   "60,A,x,2.6,1,60,1000\n"
                                   "60,B,x,3.0,1,60,1000\n"
                                   "120,A,x,1,1,60,1000\n",
                              &conf);
    assert_float_equal(r[MO_BT_NAIVE].profit, 4.8, EPS);
    assert_int_equal(r[MO_BT_NAIVE].switches, 0);
    free(r);
}

static void
test_mo_backtest_stale_coins_left_out(void **state)
{
    (void)state;
    // B (1.10) ticks once, at 0m. With stale_after 1m it is a candidate at
    // 0m and 1m (age 1m), not at 2m: naive leaves it then for A. Earned
    // at B's last tick meanwhile: 1.10 + 1.10 + 1.00.
    static const char text[] = HEAD "0,A,x,1,1,60,1000\n"
                                    "0,B,x,1.10,1,60,1000\n"
                                    "60,A,x,1,1,60,1000\n"
                                    "120,A,x,1,1,60,1000\n"
                                    "180,A,x,1,1,60,1000\n";
    mo_conf_t conf = s_conf();
    conf.stale_ms = 60000;
    mo_bt_result_t *r = s_run(text, &conf);
    assert_float_equal(r[MO_BT_NAIVE].profit, 3.20, EPS);
    assert_int_equal(r[MO_BT_NAIVE].switches, 1);
    assert_string_equal(r[MO_BT_NAIVE].final, "A");
    // Never keeps mining B on its last figures: 3 x 1.10.
    assert_float_equal(r[MO_BT_NEVER].profit, 3.30, EPS);
    assert_string_equal(r[MO_BT_NEVER].final, "B");
    free(r);
    // No staleness limit: B stays a candidate.
    conf.stale_ms = 0;
    r = s_run(text, &conf);
    assert_float_equal(r[MO_BT_NAIVE].profit, 3.30, EPS);
    free(r);
}

static void
test_mo_backtest_series_bounded(void **state)
{
    (void)state;
    // 5001 minutes of a coin at 1: 5000 earned, in at most MO_BT_POINTS
    // points from (t0, 0) to (t_last, 5000), time and profit ascending.
    size_t n = 5001, cap = strlen(HEAD) + n * 32;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t at = (size_t)snprintf(text, cap, HEAD);
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(text + at, cap - at, "%zu,A,x,1,1,60,1000\n",
                               i * 60);
    mo_conf_t conf = s_conf();
    mo_bt_result_t *r = s_run(text, &conf);
    free(text);
    for (int s = 0; s < MO_BT_N; s++) {
        const mo_bt_result_t *x = &r[s];
        assert_float_equal(x->profit, 5000, EPS);
        assert_true(x->npoints > 1000 && x->npoints <= MO_BT_POINTS);
        assert_int_equal(x->points[0].ts, 0);
        assert_float_equal(x->points[0].profit, 0, 0);
        assert_int_equal(x->points[x->npoints - 1].ts, 5000 * 60000);
        assert_float_equal(x->points[x->npoints - 1].profit, 5000, EPS);
        for (size_t i = 1; i < x->npoints; i++) {
            assert_true(x->points[i].ts > x->points[i - 1].ts);
            assert_true(x->points[i].profit > x->points[i - 1].profit);
        }
    }
    free(r);

    // One timestamp: nothing earned, one point.
    r = s_run(HEAD "0,A,x,1,1,60,1000\n", &conf);
    assert_int_equal(r[MO_BT_NAIVE].steps, 1);
    assert_int_equal(r[MO_BT_NAIVE].npoints, 1);
    assert_float_equal(r[MO_BT_NAIVE].profit, 0, 0);
    free(r);
}

static void
test_mo_backtest_refuses_what_it_cannot_run(void **state)
{
    (void)state;
    mo_hist_t *h = NULL;
    static const char text[] = HEAD "0,A,x,1,1,60,1000\n";
    char err[512];
    assert_int_equal(
        mo_hist_parse(&h, "t.csv", text, strlen(text), err, sizeof err), 0);
    mo_bt_result_t *r = calloc(MO_BT_N, sizeof *r);
    assert_non_null(r);
    mo_conf_t conf = s_conf();
    conf.rig.nalgos = 0;
    assert_int_equal(mo_backtest_run(h, &conf, r, err, sizeof err),
                     AZO_EBADREQ);
    assert_non_null(strstr(err, "no algorithms"));
    conf = s_conf();
    snprintf(conf.rig.algos[0].name, sizeof conf.rig.algos[0].name, "y");
    assert_int_equal(mo_backtest_run(h, &conf, r, err, sizeof err),
                     AZO_EBADREQ);
    assert_non_null(strstr(err, "no coin of the history has an algorithm of "
                                "the rig (y)"));
    free(r);
    mo_hist_destroy(&h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mo_backtest_naive_flaps_hysteresis_holds),
        cmocka_unit_test(test_mo_backtest_idle_below_floor),
        cmocka_unit_test(test_mo_backtest_dwell_and_cost),
        cmocka_unit_test(test_mo_backtest_power_by_time_of_day_and_fee),
        cmocka_unit_test(test_mo_backtest_decides_smoothed_earns_raw),
        cmocka_unit_test(test_mo_backtest_stale_coins_left_out),
        cmocka_unit_test(test_mo_backtest_series_bounded),
        cmocka_unit_test(test_mo_backtest_refuses_what_it_cannot_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
