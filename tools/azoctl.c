// azoctl — the command-line client of azo (DESIGN.md "azoctl"): sends one
// control request over a DEALER socket and prints the reply as a table, a
// line or JSON, or follows the events endpoint with a SUB socket and prints
// one JSON line per event. `pay submit -` also reads payments (JSON) from
// standard input, and the pay list/events forms follow the actor's pages.
// Main thread only.
//
// Global state: none of its own. czmq's zsys_interrupted, written by czmq's
// SIGINT/SIGTERM handler, is read to stop waiting.
//
// Never hangs: every wait has an absolute deadline (--timeout) and is cut
// into short slices so that Ctrl-C is seen at once. Everything that comes
// back is validated (azo_rep_decode, azo_event_decode, then the shape of
// each result); a malformed reply is an error message, never a crash. Does
// not retry or keep connections. With --cert and --server-key, both
// sockets use CURVE (azo_sec); keygen makes certificates.
#include "azo_err.h"
#include "azo_json.h"
#include "azo_mp.h"
#include "azo_sec.h"
#include "azo_wire.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

// Exit codes (documented in the help text).
#define S_EXIT_OK      0
#define S_EXIT_ERROR   1 // error reply, unreadable reply, local failure
#define S_EXIT_USAGE   2 // bad usage
#define S_EXIT_NOREPLY 3 // time-out, interrupted, cannot connect

#define S_DEFAULT_ENDPOINT   "tcp://127.0.0.1:7710"
#define S_DEFAULT_TIMEOUT_MS 5000
#define S_MAX_TIMEOUT_MS     86400000 // one day
#define S_SLICE_MS           200      // longest wait without checking Ctrl-C
#define S_WARN_EVERY_MS      1000     // sub: at most one warning per second
#define S_ENDPOINT_MAX       1024
#define S_CELL_MAX           256   // bytes shown of one table cell
#define S_JOBS_MAX           10000 // jobs shown by `jobs` (sched.list limit)
#define S_TABLE_COLS         8     // the widest table: status
// pay: the payment-recovery actor answers at most this many payments or
// events per pay.list / pay.events, and takes at most this many per
// pay.submit.
#define S_PAY_PAGE 1000
// pay retry waits for the gateway's answer, which may take the gateway's
// own time-out (10 s by default): without --timeout it waits this long.
#define S_PAY_RETRY_TIMEOUT_MS 30000
#define S_BACKTEST_TIMEOUT_MS  120000 // mining backtest: a long history
#define S_MOVE_TIMEOUT_MS      15000  // move: a stop, then a start elsewhere
#define S_STDIN_MAX            (256u * 1024 * 1024) // pay submit -: input cap
// One pay.submit stays well inside the wire limits (azo_mp_check): the
// envelope takes a few objects and bytes of its own.
#define S_SUBMIT_OBJECTS (AZO_MP_MAX_ITEMS - 1024)
#define S_SUBMIT_BYTES   (AZO_MP_MAX_BYTES / 2)
// Request ids stay below 2^53, so any JSON tool reads them exactly.
#define S_ID_MASK ((UINT64_C(1) << 53) - 1)

typedef struct {
    const char *endpoint; // borrowed: argv, environment or a literal
    const char *events;   // borrowed: argv or environment; NULL if not given
    bool json;
    int timeout_ms;
    bool has_timeout; // --timeout given: it wins over a command's own wait
    long long count;  // sub: events to print; 0 = until interrupted
    bool has_count;
    const char *status; // pay list --status: borrowed argv, or NULL
    const char *method; // pay requeue --method: borrowed argv, or NULL
    bool dry_run;       // archive run --dry-run
    bool refresh;       // mining report --refresh
    long long limit;    // pay list/events, archive list --limit: rows
    bool has_limit;
    const char *cert;       // borrowed: --cert or $AZO_CERT, or NULL
    const char *server_key; // borrowed: --server-key or $AZO_SERVER_KEY
    bool curve;             // curve is loaded: both sockets use it
    azo_sec_client_t curve_keys;
} s_opts_t;

// One control connection. The reply in rep points into msg, which stays
// alive until the next call or close.
typedef struct {
    const s_opts_t *opts; // borrowed
    zsock_t *sock;        // owned DEALER; NULL until the first call
    zpoller_t *poller;    // owned
    zmq_msg_t msg;        // owned: the frame rep points into
    azo_rep_t rep;        // owned: the last reply
    msgpack_sbuffer buf;  // owned: the request being sent
    uint64_t next_id;
    int64_t rtt_us; // round trip of the last call
    int timeout_ms; // per call: --timeout, or a command's longer default
} s_client_t;

typedef struct s_cmd s_cmd_t;

// Runs one command; argv holds the arguments after the command's words.
// Returns an exit code.
typedef int(s_cmd_fn)(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv);

struct s_cmd {
    const char *group; // first word of two-word commands ("pay"), or NULL
    const char *name;  // the (last) command word
    s_cmd_fn *fn;
    const char *wire; // the wire command, for direct mappings
    const char *arg;  // the argument key the positional argument fills
    int minargs, maxargs;
};

// --- small helpers ---------------------------------------------------------

static int64_t
s_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
s_mono_ms(void)
{
    return s_mono_us() / 1000;
}

static int s_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int
s_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("azoctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'azoctl --help' for more information.\n", stderr);
    return S_EXIT_USAGE;
}

