// Unit tests of azo_bus: frame headers, sending between inboxes, refusal
// when the peer is down or full, reconnection to a new generation.
#include "azo_bus.h"
#include "azo_err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

typedef struct {
    azo_registry_t *reg;
    azo_bus_t *bus; // the supervisor's
    int peer;
} fixture_t;

static int
setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->reg = azo_registry_new();
    f->peer = azo_registry_add(f->reg, "peer", "peer.");
    assert_int_equal(f->peer, 1);
    f->bus = azo_bus_new(f->reg, AZO_REG_SUP, 4);
    assert_non_null(f->bus);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture_t *f = *state;
    azo_bus_destroy(&f->bus);
    assert_null(f->bus);
    azo_registry_destroy(&f->reg);
    free(f);
    return 0;
}

// Receives one frame from inbox within 1 s into buf; returns its size.
static int
s_recv(zsock_t *inbox, void *buf, size_t len)
{
    zsock_set_rcvtimeo(inbox, 1000);
    return zmq_recv(zsock_resolve(inbox), buf, len, 0);
}

static void
test_bus_header_round_trip(void **state)
{
    (void)state;
    uint8_t frame[AZO_BUS_HDR + 3];
    azo_bus_hdr_write(frame, AZO_BUS_REPLY, 300, 7, 0x0102030405060708ULL);
    memcpy(frame + AZO_BUS_HDR, "abc", 3);
    azo_bus_msg_t m;
    assert_int_equal(azo_bus_parse(frame, sizeof frame, &m), 0);
    assert_int_equal(m.kind, AZO_BUS_REPLY);
    assert_int_equal(m.from, 300);
    assert_int_equal(m.to, 7);
    assert_true(m.token == 0x0102030405060708ULL);
    assert_int_equal(m.len, 3);
    assert_memory_equal(m.body, "abc", 3);
}

static void
test_bus_parse_rejects_bad_frames(void **state)
{
    (void)state;
    uint8_t frame[AZO_BUS_HDR] = {0};
    azo_bus_msg_t m;
    assert_int_equal(azo_bus_parse(frame, 0, &m), AZO_EBADREQ);
    assert_int_equal(azo_bus_parse(frame, AZO_BUS_HDR - 1, &m), AZO_EBADREQ);
    frame[0] = 'X';
    assert_int_equal(azo_bus_parse(frame, sizeof frame, &m), AZO_EBADREQ);
    frame[0] = AZO_BUS_CAST;
    assert_int_equal(azo_bus_parse(frame, sizeof frame, &m), 0);
    assert_int_equal(m.len, 0);
}

static void
test_bus_refuses_down_and_unknown_peers(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(azo_bus_send(f->bus, f->peer, AZO_BUS_CAST, 1, "x", 1, 0),
                     AZO_EUNAVAIL);
    assert_int_equal(azo_bus_send(f->bus, 9, AZO_BUS_CAST, 1, "x", 1, 0),
                     AZO_ENOTFOUND);
    assert_int_equal(azo_bus_send(f->bus, -1, AZO_BUS_CAST, 1, "x", 1, 0),
                     AZO_ENOTFOUND);
    assert_int_equal(azo_bus_refused(f->bus), 1);
}

static void
test_bus_delivers_and_follows_generations(void **state)
{
    fixture_t *f = *state;
    zsock_t *inbox = NULL;
    assert_int_equal(azo_bus_inbox_open(f->reg, f->peer, 1, 16, &inbox), 0);
    azo_registry_set_up(f->reg, f->peer, 1);
    assert_int_equal(
        azo_bus_send(f->bus, f->peer, AZO_BUS_REQUEST, 42, "hello", 5, 0), 0);
    uint8_t buf[64];
    int n = s_recv(inbox, buf, sizeof buf);
    assert_int_equal(n, AZO_BUS_HDR + 5);
    azo_bus_msg_t m;
    assert_int_equal(azo_bus_parse(buf, (size_t)n, &m), 0);
    assert_int_equal(m.kind, AZO_BUS_REQUEST);
    assert_int_equal(m.from, AZO_REG_SUP);
    assert_true(m.token == 42);
    assert_memory_equal(m.body, "hello", 5);

    // The peer restarts on generation 2: the old inbox goes away and the
    // sender reconnects without being told.
    zsock_destroy(&inbox);
    assert_int_equal(azo_bus_inbox_open(f->reg, f->peer, 2, 16, &inbox), 0);
    azo_registry_set_up(f->reg, f->peer, 2);
    assert_int_equal(
        azo_bus_send(f->bus, f->peer, AZO_BUS_CAST, 43, "again", 5, 0), 0);
    n = s_recv(inbox, buf, sizeof buf);
    assert_int_equal(n, AZO_BUS_HDR + 5);
    assert_int_equal(azo_bus_parse(buf, (size_t)n, &m), 0);
    assert_true(m.token == 43);
    assert_int_equal(azo_bus_sent(f->bus), 2);
    zsock_destroy(&inbox);
}

