// Unit tests of azo_sup: the supervisor runs in-process in a thread, on
// inproc endpoints and a temp data dir, with test actors that echo, crash,
// stall or exit. The test talks to it as a control client (DEALER) and a
// subscriber (SUB), like any outside client.
#include "azo_err.h"
#include "azo_sup.h"
#include "azo_testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

// --- test actor "t1" / "t2"
// ---------------------------------------------------

typedef struct {
    azo_actor_t *actor;
} t_t;

// Set by a test before it starts a node: t1's init takes this long.
static int s_t1_init_sleep_ms; // test thread writes before any actor runs

static int
t_init(azo_actor_t *actor, void **self_p)
{
    if (s_t1_init_sleep_ms && streq(azo_actor_name(actor), "t1"))
        zclock_sleep(s_t1_init_sleep_ms);
    t_t *self = calloc(1, sizeof *self);
    self->actor = actor;
    *self_p = self;
    return 0;
}

static void
t_fini(void *self)
{
    free(self);
}

static int
t_echo(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    t_t *self = arg;
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 2);
    azo_pack_kstr(pk, "actor", azo_actor_name(self->actor));
    azo_pack_kstr(pk, "word", azo_req_str(req, "word"));
    return 0;
}

static int
t_crash(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    t_t *self = arg;
    (void)req;
    azo_actor_exit(self->actor, true, "crash requested");
    return azo_reply_ok(reply);
}

static int
t_quit(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    t_t *self = arg;
    (void)req;
    azo_actor_exit(self->actor, false, "done");
    return azo_reply_ok(reply);
}

static int
t_slow(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    t_t *self = arg;
    (void)req;
    (void)azo_actor_defer(self->actor, reply); // never completed
    return 0;
}

// Blocks the actor's thread for args.ms: a hang, as the supervisor sees it.
static int
t_block(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    (void)arg;
    int64_t ms = 0;
    (void)azo_req_int(req, "ms", &ms);
    zclock_sleep((int)ms);
    return azo_reply_ok(reply);
}

static const azo_cmd_entry_t s_t1_cmds[] = {
    {"t1.block", t_block}, {"t1.echo", t_echo}, {"t1.crash", t_crash},
    {"t1.quit", t_quit},   {"t1.slow", t_slow},
};
static const azo_cmd_entry_t s_t2_cmds[] = {
    {"t2.echo", t_echo},
    {"t2.crash", t_crash},
    {"t2.quit", t_quit},
    {"t2.slow", t_slow},
};

static const azo_actor_def_t s_t1 = {.name = "t1",
                                     .prefix = "t1.",
                                     .init = t_init,
                                     .fini = t_fini,
                                     .cmds = s_t1_cmds,
                                     .ncmds = 5};
static const azo_actor_def_t s_t2 = {.name = "t2",
                                     .prefix = "t2.",
                                     .init = t_init,
                                     .fini = t_fini,
                                     .cmds = s_t2_cmds,
                                     .ncmds = 4};
static const azo_actor_def_t *const s_defs[] = {&s_t1, &s_t2};

static const char s_cfg[] = "node\n"
                            "    name = testnode\n"
                            "actors\n"
                            "    t1\n"
                            "    t2\n";

// --- fixture
// -------------------------------------------------------------------

static int s_fixture_no; // test thread only

typedef struct {
    char dir[256];
    char control[128];
    char events[128];
    azo_config_t *cfg;
    azo_sup_t *sup;
    pthread_t thread;
    int exit_code;
    bool running;
    zsock_t *client;
    zsock_t *sub;
    azo_rep_t rep;
    uint64_t id;
    msgpack_sbuffer sb;
    msgpack_packer pk;
} fixture_t;

static void *
s_run(void *arg)
{
    fixture_t *f = arg;
    f->exit_code = azo_sup_run(f->sup);
    return NULL;
}