// Parses a whole decimal integer in [min, max].
static bool
s_parse_ll(const char *s, long long min, long long max, long long *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

// True when s is valid UTF-8, which the wire requires of every string.
static bool
s_utf8_ok(const char *s)
{
    json_t *j = json_string(s); // jansson validates on the way in
    json_decref(j);
    return j != NULL;
}

// A first 64-bit id from the clock and pid, mixed (splitmix64) so that two
// azoctl runs in the same millisecond still differ.
static uint64_t
s_first_id(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    x ^= (uint64_t)getpid() << 40;
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    x &= S_ID_MASK >> 1; // leaves room to count up
    return x ? x : 1;
}

// Copies src[0..len) into dst for a terminal: control characters become
// '?', and a cut never splits a UTF-8 sequence.
static void
s_clean(char *dst, size_t dstlen, const char *src, size_t len)
{
    if (len >= dstlen) {
        len = dstlen - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
            len--;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    dst[len] = 0;
}

// Writes obj as display text into buf (S_CELL_MAX bytes): strings cleaned,
// numbers in decimal, absent or nil as "-". Returns buf.
static const char *
s_text(const msgpack_object *obj, char *buf)
{
    if (!obj || obj->type == MSGPACK_OBJECT_NIL)
        snprintf(buf, S_CELL_MAX, "-");
    else if (obj->type == MSGPACK_OBJECT_STR)
        s_clean(buf, S_CELL_MAX, obj->via.str.ptr, obj->via.str.size);
    else if (obj->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        snprintf(buf, S_CELL_MAX, "%" PRIu64, obj->via.u64);
    else if (obj->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        snprintf(buf, S_CELL_MAX, "%" PRId64, obj->via.i64);
    else if (obj->type == MSGPACK_OBJECT_BOOLEAN)
        snprintf(buf, S_CELL_MAX, "%s", obj->via.boolean ? "yes" : "no");
    else if (obj->type == MSGPACK_OBJECT_FLOAT32 ||
             obj->type == MSGPACK_OBJECT_FLOAT64)
        snprintf(buf, S_CELL_MAX, "%g", obj->via.f64);
    else
        snprintf(buf, S_CELL_MAX, "?");
    return buf;
}

// Writes ms >= 0 the way people read a duration ("850ms", "42s", "5m03s",
// "2h10m", "3d04h") into buf (S_CELL_MAX bytes) and returns buf.
static char *
s_human_ms_int(int64_t ms, char *buf)
{
    long long s = (long long)(ms / 1000);
    if (ms < 1000)
        snprintf(buf, S_CELL_MAX, "%lldms", (long long)ms);
    else if (s < 60)
        snprintf(buf, S_CELL_MAX, "%llds", s);
    else if (s < 3600)
        snprintf(buf, S_CELL_MAX, "%lldm%02llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, S_CELL_MAX, "%lldh%02lldm", s / 3600, s / 60 % 60);
    else
        snprintf(buf, S_CELL_MAX, "%lldd%02lldh", s / 86400, s / 3600 % 24);
    return buf;
}

// The same for a msgpack integer; "?" for anything else.
static const char *
s_human_ms(const msgpack_object *obj, char *buf)
{
    int64_t ms;
    if (azo_mp_int(obj, &ms) < 0 || ms < 0) {
        snprintf(buf, S_CELL_MAX, "?");
        return buf;
    }
    return s_human_ms_int(ms, buf);
}

// --- tables ----------------------------------------------------------------

typedef struct {
    int ncols;
    size_t nrows, cap;
    char **cells; // owned: nrows * ncols strings, each owned
} s_table_t;

static void
s_table_fini(s_table_t *t)
{
    for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

// Appends a row of t->ncols cells (copied). Returns 0 or -ENOMEM.
static int
s_table_add(s_table_t *t, const char *const *row)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        char **cells =
            realloc(t->cells, cap * (size_t)t->ncols * sizeof *cells);
        if (!cells)
            return -ENOMEM;
        t->cells = cells;
        t->cap = cap;
    }
    char **dst = t->cells + t->nrows * (size_t)t->ncols;
    for (int i = 0; i < t->ncols; i++) {
        dst[i] = strdup(row[i]);
        if (!dst[i]) {
            while (i-- > 0)
                free(dst[i]);
            return -ENOMEM;
        }
    }
    t->nrows++;
    return 0;
}

// Columns on a terminal: one per UTF-8 sequence (wide characters are rare
// in names and states).
static size_t
s_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

static void
s_table_print(const s_table_t *t)
{
    assert(t->ncols <= S_TABLE_COLS);
    size_t width[S_TABLE_COLS] = {0};
    for (size_t r = 0; r < t->nrows; r++)
        for (int c = 0; c < t->ncols; c++) {
            size_t w = s_width(t->cells[r * (size_t)t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * (size_t)t->ncols + c];
            if (c == t->ncols - 1) {
                printf("%s\n", cell);
                break;
            }
            printf("%s%*s", cell, (int)(width[c] - s_width(cell) + 2), "");
        }
    }
}

// Prints t unless filling it failed (rc < 0: out of memory, said so on
// stderr) and frees it. Returns S_EXIT_OK or S_EXIT_ERROR.
static int
s_table_end(s_table_t *t, int rc)
{
    if (rc == 0)
        s_table_print(t);
    s_table_fini(t);
    if (rc < 0) {
        fprintf(stderr, "azoctl: out of memory\n");
        return S_EXIT_ERROR;
    }
    return S_EXIT_OK;
}

// --- JSON output -----------------------------------------------------------

// Prints j (consumed) on stdout with json_dumpf flags and a newline.
static int
s_emit_json(json_t *j, size_t flags)
{
    int rc = json_dumpf(j, stdout, flags);
    json_decref(j);
    if (rc < 0) {
        fprintf(stderr, "azoctl: cannot write JSON output\n");
        return S_EXIT_ERROR;
    }
    putchar('\n');
    return S_EXIT_OK;
}

// Prints obj as JSON on stdout: pretty (indent 2) or compact on one line.
static int
s_print_json(const msgpack_object *obj, bool pretty)
{
    json_t *j = azo_json_from_mp(obj);
    if (!j) {
        fprintf(stderr, "azoctl: the reply cannot be shown as JSON\n");
        return S_EXIT_ERROR;
    }
    return s_emit_json(j, JSON_ENCODE_ANY |
                              (pretty ? JSON_INDENT(2) : JSON_COMPACT));
}

// --- the control client ----------------------------------------------------

static void
s_client_init(s_client_t *c, const s_opts_t *opts)
{
    memset(c, 0, sizeof *c);
    c->opts = opts;
    c->timeout_ms = opts->timeout_ms;
    zmq_msg_init(&c->msg);
    msgpack_sbuffer_init(&c->buf);
    c->next_id = s_first_id();
}

static void
s_client_fini(s_client_t *c)
{
    zpoller_destroy(&c->poller);
    zsock_destroy(&c->sock);
    zmq_msg_close(&c->msg);
    azo_rep_fini(&c->rep);
    msgpack_sbuffer_destroy(&c->buf);
}

// Creates, configures and connects a socket. Returns it, or NULL after
// printing why.
static zsock_t *
s_socket_open(int type, const char *endpoint, const s_opts_t *opts)
{
    zsock_t *sock = zsock_new(type);
    if (!sock) {
        fprintf(stderr, "azoctl: cannot create a ZeroMQ socket\n");
        return NULL;
    }
    // Exit at once, whatever is still queued; cap what a peer can make us
    // allocate (STYLE §4).
    zsock_set_linger(sock, 0);
    zsock_set_maxmsgsize(sock, (int)AZO_MP_MAX_BYTES);
    zsock_set_ipv6(sock, 1); // tcp://[::1]:PORT; IPv4 still works
    if (opts->curve)
        azo_sec_client_apply(&opts->curve_keys, sock);
    if (zsock_connect(sock, "%s", endpoint) < 0) {
        int e = errno;
        fprintf(stderr, "azoctl: cannot connect to %s: %s\n", endpoint,
                zmq_strerror(e));
        zsock_destroy(&sock);
    }
    return sock;
}

static int
s_client_open(s_client_t *c)
{
    if (azo_rep_init(&c->rep) < 0) {
        fprintf(stderr, "azoctl: out of memory\n");
        return S_EXIT_ERROR;
    }
    c->sock = s_socket_open(ZMQ_DEALER, c->opts->endpoint, c->opts);
    if (!c->sock)
        return S_EXIT_NOREPLY;
    c->poller = zpoller_new(c->sock, NULL);
    if (!c->poller) {
        fprintf(stderr, "azoctl: cannot create a poller\n");
        return S_EXIT_ERROR;
    }
    return S_EXIT_OK;
}

static int
s_no_reply(const s_client_t *c)
{
    // A CURVE handshake that fails looks the same as silence: a server
    // never tells an unknown client why.
    fprintf(stderr, "azoctl: no reply from %s within %d ms (%s)\n",
            c->opts->endpoint, c->timeout_ms,
            c->opts->curve ? "is azod running, is this client's key among its "
                             "allowed clients, and is --server-key its key?"
                           : "is azod running? if it requires CURVE, give "
                             "--cert and --server-key");
    return S_EXIT_NOREPLY;
}

// Receives one message into c->msg. Returns 1 when it is a single frame,
// 0 when nothing was waiting, -1 (after printing why) when malformed.
static int
s_client_recv(s_client_t *c)
{
    void *raw = zsock_resolve(c->sock);
    zmq_msg_close(&c->msg);
    zmq_msg_init(&c->msg);
    if (zmq_msg_recv(&c->msg, raw, ZMQ_DONTWAIT) < 0)
        return 0;
    if (!zmq_msg_more(&c->msg))
        return 1;
    // The rest of a multipart message is already here: drain it.
    int frames = 1;
    zmq_msg_t extra;
    zmq_msg_init(&extra);
    bool more = true;
    while (more && zmq_msg_recv(&extra, raw, ZMQ_DONTWAIT) >= 0) {
        frames++;
        more = zmq_msg_more(&extra);
    }
    zmq_msg_close(&extra);
    fprintf(stderr,
            "azoctl: malformed reply from %s: %d frames instead of one\n",
            c->opts->endpoint, frames);
    return -1;
}

// Sends cmd with args (a packed msgpack map; NULL for none) and waits for
// the reply with the same id, leaving it in c->rep. Returns S_EXIT_OK when
// a reply arrived (ok or not), or another exit code after printing why.
static int
s_client_call(s_client_t *c, const char *cmd, const void *args, size_t argslen)
{
    if (!c->sock) {
        int rc = s_client_open(c);
        if (rc != S_EXIT_OK)
            return rc;
    }
    uint64_t id = c->next_id++;
    msgpack_packer pk;
    msgpack_sbuffer_clear(&c->buf);
    msgpack_packer_init(&pk, &c->buf, msgpack_sbuffer_write);
    azo_req_pack(&pk, id, cmd);
    if (args) // fails only when out of memory, and czmq aborts first
        (void)msgpack_sbuffer_write(&c->buf, args, argslen);
    else
        msgpack_pack_map(&pk, 0);

    // The node would refuse it anyway (args nest one level below the
    // envelope, and there are size limits): say so before sending.
    char why[256];
    if (azo_mp_check(c->buf.data, c->buf.size, why, sizeof why) < 0)
        return s_usage_error("%s: the request breaks the wire limits: %s", cmd,
                             why);

    int64_t start = s_mono_us();
    int64_t deadline = start / 1000 + c->timeout_ms;
    // A DEALER queues while connecting, but blocks with no peer pipe at
    // all; the send time-out keeps even that bounded.
    zsock_set_sndtimeo(c->sock, c->timeout_ms);
    if (zmq_send(zsock_resolve(c->sock), c->buf.data, c->buf.size, 0) < 0) {
        if (zsys_interrupted) {
            fprintf(stderr, "azoctl: interrupted\n");
            return S_EXIT_NOREPLY;
        }
        if (errno == EAGAIN)
            return s_no_reply(c);
        fprintf(stderr, "azoctl: cannot send to %s: %s\n", c->opts->endpoint,
                zmq_strerror(errno));
        return S_EXIT_NOREPLY;
    }
    for (;;) {
        int64_t left = deadline - s_mono_ms();
        if (left <= 0)
            return s_no_reply(c);
        (void)zpoller_wait(c->poller,
                           (int)(left < S_SLICE_MS ? left : S_SLICE_MS));
        if (zsys_interrupted) {
            fprintf(stderr, "azoctl: interrupted\n");
            return S_EXIT_NOREPLY;
        }
        // Drain: the poller only says something may be waiting.
        int got;
        while ((got = s_client_recv(c)) != 0) {
            if (got < 0)
                return S_EXIT_ERROR;
            if (azo_rep_decode(&c->rep, zmq_msg_data(&c->msg),
                               zmq_msg_size(&c->msg), why, sizeof why) < 0) {
                fprintf(stderr, "azoctl: malformed reply from %s: %s\n",
                        c->opts->endpoint, why);
                return S_EXIT_ERROR;
            }
            // A reply to an earlier request on this socket is not ours. An
            // error without an id answers a request the node could not
            // read, and only ours is in flight.
            if (c->rep.has_id ? c->rep.id != id : c->rep.ok)
                continue;
            c->rtt_us = s_mono_us() - start;
            return S_EXIT_OK;
        }
    }
}

// Prints the error reply in c->rep: "azoctl: <code>: <message>" on stderr,
// and with --json the whole reply on stdout. Returns S_EXIT_ERROR.
static int
s_error_reply(const s_client_t *c)
{
    if (c->opts->json)
        (void)s_print_json(&c->rep.root, false); // the message still follows
    char code[64], msg[AZO_WIRE_MAX_ERRMSG + 1];
    s_clean(code, sizeof code, c->rep.code, strlen(c->rep.code));
    s_clean(msg, sizeof msg, c->rep.message, strlen(c->rep.message));
    fprintf(stderr, "azoctl: %s: %s\n", code, msg);
    return S_EXIT_ERROR;
}

// Calls cmd and checks that the reply is ok with a map result. Returns
// S_EXIT_OK with the result in *out, or an exit code after printing why.
static int
s_call_map(s_client_t *c, const char *cmd, const void *args, size_t argslen,
           const msgpack_object **out)
{
    int rc = s_client_call(c, cmd, args, argslen);
    if (rc != S_EXIT_OK)
        return rc;
    if (!c->rep.ok)
        return s_error_reply(c);
    if (c->rep.result->type != MSGPACK_OBJECT_MAP) {
        fprintf(stderr, "azoctl: malformed %s reply: the result is not a map\n",
                cmd);
        return S_EXIT_ERROR;
    }
    *out = c->rep.result;
    return S_EXIT_OK;
}

// Says so on stderr. Returns S_EXIT_ERROR.
static int
s_oom(void)
{
    fprintf(stderr, "azoctl: out of memory\n");
    return S_EXIT_ERROR;
}

static int
s_malformed(const char *cmd, const char *what)
{
    fprintf(stderr, "azoctl: malformed %s reply: %s\n", cmd, what);
    return S_EXIT_ERROR;
}

// Packs {key: value} into buf, value a string. Returns 0 or a usage error.
static int
s_pack_one(msgpack_sbuffer *buf, const char *key, const char *value)
{
    if (!s_utf8_ok(value))
        return s_usage_error("'%s' is not valid UTF-8", value);
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    azo_pack_kstr(&pk, key, value);
    return 0;
}

// --- commands --------------------------------------------------------------

// The common start of a command that shows a result: sends wire with the
// packed args (may be NULL) and, under --json, prints the result itself.
// Returns S_EXIT_OK with *res set when the caller should show it, or the
// exit code to return (with *res NULL).
static int
s_fetch(s_client_t *c, const char *wire, const char *args, size_t alen,
        const msgpack_object **res)
{
    int rc = s_call_map(c, wire, args, alen, res);
    if (rc == S_EXIT_OK && c->opts->json) {
        rc = s_print_json(*res, false);
        *res = NULL;
    } else if (rc != S_EXIT_OK)
        *res = NULL;
    return rc;
}

// s_fetch for the forms that take one argument: cmd->wire with
// {cmd->arg: value}.
static int
s_fetch_arg(s_client_t *c, const s_cmd_t *cmd, const char *value,
            const msgpack_object **res)
{
    msgpack_sbuffer args;
    msgpack_sbuffer_init(&args);
    *res = NULL;
    int rc = s_pack_one(&args, cmd->arg, value);
    if (rc == 0)
        rc = s_fetch(c, cmd->wire, args.data, args.size, res);
    msgpack_sbuffer_destroy(&args);
    return rc;
}

static int
s_cmd_ping(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)cmd;
    (void)argc;
    (void)argv;
    const msgpack_object *res;
    int rc = s_call_map(c, "ping", NULL, 0, &res);
    if (rc != S_EXIT_OK)
        return rc;
    double ms = (double)c->rtt_us / 1000.0;
    if (c->opts->json) {
        json_t *j = azo_json_from_mp(res);
        if (!j || json_object_set_new(j, "rtt_ms", json_real(ms)) < 0) {
            json_decref(j);
            return s_malformed("ping", "the result cannot be shown as JSON");
        }
        return s_emit_json(j, JSON_COMPACT);
    }
    const msgpack_object *node = azo_mp_get(res, "node");
    if (!node || node->type != MSGPACK_OBJECT_STR)
        return s_malformed("ping", "'node' must be a string");
    char name[S_CELL_MAX];
    printf("pong from node %s in %.2f ms\n", s_text(node, name), ms);
    return S_EXIT_OK;
}

static int
s_cmd_status(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)cmd;
    (void)argc;
    (void)argv;
    const msgpack_object *res;
    int rc = s_fetch(c, "status", NULL, 0, &res);
    if (!res)
        return rc;

    const msgpack_object *node = azo_mp_get(res, "node");
    const msgpack_object *actors = azo_mp_get(res, "actors");
    const msgpack_object *eps = azo_mp_get(res, "endpoints");
    if (!node || node->type != MSGPACK_OBJECT_STR)
        return s_malformed("status", "'node' must be a string");
    if (!actors || actors->type != MSGPACK_OBJECT_ARRAY)
        return s_malformed("status", "'actors' must be an array");
    // Check every row before printing anything.
    for (uint32_t i = 0; i < actors->via.array.size; i++) {
        const msgpack_object *name =
            azo_mp_get(&actors->via.array.ptr[i], "name");
        if (!name || name->type != MSGPACK_OBJECT_STR)
            return s_malformed("status", "each actor needs a string 'name'");
    }
    char b[8][S_CELL_MAX];
    printf("node %s  pid %s  version %s  up %s  config %s\n",
           s_text(node, b[0]), s_text(azo_mp_get(res, "pid"), b[1]),
           s_text(azo_mp_get(res, "version"), b[2]),
           s_human_ms(azo_mp_get(res, "uptime_ms"), b[3]),
           s_text(azo_mp_get(res, "config"), b[4]));
    printf("control %s  events %s\n\n",
           s_text(azo_mp_get(eps, "control"), b[0]),
           s_text(azo_mp_get(eps, "events"), b[1]));

    s_table_t t = {.ncols = 8};
    static const char *const head[] = {"NAME",    "MODE",     "PID",
                                       "STATE",   "UPTIME",   "RESTARTS",
                                       "BACKOFF", "LAST EXIT"};
    rc = s_table_add(&t, head);
    for (uint32_t i = 0; rc == 0 && i < actors->via.array.size; i++) {
        const msgpack_object *a = &actors->via.array.ptr[i];
        const msgpack_object *state = azo_mp_get(a, "state");
        const msgpack_object *last = azo_mp_get(a, "last_exit");
        const msgpack_object *pid = azo_mp_get(a, "pid");
        const msgpack_object *backoff = azo_mp_get(a, "backoff_ms");
        bool running = azo_mp_str_eq(state, "running");
        bool has_pid = pid && pid->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                       pid->via.u64 > 0;
        bool has_backoff = backoff &&
                           backoff->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                           backoff->via.u64 > 0;
        const char *row[8] = {
            s_text(azo_mp_get(a, "name"), b[0]),
            s_text(azo_mp_get(a, "mode"), b[1]),
            has_pid ? s_text(pid, b[2]) : "-",
            s_text(state, b[3]),
            running ? s_human_ms(azo_mp_get(a, "uptime_ms"), b[4]) : "-",
            s_text(azo_mp_get(a, "restarts"), b[5]),
            has_backoff ? s_human_ms(backoff, b[6]) : "-",
            !last || last->type != MSGPACK_OBJECT_STR || last->via.str.size == 0
                ? "-"
                : s_text(last, b[7]),
        };
        rc = s_table_add(&t, row);
    }
    if (s_table_end(&t, rc) != S_EXIT_OK)
        return S_EXIT_ERROR;
    return S_EXIT_OK;
}

// The STATE cell of a job: paused, backoff (interval), running, or idle.
static const char *
s_job_state(const msgpack_object *j, char *buf)
{
    const msgpack_object *running = azo_mp_get(j, "running");
    const msgpack_object *backoff = azo_mp_get(j, "backoff");
    int64_t n = 0;
    char d[S_CELL_MAX];
    if (azo_mp_get(j, "paused") &&
        azo_mp_get(j, "paused")->type == MSGPACK_OBJECT_BOOLEAN &&
        azo_mp_get(j, "paused")->via.boolean)
        snprintf(buf, S_CELL_MAX, "paused");
    else if (backoff && backoff->type == MSGPACK_OBJECT_BOOLEAN &&
             backoff->via.boolean)
        snprintf(buf, S_CELL_MAX, "backoff %.200s",
                 s_human_ms(azo_mp_get(j, "interval_ms"), d));
    else if (azo_mp_int(running, &n) == 0 && n > 0)
        snprintf(buf, S_CELL_MAX, "running");
    else
        snprintf(buf, S_CELL_MAX, "idle");
    return buf;
}

// jobs: sched.list as a table, one row per job.
static int
s_cmd_jobs(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)cmd;
    (void)argc;
    (void)argv;
    msgpack_sbuffer args;
    msgpack_sbuffer_init(&args);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    azo_pack_kint(&pk, "limit", S_JOBS_MAX);
    const msgpack_object *res;
    int rc = s_fetch(c, "sched.list", args.data, args.size, &res);
    msgpack_sbuffer_destroy(&args);
    if (!res)
        return rc;
    const msgpack_object *jobs = azo_mp_get(res, "jobs");
    if (!jobs || jobs->type != MSGPACK_OBJECT_ARRAY)
        return s_malformed("sched.list", "'jobs' must be an array");
    for (uint32_t i = 0; i < jobs->via.array.size; i++) {
        const msgpack_object *name =
            azo_mp_get(&jobs->via.array.ptr[i], "name");
        if (!name || name->type != MSGPACK_OBJECT_STR)
            return s_malformed("sched.list", "each job needs a string 'name'");
    }
    s_table_t t = {.ncols = 8};
    static const char *const head[] = {"NAME", "COMMAND", "SCHEDULE",
                                       "NEXT", "STATE",   "LAST",
                                       "RUNS", "FAILED"};
    rc = s_table_add(&t, head);
    char b[8][S_CELL_MAX];
    for (uint32_t i = 0; rc == 0 && i < jobs->via.array.size; i++) {
        const msgpack_object *j = &jobs->via.array.ptr[i];
        const msgpack_object *last = azo_mp_get(j, "last");
        int64_t next = 0;
        bool has_next =
            azo_mp_int(azo_mp_get(j, "next"), &next) == 0 && next > 0;
        const char *row[8] = {
            s_text(azo_mp_get(j, "name"), b[0]),
            s_text(azo_mp_get(j, "command"), b[1]),
            s_text(azo_mp_get(j, "schedule"), b[2]),
            has_next ? s_human_ms(azo_mp_get(j, "next_in_ms"), b[3]) : "-",
            s_job_state(j, b[4]),
            last && last->type == MSGPACK_OBJECT_MAP
                ? s_text(azo_mp_get(last, "result"), b[5])
                : "-",
            s_text(azo_mp_get(j, "runs"), b[6]),
            s_text(azo_mp_get(j, "fails"), b[7]),
        };
        rc = s_table_add(&t, row);
    }
    if (s_table_end(&t, rc) != S_EXIT_OK)
        return S_EXIT_ERROR;
    const msgpack_object *more = azo_mp_get(res, "more");
    if (more && more->type == MSGPACK_OBJECT_BOOLEAN && more->via.boolean)
        printf("(only the first %d jobs of %s: see azoctl call sched.list "
               "after=NAME)\n",
               S_JOBS_MAX, s_text(azo_mp_get(res, "count"), b[0]));
    return S_EXIT_OK;
}

// One row of the health table: an actor or a target.
static int
s_health_row(s_table_t *t, const char *kind, const msgpack_object *e,
             int64_t now)
{
    char b[8][S_CELL_MAX];
    int64_t since = 0, n = 0;
    bool has_since =
        azo_mp_int(azo_mp_get(e, "since"), &since) == 0 && since > 0;
    bool target = strcmp(kind, "target") == 0;
    bool has_last =
        target && azo_mp_int(azo_mp_get(e, "last_ts"), &n) == 0 && n > 0;
    const char *row[8] = {
        kind,
        s_text(azo_mp_get(e, "name"), b[0]),
        s_text(azo_mp_get(e, "state"), b[1]),
        has_since ? s_human_ms_int(now > since ? now - since : 0, b[2]) : "-",
        has_last ? s_human_ms(azo_mp_get(e, "last_ms"), b[3]) : "-",
        target ? s_text(azo_mp_get(e, "probes"), b[4]) : "-",
        target ? s_text(azo_mp_get(e, "failures"), b[5]) : "-",
        s_text(azo_mp_get(e, "reason"), b[6]),
    };
    return s_table_add(t, row);
}

// health: health.status as a line about the node and a table of actors
// and targets. health check [TARGET]: health.check, one line per result.
static int
s_cmd_health(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)cmd;
    const msgpack_object *res;
    char b[8][S_CELL_MAX];
    if (argc > 0) {
        if (strcmp(argv[0], "check") != 0 || argc > 2)
            return s_usage_error("health: expected nothing, or check "
                                 "[TARGET]");
        int rc;
        if (argc == 2) {
            const s_cmd_t one = {NULL,     "check", NULL, "health.check",
                                 "target", 1,       1};
            rc = s_fetch_arg(c, &one, argv[1], &res);
        } else
            rc = s_fetch(c, "health.check", NULL, 0, &res);
        if (!res)
            return rc;
        const msgpack_object *list = azo_mp_get(res, "results");
        if (!list || list->type != MSGPACK_OBJECT_ARRAY)
            return s_malformed("health.check", "'results' must be an array");
        for (uint32_t i = 0; i < list->via.array.size; i++) {
            const msgpack_object *r = &list->via.array.ptr[i];
            const msgpack_object *ok = azo_mp_get(r, "ok");
            bool good =
                ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean;
            printf("%s: %s in %s: %s\n", s_text(azo_mp_get(r, "target"), b[0]),
                   good ? "ok" : "FAILED",
                   s_human_ms(azo_mp_get(r, "ms"), b[1]),
                   s_text(azo_mp_get(r, "detail"), b[2]));
        }
        printf("checked %s: %s ok, %s failed, in %s\n",
               s_text(azo_mp_get(res, "checked"), b[0]),
               s_text(azo_mp_get(res, "ok"), b[1]),
               s_text(azo_mp_get(res, "failed"), b[2]),
               s_human_ms(azo_mp_get(res, "ms"), b[3]));
        return S_EXIT_OK;
    }
    int rc = s_fetch(c, "health.status", NULL, 0, &res);
    if (!res)
        return rc;
    const msgpack_object *node = azo_mp_get(res, "node");
    const msgpack_object *actors = azo_mp_get(res, "actors");
    const msgpack_object *targets = azo_mp_get(res, "targets");
    if (!node || node->type != MSGPACK_OBJECT_MAP)
        return s_malformed("health.status", "'node' must be a map");
    if (!actors || actors->type != MSGPACK_OBJECT_ARRAY || !targets ||
        targets->type != MSGPACK_OBJECT_ARRAY)
        return s_malformed("health.status",
                           "'actors' and 'targets' must be arrays");
    int64_t now = 0, total = 0, avail = 0, free_b = 0;
    (void)azo_mp_int(azo_mp_get(res, "ts"), &now);
    (void)azo_mp_int(azo_mp_get(node, "mem_total"), &total);
    (void)azo_mp_int(azo_mp_get(node, "mem_available"), &avail);
    (void)azo_mp_int(azo_mp_get(node, "disk_free"), &free_b);
    const msgpack_object *load = azo_mp_get(node, "load");
    printf("node %s: %s (%s), overall %s\n",
           s_text(azo_mp_get(node, "name"), b[0]),
           s_text(azo_mp_get(node, "state"), b[1]),
           s_text(azo_mp_get(node, "reason"), b[2]),
           s_text(azo_mp_get(res, "state"), b[3]));
    const msgpack_object *cpu = azo_mp_get(node, "cpu_pct");
    if (cpu && (cpu->type == MSGPACK_OBJECT_FLOAT64 ||
                cpu->type == MSGPACK_OBJECT_FLOAT32))
        snprintf(b[4], S_CELL_MAX, "%.0f%%", cpu->via.f64);
    else
        snprintf(b[4], S_CELL_MAX, "- (measured from the second sample)");
    printf("cpu %s  memory %.0f%% used of %.1f GiB  load %s  disk free "
           "%.1f GiB\n\n",
           b[4],
           total > 0 ? 100.0 * (double)(total - avail) / (double)total : 0.0,
           (double)total / (1 << 30),
           load && load->type == MSGPACK_OBJECT_ARRAY && load->via.array.size
               ? s_text(&load->via.array.ptr[0], b[5])
               : "-",
           (double)free_b / (1 << 30));
    s_table_t t = {.ncols = 8};
    static const char *const head[] = {"KIND", "NAME",   "STATE", "SINCE",
                                       "LAST", "PROBES", "FAILS", "REASON"};
    rc = s_table_add(&t, head);
    for (uint32_t i = 0; rc == 0 && i < actors->via.array.size; i++)
        rc = s_health_row(&t, "actor", &actors->via.array.ptr[i], now);
    // Targets come in pages (health.status answers 1000 at a time).
    for (;;) {
        const msgpack_object *more = azo_mp_get(res, "more");
        uint32_t n = targets->via.array.size;
        for (uint32_t i = 0; rc == 0 && i < n; i++)
            rc = s_health_row(&t, "target", &targets->via.array.ptr[i], now);
        const msgpack_object *last =
            n ? azo_mp_get(&targets->via.array.ptr[n - 1], "name") : NULL;
        if (rc < 0 || !more || more->type != MSGPACK_OBJECT_BOOLEAN ||
            !more->via.boolean || !last || last->type != MSGPACK_OBJECT_STR)
            break;
        char after[S_CELL_MAX];
        s_text(last, after);
        const s_cmd_t page = {NULL,    "health", NULL, "health.status",
                              "after", 0,        0};
        int frc = s_fetch_arg(c, &page, after, &res);
        targets = res ? azo_mp_get(res, "targets") : NULL;
        if (!targets || targets->type != MSGPACK_OBJECT_ARRAY) {
            s_table_fini(&t);
            return res ? s_malformed("health.status", "'targets' must be an "
                                                      "array")
                       : frc;
        }
    }
    return s_table_end(&t, rc);
}

