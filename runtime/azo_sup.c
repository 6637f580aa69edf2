// azo_sup — the supervisor of one node. Everything here runs in the thread
// that calls azo_sup_run (azod's main thread); actors live in their own
// threads and talk to it through their pipes and the bus.
//
// Control requests: the ROUTER receives [identity][""?][body]. Each request
// gets a sequence number and a pending entry holding the identity, so the
// body can travel to the owning actor untouched (no re-encoding) and the
// actor's reply, tagged with that number, finds its way back. Pending
// entries expire after supervisor/request_timeout with a "timeout" reply
// and fail at once with "unavailable" when their actor exits.
//
// Events: actors' PUB sockets connect to an inproc XSUB here; its frames
// are forwarded to the outward XPUB, and subscriptions flow back so that
// publishers filter at the source. A slow subscriber loses events (XPUB
// drops at its high-water mark) and never stalls anyone.
#include "azo_sup.h"
#include "azo_bus.h"
#include "azo_err.h"
#include "azo_fs.h"
#include "azo_log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define S_MAX_WAITERS    8    // lifecycle requests waiting on one actor
#define S_CTL_DRAIN      64   // control requests handled per wakeup
#define S_EVENTS_MAXMSG  1024 // subscriptions are short
#define S_LINGER_MS      500  // let final replies and events leave
#define S_BACKOFF_MIN_MS 100  // restart backoff (configurable in #3)
#define S_BACKOFF_MAX_MS 5000
#define S_STABLE_MS      10000 // uptime after which backoff resets

typedef enum {
    S_STOPPED,  // not running, no restart planned
    S_STARTING, // thread running init
    S_RUNNING,  // READY seen: takes messages
    S_STOPPING, // $TERM sent, waiting for EXIT
    S_WAITING,  // exited; restart timer armed
} s_state_t;

static const char *const s_state_names[] = {"stopped", "starting", "running",
                                            "stopping", "restarting"};

typedef enum {
    S_RESTART_PERMANENT,
    S_RESTART_TRANSIENT,
    S_RESTART_TEMPORARY
} s_policy_t;

typedef struct azo_sup azo_sup_t;

// What happens when the current instance's EXIT arrives, as commands asked.
typedef enum {
    S_AFTER_POLICY,  // the restart policy decides
    S_AFTER_START,   // actor.start while stopping: a fresh start
    S_AFTER_RESTART, // actor.restart: a restart
} s_after_t;

typedef struct {
    azo_cmd_ctx_t *ctx; // owned by the supervisor's deferred list
    s_state_t want;     // S_RUNNING or S_STOPPED
} s_waiter_t;

typedef struct {
    azo_sup_t *sup;             // borrowed back pointer
    const azo_actor_def_t *def; // borrowed, static
    int idx;                    // registry index
    s_policy_t policy;
    int64_t shutdown_ms;
    s_state_t state;
    zsock_t *pipe; // owned while a thread runs
    pthread_t thread;
    uint32_t gen;         // generation of the current instance
    int64_t started_mono; // of the current instance
    uint64_t restarts;
    int64_t backoff_ms; // next automatic restart delay
    char last_exit[160];
    bool want_running;    // false after actor.stop
    s_after_t after_exit; // what a command asked for after EXIT
    bool stop_requested;  // we sent $TERM (vs. exiting by itself)
    int stop_timer;       // zloop timer id, or -1
    int restart_timer;    // zloop timer id, or -1
    s_waiter_t waiters[S_MAX_WAITERS];
    int nwaiters;
} s_child_t;

typedef struct {
    azo_sup_t *sup; // borrowed
    uint64_t seq;
    int target;   // registry index handling it
    void *ticket; // zloop ticket of its time-out
    bool has_id;
    uint64_t id; // the client's request id, for time-out replies
    bool delim;  // the client is REQ: replies need an empty frame
    char cmd[AZO_WIRE_MAX_CMD + 1]; // for time-out messages; "" if unread
    size_t ident_len;
    uint8_t ident[256];
} s_pending_t;

struct azo_sup {
    const azo_config_t *cfg; // borrowed
    char node[65];
    char data_dir[PATH_MAX];
    char store_path[PATH_MAX + 16];
    char endpoints[3][256]; // control, events, cluster
    int lock_fd;
    azo_store_t *store;  // owned
    azo_registry_t *reg; // owned
    azo_bus_t *bus;      // owned
    zsock_t *ctl;        // owned: control ROUTER
    zsock_t *events;     // owned: outward XPUB
    zsock_t *xsub;       // owned: actors publish here
    zsock_t *inbox;      // owned: replies and requests from actors
    zloop_t *loop;       // owned, during run
    int hwm;
    int64_t request_timeout;
    int max_restarts;
    int64_t period_ms;
    int64_t *restart_times; // owned ring of max_restarts + 1 entries
    int restart_count;      // entries used in the ring
    int restart_head;

    s_child_t children[AZO_REG_MAX]; // in config (start) order
    int nchildren;
    s_child_t *by_idx[AZO_REG_MAX];           // registry index -> child or NULL
    const azo_actor_def_t *defs[AZO_REG_MAX]; // registry index -> def
    int boot_next; // next child to start at boot, or -1

    zhashx_t *pending; // seq -> s_pending_t (owned)
    uint64_t next_seq;
    azo_req_t req;
    azo_cmd_ctx_t ctx;
    azo_cmd_ctx_t *deferred; // owned list of deferred replies
    msgpack_sbuffer ev_sb;
    msgpack_packer ev_pk;
    azo_ratelog_t badlog;

    int signal_fd; // borrowed signalfd, or -1
    bool bound[2]; // control, events: bound by us
    int64_t started_mono;
    int64_t started_wall;
    uint64_t requests, bad_requests;
    bool stopping;
    bool abandoned;
    int exit_code;
};

static const azo_cmd_entry_t s_cmds[];
static const size_t s_ncmds;

// --- schema
// -------------------------------------------------------------------

static const azo_cfg_key_t s_base_keys[] = {
    {"node", AZO_CFG_SECTION, NULL, 0, 0, NULL, "a section"},
    {"node/name", AZO_CFG_STR, NULL, 0, 0, NULL,
     "a node name: letters, digits, '.', '_' or '-' (default: host name)"},
    {"node/data_dir", AZO_CFG_STR, "./data", 0, 0, NULL, "a directory"},
    {"endpoints", AZO_CFG_SECTION, NULL, 0, 0, NULL, "a section"},
    {"endpoints/control", AZO_CFG_ENDPOINT, "tcp://127.0.0.1:7710", 0, 0, NULL,
     "an endpoint"},
    {"endpoints/events", AZO_CFG_ENDPOINT, "tcp://127.0.0.1:7711", 0, 0, NULL,
     "an endpoint"},
    {"endpoints/cluster", AZO_CFG_ENDPOINT, "tcp://127.0.0.1:7712", 0, 0, NULL,
     "an endpoint"},
    {"endpoints/insecure", AZO_CFG_BOOL, "0", 0, 0, NULL,
     "1 to allow non-loopback tcp endpoints without CURVE"},
    {"supervisor", AZO_CFG_SECTION, NULL, 0, 0, NULL, "a section"},
    {"supervisor/strategy", AZO_CFG_ENUM, "one_for_one", 0, 0,
     "one_for_one|one_for_all|rest_for_one", "a restart strategy"},
    {"supervisor/max_restarts", AZO_CFG_INT, "10", 0, 100000, NULL,
     "restarts allowed within period"},
    {"supervisor/period", AZO_CFG_DURATION, "60s", 1000, 86400000, NULL,
     "the restart intensity window"},
    {"supervisor/request_timeout", AZO_CFG_DURATION, "10s", 10, 3600000, NULL,
     "how long a routed control request may wait for its actor"},
    {"store", AZO_CFG_SECTION, NULL, 0, 0, NULL, "a section"},
    {"store/map_size", AZO_CFG_SIZE, "1GiB", 1 << 20, (int64_t)1 << 40, NULL,
     "the LMDB map size"},
    {"limits", AZO_CFG_SECTION, NULL, 0, 0, NULL, "a section"},
    {"limits/max_msg", AZO_CFG_SIZE, "1MiB", 1024, AZO_MP_MAX_BYTES, NULL,
     "the largest control message accepted"},
    {"limits/queue", AZO_CFG_INT, "10000", 16, 10000000, NULL,
     "messages queued per actor inbox"},
    {"actors", AZO_CFG_SECTION, NULL, 0, 0, NULL, "a section"},
};

