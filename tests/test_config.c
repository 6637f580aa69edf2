// test_config — unit tests for azo_config. Each test gets its own temporary
// directory (under $AZO_TEST_TMP when it exists, else /tmp) where it writes
// azo.cfg; teardown removes the directory and clears the embedded default.
// The schema below mirrors azod's real one in shape.
#include "azo_config.h"
#include "azo_testutil.h"
#include "azo_err.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cmocka.h>

#define S_MIB (1024 * 1024)
#define S_GIB (1024LL * S_MIB)

static const azo_cfg_key_t s_schema[] = {
    {"node", AZO_CFG_SECTION, NULL, 0, 0, NULL, NULL},
    {"node/name", AZO_CFG_STR, NULL, 0, 0, NULL, "this node's name"},
    {"node/data_dir", AZO_CFG_STR, "./data", 0, 0, NULL, NULL},
    {"node/load_factor", AZO_CFG_REAL, "0.75", 0, 1, NULL, NULL},
    {"endpoints", AZO_CFG_SECTION, NULL, 0, 0, NULL, NULL},
    {"endpoints/control", AZO_CFG_ENDPOINT, "tcp://127.0.0.1:7710", 0, 0, NULL,
     NULL},
    {"endpoints/events", AZO_CFG_ENDPOINT, NULL, 0, 0, NULL, NULL},
    {"supervisor", AZO_CFG_SECTION, NULL, 0, 0, NULL, NULL},
    {"supervisor/strategy", AZO_CFG_ENUM, "one_for_one", 0, 0,
     "one_for_one|one_for_all|rest_for_one", NULL},
    {"supervisor/max_restarts", AZO_CFG_INT, "10", 0, 1000000, NULL, NULL},
    {"supervisor/period", AZO_CFG_DURATION, "60s", 1, 86400000, NULL, NULL},
    {"store", AZO_CFG_SECTION, NULL, 0, 0, NULL, NULL},
    {"store/map_size", AZO_CFG_SIZE, "1GiB", 0, 0, NULL, NULL},
    {"store/sync", AZO_CFG_BOOL, "true", 0, 0, NULL, NULL},
    {"actors", AZO_CFG_SECTION, NULL, 0, 0, NULL, NULL},
    {"actors/*", AZO_CFG_SECTION, NULL, 0, 0, NULL, NULL},
    {"actors/*/mode", AZO_CFG_ENUM, "thread", 0, 0, "thread|process", NULL},
    {"actors/*/jobs", AZO_CFG_SECTION, NULL, 0, 0, NULL, NULL},
    {"actors/*/jobs/*", AZO_CFG_SECTION, NULL, 0, 0, NULL, NULL},
    {"actors/*/jobs/*/every", AZO_CFG_DURATION, NULL, 0, 0, NULL, NULL},
    {"plugins", AZO_CFG_SECTION, NULL, 0, 0, NULL, NULL},
    {"plugins/alpha", AZO_CFG_OPTIONAL, NULL, 0, 0, NULL, NULL},
    {"plugins/alpha/level", AZO_CFG_INT, "3", 0, 9, NULL, NULL},
    {"plugins/alpha/opts", AZO_CFG_SECTION, NULL, 0, 0, NULL, NULL},
    {"plugins/alpha/opts/x", AZO_CFG_BOOL, "1", 0, 0, NULL, NULL},
    {"plugins/beta", AZO_CFG_OPTIONAL, NULL, 0, 0, NULL, NULL},
    {"plugins/beta/level", AZO_CFG_INT, "5", 0, 9, NULL, NULL},
};
#define S_NSCHEMA (sizeof s_schema / sizeof s_schema[0])

typedef struct {
    char dir[PATH_MAX];       // the test's own directory
    char file[PATH_MAX + 16]; // dir/azo.cfg
    char err[1024];           // error text of the last load
    azo_config_t *cfg;        // owned; NULL after a failed load
} fixture_t;

static int
setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    if (azo_test_tmpdir(f->dir, sizeof f->dir, "test_config") < 0) {
        free(f);
        return -1;
    }
    snprintf(f->file, sizeof f->file, "%s/azo.cfg", f->dir);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture_t *f = *state;
    azo_config_destroy(&f->cfg);
    azo_config_set_default_g(NULL);
    azo_test_rm_rf(f->dir);
    free(f);
    return 0;
}

