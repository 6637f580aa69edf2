// azo_health — the health-checker actor. It judges three kinds of things:
//   - actors, from the supervisor's view of them (its `status` command,
//     read every `watch`): heartbeat age in heartbeat intervals, and CPU
//     and memory from /proc;
//   - the node: CPU, memory, load, free space of the data directory, and
//     whether the supervisor answers;
//   - probed targets from config (tcp, http, exec, zmq), each on its own
//     period, all in flight at once through one probe engine (hc_probe),
//     judged with failure and success thresholds (hc_state).
// A change of state publishes health.<kind>.<name>; health.node.<node>
// also carries a periodic summary. A target that is down may restart an
// actor (through the supervisor) or run a command, at most once per
// action_every. health.status answers from a cache (cache_ttl, rebuilt at
// once after any change of state); health.check probes now and answers
// with the results.
#include "azo_health.h"

#include "azo_err.h"
#include "azo_heap.h"
#include "azo_mp.h"
#include "hc_conf.h"
#include "hc_metrics.h"
#include "hc_probe.h"
#include "hc_state.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_HIST               8 // results kept per target (health.status {target})
#define S_CHECKS_MAX         64 // health.check replies pending at once
#define S_ACTORS_MAX         64 // actors of a node
#define S_PROBLEMS           32 // names listed in a summary
#define S_RESTART_TIMEOUT_MS 60000
// Targets per health.status page and results per health.check answer: a
// reply stays well under a client's decoding limits (azo_mp: 65536
// objects) whatever the number of targets.
#define S_PAGE 1000

typedef struct s_health s_health_t;
typedef struct s_check s_check_t;

typedef struct {
    int64_t ts, ms;
    bool ok;
    char detail[120];
} s_hist_t;

typedef struct {
    s_health_t *hs; // borrowed back pointer
    hc_target_cfg_t cfg;
    hc_track_t track;
    azo_heap_node_t node; // next periodic probe (monotonic ms)
    uint64_t probe;       // id in flight, 0 when none
    int64_t started;      // monotonic start of the probe in flight
    int64_t since;        // wall ms of the last change of state
    s_hist_t hist[S_HIST];
    int nhist, hist_at;  // ring
    s_check_t **waiters; // health.check replies waiting for the probe
    size_t nwaiters, capwaiters;
    uint64_t actions, suppressed;
    int64_t run_last;      // monotonic: last run action
    int64_t *restart_last; // monotonic: last restart of cfg.restart, shared
                           // by the targets restarting the same actor
    uint64_t run_probe;    // run action in flight
} s_target_t;

struct s_check {
    azo_reply_t *reply; // owned by the runtime until azo_actor_reply
    const char *target; // NULL: all targets
    size_t remaining, total, nok;
    size_t listed;   // results packed (at most S_PAGE; failures first past it)
    int64_t started; // monotonic
    msgpack_sbuffer results;
    msgpack_packer pk;
    s_check_t *next, *prev;
};

typedef struct {
    char name[64];
    char mode[16];
    char sup_state[16];
    hc_state_t state;
    const char *why;  // static text
    char why_res[96]; // resource threshold crossed, "" when none
    int missed;
    int64_t pid, tid, hb_age, hb_ms, restarts;
    int64_t since;
    uint64_t ticks;
    int64_t ticks_at; // monotonic ms of ticks, 0 when none
    double cpu_pct;   // -1 unknown
    int64_t rss;      // -1 unknown (thread actors share azod's)
    bool seen;
} s_actor_t;

struct s_health {
    azo_actor_t *actor; // borrowed
    hc_probe_t *probe;  // owned
    const azo_config_t *cfg;
    char base[128];
    s_target_t *targets;
    size_t ntargets;
    zhashx_t *by_name;      // target name -> s_target_t (borrowed)
    zhashx_t *restart_last; // actor name -> int64_t (owned): rate limits
    azo_heap_t due;
    int timer; // azo_actor_timer_at id for the heap top, 0 when none
    int64_t timer_at;
    int loop_timers[3]; // zloop ids: watch, metrics, summary (-1: none)

    // Actors.
    int64_t watch_ms;
    int liveness;
    bool watch_busy;
    s_actor_t actors[S_ACTORS_MAX];
    int nactors;

    // The node.
    const char *data_dir;
    hc_state_t node_state;
    char node_why[200];
    int64_t node_since;
    bool sup_silent;
    hc_cpu_t cpu_prev;
    int64_t cpu_prev_at;
    double cpu_pct; // -1 unknown
    hc_mem_t mem;
    double load[3];
    uint64_t disk_free, disk_total;
    bool has_mem, has_load, has_disk;
    double th_cpu, th_mem, th_load, th_actor_cpu;
    int64_t th_disk, th_actor_rss;
    long ncpu;

    // health.status cache.
    msgpack_sbuffer cache;
    int64_t cache_at; // monotonic, 0: none
    int64_t ttl_ms;
    bool dirty;

    s_check_t *checks;
    int nchecks;
    size_t self_pending; // targets waiting for the node's control endpoint
};

// --- config -----------------------------------------------------------------

