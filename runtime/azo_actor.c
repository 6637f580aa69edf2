// azo_actor — runs one actor instance in its own thread: a zloop with the
// zactor pipe (from the supervisor) and the actor's inbox (from everyone
// else), plus timers. All state here belongs to that thread; the only
// shared objects are the registry (atomics), the store (LMDB) and the
// config (read-only).
//
// The supervisor talks to a thread over its pipe: "$TERM" (stop),
// "TICKET <ms>" (see below), and to a parked thread "RESTART <gen>" or
// "STOP". The thread answers with lifecycle frames through the bus
// (azo_life: READY, heartbeats, EXIT). Threads are plain joinable pthreads
// on a zsys_create_pipe pair rather than zactors: the supervisor must never
// block on a thread that may be stuck, and zactor_destroy waits for it.
//
// Quick restart: the supervisor hands a running thread instance a ticket,
// "restart at once if you fail after running at least <ms>", when its
// policy would restart it without delay (one_for_one, not temporary, no
// backoff due). An instance that fails with a valid ticket starts its next
// generation in the same thread at once, keeping its inbox (and so the
// messages queued behind the failure, as an Akka actor keeps its mailbox);
// its EXIT frame names that generation and the supervisor does the
// accounting afterwards (events, intensity, backoff). Without a ticket the
// thread parks after EXIT and waits for the supervisor's word.
#include "azo_actor.h"
#include "azo_bus.h"
#include "azo_err.h"
#include "azo_idmap.h"
#include "azo_life.h"
#include "azo_log.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#define S_DRAIN_MAX 256 // inbox frames handled per wakeup

// A request this actor made, waiting for its reply.
typedef struct {
    uint64_t token;
    int to;
    int timer; // zloop timer id of the timeout
    azo_reply_fn *fn;
    void *arg;
    azo_actor_t *actor; // borrowed, for the timeout handler
} s_call_t;

// A timer set with azo_actor_timer_at.
typedef struct s_timer {
    int id; // zloop timer id
    azo_timer_fn *fn;
    void *arg;
    struct s_timer *next, *prev;
} s_timer_t;

struct azo_actor {
    azo_actor_env_t env;     // copied; pointers inside are borrowed
    zsock_t *pipe;           // thread: $TERM from the supervisor (borrowed)
    int sigfd;               // process: SIGTERM/SIGINT (borrowed), or -1
    bool process;            // runs as its own process (uplink bus)
    bool standby;            // a standby process, not activated yet
    bool ready;              // init succeeded: fini is owed
    zsock_t *inbox;          // thread: owned PULL; process: borrowed DEALER
    azo_bus_t *bus;          // owned
    int64_t started;         // zclock_mono() at READY
    int64_t last_sup;        // process: last frame from the supervisor
    int64_t tid;             // kernel id of the thread running the actor
    msgpack_sbuffer life_sb; // lifecycle frame being built
    char ping_cmd[AZO_REG_MAX_NAME + 8]; // "<prefix>ping", built in
    zloop_t *loop;                       // owned
    void *state;                         // actor's own, freed by def->fini
    int db;                              // this actor's named database, or < 0

    azo_req_t req;           // decoder reused for every request
    azo_rep_t rep;           // decoder reused for every reply
    azo_cmd_ctx_t ctx;       // the request being handled
    azo_cmd_ctx_t *deferred; // owned list of deferred replies

    msgpack_sbuffer msg_sb; // message being built
    msgpack_packer msg_pk;
    const char *msg_cmd; // borrowed from the caller until send
    uint64_t msg_token;
    uint64_t next_token;
    zhashx_t *calls; // token -> s_call_t (values owned)

    msgpack_sbuffer ev_sb; // event being built
    msgpack_packer ev_pk;
    char ev_topic[AZO_WIRE_MAX_TOPIC + 1];
    bool ev_bad; // the started event's topic is invalid

    s_timer_t *timers;    // owned list
    azo_ratelog_t badlog; // rate limit for bad-input logs

    bool exiting;
    bool failed;
    char reason[128];
    int64_t ticket_ms; // thread: quick restart if uptime >= this; -1 none
};

const char *
azo_actor_name(const azo_actor_t *self)
{
    return self->env.def->name;
}

const char *
azo_actor_node(const azo_actor_t *self)
{
    return self->env.node;
}