static void
s_write(const char *path, const char *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

// Loads path (NULL: the embedded default) into f->cfg.
static int
s_load_path(fixture_t *f, const char *path, const char *const *sets,
            size_t nsets)
{
    azo_config_destroy(&f->cfg);
    memset(f->err, 'x', sizeof f->err - 1); // proves load clears it
    f->err[sizeof f->err - 1] = '\0';
    int rc = azo_config_load(&f->cfg, path, sets, nsets, s_schema, S_NSCHEMA,
                             f->err, sizeof f->err);
    // The contract: success and failure are never mixed.
    if (rc == 0) {
        assert_non_null(f->cfg);
        assert_string_equal(f->err, "");
    } else {
        assert_null(f->cfg);
        assert_true(f->err[0] != '\0');
    }
    return rc;
}

// Writes len bytes of text (len 0: strlen) to f->file and loads it.
static int
s_load(fixture_t *f, const char *text, size_t len, const char *const *sets,
       size_t nsets)
{
    s_write(f->file, text, len ? len : strlen(text));
    return s_load_path(f, f->file, sets, nsets);
}

static void
test_config_valid_file_round_trip(void **state)
{
    fixture_t *f = *state;
    const char *text = "# azo test configuration\n"
                       "node\n"
                       "    name = alpha   # trailing comment\n"
                       "    data_dir = \"/var/lib/azo # not a comment\"\n"
                       "    load_factor = 0.5\n"
                       "\n"
                       "endpoints\n"
                       "    control = tcp://[::1]:7710\n"
                       "    events = ipc:///run/azo/events\n"
                       "supervisor\n"
                       "    strategy = rest_for_one\n"
                       "    max_restarts = 5\n"
                       "    period = 1h30m\n"
                       "store\n"
                       "    map_size = 64MiB\n"
                       "    sync = Off\n"
                       "actors\n"
                       "    scheduler\n"
                       "        mode = process\n"
                       "        jobs\n"
                       "            cleanup\n"
                       "                every = 5m\n"
                       "    payments\n";
    assert_int_equal(s_load(f, text, 0, NULL, 0), 0);
    azo_config_t *c = f->cfg;
    assert_string_equal(azo_config_source(c), f->file);
    assert_string_equal(azo_config_str(c, "node/name"), "alpha");
    assert_string_equal(azo_config_str(c, "node/data_dir"),
                        "/var/lib/azo # not a comment");
    assert_true(azo_config_real(c, "node/load_factor", 9.0) == 0.5);
    assert_string_equal(azo_config_str(c, "endpoints/control"),
                        "tcp://[::1]:7710");
    assert_string_equal(azo_config_str(c, "endpoints/events"),
                        "ipc:///run/azo/events");
    assert_string_equal(azo_config_str(c, "supervisor/strategy"),
                        "rest_for_one");
    assert_int_equal(azo_config_int(c, "supervisor/max_restarts", -1), 5);
    assert_int_equal(azo_config_ms(c, "supervisor/period", -1), 5400000);
    assert_int_equal(azo_config_size(c, "store/map_size", -1), 64 * S_MIB);
    assert_false(azo_config_bool(c, "store/sync", true));
    assert_string_equal(azo_config_str(c, "actors/scheduler/mode"), "process");
    assert_int_equal(
        azo_config_ms(c, "actors/scheduler/jobs/cleanup/every", -1), 300000);
    // The wildcard default reached the actor that did not set its mode.
    assert_string_equal(azo_config_str(c, "actors/payments/mode"), "thread");

    zconfig_t *actors = azo_config_section(c, "actors");
    assert_non_null(actors);
    zconfig_t *a = zconfig_child(actors);
    assert_non_null(a);
    assert_string_equal(zconfig_name(a), "scheduler");
    a = zconfig_next(a);
    assert_non_null(a);
    assert_string_equal(zconfig_name(a), "payments");
    assert_null(zconfig_next(a));
    assert_non_null(azo_config_section(c, ""));
    assert_null(azo_config_section(c, "actors/nobody"));
}

static void
test_config_getters_return_dflt_when_absent(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_load(f, "node\n    name = a\n", 0, NULL, 0), 0);
    azo_config_t *c = f->cfg;
    assert_null(azo_config_str(c, "endpoints/events"));
    assert_null(azo_config_str(c, "actors/x/mode"));
    assert_int_equal(azo_config_int(c, "actors/x/max", 42), 42);
    assert_true(azo_config_bool(c, "actors/x/on", true));
    assert_int_equal(azo_config_ms(c, "actors/x/jobs/j/every", 7), 7);
    assert_int_equal(azo_config_size(c, "actors/x/size", 8), 8);
    assert_true(azo_config_real(c, "actors/x/real", 1.5) == 1.5);
    // A getter of the wrong type for a key also falls back to dflt.
    assert_int_equal(azo_config_int(c, "node/name", 3), 3);
    assert_null(azo_config_section(c, "actors"));
}

static void
test_config_defaults_applied(void **state)
{
    fixture_t *f = *state;
    const char *text = "node\n"
                       "    name = a\n"
                       "actors\n"
                       "    x\n"
                       "    y\n"
                       "        mode = process\n"
                       "    z\n"
                       "        jobs\n";
    assert_int_equal(s_load(f, text, 0, NULL, 0), 0);
    azo_config_t *c = f->cfg;
    assert_string_equal(azo_config_str(c, "node/data_dir"), "./data");
    assert_true(azo_config_real(c, "node/load_factor", 0) == 0.75);
    assert_string_equal(azo_config_str(c, "endpoints/control"),
                        "tcp://127.0.0.1:7710");
    assert_null(azo_config_str(c, "endpoints/events"));
    assert_string_equal(azo_config_str(c, "supervisor/strategy"),
                        "one_for_one");
    assert_int_equal(azo_config_int(c, "supervisor/max_restarts", -1), 10);
    assert_int_equal(azo_config_ms(c, "supervisor/period", -1), 60000);
    assert_int_equal(azo_config_size(c, "store/map_size", -1), S_GIB);
    assert_true(azo_config_bool(c, "store/sync", false));
    assert_string_equal(azo_config_str(c, "actors/x/mode"), "thread");
    assert_string_equal(azo_config_str(c, "actors/y/mode"), "process");
    assert_string_equal(azo_config_str(c, "actors/z/mode"), "thread");
    // No default below a wildcard creates sections that did not exist.
    assert_null(azo_config_section(c, "actors/x/jobs"));
    assert_non_null(azo_config_section(c, "actors/z/jobs"));
    assert_null(zconfig_child(azo_config_section(c, "actors/z/jobs")));
}

