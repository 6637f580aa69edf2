// azo_bench_restart — benchmarks of issue #3 ("Speed"): how fast the
// supervisor brings a failed actor back, and how fast a node starts and
// stops, each next to a floor measured in the same run. Not a test: it
// asserts nothing.
//
// 1. Process actor restart. A real azod (--azod PATH, or ../azod next to
//    this binary; fork+exec) runs the embedded default config with its data
//    directory and ipc:// endpoints in a mkdtemp directory, the scheduler
//    as `mode = process` (path a: every restart is a fresh fork+exec of
//    `azod --actor`) and the health-checker as `mode = process` with
//    `standby = 1` (path b: a pre-started process is activated). Policy is
//    set aside so that the mechanism is what is measured:
//    `backoff/reset_after = 0ms` (every run counts as stable, so every
//    restart is immediate) and `supervisor/max_restarts = 100000`. One
//    sample: SIGKILL of the actor's process (its pid from its last ping);
//    a SUB of the events endpoint, subscribed beforehand, waits for
//    sup.actor.started of that actor with the next gen; then
//    `<prefix>ping` through the control endpoint. The sample ends when the
//    ping's reply, carrying the new gen, arrives. Before each standby
//    sample the next standby is awaited (status shows it), untimed.
//    Floor: this binary re-executed (--floor-child), which connects a
//    DEALER over ipc to a ROUTER here and sends one message, timed from
//    fork to the message's arrival. Context: the same with posix_spawn
//    (vfork+exec: no page tables copied), fork without exec (the child
//    writes a byte to a pipe), and fork+exec of `azod --version` until it
//    exits (azod's own exec and dynamic linking, no ZeroMQ). The phases of
//    a sample are when the bench saw them: the kill's end (the process's
//    pidfd), then sup.actor.exited and sup.actor.started arriving; on two
//    cores, events can arrive late while a new process takes a core.
//    Targets: median < 2 ms, p99 < 10 ms.
// 2. Thread actor restart, in-process: azo_sup_run in a thread with two
//    bench actors, "crash" (same backoff and intensity settings) and
//    "probe", control and events on inproc://. `crash.fail` takes the
//    time, replies with it and calls azo_actor_exit(self, true, ...): a
//    first failure, so the supervisor's ticket lets the thread start its
//    next gen at once (a quick restart). Two samples per round: the probe
//    actor sends crash.fail and, right behind it, crash.ping over the bus
//    (failure -> the next gen's answer received by the probe: the
//    target), and this client sends both through azod's control endpoint
//    (failure -> the answer received here). Each sample also waits for
//    sup.actor.started, which carries the supervisor's next ticket.
//    Baselines: pthread_create + pthread_join of an empty thread, a raw
//    inproc DEALER->ROUTER round trip, and the steady `crash.ping` round
//    trip through the supervisor. Target: median < 100 us.
// 3. Cold start and graceful stop of azod with its five actors, in the
//    default config (threads) and with every actor `mode = process`.
//    Start: from fork to the moment all five have answered their
//    `<prefix>ping` through azod. The client connects before azod binds
//    (reconnect interval 1 ms), asks the supervisor's `ping` first, then
//    each actor's, and asks again 0.5 ms after an "unavailable" (still
//    starting): the resolution is about 1 ms. Stop: from SIGTERM to azod's
//    exit (its pidfd). Floor: the floor child, kept alive until SIGTERM,
//    when it closes its socket and context and exits. Targets: start
//    < 100 ms, stop < 500 ms.
//
// Samples of a part alternate with those of its floors, so that machine
// noise hits both alike. Latencies are nearest-rank percentiles of all
// samples. Rows starting "@summary" are for tools/bench/run.sh. Every
// process started is stopped and reaped, also on errors and SIGINT: azod
// with SIGTERM (it stops its process actors, which run in process groups
// of their own); at the end, any process whose command line mentions the
// temp directory gets SIGKILL, and is reported, as it would be a leak.
// Options: --help. A default run takes about 25 s on two cores; the
// process figures depend on where the temp directory lives (TMPDIR): azod
// commits to its LMDB store, with fsync, on each restart.
#define _GNU_SOURCE // pipe2, environ
#include "azo_actor.h"
#include "azo_bench.h"
#include "azo_config.h"
#include "azo_err.h"
#include "azo_sup.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <linux/magic.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_WAIT_MS       10000 // a restart, reply or start: far beyond any real
#define S_STOP_MS       30000 // azod's stop (5 s per actor at most), then KILL
#define S_SETTLE_US     2000  // quiet time between process samples
#define S_RETRY_US      500   // cold start: ask a starting actor again
#define S_RECONNECT_MS  1     // cold start: the client's reconnect interval
#define S_WARMUP        3     // uncounted process restarts and starts
#define S_THREAD_WARMUP 20    // uncounted thread restarts
#define S_NACTORS       5

// The actors of azod, in start order, and their ping commands.
static const char *const s_actors[S_NACTORS] = {"scheduler", "health-checker",
                                                "mining-optimizer",
                                                "payment-recovery", "archiver"};
static const char *const s_pings[S_NACTORS] = {
    "sched.ping", "health.ping", "mining.ping", "pay.ping", "archive.ping"};

// --- series of samples -------------------------------------------------------

typedef struct {
    double *v; // owned: microseconds
    size_t n, cap;
    bool sorted;
} s_ser_t;

static int
s_ser_init(s_ser_t *s, size_t cap)
{
    memset(s, 0, sizeof *s);
    s->v = malloc((cap ? cap : 1) * sizeof *s->v);
    s->cap = cap;
    return s->v ? 0 : -ENOMEM;
}

static void
s_ser_fini(s_ser_t *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

static void
s_ser_add(s_ser_t *s, int64_t ns)
{
    if (s->n < s->cap) {
        s->v[s->n++] = (double)ns / 1e3;
        s->sorted = false;
    }
}

// Percentile q of s in microseconds (0 when empty).
static double
s_pct(s_ser_t *s, double q)
{
    if (!s->n)
        return 0;
    if (!s->sorted)
        azo_bench_sort(s->v, s->n);
    s->sorted = true;
    return azo_bench_pct(s->v, s->n, q);
}

// "3.71 ms" at 1 ms and above, else "85.2 us".
static const char *
s_fmt(char *buf, size_t len, double us)
{
    if (us >= 1000)
        snprintf(buf, len, "%.2f ms", us / 1000);
    else
        azo_bench_fmt_us(buf, len, us);
    return buf;
}

static void
s_head(const char *unit)
{
    printf("  %-48s %9s %9s %9s %9s  (%s)\n", "", "p50", "p90", "p99", "max",
           unit);
}

// One row: p50, p90, p99 and max, in ms (ms) or us.
static void
s_row(const char *label, s_ser_t *s, bool ms)
{
    double d = ms ? 1000 : 1;
    printf("  %-48s %9.*f %9.*f %9.*f %9.*f\n", label, ms ? 3 : 1,
           s_pct(s, 0.5) / d, ms ? 3 : 1, s_pct(s, 0.9) / d, ms ? 3 : 1,
           s_pct(s, 0.99) / d, ms ? 3 : 1, s_pct(s, 1.0) / d);
}

// A summary row at percentile q: azo against base, with an optional
// target "< limit_us".
static void
s_sum(const char *metric, s_ser_t *azo, s_ser_t *base, double q,
      const char *target, double limit_us)
{
    char a[32], b[32];
    double x = s_pct(azo, q), y = s_pct(base, q);
    azo_bench_summary(metric, s_fmt(a, sizeof a, x), s_fmt(b, sizeof b, y),
                      y > 0 ? x / y : 0, target,
                      target ? (x < limit_us ? "yes" : "NO") : NULL);
}

static const char *
s_met(double x, double limit)
{
    return x < limit ? "met" : "NOT met";
}

// Reports a failure on stderr, unless SIGINT caused it: then the only word
// is "interrupted", at the end.
static void s_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
s_err(const char *fmt, ...)
{
    if (zsys_interrupted)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

static void
s_sleep_us(int64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !zsys_interrupted)
        ;
}

// --- child processes ---------------------------------------------------------

// Like azo_bench_child_spawn with posix_spawn, which glibc runs as
// clone(CLONE_VM | CLONE_VFORK): the parent's page tables are not copied. No
// death signal: the floor child ends by itself. Returns 0 or -errno.
static int
s_child_posix_spawn(azo_bench_child_t *c, const char *path, char *const argv[])
{
    azo_bench_child_init(c);
    pid_t pid;
    int rc = posix_spawn(&pid, path, NULL, NULL, argv, environ);
    if (rc != 0)
        return -rc;
    return azo_bench_child_adopt(c, pid);
}

// Sends sig and waits up to wait_ms, then SIGKILL. Returns the wait status
// (or -1 when there was no process).
static int
s_child_stop(azo_bench_child_t *c, int sig, int wait_ms)
{
    if (c->pid <= 0)
        return -1;
    int status = -1;
    (void)azo_bench_child_signal(c, sig);
    if (azo_bench_child_wait(c, wait_ms, &status) == 0)
        return status;
    s_err("pid %d did not end within %d ms of signal %d; killing "
          "it\n",
          (int)c->pid, wait_ms, sig);
    (void)azo_bench_child_signal(c, SIGKILL);
    (void)azo_bench_child_wait(c, 60000, &status);
    return status;
}

// --- control client and event subscriber ------------------------------------

// Waits until sock is readable, until deadline (ns). With pidfd >= 0, a
// process ending ends the wait too. Returns 1 (readable), 0 (time-out or
// interrupted) or AZO_EUNAVAIL (the process ended).
static int
s_wait(void *sock, int pidfd, int64_t deadline)
{
    zmq_pollitem_t items[2] = {{sock, 0, ZMQ_POLLIN, 0},
                               {NULL, pidfd, ZMQ_POLLIN, 0}};
    while (!zsys_interrupted) {
        int64_t left = deadline - azo_bench_now_ns();
        if (left <= 0)
            return 0;
        long ms = (long)((left + 999999) / 1000000);
        int n = zmq_poll(items, pidfd >= 0 ? 2 : 1, ms);
        if (n < 0 && errno != EINTR)
            return 0;
        if (n > 0 && (items[0].revents & ZMQ_POLLIN))
            return 1;
        if (n > 0 && pidfd >= 0 && (items[1].revents & ZMQ_POLLIN))
            return AZO_EUNAVAIL;
    }
    return 0;
}

typedef struct {
    zsock_t *sock; // owned: DEALER to a control endpoint
    void *raw;
    uint64_t next_id;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    azo_rep_t rep; // the last reply, valid until the next receive
    zmq_msg_t msg;
    bool open;
} s_ctl_t;

static void
s_ctl_close(s_ctl_t *c)
{
    if (!c->open)
        return;
    zsock_destroy(&c->sock);
    zmq_msg_close(&c->msg);
    azo_rep_fini(&c->rep);
    msgpack_sbuffer_destroy(&c->sb);
    c->open = false;
}

// Connects a DEALER to ep; reconnect_ms > 0 sets its reconnect interval
// (for an endpoint not bound yet). Returns 0 or a negative code.
static int
s_ctl_open(s_ctl_t *c, const char *ep, int reconnect_ms)
{
    memset(c, 0, sizeof *c);
    c->next_id = 1;
    msgpack_sbuffer_init(&c->sb);
    msgpack_packer_init(&c->pk, &c->sb, msgpack_sbuffer_write);
    zmq_msg_init(&c->msg);
    c->open = true;
    if (azo_rep_init(&c->rep) < 0 || !(c->sock = zsock_new(ZMQ_DEALER)))
        return -ENOMEM;
    zsock_set_linger(c->sock, 0);
    if (reconnect_ms > 0)
        zsock_set_reconnect_ivl(c->sock, reconnect_ms);
    if (zsock_connect(c->sock, "%s", ep) < 0)
        return -EINVAL;
    c->raw = zsock_resolve(c->sock);
    return 0;
}

// Sends cmd with args {} or {"name": name}. Returns its id, or 0 when it
// could not be queued.
static uint64_t
s_ctl_send(s_ctl_t *c, const char *cmd, const char *name)
{
    uint64_t id = c->next_id++;
    msgpack_sbuffer_clear(&c->sb);
    azo_req_pack(&c->pk, id, cmd);
    msgpack_pack_map(&c->pk, name ? 1 : 0);
    if (name)
        azo_pack_kstr(&c->pk, "name", name);
    return zmq_send(c->raw, c->sb.data, c->sb.size, ZMQ_DONTWAIT) < 0 ? 0 : id;
}

// Takes one waiting reply into c->rep without blocking. Returns 1, 0 when
// none waits, or AZO_EBADREQ for a reply that does not decode.
static int
s_ctl_take(s_ctl_t *c)
{
    if (zmq_msg_recv(&c->msg, c->raw, ZMQ_DONTWAIT) < 0)
        return 0;
    return azo_rep_decode(&c->rep, zmq_msg_data(&c->msg), zmq_msg_size(&c->msg),
                          NULL, 0) < 0
               ? AZO_EBADREQ
               : 1;
}

// Waits until deadline for the reply to id (earlier replies are skipped).
// Returns 0 with it in c->rep, AZO_ETIMEOUT, AZO_EUNAVAIL (the process of
// pidfd ended) or AZO_EBADREQ.
static int
s_ctl_wait(s_ctl_t *c, uint64_t id, int pidfd, int64_t deadline)
{
    while (true) {
        int rc = s_ctl_take(c);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            if (c->rep.has_id && c->rep.id == id)
                return 0;
            continue;
        }
        rc = s_wait(c->raw, pidfd, deadline);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return AZO_ETIMEOUT;
    }
}

