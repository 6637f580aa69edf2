// azo_ctl — control endpoint: ROUTER framing, pending requests, time-outs.
// Supervisor thread only.
//
// Each pending request holds the client's identity, so that the request
// body can travel to the actor that handles it untouched (no re-encoding)
// and the reply, tagged with the sequence number, finds its way back.
// Time-outs are zloop tickets: one delay for all, constant cost each.
#include "azo_ctl.h"
#include "azo_err.h"
#include "azo_idmap.h"
#include "azo_log.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define S_DRAIN 64 // requests handled per wakeup

typedef struct {
    azo_ctl_t *ctl; // borrowed
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
    uint64_t next_seq;
    uint64_t requests, bad;
    azo_req_t req;
    azo_ratelog_t badlog;
};

static void
s_pending_free(void **item)
{
    s_pending_t *p = *item;
    if (p && p->ticket)
        zloop_ticket_delete(p->ctl->loop, p->ticket);
    free(p);
    *item = NULL;
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
    self->pending = azo_idmap_new();
    azo_ratelog_init(&self->badlog, 1000);
    if (!self->pending || azo_req_init(&self->req) < 0) {
        azo_ctl_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->pending, s_pending_free);
    return self;
}

void
azo_ctl_destroy(azo_ctl_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    azo_ctl_t *self = *self_p;
    zhashx_destroy(&self->pending);
    azo_req_fini(&self->req);
    free(self);
    *self_p = NULL;
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
        } else {
            p->has_id = true;
            p->id = self->req.id;
            snprintf(p->cmd, sizeof p->cmd, "%s", self->req.cmd);
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

size_t
azo_ctl_pending(const azo_ctl_t *self)
{
    return zhashx_size(self->pending);
}
