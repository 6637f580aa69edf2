// azo_bench_client — an azod under test and its control client, for the
// benchmarks that start one: the config's common head (node, endpoints in
// the benchmark's temp directory), the process, a DEALER on its control
// endpoint (requests packed and replies decoded with msgpack-c itself:
// azo's decoder refuses a message of more than AZO_MP_MAX_ITEMS objects,
// which a large reply may hold; round trips timed from the send to the
// reply's arrival), waiting for an actor to answer at start, and the stop.
// The client also talks to raw servers. One thread.
#ifndef AZO_BENCH_CLIENT_H
#define AZO_BENCH_CLIENT_H

#include "azo_bench.h"

#include <czmq.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

// A view type: the caller reads ok, result and message after a call.
typedef struct {
    zsock_t *sock; // owned: DEALER to azod's control endpoint
    msgpack_sbuffer sb;
    msgpack_packer pk;
    zmq_msg_t msg;
    msgpack_unpacked u;           // the last reply, valid until the next call
    bool ok;                      // its "ok"
    const msgpack_object *result; // its "result" (in u), NULL when none
    char message[160];            // !ok: its error message
    uint64_t last_id;
    bool ready; // sb, msg and u are initialised
} azo_bench_client_t;

// Opens c (the caller's storage) connected to endpoint; azod may bind
// later. Returns 0 or -errno; azo_bench_client_close must follow either
// way.
int azo_bench_client_open(azo_bench_client_t *c, const char *endpoint);

// Closes the socket and frees what c holds; c may be closed already.
void azo_bench_client_close(azo_bench_client_t *c);

// Starts a request of cmd: the caller packs exactly one object, the args
// map, into the returned packer (borrowed from c), then calls
// azo_bench_client_send.
msgpack_packer *azo_bench_client_req(azo_bench_client_t *c, const char *cmd);

// Sends the request packed since azo_bench_client_req and waits up to
// wait_ms for its reply, or until azod (may be NULL) ends. Returns 0 with
// the reply in c->ok, c->result, c->message and the round trip (send to
// arrival) in *rtt_ms (may be NULL), or -EAGAIN (not connected yet:
// nothing sent), -ETIMEDOUT, -ECHILD (azod ended), -EPROTO (not a reply),
// -EINTR (SIGINT).
int azo_bench_client_send(azo_bench_client_t *c, const azo_bench_child_t *azod,
                          int wait_ms, double *rtt_ms);

// A request of cmd with args {} (or {key: val} when key is given), as
// azo_bench_client_send.
int azo_bench_client_call(azo_bench_client_t *c, const char *cmd,
                          const char *key, const char *val,
                          const azo_bench_child_t *azod, int wait_ms,
                          double *rtt_ms);

// Sends cmd ({} or {key: val}) until azod answers it ok, for at most
// wait_ms: before the ipc connection is up nothing can be sent, and an
// actor that is starting answers "unavailable". Returns 0, or -ECHILD (azod
// ended), -EPROTO (not a reply), -ETIMEDOUT (the last reply, if any, in c),
// -EINTR.
int azo_bench_client_ready(azo_bench_client_t *c, const azo_bench_child_t *azod,
                           const char *cmd, const char *key, const char *val,
                           int wait_ms);

// An integer of the last reply's result, or -1 (also when it was not ok).
int64_t azo_bench_client_int(const azo_bench_client_t *c, const char *key);

// --- an azod under test ------------------------------------------------------

typedef struct {
    char cfg[192], log[192], ctl[192];
    azo_bench_child_t proc;
    azo_bench_client_t client;
} azo_bench_azod_t;

// Sets a's paths in dir: the config <dir>/<name>.cfg, the log
// <dir>/azod.log, the control endpoint ipc://<dir>/ctl; no process yet.
void azo_bench_azod_init(azo_bench_azod_t *a, const char *dir,
                         const char *name);

// Creates a's config and writes its head: comment (one line), the node
// (bench-<name>, data in <dir>/data), the endpoints (ipc in dir) and
// "actors"; the caller writes the actors, then azo_bench_azod_cfg_close.
// Returns the stream, or NULL (the reason printed after prog).
FILE *azo_bench_azod_cfg_open(const azo_bench_azod_t *a, const char *prog,
                              const char *dir, const char *name,
                              const char *comment);

// Closes a's config stream f. Returns 0, or -1 when a write failed (the
// reason printed after prog).
int azo_bench_azod_cfg_close(const azo_bench_azod_t *a, const char *prog,
                             FILE *f);

// Starts path on a's config (flushing our stdio first), its output
// appended to a's log, SIGTERM to it if we die, and opens a's client.
// Returns 0, or -1 (the reason printed after prog).
int azo_bench_azod_spawn(azo_bench_azod_t *a, const char *prog,
                         const char *path);

// Stops a's azod if it runs: the shutdown command over its client (when
// open), then SIGTERM, then SIGKILL, each given wait_ms; reaps it and
// closes the client. Returns 0 when it ended with exit status 0 (or never
// ran); else -1, with its wait status and the end of its log printed on
// stderr after prog.
int azo_bench_azod_stop(azo_bench_azod_t *a, const char *prog, int wait_ms);
#endif
