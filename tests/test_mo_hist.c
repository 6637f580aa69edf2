// test_mo_hist — price histories: CSV in any column order, JSON as an array
// or {"ticks": [...]}, the three forms of ts, stable sorting by time, and
// refusals that name the file, the line (or ticks[i]) and the field.
#include "azo_err.h"
#include "azo_testutil.h"
#include "mo_hist.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define T0 INT64_C(1793491200000) // 2026-11-01T00:00:00Z

static mo_hist_t *
s_ok(const char *name, const char *text)
{
    mo_hist_t *h = NULL;
    char err[512] = "";
    int rc = mo_hist_parse(&h, name, text, strlen(text), err, sizeof err);
    if (rc)
        fail_msg("%s: rc %d, err '%s'", name, rc, err);
    return h;
}

// Parses text that must be refused with AZO_EBADREQ and an error
// containing want; the error must be one line.
static void
s_bad(const char *name, const char *text, const char *want, int line)
{
    mo_hist_t *h = NULL;
    char err[512] = "";
    int rc = mo_hist_parse(&h, name, text, strlen(text), err, sizeof err);
    if (rc != AZO_EBADREQ || !strstr(err, want) || h || !azo_test_one_line(err))
        fail_msg("line %d: %s: rc %d, err '%s', want '%s'", line, name, rc, err,
                 want);
}
#define assert_bad(name, text, want) s_bad((name), (text), (want), __LINE__)

#define HEAD                                                                   \
    "ts,symbol,algorithm,price,block_reward,block_time,net_hashrate,"          \
    "difficulty\n"

static void
test_mo_hist_csv_any_column_order(void **state)
{
    (void)state;
    // Columns shuffled, difficulty absent, padding and quotes, CRLF.
    mo_hist_t *h = s_ok("h.csv", "price, symbol ,ts,block_time,algorithm,"
                                 "block_reward,net_hashrate\r\n"
                                 "1.5,\"LTC\",60,150,scrypt,6.25,1e12\r\n"
                                 "\r\n"
                                 "2.5 , BTC,0, 600,sha256,3.125,9e18\r\n");
    assert_int_equal(mo_hist_count(h), 2);
    assert_int_equal(mo_hist_ncoins(h), 2);
    int64_t ts;
    mo_coin_t c;
    // BTC (file line 4, ts 0) sorts first; coins keep file order numbers.
    assert_int_equal(mo_hist_tick(h, 0, &ts, &c), 1);
    assert_int_equal(ts, 0);
    assert_string_equal(c.symbol, "BTC");
    assert_string_equal(c.algo, "sha256");
    assert_float_equal(c.price, 2.5, 0);
    assert_float_equal(c.block_reward, 3.125, 0);
    assert_float_equal(c.block_time, 600, 0);
    assert_float_equal(c.net_hashrate, 9e18, 0);
    assert_float_equal(c.difficulty, 0, 0);
    assert_int_equal(mo_hist_tick(h, 1, &ts, &c), 0);
    assert_int_equal(ts, 60000);
    assert_string_equal(c.symbol, "LTC");
    assert_float_equal(c.price, 1.5, 0);
    mo_hist_destroy(&h);
    mo_hist_destroy(&h); // NULL-safe
    assert_null(h);
}

static void
test_mo_hist_csv_difficulty_or_hashrate_per_row(void **state)
{
    (void)state;
    mo_hist_t *h = s_ok("h.csv", HEAD "0,BTC,sha256,90000,3.125,600,,1e14\n"
                                      "0,ETC,etchash,20,2.56,13,2e14,\n");
    mo_coin_t c;
    int64_t ts;
    (void)mo_hist_tick(h, 0, &ts, &c);
    assert_float_equal(c.difficulty, 1e14, 0);
    assert_float_equal(c.net_hashrate, 0, 0);
    (void)mo_hist_tick(h, 1, &ts, &c);
    assert_float_equal(c.net_hashrate, 2e14, 0);
    assert_float_equal(c.difficulty, 0, 0);
    mo_hist_destroy(&h);
}

