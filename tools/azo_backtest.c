// azo-backtest — replays a mining price history (CSV or JSON) through the
// mining-optimizer's decision code with the settings of an azod config and
// prints profit, switches and idle time of hysteresis switching against
// naive always-switching and never-switching; optionally draws cumulative
// profit over time with gnuplot. Main thread only; talks to no node.
#include "azo_actors.h"
#include "azo_config.h"
#include "azo_err.h"
#include "azo_sup.h"
#include "mo_backtest.h"
#include "mo_conf.h"
#include "mo_hist.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_SETS 256
#define S_BASE     "actors/mining-optimizer"

extern char **environ;

// Without -c: an empty mining-optimizer section, so that its defaults apply
// and --set can fill in a rig.
static const char s_default_cfg[] = "actors\n    mining-optimizer\n";

static void
s_usage(FILE *out)
{
    fputs(
        "Usage: azo-backtest [-c CONFIG] [--set PATH=VALUE]... [--threshold "
        "F]\n"
        "                    [--confirmations N] [--dwell DURATION] "
        "[--floor X]\n"
        "                    [--switch-cost DURATION] [--png FILE] [--json] "
        "HISTORY\n"
        "\n"
        "Replays a price history through the mining-optimizer's own decision\n"
        "code (smoothing, profit per coin, switching rules) with the "
        "settings\n"
        "under actors/mining-optimizer of an azod configuration, and compares\n"
        "three strategies:\n"
        "  hysteresis  the configured rules (switch_threshold, confirmations,\n"
        "              min_dwell, profit_floor)\n"
        "  naive       always the best coin: threshold 0, 1 confirmation, no\n"
        "              dwell, the same floor\n"
        "  never       the best coin at the start, kept to the end\n"
        "Each switch costs switch_cost of the new coin's revenue (the rig\n"
        "draws power but earns nothing while the miner restarts).\n"
        "\n"
        "HISTORY: CSV with a header line naming the columns ts, symbol,\n"
        "algorithm, price, block_reward, block_time, net_hashrate, difficulty\n"
        "(any order; net_hashrate or difficulty may be empty), or JSON: an\n"
        "array of tick objects with those keys, or {\"ticks\": [...]}. ts is\n"
        "Unix milliseconds, Unix seconds, or ISO-8601 such as\n"
        "2026-11-01T00:00:00Z. Every tick is checked like a live one.\n"
        "\n"
        "Options:\n"
        "  -c, --config FILE       azod configuration (ZPL) holding the rig\n"
        "                          profile and rules; default: an empty\n"
        "                          actors/mining-optimizer section\n"
        "  -s, --set PATH=VALUE    override one key, as for azod, e.g.\n"
        "                          --set "
        "actors/mining-optimizer/rig/pool_fee=0.02\n"
        "                          (repeatable; applied in order)\n"
        "      --threshold F       switch_threshold (0.05: 5% better)\n"
        "      --confirmations N   confirmations (evaluations in a row)\n"
        "      --dwell DURATION    min_dwell (10m, 1h30m, 0)\n"
        "      --floor X           profit_floor (profit per day to mine)\n"
        "      --switch-cost DURATION\n"
        "                          switch_cost: mining time lost per switch\n"
        "      --png FILE          draw cumulative profit over time of the\n"
        "                          three strategies into FILE (needs gnuplot:\n"
        "                          apt-get install gnuplot-nox)\n"
        "      --json              print one JSON object instead of the table\n"
        "                          (strategies with their time series)\n"
        "  -h, --help              show this help\n"
        "      --version           show the version\n"
        "The shortcut options are --set of the keys above under\n"
        "actors/mining-optimizer/, applied in command-line order.\n"
        "\n"
        "Exit status: 0 done; 1 the history, the run or gnuplot failed; 2 bad\n"
        "usage or configuration.\n"
        "\n"
        "Keys and the sample: docs/mining-optimizer.md.\n",
        out);
}

// The node schema: azod's, so a config azod takes is taken here.
static azo_cfg_key_t *
s_schema(size_t *nkeys)
{
    size_t n;
    const azo_actor_def_t *const *all = azo_actors_all(&n);
    return azo_sup_schema(all, n, nkeys);
}

