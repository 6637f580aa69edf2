// test_hc_probe — the probe engine against real local servers: TCP
// listeners (open, closed, with a full backlog), an HTTP server thread with
// canned answers, programs run through posix_spawn, and ZeroMQ ROUTERs in
// the test's own loop. Each test drives a real zloop until the callbacks it
// expects have come; a safety timer fails the test instead of hanging.
#define _GNU_SOURCE // pipe2
#include "azo_err.h"
#include "azo_testutil.h"
#include "azo_wire.h"
#include "hc_probe.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define S_SAFETY_MS 20000 // a run that takes longer is a failure
#define S_MAX_IDS   1024  // ids per test (each fixture has a new engine)
#define S_MAX_HUNG  16

// --- a tiny HTTP server in a thread of its own

typedef struct {
    int lfd;
    uint16_t port;
    int stop[2]; // the test writes to stop[1]
    pthread_t thread;
    int hung[S_MAX_HUNG]; // connections never answered, closed at stop
    int nhung;
} s_http_srv_t;

static void
s_send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n <= 0)
            return; // the client went away (it may stop reading at 1 MiB)
        buf += n;
        len -= (size_t)n;
    }
}

static void
s_answer(int fd, const char *status, const char *extra, const char *body,
         size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, extra, len);
    s_send_all(fd, head, (size_t)n);
    s_send_all(fd, body, len);
}

// Answers /ok, /fail, /redirect, /other, /split (chunked, the text across
// two chunks), /big (2 MiB), /bigtail (2 MiB, then "needle"), /agent
// (echoes the User-Agent); /hang is accepted and never answered.
static bool
s_http_serve(s_http_srv_t *srv, int fd)
{
    char req[4096] = "";
    size_t len = 0;
    while (len < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
        ssize_t n = recv(fd, req + len, sizeof req - 1 - len, 0);
        if (n <= 0)
            return false;
        len += (size_t)n;
        req[len] = 0;
    }
    char path[64] = "";
    (void)sscanf(req, "GET %63s", path);
    if (strcmp(path, "/ok") == 0)
        s_answer(fd, "200 OK", "", "all good", 8);
    else if (strcmp(path, "/fail") == 0)
        s_answer(fd, "503 Service Unavailable", "", "down", 4);
    else if (strcmp(path, "/redirect") == 0)
        s_answer(fd, "302 Found", "Location: /ok\r\n", "moved", 5);
    else if (strcmp(path, "/other") == 0)
        s_answer(fd, "200 OK", "", "something else", 14);
    else if (strcmp(path, "/agent") == 0) {
        const char *ua = strstr(req, "User-Agent: ");
        size_t n = ua ? strcspn(ua + 12, "\r\n") : 0;
        s_answer(fd, "200 OK", "", ua ? ua + 12 : "", n);
    } else if (strcmp(path, "/split") == 0) {
        const char *r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                        "Connection: close\r\n\r\n"
                        "5\r\nall g\r\n3\r\nood\r\n0\r\n\r\n";
        s_send_all(fd, r, strlen(r));
    } else if (strcmp(path, "/big") == 0 || strcmp(path, "/bigtail") == 0) {
        size_t n = 2 * 1024 * 1024;
        char *body = malloc(n + 6);
        assert_non_null(body);
        memset(body, 'x', n);
        memcpy(body + n, "needle", 6);
        s_answer(fd, "200 OK", "", body,
                 strcmp(path, "/bigtail") == 0 ? n + 6 : n);
        free(body);
    } else if (strcmp(path, "/hang") == 0 && srv->nhung < S_MAX_HUNG) {
        srv->hung[srv->nhung++] = fd;
        return true;
    } else
        s_answer(fd, "404 Not Found", "", "", 0);
    return false;
}

