// mo_backtest — history replay through the live decision code (see
// mo_backtest.h). One market serves the three strategies: they differ only
// in their rules, so each step's candidates are computed once.
#include "mo_backtest.h"

#include "azo_err.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// One strategy's state during the run.
typedef struct {
    mo_switch_t sw;
    mo_switch_cfg_t cfg;
    long cur;     // the history's coin being mined, -1 idle
    bool started; // has mined: later moves are switches
} s_strat_t;

// What the run allocates, per coin of the history.
typedef struct {
    mo_coin_t *raw;         // last tick as received
    const mo_algo_t **algo; // the rig's algorithm for it, or NULL
    size_t *mkt;            // its position in the market, SIZE_MAX: not yet
    mo_cand_t *cands;       // one step's candidates
    size_t *cand_coin;      // their coins
} s_run_t;

static void
s_run_free(s_run_t *r)
{
    free(r->raw);
    free(r->algo);
    free(r->mkt);
    free(r->cands);
    free(r->cand_coin);
}

static const char *const s_names[MO_BT_N] = {"hysteresis", "naive", "never"};

// The best candidate as mo_switch ranks them (profit, then symbol).
static size_t
s_best(const mo_cand_t *c, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (c[i].profit > c[best].profit ||
            (c[i].profit == c[best].profit &&
             strcmp(c[i].symbol, c[best].symbol) < 0))
            best = i;
    return best;
}

// Books a move of st onto candidate k (or idle, k == SIZE_MAX) at a step
// whose electricity price is kwh.
static void
s_move(s_strat_t *st, mo_bt_result_t *res, const s_run_t *r, size_t k,
       const mo_conf_t *conf, double kwh)
{
    long to = k == SIZE_MAX ? -1 : (long)r->cand_coin[k];
    if (st->started) {
        res->switches++;
        mo_profit_t p;
        if (to >= 0 &&
            mo_profit(&conf->rig, r->algo[to], &r->raw[to], kwh, &p)) {
            double cost = p.revenue * conf->switch_cost_s / 86400.0;
            res->switch_cost += cost;
            res->profit -= cost;
        }
    }
    if (to >= 0)
        st->started = true;
    st->cur = to;
}

// Earns st's choice over dt_ms at electricity price kwh.
static void
s_earn(const s_strat_t *st, mo_bt_result_t *res, const s_run_t *r,
       const mo_conf_t *conf, double kwh, int64_t dt_ms)
{
    double days = (double)dt_ms / 86400000.0;
    if (st->cur < 0) {
        res->profit += mo_idle_profit(&conf->rig, kwh) * days;
        res->idle_ms += dt_ms;
        return;
    }
    mo_profit_t p;
    if (mo_profit(&conf->rig, r->algo[st->cur], &r->raw[st->cur], kwh, &p))
        res->profit += p.profit * days;
    res->mined_ms += dt_ms;
}

static int
s_check(const mo_hist_t *h, const mo_conf_t *conf, s_run_t *r, size_t *steps,
        char *err, size_t errlen)
{
    size_t n = mo_hist_count(h), ncoins = mo_hist_ncoins(h);
    if (!conf->rig.nalgos)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "the rig has no algorithms (rig/algorithms)");
    bool any = false;
    int64_t prev = 0;
    *steps = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t ts;
        mo_coin_t c;
        size_t k = mo_hist_tick(h, i, &ts, &c);
        if (!i || ts != prev)
            (*steps)++;
        prev = ts;
        if (!r->algo[k]) {
            r->algo[k] = mo_rig_algo(&conf->rig, c.algo);
            any |= r->algo[k] != NULL;
        }
    }
    if (!any) {
        char algos[256] = "";
        for (size_t i = 0; i < conf->rig.nalgos; i++) {
            size_t at = strlen(algos);
            snprintf(algos + at, sizeof algos - at, "%s%s", i ? ", " : "",
                     conf->rig.algos[i].name);
        }
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "no coin of the history has an algorithm of the "
                           "rig (%s)",
                           algos);
    }
    if ((double)*steps * (double)ncoins > MO_BT_WORK_MAX)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "%zu steps x %zu coins: more than %.0f "
                           "evaluations in one run",
                           *steps, ncoins, MO_BT_WORK_MAX);
    return 0;
}

// Applies the ticks of one timestamp from row *j on, moving *j past them.
static int
s_apply(const mo_hist_t *h, mo_market_t *mkt, s_run_t *r, size_t *j, int64_t t,
        char *err, size_t errlen)
{
    size_t n = mo_hist_count(h);
    int64_t ts;
    while (*j < n) {
        mo_coin_t c;
        size_t k = mo_hist_tick(h, *j, &ts, &c);
        if (ts != t)
            break;
        size_t before = mo_market_count(mkt);
        int rc = mo_market_apply(mkt, &c, t);
        if (rc < 0)
            return azo_err_set(err, errlen, rc, "market: %s", azo_err_str(rc));
        if (mo_market_count(mkt) > before)
            r->mkt[k] = before;
        r->raw[k] = c;
        (*j)++;
    }
    return 0;
}

