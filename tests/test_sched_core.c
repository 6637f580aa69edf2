// Unit tests of sched_core, the scheduler's engine, with a made-up clock and
// a real LMDB store in a temp dir: interval jobs fire on time; the next run
// is committed before a run is sent; overlap forbid / replace / allow;
// backoff after 3 failures and its reset; 10 minutes of downtime give one
// catch-up run (once) or none (skip); runs in flight at a crash come back
// `interrupted` (or re-sent with refire); manual runs, pause, resume and
// sched.set (durable, dropped when the config changes); a full store holds
// runs back instead of losing them; a corrupt record is replaced.
#include "azo_err.h"
#include "azo_mp.h"
#include "azo_store.h"
#include "azo_testutil.h"
#include "sched_core.h"
#include "sched_rec.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define T0  INT64_C(1767225600000) // 2026-01-01T00:00:00Z
#define SEC INT64_C(1000)
#define MIN (60 * SEC)

#define S_MAX_FIRES  512
#define S_MAX_EVENTS 1024

typedef struct {
    char run[96];
    uint64_t token;
    // What the store held when the run was sent.
    int64_t stored_next;
    int stored_inflight;
} s_fire_t;

typedef struct {
    sched_ev_kind_t kind;
    char job[80], run[96], code[40];
    int64_t run_ms, missed, interval_ms, next_ms;
    int failures;
    bool manual;
} s_ev_t;

typedef struct {
    char dir[4096];
    azo_store_t *store;
    int db;
    sched_core_t *core;
    s_fire_t fires[S_MAX_FIRES];
    int nfires;
    s_ev_t events[S_MAX_EVENTS];
    int nevents;
    int fail_send; // > 0: the next sends fail
} fixture_t;

static const char *const s_dbs[] = {"scheduler"};

// Reads the job's record from the store in its own read transaction.
static int
s_stored(fixture_t *f, const char *job, sched_rec_t *rec)
{
    char key[96];
    int klen = snprintf(key, sizeof key, "j/%s", job);
    azo_txn_t *txn = NULL;
    assert_int_equal(azo_store_begin(f->store, false, &txn), 0);
    msgpack_zone zone;
    assert_true(msgpack_zone_init(&zone, 1024));
    msgpack_object obj;
    int rc = azo_txn_get_mp(txn, f->db, key, (size_t)klen, &zone, &obj);
    if (rc == 0)
        rc = sched_rec_unpack(rec, &obj, NULL, 0);
    msgpack_zone_destroy(&zone);
    azo_store_abort(&txn);
    return rc;
}

static int
s_fire(void *ctx, const sched_job_cfg_t *job, const char *run, uint64_t token,
       char *err, size_t errlen)
{
    fixture_t *f = ctx;
    if (f->fail_send > 0) {
        f->fail_send--;
        return azo_err_set(err, errlen, AZO_EUNAVAIL, "target down");
    }
    assert_true(f->nfires < S_MAX_FIRES);
    s_fire_t *fi = &f->fires[f->nfires++];
    snprintf(fi->run, sizeof fi->run, "%s", run);
    fi->token = token;
    sched_rec_t rec;
    assert_int_equal(sched_rec_init(&rec, 20), 0);
    assert_int_equal(s_stored(f, job->name, &rec), 0);
    fi->stored_next = rec.plan.next_ms;
    fi->stored_inflight = rec.ninflight;
    sched_rec_fini(&rec);
    return 0;
}

static void
s_event(void *ctx, const sched_event_t *ev)
{
    fixture_t *f = ctx;
    assert_true(f->nevents < S_MAX_EVENTS);
    s_ev_t *e = &f->events[f->nevents++];
    memset(e, 0, sizeof *e);
    e->kind = ev->kind;
    snprintf(e->job, sizeof e->job, "%s", ev->job);
    snprintf(e->run, sizeof e->run, "%s", ev->run ? ev->run : "");
    snprintf(e->code, sizeof e->code, "%s", ev->code ? ev->code : "");
    e->run_ms = ev->run_ms;
    e->missed = ev->missed;
    e->interval_ms = ev->interval_ms;
    e->next_ms = ev->next_ms;
    e->failures = ev->failures;
    e->manual = ev->manual;
}

