// azo_mining — the mining-optimizer actor (#9). Market data comes in as
// ticks (mining.market, an external ZeroMQ feed, JSON files in a watched
// directory) and is kept smoothed by mo_market; every cycle (a timer, or
// mining.optimize) works out each coin's profit per day for the rig
// (mo_calc), lets mo_switch decide whether to move with hysteresis,
// publishes mining.switch on a move (and runs switch_command), builds a
// report, caches its keys in LMDB under a TTL and publishes mining.report.
// An external optimizer command may run each cycle; its validated JSON is
// cached beside the built-in report. With no usable market data the
// report is still made, marked mode "minimal" with the reason.
#include "azo_mining.h"

#include "azo_err.h"
#include "azo_exec.h"
#include "azo_fs.h"
#include "azo_json.h"
#include "azo_mp.h"
#include "mo_backtest.h"
#include "mo_conf.h"
#include "mo_hist.h"
#include "mo_session.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_BASE        "actors/mining-optimizer"
#define S_ERRS_KEPT   10                 // input errors shown in a report
#define S_ERRS_ANSWER 20                 // tick errors listed in an answer
#define S_FILE_MAX    (16 * 1024 * 1024) // a market file or session export
#define S_FEED_MAX    (1024 * 1024)      // a feed message
#define S_OUT_MAX     (64 * 1024)        // an external command's stdout
#define S_TICKS_MAX   100000             // ticks in one message or file

// The cache keys (the names the replaced dashboard used).
#define S_K_REPORT   "mining:optimization:report"
#define S_K_TS       "mining:optimization:timestamp"
#define S_K_PROFIT   "mining:optimization:total_profit"
#define S_K_BEST     "mining:optimization:best_algorithm"
#define S_K_LASTRUN  "mining:optimization:last_run"
#define S_K_EXTERNAL "mining:optimization:external"
#define S_K_STATE    "mining:state" // the switching state, no TTL

static const char *const s_cache_keys[] = {
    S_K_REPORT, S_K_TS, S_K_PROFIT, S_K_BEST, S_K_LASTRUN, S_K_EXTERNAL,
};
#define S_NKEYS (sizeof s_cache_keys / sizeof s_cache_keys[0])

typedef struct {
    int64_t ts;
    char source[64];
    char error[400];
} s_inerr_t;

// What one batch of ticks did.
typedef struct {
    int64_t counts[4]; // by mo_tick_t
    int64_t rejected;
    msgpack_packer *errs; // NULL: not listed
    uint32_t nerrs;
} s_applied_t;

typedef struct {
    const mo_mcoin_t *m;
    mo_profit_t p;
} s_cand_t;

typedef struct {
    azo_actor_t *actor;
    mo_conf_t conf;
    mo_market_t *market;
    mo_switch_t sw;
    int64_t interval_ms, ttl_ms, scan_ms;
    int64_t report_top;
    const char *market_dir, *sessions_dir; // borrowed from the config
    zhashx_t *seen;                        // market file -> "mtime size"
    zsock_t *feed;                         // SUB, or NULL
    char **switch_argv, **opt_argv;        // owned, or NULL
    int64_t switch_timeout, opt_timeout;
    azo_exec_t *switch_exec, *opt_exec; // running, or NULL
    char switch_last[300];              // how the last switch_command ended
    uint64_t cycles;
    int64_t ticks, rejected, held, files;
    s_inerr_t errs[S_ERRS_KEPT]; // ring
    uint64_t nerrs;
    int64_t store_errors;
} s_mo_t;

// --- inputs ----------------------------------------------------------------

static void
s_input_error(s_mo_t *self, const char *source, const char *error)
{
    s_inerr_t *e = &self->errs[self->nerrs++ % S_ERRS_KEPT];
    e->ts = zclock_time();
    snprintf(e->source, sizeof e->source, "%s", source);
    snprintf(e->error, sizeof e->error, "%s", error);
    zsys_warning("mining-optimizer: %s: %s", source, error);
}

// Applies the ticks in obj: an array of ticks, a map with "ticks", or one
// tick map. Bad ticks are rejected one by one (listed in a->errs, and
// logged as input errors from source when log).
static int
s_apply(s_mo_t *self, const msgpack_object *obj, const char *source, bool log,
        s_applied_t *a)
{
    const msgpack_object *arr = obj;
    if (obj->type == MSGPACK_OBJECT_MAP && azo_mp_get(obj, "ticks"))
        arr = azo_mp_get(obj, "ticks");
    uint32_t n = 1;
    if (arr->type == MSGPACK_OBJECT_ARRAY)
        n = arr->via.array.size;
    else if (arr->type != MSGPACK_OBJECT_MAP)
        return AZO_EBADREQ;
    if (n > S_TICKS_MAX)
        return AZO_EBADREQ;
    int64_t now = zclock_time();
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *t =
            arr->type == MSGPACK_OBJECT_ARRAY ? &arr->via.array.ptr[i] : arr;
        char where[32], err[300];
        snprintf(where, sizeof where, "ticks[%u]", i);
        mo_coin_t c;
        int64_t ts;
        int rc = mo_tick_parse(t, where, &c, &ts, err, sizeof err);
        if (rc == 0) {
            rc = mo_market_apply(self->market, &c, ts ? ts : now);
            if (rc == -E2BIG)
                (void)azo_err_set(err, sizeof err, rc,
                                  "%s: the market holds %d coins already",
                                  where, MO_COINS_MAX);
            else if (rc < 0)
                (void)azo_err_set(err, sizeof err, rc, "%s: %s", where,
                                  azo_err_str(rc));
        }
        if (rc < 0) {
            a->rejected++;
            self->rejected++;
            if (log)
                s_input_error(self, source, err);
            if (a->errs && a->nerrs < S_ERRS_ANSWER) {
                msgpack_pack_map(a->errs, 2);
                azo_pack_kint(a->errs, "index", i);
                azo_pack_kstr(a->errs, "error", err);
                a->nerrs++;
            }
            continue;
        }
        a->counts[rc]++;
        self->ticks++;
        if (rc == MO_TICK_HELD)
            self->held++;
    }
    return 0;
}