// run / pause / resume JOB: one line saying what happened.
static int
s_cmd_job(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)argc;
    const msgpack_object *res;
    int rc = s_fetch_arg(c, cmd, argv[0], &res);
    if (!res)
        return rc;
    char b[3][S_CELL_MAX];
    if (strcmp(cmd->wire, "sched.run") == 0) {
        printf("%s: run %s sent (azoctl sub sched.job. shows how it ends)\n",
               s_text(azo_mp_get(res, "job"), b[0]),
               s_text(azo_mp_get(res, "run"), b[1]));
        return S_EXIT_OK;
    }
    int64_t next = 0;
    bool has_next = azo_mp_int(azo_mp_get(res, "next"), &next) == 0 && next;
    printf("%s: %s%s%s\n", s_text(azo_mp_get(res, "name"), b[0]),
           s_job_state(res, b[1]), has_next ? ", next run in " : "",
           has_next ? s_human_ms(azo_mp_get(res, "next_in_ms"), b[2]) : "");
    return S_EXIT_OK;
}

// Prints an actor map (the result of the actor.* commands) as one line,
// "NAME: STATE (gen G, restarts R)", with "on node NODE" and the epoch
// when where is set. Returns an exit code.
static int
s_print_actor(const s_cmd_t *cmd, const msgpack_object *res, bool where)
{
    const msgpack_object *name = azo_mp_get(res, "name");
    const msgpack_object *state = azo_mp_get(res, "state");
    if (!name || name->type != MSGPACK_OBJECT_STR || !state ||
        state->type != MSGPACK_OBJECT_STR)
        return s_malformed(cmd->wire, "'name' and 'state' must be strings");
    char b[6][S_CELL_MAX], at[3 * S_CELL_MAX] = " (";
    if (where)
        snprintf(at, sizeof at, " on node %s (epoch %s, ",
                 s_text(azo_mp_get(res, "node"), b[4]),
                 s_text(azo_mp_get(res, "epoch"), b[5]));
    printf("%s: %s%sgen %s, restarts %s)\n", s_text(name, b[0]),
           s_text(state, b[1]), at, s_text(azo_mp_get(res, "gen"), b[2]),
           s_text(azo_mp_get(res, "restarts"), b[3]));
    return S_EXIT_OK;
}

// start / stop / restart NAME.
static int
s_cmd_actor(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)argc;
    const msgpack_object *res;
    int rc = s_fetch_arg(c, cmd, argv[0], &res);
    if (!res)
        return rc;
    return s_print_actor(cmd, res, false);
}

static int
s_cmd_shutdown(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)cmd;
    (void)argc;
    (void)argv;
    const msgpack_object *res;
    int rc = s_fetch(c, "shutdown", NULL, 0, &res);
    if (!res)
        return rc;
    char name[S_CELL_MAX];
    const msgpack_object *node = azo_mp_get(res, "node");
    if (!node || node->type != MSGPACK_OBJECT_STR)
        return s_malformed("shutdown", "'node' must be a string");
    (void)s_text(node, name);
    printf("node %s is shutting down\n", name);
    return S_EXIT_OK;
}

// The ACTORS cell of a node: name:state of each actor, comma separated,
// cut with an ellipsis at a character boundary when it does not fit.
static void
s_node_actors(const msgpack_object *actors, char *list)
{
    snprintf(list, S_CELL_MAX, "-");
    if (!actors || actors->type != MSGPACK_OBJECT_ARRAY ||
        actors->via.array.size == 0)
        return;
    size_t used = 0;
    list[0] = 0;
    for (uint32_t k = 0; k < actors->via.array.size; k++) {
        const msgpack_object *a = &actors->via.array.ptr[k];
        char name[S_CELL_MAX], state[S_CELL_MAX];
        int w;
        if (a->type == MSGPACK_OBJECT_MAP)
            w = snprintf(list + used, S_CELL_MAX - used, "%s%s:%s",
                         k ? "," : "", s_text(azo_mp_get(a, "name"), name),
                         s_text(azo_mp_get(a, "state"), state));
        else // a bare name
            w = snprintf(list + used, S_CELL_MAX - used, "%s%s", k ? "," : "",
                         s_text(a, name));
        if (w < 0 || (size_t)w >= S_CELL_MAX - used) {
            // Cut: end with an ellipsis at a character boundary.
            size_t end = S_CELL_MAX - 4;
            while (end > 0 && ((unsigned char)list[end] & 0xc0) == 0x80)
                end--;
            memcpy(list + end, "...", 4);
            return;
        }
        used += (size_t)w;
    }
}

// nodes: a line about the node asked (and, on an agent, its supervisor),
// then one row per node of the cluster.
static int
s_cmd_nodes(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)cmd;
    (void)argc;
    (void)argv;
    const msgpack_object *res;
    int rc = s_fetch(c, "nodes", NULL, 0, &res);
    if (!res)
        return rc;
    const msgpack_object *nodes = azo_mp_get(res, "nodes");
    if (!nodes || nodes->type != MSGPACK_OBJECT_ARRAY ||
        nodes->via.array.size == 0)
        return s_malformed("nodes", "'nodes' must be a non-empty array");
    // Check every row before printing anything.
    for (uint32_t i = 0; i < nodes->via.array.size; i++) {
        const msgpack_object *name =
            azo_mp_get(&nodes->via.array.ptr[i], "name");
        if (!name || name->type != MSGPACK_OBJECT_STR)
            return s_malformed("nodes", "each node needs a string 'name'");
    }
    // The first node is the one that answered.
    const msgpack_object *self = &nodes->via.array.ptr[0];
    const msgpack_object *sup_state = azo_mp_get(self, "supervisor_state");
    char b[8][S_CELL_MAX];
    int64_t ms = -1;
    printf("%s %s", s_text(azo_mp_get(self, "role"), b[0]),
           s_text(azo_mp_get(self, "name"), b[1]));
    if (sup_state) { // an agent: its supervisor, as it sees it
        char ago[2 * S_CELL_MAX] = "";
        if (azo_mp_int(azo_mp_get(self, "last_heartbeat_ms"), &ms) == 0 &&
            ms >= 0)
            snprintf(ago, sizeof ago, ", heard %s ago",
                     s_human_ms_int(ms, b[4]));
        printf("  supervisor %s (%s%s)",
               s_text(azo_mp_get(self, "supervisor"), b[2]),
               s_text(sup_state, b[3]), ago);
    }
    printf("  heartbeat %s  liveness %s\n\n",
           s_human_ms(azo_mp_get(res, "heartbeat_ms"), b[5]),
           s_text(azo_mp_get(res, "liveness"), b[6]));

    s_table_t t = {.ncols = 7};
    static const char *const head[] = {"NAME",    "ROLE",  "STATE", "ADDRESS",
                                       "LAST HB", "STALE", "ACTORS"};
    rc = s_table_add(&t, head);
    for (uint32_t i = 0; rc == 0 && i < nodes->via.array.size; i++) {
        const msgpack_object *n = &nodes->via.array.ptr[i];
        char list[S_CELL_MAX];
        s_node_actors(azo_mp_get(n, "actors"), list);
        // The node that answered hears from no one on its own row; a node
        // never heard from has -1.
        bool heard = i > 0 &&
                     azo_mp_int(azo_mp_get(n, "last_heartbeat_ms"), &ms) == 0 &&
                     ms >= 0;
        const char *row[7] = {s_text(azo_mp_get(n, "name"), b[0]),
                              s_text(azo_mp_get(n, "role"), b[1]),
                              s_text(azo_mp_get(n, "state"), b[2]),
                              s_text(azo_mp_get(n, "address"), b[3]),
                              heard ? s_human_ms_int(ms, b[4]) : "-",
                              s_text(azo_mp_get(n, "stale"), b[5]),
                              list};
        rc = s_table_add(&t, row);
    }
    return s_table_end(&t, rc);
}

// move NAME NODE: actor.move, answered once the actor runs there.
static int
s_cmd_move(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)argc;
    if (!s_utf8_ok(argv[0]) || !s_utf8_ok(argv[1]))
        return s_usage_error("move: the names must be valid UTF-8");
    // The old instance stops first (up to its shutdown time), then the new
    // node starts it: wait past the node's own request time-out (10 s by
    // default), so that its answer is the one shown.
    if (!c->opts->has_timeout && c->timeout_ms < S_MOVE_TIMEOUT_MS)
        c->timeout_ms = S_MOVE_TIMEOUT_MS;
    msgpack_sbuffer args;
    msgpack_sbuffer_init(&args);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    azo_pack_kstr(&pk, "name", argv[0]);
    azo_pack_kstr(&pk, "node", argv[1]);
    const msgpack_object *res;
    int rc = s_fetch(c, cmd->wire, args.data, args.size, &res);
    msgpack_sbuffer_destroy(&args);
    if (!res)
        return rc;
    return s_print_actor(cmd, res, true);
}

// Sends wire with the packed args and prints the result as JSON.
static int
s_call_print(s_client_t *c, const char *wire, const msgpack_sbuffer *args)
{
    int rc =
        s_client_call(c, wire, args ? args->data : NULL, args ? args->size : 0);
    if (rc != S_EXIT_OK)
        return rc;
    if (!c->rep.ok)
        return s_error_reply(c);
    return s_print_json(c->rep.result, !c->opts->json);
}

// Packs the arguments of `call` and `pay submit` (label, for messages):
// one '{...}' JSON object, or key=value pairs. Returns 0 or S_EXIT_USAGE
// after printing why.
static int
s_pack_call_args(msgpack_sbuffer *buf, int argc, char **argv, const char *label)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    if (argc == 1 && argv[0][0] == '{') {
        json_error_t jerr;
        json_t *j = json_loads(argv[0], JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
            return s_usage_error("%s: the arguments are not valid JSON: "
                                 "%s (column %d)",
                                 label, jerr.text, jerr.column);
        int rc = json_is_object(j) ? azo_json_to_mp(j, &pk) : AZO_EBADREQ;
        json_decref(j);
        if (rc < 0)
            return s_usage_error("%s: the arguments must be one JSON "
                                 "object nested at most %d deep",
                                 label, AZO_MP_MAX_DEPTH);
        return 0;
    }
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i])
            return s_usage_error("%s: expected KEY=VALUE or one JSON "
                                 "object, got '%s'",
                                 label, argv[i]);
        size_t klen = (size_t)(eq - argv[i]);
        for (int k = 0; k < i; k++)
            if (strncmp(argv[k], argv[i], klen + 1) == 0)
                return s_usage_error("%s: argument '%.*s' given twice", label,
                                     (int)klen, argv[i]);
    }
    msgpack_pack_map(&pk, (uint32_t)argc);
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        size_t klen = (size_t)(eq - argv[i]);
        if (!s_utf8_ok(argv[i]))
            return s_usage_error("%s: '%s' is not valid UTF-8", label, argv[i]);
        azo_pack_strn(&pk, argv[i], klen);
        if (azo_json_parse_arg(eq + 1, &pk) < 0)
            return s_usage_error("%s: the value of '%.*s' is nested "
                                 "deeper than %d",
                                 label, (int)klen, argv[i], AZO_MP_MAX_DEPTH);
    }
    return 0;
}

static int
s_cmd_call(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)cmd;
    const char *wire = argv[0];
    if (!azo_wire_cmd_ok(wire, strlen(wire)))
        return s_usage_error("call: '%s' is not a command name (1 to %d "
                             "characters a-z 0-9 . _ -)",
                             wire, AZO_WIRE_MAX_CMD);
    msgpack_sbuffer args;
    msgpack_sbuffer_init(&args);
    int rc = s_pack_call_args(&args, argc - 1, argv + 1, "call");
    if (rc == 0)
        rc = s_call_print(c, wire, &args);
    msgpack_sbuffer_destroy(&args);
    return rc;
}

// The forms that print the result as JSON: report, archive ... ->
// cmd->wire.
static int
s_cmd_thin(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    msgpack_sbuffer args;
    msgpack_sbuffer_init(&args);
    int rc = 0;
    if (argc > 0)
        rc = s_pack_one(&args, cmd->arg, argv[0]);
    if (rc == 0)
        rc = s_call_print(c, cmd->wire, argc > 0 ? &args : NULL);
    msgpack_sbuffer_destroy(&args);
    return rc;
}

// --- pay: the payment-recovery actor ---------------------------------------

// Digits after the decimal point of an ISO-4217 currency: 2 unless listed.
static int
s_minor_digits(const char *cur)
{
    static const char zero[] = "JPY KRW VND CLP ISK UGX XAF XOF XPF KMF GNF "
                               "PYG RWF VUV BIF DJF";
    static const char three[] = "BHD IQD JOD KWD LYD OMR TND";
    if (strlen(cur) != 3)
        return 2;
    for (size_t i = 0; i + 3 < sizeof zero; i += 4)
        if (memcmp(zero + i, cur, 3) == 0)
            return 0;
    for (size_t i = 0; i + 3 < sizeof three; i += 4)
        if (memcmp(three + i, cur, 3) == 0)
            return 3;
    return 2;
}

// Writes an amount in minor units as major units and its currency
// ("12.50 USD", "1250 JPY", "1.250 KWD") into buf (S_CELL_MAX bytes).
static const char *
s_money(const msgpack_object *amount, const msgpack_object *cur, char *buf)
{
    char code[S_CELL_MAX], raw[S_CELL_MAX];
    (void)s_text(cur, code);
    int64_t v;
    if (azo_mp_int(amount, &v) < 0) {
        snprintf(buf, S_CELL_MAX, "%.100s %.100s", s_text(amount, raw), code);
        return buf;
    }
    int digits = s_minor_digits(code);
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    const char *sign = v < 0 ? "-" : "";
    if (digits == 0)
        snprintf(buf, S_CELL_MAX, "%s%" PRIu64 " %.100s", sign, mag, code);
    else {
        uint64_t unit = digits == 3 ? 1000 : 100;
        snprintf(buf, S_CELL_MAX, "%s%" PRIu64 ".%0*" PRIu64 " %.100s", sign,
                 mag / unit, digits, mag % unit, code);
    }
    return buf;
}

static int64_t
s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Writes a wall-clock time in ms as UTC into buf (S_CELL_MAX bytes):
// "2024-05-01T12:00:00.123Z", or "12:00:00.123" when short and it falls on
// the same UTC day as now. "-" when absent or 0.
static const char *
s_utc(const msgpack_object *obj, bool short_today, int64_t now, char *buf)
{
    int64_t ms;
    if (azo_mp_int(obj, &ms) < 0 || ms <= 0)
        return "-";
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year > 9999 - 1900)
        return "?";
    int milli = (int)(ms % 1000);
    if (short_today && ms / 86400000 == now / 86400000)
        snprintf(buf, S_CELL_MAX, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min,
                 tm.tm_sec, milli);
    else
        snprintf(buf, S_CELL_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, milli);
    return buf;
}

static bool
s_has_str(const msgpack_object *obj)
{
    return obj && obj->type == MSGPACK_OBJECT_STR && obj->via.str.size > 0;
}

static bool
s_is_true(const msgpack_object *obj)
{
    return obj && obj->type == MSGPACK_OBJECT_BOOLEAN && obj->via.boolean;
}

