// test_hc_conf — command lines of exec probes and actions, and target
// settings read from a real config.
#include "azo_err.h"
#include "azo_exec.h"
#include "hc_conf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void
test_hc_conf_argv_words_and_json(void **state)
{
    (void)state;
    char **argv = NULL, err[256];
    assert_int_equal(
        azo_exec_argv("  /bin/sh  -c\ttrue ", &argv, err, sizeof err), 0);
    assert_string_equal(argv[0], "/bin/sh");
    assert_string_equal(argv[1], "-c");
    assert_string_equal(argv[2], "true");
    assert_null(argv[3]);
    azo_exec_argv_free(&argv);
    assert_null(argv);
    assert_int_equal(azo_exec_argv("[\"/bin/sh\", \"-c\", \"echo a b; exit 3\"]",
                                  &argv, err, sizeof err),
                     0);
    assert_string_equal(argv[2], "echo a b; exit 3");
    assert_null(argv[3]);
    azo_exec_argv_free(&argv);
    azo_exec_argv_free(&argv); // NULL-safe
}

static void
test_azo_exec_argv_rejects_bad_lines(void **state)
{
    (void)state;
    static const struct {
        const char *text, *word;
    } bad[] = {
        {"", "empty"},
        {"   ", "empty"},
        {"true", "must be a path"},
        {"[]", "empty"},
        {"[\"/bin/true\", 5]", "element 1"},
        {"[\"/bin/true\"", "JSON"},
        {"{\"a\": 1}", "must be a path"},
        {"[\"/bin/a\\u0000b\"]", "NUL"},
        {"[1]", "element 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char **argv = NULL, err[256] = "";
        int rc = azo_exec_argv(bad[i].text, &argv, err, sizeof err);
        if (rc != AZO_EBADREQ || !strstr(err, bad[i].word))
            fail_msg("'%s': rc %d, err '%s'", bad[i].text, rc, err);
        assert_null(argv);
    }
    // More words than allowed.
    char many[2000] = "/bin/echo";
    for (int i = 0; i < 300; i++)
        strcat(many, " a");
    char **argv = NULL, err[256];
    assert_int_equal(azo_exec_argv(many, &argv, err, sizeof err), AZO_EBADREQ);
    assert_non_null(strstr(err, "words"));
}

static const azo_cfg_key_t s_schema[] = {
    {"endpoints", AZO_CFG_SECTION, NULL, 0, 0, NULL, ""},
    {"endpoints/control", AZO_CFG_STR, NULL, 0, 0, NULL, ""},
    {"actors", AZO_CFG_SECTION, NULL, 0, 0, NULL, ""},
    {"actors/archiver", AZO_CFG_SECTION, NULL, 0, 0, NULL, ""},
    {"actors/hc", AZO_CFG_SECTION, NULL, 0, 0, NULL, ""},
    {"actors/hc/targets", AZO_CFG_SECTION, NULL, 0, 0, NULL, ""},
    {"actors/hc/targets/*", AZO_CFG_SECTION, NULL, 0, 0, NULL, ""},
    {"actors/hc/targets/*/*", AZO_CFG_STR, NULL, 0, 0, NULL, ""},
};

static azo_config_t *
s_load(const char *text)
{
    azo_config_set_default_g(text);
    azo_config_t *cfg = NULL;
    char err[512];
    int rc =
        azo_config_load(&cfg, NULL, NULL, 0, s_schema,
                        sizeof s_schema / sizeof s_schema[0], err, sizeof err);
    if (rc < 0)
        fail_msg("config: %s", err);
    return cfg;
}

static void
test_hc_conf_target_reads_and_resolves_self(void **state)
{
    (void)state;
    azo_config_t *cfg = s_load("endpoints\n"
                               "    control = tcp://*:7710\n"
                               "actors\n"
                               "    archiver\n"
                               "    hc\n"
                               "        targets\n"
                               "            me\n"
                               "                zmq = self\n"
                               "                restart = archiver\n"
                               "                run = /bin/echo down\n");
    hc_target_cfg_t t;
    char err[512];
    assert_int_equal(hc_conf_target(cfg, "actors/hc", "me", "tcp://*:7710", &t,
                                    err, sizeof err),
                     0);
    assert_int_equal(t.kind, HC_PROBE_ZMQ);
    assert_string_equal(t.addr, "tcp://127.0.0.1:7710");
    assert_string_equal(t.restart, "archiver");
    assert_string_equal(t.run[0], "/bin/echo");
    assert_string_equal(t.run[1], "down");
    hc_conf_target_fini(&t);
    azo_config_destroy(&cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hc_conf_argv_words_and_json),
        cmocka_unit_test(test_azo_exec_argv_rejects_bad_lines),
        cmocka_unit_test(test_hc_conf_target_reads_and_resolves_self),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