static const azo_cfg_key_t s_keys[] = {
    {"watch", AZO_CFG_DURATION, "500ms", 50, 60000, NULL,
     "how often the supervisor's view of the actors is read"},
    {"actor_liveness", AZO_CFG_INT, "2", 1, 1000, NULL,
     "heartbeats an actor may miss before the health-checker calls it down "
     "(keep it below the actors' own liveness)"},
    {"cache_ttl", AZO_CFG_DURATION, "5s", 0, 3600000, NULL,
     "how long a health.status answer is served from the cache"},
    {"summary", AZO_CFG_DURATION, "30s", 0, 86400000, NULL,
     "how often health.node.<node> carries the whole picture (0: never)"},
    {"metrics", AZO_CFG_SECTION, NULL, 0, 0, NULL, "system metrics"},
    {"metrics/period", AZO_CFG_DURATION, "5s", 100, 3600000, NULL,
     "how often /proc is read"},
    {"metrics/cpu", AZO_CFG_REAL, "95", 0, 100, NULL,
     "node CPU busy percent above which the node is degraded (0: off)"},
    {"metrics/memory", AZO_CFG_REAL, "90", 0, 100, NULL,
     "percent of memory in use above which the node is degraded (0: off)"},
    {"metrics/load", AZO_CFG_REAL, "0", 0, 10000, NULL,
     "1-minute load per CPU above which the node is degraded (0: off)"},
    {"metrics/disk_free", AZO_CFG_SIZE, "512MiB", 0, 0, NULL,
     "free space of the data directory below which the node is degraded "
     "(0: off)"},
    {"metrics/actor_cpu", AZO_CFG_REAL, "0", 0, 10000, NULL,
     "percent of one CPU an actor may use before it is degraded (0: off)"},
    {"metrics/actor_rss", AZO_CFG_SIZE, "0", 0, 0, NULL,
     "resident memory a process actor may use before it is degraded "
     "(0: off)"},
    {"targets", AZO_CFG_SECTION, NULL, 0, 0, NULL, "a section of targets"},
    {"targets/*", AZO_CFG_SECTION, NULL, 0, 0, NULL,
     "a probed target: a section named after it"},
    {"targets/*/tcp", AZO_CFG_STR, NULL, 0, 0, NULL,
     "host:port that must accept a connection"},
    {"targets/*/http", AZO_CFG_STR, NULL, 0, 0, NULL,
     "a URL whose GET must answer 2xx or 3xx"},
    {"targets/*/exec", AZO_CFG_STR, NULL, 0, 0, NULL,
     "a command (no shell) that must exit 0: words, or a JSON array"},
    {"targets/*/zmq", AZO_CFG_STR, NULL, 0, 0, NULL,
     "the control endpoint of an azod that must answer ping (self: this "
     "node's)"},
    {"targets/*/expect", AZO_CFG_STR, NULL, 0, 0, NULL,
     "http: text the body must contain"},
    {"targets/*/period", AZO_CFG_DURATION, "10s", 10, 86400000, NULL,
     "time between probes"},
    {"targets/*/timeout", AZO_CFG_DURATION, "1s", 1, 3600000, NULL,
     "a probe not done after this fails"},
    {"targets/*/failure_threshold", AZO_CFG_INT, "3", 1, 1000, NULL,
     "failures in a row that make the target down"},
    {"targets/*/success_threshold", AZO_CFG_INT, "1", 1, 1000, NULL,
     "successes in a row that bring it back up"},
    {"targets/*/initial_delay", AZO_CFG_DURATION, "0", 0, 86400000, NULL,
     "wait before the first probe"},
    {"targets/*/degraded_after", AZO_CFG_DURATION, "0", 0, 3600000, NULL,
     "a success slower than this leaves the target degraded (0: off)"},
    {"targets/*/output", AZO_CFG_SIZE, "4KiB", 64, 1048576, NULL,
     "exec and http: output kept per probe"},
    {"targets/*/restart", AZO_CFG_STR, NULL, 0, 0, NULL,
     "on down: the actor to restart"},
    {"targets/*/run", AZO_CFG_STR, NULL, 0, 0, NULL,
     "on down: a command to run (no shell): words, or a JSON array"},
    {"targets/*/action_every", AZO_CFG_DURATION, "5m", 1000, 86400000, NULL,
     "at most one action per this window while the target stays down"},
    {"targets/*/action_timeout", AZO_CFG_DURATION, "30s", 10, 3600000, NULL,
     "a run action is killed after this"},
    {"targets/*/server_key", AZO_CFG_STR, NULL, 0, 0, NULL,
     "zmq with CURVE: the server's public key (Z85, 40 characters)"},
    {"targets/*/client_cert", AZO_CFG_STR, NULL, 0, 0, NULL,
     "zmq with CURVE: this client's certificate file (azoctl keygen)"},
};

static int
s_each_target(const azo_config_t *cfg, const char *base,
              int (*fn)(hc_target_cfg_t *tc, void *arg), void *arg, char *err,
              size_t errlen)
{
    char path[160];
    snprintf(path, sizeof path, "%s/targets", base);
    zconfig_t *sec = azo_config_section(cfg, path);
    const char *control = azo_config_str(cfg, "endpoints/control");
    int rc = 0;
    for (zconfig_t *t = sec ? zconfig_child(sec) : NULL; t && rc == 0;
         t = zconfig_next(t)) {
        hc_target_cfg_t tc;
        rc = hc_conf_target(cfg, base, zconfig_name(t), control, &tc, err,
                            errlen);
        if (rc == 0 && fn)
            rc = fn(&tc, arg); // takes tc over on success
        if (rc == 0 && !fn)
            hc_conf_target_fini(&tc);
    }
    return rc;
}

static int
s_check(const azo_config_t *cfg, const char *base, char *err, size_t errlen)
{
    return s_each_target(cfg, base, NULL, NULL, err, errlen);
}

// --- events -----------------------------------------------------------------

static void
s_dirty(s_health_t *self)
{
    self->dirty = true;
}

// Publishes a change of state of kind/name; a target's also carries its
// run of results (track).
static void
s_pub_change(s_health_t *self, const char *kind, const char *name,
             hc_state_t state, hc_state_t prev, const char *why, int64_t since,
             const hc_track_t *track)
{
    char topic[200];
    snprintf(topic, sizeof topic, "health.%s.%s", kind, name);
    msgpack_packer *pk = azo_actor_event(self->actor, topic, track ? 10 : 7);
    if (track) {
        azo_pack_kint(pk, "fails", track->fails);
        azo_pack_kint(pk, "oks", track->oks);
        azo_pack_kuint(pk, "probes", track->probes);
    }
    azo_pack_kstr(pk, "kind", kind);
    azo_pack_kstr(pk, "name", name);
    azo_pack_kstr(pk, "state", hc_state_name(state));
    azo_pack_kstr(pk, "prev", hc_state_name(prev));
    azo_pack_kstr(pk, "reason", why);
    azo_pack_kint(pk, "since", since);
    azo_pack_kbool(pk, "change", true);
    (void)azo_actor_publish(self->actor); // best effort: never blocks
    s_dirty(self);
}

// --- the node ---------------------------------------------------------------

// Re-judges the node from the supervisor's answers and the metrics.
static void
s_node_eval(s_health_t *self)
{
    hc_state_t st = HC_HEALTHY;
    char why[200] = "";
    size_t n = 0;
#define S_WHY(...)                                                             \
    do {                                                                       \
        if (n < sizeof why)                                                    \
            n += (size_t)snprintf(why + n, sizeof why - n, "%s",               \
                                  n ? "; " : "");                              \
        if (n < sizeof why)                                                    \
            n += (size_t)snprintf(why + n, sizeof why - n, __VA_ARGS__);       \
    } while (0)
    if (self->sup_silent) {
        st = HC_DOWN;
        S_WHY("the supervisor does not answer");
    }
    if (self->th_cpu > 0 && self->cpu_pct > self->th_cpu)
        S_WHY("cpu %.0f%% > %.0f%%", self->cpu_pct, self->th_cpu);
    if (self->has_mem && self->th_mem > 0 && self->mem.total > 0) {
        double used = 100.0 * (double)(self->mem.total - self->mem.available) /
                      (double)self->mem.total;
        if (used > self->th_mem)
            S_WHY("memory %.0f%% used > %.0f%%", used, self->th_mem);
    }
    if (self->has_load && self->th_load > 0 &&
        self->load[0] / (double)self->ncpu > self->th_load)
        S_WHY("load %.2f per cpu > %.2f", self->load[0] / (double)self->ncpu,
              self->th_load);
    if (self->has_disk && self->th_disk > 0 &&
        self->disk_free < (uint64_t)self->th_disk)
        S_WHY("disk free %llu MiB < %llu MiB",
              (unsigned long long)(self->disk_free >> 20),
              (unsigned long long)((uint64_t)self->th_disk >> 20));
#undef S_WHY
    if (st == HC_HEALTHY && n)
        st = HC_DEGRADED;
    if (!n)
        snprintf(why, sizeof why, "within limits");
    hc_state_t prev = self->node_state;
    bool changed = st != prev;
    if (changed || strcmp(why, self->node_why) != 0)
        s_dirty(self);
    snprintf(self->node_why, sizeof self->node_why, "%s", why);
    if (!changed)
        return;
    self->node_state = st;
    self->node_since = azo_wire_now_ms();
    s_pub_change(self, "node", azo_actor_node(self->actor), st, prev, why,
                 self->node_since, NULL);
}

