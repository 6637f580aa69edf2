// Unit tests of azo_actor: thread actors run by the runtime, with the test
// thread playing the supervisor (registry index 0: its own inbox and bus).
// Covers request/reply, actor-to-actor calls and their time-outs, one-way
// messages, deferred replies, timers, events, exits and failed inits.
#include "azo_actor.h"
#include "azo_bus.h"
#include "azo_err.h"
#include "azo_life.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

// --- actor "alpha" (a.) -----------------------------------------------------

typedef struct {
    azo_actor_t *actor;
    int cancelled_timer;
    bool cancelled_fired;
} alpha_t;

static int
alpha_init(azo_actor_t *actor, void **self_p)
{
    alpha_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    self->actor = actor;
    *self_p = self;
    return 0;
}

static void
alpha_fini(void *self)
{
    free(self);
}

static int
a_echo(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    alpha_t *self = arg;
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 3);
    azo_pack_kstr(pk, "word", azo_req_str(req, "word"));
    azo_pack_kstr(pk, "node", azo_actor_node(self->actor));
    azo_pack_kstr(pk, "name", azo_actor_name(self->actor));
    return 0;
}

// Completes the deferred reply (arg) with what b answered.
static void
a_on_b_reply(void *arg, const azo_rep_t *rep, void *later_arg)
{
    alpha_t *self = arg;
    azo_reply_t *later = later_arg;
    if (rep->ok) {
        msgpack_packer *pk = azo_reply_result(later);
        msgpack_pack_map(pk, 1);
        azo_pack_str(pk, "via_b");
        msgpack_pack_object(pk, *rep->result);
    } else
        azo_reply_fail(later, rep->rc, "b said: %s", rep->message);
    azo_actor_reply(self->actor, &later);
}

static int
a_ask_b(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    alpha_t *self = arg;
    const char *cmd = azo_req_str(req, "cmd");
    int64_t timeout = 2000;
    (void)azo_req_int(req, "timeout", &timeout);
    azo_reply_t *later = azo_actor_defer(self->actor, reply);
    assert_non_null(later);
    msgpack_packer *pk = azo_actor_msg(self->actor, cmd ? cmd : "b.echo");
    msgpack_pack_map(pk, 1);
    azo_pack_kstr(pk, "word", azo_req_str(req, "word"));
    int rc = azo_actor_call(self->actor, NULL, timeout, a_on_b_reply, later);
    if (rc < 0) {
        azo_reply_fail(later, rc, "cannot call b");
        azo_actor_reply(self->actor, &later);
    }
    return 0;
}

static void
a_on_timer(void *arg, void *later_arg)
{
    alpha_t *self = arg;
    azo_reply_t *later = later_arg;
    msgpack_packer *pk = azo_reply_result(later);
    msgpack_pack_map(pk, 1);
    azo_pack_kbool(pk, "cancelled_fired", self->cancelled_fired);
    azo_actor_reply(self->actor, &later);
}

static void
a_on_cancelled(void *arg, void *unused)
{
    (void)unused;
    ((alpha_t *)arg)->cancelled_fired = true;
}

static int
a_timer(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    alpha_t *self = arg;
    (void)req;
    azo_reply_t *later = azo_actor_defer(self->actor, reply);
    int64_t now = zclock_mono();
    self->cancelled_timer =
        azo_actor_timer_at(self->actor, now + 20, a_on_cancelled, NULL);
    assert_true(self->cancelled_timer > 0);
    azo_actor_timer_cancel(self->actor, self->cancelled_timer);
    azo_actor_timer_cancel(self->actor, 12345); // unknown: ignored
    assert_true(azo_actor_timer_at(self->actor, now + 60, a_on_timer, later) >
                0);
    return 0;
}

static int
a_fail(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    alpha_t *self = arg;
    bool failed = true;
    (void)azo_req_bool(req, "failed", &failed);
    azo_actor_exit(self->actor, failed, azo_req_str(req, "reason"));
    return azo_reply_ok(reply);
}

