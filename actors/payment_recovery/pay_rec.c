// pay_rec — a payment of the ledger: submission checks, record and trail
// codecs, backoff. See pay_rec.h.
#include "pay_rec.h"

#include "azo_err.h"
#include "azo_mp.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const s_status[PAY_ST_COUNT_] = {
    "pending", "processing", "succeeded", "failed", "dead"};

const char *
pay_status_name(int st)
{
    return st >= 0 && st < PAY_ST_COUNT_ ? s_status[st] : "?";
}

int
pay_status_parse(const char *s)
{
    for (int i = 0; s && i < PAY_ST_COUNT_; i++)
        if (strcmp(s, s_status[i]) == 0)
            return i;
    return -1;
}

// Active ISO-4217 alphabetic codes (list one, 2024), sorted.
static const char s_iso4217[] =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND "
    "BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU "
    "CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS "
    "GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY "
    "KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA "
    "MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD "
    "OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK "
    "SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD "
    "TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU "
    "XBA XBB XBC XBD XCD XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG ZWL";

bool
pay_currency_ok(const char *s)
{
    if (!s || strlen(s) != 3)
        return false;
    for (int i = 0; i < 3; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return false;
    for (const char *p = s_iso4217;; p += 4) { // "AED AFN ... ZWL"
        if (memcmp(p, s, 3) == 0)
            return true;
        if (!p[3])
            return false;
    }
}

bool
pay_id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= PAY_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
              c == '-'))
            return false;
    }
    return true;
}

// Copies string object o into dst[dstlen]: 1..dstlen-1 bytes of UTF-8
// without NUL (or 0.. when empty_ok). Returns 0 or AZO_EBADREQ.
static int
s_str(const msgpack_object *o, char *dst, size_t dstlen, bool empty_ok)
{
    if (!o || o->type != MSGPACK_OBJECT_STR)
        return AZO_EBADREQ;
    uint32_t n = o->via.str.size;
    if ((!empty_ok && n == 0) || n >= dstlen || memchr(o->via.str.ptr, 0, n) ||
        !azo_mp_utf8_ok(o->via.str.ptr, n))
        return AZO_EBADREQ;
    memcpy(dst, o->via.str.ptr, n);
    dst[n] = 0;
    return 0;
}

static const char *const s_submit_keys[] = {
    "id",     "amount", "currency",    "customer", "method",
    "status", "error",  "description", NULL};

static int
s_error_arg(pay_rec_t *rec, const msgpack_object *e, char *err, size_t errlen)
{
    if (e->type != MSGPACK_OBJECT_MAP)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "error: must be a map {code, message, http}");
    for (uint32_t i = 0; i < e->via.map.size; i++) {
        const msgpack_object_kv *kv = &e->via.map.ptr[i];
        int64_t v;
        if (azo_mp_str_eq(&kv->key, "code")) {
            if (s_str(&kv->val, rec->err_code, sizeof rec->err_code, false))
                return azo_err_set(err, errlen, AZO_EBADREQ,
                                   "error.code: must be a string of "
                                   "1..63 bytes");
        } else if (azo_mp_str_eq(&kv->key, "message")) {
            if (s_str(&kv->val, rec->err_msg, sizeof rec->err_msg, true))
                return azo_err_set(err, errlen, AZO_EBADREQ,
                                   "error.message: must be a string "
                                   "of at most 255 bytes");
        } else if (azo_mp_str_eq(&kv->key, "http")) {
            if (azo_mp_int(&kv->val, &v) || v < 0 || v > 999)
                return azo_err_set(err, errlen, AZO_EBADREQ,
                                   "error.http: must be an integer 0..999");
            rec->err_http = (int)v;
        } else
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "error: unknown field (expected code, message, "
                               "http)");
    }
    return 0;
}