// Reads CPU, memory, load and disk of the node, and CPU and memory of each
// actor, then re-judges the node and the actors.
static void s_actor_eval(s_health_t *self, s_actor_t *a);

static void
s_metrics(s_health_t *self)
{
    int64_t now = zclock_mono();
    hc_cpu_t cpu;
    if (hc_metrics_cpu("/proc", &cpu) == 0) {
        if (self->cpu_prev_at)
            self->cpu_pct = hc_metrics_cpu_pct(&self->cpu_prev, &cpu);
        self->cpu_prev = cpu;
        self->cpu_prev_at = now;
    }
    self->has_mem = hc_metrics_mem("/proc", &self->mem) == 0;
    self->has_load = hc_metrics_load("/proc", self->load) == 0;
    self->has_disk =
        self->data_dir && hc_metrics_disk(self->data_dir, &self->disk_free,
                                          &self->disk_total) == 0;
    long hz = hc_metrics_ticks_per_sec();
    for (int i = 0; i < self->nactors; i++) {
        s_actor_t *a = &self->actors[i];
        hc_task_t task;
        bool thread = strcmp(a->mode, "thread") == 0;
        if (a->pid <= 0 || (thread && a->tid <= 0) ||
            hc_metrics_task("/proc", (int)a->pid, thread ? (int)a->tid : 0,
                            &task) < 0) {
            a->ticks_at = 0;
            a->cpu_pct = -1;
            a->rss = -1;
            s_actor_eval(self, a);
            continue;
        }
        if (a->ticks_at && now > a->ticks_at && task.cpu_ticks >= a->ticks &&
            hz > 0)
            a->cpu_pct = 100.0 * (double)(task.cpu_ticks - a->ticks) /
                         (double)hz / ((double)(now - a->ticks_at) / 1000.0);
        a->ticks = task.cpu_ticks;
        a->ticks_at = now;
        a->rss = thread ? -1 : (int64_t)task.rss_bytes;
        s_actor_eval(self, a);
    }
    s_node_eval(self);
}

// --- actors -----------------------------------------------------------------

// Re-judges actor a from its heartbeat and its resources; publishes a
// change.
static void
s_actor_eval(s_health_t *self, s_actor_t *a)
{
    hc_state_t st;
    if (self->sup_silent) {
        st = HC_UNKNOWN;
        a->why = "the supervisor does not answer";
        a->missed = 0;
    } else
        st = hc_state_actor(a->sup_state, a->hb_age, a->hb_ms, self->liveness,
                            &a->missed, &a->why);
    a->why_res[0] = 0;
    if (st == HC_HEALTHY || st == HC_DEGRADED) {
        if (self->th_actor_cpu > 0 && a->cpu_pct > self->th_actor_cpu)
            snprintf(a->why_res, sizeof a->why_res, "cpu %.0f%% > %.0f%%",
                     a->cpu_pct, self->th_actor_cpu);
        else if (self->th_actor_rss > 0 && a->rss > self->th_actor_rss)
            snprintf(a->why_res, sizeof a->why_res, "rss %lld MiB > %lld MiB",
                     (long long)(a->rss >> 20),
                     (long long)(self->th_actor_rss >> 20));
        if (a->why_res[0])
            st = HC_DEGRADED;
    }
    if (st == a->state)
        return;
    hc_state_t prev = a->state;
    a->state = st;
    a->since = azo_wire_now_ms();
    s_pub_change(self, "actor", a->name, st, prev,
                 a->why_res[0] ? a->why_res : a->why, a->since, NULL);
}

static s_actor_t *
s_actor_find(s_health_t *self, const char *name, size_t len)
{
    for (int i = 0; i < self->nactors; i++)
        if (strlen(self->actors[i].name) == len &&
            memcmp(self->actors[i].name, name, len) == 0)
            return &self->actors[i];
    return NULL;
}

// Copies string object o into buf; false when o is not a fitting string.
static bool
s_copy_str(const msgpack_object *o, char *buf, size_t len)
{
    if (!o || o->type != MSGPACK_OBJECT_STR || o->via.str.size >= len ||
        memchr(o->via.str.ptr, 0, o->via.str.size))
        return false;
    memcpy(buf, o->via.str.ptr, o->via.str.size);
    buf[o->via.str.size] = 0;
    return true;
}

static int64_t
s_get_int(const msgpack_object *map, const char *key, int64_t dflt)
{
    int64_t v;
    return azo_mp_int(azo_mp_get(map, key), &v) == 0 ? v : dflt;
}