// A round trip of cmd (see s_ctl_send). Returns as s_ctl_wait; the caller
// looks at c->rep.ok.
static int
s_ctl_call(s_ctl_t *c, const char *cmd, const char *name, int pidfd,
           int wait_ms)
{
    uint64_t id = s_ctl_send(c, cmd, name);
    if (!id)
        return AZO_EUNAVAIL;
    return s_ctl_wait(c, id, pidfd,
                      azo_bench_now_ns() + (int64_t)wait_ms * 1000000);
}

// Reads an integer from the last reply's result (-1 when absent).
static int64_t
s_rep_int(const s_ctl_t *c, const char *key)
{
    int64_t v = -1;
    if (!c->rep.ok || azo_mp_int(azo_mp_get(c->rep.result, key), &v) < 0)
        return -1;
    return v;
}

// True when the last reply failed with wire code code.
static bool
s_rep_code(const s_ctl_t *c, const char *code)
{
    return !c->rep.ok && c->rep.code && streq(c->rep.code, code);
}

typedef struct {
    zsock_t *sock; // owned: SUB to an events endpoint
    void *raw;
    azo_event_t ev; // the last event, valid until the next receive
    zmq_msg_t topic, body;
    bool open;
} s_sub_t;

static void
s_sub_close(s_sub_t *s)
{
    if (!s->open)
        return;
    zsock_destroy(&s->sock);
    zmq_msg_close(&s->topic);
    zmq_msg_close(&s->body);
    azo_event_fini(&s->ev);
    s->open = false;
}

static int
s_sub_open(s_sub_t *s, const char *ep, const char *prefix)
{
    memset(s, 0, sizeof *s);
    zmq_msg_init(&s->topic);
    zmq_msg_init(&s->body);
    s->open = true;
    if (azo_event_init(&s->ev) < 0 || !(s->sock = zsock_new(ZMQ_SUB)))
        return -ENOMEM;
    zsock_set_linger(s->sock, 0);
    zsock_set_subscribe(s->sock, prefix);
    if (zsock_connect(s->sock, "%s", ep) < 0)
        return -EINVAL;
    s->raw = zsock_resolve(s->sock);
    return 0;
}

// Takes one waiting event into s->ev without blocking. Returns 1, 0 when
// none waits, or AZO_EBADREQ for one that does not decode.
static int
s_sub_take(s_sub_t *s)
{
    if (zmq_msg_recv(&s->topic, s->raw, ZMQ_DONTWAIT) < 0)
        return 0;
    if (!zmq_msg_more(&s->topic) || zmq_msg_recv(&s->body, s->raw, 0) < 0)
        return AZO_EBADREQ;
    while (zmq_msg_more(&s->body))
        if (zmq_msg_recv(&s->body, s->raw, 0) < 0)
            return AZO_EBADREQ;
    return azo_event_decode(&s->ev, zmq_msg_data(&s->topic),
                            zmq_msg_size(&s->topic), zmq_msg_data(&s->body),
                            zmq_msg_size(&s->body), NULL, 0) < 0
               ? AZO_EBADREQ
               : 1;
}

// True when the last event is topic about actor, of generation gen.
static bool
s_ev_is(const s_sub_t *s, const char *topic, const char *actor, int64_t gen)
{
    int64_t g = -1;
    return streq(s->ev.topic, topic) &&
           azo_mp_str_eq(azo_mp_get(&s->ev.root, "actor"), actor) &&
           azo_mp_int(azo_mp_get(&s->ev.root, "gen"), &g) == 0 && g == gen;
}

// --- the floor child -----------------------------------------------------

// Runs as `azo_bench_restart --floor-child EP [--floor-wait]`: a small
// libzmq program that connects a DEALER to ep and sends its pid; with
// wait, it then waits for SIGTERM before closing. Returns an exit status.
static int
s_floor_child(const char *ep, bool wait)
{
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    if (wait && sigprocmask(SIG_BLOCK, &term, NULL) < 0)
        return 1;
    void *ctx = zmq_ctx_new();
    void *sock = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
    int linger = 1000; // the parent may be gone: do not wait forever
    char msg[32];
    int n = snprintf(msg, sizeof msg, "%d", (int)getpid());
    int rc = 1;
    if (sock && zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) == 0 &&
        zmq_connect(sock, ep) == 0 && zmq_send(sock, msg, (size_t)n, 0) == n)
        rc = 0;
    if (rc == 0 && wait) {
        int sig;
        (void)sigwait(&term, &sig);
    }
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    return rc;
}

typedef struct {
    zsock_t *router; // owned: where floor children connect
    void *raw;
    char ep[192];
    const char *self; // this binary
    zmq_msg_t id, body;
} s_floor_t;

static int
s_floor_open(s_floor_t *f, const char *dir, const char *self)
{
    memset(f, 0, sizeof *f);
    zmq_msg_init(&f->id);
    zmq_msg_init(&f->body);
    f->self = self;
    snprintf(f->ep, sizeof f->ep, "ipc://%s/floor", dir);
    f->router = zsock_new(ZMQ_ROUTER);
    if (!f->router)
        return -ENOMEM;
    zsock_set_linger(f->router, 0);
    if (zsock_bind(f->router, "%s", f->ep) < 0)
        return -EINVAL;
    f->raw = zsock_resolve(f->router);
    return 0;
}

static void
s_floor_close(s_floor_t *f)
{
    zsock_destroy(&f->router);
    zmq_msg_close(&f->id);
    zmq_msg_close(&f->body);
}

typedef enum {
    S_FLOOR_FORK,  // fork+exec; the child sends and leaves
    S_FLOOR_SPAWN, // posix_spawn (vfork+exec); the child sends and leaves
    S_FLOOR_WAIT,  // fork+exec; the child sends and waits for SIGTERM
} s_floor_how_t;

