// azo_ctl — control endpoint: ROUTER framing, pending requests, time-outs.
// Supervisor thread only.
//
// Each pending request holds the client's identity, so that the request
// body can travel to the actor that handles it untouched (no re-encoding)
// and the reply, tagged with the sequence number, finds its way back.
// Time-outs are zloop tickets: one delay for all, constant cost each.
//
// Bounded memory: a pending request holds a fixed-size entry here, and its
// body waits in the handler's inbox until answered. Requests are counted
// per client identity (a table of clients with requests pending, an entry
// gone at zero) and in all, bodies by their bytes; a request over a cap is
// answered at once, never queued. Replies never block: the ROUTER drops a
// reply whose client is gone or whose pipe is full (with or without
// ROUTER_MANDATORY, since we send with ZMQ_DONTWAIT).
#include "azo_ctl.h"
#include "azo_err.h"
#include "azo_idmap.h"
#include "azo_log.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define S_DRAIN 64 // requests handled per wakeup

// A client identity as a zhashx key: its bytes and their keyed hash.
// Clients choose their identity (ZMQ_ROUTING_ID), and zhashx grows its
// table on every lookup that meets a long chain: a hash that clients could
// make collide would let them blow the table up, hence SipHash under a
// random key of this ctl.
typedef struct {
    uint64_t hash;
    size_t len;
    const uint8_t *data; // borrowed
} s_ident_t;

// A client with requests pending; it keys itself (key.data is ident).
typedef struct {
    s_ident_t key;
    size_t pending;
    uint8_t ident[256];
} s_client_t;

typedef struct {
    azo_ctl_t *ctl;     // borrowed
    s_client_t *client; // borrowed: counts this request
    size_t bytes;       // of the body handed on, counted in ctl
    uint64_t seq;
    void *ticket; // zloop ticket of its time-out, NULL once fired
    bool has_id;
    uint64_t id;                    // the client's, for our own replies
    bool delim;                     // a REQ client: replies need ""
    char cmd[AZO_WIRE_MAX_CMD + 1]; // "" until decoded
    char handler[AZO_WIRE_MAX_CMD + 1];
    size_t ident_len;
    uint8_t ident[256];
} s_pending_t;

struct azo_ctl {
    zsock_t *router; // borrowed
    zloop_t *loop;   // borrowed, once attached
    int64_t timeout_ms;
    azo_ctl_fn *fn;
    void *arg;
    zhashx_t *pending; // seq -> s_pending_t (owned)
    zhashx_t *clients; // s_ident_t -> s_client_t (owned)
    azo_ctl_limits_t limits;
    size_t pending_bytes;
    uint64_t next_seq;
    uint64_t requests, bad, refused;
    azo_req_t req;
    azo_ratelog_t badlog;
    azo_ratelog_t limitlog;
    char overmsg[96];    // s_over_limit's answer
    uint64_t hashkey[2]; // secret key of s_siphash
};