static void
test_mo_hist_ts_forms(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ms;
    } good[] = {
        {"1793491200000", T0},                    // milliseconds
        {"1793491200", T0},                       // seconds (below 1e11)
        {"1793491200.25", T0 + 250},              // fractional seconds
        {"99999999999", INT64_C(99999999999000)}, // below 1e11: seconds
        {"100000000000", INT64_C(100000000000)},  // 1e11: milliseconds
        {"2026-11-01T00:00:00Z", T0},             // ISO-8601 UTC
        {"2026-11-01 00:00:00Z", T0},             // a space for the T
        {"2026-11-01T00:00Z", T0},                // no seconds
        {"2026-11-01T00:00:00.5Z", T0 + 500},
        {"2026-11-01T01:30:00+01:30", T0},                // an offset east
        {"2026-10-31T23:00:00-01:00", T0},                // and west
        {"2028-02-29T00:00:00Z", INT64_C(1835395200000)}, // leap day
        {"0", 0},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t ms = -1, want = good[i].ms;
        if (mo_hist_parse_ts(good[i].text, &ms) != 0 || ms != want)
            fail_msg("'%s': %lld, want %lld", good[i].text, (long long)ms,
                     (long long)want);
    }
    static const char *const bad[] = {
        "",
        "abc",
        "-5",
        "1e300",
        "2026-11-01T00:00:00",  // no zone: local time
        "2026-11-01",           // no time
        "2026-13-01T00:00:00Z", // month 13
        "2027-02-29T00:00:00Z", // not a leap year
        "2026-11-31T00:00:00Z", // November has 30 days
        "2026-11-01T24:00:00Z",
        "2026-11-01T00:00:00Zjunk",
        "2026-11-01T00:00:00+1:00",
        "1969-12-31T23:59:59Z", // before the epoch
        "2026-11-01T00:00:00.Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        if (mo_hist_parse_ts(bad[i], &ms) != -EINVAL)
            fail_msg("'%s' accepted as %lld", bad[i], (long long)ms);
    }
    // The three forms in one file give one time.
    mo_hist_t *h =
        s_ok("h.csv", HEAD "1793491200000,A,x,1,1,60,1000,\n"
                           "1793491200,B,x,1,1,60,1000,\n"
                           "2026-11-01T00:00:00Z,C,x,1,1,60,1000,\n");
    for (size_t i = 0; i < 3; i++) {
        int64_t ts;
        (void)mo_hist_tick(h, i, &ts, NULL);
        assert_int_equal(ts, T0);
    }
    mo_hist_destroy(&h);
}

static void
test_mo_hist_sorts_stably_by_time(void **state)
{
    (void)state;
    // Out of order, with ties: ties keep their file order.
    mo_hist_t *h = s_ok("h.csv", HEAD "120,A,x,3,1,60,1000,\n"
                                      "60,B,x,2,1,60,1000,\n"
                                      "60,A,x,1,1,60,1000,\n"
                                      "0,C,x,9,1,60,1000,\n"
                                      "60,C,x,4,1,60,1000,\n");
    static const struct {
        int64_t ts;
        const char *sym;
        double price;
    } want[] = {{0, "C", 9},
                {60000, "B", 2},
                {60000, "A", 1},
                {60000, "C", 4},
                {120000, "A", 3}};
    assert_int_equal(mo_hist_count(h), 5);
    for (size_t i = 0; i < 5; i++) {
        int64_t ts;
        mo_coin_t c;
        (void)mo_hist_tick(h, i, &ts, &c);
        assert_int_equal(ts, want[i].ts);
        assert_string_equal(c.symbol, want[i].sym);
        assert_float_equal(c.price, want[i].price, 0);
    }
    mo_hist_destroy(&h);
}

