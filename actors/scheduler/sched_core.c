// sched_core — the scheduler's engine: jobs, their records, a heap of fire
// times, runs in flight, results. See sched_core.h for the contract.
//
// Records live under "j/<job>" in the scheduler's database. Every change
// marks its job dirty; s_flush writes every dirty job in one transaction.
// A run that came due is queued (fired_ms 0) and sent only after a flush
// succeeded; while the store refuses commits, the queue waits.
#include "sched_core.h"

#include "azo_config.h"
#include "azo_err.h"
#include "azo_log.h"
#include "azo_mp.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_HOLD_MS  1000 // after a refused commit, wait this long
#define S_SEND_MAX 256  // runs sent per tick; the rest go next loop turn
#define S_SAVE_WAIT                                                            \
    20 // results wait this long (ms) for other results, or
       // for a due run, to share its commit
#define S_KEY_MAX   (2 + SCHED_NAME_MAX + 1)
#define S_RUNID_MAX (SCHED_NAME_MAX + 32)

typedef struct s_job {
    sched_job_cfg_t cfg; // strings point into owned copies below
    char *name, *command, *run_arg, *cron, *zone; // owned
    void *args;                                   // owned packed map, or NULL
    char cfg_sig[SCHED_REC_SIG_MAX]; // the config's schedule signature
    sched_spec_t eff;                // the schedule in effect (config or ovr)
    sched_rec_t rec;                 // durable state
    int idx;                         // position in jobs (by name)
    int heap_at;                     // position in the heap, or -1
    int64_t due;                     // heap key: fire time of rec.plan.next
    uint32_t seq;                    // last run seq handed out
    bool dirty;
    struct s_job *next_dirty;
} s_job_t;

typedef struct {
    s_job_t *job; // borrowed
    uint32_t seq;
} s_send_t;

// An event waiting for the commit of what it announces: a copy of the
// event and of its strings.
typedef struct {
    sched_event_t ev; // its strings are set to the buffers below when
                      // published
    char job[SCHED_NAME_MAX + 1];
    char run[S_RUNID_MAX];
    char code[AZO_WIRE_MAX_CMD + 1];
    char *message; // owned, or NULL
    bool has_run, has_code, has_message;
} s_pending_t;

struct sched_core {
    azo_store_t *store; // borrowed
    int db;
    int hist_cap;
    const sched_ops_t *ops; // borrowed
    void *ctx;              // borrowed
    bool started;
    s_job_t **jobs; // owned, sorted by name after start
    size_t njobs, jobs_cap;
    s_job_t **heap; // borrowed entries of jobs
    size_t nheap;
    s_job_t *dirty;      // list through next_dirty
    int64_t dirty_since; // when the first of them got dirty
    s_send_t *sendq;     // runs to send after the next good flush
    size_t nsend, send_cap;
    s_pending_t *evq; // events to publish after the next good flush
    size_t nevq, evq_cap;
    int64_t hold_until; // > now: the store refused a commit; wait
    int64_t now;        // the time given to the call in progress
    int inflight;       // runs in flight over all jobs
    int paused;         // jobs paused
    msgpack_sbuffer sb; // record encoding
    msgpack_packer pk;
    azo_ratelog_t log;
};

// --- small helpers ----------------------------------------------------------

static bool
s_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > SCHED_NAME_MAX)
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-'))
            return false;
    return true;
}

// The signature of a schedule: equal signatures plan alike.
static void
s_sig(char *buf, size_t len, int64_t every_ms, const char *cron,
      const char *zone)
{
    if (every_ms > 0)
        snprintf(buf, len, "every:%" PRId64, every_ms);
    else
        snprintf(buf, len, "cron:%s|%s", cron ? cron : "",
                 zone && *zone ? zone : "UTC");
}

// The human form of a job's schedule in effect.
static void
s_schedule_text(const s_job_t *j, char *buf, size_t len)
{
    if (j->eff.every_ms > 0) {
        char d[48];
        azo_config_fmt_duration(d, sizeof d, j->eff.every_ms);
        snprintf(buf, len, "every %s", d);
        return;
    }
    const char *cron = j->rec.ovr ? j->rec.ovr->cron : j->cron;
    snprintf(buf, len, "cron %s (%s)", cron, j->eff.cron.zone);
}

static void
s_run_id(const s_job_t *j, const sched_run_t *r, char *buf, size_t len)
{
    snprintf(buf, len, "%s@%" PRId64 "%s", j->name, r->run_ms,
             r->manual ? "m" : "");
}

// Parses an every or cron schedule into spec (its other fields kept).
// Errors name the field: "every: ...", "cron: ...", "zone: ...".
static int
s_parse_schedule(sched_spec_t *spec, int64_t every_ms, const char *cron,
                 const char *zone, char *err, size_t errlen)
{
    bool has_cron = cron && *cron;
    if ((every_ms > 0) == has_cron)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "every, cron: give exactly one of them");
    if (every_ms > 0) {
        if (zone && *zone)
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "zone: applies to cron schedules only");
        if (every_ms < SCHED_CRON_EVERY_MIN_MS ||
            every_ms > SCHED_CRON_EVERY_MAX_MS)
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "every: must be between 1s and 366d");
        spec->every_ms = every_ms;
        return 0;
    }
    if (strlen(cron) >= sizeof((sched_ovr_t *)0)->cron)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "cron: longer than %zu bytes",
                           sizeof((sched_ovr_t *)0)->cron - 1);
    char why[256];
    if (sched_cron_parse(&spec->cron, cron, zone && *zone ? zone : NULL, why,
                         sizeof why) < 0)
        return azo_err_set(err, errlen, AZO_EBADREQ, "%s: %s",
                           strncmp(why, "time zone", 9) == 0 ? "zone" : "cron",
                           why);
    spec->every_ms = 0;
    return 0;
}