zloop_t *
azo_actor_loop(azo_actor_t *self)
{
    return self->loop;
}

const azo_config_t *
azo_actor_config(const azo_actor_t *self)
{
    return self->env.cfg;
}

azo_store_t *
azo_actor_store(azo_actor_t *self)
{
    return self->env.store;
}

int
azo_actor_db(const azo_actor_t *self)
{
    return self->db;
}

// --- calls ------------------------------------------------------------------

msgpack_packer *
azo_actor_msg(azo_actor_t *self, const char *cmd)
{
    assert(self && cmd);
    msgpack_sbuffer_clear(&self->msg_sb);
    self->msg_cmd = cmd;
    self->msg_token = self->next_token++;
    azo_req_pack(&self->msg_pk, self->msg_token, cmd);
    return &self->msg_pk;
}

// Resolves the target of the message being built.
static int
s_target(azo_actor_t *self, const char *to)
{
    assert(self->msg_cmd); // azo_actor_msg first
    if (to)
        return azo_registry_find(self->env.reg, to);
    return azo_registry_route(self->env.reg, self->msg_cmd);
}

static int
s_send(azo_actor_t *self, const char *to, char kind, int wait_ms)
{
    int idx = s_target(self, to);
    if (idx < 0)
        return idx;
    int rc = azo_bus_send(self->bus, idx, kind, self->msg_token,
                          self->msg_sb.data, self->msg_sb.size, wait_ms);
    self->msg_cmd = NULL;
    return rc;
}

int
azo_actor_send(azo_actor_t *self, const char *to)
{
    return s_send(self, to, AZO_BUS_CAST, 0);
}

int
azo_actor_send_wait(azo_actor_t *self, const char *to, int wait_ms)
{
    return s_send(self, to, AZO_BUS_CAST, wait_ms);
}

// Completes a call with a failure made up locally.
static void
s_call_fail(azo_actor_t *self, s_call_t *call, int rc, const char *message)
{
    azo_rep_t rep = {.ok = false,
                     .rc = rc,
                     .code = azo_err_wire(rc),
                     .message = message,
                     .has_id = true,
                     .id = call->token};
    call->fn(self->state, &rep, call->arg);
}

static int
s_call_timeout(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    s_call_t *call = arg;
    azo_actor_t *self = call->actor;
    char msg[160];
    snprintf(msg, sizeof msg, "no reply from %s in time",
             azo_registry_name(self->env.reg, call->to));
    // Unlink before the callback, which may start new calls.
    zhashx_delete(self->calls, AZO_IDMAP_KEY(call->token));
    s_call_fail(self, call, AZO_ETIMEOUT, msg);
    free(call);
    return self->exiting ? -1 : 0;
}

int
azo_actor_call(azo_actor_t *self, const char *to, int64_t timeout_ms,
               azo_reply_fn *fn, void *arg)
{
    assert(self && fn);
    int idx = s_target(self, to);
    if (idx < 0) {
        self->msg_cmd = NULL;
        return idx;
    }
    s_call_t *call = calloc(1, sizeof *call);
    if (!call)
        return -ENOMEM;
    *call = (s_call_t){.token = self->msg_token,
                       .to = idx,
                       .fn = fn,
                       .arg = arg,
                       .actor = self};
    int rc = azo_bus_send(self->bus, idx, AZO_BUS_REQUEST, self->msg_token,
                          self->msg_sb.data, self->msg_sb.size, 0);
    self->msg_cmd = NULL;
    if (rc < 0) {
        free(call);
        return rc;
    }
    call->timer =
        zloop_timer(self->loop, (size_t)(timeout_ms > 0 ? timeout_ms : 0), 1,
                    s_call_timeout, call);
    zhashx_insert(self->calls, AZO_IDMAP_KEY(call->token), call);
    return 0;
}

// A reply frame arrived: find its call and complete it.
static void
s_on_reply(azo_actor_t *self, const azo_bus_msg_t *m)
{
    void *key = AZO_IDMAP_KEY(m->token);
    s_call_t *call = zhashx_lookup(self->calls, key);
    if (!call)
        return; // late reply after a timeout: already answered
    zhashx_delete(self->calls, key);
    zloop_timer_end(self->loop, call->timer);
    char why[160];
    if (azo_rep_decode(&self->rep, m->body, m->len, why, sizeof why) < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "malformed reply from %s: %s",
                 azo_registry_name(self->env.reg, m->from), why);
        s_call_fail(self, call, AZO_EINTERNAL, msg);
    } else
        call->fn(self->state, &self->rep, call->arg);
    free(call);
}