static void *
s_http_main(void *arg)
{
    s_http_srv_t *srv = arg;
    for (;;) {
        struct pollfd pfd[2] = {{.fd = srv->lfd, .events = POLLIN},
                                {.fd = srv->stop[0], .events = POLLIN}};
        if (poll(pfd, 2, -1) < 0)
            continue;
        if (pfd[1].revents)
            break;
        int fd = accept4(srv->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        struct timeval tv = {.tv_sec = 5}; // a stuck client cannot stall us
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (!s_http_serve(srv, fd))
            close(fd);
    }
    return NULL;
}

static void
s_http_start(s_http_srv_t *srv)
{
    memset(srv, 0, sizeof *srv);
    srv->lfd = azo_test_listen(64, &srv->port);
    assert_true(srv->lfd >= 0);
    assert_int_equal(pipe2(srv->stop, O_CLOEXEC), 0);
    assert_int_equal(pthread_create(&srv->thread, NULL, s_http_main, srv), 0);
}

static void
s_http_stop(s_http_srv_t *srv)
{
    assert_int_equal(write(srv->stop[1], "x", 1), 1);
    assert_int_equal(pthread_join(srv->thread, NULL), 0);
    for (int i = 0; i < srv->nhung; i++)
        close(srv->hung[i]);
    close(srv->stop[0]);
    close(srv->stop[1]);
    close(srv->lfd);
}

// --- fixture: a loop, an engine, and what the callbacks received

typedef struct {
    int calls;
    hc_result_t res; // output points to out
    char *out;
} s_rec_t;

typedef struct {
    zloop_t *loop;
    hc_probe_t *probe;
    s_rec_t recs[S_MAX_IDS];
    size_t expected, got;
    bool safety_fired;
    s_http_srv_t http;
    bool http_on;
    char url[128];
    // Set by a test: called from s_on_result after recording.
    void (*hook)(void *f, uint64_t id);
    uint64_t hook_ids[4];
} s_fix_t;

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
s_on_result(void *arg, uint64_t id, const hc_result_t *res)
{
    s_fix_t *f = arg;
    assert_true(id > 0 && id < S_MAX_IDS);
    s_rec_t *r = &f->recs[id];
    r->calls++;
    r->res = *res;
    free(r->out);
    r->out = NULL;
    if (res->output_len) {
        r->out = malloc(res->output_len + 1);
        assert_non_null(r->out);
        memcpy(r->out, res->output, res->output_len);
        r->out[res->output_len] = 0;
    }
    r->res.output = r->out;
    f->got++;
    if (f->hook)
        f->hook(f, id);
    if (f->got == f->expected)
        assert_true(zloop_timer(f->loop, 0, 1, s_stop, f) >= 0);
}

// Runs the loop until `expected` callbacks in all have come.
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
setup(void **state)
{
    s_fix_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->loop = zloop_new();
    assert_non_null(f->loop);
    f->probe = hc_probe_new(f->loop);
    assert_non_null(f->probe);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    s_fix_t *f = *state;
    hc_probe_destroy(&f->probe);
    assert_null(f->probe);
    hc_probe_destroy(&f->probe); // NULL-safe
    zloop_destroy(&f->loop);
    if (f->http_on)
        s_http_stop(&f->http);
    for (int i = 0; i < S_MAX_IDS; i++)
        free(f->recs[i].out);
    free(f);
    return 0;
}

static uint64_t
s_start(s_fix_t *f, const hc_probe_spec_t *spec)
{
    uint64_t id = 0;
    char err[256] = "";
    int rc =
        hc_probe_start(f->probe, spec, s_on_result, f, &id, err, sizeof err);
    if (rc != 0)
        fail_msg("hc_probe_start: %d %s", rc, err);
    assert_true(id > 0 && id < S_MAX_IDS);
    return id;
}

static uint64_t
s_tcp(s_fix_t *f, const char *addr, int64_t timeout_ms)
{
    hc_probe_spec_t spec = {
        .kind = HC_PROBE_TCP, .addr = addr, .timeout_ms = timeout_ms};
    return s_start(f, &spec);
}

static uint64_t
s_http(s_fix_t *f, const char *path, const char *expect, int64_t timeout_ms,
       size_t cap)
{
    if (!f->http_on) {
        s_http_start(&f->http);
        f->http_on = true;
    }
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u%s",
             (unsigned)f->http.port, path);
    hc_probe_spec_t spec = {.kind = HC_PROBE_HTTP,
                            .addr = f->url,
                            .expect = expect,
                            .timeout_ms = timeout_ms,
                            .output_cap = cap};
    return s_start(f, &spec);
}

static uint64_t
s_exec(s_fix_t *f, char *const *argv, int64_t timeout_ms, size_t cap)
{
    hc_probe_spec_t spec = {.kind = HC_PROBE_EXEC,
                            .argv = argv,
                            .timeout_ms = timeout_ms,
                            .output_cap = cap};
    return s_start(f, &spec);
}

static uint64_t
s_sh(s_fix_t *f, const char *script, int64_t timeout_ms)
{
    char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
    return s_exec(f, argv, timeout_ms, 0);
}

static const hc_result_t *
s_res(s_fix_t *f, uint64_t id)
{
    assert_int_equal(f->recs[id].calls, 1);
    return &f->recs[id].res;
}

// Checks the one result of id: ok, timed_out, code (S_ANY: any) and detail
// (NULL: any one printable line). Returns the result.
#define S_ANY INT_MIN
static const hc_result_t *
s_check(s_fix_t *f, uint64_t id, bool ok, bool timed_out, int code,
        const char *detail)
{
    const hc_result_t *r = s_res(f, id);
    assert_int_equal(r->ok, ok);
    assert_int_equal(r->timed_out, timed_out);
    if (code != S_ANY)
        assert_int_equal(r->code, code);
    if (detail)
        assert_string_equal(r->detail, detail);
    else
        assert_true(azo_test_one_line(r->detail));
    assert_true(r->ms >= 0);
    return r;
}

// "127.0.0.1:<port>" in buf (64 bytes).
static const char *
s_addr(char *buf, uint16_t port)
{
    snprintf(buf, 64, "127.0.0.1:%u", (unsigned)port);
    return buf;
}

// A listener whose accept queue is full (backlog 0, one connection in):
// Linux drops further SYNs, so connects to it never complete.
static uint16_t
s_full_listener(int *lfd, int *filler)
{
    uint16_t port = 0;
    *lfd = azo_test_listen(0, &port);
    assert_true(*lfd >= 0);
    *filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(*filler, (struct sockaddr *)&sa, sizeof sa), 0);
    return port;
}

// --- tcp

static void
test_hc_probe_tcp_refused(void **state)
{
    s_fix_t *f = *state;
    char addr[64];
    uint64_t id = s_tcp(f, s_addr(addr, azo_test_closed_port()), 5000);
    // Even when connect() fails at once, the result comes from the loop.
    assert_int_equal(f->got, 0);
    s_run(f, 1);
    s_check(f, id, false, false, 0, "connect: Connection refused");
}

