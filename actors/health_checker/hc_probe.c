// hc_probe — the health-checker's probe engine (see hc_probe.h). Owner's
// thread only.
//
// One epoll set holds every fd the engine watches: numeric TCP connects,
// exec probes' pidfds and output pipes, libcurl's sockets, and an eventfd
// (the "kick"). The zloop sees only the epoll fd, plus one reader per ZeroMQ
// probe. Each epoll entry carries a tag and, for our own fds, the probe id
// (never a pointer): an event that arrives after a callback ended or
// replaced its probe finds nothing under that id and is dropped, so
// callbacks may start and cancel probes while a batch is being handled.
//
// Deadlines live in an azo_heap keyed by zclock_mono() ms; a result known
// at start (connect() refused at once) is parked there with the deadline
// "now", so that it is delivered from the loop and never from inside
// hc_probe_start. One one-shot zloop timer is armed for the earliest of the
// heap and libcurl's own timeout. The timer is only ever armed from inside
// our own handlers: zloop_timer_end on a loop that has never run leaves the
// timer in place until the loop's first pass (where it would fire with a
// dangling arg), so outside the loop we write to the kick eventfd instead,
// and the epoll handler arms the timer. The timer is re-armed only when the
// earliest deadline moves earlier; when it moves later, the timer fires
// early once and is re-armed then. One zloop limit remains: a timer
// cancelled from inside zloop's timer pass may still fire in that pass, so
// the engine must not be destroyed from a zloop *timer* handler while its
// own timer is due (readers, pollers and the code after zloop_start are
// fine).
//
// Numeric TCP probes close with a reset (SO_LINGER 0): no TIME_WAIT piles up
// on our side however many targets are probed how often.
//
// Exec probes are killed with their whole process group at their deadline
// and reported only once reaped, so a result never leaves a process
// behind. A process that SIGKILL cannot end at once (uninterruptible
// sleep) gets S_KILL_GRACE_MS; then its result goes out anyway and the
// engine reaps it later. Only the probe's own pid is ever waited for.
//
// Global state: curl_global_init runs once per process under s_curl_once
// (the first thread that builds an engine); s_curl_rc keeps its result.
//
// Does not: resolve host names itself (libcurl does, asynchronously), follow
// redirects, reuse connections between probes, retry, or kill what an exec
// probe left running after it exited by itself (only a timeout or a cancel
// kills the process group).
#define _GNU_SOURCE // memmem, pipe2, posix_spawn_file_actions_addclosefrom_np
#include "hc_probe.h"
#include "azo_err.h"
#include "azo_heap.h"
#include "azo_idmap.h"
#include "azo_mp.h"
#include "azo_wire.h"

#include <arpa/inet.h>
#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_OUTPUT_CAP      4096               // output kept when spec says 0
#define S_BODY_MAX        (1024 * 1024)      // HTTP body read at most
#define S_MAXMSG          (1024 * 1024)      // ZeroMQ replies
#define S_BATCH           256                // epoll events per epoll_wait
#define S_BATCHES         16                 // epoll_wait calls per wakeup
#define S_EXPIRE_BUDGET   4096               // deadlines handled per pass
#define S_SCRATCH         65536              // pipe read buffer
#define S_PIPE_BUDGET     (256 * 1024)       // pipe bytes read per event
#define S_FINAL_DRAIN     (1024 * 1024)      // pipe bytes read after the end
#define S_KILL_GRACE_MS   5000               // SIGKILLed, not yet reaped
#define S_DESTROY_REAP_MS 1000               // destroy waits this for corpses
#define S_MAX_DELAY_MS    (24 * 3600 * 1000) // longest zloop timer delay
#define S_HOST_MAX        253                // DNS names; also IPv6 + zone

// Epoll tags, in the low bits of epoll_event.data.u64; the rest is the
// probe id (or the fd, for libcurl's sockets).
enum {
    S_TAG_KICK = 0,
    S_TAG_TCP = 1,
    S_TAG_PIDFD = 2,
    S_TAG_PIPE = 3,
    S_TAG_CURL = 4,
};
#define S_TAG_BITS 3
#define S_TAG_MASK ((1u << S_TAG_BITS) - 1)

typedef enum {
    S_RUNNING, // waiting for its fds or its deadline
    S_DONE,    // result known at start, delivered at its deadline "now"
    S_KILLING, // exec past its deadline: killed, waiting to reap it
} s_state_t;

// HTTP and TCP-by-name probes: one libcurl easy handle each.
typedef struct {
    CURL *easy; // owned
    bool connect_only;
    char errbuf[CURL_ERROR_SIZE];
    char *expect;    // owned copy, NULL when none
    size_t elen;     // strlen(expect)
    char *win;       // owned, 2 * (elen - 1) bytes: the body's last bytes
    size_t tlen;     // bytes of win in use
    bool found;      // expect seen in the body
    bool too_big;    // the body went past S_BODY_MAX: transfer stopped
    size_t body_len; // body bytes read
} s_http_t;

typedef struct {
    uint64_t id;
    hc_probe_kind_t kind;
    s_state_t state;
    bool notify; // the callback is still owed (false once cancelled)
    azo_heap_node_t node;
    int64_t started;    // zclock_mono() ms
    int64_t timeout_ms; // from the spec
    hc_probe_fn *fn;
    void *arg;
    hc_result_t res; // filled in as the probe ends
    int fd;          // owned: tcp socket or exec pipe, -1 when none
    pid_t pid;       // exec: our child, unreaped while pidfd >= 0
    int pidfd;       // owned, -1 when none
    char *out;       // owned: captured output (exec, http), NUL-ended
    size_t out_len, out_alloc, out_cap;
    s_http_t *http; // owned, http and tcp-by-name
    zsock_t *sock;  // owned, zmq
} s_probe_t;

struct hc_probe {
    zloop_t *loop; // borrowed
    int epfd;      // owned
    int kickfd;    // owned eventfd, in the epoll set
    bool kicked;   // kickfd written, not yet drained
    int timer_id;  // the zloop timer, -1 when none
    int64_t timer_at;
    azo_heap_t heap;            // probes by deadline (borrowed nodes)
    zhashx_t *probes;           // id -> s_probe_t, owns the probes
    zhashx_t *socks;            // zsock_t * -> s_probe_t, borrowed
    uint64_t next_id;           // last id handed out
    size_t inflight;            // probes whose callback is still owed
    int depth;                  // > 0 inside our own zloop handlers
    CURLM *multi;               // owned
    int64_t curl_at;            // libcurl's timeout (mono ms), -1 when none
    azo_rep_t rep;              // decodes ZeroMQ replies
    char *scratch;              // owned, S_SCRATCH bytes
    struct epoll_event *events; // owned, S_BATCH entries
};