// The child spec every actor section has, relative to actors/<name>. An
// actor runs when its section is present, so that section is OPTIONAL:
// defaults never create it.
static const azo_cfg_key_t s_child_keys[] = {
    {"", AZO_CFG_OPTIONAL, NULL, 0, 0, NULL, "a section"},
    {"mode", AZO_CFG_ENUM, "thread", 0, 0, "thread|process", "a run mode"},
    {"restart", AZO_CFG_ENUM, "permanent", 0, 0,
     "permanent|transient|temporary", "a restart policy"},
    {"shutdown", AZO_CFG_DURATION, "5s", 10, 600000, NULL,
     "how long the actor gets to stop"},
};

#define S_NBASE  (sizeof s_base_keys / sizeof s_base_keys[0])
#define S_NCHILD (sizeof s_child_keys / sizeof s_child_keys[0])

azo_cfg_key_t *
azo_sup_schema(const azo_actor_def_t *const *defs, size_t ndefs, size_t *n)
{
    size_t count = S_NBASE, strings = 0;
    for (size_t i = 0; i < ndefs; i++) {
        size_t prefix = strlen("actors/") + strlen(defs[i]->name) + 1;
        count += S_NCHILD + defs[i]->nkeys;
        for (size_t k = 0; k < S_NCHILD; k++)
            strings += prefix + strlen(s_child_keys[k].path) + 1;
        for (size_t k = 0; k < defs[i]->nkeys; k++)
            strings += prefix + strlen(defs[i]->keys[k].path) + 1;
    }
    azo_cfg_key_t *keys = malloc(count * sizeof *keys + strings);
    if (!keys)
        return NULL;
    char *arena = (char *)(keys + count);
    memcpy(keys, s_base_keys, sizeof s_base_keys);
    size_t at = S_NBASE;
    for (size_t i = 0; i < ndefs; i++) {
        const azo_actor_def_t *d = defs[i];
        for (size_t k = 0; k < S_NCHILD + d->nkeys; k++) {
            const azo_cfg_key_t *src =
                k < S_NCHILD ? &s_child_keys[k] : &d->keys[k - S_NCHILD];
            keys[at] = *src;
            keys[at].path = arena;
            arena += sprintf(arena, "actors/%s%s%s", d->name,
                             src->path[0] ? "/" : "", src->path) +
                     1;
            at++;
        }
    }
    *n = count;
    return keys;
}

// --- helpers
// ------------------------------------------------------------------

static int s_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
s_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static int64_t
s_now(void)
{
    return zclock_mono();
}

// Starts a lifecycle event on the XPUB; the caller packs nfields pairs and
// calls s_event_send.
static msgpack_packer *
s_event(azo_sup_t *self, uint32_t nfields)
{
    msgpack_sbuffer_clear(&self->ev_sb);
    azo_event_pack(&self->ev_pk, azo_wire_now_ms(), self->node, "sup", nfields);
    return &self->ev_pk;
}