static int
a_publish(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    alpha_t *self = arg;
    msgpack_packer *pk =
        azo_actor_event(self->actor, azo_req_str(req, "topic"), 1);
    azo_pack_kint(pk, "n", 7);
    int rc = azo_actor_publish(self->actor);
    if (rc < 0)
        return azo_reply_fail(reply, rc, "publish failed");
    return azo_reply_ok(reply);
}

static int
a_cast_b(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    alpha_t *self = arg;
    int64_t n = 0;
    (void)azo_req_int(req, "n", &n);
    for (int64_t i = 0; i < n; i++) {
        msgpack_packer *pk = azo_actor_msg(self->actor, "b.count");
        msgpack_pack_map(pk, 0);
        int rc = azo_actor_send_wait(self->actor, "beta", 1000);
        if (rc < 0)
            return azo_reply_fail(reply, rc, "send %lld failed", (long long)i);
    }
    // Routing errors are return codes, not crashes.
    msgpack_pack_map(azo_actor_msg(self->actor, "b.count"), 0);
    int nf = azo_actor_send(self->actor, "nope");
    msgpack_pack_map(azo_actor_msg(self->actor, "zz.count"), 0);
    int ns = azo_actor_send(self->actor, NULL); // the supervisor's
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 2);
    azo_pack_kint(pk, "nope", nf);
    azo_pack_kint(pk, "to_sup", ns);
    return 0;
}

static const azo_cmd_entry_t s_alpha_cmds[] = {
    {"a.echo", a_echo}, {"a.ask_b", a_ask_b},     {"a.timer", a_timer},
    {"a.fail", a_fail}, {"a.publish", a_publish}, {"a.cast_b", a_cast_b},
};

static const azo_actor_def_t s_alpha = {
    .name = "alpha",
    .prefix = "a.",
    .init = alpha_init,
    .fini = alpha_fini,
    .cmds = s_alpha_cmds,
    .ncmds = sizeof s_alpha_cmds / sizeof s_alpha_cmds[0],
};

// --- actor "beta" (b.) ------------------------------------------------------

typedef struct {
    azo_actor_t *actor;
    int64_t count;
} beta_t;

static int
beta_init(azo_actor_t *actor, void **self_p)
{
    beta_t *self = calloc(1, sizeof *self);
    self->actor = actor;
    *self_p = self;
    return 0;
}

static void
beta_fini(void *self)
{
    free(self);
}

static int
b_echo(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    (void)arg;
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 1);
    azo_pack_kstr(pk, "word", azo_req_str(req, "word"));
    return 0;
}

static int
b_never(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    beta_t *self = arg;
    (void)req;
    (void)azo_actor_defer(self->actor, reply); // answered at stop
    return 0;
}

static int
b_count(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    (void)req;
    (void)reply;
    ((beta_t *)arg)->count++;
    return 0;
}

static int
b_get_count(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    (void)req;
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 1);
    azo_pack_kint(pk, "count", ((beta_t *)arg)->count);
    return 0;
}

static const azo_cmd_entry_t s_beta_cmds[] = {
    {"b.echo", b_echo},
    {"b.never", b_never},
    {"b.count", b_count},
    {"b.get_count", b_get_count},
};

static const azo_actor_def_t s_beta = {
    .name = "beta",
    .prefix = "b.",
    .init = beta_init,
    .fini = beta_fini,
    .cmds = s_beta_cmds,
    .ncmds = sizeof s_beta_cmds / sizeof s_beta_cmds[0],
};

// --- actor "gamma": its init fails
// --------------------------------------------

static int
gamma_init(azo_actor_t *actor, void **self_p)
{
    (void)actor;
    (void)self_p;
    return AZO_ESTOREFULL;
}

static const azo_actor_def_t s_gamma = {.name = "gamma", .init = gamma_init};

// --- fixture: the test thread as supervisor
// -----------------------------------

typedef struct {
    zsock_t *pipe;
    pthread_t thread;
    bool running;
} inst_t;

