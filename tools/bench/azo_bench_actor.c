// azo_bench_actor — benchmarks 1 and 2 of issue #2: messaging between two
// thread actors of the real runtime, each figure next to a raw libzmq
// baseline measured in the same run. Not a test: it asserts nothing.
//
// What runs: a supervisor (azo_sup_open + azo_sup_run in a pthread) with two
// bench actors, "sink" (prefix "sink.") and "src" (prefix "src."), loaded
// from a config text whose endpoints are ipc:// paths in a mkdtemp
// directory. The main thread drives them over the control endpoint (a
// DEALER) and times each request with CLOCK_MONOTONIC, from send to reply.
//
// 1. One-way: `src.blast {n}` defers its reply, sends `sink.expect {n}`,
//    then n one-way `sink.msg {n: i}` with azo_actor_send_wait (blocking on
//    a full inbox: back-pressure). The sink decodes each and, at n, sends
//    `src.done`, which completes the deferred reply. Baselines: two threads
//    on raw inproc PUSH->PULL with the same high-water marks, carrying the
//    same envelope {"v":1,"id":i,"cmd":"sink.msg","args":{"n":i}} packed
//    with msgpack-c by the sender and decoded with msgpack_unpack_next by
//    the receiver; and, for context, the same frames without msgpack.
//    Target: azo >= 75% of the raw ZeroMQ + msgpack rate.
// 2. Request/reply: `src.rr {n, window}` keeps `window` azo_actor_call
//    requests `sink.echo {n: i}` outstanding until n replies came back
//    (window 1: latency-bound; window 64: pipelined). Baseline: a DEALER
//    thread and a ROUTER thread on raw inproc, msgpack-c encode and decode
//    both ways, same windows. No target is set; the ratio is for context.
//
// How to read it: each row gives the median and the best of the rounds
// (rounds of azo and of the baselines alternate, so machine noise hits both
// alike); ratio = azo / baseline on medians. "timed inside the source
// actor" leaves out the control round trip (it should match the wall
// figure). msgpack_unpack_next allocates a fresh zone for every message
// while azo's decoder reuses one, so azo may beat the msgpack baseline; the
// no-msgpack row is the transport's ceiling. With 2 cores, both threads of
// a pair plus anything else running share them: window-1 figures swing
// with thread placement. Rows starting "@summary" are for
// tools/bench/run.sh. Options: --help. A default run takes ~25 s on two
// cores.
#include "azo_actor.h"
#include "azo_bench.h"
#include "azo_config.h"
#include "azo_err.h"
#include "azo_sup.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_HWM             10000  // limits/queue, and the raw sockets' HWMs
#define S_SEND_WAIT_MS    10000  // a stuck sink fails the round, not hangs
#define S_CALL_TIMEOUT_MS 10000  // azo_actor_call timeout
#define S_CTL_TIMEOUT_MS  120000 // the longest a driven round may take
#define S_MAX_ROUNDS      100

// --- the bench actors ------------------------------------------------------
//
// Both run in their own threads; their state is theirs alone.

typedef struct {
    azo_actor_t *actor;  // borrowed
    azo_reply_t *later;  // the deferred reply of the run in progress
    int64_t t0;          // when the run started, ns
    int64_t n;           // messages or round trips wanted
    int64_t issued, got; // rr: calls made, replies seen
    int64_t failed;      // rr: replies that were failures
} s_src_t;

typedef struct {
    azo_actor_t *actor; // borrowed
    int64_t expect;     // sink.msg count that ends the blast
    int64_t count;
    int64_t sum; // of args.n: proves the sink read every message
} s_sink_t;

static int
s_src_init(azo_actor_t *actor, void **self_p)
{
    s_src_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    self->actor = actor;
    *self_p = self;
    return 0;
}

static int
s_sink_init(azo_actor_t *actor, void **self_p)
{
    s_sink_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    self->actor = actor;
    *self_p = self;
    return 0;
}

static void
s_free(void *self)
{
    free(self);
}

// Completes the run in progress: {n, ns} or the failure rc. A run in which
// some call failed is a failure: its rate would mean nothing.
static void
s_src_finish(s_src_t *self, int rc, const char *why)
{
    if (!self->later)
        return;
    if (rc < 0)
        azo_reply_fail(self->later, rc, "%s", why);
    else if (self->failed)
        azo_reply_fail(self->later, AZO_EINTERNAL, "%lld of %lld calls failed",
                       (long long)self->failed, (long long)self->n);
    else {
        msgpack_packer *pk = azo_reply_result(self->later);
        msgpack_pack_map(pk, 2);
        azo_pack_kint(pk, "n", self->n);
        azo_pack_kint(pk, "ns", azo_bench_now_ns() - self->t0);
    }
    (void)azo_actor_reply(self->actor, &self->later); // driver gone: fine
}

