// test_pay_gw — the payment gateways: pay_gw_classify's table (statuses,
// libcurl results, bodies good and bad, Retry-After), the sandbox's tokens
// through a real zloop, and the http gateway against an HTTP/1.1 server
// thread with canned answers chosen by payment_method (keep-alive, one that
// never answers, one that hangs up, a closed port, a full backlog, 64
// charges at once, destroy in flight). Each test drives a real zloop until
// the callbacks it expects have come; a safety timer fails the test
// instead of hanging. No assertion on how long anything took.
#define _GNU_SOURCE // accept4, pipe2
#include "azo_err.h"
#include "azo_testutil.h"
#include "pay_gw.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define S_SAFETY_MS 30000 // a run that takes longer is a failure
#define S_RECS      256   // charges per test with a record each
#define S_CONNS     160   // server connections at once
#define S_CONN_BUF  8192
#define S_KEY       "sk_test_4eC39HqLyjWDarjtT1zdp7dc"

// --- an HTTP/1.1 server in a thread of its own

typedef struct {
    int fd; // -1: free slot
    bool hung;
    size_t len;
    char buf[S_CONN_BUF];
} s_conn_t;

typedef struct {
    int lfd;
    uint16_t port;
    int stop[2]; // the test writes to stop[1]
    pthread_t thread;
    s_conn_t conns[S_CONNS]; // the server thread's
    pthread_mutex_t mu;      // guards what follows
    int accepted, open, max_open, requests, hung;
    char line[128]; // the last request's request line
    char ikey[320], auth[1200], ctype[128], body[2048];
    bool has_auth;
} s_srv_t;

static void
s_send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n <= 0)
            return; // the client went away
        buf += n;
        len -= (size_t)n;
    }
}

static void
s_reply(int fd, int status, const char *extra, const char *body)
{
    char head[512];
    size_t len = strlen(body);
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                     "%sContent-Length: %zu\r\n\r\n",
                     status, extra, len);
    s_send_all(fd, head, (size_t)n);
    s_send_all(fd, body, len);
}

// The value of header name in the request head, "" if absent.
static void
s_header(const char *head, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    out[0] = 0;
    for (const char *l = strstr(head, "\r\n"); l; l = strstr(l, "\r\n")) {
        l += 2;
        if (strncasecmp(l, name, nlen) == 0 && l[nlen] == ':') {
            const char *v = l + nlen + 1;
            while (*v == ' ')
                v++;
            size_t vlen = strcspn(v, "\r\n");
            if (vlen >= outlen)
                vlen = outlen - 1;
            memcpy(out, v, vlen);
            out[vlen] = 0;
            return;
        }
    }
}

// The form field name of body, url-decoded, into out ("" if absent).
static void
s_form_get(const char *body, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name), o = 0;
    out[0] = 0;
    for (const char *p = body; p; p = strchr(p, '&')) {
        if (*p == '&')
            p++;
        if (strncmp(p, name, nlen) != 0 || p[nlen] != '=')
            continue;
        for (p += nlen + 1; *p && *p != '&' && o + 1 < outlen; p++) {
            unsigned v;
            if (*p == '%' && sscanf(p + 1, "%2x", &v) == 1) {
                out[o++] = (char)v;
                p += 2;
            } else
                out[o++] = *p == '+' ? ' ' : *p;
        }
        out[o] = 0;
        return;
    }
}

// Answers one request; false when the connection must be closed now.
static bool
s_serve(s_srv_t *srv, s_conn_t *c, const char *head, const char *body)
{
    char method[128], ikey[320], auth[1200];
    s_form_get(body, "payment_method", method, sizeof method);
    s_header(head, "Idempotency-Key", ikey, sizeof ikey);
    s_header(head, "Authorization", auth, sizeof auth);
    pthread_mutex_lock(&srv->mu);
    srv->requests++;
    snprintf(srv->line, sizeof srv->line, "%.*s", (int)strcspn(head, "\r\n"),
             head);
    snprintf(srv->ikey, sizeof srv->ikey, "%s", ikey);
    snprintf(srv->auth, sizeof srv->auth, "%s", auth);
    srv->has_auth = strstr(head, "\r\nAuthorization:") != NULL;
    s_header(head, "Content-Type", srv->ctype, sizeof srv->ctype);
    snprintf(srv->body, sizeof srv->body, "%.*s", (int)sizeof srv->body - 1,
             body);
    if (strcmp(method, "pm_hang") == 0)
        srv->hung++;
    pthread_mutex_unlock(&srv->mu);

    char out[1600];
    if (strcmp(method, "pm_hang") == 0) {
        c->hung = true; // never answered, never read again
        return true;
    }
    if (strcmp(method, "pm_drop") == 0)
        return false; // hangs up without an answer
    if (strcmp(method, "pm_ok") == 0) {
        snprintf(out, sizeof out,
                 "{\"id\": \"ch_%s\", \"object\": \"charge\", "
                 "\"status\": \"succeeded\"}",
                 ikey);
        s_reply(c->fd, 200, "", out);
    } else if (strcmp(method, "pm_decline") == 0)
        s_reply(c->fd, 402, "",
                "{\"error\": {\"type\": \"card_error\", \"code\": "
                "\"card_declined\", \"decline_code\": \"insufficient_funds\", "
                "\"message\": \"Your card has insufficient funds.\"}}");
    else if (strcmp(method, "pm_invalid") == 0)
        s_reply(c->fd, 400, "",
                "{\"error\": {\"type\": \"invalid_request_error\", \"code\": "
                "\"parameter_invalid\", \"param\": \"amount\", \"message\": "
                "\"Invalid amount.\"}}");
    else if (strcmp(method, "pm_idem") == 0)
        s_reply(c->fd, 400, "",
                "{\"error\": {\"type\": \"idempotency_error\", \"message\": "
                "\"Keys can only be reused with the same parameters.\"}}");
    else if (strcmp(method, "pm_500") == 0)
        s_reply(c->fd, 500, "",
                "{\"error\": {\"type\": \"api_error\", \"message\": "
                "\"Something went wrong.\"}}");
    else if (strcmp(method, "pm_502") == 0)
        s_reply(c->fd, 502, "", "<html>Bad Gateway</html>");
    else if (strcmp(method, "pm_429") == 0)
        s_reply(c->fd, 429, "Retry-After: 3\r\n",
                "{\"error\": {\"type\": \"rate_limit_error\", \"message\": "
                "\"Too many requests.\"}}");
    else if (strcmp(method, "pm_503") == 0)
        s_reply(c->fd, 503, "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n",
                "");
    else if (strcmp(method, "pm_409") == 0)
        s_reply(c->fd, 409, "",
                "{\"error\": {\"type\": \"idempotency_error\", \"code\": "
                "\"idempotency_key_in_use\", \"message\": \"In use.\"}}");
    else if (strcmp(method, "pm_401") == 0) {
        // A careless gateway that quotes our credentials back.
        snprintf(out, sizeof out,
                 "{\"error\": {\"type\": \"authentication_error\", "
                 "\"message\": \"Invalid API Key provided: %s\"}}",
                 auth);
        s_reply(c->fd, 401, "", out);
    } else if (strcmp(method, "pm_pending") == 0)
        s_reply(c->fd, 200, "", "{\"id\": \"ch_p\", \"status\": \"pending\"}");
    else if (strcmp(method, "pm_garbage") == 0)
        s_reply(c->fd, 200, "", "<html>\x01not json\xff</html>");
    else if (strcmp(method, "pm_big") == 0) {
        size_t n = 200 * 1024;
        char *big = malloc(n + 64);
        assert_non_null(big);
        int k = snprintf(big, 64, "{\"id\": \"ch_big\", \"pad\": \"");
        memset(big + k, 'x', n);
        strcpy(big + k + n, "\"}");
        s_reply(c->fd, 200, "", big);
        free(big);
    } else
        s_reply(c->fd, 404, "", "{\"error\": {\"message\": \"no such\"}}");
    return true;
}

