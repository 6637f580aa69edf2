// azo_bench_ctl — benchmark 3 of issue #2: control round trips through a
// real azod process over ipc://, next to a raw ipc baseline measured in the
// same run. Not a test: it asserts nothing.
//
// What runs: the built azod (--azod PATH, or ../azod next to this binary),
// started with fork+exec on the embedded default config with its data
// directory and endpoints moved into a mkdtemp directory (--set), its log
// in <tmp>/azod.log. The baseline server is this same binary re-executed
// as a raw ROUTER (--raw-server ENDPOINT, also a separate process): it
// decodes each request with msgpack_unpack_next and answers a ping-sized
// reply packed with msgpack-c. One client (a DEALER per series in the main
// thread) measures every series with the same code, msgpack-c both ways,
// from before packing the request to after decoding the reply:
//   raw         raw ipc ROUTER in a blocking receive (the baseline)
//   raw, zmq_poll of 9 sockets  (diagnostic) a second raw server that
//               waits in zmq_poll on its ROUTER and 8 idle sockets, as
//               azod's supervisor zloop waits on 4 sockets plus one pipe
//               per actor
//   ping        answered by azod's supervisor
//   sched.list  routed by the supervisor to the scheduler actor, which
//               answers (today "unavailable"): a full trip through an actor
// One request in flight at a time; the series alternate in chunks so that
// machine noise hits them alike. Target: azod control p99 < 500 us.
// A default run takes ~12 s.
//
// How to read it: latencies in microseconds at p50, p90, p99, p99.9 and the
// maximum; ratio = azod / raw at the same percentile. Rows starting
// "@summary" are for tools/bench/run.sh. Both child processes are always
// stopped and reaped (also on errors; they also get SIGTERM if this process
// dies), and the temp directory removed. Options: --help.
#include "azo_bench.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_CHUNKS        20    // series alternate this many times
#define S_RT_TIMEOUT_MS 5000  // one round trip; far beyond any real one
#define S_START_MS      15000 // azod must answer ping within this
#define S_STOP_MS       10000 // then SIGKILL

// The diagnostic raw server polls its ROUTER together with this many idle
// sockets, as azod's supervisor polls control, inbox, events in and out,
// and one pipe per actor (5 today) in one zmq_poll.
#define S_DIAG_IDLE 8

enum { S_RAW, S_RAWPOLL, S_PING, S_SCHED, S_NSERIES };

static const char *const s_series_names[S_NSERIES] = {
    "raw ipc ROUTER (baseline)", "raw, zmq_poll of 9 sockets (diag.)",
    "azod ping (supervisor)", "azod sched.list (scheduler actor)"};
static const char *const s_series_cmds[S_NSERIES] = {"ping", "ping", "ping",
                                                     "sched.list"};

// --- child processes -------------------------------------------------------

// Starts path with argv in a child process whose stdout and stderr go to
// log (NULL: inherited). The child gets SIGTERM if we die. Returns its pid
// or -1.
static pid_t
s_spawn(const char *path, char *const argv[], const char *log)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    // Child: only async-signal-safe calls until exec.
    (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (log) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            (void)dup2(fd, STDOUT_FILENO);
            (void)dup2(fd, STDERR_FILENO);
            (void)close(fd);
        }
    }
    execv(path, argv);
    _exit(127);
}

// Waits up to wait_ms for pid, then SIGKILLs it and waits. Returns the
// wait status, or -1 when pid <= 0.
static int
s_reap(pid_t pid, int wait_ms)
{
    if (pid <= 0)
        return -1;
    int status = 0;
    int64_t deadline = azo_bench_now_ns() + (int64_t)wait_ms * 1000000;
    while (azo_bench_now_ns() < deadline) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return r == pid ? status : -1;
        zclock_sleep(5);
    }
    (void)kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

// True while pid has not exited; reaps it (status in *status) if it has.
static bool
s_alive(pid_t pid, int *status)
{
    return waitpid(pid, status, WNOHANG) == 0;
}

static void
s_print_log(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    fprintf(stderr, "--- %s ---\n", path);
    char line[512];
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
}

// --- the raw baseline server -----------------------------------------------

