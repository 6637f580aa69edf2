// azo_sched — the scheduler actor: reads its jobs from the config, runs the
// engine (sched_core) on the real clock with one zloop timer, sends each
// run as a control request to the owner of its command, and answers the
// sched.* commands. Events are published as sched.job.<kind>.
#include "azo_sched.h"

#include "azo_err.h"
#include "azo_json.h"
#include "azo_mp.h"
#include "sched_core.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// The timer never waits longer than this, so that a step of the wall
// clock (cron times are wall-clock times) is noticed within a minute.
#define S_MAX_WAIT_MS 60000
#define S_LIST_LIMIT  1000 // sched.list: jobs per page by default
#define S_LIST_MAX    10000
#define S_WAIT_MAX    256 // sched.run wait=true replies pending at once

_Static_assert(sizeof(void *) >= sizeof(uint64_t),
               "run tokens travel as the call's arg pointer");

// A sched.run {wait: true} waiting for its run to end.
typedef struct {
    char run[SCHED_NAME_MAX + 32];
    azo_reply_t *reply; // owned by the runtime until azo_actor_reply
} s_wait_t;

typedef struct {
    azo_actor_t *actor; // borrowed
    sched_core_t *core; // owned
    int timer;          // azo_actor_timer_at id, 0 when none
    int64_t timer_due;  // wall ms the timer was armed for
    s_wait_t waits[S_WAIT_MAX];
    int nwaits;
} s_sched_t;

// --- config -----------------------------------------------------------------

static const azo_cfg_key_t s_keys[] = {
    {"history", AZO_CFG_INT, "20", 1, SCHED_REC_HIST_MAX, NULL,
     "runs kept in each job's history"},
    {"jobs", AZO_CFG_SECTION, NULL, 0, 0, NULL, "a section of jobs"},
    {"jobs/*", AZO_CFG_SECTION, NULL, 0, 0, NULL,
     "a job: a section named after it"},
    {"jobs/*/command", AZO_CFG_STR, NULL, 0, 0, NULL,
     "the control command a run sends, e.g. mining.optimize"},
    {"jobs/*/args", AZO_CFG_STR, NULL, 0, 0, NULL,
     "the command's arguments as a JSON object, e.g. '{\"name\": \"x\"}'"},
    {"jobs/*/run_arg", AZO_CFG_STR, NULL, 0, 0, NULL,
     "an argument name that receives the run id, for targets that "
     "deduplicate"},
    {"jobs/*/every", AZO_CFG_STR, NULL, 0, 0, NULL,
     "an interval, 1s to 366d (300s, 5m, 1h30m)"},
    {"jobs/*/cron", AZO_CFG_STR, NULL, 0, 0, NULL,
     "a cron expression, \"*/5 * * * *\" or @hourly"},
    {"jobs/*/zone", AZO_CFG_STR, NULL, 0, 0, NULL,
     "the cron schedule's IANA time zone (default UTC)"},
    {"jobs/*/jitter", AZO_CFG_DURATION, "0", 0, 86400000, NULL,
     "a random delay of each run, up to this"},
    {"jobs/*/timeout", AZO_CFG_DURATION, "30s", 10, 86400000, NULL,
     "how long a run may take to answer before it counts as failed"},
    {"jobs/*/overlap", AZO_CFG_ENUM, "forbid", 0, 0, "forbid|allow|replace",
     "what a run due while the last is in flight does"},
    {"jobs/*/missed", AZO_CFG_ENUM, "once", 0, 0, "once|skip",
     "runs missed during downtime: one catch-up run, or none"},
    {"jobs/*/start_deadline", AZO_CFG_DURATION, "0", 0, 366 * 86400000LL, NULL,
     "a run later than this is skipped (0: never)"},
    {"jobs/*/max_consecutive_failures", AZO_CFG_INT, "3", 1, 1000, NULL,
     "failures in a row before the interval grows"},
    {"jobs/*/backoff_multiplier", AZO_CFG_REAL, "2", 1, 100, NULL,
     "how much each failure past the limit grows the interval"},
    {"jobs/*/max_interval", AZO_CFG_DURATION, "240m", 1000, 366 * 86400000LL,
     NULL, "the longest interval under backoff"},
    {"jobs/*/refire", AZO_CFG_BOOL, "1", 0, 0, NULL,
     "1: a run in flight when the scheduler stopped is sent again at start, "
     "with the same run id (at least once); 0: it is recorded interrupted "
     "(at most once)"},
};

