// azo_bus — inproc frame transport between the parties of one node. One bus
// per thread; sockets are never shared between threads.
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
// race between its writer and its reader. Every frame is written in
// azo_bus_send and first read in azo_bus_parse, so a release/acquire pair
// on the frame's address there tells it the truth. No code otherwise.
#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define S_TSAN_RELEASE(p) __tsan_release((void *)(p))
#define S_TSAN_ACQUIRE(p) __tsan_acquire((void *)(p))
#else
#define S_TSAN_RELEASE(p) ((void)(p))
#define S_TSAN_ACQUIRE(p) ((void)(p))
#endif

typedef struct {
    zsock_t *sock; // owned; NULL until first use
    uint32_t gen;
} s_peer_t;

struct azo_bus {
    azo_registry_t *reg; // borrowed
    int self_idx;
    int hwm;
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
        kind != AZO_BUS_REPLY)
        return AZO_EBADREQ;
    out->kind = kind;
    out->from = (p[2] << 8) | p[3];
    uint64_t t = 0;
    for (int i = 4; i < AZO_BUS_HDR; i++)
        t = (t << 8) | p[i];
    out->token = t;
    out->body = p + AZO_BUS_HDR;
    out->len = len - AZO_BUS_HDR;
    return 0;
}

void
azo_bus_hdr_write(void *buf, char kind, int from, uint64_t token)
{
    uint8_t *p = buf;
    p[0] = (uint8_t)kind;
    p[1] = 0;
    p[2] = (uint8_t)(from >> 8);
    p[3] = (uint8_t)from;
    for (int i = AZO_BUS_HDR - 1; i >= 4; i--, token >>= 8)
        p[i] = (uint8_t)token;
}

azo_bus_t *
azo_bus_new(azo_registry_t *reg, int self_idx, int hwm)
{
    assert(reg);
    azo_bus_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->reg = reg;
    self->self_idx = self_idx;
    self->hwm = hwm;
    return self;
}

void
azo_bus_destroy(azo_bus_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    azo_bus_t *self = *self_p;
    for (int i = 0; i < AZO_REG_MAX; i++)
        zsock_destroy(&self->peers[i].sock);
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

// Returns the PUSH socket for peer to at its current generation.
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
    zsock_set_linger(sock, 0);
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

int
azo_bus_send(azo_bus_t *self, int to, char kind, uint64_t token,
             const void *body, size_t len, int wait_ms)
{
    if (to < 0 || to >= azo_registry_size(self->reg))
        return AZO_ENOTFOUND;
    if (!azo_registry_up(self->reg, to)) {
        self->refused++;
        return AZO_EUNAVAIL;
    }
    zsock_t *sock = s_peer_sock(self, to);
    if (!sock) {
        self->refused++;
        return AZO_EUNAVAIL;
    }
    zmq_msg_t msg;
    if (zmq_msg_init_size(&msg, AZO_BUS_HDR + len) < 0)
        return -ENOMEM;
    uint8_t *p = zmq_msg_data(&msg);
    azo_bus_hdr_write(p, kind, self->self_idx, token);
    if (len)
        memcpy(p + AZO_BUS_HDR, body, len);
    S_TSAN_RELEASE(p);

    void *raw = zsock_resolve(sock);
    int64_t deadline = wait_ms > 0 ? zclock_mono() + wait_ms : 0;
    bool sent = false;
    while (!sent) {
        if (zmq_msg_send(&msg, raw, ZMQ_DONTWAIT) >= 0) {
            sent = true;
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN || wait_ms == 0)
            break;
        long left = -1;
        if (wait_ms > 0) {
            left = (long)(deadline - zclock_mono());
            if (left <= 0)
                break;
        }
        zmq_pollitem_t item = {raw, 0, ZMQ_POLLOUT, 0};
        if (zmq_poll(&item, 1, left) < 0 && errno != EINTR)
            break;
    }
    if (!sent) {
        zmq_msg_close(&msg);
        self->refused++;
        return AZO_EUNAVAIL;
    }
    self->sent++;
    return 0;
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