// Runs until SIGTERM/SIGINT or a `shutdown` request: a ROUTER that answers
// every request with a ping-like reply. With npoll idle sockets, it waits
// in zmq_poll on all of them, as a zloop does; otherwise in a blocking
// receive. Returns an exit code.
static int
s_raw_server(const char *endpoint, int npoll)
{
    zsys_init();
    zsys_set_logstream(NULL);
    zsock_t *sock = zsock_new(ZMQ_ROUTER);
    if (!sock || zsock_bind(sock, "%s", endpoint) < 0) {
        fprintf(stderr, "raw server: cannot bind %s\n", endpoint);
        zsock_destroy(&sock);
        return 1;
    }
    zsock_set_rcvtimeo(sock, 1000); // wakes up to notice an orphaning
    void *raw = zsock_resolve(sock);
    zsock_t *idle[S_DIAG_IDLE] = {NULL};
    zmq_pollitem_t items[S_DIAG_IDLE + 1] = {{raw, 0, ZMQ_POLLIN, 0}};
    for (int i = 0; i < npoll; i++) {
        idle[i] = zsock_new(ZMQ_PAIR);
        if (!idle[i] || zsock_bind(idle[i], "inproc://idle-%d", i) < 0) {
            fprintf(stderr, "raw server: cannot make idle sockets\n");
            return 1;
        }
        items[i + 1] =
            (zmq_pollitem_t){zsock_resolve(idle[i]), 0, ZMQ_POLLIN, 0};
    }
    zmq_msg_t ident, body;
    zmq_msg_init(&ident);
    zmq_msg_init(&body);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pid_t parent = getppid();
    bool stop = false;
    while (!stop && !zsys_interrupted && getppid() == parent) {
        if (npoll > 0 && (zmq_poll(items, npoll + 1, 1000) <= 0 ||
                          !(items[0].revents & ZMQ_POLLIN)))
            continue;
        if (zmq_msg_recv(&ident, raw, npoll > 0 ? ZMQ_DONTWAIT : 0) < 0)
            continue; // time-out or signal: the loop re-checks
        if (!zmq_msg_more(&ident))
            continue;
        // The last frame is the body (a REQ client adds a delimiter).
        do {
            if (zmq_msg_recv(&body, raw, 0) < 0)
                break;
        } while (zmq_msg_more(&body));
        azo_bench_env_t env;
        if (azo_bench_unpack(&u, zmq_msg_data(&body), zmq_msg_size(&body),
                             &env) < 0)
            continue; // dropped, like any malformed request
        stop = env.cmd && env.cmd_len == 8 && !memcmp(env.cmd, "shutdown", 8);
        // As long as azod's ping reply: node, ts and version.
        msgpack_sbuffer_clear(&sb);
        msgpack_pack_map(&pk, 4);
        msgpack_pack_str_with_body(&pk, "v", 1);
        msgpack_pack_uint64(&pk, 1);
        msgpack_pack_str_with_body(&pk, "id", 2);
        msgpack_pack_uint64(&pk, env.id);
        msgpack_pack_str_with_body(&pk, "ok", 2);
        msgpack_pack_true(&pk);
        msgpack_pack_str_with_body(&pk, "result", 6);
        msgpack_pack_map(&pk, 3);
        msgpack_pack_str_with_body(&pk, "node", 4);
        msgpack_pack_str_with_body(&pk, "alpha", 5);
        msgpack_pack_str_with_body(&pk, "ts", 2);
        msgpack_pack_int64(&pk, azo_bench_now_ns() / 1000000);
        msgpack_pack_str_with_body(&pk, "version", 7);
        msgpack_pack_str_with_body(&pk, "0.1.0", 5);
        if (zmq_msg_send(&ident, raw, ZMQ_SNDMORE) >= 0)
            (void)zmq_send(raw, sb.data, sb.size, 0); // client gone: fine
    }
    msgpack_sbuffer_destroy(&sb);
    msgpack_unpacked_destroy(&u);
    zmq_msg_close(&body);
    zmq_msg_close(&ident);
    for (int i = 0; i < npoll; i++)
        zsock_destroy(&idle[i]);
    zsock_destroy(&sock);
    return 0;
}

// --- the client ------------------------------------------------------------

typedef struct {
    zsock_t *sock; // owned: DEALER
    uint64_t next_id;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked u;
    zmq_msg_t msg;
} s_client_t;

