// sched_core — the scheduler's engine (#5): a set of jobs, their durable
// state in one LMDB database, a min-heap of their next fire times, the runs
// in flight with the overlap policy, results with failure backoff, and the
// events that say so. It owns no clock, socket or timer: the caller passes
// the time (Unix ms) to every call, sends the runs the engine hands it
// (ops->fire), feeds the answers back (sched_core_result) and arms one
// timer at sched_core_next_due. Tests drive it with a made-up clock; the
// actor (azo_sched) with the real one. One thread.
//
// Durability: every decision is committed before it is acted on. A due run
// is committed as in flight, with the job's next run moved past it, before
// it is sent; its result is committed before done/failed/backoff are
// published. After a crash, runs found in flight may have gone out or not
// (the crash came between the commit and the send, or before the answer
// was saved): with refire (the config's default) each is sent again with
// the same run id, at least once, and a target that keeps run ids drops the
// repeat; without, each is recorded `interrupted`, at most once. A
// scheduled time is never fired as two runs, and one that came due is
// never dropped unless a policy says so (overlap, deadline, missed).
// When the store refuses a commit (map or disk full), nothing is sent or
// announced: the engine holds for a second and tries again; results wait in
// memory until a commit succeeds.
#ifndef SCHED_CORE_H
#define SCHED_CORE_H

#include "azo_store.h"
#include "azo_wire.h"
#include "sched_rec.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#define SCHED_NAME_MAX 64 // job names: [A-Za-z0-9._-]{1,64}

typedef struct sched_core sched_core_t;

typedef enum {
    SCHED_OVERLAP_FORBID,  // a due run is skipped while one is in flight
    SCHED_OVERLAP_ALLOW,   // runs overlap, up to SCHED_REC_INFLIGHT_MAX
    SCHED_OVERLAP_REPLACE, // the run in flight is abandoned for the new one
} sched_overlap_t;

// A job as configured. Strings are copied by sched_core_add.
typedef struct {
    const char *name;
    const char *command; // any control command ("mining.optimize")
    const void *args;    // its args: one packed msgpack map, or NULL: {}
    size_t args_len;     //
    const char *run_arg; // args key that receives the run id, or NULL
    int64_t every_ms;    // > 0: interval job, else cron
    const char *cron;    // cron expression (cron job)
    const char *zone;    // time zone of cron, NULL: UTC
    sched_spec_t spec;   // the rest: jitter, deadline, missed, backoff
    int64_t timeout_ms;  // how long a run may wait for its answer
    sched_overlap_t overlap;
    bool refire; // re-send runs found in flight at start (same run id)
} sched_job_cfg_t;

// What happened, for the caller to publish (sched.job.<kind>).
typedef enum {
    SCHED_EV_FIRED,   // a run went out
    SCHED_EV_DONE,    // a run answered ok
    SCHED_EV_FAILED,  // a run failed (error, time-out, or not sendable)
    SCHED_EV_BACKOFF, // failures grew the job's interval
    SCHED_EV_SKIPPED, // a scheduled time did not run (overlap, deadline,
                      // missed; replaced and interrupted runs too)
} sched_ev_kind_t;

typedef struct {
    sched_ev_kind_t kind;
    const char *job;
    const char *run;     // run id "<job>@<run_ms>"; NULL for BACKOFF
    int64_t run_ms;      // scheduled time
    int64_t fire_at;     // FIRED: when it was due (run_ms + jitter)
    int64_t missed;      // FIRED, SKIPPED: scheduled times it stands for
    bool manual;         // sched.run
    int64_t duration_ms; // DONE, FAILED
    const char *code;    // FAILED: wire error code; SKIPPED: the reason
    const char *message; // FAILED: the error message
    int failures;        // FAILED, BACKOFF: failures in a row
    int64_t interval_ms; // BACKOFF: the new interval
    int64_t next_ms;     // FIRED, BACKOFF: the job's next scheduled time
} sched_event_t;

typedef struct {
    // Sends a run: job's command with its args (run_arg set to run). Returns
    // 0 when it went out: sched_core_result(token) must follow, exactly
    // once. Otherwise a negative code, and err says why: the run fails now.
    int (*fire)(void *ctx, const sched_job_cfg_t *job, const char *run,
                uint64_t token, char *err, size_t errlen);
    void (*event)(void *ctx, const sched_event_t *ev);
} sched_ops_t;

