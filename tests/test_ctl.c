// Unit tests of azo_ctl, driven through a real ROUTER on inproc with a
// DEALER and a REQ client: replies by sequence number, time-outs, failing
// by handler and all at once, bad framing and undecodable requests, the
// caps on pending requests, and a client that never reads its replies.
#include "azo_ctl.h"
#include "azo_err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

typedef struct {
    zsock_t *router;
    zsock_t *dealer;
    zloop_t *loop;
    azo_ctl_t *ctl;
    uint64_t last_seq;
    char last_cmd[65];
    int calls;
    azo_rep_t rep;
    zframe_t *frame;
} fixture_t;

static int s_no; // test thread only: unique endpoints

// The handler: "echo" replies at once; "later" is left pending.
static int
s_handler(void *arg, uint64_t seq, const azo_req_t *req, const void *body,
          size_t len)
{
    fixture_t *f = arg;
    (void)body;
    (void)len;
    f->calls++;
    f->last_seq = seq;
    snprintf(f->last_cmd, sizeof f->last_cmd, "%s", req->cmd);
    if (strcmp(req->cmd, "echo") == 0) {
        azo_reply_t r;
        azo_reply_init(&r);
        azo_reply_start(&r, true, req->id);
        azo_reply_ok(&r);
        size_t n;
        const void *data = azo_reply_data(&r, &n);
        azo_ctl_reply(f->ctl, seq, data, n);
        azo_reply_fini(&r);
    } else
        azo_ctl_set_handler(f->ctl, seq, "worker");
    return 0;
}

static int
setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://test-ctl-%d", ++s_no);
    f->router = zsock_new_router(ep);
    f->dealer = zsock_new_dealer(ep);
    f->loop = zloop_new();
    f->ctl = azo_ctl_new(f->router, 50, s_handler, f);
    assert_non_null(f->ctl);
    assert_int_equal(azo_ctl_attach(f->ctl, f->loop), 0);
    assert_int_equal(azo_rep_init(&f->rep), 0);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture_t *f = *state;
    azo_ctl_destroy(&f->ctl);
    zloop_destroy(&f->loop);
    zsock_destroy(&f->dealer);
    zsock_destroy(&f->router);
    zframe_destroy(&f->frame);
    azo_rep_fini(&f->rep);
    free(f);
    return 0;
}

static int
s_stop(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    (void)arg;
    return -1;
}

// Runs the loop for ms.
static void
s_run(fixture_t *f, int ms)
{
    zloop_timer(f->loop, (size_t)ms, 1, s_stop, NULL);
    zloop_start(f->loop);
}

static void
s_send_on(zsock_t *sock, uint64_t id, const char *cmd)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    azo_req_pack(&pk, id, cmd);
    msgpack_pack_map(&pk, 0);
    assert_int_equal(zmq_send(zsock_resolve(sock), sb.data, sb.size, 0),
                     (int)sb.size);
    msgpack_sbuffer_destroy(&sb);
}

static void
s_send(fixture_t *f, uint64_t id, const char *cmd)
{
    s_send_on(f->dealer, id, cmd);
}

// Receives one reply on sock within 1 s into f->rep.
static void
s_recv_on(fixture_t *f, zsock_t *sock)
{
    zsock_set_rcvtimeo(sock, 1000);
    zframe_destroy(&f->frame);
    f->frame = zframe_recv(sock);
    assert_non_null(f->frame);
    assert_int_equal(azo_rep_decode(&f->rep, zframe_data(f->frame),
                                    zframe_size(f->frame), NULL, 0),
                     0);
}

static void
s_recv(fixture_t *f)
{
    s_recv_on(f, f->dealer);
}

// A second DEALER on the fixture's endpoint (another client identity).
static zsock_t *
s_other_client(void)
{
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://test-ctl-%d", s_no);
    zsock_t *s = zsock_new_dealer(ep);
    assert_non_null(s);
    return s;
}

