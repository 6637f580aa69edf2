// test_mo_calc — the mining optimizer's profit arithmetic, checked against
// values computed by hand (the arithmetic is in the comments): coins per
// day from the network share and from the difficulty, revenue after the
// pool fee, power cost and profit to the cent, idle cost, time-of-day
// electricity (bands wrapping midnight, the UTC offset) and the hashrate
// and band parsers.
#include "mo_calc.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

// 2024-01-01 00:00:00 UTC in Unix milliseconds (1704067200 s).
#define DAY0_MS INT64_C(1704067200000)

// UTC h:m on 2024-01-01 plus days, in Unix milliseconds.
static int64_t
s_utc(int days, int h, int m)
{
    return DAY0_MS + ((int64_t)days * 1440 + h * 60 + m) * 60000;
}

// Fails unless |got - want| <= tol, printing both.
static void
s_near(double got, double want, double tol, int line)
{
    if (!(fabs(got - want) <= tol)) {
        print_error("line %d: got %.12g, want %.12g (tol %g)\n", line, got,
                    want, tol);
        fail();
    }
}
#define assert_near(got, want, tol) s_near((got), (want), (tol), __LINE__)
// Money to the cent.
#define assert_cents(got, want) s_near((got), (want), 0.005, __LINE__)
// Coin amounts: relative 1e-9.
#define assert_rel(got, want) s_near((got), (want), fabs(want) * 1e-9, __LINE__)

// A BTC-like coin: reward 3.125, one block per 600 s (144 a day), price
// 60000, network 500 EH/s (5e20 H/s).
static mo_coin_t
s_btc(void)
{
    mo_coin_t c = {.symbol = "BTC",
                   .algo = "sha256",
                   .price = 60000,
                   .block_reward = 3.125,
                   .block_time = 600,
                   .net_hashrate = 500e18};
    return c;
}

static void
test_mo_calc_coins_network_share(void **state)
{
    (void)state;
    mo_coin_t c = s_btc();
    // 100 TH/s of 500 EH/s: 100e12 / 500e18 = 2e-7 of the blocks;
    // 86400 / 600 = 144 blocks a day; 2e-7 * 144 * 3.125 = 9e-5 BTC/day.
    assert_rel(mo_coins_per_day(&c, 100e12), 9e-5);
    // Linear in the hashrate: 110 TH/s -> 2.2e-7 * 450 = 9.9e-5.
    assert_rel(mo_coins_per_day(&c, 110e12), 9.9e-5);
    // A 60 s block time: 1440 blocks a day, 2e-7 * 1440 * 3.125 = 9e-4.
    c.block_time = 60;
    assert_rel(mo_coins_per_day(&c, 100e12), 9e-4);
    // No hashrate, no coins.
    assert_true(mo_coins_per_day(&c, 0) == 0);
}

static void
test_mo_calc_coins_difficulty(void **state)
{
    (void)state;
    mo_coin_t c = s_btc();
    c.net_hashrate = 0;
    c.difficulty = 1e14;
    // H * R * 86400 / (D * 2^32)
    //   = 100e12 * 3.125 * 86400 / (1e14 * 4294967296)
    //   = 3.125 * 86400 / 4294967296 = 270000 / 4294967296
    //   = 6.28642737865448e-5 BTC/day.
    assert_rel(mo_coins_per_day(&c, 100e12), 6.28642737865448e-5);
    // The two forms agree when N = D * 2^32 / block_time: the expected
    // hashes per block over the seconds per block.
    mo_coin_t n = s_btc();
    n.net_hashrate = 1e14 * 4294967296.0 / 600;
    assert_rel(mo_coins_per_day(&n, 100e12), 6.28642737865448e-5);
}