static const sched_ops_t s_ops = {s_fire, s_event};

static int
s_open_store(fixture_t *f, int64_t map)
{
    char env[4200], err[256];
    snprintf(env, sizeof env, "%s/azo.lmdb", f->dir);
    int rc = azo_store_open(&f->store, env, map, s_dbs, 1, err, sizeof err);
    if (rc == 0)
        f->db = azo_store_db(f->store, "scheduler");
    return rc;
}

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (!f || azo_test_tmpdir(f->dir, sizeof f->dir, "sched_core") < 0 ||
        s_open_store(f, 0) < 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    sched_core_destroy(&f->core);
    azo_store_close(&f->store);
    azo_test_rm_rf(f->dir);
    free(f);
    return 0;
}

static sched_job_cfg_t
s_job(const char *name, int64_t every)
{
    return (sched_job_cfg_t){
        .name = name,
        .command = "ping",
        .every_ms = every,
        .spec = {.missed = SCHED_MISSED_ONCE,
                 .max_failures = 3,
                 .backoff_mult = 2.0,
                 .max_interval_ms = 240 * MIN},
        .timeout_ms = 30 * SEC,
        .overlap = SCHED_OVERLAP_FORBID,
    };
}

// A new engine with jobs[0..n), started at now.
static void
s_start(fixture_t *f, const sched_job_cfg_t *jobs, int n, int64_t now)
{
    sched_core_destroy(&f->core);
    f->core = sched_core_new(f->store, f->db, 20, &s_ops, f);
    assert_non_null(f->core);
    char err[256];
    for (int i = 0; i < n; i++)
        assert_int_equal(sched_core_add(f->core, &jobs[i], err, sizeof err), 0);
    assert_int_equal(sched_core_start(f->core, now, err, sizeof err), 0);
}

static int
s_count(const fixture_t *f, sched_ev_kind_t kind, const char *code)
{
    int n = 0;
    for (int i = 0; i < f->nevents; i++)
        if (f->events[i].kind == kind &&
            (!code || strcmp(f->events[i].code, code) == 0))
            n++;
    return n;
}

static const s_ev_t *
s_last(const fixture_t *f, sched_ev_kind_t kind)
{
    for (int i = f->nevents - 1; i >= 0; i--)
        if (f->events[i].kind == kind)
            return &f->events[i];
    return NULL;
}

static void
s_reply(fixture_t *f, int fire, int rc, int64_t now)
{
    sched_core_result(f->core, f->fires[fire].token, rc,
                      rc ? azo_err_wire(rc) : NULL, rc ? "no" : NULL, now);
    // Saved and announced by the next tick.
    assert_true(sched_core_tick(f->core, now) >= 0);
}

static void
test_core_interval_fires_on_time(void **state)
{
    fixture_t *f = *state;
    sched_job_cfg_t job = s_job("a", MIN);
    s_start(f, &job, 1, T0);
    assert_int_equal(sched_core_next_due(f->core), T0); // new: at once
    assert_int_equal(sched_core_tick(f->core, T0), 1);
    assert_string_equal(f->fires[0].run, "a@1767225600000");
    sched_core_result(f->core, f->fires[0].token, 0, NULL, NULL, T0 + 5);
    // The answer is saved and announced by a tick at most 20 ms later (or
    // with the next due run's commit).
    assert_int_equal(s_count(f, SCHED_EV_DONE, NULL), 0);
    assert_int_equal(sched_core_next_due(f->core), T0 + 25);
    assert_int_equal(sched_core_tick(f->core, T0 + 25), 0);
    assert_int_equal(s_count(f, SCHED_EV_DONE, NULL), 1);
    assert_int_equal(sched_core_next_due(f->core), T0 + MIN);
    assert_int_equal(sched_core_tick(f->core, T0 + MIN - 1), 0);
    // Late by 3 s: the run fires and keeps its scheduled time as its id.
    assert_int_equal(sched_core_tick(f->core, T0 + MIN + 3 * SEC), 1);
    assert_string_equal(f->fires[1].run, "a@1767225660000");
    s_reply(f, 1, 0, T0 + MIN + 4 * SEC);
    assert_int_equal(sched_core_next_due(f->core), T0 + 2 * MIN);
    assert_int_equal(s_count(f, SCHED_EV_FIRED, NULL), 2);
    assert_int_equal(s_count(f, SCHED_EV_DONE, NULL), 2);
}

