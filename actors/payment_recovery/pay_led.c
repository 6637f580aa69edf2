// pay_led — the payment ledger in LMDB. See pay_led.h for the keys.
#include "pay_led.h"

#include "azo_err.h"
#include "azo_mp.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

struct pay_led {
    azo_store_t *store;
    int db;
    int64_t events_kept;
    pay_meta_t meta; // committed
    pay_meta_t next; // within the open batch
    azo_txn_t *txn;
    pay_ev_t *evs; // the batch's events
    size_t nevs, capevs;
    msgpack_sbuffer sb;
};

void
pay_led_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

uint64_t
pay_led_get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

size_t
pay_led_due_key(char *key, int64_t ms, const char *id)
{
    size_t n = strlen(id);
    key[0] = 'd';
    key[1] = '/';
    pay_led_be64((unsigned char *)key + 2, (uint64_t)(ms < 0 ? 0 : ms));
    memcpy(key + 10, id, n);
    return 10 + n;
}

bool
pay_led_due_split(const void *key, size_t klen, int64_t *ms, char *id)
{
    const char *k = key;
    if (klen <= 10 || klen - 10 >= PAY_ID_MAX || k[0] != 'd' || k[1] != '/')
        return false;
    *ms = (int64_t)pay_led_get_be64((const unsigned char *)k + 2);
    memcpy(id, k + 10, klen - 10);
    id[klen - 10] = 0;
    return true;
}

static size_t
s_key(char *key, size_t cap, char kind, const char *id)
{
    return (size_t)snprintf(key, cap, "%c/%s", kind, id);
}

static size_t
s_xkey(char *key, size_t cap, int st, const char *id)
{
    return (size_t)snprintf(key, cap, "x/%s/%s", pay_status_name(st), id);
}

// --- counters -------------------------------------------------------------

static void
s_meta_pack(const pay_meta_t *m, msgpack_packer *pk)
{
    msgpack_pack_map(pk, PAY_ST_COUNT_ + 3);
    for (int i = 0; i < PAY_ST_COUNT_; i++)
        azo_pack_kint(pk, pay_status_name(i), m->count[i]);
    azo_pack_kint(pk, "recovered", m->recovered);
    azo_pack_kuint(pk, "seq", m->seq);
    azo_pack_kuint(pk, "first", m->first);
}

static int
s_meta_unpack(pay_meta_t *m, const msgpack_object *o)
{
    memset(m, 0, sizeof *m);
    int64_t v;
    for (int i = 0; i < PAY_ST_COUNT_; i++) {
        if (azo_mp_int(azo_mp_get(o, pay_status_name(i)), &v) || v < 0)
            return AZO_EBADREQ;
        m->count[i] = v;
    }
    if (azo_mp_int(azo_mp_get(o, "recovered"), &m->recovered) ||
        azo_mp_int(azo_mp_get(o, "seq"), &v) || v < 0)
        return AZO_EBADREQ;
    m->seq = (uint64_t)v;
    if (azo_mp_int(azo_mp_get(o, "first"), &v) || v < 0)
        return AZO_EBADREQ;
    m->first = (uint64_t)v;
    return 0;
}

typedef struct {
    pay_meta_t *m;
    int bad;
} s_count_t;

static int
s_count_one(const void *key, size_t klen, const void *val, size_t vlen,
            void *arg)
{
    (void)key;
    (void)klen;
    s_count_t *c = arg;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 2048);
    msgpack_object obj;
    pay_rec_t rec;
    if (azo_mp_check(val, vlen, NULL, 0) == 0 &&
        azo_mp_unpack(val, vlen, &zone, &obj) == 0 &&
        pay_rec_unpack(&rec, &obj, NULL, 0) == 0) {
        c->m->count[rec.status]++;
        if (rec.status == PAY_SUCCEEDED && rec.recovering)
            c->m->recovered++;
    } else
        c->bad++;
    msgpack_zone_destroy(&zone);
    return 0;
}

// The event log's bounds, when the counters were lost.
static int
s_last_seq(const void *key, size_t klen, const void *val, size_t vlen,
           void *arg)
{
    (void)val;
    (void)vlen;
    pay_meta_t *m = arg;
    if (klen == 10) {
        uint64_t s = pay_led_get_be64((const unsigned char *)key + 2);
        if (!m->first)
            m->first = s;
        m->seq = s;
    }
    return 0;
}