int
pay_rec_from_args(pay_rec_t *rec, const msgpack_object *args, char *err,
                  size_t errlen)
{
    memset(rec, 0, sizeof *rec);
    if (!args || args->type != MSGPACK_OBJECT_MAP)
        return azo_err_set(err, errlen, AZO_EBADREQ, "args: must be a map");
    for (uint32_t i = 0; i < args->via.map.size; i++) {
        const msgpack_object *k = &args->via.map.ptr[i].key;
        bool known = false;
        for (int j = 0; s_submit_keys[j] && !known; j++)
            known = azo_mp_str_eq(k, s_submit_keys[j]);
        if (!known) {
            char name[64];
            azo_mp_clean_text(name, sizeof name, k->via.str.ptr,
                              k->type == MSGPACK_OBJECT_STR ? k->via.str.size
                                                            : 0);
            return azo_err_set(
                err, errlen, AZO_EBADREQ,
                "%s: unknown field (expected id, amount, currency, "
                "customer, method, status, error, description)",
                name);
        }
    }
    const msgpack_object *o = azo_mp_get(args, "id");
    if (!o)
        return azo_err_set(err, errlen, AZO_EBADREQ, "id: missing");
    if (s_str(o, rec->id, sizeof rec->id, false) || !pay_id_ok(rec->id))
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "id: must be a string of 1..128 of "
                           "A-Z a-z 0-9 _ . : -");
    if (!(o = azo_mp_get(args, "amount")))
        return azo_err_set(err, errlen, AZO_EBADREQ, "amount: missing");
    if (azo_mp_int(o, &rec->amount) || rec->amount <= 0 ||
        rec->amount > PAY_AMOUNT_MAX)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "amount: must be a positive integer of minor units "
                           "(at most 10^14)");
    if (!(o = azo_mp_get(args, "currency")))
        return azo_err_set(err, errlen, AZO_EBADREQ, "currency: missing");
    if (s_str(o, rec->currency, sizeof rec->currency, false))
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "currency: must be an ISO-4217 code");
    for (int i = 0; rec->currency[i]; i++)
        if (rec->currency[i] >= 'a' && rec->currency[i] <= 'z')
            rec->currency[i] = (char)(rec->currency[i] - 'a' + 'A');
    if (!pay_currency_ok(rec->currency))
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "currency: '%s' is not an ISO-4217 currency code",
                           rec->currency);
    if (!(o = azo_mp_get(args, "customer")))
        return azo_err_set(err, errlen, AZO_EBADREQ, "customer: missing");
    if (s_str(o, rec->customer, sizeof rec->customer, false))
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "customer: must be a string of 1..128 bytes");
    if (!(o = azo_mp_get(args, "method")))
        return azo_err_set(err, errlen, AZO_EBADREQ, "method: missing");
    if (s_str(o, rec->method, sizeof rec->method, false))
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "method: must be a string of 1..128 "
                           "bytes (a payment method reference)");
    if ((o = azo_mp_get(args, "description")) &&
        s_str(o, rec->description, sizeof rec->description, true))
        return azo_err_set(
            err, errlen, AZO_EBADREQ,
            "description: must be a string of at most 255 bytes");
    rec->status = PAY_PENDING;
    if ((o = azo_mp_get(args, "status"))) {
        if (azo_mp_str_eq(o, "failed"))
            rec->status = PAY_FAILED;
        else if (!azo_mp_str_eq(o, "pending"))
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "status: must be \"pending\" (to process) or "
                               "\"failed\" (to recover)");
    }
    if ((o = azo_mp_get(args, "error"))) {
        if (rec->status != PAY_FAILED)
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "error: only with status \"failed\"");
        int rc = s_error_arg(rec, o, err, errlen);
        if (rc)
            return rc;
    }
    rec->recovering = rec->status == PAY_FAILED;
    return 0;
}

// --- the record --------------------------------------------------------

#define S_REC_FIELDS 24