static void
test_hc_probe_tcp_times_out_on_full_backlog(void **state)
{
    s_fix_t *f = *state;
    int lfd, filler;
    char addr[64];
    uint64_t id = s_tcp(f, s_addr(addr, s_full_listener(&lfd, &filler)), 200);
    s_run(f, 1);
    s_check(f, id, false, true, 0, "timeout after 200 ms");
    close(filler);
    close(lfd);
}

static void
test_hc_probe_tcp_ipv6(void **state)
{
    s_fix_t *f = *state;
    int lfd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6,
                              .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (lfd >= 0)
            close(lfd);
        skip(); // no IPv6 loopback here
    }
    assert_int_equal(listen(lfd, 16), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "[::1]:%u", (unsigned)ntohs(sa.sin6_port));
    uint64_t id = s_tcp(f, addr, 5000);
    s_run(f, 1);
    s_check(f, id, true, false, 0, "connected");
    close(lfd);
}

static void
test_hc_probe_tcp_by_host_name(void **state)
{
    s_fix_t *f = *state;
    uint16_t port = 0;
    int lfd = azo_test_listen(16, &port);
    assert_true(lfd >= 0);
    char open_addr[64], closed_addr[64];
    snprintf(open_addr, sizeof open_addr, "localhost:%u", (unsigned)port);
    snprintf(closed_addr, sizeof closed_addr, "localhost:%u",
             (unsigned)azo_test_closed_port());
    uint64_t ok = s_tcp(f, open_addr, 5000);
    uint64_t bad = s_tcp(f, closed_addr, 5000);
    s_run(f, 2);
    s_check(f, ok, true, false, 0, "connected");
    const hc_result_t *r = s_check(f, bad, false, false, 0, NULL);
    assert_non_null(strstr(r->detail, "connect: "));
    close(lfd);
}

static void
test_hc_probe_tcp_connects_many_at_once(void **state)
{
    s_fix_t *f = *state;
    uint16_t port = 0;
    int lfd = azo_test_listen(1024, &port);
    assert_true(lfd >= 0);
    char addr[64];
    s_addr(addr, port);
    enum { N = 500 };
    for (int i = 0; i < N; i++)
        (void)s_tcp(f, addr, 10000);
    assert_int_equal(hc_probe_inflight(f->probe), N);
    s_run(f, N);
    for (uint64_t id = 1; id <= N; id++)
        s_check(f, id, true, false, 0, "connected");
    assert_int_equal(hc_probe_inflight(f->probe), 0);
    close(lfd);
}

// --- http

static void
test_hc_probe_http_ok_with_expected_text(void **state)
{
    s_fix_t *f = *state;
    uint64_t id = s_http(f, "/ok", "all good", 5000, 0);
    uint64_t plain = s_http(f, "/ok", NULL, 5000, 0);
    uint64_t agent = s_http(f, "/agent", NULL, 5000, 0);
    s_run(f, 3);
    const hc_result_t *r = s_check(f, id, true, false, 200, "HTTP 200");
    assert_int_equal(r->output_len, 8);
    assert_memory_equal(r->output, "all good", 8);
    s_check(f, plain, true, false, 200, "HTTP 200");
    r = s_check(f, agent, true, false, 200, "HTTP 200");
    assert_string_equal(r->output, "azo-health/1");
}

// Canned answers that are not healthy, or healthy without a 200.
static void
test_hc_probe_http_status_and_text(void **state)
{
    s_fix_t *f = *state;
    uint64_t fail = s_http(f, "/fail", NULL, 5000, 0);
    uint64_t redirect = s_http(f, "/redirect", NULL, 5000, 0);
    uint64_t missing = s_http(f, "/other", "all good", 5000, 0);
    s_run(f, 3);
    s_check(f, fail, false, false, 503, "HTTP 503");
    // 3xx is healthy and not followed: the body is the 302's own.
    const hc_result_t *r = s_check(f, redirect, true, false, 302, "HTTP 302");
    assert_string_equal(r->output, "moved");
    s_check(f, missing, false, false, 200, "expected text not found");
}

static void
test_hc_probe_http_expected_text_across_chunks(void **state)
{
    s_fix_t *f = *state;
    uint64_t id = s_http(f, "/split", "all good", 5000, 0);
    // Kept output is capped, the search is not.
    uint64_t capped = s_http(f, "/split", "good", 5000, 3);
    s_run(f, 2);
    const hc_result_t *r = s_check(f, id, true, false, 200, "HTTP 200");
    assert_string_equal(r->output, "all good");
    r = s_check(f, capped, true, false, 200, "HTTP 200");
    assert_int_equal(r->output_len, 3);
    assert_memory_equal(r->output, "all", 3);
}

static void
test_hc_probe_http_body_capped_at_1_mib(void **state)
{
    s_fix_t *f = *state;
    uint64_t absent = s_http(f, "/big", "needle", 10000, 0);
    uint64_t late = s_http(f, "/bigtail", "needle", 10000, 0);
    uint64_t any = s_http(f, "/big", NULL, 10000, 100);
    s_run(f, 3);
    const hc_result_t *r =
        s_check(f, absent, false, false, 200, "body larger than 1 MiB");
    assert_int_equal(r->output_len, 4096);
    s_check(f, late, false, false, 200, "body larger than 1 MiB");
    r = s_check(f, any, true, false, 200, "HTTP 200");
    assert_int_equal(r->output_len, 100);
}