static int
s_client_open(s_client_t *c, const char *endpoint)
{
    memset(c, 0, sizeof *c);
    c->next_id = 1;
    msgpack_sbuffer_init(&c->sb);
    msgpack_packer_init(&c->pk, &c->sb, msgpack_sbuffer_write);
    msgpack_unpacked_init(&c->u);
    zmq_msg_init(&c->msg);
    c->sock = zsock_new(ZMQ_DEALER);
    if (!c->sock)
        return -ENOMEM;
    zsock_set_linger(c->sock, 0);
    zsock_set_rcvtimeo(c->sock, S_RT_TIMEOUT_MS);
    return zsock_connect(c->sock, "%s", endpoint) < 0 ? -EINVAL : 0;
}

static void
s_client_close(s_client_t *c)
{
    zsock_destroy(&c->sock);
    zmq_msg_close(&c->msg);
    msgpack_unpacked_destroy(&c->u);
    msgpack_sbuffer_destroy(&c->sb);
}

// One round trip of cmd (args {} or {name: arg}). Returns its latency in
// ns with the reply in *env (strings valid until the next call), or -1 on
// time-out or error. Replies to earlier, timed-out requests are skipped.
static int64_t
s_round_trip(s_client_t *c, const char *cmd, const char *arg,
             azo_bench_env_t *env)
{
    void *raw = zsock_resolve(c->sock);
    uint64_t id = c->next_id++;
    int64_t t0 = azo_bench_now_ns();
    msgpack_sbuffer_clear(&c->sb);
    if (arg) {
        azo_bench_pack_req_head(&c->pk, id, cmd);
        msgpack_pack_map(&c->pk, 1);
        msgpack_pack_str_with_body(&c->pk, "name", 4);
        msgpack_pack_str_with_body(&c->pk, arg, strlen(arg));
    } else
        azo_bench_pack_req(&c->pk, id, cmd, NULL, 0);
    if (zmq_send(raw, c->sb.data, c->sb.size, 0) < 0)
        return -1;
    while (true) {
        if (zmq_msg_recv(&c->msg, raw, 0) < 0) {
            if (errno == EINTR && !zsys_interrupted)
                continue;
            return -1; // time-out or interrupted
        }
        if (azo_bench_unpack(&c->u, zmq_msg_data(&c->msg),
                             zmq_msg_size(&c->msg), env) < 0)
            return -1;
        if (env->has_id && env->id == id)
            return azo_bench_now_ns() - t0;
    }
}

// True when code[0..len) is name.
static bool
s_code_is(const azo_bench_env_t *env, const char *name)
{
    return env->code && env->code_len == strlen(name) &&
           memcmp(env->code, name, env->code_len) == 0;
}

// --- main ------------------------------------------------------------------

typedef struct {
    const char *azod; // path of the azod binary
    size_t samples;   // per series
    size_t warmup;    // per series
    bool verbose;
} s_opts_t;

static void
s_usage(FILE *out)
{
    fprintf(out, "Usage: azo_bench_ctl [--azod PATH] [-s SAMPLES] [--warmup N] "
                 "[-v]\n"
                 "\n"
                 "Control round-trip latency through a real azod over ipc://, "
                 "next to a\nraw ipc DEALER<->ROUTER ping-pong measured in the "
                 "same run (issue #2, 3).\n"
                 "\n"
                 "      --azod PATH   azod to start (default: ../azod next to "
                 "this binary)\n"
                 "  -s, --samples N   round trips per series (20000)\n"
                 "      --warmup N    round trips per series before measuring "
                 "(2000)\n"
                 "  -v, --verbose     print azod's log at the end\n");
}

// Finds ../azod next to this binary into buf. Returns buf or NULL.
static const char *
s_default_azod(char *buf, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return NULL;
    self[n] = 0;
    snprintf(buf, len, "%s/../azod", dirname(self));
    return buf;
}