int
sched_core_check(const sched_job_cfg_t *cfg, char *err, size_t errlen)
{
    if (!cfg->name || !s_name_ok(cfg->name))
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "name: 1 to %d of A-Z a-z 0-9 . _ -",
                           SCHED_NAME_MAX);
    if (!cfg->command || !azo_wire_cmd_ok(cfg->command, strlen(cfg->command)))
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "command: expected a command name ([a-z0-9._-], "
                           "1 to %d bytes)",
                           AZO_WIRE_MAX_CMD);
    if (cfg->args) {
        msgpack_zone zone;
        msgpack_object obj;
        bool map = false;
        if (msgpack_zone_init(&zone, 1024)) {
            map = azo_mp_check(cfg->args, cfg->args_len, NULL, 0) == 0 &&
                  azo_mp_unpack(cfg->args, cfg->args_len, &zone, &obj) == 0 &&
                  obj.type == MSGPACK_OBJECT_MAP;
            msgpack_zone_destroy(&zone);
        }
        if (!map)
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "args: expected a map");
    }
    if (cfg->run_arg && (!*cfg->run_arg || strlen(cfg->run_arg) > 64))
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "run_arg: expected a key of 1 to 64 bytes");
    if (cfg->timeout_ms <= 0)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "timeout: must be positive");
    const sched_spec_t *s = &cfg->spec;
    if (s->jitter_ms < 0 || s->start_deadline_ms < 0 || s->max_failures < 1 ||
        s->backoff_mult < 1.0 || s->max_interval_ms < 1000)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "jitter, start_deadline, max_consecutive_failures, "
                           "backoff_multiplier, max_interval: out of range");
    if (cfg->every_ms > 0 && s->jitter_ms >= cfg->every_ms)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "jitter: must be shorter than every (runs would "
                           "overtake each other)");
    sched_spec_t spec = *s;
    return s_parse_schedule(&spec, cfg->every_ms, cfg->cron, cfg->zone, err,
                            errlen);
}

// --- heap -------------------------------------------------------------------
// ---------------------------------------------------------------------

static void
s_heap_swap(sched_core_t *self, size_t a, size_t b)
{
    s_job_t *t = self->heap[a];
    self->heap[a] = self->heap[b];
    self->heap[b] = t;
    self->heap[a]->heap_at = (int)a;
    self->heap[b]->heap_at = (int)b;
}

static void
s_heap_up(sched_core_t *self, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (self->heap[p]->due <= self->heap[i]->due)
            break;
        s_heap_swap(self, i, p);
        i = p;
    }
}

static void
s_heap_down(sched_core_t *self, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < self->nheap && self->heap[l]->due < self->heap[m]->due)
            m = l;
        if (r < self->nheap && self->heap[r]->due < self->heap[m]->due)
            m = r;
        if (m == i)
            return;
        s_heap_swap(self, i, m);
        i = m;
    }
}

static void
s_heap_remove(sched_core_t *self, s_job_t *j)
{
    if (j->heap_at < 0)
        return;
    size_t i = (size_t)j->heap_at;
    j->heap_at = -1;
    self->nheap--;
    if (i == self->nheap)
        return;
    self->heap[i] = self->heap[self->nheap];
    self->heap[i]->heap_at = (int)i;
    s_heap_down(self, i);
    s_heap_up(self, i);
}

// (Re)places j in the heap at the fire time of its plan; paused jobs leave.
static void
s_heap_place(sched_core_t *self, s_job_t *j)
{
    if (j->rec.paused) {
        s_heap_remove(self, j);
        return;
    }
    j->due = sched_plan_fire_at(&j->eff, j->name, j->rec.plan.next_ms);
    if (j->heap_at < 0) {
        j->heap_at = (int)self->nheap;
        self->heap[self->nheap++] = j;
        s_heap_up(self, (size_t)j->heap_at);
        return;
    }
    s_heap_down(self, (size_t)j->heap_at);
    s_heap_up(self, (size_t)j->heap_at);
}

// --- life -------------------------------------------------------------------
// ---------------------------------------------------------------------

sched_core_t *
sched_core_new(azo_store_t *store, int db, int hist_cap, const sched_ops_t *ops,
               void *ctx)
{
    assert(store && ops && ops->fire && ops->event);
    assert(hist_cap >= 1 && hist_cap <= SCHED_REC_HIST_MAX);
    sched_core_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    self->db = db;
    self->hist_cap = hist_cap;
    self->ops = ops;
    self->ctx = ctx;
    msgpack_sbuffer_init(&self->sb);
    msgpack_packer_init(&self->pk, &self->sb, msgpack_sbuffer_write);
    azo_ratelog_init(&self->log, 10000);
    return self;
}

static void
s_job_free(s_job_t *j)
{
    if (!j)
        return;
    free(j->name);
    free(j->command);
    free(j->run_arg);
    free(j->cron);
    free(j->zone);
    free(j->args);
    sched_rec_fini(&j->rec);
    free(j);
}

void
sched_core_destroy(sched_core_t **self_p)
{
    assert(self_p);
    sched_core_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->njobs; i++)
        s_job_free(self->jobs[i]);
    free(self->jobs);
    free(self->heap);
    free(self->sendq);
    for (size_t i = 0; i < self->nevq; i++)
        free(self->evq[i].message);
    free(self->evq);
    msgpack_sbuffer_destroy(&self->sb);
    free(self);
    *self_p = NULL;
}

