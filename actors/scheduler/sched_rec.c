// sched_rec — a scheduler job's durable state and its msgpack record.
//
// The record is one map (keys in any order, all required):
//   (15 pairs) v 1, sig str, next int, interval int, failures int, paused bool,
//   runs/oks/fails/skips int, last nil|entry, last_error str,
//   inflight [[run, fired, missed, manual]...], ovr nil|[every, cron, zone,
//   base], hist [entry...] (oldest first)
// where an entry is [run, fired, ended, missed, result, manual].
#include "sched_rec.h"

#include "azo_err.h"
#include "azo_mp.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_results[SCHED_R_COUNT_] = {
    "ok",          "failed",  "timeout",  "replaced",
    "interrupted", "overlap", "deadline", "missed",
};

const char *
sched_rec_result_name(sched_result_t r)
{
    return (unsigned)r < SCHED_R_COUNT_ ? s_results[r] : "?";
}

int
sched_rec_init(sched_rec_t *rec, int hist_cap)
{
    assert(hist_cap >= 1 && hist_cap <= SCHED_REC_HIST_MAX);
    memset(rec, 0, sizeof *rec);
    rec->hist = calloc((size_t)hist_cap, sizeof *rec->hist);
    if (!rec->hist)
        return -ENOMEM;
    rec->hist_cap = hist_cap;
    return 0;
}

void
sched_rec_fini(sched_rec_t *rec)
{
    free(rec->hist);
    free(rec->ovr);
    memset(rec, 0, sizeof *rec);
}

// Empties rec, keeping its history storage.
static void
s_clear(sched_rec_t *rec)
{
    sched_hist_t *hist = rec->hist;
    int cap = rec->hist_cap;
    free(rec->ovr);
    memset(rec, 0, sizeof *rec);
    rec->hist = hist;
    rec->hist_cap = cap;
}

void
sched_rec_hist_add(sched_rec_t *rec, const sched_hist_t *h)
{
    if (rec->hist_len < rec->hist_cap) {
        rec->hist[(rec->hist_head + rec->hist_len) % rec->hist_cap] = *h;
        rec->hist_len++;
        return;
    }
    rec->hist[rec->hist_head] = *h;
    rec->hist_head = (rec->hist_head + 1) % rec->hist_cap;
}

const sched_hist_t *
sched_rec_hist_at(const sched_rec_t *rec, int i)
{
    assert(i >= 0 && i < rec->hist_len);
    return &rec->hist[(rec->hist_head + rec->hist_len - 1 - i) % rec->hist_cap];
}

// --- pack -------------------------------------------------------------------

static void
s_pack_entry(msgpack_packer *pk, const sched_hist_t *h)
{
    msgpack_pack_array(pk, 6);
    msgpack_pack_int64(pk, h->run_ms);
    msgpack_pack_int64(pk, h->fired_ms);
    msgpack_pack_int64(pk, h->ended_ms);
    msgpack_pack_int64(pk, h->missed);
    msgpack_pack_uint8(pk, h->result);
    h->manual ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
}

void
sched_rec_pack(const sched_rec_t *rec, msgpack_packer *pk)
{
    msgpack_pack_map(pk, 15);
    azo_pack_kint(pk, "v", 1);
    azo_pack_kstr(pk, "sig", rec->sig);
    azo_pack_kint(pk, "next", rec->plan.next_ms);
    azo_pack_kint(pk, "interval", rec->plan.interval_ms);
    azo_pack_kint(pk, "failures", rec->plan.failures);
    azo_pack_str(pk, "paused");
    rec->paused ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    azo_pack_kint(pk, "runs", rec->runs);
    azo_pack_kint(pk, "oks", rec->oks);
    azo_pack_kint(pk, "fails", rec->fails);
    azo_pack_kint(pk, "skips", rec->skips);
    azo_pack_str(pk, "last");
    if (rec->has_last)
        s_pack_entry(pk, &rec->last);
    else
        msgpack_pack_nil(pk);
    azo_pack_kstr(pk, "last_error", rec->last_error);
    azo_pack_str(pk, "inflight");
    msgpack_pack_array(pk, (uint32_t)rec->ninflight);
    for (int i = 0; i < rec->ninflight; i++) {
        const sched_run_t *r = &rec->inflight[i];
        msgpack_pack_array(pk, 4);
        msgpack_pack_int64(pk, r->run_ms);
        msgpack_pack_int64(pk, r->fired_ms);
        msgpack_pack_int64(pk, r->missed);
        r->manual ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    }
    azo_pack_str(pk, "ovr");
    if (rec->ovr) {
        msgpack_pack_array(pk, 4);
        msgpack_pack_int64(pk, rec->ovr->every_ms);
        azo_pack_str(pk, rec->ovr->cron);
        azo_pack_str(pk, rec->ovr->zone);
        azo_pack_str(pk, rec->ovr->base);
    } else
        msgpack_pack_nil(pk);
    azo_pack_str(pk, "hist");
    msgpack_pack_array(pk, (uint32_t)rec->hist_len);
    for (int i = rec->hist_len - 1; i >= 0; i--)
        s_pack_entry(pk, sched_rec_hist_at(rec, i));
}