// The supervisor's status arrived: updates every actor it lists.
static void
s_on_status(void *selfp, const azo_rep_t *rep, void *arg)
{
    (void)arg;
    s_health_t *self = selfp;
    self->watch_busy = false;
    const msgpack_object *list =
        rep->ok ? azo_mp_get(rep->result, "actors") : NULL;
    bool silent = !list || list->type != MSGPACK_OBJECT_ARRAY;
    if (silent != self->sup_silent) {
        if (silent)
            zsys_warning("health: the supervisor's status: %s",
                         rep->ok ? "no actor list" : rep->message);
        self->sup_silent = silent;
        for (int i = 0; i < self->nactors; i++)
            s_actor_eval(self, &self->actors[i]);
        s_node_eval(self);
    }
    if (silent)
        return;
    // `zmq = self` targets of a node bound on a port chosen at bind.
    char ep[256];
    if (self->self_pending &&
        s_copy_str(azo_mp_get(azo_mp_get(rep->result, "endpoints"), "control"),
                   ep, sizeof ep))
        for (size_t i = 0; i < self->ntargets; i++)
            if (self->targets[i].cfg.self_pending) {
                hc_conf_set_self(&self->targets[i].cfg, ep);
                self->self_pending--;
            }
    for (int i = 0; i < self->nactors; i++)
        self->actors[i].seen = false;
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        const msgpack_object *m = &list->via.array.ptr[i];
        const msgpack_object *name = azo_mp_get(m, "name");
        if (!name || name->type != MSGPACK_OBJECT_STR)
            continue;
        s_actor_t *a =
            s_actor_find(self, name->via.str.ptr, name->via.str.size);
        if (!a && self->nactors < S_ACTORS_MAX) {
            a = &self->actors[self->nactors];
            *a = (s_actor_t){.state = HC_UNKNOWN, .cpu_pct = -1, .rss = -1};
            if (!s_copy_str(name, a->name, sizeof a->name))
                continue;
            self->nactors++;
        }
        if (!a)
            continue;
        a->seen = true;
        if (!s_copy_str(azo_mp_get(m, "state"), a->sup_state,
                        sizeof a->sup_state))
            snprintf(a->sup_state, sizeof a->sup_state, "?");
        if (!s_copy_str(azo_mp_get(m, "mode"), a->mode, sizeof a->mode))
            a->mode[0] = 0;
        int64_t pid = s_get_int(m, "pid", 0), tid = s_get_int(m, "tid", 0);
        if (pid != a->pid || tid != a->tid)
            a->ticks_at = 0; // another instance: CPU starts over
        a->pid = pid;
        a->tid = tid;
        a->hb_age = s_get_int(m, "hb_age_ms", -1);
        a->hb_ms = s_get_int(m, "heartbeat_ms", 0);
        a->restarts = s_get_int(m, "restarts", 0);
        s_actor_eval(self, a);
    }
    for (int i = 0; i < self->nactors; i++)
        if (!self->actors[i].seen) {
            snprintf(self->actors[i].sup_state,
                     sizeof self->actors[i].sup_state, "gone");
            s_actor_eval(self, &self->actors[i]);
        }
}

static int
s_on_watch(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    s_health_t *self = arg;
    if (self->watch_busy)
        return 0;
    msgpack_packer *pk = azo_actor_msg(self->actor, "status");
    msgpack_pack_map(pk, 0);
    // A supervisor slower than this is judged silent; a slow answer once
    // in a while (a loaded machine) is not.
    int64_t timeout = self->watch_ms * 4 > 2000 ? self->watch_ms * 4 : 2000;
    int rc = azo_actor_call(self->actor, NULL, timeout, s_on_status, NULL);
    if (rc == 0)
        self->watch_busy = true;
    else if (!self->sup_silent) {
        azo_rep_t rep = {.ok = false, .rc = rc, .message = azo_err_str(rc)};
        s_on_status(self, &rep, NULL);
    }
    return 0;
}

static int
s_on_metrics(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    s_metrics(arg);
    return 0;
}

// --- targets: results, actions, checks ---------------------------------------

static const char *
s_kind_name(hc_probe_kind_t k)
{
    static const char *const names[] = {"tcp", "http", "exec", "zmq"};
    return (unsigned)k < 4 ? names[k] : "?";
}

static void s_arm(s_health_t *self);

static void
s_pack_result(msgpack_packer *pk, const char *name, const hc_result_t *res)
{
    msgpack_pack_map(pk, 5);
    azo_pack_kstr(pk, "target", name);
    azo_pack_kbool(pk, "ok", res->ok);
    azo_pack_kint(pk, "ms", res->ms);
    azo_pack_kint(pk, "code", res->code);
    azo_pack_kstr(pk, "detail", res->detail);
}

static void
s_check_free(s_health_t *self, s_check_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        self->checks = c->next;
    if (c->next)
        c->next->prev = c->prev;
    self->nchecks--;
    msgpack_sbuffer_destroy(&c->results);
    free(c);
}

// Answers check c when its last probe has ended.
static void
s_check_done(s_health_t *self, s_check_t *c)
{
    if (c->remaining)
        return;
    int64_t ms = zclock_mono() - c->started;
    msgpack_packer *pk = azo_reply_result(c->reply);
    msgpack_pack_map(pk, 6);
    azo_pack_kint(pk, "checked", (int64_t)c->total);
    azo_pack_kint(pk, "ok", (int64_t)c->nok);
    azo_pack_kint(pk, "failed", (int64_t)(c->total - c->nok));
    azo_pack_kint(pk, "ms", ms);
    azo_pack_kbool(pk, "all_listed", c->listed == c->total);
    azo_pack_str(pk, "results");
    msgpack_pack_array(pk, (uint32_t)c->listed);
    if (c->results.size)
        (void)pk->callback(pk->data, c->results.data, c->results.size);
    (void)azo_actor_reply(self->actor, &c->reply);
    s_check_free(self, c);
}

static void
s_pub_action(s_health_t *self, s_target_t *t, const char *action,
             const char *what, bool ok, const char *detail)
{
    char topic[200];
    snprintf(topic, sizeof topic, "health.action.%s", t->cfg.name);
    msgpack_packer *pk = azo_actor_event(self->actor, topic, 5);
    azo_pack_kstr(pk, "target", t->cfg.name);
    azo_pack_kstr(pk, "action", action);
    azo_pack_kstr(
        pk, action[0] == 'r' && action[1] == 'e' ? "actor" : "command", what);
    azo_pack_kbool(pk, "ok", ok);
    azo_pack_kstr(pk, "detail", detail);
    (void)azo_actor_publish(self->actor);
}

static void
s_on_restarted(void *selfp, const azo_rep_t *rep, void *arg)
{
    s_health_t *self = selfp;
    s_target_t *t = arg;
    if (!rep->ok)
        zsys_warning("health: target %s: restart of %s failed: %s", t->cfg.name,
                     t->cfg.restart, rep->message);
    s_pub_action(self, t, "restart", t->cfg.restart, rep->ok,
                 rep->ok ? "restarted" : rep->message);
}

static void
s_on_run_done(void *arg, uint64_t id, const hc_result_t *res)
{
    (void)id;
    s_target_t *t = arg;
    t->run_probe = 0;
    if (!res->ok)
        zsys_warning("health: target %s: action %s: %s", t->cfg.name,
                     t->cfg.run[0], res->detail);
    else
        zsys_info("health: target %s: action %s: %s", t->cfg.name,
                  t->cfg.run[0], res->detail);
    s_pub_action(t->hs, t, "run", t->cfg.run[0], res->ok, res->detail);
}