// Reads what came on c and answers each complete request in it. False when
// the connection is over.
static bool
s_conn_read(s_srv_t *srv, s_conn_t *c)
{
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len, 0);
    if (n <= 0)
        return false;
    c->len += (size_t)n;
    c->buf[c->len] = 0;
    for (;;) {
        char *end = strstr(c->buf, "\r\n\r\n");
        if (!end)
            return c->len < sizeof c->buf - 1;
        *end = 0;
        char cl[32];
        s_header(c->buf, "Content-Length", cl, sizeof cl);
        size_t blen = (size_t)strtoul(cl, NULL, 10);
        size_t hlen = (size_t)(end - c->buf) + 4;
        if (hlen + blen > c->len) {
            *end = '\r';
            return hlen + blen < sizeof c->buf;
        }
        char body[S_CONN_BUF];
        memcpy(body, end + 4, blen);
        body[blen] = 0;
        bool keep = s_serve(srv, c, c->buf, body);
        memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
        c->len -= hlen + blen;
        c->buf[c->len] = 0;
        if (!keep || c->hung)
            return keep;
    }
}

static void *
s_srv_main(void *arg)
{
    s_srv_t *srv = arg;
    struct pollfd pfd[S_CONNS + 2];
    int idx[S_CONNS + 2];
    for (;;) {
        int n = 0;
        pfd[n++] = (struct pollfd){.fd = srv->stop[0], .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = srv->lfd, .events = POLLIN};
        for (int i = 0; i < S_CONNS; i++)
            if (srv->conns[i].fd >= 0 && !srv->conns[i].hung) {
                idx[n] = i;
                pfd[n++] =
                    (struct pollfd){.fd = srv->conns[i].fd, .events = POLLIN};
            }
        if (poll(pfd, (nfds_t)n, -1) < 0)
            continue;
        if (pfd[0].revents)
            break;
        if (pfd[1].revents) {
            int fd = accept4(srv->lfd, NULL, NULL, SOCK_CLOEXEC);
            int slot = -1;
            for (int i = 0; fd >= 0 && i < S_CONNS && slot < 0; i++)
                if (srv->conns[i].fd < 0)
                    slot = i;
            if (slot >= 0) {
                srv->conns[slot].fd = fd;
                srv->conns[slot].len = 0;
                srv->conns[slot].hung = false;
                pthread_mutex_lock(&srv->mu);
                srv->accepted++;
                if (++srv->open > srv->max_open)
                    srv->max_open = srv->open;
                pthread_mutex_unlock(&srv->mu);
            } else if (fd >= 0)
                close(fd);
        }
        for (int j = 2; j < n; j++) {
            s_conn_t *c = &srv->conns[idx[j]];
            if (!pfd[j].revents || s_conn_read(srv, c))
                continue;
            close(c->fd);
            c->fd = -1;
            pthread_mutex_lock(&srv->mu);
            srv->open--;
            pthread_mutex_unlock(&srv->mu);
        }
    }
    return NULL;
}

static void
s_srv_start(s_srv_t *srv)
{
    srv->lfd = azo_test_listen(S_CONNS, &srv->port);
    assert_true(srv->lfd >= 0);
    for (int i = 0; i < S_CONNS; i++)
        srv->conns[i].fd = -1;
    assert_int_equal(pipe2(srv->stop, O_CLOEXEC), 0);
    assert_int_equal(pthread_mutex_init(&srv->mu, NULL), 0);
    assert_int_equal(pthread_create(&srv->thread, NULL, s_srv_main, srv), 0);
}

static void
s_srv_stop(s_srv_t *srv)
{
    assert_int_equal(write(srv->stop[1], "x", 1), 1);
    assert_int_equal(pthread_join(srv->thread, NULL), 0);
    for (int i = 0; i < S_CONNS; i++)
        if (srv->conns[i].fd >= 0)
            close(srv->conns[i].fd);
    close(srv->stop[0]);
    close(srv->stop[1]);
    close(srv->lfd);
    pthread_mutex_destroy(&srv->mu);
}

static int
s_srv_get(s_srv_t *srv, const int *field)
{
    pthread_mutex_lock(&srv->mu);
    int v = *field;
    pthread_mutex_unlock(&srv->mu);
    return v;
}

// What the server saw of the last request.
typedef struct {
    char line[128], ikey[320], auth[1200], ctype[128], body[2048];
    bool has_auth;
} s_seen_t;

static void
s_srv_seen(s_srv_t *srv, s_seen_t *seen)
{
    pthread_mutex_lock(&srv->mu);
    memcpy(seen->line, srv->line, sizeof seen->line);
    memcpy(seen->ikey, srv->ikey, sizeof seen->ikey);
    memcpy(seen->auth, srv->auth, sizeof seen->auth);
    memcpy(seen->ctype, srv->ctype, sizeof seen->ctype);
    memcpy(seen->body, srv->body, sizeof seen->body);
    seen->has_auth = srv->has_auth;
    pthread_mutex_unlock(&srv->mu);
}

// --- fixture: a loop, a gateway, and what the callbacks received

typedef struct s_fix s_fix_t;

typedef struct {
    s_fix_t *f;
    size_t i; // index into recs (or bulk order)
} s_arg_t;

typedef struct {
    int calls;
    size_t order; // 1-based arrival
    pay_outcome_t out;
} s_rec_t;

struct s_fix {
    zloop_t *loop;
    pay_gw_t *gw;
    s_rec_t recs[S_RECS];
    s_arg_t args[S_RECS];
    size_t expected, got, bad;
    bool in_charge; // around pay_gw_charge: a callback then is inline
    bool safety_fired;
    // Set by a test: called from s_on_done after recording.
    void (*hook)(s_fix_t *f, size_t i);
    size_t chain;              // hooks: charges still to make
    bool (*until)(s_fix_t *f); // s_wait's condition
    s_srv_t srv;
    bool srv_on;
    char url[128];
};

static int
s_stop(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    (void)arg;
    return -1;
}

static int
s_safety(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    ((s_fix_t *)arg)->safety_fired = true;
    return -1;
}

static void
s_check_outcome(const pay_outcome_t *out)
{
    assert_true(memchr(out->code, 0, sizeof out->code) != NULL);
    assert_true(memchr(out->message, 0, sizeof out->message) != NULL);
    assert_true(memchr(out->charge_id, 0, sizeof out->charge_id) != NULL);
    for (const char *c = out->code; *c; c++)
        assert_non_null(strchr("abcdefghijklmnopqrstuvwxyz"
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
                               *c));
    if (out->message[0])
        assert_true(azo_test_one_line(out->message));
    assert_true(out->kind >= PAY_OUT_OK && out->kind <= PAY_OUT_AUTH);
    assert_true(out->retry_after_ms >= -1);
}

static void
s_on_done(void *arg, const pay_outcome_t *out)
{
    s_arg_t *a = arg;
    s_fix_t *f = a->f;
    assert_false(f->in_charge); // never from inside pay_gw_charge
    s_check_outcome(out);
    s_rec_t *r = &f->recs[a->i];
    r->calls++;
    r->out = *out;
    r->order = ++f->got;
    if (f->hook)
        f->hook(f, a->i);
    if (f->got == f->expected)
        assert_true(zloop_timer(f->loop, 0, 1, s_stop, NULL) >= 0);
}

// Runs the loop until expected callbacks have come in all.
static void
s_run(s_fix_t *f, size_t expected)
{
    f->expected = expected;
    if (f->got < expected) {
        int safety = zloop_timer(f->loop, S_SAFETY_MS, 1, s_safety, f);
        assert_true(safety >= 0);
        (void)zloop_start(f->loop);
        (void)zloop_timer_end(f->loop, safety);
    }
    assert_false(f->safety_fired);
    assert_int_equal(f->got, expected);
}

static int
s_check_until(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    s_fix_t *f = arg;
    return f->until(f) ? -1 : 0;
}

