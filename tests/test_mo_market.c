// test_mo_market — ticks validated field by field (each error names its
// field), integer and float msgpack numbers, the per-coin EMA and outlier
// holding: a jump is held, dropped when the price comes back, confirmed
// by later ticks near it; only the price is held.
#include "mo_market.h"

#include "azo_err.h"
#include "azo_mp.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

// One map entry to pack: kind 's' string, 'd' float64, 'f' float32, 'i'
// integer, 'n' nil, 'a' an empty array; '-' in a patch leaves the key out.
typedef struct {
    const char *key;
    char kind;
    const char *s;
    double d;
    int64_t i;
} kv_t;

// A valid tick: BTC on sha256 at 60000, reward 3.125 (float32, exact),
// block time 600 (integer), network 5e20 H/s (float64).
static const kv_t s_base[] = {
    {"symbol", 's', "BTC", 0, 0},      {"algorithm", 's', "sha256", 0, 0},
    {"price", 'i', NULL, 0, 60000},    {"block_reward", 'f', NULL, 3.125, 0},
    {"block_time", 'i', NULL, 0, 600}, {"net_hashrate", 'd', NULL, 500e18, 0},
};
#define NBASE (sizeof s_base / sizeof s_base[0])

// A packed and decoded map; obj points into sb and zone.
typedef struct {
    msgpack_sbuffer sb;
    msgpack_zone zone;
    msgpack_object obj;
} mp_t;

static void
s_pack_val(msgpack_packer *pk, const kv_t *e)
{
    switch (e->kind) {
    case 's':
        azo_pack_str(pk, e->s);
        break;
    case 'd':
        msgpack_pack_double(pk, e->d);
        break;
    case 'f':
        msgpack_pack_float(pk, (float)e->d);
        break;
    case 'i':
        msgpack_pack_int64(pk, e->i);
        break;
    case 'n':
        msgpack_pack_nil(pk);
        break;
    case 'a':
        msgpack_pack_array(pk, 0);
        break;
    default:
        fail_msg("kind %c", e->kind);
    }
}

// Packs s_base with each of patch[0..np) replacing the entry of its key
// (kind '-': removing it) or, for a new key, added at the end; decodes the
// result into m->obj.
static void
s_tick(mp_t *m, const kv_t *patch, size_t np)
{
    const kv_t *out[NBASE + 8];
    size_t n = 0;
    for (size_t i = 0; i < NBASE; i++) {
        const kv_t *e = &s_base[i];
        for (size_t j = 0; j < np; j++)
            if (strcmp(patch[j].key, e->key) == 0)
                e = &patch[j];
        if (e->kind != '-')
            out[n++] = e;
    }
    for (size_t j = 0; j < np; j++) {
        bool known = false;
        for (size_t i = 0; i < NBASE; i++)
            known |= strcmp(patch[j].key, s_base[i].key) == 0;
        if (!known && patch[j].kind != '-') {
            assert_true(n < sizeof out / sizeof out[0]);
            out[n++] = &patch[j];
        }
    }
    msgpack_sbuffer_init(&m->sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &m->sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, n);
    for (size_t i = 0; i < n; i++) {
        azo_pack_str(&pk, out[i]->key);
        s_pack_val(&pk, out[i]);
    }
    assert_int_equal(azo_mp_check(m->sb.data, m->sb.size, NULL, 0), 0);
    assert_true(msgpack_zone_init(&m->zone, 1024));
    assert_int_equal(azo_mp_unpack(m->sb.data, m->sb.size, &m->zone, &m->obj),
                     0);
}

static void
s_fini(mp_t *m)
{
    msgpack_zone_destroy(&m->zone);
    msgpack_sbuffer_destroy(&m->sb);
}

// Parses s_base patched by one entry; returns the code, the message in err.
static int
s_parse1(kv_t patch, mo_coin_t *c, int64_t *ts, char *err, size_t errlen)
{
    mp_t m;
    s_tick(&m, &patch, 1);
    int rc = mo_tick_parse(&m.obj, "ticks[2]", c, ts, err, errlen);
    s_fini(&m);
    return rc;
}

