// mo_conf — the mining-optimizer's schema and settings loader (see
// mo_conf.h).
#include "mo_conf.h"

#include "azo_err.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

const azo_cfg_key_t mo_conf_keys[] = {
    {"interval", AZO_CFG_DURATION, "1m", 10, 86400000, NULL,
     "time between optimisation cycles"},
    {"report_ttl", AZO_CFG_DURATION, "1h", 10, 604800000, NULL,
     "how long the cached report keys live in LMDB"},
    {"market_dir", AZO_CFG_STR, NULL, 0, 0, NULL,
     "a directory watched for market data files (*.json)"},
    {"market_scan", AZO_CFG_DURATION, "5s", 10, 3600000, NULL,
     "how often market_dir is looked at"},
    {"sessions_dir", AZO_CFG_STR, NULL, 0, 0, NULL,
     "a directory of mining session exports (*.json) to report totals of"},
    {"feed", AZO_CFG_ENDPOINT, NULL, 0, 0, NULL,
     "an external ZeroMQ PUB of market ticks (topics market.*)"},
    {"stale_after", AZO_CFG_DURATION, "0", 0, 604800000, NULL,
     "coins without a tick for this long are left out (0: never)"},
    {"ema_alpha", AZO_CFG_REAL, "0.3", 0, 1, NULL,
     "weight of a new price in the smoothed one (1: no smoothing)"},
    {"outlier_factor", AZO_CFG_REAL, "3", 0, 1000, NULL,
     "a price jump beyond this factor is held until confirmed (0: off)"},
    {"outlier_confirm", AZO_CFG_INT, "2", 0, 100, NULL,
     "ticks in a row at the new level that confirm a jump"},
    {"switch_threshold", AZO_CFG_REAL, "0.05", 0, 100, NULL,
     "a better coin must beat the current one by this fraction"},
    {"confirmations", AZO_CFG_INT, "3", 1, 1000, NULL,
     "evaluations in a row before a switch"},
    {"min_dwell", AZO_CFG_DURATION, "10m", 0, 604800000, NULL,
     "least time on a coin before switching to a better one"},
    {"profit_floor", AZO_CFG_REAL, "0", -1000000000, 1000000000, NULL,
     "profit per day a coin must beat to be mined, else idle"},
    {"switch_cost", AZO_CFG_DURATION, "0", 0, 86400000, NULL,
     "mining time lost per switch (counted by the backtest)"},
    {"switch_command", AZO_CFG_STR, NULL, 0, 0, NULL,
     "run on a switch (no shell): a JSON array or words; {symbol}, "
     "{algorithm}, {pool} and {profit} are replaced"},
    {"switch_timeout", AZO_CFG_DURATION, "30s", 10, 3600000, NULL,
     "switch_command is killed after this long"},
    {"optimizer_command", AZO_CFG_STR, NULL, 0, 0, NULL,
     "an external optimizer run each cycle (no shell), JSON on stdout"},
    {"optimizer_timeout", AZO_CFG_DURATION, "30s", 10, 3600000, NULL,
     "optimizer_command is killed after this long"},
    {"report_top", AZO_CFG_INT, "20", 1, 1000, NULL,
     "coins listed in a report, most profitable first"},
    {"rig", AZO_CFG_SECTION, NULL, 0, 0, NULL, "the rig profile"},
    {"rig/idle_watts", AZO_CFG_REAL, "0", 0, 10000000, NULL,
     "power drawn while idle"},
    {"rig/pool_fee", AZO_CFG_REAL, "0", 0, 1, NULL,
     "the pool's fee, a fraction of revenue below 1 (0.01 = 1%)"},
    {"rig/algorithms", AZO_CFG_SECTION, NULL, 0, 0, NULL,
     "per algorithm: hashrate and watts"},
    {"rig/algorithms/*", AZO_CFG_SECTION, NULL, 0, 0, NULL,
     "an algorithm the rig mines"},
    {"rig/algorithms/*/hashrate", AZO_CFG_STR, NULL, 0, 0, NULL,
     "H/s, with an SI prefix: 95M, 110 TH/s"},
    {"rig/algorithms/*/watts", AZO_CFG_REAL, NULL, 0, 10000000, NULL,
     "power drawn mining this algorithm"},
    {"electricity", AZO_CFG_SECTION, NULL, 0, 0, NULL, "the price of power"},
    {"electricity/price", AZO_CFG_REAL, "0", 0, 1000, NULL,
     "per kWh, flat (and outside every band)"},
    {"electricity/utc_offset", AZO_CFG_INT, "0", -720, 840, NULL,
     "minutes: the bands' clock is UTC + this (60 for UTC+1)"},
    {"electricity/bands", AZO_CFG_SECTION, NULL, 0, 0, NULL,
     "time-of-day prices"},
    {"electricity/bands/*", AZO_CFG_SECTION, NULL, 0, 0, NULL, "a band"},
    {"electricity/bands/*/hours", AZO_CFG_STR, NULL, 0, 0, NULL,
     "HH:MM-HH:MM (may wrap past midnight)"},
    {"electricity/bands/*/price", AZO_CFG_REAL, NULL, 0, 1000, NULL,
     "per kWh within the band"},
    {"pools", AZO_CFG_SECTION, NULL, 0, 0, NULL,
     "per coin symbol: its pool URL, given to switch_command as {pool}"},
    {"pools/*", AZO_CFG_STR, NULL, 0, 0, NULL, "a pool URL"},
};
_Static_assert(sizeof mo_conf_keys / sizeof mo_conf_keys[0] == MO_CONF_NKEYS,
               "MO_CONF_NKEYS must count mo_conf_keys");