// Parses JSON text into msgpack in sb. Returns 0 or AZO_EBADREQ (err says
// where the JSON is broken).
static int
s_json_to_sb(const char *text, size_t len, msgpack_sbuffer *sb, char *err,
             size_t errlen)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);
    if (!j)
        return azo_err_set(err, errlen, AZO_EBADREQ, "line %d: %s", je.line,
                           je.text);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    int rc = azo_json_to_mp(j, &pk);
    json_decref(j);
    if (rc < 0)
        return azo_err_set(err, errlen, AZO_EBADREQ, "nested too deep");
    return 0;
}

// One market file: JSON ticks (an array, or {"ticks": [...]}).
static void
s_market_file(s_mo_t *self, const char *path)
{
    char err[400], *text = NULL;
    size_t len = 0;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 4096);
    msgpack_object obj;
    s_applied_t a = {0};
    if (azo_fs_read_file(AT_FDCWD, path, O_NOFOLLOW, S_FILE_MAX, &text, &len,
                         err, sizeof err) == 0 &&
        s_json_to_sb(text, len, &sb, err, sizeof err) == 0) {
        if (azo_mp_unpack(sb.data, sb.size, &zone, &obj) != 0 ||
            s_apply(self, &obj, path, true, &a) != 0)
            s_input_error(self, path,
                          "expected a JSON array of ticks or {\"ticks\": "
                          "[...]} (at most 100000)");
        else
            self->files++;
    } else
        s_input_error(self, path, err);
    free(text);
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&sb);
}

// Looks at market_dir: each *.json that is new or changed is read.
static void
s_scan_dir(s_mo_t *self)
{
    DIR *d = opendir(self->market_dir);
    if (!d) {
        char err[300];
        (void)azo_err_set(err, sizeof err, 0, "opendir: %s", strerror(errno));
        s_input_error(self, self->market_dir, err);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0 ||
            de->d_name[0] == '.')
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        char sig[64], path[4096];
        snprintf(sig, sizeof sig, "%lld.%09ld %lld", (long long)st.st_mtime,
                 st.st_mtim.tv_nsec, (long long)st.st_size);
        const char *was = zhashx_lookup(self->seen, de->d_name);
        if (was && strcmp(was, sig) == 0)
            continue;
        zhashx_update(self->seen, de->d_name, sig);
        snprintf(path, sizeof path, "%s/%s", self->market_dir, de->d_name);
        s_market_file(self, path);
    }
    closedir(d);
}

static void
s_on_scan(void *selfp, void *arg)
{
    (void)arg;
    s_mo_t *self = selfp;
    s_scan_dir(self);
    (void)azo_actor_timer_at(self->actor, zclock_mono() + self->scan_ms,
                             s_on_scan, NULL);
}

// A message of the external feed: [topic "market..."][msgpack ticks].
static int
s_on_feed(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    s_mo_t *self = arg;
    zmsg_t *msg = zmsg_recv(sock);
    if (!msg)
        return 0;
    zframe_t *topic = zmsg_first(msg), *body = zmsg_next(msg);
    char err[300];
    if (!topic || !body || zmsg_size(msg) != 2)
        s_input_error(self, "feed", "expected 2 frames: topic, msgpack");
    else if (zframe_size(body) > S_FEED_MAX ||
             azo_mp_check(zframe_data(body), zframe_size(body), err,
                          sizeof err) != 0)
        s_input_error(self, "feed",
                      zframe_size(body) > S_FEED_MAX ? "message over 1 MiB"
                                                     : "malformed msgpack");
    else {
        msgpack_zone zone;
        msgpack_zone_init(&zone, 4096);
        msgpack_object obj;
        s_applied_t a = {0};
        if (azo_mp_unpack(zframe_data(body), zframe_size(body), &zone, &obj) !=
                0 ||
            s_apply(self, &obj, "feed", true, &a) != 0)
            s_input_error(self, "feed",
                          "expected a tick map, an array of ticks or "
                          "{ticks: [...]}");
        msgpack_zone_destroy(&zone);
    }
    zmsg_destroy(&msg);
    return 0;
}

// --- the cache -------------------------------------------------------------

// Stores value (one msgpack object in sb) under key with the TTL.
static int
s_cache_put(s_mo_t *self, azo_txn_t *txn, const char *key, const void *val,
            size_t len, int64_t now)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    azo_pack_kint(&pk, "v", 1);
    azo_pack_kint(&pk, "stored", now);
    azo_pack_kint(&pk, "expires", now + self->ttl_ms);
    msgpack_pack_str_with_body(&pk, "value", 5);
    msgpack_sbuffer_write(&sb, val, len);
    int rc =
        azo_txn_put_mp(txn, azo_actor_db(self->actor), key, strlen(key), &sb);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

// One small value packed into sb.
typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} s_buf_t;

static msgpack_packer *
s_buf(s_buf_t *b)
{
    msgpack_sbuffer_init(&b->sb);
    msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
    return &b->pk;
}

static int
s_cache_report(s_mo_t *self, const msgpack_sbuffer *report, int64_t now,
               double total, const char *best_algo)
{
    azo_txn_t *txn = NULL;
    int rc = azo_store_begin(azo_actor_store(self->actor), true, &txn);
    s_buf_t b[4];
    msgpack_pack_int64(s_buf(&b[0]), now);
    msgpack_pack_double(s_buf(&b[1]), total);
    if (best_algo)
        azo_pack_str(s_buf(&b[2]), best_algo);
    else
        msgpack_pack_nil(s_buf(&b[2]));
    msgpack_pack_int64(s_buf(&b[3]), now);
    if (rc == 0)
        rc =
            s_cache_put(self, txn, S_K_REPORT, report->data, report->size, now);
    if (rc == 0)
        rc = s_cache_put(self, txn, S_K_TS, b[0].sb.data, b[0].sb.size, now);
    if (rc == 0)
        rc =
            s_cache_put(self, txn, S_K_PROFIT, b[1].sb.data, b[1].sb.size, now);
    if (rc == 0)
        rc = s_cache_put(self, txn, S_K_BEST, b[2].sb.data, b[2].sb.size, now);
    if (rc == 0)
        rc = s_cache_put(self, txn, S_K_LASTRUN, b[3].sb.data, b[3].sb.size,
                         now);
    if (rc == 0)
        rc = azo_store_commit(&txn);
    azo_store_abort(&txn);
    for (int i = 0; i < 4; i++)
        msgpack_sbuffer_destroy(&b[i].sb);
    if (rc < 0) {
        self->store_errors++;
        zsys_error("mining-optimizer: caching the report: %s", azo_err_str(rc));
    }
    return rc;
}