// Target t is down: its actions, each at most once per action_every.
static void
s_actions(s_health_t *self, s_target_t *t)
{
    int64_t now = zclock_mono();
    int64_t every = t->cfg.action_every_ms;
    if (t->cfg.restart) {
        int64_t last = *t->restart_last;
        if (last && now - last < every)
            t->suppressed++;
        else {
            zsys_warning("health: target %s is down: restarting actor %s",
                         t->cfg.name, t->cfg.restart);
            msgpack_packer *pk = azo_actor_msg(self->actor, "actor.restart");
            msgpack_pack_map(pk, 1);
            azo_pack_kstr(pk, "name", t->cfg.restart);
            int rc = azo_actor_call(self->actor, NULL, S_RESTART_TIMEOUT_MS,
                                    s_on_restarted, t);
            if (rc < 0)
                s_pub_action(self, t, "restart", t->cfg.restart, false,
                             azo_err_str(rc));
            *t->restart_last = now;
            t->actions++;
        }
    }
    if (t->cfg.run) {
        if (t->run_probe || (t->run_last && now - t->run_last < every)) {
            t->suppressed++;
            return;
        }
        hc_probe_spec_t spec = {.kind = HC_PROBE_EXEC,
                                .argv = t->cfg.run,
                                .timeout_ms = t->cfg.action_timeout_ms,
                                .output_cap = t->cfg.output_cap};
        char err[256];
        int rc = hc_probe_start(self->probe, &spec, s_on_run_done, t,
                                &t->run_probe, err, sizeof err);
        t->run_last = now;
        t->actions++;
        if (rc < 0) {
            t->run_probe = 0;
            s_pub_action(self, t, "run", t->cfg.run[0], false, err);
        } else
            zsys_warning("health: target %s is down: running %s", t->cfg.name,
                         t->cfg.run[0]);
    }
}

// One probe of t ended (or could not start).
static void
s_result(s_health_t *self, s_target_t *t, const hc_result_t *res)
{
    t->probe = 0;
    s_hist_t *h = &t->hist[t->hist_at];
    t->hist_at = (t->hist_at + 1) % S_HIST;
    if (t->nhist < S_HIST)
        t->nhist++;
    *h = (s_hist_t){.ts = azo_wire_now_ms(), .ms = res->ms, .ok = res->ok};
    snprintf(h->detail, sizeof h->detail, "%.*s", (int)sizeof h->detail - 1,
             res->detail);
    bool slow = res->ok && t->cfg.degraded_after_ms > 0 &&
                res->ms > t->cfg.degraded_after_ms;
    hc_state_t prev = t->track.state;
    if (hc_state_feed(&t->track, t->cfg.failure_threshold,
                      t->cfg.success_threshold, res->ok, slow)) {
        t->since = h->ts;
        char why[300];
        snprintf(why, sizeof why, "%s%s", res->detail, slow ? " (slow)" : "");
        if (t->track.state == HC_DOWN)
            zsys_warning("health: target %s is down: %s", t->cfg.name, why);
        else if (prev == HC_DOWN)
            zsys_info("health: target %s is %s again", t->cfg.name,
                      hc_state_name(t->track.state));
        s_pub_change(self, "target", t->cfg.name, t->track.state, prev, why,
                     t->since, &t->track);
    }
    if (t->track.state == HC_DOWN && (t->cfg.restart || t->cfg.run))
        s_actions(self, t);
    // Waiting checks. A check may end here and be freed: take the list.
    s_check_t **waiters = t->waiters;
    size_t n = t->nwaiters;
    t->waiters = NULL;
    t->nwaiters = t->capwaiters = 0;
    for (size_t i = 0; i < n; i++) {
        s_check_t *c = waiters[i];
        // Past S_PAGE targets, only failures are listed (up to S_PAGE).
        if (c->listed < S_PAGE && (!res->ok || c->total <= S_PAGE)) {
            s_pack_result(&c->pk, t->cfg.name, res);
            c->listed++;
        }
        c->nok += res->ok;
        c->remaining--;
        s_check_done(self, c);
    }
    free(waiters);
    // The next periodic probe, unless one is planned already (a check
    // probed between two periodic ones).
    if (!azo_heap_has(&t->node)) {
        int64_t now = zclock_mono(), next = t->started + t->cfg.period_ms;
        if (azo_heap_set(&self->due, &t->node, next > now ? next : now) < 0)
            zsys_error("health: target %s: out of memory; not probed again",
                       t->cfg.name);
        s_arm(self);
    }
}

static void
s_on_probe(void *arg, uint64_t id, const hc_result_t *res)
{
    (void)id;
    s_target_t *t = arg;
    s_result(t->hs, t, res);
}

// Starts a probe of t; a probe that cannot start is a failed result.
static void
s_start(s_health_t *self, s_target_t *t)
{
    if (t->probe)
        return;
    hc_probe_spec_t spec = {.kind = t->cfg.kind,
                            .addr = t->cfg.addr,
                            .argv = t->cfg.argv,
                            .expect = t->cfg.expect,
                            .timeout_ms = t->cfg.timeout_ms,
                            .output_cap = t->cfg.output_cap,
                            .server_key = t->cfg.server_key};
    zcert_t *cert = NULL;
    hc_result_t fail = {.ok = false};
    if (t->cfg.self_pending)
        snprintf(fail.detail, sizeof fail.detail,
                 "this node's control endpoint is not known yet");
    if (t->cfg.client_cert && !fail.detail[0]) {
        cert = zcert_load(t->cfg.client_cert);
        if (!cert)
            snprintf(fail.detail, sizeof fail.detail,
                     "cannot load the client certificate %s",
                     t->cfg.client_cert);
        spec.client_cert = cert;
    }
    t->started = zclock_mono();
    int rc = -1;
    if (!fail.detail[0])
        rc = hc_probe_start(self->probe, &spec, s_on_probe, t, &t->probe,
                            fail.detail, sizeof fail.detail);
    zcert_destroy(&cert);
    if (rc < 0) {
        t->probe = 0;
        s_result(self, t, &fail);
    }
}

// The heap's timer: starts every probe that is due.
static void
s_on_due(void *selfp, void *arg)
{
    (void)arg;
    s_health_t *self = selfp;
    self->timer = 0;
    int64_t now = zclock_mono();
    azo_heap_node_t *top;
    while ((top = azo_heap_top(&self->due)) && top->key <= now) {
        s_target_t *t = AZO_HEAP_ITEM(top, s_target_t, node);
        azo_heap_remove(&self->due, top);
        s_start(self, t); // in flight already: planned again when it ends
    }
    s_arm(self);
}

// Keeps the one timer at the earliest planned probe.
static void
s_arm(s_health_t *self)
{
    azo_heap_node_t *top = azo_heap_top(&self->due);
    if (self->timer && top && self->timer_at == top->key)
        return;
    if (self->timer)
        azo_actor_timer_cancel(self->actor, self->timer);
    self->timer = 0;
    if (!top)
        return;
    int id = azo_actor_timer_at(self->actor, top->key, s_on_due, NULL);
    if (id < 0) {
        zsys_error("health: cannot set a timer: %s", azo_err_str(id));
        azo_actor_exit(self->actor, true, "cannot set a timer");
        return;
    }
    self->timer = id;
    self->timer_at = top->key;
}

// --- status
// -------------------------------------------------------------------