static void
test_hc_probe_http_times_out_on_hung_server(void **state)
{
    s_fix_t *f = *state;
    uint64_t id = s_http(f, "/hang", NULL, 300, 0);
    s_run(f, 1);
    s_check(f, id, false, true, S_ANY, "timeout after 300 ms");
}

static void
test_hc_probe_http_connection_refused(void **state)
{
    s_fix_t *f = *state;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/",
             (unsigned)azo_test_closed_port());
    hc_probe_spec_t spec = {
        .kind = HC_PROBE_HTTP, .addr = url, .timeout_ms = 5000};
    uint64_t id = s_start(f, &spec);
    s_run(f, 1);
    s_check(f, id, false, false, 0, NULL); // libcurl's words
}

// --- exec

static void
test_hc_probe_exec_exit_status(void **state)
{
    s_fix_t *f = *state;
    char *t[] = {"/bin/true", NULL};
    char *fl[] = {"/bin/false", NULL};
    uint64_t yes = s_exec(f, t, 5000, 0);
    uint64_t no = s_exec(f, fl, 5000, 0);
    s_run(f, 2);
    s_check(f, yes, true, false, 0, "exit 0");
    s_check(f, no, false, false, 1, "exit 1");
}

static void
test_hc_probe_exec_detail_has_first_line(void **state)
{
    s_fix_t *f = *state;
    uint64_t id =
        s_sh(f, "echo; echo '  hello  '; echo world >&2; exit 3", 5000);
    uint64_t sig = s_sh(f, "kill -TERM $$", 5000);
    s_run(f, 2);
    const hc_result_t *r = s_check(f, id, false, false, 3, "exit 3: hello");
    assert_non_null(strstr(r->output, "hello"));
    assert_non_null(strstr(r->output, "world")); // stderr too
    s_check(f, sig, false, false, -SIGTERM, "signal 15");
}

// True when pid is gone or a zombie (someone else's child, not yet reaped
// by its new parent).
static bool
s_gone(pid_t pid)
{
    if (kill(pid, 0) < 0 && errno == ESRCH)
        return true;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return true;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static void
test_hc_probe_exec_killed_at_timeout(void **state)
{
    s_fix_t *f = *state;
    // The shell prints its pid and a background sleep's, then both sleep.
    uint64_t id = s_sh(f, "sleep 10 & echo $! $$; exec sleep 10", 300);
    s_run(f, 1);
    const hc_result_t *r =
        s_check(f, id, false, true, -SIGKILL, "timeout after 300 ms");
    assert_non_null(r->output);
    int bg = 0, pid = 0;
    assert_int_equal(sscanf(r->output, "%d %d", &bg, &pid), 2);
    // Ours, killed and reaped before the callback.
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    // The rest of its process group was killed too: wait for its end (a
    // pidfd of another's child is readable once it has exited).
    int pidfd = (int)syscall(SYS_pidfd_open, bg, 0);
    if (pidfd >= 0) {
        struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, 5000), 1);
        close(pidfd);
    } else
        assert_int_equal(errno, ESRCH);
    assert_true(s_gone(bg));
}

static void
test_hc_probe_exec_output_capped(void **state)
{
    s_fix_t *f = *state;
    char *argv[] = {"/usr/bin/head", "-c", "300000", "/dev/zero", NULL};
    uint64_t small = s_exec(f, argv, 5000, 100);
    uint64_t dflt = s_exec(f, argv, 5000, 0);
    s_run(f, 2);
    assert_int_equal(s_check(f, small, true, false, 0, "exit 0")->output_len,
                     100);
    assert_int_equal(s_check(f, dflt, true, false, 0, "exit 0")->output_len,
                     4096);
}

static void
test_hc_probe_exec_grandchild_does_not_delay(void **state)
{
    s_fix_t *f = *state;
    // The background sleep holds the pipe for 5 s, past the timeout: the
    // result must come from the shell's exit, not the pipe's end.
    uint64_t id = s_sh(f, "sleep 5 & echo started; exit 0", 3000);
    s_run(f, 1);
    const hc_result_t *r = s_check(f, id, true, false, 0, "exit 0");
    assert_string_equal(r->output, "started\n");
}

// Starts a probe that must be refused with rc and an err holding needle.
static void
s_refused(s_fix_t *f, const hc_probe_spec_t *spec, int rc, const char *needle)
{
    char err[256] = "";
    uint64_t id = 99;
    int got =
        hc_probe_start(f->probe, spec, s_on_result, f, &id, err, sizeof err);
    if (got != rc || !err[0] || (needle && !strstr(err, needle)))
        fail_msg("rc %d (want %d), err '%s'", got, rc, err);
    assert_int_equal(id, 0);
}

static void
test_hc_probe_exec_needs_a_path(void **state)
{
    s_fix_t *f = *state;
    char *rel[] = {"true", NULL};
    char *empty[] = {NULL};
    char *missing[] = {"/nonexistent/hc-probe-test", NULL};
    hc_probe_spec_t spec = {
        .kind = HC_PROBE_EXEC, .argv = rel, .timeout_ms = 1000};
    s_refused(f, &spec, AZO_EBADREQ, "path");
    spec.argv = empty;
    s_refused(f, &spec, AZO_EBADREQ, "empty argv");
    spec.argv = NULL;
    s_refused(f, &spec, AZO_EBADREQ, "empty argv");
    spec.argv = missing;
    s_refused(f, &spec, -ENOENT, "/nonexistent/hc-probe-test");
    assert_int_equal(hc_probe_inflight(f->probe), 0);
}