// One start of the floor child, timed from fork (or posix_spawn) to its
// message. With S_FLOOR_WAIT the child is left running in *child (stop it
// with SIGTERM); otherwise it is reaped here. Returns 0 or a negative code.
static int
s_floor_start(s_floor_t *f, s_floor_how_t how, azo_bench_child_t *child,
              int64_t *ns)
{
    bool wait = how == S_FLOOR_WAIT;
    char *argv[] = {(char *)f->self, "--floor-child", f->ep,
                    wait ? "--floor-wait" : NULL, NULL};
    int64_t t0 = azo_bench_now_ns();
    int rc = how == S_FLOOR_SPAWN
                 ? s_child_posix_spawn(child, f->self, argv)
                 : azo_bench_child_spawn(child, f->self, argv, NULL, SIGKILL);
    if (rc < 0)
        return rc;
    int64_t deadline = t0 + (int64_t)S_WAIT_MS * 1000000;
    int pidfd = child->pidfd;
    while (true) {
        if (zmq_msg_recv(&f->id, f->raw, ZMQ_DONTWAIT) >= 0) {
            *ns = azo_bench_now_ns() - t0;
            if (zmq_msg_more(&f->id) && zmq_msg_recv(&f->body, f->raw, 0) >= 0)
                break;
            continue;
        }
        rc = s_wait(f->raw, pidfd, deadline);
        if (rc == AZO_EUNAVAIL) {
            // It ended: its message may still be on its way, briefly.
            pidfd = -1;
            int64_t grace = azo_bench_now_ns() + 1000000000;
            deadline = grace < deadline ? grace : deadline;
        } else if (rc == 0) {
            (void)s_child_stop(child, SIGKILL, 1000);
            return AZO_ETIMEOUT;
        }
    }
    char want[32];
    snprintf(want, sizeof want, "%d", (int)child->pid);
    if (zmq_msg_size(&f->body) != strlen(want) ||
        memcmp(zmq_msg_data(&f->body), want, strlen(want)) != 0) {
        (void)s_child_stop(child, SIGKILL, 1000);
        return AZO_EBADREQ; // a message from another child: cannot happen
    }
    if (wait)
        return 0;
    int status = 0;
    if (azo_bench_child_wait(child, S_WAIT_MS, &status) < 0 || status != 0) {
        (void)s_child_stop(child, SIGKILL, 1000);
        return AZO_EINTERNAL;
    }
    return 0;
}

// Fork without exec: the child writes a byte to a pipe and leaves. Timed
// from fork to that byte. Returns 0 or a negative code.
static int
s_fork_sample(int64_t *ns)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    int64_t t0 = azo_bench_now_ns();
    pid_t pid = fork();
    if (pid == 0) {
        char b = 1;
        _exit(write(fds[1], &b, 1) == 1 ? 0 : 1);
    }
    int rc = pid < 0 ? -errno : 0;
    char b = 0;
    ssize_t r = -1;
    while (pid > 0 && (r = read(fds[0], &b, 1)) < 0 && errno == EINTR)
        ;
    *ns = azo_bench_now_ns() - t0;
    close(fds[0]);
    close(fds[1]);
    while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return rc < 0 ? rc : r == 1 ? 0 : -EIO;
}

// Fork+exec of `azod --version` until it exits. Returns 0 or a negative
// code.
static int
s_version_sample(const char *azod, int64_t *ns)
{
    char *argv[] = {(char *)azod, "--version", NULL};
    azo_bench_child_t c;
    int64_t t0 = azo_bench_now_ns();
    int rc = azo_bench_child_spawn(&c, azod, argv, "/dev/null", SIGKILL);
    if (rc < 0)
        return rc;
    int status = 0;
    rc = azo_bench_child_wait(&c, S_WAIT_MS, &status);
    *ns = azo_bench_now_ns() - t0;
    if (rc < 0)
        (void)s_child_stop(&c, SIGKILL, 1000);
    return rc < 0 ? rc : status == 0 ? 0 : AZO_EINTERNAL;
}

// --- an azod under test ------------------------------------------------------

typedef struct {
    char data[192], log[192], ctl_ep[192], ev_ep[192], cl_ep[192];
    char sets[4][224]; // --set values for the paths above
    azo_bench_child_t proc;
    s_ctl_t ctl;
} s_azod_t;

// Names the paths of an azod whose files live under dir, tagged tag.
static void
s_azod_paths(s_azod_t *a, const char *dir, const char *tag)
{
    memset(a, 0, sizeof *a);
    azo_bench_child_init(&a->proc);
    snprintf(a->data, sizeof a->data, "%s/%s-data", dir, tag);
    snprintf(a->log, sizeof a->log, "%s/%s.log", dir, tag);
    snprintf(a->ctl_ep, sizeof a->ctl_ep, "ipc://%s/%s-ctl", dir, tag);
    snprintf(a->ev_ep, sizeof a->ev_ep, "ipc://%s/%s-ev", dir, tag);
    snprintf(a->cl_ep, sizeof a->cl_ep, "ipc://%s/%s-cl", dir, tag);
    snprintf(a->sets[0], sizeof a->sets[0], "node/data_dir=%s", a->data);
    snprintf(a->sets[1], sizeof a->sets[1], "endpoints/control=%s", a->ctl_ep);
    snprintf(a->sets[2], sizeof a->sets[2], "endpoints/events=%s", a->ev_ep);
    snprintf(a->sets[3], sizeof a->sets[3], "endpoints/cluster=%s", a->cl_ep);
}

#define S_MAX_SETS 16

// Starts azod with the path sets and extra[0..nextra). Returns 0 or a
// negative code.
static int
s_azod_spawn(s_azod_t *a, const char *azod, const char *const *extra,
             size_t nextra)
{
    char *argv[2 + 2 * (4 + S_MAX_SETS)];
    size_t n = 0;
    argv[n++] = (char *)azod;
    for (size_t i = 0; i < 4 + nextra && i < 4 + S_MAX_SETS; i++) {
        argv[n++] = "--set";
        argv[n++] = i < 4 ? a->sets[i] : (char *)extra[i - 4];
    }
    argv[n] = NULL;
    return azo_bench_child_spawn(&a->proc, azod, argv, a->log, SIGTERM);
}

// Stops azod with SIGTERM (it stops its actors itself) and reaps it.
// Returns its wait status, or -1 when it was not running.
static int
s_azod_stop(s_azod_t *a)
{
    s_ctl_close(&a->ctl);
    return s_child_stop(&a->proc, SIGTERM, S_STOP_MS);
}

// Waits until azod answers ping and every actor in pings[0..n) answers its
// own (retrying "unavailable" every millisecond). Returns 0 or -1 (reason
// printed).
static int
s_azod_ready(s_azod_t *a, const char *const *pings, size_t n)
{
    int64_t deadline = azo_bench_now_ns() + (int64_t)S_WAIT_MS * 1000000;
    bool up = false;
    while (!up && !zsys_interrupted && azo_bench_now_ns() < deadline) {
        int rc = s_ctl_call(&a->ctl, "ping", NULL, a->proc.pidfd, 100);
        if (rc == AZO_EUNAVAIL)
            break;
        up = rc == 0 && a->ctl.rep.ok;
    }
    for (size_t i = 0; up && i < n; i++) {
        while (true) {
            int rc =
                s_ctl_call(&a->ctl, pings[i], NULL, a->proc.pidfd, S_WAIT_MS);
            if (rc == 0 && a->ctl.rep.ok)
                break;
            if (rc < 0 || !s_rep_code(&a->ctl, "unavailable") ||
                zsys_interrupted || azo_bench_now_ns() > deadline) {
                up = false;
                break;
            }
            zclock_sleep(1);
        }
    }
    if (up)
        return 0;
    if (!zsys_interrupted) {
        struct pollfd p = {a->proc.pidfd, POLLIN, 0};
        if (poll(&p, 1, 0) == 1)
            s_err("azod ended at start\n");
        else
            s_err("azod and its actors did not answer within %d ms\n",
                  S_WAIT_MS);
        azo_bench_print_log(a->log, 40);
    }
    return -1;
}

// Reads from status the "standby" pid of actor (0: none ready). Returns it
// or a negative code.
static int64_t
s_standby_pid(s_azod_t *a, const char *actor)
{
    int rc = s_ctl_call(&a->ctl, "status", NULL, a->proc.pidfd, S_WAIT_MS);
    if (rc < 0)
        return rc;
    const msgpack_object *list = azo_mp_get(a->ctl.rep.result, "actors");
    if (!a->ctl.rep.ok || !list || list->type != MSGPACK_OBJECT_ARRAY)
        return AZO_EBADREQ;
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        const msgpack_object *m = &list->via.array.ptr[i];
        int64_t pid;
        if (azo_mp_str_eq(azo_mp_get(m, "name"), actor))
            return azo_mp_int(azo_mp_get(m, "standby"), &pid) == 0
                       ? pid
                       : AZO_EBADREQ;
    }
    return AZO_ENOTFOUND;
}

// Waits (polling status every millisecond, untimed) until actor has a
// standby ready. Returns 0 or a negative code.
static int
s_wait_standby(s_azod_t *a, const char *actor)
{
    int64_t deadline = azo_bench_now_ns() + (int64_t)S_WAIT_MS * 1000000;
    while (!zsys_interrupted && azo_bench_now_ns() < deadline) {
        int64_t pid = s_standby_pid(a, actor);
        if (pid < 0)
            return (int)pid;
        if (pid > 0)
            return 0;
        zclock_sleep(1);
    }
    return AZO_ETIMEOUT;
}

// --- options -------------------------------------------------------------

typedef struct {
    const char *azod;           // path of the azod binary
    const char *self;           // this binary
    size_t kills;               // process restarts per path
    size_t thread_n;            // thread restarts
    size_t starts;              // cold starts per config
    bool process, thread, cold; // which parts run
    bool verbose;
} s_opts_t;

static void
s_usage(FILE *out)
{
    fprintf(out,
            "Usage: azo_bench_restart [--azod PATH] [-k N] [-t N] [-s N]\n"
            "                         [--only process|thread|cold] [-v]\n"
            "\n"
            "Actor restart latency (process and thread actors) and azod's "
            "cold start and\ngraceful stop, next to fork/exec and thread "
            "floors measured in the same\nrun (issue #3).\n"
            "\n"
            "      --azod PATH   azod to start (default: ../azod next to "
            "this binary)\n"
            "  -k, --kills N     process actor restarts per path (200)\n"
            "  -t, --thread N    thread actor restarts (1000)\n"
            "  -s, --starts N    cold starts and stops per config (20)\n"
            "      --only WHAT   process, thread or cold (repeatable)\n"
            "  -v, --verbose     print the logs of azod and the in-process "
            "node at the end\n");
}