// Reads args.n within [min, max] or writes the error reply.
static int
s_arg_n(const azo_req_t *req, azo_reply_t *reply, const char *key, int64_t min,
        int64_t max, int64_t *out)
{
    if (azo_req_int(req, key, out) < 0 || *out < min || *out > max)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "args.%s: integer %lld..%lld needed", key,
                              (long long)min, (long long)max);
    return 0;
}

static int
s_src_ready(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    (void)arg;
    (void)req;
    return azo_reply_ok(reply);
}

// src.blast {n}: n one-way messages to the sink, replied when it has all.
static int
s_src_blast(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    s_src_t *self = arg;
    int64_t n;
    if (s_arg_n(req, reply, "n", 1, INT64_C(1) << 40, &n) < 0)
        return 0;
    if (self->later)
        return azo_reply_fail(reply, AZO_ECONFLICT, "a run is in progress");
    msgpack_packer *pk = azo_actor_msg(self->actor, "sink.expect");
    msgpack_pack_map(pk, 1);
    azo_pack_kint(pk, "n", n);
    int rc = azo_actor_send_wait(self->actor, NULL, S_SEND_WAIT_MS);
    if (rc < 0)
        return azo_reply_fail(reply, rc, "sink.expect: %s", azo_err_str(rc));
    self->later = azo_actor_defer(self->actor, reply);
    if (!self->later)
        return azo_reply_fail(reply, -ENOMEM, "cannot defer the reply");
    self->n = n;
    self->failed = 0;
    self->t0 = azo_bench_now_ns();
    // Blocking here is the point: send_wait is the back-pressure under test.
    for (int64_t i = 1; i <= n; i++) {
        pk = azo_actor_msg(self->actor, "sink.msg");
        msgpack_pack_map(pk, 1);
        azo_pack_kint(pk, "n", i);
        rc = azo_actor_send_wait(self->actor, NULL, S_SEND_WAIT_MS);
        if (rc < 0) {
            char why[128];
            snprintf(why, sizeof why, "sink.msg %lld of %lld: %s", (long long)i,
                     (long long)n, azo_err_str(rc));
            s_src_finish(self, rc, why);
            return 0;
        }
    }
    return 0; // src.done completes the reply
}

// src.done {n} (one-way, from the sink).
static int
s_src_done(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    s_src_t *self = arg;
    (void)reply; // one-way
    int64_t got = 0, sum = 0;
    (void)azo_req_int(req, "n", &got); // absent: 0, caught below
    (void)azo_req_int(req, "sum", &sum);
    if (got != self->n || sum != self->n * (self->n + 1) / 2)
        s_src_finish(self, AZO_EINTERNAL, "the sink saw other messages");
    else
        s_src_finish(self, 0, NULL);
    return 0;
}

static void s_src_issue(s_src_t *self);

// Reply callback of one sink.echo call.
static void
s_src_on_echo(void *state, const azo_rep_t *rep, void *arg)
{
    s_src_t *self = state;
    (void)arg;
    if (!rep->ok)
        self->failed++;
    self->got++;
    if (self->issued < self->n)
        s_src_issue(self);
    if (self->got == self->n)
        s_src_finish(self, 0, NULL);
}

// Sends the next sink.echo; a call that cannot start counts as failed.
static void
s_src_issue(s_src_t *self)
{
    int64_t i = ++self->issued;
    msgpack_packer *pk = azo_actor_msg(self->actor, "sink.echo");
    msgpack_pack_map(pk, 1);
    azo_pack_kint(pk, "n", i);
    if (azo_actor_call(self->actor, NULL, S_CALL_TIMEOUT_MS, s_src_on_echo,
                       NULL) < 0) {
        self->failed++;
        self->got++;
        if (self->got == self->n)
            s_src_finish(self, 0, NULL);
    }
}

// src.rr {n, window}: n calls to sink.echo, window of them outstanding.
static int
s_src_rr(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    s_src_t *self = arg;
    int64_t n, window;
    if (s_arg_n(req, reply, "n", 1, INT64_C(1) << 40, &n) < 0 ||
        s_arg_n(req, reply, "window", 1, S_HWM / 2, &window) < 0)
        return 0;
    if (self->later)
        return azo_reply_fail(reply, AZO_ECONFLICT, "a run is in progress");
    self->later = azo_actor_defer(self->actor, reply);
    if (!self->later)
        return azo_reply_fail(reply, -ENOMEM, "cannot defer the reply");
    self->n = n;
    self->issued = self->got = self->failed = 0;
    self->t0 = azo_bench_now_ns();
    for (int64_t w = 0; w < window && self->issued < n && self->later; w++)
        s_src_issue(self);
    return 0;
}

static int
s_sink_expect(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    s_sink_t *self = arg;
    (void)reply; // one-way
    self->expect = 0;
    self->count = self->sum = 0;
    (void)azo_req_int(req, "n", &self->expect); // absent: never done
    return 0;
}