// A job's config as read, with the storage its strings and args need.
typedef struct {
    sched_job_cfg_t cfg;
    msgpack_sbuffer args; // packed args map
    char path[160];       // "<base>/jobs/<name>"
    char key[224];        // the last s_job_key
} s_jobcfg_t;

// The config path of key ("%.*s", n of it) of the job: "<path>/<key>", in
// jc->key until the next call.
static const char *
s_job_key(s_jobcfg_t *jc, const char *key, int n)
{
    snprintf(jc->key, sizeof jc->key, "%s/%.*s", jc->path, n, key);
    return jc->key;
}

#define S_KEY(jc, k) s_job_key(jc, k, (int)sizeof k - 1)

// Reports the problem msg ("field: text" from sched_core_check) at the
// key it names, or at the job's section.
static int
s_job_fail(const azo_config_t *cfg, s_jobcfg_t *jc, const char *msg, char *err,
           size_t errlen)
{
    const char *colon = strstr(msg, ": ");
    size_t n = colon ? (size_t)(colon - msg) : 0;
    if (n && n < 40 && !memchr(msg, ',', n) && !memchr(msg, ' ', n)) {
        const char *path = s_job_key(jc, msg, (int)n);
        if (azo_config_str(cfg, path))
            return azo_config_fail(cfg, path, err, errlen, "%s", colon + 2);
    }
    return azo_config_fail(cfg, jc->path, err, errlen, "%s", msg);
}

// Reads the job in section name under base into *jc (msgpack_sbuffer
// initialised by the caller) and checks it. Returns 0 or AZO_EBADREQ with
// err naming the file, line and key.
static int
s_job_read(const azo_config_t *cfg, const char *base, const char *name,
           s_jobcfg_t *jc, char *err, size_t errlen)
{
    snprintf(jc->path, sizeof jc->path, "%s/jobs/%s", base, name);
    sched_job_cfg_t *c = &jc->cfg;
    memset(c, 0, sizeof *c);
    c->name = name;
    c->command = azo_config_str(cfg, S_KEY(jc, "command"));
    if (!c->command)
        return azo_config_fail(cfg, jc->path, err, errlen,
                               "command: missing (the control command a run "
                               "sends)");
    c->run_arg = azo_config_str(cfg, S_KEY(jc, "run_arg"));
    const char *args = azo_config_str(cfg, S_KEY(jc, "args"));
    if (args) {
        json_error_t jerr;
        json_t *json = json_loads(args, JSON_REJECT_DUPLICATES, &jerr);
        const char *path = jc->key; // .../args
        if (!json || !json_is_object(json)) {
            json_decref(json);
            return azo_config_fail(
                cfg, path, err, errlen,
                json ? "expected a JSON object, got another JSON value"
                     : "expected a JSON object: %s at column %d",
                jerr.text, jerr.column);
        }
        msgpack_packer pk;
        msgpack_packer_init(&pk, &jc->args, msgpack_sbuffer_write);
        int rc = azo_json_to_mp(json, &pk);
        const char *ra = c->run_arg;
        bool clash = ra && json_object_get(json, ra);
        json_decref(json);
        if (rc < 0)
            return azo_config_fail(cfg, path, err, errlen, "nested too deep");
        if (clash)
            return azo_config_fail(cfg, path, err, errlen,
                                   "holds '%s', the run_arg key", ra);
        c->args = jc->args.data;
        c->args_len = jc->args.size;
    }
    const char *every = azo_config_str(cfg, S_KEY(jc, "every"));
    if (every) {
        char why[200];
        if (sched_cron_parse_every(every, &c->every_ms, why, sizeof why) < 0)
            return azo_config_fail(cfg, jc->key, err, errlen, "%s", why);
    }
    c->cron = azo_config_str(cfg, S_KEY(jc, "cron"));
    c->zone = azo_config_str(cfg, S_KEY(jc, "zone"));
    const char *overlap = azo_config_str(cfg, S_KEY(jc, "overlap"));
    c->overlap = !overlap || streq(overlap, "forbid") ? SCHED_OVERLAP_FORBID
                 : streq(overlap, "allow")            ? SCHED_OVERLAP_ALLOW
                                                      : SCHED_OVERLAP_REPLACE;
    const char *missed = azo_config_str(cfg, S_KEY(jc, "missed"));
    c->spec.missed =
        missed && streq(missed, "skip") ? SCHED_MISSED_SKIP : SCHED_MISSED_ONCE;
    c->spec.jitter_ms = azo_config_ms(cfg, S_KEY(jc, "jitter"), 0);
    c->spec.start_deadline_ms =
        azo_config_ms(cfg, S_KEY(jc, "start_deadline"), 0);
    c->spec.max_interval_ms = azo_config_ms(cfg, S_KEY(jc, "max_interval"), 0);
    c->timeout_ms = azo_config_ms(cfg, S_KEY(jc, "timeout"), 0);
    c->spec.max_failures =
        (int)azo_config_int(cfg, S_KEY(jc, "max_consecutive_failures"), 3);
    c->spec.backoff_mult =
        azo_config_real(cfg, S_KEY(jc, "backoff_multiplier"), 2.0);
    c->refire = azo_config_bool(cfg, S_KEY(jc, "refire"), true);
    char why[300];
    if (sched_core_check(c, why, sizeof why) < 0)
        return s_job_fail(cfg, jc, why, err, errlen);
    return 0;
}