static int
s_parse(int argc, char **argv, s_opts_t *o, const char **floor_ep,
        bool *floor_wait)
{
    enum { OPT_AZOD = 256, OPT_ONLY, OPT_FLOOR, OPT_FLOOR_WAIT };
    static const struct option opts[] = {
        {"azod", required_argument, NULL, OPT_AZOD},
        {"kills", required_argument, NULL, 'k'},
        {"thread", required_argument, NULL, 't'},
        {"starts", required_argument, NULL, 's'},
        {"only", required_argument, NULL, OPT_ONLY},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"floor-child", required_argument, NULL, OPT_FLOOR}, // internal
        {"floor-wait", no_argument, NULL, OPT_FLOOR_WAIT},   // internal
        {NULL, 0, NULL, 0},
    };
    *o = (s_opts_t){.kills = 200, .thread_n = 1000, .starts = 20};
    *floor_ep = NULL;
    *floor_wait = false;
    bool only = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "k:t:s:vh", opts, NULL)) != -1) {
        char *end = NULL;
        long long v = optarg ? strtoll(optarg, &end, 10) : 0;
        bool num_ok =
            optarg && *optarg && end && !*end && v >= 1 && v <= 1000000;
        switch (opt) {
        case OPT_AZOD:
            o->azod = optarg;
            break;
        case 'k':
        case 't':
        case 's':
            if (!num_ok) {
                s_err("azo_bench_restart: bad count '%s' "
                      "(1..1000000)\n",
                      optarg);
                return -1;
            }
            *(opt == 'k'   ? &o->kills
              : opt == 't' ? &o->thread_n
                           : &o->starts) = (size_t)v;
            break;
        case OPT_ONLY:
            only = true;
            if (streq(optarg, "process"))
                o->process = true;
            else if (streq(optarg, "thread"))
                o->thread = true;
            else if (streq(optarg, "cold"))
                o->cold = true;
            else {
                s_err("azo_bench_restart: --only process|thread|cold\n");
                return -1;
            }
            break;
        case OPT_FLOOR:
            *floor_ep = optarg;
            break;
        case OPT_FLOOR_WAIT:
            *floor_wait = true;
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
        s_err("azo_bench_restart: unexpected '%s'\n", argv[optind]);
        return -1;
    }
    if (!only)
        o->process = o->thread = o->cold = true;
    return 0;
}

// --- 1. process actor restart --------------------------------------------

// One restart path: an actor of azod and its samples.
typedef struct {
    const char *label;
    const char *actor;
    const char *ping;
    bool standby;
    int64_t pid, gen; // of the instance running now
    s_ser_t total;    // kill -> ping reply from the next gen
    s_ser_t gone;     // kill -> the process has ended (its pidfd)
    s_ser_t detect;   // ended -> sup.actor.exited received
    s_ser_t start;    // sup.actor.exited -> sup.actor.started received
    s_ser_t answer;   // sup.actor.started -> ping reply
} s_path_t;

// Reads pid and gen of p's actor from a ping. Returns 0 or -1.
static int
s_path_ping(s_azod_t *a, s_path_t *p)
{
    int rc = s_ctl_call(&a->ctl, p->ping, NULL, a->proc.pidfd, S_WAIT_MS);
    if (rc < 0 || !a->ctl.rep.ok)
        return -1;
    p->pid = s_rep_int(&a->ctl, "pid");
    p->gen = s_rep_int(&a->ctl, "gen");
    return p->pid > 0 && p->pid != a->proc.pid && p->gen > 0 ? 0 : -1;
}

// Kills p's actor and times its return. count: record the samples.
// Returns 0 or -1 (reason printed).
static int
s_path_kill(s_azod_t *a, s_sub_t *sub, s_path_t *p, bool count)
{
    int fd = (int)syscall(SYS_pidfd_open, (pid_t)p->pid, 0);
    if (fd < 0) {
        s_err("%s: pid %lld is gone before the kill\n", p->actor,
              (long long)p->pid);
        return -1;
    }
    int64_t want = p->gen + 1, t_exit = 0, t_start = 0;
    int64_t t0 = azo_bench_now_ns();
    int rc =
        syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) < 0 ? -errno : 0;
    // The kernel's part: until the process has ended (the supervisor's
    // pidfd fires at the same moment).
    struct pollfd pfd = {fd, POLLIN, 0};
    while (rc == 0 && poll(&pfd, 1, S_WAIT_MS) < 0 && errno == EINTR)
        ;
    int64_t t_gone = azo_bench_now_ns();
    close(fd);
    if (rc < 0) {
        s_err("%s: cannot kill pid %lld: %s\n", p->actor, (long long)p->pid,
              strerror(-rc));
        return -1;
    }
    int64_t deadline = t0 + (int64_t)S_WAIT_MS * 1000000;
    while (!t_start) {
        rc = s_sub_take(sub);
        if (rc == 1) {
            if (!t_exit && s_ev_is(sub, "sup.actor.exited", p->actor, p->gen))
                t_exit = azo_bench_now_ns();
            else if (s_ev_is(sub, "sup.actor.started", p->actor, want))
                t_start = azo_bench_now_ns();
            continue;
        }
        if (rc == 0)
            rc = s_wait(sub->raw, a->proc.pidfd, deadline);
        if (rc <= 0) {
            s_err("%s: %s within %d ms of the kill\n", p->actor,
                  rc == AZO_EUNAVAIL  ? "azod ended"
                  : rc == AZO_EBADREQ ? "a malformed event"
                                      : "no sup.actor.started of the next gen",
                  S_WAIT_MS);
            return -1;
        }
    }
    rc = s_ctl_call(&a->ctl, p->ping, NULL, a->proc.pidfd, S_WAIT_MS);
    int64_t t1 = azo_bench_now_ns();
    int64_t gen = rc == 0 ? s_rep_int(&a->ctl, "gen") : -1;
    int64_t pid = rc == 0 ? s_rep_int(&a->ctl, "pid") : -1;
    if (gen != want || pid <= 0 || pid == p->pid) {
        s_err("%s: after the restart, %s answered %s (gen %lld, pid "
              "%lld; expected gen %lld and a new pid)\n",
              p->actor, p->ping,
              rc < 0            ? azo_err_str(rc)
              : a->ctl.rep.ok   ? "ok"
              : a->ctl.rep.code ? a->ctl.rep.code
                                : "?",
              (long long)gen, (long long)pid, (long long)want);
        return -1;
    }
    if (count) {
        s_ser_add(&p->total, t1 - t0);
        s_ser_add(&p->gone, t_gone - t0);
        s_ser_add(&p->detect, (t_exit ? t_exit : t_start) - t_gone);
        s_ser_add(&p->start, t_start - (t_exit ? t_exit : t_start));
        s_ser_add(&p->answer, t1 - t_start);
    }
    p->pid = pid;
    p->gen = gen;
    return 0;
}

// Connects sub to a's events and makes sure it receives: restarts a thread
// actor (archiver) until its sup.actor.started shows. Returns 0 or -1.
static int
s_sub_sync(s_azod_t *a, s_sub_t *sub)
{
    if (s_sub_open(sub, a->ev_ep, "sup.actor.") < 0)
        return -1;
    for (int i = 0; i < 100 && !zsys_interrupted; i++) {
        int rc = s_ctl_call(&a->ctl, "actor.restart", "archiver", a->proc.pidfd,
                            S_WAIT_MS);
        if (rc < 0 || !a->ctl.rep.ok)
            return -1;
        int64_t deadline = azo_bench_now_ns() + INT64_C(200000000);
        while (s_wait(sub->raw, -1, deadline) == 1)
            if (s_sub_take(sub) == 1 &&
                streq(sub->ev.topic, "sup.actor.started")) {
                // Drain what else came, then go.
                zclock_sleep(50);
                while (s_sub_take(sub) != 0)
                    ;
                return 0;
            }
    }
    return -1;
}

static void
s_report_process(s_path_t *paths, s_ser_t *floor, s_ser_t *spawns,
                 s_ser_t *forks, s_ser_t *version)
{
    printf("\n1. Process actor restart: SIGKILL -> the restarted actor "
           "answers <prefix>ping\n   through azod (ipc), %zu kills per path; "
           "backoff/reset_after = 0ms, so every\n   restart is immediate "
           "(no backoff), max_restarts = 100000\n",
           paths[0].total.n);
    s_head("ms");
    s_row("fork without exec (context)", forks, true);
    s_row("fork+exec floor: child's DEALER msg over ipc", floor, true);
    s_row("posix_spawn floor: the same, vfork+exec", spawns, true);
    s_row("fork+exec of azod --version, until exit", version, true);
    for (int k = 0; k < 2; k++) {
        s_path_t *p = &paths[k];
        s_row(p->label, &p->total, true);
        s_row("    kill -> process ended (its pidfd)", &p->gone, true);
        s_row("    ended -> sup.actor.exited received", &p->detect, true);
        s_row("    exited -> sup.actor.started received", &p->start, true);
        s_row("    started -> ping reply", &p->answer, true);
    }
    double f50 = s_pct(floor, 0.5), f99 = s_pct(floor, 0.99);
    for (int k = 0; k < 2; k++) {
        s_path_t *p = &paths[k];
        double m = s_pct(&p->total, 0.5), q = s_pct(&p->total, 0.99);
        printf("  %s: median %.2f ms (target < 2 ms: %s), p99 %.2f ms "
               "(target < 10 ms: %s);\n    %.2f x the fork+exec floor at "
               "p50, %.2f x at p99\n",
               p->standby ? "(b) standby" : "(a) fresh fork+exec", m / 1000,
               s_met(m, 2000), q / 1000, s_met(q, 10000), m / f50, q / f99);
    }
    printf("  The standby path can go below the floor: its process was "
           "forked, exec'd and\n  connected before the kill; it is "
           "activated, not started.\n");
    const char *names[2] = {"process restart (fresh fork+exec)",
                            "process restart (standby)"};
    for (int k = 0; k < 2; k++) {
        char metric[96];
        snprintf(metric, sizeof metric, "%s p50", names[k]);
        s_sum(metric, &paths[k].total, floor, 0.5, "< 2 ms", 2000);
        snprintf(metric, sizeof metric, "%s p99", names[k]);
        s_sum(metric, &paths[k].total, floor, 0.99, "< 10 ms", 10000);
    }
}