// --- zmq

typedef enum { S_ZMQ_OK, S_ZMQ_FAIL, S_ZMQ_SILENT, S_ZMQ_GARBAGE } s_zmode_t;

typedef struct {
    zsock_t *router;
    s_zmode_t mode;
    azo_req_t req;
    azo_reply_t reply;
    int requests;
    char cmd[32];
} s_zsrv_t;

static int
s_zsrv_on(zloop_t *loop, zsock_t *router, void *arg)
{
    (void)loop;
    s_zsrv_t *s = arg;
    zmsg_t *msg = zmsg_recv(router);
    assert_non_null(msg);
    assert_int_equal(zmsg_size(msg), 2); // identity, one body frame
    zframe_t *ident = zmsg_pop(msg);
    zframe_t *body = zmsg_pop(msg);
    assert_int_equal(
        azo_req_decode(&s->req, zframe_data(body), zframe_size(body), NULL, 0),
        0);
    snprintf(s->cmd, sizeof s->cmd, "%s", s->req.cmd);
    s->requests++;
    azo_reply_start(&s->reply, s->req.has_id, s->req.id);
    if (s->mode == S_ZMQ_OK) {
        msgpack_packer *pk = azo_reply_result(&s->reply);
        msgpack_pack_map(pk, 2);
        azo_pack_kstr(pk, "node", "n1");
        azo_pack_kstr(pk, "version", "0");
    } else if (s->mode == S_ZMQ_FAIL)
        (void)azo_reply_fail(&s->reply, AZO_EUNAVAIL, "not now");
    if (s->mode == S_ZMQ_OK || s->mode == S_ZMQ_FAIL) {
        size_t len;
        const void *data = azo_reply_data(&s->reply, &len);
        zsock_send(router, "fb", ident, data, len);
    } else if (s->mode == S_ZMQ_GARBAGE)
        zsock_send(router, "fs", ident, "not msgpack");
    zframe_destroy(&ident);
    zframe_destroy(&body);
    zmsg_destroy(&msg);
    return 0;
}

// A ROUTER on a kernel-chosen port, answering in the test's loop; a CURVE
// server when cert is not NULL.
static void
s_zsrv_start(s_fix_t *f, s_zsrv_t *s, s_zmode_t mode, zcert_t *cert)
{
    memset(s, 0, sizeof *s);
    s->mode = mode;
    s->router = zsock_new(ZMQ_ROUTER);
    assert_non_null(s->router);
    if (cert) {
        zcert_apply(cert, s->router);
        zsock_set_curve_server(s->router, 1);
    }
    assert_true(zsock_bind(s->router, "tcp://127.0.0.1:*") > 0);
    assert_int_equal(azo_req_init(&s->req), 0);
    azo_reply_init(&s->reply);
    assert_int_equal(zloop_reader(f->loop, s->router, s_zsrv_on, s), 0);
}

static void
s_zsrv_stop(s_fix_t *f, s_zsrv_t *s)
{
    zloop_reader_end(f->loop, s->router);
    zsock_destroy(&s->router);
    azo_req_fini(&s->req);
    azo_reply_fini(&s->reply);
}

static uint64_t
s_zmq(s_fix_t *f, s_zsrv_t *s, int64_t timeout_ms)
{
    hc_probe_spec_t spec = {.kind = HC_PROBE_ZMQ,
                            .addr = zsock_endpoint(s->router),
                            .timeout_ms = timeout_ms};
    return s_start(f, &spec);
}

static void
test_hc_probe_zmq_replies(void **state)
{
    s_fix_t *f = *state;
    s_zsrv_t ok, bad, silent, garbage;
    s_zsrv_start(f, &ok, S_ZMQ_OK, NULL);
    s_zsrv_start(f, &bad, S_ZMQ_FAIL, NULL);
    s_zsrv_start(f, &silent, S_ZMQ_SILENT, NULL);
    s_zsrv_start(f, &garbage, S_ZMQ_GARBAGE, NULL);
    uint64_t a = s_zmq(f, &ok, 5000);
    uint64_t b = s_zmq(f, &bad, 5000);
    uint64_t c = s_zmq(f, &silent, 300);
    uint64_t d = s_zmq(f, &garbage, 5000);
    s_run(f, 4);
    s_check(f, a, true, false, 0, "pong from n1");
    assert_string_equal(ok.cmd, "ping");
    s_check(f, b, false, false, 0, "error unavailable: not now");
    s_check(f, c, false, true, 0, "timeout after 300 ms");
    assert_int_equal(silent.requests, 1);
    s_check(f, d, false, false, 0, "malformed reply");
    s_zsrv_stop(f, &ok);
    s_zsrv_stop(f, &bad);
    s_zsrv_stop(f, &silent);
    s_zsrv_stop(f, &garbage);
}