// When a payment is next attempted, by the local clock: "now", a duration
// ("4s", rounded up from a second on), or "-" when none is planned (only
// pending and failed payments wait for one).
static const char *
s_pay_next(const msgpack_object *p, int64_t now, char *buf)
{
    const msgpack_object *st = azo_mp_get(p, "status");
    int64_t at;
    if (!(azo_mp_str_eq(st, "pending") || azo_mp_str_eq(st, "failed")) ||
        azo_mp_int(azo_mp_get(p, "next_attempt_ms"), &at) < 0 || at <= 0)
        return "-";
    if (at <= now)
        return "now";
    int64_t d = at - now;
    if (d >= 1000 && d < INT64_MAX - 999)
        d = (d + 999) / 1000 * 1000;
    return s_human_ms_int(d, buf);
}

// An error as a table cell: "code/http", "code", or "-" when there is none.
static const char *
s_err_cell(const msgpack_object *code, const msgpack_object *http, char *buf)
{
    char c[S_CELL_MAX];
    int64_t h = 0;
    if (!s_has_str(code))
        return "-";
    (void)s_text(code, c);
    if (azo_mp_int(http, &h) == 0 && h > 0)
        snprintf(buf, S_CELL_MAX, "%.200s/%" PRId64, c, h);
    else
        snprintf(buf, S_CELL_MAX, "%s", c);
    return buf;
}

// A payment's last error: "code (HTTP n): message", parts left out when
// unset; NULL when there is none.
static const char *
s_pay_error(const msgpack_object *p, char *buf)
{
    const msgpack_object *code = azo_mp_get(p, "error_code");
    const msgpack_object *msg = azo_mp_get(p, "error_message");
    if (!s_has_str(code))
        return NULL;
    char c[S_CELL_MAX], m[S_CELL_MAX], h[32] = "";
    int64_t http = 0;
    if (azo_mp_int(azo_mp_get(p, "error_http"), &http) == 0 && http > 0)
        snprintf(h, sizeof h, " (HTTP %" PRId64 ")", http);
    snprintf(buf, S_CELL_MAX, "%.60s%s%s%.120s%s", s_text(code, c), h,
             s_has_str(msg) ? ": " : "", s_has_str(msg) ? s_text(msg, m) : "",
             s_is_true(azo_mp_get(p, "error_unknown")) ? " (outcome unknown)"
                                                       : "");
    return buf;
}

// "key:" padded to one column, then the value.
static void
s_kv(const char *key, const char *value)
{
    printf("%s:%*s%s\n", key, (int)(17 - strlen(key)), "", value);
}

// Checks that p is a payment record or summary: a map with a string id.
static bool
s_pay_ok(const msgpack_object *p)
{
    return p && p->type == MSGPACK_OBJECT_MAP && s_has_str(azo_mp_get(p, "id"));
}

// Prints a payment record as aligned "key: value" lines.
static void
s_pay_record(const msgpack_object *p, int64_t now)
{
    char b[S_CELL_MAX], d[S_CELL_MAX], line[3 * S_CELL_MAX];
    s_kv("id", s_text(azo_mp_get(p, "id"), b));
    const msgpack_object *st = azo_mp_get(p, "status");
    snprintf(line, sizeof line, "%s%s", s_text(st, b),
             azo_mp_str_eq(st, "failed") &&
                     s_is_true(azo_mp_get(p, "await_method"))
                 ? " (awaiting a new payment method: pay requeue ID "
                   "--method M)"
                 : "");
    s_kv("status", line);
    s_kv("amount",
         s_money(azo_mp_get(p, "amount"), azo_mp_get(p, "currency"), b));
    s_kv("customer", s_text(azo_mp_get(p, "customer"), b));
    s_kv("method", s_text(azo_mp_get(p, "method"), b));
    if (s_has_str(azo_mp_get(p, "description")))
        s_kv("description", s_text(azo_mp_get(p, "description"), b));
    s_kv("idempotency key", s_text(azo_mp_get(p, "idempotency_key"), b));
    s_kv("attempts", s_text(azo_mp_get(p, "attempts"), b));
    const char *next = s_pay_next(p, now, b);
    if (strcmp(next, "-") == 0 || strcmp(next, "now") == 0)
        s_kv("next attempt", next);
    else {
        snprintf(line, sizeof line, "in %s (%s)", next,
                 s_utc(azo_mp_get(p, "next_attempt_ms"), false, now, d));
        s_kv("next attempt", line);
    }
    if (s_pay_error(p, b))
        s_kv("last error", b);
    if (s_has_str(azo_mp_get(p, "charge_id")))
        s_kv("charge id", s_text(azo_mp_get(p, "charge_id"), b));
    s_kv("created", s_utc(azo_mp_get(p, "created_ms"), false, now, b));
    s_kv("updated", s_utc(azo_mp_get(p, "updated_ms"), false, now, b));
}

// pay get ID: the record, then its audit trail as a table.
static int
s_cmd_pay_get(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)argc;
    const msgpack_object *res;
    int rc = s_fetch_arg(c, cmd, argv[0], &res);
    if (!res)
        return rc;
    const msgpack_object *p = azo_mp_get(res, "payment");
    const msgpack_object *trail = azo_mp_get(res, "trail");
    if (!s_pay_ok(p))
        return s_malformed(cmd->wire, "'payment' must be a map with a "
                                      "string 'id'");
    if (!trail || trail->type != MSGPACK_OBJECT_ARRAY)
        return s_malformed(cmd->wire, "'trail' must be an array");
    for (uint32_t i = 0; i < trail->via.array.size; i++)
        if (trail->via.array.ptr[i].type != MSGPACK_OBJECT_MAP)
            return s_malformed(cmd->wire, "each trail entry must be a map");
    int64_t now = s_wall_ms();
    s_pay_record(p, now);
    putchar('\n');
    if (trail->via.array.size == 0) {
        printf("(no trail)\n");
        return S_EXIT_OK;
    }
    s_table_t t = {.ncols = 7};
    static const char *const head[] = {
        "N", "TIME", "FROM -> TO", "ATTEMPT", "CAUSE", "ERROR", "SEQ"};
    rc = s_table_add(&t, head);
    char b[7][S_CELL_MAX], from[S_CELL_MAX], to[S_CELL_MAX];
    for (uint32_t i = 0; rc == 0 && i < trail->via.array.size; i++) {
        const msgpack_object *e = &trail->via.array.ptr[i];
        int64_t seq = 0;
        snprintf(b[2], S_CELL_MAX, "%.100s -> %.100s",
                 s_text(azo_mp_get(e, "from"), from),
                 s_text(azo_mp_get(e, "to"), to));
        bool has_seq = azo_mp_int(azo_mp_get(e, "seq"), &seq) == 0 && seq > 0;
        const char *row[7] = {
            s_text(azo_mp_get(e, "n"), b[0]),
            s_utc(azo_mp_get(e, "ts"), true, now, b[1]),
            b[2],
            s_text(azo_mp_get(e, "attempt"), b[3]),
            s_text(azo_mp_get(e, "cause"), b[4]),
            s_err_cell(azo_mp_get(e, "code"), azo_mp_get(e, "http"), b[5]),
            has_seq ? s_text(azo_mp_get(e, "seq"), b[6]) : "-",
        };
        rc = s_table_add(&t, row);
    }
    if (s_table_end(&t, rc) != S_EXIT_OK)
        return S_EXIT_ERROR;
    if (s_is_true(azo_mp_get(res, "trail_more")))
        printf("(only the first %" PRIu32 " entries of the trail)\n",
               trail->via.array.size);
    return S_EXIT_OK;
}

// --- pay list and pay events: every page -----------------------------------

typedef int(s_row_fn)(s_table_t *t, const msgpack_object *item, int64_t now);
static s_row_fn s_list_row;

// The pages of a pay.list or pay.events, gathered: rows of a table, or
// under --json one result whose array holds the entries of every page (the
// other keys are the last page's).
typedef struct {
    s_client_t *c; // borrowed
    const char *wire;
    const char *key; // the array of each result: "payments" or "events"
    s_row_fn *row;
    bool need_id;         // each entry must have a string 'id'
    int64_t now;          // wall clock, for relative times
    msgpack_sbuffer args; // owned: the next request's
    msgpack_packer pk;    // packs into args
    s_table_t table;
    json_t *all; // owned: --json, the gathered result
    long long shown;
} s_pages_t;

// Starts gathering; head is the table's header (ncols cells).
static int
s_pages_init(s_pages_t *pg, s_client_t *c, const s_cmd_t *cmd, const char *key,
             s_row_fn *row, const char *const *head, int ncols)
{
    *pg = (s_pages_t){.c = c,
                      .wire = cmd->wire,
                      .key = key,
                      .row = row,
                      .need_id = row == s_list_row,
                      .now = s_wall_ms(),
                      .table = {.ncols = ncols}};
    msgpack_sbuffer_init(&pg->args);
    msgpack_packer_init(&pg->pk, &pg->args, msgpack_sbuffer_write);
    if (!c->opts->json && s_table_add(&pg->table, head) < 0)
        return s_oom();
    return S_EXIT_OK;
}

static void
s_pages_fini(s_pages_t *pg)
{
    msgpack_sbuffer_destroy(&pg->args);
    s_table_fini(&pg->table);
    json_decref(pg->all);
    pg->all = NULL;
}

// The packer of the next request's args, emptied, opening a map of n.
static msgpack_packer *
s_pages_args(s_pages_t *pg, uint32_t n)
{
    msgpack_sbuffer_clear(&pg->args);
    msgpack_pack_map(&pg->pk, n);
    return &pg->pk;
}

// The rows the next page asks for: a full page, or what --limit leaves.
static int64_t
s_pages_limit(const s_pages_t *pg)
{
    const s_opts_t *o = pg->c->opts;
    if (!o->has_limit || o->limit - pg->shown >= S_PAY_PAGE)
        return S_PAY_PAGE;
    return o->limit - pg->shown;
}

// True when --limit rows are gathered.
static bool
s_pages_full(const s_pages_t *pg)
{
    return pg->c->opts->has_limit && pg->shown >= pg->c->opts->limit;
}

// Sends the args and adds the page that comes back (each entry must be a
// map). Returns S_EXIT_OK with the result in *res, or an exit code after
// printing why.
static int
s_pages_fetch(s_pages_t *pg, const msgpack_object **res)
{
    char what[128];
    int rc = s_call_map(pg->c, pg->wire, pg->args.data, pg->args.size, res);
    if (rc != S_EXIT_OK)
        return rc;
    const msgpack_object *list = azo_mp_get(*res, pg->key);
    if (!list || list->type != MSGPACK_OBJECT_ARRAY) {
        snprintf(what, sizeof what, "'%s' must be an array", pg->key);
        return s_malformed(pg->wire, what);
    }
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        const msgpack_object *e = &list->via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_MAP || (pg->need_id && !s_pay_ok(e))) {
            snprintf(what, sizeof what, "each entry of '%s' must be a map%s",
                     pg->key, pg->need_id ? " with a string 'id'" : "");
            return s_malformed(pg->wire, what);
        }
    }
    pg->shown += list->via.array.size;
    if (!pg->c->opts->json) {
        for (uint32_t i = 0; rc == 0 && i < list->via.array.size; i++)
            rc = pg->row(&pg->table, &list->via.array.ptr[i], pg->now);
        if (rc < 0)
            return s_oom();
        return S_EXIT_OK;
    }
    json_t *page = azo_json_from_mp(*res);
    if (!page)
        return s_malformed(pg->wire, "the result cannot be shown as JSON");
    if (!pg->all) {
        pg->all = page;
        return S_EXIT_OK;
    }
    json_t *entries = json_object_get(page, pg->key);
    rc = json_array_extend(json_object_get(pg->all, pg->key), entries);
    if (rc == 0)
        rc = json_object_del(page, pg->key);
    if (rc == 0)
        rc = json_object_update(pg->all, page);
    json_decref(page);
    if (rc < 0)
        return s_oom();
    return S_EXIT_OK;
}

// Unless rc says the gathering failed, prints the pages (none says "(no
// WHAT)"). Frees them. Returns rc, or the exit code of the printing.
static int
s_pages_end(s_pages_t *pg, int rc, const char *what)
{
    if (rc == S_EXIT_OK && pg->c->opts->json) {
        json_t *all = pg->all;
        pg->all = NULL;
        rc = s_emit_json(all, JSON_COMPACT);
    } else if (rc == S_EXIT_OK && pg->shown == 0)
        printf("(no %s)\n", what);
    else if (rc == S_EXIT_OK)
        rc = s_table_end(&pg->table, 0);
    s_pages_fini(pg);
    return rc;
}

// s_pages_end for a listing that stops at --limit: under --json the
// result's count is what was gathered; otherwise, when more follow, says
// so ("the first N UNIT"). Returns rc or the exit code of the printing.
static int
s_pages_end_listed(s_pages_t *pg, int rc, bool more, const char *what,
                   const char *unit)
{
    long long shown = pg->shown;
    bool json = pg->c->opts->json;
    if (rc == S_EXIT_OK && pg->all &&
        json_object_set_new(pg->all, "count", json_integer(shown)) < 0)
        rc = s_malformed(pg->wire, "the result cannot be shown as JSON");
    rc = s_pages_end(pg, rc, what);
    if (rc == S_EXIT_OK && more && !json)
        printf("(the first %lld %s: more follow, see --limit)\n", shown, unit);
    return rc;
}

static int
s_list_row(s_table_t *t, const msgpack_object *p, int64_t now)
{
    char b[6][S_CELL_MAX];
    const char *row[6] = {
        s_text(azo_mp_get(p, "id"), b[0]),
        s_text(azo_mp_get(p, "status"), b[1]),
        s_money(azo_mp_get(p, "amount"), azo_mp_get(p, "currency"), b[2]),
        s_text(azo_mp_get(p, "attempts"), b[3]),
        s_pay_next(p, now, b[4]),
        s_err_cell(azo_mp_get(p, "error_code"), NULL, b[5]),
    };
    return s_table_add(t, row);
}

// pay list [STATUS]: one row per payment, page after page.
static int
s_cmd_pay_list(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    const char *status = argc ? argv[0] : c->opts->status;
    if (argc && c->opts->status && strcmp(argv[0], c->opts->status) != 0)
        return s_usage_error("pay list: STATUS '%s' and --status '%s' differ",
                             argv[0], c->opts->status);
    if (status && !s_utf8_ok(status))
        return s_usage_error("pay list: '%s' is not valid UTF-8", status);
    static const char *const head[] = {"ID",       "STATUS", "AMOUNT",
                                       "ATTEMPTS", "NEXT",   "ERROR"};
    s_pages_t pg;
    int rc = s_pages_init(&pg, c, cmd, "payments", s_list_row, head, 6);
    char after[S_CELL_MAX] = "", was[S_CELL_MAX];
    bool more = false;
    while (rc == S_EXIT_OK) {
        msgpack_packer *pk =
            s_pages_args(&pg, 1 + (status != NULL) + (after[0] != 0));
        azo_pack_kint(pk, "limit", s_pages_limit(&pg));
        if (status)
            azo_pack_kstr(pk, "status", status);
        if (after[0])
            azo_pack_kstr(pk, "after", after);
        const msgpack_object *res;
        rc = s_pages_fetch(&pg, &res);
        more = rc == S_EXIT_OK && s_is_true(azo_mp_get(res, "more"));
        if (!more || s_pages_full(&pg))
            break;
        // Ids only grow from page to page: that bounds the loop.
        const msgpack_object *next = azo_mp_get(res, "next_after");
        if (!s_has_str(next) || next->via.str.size >= sizeof after ||
            memchr(next->via.str.ptr, 0, next->via.str.size)) {
            rc = s_malformed(cmd->wire, "'more' is true but 'next_after' is "
                                        "not a payment id");
            break;
        }
        memcpy(was, after, sizeof was);
        memcpy(after, next->via.str.ptr, next->via.str.size);
        after[next->via.str.size] = 0;
        if (strcmp(after, was) <= 0)
            rc = s_malformed(cmd->wire, "'next_after' does not advance");
    }
    return s_pages_end_listed(&pg, rc, more, "payments", "payments");
}

static int
s_event_row(s_table_t *t, const msgpack_object *e, int64_t now)
{
    char b[7][S_CELL_MAX];
    const char *row[7] = {
        s_text(azo_mp_get(e, "seq"), b[0]),
        s_utc(azo_mp_get(e, "ts"), true, now, b[1]),
        s_text(azo_mp_get(e, "topic"), b[2]),
        s_text(azo_mp_get(e, "id"), b[3]),
        s_text(azo_mp_get(e, "status"), b[4]),
        s_text(azo_mp_get(e, "attempt"), b[5]),
        s_err_cell(azo_mp_get(e, "code"), azo_mp_get(e, "http"), b[6]),
    };
    return s_table_add(t, row);
}