// Opens a node with extra "--set" overrides. Returns azo_sup_open's code
// (err holds its message).
static int
s_open(fixture_t *f, const char *const *extra, char *err, size_t errlen)
{
    char sets[8][300];
    const char *list[16];
    size_t n = 0;
    snprintf(sets[0], sizeof sets[0], "node/data_dir=%s/data", f->dir);
    snprintf(sets[1], sizeof sets[1], "endpoints/control=%s", f->control);
    snprintf(sets[2], sizeof sets[2], "endpoints/events=%s", f->events);
    snprintf(sets[3], sizeof sets[3], "endpoints/cluster=inproc://%s-cl",
             f->control + 9);
    for (; n < 4; n++)
        list[n] = sets[n];
    for (size_t i = 0; extra && extra[i]; i++)
        list[n++] = extra[i];
    size_t nkeys;
    azo_cfg_key_t *schema = azo_sup_schema(s_defs, 2, &nkeys);
    assert_non_null(schema);
    azo_config_set_default_g(s_cfg);
    int rc =
        azo_config_load(&f->cfg, NULL, list, n, schema, nkeys, err, errlen);
    free(schema);
    assert_int_equal(rc, 0);
    return azo_sup_open(&f->sup, f->cfg, s_defs, 2, err, errlen);
}

static void
s_start(fixture_t *f)
{
    assert_int_equal(pthread_create(&f->thread, NULL, s_run, f), 0);
    f->running = true;
    f->client = zsock_new_dealer(f->control);
    assert_non_null(f->client);
    zsock_set_rcvtimeo(f->client, 10000);
    f->sub = zsock_new_sub(f->events, "sup.");
    assert_non_null(f->sub);
    zsock_set_rcvtimeo(f->sub, 10000);
}

static int
s_fixture_new(fixture_t **out)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_int_equal(azo_test_tmpdir(f->dir, sizeof f->dir, "test_sup"), 0);
    int no = ++s_fixture_no;
    snprintf(f->control, sizeof f->control, "inproc://test-sup-%d-ctl", no);
    snprintf(f->events, sizeof f->events, "inproc://test-sup-%d-ev", no);
    assert_int_equal(azo_rep_init(&f->rep), 0);
    msgpack_sbuffer_init(&f->sb);
    msgpack_packer_init(&f->pk, &f->sb, msgpack_sbuffer_write);
    *out = f;
    return 0;
}

static void s_start_ready(fixture_t *f);

static int
setup(void **state)
{
    fixture_t *f;
    s_fixture_new(&f);
    char err[512];
    assert_int_equal(s_open(f, NULL, err, sizeof err), 0);
    s_start_ready(f);
    *state = f;
    return 0;
}

// Shuts the node down if it still runs and frees everything.
static int
teardown(void **state)
{
    fixture_t *f = *state;
    if (f->running) {
        if (f->client) {
            msgpack_sbuffer_clear(&f->sb);
            azo_req_pack(&f->pk, 999999, "shutdown");
            msgpack_pack_map(&f->pk, 0);
            zmq_send(zsock_resolve(f->client), f->sb.data, f->sb.size, 0);
        }
        pthread_join(f->thread, NULL);
    }
    zsock_destroy(&f->client);
    zsock_destroy(&f->sub);
    azo_sup_close(&f->sup);
    azo_config_destroy(&f->cfg);
    azo_rep_fini(&f->rep);
    msgpack_sbuffer_destroy(&f->sb);
    azo_test_rm_rf(f->dir);
    free(f);
    return 0;
}

