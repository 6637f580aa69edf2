// fuzz_mining_input — libFuzzer target for what the mining-optimizer takes
// from outside: the first byte picks the reader, the rest is its input.
//   0: a msgpack tick (or array of ticks), as mining.market and the feed
//      deliver them: azo_mp_check, then mo_tick_parse on each element, and
//      mo_market_apply of the valid ones;
//   1/2: a price history as CSV / JSON text (mo_hist_parse), as
//      mining.backtest and azo-backtest read it;
//   3: a session export (mo_session_add).
// Beyond "no sanitizer report": a parsed tick has the positive finite
// numbers the profit arithmetic needs, a refusal says why on one line, a
// loaded history is in time order.
#include "azo_err.h"
#include "azo_fuzz.h"
#include "azo_mp.h"
#include "mo_hist.h"
#include "mo_market.h"
#include "mo_session.h"

#include <math.h>
#include <string.h>

static void
s_one_line(const char *err)
{
    AZO_FUZZ_CHECK(err[0] != 0 && strchr(err, '\n') == NULL);
}

static void
s_ticks(mo_market_t *m, const uint8_t *data, size_t size)
{
    if (azo_mp_check(data, size, NULL, 0) != 0)
        return;
    msgpack_zone *zone = msgpack_zone_new(4096);
    msgpack_object obj;
    if (!zone || azo_mp_unpack(data, size, zone, &obj) != 0) {
        if (zone)
            msgpack_zone_free(zone);
        return;
    }
    uint32_t n = obj.type == MSGPACK_OBJECT_ARRAY ? obj.via.array.size : 1;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *t =
            obj.type == MSGPACK_OBJECT_ARRAY ? &obj.via.array.ptr[i] : &obj;
        mo_coin_t c;
        int64_t ts;
        char err[300] = "";
        int rc = mo_tick_parse(t, "ticks[0]", &c, &ts, err, sizeof err);
        if (rc != 0) {
            AZO_FUZZ_CHECK(rc == AZO_EBADREQ);
            s_one_line(err);
            continue;
        }
        AZO_FUZZ_CHECK(isfinite(c.price) && c.price > 0);
        AZO_FUZZ_CHECK(isfinite(c.block_reward) && c.block_reward > 0);
        AZO_FUZZ_CHECK(isfinite(c.block_time) && c.block_time > 0);
        AZO_FUZZ_CHECK(c.net_hashrate > 0 || c.difficulty > 0);
        AZO_FUZZ_CHECK(ts >= 0 && c.symbol[0] && c.algo[0]);
        rc = mo_market_apply(m, &c, ts);
        AZO_FUZZ_CHECK(rc >= MO_TICK_ACCEPTED && rc <= MO_TICK_DROPPED);
        const mo_mcoin_t *mc = mo_market_get(m, c.symbol);
        AZO_FUZZ_CHECK(mc && isfinite(mc->c.price) && mc->c.price > 0);
    }
    msgpack_zone_free(zone);
}

static void
s_hist(const char *name, const uint8_t *data, size_t size)
{
    mo_hist_t *h = NULL;
    char err[512] = "";
    int rc = mo_hist_parse(&h, name, (const char *)data, size, err, sizeof err);
    if (rc != 0) {
        AZO_FUZZ_CHECK(h == NULL);
        s_one_line(err);
        return;
    }
    size_t n = mo_hist_count(h);
    AZO_FUZZ_CHECK(n >= 1);
    int64_t last = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        int64_t ts;
        mo_coin_t c;
        AZO_FUZZ_CHECK(mo_hist_tick(h, i, &ts, &c) < mo_hist_ncoins(h));
        AZO_FUZZ_CHECK(ts >= last && c.price > 0);
        last = ts;
    }
    mo_hist_destroy(&h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 4) {
    case 0: {
        // A market per input: what one input does stays bounded.
        mo_smooth_t s = {
            .ema_alpha = 0.3, .outlier_factor = 3, .outlier_confirm = 2};
        mo_market_t *market = mo_market_new(&s);
        if (market)
            s_ticks(market, data + 1, size - 1);
        mo_market_destroy(&market);
        break;
    }
    case 1:
        s_hist("fuzz.csv", data + 1, size - 1);
        break;
    case 2:
        s_hist("fuzz.json", data + 1, size - 1);
        break;
    default: {
        mo_sess_totals_t t;
        memset(&t, 0, sizeof t);
        char err[400] = "";
        int rc = mo_session_add(&t, (const char *)data + 1, size - 1,
                                "fuzz.json", err, sizeof err);
        if (rc != 0)
            s_one_line(err);
        break;
    }
    }
    return 0;
}
