// azo_bus — frame transport between the parties of one node. One bus per
// thread; sockets are never shared between threads.
//
// Why per-generation endpoints: libzmq does not reconnect inproc pipes after
// the bound socket closes, so a restarted actor binds a fresh endpoint
// (name + generation) and senders reconnect when the registry shows a newer
// generation. Frames queued for the old inbox die with it, like a crashed
// process's mailbox.
#include "azo_bus.h"
#include "azo_err.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

// ThreadSanitizer cannot see the hand-over of a frame's bytes through
// libzmq's (uninstrumented) lock-free pipes, and reports every frame as a
// race between its writer and its reader. Every frame is written here and
// first read in azo_bus_parse, so a release/acquire pair on the frame's
// address tells it the truth. No code otherwise.
#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define S_TSAN_RELEASE(p) __tsan_release((void *)(p))
#define S_TSAN_ACQUIRE(p) __tsan_acquire((void *)(p))
#else
#define S_TSAN_RELEASE(p) ((void)(p))
#define S_TSAN_ACQUIRE(p) ((void)(p))
#endif

// How long a closing socket to the supervisor keeps trying to deliver: an
// actor's EXIT is its last act and must not die with the socket.
#define S_SUP_LINGER_MS 2000

typedef struct {
    zsock_t *sock; // owned; NULL until first use
    uint32_t gen;
} s_peer_t;

struct azo_bus {
    azo_registry_t *reg; // borrowed
    int self_idx;
    int hwm;
    zsock_t *uplink; // borrowed DEALER, or NULL for a local bus
    zsock_t *pub;    // owned PUSH, local bus only; NULL until first publish
    uint64_t sent, refused;
    s_peer_t peers[AZO_REG_MAX];
};

int
azo_bus_parse(const void *frame, size_t len, azo_bus_msg_t *out)
{
    const uint8_t *p = frame;
    S_TSAN_ACQUIRE(frame);
    if (len < AZO_BUS_HDR)
        return AZO_EBADREQ;
    char kind = (char)p[0];
    if (kind != AZO_BUS_REQUEST && kind != AZO_BUS_CAST &&
        kind != AZO_BUS_REPLY && kind != AZO_BUS_LIFE && kind != AZO_BUS_EVENT &&
        kind != AZO_BUS_NODE)
        return AZO_EBADREQ;
    out->kind = kind;
    out->from = (p[2] << 8) | p[3];
    out->to = (p[4] << 8) | p[5];
    uint64_t t = 0;
    for (int i = 6; i < AZO_BUS_HDR; i++)
        t = (t << 8) | p[i];
    out->token = t;
    out->body = p + AZO_BUS_HDR;
    out->len = len - AZO_BUS_HDR;
    return 0;
}

void
azo_bus_hdr_write(void *buf, char kind, int from, int to, uint64_t token)
{
    uint8_t *p = buf;
    p[0] = (uint8_t)kind;
    p[1] = 0;
    p[2] = (uint8_t)(from >> 8);
    p[3] = (uint8_t)from;
    p[4] = (uint8_t)(to >> 8);
    p[5] = (uint8_t)to;
    for (int i = AZO_BUS_HDR - 1; i >= 6; i--, token >>= 8)
        p[i] = (uint8_t)token;
}

static azo_bus_t *
s_new(azo_registry_t *reg, int self_idx, int hwm, zsock_t *uplink)
{
    assert(reg);
    azo_bus_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->reg = reg;
    self->self_idx = self_idx;
    self->hwm = hwm;
    self->uplink = uplink;
    return self;
}

azo_bus_t *
azo_bus_new(azo_registry_t *reg, int self_idx, int hwm)
{
    return s_new(reg, self_idx, hwm, NULL);
}

azo_bus_t *
azo_bus_new_uplink(azo_registry_t *reg, int self_idx, zsock_t *dealer)
{
    assert(dealer);
    return s_new(reg, self_idx, 0, dealer);
}

void
azo_bus_destroy(azo_bus_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    azo_bus_t *self = *self_p;
    for (int i = 0; i < AZO_REG_MAX; i++)
        zsock_destroy(&self->peers[i].sock);
    zsock_destroy(&self->pub);
    free(self);
    *self_p = NULL;
}

