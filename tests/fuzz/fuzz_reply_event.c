// fuzz_reply_event — libFuzzer target for the decoders of everything but
// control requests. The input is read four ways: as a reply body
// (azo_rep_decode, what azoctl and calling actors decode); as an event,
// split at its first NUL into topic and body (azo_event_decode, what
// subscribers decode); as a lifecycle body (azo_life_decode, which must
// round-trip through azo_life_pack); and as a bus frame (azo_bus_parse)
// whose body then goes where the supervisor and actors send it by kind:
// Q and C to azo_req_decode, R to azo_rep_decode, L to azo_life_decode, E
// (topic NUL body) to the topic check and azo_event_decode, N to the node
// agent decoders (azo_node: hello and state, each of which must
// round-trip).
#include "azo_bus.h"
#include "azo_err.h"
#include "azo_fuzz.h"
#include "azo_life.h"
#include "azo_node.h"
#include "azo_wire.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define S_ERRLEN 256 // what the runtime's handlers use

typedef struct {
    azo_req_t req;
    azo_rep_t rep;
    azo_event_t ev;
} s_dec_t;

static void
s_reply(s_dec_t *d, const void *buf, size_t len)
{
    char err[S_ERRLEN] = "";
    int rc = azo_rep_decode(&d->rep, buf, len, err, sizeof err);
    AZO_FUZZ_CHECK(rc == 0 || rc == AZO_EBADREQ);
    if (rc < 0) {
        AZO_FUZZ_CHECK(err[0] != 0 && strchr(err, '\n') == NULL);
        return;
    }
    if (d->rep.ok)
        AZO_FUZZ_CHECK(d->rep.result && d->rep.rc == 0);
    else
        AZO_FUZZ_CHECK(d->rep.code && d->rep.message && d->rep.rc < 0);
}

static void
s_request(s_dec_t *d, const void *buf, size_t len)
{
    char err[S_ERRLEN] = "";
    int rc = azo_req_decode(&d->req, buf, len, err, sizeof err);
    AZO_FUZZ_CHECK(rc == 0 || rc == AZO_EBADREQ);
    AZO_FUZZ_CHECK(rc < 0 || (d->req.cmd && d->req.has_id));
}

// An event message: topic[0..tlen) and body[0..len).
static void
s_event(s_dec_t *d, const char *topic, size_t tlen, const void *body,
        size_t len)
{
    char err[S_ERRLEN] = "";
    int rc = azo_event_decode(&d->ev, topic, tlen, body, len, err, sizeof err);
    AZO_FUZZ_CHECK(rc == 0 || rc == AZO_EBADREQ);
    if (rc < 0)
        return;
    AZO_FUZZ_CHECK(azo_wire_topic_ok(topic, tlen));
    AZO_FUZZ_CHECK(strlen(d->ev.topic) == tlen &&
                   memcmp(d->ev.topic, topic, tlen) == 0);
    AZO_FUZZ_CHECK(d->ev.node && d->ev.src);
}

// Splits buf at its first NUL into topic and body (no NUL: all topic).
static void
s_event_split(s_dec_t *d, const uint8_t *buf, size_t len)
{
    const uint8_t *nul = memchr(buf, 0, len);
    size_t tlen = nul ? (size_t)(nul - buf) : len;
    const uint8_t *body = nul ? nul + 1 : buf + len;
    s_event(d, (const char *)buf, tlen, body, len - tlen - (nul ? 1 : 0));
}

// A lifecycle body that decodes must pack and decode to the same values.
static void
s_life(const void *buf, size_t len)
{
    azo_life_t a, b;
    int rc = azo_life_decode(buf, len, &a);
    AZO_FUZZ_CHECK(rc == 0 || rc == AZO_EBADREQ);
    if (rc < 0)
        return;
    AZO_FUZZ_CHECK(a.ev <= AZO_LIFE_ACTIVATE && a.pid >= 0);
    AZO_FUZZ_CHECK(strlen(a.reason) < sizeof a.reason &&
                   azo_mp_utf8_ok(a.reason, strlen(a.reason)));
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    AZO_FUZZ_CHECK(azo_life_pack(&sb, &a) == 0);
    AZO_FUZZ_CHECK(azo_life_decode(sb.data, sb.size, &b) == 0);
    AZO_FUZZ_CHECK(a.ev == b.ev && a.gen == b.gen && a.pid == b.pid &&
                   a.standby == b.standby && a.failed == b.failed &&
                   a.next == b.next && strcmp(a.reason, b.reason) == 0);
    msgpack_sbuffer_destroy(&sb);
}

