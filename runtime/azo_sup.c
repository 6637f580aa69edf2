// azo_sup — the supervisor of one node. Everything here runs in the thread
// that calls azo_sup_run (azod's main thread). Thread actors live in
// threads of this process, process actors in processes of their own; both
// report to the supervisor with lifecycle frames (azo_life: heartbeat,
// ready, exit), thread actors through the supervisor's inbox and process
// actors through the cluster ROUTER, whose pidfds also say at once when a
// process ends.
//
// Routing: frames carry sender and receiver indexes (azo_bus). Thread
// actors reach each other directly; frames to or from a process actor pass
// through here: the inbox and the cluster ROUTER forward by receiver.
// Control requests (azo_ctl) go to the owner of their command's prefix.
//
// Events: thread actors push to an inproc PULL here, process actors send
// E frames; both reach the outward XPUB, which filters by subscription and
// where a slow subscriber loses events and never stalls anyone.
//
// Stopping is asynchronous, inside the loop: actors are stopped one at a
// time in reverse start order, each within its `shutdown` time (then
// SIGKILL for a process, abandonment for a thread), and the loop ends when
// none is left. Group restarts (one_for_all, rest_for_one) are plans run
// the same way: stop the group newest first, wait the backoff, start it
// oldest first.
#define _GNU_SOURCE // pthread_tryjoin_np
#include "azo_sup.h"
#include "azo_bus.h"
#include "azo_ctl.h"
#include "azo_err.h"
#include "azo_fs.h"
#include "azo_life.h"
#include "azo_log.h"
#include "azo_node.h"
#include "azo_proc.h"
#include "azo_sec.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define S_MAX_WAITERS      8    // lifecycle requests waiting on one actor
#define S_DRAIN            256  // frames handled per wakeup
#define S_EVENTS_MAXMSG    1024 // subscriptions are short
#define S_LINGER_MS        500  // let final replies and events leave
#define S_STANDBY_RETRY_MS 1000 // a standby that died is replaced after
#define S_STANDBY_DELAY_MS 50   // a used standby is replaced after
#define S_MAX_NODES        32   // nodes a supervisor knows
#define S_MAX_PREF         8    // nodes in one actor's placement list
#define S_HERE             (-1) // placement: this node
#define S_NOWHERE          (-2) // placement: no node can take it

typedef enum {
    S_STOPPED,  // not running; stopped or exited normally
    S_STARTING, // instance running init (or being adopted)
    S_RUNNING,  // READY seen: takes messages
    S_STOPPING, // asked to stop, waiting for its end
    S_BACKOFF,  // exited; restart timer armed
    S_FAILED,   // exited in failure and will not be restarted
} s_state_t;

static const char *const s_state_names[] = {"stopped",  "starting", "running",
                                            "stopping", "backoff",  "failed"};

typedef enum {
    S_RESTART_PERMANENT,
    S_RESTART_TRANSIENT,
    S_RESTART_TEMPORARY
} s_policy_t;

typedef enum {
    S_ONE_FOR_ONE,
    S_ONE_FOR_ALL,
    S_REST_FOR_ONE,
} s_strategy_t;

// What happens when the current instance has ended, as commands or a group
// restart asked.
typedef enum {
    S_AFTER_POLICY,  // the restart policy and strategy decide
    S_AFTER_START,   // actor.start while stopping: a fresh start
    S_AFTER_RESTART, // actor.restart: a restart
    S_AFTER_PLAN,    // stopped by a group restart: the plan goes on
} s_after_t;

typedef struct azo_sup azo_sup_t;

typedef struct {
    azo_cmd_ctx_t *ctx; // owned by the supervisor's deferred list
    s_state_t want;     // S_RUNNING or S_STOPPED
} s_waiter_t;

typedef struct {
    azo_sup_t *sup;             // borrowed back pointer
    const azo_actor_def_t *def; // borrowed, static
    int idx;                    // registry index
    int order;                  // position in config order
    bool process;               // mode = process
    bool use_standby;           // process: keep a standby ready
    s_policy_t policy;
    int64_t shutdown_ms;
    int64_t heartbeat_ms;
    int64_t start_timeout_ms;
    int liveness;
    int64_t bo_min, bo_max, bo_reset; // backoff
    double bo_factor, bo_jitter;

    s_state_t state;
    uint32_t gen;         // generation of the current instance
    int64_t started_mono; // when the current instance was started
    int64_t last_hb;      // last lifecycle frame from it
    int64_t tid;          // the instance's thread id (its READY and
                          // heartbeats), 0 when unknown or none
    int64_t sent_hb;      // process: our last heartbeat to it
    uint64_t restarts;
    int crashes;        // failures in a row without a stable run
    int64_t backoff_ms; // delay of the pending (or last) automatic restart
    char last_exit[160];
    bool want_running; // false after actor.stop
    s_after_t after_exit;
    bool stop_requested; // we asked it to stop
    bool hung;           // silent past heartbeat x liveness
    // Placement (cluster). On the supervisor every actor has one node; on
    // a node agent only the actors the supervisor assigned are here.
    bool here;      // its instance runs on this node
    int at;         // supervisor: index in nodes[], or S_HERE
    int move_to;    // supervisor: a move away from here waiting for the
                    // local instance to end, or S_NOWHERE
    uint32_t epoch; // placement epoch (fencing); 0 before any placement
    bool failover;  // restart it on the next node when its node is lost
    bool moved;     // placed by actor.move (kept even off its list)
    int npref;      // its node list, in preference order
    char pref[S_MAX_PREF][AZO_NODE_MAX_NAME + 1];
    int64_t r_pid;    // supervisor: the remote instance's pid, as reported
    int64_t r_uptime; // ... and its uptime
    char r_mode[8];   // ... and mode
    char move_reason[16];

    int stop_timer; // zloop timer ids, or -1
    int restart_timer;
    s_waiter_t waiters[S_MAX_WAITERS];
    int nwaiters;

    // Thread mode.
    zsock_t *pipe; // owned while the thread runs: $TERM goes here
    pthread_t thread;
    bool has_thread;
    bool parked;        // its instance ended; the thread waits: RESTART or STOP
    uint32_t inbox_gen; // the generation whose inbox the thread reads
                        // (older than gen after quick restarts)

    // Process mode.
    azo_proc_t proc;    // the active instance
    char ident[64];     // its routing id at the cluster ROUTER
    bool connected;     // ident is known (it has talked)
    bool adopted;       // taken over from an earlier supervisor
    bool exit_reported; // its EXIT frame came (before the process end)
    bool exit_failed;   // ... and said it failed
    char exit_detail[128];
    azo_proc_t standby; // a pre-started standby, or none
    char sb_ident[64];
    bool sb_ready;         // the standby has introduced itself
    bool activate_pending; // start the instance as soon as it is ready
    int standby_timer;     // zloop timer id of a standby re-spawn, or -1
} s_child_t;

// A group restart (one_for_all, rest_for_one).
typedef struct {
    bool active;
    enum { S_PLAN_STOP, S_PLAN_WAIT, S_PLAN_START } phase;
    bool member[AZO_REG_MAX];  // by child order
    bool requeue[AZO_REG_MAX]; // failures to handle when the plan ends
    int cursor;                // next child (by order) to stop or start
    int timer;                 // zloop timer id of the wait, or -1
    int64_t delay_ms;
} s_plan_t;

// A node agent, as the supervisor knows it.
typedef enum { S_NODE_UNKNOWN, S_NODE_UP, S_NODE_LOST } s_node_state_t;
static const char *const s_node_states[] = {"unknown", "up", "lost"};

typedef struct {
    char name[AZO_NODE_MAX_NAME + 1];
    char ident[64]; // its routing id at the cluster ROUTER (bytes)
    size_t idlen;
    char addr[64]; // its address, as the socket saw it
    char version[32];
    int64_t pid;
    s_node_state_t state;
    int64_t seen;      // last frame from it (monotonic)
    int64_t seen_wall; // ... wall clock, ms
    int64_t since;     // wall clock of the last state change
    uint64_t frames;   // frames taken from it
    uint64_t stale;    // frames refused for a stale epoch or placement
    uint64_t lost;     // times it was lost
} s_node_t;

struct azo_sup {
    const azo_config_t *cfg; // borrowed
    char node[65];
    char data_dir[PATH_MAX];
    char store_path[PATH_MAX + 16];
    char effective_cfg[PATH_MAX + 32]; // the config process actors load
    char exe[PATH_MAX];                // this binary, for process actors
    char endpoints[3][256];            // control, events, cluster (bound)
    char cluster_connect[256];         // what process actors connect to
    int lock_fd;
    azo_store_t *store;  // owned
    azo_store_t *run;    // owned: azod.run.lmdb, process records
    int run_db;          // its "proc" database
    azo_registry_t *reg; // owned
    azo_bus_t *bus;      // owned
    azo_ctl_t *ctl;      // owned
    azo_sec_t *sec;      // owned: CURVE, or NULL when it is off
    zsock_t *ctl_sock;   // owned: control ROUTER
    zsock_t *events;     // owned: outward XPUB
    zsock_t *evin;       // owned PULL: thread actors push events here
    zsock_t *inbox;      // owned: frames from thread actors
    zsock_t *cluster;    // owned: cluster ROUTER, process actors
    zloop_t *loop;       // owned, during run
    int hwm;
    s_strategy_t strategy;
    int max_restarts;
    int64_t period_ms;
    int64_t *restart_times; // owned ring of max_restarts + 1 entries
    int restart_count;
    int restart_head;
    uint64_t rng; // xorshift state for backoff jitter

    s_child_t children[AZO_REG_MAX]; // in config (start) order
    int nchildren;
    s_child_t *by_idx[AZO_REG_MAX];           // registry index -> child
    const azo_actor_def_t *defs[AZO_REG_MAX]; // registry index -> def
    int boot_next;                            // next child to boot, or -1
    s_plan_t plan;

    azo_req_t req;
    azo_cmd_ctx_t ctx;
    azo_cmd_ctx_t *deferred; // owned list of deferred replies
    msgpack_sbuffer ev_sb;
    msgpack_packer ev_pk;
    msgpack_sbuffer life_sb;
    msgpack_sbuffer out_sb; // frames we build
    azo_ratelog_t badlog;

    // Cluster: the supervisor's view of its node agents, or an agent's
    // link to its supervisor.
    int64_t hb_ms; // cluster/heartbeat
    int liveness;  // cluster/liveness
    s_node_t nodes[S_MAX_NODES];
    int nnodes;
    char *cfg_text; // owned: the effective configuration, for agents
    size_t cfg_len;
    bool agent;         // we are a node agent (azod --join)
    zsock_t *uplink;    // agent: owned DEALER to the supervisor's cluster
    int up_idx;         // agent: the registry party standing for the supervisor
    bool sup_up;        // agent: the supervisor answers
    bool sup_seen;      // agent: it ever did
    int64_t sup_last;   // agent: its last state (monotonic)
    int64_t hello_at;   // agent: our last hello (monotonic)
    int64_t monitor_at; // the last heartbeat check (monotonic)
    int64_t monitor_ms; // ... and its period
    int64_t tick_at;    // the last cluster tick (monotonic)
    char sup_node[AZO_NODE_MAX_NAME + 1];
    char join[256];          // agent: the supervisor's cluster endpoint
    uint64_t stale;          // agent: frames refused for a stale epoch
    azo_node_hello_t hello;  // scratch: the last hello decoded or built
    azo_node_state_t nstate; // scratch: the last state decoded or built
    msgpack_sbuffer node_sb;

    int signal_fd; // borrowed signalfd, or -1
    bool bound[3]; // control, events, cluster: bound by us
    int64_t started_mono;
    int64_t started_wall;
    bool shutdown_asked; // the shutdown command: begin after its reply
    bool stopping;       // shutting down: actors stop newest first
    bool done;           // everything stopped: the loop ends
    bool abandoned;      // a thread actor did not stop and was left
    int exit_code;
};

static const azo_cmd_entry_t s_cmds[];
static const size_t s_ncmds;
static int s_up_send(azo_sup_t *self, uint32_t epoch, const void *frame,
                     size_t len);
static uint32_t s_epoch_of(const azo_sup_t *self, int idx);

// --- schema -----------------------------------------------------------------

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
    {"security", AZO_CFG_SECTION, NULL, 0, 0, NULL, "a section"},
    {"security/curve", AZO_CFG_BOOL, "0", 0, 0, NULL,
     "1 to require CURVE on the control, events and cluster endpoints"},
    {"security/server_cert", AZO_CFG_STR, NULL, 0, 0, NULL,
     "the node's certificate, NAME or NAME_secret (default: "
     "<data_dir>/server.cert, made on first start)"},
    {"security/clients", AZO_CFG_STR, NULL, 0, 0, NULL,
     "a directory of allowed client certificates (default: "
     "<data_dir>/clients)"},
    {"security/allow", AZO_CFG_STR, NULL, 0, 0, NULL,
     "IP addresses allowed to connect, separated by spaces or commas "
     "(default: any)"},
    {"security/deny", AZO_CFG_STR, NULL, 0, 0, NULL,
     "IP addresses refused, separated by spaces or commas"},
    {"supervisor", AZO_CFG_SECTION, NULL, 0, 0, NULL, "a section"},
    {"supervisor/strategy", AZO_CFG_ENUM, "one_for_one", 0, 0,
     "one_for_one|one_for_all|rest_for_one", "a restart strategy"},
    {"supervisor/max_restarts", AZO_CFG_INT, "10", 0, 100000, NULL,
     "restarts allowed within period"},
    {"supervisor/period", AZO_CFG_DURATION, "60s", 1000, 86400000, NULL,
     "the restart intensity window"},
    {"supervisor/request_timeout", AZO_CFG_DURATION, "10s", 10, 3600000, NULL,
     "how long a routed control request may wait for its actor"},
    {"supervisor/orphan_grace", AZO_CFG_DURATION, "60s", 1000, 86400000, NULL,
     "how long process actors keep running without a supervisor"},
    {"store", AZO_CFG_SECTION, NULL, 0, 0, NULL, "a section"},
    {"store/map_size", AZO_CFG_SIZE, "1GiB", 1 << 20, (int64_t)1 << 40, NULL,
     "the LMDB map size"},
    {"limits", AZO_CFG_SECTION, NULL, 0, 0, NULL, "a section"},
    {"limits/max_msg", AZO_CFG_SIZE, "1MiB", 1024, AZO_MP_MAX_BYTES, NULL,
     "the largest control message accepted"},
    {"limits/queue", AZO_CFG_INT, "10000", 16, 10000000, NULL,
     "messages queued per actor inbox"},
    {"limits/client_pending", AZO_CFG_INT, "1000", 1, 1000000, NULL,
     "control requests one client may have waiting for an answer"},
    {"limits/pending", AZO_CFG_INT, "10000", 1, 10000000, NULL,
     "control requests waiting for an answer, in all"},
    {"limits/pending_bytes", AZO_CFG_SIZE, "64MiB", 1 << 20, (int64_t)1 << 40,
     NULL, "bytes of control requests waiting for an answer, in all"},
    {"cluster", AZO_CFG_SECTION, NULL, 0, 0, NULL, "a section"},
    {"cluster/heartbeat", AZO_CFG_DURATION, "1s", 10, 600000, NULL,
     "how often the supervisor and its node agents hear from each other"},
    {"cluster/liveness", AZO_CFG_INT, "3", 1, 100, NULL,
     "heartbeats missed before a node (or, for an agent, the supervisor) "
     "counts as lost"},
    {"cluster/server_key", AZO_CFG_STR, NULL, 0, 0, NULL,
     "node agent with CURVE: the supervisor's public key (Z85) or a "
     "certificate file holding it"},
    {"cluster/cert", AZO_CFG_STR, NULL, 0, 0, NULL,
     "node agent with CURVE: its certificate, NAME or NAME_secret (its "
     "public key goes in the supervisor's clients directory)"},
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
    {"heartbeat", AZO_CFG_DURATION, "1s", 10, 3600000, NULL,
     "how often the actor says it is alive"},
    {"start_timeout", AZO_CFG_DURATION, "30s", 10, 3600000, NULL,
     "how long init may take before the actor counts as hung"},
    {"liveness", AZO_CFG_INT, "3", 1, 1000, NULL,
     "heartbeats missed before the actor counts as hung"},
    {"standby", AZO_CFG_BOOL, "0", 0, 0, NULL,
     "1 to keep a pre-started process ready (mode = process)"},
    {"node", AZO_CFG_STR, NULL, 0, 0, NULL,
     "the nodes it may run on, in preference order, separated by spaces or "
     "commas (default: the supervisor's node)"},
    {"failover", AZO_CFG_BOOL, NULL, 0, 0, NULL,
     "1 to restart it on the next node of its list when its node is lost "
     "(default: 1 for health-checker and mining-optimizer, 0 for actors "
     "whose state lives in their node's LMDB)"},
    {"backoff", AZO_CFG_SECTION, NULL, 0, 0, NULL, "a section"},
    {"backoff/min", AZO_CFG_DURATION, "100ms", 0, 3600000, NULL,
     "the delay of the second quick restart in a row"},
    {"backoff/max", AZO_CFG_DURATION, "30s", 0, 86400000, NULL,
     "the longest restart delay"},
    {"backoff/factor", AZO_CFG_REAL, "2", 1, 100, NULL,
     "how much each delay grows"},
    {"backoff/jitter", AZO_CFG_REAL, "0.1", 0, 1, NULL,
     "random spread of each delay, a fraction of it"},
    {"backoff/reset_after", AZO_CFG_DURATION, "10s", 0, 86400000, NULL,
     "how long a run must last to count as stable"},
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
        // An actor's own key must not shadow a child-spec key (both would
        // read the same config value): a bug of the actor's table.
        for (size_t k = 0; k < d->nkeys; k++)
            for (size_t c = 0; c < S_NCHILD; c++)
                assert(strcmp(d->keys[k].path, s_child_keys[c].path) != 0);
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