static void
test_mo_calc_coins_both_forms_use_net_hashrate(void **state)
{
    (void)state;
    mo_coin_t c = s_btc();
    c.difficulty = 1e14; // would give 6.286e-5
    assert_rel(mo_coins_per_day(&c, 100e12), 9e-5);
    // Neither figure: no number, and mo_profit refuses it.
    c.net_hashrate = 0;
    c.difficulty = 0;
    assert_true(isnan(mo_coins_per_day(&c, 100e12)));
    mo_rig_t rig = {.pool_fee = 0.01};
    mo_algo_t a = {.name = "sha256", .hashrate = 100e12, .watts = 3250};
    mo_profit_t p = {.coins = -7, .revenue = -7, .power = -7, .profit = -7};
    assert_false(mo_profit(&rig, &a, &c, 0.12, &p));
    assert_true(p.coins == -7 && p.revenue == -7 && p.power == -7 &&
                p.profit == -7); // left as it was
}

static void
test_mo_calc_profit_s19_at_12_cents(void **state)
{
    (void)state;
    // An S19-like rig: 110 TH/s, 3250 W, 1% pool fee, 0.12 per kWh.
    mo_rig_t rig = {.pool_fee = 0.01, .kwh_price = 0.12};
    mo_algo_t a = {.name = "sha256", .hashrate = 110e12, .watts = 3250};
    mo_coin_t c = s_btc();
    mo_profit_t p;
    assert_true(mo_profit(&rig, &a, &c, 0.12, &p));
    // coins   = 110e12 / 500e18 * 144 * 3.125 = 9.9e-5 BTC
    // revenue = 9.9e-5 * 60000 * (1 - 0.01) = 5.94 * 0.99 = 5.8806
    // power   = 3250 W * 24 h / 1000 = 78 kWh * 0.12 = 9.36
    // profit  = 5.8806 - 9.36 = -3.4794 (a loss)
    assert_rel(p.coins, 9.9e-5);
    assert_cents(p.revenue, 5.88);
    assert_cents(p.power, 9.36);
    assert_cents(p.profit, -3.48);
    assert_near(p.profit, -3.4794, 1e-9);
}

static void
test_mo_calc_profit_s21_at_5_cents(void **state)
{
    (void)state;
    // An S21-like rig: 200 TH/s, 3500 W, 2% pool fee, 0.05 per kWh.
    mo_rig_t rig = {.pool_fee = 0.02};
    mo_algo_t a = {.name = "sha256", .hashrate = 200e12, .watts = 3500};
    mo_coin_t c = s_btc();
    mo_profit_t p;
    assert_true(mo_profit(&rig, &a, &c, 0.05, &p));
    // coins   = 200e12 / 500e18 * 144 * 3.125 = 4e-7 * 450 = 1.8e-4 BTC
    // revenue = 1.8e-4 * 60000 * 0.98 = 10.8 * 0.98 = 10.584
    // power   = 3500 * 24 / 1000 = 84 kWh * 0.05 = 4.20
    // profit  = 10.584 - 4.20 = 6.384
    assert_rel(p.coins, 1.8e-4);
    assert_cents(p.revenue, 10.58);
    assert_cents(p.power, 4.20);
    assert_cents(p.profit, 6.38);
    assert_near(p.profit, 6.384, 1e-9);
    // No pool fee: revenue 10.80, profit 6.60.
    rig.pool_fee = 0;
    assert_true(mo_profit(&rig, &a, &c, 0.05, &p));
    assert_cents(p.revenue, 10.80);
    assert_cents(p.profit, 6.60);
}

