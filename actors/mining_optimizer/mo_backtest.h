// mo_backtest — replays a price history through the optimizer's own
// decision code (mo_market smoothing, mo_calc profits, mo_switch rules) and
// scores three strategies side by side. Pure: no I/O, no clock, no
// printing; any thread, one run at a time per result buffer.
//
// The steps are the history's distinct timestamps. At step t_i the ticks of
// t_i go into a market smoothed as conf->smooth; the candidates are the
// coins whose algorithm the rig has and, when conf->stale_ms is set, whose
// last tick is at most that old; their profits per day at the electricity
// price of t_i feed each strategy's decision. What the rig then mines is
// earned over [t_i, t_i+1) at the raw (unsmoothed) figures of each coin's
// last tick: decisions see the smoothed market, money is made in the real
// one. The last timestamp only ends the period. Each move onto a coin
// costs conf->switch_cost_s seconds of that coin's revenue (the rig draws
// power but earns nothing while the miner restarts); the first start from
// idle is not a switch and costs nothing (every strategy makes one).
//  - hysteresis: conf->sw as configured;
//  - naive: threshold 0, one confirmation, no dwell, the same floor;
//    always on the best coin;
//  - never: the best coin at the first step with candidates, whatever its
//    profit, kept to the end: never switches, never idles.
#ifndef MO_BACKTEST_H
#define MO_BACKTEST_H
#include "mo_conf.h"
#include "mo_hist.h"

#include <stddef.h>
#include <stdint.h>

enum { MO_BT_HYSTERESIS, MO_BT_NAIVE, MO_BT_NEVER, MO_BT_N };

#define MO_BT_POINTS   2000        // time series points per strategy
#define MO_BT_WORK_MAX 200000000.0 // steps x coins one run may evaluate

typedef struct {
    int64_t ts;    // Unix ms
    double profit; // cumulative, switch costs included
} mo_bt_point_t;

typedef struct {
    const char *name;       // "hysteresis", "naive", "never" (static)
    double profit;          // in the rig's currency, switch costs included
    double switch_cost;     // revenue lost to switches (within profit)
    uint64_t switches;      // moves between coins and to or from idle
    int64_t idle_ms;        // idle (before the first start included)
    int64_t mined_ms;       // on a coin
    char final[MO_SYM_MAX]; // mined at the end; "" idle
    size_t steps;           // timestamps replayed (same for all)
    int64_t from_ms, to_ms; // the period (same for all)
    // Cumulative profit at evenly spread steps, the first and the last
    // included, time ascending.
    mo_bt_point_t points[MO_BT_POINTS];
    size_t npoints;
} mo_bt_result_t;

// Runs the three strategies over h with conf's rig, smoothing, rules,
// stale_ms and switch_cost_s into out[MO_BT_HYSTERESIS..MO_BT_NEVER]. h and
// conf are borrowed for the call. Returns 0; AZO_EBADREQ with a reason in
// err when the rig has no algorithms, no coin of h has one of them, or the
// run would take more than MO_BT_WORK_MAX evaluations; -ENOMEM.
int mo_backtest_run(const mo_hist_t *h, const mo_conf_t *conf,
                    mo_bt_result_t out[MO_BT_N], char *err, size_t errlen);
#endif