static void
s_pack_target(s_target_t *t, msgpack_packer *pk, bool history)
{
    const s_hist_t *last =
        t->nhist ? &t->hist[(t->hist_at + S_HIST - 1) % S_HIST] : NULL;
    msgpack_pack_map(pk, 16 + (history ? 1 : 0));
    azo_pack_kstr(pk, "name", t->cfg.name);
    azo_pack_kstr(pk, "kind", s_kind_name(t->cfg.kind));
    azo_pack_kstr(pk, "addr",
                  t->cfg.kind == HC_PROBE_EXEC ? t->cfg.argv[0] : t->cfg.addr);
    azo_pack_kstr(pk, "state", hc_state_name(t->track.state));
    azo_pack_kstr(pk, "reason", last ? last->detail : "not probed yet");
    azo_pack_kint(pk, "since", t->since);
    azo_pack_kint(pk, "fails", t->track.fails);
    azo_pack_kint(pk, "oks", t->track.oks);
    azo_pack_kuint(pk, "probes", t->track.probes);
    azo_pack_kuint(pk, "failures", t->track.failures);
    azo_pack_kint(pk, "last_ts", last ? last->ts : 0);
    azo_pack_kint(pk, "last_ms", last ? last->ms : 0);
    azo_pack_kint(pk, "period_ms", t->cfg.period_ms);
    azo_pack_kbool(pk, "in_flight", t->probe != 0);
    azo_pack_kuint(pk, "actions", t->actions);
    azo_pack_kuint(pk, "suppressed", t->suppressed);
    if (!history)
        return;
    azo_pack_str(pk, "history");
    msgpack_pack_array(pk, (uint32_t)t->nhist);
    for (int i = 0; i < t->nhist; i++) { // newest first
        const s_hist_t *h = &t->hist[(t->hist_at + S_HIST - 1 - i) % S_HIST];
        msgpack_pack_map(pk, 4);
        azo_pack_kint(pk, "ts", h->ts);
        azo_pack_kbool(pk, "ok", h->ok);
        azo_pack_kint(pk, "ms", h->ms);
        azo_pack_kstr(pk, "detail", h->detail);
    }
}

static void
s_pack_actor(const s_actor_t *a, msgpack_packer *pk)
{
    msgpack_pack_map(pk, 13);
    azo_pack_kstr(pk, "name", a->name);
    azo_pack_kstr(pk, "state", hc_state_name(a->state));
    azo_pack_kstr(pk, "reason", a->why_res[0] ? a->why_res : a->why);
    azo_pack_kstr(pk, "sup_state", a->sup_state);
    azo_pack_kstr(pk, "mode", a->mode);
    azo_pack_kint(pk, "pid", a->pid);
    azo_pack_kint(pk, "tid", a->tid);
    azo_pack_kint(pk, "hb_age_ms", a->hb_age);
    azo_pack_kint(pk, "missed", a->missed);
    azo_pack_kint(pk, "restarts", a->restarts);
    azo_pack_kint(pk, "since", a->since);
    azo_pack_str(pk, "cpu_pct");
    if (a->cpu_pct < 0)
        msgpack_pack_nil(pk);
    else
        msgpack_pack_double(pk, a->cpu_pct);
    azo_pack_str(pk, "rss");
    if (a->rss < 0)
        msgpack_pack_nil(pk);
    else
        msgpack_pack_int64(pk, a->rss);
}

static void
s_pack_node(s_health_t *self, msgpack_packer *pk)
{
    msgpack_pack_map(pk, 11);
    azo_pack_kstr(pk, "name", azo_actor_node(self->actor));
    azo_pack_kstr(pk, "state", hc_state_name(self->node_state));
    azo_pack_kstr(pk, "reason", self->node_why);
    azo_pack_kint(pk, "since", self->node_since);
    azo_pack_str(pk, "cpu_pct");
    if (self->cpu_pct < 0)
        msgpack_pack_nil(pk);
    else
        msgpack_pack_double(pk, self->cpu_pct);
    azo_pack_kint(pk, "cpus", self->ncpu);
    azo_pack_kint(pk, "mem_total",
                  self->has_mem ? (int64_t)self->mem.total : 0);
    azo_pack_kint(pk, "mem_available",
                  self->has_mem ? (int64_t)self->mem.available : 0);
    azo_pack_str(pk, "load");
    msgpack_pack_array(pk, 3);
    for (int i = 0; i < 3; i++)
        msgpack_pack_double(pk, self->has_load ? self->load[i] : 0);
    azo_pack_kint(pk, "disk_free",
                  self->has_disk ? (int64_t)self->disk_free : 0);
    azo_pack_kint(pk, "disk_total",
                  self->has_disk ? (int64_t)self->disk_total : 0);
}

// Counts of states over node, actors and targets; the worst.
static hc_state_t
s_counts(s_health_t *self, int64_t counts[4])
{
    memset(counts, 0, 4 * sizeof counts[0]);
    hc_state_t worst = self->node_state;
    counts[self->node_state]++;
    for (int i = 0; i < self->nactors; i++) {
        counts[self->actors[i].state]++;
        worst = hc_state_worst(worst, self->actors[i].state);
    }
    for (size_t i = 0; i < self->ntargets; i++) {
        counts[self->targets[i].track.state]++;
        worst = hc_state_worst(worst, self->targets[i].track.state);
    }
    return worst;
}

static void
s_pack_counts(msgpack_packer *pk, const int64_t counts[4])
{
    msgpack_pack_map(pk, 4);
    for (int s = 0; s < 4; s++)
        azo_pack_kint(pk, hc_state_name((hc_state_t)s), counts[s]);
}

// The whole picture, as health.status answers it, with the targets from
// index from, at most limit of them.
static void
s_pack_status(s_health_t *self, msgpack_packer *pk, size_t from, size_t limit)
{
    int64_t counts[4];
    hc_state_t worst = s_counts(self, counts);
    size_t n = from < self->ntargets ? self->ntargets - from : 0;
    if (n > limit)
        n = limit;
    msgpack_pack_map(pk, 9);
    azo_pack_kstr(pk, "state", hc_state_name(worst));
    azo_pack_kint(pk, "ts", azo_wire_now_ms());
    azo_pack_kint(pk, "ttl_ms", self->ttl_ms);
    azo_pack_str(pk, "counts");
    s_pack_counts(pk, counts);
    azo_pack_str(pk, "node");
    s_pack_node(self, pk);
    azo_pack_str(pk, "actors");
    msgpack_pack_array(pk, (uint32_t)self->nactors);
    for (int i = 0; i < self->nactors; i++)
        s_pack_actor(&self->actors[i], pk);
    azo_pack_kint(pk, "count", (int64_t)self->ntargets);
    azo_pack_kbool(pk, "more", from + n < self->ntargets);
    azo_pack_str(pk, "targets");
    msgpack_pack_array(pk, (uint32_t)n);
    for (size_t i = from; i < from + n; i++)
        s_pack_target(&self->targets[i], pk, false);
}