// Runs the loop until f->until(f) holds.
static void
s_wait(s_fix_t *f, bool (*until)(s_fix_t *f))
{
    f->until = until;
    int safety = zloop_timer(f->loop, S_SAFETY_MS, 1, s_safety, f);
    int check = zloop_timer(f->loop, 2, 0, s_check_until, f);
    assert_true(safety >= 0 && check >= 0);
    (void)zloop_start(f->loop);
    (void)zloop_timer_end(f->loop, safety);
    (void)zloop_timer_end(f->loop, check);
    assert_false(f->safety_fired);
    assert_true(until(f));
}

// Runs the loop for about ms milliseconds (nothing is expected to come).
static void
s_idle(s_fix_t *f, size_t ms)
{
    assert_true(zloop_timer(f->loop, ms, 1, s_stop, NULL) >= 0);
    (void)zloop_start(f->loop);
}

static int
setup(void **state)
{
    s_fix_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->loop = zloop_new();
    assert_non_null(f->loop);
    for (size_t i = 0; i < S_RECS; i++)
        f->args[i] = (s_arg_t){f, i};
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    s_fix_t *f = *state;
    pay_gw_destroy(&f->gw);
    assert_null(f->gw);
    pay_gw_destroy(&f->gw); // NULL-safe
    zloop_destroy(&f->loop);
    if (f->srv_on)
        s_srv_stop(&f->srv);
    free(f);
    return 0;
}

static void
s_gw(s_fix_t *f, const pay_gw_opts_t *opts)
{
    char err[256] = "";
    int rc = pay_gw_new(&f->gw, f->loop, opts, err, sizeof err);
    if (rc != 0)
        fail_msg("pay_gw_new: %d %s", rc, err);
    assert_non_null(f->gw);
}

static void
s_sandbox(s_fix_t *f, int64_t latency_ms, int64_t timeout_ms)
{
    pay_gw_opts_t o = {.kind = "sandbox",
                       .sandbox_latency_ms = latency_ms,
                       .timeout_ms = timeout_ms};
    s_gw(f, &o);
}

// An http gateway on a fresh server; key may be NULL.
static void
s_http(s_fix_t *f, const char *key, int64_t timeout_ms, int max_conns)
{
    s_srv_start(&f->srv);
    f->srv_on = true;
    // The trailing slash must not double the path's.
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u/",
             (unsigned)f->srv.port);
    pay_gw_opts_t o = {.kind = "http",
                       .url = f->url,
                       .api_key = key,
                       .timeout_ms = timeout_ms,
                       .max_conns = max_conns};
    s_gw(f, &o);
}

static pay_charge_t
s_req(const char *method, const char *ikey, uint32_t attempt)
{
    return (pay_charge_t){.id = "pay_1",
                          .currency = "USD",
                          .customer = "cus_1",
                          .method = method,
                          .ikey = ikey,
                          .amount = 1000,
                          .attempt = attempt};
}

// Starts charge i (its record is recs[i]).
static void
s_charge_req(s_fix_t *f, size_t i, const pay_charge_t *req)
{
    assert_true(i < S_RECS);
    f->in_charge = true;
    int rc = pay_gw_charge(f->gw, req, s_on_done, &f->args[i]);
    f->in_charge = false;
    assert_int_equal(rc, 0);
}

static void
s_charge(s_fix_t *f, size_t i, const char *method, const char *ikey,
         uint32_t attempt)
{
    pay_charge_t req = s_req(method, ikey, attempt);
    s_charge_req(f, i, &req);
}

static void
s_expect(const s_rec_t *r, pay_out_kind_t kind, const char *code, int http,
         bool unknown)
{
    assert_int_equal(r->calls, 1);
    if (r->out.kind != kind || strcmp(r->out.code, code) != 0 ||
        r->out.http != http || r->out.unknown != unknown)
        fail_msg("got %s/%s http %d unknown %d (%s), want %s/%s http %d "
                 "unknown %d",
                 pay_out_name(r->out.kind), r->out.code, r->out.http,
                 r->out.unknown, r->out.message, pay_out_name(kind), code, http,
                 unknown);
}

// A charge with payment method method and the outcome expected.
typedef struct {
    const char *method;
    pay_out_kind_t kind;
    const char *code;
    int http;
    bool unknown;
    int64_t retry_after_ms;
} s_want_t;

// Charges each case at once (keys "ik_tab_<i>", records 0..n-1), runs the
// loop until all have answered, and checks each outcome.
static void
s_charge_table(s_fix_t *f, const s_want_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ikey[32];
        snprintf(ikey, sizeof ikey, "ik_tab_%zu", i);
        s_charge(f, i, cases[i].method, ikey, 1);
    }
    // Never inline, whatever the latency: nothing has come yet.
    assert_int_equal(f->got, 0);
    assert_int_equal(pay_gw_inflight(f->gw), n);
    s_run(f, n);
    assert_int_equal(pay_gw_inflight(f->gw), 0);
    for (size_t i = 0; i < n; i++) {
        s_expect(&f->recs[i], cases[i].kind, cases[i].code, cases[i].http,
                 cases[i].unknown);
        assert_int_equal(f->recs[i].out.retry_after_ms,
                         cases[i].retry_after_ms);
    }
}

// --- pay_gw_classify

typedef struct {
    int curl;
    bool sent;
    int http;
    const char *body;
    const char *retry_after;
    pay_out_kind_t kind;
    const char *code;
    bool unknown;
    int64_t retry_after_ms;
    const char *charge_id;
} s_case_t;

static void
s_classify_table(const s_case_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const s_case_t *c = &cases[i];
        pay_outcome_t out;
        memset(&out, 0x5a, sizeof out); // fully written, whatever was there
        pay_gw_classify(c->curl, c->sent, c->http, c->body,
                        c->body ? strlen(c->body) : 0, c->retry_after, &out);
        s_check_outcome(&out);
        if (out.kind != c->kind || strcmp(out.code, c->code) != 0 ||
            out.unknown != c->unknown ||
            out.retry_after_ms != c->retry_after_ms ||
            strcmp(out.charge_id, c->charge_id ? c->charge_id : "") != 0 ||
            out.http != c->http)
            fail_msg("case %zu (curl %d http %d): got %s/%s unknown %d "
                     "retry %lld id '%s' (%s)",
                     i, c->curl, c->http, pay_out_name(out.kind), out.code,
                     out.unknown, (long long)out.retry_after_ms, out.charge_id,
                     out.message);
        if (out.kind != PAY_OUT_OK)
            assert_true(out.message[0] != 0); // always says something
    }
}

