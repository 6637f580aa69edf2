// Unit tests of azo_cmd: dispatch, bad input, deferral, one-way requests.
// Handlers are called directly, without sockets (STYLE §8).
#include "azo_cmd.h"
#include "azo_err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

typedef struct {
    int calls;
    azo_cmd_ctx_t *deferred; // list
    azo_cmd_ctx_t *later;
} state_t;

static int
s_echo(void *self, const azo_req_t *req, azo_reply_t *reply)
{
    state_t *st = self;
    st->calls++;
    const char *word = azo_req_str(req, "word");
    if (!word)
        return azo_reply_fail(reply, AZO_EBADREQ, "args.word: string needed");
    msgpack_packer *pk = azo_reply_result(reply);
    msgpack_pack_map(pk, 1);
    azo_pack_kstr(pk, "word", word);
    return 0;
}

static int
s_silent(void *self, const azo_req_t *req, azo_reply_t *reply)
{
    (void)req;
    (void)reply;
    ((state_t *)self)->calls++;
    return 0; // no reply written: becomes {}
}

static int
s_fails(void *self, const azo_req_t *req, azo_reply_t *reply)
{
    (void)self;
    (void)req;
    (void)reply;
    return AZO_ESTOREFULL; // no reply written: becomes an error reply
}

static int
s_later(void *self, const azo_req_t *req, azo_reply_t *reply)
{
    state_t *st = self;
    (void)req;
    st->later = azo_cmd_defer(reply, &st->deferred);
    return 0;
}

static const azo_cmd_entry_t s_cmds[] = {
    {"t.echo", s_echo},   {"t.silent", s_silent},        {"t.fails", s_fails},
    {"t.later", s_later}, {"t.na", azo_cmd_unavailable},
};
#define NCMDS (sizeof s_cmds / sizeof s_cmds[0])

typedef struct {
    state_t st;
    azo_req_t req;
    azo_cmd_ctx_t ctx;
    azo_rep_t rep;
    msgpack_sbuffer sb;
    msgpack_packer pk;
} fixture_t;

static int
setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_int_equal(azo_req_init(&f->req), 0);
    assert_int_equal(azo_rep_init(&f->rep), 0);
    azo_cmd_ctx_init(&f->ctx);
    msgpack_sbuffer_init(&f->sb);
    msgpack_packer_init(&f->pk, &f->sb, msgpack_sbuffer_write);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture_t *f = *state;
    while (f->st.deferred) {
        azo_cmd_ctx_t *c = f->st.deferred;
        azo_cmd_ctx_free(&c, &f->st.deferred);
    }
    azo_req_fini(&f->req);
    azo_rep_fini(&f->rep);
    azo_cmd_ctx_fini(&f->ctx);
    msgpack_sbuffer_destroy(&f->sb);
    free(f);
    return 0;
}

// Encodes {v,id,cmd,args:{word}} (word may be NULL: no args) and handles
// it; returns whether a reply is due, decoding it into f->rep.
static bool
s_handle(fixture_t *f, const char *cmd, const char *word, bool oneway)
{
    msgpack_sbuffer_clear(&f->sb);
    azo_req_pack(&f->pk, 5, cmd);
    if (word) {
        msgpack_pack_map(&f->pk, 1);
        azo_pack_kstr(&f->pk, "word", word);
    } else
        msgpack_pack_map(&f->pk, 0);
    f->ctx.oneway = oneway;
    bool due = azo_cmd_handle(s_cmds, NCMDS, &f->st, &f->req, &f->ctx,
                              f->sb.data, f->sb.size, NULL, 0);
    if (due) {
        size_t len;
        const void *data = azo_reply_data(&f->ctx.reply, &len);
        assert_non_null(data);
        assert_int_equal(azo_rep_decode(&f->rep, data, len, NULL, 0), 0);
        assert_true(f->rep.has_id);
        assert_true(f->rep.id == 5);
    }
    return due;
}