// sink.msg {n} (one-way): counts, and tells the source when all are in.
static int
s_sink_msg(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    s_sink_t *self = arg;
    (void)reply; // one-way
    int64_t n = 0;
    (void)azo_req_int(req, "n", &n); // absent counts as 0
    self->sum += n;
    if (++self->count != self->expect)
        return 0;
    msgpack_packer *pk = azo_actor_msg(self->actor, "src.done");
    msgpack_pack_map(pk, 2);
    azo_pack_kint(pk, "n", self->count);
    azo_pack_kint(pk, "sum", self->sum);
    // The source's inbox is empty during a blast: this cannot be refused
    // unless the source is gone, and then nobody waits for it.
    (void)azo_actor_send(self->actor, NULL);
    return 0;
}

// sink.echo {n}: replies {n}.
static int
s_sink_echo(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    (void)arg;
    int64_t n = 0;
    (void)azo_req_int(req, "n", &n); // absent: echoes 0
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 1);
    azo_pack_kint(pk, "n", n);
    return 0;
}

static const azo_cmd_entry_t s_src_cmds[] = {
    {"src.ready", s_src_ready},
    {"src.blast", s_src_blast},
    {"src.done", s_src_done},
    {"src.rr", s_src_rr},
};

static const azo_cmd_entry_t s_sink_cmds[] = {
    {"sink.expect", s_sink_expect},
    {"sink.msg", s_sink_msg},
    {"sink.echo", s_sink_echo},
};

static const azo_actor_def_t s_src_def = {
    .name = "src",
    .prefix = "src.",
    .init = s_src_init,
    .fini = s_free,
    .cmds = s_src_cmds,
    .ncmds = sizeof s_src_cmds / sizeof s_src_cmds[0],
};

static const azo_actor_def_t s_sink_def = {
    .name = "sink",
    .prefix = "sink.",
    .init = s_sink_init,
    .fini = s_free,
    .cmds = s_sink_cmds,
    .ncmds = sizeof s_sink_cmds / sizeof s_sink_cmds[0],
};

static const azo_actor_def_t *const s_defs[] = {&s_sink_def, &s_src_def};

// The node: sink starts before src, so once src answers both are up. The
// paths are --set from the temp directory at run time.
static const char s_config[] = "node\n"
                               "    name = bench\n"
                               "endpoints\n"
                               "    control = ipc:///nonexistent/ctl\n"
                               "    events = ipc:///nonexistent/ev\n"
                               "    cluster = ipc:///nonexistent/cl\n"
                               "supervisor\n"
                               "    request_timeout = 10m\n"
                               "store\n"
                               "    map_size = 16MiB\n"
                               "limits\n"
                               "    queue = 10000\n"
                               "actors\n"
                               "    sink\n"
                               "        mode = thread\n"
                               "    src\n"
                               "        mode = thread\n";

// --- the driver: control requests from the main thread ---------------------

typedef struct {
    zsock_t *sock; // owned: DEALER to the control endpoint
    uint64_t next_id;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    azo_rep_t rep;
} s_ctl_t;

// Sends cmd with up to two integer arguments (k1/k2 NULL: none) and waits
// up to timeout_ms for its reply. Returns 0 and, if ns is not NULL, the
// result's "ns"; or a negative code with the reason in err.
static int
s_ctl_call(s_ctl_t *c, const char *cmd, const char *k1, int64_t v1,
           const char *k2, int64_t v2, int timeout_ms, int64_t *ns, char *err,
           size_t errlen)
{
    uint64_t id = c->next_id++;
    msgpack_sbuffer_clear(&c->sb);
    azo_req_pack(&c->pk, id, cmd);
    msgpack_pack_map(&c->pk, (k1 ? 1 : 0) + (k2 ? 1 : 0));
    if (k1)
        azo_pack_kint(&c->pk, k1, v1);
    if (k2)
        azo_pack_kint(&c->pk, k2, v2);
    void *raw = zsock_resolve(c->sock);
    if (zmq_send(raw, c->sb.data, c->sb.size, 0) < 0) {
        int rc = -errno;
        snprintf(err, errlen, "%s: cannot send: %s", cmd, azo_err_str(rc));
        return rc;
    }
    int64_t deadline = azo_bench_now_ns() + (int64_t)timeout_ms * 1000000;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int rc = AZO_ETIMEOUT;
    snprintf(err, errlen, "%s: no reply within %d ms", cmd, timeout_ms);
    while (!zsys_interrupted) {
        int64_t left = (deadline - azo_bench_now_ns()) / 1000000;
        if (left <= 0)
            break;
        zmq_pollitem_t item = {raw, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, (long)left) <= 0 ||
            zmq_msg_recv(&msg, raw, ZMQ_DONTWAIT) < 0)
            continue; // time-out, EINTR: the loop re-checks both
        char why[256];
        if (azo_rep_decode(&c->rep, zmq_msg_data(&msg), zmq_msg_size(&msg), why,
                           sizeof why) < 0) {
            rc = AZO_EBADREQ;
            snprintf(err, errlen, "%s: bad reply: %s", cmd, why);
            break;
        }
        if (!c->rep.has_id || c->rep.id != id)
            continue; // a stale reply to an earlier try
        if (!c->rep.ok) {
            rc = c->rep.rc;
            snprintf(err, errlen, "%s: %s: %s", cmd, c->rep.code,
                     c->rep.message);
            break;
        }
        rc = 0;
        err[0] = 0;
        if (ns && azo_mp_int(azo_mp_get(c->rep.result, "ns"), ns) < 0)
            *ns = 0;
        break;
    }
    zmq_msg_close(&msg);
    if (zsys_interrupted && rc == AZO_ETIMEOUT)
        snprintf(err, errlen, "%s: interrupted", cmd);
    return rc;
}

