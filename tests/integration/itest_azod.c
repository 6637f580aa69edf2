// Integration test from C: starts a real azod process (path in $AZOD) on a
// temp data dir and ipc:// endpoints, and drives it over ZeroMQ as a C
// client would: ping, status, routing, malformed input, lifecycle events
// and shutdown. Every azod started here is killed at teardown, and dies
// with this process if the test itself is killed (PR_SET_PDEATHSIG).
#include "azo_err.h"
#include "azo_wire.h"
#include "azo_testutil.h"

#include <czmq.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <cmocka.h>

typedef struct {
    char dir[256];
    char control[300];
    char events[300];
    pid_t pid;
    zsock_t *client;
    azo_rep_t rep;
    zframe_t *frame; // holds the bytes rep points into
    uint64_t id;
} fixture_t;

// Sends cmd (args: one string pair, or none) and waits up to 10 s.
static int
s_call(fixture_t *f, const char *cmd, const char *key, const char *val)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    azo_req_pack(&pk, ++f->id, cmd);
    if (key) {
        msgpack_pack_map(&pk, 1);
        azo_pack_kstr(&pk, key, val);
    } else
        msgpack_pack_map(&pk, 0);
    zmq_send(zsock_resolve(f->client), sb.data, sb.size, 0);
    msgpack_sbuffer_destroy(&sb);
    while (true) {
        zframe_destroy(&f->frame);
        f->frame = zframe_recv(f->client);
        if (!f->frame)
            return AZO_ETIMEOUT;
        int rc = azo_rep_decode(&f->rep, zframe_data(f->frame),
                                zframe_size(f->frame), NULL, 0);
        if (rc < 0)
            return rc;
        if (f->rep.has_id && f->rep.id == f->id)
            return 0;
    }
}

static bool
s_all_running(fixture_t *f)
{
    if (s_call(f, "status", NULL, NULL) < 0 || !f->rep.ok)
        return false;
    const msgpack_object *list = azo_mp_get(f->rep.result, "actors");
    if (!list || list->type != MSGPACK_OBJECT_ARRAY ||
        list->via.array.size != 5)
        return false;
    for (uint32_t i = 0; i < list->via.array.size; i++)
        if (!azo_mp_str_eq(azo_mp_get(&list->via.array.ptr[i], "state"),
                           "running"))
            return false;
    return true;
}

static int
setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_int_equal(azo_test_tmpdir(f->dir, sizeof f->dir, "itest_azod"), 0);
    snprintf(f->control, sizeof f->control, "ipc://%s/ctl", f->dir);
    snprintf(f->events, sizeof f->events, "ipc://%s/ev", f->dir);
    const char *azod = getenv("AZOD");
    assert_non_null(azod);
    char a[4][400];
    snprintf(a[0], sizeof a[0], "node/data_dir=%s/data", f->dir);
    snprintf(a[1], sizeof a[1], "endpoints/control=%s", f->control);
    snprintf(a[2], sizeof a[2], "endpoints/events=%s", f->events);
    snprintf(a[3], sizeof a[3], "endpoints/cluster=ipc://%s/cl", f->dir);
    pid_t parent = getpid();
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        char log[300];
        snprintf(log, sizeof log, "%s/azod.log", f->dir);
        if (!freopen(log, "w", stderr))
            _exit(127);
        execl(azod, azod, "--set", a[0], "--set", a[1], "--set", a[2], "--set",
              a[3], (char *)NULL);
        _exit(127);
    }
    assert_int_equal(azo_rep_init(&f->rep), 0);
    f->client = zsock_new_dealer(f->control);
    zsock_set_rcvtimeo(f->client, 500);
    int64_t end = zclock_mono() + 20000;
    while (!s_all_running(f) && zclock_mono() < end)
        assert_int_equal(waitpid(f->pid, NULL, WNOHANG), 0);
    assert_true(s_all_running(f));
    zsock_set_rcvtimeo(f->client, 10000);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture_t *f = *state;
    if (f->pid > 0) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
    }
    zframe_destroy(&f->frame);
    zsock_destroy(&f->client);
    azo_rep_fini(&f->rep);
    azo_test_rm_rf(f->dir);
    free(f);
    return 0;
}

static void
test_itest_ping_status_and_routing(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(s_call(f, "ping", NULL, NULL), 0);
    assert_true(f->rep.ok);
    assert_true(azo_mp_str_eq(azo_mp_get(f->rep.result, "node"), "alpha"));
    assert_int_equal(s_call(f, "sched.list", NULL, NULL), 0);
    assert_true(f->rep.ok);
    assert_int_equal(s_call(f, "health.status", NULL, NULL), 0);
    assert_true(f->rep.ok);
    assert_non_null(azo_mp_get(f->rep.result, "targets"));
    assert_int_equal(s_call(f, "mining.report", NULL, NULL), 0);
    assert_true(f->rep.ok);
    assert_non_null(azo_mp_get(f->rep.result, "keys"));
    assert_int_equal(s_call(f, "sched.nope", NULL, NULL), 0);
    assert_int_equal(f->rep.rc, AZO_ENOCMD);
    assert_int_equal(s_call(f, "nope", NULL, NULL), 0);
    assert_int_equal(f->rep.rc, AZO_ENOCMD);
}

static void
test_itest_garbage_gets_bad_request(void **state)
{
    fixture_t *f = *state;
    static const char *const rows[] = {
        "", "\xc1", "\x91\x01", "\xdb\xff\xff\xff\xff", "\x81\xa1v",
    };
    void *raw = zsock_resolve(f->client);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        zmq_send(raw, rows[i], strlen(rows[i]), 0);
        zframe_destroy(&f->frame);
        f->frame = zframe_recv(f->client);
        assert_non_null(f->frame);
        assert_int_equal(azo_rep_decode(&f->rep, zframe_data(f->frame),
                                        zframe_size(f->frame), NULL, 0),
                         0);
        assert_int_equal(f->rep.rc, AZO_EBADREQ);
    }
    assert_int_equal(s_call(f, "ping", NULL, NULL), 0);
    assert_true(f->rep.ok);
}

static void
test_itest_restart_event_then_shutdown(void **state)
{
    fixture_t *f = *state;
    zsock_t *sub = zsock_new_sub(f->events, "sup.actor.started");
    zsock_set_rcvtimeo(sub, 200);
    char *topic = NULL;
    for (int i = 0; i < 100 && !topic; i++) {
        assert_int_equal(s_call(f, "actor.restart", "name", "scheduler"), 0);
        assert_true(f->rep.ok);
        topic = zstr_recv(sub);
    }
    assert_non_null(topic);
    assert_string_equal(topic, "sup.actor.started");
    zframe_t *body = zframe_recv(sub);
    azo_event_t ev;
    azo_event_init(&ev);
    assert_int_equal(azo_event_decode(&ev, topic, strlen(topic),
                                      zframe_data(body), zframe_size(body),
                                      NULL, 0),
                     0);
    assert_string_equal(ev.src, "sup");
    assert_true(azo_mp_str_eq(azo_mp_get(&ev.root, "actor"), "scheduler"));
    azo_event_fini(&ev);
    zframe_destroy(&body);
    zstr_free(&topic);
    zsock_destroy(&sub);

    assert_int_equal(s_call(f, "shutdown", NULL, NULL), 0);
    assert_true(f->rep.ok);
    int status = 0;
    assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
    f->pid = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_itest_ping_status_and_routing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_itest_garbage_gets_bad_request,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_itest_restart_event_then_shutdown,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