// Calls fn for each job of the config. Returns 0 or the first failure.
static int
s_each_job(const azo_config_t *cfg, const char *base,
           int (*fn)(s_jobcfg_t *jc, void *arg), void *arg, char *err,
           size_t errlen)
{
    char path[128];
    snprintf(path, sizeof path, "%s/jobs", base);
    zconfig_t *jobs = azo_config_section(cfg, path);
    s_jobcfg_t jc;
    msgpack_sbuffer_init(&jc.args);
    int rc = 0;
    for (zconfig_t *j = jobs ? zconfig_child(jobs) : NULL; j && rc == 0;
         j = zconfig_next(j)) {
        msgpack_sbuffer_clear(&jc.args);
        rc = s_job_read(cfg, base, zconfig_name(j), &jc, err, errlen);
        if (rc == 0 && fn)
            rc = fn(&jc, arg);
    }
    msgpack_sbuffer_destroy(&jc.args);
    return rc;
}

static int
s_check(const azo_config_t *cfg, const char *base, char *err, size_t errlen)
{
    return s_each_job(cfg, base, NULL, NULL, err, errlen);
}

// --- timer ------------------------------------------------------------------

static void s_arm(s_sched_t *self);

static void
s_on_timer(void *selfp, void *arg)
{
    (void)arg;
    s_sched_t *self = selfp;
    self->timer = 0;
    (void)sched_core_tick(self->core, azo_wire_now_ms());
    s_arm(self);
}