// Packs the live cache keys as {name: {value, stored, expires}} into pk
// (a map of the live ones) and deletes expired ones. *report (may be NULL)
// is set when the report key is live: its expiry.
static int
s_cache_pack(s_mo_t *self, msgpack_packer *pk, int64_t *report_expires)
{
    int64_t now = zclock_time();
    int db = azo_actor_db(self->actor);
    azo_txn_t *txn = NULL;
    int rc = azo_store_begin(azo_actor_store(self->actor), true, &txn);
    if (rc < 0)
        return rc;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 4096);
    size_t at = azo_pack_map_open(pk);
    uint32_t n = 0;
    if (report_expires)
        *report_expires = 0;
    for (size_t i = 0; rc == 0 && i < S_NKEYS; i++) {
        const char *k = s_cache_keys[i];
        msgpack_object obj;
        int g = azo_txn_get_mp(txn, db, k, strlen(k), &zone, &obj);
        int64_t exp = 0;
        if (g == AZO_ENOTFOUND)
            continue;
        if (g < 0 || azo_mp_int(azo_mp_get(&obj, "expires"), &exp) < 0 ||
            !azo_mp_get(&obj, "value") || exp <= now) {
            // Expired (or unreadable): gone.
            int d = azo_txn_del(txn, db, k, strlen(k));
            if (d < 0 && d != AZO_ENOTFOUND)
                rc = d;
            continue;
        }
        azo_pack_str(pk, k);
        msgpack_pack_map(pk, 3);
        msgpack_pack_str_with_body(pk, "value", 5);
        msgpack_pack_object(pk, *azo_mp_get(&obj, "value"));
        msgpack_pack_str_with_body(pk, "stored", 6);
        msgpack_pack_object(pk, azo_mp_get(&obj, "stored")
                                    ? *azo_mp_get(&obj, "stored")
                                    : (msgpack_object){0});
        azo_pack_kint(pk, "expires", exp);
        if (report_expires && strcmp(k, S_K_REPORT) == 0)
            *report_expires = exp;
        n++;
    }
    azo_pack_map_close(pk, at, n);
    if (rc == 0)
        rc = azo_store_commit(&txn);
    azo_store_abort(&txn);
    msgpack_zone_destroy(&zone);
    return rc;
}

// --- switching state ---------------------------------------------------------

static void
s_state_save(s_mo_t *self)
{
    s_buf_t b;
    msgpack_packer *pk = s_buf(&b);
    msgpack_pack_map(pk, 5);
    azo_pack_kint(pk, "v", 1);
    azo_pack_kstr(pk, "current", self->sw.current);
    azo_pack_kstr(pk, "algorithm", self->sw.algo);
    azo_pack_kint(pk, "since", self->sw.since_ms);
    azo_pack_kuint(pk, "switches", self->sw.switches);
    int rc =
        azo_store_put(azo_actor_store(self->actor), azo_actor_db(self->actor),
                      S_K_STATE, strlen(S_K_STATE), b.sb.data, b.sb.size);
    msgpack_sbuffer_destroy(&b.sb);
    if (rc < 0) {
        self->store_errors++;
        zsys_error("mining-optimizer: saving the switching state: %s",
                   azo_err_str(rc));
    }
}

static void
s_state_load(s_mo_t *self)
{
    mo_switch_init(&self->sw, zclock_time());
    void *val = NULL;
    size_t len = 0;
    if (azo_store_get(azo_actor_store(self->actor), azo_actor_db(self->actor),
                      S_K_STATE, strlen(S_K_STATE), &val, &len) != 0)
        return;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 512);
    msgpack_object obj;
    int64_t since = 0, switches = 0;
    const msgpack_object *cur = NULL, *algo = NULL;
    if (azo_mp_check(val, len, NULL, 0) == 0 &&
        azo_mp_unpack(val, len, &zone, &obj) == 0 &&
        (cur = azo_mp_get(&obj, "current")) &&
        cur->type == MSGPACK_OBJECT_STR && cur->via.str.size < MO_SYM_MAX &&
        (algo = azo_mp_get(&obj, "algorithm")) &&
        algo->type == MSGPACK_OBJECT_STR && algo->via.str.size < MO_ALGO_MAX &&
        azo_mp_int(azo_mp_get(&obj, "since"), &since) == 0 &&
        azo_mp_int(azo_mp_get(&obj, "switches"), &switches) == 0) {
        memcpy(self->sw.current, cur->via.str.ptr, cur->via.str.size);
        memcpy(self->sw.algo, algo->via.str.ptr, algo->via.str.size);
        self->sw.since_ms = since;
        self->sw.switches = (uint64_t)switches;
    } else
        zsys_warning("mining-optimizer: the saved switching state is "
                     "unreadable: starting idle");
    msgpack_zone_destroy(&zone);
    free(val);
}

// --- external commands
// --------------------------------------------------------