// Expects patch to be rejected with exactly the message want.
static void
s_bad(kv_t patch, const char *want, int line)
{
    mo_coin_t c;
    int64_t ts;
    char err[256] = "";
    int rc = s_parse1(patch, &c, &ts, err, sizeof err);
    if (rc != AZO_EBADREQ || strcmp(err, want) != 0) {
        print_error("line %d: rc %d, err \"%s\"; want \"%s\"\n", line, rc, err,
                    want);
        fail();
    }
}
#define assert_bad(patch, want) s_bad((patch), (want), __LINE__)

#define SYMBOL_ERR                                                             \
    "ticks[2].symbol: expected 1-15 letters, digits, '.', '_' or '-'"
#define ALGO_ERR                                                               \
    "ticks[2].algorithm: expected 1-31 letters, digits, '.', '_' or '-'"

static void
test_mo_market_tick_parse_valid(void **state)
{
    (void)state;
    mo_coin_t c;
    int64_t ts = 42;
    char err[256] = "";
    // The base: integer price and block time, float32 reward, float64
    // network hashrate; no ts.
    assert_int_equal(s_parse1((kv_t){"x-extra", 's', "ignored", 0, 0}, &c, &ts,
                              err, sizeof err),
                     0);
    assert_string_equal(c.symbol, "BTC");
    assert_string_equal(c.algo, "sha256");
    assert_true(c.price == 60000);
    assert_true(c.block_reward == 3.125);
    assert_true(c.block_time == 600);
    assert_true(c.net_hashrate == 500e18);
    assert_true(c.difficulty == 0);
    assert_int_equal(ts, 0);
    // Floats where the base has integers, an integer difficulty instead
    // of a network hashrate, and a ts.
    mp_t m;
    kv_t p[] = {
        {"price", 'd', NULL, 60123.45, 0},
        {"block_time", 'f', NULL, 600.5, 0},
        {"block_reward", 'i', NULL, 0, 6},
        {"net_hashrate", '-', NULL, 0, 0},
        {"difficulty", 'i', NULL, 0, INT64_C(83148355189239)},
        {"ts", 'i', NULL, 0, INT64_C(1704067200000)},
        {"symbol", 's', "my_coin-2.x", 0, 0},
    };
    s_tick(&m, p, sizeof p / sizeof p[0]);
    assert_int_equal(mo_tick_parse(&m.obj, "t", &c, &ts, err, sizeof err), 0);
    s_fini(&m);
    assert_string_equal(c.symbol, "my_coin-2.x");
    assert_true(c.price == 60123.45);
    assert_true(c.block_time == 600.5);
    assert_true(c.block_reward == 6);
    assert_true(c.net_hashrate == 0);
    assert_true(c.difficulty == 83148355189239.0);
    assert_true(ts == INT64_C(1704067200000));
    // Both network figures are kept (mo_calc prefers net_hashrate).
    assert_int_equal(s_parse1((kv_t){"difficulty", 'd', NULL, 1e14, 0}, &c, &ts,
                              err, sizeof err),
                     0);
    assert_true(c.net_hashrate == 500e18 && c.difficulty == 1e14);
    // The longest symbol: 15 characters.
    assert_int_equal(s_parse1((kv_t){"symbol", 's', "ABCDEFGHIJKLMNO", 0, 0},
                              &c, &ts, err, sizeof err),
                     0);
    assert_string_equal(c.symbol, "ABCDEFGHIJKLMNO");
}

static void
test_mo_market_tick_parse_names_symbol_and_algorithm(void **state)
{
    (void)state;
    assert_bad(((kv_t){"symbol", '-', NULL, 0, 0}), SYMBOL_ERR);
    assert_bad(((kv_t){"symbol", 's', "", 0, 0}), SYMBOL_ERR);
    assert_bad(((kv_t){"symbol", 's', "BT C", 0, 0}), SYMBOL_ERR);
    assert_bad(((kv_t){"symbol", 's', "BTC/USD", 0, 0}), SYMBOL_ERR);
    assert_bad(((kv_t){"symbol", 's', "BTC\n", 0, 0}), SYMBOL_ERR);
    assert_bad(((kv_t){"symbol", 's', "ABCDEFGHIJKLMNOP", 0, 0}),
               SYMBOL_ERR); // 16 characters
    assert_bad(((kv_t){"symbol", 'i', NULL, 0, 7}), SYMBOL_ERR);
    assert_bad(((kv_t){"algorithm", '-', NULL, 0, 0}), ALGO_ERR);
    assert_bad(((kv_t){"algorithm", 's', "sha 256", 0, 0}), ALGO_ERR);
    assert_bad(
        ((kv_t){"algorithm", 's', "abcdefghijklmnopqrstuvwxyz012345", 0, 0}),
        ALGO_ERR); // 32 characters
}

