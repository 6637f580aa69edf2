// pay_gw — the payment gateways (see pay_gw.h). Owner's thread only.
//
// Every outcome goes out from one of our own zloop handlers: a zloop timer
// (sandbox answers, libcurl's timeouts), one poller per libcurl socket, and
// an eventfd poller, the "kick". zloop timers are only ever armed or
// cancelled from inside those handlers: zloop_timer_end on a loop that has
// not run yet leaves the timer due in its first pass, where it would fire
// with a dangling arg if the gateway were gone by then. A change made
// outside our handlers (pay_gw_charge from the actor's reader or timer)
// writes to the kick instead, and the kick's handler arms the timer. The
// timer is re-armed only when the earliest deadline moves earlier; when it
// moves later, the timer fires early once and is re-armed then. A timer
// cancelled in zloop's timer pass may still fire in that pass: the handler
// ignores any id but the current one.
//
// libcurl's sockets live in one epoll set of ours, which is a single
// tolerant zloop poller: zloop rebuilds its poll set, and ends its pass,
// whenever a poller is added or removed, and libcurl changes what it
// watches at nearly every request; with hundreds of connections one answer
// per pass (and a poll of every socket each time) was the limit. A socket
// closed and its number reused within one epoll batch is passed on anyway:
// libcurl ignores sockets it does not know.
//
// Sandbox answers wait in two FIFO queues, one per delay (latency, timeout),
// each therefore sorted by deadline. A pass delivers only the charges made
// before it began: one whose callback charges again at once waits for the
// next turn instead of starving the loop.
//
// Global state: curl_global_init runs once per process under s_curl_once
// (the first thread that builds an http gateway); s_curl_rc keeps its
// result.
//
// Does not: follow redirects, retry (libcurl may resend a request on a
// reused connection that died before any answer, as browsers do; the
// idempotency key makes that safe), log anything, or keep what the
// gateway answered beyond the outcome.
#define _GNU_SOURCE // explicit_bzero
#include "pay_gw.h"
#include "azo_err.h"
#include "azo_mp.h"

#include <assert.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define S_BODY_MAX        (64 * 1024) // answer bytes kept
#define S_TIMEOUT_MS      10000       // default per request
#define S_CONNS           32          // default connection cap
#define S_CONNS_MAX       4096
#define S_MAX_DELAY_MS    (24 * 3600 * 1000) // longest timeout or delay
#define S_URL_MAX         2048
#define S_KEY_MAX         1024        // API key bytes
#define S_IKEY_MAX        255         // idempotency key bytes
#define S_FIELD_MAX       4096        // id, customer, method...
#define S_SB_KEYS         100000      // succeeded keys remembered
#define S_EXPIRE_BUDGET   4096        // answers delivered per pass
#define S_RETRY_AFTER_MAX (24 * 3600) // seconds
#define S_RATELIMIT_MS    1000        // sandbox Retry-After
#define S_BEARER          "Authorization: Bearer "
#define S_BEARER_LEN      (sizeof S_BEARER - 1)

typedef struct s_req s_req_t;

// One charge whose callback is owed.
struct s_req {
    s_req_t *prev, *next; // in pay_gw.reqs
    s_req_t *qnext;       // sandbox: in its answer queue
    uint64_t serial;      // pay_gw.serial when charged
    pay_gw_done_fn *fn;
    void *arg;
    // sandbox
    int64_t due;       // zclock_mono() ms when the answer goes out
    pay_outcome_t out; // decided at charge time
    // http
    CURL *easy;                 // owned, in the multi handle
    struct curl_slist *headers; // owned; wiped before freeing (the key)
    char *form;                 // owned, the POST body
    size_t form_len, form_sent; // read by s_on_read
    char *body;                 // owned, the answer's first S_BODY_MAX bytes
    size_t body_len, body_alloc;
    char retry_after[64]; // the Retry-After header's value, "" if none
    char errbuf[CURL_ERROR_SIZE];
};

// The sandbox's memory of succeeded keys: a FIFO ring of at most S_SB_KEYS,
// indexed by key.
typedef struct {
    char *key;   // owned
    uint64_t fp; // the parameters' fingerprint
} s_key_t;

struct pay_gw {
    zloop_t *loop; // borrowed
    bool http;
    bool closing;       // being destroyed: libcurl's callbacks do nothing
    char *url;          // owned: the charges endpoint
    char *auth;         // owned "Authorization: Bearer <key>", wiped; NULL
    int64_t timeout_ms; // per request
    int64_t connect_ms; // connect phase
    int64_t latency_ms; // sandbox
    int kickfd;         // owned eventfd, a zloop poller
    bool kicked;        // kickfd written, not yet drained
    int timer_id;       // our zloop timer, -1 when none
    int64_t timer_at;   // when it fires
    int depth;          // > 0 inside our own zloop handlers
    uint64_t serial;    // charges made so far
    size_t inflight;    // callbacks owed
    s_req_t *reqs;      // owned: every charge in flight
    s_req_t *qhead[2];  // sandbox answer queues (borrowed from reqs):
    s_req_t *qtail[2];  // [0] after latency_ms, [1] after timeout_ms
    zhashx_t *keys_idx; // sandbox: key (borrowed from ring) -> index + 1
    s_key_t *ring;      // owned, ring_alloc entries
    size_t ring_n, ring_alloc, ring_head;
    CURLM *multi;    // owned
    int64_t curl_at; // libcurl's timeout (mono ms), -1 when none
    CURL **pool;     // owned: idle easy handles, up to pool_cap
    size_t npool, pool_cap;
    int epfd; // owned epoll set of libcurl's sockets, one zloop poller
};

static pthread_once_t s_curl_once = PTHREAD_ONCE_INIT;
static CURLcode s_curl_rc = CURLE_FAILED_INIT;