int
azo_bus_inbox_open(const azo_registry_t *reg, int idx, uint32_t gen, int hwm,
                   zsock_t **out)
{
    char ep[128];
    azo_registry_endpoint(reg, idx, gen, ep, sizeof ep);
    *out = NULL;
    zsock_t *sock = zsock_new(ZMQ_PULL);
    if (!sock)
        return -ENOMEM;
    zsock_set_rcvhwm(sock, hwm);
    zsock_set_linger(sock, 0);
    if (zsock_bind(sock, "%s", ep) < 0) {
        int rc = -errno;
        zsock_destroy(&sock);
        return rc;
    }
    *out = sock;
    return 0;
}

// Returns the PUSH socket for local inbox to at its current generation.
static zsock_t *
s_peer_sock(azo_bus_t *self, int to)
{
    s_peer_t *peer = &self->peers[to];
    uint32_t gen = azo_registry_gen(self->reg, to);
    if (peer->sock && peer->gen == gen)
        return peer->sock;
    zsock_destroy(&peer->sock); // linger 0: frames for the old inbox die
    zsock_t *sock = zsock_new(ZMQ_PUSH);
    if (!sock)
        return NULL;
    zsock_set_sndhwm(sock, self->hwm);
    zsock_set_linger(sock, to == AZO_REG_SUP ? S_SUP_LINGER_MS : 0);
    char ep[128];
    azo_registry_endpoint(self->reg, to, gen, ep, sizeof ep);
    // inproc connect works before the bind and cannot fail otherwise.
    if (zsock_connect(sock, "%s", ep) < 0) {
        zsock_destroy(&sock);
        return NULL;
    }
    peer->sock = sock;
    peer->gen = gen;
    return sock;
}

// Sends msg (consumed on success) on sock within wait_ms (see
// azo_bus_send). Returns 0 or AZO_EUNAVAIL, leaving msg to the caller.
static int
s_send_msg(void *raw, zmq_msg_t *msg, int flags, int wait_ms)
{
    int64_t deadline = wait_ms > 0 ? zclock_mono() + wait_ms : 0;
    while (zmq_msg_send(msg, raw, flags | ZMQ_DONTWAIT) < 0) {
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN || wait_ms == 0)
            return AZO_EUNAVAIL;
        long left = -1;
        if (wait_ms > 0) {
            left = (long)(deadline - zclock_mono());
            if (left <= 0)
                return AZO_EUNAVAIL;
        }
        zmq_pollitem_t item = {raw, 0, ZMQ_POLLOUT, 0};
        if (zmq_poll(&item, 1, left) < 0 && errno != EINTR)
            return AZO_EUNAVAIL;
    }
    return 0;
}

// Sends the frame made of header + (a, alen) + (b, blen) on sock.
static int
s_send_frame(azo_bus_t *self, zsock_t *sock, char kind, int to, uint64_t token,
             const void *a, size_t alen, const void *b, size_t blen,
             int wait_ms)
{
    zmq_msg_t msg;
    if (zmq_msg_init_size(&msg, AZO_BUS_HDR + alen + blen) < 0)
        return -ENOMEM;
    uint8_t *p = zmq_msg_data(&msg);
    azo_bus_hdr_write(p, kind, self->self_idx, to, token);
    if (alen)
        memcpy(p + AZO_BUS_HDR, a, alen);
    if (blen)
        memcpy(p + AZO_BUS_HDR + alen, b, blen);
    S_TSAN_RELEASE(p);
    int rc = s_send_msg(zsock_resolve(sock), &msg, 0, wait_ms);
    if (rc < 0) {
        zmq_msg_close(&msg);
        self->refused++;
        return rc;
    }
    self->sent++;
    return 0;
}