static void
s_fmt_time(char *buf, size_t len, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M", &tm))
        snprintf(buf, len, "%" PRId64, ms);
}

// A duration as config files write it; 0 as "0".
static const char *
s_dur(char *buf, size_t len, int64_t ms)
{
    if (ms <= 0)
        snprintf(buf, len, "0");
    else
        azo_config_fmt_duration(buf, len, ms);
    return buf;
}

static void
s_print_table(const char *path, const mo_hist_t *h, const mo_conf_t *conf,
              const mo_bt_result_t *r)
{
    char a[32], b[32], c[32], d[32], e[32];
    s_fmt_time(a, sizeof a, r[0].from_ms);
    s_fmt_time(b, sizeof b, r[0].to_ms);
    s_dur(c, sizeof c, r[0].to_ms - r[0].from_ms);
    printf("history   %s: %zu ticks, %zu coins, %zu steps\n", path,
           mo_hist_count(h), mo_hist_ncoins(h), r[0].steps);
    printf("period    %s .. %s UTC (%s)\n", a, b, c);
    s_dur(a, sizeof a, conf->sw.min_dwell_ms);
    s_dur(b, sizeof b, (int64_t)(conf->switch_cost_s * 1000));
    s_dur(c, sizeof c, conf->stale_ms);
    printf("settings  threshold %g%%, confirmations %d, min_dwell %s, floor "
           "%g, switch_cost %s, stale_after %s,\n"
           "          ema_alpha %g, outlier_factor %g, outlier_confirm %d\n\n",
           conf->sw.threshold * 100, conf->sw.confirmations, a, conf->sw.floor,
           b, c, conf->smooth.ema_alpha, conf->smooth.outlier_factor,
           conf->smooth.outlier_confirm);
    printf("%-11s %12s %9s %12s %12s %12s  %s\n", "STRATEGY", "PROFIT",
           "SWITCHES", "SWITCH COST", "IDLE", "MINED", "FINAL");
    for (int s = 0; s < MO_BT_N; s++) {
        printf("%-11s %12.2f %9" PRIu64 " %12.2f %12s %12s  %s\n", r[s].name,
               r[s].profit, r[s].switches, r[s].switch_cost,
               s_dur(d, sizeof d, r[s].idle_ms),
               s_dur(e, sizeof e, r[s].mined_ms),
               r[s].final[0] ? r[s].final : "(idle)");
    }
    double gain = r[MO_BT_HYSTERESIS].profit - r[MO_BT_NAIVE].profit;
    printf("\nhysteresis gain over naive: %+.2f", gain);
    if (r[MO_BT_NAIVE].profit != 0)
        printf(" (%+.1f%%)", 100 * gain / fabs(r[MO_BT_NAIVE].profit));
    printf("\n");
}