static void
s_event_send(azo_sup_t *self, const char *topic)
{
    void *raw = zsock_resolve(self->events);
    // XPUB drops for slow subscribers; never block the supervisor.
    if (zmq_send(raw, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(raw, self->ev_sb.data, self->ev_sb.size, ZMQ_DONTWAIT) < 0)
        zsys_debug("event %s not sent: %s", topic, zmq_strerror(errno));
}

// True when the tcp endpoint ep binds only a loopback address.
static bool
s_loopback(const char *ep)
{
    if (strncmp(ep, "tcp://", 6) != 0)
        return true; // ipc and inproc never leave the host
    // Only addresses libzmq binds as such: it takes names for interfaces,
    // so "localhost" is not one.
    const char *host = ep + 6;
    return strncmp(host, "127.", 4) == 0 || strncmp(host, "[::1]:", 6) == 0;
}

// --- pending control requests
// ---------------------------------------------------

static size_t
s_seq_hash(const void *key)
{
    return (size_t)(uintptr_t)key;
}

static int
s_seq_cmp(const void *a, const void *b)
{
    return (uintptr_t)a < (uintptr_t)b ? -1 : (uintptr_t)a > (uintptr_t)b;
}

static void
s_pending_free(void **item)
{
    s_pending_t *p = *item;
    if (p && p->ticket && p->sup->loop)
        zloop_ticket_delete(p->sup->loop, p->ticket);
    free(p);
    *item = NULL;
}

static void
s_client_send(azo_sup_t *self, const s_pending_t *p, const void *body,
              size_t len)
{
    void *raw = zsock_resolve(self->ctl);
    // A client that went away or stopped reading loses its reply; the
    // ROUTER drops it rather than blocking us.
    if (zmq_send(raw, p->ident, p->ident_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return;
    if (p->delim)
        (void)zmq_send(raw, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    (void)zmq_send(raw, body, len, ZMQ_DONTWAIT);
}

// Sends a reply for pending seq to its client and forgets the entry.
static void
s_pending_finish(azo_sup_t *self, uint64_t seq, const void *body, size_t len)
{
    void *key = (void *)(uintptr_t)seq;
    s_pending_t *p = zhashx_lookup(self->pending, key);
    if (!p)
        return; // timed out already
    s_client_send(self, p, body, len);
    zhashx_delete(self->pending, key);
}

// Fails pending with an error of our own.
static void s_pending_fail(azo_sup_t *self, s_pending_t *p, int rc,
                           const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
s_pending_fail(azo_sup_t *self, s_pending_t *p, int rc, const char *fmt, ...)
{
    char msg[AZO_WIRE_MAX_ERRMSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    azo_reply_t r;
    azo_reply_init(&r);
    azo_reply_start(&r, p->has_id, p->id);
    azo_reply_fail(&r, rc, "%s", msg);
    size_t len;
    const void *data = azo_reply_data(&r, &len);
    s_pending_finish(self, p->seq, data, len);
    azo_reply_fini(&r);
}

static int
s_on_pending_timeout(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    s_pending_t *p = arg;
    p->ticket = NULL; // zloop frees fired tickets
    long long ms = (long long)p->sup->request_timeout;
    if (p->target == AZO_REG_SUP)
        s_pending_fail(p->sup, p, AZO_ETIMEOUT,
                       "%s did not complete within %lld ms "
                       "(supervisor/request_timeout)",
                       p->cmd, ms);
    else
        s_pending_fail(p->sup, p, AZO_ETIMEOUT,
                       "%s did not answer %s within %lld ms "
                       "(supervisor/request_timeout)",
                       azo_registry_name(p->sup->reg, p->target), p->cmd, ms);
    return 0;
}

// Fails every pending request held by actor idx (it exited).
static void
s_pending_fail_target(azo_sup_t *self, int idx, const char *why)
{
    zlistx_t *keys = zhashx_keys(self->pending);
    if (!keys)
        return;
    for (void *k = zlistx_first(keys); k; k = zlistx_next(keys)) {
        s_pending_t *p = zhashx_lookup(self->pending, k);
        if (p && p->target == idx)
            s_pending_fail(self, p, AZO_EUNAVAIL, "%s %s before replying",
                           azo_registry_name(self->reg, idx), why);
    }
    zlistx_destroy(&keys);
}

// --- replies to requests handled here
// -------------------------------------------

// Sends ctx's reply to whoever asked: a control client (from == SUP, token
// = pending seq) or an actor over the bus.
static void
s_reply(azo_sup_t *self, azo_cmd_ctx_t *ctx)
{
    size_t len;
    const void *data = azo_reply_data(&ctx->reply, &len);
    if (!data)
        return;
    if (ctx->from == AZO_REG_SUP)
        s_pending_finish(self, ctx->token, data, len);
    else
        (void)azo_bus_send(self->bus, ctx->from, AZO_BUS_REPLY, ctx->token,
                           data, len, 0);
}

// --- children
// -------------------------------------------------------------------

static void s_child_spawn(s_child_t *c, bool restart);
static void s_escalate(azo_sup_t *self, const char *why);

static void
s_child_info(s_child_t *c, msgpack_packer *pk)
{
    int64_t up = c->state == S_RUNNING ? s_now() - c->started_mono : 0;
    msgpack_pack_map(pk, 8);
    azo_pack_kstr(pk, "name", c->def->name);
    azo_pack_kstr(pk, "mode", "thread");
    azo_pack_kstr(pk, "state", s_state_names[c->state]);
    azo_pack_kint(pk, "pid", c->state == S_STOPPED ? 0 : (int64_t)getpid());
    azo_pack_kint(pk, "uptime_ms", up);
    azo_pack_kuint(pk, "restarts", c->restarts);
    azo_pack_kuint(pk, "gen", c->gen);
    azo_pack_kstr(pk, "last_exit", c->last_exit[0] ? c->last_exit : NULL);
}

// Answers the lifecycle requests waiting on c whose wish is now met, or can
// no longer be.
static void
s_child_notify(s_child_t *c, const char *failure)
{
    azo_sup_t *self = c->sup;
    for (int i = 0; i < c->nwaiters;) {
        s_waiter_t *w = &c->waiters[i];
        bool met = c->state == w->want;
        if (!met && !failure) {
            i++;
            continue;
        }
        if (met)
            s_child_info(c, azo_reply_result(&w->ctx->reply));
        else
            azo_reply_fail(&w->ctx->reply, AZO_EUNAVAIL, "%s: %s", c->def->name,
                           failure);
        s_reply(self, w->ctx);
        azo_cmd_ctx_free(&w->ctx, &self->deferred);
        c->waiters[i] = c->waiters[--c->nwaiters];
    }
}

static void
s_child_cancel_timers(s_child_t *c)
{
    if (c->stop_timer >= 0)
        zloop_timer_end(c->sup->loop, c->stop_timer);
    if (c->restart_timer >= 0)
        zloop_timer_end(c->sup->loop, c->restart_timer);
    c->stop_timer = c->restart_timer = -1;
}

static int
s_on_restart_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    s_child_t *c = arg;
    c->restart_timer = -1;
    if (c->state == S_WAITING)
        s_child_spawn(c, true);
    return c->sup->stopping ? -1 : 0; // a failed spawn may escalate
}

// Counts an automatic restart against the intensity limit. Returns false
// when max_restarts within period is exceeded.
static bool
s_intensity_ok(azo_sup_t *self)
{
    int64_t now = s_now();
    int cap = self->max_restarts + 1;
    self->restart_times[self->restart_head] = now;
    self->restart_head = (self->restart_head + 1) % cap;
    if (self->restart_count < cap)
        self->restart_count++;
    int recent = 0;
    for (int i = 0; i < self->restart_count; i++)
        if (now - self->restart_times[i] < self->period_ms)
            recent++;
    return recent <= self->max_restarts;
}

// The thread of c has ended (EXIT seen, thread joined or abandoned).
static void
s_child_exited(s_child_t *c, const char *detail, bool failed, bool hung)
{
    azo_sup_t *self = c->sup;
    int64_t uptime = c->started_mono ? s_now() - c->started_mono : 0;
    bool was_starting = c->state == S_STARTING;
    const char *reason = self->stopping      ? "shutdown"
                         : c->stop_requested ? "stopped"
                         : failed            ? "failed"
                                             : "normal";
    if (hung)
        reason = "hung";
    snprintf(c->last_exit, sizeof c->last_exit, "%s: %s", reason, detail);
    azo_registry_set_down(self->reg, c->idx);
    s_child_cancel_timers(c);
    c->state = S_STOPPED;
    c->stop_requested = false;

    msgpack_packer *pk = s_event(self, 5);
    azo_pack_kstr(pk, "actor", c->def->name);
    azo_pack_kstr(pk, "reason", reason);
    azo_pack_kstr(pk, "detail", detail);
    azo_pack_kuint(pk, "gen", c->gen);
    azo_pack_kint(pk, "uptime_ms", uptime);
    s_event_send(self, "sup.actor.exited");
    s_pending_fail_target(self, c->idx, "exited");
    if (failed)
        zsys_warning("actor %s exited (%s): %s", c->def->name, reason, detail);
    else
        zsys_info("actor %s exited (%s)", c->def->name, reason);

    if (self->stopping)
        return;
    // A stop that was asked for is done, whatever comes next.
    s_child_notify(c, NULL);
    if (c->after_exit != S_AFTER_POLICY) {
        bool restart = c->after_exit == S_AFTER_RESTART;
        c->after_exit = S_AFTER_POLICY;
        s_child_spawn(c, restart);
        return;
    }
    bool again =
        c->want_running && (c->policy == S_RESTART_PERMANENT ||
                            (c->policy == S_RESTART_TRANSIENT && failed));
    if (!again) {
        c->want_running = false;
        s_child_notify(c, was_starting ? c->last_exit : "stopped");
        return;
    }
    if (!s_intensity_ok(self)) {
        char why[200];
        snprintf(why, sizeof why,
                 "more than %d restarts within %lld ms (last: %s)",
                 self->max_restarts, (long long)self->period_ms, c->def->name);
        s_escalate(self, why);
        return;
    }
    if (was_starting)
        s_child_notify(c, c->last_exit);
    // Backoff: the first restart is immediate; quick failures after it
    // double the delay; a stable run resets it.
    if (uptime >= S_STABLE_MS)
        c->backoff_ms = 0;
    int64_t delay = c->backoff_ms;
    c->backoff_ms = delay ? delay * 2 : S_BACKOFF_MIN_MS;
    if (c->backoff_ms > S_BACKOFF_MAX_MS)
        c->backoff_ms = S_BACKOFF_MAX_MS;
    if (delay == 0) {
        s_child_spawn(c, true);
        return;
    }
    c->state = S_WAITING;
    c->restart_timer =
        zloop_timer(self->loop, (size_t)delay, 1, s_on_restart_timer, c);
}

// Collects the thread of c after EXIT.
static void
s_child_reap(s_child_t *c)
{
    zloop_reader_end(c->sup->loop, c->pipe);
    zsock_destroy(&c->pipe);
    // EXIT is the thread's last act: the join is immediate.
    pthread_join(c->thread, NULL);
}

static void s_boot_next(azo_sup_t *self);

static int
s_on_child_pipe(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    s_child_t *c = arg;
    azo_sup_t *self = c->sup;
    zmsg_t *msg = zmsg_recv(reader);
    if (!msg)
        return 0; // interrupted; zloop decides whether to go on
    char *what = zmsg_popstr(msg);
    if (what && streq(what, "READY") && c->state == S_STARTING) {
        c->state = S_RUNNING;
        azo_registry_set_up(self->reg, c->idx, c->gen);
        msgpack_packer *pk = s_event(self, 3);
        azo_pack_kstr(pk, "actor", c->def->name);
        azo_pack_kstr(pk, "mode", "thread");
        azo_pack_kuint(pk, "gen", c->gen);
        s_event_send(self, "sup.actor.started");
        s_child_notify(c, NULL);
        if (self->boot_next >= 0)
            s_boot_next(self);
    } else if (what && streq(what, "EXIT")) {
        char *detail = zmsg_popstr(msg);
        char *failed = zmsg_popstr(msg);
        s_child_reap(c);
        s_child_exited(c, detail ? detail : "?", failed && *failed == '1',
                       false);
        zstr_free(&detail);
        zstr_free(&failed);
        if (self->boot_next >= 0)
            s_boot_next(self);
    }
    zstr_free(&what);
    zmsg_destroy(&msg);
    return self->stopping ? -1 : 0;
}

// Starts a new instance of c; restart says whether it replaces one that
// exited (sup.actor.restarted) rather than a first or manual start.
static void
s_child_spawn(s_child_t *c, bool restart)
{
    azo_sup_t *self = c->sup;
    c->gen++;
    azo_actor_env_t env = {.def = c->def,
                           .reg = self->reg,
                           .idx = c->idx,
                           .gen = c->gen,
                           .store = self->store,
                           .cfg = self->cfg,
                           .node = self->node,
                           .hwm = self->hwm};
    int rc = azo_actor_spawn(&env, &c->pipe, &c->thread);
    if (rc < 0) {
        // Out of threads or memory: treat like a failed start.
        zsys_error("cannot start actor %s: %s", c->def->name, azo_err_str(rc));
        c->state = S_STARTING;
        s_child_exited(c, "cannot create thread", true, false);
        return;
    }
    zsock_set_sndtimeo(c->pipe, 0);
    if (restart)
        c->restarts++; // counted when it happens, not when planned
    c->state = S_STARTING;
    c->started_mono = s_now();
    c->stop_requested = false;
    if (restart) {
        msgpack_packer *pk = s_event(self, 3);
        azo_pack_kstr(pk, "actor", c->def->name);
        azo_pack_kuint(pk, "gen", c->gen);
        azo_pack_kuint(pk, "restarts", c->restarts);
        s_event_send(self, "sup.actor.restarted");
    }
    if (zloop_reader(self->loop, c->pipe, s_on_child_pipe, c) < 0)
        zsys_error("cannot watch actor %s", c->def->name);
}

static int
s_on_stop_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    s_child_t *c = arg;
    c->stop_timer = -1;
    if (c->state != S_STOPPING)
        return 0;
    // A thread cannot be killed safely: abandon it (its generation's inbox
    // stays with it) and carry on as if it had exited.
    zsys_error("actor %s did not stop within %lld ms; abandoning its thread",
               c->def->name, (long long)c->shutdown_ms);
    zloop_reader_end(c->sup->loop, c->pipe);
    zsock_destroy(&c->pipe);
    pthread_detach(c->thread);
    c->sup->abandoned = true;
    s_child_exited(c, "did not stop in time; thread abandoned", true, true);
    return c->sup->stopping ? -1 : 0;
}

// Asks c to stop. Its EXIT (or the stop timer) continues the story.
static void
s_child_stop(s_child_t *c)
{
    azo_sup_t *self = c->sup;
    if (c->state == S_WAITING) {
        s_child_cancel_timers(c);
        c->state = S_STOPPED;
        return;
    }
    if (c->state != S_RUNNING && c->state != S_STARTING)
        return;
    azo_registry_set_down(self->reg, c->idx);
    c->stop_requested = true;
    c->state = S_STOPPING;
    if (zstr_send(c->pipe, "$TERM") < 0)
        zsys_warning("cannot signal actor %s", c->def->name);
    c->stop_timer =
        zloop_timer(self->loop, (size_t)c->shutdown_ms, 1, s_on_stop_timer, c);
}

static void
s_boot_next(azo_sup_t *self)
{
    // Start in config order, one at a time: each actor's init has finished
    // (or failed) before the next begins. Actors already started by a
    // command are skipped.
    for (; self->boot_next < self->nchildren; self->boot_next++) {
        s_child_t *c = &self->children[self->boot_next];
        if (c->gen == 0 && c->want_running)
            s_child_spawn(c, false);
        if (c->state == S_STARTING)
            return; // its READY or EXIT calls us again
    }
    self->boot_next = -1;
}

static void
s_escalate(azo_sup_t *self, const char *why)
{
    zsys_error("escalating: %s; stopping the node", why);
    msgpack_packer *pk = s_event(self, 1);
    azo_pack_kstr(pk, "reason", why);
    s_event_send(self, "sup.escalated");
    self->stopping = true;
    self->exit_code = AZO_EXIT_ESCALATED;
}

// --- supervisor commands
// ----------------------------------------------------------

static int
s_cmd_ping(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    azo_sup_t *self = arg;
    (void)req;
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 3);
    azo_pack_kstr(pk, "node", self->node);
    azo_pack_kint(pk, "ts", azo_wire_now_ms());
    azo_pack_kstr(pk, "version", AZO_VERSION);
    return 0;
}

static int
s_cmd_status(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    azo_sup_t *self = arg;
    (void)req;
    azo_store_info_t info = {0};
    (void)azo_store_info(self->store, &info); // zeros on failure
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 11);
    azo_pack_kstr(pk, "node", self->node);
    azo_pack_kint(pk, "pid", (int64_t)getpid());
    azo_pack_kstr(pk, "version", AZO_VERSION);
    azo_pack_kint(pk, "started", self->started_wall);
    azo_pack_kint(pk, "uptime_ms", s_now() - self->started_mono);
    azo_pack_kstr(pk, "config", azo_config_source(self->cfg));
    azo_pack_kstr(pk, "strategy",
                  azo_config_str(self->cfg, "supervisor/strategy"));
    // The cluster endpoint is bound once process actors and node agents
    // exist (#3, #10); until then only what is bound is shown.
    azo_pack_str(pk, "endpoints");
    msgpack_pack_map(pk, 2);
    azo_pack_kstr(pk, "control", self->endpoints[0]);
    azo_pack_kstr(pk, "events", self->endpoints[1]);
    azo_pack_str(pk, "store");
    msgpack_pack_map(pk, 4);
    azo_pack_kstr(pk, "path", self->store_path);
    azo_pack_kint(pk, "map_bytes", info.map_bytes);
    azo_pack_kint(pk, "used_bytes", info.used_bytes);
    azo_pack_kint(pk, "entries", info.entries);
    azo_pack_str(pk, "requests");
    msgpack_pack_map(pk, 3);
    azo_pack_kuint(pk, "total", self->requests);
    azo_pack_kuint(pk, "bad", self->bad_requests);
    azo_pack_kuint(pk, "pending", zhashx_size(self->pending));
    azo_pack_str(pk, "actors");
    msgpack_pack_array(pk, (uint32_t)self->nchildren);
    for (int i = 0; i < self->nchildren; i++)
        s_child_info(&self->children[i], pk);
    return 0;
}

static int
s_cmd_shutdown(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    azo_sup_t *self = arg;
    (void)req;
    zsys_info("shutdown requested over the control endpoint");
    self->stopping = true; // the loop ends after this reply is sent
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 2);
    azo_pack_kstr(pk, "node", self->node);
    azo_pack_kbool(pk, "stopping", true);
    return 0;
}

// Finds the child named by args.name, or writes the error reply.
static s_child_t *
s_arg_child(azo_sup_t *self, const azo_req_t *req, azo_reply_t *reply)
{
    const char *bad = azo_req_unknown_arg(req, "name");
    if (bad) {
        azo_reply_fail(reply, AZO_EBADREQ, "unknown argument '%s'", bad);
        return NULL;
    }
    const char *name = azo_req_str(req, "name");
    if (!name) {
        azo_reply_fail(reply, AZO_EBADREQ, "args.name: actor name needed");
        return NULL;
    }
    int idx = azo_registry_find(self->reg, name);
    if (idx <= AZO_REG_SUP) {
        azo_reply_fail(reply, AZO_ENOTFOUND, "no actor named '%s'", name);
        return NULL;
    }
    if (!self->by_idx[idx]) {
        azo_reply_fail(reply, AZO_ENOTFOUND,
                       "actor '%s' is not configured on this node", name);
        return NULL;
    }
    return self->by_idx[idx];
}

// Parks reply until c reaches state want. Returns 0 or the failure reply.
static int
s_wait_for(s_child_t *c, azo_reply_t *reply, s_state_t want)
{
    azo_sup_t *self = c->sup;
    if (c->nwaiters == S_MAX_WAITERS)
        return azo_reply_fail(reply, AZO_ECONFLICT,
                              "too many lifecycle requests pending for %s",
                              c->def->name);
    azo_cmd_ctx_t *ctx = azo_cmd_defer(reply, &self->deferred);
    if (!ctx)
        return azo_reply_fail(reply, -ENOMEM, "out of memory");
    c->waiters[c->nwaiters++] = (s_waiter_t){ctx, want};
    return 0;
}

static int
s_unchanged(s_child_t *c, azo_reply_t *reply)
{
    s_child_info(c, azo_reply_result(reply));
    return 0;
}

static int
s_cmd_actor_start(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    s_child_t *c = s_arg_child(arg, req, reply);
    if (!c)
        return 0;
    c->want_running = true;
    switch (c->state) {
    case S_RUNNING:
        return s_unchanged(c, reply);
    case S_STOPPED:
    case S_WAITING:
        s_child_cancel_timers(c);
        // From WAITING this is the restart the exit already counted.
        s_child_spawn(c, c->state == S_WAITING);
        break;
    case S_STOPPING:
        c->after_exit = S_AFTER_START;
        break;
    case S_STARTING:
        break;
    }
    return s_wait_for(c, reply, S_RUNNING);
}

static int
s_cmd_actor_stop(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    s_child_t *c = s_arg_child(arg, req, reply);
    if (!c)
        return 0;
    c->want_running = false;
    c->after_exit = S_AFTER_POLICY;
    if (c->state == S_STOPPED)
        return s_unchanged(c, reply);
    s_child_stop(c);
    if (c->state == S_STOPPED)
        return s_unchanged(c, reply); // was waiting to restart
    return s_wait_for(c, reply, S_STOPPED);
}

static int
s_cmd_actor_restart(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    s_child_t *c = s_arg_child(arg, req, reply);
    if (!c)
        return 0;
    c->want_running = true;
    switch (c->state) {
    case S_STOPPED:
    case S_WAITING:
        s_child_cancel_timers(c);
        s_child_spawn(c, c->gen > 0); // never started yet: a first start
        break;
    case S_RUNNING:
    case S_STARTING:
        c->after_exit = S_AFTER_RESTART;
        s_child_stop(c);
        break;
    case S_STOPPING:
        c->after_exit = S_AFTER_RESTART;
        break;
    }
    return s_wait_for(c, reply, S_RUNNING);
}

static int
s_cmd_nodes(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    azo_sup_t *self = arg;
    (void)req;
    // A single-node install: this node is the whole cluster (#10 adds
    // node agents).
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 1);
    azo_pack_str(pk, "nodes");
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 4);
    azo_pack_kstr(pk, "name", self->node);
    azo_pack_kstr(pk, "role", "supervisor");
    azo_pack_kstr(pk, "state", "up");
    azo_pack_str(pk, "actors");
    msgpack_pack_array(pk, (uint32_t)self->nchildren);
    for (int i = 0; i < self->nchildren; i++)
        azo_pack_str(pk, self->children[i].def->name);
    return 0;
}