// Arms the one timer at the engine's next due time (absolute, monotonic).
static void
s_arm(s_sched_t *self)
{
    int64_t due = sched_core_next_due(self->core);
    int64_t now = azo_wire_now_ms();
    int64_t wait = due == INT64_MAX ? S_MAX_WAIT_MS : due - now;
    if (wait > S_MAX_WAIT_MS)
        wait = S_MAX_WAIT_MS;
    if (wait < 0)
        wait = 0;
    if (self->timer && self->timer_due == now + wait)
        return;
    if (self->timer)
        azo_actor_timer_cancel(self->actor, self->timer);
    self->timer =
        azo_actor_timer_at(self->actor, zclock_mono() + wait, s_on_timer, NULL);
    if (self->timer < 0) {
        zsys_error("scheduler: cannot set a timer: %s",
                   azo_err_str(self->timer));
        self->timer = 0;
        azo_actor_exit(self->actor, true, "cannot set a timer");
        return;
    }
    self->timer_due = now + wait;
}

// --- runs -------------------------------------------------------------------

static void
s_on_reply(void *selfp, const azo_rep_t *rep, void *arg)
{
    s_sched_t *self = selfp;
    uint64_t token = (uint64_t)(uintptr_t)arg;
    if (rep->ok)
        sched_core_result(self->core, token, 0, NULL, NULL, azo_wire_now_ms());
    else
        sched_core_result(self->core, token, rep->rc, rep->code, rep->message,
                          azo_wire_now_ms());
    s_arm(self);
}

// Length of the map header at the start of a packed map.
static size_t
s_map_header(const uint8_t *p, uint32_t *n)
{
    if ((p[0] & 0xf0) == 0x80) {
        *n = p[0] & 0x0f;
        return 1;
    }
    if (p[0] == 0xde) {
        *n = (uint32_t)p[1] << 8 | p[2];
        return 3;
    }
    *n = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 |
         p[4];
    return 5;
}

static int
s_fire(void *ctx, const sched_job_cfg_t *job, const char *run, uint64_t token,
       char *err, size_t errlen)
{
    s_sched_t *self = ctx;
    msgpack_packer *pk = azo_actor_msg(self->actor, job->command);
    uint32_t n = 0;
    size_t head = job->args ? s_map_header(job->args, &n) : 0;
    if (job->run_arg) {
        msgpack_pack_map(pk, n + 1);
        azo_pack_kstr(pk, job->run_arg, run);
        if (job->args)
            (void)pk->callback(pk->data, (const char *)job->args + head,
                               job->args_len - head);
    } else if (job->args)
        (void)pk->callback(pk->data, job->args, job->args_len);
    else
        msgpack_pack_map(pk, 0);
    int rc = azo_actor_call(self->actor, NULL, job->timeout_ms, s_on_reply,
                            (void *)(uintptr_t)token);
    if (rc < 0)
        return azo_err_set(err, errlen, rc,
                           rc == AZO_EUNAVAIL
                               ? "%s: not sent: the actor that owns it is "
                                 "not running, or its inbox is full"
                               : "%s: not sent: %s",
                           job->command, azo_err_str(rc));
    return 0;
}

// Answers a sched.run {wait: true} whose run just ended.
static void
s_wait_done(s_sched_t *self, const sched_event_t *ev)
{
    for (int i = 0; i < self->nwaits; i++) {
        s_wait_t *w = &self->waits[i];
        if (strcmp(w->run, ev->run) != 0)
            continue;
        const char *result = ev->kind == SCHED_EV_DONE     ? "ok"
                             : ev->kind == SCHED_EV_FAILED ? "failed"
                                                           : ev->code;
        msgpack_packer *pk = azo_reply_result(w->reply);
        msgpack_pack_map(pk, 6);
        azo_pack_kstr(pk, "job", ev->job);
        azo_pack_kstr(pk, "run", ev->run);
        azo_pack_kstr(pk, "result", result);
        azo_pack_kint(pk, "duration_ms", ev->duration_ms);
        azo_pack_kstr(pk, "code",
                      ev->kind == SCHED_EV_FAILED ? ev->code : NULL);
        azo_pack_kstr(pk, "message",
                      ev->kind == SCHED_EV_FAILED ? ev->message : NULL);
        (void)azo_actor_reply(self->actor, &w->reply);
        self->waits[i] = self->waits[--self->nwaits];
        return;
    }
}

