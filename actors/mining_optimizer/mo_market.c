// mo_market — validated ticks, per-coin state, EMA and outlier holding
// (see mo_market.h).
#include "mo_market.h"

#include "azo_err.h"
#include "azo_mp.h"

#include <czmq.h>
#include <errno.h>
#include <math.h>
#include <string.h>

struct mo_market {
    mo_smooth_t smooth;
    mo_mcoin_t *v;
    size_t n, cap;
    zhashx_t *index; // symbol -> position + 1
};

mo_market_t *
mo_market_new(const mo_smooth_t *smooth)
{
    mo_market_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->smooth = *smooth;
    if (!(self->index = zhashx_new())) {
        free(self);
        return NULL;
    }
    return self;
}

void
mo_market_destroy(mo_market_t **self_p)
{
    mo_market_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->index);
    free(self->v);
    free(self);
    *self_p = NULL;
}

// A number of any msgpack kind as a double. Returns false for others.
static bool
s_num(const msgpack_object *o, double *out)
{
    if (!o)
        return false;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        *out = (double)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *out = (double)o->via.i64;
    else if (o->type == MSGPACK_OBJECT_FLOAT32 ||
             o->type == MSGPACK_OBJECT_FLOAT64)
        *out = o->via.f64;
    else
        return false;
    return isfinite(*out);
}

// A name of 1..max-1 letters, digits, '.', '_' or '-' into out.
static bool
s_name(const msgpack_object *o, char *out, size_t max)
{
    if (!o || o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 ||
        o->via.str.size >= max)
        return false;
    for (uint32_t i = 0; i < o->via.str.size; i++) {
        char ch = o->via.str.ptr[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    memcpy(out, o->via.str.ptr, o->via.str.size);
    out[o->via.str.size] = 0;
    return true;
}

int
mo_tick_parse(const msgpack_object *obj, const char *where, mo_coin_t *c,
              int64_t *ts, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    *ts = 0;
    if (!obj || obj->type != MSGPACK_OBJECT_MAP)
        return azo_err_set(err, errlen, AZO_EBADREQ, "%s: expected a map",
                           where);
    if (!s_name(azo_mp_get(obj, "symbol"), c->symbol, sizeof c->symbol))
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "%s.symbol: expected 1-%zu letters, digits, '.', "
                           "'_' or '-'",
                           where, sizeof c->symbol - 1);
    if (!s_name(azo_mp_get(obj, "algorithm"), c->algo, sizeof c->algo))
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "%s.algorithm: expected 1-%zu letters, digits, "
                           "'.', '_' or '-'",
                           where, sizeof c->algo - 1);
    static const struct {
        const char *key;
        size_t off;
        bool need;
    } nums[] = {
        {"price", offsetof(mo_coin_t, price), true},
        {"block_reward", offsetof(mo_coin_t, block_reward), true},
        {"block_time", offsetof(mo_coin_t, block_time), true},
        {"net_hashrate", offsetof(mo_coin_t, net_hashrate), false},
        {"difficulty", offsetof(mo_coin_t, difficulty), false},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        const msgpack_object *o = azo_mp_get(obj, nums[i].key);
        double *dst = (double *)((char *)c + nums[i].off);
        if (!o && !nums[i].need)
            continue;
        if (!s_num(o, dst) || *dst <= 0)
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "%s.%s: expected a positive number%s", where,
                               nums[i].key, o ? "" : " (missing)");
    }
    if (c->net_hashrate <= 0 && c->difficulty <= 0)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "%s.net_hashrate: expected net_hashrate or "
                           "difficulty (a positive number)",
                           where);
    const msgpack_object *t = azo_mp_get(obj, "ts");
    if (t && (azo_mp_int(t, ts) < 0 || *ts < 0))
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "%s.ts: expected Unix milliseconds", where);
    return 0;
}

// Puts price p into m's smoothed price.
static void
s_smooth(const mo_smooth_t *s, mo_mcoin_t *m, double p)
{
    m->c.price =
        m->ticks ? s->ema_alpha * p + (1 - s->ema_alpha) * m->c.price : p;
    m->last_price = p;
}

int
mo_market_apply(mo_market_t *self, const mo_coin_t *c, int64_t ts)
{
    size_t at = (size_t)zhashx_lookup(self->index, c->symbol);
    mo_mcoin_t *m;
    if (at) {
        m = &self->v[at - 1];
    } else {
        if (self->n >= MO_COINS_MAX)
            return -E2BIG;
        if (self->n == self->cap) {
            size_t cap = self->cap ? 2 * self->cap : 64;
            mo_mcoin_t *v = realloc(self->v, cap * sizeof *v);
            if (!v)
                return -ENOMEM;
            self->v = v;
            self->cap = cap;
        }
        if (zhashx_insert(self->index, c->symbol, (void *)(self->n + 1)) != 0)
            return -ENOMEM;
        m = &self->v[self->n++];
        memset(m, 0, sizeof *m);
    }
    // Everything but the price is taken as it comes.
    double price = m->c.price;
    m->c = *c;
    m->c.price = price;
    m->ts = ts;
    const mo_smooth_t *s = &self->smooth;
    double f = s->outlier_factor, last = m->last_price;
    bool jump = f > 1 && s->outlier_confirm >= 2 && m->ticks &&
                (c->price > last * f || c->price < last / f);
    int rc = MO_TICK_ACCEPTED;
    if (!jump) {
        if (m->held_n)
            rc = MO_TICK_DROPPED;
        m->held_price = 0;
        m->held_n = 0;
        s_smooth(s, m, c->price);
    } else if (m->held_n && c->price <= m->held_price * f &&
               c->price >= m->held_price / f &&
               m->held_n + 1 >= s->outlier_confirm) {
        // Confirmed: the new level, not smoothed toward the old one.
        m->c.price = c->price;
        m->last_price = c->price;
        m->held_price = 0;
        m->held_n = 0;
        rc = MO_TICK_CONFIRMED;
    } else {
        // Each confirming tick is compared with the first of the jump, so
        // a drifting run (400, 1100, 3000) never confirms itself.
        if (m->held_n && c->price <= m->held_price * f &&
            c->price >= m->held_price / f)
            m->held_n++;
        else {
            m->held_n = 1;
            m->held_price = c->price;
        }
        m->held_total++;
        rc = MO_TICK_HELD;
    }
    m->ticks++;
    return rc;
}

size_t
mo_market_count(const mo_market_t *self)
{
    return self->n;
}

const mo_mcoin_t *
mo_market_at(const mo_market_t *self, size_t i)
{
    return i < self->n ? &self->v[i] : NULL;
}

const mo_mcoin_t *
mo_market_get(const mo_market_t *self, const char *symbol)
{
    size_t at = (size_t)zhashx_lookup(self->index, symbol);
    return at ? &self->v[at - 1] : NULL;
}

const char *
mo_tick_name(int t)
{
    switch (t) {
    case MO_TICK_ACCEPTED:
        return "accepted";
    case MO_TICK_HELD:
        return "held";
    case MO_TICK_CONFIRMED:
        return "confirmed";
    case MO_TICK_DROPPED:
        return "dropped";
    }
    return "?";
}