// --- unpack -----------------------------------------------------------------

typedef struct {
    char *err;
    size_t errlen;
} s_ctx_t;

static int
s_int(const msgpack_object *map, const char *key, int64_t min, int64_t *out,
      s_ctx_t *c)
{
    const msgpack_object *o = azo_mp_get(map, key);
    if (!o || azo_mp_int(o, out) < 0 || *out < min)
        return azo_err_set(c->err, c->errlen, AZO_EBADREQ,
                           "%s: expected an integer >= %lld", key,
                           (long long)min);
    return 0;
}

static int
s_str(const msgpack_object *o, const char *what, char *dst, size_t dstlen,
      s_ctx_t *c)
{
    if (!o || o->type != MSGPACK_OBJECT_STR || o->via.str.size >= dstlen ||
        memchr(o->via.str.ptr, 0, o->via.str.size))
        return azo_err_set(c->err, c->errlen, AZO_EBADREQ,
                           "%s: expected a string of at most %zu bytes", what,
                           dstlen - 1);
    memcpy(dst, o->via.str.ptr, o->via.str.size);
    dst[o->via.str.size] = 0;
    return 0;
}

// Reads element i of array a as an integer >= min.
static bool
s_elem_int(const msgpack_object *a, uint32_t i, int64_t min, int64_t *out)
{
    return azo_mp_int(&a->via.array.ptr[i], out) == 0 && *out >= min;
}

static bool
s_elem_bool(const msgpack_object *a, uint32_t i, bool *out)
{
    if (a->via.array.ptr[i].type != MSGPACK_OBJECT_BOOLEAN)
        return false;
    *out = a->via.array.ptr[i].via.boolean;
    return true;
}

static int
s_entry(const msgpack_object *o, const char *what, sched_hist_t *h, s_ctx_t *c)
{
    int64_t result;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 6 ||
        !s_elem_int(o, 0, 0, &h->run_ms) ||
        !s_elem_int(o, 1, 0, &h->fired_ms) ||
        !s_elem_int(o, 2, 0, &h->ended_ms) ||
        !s_elem_int(o, 3, 0, &h->missed) || !s_elem_int(o, 4, 0, &result) ||
        result >= SCHED_R_COUNT_ || !s_elem_bool(o, 5, &h->manual))
        return azo_err_set(c->err, c->errlen, AZO_EBADREQ,
                           "%s: expected [run, fired, ended, missed, result, "
                           "manual]",
                           what);
    h->result = (uint8_t)result;
    return 0;
}

static int
s_inflight(sched_rec_t *rec, const msgpack_object *o, s_ctx_t *c)
{
    if (!o || o->type != MSGPACK_OBJECT_ARRAY ||
        o->via.array.size > SCHED_REC_INFLIGHT_MAX)
        return azo_err_set(c->err, c->errlen, AZO_EBADREQ,
                           "inflight: expected an array of at most %d runs",
                           SCHED_REC_INFLIGHT_MAX);
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *a = &o->via.array.ptr[i];
        sched_run_t *r = &rec->inflight[i];
        if (a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size != 4 ||
            !s_elem_int(a, 0, 0, &r->run_ms) ||
            !s_elem_int(a, 1, 0, &r->fired_ms) ||
            !s_elem_int(a, 2, 0, &r->missed) || !s_elem_bool(a, 3, &r->manual))
            return azo_err_set(c->err, c->errlen, AZO_EBADREQ,
                               "inflight: expected [run, fired, missed, "
                               "manual]");
    }
    rec->ninflight = (int)o->via.array.size;
    return 0;
}