static pthread_once_t s_curl_once = PTHREAD_ONCE_INIT;
static CURLcode s_curl_rc = CURLE_FAILED_INIT;

static void
s_curl_global_init_g(void)
{
    s_curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

// --- small helpers

static int64_t
s_deadline(int64_t now, int64_t timeout_ms)
{
    return timeout_ms > INT64_MAX - now ? INT64_MAX : now + timeout_ms;
}

static void
s_close_fd(hc_probe_t *self, int *fd)
{
    if (*fd < 0)
        return;
    // Explicitly out of the set: a posix_spawn elsewhere in the process may
    // briefly hold a copy of the fd, which would keep the entry alive.
    (void)epoll_ctl(self->epfd, EPOLL_CTL_DEL, *fd, NULL); // may be gone
    (void)close(*fd);                                      // nothing to do
    *fd = -1;
}

static int
s_watch(hc_probe_t *self, int fd, uint32_t events, uint64_t id, unsigned tag)
{
    struct epoll_event ev = {.events = events,
                             .data.u64 = (id << S_TAG_BITS) | tag};
    return epoll_ctl(self->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

// Writes one printable line "<prefix><text>" into the detail field.
static void
s_detail_text(hc_result_t *res, const char *prefix, const char *text,
              size_t len)
{
    size_t n = (size_t)snprintf(res->detail, sizeof res->detail, "%s", prefix);
    if (n >= sizeof res->detail - 1)
        return;
    (void)azo_mp_clean_text(res->detail + n, sizeof res->detail - n, text, len);
}

static void
s_timed_out(s_probe_t *p)
{
    p->res.ok = false;
    p->res.timed_out = true;
    snprintf(p->res.detail, sizeof p->res.detail, "timeout after %lld ms",
             (long long)p->timeout_ms);
}

// Keeps the first out_cap bytes of output; the rest is dropped.
static void
s_keep(s_probe_t *p, const char *data, size_t n)
{
    if (p->out_len >= p->out_cap || n == 0)
        return;
    size_t take = p->out_cap - p->out_len < n ? p->out_cap - p->out_len : n;
    size_t need = p->out_len + take + 1; // out_cap < SIZE_MAX (see start)
    if (need > p->out_alloc) {
        // Grown as output comes: a large cap costs nothing until used.
        size_t want = p->out_alloc ? p->out_alloc : 256;
        while (want < need)
            want = want > SIZE_MAX / 2 ? need : want * 2;
        if (want > p->out_cap + 1)
            want = p->out_cap + 1;
        char *out = realloc(p->out, want);
        if (!out)
            return; // output is best effort
        p->out = out;
        p->out_alloc = want;
    }
    memcpy(p->out + p->out_len, data, take);
    p->out_len += take;
    p->out[p->out_len] = 0;
}

// --- address parsing

static bool
s_name_ok(const char *host)
{
    if (!*host || *host == '-' || *host == '.')
        return false;
    for (const char *c = host; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == '_'))
            return false;
    return true;
}

typedef struct {
    char host[S_HOST_MAX + 1]; // without brackets
    uint16_t port;
    int family; // AF_INET, AF_INET6 (numeric), or AF_UNSPEC (a name)
    struct sockaddr_storage sa;
    socklen_t salen;
} s_hostport_t;

// Parses "host:port", "1.2.3.4:port" or "[v6]:port" ("[v6%zone]:port").
// Checks syntax only; a zone is not looked up. Returns 0 or AZO_EBADREQ.
static int
s_parse_hostport(const char *addr, s_hostport_t *hp, char *err, size_t errlen)
{
    memset(hp, 0, sizeof *hp);
    const char *colon, *hstart = addr;
    size_t hlen;
    bool bracket = addr[0] == '[';
    if (bracket) {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "'%s': expected [ipv6]:port", addr);
        hstart = addr + 1;
        hlen = (size_t)(close - hstart);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "'%s': expected host:port", addr);
        hlen = (size_t)(colon - addr);
    }
    if (hlen == 0)
        return azo_err_set(err, errlen, AZO_EBADREQ, "'%s': empty host", addr);
    if (hlen > S_HOST_MAX)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "host longer than %d characters", S_HOST_MAX);
    memcpy(hp->host, hstart, hlen);
    hp->host[hlen] = 0;

    const char *ps = colon + 1;
    unsigned long port = 0;
    size_t digits = strspn(ps, "0123456789");
    if (digits == 0 || digits > 5 || ps[digits] != 0)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "'%s': port must be a number 1..65535", addr);
    for (size_t i = 0; i < digits; i++)
        port = port * 10 + (unsigned long)(ps[i] - '0');
    if (port < 1 || port > 65535)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "'%s': port %lu out of range 1..65535", addr, port);
    hp->port = (uint16_t)port;

    if (bracket) {
        char ip[S_HOST_MAX + 1];
        snprintf(ip, sizeof ip, "%s", hp->host);
        char *zone = strchr(ip, '%');
        if (zone) {
            *zone++ = 0;
            if (!s_name_ok(zone) || strlen(zone) >= IF_NAMESIZE)
                return azo_err_set(err, errlen, AZO_EBADREQ,
                                   "'%s': bad IPv6 zone", addr);
        }
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&hp->sa;
        if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1)
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "'%s': bad IPv6 address", addr);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(hp->port);
        hp->family = AF_INET6;
        hp->salen = sizeof *s6;
        return 0;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)&hp->sa;
    if (inet_pton(AF_INET, hp->host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(hp->port);
        hp->family = AF_INET;
        hp->salen = sizeof *s4;
        return 0;
    }
    if (strchr(hp->host, ':'))
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "'%s': an IPv6 address needs brackets: [addr]:port",
                           addr);
    if (!s_name_ok(hp->host))
        return azo_err_set(err, errlen, AZO_EBADREQ, "'%s': bad host name",
                           addr);
    hp->family = AF_UNSPEC;
    return 0;
}

static int
s_check_url(const char *addr, char *err, size_t errlen)
{
    if (strncasecmp(addr, "http://", 7) != 0 &&
        strncasecmp(addr, "https://", 8) != 0)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "'%s': URL must start with http:// or https://",
                           addr);
    CURLU *u = curl_url();
    if (!u)
        return azo_err_set(err, errlen, -ENOMEM, "out of memory");
    int rc = 0;
    char *host = NULL;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, addr, 0);
    if (uc != CURLUE_OK)
        rc = azo_err_set(err, errlen, AZO_EBADREQ, "bad URL: %s",
                         curl_url_strerror(uc));
    else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host ||
             !*host)
        rc = azo_err_set(err, errlen, AZO_EBADREQ, "'%s': URL without host",
                         addr);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

