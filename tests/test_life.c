// Unit tests of azo_life: round trips of every lifecycle message and a
// malformed-input table (these frames cross a socket for process actors).
#include "azo_err.h"
#include "azo_life.h"
#include "azo_mp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static void
test_life_round_trips(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (int ev = AZO_LIFE_HB; ev <= AZO_LIFE_ACTIVATE; ev++) {
        azo_life_t in = {.ev = (azo_life_ev_t)ev,
                         .gen = 4000000000u,
                         .pid = 12345,
                         .standby = ev == AZO_LIFE_HB,
                         .failed = ev == AZO_LIFE_EXIT,
                         .next = ev == AZO_LIFE_EXIT ? 4000000001u : 0};
        snprintf(in.reason, sizeof in.reason, "why %d", ev);
        assert_int_equal(azo_life_pack(&sb, &in), 0);
        azo_life_t out;
        assert_int_equal(azo_life_decode(sb.data, sb.size, &out), 0);
        assert_int_equal(out.ev, in.ev);
        assert_int_equal(out.gen, in.gen);
        assert_int_equal(out.pid, in.pid);
        assert_int_equal(out.standby, in.standby);
        assert_int_equal(out.failed, in.failed);
        assert_string_equal(out.reason, in.reason);
        assert_int_equal(out.next, in.next);
        assert_int_equal(out.tid, 0);
    }
    msgpack_sbuffer_destroy(&sb);
}