static void
s_on_event(void *ctx, const sched_event_t *ev)
{
    s_sched_t *self = ctx;
    static const char *const topics[] = {
        [SCHED_EV_FIRED] = "sched.job.fired",
        [SCHED_EV_DONE] = "sched.job.done",
        [SCHED_EV_FAILED] = "sched.job.failed",
        [SCHED_EV_BACKOFF] = "sched.job.backoff",
        [SCHED_EV_SKIPPED] = "sched.job.skipped",
    };
    static const uint32_t nfields[] = {
        [SCHED_EV_FIRED] = 8,   [SCHED_EV_DONE] = 5,    [SCHED_EV_FAILED] = 8,
        [SCHED_EV_BACKOFF] = 4, [SCHED_EV_SKIPPED] = 6,
    };
    msgpack_packer *pk =
        azo_actor_event(self->actor, topics[ev->kind], nfields[ev->kind]);
    azo_pack_kstr(pk, "job", ev->job);
    switch (ev->kind) {
    case SCHED_EV_FIRED:
        azo_pack_kstr(pk, "run", ev->run);
        azo_pack_kint(pk, "sched", ev->run_ms);
        azo_pack_kint(pk, "fire_at", ev->fire_at);
        azo_pack_kint(pk, "late_ms", azo_wire_now_ms() - ev->fire_at);
        azo_pack_kint(pk, "missed", ev->missed);
        azo_pack_str(pk, "manual");
        ev->manual ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
        azo_pack_kint(pk, "next", ev->next_ms);
        break;
    case SCHED_EV_DONE:
    case SCHED_EV_FAILED:
        azo_pack_kstr(pk, "run", ev->run);
        azo_pack_kint(pk, "sched", ev->run_ms);
        azo_pack_kint(pk, "duration_ms", ev->duration_ms);
        azo_pack_str(pk, "manual");
        ev->manual ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
        if (ev->kind == SCHED_EV_FAILED) {
            azo_pack_kstr(pk, "code", ev->code);
            azo_pack_kstr(pk, "message", ev->message);
            azo_pack_kint(pk, "failures", ev->failures);
        }
        break;
    case SCHED_EV_BACKOFF:
        azo_pack_kint(pk, "failures", ev->failures);
        azo_pack_kint(pk, "interval_ms", ev->interval_ms);
        azo_pack_kint(pk, "next", ev->next_ms);
        break;
    case SCHED_EV_SKIPPED:
        azo_pack_kstr(pk, "run", ev->run);
        azo_pack_kint(pk, "sched", ev->run_ms);
        azo_pack_kstr(pk, "reason", ev->code);
        azo_pack_kint(pk, "missed", ev->missed);
        azo_pack_str(pk, "manual");
        ev->manual ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
        break;
    }
    (void)azo_actor_publish(self->actor);
    if (ev->kind == SCHED_EV_DONE || ev->kind == SCHED_EV_FAILED ||
        ev->kind == SCHED_EV_SKIPPED)
        s_wait_done(self, ev);
}

static const sched_ops_t s_ops = {s_fire, s_on_event};

// --- life -------------------------------------------------------------------

static int
s_add_job(s_jobcfg_t *jc, void *arg)
{
    s_sched_t *self = arg;
    char err[300];
    int rc = sched_core_add(self->core, &jc->cfg, err, sizeof err);
    if (rc < 0)
        zsys_error("scheduler: job %s: %s", jc->cfg.name, err);
    return rc;
}

static void
s_fini(void *selfp)
{
    s_sched_t *self = selfp;
    if (!self)
        return;
    sched_core_destroy(&self->core);
    free(self);
}