static void
test_hc_probe_zmq_curve(void **state)
{
    s_fix_t *f = *state;
    if (!zmq_has("curve"))
        skip();
    zcert_t *server = zcert_new();
    zcert_t *client = zcert_new();
    s_zsrv_t s;
    s_zsrv_start(f, &s, S_ZMQ_OK, server);
    hc_probe_spec_t spec = {.kind = HC_PROBE_ZMQ,
                            .addr = zsock_endpoint(s.router),
                            .timeout_ms = 5000,
                            .server_key = zcert_public_txt(server),
                            .client_cert = client};
    uint64_t id = s_start(f, &spec);
    // The wrong server key: the handshake fails, no reply.
    zcert_t *other = zcert_new();
    spec.server_key = zcert_public_txt(other);
    spec.timeout_ms = 300;
    uint64_t wrong = s_start(f, &spec);
    s_run(f, 2);
    s_check(f, id, true, false, 0, "pong from n1");
    s_check(f, wrong, false, true, 0, "timeout after 300 ms");
    s_zsrv_stop(f, &s);
    zcert_destroy(&other);
    zcert_destroy(&server);
    zcert_destroy(&client);
}

// --- lifecycle

// Probes that stay in flight until cancelled: a hung HTTP server, a
// silent ROUTER, a full backlog, long sleeps; and a probe that ends (the
// sentinel), run to its end so that the others are known to be waiting.
typedef struct {
    s_zsrv_t silent;
    int lfd, filler;
    uint64_t ids[8];
    size_t n;
} s_stuck_t;

static void
s_stuck_start(s_fix_t *f, s_stuck_t *st)
{
    s_zsrv_start(f, &st->silent, S_ZMQ_SILENT, NULL);
    char addr[64];
    s_addr(addr, s_full_listener(&st->lfd, &st->filler));
    st->n = 0;
    st->ids[st->n++] = s_http(f, "/hang", NULL, 10000, 0);
    st->ids[st->n++] = s_zmq(f, &st->silent, 10000);
    st->ids[st->n++] = s_tcp(f, addr, 10000);
    st->ids[st->n++] = s_sh(f, "sleep 10", 10000);
    st->ids[st->n++] = s_sh(f, "sleep 10 & sleep 10", 10000);
    assert_int_equal(hc_probe_inflight(f->probe), st->n);
}

// Runs a probe that does end; then checks that none of the stuck ones
// called back.
static void
s_stuck_run(s_fix_t *f, s_stuck_t *st)
{
    char *t[] = {"/bin/true", NULL};
    uint64_t sentinel = s_exec(f, t, 5000, 0);
    s_run(f, f->got + 1);
    s_check(f, sentinel, true, false, 0, "exit 0");
    for (size_t i = 0; i < st->n; i++)
        assert_int_equal(f->recs[st->ids[i]].calls, 0);
}

static void
s_stuck_stop(s_fix_t *f, s_stuck_t *st)
{
    s_zsrv_stop(f, &st->silent);
    close(st->filler);
    close(st->lfd);
}

// True when this process has no child left to reap.
static bool
s_no_children(void)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 &&
           errno == ECHILD;
}

static void
test_hc_probe_cancel_in_flight(void **state)
{
    s_fix_t *f = *state;
    s_stuck_t st;
    s_stuck_start(f, &st);
    for (size_t i = 0; i < st.n; i++)
        hc_probe_cancel(f->probe, st.ids[i]);
    assert_int_equal(hc_probe_inflight(f->probe), 0);
    hc_probe_cancel(f->probe, st.ids[0]); // twice: ignored
    hc_probe_cancel(f->probe, 12345);     // unknown: ignored
    hc_probe_cancel(f->probe, 0);
    s_stuck_run(f, &st);
    s_stuck_stop(f, &st);
}

static void
test_hc_probe_destroy_in_flight(void **state)
{
    s_fix_t *f = *state;
    s_stuck_t st;
    s_stuck_start(f, &st);
    s_stuck_run(f, &st);
    assert_int_equal(hc_probe_inflight(f->probe), st.n);
    hc_probe_destroy(&f->probe);
    assert_null(f->probe);
    for (size_t i = 0; i < st.n; i++)
        assert_int_equal(f->recs[st.ids[i]].calls, 0);
    assert_true(s_no_children()); // killed and reaped
    // Destroy with probes started on a loop that has never run, then run
    // that loop: nothing of the engine may be left in it.
    zloop_t *loop = f->loop;
    f->loop = zloop_new();
    assert_non_null(f->loop);
    f->probe = hc_probe_new(f->loop);
    assert_non_null(f->probe);
    (void)s_tcp(f, "127.0.0.1:1", 1000); // refused at once: result parked
    (void)s_sh(f, "sleep 10", 10000);
    hc_probe_destroy(&f->probe);
    assert_true(s_no_children());
    assert_true(zloop_timer(f->loop, 20, 1, s_stop, NULL) >= 0);
    (void)zloop_start(f->loop);
    zloop_destroy(&f->loop);
    f->loop = loop;
    f->probe = hc_probe_new(f->loop); // for teardown
    assert_non_null(f->probe);
    assert_int_equal(f->got, 1);
    s_stuck_stop(f, &st);
}

static void
s_hook_reenter(void *arg, uint64_t id)
{
    s_fix_t *f = arg;
    if (id != f->hook_ids[0])
        return;
    hc_probe_cancel(f->probe, id);             // its own id: finished already
    hc_probe_cancel(f->probe, f->hook_ids[1]); // another, in flight
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)f->hook_ids[3]);
    f->hook_ids[2] = s_tcp(f, addr, 5000); // a new one
}