static int
s_check_endpoint(const char *addr, char *err, size_t errlen)
{
    for (const char *c = addr; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "endpoint holds a control character");
    if (strncmp(addr, "tcp://", 6) == 0) {
        s_hostport_t hp;
        return s_parse_hostport(addr + 6, &hp, err, errlen);
    }
    if (strncmp(addr, "ipc://", 6) == 0) {
        size_t n = strlen(addr + 6);
        if (n == 0)
            return azo_err_set(err, errlen, AZO_EBADREQ, "empty ipc path");
        if (n >= sizeof(((struct sockaddr_un *)0)->sun_path))
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "ipc path longer than %zu bytes",
                               sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        return 0;
    }
    if (strncmp(addr, "inproc://", 9) == 0)
        return addr[9]
                   ? 0
                   : azo_err_set(err, errlen, AZO_EBADREQ, "empty inproc name");
    return azo_err_set(err, errlen, AZO_EBADREQ,
                       "'%s': endpoint must start with tcp://, ipc:// or "
                       "inproc://",
                       addr);
}

int
hc_probe_check_addr(hc_probe_kind_t kind, const char *addr, char *err,
                    size_t errlen)
{
    if (kind == HC_PROBE_EXEC)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "exec probes take argv, not an address");
    if (!addr || !*addr)
        return azo_err_set(err, errlen, AZO_EBADREQ, "address missing");
    switch (kind) {
    case HC_PROBE_TCP: {
        s_hostport_t hp;
        return s_parse_hostport(addr, &hp, err, errlen);
    }
    case HC_PROBE_HTTP:
        return s_check_url(addr, err, errlen);
    case HC_PROBE_ZMQ:
        return s_check_endpoint(addr, err, errlen);
    default:
        return azo_err_set(err, errlen, AZO_EBADREQ, "unknown probe kind %d",
                           (int)kind);
    }
}

// --- timer and kick

static int s_on_timer(zloop_t *loop, int timer_id, void *arg);

// The earliest deadline (heap or libcurl), or -1.
static int64_t
s_next_deadline(const hc_probe_t *self)
{
    azo_heap_node_t *top = azo_heap_top(&self->heap);
    int64_t at = top ? top->key : -1;
    if (self->curl_at >= 0 && (at < 0 || self->curl_at < at))
        at = self->curl_at;
    return at;
}

// Inside our handlers only (see the file comment): arms the zloop timer for
// the earliest deadline if it is not armed early enough already.
static void
s_sync_timer(hc_probe_t *self)
{
    int64_t at = s_next_deadline(self);
    if (at < 0) {
        if (self->timer_id >= 0)
            (void)zloop_timer_end(self->loop, self->timer_id); // ours
        self->timer_id = -1;
        return;
    }
    if (self->timer_id >= 0 && self->timer_at <= at)
        return; // fires early at worst, and is re-armed then
    if (self->timer_id >= 0)
        (void)zloop_timer_end(self->loop, self->timer_id);
    int64_t delay = at - zclock_mono();
    if (delay < 0)
        delay = 0;
    if (delay > S_MAX_DELAY_MS)
        delay = S_MAX_DELAY_MS; // fires early; re-armed then
    // zloop counts the delay from its next poll, so it never fires before at.
    self->timer_id =
        zloop_timer(self->loop, (size_t)delay, 1, s_on_timer, self);
    self->timer_at = at;
    // czmq aborts when out of memory, so -1 is not expected here; if it
    // happens anyway, a kick brings us back to try again.
    if (self->timer_id < 0 && !self->kicked) {
        uint64_t one = 1;
        if (write(self->kickfd, &one, sizeof one) == sizeof one)
            self->kicked = true;
    }
}

// After a change made outside our handlers: makes sure a handler runs soon
// enough to re-arm the timer.
static void
s_request(hc_probe_t *self)
{
    if (self->depth > 0 || self->kicked)
        return; // the handler re-arms on its way out
    int64_t at = s_next_deadline(self);
    if (at < 0 || (self->timer_id >= 0 && self->timer_at <= at))
        return;
    uint64_t one = 1;
    // An eventfd write fails only when the counter would overflow, and
    // then it is readable already.
    if (write(self->kickfd, &one, sizeof one) == sizeof one)
        self->kicked = true;
}

// --- ending probes

// Frees what the probe holds besides its output and itself. Exec probes
// must be reaped (or given up on) before.
static void
s_release(hc_probe_t *self, s_probe_t *p)
{
    s_close_fd(self, &p->fd);
    s_close_fd(self, &p->pidfd);
    if (p->http) {
        if (p->http->easy) {
            (void)curl_multi_remove_handle(self->multi, p->http->easy);
            curl_easy_cleanup(p->http->easy);
        }
        free(p->http->expect);
        free(p->http->win);
        free(p->http);
        p->http = NULL;
    }
    if (p->sock) {
        zloop_reader_end(self->loop, p->sock);
        zhashx_delete(self->socks, p->sock);
        zsock_destroy(&p->sock);
    }
}

static void
s_free(s_probe_t *p)
{
    free(p->out);
    free(p);
}

// Calls the callback if it is still owed. The probe stays as it is.
static void
s_notify(hc_probe_t *self, s_probe_t *p)
{
    if (!p->notify)
        return;
    p->notify = false;
    self->inflight--;
    p->res.ms = zclock_mono() - p->started;
    p->res.output = p->out;
    p->res.output_len = p->out_len;
    p->fn(p->arg, p->id, &p->res);
}

// The probe is over: out of every index, resources freed, callback called
// (its own id is unknown by then, so cancelling it is a no-op), freed.
static void
s_finish(hc_probe_t *self, s_probe_t *p)
{
    azo_heap_remove(&self->heap, &p->node);
    zhashx_delete(self->probes, AZO_IDMAP_KEY(p->id));
    s_release(self, p);
    self->depth++; // starts and cancels from the callback kick nothing
    s_notify(self, p);
    self->depth--;
    s_free(p);
}

static s_probe_t *
s_lookup(hc_probe_t *self, uint64_t id)
{
    return id ? zhashx_lookup(self->probes, AZO_IDMAP_KEY(id)) : NULL;
}

// --- exec

static pid_t
s_pidfd_open(pid_t pid)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : fd;
}

// Reads what the pipe holds, up to budget bytes. Returns true when the pipe
// is finished (end of file or an error), false when it would block.
static bool
s_exec_read(hc_probe_t *self, s_probe_t *p, size_t budget)
{
    while (budget > 0) {
        ssize_t n = read(p->fd, self->scratch, S_SCRATCH);
        if (n > 0) {
            s_keep(p, self->scratch, (size_t)n);
            budget = (size_t)n < budget ? budget - (size_t)n : 0;
        } else if (n == 0)
            return true;
        else if (errno == EINTR)
            continue;
        else
            return errno != EAGAIN;
    }
    return false;
}