// --- raw baselines ---------------------------------------------------------
//
// libzmq and msgpack-c only, on sockets of the same kind and high-water
// marks as the runtime's bus. Each run makes fresh sockets on a fresh
// inproc name; a receiver that hears nothing for S_SEND_WAIT_MS gives up,
// so a failed sender never leaves a thread behind.

typedef struct {
    void *sock;  // PULL or ROUTER, used by the thread only while it runs
    int64_t n;   // messages to take
    bool decode; // PULL: msgpack_unpack_next each frame
    int64_t got; // frames taken
    int64_t sum; // of args.n
    int64_t bad; // frames that did not decode
} s_raw_peer_t;

static void *
s_raw_pull_thread(void *arg)
{
    s_raw_peer_t *r = arg;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    while (r->got < r->n) {
        if (zmq_msg_recv(&msg, r->sock, 0) < 0) {
            if (errno == EINTR && !zsys_interrupted)
                continue;
            break;
        }
        if (r->decode) {
            azo_bench_env_t env;
            if (azo_bench_unpack(&u, zmq_msg_data(&msg), zmq_msg_size(&msg),
                                 &env) < 0 ||
                !env.has_n)
                r->bad++;
            else
                r->sum += env.n;
        }
        r->got++;
    }
    msgpack_unpacked_destroy(&u);
    zmq_msg_close(&msg);
    return NULL;
}

static void *
s_raw_router_thread(void *arg)
{
    s_raw_peer_t *r = arg;
    azo_bench_router_t rt;
    azo_bench_router_init(&rt);
    while (r->got < r->n) {
        int rc = azo_bench_router_recv(&rt, r->sock);
        if (rc < 0 && errno == EINTR && !zsys_interrupted)
            continue;
        if (rc < 0)
            break;
        if (rc > 0 || !rt.env.has_id)
            r->bad++;
        azo_bench_pack_rep(&rt.pk, rt.env.id, "n", rt.env.n);
        if (azo_bench_router_send(&rt, r->sock) < 0)
            break;
        r->got++;
    }
    azo_bench_router_fini(&rt);
    return NULL;
}

// A connected pair of raw sockets on a fresh inproc name.
static int
s_raw_pair(int bind_type, int connect_type, int seq, zsock_t **bound,
           zsock_t **connected)
{
    *bound = zsock_new(bind_type);
    *connected = zsock_new(connect_type);
    if (!*bound || !*connected)
        return -ENOMEM;
    zsock_t *both[2] = {*bound, *connected};
    for (int i = 0; i < 2; i++) {
        zsock_set_sndhwm(both[i], S_HWM);
        zsock_set_rcvhwm(both[i], S_HWM);
        zsock_set_linger(both[i], 0);
        zsock_set_rcvtimeo(both[i], S_SEND_WAIT_MS);
    }
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://azo-bench-raw-%d", seq);
    if (zsock_bind(*bound, "%s", ep) < 0 ||
        zsock_connect(*connected, "%s", ep) < 0)
        return -errno;
    return 0;
}

// One-way: the main thread pushes n envelopes (decode) or n plain frames
// of the same size, a thread pulls them. Returns messages/s, or 0 on
// failure (reason printed).
static double
s_raw_oneway(int64_t n, bool decode, int seq)
{
    zsock_t *pull = NULL, *push = NULL;
    double rate = 0;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if (s_raw_pair(ZMQ_PULL, ZMQ_PUSH, seq, &pull, &push) < 0) {
        fprintf(stderr, "raw one-way: cannot make sockets\n");
        goto done;
    }
    // The plain frame is as long as the longest envelope of the run.
    azo_bench_pack_req(&pk, (uint64_t)n, "sink.msg", "n", n);
    char plain[128] = {0};
    size_t plain_len = sb.size < sizeof plain ? sb.size : sizeof plain;
    s_raw_peer_t r = {.sock = zsock_resolve(pull), .n = n, .decode = decode};
    pthread_t thread;
    if (pthread_create(&thread, NULL, s_raw_pull_thread, &r) != 0) {
        fprintf(stderr, "raw one-way: cannot start a thread\n");
        goto done;
    }
    void *raw = zsock_resolve(push);
    int64_t t0 = azo_bench_now_ns();
    for (int64_t i = 1; i <= n; i++) {
        int rc;
        if (decode) {
            msgpack_sbuffer_clear(&sb);
            azo_bench_pack_req(&pk, (uint64_t)i, "sink.msg", "n", i);
            rc = zmq_send(raw, sb.data, sb.size, 0);
        } else
            rc = zmq_send(raw, plain, plain_len, 0);
        if (rc < 0 && errno == EINTR && !zsys_interrupted)
            i--; // try that one again
        else if (rc < 0)
            break;
    }
    pthread_join(thread, NULL);
    double secs = (double)(azo_bench_now_ns() - t0) / 1e9;
    if (r.got != n || r.bad || (decode && r.sum != n * (n + 1) / 2))
        fprintf(stderr, "raw one-way: %lld of %lld frames, %lld bad\n",
                (long long)r.got, (long long)n, (long long)r.bad);
    else
        rate = (double)n / secs;
done:
    msgpack_sbuffer_destroy(&sb);
    zsock_destroy(&push);
    zsock_destroy(&pull);
    return rate;
}