// Sends cmd with args {name: arg} (arg NULL: no args) and waits for the
// reply with our id into f->rep.
static void
s_call(fixture_t *f, const char *cmd, const char *key, const char *arg)
{
    msgpack_sbuffer_clear(&f->sb);
    azo_req_pack(&f->pk, ++f->id, cmd);
    if (key) {
        msgpack_pack_map(&f->pk, 1);
        azo_pack_kstr(&f->pk, key, arg);
    } else
        msgpack_pack_map(&f->pk, 0);
    assert_int_equal(
        zmq_send(zsock_resolve(f->client), f->sb.data, f->sb.size, 0),
        (int)f->sb.size);
    while (true) {
        zframe_t *fr = zframe_recv(f->client);
        assert_non_null(fr);
        char err[256];
        int rc = azo_rep_decode(&f->rep, zframe_data(fr), zframe_size(fr), err,
                                sizeof err);
        // The view points into the frame: keep a copy alive in the zone.
        if (rc == 0 && f->rep.has_id && f->rep.id == f->id) {
            // Re-decode from a zone-owned copy so the frame can go.
            size_t n = zframe_size(fr);
            char *copy = msgpack_zone_malloc(f->rep.zone, n);
            memcpy(copy, zframe_data(fr), n);
            zframe_destroy(&fr);
            assert_int_equal(azo_rep_decode(&f->rep, copy, n, NULL, 0), 0);
            return;
        }
        assert_int_equal(rc, 0);
        zframe_destroy(&fr);
    }
}

// restart_in_ms of the last event s_event returned: -1 when nil or absent.
static int64_t s_restart_in; // test thread only

// Waits for the next event whose topic is topic and actor is actor (NULL:
// any). Returns its "reason" (static copy) or "".
static const char *
s_event(fixture_t *f, const char *topic, const char *actor)
{
    static char reason[128];
    azo_event_t ev;
    assert_int_equal(azo_event_init(&ev), 0);
    while (true) {
        char *t = zstr_recv(f->sub);
        assert_non_null(t);
        zframe_t *body = zframe_recv(f->sub);
        assert_non_null(body);
        assert_int_equal(azo_event_decode(&ev, t, strlen(t), zframe_data(body),
                                          zframe_size(body), NULL, 0),
                         0);
        bool match =
            streq(t, topic) &&
            (!actor || azo_mp_str_eq(azo_mp_get(&ev.root, "actor"), actor));
        reason[0] = 0;
        const char *r = azo_mp_strdup(azo_mp_get(&ev.root, "reason"), ev.zone);
        if (r)
            snprintf(reason, sizeof reason, "%s", r);
        s_restart_in = -1;
        (void)azo_mp_int(azo_mp_get(&ev.root, "restart_in_ms"), &s_restart_in);
        zstr_free(&t);
        zframe_destroy(&body);
        if (match)
            break;
    }
    azo_event_fini(&ev);
    return reason;
}

// Returns the status entry (in f->rep) of actor name.
static const msgpack_object *
s_actor_status(fixture_t *f, const char *name)
{
    s_call(f, "status", NULL, NULL);
    assert_true(f->rep.ok);
    const msgpack_object *list = azo_mp_get(f->rep.result, "actors");
    assert_non_null(list);
    for (uint32_t i = 0; i < list->via.array.size; i++)
        if (azo_mp_str_eq(azo_mp_get(&list->via.array.ptr[i], "name"), name))
            return &list->via.array.ptr[i];
    fail_msg("no actor %s in status", name);
    return NULL;
}

static bool
s_state_is(const msgpack_object *a, const char *state)
{
    return azo_mp_str_eq(azo_mp_get(a, "state"), state);
}

static int64_t
s_int(const msgpack_object *a, const char *key)
{
    int64_t v = -1;
    assert_int_equal(azo_mp_int(azo_mp_get(a, key), &v), 0);
    return v;
}

// Polls status until actor name is in state (or 10 s pass).
static const msgpack_object *
s_wait_state(fixture_t *f, const char *name, const char *state)
{
    int64_t end = zclock_mono() + 10000;
    const msgpack_object *a;
    while (!s_state_is(a = s_actor_status(f, name), state) &&
           zclock_mono() < end)
        zclock_sleep(5);
    assert_true(s_state_is(a, state));
    return a;
}

// Starts the node and waits until both actors run: routed requests during
// start-up are answered "unavailable" (the actor is starting).
static void
s_start_ready(fixture_t *f)
{
    s_start(f);
    s_wait_state(f, "t1", "running");
    s_wait_state(f, "t2", "running");
}

