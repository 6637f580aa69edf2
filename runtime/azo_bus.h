// azo_bus — moves single-frame messages between the inboxes of one node
// (supervisor and thread actors) over inproc PUSH/PULL. Every frame is a
// fixed header plus a msgpack envelope (azo_wire):
//   byte 0      kind: 'Q' request wanting a reply, 'C' one-way, 'R' reply
//   byte 1      0 (reserved)
//   bytes 2-3   sender's registry index, big endian
//   bytes 4-11  token: the sender's correlation number, echoed in replies
//   bytes 12..  the envelope
// A bus object belongs to one thread: it caches one PUSH socket per peer
// and reconnects when the peer's inbox generation changes. Does not decode
// envelopes.
#ifndef AZO_BUS_H
#define AZO_BUS_H

#include "azo_registry.h"

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

#define AZO_BUS_HDR     12
#define AZO_BUS_REQUEST 'Q'
#define AZO_BUS_CAST    'C'
#define AZO_BUS_REPLY   'R'

// A parsed frame: a view into the frame's bytes.
typedef struct {
    char kind;
    int from;
    uint64_t token;
    const void *body;
    size_t len;
} azo_bus_msg_t;

// Parses frame. Returns 0 or AZO_EBADREQ (short, unknown kind).
int azo_bus_parse(const void *frame, size_t len, azo_bus_msg_t *out);

// Writes a header into buf[0..AZO_BUS_HDR).
void azo_bus_hdr_write(void *buf, char kind, int from, uint64_t token);

typedef struct azo_bus azo_bus_t;

// Returns a bus for party self_idx of reg (borrowed; must outlive the bus)
// whose sockets queue at most hwm messages, or NULL if out of memory.
azo_bus_t *azo_bus_new(azo_registry_t *reg, int self_idx, int hwm);
void azo_bus_destroy(azo_bus_t **self_p);

// Opens the inbox of idx for generation gen: a PULL socket bound at its
// endpoint. Returns 0 with *out owning the socket, or a negative code.
int azo_bus_inbox_open(const azo_registry_t *reg, int idx, uint32_t gen,
                       int hwm, zsock_t **out);

// Sends one frame made of a header (kind, token, our index) and body to
// party to. wait_ms 0 fails at once when the peer's inbox is full, > 0 waits
// up to that long, < 0 waits as long as it takes. Returns 0, AZO_ENOTFOUND
// (no such party), or AZO_EUNAVAIL (peer down, or still full after
// wait_ms).
int azo_bus_send(azo_bus_t *self, int to, char kind, uint64_t token,
                 const void *body, size_t len, int wait_ms);

// Number of frames sent and frames refused since creation.
uint64_t azo_bus_sent(const azo_bus_t *self);
uint64_t azo_bus_refused(const azo_bus_t *self);

#endif