// Part 1. Returns 0 or -1.
static int
s_bench_process(const s_opts_t *o, const char *dir, s_floor_t *fl)
{
    static const char *const sets[] = {
        "supervisor/max_restarts=100000",
        "actors/scheduler/mode=process",
        "actors/scheduler/backoff/reset_after=0ms",
        "actors/health-checker/mode=process",
        "actors/health-checker/standby=1",
        "actors/health-checker/backoff/reset_after=0ms",
    };
    s_path_t paths[2] = {
        {.label = "(a) fresh fork+exec (mode = process)",
         .actor = "scheduler",
         .ping = "sched.ping"},
        {.label = "(b) standby (mode = process, standby = 1)",
         .actor = "health-checker",
         .ping = "health.ping",
         .standby = true},
    };
    s_ser_t floor = {0}, spawns = {0}, forks = {0}, version = {0};
    s_azod_t a;
    s_sub_t sub = {0};
    s_azod_paths(&a, dir, "r");
    int code = -1;
    size_t n = o->kills;
    if (s_ser_init(&floor, n) < 0 || s_ser_init(&spawns, n) < 0 ||
        s_ser_init(&forks, n) < 0 || s_ser_init(&version, n) < 0)
        goto done;
    for (int k = 0; k < 2; k++)
        if (s_ser_init(&paths[k].total, n) < 0 ||
            s_ser_init(&paths[k].gone, n) < 0 ||
            s_ser_init(&paths[k].detect, n) < 0 ||
            s_ser_init(&paths[k].start, n) < 0 ||
            s_ser_init(&paths[k].answer, n) < 0)
            goto done;
    int rc = s_azod_spawn(&a, o->azod, sets, sizeof sets / sizeof sets[0]);
    if (rc < 0) {
        s_err("cannot start azod: %s\n", azo_err_str(rc));
        goto done;
    }
    if (s_ctl_open(&a.ctl, a.ctl_ep, S_RECONNECT_MS) < 0 ||
        s_azod_ready(&a, s_pings, S_NACTORS) < 0)
        goto done;
    if (s_sub_sync(&a, &sub) < 0) {
        s_err("the events subscriber receives nothing\n");
        goto failed;
    }
    if (s_path_ping(&a, &paths[0]) < 0 || s_path_ping(&a, &paths[1]) < 0 ||
        s_wait_standby(&a, paths[1].actor) < 0) {
        s_err("the process actors are not as configured\n");
        goto failed;
    }
    for (size_t i = 0; i < S_WARMUP + n && !zsys_interrupted; i++) {
        bool count = i >= S_WARMUP;
        int64_t ns;
        azo_bench_child_t fc;
        if ((rc = s_floor_start(fl, S_FLOOR_FORK, &fc, &ns)) < 0) {
            s_err("fork+exec floor: %s\n", azo_err_str(rc));
            goto failed;
        }
        if (count)
            s_ser_add(&floor, ns);
        if ((rc = s_floor_start(fl, S_FLOOR_SPAWN, &fc, &ns)) < 0) {
            s_err("posix_spawn floor: %s\n", azo_err_str(rc));
            goto failed;
        }
        if (count)
            s_ser_add(&spawns, ns);
        if ((rc = s_fork_sample(&ns)) < 0) {
            s_err("fork: %s\n", azo_err_str(rc));
            goto failed;
        }
        if (count)
            s_ser_add(&forks, ns);
        if ((rc = s_version_sample(o->azod, &ns)) < 0) {
            s_err("azod --version: %s\n", azo_err_str(rc));
            goto failed;
        }
        if (count)
            s_ser_add(&version, ns);
        s_sleep_us(S_SETTLE_US);
        for (int k = 0; k < 2; k++) {
            if (s_path_kill(&a, &sub, &paths[k], count) < 0)
                goto failed;
            // The next standby must be ready, or the restart would be a
            // fresh one; then let its start settle.
            if (paths[k].standby &&
                (rc = s_wait_standby(&a, paths[k].actor)) < 0) {
                s_err("%s: no standby: %s\n", paths[k].actor, azo_err_str(rc));
                goto failed;
            }
            s_sleep_us(S_SETTLE_US);
        }
    }
    if (zsys_interrupted)
        goto done;
    s_report_process(paths, &floor, &spawns, &forks, &version);
    code = 0;
    goto done;
failed:
    if (!zsys_interrupted)
        azo_bench_print_log(a.log, 40);
done:
    s_sub_close(&sub);
    if (a.proc.pid > 0) {
        int status = s_azod_stop(&a);
        if (code == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
            s_err("azod ended with status %d\n", status);
            azo_bench_print_log(a.log, 40);
            code = -1;
        }
    }
    s_ctl_close(&a.ctl);
    int left = azo_bench_kill_mentioning(a.data);
    if (left > 0) {
        s_err("%d process(es) of %s outlived azod; killed\n", left, a.data);
        code = -1;
    }
    if (o->verbose)
        azo_bench_print_log(a.log, 1000000);
    s_ser_fini(&floor);
    s_ser_fini(&spawns);
    s_ser_fini(&forks);
    s_ser_fini(&version);
    for (int k = 0; k < 2; k++) {
        s_ser_fini(&paths[k].total);
        s_ser_fini(&paths[k].gone);
        s_ser_fini(&paths[k].detect);
        s_ser_fini(&paths[k].start);
        s_ser_fini(&paths[k].answer);
    }
    return code;
}

// --- 2. thread actor restart, in-process ---------------------------------

typedef struct {
    azo_actor_t *actor; // borrowed
} s_crash_t;

static int
s_crash_init(azo_actor_t *actor, void **self_p)
{
    s_crash_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    self->actor = actor;
    *self_p = self;
    return 0;
}

static void
s_crash_free(void *self)
{
    free(self);
}

// crash.fail: replies {t: now in ns}, then the instance ends in failure.
static int
s_crash_fail(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    s_crash_t *self = arg;
    (void)req;
    int64_t t = azo_bench_now_ns();
    azo_actor_exit(self->actor, true, "crash.fail (benchmark)");
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 1);
    azo_pack_kint(pk, "t", t);
    return 0;
}

static const azo_cmd_entry_t s_crash_cmds[] = {
    {"crash.fail", s_crash_fail},
};

static const azo_actor_def_t s_crash_def = {
    .name = "crash",
    .prefix = "crash.",
    .init = s_crash_init,
    .fini = s_crash_free,
    .cmds = s_crash_cmds,
    .ncmds = sizeof s_crash_cmds / sizeof s_crash_cmds[0],
};

// The probe: a second thread actor that calls the crash actor over the
// bus, as any actor of the node would.
typedef struct {
    azo_actor_t *actor; // borrowed
    azo_reply_t *later; // probe.go's deferred reply, or NULL
    int pending;        // calls of the round not answered yet
    bool bad;           // one of them failed
    int64_t t_fail, t_ans, gen;
} s_probe_t;

static int
s_probe_init(azo_actor_t *actor, void **self_p)
{
    s_probe_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    self->actor = actor;
    *self_p = self;
    return 0;
}

static void
s_probe_free(void *self)
{
    free(self);
}

// A call of the round has answered: when both have, probe.go replies.
static void
s_probe_done(s_probe_t *self)
{
    if (--self->pending > 0 || !self->later)
        return;
    if (self->bad)
        azo_reply_fail(self->later, AZO_EINTERNAL,
                       "crash.fail or crash.ping "
                       "failed");
    else {
        msgpack_packer *pk = azo_reply_result(self->later);
        msgpack_pack_map(pk, 3);
        azo_pack_kint(pk, "t_fail", self->t_fail);
        azo_pack_kint(pk, "t_ans", self->t_ans);
        azo_pack_kint(pk, "gen", self->gen);
    }
    (void)azo_actor_reply(self->actor, &self->later);
}

static void
s_probe_on_fail(void *arg, const azo_rep_t *rep, void *unused)
{
    s_probe_t *self = arg;
    (void)unused;
    if (!rep->ok || azo_mp_int(azo_mp_get(rep->result, "t"), &self->t_fail) < 0)
        self->bad = true;
    s_probe_done(self);
}

static void
s_probe_on_ping(void *arg, const azo_rep_t *rep, void *unused)
{
    s_probe_t *self = arg;
    (void)unused;
    self->t_ans = azo_bench_now_ns();
    if (!rep->ok || azo_mp_int(azo_mp_get(rep->result, "gen"), &self->gen) < 0)
        self->bad = true;
    s_probe_done(self);
}

// probe.go: crash.fail and, right behind it, crash.ping, both over the
// bus; replies {t_fail, t_ans, gen} once both have answered.
static int
s_probe_go(void *arg, const azo_req_t *req, azo_reply_t *reply)
{
    s_probe_t *self = arg;
    (void)req;
    if (self->later || self->pending)
        return azo_reply_fail(reply, AZO_ECONFLICT, "a round is running");
    static const char *const cmds[2] = {"crash.fail", "crash.ping"};
    azo_reply_fn *const fns[2] = {s_probe_on_fail, s_probe_on_ping};
    self->bad = false;
    for (int i = 0; i < 2; i++) {
        msgpack_pack_map(azo_actor_msg(self->actor, cmds[i]), 0);
        if (azo_actor_call(self->actor, NULL, S_WAIT_MS, fns[i], NULL) < 0) {
            self->bad = true;
            break;
        }
        self->pending++;
    }
    if (!self->pending)
        return azo_reply_fail(reply, AZO_EUNAVAIL, "cannot call crash");
    self->later = azo_actor_defer(self->actor, reply);
    return self->later ? 0 : azo_reply_fail(reply, AZO_EINTERNAL, "no memory");
}