static const azo_cmd_entry_t s_cmds[] = {
    {"ping", s_cmd_ping},
    {"status", s_cmd_status},
    {"shutdown", s_cmd_shutdown},
    {"actor.start", s_cmd_actor_start},
    {"actor.stop", s_cmd_actor_stop},
    {"actor.restart", s_cmd_actor_restart},
    {"nodes", s_cmd_nodes},
    {"config.reload", azo_cmd_unavailable},
    {"actor.move", azo_cmd_unavailable},
};
static const size_t s_ncmds = sizeof s_cmds / sizeof s_cmds[0];

// --- control endpoint
// ---------------------------------------------------------------

// Handles one control request from client p (already in the pending table).
static void
s_on_request(azo_sup_t *self, s_pending_t *p, const void *body, size_t len)
{
    char why[256];
    self->requests++;
    if (azo_req_decode(&self->req, body, len, why, sizeof why) < 0) {
        self->bad_requests++;
        azo_ratelog(&self->badlog, "bad control request: %s", why);
        p->has_id = self->req.has_id;
        p->id = self->req.id;
        s_pending_fail(self, p, AZO_EBADREQ, "%s", why);
        return;
    }
    p->has_id = true;
    p->id = self->req.id;
    snprintf(p->cmd, sizeof p->cmd, "%s", self->req.cmd);
    int owner = azo_registry_route(self->reg, self->req.cmd);
    p->target = owner;
    if (owner == AZO_REG_SUP) {
        azo_cmd_ctx_t *ctx = &self->ctx;
        ctx->from = AZO_REG_SUP;
        ctx->token = p->seq;
        ctx->oneway = false;
        if (azo_cmd_run(s_cmds, s_ncmds, self, &self->req, ctx))
            s_reply(self, ctx);
        return;
    }
    s_child_t *c = self->by_idx[owner];
    if (!c) {
        s_pending_fail(self, p, AZO_EUNAVAIL,
                       "actor %s is not configured on this node",
                       azo_registry_name(self->reg, owner));
        return;
    }
    if (c->state != S_RUNNING) {
        s_pending_fail(self, p, AZO_EUNAVAIL, "actor %s is %s", c->def->name,
                       s_state_names[c->state]);
        return;
    }
    int rc =
        azo_bus_send(self->bus, owner, AZO_BUS_REQUEST, p->seq, body, len, 0);
    if (rc < 0)
        s_pending_fail(self, p, AZO_EUNAVAIL,
                       "actor %s cannot take requests now (inbox full)",
                       c->def->name);
}