static void
test_core_next_run_is_committed_before_the_send(void **state)
{
    fixture_t *f = *state;
    sched_job_cfg_t job = s_job("a", MIN);
    s_start(f, &job, 1, T0);
    assert_int_equal(sched_core_tick(f->core, T0), 1);
    // When the run went out, the store already said: next run T0 + 1 min,
    // this run in flight.
    assert_int_equal(f->fires[0].stored_next, T0 + MIN);
    assert_int_equal(f->fires[0].stored_inflight, 1);
    s_reply(f, 0, 0, T0 + 1);
    sched_rec_t rec;
    assert_int_equal(sched_rec_init(&rec, 20), 0);
    assert_int_equal(s_stored(f, "a", &rec), 0);
    assert_int_equal(rec.ninflight, 0);
    assert_int_equal(rec.oks, 1);
    assert_int_equal(rec.hist_len, 1);
    assert_int_equal(sched_rec_hist_at(&rec, 0)->result, SCHED_R_OK);
    sched_rec_fini(&rec);
}

static void
test_core_overlap_forbid_skips_while_in_flight(void **state)
{
    fixture_t *f = *state;
    sched_job_cfg_t job = s_job("a", 10 * SEC);
    s_start(f, &job, 1, T0);
    assert_int_equal(sched_core_tick(f->core, T0), 1);
    // No answer yet: the next run is skipped, not queued.
    assert_int_equal(sched_core_tick(f->core, T0 + 10 * SEC), 0);
    assert_int_equal(s_count(f, SCHED_EV_SKIPPED, "overlap"), 1);
    char run[96], err[256];
    assert_int_equal(sched_core_run(f->core, "a", T0 + 11 * SEC, run,
                                    sizeof run, err, sizeof err),
                     AZO_ECONFLICT);
    assert_non_null(strstr(err, "in flight"));
    s_reply(f, 0, 0, T0 + 15 * SEC);
    assert_int_equal(sched_core_tick(f->core, T0 + 20 * SEC), 1);
    assert_string_equal(f->fires[1].run, "a@1767225620000");
}

static void
test_core_overlap_replace_and_allow(void **state)
{
    fixture_t *f = *state;
    sched_job_cfg_t jobs[2] = {s_job("r", 10 * SEC), s_job("w", 10 * SEC)};
    jobs[0].overlap = SCHED_OVERLAP_REPLACE;
    jobs[1].overlap = SCHED_OVERLAP_ALLOW;
    s_start(f, jobs, 2, T0);
    assert_int_equal(sched_core_tick(f->core, T0), 2);
    assert_int_equal(sched_core_tick(f->core, T0 + 10 * SEC), 2);
    int inflight, njobs, paused;
    sched_core_counts(f->core, &njobs, &inflight, &paused);
    assert_int_equal(inflight, 3); // r: the new run only; w: both
    assert_int_equal(s_count(f, SCHED_EV_SKIPPED, "replaced"), 1);
    // The replaced run's late answer is ignored.
    int r0 = strncmp(f->fires[0].run, "r@", 2) == 0 ? 0 : 1;
    s_reply(f, r0, 0, T0 + 11 * SEC);
    assert_int_equal(s_count(f, SCHED_EV_DONE, NULL), 0);
    sched_core_counts(f->core, &njobs, &inflight, &paused);
    assert_int_equal(inflight, 3);
}