static void
test_mo_market_tick_parse_names_numbers(void **state)
{
    (void)state;
    assert_bad(((kv_t){"price", '-', NULL, 0, 0}),
               "ticks[2].price: expected a positive number (missing)");
    assert_bad(((kv_t){"price", 'i', NULL, 0, 0}),
               "ticks[2].price: expected a positive number");
    assert_bad(((kv_t){"price", 'd', NULL, 0.0, 0}),
               "ticks[2].price: expected a positive number");
    assert_bad(((kv_t){"price", 'i', NULL, 0, -5}),
               "ticks[2].price: expected a positive number");
    assert_bad(((kv_t){"price", 'd', NULL, -0.01, 0}),
               "ticks[2].price: expected a positive number");
    assert_bad(((kv_t){"price", 's', "60000", 0, 0}),
               "ticks[2].price: expected a positive number");
    assert_bad(((kv_t){"price", 'n', NULL, 0, 0}),
               "ticks[2].price: expected a positive number");
    assert_bad(((kv_t){"price", 'd', NULL, NAN, 0}),
               "ticks[2].price: expected a positive number");
    assert_bad(((kv_t){"price", 'd', NULL, INFINITY, 0}),
               "ticks[2].price: expected a positive number");
    assert_bad(((kv_t){"block_reward", '-', NULL, 0, 0}),
               "ticks[2].block_reward: expected a positive number "
               "(missing)");
    assert_bad(((kv_t){"block_reward", 'd', NULL, -3.125, 0}),
               "ticks[2].block_reward: expected a positive number");
    assert_bad(((kv_t){"block_time", '-', NULL, 0, 0}),
               "ticks[2].block_time: expected a positive number (missing)");
    assert_bad(((kv_t){"block_time", 'a', NULL, 0, 0}),
               "ticks[2].block_time: expected a positive number");
    // The network figures are optional one by one, but a present one must
    // be a positive number, and one of them must be there.
    assert_bad(((kv_t){"net_hashrate", '-', NULL, 0, 0}),
               "ticks[2].net_hashrate: expected net_hashrate or difficulty "
               "(a positive number)");
    assert_bad(((kv_t){"net_hashrate", 'i', NULL, 0, 0}),
               "ticks[2].net_hashrate: expected a positive number");
    assert_bad(((kv_t){"difficulty", 's', "1e14", 0, 0}),
               "ticks[2].difficulty: expected a positive number");
    assert_bad(((kv_t){"difficulty", 'd', NULL, -1e14, 0}),
               "ticks[2].difficulty: expected a positive number");
}

static void
test_mo_market_tick_parse_names_ts(void **state)
{
    (void)state;
    static const char want[] = "ticks[2].ts: expected Unix milliseconds";
    assert_bad(((kv_t){"ts", 'i', NULL, 0, -1}), want);
    assert_bad(((kv_t){"ts", 'd', NULL, 1704067200000.5, 0}), want);
    assert_bad(((kv_t){"ts", 's', "1704067200000", 0, 0}), want);
    assert_bad(((kv_t){"ts", 'n', NULL, 0, 0}), want);
    // 0 is a valid (if odd) time.
    mo_coin_t c;
    int64_t ts = 42;
    char err[128];
    assert_int_equal(
        s_parse1((kv_t){"ts", 'i', NULL, 0, 0}, &c, &ts, err, sizeof err), 0);
    assert_int_equal(ts, 0);
}