static int
s_meta_load(pay_led_t *self, char *err, size_t errlen)
{
    azo_txn_t *txn = NULL;
    int rc = azo_store_begin(self->store, true, &txn);
    if (rc < 0) {
        snprintf(err, errlen, "ledger: %s", azo_err_str(rc));
        return rc;
    }
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object obj;
    rc = azo_txn_get_mp(txn, self->db, "m", 1, &zone, &obj);
    if (rc == 0 && s_meta_unpack(&self->meta, &obj) == 0) {
        msgpack_zone_destroy(&zone);
        azo_store_abort(&txn);
        return 0;
    }
    msgpack_zone_destroy(&zone);
    // Missing or corrupt: count again from the records.
    memset(&self->meta, 0, sizeof self->meta);
    s_count_t c = {&self->meta, 0};
    rc = azo_txn_each(txn, self->db, "p/", 2, s_count_one, &c);
    if (rc == 0)
        rc = azo_txn_each(txn, self->db, "e/", 2, s_last_seq, &self->meta);
    if (c.bad)
        zsys_warning("payment-recovery: %d corrupt payment records skipped "
                     "while counting",
                     c.bad);
    if (rc == 0) {
        msgpack_sbuffer_clear(&self->sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &self->sb, msgpack_sbuffer_write);
        s_meta_pack(&self->meta, &pk);
        rc = azo_txn_put_mp(txn, self->db, "m", 1, &self->sb);
    }
    if (rc == 0)
        rc = azo_store_commit(&txn);
    azo_store_abort(&txn);
    if (rc < 0)
        snprintf(err, errlen, "ledger: cannot count the payments: %s",
                 azo_err_str(rc));
    return rc;
}

int
pay_led_open(pay_led_t **out, azo_store_t *store, int db, int64_t events_kept,
             char *err, size_t errlen)
{
    *out = NULL;
    pay_led_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    self->store = store;
    self->db = db;
    self->events_kept = events_kept < 1 ? 1 : events_kept;
    msgpack_sbuffer_init(&self->sb);
    int rc = s_meta_load(self, err, errlen);
    if (rc < 0) {
        pay_led_destroy(&self);
        return rc;
    }
    *out = self;
    return 0;
}

void
pay_led_destroy(pay_led_t **self_p)
{
    pay_led_t *self = *self_p;
    if (!self)
        return;
    azo_store_abort(&self->txn);
    free(self->evs);
    msgpack_sbuffer_destroy(&self->sb);
    free(self);
    *self_p = NULL;
}

const pay_meta_t *
pay_led_meta(const pay_led_t *self)
{
    return &self->meta;
}

int
pay_led_begin(pay_led_t *self)
{
    assert(!self->txn);
    self->nevs = 0;
    self->next = self->meta;
    return azo_store_begin(self->store, true, &self->txn);
}

azo_txn_t *
pay_led_txn(pay_led_t *self)
{
    return self->txn;
}

typedef struct {
    azo_txn_t *txn;
    int db;
    uint64_t upto; // delete events with seq < upto
    int rc;
    unsigned char keys[256][10];
    int n;
} s_prune_t;

static int
s_prune_collect(const void *key, size_t klen, const void *val, size_t vlen,
                void *arg)
{
    (void)val;
    (void)vlen;
    s_prune_t *p = arg;
    if (klen != 10 ||
        pay_led_get_be64((const unsigned char *)key + 2) >= p->upto ||
        p->n == 256)
        return 1;
    memcpy(p->keys[p->n++], key, 10);
    return 0;
}

// Drops the oldest events past events_kept, at most 256 per batch.
static int
s_prune(pay_led_t *self)
{
    pay_meta_t *m = &self->next;
    if (!m->first || m->seq - m->first + 1 <= (uint64_t)self->events_kept)
        return 0;
    s_prune_t *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->upto = m->seq - (uint64_t)self->events_kept + 1;
    int rc = azo_txn_each(self->txn, self->db, "e/", 2, s_prune_collect, p);
    for (int i = 0; rc == 0 && i < p->n; i++) {
        rc = azo_txn_del(self->txn, self->db, p->keys[i], 10);
        if (rc == AZO_ENOTFOUND)
            rc = 0;
    }
    if (rc == 0)
        m->first = p->n ? pay_led_get_be64(p->keys[p->n - 1] + 2) + 1 : p->upto;
    free(p);
    return rc;
}

