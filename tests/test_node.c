// Unit tests of azo_node: round trips of hello and state, the epoch frame,
// node names, and a malformed-input table (these messages cross the
// network between node agents and the supervisor).
#include "azo_err.h"
#include "azo_mp.h"
#include "azo_node.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void
test_node_hello_round_trip(void **state)
{
    (void)state;
    azo_node_hello_t *in = calloc(1, sizeof *in);
    azo_node_hello_t *out = calloc(1, sizeof *out);
    assert_non_null(in);
    assert_non_null(out);
    snprintf(in->node, sizeof in->node, "beta-2.lan");
    snprintf(in->version, sizeof in->version, "0.1.0");
    in->pid = 4242;
    in->need_config = true;
    in->nactors = 2;
    azo_node_actor_t *a = &in->actors[0];
    snprintf(a->name, sizeof a->name, "mining-optimizer");
    a->epoch = 4000000000u;
    snprintf(a->state, sizeof a->state, "running");
    snprintf(a->mode, sizeof a->mode, "process");
    a->gen = 7;
    a->restarts = 6;
    a->pid = 99;
    a->uptime_ms = 12345;
    snprintf(a->last_exit, sizeof a->last_exit, "failed: boom");
    snprintf(in->actors[1].name, sizeof in->actors[1].name, "archiver");
    in->actors[1].epoch = 1;
    snprintf(in->actors[1].state, sizeof in->actors[1].state, "backoff");
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(azo_node_hello_pack(&sb, in), 0);
    assert_string_equal(azo_node_type(sb.data, sb.size), "hello");
    assert_int_equal(azo_node_hello_decode(sb.data, sb.size, out), 0);
    assert_string_equal(out->node, "beta-2.lan");
    assert_string_equal(out->version, "0.1.0");
    assert_int_equal(out->pid, 4242);
    assert_true(out->need_config);
    assert_int_equal(out->nactors, 2);
    assert_string_equal(out->actors[0].name, "mining-optimizer");
    assert_int_equal(out->actors[0].epoch, 4000000000u);
    assert_string_equal(out->actors[0].state, "running");
    assert_string_equal(out->actors[0].mode, "process");
    assert_int_equal(out->actors[0].gen, 7);
    assert_int_equal(out->actors[0].restarts, 6);
    assert_int_equal(out->actors[0].pid, 99);
    assert_int_equal(out->actors[0].uptime_ms, 12345);
    assert_string_equal(out->actors[0].last_exit, "failed: boom");
    assert_string_equal(out->actors[1].state, "backoff");
    assert_string_equal(out->actors[1].last_exit, ""); // nil
    assert_null(azo_node_type(sb.data, sb.size - 1));  // truncated
    msgpack_sbuffer_destroy(&sb);
    free(in);
    free(out);
}

static void
test_node_state_round_trip(void **state)
{
    (void)state;
    azo_node_state_t *in = calloc(1, sizeof *in);
    azo_node_state_t *out = calloc(1, sizeof *out);
    snprintf(in->node, sizeof in->node, "alpha");
    in->heartbeat_ms = 200;
    in->liveness = 3;
    static const char cfg[] = "node\n    name = alpha\n";
    in->config = cfg;
    in->config_len = strlen(cfg);
    in->nassign = 1;
    snprintf(in->assign[0].name, sizeof in->assign[0].name, "scheduler");
    in->assign[0].epoch = 12;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(azo_node_state_pack(&sb, in), 0);
    assert_string_equal(azo_node_type(sb.data, sb.size), "state");
    assert_int_equal(azo_node_state_decode(sb.data, sb.size, out), 0);
    assert_string_equal(out->node, "alpha");
    assert_int_equal(out->heartbeat_ms, 200);
    assert_int_equal(out->liveness, 3);
    assert_int_equal(out->config_len, strlen(cfg));
    assert_memory_equal(out->config, cfg, strlen(cfg));
    assert_int_equal(out->nassign, 1);
    assert_string_equal(out->assign[0].name, "scheduler");
    assert_int_equal(out->assign[0].epoch, 12);
    // Without the configuration: NULL, and a hello is not a state.
    in->config = NULL;
    assert_int_equal(azo_node_state_pack(&sb, in), 0);
    assert_int_equal(azo_node_state_decode(sb.data, sb.size, out), 0);
    assert_null(out->config);
    azo_node_hello_t *h = calloc(1, sizeof *h);
    assert_int_equal(azo_node_hello_decode(sb.data, sb.size, h), AZO_EBADREQ);
    free(h);
    msgpack_sbuffer_destroy(&sb);
    free(in);
    free(out);
}