static char *
s_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static s_job_t *
s_find(const sched_core_t *self, const char *name)
{
    size_t lo = 0, hi = self->njobs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(self->jobs[mid]->name, name);
        if (c == 0)
            return self->jobs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

// First index whose name sorts after name.
static size_t
s_after(const sched_core_t *self, const char *name)
{
    size_t lo = 0, hi = self->njobs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(self->jobs[mid]->name, name) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int
sched_core_add(sched_core_t *self, const sched_job_cfg_t *cfg, char *err,
               size_t errlen)
{
    assert(!self->started);
    int rc = sched_core_check(cfg, err, errlen);
    if (rc < 0)
        return rc;
    // Jobs are added in any order; keep them sorted as they come.
    size_t at = s_after(self, cfg->name);
    if (at > 0 && strcmp(self->jobs[at - 1]->name, cfg->name) == 0)
        return azo_err_set(err, errlen, AZO_ECONFLICT, "job %s: defined twice",
                           cfg->name);
    if (self->njobs == self->jobs_cap) {
        size_t ncap = self->jobs_cap ? self->jobs_cap * 2 : 16;
        s_job_t **n = realloc(self->jobs, ncap * sizeof *n);
        s_job_t **h = n ? realloc(self->heap, ncap * sizeof *h) : NULL;
        if (n)
            self->jobs = n;
        if (!h)
            return azo_err_set(err, errlen, -ENOMEM, "out of memory");
        self->heap = h;
        self->jobs_cap = ncap;
    }
    s_job_t *j = calloc(1, sizeof *j);
    if (!j || sched_rec_init(&j->rec, self->hist_cap) < 0) {
        free(j);
        return azo_err_set(err, errlen, -ENOMEM, "out of memory");
    }
    j->cfg = *cfg;
    j->name = s_dup(cfg->name);
    j->command = s_dup(cfg->command);
    j->run_arg = s_dup(cfg->run_arg);
    j->cron = s_dup(cfg->cron && *cfg->cron ? cfg->cron : NULL);
    j->zone = s_dup(cfg->zone && *cfg->zone ? cfg->zone : NULL);
    if (cfg->args && (j->args = malloc(cfg->args_len)))
        memcpy(j->args, cfg->args, cfg->args_len);
    if (!j->name || !j->command || (cfg->run_arg && !j->run_arg) ||
        (cfg->cron && *cfg->cron && !j->cron) ||
        (cfg->zone && *cfg->zone && !j->zone) || (cfg->args && !j->args)) {
        s_job_free(j);
        return azo_err_set(err, errlen, -ENOMEM, "out of memory");
    }
    j->cfg.name = j->name;
    j->cfg.command = j->command;
    j->cfg.run_arg = j->run_arg;
    j->cfg.cron = j->cron;
    j->cfg.zone = j->zone;
    j->cfg.args = j->args;
    j->eff = cfg->spec;
    (void)s_parse_schedule(&j->eff, cfg->every_ms, j->cron, j->zone, NULL, 0);
    j->cfg.spec = j->eff;
    s_sig(j->cfg_sig, sizeof j->cfg_sig, cfg->every_ms, j->cron, j->zone);
    j->heap_at = -1;
    memmove(self->jobs + at + 1, self->jobs + at,
            (self->njobs - at) * sizeof *self->jobs);
    self->jobs[at] = j;
    self->njobs++;
    return 0;
}

// --- durability -------------------------------------------------------------

static void
s_dirty(sched_core_t *self, s_job_t *j)
{
    if (j->dirty)
        return;
    if (!self->dirty)
        self->dirty_since = self->now;
    j->dirty = true;
    j->next_dirty = self->dirty;
    self->dirty = j;
}

static int
s_key(const s_job_t *j, char *key)
{
    return snprintf(key, S_KEY_MAX, "j/%s", j->name);
}

static int
s_put(sched_core_t *self, azo_txn_t *txn, const s_job_t *j)
{
    char key[S_KEY_MAX];
    int klen = s_key(j, key);
    msgpack_sbuffer_clear(&self->sb);
    sched_rec_pack(&j->rec, &self->pk);
    return azo_txn_put_mp(txn, self->db, key, (size_t)klen, &self->sb);
}

static void s_publish(sched_core_t *self);

// Writes every dirty job in one transaction. On failure the jobs stay
// dirty and the engine holds for S_HOLD_MS.
static int
s_flush(sched_core_t *self, int64_t now)
{
    if (!self->dirty) {
        s_publish(self);
        return 0;
    }
    azo_txn_t *txn = NULL;
    int rc = azo_store_begin(self->store, true, &txn);
    for (s_job_t *j = self->dirty; j && rc == 0; j = j->next_dirty)
        rc = s_put(self, txn, j);
    if (rc == 0)
        rc = azo_store_commit(&txn);
    azo_store_abort(&txn);
    if (rc < 0) {
        bool first = self->hold_until == 0;
        self->hold_until = now + S_HOLD_MS;
        if (first)
            zsys_error("scheduler: cannot save job state (%s); no run is "
                       "sent until it can, retrying every %d ms",
                       azo_err_str(rc), S_HOLD_MS);
        else
            azo_ratelog(&self->log,
                        "scheduler: still cannot save job state "
                        "(%s)",
                        azo_err_str(rc));
        return rc;
    }
    if (self->hold_until)
        zsys_info("scheduler: job state saved again; sending held runs");
    self->hold_until = 0;
    while (self->dirty) {
        s_job_t *j = self->dirty;
        self->dirty = j->next_dirty;
        j->dirty = false;
        j->next_dirty = NULL;
    }
    s_publish(self);
    return 0;
}

// --- runs -------------------------------------------------------------------

static sched_run_t *
s_run_find(s_job_t *j, uint32_t seq, int *at)
{
    for (int i = 0; i < j->rec.ninflight; i++)
        if (j->rec.inflight[i].seq == seq) {
            if (at)
                *at = i;
            return &j->rec.inflight[i];
        }
    return NULL;
}

static void
s_run_remove(sched_core_t *self, s_job_t *j, int at)
{
    memmove(&j->rec.inflight[at], &j->rec.inflight[at + 1],
            (size_t)(j->rec.ninflight - at - 1) * sizeof j->rec.inflight[0]);
    j->rec.ninflight--;
    self->inflight--;
}

// Publishes ev now (FIRED: the run is out), or queues it until the state it
// announces is committed (s_flush).
static void
s_event(sched_core_t *self, const sched_event_t *ev)
{
    if (ev->kind == SCHED_EV_FIRED) {
        self->ops->event(self->ctx, ev);
        return;
    }
    if (self->nevq == self->evq_cap) {
        size_t ncap = self->evq_cap ? self->evq_cap * 2 : 64;
        s_pending_t *n = realloc(self->evq, ncap * sizeof *n);
        if (!n) {
            azo_ratelog(&self->log,
                        "scheduler: out of memory: an event of "
                        "job %s is lost",
                        ev->job);
            return;
        }
        self->evq = n;
        self->evq_cap = ncap;
    }
    s_pending_t *q = &self->evq[self->nevq++];
    q->ev = *ev;
    snprintf(q->job, sizeof q->job, "%s", ev->job);
    snprintf(q->run, sizeof q->run, "%s", ev->run ? ev->run : "");
    snprintf(q->code, sizeof q->code, "%s", ev->code ? ev->code : "");
    q->message = ev->message ? strdup(ev->message) : NULL;
    // The strings are pointed at when published: the queue may move.
    q->has_run = ev->run != NULL;
    q->has_code = ev->code != NULL;
    q->has_message = ev->message != NULL;
}

// Publishes the queued events, in order.
static void
s_publish(sched_core_t *self)
{
    for (size_t i = 0; i < self->nevq; i++) {
        s_pending_t *q = &self->evq[i];
        q->ev.job = q->job;
        q->ev.run = q->has_run ? q->run : NULL;
        q->ev.code = q->has_code ? q->code : NULL;
        q->ev.message = q->has_message ? (q->message ? q->message : "") : NULL;
        self->ops->event(self->ctx, &q->ev);
        free(q->message);
    }
    self->nevq = 0;
}

// Records scheduled time run_ms of j as not run, for reason r.
static void
s_skip(sched_core_t *self, s_job_t *j, int64_t run_ms, int64_t missed,
       bool manual, int64_t fired_ms, sched_result_t r, int64_t now)
{
    sched_hist_t h = {.run_ms = run_ms,
                      .fired_ms = fired_ms,
                      .ended_ms = now,
                      .missed = missed,
                      .result = (uint8_t)r,
                      .manual = manual};
    sched_rec_hist_add(&j->rec, &h);
    if (r != SCHED_R_REPLACED && r != SCHED_R_INTERRUPTED)
        j->rec.skips++;
    else
        j->rec.last = h, j->rec.has_last = true;
    s_dirty(self, j);
    char id[S_RUNID_MAX];
    sched_run_t run = {.run_ms = run_ms, .manual = manual};
    s_run_id(j, &run, id, sizeof id);
    sched_event_t ev = {.kind = SCHED_EV_SKIPPED,
                        .job = j->name,
                        .run = id,
                        .run_ms = run_ms,
                        .missed = missed,
                        .manual = manual,
                        .code = sched_rec_result_name(r)};
    s_event(self, &ev);
}

static int
s_sendq_push(sched_core_t *self, s_job_t *j, uint32_t seq)
{
    if (self->nsend == self->send_cap) {
        size_t ncap = self->send_cap ? self->send_cap * 2 : 64;
        s_send_t *n = realloc(self->sendq, ncap * sizeof *n);
        if (!n)
            return -ENOMEM;
        self->sendq = n;
        self->send_cap = ncap;
    }
    self->sendq[self->nsend++] = (s_send_t){j, seq};
    return 0;
}

// Makes room for a new run of j by its overlap policy. Returns 0, or
// AZO_ECONFLICT when the policy says no.
static int
s_overlap(sched_core_t *self, s_job_t *j, int64_t now)
{
    if (j->rec.ninflight == 0)
        return 0;
    switch (j->cfg.overlap) {
    case SCHED_OVERLAP_FORBID:
        return AZO_ECONFLICT;
    case SCHED_OVERLAP_ALLOW:
        return j->rec.ninflight < SCHED_REC_INFLIGHT_MAX ? 0 : AZO_ECONFLICT;
    case SCHED_OVERLAP_REPLACE:
        while (j->rec.ninflight > 0) {
            sched_run_t old = j->rec.inflight[0];
            s_run_remove(self, j, 0);
            s_skip(self, j, old.run_ms, old.missed, old.manual, old.fired_ms,
                   SCHED_R_REPLACED, now);
        }
        return 0;
    }
    return 0;
}

// Adds a run of j to send after the next flush. Returns 0 or -ENOMEM.
static int
s_run_add(sched_core_t *self, s_job_t *j, int64_t run_ms, int64_t missed,
          bool manual)
{
    assert(j->rec.ninflight < SCHED_REC_INFLIGHT_MAX);
    uint32_t seq = ++j->seq;
    if (s_sendq_push(self, j, seq) < 0)
        return -ENOMEM;
    j->rec.inflight[j->rec.ninflight++] = (sched_run_t){
        .run_ms = run_ms, .missed = missed, .seq = seq, .manual = manual};
    self->inflight++;
    j->rec.runs++;
    s_dirty(self, j);
    return 0;
}

static void s_finish(sched_core_t *self, s_job_t *j, int at, int rc,
                     const char *code, const char *message, int64_t now);

// Sends the queued runs (after a good flush).
static int
s_send_all(sched_core_t *self, int64_t now)
{
    int sent = 0;
    size_t n = self->nsend < S_SEND_MAX ? self->nsend : S_SEND_MAX;
    for (size_t i = 0; i < n; i++) {
        s_job_t *j = self->sendq[i].job;
        int at;
        sched_run_t *r = s_run_find(j, self->sendq[i].seq, &at);
        if (!r || r->fired_ms)
            continue; // replaced meanwhile
        r->fired_ms = now;
        char id[S_RUNID_MAX], why[256] = "";
        s_run_id(j, r, id, sizeof id);
        uint64_t token = (uint64_t)(uint32_t)j->idx << 32 | r->seq;
        int rc =
            self->ops->fire(self->ctx, &j->cfg, id, token, why, sizeof why);
        if (rc < 0) {
            s_finish(self, j, at, rc, azo_err_wire(rc),
                     why[0] ? why : azo_err_str(rc), now);
            continue;
        }
        sent++;
        sched_event_t ev = {
            .kind = SCHED_EV_FIRED,
            .job = j->name,
            .run = id,
            .run_ms = r->run_ms,
            .fire_at = r->manual
                           ? r->run_ms
                           : sched_plan_fire_at(&j->eff, j->name, r->run_ms),
            .missed = r->missed,
            .manual = r->manual,
            .next_ms = j->rec.paused ? 0 : j->rec.plan.next_ms};
        s_event(self, &ev);
    }
    self->nsend -= n;
    if (self->nsend) // (the queue may be NULL when empty: no memmove then)
        memmove(self->sendq, self->sendq + n,
                self->nsend * sizeof *self->sendq);
    if (self->dirty) // runs that could not go out: save and say so now
        (void)s_flush(self, now);
    return sent;
}

// Ends run at of j with its answer: records, plans, announces.
static void
s_finish(sched_core_t *self, s_job_t *j, int at, int rc, const char *code,
         const char *message, int64_t now)
{
    sched_run_t r = j->rec.inflight[at];
    s_run_remove(self, j, at);
    sched_result_t res = rc == 0              ? SCHED_R_OK
                         : rc == AZO_ETIMEOUT ? SCHED_R_TIMEOUT
                                              : SCHED_R_FAILED;
    sched_hist_t h = {.run_ms = r.run_ms,
                      .fired_ms = r.fired_ms,
                      .ended_ms = now,
                      .missed = r.missed,
                      .result = (uint8_t)res,
                      .manual = r.manual};
    sched_rec_hist_add(&j->rec, &h);
    j->rec.last = h;
    j->rec.has_last = true;
    if (rc == 0)
        j->rec.oks++;
    else {
        j->rec.fails++;
        snprintf(j->rec.last_error, sizeof j->rec.last_error, "%s: %s",
                 code ? code : azo_err_wire(rc), message ? message : "");
    }
    bool backoff = false;
    int64_t before = j->rec.plan.next_ms;
    if (sched_plan_result(&j->eff, &j->rec.plan, r.run_ms, rc == 0, now,
                          &backoff) < 0)
        azo_ratelog(&self->log, "scheduler: job %s: cannot plan after run",
                    j->name);
    if (j->rec.plan.next_ms != before)
        s_heap_place(self, j);
    s_dirty(self, j); // saved, and announced, by the next tick

    char id[S_RUNID_MAX];
    s_run_id(j, &r, id, sizeof id);
    sched_event_t ev = {.kind = rc == 0 ? SCHED_EV_DONE : SCHED_EV_FAILED,
                        .job = j->name,
                        .run = id,
                        .run_ms = r.run_ms,
                        .missed = r.missed,
                        .manual = r.manual,
                        .duration_ms = r.fired_ms ? now - r.fired_ms : 0,
                        .failures = j->rec.plan.failures};
    if (rc != 0) {
        ev.code = code ? code : azo_err_wire(rc);
        ev.message = message ? message : "";
    }
    s_event(self, &ev);
    if (backoff) {
        sched_event_t b = {.kind = SCHED_EV_BACKOFF,
                           .job = j->name,
                           .failures = j->rec.plan.failures,
                           .interval_ms = j->rec.plan.interval_ms,
                           .next_ms = j->rec.plan.next_ms};
        s_event(self, &b);
    }
}

void
sched_core_result(sched_core_t *self, uint64_t token, int rc, const char *code,
                  const char *message, int64_t now)
{
    uint32_t idx = (uint32_t)(token >> 32);
    if (idx >= self->njobs)
        return;
    self->now = now;
    s_job_t *j = self->jobs[idx];
    int at;
    if (!s_run_find(j, (uint32_t)token, &at))
        return; // replaced, or from before a restart
    s_finish(self, j, at, rc, code, message, now);
}

// Plans a record again from now under spec, after its schedule changed:
// the backoff goes; an interval job runs within one interval of now.
static int
s_replan(const sched_spec_t *spec, sched_plan_t *plan, int64_t now)
{
    plan->interval_ms = 0;
    plan->failures = 0;
    if (plan->next_ms > now)
        plan->next_ms = now;
    return sched_plan_reset(spec, plan, now);
}

// --- start ------------------------------------------------------------------
// --------------------------------------------------------------------

// Applies the config to j's record: the override, a changed schedule,
// runs interrupted by the last stop.
static void
s_reconcile(sched_core_t *self, s_job_t *j, bool found, int64_t now)
{
    sched_rec_t *rec = &j->rec;
    if (rec->ovr && strcmp(rec->ovr->base, j->cfg_sig) != 0) {
        zsys_info("scheduler: job %s: its configured schedule changed; the "
                  "one set by sched.set is dropped",
                  j->name);
        free(rec->ovr);
        rec->ovr = NULL;
    }
    char sig[SCHED_REC_SIG_MAX];
    if (rec->ovr) {
        sched_spec_t spec = j->cfg.spec;
        if (s_parse_schedule(&spec, rec->ovr->every_ms, rec->ovr->cron,
                             rec->ovr->zone, NULL, 0) == 0) {
            j->eff = spec;
            s_sig(sig, sizeof sig, rec->ovr->every_ms, rec->ovr->cron,
                  rec->ovr->zone);
        } else {
            free(rec->ovr);
            rec->ovr = NULL;
        }
    }
    if (!rec->ovr)
        snprintf(sig, sizeof sig, "%s", j->cfg_sig);
    if (!found) {
        if (sched_plan_first(&j->eff, now, &rec->plan) < 0)
            zsys_error("scheduler: job %s: cannot plan", j->name);
    } else if (strcmp(rec->sig, sig) != 0) {
        if (s_replan(&j->eff, &rec->plan, now) < 0)
            zsys_error("scheduler: job %s: cannot plan", j->name);
    }
    snprintf(rec->sig, sizeof rec->sig, "%s", sig);
    // Runs in flight at the last stop.
    int n = rec->ninflight;
    sched_run_t runs[SCHED_REC_INFLIGHT_MAX];
    memcpy(runs, rec->inflight, (size_t)n * sizeof runs[0]);
    rec->ninflight = 0;
    for (int i = 0; i < n; i++) {
        // A run saved as in flight may or may not have gone out (a crash
        // between the commit and the send, or before its answer was saved):
        // refire sends it again with the same id, so a target that keeps
        // run ids (run_arg) drops a repeat. Otherwise it is `interrupted`.
        if (j->cfg.refire && s_sendq_push(self, j, ++j->seq) == 0) {
            runs[i].seq = j->seq;
            runs[i].fired_ms = 0;
            rec->inflight[rec->ninflight++] = runs[i];
            self->inflight++;
            continue;
        }
        s_skip(self, j, runs[i].run_ms, runs[i].missed, runs[i].manual,
               runs[i].fired_ms, SCHED_R_INTERRUPTED, now);
    }
    if (rec->paused)
        self->paused++;
    s_dirty(self, j);
}

typedef struct {
    sched_core_t *self;
    char (*gone)[S_KEY_MAX];
    size_t ngone, cap;
} s_scan_t;

static int
s_scan_gone(const void *key, size_t klen, const void *val, size_t vlen,
            void *arg)
{
    (void)val, (void)vlen;
    s_scan_t *sc = arg;
    char name[S_KEY_MAX];
    if (klen < 3 || klen - 2 >= sizeof name)
        return 0;
    memcpy(name, (const char *)key + 2, klen - 2);
    name[klen - 2] = 0;
    if (s_find(sc->self, name))
        return 0;
    if (sc->ngone == sc->cap) {
        size_t ncap = sc->cap ? sc->cap * 2 : 16;
        char(*n)[S_KEY_MAX] = realloc(sc->gone, ncap * sizeof *n);
        if (!n)
            return -ENOMEM;
        sc->gone = n, sc->cap = ncap;
    }
    memcpy(sc->gone[sc->ngone], key, klen);
    sc->gone[sc->ngone][klen] = 0;
    sc->ngone++;
    return 0;
}

int
sched_core_start(sched_core_t *self, int64_t now, char *err, size_t errlen)
{
    self->now = now;
    assert(!self->started);
    for (size_t i = 0; i < self->njobs; i++)
        self->jobs[i]->idx = (int)i;
    azo_txn_t *txn = NULL;
    int rc = azo_store_begin(self->store, true, &txn);
    if (rc < 0)
        return azo_err_set(err, errlen, rc, "store: %s", azo_err_str(rc));
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, 4096)) {
        azo_store_abort(&txn);
        return azo_err_set(err, errlen, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < self->njobs; i++) {
        s_job_t *j = self->jobs[i];
        char key[S_KEY_MAX], why[200];
        int klen = s_key(j, key);
        msgpack_object obj;
        msgpack_zone_clear(&zone);
        int got = azo_txn_get_mp(txn, self->db, key, (size_t)klen, &zone, &obj);
        bool found = got == 0;
        if (found && sched_rec_unpack(&j->rec, &obj, why, sizeof why) < 0) {
            zsys_warning("scheduler: job %s: its saved state is not valid "
                         "(%s); planned as a new job",
                         j->name, why);
            found = false;
        } else if (got < 0 && got != AZO_ENOTFOUND)
            zsys_warning("scheduler: job %s: its saved state cannot be read "
                         "(%s); planned as a new job",
                         j->name, azo_err_str(got));
        s_reconcile(self, j, found, now);
    }
    msgpack_zone_destroy(&zone);
    // Records of jobs no longer configured go.
    s_scan_t sc = {.self = self};
    rc = azo_txn_each(txn, self->db, "j/", 2, s_scan_gone, &sc);
    for (size_t i = 0; rc == 0 && i < sc.ngone; i++) {
        zsys_info("scheduler: %s is no longer configured; its state is "
                  "deleted",
                  sc.gone[i]);
        rc = azo_txn_del(txn, self->db, sc.gone[i], strlen(sc.gone[i]));
    }
    free(sc.gone);
    for (s_job_t *j = self->dirty; j && rc == 0; j = j->next_dirty)
        rc = s_put(self, txn, j);
    if (rc == 0)
        rc = azo_store_commit(&txn);
    azo_store_abort(&txn);
    if (rc < 0)
        return azo_err_set(err, errlen, rc, "store: cannot save job state: %s",
                           azo_err_str(rc));
    while (self->dirty) {
        s_job_t *j = self->dirty;
        self->dirty = j->next_dirty;
        j->dirty = false;
        j->next_dirty = NULL;
    }
    for (size_t i = 0; i < self->njobs; i++)
        s_heap_place(self, self->jobs[i]);
    self->started = true;
    s_publish(self); // runs interrupted by the last stop
    return 0;
}

// --- tick -------------------------------------------------------------------
// ---------------------------------------------------------------------

int64_t
sched_core_next_due(const sched_core_t *self)
{
    if (self->hold_until)
        return self->hold_until;
    if (self->nsend)
        return 0; // runs to send
    int64_t due = self->nheap ? self->heap[0]->due : INT64_MAX;
    if (self->dirty || self->nevq) {
        // Results to save and announce: with the next due run's commit, or
        // at most S_SAVE_WAIT ms later.
        int64_t save = self->dirty_since + S_SAVE_WAIT;
        if (save < due)
            due = save;
    }
    return due;
}

// Decides what to do with j, due at now.
static void
s_due(sched_core_t *self, s_job_t *j, int64_t now)
{
    int64_t run_ms = 0, missed = 0, at = 0;
    int d = sched_plan_due(&j->eff, &j->rec.plan, j->name, now, &run_ms,
                           &missed, &at);
    if (d < 0) {
        zsys_error("scheduler: job %s: cannot compute its next run (%s); "
                   "it is paused",
                   j->name, azo_err_str(d));
        j->rec.paused = true;
        self->paused++;
        s_heap_remove(self, j);
        s_dirty(self, j);
        return;
    }
    if (d == SCHED_WAIT) {
        s_heap_place(self, j);
        return;
    }
    if (d == SCHED_SKIP) {
        bool late = j->eff.start_deadline_ms > 0 &&
                    now - sched_plan_fire_at(&j->eff, j->name, run_ms) >
                        j->eff.start_deadline_ms;
        s_skip(self, j, run_ms, missed, false, 0,
               late ? SCHED_R_DEADLINE : SCHED_R_MISSED, now);
    } else if (s_overlap(self, j, now) < 0)
        s_skip(self, j, run_ms, missed, false, 0, SCHED_R_OVERLAP, now);
    else if (s_run_add(self, j, run_ms, missed, false) < 0)
        azo_ratelog(&self->log, "scheduler: job %s: out of memory", j->name);
    s_dirty(self, j);
    s_heap_place(self, j);
}

int
sched_core_tick(sched_core_t *self, int64_t now)
{
    assert(self->started);
    self->now = now;
    if (self->hold_until && now < self->hold_until)
        return 0;
    while (self->nheap && self->heap[0]->due <= now)
        s_due(self, self->heap[0], now);
    int rc = s_flush(self, now);
    if (rc < 0)
        return rc;
    return s_send_all(self, now);
}

// --- commands ---------------------------------------------------------------
// -----------------------------------------------------------------

static s_job_t *
s_job_or_fail(sched_core_t *self, const char *name, char *err, size_t errlen)
{
    s_job_t *j = name ? s_find(self, name) : NULL;
    if (!j)
        azo_err_set(err, errlen, AZO_ENOTFOUND, "no job named '%s'",
                    name ? name : "");
    return j;
}

int
sched_core_run(sched_core_t *self, const char *job, int64_t now, char *run,
               size_t runlen, char *err, size_t errlen)
{
    self->now = now;
    s_job_t *j = s_job_or_fail(self, job, err, errlen);
    if (!j)
        return AZO_ENOTFOUND;
    if (self->hold_until)
        return azo_err_set(err, errlen, AZO_ESTOREFULL,
                           "job state cannot be saved at the moment (the "
                           "store refused the last commit)");
    if (s_overlap(self, j, now) < 0)
        return azo_err_set(err, errlen, AZO_ECONFLICT,
                           "job %s has %d run(s) in flight (overlap = %s)",
                           j->name, j->rec.ninflight,
                           j->cfg.overlap == SCHED_OVERLAP_FORBID ? "forbid"
                                                                  : "allow");
    // Runs already queued (a hold just ended) go out with this one.
    size_t queued = self->nsend;
    int rc = s_run_add(self, j, now, 1, true);
    if (rc < 0)
        return azo_err_set(err, errlen, rc, "out of memory");
    sched_run_t *r = &j->rec.inflight[j->rec.ninflight - 1];
    s_run_id(j, r, run, runlen);
    if ((rc = s_flush(self, now)) < 0) {
        // Not saved: this run does not happen.
        self->nsend = queued;
        s_run_remove(self, j, j->rec.ninflight - 1);
        j->rec.runs--;
        return azo_err_set(err, errlen, rc, "cannot save the run: %s",
                           azo_err_str(rc));
    }
    (void)s_send_all(self, now);
    return 0;
}

int
sched_core_pause(sched_core_t *self, const char *job, bool paused, int64_t now,
                 char *err, size_t errlen)
{
    self->now = now;
    s_job_t *j = s_job_or_fail(self, job, err, errlen);
    if (!j)
        return AZO_ENOTFOUND;
    if (j->rec.paused == paused)
        return 0;
    sched_rec_t saved = j->rec; // plan and flag only change below
    j->rec.paused = paused;
    if (!paused && sched_plan_reset(&j->eff, &j->rec.plan, now) < 0) {
        j->rec.paused = true;
        return azo_err_set(err, errlen, AZO_EINTERNAL,
                           "cannot compute the next run");
    }
    s_dirty(self, j);
    int rc = s_flush(self, now);
    if (rc < 0) {
        j->rec.paused = saved.paused;
        j->rec.plan = saved.plan;
        return azo_err_set(err, errlen, rc, "cannot save the job: %s",
                           azo_err_str(rc));
    }
    self->paused += paused ? 1 : -1;
    s_heap_place(self, j);
    return 0;
}

int
sched_core_set(sched_core_t *self, const char *job, int64_t every_ms,
               const char *cron, const char *zone, bool reset, int64_t now,
               char *err, size_t errlen)
{
    self->now = now;
    s_job_t *j = s_job_or_fail(self, job, err, errlen);
    if (!j)
        return AZO_ENOTFOUND;
    sched_spec_t spec = j->cfg.spec;
    sched_ovr_t *ovr = NULL;
    char sig[SCHED_REC_SIG_MAX];
    if (reset) {
        if (every_ms > 0 || (cron && *cron) || (zone && *zone))
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "reset: comes without every, cron or zone");
        snprintf(sig, sizeof sig, "%s", j->cfg_sig);
    } else {
        int rc = s_parse_schedule(&spec, every_ms, cron, zone, err, errlen);
        if (rc < 0)
            return rc;
        if (every_ms > 0 && spec.jitter_ms >= every_ms)
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "every: must be longer than the job's jitter "
                               "(%" PRId64 " ms)",
                               spec.jitter_ms);
        if (!(ovr = calloc(1, sizeof *ovr)))
            return azo_err_set(err, errlen, -ENOMEM, "out of memory");
        ovr->every_ms = every_ms > 0 ? every_ms : 0;
        snprintf(ovr->cron, sizeof ovr->cron, "%s", every_ms > 0 ? "" : cron);
        snprintf(ovr->zone, sizeof ovr->zone, "%s",
                 every_ms > 0 || !zone ? "" : zone);
        snprintf(ovr->base, sizeof ovr->base, "%s", j->cfg_sig);
        s_sig(sig, sizeof sig, ovr->every_ms, ovr->cron, ovr->zone);
    }
    sched_plan_t plan = j->rec.plan;
    if (s_replan(&spec, &plan, now) < 0) {
        free(ovr);
        return azo_err_set(err, errlen, AZO_EINTERNAL,
                           "cannot compute the next run");
    }
    sched_rec_t saved = j->rec;
    sched_spec_t saved_eff = j->eff;
    j->rec.ovr = ovr;
    j->rec.plan = plan;
    snprintf(j->rec.sig, sizeof j->rec.sig, "%s", sig);
    j->eff = spec;
    s_dirty(self, j);
    int rc = s_flush(self, now);
    if (rc < 0) {
        free(j->rec.ovr);
        j->rec.ovr = saved.ovr;
        j->rec.plan = saved.plan;
        memcpy(j->rec.sig, saved.sig, sizeof saved.sig);
        j->eff = saved_eff;
        return azo_err_set(err, errlen, rc, "cannot save the job: %s",
                           azo_err_str(rc));
    }
    free(saved.ovr);
    s_heap_place(self, j);
    return 0;
}