void
pay_rec_pack(const pay_rec_t *rec, msgpack_packer *pk)
{
    msgpack_pack_map(pk, S_REC_FIELDS);
    azo_pack_kstr(pk, "id", rec->id);
    azo_pack_kint(pk, "amount", rec->amount);
    azo_pack_kstr(pk, "currency", rec->currency);
    azo_pack_kstr(pk, "customer", rec->customer);
    azo_pack_kstr(pk, "method", rec->method);
    azo_pack_kstr(pk, "description", rec->description);
    azo_pack_kstr(pk, "idempotency_key", rec->ikey);
    azo_pack_kstr(pk, "status", pay_status_name(rec->status));
    azo_pack_kuint(pk, "attempts", rec->attempts);
    azo_pack_kuint(pk, "calls", rec->calls);
    azo_pack_kint(pk, "next_attempt_ms", rec->next_ms);
    azo_pack_kint(pk, "created_ms", rec->created_ms);
    azo_pack_kint(pk, "updated_ms", rec->updated_ms);
    azo_pack_kuint(pk, "trail_n", rec->trail_n);
    azo_pack_kbool(pk, "recovering", rec->recovering);
    azo_pack_kbool(pk, "await_method", rec->await_method);
    azo_pack_kstr(pk, "error_code", rec->err_code);
    azo_pack_kstr(pk, "error_message", rec->err_msg);
    azo_pack_kint(pk, "error_http", rec->err_http);
    azo_pack_kbool(pk, "error_unknown", rec->err_unknown);
    azo_pack_kbool(pk, "maybe_charged", rec->maybe_charged);
    azo_pack_kbool(pk, "free_retry", rec->free_retry);
    azo_pack_kstr(pk, "charge_id", rec->charge_id);
    azo_pack_kint(pk, "v", 1);
}

typedef struct {
    const msgpack_object *map;
    char *err;
    size_t errlen;
    int rc;
} s_dec_t;

static void
s_get_str(s_dec_t *d, const char *key, char *dst, size_t dstlen, bool empty)
{
    if (d->rc == 0 && s_str(azo_mp_get(d->map, key), dst, dstlen, empty))
        d->rc = azo_err_set(d->err, d->errlen, AZO_EBADREQ,
                            "field %s: not a valid string", key);
}

static int64_t
s_get_int(s_dec_t *d, const char *key, int64_t min, int64_t max)
{
    int64_t v = 0;
    const msgpack_object *o = azo_mp_get(d->map, key);
    if (d->rc == 0 && (!o || azo_mp_int(o, &v) || v < min || v > max))
        d->rc = azo_err_set(d->err, d->errlen, AZO_EBADREQ,
                            "field %s: not an integer in "
                            "range",
                            key);
    return v;
}

static bool
s_get_bool(s_dec_t *d, const char *key)
{
    const msgpack_object *o = azo_mp_get(d->map, key);
    if (d->rc == 0 && (!o || o->type != MSGPACK_OBJECT_BOOLEAN)) {
        d->rc = azo_err_set(d->err, d->errlen, AZO_EBADREQ,
                            "field %s: not a boolean", key);
        return false;
    }
    return o && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
}

int
pay_rec_unpack(pay_rec_t *rec, const msgpack_object *obj, char *err,
               size_t errlen)
{
    memset(rec, 0, sizeof *rec);
    if (!obj || obj->type != MSGPACK_OBJECT_MAP)
        return azo_err_set(err, errlen, AZO_EBADREQ, "not a map");
    s_dec_t d = {obj, err, errlen, 0};
    char st[16];
    (void)s_get_int(&d, "v", 1, 1);
    s_get_str(&d, "id", rec->id, sizeof rec->id, false);
    rec->amount = s_get_int(&d, "amount", 1, PAY_AMOUNT_MAX);
    s_get_str(&d, "currency", rec->currency, sizeof rec->currency, false);
    s_get_str(&d, "customer", rec->customer, sizeof rec->customer, false);
    s_get_str(&d, "method", rec->method, sizeof rec->method, false);
    s_get_str(&d, "description", rec->description, sizeof rec->description,
              true);
    s_get_str(&d, "idempotency_key", rec->ikey, sizeof rec->ikey, false);
    s_get_str(&d, "status", st, sizeof st, false);
    rec->attempts = (uint32_t)s_get_int(&d, "attempts", 0, UINT32_MAX);
    rec->calls = (uint32_t)s_get_int(&d, "calls", 0, UINT32_MAX);
    rec->next_ms = s_get_int(&d, "next_attempt_ms", 0, INT64_MAX);
    rec->created_ms = s_get_int(&d, "created_ms", 0, INT64_MAX);
    rec->updated_ms = s_get_int(&d, "updated_ms", 0, INT64_MAX);
    rec->trail_n = (uint32_t)s_get_int(&d, "trail_n", 0, UINT32_MAX);
    rec->recovering = s_get_bool(&d, "recovering");
    rec->await_method = s_get_bool(&d, "await_method");
    s_get_str(&d, "error_code", rec->err_code, sizeof rec->err_code, true);
    s_get_str(&d, "error_message", rec->err_msg, sizeof rec->err_msg, true);
    rec->err_http = (int)s_get_int(&d, "error_http", 0, 999);
    rec->err_unknown = s_get_bool(&d, "error_unknown");
    rec->maybe_charged = s_get_bool(&d, "maybe_charged");
    rec->free_retry = s_get_bool(&d, "free_retry");
    s_get_str(&d, "charge_id", rec->charge_id, sizeof rec->charge_id, true);
    if (d.rc == 0) {
        int s = pay_status_parse(st);
        if (s < 0 || !pay_id_ok(rec->id) || !pay_currency_ok(rec->currency))
            d.rc = azo_err_set(err, errlen, AZO_EBADREQ,
                               "bad status, id or currency");
        else
            rec->status = (uint8_t)s;
    }
    if (d.rc)
        memset(rec, 0, sizeof *rec);
    return d.rc;
}