static int
s_init(azo_actor_t *actor, void **self_p)
{
    s_sched_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    self->actor = actor;
    const azo_config_t *cfg = azo_actor_config(actor);
    char base[128], path[160], err[512];
    snprintf(base, sizeof base, "actors/%s", azo_actor_name(actor));
    snprintf(path, sizeof path, "%s/history", base);
    int hist = (int)azo_config_int(cfg, path, 20);
    self->core = sched_core_new(azo_actor_store(actor), azo_actor_db(actor),
                                hist, &s_ops, self);
    int rc = self->core ? 0 : -ENOMEM;
    if (rc == 0)
        rc = s_each_job(cfg, base, s_add_job, self, err, sizeof err);
    if (rc == 0 && (rc = sched_core_start(self->core, azo_wire_now_ms(), err,
                                          sizeof err)) < 0)
        zsys_error("scheduler: %s", err);
    if (rc < 0) {
        s_fini(self);
        return rc;
    }
    s_arm(self);
    *self_p = self;
    return 0;
}

// --- commands
// -----------------------------------------------------------------

// Checks the args of req against allowed and returns the job name, or
// NULL after writing the error reply.
static const char *
s_job_arg(const azo_req_t *req, azo_reply_t *reply, const char *allowed)
{
    const char *bad = azo_req_unknown_arg(req, allowed);
    if (bad) {
        azo_reply_fail(reply, AZO_EBADREQ,
                       "%s: unknown argument '%s' (known: %s)", req->cmd, bad,
                       allowed);
        return NULL;
    }
    const char *job = azo_req_str(req, "job");
    if (!job)
        azo_reply_fail(reply, AZO_EBADREQ, "job: expected a job name (string)");
    return job;
}

static int
s_cmd_list(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_sched_t *self = selfp;
    const char *bad = azo_req_unknown_arg(req, "after,limit");
    if (bad)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "unknown argument '%s' (known: after, limit)",
                              bad);
    int64_t limit = S_LIST_LIMIT;
    int rc = azo_req_int(req, "limit", &limit);
    if (rc == AZO_EBADREQ || limit < 0 || limit > S_LIST_MAX)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "limit: expected an integer 0..%d", S_LIST_MAX);
    const char *after = "";
    if (azo_req_arg(req, "after") && !(after = azo_req_str(req, "after")))
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "after: expected a job name (string)");
    sched_core_list(self->core, after, (int)limit, azo_wire_now_ms(),
                    azo_reply_result(reply));
    return 0;
}

// The reply of get, pause, resume and set: the job with its history.
static int
s_reply_job(s_sched_t *self, const char *job, azo_reply_t *reply)
{
    return sched_core_get(self->core, job, azo_wire_now_ms(),
                          azo_reply_result(reply));
}

static int
s_cmd_get(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_sched_t *self = selfp;
    const char *job = s_job_arg(req, reply, "job");
    if (!job)
        return AZO_EBADREQ;
    if (!sched_core_has(self->core, job))
        return azo_reply_fail(reply, AZO_ENOTFOUND, "no job named '%s'", job);
    return s_reply_job(self, job, reply);
}

static int
s_cmd_pause_as(s_sched_t *self, const azo_req_t *req, azo_reply_t *reply,
               bool paused)
{
    const char *job = s_job_arg(req, reply, "job");
    if (!job)
        return AZO_EBADREQ;
    char err[256];
    int rc = sched_core_pause(self->core, job, paused, azo_wire_now_ms(), err,
                              sizeof err);
    if (rc < 0)
        return azo_reply_fail(reply, rc, "%s", err);
    s_arm(self);
    return s_reply_job(self, job, reply);
}

static int
s_cmd_pause(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    return s_cmd_pause_as(selfp, req, reply, true);
}

static int
s_cmd_resume(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    return s_cmd_pause_as(selfp, req, reply, false);
}