// --- reports ----------------------------------------------------------------
// ------------------------------------------------------------------

static void
s_pack_bool(msgpack_packer *pk, const char *key, bool v)
{
    azo_pack_str(pk, key);
    v ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
}

static void
s_pack_entry(msgpack_packer *pk, const s_job_t *j, const sched_hist_t *h)
{
    char id[S_RUNID_MAX];
    sched_run_t run = {.run_ms = h->run_ms, .manual = h->manual};
    s_run_id(j, &run, id, sizeof id);
    msgpack_pack_map(pk, 8);
    azo_pack_kstr(pk, "run", id);
    azo_pack_kint(pk, "sched", h->run_ms);
    azo_pack_kint(pk, "fired", h->fired_ms);
    azo_pack_kint(pk, "ended", h->ended_ms);
    azo_pack_kint(pk, "duration_ms",
                  h->fired_ms ? h->ended_ms - h->fired_ms : 0);
    azo_pack_kstr(pk, "result", sched_rec_result_name(h->result));
    azo_pack_kint(pk, "missed", h->missed);
    s_pack_bool(pk, "manual", h->manual);
}

// The fields shared by list and get (14 pairs).
#define S_SUMMARY_FIELDS 14
static void
s_pack_summary(msgpack_packer *pk, const s_job_t *j, int64_t now)
{
    char text[256];
    s_schedule_text(j, text, sizeof text);
    azo_pack_kstr(pk, "name", j->name);
    azo_pack_kstr(pk, "command", j->command);
    azo_pack_kstr(pk, "schedule", text);
    s_pack_bool(pk, "paused", j->rec.paused);
    int64_t due = j->rec.paused ? 0 : j->due;
    azo_pack_kint(pk, "next", due);
    azo_pack_kint(pk, "next_in_ms", due ? (due > now ? due - now : 0) : 0);
    azo_pack_kint(pk, "running", j->rec.ninflight);
    azo_pack_kint(pk, "failures", j->rec.plan.failures);
    azo_pack_kint(pk, "interval_ms",
                  j->rec.plan.interval_ms > 0 ? j->rec.plan.interval_ms
                                              : j->eff.every_ms);
    s_pack_bool(pk, "backoff", j->rec.plan.interval_ms > 0);
    azo_pack_kint(pk, "runs", j->rec.runs);
    azo_pack_kint(pk, "fails", j->rec.fails);
    azo_pack_str(pk, "last");
    if (j->rec.has_last)
        s_pack_entry(pk, j, &j->rec.last);
    else
        msgpack_pack_nil(pk);
    azo_pack_kstr(pk, "last_error", j->rec.last_error);
}