// Request/reply: the main thread (DEALER) keeps window requests
// outstanding, a thread (ROUTER) answers; msgpack both ways. Returns round
// trips/s, or 0 on failure.
static double
s_raw_rr(int64_t n, int64_t window, int seq)
{
    zsock_t *router = NULL, *dealer = NULL;
    double rate = 0;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (s_raw_pair(ZMQ_ROUTER, ZMQ_DEALER, seq, &router, &dealer) < 0) {
        fprintf(stderr, "raw req/rep: cannot make sockets\n");
        goto done;
    }
    s_raw_peer_t r = {.sock = zsock_resolve(router), .n = n};
    pthread_t thread;
    if (pthread_create(&thread, NULL, s_raw_router_thread, &r) != 0) {
        fprintf(stderr, "raw req/rep: cannot start a thread\n");
        goto done;
    }
    void *raw = zsock_resolve(dealer);
    int64_t issued = 0, got = 0, bad = 0;
    int64_t t0 = azo_bench_now_ns();
    while (got < n) {
        while (issued < n && issued - got < window) {
            issued++;
            msgpack_sbuffer_clear(&sb);
            azo_bench_pack_req(&pk, (uint64_t)issued, "sink.echo", "n", issued);
            if (zmq_send(raw, sb.data, sb.size, 0) < 0)
                break;
        }
        if (zmq_msg_recv(&msg, raw, 0) < 0) {
            if (errno == EINTR && !zsys_interrupted)
                continue;
            break;
        }
        azo_bench_env_t env;
        if (azo_bench_unpack(&u, zmq_msg_data(&msg), zmq_msg_size(&msg), &env) <
                0 ||
            !env.ok || !env.has_n || (uint64_t)env.n != env.id)
            bad++;
        got++;
    }
    pthread_join(thread, NULL);
    double secs = (double)(azo_bench_now_ns() - t0) / 1e9;
    if (got != n || bad || r.bad)
        fprintf(stderr, "raw req/rep: %lld of %lld replies, %lld bad\n",
                (long long)got, (long long)n, (long long)(bad + r.bad));
    else
        rate = (double)n / secs;
done:
    zmq_msg_close(&msg);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
    return rate;
}

// --- the node under test ---------------------------------------------------

typedef struct {
    char dir[128];     // temp directory: data and ipc endpoints
    azo_config_t *cfg; // owned
    azo_sup_t *sup;    // owned; run by thread
    pthread_t thread;
    bool running;     // thread started and not joined
    atomic_bool done; // azo_sup_run has returned
    int exit_code;    // of azo_sup_run, once joined
    s_ctl_t ctl;
} s_node_t;

static void *
s_sup_thread(void *arg)
{
    s_node_t *node = arg;
    node->exit_code = azo_sup_run(node->sup);
    atomic_store(&node->done, true);
    return NULL;
}