static void
test_pay_gw_classify_statuses(void **state)
{
    (void)state;
    static const s_case_t cases[] = {
        {0, true, 200, "{\"id\":\"ch_1\",\"status\":\"succeeded\"}", NULL,
         PAY_OUT_OK, "", false, -1, "ch_1"},
        {0, true, 201, "{\"id\":\"ch_2\"}", NULL, PAY_OUT_OK, "", false, -1,
         "ch_2"},
        {0, true, 200, "{\"id\":\"ch_3\",\"status\":\"pending\"}", NULL,
         PAY_OUT_RETRY, "pending", true, -1, NULL},
        {0, true, 200, "{\"id\":\"ch_4\",\"status\":\"requires_action\"}", NULL,
         PAY_OUT_RETRY, "pending", true, -1, NULL},
        {0, true, 200,
         "{\"id\":\"ch_5\",\"status\":\"failed\",\"failure_code\":"
         "\"expired_card\",\"failure_message\":\"Card expired\"}",
         NULL, PAY_OUT_DECLINE, "expired_card", false, -1, NULL},
        {0, true, 200, "{\"id\":\"ch_6\",\"status\":\"failed\"}", NULL,
         PAY_OUT_DECLINE, "failed", false, -1, NULL},
        {0, true, 200, "{\"status\":\"succeeded\"}", NULL, PAY_OUT_RETRY,
         "bad_answer", true, -1, NULL},
        {0, true, 200, "<html>ok</html>", NULL, PAY_OUT_RETRY, "bad_answer",
         true, -1, NULL},
        {0, true, 200, NULL, NULL, PAY_OUT_RETRY, "bad_answer", true, -1, NULL},
        {0, true, 402,
         "{\"error\":{\"type\":\"card_error\",\"code\":\"card_declined\","
         "\"decline_code\":\"insufficient_funds\",\"message\":\"No funds\"}}",
         NULL, PAY_OUT_DECLINE, "insufficient_funds", false, -1, NULL},
        {0, true, 402,
         "{\"error\":{\"type\":\"card_error\",\"code\":\"card_declined\"}}",
         NULL, PAY_OUT_DECLINE, "card_declined", false, -1, NULL},
        {0, true, 402, "Payment Required", NULL, PAY_OUT_DECLINE,
         "card_declined", false, -1, NULL},
        {0, true, 400,
         "{\"error\":{\"type\":\"card_error\",\"code\":\"incorrect_cvc\"}}",
         NULL, PAY_OUT_DECLINE, "incorrect_cvc", false, -1, NULL},
        {0, true, 400,
         "{\"error\":{\"type\":\"invalid_request_error\",\"code\":"
         "\"parameter_invalid\",\"param\":\"amount\",\"message\":\"Bad\"}}",
         NULL, PAY_OUT_INVALID, "parameter_invalid", false, -1, NULL},
        {0, true, 400,
         "{\"error\":{\"type\":\"idempotency_error\",\"message\":\"Keys\"}}",
         NULL, PAY_OUT_INVALID, "idempotency_error", false, -1, NULL},
        {0, true, 400, "", NULL, PAY_OUT_INVALID, "http_400", false, -1, NULL},
        {0, true, 401,
         "{\"error\":{\"type\":\"authentication_error\",\"message\":\"No\"}}",
         NULL, PAY_OUT_AUTH, "auth", false, -1, NULL},
        {0, true, 403, "", NULL, PAY_OUT_AUTH, "auth", false, -1, NULL},
        {0, true, 404, "{\"error\":{\"type\":\"invalid_request_error\"}}", NULL,
         PAY_OUT_INVALID, "http_404", false, -1, NULL},
        {0, true, 404,
         "{\"error\":{\"type\":\"invalid_request_error\",\"code\":"
         "\"resource_missing\"}}",
         NULL, PAY_OUT_INVALID, "resource_missing", false, -1, NULL},
        {0, true, 405, "", NULL, PAY_OUT_INVALID, "http_405", false, -1, NULL},
        {0, true, 413, "too big", NULL, PAY_OUT_INVALID, "http_413", false, -1,
         NULL},
        {0, true, 409,
         "{\"error\":{\"type\":\"idempotency_error\",\"code\":"
         "\"idempotency_key_in_use\"}}",
         NULL, PAY_OUT_RETRY, "key_in_use", false, -1, NULL},
        {0, true, 429, "{\"error\":{\"type\":\"rate_limit_error\"}}", "2",
         PAY_OUT_RETRY, "rate_limited", false, 2000, NULL},
        {0, true, 429, "", NULL, PAY_OUT_RETRY, "rate_limited", false, -1,
         NULL},
        {0, true, 500, "{\"error\":{\"type\":\"api_error\"}}", "5",
         PAY_OUT_RETRY, "http_500", true, -1, NULL},
        {0, true, 502, "<html>bad gateway</html>", NULL, PAY_OUT_RETRY,
         "http_502", false, -1, NULL},
        {0, true, 503, "", " 7 ", PAY_OUT_RETRY, "http_503", false, 7000, NULL},
        {0, true, 504, "", NULL, PAY_OUT_RETRY, "http_504", false, -1, NULL},
        {0, true, 507, "", NULL, PAY_OUT_RETRY, "http_507", true, -1, NULL},
        {0, true, 302, "", NULL, PAY_OUT_RETRY, "http_302", true, -1, NULL},
        {0, true, 0, "", NULL, PAY_OUT_RETRY, "http_0", true, -1, NULL},
    };
    s_classify_table(cases, sizeof cases / sizeof cases[0]);
}

static void
test_pay_gw_classify_curl_errors(void **state)
{
    (void)state;
    static const s_case_t cases[] = {
        {CURLE_COULDNT_CONNECT, false, 0, NULL, NULL, PAY_OUT_RETRY, "network",
         false, -1, NULL},
        // A connect failure after this transfer had sent its request once
        // (libcurl's own retry on a fresh connection): it may have run.
        {CURLE_COULDNT_CONNECT, true, 0, NULL, NULL, PAY_OUT_RETRY, "network",
         true, -1, NULL},
        {CURLE_SEND_FAIL_REWIND, false, 0, NULL, NULL, PAY_OUT_RETRY, "network",
         true, -1, NULL},
        {CURLE_COULDNT_RESOLVE_HOST, false, 0, NULL, NULL, PAY_OUT_RETRY,
         "network", false, -1, NULL},
        {CURLE_OPERATION_TIMEDOUT, true, 0, NULL, NULL, PAY_OUT_RETRY,
         "timeout", true, -1, NULL},
        {CURLE_OPERATION_TIMEDOUT, false, 0, NULL, NULL, PAY_OUT_RETRY,
         "timeout", false, -1, NULL},
        // Timed out in the middle of a 200's body: still not an answer.
        {CURLE_OPERATION_TIMEDOUT, true, 200, "{\"id\":\"ch_1\"", NULL,
         PAY_OUT_RETRY, "timeout", true, -1, NULL},
        {CURLE_GOT_NOTHING, true, 0, NULL, NULL, PAY_OUT_RETRY, "network", true,
         -1, NULL},
        {CURLE_RECV_ERROR, true, 0, NULL, NULL, PAY_OUT_RETRY, "network", true,
         -1, NULL},
        {CURLE_SEND_ERROR, false, 0, NULL, NULL, PAY_OUT_RETRY, "network",
         false, -1, NULL},
        {CURLE_PARTIAL_FILE, true, 200, NULL, NULL, PAY_OUT_RETRY, "network",
         true, -1, NULL},
        {CURLE_SSL_CONNECT_ERROR, false, 0, NULL, NULL, PAY_OUT_RETRY, "tls",
         false, -1, NULL},
        {CURLE_PEER_FAILED_VERIFICATION, false, 0, NULL, NULL, PAY_OUT_RETRY,
         "tls", false, -1, NULL},
        {CURLE_OUT_OF_MEMORY, true, 0, NULL, NULL, PAY_OUT_RETRY, "network",
         true, -1, NULL},
        {12345, true, 0, NULL, NULL, PAY_OUT_RETRY, "network", true, -1, NULL},
    };
    s_classify_table(cases, sizeof cases / sizeof cases[0]);
}

