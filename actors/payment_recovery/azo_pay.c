// azo_pay — the payment-recovery actor (#7). Payments are submitted
// (pay.submit), kept in the LMDB ledger (pay_led) and charged through a
// gateway (pay_gw); failed ones are retried with the same idempotency key
// after a backoff, then dead-lettered. Every transition is committed before
// the gateway call and again after its answer, in batches: all the calls a
// sweep starts share one commit, and all the answers that arrive in one
// turn of the loop share the next. Events are published after the commit.
#include "azo_pay.h"

#include "azo_err.h"
#include "azo_log.h"
#include "azo_mp.h"
#include "pay_gw.h"
#include "pay_led.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define S_PAGE     1000  // most entries in one list, events or trail answer
#define S_SUBMIT   1000  // most payments in one pay.submit
#define S_RETRY_MS 1000  // a full store is tried again after this long
#define S_LEASE_MS 30000 // processing: due again this long past the timeout

typedef struct s_pay s_pay_t;

// A gateway call in flight.
typedef struct {
    s_pay_t *self;
    char id[PAY_ID_MAX];
    uint32_t calls; // the record's call number: fences a stale answer
    bool done;      // answered; the answer waits for the next commit
    bool counted;   // it raised the attempt count when it started
} s_call_t;

// An answer waiting for its commit.
typedef struct {
    s_call_t *call;
    pay_outcome_t out;
} s_done_t;

// A pay.submit waiting for the intake commit.
typedef struct {
    azo_reply_t *reply;
    bool batch;        // {payments: [...]}: answer per item
    size_t n;          // items
    pay_rec_t *recs;   // n, items that failed validation have id[0] == 0
    char (*errs)[160]; // n, validation errors
    bool *created;     // n, set by the commit
} s_sub_t;

// A pay.retry waiting for the answer of its payment's call.
typedef struct {
    char id[PAY_ID_MAX];
    azo_reply_t *reply;
} s_wait_t;

struct s_pay {
    azo_actor_t *actor;
    pay_led_t *led;
    pay_gw_t *gw;
    // Settings.
    int max_inflight, max_attempts, unknown_extra;
    int64_t timeout_ms, base_ms, cap_ms, auth_ms, window_ms;
    double factor, jitter;
    bool decline_waits; // on_decline = wait
    bool auto_sweep;
    // State.
    zhashx_t *inflight; // id -> s_call_t (owned)
    s_done_t *done;     // answers to commit
    size_t ndone, capdone;
    zlistx_t *subs;   // s_sub_t, to commit
    zlistx_t *waits;  // s_wait_t
    zlistx_t *resume; // ids found processing at start (char *)
    int flush_timer, sweep_timer, intake_timer;
    int64_t blocked_until; // monotonic: a full store holds sweeps until
    bool sweeping;         // trigger mode: a pay.sweep is being worked off
    bool stopping;         // fini: no new calls, no replies
    int64_t commits, transitions; // since start: how transitions batch
    azo_ratelog_t rl;
};

static void s_sweep(s_pay_t *self);

static int64_t
s_now(void)
{
    return zclock_time();
}

// --- small helpers -------------------------------------------------------

static void
s_new_ikey(char *ikey)
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (errno != EINTR)
            break;
    }
    if (got < sizeof b) // no entropy source: time and address still differ
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (unsigned char)((uint64_t)zclock_usecs() >> (i % 8 * 8) ^
                                   (uintptr_t)ikey >> (i % 4 * 8));
    strcpy(ikey, "azo_");
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(ikey + 4 + 2 * i, 3, "%02x", b[i]);
}

static void
s_publish(s_pay_t *self)
{
    const pay_ev_t *evs;
    size_t n = pay_led_events(self->led, &evs);
    for (size_t i = 0; i < n; i++) {
        msgpack_packer *pk =
            azo_actor_event(self->actor, evs[i].topic, PAY_EV_FIELDS);
        if (!pk)
            continue;
        pay_led_ev_fields(&evs[i], pk);
        (void)azo_actor_publish(self->actor);
    }
}

// Logs a failed commit and holds sweeps for a while when the store is full.
static void
s_commit_failed(s_pay_t *self, int rc, const char *what)
{
    azo_ratelog(&self->rl, "payment-recovery: %s not committed: %s%s", what,
                azo_err_str(rc),
                rc == AZO_ESTOREFULL ? " (store full: retrying every second; "
                                       "nothing already stored is lost)"
                                     : "");
    self->blocked_until = zclock_mono() + S_RETRY_MS;
}

static void
s_pack_summary(msgpack_packer *pk, const pay_rec_t *r)
{
    msgpack_pack_map(pk, 8);
    azo_pack_kstr(pk, "id", r->id);
    azo_pack_kstr(pk, "status", pay_status_name(r->status));
    azo_pack_kint(pk, "amount", r->amount);
    azo_pack_kstr(pk, "currency", r->currency);
    azo_pack_kuint(pk, "attempts", r->attempts);
    azo_pack_kint(pk, "next_attempt_ms", r->next_ms);
    azo_pack_kstr(pk, "error_code", r->err_code);
    azo_pack_kint(pk, "updated_ms", r->updated_ms);
}

// --- timers ----------------------------------------------------------------

static void
s_on_sweep_timer(void *selfp, void *arg)
{
    (void)arg;
    s_pay_t *self = selfp;
    self->sweep_timer = 0;
    s_sweep(self);
}

static void
s_arm_sweep(s_pay_t *self, int64_t delay_ms)
{
    if (self->sweep_timer)
        azo_actor_timer_cancel(self->actor, self->sweep_timer);
    self->sweep_timer = 0;
    if (delay_ms < 0)
        return;
    if (delay_ms > 60000) // a step of the wall clock is noticed within 1m
        delay_ms = 60000;
    int id = azo_actor_timer_at(self->actor, zclock_mono() + delay_ms,
                                s_on_sweep_timer, NULL);
    self->sweep_timer = id > 0 ? id : 0;
}

// --- answers of the gateway -----------------------------------------------

static void s_on_flush_timer(void *selfp, void *arg);

static void
s_arm_flush(s_pay_t *self, int64_t delay_ms)
{
    if (self->flush_timer)
        return;
    int id = azo_actor_timer_at(self->actor, zclock_mono() + delay_ms,
                                s_on_flush_timer, NULL);
    self->flush_timer = id > 0 ? id : 0;
}

static void
s_on_answer(void *arg, const pay_outcome_t *out)
{
    s_call_t *call = arg;
    s_pay_t *self = call->self;
    if (self->ndone == self->capdone) {
        size_t cap = self->capdone ? self->capdone * 2 : 64;
        s_done_t *d = realloc(self->done, cap * sizeof *d);
        if (!d) {
            // The call stays processing; the next start resends it.
            zsys_error("payment-recovery: out of memory keeping the answer "
                       "for %s",
                       call->id);
            return;
        }
        self->done = d;
        self->capdone = cap;
    }
    call->done = true;
    self->done[self->ndone++] = (s_done_t){call, *out};
    // Answers arriving within the window share one commit (and the start
    // of the calls that replace them): one fsync for many transitions.
    s_arm_flush(self,
                (int)self->ndone >= self->max_inflight ? 0 : self->window_ms);
}