static void
test_hc_probe_callback_may_start_and_cancel(void **state)
{
    s_fix_t *f = *state;
    uint16_t port = 0;
    int lfd = azo_test_listen(64, &port);
    assert_true(lfd >= 0);
    f->hook_ids[3] = port;
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)port);
    f->hook = s_hook_reenter;
    f->hook_ids[0] = s_tcp(f, addr, 5000);
    f->hook_ids[1] = s_sh(f, "sleep 10", 10000);
    s_run(f, 2); // the first and the one it started
    assert_true(s_res(f, f->hook_ids[0])->ok);
    assert_int_equal(f->recs[f->hook_ids[1]].calls, 0);
    assert_true(s_res(f, f->hook_ids[2])->ok);
    assert_int_equal(hc_probe_inflight(f->probe), 0);
    close(lfd);
}

static void
s_hook_cancel_all(void *arg, uint64_t id)
{
    s_fix_t *f = arg;
    (void)id;
    for (uint64_t other = 1; other <= f->hook_ids[0]; other++)
        hc_probe_cancel(f->probe, other);
}

static void
test_hc_probe_callback_cancels_rest_of_batch(void **state)
{
    s_fix_t *f = *state;
    uint16_t port = 0;
    int lfd = azo_test_listen(1024, &port);
    assert_true(lfd >= 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)port);
    // The first result cancels the others, whose connects have completed
    // in the same epoll batch: none of them may be delivered.
    enum { N = 200 };
    for (int i = 0; i < N; i++)
        f->hook_ids[0] = s_tcp(f, addr, 5000);
    f->hook = s_hook_cancel_all;
    s_run(f, 1);
    assert_int_equal(hc_probe_inflight(f->probe), 0);
    f->hook = NULL;
    uint64_t sentinel = s_tcp(f, addr, 5000);
    s_run(f, 2);
    assert_true(s_res(f, sentinel)->ok);
    size_t delivered = 0;
    for (uint64_t id = 1; id <= N; id++)
        delivered += (size_t)f->recs[id].calls;
    assert_int_equal(delivered, 1);
    close(lfd);
}

// --- validation

static void
test_hc_probe_check_addr_table(void **state)
{
    (void)state;
    static const struct {
        hc_probe_kind_t kind;
        const char *addr;
        bool ok;
    } cases[] = {
        {HC_PROBE_TCP, "127.0.0.1:80", true},
        {HC_PROBE_TCP, "db.example.com:5432", true},
        {HC_PROBE_TCP, "localhost:65535", true},
        {HC_PROBE_TCP, "[::1]:8080", true},
        {HC_PROBE_TCP, "[fe80::1%eth0]:80", true},
        {HC_PROBE_TCP, "127.0.0.1:0", false},
        {HC_PROBE_TCP, "127.0.0.1:65536", false},
        {HC_PROBE_TCP, "127.0.0.1:", false},
        {HC_PROBE_TCP, "127.0.0.1:80x", false},
        {HC_PROBE_TCP, "127.0.0.1:-1", false},
        {HC_PROBE_TCP, "127.0.0.1", false},
        {HC_PROBE_TCP, ":80", false},
        {HC_PROBE_TCP, "::1:80", false},
        {HC_PROBE_TCP, "[::1]80", false},
        {HC_PROBE_TCP, "[zz::1]:80", false},
        {HC_PROBE_TCP, "[]:80", false},
        {HC_PROBE_TCP, "bad host:80", false},
        {HC_PROBE_TCP, "a/b:80", false},
        {HC_PROBE_TCP, "", false},
        {HC_PROBE_HTTP, "http://127.0.0.1:8080/health", true},
        {HC_PROBE_HTTP, "https://example.com/", true},
        {HC_PROBE_HTTP, "HTTP://example.com", true},
        {HC_PROBE_HTTP, "ftp://example.com/", false},
        {HC_PROBE_HTTP, "example.com/health", false},
        {HC_PROBE_HTTP, "http://", false},
        {HC_PROBE_HTTP, "http://exa mple.com/", false},
        {HC_PROBE_ZMQ, "tcp://127.0.0.1:7000", true},
        {HC_PROBE_ZMQ, "tcp://node1.example:7000", true},
        {HC_PROBE_ZMQ, "ipc:///run/azo/ctl.sock", true},
        {HC_PROBE_ZMQ, "inproc://ctl", true},
        {HC_PROBE_ZMQ, "tcp://127.0.0.1", false},
        {HC_PROBE_ZMQ, "tcp://127.0.0.1:0", false},
        {HC_PROBE_ZMQ, "ipc://", false},
        {HC_PROBE_ZMQ, "inproc://", false},
        {HC_PROBE_ZMQ, "udp://127.0.0.1:7000", false},
        {HC_PROBE_ZMQ, "127.0.0.1:7000", false},
        {HC_PROBE_EXEC, "/bin/true", false},
    };
    char err[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = 0;
        int rc =
            hc_probe_check_addr(cases[i].kind, cases[i].addr, err, sizeof err);
        if (cases[i].ok != (rc == 0))
            fail_msg("case %zu '%s': rc %d (%s)", i, cases[i].addr, rc, err);
        if (rc != 0) {
            assert_int_equal(rc, AZO_EBADREQ);
            assert_true(strlen(err) > 0);
        }
    }
    assert_int_equal(hc_probe_check_addr(HC_PROBE_TCP, NULL, err, sizeof err),
                     AZO_EBADREQ);
    assert_int_equal(hc_probe_check_addr(HC_PROBE_TCP, "x", NULL, 0),
                     AZO_EBADREQ);
}

