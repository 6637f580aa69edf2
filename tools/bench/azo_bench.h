// azo_bench — what the benchmarks share: a monotonic clock, statistics,
// option numbers, the raw msgpack-c envelopes of the baselines and a raw
// ROUTER server's scratch (no azo code, so that a baseline measures libzmq
// + msgpack-c and nothing of ours), temporary directories, the summary
// lines that tools/bench/run.sh collects, and the child processes of the
// benchmarks that start azod (spawn, signal, wait, logs; the start and the
// end of such a run). Stateless; any thread, except the _g setup.
// Benchmarks are not tests: nothing here asserts a target, it only
// measures and prints.
#ifndef AZO_BENCH_H
#define AZO_BENCH_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zmq.h>

// Nanoseconds on CLOCK_MONOTONIC.
int64_t azo_bench_now_ns(void);

// Sorts v[0..n) ascending, in place.
void azo_bench_sort(double *v, size_t n);

// Nearest-rank percentile q (0 < q <= 1) of sorted v[0..n), n > 0.
double azo_bench_pct(const double *sorted, size_t n, double q);

// Median and maximum of v[0..n), n > 0; v is sorted in place.
double azo_bench_median(double *v, size_t n);
double azo_bench_best(double *v, size_t n);

// The usual figures of v[0..n), sorted in place; zeros when n is 0. p50
// is the median (the mean of the middle two when n is even), p90 and p99
// nearest-rank percentiles.
typedef struct {
    double p50, p90, p99, min, max;
} azo_bench_stats_t;
azo_bench_stats_t azo_bench_stats(double *v, size_t n);

// Reads the whole number of option what from arg into *out. Returns false,
// with a message after prog on stderr, when arg is not one in [lo, hi].
bool azo_bench_arg_int(const char *prog, const char *what, const char *arg,
                       int lo, int hi, int *out);

// Packs a request head {"v":1,"id":id,"cmd":cmd,"args": with raw
// msgpack-c; the caller then packs exactly one object, the args map.
void azo_bench_pack_req_head(msgpack_packer *pk, uint64_t id, const char *cmd);

// Packs a request {"v":1,"id":id,"cmd":cmd,"args":{key:val}} with raw
// msgpack-c; key NULL packs "args":{}.
void azo_bench_pack_req(msgpack_packer *pk, uint64_t id, const char *cmd,
                        const char *key, int64_t val);

// Packs an ok reply's head {"v":1,"id":id,"ok":true,"result": with raw
// msgpack-c; the caller then packs exactly one object, the result.
void azo_bench_pack_rep_head(msgpack_packer *pk, uint64_t id);

// Packs an ok reply {"v":1,"id":id,"ok":true,"result":{key:val}}.
void azo_bench_pack_rep(msgpack_packer *pk, uint64_t id, const char *key,
                        int64_t val);

// What a receiver reads from an envelope: the top-level keys it knows and
// "n" inside args or result, "code" inside error. Strings point into the
// decoded buffer.
typedef struct {
    bool has_id;
    uint64_t id;
    const char *cmd; // borrowed, not NUL-terminated; NULL if absent
    size_t cmd_len;
    bool ok;
    bool has_n;
    int64_t n;
    const char *code; // borrowed, not NUL-terminated; NULL if absent
    size_t code_len;
} azo_bench_env_t;

// Decodes one envelope with msgpack_unpack_next into u (the caller inits
// and destroys it; reusing it across calls is cheap) and fills out.
// Returns 0, or -1 when data is not a msgpack map.
int azo_bench_unpack(msgpack_unpacked *u, const void *data, size_t len,
                     azo_bench_env_t *out);

// The value of key in map (a msgpack map; may be NULL), or NULL.
const msgpack_object *azo_bench_get(const msgpack_object *map, const char *key);

// Reads an integer object (may be NULL) into *out. Returns false (and
// leaves *out) when it is not one.
bool azo_bench_int(const msgpack_object *o, int64_t *out);

// A raw ROUTER server's scratch (no azo code): the frames of the last
// request, its envelope, and the reply being packed.
typedef struct {
    zmq_msg_t ident, body;
    msgpack_unpacked u;
    azo_bench_env_t env; // the last request's, strings in u
    msgpack_sbuffer sb;  // the reply: pack it into pk
    msgpack_packer pk;
} azo_bench_router_t;

void azo_bench_router_init(azo_bench_router_t *r);
void azo_bench_router_fini(azo_bench_router_t *r);