int
sched_core_list(sched_core_t *self, const char *after, int limit, int64_t now,
                msgpack_packer *pk)
{
    size_t from = after && *after ? s_after(self, after) : 0;
    size_t n = self->njobs - from;
    if (limit >= 0 && n > (size_t)limit)
        n = (size_t)limit;
    msgpack_pack_map(pk, 3);
    azo_pack_str(pk, "jobs");
    msgpack_pack_array(pk, (uint32_t)n);
    for (size_t i = from; i < from + n; i++) {
        msgpack_pack_map(pk, S_SUMMARY_FIELDS);
        s_pack_summary(pk, self->jobs[i], now);
    }
    azo_pack_kint(pk, "count", (int64_t)self->njobs);
    s_pack_bool(pk, "more", from + n < self->njobs);
    return (int)n;
}

static const char *
s_overlap_name(sched_overlap_t o)
{
    return o == SCHED_OVERLAP_ALLOW     ? "allow"
           : o == SCHED_OVERLAP_REPLACE ? "replace"
                                        : "forbid";
}

bool
sched_core_has(const sched_core_t *self, const char *job)
{
    return job && s_find(self, job);
}

int
sched_core_get(sched_core_t *self, const char *job, int64_t now,
               msgpack_packer *pk)
{
    s_job_t *j = job ? s_find(self, job) : NULL;
    if (!j)
        return AZO_ENOTFOUND;
    const sched_spec_t *s = &j->eff;
    msgpack_pack_map(pk, S_SUMMARY_FIELDS + 16);
    s_pack_summary(pk, j, now);
    azo_pack_str(pk, "args");
    if (j->args)
        (void)pk->callback(pk->data, j->args, j->cfg.args_len);
    else
        msgpack_pack_map(pk, 0);
    azo_pack_kstr(pk, "run_arg", j->run_arg);
    azo_pack_kint(pk, "timeout_ms", j->cfg.timeout_ms);
    azo_pack_kstr(pk, "overlap", s_overlap_name(j->cfg.overlap));
    azo_pack_kstr(pk, "missed",
                  s->missed == SCHED_MISSED_ONCE ? "once" : "skip");
    azo_pack_kint(pk, "jitter_ms", s->jitter_ms);
    azo_pack_kint(pk, "start_deadline_ms", s->start_deadline_ms);
    azo_pack_kint(pk, "max_consecutive_failures", s->max_failures);
    azo_pack_str(pk, "backoff_multiplier");
    msgpack_pack_double(pk, s->backoff_mult);
    azo_pack_kint(pk, "max_interval_ms", s->max_interval_ms);
    s_pack_bool(pk, "refire", j->cfg.refire);
    s_pack_bool(pk, "set_at_run_time", j->rec.ovr != NULL);
    azo_pack_kint(pk, "oks", j->rec.oks);
    azo_pack_kint(pk, "skips", j->rec.skips);
    azo_pack_str(pk, "inflight");
    msgpack_pack_array(pk, (uint32_t)j->rec.ninflight);
    for (int i = 0; i < j->rec.ninflight; i++) {
        const sched_run_t *r = &j->rec.inflight[i];
        char id[S_RUNID_MAX];
        s_run_id(j, r, id, sizeof id);
        msgpack_pack_map(pk, 4);
        azo_pack_kstr(pk, "run", id);
        azo_pack_kint(pk, "sched", r->run_ms);
        azo_pack_kint(pk, "fired", r->fired_ms);
        s_pack_bool(pk, "manual", r->manual);
    }
    azo_pack_str(pk, "history");
    msgpack_pack_array(pk, (uint32_t)j->rec.hist_len);
    for (int i = 0; i < j->rec.hist_len; i++)
        s_pack_entry(pk, j, sched_rec_hist_at(&j->rec, i));
    return 0;
}

void
sched_core_counts(const sched_core_t *self, int *jobs, int *inflight,
                  int *paused)
{
    *jobs = (int)self->njobs;
    *inflight = self->inflight;
    *paused = self->paused;
}
