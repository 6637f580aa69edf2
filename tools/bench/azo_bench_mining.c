// azo_bench_mining — the benchmark of issue #9: "one optimisation cycle
// over 1,000 coins x 20 algorithms finishes in under 5 ms", measured on the
// mining-optimizer of a real azod, next to raw floors measured in the same
// run. Not a test: it asserts nothing.
//
// What runs:
// - azo: the built azod (--azod PATH, or ../azod next to this binary;
//   fork+exec) on a config this benchmark writes into a mkdtemp directory:
//   node/data_dir, the ipc:// endpoints and the log in that directory, and
//   an `actors` section holding the mining-optimizer alone, with a rig of
//   --algos (20) algorithms (real names, random hashrates and watts),
//   electricity at a flat price, a 1% pool fee, interval = 1h (no timer
//   cycle runs while measuring) and report_ttl = 24h. Once the actor
//   answers mining.cache, one mining.market carries --coins (1,000) ticks,
//   each coin on one of the rig's algorithms (seeded random: price,
//   block reward and time, and half of them with net_hashrate, half with
//   difficulty). Then a DEALER here sends `mining.optimize` one at a time:
//   the actor runs a whole cycle (profits, sort, the switching decision,
//   the report packed, its 5 cache keys written in one LMDB transaction
//   committed with fsync, mining.report published) and answers the report.
//   Recorded per cycle: the client's round trip (send to the reply's
//   arrival, before decoding) and the report's compute_us (the actor's own
//   time up to the packed report: no LMDB, no publish, no transport). Each
//   reply must be ok, mode "full", candidates == --coins (counted and
//   loudly reported when not).
// - Raw floors, in this process, each timed per round:
//   (a) zmq: a DEALER <-> ROUTER round trip over ipc to an echo thread
//       (libzmq + msgpack-c, no azo code), request as mining.optimize's,
//       reply padded to the size of azod's last report reply;
//   (b) LMDB: a write transaction of the 5 keys the actor caches (the
//       report's size, and 4 small values) committed with fsync, through
//       azo_store (MDB_NOTLS, a 1 GiB map: as azod opens its store) in the
//       same filesystem as azod's data;
//   (c) compute: the same coins in a mo_market of this process and the
//       same rig, mo_profit per coin, qsort by profit, mo_switch_eval: the
//       cycle's arithmetic with nothing of the actor around it.
// The four run in turn each round, after --warmup rounds that are not
// counted, so that the machine's noise (a shared machine) hits all alike.
//
// How to read it: ms at p50, p90, p99 and max. Target: the azod round
// trip median < 5 ms for 1,000 coins x 20 algorithms (an absolute
// target; the raw sum, zmq + LMDB + compute, is the floor next to it).
// "@summary" rows are for tools/bench/run.sh. azod is stopped (shutdown,
// then SIGTERM, then SIGKILL) and reaped on every path, SIGINT included;
// the echo thread is joined; at the end any process mentioning the temp
// directory is killed and reported, and the directory removed (--keep
// leaves it). A default run takes a few seconds. Options: --help.
#include "azo_bench.h"
#include "azo_bench_client.h"
#include "azo_err.h"
#include "azo_store.h"
#include "mo_calc.h"
#include "mo_market.h"
#include "mo_switch.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#define S_PROG      "azo_bench_mining"
#define S_TARGET_MS 5.0   // issue #9: one cycle, 1,000 coins x 20 algos
#define S_START_MS  30000 // azod's start, then give up
#define S_CALL_MS   30000 // one control round trip (mining.market: 1,000)
#define S_STOP_MS   10000 // azod's stop, then SIGTERM, then SIGKILL
#define S_ECHO_MS   5000  // one raw echo round trip
#define S_KWH       0.12  // electricity per kWh
#define S_POOL_FEE  0.01  // the pool's fee
#define S_IDLE_W    60    // the rig's idle watts
#define S_MAP_BYTES ((int64_t)1 << 30) // azod's default store/map_size
#define S_DB        "mining-optimizer"
#define S_NKEYS     5  // the cache keys one cycle writes
#define S_SMALL     40 // bytes of each small cache value

static const char *const s_algo_names[] = {
    "sha256",    "scrypt",    "etchash",    "kawpow",     "randomx", "equihash",
    "x11",       "blake3",    "kheavyhash", "autolykos2", "octopus", "firopow",
    "cuckatoo",  "eaglesong", "blake2s",    "lyra2rev3",  "x16r",    "progpow",
    "beamhash",  "verthash",  "ethash",     "x13",        "groestl", "quark",
    "neoscrypt", "yescrypt",  "argon2d",    "cnhalf",     "zhash",   "bcd",
    "keccak",    "skein"};