static void
s_curl_global_init_g(void)
{
    s_curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

const char *
pay_out_name(int kind)
{
    static const char *const names[] = {"ok", "retry", "decline", "invalid",
                                        "auth"};
    if (kind < 0 || (size_t)kind >= sizeof names / sizeof names[0])
        return "?";
    return names[kind];
}

// --- classification

// Copies s into out->code, keeping [A-Za-z0-9_.-] ('_' for anything else).
// Returns false, writing nothing, when s is NULL or empty.
static bool
s_set_code(pay_outcome_t *out, const char *s)
{
    if (!s || !*s)
        return false;
    size_t i = 0;
    for (; s[i] && i < sizeof out->code - 1; i++) {
        unsigned char c = (unsigned char)s[i];
        out->code[i] =
            (char)(isalnum(c) || c == '_' || c == '.' || c == '-' ? c : '_');
    }
    out->code[i] = 0;
    return true;
}

static void
s_set_msg(pay_outcome_t *out, const char *s, size_t len)
{
    (void)azo_mp_clean_text(out->message, sizeof out->message, s, len);
}

// "HTTP <n>", and the answer's first bytes when they are not JSON (a
// proxy's error page says more than the status alone).
static void
s_msg_fallback(pay_outcome_t *out, int http, const char *body, size_t len,
               bool json)
{
    int n = snprintf(out->message, sizeof out->message, "HTTP %d", http);
    if (json || !body || len == 0 || n < 0 ||
        (size_t)n + 3 >= sizeof out->message)
        return;
    memcpy(out->message + n, ": ", 3);
    n += 2;
    size_t take = len < 120 ? len : 120;
    (void)azo_mp_clean_text(out->message + n, sizeof out->message - (size_t)n,
                            body, take);
}

// The string under key in obj, or NULL.
static const char *
s_jstr(json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

// Retry-After: delay-seconds or an HTTP-date, in ms from now (>= 0,
// capped), or -1 when absent or unreadable.
static int64_t
s_retry_after_ms(const char *v)
{
    if (!v)
        return -1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' ||
                     v[n - 1] == '\n'))
        n--;
    if (n == 0)
        return -1;
    int64_t secs = 0;
    if (strspn(v, "0123456789") >= n) {
        for (size_t i = 0; i < n && secs < S_RETRY_AFTER_MAX; i++)
            secs = secs * 10 + (v[i] - '0');
    } else {
        char date[64];
        if (n >= sizeof date)
            return -1;
        memcpy(date, v, n);
        date[n] = 0;
        time_t at = curl_getdate(date, NULL);
        if (at == (time_t)-1)
            return -1;
        time_t now = time(NULL);
        secs = at > now ? (int64_t)(at - now) : 0;
    }
    if (secs > S_RETRY_AFTER_MAX)
        secs = S_RETRY_AFTER_MAX;
    return secs * 1000;
}

static void
s_curl_outcome(int curl_code, bool sent, pay_outcome_t *out)
{
    out->kind = PAY_OUT_RETRY;
    out->unknown = sent;
    const char *code = "network";
    switch (curl_code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        // Nothing reached the gateway, unless this transfer had sent its
        // request before (a retry of libcurl's own on a fresh connection).
        break;
    case CURLE_SEND_FAIL_REWIND:
        // A reused connection died after the request was sent and libcurl
        // wanted to send it again (see s_on_read): it may have executed.
        out->unknown = true;
        break;
    case CURLE_OPERATION_TIMEDOUT:
        code = "timeout";
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
        code = "tls";
        break;
    default: // GOT_NOTHING, RECV_ERROR, SEND_ERROR, PARTIAL_FILE...
        break;
    }
    (void)s_set_code(out, code);
    const char *text = curl_easy_strerror((CURLcode)curl_code);
    s_set_msg(out, text, strlen(text));
}

// A 2xx: a charge object, {"id", "status", ...}.
static void
s_success(json_t *root, int http, const char *body, size_t len,
          pay_outcome_t *out)
{
    const char *id = s_jstr(root, "id");
    const char *st = s_jstr(root, "status");
    if (!id || !*id) {
        // Not a charge we understand: whatever happened at the gateway,
        // the same key will tell on the next attempt.
        out->kind = PAY_OUT_RETRY;
        out->unknown = true;
        (void)s_set_code(out, "bad_answer");
        s_msg_fallback(out, http, body, len, root != NULL);
        size_t n = strlen(out->message);
        snprintf(out->message + n, sizeof out->message - n, "%s",
                 root ? " without a charge id" : "");
        return;
    }
    if (!st || strcmp(st, "succeeded") == 0) {
        out->kind = PAY_OUT_OK;
        (void)azo_mp_clean_text(out->charge_id, sizeof out->charge_id, id,
                                strlen(id));
        return;
    }
    if (strcmp(st, "failed") == 0 || strcmp(st, "canceled") == 0) {
        out->kind = PAY_OUT_DECLINE;
        if (!s_set_code(out, s_jstr(root, "failure_code")))
            (void)s_set_code(out, st);
        const char *m = s_jstr(root, "failure_message");
        if (m && *m)
            s_set_msg(out, m, strlen(m));
        else
            snprintf(out->message, sizeof out->message, "charge %s", st);
        return;
    }
    // "pending", "processing" or a status we do not know: not settled.
    out->kind = PAY_OUT_RETRY;
    out->unknown = true;
    (void)s_set_code(out, "pending");
    char m[96];
    snprintf(m, sizeof m, "charge status '%.64s'", st);
    s_set_msg(out, m, strlen(m));
}