static void
test_core_backoff_after_three_failures_and_reset(void **state)
{
    fixture_t *f = *state;
    sched_job_cfg_t job = s_job("b", MIN);
    s_start(f, &job, 1, T0);
    int64_t t = T0;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sched_core_tick(f->core, t), 1);
        s_reply(f, f->nfires - 1, AZO_EUNAVAIL, t + 10);
        assert_int_equal(s_count(f, SCHED_EV_BACKOFF, NULL), 0);
        t += MIN;
    }
    assert_int_equal(sched_core_next_due(f->core), T0 + 2 * MIN);
    // Third failure: the interval doubles, from the failed run.
    assert_int_equal(sched_core_tick(f->core, t), 1);
    s_reply(f, f->nfires - 1, AZO_ETIMEOUT, t + 30 * SEC);
    assert_int_equal(s_count(f, SCHED_EV_BACKOFF, NULL), 1);
    assert_int_equal(s_last(f, SCHED_EV_BACKOFF)->interval_ms, 2 * MIN);
    assert_int_equal(s_last(f, SCHED_EV_FAILED)->failures, 3);
    assert_string_equal(s_last(f, SCHED_EV_FAILED)->code, "timeout");
    assert_int_equal(sched_core_next_due(f->core), t + 2 * MIN);
    t += 2 * MIN;
    assert_int_equal(sched_core_tick(f->core, t), 1);
    s_reply(f, f->nfires - 1, AZO_EUNAVAIL, t + 10);
    assert_int_equal(s_last(f, SCHED_EV_BACKOFF)->interval_ms, 4 * MIN);
    assert_int_equal(sched_core_next_due(f->core), t + 4 * MIN);
    // One success: back to every minute, on the grid of that run.
    t += 4 * MIN;
    assert_int_equal(sched_core_tick(f->core, t), 1);
    s_reply(f, f->nfires - 1, 0, t + 10);
    assert_int_equal(sched_core_next_due(f->core), t + MIN);
    sched_rec_t rec;
    assert_int_equal(sched_rec_init(&rec, 20), 0);
    assert_int_equal(s_stored(f, "b", &rec), 0);
    assert_int_equal(rec.plan.failures, 0);
    assert_int_equal(rec.plan.interval_ms, 0);
    assert_int_equal(rec.fails, 4);
    assert_int_equal(rec.oks, 1);
    sched_rec_fini(&rec);
}

static void
test_core_downtime_gives_one_catch_up_run(void **state)
{
    fixture_t *f = *state;
    sched_job_cfg_t jobs[2] = {s_job("once", MIN), s_job("skip", MIN)};
    jobs[1].spec.missed = SCHED_MISSED_SKIP;
    s_start(f, jobs, 2, T0);
    assert_int_equal(sched_core_tick(f->core, T0), 2);
    s_reply(f, 0, 0, T0 + 1);
    s_reply(f, 1, 0, T0 + 1);
    // 10 minutes of downtime, then a new engine on the same store.
    f->nfires = f->nevents = 0;
    int64_t back = T0 + 10 * MIN + 30 * SEC;
    s_start(f, jobs, 2, back);
    assert_int_equal(sched_core_tick(f->core, back), 1);
    assert_int_equal(sched_core_tick(f->core, back), 0);
    assert_int_equal(sched_core_tick(f->core, back + 20 * SEC), 0);
    assert_int_equal(f->nfires, 1);
    assert_string_equal(f->fires[0].run, "once@1767226200000"); // T0 + 10m
    const s_ev_t *ev = s_last(f, SCHED_EV_FIRED);
    assert_int_equal(ev->missed, 10); // it stands for 10 scheduled times
    ev = s_last(f, SCHED_EV_SKIPPED);
    assert_non_null(ev);
    assert_string_equal(ev->job, "skip");
    assert_string_equal(ev->code, "missed");
    assert_int_equal(ev->missed, 10);
    // Both are back on the grid.
    assert_int_equal(sched_core_next_due(f->core), T0 + 11 * MIN);
}