// --- the trail ---------------------------------------------------------

void
pay_trail_pack(const pay_trail_t *t, msgpack_packer *pk)
{
    msgpack_pack_map(pk, 10);
    azo_pack_kuint(pk, "n", t->n);
    azo_pack_kint(pk, "ts", t->ts);
    azo_pack_kstr(pk, "from", t->from < 0 ? NULL : pay_status_name(t->from));
    azo_pack_kstr(pk, "to", pay_status_name(t->to));
    azo_pack_kuint(pk, "attempt", t->attempt);
    azo_pack_kuint(pk, "seq", t->seq);
    azo_pack_kstr(pk, "cause", t->cause);
    azo_pack_kstr(pk, "code", t->code);
    azo_pack_kstr(pk, "message", t->msg);
    azo_pack_kint(pk, "http", t->http);
}

int
pay_trail_unpack(pay_trail_t *t, const msgpack_object *obj, char *err,
                 size_t errlen)
{
    memset(t, 0, sizeof *t);
    if (!obj || obj->type != MSGPACK_OBJECT_MAP)
        return azo_err_set(err, errlen, AZO_EBADREQ, "not a map");
    s_dec_t d = {obj, err, errlen, 0};
    char from[16] = "", to[16];
    t->n = (uint32_t)s_get_int(&d, "n", 1, UINT32_MAX);
    t->ts = s_get_int(&d, "ts", 0, INT64_MAX);
    const msgpack_object *f = azo_mp_get(obj, "from");
    if (d.rc == 0 && !(f && f->type == MSGPACK_OBJECT_NIL))
        s_get_str(&d, "from", from, sizeof from, false);
    s_get_str(&d, "to", to, sizeof to, false);
    t->attempt = (uint32_t)s_get_int(&d, "attempt", 0, UINT32_MAX);
    t->seq = (uint64_t)s_get_int(&d, "seq", 0, INT64_MAX);
    s_get_str(&d, "cause", t->cause, sizeof t->cause, false);
    s_get_str(&d, "code", t->code, sizeof t->code, true);
    s_get_str(&d, "message", t->msg, sizeof t->msg, true);
    t->http = (int)s_get_int(&d, "http", 0, 999);
    if (d.rc == 0) {
        int a = from[0] ? pay_status_parse(from) : -1, b = pay_status_parse(to);
        if ((from[0] && a < 0) || b < 0)
            d.rc = azo_err_set(err, errlen, AZO_EBADREQ, "bad status");
        t->from = (int8_t)a;
        t->to = (uint8_t)(b < 0 ? 0 : b);
    }
    return d.rc;
}

int64_t
pay_backoff(uint32_t attempt, int64_t base, double factor, int64_t cap,
            double jitter, double r)
{
    if (attempt < 1)
        attempt = 1;
    double d = (double)base * pow(factor, (double)(attempt - 1));
    if (!(d < (double)cap)) // also catches inf and nan
        d = (double)cap;
    if (jitter > 0)
        d += d * jitter * (2 * r - 1);
    return d < 0 ? 0 : (int64_t)d;
}