// Receives one request [ident][body] on sock (a ROUTER; blocking unless
// it has a receive time-out), decodes it into r->env and clears r->sb for
// the reply. Returns 0; 1 when the body is not an envelope (r->env
// zeroed); -1 when nothing came (errno: EAGAIN on time-out, EINTR).
int azo_bench_router_recv(azo_bench_router_t *r, void *sock);

// Sends r->sb to the sender of the last request. Returns 0 or -1 (errno).
int azo_bench_router_send(azo_bench_router_t *r, void *sock);

// Creates a private directory under $TMPDIR (or /tmp), short enough for
// ipc:// paths, and writes its path into buf. Returns 0 or -errno.
int azo_bench_tmpdir(char *buf, size_t len);

// Removes dir and everything below it; best effort.
void azo_bench_rmtree(const char *dir);

// Formats a rate ("1.63M/s") or a duration in microseconds ("85.2 us")
// into buf; returns buf.
const char *azo_bench_fmt_rate(char *buf, size_t len, double per_s);
const char *azo_bench_fmt_us(char *buf, size_t len, double us);

// Prints the machine's online CPUs and load averages (noise context).
void azo_bench_print_machine(void);

// Prints one row for run.sh's summary table on stdout:
// "@summary|metric|azo|baseline|ratio|target|met". ratio is azo/baseline;
// target and met may be "-".
void azo_bench_summary(const char *metric, const char *azo,
                       const char *baseline, double ratio, const char *target,
                       const char *met);

// The same row for figures in ms, formatted "1.25 ms" (3 decimals below
// 1 ms); base <= 0 gives ratio 0. target NULL: no target, met ignored.
void azo_bench_summary_ms(const char *metric, double azo_ms, double base_ms,
                          const char *target, bool met);

// --- child processes (benchmarks that start azod) -------------------------

typedef struct {
    pid_t pid; // 0 when none
    int pidfd; // -1 when none: readable once the process has ended
} azo_bench_child_t;

// Sets c to "no process".
void azo_bench_child_init(azo_bench_child_t *c);

// Starts path with argv; its stdout and stderr go to log (appended; NULL:
// inherited). The child gets deathsig if we die. Nothing here flushes
// stdio: it may run inside a timed window. Returns 0 or -errno.
int azo_bench_child_spawn(azo_bench_child_t *c, const char *path,
                          char *const argv[], const char *log, int deathsig);

// Makes c the child pid just started (its pidfd); when that fails, kills
// and reaps pid. Returns 0 or -errno.
int azo_bench_child_adopt(azo_bench_child_t *c, pid_t pid);

// Sends sig to c (through its pidfd: never to a reused pid). Returns 0 or
// -errno (-ESRCH when none).
int azo_bench_child_signal(azo_bench_child_t *c, int sig);

// True while c runs.
bool azo_bench_child_alive(const azo_bench_child_t *c);

// Waits up to wait_ms for c to end and reaps it (its wait status in
// *status, -1 when it was reaped elsewhere). Returns 0, or -ETIMEDOUT. Not
// cut short by SIGINT: cleanup paths rely on it.
int azo_bench_child_wait(azo_bench_child_t *c, int wait_ms, int *status);

// Last resort: SIGKILLs every process but us whose command line mentions
// text. Returns how many there were.
int azo_bench_kill_mentioning(const char *text);

// Prints the last `last` lines of the file at path on stderr.
void azo_bench_print_log(const char *path, int last);

// Writes "<dir of self>/../azod" (azod next to a benchmark built in
// tools/bench) into buf and returns buf.
const char *azo_bench_default_azod(const char *self, char *buf, size_t len);

// The start of a benchmark that runs azod, for prog (its name in
// messages and logs): *azod (NULL: ../azod next to this binary, written
// into buf) must be executable; SIGPIPE is ignored (a reader that goes
// away must not kill us before the cleanup), czmq set up (log to nowhere),
// the machine and azod printed, and a temp directory made into dir.
// Returns 0, or the exit code (1, or 2 for no azod) with the reason
// printed.
int azo_bench_setup_g(const char *prog, const char **azod, char *buf,
                      size_t len, char *dir, size_t dirlen);

// The end of every run: a process still mentioning dir (none is expected)
// is killed and named; dir is removed unless keep; SIGINT is reported.
// Returns false when there was such a process.
bool azo_bench_leave_dir(const char *prog, const char *dir, bool keep);

#endif