// --- helpers ----------------------------------------------------------------

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
s_publish(azo_sup_t *self, const char *topic, size_t tlen, const void *body,
          size_t len)
{
    void *raw = zsock_resolve(self->events);
    // XPUB drops for slow subscribers; never block the supervisor.
    if (zmq_send(raw, topic, tlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(raw, body, len, ZMQ_DONTWAIT) < 0)
        zsys_debug("event not sent: %s", zmq_strerror(errno));
}

// Agent: passes an event published here (by party from) up to the
// supervisor's events endpoint.
static void
s_event_up(azo_sup_t *self, int from, const char *topic, size_t tlen,
           const void *body, size_t len)
{
    if (!self->agent)
        return;
    uint8_t hdr[AZO_BUS_HDR];
    azo_bus_hdr_write(hdr, AZO_BUS_EVENT, from, AZO_REG_SUP, 0);
    msgpack_sbuffer *sb = &self->out_sb;
    msgpack_sbuffer_clear(sb);
    msgpack_sbuffer_write(sb, (const char *)hdr, sizeof hdr);
    msgpack_sbuffer_write(sb, topic, tlen);
    msgpack_sbuffer_write(sb, "", 1);
    msgpack_sbuffer_write(sb, body, len);
    (void)s_up_send(self, s_epoch_of(self, from), sb->data, sb->size);
}

static void
s_event_send(azo_sup_t *self, const char *topic)
{
    s_publish(self, topic, strlen(topic), self->ev_sb.data, self->ev_sb.size);
    s_event_up(self, AZO_REG_SUP, topic, strlen(topic), self->ev_sb.data,
               self->ev_sb.size);
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

// A random number in [0, 1) for backoff jitter (xorshift64*; jitter needs
// no more).
static double
s_random(azo_sup_t *self)
{
    uint64_t x = self->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    self->rng = x;
    return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static const char *
s_mode(const s_child_t *c)
{
    return c->process ? "process" : "thread";
}

static int64_t
s_pid(const s_child_t *c)
{
    if (!c->here)
        return 0; // not a process of this host
    if (c->process)
        return c->proc.pid;
    return c->has_thread && !c->parked ? (int64_t)getpid() : 0;
}

// --- sending to parties
// -------------------------------------------------------

// Sends an already headed frame to process actor c over the cluster
// ROUTER. Returns 0 or AZO_EUNAVAIL (not connected, or full).
static int
s_cluster_send(azo_sup_t *self, const char *ident, const void *frame,
               size_t len)
{
    void *raw = zsock_resolve(self->cluster);
    // ROUTER_MANDATORY: an unknown identity fails here, not silently.
    if (zmq_send(raw, ident, strlen(ident), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return AZO_EUNAVAIL;
    if (zmq_send(raw, frame, len, ZMQ_DONTWAIT) < 0)
        return AZO_EUNAVAIL;
    return 0;
}

// Sends [epoch][frame] to node agent n. Returns 0 or AZO_EUNAVAIL (not up,
// or full).
static int
s_node_send(azo_sup_t *self, const s_node_t *n, uint32_t epoch,
            const void *frame, size_t len)
{
    if (n->state != S_NODE_UP)
        return AZO_EUNAVAIL;
    void *raw = zsock_resolve(self->cluster);
    uint8_t ep[AZO_NODE_EPOCH_LEN];
    azo_node_epoch_write(ep, epoch);
    if (zmq_send(raw, n->ident, n->idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(raw, ep, sizeof ep, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(raw, frame, len, ZMQ_DONTWAIT) < 0)
        return AZO_EUNAVAIL;
    return 0;
}

// Agent: sends [epoch][frame] to the supervisor. Returns 0 or AZO_EUNAVAIL
// (not connected, or full).
static int
s_up_send(azo_sup_t *self, uint32_t epoch, const void *frame, size_t len)
{
    void *raw = zsock_resolve(self->uplink);
    uint8_t ep[AZO_NODE_EPOCH_LEN];
    azo_node_epoch_write(ep, epoch);
    if (zmq_send(raw, ep, sizeof ep, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(raw, frame, len, ZMQ_DONTWAIT) < 0)
        return AZO_EUNAVAIL;
    return 0;
}

// The epoch of party idx's instance here (0: the node itself, or not an
// actor of ours).
static uint32_t
s_epoch_of(const azo_sup_t *self, int idx)
{
    const s_child_t *c =
        idx > AZO_REG_SUP && idx < AZO_REG_MAX ? self->by_idx[idx] : NULL;
    return c ? c->epoch : 0;
}

// Heads body as a frame from the supervisor into out_sb.
static void
s_frame(azo_sup_t *self, char kind, int to, uint64_t token, const void *body,
        size_t len)
{
    uint8_t hdr[AZO_BUS_HDR];
    azo_bus_hdr_write(hdr, kind, AZO_REG_SUP, to, token);
    msgpack_sbuffer_clear(&self->out_sb);
    msgpack_sbuffer_write(&self->out_sb, (const char *)hdr, sizeof hdr);
    if (len)
        msgpack_sbuffer_write(&self->out_sb, body, len);
}

// Sends a frame from the supervisor to party to, wherever it runs.
// Returns 0, AZO_ENOTFOUND or AZO_EUNAVAIL.
static int
s_send(azo_sup_t *self, int to, char kind, uint64_t token, const void *body,
       size_t len)
{
    s_child_t *c =
        to > AZO_REG_SUP && to < AZO_REG_MAX ? self->by_idx[to] : NULL;
    if (self->agent && to == self->up_idx) {
        s_frame(self, kind, AZO_REG_SUP, token, body, len);
        return s_up_send(self, 0, self->out_sb.data, self->out_sb.size);
    }
    if (c && !c->here) {
        // Agent: only its own actors are reachable from its supervisor.
        if (self->agent || c->at < 0 || c->state != S_RUNNING)
            return AZO_EUNAVAIL;
        s_frame(self, kind, to, token, body, len);
        return s_node_send(self, &self->nodes[c->at], c->epoch,
                           self->out_sb.data, self->out_sb.size);
    }
    if (c && c->process) {
        if (!c->connected || c->state != S_RUNNING)
            return AZO_EUNAVAIL;
        s_frame(self, kind, to, token, body, len);
        return s_cluster_send(self, c->ident, self->out_sb.data,
                              self->out_sb.size);
    }
    return azo_bus_send(self->bus, to, kind, token, body, len, 0);
}

// Sends a lifecycle frame to a process (active or standby) by identity.
static void
s_send_life(azo_sup_t *self, s_child_t *c, const char *ident, azo_life_ev_t ev)
{
    azo_life_t life = {.ev = ev, .gen = c->gen, .pid = (int64_t)getpid()};
    azo_life_pack(&self->life_sb, &life);
    s_frame(self, AZO_BUS_LIFE, c->idx, 0, self->life_sb.data,
            self->life_sb.size);
    (void)s_cluster_send(self, ident, self->out_sb.data, self->out_sb.size);
}

// Builds in out_sb the error reply (code rc, message why) to request m,
// headed as if from the intended receiver, so that the caller's
// bookkeeping (token, peer) holds.
static void
s_error_frame(azo_sup_t *self, const azo_bus_msg_t *m, int rc, const char *why)
{
    azo_reply_t r;
    azo_reply_init(&r);
    azo_reply_start(&r, false, 0); // the token, not the id, matches it
    azo_reply_fail(&r, rc, "%s", why);
    size_t len;
    const void *data = azo_reply_data(&r, &len);
    uint8_t hdr[AZO_BUS_HDR];
    azo_bus_hdr_write(hdr, AZO_BUS_REPLY, m->to, m->from, m->token);
    msgpack_sbuffer_clear(&self->out_sb);
    msgpack_sbuffer_write(&self->out_sb, (const char *)hdr, sizeof hdr);
    msgpack_sbuffer_write(&self->out_sb, data, len);
    azo_reply_fini(&r);
}

// Answers request m (from an actor, to party m->to) with unavailable on
// behalf of a receiver that cannot take it.
static void
s_refuse(azo_sup_t *self, const azo_bus_msg_t *m, const char *why)
{
    if (m->kind != AZO_BUS_REQUEST)
        return; // one-way and replies are simply dropped
    s_error_frame(self, m, AZO_EUNAVAIL, why);
    s_child_t *c = m->from > AZO_REG_SUP && m->from < AZO_REG_MAX
                       ? self->by_idx[m->from]
                       : NULL;
    if (self->agent && (m->from == self->up_idx || (c && !c->here))) {
        // To the supervisor's side, as from this node: it routes by `to`.
        uint8_t *h = (uint8_t *)self->out_sb.data;
        azo_bus_hdr_write(h, AZO_BUS_REPLY, AZO_REG_SUP,
                          m->from == self->up_idx ? AZO_REG_SUP : m->from,
                          m->token);
        (void)s_up_send(self, 0, self->out_sb.data, self->out_sb.size);
    } else if (c && !c->here) {
        if (c->at >= 0)
            (void)s_node_send(self, &self->nodes[c->at], c->epoch,
                              self->out_sb.data, self->out_sb.size);
    } else if (c && c->process) {
        if (c->connected)
            (void)s_cluster_send(self, c->ident, self->out_sb.data,
                                 self->out_sb.size);
    } else
        (void)azo_bus_forward(self->bus, m->from, self->out_sb.data,
                              self->out_sb.size);
}

// Passes frame (from a party, headed) on to its receiver m->to, or refuses
// it.
static void
s_forward(azo_sup_t *self, const azo_bus_msg_t *m, const void *frame,
          size_t len)
{
    s_child_t *c = m->to > AZO_REG_SUP && m->to < azo_registry_size(self->reg)
                       ? self->by_idx[m->to]
                       : NULL;
    if (self->agent && (m->to == self->up_idx || (c && !c->here))) {
        // Not on this node: up to the supervisor, which knows where.
        s_child_t *from = m->from > AZO_REG_SUP && m->from < AZO_REG_MAX
                              ? self->by_idx[m->from]
                              : NULL;
        if (from && !from->here)
            return; // a stale instance on its way out
        msgpack_sbuffer_clear(&self->out_sb);
        msgpack_sbuffer_write(&self->out_sb, frame, len);
        if (m->to == self->up_idx)
            azo_bus_hdr_write(self->out_sb.data, m->kind, m->from, AZO_REG_SUP,
                              m->token);
        if (s_up_send(self, s_epoch_of(self, m->from), self->out_sb.data,
                      self->out_sb.size) < 0)
            s_refuse(self, m, "the supervisor cannot be reached");
        return;
    }
    int rc = AZO_EUNAVAIL;
    bool running = c && c->state == S_RUNNING;
    if (running && !c->here) {
        rc = c->at >= 0
                 ? s_node_send(self, &self->nodes[c->at], c->epoch, frame, len)
                 : AZO_EUNAVAIL;
    } else if (running) {
        if (c->process)
            rc = c->connected ? s_cluster_send(self, c->ident, frame, len)
                              : AZO_EUNAVAIL;
        else
            rc = azo_bus_forward(self->bus, m->to, frame, len);
    }
    if (rc < 0) {
        char why[128];
        const char *name = m->to < azo_registry_size(self->reg)
                               ? azo_registry_name(self->reg, m->to)
                               : "that actor";
        snprintf(why, sizeof why,
                 !running                      ? "%s is not running"
                 : c->process && !c->connected ? "%s is not connected"
                                               : "%s cannot take messages now "
                                                 "(full)",
                 name);
        s_refuse(self, m, why);
    }
}

// Sends ctx's reply to whoever asked: a control client (from == SUP, token
// = control seq) or an actor.
static void
s_reply(azo_sup_t *self, azo_cmd_ctx_t *ctx)
{
    size_t len;
    const void *data = azo_reply_data(&ctx->reply, &len);
    if (!data)
        return;
    if (ctx->from == AZO_REG_SUP)
        azo_ctl_reply(self->ctl, ctx->token, data, len);
    else
        (void)s_send(self, ctx->from, AZO_BUS_REPLY, ctx->token, data, len);
}

// --- the store's record of process actors
// ---------------------------------------

// Records (or with pid 0 forgets) the process of c, so that a supervisor
// started after a crash of this one can adopt it. The records live in a
// store of their own whose commits are not synced: they must survive a
// crash of azod, not of the machine (which would end the actors too), and
// a restart must not wait for the disk.
static void
s_record(azo_sup_t *self, s_child_t *c)
{
    char key[64];
    snprintf(key, sizeof key, "proc/%s", c->def->name);
    int rc;
    if (c->proc.pid > 0) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 3);
        azo_pack_kint(&pk, "pid", c->proc.pid);
        azo_pack_kuint(&pk, "start_time", c->proc.start_time);
        azo_pack_kuint(&pk, "gen", c->gen);
        azo_txn_t *txn = NULL;
        rc = azo_store_begin(self->run, true, &txn);
        if (rc == 0)
            rc = azo_txn_put_mp(txn, self->run_db, key, strlen(key), &sb);
        if (rc == 0)
            rc = azo_store_commit(&txn);
        azo_store_abort(&txn);
        msgpack_sbuffer_destroy(&sb);
    } else {
        rc = azo_store_del(self->run, self->run_db, key, strlen(key));
        if (rc == AZO_ENOTFOUND)
            rc = 0;
    }
    if (rc < 0)
        zsys_warning("cannot record the process of %s: %s (a restarted "
                     "supervisor may not adopt it)",
                     c->def->name, azo_err_str(rc));
}

// --- children
// -----------------------------------------------------------------

static void s_child_spawn(s_child_t *c, bool restart);
static void s_child_stop(s_child_t *c);
static void s_escalate(azo_sup_t *self, const char *why);
static void s_shutdown_next(azo_sup_t *self);
static void s_boot_next(azo_sup_t *self);
static void s_plan_begin(azo_sup_t *self, s_child_t *failed, int64_t delay);
static void s_plan_next(azo_sup_t *self);
static int s_on_pidfd(zloop_t *loop, zmq_pollitem_t *item, void *arg);
static void s_standby_spawn(s_child_t *c);
static int s_on_standby_timer(zloop_t *loop, int timer_id, void *arg);
static void s_activate(s_child_t *c);
static void s_agent_hello(azo_sup_t *self);
static void s_on_remote_event(azo_sup_t *self, const azo_bus_msg_t *m);
static void s_on_sup_frame(azo_sup_t *self, const azo_bus_msg_t *m);
static void s_place(s_child_t *c, int to, const char *reason);
static const char *s_where(const s_child_t *c);

// True while an instance runs (a parked thread has none).
static bool
s_live(const s_child_t *c)
{
    return (c->has_thread && !c->parked) || c->proc.pid > 0 ||
           c->activate_pending;
}

// Lets a parked thread go: it frees its resources and ends.
static void
s_unpark(s_child_t *c)
{
    if (!c->parked)
        return;
    (void)zstr_send(c->pipe, "STOP");
    zsock_destroy(&c->pipe);
    pthread_join(c->thread, NULL); // it ends at once
    c->has_thread = false;
    c->parked = false;
}

static void
s_child_info(s_child_t *c, msgpack_packer *pk)
{
    int64_t now = s_now();
    int64_t up = c->state != S_RUNNING ? 0
                 : !c->here            ? c->r_uptime
                                       : now - c->started_mono;
    // The health-checker judges heartbeat freshness by hb_age_ms against
    // heartbeat_ms x liveness; without an instance there is no age.
    bool alive = c->state == S_STARTING || c->state == S_RUNNING;
    bool remote = !c->here && !c->sup->agent;
    msgpack_pack_map(pk, 18);
    azo_pack_kstr(pk, "name", c->def->name);
    azo_pack_kstr(pk, "mode", remote && c->r_mode[0] ? c->r_mode : s_mode(c));
    azo_pack_kstr(pk, "node", s_where(c));
    azo_pack_kuint(pk, "epoch", c->epoch);
    azo_pack_kint(pk, "remote_pid", remote ? c->r_pid : 0);
    azo_pack_kstr(pk, "state", s_state_names[c->state]);
    azo_pack_kint(pk, "pid", s_pid(c));
    azo_pack_kint(pk, "uptime_ms", up);
    azo_pack_kuint(pk, "restarts", c->restarts);
    azo_pack_kuint(pk, "gen", c->gen);
    azo_pack_kstr(pk, "last_exit", c->last_exit[0] ? c->last_exit : NULL);
    azo_pack_kint(pk, "backoff_ms", c->backoff_ms);
    azo_pack_kint(pk, "standby", c->sb_ready ? c->standby.pid : 0);
    azo_pack_kbool(pk, "adopted", c->adopted);
    azo_pack_kint(pk, "tid", c->tid);
    azo_pack_kint(pk, "hb_age_ms", alive ? now - c->last_hb : -1);
    azo_pack_kint(pk, "heartbeat_ms", c->heartbeat_ms);
    azo_pack_kint(pk, "liveness", c->liveness);
}

// Answers the lifecycle requests waiting on c whose wish is now met, or,
// with failure, can no longer be.
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

// The delay before an automatic restart: none for the first failure after
// a stable run, then min, growing by factor up to max, with jitter.
static int64_t
s_backoff_next(s_child_t *c, int64_t uptime)
{
    if (uptime >= c->bo_reset)
        c->crashes = 0;
    c->crashes++;
    if (c->crashes == 1)
        return 0;
    double d = (double)c->bo_min;
    for (int i = 2; i < c->crashes && d < (double)c->bo_max; i++)
        d *= c->bo_factor;
    d *= 1.0 + c->bo_jitter * (2.0 * s_random(c->sup) - 1.0);
    if (d > (double)c->bo_max)
        d = (double)c->bo_max; // max is the longest delay, jitter or not
    return d < 0 ? 0 : (int64_t)d;
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
    // Newest first: the ring is in time order, so stop at the first one
    // outside the period.
    int recent = 0;
    for (int k = 1; k <= self->restart_count; k++) {
        int i = (self->restart_head - k + cap) % cap;
        if (now - self->restart_times[i] >= self->period_ms)
            break;
        recent++;
    }
    return recent <= self->max_restarts;
}

static int
s_on_restart_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    s_child_t *c = arg;
    c->restart_timer = -1;
    if (c->state == S_BACKOFF)
        s_child_spawn(c, true);
    return c->sup->done ? -1 : 0;
}

// Announces the end of c's instance (generation c->gen): the
// sup.actor.exited event (restart_in_ms: delay, or nil when delay < 0)
// and a log line, a warning when loud.
static void
s_exited_event(s_child_t *c, const char *reason, const char *detail,
               int64_t pid, int64_t uptime, int64_t delay, bool loud)
{
    msgpack_packer *pk = s_event(c->sup, 7);
    azo_pack_kstr(pk, "actor", c->def->name);
    azo_pack_kstr(pk, "reason", reason);
    azo_pack_kstr(pk, "detail", detail);
    azo_pack_kuint(pk, "gen", c->gen);
    azo_pack_kint(pk, "pid", pid);
    azo_pack_kint(pk, "uptime_ms", uptime);
    azo_pack_str(pk, "restart_in_ms");
    if (delay >= 0)
        msgpack_pack_int64(pk, delay);
    else
        msgpack_pack_nil(pk);
    s_event_send(c->sup, "sup.actor.exited");
    if (loud)
        zsys_warning("actor %s exited (%s): %s", c->def->name, reason, detail);
    else
        zsys_info("actor %s exited (%s): %s", c->def->name, reason, detail);
}

// Announces generation c->gen as a restart (sup.actor.restarted).
static void
s_restarted_event(s_child_t *c)
{
    msgpack_packer *pk = s_event(c->sup, 4);
    azo_pack_kstr(pk, "actor", c->def->name);
    azo_pack_kuint(pk, "gen", c->gen);
    azo_pack_kuint(pk, "restarts", c->restarts);
    azo_pack_kint(pk, "delay_ms", c->backoff_ms);
    s_event_send(c->sup, "sup.actor.restarted");
}

// The instance of c has ended: its thread joined (or abandoned), or its
// process reaped. detail says what happened in words; how is the process
// status ("exit 3", "signal 9") or NULL for a thread; failed whether it
// ended in failure. Decides what comes next.
static void
s_child_ended(s_child_t *c, int64_t pid, const char *detail, const char *how,
              bool failed)
{
    azo_sup_t *self = c->sup;
    int64_t uptime = c->started_mono ? s_now() - c->started_mono : 0;
    bool was_starting = c->state == S_STARTING;
    failed = failed || c->hung;
    const char *reason = c->hung             ? "hung"
                         : self->stopping    ? "shutdown"
                         : c->stop_requested ? "stopped"
                         : !failed           ? "normal"
                         : how               ? how
                                             : "failed";
    if (self->stopping || c->stop_requested)
        failed = c->hung; // asked to stop: the way it stopped is no fault
    snprintf(c->last_exit, sizeof c->last_exit, "%s: %s", reason, detail);
    azo_registry_set_down(self->reg, c->idx);
    if (self->agent && !c->here) {
        // It runs elsewhere now: frames for it go up to the supervisor.
        azo_registry_set_remote(self->reg, c->idx, true);
        azo_registry_set_up(self->reg, c->idx, 0);
    }
    s_child_cancel_timers(c);
    c->state = S_STOPPED;
    c->stop_requested = false;
    c->hung = false;
    c->adopted = false;
    c->tid = 0;

    // Decide before announcing, so that the event can say when it restarts.
    bool restart = false, escalate = false;
    int64_t delay = 0;
    if (!self->stopping && c->after_exit == S_AFTER_POLICY && c->want_running &&
        (c->policy == S_RESTART_PERMANENT ||
         (c->policy == S_RESTART_TRANSIENT && failed))) {
        restart = s_intensity_ok(self);
        escalate = !restart;
        if (restart)
            delay = s_backoff_next(c, uptime);
    }
    s_exited_event(c, reason, detail, pid, uptime, restart ? delay : -1,
                   failed || self->abandoned);
    azo_ctl_fail_handler(self->ctl, c->def->name, "exited");
    if (self->agent)
        s_agent_hello(self); // the supervisor mirrors our actors
    if (c->move_to != S_NOWHERE && !self->stopping) {
        // Stopped to move: it starts on its new node now.
        s_unpark(c);
        c->after_exit = S_AFTER_POLICY;
        s_place(c, c->move_to, c->move_reason);
        return;
    }

    if (self->stopping) {
        s_unpark(c);
        s_shutdown_next(self);
        return;
    }
    s_child_notify(c, NULL); // a stop that was asked for is done
    s_after_t after = c->after_exit;
    c->after_exit = S_AFTER_POLICY;
    if (after == S_AFTER_PLAN) {
        s_plan_next(self);
        return;
    }
    if (after == S_AFTER_START || after == S_AFTER_RESTART) {
        c->backoff_ms = 0; // asked for: no delay
        s_child_spawn(c, after == S_AFTER_RESTART);
        return;
    }
    if (escalate) {
        s_unpark(c);
        char why[200];
        snprintf(why, sizeof why,
                 "more than %d restarts within %lld ms (last: %s)",
                 self->max_restarts, (long long)self->period_ms, c->def->name);
        s_escalate(self, why);
        return;
    }
    if (!restart) {
        s_unpark(c); // no instance to come: let the thread go
        c->want_running = false;
        c->state = failed ? S_FAILED : S_STOPPED;
        if (failed) {
            msgpack_packer *pk = s_event(self, 2);
            azo_pack_kstr(pk, "actor", c->def->name);
            azo_pack_kstr(pk, "reason", c->last_exit);
            s_event_send(self, "sup.actor.gave_up");
        }
        s_child_notify(c, was_starting ? c->last_exit : "stopped");
        if (self->plan.active)
            s_plan_next(self);
        return;
    }
    if (was_starting)
        s_child_notify(c, c->last_exit); // the start it was in failed
    c->backoff_ms = delay;
    if (self->plan.active) {
        // A failure during a group restart is handled when it ends.
        self->plan.requeue[c->order] = true;
        c->state = S_BACKOFF;
        s_plan_next(self);
        return;
    }
    if (self->strategy != S_ONE_FOR_ONE) {
        s_plan_begin(self, c, delay);
        return;
    }
    if (delay == 0) {
        s_child_spawn(c, true);
        return;
    }
    c->state = S_BACKOFF;
    c->restart_timer =
        zloop_timer(self->loop, (size_t)delay, 1, s_on_restart_timer, c);
}

// READY (or, for an adopted process, its first heartbeat): c takes
// messages now.
static void
s_child_ready(s_child_t *c)
{
    azo_sup_t *self = c->sup;
    c->state = S_RUNNING;
    c->last_hb = s_now();
    azo_registry_set_up(self->reg, c->idx, c->process ? c->gen : c->inbox_gen);
    // A thread may restart itself at once if it fails, when its policy
    // would: one_for_one, not temporary, and no backoff due (the first
    // failure, or one after reset_after). The accounting follows its EXIT.
    if (!c->process && c->pipe && !self->stopping &&
        self->strategy == S_ONE_FOR_ONE && c->policy != S_RESTART_TEMPORARY)
        (void)zstr_sendf(c->pipe, "TICKET %lld",
                         (long long)(c->crashes == 0 ? 0 : c->bo_reset));
    msgpack_packer *pk = s_event(self, 5);
    azo_pack_kstr(pk, "actor", c->def->name);
    azo_pack_kstr(pk, "mode", s_mode(c));
    azo_pack_kuint(pk, "gen", c->gen);
    azo_pack_kint(pk, "pid", s_pid(c));
    azo_pack_kbool(pk, "adopted", c->adopted);
    s_event_send(self, "sup.actor.started");
    s_child_notify(c, NULL);
    if (self->agent)
        s_agent_hello(self);
    // The next standby comes a moment later: first serve what waits for
    // this instance.
    if (c->process && c->use_standby && c->standby.pid == 0 &&
        c->standby_timer < 0)
        c->standby_timer = zloop_timer(self->loop, S_STANDBY_DELAY_MS, 1,
                                       s_on_standby_timer, c);
    if (self->boot_next >= 0)
        s_boot_next(self);
    if (self->plan.active)
        s_plan_next(self);
}

// --- process actors' processes
// ------------------------------------------------

static int
s_watch(azo_sup_t *self, s_child_t *c, int pidfd)
{
    zmq_pollitem_t item = {NULL, pidfd, ZMQ_POLLIN, 0};
    return zloop_poller(self->loop, &item, s_on_pidfd, c);
}

static void
s_unwatch(azo_sup_t *self, int pidfd)
{
    zmq_pollitem_t item = {NULL, pidfd, ZMQ_POLLIN, 0};
    zloop_poller_end(self->loop, &item);
}

// Starts `azod --actor NAME ...` for c: the instance (gen) or a standby.
static int
s_proc_start(s_child_t *c, azo_proc_t *proc, bool standby)
{
    azo_sup_t *self = c->sup;
    char gen[16];
    snprintf(gen, sizeof gen, "%u", standby ? 0 : c->gen); // set at ACTIVATE
    char *argv[] = {self->exe,
                    "--actor",
                    (char *)c->def->name,
                    "--gen",
                    gen,
                    "--node",
                    self->node,
                    "--cluster",
                    self->cluster_connect,
                    "-c",
                    self->effective_cfg,
                    standby ? "--standby" : NULL,
                    NULL};
    int rc = azo_proc_spawn(proc, self->exe, argv);
    if (rc < 0)
        return rc;
    if (s_watch(self, c, proc->pidfd) < 0) {
        (void)azo_proc_signal(proc, SIGKILL);
        char how[32];
        bool failed;
        // The pidfd is ours: wait for it here, it ends at once.
        zmq_pollitem_t item = {NULL, proc->pidfd, ZMQ_POLLIN, 0};
        (void)zmq_poll(&item, 1, 1000);
        (void)azo_proc_reap(proc, how, sizeof how, &failed);
        return AZO_EINTERNAL;
    }
    return 0;
}

// Turns c's ready standby into its running instance (generation c->gen).
static void
s_activate(s_child_t *c)
{
    azo_sup_t *self = c->sup;
    c->activate_pending = false;
    c->proc = c->standby;
    azo_proc_init(&c->standby);
    snprintf(c->ident, sizeof c->ident, "%s", c->sb_ident);
    c->connected = true;
    c->sb_ready = false;
    s_send_life(self, c, c->ident, AZO_LIFE_ACTIVATE);
    s_record(self, c);
}

static void
s_standby_spawn(s_child_t *c)
{
    if (c->standby.pid > 0 || c->sup->stopping)
        return;
    c->sb_ready = false;
    int rc = s_proc_start(c, &c->standby, true);
    if (rc < 0)
        zsys_warning("cannot start a standby for %s: %s", c->def->name,
                     azo_err_str(rc));
}

static int
s_on_standby_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    s_child_t *c = arg;
    c->standby_timer = -1;
    if (c->state == S_RUNNING)
        s_standby_spawn(c);
    return 0;
}

static int
s_on_pidfd(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    s_child_t *c = arg;
    azo_sup_t *self = c->sup;
    int fd = item->fd;
    bool active = fd == c->proc.pidfd;
    azo_proc_t *proc = active ? &c->proc : &c->standby;
    if (fd != proc->pidfd)
        return 0; // stale
    char how[32];
    bool failed;
    int64_t pid = proc->pid;
    bool ours = proc->child; // an adopted process's status went elsewhere
    s_unwatch(self, fd);
    if (azo_proc_reap(proc, how, sizeof how, &failed) == -EAGAIN) {
        (void)s_watch(self, c, fd); // spurious: keep watching
        return 0;
    }
    if (!active) {
        // The standby went away: replace it later, unless we are leaving.
        c->sb_ready = false;
        if (self->stopping)
            s_shutdown_next(self);
        else if (c->activate_pending && c->state == S_STARTING) {
            // It was to become the instance: start one the slow way.
            c->activate_pending = false;
            c->connected = false;
            if (s_proc_start(c, &c->proc, false) == 0)
                s_record(self, c);
            else
                s_child_ended(c, 0, "cannot start", NULL, true);
        } else if (c->state == S_RUNNING && c->use_standby &&
                   c->standby_timer < 0)
            c->standby_timer = zloop_timer(self->loop, S_STANDBY_RETRY_MS, 1,
                                           s_on_standby_timer, c);
        return self->done ? -1 : 0;
    }
    c->connected = false;
    s_record(self, c); // proc.pid is 0 now: forget it
    char detail[sizeof c->exit_detail + sizeof how + 4];
    if (c->exit_reported)
        snprintf(detail, sizeof detail, "%s (%s)", c->exit_detail, how);
    else
        snprintf(detail, sizeof detail, "%s", how);
    if (c->exit_reported)
        failed = ours ? failed || c->exit_failed : c->exit_failed;
    s_child_ended(c, pid, detail, how, failed);
    return self->done ? -1 : 0;
}

// --- starting and stopping
// ------------------------------------------------------

static void
s_child_spawn(s_child_t *c, bool restart)
{
    azo_sup_t *self = c->sup;
    c->gen++;
    if (restart)
        c->restarts++; // counted when it happens, not when planned
    c->state = S_STARTING;
    c->started_mono = c->last_hb = s_now();
    c->tid = 0;
    c->stop_requested = c->hung = c->adopted = false;
    c->exit_reported = c->exit_failed = false;
    c->exit_detail[0] = 0;
    c->activate_pending = false;
    c->inbox_gen = c->gen; // a thread binds a fresh inbox
    if (restart)
        s_restarted_event(c);
    int rc = 0;
    bool in_place = false;
    if (!c->process && c->parked) {
        // Restart in place: the same thread, a fresh loop and inbox.
        char gen[16];
        snprintf(gen, sizeof gen, "%u", c->gen);
        in_place = zstr_sendx(c->pipe, "RESTART", gen, NULL) == 0;
        if (in_place)
            c->parked = false;
        else
            s_unpark(c); // cannot reach it: a new thread, then
    }
    if (in_place) {
        // the parked thread runs the new instance
    } else if (!c->process) {
        char key[128];
        snprintf(key, sizeof key, "actors/%s/heartbeat", c->def->name);
        azo_actor_env_t env = {.def = c->def,
                               .reg = self->reg,
                               .idx = c->idx,
                               .gen = c->gen,
                               .store = self->store,
                               .cfg = self->cfg,
                               .node = self->node,
                               .hwm = self->hwm,
                               .heartbeat_ms = c->heartbeat_ms};
        rc = azo_actor_spawn(&env, &c->pipe, &c->thread);
        if (rc == 0) {
            c->has_thread = true;
            zsock_set_sndtimeo(c->pipe, 0);
        }
    } else if (c->standby.pid > 0 && c->sb_ready) {
        s_activate(c); // the fast way: started, connected and waiting
    } else if (c->standby.pid > 0) {
        c->activate_pending = true; // as soon as it says it is ready
    } else {
        c->connected = false;
        rc = s_proc_start(c, &c->proc, false);
        if (rc == 0)
            s_record(self, c);
    }
    // A thread takes replies from now on (its inbox for inbox_gen is bound
    // before its init runs): an answer to a request its init sends must not
    // be refused for arriving before READY.
    if (rc == 0 && !c->process)
        azo_registry_set_starting(self->reg, c->idx, c->inbox_gen);
    if (rc < 0) {
        // Out of threads, processes or memory: like a failed start.
        zsys_error("cannot start actor %s: %s", c->def->name, azo_err_str(rc));
        s_child_ended(c, 0, "cannot start", NULL, true);
    }
}

static int
s_on_stop_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    s_child_t *c = arg;
    azo_sup_t *self = c->sup;
    c->stop_timer = -1;
    if (c->state != S_STOPPING)
        return 0;
    if (c->process) {
        zsys_warning("actor %s did not stop within %lld ms; killing it",
                     c->def->name, (long long)c->shutdown_ms);
        snprintf(c->exit_detail, sizeof c->exit_detail,
                 "did not stop within %lld ms; killed",
                 (long long)c->shutdown_ms);
        c->exit_reported = true;
        (void)azo_proc_signal(&c->proc, SIGKILL); // its pidfd goes on
        return 0;
    }
    // A thread cannot be killed safely: abandon it (its generation's inbox
    // stays with it) and carry on as if it had ended.
    zsys_error("actor %s did not stop within %lld ms; abandoning its thread",
               c->def->name, (long long)c->shutdown_ms);
    zsock_destroy(&c->pipe);
    pthread_detach(c->thread);
    c->has_thread = false;
    self->abandoned = true;
    s_child_ended(c, getpid(), "did not stop in time; thread abandoned", NULL,
                  true);
    return self->done ? -1 : 0;
}

// Asks c to stop; its end (or the stop timer) continues the story.
static void
s_child_stop(s_child_t *c)
{
    azo_sup_t *self = c->sup;
    if (c->state == S_BACKOFF) {
        s_child_cancel_timers(c);
        s_unpark(c);
        c->state = S_STOPPED;
        return;
    }
    if (!s_live(c) || c->state == S_STOPPING)
        return;
    azo_registry_set_down(self->reg, c->idx);
    c->stop_requested = true;
    c->state = S_STOPPING;
    if (c->activate_pending) {
        // Its process is not ready yet: it never started. The waiting
        // process stays, as a standby for the next start.
        c->activate_pending = false;
        s_child_ended(c, 0, "stopped before it was ready", NULL, false);
        return;
    }
    if (c->process) {
        if (c->connected)
            s_send_life(self, c, c->ident, AZO_LIFE_TERM);
        (void)azo_proc_signal(&c->proc, SIGTERM);
    } else if (zstr_send(c->pipe, "$TERM") < 0)
        zsys_warning("cannot signal actor %s", c->def->name);
    c->stop_timer =
        zloop_timer(self->loop, (size_t)c->shutdown_ms, 1, s_on_stop_timer, c);
}

// Starts in config order, one at a time: each actor's init has finished
// (or failed) before the next begins. Actors already started by a command
// or adopted are skipped.
static void
s_boot_next(azo_sup_t *self)
{
    if (self->stopping) {
        self->boot_next = -1;
        return;
    }
    for (; self->boot_next < self->nchildren; self->boot_next++) {
        s_child_t *c = &self->children[self->boot_next];
        if (c->gen == 0 && c->want_running && c->here)
            s_child_spawn(c, false);
        if (c->state == S_STARTING)
            return; // its READY or end calls us again
    }
    self->boot_next = -1;
}

// --- group restarts
// -----------------------------------------------------------

static int
s_on_plan_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    azo_sup_t *self = arg;
    self->plan.timer = -1;
    self->plan.phase = S_PLAN_START;
    self->plan.cursor = 0;
    s_plan_next(self);
    return self->done ? -1 : 0;
}

// Restarts failed (already ended) together with the children its strategy
// ties to it: one_for_all every running child, rest_for_one those started
// after it. They stop newest first, then all start again oldest first
// after the failed child's backoff delay.
static void
s_plan_begin(azo_sup_t *self, s_child_t *failed, int64_t delay)
{
    s_plan_t *p = &self->plan;
    memset(p, 0, sizeof *p);
    p->active = true;
    p->timer = -1;
    p->delay_ms = delay;
    p->phase = S_PLAN_STOP;
    p->cursor = self->nchildren - 1;
    int n = 0;
    for (int i = 0; i < self->nchildren; i++) {
        s_child_t *m = &self->children[i];
        bool tied = self->strategy == S_ONE_FOR_ALL || m->order > failed->order;
        bool alive = m->state == S_RUNNING || m->state == S_STARTING ||
                     m->state == S_BACKOFF;
        if (m != failed && !(m->want_running && tied && alive))
            continue;
        p->member[i] = true;
        n++;
        if (m == failed)
            continue;
        m->after_exit = S_AFTER_PLAN;
        m->backoff_ms = delay;
        if (m->state == S_BACKOFF) {
            s_child_cancel_timers(m);
            m->state = S_STOPPED;
        }
    }
    failed->state = S_BACKOFF;
    zsys_info("%s: restarting %d actor%s after %s failed",
              self->strategy == S_ONE_FOR_ALL ? "one_for_all" : "rest_for_one",
              n, n == 1 ? "" : "s", failed->def->name);
    s_plan_next(self);
}

static void
s_plan_next(azo_sup_t *self)
{
    s_plan_t *p = &self->plan;
    if (!p->active || self->stopping)
        return;
    if (p->phase == S_PLAN_STOP) {
        for (; p->cursor >= 0; p->cursor--) {
            s_child_t *m = &self->children[p->cursor];
            if (!p->member[p->cursor] || !s_live(m))
                continue;
            if (m->state != S_STOPPING) {
                m->after_exit = S_AFTER_PLAN;
                s_child_stop(m);
            }
            return; // its end calls us again
        }
        p->phase = S_PLAN_WAIT;
        if (p->delay_ms > 0) {
            p->timer = zloop_timer(self->loop, (size_t)p->delay_ms, 1,
                                   s_on_plan_timer, self);
            return;
        }
        p->phase = S_PLAN_START;
        p->cursor = 0;
    }
    if (p->phase != S_PLAN_START)
        return; // waiting for the timer
    for (; p->cursor < self->nchildren; p->cursor++) {
        s_child_t *m = &self->children[p->cursor];
        if (!p->member[p->cursor] || p->requeue[p->cursor])
            continue;
        if (m->state == S_STARTING)
            return; // its READY or end calls us again
        if (m->state == S_RUNNING)
            continue; // started by this plan
        if (m->policy == S_RESTART_TEMPORARY) {
            m->want_running = false; // temporary children stay down
            m->state = S_STOPPED;
            continue;
        }
        s_child_spawn(m, true);
        if (m->state == S_STARTING)
            return;
    }
    p->active = false;
    // Failures during the plan: one new plan, from the earliest of them
    // (it takes in those after it, or all). Intensity counted each.
    for (int i = 0; i < self->nchildren; i++)
        if (p->requeue[i]) {
            s_child_t *c = &self->children[i];
            s_plan_begin(self, c, c->backoff_ms);
            return;
        }
}

// --- shutdown and escalation
// --------------------------------------------------

// Stops the actor started last that still runs; its end calls us again.
// When none is left (standbys included), the loop ends.
static void
s_shutdown_next(azo_sup_t *self)
{
    for (int i = self->nchildren - 1; i >= 0; i--) {
        s_child_t *c = &self->children[i];
        if (s_live(c)) {
            if (c->state != S_STOPPING)
                s_child_stop(c);
            return;
        }
    }
    for (int i = 0; i < self->nchildren; i++)
        if (self->children[i].standby.pid > 0)
            return; // SIGTERM sent; its pidfd calls us again
    self->done = true;
}

static int
s_on_standby_kill(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    s_child_t *c = arg;
    c->standby_timer = -1;
    if (c->standby.pid > 0) {
        zsys_warning("the standby of %s did not stop within %lld ms; "
                     "killing it",
                     c->def->name, (long long)c->shutdown_ms);
        (void)azo_proc_signal(&c->standby, SIGKILL); // its pidfd goes on
    }
    return 0;
}

static void
s_shutdown_begin(azo_sup_t *self)
{
    if (self->stopping)
        return;
    self->stopping = true;
    self->boot_next = -1;
    if (self->plan.active && self->plan.timer >= 0)
        zloop_timer_end(self->loop, self->plan.timer);
    self->plan.active = false;
    for (int i = 0; i < self->nchildren; i++) {
        s_child_t *c = &self->children[i];
        if (c->state == S_BACKOFF) {
            s_child_cancel_timers(c);
            c->state = S_STOPPED;
        }
        s_unpark(c); // an ended instance's thread, waiting for a restart
        if (c->standby_timer >= 0)
            zloop_timer_end(self->loop, c->standby_timer);
        c->standby_timer = -1;
        if (c->standby.pid > 0) {
            if (c->sb_ready)
                s_send_life(self, c, c->sb_ident, AZO_LIFE_TERM);
            (void)azo_proc_signal(&c->standby, SIGTERM);
            // Like any actor, a standby gets `shutdown` to go.
            c->standby_timer = zloop_timer(self->loop, (size_t)c->shutdown_ms,
                                           1, s_on_standby_kill, c);
        }
    }
    s_shutdown_next(self);
}

static void
s_escalate(azo_sup_t *self, const char *why)
{
    zsys_error("escalating: %s; stopping the node", why);
    msgpack_packer *pk = s_event(self, 1);
    azo_pack_kstr(pk, "reason", why);
    s_event_send(self, "sup.escalated");
    self->exit_code = AZO_EXIT_ESCALATED;
    s_shutdown_begin(self);
}

// --- heartbeats
// -----------------------------------------------------------------

// Periodic: finds actors silent past heartbeat x liveness. A process is
// killed (and restarted by its policy); a thread cannot be killed safely,
// so the node escalates. Also notices SIGINT/SIGTERM when no signalfd is
// in use (czmq's handler sets zsys_interrupted).
static int
s_on_monitor(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    azo_sup_t *self = arg;
    if (zsys_interrupted && !self->stopping) {
        zsys_info("interrupted: stopping the node");
        s_shutdown_begin(self);
    }
    int64_t now = s_now();
    // A monitor late by more than a period means this whole process was
    // frozen (SIGSTOP, a paused VM, a starved machine), not its actors:
    // the time lost is ours, so their heartbeat clocks move on by it.
    int64_t lost =
        self->monitor_at ? now - self->monitor_at - self->monitor_ms : 0;
    if (lost > self->monitor_ms) {
        if (lost >= 1000)
            zsys_warning("this node was frozen for %lld ms (stopped or "
                         "starved): actors' heartbeats count afresh",
                         (long long)lost);
        for (int i = 0; i < self->nchildren; i++) {
            s_child_t *c = &self->children[i];
            c->last_hb += c->last_hb ? lost : 0;
            if (c->state == S_STARTING) // start_timeout counts from it
                c->started_mono += lost;
        }
    }
    self->monitor_at = now;
    for (int i = 0; i < self->nchildren && !self->done; i++) {
        s_child_t *c = &self->children[i];
        if (!c->here)
            continue; // its node watches it
        // Process actors stop by themselves when the supervisor has been
        // silent for orphan_grace: tell the idle ones we are here.
        if (c->process && now - c->sent_hb >= c->heartbeat_ms) {
            c->sent_hb = now;
            if (c->connected)
                s_send_life(self, c, c->ident, AZO_LIFE_HB);
            if (c->standby.pid > 0 && c->sb_ready)
                s_send_life(self, c, c->sb_ident, AZO_LIFE_HB);
        }
        // Running (or being adopted): silent past heartbeat x liveness.
        // Starting: not ready within start_timeout.
        bool starting = c->state == S_STARTING && !c->adopted;
        int64_t limit =
            starting ? c->start_timeout_ms : c->heartbeat_ms * c->liveness;
        int64_t since = starting ? c->started_mono : c->last_hb;
        bool watched = c->state == S_RUNNING || c->state == S_STARTING;
        if (!watched || c->hung || now - since <= limit)
            continue;
        if (!c->process && pthread_tryjoin_np(c->thread, NULL) == 0) {
            // Ended without a word (its EXIT was lost): not a hang.
            zsock_destroy(&c->pipe);
            c->has_thread = false;
            s_child_ended(c, getpid(), "ended without reporting", NULL, true);
            continue;
        }
        if (c->process && c->activate_pending) {
            // Its pre-started process never became ready: its end (pidfd)
            // starts one afresh, with a start time of its own.
            zsys_warning("actor %s: its pre-started process is not ready "
                         "within %lld ms; starting another",
                         c->def->name, (long long)c->start_timeout_ms);
            c->started_mono = now;
            (void)azo_proc_signal(&c->standby, SIGKILL);
            continue;
        }
        c->hung = true;
        if (starting)
            zsys_error("actor %s not ready within %lld ms (start_timeout): "
                       "hung",
                       c->def->name, (long long)c->start_timeout_ms);
        else
            zsys_error("actor %s silent for %lld ms (heartbeat %lld ms x "
                       "liveness %d): hung",
                       c->def->name, (long long)(now - c->last_hb),
                       (long long)c->heartbeat_ms, c->liveness);
        if (c->process) {
            (void)azo_proc_signal(&c->proc, SIGKILL); // its pidfd goes on
            continue;
        }
        char why[200];
        snprintf(why, sizeof why,
                 "thread actor %s hung; a thread cannot be killed safely "
                 "(run work that may hang with mode = process)",
                 c->def->name);
        s_escalate(self, why);
    }
    return self->done ? -1 : 0;
}

// --- lifecycle frames
// ---------------------------------------------------------

// Thread actor c failed and, by the ticket of s_child_ready, already runs
// generation life->next in the same thread and inbox: the accounting of an
// immediate restart, after the fact. Past the intensity limit the node
// escalates as it would have before restarting. If a stop crossed the
// failure, the new instance reads the $TERM we sent: its EXIT goes on
// with the stop, and this one is not announced.
static void
s_child_quick(s_child_t *c, const azo_life_t *life)
{
    azo_sup_t *self = c->sup;
    int64_t now = s_now();
    if (c->state != S_RUNNING || !life->failed) {
        c->gen = life->next;
        c->last_hb = now;
        return;
    }
    int64_t uptime = now - c->started_mono;
    bool ok = s_intensity_ok(self);
    (void)s_backoff_next(c, uptime); // counts the failure; 0 by the ticket
    const char *detail = life->reason[0] ? life->reason : "?";
    snprintf(c->last_exit, sizeof c->last_exit, "failed: %s", detail);
    s_exited_event(c, "failed", detail, getpid(), uptime, ok ? 0 : -1, true);
    c->gen = life->next;
    c->restarts++;
    c->backoff_ms = 0;
    c->state = S_STARTING;
    c->started_mono = c->last_hb = now;
    s_restarted_event(c);
    if (!ok) {
        char why[200];
        snprintf(why, sizeof why,
                 "more than %d restarts within %lld ms (last: %s)",
                 self->max_restarts, (long long)self->period_ms, c->def->name);
        s_escalate(self, why);
    }
}

// A lifecycle frame from thread actor c (through the inbox).
static void
s_thread_life(s_child_t *c, const azo_life_t *life)
{
    if (!c->has_thread || c->parked || life->gen != c->gen)
        return; // from an abandoned or ended instance
    c->last_hb = s_now();
    if (life->tid)
        c->tid = life->tid;
    if (life->ev == AZO_LIFE_READY && c->state == S_STARTING)
        s_child_ready(c);
    else if (life->ev == AZO_LIFE_EXIT && life->next == c->gen + 1)
        s_child_quick(c, life);
    else if (life->ev == AZO_LIFE_EXIT) {
        // The thread now waits for our word: a restart reuses it.
        c->parked = true;
        s_child_ended(c, getpid(), life->reason[0] ? life->reason : "?", NULL,
                      life->failed);
    }
}

// A lifecycle frame from a process of c, which talks from ident.
static void
s_process_life(s_child_t *c, const char *ident, const azo_life_t *life)
{
    azo_sup_t *self = c->sup;
    if (c->proc.pid > 0 && life->pid == c->proc.pid) {
        if (!c->connected) {
            snprintf(c->ident, sizeof c->ident, "%s", ident);
            c->connected = true;
        }
        c->last_hb = s_now();
        if (life->tid)
            c->tid = life->tid;
        if (life->ev == AZO_LIFE_READY && c->state == S_STARTING &&
            life->gen == c->gen)
            s_child_ready(c);
        else if (life->ev == AZO_LIFE_HB && c->state == S_STARTING &&
                 c->adopted && life->gen == c->gen && !life->standby) {
            zsys_info("actor %s (pid %lld) adopted", c->def->name,
                      (long long)life->pid);
            s_child_ready(c);
        } else if (life->ev == AZO_LIFE_EXIT) {
            c->exit_reported = true;
            c->exit_failed = life->failed;
            snprintf(c->exit_detail, sizeof c->exit_detail, "%s", life->reason);
        }
        return;
    }
    if (c->standby.pid > 0 && life->pid == c->standby.pid) {
        if (life->ev == AZO_LIFE_HB && !c->sb_ready) {
            snprintf(c->sb_ident, sizeof c->sb_ident, "%s", ident);
            c->sb_ready = true;
            if (self->stopping) // it raced our SIGTERM; be sure
                s_send_life(self, c, ident, AZO_LIFE_TERM);
            else if (c->activate_pending && c->state == S_STARTING)
                s_activate(c);
        }
        return;
    }
    // Not a process of ours (a standby or instance of an earlier
    // supervisor): ask it to go.
    if (life->ev == AZO_LIFE_HB) {
        azo_ratelog(&self->badlog,
                    "a process of %s we do not know (pid %lld) is "
                    "connected; asking it to stop",
                    c->def->name, (long long)life->pid);
        azo_life_t term = {.ev = AZO_LIFE_TERM, .pid = (int64_t)getpid()};
        azo_life_pack(&self->life_sb, &term);
        s_frame(self, AZO_BUS_LIFE, c->idx, 0, self->life_sb.data,
                self->life_sb.size);
        (void)s_cluster_send(self, ident, self->out_sb.data, self->out_sb.size);
    }
}

// --- cluster: placement, node agents, the supervisor's link
// -------------------------------------------------

// The name of the node c runs on (the supervisor's view), or NULL when
// an agent does not run it.
static const char *
s_where(const s_child_t *c)
{
    const azo_sup_t *self = c->sup;
    if (c->here)
        return self->node;
    if (self->agent || c->at < 0)
        return NULL;
    return self->nodes[c->at].name;
}

static s_node_t *
s_node_find(azo_sup_t *self, const char *name)
{
    for (int i = 0; i < self->nnodes; i++)
        if (streq(self->nodes[i].name, name))
            return &self->nodes[i];
    return NULL;
}

// Finds or adds node name (state unknown until it says hello). NULL when
// the table is full.
static s_node_t *
s_node_get(azo_sup_t *self, const char *name)
{
    s_node_t *n = s_node_find(self, name);
    if (n || self->nnodes == S_MAX_NODES)
        return n;
    n = &self->nodes[self->nnodes++];
    memset(n, 0, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    n->since = azo_wire_now_ms();
    return n;
}

static s_node_t *
s_node_by_ident(azo_sup_t *self, const char *ident, size_t idlen)
{
    for (int i = 0; i < self->nnodes; i++)
        if (self->nodes[i].state == S_NODE_UP &&
            self->nodes[i].idlen == idlen &&
            memcmp(self->nodes[i].ident, ident, idlen) == 0)
            return &self->nodes[i];
    return NULL;
}

// Splits a node list ("beta, gamma") into c's preferences. Returns 0 or
// AZO_EBADREQ with err.
static int
s_parse_pref(const char *list, char pref[][AZO_NODE_MAX_NAME + 1], int *n,
             const char *key, char *err, size_t errlen)
{
    *n = 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list ? list : "");
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ,\t", &save); tok;
         tok = strtok_r(NULL, " ,\t", &save)) {
        if (!azo_node_name_ok(tok))
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "%s: '%s' is not a node name (1..64 letters, "
                               "digits, '.', '_' or '-')",
                               key, tok);
        for (int i = 0; i < *n; i++)
            if (streq(pref[i], tok))
                return azo_err_set(err, errlen, AZO_EBADREQ,
                                   "%s: node '%s' is listed twice", key, tok);
        if (*n == S_MAX_PREF)
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "%s: more than %d nodes", key, S_MAX_PREF);
        snprintf(pref[(*n)++], AZO_NODE_MAX_NAME + 1, "%s", tok);
    }
    return 0;
}