// Loads the bench config, opens the supervisor, runs it in a thread and
// waits until the src actor answers. Returns 0 or -1 (reason printed).
static int
s_node_start(s_node_t *node)
{
    int rc = azo_bench_tmpdir(node->dir, sizeof node->dir);
    if (rc < 0) {
        fprintf(stderr, "cannot make a temp directory: %s\n", azo_err_str(rc));
        return -1;
    }
    char sets[4][200];
    snprintf(sets[0], sizeof sets[0], "node/data_dir=%s/data", node->dir);
    snprintf(sets[1], sizeof sets[1], "endpoints/control=ipc://%s/ctl",
             node->dir);
    snprintf(sets[2], sizeof sets[2], "endpoints/events=ipc://%s/ev",
             node->dir);
    snprintf(sets[3], sizeof sets[3], "endpoints/cluster=ipc://%s/cl",
             node->dir);
    const char *setv[4] = {sets[0], sets[1], sets[2], sets[3]};
    azo_config_set_default_g(s_config);
    size_t nkeys;
    azo_cfg_key_t *schema = azo_sup_schema(s_defs, 2, &nkeys);
    if (!schema) {
        fprintf(stderr, "out of memory\n");
        return -1;
    }
    char err[1024];
    rc = azo_config_load(&node->cfg, NULL, setv, 4, schema, nkeys, err,
                         sizeof err);
    free(schema);
    if (rc < 0) {
        fprintf(stderr, "bench config: %s\n", err);
        return -1;
    }
    rc = azo_sup_open(&node->sup, node->cfg, s_defs, 2, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "cannot open the node: %s\n", err);
        return -1;
    }
    if (pthread_create(&node->thread, NULL, s_sup_thread, node) != 0) {
        fprintf(stderr, "cannot start the supervisor thread\n");
        azo_sup_close(&node->sup);
        return -1;
    }
    node->running = true;

    node->ctl.next_id = 1;
    msgpack_sbuffer_init(&node->ctl.sb);
    msgpack_packer_init(&node->ctl.pk, &node->ctl.sb, msgpack_sbuffer_write);
    if (azo_rep_init(&node->ctl.rep) < 0)
        return -1;
    node->ctl.sock = zsock_new(ZMQ_DEALER);
    if (!node->ctl.sock)
        return -1;
    zsock_set_linger(node->ctl.sock, 0);
    if (zsock_connect(node->ctl.sock, "ipc://%s/ctl", node->dir) < 0) {
        fprintf(stderr, "cannot connect to the control endpoint\n");
        return -1;
    }
    // Actors start after azo_sup_run begins; until then src.* answers
    // "unavailable".
    int64_t deadline = azo_bench_now_ns() + INT64_C(10000000000);
    while (azo_bench_now_ns() < deadline && !zsys_interrupted) {
        if (s_ctl_call(&node->ctl, "src.ready", NULL, 0, NULL, 0, 1000, NULL,
                       err, sizeof err) == 0)
            return 0;
        zclock_sleep(10);
    }
    fprintf(stderr, "the bench actors did not start: %s\n", err);
    return -1;
}

// Shuts the node down (the `shutdown` command), joins its thread and
// removes the temp directory.
static void
s_node_stop(s_node_t *node)
{
    if (node->running) {
        // Ask for a stop, unless the supervisor already stopped by itself
        // (SIGINT), and wait for azo_sup_run to return: a signal may land
        // in any thread, so neither the reply nor a wake-up is certain.
        msgpack_sbuffer_clear(&node->ctl.sb);
        azo_req_pack(&node->ctl.pk, node->ctl.next_id++, "shutdown");
        msgpack_pack_map(&node->ctl.pk, 0);
        void *raw = zsock_resolve(node->ctl.sock);
        (void)zmq_send(raw, node->ctl.sb.data, node->ctl.sb.size,
                       ZMQ_DONTWAIT); // a stopped node needs no request
        int64_t deadline = azo_bench_now_ns() + INT64_C(10000000000);
        while (!atomic_load(&node->done) && azo_bench_now_ns() < deadline) {
            zmq_pollitem_t item = {raw, 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&item, 1, 50) > 0)
                (void)zmq_recv(raw, NULL, 0, ZMQ_DONTWAIT); // the reply
        }
        if (!atomic_load(&node->done)) {
            // The supervisor thread cannot be joined; leave without it.
            fprintf(stderr, "the node did not stop within 10 s\n");
            azo_bench_rmtree(node->dir);
            fflush(NULL);
            _exit(1);
        }
        pthread_join(node->thread, NULL);
        node->running = false;
    }
    zsock_destroy(&node->ctl.sock);
    if (node->ctl.rep.zone)
        azo_rep_fini(&node->ctl.rep);
    msgpack_sbuffer_destroy(&node->ctl.sb);
    azo_sup_close(&node->sup);
    azo_config_destroy(&node->cfg);
    if (node->dir[0])
        azo_bench_rmtree(node->dir);
}

// One driven run of cmd (src.blast or src.rr). Returns the rate seen by the
// driver (n / wall time from request to reply), 0 on failure; *inner gets
// the rate by the source actor's own clock.
static double
s_azo_run(s_node_t *node, const char *cmd, int64_t n, int64_t window,
          double *inner)
{
    char err[512];
    int64_t ns = 0;
    int64_t t0 = azo_bench_now_ns();
    int rc = s_ctl_call(&node->ctl, cmd, "n", n, window ? "window" : NULL,
                        window, S_CTL_TIMEOUT_MS, &ns, err, sizeof err);
    double secs = (double)(azo_bench_now_ns() - t0) / 1e9;
    if (rc < 0) {
        fprintf(stderr, "azo: %s\n", err);
        return 0;
    }
    if (inner)
        *inner = ns > 0 ? (double)n / ((double)ns / 1e9) : 0;
    return (double)n / secs;
}

// --- report ----------------------------------------------------------------

typedef struct {
    double v[S_MAX_ROUNDS];
    int n;
    double median, best;
} s_series_t;

static void
s_add(s_series_t *s, double x)
{
    if (s->n < S_MAX_ROUNDS)
        s->v[s->n++] = x;
}