// --- replies ----------------------------------------------------------------

static int
s_send_reply(azo_actor_t *self, azo_cmd_ctx_t *ctx)
{
    size_t len;
    const void *data = azo_reply_data(&ctx->reply, &len);
    if (!data)
        return AZO_EINTERNAL;
    return azo_bus_send(self->bus, ctx->from, AZO_BUS_REPLY, ctx->token, data,
                        len, 0);
}

azo_reply_t *
azo_actor_defer(azo_actor_t *self, azo_reply_t *reply)
{
    azo_cmd_ctx_t *ctx = azo_cmd_defer(reply, &self->deferred);
    return ctx ? &ctx->reply : NULL;
}

int
azo_actor_reply(azo_actor_t *self, azo_reply_t **later_p)
{
    assert(later_p && *later_p);
    azo_cmd_ctx_t *ctx =
        (azo_cmd_ctx_t *)((char *)*later_p - offsetof(azo_cmd_ctx_t, reply));
    if (!ctx->reply.done)
        azo_reply_fail(&ctx->reply, AZO_EINTERNAL, "no reply was written");
    int rc = s_send_reply(self, ctx);
    azo_cmd_ctx_free(&ctx, &self->deferred);
    *later_p = NULL;
    return rc;
}

// --- events -----------------------------------------------------------------

msgpack_packer *
azo_actor_event(azo_actor_t *self, const char *topic, uint32_t nfields)
{
    assert(self && topic);
    msgpack_sbuffer_clear(&self->ev_sb);
    // Topics may carry names from config or peers: check, and refuse to
    // publish a bad one rather than abort.
    size_t len = strlen(topic);
    self->ev_bad = !azo_wire_topic_ok(topic, len);
    snprintf(self->ev_topic, sizeof self->ev_topic, "%s",
             self->ev_bad ? "" : topic);
    azo_event_pack(&self->ev_pk, azo_wire_now_ms(), self->env.node,
                   self->env.def->name, nfields);
    return &self->ev_pk;
}

int
azo_actor_publish(azo_actor_t *self)
{
    if (self->ev_bad)
        return AZO_EBADREQ;
    return azo_bus_publish(self->bus, self->ev_topic, self->ev_sb.data,
                           self->ev_sb.size);
}

// A key the event envelope has (azo_actor_event packs v, ts, node, src).
static bool
s_envelope_key(const msgpack_object *key)
{
    return azo_mp_str_eq(key, "v") || azo_mp_str_eq(key, "ts") ||
           azo_mp_str_eq(key, "node") || azo_mp_str_eq(key, "src");
}

int
azo_actor_publish_map(azo_actor_t *self, const char *topic, const void *body,
                      size_t len)
{
    msgpack_zone zone;
    msgpack_zone_init(&zone, 2048);
    msgpack_object obj;
    int rc = AZO_EBADREQ;
    if (azo_mp_unpack(body, len, &zone, &obj) == 0 &&
        obj.type == MSGPACK_OBJECT_MAP) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < obj.via.map.size; i++)
            n += !s_envelope_key(&obj.via.map.ptr[i].key);
        msgpack_packer *pk = azo_actor_event(self, topic, n);
        rc = pk ? 0 : -ENOMEM;
        for (uint32_t i = 0; pk && i < obj.via.map.size; i++) {
            if (s_envelope_key(&obj.via.map.ptr[i].key))
                continue;
            msgpack_pack_object(pk, obj.via.map.ptr[i].key);
            msgpack_pack_object(pk, obj.via.map.ptr[i].val);
        }
        if (pk)
            rc = azo_actor_publish(self);
    }
    msgpack_zone_destroy(&zone);
    return rc;
}

// --- timers -----------------------------------------------------------------

static void
s_timer_unlink(azo_actor_t *self, s_timer_t *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        self->timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
}