// Anything but a 2xx: {"error": {"type", "code", "decline_code",
// "message", "param"}} when the gateway says more.
static void
s_failure(json_t *root, int http, const char *body, size_t len,
          const char *retry_after, pay_outcome_t *out)
{
    json_t *e = json_is_object(root) ? json_object_get(root, "error") : NULL;
    if (!json_is_object(e))
        e = NULL;
    const char *type = s_jstr(e, "type"), *code = s_jstr(e, "code");
    const char *msg = s_jstr(e, "message"), *param = s_jstr(e, "param");
    if (msg && *msg) {
        s_set_msg(out, msg, strlen(msg));
        size_t n = strlen(out->message);
        if (param && *param && n + 12 < sizeof out->message) {
            memcpy(out->message + n, " (param: ", 10);
            n += 9;
            n += azo_mp_clean_text(out->message + n, sizeof out->message - n,
                                   param, strlen(param));
            if (n + 1 < sizeof out->message) {
                out->message[n] = ')';
                out->message[n + 1] = 0;
            }
        }
    } else
        s_msg_fallback(out, http, body, len, root != NULL);

    char generic[16];
    snprintf(generic, sizeof generic, "http_%d", http);
    bool card = type && strcmp(type, "card_error") == 0;
    if (http == 401 || http == 403) {
        out->kind = PAY_OUT_AUTH;
        (void)s_set_code(out, "auth");
    } else if (http == 402 || (card && http >= 400 && http < 500)) {
        out->kind = PAY_OUT_DECLINE;
        if (!s_set_code(out, s_jstr(e, "decline_code")) &&
            !s_set_code(out, code))
            (void)s_set_code(out, "card_declined");
    } else if (http == 409) {
        // Another request with this key is being executed: ours was not.
        out->kind = PAY_OUT_RETRY;
        (void)s_set_code(out, "key_in_use");
    } else if (http == 429) {
        out->kind = PAY_OUT_RETRY;
        out->retry_after_ms = s_retry_after_ms(retry_after);
        (void)s_set_code(out, "rate_limited");
    } else if (http >= 400 && http < 500) {
        out->kind = PAY_OUT_INVALID;
        if (type && strcmp(type, "idempotency_error") == 0)
            (void)s_set_code(out, "idempotency_error");
        else if (!s_set_code(out, code))
            (void)s_set_code(out, generic);
    } else if (http >= 500 && http < 600) {
        // 502/503/504 come from in front of the gateway, or from a gateway
        // that did not take the request; a 500 may have failed half-way.
        out->kind = PAY_OUT_RETRY;
        out->unknown = http != 502 && http != 503 && http != 504;
        if (http == 503)
            out->retry_after_ms = s_retry_after_ms(retry_after);
        (void)s_set_code(out, generic);
    } else {
        // 1xx, 3xx (redirects are not followed), nonsense: we cannot tell.
        out->kind = PAY_OUT_RETRY;
        out->unknown = true;
        (void)s_set_code(out, generic);
    }
}

void
pay_gw_classify(int curl_code, bool sent, int http, const char *body,
                size_t len, const char *retry_after, pay_outcome_t *out)
{
    assert(out);
    memset(out, 0, sizeof *out);
    out->http = http;
    out->retry_after_ms = -1;
    if (curl_code != CURLE_OK) {
        s_curl_outcome(curl_code, sent, out);
        return;
    }
    json_t *root = body && len > 0 ? json_loadb(body, len, 0, NULL) : NULL;
    if (http >= 200 && http < 300)
        s_success(root, http, body, len, out);
    else
        s_failure(root, http, body, len, retry_after, out);
    json_decref(root);
}

// --- requests

static void
s_link(pay_gw_t *self, s_req_t *r)
{
    r->prev = NULL;
    r->next = self->reqs;
    if (self->reqs)
        self->reqs->prev = r;
    self->reqs = r;
    self->inflight++;
}

static void
s_unlink(pay_gw_t *self, s_req_t *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        self->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    self->inflight--;
}

// Frees r and what it holds, except its easy handle (the caller's).
static void
s_req_free(s_req_t *r)
{
    for (struct curl_slist *h = r->headers; h; h = h->next)
        explicit_bzero(h->data, strlen(h->data));
    curl_slist_free_all(r->headers);
    free(r->form);
    free(r->body);
    free(r);
}

// Out of the index, freed, then the callback: it may charge again.
static void
s_finish(pay_gw_t *self, s_req_t *r, const pay_outcome_t *out)
{
    pay_gw_done_fn *fn = r->fn;
    void *arg = r->arg;
    pay_outcome_t copy = *out; // out may live in r
    s_unlink(self, r);
    s_req_free(r);
    fn(arg, &copy);
}

// --- timer and kick

static int s_on_timer(zloop_t *loop, int timer_id, void *arg);

static int64_t
s_next_deadline(const pay_gw_t *self)
{
    int64_t at = self->curl_at;
    for (int q = 0; q < 2; q++)
        if (self->qhead[q] && (at < 0 || self->qhead[q]->due < at))
            at = self->qhead[q]->due;
    return at;
}

static void
s_kick(pay_gw_t *self)
{
    uint64_t one = 1;
    // An eventfd write fails only when the counter would overflow, and
    // then it is readable already.
    if (write(self->kickfd, &one, sizeof one) == sizeof one)
        self->kicked = true;
}

// Inside our handlers only (see the file comment): arms the zloop timer
// for the earliest deadline unless it is armed early enough already.
static void
s_sync_timer(pay_gw_t *self)
{
    if (self->closing)
        return;
    int64_t at = s_next_deadline(self);
    if (at < 0) {
        if (self->timer_id >= 0)
            (void)zloop_timer_end(self->loop, self->timer_id); // ours
        self->timer_id = -1;
        return;
    }
    if (self->timer_id >= 0 && self->timer_at <= at)
        return; // fires early at worst, and is re-armed then
    if (self->timer_id >= 0)
        (void)zloop_timer_end(self->loop, self->timer_id);
    int64_t delay = at - zclock_mono();
    if (delay < 0)
        delay = 0;
    if (delay > S_MAX_DELAY_MS)
        delay = S_MAX_DELAY_MS; // fires early; re-armed then
    self->timer_id =
        zloop_timer(self->loop, (size_t)delay, 1, s_on_timer, self);
    self->timer_at = at;
    // czmq aborts when out of memory, so this is not expected; if it
    // happens anyway, the kick brings us back to try again.
    if (self->timer_id < 0 && !self->kicked)
        s_kick(self);
}

// After a change made outside our handlers: makes sure a handler runs soon
// enough to arm the timer.
static void
s_request(pay_gw_t *self)
{
    if (self->depth > 0 || self->kicked)
        return; // the handler re-arms on its way out
    int64_t at = s_next_deadline(self);
    if (at < 0 || (self->timer_id >= 0 && self->timer_at <= at))
        return;
    s_kick(self);
}

// --- libcurl