int
pay_led_commit(pay_led_t *self)
{
    int rc = s_prune(self);
    if (rc == 0) {
        msgpack_sbuffer_clear(&self->sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &self->sb, msgpack_sbuffer_write);
        s_meta_pack(&self->next, &pk);
        rc = azo_txn_put_mp(self->txn, self->db, "m", 1, &self->sb);
    }
    if (rc == 0)
        rc = azo_store_commit(&self->txn);
    azo_store_abort(&self->txn);
    if (rc == 0)
        self->meta = self->next;
    else
        self->nevs = 0;
    return rc;
}

void
pay_led_abort(pay_led_t *self)
{
    azo_store_abort(&self->txn);
    self->nevs = 0;
}

size_t
pay_led_events(const pay_led_t *self, const pay_ev_t **evs)
{
    *evs = self->evs;
    return self->nevs;
}

int
pay_led_get(pay_led_t *self, azo_txn_t *txn, const char *id, pay_rec_t *rec)
{
    char key[PAY_ID_MAX + 4];
    size_t klen = s_key(key, sizeof key, 'p', id);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 2048);
    msgpack_object obj;
    int rc = azo_txn_get_mp(txn, self->db, key, klen, &zone, &obj);
    if (rc == 0) {
        char why[128];
        if (pay_rec_unpack(rec, &obj, why, sizeof why) != 0) {
            zsys_warning("payment-recovery: corrupt record %s: %s", key, why);
            rc = AZO_EINTERNAL;
        }
    }
    msgpack_zone_destroy(&zone);
    return rc;
}

static int
s_put_mp_rec(pay_led_t *self, const char *key, size_t klen,
             const pay_rec_t *rec)
{
    msgpack_sbuffer_clear(&self->sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &self->sb, msgpack_sbuffer_write);
    pay_rec_pack(rec, &pk);
    return azo_txn_put_mp(self->txn, self->db, key, klen, &self->sb);
}

static bool
s_due(const pay_rec_t *r)
{
    return r->status == PAY_PENDING || r->status == PAY_PROCESSING ||
           (r->status == PAY_FAILED && !r->await_method);
}

// Moves the indexes from old to rec.
static int
s_index(pay_led_t *self, const pay_rec_t *old, const pay_rec_t *rec)
{
    char key[PAY_LED_DUE_KEY_MAX + 32];
    size_t klen;
    int rc = 0;
    if (old && s_due(old) && !(s_due(rec) && old->next_ms == rec->next_ms)) {
        klen = pay_led_due_key(key, old->next_ms, old->id);
        rc = azo_txn_del(self->txn, self->db, key, klen);
        if (rc == AZO_ENOTFOUND)
            rc = 0;
    }
    if (rc == 0 && s_due(rec)) {
        unsigned char st = rec->status;
        klen = pay_led_due_key(key, rec->next_ms, rec->id);
        rc = azo_txn_put(self->txn, self->db, key, klen, &st, 1);
    }
    if (rc == 0 && old && old->status != rec->status) {
        klen = s_xkey(key, sizeof key, old->status, old->id);
        rc = azo_txn_del(self->txn, self->db, key, klen);
        if (rc == AZO_ENOTFOUND)
            rc = 0;
    }
    if (rc == 0 && (!old || old->status != rec->status)) {
        klen = s_xkey(key, sizeof key, rec->status, rec->id);
        rc = azo_txn_put(self->txn, self->db, key, klen, "", 0);
    }
    return rc;
}

int64_t
pay_led_recovered(pay_led_t *self, azo_txn_t *txn, const char *cur)
{
    char key[8];
    size_t klen = (size_t)snprintf(key, sizeof key, "r/%s", cur);
    const void *val;
    size_t vlen;
    if (azo_txn_get(txn, self->db, key, klen, &val, &vlen) != 0 || vlen != 8)
        return 0;
    return (int64_t)pay_led_get_be64(val);
}

static int
s_add_recovered(pay_led_t *self, const pay_rec_t *rec)
{
    char key[8];
    size_t klen = (size_t)snprintf(key, sizeof key, "r/%s", rec->currency);
    unsigned char v[8];
    pay_led_be64(v,
                 (uint64_t)(pay_led_recovered(self, self->txn, rec->currency) +
                            rec->amount));
    return azo_txn_put(self->txn, self->db, key, klen, v, 8);
}

