// sched_rec — the durable state of one scheduler job (#5) and its record in
// LMDB: the plan (next run, backoff interval, failures in a row), pause,
// totals, the last result, the runs in flight and a bounded history. Encodes
// to one msgpack map and decodes strictly: a record that is not what this
// module wrote is refused with a reason, never trusted in part. Values in
// the caller's storage; any thread.
#ifndef SCHED_REC_H
#define SCHED_REC_H

#include "sched_plan.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#define SCHED_REC_INFLIGHT_MAX 16  // runs of one job in flight at once
#define SCHED_REC_HIST_MAX     100 // most history entries kept per job
#define SCHED_REC_SIG_MAX      200 // schedule signature, with its NUL
#define SCHED_REC_ERR_MAX      160 // last error text, with its NUL

// How a run ended (or why a scheduled time did not run).
typedef enum {
    SCHED_R_OK,          // the target answered ok
    SCHED_R_FAILED,      // the target answered an error
    SCHED_R_TIMEOUT,     // no answer within the job's timeout
    SCHED_R_REPLACED,    // overlap = replace: a newer run took its place
    SCHED_R_INTERRUPTED, // the scheduler stopped while it was in flight
    SCHED_R_OVERLAP,     // skipped: overlap = forbid (or allow at its cap)
    SCHED_R_DEADLINE,    // skipped: past its start deadline
    SCHED_R_MISSED,      // skipped: downtime with missed = skip
    SCHED_R_COUNT_
} sched_result_t;

// The wire name of r: "ok", "failed", "timeout", "replaced",
// "interrupted", "overlap", "deadline", "missed". Static.
const char *sched_rec_result_name(sched_result_t r);

// One entry of a job's history.
typedef struct {
    int64_t run_ms;   // scheduled time (manual runs: when asked)
    int64_t fired_ms; // when it was sent; 0 when it was skipped
    int64_t ended_ms; // when the result came (skips: when decided)
    int64_t missed;   // scheduled times it stood for (> 1 after downtime)
    uint8_t result;   // sched_result_t
    bool manual;      // sched.run, outside the schedule
} sched_hist_t;

// A run in flight.
typedef struct {
    int64_t run_ms;   // scheduled time: the run id is "<job>@<run_ms>"
    int64_t fired_ms; // when it was sent; 0 while it waits to be sent
    int64_t missed;   // scheduled times it stands for
    uint32_t seq;     // matches its answer (not durable)
    bool manual;
} sched_run_t;

// A schedule set at run time by sched.set, in place of the config's.
typedef struct {
    int64_t every_ms; // > 0: an interval; 0: cron
    char cron[128];
    char zone[SCHED_CRON_ZONE_MAX];
    char base[SCHED_REC_SIG_MAX]; // the config's signature it overrode
} sched_ovr_t;

typedef struct {
    char sig[SCHED_REC_SIG_MAX]; // signature of the schedule planned by
    sched_plan_t plan;
    bool paused;
    int64_t runs, oks, fails, skips; // totals
    bool has_last;
    sched_hist_t last;                  // the last run that ended
    char last_error[SCHED_REC_ERR_MAX]; // "code: message" of the last failure
    sched_run_t inflight[SCHED_REC_INFLIGHT_MAX];
    int ninflight;
    sched_ovr_t *ovr;   // owned, or NULL
    sched_hist_t *hist; // owned ring of hist_cap entries, oldest at head
    int hist_cap, hist_len, hist_head;
} sched_rec_t;

// Prepares an empty record keeping up to hist_cap (1..SCHED_REC_HIST_MAX)
// history entries. Returns 0 or -ENOMEM.
int sched_rec_init(sched_rec_t *rec, int hist_cap);
void sched_rec_fini(sched_rec_t *rec);

// Appends h to the history, dropping the oldest entry when full.
void sched_rec_hist_add(sched_rec_t *rec, const sched_hist_t *h);

// The i-th entry, 0 the newest. i < rec->hist_len.
const sched_hist_t *sched_rec_hist_at(const sched_rec_t *rec, int i);

// Packs rec (its durable parts: not the runs' seq) as one map.
void sched_rec_pack(const sched_rec_t *rec, msgpack_packer *pk);

// Replaces the contents of rec (initialised) with the record in obj.
// Returns 0, or AZO_EBADREQ with the reason in err when obj is not a
// record this module wrote (rec is then left empty). Entries past rec's
// history capacity are dropped, oldest first.
int sched_rec_unpack(sched_rec_t *rec, const msgpack_object *obj, char *err,
                     size_t errlen);

#endif