static void
test_mo_market_tick_parse_not_a_map(void **state)
{
    (void)state;
    mo_coin_t c;
    int64_t ts;
    char err[128] = "";
    msgpack_object o = {.type = MSGPACK_OBJECT_ARRAY};
    assert_int_equal(mo_tick_parse(&o, "ticks[0]", &c, &ts, err, sizeof err),
                     AZO_EBADREQ);
    assert_string_equal(err, "ticks[0]: expected a map");
    assert_int_equal(mo_tick_parse(NULL, "tick", &c, &ts, err, sizeof err),
                     AZO_EBADREQ);
    assert_string_equal(err, "tick: expected a map");
}

// A coin for mo_market_apply: BTC-like at price p.
static mo_coin_t
s_coin(const char *sym, double p)
{
    mo_coin_t c = {.price = p,
                   .block_reward = 3.125,
                   .block_time = 600,
                   .net_hashrate = 500e18};
    snprintf(c.symbol, sizeof c.symbol, "%s", sym);
    snprintf(c.algo, sizeof c.algo, "sha256");
    return c;
}

// A market smoothing with alpha, holding jumps beyond factor until
// confirm ticks.
static mo_market_t *
s_market(double alpha, double factor, int confirm)
{
    mo_smooth_t sm = {.ema_alpha = alpha,
                      .outlier_factor = factor,
                      .outlier_confirm = confirm};
    mo_market_t *mk = mo_market_new(&sm);
    assert_non_null(mk);
    return mk;
}

// Applies BTC at price p, expecting result want; returns the coin.
static const mo_mcoin_t *
s_apply(mo_market_t *mk, double p, int want, int line)
{
    mo_coin_t c = s_coin("BTC", p);
    int rc = mo_market_apply(mk, &c, 1000);
    if (rc != want) {
        print_error("line %d: price %g: %s, want %s\n", line, p,
                    mo_tick_name(rc), mo_tick_name(want));
        fail();
    }
    return mo_market_get(mk, "BTC");
}
#define apply(mk, p, want) s_apply((mk), (p), (want), __LINE__)

static void
test_mo_market_ema(void **state)
{
    (void)state;
    mo_market_t *mk = s_market(0.5, 0, 0);
    // The first price is taken as is; then p' = 0.5 * new + 0.5 * p:
    // 100; 0.5 * 110 + 0.5 * 100 = 105; 0.5 * 120 + 0.5 * 105 = 112.5.
    assert_true(apply(mk, 100, MO_TICK_ACCEPTED)->c.price == 100);
    assert_true(apply(mk, 110, MO_TICK_ACCEPTED)->c.price == 105);
    const mo_mcoin_t *m = apply(mk, 120, MO_TICK_ACCEPTED);
    assert_true(m->c.price == 112.5);
    assert_true(m->last_price == 120); // the raw price
    assert_int_equal(m->ticks, 3);
    assert_int_equal(m->held_total, 0);
    mo_market_destroy(&mk);
    assert_null(mk);
    mo_market_destroy(&mk); // NULL-safe

    // alpha 0.2: 100, then 0.2 * 200 + 0.8 * 100 = 120, then
    // 0.2 * 50 + 0.8 * 120 = 106.
    mk = s_market(0.2, 0, 0);
    apply(mk, 100, MO_TICK_ACCEPTED);
    assert_true(fabs(apply(mk, 200, MO_TICK_ACCEPTED)->c.price - 120) < 1e-9);
    assert_true(fabs(apply(mk, 50, MO_TICK_ACCEPTED)->c.price - 106) < 1e-9);
    mo_market_destroy(&mk);

    // alpha 1: no smoothing.
    mk = s_market(1, 0, 0);
    apply(mk, 100, MO_TICK_ACCEPTED);
    assert_true(apply(mk, 130, MO_TICK_ACCEPTED)->c.price == 130);
    mo_market_destroy(&mk);
}