// zloop may still run a timer that was cancelled during its timer pass
// (zloop_timer_end only queues the removal for the end of the pass), so the
// shim gets the actor, not the timer, and finds the timer by its zloop id,
// which zloop never reuses: a cancelled timer is simply not found.
static int
s_timer_shim(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    azo_actor_t *self = arg;
    s_timer_t *t = self->timers;
    while (t && t->id != timer_id)
        t = t->next;
    if (!t)
        return 0; // cancelled in this pass
    s_timer_unlink(self, t);
    azo_timer_fn *fn = t->fn;
    void *fnarg = t->arg;
    free(t);
    fn(self->state, fnarg);
    return self->exiting ? -1 : 0;
}

int
azo_actor_timer_at(azo_actor_t *self, int64_t deadline, azo_timer_fn *fn,
                   void *arg)
{
    assert(self && fn);
    s_timer_t *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    int64_t delay = deadline - zclock_mono();
    t->fn = fn;
    t->arg = arg;
    t->id = zloop_timer(self->loop, (size_t)(delay > 0 ? delay : 0), 1,
                        s_timer_shim, self);
    if (t->id < 0) {
        free(t);
        return AZO_EINTERNAL;
    }
    // zloop ids start at 0; ours are id + 1 so that 0 never names a timer.
    t->next = self->timers;
    if (t->next)
        t->next->prev = t;
    self->timers = t;
    return t->id + 1;
}

void
azo_actor_timer_cancel(azo_actor_t *self, int id)
{
    for (s_timer_t *t = self->timers; t; t = t->next)
        if (t->id + 1 == id) {
            zloop_timer_end(self->loop, t->id);
            s_timer_unlink(self, t);
            free(t);
            return;
        }
}

void
azo_actor_exit(azo_actor_t *self, bool failed, const char *reason)
{
    self->exiting = true;
    self->failed = failed;
    // Cut to fit: the reason is for people, one line.
    snprintf(self->reason, sizeof self->reason, "%.*s",
             (int)sizeof self->reason - 1,
             reason ? reason : (failed ? "failed" : "normal"));
}

// --- lifecycle frames ----------------------------------------------------

// Sends a lifecycle frame to the supervisor. EXIT and READY may wait for
// room; heartbeats never do.
static int
s_life_send(azo_actor_t *self, const azo_life_t *life)
{
    azo_life_pack(&self->life_sb, life);
    return azo_bus_life(self->bus, self->life_sb.data, self->life_sb.size,
                        life->ev == AZO_LIFE_HB ? 0 : 1000);
}

static int
s_life(azo_actor_t *self, azo_life_ev_t ev)
{
    azo_life_t life = {.ev = ev,
                       .gen = self->env.gen,
                       .pid = (int64_t)getpid(),
                       .standby = self->standby,
                       .tid = self->tid};
    return s_life_send(self, &life);
}

static int
s_on_heartbeat(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    azo_actor_t *self = arg;
    // A process actor whose supervisor is gone for good stops by itself,
    // cleanly; a new supervisor within the grace period adopts it.
    int64_t silent = zclock_mono() - self->last_sup;
    if (self->process && silent > self->env.orphan_grace_ms) {
        char why[96];
        snprintf(why, sizeof why, "no supervisor for %lld ms",
                 (long long)silent);
        zsys_warning("%s: %s; stopping", self->env.def->name, why);
        azo_actor_exit(self, false, why);
        return -1;
    }
    (void)s_life(self, AZO_LIFE_HB); // full: the next one
    return 0;
}

// Runs init and reports READY. Returns 0, or a negative code with why.
static int
s_activate(azo_actor_t *self, char *why, size_t whylen)
{
    const azo_actor_def_t *def = self->env.def;
    int rc = def->init ? def->init(self, &self->state) : 0;
    if (rc < 0) {
        self->state = NULL; // init failed: nothing for fini
        snprintf(why, whylen, "init: %s", azo_err_str(rc));
        return rc;
    }
    self->ready = true;
    self->standby = false;
    self->started = zclock_mono();
    (void)s_life(self, AZO_LIFE_READY);
    return 0;
}

// --- loop handlers ----------------------------------------------------------

// The built-in "<prefix>ping": who answers, without involving the actor.
static void
s_ping(azo_actor_t *self, azo_reply_t *reply)
{
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 6);
    azo_pack_kstr(pk, "actor", self->env.def->name);
    azo_pack_kstr(pk, "node", self->env.node);
    azo_pack_kstr(pk, "mode", self->process ? "process" : "thread");
    azo_pack_kint(pk, "pid", (int64_t)getpid());
    azo_pack_kuint(pk, "gen", self->env.gen);
    azo_pack_kint(pk, "uptime_ms", zclock_mono() - self->started);
}