typedef struct {
    azo_registry_t *reg;
    azo_bus_t *bus;
    zsock_t *inbox;
    zsock_t *xsub; // PULL, as the supervisor's
    azo_rep_t rep;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    uint64_t token;
    int casts;      // one-way frames received by the "supervisor"
    inst_t inst[4]; // by registry index
    const azo_actor_def_t *defs[4];
} fixture_t;

// Reads frames from the test's inbox until a lifecycle frame of kind ev
// from idx arrives; other lifecycle frames (heartbeats) are skipped and
// anything else is left to fail the test. Fills *life.
static void
s_wait_life(fixture_t *f, int idx, azo_life_ev_t ev, azo_life_t *life)
{
    uint8_t buf[4096];
    while (true) {
        int n = zmq_recv(zsock_resolve(f->inbox), buf, sizeof buf, 0);
        assert_true(n >= AZO_BUS_HDR); // 5 s: a missing frame fails here
        azo_bus_msg_t m;
        assert_int_equal(azo_bus_parse(buf, (size_t)n, &m), 0);
        if (m.kind == AZO_BUS_CAST) {
            f->casts++;
            continue;
        }
        assert_int_equal(m.kind, AZO_BUS_LIFE);
        assert_int_equal(m.from, idx);
        assert_int_equal(azo_life_decode(m.body, m.len, life), 0);
        if (life->ev == ev)
            return;
        assert_int_equal(life->ev, AZO_LIFE_HB);
    }
}

// Starts actor idx on generation gen as the supervisor would: returns 0
// once READY came, or -1 with the EXIT reason.
static int
s_start(fixture_t *f, int idx, uint32_t gen, char *reason, size_t len)
{
    azo_actor_env_t env = {.def = f->defs[idx],
                           .reg = f->reg,
                           .idx = idx,
                           .gen = gen,
                           .node = "testnode",
                           .hwm = 1000,
                           .heartbeat_ms = 5000};
    inst_t *in = &f->inst[idx];
    assert_int_equal(azo_actor_spawn(&env, &in->pipe, &in->thread), 0);
    uint8_t buf[4096];
    int n = zmq_recv(zsock_resolve(f->inbox), buf, sizeof buf, 0);
    assert_true(n >= AZO_BUS_HDR);
    azo_bus_msg_t m;
    azo_life_t life;
    assert_int_equal(azo_bus_parse(buf, (size_t)n, &m), 0);
    assert_int_equal(m.kind, AZO_BUS_LIFE);
    assert_int_equal(azo_life_decode(m.body, m.len, &life), 0);
    assert_int_equal(life.gen, gen);
    if (life.ev == AZO_LIFE_READY) {
        azo_registry_set_up(f->reg, idx, gen);
        in->running = true;
        return 0;
    }
    assert_int_equal(life.ev, AZO_LIFE_EXIT);
    assert_true(life.failed);
    snprintf(reason, len, "%s", life.reason);
    zstr_send(in->pipe, "STOP"); // the thread waits for our word
    zsock_destroy(&in->pipe);
    pthread_join(in->thread, NULL);
    return -1;
}

// Waits for EXIT (asking first with $TERM if term); returns failed flag.
static bool
s_wait_exit(fixture_t *f, int idx, bool term, char *reason, size_t len)
{
    inst_t *in = &f->inst[idx];
    assert_true(in->running);
    azo_registry_set_down(f->reg, idx);
    if (term)
        assert_int_equal(zstr_send(in->pipe, "$TERM"), 0);
    azo_life_t life;
    s_wait_life(f, idx, AZO_LIFE_EXIT, &life);
    if (reason)
        snprintf(reason, len, "%s", life.reason);
    zstr_send(in->pipe, "STOP"); // the thread waits for our word
    zsock_destroy(&in->pipe);
    pthread_join(in->thread, NULL);
    in->running = false;
    return life.failed;
}