static void
test_mo_hist_json_forms(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "[{\"ts\": \"2026-11-01T00:01:00Z\", \"symbol\": \"LTC\", "
        "\"algorithm\": \"scrypt\", \"price\": 95, \"block_reward\": 6.25, "
        "\"block_time\": 150, \"net_hashrate\": 1.5e14, \"difficulty\": "
        "null},\n"
        " {\"ts\": 1793491200, \"symbol\": \"BTC\", \"algorithm\": \"sha256\","
        " \"price\": 90000.5, \"block_reward\": 3.125, \"block_time\": 600, "
        "\"difficulty\": 1e14}]",
        "{\"source\": \"test\", \"ticks\": [{\"ts\": 1793491260000, "
        "\"symbol\": \"LTC\", \"algorithm\": \"scrypt\", \"price\": 95, "
        "\"block_reward\": 6.25, \"block_time\": 150, \"net_hashrate\": "
        "1.5e14}, {\"ts\": 1793491200000, \"symbol\": \"BTC\", \"algorithm\":"
        " \"sha256\", \"price\": 90000.5, \"block_reward\": 3.125, "
        "\"block_time\": 600, \"difficulty\": 100000000000000}]}",
    };
    for (size_t i = 0; i < 2; i++) {
        // By extension, then by content under a neutral name.
        const char *names[] = {"h.json", "history.txt"};
        for (size_t n = 0; n < 2; n++) {
            mo_hist_t *h = s_ok(names[n], texts[i]);
            int64_t ts;
            mo_coin_t c;
            assert_int_equal(mo_hist_count(h), 2);
            assert_int_equal(mo_hist_tick(h, 0, &ts, &c), 1);
            assert_int_equal(ts, T0);
            assert_string_equal(c.symbol, "BTC");
            assert_float_equal(c.price, 90000.5, 0);
            assert_float_equal(c.difficulty, 1e14, 0);
            assert_int_equal(mo_hist_tick(h, 1, &ts, &c), 0);
            assert_int_equal(ts, T0 + 60000);
            assert_string_equal(c.algo, "scrypt");
            assert_float_equal(c.net_hashrate, 1.5e14, 0);
            mo_hist_destroy(&h);
        }
    }
}

static void
test_mo_hist_csv_errors_name_line_and_field(void **state)
{
    (void)state;
    assert_bad("history.csv",
               HEAD "0,A,x,1,1,60,1000,\n"
                    "\n"
                    "60,A,x,-1,1,60,1000,\n",
               "history.csv:4: price: expected a positive number");
    assert_bad("h.csv", HEAD "0,A,x,,1,60,1000,\n",
               "h.csv:2: price: expected a positive number (missing)");
    assert_bad("h.csv", HEAD "0,A,x,abc,1,60,1000,\n",
               "h.csv:2: price: expected a positive number");
    assert_bad("h.csv", HEAD "0,A,x,nan,1,60,1000,\n", "h.csv:2: price:");
    assert_bad("h.csv", HEAD "0,A,x,1,0,60,1000,\n", "h.csv:2: block_reward:");
    assert_bad("h.csv", HEAD "0,A,x,1,1,-60,1000,\n", "h.csv:2: block_time:");
    assert_bad("h.csv", HEAD "0,A,x,1,1,60,,\n",
               "h.csv:2: net_hashrate: expected net_hashrate or difficulty");
    assert_bad("h.csv", HEAD "0,A,x,1,1,60,,-3\n", "h.csv:2: difficulty:");
    assert_bad("h.csv", HEAD "0,B T,x,1,1,60,1000,\n", "h.csv:2: symbol:");
    assert_bad("h.csv", HEAD "0,,x,1,1,60,1000,\n", "h.csv:2: symbol:");
    assert_bad("h.csv", HEAD "0,A,x/y,1,1,60,1000,\n", "h.csv:2: algorithm:");
    assert_bad("h.csv", HEAD "0,ABCDEFGHIJKLMNOPQ,x,1,1,60,1000,\n",
               "h.csv:2: symbol:");
    assert_bad("h.csv", HEAD "yesterday,A,x,1,1,60,1000,\n",
               "h.csv:2: ts: expected Unix seconds or milliseconds, or "
               "ISO-8601");
    assert_bad("h.csv", HEAD ",A,x,1,1,60,1000,\n", "h.csv:2: ts:");
    assert_bad("h.csv", HEAD ",A,x,1,1,60,1000,\n", "(missing)");
    assert_bad("h.csv", HEAD "0,A,x,1,1,60,1000\n",
               "h.csv:2: expected 8 fields, found 7");
    assert_bad("h.csv", HEAD "0,A,x,1,1,60,1000,,\n",
               "h.csv:2: expected 8 fields, found more than 8");
    assert_bad("h.csv",
               HEAD "0,BTC,sha256,1,1,60,1000,\n"
                    "60,BTC,scrypt,1,1,60,1000,\n",
               "h.csv:3: algorithm: BTC is 'scrypt' here but 'sha256' at "
               "line 2");
    // The header.
    assert_bad("h.csv",
               "ts,symbol,algorithm,price,block_reward,block_time,"
               "net_hashrate,colour\n",
               "h.csv:1: header: unknown column 'colour'");
    assert_bad("h.csv",
               "ts,symbol,algorithm,block_reward,block_time,"
               "net_hashrate\n0,A,x,1,60,1\n",
               "h.csv:1: header: no 'price' column");
    assert_bad("h.csv", "ts,symbol,algorithm,price,block_reward,block_time\n",
               "h.csv:1: header: needs a net_hashrate or a difficulty");
    assert_bad("h.csv", "ts,symbol,ts,price\n", "header: column 'ts' twice");
    // Empty files, blank files, a header and nothing else.
    assert_bad("h.csv", "", "h.csv: empty file");
    assert_bad("h.csv", " \n\r\n\t\n", "h.csv: empty file");
    assert_bad("h.json", "", "h.json: empty file");
    assert_bad("h.csv", HEAD, "h.csv: no ticks");
    assert_bad("h.csv", HEAD "\n\n", "h.csv: no ticks");
}