// pay events [SINCE]: the actor's event log after SINCE, page after page,
// up to the last event there was at the first answer.
static int
s_cmd_pay_events(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    long long since = 0;
    if (argc && !s_parse_ll(argv[0], 0, INT64_MAX, &since))
        return s_usage_error("pay events: SINCE must be an event sequence "
                             "number (0 or more), not '%s'",
                             argv[0]);
    static const char *const head[] = {"SEQ",    "TIME",    "TOPIC", "ID",
                                       "STATUS", "ATTEMPT", "ERROR"};
    s_pages_t pg;
    int rc = s_pages_init(&pg, c, cmd, "events", s_event_row, head, 7);
    int64_t end = -1, first = 0, last = 0;
    long long asked = since;
    bool gap = false;
    while (rc == S_EXIT_OK) {
        msgpack_packer *pk = s_pages_args(&pg, 2);
        azo_pack_kint(pk, "since", since);
        azo_pack_kint(pk, "limit", s_pages_limit(&pg));
        const msgpack_object *res;
        rc = s_pages_fetch(&pg, &res);
        if (rc != S_EXIT_OK)
            break;
        if (s_is_true(azo_mp_get(res, "gap")) && !gap) {
            gap = true;
            (void)azo_mp_int(azo_mp_get(res, "first"), &first);
        }
        if (end < 0 && azo_mp_int(azo_mp_get(res, "seq"), &end) < 0)
            end = INT64_MAX; // no bound known: the pages still advance
        if (!s_is_true(azo_mp_get(res, "more")) || s_pages_full(&pg))
            break;
        if (azo_mp_int(azo_mp_get(res, "last"), &last) < 0 || last <= since)
            rc = s_malformed(cmd->wire, "'more' is true but 'last' does not "
                                        "advance");
        else if (last >= end) // later events came after this command started
            break;
        since = last;
    }
    if (rc == S_EXIT_OK && gap) {
        fprintf(stderr,
                "azoctl: warning: the events after %lld and before %" PRId64
                " were pruned (the actor keeps the newest events_kept); pay "
                "list and pay get show the current state\n",
                asked, first);
        if (pg.all)
            (void)json_object_set_new(pg.all, "gap", json_true());
    }
    return s_pages_end(&pg, rc, "events");
}

// pay stats: counts per status, success rate, recovered amounts.
static int
s_cmd_pay_stats(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const msgpack_object *res;
    int rc = s_fetch(c, cmd->wire, NULL, 0, &res);
    if (!res)
        return rc;
    const msgpack_object *count = azo_mp_get(res, "count");
    const msgpack_object *amounts = azo_mp_get(res, "recovered_amount");
    if (!count || count->type != MSGPACK_OBJECT_MAP)
        return s_malformed(cmd->wire, "'count' must be a map");
    if (amounts && amounts->type != MSGPACK_OBJECT_MAP)
        return s_malformed(cmd->wire, "'recovered_amount' must be a map");
    static const char *const statuses[] = {"pending", "processing", "succeeded",
                                           "failed", "dead"};
    char b[S_CELL_MAX], line[1024];
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        s_kv(statuses[i], s_text(azo_mp_get(count, statuses[i]), b));
    s_kv("total", s_text(azo_mp_get(res, "total"), b));
    const msgpack_object *rate = azo_mp_get(res, "success_rate");
    int64_t irate;
    if (rate && (rate->type == MSGPACK_OBJECT_FLOAT32 ||
                 rate->type == MSGPACK_OBJECT_FLOAT64))
        snprintf(b, sizeof b, "%.1f%% (succeeded of succeeded + dead)",
                 100.0 * rate->via.f64);
    else if (azo_mp_int(rate, &irate) == 0)
        snprintf(b, sizeof b, "%" PRId64 "%% (succeeded of succeeded + dead)",
                 irate * 100);
    else
        snprintf(b, sizeof b, "-");
    s_kv("success rate", b);
    // "3: 12.50 USD, 1000 JPY", cut with "..." when very long.
    size_t used = (size_t)snprintf(line, sizeof line, "%s",
                                   s_text(azo_mp_get(res, "recovered"), b));
    uint32_t n = amounts ? amounts->via.map.size : 0;
    for (uint32_t i = 0; i < n && used < sizeof line; i++) {
        const msgpack_object_kv *kv = &amounts->via.map.ptr[i];
        int w = snprintf(line + used, sizeof line - used, "%s%s",
                         i ? ", " : ": ", s_money(&kv->val, &kv->key, b));
        if (w < 0 || (size_t)w >= sizeof line - used) {
            memcpy(line + sizeof line - 4, "...", 4);
            break;
        }
        used += (size_t)w;
    }
    s_kv("recovered", line);
    s_kv("in flight", s_text(azo_mp_get(res, "inflight"), b));
    s_kv("gateway", s_text(azo_mp_get(res, "gateway"), b));
    s_kv("last event seq", s_text(azo_mp_get(res, "last_seq"), b));
    return S_EXIT_OK;
}

// "next attempt now", "next attempt in 4s", or NULL when none is planned.
static const char *
s_next_phrase(const msgpack_object *p, int64_t now, char *buf)
{
    char d[S_CELL_MAX];
    const char *next = s_pay_next(p, now, d);
    if (strcmp(next, "-") == 0)
        return NULL;
    snprintf(buf, S_CELL_MAX, "next attempt %s%.200s",
             strcmp(next, "now") == 0 ? "" : "in ", next);
    return buf;
}

// pay retry ID: forces an attempt now; the node answers when it is over.
static int
s_cmd_pay_retry(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)argc;
    if (!c->opts->has_timeout && c->timeout_ms < S_PAY_RETRY_TIMEOUT_MS)
        c->timeout_ms = S_PAY_RETRY_TIMEOUT_MS;
    const msgpack_object *p;
    int rc = s_fetch_arg(c, cmd, argv[0], &p);
    if (rc == S_EXIT_NOREPLY && !zsys_interrupted)
        fprintf(stderr,
                "azoctl: the attempt may still be running: azoctl pay get "
                "%s shows how it ends\n",
                argv[0]);
    if (!p)
        return rc;
    const msgpack_object *st = azo_mp_get(p, "status");
    if (!s_pay_ok(p) || !s_has_str(st))
        return s_malformed(cmd->wire, "the result must be a payment with "
                                      "string 'id' and 'status'");
    char id[S_CELL_MAX], b[3][S_CELL_MAX];
    (void)s_text(azo_mp_get(p, "id"), id);
    const msgpack_object *code = azo_mp_get(p, "error_code");
    int64_t n = 0, http = 0;
    if (azo_mp_str_eq(st, "succeeded")) {
        (void)azo_mp_int(azo_mp_get(p, "attempts"), &n);
        printf("%s: succeeded (charge %s) after %" PRId64 " attempt%s\n", id,
               s_text(azo_mp_get(p, "charge_id"), b[0]), n, n == 1 ? "" : "s");
    } else if (azo_mp_str_eq(st, "failed")) {
        (void)s_text(s_has_str(code) ? code : NULL, b[0]);
        if (azo_mp_int(azo_mp_get(p, "error_http"), &http) == 0 && http > 0)
            snprintf(b[1], S_CELL_MAX, ", HTTP %" PRId64, http);
        else
            b[1][0] = 0;
        const char *next = s_next_phrase(p, s_wall_ms(), b[2]);
        if (s_is_true(azo_mp_get(p, "await_method")))
            next = "awaiting a new payment method (pay requeue ID --method M)";
        printf("%s: failed (%.100s%s)%s%s\n", id, b[0], b[1], next ? ", " : "",
               next ? next : "");
    } else if (azo_mp_str_eq(st, "dead"))
        printf("%s: dead (%s)\n", id,
               s_text(s_has_str(code) ? code : NULL, b[0]));
    else
        printf("%s: %s\n", id, s_text(st, b[0]));
    return S_EXIT_OK;
}

// pay requeue ID [--method M]: brings a dead payment (or one awaiting a
// new payment method) back, due now.
static int
s_cmd_pay_requeue(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)argc;
    const char *method = c->opts->method;
    if (!s_utf8_ok(argv[0]) || (method && !s_utf8_ok(method)))
        return s_usage_error("pay requeue: the id and the method must be "
                             "valid UTF-8");
    msgpack_sbuffer args;
    msgpack_sbuffer_init(&args);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, method ? 2 : 1);
    azo_pack_kstr(&pk, "id", argv[0]);
    if (method)
        azo_pack_kstr(&pk, "method", method);
    const msgpack_object *p;
    int rc = s_fetch(c, cmd->wire, args.data, args.size, &p);
    msgpack_sbuffer_destroy(&args);
    if (!p)
        return rc;
    if (!s_pay_ok(p))
        return s_malformed(cmd->wire, "the result must be a payment with a "
                                      "string 'id'");
    char b[4][S_CELL_MAX];
    const char *next = s_next_phrase(p, s_wall_ms(), b[2]);
    printf("%s requeued: %s, %s%s%s\n", s_text(azo_mp_get(p, "id"), b[0]),
           s_text(azo_mp_get(p, "status"), b[1]),
           next ? next : "no attempt planned",
           method ? " with new method " : "",
           method ? s_text(azo_mp_get(p, "method"), b[3]) : "");
    return S_EXIT_OK;
}

// --- pay submit --------------------------------------------------------------

// One answer of a batch: obj is {index, error} or {index, id, created,
// status}, its index over the whole input.
typedef struct {
    size_t index;
    json_t *obj; // owned
} s_result_t;

// The answers to `pay submit -` (or to payments=[...]), gathered.
typedef struct {
    long long created, duplicates, rejected;
    bool all;      // keep every answer (--json), not only the rejected
    s_result_t *v; // owned
    size_t n, cap;
} s_batch_t;

static void
s_batch_fini(s_batch_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        json_decref(b->v[i].obj);
    free(b->v);
    b->v = NULL;
    b->n = b->cap = 0;
}

// Counts one answer and keeps it if needed; obj is consumed. Returns
// S_EXIT_OK or S_EXIT_ERROR (out of memory, said so).
static int
s_batch_add(s_batch_t *b, size_t index, json_t *obj)
{
    bool bad = json_object_get(obj, "error") != NULL;
    if (bad)
        b->rejected++;
    else if (json_is_true(json_object_get(obj, "created")))
        b->created++;
    else
        b->duplicates++;
    if (!bad && !b->all) {
        json_decref(obj);
        return S_EXIT_OK;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        s_result_t *v = realloc(b->v, cap * sizeof *v);
        if (!v)
            goto oom;
        b->v = v;
        b->cap = cap;
    }
    if (json_object_set_new(obj, "index", json_integer((json_int_t)index)) < 0)
        goto oom;
    b->v[b->n++] = (s_result_t){index, obj};
    return S_EXIT_OK;
oom:
    json_decref(obj);
    return s_oom();
}

// A payment azoctl itself could not send.
static int
s_batch_reject(s_batch_t *b, size_t index, const char *why)
{
    json_t *obj = json_pack("{s:s}", "error", why);
    if (!obj)
        return s_oom();
    return s_batch_add(b, index, obj);
}

// Adds the answers of one batch reply to the k payments sent; at[i] is the
// input index of the i-th (NULL: i itself).
static int
s_batch_reply(s_batch_t *b, const msgpack_object *res, const size_t *at,
              size_t k)
{
    const msgpack_object *list = azo_mp_get(res, "results");
    if (!list || list->type != MSGPACK_OBJECT_ARRAY ||
        list->via.array.size != k)
        return s_malformed("pay.submit", "'results' must be an array with "
                                         "one entry per payment sent");
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        const msgpack_object *r = &list->via.array.ptr[i];
        const msgpack_object *err = azo_mp_get(r, "error");
        int64_t idx;
        if (azo_mp_int(azo_mp_get(r, "index"), &idx) < 0 || idx < 0 ||
            (uint64_t)idx >= k)
            return s_malformed("pay.submit", "each result needs the 'index' "
                                             "of a payment sent");
        if (err && err->type != MSGPACK_OBJECT_STR)
            return s_malformed("pay.submit", "an 'error' must be a string");
        json_t *obj = azo_json_from_mp(r);
        if (!obj)
            return s_malformed("pay.submit", "a result cannot be shown as "
                                             "JSON");
        int rc = s_batch_add(b, at ? at[idx] : (size_t)idx, obj);
        if (rc != S_EXIT_OK)
            return rc;
    }
    return S_EXIT_OK;
}

static int
s_result_cmp(const void *a, const void *b)
{
    size_t x = ((const s_result_t *)a)->index;
    size_t y = ((const s_result_t *)b)->index;
    return x < y ? -1 : x > y;
}

// Prints "N created, D duplicates, R rejected" and "#INDEX: ERROR" per
// rejected payment, or under --json one result like a batch reply's.
// Frees b. Returns S_EXIT_OK when none was rejected.
static int
s_batch_print(s_batch_t *b, bool json)
{
    if (b->n > 1) // b->v is NULL when nothing was kept
        qsort(b->v, b->n, sizeof *b->v, s_result_cmp);
    int rc = b->rejected ? S_EXIT_ERROR : S_EXIT_OK;
    if (json) {
        json_t *results = json_array();
        for (size_t i = 0; results && i < b->n; i++)
            if (json_array_append(results, b->v[i].obj) < 0) {
                json_decref(results);
                results = NULL;
            }
        json_t *j = results
                        ? json_pack("{s:I, s:I, s:I, s:o}", "created",
                                    (json_int_t)b->created, "duplicates",
                                    (json_int_t)b->duplicates, "rejected",
                                    (json_int_t)b->rejected, "results", results)
                        : NULL;
        s_batch_fini(b);
        if (!j)
            return s_oom();
        int jrc = s_emit_json(j, JSON_COMPACT);
        return jrc != S_EXIT_OK ? jrc : rc;
    }
    printf("%lld created, %lld duplicates, %lld rejected\n", b->created,
           b->duplicates, b->rejected);
    for (size_t i = 0; i < b->n; i++) {
        const char *err =
            json_string_value(json_object_get(b->v[i].obj, "error"));
        char clean[AZO_WIRE_MAX_ERRMSG + 1];
        if (!err)
            continue;
        s_clean(clean, sizeof clean, err, strlen(err));
        printf("#%zu: %s\n", b->v[i].index, clean);
    }
    s_batch_fini(b);
    return rc;
}

// Reads all of f, at most S_STDIN_MAX bytes. Returns S_EXIT_OK with *out
// (owned, NUL-terminated) and *len, or an exit code after printing why.
static int
s_read_all(FILE *f, char **out, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            return s_oom();
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (n > S_STDIN_MAX) {
            free(buf);
            return s_usage_error("the input holds more than %u MiB",
                                 S_STDIN_MAX >> 20);
        }
        if (got == 0 || n < cap - 1) {
            if (ferror(f)) {
                int e = errno;
                free(buf);
                fprintf(stderr, "azoctl: cannot read the input: %s\n",
                        strerror(e));
                return S_EXIT_ERROR;
            }
            if (feof(f))
                break;
            continue;
        }
        // Up to one byte more than allowed, to tell that it is too much.
        cap = cap < (S_STDIN_MAX + 2) / 2 ? 2 * cap : S_STDIN_MAX + 2;
        char *more = realloc(buf, cap);
        if (!more)
            free(buf);
        buf = more;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return S_EXIT_OK;
}

// Parses the payments of `pay submit -`: one JSON array of them, or one
// JSON value per line (blank lines skipped). Returns S_EXIT_OK with *out
// (an array, owned), or S_EXIT_USAGE after printing why.
static int
s_parse_payments(const char *buf, size_t len, json_t **out)
{
    json_error_t e;
    size_t p = 0;
    while (p < len && strchr(" \t\r\n", buf[p]) && buf[p])
        p++;
    if (p < len && buf[p] == '[') {
        json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e);
        if (!j)
            return s_usage_error("pay submit: standard input is not a valid "
                                 "JSON array: %s (line %d, column %d)",
                                 e.text, e.line, e.column);
        *out = j;
        return S_EXIT_OK;
    }
    json_t *all = json_array();
    int line = 0;
    for (size_t at = 0; all && at < len; line++) {
        const char *nl = memchr(buf + at, '\n', len - at);
        size_t a = at, z = nl ? (size_t)(nl - buf) : len;
        at = z + 1;
        while (a < z && buf[a] && strchr(" \t\r", buf[a]))
            a++;
        while (z > a && buf[z - 1] && strchr(" \t\r", buf[z - 1]))
            z--;
        if (a == z)
            continue;
        json_t *j = json_loadb(buf + a, z - a,
                               JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
        if (!j) {
            json_decref(all);
            return s_usage_error("pay submit: standard input, line %d: not "
                                 "valid JSON: %s (column %d)",
                                 line + 1, e.text, e.column);
        }
        if (json_array_append_new(all, j) < 0) {
            json_decref(all);
            all = NULL;
        }
    }
    if (!all)
        return s_oom();
    *out = all;
    return S_EXIT_OK;
}

// The objects j packs into (map keys included, as azo_mp_check counts
// them); *depth: its nesting in non-empty maps and arrays.
static size_t
s_json_size(json_t *j, int *depth)
{
    size_t n = 1;
    int deepest = 0, d;
    *depth = 0;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            n += 1 + s_json_size(v, &d);
            deepest = d > deepest ? d : deepest;
        }
        *depth = json_object_size(j) ? 1 + deepest : 0;
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
            n += s_json_size(v, &d);
            deepest = d > deepest ? d : deepest;
        }
        *depth = json_array_size(j) ? 1 + deepest : 0;
    }
    return n;
}

