// pay_rec — one payment of the payment-recovery ledger (#7) and what is
// pure about it: validation of a submission (naming the field that is
// wrong), ISO-4217 currencies, the statuses, the msgpack record and audit
// trail entry with strict decoders, and the retry backoff. No I/O; any
// thread; values in the caller's storage.
#ifndef PAY_REC_H
#define PAY_REC_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAY_ID_MAX     129 // id, customer, method: 1..128 bytes, with NUL
#define PAY_IKEY_MAX   65  // idempotency key, with NUL
#define PAY_CODE_MAX   64  // error code, with NUL
#define PAY_MSG_MAX    256 // error message, description, with NUL
#define PAY_CHARGE_MAX 128
#define PAY_AMOUNT_MAX 100000000000000LL // 10^14 minor units

typedef enum {
    PAY_PENDING,    // accepted, first attempt not made yet
    PAY_PROCESSING, // committed as in flight at the gateway
    PAY_SUCCEEDED,  // charged
    PAY_FAILED,     // failed; retried at next_ms (or awaiting a new method)
    PAY_DEAD,       // given up: dead-lettered
    PAY_ST_COUNT_
} pay_status_t;

// "pending", "processing", "succeeded", "failed", "dead". Static.
const char *pay_status_name(int st);
// The status named s, or -1.
int pay_status_parse(const char *s);

typedef struct {
    char id[PAY_ID_MAX];
    int64_t amount; // minor units, 1..PAY_AMOUNT_MAX
    char currency[4];
    char customer[PAY_ID_MAX];
    char method[PAY_ID_MAX];
    char description[PAY_MSG_MAX];
    char ikey[PAY_IKEY_MAX]; // idempotency key, fixed before the 1st call
    uint8_t status;          // pay_status_t
    uint32_t attempts;       // gateway attempts counted against the limit
    uint32_t calls;          // every gateway call: fences stale answers
    int64_t next_ms;         // wall ms of the next attempt; 0: none
    int64_t created_ms, updated_ms;
    uint32_t trail_n;  // audit trail entries
    bool recovering;   // has failed at least once (a success recovers it)
    bool await_method; // failed: declined, waits for a new payment method
    // The last error (err_code empty: none).
    char err_code[PAY_CODE_MAX];
    char err_msg[PAY_MSG_MAX];
    int err_http;
    bool err_unknown; // the attempt's outcome at the gateway is unknown
    // Some call's outcome was unknown (a timeout, a lost connection, a
    // crash while in flight) and no answer that went through the gateway's
    // idempotency check (a charge, decline or refusal) has come since: the
    // key may have charged, so the payment is not dead-lettered on
    // transient errors alone.
    bool maybe_charged;
    // The next call is not counted as an attempt: the last one was refused
    // for reasons that are not the payment's (credentials, a request with
    // the same key still being executed).
    bool free_retry;
    char charge_id[PAY_CHARGE_MAX];
} pay_rec_t;

// True when s is an active ISO-4217 alphabetic code (upper case).
bool pay_currency_ok(const char *s);

// True when s is a valid payment id: 1..128 bytes of [A-Za-z0-9_.:-].
bool pay_id_ok(const char *s);

// Fills rec (zeroed first) from a submission's args map: id, amount,
// currency (either case; stored upper), customer, method, and optional
// description, status ("pending" or "failed") and error ({code, message,
// http}: why it failed, for a failed one). Returns 0, or AZO_EBADREQ with
// err naming the field: "amount: must be a positive integer".
int pay_rec_from_args(pay_rec_t *rec, const msgpack_object *args, char *err,
                      size_t errlen);

// Packs rec as one map (its durable form; also the answer of pay.get).
void pay_rec_pack(const pay_rec_t *rec, msgpack_packer *pk);

// Replaces rec with the record in obj. Returns 0, or AZO_EBADREQ with the
// reason in err when obj is not a record this module wrote.
int pay_rec_unpack(pay_rec_t *rec, const msgpack_object *obj, char *err,
                   size_t errlen);

// One audit trail entry: a transition, with time and cause.
typedef struct {
    uint32_t n;  // 1-based position in the payment's trail
    int64_t ts;  // wall ms
    int8_t from; // pay_status_t, -1: none (the submission)
    uint8_t to;  // pay_status_t
    uint32_t attempt;
    uint64_t seq;             // the event it published, 0: none
    char cause[PAY_CODE_MAX]; // "submitted", "attempt", "resumed", "ok", ...
    char code[PAY_CODE_MAX];  // error code, "" if none
    char msg[PAY_MSG_MAX];
    int http;
} pay_trail_t;

void pay_trail_pack(const pay_trail_t *t, msgpack_packer *pk);
int pay_trail_unpack(pay_trail_t *t, const msgpack_object *obj, char *err,
                     size_t errlen);

// Delay before attempt number attempt + 1 after attempt failed:
// base * factor^(attempt-1), capped at cap, then spread by +/- jitter
// (0..1) of itself using r in [0,1). All in ms; result >= 0.
int64_t pay_backoff(uint32_t attempt, int64_t base, double factor, int64_t cap,
                    double jitter, double r);

#endif