static void
s_on_request(azo_actor_t *self, const azo_bus_msg_t *m)
{
    azo_cmd_ctx_t *ctx = &self->ctx;
    ctx->from = m->from;
    ctx->token = m->token;
    ctx->oneway = m->kind == AZO_BUS_CAST;
    char why[256];
    bool reply;
    if (azo_req_decode(&self->req, m->body, m->len, why, sizeof why) < 0) {
        azo_ratelog(&self->badlog, "%s: bad request from %s: %s",
                    self->env.def->name,
                    azo_registry_name(self->env.reg, m->from), why);
        azo_reply_start(&ctx->reply, self->req.has_id, self->req.id);
        azo_reply_fail(&ctx->reply, AZO_EBADREQ, "%s", why);
        reply = !ctx->oneway;
    } else if (!self->ready) {
        azo_reply_start(&ctx->reply, self->req.has_id, self->req.id);
        azo_reply_fail(&ctx->reply, AZO_EUNAVAIL, "%s is a standby",
                       self->env.def->name);
        reply = !ctx->oneway;
    } else if (strcmp(self->req.cmd, self->ping_cmd) == 0) {
        azo_reply_start(&ctx->reply, self->req.has_id, self->req.id);
        s_ping(self, &ctx->reply);
        reply = !ctx->oneway;
    } else
        reply = azo_cmd_run(self->env.def->cmds, self->env.def->ncmds,
                            self->state, &self->req, ctx);
    if (reply)
        (void)s_send_reply(self, ctx); // requester gone: nothing to do
}

// A lifecycle frame from the supervisor (process actors only).
static void
s_on_life(azo_actor_t *self, const azo_bus_msg_t *m)
{
    azo_life_t life;
    if (m->from != AZO_REG_SUP || azo_life_decode(m->body, m->len, &life) < 0)
        return;
    if (life.ev == AZO_LIFE_TERM)
        azo_actor_exit(self, false, "stopped");
    else if (life.ev == AZO_LIFE_ACTIVATE && self->standby) {
        char why[160];
        self->env.gen = life.gen;
        if (s_activate(self, why, sizeof why) < 0)
            azo_actor_exit(self, true, why);
    }
}

static void
s_on_frame(azo_actor_t *self, const void *data, size_t size)
{
    azo_bus_msg_t m;
    if (azo_bus_parse(data, size, &m) < 0) {
        azo_ratelog(&self->badlog, "%s: dropped a malformed bus frame",
                    self->env.def->name);
        return;
    }
    if (self->process)
        self->last_sup = zclock_mono(); // everything comes through it
    if (m.kind == AZO_BUS_REPLY)
        s_on_reply(self, &m);
    else if (m.kind == AZO_BUS_REQUEST || m.kind == AZO_BUS_CAST)
        s_on_request(self, &m);
    else if (m.kind == AZO_BUS_LIFE)
        s_on_life(self, &m);
}

static int
s_on_inbox(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    azo_actor_t *self = arg;
    void *raw = zsock_resolve(reader);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    // Drain a batch per wakeup: one zmq_poll per frame would cost more than
    // the frame itself. The socket stays readable if frames remain.
    for (int n = 0; n < S_DRAIN_MAX && !self->exiting; n++) {
        if (zmq_msg_recv(&msg, raw, ZMQ_DONTWAIT) < 0)
            break;
        s_on_frame(self, zmq_msg_data(&msg), zmq_msg_size(&msg));
    }
    zmq_msg_close(&msg);
    return self->exiting ? -1 : 0;
}

// Handles one message from the supervisor's pipe. Returns false when it
// was $TERM (or the supervisor's end is gone).
static bool
s_pipe_msg(azo_actor_t *self, zsock_t *pipe)
{
    char *cmd = zstr_recv(pipe);
    bool term = !cmd || streq(cmd, "$TERM");
    if (cmd && strncmp(cmd, "TICKET ", 7) == 0)
        self->ticket_ms = strtoll(cmd + 7, NULL, 10);
    zstr_free(&cmd);
    return !term;
}

static int
s_on_pipe(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    azo_actor_t *self = arg;
    if (!s_pipe_msg(self, reader))
        azo_actor_exit(self, false, "stopped");
    return self->exiting ? -1 : 0;
}

