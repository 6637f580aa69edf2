// azo_ctl — the control endpoint's bookkeeping. Clients (REQ or DEALER)
// send one request frame to a ROUTER; every request gets a sequence number
// and a pending entry (client identity, REQ delimiter, request id, command,
// who handles it) until exactly one reply goes back: from whoever handles
// it, or an error of ours when it times out or its handler ends. Framing
// errors and undecodable requests are answered here. Pending requests are
// capped per client (ROUTER identity), in all, and by the bytes of their
// bodies: a request over a cap is answered at once with `unavailable`, so
// a flooding client cannot grow our memory. Supervisor thread only; the
// ROUTER is borrowed.
#ifndef AZO_CTL_H
#define AZO_CTL_H

#include "azo_wire.h"

#include <czmq.h>
#include <stdint.h>

typedef struct azo_ctl azo_ctl_t;

// Caps on pending requests, each at least 1. The byte cap counts request
// bodies handed on (they wait in actor inboxes until answered); a request
// is refused once the pending bytes have reached it, so one request of any
// size still passes when nothing else is pending.
typedef struct {
    size_t client_pending; // per client identity
    size_t pending;        // in all
    size_t pending_bytes;  // bodies of pending requests, in all
} azo_ctl_limits_t;

#define AZO_CTL_CLIENT_PENDING 1000
#define AZO_CTL_PENDING        10000
#define AZO_CTL_PENDING_BYTES  ((size_t)64 << 20)

// Called for every decodable request: seq names it from now on. req and
// body (the request's bytes) are borrowed for the call. The callee answers
// now or later with azo_ctl_reply or azo_ctl_fail. Returns 0, or -1 to end
// the reactor (after this request is handled).
typedef int(azo_ctl_fn)(void *arg, uint64_t seq, const azo_req_t *req,
                        const void *body, size_t len);

// Returns a control endpoint on router (bound by the caller), whose
// requests time out after timeout_ms, or NULL if out of memory. The limits
// are the AZO_CTL_* defaults until azo_ctl_set_limits.
azo_ctl_t *azo_ctl_new(zsock_t *router, int64_t timeout_ms, azo_ctl_fn *fn,
                       void *arg);

// Frees *self_p (no replies are sent: call azo_ctl_fail_all first) and sets
// it to NULL. Must run before the loop it is attached to is destroyed.
void azo_ctl_destroy(azo_ctl_t **self_p);

// Sets the caps on pending requests (copied); requests already pending
// stay, and new ones are refused until they are back under the caps.
void azo_ctl_set_limits(azo_ctl_t *self, const azo_ctl_limits_t *limits);

// Watches the ROUTER on loop. Returns 0 or a negative code.
int azo_ctl_attach(azo_ctl_t *self, zloop_t *loop);

// Records who handles seq ("sup" or an actor's name, copied), for time-out
// messages and azo_ctl_fail_handler.
void azo_ctl_set_handler(azo_ctl_t *self, uint64_t seq, const char *name);

// Sends reply (an encoded reply envelope) for seq and forgets it; a seq no
// longer pending (timed out) is ignored.
void azo_ctl_reply(azo_ctl_t *self, uint64_t seq, const void *reply,
                   size_t len);

// Answers seq with an error of ours (wire code of rc).
void azo_ctl_fail(azo_ctl_t *self, uint64_t seq, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

// Answers every request pending on handler name: "<name> <why> before
// replying" (unavailable). For an actor that exited.
void azo_ctl_fail_handler(azo_ctl_t *self, const char *name, const char *why);

// Answers every pending request with rc and message (shutdown).
void azo_ctl_fail_all(azo_ctl_t *self, int rc, const char *message);

// Counters for status: requests received, bad ones, refused over a cap,
// pending now.
uint64_t azo_ctl_requests(const azo_ctl_t *self);
uint64_t azo_ctl_bad(const azo_ctl_t *self);
uint64_t azo_ctl_refused(const azo_ctl_t *self);
size_t azo_ctl_pending(const azo_ctl_t *self);

#endif