static void
test_mo_market_outlier_dropped(void **state)
{
    (void)state;
    mo_market_t *mk = s_market(0.5, 3, 2);
    apply(mk, 100, MO_TICK_ACCEPTED);
    // 400 > 100 * 3 = 300: held, the price stays 100.
    const mo_mcoin_t *m = apply(mk, 400, MO_TICK_HELD);
    assert_true(m->c.price == 100);
    assert_true(m->held_price == 400);
    assert_int_equal(m->held_n, 1);
    assert_int_equal(m->held_total, 1);
    assert_true(m->last_price == 100);
    // Back to 120 (within 100 / 3 .. 100 * 3): the jump is dropped and the
    // EMA goes on from 100: 0.5 * 120 + 0.5 * 100 = 110.
    m = apply(mk, 120, MO_TICK_DROPPED);
    assert_true(m->c.price == 110);
    assert_true(m->held_price == 0);
    assert_int_equal(m->held_n, 0);
    assert_int_equal(m->ticks, 3);
    // And then plain ticks again: 0.5 * 100 + 0.5 * 110 = 105.
    assert_true(apply(mk, 100, MO_TICK_ACCEPTED)->c.price == 105);
    // Exactly the factor is not a jump: 100 * 3 = 300 (last raw 100):
    // 0.5 * 300 + 0.5 * 105 = 202.5.
    assert_true(apply(mk, 300, MO_TICK_ACCEPTED)->c.price == 202.5);
    mo_market_destroy(&mk);
}

static void
test_mo_market_outlier_confirmed(void **state)
{
    (void)state;
    mo_market_t *mk = s_market(0.5, 3, 2);
    apply(mk, 100, MO_TICK_ACCEPTED);
    assert_true(apply(mk, 400, MO_TICK_HELD)->c.price == 100);
    // 410 is a jump from 100 again but near the held 400 (within 400 / 3
    // .. 400 * 3): the second jumped tick confirms; the new level is 410,
    // not smoothed toward 100.
    const mo_mcoin_t *m = apply(mk, 410, MO_TICK_CONFIRMED);
    assert_true(m->c.price == 410);
    assert_true(m->last_price == 410);
    assert_true(m->held_price == 0);
    assert_int_equal(m->held_n, 0);
    assert_int_equal(m->held_total, 1);
    // The EMA goes on from the new level: 0.5 * 420 + 0.5 * 410 = 415.
    assert_true(apply(mk, 420, MO_TICK_ACCEPTED)->c.price == 415);
    mo_market_destroy(&mk);
}

static void
test_mo_market_outlier_confirm_3(void **state)
{
    (void)state;
    mo_market_t *mk = s_market(0.5, 3, 3);
    apply(mk, 100, MO_TICK_ACCEPTED);
    // The jump and two confirmations.
    assert_true(apply(mk, 400, MO_TICK_HELD)->c.price == 100);
    const mo_mcoin_t *m = apply(mk, 410, MO_TICK_HELD);
    assert_true(m->c.price == 100);
    assert_int_equal(m->held_n, 2);
    assert_true(m->held_price == 400); // the first of the jump
    m = apply(mk, 405, MO_TICK_CONFIRMED);
    assert_true(m->c.price == 405);
    assert_int_equal(m->held_total, 2);
    assert_int_equal(m->ticks, 4);
    mo_market_destroy(&mk);
    // A drifting run is compared with its first tick: 400, then 1100
    // (within 3x of 400: held, 2nd), then 3000 (7.5x 400: a new jump, held
    // once) never confirms itself.
    mk = s_market(0.5, 3, 3);
    apply(mk, 100, MO_TICK_ACCEPTED);
    apply(mk, 400, MO_TICK_HELD);
    assert_int_equal(apply(mk, 1100, MO_TICK_HELD)->held_n, 2);
    m = apply(mk, 3000, MO_TICK_HELD);
    assert_int_equal(m->held_n, 1);
    assert_true(m->held_price == 3000);
    assert_true(m->c.price == 100);
    mo_market_destroy(&mk);
}