static int
setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->reg = azo_registry_new();
    f->defs[1] = &s_alpha;
    f->defs[2] = &s_beta;
    f->defs[3] = &s_gamma;
    for (int i = 1; i < 4; i++)
        assert_int_equal(
            azo_registry_add(f->reg, f->defs[i]->name, f->defs[i]->prefix), i);
    f->bus = azo_bus_new(f->reg, AZO_REG_SUP, 1000);
    assert_int_equal(
        azo_bus_inbox_open(f->reg, AZO_REG_SUP, 0, 1000, &f->inbox), 0);
    zsock_set_rcvtimeo(f->inbox, 5000);
    azo_registry_set_up(f->reg, AZO_REG_SUP, 0);
    char ep[128];
    azo_registry_events_endpoint(f->reg, ep, sizeof ep);
    f->xsub = zsock_new(ZMQ_PULL); // what the supervisor binds
    assert_int_equal(zsock_bind(f->xsub, "%s", ep), 0);
    zsock_set_rcvtimeo(f->xsub, 5000);
    assert_int_equal(azo_rep_init(&f->rep), 0);
    msgpack_sbuffer_init(&f->sb);
    msgpack_packer_init(&f->pk, &f->sb, msgpack_sbuffer_write);
    char why[256];
    assert_int_equal(s_start(f, 1, 1, why, sizeof why), 0);
    assert_int_equal(s_start(f, 2, 1, why, sizeof why), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture_t *f = *state;
    for (int i = 1; i < 4; i++)
        if (f->inst[i].running)
            (void)s_wait_exit(f, i, true, NULL, 0);
    azo_rep_fini(&f->rep);
    msgpack_sbuffer_destroy(&f->sb);
    zsock_destroy(&f->xsub);
    zsock_destroy(&f->inbox);
    azo_bus_destroy(&f->bus);
    azo_registry_destroy(&f->reg);
    free(f);
    return 0;
}

// Starts a request to cmd; the caller packs the args map into the returned
// packer and then calls s_call.
static msgpack_packer *
s_req(fixture_t *f, const char *cmd)
{
    msgpack_sbuffer_clear(&f->sb);
    azo_req_pack(&f->pk, ++f->token, cmd);
    return &f->pk;
}

// Sends the built request to idx and waits for its reply into f->rep.
static void
s_call(fixture_t *f, int idx)
{
    assert_int_equal(azo_bus_send(f->bus, idx, AZO_BUS_REQUEST, f->token,
                                  f->sb.data, f->sb.size, 1000),
                     0);
    uint8_t buf[4096];
    while (true) {
        int n = zmq_recv(zsock_resolve(f->inbox), buf, sizeof buf, 0);
        assert_true(n >= AZO_BUS_HDR);
        azo_bus_msg_t m;
        assert_int_equal(azo_bus_parse(buf, (size_t)n, &m), 0);
        if (m.kind == AZO_BUS_CAST) {
            f->casts++; // one-way messages to the "supervisor"
            continue;
        }
        if (m.kind == AZO_BUS_LIFE)
            continue; // heartbeats
        assert_int_equal(m.kind, AZO_BUS_REPLY);
        assert_int_equal(m.from, idx);
        if (m.token != f->token)
            continue; // a late reply to an earlier request
        char err[128];
        assert_int_equal(
            azo_rep_decode(&f->rep, m.body, m.len, err, sizeof err), 0);
        assert_true(f->rep.id == f->token);
        return;
    }
}

static void
s_call_word(fixture_t *f, int idx, const char *cmd, const char *word)
{
    msgpack_packer *pk = s_req(f, cmd);
    msgpack_pack_map(pk, 1);
    azo_pack_kstr(pk, "word", word);
    s_call(f, idx);
}

// --- tests ------------------------------------------------------------------