static const azo_cmd_entry_t s_probe_cmds[] = {
    {"probe.go", s_probe_go},
};

static const azo_actor_def_t s_probe_def = {
    .name = "probe",
    .prefix = "probe.",
    .init = s_probe_init,
    .fini = s_probe_free,
    .cmds = s_probe_cmds,
    .ncmds = sizeof s_probe_cmds / sizeof s_probe_cmds[0],
};

static const azo_actor_def_t *const s_crash_defs[] = {&s_crash_def,
                                                      &s_probe_def};
#define S_NCRASH_DEFS (sizeof s_crash_defs / sizeof s_crash_defs[0])

#define S_INPROC_CTL  "inproc://azo-bench-restart-ctl"
#define S_INPROC_EV   "inproc://azo-bench-restart-ev"
#define S_INPROC_ECHO "inproc://azo-bench-restart-echo"

// The in-process node: the crash actor with the same policy settings as
// part 1. data_dir is --set at run time.
static const char s_crash_config[] = "node\n"
                                     "    name = bench\n"
                                     "endpoints\n"
                                     "    control = " S_INPROC_CTL "\n"
                                     "    events = " S_INPROC_EV "\n"
                                     "    cluster = inproc://azo-bench-cl\n"
                                     "supervisor\n"
                                     "    max_restarts = 100000\n"
                                     "store\n"
                                     "    map_size = 16MiB\n"
                                     "actors\n"
                                     "    crash\n"
                                     "        mode = thread\n"
                                     "        backoff\n"
                                     "            reset_after = 0ms\n"
                                     "    probe\n"
                                     "        mode = thread\n";

typedef struct {
    azo_config_t *cfg; // owned
    azo_sup_t *sup;    // owned; run by thread
    pthread_t thread;
    bool running;     // thread started and not joined
    atomic_bool done; // azo_sup_run has returned
    int exit_code;
    FILE *log; // owned: the runtime's log while the node runs
    char log_path[192];
} s_inproc_t;

static void *
s_sup_thread(void *arg)
{
    s_inproc_t *node = arg;
    node->exit_code = azo_sup_run(node->sup);
    atomic_store(&node->done, true);
    return NULL;
}

static int
s_inproc_start(s_inproc_t *node, const char *dir)
{
    char set[224];
    snprintf(set, sizeof set, "node/data_dir=%s/t-data", dir);
    const char *setv[1] = {set};
    snprintf(node->log_path, sizeof node->log_path, "%s/t.log", dir);
    // The supervisor logs every exit, as azod does to its log file.
    node->log = fopen(node->log_path, "w");
    if (node->log)
        zsys_set_logstream(node->log);
    azo_config_set_default_g(s_crash_config);
    size_t nkeys;
    azo_cfg_key_t *schema = azo_sup_schema(s_crash_defs, S_NCRASH_DEFS, &nkeys);
    if (!schema)
        return -1;
    char err[1024];
    int rc = azo_config_load(&node->cfg, NULL, setv, 1, schema, nkeys, err,
                             sizeof err);
    free(schema);
    if (rc == 0)
        rc = azo_sup_open(&node->sup, node->cfg, s_crash_defs, S_NCRASH_DEFS,
                          err, sizeof err);
    if (rc < 0) {
        s_err("in-process node: %s\n", err);
        return -1;
    }
    if (pthread_create(&node->thread, NULL, s_sup_thread, node) != 0) {
        s_err("cannot start the supervisor thread\n");
        return -1;
    }
    node->running = true;
    return 0;
}

// Shuts the node down through ctl (if open) and frees it. Returns -1 when
// the supervisor did not stop cleanly.
static int
s_inproc_stop(s_inproc_t *node, s_ctl_t *ctl)
{
    int code = 0;
    if (node->running) {
        // A stopped node (SIGINT) needs no request; neither the reply nor
        // a wake-up is certain then.
        if (ctl->raw)
            (void)s_ctl_send(ctl, "shutdown", NULL);
        int64_t deadline = azo_bench_now_ns() + INT64_C(10000000000);
        while (!atomic_load(&node->done) && azo_bench_now_ns() < deadline) {
            // s_wait returns at once after SIGINT: sleep then.
            if (ctl->raw && !zsys_interrupted &&
                s_wait(ctl->raw, -1, azo_bench_now_ns() + 50000000) == 1)
                (void)s_ctl_take(ctl);
            else
                zclock_sleep(10);
        }
        if (!atomic_load(&node->done)) {
            s_err("the in-process node did not stop within 10 s\n");
            fflush(NULL);
            _exit(1); // its thread cannot be joined
        }
        pthread_join(node->thread, NULL);
        node->running = false;
        if (node->exit_code != AZO_EXIT_OK) {
            s_err("the in-process supervisor exited with %d\n",
                  node->exit_code);
            code = -1;
        }
    }
    s_ctl_close(ctl);
    azo_sup_close(&node->sup);
    azo_config_destroy(&node->cfg);
    zsys_set_logstream(NULL);
    if (node->log)
        fclose(node->log);
    node->log = NULL;
    return code;
}

static void *
s_nop_thread(void *arg)
{
    return arg;
}

// The raw baseline: a ROUTER thread that echoes every message; an empty
// one ends it.
static void *
s_echo_thread(void *arg)
{
    void *raw = arg;
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    zmq_msg_init(&body);
    while (true) {
        if (zmq_msg_recv(&id, raw, 0) < 0) {
            if (errno == EINTR && !zsys_interrupted)
                continue;
            break;
        }
        if (!zmq_msg_more(&id) || zmq_msg_recv(&body, raw, 0) < 0 ||
            zmq_msg_size(&body) == 0)
            break;
        if (zmq_msg_send(&id, raw, ZMQ_SNDMORE) < 0 ||
            zmq_msg_send(&body, raw, 0) < 0)
            break;
    }
    zmq_msg_close(&id);
    zmq_msg_close(&body);
    return NULL;
}

// Waits until sub shows sup.actor.started of crash's generation gen, for
// up to wait_ms. Returns its arrival time (ns) or 0.
static int64_t
s_started_wait(s_sub_t *sub, int64_t gen, int wait_ms)
{
    int64_t deadline = azo_bench_now_ns() + (int64_t)wait_ms * 1000000;
    while (true) {
        int rc = s_sub_take(sub);
        if (rc == 1 && s_ev_is(sub, "sup.actor.started", "crash", gen))
            return azo_bench_now_ns();
        if (rc != 0)
            continue; // another event
        if (s_wait(sub->raw, -1, deadline) != 1)
            return 0;
    }
}

// One sample through the probe actor (over the bus): crash.fail, with
// crash.ping queued right behind it. *gen: crash's running generation.
// On success *total is failure -> the next gen's answer received by the
// probe, *ev failure -> sup.actor.started received here. Returns 0 or -1;
// with strict false, a missing event is no failure (*ev = -1).
static int
s_crash_bus(s_ctl_t *ctl, s_sub_t *sub, int64_t *gen, bool strict,
            int64_t *total, int64_t *ev)
{
    int64_t want = *gen + 1;
    if (s_ctl_call(ctl, "probe.go", NULL, -1, S_WAIT_MS) < 0 || !ctl->rep.ok)
        return -1;
    int64_t t_fail = s_rep_int(ctl, "t_fail"), t_ans = s_rep_int(ctl, "t_ans");
    if (s_rep_int(ctl, "gen") != want || t_fail <= 0 || t_ans < t_fail)
        return -1;
    int64_t t_ev = s_started_wait(sub, want, strict ? S_WAIT_MS : 200);
    if (!t_ev && strict)
        return -1;
    *gen = want;
    *total = t_ans - t_fail;
    *ev = t_ev ? t_ev - t_fail : -1;
    return 0;
}

// One sample through azod's control endpoint: crash.fail and crash.ping
// sent back to back. *total is failure -> the ping's reply received here.
// Returns 0 or -1.
static int
s_crash_ctl(s_ctl_t *ctl, s_sub_t *sub, int64_t *gen, int64_t *total)
{
    int64_t want = *gen + 1, t_fail = 0, t_ans = 0;
    uint64_t id_fail = s_ctl_send(ctl, "crash.fail", NULL);
    uint64_t id_ping = s_ctl_send(ctl, "crash.ping", NULL);
    if (!id_fail || !id_ping)
        return -1;
    int64_t deadline = azo_bench_now_ns() + (int64_t)S_WAIT_MS * 1000000;
    while (!t_fail || !t_ans) {
        int rc = s_ctl_take(ctl);
        if (rc == 0) {
            if (s_wait(ctl->raw, -1, deadline) != 1)
                return -1;
            continue;
        }
        if (rc < 0 || !ctl->rep.has_id)
            return -1;
        if (ctl->rep.id == id_ping) {
            t_ans = azo_bench_now_ns();
            if (s_rep_int(ctl, "gen") != want)
                return -1;
        } else if (ctl->rep.id == id_fail) {
            t_fail = s_rep_int(ctl, "t");
            if (t_fail <= 0)
                return -1;
        }
    }
    if (!s_started_wait(sub, want, S_WAIT_MS))
        return -1;
    *gen = want;
    *total = t_ans - t_fail;
    return 0;
}