static int
s_print_json(const char *path, const char *png, const mo_hist_t *h,
             const mo_conf_t *conf, const mo_bt_result_t *r)
{
    json_t *strats = json_array();
    for (int s = 0; strats && s < MO_BT_N; s++) {
        json_t *series = json_array();
        for (size_t i = 0; series && i < r[s].npoints; i++)
            json_array_append_new(
                series, json_pack("[I, f]", (json_int_t)r[s].points[i].ts,
                                  r[s].points[i].profit));
        json_array_append_new(
            strats,
            json_pack("{s:s, s:f, s:I, s:f, s:I, s:I, s:s?, s:o}", "name",
                      r[s].name, "profit", r[s].profit, "switches",
                      (json_int_t)r[s].switches, "switch_cost",
                      r[s].switch_cost, "idle_ms", (json_int_t)r[s].idle_ms,
                      "mined_ms", (json_int_t)r[s].mined_ms, "final",
                      r[s].final[0] ? r[s].final : NULL, "series", series));
    }
    json_t *settings = json_pack(
        "{s:f, s:i, s:I, s:f, s:I, s:I, s:f, s:f, s:i}", "switch_threshold",
        conf->sw.threshold, "confirmations", conf->sw.confirmations,
        "min_dwell_ms", (json_int_t)conf->sw.min_dwell_ms, "profit_floor",
        conf->sw.floor, "switch_cost_ms",
        (json_int_t)(conf->switch_cost_s * 1000), "stale_after_ms",
        (json_int_t)conf->stale_ms, "ema_alpha", conf->smooth.ema_alpha,
        "outlier_factor", conf->smooth.outlier_factor, "outlier_confirm",
        conf->smooth.outlier_confirm);
    double gain = r[MO_BT_HYSTERESIS].profit - r[MO_BT_NAIVE].profit;
    json_t *j =
        json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:f, s:s?}",
                  "history", path, "ticks", (json_int_t)mo_hist_count(h),
                  "coins", (json_int_t)mo_hist_ncoins(h), "steps",
                  (json_int_t)r[0].steps, "from_ms", (json_int_t)r[0].from_ms,
                  "to_ms", (json_int_t)r[0].to_ms, "settings", settings,
                  "strategies", strats, "gain_over_naive", gain, "png", png);
    if (!j) {
        fprintf(stderr, "azo-backtest: cannot encode the result as JSON (a "
                        "path that is not UTF-8, or out of memory)\n");
        return AZO_EXIT_ERROR;
    }
    int rc = json_dumpf(j, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(j);
    printf("\n");
    return rc ? AZO_EXIT_ERROR : AZO_EXIT_OK;
}

// --- the chart ---------------------------------------------------------------

// Writes s into a gnuplot script as a single-quoted string ('' for ').
static void
s_gp_str(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

static int
s_write_chart_files(const char *dat, const char *gp, const char *png,
                    const char *title, const mo_bt_result_t *r)
{
    FILE *f = fopen(dat, "w");
    if (!f)
        return -errno;
    for (int s = 0; s < MO_BT_N; s++) {
        fprintf(f, "# %s\n", r[s].name);
        for (size_t i = 0; i < r[s].npoints; i++)
            fprintf(f, "%.3f %.6f\n", (double)r[s].points[i].ts / 1000.0,
                    r[s].points[i].profit);
        fprintf(f, "\n\n"); // gnuplot: the next "index"
    }
    if (fclose(f) != 0)
        return -errno;
    if (!(f = fopen(gp, "w")))
        return -errno;
    fprintf(f, "set terminal pngcairo size 1000,560 noenhanced "
               "font 'sans,10'\nset output ");
    s_gp_str(f, png);
    fprintf(f, "\nset title ");
    s_gp_str(f, title);
    fprintf(f, "\nset xdata time\nset timefmt '%%s'\n"
               "set format x \"%%m-%%d\\n%%H:%%M\"\nset rmargin 6\n"
               "set xlabel 'UTC'\n"
               "set ylabel 'cumulative profit (rig currency)'\n"
               "set key top left\nset grid\nplot ");
    static const char *const colour[MO_BT_N] = {"#1b9e77", "#d95f02",
                                                "#7570b3"};
    for (int s = 0; s < MO_BT_N; s++) {
        char t[96];
        snprintf(t, sizeof t, "%s: %.2f, %" PRIu64 " switches", r[s].name,
                 r[s].profit, r[s].switches);
        s_gp_str(f, dat);
        fprintf(f, " index %d using 1:2 with lines lw 2 lc rgb '%s' title ", s,
                colour[s]);
        s_gp_str(f, t);
        fprintf(f, "%s", s + 1 < MO_BT_N ? ", \\\n     " : "\n");
    }
    if (fclose(f) != 0)
        return -errno;
    return 0;
}

// Runs gnuplot on script gp (no shell): stdin from /dev/null, its stdout to
// our stderr, which keeps --json output clean. Returns its exit status,
// -ENOENT when gnuplot is not installed, or another -errno.
static int
s_run_gnuplot(const char *gp)
{
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return -ENOMEM;
    int rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!rc)
        rc = posix_spawn_file_actions_adddup2(&fa, 2, 1);
    char *argv[] = {"gnuplot", (char *)gp, NULL};
    pid_t pid;
    if (!rc)
        rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc)
        return -rc;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static int