// Subscriptions need a moment to reach the XPUB: restart t2 until its
// events show, then drain.
static void
s_sync_sub(fixture_t *f)
{
    zsock_set_rcvtimeo(f->sub, 100);
    for (int i = 0; i < 100; i++) {
        s_call(f, "actor.restart", "name", "t2");
        char *t = zstr_recv(f->sub);
        if (t) {
            zstr_free(&t);
            break;
        }
    }
    zmsg_t *m;
    while ((m = zmsg_recv(f->sub)))
        zmsg_destroy(&m);
    zsock_set_rcvtimeo(f->sub, 10000);
}

// --- tests ------------------------------------------------------------------

static void
test_sup_status_and_ping(void **state)
{
    fixture_t *f = *state;
    s_call(f, "ping", NULL, NULL);
    assert_true(f->rep.ok);
    assert_true(azo_mp_str_eq(azo_mp_get(f->rep.result, "node"), "testnode"));
    const msgpack_object *a = s_actor_status(f, "t1");
    assert_true(s_state_is(a, "running"));
    assert_int_equal(s_int(a, "restarts"), 0);
    assert_int_equal(s_int(a, "gen"), 1);
    // Heartbeat freshness and the actor's own kernel thread, for the
    // health-checker (READY carried the tid before the state said running).
    int64_t tid1 = s_int(a, "tid");
    assert_true(tid1 > 0);
    assert_true(tid1 != (int64_t)getpid());
    assert_true(s_int(a, "hb_age_ms") >= 0);
    assert_int_equal(s_int(a, "heartbeat_ms"), 1000); // the defaults
    assert_int_equal(s_int(a, "liveness"), 3);
    a = s_actor_status(f, "t2");
    assert_true(s_state_is(a, "running"));
    assert_true(s_int(a, "tid") > 0);
    assert_true(s_int(a, "tid") != tid1);
}

static void
test_sup_routes_by_prefix(void **state)
{
    fixture_t *f = *state;
    s_call(f, "t2.echo", "word", "hi");
    assert_true(f->rep.ok);
    assert_true(azo_mp_str_eq(azo_mp_get(f->rep.result, "actor"), "t2"));
    s_call(f, "t1.nope", NULL, NULL);
    assert_int_equal(f->rep.rc, AZO_ENOCMD);
    s_call(f, "t3.echo", NULL, NULL);
    assert_int_equal(f->rep.rc, AZO_ENOCMD);
    s_call(f, "nodes", NULL, NULL);
    assert_true(f->rep.ok);
}

static void
test_sup_rejects_bad_frames(void **state)
{
    fixture_t *f = *state;
    void *raw = zsock_resolve(f->client);
    zmq_send(raw, "a", 1, ZMQ_SNDMORE);
    zmq_send(raw, "b", 1, ZMQ_SNDMORE);
    zmq_send(raw, "c", 1, 0);
    zframe_t *fr = zframe_recv(f->client);
    assert_non_null(fr);
    assert_int_equal(
        azo_rep_decode(&f->rep, zframe_data(fr), zframe_size(fr), NULL, 0), 0);
    assert_int_equal(f->rep.rc, AZO_EBADREQ);
    assert_non_null(strstr(f->rep.message, "frame"));
    zframe_destroy(&fr);
    s_call(f, "ping", NULL, NULL);
    assert_true(f->rep.ok);
}

static void
test_sup_restarts_crashed_actor(void **state)
{
    fixture_t *f = *state;
    s_sync_sub(f);
    s_call(f, "t1.crash", NULL, NULL);
    assert_true(f->rep.ok);
    assert_string_equal(s_event(f, "sup.actor.exited", "t1"), "failed");
    s_event(f, "sup.actor.started", "t1");
    const msgpack_object *a = s_wait_state(f, "t1", "running");
    assert_int_equal(s_int(a, "restarts"), 1);
    assert_int_equal(s_int(a, "gen"), 2);
    assert_non_null(
        strstr(azo_mp_strdup(azo_mp_get(a, "last_exit"), f->rep.zone),
               "crash requested"));
    s_call(f, "t1.echo", "word", "back");
    assert_true(f->rep.ok);
}