// Packs into body the next payments of items from *i on, as many as fit one
// pay.submit; at[] gets their input indexes. Payments that can never be
// sent are rejected in b. Returns how many were packed (0 at the end), or
// -1 when out of memory (said so).
static long
s_submit_chunk(json_t *items, size_t *i, msgpack_sbuffer *body, size_t *at,
               s_batch_t *b)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, body, msgpack_sbuffer_write);
    msgpack_sbuffer_clear(body);
    size_t k = 0, objects = 0;
    // The envelope, its args map and the payments array nest 3 deep.
    const int depth_max = AZO_MP_MAX_DEPTH - 3;
    while (*i < json_array_size(items) && k < S_PAY_PAGE) {
        json_t *item = json_array_get(items, *i);
        size_t before = body->size;
        int depth;
        size_t n = s_json_size(item, &depth);
        const char *why = NULL;
        if (depth > depth_max)
            why = "nested too deep to send";
        else if (n > S_SUBMIT_OBJECTS)
            why = "too large to send";
        else if (k > 0 && objects + n > S_SUBMIT_OBJECTS)
            break;
        else if (azo_json_to_mp(item, &pk) < 0)
            why = "nested too deep to send";
        else if (body->size > S_SUBMIT_BYTES) {
            body->size = before;
            if (k > 0)
                break;
            why = "too large to send";
        }
        if (why) {
            if (s_batch_reject(b, (*i)++, why) != S_EXIT_OK)
                return -1;
            continue;
        }
        objects += n;
        at[k++] = (*i)++;
    }
    return (long)k;
}

// Says which payments may not have been sent after a failed request.
static void
s_submit_stopped(size_t from)
{
    fprintf(stderr,
            "azoctl: pay submit: stopped; the payments from #%zu on may not "
            "be recorded (submitting them again is safe: a duplicate is "
            "answered, not inserted twice)\n",
            from);
}

// pay submit -: the payments on standard input, S_PAY_PAGE per request.
static int
s_pay_submit_stdin(s_client_t *c, const s_cmd_t *cmd)
{
    char *buf = NULL;
    size_t len = 0;
    json_t *items = NULL;
    int rc = s_read_all(stdin, &buf, &len);
    if (rc != S_EXIT_OK)
        return rc;
    rc = s_parse_payments(buf, len, &items);
    free(buf);
    if (rc != S_EXIT_OK)
        return rc;
    s_batch_t b = {.all = c->opts->json};
    size_t *at = malloc(S_PAY_PAGE * sizeof *at), i = 0;
    msgpack_sbuffer body, args;
    msgpack_sbuffer_init(&body);
    msgpack_sbuffer_init(&args);
    if (!at)
        rc = s_oom();
    while (rc == S_EXIT_OK) {
        long k = s_submit_chunk(items, &i, &body, at, &b);
        if (k <= 0) {
            rc = k < 0 ? S_EXIT_ERROR : S_EXIT_OK;
            break;
        }
        msgpack_sbuffer_clear(&args);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 1);
        azo_pack_str(&pk, "payments");
        msgpack_pack_array(&pk, (uint32_t)k);
        (void)msgpack_sbuffer_write(&args, body.data, body.size);
        rc = s_client_call(c, cmd->wire, args.data, args.size);
        if (rc == S_EXIT_OK && !c->rep.ok)
            rc = s_error_reply(c);
        else if (rc == S_EXIT_OK && c->rep.result->type != MSGPACK_OBJECT_MAP)
            rc = s_malformed(cmd->wire, "the result is not a map");
        else if (rc == S_EXIT_OK)
            rc = s_batch_reply(&b, c->rep.result, at, (size_t)k);
        if (rc != S_EXIT_OK)
            s_submit_stopped(at[0]);
    }
    free(at);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&args);
    json_decref(items);
    if (rc != S_EXIT_OK) {
        // What was answered before the failure.
        if (!c->opts->json && (b.created || b.duplicates || b.rejected))
            (void)s_batch_print(&b, false);
        s_batch_fini(&b);
        return rc;
    }
    return s_batch_print(&b, c->opts->json);
}

// pay submit KEY=VALUE... | '{JSON}' | -: records payments.
static int
s_cmd_pay_submit(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    if (argc == 1 && strcmp(argv[0], "-") == 0)
        return s_pay_submit_stdin(c, cmd);
    msgpack_sbuffer args;
    msgpack_sbuffer_init(&args);
    int rc = s_pack_call_args(&args, argc, argv, "pay submit");
    const msgpack_object *res = NULL;
    if (rc == 0)
        rc = s_fetch(c, cmd->wire, args.data, args.size, &res);
    msgpack_sbuffer_destroy(&args);
    if (!res)
        return rc;
    const msgpack_object *results = azo_mp_get(res, "results");
    if (results) { // payments=[...]: a batch
        s_batch_t b = {0};
        rc = s_batch_reply(&b, res, NULL,
                           results->type == MSGPACK_OBJECT_ARRAY
                               ? results->via.array.size
                               : 0);
        if (rc != S_EXIT_OK) {
            s_batch_fini(&b);
            return rc;
        }
        return s_batch_print(&b, false);
    }
    const msgpack_object *created = azo_mp_get(res, "created");
    const msgpack_object *p = azo_mp_get(res, "payment");
    if (!created || created->type != MSGPACK_OBJECT_BOOLEAN || !s_pay_ok(p))
        return s_malformed(cmd->wire, "'created' must be a boolean and "
                                      "'payment' a map with a string 'id'");
    char b[5][S_CELL_MAX];
    printf("%s %s: %s, %s, idempotency key %s\n",
           s_text(azo_mp_get(p, "id"), b[0]),
           created->via.boolean ? "created" : "exists (not inserted twice)",
           s_text(azo_mp_get(p, "status"), b[1]),
           s_money(azo_mp_get(p, "amount"), azo_mp_get(p, "currency"), b[2]),
           s_text(azo_mp_get(p, "idempotency_key"), b[3]));
    return S_EXIT_OK;
}

static int
s_archive_row(s_table_t *t, const msgpack_object *e, int64_t now)
{
    char b[7][S_CELL_MAX];
    const char *row[7] = {
        s_text(azo_mp_get(e, "id"), b[0]),
        s_utc(azo_mp_get(e, "ts"), true, now, b[1]),
        s_text(azo_mp_get(e, "job"), b[2]),
        s_text(azo_mp_get(e, "state"), b[3]),
        s_text(azo_mp_get(e, "size"), b[4]),
        s_text(azo_mp_get(e, "original"), b[5]),
        s_text(azo_mp_get(e, "path"), b[6]),
    };
    return s_table_add(t, row);
}

// archive list [JOB]: the catalog (of one job), oldest first, page after
// page.
static int
s_cmd_archive_list(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    const char *job = argc ? argv[0] : NULL;
    if (job && !s_utf8_ok(job))
        return s_usage_error("archive list: '%s' is not valid UTF-8", job);
    static const char *const head[] = {"ID",   "ARCHIVED", "JOB",    "STATE",
                                       "SIZE", "ORIGINAL", "ARCHIVE"};
    s_pages_t pg;
    int rc = s_pages_init(&pg, c, cmd, "files", s_archive_row, head, 7);
    int64_t after = 0;
    bool more = false;
    while (rc == S_EXIT_OK) {
        msgpack_packer *pk =
            s_pages_args(&pg, 1 + (job != NULL) + (after != 0));
        azo_pack_kint(pk, "limit", s_pages_limit(&pg));
        if (job)
            azo_pack_kstr(pk, "job", job);
        if (after)
            azo_pack_kint(pk, "after", after);
        const msgpack_object *res;
        rc = s_pages_fetch(&pg, &res);
        more = rc == S_EXIT_OK && s_is_true(azo_mp_get(res, "more"));
        if (!more || s_pages_full(&pg))
            break;
        // Ids only grow from page to page: that bounds the loop.
        int64_t next;
        if (azo_mp_int(azo_mp_get(res, "next_after"), &next) < 0 ||
            next <= after)
            rc = s_malformed(cmd->wire, "'more' is true but 'next_after' "
                                        "does not advance");
        after = next;
    }
    return s_pages_end_listed(&pg, rc, more, "archived files", "files");
}

// archive run [JOB] [--dry-run]: runs one archiver job (or all) and prints
// the result (files moved or, dry, what would move).
static int
s_cmd_archive_run(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    msgpack_sbuffer args;
    msgpack_sbuffer_init(&args);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, (uint32_t)(argc > 0) + 1);
    if (argc > 0)
        azo_pack_kstr(&pk, "job", argv[0]);
    azo_pack_kbool(&pk, "dry_run", c->opts->dry_run);
    int rc = s_call_print(c, cmd->wire, &args);
    msgpack_sbuffer_destroy(&args);
    return rc;
}

// --- mining ------------------------------------------------------------------

// A money figure per day, or "-".
static const char *
s_money_day(const msgpack_object *obj, char *buf)
{
    if (obj && (obj->type == MSGPACK_OBJECT_FLOAT64 ||
                obj->type == MSGPACK_OBJECT_FLOAT32))
        snprintf(buf, S_CELL_MAX, "%.2f", obj->via.f64);
    else
        s_text(obj, buf);
    return buf;
}

// Prints a mining report (a map) for people: the choice, the decision and
// the most profitable coins.
static int
s_print_report(const msgpack_object *r, int64_t now)
{
    char b[8][S_CELL_MAX];
    const msgpack_object *cur = azo_mp_get(r, "current"),
                         *best = azo_mp_get(r, "best"),
                         *dec = azo_mp_get(r, "decision");
    printf("mode:      %s", s_text(azo_mp_get(r, "mode"), b[0]));
    if (s_has_str(azo_mp_get(r, "reason")))
        printf(" (%s)", s_text(azo_mp_get(r, "reason"), b[0]));
    printf("\ncycle:     %s (%s) at %s, electricity %s/kWh\n",
           s_text(azo_mp_get(r, "cycle"), b[0]),
           s_text(azo_mp_get(r, "trigger"), b[1]),
           s_utc(azo_mp_get(r, "ts"), true, now, b[2]),
           s_text(azo_mp_get(r, "kwh_price"), b[3]));
    printf("current:   %s (%s) since %s, profit %s/day\n",
           s_has_str(azo_mp_get(cur, "symbol"))
               ? s_text(azo_mp_get(cur, "symbol"), b[0])
               : "idle",
           s_text(azo_mp_get(cur, "algorithm"), b[1]),
           s_utc(azo_mp_get(cur, "since"), true, now, b[2]),
           s_money_day(azo_mp_get(cur, "profit"), b[3]));
    if (best && best->type == MSGPACK_OBJECT_MAP)
        printf("best:      %s (%s), profit %s/day\n",
               s_text(azo_mp_get(best, "symbol"), b[0]),
               s_text(azo_mp_get(best, "algorithm"), b[1]),
               s_money_day(azo_mp_get(best, "profit"), b[2]));
    printf("decision:  %s%s",
           s_is_true(azo_mp_get(dec, "switched")) ? "switched, " : "",
           s_text(azo_mp_get(dec, "reason"), b[0]));
    int64_t streak = 0, left = 0;
    if (azo_mp_int(azo_mp_get(dec, "streak"), &streak) == 0 && streak > 0)
        printf(" (%lld in a row)", (long long)streak);
    if (azo_mp_int(azo_mp_get(dec, "dwell_left_ms"), &left) == 0 && left > 0)
        printf(" (dwell: %s left)", s_human_ms_int(left, b[1]));
    printf("\ncoins:     %s in the market, %s for the rig; switches: %s\n",
           s_text(azo_mp_get(r, "coins"), b[0]),
           s_text(azo_mp_get(r, "candidates"), b[1]),
           s_text(azo_mp_get(r, "switches"), b[2]));
    const msgpack_object *in = azo_mp_get(r, "inputs");
    printf("inputs:    %s ticks, %s rejected, %s held, %s files\n",
           s_text(azo_mp_get(in, "ticks"), b[0]),
           s_text(azo_mp_get(in, "rejected"), b[1]),
           s_text(azo_mp_get(in, "held"), b[2]),
           s_text(azo_mp_get(in, "files"), b[3]));
    const msgpack_object *errs = azo_mp_get(in, "errors");
    for (uint32_t i = 0;
         errs && errs->type == MSGPACK_OBJECT_ARRAY && i < errs->via.array.size;
         i++)
        printf("  input error: %s: %s\n",
               s_text(azo_mp_get(&errs->via.array.ptr[i], "source"), b[0]),
               s_text(azo_mp_get(&errs->via.array.ptr[i], "error"), b[1]));
    const msgpack_object *top = azo_mp_get(r, "top");
    if (!top || top->type != MSGPACK_OBJECT_ARRAY || !top->via.array.size)
        return S_EXIT_OK;
    s_table_t t = {.ncols = 7};
    static const char *const head[] = {"SYMBOL",  "ALGORITHM", "PRICE",
                                       "REVENUE", "POWER",     "PROFIT/DAY",
                                       "HELD"};
    int rc = s_table_add(&t, head);
    for (uint32_t i = 0; rc == 0 && i < top->via.array.size; i++) {
        const msgpack_object *c = &top->via.array.ptr[i];
        const char *row[7] = {
            s_text(azo_mp_get(c, "symbol"), b[0]),
            s_text(azo_mp_get(c, "algorithm"), b[1]),
            s_text(azo_mp_get(c, "price"), b[2]),
            s_money_day(azo_mp_get(c, "revenue"), b[3]),
            s_money_day(azo_mp_get(c, "power"), b[4]),
            s_money_day(azo_mp_get(c, "profit"), b[5]),
            s_text(azo_mp_get(c, "held"), b[6]),
        };
        rc = s_table_add(&t, row);
    }
    printf("\n");
    return s_table_end(&t, rc);
}

// mining report [--refresh]: the cached report keys (a new cycle when they
// expired), the report itself in full.
static int
s_cmd_mining_report(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    msgpack_sbuffer args;
    msgpack_sbuffer_init(&args);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    azo_pack_kbool(&pk, "refresh", c->opts->refresh);
    const msgpack_object *res;
    int rc = c->opts->json
                 ? s_call_print(c, cmd->wire, &args)
                 : s_call_map(c, cmd->wire, args.data, args.size, &res);
    msgpack_sbuffer_destroy(&args);
    if (rc != S_EXIT_OK || c->opts->json)
        return rc;
    int64_t now = s_wall_ms();
    const msgpack_object *keys = azo_mp_get(res, "keys");
    if (!keys || keys->type != MSGPACK_OBJECT_MAP)
        return s_malformed(cmd->wire, "'keys' must be a map");
    char b[3][S_CELL_MAX];
    int64_t in = 0;
    (void)azo_mp_int(azo_mp_get(res, "expires_in_ms"), &in);
    printf("%s, expires in %s\n",
           s_is_true(azo_mp_get(res, "cached")) ? "cached" : "computed now",
           s_human_ms_int(in > 0 ? in : 0, b[0]));
    const msgpack_object *report = NULL;
    s_table_t t = {.ncols = 3};
    static const char *const head[] = {"KEY", "VALUE", "EXPIRES IN"};
    rc = s_table_add(&t, head);
    for (uint32_t i = 0; rc == 0 && i < keys->via.map.size; i++) {
        const msgpack_object *k = &keys->via.map.ptr[i].key,
                             *v = &keys->via.map.ptr[i].val;
        const msgpack_object *val = azo_mp_get(v, "value");
        int64_t exp = 0;
        (void)azo_mp_int(azo_mp_get(v, "expires"), &exp);
        bool is_report = azo_mp_str_eq(k, "mining:optimization:report");
        if (is_report)
            report = val;
        const char *row[3] = {
            s_text(k, b[0]),
            is_report || (val && val->type == MSGPACK_OBJECT_MAP) ? "{...}"
            : (azo_mp_str_eq(k, "mining:optimization:timestamp") ||
               azo_mp_str_eq(k, "mining:optimization:last_run"))
                ? s_utc(val, false, now, b[1])
                : s_money_day(val, b[1]),
            s_human_ms_int(exp > now ? exp - now : 0, b[2]),
        };
        rc = s_table_add(&t, row);
    }
    rc = s_table_end(&t, rc);
    if (rc == S_EXIT_OK && report && report->type == MSGPACK_OBJECT_MAP) {
        printf("\n");
        rc = s_print_report(report, now);
    }
    return rc;
}

// mining optimize: a cycle now; its report.
static int
s_cmd_mining_optimize(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (c->opts->json)
        return s_call_print(c, cmd->wire, NULL);
    const msgpack_object *res;
    int rc = s_call_map(c, cmd->wire, NULL, 0, &res);
    return rc == S_EXIT_OK ? s_print_report(res, s_wall_ms()) : rc;
}

// Reads FILE ("-": standard input) whole. Returns S_EXIT_OK with *buf.
static int
s_read_path(const char *path, char **buf, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "azoctl: cannot open %s: %s\n", path, strerror(errno));
        return S_EXIT_ERROR;
    }
    int rc = s_read_all(f, buf, len);
    if (f != stdin)
        fclose(f); // read only
    return rc;
}