// Applies out to rec (processing). Returns the event topic; sets cause.
// After a call refused for reasons that are not the payment's: the next
// call carries the same attempt number as this one.
static void
s_same_attempt(pay_rec_t *rec, bool counted)
{
    if (counted && rec->attempts)
        rec->attempts--; // the next call counts it again
    else
        rec->free_retry = true; // the next call does not count
}

static const char *
s_apply(s_pay_t *self, pay_rec_t *rec, const pay_outcome_t *out, bool counted,
        const char **cause, int64_t now)
{
    if (out->kind == PAY_OUT_RETRY && out->unknown)
        rec->maybe_charged = true;
    else if (out->kind != PAY_OUT_RETRY && out->kind != PAY_OUT_AUTH)
        rec->maybe_charged = false; // the key's own answer: definitive
    if (out->kind != PAY_OUT_OK) {
        snprintf(rec->err_code, sizeof rec->err_code, "%s",
                 out->code[0] ? out->code : "error");
        snprintf(rec->err_msg, sizeof rec->err_msg, "%s", out->message);
        rec->err_http = out->http;
        rec->err_unknown = out->unknown;
    }
    switch (out->kind) {
    case PAY_OUT_OK:
        rec->status = PAY_SUCCEEDED;
        rec->next_ms = 0;
        snprintf(rec->charge_id, sizeof rec->charge_id, "%s", out->charge_id);
        rec->err_code[0] = rec->err_msg[0] = 0;
        rec->err_http = 0;
        rec->err_unknown = false;
        *cause = "charged";
        return rec->recovering ? "pay.recovered" : "pay.succeeded";
    case PAY_OUT_AUTH:
        // Our credentials, not the payment: not counted as an attempt.
        azo_ratelog(&self->rl,
                    "payment-recovery: the gateway refused our credentials "
                    "(HTTP %d): check the API key; payments wait",
                    out->http);
        s_same_attempt(rec, counted);
        rec->status = PAY_FAILED;
        rec->next_ms = now + self->auth_ms;
        *cause = "gateway_auth";
        return "pay.failed";
    case PAY_OUT_RETRY: {
        rec->recovering = true;
        if (out->http == 409) {
            // Another request with this key is still being executed (a
            // call lost in a crash): not a failure of the payment, and no
            // attempt of its own.
            s_same_attempt(rec, counted);
            rec->status = PAY_FAILED;
            rec->next_ms = now + pay_backoff(1, self->base_ms, 1, self->cap_ms,
                                             self->jitter, 0.5);
            *cause = "key_in_use";
            return "pay.failed";
        }
        // Past max_attempts, a payment whose key may have charged (some
        // call's outcome is unknown and no answer of the key's own came
        // since) gets unknown_attempts more calls with its key to find out.
        bool more =
            (int)rec->attempts < self->max_attempts ||
            (rec->maybe_charged &&
             (int)rec->attempts < self->max_attempts + self->unknown_extra);
        if (!more) {
            rec->status = PAY_DEAD;
            rec->next_ms = 0;
            *cause = rec->maybe_charged ? "outcome_unknown" : "max_attempts";
            return "pay.dead";
        }
        int64_t d = pay_backoff(rec->attempts, self->base_ms, self->factor,
                                self->cap_ms, self->jitter,
                                (double)random() / ((double)RAND_MAX + 1));
        if (out->retry_after_ms > d)
            d = out->retry_after_ms;
        rec->status = PAY_FAILED;
        rec->next_ms = now + d;
        *cause = (int)rec->attempts >= self->max_attempts ? "verify_scheduled"
                                                          : "retry_scheduled";
        return "pay.failed";
    }
    case PAY_OUT_DECLINE:
        rec->recovering = true;
        if (self->decline_waits) {
            rec->status = PAY_FAILED;
            rec->await_method = true;
            rec->next_ms = 0;
            *cause = "declined_awaiting_method";
            return "pay.failed";
        }
        rec->status = PAY_DEAD;
        rec->next_ms = 0;
        *cause = "declined";
        return "pay.dead";
    case PAY_OUT_INVALID:
    default:
        rec->recovering = true;
        rec->status = PAY_DEAD;
        rec->next_ms = 0;
        *cause = "invalid";
        return "pay.dead";
    }
}

// Answers the pay.retry requests waiting for rec.
static void
s_answer_waits(s_pay_t *self, const pay_rec_t *rec)
{
    s_wait_t *w = zlistx_first(self->waits);
    while (w) {
        if (strcmp(w->id, rec->id) != 0) {
            w = zlistx_next(self->waits);
            continue;
        }
        void *handle = zlistx_cursor(self->waits);
        pay_rec_pack(rec, azo_reply_result(w->reply));
        (void)azo_actor_reply(self->actor, &w->reply);
        w = zlistx_next(self->waits);
        zlistx_delete(self->waits, handle);
    }
}

// --- the sweep -------------------------------------------------------------

typedef struct {
    s_pay_t *self;
    int64_t now;
    char (*ids)[PAY_ID_MAX];
    size_t n, cap;
    int64_t next; // earliest future due time, 0: none
} s_scan_t;

static int
s_scan_due(const void *key, size_t klen, const void *val, size_t vlen,
           void *arg)
{
    (void)val;
    (void)vlen;
    s_scan_t *s = arg;
    int64_t ms;
    char id[PAY_ID_MAX];
    if (!pay_led_due_split(key, klen, &ms, id))
        return 0;
    if (ms > s->now) {
        s->next = ms;
        return 1;
    }
    if (s->n == s->cap)
        return 1; // full: the answers' commits sweep again
    if (zhashx_lookup(s->self->inflight, id))
        return 0;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ids[i], id) == 0)
            return 0;
    strcpy(s->ids[s->n++], id);
    return 0;
}

// Calls staged in the open batch, sent after its commit.
typedef struct {
    s_call_t **calls;
    pay_rec_t *recs;
    size_t n;
    int64_t next; // earliest future due time, 0: none
} s_starts_t;

static void
s_starts_fini(s_starts_t *st, bool sent)
{
    for (size_t i = 0; !sent && i < st->n; i++)
        free(st->calls[i]);
    free(st->calls);
    free(st->recs);
    memset(st, 0, sizeof *st);
}