// Receives one ROUTER message: [identity][""?][body]. Returns false when
// nothing was waiting.
static bool
s_ctl_recv_one(azo_sup_t *self)
{
    void *raw = zsock_resolve(self->ctl);
    zmq_msg_t f[3];
    int n = 0, extra = 0;
    for (int i = 0; i < 3; i++)
        zmq_msg_init(&f[i]);
    bool more = true;
    while (more) {
        zmq_msg_t *m = n < 3 ? &f[n] : &f[2];
        if (n >= 3) {
            zmq_msg_close(m);
            zmq_msg_init(m);
        }
        // Later frames of a multipart message are already here.
        if (zmq_msg_recv(m, raw, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            if (n == 0) {
                zmq_msg_close(&f[0]);
                zmq_msg_close(&f[1]);
                zmq_msg_close(&f[2]);
                return false;
            }
            break;
        }
        more = zmq_msg_more(m);
        if (n < 3)
            n++;
        else
            extra++;
    }
    s_pending_t *p = calloc(1, sizeof *p);
    if (p && zmq_msg_size(&f[0]) <= sizeof p->ident) {
        p->sup = self;
        p->seq = self->next_seq++;
        p->target = AZO_REG_SUP;
        p->ident_len = zmq_msg_size(&f[0]);
        memcpy(p->ident, zmq_msg_data(&f[0]), p->ident_len);
        p->delim = n == 3 && zmq_msg_size(&f[1]) == 0;
        p->ticket = zloop_ticket(self->loop, s_on_pending_timeout, p);
        zhashx_insert(self->pending, (void *)(uintptr_t)p->seq, p);
        if (n == 2 && extra == 0)
            s_on_request(self, p, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]));
        else if (n == 3 && p->delim && extra == 0)
            s_on_request(self, p, zmq_msg_data(&f[2]), zmq_msg_size(&f[2]));
        else {
            self->requests++;
            self->bad_requests++;
            s_pending_fail(self, p, AZO_EBADREQ,
                           "expected one message frame (after the REQ "
                           "delimiter, if any)");
        }
    } else
        free(p);
    for (int i = 0; i < 3; i++)
        zmq_msg_close(&f[i]);
    return true;
}