// Packs a broken hello: variant 0 a bad node name, 1 an empty one, 2 an
// actor missing its fields, 3 a negative epoch, 4 too many actors, 5
// actors not an array.
static void
s_pack_hello(msgpack_sbuffer *sb, int variant)
{
    msgpack_packer pk;
    msgpack_sbuffer_clear(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    azo_pack_kint(&pk, "v", 1);
    azo_pack_kstr(&pk, "t", "hello");
    azo_pack_kstr(&pk, "node",
                  variant == 0   ? "bad name!"
                  : variant == 1 ? ""
                                 : "ok");
    azo_pack_str(&pk, "actors");
    if (variant == 2) {
        msgpack_pack_array(&pk, 1);
        msgpack_pack_map(&pk, 1);
        azo_pack_kstr(&pk, "name", "x"); // no epoch, state, ...
    } else if (variant == 3) {
        msgpack_pack_array(&pk, 1);
        msgpack_pack_map(&pk, 4);
        azo_pack_kstr(&pk, "name", "x");
        azo_pack_kint(&pk, "epoch", -1); // negative
        azo_pack_kstr(&pk, "state", "running");
        azo_pack_kint(&pk, "gen", 1);
    } else if (variant == 4) {
        msgpack_pack_array(&pk, AZO_REG_MAX + 1); // too many
        for (int i = 0; i <= AZO_REG_MAX; i++)
            msgpack_pack_nil(&pk);
    } else
        azo_pack_str(&pk, "not an array");
}

static void
test_node_malformed(void **state)
{
    (void)state;
    azo_node_hello_t *h = calloc(1, sizeof *h);
    azo_node_state_t *st = calloc(1, sizeof *st);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (int v = 0; v <= 5; v++) {
        s_pack_hello(&sb, v);
        assert_int_equal(azo_node_hello_decode(sb.data, sb.size, h),
                         AZO_EBADREQ);
        assert_string_equal(h->node, ""); // cleared on failure
    }
    static const unsigned char junk[][6] = {
        {0xc1}, {0x81, 0xa1, 't'}, {0x90}, {0xa3, 'x', 'y', 'z'}};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        assert_int_equal(azo_node_hello_decode(junk[i], 4, h), AZO_EBADREQ);
        assert_int_equal(azo_node_state_decode(junk[i], 4, st), AZO_EBADREQ);
        assert_null(azo_node_type(junk[i], 4));
    }
    // A state with an epoch 0 or a heartbeat of 0 is refused.
    msgpack_packer pk;
    msgpack_sbuffer_clear(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    azo_pack_kint(&pk, "v", 1);
    azo_pack_kstr(&pk, "t", "state");
    azo_pack_kstr(&pk, "node", "alpha");
    azo_pack_kint(&pk, "heartbeat_ms", 0);
    azo_pack_kint(&pk, "liveness", 3);
    azo_pack_str(&pk, "assign");
    msgpack_pack_array(&pk, 0);
    assert_int_equal(azo_node_state_decode(sb.data, sb.size, st), AZO_EBADREQ);
    msgpack_sbuffer_destroy(&sb);
    free(h);
    free(st);
}

static void
test_node_epoch_and_names(void **state)
{
    (void)state;
    unsigned char buf[AZO_NODE_EPOCH_LEN];
    azo_node_epoch_write(buf, 0x01020304u);
    assert_int_equal(buf[0], 1);
    assert_int_equal(buf[3], 4);
    assert_int_equal(azo_node_epoch_read(buf), 0x01020304u);
    azo_node_epoch_write(buf, UINT32_MAX);
    assert_int_equal(azo_node_epoch_read(buf), UINT32_MAX);
    assert_true(azo_node_name_ok("beta"));
    assert_true(azo_node_name_ok("host-1.example_x"));
    assert_false(azo_node_name_ok(""));
    assert_false(azo_node_name_ok(NULL));
    assert_false(azo_node_name_ok("a b"));
    assert_false(azo_node_name_ok("a/b"));
    char longname[AZO_NODE_MAX_NAME + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_false(azo_node_name_ok(longname));
    longname[AZO_NODE_MAX_NAME] = 0;
    assert_true(azo_node_name_ok(longname));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_hello_round_trip),
        cmocka_unit_test(test_node_state_round_trip),
        cmocka_unit_test(test_node_malformed),
        cmocka_unit_test(test_node_epoch_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