// Within the open batch: marks up to room due payments (those found in
// flight at start first) processing, each with its call numbered. Returns
// 0, or a negative code (the batch is lost: abort it).
static int
s_stage(s_pay_t *self, size_t room, int64_t now, s_starts_t *st)
{
    memset(st, 0, sizeof *st);
    if (!room)
        return 0;
    s_scan_t s = {self, now, NULL, 0, room, 0};
    s.ids = calloc(room, sizeof *s.ids);
    st->calls = calloc(room, sizeof *st->calls);
    st->recs = calloc(room, sizeof *st->recs);
    if (!s.ids || !st->calls || !st->recs) {
        free(s.ids);
        return -ENOMEM;
    }
    char *rid;
    while (s.n < room && (rid = zlistx_first(self->resume))) {
        if (!zhashx_lookup(self->inflight, rid))
            snprintf(s.ids[s.n++], PAY_ID_MAX, "%s", rid);
        zlistx_delete(self->resume, zlistx_cursor(self->resume));
    }
    int rc = 0;
    if (s.n < room)
        rc = azo_txn_each(pay_led_txn(self->led), azo_actor_db(self->actor),
                          "d/", 2, s_scan_due, &s);
    st->next = s.next;
    int64_t lease = now + self->timeout_ms + S_LEASE_MS;
    for (size_t i = 0; rc == 0 && i < s.n; i++) {
        pay_rec_t old;
        if (pay_led_get(self->led, pay_led_txn(self->led), s.ids[i], &old))
            continue; // corrupt (logged) or gone
        pay_rec_t *rec = &st->recs[st->n];
        *rec = old;
        const char *cause, *topic = NULL;
        bool counted = false;
        if (old.status == PAY_PROCESSING) {
            // Found in flight at start: the same call again, same key.
            cause = "resumed";
            topic = "pay.retry";
            rec->maybe_charged = true; // the lost call may have charged
        } else if (old.status == PAY_PENDING ||
                   (old.status == PAY_FAILED && !old.await_method)) {
            counted = !rec->free_retry;
            rec->free_retry = false;
            if (counted)
                rec->attempts++;
            cause = rec->attempts > 1 ? "retry" : "attempt";
            if (rec->attempts > 1)
                topic = "pay.retry";
        } else
            continue; // not due (an index entry left behind)
        rec->status = PAY_PROCESSING;
        rec->calls++;
        rec->next_ms = lease;
        rc = pay_led_write(self->led, &old, rec, cause, false, topic, now);
        if (rc == 0) {
            s_call_t *call = calloc(1, sizeof *call);
            if (!call) {
                rc = -ENOMEM;
                break;
            }
            call->self = self;
            call->counted = counted;
            call->calls = rec->calls;
            snprintf(call->id, sizeof call->id, "%s", rec->id);
            st->calls[st->n++] = call;
        }
    }
    free(s.ids);
    return rc;
}

// After the commit: the staged calls go to the gateway.
static void
s_send(s_pay_t *self, s_starts_t *st)
{
    for (size_t i = 0; i < st->n; i++) {
        s_call_t *call = st->calls[i];
        const pay_rec_t *r = &st->recs[i];
        zhashx_update(self->inflight, call->id, call);
        pay_charge_t req = {.id = r->id,
                            .currency = r->currency,
                            .customer = r->customer,
                            .method = r->method,
                            .ikey = r->ikey,
                            .description =
                                r->description[0] ? r->description : NULL,
                            .amount = r->amount,
                            .attempt = r->attempts};
        if (pay_gw_charge(self->gw, &req, s_on_answer, call) < 0) {
            pay_outcome_t out = {.kind = PAY_OUT_RETRY, .retry_after_ms = -1};
            snprintf(out.code, sizeof out.code, "local");
            snprintf(out.message, sizeof out.message,
                     "the request could not be started");
            s_on_answer(call, &out);
        }
    }
    s_starts_fini(st, true);
}

// True when new calls may start now.
static bool
s_may_start(s_pay_t *self)
{
    return !self->stopping && zclock_mono() >= self->blocked_until &&
           (self->auto_sweep || self->sweeping || zlistx_size(self->resume));
}

// After a commit: the sweep timer for the next due payment (auto mode).
static void
s_after(s_pay_t *self, size_t started, int64_t next)
{
    if (!started && !zhashx_size(self->inflight))
        self->sweeping = false;
    if (self->stopping)
        return;
    int64_t mono = zclock_mono();
    if (mono < self->blocked_until)
        s_arm_sweep(self, self->blocked_until - mono);
    else if (!self->auto_sweep ||
             (int)zhashx_size(self->inflight) >= self->max_inflight)
        s_arm_sweep(self, -1); // answers' commits start more
    else if (next > 0)         // at least 1 ms: a timer may fire a little early
        s_arm_sweep(self, next - s_now() > 0 ? next - s_now() : 1);
    else
        s_arm_sweep(self, -1);
}

// Commits the answers waiting (and, in the same commit, the start of the
// calls that take their places), then publishes, answers pay.retry
// waiters and sends the new calls.
static void
s_flush(s_pay_t *self)
{
    if (!self->ndone)
        return;
    int64_t now = s_now();
    pay_rec_t *after = calloc(self->ndone, sizeof *after);
    int rc = after ? pay_led_begin(self->led) : -ENOMEM;
    size_t stale = 0;
    for (size_t i = 0; rc == 0 && i < self->ndone; i++) {
        s_done_t *d = &self->done[i];
        pay_rec_t old;
        int grc =
            pay_led_get(self->led, pay_led_txn(self->led), d->call->id, &old);
        if (grc != 0 || old.status != PAY_PROCESSING ||
            old.calls != d->call->calls) {
            // Another instance (or a newer call) owns it now.
            stale++;
            continue;
        }
        pay_rec_t *rec = &after[i];
        *rec = old;
        const char *cause = "";
        const char *topic =
            s_apply(self, rec, &d->out, d->call->counted, &cause, now);
        rc = pay_led_write(self->led, &old, rec, cause,
                           d->out.kind != PAY_OUT_OK, topic, now);
    }
    s_starts_t st = {0};
    size_t busy = zhashx_size(self->inflight) - self->ndone;
    if (rc == 0 && s_may_start(self) && (int)busy < self->max_inflight)
        rc = s_stage(self, (size_t)self->max_inflight - busy, now, &st);
    if (rc == 0)
        rc = pay_led_commit(self->led);
    else
        pay_led_abort(self->led);
    if (rc < 0) {
        // The answers stay here; if this process dies first, the payments
        // are found processing and resent with their keys.
        s_commit_failed(self, rc, "gateway answers");
        s_starts_fini(&st, false);
        free(after);
        s_arm_flush(self, S_RETRY_MS);
        return;
    }
    self->commits++;
    self->transitions += (int64_t)(self->ndone - stale + st.n);
    if (stale)
        zsys_warning("payment-recovery: %zu stale gateway answers ignored "
                     "(their payments moved on)",
                     stale);
    s_publish(self);
    size_t n = self->ndone;
    self->ndone = 0;
    for (size_t i = 0; i < n; i++) {
        s_call_t *call = self->done[i].call;
        if (after[i].id[0] && !self->stopping)
            s_answer_waits(self, &after[i]);
        zhashx_delete(self->inflight, call->id);
    }
    free(after);
    size_t started = st.n;
    int64_t next = st.next;
    s_send(self, &st);
    s_after(self, started, next);
}

static void
s_on_flush_timer(void *selfp, void *arg)
{
    (void)arg;
    s_pay_t *self = selfp;
    self->flush_timer = 0;
    s_flush(self);
}

// Starts the calls of due payments up to max_inflight: one commit for all
// of them (with any answers waiting), then the gateway calls.
static void
s_sweep(s_pay_t *self)
{
    if (self->ndone) {
        s_flush(self); // it starts calls too
        return;
    }
    size_t busy = zhashx_size(self->inflight);
    if (!s_may_start(self) || (int)busy >= self->max_inflight) {
        s_after(self, 0, 0);
        return;
    }
    s_starts_t st = {0};
    int rc = pay_led_begin(self->led);
    if (rc == 0)
        rc = s_stage(self, (size_t)self->max_inflight - busy, s_now(), &st);
    if (rc == 0)
        rc = pay_led_commit(self->led);
    else
        pay_led_abort(self->led);
    if (rc < 0) {
        s_commit_failed(self, rc, "the start of gateway calls");
        s_starts_fini(&st, false);
        s_after(self, 0, 0);
        return;
    }
    s_publish(self);
    size_t started = st.n;
    int64_t next = st.next;
    if (started) {
        self->commits++;
        self->transitions += (int64_t)started;
    }
    s_send(self, &st);
    s_after(self, started, next);
}