static int
s_on_signal(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    azo_actor_t *self = arg;
    struct signalfd_siginfo si;
    while (read(item->fd, &si, sizeof si) == (ssize_t)sizeof si)
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
            azo_actor_exit(self, false, "stopped");
    return self->exiting ? -1 : 0;
}

// --- instance ---------------------------------------------------------------

// Forgets the instance's timers and pending calls (their callbacks are not
// called: the instance is gone). Their zloop timers die with the loop.
static void
s_drop_pending(azo_actor_t *self)
{
    while (self->timers) {
        s_timer_t *t = self->timers;
        s_timer_unlink(self, t);
        free(t);
    }
    if (!self->calls)
        return;
    for (s_call_t *c = zhashx_first(self->calls); c;
         c = zhashx_next(self->calls))
        free(c);
    zhashx_purge(self->calls);
}

static void
s_destroy(azo_actor_t **self_p)
{
    azo_actor_t *self = *self_p;
    if (!self)
        return;
    s_drop_pending(self);
    zhashx_destroy(&self->calls);
    zloop_destroy(&self->loop);
    azo_bus_destroy(&self->bus);
    if (!self->process)
        zsock_destroy(&self->inbox);
    azo_req_fini(&self->req);
    azo_rep_fini(&self->rep);
    azo_cmd_ctx_fini(&self->ctx);
    msgpack_sbuffer_destroy(&self->msg_sb);
    msgpack_sbuffer_destroy(&self->ev_sb);
    msgpack_sbuffer_destroy(&self->life_sb);
    free(self);
    *self_p = NULL;
}

// Ends the instance: fini, honest answers to what still waits, its timers
// and calls forgotten, then EXIT to the supervisor (the instance's last
// frame). The resources stay: a thread may be restarted in place.
static void
s_end_instance(azo_actor_t *self, const char *why, bool failed, uint32_t next)
{
    if (self->ready && self->env.def->fini)
        self->env.def->fini(self->state);
    self->state = NULL;
    self->ready = false;
    while (self->deferred) {
        azo_cmd_ctx_t *ctx = self->deferred;
        azo_reply_fail(&ctx->reply, AZO_EUNAVAIL, "%s stopped before replying",
                       self->env.def->name);
        (void)s_send_reply(self, ctx);
        azo_cmd_ctx_free(&ctx, &self->deferred);
    }
    s_drop_pending(self);
    azo_life_t life = {.ev = AZO_LIFE_EXIT,
                       .gen = self->env.gen,
                       .pid = (int64_t)getpid(),
                       .failed = failed,
                       .next = next};
    snprintf(life.reason, sizeof life.reason, "%s", why);
    (void)s_life_send(self, &life);
}

// Ends the instance and frees everything. Returns failed.
static bool
s_finish(azo_actor_t **self_p, const char *why, bool failed)
{
    s_end_instance(*self_p, why, failed, 0);
    s_destroy(self_p);
    return failed;
}

// Makes the instance's loop: the supervisor's pipe (thread) or signals
// (process), the inbox, and the heartbeat timer.
static int
s_loop_open(azo_actor_t *self)
{
    self->loop = zloop_new();
    if (!self->loop)
        return -ENOMEM;
    // Actors end when the supervisor says so, never on SIGINT by
    // themselves: the supervisor stops them in reverse config order.
    zloop_set_nonstop(self->loop, true);
    zmq_pollitem_t sig = {NULL, self->sigfd, ZMQ_POLLIN, 0};
    if ((self->pipe &&
         zloop_reader(self->loop, self->pipe, s_on_pipe, self) < 0) ||
        (self->sigfd >= 0 &&
         zloop_poller(self->loop, &sig, s_on_signal, self) < 0) ||
        zloop_reader(self->loop, self->inbox, s_on_inbox, self) < 0 ||
        zloop_timer(self->loop, (size_t)self->env.heartbeat_ms, 0,
                    s_on_heartbeat, self) < 0)
        return AZO_EINTERNAL;
    return 0;
}

