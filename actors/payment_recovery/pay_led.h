// pay_led — the payment ledger in LMDB (#7): records, their audit trails,
// the due and status indexes, the counters behind pay.stats and the event
// log behind pay.events, all changed together in one write transaction so
// that a crash leaves either all of a transition or none of it. Every
// transition appends a trail entry; those that publish get the next
// per-node event sequence number, and the events are handed to the caller
// to publish only after the commit. One thread (the actor's) writes.
//
// Keys in the actor's database:
//   p/<id>              the record (pay_rec_pack)
//   t/<id>/<n:be32>     trail entry n (pay_trail_pack), append-only
//   d/<ms:be64><id>     due index: pending, processing (lease), failed
//                       awaiting a retry; value: the status (1 byte)
//   x/<status>/<id>     status index
//   e/<seq:be64>        event log (pruned to the newest events_kept)
//   r/<CUR>             amount recovered in currency CUR
//   m                   counters: per status, seq, first kept seq
#ifndef PAY_LED_H
#define PAY_LED_H

#include "azo_store.h"
#include "pay_rec.h"

typedef struct pay_led pay_led_t;

// An event committed with a transition, to publish after the commit.
typedef struct {
    uint64_t seq;
    char topic[32]; // "pay.retry", "pay.failed", ...
    int64_t ts;
    pay_rec_t rec; // the payment after the transition
} pay_ev_t;

// The counters (pay.stats).
typedef struct {
    int64_t count[PAY_ST_COUNT_];
    int64_t recovered; // payments that succeeded after a failure
    uint64_t seq;      // last event sequence number
    uint64_t first;    // oldest event kept (0: none)
} pay_meta_t;

// Packs ev's PAY_EV_FIELDS key/value pairs (no map header): seq, id,
// status, attempt, amount, currency, code, message, http, next_attempt_ms,
// charge_id. The event log stores them with topic and ts.
#define PAY_EV_FIELDS 11
void pay_led_ev_fields(const pay_ev_t *ev, msgpack_packer *pk);

// Opens the ledger in database db of store, reading the counters
// (recounted from the records when missing). events_kept >= 1. Returns 0
// or a negative code with err set.
int pay_led_open(pay_led_t **out, azo_store_t *store, int db,
                 int64_t events_kept, char *err, size_t errlen);
void pay_led_destroy(pay_led_t **self_p);

const pay_meta_t *pay_led_meta(const pay_led_t *self);

// Begins the write transaction of a batch of transitions. Returns 0 or a
// negative code.
int pay_led_begin(pay_led_t *self);

// The open write transaction (for reads within it), or NULL.
azo_txn_t *pay_led_txn(pay_led_t *self);

// Commits the batch: counters, events and all. Returns 0, or
// AZO_ESTOREFULL (map or disk full: nothing of the batch was written) or
// another negative code; either way the transaction is over.
int pay_led_commit(pay_led_t *self);
void pay_led_abort(pay_led_t *self);

// The events of the last committed batch, in order; valid until the next
// pay_led_begin.
size_t pay_led_events(const pay_led_t *self, const pay_ev_t **evs);

// Reads payment id through txn (the open write transaction or a read
// one). Returns 0, AZO_ENOTFOUND, or AZO_EINTERNAL for a corrupt record
// (logged).
int pay_led_get(pay_led_t *self, azo_txn_t *txn, const char *id,
                pay_rec_t *rec);

// Within the open batch: writes rec, which was old (NULL: a new payment),
// updating the indexes and counters, and appends a trail entry with cause
// (and rec's error when code_too); with topic, also an event. Sets
// rec->trail_n and rec->updated_ms (now). Returns 0 or a negative code
// (AZO_ESTOREFULL: the batch is lost, abort it).
int pay_led_write(pay_led_t *self, const pay_rec_t *old, pay_rec_t *rec,
                  const char *cause, bool code_too, const char *topic,
                  int64_t now);

// Amount recovered in currency cur, through txn.
int64_t pay_led_recovered(pay_led_t *self, azo_txn_t *txn, const char *cur);

// Key helpers for readers (pay.list, pay.events, the sweep).
#define PAY_LED_DUE_KEY_MAX (2 + 8 + PAY_ID_MAX)
size_t pay_led_due_key(char *key, int64_t ms, const char *id);
// Splits a due key; returns false when it is not one.
bool pay_led_due_split(const void *key, size_t klen, int64_t *ms, char *id);
void pay_led_be64(unsigned char *p, uint64_t v);
uint64_t pay_led_get_be64(const unsigned char *p);

#endif