// A new engine on database db of store (both borrowed), keeping hist_cap
// (1..SCHED_REC_HIST_MAX) history entries per job. ops and ctx are
// borrowed for its life. NULL when out of memory.
sched_core_t *sched_core_new(azo_store_t *store, int db, int hist_cap,
                             const sched_ops_t *ops, void *ctx);

// Frees *self_p if not NULL and sets it to NULL. Runs in flight are
// forgotten (their answers must not be fed back).
void sched_core_destroy(sched_core_t **self_p);

// Checks cfg like sched_core_add would, without an engine. Returns 0 or
// AZO_EBADREQ with a message naming the field ("cron: ...", "every: ...").
int sched_core_check(const sched_job_cfg_t *cfg, char *err, size_t errlen);

// Adds a job, before sched_core_start. Returns 0, AZO_EBADREQ (a bad field,
// named in err), AZO_ECONFLICT (the name exists) or -ENOMEM.
int sched_core_add(sched_core_t *self, const sched_job_cfg_t *cfg, char *err,
                   size_t errlen);

// Loads each job's record (new jobs are planned from now; a changed
// schedule is planned again; runs in flight at the last stop become
// `interrupted`), deletes the records of jobs no longer configured, and
// commits. Returns 0 or a negative code with err (the store failed).
int sched_core_start(sched_core_t *self, int64_t now, char *err, size_t errlen);

// Fires every run due at now: one commit (with the results received since
// the last one), then the announcements and the sends, at most 256 of them
// per tick (the rest at the next, due at once). Returns the number of runs
// sent, or a negative code (the commit failed: nothing was sent or
// announced; the engine holds and tries again from now + 1 s).
int sched_core_tick(sched_core_t *self, int64_t now);

// When the next tick is due (Unix ms): the earliest fire time, the end of
// a hold, when results waiting to be saved are due, or 0 when runs wait to
// be sent; INT64_MAX when nothing is scheduled.
int64_t sched_core_next_due(const sched_core_t *self);

// The answer of the run sent with token: rc 0 (ok) or the error with its
// wire code and message. Unknown tokens (replaced runs) are ignored. The
// result is planned at once and saved by a tick at most 20 ms later (or
// with the commit of the next due run, when sooner), which then announces
// it: answers that arrive close together share one commit, and a due run
// does not wait for theirs.
void sched_core_result(sched_core_t *self, uint64_t token, int rc,
                       const char *code, const char *message, int64_t now);

// Commands. Each returns 0 or a negative code with the reason in err:
// AZO_ENOTFOUND (no such job), AZO_ECONFLICT (overlap forbids it, or the
// store holds), AZO_EBADREQ (a bad field, named), a store failure.
// Runs job now, outside its schedule; *run gets its id (runlen bytes).
int sched_core_run(sched_core_t *self, const char *job, int64_t now, char *run,
                   size_t runlen, char *err, size_t errlen);
// Pauses or resumes a job. A resumed job runs next at its first scheduled
// time after now (no catch-up for the paused time).
int sched_core_pause(sched_core_t *self, const char *job, bool paused,
                     int64_t now, char *err, size_t errlen);
// Sets a job's schedule at run time, durably: every_ms > 0, or cron (with
// zone, NULL: UTC); reset = true goes back to the config's. The backoff
// is cleared and the job planned from now.
int sched_core_set(sched_core_t *self, const char *job, int64_t every_ms,
                   const char *cron, const char *zone, bool reset, int64_t now,
                   char *err, size_t errlen);

// Packs the jobs after name `after` ("" from the first), in name order, at
// most limit of them, as {"jobs": [summary...], "count": total, "more":
// bool}. Returns the number packed.
int sched_core_list(sched_core_t *self, const char *after, int limit,
                    int64_t now, msgpack_packer *pk);
// True when job exists.
bool sched_core_has(const sched_core_t *self, const char *job);

// Packs one job with its history, or returns AZO_ENOTFOUND (nothing
// packed).
int sched_core_get(sched_core_t *self, const char *job, int64_t now,
                   msgpack_packer *pk);

// Counts for status: jobs, runs in flight, jobs paused.
void sched_core_counts(const sched_core_t *self, int *jobs, int *inflight,
                       int *paused);

#endif