static void
test_ctl_replies_by_sequence(void **state)
{
    fixture_t *f = *state;
    s_send(f, 11, "echo");
    s_run(f, 20);
    s_recv(f);
    assert_true(f->rep.ok);
    assert_true(f->rep.id == 11);
    assert_int_equal(f->calls, 1);
    assert_int_equal(azo_ctl_pending(f->ctl), 0);
    assert_int_equal(azo_ctl_requests(f->ctl), 1);
}

static void
test_ctl_times_out_with_the_handler_named(void **state)
{
    fixture_t *f = *state;
    s_send(f, 12, "later");
    s_run(f, 150); // the time-out is 50 ms
    s_recv(f);
    assert_int_equal(f->rep.rc, AZO_ETIMEOUT);
    assert_true(f->rep.id == 12);
    assert_non_null(strstr(f->rep.message, "worker did not answer later"));
    assert_int_equal(azo_ctl_pending(f->ctl), 0);
    // A late reply after the time-out goes nowhere.
    azo_ctl_reply(f->ctl, f->last_seq, "x", 1);
}

static void
test_ctl_fails_by_handler_and_all(void **state)
{
    fixture_t *f = *state;
    azo_ctl_destroy(&f->ctl); // a longer time-out for this one
    f->ctl = azo_ctl_new(f->router, 60000, s_handler, f);
    zloop_destroy(&f->loop);
    f->loop = zloop_new();
    assert_int_equal(azo_ctl_attach(f->ctl, f->loop), 0);
    s_send(f, 1, "later");
    s_send(f, 2, "later");
    s_run(f, 20);
    assert_int_equal(azo_ctl_pending(f->ctl), 2);
    azo_ctl_fail_handler(f->ctl, "nobody", "exited");
    assert_int_equal(azo_ctl_pending(f->ctl), 2);
    azo_ctl_fail_handler(f->ctl, "worker", "exited");
    assert_int_equal(azo_ctl_pending(f->ctl), 0);
    for (int i = 0; i < 2; i++) {
        s_recv(f);
        assert_int_equal(f->rep.rc, AZO_EUNAVAIL);
        assert_non_null(strstr(f->rep.message, "worker exited"));
    }
    s_send(f, 3, "later");
    s_run(f, 20);
    azo_ctl_fail_all(f->ctl, AZO_EUNAVAIL, "going down");
    s_recv(f);
    assert_true(f->rep.id == 3);
    assert_string_equal(f->rep.message, "going down");
}

static void
test_ctl_answers_bad_input_itself(void **state)
{
    fixture_t *f = *state;
    void *raw = zsock_resolve(f->dealer);
    zmq_send(raw, "\xc1", 1, 0);
    zmq_send(raw, "a", 1, ZMQ_SNDMORE);
    zmq_send(raw, "b", 1, ZMQ_SNDMORE);
    zmq_send(raw, "c", 1, 0);
    s_run(f, 20);
    s_recv(f);
    assert_int_equal(f->rep.rc, AZO_EBADREQ);
    assert_false(f->rep.has_id);
    s_recv(f);
    assert_int_equal(f->rep.rc, AZO_EBADREQ);
    assert_non_null(strstr(f->rep.message, "frame"));
    assert_int_equal(f->calls, 0);
    assert_int_equal(azo_ctl_bad(f->ctl), 2);
    // A REQ client gets its delimiter back.
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://test-ctl-%d", s_no);
    zsock_t *req = zsock_new_req(ep);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    azo_req_pack(&pk, 5, "echo");
    msgpack_pack_map(&pk, 0);
    zmq_send(zsock_resolve(req), sb.data, sb.size, 0);
    msgpack_sbuffer_destroy(&sb);
    s_run(f, 20);
    zsock_set_rcvtimeo(req, 1000);
    zframe_t *fr = zframe_recv(req);
    assert_non_null(fr);
    assert_int_equal(
        azo_rep_decode(&f->rep, zframe_data(fr), zframe_size(fr), NULL, 0), 0);
    assert_true(f->rep.ok);
    zframe_destroy(&fr);
    zsock_destroy(&req);
}