// --- intake ------------------------------------------------------------------

static void
s_sub_free(void **item)
{
    s_sub_t *s = *item;
    if (!s)
        return;
    free(s->recs);
    free(s->errs);
    free(s->created);
    free(s);
    *item = NULL;
}

static void
s_sub_answer(s_pay_t *self, s_sub_t *s, int rc)
{
    if (!s->reply)
        return; // one-way
    if (rc < 0) {
        azo_reply_fail(s->reply, rc,
                       rc == AZO_ESTOREFULL
                           ? "the ledger is full: payment not recorded "
                             "(nothing already stored is lost)"
                           : "payment not recorded: %s",
                       azo_err_str(rc));
    } else if (!s->batch) {
        msgpack_packer *pk = azo_reply_result(s->reply);
        msgpack_pack_map(pk, 2);
        azo_pack_kbool(pk, "created", s->created[0]);
        msgpack_pack_str_with_body(pk, "payment", 7);
        pay_rec_pack(&s->recs[0], pk);
    } else {
        size_t ok = 0, dup = 0, bad = 0;
        for (size_t i = 0; i < s->n; i++) {
            if (!s->recs[i].id[0])
                bad++;
            else if (s->created[i])
                ok++;
            else
                dup++;
        }
        msgpack_packer *pk = azo_reply_result(s->reply);
        msgpack_pack_map(pk, 4);
        azo_pack_kint(pk, "created", (int64_t)ok);
        azo_pack_kint(pk, "duplicates", (int64_t)dup);
        azo_pack_kint(pk, "rejected", (int64_t)bad);
        msgpack_pack_str_with_body(pk, "results", 7);
        msgpack_pack_array(pk, (uint32_t)s->n);
        for (size_t i = 0; i < s->n; i++) {
            const pay_rec_t *r = &s->recs[i];
            if (!r->id[0]) {
                msgpack_pack_map(pk, 2);
                azo_pack_kint(pk, "index", (int64_t)i);
                azo_pack_kstr(pk, "error", s->errs[i]);
            } else {
                msgpack_pack_map(pk, 4);
                azo_pack_kint(pk, "index", (int64_t)i);
                azo_pack_kstr(pk, "id", r->id);
                azo_pack_kbool(pk, "created", s->created[i]);
                azo_pack_kstr(pk, "status", pay_status_name(r->status));
            }
        }
    }
    (void)azo_actor_reply(self->actor, &s->reply);
}

// Records the items of s in the open batch.
static int
s_sub_write(s_pay_t *self, s_sub_t *s, int64_t now)
{
    for (size_t i = 0; i < s->n; i++) {
        pay_rec_t *r = &s->recs[i];
        if (!r->id[0])
            continue;
        pay_rec_t have;
        int rc = pay_led_get(self->led, pay_led_txn(self->led), r->id, &have);
        if (rc == 0) {
            *r = have; // a duplicate: answered with the stored record
            s->created[i] = false;
            continue;
        }
        if (rc != AZO_ENOTFOUND)
            return rc;
        s_new_ikey(r->ikey); // fixed before any gateway call
        r->next_ms = now;
        rc =
            pay_led_write(self->led, NULL, r, "submitted",
                          r->status == PAY_FAILED && r->err_code[0], NULL, now);
        if (rc < 0)
            return rc;
        s->created[i] = true;
    }
    return 0;
}

static void
s_on_intake(void *selfp, void *arg)
{
    (void)arg;
    s_pay_t *self = selfp;
    self->intake_timer = 0;
    int64_t now = s_now();
    int rc = pay_led_begin(self->led);
    for (s_sub_t *s = zlistx_first(self->subs); rc == 0 && s;
         s = zlistx_next(self->subs))
        rc = s_sub_write(self, s, now);
    if (rc == 0)
        rc = pay_led_commit(self->led);
    else
        pay_led_abort(self->led);
    if (rc < 0 && zlistx_size(self->subs) > 1) {
        // One at a time, so that those that fit are recorded.
        for (s_sub_t *s = zlistx_first(self->subs); s;
             s = zlistx_next(self->subs)) {
            int r = pay_led_begin(self->led);
            if (r == 0)
                r = s_sub_write(self, s, now);
            r = r == 0 ? pay_led_commit(self->led)
                       : (pay_led_abort(self->led), r);
            s_sub_answer(self, s, r);
        }
    } else
        for (s_sub_t *s = zlistx_first(self->subs); s;
             s = zlistx_next(self->subs))
            s_sub_answer(self, s, rc);
    if (rc == AZO_ESTOREFULL)
        azo_ratelog(&self->rl, "payment-recovery: ledger full: submissions "
                               "refused with store_full");
    zlistx_purge(self->subs);
    if (self->auto_sweep)
        s_sweep(self);
}

static int
s_cmd_submit(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_pay_t *self = selfp;
    const msgpack_object *list = azo_req_arg(req, "payments");
    const msgpack_object *one = req->args;
    if (list && azo_req_unknown_arg(req, "payments"))
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "payments: give either one payment's fields "
                              "or payments: [...], not both");
    if (list && (list->type != MSGPACK_OBJECT_ARRAY ||
                 list->via.array.size == 0 || list->via.array.size > S_SUBMIT))
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "payments: must be an array of 1..%d payments",
                              S_SUBMIT);
    s_sub_t *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->batch = list != NULL;
    s->n = list ? list->via.array.size : 1;
    s->recs = calloc(s->n, sizeof *s->recs);
    s->errs = calloc(s->n, sizeof *s->errs);
    s->created = calloc(s->n, sizeof *s->created);
    if (!s->recs || !s->errs || !s->created) {
        void *p = s;
        s_sub_free(&p);
        return -ENOMEM;
    }
    size_t bad = 0;
    for (size_t i = 0; i < s->n; i++) {
        const msgpack_object *args = list ? &list->via.array.ptr[i] : one;
        if (pay_rec_from_args(&s->recs[i], args, s->errs[i],
                              sizeof s->errs[i]) != 0) {
            s->recs[i].id[0] = 0;
            bad++;
        }
    }
    if (!list && bad) {
        int rc = azo_reply_fail(reply, AZO_EBADREQ, "%s", s->errs[0]);
        void *p = s;
        s_sub_free(&p);
        return rc;
    }
    s->reply = azo_actor_defer(self->actor, reply); // NULL: one-way
    if (!zlistx_add_end(self->subs, s)) {
        if (s->reply) {
            azo_reply_fail(s->reply, -ENOMEM, "out of memory");
            (void)azo_actor_reply(self->actor, &s->reply);
        }
        void *p = s;
        s_sub_free(&p);
        return 0;
    }
    if (!self->intake_timer) {
        int id =
            azo_actor_timer_at(self->actor, zclock_mono(), s_on_intake, NULL);
        self->intake_timer = id > 0 ? id : 0;
    }
    return 0;
}

// --- reading -----------------------------------------------------------------