static void
test_pay_gw_classify_retry_after(void **state)
{
    (void)state;
    char future[64], past[64];
    time_t now = time(NULL);
    struct tm tm;
    time_t later = now + 3600, before = now - 3600;
    assert_non_null(gmtime_r(&later, &tm));
    assert_true(
        strftime(future, sizeof future, "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0);
    assert_non_null(gmtime_r(&before, &tm));
    assert_true(strftime(past, sizeof past, "%a, %d %b %Y %H:%M:%S GMT", &tm) >
                0);
    pay_outcome_t out;
    pay_gw_classify(0, true, 429, "", 0, future, &out);
    // An hour from a clock read twice: allow for the machine stalling.
    assert_true(out.retry_after_ms > 3000 * 1000);
    assert_true(out.retry_after_ms <= 3601 * 1000);
    pay_gw_classify(0, true, 503, "", 0, past, &out);
    assert_int_equal(out.retry_after_ms, 0);
    static const struct {
        const char *v;
        int64_t ms;
    } cases[] = {
        {"0", 0},
        {"120", 120000},
        {"\t30\r\n", 30000},
        {"99999999999999999999999", 24 * 3600 * 1000LL},
        {"", -1},
        {"   ", -1},
        {"soon", -1},
        {"1.5", -1},
        {"Wed, 99 Foo 2015 99:99:99 GMT", -1},
        {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
         -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pay_gw_classify(0, true, 429, NULL, 0, cases[i].v, &out);
        if (out.retry_after_ms != cases[i].ms)
            fail_msg("'%s': %lld, want %lld", cases[i].v,
                     (long long)out.retry_after_ms, (long long)cases[i].ms);
    }
    // Only a 429 or 503 carries it.
    pay_gw_classify(0, true, 500, NULL, 0, "3", &out);
    assert_int_equal(out.retry_after_ms, -1);
    pay_gw_classify(0, true, 200, "{\"id\":\"ch\"}", 11, "3", &out);
    assert_int_equal(out.retry_after_ms, -1);
}

static void
test_pay_gw_classify_malformed_bodies(void **state)
{
    (void)state;
    static const struct {
        int http;
        const char *body;
        size_t len; // 0: strlen
        pay_out_kind_t kind;
    } cases[] = {
        {200, "\x00\x01\x02\xff\xfe", 5, PAY_OUT_RETRY},
        {200, "{\"id\":", 0, PAY_OUT_RETRY},
        {200, "[\"id\", \"ch_1\"]", 0, PAY_OUT_RETRY},
        {200, "{\"id\": 42}", 0, PAY_OUT_RETRY},
        {200, "{\"id\": \"\"}", 0, PAY_OUT_RETRY},
        {200, "{\"id\": \"ch\", \"status\": 7}", 0, PAY_OUT_OK},
        {200, "{\"id\": \"ch\\u0000x\"}", 0, PAY_OUT_RETRY}, // NUL: refused
        {200, "{\"id\": \"ch_1\"}\x00garbage", 20, PAY_OUT_RETRY},
        {402, "{\"error\": \"card declined\"}", 0, PAY_OUT_DECLINE},
        {402, "{\"error\": {\"decline_code\": 5, \"message\": []}}", 0,
         PAY_OUT_DECLINE},
        {400, "{\"error\": {\"message\": \"line1\\nline2\\u0007\"}}", 0,
         PAY_OUT_INVALID},
        {400, "{\"error\": {\"code\": \"a b\\nc;d/e\"}}", 0, PAY_OUT_INVALID},
        {500, "null", 0, PAY_OUT_RETRY},
        {500, "{\"error\": null}", 0, PAY_OUT_RETRY},
        {401, "\xc3\x28 bad utf-8", 0, PAY_OUT_AUTH},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pay_outcome_t out;
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].body);
        pay_gw_classify(0, true, cases[i].http, cases[i].body, len, NULL, &out);
        s_check_outcome(&out);
        if (out.kind != cases[i].kind)
            fail_msg("case %zu: %s (%s)", i, pay_out_name(out.kind),
                     out.message);
    }

    // A long message and a long code are cut, not overrun.
    size_t n = 8000;
    char *big = malloc(n + 200);
    assert_non_null(big);
    int k = snprintf(big, 100, "{\"error\": {\"code\": \"");
    memset(big + k, 'c', 300);
    k += 300;
    k += snprintf(big + k, 100, "\", \"message\": \"");
    memset(big + k, 'm', n - (size_t)k);
    strcpy(big + n, "\"}}");
    pay_outcome_t out;
    pay_gw_classify(0, true, 400, big, strlen(big), NULL, &out);
    s_check_outcome(&out);
    assert_int_equal(out.kind, PAY_OUT_INVALID);
    assert_int_equal(strlen(out.code), sizeof out.code - 1);
    assert_int_equal(strlen(out.message), sizeof out.message - 1);
    // A long charge id, likewise.
    k = snprintf(big, 100, "{\"id\": \"");
    memset(big + k, 'i', 1000);
    strcpy(big + k + 1000, "\"}");
    pay_gw_classify(0, true, 200, big, strlen(big), NULL, &out);
    assert_int_equal(out.kind, PAY_OUT_OK);
    assert_int_equal(strlen(out.charge_id), sizeof out.charge_id - 1);
    free(big);

    // A 1 MiB answer, and one nested far too deep for a recursive parser.
    n = 1024 * 1024;
    big = malloc(n);
    assert_non_null(big);
    memset(big, '[', n);
    pay_gw_classify(0, true, 200, big, n, NULL, &out);
    s_check_outcome(&out);
    assert_int_equal(out.kind, PAY_OUT_RETRY);
    pay_gw_classify(0, true, 502, big, n, NULL, &out);
    s_check_outcome(&out);
    assert_string_equal(out.code, "http_502");
    memset(big, ' ', n);
    memcpy(big + n - 16, "{\"id\": \"ch_w\"}", 14);
    pay_gw_classify(0, true, 200, big, n, NULL, &out);
    assert_int_equal(out.kind, PAY_OUT_OK);
    assert_string_equal(out.charge_id, "ch_w");
    free(big);
}

static void
test_pay_gw_out_names(void **state)
{
    (void)state;
    assert_string_equal(pay_out_name(PAY_OUT_OK), "ok");
    assert_string_equal(pay_out_name(PAY_OUT_RETRY), "retry");
    assert_string_equal(pay_out_name(PAY_OUT_DECLINE), "decline");
    assert_string_equal(pay_out_name(PAY_OUT_INVALID), "invalid");
    assert_string_equal(pay_out_name(PAY_OUT_AUTH), "auth");
    assert_string_equal(pay_out_name(-1), "?");
    assert_string_equal(pay_out_name(5), "?");
}

// --- options and requests

static void
test_pay_gw_new_rejects_bad_options(void **state)
{
    s_fix_t *f = *state;
    static const struct {
        pay_gw_opts_t o;
        const char *field;
    } cases[] = {
        {{.kind = NULL}, "kind"},
        {{.kind = "stripe"}, "kind"},
        {{.kind = "http"}, "url"},
        {{.kind = "http", .url = ""}, "url"},
        {{.kind = "http", .url = "ftp://127.0.0.1/"}, "url"},
        {{.kind = "http", .url = "127.0.0.1:80"}, "url"},
        {{.kind = "http", .url = "http://127.0.0.1/?x=1"}, "url"},
        {{.kind = "http", .url = "http://127.0.0.1/a b"}, "url"},
        {{.kind = "http", .url = "http://"}, "url"},
        {{.kind = "http", .url = "http://h/", .api_key = "sk_x\r\nX: 1"},
         "api_key"},
        {{.kind = "http", .url = "http://h/", .api_key = "sk x"}, "api_key"},
        {{.kind = "sandbox", .timeout_ms = -1}, "timeout_ms"},
        {{.kind = "sandbox", .connect_timeout_ms = -5}, "connect_timeout_ms"},
        {{.kind = "sandbox", .sandbox_latency_ms = -1}, "sandbox_latency_ms"},
        {{.kind = "sandbox", .max_conns = -1}, "max_conns"},
        {{.kind = "sandbox", .max_conns = 100000}, "max_conns"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        pay_gw_t *gw = (pay_gw_t *)f; // overwritten with NULL
        int rc = pay_gw_new(&gw, f->loop, &cases[i].o, err, sizeof err);
        if (rc != AZO_EBADREQ || gw != NULL ||
            strncmp(err, cases[i].field, strlen(cases[i].field)) != 0)
            fail_msg("case %zu: rc %d err '%s'", i, rc, err);
        assert_true(azo_test_one_line(err));
        assert_null(strstr(err, "sk_x")); // the key is never quoted
        assert_null(strstr(err, "sk x"));
    }
    // What failed left nothing in the loop.
    s_idle(f, 5);
}

static void
test_pay_gw_charge_rejects_bad_requests(void **state)
{
    s_fix_t *f = *state;
    s_sandbox(f, 0, 50);
    char longkey[300];
    memset(longkey, 'k', 256);
    longkey[256] = 0;
    pay_charge_t ok = s_req("pm_ok", "ik_1", 1);
    pay_charge_t bad[16];
    size_t n = 0;
    bad[n] = ok, bad[n++].id = NULL;
    bad[n] = ok, bad[n++].id = "";
    bad[n] = ok, bad[n++].customer = NULL;
    bad[n] = ok, bad[n++].method = "";
    bad[n] = ok, bad[n++].ikey = NULL;
    bad[n] = ok, bad[n++].ikey = "with space";
    bad[n] = ok, bad[n++].ikey = "crlf\r\nX-Evil: 1";
    bad[n] = ok, bad[n++].ikey = longkey;
    bad[n] = ok, bad[n++].amount = 0;
    bad[n] = ok, bad[n++].amount = -100;
    bad[n] = ok, bad[n++].currency = NULL;
    bad[n] = ok, bad[n++].currency = "US";
    bad[n] = ok, bad[n++].currency = "U$D";
    bad[n] = ok, bad[n++].currency = "USDX";
    for (size_t i = 0; i < n; i++) {
        f->in_charge = true;
        int rc = pay_gw_charge(f->gw, &bad[i], s_on_done, &f->args[i]);
        f->in_charge = false;
        if (rc != AZO_EBADREQ)
            fail_msg("case %zu: %d", i, rc);
    }
    assert_int_equal(pay_gw_inflight(f->gw), 0);
    s_idle(f, 20);
    assert_int_equal(f->got, 0);
    // 255 bytes is fine, and attempt 0 counts as the first.
    longkey[255] = 0;
    pay_charge_t edge = s_req("pm_fail_1", longkey, 0);
    edge.currency = "eur";
    s_charge_req(f, 0, &edge);
    s_run(f, 1);
    s_expect(&f->recs[0], PAY_OUT_RETRY, "http_500", 500, true);
}

// --- sandbox

static void
test_pay_gw_sandbox_tokens(void **state)
{
    s_fix_t *f = *state;
    s_sandbox(f, 0, 30);
    static const s_want_t cases[] = {
        {"pm_card_declined", PAY_OUT_DECLINE, "card_declined", 402, false, -1},
        {"pm_card_insufficient_funds", PAY_OUT_DECLINE, "insufficient_funds",
         402, false, -1},
        {"pm_invalid", PAY_OUT_INVALID, "parameter_invalid", 400, false, -1},
        {"pm_fail_2", PAY_OUT_RETRY, "http_500", 500, true, -1},
        {"pm_ratelimit_1", PAY_OUT_RETRY, "rate_limited", 429, false, 1000},
        {"pm_timeout_3", PAY_OUT_RETRY, "timeout", 0, true, -1},
        {"pm_timeout", PAY_OUT_RETRY, "timeout", 0, true, -1},
        {"pm_auth", PAY_OUT_AUTH, "auth", 401, false, -1},
        {"pm_card_visa", PAY_OUT_OK, "", 200, false, -1},
        {"pm_fail_x", PAY_OUT_OK, "", 200, false, -1},   // not a token
        {"pm_fail_0", PAY_OUT_OK, "", 200, false, -1},   // fails 0 times
        {"pm_fail_", PAY_OUT_OK, "", 200, false, -1},    // not a token
        {"pm_timeout_", PAY_OUT_OK, "", 200, false, -1}, // not a token
    };
    size_t n = sizeof cases / sizeof cases[0];
    s_charge_table(f, cases, n);
    for (size_t i = 0; i < n; i++)
        if (cases[i].kind == PAY_OUT_OK)
            assert_int_equal(strncmp(f->recs[i].out.charge_id, "ch_sb_", 6), 0);
        else
            assert_string_equal(f->recs[i].out.charge_id, "");
}

static void
test_pay_gw_sandbox_attempts(void **state)
{
    s_fix_t *f = *state;
    s_sandbox(f, 1, 20);
    // pm_fail_2, pm_ratelimit_2, pm_timeout_1 on attempts 1..3 each, each
    // payment with its own key throughout (as the actor retries).
    const char *m[] = {"pm_fail_2", "pm_ratelimit_2", "pm_timeout_1"};
    const char *k[] = {"ik_f", "ik_r", "ik_t"};
    for (uint32_t a = 1; a <= 3; a++)
        for (size_t j = 0; j < 3; j++)
            s_charge(f, (a - 1) * 3 + j, m[j], k[j], a);
    s_charge(f, 9, "pm_timeout", "ik_tt", 1000);
    s_run(f, 10);
    s_expect(&f->recs[0], PAY_OUT_RETRY, "http_500", 500, true);
    s_expect(&f->recs[3], PAY_OUT_RETRY, "http_500", 500, true);
    s_expect(&f->recs[6], PAY_OUT_OK, "", 200, false);
    s_expect(&f->recs[1], PAY_OUT_RETRY, "rate_limited", 429, false);
    s_expect(&f->recs[4], PAY_OUT_RETRY, "rate_limited", 429, false);
    s_expect(&f->recs[7], PAY_OUT_OK, "", 200, false);
    s_expect(&f->recs[2], PAY_OUT_RETRY, "timeout", 0, true);
    s_expect(&f->recs[5], PAY_OUT_OK, "", 200, false);
    s_expect(&f->recs[8], PAY_OUT_OK, "", 200, false); // succeeded already
    s_expect(&f->recs[9], PAY_OUT_RETRY, "timeout", 0, true);
    assert_string_equal(f->recs[5].out.charge_id, f->recs[8].out.charge_id);

    // A key that succeeded answers the same again, even where its token
    // would fail now; with other parameters it is an idempotency error.
    char charged[128];
    snprintf(charged, sizeof charged, "%s", f->recs[6].out.charge_id);
    memset(f->recs, 0, sizeof f->recs);
    f->got = 0;
    s_charge(f, 0, "pm_fail_2", "ik_f", 1);
    pay_charge_t other = s_req("pm_fail_2", "ik_f", 4);
    other.amount = 999;
    s_charge_req(f, 1, &other);
    other = s_req("pm_fail_2", "ik_f", 4);
    other.description = "changed";
    s_charge_req(f, 2, &other);
    other = s_req("pm_fail_2", "ik_f", 4);
    other.currency = "usd"; // the same currency
    s_charge_req(f, 3, &other);
    s_run(f, 4);
    s_expect(&f->recs[0], PAY_OUT_OK, "", 200, false);
    assert_string_equal(f->recs[0].out.charge_id, charged);
    s_expect(&f->recs[1], PAY_OUT_INVALID, "idempotency_error", 400, false);
    s_expect(&f->recs[2], PAY_OUT_INVALID, "idempotency_error", 400, false);
    s_expect(&f->recs[3], PAY_OUT_OK, "", 200, false);
}

static void
test_pay_gw_sandbox_order(void **state)
{
    s_fix_t *f = *state;
    s_sandbox(f, 0, 40);
    // The timeout was asked first and comes last; the rest in order.
    s_charge(f, 0, "pm_timeout", "ik_o0", 1);
    for (size_t i = 1; i < 6; i++) {
        char ikey[16];
        snprintf(ikey, sizeof ikey, "ik_o%zu", i);
        s_charge(f, i, i % 2 ? "pm_ok" : "pm_card_declined", ikey, 1);
    }
    s_run(f, 6);
    for (size_t i = 1; i < 6; i++)
        assert_int_equal(f->recs[i].order, i);
    assert_int_equal(f->recs[0].order, 6);
}

static void
test_pay_gw_sandbox_stable_charge_ids(void **state)
{
    s_fix_t *f = *state;
    s_sandbox(f, 0, 50);
    s_charge(f, 0, "pm_ok", "ik_stable", 1);
    s_charge(f, 1, "pm_ok", "ik_other", 1);
    s_run(f, 2);
    char first[128];
    snprintf(first, sizeof first, "%s", f->recs[0].out.charge_id);
    assert_string_not_equal(first, f->recs[1].out.charge_id);
    assert_int_equal(strlen(first), 6 + 16);
    assert_int_equal(strspn(first + 6, "0123456789abcdef"), 16);
    // Another gateway (a restart) names the same key's charge the same.
    pay_gw_destroy(&f->gw);
    s_sandbox(f, 0, 50);
    f->got = 0;
    s_charge(f, 2, "pm_ok", "ik_stable", 3);
    s_run(f, 1);
    assert_string_equal(f->recs[2].out.charge_id, first);
}

// Each callback charges again until f->chain runs out.
static void
s_hook_chain(s_fix_t *f, size_t i)
{
    if (f->chain == 0)
        return;
    f->chain--;
    char ikey[32];
    snprintf(ikey, sizeof ikey, "ik_chain_%zu", i + 1);
    s_charge(f, i + 1, "pm_ok", ikey, 1);
    assert_int_equal(pay_gw_inflight(f->gw), 1);
}

static void
test_pay_gw_sandbox_callback_may_charge(void **state)
{
    s_fix_t *f = *state;
    s_sandbox(f, 0, 50);
    f->hook = s_hook_chain;
    f->chain = 99;
    s_charge(f, 0, "pm_ok", "ik_chain_0", 1);
    s_run(f, 100);
    for (size_t i = 0; i < 100; i++)
        s_expect(&f->recs[i], PAY_OUT_OK, "", 200, false);
}

typedef struct {
    s_fix_t *f;
    size_t i;
} s_bulk_t;

static void
s_on_bulk(void *arg, const pay_outcome_t *out)
{
    s_bulk_t *b = arg;
    s_fix_t *f = b->f;
    assert_false(f->in_charge);
    if (b->i != f->got) // first in, first out
        fail_msg("answer %zu came as %zu", b->i, f->got);
    if (out->kind != PAY_OUT_OK)
        f->bad++;
    if (++f->got == f->expected)
        assert_true(zloop_timer(f->loop, 0, 1, s_stop, NULL) >= 0);
}

// n charges with keys "<prefix><i>"; run until all have answered.
static void
s_bulk(s_fix_t *f, size_t n, const char *prefix, const pay_charge_t *tmpl)
{
    s_bulk_t *b = calloc(n, sizeof *b);
    assert_non_null(b);
    f->got = f->bad = 0;
    for (size_t i = 0; i < n; i++) {
        char ikey[64];
        snprintf(ikey, sizeof ikey, "%s%zu", prefix, i);
        pay_charge_t req = *tmpl;
        req.ikey = ikey;
        b[i] = (s_bulk_t){f, i};
        f->in_charge = true;
        assert_int_equal(pay_gw_charge(f->gw, &req, s_on_bulk, &b[i]), 0);
        f->in_charge = false;
    }
    s_run(f, n);
    assert_int_equal(f->bad, 0);
    free(b);
}

static void
test_pay_gw_sandbox_many_in_order(void **state)
{
    s_fix_t *f = *state;
    s_sandbox(f, 0, 50);
    // More than one pass delivers: the timer is re-armed in between.
    pay_charge_t tmpl = s_req("pm_ok", NULL, 1);
    s_bulk(f, 10000, "ik_many_", &tmpl);
    assert_int_equal(pay_gw_inflight(f->gw), 0);
}

static void
test_pay_gw_sandbox_key_memory_is_bounded(void **state)
{
    s_fix_t *f = *state;
    s_sandbox(f, 0, 50);
    // The sandbox remembers the last 100,000 succeeded keys.
    pay_charge_t tmpl = s_req("pm_ok", NULL, 1);
    s_bulk(f, 100001, "ik_mem_", &tmpl);
    pay_charge_t req = s_req("pm_ok", "ik_mem_0", 1); // forgotten
    req.amount = 5;
    f->got = 0;
    memset(f->recs, 0, sizeof f->recs);
    s_charge_req(f, 0, &req);
    req.ikey = "ik_mem_100000"; // remembered
    s_charge_req(f, 1, &req);
    s_run(f, 2);
    s_expect(&f->recs[0], PAY_OUT_OK, "", 200, false);
    s_expect(&f->recs[1], PAY_OUT_INVALID, "idempotency_error", 400, false);
}

static void
test_pay_gw_sandbox_destroy_in_flight(void **state)
{
    s_fix_t *f = *state;
    s_sandbox(f, 10, 50);
    for (size_t i = 0; i < 5; i++)
        s_charge(f, i, i ? "pm_ok" : "pm_timeout", i ? "ik_d" : "ik_dt", 1);
    assert_int_equal(pay_gw_inflight(f->gw), 5);
    // Destroyed before the loop ever ran: nothing of it may fire later.
    pay_gw_destroy(&f->gw);
    s_idle(f, 80);
    assert_int_equal(f->got, 0);
    // And with its timer armed in a loop that has run: answers far off, so
    // that none comes during the short run that arms it.
    s_sandbox(f, 10000, 20000);
    s_charge(f, 0, "pm_timeout", "ik_d1", 1);
    s_charge(f, 1, "pm_ok", "ik_d2", 1);
    s_idle(f, 1);
    assert_int_equal(pay_gw_inflight(f->gw), 2);
    pay_gw_destroy(&f->gw);
    s_idle(f, 80);
    assert_int_equal(f->got, 0);
}

// --- http

static void
test_pay_gw_http_request_format(void **state)
{
    s_fix_t *f = *state;
    s_http(f, S_KEY, 5000, 0);
    pay_charge_t req = {.id = "pay:1.2_3-4~",
                        .currency = "EUR",
                        .customer = "cus 1&x=y/\xc3\xbc",
                        .method = "pm_ok",
                        .ikey = "ik-enc-1",
                        .description = "Order #7: 50% off+tax",
                        .amount = 1234,
                        .attempt = 1};
    s_charge_req(f, 0, &req);
    assert_int_equal(f->got, 0);
    s_run(f, 1);
    s_expect(&f->recs[0], PAY_OUT_OK, "", 200, false);
    assert_string_equal(f->recs[0].out.charge_id, "ch_ik-enc-1");
    s_seen_t seen;
    s_srv_seen(&f->srv, &seen);
    assert_string_equal(seen.line, "POST /v1/charges HTTP/1.1");
    assert_string_equal(seen.ikey, "ik-enc-1");
    assert_string_equal(seen.auth, "Bearer " S_KEY);
    assert_string_equal(seen.ctype, "application/x-www-form-urlencoded");
    assert_true(seen.has_auth);
    assert_string_equal(
        seen.body, "amount=1234&currency=eur&customer=cus%201%26x%3Dy%2F%C3%BC"
                   "&payment_method=pm_ok"
                   "&description=Order%20%237%3A%2050%25%20off%2Btax"
                   "&metadata%5Bpayment_id%5D=pay%3A1.2_3-4~");

    // No key: no Authorization header at all; no description: no field.
    pay_gw_destroy(&f->gw);
    pay_gw_opts_t o = {.kind = "http", .url = f->url, .api_key = ""};
    s_gw(f, &o);
    s_charge(f, 1, "pm_ok", "ik-2", 1);
    s_run(f, 2);
    s_expect(&f->recs[1], PAY_OUT_OK, "", 200, false);
    s_srv_seen(&f->srv, &seen);
    assert_false(seen.has_auth);
    assert_string_equal(seen.ikey, "ik-2");
    assert_string_equal(seen.body,
                        "amount=1000&currency=usd&customer=cus_1"
                        "&payment_method=pm_ok&metadata%5Bpayment_id%5D=pay_1");
}

static void
test_pay_gw_http_outcomes(void **state)
{
    s_fix_t *f = *state;
    s_http(f, S_KEY, 5000, 0);
    static const s_want_t cases[] = {
        {"pm_ok", PAY_OUT_OK, "", 200, false, -1},
        {"pm_decline", PAY_OUT_DECLINE, "insufficient_funds", 402, false, -1},
        {"pm_invalid", PAY_OUT_INVALID, "parameter_invalid", 400, false, -1},
        {"pm_idem", PAY_OUT_INVALID, "idempotency_error", 400, false, -1},
        {"pm_500", PAY_OUT_RETRY, "http_500", 500, true, -1},
        {"pm_502", PAY_OUT_RETRY, "http_502", 502, false, -1},
        {"pm_429", PAY_OUT_RETRY, "rate_limited", 429, false, 3000},
        {"pm_503", PAY_OUT_RETRY, "http_503", 503, false, 0},
        {"pm_409", PAY_OUT_RETRY, "key_in_use", 409, false, -1},
        {"pm_401", PAY_OUT_AUTH, "auth", 401, false, -1},
        {"pm_pending", PAY_OUT_RETRY, "pending", 200, true, -1},
        {"pm_garbage", PAY_OUT_RETRY, "bad_answer", 200, true, -1},
        {"pm_big", PAY_OUT_RETRY, "bad_answer", 200, true, -1},
        {"pm_drop", PAY_OUT_RETRY, "network", 0, true, -1},
        {"pm_unknown", PAY_OUT_INVALID, "http_404", 404, false, -1},
    };
    size_t n = sizeof cases / sizeof cases[0];
    s_charge_table(f, cases, n);
    for (size_t i = 0; i < n; i++)
        assert_null(strstr(f->recs[i].out.message, S_KEY));
    assert_string_equal(f->recs[0].out.charge_id, "ch_ik_tab_0");
    assert_string_equal(f->recs[1].out.message,
                        "Your card has insufficient funds.");
    assert_string_equal(f->recs[2].out.message,
                        "Invalid amount. (param: amount)");
    assert_non_null(strstr(f->recs[5].out.message, "Bad Gateway"));
}

static void
test_pay_gw_http_timeout_is_unknown(void **state)
{
    s_fix_t *f = *state;
    s_http(f, S_KEY, 300, 0);
    s_charge(f, 0, "pm_hang", "ik_hang", 1);
    s_run(f, 1);
    s_expect(&f->recs[0], PAY_OUT_RETRY, "timeout", 0, true);
}

static void
test_pay_gw_http_closed_port_is_not_unknown(void **state)
{
    s_fix_t *f = *state;
    uint16_t port = 0;
    int fd = azo_test_listen(1, &port);
    assert_true(fd >= 0);
    close(fd);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)port);
    pay_gw_opts_t o = {.kind = "http", .url = url, .api_key = S_KEY};
    s_gw(f, &o);
    s_charge(f, 0, "pm_ok", "ik_closed", 1);
    s_run(f, 1);
    s_expect(&f->recs[0], PAY_OUT_RETRY, "network", 0, false);
    assert_true(f->recs[0].out.message[0] != 0);
    assert_null(strstr(f->recs[0].out.message, S_KEY));
}

