// hc_probe — the health-checker's probe engine: many TCP, HTTP, exec and
// ZeroMQ probes in flight at once in ONE thread, none blocking the others.
// TCP probes of numeric addresses are non-blocking connect()s watched by an
// epoll set; TCP probes of host names and HTTP probes go through libcurl's
// multi interface (its asynchronous resolver), driven from the same epoll
// set; exec probes are posix_spawn()ed without a shell into their own
// process group, their output read from a non-blocking pipe and their end
// seen through a pidfd; ZeroMQ probes send `ping` from a DEALER and wait
// for the reply. The engine registers exactly one fd (its epoll set) and one
// timer (the earliest deadline) with the caller's zloop, plus one zloop
// reader per ZeroMQ probe in flight. Every probe ends exactly once, with a
// result or "timeout after N ms"; an exec probe past its deadline has its
// process group killed (SIGKILL) and reaped.
// Owner's thread only. Does not schedule probes: the caller decides when.
#ifndef HC_PROBE_H
#define HC_PROBE_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hc_probe hc_probe_t;

typedef enum {
    HC_PROBE_TCP,  // addr "host:port" or "[v6]:port": connect succeeds
    HC_PROBE_HTTP, // addr URL: GET answers 2xx/3xx (and holds expect)
    HC_PROBE_EXEC, // argv: exits with status 0
    HC_PROBE_ZMQ,  // addr endpoint of an azod control socket: ping ok
} hc_probe_kind_t;

typedef struct {
    hc_probe_kind_t kind;
    const char *addr;   // tcp, http, zmq; borrowed for the start call
    char *const *argv;  // exec: NULL-terminated, argv[0] a path; borrowed
    const char *expect; // http: body must contain it (NULL: any body)
    int64_t timeout_ms; // > 0
    size_t output_cap;  // exec/http: bytes of output kept (0: 4096)
    // zmq with CURVE (both or neither): the server's public key (Z85, 40
    // chars) and the client's certificate, loaded by the caller.
    const char *server_key;
    zcert_t *client_cert; // borrowed for the start call
} hc_probe_spec_t;

typedef struct {
    bool ok;
    bool timed_out;
    int64_t ms;         // from start to result
    int code;           // http status, exec exit status (-signal), else 0
    char detail[256];   // one line: "connected", "HTTP 200",
                        // "exit 1: <first output line>", "connect: ...",
                        // "timeout after 1000 ms", "expected text not found"
    const char *output; // exec: captured stdout+stderr (capped), http:
    size_t output_len;  // the start of the body; borrowed for the callback
} hc_result_t;

// Called exactly once per started probe, from the zloop, never from inside
// hc_probe_start. res is borrowed for the call. The callback may start and
// cancel probes (even its own id, which is then already finished).
typedef void(hc_probe_fn)(void *arg, uint64_t id, const hc_result_t *res);

// Returns an engine attached to loop (borrowed; it must outlive the
// engine), or NULL when out of memory or epoll/curl cannot be set up.
hc_probe_t *hc_probe_new(zloop_t *loop);

// Cancels every probe in flight (no callbacks; exec processes are killed
// and reaped), detaches from the loop and frees; *self_p becomes NULL.
void hc_probe_destroy(hc_probe_t **self_p);

// Starts one probe. On success returns 0 and sets *id (> 0, never reused);
// fn(arg, id, result) will be called later. Returns AZO_EBADREQ for a spec
// that cannot be probed (bad address, empty argv) with the reason in err,
// or -errno (out of fds, fork failed) with the reason in err; fn is then
// never called. err may be NULL.
int hc_probe_start(hc_probe_t *self, const hc_probe_spec_t *spec,
                   hc_probe_fn *fn, void *arg, uint64_t *id, char *err,
                   size_t errlen);

// Ends a probe in flight without calling its callback (exec: killed and
// reaped). Unknown or finished ids are ignored.
void hc_probe_cancel(hc_probe_t *self, uint64_t id);

// Probes in flight.
size_t hc_probe_inflight(const hc_probe_t *self);

// Checks addr for kind without probing (config check): 0, or AZO_EBADREQ
// with the reason in err.
int hc_probe_check_addr(hc_probe_kind_t kind, const char *addr, char *err,
                        size_t errlen);

#endif