// Reads the payment named by the "id" argument through a read transaction
// (*txn_p, to end with azo_store_abort). Returns 0 or an error reply.
static int
s_lookup(s_pay_t *self, const azo_req_t *req, azo_reply_t *reply,
         const char *allowed, azo_txn_t **txn_p, pay_rec_t *rec)
{
    const char *bad = azo_req_unknown_arg(req, allowed);
    if (bad)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "unknown argument '%s' (known: %s)", bad,
                              allowed);
    const char *id = azo_req_str(req, "id");
    if (!id)
        return azo_reply_fail(reply, AZO_EBADREQ, "id: %s",
                              azo_req_arg(req, "id") ? "must be a string"
                                                     : "missing");
    if (!pay_id_ok(id))
        return azo_reply_fail(reply, AZO_EBADREQ, "id: not a valid payment id");
    int rc = azo_store_begin(azo_actor_store(self->actor), false, txn_p);
    if (rc == 0)
        rc = pay_led_get(self->led, *txn_p, id, rec);
    if (rc == AZO_ENOTFOUND)
        return azo_reply_fail(reply, rc, "no payment '%s'", id);
    if (rc < 0)
        return azo_reply_fail(reply, rc, "payment '%s': %s", id,
                              rc == AZO_EINTERNAL ? "corrupt record (see the "
                                                    "log)"
                                                  : azo_err_str(rc));
    return 0;
}

typedef struct {
    msgpack_packer *pk;
    uint32_t n, max;
    bool more;
    int bad;
} s_trail_t;

static int
s_each_trail(const void *key, size_t klen, const void *val, size_t vlen,
             void *arg)
{
    (void)key;
    (void)klen;
    s_trail_t *t = arg;
    if (t->n == t->max) {
        t->more = true;
        return 1;
    }
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object obj;
    pay_trail_t e;
    if (azo_mp_check(val, vlen, NULL, 0) == 0 &&
        azo_mp_unpack(val, vlen, &zone, &obj) == 0 &&
        pay_trail_unpack(&e, &obj, NULL, 0) == 0) {
        pay_trail_pack(&e, t->pk);
        t->n++;
    } else
        t->bad++;
    msgpack_zone_destroy(&zone);
    return 0;
}

static int
s_cmd_get(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_pay_t *self = selfp;
    azo_txn_t *txn = NULL;
    pay_rec_t rec;
    int rc = s_lookup(self, req, reply, "id", &txn, &rec);
    if (rc < 0) {
        azo_store_abort(&txn);
        return rc;
    }
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 3);
    msgpack_pack_str_with_body(pk, "payment", 7);
    pay_rec_pack(&rec, pk);
    msgpack_pack_str_with_body(pk, "trail", 5);
    size_t at = azo_pack_array_open(pk);
    char prefix[PAY_ID_MAX + 4];
    size_t plen = (size_t)snprintf(prefix, sizeof prefix, "t/%s/", rec.id);
    s_trail_t t = {pk, 0, S_PAGE, false, 0};
    rc = azo_txn_each(txn, azo_actor_db(self->actor), prefix, plen,
                      s_each_trail, &t);
    azo_pack_array_close(pk, at, t.n);
    azo_pack_kbool(pk, "trail_more", t.more);
    azo_store_abort(&txn);
    if (t.bad)
        zsys_warning("payment-recovery: %d corrupt trail entries of %s", t.bad,
                     rec.id);
    return rc < 0 ? azo_reply_fail(reply, rc, "trail: %s", azo_err_str(rc)) : 0;
}

typedef struct {
    s_pay_t *self;
    azo_txn_t *txn;
    msgpack_packer *pk;
    size_t plen; // of the index prefix (the id follows it)
    const char *after;
    uint32_t n, max;
    bool more;
    char last[PAY_ID_MAX];
} s_list_t;

static int
s_each_list(const void *key, size_t klen, const void *val, size_t vlen,
            void *arg)
{
    (void)val;
    (void)vlen;
    s_list_t *l = arg;
    char id[PAY_ID_MAX];
    size_t n = klen - l->plen;
    if (n == 0 || n >= sizeof id)
        return 0;
    memcpy(id, (const char *)key + l->plen, n);
    id[n] = 0;
    if (l->after && strcmp(id, l->after) <= 0)
        return 0;
    if (l->n == l->max) {
        l->more = true;
        return 1;
    }
    pay_rec_t rec;
    if (pay_led_get(l->self->led, l->txn, id, &rec) != 0)
        return 0;
    s_pack_summary(l->pk, &rec);
    snprintf(l->last, sizeof l->last, "%s", id);
    l->n++;
    return 0;
}

static int
s_cmd_list(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_pay_t *self = selfp;
    const char *bad = azo_req_unknown_arg(req, "status,after,limit");
    if (bad)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "unknown argument '%s' (known: status, after, "
                              "limit)",
                              bad);
    const char *st = azo_req_str(req, "status");
    if (azo_req_arg(req, "status") && (!st || pay_status_parse(st) < 0))
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "status: must be one of pending, processing, "
                              "succeeded, failed, dead");
    const char *after = azo_req_str(req, "after");
    if (azo_req_arg(req, "after") && (!after || !pay_id_ok(after)))
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "after: must be a payment id");
    int64_t limit = 100;
    if (azo_req_int(req, "limit", &limit) == AZO_EBADREQ || limit < 1 ||
        limit > S_PAGE)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "limit: must be an integer 1..%d", S_PAGE);
    char prefix[32], from[PAY_ID_MAX + 32];
    size_t plen = st ? (size_t)snprintf(prefix, sizeof prefix, "x/%s/", st)
                     : (size_t)snprintf(prefix, sizeof prefix, "p/");
    size_t flen =
        after ? (size_t)snprintf(from, sizeof from, "%s%s", prefix, after) : 0;
    azo_txn_t *txn = NULL;
    int rc = azo_store_begin(azo_actor_store(self->actor), false, &txn);
    if (rc < 0)
        return azo_reply_fail(reply, rc, "ledger: %s", azo_err_str(rc));
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 4);
    msgpack_pack_str_with_body(pk, "payments", 8);
    size_t at = azo_pack_array_open(pk);
    s_list_t l = {self, txn, pk, plen, after, 0, (uint32_t)limit, false, ""};
    rc = azo_txn_each_from(txn, azo_actor_db(self->actor), prefix, plen, from,
                           flen, s_each_list, &l);
    azo_pack_array_close(pk, at, l.n);
    azo_pack_kint(pk, "count", l.n);
    azo_pack_kbool(pk, "more", l.more);
    azo_pack_kstr(pk, "next_after", l.more ? l.last : NULL);
    azo_store_abort(&txn);
    return rc < 0 ? azo_reply_fail(reply, rc, "ledger: %s", azo_err_str(rc))
                  : 0;
}

typedef struct {
    azo_txn_t *txn;
    msgpack_packer *pk;
    int n;
} s_cur_t;

static int
s_each_recovered(const void *key, size_t klen, const void *val, size_t vlen,
                 void *arg)
{
    s_cur_t *c = arg;
    if (klen != 5 || vlen != 8)
        return 0;
    azo_pack_strn(c->pk, (const char *)key + 2, 3);
    msgpack_pack_int64(c->pk, (int64_t)pay_led_get_be64(val));
    c->n++;
    return 0;
}