// Part 2. Returns 0 or -1.
static int
s_bench_thread(const s_opts_t *o, const char *dir)
{
    size_t n = o->thread_n;
    s_ser_t bus = {0}, ev = {0}, ctl_total = {0}, ping = {0}, pth = {0},
            raw = {0};
    s_inproc_t node = {0};
    s_ctl_t ctl = {0};
    s_sub_t sub = {0};
    zsock_t *echo = NULL, *echo_c = NULL;
    pthread_t echo_thread;
    memset(&echo_thread, 0, sizeof echo_thread);
    bool echo_running = false;
    int code = -1;
    if (s_ser_init(&bus, n) < 0 || s_ser_init(&ev, n) < 0 ||
        s_ser_init(&ctl_total, n) < 0 || s_ser_init(&ping, n) < 0 ||
        s_ser_init(&pth, n) < 0 || s_ser_init(&raw, n) < 0)
        goto done;
    if (s_inproc_start(&node, dir) < 0)
        goto done;
    if (s_ctl_open(&ctl, S_INPROC_CTL, 0) < 0 ||
        s_sub_open(&sub, S_INPROC_EV, "sup.actor.") < 0)
        goto done;
    // Actors start once azo_sup_run runs; until then they are
    // "unavailable".
    int64_t gen = -1;
    int64_t deadline = azo_bench_now_ns() + (int64_t)S_WAIT_MS * 1000000;
    while (gen < 0 && !zsys_interrupted && azo_bench_now_ns() < deadline) {
        if (s_ctl_call(&ctl, "crash.ping", NULL, -1, 1000) == 0 && ctl.rep.ok &&
            s_ctl_call(&ctl, "probe.ping", NULL, -1, 1000) == 0 && ctl.rep.ok) {
            (void)s_ctl_call(&ctl, "crash.ping", NULL, -1, 1000);
            gen = s_rep_int(&ctl, "gen");
        } else
            zclock_sleep(1);
    }
    if (gen < 0) {
        s_err("the crash and probe actors did not start\n");
        goto failed;
    }
    echo = zsock_new(ZMQ_ROUTER);
    echo_c = zsock_new(ZMQ_DEALER);
    if (!echo || !echo_c || zsock_bind(echo, S_INPROC_ECHO) < 0 ||
        zsock_connect(echo_c, S_INPROC_ECHO) < 0 ||
        pthread_create(&echo_thread, NULL, s_echo_thread,
                       zsock_resolve(echo)) != 0) {
        s_err("cannot set up the raw echo baseline\n");
        goto failed;
    }
    echo_running = true;
    zsock_set_rcvtimeo(echo_c, S_WAIT_MS);
    // Until an event shows, the subscription may not be live yet.
    int64_t a, b = -1;
    for (int i = 0; i < 100 && b < 0 && !zsys_interrupted; i++)
        if (s_crash_bus(&ctl, &sub, &gen, false, &a, &b) < 0)
            break;
    if (b < 0) {
        s_err("the crash actor did not restart as expected\n");
        goto failed;
    }
    void *eraw = zsock_resolve(echo_c);
    for (size_t i = 0; i < S_THREAD_WARMUP + n && !zsys_interrupted; i++) {
        bool count = i >= S_THREAD_WARMUP;
        // The steady ping, the two restarts, then the baselines.
        int64_t t0 = azo_bench_now_ns();
        if (s_ctl_call(&ctl, "crash.ping", NULL, -1, S_WAIT_MS) < 0 ||
            !ctl.rep.ok) {
            s_err("crash.ping failed while running\n");
            goto failed;
        }
        int64_t t1 = azo_bench_now_ns(), c;
        if (s_crash_bus(&ctl, &sub, &gen, true, &a, &b) < 0) {
            s_err("restart %zu (probe): no quick restart, or the next gen "
                  "did not answer\n",
                  i);
            goto failed;
        }
        if (s_crash_ctl(&ctl, &sub, &gen, &c) < 0) {
            s_err("restart %zu (control): no quick restart, or the next gen "
                  "did not answer\n",
                  i);
            goto failed;
        }
        pthread_t t;
        int64_t t2 = azo_bench_now_ns();
        if (pthread_create(&t, NULL, s_nop_thread, NULL) != 0) {
            s_err("pthread_create failed\n");
            goto failed;
        }
        pthread_join(t, NULL);
        int64_t t3 = azo_bench_now_ns();
        char buf[64];
        if (zmq_send(eraw, "crash.ping", 10, 0) != 10 ||
            zmq_recv(eraw, buf, sizeof buf, 0) != 10) {
            s_err("the raw echo failed\n");
            goto failed;
        }
        int64_t t4 = azo_bench_now_ns();
        if (count) {
            s_ser_add(&ping, t1 - t0);
            s_ser_add(&bus, a);
            s_ser_add(&ev, b);
            s_ser_add(&ctl_total, c);
            s_ser_add(&pth, t3 - t2);
            s_ser_add(&raw, t4 - t3);
        }
    }
    if (zsys_interrupted)
        goto done;
    printf("\n2. Thread actor restart, in-process: crash.fail -> "
           "azo_actor_exit(failed) -> the\n   next gen answers the "
           "crash.ping queued behind the failure; %zu restarts\n   each way "
           "(backoff/reset_after = 0ms, max_restarts = 100000)\n",
           bus.n);
    s_head("us");
    s_row("pthread_create + pthread_join (baseline)", &pth, false);
    s_row("raw inproc DEALER->ROUTER round trip", &raw, false);
    s_row("crash.ping via the supervisor, steady", &ping, false);
    s_row("restart: failure -> an actor's call answered", &bus, false);
    s_row("    failure -> sup.actor.started received", &ev, false);
    s_row("restart: failure -> a control client answered", &ctl_total, false);
    double m = s_pct(&bus, 0.5);
    printf("  median %.1f us (target < 100 us: %s); %.2f x pthread_create + "
           "join.\n  Through azod's control endpoint: %.1f us at p50, of "
           "which a steady\n  crash.ping round trip is %.1f us\n",
           m, s_met(m, 100), m / s_pct(&pth, 0.5), s_pct(&ctl_total, 0.5),
           s_pct(&ping, 0.5));
    s_sum("thread actor restart p50 (in-process)", &bus, &pth, 0.5, "< 100 us",
          100);
    s_sum("thread actor restart p99 (in-process)", &bus, &pth, 0.99, NULL, 0);
    s_sum("thread actor restart p50 (via control)", &ctl_total, &ping, 0.5,
          NULL, 0);
    code = 0;
    goto done;
failed:
    if (!zsys_interrupted && node.log) {
        fflush(node.log);
        azo_bench_print_log(node.log_path, 40);
    }
done:
    s_sub_close(&sub);
    if (echo_running) {
        (void)zmq_send(zsock_resolve(echo_c), "", 0, 0); // ends the thread
        pthread_join(echo_thread, NULL);
    }
    zsock_destroy(&echo_c);
    zsock_destroy(&echo);
    if (s_inproc_stop(&node, &ctl) < 0)
        code = -1;
    if (o->verbose)
        azo_bench_print_log(node.log_path, 1000000);
    s_ser_fini(&bus);
    s_ser_fini(&ev);
    s_ser_fini(&ctl_total);
    s_ser_fini(&ping);
    s_ser_fini(&pth);
    s_ser_fini(&raw);
    return code;
}

// --- 3. cold start and graceful stop -------------------------------------

typedef struct {
    const char *label;
    bool process; // every actor mode = process
    s_azod_t a;
    s_ser_t start; // fork -> all five answered
    s_ser_t sup;   // fork -> the supervisor's ping answered
    s_ser_t stop;  // SIGTERM -> exit
    int leftovers; // actor processes that outlived a stop
} s_cold_t;

// One start and stop of c's azod. Returns 0 or -1 (reason printed).
static int
s_cold_once(const s_opts_t *o, s_cold_t *c, bool count)
{
    static const char *const proc_sets[S_NACTORS] = {
        "actors/scheduler/mode=process",
        "actors/health-checker/mode=process",
        "actors/mining-optimizer/mode=process",
        "actors/payment-recovery/mode=process",
        "actors/archiver/mode=process",
    };
    s_azod_t *a = &c->a;
    // Connecting first: the client retries every millisecond until azod
    // binds, and the ping waits in its queue.
    if (s_ctl_open(&a->ctl, a->ctl_ep, S_RECONNECT_MS) < 0)
        return -1;
    int64_t t0 = azo_bench_now_ns();
    int rc = s_azod_spawn(a, o->azod, proc_sets, c->process ? S_NACTORS : 0);
    if (rc < 0) {
        s_err("cannot start azod: %s\n", azo_err_str(rc));
        return -1;
    }
    uint64_t sup_id = s_ctl_send(&a->ctl, "ping", NULL);
    uint64_t ids[S_NACTORS] = {0};
    int64_t retry[S_NACTORS] = {0}; // when to ask again, or 0
    bool up[S_NACTORS] = {false};
    int nup = 0;
    int64_t t_sup = 0, t_all = 0;
    int64_t deadline = t0 + (int64_t)S_WAIT_MS * 1000000;
    const char *why = NULL;
    while (!why && !t_all) {
        rc = s_ctl_take(&a->ctl);
        if (rc == 1 && a->ctl.rep.has_id) {
            uint64_t id = a->ctl.rep.id;
            if (id == sup_id && !t_sup) {
                t_sup = azo_bench_now_ns();
                if (!a->ctl.rep.ok)
                    why = "the supervisor's ping failed";
                for (int i = 0; i < S_NACTORS; i++)
                    ids[i] = s_ctl_send(&a->ctl, s_pings[i], NULL);
                continue;
            }
            for (int i = 0; i < S_NACTORS; i++) {
                if (id != ids[i] || up[i])
                    continue;
                if (a->ctl.rep.ok) {
                    const msgpack_object *m =
                        azo_mp_get(a->ctl.rep.result, "mode");
                    if (!azo_mp_str_eq(m, c->process ? "process" : "thread"))
                        why = "an actor runs in the wrong mode";
                    up[i] = true;
                    if (++nup == S_NACTORS)
                        t_all = azo_bench_now_ns();
                } else if (s_rep_code(&a->ctl, "unavailable"))
                    retry[i] = azo_bench_now_ns() + S_RETRY_US * 1000;
                else
                    why = "an actor's ping failed";
            }
            continue;
        }
        if (rc < 0) {
            why = "a malformed reply";
            break;
        }
        int64_t now = azo_bench_now_ns(), next = deadline;
        for (int i = 0; i < S_NACTORS; i++) {
            if (retry[i] && retry[i] <= now) {
                retry[i] = 0;
                ids[i] = s_ctl_send(&a->ctl, s_pings[i], NULL);
            }
            if (retry[i] && retry[i] < next)
                next = retry[i];
        }
        if (now >= deadline || zsys_interrupted) {
            why = zsys_interrupted ? "interrupted" : "not ready in time";
            break;
        }
        if (s_wait(a->ctl.raw, a->proc.pidfd, next) == AZO_EUNAVAIL)
            why = "azod ended";
    }
    if (why) {
        if (!zsys_interrupted) {
            s_err("%s: cold start: %s (%d of %d actors up; not:", c->label, why,
                  nup, S_NACTORS);
            for (int i = 0; i < S_NACTORS; i++)
                if (!up[i])
                    s_err(" %s", s_actors[i]);
            s_err(")\n");
            azo_bench_print_log(a->log, 40);
        }
        return -1;
    }
    int64_t t2 = azo_bench_now_ns();
    (void)azo_bench_child_signal(&a->proc, SIGTERM);
    int status = -1;
    rc = azo_bench_child_wait(&a->proc, S_STOP_MS, &status);
    int64_t t3 = azo_bench_now_ns();
    if (rc < 0) {
        s_err("%s: azod did not stop within %d ms\n", c->label, S_STOP_MS);
        azo_bench_print_log(a->log, 40);
        return -1;
    }
    s_ctl_close(&a->ctl);
    int left = azo_bench_kill_mentioning(a->data);
    c->leftovers += left;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        s_err("%s: azod's stop ended with status %d\n", c->label, status);
        azo_bench_print_log(a->log, 40);
        return -1;
    }
    if (count) {
        s_ser_add(&c->start, t_all - t0);
        s_ser_add(&c->sup, t_sup - t0);
        s_ser_add(&c->stop, t3 - t2);
    }
    return 0;
}