static void
test_mo_hist_csv_nul_and_long_lines(void **state)
{
    (void)state;
    static const char text[] = HEAD "0,A,x,1,1,60,1000,\n0,A,x,1\0,1,60,1,\n";
    mo_hist_t *h = NULL;
    char err[512];
    assert_int_equal(
        mo_hist_parse(&h, "h.csv", text, sizeof text - 1, err, sizeof err),
        AZO_EBADREQ);
    assert_non_null(strstr(err, "h.csv:3: a NUL byte"));
    size_t len = 10000;
    char *big = malloc(len + 1);
    assert_non_null(big);
    memset(big, 'a', len);
    memcpy(big, HEAD, strlen(HEAD));
    big[len] = 0;
    assert_bad("h.csv", big, "h.csv:2: line longer than");
    free(big);
}

static void
test_mo_hist_json_errors_name_index_and_field(void **state)
{
    (void)state;
#define TICK(price)                                                            \
    "{\"ts\": 0, \"symbol\": \"A\", \"algorithm\": \"x\", \"price\": " price   \
    ", \"block_reward\": 1, \"block_time\": 60, \"net_hashrate\": 1000}"
    assert_bad("h.json", "[" TICK("1") "," TICK("-2") "]",
               "h.json: ticks[1].price: expected a positive number");
    assert_bad("h.json", "{\"ticks\": [" TICK("\"1\"") "]}",
               "h.json: ticks[0].price: expected a positive number");
    assert_bad("h.json", "[" TICK("true") "]", "h.json: ticks[0].price:");
    assert_bad("h.json", "[" TICK("[1]") "]", "h.json: ticks[0].price:");
    assert_bad("h.json", "[" TICK("null") "]",
               "h.json: ticks[0].price: expected a positive number "
               "(missing)");
    assert_bad("h.json", "[" TICK("1") ", 5]",
               "h.json: ticks[1]: expected an object");
    assert_bad("h.json",
               "[{\"ts\": 0, \"symbol\": \"A\", \"algorithm\": \"x\", "
               "\"price\": 1, \"block_reward\": 1, \"block_time\": 60, "
               "\"net_hashrate\": 1000, \"colour\": \"red\"}]",
               "h.json: ticks[0].colour: unknown key");
    assert_bad("h.json",
               "[{\"symbol\": \"A\", \"algorithm\": \"x\", \"price\": 1, "
               "\"block_reward\": 1, \"block_time\": 60, \"net_hashrate\": "
               "1000}]",
               "h.json: ticks[0].ts: expected Unix seconds or milliseconds");
    assert_bad("h.json",
               "[{\"ts\": \"noon\", \"symbol\": \"A\", \"algorithm\": \"x\", "
               "\"price\": 1, \"block_reward\": 1, \"block_time\": 60, "
               "\"net_hashrate\": 1000}]",
               "h.json: ticks[0].ts:");
    assert_bad("h.json",
               "[{\"ts\": 0, \"symbol\": 7, \"algorithm\": \"x\", \"price\": "
               "1, \"block_reward\": 1, \"block_time\": 60, \"net_hashrate\": "
               "1000}]",
               "h.json: ticks[0].symbol:");
    assert_bad("h.json", "[" TICK("1") ",", "h.json:1:");
    assert_bad("h.json", "{\"ticks\": 5}", "h.json: expected an array");
    assert_bad("h.json", "{\"data\": []}", "h.json: expected an array");
    assert_bad("h.json", "\"ticks\"", "h.json:");
    assert_bad("h.json", "[]", "h.json: no ticks");
    assert_bad("h.json", "{\"ticks\": []}", "h.json: no ticks");
    assert_bad("h.json", "[{\"ts\": 0, \"ts\": 1}]", "h.json:1:"); // twice
#undef TICK
}