// The periodic summary on health.node.<node>.
static int
s_on_summary(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    s_health_t *self = arg;
    int64_t counts[4];
    hc_state_t worst = s_counts(self, counts);
    char topic[200];
    snprintf(topic, sizeof topic, "health.node.%s",
             azo_actor_node(self->actor));
    msgpack_packer *pk = azo_actor_event(self->actor, topic, 7);
    azo_pack_kstr(pk, "kind", "node");
    azo_pack_kstr(pk, "name", azo_actor_node(self->actor));
    azo_pack_kstr(pk, "state", hc_state_name(self->node_state));
    azo_pack_kstr(pk, "overall", hc_state_name(worst));
    azo_pack_kbool(pk, "change", false);
    azo_pack_str(pk, "counts");
    s_pack_counts(pk, counts);
    // Up to S_PROBLEMS names of what is not healthy.
    azo_pack_str(pk, "problems");
    int64_t bad = counts[HC_DEGRADED] + counts[HC_DOWN] + counts[HC_UNKNOWN] -
                  (self->node_state != HC_HEALTHY);
    msgpack_pack_array(pk, (uint32_t)(bad < S_PROBLEMS ? bad : S_PROBLEMS));
    int64_t n = 0;
    for (int i = 0; i < self->nactors && n < S_PROBLEMS; i++)
        if (self->actors[i].state != HC_HEALTHY && ++n)
            azo_pack_str(pk, self->actors[i].name);
    for (size_t i = 0; i < self->ntargets && n < S_PROBLEMS; i++)
        if (self->targets[i].track.state != HC_HEALTHY && ++n)
            azo_pack_str(pk, self->targets[i].cfg.name);
    (void)azo_actor_publish(self->actor);
    return 0;
}

// --- life
// ---------------------------------------------------------------------

static int
s_add_target(hc_target_cfg_t *tc, void *arg)
{
    s_health_t *self = arg;
    s_target_t *t = &self->targets[self->ntargets];
    *t = (s_target_t){.hs = self, .cfg = *tc};
    if (tc->kind == HC_PROBE_ZMQ && tc->addr == tc->self_addr)
        t->cfg.addr = t->cfg.self_addr; // it points into the copy now
    if (zhashx_insert(self->by_name, t->cfg.name, t) != 0) {
        hc_conf_target_fini(&t->cfg);
        return AZO_EBADREQ; // a repeated name cannot pass the config load
    }
    self->ntargets++;
    self->self_pending += t->cfg.self_pending;
    if (t->cfg.restart) {
        t->restart_last = zhashx_lookup(self->restart_last, t->cfg.restart);
        if (!t->restart_last) {
            t->restart_last = calloc(1, sizeof *t->restart_last);
            if (!t->restart_last)
                return -ENOMEM;
            zhashx_insert(self->restart_last, t->cfg.restart, t->restart_last);
        }
    }
    int64_t first = zclock_mono() + t->cfg.initial_delay_ms;
    return azo_heap_set(&self->due, &t->node, first);
}

static void
s_fini(void *selfp)
{
    s_health_t *self = selfp;
    if (!self)
        return;
    zloop_t *loop = azo_actor_loop(self->actor);
    for (int i = 0; i < 3; i++)
        if (self->loop_timers[i] >= 0)
            zloop_timer_end(loop, self->loop_timers[i]);
    // The runtime answers the deferred replies "unavailable".
    while (self->checks)
        s_check_free(self, self->checks);
    hc_probe_destroy(&self->probe);
    for (size_t i = 0; i < self->ntargets; i++) {
        hc_conf_target_fini(&self->targets[i].cfg);
        free(self->targets[i].waiters);
    }
    free(self->targets);
    zhashx_destroy(&self->by_name);
    zhashx_destroy(&self->restart_last);
    azo_heap_fini(&self->due);
    msgpack_sbuffer_destroy(&self->cache);
    free(self);
}

static void
s_free_item(void **item)
{
    free(*item);
    *item = NULL;
}

static int
s_count_target(hc_target_cfg_t *tc, void *arg)
{
    (*(size_t *)arg)++;
    hc_conf_target_fini(tc);
    return 0;
}

static int
s_init(azo_actor_t *actor, void **self_p)
{
    s_health_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    self->actor = actor;
    self->cfg = azo_actor_config(actor);
    for (int i = 0; i < 3; i++)
        self->loop_timers[i] = -1;
    msgpack_sbuffer_init(&self->cache);
    azo_heap_init(&self->due);
    const azo_config_t *cfg = self->cfg;
    snprintf(self->base, sizeof self->base, "actors/%s", azo_actor_name(actor));
    char k[200], err[512];
#define S_CFG(key) (snprintf(k, sizeof k, "%s/%s", self->base, key), k)
    self->watch_ms = azo_config_ms(cfg, S_CFG("watch"), 500);
    self->liveness = (int)azo_config_int(cfg, S_CFG("actor_liveness"), 2);
    self->ttl_ms = azo_config_ms(cfg, S_CFG("cache_ttl"), 5000);
    int64_t summary_ms = azo_config_ms(cfg, S_CFG("summary"), 30000);
    int64_t metrics_ms = azo_config_ms(cfg, S_CFG("metrics/period"), 5000);
    self->th_cpu = azo_config_real(cfg, S_CFG("metrics/cpu"), 0);
    self->th_mem = azo_config_real(cfg, S_CFG("metrics/memory"), 0);
    self->th_load = azo_config_real(cfg, S_CFG("metrics/load"), 0);
    self->th_disk = azo_config_size(cfg, S_CFG("metrics/disk_free"), 0);
    self->th_actor_cpu = azo_config_real(cfg, S_CFG("metrics/actor_cpu"), 0);
    self->th_actor_rss = azo_config_size(cfg, S_CFG("metrics/actor_rss"), 0);
#undef S_CFG
    self->data_dir = azo_config_str(cfg, "node/data_dir");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    self->ncpu = ncpu > 0 ? ncpu : 1;
    self->cpu_pct = -1;
    self->node_state = HC_UNKNOWN;
    snprintf(self->node_why, sizeof self->node_why, "not judged yet");

    size_t n = 0;
    int rc =
        s_each_target(cfg, self->base, s_count_target, &n, err, sizeof err);
    self->by_name = zhashx_new();
    self->restart_last = zhashx_new();
    if (self->restart_last)
        zhashx_set_destructor(self->restart_last, s_free_item);
    self->targets = calloc(n ? n : 1, sizeof *self->targets);
    self->probe = hc_probe_new(azo_actor_loop(actor));
    if (rc == 0 && (!self->by_name || !self->restart_last || !self->targets ||
                    !self->probe)) {
        rc = -ENOMEM;
        snprintf(err, sizeof err, "out of memory, or no epoll set");
    }
    if (rc == 0)
        rc =
            s_each_target(cfg, self->base, s_add_target, self, err, sizeof err);
    zloop_t *loop = azo_actor_loop(actor);
    if (rc == 0) {
        self->loop_timers[0] =
            zloop_timer(loop, (size_t)self->watch_ms, 0, s_on_watch, self);
        self->loop_timers[1] =
            zloop_timer(loop, (size_t)metrics_ms, 0, s_on_metrics, self);
        if (summary_ms > 0)
            self->loop_timers[2] =
                zloop_timer(loop, (size_t)summary_ms, 0, s_on_summary, self);
        if (self->loop_timers[0] < 0 || self->loop_timers[1] < 0 ||
            (summary_ms > 0 && self->loop_timers[2] < 0)) {
            rc = AZO_EINTERNAL;
            snprintf(err, sizeof err, "cannot set timers");
        }
    }
    if (rc < 0) {
        zsys_error("health: %s", err);
        s_fini(self);
        return rc;
    }
    // A first picture of the node at once; of the actors at the first
    // watch (the supervisor answers an actor once it is ready, after init).
    s_metrics(self);
    s_arm(self);
    *self_p = self;
    return 0;
}

