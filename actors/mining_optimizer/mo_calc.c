// mo_calc — mining profitability arithmetic (see mo_calc.h).
#include "mo_calc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const mo_algo_t *
mo_rig_algo(const mo_rig_t *rig, const char *name)
{
    for (size_t i = 0; i < rig->nalgos; i++)
        if (strcmp(rig->algos[i].name, name) == 0)
            return &rig->algos[i];
    return NULL;
}

double
mo_rig_kwh_price(const mo_rig_t *rig, int64_t ts_ms)
{
    if (!rig->nbands)
        return rig->kwh_price;
    int64_t min = ts_ms / 60000 + rig->utc_offset_min;
    int m = (int)(((min % 1440) + 1440) % 1440);
    for (size_t i = 0; i < rig->nbands; i++) {
        const mo_band_t *b = &rig->bands[i];
        bool in = b->from <= b->to ? m >= b->from && m < b->to
                                   : m >= b->from || m < b->to;
        if (in)
            return b->price;
    }
    return rig->kwh_price;
}

double
mo_coins_per_day(const mo_coin_t *c, double h)
{
    if (c->net_hashrate > 0 && c->block_time > 0)
        return h / c->net_hashrate * (86400.0 / c->block_time) *
               c->block_reward;
    if (c->difficulty > 0)
        return h * c->block_reward * 86400.0 / (c->difficulty * 4294967296.0);
    return NAN;
}

bool
mo_profit(const mo_rig_t *rig, const mo_algo_t *a, const mo_coin_t *c,
          double kwh_price, mo_profit_t *out)
{
    double coins = mo_coins_per_day(c, a->hashrate);
    if (!isfinite(coins) || coins < 0)
        return false;
    out->coins = coins;
    out->revenue = coins * c->price * (1.0 - rig->pool_fee);
    out->power = a->watts * 24.0 / 1000.0 * kwh_price;
    out->profit = out->revenue - out->power;
    return true;
}

double
mo_idle_profit(const mo_rig_t *rig, double kwh_price)
{
    double cost = rig->idle_watts * 24.0 / 1000.0 * kwh_price;
    return cost > 0 ? -cost : 0.0; // not -0.0 when idle is free
}

int
mo_parse_hashrate(const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno || !isfinite(v) || v < 0)
        return -EINVAL;
    while (*end == ' ')
        end++;
    static const char prefixes[] = "kMGTPE";
    double mult = 1;
    const char *p = *end ? strchr(prefixes, *end) : NULL;
    if (p) {
        mult = pow(1000.0, (double)(p - prefixes + 1));
        end++;
    }
    if (strcmp(end, "H/s") == 0 || strcmp(end, "H") == 0)
        end += strlen(end);
    if (*end)
        return -EINVAL;
    *out = v * mult;
    return 0;
}

int
mo_parse_band(const char *text, int *from, int *to)
{
    int h1, m1, h2, m2, n = 0;
    if (sscanf(text, "%2d:%2d-%2d:%2d%n", &h1, &m1, &h2, &m2, &n) != 4 ||
        text[n] || h1 < 0 || h1 > 23 || h2 < 0 || h2 > 24 || m1 < 0 ||
        m1 > 59 || m2 < 0 || m2 > 59 || (h2 == 24 && m2))
        return -EINVAL;
    *from = h1 * 60 + m1;
    *to = h2 * 60 + m2; // 24:00 (1440): to the end of the day
    if (*from == *to || (*to == 1440 && *from == 0))
        return -EINVAL; // empty, or the whole day: that is the flat price
    return 0;
}