// An OPTIONAL section (an actor to run) comes only from the file or an
// override, never from its keys' defaults; present, it gets them.
static void
test_config_optional_sections_are_not_created(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_load(f, "plugins\n    alpha\n", 0, NULL, 0), 0);
    assert_non_null(azo_config_section(f->cfg, "plugins/alpha"));
    assert_int_equal(azo_config_int(f->cfg, "plugins/alpha/level", -1), 3);
    assert_true(azo_config_bool(f->cfg, "plugins/alpha/opts/x", false));
    assert_null(azo_config_section(f->cfg, "plugins/beta"));
    assert_int_equal(azo_config_int(f->cfg, "plugins/beta/level", -1), -1);

    const char *sets[] = {"plugins/beta/level=7"};
    assert_int_equal(s_load(f, "", 0, sets, 1), 0);
    assert_null(azo_config_section(f->cfg, "plugins/alpha"));
    assert_int_equal(azo_config_int(f->cfg, "plugins/beta/level", -1), 7);
    // A plain section with defaults below is still created.
    assert_string_equal(azo_config_str(f->cfg, "supervisor/strategy"),
                        "one_for_one");
}

static void
test_config_empty_file_is_all_defaults(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_load(f, "", 0, NULL, 0), 0);
    azo_config_t *c = f->cfg;
    assert_null(azo_config_str(c, "node/name"));
    assert_string_equal(azo_config_str(c, "node/data_dir"), "./data");
    assert_int_equal(azo_config_ms(c, "supervisor/period", -1), 60000);
    assert_null(azo_config_section(c, "actors"));

    // Comments, blank lines and CRLF line ends alone are empty too.
    assert_int_equal(s_load(f, "# nothing\r\n\r\n    # here\r\n", 0, NULL, 0),
                     0);
    assert_string_equal(azo_config_str(f->cfg, "supervisor/strategy"),
                        "one_for_one");
}

static void
test_config_set_overrides(void **state)
{
    fixture_t *f = *state;
    const char *text = "node\n"
                       "    name = alpha\n"
                       "supervisor\n"
                       "    strategy = one_for_one\n"
                       "    period = 60\n"; // bad, but overridden
    const char *sets[] = {
        "supervisor/strategy=one_for_all",  // replaces a file value
        "supervisor/period=5s",             // replaces a bad file value
        "node/name=a=b",                    // splits at the first '='
        "actors/extra/jobs/tick/every=10s", // creates sections
        "/store/map_size=2g",               // zconfig-style leading '/'
        "supervisor/max_restarts=1",        // creates a key
        "supervisor/max_restarts=2",        // the last one wins
    };
    assert_int_equal(s_load(f, text, 0, sets, sizeof sets / sizeof *sets), 0);
    azo_config_t *c = f->cfg;
    assert_string_equal(azo_config_str(c, "supervisor/strategy"),
                        "one_for_all");
    assert_int_equal(azo_config_ms(c, "supervisor/period", -1), 5000);
    assert_string_equal(azo_config_str(c, "node/name"), "a=b");
    assert_int_equal(azo_config_ms(c, "actors/extra/jobs/tick/every", -1),
                     10000);
    // The section the override created got its wildcard default.
    assert_string_equal(azo_config_str(c, "actors/extra/mode"), "thread");
    assert_int_equal(azo_config_size(c, "store/map_size", -1), 2 * S_GIB);
    assert_int_equal(azo_config_int(c, "supervisor/max_restarts", -1), 2);

    // The longest ipc path that fits in sun_path is accepted.
    char ipc[160] = "endpoints/events=ipc://";
    size_t at = strlen(ipc);
    memset(ipc + at, 'p', 106);
    ipc[at + 106] = '\0';
    const char *ipc_set[] = {ipc};
    assert_int_equal(s_load(f, "", 0, ipc_set, 1), 0);
    assert_int_equal(strlen(azo_config_str(f->cfg, "endpoints/events")),
                     strlen("ipc://") + 106);

    // An unknown key from an override names the override.
    const char *bogus[] = {"node/name=beta", "supervisor/bogus=1"};
    assert_int_equal(s_load(f, "node\n    name = alpha\n", 0, bogus, 2),
                     AZO_EBADREQ);
    assert_string_equal(f->err,
                        "--set supervisor/bogus=1: supervisor/bogus: unknown "
                        "key (supervisor has: strategy, max_restarts, "
                        "period)");
}

static void
test_config_embedded_default(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_load_path(f, NULL, NULL, 0), -ENOENT);
    assert_non_null(strstr(f->err, "embedded: no default configuration"));

    azo_config_set_default_g("node\n"
                             "    name = embedded-node\n"
                             "actors\n"
                             "    scheduler\n");
    const char *sets[] = {"actors/scheduler/mode=process"};
    assert_int_equal(s_load_path(f, NULL, sets, 1), 0);
    assert_string_equal(azo_config_source(f->cfg), "embedded");
    assert_string_equal(azo_config_str(f->cfg, "node/name"), "embedded-node");
    assert_string_equal(azo_config_str(f->cfg, "actors/scheduler/mode"),
                        "process");
    assert_int_equal(azo_config_ms(f->cfg, "supervisor/period", -1), 60000);

    azo_config_set_default_g("node\n    nam = x\n");
    assert_int_equal(s_load_path(f, NULL, NULL, 0), AZO_EBADREQ);
    assert_string_equal(f->err, "embedded:2: node/nam: unknown key (node "
                                "has: name, data_dir, load_factor)");
}

