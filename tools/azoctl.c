// azoctl — the command-line client of azo (DESIGN.md "azoctl"): sends one
// control request over a DEALER socket and prints the reply as a table, a
// line or JSON, or follows the events endpoint with a SUB socket and prints
// one JSON line per event. Main thread only.
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
// Request ids stay below 2^53, so any JSON tool reads them exactly.
#define S_ID_MASK ((UINT64_C(1) << 53) - 1)

typedef struct {
    const char *endpoint; // borrowed: argv, environment or a literal
    const char *events;   // borrowed: argv or environment; NULL if not given
    bool json;
    int timeout_ms;
    long long count; // sub: events to print; 0 = until interrupted
    bool has_count;
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
            c->opts->endpoint, c->opts->timeout_ms,
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
    int64_t deadline = start / 1000 + c->opts->timeout_ms;
    // A DEALER queues while connecting, but blocks with no peer pipe at
    // all; the send time-out keeps even that bounded.
    zsock_set_sndtimeo(c->sock, c->opts->timeout_ms);
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

// start / stop / restart NAME.
static int
s_cmd_actor(s_client_t *c, const s_cmd_t *cmd, int argc, char **argv)
{
    (void)argc;
    const msgpack_object *res;
    int rc = s_fetch_arg(c, cmd, argv[0], &res);
    if (!res)
        return rc;
    const msgpack_object *name = azo_mp_get(res, "name");
    const msgpack_object *state = azo_mp_get(res, "state");
    if (!name || name->type != MSGPACK_OBJECT_STR || !state ||
        state->type != MSGPACK_OBJECT_STR)
        return s_malformed(cmd->wire, "'name' and 'state' must be strings");
    char b[4][S_CELL_MAX];
    printf("%s: %s (gen %s, restarts %s)\n", s_text(name, b[0]),
           s_text(state, b[1]), s_text(azo_mp_get(res, "gen"), b[2]),
           s_text(azo_mp_get(res, "restarts"), b[3]));
    return S_EXIT_OK;
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
    if (!nodes || nodes->type != MSGPACK_OBJECT_ARRAY)
        return s_malformed("nodes", "'nodes' must be an array");

    s_table_t t = {.ncols = 4};
    static const char *const head[] = {"NAME", "ROLE", "STATE", "ACTORS"};
    rc = s_table_add(&t, head);
    for (uint32_t i = 0; rc == 0 && i < nodes->via.array.size; i++) {
        const msgpack_object *n = &nodes->via.array.ptr[i];
        const msgpack_object *name = azo_mp_get(n, "name");
        const msgpack_object *actors = azo_mp_get(n, "actors");
        if (!name || name->type != MSGPACK_OBJECT_STR) {
            s_table_fini(&t);
            return s_malformed("nodes", "each node needs a string 'name'");
        }
        char b[3][S_CELL_MAX], list[S_CELL_MAX] = "-";
        if (actors && actors->type == MSGPACK_OBJECT_ARRAY &&
            actors->via.array.size > 0) {
            size_t used = 0;
            list[0] = 0;
            for (uint32_t k = 0; k < actors->via.array.size; k++) {
                char one[S_CELL_MAX];
                int w = snprintf(list + used, sizeof list - used, "%s%s",
                                 k ? "," : "",
                                 s_text(&actors->via.array.ptr[k], one));
                if (w < 0 || (size_t)w >= sizeof list - used) {
                    // Cut: end with an ellipsis at a character boundary.
                    size_t end = sizeof list - 4;
                    while (end > 0 && ((unsigned char)list[end] & 0xc0) == 0x80)
                        end--;
                    memcpy(list + end, "...", 4);
                    break;
                }
                used += (size_t)w;
            }
        }
        const char *row[4] = {s_text(name, b[0]),
                              s_text(azo_mp_get(n, "role"), b[1]),
                              s_text(azo_mp_get(n, "state"), b[2]), list};
        rc = s_table_add(&t, row);
    }
    if (s_table_end(&t, rc) != S_EXIT_OK)
        return S_EXIT_ERROR;
    return S_EXIT_OK;
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

// Packs the arguments of `call`: one '{...}' JSON object, or key=value
// pairs. Returns 0 or S_EXIT_USAGE after printing why.
static int
s_pack_call_args(msgpack_sbuffer *buf, int argc, char **argv)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    if (argc == 1 && argv[0][0] == '{') {
        json_error_t jerr;
        json_t *j = json_loads(argv[0], JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
            return s_usage_error("call: the arguments are not valid JSON: "
                                 "%s (column %d)",
                                 jerr.text, jerr.column);
        int rc = json_is_object(j) ? azo_json_to_mp(j, &pk) : AZO_EBADREQ;
        json_decref(j);
        if (rc < 0)
            return s_usage_error("call: the arguments must be one JSON "
                                 "object nested at most %d deep",
                                 AZO_MP_MAX_DEPTH);
        return 0;
    }
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i])
            return s_usage_error("call: expected KEY=VALUE or one JSON "
                                 "object, got '%s'",
                                 argv[i]);
        size_t klen = (size_t)(eq - argv[i]);
        for (int k = 0; k < i; k++)
            if (strncmp(argv[k], argv[i], klen + 1) == 0)
                return s_usage_error("call: argument '%.*s' given twice",
                                     (int)klen, argv[i]);
    }
    msgpack_pack_map(&pk, (uint32_t)argc);
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        size_t klen = (size_t)(eq - argv[i]);
        if (!s_utf8_ok(argv[i]))
            return s_usage_error("call: '%s' is not valid UTF-8", argv[i]);
        azo_pack_strn(&pk, argv[i], klen);
        if (azo_json_parse_arg(eq + 1, &pk) < 0)
            return s_usage_error("call: the value of '%.*s' is nested "
                                 "deeper than %d",
                                 (int)klen, argv[i], AZO_MP_MAX_DEPTH);
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
    int rc = s_pack_call_args(&args, argc - 1, argv + 1);
    if (rc == 0)
        rc = s_call_print(c, wire, &args);
    msgpack_sbuffer_destroy(&args);
    return rc;
}