// Builds the instance. Thread mode: inbox bound, local bus. Process mode:
// inbox and bus over dealer. Returns 0 or a negative code with why.
static int
s_create(azo_actor_t **out, const azo_actor_env_t *env, zsock_t *dealer,
         int sigfd, char *why, size_t whylen)
{
    azo_actor_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    *out = self;
    self->env = *env;
    self->pipe = env->pipe;
    self->sigfd = sigfd;
    self->process = dealer != NULL;
    self->next_token = 1;
    self->ticket_ms = -1;
    self->started = self->last_sup = zclock_mono();
    // Reported in READY and heartbeats, for per-thread CPU accounting. s_create
    // runs in the actor's own thread (a process actor: its main thread, whose
    // id is the pid); quick restarts keep the thread.
    self->tid =
        self->process ? (int64_t)getpid() : (int64_t)syscall(SYS_gettid);
    if (self->env.heartbeat_ms <= 0)
        self->env.heartbeat_ms = 1000; // the schema's default
    if (self->env.orphan_grace_ms <= 0)
        self->env.orphan_grace_ms = 60000;
    snprintf(self->ping_cmd, sizeof self->ping_cmd, "%sping",
             env->def->prefix ? env->def->prefix : "");
    self->db =
        env->store ? azo_store_db(env->store, env->def->name) : AZO_ENOTFOUND;
    msgpack_sbuffer_init(&self->msg_sb);
    msgpack_packer_init(&self->msg_pk, &self->msg_sb, msgpack_sbuffer_write);
    msgpack_sbuffer_init(&self->ev_sb);
    msgpack_packer_init(&self->ev_pk, &self->ev_sb, msgpack_sbuffer_write);
    msgpack_sbuffer_init(&self->life_sb);
    azo_cmd_ctx_init(&self->ctx);
    azo_ratelog_init(&self->badlog, 1000);
    if (azo_req_init(&self->req) < 0 || azo_rep_init(&self->rep) < 0)
        return -ENOMEM;
    self->calls = azo_idmap_new();
    self->bus = dealer ? azo_bus_new_uplink(env->reg, env->idx, dealer)
                       : azo_bus_new(env->reg, env->idx, env->hwm);
    if (!self->calls || !self->bus)
        return -ENOMEM;
    // No destructor: a call is freed by whoever completes it, after its
    // callback, and the rest at s_destroy.

    if (dealer)
        self->inbox = dealer;
    else {
        int rc = azo_bus_inbox_open(env->reg, env->idx, env->gen, env->hwm,
                                    &self->inbox);
        if (rc < 0) {
            snprintf(why, whylen, "cannot bind inbox: %s", azo_err_str(rc));
            return rc;
        }
    }
    return s_loop_open(self);
}

// A thread instance that failed: may its next generation start at once?
// Only with a ticket it has earned, and not when a $TERM is waiting (the
// supervisor wants it stopped: park instead). Reads what waits in the
// pipe, so the newest ticket counts.
static bool
s_quick_ok(azo_actor_t *self)
{
    if (self->process || !self->pipe)
        return false;
    while (zsock_events(self->pipe) & ZMQ_POLLIN)
        if (!s_pipe_msg(self, self->pipe))
            return false; // a stale $TERM in s_park is ignored anyway
    return self->ticket_ms >= 0 && self->env.gen + 1 != 0 &&
           zclock_mono() - self->started >= self->ticket_ms;
}

// Runs one instance until it ends (EXIT sent). Returns true when it ended
// in failure. With next (threads), sets *next to the generation to start
// at once (a quick restart), or 0.
static bool
s_run_instance(azo_actor_t *self, uint32_t *next)
{
    char why[256] = "";
    if (next)
        *next = 0;
    if (!self->standby && s_activate(self, why, sizeof why) < 0) {
        s_end_instance(self, why, true, 0);
        return true;
    }
    zloop_start(self->loop);
    bool failed = self->exiting ? self->failed : true;
    snprintf(why, sizeof why, "%s",
             self->exiting ? self->reason : "loop ended");
    if (next && failed && s_quick_ok(self)) {
        *next = self->env.gen + 1;
        self->ticket_ms = -1; // used up; the next READY may bring one
    }
    s_end_instance(self, why, failed, next ? *next : 0);
    return failed;
}