// argv with {symbol}, {algorithm}, {pool} and {profit} replaced. Returns
// a NULL-terminated array to free with azo_exec_argv_free, or NULL.
static char **
s_switch_argv(s_mo_t *self, const mo_decision_t *d)
{
    char k[300], profit[64];
    snprintf(k, sizeof k, S_BASE "/pools/%s", d->to);
    const char *pool =
        d->to[0] ? azo_config_str(azo_actor_config(self->actor), k) : NULL;
    snprintf(profit, sizeof profit, "%.2f", d->to_profit);
    const char *from[] = {"{symbol}", "{algorithm}", "{pool}", "{profit}"};
    const char *to[] = {d->to[0] ? d->to : "idle", d->to_algo, pool ? pool : "",
                        profit};
    size_t n = 0;
    while (self->switch_argv[n])
        n++;
    char **argv = calloc(n + 1, sizeof *argv);
    for (size_t i = 0; argv && i < n; i++) {
        char out[4096] = "";
        const char *s = self->switch_argv[i];
        size_t o = 0;
        while (*s && o < sizeof out - 1) {
            size_t j = 0;
            for (; j < 4; j++)
                if (strncmp(s, from[j], strlen(from[j])) == 0)
                    break;
            if (j < 4) {
                o += (size_t)snprintf(out + o, sizeof out - o, "%s", to[j]);
                if (o >= sizeof out)
                    o = sizeof out - 1;
                s += strlen(from[j]);
            } else
                out[o++] = *s++;
        }
        out[o] = 0;
        if (!(argv[i] = strdup(out))) {
            azo_exec_argv_free(&argv);
            return NULL;
        }
    }
    return argv;
}

static void
s_on_switch_done(void *arg, const azo_exec_result_t *res)
{
    s_mo_t *self = arg;
    self->switch_exec = NULL;
    if (res->timed_out)
        snprintf(self->switch_last, sizeof self->switch_last,
                 "killed after %lld ms (switch_timeout)",
                 (long long)res->elapsed_ms);
    else if (res->term_signal)
        snprintf(self->switch_last, sizeof self->switch_last, "signal %d",
                 res->term_signal);
    else
        snprintf(self->switch_last, sizeof self->switch_last, "exit %d%s%.*s",
                 res->exit_status, res->err_len ? ": " : "",
                 (int)(res->err_len > 200 ? 200 : res->err_len),
                 res->err ? res->err : "");
    if (res->timed_out || res->term_signal || res->exit_status != 0)
        zsys_warning("mining-optimizer: switch_command: %s", self->switch_last);
}

static void
s_run_switch(s_mo_t *self, const mo_decision_t *d)
{
    if (!self->switch_argv)
        return;
    if (self->switch_exec)
        azo_exec_cancel(&self->switch_exec); // a newer switch wins
    char **argv = s_switch_argv(self, d);
    int rc = argv ? azo_exec_start(azo_actor_loop(self->actor), argv,
                                   self->switch_timeout, S_OUT_MAX,
                                   s_on_switch_done, self, &self->switch_exec)
                  : -ENOMEM;
    if (rc < 0) {
        snprintf(self->switch_last, sizeof self->switch_last,
                 "cannot start %s: %s", self->switch_argv[0], azo_err_str(rc));
        zsys_warning("mining-optimizer: switch_command: %s", self->switch_last);
    }
    azo_exec_argv_free(&argv);
}

// Stores the external optimizer's result (or why there is none) under
// S_K_EXTERNAL: {ok, ts, result | error}.
static void
s_on_opt_done(void *arg, const azo_exec_result_t *res)
{
    s_mo_t *self = arg;
    self->opt_exec = NULL;
    char err[400] = "";
    msgpack_sbuffer js;
    msgpack_sbuffer_init(&js);
    if (res->timed_out)
        (void)azo_err_set(err, sizeof err, 0,
                          "killed after %lld ms (optimizer_timeout)",
                          (long long)res->elapsed_ms);
    else if (res->term_signal || res->exit_status != 0)
        (void)azo_err_set(err, sizeof err, 0, "%s %d%s%.*s",
                          res->term_signal ? "signal" : "exit",
                          res->term_signal ? res->term_signal
                                           : res->exit_status,
                          res->err_len ? ": " : "",
                          (int)(res->err_len > 200 ? 200 : res->err_len),
                          res->err ? res->err : "");
    else if (res->out_truncated)
        (void)azo_err_set(err, sizeof err, 0, "stdout over %d KiB",
                          S_OUT_MAX >> 10);
    else if (s_json_to_sb(res->out, res->out_len, &js, err, sizeof err) == 0) {
        msgpack_zone zone;
        msgpack_zone_init(&zone, 1024);
        msgpack_object obj;
        const msgpack_object *ba, *tp;
        if (azo_mp_unpack(js.data, js.size, &zone, &obj) != 0 ||
            obj.type != MSGPACK_OBJECT_MAP)
            snprintf(err, sizeof err, "stdout: expected a JSON object");
        else if (!(ba = azo_mp_get(&obj, "best_algorithm")) ||
                 ba->type != MSGPACK_OBJECT_STR)
            snprintf(err, sizeof err,
                     "stdout: best_algorithm: expected a "
                     "string");
        else if (!(tp = azo_mp_get(&obj, "total_profit")) ||
                 !((tp->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                    tp->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) ||
                   ((tp->type == MSGPACK_OBJECT_FLOAT64 ||
                     tp->type == MSGPACK_OBJECT_FLOAT32) &&
                    isfinite(tp->via.f64))))
            snprintf(err, sizeof err,
                     "stdout: total_profit: expected a "
                     "number");
        msgpack_zone_destroy(&zone);
    } else {
        char why[sizeof err];
        memcpy(why, err, sizeof why);
        (void)azo_err_set(err, sizeof err, 0, "stdout is not JSON: %.300s",
                          why);
    }
    int64_t now = zclock_time();
    s_buf_t b;
    msgpack_packer *pk = s_buf(&b);
    msgpack_pack_map(pk, 3);
    azo_pack_kbool(pk, "ok", !err[0]);
    azo_pack_kint(pk, "ts", now);
    if (err[0]) {
        azo_pack_kstr(pk, "error", err);
        zsys_warning("mining-optimizer: optimizer_command: %s", err);
    } else {
        msgpack_pack_str_with_body(pk, "result", 6);
        msgpack_sbuffer_write(&b.sb, js.data, js.size);
    }
    azo_txn_t *txn = NULL;
    int rc = azo_store_begin(azo_actor_store(self->actor), true, &txn);
    if (rc == 0)
        rc = s_cache_put(self, txn, S_K_EXTERNAL, b.sb.data, b.sb.size, now);
    if (rc == 0)
        rc = azo_store_commit(&txn);
    azo_store_abort(&txn);
    if (rc < 0) {
        self->store_errors++;
        zsys_error("mining-optimizer: caching the external result: %s",
                   azo_err_str(rc));
    }
    msgpack_sbuffer_destroy(&b.sb);
    msgpack_sbuffer_destroy(&js);
}