// The key never goes into an outcome's message, whatever the gateway
// echoes. The code and charge id are checked only for keys long enough
// not to turn up in them by chance ("a" is in "card_declined").
static void
s_withhold_key(const pay_gw_t *self, pay_outcome_t *out)
{
    const char *key = self->auth ? self->auth + S_BEARER_LEN : NULL;
    if (!key)
        return;
    if (strstr(out->message, key))
        snprintf(out->message, sizeof out->message,
                 "(withheld: the gateway's message held our API key)");
    if (strlen(key) < 16)
        return;
    if (strstr(out->code, key))
        (void)s_set_code(out, "withheld");
    if (strstr(out->charge_id, key)) {
        // No charge id we can keep: the same key will tell next time.
        out->charge_id[0] = 0;
        out->kind = PAY_OUT_RETRY;
        out->unknown = true;
        (void)s_set_code(out, "withheld");
    }
}

static void
s_curl_done(pay_gw_t *self)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(self->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        // m is gone once the handle is removed: read it first.
        CURL *easy = m->easy_handle;
        CURLcode cc = m->data.result;
        char *priv = NULL;
        long http = 0, sent = 0;
        (void)curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        s_req_t *r = (s_req_t *)(void *)priv;
        (void)curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http);
        // Bytes of request written to the socket: 0 when it never left.
        (void)curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &sent);
        assert(r && r->easy == easy);
        pay_outcome_t out;
        pay_gw_classify((int)cc, sent > 0, (int)http, r->body, r->body_len,
                        r->retry_after[0] ? r->retry_after : NULL, &out);
        if (cc != CURLE_OK && r->errbuf[0])
            s_set_msg(&out, r->errbuf, strlen(r->errbuf));
        s_withhold_key(self, &out);
        (void)curl_multi_remove_handle(self->multi, easy);
        r->easy = NULL;
        curl_easy_reset(easy);
        if (self->npool < self->pool_cap)
            self->pool[self->npool++] = easy; // its connection stays open
        else
            curl_easy_cleanup(easy);
        s_finish(self, r, &out);
    }
}

static void
s_curl_action(pay_gw_t *self, curl_socket_t fd, int mask)
{
    int running = 0;
    (void)curl_multi_socket_action(self->multi, fd, mask, &running);
    s_curl_done(self);
    // libcurl calls the timer callback only when its earliest timeout
    // changes: if our ms-grained timer came a little early, its timeout is
    // still pending and it says nothing. Ask.
    if (self->curl_at < 0 && self->inflight > 0) {
        long ms = -1;
        if (curl_multi_timeout(self->multi, &ms) == CURLM_OK && ms >= 0)
            self->curl_at = zclock_mono() + (ms > 0 ? ms : 1);
    }
}

static int
s_curl_timer(CURLM *multi, long timeout_ms, void *arg)
{
    pay_gw_t *self = arg;
    (void)multi;
    if (self->closing)
        return 0;
    self->curl_at = timeout_ms < 0 ? -1 : zclock_mono() + timeout_ms;
    s_request(self); // from pay_gw_charge; inside handlers, a no-op
    return 0;
}