typedef struct {
    const char *text;    // the file
    size_t len;          // 0: strlen(text)
    const char *sets[2]; // overrides, NULL-terminated
    int line;            // >0: "FILE:line: ", 0: "--set ", -1: "FILE: "
    const char *expect;  // a substring of the error
} s_bad_t;

static const s_bad_t s_bad[] = {
    // ZPL syntax
    {"node\n  name = a\n", 0, {NULL}, 2, ": indent 4 spaces at once"},
    {"node\n  # note\n", 0, {NULL}, 2, "indent 4 spaces at once"},
    {"node\n        name = a\n", 0, {NULL}, 2, ": indented too deep"},
    {"name = a\n    x\n        y\n            z\n                  w\n",
     0,
     {NULL},
     5,
     "indent 4 spaces"},
    {"node\n    name = 'abc\n", 0, {NULL}, 2, ": missing closing '"},
    {"node\n    name = \"abc\" def\n", 0, {NULL}, 2, "invalid syntax at 'def'"},
    {"node:\n", 0, {NULL}, 1, ": invalid syntax at ':'"},
    {"node extra\n", 0, {NULL}, 1, "invalid syntax at 'extra'"},
    {"= 5\n", 0, {NULL}, 1, "invalid syntax at '= 5'"},
    {"node\n\tname = a\n", 0, {NULL}, 2, ": tab in indentation"},
    {"node/name = a\n", 0, {NULL}, 1, "'/' is not allowed in key name"},
    {"# c\r\n\r\nnode\r\n    name = a\r\nbogus\r\n",
     0,
     {NULL},
     5,
     ": bogus: unknown key"},
    // Unknown keys, with the names allowed at that level
    {"node\n    name = a\nbogus = 1\n",
     0,
     {NULL},
     3,
     ": bogus: unknown key (top level has: node, endpoints, supervisor, "
     "store, actors, plugins)"},
    {"supervisor\n    strategy = one_for_one\n    restarts = 3\n",
     0,
     {NULL},
     3,
     ": supervisor/restarts: unknown key (supervisor has: strategy, "
     "max_restarts, period)"},
    {"actors\n    sched\n        mood = thread\n",
     0,
     {NULL},
     3,
     ": actors/sched/mood: unknown key (actors/sched has: mode, jobs)"},
    {"actors\n    s\n        jobs\n            j\n                when = 5s\n",
     0,
     {NULL},
     5,
     ": actors/s/jobs/j/when: unknown key (actors/s/jobs/j has: every)"},
    // Types
    {"supervisor\n    strategy = one_for_none\n",
     0,
     {NULL},
     2,
     ": supervisor/strategy: expected one of "
     "one_for_one|one_for_all|rest_for_one, got 'one_for_none'"},
    {"actors\n    s\n        mode = threads\n",
     0,
     {NULL},
     3,
     ": actors/s/mode: expected one of thread|process, got 'threads'"},
    {"supervisor\n    max_restarts = ten\n",
     0,
     {NULL},
     2,
     ": supervisor/max_restarts: expected an integer, got 'ten'"},
    {"supervisor\n    max_restarts = 10x\n",
     0,
     {NULL},
     2,
     "expected an integer, got '10x'"},
    {"supervisor\n    max_restarts = 1.5\n",
     0,
     {NULL},
     2,
     "expected an integer, got '1.5'"},
    {"supervisor\n    max_restarts = ' 10'\n",
     0,
     {NULL},
     2,
     "expected an integer, got ' 10'"},
    {"supervisor\n    max_restarts\n",
     0,
     {NULL},
     2,
     "expected an integer, got ''"},
    {"supervisor\n    max_restarts = -1\n",
     0,
     {NULL},
     2,
     "expected an integer between 0 and 1000000, got '-1'"},
    {"supervisor\n    max_restarts = 1000001\n",
     0,
     {NULL},
     2,
     "expected an integer between 0 and 1000000, got '1000001'"},
    {"supervisor\n    max_restarts = 99999999999999999999\n",
     0,
     {NULL},
     2,
     "expected an integer between 0 and 1000000"},
    {"supervisor\n    period = 60\n",
     0,
     {NULL},
     2,
     ": supervisor/period: expected a duration with a unit (250ms, 5s, 10m, "
     "6h, 7d), got '60'"},
    {"# top\n\nsupervisor\n    # c\n    period = 60   # no unit\n",
     0,
     {NULL},
     5,
     "supervisor/period: expected a duration"},
    {"supervisor\n    period = -5s\n",
     0,
     {NULL},
     2,
     "expected a duration with a unit"},
    {"supervisor\n    period = 5 s\n",
     0,
     {NULL},
     2,
     "expected a duration with a unit"},
    {"supervisor\n    period = 2d\n",
     0,
     {NULL},
     2,
     "expected a duration between 1ms and 1d, got '2d'"},
    {"supervisor\n    period = 0\n",
     0,
     {NULL},
     2,
     "expected a duration between 1ms and 1d, got '0'"},
    {"store\n    map_size = 10X\n",
     0,
     {NULL},
     2,
     ": store/map_size: expected a size"},
    {"store\n    map_size = -1\n", 0, {NULL}, 2, "expected a size"},
    {"store\n    map_size = 1.5G\n", 0, {NULL}, 2, "expected a size"},
    {"store\n    map_size = 99999999T\n", 0, {NULL}, 2, "expected a size"},
    {"store\n    sync = maybe\n",
     0,
     {NULL},
     2,
     ": store/sync: expected true|false, yes|no, on|off or 1|0, got "
     "'maybe'"},
    {"node\n    load_factor = fast\n",
     0,
     {NULL},
     2,
     ": node/load_factor: expected a number, got 'fast'"},
    {"node\n    load_factor = nan\n", 0, {NULL}, 2, "expected a number"},
    {"node\n    load_factor = 1e999\n", 0, {NULL}, 2, "expected a number"},
    {"node\n    load_factor = 0x1p-1\n", 0, {NULL}, 2, "expected a number"},
    {"node\n    load_factor = 1.5\n",
     0,
     {NULL},
     2,
     "expected a number between 0 and 1, got '1.5'"},
    {"node\n    name =\n",
     0,
     {NULL},
     2,
     ": node/name: expected a non-empty string (this node's name)"},
    // Endpoints
    {"endpoints\n    control = tcp://127.0.0.1\n",
     0,
     {NULL},
     2,
     ": endpoints/control: expected tcp://HOST:PORT, ipc://PATH or "
     "inproc://NAME, got 'tcp://127.0.0.1': missing :PORT"},
    {"endpoints\n    control = tcp://:80\n", 0, {NULL}, 2, "empty HOST"},
    {"endpoints\n    control = tcp://h:0\n",
     0,
     {NULL},
     2,
     "PORT must be 1..65535 or *"},
    {"endpoints\n    control = tcp://h:65536\n",
     0,
     {NULL},
     2,
     "PORT must be 1..65535"},
    {"endpoints\n    control = tcp://h:http\n",
     0,
     {NULL},
     2,
     "PORT must be 1..65535"},
    {"endpoints\n    control = tcp://h:-1\n",
     0,
     {NULL},
     2,
     "PORT must be 1..65535"},
    {"endpoints\n    control = udp://h:1\n",
     0,
     {NULL},
     2,
     "got 'udp://h:1': unknown transport"},
    {"endpoints\n    control = 127.0.0.1:80\n",
     0,
     {NULL},
     2,
     "unknown transport"},
    {"endpoints\n    control = ipc://\n", 0, {NULL}, 2, "empty ipc PATH"},
    {"endpoints\n    control = ipc:///run/"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", // 107 bytes after ipc://
     0,
     {NULL},
     2,
     "ipc PATH longer than 106 bytes"},
    {"endpoints\n    control = inproc://\n", 0, {NULL}, 2, "empty inproc NAME"},
    {"endpoints\n    control = tcp://[zz]:80\n",
     0,
     {NULL},
     2,
     "bad IPv6 address"},
    {"endpoints\n    control = tcp://[::1:80\n", 0, {NULL}, 2, "missing ']'"},
    {"endpoints\n    control = tcp://::1:80\n",
     0,
     {NULL},
     2,
     "HOST must be a name, an IPv4 address, * or [IPv6]"},
    {"endpoints\n    control = tcp://300.1.1.1:80\n",
     0,
     {NULL},
     2,
     "bad IPv4 address"},
    // Shape
    {"node\n    name = a\n        x = 1\n",
     0,
     {NULL},
     2,
     ": node/name: expected a value, not a section"},
    {"supervisor = 5\n    strategy = one_for_one\n",
     0,
     {NULL},
     1,
     ": supervisor: expected a section (keys indented below it), got a "
     "value '5'"},
    {"actors = scheduler\n", 0, {NULL}, 1, ": actors: expected a section"},
    {"node\n    name = a\n    name = b\n",
     0,
     {NULL},
     3,
     ": node/name: duplicate key (first at line 2)"},
    {"node\n    name = a\nnode\n    data_dir = x\n",
     0,
     {NULL},
     3,
     ": node: duplicate key (first at line 1)"},
    {"actors\n    a\n    b\n    a\n",
     0,
     {NULL},
     4,
     ": actors/a: duplicate key (first at line 2)"},
    // Not text
    {"\x01\x02\xff\xfe", 0, {NULL}, 1, ": control character 0x01"},
    {"node\n    name = a\0b\n", 20, {NULL}, 2, ": NUL byte"},
    {"node\n    name = caf\xe9\n", 0, {NULL}, 2, ": invalid UTF-8"},
    {"node\n    name = \xed\xa0\x80\n", 0, {NULL}, 2, ": invalid UTF-8"},
    {"\xef\xbb\xbfnode\n", 0, {NULL}, 1, ": UTF-8 byte order mark"},
    {"node\r\n    name = a\rb\n", 0, {NULL}, 2, ": control character 0x0d"},
    {"node\n    name = a\x1b[31m\n", 0, {NULL}, 2, "control character 0x1b"},
    // Overrides
    {"", 0, {"nopath"}, 0, "--set nopath: expected PATH=VALUE"},
    {"", 0, {"=5"}, 0, "--set =5: empty PATH"},
    {"", 0, {"a//b=1"}, 0, "--set a//b=1: bad PATH 'a//b'"},
    {"", 0, {"node/=1"}, 0, "bad PATH"},
    {"", 0, {"supervisor/*/x=1"}, 0, "bad PATH"},
    {"", 0, {"node/name=a\x01"}, 0, "control character in VALUE"},
    {"",
     0,
     {"supervisor/period=60"},
     0,
     "--set supervisor/period=60: supervisor/period: expected a duration "
     "with a unit"},
    {"",
     0,
     {"node/name=ok", "store/map_size=lots"},
     0,
     "--set store/map_size=lots: store/map_size: expected a size"},
    {"", 0, {"bogus=1"}, 0, "--set bogus=1: bogus: unknown key (top level"},
    {"",
     0,
     {"supervisor=5"},
     0,
     "--set supervisor=5: supervisor: expected a section"},
    {"node\n    name = a\n",
     0,
     {"node/name/x=1"},
     0,
     "--set node/name/x=1: node/name: expected a value, not a section"},
    {"supervisor\n    period = 60\n",
     0,
     {"node/name=x"},
     2,
     "supervisor/period: expected a duration"},
};