// Writes c's placement to the store (committed before anyone is told).
static void
s_placement_save(azo_sup_t *self, s_child_t *c)
{
    char key[64];
    snprintf(key, sizeof key, "placement/%s", c->def->name);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    azo_pack_kstr(&pk, "node", s_where(c) ? s_where(c) : "");
    azo_pack_kuint(&pk, "epoch", c->epoch);
    azo_pack_kbool(&pk, "moved", c->moved);
    azo_txn_t *txn = NULL;
    int db = azo_store_db(self->store, "sup");
    int rc = azo_store_begin(self->store, true, &txn);
    if (rc == 0)
        rc = azo_txn_put_mp(txn, db, key, strlen(key), &sb);
    if (rc == 0)
        rc = azo_store_commit(&txn);
    azo_store_abort(&txn);
    msgpack_sbuffer_destroy(&sb);
    if (rc < 0)
        zsys_warning("cannot record the placement of %s: %s", c->def->name,
                     azo_err_str(rc));
}

// Supervisor: where each actor runs, from the store (a placement survives
// restarts: actors that failed over stay where they went) or else the
// first node of its list. A stored node no longer in the list is left.
static void
s_placement_load(azo_sup_t *self)
{
    msgpack_zone *zone = msgpack_zone_new(1024);
    int db = azo_store_db(self->store, "sup");
    for (int i = 0; zone && i < self->nchildren; i++) {
        s_child_t *c = &self->children[i];
        char key[64], node[AZO_NODE_MAX_NAME + 1] = "";
        snprintf(key, sizeof key, "placement/%s", c->def->name);
        azo_txn_t *txn = NULL;
        msgpack_object rec;
        int64_t epoch = 0;
        if (azo_store_begin(self->store, false, &txn) == 0 &&
            azo_txn_get_mp(txn, db, key, strlen(key), zone, &rec) == 0) {
            const msgpack_object *o = azo_mp_get(&rec, "node");
            if (o && o->type == MSGPACK_OBJECT_STR &&
                o->via.str.size < sizeof node) {
                memcpy(node, o->via.str.ptr, o->via.str.size);
                node[o->via.str.size] = 0;
            }
            (void)azo_mp_int(azo_mp_get(&rec, "epoch"), &epoch);
            const msgpack_object *mv = azo_mp_get(&rec, "moved");
            c->moved =
                mv && mv->type == MSGPACK_OBJECT_BOOLEAN && mv->via.boolean;
        }
        azo_store_abort(&txn);
        msgpack_zone_clear(zone);
        // An operator's move stands; otherwise the list decides.
        bool listed = (c->npref == 0 && streq(node, self->node)) || c->moved;
        for (int k = 0; k < c->npref; k++)
            listed = listed || streq(c->pref[k], node);
        // A new placement (first start, or its list changed) is recorded;
        // a stored one stands as it is.
        bool fresh = epoch <= 0 || epoch >= UINT32_MAX || !listed;
        if (fresh) {
            c->moved = false;
            if (epoch > 0)
                zsys_info("actor %s: was on node %s, which its list no "
                          "longer names",
                          c->def->name, node);
            snprintf(node, sizeof node, "%s",
                     c->npref ? c->pref[0] : self->node);
            epoch++;
        }
        c->epoch = (uint32_t)epoch;
        s_node_t *n = streq(node, self->node) ? NULL : s_node_get(self, node);
        c->here = !n;
        c->at = n ? (int)(n - self->nodes) : S_HERE;
        c->want_running = c->here;
        azo_registry_set_remote(self->reg, c->idx, c->here ? c->process : true);
        if (fresh)
            s_placement_save(self, c);
    }
    if (zone)
        msgpack_zone_free(zone);
}