static void
test_core_crash_in_flight_is_interrupted_or_refired(void **state)
{
    fixture_t *f = *state;
    sched_job_cfg_t jobs[2] = {s_job("i", MIN), s_job("r", MIN)};
    jobs[1].refire = true;
    s_start(f, jobs, 2, T0);
    assert_int_equal(sched_core_tick(f->core, T0), 2);
    char refired[96];
    snprintf(refired, sizeof refired, "%s",
             strncmp(f->fires[0].run, "r@", 2) == 0 ? f->fires[0].run
                                                    : f->fires[1].run);
    // Crash: no answers. Restart 5 s later.
    f->nfires = f->nevents = 0;
    s_start(f, jobs, 2, T0 + 5 * SEC);
    assert_int_equal(s_count(f, SCHED_EV_SKIPPED, "interrupted"), 1);
    assert_string_equal(s_last(f, SCHED_EV_SKIPPED)->run, "i@1767225600000");
    assert_int_equal(sched_core_next_due(f->core), 0); // a run to re-send
    assert_int_equal(sched_core_tick(f->core, T0 + 5 * SEC), 1);
    assert_string_equal(f->fires[0].run, refired); // same run id
    // Neither scheduled time runs again as a new run.
    assert_int_equal(sched_core_next_due(f->core), T0 + MIN);
    sched_rec_t rec;
    assert_int_equal(sched_rec_init(&rec, 20), 0);
    assert_int_equal(s_stored(f, "i", &rec), 0);
    assert_int_equal(rec.ninflight, 0);
    assert_int_equal(sched_rec_hist_at(&rec, 0)->result, SCHED_R_INTERRUPTED);
    assert_int_equal(rec.runs, 1);
    sched_rec_fini(&rec);
}

static void
test_core_manual_run_pause_resume(void **state)
{
    fixture_t *f = *state;
    sched_job_cfg_t job = s_job("m", MIN);
    s_start(f, &job, 1, T0);
    assert_int_equal(sched_core_tick(f->core, T0), 1);
    s_reply(f, 0, 0, T0 + 1);
    char run[96], err[256];
    assert_int_equal(sched_core_run(f->core, "m", T0 + 5 * SEC, run, sizeof run,
                                    err, sizeof err),
                     0);
    assert_string_equal(run, "m@1767225605000m");
    assert_string_equal(f->fires[1].run, run);
    assert_true(s_last(f, SCHED_EV_FIRED)->manual);
    assert_int_equal(
        sched_core_run(f->core, "nope", T0, run, sizeof run, err, sizeof err),
        AZO_ENOTFOUND);
    s_reply(f, 1, 0, T0 + 6 * SEC);
    // Paused: nothing due, across scheduled times.
    assert_int_equal(
        sched_core_pause(f->core, "m", true, T0 + 10 * SEC, err, sizeof err),
        0);
    assert_int_equal(sched_core_next_due(f->core), INT64_MAX);
    assert_int_equal(sched_core_tick(f->core, T0 + 3 * MIN), 0);
    // Resumed: the next scheduled time after now, no catch-up.
    assert_int_equal(sched_core_pause(f->core, "m", false,
                                      T0 + 3 * MIN + 10 * SEC, err, sizeof err),
                     0);
    assert_int_equal(sched_core_next_due(f->core), T0 + 4 * MIN);
    assert_int_equal(sched_core_tick(f->core, T0 + 4 * MIN), 1);
    // A pause survives a restart.
    assert_int_equal(
        sched_core_pause(f->core, "m", true, T0 + 5 * MIN, err, sizeof err), 0);
    s_start(f, &job, 1, T0 + 6 * MIN);
    assert_int_equal(sched_core_next_due(f->core), INT64_MAX);
}