static void
test_config_malformed_table(void **state)
{
    fixture_t *f = *state;
    for (size_t i = 0; i < sizeof s_bad / sizeof s_bad[0]; i++) {
        const s_bad_t *b = &s_bad[i];
        size_t nsets = 0;
        while (nsets < 2 && b->sets[nsets])
            nsets++;
        int rc = s_load(f, b->text, b->len, b->sets, nsets);
        char prefix[PATH_MAX + 32];
        if (b->line > 0)
            snprintf(prefix, sizeof prefix, "%s:%d: ", f->file, b->line);
        else if (b->line == 0)
            snprintf(prefix, sizeof prefix, "--set ");
        else
            snprintf(prefix, sizeof prefix, "%s: ", f->file);
        if (rc != AZO_EBADREQ || strncmp(f->err, prefix, strlen(prefix)) ||
            !strstr(f->err, b->expect))
            fail_msg("row %zu: rc %d, got \"%s\", want prefix \"%s\" and "
                     "\"%s\"",
                     i, rc, f->err, prefix, b->expect);
    }
}

static void
test_config_missing_file(void **state)
{
    fixture_t *f = *state;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/nope.cfg", f->dir);
    assert_int_equal(s_load_path(f, path, NULL, 0), -ENOENT);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s: cannot read: No such file or directory",
             path);
    assert_string_equal(f->err, want);
}