// The epoll set is readable: every ready socket goes to libcurl, up to a
// batch per call (zloop calls again while any stays ready).
static int
s_on_epoll(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    pay_gw_t *self = arg;
    (void)loop;
    (void)item;
    struct epoll_event evs[128];
    int n = epoll_wait(self->epfd, evs, 128, 0);
    self->depth++;
    for (int i = 0; i < n; i++) {
        uint32_t e = evs[i].events;
        int mask = ((e & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                   ((e & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                   ((e & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
        // A socket closed (and its number reused) earlier in this batch
        // is passed on all the same: libcurl ignores sockets it does not
        // know.
        s_curl_action(self, (curl_socket_t)evs[i].data.fd, mask);
    }
    self->depth--;
    s_sync_timer(self);
    return 0;
}

// libcurl says what it wants to hear about a socket; socketp holds the
// epoll events it is registered with now (0: none).
static int
s_curl_sock(CURL *easy, curl_socket_t s, int what, void *arg, void *socketp)
{
    pay_gw_t *self = arg;
    (void)easy;
    if (self->closing)
        return 0;
    uint32_t have = (uint32_t)(uintptr_t)socketp;
    uint32_t want = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        want |= EPOLLIN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        want |= EPOLLOUT;
    if (what == CURL_POLL_REMOVE)
        want = 0;
    if (want == have)
        return 0;
    struct epoll_event ev = {.events = want, .data.fd = s};
    int op = !have ? EPOLL_CTL_ADD : want ? EPOLL_CTL_MOD : EPOLL_CTL_DEL;
    if (epoll_ctl(self->epfd, op, s, &ev) < 0 && op != EPOLL_CTL_DEL)
        want = 0; // not watched (no memory): the transfer ends at its timeout
    if (what != CURL_POLL_REMOVE)
        (void)curl_multi_assign(self->multi, s, (void *)(uintptr_t)want);
    return 0;
}

// --- sandbox

static uint64_t
s_fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 1099511628211ULL;
    }
    return h;
}

#define S_FNV_BASIS 14695981039346656037ULL

// The parameters a key was first used with, as one number.
static uint64_t
s_fingerprint(const pay_charge_t *req)
{
    char amount[32];
    int n = snprintf(amount, sizeof amount, "%lld", (long long)req->amount);
    uint64_t h = s_fnv(S_FNV_BASIS, amount, (size_t)n + 1);
    for (int i = 0; i < 3; i++) {
        char c = (char)tolower((unsigned char)req->currency[i]);
        h = s_fnv(h, &c, 1);
    }
    const char *s[] = {req->customer, req->method, req->id,
                       req->description ? req->description : ""};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        h = s_fnv(h, s[i], strlen(s[i]) + 1);
    return h;
}

static const s_key_t *
s_key_find(const pay_gw_t *self, const char *ikey)
{
    uintptr_t i = (uintptr_t)zhashx_lookup(self->keys_idx, ikey);
    return i ? &self->ring[i - 1] : NULL;
}

// Remembers a succeeded key, forgetting the oldest past S_SB_KEYS. Best
// effort: out of memory, the key is not remembered.
static void
s_key_add(pay_gw_t *self, const char *ikey, uint64_t fp)
{
    char *key = strdup(ikey);
    if (!key)
        return;
    size_t i;
    if (self->ring_n < S_SB_KEYS) {
        // The ring fills before it wraps: entries are [0, ring_n).
        if (self->ring_n == self->ring_alloc) {
            size_t n = self->ring_alloc ? self->ring_alloc * 2 : 256;
            if (n > S_SB_KEYS)
                n = S_SB_KEYS;
            s_key_t *ring = realloc(self->ring, n * sizeof *ring);
            if (!ring) {
                free(key);
                return;
            }
            self->ring = ring;
            self->ring_alloc = n;
        }
        i = self->ring_n++;
    } else {
        i = self->ring_head;
        self->ring_head = (self->ring_head + 1) % S_SB_KEYS;
        zhashx_delete(self->keys_idx, self->ring[i].key);
        free(self->ring[i].key);
    }
    self->ring[i] = (s_key_t){key, fp};
    // Absent (looked up first), and czmq aborts when out of memory.
    (void)zhashx_insert(self->keys_idx, key, (void *)(uintptr_t)(i + 1));
}

// True when method is "<prefix><N>" with N a decimal uint32; sets *n.
static bool
s_token_n(const char *method, const char *prefix, uint32_t *n)
{
    size_t plen = strlen(prefix);
    if (strncmp(method, prefix, plen) != 0)
        return false;
    const char *d = method + plen;
    size_t digits = strspn(d, "0123456789");
    if (digits == 0 || digits > 9 || d[digits] != 0)
        return false;
    *n = (uint32_t)strtoul(d, NULL, 10);
    return true;
}

static void
s_sb_set(pay_outcome_t *out, pay_out_kind_t kind, int http, const char *code,
         const char *msg)
{
    out->kind = kind;
    out->http = http;
    (void)s_set_code(out, code);
    snprintf(out->message, sizeof out->message, "%s", msg);
}

// Decides the sandbox's answer to req; *slow when it comes after
// timeout_ms rather than the latency.
static void
s_sb_decide(pay_gw_t *self, const pay_charge_t *req, pay_outcome_t *out,
            bool *slow)
{
    memset(out, 0, sizeof *out);
    out->retry_after_ms = -1;
    *slow = false;
    uint64_t fp = s_fingerprint(req);
    const s_key_t *k = s_key_find(self, req->ikey);
    uint32_t attempt = req->attempt ? req->attempt : 1, n = 0;
    const char *m = req->method;
    if (k && k->fp != fp)
        s_sb_set(out, PAY_OUT_INVALID, 400, "idempotency_error",
                 "Keys for idempotent requests can only be used with the "
                 "same parameters they were first used with (sandbox)");
    else if (k)
        out->kind = PAY_OUT_OK; // the first answer again
    else if (strcmp(m, "pm_card_declined") == 0)
        s_sb_set(out, PAY_OUT_DECLINE, 402, "card_declined",
                 "Your card was declined (sandbox)");
    else if (strcmp(m, "pm_card_insufficient_funds") == 0)
        s_sb_set(out, PAY_OUT_DECLINE, 402, "insufficient_funds",
                 "Your card has insufficient funds (sandbox)");
    else if (strcmp(m, "pm_invalid") == 0)
        s_sb_set(out, PAY_OUT_INVALID, 400, "parameter_invalid",
                 "Invalid payment_method (sandbox) (param: payment_method)");
    else if (strcmp(m, "pm_auth") == 0)
        s_sb_set(out, PAY_OUT_AUTH, 401, "auth",
                 "Invalid API key provided (sandbox)");
    else if (s_token_n(m, "pm_fail_", &n) && attempt <= n) {
        s_sb_set(out, PAY_OUT_RETRY, 500, "http_500",
                 "Internal server error (sandbox)");
        out->unknown = true;
    } else if (s_token_n(m, "pm_ratelimit_", &n) && attempt <= n) {
        s_sb_set(out, PAY_OUT_RETRY, 429, "rate_limited",
                 "Too many requests (sandbox)");
        out->retry_after_ms = S_RATELIMIT_MS;
    } else if (strcmp(m, "pm_timeout") == 0 ||
               (s_token_n(m, "pm_timeout_", &n) && attempt <= n)) {
        s_sb_set(out, PAY_OUT_RETRY, 0, "timeout", "");
        snprintf(out->message, sizeof out->message,
                 "no answer within %lld ms (sandbox)",
                 (long long)self->timeout_ms);
        out->unknown = true;
        *slow = true;
    } else {
        out->kind = PAY_OUT_OK;
        s_key_add(self, req->ikey, fp);
    }
    if (out->kind == PAY_OUT_OK) {
        out->http = 200;
        uint64_t h = s_fnv(S_FNV_BASIS, req->ikey, strlen(req->ikey));
        snprintf(out->charge_id, sizeof out->charge_id, "ch_sb_%016llx",
                 (unsigned long long)h);
    }
}

static void
s_sb_start(pay_gw_t *self, s_req_t *r, const pay_charge_t *req)
{
    bool slow;
    s_sb_decide(self, req, &r->out, &slow);
    int q = slow ? 1 : 0;
    r->due = zclock_mono() + (slow ? self->timeout_ms : self->latency_ms);
    r->qnext = NULL;
    if (self->qtail[q])
        self->qtail[q]->qnext = r;
    else
        self->qhead[q] = r;
    self->qtail[q] = r;
}

// The earliest queued answer due by now among charges made up to serial
// last, taken out of its queue; NULL when none.
static s_req_t *
s_sb_pop(pay_gw_t *self, int64_t now, uint64_t last)
{
    int best = -1;
    for (int q = 0; q < 2; q++) {
        s_req_t *h = self->qhead[q];
        if (h && h->due <= now && h->serial <= last &&
            (best < 0 || h->due < self->qhead[best]->due))
            best = q;
    }
    if (best < 0)
        return NULL;
    s_req_t *r = self->qhead[best];
    self->qhead[best] = r->qnext;
    if (!r->qnext)
        self->qtail[best] = NULL;
    r->qnext = NULL;
    return r;
}

// --- http requests

typedef struct {
    char *buf;
    size_t len, cap;
    bool oom;
} s_buf_t;

static void
s_put(s_buf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *buf = realloc(b->buf, cap);
        if (!buf) {
            b->oom = true;
            return;
        }
        b->buf = buf;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = 0;
}

// "&name=<value url-encoded>" (no '&' first).
static void
s_put_field(s_buf_t *b, CURL *easy, const char *name, const char *value)
{
    if (b->len)
        s_put(b, "&", 1);
    s_put(b, name, strlen(name));
    s_put(b, "=", 1);
    char *esc = curl_easy_escape(easy, value, 0);
    if (!esc) {
        b->oom = true;
        return;
    }
    s_put(b, esc, strlen(esc));
    curl_free(esc);
}

// The form body, or NULL when out of memory.
static char *
s_form(CURL *easy, const pay_charge_t *req)
{
    s_buf_t b = {0};
    char amount[32], currency[4];
    snprintf(amount, sizeof amount, "%lld", (long long)req->amount);
    for (int i = 0; i < 3; i++)
        currency[i] = (char)tolower((unsigned char)req->currency[i]);
    currency[3] = 0;
    s_put_field(&b, easy, "amount", amount);
    s_put_field(&b, easy, "currency", currency);
    s_put_field(&b, easy, "customer", req->customer);
    s_put_field(&b, easy, "payment_method", req->method);
    if (req->description && *req->description)
        s_put_field(&b, easy, "description", req->description);
    s_put_field(&b, easy, "metadata%5Bpayment_id%5D", req->id);
    if (b.oom) {
        free(b.buf);
        return NULL;
    }
    return b.buf;
}

// The POST body, fed by a read callback with no seek callback: when a
// reused connection dies before any answer, libcurl would otherwise send
// the request again on a fresh one by itself, and a charge executed by the
// first send would be hidden behind the second send's answer (a 429, say).
// Without a way to rewind, libcurl fails the transfer instead
// (CURLE_SEND_FAIL_REWIND), which is classified as a network error whose
// outcome is unknown: the ledger then knows the key may have charged.
static size_t
s_on_read(char *buf, size_t size, size_t n, void *arg)
{
    s_req_t *r = arg;
    size_t room = size * n, left = r->form_len - r->form_sent;
    size_t k = left < room ? left : room;
    memcpy(buf, r->form + r->form_sent, k);
    r->form_sent += k;
    return k;
}

static size_t
s_on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    s_req_t *r = arg;
    size_t n = size * nmemb; // size is 1
    size_t take = r->body_len < S_BODY_MAX ? S_BODY_MAX - r->body_len : 0;
    if (take > n)
        take = n;
    if (take == 0)
        return n; // past the cap: read and dropped
    if (r->body_len + take > r->body_alloc) {
        size_t cap = r->body_alloc ? r->body_alloc : 1024;
        while (cap < r->body_len + take)
            cap *= 2;
        if (cap > S_BODY_MAX)
            cap = S_BODY_MAX;
        char *body = realloc(r->body, cap);
        if (!body)
            return n; // classified without it
        r->body = body;
        r->body_alloc = cap;
    }
    memcpy(r->body + r->body_len, data, take);
    r->body_len += take;
    return n;
}

static size_t
s_on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    s_req_t *r = arg;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0)
        r->retry_after[0] = 0; // a new answer (after a 100 Continue)
    else if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        const char *v = data + 12;
        size_t vlen = n - 12;
        while (vlen > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            vlen--;
        }
        while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
                            v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
            vlen--;
        if (vlen >= sizeof r->retry_after)
            vlen = 0; // no such date or delay: ignored
        memcpy(r->retry_after, v, vlen);
        r->retry_after[vlen] = 0;
    }
    return n;
}