// Packs a map with the given pairs over a valid base, for the table.
static void
s_pack(msgpack_sbuffer *sb, const char *ev, int64_t gen, int64_t pid,
       int standby, const char *reason_or_null, bool reason_int)
{
    msgpack_packer pk;
    msgpack_sbuffer_clear(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    azo_pack_kstr(&pk, "ev", ev);
    azo_pack_kint(&pk, "gen", gen);
    azo_pack_kint(&pk, "pid", pid);
    azo_pack_str(&pk, "standby");
    if (standby >= 0) {
        if (standby)
            msgpack_pack_true(&pk);
        else
            msgpack_pack_false(&pk);
    } else
        msgpack_pack_int(&pk, 1);
    azo_pack_kbool(&pk, "failed", false);
    azo_pack_str(&pk, "reason");
    if (reason_int)
        msgpack_pack_int(&pk, 5);
    else
        azo_pack_str(&pk, reason_or_null);
}

static void
test_life_malformed_table(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    azo_life_t out;
    static const struct {
        const char *ev;
        int64_t gen, pid;
        int standby;
        bool reason_int;
    } rows[] = {
        {"bogus", 1, 1, 0, false},      {"hb", -1, 1, 0, false},
        {"hb", 1LL << 33, 1, 0, false}, {"hb", 1, -5, 0, false},
        {"hb", 1, 1, -1, false},        {"hb", 1, 1, 0, true},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        s_pack(&sb, rows[i].ev, rows[i].gen, rows[i].pid, rows[i].standby, "x",
               rows[i].reason_int);
        assert_int_equal(azo_life_decode(sb.data, sb.size, &out), AZO_EBADREQ);
    }
    // nil reason is fine; a control character is cleaned.
    s_pack(&sb, "exit", 1, 1, 0, NULL, false);
    assert_int_equal(azo_life_decode(sb.data, sb.size, &out), 0);
    assert_string_equal(out.reason, "");
    s_pack(&sb, "exit", 1, 1, 0, "a\nb", false);
    assert_int_equal(azo_life_decode(sb.data, sb.size, &out), 0);
    assert_string_equal(out.reason, "a?b");
    // Raw garbage, truncation, too long.
    // The split literal keeps "\xa2e" from reading as one hex escape.
    static const char *const junk[] = {"", "\xc1",
                                       ("\x81\xa2"
                                        "ev"),
                                       "\x90"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        assert_int_equal(azo_life_decode(junk[i], strlen(junk[i]), &out),
                         AZO_EBADREQ);
    s_pack(&sb, "hb", 1, 1, 0, "x", false);
    assert_int_equal(azo_life_decode(sb.data, sb.size - 1, &out), AZO_EBADREQ);
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    s_pack(&sb, "exit", 1, 1, 0, big, false);
    assert_int_equal(azo_life_decode(sb.data, sb.size, &out), AZO_EBADREQ);
    msgpack_sbuffer_destroy(&sb);
}

// "next" (a quick restart's generation) is optional, but when present a
// positive 32-bit integer.
static void
test_life_next(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    azo_life_t out;
    static const int64_t bad[] = {0, -1, 1LL << 32};
    for (size_t i = 0; i <= sizeof bad / sizeof bad[0]; i++) {
        s_pack(&sb, "exit", 1, 1, 0, "x", false);
        // One more pair: patch the map header (fixmap 6 -> 7).
        assert_int_equal((unsigned char)sb.data[0], 0x86);
        sb.data[0] = (char)0x87;
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        if (i < sizeof bad / sizeof bad[0]) {
            azo_pack_kint(&pk, "next", bad[i]);
            assert_int_equal(azo_life_decode(sb.data, sb.size, &out),
                             AZO_EBADREQ);
        } else {
            azo_pack_kstr(&pk, "next", "2");
            assert_int_equal(azo_life_decode(sb.data, sb.size, &out),
                             AZO_EBADREQ);
        }
    }
    s_pack(&sb, "exit", 1, 1, 0, "x", false);
    assert_int_equal(azo_life_decode(sb.data, sb.size, &out), 0);
    assert_int_equal(out.next, 0);
    msgpack_sbuffer_destroy(&sb);
}

// "tid" (the sender's thread) is packed only when set, and frames without
// it (older senders) decode with tid 0.
static void
test_life_tid(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    azo_life_t in = {.ev = AZO_LIFE_HB, .gen = 3, .pid = 100, .tid = 4242};
    assert_int_equal(azo_life_pack(&sb, &in), 0);
    azo_life_t out;
    assert_int_equal(azo_life_decode(sb.data, sb.size, &out), 0);
    assert_int_equal(out.tid, 4242);
    assert_int_equal(out.pid, 100);
    assert_int_equal(out.gen, 3);
    in.ev = AZO_LIFE_READY;
    in.tid = INT64_MAX;
    assert_int_equal(azo_life_pack(&sb, &in), 0);
    assert_int_equal(azo_life_decode(sb.data, sb.size, &out), 0);
    assert_int_equal(out.ev, AZO_LIFE_READY);
    assert_true(out.tid == INT64_MAX);
    // tid 0 is left out: the frame has the six pairs of old senders.
    in.tid = 0;
    assert_int_equal(azo_life_pack(&sb, &in), 0);
    assert_int_equal((unsigned char)sb.data[0], 0x86); // six pairs
    out.tid = 7;
    assert_int_equal(azo_life_decode(sb.data, sb.size, &out), 0);
    assert_int_equal(out.tid, 0);
    // With next as well: both optional keys.
    in = (azo_life_t){
        .ev = AZO_LIFE_EXIT, .gen = 1, .pid = 1, .next = 2, .tid = 9};
    assert_int_equal(azo_life_pack(&sb, &in), 0);
    assert_int_equal((unsigned char)sb.data[0], 0x88);
    assert_int_equal(azo_life_decode(sb.data, sb.size, &out), 0);
    assert_int_equal(out.next, 2);
    assert_int_equal(out.tid, 9);
    msgpack_sbuffer_destroy(&sb);
}

// A present tid must be a non-negative integer.
static void
test_life_bad_tid(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    azo_life_t out;
    for (int i = 0; i < 6; i++) {
        s_pack(&sb, "hb", 1, 1, 0, "x", false);
        // One more pair: patch the map header (fixmap 6 -> 7).
        assert_int_equal((unsigned char)sb.data[0], 0x86);
        sb.data[0] = (char)0x87;
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        azo_pack_str(&pk, "tid");
        int want = AZO_EBADREQ;
        switch (i) {
        case 0:
            msgpack_pack_int64(&pk, -1);
            break;
        case 1:
            azo_pack_str(&pk, "42");
            break;
        case 2:
            msgpack_pack_double(&pk, 42.0);
            break;
        case 3:
            msgpack_pack_true(&pk);
            break;
        case 4:
            msgpack_pack_uint64(&pk, UINT64_MAX); // past int64
            break;
        case 5:
            msgpack_pack_uint64(&pk, 0); // present and 0: absent
            want = 0;
            break;
        }
        assert_int_equal(azo_life_decode(sb.data, sb.size, &out), want);
    }
    assert_int_equal(out.tid, 0);
    msgpack_sbuffer_destroy(&sb);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_life_round_trips),
        cmocka_unit_test(test_life_malformed_table),
        cmocka_unit_test(test_life_next),
        cmocka_unit_test(test_life_tid),
        cmocka_unit_test(test_life_bad_tid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