static void
test_mo_market_outlier_new_jump_restarts(void **state)
{
    (void)state;
    mo_market_t *mk = s_market(0.5, 3, 2);
    apply(mk, 100, MO_TICK_ACCEPTED);
    apply(mk, 400, MO_TICK_HELD);
    // 1500 > 400 * 3 = 1200: not a confirmation but a new jump, held once.
    const mo_mcoin_t *m = apply(mk, 1500, MO_TICK_HELD);
    assert_int_equal(m->held_n, 1);
    assert_true(m->held_price == 1500);
    assert_true(m->c.price == 100);
    // 1400 is near 1500: confirmed.
    assert_true(apply(mk, 1400, MO_TICK_CONFIRMED)->c.price == 1400);
    mo_market_destroy(&mk);
}

static void
test_mo_market_outlier_downward(void **state)
{
    (void)state;
    mo_market_t *mk = s_market(0.5, 3, 2);
    apply(mk, 100, MO_TICK_ACCEPTED);
    // 20 < 100 / 3 = 33.3: held.
    assert_true(apply(mk, 20, MO_TICK_HELD)->c.price == 100);
    // 21 near 20: confirmed, the new level.
    assert_true(apply(mk, 21, MO_TICK_CONFIRMED)->c.price == 21);
    // 34 is within 21 * 3 = 63: smoothed, 0.5 * 34 + 0.5 * 21 = 27.5.
    assert_true(apply(mk, 34, MO_TICK_ACCEPTED)->c.price == 27.5);
    mo_market_destroy(&mk);
}

static void
test_mo_market_outlier_off(void **state)
{
    (void)state;
    // Factor 0: no outlier check; 100, 400 -> 0.5 * 400 + 0.5 * 100 = 250.
    mo_market_t *mk = s_market(0.5, 0, 2);
    apply(mk, 100, MO_TICK_ACCEPTED);
    assert_true(apply(mk, 400, MO_TICK_ACCEPTED)->c.price == 250);
    assert_int_equal(mo_market_get(mk, "BTC")->held_total, 0);
    mo_market_destroy(&mk);
    // A confirmation count below 2: no check either.
    mk = s_market(0.5, 3, 1);
    apply(mk, 100, MO_TICK_ACCEPTED);
    assert_true(apply(mk, 400, MO_TICK_ACCEPTED)->c.price == 250);
    mo_market_destroy(&mk);
    // A factor of 1 or less means nothing: no check.
    mk = s_market(0.5, 1, 2);
    apply(mk, 100, MO_TICK_ACCEPTED);
    assert_true(apply(mk, 400, MO_TICK_ACCEPTED)->c.price == 250);
    mo_market_destroy(&mk);
}

static void
test_mo_market_held_tick_keeps_other_fields(void **state)
{
    (void)state;
    mo_market_t *mk = s_market(0.5, 3, 2);
    mo_coin_t c = s_coin("BTC", 100);
    assert_int_equal(mo_market_apply(mk, &c, 1000), MO_TICK_ACCEPTED);
    // A jumped price with a new reward, block time, network and time:
    // only the price is held.
    c.price = 400;
    c.block_reward = 6.25;
    c.block_time = 540;
    c.net_hashrate = 600e18;
    c.difficulty = 1e14;
    snprintf(c.algo, sizeof c.algo, "sha256d");
    assert_int_equal(mo_market_apply(mk, &c, 2000), MO_TICK_HELD);
    const mo_mcoin_t *m = mo_market_get(mk, "BTC");
    assert_true(m->c.price == 100);
    assert_true(m->c.block_reward == 6.25);
    assert_true(m->c.block_time == 540);
    assert_true(m->c.net_hashrate == 600e18);
    assert_true(m->c.difficulty == 1e14);
    assert_string_equal(m->c.algo, "sha256d");
    assert_int_equal(m->ts, 2000);
    assert_int_equal(m->ticks, 2);
    mo_market_destroy(&mk);
}