static CURL *
s_easy_get(pay_gw_t *self)
{
    if (self->npool > 0)
        return self->pool[--self->npool];
    return curl_easy_init();
}

static int
s_http_start(pay_gw_t *self, s_req_t *r, const pay_charge_t *req)
{
    CURL *easy = s_easy_get(self);
    if (!easy)
        return -ENOMEM;
    r->form = s_form(easy, req);
    char idem[S_IKEY_MAX + 20];
    snprintf(idem, sizeof idem, "Idempotency-Key: %s", req->ikey);
    const char *lines[] = {
        "Content-Type: application/x-www-form-urlencoded",
        "Accept: application/json",
        "Expect:", // no 100-continue round trip
        idem,
        self->auth,
    };
    int rc = r->form ? 0 : -ENOMEM;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0] && !rc; i++) {
        if (!lines[i])
            continue;
        struct curl_slist *h = curl_slist_append(r->headers, lines[i]);
        if (!h)
            rc = -ENOMEM;
        else
            r->headers = h;
    }
    r->errbuf[0] = 0;
    r->form_len = r->form ? strlen(r->form) : 0;
    r->form_sent = 0;
    if (!rc &&
        (curl_easy_setopt(easy, CURLOPT_URL, self->url) ||
         curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") ||
         curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) ||
         curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)self->timeout_ms) ||
         curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                          (long)self->connect_ms) ||
         curl_easy_setopt(easy, CURLOPT_POST, 1L) ||
         curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)r->form_len) ||
         curl_easy_setopt(easy, CURLOPT_READFUNCTION, s_on_read) ||
         curl_easy_setopt(easy, CURLOPT_READDATA, r) ||
         curl_easy_setopt(easy, CURLOPT_HTTPHEADER, r->headers) ||
         curl_easy_setopt(easy, CURLOPT_USERAGENT, "azo-pay/1") ||
         curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, s_on_body) ||
         curl_easy_setopt(easy, CURLOPT_WRITEDATA, r) ||
         curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, s_on_header) ||
         curl_easy_setopt(easy, CURLOPT_HEADERDATA, r) ||
         curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, r->errbuf) ||
         curl_easy_setopt(easy, CURLOPT_PRIVATE, r)))
        rc = AZO_EINTERNAL;
    if (!rc && curl_multi_add_handle(self->multi, easy) != CURLM_OK)
        rc = AZO_EINTERNAL;
    if (rc < 0) {
        curl_easy_cleanup(easy); // may hold half our settings
        return rc;
    }
    r->easy = easy;
    return 0;
}