// Sends cmd with no args as request id, without waiting for the reply.
static void
s_send(fixture_t *f, uint64_t id, const char *cmd)
{
    msgpack_sbuffer_clear(&f->sb);
    azo_req_pack(&f->pk, id, cmd);
    msgpack_pack_map(&f->pk, 0);
    assert_int_equal(
        zmq_send(zsock_resolve(f->client), f->sb.data, f->sb.size, 0),
        (int)f->sb.size);
}

// Receives the reply with id (others are dropped) into f->rep; the frame
// is kept in *fr until the caller frees it.
static void
s_recv_id(fixture_t *f, uint64_t id, zframe_t **fr)
{
    while (true) {
        *fr = zframe_recv(f->client);
        assert_non_null(*fr);
        assert_int_equal(azo_rep_decode(&f->rep, zframe_data(*fr),
                                        zframe_size(*fr), NULL, 0),
                         0);
        if (f->rep.has_id && f->rep.id == id)
            return;
        zframe_destroy(fr);
    }
}

// A thread actor's first failure restarts it at once in its own thread
// (a quick restart): the request queued behind the failure is answered by
// the next generation, and the events come after the fact. A second
// failure within reset_after waits for its backoff, the normal way.
static void
test_sup_quick_restart_keeps_mailbox(void **state)
{
    fixture_t *f = *state;
    s_sync_sub(f);
    s_send(f, 7001, "t1.crash");
    s_send(f, 7002, "t1.ping"); // queued behind the crash
    zframe_t *fr;
    s_recv_id(f, 7001, &fr);
    assert_true(f->rep.ok);
    zframe_destroy(&fr);
    s_recv_id(f, 7002, &fr);
    assert_true(f->rep.ok);
    int64_t gen = 0;
    assert_int_equal(azo_mp_int(azo_mp_get(f->rep.result, "gen"), &gen), 0);
    assert_int_equal(gen, 2);
    zframe_destroy(&fr);
    assert_string_equal(s_event(f, "sup.actor.exited", "t1"), "failed");
    assert_int_equal(s_restart_in, 0);
    s_event(f, "sup.actor.restarted", "t1");
    s_event(f, "sup.actor.started", "t1");
    const msgpack_object *a = s_wait_state(f, "t1", "running");
    assert_int_equal(s_int(a, "restarts"), 1);
    assert_int_equal(s_int(a, "gen"), 2);
    // The second failure, right away: backoff (min 100ms), no ticket.
    s_call(f, "t1.crash", NULL, NULL);
    assert_true(f->rep.ok);
    assert_string_equal(s_event(f, "sup.actor.exited", "t1"), "failed");
    assert_true(s_restart_in >= 90);
    s_event(f, "sup.actor.started", "t1");
    a = s_wait_state(f, "t1", "running");
    assert_int_equal(s_int(a, "gen"), 3);
    s_call(f, "t1.echo", "word", "again");
    assert_true(f->rep.ok);
}

// A stop that crosses a failure: whether the thread saw the $TERM before
// deciding on a quick restart or not, the stop completes and the actor
// stays stopped; a start brings it back.
static void
test_sup_stop_crossing_quick_restart(void **state)
{
    fixture_t *f = *state;
    for (int i = 0; i < 20; i++) {
        s_wait_state(f, "t1", "running");
        s_send(f, 8000 + 2 * (uint64_t)i, "t1.crash");
        msgpack_sbuffer_clear(&f->sb);
        azo_req_pack(&f->pk, 8001 + 2 * (uint64_t)i, "actor.stop");
        msgpack_pack_map(&f->pk, 1);
        azo_pack_kstr(&f->pk, "name", "t1");
        assert_int_equal(
            zmq_send(zsock_resolve(f->client), f->sb.data, f->sb.size, 0),
            (int)f->sb.size);
        zframe_t *fr;
        s_recv_id(f, 8001 + 2 * (uint64_t)i, &fr);
        assert_true(f->rep.ok);
        zframe_destroy(&fr);
        assert_true(s_state_is(s_actor_status(f, "t1"), "stopped"));
        s_call(f, "actor.start", "name", "t1");
        assert_true(f->rep.ok);
    }
    s_call(f, "t1.echo", "word", "alive");
    assert_true(f->rep.ok);
}