static int
s_on_ctl(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    (void)reader;
    azo_sup_t *self = arg;
    for (int i = 0; i < S_CTL_DRAIN && !self->stopping; i++)
        if (!s_ctl_recv_one(self))
            break;
    return self->stopping ? -1 : 0;
}

// --- inbox: replies and requests from actors
// ------------------------------------------

static int
s_on_inbox(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    azo_sup_t *self = arg;
    void *raw = zsock_resolve(reader);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    for (int i = 0; i < S_CTL_DRAIN; i++) {
        if (zmq_msg_recv(&msg, raw, ZMQ_DONTWAIT) < 0)
            break;
        azo_bus_msg_t m;
        if (azo_bus_parse(zmq_msg_data(&msg), zmq_msg_size(&msg), &m) < 0)
            continue;
        if (m.kind == AZO_BUS_REPLY) {
            s_pending_finish(self, m.token, m.body, m.len);
            continue;
        }
        azo_cmd_ctx_t *ctx = &self->ctx;
        ctx->from = m.from;
        ctx->token = m.token;
        ctx->oneway = m.kind == AZO_BUS_CAST;
        char why[256] = "";
        if (azo_cmd_handle(s_cmds, s_ncmds, self, &self->req, ctx, m.body,
                           m.len, why, sizeof why))
            s_reply(self, ctx);
        if (why[0])
            azo_ratelog(&self->badlog, "bad request from %s: %s",
                        azo_registry_name(self->reg, m.from), why);
    }
    zmq_msg_close(&msg);
    return self->stopping ? -1 : 0;
}

// --- events forwarding
// --------------------------------------------------------------

// Moves every waiting multipart message from one socket to another.
static void
s_forward(void *from, void *to)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    for (int i = 0; i < 1024; i++) {
        if (zmq_msg_recv(&msg, from, ZMQ_DONTWAIT) < 0)
            break;
        bool more = zmq_msg_more(&msg);
        while (true) {
            (void)zmq_msg_send(&msg, to,
                               (more ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT);
            if (!more || zmq_msg_recv(&msg, from, 0) < 0)
                break;
            more = zmq_msg_more(&msg);
        }
    }
    zmq_msg_close(&msg);
}

static int
s_on_xsub(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    azo_sup_t *self = arg;
    s_forward(zsock_resolve(reader), zsock_resolve(self->events));
    return 0;
}

static int
s_on_xpub(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    azo_sup_t *self = arg;
    s_forward(zsock_resolve(reader), zsock_resolve(self->xsub));
    return 0;
}

// --- open / run / close
// ---------------------------------------------------------------

// Takes <data_dir>/azod.lock so that two nodes never share a data directory.
static int
s_lock(azo_sup_t *self, char *err, size_t errlen)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/azod.lock", self->data_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return s_fail(err, errlen, -errno, "%s: cannot open: %s", path,
                      strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int rc = -errno;
        char pid[32] = "?";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 1] = 0;
        pid[strcspn(pid, "\n")] = 0;
        close(fd);
        if (rc == -EWOULDBLOCK)
            return s_fail(err, errlen, AZO_ECONFLICT,
                          "%s is in use by another azod (pid %s)",
                          self->data_dir, pid);
        return s_fail(err, errlen, rc, "%s: cannot lock: %s", path,
                      strerror(-rc));
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        zsys_warning("%s: cannot record our pid", path);
    self->lock_fd = fd;
    return 0;
}

// True when something accepts connections on the ipc:// path of ep.
// libzmq unlinks an existing socket file when binding, which would silently
// steal the endpoint of a running node; we look first.
static bool
s_ipc_in_use(const char *ep)
{
    if (strncmp(ep, "ipc://", 6) != 0)
        return false;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(ep + 6) >= sizeof addr.sun_path)
        return false; // zsock_bind reports the bad path
    strcpy(addr.sun_path, ep + 6);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool used = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    close(fd);
    return used;
}

static int
s_bind(zsock_t *sock, const char *key, const char *ep, char *err, size_t errlen)
{
    if (s_ipc_in_use(ep))
        return s_fail(err, errlen, -EADDRINUSE,
                      "cannot bind %s = %s: in use by another process", key,
                      ep);
    if (strncmp(ep, "tcp://[", 7) == 0)
        zsock_set_ipv6(sock, 1); // only then: IPv4 binds stay IPv4 in names
    if (zsock_bind(sock, "%s", ep) < 0)
        return s_fail(err, errlen, -errno, "cannot bind %s = %s: %s", key, ep,
                      zmq_strerror(errno));
    return 0;
}

// Removes the ipc socket files of the endpoints we bound: libzmq leaves them
// behind (s_bind made sure nobody else was serving there when we bound).
// Idempotent; also called before an _exit that skips azo_sup_close.
static void
s_unlink_ipc(azo_sup_t *self)
{
    for (int i = 0; i < 2; i++) {
        if (self->bound[i] && strncmp(self->endpoints[i], "ipc://", 6) == 0)
            (void)unlink(self->endpoints[i] + 6); // best effort
        self->bound[i] = false;
    }
}

// Replaces ep (a buffer of eplen) with what sock really bound: a port "*"
// becomes the port the system chose, so that status tells clients.
static void
s_bound_endpoint(zsock_t *sock, char *ep, size_t eplen)
{
    char *last = zsock_last_endpoint(sock);
    if (last && *last)
        snprintf(ep, eplen, "%s", last);
    zstr_free(&last);
}

static int
s_setup_children(azo_sup_t *self, const azo_actor_def_t *const *defs,
                 size_t ndefs, char *err, size_t errlen)
{
    for (size_t i = 0; i < ndefs; i++) {
        int idx = azo_registry_add(self->reg, defs[i]->name, defs[i]->prefix);
        if (idx < 0)
            return s_fail(err, errlen, idx, "cannot register actor %s: %s",
                          defs[i]->name, azo_err_str(idx));
        self->defs[idx] = defs[i];
    }
    zconfig_t *actors = azo_config_section(self->cfg, "actors");
    for (zconfig_t *a = actors ? zconfig_child(actors) : NULL; a;
         a = zconfig_next(a)) {
        const char *name = zconfig_name(a);
        int idx = azo_registry_find(self->reg, name);
        if (idx <= AZO_REG_SUP) // the schema admits only known actors
            return s_fail(err, errlen, AZO_EBADREQ, "actors/%s: unknown", name);
        char key[128];
        s_child_t *c = &self->children[self->nchildren++];
        c->sup = self;
        c->def = self->defs[idx];
        c->idx = idx;
        c->want_running = true;
        c->stop_timer = c->restart_timer = -1;
        snprintf(key, sizeof key, "actors/%s/restart", name);
        const char *policy = azo_config_str(self->cfg, key);
        c->policy = streq(policy, "transient")   ? S_RESTART_TRANSIENT
                    : streq(policy, "temporary") ? S_RESTART_TEMPORARY
                                                 : S_RESTART_PERMANENT;
        snprintf(key, sizeof key, "actors/%s/shutdown", name);
        c->shutdown_ms = azo_config_ms(self->cfg, key, 5000);
        self->by_idx[idx] = c;
    }
    return 0;
}