// The first non-empty line of the output, without surrounding blanks.
static const char *
s_first_line(const s_probe_t *p, size_t *len)
{
    const char *s = p->out, *end = p->out + p->out_len;
    if (!s) {
        *len = 0;
        return "";
    }
    while (s < end && (*s == '\n' || *s == '\r' || *s == ' ' || *s == '\t'))
        s++;
    const char *e = s;
    while (e < end && *e != '\n' && *e != '\r')
        e++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *len = (size_t)(e - s);
    return s;
}

// The process has ended (its pidfd is readable): collects it. Returns
// false when it has not ended after all.
static bool
s_exec_reap(s_probe_t *p)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int rc;
    do
        rc = waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG);
    while (rc < 0 && errno == EINTR);
    if (rc == 0 && si.si_pid == 0)
        return false;
    bool timed_out = p->state == S_KILLING;
    if (rc < 0) {
        // Someone else waited for it (ECHILD): its status is gone.
        p->res.code = 0;
        if (!timed_out)
            snprintf(p->res.detail, sizeof p->res.detail,
                     "exit status lost: %s", azo_err_str(-errno));
        return true;
    }
    if (si.si_code == CLD_EXITED)
        p->res.code = si.si_status;
    else
        p->res.code = -si.si_status;
    if (timed_out)
        return true;
    p->res.ok = si.si_code == CLD_EXITED && si.si_status == 0;
    if (si.si_code != CLD_EXITED)
        snprintf(p->res.detail, sizeof p->res.detail, "signal %d",
                 si.si_status);
    else if (si.si_status == 0)
        snprintf(p->res.detail, sizeof p->res.detail, "exit 0");
    else {
        size_t len;
        const char *line = s_first_line(p, &len);
        char prefix[32];
        snprintf(prefix, sizeof prefix, len ? "exit %d: " : "exit %d",
                 si.si_status);
        s_detail_text(&p->res, prefix, line, len);
    }
    return true;
}

static void
s_exec_kill(hc_probe_t *self, s_probe_t *p)
{
    // The pid is our unreaped child, so neither it nor its group id can
    // have been recycled. The second kill covers a child that left its
    // group.
    (void)kill(-p->pid, SIGKILL); // ESRCH: the group is gone already
    (void)kill(p->pid, SIGKILL);
    s_close_fd(self, &p->fd);
    p->state = S_KILLING;
}

static void
s_exec_ended(hc_probe_t *self, s_probe_t *p)
{
    if (p->state == S_RUNNING && p->fd >= 0) {
        // Whatever it wrote before it ended is in the pipe now. A grandchild
        // may still hold the pipe open: read without waiting for its end.
        (void)s_exec_read(self, p, S_FINAL_DRAIN);
        s_close_fd(self, &p->fd);
    }
    if (!s_exec_reap(p))
        return;
    s_close_fd(self, &p->pidfd);
    p->pid = 0;
    s_finish(self, p);
}

static int
s_start_exec(hc_probe_t *self, s_probe_t *p, const hc_probe_spec_t *spec,
             char *err, size_t errlen)
{
    const char *path = spec->argv[0];
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return azo_err_set(err, errlen, -errno, "pipe: %s",
                           azo_err_str(-errno));
    if (fcntl(pfd[0], F_SETFL, O_NONBLOCK) < 0) {
        int e = -errno;
        close(pfd[0]);
        close(pfd[1]);
        return azo_err_set(err, errlen, e, "pipe: %s", azo_err_str(e));
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc != 0) {
        close(pfd[0]);
        close(pfd[1]);
        return azo_err_set(err, errlen, -rc, "spawn: %s", azo_err_str(-rc));
    }
    rc = posix_spawnattr_init(&attr);
    if (rc != 0) {
        posix_spawn_file_actions_destroy(&fa);
        close(pfd[0]);
        close(pfd[1]);
        return azo_err_set(err, errlen, -rc, "spawn: %s", azo_err_str(-rc));
    }
    // stdin from /dev/null, stdout and stderr into the pipe, nothing else
    // inherited (libcurl's sockets, for one, are not close-on-exec). Its
    // own process group, so that a timeout kills what it started too; no
    // signal blocked or ignored, whatever our thread has.
    if (!rc)
        rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!rc)
        rc = posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    if (!rc)
        rc = posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
    if (!rc)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (!rc)
        rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
                                                 POSIX_SPAWN_SETSIGMASK |
                                                 POSIX_SPAWN_SETSIGDEF);
    if (!rc)
        rc = posix_spawnattr_setpgroup(&attr, 0);
    if (!rc)
        rc = posix_spawnattr_setsigmask(&attr, &none);
    if (!rc)
        rc = posix_spawnattr_setsigdefault(&attr, &all);
    pid_t pid = 0;
    if (!rc)
        rc = posix_spawn(&pid, path, &fa, &attr, spec->argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    if (rc != 0) {
        close(pfd[0]);
        return azo_err_set(err, errlen, -rc, "spawn %s: %s", path,
                           azo_err_str(-rc));
    }
    p->fd = pfd[0];
    p->pid = pid;
    int fd = s_pidfd_open(pid);
    if (fd >= 0) {
        p->pidfd = fd;
        rc = s_watch(self, p->pidfd, EPOLLIN, p->id, S_TAG_PIDFD);
        if (!rc)
            rc = s_watch(self, p->fd, EPOLLIN, p->id, S_TAG_PIPE);
    } else
        rc = fd;
    if (rc < 0) {
        // Cannot watch it: do not leave it running. Just killed, so the
        // wait is short.
        (void)kill(-pid, SIGKILL);
        (void)kill(pid, SIGKILL);
        siginfo_t si;
        while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0 && errno == EINTR)
            ;
        p->pid = 0;
        s_close_fd(self, &p->fd);
        s_close_fd(self, &p->pidfd);
        return azo_err_set(err, errlen, rc, "watch %s: %s", path,
                           azo_err_str(rc));
    }
    return 0;
}

// --- tcp, numeric

static void
s_tcp_result(s_probe_t *p, int e)
{
    p->res.ok = e == 0;
    if (e == 0)
        snprintf(p->res.detail, sizeof p->res.detail, "connected");
    else
        snprintf(p->res.detail, sizeof p->res.detail, "connect: %s",
                 azo_err_str(-e));
}