static void
s_run_optimizer(s_mo_t *self)
{
    if (!self->opt_argv || self->opt_exec)
        return; // none, or the last one still runs
    int rc = azo_exec_start(azo_actor_loop(self->actor), self->opt_argv,
                            self->opt_timeout, S_OUT_MAX, s_on_opt_done, self,
                            &self->opt_exec);
    if (rc < 0)
        zsys_warning("mining-optimizer: cannot start optimizer_command %s: %s",
                     self->opt_argv[0], azo_err_str(rc));
}

// --- the cycle
// ----------------------------------------------------------------

static int
s_by_profit(const void *a, const void *b)
{
    const s_cand_t *x = a, *y = b;
    if (x->p.profit != y->p.profit)
        return x->p.profit > y->p.profit ? -1 : 1;
    return strcmp(x->m->c.symbol, y->m->c.symbol);
}

// key: x, or nil when x is not a number (a coin with no data).
static void
s_pack_kreal(msgpack_packer *pk, const char *key, double x)
{
    azo_pack_str(pk, key);
    if (isfinite(x))
        msgpack_pack_double(pk, x);
    else
        msgpack_pack_nil(pk);
}

static void
s_pack_opt_str(msgpack_packer *pk, const char *key, const char *val)
{
    azo_pack_str(pk, key);
    if (val && *val)
        azo_pack_str(pk, val);
    else
        msgpack_pack_nil(pk);
}

// Why there is nothing to decide on, or NULL.
static const char *
s_minimal_reason(s_mo_t *self, size_t ncand, size_t nfresh)
{
    if (ncand)
        return NULL;
    if (!self->conf.rig.nalgos)
        return "the rig profile has no algorithms (" S_BASE "/rig/algorithms)";
    if (!mo_market_count(self->market))
        return "no market data yet (mining.market, feed or market_dir)";
    if (!nfresh)
        return "all market data is older than stale_after";
    return "no coin in the market data uses an algorithm of the rig";
}

static void
s_pack_sessions(s_mo_t *self, msgpack_packer *pk)
{
    msgpack_pack_str_with_body(pk, "sessions", 8);
    if (!self->sessions_dir) {
        msgpack_pack_nil(pk);
        return;
    }
    mo_sess_totals_t t;
    char err[400];
    if (mo_session_dir(self->sessions_dir, self->conf.rig.kwh_price, &t, err,
                       sizeof err) != 0) {
        msgpack_pack_map(pk, 1);
        azo_pack_kstr(pk, "error", err);
        return;
    }
    mo_session_pack(&t, pk);
}

// The report of one cycle into out.
// started_us: when the cycle began (zclock_usecs), for compute_us.
static void
s_pack_report(s_mo_t *self, msgpack_packer *pk, int64_t now, int64_t started_us,
              const char *trigger, double kwh, const s_cand_t *c, size_t n,
              const char *minimal, const mo_decision_t *d)
{
    double idle = mo_idle_profit(&self->conf.rig, kwh);
    msgpack_pack_map(pk, 21);
    azo_pack_kint(pk, "v", 1);
    azo_pack_kstr(pk, "mode", minimal ? "minimal" : "full");
    s_pack_opt_str(pk, "reason", minimal);
    azo_pack_kint(pk, "ts", now);
    azo_pack_kuint(pk, "cycle", self->cycles);
    azo_pack_kstr(pk, "trigger", trigger);
    azo_pack_kreal(pk, "kwh_price", kwh);
    azo_pack_kreal(pk, "idle_profit", idle);
    azo_pack_kint(pk, "coins", (int64_t)mo_market_count(self->market));
    azo_pack_kint(pk, "candidates", (int64_t)n);
    // Where the rig is after this cycle's decision.
    msgpack_pack_str_with_body(pk, "current", 7);
    msgpack_pack_map(pk, 4);
    s_pack_opt_str(pk, "symbol", self->sw.current);
    s_pack_opt_str(pk, "algorithm", self->sw.algo);
    azo_pack_kint(pk, "since", self->sw.since_ms);
    s_pack_kreal(pk, "profit", d->to_profit);
    msgpack_pack_str_with_body(pk, "best", 4);
    if (n) {
        msgpack_pack_map(pk, 3);
        azo_pack_kstr(pk, "symbol", d->best);
        azo_pack_kstr(pk, "algorithm", d->best_algo);
        azo_pack_kreal(pk, "profit", d->best_profit);
    } else
        msgpack_pack_nil(pk);
    msgpack_pack_str_with_body(pk, "decision", 8);
    msgpack_pack_map(pk, 8);
    azo_pack_kbool(pk, "switched", d->switched);
    azo_pack_kstr(pk, "reason", d->reason);
    s_pack_opt_str(pk, "from", d->from);
    s_pack_opt_str(pk, "to", d->to);
    s_pack_kreal(pk, "from_profit", d->from_profit);
    s_pack_kreal(pk, "to_profit", d->to_profit);
    azo_pack_kint(pk, "streak", d->streak);
    azo_pack_kint(pk, "dwell_left_ms", d->dwell_left_ms);
    s_pack_kreal(pk, "total_profit", d->to_profit);
    s_pack_opt_str(pk, "best_algorithm", n ? d->best_algo : NULL);
    // The most profitable coin of each algorithm of the rig.
    msgpack_pack_str_with_body(pk, "algorithms", 10);
    size_t at = azo_pack_array_open(pk);
    uint32_t na = 0;
    for (size_t i = 0; i < self->conf.rig.nalgos; i++) {
        const mo_algo_t *a = &self->conf.rig.algos[i];
        for (size_t j = 0; j < n; j++) // c is sorted: first is best
            if (strcmp(c[j].m->c.algo, a->name) == 0) {
                msgpack_pack_map(pk, 3);
                azo_pack_kstr(pk, "algorithm", a->name);
                azo_pack_kstr(pk, "coin", c[j].m->c.symbol);
                azo_pack_kreal(pk, "profit", c[j].p.profit);
                na++;
                break;
            }
    }
    azo_pack_array_close(pk, at, na);
    msgpack_pack_str_with_body(pk, "top", 3);
    size_t top = n < (size_t)self->report_top ? n : (size_t)self->report_top;
    msgpack_pack_array(pk, (uint32_t)top);
    for (size_t i = 0; i < top; i++) {
        const mo_mcoin_t *m = c[i].m;
        msgpack_pack_map(pk, 9);
        azo_pack_kstr(pk, "symbol", m->c.symbol);
        azo_pack_kstr(pk, "algorithm", m->c.algo);
        azo_pack_kreal(pk, "price", m->c.price);
        azo_pack_kreal(pk, "coins", c[i].p.coins);
        azo_pack_kreal(pk, "revenue", c[i].p.revenue);
        azo_pack_kreal(pk, "power", c[i].p.power);
        azo_pack_kreal(pk, "profit", c[i].p.profit);
        azo_pack_kbool(pk, "held", m->held_n > 0);
        azo_pack_kint(pk, "tick_ts", m->ts);
    }
    msgpack_pack_str_with_body(pk, "inputs", 6);
    msgpack_pack_map(pk, 5);
    azo_pack_kint(pk, "ticks", self->ticks);
    azo_pack_kint(pk, "rejected", self->rejected);
    azo_pack_kint(pk, "held", self->held);
    azo_pack_kint(pk, "files", self->files);
    msgpack_pack_str_with_body(pk, "errors", 6);
    uint64_t ne = self->nerrs < S_ERRS_KEPT ? self->nerrs : S_ERRS_KEPT;
    msgpack_pack_array(pk, (uint32_t)ne);
    for (uint64_t i = self->nerrs - ne; i < self->nerrs; i++) {
        const s_inerr_t *e = &self->errs[i % S_ERRS_KEPT];
        msgpack_pack_map(pk, 3);
        azo_pack_kint(pk, "ts", e->ts);
        azo_pack_kstr(pk, "source", e->source);
        azo_pack_kstr(pk, "error", e->error);
    }
    azo_pack_kuint(pk, "switches", self->sw.switches);
    s_pack_sessions(self, pk);
    // The cycle's own work up to here: profits, decision, report.
    azo_pack_kint(pk, "compute_us", zclock_usecs() - started_us);
}