// The friendly forms: jobs, run JOB, pay get ID, ... -> cmd->wire.
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
    {NULL, "call", s_cmd_call, NULL, NULL, 1, INT_MAX},
    {NULL, "sub", s_cmd_sub, NULL, NULL, 0, INT_MAX},
    {NULL, "keygen", s_cmd_keygen, NULL, NULL, 1, 1},
    {NULL, "jobs", s_cmd_jobs, "sched.list", NULL, 0, 0},
    {NULL, "run", s_cmd_job, "sched.run", "job", 1, 1},
    {NULL, "pause", s_cmd_job, "sched.pause", "job", 1, 1},
    {NULL, "resume", s_cmd_job, "sched.resume", "job", 1, 1},
    {NULL, "health", s_cmd_health, "health.status", NULL, 0, 2},
    {NULL, "report", s_cmd_thin, "mining.report", NULL, 0, 0},
    {"pay", "get", s_cmd_thin, "pay.get", "id", 1, 1},
    {"pay", "list", s_cmd_thin, "pay.list", "status", 0, 1},
    {"pay", "retry", s_cmd_thin, "pay.retry", "id", 1, 1},
    {"pay", "requeue", s_cmd_thin, "pay.requeue", "id", 1, 1},
    {"archive", "run", s_cmd_thin, "archive.run", "job", 1, 1},
    {"archive", "list", s_cmd_thin, "archive.list", NULL, 0, 0},
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
        "  nodes                    the nodes of the cluster\n"
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
        "  report                   mining.report\n"
        "  pay get ID               pay.get {\"id\": ID}\n"
        "  pay list [STATUS]        pay.list {\"status\": STATUS}\n"
        "  pay retry ID             pay.retry {\"id\": ID}\n"
        "  pay requeue ID           pay.requeue {\"id\": ID}\n"
        "  archive run JOB          archive.run {\"job\": JOB}\n"
        "  archive list             archive.list\n"
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
        "(default %d)\n"
        "  -n, --count N            sub: exit after N events\n"
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
        "  1  the node answered with an error, or its reply was malformed\n"
        "  2  bad usage\n"
        "  3  no reply within the time-out, interrupted, or cannot connect\n"
        "\n"
        "Examples:\n"
        "  azoctl status\n"
        "  azoctl -e ipc:///run/azo/ctl restart archiver\n"
        "  azoctl call mining.market ticks=5\n"
        "  azoctl call sched.set '{\"job\": \"backup\", \"every\": \"6h\"}'\n"
        "  azoctl sub sup.actor. health. --count 10\n"
        "  azoctl keygen keys/ops\n"
        "  azoctl --cert keys/ops --server-key data/server.cert status\n",
        S_DEFAULT_TIMEOUT_MS);
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
    enum { OPT_EVENTS = 256, OPT_CERT, OPT_SERVER_KEY };
    static const struct option longopts[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"events", required_argument, NULL, OPT_EVENTS},
        {"cert", required_argument, NULL, OPT_CERT},
        {"server-key", required_argument, NULL, OPT_SERVER_KEY},
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"count", required_argument, NULL, 'n'},
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
            break;
        case 'n':
            if (!s_parse_ll(optarg, 1, LLONG_MAX, &v))
                return s_usage_error("--count: '%s' is not a positive "
                                     "number",
                                     optarg);
            opts->count = v;
            opts->has_count = true;
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