static int
s_start_tcp(hc_probe_t *self, s_probe_t *p, s_hostport_t *hp, char *err,
            size_t errlen)
{
    if (hp->family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&hp->sa;
        char *zone = strchr(hp->host, '%');
        if (zone) {
            char *end;
            unsigned long idx = strtoul(zone + 1, &end, 10);
            if (*end != 0 || end == zone + 1)
                idx = if_nametoindex(zone + 1);
            if (idx == 0 || idx > UINT32_MAX)
                return azo_err_set(err, errlen, AZO_EBADREQ,
                                   "no network interface '%s'", zone + 1);
            s6->sin6_scope_id = (uint32_t)idx;
        }
    }
    int fd = socket(hp->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return azo_err_set(err, errlen, -errno, "socket: %s",
                           azo_err_str(-errno));
    // Close with a reset: no TIME_WAIT on our side, however often and
    // however many targets we probe.
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg); // optional
    if (connect(fd, (struct sockaddr *)&hp->sa, hp->salen) == 0) {
        close(fd);
        s_tcp_result(p, 0);
        p->state = S_DONE;
        return 0;
    }
    int e = errno;
    if (e == EINPROGRESS) {
        p->fd = fd;
        int rc = s_watch(self, fd, EPOLLOUT, p->id, S_TAG_TCP);
        if (rc < 0) {
            s_close_fd(self, &p->fd);
            return azo_err_set(err, errlen, rc, "epoll: %s", azo_err_str(rc));
        }
        return 0;
    }
    close(fd);
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
        return azo_err_set(err, errlen, -e, "connect: %s", azo_err_str(-e));
    s_tcp_result(p, e); // refused, unreachable, no free port: a result
    p->state = S_DONE;
    return 0;
}

static void
s_tcp_ready(hc_probe_t *self, s_probe_t *p)
{
    int e = 0;
    socklen_t len = sizeof e;
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
        e = errno;
    s_tcp_result(p, e);
    s_finish(self, p);
}

// --- libcurl: http and tcp by name

static int
s_curl_sock(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    hc_probe_t *self = userp;
    (void)easy;
    (void)socketp;
    if (what == CURL_POLL_REMOVE) {
        (void)epoll_ctl(self->epfd, EPOLL_CTL_DEL, s, NULL); // may be gone
        return 0;
    }
    struct epoll_event ev = {.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) |
                                       ((what & CURL_POLL_OUT) ? EPOLLOUT : 0),
                             .data.u64 =
                                 ((uint64_t)s << S_TAG_BITS) | S_TAG_CURL};
    if (epoll_ctl(self->epfd, EPOLL_CTL_MOD, s, &ev) == 0)
        return 0;
    if (errno == ENOENT && epoll_ctl(self->epfd, EPOLL_CTL_ADD, s, &ev) == 0)
        return 0;
    return -1; // the transfer fails
}

static int
s_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    hc_probe_t *self = userp;
    (void)multi;
    self->curl_at = timeout_ms < 0 ? -1 : s_deadline(zclock_mono(), timeout_ms);
    s_request(self);
    return 0;
}

// Sockets close-on-exec, so that no process started elsewhere inherits them.
static curl_socket_t
s_curl_open(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)clientp;
    (void)purpose;
    int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    return fd < 0 ? CURL_SOCKET_BAD : fd;
}

// Looks for expect in the body as it streams in: a match may straddle two
// chunks, so the last elen - 1 bytes seen are kept in win.
static bool
s_http_search(s_http_t *h, const char *d, size_t m)
{
    size_t k = h->elen - 1;
    if (k == 0)
        return memchr(d, h->expect[0], m) != NULL;
    size_t b = m < k ? m : k;
    memcpy(h->win + h->tlen, d, b);
    if (memmem(h->win, h->tlen + b, h->expect, h->elen))
        return true;
    if (memmem(d, m, h->expect, h->elen))
        return true;
    if (m >= k) {
        memcpy(h->win, d + m - k, k);
        h->tlen = k;
    } else if (h->tlen + m > k) {
        memmove(h->win, h->win + h->tlen + m - k, k);
        h->tlen = k;
    } else
        h->tlen += m;
    return false;
}

static size_t
s_http_body(char *data, size_t size, size_t nmemb, void *userp)
{
    s_probe_t *p = userp;
    s_http_t *h = p->http;
    size_t n = size * nmemb;
    size_t room = S_BODY_MAX - h->body_len;
    size_t take = n < room ? n : room;
    s_keep(p, data, take);
    if (h->expect && !h->found && take > 0)
        h->found = s_http_search(h, data, take);
    h->body_len += take;
    if (take < n) {
        h->too_big = true;
        return 0; // stops the transfer (CURLE_WRITE_ERROR)
    }
    return n;
}