static void
test_ctl_caps_pending_per_client(void **state)
{
    fixture_t *f = *state;
    azo_ctl_set_limits(f->ctl, &(azo_ctl_limits_t){2, 100, 1 << 20});
    s_send(f, 1, "later");
    s_send(f, 2, "later");
    s_send(f, 3, "later"); // over: answered at once, not handed on
    s_send(f, 4, "echo");  // also over, even though it would be quick
    s_run(f, 20);
    assert_int_equal(f->calls, 2);
    assert_int_equal(azo_ctl_pending(f->ctl), 2);
    assert_int_equal(azo_ctl_refused(f->ctl), 2);
    for (uint64_t id = 3; id <= 4; id++) {
        s_recv(f);
        assert_true(f->rep.id == id);
        assert_int_equal(f->rep.rc, AZO_EUNAVAIL);
        assert_string_equal(
            f->rep.message,
            "too many pending requests from this client (limit 2)");
    }
    // Another client is not held back by this one.
    zsock_t *other = s_other_client();
    s_send_on(other, 5, "echo");
    s_run(f, 20);
    s_recv_on(f, other);
    assert_true(f->rep.ok && f->rep.id == 5);
    zsock_destroy(&other);
    // Once its requests are answered, the client may send again.
    azo_ctl_fail_handler(f->ctl, "worker", "exited");
    s_recv(f);
    s_recv(f);
    s_send(f, 6, "echo");
    s_run(f, 20);
    s_recv(f);
    assert_true(f->rep.ok && f->rep.id == 6);
    assert_int_equal(azo_ctl_pending(f->ctl), 0);
}

static void
test_ctl_caps_pending_in_all(void **state)
{
    fixture_t *f = *state;
    azo_ctl_set_limits(f->ctl, &(azo_ctl_limits_t){100, 3, 1 << 20});
    zsock_t *other = s_other_client();
    s_send(f, 1, "later");
    s_send(f, 2, "later");
    s_run(f, 20);
    s_send_on(other, 3, "later");
    s_send_on(other, 4, "later");
    s_run(f, 20);
    assert_int_equal(azo_ctl_pending(f->ctl), 3);
    s_recv_on(f, other);
    assert_true(f->rep.id == 4);
    assert_int_equal(f->rep.rc, AZO_EUNAVAIL);
    assert_string_equal(f->rep.message,
                        "too many pending requests on this node (limit 3)");
    azo_ctl_fail_all(f->ctl, AZO_EUNAVAIL, "going down");
    for (int i = 0; i < 2; i++)
        s_recv(f);
    s_recv_on(f, other);

    // The byte cap: one request of any size passes when nothing is
    // pending; the next waits until the bytes are back under the cap.
    azo_ctl_set_limits(f->ctl, &(azo_ctl_limits_t){100, 100, 1});
    s_send(f, 5, "later");
    s_run(f, 20);
    s_send_on(other, 6, "echo");
    s_run(f, 20);
    s_recv_on(f, other);
    assert_true(f->rep.id == 6);
    assert_int_equal(f->rep.rc, AZO_EUNAVAIL);
    assert_non_null(strstr(f->rep.message, "bytes of pending requests"));
    azo_ctl_fail_all(f->ctl, AZO_EUNAVAIL, "going down");
    s_recv(f);
    s_send_on(other, 7, "echo");
    s_run(f, 20);
    s_recv_on(f, other);
    assert_true(f->rep.ok && f->rep.id == 7);
    assert_int_equal(azo_ctl_refused(f->ctl), 2);
    zsock_destroy(&other);
}