static void
test_mo_calc_profit_difficulty_form(void **state)
{
    (void)state;
    mo_rig_t rig = {.pool_fee = 0.01};
    mo_algo_t a = {.name = "sha256", .hashrate = 100e12, .watts = 3250};
    mo_coin_t c = s_btc();
    c.net_hashrate = 0;
    c.difficulty = 1e14;
    mo_profit_t p;
    assert_true(mo_profit(&rig, &a, &c, 0.12, &p));
    // coins   = 270000 / 2^32 = 6.28642737865448e-5
    // revenue = 6.28642737865448e-5 * 60000 * 0.99
    //         = 3.77185642719269 * 0.99 = 3.73413786292076
    // power   = 78 kWh * 0.12 = 9.36
    // profit  = 3.73413786292076 - 9.36 = -5.62586213707924
    assert_cents(p.revenue, 3.73);
    assert_cents(p.power, 9.36);
    assert_cents(p.profit, -5.63);
    assert_near(p.profit, -5.62586213707924, 1e-9);
}

static void
test_mo_calc_idle_profit(void **state)
{
    (void)state;
    // 50 W idle: 50 * 24 / 1000 = 1.2 kWh a day; at 0.12 -> 0.144 lost.
    mo_rig_t rig = {.idle_watts = 50};
    assert_near(mo_idle_profit(&rig, 0.12), -0.144, 1e-12);
    // 120 W at 0.30: 2.88 kWh * 0.30 = 0.864.
    rig.idle_watts = 120;
    assert_cents(mo_idle_profit(&rig, 0.30), -0.86);
    rig.idle_watts = 0;
    assert_true(mo_idle_profit(&rig, 0.30) == 0);
}

static void
test_mo_calc_rig_algo(void **state)
{
    (void)state;
    mo_rig_t rig = {.nalgos = 2,
                    .algos = {{.name = "sha256", .hashrate = 110e12},
                              {.name = "scrypt", .hashrate = 9.5e9}}};
    assert_ptr_equal(mo_rig_algo(&rig, "scrypt"), &rig.algos[1]);
    assert_ptr_equal(mo_rig_algo(&rig, "sha256"), &rig.algos[0]);
    assert_null(mo_rig_algo(&rig, "ethash"));
    assert_null(mo_rig_algo(&rig, "sha"));
}

// Flat 0.20 outside two bands, on a clock at UTC+2: 22:00-06:00 (wraps
// midnight) at 0.08 and 17:00-21:00 at 0.30.
static mo_rig_t
s_banded(int utc_offset_min)
{
    mo_rig_t rig = {.kwh_price = 0.20,
                    .nbands = 2,
                    .bands = {{.from = 22 * 60, .to = 6 * 60, .price = 0.08},
                              {.from = 17 * 60, .to = 21 * 60, .price = 0.30}},
                    .utc_offset_min = utc_offset_min};
    return rig;
}

static void
test_mo_calc_kwh_price_flat(void **state)
{
    (void)state;
    mo_rig_t rig = {.kwh_price = 0.12, .utc_offset_min = 120};
    assert_true(mo_rig_kwh_price(&rig, s_utc(0, 0, 0)) == 0.12);
    assert_true(mo_rig_kwh_price(&rig, s_utc(0, 18, 0)) == 0.12);
    assert_true(mo_rig_kwh_price(&rig, s_utc(0, 23, 59)) == 0.12);
}