static void
s_publish_switch(s_mo_t *self, const mo_decision_t *d, double kwh)
{
    msgpack_packer *pk = azo_actor_event(self->actor, "mining.switch", 8);
    if (!pk)
        return;
    s_pack_opt_str(pk, "from", d->from);
    s_pack_opt_str(pk, "to", d->to);
    s_pack_opt_str(pk, "algorithm", d->to_algo);
    s_pack_kreal(pk, "from_profit", d->from_profit);
    s_pack_kreal(pk, "to_profit", d->to_profit);
    azo_pack_kstr(pk, "reason", d->reason);
    azo_pack_kreal(pk, "kwh_price", kwh);
    azo_pack_kbool(pk, "command", self->switch_argv != NULL);
    (void)azo_actor_publish(self->actor);
}

// One optimisation cycle: the report (packed into out when not NULL),
// cached and published.
static int
s_cycle(s_mo_t *self, const char *trigger, msgpack_sbuffer *out)
{
    int64_t now = zclock_time(), started = zclock_usecs();
    double kwh = mo_rig_kwh_price(&self->conf.rig, now);
    size_t count = mo_market_count(self->market), n = 0, fresh = 0;
    s_cand_t *c = calloc(count ? count : 1, sizeof *c);
    mo_cand_t *mc = calloc(count ? count : 1, sizeof *mc);
    if (!c || !mc) {
        free(c);
        free(mc);
        return -ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        const mo_mcoin_t *m = mo_market_at(self->market, i);
        if (self->conf.stale_ms && now - m->ts > self->conf.stale_ms)
            continue;
        fresh++;
        const mo_algo_t *a = mo_rig_algo(&self->conf.rig, m->c.algo);
        if (a && mo_profit(&self->conf.rig, a, &m->c, kwh, &c[n].p))
            c[n++].m = m;
    }
    qsort(c, n, sizeof *c, s_by_profit);
    for (size_t i = 0; i < n; i++)
        mc[i] = (mo_cand_t){c[i].m->c.symbol, c[i].m->c.algo, c[i].p.profit};
    mo_decision_t d;
    mo_switch_eval(&self->sw, &self->conf.sw, mc, n,
                   mo_idle_profit(&self->conf.rig, kwh), now, &d);
    self->cycles++;
    if (d.switched) {
        s_state_save(self);
        s_publish_switch(self, &d, kwh);
        s_run_switch(self, &d);
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    const char *minimal = s_minimal_reason(self, n, fresh);
    s_pack_report(self, &pk, now, started, trigger, kwh, c, n, minimal, &d);
    (void)s_cache_report(self, &sb, now,
                         isfinite(d.to_profit) ? d.to_profit : 0,
                         n ? d.best_algo : NULL);
    (void)azo_actor_publish_map(self->actor, "mining.report", sb.data, sb.size);
    if (out)
        msgpack_sbuffer_write(out, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    free(c);
    free(mc);
    s_run_optimizer(self);
    return 0;
}

static void
s_on_cycle(void *selfp, void *arg)
{
    (void)arg;
    s_mo_t *self = selfp;
    (void)s_cycle(self, "timer", NULL);
    (void)azo_actor_timer_at(self->actor, zclock_mono() + self->interval_ms,
                             s_on_cycle, NULL);
}

// --- commands ----------------------------------------------------------------

// mining.report {refresh}: the cached report while its TTL lasts, else a
// new cycle's.
static int
s_cmd_report(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_mo_t *self = selfp;
    const char *bad = azo_req_unknown_arg(req, "refresh");
    if (bad)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "unknown argument '%s' (known: refresh)", bad);
    bool refresh = false;
    if (azo_req_bool(req, "refresh", &refresh) == AZO_EBADREQ)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "refresh: must be true or false");
    msgpack_sbuffer keys;
    msgpack_sbuffer_init(&keys);
    msgpack_packer kp;
    msgpack_packer_init(&kp, &keys, msgpack_sbuffer_write);
    int64_t expires = 0;
    int rc = s_cache_pack(self, &kp, &expires);
    bool cached = rc == 0 && expires && !refresh;
    if (!cached) {
        msgpack_sbuffer_clear(&keys);
        rc = s_cycle(self, "report", NULL);
        if (rc == 0)
            rc = s_cache_pack(self, &kp, &expires);
    }
    if (rc < 0) {
        msgpack_sbuffer_destroy(&keys);
        return azo_reply_fail(reply, rc, "cache: %s", azo_err_str(rc));
    }
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 4);
    azo_pack_kbool(pk, "cached", cached);
    azo_pack_kint(pk, "ttl_ms", self->ttl_ms);
    azo_pack_kint(pk, "expires_in_ms", expires ? expires - zclock_time() : 0);
    msgpack_pack_str_with_body(pk, "keys", 4);
    msgpack_sbuffer_write(pk->data, keys.data, keys.size);
    msgpack_sbuffer_destroy(&keys);
    return 0;
}