static void
test_core_set_schedule_is_durable_until_the_config_changes(void **state)
{
    fixture_t *f = *state;
    sched_job_cfg_t job = s_job("s", MIN);
    s_start(f, &job, 1, T0);
    assert_int_equal(sched_core_tick(f->core, T0), 1);
    s_reply(f, 0, 0, T0 + 1);
    char err[256];
    assert_int_equal(sched_core_set(f->core, "s", 0, "x * * * *", NULL, false,
                                    T0, err, sizeof err),
                     AZO_EBADREQ);
    assert_true(strncmp(err, "cron: ", 6) == 0);
    assert_int_equal(sched_core_set(f->core, "s", 0, "0 * * * *", "Mars/Base",
                                    false, T0, err, sizeof err),
                     AZO_EBADREQ);
    assert_true(strncmp(err, "zone: ", 6) == 0);
    assert_int_equal(sched_core_set(f->core, "s", 500, NULL, NULL, false, T0,
                                    err, sizeof err),
                     AZO_EBADREQ);
    assert_true(strncmp(err, "every: ", 7) == 0);
    assert_int_equal(sched_core_set(f->core, "s", 0, "0 * * * *", NULL, false,
                                    T0 + 10 * SEC, err, sizeof err),
                     0);
    assert_int_equal(sched_core_next_due(f->core), T0 + 60 * MIN);
    // Kept across a restart with the same config...
    s_start(f, &job, 1, T0 + 20 * SEC);
    assert_int_equal(sched_core_next_due(f->core), T0 + 60 * MIN);
    // ... dropped when the config's schedule changed.
    job.every_ms = 2 * MIN;
    s_start(f, &job, 1, T0 + 30 * SEC);
    int64_t due = sched_core_next_due(f->core);
    assert_true(due > T0 + 30 * SEC && due <= T0 + 30 * SEC + 2 * MIN);
    // reset goes back to the config's schedule.
    assert_int_equal(sched_core_set(f->core, "s", 5 * SEC, NULL, NULL, false,
                                    T0 + 40 * SEC, err, sizeof err),
                     0);
    assert_int_equal(sched_core_set(f->core, "s", 0, NULL, NULL, true,
                                    T0 + 41 * SEC, err, sizeof err),
                     0);
    due = sched_core_next_due(f->core);
    assert_true(due > T0 + 41 * SEC && due <= T0 + 41 * SEC + 2 * MIN);
}

static void
test_core_full_store_holds_runs_back(void **state)
{
    fixture_t *f = *state;
    azo_store_close(&f->store);
    azo_test_rm_rf(f->dir);
    assert_int_equal(azo_test_tmpdir(f->dir, sizeof f->dir, "sched_full"), 0);
    assert_int_equal(s_open_store(f, 1 << 20), 0);
    sched_job_cfg_t job = s_job("h", MIN);
    s_start(f, &job, 1, T0);
    assert_int_equal(sched_core_tick(f->core, T0), 1);
    s_reply(f, 0, 0, T0 + 1);
    // Fill the map with filler records until it refuses.
    static char big[64 * 1024];
    memset(big, 'x', sizeof big);
    int n = 0, rc = 0;
    for (size_t size = sizeof big; size >= 16; size /= 4) {
        while ((rc = azo_store_put(f->store, f->db, &n, sizeof n, big, size)) ==
               0)
            n++;
        assert_int_equal(rc, AZO_ESTOREFULL);
    }
    // Due, but not committable: nothing is sent, and it waits a second.
    assert_int_equal(sched_core_tick(f->core, T0 + MIN), AZO_ESTOREFULL);
    assert_int_equal(f->nfires, 1);
    assert_int_equal(sched_core_next_due(f->core), T0 + MIN + SEC);
    char run[96], err[256];
    assert_int_equal(sched_core_run(f->core, "h", T0 + MIN, run, sizeof run,
                                    err, sizeof err),
                     AZO_ESTOREFULL);
    // Room again: the held run goes out, once, with its own id.
    for (int i = 0; i < n; i += 2)
        assert_int_equal(azo_store_del(f->store, f->db, &i, sizeof i), 0);
    assert_int_equal(sched_core_tick(f->core, T0 + MIN + SEC), 1);
    assert_int_equal(f->nfires, 2);
    assert_string_equal(f->fires[1].run, "h@1767225660000");
    assert_int_equal(sched_core_tick(f->core, T0 + MIN + 2 * SEC), 0);
}