// Resolves the node's name (node/name, else the short host name) into
// buf[65]. Returns 0 or AZO_EBADREQ.
static int
s_node_name(const azo_config_t *cfg, char *buf, char *err, size_t errlen)
{
    const char *name = azo_config_str(cfg, "node/name");
    char host[256] = "";
    if (!name) {
        if (gethostname(host, sizeof host - 1) < 0 || !host[0])
            strcpy(host, "localhost");
        host[strcspn(host, ".")] = 0; // short host name
        name = host;
    }
    size_t n = strlen(name);
    if (n == 0 || n > 64 ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789._-") != n)
        return s_fail(err, errlen, AZO_EBADREQ,
                      "node/name: expected 1..64 letters, digits, '.', '_' "
                      "or '-', got '%s'",
                      name);
    strcpy(buf, name);
    return 0;
}

static const char *const s_ep_keys[3] = {
    "endpoints/control", "endpoints/events", "endpoints/cluster"};
static const char *const s_ep_risk[3] = {"could control this node",
                                         "could read its events",
                                         "could join it as a node or an actor"};

int
azo_sup_check(const azo_config_t *cfg, char *err, size_t errlen)
{
    char node[65];
    int rc = s_node_name(cfg, node, err, errlen);
    if (rc < 0)
        return rc;
    const char *strategy = azo_config_str(cfg, "supervisor/strategy");
    if (strcmp(strategy, "one_for_one") != 0)
        return s_fail(err, errlen, AZO_EUNAVAIL,
                      "supervisor/strategy = %s is not available in this "
                      "build yet (#3); use one_for_one",
                      strategy);
    bool insecure = azo_config_bool(cfg, "endpoints/insecure", false);
    for (int i = 0; i < 3; i++) {
        const char *ep = azo_config_str(cfg, s_ep_keys[i]);
        if (!insecure && !s_loopback(ep))
            return s_fail(err, errlen, AZO_EFORBIDDEN,
                          "%s = %s is not a loopback address, and CURVE "
                          "authentication is not available in this build "
                          "yet (#4): anyone who can reach it %s. Bind "
                          "127.0.0.1 or an ipc:// path, or set "
                          "endpoints/insecure = 1 to expose it anyway",
                          s_ep_keys[i], ep, s_ep_risk[i]);
    }
    zconfig_t *actors = azo_config_section(cfg, "actors");
    for (zconfig_t *a = actors ? zconfig_child(actors) : NULL; a;
         a = zconfig_next(a)) {
        char key[128];
        snprintf(key, sizeof key, "actors/%s/mode", zconfig_name(a));
        const char *mode = azo_config_str(cfg, key);
        if (mode && strcmp(mode, "thread") != 0)
            return s_fail(err, errlen, AZO_EUNAVAIL,
                          "%s = %s: process actors are not available in "
                          "this build yet (#3); use mode = thread",
                          key, mode);
    }
    return 0;
}

static int
s_setup_node(azo_sup_t *self, char *err, size_t errlen)
{
    int rc = azo_sup_check(self->cfg, err, errlen);
    if (rc < 0 || (rc = s_node_name(self->cfg, self->node, err, errlen)) < 0)
        return rc;
    for (int i = 0; i < 3; i++)
        snprintf(self->endpoints[i], sizeof self->endpoints[i], "%s",
                 azo_config_str(self->cfg, s_ep_keys[i]));
    const char *dir = azo_config_str(self->cfg, "node/data_dir");
    if (strlen(dir) + 32 >= sizeof self->data_dir)
        return s_fail(err, errlen, AZO_EBADREQ, "node/data_dir: too long");
    strcpy(self->data_dir, dir);
    char why[PATH_MAX + 64];
    rc = azo_fs_mkdirs(dir, 0700, why, sizeof why);
    if (rc < 0)
        return s_fail(err, errlen, rc, "node/data_dir: %s", why);
    return 0;
}

int
azo_sup_open(azo_sup_t **out, const azo_config_t *cfg,
             const azo_actor_def_t *const *defs, size_t ndefs, char *err,
             size_t errlen)
{
    assert(out && cfg && (defs || ndefs == 0));
    *out = NULL;
    if (err && errlen)
        err[0] = 0;
    azo_sup_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    self->cfg = cfg;
    self->lock_fd = -1;
    self->signal_fd = -1;
    self->next_seq = 1;
    self->started_mono = s_now();
    self->started_wall = azo_wire_now_ms();
    self->hwm = (int)azo_config_int(cfg, "limits/queue", 10000);
    self->request_timeout =
        azo_config_ms(cfg, "supervisor/request_timeout", 10000);
    self->max_restarts =
        (int)azo_config_int(cfg, "supervisor/max_restarts", 10);
    self->period_ms = azo_config_ms(cfg, "supervisor/period", 60000);
    msgpack_sbuffer_init(&self->ev_sb);
    msgpack_packer_init(&self->ev_pk, &self->ev_sb, msgpack_sbuffer_write);
    azo_cmd_ctx_init(&self->ctx);
    azo_ratelog_init(&self->badlog, 1000);
    int rc = azo_req_init(&self->req);
    self->restart_times =
        calloc((size_t)self->max_restarts + 1, sizeof(int64_t));
    self->reg = azo_registry_new();
    self->pending = zhashx_new();
    if (rc < 0 || !self->restart_times || !self->reg || !self->pending) {
        rc = s_fail(err, errlen, -ENOMEM, "out of memory");
        goto fail;
    }
    zhashx_set_key_hasher(self->pending, s_seq_hash);
    zhashx_set_key_comparator(self->pending, s_seq_cmp);
    zhashx_set_key_duplicator(self->pending, NULL);
    zhashx_set_key_destructor(self->pending, NULL);
    zhashx_set_destructor(self->pending, s_pending_free);

    if ((rc = s_setup_node(self, err, errlen)) < 0 ||
        (rc = s_setup_children(self, defs, ndefs, err, errlen)) < 0 ||
        (rc = s_lock(self, err, errlen)) < 0)
        goto fail;

    const char *dbs[AZO_REG_MAX];
    size_t ndbs = 0;
    for (int i = 0; i < azo_registry_size(self->reg); i++)
        dbs[ndbs++] = azo_registry_name(self->reg, i);
    snprintf(self->store_path, sizeof self->store_path, "%s/azo.lmdb",
             self->data_dir);
    rc = azo_store_open(&self->store, self->store_path,
                        azo_config_size(cfg, "store/map_size", 1 << 30), dbs,
                        ndbs, err, errlen);
    if (rc < 0)
        goto fail;

    self->bus = azo_bus_new(self->reg, AZO_REG_SUP, self->hwm);
    self->ctl = zsock_new(ZMQ_ROUTER);
    self->events = zsock_new(ZMQ_XPUB);
    self->xsub = zsock_new(ZMQ_XSUB);
    if (!self->bus || !self->ctl || !self->events || !self->xsub) {
        rc = s_fail(err, errlen, -ENOMEM, "out of memory");
        goto fail;
    }
    zsock_set_maxmsgsize(self->ctl,
                         azo_config_size(cfg, "limits/max_msg", 1 << 20));
    zsock_set_linger(self->ctl, S_LINGER_MS);
    zsock_set_maxmsgsize(self->events, S_EVENTS_MAXMSG);
    zsock_set_linger(self->events, S_LINGER_MS);
    zsock_set_linger(self->xsub, 0);
    char inproc[128];
    azo_registry_events_endpoint(self->reg, inproc, sizeof inproc);
    static const char *const keys[2] = {"endpoints/control",
                                        "endpoints/events"};
    zsock_t *outward[2] = {self->ctl, self->events};
    for (int i = 0; i < 2; i++) {
        rc = s_bind(outward[i], keys[i], self->endpoints[i], err, errlen);
        if (rc < 0)
            goto fail;
        self->bound[i] = true;
    }
    rc = s_bind(self->xsub, "events (inproc)", inproc, err, errlen);
    if (rc < 0)
        goto fail;
    s_bound_endpoint(self->ctl, self->endpoints[0], sizeof self->endpoints[0]);
    s_bound_endpoint(self->events, self->endpoints[1],
                     sizeof self->endpoints[1]);
    rc = azo_bus_inbox_open(self->reg, AZO_REG_SUP, 0, self->hwm, &self->inbox);
    if (rc < 0) {
        s_fail(err, errlen, rc, "cannot bind the supervisor inbox: %s",
               azo_err_str(rc));
        goto fail;
    }
    azo_registry_set_up(self->reg, AZO_REG_SUP, 0);
    *out = self;
    return 0;
fail:
    azo_sup_close(&self);
    return rc;
}

void
azo_sup_set_signalfd(azo_sup_t *self, int fd)
{
    self->signal_fd = fd;
}

static int
s_on_signal(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    azo_sup_t *self = arg;
    struct signalfd_siginfo si;
    while (read(item->fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            zsys_warning("SIGHUP ignored: configuration reload is not "
                         "available in this build yet");
            continue;
        }
        zsys_info("%s received: stopping the node",
                  si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
        self->stopping = true;
    }
    return self->stopping ? -1 : 0;
}

// Stops every running actor, newest first, waiting up to each one's
// shutdown time. Runs after the loop has ended.
static void
s_stop_all(azo_sup_t *self)
{
    self->stopping = true;
    for (int i = self->nchildren - 1; i >= 0; i--) {
        s_child_t *c = &self->children[i];
        if (c->state == S_WAITING)
            c->state = S_STOPPED;
        if (!c->pipe)
            continue;
        if (c->state != S_STOPPING) {
            azo_registry_set_down(self->reg, c->idx);
            (void)zstr_send(c->pipe, "$TERM");
        }
        zloop_reader_end(self->loop, c->pipe);
        int64_t deadline = s_now() + c->shutdown_ms;
        bool exited = false;
        while (!exited) {
            int64_t left = deadline - s_now();
            if (left <= 0)
                break;
            zsock_set_rcvtimeo(c->pipe, (int)left);
            zmsg_t *msg = zmsg_recv(c->pipe);
            if (!msg) {
                if (errno == EINTR)
                    continue; // another signal: keep waiting
                break;
            }
            char *what = zmsg_popstr(msg);
            if (what && streq(what, "EXIT")) {
                char *detail = zmsg_popstr(msg);
                zsock_destroy(&c->pipe);
                pthread_join(c->thread, NULL);
                c->stop_requested = true;
                s_child_exited(c, detail ? detail : "?", false, false);
                zstr_free(&detail);
                exited = true;
            }
            zstr_free(&what);
            zmsg_destroy(&msg);
        }
        if (!exited) {
            zsys_error("actor %s did not stop within %lld ms; abandoning "
                       "its thread",
                       c->def->name, (long long)c->shutdown_ms);
            zsock_destroy(&c->pipe);
            pthread_detach(c->thread);
            self->abandoned = true;
            s_child_exited(c, "did not stop in time; thread abandoned", true,
                           true);
        }
    }
}

int
azo_sup_run(azo_sup_t *self)
{
    assert(self);
    self->loop = zloop_new();
    if (!self->loop)
        return AZO_EXIT_ERROR;
    zloop_set_ticket_delay(self->loop, (size_t)self->request_timeout);
    if (zloop_reader(self->loop, self->ctl, s_on_ctl, self) < 0 ||
        zloop_reader(self->loop, self->inbox, s_on_inbox, self) < 0 ||
        zloop_reader(self->loop, self->xsub, s_on_xsub, self) < 0 ||
        zloop_reader(self->loop, self->events, s_on_xpub, self) < 0) {
        zsys_error("cannot register the supervisor's sockets");
        return AZO_EXIT_ERROR;
    }
    if (self->signal_fd >= 0) {
        zmq_pollitem_t item = {NULL, self->signal_fd, ZMQ_POLLIN, 0};
        if (zloop_poller(self->loop, &item, s_on_signal, self) < 0) {
            zsys_error("cannot watch for signals");
            return AZO_EXIT_ERROR;
        }
    }
    zsys_info("node %s: control %s, events %s, data %s", self->node,
              self->endpoints[0], self->endpoints[1], self->data_dir);
    self->boot_next = 0;
    s_boot_next(self);
    if (!self->stopping)
        zloop_start(self->loop);
    if (zsys_interrupted)
        zsys_info("interrupted: stopping the node");
    // Answer what is still waiting, then stop the actors.
    zlistx_t *keys = zhashx_keys(self->pending);
    for (void *k = keys ? zlistx_first(keys) : NULL; k; k = zlistx_next(keys)) {
        s_pending_t *p = zhashx_lookup(self->pending, k);
        if (p)
            s_pending_fail(self, p, AZO_EUNAVAIL, "node %s is shutting down",
                           self->node);
    }
    zlistx_destroy(&keys);
    s_stop_all(self);
    while (self->deferred) {
        azo_cmd_ctx_t *ctx = self->deferred;
        azo_cmd_ctx_free(&ctx, &self->deferred);
    }
    for (int i = 0; i < self->nchildren; i++)
        self->children[i].nwaiters = 0;
    if (self->abandoned)
        s_unlink_ipc(self); // azod leaves with _exit, skipping close
    zsys_info("node %s stopped", self->node);
    return self->exit_code;
}

bool
azo_sup_abandoned(const azo_sup_t *self)
{
    return self->abandoned;
}

void
azo_sup_close(azo_sup_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    azo_sup_t *self = *self_p;
    for (int i = 0; i < self->nchildren; i++)
        assert(!self->children[i].pipe); // azo_sup_run stopped them all
    while (self->deferred) {
        azo_cmd_ctx_t *ctx = self->deferred;
        azo_cmd_ctx_free(&ctx, &self->deferred);
    }
    zhashx_destroy(&self->pending); // before the loop: tickets live there
    zloop_destroy(&self->loop);
    zsock_destroy(&self->inbox);
    zsock_destroy(&self->xsub);
    zsock_destroy(&self->events);
    zsock_destroy(&self->ctl);
    s_unlink_ipc(self);
    azo_bus_destroy(&self->bus);
    if (!self->abandoned)
        azo_store_close(&self->store); // an abandoned thread may use it
    if (self->lock_fd >= 0)
        close(self->lock_fd);
    azo_registry_destroy(&self->reg);
    azo_req_fini(&self->req);
    azo_cmd_ctx_fini(&self->ctx);
    msgpack_sbuffer_destroy(&self->ev_sb);
    free(self->restart_times);
    free(self);
    *self_p = NULL;
}