// mining.cache: the live cache keys, nothing recomputed.
static int
s_cmd_cache(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_mo_t *self = selfp;
    const char *bad = azo_req_unknown_arg(req, "");
    if (bad)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "unknown argument '%s' (none taken)", bad);
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 2);
    azo_pack_kint(pk, "ttl_ms", self->ttl_ms);
    msgpack_pack_str_with_body(pk, "keys", 4);
    int rc = s_cache_pack(self, pk, NULL);
    return rc < 0 ? azo_reply_fail(reply, rc, "cache: %s", azo_err_str(rc)) : 0;
}

// mining.optimize: a cycle now; answers its report.
static int
s_cmd_optimize(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_mo_t *self = selfp;
    const char *bad = azo_req_unknown_arg(req, "");
    if (bad)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "unknown argument '%s' (none taken)", bad);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    int rc = s_cycle(self, "command", &sb);
    if (rc == 0)
        msgpack_sbuffer_write(azo_reply_result(reply)->data, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc < 0 ? azo_reply_fail(reply, rc, "%s", azo_err_str(rc)) : 0;
}

// mining.market {ticks: [TICK]}: each tick applied or rejected with the
// field named.
static int
s_cmd_market(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_mo_t *self = selfp;
    const char *bad = azo_req_unknown_arg(req, "ticks");
    if (bad)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "unknown argument '%s' (known: ticks)", bad);
    const msgpack_object *ticks = azo_req_arg(req, "ticks");
    if (!ticks || ticks->type != MSGPACK_OBJECT_ARRAY)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "ticks: expected an array of tick maps "
                              "{symbol, algorithm, price, block_reward, "
                              "block_time, net_hashrate | difficulty}");
    if (ticks->via.array.size > S_TICKS_MAX)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "ticks: at most %d per message", S_TICKS_MAX);
    msgpack_sbuffer es;
    msgpack_sbuffer_init(&es);
    msgpack_packer ep;
    msgpack_packer_init(&ep, &es, msgpack_sbuffer_write);
    s_applied_t a = {.errs = &ep};
    (void)s_apply(self, ticks, "mining.market", false, &a);
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 7);
    azo_pack_kint(pk, "accepted", a.counts[MO_TICK_ACCEPTED]);
    azo_pack_kint(pk, "held", a.counts[MO_TICK_HELD]);
    azo_pack_kint(pk, "confirmed", a.counts[MO_TICK_CONFIRMED]);
    azo_pack_kint(pk, "dropped", a.counts[MO_TICK_DROPPED]);
    azo_pack_kint(pk, "rejected", a.rejected);
    azo_pack_kint(pk, "coins", (int64_t)mo_market_count(self->market));
    msgpack_pack_str_with_body(pk, "errors", 6);
    msgpack_pack_array(pk, a.nerrs);
    msgpack_sbuffer_write(pk->data, es.data, es.size);
    msgpack_sbuffer_destroy(&es);
    return 0;
}

// mining.backtest {history: TEXT, format: csv|json}: the history replayed
// through the decision code with this actor's settings.
static int
s_cmd_backtest(void *selfp, const azo_req_t *req, azo_reply_t *reply)
{
    s_mo_t *self = selfp;
    const char *bad = azo_req_unknown_arg(req, "history,format");
    if (bad)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "unknown argument '%s' (known: history, "
                              "format)",
                              bad);
    const msgpack_object *h = azo_req_arg(req, "history");
    if (!h || h->type != MSGPACK_OBJECT_STR)
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "history: expected the text of a CSV or JSON "
                              "price history");
    const char *fmt = azo_req_str(req, "format");
    if (azo_req_arg(req, "format") &&
        (!fmt || (strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0)))
        return azo_reply_fail(reply, AZO_EBADREQ,
                              "format: expected \"csv\" or \"json\"");
    // The text arrived in one control message (limits/max_msg, 1 MiB by
    // default), so the replay is short enough for the actor's loop.
    char err[512];
    mo_hist_t *hist = NULL;
    int rc = mo_hist_parse(
        &hist, fmt && strcmp(fmt, "json") == 0 ? "history.json" : "history.csv",
        h->via.str.ptr, h->via.str.size, err, sizeof err);
    if (rc < 0)
        return azo_reply_fail(reply, rc, "%s", err);
    mo_bt_result_t *res = calloc(MO_BT_N, sizeof *res);
    rc = res ? mo_backtest_run(hist, &self->conf, res, err, sizeof err)
             : azo_err_set(err, sizeof err, -ENOMEM, "out of memory");
    if (rc == 0) {
        msgpack_packer *pk = azo_reply_result(reply);
        msgpack_pack_map(pk, 6);
        azo_pack_kint(pk, "rows", (int64_t)mo_hist_count(hist));
        azo_pack_kint(pk, "steps", (int64_t)res[0].steps);
        azo_pack_kint(pk, "from", res[0].from_ms);
        azo_pack_kint(pk, "to", res[0].to_ms);
        azo_pack_kreal(pk, "gain_vs_naive",
                       res[MO_BT_HYSTERESIS].profit - res[MO_BT_NAIVE].profit);
        msgpack_pack_str_with_body(pk, "strategies", 10);
        msgpack_pack_array(pk, MO_BT_N);
        for (int i = 0; i < MO_BT_N; i++) {
            msgpack_pack_map(pk, 7);
            azo_pack_kstr(pk, "name", res[i].name);
            azo_pack_kreal(pk, "profit", res[i].profit);
            azo_pack_kreal(pk, "switch_cost", res[i].switch_cost);
            azo_pack_kuint(pk, "switches", res[i].switches);
            azo_pack_kint(pk, "idle_ms", res[i].idle_ms);
            azo_pack_kint(pk, "mined_ms", res[i].mined_ms);
            s_pack_opt_str(pk, "final", res[i].final);
        }
    }
    free(res);
    mo_hist_destroy(&hist);
    return rc < 0 ? azo_reply_fail(reply, rc, "%s", err) : 0;
}