static void
test_actor_answers_requests(void **state)
{
    fixture_t *f = *state;
    s_call_word(f, 1, "a.echo", "hello");
    assert_true(f->rep.ok);
    assert_true(azo_mp_str_eq(azo_mp_get(f->rep.result, "word"), "hello"));
    assert_true(azo_mp_str_eq(azo_mp_get(f->rep.result, "node"), "testnode"));
    assert_true(azo_mp_str_eq(azo_mp_get(f->rep.result, "name"), "alpha"));
    s_call_word(f, 1, "a.nope", "x");
    assert_int_equal(f->rep.rc, AZO_ENOCMD);
}

static void
test_actor_survives_malformed_frames(void **state)
{
    fixture_t *f = *state;
    // Garbage bodies get bad_request; garbage frames are dropped.
    assert_int_equal(azo_bus_send(f->bus, 1, AZO_BUS_REQUEST, ++f->token,
                                  "\xc1\x00", 2, 1000),
                     0);
    uint8_t buf[512];
    int n = zmq_recv(zsock_resolve(f->inbox), buf, sizeof buf, 0);
    azo_bus_msg_t m;
    assert_int_equal(azo_bus_parse(buf, (size_t)n, &m), 0);
    assert_int_equal(azo_rep_decode(&f->rep, m.body, m.len, NULL, 0), 0);
    assert_int_equal(f->rep.rc, AZO_EBADREQ);
    assert_false(f->rep.has_id);
    zsock_t *raw = zsock_new_push(NULL);
    char ep[128];
    azo_registry_endpoint(f->reg, 1, 1, ep, sizeof ep);
    assert_int_equal(zsock_connect(raw, "%s", ep), 0);
    zstr_send(raw, "short");
    zstr_send(raw, "");
    zsock_destroy(&raw);
    s_call_word(f, 1, "a.echo", "still here");
    assert_true(f->rep.ok);
}

static void
test_actor_calls_another_actor(void **state)
{
    fixture_t *f = *state;
    s_call_word(f, 1, "a.ask_b", "relay");
    assert_true(f->rep.ok);
    const msgpack_object *via = azo_mp_get(f->rep.result, "via_b");
    assert_true(azo_mp_str_eq(azo_mp_get(via, "word"), "relay"));
    // An unknown command at b comes back as b's error.
    msgpack_packer *pk = s_req(f, "a.ask_b");
    msgpack_pack_map(pk, 2);
    azo_pack_kstr(pk, "cmd", "b.nope");
    azo_pack_kstr(pk, "word", "x");
    s_call(f, 1);
    assert_int_equal(f->rep.rc, AZO_ENOCMD);
}

static void
test_actor_call_times_out(void **state)
{
    fixture_t *f = *state;
    msgpack_packer *pk = s_req(f, "a.ask_b");
    msgpack_pack_map(pk, 3);
    azo_pack_kstr(pk, "cmd", "b.never");
    azo_pack_kstr(pk, "word", "x");
    azo_pack_kint(pk, "timeout", 50);
    s_call(f, 1);
    assert_int_equal(f->rep.rc, AZO_ETIMEOUT);
    assert_non_null(strstr(f->rep.message, "beta"));
}

static void
test_actor_call_to_stopped_actor_is_unavailable(void **state)
{
    fixture_t *f = *state;
    char why[128];
    assert_false(s_wait_exit(f, 2, true, why, sizeof why));
    assert_string_equal(why, "stopped");
    s_call_word(f, 1, "a.ask_b", "x");
    assert_int_equal(f->rep.rc, AZO_EUNAVAIL);
    // b comes back on a new generation and alpha reaches it again.
    assert_int_equal(s_start(f, 2, 2, why, sizeof why), 0);
    s_call_word(f, 1, "a.ask_b", "again");
    assert_true(f->rep.ok);
}