static int
s_start_curl(hc_probe_t *self, s_probe_t *p, const char *url,
             const hc_probe_spec_t *spec, char *err, size_t errlen)
{
    s_http_t *h = calloc(1, sizeof *h);
    if (!h)
        return azo_err_set(err, errlen, -ENOMEM, "out of memory");
    p->http = h;
    h->connect_only = spec->kind == HC_PROBE_TCP;
    if (!h->connect_only && spec->expect) {
        h->elen = strlen(spec->expect);
        h->expect = strdup(spec->expect);
        h->win = h->elen > 1 ? malloc(2 * (h->elen - 1)) : NULL;
        if (!h->expect || (h->elen > 1 && !h->win))
            return azo_err_set(err, errlen, -ENOMEM, "out of memory");
        h->found = h->elen == 0;
    }
    h->easy = curl_easy_init();
    if (!h->easy)
        return azo_err_set(err, errlen, -ENOMEM, "curl: out of memory");
    CURL *e = h->easy;
    CURLcode cc = CURLE_OK;
#define S_SET(opt, val)                                                        \
    do {                                                                       \
        if (cc == CURLE_OK)                                                    \
            cc = curl_easy_setopt(e, opt, val);                                \
    } while (0)
    S_SET(CURLOPT_URL, url);
    S_SET(CURLOPT_PRIVATE, (void *)p);
    S_SET(CURLOPT_ERRORBUFFER, h->errbuf);
    S_SET(CURLOPT_NOSIGNAL, 1L);
    S_SET(CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
    S_SET(CURLOPT_PROTOCOLS_STR, "http,https");
    S_SET(CURLOPT_FOLLOWLOCATION, 0L);
    // Each probe tests a fresh connection and leaves none open.
    S_SET(CURLOPT_FRESH_CONNECT, 1L);
    S_SET(CURLOPT_FORBID_REUSE, 1L);
    // Ending a probe still resolving a name must not wait for the resolver
    // thread (libcurl would join it); it is detached instead.
    S_SET(CURLOPT_QUICK_EXIT, 1L);
    S_SET(CURLOPT_OPENSOCKETFUNCTION, s_curl_open);
    if (h->connect_only)
        S_SET(CURLOPT_CONNECT_ONLY, 1L);
    else {
        S_SET(CURLOPT_HTTPGET, 1L);
        S_SET(CURLOPT_USERAGENT, "azo-health/1");
        S_SET(CURLOPT_WRITEFUNCTION, s_http_body);
        S_SET(CURLOPT_WRITEDATA, (void *)p);
    }
#undef S_SET
    if (cc != CURLE_OK)
        return azo_err_set(err, errlen, AZO_EBADREQ, "curl: %s",
                           curl_easy_strerror(cc));
    CURLMcode mc = curl_multi_add_handle(self->multi, e);
    if (mc != CURLM_OK) {
        curl_easy_cleanup(e);
        h->easy = NULL;
        return azo_err_set(err, errlen,
                           mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : AZO_EINTERNAL,
                           "curl: %s", curl_multi_strerror(mc));
    }
    return 0;
}

static void
s_curl_result(s_probe_t *p, CURLcode rc)
{
    s_http_t *h = p->http;
    long status = 0;
    (void)curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        s_timed_out(p);
        return;
    }
    const char *why = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);
    size_t wlen = strlen(why);
    while (wlen > 0 && (why[wlen - 1] == '\n' || why[wlen - 1] == '\r'))
        wlen--;
    if (h->connect_only) {
        p->res.ok = rc == CURLE_OK;
        if (rc == CURLE_OK)
            snprintf(p->res.detail, sizeof p->res.detail, "connected");
        else
            s_detail_text(&p->res, "connect: ", why, wlen);
        return;
    }
    p->res.code = (int)status;
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && h->too_big)) {
        s_detail_text(&p->res, "", why, wlen);
        return;
    }
    if (status < 200 || status > 399)
        snprintf(p->res.detail, sizeof p->res.detail, "HTTP %ld", status);
    else if (h->expect && !h->found)
        snprintf(p->res.detail, sizeof p->res.detail, "%s",
                 h->too_big ? "body larger than 1 MiB"
                            : "expected text not found");
    else {
        p->res.ok = true;
        snprintf(p->res.detail, sizeof p->res.detail, "HTTP %ld", status);
    }
}

// Delivers the transfers libcurl has finished. Never called from inside a
// libcurl callback, so callbacks may add and remove handles.
static void
s_curl_done(hc_probe_t *self)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(self->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURLcode rc = m->data.result;
        char *priv = NULL;
        (void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        s_probe_t *p = (s_probe_t *)(void *)priv;
        if (!p || p->state != S_RUNNING)
            continue;
        s_curl_result(p, rc);
        s_finish(self, p); // m is invalid from here on
    }
}

static void
s_curl_action(hc_probe_t *self, curl_socket_t s, int mask)
{
    int running;
    (void)curl_multi_socket_action(self->multi, s, mask, &running);
    s_curl_done(self);
}

// --- zmq

static int s_on_zmq(zloop_t *loop, zsock_t *sock, void *arg);

static int
s_start_zmq(hc_probe_t *self, s_probe_t *p, const hc_probe_spec_t *spec,
            char *err, size_t errlen)
{
    if (spec->server_key) {
        uint8_t key[32];
        if (!zmq_has("curve"))
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "CURVE not available in this libzmq");
        if (strlen(spec->server_key) != 40 ||
            !zmq_z85_decode(key, spec->server_key))
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "server_key must be 40 characters of Z85");
    }
    p->sock = zsock_new(ZMQ_DEALER);
    if (!p->sock) {
        int e = zmq_errno() ? zmq_errno() : ENOMEM;
        return azo_err_set(err, errlen, -e, "zmq socket: %s", zmq_strerror(e));
    }
    zsock_set_linger(p->sock, 0);
    zsock_set_maxmsgsize(p->sock, S_MAXMSG);
    if (spec->server_key) {
        zcert_apply(spec->client_cert, p->sock);
        zsock_set_curve_serverkey(p->sock, spec->server_key);
    }
    if (zsock_connect(p->sock, "%s", spec->addr) < 0) {
        int e = zmq_errno();
        return azo_err_set(err, errlen, e == EMFILE ? -e : AZO_EBADREQ,
                           "zmq connect %s: %s", spec->addr, zmq_strerror(e));
    }
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    azo_req_pack(&pk, p->id, "ping");
    msgpack_pack_map(&pk, 0);
    // The pipe exists from connect on (no ZMQ_IMMEDIATE): the message
    // waits there until the peer is reached.
    int rc = zmq_send(zsock_resolve(p->sock), sb.data, sb.size, ZMQ_DONTWAIT);
    int e = zmq_errno();
    msgpack_sbuffer_destroy(&sb);
    if (rc < 0)
        return azo_err_set(err, errlen, -e, "zmq send: %s", zmq_strerror(e));
    if (zloop_reader(self->loop, p->sock, s_on_zmq, self) < 0)
        return azo_err_set(err, errlen, -ENOMEM, "out of memory");
    if (zhashx_insert(self->socks, p->sock, p) < 0) {
        zloop_reader_end(self->loop, p->sock);
        return azo_err_set(err, errlen, -ENOMEM, "out of memory");
    }
    return 0;
}

static void
s_zmq_result(hc_probe_t *self, s_probe_t *p, const void *data, size_t len)
{
    azo_rep_t *rep = &self->rep;
    if (azo_rep_decode(rep, data, len, NULL, 0) < 0 ||
        (rep->has_id && rep->id != p->id)) {
        snprintf(p->res.detail, sizeof p->res.detail, "malformed reply");
        return;
    }
    if (!rep->ok) {
        char code[64];
        (void)azo_mp_clean_text(code, sizeof code, rep->code,
                                strlen(rep->code));
        char prefix[96];
        snprintf(prefix, sizeof prefix, "error %s: ", code);
        s_detail_text(&p->res, prefix, rep->message, strlen(rep->message));
        return;
    }
    p->res.ok = true;
    const msgpack_object *node = azo_mp_get(rep->result, "node");
    if (node && node->type == MSGPACK_OBJECT_STR)
        s_detail_text(&p->res, "pong from ", node->via.str.ptr,
                      node->via.str.size);
    else
        snprintf(p->res.detail, sizeof p->res.detail, "pong");
}