// A starting party (inbox bound, init running) takes replies but not
// requests or casts.
static void
test_bus_starting_party_takes_replies_only(void **state)
{
    fixture_t *f = *state;
    zsock_t *inbox = NULL;
    assert_int_equal(azo_bus_inbox_open(f->reg, f->peer, 3, 16, &inbox), 0);
    azo_registry_set_starting(f->reg, f->peer, 3);
    assert_false(azo_registry_up(f->reg, f->peer));
    assert_true(azo_registry_takes_replies(f->reg, f->peer));
    assert_int_equal(
        azo_bus_send(f->bus, f->peer, AZO_BUS_REQUEST, 1, "q", 1, 0),
        AZO_EUNAVAIL);
    assert_int_equal(azo_bus_send(f->bus, f->peer, AZO_BUS_CAST, 2, "c", 1, 0),
                     AZO_EUNAVAIL);
    assert_int_equal(
        azo_bus_send(f->bus, f->peer, AZO_BUS_REPLY, 3, "answer", 6, 0), 0);
    uint8_t buf[64];
    int n = s_recv(inbox, buf, sizeof buf);
    assert_int_equal(n, AZO_BUS_HDR + 6);
    azo_bus_msg_t m;
    assert_int_equal(azo_bus_parse(buf, (size_t)n, &m), 0);
    assert_int_equal(m.kind, AZO_BUS_REPLY);
    assert_true(m.token == 3);
    // Up: everything; down: nothing, replies included.
    azo_registry_set_up(f->reg, f->peer, 3);
    assert_int_equal(
        azo_bus_send(f->bus, f->peer, AZO_BUS_REQUEST, 4, "q", 1, 0), 0);
    azo_registry_set_down(f->reg, f->peer);
    assert_false(azo_registry_takes_replies(f->reg, f->peer));
    assert_int_equal(
        azo_bus_send(f->bus, f->peer, AZO_BUS_REPLY, 5, "late", 4, 0),
        AZO_EUNAVAIL);
    zsock_destroy(&inbox);
}

static void
test_bus_full_inbox_is_refused_not_blocking(void **state)
{
    fixture_t *f = *state;
    zsock_t *inbox = NULL;
    assert_int_equal(azo_bus_inbox_open(f->reg, f->peer, 1, 4, &inbox), 0);
    azo_registry_set_up(f->reg, f->peer, 1);
    int sent = 0, rc = 0;
    for (int i = 0; i < 1000 && rc == 0; i++)
        if ((rc = azo_bus_send(f->bus, f->peer, AZO_BUS_CAST, (uint64_t)i, "x",
                               1, 0)) == 0)
            sent++;
    assert_int_equal(rc, AZO_EUNAVAIL);
    assert_true(sent >= 4 && sent < 1000);
    // A bounded wait gives up too, and does not hang.
    assert_int_equal(azo_bus_send(f->bus, f->peer, AZO_BUS_CAST, 1, "x", 1, 20),
                     AZO_EUNAVAIL);
    // Once the receiver drains, sending works again.
    uint8_t buf[64];
    for (int i = 0; i < sent; i++)
        assert_int_equal(s_recv(inbox, buf, sizeof buf), AZO_BUS_HDR + 1);
    assert_int_equal(
        azo_bus_send(f->bus, f->peer, AZO_BUS_CAST, 1, "x", 1, 1000), 0);
    zsock_destroy(&inbox);
}