// mining market FILE: the ticks of a JSON file (an array, or {"ticks":
// [...]}) sent as mining.market; each rejected tick is named.
static int
s_cmd_mining_market(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)argc;
    char *text = NULL;
    size_t len = 0;
    int rc = s_read_path(argv[0], &text, &len);
    if (rc != S_EXIT_OK)
        return rc;
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);
    free(text);
    if (!j)
        return s_usage_error("mining market: %s: not JSON: %s (line %d)",
                             argv[0], je.text, je.line);
    json_t *ticks = json_is_object(j) ? json_object_get(j, "ticks") : j;
    msgpack_sbuffer args;
    msgpack_sbuffer_init(&args);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    azo_pack_str(&pk, "ticks");
    if (!json_is_array(ticks) || azo_json_to_mp(ticks, &pk) != 0) {
        json_decref(j);
        msgpack_sbuffer_destroy(&args);
        return s_usage_error("mining market: %s: expected an array of ticks "
                             "or {\"ticks\": [...]}",
                             argv[0]);
    }
    json_decref(j);
    const msgpack_object *res;
    rc = c->opts->json ? s_call_print(c, cmd->wire, &args)
                       : s_call_map(c, cmd->wire, args.data, args.size, &res);
    msgpack_sbuffer_destroy(&args);
    if (rc != S_EXIT_OK || c->opts->json)
        return rc;
    char b[6][S_CELL_MAX];
    printf("%s accepted, %s held, %s confirmed, %s dropped, %s rejected; "
           "%s coins\n",
           s_text(azo_mp_get(res, "accepted"), b[0]),
           s_text(azo_mp_get(res, "held"), b[1]),
           s_text(azo_mp_get(res, "confirmed"), b[2]),
           s_text(azo_mp_get(res, "dropped"), b[3]),
           s_text(azo_mp_get(res, "rejected"), b[4]),
           s_text(azo_mp_get(res, "coins"), b[5]));
    const msgpack_object *errs = azo_mp_get(res, "errors");
    for (uint32_t i = 0;
         errs && errs->type == MSGPACK_OBJECT_ARRAY && i < errs->via.array.size;
         i++)
        fprintf(stderr, "azoctl: rejected: %s\n",
                s_text(azo_mp_get(&errs->via.array.ptr[i], "error"), b[0]));
    int64_t rejected = 0;
    (void)azo_mp_int(azo_mp_get(res, "rejected"), &rejected);
    return rejected ? S_EXIT_ERROR : S_EXIT_OK;
}

// mining backtest FILE: a price history (CSV or JSON, by its extension or
// its first character) replayed by the actor with its settings.
static int
s_cmd_mining_backtest(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)argc;
    char *text = NULL;
    size_t len = 0;
    int rc = s_read_path(argv[0], &text, &len);
    if (rc != S_EXIT_OK)
        return rc;
    size_t n = strlen(argv[0]);
    size_t at = 0;
    while (at < len && strchr(" \t\r\n", text[at]))
        at++;
    bool json = (n > 5 && strcmp(argv[0] + n - 5, ".json") == 0) ||
                (at < len && (text[at] == '[' || text[at] == '{'));
    msgpack_sbuffer args;
    msgpack_sbuffer_init(&args);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    azo_pack_kstr(&pk, "format", json ? "json" : "csv");
    azo_pack_str(&pk, "history");
    azo_pack_strn(&pk, text, len);
    free(text);
    if (!c->opts->has_timeout && c->timeout_ms < S_BACKTEST_TIMEOUT_MS)
        c->timeout_ms = S_BACKTEST_TIMEOUT_MS;
    const msgpack_object *res;
    rc = c->opts->json ? s_call_print(c, cmd->wire, &args)
                       : s_call_map(c, cmd->wire, args.data, args.size, &res);
    msgpack_sbuffer_destroy(&args);
    if (rc != S_EXIT_OK || c->opts->json)
        return rc;
    const msgpack_object *st = azo_mp_get(res, "strategies");
    if (!st || st->type != MSGPACK_OBJECT_ARRAY)
        return s_malformed(cmd->wire, "'strategies' must be an array");
    char b[5][S_CELL_MAX];
    printf("%s steps, %s rows\n", s_text(azo_mp_get(res, "steps"), b[0]),
           s_text(azo_mp_get(res, "rows"), b[1]));
    s_table_t t = {.ncols = 5};
    static const char *const head[] = {"STRATEGY", "PROFIT", "SWITCHES", "IDLE",
                                       "MINED"};
    rc = s_table_add(&t, head);
    for (uint32_t i = 0; rc == 0 && i < st->via.array.size; i++) {
        const msgpack_object *x = &st->via.array.ptr[i];
        int64_t idle = 0, mined = 0;
        (void)azo_mp_int(azo_mp_get(x, "idle_ms"), &idle);
        (void)azo_mp_int(azo_mp_get(x, "mined_ms"), &mined);
        const char *row[5] = {
            s_text(azo_mp_get(x, "name"), b[0]),
            s_money_day(azo_mp_get(x, "profit"), b[1]),
            s_text(azo_mp_get(x, "switches"), b[2]),
            s_human_ms_int(idle, b[3]),
            s_human_ms_int(mined, b[4]),
        };
        rc = s_table_add(&t, row);
    }
    return s_table_end(&t, rc);
}

// keygen NAME: writes NAME (public) and NAME_secret (mode 0600). Talks to
// no node.
static int
s_cmd_keygen(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)cmd;
    (void)argc;
    char pub[AZO_SEC_KEYLEN + 1], err[PATH_MAX * 2 + 128];
    int rc = azo_sec_keygen(argv[0], pub, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "azoctl: keygen: %s\n", err);
        return rc == AZO_EBADREQ ? S_EXIT_USAGE : S_EXIT_ERROR;
    }
    if (c->opts->json) {
        json_t *j = json_pack("{s:s, s:s+, s:s}", "public", argv[0], "secret",
                              argv[0], "_secret", "public_key", pub);
        return j ? s_emit_json(j, JSON_COMPACT) : S_EXIT_ERROR;
    }
    printf("wrote %s (public: give it to the servers that allow this "
           "client)\n  and %s_secret (secret, mode 0600: keep it here)\n"
           "public key: %s\n",
           argv[0], argv[0], pub);
    return S_EXIT_OK;
}

// --- sub -------------------------------------------------------------------

// At most one warning per S_WARN_EVERY_MS; the rest are counted.
typedef struct {
    int64_t last_ms;
    unsigned long suppressed;
} s_warn_t;