static void
test_actor_deferred_replies_answered_at_stop(void **state)
{
    fixture_t *f = *state;
    msgpack_packer *pk = s_req(f, "b.never");
    msgpack_pack_map(pk, 0);
    assert_int_equal(azo_bus_send(f->bus, 2, AZO_BUS_REQUEST, f->token,
                                  f->sb.data, f->sb.size, 1000),
                     0);
    // Make sure b has taken it before asking b to stop.
    uint64_t waiting = f->token;
    s_call_word(f, 2, "b.echo", "sync");
    assert_true(f->rep.ok);
    assert_int_equal(zstr_send(f->inst[2].pipe, "$TERM"), 0);
    // The honest answer comes before the actor's EXIT.
    uint8_t buf[512];
    int n = zmq_recv(zsock_resolve(f->inbox), buf, sizeof buf, 0);
    azo_bus_msg_t m;
    assert_int_equal(azo_bus_parse(buf, (size_t)n, &m), 0);
    assert_true(m.token == waiting);
    assert_int_equal(azo_rep_decode(&f->rep, m.body, m.len, NULL, 0), 0);
    assert_int_equal(f->rep.rc, AZO_EUNAVAIL);
    assert_non_null(strstr(f->rep.message, "stopped"));
    (void)s_wait_exit(f, 2, false, NULL, 0);
}

static void
test_actor_one_way_messages_arrive_in_order(void **state)
{
    fixture_t *f = *state;
    msgpack_packer *pk = s_req(f, "a.cast_b");
    msgpack_pack_map(pk, 1);
    azo_pack_kint(pk, "n", 5000);
    s_call(f, 1);
    assert_true(f->rep.ok);
    int64_t nf = 0, ns = 0;
    assert_int_equal(azo_mp_int(azo_mp_get(f->rep.result, "nope"), &nf), 0);
    assert_int_equal(azo_mp_int(azo_mp_get(f->rep.result, "to_sup"), &ns), 0);
    assert_int_equal(nf, AZO_ENOTFOUND);
    assert_int_equal(ns, 0);
    assert_int_equal(f->casts, 1); // sent before the reply, so seen first
    // Order holds per sender: alpha's request for the count reaches b after
    // alpha's 5000 messages (a request from here could overtake them).
    // While b's inbox is still full, a call fails at once ("unavailable")
    // rather than blocking alpha; it succeeds once b has caught up.
    int64_t deadline = zclock_mono() + 10000;
    do {
        msgpack_packer *pk2 = s_req(f, "a.ask_b");
        msgpack_pack_map(pk2, 1);
        azo_pack_kstr(pk2, "cmd", "b.get_count");
        s_call(f, 1);
        if (!f->rep.ok)
            assert_int_equal(f->rep.rc, AZO_EUNAVAIL);
    } while (!f->rep.ok && zclock_mono() < deadline);
    assert_true(f->rep.ok);
    int64_t count = 0;
    const msgpack_object *via = azo_mp_get(f->rep.result, "via_b");
    assert_int_equal(azo_mp_int(azo_mp_get(via, "count"), &count), 0);
    assert_int_equal(count, 5000);
}

static void
test_actor_timers_fire_and_cancel(void **state)
{
    fixture_t *f = *state;
    int64_t t0 = zclock_mono();
    msgpack_pack_map(s_req(f, "a.timer"), 0);
    s_call(f, 1);
    assert_true(f->rep.ok);
    assert_true(zclock_mono() - t0 >= 60);
    const msgpack_object *c = azo_mp_get(f->rep.result, "cancelled_fired");
    assert_non_null(c);
    assert_false(c->via.boolean);
}