// The socket a frame for party to leaves on, or NULL (down, or no memory).
// A reply may also go to a party that is starting.
static zsock_t *
s_route(azo_bus_t *self, int to, bool reply)
{
    if (self->uplink)
        return self->uplink; // the supervisor knows who is up
    if (!(reply ? azo_registry_takes_replies(self->reg, to)
                : azo_registry_up(self->reg, to)))
        return NULL;
    // A process actor is reached through the supervisor, which forwards
    // frames by the header's receiver index.
    if (to != AZO_REG_SUP && azo_registry_remote(self->reg, to)) {
        assert(self->self_idx != AZO_REG_SUP); // it forwards by itself
        return s_peer_sock(self, AZO_REG_SUP);
    }
    return s_peer_sock(self, to);
}

int
azo_bus_send(azo_bus_t *self, int to, char kind, uint64_t token,
             const void *body, size_t len, int wait_ms)
{
    if (to < 0 || to >= azo_registry_size(self->reg))
        return AZO_ENOTFOUND;
    zsock_t *sock = s_route(self, to, kind == AZO_BUS_REPLY);
    if (!sock) {
        self->refused++;
        return AZO_EUNAVAIL;
    }
    return s_send_frame(self, sock, kind, to, token, body, len, NULL, 0,
                        wait_ms);
}

int
azo_bus_forward(azo_bus_t *self, int to, const void *frame, size_t len)
{
    assert(!self->uplink);
    if (to < 0 || to >= azo_registry_size(self->reg))
        return AZO_ENOTFOUND;
    if (!azo_registry_up(self->reg, to) || azo_registry_remote(self->reg, to))
        return AZO_EUNAVAIL;
    zsock_t *sock = s_peer_sock(self, to);
    if (!sock)
        return AZO_EUNAVAIL;
    zmq_msg_t msg;
    if (zmq_msg_init_size(&msg, len) < 0)
        return -ENOMEM;
    memcpy(zmq_msg_data(&msg), frame, len);
    S_TSAN_RELEASE(zmq_msg_data(&msg));
    int rc = s_send_msg(zsock_resolve(sock), &msg, 0, 0);
    if (rc < 0) {
        zmq_msg_close(&msg);
        self->refused++;
        return rc;
    }
    self->sent++;
    return 0;
}

int
azo_bus_publish(azo_bus_t *self, const char *topic, const void *body,
                size_t len)
{
    size_t tlen = strlen(topic);
    if (self->uplink)
        return s_send_frame(self, self->uplink, AZO_BUS_EVENT, AZO_REG_SUP, 0,
                            topic, tlen + 1, body, len, 0);
    if (!self->pub) {
        // PUSH, not PUB: a PUB drops what it sends before the subscriptions
        // reach it, and they reach a new socket only some time after its
        // connect, so an actor's first events were lost. The supervisor's
        // PULL takes everything; subscribers' filters apply at its XPUB.
        zsock_t *pub = zsock_new(ZMQ_PUSH);
        if (!pub)
            return -ENOMEM;
        zsock_set_linger(pub, 0);
        zsock_set_sndhwm(pub, self->hwm);
        char ep[128];
        azo_registry_events_endpoint(self->reg, ep, sizeof ep);
        if (zsock_connect(pub, "%s", ep) < 0) {
            int rc = -errno;
            zsock_destroy(&pub);
            return rc;
        }
        self->pub = pub;
    }
    void *raw = zsock_resolve(self->pub);
    // Never blocks: with the supervisor's queue full, the event is dropped
    // (-EAGAIN), as a slow subscriber loses events at the XPUB.
    if (zmq_send(raw, topic, tlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -errno;
    if (zmq_send(raw, body, len, ZMQ_DONTWAIT) < 0)
        return -errno; // cannot happen once the first frame went
    return 0;
}

int
azo_bus_life(azo_bus_t *self, const void *body, size_t len, int wait_ms)
{
    zsock_t *sock =
        self->uplink ? self->uplink : s_peer_sock(self, AZO_REG_SUP);
    if (!sock)
        return AZO_EUNAVAIL;
    return s_send_frame(self, sock, AZO_BUS_LIFE, AZO_REG_SUP, 0, body, len,
                        NULL, 0, wait_ms);
}

uint64_t
azo_bus_sent(const azo_bus_t *self)
{
    return self->sent;
}

uint64_t
azo_bus_refused(const azo_bus_t *self)
{
    return self->refused;
}
