// sched_plan — next-run planning of scheduler jobs: schedule, jitter,
// deadline, catch-up and backoff, as pure functions of the time given.
#include "sched_plan.h"
#include "azo_err.h"

#include <assert.h>
#include <string.h>

// The step of an interval job now: its backoff interval, or every.
static int64_t
s_step(const sched_spec_t *s, const sched_plan_t *p)
{
    return p->interval_ms > 0 ? p->interval_ms : s->every_ms;
}

// The first time strictly after t on the grid base + k * step (k >= 0).
static int64_t
s_grid_after(int64_t base, int64_t step, int64_t t)
{
    if (base > t)
        return base;
    return base + ((t - base) / step + 1) * step;
}

// Sets *next to the first scheduled time of p strictly after t.
static int
s_after(const sched_spec_t *s, const sched_plan_t *p, int64_t t, int64_t *next)
{
    if (s->every_ms > 0) {
        *next = s_grid_after(p->next_ms, s_step(s, p), t);
        return 0;
    }
    return sched_cron_next(&s->cron, t, next);
}

int
sched_plan_first(const sched_spec_t *s, int64_t now, sched_plan_t *p)
{
    memset(p, 0, sizeof *p);
    if (s->every_ms > 0) {
        p->next_ms = now;
        return 0;
    }
    return sched_cron_next(&s->cron, now, &p->next_ms);
}

int64_t
sched_plan_fire_at(const sched_spec_t *s, const char *name, int64_t run_ms)
{
    if (s->jitter_ms <= 0)
        return run_ms;
    // FNV-1a over the name and the scheduled time: stable across restarts.
    uint64_t h = 1469598103934665603u;
    for (const char *c = name; *c; c++)
        h = (h ^ (uint8_t)*c) * 1099511628211u;
    for (int i = 0; i < 8; i++)
        h = (h ^ (uint8_t)((uint64_t)run_ms >> (8 * i))) * 1099511628211u;
    return run_ms + (int64_t)(h % (uint64_t)s->jitter_ms);
}

// Sets *prev to the last cron time of s before c, at least t (t < c, t a
// cron time), searching back in growing windows.
static int
s_cron_before(const sched_spec_t *s, int64_t t, int64_t c, int64_t *prev)
{
    static const int64_t windows[] = {3600000, 86400000, 32 * 86400000LL,
                                      INT64_MAX};
    for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++) {
        int64_t from = c - t > windows[i] ? c - windows[i] : t;
        int64_t x = from, n;
        int rc;
        if (from != t && ((rc = sched_cron_next(&s->cron, from - 1, &x)) < 0))
            return rc;
        if (x >= c)
            continue; // none in this window: a wider one
        while ((rc = sched_cron_next(&s->cron, x, &n)) == 0 && n < c)
            x = n;
        if (rc < 0)
            return rc;
        *prev = x;
        return 0;
    }
    *prev = t; // unreachable: the last window starts at t
    return 0;
}

// The latest scheduled time whose fire time (with jitter) is <= now, given
// that p->next_ms's is; *many: whether more than one has passed. A
// scheduled time <= now whose jittered fire time is still ahead has not
// passed: it runs on its own later, not folded into this one.
static int
s_latest(const sched_spec_t *s, const sched_plan_t *p, const char *name,
         int64_t now, int64_t *latest, bool *many)
{
    if (s->every_ms > 0) {
        int64_t step = s_step(s, p);
        int64_t t = p->next_ms + (now - p->next_ms) / step * step;
        while (t > p->next_ms && sched_plan_fire_at(s, name, t) > now)
            t -= step;
        *latest = t;
        *many = t > p->next_ms;
        return 0;
    }
    int64_t t;
    int rc = sched_cron_next(&s->cron, p->next_ms, &t);
    if (rc < 0)
        return rc;
    *many = sched_plan_fire_at(s, name, t) <= now;
    if (!*many) {
        *latest = p->next_ms;
        return 0;
    }
    // Several passed: search back from now in growing windows, so that a
    // long downtime costs a few steps, not one per missed minute.
    static const int64_t windows[] = {3600000, 86400000, 32 * 86400000LL,
                                      366 * 86400000LL, INT64_MAX};
    for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++) {
        int64_t from = now - windows[i] > t ? now - windows[i] : t - 1;
        int64_t c;
        if ((rc = sched_cron_next(&s->cron, from, &c)) < 0)
            return rc;
        if (c > now)
            continue; // none in this window: a wider one
        int64_t n;
        while ((rc = sched_cron_next(&s->cron, c, &n)) == 0 && n <= now &&
               sched_plan_fire_at(s, name, n) <= now)
            c = n;
        if (rc < 0)
            return rc;
        // c itself may not have passed yet (its jitter): then the one before.
        while (c > t && sched_plan_fire_at(s, name, c) > now)
            if ((rc = s_cron_before(s, t, c, &c)) < 0)
                return rc;
        *latest = c;
        return 0;
    }
    *latest = t; // unreachable: the last window holds t
    return 0;
}