static void
test_actor_publishes_events(void **state)
{
    fixture_t *f = *state;
    // The actor's very first event arrives (no subscription to wait for).
    msgpack_packer *pk = s_req(f, "a.publish");
    msgpack_pack_map(pk, 1);
    azo_pack_kstr(pk, "topic", "test.thing");
    s_call(f, 1);
    assert_true(f->rep.ok);
    char *topic = zstr_recv(f->xsub);
    assert_non_null(topic);
    assert_string_equal(topic, "test.thing");
    zframe_t *body = zframe_recv(f->xsub);
    assert_non_null(body);
    azo_event_t ev;
    assert_int_equal(azo_event_init(&ev), 0);
    assert_int_equal(azo_event_decode(&ev, topic, strlen(topic),
                                      zframe_data(body), zframe_size(body),
                                      NULL, 0),
                     0);
    assert_string_equal(ev.node, "testnode");
    assert_string_equal(ev.src, "alpha");
    int64_t n = 0;
    assert_int_equal(azo_mp_int(azo_mp_get(&ev.root, "n"), &n), 0);
    assert_int_equal(n, 7);
    azo_event_fini(&ev);
    zframe_destroy(&body);
    zstr_free(&topic);
    // A bad topic is refused, not published and not fatal.
    static const char *const bad[] = {"test.a b", "", "test.\x01"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pk = s_req(f, "a.publish");
        msgpack_pack_map(pk, 1);
        azo_pack_kstr(pk, "topic", bad[i]);
        s_call(f, 1);
        assert_int_equal(f->rep.rc, AZO_EBADREQ);
    }
}

static void
test_actor_exit_reports_reason(void **state)
{
    fixture_t *f = *state;
    msgpack_packer *pk = s_req(f, "a.fail");
    msgpack_pack_map(pk, 1);
    azo_pack_kstr(pk, "reason", "disk on fire");
    s_call(f, 1);
    assert_true(f->rep.ok);
    char why[128];
    assert_true(s_wait_exit(f, 1, false, why, sizeof why));
    assert_string_equal(why, "disk on fire");

    assert_int_equal(s_start(f, 1, 2, why, sizeof why), 0);
    pk = s_req(f, "a.fail");
    msgpack_pack_map(pk, 1);
    azo_pack_kbool(pk, "failed", false);
    s_call(f, 1);
    assert_false(s_wait_exit(f, 1, false, why, sizeof why));
    assert_string_equal(why, "normal");
}

// After EXIT the thread waits: RESTART runs a new generation in place, with
// a fresh inbox (the old one's frames die with it).
static void
test_actor_restarts_in_place(void **state)
{
    fixture_t *f = *state;
    msgpack_packer *pk = s_req(f, "a.fail");
    msgpack_pack_map(pk, 0);
    s_call(f, 1);
    azo_registry_set_down(f->reg, 1);
    azo_life_t life;
    s_wait_life(f, 1, AZO_LIFE_EXIT, &life);
    assert_true(life.failed);
    assert_int_equal(zstr_sendx(f->inst[1].pipe, "RESTART", "7", NULL), 0);
    s_wait_life(f, 1, AZO_LIFE_READY, &life);
    assert_int_equal(life.gen, 7);
    azo_registry_set_up(f->reg, 1, 7);
    s_call_word(f, 1, "a.echo", "again");
    assert_true(f->rep.ok);
    assert_true(azo_mp_str_eq(azo_mp_get(f->rep.result, "word"), "again"));
    msgpack_pack_map(s_req(f, "a.ping"), 0);
    s_call(f, 1);
    int64_t gen = 0;
    assert_int_equal(azo_mp_int(azo_mp_get(f->rep.result, "gen"), &gen), 0);
    assert_int_equal(gen, 7);
}

static void
test_actor_failed_init_reports_exit(void **state)
{
    fixture_t *f = *state;
    char why[128] = "";
    assert_int_equal(s_start(f, 3, 1, why, sizeof why), -1);
    assert_non_null(strstr(why, "init"));
    assert_non_null(strstr(why, "store full"));
    assert_false(azo_registry_up(f->reg, 3));
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_actor_answers_requests),
        T(test_actor_survives_malformed_frames),
        T(test_actor_calls_another_actor),
        T(test_actor_call_times_out),
        T(test_actor_call_to_stopped_actor_is_unavailable),
        T(test_actor_deferred_replies_answered_at_stop),
        T(test_actor_one_way_messages_arrive_in_order),
        T(test_actor_timers_fire_and_cancel),
        T(test_actor_publishes_events),
        T(test_actor_exit_reports_reason),
        T(test_actor_restarts_in_place),
        T(test_actor_failed_init_reports_exit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