static int
s_cmd_stats(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_pay_t *self = selfp;
    const char *bad = azo_req_unknown_arg(req, "");
    if (bad)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "unknown argument '%s' (pay.stats takes none)",
                              bad);
    const pay_meta_t *m = pay_led_meta(self->led);
    int64_t total = 0;
    for (int i = 0; i < PAY_ST_COUNT_; i++)
        total += m->count[i];
    azo_txn_t *txn = NULL;
    int rc = azo_store_begin(azo_actor_store(self->actor), false, &txn);
    if (rc < 0)
        return azo_reply_fail(reply, rc, "ledger: %s", azo_err_str(rc));
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 9);
    msgpack_pack_str_with_body(pk, "count", 5);
    msgpack_pack_map(pk, PAY_ST_COUNT_);
    for (int i = 0; i < PAY_ST_COUNT_; i++)
        azo_pack_kint(pk, pay_status_name(i), m->count[i]);
    azo_pack_kint(pk, "total", total);
    int64_t ended = m->count[PAY_SUCCEEDED] + m->count[PAY_DEAD];
    msgpack_pack_str_with_body(pk, "success_rate", 12);
    if (ended)
        msgpack_pack_double(pk,
                            (double)m->count[PAY_SUCCEEDED] / (double)ended);
    else
        msgpack_pack_nil(pk);
    azo_pack_kint(pk, "recovered", m->recovered);
    msgpack_pack_str_with_body(pk, "recovered_amount", 16);
    size_t at = azo_pack_map_open(pk);
    s_cur_t c = {txn, pk, 0};
    rc = azo_txn_each(txn, azo_actor_db(self->actor), "r/", 2, s_each_recovered,
                      &c);
    azo_pack_map_close(pk, at, (uint32_t)c.n);
    azo_pack_kint(pk, "inflight", (int64_t)zhashx_size(self->inflight));
    // Since this instance started: the gateway calls' transitions and the
    // commits that made them durable (several per commit under load).
    msgpack_pack_str_with_body(pk, "batches", 7);
    msgpack_pack_map(pk, 2);
    azo_pack_kint(pk, "commits", self->commits);
    azo_pack_kint(pk, "transitions", self->transitions);
    azo_pack_kuint(pk, "last_seq", m->seq);
    azo_pack_kstr(pk, "gateway",
                  azo_config_str(azo_actor_config(self->actor),
                                 "actors/payment-recovery/gateway"));
    azo_store_abort(&txn);
    return rc < 0 ? azo_reply_fail(reply, rc, "ledger: %s", azo_err_str(rc))
                  : 0;
}

typedef struct {
    msgpack_packer *pk;
    uint32_t n, max;
    bool more;
    uint64_t last;
} s_evs_t;

static int
s_each_event(const void *key, size_t klen, const void *val, size_t vlen,
             void *arg)
{
    s_evs_t *e = arg;
    if (klen != 10)
        return 0;
    if (e->n == e->max) {
        e->more = true;
        return 1;
    }
    if (azo_mp_check(val, vlen, NULL, 0) != 0)
        return 0; // corrupt: skipped (its seq is missing from the answer)
    (void)e->pk->callback(e->pk->data, val, vlen);
    e->last = pay_led_get_be64((const unsigned char *)key + 2);
    e->n++;
    return 0;
}

static int
s_cmd_events(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_pay_t *self = selfp;
    const char *bad = azo_req_unknown_arg(req, "since,limit");
    if (bad)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "unknown argument '%s' (known: since, limit)",
                              bad);
    int64_t since = 0, limit = S_PAGE;
    if (azo_req_int(req, "since", &since) == AZO_EBADREQ || since < 0)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "since: must be an event sequence number >= 0");
    if (azo_req_int(req, "limit", &limit) == AZO_EBADREQ || limit < 1 ||
        limit > S_PAGE)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "limit: must be an integer 1..%d", S_PAGE);
    const pay_meta_t *m = pay_led_meta(self->led);
    azo_txn_t *txn = NULL;
    int rc = azo_store_begin(azo_actor_store(self->actor), false, &txn);
    if (rc < 0)
        return azo_reply_fail(reply, rc, "ledger: %s", azo_err_str(rc));
    unsigned char from[10] = {'e', '/'};
    pay_led_be64(from + 2, (uint64_t)since + 1);
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 6);
    msgpack_pack_str_with_body(pk, "events", 6);
    size_t at = azo_pack_array_open(pk);
    s_evs_t e = {pk, 0, (uint32_t)limit, false, (uint64_t)since};
    rc = azo_txn_each_from(txn, azo_actor_db(self->actor), "e/", 2, from, 10,
                           s_each_event, &e);
    azo_pack_array_close(pk, at, e.n);
    azo_pack_kuint(pk, "last", e.last);
    azo_pack_kbool(pk, "more", e.more);
    azo_pack_kuint(pk, "seq", m->seq);
    azo_pack_kuint(pk, "first", m->first);
    // Events before first were pruned: a subscriber that asks for them
    // has missed some for good and should read the ledger instead.
    azo_pack_kbool(pk, "gap", m->first && (uint64_t)since + 1 < m->first);
    azo_store_abort(&txn);
    return rc < 0 ? azo_reply_fail(reply, rc, "ledger: %s", azo_err_str(rc))
                  : 0;
}

// --- acting on one payment --------------------------------------------------

// Writes rec (was old) in a batch of its own. Returns 0 or a negative code.
static int
s_write_one(s_pay_t *self, const pay_rec_t *old, pay_rec_t *rec,
            const char *cause)
{
    int rc = pay_led_begin(self->led);
    if (rc == 0)
        rc = pay_led_write(self->led, old, rec, cause, false, NULL, s_now());
    if (rc == 0)
        return pay_led_commit(self->led);
    pay_led_abort(self->led);
    return rc;
}

static int
s_cmd_retry(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_pay_t *self = selfp;
    azo_txn_t *txn = NULL;
    pay_rec_t rec;
    int rc = s_lookup(self, req, reply, "id,wait", &txn, &rec);
    azo_store_abort(&txn);
    if (rc < 0)
        return rc;
    bool wait = true;
    if (azo_req_bool(req, "wait", &wait) == AZO_EBADREQ)
        return azo_reply_fail(reply, AZO_EBADREQ, "wait: must be a boolean");
    switch (rec.status) {
    case PAY_SUCCEEDED:
        return azo_reply_fail(reply, AZO_ECONFLICT,
                              "payment '%s' already succeeded (charge %s)",
                              rec.id, rec.charge_id);
    case PAY_DEAD:
        return azo_reply_fail(reply, AZO_ECONFLICT,
                              "payment '%s' is dead (%s): pay.requeue brings "
                              "it back",
                              rec.id, rec.err_code);
    case PAY_FAILED:
        if (rec.await_method)
            return azo_reply_fail(reply, AZO_ECONFLICT,
                                  "payment '%s' was declined (%s) and awaits "
                                  "a new payment method: pay.requeue {id, "
                                  "method}",
                                  rec.id, rec.err_code);
        /* fall through */
    case PAY_PENDING:
        if (!zhashx_lookup(self->inflight, rec.id)) {
            pay_rec_t old = rec;
            rec.next_ms = s_now();
            rc = s_write_one(self, &old, &rec, "forced");
            if (rc < 0)
                return azo_reply_fail(reply, rc, "not recorded: %s",
                                      azo_err_str(rc));
        }
        break;
    default:
        break;
    }
    if (wait) {
        s_wait_t *w = calloc(1, sizeof *w);
        if (!w)
            return -ENOMEM;
        snprintf(w->id, sizeof w->id, "%s", rec.id);
        w->reply = azo_actor_defer(self->actor, reply);
        if (!w->reply || !zlistx_add_end(self->waits, w)) {
            if (w->reply) {
                azo_reply_fail(w->reply, -ENOMEM, "out of memory");
                (void)azo_actor_reply(self->actor, &w->reply);
            }
            free(w);
            return 0;
        }
    } else
        pay_rec_pack(&rec, azo_reply_result(reply));
    self->sweeping = true;
    s_sweep(self);
    return 0;
}