int
sched_plan_due(const sched_spec_t *s, sched_plan_t *p, const char *name,
               int64_t now, int64_t *run_ms, int64_t *missed, int64_t *at)
{
    int64_t fire = sched_plan_fire_at(s, name, p->next_ms);
    if (now < fire) {
        *at = fire;
        return SCHED_WAIT;
    }
    int64_t latest;
    bool many;
    int rc = s_latest(s, p, name, now, &latest, &many);
    if (rc < 0)
        return rc;
    int64_t run = many ? latest : p->next_ms;
    // Lateness counts from the run's fire time, jitter included.
    bool in_time =
        s->start_deadline_ms <= 0 ||
        now - sched_plan_fire_at(s, name, run) <= s->start_deadline_ms;
    bool fire_it = in_time && (!many || s->missed == SCHED_MISSED_ONCE);
    // The next is the first scheduled time after this one: a later one
    // already <= now but not yet at its fire time stays due.
    int64_t next;
    if ((rc = s_after(s, p, latest, &next)) < 0)
        return rc;
    if (s->every_ms > 0)
        *missed = (latest - p->next_ms) / s_step(s, p) + 1;
    else
        *missed = many ? 2 : 1; // a cron job: 2 means two or more
    *run_ms = run;
    p->next_ms = next;
    return fire_it ? SCHED_FIRE : SCHED_SKIP;
}

int
sched_plan_result(const sched_spec_t *s, sched_plan_t *p, int64_t run_ms,
                  bool ok, int64_t now, bool *backoff)
{
    *backoff = false;
    int rc = 0;
    if (ok) {
        bool was_backing_off = p->interval_ms > 0;
        p->failures = 0;
        p->interval_ms = 0;
        if (was_backing_off) {
            // Back on the normal schedule, from the run that succeeded.
            sched_plan_t grid = {.next_ms = run_ms};
            rc = s_after(s, &grid, now, &p->next_ms);
        }
        return rc;
    }
    p->failures++;
    if (p->failures < s->max_failures)
        return 0;
    int64_t base = s->every_ms;
    if (base <= 0) {
        int64_t t;
        if ((rc = sched_cron_next(&s->cron, run_ms, &t)) < 0)
            return rc;
        base = t - run_ms;
    }
    int64_t cur = p->interval_ms > 0 ? p->interval_ms : base;
    double grown = (double)cur * s->backoff_mult;
    int64_t want = grown > (double)s->max_interval_ms ? s->max_interval_ms
                                                      : (int64_t)grown;
    if (want > cur) {
        p->interval_ms = want;
        *backoff = true;
    } else if (p->interval_ms == 0)
        return 0; // the cap is below the schedule's own gap: no backoff
    int64_t next;
    if (s->every_ms > 0)
        next = s_grid_after(run_ms + p->interval_ms, p->interval_ms, now - 1);
    else {
        if ((rc = sched_cron_next(&s->cron, run_ms + p->interval_ms - 1,
                                  &next)) < 0)
            return rc;
        if (next <= now && (rc = sched_cron_next(&s->cron, now, &next)) < 0)
            return rc;
    }
    p->next_ms = next;
    return 0;
}

int
sched_plan_reset(const sched_spec_t *s, sched_plan_t *p, int64_t now)
{
    int64_t next;
    int rc = s_after(s, p, now, &next);
    if (rc == 0)
        p->next_ms = next;
    return rc;
}