static void
test_pay_gw_http_connect_timeout_is_not_unknown(void **state)
{
    s_fix_t *f = *state;
    // A listener whose accept queue is full (backlog 0, one connection
    // in): Linux drops further SYNs, so the connect never completes.
    uint16_t port = 0;
    int lfd = azo_test_listen(0, &port);
    assert_true(lfd >= 0);
    int filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(filler, (struct sockaddr *)&sa, sizeof sa), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)port);
    pay_gw_opts_t o = {.kind = "http", .url = url, .timeout_ms = 300};
    s_gw(f, &o);
    s_charge(f, 0, "pm_ok", "ik_backlog", 1);
    s_run(f, 1);
    s_expect(&f->recs[0], PAY_OUT_RETRY, "timeout", 0, false);
    close(filler);
    close(lfd);
}

static void
test_pay_gw_http_keeps_connections(void **state)
{
    s_fix_t *f = *state;
    s_http(f, S_KEY, 5000, 0);
    f->hook = s_hook_chain; // one after the other, from the callback
    f->chain = 9;
    s_charge(f, 0, "pm_ok", "ik_chain_0", 1);
    s_run(f, 10);
    for (size_t i = 0; i < 10; i++)
        s_expect(&f->recs[i], PAY_OUT_OK, "", 200, false);
    assert_int_equal(s_srv_get(&f->srv, &f->srv.accepted), 1);
    assert_int_equal(s_srv_get(&f->srv, &f->srv.requests), 10);
}