static int
s_on_zmq(zloop_t *loop, zsock_t *sock, void *arg)
{
    hc_probe_t *self = arg;
    (void)loop;
    // zloop may still call us for a socket whose probe ended earlier in
    // the same pass (a timeout): that pointer is stale, so it is only ever
    // used as a key here.
    s_probe_t *p = zhashx_lookup(self->socks, sock);
    if (!p)
        return 0;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, zsock_resolve(p->sock), ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return 0;
    }
    self->depth++;
    if (zmq_msg_more(&msg))
        snprintf(p->res.detail, sizeof p->res.detail, "malformed reply");
    else
        s_zmq_result(self, p, zmq_msg_data(&msg), zmq_msg_size(&msg));
    zmq_msg_close(&msg);
    s_finish(self, p); // the rest of a multi-frame reply goes with the socket
    self->depth--;
    s_sync_timer(self);
    return 0;
}

// --- handlers

// A deadline has passed.
static void
s_expire_one(hc_probe_t *self, s_probe_t *p)
{
    switch (p->state) {
    case S_DONE:
        s_finish(self, p);
        break;
    case S_RUNNING:
        s_timed_out(p);
        if (p->kind == HC_PROBE_EXEC && p->pidfd >= 0) {
            // Reported once reaped (the pidfd says when).
            s_exec_kill(self, p);
            (void)azo_heap_set(&self->heap, &p->node,
                               s_deadline(zclock_mono(), S_KILL_GRACE_MS));
        } else
            s_finish(self, p);
        break;
    case S_KILLING:
        // SIGKILL has not ended it yet (uninterruptible sleep): report the
        // timeout now and reap it whenever it ends.
        self->depth++;
        s_notify(self, p);
        self->depth--;
        break;
    }
}

static void
s_expire(hc_probe_t *self)
{
    int64_t now = zclock_mono();
    if (self->curl_at >= 0 && self->curl_at <= now) {
        self->curl_at = -1;
        s_curl_action(self, CURL_SOCKET_TIMEOUT, 0);
    }
    for (int budget = S_EXPIRE_BUDGET; budget > 0; budget--) {
        azo_heap_node_t *top = azo_heap_top(&self->heap);
        if (!top || top->key > now)
            break;
        azo_heap_remove(&self->heap, top);
        s_expire_one(self, AZO_HEAP_ITEM(top, s_probe_t, node));
    }
}