static void
test_sup_lifecycle_commands(void **state)
{
    fixture_t *f = *state;
    s_call(f, "actor.stop", "name", "t1");
    assert_true(f->rep.ok);
    assert_true(s_state_is(f->rep.result, "stopped"));
    assert_int_equal(s_int(f->rep.result, "tid"), 0); // no instance
    assert_int_equal(s_int(f->rep.result, "hb_age_ms"), -1);
    s_call(f, "t1.echo", NULL, NULL);
    assert_int_equal(f->rep.rc, AZO_EUNAVAIL);
    s_call(f, "actor.stop", "name", "t1");
    assert_true(s_state_is(f->rep.result, "stopped"));
    s_call(f, "actor.restart", "name", "t1"); // restart of a stopped actor
    assert_true(s_state_is(f->rep.result, "running"));
    s_call(f, "actor.start", "name", "t1"); // already running: unchanged
    assert_true(s_state_is(f->rep.result, "running"));
    assert_int_equal(s_int(f->rep.result, "gen"), 2);
    s_call(f, "actor.restart", "name", "t1");
    assert_int_equal(s_int(f->rep.result, "gen"), 3);
    s_call(f, "actor.start", "name", "nope");
    assert_int_equal(f->rep.rc, AZO_ENOTFOUND);
    s_call(f, "actor.start", NULL, NULL);
    assert_int_equal(f->rep.rc, AZO_EBADREQ);
}

// A start queued behind a stop in progress: the stop is answered when the
// old instance has gone, then the start when the new one runs.
static void
test_sup_start_while_stopping_answers_both(void **state)
{
    fixture_t *f = *state;
    void *raw = zsock_resolve(f->client);
    const char *cmds[2] = {"actor.stop", "actor.start"};
    for (int i = 0; i < 2; i++) {
        msgpack_sbuffer_clear(&f->sb);
        azo_req_pack(&f->pk, 5000 + (uint64_t)i, cmds[i]);
        msgpack_pack_map(&f->pk, 1);
        azo_pack_kstr(&f->pk, "name", "t1");
        zmq_send(raw, f->sb.data, f->sb.size, 0);
    }
    bool stopped = false, started = false;
    while (!stopped || !started) {
        zframe_t *fr = zframe_recv(f->client);
        assert_non_null(fr); // 10 s: a lost reply fails here
        assert_int_equal(
            azo_rep_decode(&f->rep, zframe_data(fr), zframe_size(fr), NULL, 0),
            0);
        assert_true(f->rep.ok);
        if (f->rep.id == 5000) {
            assert_true(s_state_is(f->rep.result, "stopped"));
            stopped = true;
        } else {
            assert_true(f->rep.id == 5001);
            assert_true(stopped); // in that order
            assert_true(s_state_is(f->rep.result, "running"));
            assert_int_equal(s_int(f->rep.result, "restarts"), 0);
            started = true;
        }
        zframe_destroy(&fr);
    }
}

static void
test_sup_request_times_out(void **state)
{
    fixture_t *f = *state;
    teardown(state);
    s_fixture_new(&f);
    *state = f;
    const char *extra[] = {"supervisor/request_timeout=100ms", NULL};
    char err[512];
    assert_int_equal(s_open(f, extra, err, sizeof err), 0);
    s_start_ready(f);
    int64_t t0 = zclock_mono();
    s_call(f, "t1.slow", NULL, NULL);
    assert_int_equal(f->rep.rc, AZO_ETIMEOUT);
    assert_true(zclock_mono() - t0 >= 100);
    assert_non_null(strstr(f->rep.message, "t1"));
}