static void
test_config_directory_instead_of_file(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_load_path(f, f->dir, NULL, 0), -EISDIR);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s: cannot read: Is a directory", f->dir);
    assert_string_equal(f->err, want);
}

// Fills buf[0..len) with 64-byte comment lines.
static void
s_fill_comments(char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (i % 64 == 63) ? '\n' : (i % 64 == 0) ? '#' : 'c';
}

static void
test_config_size_limit(void **state)
{
    fixture_t *f = *state;
    size_t big = 16 * S_MIB + S_MIB / 2;
    char *buf = malloc(big);
    assert_non_null(buf);
    s_fill_comments(buf, big);
    assert_int_equal(s_load(f, buf, big, NULL, 0), -EFBIG);
    assert_non_null(strstr(f->err, ": cannot read: file too large"));
    // Exactly 16 MiB is still accepted.
    assert_int_equal(s_load(f, buf, 16 * S_MIB, NULL, 0), 0);
    free(buf);
}

static void
test_config_line_length_limit(void **state)
{
    fixture_t *f = *state;
    // "node\n" then "    name = " and a value up to exactly 1024 bytes.
    char text[2100];
    size_t head = strlen("node\n    name = ");
    memcpy(text, "node\n    name = ", head);
    size_t vlen = 1024 - (head - 5);
    memset(text + head, 'v', vlen);
    text[head + vlen] = '\n';
    text[head + vlen + 1] = '\0';
    assert_int_equal(s_load(f, text, 0, NULL, 0), 0);
    // zconfig would cut longer lines silently; we must not lose bytes.
    assert_int_equal(strlen(azo_config_str(f->cfg, "node/name")), vlen);

    memset(text + head, 'v', 2000);
    text[head + 2000] = '\n';
    text[head + 2001] = '\0';
    assert_int_equal(s_load(f, text, 0, NULL, 0), AZO_EBADREQ);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s:2: line too long (2011 bytes, max 1024)",
             f->file);
    assert_string_equal(f->err, want);
}

// Appends "    aN\n" lines for actors first..first+n-1 at *used.
static void
s_add_actors(char *buf, size_t *used, int first, int n)
{
    for (int i = first; i < first + n; i++)
        *used += (size_t)sprintf(buf + *used, "    a%d\n", i);
}

static void
test_config_key_count_limits(void **state)
{
    fixture_t *f = *state;
    char *buf = malloc(4 * S_MIB);
    assert_non_null(buf);
    size_t used = (size_t)sprintf(buf, "actors\n");
    s_add_actors(buf, &used, 0, 16384);
    assert_int_equal(s_load(f, buf, used, NULL, 0), 0);
    assert_string_equal(azo_config_str(f->cfg, "actors/a16383/mode"), "thread");

    s_add_actors(buf, &used, 16384, 1);
    assert_int_equal(s_load(f, buf, used, NULL, 0), AZO_EBADREQ);
    assert_non_null(strstr(f->err, ":16386: too many keys in one section"));

    // 16 sections of 16384 keys, plus the section names, pass 262144 keys
    // (refused by the scan, before anything is built).
    used = 0;
    for (int s = 0; s < 16; s++) {
        used += (size_t)sprintf(buf + used, "s%d\n", s);
        s_add_actors(buf, &used, 0, 16384);
    }
    assert_int_equal(s_load(f, buf, used, NULL, 0), AZO_EBADREQ);
    assert_non_null(strstr(f->err, ": too many keys (max 262144)"));
    free(buf);
}