static void
test_ctl_counts_clients_by_their_whole_identity(void **state)
{
    fixture_t *f = *state;
    azo_ctl_set_limits(f->ctl, &(azo_ctl_limits_t){1, 100, 1 << 20});
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://test-ctl-%d", s_no);
    // Identities of the longest size, one byte apart, and a prefix.
    char id[3][256];
    memset(id, 'k', sizeof id);
    id[0][254] = 0;
    id[1][254] = 'j';
    id[1][255] = 0;
    id[2][255] = 0;
    zsock_t *c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = zsock_new(ZMQ_DEALER);
        assert_int_equal(zmq_setsockopt(zsock_resolve(c[i]), ZMQ_ROUTING_ID,
                                        id[i], strlen(id[i])),
                         0);
        assert_int_equal(zsock_connect(c[i], "%s", ep), 0);
        s_send_on(c[i], 1, "later");
        s_send_on(c[i], 2, "later");
    }
    s_run(f, 20);
    assert_int_equal(azo_ctl_pending(f->ctl), 3);
    for (int i = 0; i < 3; i++) {
        s_recv_on(f, c[i]);
        assert_true(f->rep.id == 2);
        assert_non_null(strstr(f->rep.message, "from this client"));
        zsock_destroy(&c[i]);
    }
    azo_ctl_fail_all(f->ctl, AZO_EUNAVAIL, "going down");
    assert_int_equal(azo_ctl_pending(f->ctl), 0);
}

// Reopens the fixture with small queues both ways, so that the reply pipe
// fills at once; mandatory sets ZMQ_ROUTER_MANDATORY on the ROUTER.
static void
s_reopen_small(fixture_t *f, bool mandatory)
{
    azo_ctl_destroy(&f->ctl);
    zloop_destroy(&f->loop);
    zsock_destroy(&f->dealer);
    zsock_destroy(&f->router);
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://test-ctl-%d", ++s_no);
    f->router = zsock_new(ZMQ_ROUTER);
    zsock_set_sndhwm(f->router, 10);
    if (mandatory)
        zsock_set_router_mandatory(f->router, 1);
    assert_int_equal(zsock_bind(f->router, "%s", ep), 0);
    f->dealer = zsock_new(ZMQ_DEALER);
    zsock_set_rcvhwm(f->dealer, 10);
    assert_int_equal(zsock_connect(f->dealer, "%s", ep), 0);
    f->loop = zloop_new();
    f->ctl = azo_ctl_new(f->router, 60000, s_handler, f);
    assert_int_equal(azo_ctl_attach(f->ctl, f->loop), 0);
}

static void
test_ctl_client_that_never_reads_cannot_block_us(void **state)
{
    fixture_t *f = *state;
    for (int mandatory = 0; mandatory < 2; mandatory++) {
        s_reopen_small(f, mandatory);
        f->calls = 0;
        enum { N = 500 };
        for (int i = 0; i < N; i++)
            s_send(f, (uint64_t)i + 1, "echo");
        s_run(f, 100); // returns: no send waits for the reader
        assert_int_equal(f->calls, N);
        assert_int_equal(azo_ctl_pending(f->ctl), 0);
        // Another client is served meanwhile.
        zsock_t *other = s_other_client();
        s_send_on(other, 1000, "echo");
        s_run(f, 20);
        s_recv_on(f, other);
        assert_true(f->rep.ok && f->rep.id == 1000);
        zsock_destroy(&other);
        // The replies that did not fit were dropped, the first ones kept.
        zsock_set_rcvtimeo(f->dealer, 100);
        int got = 0;
        zframe_t *fr;
        while ((fr = zframe_recv(f->dealer))) {
            assert_int_equal(azo_rep_decode(&f->rep, zframe_data(fr),
                                            zframe_size(fr), NULL, 0),
                             0);
            assert_true(f->rep.id == (uint64_t)got + 1);
            got++;
            zframe_destroy(&fr);
        }
        assert_true(got >= 10 && got < N);
        // The client is not cut off: once it reads, it gets replies again.
        s_send(f, 2000, "echo");
        s_run(f, 20);
        s_recv(f);
        assert_true(f->rep.ok && f->rep.id == 2000);
    }
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_ctl_replies_by_sequence),
        T(test_ctl_times_out_with_the_handler_named),
        T(test_ctl_fails_by_handler_and_all),
        T(test_ctl_answers_bad_input_itself),
        T(test_ctl_caps_pending_per_client),
        T(test_ctl_caps_pending_in_all),
        T(test_ctl_counts_clients_by_their_whole_identity),
        T(test_ctl_client_that_never_reads_cannot_block_us),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