static int
s_cmd_requeue(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_pay_t *self = selfp;
    azo_txn_t *txn = NULL;
    pay_rec_t rec;
    int rc = s_lookup(self, req, reply, "id,method", &txn, &rec);
    azo_store_abort(&txn);
    if (rc < 0)
        return rc;
    const char *method = azo_req_str(req, "method");
    if (azo_req_arg(req, "method") &&
        (!method || !method[0] || strlen(method) >= PAY_ID_MAX))
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "method: must be a string of 1..128 bytes");
    if (!(rec.status == PAY_DEAD ||
          (rec.status == PAY_FAILED && rec.await_method)))
        return azo_reply_fail(reply, AZO_ECONFLICT,
                              "payment '%s' is %s: only a dead payment, or "
                              "one awaiting a new payment method, is "
                              "requeued",
                              rec.id, pay_status_name(rec.status));
    // Refused for good by the gateway (a 4xx other than 409/429): the key
    // would replay the refusal.
    bool refused =
        rec.await_method ||
        (!rec.maybe_charged && rec.err_http >= 400 && rec.err_http < 500 &&
         rec.err_http != 409 && rec.err_http != 429 && rec.err_http != 401 &&
         rec.err_http != 403);
    pay_rec_t old = rec;
    const char *cause = "requeued";
    if (method && strcmp(method, rec.method) != 0) {
        if (rec.maybe_charged)
            return azo_reply_fail(reply, AZO_ECONFLICT,
                                  "payment '%s': the outcome of its last "
                                  "attempt is unknown, so it may have been "
                                  "charged: requeue it without a new method "
                                  "first (the same key will tell)",
                                  rec.id);
        // New parameters need a new key; the old one was answered for good.
        snprintf(rec.method, sizeof rec.method, "%s", method);
        s_new_ikey(rec.ikey);
        cause = "requeued_new_method";
    } else if (refused)
        return azo_reply_fail(reply, AZO_ECONFLICT,
                              "payment '%s' was refused by the gateway (%s): "
                              "the same key would replay the refusal; "
                              "requeue it with a new method",
                              rec.id, rec.err_code);
    rec.status = PAY_FAILED;
    rec.await_method = false;
    rec.attempts = 0;
    rec.next_ms = s_now();
    rc = s_write_one(self, &old, &rec, cause);
    if (rc < 0)
        return azo_reply_fail(reply, rc, "not recorded: %s", azo_err_str(rc));
    pay_rec_pack(&rec, azo_reply_result(reply));
    self->sweeping = true;
    s_sweep(self);
    return 0;
}

static int
s_cmd_sweep(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_pay_t *self = selfp;
    const char *bad = azo_req_unknown_arg(req, "");
    if (bad)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "unknown argument '%s' (pay.sweep takes none)",
                              bad);
    size_t before = zhashx_size(self->inflight);
    self->sweeping = true;
    s_sweep(self);
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 3);
    azo_pack_kint(pk, "started",
                  (int64_t)(zhashx_size(self->inflight) - before));
    azo_pack_kint(pk, "inflight", (int64_t)zhashx_size(self->inflight));
    azo_pack_kbool(pk, "store_blocked", zclock_mono() < self->blocked_until);
    return 0;
}

// --- life --------------------------------------------------------------------

static const azo_cfg_key_t s_keys[] = {
    {"gateway", AZO_CFG_ENUM, "sandbox", 0, 0, "sandbox|http",
     "sandbox: built in, outcome by payment method token; http: a "
     "Stripe-style API"},
    {"url", AZO_CFG_STR, NULL, 0, 0, NULL,
     "http: the API base URL (charges go to URL/v1/charges)"},
    {"key_file", AZO_CFG_STR, NULL, 0, 0, NULL,
     "http: file holding the bearer API key (never logged)"},
    {"key_env", AZO_CFG_STR, NULL, 0, 0, NULL,
     "http: environment variable holding the API key"},
    {"timeout", AZO_CFG_DURATION, "10s", 10, 600000, NULL,
     "per gateway request"},
    {"connect_timeout", AZO_CFG_DURATION, "3s", 10, 600000, NULL,
     "per connection"},
    {"max_inflight", AZO_CFG_INT, "64", 1, 4096, NULL,
     "gateway requests in flight at once"},
    {"max_attempts", AZO_CFG_INT, "5", 1, 1000, NULL,
     "attempts before a payment is dead"},
    {"unknown_attempts", AZO_CFG_INT, "3", 0, 1000, NULL,
     "extra attempts, same key, when the last outcome is unknown"},
    {"backoff_base", AZO_CFG_DURATION, "1s", 1, 86400000, NULL,
     "delay after the 1st failure"},
    {"backoff_factor", AZO_CFG_REAL, "2", 1, 100, NULL,
     "delay multiplier per further failure"},
    {"backoff_cap", AZO_CFG_DURATION, "1h", 1, 604800000, NULL,
     "longest delay"},
    {"backoff_jitter", AZO_CFG_REAL, "0", 0, 1, NULL,
     "spread of each delay, +/- this fraction"},
    {"auth_backoff", AZO_CFG_DURATION, "1m", 1000, 86400000, NULL,
     "wait after the gateway refused our credentials (no attempt counted)"},
    {"on_decline", AZO_CFG_ENUM, "dead", 0, 0, "dead|wait",
     "hard decline: dead, or failed awaiting a new payment method"},
    {"sweep", AZO_CFG_ENUM, "auto", 0, 0, "auto|trigger",
     "auto: retry when due; trigger: only on pay.sweep (the scheduler)"},
    {"events_kept", AZO_CFG_INT, "100000", 1, 100000000, NULL,
     "newest events kept for pay.events"},
    {"commit_window", AZO_CFG_DURATION, "2ms", 0, 1000, NULL,
     "answers arriving within this long share one durable commit"},
    {"sandbox_latency", AZO_CFG_DURATION, "0", 0, 60000, NULL,
     "sandbox: answer after this long"},
};

static int
s_check(const azo_config_t *cfg, const char *base, char *err, size_t errlen)
{
    char k[128];
    snprintf(k, sizeof k, "%s/gateway", base);
    const char *gw = azo_config_str(cfg, k);
    snprintf(k, sizeof k, "%s/url", base);
    const char *url = azo_config_str(cfg, k);
    if (gw && strcmp(gw, "http") == 0 &&
        (!url ||
         (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)))
        return azo_config_fail(cfg, url ? k : base, err, errlen,
                               "gateway = http needs url = http(s)://...");
    return 0;
}

