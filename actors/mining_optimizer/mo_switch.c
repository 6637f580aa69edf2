// mo_switch — the switching rules with hysteresis (see mo_switch.h).
#include "mo_switch.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void
mo_switch_init(mo_switch_t *s, int64_t now_ms)
{
    memset(s, 0, sizeof *s);
    s->since_ms = now_ms;
}

static void
s_copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

void
mo_switch_eval(mo_switch_t *s, const mo_switch_cfg_t *cfg,
               const mo_cand_t *cands, size_t n, double idle_profit,
               int64_t now_ms, mo_decision_t *d)
{
    memset(d, 0, sizeof *d);
    const mo_cand_t *best = NULL, *cur = NULL;
    for (size_t i = 0; i < n; i++) {
        const mo_cand_t *c = &cands[i];
        if (!best || c->profit > best->profit ||
            (c->profit == best->profit && strcmp(c->symbol, best->symbol) < 0))
            best = c;
        if (s->current[0] && strcmp(c->symbol, s->current) == 0)
            cur = c;
    }
    if (best) {
        s_copy(d->best, sizeof d->best, best->symbol);
        s_copy(d->best_algo, sizeof d->best_algo, best->algo);
        d->best_profit = best->profit;
    } else
        d->best_profit = idle_profit;
    double cur_profit = s->current[0] ? (cur ? cur->profit : NAN) : idle_profit;
    s_copy(d->from, sizeof d->from, s->current);
    d->from_profit = cur_profit;

    // The move the rules want now, if any.
    bool best_ok = best && best->profit > cfg->floor;
    const mo_cand_t *want = NULL; // NULL with move: to idle
    bool move = false, dwell = false;
    const char *why = NULL;
    if (!s->current[0]) {
        if (best_ok) {
            move = true;
            want = best;
            why = "above_floor";
        } else
            why = "idle";
    } else if (!cur) {
        move = true;
        want = best_ok ? best : NULL;
        why = "current_unavailable";
    } else if (!best_ok) {
        move = true;
        why = "below_floor";
    } else if (best != cur && cur->profit <= cfg->floor) {
        // The current coin no longer beats the floor but another does:
        // no threshold and no dwell keep the rig on it.
        move = true;
        want = best;
        why = "more_profitable";
    } else if (best != cur) {
        double margin = cfg->threshold * fabs(cur->profit);
        if (best->profit > cur->profit &&
            best->profit - cur->profit >= margin) {
            move = true;
            want = best;
            why = "more_profitable";
            dwell = true;
        } else
            why = "below_threshold";
    } else
        why = "best";

    s_copy(d->to, sizeof d->to, s->current);
    s_copy(d->to_algo, sizeof d->to_algo, s->algo);
    d->to_profit = cur_profit;
    if (!move) {
        s->has_pending = false;
        s->streak = 0;
        d->reason = why;
        return;
    }
    // From idle any coin above the floor counts toward starting (the best
    // may change between evaluations); the best at the end is started.
    const char *target = !s->current[0] ? "*" : want ? want->symbol : "";
    if (s->has_pending && strcmp(s->pending, target) == 0)
        s->streak++;
    else {
        s_copy(s->pending, sizeof s->pending, target);
        s->has_pending = true;
        s->streak = 1;
    }
    d->streak = s->streak;
    if (s->streak < cfg->confirmations) {
        d->reason = "confirming";
        return;
    }
    if (dwell && now_ms - s->since_ms < cfg->min_dwell_ms) {
        d->reason = "dwell";
        d->dwell_left_ms = cfg->min_dwell_ms - (now_ms - s->since_ms);
        return;
    }
    d->switched = true;
    d->reason = why;
    s_copy(d->to, sizeof d->to, want ? want->symbol : "");
    s_copy(d->to_algo, sizeof d->to_algo, want ? want->algo : "");
    d->to_profit = want ? want->profit : idle_profit;
    s_copy(s->current, sizeof s->current, want ? want->symbol : "");
    s_copy(s->algo, sizeof s->algo, want ? want->algo : "");
    s->since_ms = now_ms;
    s->has_pending = false;
    s->streak = 0;
    s->switches++;
}
