// pay_gw — the payment gateways of the payment-recovery actor (#7): one
// charge request in, one classified outcome out, always through the
// callback from the owner's zloop, never from inside pay_gw_charge. Owner's
// thread only. Does not retry, back off or persist anything: the actor does.
//
// "http": a Stripe-style API (POST url/v1/charges, form-encoded, with
// Idempotency-Key) through libcurl's multi interface on the owner's zloop,
// no thread of its own; OK needs a 2xx JSON answer with a string "id".
// "sandbox": built in, deterministic by payment-method token, answering
// after sandbox_latency_ms: pm_card_declined, pm_card_insufficient_funds
// (DECLINE 402); pm_invalid (INVALID 400 parameter_invalid); pm_auth (AUTH
// 401); pm_fail_N (RETRY 500, unknown), pm_ratelimit_N (RETRY 429, retry
// after 1 s) and pm_timeout_N (RETRY "timeout", unknown, after timeout_ms)
// while attempt <= N, then OK; pm_timeout (always a timeout); anything else
// OK, charge id "ch_sb_" + a hash of the key. A key that succeeded answers
// OK again whatever the token, or INVALID idempotency_error if the other
// fields differ (the last 100,000 such keys are remembered).
#ifndef PAY_GW_H
#define PAY_GW_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pay_gw pay_gw_t;

typedef enum {
    PAY_OUT_OK,      // charged; charge_id set
    PAY_OUT_RETRY,   // transient (network, timeout, 5xx, 429, 409 key in
                     // use, a 2xx not understood): retry with the same key
    PAY_OUT_DECLINE, // hard decline (402 card_error): no retry
    PAY_OUT_INVALID, // validation error (400, idempotency_error, other
                     // 4xx): no retry
    PAY_OUT_AUTH,    // the gateway refused our credentials (401/403): not
                     // the payment's fault
} pay_out_kind_t;

typedef struct {
    pay_out_kind_t kind;
    // RETRY where the request may have been executed: a timeout or a lost
    // connection after the request was sent, HTTP 500 (any 5xx but 502,
    // 503, 504), a 2xx that is pending or not understood. false for
    // connect failures, 502/503/504, 429, 409.
    bool unknown;
    int http;               // HTTP status, 0 when none
    int64_t retry_after_ms; // Retry-After of a 429/503 (seconds or
                            // HTTP-date), else -1
    // "card_declined", "insufficient_funds" (a decline's decline_code, else
    // its code), "timeout", "network", "tls", "http_500", "rate_limited",
    // "key_in_use", "idempotency_error", "parameter_invalid", "auth",
    // "pending", "bad_answer"... Only [A-Za-z0-9_.-]; "" on OK.
    char code[64];
    char message[256];   // one printable line: the gateway's error.message
                         // or curl's error text; never holds the API key
    char charge_id[128]; // the gateway's charge id on OK
} pay_outcome_t;

typedef struct {
    const char *id;          // payment id, sent as metadata[payment_id]
    const char *currency;    // ISO-4217, either case; sent lower case
    const char *customer;    // customer reference
    const char *method;      // payment method reference (sandbox: token)
    const char *ikey;        // idempotency key: 1..255 bytes of printable
                             // ASCII without spaces
    const char *description; // may be NULL
    int64_t amount;          // minor units, > 0
    uint32_t attempt;        // 1-based attempt number (sandbox uses it;
                             // 0 counts as 1)
} pay_charge_t;

// Called once per accepted charge, from the loop. out is borrowed for the
// call. It may start charges; it must not destroy the gateway.
typedef void(pay_gw_done_fn)(void *arg, const pay_outcome_t *out);

typedef struct {
    const char *kind;           // "http" | "sandbox"
    const char *url;            // http: base URL; POSTs to url/v1/charges
    const char *api_key;        // http: bearer secret, NULL or "": none.
                                // Copied; never logged nor in error text.
    int64_t timeout_ms;         // per request, in total; 0: 10000
    int64_t connect_timeout_ms; // 0: timeout_ms
    int max_conns;              // connections at most; 0: 32
    int64_t sandbox_latency_ms; // sandbox: answers after this long (0: on
                                // the next loop turn)
} pay_gw_opts_t;

// Builds a gateway on loop (borrowed; must outlive it). Returns 0 with
// *out owned by the caller, or AZO_EBADREQ (bad options: err names the
// field, never the key) or -ENOMEM / AZO_EINTERNAL (libcurl) with *out
// NULL.
int pay_gw_new(pay_gw_t **out, zloop_t *loop, const pay_gw_opts_t *opts,
               char *err, size_t errlen);

// Frees *self_p if not NULL and sets it to NULL; requests in flight are
// dropped without callback. Call it from outside zloop_start, or from a
// reader or poller handler: not from a zloop timer handler (zloop may still
// run a cancelled timer or poller in that pass) nor from its own callback.
void pay_gw_destroy(pay_gw_t **self_p);

// Starts one charge; req and its strings are copied. Returns 0 (fn will be
// called once, from the loop), or AZO_EBADREQ (a field is missing or
// malformed), -ENOMEM, AZO_EINTERNAL; then fn is never called.
int pay_gw_charge(pay_gw_t *self, const pay_charge_t *req, pay_gw_done_fn *fn,
                  void *arg);

// Charges whose callback is still owed.
size_t pay_gw_inflight(const pay_gw_t *self);

// "ok", "retry", "decline", "invalid", "auth"; "?" if unknown. Static.
const char *pay_out_name(int kind);

// The http gateway's classification, pure but for the wall clock an
// HTTP-date Retry-After is measured against: a libcurl result (CURLcode),
// whether the request was sent, the HTTP status, the answer body (JSON,
// any bytes, may be NULL) and the Retry-After header's value (NULL if
// none) -> *out (fully written).
void pay_gw_classify(int curl_code, bool sent, int http, const char *body,
                     size_t len, const char *retry_after, pay_outcome_t *out);

#endif