// Supervisor: tells node n its whole assignment (with the configuration
// when it asks for it).
static void
s_node_state_send(azo_sup_t *self, s_node_t *n, bool with_config)
{
    azo_node_state_t *st = &self->nstate;
    memset(st, 0, sizeof *st);
    snprintf(st->node, sizeof st->node, "%s", self->node);
    st->heartbeat_ms = self->hb_ms;
    st->liveness = self->liveness;
    if (with_config) {
        st->config = self->cfg_text;
        st->config_len = self->cfg_len;
    }
    int ni = (int)(n - self->nodes);
    for (int i = 0; i < self->nchildren; i++) {
        const s_child_t *c = &self->children[i];
        if (c->at != ni)
            continue;
        azo_node_assign_t *a = &st->assign[st->nassign++];
        snprintf(a->name, sizeof a->name, "%s", c->def->name);
        a->epoch = c->epoch;
    }
    azo_node_state_pack(&self->node_sb, st);
    s_frame(self, AZO_BUS_NODE, AZO_REG_SUP, 0, self->node_sb.data,
            self->node_sb.size);
    (void)s_node_send(self, n, 0, self->out_sb.data, self->out_sb.size);
}

// Supervisor: the mirror of a remote instance takes state st.
static void
s_mirror_set(s_child_t *c, s_state_t st)
{
    azo_sup_t *self = c->sup;
    s_state_t old = c->state;
    c->state = st;
    c->last_hb = s_now();
    if (st == S_RUNNING && old != S_RUNNING)
        azo_registry_set_up(self->reg, c->idx, c->gen);
    else if (st != S_RUNNING && old == S_RUNNING) {
        azo_registry_set_down(self->reg, c->idx);
        azo_ctl_fail_handler(self->ctl, c->def->name, s_state_names[st]);
    }
    if (st != old)
        s_child_notify(c, NULL);
}

