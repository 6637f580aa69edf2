// sched_plan — when a scheduler job runs next (#5): its interval or cron
// schedule, jitter, the start deadline, catch-up after downtime and the
// failure backoff. Pure functions of a spec, a plan (the durable part of a
// job's state) and times the caller gives (Unix ms, UTC): no clock of their
// own, so tests drive time. Any thread.
//
// Rules:
// - Scheduled times. An interval job first runs when it is first planned
//   (a new job: at once), then every `every` after each scheduled time, so
//   runs do not drift. A cron job runs at its cron times (sched_cron).
// - Jitter. A run fires at its scheduled time plus an offset in
//   [0, jitter) derived from the job's name and the scheduled time: the
//   same after a restart, so the run keeps its id (the scheduled time).
// - Late runs. When the scheduler looks at a job after its fire time:
//   - one scheduled time has passed: that run fires (however late), unless
//     a start deadline is set and has passed (counted from the run's fire
//     time, jitter included): then it is skipped;
//   - several have passed (downtime): `missed = once` fires one run, the
//     latest scheduled time (if within the start deadline, when one is
//     set), `missed = skip` fires none. Never a burst.
//   Either way the plan moves to the first scheduled time not yet passed.
// - Backoff. A failed run counts; from max_failures failures in a row, each
//   failure multiplies the job's interval by backoff_mult, up to
//   max_interval (for a cron job the interval is the gap from the failed
//   run to its next cron time, and the next run is the first cron time at
//   least that interval after the failed run). One success resets the
//   interval and the count.
#ifndef SCHED_PLAN_H
#define SCHED_PLAN_H

#include "sched_cron.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    SCHED_MISSED_SKIP, // after downtime: no catch-up run
    SCHED_MISSED_ONCE, // after downtime: one catch-up run
} sched_missed_t;

// How a job is scheduled (from its config; read-only here).
typedef struct {
    int64_t every_ms;          // > 0: an interval job; 0: a cron job
    sched_cron_t cron;         // the cron job's schedule
    int64_t jitter_ms;         // 0: none
    int64_t start_deadline_ms; // 0: none
    sched_missed_t missed;
    int max_failures;        // failures in a row before backoff (>= 1)
    double backoff_mult;     // >= 1
    int64_t max_interval_ms; // backoff cap
} sched_spec_t;

// Where a job stands (kept durably by the caller).
typedef struct {
    int64_t next_ms;     // the next scheduled time
    int64_t interval_ms; // current interval under backoff, 0 when none
    int failures;        // failed runs in a row
} sched_plan_t;

// Plans a job never seen before, at now. Returns 0, or a negative code
// (a cron schedule that cannot be computed).
int sched_plan_first(const sched_spec_t *s, int64_t now, sched_plan_t *p);

// The moment scheduled time run_ms fires: run_ms plus its jitter.
int64_t sched_plan_fire_at(const sched_spec_t *s, const char *name,
                           int64_t run_ms);

typedef enum {
    SCHED_WAIT, // not yet: look again at *at
    SCHED_FIRE, // fire the run *run_ms now
    SCHED_SKIP, // the run *run_ms (the latest of *missed) is skipped
} sched_due_t;

// What to do with job name at now. For FIRE and SKIP, *run_ms is the
// scheduled time concerned, *missed how many scheduled times had passed,
// and p has moved to the first scheduled time after now (commit it before
// firing). For WAIT, *at is the fire time of p->next_ms. Returns the
// decision, or a negative code (cron failure; p unchanged).
int sched_plan_due(const sched_spec_t *s, sched_plan_t *p, const char *name,
                   int64_t now, int64_t *run_ms, int64_t *missed, int64_t *at);

// Records the result of run run_ms at now. *backoff is set when this
// failure grew the interval (a sched.job.backoff event). Returns 0, or a
// negative code (cron failure).
int sched_plan_result(const sched_spec_t *s, sched_plan_t *p, int64_t run_ms,
                      bool ok, int64_t now, bool *backoff);

// Moves p to the first scheduled time after now (sched.set, resume).
int sched_plan_reset(const sched_spec_t *s, sched_plan_t *p, int64_t now);

#endif