static int
s_parse(int argc, char **argv, s_opts_t *o, const char **raw_server,
        int *raw_poll)
{
    enum { OPT_AZOD = 256, OPT_WARMUP, OPT_RAW, OPT_RAW_POLL };
    static const struct option opts[] = {
        {"azod", required_argument, NULL, OPT_AZOD},
        {"samples", required_argument, NULL, 's'},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"raw-server", required_argument, NULL, OPT_RAW},    // internal
        {"raw-poll", required_argument, NULL, OPT_RAW_POLL}, // internal
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (s_opts_t){.samples = 20000, .warmup = 2000};
    *raw_server = NULL;
    *raw_poll = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "s:vh", opts, NULL)) != -1) {
        char *end = NULL;
        long long v = optarg ? strtoll(optarg, &end, 10) : 0;
        bool num_ok =
            optarg && *optarg && end && !*end && v >= 0 && v <= 10000000;
        switch (opt) {
        case OPT_AZOD:
            o->azod = optarg;
            break;
        case 's':
        case OPT_WARMUP:
            if (!num_ok || (opt == 's' && v < S_CHUNKS)) {
                fprintf(stderr,
                        "azo_bench_ctl: bad count '%s' (samples: "
                        "%d..10000000)\n",
                        optarg, S_CHUNKS);
                return -1;
            }
            *(opt == 's' ? &o->samples : &o->warmup) = (size_t)v;
            break;
        case OPT_RAW:
            *raw_server = optarg;
            break;
        case OPT_RAW_POLL:
            if (!num_ok || v > S_DIAG_IDLE)
                return -1;
            *raw_poll = (int)v;
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
        fprintf(stderr, "azo_bench_ctl: unexpected '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

// Per series: latencies in microseconds, and how answers looked.
typedef struct {
    double *us; // owned, samples entries
    size_t n;
    size_t odd;      // answers that were not the expected kind
    char answer[64]; // what the last answer was ("ok", "unavailable")
    double p[5];     // p50, p90, p99, p99.9, max, after s_stats
} s_series_t;

static const double s_quantiles[5] = {0.50, 0.90, 0.99, 0.999, 1.0};
static const char *const s_qnames[5] = {"p50", "p90", "p99", "p99.9", "max"};

static void
s_stats(s_series_t *s)
{
    azo_bench_sort(s->us, s->n);
    for (int i = 0; i < 5; i++)
        s->p[i] = azo_bench_pct(s->us, s->n, s_quantiles[i]);
}

// One round trip of series k; records it when s is not NULL. Returns
// false on time-out or error.
static bool
s_one(s_client_t *clients[S_NSERIES], int k, s_series_t *s)
{
    azo_bench_env_t env;
    int64_t ns = s_round_trip(clients[k], s_series_cmds[k], NULL, &env);
    if (ns < 0)
        return false;
    if (!s)
        return true;
    s->us[s->n++] = (double)ns / 1e3;
    // ping must succeed; sched.list may say "unavailable" (not built yet)
    // but must come from the actor, which any other code would not be.
    bool expected = env.ok || (k == S_SCHED && s_code_is(&env, "unavailable"));
    if (!expected)
        s->odd++;
    if (env.ok)
        snprintf(s->answer, sizeof s->answer, "ok");
    else
        snprintf(s->answer, sizeof s->answer, "%.*s",
                 (int)(env.code_len < 60 ? env.code_len : 60),
                 env.code ? env.code : "?");
    return true;
}

static void
s_report(s_series_t *series)
{
    printf("\n3. Control round trips over ipc://, one in flight, %zu per "
           "series (microseconds)\n",
           series[0].n);
    printf("  %-36s", "");
    for (int i = 0; i < 5; i++)
        printf(" %9s", s_qnames[i]);
    printf("  answer\n");
    for (int k = 0; k < S_NSERIES; k++) {
        printf("  %-36s", s_series_names[k]);
        for (int i = 0; i < 5; i++)
            printf(" %9.1f", series[k].p[i]);
        printf("  %s", series[k].answer);
        if (series[k].odd)
            printf(" (%zu unexpected answers)", series[k].odd);
        printf("\n");
    }
    printf("  (diag.: the baseline server waiting in zmq_poll on its ROUTER "
           "and %d idle\n   sockets, as azod's supervisor zloop waits on "
           "control, inbox, events in\n   and out, and one pipe per actor: "
           "the difference to the baseline is\n   what such a poll set "
           "costs per request)\n",
           S_DIAG_IDLE);
    const s_series_t *raw = &series[S_RAW];
    for (int k = S_PING; k <= S_SCHED; k++) {
        const s_series_t *s = &series[k];
        printf("  %s: p99 %.1f us = %.2f x raw (target < 500 us: %s)\n",
               k == S_PING ? "ping" : "sched.list", s->p[2],
               s->p[2] / raw->p[2], s->p[2] < 500 ? "met" : "NOT met");
        // p50, p99 (the target) and p99.9.
        for (int j = 0; j < 3; j++) {
            int i = j == 0 ? 0 : j + 1;
            char metric[80], a[32], b[32];
            snprintf(metric, sizeof metric, "control %s %s (azod, ipc)",
                     k == S_PING ? "ping" : "sched.list", s_qnames[i]);
            bool has_target = i == 2;
            azo_bench_summary(
                metric, azo_bench_fmt_us(a, sizeof a, s->p[i]),
                azo_bench_fmt_us(b, sizeof b, raw->p[i]), s->p[i] / raw->p[i],
                has_target ? "< 500 us" : NULL,
                has_target ? (s->p[i] < 500 ? "yes" : "NO") : NULL);
        }
    }
}

// Starts both servers, measures, stops them. Returns an exit code.
static int
s_run(const s_opts_t *o, const char *dir, const char *self_path)
{
    char ep_ctl[160], ep_raw[160], ep_rawpoll[160], log[160], sets[4][200];
    char npoll[16];
    snprintf(ep_ctl, sizeof ep_ctl, "ipc://%s/ctl", dir);
    snprintf(ep_raw, sizeof ep_raw, "ipc://%s/raw", dir);
    snprintf(ep_rawpoll, sizeof ep_rawpoll, "ipc://%s/rawpoll", dir);
    snprintf(npoll, sizeof npoll, "%d", S_DIAG_IDLE);
    snprintf(log, sizeof log, "%s/azod.log", dir);
    snprintf(sets[0], sizeof sets[0], "node/data_dir=%s/data", dir);
    snprintf(sets[1], sizeof sets[1], "endpoints/control=%s", ep_ctl);
    snprintf(sets[2], sizeof sets[2], "endpoints/events=ipc://%s/ev", dir);
    snprintf(sets[3], sizeof sets[3], "endpoints/cluster=ipc://%s/cl", dir);
    char *azod_argv[] = {(char *)o->azod, "--set", sets[0], "--set", sets[1],
                         "--set",         sets[2], "--set", sets[3], NULL};
    char *raw_argv[] = {(char *)self_path, "--raw-server", ep_raw, NULL};
    char *rawpoll_argv[] = {(char *)self_path, "--raw-server", ep_rawpoll,
                            "--raw-poll",      npoll,          NULL};

    int code = 1, status = 0;
    s_client_t cl_raw, cl_rawpoll, cl_ping, cl_sched;
    s_client_t *clients[S_NSERIES] = {&cl_raw, &cl_rawpoll, &cl_ping,
                                      &cl_sched};
    s_series_t series[S_NSERIES] = {{0}};
    bool opened[S_NSERIES] = {false};
    pid_t azod = s_spawn(o->azod, azod_argv, log);
    pid_t raw = s_spawn(self_path, raw_argv, NULL);
    pid_t rawpoll = s_spawn(self_path, rawpoll_argv, NULL);
    if (azod < 0 || raw < 0 || rawpoll < 0) {
        fprintf(stderr, "cannot fork: %s\n", strerror(errno));
        goto done;
    }
    const char *eps[S_NSERIES] = {ep_raw, ep_rawpoll, ep_ctl, ep_ctl};
    for (int k = 0; k < S_NSERIES; k++) {
        series[k].us = malloc(o->samples * sizeof(double));
        if (!series[k].us || s_client_open(clients[k], eps[k]) < 0) {
            fprintf(stderr, "out of memory or sockets\n");
            goto done;
        }
        opened[k] = true;
    }

    // Ready when azod answers ping and its scheduler runs (actor.start
    // replies once the actor is running), and the raw server answers.
    int64_t deadline = azo_bench_now_ns() + (int64_t)S_START_MS * 1000000;
    zsock_set_rcvtimeo(cl_ping.sock, 100);
    bool ready = false;
    while (!ready && !zsys_interrupted && azo_bench_now_ns() < deadline) {
        azo_bench_env_t env;
        if (!s_alive(azod, &status)) {
            fprintf(stderr, "azod exited at start (status %d); its log:\n",
                    status);
            azod = -1;
            s_print_log(log);
            goto done;
        }
        ready = s_round_trip(&cl_ping, "ping", NULL, &env) >= 0 && env.ok;
    }
    zsock_set_rcvtimeo(cl_ping.sock, S_RT_TIMEOUT_MS);
    azo_bench_env_t env;
    if (!ready ||
        s_round_trip(&cl_ping, "actor.start", "scheduler", &env) < 0 ||
        !env.ok || s_round_trip(&cl_raw, "ping", NULL, &env) < 0 ||
        s_round_trip(&cl_rawpoll, "ping", NULL, &env) < 0) {
        fprintf(stderr, "%s did not become ready within %d ms\n",
                ready ? "the scheduler or a raw server" : "azod", S_START_MS);
        s_print_log(log);
        goto done;
    }

    for (int k = 0; k < S_NSERIES; k++)
        for (size_t i = 0; i < o->warmup; i++)
            if (!s_one(clients, k, NULL))
                goto failed;
    size_t per = o->samples / S_CHUNKS;
    for (int c = 0; c < S_CHUNKS; c++)
        for (int k = 0; k < S_NSERIES; k++) {
            size_t want = c == S_CHUNKS - 1 ? o->samples - per * c : per;
            for (size_t i = 0; i < want; i++)
                if (!s_one(clients, k, &series[k]))
                    goto failed;
        }
    for (int k = 0; k < S_NSERIES; k++)
        s_stats(&series[k]);
    s_report(series);
    code = 0;
    for (int k = 0; k < S_NSERIES; k++)
        if (series[k].odd)
            code = 1;

    // A clean stop through the control endpoint, like an operator's.
    if (s_round_trip(&cl_ping, "shutdown", NULL, &env) < 0 || !env.ok) {
        fprintf(stderr, "azod did not acknowledge shutdown\n");
        code = 1;
    }
    status = s_reap(azod, S_STOP_MS);
    azod = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "azod ended with status %d; its log:\n", status);
        s_print_log(log);
        code = 1;
    } else if (o->verbose)
        s_print_log(log);
    goto done;

failed:
    if (zsys_interrupted)
        fprintf(stderr, "interrupted\n");
    else {
        fprintf(stderr,
                "a round trip failed or timed out (%d ms); azod's "
                "log:\n",
                S_RT_TIMEOUT_MS);
        s_print_log(log);
    }
done:
    for (int k = 0; k < S_NSERIES; k++) {
        if (opened[k])
            s_client_close(clients[k]);
        free(series[k].us);
    }
    // Whatever happened: no child outlives the benchmark.
    if (azod > 0) {
        (void)kill(azod, SIGTERM);
        (void)s_reap(azod, S_STOP_MS);
    }
    pid_t raws[2] = {raw, rawpoll};
    for (int i = 0; i < 2; i++)
        if (raws[i] > 0) {
            (void)kill(raws[i], SIGTERM);
            (void)s_reap(raws[i], S_STOP_MS);
        }
    return code;
}

int
main(int argc, char **argv)
{
    s_opts_t o;
    const char *raw_server;
    int raw_poll;
    if (s_parse(argc, argv, &o, &raw_server, &raw_poll) < 0)
        return 2;
    if (raw_server)
        return s_raw_server(raw_server, raw_poll);

    char azod_buf[PATH_MAX + 16], self_path[PATH_MAX];
    if (!o.azod)
        o.azod = s_default_azod(azod_buf, sizeof azod_buf);
    if (!o.azod || access(o.azod, X_OK) != 0) {
        fprintf(stderr, "azo_bench_ctl: no azod at %s (use --azod PATH)\n",
                o.azod ? o.azod : "../azod");
        return 2;
    }
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (n <= 0) {
        fprintf(stderr, "azo_bench_ctl: cannot find its own binary\n");
        return 1;
    }
    self_path[n] = 0;

    zsys_init();
    zsys_set_logstream(NULL);
    azo_bench_print_machine();
    printf("azod: %s\n", o.azod);
    char dir[128];
    int rc = azo_bench_tmpdir(dir, sizeof dir);
    if (rc < 0) {
        fprintf(stderr, "azo_bench_ctl: cannot make a temp directory: %s\n",
                strerror(-rc));
        return 1;
    }
    int code = s_run(&o, dir, self_path);
    azo_bench_rmtree(dir);
    return code;
}
