// mo_calc — mining profitability, pure arithmetic: a rig profile (hashrate
// and watts per algorithm, idle watts, pool fee), electricity priced flat
// or by time of day, and per coin the coins mined per day, the revenue
// after the pool fee, the power cost and the profit per day. No I/O, no
// clock: callers pass the time.
#ifndef MO_CALC_H
#define MO_CALC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MO_SYM_MAX   16 // coin symbol, NUL included
#define MO_ALGO_MAX  32 // algorithm name, NUL included
#define MO_ALGOS_MAX 64 // algorithms in one rig profile
#define MO_BANDS_MAX 24 // time-of-day electricity bands

typedef struct {
    char name[MO_ALGO_MAX];
    double hashrate; // H/s
    double watts;    // drawn while mining this algorithm
} mo_algo_t;

// A time-of-day price: minutes of the day [from, to), UTC plus the
// profile's offset; to < from wraps past midnight.
typedef struct {
    int from, to;
    double price; // per kWh
} mo_band_t;

typedef struct {
    mo_algo_t algos[MO_ALGOS_MAX];
    size_t nalgos;
    double idle_watts;
    double pool_fee;  // fraction of revenue, [0, 1)
    double kwh_price; // flat price, and outside every band
    mo_band_t bands[MO_BANDS_MAX];
    size_t nbands;
    int utc_offset_min; // the bands' clock: local = UTC + this
} mo_rig_t;

// One coin's market data. Either net_hashrate (H/s) or difficulty is
// set (> 0); with both, net_hashrate is used.
typedef struct {
    char symbol[MO_SYM_MAX];
    char algo[MO_ALGO_MAX];
    double price;        // per coin, in the rig's currency
    double block_reward; // coins per block
    double block_time;   // seconds per block
    double net_hashrate;
    double difficulty;
} mo_coin_t;

// One coin's profitability per day at a given electricity price.
typedef struct {
    double coins;   // coins mined
    double revenue; // after the pool fee
    double power;   // electricity cost
    double profit;  // revenue - power
} mo_profit_t;

// The rig's algorithm called name, or NULL.
const mo_algo_t *mo_rig_algo(const mo_rig_t *rig, const char *name);

// The electricity price per kWh at Unix time ts_ms.
double mo_rig_kwh_price(const mo_rig_t *rig, int64_t ts_ms);

// Coins per day mined with hashrate h: from the share of the network,
// (h / N) * (86400 / block_time) * reward; or from the difficulty (the
// SHA-256 form), h * reward * 86400 / (D * 2^32).
double mo_coins_per_day(const mo_coin_t *c, double h);

// Profitability of mining coin c with algorithm a (its hashrate and watts)
// at kwh_price, after the rig's pool fee. Returns false (and leaves *out)
// when c's numbers cannot give one (no positive network figure).
bool mo_profit(const mo_rig_t *rig, const mo_algo_t *a, const mo_coin_t *c,
               double kwh_price, mo_profit_t *out);

// The cost per day of the rig standing idle at kwh_price (a negative
// profit).
double mo_idle_profit(const mo_rig_t *rig, double kwh_price);

// Parses a hashrate: a number with an optional SI prefix (k, M, G, T, P,
// E) and optional "H/s" or "H", "1.5 TH/s", "95M", "1200". Returns 0 with
// *out in H/s, or -EINVAL.
int mo_parse_hashrate(const char *text, double *out);

// Parses a band "HH:MM-HH:MM". Returns 0 with *from and *to in minutes
// of the day, or -EINVAL.
int mo_parse_band(const char *text, int *from, int *to);
#endif