static void
test_mo_hist_limits(void **state)
{
    (void)state;
    // More coins than MO_HIST_COINS_MAX.
    size_t cap = strlen(HEAD) + (MO_HIST_COINS_MAX + 1) * 32 + 1;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t at = (size_t)snprintf(text, cap, HEAD);
    for (int i = 0; i <= MO_HIST_COINS_MAX; i++)
        at +=
            (size_t)snprintf(text + at, cap - at, "0,C%d,x,1,1,60,1000,\n", i);
    char want[64];
    snprintf(want, sizeof want, "h.csv:%d: symbol: more than %d coins",
             MO_HIST_COINS_MAX + 2, MO_HIST_COINS_MAX);
    assert_bad("h.csv", text, want);
    free(text);

    // More bytes than either format may hold: refused before parsing.
    size_t big = MO_HIST_CSV_MAX + 1;
    char *blob = malloc(big);
    assert_non_null(blob);
    memset(blob, ' ', big);
    mo_hist_t *h = NULL;
    char err[512];
    assert_int_equal(mo_hist_parse(&h, "h.csv", blob, big, err, sizeof err),
                     -EFBIG);
    assert_non_null(strstr(err, "h.csv: "));
    assert_int_equal(mo_hist_parse(&h, "h.json", blob, MO_HIST_JSON_MAX + 1,
                                   err, sizeof err),
                     -EFBIG);
    assert_non_null(strstr(err, "JSON"));
    assert_null(h);
    free(blob);

    // More rows than MO_HIST_ROWS_MAX: one coin, one short line each.
    static const char row[] = "0,A,x,1,1,60,1,\n";
    size_t n = MO_HIST_ROWS_MAX + 1, len = strlen(HEAD) + n * strlen(row);
    text = malloc(len + 1);
    assert_non_null(text);
    memcpy(text, HEAD, strlen(HEAD));
    for (size_t i = 0; i < n; i++)
        memcpy(text + strlen(HEAD) + i * strlen(row), row, strlen(row));
    text[len] = 0;
    snprintf(want, sizeof want, "h.csv:%d: more than %d ticks",
             MO_HIST_ROWS_MAX + 2, MO_HIST_ROWS_MAX);
    assert_bad("h.csv", text, want);
    free(text);
}

static void
test_mo_hist_load_files(void **state)
{
    (void)state;
    char dir[512], path[600];
    assert_int_equal(azo_test_tmpdir(dir, sizeof dir, "mo_hist"), 0);
    snprintf(path, sizeof path, "%s/h.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(HEAD "0,A,x,1,1,60,1000,\n60,A,x,1,1,60,1000,\n", f);
    assert_int_equal(fclose(f), 0);
    mo_hist_t *h = NULL;
    char err[512];
    assert_int_equal(mo_hist_load(&h, path, err, sizeof err), 0);
    assert_int_equal(mo_hist_count(h), 2);
    mo_hist_destroy(&h);

    // A bad file names its path and line.
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(HEAD "0,A,x,1,1,60,1000,\n60,A,x,0,1,60,1000,\n", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(mo_hist_load(&h, path, err, sizeof err), AZO_EBADREQ);
    char want[700];
    snprintf(want, sizeof want, "%s:3: price:", path);
    assert_non_null(strstr(err, want));
    assert_null(h);

    // Missing, a directory, a FIFO (refused, not waited on).
    snprintf(path, sizeof path, "%s/none.csv", dir);
    assert_int_equal(mo_hist_load(&h, path, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "none.csv"));
    assert_int_equal(mo_hist_load(&h, dir, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "not a regular file"));
    snprintf(path, sizeof path, "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(mo_hist_load(&h, path, err, sizeof err), -EINVAL);
    assert_null(h);
    azo_test_rm_rf(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mo_hist_csv_any_column_order),
        cmocka_unit_test(test_mo_hist_csv_difficulty_or_hashrate_per_row),
        cmocka_unit_test(test_mo_hist_ts_forms),
        cmocka_unit_test(test_mo_hist_sorts_stably_by_time),
        cmocka_unit_test(test_mo_hist_json_forms),
        cmocka_unit_test(test_mo_hist_csv_errors_name_line_and_field),
        cmocka_unit_test(test_mo_hist_csv_nul_and_long_lines),
        cmocka_unit_test(test_mo_hist_json_errors_name_index_and_field),
        cmocka_unit_test(test_mo_hist_limits),
        cmocka_unit_test(test_mo_hist_load_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