// After EXIT, a thread waits for the supervisor's word: "RESTART <gen>"
// (run again in place) or "STOP". Returns the new generation, or 0 to
// stop. A $TERM that crossed our EXIT is stale here.
static uint32_t
s_park(azo_actor_t *self)
{
    while (true) {
        zmsg_t *msg = zmsg_recv(self->pipe);
        if (!msg)
            return 0; // the supervisor's end is gone
        char *what = zmsg_popstr(msg);
        char *gen = zmsg_popstr(msg);
        uint32_t next = what && streq(what, "RESTART") && gen
                            ? (uint32_t)strtoul(gen, NULL, 10)
                            : 0;
        bool stop = !what || streq(what, "STOP");
        zstr_free(&what);
        zstr_free(&gen);
        zmsg_destroy(&msg);
        if (next || stop)
            return next;
    }
}

// Prepares a restart in place as generation gen: a fresh loop, the same
// thread, pipe and outbound sockets. keep_inbox (a quick restart): the
// same inbox and what waits in it. Otherwise a fresh inbox at the new
// generation's endpoint: the old mailbox dies, as with a new thread.
static int
s_restart(azo_actor_t *self, uint32_t gen, bool keep_inbox, char *why,
          size_t whylen)
{
    zloop_destroy(&self->loop);
    self->env.gen = gen;
    self->exiting = self->failed = false;
    self->reason[0] = 0;
    self->started = zclock_mono();
    if (!keep_inbox) {
        zsock_destroy(&self->inbox);
        int rc = azo_bus_inbox_open(self->env.reg, self->env.idx, gen,
                                    self->env.hwm, &self->inbox);
        if (rc < 0) {
            snprintf(why, whylen, "cannot bind inbox: %s", azo_err_str(rc));
            return rc;
        }
    }
    return s_loop_open(self);
}

static void *
s_thread(void *arg)
{
    azo_actor_env_t *env = arg;
    // Never block on the pipe: if the supervisor has abandoned this thread,
    // its end is gone.
    zsock_t *pipe = env->pipe;
    zsock_set_sndtimeo(pipe, 0);
    azo_actor_t *self = NULL;
    char why[256] = "";
    int rc = s_create(&self, env, NULL, -1, why, sizeof why);
    free(env);
    while (self && self->bus) {
        uint32_t next = 0;
        if (rc < 0)
            s_end_instance(self, why[0] ? why : azo_err_str(rc), true, 0);
        else
            (void)s_run_instance(self, &next);
        uint32_t gen = next ? next : s_park(self);
        if (!gen)
            break;
        why[0] = 0;
        rc = s_restart(self, gen, next != 0, why, sizeof why);
    }
    if (self && !self->bus) // without a bus there is nobody to tell
        zsys_error("actor thread cannot start: %s", azo_err_str(rc));
    s_destroy(&self);
    zsock_destroy(&pipe);
    return NULL;
}

int
azo_actor_spawn(const azo_actor_env_t *env, zsock_t **pipe_p,
                pthread_t *thread_p)
{
    *pipe_p = NULL;
    azo_actor_env_t *copy = malloc(sizeof *copy);
    if (!copy)
        return -ENOMEM;
    *copy = *env;
    zsock_t *backend = NULL;
    zsock_t *frontend = zsys_create_pipe(&backend);
    if (!frontend) {
        free(copy);
        return -ENOMEM;
    }
    copy->pipe = backend;
    // The thread starts with every signal blocked, so that signals reach
    // the supervisor's thread: zloop ends on any EINTR, and an actor must
    // stop only when the supervisor says so.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(thread_p, NULL, s_thread, copy);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        zsock_destroy(&frontend);
        zsock_destroy(&backend);
        free(copy);
        return -rc;
    }
    *pipe_p = frontend;
    return 0;
}

int
azo_actor_run_process(const azo_actor_env_t *env, zsock_t *dealer, int sigfd,
                      bool standby)
{
    assert(env && dealer);
    azo_actor_t *self = NULL;
    char why[256] = "";
    int rc = s_create(&self, env, dealer, sigfd, why, sizeof why);
    if (rc < 0) {
        if (self && self->bus)
            (void)s_finish(&self, why[0] ? why : azo_err_str(rc), true);
        else
            s_destroy(&self);
        return 1;
    }
    self->standby = standby;
    if (standby)
        self->env.gen = 0;
    // Introduce ourselves at once; heartbeats follow.
    (void)s_life(self, AZO_LIFE_HB);
    bool failed = s_run_instance(self, NULL);
    s_destroy(&self);
    return failed ? 1 : 0;
}