static int
s_ovr(sched_rec_t *rec, const msgpack_object *o, s_ctx_t *c)
{
    if (!o)
        return azo_err_set(c->err, c->errlen, AZO_EBADREQ, "ovr: missing");
    if (o->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 4)
        return azo_err_set(c->err, c->errlen, AZO_EBADREQ,
                           "ovr: expected [every, cron, zone, base]");
    if (!(rec->ovr = calloc(1, sizeof *rec->ovr)))
        return -ENOMEM;
    const msgpack_object *a = o->via.array.ptr;
    int rc;
    if (!s_elem_int(o, 0, 0, &rec->ovr->every_ms))
        return azo_err_set(c->err, c->errlen, AZO_EBADREQ,
                           "ovr: every: expected an integer >= 0");
    if ((rc = s_str(&a[1], "ovr: cron", rec->ovr->cron, sizeof rec->ovr->cron,
                    c)) < 0 ||
        (rc = s_str(&a[2], "ovr: zone", rec->ovr->zone, sizeof rec->ovr->zone,
                    c)) < 0 ||
        (rc = s_str(&a[3], "ovr: base", rec->ovr->base, sizeof rec->ovr->base,
                    c)) < 0)
        return rc;
    return 0;
}

static int
s_unpack(sched_rec_t *rec, const msgpack_object *obj, s_ctx_t *c)
{
    if (obj->type != MSGPACK_OBJECT_MAP || obj->via.map.size != 15)
        return azo_err_set(c->err, c->errlen, AZO_EBADREQ,
                           "expected a map of 15 fields");
    int64_t v, failures;
    int rc;
    if ((rc = s_int(obj, "v", 1, &v, c)) < 0)
        return rc;
    if (v != 1)
        return azo_err_set(c->err, c->errlen, AZO_EBADREQ,
                           "v: version %lld is not 1", (long long)v);
    if ((rc = s_str(azo_mp_get(obj, "sig"), "sig", rec->sig, sizeof rec->sig,
                    c)) < 0 ||
        (rc = s_int(obj, "next", 0, &rec->plan.next_ms, c)) < 0 ||
        (rc = s_int(obj, "interval", 0, &rec->plan.interval_ms, c)) < 0 ||
        (rc = s_int(obj, "failures", 0, &failures, c)) < 0 ||
        (rc = s_int(obj, "runs", 0, &rec->runs, c)) < 0 ||
        (rc = s_int(obj, "oks", 0, &rec->oks, c)) < 0 ||
        (rc = s_int(obj, "fails", 0, &rec->fails, c)) < 0 ||
        (rc = s_int(obj, "skips", 0, &rec->skips, c)) < 0 ||
        (rc = s_str(azo_mp_get(obj, "last_error"), "last_error",
                    rec->last_error, sizeof rec->last_error, c)) < 0)
        return rc;
    if (failures > 1000000000)
        return azo_err_set(c->err, c->errlen, AZO_EBADREQ,
                           "failures: out of range");
    rec->plan.failures = (int)failures;
    const msgpack_object *o = azo_mp_get(obj, "paused");
    if (!o || o->type != MSGPACK_OBJECT_BOOLEAN)
        return azo_err_set(c->err, c->errlen, AZO_EBADREQ,
                           "paused: expected a boolean");
    rec->paused = o->via.boolean;
    o = azo_mp_get(obj, "last");
    if (!o)
        return azo_err_set(c->err, c->errlen, AZO_EBADREQ, "last: missing");
    if (o->type != MSGPACK_OBJECT_NIL) {
        if ((rc = s_entry(o, "last", &rec->last, c)) < 0)
            return rc;
        rec->has_last = true;
    }
    if ((rc = s_inflight(rec, azo_mp_get(obj, "inflight"), c)) < 0 ||
        (rc = s_ovr(rec, azo_mp_get(obj, "ovr"), c)) < 0)
        return rc;
    o = azo_mp_get(obj, "hist");
    if (!o || o->type != MSGPACK_OBJECT_ARRAY)
        return azo_err_set(c->err, c->errlen, AZO_EBADREQ,
                           "hist: expected an array");
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        sched_hist_t h;
        if ((rc = s_entry(&o->via.array.ptr[i], "hist", &h, c)) < 0)
            return rc;
        sched_rec_hist_add(rec, &h);
    }
    return 0;
}

int
sched_rec_unpack(sched_rec_t *rec, const msgpack_object *obj, char *err,
                 size_t errlen)
{
    s_clear(rec);
    s_ctx_t c = {err, errlen};
    int rc = s_unpack(rec, obj, &c);
    if (rc < 0)
        s_clear(rec);
    return rc;
}