// Supervisor: where c goes when its node is lost: the next node of its
// list after the lost one that is up (this node always is), or S_NOWHERE.
static int
s_pick(azo_sup_t *self, const s_child_t *c)
{
    const char *cur = s_where(c);
    int start = 0;
    for (int k = 0; k < c->npref; k++)
        if (cur && streq(c->pref[k], cur))
            start = k + 1;
    for (int j = 0; j < c->npref; j++) {
        const char *name = c->pref[(start + j) % c->npref];
        if (cur && streq(name, cur))
            continue;
        if (streq(name, self->node))
            return S_HERE;
        s_node_t *n = s_node_find(self, name);
        if (n && n->state == S_NODE_UP)
            return (int)(n - self->nodes);
    }
    return S_NOWHERE;
}

// Supervisor: c runs on node `to` (or here) from now on, under a new
// epoch: recorded, announced, the old node told to stop it and the new
// one to start it.
static void
s_place(s_child_t *c, int to, const char *reason)
{
    azo_sup_t *self = c->sup;
    int from = c->at;
    const char *from_name = s_where(c);
    char was[AZO_NODE_MAX_NAME + 1];
    snprintf(was, sizeof was, "%s", from_name ? from_name : "");
    c->epoch++;
    c->at = to;
    c->move_to = S_NOWHERE;
    c->here = to == S_HERE;
    s_placement_save(self, c);
    azo_registry_set_down(self->reg, c->idx);
    azo_registry_set_remote(self->reg, c->idx, c->here ? c->process : true);
    zsys_info("actor %s: moved from %s to %s (epoch %u, %s)", c->def->name, was,
              s_where(c), c->epoch, reason);
    msgpack_packer *pk = s_event(self, 5);
    azo_pack_kstr(pk, "actor", c->def->name);
    azo_pack_kstr(pk, "from", was);
    azo_pack_kstr(pk, "to", s_where(c));
    azo_pack_kuint(pk, "epoch", c->epoch);
    azo_pack_kstr(pk, "reason", reason);
    s_event_send(self, "sup.actor.moved");
    if (from >= 0)
        s_node_state_send(self, &self->nodes[from], false); // if it is up
    c->r_pid = c->r_uptime = 0;
    if (c->here) {
        c->state = S_STOPPED;
        c->want_running = true;
        c->after_exit = S_AFTER_POLICY;
        s_child_spawn(c, false);
        return;
    }
    c->want_running = false;
    c->state = S_STOPPED;
    s_mirror_set(c, S_STARTING); // assigned; its node reports the rest
    s_node_state_send(self, &self->nodes[to], false);
}

// Supervisor: moves c to node `to`; an instance running here stops first.
static void
s_relocate(s_child_t *c, int to, const char *reason)
{
    if (c->here && (s_live(c) || c->state == S_STOPPING)) {
        c->move_to = to;
        snprintf(c->move_reason, sizeof c->move_reason, "%s", reason);
        c->want_running = false;
        c->after_exit = S_AFTER_POLICY;
        s_child_stop(c);
        return;
    }
    if (c->here)
        s_child_stop(c); // a restart waiting in backoff
    s_place(c, to, reason);
}

// Supervisor: node n is silent past heartbeat x liveness (or never came):
// its actors are down, and those that may fail over go to the next node
// of their list.
static void
s_node_lost(azo_sup_t *self, s_node_t *n, const char *why)
{
    int ni = (int)(n - self->nodes);
    bool seen = n->state == S_NODE_UP;
    n->state = S_NODE_LOST;
    n->since = azo_wire_now_ms();
    n->lost++;
    zsys_warning("node %s lost: %s", n->name, why);
    char handler[AZO_NODE_MAX_NAME + 8];
    snprintf(handler, sizeof handler, "node %s", n->name);
    azo_ctl_fail_handler(self->ctl, handler, "was lost");
    msgpack_packer *pk = s_event(self, 4);
    azo_pack_kstr(pk, "agent", n->name); // `node` is the publisher's
    azo_pack_kstr(pk, "reason", why);
    azo_pack_kint(pk, "silent_ms", seen ? s_now() - n->seen : -1);
    azo_pack_str(pk, "actors");
    size_t at = azo_pack_array_open(pk);
    uint32_t count = 0;
    for (int i = 0; i < self->nchildren; i++)
        if (self->children[i].at == ni) {
            azo_pack_str(pk, self->children[i].def->name);
            count++;
        }
    azo_pack_array_close(pk, at, count);
    s_event_send(self, "sup.node.lost");
    for (int i = 0; i < self->nchildren; i++) {
        s_child_t *c = &self->children[i];
        if (c->at != ni)
            continue;
        snprintf(c->last_exit, sizeof c->last_exit, "node %s lost", n->name);
        s_mirror_set(c, S_STOPPED);
        if (!c->failover)
            continue; // pinned: it waits for its node
        int to = s_pick(self, c);
        if (to == S_NOWHERE)
            zsys_warning("actor %s: no other node of its list is up; it "
                         "waits for one",
                         c->def->name);
        else {
            c->moved = false; // its list decides again
            s_relocate(c, to, "failover");
        }
    }
}

static s_state_t
s_state_parse(const char *name)
{
    for (size_t i = 0; i < sizeof s_state_names / sizeof s_state_names[0]; i++)
        if (streq(s_state_names[i], name))
            return (s_state_t)i;
    return S_STOPPED;
}

// Supervisor: a hello from node agent h->node over ident: the node is up,
// its actors' states are mirrored, actors waiting for a node may come to
// it, and it gets its assignment back (our heartbeat).
static void
s_node_hello(azo_sup_t *self, const char *ident, size_t idlen, const char *addr,
             const azo_node_hello_t *h)
{
    if (streq(h->node, self->node)) {
        azo_ratelog(&self->badlog,
                    "cluster: an agent calls itself %s, this node's own "
                    "name: ignored",
                    h->node);
        return;
    }
    s_node_t *n = s_node_get(self, h->node);
    if (!n) {
        azo_ratelog(&self->badlog,
                    "cluster: node %s refused: %d nodes already known", h->node,
                    S_MAX_NODES);
        return;
    }
    int ni = (int)(n - self->nodes);
    bool back = n->state != S_NODE_UP;
    if (!back && (n->idlen != idlen || memcmp(n->ident, ident, idlen) != 0))
        zsys_info("node %s: a new connection (%s) replaces the old one",
                  n->name, addr);
    memcpy(n->ident, ident, idlen);
    n->idlen = idlen;
    if (addr[0])
        snprintf(n->addr, sizeof n->addr, "%s", addr);
    snprintf(n->version, sizeof n->version, "%s", h->version);
    n->pid = h->pid;
    n->seen = s_now();
    n->seen_wall = azo_wire_now_ms();
    n->frames++;
    if (back) {
        n->state = S_NODE_UP;
        n->since = n->seen_wall;
        zsys_info("node %s up (%s)", n->name, n->addr);
        msgpack_packer *pk = s_event(self, 4);
        azo_pack_kstr(pk, "agent", n->name); // `node` is the publisher's
        azo_pack_kstr(pk, "address", n->addr[0] ? n->addr : NULL);
        azo_pack_kstr(pk, "version", n->version);
        azo_pack_kint(pk, "pid", n->pid);
        s_event_send(self, "sup.node.up");
    }
    for (int i = 0; i < self->nchildren; i++) {
        s_child_t *c = &self->children[i];
        if (c->at != ni)
            continue;
        const azo_node_actor_t *a = NULL;
        for (int k = 0; k < h->nactors; k++)
            if (streq(h->actors[k].name, c->def->name) &&
                h->actors[k].epoch == c->epoch)
                a = &h->actors[k];
        if (!a) {
            s_mirror_set(c, S_STARTING); // assigned, not begun yet
            continue;
        }
        c->gen = a->gen;
        c->restarts = a->restarts;
        c->r_pid = a->pid;
        c->r_uptime = a->uptime_ms;
        snprintf(c->r_mode, sizeof c->r_mode, "%s", a->mode);
        if (a->last_exit[0])
            snprintf(c->last_exit, sizeof c->last_exit, "%s", a->last_exit);
        s_mirror_set(c, s_state_parse(a->state));
    }
    s_node_state_send(self, n, h->need_config);
    if (!back)
        return;
    // Actors that wait for a node (theirs was lost, none other was up)
    // may come to this one.
    for (int i = 0; i < self->nchildren; i++) {
        s_child_t *c = &self->children[i];
        if (c->failover && c->at >= 0 && c->at != ni &&
            self->nodes[c->at].state == S_NODE_LOST && s_pick(self, c) == ni)
            s_relocate(c, ni, "failover");
    }
}

// Supervisor: a frame from a node agent: [epoch][frame] from ident.
static void
s_on_node_frame(azo_sup_t *self, const char *ident, size_t idlen,
                const char *addr, uint32_t epoch, const azo_bus_msg_t *m,
                const void *frame, size_t size)
{
    if (m->kind == AZO_BUS_NODE) {
        if (azo_node_hello_decode(m->body, m->len, &self->hello) < 0) {
            azo_ratelog(&self->badlog, "cluster: dropped a malformed hello");
            return;
        }
        s_node_hello(self, ident, idlen, addr, &self->hello);
        return;
    }
    s_node_t *n = s_node_by_ident(self, ident, idlen);
    if (!n) {
        azo_ratelog(&self->badlog,
                    "cluster: dropped a frame from a peer that has not "
                    "said hello");
        return;
    }
    n->seen = s_now();
    n->seen_wall = azo_wire_now_ms();
    n->frames++;
    if (m->from == AZO_REG_SUP) { // the agent itself
        if (m->kind == AZO_BUS_EVENT)
            s_on_remote_event(self, m);
        else if (m->kind == AZO_BUS_REPLY && m->to == AZO_REG_SUP)
            azo_ctl_reply(self->ctl, m->token, m->body, m->len);
        else if (m->kind == AZO_BUS_REPLY)
            s_forward(self, m, frame, size);
        return;
    }
    s_child_t *c = m->from < AZO_REG_MAX ? self->by_idx[m->from] : NULL;
    int ni = (int)(n - self->nodes);
    if (!c || c->at != ni || epoch != c->epoch) {
        // Fencing: an instance the supervisor no longer places there.
        n->stale++;
        azo_ratelog(&self->badlog,
                    "cluster: refused a frame from %s on node %s: epoch %u "
                    "is stale (it runs on %s, epoch %u)",
                    azo_registry_name(self->reg, m->from), n->name, epoch,
                    c && s_where(c) ? s_where(c) : "no node", c ? c->epoch : 0);
        if (m->kind == AZO_BUS_REQUEST) {
            char why[160];
            snprintf(why, sizeof why,
                     "stale instance: %s no longer runs on node %s under "
                     "epoch %u",
                     azo_registry_name(self->reg, m->from), n->name, epoch);
            s_error_frame(self, m, AZO_ECONFLICT, why);
            (void)s_node_send(self, n, epoch, self->out_sb.data,
                              self->out_sb.size);
        }
        return;
    }
    c->last_hb = s_now();
    if (m->kind == AZO_BUS_EVENT)
        s_on_remote_event(self, m);
    else if (m->kind == AZO_BUS_LIFE)
        return; // its node supervises it
    else if (m->to == AZO_REG_SUP)
        s_on_sup_frame(self, m);
    else
        s_forward(self, m, frame, size);
}

// Agent: tells the supervisor who we are and what runs here.
static void
s_agent_hello(azo_sup_t *self)
{
    azo_node_hello_t *h = &self->hello;
    memset(h, 0, sizeof *h);
    snprintf(h->node, sizeof h->node, "%s", self->node);
    snprintf(h->version, sizeof h->version, "%s", AZO_VERSION);
    h->pid = (int64_t)getpid();
    int64_t now = s_now();
    for (int i = 0; i < self->nchildren; i++) {
        const s_child_t *c = &self->children[i];
        if (!c->here)
            continue;
        azo_node_actor_t *a = &h->actors[h->nactors++];
        snprintf(a->name, sizeof a->name, "%s", c->def->name);
        a->epoch = c->epoch;
        snprintf(a->state, sizeof a->state, "%s", s_state_names[c->state]);
        snprintf(a->mode, sizeof a->mode, "%s", s_mode(c));
        a->gen = c->gen;
        a->restarts = c->restarts;
        a->pid = s_pid(c);
        a->uptime_ms = c->state == S_RUNNING ? now - c->started_mono : 0;
        snprintf(a->last_exit, sizeof a->last_exit, "%s", c->last_exit);
    }
    azo_node_hello_pack(&self->node_sb, h);
    s_frame(self, AZO_BUS_NODE, AZO_REG_SUP, 0, self->node_sb.data,
            self->node_sb.size);
    (void)s_up_send(self, 0, self->out_sb.data, self->out_sb.size);
    self->hello_at = now;
}

// Agent: the supervisor's word on what runs here. Actors assigned to us
// start; actors no longer ours (or ours under another epoch) stop at once.
static void
s_agent_state(azo_sup_t *self, const azo_node_state_t *st)
{
    if (!self->sup_up)
        zsys_info("supervisor %s %s", st->node,
                  self->sup_seen ? "is back" : "answers");
    self->sup_up = self->sup_seen = true;
    self->sup_last = s_now();
    snprintf(self->sup_node, sizeof self->sup_node, "%s", st->node);
    self->hb_ms = st->heartbeat_ms;
    self->liveness = (int)st->liveness;
    bool changed = false;
    for (int i = 0; i < self->nchildren; i++) {
        s_child_t *c = &self->children[i];
        uint32_t epoch = 0;
        for (int k = 0; k < st->nassign; k++)
            if (streq(st->assign[k].name, c->def->name))
                epoch = st->assign[k].epoch;
        if (epoch && c->here && epoch == c->epoch)
            continue; // as it was
        if (!epoch && !c->here)
            continue;
        changed = true;
        if (!epoch || (c->here && epoch != c->epoch)) {
            // Fencing: it runs elsewhere now (or here under a newer
            // epoch): this instance must not do any more work.
            zsys_info("actor %s (epoch %u) is no longer placed here%s; "
                      "stopping it",
                      c->def->name, c->epoch, epoch ? " under this epoch" : "");
            c->here = false;
            c->want_running = false;
            c->after_exit = S_AFTER_POLICY;
            if (s_live(c) || c->state == S_STOPPING)
                s_child_stop(c);
            else {
                s_child_stop(c); // backoff
                c->state = S_STOPPED;
                azo_registry_set_remote(self->reg, c->idx, true);
                azo_registry_set_up(self->reg, c->idx, 0);
            }
            if (!epoch)
                continue;
        }
        // Ours now, under epoch.
        zsys_info("actor %s placed here (epoch %u)", c->def->name, epoch);
        c->here = true;
        c->epoch = epoch;
        c->want_running = true;
        if (s_live(c) || c->state == S_STOPPING) {
            c->after_exit = S_AFTER_START; // after the old one has ended
            continue;
        }
        azo_registry_set_down(self->reg, c->idx);
        azo_registry_set_remote(self->reg, c->idx, c->process);
        c->state = S_STOPPED;
        s_child_spawn(c, false);
    }
    if (changed)
        s_agent_hello(self);
}

