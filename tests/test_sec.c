// Unit tests of azo_sec: keygen and loading certificates, the checks of
// security/allow and deny, and CURVE end to end over ipc: an allowed key
// gets through, an unknown one does not, duplicate and junk files in the
// clients directory are skipped, and removing a key's file (seen through
// inotify on a zloop) locks it out for new connections.
#include "azo_err.h"
#include "azo_sec.h"
#include "azo_sup.h"
#include "azo_testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

typedef struct {
    char dir[256];
    char path[512];
} fixture_t;

static int
setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_int_equal(azo_test_tmpdir(f->dir, sizeof f->dir, "test_sec"), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture_t *f = *state;
    azo_test_rm_rf(f->dir);
    free(f);
    return 0;
}

// Writes dir/name into f->path and returns it.
static const char *
s_path(fixture_t *f, const char *name)
{
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, name);
    return f->path;
}

// Loads the supervisor's schema with sets. Returns the load's code.
static int
s_load(azo_config_t **cfg, const char *const *sets, size_t n, char *err,
       size_t errlen)
{
    size_t nkeys;
    azo_cfg_key_t *schema = azo_sup_schema(NULL, 0, &nkeys);
    assert_non_null(schema);
    azo_config_set_default_g("node\n    name = t\n");
    int rc = azo_config_load(cfg, NULL, sets, n, schema, nkeys, err, errlen);
    free(schema);
    return rc;
}

