// mo_switch — the switching decision with hysteresis, pure: given each
// candidate coin's profit per day at one evaluation, recommend the best,
// but move the rig only when the rules allow:
//  - to a better coin: its profit beats the current one's by at least
//    threshold (a fraction of |current|) for confirmations evaluations in
//    a row, and the current coin has run at least min_dwell;
//  - to idle: no coin beats the floor for confirmations evaluations in a
//    row (no dwell: mining at a loss is not kept up);
//  - from idle: after confirmations evaluations in a row where some coin
//    beats the floor (not necessarily the same one), to the best;
//  - when the current coin has no data any more, or when it no
//    longer beats the floor while another does: to the best coin above the
//    floor after confirmations evaluations (no threshold, no dwell).
// The backtest replays history through the same code.
#ifndef MO_SWITCH_H
#define MO_SWITCH_H
#include "mo_calc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    double threshold;     // 0.05: 5% better
    int confirmations;    // evaluations in a row (>= 1)
    int64_t min_dwell_ms; // on the current coin before leaving it
    double floor;         // profit per day a coin must beat to be mined
} mo_switch_cfg_t;

// One candidate at one evaluation.
typedef struct {
    const char *symbol; // borrowed for the call
    const char *algo;
    double profit; // per day
} mo_cand_t;

typedef struct {
    char current[MO_SYM_MAX]; // "" when idle
    char algo[MO_ALGO_MAX];   // the current coin's algorithm
    int64_t since_ms;         // when the current choice began
    char pending[MO_SYM_MAX]; // the move being confirmed ("" = to idle,
                              // "*" = from idle to the best coin)
    bool has_pending;
    int streak; // evaluations in a row that wanted the pending move
    uint64_t switches;
} mo_switch_t;

typedef struct {
    bool switched;
    char from[MO_SYM_MAX], to[MO_SYM_MAX]; // "" = idle
    char to_algo[MO_ALGO_MAX];
    double from_profit, to_profit; // per day; idle is idle_profit
    const char *reason;            // switched: more_profitable, below_floor,
                        // above_floor, current_unavailable; otherwise
                        // why not: best, below_threshold, confirming,
                        // dwell, idle
    int streak; // confirming: evaluations so far
    int64_t dwell_left_ms;
    // The best candidate (recommendation), whether or not moved to.
    char best[MO_SYM_MAX];
    char best_algo[MO_ALGO_MAX];
    double best_profit;
} mo_decision_t;

// Starts idle at now_ms.
void mo_switch_init(mo_switch_t *s, int64_t now_ms);

// One evaluation of cands[0..n) at now_ms; idle_profit is the profit per
// day of standing idle (negative: idle watts). Updates s and fills *d.
void mo_switch_eval(mo_switch_t *s, const mo_switch_cfg_t *cfg,
                    const mo_cand_t *cands, size_t n, double idle_profit,
                    int64_t now_ms, mo_decision_t *d);
#endif