// The candidates at time t (electricity kwh) into r->cands; returns count.
static size_t
s_cands(const mo_market_t *mkt, s_run_t *r, size_t ncoins,
        const mo_conf_t *conf, int64_t t, double kwh)
{
    size_t n = 0;
    for (size_t k = 0; k < ncoins; k++) {
        if (!r->algo[k] || r->mkt[k] == SIZE_MAX)
            continue;
        const mo_mcoin_t *m = mo_market_at(mkt, r->mkt[k]);
        mo_profit_t p;
        if ((conf->stale_ms > 0 && t - m->ts > conf->stale_ms) ||
            !mo_profit(&conf->rig, r->algo[k], &m->c, kwh, &p))
            continue;
        r->cands[n] = (mo_cand_t){m->c.symbol, m->c.algo, p.profit};
        r->cand_coin[n++] = k;
    }
    return n;
}

// One decision of strategy s at time t over n candidates.
static void
s_decide(int s, s_strat_t *st, mo_bt_result_t *res, const s_run_t *r, size_t n,
         const mo_conf_t *conf, int64_t t, double kwh)
{
    double idle = mo_idle_profit(&conf->rig, kwh);
    if (s == MO_BT_NEVER) {
        if (st->cur < 0 && n)
            s_move(st, res, r, s_best(r->cands, n), conf, kwh);
        return;
    }
    mo_decision_t d;
    mo_switch_eval(&st->sw, &st->cfg, r->cands, n, idle, t, &d);
    if (!d.switched)
        return;
    size_t k = SIZE_MAX;
    for (size_t i = 0; d.to[0] && i < n && k == SIZE_MAX; i++)
        if (strcmp(r->cands[i].symbol, d.to) == 0)
            k = i;
    s_move(st, res, r, k, conf, kwh);
}

int
mo_backtest_run(const mo_hist_t *h, const mo_conf_t *conf,
                mo_bt_result_t out[MO_BT_N], char *err, size_t errlen)
{
    size_t n = mo_hist_count(h), ncoins = mo_hist_ncoins(h), steps = 0;
    s_run_t r = {
        .raw = calloc(ncoins, sizeof *r.raw),
        .algo = calloc(ncoins, sizeof *r.algo),
        .mkt = malloc(ncoins * sizeof *r.mkt),
        .cands = calloc(ncoins, sizeof *r.cands),
        .cand_coin = calloc(ncoins, sizeof *r.cand_coin),
    };
    mo_market_t *mkt = mo_market_new(&conf->smooth);
    int rc = -ENOMEM;
    if (!r.raw || !r.algo || !r.mkt || !r.cands || !r.cand_coin || !mkt) {
        azo_err_set(err, errlen, rc, "out of memory");
        goto fail;
    }
    for (size_t k = 0; k < ncoins; k++)
        r.mkt[k] = SIZE_MAX;
    if ((rc = s_check(h, conf, &r, &steps, err, errlen)))
        goto fail;

    int64_t t0, tn;
    (void)mo_hist_tick(h, 0, &t0, NULL); // coin numbers not needed here
    (void)mo_hist_tick(h, n - 1, &tn, NULL);
    s_strat_t st[MO_BT_N];
    for (int s = 0; s < MO_BT_N; s++) {
        memset(&out[s], 0, sizeof out[s]);
        out[s].name = s_names[s];
        out[s].steps = steps;
        out[s].from_ms = t0;
        out[s].to_ms = tn;
        mo_switch_init(&st[s].sw, t0);
        st[s].cur = -1;
        st[s].started = false;
    }
    st[MO_BT_HYSTERESIS].cfg = conf->sw;
    st[MO_BT_NAIVE].cfg = (mo_switch_cfg_t){
        .threshold = 0,
        .confirmations = 1,
        .min_dwell_ms = 0,
        .floor = conf->sw.floor,
    };
    // Points at every stride-th step and the last: at most MO_BT_POINTS.
    size_t stride = steps > 2 ? (steps - 2) / (MO_BT_POINTS - 2) + 1 : 1;
    size_t j = 0;
    for (size_t i = 0; i < steps; i++) {
        int64_t t;
        (void)mo_hist_tick(h, j, &t, NULL);
        if (i % stride == 0 || i == steps - 1)
            for (int s = 0; s < MO_BT_N; s++)
                out[s].points[out[s].npoints++] =
                    (mo_bt_point_t){t, out[s].profit};
        if ((rc = s_apply(h, mkt, &r, &j, t, err, errlen)))
            goto fail;
        if (i == steps - 1)
            break; // the last timestamp ends the period
        int64_t next;
        (void)mo_hist_tick(h, j, &next, NULL);
        double kwh = mo_rig_kwh_price(&conf->rig, t);
        size_t nc = s_cands(mkt, &r, ncoins, conf, t, kwh);
        for (int s = 0; s < MO_BT_N; s++) {
            s_decide(s, &st[s], &out[s], &r, nc, conf, t, kwh);
            s_earn(&st[s], &out[s], &r, conf, kwh, next - t);
        }
    }
    for (int s = 0; s < MO_BT_N; s++)
        if (st[s].cur >= 0)
            snprintf(out[s].final, sizeof out[s].final, "%s",
                     r.raw[st[s].cur].symbol);
    rc = 0;
fail:
    mo_market_destroy(&mkt);
    s_run_free(&r);
    return rc;
}