// --- handlers

static void
s_expire(pay_gw_t *self)
{
    int64_t now = zclock_mono();
    if (self->curl_at >= 0 && self->curl_at <= now) {
        self->curl_at = -1;
        s_curl_action(self, CURL_SOCKET_TIMEOUT, 0);
    }
    uint64_t last = self->serial; // later charges wait for the next turn
    for (int budget = S_EXPIRE_BUDGET; budget > 0; budget--) {
        s_req_t *r = s_sb_pop(self, now, last);
        if (!r)
            break;
        s_finish(self, r, &r->out);
    }
}

// One turn of our handlers: what is due goes out, then the timer is set.
static void
s_pass(pay_gw_t *self)
{
    self->depth++;
    s_expire(self);
    self->depth--;
    s_sync_timer(self);
}

static int
s_on_timer(zloop_t *loop, int timer_id, void *arg)
{
    pay_gw_t *self = arg;
    (void)loop;
    // A timer we cancelled may still fire in the pass that cancelled it.
    if (timer_id != self->timer_id)
        return 0;
    self->timer_id = -1; // one-shot: zloop frees it after we return
    s_pass(self);
    return 0;
}

static int
s_on_kick(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    pay_gw_t *self = arg;
    (void)loop;
    (void)item;
    uint64_t n;
    (void)!read(self->kickfd, &n, sizeof n); // EAGAIN: drained already
    self->kicked = false;
    s_pass(self);
    return 0;
}

// --- public

// Checks opts; fills the gateway's settings. Returns 0 or AZO_EBADREQ.
static int
s_check_opts(pay_gw_t *self, const pay_gw_opts_t *o, char *err, size_t errlen)
{
    if (!o->kind || (strcmp(o->kind, "http") && strcmp(o->kind, "sandbox")))
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "kind: must be \"http\" or \"sandbox\"");
    self->http = strcmp(o->kind, "http") == 0;
    if (o->timeout_ms < 0 || o->timeout_ms > S_MAX_DELAY_MS)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "timeout_ms: must be 0..%d", S_MAX_DELAY_MS);
    if (o->connect_timeout_ms < 0 || o->connect_timeout_ms > S_MAX_DELAY_MS)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "connect_timeout_ms: must be 0..%d", S_MAX_DELAY_MS);
    if (o->sandbox_latency_ms < 0 || o->sandbox_latency_ms > S_MAX_DELAY_MS)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "sandbox_latency_ms: must be 0..%d", S_MAX_DELAY_MS);
    if (o->max_conns < 0 || o->max_conns > S_CONNS_MAX)
        return azo_err_set(err, errlen, AZO_EBADREQ, "max_conns: must be 0..%d",
                           S_CONNS_MAX);
    self->timeout_ms = o->timeout_ms ? o->timeout_ms : S_TIMEOUT_MS;
    self->connect_ms =
        o->connect_timeout_ms ? o->connect_timeout_ms : self->timeout_ms;
    self->latency_ms = o->sandbox_latency_ms;
    self->pool_cap = (size_t)(o->max_conns ? o->max_conns : S_CONNS);
    if (!self->http)
        return 0;

    const char *url = o->url;
    size_t ulen = url ? strlen(url) : 0;
    if (ulen == 0)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "url: needed by the http gateway");
    if (ulen > S_URL_MAX)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "url: longer than %d bytes", S_URL_MAX);
    if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "url: must start with http:// or https://");
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '?' || *c == '#')
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "url: no spaces, control characters, query "
                               "or fragment");
    CURLU *u = curl_url();
    if (!u)
        return -ENOMEM;
    char *host = NULL;
    bool ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host &&
              *host;
    curl_free(host);
    curl_url_cleanup(u);
    if (!ok)
        return azo_err_set(err, errlen, AZO_EBADREQ, "url: not a valid URL");
    while (ulen > 0 && url[ulen - 1] == '/')
        ulen--;
    static const char path[] = "/v1/charges";
    self->url = malloc(ulen + sizeof path);
    if (!self->url)
        return -ENOMEM;
    memcpy(self->url, url, ulen);
    memcpy(self->url + ulen, path, sizeof path);

    const char *key = o->api_key;
    size_t klen = key ? strlen(key) : 0;
    if (klen == 0)
        return 0;
    // The key goes into a header line: printable ASCII only. Never quoted
    // back.
    if (klen > S_KEY_MAX)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "api_key: longer than %d bytes (not shown)",
                           S_KEY_MAX);
    for (size_t i = 0; i < klen; i++)
        if (key[i] <= ' ' || key[i] >= 0x7f)
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "api_key: only printable ASCII without spaces "
                               "(not shown)");
    self->auth = malloc(S_BEARER_LEN + klen + 1);
    if (!self->auth)
        return -ENOMEM;
    memcpy(self->auth, S_BEARER, S_BEARER_LEN);
    memcpy(self->auth + S_BEARER_LEN, key, klen + 1);
    return 0;
}