static void
test_mo_calc_kwh_price_bands_wrap_midnight(void **state)
{
    (void)state;
    mo_rig_t rig = s_banded(120); // local = UTC + 2 h
    // UTC 19:59 -> local 21:59: between the bands, flat.
    assert_true(mo_rig_kwh_price(&rig, s_utc(0, 19, 59)) == 0.20);
    // UTC 20:00 -> local 22:00: the night band starts (from is inclusive).
    assert_true(mo_rig_kwh_price(&rig, s_utc(0, 20, 0)) == 0.08);
    // UTC 21:30 -> local 23:30; UTC 22:00 -> local 00:00 the next day;
    // UTC 23:00 -> local 01:00; UTC 03:59 -> local 05:59: all night.
    assert_true(mo_rig_kwh_price(&rig, s_utc(0, 21, 30)) == 0.08);
    assert_true(mo_rig_kwh_price(&rig, s_utc(0, 22, 0)) == 0.08);
    assert_true(mo_rig_kwh_price(&rig, s_utc(0, 23, 0)) == 0.08);
    assert_true(mo_rig_kwh_price(&rig, s_utc(1, 3, 59)) == 0.08);
    // UTC 04:00 -> local 06:00: the band has ended (to is exclusive).
    assert_true(mo_rig_kwh_price(&rig, s_utc(1, 4, 0)) == 0.20);
    // UTC 14:59 -> 16:59 flat; UTC 15:00 -> 17:00 peak; UTC 18:59 ->
    // 20:59 peak; UTC 19:00 -> 21:00 flat again.
    assert_true(mo_rig_kwh_price(&rig, s_utc(1, 14, 59)) == 0.20);
    assert_true(mo_rig_kwh_price(&rig, s_utc(1, 15, 0)) == 0.30);
    assert_true(mo_rig_kwh_price(&rig, s_utc(1, 18, 59)) == 0.30);
    assert_true(mo_rig_kwh_price(&rig, s_utc(1, 19, 0)) == 0.20);
    // Seconds within a minute count as that minute: 19:59:59.999 UTC.
    assert_true(mo_rig_kwh_price(&rig, s_utc(1, 19, 59) + 59999) == 0.20);
    assert_true(mo_rig_kwh_price(&rig, s_utc(1, 19, 59) + 60000) == 0.08);
}

static void
test_mo_calc_kwh_price_utc_offset(void **state)
{
    (void)state;
    // UTC: the bands read as UTC.
    mo_rig_t utc = s_banded(0);
    assert_true(mo_rig_kwh_price(&utc, s_utc(0, 20, 0)) == 0.30);
    assert_true(mo_rig_kwh_price(&utc, s_utc(0, 22, 0)) == 0.08);
    assert_true(mo_rig_kwh_price(&utc, s_utc(0, 6, 0)) == 0.20);
    // UTC-5: UTC 03:00 -> local 22:00 the day before (night); UTC 01:00
    // -> local 20:00 (peak); UTC 11:00 -> local 06:00 (flat); UTC 10:59 ->
    // local 05:59 (night).
    mo_rig_t west = s_banded(-300);
    assert_true(mo_rig_kwh_price(&west, s_utc(0, 3, 0)) == 0.08);
    assert_true(mo_rig_kwh_price(&west, s_utc(0, 1, 0)) == 0.30);
    assert_true(mo_rig_kwh_price(&west, s_utc(0, 11, 0)) == 0.20);
    assert_true(mo_rig_kwh_price(&west, s_utc(0, 10, 59)) == 0.08);
    // UTC+14 (Kiribati): UTC 08:00 -> local 22:00.
    mo_rig_t east = s_banded(14 * 60);
    assert_true(mo_rig_kwh_price(&east, s_utc(0, 8, 0)) == 0.08);
    assert_true(mo_rig_kwh_price(&east, s_utc(0, 7, 59)) == 0.20);
}

static void
test_mo_calc_kwh_price_band_to_midnight(void **state)
{
    (void)state;
    // 22:00-24:00 (to = 1440) at 0.05, UTC.
    mo_rig_t rig = {
        .kwh_price = 0.20,
        .nbands = 1,
        .bands = {{.from = 22 * 60, .to = 1440, .price = 0.05}},
    };
    assert_true(mo_rig_kwh_price(&rig, s_utc(0, 21, 59)) == 0.20);
    assert_true(mo_rig_kwh_price(&rig, s_utc(0, 22, 0)) == 0.05);
    assert_true(mo_rig_kwh_price(&rig, s_utc(0, 23, 59)) == 0.05);
    assert_true(mo_rig_kwh_price(&rig, s_utc(1, 0, 0)) == 0.20);
}