static const char *
s_key(char *buf, size_t len, const char *base, const char *key)
{
    snprintf(buf, len, "%s/%s", base, key);
    return buf;
}

static int
s_rig(const azo_config_t *cfg, const char *base, mo_rig_t *rig, char *err,
      size_t errlen)
{
    char k[512];
    rig->idle_watts =
        azo_config_real(cfg, s_key(k, sizeof k, base, "rig/idle_watts"), 0);
    rig->pool_fee =
        azo_config_real(cfg, s_key(k, sizeof k, base, "rig/pool_fee"), 0);
    if (rig->pool_fee >= 1)
        return azo_config_fail(cfg, k, err, errlen,
                               "expected a fraction of revenue below 1 (0.01 "
                               "= 1%%)");
    zconfig_t *algos =
        azo_config_section(cfg, s_key(k, sizeof k, base, "rig/algorithms"));
    for (zconfig_t *a = algos ? zconfig_child(algos) : NULL; a;
         a = zconfig_next(a)) {
        const char *name = zconfig_name(a);
        char p[400];
        snprintf(p, sizeof p, "%s/rig/algorithms/%s", base, name);
        if (rig->nalgos == MO_ALGOS_MAX)
            return azo_config_fail(cfg, p, err, errlen, "at most %d algorithms",
                                   MO_ALGOS_MAX);
        if (strlen(name) >= MO_ALGO_MAX)
            return azo_config_fail(cfg, p, err, errlen,
                                   "an algorithm name has at most %d bytes",
                                   MO_ALGO_MAX - 1);
        mo_algo_t *al = &rig->algos[rig->nalgos];
        snprintf(al->name, sizeof al->name, "%s", name);
        snprintf(k, sizeof k, "%s/hashrate", p);
        const char *hr = azo_config_str(cfg, k);
        if (!hr || mo_parse_hashrate(hr, &al->hashrate) != 0 ||
            al->hashrate <= 0)
            return azo_config_fail(cfg, hr ? k : p, err, errlen,
                                   "hashrate: expected a positive H/s "
                                   "figure with an optional SI prefix (95M, "
                                   "110 TH/s)%s",
                                   hr ? "" : ", missing");
        snprintf(k, sizeof k, "%s/watts", p);
        al->watts = azo_config_real(cfg, k, -1);
        if (al->watts < 0)
            return azo_config_fail(cfg, p, err, errlen,
                                   "watts: missing (power drawn mining %s)",
                                   name);
        rig->nalgos++;
    }
    rig->kwh_price =
        azo_config_real(cfg, s_key(k, sizeof k, base, "electricity/price"), 0);
    rig->utc_offset_min = (int)azo_config_int(
        cfg, s_key(k, sizeof k, base, "electricity/utc_offset"), 0);
    zconfig_t *bands =
        azo_config_section(cfg, s_key(k, sizeof k, base, "electricity/bands"));
    for (zconfig_t *b = bands ? zconfig_child(bands) : NULL; b;
         b = zconfig_next(b)) {
        char p[400];
        snprintf(p, sizeof p, "%s/electricity/bands/%s", base, zconfig_name(b));
        if (rig->nbands == MO_BANDS_MAX)
            return azo_config_fail(cfg, p, err, errlen, "at most %d bands",
                                   MO_BANDS_MAX);
        mo_band_t *band = &rig->bands[rig->nbands];
        snprintf(k, sizeof k, "%s/hours", p);
        const char *hours = azo_config_str(cfg, k);
        if (!hours || mo_parse_band(hours, &band->from, &band->to) != 0)
            return azo_config_fail(cfg, hours ? k : p, err, errlen,
                                   "hours: expected HH:MM-HH:MM, not empty "
                                   "and not the whole day%s",
                                   hours ? "" : ", missing");
        snprintf(k, sizeof k, "%s/price", p);
        band->price = azo_config_real(cfg, k, -1);
        if (band->price < 0)
            return azo_config_fail(cfg, p, err, errlen,
                                   "price: missing (per kWh in the band)");
        rig->nbands++;
    }
    return 0;
}