static void
test_hc_probe_bad_spec_is_rejected(void **state)
{
    s_fix_t *f = *state;
    zcert_t *cert = zcert_new();
    static char *argv[] = {"/bin/true", NULL};
    hc_probe_spec_t cases[] = {
        {.kind = HC_PROBE_TCP, .addr = "127.0.0.1:80", .timeout_ms = 0},
        {.kind = HC_PROBE_TCP, .addr = "127.0.0.1:80", .timeout_ms = -5},
        {.kind = HC_PROBE_TCP, .addr = NULL, .timeout_ms = 100},
        {.kind = HC_PROBE_TCP, .addr = "nohost", .timeout_ms = 100},
        {.kind = HC_PROBE_TCP, .addr = "1.2.3.4:0", .timeout_ms = 100},
        {.kind = HC_PROBE_HTTP, .addr = "ftp://x/", .timeout_ms = 100},
        {.kind = HC_PROBE_HTTP, .addr = NULL, .timeout_ms = 100},
        {.kind = HC_PROBE_ZMQ, .addr = "foo://x", .timeout_ms = 100},
        {.kind = HC_PROBE_ZMQ,
         .addr = "tcp://127.0.0.1:1",
         .timeout_ms = 100,
         .server_key = "0123456789012345678901234567890123456789"},
        {.kind = HC_PROBE_ZMQ,
         .addr = "tcp://127.0.0.1:1",
         .timeout_ms = 100,
         .client_cert = cert},
        {.kind = HC_PROBE_ZMQ,
         .addr = "tcp://127.0.0.1:1",
         .timeout_ms = 100,
         .server_key = "short",
         .client_cert = cert},
        {.kind = HC_PROBE_EXEC, .argv = argv, .timeout_ms = 0},
        {.kind = (hc_probe_kind_t)42, .addr = "x:1", .timeout_ms = 100},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        s_refused(f, &cases[i], AZO_EBADREQ, NULL);
    // err may be NULL.
    uint64_t id;
    assert_int_equal(
        hc_probe_start(f->probe, &cases[0], s_on_result, f, &id, NULL, 0),
        AZO_EBADREQ);
    assert_int_equal(hc_probe_inflight(f->probe), 0);
    zcert_destroy(&cert);
}

static void
test_hc_probe_out_of_fds_is_an_error(void **state)
{
    s_fix_t *f = *state;
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    // Use up every fd below a lowered limit.
    low = old;
    low.rlim_cur = 256;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int fds[256], n = 0;
    while (n < 256) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            break;
        fds[n++] = fd;
    }
    char err[256] = "";
    uint64_t id;
    hc_probe_spec_t tcp = {
        .kind = HC_PROBE_TCP, .addr = "127.0.0.1:1", .timeout_ms = 1000};
    int rc =
        hc_probe_start(f->probe, &tcp, s_on_result, f, &id, err, sizeof err);
    char *argv[] = {"/bin/true", NULL};
    hc_probe_spec_t ex = {
        .kind = HC_PROBE_EXEC, .argv = argv, .timeout_ms = 1000};
    char err2[256] = "";
    int rc2 =
        hc_probe_start(f->probe, &ex, s_on_result, f, &id, err2, sizeof err2);
    while (n > 0)
        close(fds[--n]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(rc, -EMFILE);
    assert_non_null(strstr(err, "Too many open files"));
    assert_int_equal(rc2, -EMFILE);
    assert_non_null(strstr(err2, "Too many open files"));
    assert_int_equal(hc_probe_inflight(f->probe), 0);
}

int
main(void)
{
    // The actor thread blocks every signal; so do we, to show that the
    // programs we start do not inherit the mask.
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGINT);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_hc_probe_tcp_connects_many_at_once),
        T(test_hc_probe_tcp_refused),
        T(test_hc_probe_tcp_times_out_on_full_backlog),
        T(test_hc_probe_tcp_ipv6),
        T(test_hc_probe_tcp_by_host_name),
        T(test_hc_probe_http_ok_with_expected_text),
        T(test_hc_probe_http_status_and_text),
        T(test_hc_probe_http_expected_text_across_chunks),
        T(test_hc_probe_http_body_capped_at_1_mib),
        T(test_hc_probe_http_times_out_on_hung_server),
        T(test_hc_probe_http_connection_refused),
        T(test_hc_probe_exec_exit_status),
        T(test_hc_probe_exec_detail_has_first_line),
        T(test_hc_probe_exec_killed_at_timeout),
        T(test_hc_probe_exec_output_capped),
        T(test_hc_probe_exec_grandchild_does_not_delay),
        T(test_hc_probe_exec_needs_a_path),
        T(test_hc_probe_zmq_replies),
        T(test_hc_probe_zmq_curve),
        T(test_hc_probe_cancel_in_flight),
        T(test_hc_probe_destroy_in_flight),
        T(test_hc_probe_callback_may_start_and_cancel),
        T(test_hc_probe_callback_cancels_rest_of_batch),
        T(test_hc_probe_check_addr_table),
        T(test_hc_probe_bad_spec_is_rejected),
        T(test_hc_probe_out_of_fds_is_an_error),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