static const azo_cmd_entry_t s_cmds[] = {
    {"mining.report", s_cmd_report},     {"mining.cache", s_cmd_cache},
    {"mining.optimize", s_cmd_optimize}, {"mining.market", s_cmd_market},
    {"mining.backtest", s_cmd_backtest},
};

// --- life
// ----------------------------------------------------------------------

static void
s_fini(void *selfp)
{
    s_mo_t *self = selfp;
    if (!self)
        return;
    azo_exec_cancel(&self->switch_exec);
    azo_exec_cancel(&self->opt_exec);
    if (self->feed) {
        zloop_reader_end(azo_actor_loop(self->actor), self->feed);
        zsock_destroy(&self->feed);
    }
    azo_exec_argv_free(&self->switch_argv);
    azo_exec_argv_free(&self->opt_argv);
    zhashx_destroy(&self->seen);
    mo_market_destroy(&self->market);
    free(self);
}

static int
s_init(azo_actor_t *actor, void **self_p)
{
    const azo_config_t *cfg = azo_actor_config(actor);
    s_mo_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    self->actor = actor;
    char err[512];
    int rc = mo_conf_load(cfg, S_BASE, &self->conf, err, sizeof err);
    if (rc < 0) {
        zsys_error("mining-optimizer: %s", err);
        free(self);
        return rc;
    }
    self->interval_ms = azo_config_ms(cfg, S_BASE "/interval", 60000);
    self->ttl_ms = azo_config_ms(cfg, S_BASE "/report_ttl", 3600000);
    self->scan_ms = azo_config_ms(cfg, S_BASE "/market_scan", 5000);
    self->report_top = azo_config_int(cfg, S_BASE "/report_top", 20);
    self->market_dir = azo_config_str(cfg, S_BASE "/market_dir");
    self->sessions_dir = azo_config_str(cfg, S_BASE "/sessions_dir");
    self->switch_timeout = azo_config_ms(cfg, S_BASE "/switch_timeout", 30000);
    self->opt_timeout = azo_config_ms(cfg, S_BASE "/optimizer_timeout", 30000);
    self->market = mo_market_new(&self->conf.smooth);
    self->seen = zhashx_new();
    const char *sw = azo_config_str(cfg, S_BASE "/switch_command");
    const char *opt = azo_config_str(cfg, S_BASE "/optimizer_command");
    if (!self->market || !self->seen ||
        (sw && azo_exec_argv(sw, &self->switch_argv, err, sizeof err) < 0) ||
        (opt && azo_exec_argv(opt, &self->opt_argv, err, sizeof err) < 0)) {
        s_fini(self);
        return -ENOMEM; // the texts were checked at load
    }
    zhashx_set_destructor(self->seen, (zhashx_destructor_fn *)zstr_free);
    zhashx_set_duplicator(self->seen, (zhashx_duplicator_fn *)strdup);
    const char *feed = azo_config_str(cfg, S_BASE "/feed");
    if (feed) {
        self->feed = zsock_new(ZMQ_SUB);
        if (!self->feed || zsock_connect(self->feed, "%s", feed) != 0 ||
            zloop_reader(azo_actor_loop(actor), self->feed, s_on_feed, self) <
                0) {
            zsys_error("mining-optimizer: cannot connect to feed %s", feed);
            s_fini(self);
            return AZO_EUNAVAIL;
        }
        zsock_set_subscribe(self->feed, "market.");
        zsock_set_rcvhwm(self->feed, 100000);
    }
    s_state_load(self);
    int64_t now = zclock_mono();
    if ((self->market_dir &&
         azo_actor_timer_at(actor, now, s_on_scan, NULL) < 0) ||
        azo_actor_timer_at(actor, now + self->interval_ms, s_on_cycle, NULL) <
            0) {
        s_fini(self);
        return -ENOMEM;
    }
    *self_p = self;
    return 0;
}

static int
s_check(const azo_config_t *cfg, const char *base, char *err, size_t errlen)
{
    mo_conf_t conf;
    int rc = mo_conf_load(cfg, base, &conf, err, errlen);
    if (rc)
        return rc;
    static const char *const cmds[] = {"switch_command", "optimizer_command"};
    for (size_t i = 0; i < 2; i++) {
        char k[300], why[300];
        snprintf(k, sizeof k, "%s/%s", base, cmds[i]);
        const char *text = azo_config_str(cfg, k);
        char **argv = NULL;
        if (text && (rc = azo_exec_argv(text, &argv, why, sizeof why)) != 0)
            return azo_config_fail(cfg, k, err, errlen, "%s", why);
        azo_exec_argv_free(&argv);
    }
    return 0;
}

const azo_actor_def_t azo_mining_def = {
    .name = "mining-optimizer",
    .prefix = "mining.",
    .failover = true, // stateless: restarted elsewhere when its node is lost
    .init = s_init,
    .fini = s_fini,
    .cmds = s_cmds,
    .ncmds = sizeof s_cmds / sizeof s_cmds[0],
    .keys = mo_conf_keys,
    .nkeys = MO_CONF_NKEYS,
    .check = s_check,
};