static void
test_pay_gw_http_many_in_flight(void **state)
{
    s_fix_t *f = *state;
    s_http(f, S_KEY, 10000, 0); // 32 connections at most
    for (size_t i = 0; i < 64; i++) {
        char ikey[32];
        snprintf(ikey, sizeof ikey, "ik_many_%zu", i);
        s_charge(f, i, "pm_ok", ikey, 1);
    }
    assert_int_equal(pay_gw_inflight(f->gw), 64);
    s_run(f, 64);
    for (size_t i = 0; i < 64; i++) {
        char id[40];
        snprintf(id, sizeof id, "ch_ik_many_%zu", i);
        s_expect(&f->recs[i], PAY_OUT_OK, "", 200, false);
        assert_string_equal(f->recs[i].out.charge_id, id);
    }
    assert_int_equal(s_srv_get(&f->srv, &f->srv.requests), 64);
    assert_true(s_srv_get(&f->srv, &f->srv.max_open) <= 32);
    assert_true(s_srv_get(&f->srv, &f->srv.accepted) <= 32);
    // A second wave rides the open connections.
    for (size_t i = 64; i < 128; i++) {
        char ikey[32];
        snprintf(ikey, sizeof ikey, "ik_many_%zu", i);
        s_charge(f, i, "pm_ok", ikey, 1);
    }
    s_run(f, 128);
    assert_true(s_srv_get(&f->srv, &f->srv.accepted) <= 32);
}