// --- commands
// -----------------------------------------------------------------

static int
s_cmd_status(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_health_t *self = selfp;
    const char *bad = azo_req_unknown_arg(req, "target,actor,after,limit");
    if (bad)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "unknown argument '%s' (known: target, actor, "
                              "after, limit)",
                              bad);
    const msgpack_object *ta = azo_req_arg(req, "target");
    const msgpack_object *aa = azo_req_arg(req, "actor");
    if (ta || aa) {
        const char *name = azo_req_str(req, ta ? "target" : "actor");
        if (!name || (ta && aa))
            return azo_reply_fail(reply, AZO_EBADREQ,
                                  "%s: expected a name (string), and only "
                                  "one of target, actor",
                                  ta ? "target" : "actor");
        if (ta) {
            s_target_t *t = zhashx_lookup(self->by_name, name);
            if (!t)
                return azo_reply_fail(reply, AZO_ENOTFOUND,
                                      "no target named '%s'", name);
            s_pack_target(t, azo_reply_result(reply), true);
            return 0;
        }
        s_actor_t *a = s_actor_find(self, name, strlen(name));
        if (!a)
            return azo_reply_fail(reply, AZO_ENOTFOUND,
                                  "no actor named '%s' is known", name);
        s_pack_actor(a, azo_reply_result(reply));
        return 0;
    }
    // A later page (targets after a name) is built for the request.
    int64_t limit = S_PAGE;
    if (azo_req_int(req, "limit", &limit) == AZO_EBADREQ || limit < 0 ||
        limit > S_PAGE)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "limit: expected an integer 0..%d", S_PAGE);
    const char *after = azo_req_str(req, "after");
    if (azo_req_arg(req, "after") && !after)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "after: expected a target name (string)");
    if (after || limit != S_PAGE) {
        size_t from = 0;
        if (after) {
            s_target_t *t = zhashx_lookup(self->by_name, after);
            if (!t)
                return azo_reply_fail(reply, AZO_ENOTFOUND,
                                      "after: no target named '%s'", after);
            from = (size_t)(t - self->targets) + 1;
        }
        s_pack_status(self, azo_reply_result(reply), from, (size_t)limit);
        return 0;
    }
    int64_t now = zclock_mono();
    if (self->dirty || !self->cache_at ||
        now - self->cache_at >= self->ttl_ms) {
        msgpack_sbuffer_clear(&self->cache);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &self->cache, msgpack_sbuffer_write);
        s_pack_status(self, &pk, 0, S_PAGE);
        self->cache_at = now;
        self->dirty = false;
    }
    msgpack_packer *pk = azo_reply_result(reply);
    return pk->callback(pk->data, self->cache.data, self->cache.size) == 0
               ? 0
               : -ENOMEM;
}

// Adds check c as a waiter of t's probe and starts it if none is in flight.
static int
s_check_add(s_health_t *self, s_check_t *c, s_target_t *t)
{
    if (t->nwaiters == t->capwaiters) {
        size_t cap = t->capwaiters ? t->capwaiters * 2 : 2;
        s_check_t **w = realloc(t->waiters, cap * sizeof *w);
        if (!w)
            return -ENOMEM;
        t->waiters = w;
        t->capwaiters = cap;
    }
    t->waiters[t->nwaiters++] = c;
    c->remaining++;
    c->total++;
    s_start(self, t); // ends the check's wait at once if it cannot start
    return 0;
}

static int
s_cmd_check(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_health_t *self = selfp;
    const char *bad = azo_req_unknown_arg(req, "target");
    if (bad)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "unknown argument '%s' (known: target)", bad);
    const char *name = azo_req_str(req, "target");
    if (azo_req_arg(req, "target") && !name)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "target: expected a target name (string)");
    s_target_t *one = name ? zhashx_lookup(self->by_name, name) : NULL;
    if (name && !one)
        return azo_reply_fail(reply, AZO_ENOTFOUND, "no target named '%s'",
                              name);
    if (self->nchecks >= S_CHECKS_MAX)
        return azo_reply_fail(reply, AZO_EUNAVAIL,
                              "%d checks are already waiting; try again",
                              S_CHECKS_MAX);
    s_check_t *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->reply = azo_actor_defer(self->actor, reply);
    if (!c->reply) { // one-way: probe, nobody waits
        free(c);
        for (size_t i = 0; i < self->ntargets; i++)
            if (!one || one == &self->targets[i])
                s_start(self, &self->targets[i]);
        return azo_reply_ok(reply);
    }
    c->started = zclock_mono();
    msgpack_sbuffer_init(&c->results);
    msgpack_packer_init(&c->pk, &c->results, msgpack_sbuffer_write);
    c->next = self->checks;
    if (c->next)
        c->next->prev = c;
    self->checks = c;
    self->nchecks++;
    // One extra count holds the check open until every probe is started:
    // a probe that cannot start ends its wait at once.
    c->remaining = 1;
    for (size_t i = 0; i < self->ntargets; i++) {
        if (one && one != &self->targets[i])
            continue;
        if (s_check_add(self, c, &self->targets[i]) < 0) {
            zsys_error("health: out of memory; check cut short");
            break;
        }
    }
    c->remaining--;
    s_check_done(self, c);
    return 0;
}

static const azo_cmd_entry_t s_cmds[] = {
    {"health.status", s_cmd_status},
    {"health.check", s_cmd_check},
};

const azo_actor_def_t azo_health_def = {
    .name = "health-checker",
    .prefix = "health.",
    .failover = true, // stateless: restarted elsewhere when its node is lost
    .init = s_init,
    .fini = s_fini,
    .cmds = s_cmds,
    .ncmds = sizeof s_cmds / sizeof s_cmds[0],
    .keys = s_keys,
    .nkeys = sizeof s_keys / sizeof s_keys[0],
    .check = s_check,
};