static void s_warn(s_warn_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
s_warn(s_warn_t *w, const char *fmt, ...)
{
    int64_t now = s_mono_ms();
    if (w->last_ms && now - w->last_ms < S_WARN_EVERY_MS) {
        w->suppressed++;
        return;
    }
    w->last_ms = now;
    va_list ap;
    va_start(ap, fmt);
    fputs("azoctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (w->suppressed)
        fprintf(stderr, " (%lu more not shown)", w->suppressed);
    fputc('\n', stderr);
    w->suppressed = 0;
}

// The host part of a tcp endpoint: "tcp://HOST:PORT" -> HOST, [start,len).
static bool
s_tcp_host(const char *ep, const char **host, size_t *len)
{
    if (strncmp(ep, "tcp://", 6) != 0)
        return false;
    const char *h = ep + 6;
    const char *semi = strchr(h, ';'); // "tcp://source;host:port"
    if (semi)
        h = semi + 1;
    const char *colon = strrchr(h, ':');
    if (!colon)
        return false;
    *host = h;
    *len = (size_t)(colon - h);
    return true;
}

// Turns the events endpoint a node reports into one we can connect to: a
// wildcard host (bound on every interface) becomes the control endpoint's
// host, or loopback when the control endpoint is not tcp.
static int
s_events_connectable(const char *ev, const char *ctl, char *out, size_t outlen)
{
    const char *host, *chost = "127.0.0.1";
    size_t hlen, clen = strlen(chost);
    if (!s_tcp_host(ev, &host, &hlen) ||
        !((hlen == 1 && host[0] == '*') ||
          (hlen == 7 && memcmp(host, "0.0.0.0", 7) == 0) ||
          (hlen == 4 && memcmp(host, "[::]", 4) == 0))) {
        int n = snprintf(out, outlen, "%s", ev);
        return n >= 0 && (size_t)n < outlen ? 0 : -1;
    }
    const char *h2;
    size_t l2;
    if (s_tcp_host(ctl, &h2, &l2) && l2 > 0) {
        chost = h2;
        clen = l2;
    }
    int n =
        snprintf(out, outlen, "tcp://%.*s%s", (int)clen, chost, host + hlen);
    return n >= 0 && (size_t)n < outlen ? 0 : -1;
}

// Asks the node for its events endpoint (status: endpoints.events).
static int
s_discover_events(s_client_t *c, char *out, size_t outlen)
{
    const msgpack_object *res;
    int rc = s_call_map(c, "status", NULL, 0, &res);
    if (rc != S_EXIT_OK)
        return rc;
    const msgpack_object *ev =
        azo_mp_get(azo_mp_get(res, "endpoints"), "events");
    const char *s = azo_mp_strdup(ev, c->rep.zone);
    if (!s || !*s || strlen(s) >= S_ENDPOINT_MAX)
        return s_malformed("status", "'endpoints.events' must be an "
                                     "endpoint");
    if (s_events_connectable(s, c->opts->endpoint, out, outlen) < 0)
        return s_malformed("status", "'endpoints.events' is too long");
    return S_EXIT_OK;
}

// Prints one event as a JSON line: "topic" first, then the body's keys.
// Returns 0, -1 when it cannot be shown (warned), -2 when stdout failed.
static int
s_print_event(const azo_event_t *ev, s_warn_t *warn)
{
    char topic[AZO_WIRE_MAX_TOPIC + 1];
    s_clean(topic, sizeof topic, ev->topic, strlen(ev->topic));
    json_t *line = json_object();
    // set_new takes the string even on failure, and fails on NULL.
    if (!line ||
        json_object_set_new(line, "topic", json_string(ev->topic)) < 0) {
        json_decref(line);
        s_warn(warn, "skipped an event whose topic is not UTF-8");
        return -1;
    }
    const msgpack_object *body = &ev->root;
    for (uint32_t i = 0; i < body->via.map.size; i++) {
        const msgpack_object *k = &body->via.map.ptr[i].key;
        // A body key "topic" would hide the real topic; the frame wins.
        if (azo_mp_str_eq(k, "topic"))
            continue;
        json_t *v = azo_json_from_mp(&body->via.map.ptr[i].val);
        if (!v ||
            json_object_setn_new(line, k->via.str.size ? k->via.str.ptr : "",
                                 k->via.str.size, v) < 0) {
            json_decref(line);
            s_warn(warn, "skipped an event on %s: cannot convert it to JSON",
                   topic);
            return -1;
        }
    }
    int rc = json_dumpf(line, stdout, JSON_COMPACT);
    json_decref(line);
    if (rc < 0 || putchar('\n') == EOF || fflush(stdout) != 0)
        return -2;
    return 0;
}

// Receives one multipart message. Returns 1 with [topic][body] in t and b,
// 0 when nothing was waiting, -1 when it had another number of frames.
static int
s_sub_recv(void *raw, zmq_msg_t *t, zmq_msg_t *b, int *frames)
{
    if (zmq_msg_recv(t, raw, ZMQ_DONTWAIT) < 0)
        return 0;
    *frames = 1;
    bool more = zmq_msg_more(t);
    while (more) {
        zmq_msg_t *into = *frames == 1 ? b : NULL;
        zmq_msg_t extra;
        if (!into) {
            zmq_msg_init(&extra);
            into = &extra;
        }
        // Multipart messages arrive whole, so this cannot fail in practice.
        bool got = zmq_msg_recv(into, raw, ZMQ_DONTWAIT) >= 0;
        more = got && zmq_msg_more(into);
        *frames += got;
        if (into == &extra)
            zmq_msg_close(&extra);
    }
    return *frames == 2 ? 1 : -1;
}

static int
s_sub_loop(zsock_t *sock, const s_opts_t *opts)
{
    zpoller_t *poller = zpoller_new(sock, NULL);
    azo_event_t ev;
    if (!poller || azo_event_init(&ev) < 0) {
        zpoller_destroy(&poller);
        fprintf(stderr, "azoctl: out of memory\n");
        return S_EXIT_ERROR;
    }
    void *raw = zsock_resolve(sock);
    s_warn_t warn = {0};
    long long printed = 0;
    int rc = S_EXIT_OK;
    zmq_msg_t t, b;
    zmq_msg_init(&t);
    zmq_msg_init(&b);
    while (!zsys_interrupted && (!opts->count || printed < opts->count)) {
        if (!zpoller_wait(poller, S_SLICE_MS))
            continue; // a slice ended, or a signal: check the flag
        int frames, got;
        while (rc == S_EXIT_OK && (!opts->count || printed < opts->count) &&
               (got = s_sub_recv(raw, &t, &b, &frames)) != 0) {
            char why[256];
            if (got < 0)
                s_warn(&warn,
                       "skipped a message of %d frame%s (events have "
                       "two: topic, body)",
                       frames, frames == 1 ? "" : "s");
            else if (azo_event_decode(&ev, zmq_msg_data(&t), zmq_msg_size(&t),
                                      zmq_msg_data(&b), zmq_msg_size(&b), why,
                                      sizeof why) < 0)
                s_warn(&warn, "skipped a malformed event: %s", why);
            else {
                int prc = s_print_event(&ev, &warn);
                if (prc == 0)
                    printed++;
                else if (prc == -2) {
                    fprintf(stderr, "azoctl: cannot write to standard "
                                    "output\n");
                    rc = S_EXIT_ERROR;
                }
            }
            // Reset both frames: b is unset after a one-frame message.
            zmq_msg_close(&t);
            zmq_msg_close(&b);
            zmq_msg_init(&t);
            zmq_msg_init(&b);
        }
        if (rc != S_EXIT_OK)
            break;
    }
    if (warn.suppressed)
        fprintf(stderr, "azoctl: %lu more bad events skipped\n",
                warn.suppressed);
    zmq_msg_close(&t);
    zmq_msg_close(&b);
    azo_event_fini(&ev);
    zpoller_destroy(&poller);
    return rc; // Ctrl-C is the normal way out: still success
}

static int
s_cmd_sub(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)cmd;
    char found[S_ENDPOINT_MAX + 64];
    const char *events = c->opts->events;
    if (!events) {
        int rc = s_discover_events(c, found, sizeof found);
        if (rc != S_EXIT_OK)
            return rc;
        events = found;
    }
    zsock_t *sock = s_socket_open(ZMQ_SUB, events, c->opts);
    if (!sock)
        return S_EXIT_NOREPLY;
    if (argc == 0)
        zsock_set_subscribe(sock, "");
    for (int i = 0; i < argc; i++)
        zsock_set_subscribe(sock, argv[i]);
    int rc = s_sub_loop(sock, c->opts);
    zsock_destroy(&sock);
    return rc;
}

// --- the command table and main --------------------------------------------

static const s_cmd_t s_cmds[] = {
    {NULL, "ping", s_cmd_ping, NULL, NULL, 0, 0},
    {NULL, "status", s_cmd_status, NULL, NULL, 0, 0},
    {NULL, "start", s_cmd_actor, "actor.start", "name", 1, 1},
    {NULL, "stop", s_cmd_actor, "actor.stop", "name", 1, 1},
    {NULL, "restart", s_cmd_actor, "actor.restart", "name", 1, 1},
    {NULL, "shutdown", s_cmd_shutdown, NULL, NULL, 0, 0},
    {NULL, "nodes", s_cmd_nodes, NULL, NULL, 0, 0},
    {NULL, "move", s_cmd_move, "actor.move", NULL, 2, 2},
    {NULL, "call", s_cmd_call, NULL, NULL, 1, INT_MAX},
    {NULL, "sub", s_cmd_sub, NULL, NULL, 0, INT_MAX},
    {NULL, "keygen", s_cmd_keygen, NULL, NULL, 1, 1},
    {NULL, "jobs", s_cmd_jobs, "sched.list", NULL, 0, 0},
    {NULL, "run", s_cmd_job, "sched.run", "job", 1, 1},
    {NULL, "pause", s_cmd_job, "sched.pause", "job", 1, 1},
    {NULL, "resume", s_cmd_job, "sched.resume", "job", 1, 1},
    {NULL, "health", s_cmd_health, "health.status", NULL, 0, 2},
    {NULL, "report", s_cmd_mining_report, "mining.report", NULL, 0, 0},
    {"mining", "report", s_cmd_mining_report, "mining.report", NULL, 0, 0},
    {"mining", "optimize", s_cmd_mining_optimize, "mining.optimize", NULL, 0,
     0},
    {"mining", "market", s_cmd_mining_market, "mining.market", "file", 1, 1},
    {"mining", "backtest", s_cmd_mining_backtest, "mining.backtest", "file", 1,
     1},
    {"pay", "submit", s_cmd_pay_submit, "pay.submit", NULL, 1, INT_MAX},
    {"pay", "get", s_cmd_pay_get, "pay.get", "id", 1, 1},
    {"pay", "list", s_cmd_pay_list, "pay.list", "status", 0, 1},
    {"pay", "retry", s_cmd_pay_retry, "pay.retry", "id", 1, 1},
    {"pay", "requeue", s_cmd_pay_requeue, "pay.requeue", "id", 1, 1},
    {"pay", "stats", s_cmd_pay_stats, "pay.stats", NULL, 0, 0},
    {"pay", "events", s_cmd_pay_events, "pay.events", "since", 0, 1},
    {"archive", "run", s_cmd_archive_run, "archive.run", "job", 0, 1},
    {"archive", "list", s_cmd_archive_list, "archive.list", "job", 0, 1},
    {"archive", "restore", s_cmd_thin, "archive.restore", "id", 1, 1},
};
#define S_NCMDS (sizeof s_cmds / sizeof s_cmds[0])

static void
s_help(FILE *out)
{
    fprintf(
        out,
        "Usage: azoctl [OPTIONS] COMMAND [ARGS...]\n"
        "\n"
        "Sends one control command to an azo node (azod) and prints the\n"
        "answer, or follows the node's events.\n"
        "\n"
        "Node commands:\n"
        "  ping                     check that the node answers; print the "
        "round trip\n"
        "  status                   node summary, then one row per actor\n"
        "  start NAME               start an actor (actor.start)\n"
        "  stop NAME                stop an actor (actor.stop)\n"
        "  restart NAME             restart an actor (actor.restart)\n"
        "  shutdown                 stop the node and all its actors\n"
        "  nodes                    the nodes of the cluster, one row each: "
        "role,\n"
        "                           state, address, age of its last "
        "heartbeat (LAST\n"
        "                           HB), frames refused as stale, actors "
        "(name:state)\n"
        "  move NAME NODE           actor.move: run actor NAME on node NODE "
        "from now on\n"
        "                           (a new epoch); prints it once it runs "
        "there, or\n"
        "                           fails; waits up to %d s unless --timeout "
        "is given\n"
        "  call CMD [KEY=VALUE...]  send any command and print its result "
        "as JSON;\n"
        "                           a VALUE that parses as JSON is sent as "
        "that (5,\n"
        "                           5.5, true, null, \"5\", [1,2], {\"a\":1}), "
        "anything\n"
        "                           else as a string (abc, 6h)\n"
        "  call CMD '{JSON}'        send any command with a whole JSON args "
        "object\n"
        "  sub [TOPIC...]           print each event whose topic starts "
        "with a TOPIC\n"
        "                           (every event without one) as a JSON "
        "line:\n"
        "                           {\"topic\":..,\"v\":1,\"ts\":..,"
        "\"node\":..,\"src\":..,...}\n"
        "                           until Ctrl-C or --count events\n"
        "  keygen NAME              make a CURVE certificate: NAME (public "
        "key) and\n"
        "                           NAME_secret (both keys, mode 0600); "
        "never\n"
        "                           overwrites. Talks to no node\n"
        "\n"
        "Actor commands (shortcuts for call; JOB, ID and STATUS are sent as "
        "strings):\n"
        "  jobs                     sched.list: one row per scheduler job "
        "(next run,\n"
        "                           state, last result, runs, failed)\n"
        "  run JOB                  sched.run {\"job\": JOB}: run it now, "
        "outside its\n"
        "                           schedule (sched.set and the rest: use "
        "call)\n"
        "  pause JOB                sched.pause {\"job\": JOB}\n"
        "  resume JOB               sched.resume {\"job\": JOB}: next run at "
        "its next\n"
        "                           scheduled time, no catch-up\n"
        "  health                   health.status: the node (cpu, memory, "
        "load, disk),\n"
        "                           then one row per actor and probed "
        "target\n"
        "  health check [TARGET]    health.check: probe every target (or "
        "one) now;\n"
        "                           one line per result\n"
        "  mining report [--refresh]\n"
        "                           mining.report: the cached report keys "
        "and the\n"
        "                           report (a new cycle when they expired "
        "or with\n"
        "                           --refresh); 'report' is the same\n"
        "  mining optimize          mining.optimize: a cycle now, its "
        "report\n"
        "  mining market FILE       mining.market: the ticks of a JSON file "
        "(an array\n"
        "                           or {\"ticks\": [...]}; - for stdin); "
        "exit 1 if any\n"
        "                           is rejected\n"
        "  mining backtest FILE     mining.backtest: a price history (CSV or "
        "JSON)\n"
        "                           replayed with the actor's settings: "
        "profit,\n"
        "                           switches, idle time per strategy\n"
        "  pay submit KEY=VALUE...  pay.submit: record one payment (VALUEs as "
        "for call),\n"
        "                           e.g. id=p1 amount=1250 currency=USD "
        "customer=c1\n"
        "                           method=pm_card_visa (amount in minor "
        "units; add\n"
        "                           status=failed error='{\"code\":..}' to "
        "recover a\n"
        "                           failed one); says created, or exists "
        "(a known id\n"
        "                           is never inserted twice)\n"
        "  pay submit '{JSON}'      the same with one JSON object\n"
        "  pay submit -             the payments on standard input: one JSON "
        "array,\n"
        "                           or one JSON object per line; sent %d per "
        "request.\n"
        "                           Prints N created, D duplicates, R "
        "rejected, then\n"
        "                           #INDEX: ERROR per rejected one (INDEX "
        "counts the\n"
        "                           payments from 0); exit 1 if any was "
        "rejected\n"
        "  pay get ID               pay.get: the payment (amount in major "
        "units, times\n"
        "                           in UTC), then its audit trail: N, TIME, "
        "FROM -> TO,\n"
        "                           ATTEMPT, CAUSE, ERROR (code/HTTP "
        "status), SEQ\n"
        "  pay list [STATUS]        pay.list: one row per payment (ID, "
        "STATUS, AMOUNT,\n"
        "                           ATTEMPTS, NEXT, ERROR), every page; "
        "only those in\n"
        "                           STATUS (or --status): pending, "
        "processing,\n"
        "                           succeeded, failed, dead; --limit N: N "
        "rows at most\n"
        "  pay retry ID             pay.retry: attempt it now and print how "
        "it ended;\n"
        "                           waits up to %d s unless --timeout is "
        "given\n"
        "  pay requeue ID           pay.requeue: bring a dead payment (or "
        "one awaiting a\n"
        "                           new payment method) back, due now; "
        "--method M\n"
        "                           charges payment method M instead (with "
        "a new key)\n"
        "  pay stats                pay.stats: payments per status, success "
        "rate,\n"
        "                           recovered count and amounts, gateway "
        "calls in\n"
        "                           flight, the last event's sequence "
        "number\n"
        "  pay events [SINCE]       pay.events: the payment events after "
        "sequence number\n"
        "                           SINCE (default 0), every page, as a "
        "table (SEQ,\n"
        "                           TIME, TOPIC, ID, STATUS, ATTEMPT, "
        "ERROR); --limit N\n"
        "  archive run [JOB] [--dry-run]\n"
        "                           archive.run {\"job\": JOB, \"dry_run\": "
        "true}: one\n"
        "                           archiver job (none: all), or what it "
        "would do\n"
        "  archive list [JOB]       archive.list: the catalog (of JOB), "
        "oldest first,\n"
        "                           every page, as a table (ID, ARCHIVED, "
        "JOB,\n"
        "                           STATE, SIZE, ORIGINAL, ARCHIVE); --limit "
        "N\n"
        "  archive restore ID       archive.restore {\"id\": ID}\n"
        "\n"
        "Options (anywhere on the line; '--' ends them):\n"
        "  -e, --endpoint ENDPOINT  control endpoint (default: $AZO_ENDPOINT, "
        "else\n"
        "                           " S_DEFAULT_ENDPOINT ")\n"
        "      --events ENDPOINT    events endpoint for sub (default: "
        "$AZO_EVENTS,\n"
        "                           else asked of the node with status)\n"
        "  -j, --json               print JSON on one line instead of tables "
        "and\n"
        "                           text; with an error reply, print the "
        "whole reply\n"
        "  -t, --timeout MS         wait at most MS ms for each reply "
        "(default %d;\n"
        "                           pay retry: %d; move: %d)\n"
        "  -n, --count N            sub: exit after N events\n"
        "      --status S           pay list: only the payments in status "
        "S\n"
        "      --limit N            pay list, pay events, archive list: "
        "print N rows\n"
        "                           at most\n"
        "      --method M           pay requeue: charge payment method M "
        "instead\n"
        "      --refresh            mining report: compute a new report now\n"
        "      --dry-run            archive run: show what the job would do, "
        "change\n"
        "                           nothing\n"
        "      --cert FILE          use CURVE with this client certificate "
        "(NAME or\n"
        "                           NAME_secret, from keygen); needs "
        "--server-key\n"
        "      --server-key KEY     the node's public key: 40 Z85 characters, "
        "or\n"
        "                           a certificate file holding it (see "
        "status:\n"
        "                           security.public_key, or the node's "
        "server.cert)\n"
        "  -h, --help               show this help\n"
        "  -V, --version            show the version\n"
        "\n"
        "Environment:\n"
        "  AZO_ENDPOINT             control endpoint when -e is not given\n"
        "  AZO_EVENTS               events endpoint when --events is not "
        "given\n"
        "  AZO_CERT, AZO_SERVER_KEY --cert and --server-key when not given\n"
        "\n"
        "Exit status:\n"
        "  0  success\n"
        "  1  the node answered with an error, or its reply was malformed;\n"
        "     pay submit: a payment was rejected\n"
        "  2  bad usage\n"
        "  3  no reply within the time-out, interrupted, or cannot connect\n"
        "\n"
        "Examples:\n"
        "  azoctl status\n"
        "  azoctl -e ipc:///run/azo/ctl restart archiver\n"
        "  azoctl move mining-optimizer gamma\n"
        "  azoctl call mining.market ticks=5\n"
        "  azoctl call sched.set '{\"job\": \"backup\", \"every\": \"6h\"}'\n"
        "  azoctl pay submit - < payments.jsonl\n"
        "  azoctl pay list failed --limit 50\n"
        "  azoctl pay requeue p42 --method pm_card_visa\n"
        "  azoctl sub sup.actor. health. --count 10\n"
        "  azoctl keygen keys/ops\n"
        "  azoctl --cert keys/ops --server-key data/server.cert status\n",
        S_MOVE_TIMEOUT_MS / 1000, S_PAY_PAGE, S_PAY_RETRY_TIMEOUT_MS / 1000,
        S_DEFAULT_TIMEOUT_MS, S_PAY_RETRY_TIMEOUT_MS, S_MOVE_TIMEOUT_MS);
}

// Finds the command named by argv[0] (and argv[1] for two-word commands).
// Sets *words to the number of words used. Returns NULL after printing a
// usage error.
static const s_cmd_t *
s_find(int argc, char **argv, int *words)
{
    bool group = false;
    for (size_t i = 0; i < S_NCMDS; i++) {
        const s_cmd_t *cmd = &s_cmds[i];
        if (!cmd->group) {
            if (strcmp(cmd->name, argv[0]) == 0) {
                *words = 1;
                return cmd;
            }
            continue;
        }
        if (strcmp(cmd->group, argv[0]) != 0)
            continue;
        group = true;
        if (argc > 1 && strcmp(cmd->name, argv[1]) == 0) {
            *words = 2;
            return cmd;
        }
    }
    if (!group) {
        (void)s_usage_error("unknown command '%s'", argv[0]);
        return NULL;
    }
    char subs[128] = "";
    for (size_t i = 0; i < S_NCMDS; i++)
        if (s_cmds[i].group && strcmp(s_cmds[i].group, argv[0]) == 0) {
            size_t n = strlen(subs);
            snprintf(subs + n, sizeof subs - n, "%s%s", n ? ", " : "",
                     s_cmds[i].name);
        }
    if (argc > 1)
        (void)s_usage_error("%s: unknown subcommand '%s' (one of: %s)", argv[0],
                            argv[1], subs);
    else
        (void)s_usage_error("%s: a subcommand is needed (one of: %s)", argv[0],
                            subs);
    return NULL;
}

// Parses the options into opts. Returns -1 to go on with the command at
// argv[*first], or an exit code (help, version, usage error).
static int
s_parse(int argc, char **argv, s_opts_t *opts, int *first)
{
    enum {
        OPT_EVENTS = 256,
        OPT_CERT,
        OPT_SERVER_KEY,
        OPT_STATUS,
        OPT_LIMIT,
        OPT_METHOD,
        OPT_DRY_RUN,
        OPT_REFRESH
    };
    static const struct option longopts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"events", required_argument, NULL, OPT_EVENTS},
        {"cert", required_argument, NULL, OPT_CERT},
        {"server-key", required_argument, NULL, OPT_SERVER_KEY},
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"count", required_argument, NULL, 'n'},
        {"status", required_argument, NULL, OPT_STATUS},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"method", required_argument, NULL, OPT_METHOD},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"refresh", no_argument, NULL, OPT_REFRESH},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    long long v;
    int opt;
    opterr = 0; // our own messages, in our own format
    while ((opt = getopt_long(argc, argv, ":e:jt:n:hV", longopts, NULL)) !=
           -1) {
        switch (opt) {
        case 'e':
            if (!*optarg)
                return s_usage_error("-e: the endpoint is empty");
            opts->endpoint = optarg;
            break;
        case OPT_EVENTS:
            if (!*optarg)
                return s_usage_error("--events: the endpoint is empty");
            opts->events = optarg;
            break;
        case OPT_CERT:
            if (!*optarg)
                return s_usage_error("--cert: the file name is empty");
            opts->cert = optarg;
            break;
        case OPT_SERVER_KEY:
            if (!*optarg)
                return s_usage_error("--server-key: the key is empty");
            opts->server_key = optarg;
            break;
        case 'j':
            opts->json = true;
            break;
        case 't':
            if (!s_parse_ll(optarg, 1, S_MAX_TIMEOUT_MS, &v))
                return s_usage_error("--timeout: '%s' is not a number of "
                                     "milliseconds from 1 to %d",
                                     optarg, S_MAX_TIMEOUT_MS);
            opts->timeout_ms = (int)v;
            opts->has_timeout = true;
            break;
        case 'n':
        case OPT_LIMIT:
            if (!s_parse_ll(optarg, 1, LLONG_MAX, &v))
                return s_usage_error("--%s: '%s' is not a positive number",
                                     opt == 'n' ? "count" : "limit", optarg);
            if (opt == 'n') {
                opts->count = v;
                opts->has_count = true;
            } else {
                opts->limit = v;
                opts->has_limit = true;
            }
            break;
        case OPT_STATUS:
            if (!*optarg)
                return s_usage_error("--status: the status is empty");
            opts->status = optarg;
            break;
        case OPT_METHOD:
            if (!*optarg)
                return s_usage_error("--method: the method is empty");
            opts->method = optarg;
            break;
        case OPT_DRY_RUN:
            opts->dry_run = true;
            break;
        case OPT_REFRESH:
            opts->refresh = true;
            break;
        case 'h':
            s_help(stdout);
            return S_EXIT_OK;
        case 'V':
            printf("azoctl %s\n", AZO_VERSION);
            return S_EXIT_OK;
        case ':':
            return s_usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return s_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    *first = optind;
    return -1;
}

int
main(int argc, char **argv)
{
    s_opts_t opts = {.timeout_ms = S_DEFAULT_TIMEOUT_MS};
    int first = 0; // set by s_parse when it returns < 0
    int rc = s_parse(argc, argv, &opts, &first);
    if (rc >= 0)
        return rc;
    if (first >= argc)
        return s_usage_error("a command is needed");

    const char *env = getenv("AZO_ENDPOINT");
    if (!opts.endpoint)
        opts.endpoint = env && *env ? env : S_DEFAULT_ENDPOINT;
    env = getenv("AZO_EVENTS");
    if (!opts.events && env && *env)
        opts.events = env;
    env = getenv("AZO_CERT");
    if (!opts.cert && env && *env)
        opts.cert = env;
    env = getenv("AZO_SERVER_KEY");
    if (!opts.server_key && env && *env)
        opts.server_key = env;

    int words;
    const s_cmd_t *cmd = s_find(argc - first, argv + first, &words);
    if (!cmd)
        return S_EXIT_USAGE;
    int nargs = argc - first - words;
    char **args = argv + first + words;
    const char *label = cmd->group ? cmd->group : cmd->name;
    if (nargs < cmd->minargs)
        return s_usage_error("%s: missing argument", label);
    if (nargs > cmd->maxargs)
        return s_usage_error("%s: unexpected argument '%s'", label,
                             args[cmd->maxargs]);
    if (opts.has_count && cmd->fn != s_cmd_sub)
        return s_usage_error("--count applies to sub only");
    if (opts.status && cmd->fn != s_cmd_pay_list)
        return s_usage_error("--status applies to pay list only");
    if (opts.has_limit && cmd->fn != s_cmd_pay_list &&
        cmd->fn != s_cmd_pay_events && cmd->fn != s_cmd_archive_list)
        return s_usage_error("--limit applies to pay list, pay events and "
                             "archive list only");
    if (opts.method && cmd->fn != s_cmd_pay_requeue)
        return s_usage_error("--method applies to pay requeue only");
    if (opts.dry_run && cmd->fn != s_cmd_archive_run)
        return s_usage_error("--dry-run applies to archive run only");
    if (opts.refresh && cmd->fn != s_cmd_mining_report)
        return s_usage_error("--refresh applies to mining report only");
    if ((opts.cert != NULL) != (opts.server_key != NULL))
        return s_usage_error("CURVE needs both --cert and --server-key");
    if (opts.cert && cmd->fn != s_cmd_keygen) {
        char err[PATH_MAX * 2 + 128];
        if (azo_sec_client_load(&opts.curve_keys, opts.cert, opts.server_key,
                                err, sizeof err) < 0) {
            fprintf(stderr, "azoctl: %s\n", err);
            return S_EXIT_USAGE;
        }
        opts.curve = true;
    }

    s_client_t client;
    s_client_init(&client, &opts);
    rc = cmd->fn(&client, cmd, nargs, args);
    s_client_fini(&client);
    // A full disk or a closed pipe shows here at the latest.
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == S_EXIT_OK) {
        fprintf(stderr, "azoctl: cannot write to standard output\n");
        rc = S_EXIT_ERROR;
    }
    return rc;
}