static void
s_row(const char *label, s_series_t *s, bool verbose)
{
    double copy[S_MAX_ROUNDS];
    memcpy(copy, s->v, sizeof copy);
    s->median = azo_bench_median(copy, (size_t)s->n);
    s->best = copy[s->n - 1];
    char med[32], best[32];
    printf("  %-44s %12s %12s\n", label,
           azo_bench_fmt_rate(med, sizeof med, s->median),
           azo_bench_fmt_rate(best, sizeof best, s->best));
    if (verbose) {
        printf("      rounds:");
        for (int i = 0; i < s->n; i++) {
            char r[32];
            printf(" %s", azo_bench_fmt_rate(r, sizeof r, s->v[i]));
        }
        printf("\n");
    }
}

static void
s_summary_rate(const char *metric, const s_series_t *azo,
               const s_series_t *base, const char *target, double min_ratio)
{
    char a[32], b[32];
    double ratio = azo->median / base->median;
    azo_bench_summary(metric, azo_bench_fmt_rate(a, sizeof a, azo->median),
                      azo_bench_fmt_rate(b, sizeof b, base->median), ratio,
                      target,
                      target ? (ratio >= min_ratio ? "yes" : "NO") : NULL);
}

// --- main ------------------------------------------------------------------

typedef struct {
    int64_t oneway_n; // messages per one-way round
    int64_t rr1_n;    // round trips per window-1 round
    int64_t rr_n;     // round trips per window-W round
    int64_t window;
    int rounds;
    bool oneway, rr; // which benchmarks to run
    bool verbose;
} s_opts_t;

static void
s_usage(FILE *out)
{
    fprintf(out,
            "Usage: azo_bench_actor [-n N] [--rr N] [--rr1 N] [-w W] "
            "[-r R] [--only oneway|rr] [-v]\n"
            "\n"
            "Messaging between two thread actors of the azo runtime, next "
            "to raw\nlibzmq inproc baselines measured in the same run "
            "(issue #2, 1 and 2).\n"
            "\n"
            "  -n, --messages N  one-way messages per round (500000)\n"
            "      --rr1 N       round trips per round, window 1 (20000)\n"
            "      --rr N        round trips per round, window W (200000)\n"
            "  -w, --window W    requests outstanding (64)\n"
            "  -r, --rounds R    measured rounds, after one warm-up (5)\n"
            "      --only WHAT   oneway or rr\n"
            "  -v, --verbose     every round's figure, and runtime logs\n");
}