// Part 3. Returns 0 or -1.
static int
s_bench_cold(const s_opts_t *o, const char *dir, s_floor_t *fl)
{
    size_t n = o->starts;
    s_cold_t cs[2] = {
        {.label = "default config (5 thread actors)"},
        {.label = "all-process config (5 process actors)", .process = true}};
    s_azod_paths(&cs[0].a, dir, "ct");
    s_azod_paths(&cs[1].a, dir, "cp");
    s_ser_t fstart = {0}, fstop = {0};
    azo_bench_child_t fc;
    azo_bench_child_init(&fc);
    int code = -1;
    if (s_ser_init(&fstart, n) < 0 || s_ser_init(&fstop, n) < 0)
        goto done;
    for (int k = 0; k < 2; k++)
        if (s_ser_init(&cs[k].start, n) < 0 || s_ser_init(&cs[k].sup, n) < 0 ||
            s_ser_init(&cs[k].stop, n) < 0)
            goto done;
    for (size_t i = 0; i < 1 + n && !zsys_interrupted; i++) {
        bool count = i >= 1; // the first creates the data directories
        int64_t ns;
        int rc = s_floor_start(fl, S_FLOOR_WAIT, &fc, &ns);
        if (rc < 0) {
            s_err("fork+exec floor: %s\n", azo_err_str(rc));
            goto done;
        }
        if (count)
            s_ser_add(&fstart, ns);
        int64_t t0 = azo_bench_now_ns();
        (void)azo_bench_child_signal(&fc, SIGTERM);
        int status = -1;
        rc = azo_bench_child_wait(&fc, S_WAIT_MS, &status);
        if (count)
            s_ser_add(&fstop, azo_bench_now_ns() - t0);
        if (rc < 0 || status != 0) {
            s_err("the floor child did not stop cleanly\n");
            goto done;
        }
        for (int k = 0; k < 2; k++) {
            s_sleep_us(S_SETTLE_US);
            if (s_cold_once(o, &cs[k], count) < 0)
                goto done;
        }
    }
    if (zsys_interrupted)
        goto done;
    printf("\n3. Cold start (fork+exec of azod until all 5 actors answered "
           "<prefix>ping through\n   it; resolution ~1 ms) and graceful stop "
           "(SIGTERM -> exit), %zu of each\n",
           cs[0].start.n);
    s_head("ms");
    s_row("fork+exec floor: child's DEALER msg over ipc", &fstart, true);
    s_row("floor child: SIGTERM -> exit (zmq close+term)", &fstop, true);
    for (int k = 0; k < 2; k++) {
        printf("  %s\n", cs[k].label);
        s_row("    start: fork -> all 5 answered", &cs[k].start, true);
        s_row("      fork -> supervisor's ping answered", &cs[k].sup, true);
        s_row("    stop: SIGTERM -> exit", &cs[k].stop, true);
    }
    for (int k = 0; k < 2; k++) {
        s_cold_t *c = &cs[k];
        double s50 = s_pct(&c->start, 0.5), s99 = s_pct(&c->start, 0.99);
        double p50 = s_pct(&c->stop, 0.5), p99 = s_pct(&c->stop, 0.99);
        printf("  %s: start p50 %.1f ms, p99 %.1f ms (target < 100 ms: "
               "%s); %.1f x floor;\n    stop p50 %.1f ms, p99 %.1f ms "
               "(target < 500 ms: %s)\n",
               c->process ? "processes" : "threads", s50 / 1000, s99 / 1000,
               s_met(s99, 100000), s50 / s_pct(&fstart, 0.5), p50 / 1000,
               p99 / 1000, s_met(p99, 500000));
        if (c->leftovers)
            printf("  %s: %d actor process(es) outlived azod's stop "
                   "(killed)\n",
                   c->label, c->leftovers);
        const char *what = c->process ? "5 process actors" : "5 thread actors";
        char metric[96];
        snprintf(metric, sizeof metric, "cold start p50, %s", what);
        s_sum(metric, &c->start, &fstart, 0.5, "< 100 ms", 100000);
        snprintf(metric, sizeof metric, "cold start p99, %s", what);
        s_sum(metric, &c->start, &fstart, 0.99, "< 100 ms", 100000);
        snprintf(metric, sizeof metric, "graceful stop p50, %s", what);
        s_sum(metric, &c->stop, &fstop, 0.5, "< 500 ms", 500000);
        snprintf(metric, sizeof metric, "graceful stop p99, %s", what);
        s_sum(metric, &c->stop, &fstop, 0.99, "< 500 ms", 500000);
    }
    code = cs[0].leftovers || cs[1].leftovers ? -1 : 0;
done:
    (void)s_child_stop(&fc, SIGKILL, 1000);
    for (int k = 0; k < 2; k++) {
        (void)s_azod_stop(&cs[k].a);
        if (azo_bench_kill_mentioning(cs[k].a.data) > 0)
            code = -1;
        if (o->verbose)
            azo_bench_print_log(cs[k].a.log, 1000000);
        s_ser_fini(&cs[k].start);
        s_ser_fini(&cs[k].sup);
        s_ser_fini(&cs[k].stop);
    }
    s_ser_fini(&fstart);
    s_ser_fini(&fstop);
    return code;
}

// --- main ----------------------------------------------------------------

int
main(int argc, char **argv)
{
    s_opts_t o;
    const char *floor_ep;
    bool floor_wait;
    if (s_parse(argc, argv, &o, &floor_ep, &floor_wait) < 0)
        return 2;
    if (floor_ep)
        return s_floor_child(floor_ep, floor_wait);

    char self[PATH_MAX], azod_buf[PATH_MAX + 16];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        s_err("azo_bench_restart: cannot find its own binary\n");
        return 1;
    }
    self[n] = 0;
    o.self = self;
    if (!o.azod)
        o.azod = azo_bench_default_azod(self, azod_buf, sizeof azod_buf);
    if (access(o.azod, X_OK) != 0) {
        s_err("azo_bench_restart: no azod at %s (use --azod PATH)\n", o.azod);
        return 2;
    }

    // A reader that goes away (| head) must not kill us before the cleanup.
    (void)signal(SIGPIPE, SIG_IGN);
    zsys_init();
    zsys_set_logident("azo_bench_restart");
    zsys_set_logsystem(false);
    zsys_set_logstream(NULL);
    azo_bench_print_machine();
    printf("azod: %s\n", o.azod);
    char dir[128];
    int rc = azo_bench_tmpdir(dir, sizeof dir);
    if (rc < 0) {
        s_err("azo_bench_restart: cannot make a temp directory: %s\n",
              strerror(-rc));
        return 1;
    }
    // azod's LMDB commits fsync: on tmpfs they cost nothing.
    struct statfs fs;
    bool tmpfs = statfs(dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC;
    printf("temp directory (data, ipc endpoints, logs): %s (%s)\n", dir,
           tmpfs ? "tmpfs: azod's fsyncs cost nothing here"
                 : "not tmpfs: azod's fsyncs reach a disk");
    fflush(stdout);
    s_floor_t fl;
    int code = 1;
    if (s_floor_open(&fl, dir, self) < 0) {
        s_err("azo_bench_restart: cannot bind %s\n", fl.ep);
        goto done;
    }
    int64_t t0 = azo_bench_now_ns();
    if ((o.process && s_bench_process(&o, dir, &fl) < 0) ||
        (o.thread && !zsys_interrupted && s_bench_thread(&o, dir) < 0) ||
        (o.cold && !zsys_interrupted && s_bench_cold(&o, dir, &fl) < 0))
        goto done;
    if (zsys_interrupted)
        goto done;
    printf("\n(whole run: %.1f s)\n", (double)(azo_bench_now_ns() - t0) / 1e9);
    code = 0;
done:
    s_floor_close(&fl);
    // Whatever happened: nothing started here outlives the benchmark.
    int left = azo_bench_kill_mentioning(dir);
    if (left > 0) {
        s_err("azo_bench_restart: %d leftover process(es) "
              "mentioning %s killed\n",
              left, dir);
        code = 1;
    }
    azo_bench_rmtree(dir);
    if (zsys_interrupted)
        fprintf(stderr, "interrupted\n");
    fflush(stdout);
    return code;
}