#define S_ALGOS_MAX (int)(sizeof s_algo_names / sizeof s_algo_names[0])

static const char *const s_keys[S_NKEYS] = {
    "mining:optimization:report", "mining:optimization:timestamp",
    "mining:optimization:total_profit", "mining:optimization:best_algorithm",
    "mining:optimization:last_run"};

// --- options -----------------------------------------------------------------

typedef struct {
    const char *azod;
    int rounds, warmup, coins, algos;
    unsigned seed;
    bool keep, verbose;
} s_opts_t;

static void
s_usage(FILE *out)
{
    fprintf(out,
            "Usage: azo_bench_mining [--azod PATH] [-n ROUNDS] [-w WARMUP] "
            "[--coins N]\n"
            "                        [--algos N] [--seed N] [--keep] [-v]\n"
            "\n"
            "One optimisation cycle (mining.optimize) of the mining-optimizer "
            "of a real azod\nover ipc, next to a raw zmq round trip, a raw "
            "LMDB commit and the bare\ncomputation measured in the same run "
            "(issue #9; target: median < 5 ms for\n1,000 coins x 20 "
            "algorithms).\n"
            "\n"
            "      --azod PATH     azod to start (default: ../azod next to "
            "this binary)\n"
            "  -n, --rounds N      measured rounds of each kind (300)\n"
            "  -w, --warmup N      rounds of each kind before, not counted "
            "(20)\n"
            "      --coins N       coins in the market (1000)\n"
            "      --algos N       algorithms of the rig (20, at most %d)\n"
            "      --seed N        the random market's seed (1)\n"
            "      --keep          keep the temp directory (config, log, "
            "data)\n"
            "  -v, --verbose       print azod's log at the end\n"
            "  -h, --help          this text\n",
            S_ALGOS_MAX);
}