static void
test_core_corrupt_record_is_replanned(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(azo_store_put(f->store, f->db, "j/c", 3, "\xc1garbage", 8),
                     0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    azo_pack_kint(&pk, "v", 1); // a map, but not a record
    assert_int_equal(azo_store_put(f->store, f->db, "j/d", 3, sb.data, sb.size),
                     0);
    // A record of a job no longer configured: deleted at start.
    assert_int_equal(
        azo_store_put(f->store, f->db, "j/gone", 6, sb.data, sb.size), 0);
    msgpack_sbuffer_destroy(&sb);
    sched_job_cfg_t jobs[2] = {s_job("c", MIN), s_job("d", MIN)};
    s_start(f, jobs, 2, T0);
    assert_int_equal(sched_core_tick(f->core, T0), 2);
    void *val;
    size_t vlen;
    assert_int_equal(azo_store_get(f->store, f->db, "j/gone", 6, &val, &vlen),
                     AZO_ENOTFOUND);
    sched_rec_t rec;
    assert_int_equal(sched_rec_init(&rec, 20), 0);
    assert_int_equal(s_stored(f, "c", &rec), 0);
    assert_int_equal(rec.ninflight, 1);
    sched_rec_fini(&rec);
}

static void
test_core_send_failure_and_deadline(void **state)
{
    fixture_t *f = *state;
    sched_job_cfg_t job = s_job("x", MIN);
    job.spec.start_deadline_ms = 5 * SEC;
    s_start(f, &job, 1, T0);
    f->fail_send = 1;
    assert_int_equal(sched_core_tick(f->core, T0), 0);
    const s_ev_t *ev = s_last(f, SCHED_EV_FAILED);
    assert_non_null(ev);
    assert_string_equal(ev->code, "unavailable");
    assert_int_equal(ev->failures, 1);
    // 10 s late, past its 5 s start deadline: skipped.
    assert_int_equal(sched_core_tick(f->core, T0 + MIN + 10 * SEC), 0);
    assert_string_equal(s_last(f, SCHED_EV_SKIPPED)->code, "deadline");
    assert_int_equal(sched_core_next_due(f->core), T0 + 2 * MIN);
}

static void
test_core_sends_in_batches(void **state)
{
    fixture_t *f = *state;
    enum { N = 300 };
    static char names[N][16];
    static sched_job_cfg_t jobs[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "j%03d", i);
        jobs[i] = s_job(names[i], MIN);
    }
    s_start(f, jobs, N, T0);
    // All new, all due: 256 go out, the rest at the next tick, at once.
    assert_int_equal(sched_core_tick(f->core, T0), 256);
    assert_int_equal(sched_core_next_due(f->core), 0);
    assert_int_equal(sched_core_tick(f->core, T0 + 1), N - 256);
    assert_int_equal(sched_core_next_due(f->core), T0 + MIN);
    int njobs, inflight, paused;
    sched_core_counts(f->core, &njobs, &inflight, &paused);
    assert_int_equal(njobs, N);
    assert_int_equal(inflight, N);
    for (int i = 0; i < N; i++)
        sched_core_result(f->core, f->fires[i].token, 0, NULL, NULL, T0 + 2);
    assert_int_equal(s_count(f, SCHED_EV_DONE, NULL), 0);
    assert_int_equal(sched_core_tick(f->core, T0 + 3), 0);
    assert_int_equal(s_count(f, SCHED_EV_DONE, NULL), N);
}

static void
test_core_check_names_the_field(void **state)
{
    (void)state;
    char err[256];
    sched_job_cfg_t job = s_job("ok", MIN);
    assert_int_equal(sched_core_check(&job, err, sizeof err), 0);
    job.name = "bad name";
    assert_int_equal(sched_core_check(&job, err, sizeof err), AZO_EBADREQ);
    assert_true(strncmp(err, "name: ", 6) == 0);
    job = s_job("ok", MIN);
    job.cron = "*/5 * * * *";
    assert_int_equal(sched_core_check(&job, err, sizeof err), AZO_EBADREQ);
    assert_true(strncmp(err, "every, cron: ", 13) == 0);
    job.every_ms = 0;
    job.cron = "0 0 30 2 *";
    assert_int_equal(sched_core_check(&job, err, sizeof err), AZO_EBADREQ);
    assert_non_null(strstr(err, "never fires"));
    job.cron = "0 0 * * *";
    job.command = "Bad";
    assert_int_equal(sched_core_check(&job, err, sizeof err), AZO_EBADREQ);
    assert_true(strncmp(err, "command: ", 9) == 0);
}