static void
test_config_error_buffer_small_or_null(void **state)
{
    fixture_t *f = *state;
    s_write(f->file, "bogus = 1\n", 10);
    char err[8];
    memset(err, 'x', sizeof err);
    assert_int_equal(azo_config_load(&f->cfg, f->file, NULL, 0, s_schema,
                                     S_NSCHEMA, err, sizeof err),
                     AZO_EBADREQ);
    assert_null(f->cfg);
    assert_int_equal(strlen(err), sizeof err - 1);
    assert_int_equal(azo_config_load(&f->cfg, f->file, NULL, 0, s_schema,
                                     S_NSCHEMA, NULL, 0),
                     AZO_EBADREQ);
    assert_null(f->cfg);
}

typedef struct {
    const char *text;
    int64_t value;
} s_num_t;

static void
test_config_parse_duration(void **state)
{
    (void)state;
    static const s_num_t ok[] = {
        {"0", 0},
        {"0s", 0},
        {"1ms", 1},
        {"250ms", 250},
        {"5s", 5000},
        {"10m", 600000},
        {"6h", 21600000},
        {"7d", 604800000},
        {"1h30m", 5400000},
        {"1d2h3m4s5ms", 93784005},
        {"30m1h", 5400000},
        {"007s", 7000},
        {"9223372036854775807ms", INT64_MAX},
        {"106751991167d", 106751991167LL * 86400000},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ms = -1;
        if (azo_config_parse_duration(ok[i].text, &ms) != 0 ||
            ms != ok[i].value)
            fail_msg("'%s': got %lld", ok[i].text, (long long)ms);
    }
    static const char *const bad[] = {
        "",
        "60",
        "00",
        "5",
        "-5s",
        "+5s",
        "5x",
        "5S",
        "5 s",
        " 5s",
        "5s ",
        "s",
        "ms",
        "5sms",
        "1.5s",
        "5us",
        "1h30",
        "1h 30m",
        "0x10s",
        "9223372036854775808ms",
        "9223372036854776s",
        "106751991168d",
        "9223372036854775807ms1ms",
        "99999999999999999999999d",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = -1;
        if (azo_config_parse_duration(bad[i], &ms) != AZO_EBADREQ)
            fail_msg("'%s' accepted as %lld", bad[i], (long long)ms);
        assert_int_equal(ms, -1); // untouched on failure
    }
    int64_t ms;
    assert_int_equal(azo_config_parse_duration(NULL, &ms), AZO_EBADREQ);
}

static void
test_config_parse_size(void **state)
{
    (void)state;
    static const s_num_t ok[] = {
        {"0", 0},
        {"1", 1},
        {"1B", 1},
        {"1b", 1},
        {"1K", 1024},
        {"1kb", 1024},
        {"1KiB", 1024},
        {"1kib", 1024},
        {"2M", 2 * S_MIB},
        {"3MB", 3 * S_MIB},
        {"4MiB", 4 * S_MIB},
        {"1G", S_GIB},
        {"1GB", S_GIB},
        {"1GiB", S_GIB},
        {"1T", 1024 * S_GIB},
        {"1TB", 1024 * S_GIB},
        {"1tib", 1024 * S_GIB},
        {"8388607T", 8388607LL * 1024 * S_GIB},
        {"9223372036854775807", INT64_MAX},
        {"9223372036854775807B", INT64_MAX},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t bytes = -1;
        if (azo_config_parse_size(ok[i].text, &bytes) != 0 ||
            bytes != ok[i].value)
            fail_msg("'%s': got %lld", ok[i].text, (long long)bytes);
    }
    static const char *const bad[] = {
        "",
        "K",
        "-1",
        "+1",
        "1.5K",
        "1 K",
        "1KB ",
        " 1K",
        "1X",
        "1KiBB",
        "1Ki",
        "1KBi",
        "1P",
        "0x10",
        "8388608T",
        "9223372036854775808",
        "9007199254740992K",
        "99999999999999999999",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t bytes = -1;
        if (azo_config_parse_size(bad[i], &bytes) != AZO_EBADREQ)
            fail_msg("'%s' accepted as %lld", bad[i], (long long)bytes);
        assert_int_equal(bytes, -1); // untouched on failure
    }
}