static void
test_sup_pending_request_fails_when_actor_stops(void **state)
{
    fixture_t *f = *state;
    // A request the actor never answers, then a stop: the client gets
    // "unavailable" for it rather than waiting for the time-out.
    msgpack_sbuffer_clear(&f->sb);
    azo_req_pack(&f->pk, 4343, "t2.slow");
    msgpack_pack_map(&f->pk, 0);
    zmq_send(zsock_resolve(f->client), f->sb.data, f->sb.size, 0);
    msgpack_sbuffer_clear(&f->sb);
    azo_req_pack(&f->pk, 4344, "actor.stop");
    msgpack_pack_map(&f->pk, 1);
    azo_pack_kstr(&f->pk, "name", "t2");
    zmq_send(zsock_resolve(f->client), f->sb.data, f->sb.size, 0);
    bool got_slow = false, got_stop = false;
    while (!got_slow || !got_stop) {
        zframe_t *fr = zframe_recv(f->client);
        assert_non_null(fr);
        assert_int_equal(
            azo_rep_decode(&f->rep, zframe_data(fr), zframe_size(fr), NULL, 0),
            0);
        if (f->rep.id == 4343) {
            assert_int_equal(f->rep.rc, AZO_EUNAVAIL);
            got_slow = true;
        } else if (f->rep.id == 4344) {
            assert_true(f->rep.ok);
            got_stop = true;
        }
        zframe_destroy(&fr);
    }
}

static void
test_sup_transient_and_temporary_policies(void **state)
{
    fixture_t *f = *state;
    teardown(state);
    s_fixture_new(&f);
    *state = f;
    const char *extra[] = {"actors/t1/restart=transient",
                           "actors/t2/restart=temporary", NULL};
    char err[512];
    assert_int_equal(s_open(f, extra, err, sizeof err), 0);
    s_start_ready(f);
    s_call(f, "t1.quit", NULL, NULL); // normal exit: transient stays down
    s_wait_state(f, "t1", "stopped");
    assert_int_equal(s_int(s_actor_status(f, "t1"), "restarts"), 0);
    s_call(f, "actor.start", "name", "t1");
    s_call(f, "t1.crash", NULL, NULL); // failure: transient comes back
    int64_t end = zclock_mono() + 10000;
    const msgpack_object *a;
    while (s_int(a = s_actor_status(f, "t1"), "gen") != 3 &&
           zclock_mono() < end)
        zclock_sleep(5);
    assert_int_equal(s_int(a, "gen"), 3);
    s_wait_state(f, "t1", "running");
    s_call(f, "t2.crash", NULL, NULL); // temporary never comes back
    s_wait_state(f, "t2", "failed");
}

static void
test_sup_escalates_past_intensity(void **state)
{
    fixture_t *f = *state;
    teardown(state);
    s_fixture_new(&f);
    *state = f;
    const char *extra[] = {"supervisor/max_restarts=2", "supervisor/period=60s",
                           NULL};
    char err[512];
    assert_int_equal(s_open(f, extra, err, sizeof err), 0);
    s_start_ready(f);
    s_sync_sub(f); // manual restarts do not count
    for (int i = 0; i < 3; i++) {
        s_wait_state(f, "t1", "running");
        s_call(f, "t1.crash", NULL, NULL);
        assert_string_equal(s_event(f, "sup.actor.exited", "t1"), "failed");
    }
    s_event(f, "sup.escalated", NULL);
    pthread_join(f->thread, NULL);
    f->running = false;
    assert_int_equal(f->exit_code, AZO_EXIT_ESCALATED);
}

// A thread actor silent past heartbeat x liveness is hung; a thread cannot
// be killed safely, so the node escalates (exit 3).
static void
test_sup_hung_thread_escalates(void **state)
{
    fixture_t *f = *state;
    teardown(state);
    s_fixture_new(&f);
    *state = f;
    const char *extra[] = {"actors/t1/heartbeat=20ms", "actors/t1/liveness=2",
                           NULL};
    char err[512];
    assert_int_equal(s_open(f, extra, err, sizeof err), 0);
    s_start_ready(f);
    // The built-in ping answers from the actor's runtime.
    s_call(f, "t1.ping", NULL, NULL);
    assert_true(f->rep.ok);
    assert_true(azo_mp_str_eq(azo_mp_get(f->rep.result, "actor"), "t1"));
    assert_true(azo_mp_str_eq(azo_mp_get(f->rep.result, "mode"), "thread"));
    s_sync_sub(f);
    msgpack_sbuffer_clear(&f->sb);
    azo_req_pack(&f->pk, 777, "t1.block");
    msgpack_pack_map(&f->pk, 1);
    azo_pack_kint(&f->pk, "ms", 400);
    zmq_send(zsock_resolve(f->client), f->sb.data, f->sb.size, 0);
    s_event(f, "sup.escalated", NULL);
    pthread_join(f->thread, NULL);
    f->running = false;
    assert_int_equal(f->exit_code, AZO_EXIT_ESCALATED);
    // The blocked thread woke, took its $TERM and stopped: not abandoned.
    assert_false(azo_sup_abandoned(f->sup));
}

