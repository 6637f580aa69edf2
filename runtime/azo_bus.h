// azo_bus — moves single-frame messages between the parties of one node:
// the supervisor, thread actors (inproc PUSH/PULL) and process actors
// (through the supervisor over the cluster endpoint). Every frame is a
// fixed header plus a body:
//   byte 0      kind (below)
//   byte 1      0 (reserved)
//   bytes 2-3   sender's registry index, big endian
//   bytes 4-5   receiver's registry index, big endian
//   bytes 6-13  token: the sender's correlation number, echoed in replies
//   bytes 14..  the body: a msgpack envelope (azo_wire) for Q/C/R, a
//               lifecycle map (azo_life) for L, topic NUL envelope for E,
//               a node message (azo_node) for N
// A bus object belongs to one thread. A local bus (supervisor, thread
// actors) caches one PUSH socket per peer, reconnects when the peer's inbox
// generation changes, and sends frames for remote parties to the
// supervisor's inbox. An uplink bus (a process actor) sends every frame to
// the supervisor over one DEALER. Does not decode bodies.
#ifndef AZO_BUS_H
#define AZO_BUS_H

#include "azo_registry.h"

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

#define AZO_BUS_HDR     14
#define AZO_BUS_REQUEST 'Q' // wants a reply
#define AZO_BUS_CAST    'C' // one-way
#define AZO_BUS_REPLY   'R' // answers the sender's request with that token
#define AZO_BUS_LIFE    'L' // lifecycle (azo_life), to or from the supervisor
#define AZO_BUS_EVENT   'E' // an event to publish: topic, NUL, body
#define AZO_BUS_NODE    'N' // node agent <-> supervisor (azo_node)

// A parsed frame: a view into the frame's bytes.
typedef struct {
    char kind;
    int from;
    int to;
    uint64_t token;
    const void *body;
    size_t len;
} azo_bus_msg_t;

// Parses frame. Returns 0 or AZO_EBADREQ (short, unknown kind).
int azo_bus_parse(const void *frame, size_t len, azo_bus_msg_t *out);

// Writes a header into buf[0..AZO_BUS_HDR).
void azo_bus_hdr_write(void *buf, char kind, int from, int to, uint64_t token);

typedef struct azo_bus azo_bus_t;

// Returns a local bus for party self_idx of reg (borrowed; must outlive the
// bus) whose sockets queue at most hwm messages, or NULL if out of memory.
azo_bus_t *azo_bus_new(azo_registry_t *reg, int self_idx, int hwm);

// Returns an uplink bus for party self_idx: every frame goes to the
// supervisor over dealer (borrowed; connected to the cluster endpoint).
azo_bus_t *azo_bus_new_uplink(azo_registry_t *reg, int self_idx,
                              zsock_t *dealer);

void azo_bus_destroy(azo_bus_t **self_p);

// Opens the inbox of idx for generation gen: a PULL socket bound at its
// endpoint. Returns 0 with *out owning the socket, or a negative code.
int azo_bus_inbox_open(const azo_registry_t *reg, int idx, uint32_t gen,
                       int hwm, zsock_t **out);

// Sends one frame (kind, our index, to, token, body) to party to. wait_ms 0
// fails at once when the way is full, > 0 waits up to that long, < 0 as
// long as it takes. Returns 0, AZO_ENOTFOUND (no such party), or
// AZO_EUNAVAIL (peer down, or still full after wait_ms).
int azo_bus_send(azo_bus_t *self, int to, char kind, uint64_t token,
                 const void *body, size_t len, int wait_ms);

// Supervisor only: passes frame (already headed, from a peer) on unchanged
// to the local inbox of party to. Returns like azo_bus_send.
int azo_bus_forward(azo_bus_t *self, int to, const void *frame, size_t len);

// Publishes an event: a local bus through a PUB socket to the supervisor's
// XSUB (made on first use), an uplink bus as an E frame. Never blocks: a
// slow subscriber loses events. topic must be valid (azo_wire_topic_ok).
// Returns 0 or a negative code.
int azo_bus_publish(azo_bus_t *self, const char *topic, const void *body,
                    size_t len);

// Sends a lifecycle frame (body from azo_life_pack) to the supervisor,
// waiting up to wait_ms if the way is full. Frames of a local bus to the
// supervisor are delivered even when the socket closes right after (the
// last act of an ending actor). Returns like azo_bus_send.
int azo_bus_life(azo_bus_t *self, const void *body, size_t len, int wait_ms);

// Number of frames sent and frames refused since creation.
uint64_t azo_bus_sent(const azo_bus_t *self);
uint64_t azo_bus_refused(const azo_bus_t *self);

#endif