// Agent: frames from the supervisor: [epoch][frame].
static int
s_on_uplink(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    azo_sup_t *self = arg;
    void *raw = zsock_resolve(reader);
    zmq_msg_t ep, msg;
    zmq_msg_init(&ep);
    zmq_msg_init(&msg);
    for (int i = 0; i < S_DRAIN && !self->done; i++) {
        if (zmq_msg_recv(&ep, raw, ZMQ_DONTWAIT) < 0)
            break;
        if (!zmq_msg_more(&ep) || zmq_msg_recv(&msg, raw, 0) < 0)
            continue;
        bool extra = zmq_msg_more(&msg);
        while (zmq_msg_more(&msg) && zmq_msg_recv(&msg, raw, 0) >= 0)
            ;
        azo_bus_msg_t m;
        const void *frame = zmq_msg_data(&msg);
        size_t size = zmq_msg_size(&msg);
        if (extra || zmq_msg_size(&ep) != AZO_NODE_EPOCH_LEN ||
            azo_bus_parse(frame, size, &m) < 0 ||
            m.to >= azo_registry_size(self->reg)) {
            azo_ratelog(&self->badlog, "uplink: dropped a malformed frame");
            continue;
        }
        uint32_t epoch = azo_node_epoch_read(zmq_msg_data(&ep));
        if (m.kind == AZO_BUS_NODE) {
            if (azo_node_state_decode(m.body, m.len, &self->nstate) == 0)
                s_agent_state(self, &self->nstate);
            else
                azo_ratelog(&self->badlog, "uplink: a malformed state");
            continue;
        }
        self->sup_last = s_now();
        if (m.to == AZO_REG_SUP) {
            // A supervisor command for this node (actor.start/stop/restart
            // of an actor of ours), asked through the supervisor.
            if (m.kind == AZO_BUS_REQUEST || m.kind == AZO_BUS_CAST) {
                azo_bus_msg_t m2 = m;
                m2.from = self->up_idx;
                s_on_sup_frame(self, &m2);
            }
            continue;
        }
        s_child_t *c = self->by_idx[m.to];
        if (!c || !c->here || epoch != c->epoch) {
            self->stale++;
            azo_ratelog(&self->badlog,
                        "uplink: refused a frame for %s under epoch %u (here: "
                        "%s)",
                        azo_registry_name(self->reg, m.to), epoch,
                        c && c->here ? "another epoch" : "not placed");
            s_refuse(self, &m, "stale epoch: that actor no longer runs there");
            continue;
        }
        if (m.from == AZO_REG_SUP) {
            // The supervisor's control request: the answer goes back up.
            azo_bus_hdr_write(zmq_msg_data(&msg), m.kind, self->up_idx, m.to,
                              m.token);
            m.from = self->up_idx;
        }
        s_forward(self, &m, frame, size);
    }
    zmq_msg_close(&ep);
    zmq_msg_close(&msg);
    return self->done ? -1 : 0;
}

// Periodic, every half heartbeat: the supervisor looks for silent nodes;
// an agent says hello and watches the supervisor.
static int
s_on_cluster_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    azo_sup_t *self = arg;
    int64_t now = s_now();
    int64_t limit = self->hb_ms * self->liveness;
    if (self->stopping)
        return 0;
    int64_t period = self->hb_ms / 2 > 5 ? self->hb_ms / 2 : 5;
    int64_t late = self->tick_at ? now - self->tick_at - period : 0;
    if (late > period) {
        // We were frozen, not they: the time lost is ours.
        for (int i = 0; i < self->nnodes; i++)
            self->nodes[i].seen += late;
        self->sup_last += late;
    }
    self->tick_at = now;
    if (self->agent) {
        if (now - self->hello_at >= self->hb_ms)
            s_agent_hello(self); // our heartbeat (changes go at once)
        if (self->sup_up && now - self->sup_last > limit) {
            self->sup_up = false;
            zsys_warning("supervisor %s silent for %lld ms: lost; our actors "
                         "keep running, and we re-register when it is back",
                         self->sup_node, (long long)(now - self->sup_last));
        }
        return 0;
    }
    for (int i = 0; i < self->nnodes && !self->done; i++) {
        s_node_t *n = &self->nodes[i];
        char why[128];
        if (n->state == S_NODE_UP && now - n->seen > limit) {
            snprintf(why, sizeof why,
                     "silent for %lld ms (heartbeat %lld ms x liveness %d)",
                     (long long)(now - n->seen), (long long)self->hb_ms,
                     self->liveness);
            s_node_lost(self, n, why);
        } else if (n->state == S_NODE_UNKNOWN &&
                   now - self->started_mono > 2 * limit + 1000) {
            snprintf(why, sizeof why, "not registered within %lld ms",
                     (long long)(now - self->started_mono));
            s_node_lost(self, n, why);
        }
    }
    return self->done ? -1 : 0;
}

// --- supervisor commands
// ------------------------------------------------------

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
    msgpack_pack_map(pk, 12);
    azo_pack_kstr(pk, "node", self->node);
    azo_pack_kint(pk, "pid", (int64_t)getpid());
    azo_pack_kstr(pk, "version", AZO_VERSION);
    azo_pack_kint(pk, "started", self->started_wall);
    azo_pack_kint(pk, "uptime_ms", s_now() - self->started_mono);
    azo_pack_kstr(pk, "config", azo_config_source(self->cfg));
    azo_pack_kstr(pk, "strategy",
                  azo_config_str(self->cfg, "supervisor/strategy"));
    azo_pack_str(pk, "endpoints");
    msgpack_pack_map(pk, 3);
    azo_pack_kstr(pk, "control", self->endpoints[0]);
    azo_pack_kstr(pk, "events", self->endpoints[1]);
    azo_pack_kstr(pk, "cluster", self->endpoints[2]);
    azo_pack_str(pk, "security");
    msgpack_pack_map(pk, 3);
    azo_pack_kbool(pk, "curve", self->sec != NULL);
    azo_pack_kstr(pk, "public_key",
                  self->sec ? azo_sec_public(self->sec) : NULL);
    azo_pack_kint(pk, "clients",
                  self->sec ? (int64_t)azo_sec_allowed(self->sec) : 0);
    azo_pack_str(pk, "store");
    msgpack_pack_map(pk, 4);
    azo_pack_kstr(pk, "path", self->store_path);
    azo_pack_kint(pk, "map_bytes", info.map_bytes);
    azo_pack_kint(pk, "used_bytes", info.used_bytes);
    azo_pack_kint(pk, "entries", info.entries);
    azo_pack_str(pk, "requests");
    msgpack_pack_map(pk, 4);
    azo_pack_kuint(pk, "total", azo_ctl_requests(self->ctl));
    azo_pack_kuint(pk, "bad", azo_ctl_bad(self->ctl));
    azo_pack_kuint(pk, "refused", azo_ctl_refused(self->ctl));
    azo_pack_kuint(pk, "pending", azo_ctl_pending(self->ctl));
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
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 2);
    azo_pack_kstr(pk, "node", self->node);
    azo_pack_kbool(pk, "stopping", true);
    // The stop begins once this reply has left (s_after_command).
    self->shutdown_asked = true;
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
    if (!self->agent && !self->by_idx[idx]->here) {
        // A control client's request went to the node (s_remote_lifecycle);
        // an actor's would wait here for a state only the node changes.
        azo_reply_fail(reply, AZO_EUNAVAIL,
                       "actor '%s' runs on node %s: ask through the control "
                       "endpoint",
                       name, s_where(self->by_idx[idx]));
        return NULL;
    }
    if (self->agent && !self->by_idx[idx]->here) {
        azo_reply_fail(reply, AZO_ENOTFOUND,
                       "actor '%s' does not run on node %s", name, self->node);
        return NULL;
    }
    if (self->stopping) {
        azo_reply_fail(reply, AZO_EUNAVAIL, "node %s is shutting down",
                       self->node);
        return NULL;
    }
    if (self->plan.active) {
        azo_reply_fail(reply, AZO_ECONFLICT,
                       "a group restart (%s) is in progress; try again",
                       azo_config_str(self->cfg, "supervisor/strategy"));
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
    case S_FAILED:
    case S_BACKOFF:
        s_child_cancel_timers(c);
        // From BACKOFF this is the restart the exit already planned, now.
        c->backoff_ms = 0;
        s_child_spawn(c, c->state == S_BACKOFF);
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
    if (c->state == S_STOPPED || c->state == S_FAILED)
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
    case S_FAILED:
    case S_BACKOFF:
        s_child_cancel_timers(c);
        c->backoff_ms = 0;            // asked for: no delay
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

// The actors of node at (S_HERE: this one), as names and states.
static void
s_pack_node_actors(azo_sup_t *self, msgpack_packer *pk, int at)
{
    azo_pack_str(pk, "actors");
    size_t arr = azo_pack_array_open(pk);
    uint32_t n = 0;
    for (int i = 0; i < self->nchildren; i++) {
        const s_child_t *c = &self->children[i];
        if (self->agent ? !c->here : c->at != at)
            continue;
        msgpack_pack_map(pk, 4);
        azo_pack_kstr(pk, "name", c->def->name);
        azo_pack_kstr(pk, "state", s_state_names[c->state]);
        azo_pack_kuint(pk, "epoch", c->epoch);
        azo_pack_kuint(pk, "gen", c->gen);
        n++;
    }
    azo_pack_array_close(pk, arr, n);
}

static int
s_cmd_nodes(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    azo_sup_t *self = arg;
    (void)req;
    int64_t now = s_now();
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 3);
    azo_pack_kint(pk, "heartbeat_ms", self->hb_ms);
    azo_pack_kint(pk, "liveness", self->liveness);
    azo_pack_str(pk, "nodes");
    msgpack_pack_array(pk, (uint32_t)(1 + (self->agent ? 0 : self->nnodes)));
    // This node first.
    msgpack_pack_map(pk, self->agent ? 9 : 5);
    azo_pack_kstr(pk, "name", self->node);
    azo_pack_kstr(pk, "role", self->agent ? "agent" : "supervisor");
    azo_pack_kstr(pk, "state", "up");
    azo_pack_kstr(pk, "address", self->endpoints[2]);
    if (self->agent) {
        azo_pack_kstr(pk, "supervisor",
                      self->sup_node[0] ? self->sup_node : NULL);
        azo_pack_kstr(pk, "supervisor_state",
                      self->sup_up     ? "up"
                      : self->sup_seen ? "lost"
                                       : "waiting");
        azo_pack_kint(pk, "last_heartbeat_ms",
                      self->sup_seen ? now - self->sup_last : -1);
        azo_pack_kuint(pk, "stale", self->stale);
    }
    s_pack_node_actors(self, pk, S_HERE);
    for (int i = 0; !self->agent && i < self->nnodes; i++) {
        const s_node_t *n = &self->nodes[i];
        msgpack_pack_map(pk, 12);
        azo_pack_kstr(pk, "name", n->name);
        azo_pack_kstr(pk, "role", "agent");
        azo_pack_kstr(pk, "state", s_node_states[n->state]);
        azo_pack_kstr(pk, "address", n->addr[0] ? n->addr : NULL);
        azo_pack_kstr(pk, "version", n->version[0] ? n->version : NULL);
        azo_pack_kint(pk, "pid", n->pid);
        azo_pack_kint(pk, "last_heartbeat_ms", n->seen ? now - n->seen : -1);
        azo_pack_kint(pk, "since", n->since);
        azo_pack_kuint(pk, "frames", n->frames);
        azo_pack_kuint(pk, "stale", n->stale);
        azo_pack_kuint(pk, "lost", n->lost);
        s_pack_node_actors(self, pk, i);
    }
    return 0;
}

static int
s_cmd_actor_move(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    azo_sup_t *self = arg;
    if (self->agent)
        return azo_reply_fail(reply, AZO_EUNAVAIL,
                              "node %s is an agent: ask the supervisor "
                              "(node %s) on its control endpoint",
                              self->node,
                              self->sup_node[0] ? self->sup_node : "?");
    const char *bad = azo_req_unknown_arg(req, "name,node");
    if (bad)
        return azo_reply_fail(reply, AZO_EBADREQ, "unknown argument '%s'", bad);
    const char *name = azo_req_str(req, "name");
    const char *node = azo_req_str(req, "node");
    if (!name || !node)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "args.name and args.node needed");
    int idx = azo_registry_find(self->reg, name);
    s_child_t *c = idx > AZO_REG_SUP ? self->by_idx[idx] : NULL;
    if (!c)
        return azo_reply_fail(reply, AZO_ENOTFOUND,
                              "no actor named '%s' is configured", name);
    int to = S_HERE;
    if (!streq(node, self->node)) {
        s_node_t *n = s_node_find(self, node);
        if (!n)
            return azo_reply_fail(reply, AZO_ENOTFOUND, "no node named '%s'",
                                  node);
        if (n->state != S_NODE_UP)
            return azo_reply_fail(reply, AZO_EUNAVAIL, "node %s is %s", node,
                                  s_node_states[n->state]);
        to = (int)(n - self->nodes);
    }
    if (self->stopping || self->plan.active)
        return azo_reply_fail(reply, AZO_EUNAVAIL,
                              "node %s is shutting down or restarting a group",
                              self->node);
    if (c->move_to != S_NOWHERE)
        return azo_reply_fail(reply, AZO_ECONFLICT,
                              "actor %s is already moving", name);
    if (c->at == to)
        return azo_reply_fail(reply, AZO_ECONFLICT,
                              "actor %s already runs on node %s", name, node);
    c->moved = true;
    s_relocate(c, to, "move");
    return s_wait_for(c, reply, S_RUNNING);
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
    {"actor.move", s_cmd_actor_move},
};
static const size_t s_ncmds = sizeof s_cmds / sizeof s_cmds[0];

// --- control requests
// ---------------------------------------------------------

// What a command may leave to do once its reply has left.
static void
s_after_command(azo_sup_t *self)
{
    if (self->shutdown_asked) {
        self->shutdown_asked = false;
        s_shutdown_begin(self);
    }
}

// Supervisor: actor.start/stop/restart of an actor on another node are
// that node's to carry out: the request goes to its agent, whose answer
// comes back as the reply. Returns false when req is not such a request.
static bool
s_remote_lifecycle(azo_sup_t *self, uint64_t seq, const azo_req_t *req,
                   const void *body, size_t len)
{
    if (self->agent ||
        (!streq(req->cmd, "actor.start") && !streq(req->cmd, "actor.stop") &&
         !streq(req->cmd, "actor.restart")))
        return false;
    const char *name = azo_req_str(req, "name");
    int idx = name ? azo_registry_find(self->reg, name) : -1;
    s_child_t *c = idx > AZO_REG_SUP ? self->by_idx[idx] : NULL;
    if (!c || c->here || self->stopping)
        return false;
    s_node_t *n = c->at >= 0 ? &self->nodes[c->at] : NULL;
    // The node answers, whatever its actor does meanwhile; losing the
    // node fails the request.
    char handler[AZO_NODE_MAX_NAME + 8];
    snprintf(handler, sizeof handler, "node %s", n ? n->name : "?");
    azo_ctl_set_handler(self->ctl, seq, handler);
    s_frame(self, AZO_BUS_REQUEST, AZO_REG_SUP, seq, body, len);
    if (!n || n->state != S_NODE_UP)
        azo_ctl_fail(self->ctl, seq, AZO_EUNAVAIL,
                     "actor %s runs on node %s, which is %s", name,
                     n ? n->name : "?", n ? s_node_states[n->state] : "?");
    else if (s_node_send(self, n, 0, self->out_sb.data, self->out_sb.size) < 0)
        azo_ctl_fail(self->ctl, seq, AZO_EUNAVAIL,
                     "node %s cannot take requests now (full)", n->name);
    return true;
}

// azo_ctl_fn: one decoded control request, seq names it.
static int
s_on_control(void *arg, uint64_t seq, const azo_req_t *req, const void *body,
             size_t len)
{
    azo_sup_t *self = arg;
    int owner = azo_registry_route(self->reg, req->cmd);
    if (owner == AZO_REG_SUP && s_remote_lifecycle(self, seq, req, body, len))
        return 0;
    if (owner == AZO_REG_SUP) {
        azo_cmd_ctx_t *ctx = &self->ctx;
        ctx->from = AZO_REG_SUP;
        ctx->token = seq;
        ctx->oneway = false;
        if (azo_cmd_run(s_cmds, s_ncmds, self, req, ctx))
            s_reply(self, ctx);
        s_after_command(self);
        return self->done ? -1 : 0;
    }
    s_child_t *c = self->by_idx[owner];
    const char *name = azo_registry_name(self->reg, owner);
    azo_ctl_set_handler(self->ctl, seq, name);
    if (!c)
        azo_ctl_fail(self->ctl, seq, AZO_EUNAVAIL,
                     "actor %s is not configured on this node", name);
    else if (self->agent && !c->here)
        azo_ctl_fail(self->ctl, seq, AZO_EUNAVAIL,
                     "actor %s does not run on node %s; ask the supervisor "
                     "(node %s) on its control endpoint",
                     name, self->node,
                     self->sup_node[0] ? self->sup_node : "?");
    else if (c->state != S_RUNNING && !c->here)
        azo_ctl_fail(self->ctl, seq, AZO_EUNAVAIL, "actor %s is %s on node %s",
                     name, s_state_names[c->state],
                     s_where(c) ? s_where(c) : "?");
    else if (c->state != S_RUNNING)
        azo_ctl_fail(self->ctl, seq, AZO_EUNAVAIL, "actor %s is %s", name,
                     s_state_names[c->state]);
    else if (s_send(self, owner, AZO_BUS_REQUEST, seq, body, len) < 0)
        azo_ctl_fail(self->ctl, seq, AZO_EUNAVAIL,
                     c->process && !c->connected
                         ? "actor %s is not connected"
                         : "actor %s cannot take requests now (full)",
                     name);
    return 0;
}

// --- frames from actors
// -------------------------------------------------------