static void
test_rec_round_trip_and_strict_unpack(void **state)
{
    (void)state;
    sched_rec_t a, b;
    assert_int_equal(sched_rec_init(&a, 3), 0);
    assert_int_equal(sched_rec_init(&b, 2), 0);
    snprintf(a.sig, sizeof a.sig, "every:60000");
    a.plan = (sched_plan_t){.next_ms = T0, .interval_ms = 5, .failures = 2};
    a.runs = 7;
    a.inflight[0] = (sched_run_t){
        .run_ms = T0, .fired_ms = T0 + 1, .missed = 1, .manual = true};
    a.ninflight = 1;
    for (int i = 0; i < 5; i++) {
        sched_hist_t h = {.run_ms = T0 + i, .result = SCHED_R_FAILED};
        sched_rec_hist_add(&a, &h);
    }
    assert_int_equal(a.hist_len, 3);
    assert_int_equal(sched_rec_hist_at(&a, 0)->run_ms, T0 + 4);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    sched_rec_pack(&a, &pk);
    assert_int_equal(azo_mp_check(sb.data, sb.size, NULL, 0), 0);
    msgpack_zone zone;
    assert_true(msgpack_zone_init(&zone, 1024));
    msgpack_object obj;
    assert_int_equal(azo_mp_unpack(sb.data, sb.size, &zone, &obj), 0);
    char err[200];
    assert_int_equal(sched_rec_unpack(&b, &obj, err, sizeof err), 0);
    assert_string_equal(b.sig, "every:60000");
    assert_int_equal(b.plan.next_ms, T0);
    assert_int_equal(b.plan.failures, 2);
    assert_int_equal(b.ninflight, 1);
    assert_true(b.inflight[0].manual);
    assert_int_equal(b.hist_len, 2); // its capacity: the oldest dropped
    assert_int_equal(sched_rec_hist_at(&b, 0)->run_ms, T0 + 4);
    assert_int_equal(sched_rec_hist_at(&b, 1)->run_ms, T0 + 3);
    // A wrong type anywhere: refused, and the record is left empty.
    for (uint32_t i = 0; i < obj.via.map.size; i++) {
        msgpack_object saved = obj.via.map.ptr[i].val;
        obj.via.map.ptr[i].val.type = MSGPACK_OBJECT_FLOAT64;
        assert_int_equal(sched_rec_unpack(&b, &obj, err, sizeof err),
                         AZO_EBADREQ);
        assert_true(azo_test_one_line(err));
        assert_int_equal(b.hist_len, 0);
        obj.via.map.ptr[i].val = saved;
    }
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&sb);
    sched_rec_fini(&a);
    sched_rec_fini(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_core_interval_fires_on_time,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_core_next_run_is_committed_before_the_send, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_core_overlap_forbid_skips_while_in_flight, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(test_core_overlap_replace_and_allow,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_core_backoff_after_three_failures_and_reset, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(
            test_core_downtime_gives_one_catch_up_run, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_core_crash_in_flight_is_interrupted_or_refired, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(test_core_manual_run_pause_resume,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_core_set_schedule_is_durable_until_the_config_changes, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown(test_core_full_store_holds_runs_back,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_core_corrupt_record_is_replanned,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_core_send_failure_and_deadline,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_core_sends_in_batches, s_setup,
                                        s_teardown),
        cmocka_unit_test(test_core_check_names_the_field),
        cmocka_unit_test(test_rec_round_trip_and_strict_unpack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