static bool
s_until_4_answered_8_hung(s_fix_t *f)
{
    return f->got == 4 && s_srv_get(&f->srv, &f->srv.hung) == 8;
}

static void
test_pay_gw_http_destroy_in_flight(void **state)
{
    s_fix_t *f = *state;
    s_http(f, S_KEY, 20000, 0);
    for (size_t i = 0; i < 12; i++) {
        char ikey[32];
        snprintf(ikey, sizeof ikey, "ik_fl_%zu", i);
        s_charge(f, i, i % 3 == 0 ? "pm_ok" : "pm_hang", ikey, 1);
    }
    s_wait(f, s_until_4_answered_8_hung);
    assert_int_equal(pay_gw_inflight(f->gw), 8);
    pay_gw_destroy(&f->gw); // no callback, nothing leaked (ASan)
    s_idle(f, 20);
    assert_int_equal(f->got, 4);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_pay_gw_classify_statuses),
        T(test_pay_gw_classify_curl_errors),
        T(test_pay_gw_classify_retry_after),
        T(test_pay_gw_classify_malformed_bodies),
        T(test_pay_gw_out_names),
        T(test_pay_gw_new_rejects_bad_options),
        T(test_pay_gw_charge_rejects_bad_requests),
        T(test_pay_gw_sandbox_tokens),
        T(test_pay_gw_sandbox_attempts),
        T(test_pay_gw_sandbox_order),
        T(test_pay_gw_sandbox_stable_charge_ids),
        T(test_pay_gw_sandbox_callback_may_charge),
        T(test_pay_gw_sandbox_many_in_order),
        T(test_pay_gw_sandbox_key_memory_is_bounded),
        T(test_pay_gw_sandbox_destroy_in_flight),
        T(test_pay_gw_http_request_format),
        T(test_pay_gw_http_outcomes),
        T(test_pay_gw_http_timeout_is_unknown),
        T(test_pay_gw_http_closed_port_is_not_unknown),
        T(test_pay_gw_http_connect_timeout_is_not_unknown),
        T(test_pay_gw_http_keeps_connections),
        T(test_pay_gw_http_many_in_flight),
        T(test_pay_gw_http_destroy_in_flight),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