static void
s_dispatch(hc_probe_t *self, const struct epoll_event *ev)
{
    unsigned tag = (unsigned)(ev->data.u64 & S_TAG_MASK);
    uint64_t key = ev->data.u64 >> S_TAG_BITS;
    if (tag == S_TAG_KICK) {
        uint64_t n;
        (void)!read(self->kickfd, &n, sizeof n); // EAGAIN: drained already
        self->kicked = false;
        return;
    }
    if (tag == S_TAG_CURL) {
        int mask =
            ((ev->events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
            ((ev->events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
            ((ev->events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
        s_curl_action(self, (curl_socket_t)key, mask);
        return;
    }
    // A probe ended (or was replaced) earlier in this batch is not found.
    s_probe_t *p = s_lookup(self, key);
    if (!p)
        return;
    switch (tag) {
    case S_TAG_TCP:
        if (p->state == S_RUNNING && p->fd >= 0)
            s_tcp_ready(self, p);
        break;
    case S_TAG_PIDFD:
        if (p->pidfd >= 0)
            s_exec_ended(self, p);
        break;
    case S_TAG_PIPE:
        if (p->state == S_RUNNING && p->fd >= 0 &&
            s_exec_read(self, p, S_PIPE_BUDGET))
            s_close_fd(self, &p->fd); // end of output; the pidfd follows
        break;
    default:
        break;
    }
}

static int
s_on_epoll(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    hc_probe_t *self = arg;
    (void)loop;
    (void)item;
    self->depth++;
    for (int i = 0; i < S_BATCHES; i++) {
        int n = epoll_wait(self->epfd, self->events, S_BATCH, 0);
        if (n < 0 && errno == EINTR)
            continue;
        for (int j = 0; j < n; j++)
            s_dispatch(self, &self->events[j]);
        if (n < S_BATCH)
            break;
    }
    s_expire(self);
    self->depth--;
    s_sync_timer(self);
    return 0;
}

static int
s_on_timer(zloop_t *loop, int timer_id, void *arg)
{
    hc_probe_t *self = arg;
    (void)loop;
    // A timer we cancelled may still fire in the pass that cancelled it.
    if (timer_id != self->timer_id)
        return 0;
    self->timer_id = -1; // one-shot: zloop frees it after we return
    self->depth++;
    s_expire(self);
    self->depth--;
    s_sync_timer(self);
    return 0;
}

// --- public

// Frees the engine's own resources, also when half built. Its probes must
// be gone.
static void
s_engine_free(hc_probe_t *self)
{
    zhashx_destroy(&self->probes);
    zhashx_destroy(&self->socks);
    if (self->multi)
        curl_multi_cleanup(self->multi);
    azo_rep_fini(&self->rep);
    free(self->events);
    free(self->scratch);
    if (self->kickfd >= 0)
        close(self->kickfd);
    if (self->epfd >= 0)
        close(self->epfd);
    azo_heap_fini(&self->heap);
    free(self);
}

hc_probe_t *
hc_probe_new(zloop_t *loop)
{
    assert(loop);
    if (pthread_once(&s_curl_once, s_curl_global_init_g) != 0 ||
        s_curl_rc != CURLE_OK)
        return NULL;
    hc_probe_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->loop = loop;
    self->epfd = self->kickfd = -1;
    self->timer_id = -1;
    self->curl_at = -1;
    azo_heap_init(&self->heap);
    self->epfd = epoll_create1(EPOLL_CLOEXEC);
    self->kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    self->probes = azo_idmap_new();
    self->socks = azo_idmap_new();
    self->multi = curl_multi_init();
    self->scratch = malloc(S_SCRATCH);
    self->events = calloc(S_BATCH, sizeof *self->events);
    if (self->epfd < 0 || self->kickfd < 0 || !self->probes || !self->socks ||
        !self->multi || !self->scratch || !self->events ||
        azo_rep_init(&self->rep) < 0)
        goto fail;
    if (s_watch(self, self->kickfd, EPOLLIN, 0, S_TAG_KICK) < 0)
        goto fail;
    if (curl_multi_setopt(self->multi, CURLMOPT_SOCKETFUNCTION, s_curl_sock) ||
        curl_multi_setopt(self->multi, CURLMOPT_SOCKETDATA, self) ||
        curl_multi_setopt(self->multi, CURLMOPT_TIMERFUNCTION, s_curl_timer) ||
        curl_multi_setopt(self->multi, CURLMOPT_TIMERDATA, self))
        goto fail;
    zmq_pollitem_t item = {.fd = self->epfd, .events = ZMQ_POLLIN};
    if (zloop_poller(loop, &item, s_on_epoll, self) < 0)
        goto fail;
    return self;
fail:
    s_engine_free(self);
    return NULL;
}

void
hc_probe_destroy(hc_probe_t **self_p)
{
    assert(self_p);
    hc_probe_t *self = *self_p;
    if (!self)
        return;
    assert(self->depth == 0); // not from one of its own callbacks
    zmq_pollitem_t item = {.fd = self->epfd, .events = ZMQ_POLLIN};
    zloop_poller_end(self->loop, &item);
    if (self->timer_id >= 0)
        (void)zloop_timer_end(self->loop, self->timer_id);
    self->timer_id = -1;

    // Kill every process group first, then reap them all within one bound.
    for (s_probe_t *p = zhashx_first(self->probes); p;
         p = zhashx_next(self->probes))
        if (p->pidfd >= 0 && p->state != S_KILLING)
            s_exec_kill(self, p);
    int64_t until = zclock_mono() + S_DESTROY_REAP_MS;
    for (s_probe_t *p = zhashx_first(self->probes); p;
         p = zhashx_next(self->probes)) {
        if (p->pidfd >= 0) {
            int64_t left = until - zclock_mono();
            struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
            // A SIGKILLed process ends within microseconds unless stuck in
            // the kernel; one that outlasts the bound stays a zombie.
            (void)poll(&pfd, 1, left > 0 ? (int)left : 0);
            p->state = S_KILLING;
            (void)s_exec_reap(p);
        }
        s_release(self, p);
    }
    for (s_probe_t *p = zhashx_first(self->probes); p;
         p = zhashx_next(self->probes))
        s_free(p);
    s_engine_free(self);
    *self_p = NULL;
}

int
hc_probe_start(hc_probe_t *self, const hc_probe_spec_t *spec, hc_probe_fn *fn,
               void *arg, uint64_t *id, char *err, size_t errlen)
{
    assert(self && spec && fn && id);
    *id = 0;
    if (spec->timeout_ms <= 0)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "timeout must be positive");
    s_hostport_t hp = {.family = AF_UNSPEC};
    int rc;
    switch (spec->kind) {
    case HC_PROBE_TCP:
        if (!spec->addr)
            return azo_err_set(err, errlen, AZO_EBADREQ, "address missing");
        rc = s_parse_hostport(spec->addr, &hp, err, errlen);
        break;
    case HC_PROBE_HTTP:
    case HC_PROBE_ZMQ:
        rc = hc_probe_check_addr(spec->kind, spec->addr, err, errlen);
        if (!rc && spec->kind == HC_PROBE_ZMQ &&
            !spec->server_key != !spec->client_cert)
            rc = azo_err_set(err, errlen, AZO_EBADREQ,
                             "CURVE needs both server_key and client_cert");
        break;
    case HC_PROBE_EXEC:
        if (!spec->argv || !spec->argv[0] || !*spec->argv[0])
            rc = azo_err_set(err, errlen, AZO_EBADREQ, "empty argv");
        else if (!strchr(spec->argv[0], '/'))
            rc = azo_err_set(err, errlen, AZO_EBADREQ,
                             "argv[0] '%s' must be a path (no PATH search)",
                             spec->argv[0]);
        else
            rc = 0;
        break;
    default:
        rc = azo_err_set(err, errlen, AZO_EBADREQ, "unknown probe kind %d",
                         (int)spec->kind);
    }
    if (rc < 0)
        return rc;

    s_probe_t *p = calloc(1, sizeof *p);
    if (!p)
        return azo_err_set(err, errlen, -ENOMEM, "out of memory");
    p->id = ++self->next_id;
    p->kind = spec->kind;
    p->state = S_RUNNING;
    p->started = zclock_mono();
    p->timeout_ms = spec->timeout_ms;
    p->fn = fn;
    p->arg = arg;
    p->fd = p->pidfd = -1;
    p->out_cap = spec->output_cap ? spec->output_cap : S_OUTPUT_CAP;
    if (p->out_cap > SIZE_MAX - 1)
        p->out_cap = SIZE_MAX - 1; // room for the NUL after the output
    // Indexed and given its deadline first: libcurl and epoll may report on
    // it at once, and nothing can fail after a process has been started.
    if (zhashx_insert(self->probes, AZO_IDMAP_KEY(p->id), p) < 0) {
        free(p);
        return azo_err_set(err, errlen, -ENOMEM, "out of memory");
    }
    if (azo_heap_set(&self->heap, &p->node,
                     s_deadline(p->started, p->timeout_ms)) < 0) {
        zhashx_delete(self->probes, AZO_IDMAP_KEY(p->id));
        free(p);
        return azo_err_set(err, errlen, -ENOMEM, "out of memory");
    }
    switch (spec->kind) {
    case HC_PROBE_TCP:
        if (hp.family == AF_UNSPEC) {
            char url[S_HOST_MAX + 32];
            snprintf(url, sizeof url, "http://%s:%u/", hp.host,
                     (unsigned)hp.port);
            rc = s_start_curl(self, p, url, spec, err, errlen);
        } else
            rc = s_start_tcp(self, p, &hp, err, errlen);
        break;
    case HC_PROBE_HTTP:
        rc = s_start_curl(self, p, spec->addr, spec, err, errlen);
        break;
    case HC_PROBE_EXEC:
        rc = s_start_exec(self, p, spec, err, errlen);
        break;
    case HC_PROBE_ZMQ:
        rc = s_start_zmq(self, p, spec, err, errlen);
        break;
    }
    if (rc < 0) {
        azo_heap_remove(&self->heap, &p->node);
        zhashx_delete(self->probes, AZO_IDMAP_KEY(p->id));
        s_release(self, p);
        s_free(p);
        return rc;
    }
    if (p->state == S_DONE) // delivered from the loop, as soon as it runs
        (void)azo_heap_set(&self->heap, &p->node, p->started); // re-key
    p->notify = true;
    self->inflight++;
    *id = p->id;
    s_request(self);
    return 0;
}

void
hc_probe_cancel(hc_probe_t *self, uint64_t id)
{
    assert(self);
    s_probe_t *p = s_lookup(self, id);
    if (!p || !p->notify)
        return;
    p->notify = false;
    self->inflight--;
    if (p->kind == HC_PROBE_EXEC && p->pidfd >= 0) {
        // Stays indexed, without a deadline, until the pidfd says it ended.
        if (p->state != S_KILLING)
            s_exec_kill(self, p);
        azo_heap_remove(&self->heap, &p->node);
        return;
    }
    s_finish(self, p); // notify is false: no callback
}

size_t
hc_probe_inflight(const hc_probe_t *self)
{
    assert(self);
    return self->inflight;
}