static void
test_cmd_dispatches_and_replies(void **state)
{
    fixture_t *f = *state;
    assert_true(s_handle(f, "t.echo", "hi", false));
    assert_true(f->rep.ok);
    assert_true(azo_mp_str_eq(azo_mp_get(f->rep.result, "word"), "hi"));
    assert_true(s_handle(f, "t.silent", NULL, false));
    assert_true(f->rep.ok);
    assert_int_equal(f->rep.result->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(f->st.calls, 2);
}

static void
test_cmd_errors_become_replies(void **state)
{
    fixture_t *f = *state;
    assert_true(s_handle(f, "t.echo", NULL, false));
    assert_int_equal(f->rep.rc, AZO_EBADREQ);
    assert_true(s_handle(f, "t.fails", NULL, false));
    assert_int_equal(f->rep.rc, AZO_ESTOREFULL);
    assert_string_equal(f->rep.code, "store_full");
    assert_true(s_handle(f, "t.nope", NULL, false));
    assert_int_equal(f->rep.rc, AZO_ENOCMD);
    assert_non_null(strstr(f->rep.message, "t.nope"));
    assert_true(s_handle(f, "t.na", NULL, false));
    assert_int_equal(f->rep.rc, AZO_EUNAVAIL);
    assert_non_null(strstr(f->rep.message, "t.na"));
}

static void
test_cmd_malformed_input_table(void **state)
{
    fixture_t *f = *state;
    static const struct {
        const char *bytes;
        size_t len;
    } rows[] = {
        {"", 0},
        {"\xc1", 1},
        {"\x93\x01\x02\x03", 4},
        {"\x81\xa1v", 3},
        {"\xdf\xff\xff\xff\xff", 5},
        {"\x83\xa1v\x01\xa2id\x01\xa3"
         "cmd\x05",
         12},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char err[128] = "";
        f->ctx.oneway = false;
        assert_true(azo_cmd_handle(s_cmds, NCMDS, &f->st, &f->req, &f->ctx,
                                   rows[i].bytes, rows[i].len, err,
                                   sizeof err));
        size_t len;
        const void *data = azo_reply_data(&f->ctx.reply, &len);
        assert_int_equal(azo_rep_decode(&f->rep, data, len, NULL, 0), 0);
        assert_int_equal(f->rep.rc, AZO_EBADREQ);
        assert_true(err[0] != 0);
        // One-way garbage gets no reply, but still an error for the log.
        f->ctx.oneway = true;
        err[0] = 0;
        assert_false(azo_cmd_handle(s_cmds, NCMDS, &f->st, &f->req, &f->ctx,
                                    rows[i].bytes, rows[i].len, err,
                                    sizeof err));
        assert_true(err[0] != 0);
    }
    assert_int_equal(f->st.calls, 0);
}

static void
test_cmd_oneway_gets_no_reply(void **state)
{
    fixture_t *f = *state;
    assert_false(s_handle(f, "t.echo", "x", true));
    assert_int_equal(f->st.calls, 1);
    assert_false(s_handle(f, "t.nope", NULL, true));
}

static void
test_cmd_defer_moves_the_reply(void **state)
{
    fixture_t *f = *state;
    f->ctx.from = 3;
    f->ctx.token = 77;
    assert_false(s_handle(f, "t.later", NULL, false));
    azo_cmd_ctx_t *later = f->st.later;
    assert_non_null(later);
    assert_ptr_equal(f->st.deferred, later);
    assert_int_equal(later->from, 3);
    assert_true(later->token == 77);
    assert_true(later->reply.id == 5);
    azo_reply_ok(&later->reply);
    size_t len;
    assert_non_null(azo_reply_data(&later->reply, &len));
    azo_cmd_ctx_free(&later, &f->st.deferred);
    assert_null(later);
    assert_null(f->st.deferred);
    // One-way requests cannot be deferred: the handler must act now.
    assert_false(s_handle(f, "t.later", NULL, true));
    assert_null(f->st.later);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cmd_dispatches_and_replies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cmd_errors_become_replies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cmd_malformed_input_table, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cmd_oneway_gets_no_reply, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cmd_defer_moves_the_reply, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