// Returns 0 to run, 1 to exit 0 (--help), -1 to exit 2 (message printed).
static int
s_parse(int argc, char **argv, s_opts_t *o)
{
    enum { OPT_AZOD = 256, OPT_COINS, OPT_ALGOS, OPT_SEED, OPT_KEEP };
    static const struct option longs[] = {
        {"azod", required_argument, NULL, OPT_AZOD},
        {"rounds", required_argument, NULL, 'n'},
        {"warmup", required_argument, NULL, 'w'},
        {"coins", required_argument, NULL, OPT_COINS},
        {"algos", required_argument, NULL, OPT_ALGOS},
        {"seed", required_argument, NULL, OPT_SEED},
        {"keep", no_argument, NULL, OPT_KEEP},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (s_opts_t){
        .rounds = 300, .warmup = 20, .coins = 1000, .algos = 20, .seed = 1};
    bool good = true;
    int c, seed = 1;
    while (good && (c = getopt_long(argc, argv, "n:w:vh", longs, NULL)) != -1) {
        if (c == OPT_AZOD)
            o->azod = optarg;
        else if (c == 'n')
            good =
                azo_bench_arg_int(S_PROG, "-n", optarg, 1, 1000000, &o->rounds);
        else if (c == 'w')
            good =
                azo_bench_arg_int(S_PROG, "-w", optarg, 0, 1000000, &o->warmup);
        else if (c == OPT_COINS)
            good = azo_bench_arg_int(S_PROG, "--coins", optarg, 1, 50000,
                                     &o->coins);
        else if (c == OPT_ALGOS)
            good = azo_bench_arg_int(S_PROG, "--algos", optarg, 1, S_ALGOS_MAX,
                                     &o->algos);
        else if (c == OPT_SEED &&
                 (good = azo_bench_arg_int(S_PROG, "--seed", optarg, 0, INT_MAX,
                                           &seed)))
            o->seed = (unsigned)seed;
        else if (c == OPT_KEEP)
            o->keep = true;
        else if (c == 'v')
            o->verbose = true;
        else if (c == 'h') {
            s_usage(stdout);
            return 1;
        } else if (c == '?') {
            s_usage(stderr);
            return -1;
        }
    }
    if (good && optind < argc) {
        fprintf(stderr, S_PROG ": unexpected '%s' (try --help)\n",
                argv[optind]);
        good = false;
    }
    return good ? 0 : -1;
}

// --- the market --------------------------------------------------------------

typedef struct {
    mo_rig_t rig;
    char hashrate[S_ALGOS_MAX][32]; // as written into the config
    mo_coin_t *coins;               // owned: n
    int n;
} s_market_t;

// xorshift64*: a uniform double in [0, 1).
static double
s_rand(uint64_t *x)
{
    *x ^= *x >> 12, *x ^= *x << 25, *x ^= *x >> 27;
    return (double)((*x * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

// Log-uniform in [lo, hi).
static double
s_logu(uint64_t *x, double lo, double hi)
{
    return lo * pow(hi / lo, s_rand(x));
}

// The rig and the coins, from seed. Returns 0 or -ENOMEM.
static int
s_market_make(s_market_t *m, int algos, int coins, unsigned seed)
{
    static const double times[] = {10, 15, 30, 60, 120, 150, 600};
    uint64_t x = 0x9e3779b97f4a7c15ull ^ ((uint64_t)seed << 17 | 1);
    memset(m, 0, sizeof *m);
    m->rig.idle_watts = S_IDLE_W;
    m->rig.pool_fee = S_POOL_FEE;
    m->rig.kwh_price = S_KWH;
    for (int i = 0; i < algos; i++) {
        mo_algo_t *a = &m->rig.algos[i];
        snprintf(a->name, sizeof a->name, "%s", s_algo_names[i]);
        // From 10 MH/s to 200 TH/s, as written in the config: the actor
        // parses the same text.
        snprintf(m->hashrate[i], sizeof m->hashrate[i], "%.6g",
                 s_logu(&x, 1e7, 2e14));
        if (mo_parse_hashrate(m->hashrate[i], &a->hashrate) != 0)
            return -EINVAL;
        a->watts = 100 + 10 * floor(s_rand(&x) * 330); // 100..3390 W
    }
    m->rig.nalgos = (size_t)algos;
    m->coins = calloc((size_t)coins, sizeof *m->coins);
    if (!m->coins)
        return -ENOMEM;
    m->n = coins;
    for (int i = 0; i < coins; i++) {
        mo_coin_t *c = &m->coins[i];
        const mo_algo_t *a = &m->rig.algos[(int)(s_rand(&x) * algos)];
        snprintf(c->symbol, sizeof c->symbol, "C%04d", i);
        snprintf(c->algo, sizeof c->algo, "%s", a->name);
        c->price = s_logu(&x, 1e-4, 6e4);
        c->block_reward = s_logu(&x, 0.01, 5000);
        c->block_time = times[(int)(s_rand(&x) * 7)];
        // The rig holds between 1e-7 and 1e-2 of the network.
        double net = a->hashrate * s_logu(&x, 1e2, 1e7);
        if (i % 2)
            c->difficulty = net * c->block_time / 4294967296.0;
        else
            c->net_hashrate = net;
    }
    return 0;
}

static void
s_pack_kstr(msgpack_packer *pk, const char *k, const char *v)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
    msgpack_pack_str_with_body(pk, v, strlen(v));
}

static void
s_pack_kreal(msgpack_packer *pk, const char *k, double v)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
    msgpack_pack_double(pk, v);
}

// Packs {ticks: [...]} of every coin.
static void
s_market_pack(const s_market_t *m, msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    msgpack_pack_str_with_body(pk, "ticks", 5);
    msgpack_pack_array(pk, (size_t)m->n);
    for (int i = 0; i < m->n; i++) {
        const mo_coin_t *c = &m->coins[i];
        msgpack_pack_map(pk, 6);
        s_pack_kstr(pk, "symbol", c->symbol);
        s_pack_kstr(pk, "algorithm", c->algo);
        s_pack_kreal(pk, "price", c->price);
        s_pack_kreal(pk, "block_reward", c->block_reward);
        s_pack_kreal(pk, "block_time", c->block_time);
        if (c->difficulty > 0)
            s_pack_kreal(pk, "difficulty", c->difficulty);
        else
            s_pack_kreal(pk, "net_hashrate", c->net_hashrate);
    }
}

// --- azod under test ---------------------------------------------------------

typedef struct {
    azo_bench_azod_t az;
    double start_s; // from fork to the actor's first answer
} s_azod_t;

// Writes the config: the mining-optimizer alone, with m's rig. Returns 0
// or -1 (the reason printed).
static int
s_azod_write_cfg(const s_azod_t *a, const char *dir, const s_market_t *m)
{
    char comment[96];
    snprintf(comment, sizeof comment,
             S_PROG ": a rig of %zu algorithms; the mining-optimizer alone",
             m->rig.nalgos);
    FILE *f = azo_bench_azod_cfg_open(&a->az, S_PROG, dir, "mining", comment);
    if (!f)
        return -1;
    fprintf(f,
            "    mining-optimizer\n"
            "        mode = thread\n"
            "        interval = 1h\n"
            "        report_ttl = 24h\n"
            "        rig\n"
            "            idle_watts = %d\n"
            "            pool_fee = %g\n"
            "            algorithms\n",
            S_IDLE_W, S_POOL_FEE);
    for (size_t i = 0; i < m->rig.nalgos; i++)
        fprintf(f,
                "                %s\n"
                "                    hashrate = %s\n"
                "                    watts = %.0f\n",
                m->rig.algos[i].name, m->hashrate[i], m->rig.algos[i].watts);
    fprintf(f, "        electricity\n            price = %g\n", S_KWH);
    return azo_bench_azod_cfg_close(&a->az, S_PROG, f);
}

// Starts azod, waits until the actor answers, then sends the market.
// Returns 0 or -1 (reason and log printed).
static int
s_azod_start(s_azod_t *a, const char *azod, const char *dir,
             const s_market_t *m)
{
    azo_bench_azod_init(&a->az, dir, "mining");
    if (s_azod_write_cfg(a, dir, m) < 0)
        return -1;
    int64_t t0 = azo_bench_now_ns();
    if (azo_bench_azod_spawn(&a->az, S_PROG, azod) < 0)
        return -1;
    // mining.cache: answered from LMDB, no cycle run.
    int rc = azo_bench_client_ready(&a->az.client, &a->az.proc, "mining.cache",
                                    NULL, NULL, S_START_MS);
    a->start_s = (double)(azo_bench_now_ns() - t0) / 1e9;
    const char *why = rc == -ECHILD   ? "azod ended at start"
                      : rc == -EPROTO ? "azod sent something that is not a "
                                        "reply"
                                      : "azod did not answer mining.cache";
    if (rc == 0) {
        s_market_pack(m, azo_bench_client_req(&a->az.client, "mining.market"));
        rc = azo_bench_client_send(&a->az.client, &a->az.proc, S_CALL_MS, NULL);
        why = "mining.market failed";
    }
    if (rc == 0 && azo_bench_client_int(&a->az.client, "accepted") == m->n &&
        azo_bench_client_int(&a->az.client, "coins") == m->n)
        return 0;
    if (rc < 0 && !zsys_interrupted)
        fprintf(stderr, S_PROG ": %s: %s\n", why, strerror(-rc));
    else if (!zsys_interrupted)
        fprintf(stderr,
                S_PROG ": %s: %s (accepted %" PRId64 ", rejected %" PRId64
                       ", coins %" PRId64 " of %d)\n",
                why, a->az.client.ok ? "not all taken" : a->az.client.message,
                azo_bench_client_int(&a->az.client, "accepted"),
                azo_bench_client_int(&a->az.client, "rejected"),
                azo_bench_client_int(&a->az.client, "coins"), m->n);
    if (!zsys_interrupted)
        azo_bench_print_log(a->az.log, 30);
    return -1;
}

// One mining.optimize. Returns 0 (round trip in *rtt, compute_us in *cus,
// the reply's size in *size), 1 when the reply is not a full report of
// every coin (said on stdout), or -1 when no reply came.
static int
s_azo_cycle(s_azod_t *a, int coins, double *rtt, double *cus, size_t *size)
{
    msgpack_pack_map(azo_bench_client_req(&a->az.client, "mining.optimize"), 0);
    int rc = azo_bench_client_send(&a->az.client, &a->az.proc, S_CALL_MS, rtt);
    if (rc < 0 || !a->az.client.ok) {
        if (!zsys_interrupted)
            fprintf(stderr, S_PROG ": WARNING: mining.optimize: %s\n",
                    rc < 0 ? strerror(-rc) : a->az.client.message);
        return -1;
    }
    *size = zmq_msg_size(&a->az.client.msg);
    const msgpack_object *mode = azo_bench_get(a->az.client.result, "mode");
    int64_t cand = azo_bench_client_int(&a->az.client, "candidates");
    int64_t us = azo_bench_client_int(&a->az.client, "compute_us");
    *cus = (double)us / 1000.0;
    bool full = mode && mode->type == MSGPACK_OBJECT_STR &&
                mode->via.str.size == 4 &&
                !memcmp(mode->via.str.ptr, "full", 4);
    if (full && cand == coins && us >= 0)
        return 0;
    printf("  !!! WARNING: mining.optimize: mode %.*s, candidates %" PRId64
           " of %d, compute_us %" PRId64 "\n",
           mode && mode->type == MSGPACK_OBJECT_STR ? (int)mode->via.str.size
                                                    : 1,
           mode && mode->type == MSGPACK_OBJECT_STR ? mode->via.str.ptr : "?",
           cand, coins, us);
    return 1;
}

// --- (a) raw zmq: an echo thread
// -----------------------------------------------

typedef struct {
    char ep[192];
    size_t reply_bytes; // each reply is padded to this size
    zsock_t *sock;      // owned: ROUTER, bound before the thread starts
    pthread_t thread;
    bool running;
    atomic_bool stop;
} s_echo_t;

// Answers each request {id, ...} with {v, id, ok, result: {pad: BIN}}
// of reply_bytes.
static void *
s_echo_main(void *arg)
{
    s_echo_t *e = arg;
    void *raw = zsock_resolve(e->sock);
    azo_bench_router_t r;
    azo_bench_router_init(&r);
    char *pad = calloc(1, e->reply_bytes);
    while (pad && !atomic_load(&e->stop)) {
        if (azo_bench_router_recv(&r, raw) != 0)
            continue; // the receive time-out (stop is looked at), or junk
        azo_bench_pack_rep_head(&r.pk, r.env.id);
        msgpack_pack_map(&r.pk, 1);
        msgpack_pack_str_with_body(&r.pk, "pad", 3);
        size_t head = r.sb.size + 5; // bin 32 header
        size_t n = e->reply_bytes > head ? e->reply_bytes - head : 0;
        msgpack_pack_bin_with_body(&r.pk, pad, n);
        (void)azo_bench_router_send(&r, raw); // client gone: fine
    }
    free(pad);
    azo_bench_router_fini(&r);
    return NULL;
}

static int
s_echo_start(s_echo_t *e, const char *dir, size_t reply_bytes)
{
    snprintf(e->ep, sizeof e->ep, "ipc://%s/raw", dir);
    e->reply_bytes = reply_bytes;
    atomic_init(&e->stop, false);
    e->sock = zsock_new(ZMQ_ROUTER);
    if (!e->sock || zsock_bind(e->sock, "%s", e->ep) < 0)
        return -EADDRINUSE;
    zsock_set_rcvtimeo(e->sock, 100); // wakes up to look at stop
    zsock_set_linger(e->sock, 0);
    int rc = pthread_create(&e->thread, NULL, s_echo_main, e);
    if (rc != 0)
        return -rc;
    e->running = true;
    return 0;
}

static void
s_echo_stop(s_echo_t *e)
{
    if (e->running) {
        atomic_store(&e->stop, true);
        (void)pthread_join(e->thread, NULL);
        e->running = false;
    }
    zsock_destroy(&e->sock);
}

// --- (b) raw LMDB ------------------------------------------------------------

typedef struct {
    azo_store_t *store; // owned
    int db;
    char *report; // owned: report_bytes
    size_t report_bytes;
    uint64_t n; // commits so far: written into the values
} s_lmdb_t;

static int
s_lmdb_open(s_lmdb_t *l, const char *dir, size_t report_bytes)
{
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/raw-lmdb", dir);
    static const char *const dbs[] = {S_DB};
    l->report_bytes = report_bytes;
    l->report = calloc(1, report_bytes);
    if (!l->report)
        return -ENOMEM;
    int rc =
        azo_store_open(&l->store, path, S_MAP_BYTES, dbs, 1, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, S_PROG ": raw LMDB: %s\n", err);
        return rc;
    }
    l->db = azo_store_db(l->store, S_DB);
    return l->db;
}

static void
s_lmdb_close(s_lmdb_t *l)
{
    azo_store_close(&l->store);
    free(l->report);
    l->report = NULL;
}

// One write txn of the 5 keys, committed. Returns its ms from begin to
// the end of the commit, or -1.
static double
s_lmdb_commit(s_lmdb_t *l)
{
    char small[S_SMALL] = {0};
    l->n++;
    memcpy(l->report, &l->n, sizeof l->n); // a real change
    memcpy(small, &l->n, sizeof l->n);
    int64_t t0 = azo_bench_now_ns();
    azo_txn_t *txn = NULL;
    int rc = azo_store_begin(l->store, true, &txn);
    for (int i = 0; rc == 0 && i < S_NKEYS; i++)
        rc = azo_txn_put(txn, l->db, s_keys[i], strlen(s_keys[i]),
                         i ? small : l->report,
                         i ? sizeof small : l->report_bytes);
    if (rc == 0)
        rc = azo_store_commit(&txn);
    azo_store_abort(&txn);
    if (rc < 0) {
        fprintf(stderr, S_PROG ": raw LMDB: %s\n", azo_err_str(rc));
        return -1;
    }
    return (double)(azo_bench_now_ns() - t0) / 1e6;
}

// --- (c) the bare computation ------------------------------------------------

typedef struct {
    const mo_mcoin_t *m;
    mo_profit_t p;
} s_cand_t;

typedef struct {
    const mo_rig_t *rig; // borrowed
    mo_market_t *market; // owned
    mo_switch_t sw;
    mo_switch_cfg_t cfg;
    size_t ncand; // of the last cycle
} s_bare_t;

// As the actor's: most profitable first, then by symbol.
static int
s_by_profit(const void *a, const void *b)
{
    const s_cand_t *x = a, *y = b;
    if (x->p.profit != y->p.profit)
        return x->p.profit > y->p.profit ? -1 : 1;
    return strcmp(x->m->c.symbol, y->m->c.symbol);
}

// The market of this process, with the actor's default smoothing and
// switching rules. Returns 0 or a negative code.
static int
s_bare_open(s_bare_t *b, const s_market_t *m)
{
    mo_smooth_t sm = {
        .ema_alpha = 0.3, .outlier_factor = 3, .outlier_confirm = 2};
    b->rig = &m->rig;
    b->cfg = (mo_switch_cfg_t){.threshold = 0.05,
                               .confirmations = 3,
                               .min_dwell_ms = 600000,
                               .floor = 0};
    mo_switch_init(&b->sw, zclock_time());
    if (!(b->market = mo_market_new(&sm)))
        return -ENOMEM;
    int64_t now = zclock_time();
    for (int i = 0; i < m->n; i++) {
        int rc = mo_market_apply(b->market, &m->coins[i], now);
        if (rc < 0)
            return rc;
    }
    return 0;
}

// One cycle's arithmetic: the candidates' profits, sorted, the decision.
// Returns its ms, or -1 (out of memory).
static double
s_bare_cycle(s_bare_t *b)
{
    int64_t t0 = azo_bench_now_ns(), now = zclock_time();
    double kwh = mo_rig_kwh_price(b->rig, now);
    size_t count = mo_market_count(b->market), n = 0;
    s_cand_t *c = calloc(count ? count : 1, sizeof *c);
    mo_cand_t *mc = calloc(count ? count : 1, sizeof *mc);
    for (size_t i = 0; c && mc && i < count; i++) {
        const mo_mcoin_t *m = mo_market_at(b->market, i);
        const mo_algo_t *a = mo_rig_algo(b->rig, m->c.algo);
        if (a && mo_profit(b->rig, a, &m->c, kwh, &c[n].p))
            c[n++].m = m;
    }
    if (c && mc) {
        qsort(c, n, sizeof *c, s_by_profit);
        for (size_t i = 0; i < n; i++)
            mc[i] =
                (mo_cand_t){c[i].m->c.symbol, c[i].m->c.algo, c[i].p.profit};
        mo_decision_t d;
        mo_switch_eval(&b->sw, &b->cfg, mc, n, mo_idle_profit(b->rig, kwh), now,
                       &d);
    }
    bool done = c && mc;
    free(c);
    free(mc);
    b->ncand = n;
    return done ? (double)(azo_bench_now_ns() - t0) / 1e6 : -1;
}

// --- the run -----------------------------------------------------------------

enum { S_AZO, S_CUS, S_ZMQ, S_LMDB, S_BARE, S_NSERIES };

typedef struct {
    double *v[S_NSERIES]; // owned: ms per measured round
    int n[S_NSERIES];
    int bad;            // azod replies that were not a full report
    size_t reply_bytes; // of azod's last reply
    size_t bare_cand;   // candidates of the bare computation
    bool tmpfs;
} s_results_t;

static int
s_run(const s_opts_t *o, const char *dir, const s_market_t *m, s_azod_t *a,
      s_echo_t *echo, s_lmdb_t *lmdb, s_bare_t *bare, s_results_t *res)
{
    if (s_azod_start(a, o->azod, dir, m) < 0)
        return -1;
    printf("azod: pid %d, the mining-optimizer answered %.2f s after fork; "
           "%d coins sent\n",
           (int)a->az.proc.pid, a->start_s, m->n);
    // One cycle first: the size of the reply that the raw floors copy.
    double rtt, cus;
    if (s_azo_cycle(a, m->n, &rtt, &cus, &res->reply_bytes) < 0)
        return -1;
    printf("report reply: %zu bytes\n", res->reply_bytes);
    azo_bench_client_t raw;
    memset(&raw, 0, sizeof raw); // closed: nothing to free
    int rc = s_echo_start(echo, dir, res->reply_bytes);
    if (rc == 0)
        rc = azo_bench_client_open(&raw, echo->ep);
    if (rc == 0)
        rc = s_lmdb_open(lmdb, dir, res->reply_bytes) < 0 ? -EIO : 0;
    if (rc == 0)
        rc = s_bare_open(bare, m);
    if (rc == 0) // the ipc connection up before the first timed trip
        rc = azo_bench_client_ready(&raw, NULL, "ping", NULL, NULL, S_ECHO_MS);
    if (rc < 0) {
        fprintf(stderr, S_PROG ": raw floors: %s\n", strerror(-rc));
        azo_bench_client_close(&raw);
        return -1;
    }
    printf("rounds: %d warm-up then %d measured; each round: azod, raw zmq, "
           "raw LMDB, bare\n",
           o->warmup, o->rounds);
    fflush(stdout);
    for (int k = 0; k < o->warmup + o->rounds && !zsys_interrupted; k++) {
        bool counted = k >= o->warmup;
        double x[S_NSERIES];
        size_t size = 0; // the first reply's size stays the floors'
        int got = s_azo_cycle(a, m->n, &x[S_AZO], &x[S_CUS], &size);
        if (got < 0)
            break;
        res->bad += counted && got > 0;
        msgpack_pack_map(azo_bench_client_req(&raw, "mining.optimize"), 0);
        rc = azo_bench_client_send(&raw, NULL, S_ECHO_MS, &x[S_ZMQ]);
        if (rc < 0 || !raw.ok) {
            fprintf(stderr, S_PROG ": raw zmq echo: %s\n",
                    rc < 0 ? strerror(-rc) : "not ok");
            break;
        }
        x[S_LMDB] = s_lmdb_commit(lmdb);
        x[S_BARE] = s_bare_cycle(bare);
        if (x[S_LMDB] < 0 || x[S_BARE] < 0)
            break;
        for (int s = 0; counted && s < S_NSERIES; s++)
            if ((s != S_AZO && s != S_CUS) || got == 0)
                res->v[s][res->n[s]++] = x[s];
    }
    res->bare_cand = bare->ncand;
    azo_bench_client_close(&raw);
    bool all = true;
    for (int s = 0; s < S_NSERIES; s++)
        all = all && res->n[s] > 0;
    return zsys_interrupted || !all ? -1 : 0;
}

// --- the report --------------------------------------------------------------

static void
s_row(const char *label, const azo_bench_stats_t *s, int n)
{
    printf("  %-50s %7.3f %7.3f %7.3f %7.3f %6d\n", label, s->p50, s->p90,
           s->p99, s->max, n);
}

static void
s_report(const s_opts_t *o, s_results_t *res)
{
    azo_bench_stats_t st[S_NSERIES];
    for (int s = 0; s < S_NSERIES; s++)
        st[s] = azo_bench_stats(res->v[s], (size_t)res->n[s]);
    char label[96];
    printf("\n== results: %d coins x %d algorithms, %d measured rounds (ms)\n",
           o->coins, o->algos, o->rounds);
    printf("  %-50s %7s %7s %7s %7s %6s\n", "", "p50", "p90", "p99", "max",
           "count");
    s_row("azod mining.optimize, client round trip (ipc)", &st[S_AZO],
          res->n[S_AZO]);
    s_row("  of which compute_us (in the actor, to the report)", &st[S_CUS],
          res->n[S_CUS]);
    snprintf(label, sizeof label, "raw zmq DEALER<->ROUTER ipc, %zu-byte reply",
             res->reply_bytes);
    s_row(label, &st[S_ZMQ], res->n[S_ZMQ]);
    snprintf(label, sizeof label, "raw LMDB txn, %d keys (%zu B), fsync%s",
             S_NKEYS, res->reply_bytes, res->tmpfs ? " (tmpfs)" : "");
    s_row(label, &st[S_LMDB], res->n[S_LMDB]);
    snprintf(label, sizeof label,
             "bare compute: %zu x mo_profit, qsort, switch", res->bare_cand);
    s_row(label, &st[S_BARE], res->n[S_BARE]);
    double sum = st[S_ZMQ].p50 + st[S_LMDB].p50 + st[S_BARE].p50;
    printf("  raw sum of medians (zmq + LMDB + compute): %.3f ms\n", sum);
    if (res->bad)
        printf("\n  !!! WARNING: %d of %d replies were NOT a full report of "
               "%d candidates: not\n  counted; the figures above are not those "
               "of a clean run\n",
               res->bad, o->rounds, o->coins);
    else
        printf("  every reply: ok, mode full, candidates == %d\n", o->coins);
    double p50 = st[S_AZO].p50, rest = p50 - st[S_CUS].p50;
    printf("\nreading: of the %.3f ms median round trip, %.3f ms is "
           "compute_us (profits,\nsort, decision and the report packed, in "
           "the actor; the bare computation in\nthis process: %.3f ms); the "
           "other %.3f ms hold the LMDB commit, the publish,\nthe route "
           "through the supervisor and the transport\n(raw LMDB %.3f + raw "
           "zmq %.3f)\n",
           p50, st[S_CUS].p50, st[S_BARE].p50, rest, st[S_LMDB].p50,
           st[S_ZMQ].p50);
    bool has = o->coins == 1000 && o->algos == 20, met = p50 < S_TARGET_MS;
    printf("\ncycle of %d coins x %d algorithms, median %.2f ms over ipc "
           "(%s%s);\n%.2f x the raw sum (%.2f ms)\n",
           o->coins, o->algos, p50,
           has ? "absolute target < 5 ms: " : "target for 1000 x 20 only",
           has ? (met ? "met" : "NOT met") : "", sum > 0 ? p50 / sum : 0, sum);

    char metric[96];
    snprintf(metric, sizeof metric, "#9 mining cycle %d coins x %d algos, ms",
             o->coins, o->algos);
    azo_bench_summary_ms(metric, p50, sum, has ? "< 5 ms" : NULL, met);
    azo_bench_summary_ms(
        "#9 mining cycle p99 (base: raw p99s summed), ms", st[S_AZO].p99,
        st[S_ZMQ].p99 + st[S_LMDB].p99 + st[S_BARE].p99, NULL, false);
    azo_bench_summary_ms("#9 mining compute_us in actor (base: bare), ms",
                         st[S_CUS].p50, st[S_BARE].p50, NULL, false);
}

int
main(int argc, char **argv)
{
    s_opts_t o;
    int prc = s_parse(argc, argv, &o);
    if (prc != 0)
        return prc > 0 ? 0 : 2;
    char azod_buf[PATH_MAX + 16], dir[128];
    int rc = azo_bench_setup_g(S_PROG, &o.azod, azod_buf, sizeof azod_buf, dir,
                               sizeof dir);
    if (rc != 0)
        return rc;
    s_results_t res;
    memset(&res, 0, sizeof res);
    // Each cycle commits with fsync: on tmpfs that costs nothing.
    struct statfs fs;
    res.tmpfs = statfs(dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC;
    printf("temp directory (config, ipc endpoints, log, data): %s (%s)\n", dir,
           res.tmpfs ? "tmpfs: fsync costs nothing here"
                     : "not tmpfs: fsyncs reach a disk");

    s_market_t m;
    s_azod_t a;
    memset(&a, 0, sizeof a);
    azo_bench_azod_init(&a.az, dir, "mining");
    s_echo_t echo = {0};
    s_lmdb_t lmdb = {0};
    s_bare_t bare = {0};
    int code = 1;
    bool mem = s_market_make(&m, o.algos, o.coins, o.seed) == 0;
    for (int s = 0; mem && s < S_NSERIES; s++)
        mem = (res.v[s] = calloc((size_t)o.rounds, sizeof(double))) != NULL;
    if (!mem)
        fprintf(stderr, S_PROG ": out of memory\n");
    else if (s_run(&o, dir, &m, &a, &echo, &lmdb, &bare, &res) == 0) {
        s_report(&o, &res);
        code = 0;
    }
    // Whatever happened: azod is stopped and reaped, the thread joined.
    if (azo_bench_azod_stop(&a.az, S_PROG, S_STOP_MS) < 0)
        code = 1;
    if (o.verbose)
        azo_bench_print_log(a.az.log, 40);
    s_echo_stop(&echo);
    s_lmdb_close(&lmdb);
    mo_market_destroy(&bare.market);
    free(m.coins);
    for (int s = 0; s < S_NSERIES; s++)
        free(res.v[s]);
    if (!azo_bench_leave_dir(S_PROG, dir, o.keep))
        code = 1;
    return code;
}