// xorshift64*: a fixed seed makes every run test the same inputs.
static uint64_t
s_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static void
test_config_random_input_never_crashes(void **state)
{
    fixture_t *f = *state;
    static const char base[] = "node\n"
                               "    name = alpha\n"
                               "endpoints\n"
                               "    control = 'tcp://*:7710'\n"
                               "supervisor\n"
                               "    period = 1h30m # comment\n"
                               "store\n"
                               "    map_size = 64MiB\n"
                               "actors\n"
                               "    a\n"
                               "        jobs\n"
                               "            j\n"
                               "                every = 5s\n";
    static const char alphabet[] = "    \n\n\t=#'\"/*:.-_asmhdKiB019\r\x01\xc3";
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    int ok = 0;
    for (int iter = 0; iter < 2000; iter++) {
        char buf[512];
        size_t len;
        if (iter % 4 == 0) {
            len = s_rand(&seed) % 256;
            for (size_t i = 0; i < len; i++)
                buf[i] = (char)(s_rand(&seed) & 0xFF);
        } else {
            len = sizeof base - 1;
            memcpy(buf, base, len);
            int edits = 1 + (int)(s_rand(&seed) % 4);
            for (int e = 0; e < edits; e++) {
                size_t at = len ? s_rand(&seed) % len : 0;
                char ch = alphabet[s_rand(&seed) % (sizeof alphabet - 1)];
                switch (s_rand(&seed) % 3) {
                case 0: // replace
                    if (len)
                        buf[at] = ch;
                    break;
                case 1: // insert
                    if (len < sizeof buf) {
                        memmove(buf + at + 1, buf + at, len - at);
                        buf[at] = ch, len++;
                    }
                    break;
                default: // delete
                    if (len) {
                        memmove(buf + at, buf + at + 1, len - at - 1);
                        len--;
                    }
                }
            }
        }
        char set[16];
        const char *sets[] = {set};
        size_t nsets = 0;
        if (iter % 5 == 0) {
            size_t n = 1 + s_rand(&seed) % (sizeof set - 1);
            for (size_t i = 0; i < n; i++)
                set[i] = alphabet[s_rand(&seed) % (sizeof alphabet - 1)];
            set[n] = '\0';
            nsets = strlen(set) ? 1 : 0;
        }
        s_write(f->file, buf, len);
        int rc = s_load_path(f, f->file, sets, nsets);
        if (rc == 0) {
            ok++;
            for (size_t k = 0; k < S_NSCHEMA; k++) {
                if (strchr(s_schema[k].path, '*'))
                    continue;
                (void)azo_config_str(f->cfg, s_schema[k].path);
                (void)azo_config_int(f->cfg, s_schema[k].path, 0);
                (void)azo_config_ms(f->cfg, s_schema[k].path, 0);
                (void)azo_config_size(f->cfg, s_schema[k].path, 0);
                (void)azo_config_real(f->cfg, s_schema[k].path, 0);
                (void)azo_config_bool(f->cfg, s_schema[k].path, false);
            }
        } else {
            assert_int_equal(rc, AZO_EBADREQ);
            // The scanner must never accept what zconfig then rejects.
            if (strstr(f->err, "internal error"))
                fail_msg("iteration %d: %s", iter, f->err);
        }
    }
    // The mutations keep some inputs valid, so both paths ran.
    assert_true(ok > 0 && ok < 2000);
}

// azo_config_save writes what azo_config_load reads back the same (the
// effective config of process actors), quotes included; azo_config_fail
// names the key's line.
static void
test_config_save_round_trip_and_fail(void **state)
{
    fixture_t *f = *state;
    static const char text[] = "node\n"
                               "    name = 'say \"hi\"'\n"
                               "    data_dir = \"it's here\"\n"
                               "actors\n"
                               "    a\n"
                               "        jobs\n"
                               "            j\n"
                               "                every = 5s # comment\n";
    const char *sets[] = {"node/load_factor=0.5"};
    assert_int_equal(s_load(f, text, 0, sets, 1), 0);
    char err[256], saved[PATH_MAX + 16];
    assert_int_equal(azo_config_fail(f->cfg, "actors/a/jobs/j/every", err,
                                     sizeof err, "no %s", "good"),
                     AZO_EBADREQ);
    assert_string_equal(err + strlen(f->file),
                        ":8: actors/a/jobs/j/every: no good");
    azo_config_fail(f->cfg, "node/load_factor", err, sizeof err, "x");
    assert_string_equal(err, "--set node/load_factor=0.5: node/load_factor: x");
    snprintf(saved, sizeof saved, "%s/saved.cfg", f->dir);
    assert_int_equal(azo_config_save(f->cfg, saved, err, sizeof err), 0);
    azo_config_t *first = f->cfg;
    f->cfg = NULL;
    assert_int_equal(s_load_path(f, saved, NULL, 0), 0);
    static const char *const keys[] = {
        "node/name",     "node/data_dir",         "node/load_factor",
        "actors/a/mode", "actors/a/jobs/j/every", "endpoints/control"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_string_equal(azo_config_str(f->cfg, keys[i]),
                            azo_config_str(first, keys[i]));
    assert_string_equal(azo_config_str(f->cfg, "node/name"), "say \"hi\"");
    azo_config_destroy(&first);
    // A value with both quote characters cannot be written: said, not
    // written half.
    const char *both[] = {"node/name=it's \"x\""};
    assert_int_equal(s_load(f, text, 0, both, 1), 0);
    assert_int_equal(azo_config_save(f->cfg, saved, err, sizeof err),
                     AZO_EBADREQ);
    assert_non_null(strstr(err, "node/name"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_valid_file_round_trip,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_save_round_trip_and_fail,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_config_getters_return_dflt_when_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_defaults_applied, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_config_optional_sections_are_not_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_empty_file_is_all_defaults,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_set_overrides, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_config_embedded_default, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_config_malformed_table, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_config_missing_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_config_directory_instead_of_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_size_limit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_config_line_length_limit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_config_key_count_limits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_config_error_buffer_small_or_null,
                                        setup, teardown),
        cmocka_unit_test(test_config_parse_duration),
        cmocka_unit_test(test_config_parse_size),
        cmocka_unit_test_setup_teardown(test_config_random_input_never_crashes,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