static void
test_sec_keygen_and_client_load(void **state)
{
    fixture_t *f = *state;
    char pub[AZO_SEC_KEYLEN + 1], err[1024];
    char stem[512], secret[520];
    snprintf(stem, sizeof stem, "%s", s_path(f, "alice"));
    snprintf(secret, sizeof secret, "%s_secret", stem);
    assert_int_equal(azo_sec_keygen(stem, pub, err, sizeof err), 0);
    assert_int_equal(strlen(pub), AZO_SEC_KEYLEN);
    struct stat st;
    assert_int_equal(stat(secret, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(azo_sec_keygen(stem, pub, err, sizeof err), -EEXIST);
    assert_non_null(strstr(err, "not overwritten"));
    assert_int_equal(azo_sec_keygen(secret, pub, err, sizeof err), AZO_EBADREQ);
    assert_int_equal(
        azo_sec_keygen(s_path(f, "no/such/dir/x"), pub, err, sizeof err),
        -ENOENT);

    // Client: by NAME or NAME_secret; server key as text or a file.
    azo_sec_client_t c;
    assert_int_equal(azo_sec_client_load(&c, stem, pub, err, sizeof err), 0);
    assert_string_equal(c.pub, pub);
    assert_string_equal(c.server, pub);
    assert_int_equal(strlen(c.sec), AZO_SEC_KEYLEN);
    assert_int_equal(azo_sec_client_load(&c, secret, stem, err, sizeof err), 0);
    assert_string_equal(c.server, pub);
    assert_int_equal(
        azo_sec_client_load(&c, stem, "not-a-key", err, sizeof err),
        AZO_EBADREQ);
    assert_non_null(strstr(err, "server key 'not-a-key'"));
    // A public file is no client certificate; a loose secret is refused.
    assert_int_equal(
        azo_sec_client_load(&c, s_path(f, "nope"), pub, err, sizeof err),
        -ENOENT);
    assert_int_equal(chmod(secret, 0640), 0);
    assert_int_equal(azo_sec_client_load(&c, stem, pub, err, sizeof err),
                     AZO_EFORBIDDEN);
    assert_non_null(strstr(err, "too open"));
    FILE *junk = fopen(s_path(f, "junk_secret"), "w");
    fputs("curve\n    public-key = \"x\"\n", junk);
    fclose(junk);
    assert_int_equal(chmod(f->path, 0600), 0);
    assert_int_equal(
        azo_sec_client_load(&c, s_path(f, "junk"), pub, err, sizeof err),
        AZO_EBADREQ);
    assert_non_null(strstr(err, "not a secret certificate"));
}

static void
test_sec_check_addresses(void **state)
{
    (void)state;
    static const struct {
        const char *allow, *deny;
        bool curve;
        const char *want; // NULL: valid; else a part of the message
    } rows[] = {
        {"10.0.0.0/8, ::1 192.168.1.7 fe80::/10", "1.2.3.4,::2", true, NULL},
        {NULL, NULL, false, NULL},
        {"10.0.0.0/33", NULL, true, "'10.0.0.0/33' is not"},
        {"10.0.0.1/", NULL, true, "'10.0.0.1/' is not"},
        {"::1/129", NULL, true, "'::1/129'"},
        {"host.example", NULL, true, "'host.example'"},
        {NULL, "1.2.3.0/24", true, "no ranges"},
        {"10.0.0.1", NULL, false, "only with security/curve = 1"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char sets[3][1100];
        const char *list[3];
        size_t n = 0;
        snprintf(sets[n], sizeof sets[n], "security/curve=%d", rows[i].curve);
        list[n] = sets[n];
        n++;
        if (rows[i].allow) {
            snprintf(sets[n], sizeof sets[n], "security/allow=%s",
                     rows[i].allow);
            list[n] = sets[n];
            n++;
        }
        if (rows[i].deny) {
            snprintf(sets[n], sizeof sets[n], "security/deny=%s", rows[i].deny);
            list[n] = sets[n];
            n++;
        }
        azo_config_t *cfg = NULL;
        char err[1024];
        int rc = s_load(&cfg, list, n, err, sizeof err);
        if (rc == 0)
            rc = azo_sec_check(cfg, err, sizeof err);
        if (!rows[i].want)
            assert_int_equal(rc, 0);
        else {
            assert_int_equal(rc, AZO_EBADREQ);
            assert_non_null(strstr(err, rows[i].want));
        }
        azo_config_destroy(&cfg);
    }
}

// A CURVE DEALER with c to ep: sends "hi"; returns true when server (a
// ROUTER) got it within wait_ms.
static bool
s_gets_through(const azo_sec_client_t *c, const char *ep, zsock_t *server,
               int wait_ms)
{
    zsock_t *client = zsock_new(ZMQ_DEALER);
    zsock_set_linger(client, 0);
    azo_sec_client_apply(c, client);
    assert_int_equal(zsock_connect(client, "%s", ep), 0);
    zstr_send(client, "hi");
    zpoller_t *p = zpoller_new(server, NULL);
    bool got = zpoller_wait(p, wait_ms) == server;
    if (got) {
        zmsg_t *m = zmsg_recv(server);
        zmsg_destroy(&m);
    }
    zpoller_destroy(&p);
    zsock_destroy(&client);
    return got;
}

static int
s_end_loop(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    (void)arg;
    return -1;
}

// Runs loop for ms: the inotify handler gets its events. A handler that
// ends the loop leaves its one-shot timer in place: end it too.
static void
s_spin(zloop_t *loop, int ms)
{
    int id = zloop_timer(loop, (size_t)ms, 1, s_end_loop, NULL);
    zloop_start(loop);
    zloop_timer_end(loop, id);
}

static void
test_sec_curve_end_to_end(void **state)
{
    fixture_t *f = *state;
    char err[1024], pub[AZO_SEC_KEYLEN + 1];
    char clients[512], data[512], alice[512], eve[512], copy[600], ep[600];
    snprintf(clients, sizeof clients, "%s", s_path(f, "clients"));
    snprintf(data, sizeof data, "%s", s_path(f, "data"));
    snprintf(alice, sizeof alice, "%s", s_path(f, "alice"));
    snprintf(eve, sizeof eve, "%s", s_path(f, "eve"));
    snprintf(ep, sizeof ep, "ipc://%s", s_path(f, "ep"));
    assert_int_equal(mkdir(clients, 0700), 0);
    assert_int_equal(azo_sec_keygen(alice, pub, err, sizeof err), 0);
    assert_int_equal(azo_sec_keygen(eve, pub, err, sizeof err), 0);
    // alice twice (a duplicate key must not abort zauth), and junk.
    snprintf(copy, sizeof copy, "%s/alice", clients);
    assert_int_equal(link(alice, copy), 0);
    snprintf(copy, sizeof copy, "%s/alice.bak", clients);
    assert_int_equal(link(alice, copy), 0);
    snprintf(copy, sizeof copy, "%s/junk", clients);
    FILE *junk = fopen(copy, "w");
    fputs("\x01\x02 binary", junk);
    fclose(junk);

    char sets[3][700];
    snprintf(sets[0], sizeof sets[0], "node/data_dir=%s", data);
    snprintf(sets[1], sizeof sets[1], "security/clients=%s", clients);
    snprintf(sets[2], sizeof sets[2], "security/curve=1");
    const char *list[3] = {sets[0], sets[1], sets[2]};
    azo_config_t *cfg = NULL;
    assert_int_equal(s_load(&cfg, list, 3, err, sizeof err), 0);
    azo_sec_t *sec = NULL;
    assert_int_equal(azo_sec_open(&sec, cfg, err, sizeof err), 0);
    assert_non_null(sec);
    assert_int_equal(azo_sec_allowed(sec), 1);
    // The node's certificate was made, its secret 0600.
    struct stat st;
    snprintf(copy, sizeof copy, "%s/server.cert_secret", data);
    assert_int_equal(stat(copy, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    zloop_t *loop = zloop_new();
    assert_int_equal(azo_sec_attach(sec, loop), 0);

    zsock_t *server = zsock_new(ZMQ_ROUTER);
    zsock_set_linger(server, 0);
    azo_sec_server(sec, server, ep);
    assert_true(zsock_bind(server, "%s", ep) >= 0);

    azo_sec_client_t a, e, node;
    assert_int_equal(
        azo_sec_client_load(&a, alice, azo_sec_public(sec), err, sizeof err),
        0);
    assert_int_equal(
        azo_sec_client_load(&e, eve, azo_sec_public(sec), err, sizeof err), 0);
    assert_int_equal(azo_sec_client_node(&node, cfg, err, sizeof err), 0);
    assert_true(s_gets_through(&a, ep, server, 5000));
    assert_true(s_gets_through(&node, ep, server, 5000)); // process actors
    assert_false(s_gets_through(&e, ep, server, 300));
    azo_sec_client_t wrong = a; // the right client, the wrong server key
    memcpy(wrong.server, e.pub, sizeof wrong.server);
    assert_false(s_gets_through(&wrong, ep, server, 300));

    // Revoke alice (both files): new connections are refused.
    snprintf(copy, sizeof copy, "%s/alice", clients);
    assert_int_equal(unlink(copy), 0);
    snprintf(copy, sizeof copy, "%s/alice.bak", clients);
    assert_int_equal(unlink(copy), 0);
    s_spin(loop, 100);
    assert_int_equal(azo_sec_allowed(sec), 0);
    assert_false(s_gets_through(&a, ep, server, 300));
    // eve allowed now.
    snprintf(copy, sizeof copy, "%s/eve", clients);
    assert_int_equal(link(eve, copy), 0);
    s_spin(loop, 100);
    assert_int_equal(azo_sec_allowed(sec), 1);
    assert_true(s_gets_through(&e, ep, server, 5000));

    // The copy cannot be written (its directory replaced by a file, as a
    // full disk would fail it): nobody is allowed, not even the last set,
    // until a retry succeeds.
    char base[600];
    snprintf(base, sizeof base, "%s/curve", data);
    azo_test_rm_rf(base);
    FILE *blocker = fopen(base, "w");
    assert_non_null(blocker);
    fclose(blocker);
    snprintf(copy, sizeof copy, "%s/alice", clients);
    assert_int_equal(link(alice, copy), 0);
    s_spin(loop, 100);
    assert_false(s_gets_through(&e, ep, server, 300));
    assert_false(s_gets_through(&a, ep, server, 300));
    assert_int_equal(unlink(base), 0);
    assert_int_equal(mkdir(base, 0700), 0);
    s_spin(loop, 1500); // the retry comes within a second
    assert_int_equal(azo_sec_allowed(sec), 2);
    assert_true(s_gets_through(&a, ep, server, 5000));

    zsock_destroy(&server);
    azo_sec_destroy(&sec);
    zloop_destroy(&loop);
    azo_config_destroy(&cfg);
}

static void
test_sec_off_by_default(void **state)
{
    fixture_t *f = *state;
    char set[600], err[256];
    snprintf(set, sizeof set, "node/data_dir=%s", s_path(f, "d"));
    const char *list[1] = {set};
    azo_config_t *cfg = NULL;
    assert_int_equal(s_load(&cfg, list, 1, err, sizeof err), 0);
    assert_false(azo_sec_enabled(cfg));
    azo_sec_t *sec = (azo_sec_t *)1;
    assert_int_equal(azo_sec_open(&sec, cfg, err, sizeof err), 0);
    assert_null(sec);
    azo_sec_destroy(&sec);                       // NULL is fine
    assert_int_equal(access(f->path, F_OK), -1); // nothing was made
    char path[600];
    azo_sec_server_cert_path(cfg, path, sizeof path);
    assert_non_null(strstr(path, "/d/server.cert_secret"));
    azo_config_destroy(&cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sec_keygen_and_client_load, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sec_check_addresses, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sec_curve_end_to_end, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sec_off_by_default, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