// A process actor's bus: every frame goes to the supervisor over one
// DEALER, events as E frames (topic, NUL, body).
static void
test_bus_uplink_sends_everything_to_the_supervisor(void **state)
{
    fixture_t *f = *state;
    zsock_t *router = zsock_new_router("inproc://test-bus-uplink");
    zsock_t *dealer = zsock_new_dealer("inproc://test-bus-uplink");
    assert_non_null(router);
    assert_non_null(dealer);
    zsock_set_rcvtimeo(router, 1000);
    azo_bus_t *up = azo_bus_new_uplink(f->reg, f->peer, dealer);
    assert_non_null(up);
    // Down or not, the supervisor is who decides: it goes.
    assert_int_equal(
        azo_bus_send(up, AZO_REG_SUP, AZO_BUS_REQUEST, 9, "q", 1, 0), 0);
    assert_int_equal(azo_bus_publish(up, "test.topic", "body", 4), 0);
    assert_int_equal(azo_bus_life(up, "L", 1, 0), 0);
    assert_int_equal(azo_bus_send(up, 99, AZO_BUS_CAST, 1, "x", 1, 0),
                     AZO_ENOTFOUND);
    const char kinds[] = {AZO_BUS_REQUEST, AZO_BUS_EVENT, AZO_BUS_LIFE};
    for (int i = 0; i < 3; i++) {
        zmsg_t *msg = zmsg_recv(router);
        assert_non_null(msg);
        assert_int_equal(zmsg_size(msg), 2); // [identity][frame]
        zframe_t *id = zmsg_pop(msg);
        zframe_t *fr = zmsg_pop(msg);
        azo_bus_msg_t m;
        assert_int_equal(azo_bus_parse(zframe_data(fr), zframe_size(fr), &m),
                         0);
        assert_int_equal(m.kind, kinds[i]);
        assert_int_equal(m.from, f->peer);
        assert_int_equal(m.to, AZO_REG_SUP);
        if (m.kind == AZO_BUS_EVENT) {
            assert_int_equal(m.len, strlen("test.topic") + 1 + 4);
            assert_string_equal(m.body, "test.topic");
            assert_memory_equal((const char *)m.body + 11, "body", 4);
        }
        zframe_destroy(&id);
        zframe_destroy(&fr);
        zmsg_destroy(&msg);
    }
    azo_bus_destroy(&up);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
}

// A local bus sends frames for a remote party (a process actor) to the
// supervisor's inbox, addressed to that party.
static void
test_bus_local_routes_remote_parties_via_supervisor(void **state)
{
    fixture_t *f = *state;
    azo_bus_t *actor = azo_bus_new(f->reg, f->peer, 16);
    int other = azo_registry_add(f->reg, "other", "other.");
    assert_true(other > 0);
    azo_registry_set_remote(f->reg, other, true);
    zsock_t *sup_inbox = NULL;
    assert_int_equal(azo_bus_inbox_open(f->reg, AZO_REG_SUP, 0, 16, &sup_inbox),
                     0);
    azo_registry_set_up(f->reg, AZO_REG_SUP, 0);
    assert_int_equal(azo_bus_send(actor, other, AZO_BUS_CAST, 5, "x", 1, 0),
                     AZO_EUNAVAIL); // down
    azo_registry_set_up(f->reg, other, 1);
    assert_int_equal(azo_bus_send(actor, other, AZO_BUS_CAST, 5, "x", 1, 0), 0);
    uint8_t buf[64];
    int n = s_recv(sup_inbox, buf, sizeof buf);
    azo_bus_msg_t m;
    assert_int_equal(azo_bus_parse(buf, (size_t)n, &m), 0);
    assert_int_equal(m.from, f->peer);
    assert_int_equal(m.to, other);
    azo_bus_destroy(&actor);
    zsock_destroy(&sup_inbox);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bus_header_round_trip),
        cmocka_unit_test(test_bus_parse_rejects_bad_frames),
        cmocka_unit_test_setup_teardown(test_bus_refuses_down_and_unknown_peers,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_bus_delivers_and_follows_generations, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_bus_starting_party_takes_replies_only, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_bus_full_inbox_is_refused_not_blocking, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_bus_uplink_sends_everything_to_the_supervisor, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_bus_local_routes_remote_parties_via_supervisor, setup,
            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