// Reads the API key from key_file or key_env into key[cap]. Returns 0, or
// -1 with err set (never the key itself).
static int
s_api_key(const azo_config_t *cfg, char *key, size_t cap, char *err,
          size_t errlen)
{
    key[0] = 0;
    const char *file = azo_config_str(cfg, "actors/payment-recovery/key_file");
    const char *env = azo_config_str(cfg, "actors/payment-recovery/key_env");
    if (file) {
        FILE *f = fopen(file, "r");
        if (!f) {
            snprintf(err, errlen, "key_file %s: %s", file, strerror(errno));
            return -1;
        }
        size_t n = fread(key, 1, cap - 1, f);
        fclose(f);
        key[n] = 0;
    } else if (env) {
        const char *v = getenv(env);
        if (!v) {
            snprintf(err, errlen, "key_env %s: not set", env);
            return -1;
        }
        snprintf(key, cap, "%s", v);
    } else
        return 0;
    size_t n = strlen(key);
    while (n && (key[n - 1] == '\n' || key[n - 1] == '\r' ||
                 key[n - 1] == ' ' || key[n - 1] == '\t'))
        key[--n] = 0;
    if (!n) {
        snprintf(err, errlen, "%s: the API key is empty",
                 file ? "key_file" : "key_env");
        return -1;
    }
    return 0;
}

typedef struct {
    zlistx_t *ids;
    size_t plen;
} s_resume_t;

static int
s_each_processing(const void *key, size_t klen, const void *val, size_t vlen,
                  void *arg)
{
    (void)val;
    (void)vlen;
    s_resume_t *r = arg;
    char id[PAY_ID_MAX];
    size_t n = klen - r->plen;
    if (n == 0 || n >= sizeof id)
        return 0;
    memcpy(id, (const char *)key + r->plen, n);
    id[n] = 0;
    return zlistx_add_end(r->ids, strdup(id)) ? 0 : -ENOMEM;
}

static void
s_free_item(void **item)
{
    free(*item);
    *item = NULL;
}

static void
s_fini(void *selfp)
{
    s_pay_t *self = selfp;
    if (!self)
        return;
    self->stopping = true;
    pay_gw_destroy(&self->gw); // answers in flight: resent at next start
    if (self->ndone && self->led)
        s_flush(self); // answers that came but were not committed yet
    pay_led_destroy(&self->led);
    zhashx_destroy(&self->inflight);
    zlistx_destroy(&self->subs);
    zlistx_destroy(&self->waits);
    zlistx_destroy(&self->resume);
    free(self->done);
    free(self);
}

static int
s_init(azo_actor_t *actor, void **self_p)
{
    s_pay_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    self->actor = actor;
    azo_ratelog_init(&self->rl, 10000);
    const azo_config_t *cfg = azo_actor_config(actor);
#define S_K(key) "actors/payment-recovery/" key
    self->max_inflight = (int)azo_config_int(cfg, S_K("max_inflight"), 64);
    self->max_attempts = (int)azo_config_int(cfg, S_K("max_attempts"), 5);
    self->unknown_extra = (int)azo_config_int(cfg, S_K("unknown_attempts"), 3);
    self->timeout_ms = azo_config_ms(cfg, S_K("timeout"), 10000);
    self->base_ms = azo_config_ms(cfg, S_K("backoff_base"), 1000);
    self->factor = azo_config_real(cfg, S_K("backoff_factor"), 2);
    self->cap_ms = azo_config_ms(cfg, S_K("backoff_cap"), 3600000);
    self->jitter = azo_config_real(cfg, S_K("backoff_jitter"), 0);
    self->auth_ms = azo_config_ms(cfg, S_K("auth_backoff"), 60000);
    self->window_ms = azo_config_ms(cfg, S_K("commit_window"), 2);
    const char *od = azo_config_str(cfg, S_K("on_decline"));
    self->decline_waits = od && strcmp(od, "wait") == 0;
    const char *sw = azo_config_str(cfg, S_K("sweep"));
    self->auto_sweep = !sw || strcmp(sw, "auto") == 0;
    const char *gwkind = azo_config_str(cfg, S_K("gateway"));
    char key[4096], err[512] = "";
    int rc = s_api_key(cfg, key, sizeof key, err, sizeof err);
    pay_gw_opts_t opts = {
        .kind = gwkind ? gwkind : "sandbox",
        .url = azo_config_str(cfg, S_K("url")),
        .api_key = key[0] ? key : NULL,
        .timeout_ms = self->timeout_ms,
        .connect_timeout_ms = azo_config_ms(cfg, S_K("connect_timeout"), 3000),
        .max_conns = self->max_inflight,
        .sandbox_latency_ms = azo_config_ms(cfg, S_K("sandbox_latency"), 0),
    };
    if (rc == 0)
        rc = pay_gw_new(&self->gw, azo_actor_loop(actor), &opts, err,
                        sizeof err);
    explicit_bzero(key, sizeof key);
    if (rc == 0)
        rc = pay_led_open(
            &self->led, azo_actor_store(actor), azo_actor_db(actor),
            azo_config_int(cfg, S_K("events_kept"), 100000), err, sizeof err);
#undef S_K
    self->inflight = zhashx_new();
    self->subs = zlistx_new();
    self->waits = zlistx_new();
    self->resume = zlistx_new();
    if (rc == 0 &&
        (!self->inflight || !self->subs || !self->waits || !self->resume))
        rc = -ENOMEM;
    if (rc == 0) {
        zhashx_set_destructor(self->inflight, s_free_item);
        zlistx_set_destructor(self->subs, s_sub_free);
        zlistx_set_destructor(self->waits, s_free_item);
        zlistx_set_destructor(self->resume, s_free_item);
        // Payments found processing: their calls' outcomes are unknown;
        // the first sweep sends them again with the same keys.
        azo_txn_t *txn = NULL;
        s_resume_t r = {self->resume, strlen("x/processing/")};
        rc = azo_store_begin(azo_actor_store(actor), false, &txn);
        if (rc == 0)
            rc = azo_txn_each(txn, azo_actor_db(actor), "x/processing/", r.plen,
                              s_each_processing, &r);
        azo_store_abort(&txn);
        if (rc < 0)
            snprintf(err, sizeof err, "ledger: %s", azo_err_str(rc));
    }
    if (rc < 0) {
        zsys_error("payment-recovery: %s", err[0] ? err : azo_err_str(rc));
        s_fini(self);
        return rc;
    }
    if (zlistx_size(self->resume))
        zsys_notice("payment-recovery: %zu payments were in flight at the "
                    "gateway: sending them again with their keys",
                    zlistx_size(self->resume));
    s_arm_sweep(self, 0);
    *self_p = self;
    return 0;
}

static const azo_cmd_entry_t s_cmds[] = {
    {"pay.submit", s_cmd_submit},   {"pay.get", s_cmd_get},
    {"pay.list", s_cmd_list},       {"pay.retry", s_cmd_retry},
    {"pay.requeue", s_cmd_requeue}, {"pay.sweep", s_cmd_sweep},
    {"pay.stats", s_cmd_stats},     {"pay.events", s_cmd_events},
};

const azo_actor_def_t azo_pay_def = {
    .name = "payment-recovery",
    .prefix = "pay.",
    .init = s_init,
    .fini = s_fini,
    .cmds = s_cmds,
    .ncmds = sizeof s_cmds / sizeof s_cmds[0],
    .keys = s_keys,
    .nkeys = sizeof s_keys / sizeof s_keys[0],
    .check = s_check,
};