// A request or reply from actor m->from to the supervisor.
static void
s_on_sup_frame(azo_sup_t *self, const azo_bus_msg_t *m)
{
    if (m->kind == AZO_BUS_REPLY) {
        azo_ctl_reply(self->ctl, m->token, m->body, m->len);
        return;
    }
    azo_cmd_ctx_t *ctx = &self->ctx;
    ctx->from = m->from;
    ctx->token = m->token;
    ctx->oneway = m->kind == AZO_BUS_CAST;
    char why[256] = "";
    if (azo_cmd_handle(s_cmds, s_ncmds, self, &self->req, ctx, m->body, m->len,
                       why, sizeof why))
        s_reply(self, ctx);
    s_after_command(self);
    if (why[0])
        azo_ratelog(&self->badlog, "bad request from %s: %s",
                    azo_registry_name(self->reg, m->from), why);
}

// Frames from thread actors.
static int
s_on_inbox(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    azo_sup_t *self = arg;
    void *raw = zsock_resolve(reader);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    for (int i = 0; i < S_DRAIN && !self->done; i++) {
        if (zmq_msg_recv(&msg, raw, ZMQ_DONTWAIT) < 0)
            break;
        azo_bus_msg_t m;
        const void *frame = zmq_msg_data(&msg);
        size_t size = zmq_msg_size(&msg);
        if (azo_bus_parse(frame, size, &m) < 0 || m.from <= AZO_REG_SUP ||
            m.from >= azo_registry_size(self->reg) || !self->by_idx[m.from])
            continue;
        s_child_t *c = self->by_idx[m.from];
        if (m.kind == AZO_BUS_LIFE) {
            azo_life_t life;
            if (azo_life_decode(m.body, m.len, &life) == 0)
                s_thread_life(c, &life);
        } else if (m.to == AZO_REG_SUP)
            s_on_sup_frame(self, &m);
        else
            s_forward(self, &m, frame, size); // to a process actor
    }
    zmq_msg_close(&msg);
    return self->done ? -1 : 0;
}

// An event from a process actor: topic, NUL, body.
static void
s_on_remote_event(azo_sup_t *self, const azo_bus_msg_t *m)
{
    const char *p = m->body;
    const char *nul = memchr(p, 0, m->len);
    if (!nul || !azo_wire_topic_ok(p, (size_t)(nul - p)))
        return;
    s_publish(self, p, (size_t)(nul - p), nul + 1,
              m->len - (size_t)(nul - p) - 1);
    if (self->agent) {
        s_child_t *c = m->from < AZO_REG_MAX ? self->by_idx[m->from] : NULL;
        if (c && c->here)
            s_event_up(self, m->from, p, (size_t)(nul - p), nul + 1,
                       m->len - (size_t)(nul - p) - 1);
    }
}

// Frames from process actors: [identity][frame].
static int
s_on_cluster(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    azo_sup_t *self = arg;
    void *raw = zsock_resolve(reader);
    zmq_msg_t id, msg;
    zmq_msg_init(&id);
    zmq_msg_init(&msg);
    for (int i = 0; i < S_DRAIN && !self->done; i++) {
        if (zmq_msg_recv(&id, raw, ZMQ_DONTWAIT) < 0)
            break;
        if (!zmq_msg_more(&id) || zmq_msg_recv(&msg, raw, 0) < 0)
            continue;
        // A node agent sends [epoch][frame]; a process actor one frame
        // (never 4 bytes: a frame has a 14-byte header).
        bool node = zmq_msg_size(&msg) == AZO_NODE_EPOCH_LEN &&
                    zmq_msg_more(&msg) && !self->agent;
        uint32_t epoch = 0;
        char addr[64] = "";
        if (node) {
            epoch = azo_node_epoch_read(zmq_msg_data(&msg));
            const char *pa = zmq_msg_gets(&msg, "Peer-Address");
            if (pa)
                snprintf(addr, sizeof addr, "%s", pa);
            if (zmq_msg_recv(&msg, raw, 0) < 0)
                continue;
        }
        bool extra = zmq_msg_more(&msg);
        while (zmq_msg_more(&msg) && zmq_msg_recv(&msg, raw, 0) >= 0)
            ; // a peer of ours sends one frame: drop the rest
        char ident[64];
        size_t idlen = zmq_msg_size(&id);
        azo_bus_msg_t m;
        const void *frame = zmq_msg_data(&msg);
        size_t size = zmq_msg_size(&msg);
        if (node) {
            if (extra || idlen == 0 || idlen >= sizeof ident ||
                azo_bus_parse(frame, size, &m) < 0 ||
                m.from >= azo_registry_size(self->reg) ||
                m.to >= azo_registry_size(self->reg)) {
                azo_ratelog(&self->badlog,
                            "cluster: dropped a malformed node frame");
                continue;
            }
            memcpy(ident, zmq_msg_data(&id), idlen);
            s_on_node_frame(self, ident, idlen, addr, epoch, &m, frame, size);
            continue;
        }
        if (extra || idlen == 0 || idlen >= sizeof ident ||
            azo_bus_parse(frame, size, &m) < 0 || m.from <= AZO_REG_SUP ||
            m.from >= azo_registry_size(self->reg) || !self->by_idx[m.from] ||
            !self->by_idx[m.from]->process) {
            azo_ratelog(&self->badlog, "cluster: dropped a malformed frame");
            continue;
        }
        memcpy(ident, zmq_msg_data(&id), idlen);
        ident[idlen] = 0;
        s_child_t *c = self->by_idx[m.from];
        if (m.kind == AZO_BUS_LIFE) {
            azo_life_t life;
            if (azo_life_decode(m.body, m.len, &life) == 0)
                s_process_life(c, ident, &life);
            continue;
        }
        // Everything else only from the instance that runs.
        if (!c->connected || strcmp(ident, c->ident) != 0)
            continue;
        c->last_hb = s_now();
        if (m.kind == AZO_BUS_EVENT)
            s_on_remote_event(self, &m);
        else if (m.to == AZO_REG_SUP)
            s_on_sup_frame(self, &m);
        else
            s_forward(self, &m, frame, size);
    }
    zmq_msg_close(&id);
    zmq_msg_close(&msg);
    return self->done ? -1 : 0;
}

// --- events forwarding
// ----------------------------------------------------------

// Moves every waiting multipart message from one socket to another.
static void
s_move(void *from, void *to)
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

// Agent: the actor that published an event body (its `src`), or -1.
static int
s_event_src(azo_sup_t *self, const void *body, size_t len)
{
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, 1024))
        return -1;
    msgpack_object root = {.type = MSGPACK_OBJECT_NIL};
    int idx = -1;
    if (azo_mp_unpack(body, len, &zone, &root) == 0) {
        const msgpack_object *src = azo_mp_get(&root, "src");
        char name[AZO_REG_MAX_NAME + 1];
        if (src && src->type == MSGPACK_OBJECT_STR &&
            src->via.str.size < sizeof name) {
            memcpy(name, src->via.str.ptr, src->via.str.size);
            name[src->via.str.size] = 0;
            idx = azo_registry_find(self->reg, name);
        }
    }
    msgpack_zone_destroy(&zone);
    return idx;
}

// Agent: events of thread actors go out here and up to the supervisor,
// each under its actor's epoch; a stale instance's are dropped.
static void
s_evin_agent(azo_sup_t *self, void *from)
{
    zmq_msg_t topic, body;
    zmq_msg_init(&topic);
    zmq_msg_init(&body);
    void *out = zsock_resolve(self->events);
    for (int i = 0; i < 1024; i++) {
        if (zmq_msg_recv(&topic, from, ZMQ_DONTWAIT) < 0)
            break;
        if (!zmq_msg_more(&topic) || zmq_msg_recv(&body, from, 0) < 0)
            continue;
        while (zmq_msg_more(&body) && zmq_msg_recv(&body, from, 0) >= 0)
            ;
        int src = s_event_src(self, zmq_msg_data(&body), zmq_msg_size(&body));
        s_child_t *c = src > AZO_REG_SUP ? self->by_idx[src] : NULL;
        if (!c || !c->here)
            continue; // a stale instance on its way out
        (void)zmq_send(out, zmq_msg_data(&topic), zmq_msg_size(&topic),
                       ZMQ_SNDMORE | ZMQ_DONTWAIT);
        (void)zmq_send(out, zmq_msg_data(&body), zmq_msg_size(&body),
                       ZMQ_DONTWAIT);
        s_event_up(self, src, zmq_msg_data(&topic), zmq_msg_size(&topic),
                   zmq_msg_data(&body), zmq_msg_size(&body));
    }
    zmq_msg_close(&topic);
    zmq_msg_close(&body);
}

static int
s_on_evin(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    azo_sup_t *self = arg;
    if (self->agent)
        s_evin_agent(self, zsock_resolve(reader));
    else
        s_move(zsock_resolve(reader), zsock_resolve(self->events));
    return 0;
}

// Subscriptions arriving at the XPUB: it filters by them itself; nothing
// upstream needs them (thread actors push every event).
static int
s_on_xpub(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    (void)arg;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    for (int i = 0; i < 1024; i++)
        if (zmq_msg_recv(&msg, zsock_resolve(reader), ZMQ_DONTWAIT) < 0)
            break;
    zmq_msg_close(&msg);
    return 0;
}

// --- open / run / close
// ---------------------------------------------------------

// Takes <data_dir>/azod.lock so that two nodes never share a data directory.
static int
s_lock(azo_sup_t *self, char *err, size_t errlen)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/azod.lock", self->data_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return azo_err_set(err, errlen, -errno, "%s: cannot open: %s", path,
                           strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int rc = -errno;
        char pid[32] = "?";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 1] = 0;
        pid[strcspn(pid, "\n")] = 0;
        close(fd);
        if (rc == -EWOULDBLOCK)
            return azo_err_set(err, errlen, AZO_ECONFLICT,
                               "%s is in use by another azod (pid %s)",
                               self->data_dir, pid);
        return azo_err_set(err, errlen, rc, "%s: cannot lock: %s", path,
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
        return azo_err_set(err, errlen, -EADDRINUSE,
                           "cannot bind %s = %s: in use by another process",
                           key, ep);
    if (strncmp(ep, "tcp://[", 7) == 0)
        zsock_set_ipv6(sock, 1); // only then: IPv4 binds stay IPv4 in names
    if (zsock_bind(sock, "%s", ep) < 0)
        return azo_err_set(err, errlen, -errno, "cannot bind %s = %s: %s", key,
                           ep, zmq_strerror(errno));
    return 0;
}