static void
test_mo_calc_parse_hashrate(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double want;
    } good[] = {{"95M", 95e6},        {"110 TH/s", 110e12}, {"1.5 kH/s", 1500},
                {"1200", 1200},       {"1200 H/s", 1200},   {"7GH", 7e9},
                {"3 PH/s", 3e15},     {"0.5 EH/s", 0.5e18}, {"2E", 2e18},
                {"12.5 MH/s", 12.5e6}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        double v = -1;
        assert_int_equal(mo_parse_hashrate(good[i].text, &v), 0);
        if (fabs(v - good[i].want) > good[i].want * 1e-12) {
            print_error("%s: got %.17g, want %.17g\n", good[i].text, v,
                        good[i].want);
            fail();
        }
    }
    static const char *const bad[] = {
        "x",        "-1",     "5Q",       "",          "TH/s",
        "5 TH/s x", "5 mH/s", "5 TH/sec", "nan",       "inf",
        "1e400",    "5 kk",   "5 H/s ",   "-0.5 GH/s", "5 T H/s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v = 42;
        if (mo_parse_hashrate(bad[i], &v) != -EINVAL) {
            print_error("\"%s\" accepted\n", bad[i]);
            fail();
        }
        assert_true(v == 42); // left as it was
    }
}

static void
test_mo_calc_parse_band(void **state)
{
    (void)state;
    int from = -1, to = -1;
    assert_int_equal(mo_parse_band("08:30-17:45", &from, &to), 0);
    assert_int_equal(from, 8 * 60 + 30); // 510
    assert_int_equal(to, 17 * 60 + 45);  // 1065
    // Wraps midnight: to < from.
    assert_int_equal(mo_parse_band("22:00-06:00", &from, &to), 0);
    assert_int_equal(from, 1320);
    assert_int_equal(to, 360);
    // 24:00 is the end of the day.
    assert_int_equal(mo_parse_band("22:00-24:00", &from, &to), 0);
    assert_int_equal(from, 1320);
    assert_int_equal(to, 1440);
    assert_int_equal(mo_parse_band("00:00-00:01", &from, &to), 0);
    assert_int_equal(from, 0);
    assert_int_equal(to, 1);
    assert_int_equal(mo_parse_band("23:59-00:00", &from, &to), 0);
    assert_int_equal(from, 1439);
    assert_int_equal(to, 0);

    static const char *const bad[] = {
        "25:00-01:00",                // no hour 25
        "10:00-10:00",                // empty
        "00:00-24:00",                // the whole day: the flat price
        "1:00-2:00x",                 // trailing junk
        "10:60-11:00",                // no minute 60
        "10:00-11:60", "24:00-01:00", // a band cannot start at 24:00
        "10:00-24:01", "-1:00-02:00", "10:00",       "10:00-", "",
        "ab:cd-ef:gh", "10:00 11:00", "10:00-11:00 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        from = to = 42;
        if (mo_parse_band(bad[i], &from, &to) != -EINVAL) {
            print_error("\"%s\" accepted\n", bad[i]);
            fail();
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mo_calc_coins_network_share),
        cmocka_unit_test(test_mo_calc_coins_difficulty),
        cmocka_unit_test(test_mo_calc_coins_both_forms_use_net_hashrate),
        cmocka_unit_test(test_mo_calc_profit_s19_at_12_cents),
        cmocka_unit_test(test_mo_calc_profit_s21_at_5_cents),
        cmocka_unit_test(test_mo_calc_profit_difficulty_form),
        cmocka_unit_test(test_mo_calc_idle_profit),
        cmocka_unit_test(test_mo_calc_rig_algo),
        cmocka_unit_test(test_mo_calc_kwh_price_flat),
        cmocka_unit_test(test_mo_calc_kwh_price_bands_wrap_midnight),
        cmocka_unit_test(test_mo_calc_kwh_price_utc_offset),
        cmocka_unit_test(test_mo_calc_kwh_price_band_to_midnight),
        cmocka_unit_test(test_mo_calc_parse_hashrate),
        cmocka_unit_test(test_mo_calc_parse_band),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