int
mo_conf_load(const azo_config_t *cfg, const char *base, mo_conf_t *out,
             char *err, size_t errlen)
{
    char k[512];
    memset(out, 0, sizeof *out);
    int rc = s_rig(cfg, base, &out->rig, err, errlen);
    if (rc)
        return rc;
    out->smooth.ema_alpha =
        azo_config_real(cfg, s_key(k, sizeof k, base, "ema_alpha"), 0.3);
    if (out->smooth.ema_alpha <= 0)
        return azo_config_fail(cfg, k, err, errlen,
                               "expected a weight above 0, at most 1");
    out->smooth.outlier_factor =
        azo_config_real(cfg, s_key(k, sizeof k, base, "outlier_factor"), 3);
    if (out->smooth.outlier_factor != 0 && out->smooth.outlier_factor <= 1)
        return azo_config_fail(cfg, k, err, errlen,
                               "expected 0 (off) or a factor above 1");
    out->smooth.outlier_confirm = (int)azo_config_int(
        cfg, s_key(k, sizeof k, base, "outlier_confirm"), 2);
    out->sw.threshold = azo_config_real(
        cfg, s_key(k, sizeof k, base, "switch_threshold"), 0.05);
    out->sw.confirmations =
        (int)azo_config_int(cfg, s_key(k, sizeof k, base, "confirmations"), 3);
    out->sw.min_dwell_ms =
        azo_config_ms(cfg, s_key(k, sizeof k, base, "min_dwell"), 600000);
    out->sw.floor =
        azo_config_real(cfg, s_key(k, sizeof k, base, "profit_floor"), 0);
    out->stale_ms =
        azo_config_ms(cfg, s_key(k, sizeof k, base, "stale_after"), 0);
    out->switch_cost_s =
        (double)azo_config_ms(cfg, s_key(k, sizeof k, base, "switch_cost"), 0) /
        1000.0;
    return 0;
}