// Removes the ipc socket files of the endpoints we bound: libzmq leaves them
// behind (s_bind made sure nobody else was serving there when we bound).
// Idempotent; also called before an _exit that skips azo_sup_close.
static void
s_unlink_ipc(azo_sup_t *self)
{
    for (int i = 0; i < 3; i++) {
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
            return azo_err_set(err, errlen, idx, "cannot register actor %s: %s",
                               defs[i]->name, azo_err_str(idx));
        self->defs[idx] = defs[i];
    }
    const azo_config_t *cfg = self->cfg;
    zconfig_t *actors = azo_config_section(cfg, "actors");
    for (zconfig_t *a = actors ? zconfig_child(actors) : NULL; a;
         a = zconfig_next(a)) {
        const char *name = zconfig_name(a);
        int idx = azo_registry_find(self->reg, name);
        if (idx <= AZO_REG_SUP) // the schema admits only known actors
            return azo_err_set(err, errlen, AZO_EBADREQ, "actors/%s: unknown",
                               name);
        s_child_t *c = &self->children[self->nchildren];
        c->order = self->nchildren++;
        c->sup = self;
        c->def = self->defs[idx];
        c->idx = idx;
        c->want_running = true;
        c->stop_timer = c->restart_timer = c->standby_timer = -1;
        azo_proc_init(&c->proc);
        azo_proc_init(&c->standby);
        char key[128];
#define S_KEY(rel) (snprintf(key, sizeof key, "actors/%s/" rel, name), key)
        c->process = streq(azo_config_str(cfg, S_KEY("mode")), "process");
        c->use_standby = azo_config_bool(cfg, S_KEY("standby"), false);
        const char *policy = azo_config_str(cfg, S_KEY("restart"));
        c->policy = streq(policy, "transient")   ? S_RESTART_TRANSIENT
                    : streq(policy, "temporary") ? S_RESTART_TEMPORARY
                                                 : S_RESTART_PERMANENT;
        c->shutdown_ms = azo_config_ms(cfg, S_KEY("shutdown"), 5000);
        c->heartbeat_ms = azo_config_ms(cfg, S_KEY("heartbeat"), 1000);
        c->liveness = (int)azo_config_int(cfg, S_KEY("liveness"), 3);
        c->start_timeout_ms = azo_config_ms(cfg, S_KEY("start_timeout"), 30000);
        c->bo_min = azo_config_ms(cfg, S_KEY("backoff/min"), 100);
        c->bo_max = azo_config_ms(cfg, S_KEY("backoff/max"), 30000);
        c->bo_factor = azo_config_real(cfg, S_KEY("backoff/factor"), 2.0);
        c->bo_jitter = azo_config_real(cfg, S_KEY("backoff/jitter"), 0.1);
        c->bo_reset = azo_config_ms(cfg, S_KEY("backoff/reset_after"), 10000);
        c->failover = azo_config_bool(cfg, S_KEY("failover"), c->def->failover);
        int rc = s_parse_pref(azo_config_str(cfg, S_KEY("node")), c->pref,
                              &c->npref, key, err, errlen);
#undef S_KEY
        if (rc < 0)
            return rc;
        c->move_to = S_NOWHERE;
        c->at = S_HERE;
        // A node agent runs what the supervisor assigns, nothing before.
        c->here = !self->agent;
        c->want_running = c->here;
        azo_registry_set_remote(self->reg, idx, c->here ? c->process : true);
        if (!c->here)
            azo_registry_set_up(self->reg, idx, 0); // up the uplink
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
        return azo_err_set(
            err, errlen, AZO_EBADREQ,
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
azo_sup_check(const azo_config_t *cfg, const azo_actor_def_t *const *defs,
              size_t ndefs, char *err, size_t errlen)
{
    char node[65];
    int rc = s_node_name(cfg, node, err, errlen);
    if (rc < 0)
        return rc;
    if ((rc = azo_sec_check(cfg, err, errlen)) < 0)
        return rc;
    bool insecure = azo_config_bool(cfg, "endpoints/insecure", false);
    bool curve = azo_sec_enabled(cfg);
    for (int i = 0; i < 3; i++) {
        const char *ep = azo_config_str(cfg, s_ep_keys[i]);
        if (!insecure && !curve && !s_loopback(ep))
            return azo_err_set(
                err, errlen, AZO_EFORBIDDEN,
                "%s = %s is not a loopback address, and CURVE is "
                "off (security/curve = 0): anyone who can reach it "
                "%s. Bind 127.0.0.1 or an ipc:// path, set "
                "security/curve = 1 (see docs/security.md), or set "
                "endpoints/insecure = 1 to expose it anyway",
                s_ep_keys[i], ep, s_ep_risk[i]);
    }
    bool inproc =
        strncmp(azo_config_str(cfg, "endpoints/cluster"), "inproc://", 9) == 0;
    zconfig_t *actors = azo_config_section(cfg, "actors");
    for (zconfig_t *a = actors ? zconfig_child(actors) : NULL; a;
         a = zconfig_next(a)) {
        char key[128];
        snprintf(key, sizeof key, "actors/%s/mode", zconfig_name(a));
        const char *mode = azo_config_str(cfg, key);
        if (inproc && streq(mode, "process"))
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "%s = process, but a process cannot reach "
                               "endpoints/cluster = %s; use ipc:// or tcp://",
                               key, azo_config_str(cfg, "endpoints/cluster"));
        snprintf(key, sizeof key, "actors/%s/node", zconfig_name(a));
        char pref[S_MAX_PREF][AZO_NODE_MAX_NAME + 1];
        int npref;
        if ((rc = s_parse_pref(azo_config_str(cfg, key), pref, &npref, key, err,
                               errlen)) < 0)
            return rc;
        snprintf(key, sizeof key, "actors/%s/standby", zconfig_name(a));
        if (azo_config_bool(cfg, key, false) && !streq(mode, "process"))
            return azo_err_set(
                err, errlen, AZO_EBADREQ,
                "%s = 1 needs mode = process (a thread has nothing "
                "to pre-start)",
                key);
    }
    for (size_t i = 0; i < ndefs; i++) {
        char base[128];
        snprintf(base, sizeof base, "actors/%s", defs[i]->name);
        if (defs[i]->check && azo_config_section(cfg, base) &&
            (rc = defs[i]->check(cfg, base, err, errlen)) < 0)
            return rc;
    }
    return 0;
}

static int
s_setup_node(azo_sup_t *self, const azo_actor_def_t *const *defs, size_t ndefs,
             char *err, size_t errlen)
{
    int rc = azo_sup_check(self->cfg, defs, ndefs, err, errlen);
    if (rc < 0 || (rc = s_node_name(self->cfg, self->node, err, errlen)) < 0)
        return rc;
    const char *strategy = azo_config_str(self->cfg, "supervisor/strategy");
    self->strategy = streq(strategy, "one_for_all")    ? S_ONE_FOR_ALL
                     : streq(strategy, "rest_for_one") ? S_REST_FOR_ONE
                                                       : S_ONE_FOR_ONE;
    for (int i = 0; i < 3; i++)
        snprintf(self->endpoints[i], sizeof self->endpoints[i], "%s",
                 azo_config_str(self->cfg, s_ep_keys[i]));
    const char *dir = azo_config_str(self->cfg, "node/data_dir");
    if (strlen(dir) + 32 >= sizeof self->data_dir)
        return azo_err_set(err, errlen, AZO_EBADREQ, "node/data_dir: too long");
    strcpy(self->data_dir, dir);
    char why[PATH_MAX + 64];
    rc = azo_fs_mkdirs(dir, 0700, why, sizeof why);
    if (rc < 0)
        return azo_err_set(err, errlen, rc, "node/data_dir: %s", why);
    // Process actors are this binary, started again.
    ssize_t n = readlink("/proc/self/exe", self->exe, sizeof self->exe - 1);
    if (n <= 0)
        return azo_err_set(err, errlen, -errno,
                           "cannot find our own binary: %s", strerror(errno));
    self->exe[n] = 0;
    return 0;
}

// Writes the validated configuration (defaults and overrides applied) for
// process actors to load: they see exactly what the supervisor saw.
static int
s_write_effective(azo_sup_t *self, char *err, size_t errlen)
{
    snprintf(self->effective_cfg, sizeof self->effective_cfg,
             "%s/azod.effective.cfg", self->data_dir);
    return azo_config_save(self->cfg, self->effective_cfg, err, errlen);
}

// What process actors connect to: the cluster endpoint as bound, with a
// wildcard host made a loopback one.
static void
s_cluster_connect(azo_sup_t *self)
{
    const char *ep = self->endpoints[2];
    if (strncmp(ep, "tcp://0.0.0.0:", 14) == 0)
        snprintf(self->cluster_connect, sizeof self->cluster_connect,
                 "tcp://127.0.0.1:%s", ep + 14);
    else if (strncmp(ep, "tcp://[::]:", 11) == 0)
        snprintf(self->cluster_connect, sizeof self->cluster_connect,
                 "tcp://[::1]:%s", ep + 11);
    else
        snprintf(self->cluster_connect, sizeof self->cluster_connect, "%s", ep);
}

// Supervisor: keeps the effective configuration's text for node agents.
static int
s_load_cfg_text(azo_sup_t *self, char *err, size_t errlen)
{
    char why[256];
    int rc =
        azo_fs_read_file(AT_FDCWD, self->effective_cfg, 0, AZO_MP_MAX_BYTES / 4,
                         &self->cfg_text, &self->cfg_len, why, sizeof why);
    if (rc < 0)
        return azo_err_set(err, errlen, rc, "%s: %s", self->effective_cfg, why);
    // An agent's own keys are its own: the top-level sections node,
    // endpoints, security and store, and cluster/server_key and
    // cluster/cert, are left out (azo_config_save writes a section's name
    // at column 0 and each level four spaces deeper).
    static const char *const own[] = {"node", "endpoints", "security", "store"};
    char *out = self->cfg_text;
    bool skip = false, cluster = false;
    for (char *line = self->cfg_text; *line;) {
        char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) + 1 : strlen(line);
        if (line[0] != ' ' && line[0] != '#') {
            size_t w = strcspn(line, " \n");
            skip = false;
            for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
                skip = skip ||
                       (w == strlen(own[i]) && strncmp(line, own[i], w) == 0);
            cluster = w == 7 && strncmp(line, "cluster", 7) == 0;
        }
        bool drop =
            skip || (cluster && (strncmp(line, "    cert ", 9) == 0 ||
                                 strncmp(line, "    server_key ", 15) == 0));
        if (!drop) {
            memmove(out, line, n);
            out += n;
        }
        line += n;
    }
    *out = 0;
    self->cfg_len = (size_t)(out - self->cfg_text);
    return 0;
}

static int s_open(azo_sup_t **out, const azo_config_t *cfg,
                  const azo_actor_def_t *const *defs, size_t ndefs,
                  zsock_t **uplink, const char *join, char *err, size_t errlen);

int
azo_sup_open(azo_sup_t **out, const azo_config_t *cfg,
             const azo_actor_def_t *const *defs, size_t ndefs, char *err,
             size_t errlen)
{
    return s_open(out, cfg, defs, ndefs, NULL, NULL, err, errlen);
}

int
azo_sup_open_agent(azo_sup_t **out, const azo_config_t *cfg,
                   const azo_actor_def_t *const *defs, size_t ndefs,
                   zsock_t **uplink, const char *join, char *err, size_t errlen)
{
    assert(uplink && *uplink && join);
    return s_open(out, cfg, defs, ndefs, uplink, join, err, errlen);
}

static int
s_open(azo_sup_t **out, const azo_config_t *cfg,
       const azo_actor_def_t *const *defs, size_t ndefs, zsock_t **uplink,
       const char *join, char *err, size_t errlen)
{
    assert(out && cfg && (defs || ndefs == 0));
    *out = NULL;
    if (err && errlen)
        err[0] = 0;
    azo_sup_t *self = calloc(1, sizeof *self);
    if (!self) {
        if (uplink)
            zsock_destroy(uplink);
        return -ENOMEM;
    }
    self->cfg = cfg;
    if (uplink) {
        self->agent = true;
        self->uplink = *uplink; // ours from now on, even on failure
        *uplink = NULL;
        snprintf(self->join, sizeof self->join, "%s", join);
    }
    self->hb_ms = azo_config_ms(cfg, "cluster/heartbeat", 1000);
    self->liveness = (int)azo_config_int(cfg, "cluster/liveness", 3);
    msgpack_sbuffer_init(&self->node_sb);
    self->lock_fd = -1;
    self->signal_fd = -1;
    self->boot_next = -1;
    self->plan.timer = -1;
    self->started_mono = s_now();
    self->started_wall = azo_wire_now_ms();
    self->rng = (uint64_t)self->started_wall * 2654435761u ^ (uint64_t)getpid();
    if (!self->rng)
        self->rng = 1;
    self->hwm = (int)azo_config_int(cfg, "limits/queue", 10000);
    self->max_restarts =
        (int)azo_config_int(cfg, "supervisor/max_restarts", 10);
    self->period_ms = azo_config_ms(cfg, "supervisor/period", 60000);
    msgpack_sbuffer_init(&self->ev_sb);
    msgpack_packer_init(&self->ev_pk, &self->ev_sb, msgpack_sbuffer_write);
    msgpack_sbuffer_init(&self->life_sb);
    msgpack_sbuffer_init(&self->out_sb);
    azo_cmd_ctx_init(&self->ctx);
    azo_ratelog_init(&self->badlog, 1000);
    int rc = azo_req_init(&self->req);
    self->restart_times =
        calloc((size_t)self->max_restarts + 1, sizeof(int64_t));
    self->reg = azo_registry_new();
    if (rc < 0 || !self->restart_times || !self->reg) {
        rc = azo_err_set(err, errlen, -ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = s_setup_node(self, defs, ndefs, err, errlen)) < 0 ||
        (rc = s_setup_children(self, defs, ndefs, err, errlen)) < 0 ||
        (rc = s_lock(self, err, errlen)) < 0 ||
        (rc = s_write_effective(self, err, errlen)) < 0 ||
        (!self->agent && (rc = s_load_cfg_text(self, err, errlen)) < 0) ||
        (rc = azo_sec_open(&self->sec, cfg, err, errlen)) < 0)
        goto fail;
    self->up_idx = -1;
    if (self->agent) {
        // The supervisor, as a party of this node: the answers to its
        // requests go up the uplink.
        self->up_idx = azo_registry_add(self->reg, "uplink", NULL);
        if (self->up_idx < 0) {
            rc = azo_err_set(err, errlen, self->up_idx,
                             "cannot register the uplink: %s",
                             azo_err_str(self->up_idx));
            goto fail;
        }
        azo_registry_set_remote(self->reg, self->up_idx, true);
        azo_registry_set_up(self->reg, self->up_idx, 0);
    }

    const char *dbs[AZO_REG_MAX];
    size_t ndbs = 0;
    for (int i = 0; i < azo_registry_size(self->reg); i++)
        if (i != self->up_idx)
            dbs[ndbs++] = azo_registry_name(self->reg, i);
    snprintf(self->store_path, sizeof self->store_path, "%s/azo.lmdb",
             self->data_dir);
    rc = azo_store_open(&self->store, self->store_path,
                        azo_config_size(cfg, "store/map_size", 1 << 30), dbs,
                        ndbs, err, errlen);
    if (rc < 0)
        goto fail;
    char run_path[PATH_MAX + 32];
    snprintf(run_path, sizeof run_path, "%s/azod.run.lmdb", self->data_dir);
    static const char *const run_dbs[] = {"proc"};
    rc = azo_store_open_flags(&self->run, run_path, 1 << 20, run_dbs, 1,
                              AZO_STORE_VOLATILE, err, errlen);
    if (rc < 0)
        goto fail;
    self->run_db = azo_store_db(self->run, "proc");
    if (!self->agent)
        s_placement_load(self);

    self->bus = azo_bus_new(self->reg, AZO_REG_SUP, self->hwm);
    self->ctl_sock = zsock_new(ZMQ_ROUTER);
    self->events = zsock_new(ZMQ_XPUB);
    self->evin = zsock_new(ZMQ_PULL);
    self->cluster = zsock_new(ZMQ_ROUTER);
    self->ctl = azo_ctl_new(
        self->ctl_sock, azo_config_ms(cfg, "supervisor/request_timeout", 10000),
        s_on_control, self);
    if (!self->bus || !self->ctl_sock || !self->events || !self->evin ||
        !self->cluster || !self->ctl) {
        rc = azo_err_set(err, errlen, -ENOMEM, "out of memory");
        goto fail;
    }
    azo_ctl_set_limits(
        self->ctl,
        &(azo_ctl_limits_t){
            .client_pending = (size_t)azo_config_int(
                cfg, "limits/client_pending", AZO_CTL_CLIENT_PENDING),
            .pending =
                (size_t)azo_config_int(cfg, "limits/pending", AZO_CTL_PENDING),
            .pending_bytes = (size_t)azo_config_size(
                cfg, "limits/pending_bytes", AZO_CTL_PENDING_BYTES)});
    int64_t max_msg = azo_config_size(cfg, "limits/max_msg", 1 << 20);
    zsock_set_maxmsgsize(self->ctl_sock, max_msg);
    zsock_set_linger(self->ctl_sock, S_LINGER_MS);
    zsock_set_maxmsgsize(self->events, S_EVENTS_MAXMSG);
    zsock_set_linger(self->events, S_LINGER_MS);
    zsock_set_linger(self->evin, 0);
    zsock_set_rcvhwm(self->evin, self->hwm);
    // Frames to process actors carry control requests plus a header.
    zsock_set_maxmsgsize(self->cluster, max_msg + 4096);
    zsock_set_linger(self->cluster, S_LINGER_MS);
    zsock_set_router_mandatory(self->cluster, 1);
    zsock_set_router_handover(self->cluster, 1);
    zsock_set_sndhwm(self->cluster, self->hwm);
    zsock_set_rcvhwm(self->cluster, self->hwm);
    zsock_t *outward[3] = {self->ctl_sock, self->events, self->cluster};
    for (int i = 0; i < 3; i++) {
        if (self->sec)
            azo_sec_server(self->sec, outward[i], self->endpoints[i]);
        // ipc socket files are born 0700: only our user may connect.
        mode_t old = umask(077);
        rc = s_bind(outward[i], s_ep_keys[i], self->endpoints[i], err, errlen);
        umask(old);
        if (rc < 0)
            goto fail;
        self->bound[i] = true;
        s_bound_endpoint(outward[i], self->endpoints[i],
                         sizeof self->endpoints[i]);
    }
    s_cluster_connect(self);
    char inproc[128];
    azo_registry_events_endpoint(self->reg, inproc, sizeof inproc);
    rc = s_bind(self->evin, "events (inproc)", inproc, err, errlen);
    if (rc < 0)
        goto fail;
    rc = azo_bus_inbox_open(self->reg, AZO_REG_SUP, 0, self->hwm, &self->inbox);
    if (rc < 0) {
        azo_err_set(err, errlen, rc, "cannot bind the supervisor inbox: %s",
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
        if (self->stopping)
            continue; // already on its way
        zsys_info("%s received: stopping the node",
                  si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
        s_shutdown_begin(self);
    }
    return self->done ? -1 : 0;
}

// Takes over the process actors an earlier supervisor of this data
// directory left running (it crashed or was killed): their pids and start
// times are in the store. A process that is gone, or a different one now
// under that pid, is forgotten and its actor starts afresh.
static void
s_adopt(azo_sup_t *self)
{
    msgpack_zone *zone = msgpack_zone_new(1024);
    for (int i = 0; zone && i < self->nchildren; i++) {
        s_child_t *c = &self->children[i];
        if (!c->process || !c->here)
            continue;
        char key[64];
        snprintf(key, sizeof key, "proc/%s", c->def->name);
        azo_txn_t *txn = NULL;
        msgpack_object rec;
        int64_t pid = 0, st = 0, gen = 0;
        if (azo_store_begin(self->run, false, &txn) == 0 &&
            azo_txn_get_mp(txn, self->run_db, key, strlen(key), zone, &rec) ==
                0) {
            (void)azo_mp_int(azo_mp_get(&rec, "pid"), &pid);
            (void)azo_mp_int(azo_mp_get(&rec, "start_time"), &st);
            (void)azo_mp_int(azo_mp_get(&rec, "gen"), &gen);
        }
        azo_store_abort(&txn);
        msgpack_zone_clear(zone);
        if (pid <= 0)
            continue;
        int rc = azo_proc_adopt(&c->proc, (pid_t)pid, (uint64_t)st, "--actor",
                                c->def->name);
        if (rc < 0 || gen <= 0 || s_watch(self, c, c->proc.pidfd) < 0) {
            azo_proc_close(&c->proc);
            s_record(self, c); // forget it
            continue;
        }
        c->gen = (uint32_t)gen;
        c->adopted = true;
        c->state = S_STARTING;
        c->started_mono = c->last_hb = s_now();
        zsys_info("actor %s: adopting pid %lld (gen %lld) from an earlier "
                  "supervisor",
                  c->def->name, (long long)pid, (long long)gen);
    }
    if (zone)
        msgpack_zone_free(zone);
}

// The loop ended without stopping everything (the ZeroMQ context went, or
// a reactor error): no orphans, whatever it takes.
static void
s_stop_hard(azo_sup_t *self)
{
    for (int i = 0; i < self->nchildren; i++) {
        s_child_t *c = &self->children[i];
        azo_proc_t *procs[2] = {&c->proc, &c->standby};
        for (int k = 0; k < 2; k++)
            if (procs[k]->pid > 0) {
                char how[32];
                bool failed;
                (void)azo_proc_signal(procs[k], SIGKILL);
                zmq_pollitem_t item = {NULL, procs[k]->pidfd, ZMQ_POLLIN, 0};
                (void)zmq_poll(&item, 1, 1000);
                if (azo_proc_reap(procs[k], how, sizeof how, &failed) < 0)
                    azo_proc_close(procs[k]);
            }
        s_unpark(c);
        if (c->has_thread) {
            (void)zstr_send(c->pipe, "$TERM");
            zsock_destroy(&c->pipe);
            pthread_detach(c->thread);
            c->has_thread = false;
            self->abandoned = true;
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
    // Only our handlers end the loop, once every actor has stopped.
    zloop_set_nonstop(self->loop, true);
    // The monitor looks twice per the shortest heartbeat or start_timeout.
    int64_t check = 1000;
    for (int i = 0; i < self->nchildren; i++) {
        const s_child_t *c = &self->children[i];
        int64_t shortest = c->heartbeat_ms < c->start_timeout_ms
                               ? c->heartbeat_ms
                               : c->start_timeout_ms;
        if (shortest / 2 < check)
            check = shortest / 2;
    }
    if (check < 10)
        check = 10;
    self->monitor_ms = check;
    if (azo_ctl_attach(self->ctl, self->loop) < 0 ||
        zloop_reader(self->loop, self->inbox, s_on_inbox, self) < 0 ||
        zloop_reader(self->loop, self->cluster, s_on_cluster, self) < 0 ||
        zloop_reader(self->loop, self->evin, s_on_evin, self) < 0 ||
        zloop_reader(self->loop, self->events, s_on_xpub, self) < 0 ||
        zloop_timer(self->loop, (size_t)check, 0, s_on_monitor, self) < 0 ||
        zloop_timer(self->loop,
                    (size_t)(self->hb_ms / 2 > 5 ? self->hb_ms / 2 : 5), 0,
                    s_on_cluster_tick, self) < 0 ||
        (self->agent &&
         zloop_reader(self->loop, self->uplink, s_on_uplink, self) < 0) ||
        (self->sec && azo_sec_attach(self->sec, self->loop) < 0)) {
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
    zsys_info("node %s: control %s, events %s, cluster %s, data %s", self->node,
              self->endpoints[0], self->endpoints[1], self->endpoints[2],
              self->data_dir);
    if (self->agent) {
        zsys_info("node agent %s: joining %s", self->node, self->join);
        s_agent_hello(self);
    } else
        s_adopt(self);
    // Process actors' processes all start now, side by side; each is
    // activated in config order once its turn comes and it is ready.
    for (int i = 0; i < self->nchildren; i++) {
        s_child_t *c = &self->children[i];
        if (c->process && c->gen == 0 && c->want_running && c->here)
            s_standby_spawn(c);
    }
    self->boot_next = 0;
    s_boot_next(self);
    if (!self->done)
        zloop_start(self->loop);
    if (!self->done) {
        zsys_error("the supervisor's loop ended early; stopping actors hard");
        s_stop_hard(self);
    }
    azo_ctl_fail_all(self->ctl, AZO_EUNAVAIL, "the node is shutting down");
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
    for (int i = 0; i < self->nchildren; i++) {
        s_child_t *c = &self->children[i];
        assert(!c->has_thread); // azo_sup_run stopped them all
        azo_proc_close(&c->proc);
        azo_proc_close(&c->standby);
    }
    while (self->deferred) {
        azo_cmd_ctx_t *ctx = self->deferred;
        azo_cmd_ctx_free(&ctx, &self->deferred);
    }
    azo_ctl_destroy(&self->ctl); // before the loop: tickets live there
    azo_sec_destroy(&self->sec); // and its poller
    zloop_destroy(&self->loop);
    zsock_destroy(&self->inbox);
    zsock_destroy(&self->evin);
    zsock_destroy(&self->events);
    zsock_destroy(&self->ctl_sock);
    zsock_destroy(&self->cluster);
    zsock_destroy(&self->uplink);
    s_unlink_ipc(self);
    azo_bus_destroy(&self->bus);
    if (!self->abandoned)
        azo_store_close(&self->store); // an abandoned thread may use it
    azo_store_close(&self->run);
    if (self->lock_fd >= 0)
        close(self->lock_fd);
    azo_registry_destroy(&self->reg);
    azo_req_fini(&self->req);
    azo_cmd_ctx_fini(&self->ctx);
    msgpack_sbuffer_destroy(&self->ev_sb);
    msgpack_sbuffer_destroy(&self->life_sb);
    msgpack_sbuffer_destroy(&self->out_sb);
    msgpack_sbuffer_destroy(&self->node_sb);
    free(self->cfg_text);
    free(self->restart_times);
    free(self);
    *self_p = NULL;
}