s_chart(const char *png, const char *history, const mo_bt_result_t *r)
{
    const char *tmp = getenv("TMPDIR");
    char dir[512], dat[600], gp[600];
    snprintf(dir, sizeof dir, "%s/azo-backtest.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr,
                "azo-backtest: cannot make a temporary directory in "
                "%s: %s\n",
                tmp && *tmp ? tmp : "/tmp", strerror(errno));
        return AZO_EXIT_ERROR;
    }
    snprintf(dat, sizeof dat, "%s/series.dat", dir);
    snprintf(gp, sizeof gp, "%s/chart.gp", dir);
    char title[400];
    snprintf(title, sizeof title, "Backtest of %s: cumulative profit", history);
    int rc = s_write_chart_files(dat, gp, png, title, r);
    int exit = AZO_EXIT_ERROR;
    if (rc)
        fprintf(stderr,
                "azo-backtest: cannot write the chart's files in %s: "
                "%s\n",
                dir, strerror(-rc));
    else if ((rc = s_run_gnuplot(gp)) == -ENOENT)
        fprintf(stderr, "azo-backtest: gnuplot not found: apt-get install "
                        "gnuplot-nox\n");
    else if (rc < 0)
        fprintf(stderr, "azo-backtest: cannot run gnuplot: %s\n",
                strerror(-rc));
    else if (rc > 0)
        fprintf(stderr,
                "azo-backtest: gnuplot failed (exit status %d) "
                "drawing %s\n",
                rc, png);
    else if (access(png, F_OK) != 0)
        fprintf(stderr, "azo-backtest: gnuplot wrote no %s\n", png);
    else
        exit = AZO_EXIT_OK;
    // Best effort: leftovers in the temporary directory are clutter only.
    (void)unlink(dat);
    (void)unlink(gp);
    (void)rmdir(dir);
    return exit;
}

// --- main --------------------------------------------------------------------

// Adds "actors/mining-optimizer/KEY=VALUE" to sets, in buf (owned by the
// caller). Returns false when there are too many.
static bool
s_shortcut(const char **sets, size_t *nsets, char (*buf)[256], const char *key,
           const char *value)
{
    if (*nsets == S_MAX_SETS)
        return false;
    snprintf(buf[*nsets], 256, S_BASE "/%s=%s", key, value);
    sets[*nsets] = buf[*nsets];
    (*nsets)++;
    return true;
}