// An init that never finishes blocks the start: past start_timeout the
// actor is hung, and a thread cannot be killed: the node escalates.
static void
test_sup_stuck_init_escalates(void **state)
{
    fixture_t *f = *state;
    teardown(state);
    s_fixture_new(&f);
    *state = f;
    const char *extra[] = {"actors/t1/start_timeout=50ms", NULL};
    char err[512];
    assert_int_equal(s_open(f, extra, err, sizeof err), 0);
    s_t1_init_sleep_ms = 400;
    s_start(f);
    pthread_join(f->thread, NULL);
    f->running = false;
    s_t1_init_sleep_ms = 0;
    assert_int_equal(f->exit_code, AZO_EXIT_ESCALATED);
    assert_false(azo_sup_abandoned(f->sup)); // it woke and stopped in time
}

static void
test_sup_open_refuses_bad_settings(void **state)
{
    (void)state;
    static const struct {
        const char *set;
        int rc;
        const char *text;
    } rows[] = {
        {"actors/t1/mode=process", AZO_EBADREQ, "cannot reach"},
        {"actors/t1/standby=1", AZO_EBADREQ, "needs mode = process"},
        {"endpoints/control=tcp://0.0.0.0:*", AZO_EFORBIDDEN, "insecure"},
        {"node/name=bad name", AZO_EBADREQ, "node/name"},
        {"endpoints/events=ipc:///nonexistent/dir/ev", -ENOENT,
         "endpoints/events"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        fixture_t *f;
        s_fixture_new(&f);
        const char *extra[] = {rows[i].set, NULL};
        char err[512] = "";
        assert_int_equal(s_open(f, extra, err, sizeof err), rows[i].rc);
        assert_null(f->sup);
        assert_non_null(strstr(err, rows[i].text));
        void *p = f;
        teardown(&p);
    }
}

static void
test_sup_data_dir_is_locked(void **state)
{
    fixture_t *f = *state;
    fixture_t *g;
    s_fixture_new(&g);
    // Same data dir, other endpoints.
    azo_test_rm_rf(g->dir);
    strcpy(g->dir, f->dir);
    char err[512];
    assert_int_equal(s_open(g, NULL, err, sizeof err), AZO_ECONFLICT);
    assert_non_null(strstr(err, "in use by another azod"));
    azo_config_destroy(&g->cfg);
    azo_rep_fini(&g->rep);
    msgpack_sbuffer_destroy(&g->sb);
    free(g);
}

int
main(void)
{
    zsys_init();
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_sup_status_and_ping),
        T(test_sup_routes_by_prefix),
        T(test_sup_rejects_bad_frames),
        T(test_sup_restarts_crashed_actor),
        T(test_sup_quick_restart_keeps_mailbox),
        T(test_sup_stop_crossing_quick_restart),
        T(test_sup_lifecycle_commands),
        T(test_sup_start_while_stopping_answers_both),
        T(test_sup_request_times_out),
        T(test_sup_pending_request_fails_when_actor_stops),
        T(test_sup_transient_and_temporary_policies),
        T(test_sup_escalates_past_intensity),
        T(test_sup_hung_thread_escalates),
        T(test_sup_stuck_init_escalates),
        cmocka_unit_test(test_sup_open_refuses_bad_settings),
        T(test_sup_data_dir_is_locked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