static void
test_mo_market_coins_and_lookup(void **state)
{
    (void)state;
    mo_market_t *mk = s_market(0.5, 3, 2);
    assert_int_equal(mo_market_count(mk), 0);
    assert_null(mo_market_at(mk, 0));
    assert_null(mo_market_get(mk, "BTC"));
    mo_coin_t btc = s_coin("BTC", 100), ltc = s_coin("LTC", 80);
    assert_int_equal(mo_market_apply(mk, &btc, 1), MO_TICK_ACCEPTED);
    assert_int_equal(mo_market_apply(mk, &ltc, 2), MO_TICK_ACCEPTED);
    // The first LTC tick is not compared with BTC's price; nor is a jump
    // in one coin held against the other.
    ltc.price = 10; // 80 -> 10: a jump for LTC
    assert_int_equal(mo_market_apply(mk, &ltc, 3), MO_TICK_HELD);
    btc.price = 110;
    assert_int_equal(mo_market_apply(mk, &btc, 4), MO_TICK_ACCEPTED);
    assert_int_equal(mo_market_count(mk), 2);
    assert_string_equal(mo_market_at(mk, 0)->c.symbol, "BTC");
    assert_string_equal(mo_market_at(mk, 1)->c.symbol, "LTC");
    assert_null(mo_market_at(mk, 2));
    assert_ptr_equal(mo_market_get(mk, "LTC"), mo_market_at(mk, 1));
    assert_true(mo_market_get(mk, "LTC")->c.price == 80);
    assert_true(mo_market_get(mk, "BTC")->c.price == 105);
    assert_int_equal(mo_market_get(mk, "LTC")->ts, 3);
    assert_null(mo_market_get(mk, "btc"));
    mo_market_destroy(&mk);
}

static void
test_mo_market_full(void **state)
{
    (void)state;
    mo_market_t *mk = s_market(1, 0, 0);
    mo_coin_t c = s_coin("X", 1);
    for (int i = 0; i < MO_COINS_MAX; i++) {
        snprintf(c.symbol, sizeof c.symbol, "C%d", i);
        assert_int_equal(mo_market_apply(mk, &c, i), MO_TICK_ACCEPTED);
    }
    assert_int_equal(mo_market_count(mk), MO_COINS_MAX);
    snprintf(c.symbol, sizeof c.symbol, "NEW");
    assert_int_equal(mo_market_apply(mk, &c, 0), -E2BIG);
    assert_null(mo_market_get(mk, "NEW"));
    // Known coins are still updated.
    snprintf(c.symbol, sizeof c.symbol, "C%d", MO_COINS_MAX - 1);
    c.price = 2;
    assert_int_equal(mo_market_apply(mk, &c, 0), MO_TICK_ACCEPTED);
    assert_true(mo_market_get(mk, c.symbol)->c.price == 2);
    assert_ptr_equal(mo_market_get(mk, "C12345"), mo_market_at(mk, 12345));
    mo_market_destroy(&mk);
}

static void
test_mo_market_tick_names(void **state)
{
    (void)state;
    assert_string_equal(mo_tick_name(MO_TICK_ACCEPTED), "accepted");
    assert_string_equal(mo_tick_name(MO_TICK_HELD), "held");
    assert_string_equal(mo_tick_name(MO_TICK_CONFIRMED), "confirmed");
    assert_string_equal(mo_tick_name(MO_TICK_DROPPED), "dropped");
    assert_string_equal(mo_tick_name(42), "?");
    assert_string_equal(mo_tick_name(-E2BIG), "?");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mo_market_tick_parse_valid),
        cmocka_unit_test(test_mo_market_tick_parse_names_symbol_and_algorithm),
        cmocka_unit_test(test_mo_market_tick_parse_names_numbers),
        cmocka_unit_test(test_mo_market_tick_parse_names_ts),
        cmocka_unit_test(test_mo_market_tick_parse_not_a_map),
        cmocka_unit_test(test_mo_market_ema),
        cmocka_unit_test(test_mo_market_outlier_dropped),
        cmocka_unit_test(test_mo_market_outlier_confirmed),
        cmocka_unit_test(test_mo_market_outlier_confirm_3),
        cmocka_unit_test(test_mo_market_outlier_new_jump_restarts),
        cmocka_unit_test(test_mo_market_outlier_downward),
        cmocka_unit_test(test_mo_market_outlier_off),
        cmocka_unit_test(test_mo_market_held_tick_keeps_other_fields),
        cmocka_unit_test(test_mo_market_coins_and_lookup),
        cmocka_unit_test(test_mo_market_full),
        cmocka_unit_test(test_mo_market_tick_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