int
pay_gw_new(pay_gw_t **out, zloop_t *loop, const pay_gw_opts_t *opts, char *err,
           size_t errlen)
{
    assert(out && loop && opts);
    *out = NULL;
    pay_gw_t *self = calloc(1, sizeof *self);
    if (!self)
        return azo_err_set(err, errlen, -ENOMEM, "out of memory");
    self->loop = loop;
    self->kickfd = -1;
    self->epfd = -1;
    self->timer_id = -1;
    self->curl_at = -1;
    int rc = s_check_opts(self, opts, err, errlen);
    if (rc == -ENOMEM)
        rc = azo_err_set(err, errlen, rc, "out of memory");
    if (rc < 0)
        goto fail;
    rc = -ENOMEM;
    self->kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (self->kickfd < 0) {
        rc = azo_err_set(err, errlen, -errno, "eventfd: %s",
                         azo_err_str(-errno));
        goto fail;
    }
    if (self->http) {
        if (pthread_once(&s_curl_once, s_curl_global_init_g) != 0 ||
            s_curl_rc != CURLE_OK) {
            rc = azo_err_set(err, errlen, AZO_EINTERNAL,
                             "libcurl: global init failed");
            goto fail;
        }
        self->pool = calloc(self->pool_cap, sizeof *self->pool);
        self->multi = curl_multi_init();
        if (!self->pool || !self->multi)
            goto oom;
        long conns = (long)self->pool_cap;
        if (curl_multi_setopt(self->multi, CURLMOPT_SOCKETFUNCTION,
                              s_curl_sock) ||
            curl_multi_setopt(self->multi, CURLMOPT_SOCKETDATA, self) ||
            curl_multi_setopt(self->multi, CURLMOPT_TIMERFUNCTION,
                              s_curl_timer) ||
            curl_multi_setopt(self->multi, CURLMOPT_TIMERDATA, self) ||
            curl_multi_setopt(self->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                              conns) ||
            curl_multi_setopt(self->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                              conns) ||
            curl_multi_setopt(self->multi, CURLMOPT_MAXCONNECTS, conns)) {
            rc = azo_err_set(err, errlen, AZO_EINTERNAL,
                             "libcurl: multi handle setup failed");
            goto fail;
        }
        // One poller for all of libcurl's sockets: zloop rebuilds its poll
        // set, and ends its pass, whenever a poller is added or removed,
        // which libcurl asks for at every request on hundreds of sockets.
        self->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (self->epfd < 0) {
            rc = azo_err_set(err, errlen, -errno, "epoll: %s",
                             azo_err_str(-errno));
            goto fail;
        }
        zmq_pollitem_t ep = {.fd = self->epfd, .events = ZMQ_POLLIN};
        if (zloop_poller(loop, &ep, s_on_epoll, self) < 0)
            goto oom;
        zloop_poller_set_tolerant(loop, &ep);
    } else {
        self->keys_idx = zhashx_new();
        if (!self->keys_idx)
            goto oom;
        // Keys are the ring's strings: neither copied nor freed here.
        zhashx_set_key_duplicator(self->keys_idx, NULL);
        zhashx_set_key_destructor(self->keys_idx, NULL);
    }
    zmq_pollitem_t item = {.fd = self->kickfd, .events = ZMQ_POLLIN};
    if (zloop_poller(loop, &item, s_on_kick, self) < 0)
        goto oom;
    *out = self;
    return 0;
oom:
    rc = azo_err_set(err, errlen, -ENOMEM, "out of memory");
fail:
    pay_gw_destroy(&self);
    return rc;
}

void
pay_gw_destroy(pay_gw_t **self_p)
{
    assert(self_p);
    pay_gw_t *self = *self_p;
    if (!self)
        return;
    assert(self->depth == 0); // not from one of its own callbacks
    self->closing = true;     // libcurl's callbacks below do nothing
    if (self->kickfd >= 0) {
        zmq_pollitem_t item = {.fd = self->kickfd, .events = ZMQ_POLLIN};
        zloop_poller_end(self->loop, &item); // a no-op if never added
        close(self->kickfd);
    }
    if (self->timer_id >= 0)
        (void)zloop_timer_end(self->loop, self->timer_id);
    if (self->epfd >= 0) {
        zmq_pollitem_t item = {.fd = self->epfd, .events = ZMQ_POLLIN};
        zloop_poller_end(self->loop, &item); // a no-op if never added
        close(self->epfd);
    }
    while (self->reqs) {
        s_req_t *r = self->reqs;
        s_unlink(self, r);
        if (r->easy) {
            (void)curl_multi_remove_handle(self->multi, r->easy);
            curl_easy_cleanup(r->easy);
        }
        s_req_free(r);
    }
    for (size_t i = 0; i < self->npool; i++)
        curl_easy_cleanup(self->pool[i]);
    if (self->multi)
        (void)curl_multi_cleanup(self->multi);
    for (size_t i = 0; i < self->ring_n; i++)
        free(self->ring[i].key);
    zhashx_destroy(&self->keys_idx);
    if (self->auth) {
        explicit_bzero(self->auth, strlen(self->auth));
        free(self->auth);
    }
    free(self->ring);
    free(self->pool);
    free(self->url);
    free(self);
    *self_p = NULL;
}

// A field of a charge: 1..max bytes.
static bool
s_field_ok(const char *s, size_t max)
{
    return s && *s && strnlen(s, max + 1) <= max;
}

int
pay_gw_charge(pay_gw_t *self, const pay_charge_t *req, pay_gw_done_fn *fn,
              void *arg)
{
    assert(self && req && fn);
    if (!s_field_ok(req->id, S_FIELD_MAX) ||
        !s_field_ok(req->customer, S_FIELD_MAX) ||
        !s_field_ok(req->method, S_FIELD_MAX) ||
        !s_field_ok(req->ikey, S_IKEY_MAX) || req->amount <= 0 ||
        !req->currency || strlen(req->currency) != 3 ||
        (req->description &&
         strnlen(req->description, S_FIELD_MAX + 1) > S_FIELD_MAX))
        return AZO_EBADREQ;
    for (int i = 0; i < 3; i++)
        if (!isalpha((unsigned char)req->currency[i]))
            return AZO_EBADREQ;
    for (const char *c = req->ikey; *c; c++)
        if (*c <= ' ' || *c >= 0x7f) // it goes into a header line
            return AZO_EBADREQ;
    s_req_t *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->fn = fn;
    r->arg = arg;
    r->serial = self->serial + 1;
    if (self->http) {
        int rc = s_http_start(self, r, req);
        if (rc < 0) {
            s_req_free(r);
            return rc;
        }
    } else
        s_sb_start(self, r, req);
    self->serial++;
    s_link(self, r);
    s_request(self);
    return 0;
}

size_t
pay_gw_inflight(const pay_gw_t *self)
{
    assert(self);
    return self->inflight;
}