static pay_ev_t *
s_ev_add(pay_led_t *self)
{
    if (self->nevs == self->capevs) {
        size_t cap = self->capevs ? self->capevs * 2 : 64;
        pay_ev_t *evs = realloc(self->evs, cap * sizeof *evs);
        if (!evs)
            return NULL;
        self->evs = evs;
        self->capevs = cap;
    }
    return &self->evs[self->nevs++];
}

void
pay_led_ev_fields(const pay_ev_t *ev, msgpack_packer *pk)
{
    const pay_rec_t *r = &ev->rec;
    azo_pack_kuint(pk, "seq", ev->seq);
    azo_pack_kstr(pk, "id", r->id);
    azo_pack_kstr(pk, "status", pay_status_name(r->status));
    azo_pack_kuint(pk, "attempt", r->attempts);
    azo_pack_kint(pk, "amount", r->amount);
    azo_pack_kstr(pk, "currency", r->currency);
    azo_pack_kstr(pk, "code", r->err_code);
    azo_pack_kstr(pk, "message", r->err_msg);
    azo_pack_kint(pk, "http", r->err_http);
    azo_pack_kint(pk, "next_attempt_ms", r->next_ms);
    azo_pack_kstr(pk, "charge_id", r->charge_id);
}

// The event log's value: topic, ts and the event's fields.
static void
s_ev_pack(const pay_ev_t *ev, msgpack_packer *pk)
{
    msgpack_pack_map(pk, PAY_EV_FIELDS + 2);
    azo_pack_kstr(pk, "topic", ev->topic);
    azo_pack_kint(pk, "ts", ev->ts);
    pay_led_ev_fields(ev, pk);
}

int
pay_led_write(pay_led_t *self, const pay_rec_t *old, pay_rec_t *rec,
              const char *cause, bool code_too, const char *topic, int64_t now)
{
    assert(self->txn);
    rec->updated_ms = now;
    if (!old)
        rec->created_ms = now;
    rec->trail_n = (old ? old->trail_n : 0) + 1;
    pay_meta_t *m = &self->next;
    pay_trail_t t = {.n = rec->trail_n,
                     .ts = now,
                     .from = old ? (int8_t)old->status : -1,
                     .to = rec->status,
                     .attempt = rec->attempts};
    snprintf(t.cause, sizeof t.cause, "%s", cause);
    if (code_too) {
        snprintf(t.code, sizeof t.code, "%s", rec->err_code);
        snprintf(t.msg, sizeof t.msg, "%s", rec->err_msg);
        t.http = rec->err_http;
    }
    int rc = 0;
    if (topic) {
        pay_ev_t *ev = s_ev_add(self);
        if (!ev)
            return -ENOMEM;
        ev->seq = ++m->seq;
        if (!m->first)
            m->first = ev->seq;
        ev->ts = now;
        snprintf(ev->topic, sizeof ev->topic, "%s", topic);
        ev->rec = *rec;
        t.seq = ev->seq;
        unsigned char key[10] = {'e', '/'};
        pay_led_be64(key + 2, ev->seq);
        msgpack_sbuffer_clear(&self->sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &self->sb, msgpack_sbuffer_write);
        s_ev_pack(ev, &pk);
        rc = azo_txn_put_mp(self->txn, self->db, key, 10, &self->sb);
    }
    char key[PAY_ID_MAX + 16];
    size_t klen;
    if (rc == 0) {
        klen = s_key(key, sizeof key, 't', rec->id);
        key[klen++] = '/';
        unsigned char n[8];
        pay_led_be64(n, rec->trail_n);
        memcpy(key + klen, n + 4, 4);
        klen += 4;
        msgpack_sbuffer_clear(&self->sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &self->sb, msgpack_sbuffer_write);
        pay_trail_pack(&t, &pk);
        rc = azo_txn_put_mp(self->txn, self->db, key, klen, &self->sb);
    }
    if (rc == 0) {
        klen = s_key(key, sizeof key, 'p', rec->id);
        rc = s_put_mp_rec(self, key, klen, rec);
    }
    if (rc == 0)
        rc = s_index(self, old, rec);
    if (rc == 0 && rec->status == PAY_SUCCEEDED && rec->recovering &&
        !(old && old->status == PAY_SUCCEEDED)) {
        m->recovered++;
        rc = s_add_recovered(self, rec);
    }
    if (rc == 0) {
        if (old)
            m->count[old->status]--;
        m->count[rec->status]++;
    }
    return rc;
}