static int
s_cmd_run(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_sched_t *self = selfp;
    const char *job = s_job_arg(req, reply, "job,wait");
    if (!job)
        return AZO_EBADREQ;
    bool wait = false;
    if (azo_req_bool(req, "wait", &wait) == AZO_EBADREQ)
        return azo_reply_fail(reply, AZO_EBADREQ, "wait: expected a boolean");
    if (wait && self->nwaits == S_WAIT_MAX)
        return azo_reply_fail(reply, AZO_EUNAVAIL,
                              "%d runs are already waited for; try without "
                              "wait",
                              S_WAIT_MAX);
    char run[SCHED_NAME_MAX + 32], err[256];
    // The reply is taken over before the run goes out: a run whose target
    // fails at once ends inside sched_core_run.
    azo_reply_t *later = wait ? azo_actor_defer(self->actor, reply) : NULL;
    s_wait_t *w = later ? &self->waits[self->nwaits++] : NULL;
    if (w) {
        w->reply = later;
        w->run[0] = 0;
    }
    int64_t now = azo_wire_now_ms();
    // The run id is known before the run is sent: job@now "m".
    if (w)
        snprintf(w->run, sizeof w->run, "%s@%lldm", job, (long long)now);
    int rc =
        sched_core_run(self->core, job, now, run, sizeof run, err, sizeof err);
    s_arm(self);
    if (rc < 0) {
        if (!w)
            return azo_reply_fail(reply, rc, "%s", err);
        azo_reply_fail(w->reply, rc, "%s", err);
        (void)azo_actor_reply(self->actor, &w->reply);
        *w = self->waits[--self->nwaits];
        return 0;
    }
    if (w)
        return 0; // answered when the run ends (s_wait_done), maybe already
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 2);
    azo_pack_kstr(pk, "job", job);
    azo_pack_kstr(pk, "run", run);
    return 0;
}

static int
s_cmd_set(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_sched_t *self = selfp;
    const char *job = s_job_arg(req, reply, "job,every,cron,zone,reset");
    if (!job)
        return AZO_EBADREQ;
    int64_t every_ms = 0;
    const msgpack_object *every = azo_req_arg(req, "every");
    if (every) {
        const char *text = azo_req_str(req, "every");
        char why[200];
        if (!text && azo_req_int(req, "every", &every_ms) < 0)
            return azo_reply_fail(reply, AZO_EBADREQ,
                                  "every: expected a duration (\"5m\") or "
                                  "milliseconds");
        if (text &&
            sched_cron_parse_every(text, &every_ms, why, sizeof why) < 0)
            return azo_reply_fail(reply, AZO_EBADREQ, "every: %s", why);
        if (!text && every_ms <= 0)
            return azo_reply_fail(reply, AZO_EBADREQ,
                                  "every: must be positive");
    }
    const char *cron = azo_req_str(req, "cron");
    const char *zone = azo_req_str(req, "zone");
    if ((azo_req_arg(req, "cron") && !cron) ||
        (azo_req_arg(req, "zone") && !zone))
        return azo_reply_fail(reply, AZO_EBADREQ, "%s: expected a string",
                              cron || !azo_req_arg(req, "cron") ? "zone"
                                                                : "cron");
    bool reset = false;
    if (azo_req_bool(req, "reset", &reset) == AZO_EBADREQ)
        return azo_reply_fail(reply, AZO_EBADREQ, "reset: expected a boolean");
    char err[320];
    int rc = sched_core_set(self->core, job, every_ms, cron, zone, reset,
                            azo_wire_now_ms(), err, sizeof err);
    if (rc < 0)
        return azo_reply_fail(reply, rc, "%s", err);
    s_arm(self);
    return s_reply_job(self, job, reply);
}

static const azo_cmd_entry_t s_cmds[] = {
    {"sched.list", s_cmd_list},     {"sched.get", s_cmd_get},
    {"sched.run", s_cmd_run},       {"sched.pause", s_cmd_pause},
    {"sched.resume", s_cmd_resume}, {"sched.set", s_cmd_set},
};

const azo_actor_def_t azo_sched_def = {
    .name = "scheduler",
    .prefix = "sched.",
    .init = s_init,
    .fini = s_fini,
    .cmds = s_cmds,
    .ncmds = sizeof s_cmds / sizeof s_cmds[0],
    .keys = s_keys,
    .nkeys = sizeof s_keys / sizeof s_keys[0],
    .check = s_check,
};