int
main(int argc, char **argv)
{
    enum {
        OPT_THRESHOLD = 256,
        OPT_CONFIRM,
        OPT_DWELL,
        OPT_FLOOR,
        OPT_COST,
        OPT_PNG,
        OPT_JSON,
        OPT_VERSION,
    };
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, 's'},
        {"threshold", required_argument, NULL, OPT_THRESHOLD},
        {"confirmations", required_argument, NULL, OPT_CONFIRM},
        {"dwell", required_argument, NULL, OPT_DWELL},
        {"floor", required_argument, NULL, OPT_FLOOR},
        {"switch-cost", required_argument, NULL, OPT_COST},
        {"png", required_argument, NULL, OPT_PNG},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    static const char *const shortcut_key[] = {
        [OPT_THRESHOLD - OPT_THRESHOLD] = "switch_threshold",
        [OPT_CONFIRM - OPT_THRESHOLD] = "confirmations",
        [OPT_DWELL - OPT_THRESHOLD] = "min_dwell",
        [OPT_FLOOR - OPT_THRESHOLD] = "profit_floor",
        [OPT_COST - OPT_THRESHOLD] = "switch_cost",
    };
    const char *file = NULL, *png = NULL;
    const char *sets[S_MAX_SETS];
    static char setbuf[S_MAX_SETS][256];
    size_t nsets = 0;
    bool json = false;
    int opt;
    opterr = 0; // one line of our own instead of getopt's
    while ((opt = getopt_long(argc, argv, ":c:s:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            file = optarg;
            break;
        case 's':
            if (nsets == S_MAX_SETS)
                goto too_many;
            sets[nsets++] = optarg;
            break;
        case OPT_THRESHOLD:
        case OPT_CONFIRM:
        case OPT_DWELL:
        case OPT_FLOOR:
        case OPT_COST:
            if (!s_shortcut(sets, &nsets, setbuf,
                            shortcut_key[opt - OPT_THRESHOLD], optarg))
                goto too_many;
            break;
        case OPT_PNG:
            png = optarg;
            // The name goes into a gnuplot script, one command a line.
            for (const char *p = png; *p; p++)
                if ((unsigned char)*p < 0x20) {
                    fprintf(stderr, "azo-backtest: --png: a control "
                                    "character in the file name\n");
                    return AZO_EXIT_USAGE;
                }
            break;
        case OPT_JSON:
            json = true;
            break;
        case 'h':
            s_usage(stdout);
            return AZO_EXIT_OK;
        case OPT_VERSION:
            printf("azo-backtest %s\n", AZO_VERSION);
            return AZO_EXIT_OK;
        case ':':
            fprintf(stderr,
                    "azo-backtest: %s needs a value (see "
                    "azo-backtest --help)\n",
                    argv[optind - 1]);
            return AZO_EXIT_USAGE;
        default:
            fprintf(stderr,
                    "azo-backtest: unknown option %s (see "
                    "azo-backtest --help)\n",
                    argv[optind - 1]);
            return AZO_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "azo-backtest: %s (see azo-backtest --help)\n",
                optind == argc ? "a HISTORY file is needed"
                               : "one HISTORY file only");
        return AZO_EXIT_USAGE;
    }
    const char *history = argv[optind];

    char err[1024];
    size_t nkeys;
    azo_cfg_key_t *schema = s_schema(&nkeys);
    if (!schema) {
        fprintf(stderr, "azo-backtest: out of memory\n");
        return AZO_EXIT_ERROR;
    }
    azo_config_set_default_g(s_default_cfg);
    azo_config_t *cfg = NULL;
    int rc = azo_config_load(&cfg, file, sets, nsets, schema, nkeys, err,
                             sizeof err);
    free(schema);
    mo_conf_t conf;
    if (!rc && !azo_config_section(cfg, S_BASE))
        rc = azo_err_set(err, sizeof err, AZO_EBADREQ,
                         "%s: no " S_BASE " section", azo_config_source(cfg));
    if (!rc)
        rc = mo_conf_load(cfg, S_BASE, &conf, err, sizeof err);
    if (!rc && !conf.rig.nalgos)
        rc = azo_err_set(err, sizeof err, AZO_EBADREQ,
                         "%s: " S_BASE "/rig/algorithms: the rig mines "
                         "nothing (give each algorithm a hashrate and watts)",
                         file ? file : "no -c CONFIG");
    azo_config_destroy(&cfg);
    if (rc) {
        fprintf(stderr, "azo-backtest: %s\n", err);
        return AZO_EXIT_USAGE;
    }

    mo_hist_t *h = NULL;
    if ((rc = mo_hist_load(&h, history, err, sizeof err))) {
        fprintf(stderr, "azo-backtest: %s\n", err);
        return AZO_EXIT_ERROR;
    }
    // Three results with their series: too big for the stack's comfort.
    mo_bt_result_t *r = calloc(MO_BT_N, sizeof *r);
    if (!r) {
        mo_hist_destroy(&h);
        fprintf(stderr, "azo-backtest: out of memory\n");
        return AZO_EXIT_ERROR;
    }
    int exit = AZO_EXIT_OK;
    if ((rc = mo_backtest_run(h, &conf, r, err, sizeof err))) {
        fprintf(stderr, "azo-backtest: %s: %s\n", history, err);
        exit = AZO_EXIT_ERROR;
    }
    if (!exit && png)
        exit = s_chart(png, history, r);
    if (!exit)
        exit = json ? s_print_json(history, png, h, &conf, r)
                    : (s_print_table(history, h, &conf, r), AZO_EXIT_OK);
    if (!exit && !json && png)
        printf("chart: %s\n", png);
    free(r);
    mo_hist_destroy(&h);
    return exit;

too_many:
    fprintf(stderr, "azo-backtest: more than %d --set options\n", S_MAX_SETS);
    return AZO_EXIT_USAGE;
}