// A node agent's hello or the supervisor's state: what decodes must pack
// and decode to the same values.
static void
s_node(const void *buf, size_t len)
{
    static azo_node_hello_t h1, h2;
    static azo_node_state_t s1, s2;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    int rc = azo_node_hello_decode(buf, len, &h1);
    AZO_FUZZ_CHECK(rc == 0 || rc == AZO_EBADREQ || rc == -ENOMEM);
    if (rc == 0) {
        AZO_FUZZ_CHECK(azo_node_name_ok(h1.node) && h1.nactors >= 0 &&
                       h1.nactors <= AZO_REG_MAX);
        AZO_FUZZ_CHECK(azo_node_hello_pack(&sb, &h1) == 0);
        AZO_FUZZ_CHECK(azo_node_hello_decode(sb.data, sb.size, &h2) == 0);
        AZO_FUZZ_CHECK(strcmp(h1.node, h2.node) == 0 &&
                       h1.nactors == h2.nactors &&
                       h1.need_config == h2.need_config);
        for (int i = 0; i < h1.nactors; i++)
            AZO_FUZZ_CHECK(strcmp(h1.actors[i].name, h2.actors[i].name) == 0 &&
                           h1.actors[i].epoch == h2.actors[i].epoch &&
                           strcmp(h1.actors[i].state, h2.actors[i].state) == 0);
    }
    rc = azo_node_state_decode(buf, len, &s1);
    AZO_FUZZ_CHECK(rc == 0 || rc == AZO_EBADREQ || rc == -ENOMEM);
    if (rc == 0) {
        AZO_FUZZ_CHECK(s1.heartbeat_ms > 0 && s1.liveness > 0 &&
                       s1.nassign <= AZO_REG_MAX);
        AZO_FUZZ_CHECK(azo_node_state_pack(&sb, &s1) == 0);
        AZO_FUZZ_CHECK(azo_node_state_decode(sb.data, sb.size, &s2) == 0);
        AZO_FUZZ_CHECK(s1.nassign == s2.nassign &&
                       s1.config_len == s2.config_len &&
                       (!s1.config) == (!s2.config));
        for (int i = 0; i < s1.nassign; i++)
            AZO_FUZZ_CHECK(s1.assign[i].epoch == s2.assign[i].epoch &&
                           s1.assign[i].epoch > 0);
    }
    msgpack_sbuffer_destroy(&sb);
}

static void
s_frame(s_dec_t *d, const uint8_t *buf, size_t len)
{
    azo_bus_msg_t m;
    int rc = azo_bus_parse(buf, len, &m);
    AZO_FUZZ_CHECK(rc == 0 || rc == AZO_EBADREQ);
    if (rc < 0)
        return;
    AZO_FUZZ_CHECK(len >= AZO_BUS_HDR && m.len == len - AZO_BUS_HDR &&
                   (const uint8_t *)m.body == buf + AZO_BUS_HDR);
    AZO_FUZZ_CHECK(m.from >= 0 && m.from <= 0xffff && m.to >= 0 &&
                   m.to <= 0xffff);
    // The header must write back to the same bytes (byte 1 is reserved).
    uint8_t hdr[AZO_BUS_HDR];
    azo_bus_hdr_write(hdr, m.kind, m.from, m.to, m.token);
    AZO_FUZZ_CHECK(hdr[0] == buf[0] && memcmp(hdr + 2, buf + 2, 12) == 0);
    switch (m.kind) {
    case AZO_BUS_REQUEST:
    case AZO_BUS_CAST:
        s_request(d, m.body, m.len);
        break;
    case AZO_BUS_REPLY:
        s_reply(d, m.body, m.len);
        break;
    case AZO_BUS_LIFE:
        s_life(m.body, m.len);
        break;
    case AZO_BUS_NODE:
        s_node(m.body, m.len);
        break;
    case AZO_BUS_EVENT: {
        // As the supervisor does for process actors: no NUL or a bad topic
        // drops the frame; the body is then published as it is.
        const uint8_t *body = m.body;
        const uint8_t *nul = memchr(body, 0, m.len);
        if (nul && azo_wire_topic_ok(m.body, (size_t)(nul - body)))
            s_event_split(d, body, m.len);
        break;
    }
    default:
        AZO_FUZZ_CHECK(!"azo_bus_parse returned an unknown kind");
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_dec_t d;
    if (azo_req_init(&d.req) < 0)
        return 0; // out of memory: not a finding
    if (azo_rep_init(&d.rep) < 0 || azo_event_init(&d.ev) < 0) {
        azo_rep_fini(&d.rep);
        azo_req_fini(&d.req);
        return 0;
    }
    s_reply(&d, data, size);
    s_event_split(&d, data, size);
    s_life(data, size);
    s_node(data, size);
    s_frame(&d, data, size);
    azo_event_fini(&d.ev);
    azo_rep_fini(&d.rep);
    azo_req_fini(&d.req);
    return 0;
}