static uint64_t
s_rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static void
s_sipround(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = s_rotl(v[1], 13) ^ v[0];
    v[0] = s_rotl(v[0], 32);
    v[2] += v[3];
    v[3] = s_rotl(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = s_rotl(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = s_rotl(v[1], 17) ^ v[2];
    v[2] = s_rotl(v[2], 32);
}

// SipHash-2-4 of data under key (Aumasson and Bernstein, 2012).
static uint64_t
s_siphash(const uint64_t key[2], const uint8_t *data, size_t len)
{
    uint64_t v[4] = {key[0] ^ 0x736f6d6570736575u, key[1] ^ 0x646f72616e646f6du,
                     key[0] ^ 0x6c7967656e657261u,
                     key[1] ^ 0x7465646279746573u};
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t m = 0;
        for (int j = 7; j >= 0; j--)
            m = m << 8 | data[i + (size_t)j];
        v[3] ^= m;
        s_sipround(v);
        s_sipround(v);
        v[0] ^= m;
    }
    uint64_t m = (uint64_t)len << 56;
    for (size_t j = 0; i + j < len; j++)
        m |= (uint64_t)data[i + j] << (8 * j);
    v[3] ^= m;
    s_sipround(v);
    s_sipround(v);
    v[0] ^= m;
    v[2] ^= 0xff;
    for (int r = 0; r < 4; r++)
        s_sipround(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static s_ident_t
s_ident(const azo_ctl_t *self, const uint8_t *data, size_t len)
{
    return (s_ident_t){s_siphash(self->hashkey, data, len), len, data};
}

static size_t
s_ident_hash(const void *key)
{
    return (size_t)((const s_ident_t *)key)->hash;
}

static int
s_ident_cmp(const void *a, const void *b)
{
    const s_ident_t *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(x->data, y->data, x->len);
}

static void
s_client_free(void **item)
{
    free(*item);
    *item = NULL;
}

// Returns the client of key, counted with one more pending request; a new
// entry if it had none. NULL if out of memory: the request then goes
// uncounted for its client.
static s_client_t *
s_client_add(azo_ctl_t *self, const s_ident_t *key)
{
    s_client_t *c = zhashx_lookup(self->clients, key);
    if (!c) {
        assert(key->len <= sizeof c->ident);
        c = calloc(1, sizeof *c);
        if (!c)
            return NULL;
        memcpy(c->ident, key->data, key->len);
        c->key = *key;
        c->key.data = c->ident;
        zhashx_insert(self->clients, &c->key, c);
    }
    c->pending++;
    return c;
}

static void
s_client_drop(azo_ctl_t *self, s_client_t *c)
{
    assert(c->pending > 0);
    if (--c->pending == 0)
        zhashx_delete(self->clients, &c->key); // frees c
}

static void
s_pending_free(void **item)
{
    s_pending_t *p = *item;
    if (p && p->ticket)
        zloop_ticket_delete(p->ctl->loop, p->ticket);
    if (p && p->client)
        s_client_drop(p->ctl, p->client);
    if (p)
        p->ctl->pending_bytes -= p->bytes;
    free(p);
    *item = NULL;
}

// A secret key for s_siphash: from the kernel, else (no entropy yet, or
// an old kernel) from what varies between runs, still unknown to clients.
static void
s_hashkey_init(uint64_t key[2])
{
    if (getrandom(key, 2 * sizeof key[0], GRND_NONBLOCK) ==
        (ssize_t)(2 * sizeof key[0]))
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    key[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15u ^ (uint64_t)getpid();
    key[1] = (uint64_t)(uintptr_t)key ^ (uint64_t)time(NULL) << 20;
}

azo_ctl_t *
azo_ctl_new(zsock_t *router, int64_t timeout_ms, azo_ctl_fn *fn, void *arg)
{
    azo_ctl_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->router = router;
    self->timeout_ms = timeout_ms;
    self->fn = fn;
    self->arg = arg;
    self->next_seq = 1;
    s_hashkey_init(self->hashkey);
    self->limits = (azo_ctl_limits_t){AZO_CTL_CLIENT_PENDING, AZO_CTL_PENDING,
                                      AZO_CTL_PENDING_BYTES};
    self->pending = azo_idmap_new();
    self->clients = zhashx_new();
    azo_ratelog_init(&self->badlog, 1000);
    azo_ratelog_init(&self->limitlog, 1000);
    if (!self->pending || !self->clients || azo_req_init(&self->req) < 0) {
        azo_ctl_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->pending, s_pending_free);
    zhashx_set_key_hasher(self->clients, s_ident_hash);
    zhashx_set_key_comparator(self->clients, s_ident_cmp);
    zhashx_set_key_duplicator(self->clients, NULL);
    zhashx_set_key_destructor(self->clients, NULL);
    zhashx_set_destructor(self->clients, s_client_free);
    return self;
}

void
azo_ctl_destroy(azo_ctl_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    azo_ctl_t *self = *self_p;
    zhashx_destroy(&self->pending); // first: its entries count in clients
    zhashx_destroy(&self->clients);
    azo_req_fini(&self->req);
    free(self);
    *self_p = NULL;
}

void
azo_ctl_set_limits(azo_ctl_t *self, const azo_ctl_limits_t *limits)
{
    assert(self && limits);
    assert(limits->client_pending >= 1 && limits->pending >= 1 &&
           limits->pending_bytes >= 1);
    self->limits = *limits;
}

static void
s_client_send(azo_ctl_t *self, const s_pending_t *p, const void *body,
              size_t len)
{
    void *raw = zsock_resolve(self->router);
    // A client that went away or stopped reading loses its reply; the
    // ROUTER drops it rather than blocking us.
    if (zmq_send(raw, p->ident, p->ident_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return;
    if (p->delim)
        (void)zmq_send(raw, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    (void)zmq_send(raw, body, len, ZMQ_DONTWAIT);
}

void
azo_ctl_reply(azo_ctl_t *self, uint64_t seq, const void *reply, size_t len)
{
    void *key = AZO_IDMAP_KEY(seq);
    s_pending_t *p = zhashx_lookup(self->pending, key);
    if (!p)
        return; // timed out already
    s_client_send(self, p, reply, len);
    zhashx_delete(self->pending, key);
}

static void
s_fail(azo_ctl_t *self, s_pending_t *p, int rc, const char *msg)
{
    azo_reply_t r;
    azo_reply_init(&r);
    azo_reply_start(&r, p->has_id, p->id);
    azo_reply_fail(&r, rc, "%s", msg);
    size_t len;
    const void *data = azo_reply_data(&r, &len);
    azo_ctl_reply(self, p->seq, data, len);
    azo_reply_fini(&r);
}

void
azo_ctl_fail(azo_ctl_t *self, uint64_t seq, int rc, const char *fmt, ...)
{
    s_pending_t *p = zhashx_lookup(self->pending, AZO_IDMAP_KEY(seq));
    if (!p)
        return;
    char msg[AZO_WIRE_MAX_ERRMSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s_fail(self, p, rc, msg);
}

void
azo_ctl_set_handler(azo_ctl_t *self, uint64_t seq, const char *name)
{
    s_pending_t *p = zhashx_lookup(self->pending, AZO_IDMAP_KEY(seq));
    if (p)
        snprintf(p->handler, sizeof p->handler, "%s", name);
}

static int
s_on_timeout(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    s_pending_t *p = arg;
    azo_ctl_t *self = p->ctl;
    p->ticket = NULL; // zloop frees fired tickets
    char msg[AZO_WIRE_MAX_ERRMSG];
    long long ms = (long long)self->timeout_ms;
    if (strcmp(p->handler, "sup") == 0)
        snprintf(msg, sizeof msg,
                 "%s did not complete within %lld ms "
                 "(supervisor/request_timeout)",
                 p->cmd, ms);
    else
        snprintf(msg, sizeof msg,
                 "%s did not answer %s within %lld ms "
                 "(supervisor/request_timeout)",
                 p->handler, p->cmd, ms);
    s_fail(self, p, AZO_ETIMEOUT, msg);
    return 0;
}

// Answers every pending request of handler (NULL: all of them).
static void
s_fail_where(azo_ctl_t *self, const char *handler, int rc, const char *msg)
{
    zlistx_t *keys = zhashx_keys(self->pending);
    for (void *k = keys ? zlistx_first(keys) : NULL; k; k = zlistx_next(keys)) {
        s_pending_t *p = zhashx_lookup(self->pending, k);
        if (p && (!handler || strcmp(p->handler, handler) == 0))
            s_fail(self, p, rc, msg);
    }
    zlistx_destroy(&keys);
}

void
azo_ctl_fail_handler(azo_ctl_t *self, const char *name, const char *why)
{
    char msg[AZO_WIRE_MAX_ERRMSG];
    snprintf(msg, sizeof msg, "%s %s before replying", name, why);
    s_fail_where(self, name, AZO_EUNAVAIL, msg);
}

void
azo_ctl_fail_all(azo_ctl_t *self, int rc, const char *message)
{
    s_fail_where(self, NULL, rc, message);
}

// Returns why a new request from client key is over a cap (static storage
// of this ctl, valid until the next call), or NULL when it may go on.
static const char *
s_over_limit(azo_ctl_t *self, const s_ident_t *key)
{
    const s_client_t *c = zhashx_lookup(self->clients, key);
    const azo_ctl_limits_t *l = &self->limits;
    char *m = self->overmsg;
    size_t n = sizeof self->overmsg;
    if (c && c->pending >= l->client_pending)
        snprintf(m, n, "too many pending requests from this client (limit %zu)",
                 l->client_pending);
    else if (zhashx_size(self->pending) >= l->pending)
        snprintf(m, n, "too many pending requests on this node (limit %zu)",
                 l->pending);
    else if (self->pending_bytes >= l->pending_bytes)
        snprintf(m, n,
                 "too many bytes of pending requests on this node "
                 "(limit %zu)",
                 l->pending_bytes);
    else
        return NULL;
    return m;
}

// Receives one ROUTER message, [identity][""?][body], and hands it on.
// Returns 1 when one was handled, 0 when none was waiting, -1 when the
// handler asked to end the reactor.
static int
s_recv_one(azo_ctl_t *self)
{
    void *raw = zsock_resolve(self->router);
    zmq_msg_t f[3];
    zmq_msg_t junk;
    for (int i = 0; i < 3; i++)
        zmq_msg_init(&f[i]);
    zmq_msg_init(&junk);
    int n = 0;
    bool extra = false, more = true;
    while (more) {
        zmq_msg_t *m = n < 3 ? &f[n] : &junk;
        // Later frames of a multipart message are already here.
        if (zmq_msg_recv(m, raw, n == 0 ? ZMQ_DONTWAIT : 0) < 0)
            break;
        more = zmq_msg_more(m);
        if (n < 3)
            n++;
        else
            extra = true;
    }
    int rc = n == 0 ? 0 : 1;
    s_pending_t *p = n ? calloc(1, sizeof *p) : NULL;
    if (p && zmq_msg_size(&f[0]) <= sizeof p->ident) {
        p->ctl = self;
        p->seq = self->next_seq++;
        snprintf(p->handler, sizeof p->handler, "sup");
        p->ident_len = zmq_msg_size(&f[0]);
        memcpy(p->ident, zmq_msg_data(&f[0]), p->ident_len);
        p->delim = n == 3 && zmq_msg_size(&f[1]) == 0;
        // The caps apply to what was pending before this request. Every
        // request gets an entry, even one answered at once, so that all
        // replies take one path.
        s_ident_t key = s_ident(self, p->ident, p->ident_len);
        const char *over = s_over_limit(self, &key);
        p->client = s_client_add(self, &key);
        p->ticket = zloop_ticket(self->loop, s_on_timeout, p);
        zhashx_insert(self->pending, AZO_IDMAP_KEY(p->seq), p);
        self->requests++;
        zmq_msg_t *body = n == 2 && !extra               ? &f[1]
                          : n == 3 && p->delim && !extra ? &f[2]
                                                         : NULL;
        char why[256];
        if (!body) {
            self->bad++;
            s_fail(self, p, AZO_EBADREQ,
                   "expected one message frame (after the REQ delimiter, "
                   "if any)");
        } else if (azo_req_decode(&self->req, zmq_msg_data(body),
                                  zmq_msg_size(body), why, sizeof why) < 0) {
            self->bad++;
            azo_ratelog(&self->badlog, "bad control request: %s", why);
            p->has_id = self->req.has_id;
            p->id = self->req.id;
            s_fail(self, p, AZO_EBADREQ, why);
        } else if (over) {
            self->refused++;
            p->has_id = true;
            p->id = self->req.id;
            azo_ratelog(&self->limitlog, "control request refused: %s", over);
            s_fail(self, p, AZO_EUNAVAIL, over);
        } else {
            p->has_id = true;
            p->id = self->req.id;
            snprintf(p->cmd, sizeof p->cmd, "%s", self->req.cmd);
            // The body waits in its handler's inbox until answered.
            p->bytes = zmq_msg_size(body);
            self->pending_bytes += p->bytes;
            if (self->fn(self->arg, p->seq, &self->req, zmq_msg_data(body),
                         zmq_msg_size(body)) < 0)
                rc = -1;
        }
    } else
        free(p);
    for (int i = 0; i < 3; i++)
        zmq_msg_close(&f[i]);
    zmq_msg_close(&junk);
    return rc;
}

static int
s_on_router(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    (void)reader;
    azo_ctl_t *self = arg;
    for (int i = 0; i < S_DRAIN; i++) {
        int rc = s_recv_one(self);
        if (rc <= 0)
            return rc;
    }
    return 0;
}

int
azo_ctl_attach(azo_ctl_t *self, zloop_t *loop)
{
    assert(!self->loop);
    self->loop = loop;
    zloop_set_ticket_delay(loop, (size_t)self->timeout_ms);
    return zloop_reader(loop, self->router, s_on_router, self) < 0
               ? AZO_EINTERNAL
               : 0;
}

uint64_t
azo_ctl_requests(const azo_ctl_t *self)
{
    return self->requests;
}

uint64_t
azo_ctl_bad(const azo_ctl_t *self)
{
    return self->bad;
}

uint64_t
azo_ctl_refused(const azo_ctl_t *self)
{
    return self->refused;
}

size_t
azo_ctl_pending(const azo_ctl_t *self)
{
    return zhashx_size(self->pending);
}