static int
s_parse(int argc, char **argv, s_opts_t *o)
{
    enum { OPT_RR = 256, OPT_RR1, OPT_ONLY };
    static const struct option opts[] = {
        {"messages", required_argument, NULL, 'n'},
        {"rr", required_argument, NULL, OPT_RR},
        {"rr1", required_argument, NULL, OPT_RR1},
        {"window", required_argument, NULL, 'w'},
        {"rounds", required_argument, NULL, 'r'},
        {"only", required_argument, NULL, OPT_ONLY},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (s_opts_t){.oneway_n = 500000,
                    .rr1_n = 20000,
                    .rr_n = 200000,
                    .window = 64,
                    .rounds = 5,
                    .oneway = true,
                    .rr = true};
    int opt;
    while ((opt = getopt_long(argc, argv, "n:w:r:vh", opts, NULL)) != -1) {
        char *end = NULL;
        long long v = optarg ? strtoll(optarg, &end, 10) : 0;
        bool num_ok = optarg && *optarg && end && !*end && v > 0;
        switch (opt) {
        case 'n':
        case OPT_RR:
        case OPT_RR1:
            if (!num_ok || v > INT64_C(1) << 40) {
                fprintf(stderr, "azo_bench_actor: bad count '%s'\n", optarg);
                return -1;
            }
            *(opt == 'n'      ? &o->oneway_n
              : opt == OPT_RR ? &o->rr_n
                              : &o->rr1_n) = v;
            break;
        case 'w':
            if (!num_ok || v > S_HWM / 2) {
                fprintf(stderr, "azo_bench_actor: window 1..%d\n", S_HWM / 2);
                return -1;
            }
            o->window = v;
            break;
        case 'r':
            if (!num_ok || v > S_MAX_ROUNDS) {
                fprintf(stderr, "azo_bench_actor: rounds 1..%d\n",
                        S_MAX_ROUNDS);
                return -1;
            }
            o->rounds = (int)v;
            break;
        case OPT_ONLY:
            o->oneway = streq(optarg, "oneway");
            o->rr = streq(optarg, "rr");
            if (!o->oneway && !o->rr) {
                fprintf(stderr, "azo_bench_actor: --only oneway|rr\n");
                return -1;
            }
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'h':
            s_usage(stdout);
            exit(0);
        default:
            s_usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "azo_bench_actor: unexpected '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

// Benchmark 1. Returns 0, or -1 when a round failed.
static int
s_bench_oneway(s_node_t *node, const s_opts_t *o, int *seq)
{
    int64_t n = o->oneway_n, warm = n / 5 > 0 ? n / 5 : 1;
    s_series_t plain = {0}, mp = {0}, azo = {0}, inner = {0};
    double x;
    // Warm-up: allocators, page faults, the bus's cached sockets.
    if (s_raw_oneway(warm, false, (*seq)++) <= 0 ||
        s_raw_oneway(warm, true, (*seq)++) <= 0 ||
        s_azo_run(node, "src.blast", warm, 0, &x) <= 0)
        return -1;
    for (int r = 0; r < o->rounds && !zsys_interrupted; r++) {
        double a, b, c, in = 0;
        if ((a = s_raw_oneway(n, false, (*seq)++)) <= 0 ||
            (b = s_raw_oneway(n, true, (*seq)++)) <= 0 ||
            (c = s_azo_run(node, "src.blast", n, 0, &in)) <= 0)
            return -1;
        s_add(&plain, a);
        s_add(&mp, b);
        s_add(&azo, c);
        s_add(&inner, in);
    }
    if (zsys_interrupted)
        return -1;
    printf("\n1. One-way messages between two threads: %lld per round, "
           "%d rounds\n",
           (long long)n, o->rounds);
    printf("  %-44s %12s %12s\n", "", "median", "best");
    s_row("raw inproc PUSH->PULL, no msgpack", &plain, o->verbose);
    s_row("raw inproc PUSH->PULL + msgpack (baseline)", &mp, o->verbose);
    s_row("azo src -> sink, send_wait (wall)", &azo, o->verbose);
    s_row("azo, timed inside the source actor", &inner, o->verbose);
    printf("  azo / baseline = %.2f (target >= 0.75); azo / no-msgpack = "
           "%.2f\n",
           azo.median / mp.median, azo.median / plain.median);
    s_summary_rate("one-way msgs/s, 2 thread actors", &azo, &mp, ">= 0.75",
                   0.75);
    s_summary_rate("one-way msgs/s vs raw zmq w/o msgpack", &azo, &plain, NULL,
                   0);
    return 0;
}

// Benchmark 2 for one window. Returns 0, or -1 when a round failed.
static int
s_bench_rr(s_node_t *node, const s_opts_t *o, int64_t n, int64_t window,
           int *seq)
{
    int64_t warm = n / 5 > 0 ? n / 5 : 1;
    s_series_t raw = {0}, azo = {0}, inner = {0};
    double x;
    if (s_raw_rr(warm, window, (*seq)++) <= 0 ||
        s_azo_run(node, "src.rr", warm, window, &x) <= 0)
        return -1;
    for (int r = 0; r < o->rounds && !zsys_interrupted; r++) {
        double a, b, in = 0;
        if ((a = s_raw_rr(n, window, (*seq)++)) <= 0 ||
            (b = s_azo_run(node, "src.rr", n, window, &in)) <= 0)
            return -1;
        s_add(&raw, a);
        s_add(&azo, b);
        s_add(&inner, in);
    }
    if (zsys_interrupted)
        return -1;
    printf("\n2. Request/reply between two threads, window %lld: %lld round "
           "trips per round, %d rounds\n",
           (long long)window, (long long)n, o->rounds);
    printf("  %-44s %12s %12s\n", "", "median", "best");
    s_row("raw inproc DEALER<->ROUTER + msgpack (base)", &raw, o->verbose);
    s_row("azo src -> sink, azo_actor_call (wall)", &azo, o->verbose);
    s_row("azo, timed inside the source actor", &inner, o->verbose);
    printf("  azo / baseline = %.2f (no target set); mean round trip: azo "
           "%.1f us, raw %.1f us (per outstanding request)\n",
           azo.median / raw.median, 1e6 / azo.median * (double)window,
           1e6 / raw.median * (double)window);
    char metric[64];
    snprintf(metric, sizeof metric, "req/rep round trips/s, window %lld",
             (long long)window);
    s_summary_rate(metric, &azo, &raw, NULL, 0);
    return 0;
}

int
main(int argc, char **argv)
{
    s_opts_t o;
    if (s_parse(argc, argv, &o) < 0)
        return 2;
    zsys_init();
    zsys_set_logident("azo_bench_actor");
    zsys_set_logsystem(false);
    // The supervisor logs each actor start and stop; only -v shows them.
    zsys_set_logstream(o.verbose ? stderr : NULL);
    azo_bench_print_machine();

    s_node_t node = {0};
    int code = 1, seq = 0;
    if (s_node_start(&node) < 0)
        goto done;
    if (o.oneway && s_bench_oneway(&node, &o, &seq) < 0)
        goto done;
    if (o.rr && (s_bench_rr(&node, &o, o.rr1_n, 1, &seq) < 0 ||
                 s_bench_rr(&node, &o, o.rr_n, o.window, &seq) < 0))
        goto done;
    code = 0;
done:
    s_node_stop(&node);
    if (code == 0 && node.exit_code != AZO_EXIT_OK) {
        fprintf(stderr, "the supervisor exited with code %d\n", node.exit_code);
        code = 1;
    }
    if (zsys_interrupted)
        fprintf(stderr, "interrupted\n");
    return code;
}
