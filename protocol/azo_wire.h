// azo_wire — the envelopes of DESIGN.md "Wire contract": control requests
// {"v":1,"id":N,"cmd":C,"args":{..}}, replies {"v":1,"id":N,"ok":true,
// "result":R} / {"v":1,"id":N,"ok":false,"error":{"code":..,"message":..}},
// and event bodies {"v":1,"ts":T,"node":N,"src":S,...}. Decoders validate
// strictly (azo_mp_check first, then types, required and unknown keys) and
// never abort on input. Objects are per-thread; no shared state.
#ifndef AZO_WIRE_H
#define AZO_WIRE_H

#include "azo_mp.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AZO_WIRE_V          1
#define AZO_WIRE_MAX_CMD    64  // command names: [a-z0-9._-]{1,64}
#define AZO_WIRE_MAX_TOPIC  128 // event topics: printable UTF-8, no spaces
#define AZO_WIRE_MAX_ERRMSG 512 // error messages are cut to this length

// A decoded request: a view into the buffer given to azo_req_decode, which
// must outlive it. Fields are valid until the next decode or fini.
typedef struct {
    msgpack_zone *zone;  // owned; cleared by each decode
    msgpack_object root; // the whole envelope map
    bool has_id;         // id was present and valid
    uint64_t id;
    const char *cmd;            // NUL-terminated, in zone
    const msgpack_object *args; // always a map (empty when absent)
} azo_req_t;

// Prepares req. Returns 0 or -ENOMEM.
int azo_req_init(azo_req_t *req);
void azo_req_fini(azo_req_t *req);

// Decodes a request. Returns 0, or AZO_EBADREQ with a reason in err (may be
// NULL). Even on failure has_id/id say whether an id could be read, so the
// error reply can carry it.
int azo_req_decode(azo_req_t *req, const void *buf, size_t len, char *err,
                   size_t errlen);

// Argument accessors. azo_req_arg returns the raw value or NULL.
// azo_req_str returns a NUL-terminated copy (in req's zone) or NULL when
// absent, not a string, or holding a NUL byte. azo_req_int/bool return 0,
// AZO_ENOTFOUND when absent, AZO_EBADREQ when of another type.
const msgpack_object *azo_req_arg(const azo_req_t *req, const char *key);
const char *azo_req_str(const azo_req_t *req, const char *key);
int azo_req_int(const azo_req_t *req, const char *key, int64_t *out);
int azo_req_bool(const azo_req_t *req, const char *key, bool *out);

// Returns the first argument name not listed in allowed (comma-separated,
// e.g. "job,every,cron"), NUL-terminated in req's zone, or NULL if all are
// known.
const char *azo_req_unknown_arg(const azo_req_t *req, const char *allowed);

// Packs a request head {"v":1,"id":id,"cmd":cmd,"args": into pk; the caller
// then packs exactly one more object, the args map.
void azo_req_pack(msgpack_packer *pk, uint64_t id, const char *cmd);

// Returns true when cmd[0..len) is a valid command name.
bool azo_wire_cmd_ok(const char *cmd, size_t len);

// A reply under construction. Handlers write exactly one of result / ok /
// fail; a later fail replaces anything written before.
typedef struct {
    msgpack_sbuffer sbuf; // owned
    msgpack_packer pk;    // writes into sbuf
    bool has_id;
    uint64_t id;
    int rc;    // 0, or the AZO_E* of a failure
    bool done; // a reply has been written
} azo_reply_t;

void azo_reply_init(azo_reply_t *r);
void azo_reply_fini(azo_reply_t *r);

// Clears r for the request with the given id (has_id false: "id": nil).
void azo_reply_start(azo_reply_t *r, bool has_id, uint64_t id);

// Writes {"v":1,"id":..,"ok":true,"result": and returns the packer; the
// caller packs exactly one object (usually a map).
msgpack_packer *azo_reply_result(azo_reply_t *r);

// Writes an ok reply with an empty result map. Returns 0.
int azo_reply_ok(azo_reply_t *r);

// Discards anything written and writes an error reply with the wire code of
// rc and a formatted message (cut at AZO_WIRE_MAX_ERRMSG). Returns rc, so
// handlers can `return azo_reply_fail(...)`.
int azo_reply_fail(azo_reply_t *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// The encoded reply (borrowed until the next start/fini), or NULL if none
// was written.
const void *azo_reply_data(const azo_reply_t *r, size_t *len);

// A decoded reply: a view into the decoded buffer, like azo_req_t.
typedef struct {
    msgpack_zone *zone; // owned; cleared by each decode
    msgpack_object root;
    bool has_id;
    uint64_t id;
    bool ok;
    const msgpack_object *result; // ok: the result (any type)
    int rc;                       // !ok: AZO_E* of the code
    const char *code;             // !ok: wire code, NUL-terminated
    const char *message;          // !ok: message, NUL-terminated
} azo_rep_t;

int azo_rep_init(azo_rep_t *rep);
void azo_rep_fini(azo_rep_t *rep);
int azo_rep_decode(azo_rep_t *rep, const void *buf, size_t len, char *err,
                   size_t errlen);

// Packs an event body head: a map of 4 + nfields entries starting with v,
// ts (Unix ms), node and src; the caller packs nfields key/value pairs.
void azo_event_pack(msgpack_packer *pk, int64_t ts, const char *node,
                    const char *src, uint32_t nfields);

// Returns true when topic[0..len) is a valid event topic.
bool azo_wire_topic_ok(const char *topic, size_t len);

// A decoded event (subscribers, tests): a view like azo_req_t.
typedef struct {
    msgpack_zone *zone;
    msgpack_object root; // the body map
    char topic[AZO_WIRE_MAX_TOPIC + 1];
    int64_t ts;
    const char *node; // NUL-terminated, in zone
    const char *src;
} azo_event_t;

int azo_event_init(azo_event_t *ev);
void azo_event_fini(azo_event_t *ev);
int azo_event_decode(azo_event_t *ev, const void *topic, size_t tlen,
                     const void *body, size_t len, char *err, size_t errlen);

// Wall-clock time in Unix milliseconds (the "ts" of events).
int64_t azo_wire_now_ms(void);

#endif
