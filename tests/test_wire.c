// test_wire — unit tests for azo_wire: request, reply and event envelopes
// round-trip through their packers and decoders; malformed-input tables for
// each decoder (built with msgpack-c's packer or raw bytes); the name
// checkers; one decoder object reused across good and bad input; and seeded
// mutations of valid envelopes through every decoder. Setup builds a
// fixture with one decoder of each kind and a packer; teardown frees it.
#include "azo_err.h"
#include "azo_testutil.h"
#include "azo_mp.h"
#include "azo_wire.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define S_ERRLEN 256 // what the runtime's handlers use

typedef struct {
    azo_req_t req;
    azo_rep_t rep;
    azo_event_t ev;
    azo_reply_t reply;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    char err[S_ERRLEN];
} s_fix_t;

static int
s_setup(void **state)
{
    s_fix_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    if (azo_req_init(&f->req) || azo_rep_init(&f->rep) ||
        azo_event_init(&f->ev)) {
        azo_req_fini(&f->req);
        azo_rep_fini(&f->rep);
        azo_event_fini(&f->ev);
        free(f);
        return -1;
    }
    azo_reply_init(&f->reply);
    msgpack_sbuffer_init(&f->sb);
    msgpack_packer_init(&f->pk, &f->sb, msgpack_sbuffer_write);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fix_t *f = *state;
    azo_req_fini(&f->req);
    azo_rep_fini(&f->rep);
    azo_event_fini(&f->ev);
    azo_reply_fini(&f->reply);
    msgpack_sbuffer_destroy(&f->sb);
    free(f);
    return 0;
}

// --- helpers
// -------------------------------------------------------------------

// True when s is well-formed UTF-8 (azo_mp_check on a one-string message).
static bool
s_utf8_ok(const char *s)
{
    size_t n = strlen(s);
    uint8_t *buf = malloc(n + 5);
    assert_non_null(buf);
    buf[0] = 0xdb;
    buf[1] = (uint8_t)(n >> 24);
    buf[2] = (uint8_t)(n >> 16);
    buf[3] = (uint8_t)(n >> 8);
    buf[4] = (uint8_t)n;
    memcpy(buf + 5, s, n);
    bool ok = azo_mp_check(buf, n + 5, NULL, 0) == 0;
    free(buf);
    return ok;
}

// A map described as a table: one entry per key, a zeroed entry ends it.
typedef enum {
    K_END = 0,
    K_UINT, // i as uint64
    K_INT,  // i
    K_STR,  // s
    K_STRN, // s, i bytes
    K_NIL,
    K_BOOL, // i
    K_REAL, // i as a double
    K_BIN,  // s
    K_ARR,  // [1 .. i]
    K_MAP,  // sub
} s_kind_t;

typedef struct s_kv {
    const char *key;
    s_kind_t kind;
    int64_t i;
    const char *s;
    const struct s_kv *sub;
} s_kv_t;

#define UI(k, v)                                                               \
    {                                                                          \
        k, K_UINT, (int64_t)(v), NULL, NULL                                    \
    }
#define IN(k, v)                                                               \
    {                                                                          \
        k, K_INT, v, NULL, NULL                                                \
    }
#define ST(k, v)                                                               \
    {                                                                          \
        k, K_STR, 0, v, NULL                                                   \
    }
#define SN(k, v, n)                                                            \
    {                                                                          \
        k, K_STRN, n, v, NULL                                                  \
    }
#define NI(k)                                                                  \
    {                                                                          \
        k, K_NIL, 0, NULL, NULL                                                \
    }
#define BO(k, v)                                                               \
    {                                                                          \
        k, K_BOOL, v, NULL, NULL                                               \
    }
#define RE(k, v)                                                               \
    {                                                                          \
        k, K_REAL, v, NULL, NULL                                               \
    }
#define BI(k, v)                                                               \
    {                                                                          \
        k, K_BIN, 0, v, NULL                                                   \
    }
#define AR(k, n)                                                               \
    {                                                                          \
        k, K_ARR, n, NULL, NULL                                                \
    }
#define MA(k, sub)                                                             \
    {                                                                          \
        k, K_MAP, 0, NULL, sub                                                 \
    }

static void s_pack_value(msgpack_packer *pk, const s_kv_t *kv);

static void
s_pack_kvs(msgpack_packer *pk, const s_kv_t *kv)
{
    uint32_t n = 0;
    while (kv[n].kind != K_END)
        n++;
    msgpack_pack_map(pk, n);
    for (uint32_t i = 0; i < n; i++) {
        azo_pack_strn(pk, kv[i].key, strlen(kv[i].key));
        s_pack_value(pk, &kv[i]);
    }
}

static void
s_pack_value(msgpack_packer *pk, const s_kv_t *kv)
{
    switch (kv->kind) {
    case K_UINT:
        msgpack_pack_uint64(pk, (uint64_t)kv->i);
        break;
    case K_INT:
        msgpack_pack_int64(pk, kv->i);
        break;
    case K_STR:
        azo_pack_str(pk, kv->s);
        break;
    case K_STRN:
        azo_pack_strn(pk, kv->s, (size_t)kv->i);
        break;
    case K_NIL:
        msgpack_pack_nil(pk);
        break;
    case K_BOOL:
        if (kv->i)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        break;
    case K_REAL:
        msgpack_pack_double(pk, (double)kv->i);
        break;
    case K_BIN:
        msgpack_pack_bin(pk, strlen(kv->s));
        msgpack_pack_bin_body(pk, kv->s, strlen(kv->s));
        break;
    case K_ARR:
        msgpack_pack_array(pk, (size_t)kv->i);
        for (int64_t j = 1; j <= kv->i; j++)
            msgpack_pack_int64(pk, j);
        break;
    case K_MAP:
        s_pack_kvs(pk, kv->sub);
        break;
    default:
        fail_msg("bad kind %d", (int)kv->kind);
    }
}

static const s_kv_t s_none[] = {{0}};

// 70 characters allowed in command names.
static const char s_digits[] = "0123456789012345678901234567890123456789"
                               "012345678901234567890123456789";

typedef void (*s_make_fn)(msgpack_sbuffer *sb);

// One malformed-input case: the bytes come from make, raw, or kv (in that
// order of preference).
typedef struct {
    const char *name;
    s_kv_t kv[8];
    const char *raw;
    size_t rawlen;
    s_make_fn make;
    const char *want; // substring of err
    bool has_id;      // requests: the id must still be readable
    uint64_t id;
    const char *topic; // events: NULL means a valid topic
    size_t tlen;
} s_case_t;

#define RAW(lit) .raw = lit, .rawlen = sizeof(lit) - 1

static void
s_case_bytes(const s_case_t *c, msgpack_sbuffer *sb)
{
    msgpack_sbuffer_clear(sb);
    if (c->make)
        c->make(sb);
    else if (c->raw) {
        if (c->rawlen) // no memcpy to a still NULL buffer
            msgpack_sbuffer_write(sb, c->raw, c->rawlen);
    } else {
        msgpack_packer pk;
        msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
        s_pack_kvs(&pk, c->kv);
    }
}

static void
s_assert_err(const char *name, const char *err, const char *want)
{
    if (!azo_test_one_line(err))
        fail_msg("%s: err is not one non-empty line: '%s'", name, err);
    if (want && !strstr(err, want))
        fail_msg("%s: err '%s' lacks '%s'", name, err, want);
}

// Packs a valid request {"v":1,"id":id,"cmd":cmd,"args":{"job":job}}.
static void
s_pack_req(msgpack_packer *pk, uint64_t id, const char *cmd, const char *job)
{
    azo_req_pack(pk, id, cmd);
    msgpack_pack_map(pk, 1);
    azo_pack_kstr(pk, "job", job);
}

// --- requests: round trip
// ---------------------------------------------------------

static void
test_wire_req_round_trip(void **state)
{
    s_fix_t *f = *state;
    azo_req_pack(&f->pk, 42, "sched.run");
    msgpack_pack_map(&f->pk, 9);
    azo_pack_kstr(&f->pk, "job", "nightly");
    azo_pack_kint(&f->pk, "n", -5);
    azo_pack_kuint(&f->pk, "big", UINT64_MAX);
    azo_pack_kbool(&f->pk, "flag", true);
    azo_pack_kbool(&f->pk, "off", false);
    azo_pack_kreal(&f->pk, "f", 1.5);
    azo_pack_str(&f->pk, "nul");
    azo_pack_strn(&f->pk, "a\0b", 3);
    azo_pack_str(&f->pk, "list");
    msgpack_pack_array(&f->pk, 2);
    msgpack_pack_int(&f->pk, 1);
    msgpack_pack_int(&f->pk, 2);
    azo_pack_kstr(&f->pk, "utf8", "caf\xc3\xa9");

    azo_req_t *r = &f->req;
    assert_int_equal(
        azo_req_decode(r, f->sb.data, f->sb.size, f->err, sizeof f->err), 0);
    assert_true(r->has_id);
    assert_true(r->id == 42);
    assert_string_equal(r->cmd, "sched.run");
    assert_int_equal(r->args->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(r->args->via.map.size, 9);
    assert_int_equal(r->root.type, MSGPACK_OBJECT_MAP);

    // azo_req_str: a NUL-terminated copy, or NULL.
    assert_string_equal(azo_req_str(r, "job"), "nightly");
    assert_string_equal(azo_req_str(r, "utf8"), "caf\xc3\xa9");
    assert_null(azo_req_str(r, "n"));
    assert_null(azo_req_str(r, "nul"));
    assert_null(azo_req_str(r, "absent"));
    assert_null(azo_req_str(r, "Job"));

    int64_t v = 7;
    assert_int_equal(azo_req_int(r, "n", &v), 0);
    assert_true(v == -5);
    assert_int_equal(azo_req_int(r, "absent", &v), AZO_ENOTFOUND);
    assert_int_equal(azo_req_int(r, "job", &v), AZO_EBADREQ);
    assert_int_equal(azo_req_int(r, "big", &v), AZO_EBADREQ);
    assert_int_equal(azo_req_int(r, "f", &v), AZO_EBADREQ);
    assert_int_equal(azo_req_int(r, "flag", &v), AZO_EBADREQ);

    bool b = false;
    assert_int_equal(azo_req_bool(r, "flag", &b), 0);
    assert_true(b);
    assert_int_equal(azo_req_bool(r, "off", &b), 0);
    assert_false(b);
    assert_int_equal(azo_req_bool(r, "absent", &b), AZO_ENOTFOUND);
    assert_int_equal(azo_req_bool(r, "n", &b), AZO_EBADREQ);
    assert_int_equal(azo_req_bool(r, "job", &b), AZO_EBADREQ);

    const msgpack_object *o = azo_req_arg(r, "list");
    assert_non_null(o);
    assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(o->via.array.size, 2);
    assert_null(azo_req_arg(r, "absent"));
    // Top-level keys are not arguments.
    assert_null(azo_req_arg(r, "cmd"));
    assert_null(azo_req_arg(r, "v"));

    // azo_req_unknown_arg: the first key, in message order, not allowed.
    assert_null(azo_req_unknown_arg(r, "job,n,big,flag,off,f,nul,list,utf8"));
    assert_null(azo_req_unknown_arg(r, "utf8,list,nul,f,off,flag,big,n,job"));
    assert_string_equal(azo_req_unknown_arg(r, "job,n"), "big");
    assert_string_equal(azo_req_unknown_arg(r, ""), "job");
    assert_string_equal(azo_req_unknown_arg(r, "jo,jobs,n"), "job");
    assert_string_equal(azo_req_unknown_arg(r, "job,n,big,flag,off,f,list"),
                        "nul");
    // The copy is NUL-terminated even though the key is not.
    const char *u = azo_req_unknown_arg(r, "job,n,big,flag,off");
    assert_string_equal(u, "f");
}

static void
test_wire_req_ids_and_names_at_limits(void **state)
{
    s_fix_t *f = *state;
    static const uint64_t ids[] = {
        0, 1, 127, 128, 65535, 65536, (uint64_t)INT64_MAX, UINT64_MAX};
    char cmd[AZO_WIRE_MAX_CMD + 1];
    memcpy(cmd, s_digits, AZO_WIRE_MAX_CMD);
    cmd[AZO_WIRE_MAX_CMD] = 0;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        msgpack_sbuffer_clear(&f->sb);
        s_pack_req(&f->pk, ids[i], i % 2 ? cmd : "a", "j");
        assert_int_equal(azo_req_decode(&f->req, f->sb.data, f->sb.size, f->err,
                                        sizeof f->err),
                         0);
        assert_true(f->req.has_id);
        assert_true(f->req.id == ids[i]);
        assert_string_equal(f->req.cmd, i % 2 ? cmd : "a");
    }
    // Every allowed character.
    msgpack_sbuffer_clear(&f->sb);
    s_pack_req(&f->pk, 3, "abcdefghijklmnopqrstuvwxyz.0123456789_-", "j");
    assert_int_equal(azo_req_decode(&f->req, f->sb.data, f->sb.size, NULL, 0),
                     0);
    assert_string_equal(f->req.cmd, "abcdefghijklmnopqrstuvwxyz.0123456789_-");
}

static void
test_wire_req_args_optional(void **state)
{
    s_fix_t *f = *state;
    // "args": nil and no "args" at all both give an empty map.
    static const s_kv_t nil_args[] = {
        UI("v", 1), UI("id", 4), ST("cmd", "ping"), NI("args"), {0}};
    static const s_kv_t no_args[] = {
        ST("cmd", "ping"), UI("id", 5), UI("v", 1), {0}};
    const s_kv_t *cases[] = {nil_args, no_args};
    for (int i = 0; i < 2; i++) {
        msgpack_sbuffer_clear(&f->sb);
        s_pack_kvs(&f->pk, cases[i]);
        assert_int_equal(azo_req_decode(&f->req, f->sb.data, f->sb.size, f->err,
                                        sizeof f->err),
                         0);
        assert_true(f->req.id == (uint64_t)(4 + i));
        assert_string_equal(f->req.cmd, "ping");
        assert_non_null(f->req.args);
        assert_int_equal(f->req.args->type, MSGPACK_OBJECT_MAP);
        assert_int_equal(f->req.args->via.map.size, 0);
        assert_null(azo_req_arg(&f->req, "job"));
        assert_null(azo_req_str(&f->req, "job"));
        int64_t v;
        assert_int_equal(azo_req_int(&f->req, "job", &v), AZO_ENOTFOUND);
        assert_null(azo_req_unknown_arg(&f->req, ""));
    }
}

static void
test_wire_req_accepts_other_int_encodings(void **state)
{
    s_fix_t *f = *state;
    // v as uint8 and id as int64: positive values, whatever the encoding.
    static const char raw[] = "\x84\xa1v\xcc\x01\xa2id\xd3\x00\x00\x00\x00\x00"
                              "\x00\x00\x09\xa3"
                              "cmd\xa4ping\xa4"
                              "args\xde\x00\x00";
    assert_int_equal(
        azo_req_decode(&f->req, raw, sizeof raw - 1, f->err, sizeof f->err), 0);
    assert_true(f->req.id == 9);
    assert_string_equal(f->req.cmd, "ping");
}

// --- requests: malformed-input table
// --------------------------------------------------

static void
s_make_req_truncated(msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    s_pack_req(&pk, 1, "sched.run", "nightly");
    sb->size -= 3;
}

static void
s_make_req_half(msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    s_pack_req(&pk, 1, "sched.run", "nightly");
    sb->size /= 2;
}

static void
s_make_req_trailing(msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    s_pack_req(&pk, 1, "ping", "x");
    msgpack_pack_nil(&pk);
}

static void
s_make_req_two(msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    s_pack_req(&pk, 1, "ping", "x");
    s_pack_req(&pk, 2, "ping", "x");
}

static void
s_make_req_deep_args(msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    azo_req_pack(&pk, 1, "ping");
    // args is depth 2; 16 more levels inside it.
    msgpack_pack_map(&pk, 1);
    azo_pack_str(&pk, "deep");
    for (int i = 0; i < AZO_MP_MAX_DEPTH; i++)
        msgpack_pack_array(&pk, 1);
    msgpack_pack_nil(&pk);
}

static void
s_make_req_ext_arg(msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    azo_req_pack(&pk, 1, "ping");
    msgpack_pack_map(&pk, 1);
    azo_pack_str(&pk, "when");
    msgpack_pack_ext(&pk, 4, -1); // a timestamp
    msgpack_pack_ext_body(&pk, "\0\0\0\0", 4);
}

static void
s_make_req_many_args(msgpack_sbuffer *sb)
{
    // 40000 args: 80000+ objects, over AZO_MP_MAX_ITEMS.
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    azo_req_pack(&pk, 1, "ping");
    msgpack_pack_map(&pk, 40000);
    for (int i = 0; i < 40000; i++) {
        msgpack_pack_str(&pk, 0);
        msgpack_pack_nil(&pk);
    }
}

static const s_case_t s_bad_reqs[] = {
    // Not a map, or not msgpack.
    {.name = "empty frame", RAW(""), .want = "empty"},
    {.name = "array",
     RAW("\x91\x01"),
     .want = "a request must be a msgpack map"},
    {.name = "array holding a request map",
     RAW("\x91\x80"),
     .want = "must be a msgpack map"},
    {.name = "int", RAW("\x05"), .want = "must be a msgpack map"},
    {.name = "string", RAW("\xa4ping"), .want = "must be a msgpack map"},
    {.name = "nil", RAW("\xc0"), .want = "must be a msgpack map"},
    {.name = "garbage", RAW("\xc1\xff\x00\x13"), .want = "invalid msgpack"},
    {.name = "text", RAW("GET / HTTP/1.1\r\n"), .want = "trailing"},
    {.name = "ext", RAW("\xd4\x00\x00"), .want = "ext"},
    {.name = "int key", RAW("\x81\x01\x01"), .want = "not a string"},
    {.name = "invalid UTF-8 in cmd",
     RAW("\x84\xa1v\x01\xa2id\x01\xa3"
         "cmd\xa2\xc0\x80\xa4"
         "args\x80"),
     .want = "UTF-8"},
    {.name = "map32 declaring 2^32-1 entries",
     RAW("\xdf\xff\xff\xff\xff\xa1v\x01"),
     .want = "declares"},
    {.name = "truncated by 3 bytes",
     .make = s_make_req_truncated,
     .want = "truncated"},
    {.name = "truncated by half", .make = s_make_req_half, .want = "truncated"},
    {.name = "trailing nil", .make = s_make_req_trailing, .want = "trailing"},
    {.name = "two requests", .make = s_make_req_two, .want = "trailing"},
    {.name = "args too deep", .make = s_make_req_deep_args, .want = "nesting"},
    {.name = "ext in args", .make = s_make_req_ext_arg, .want = "ext"},
    {.name = "too many args",
     .make = s_make_req_many_args,
     .want = "more than"},
    // Version.
    {.name = "missing v",
     .kv = {UI("id", 7), ST("cmd", "ping"), MA("args", s_none)},
     .want = "missing key 'v'",
     .has_id = true,
     .id = 7},
    {.name = "v = 2",
     .kv = {UI("v", 2), UI("id", 7), ST("cmd", "ping"), MA("args", s_none)},
     .want = "unsupported protocol version 2",
     .has_id = true,
     .id = 7},
    {.name = "v = 0",
     .kv = {UI("v", 0), UI("id", 8), ST("cmd", "ping")},
     .want = "unsupported protocol version 0",
     .has_id = true,
     .id = 8},
    {.name = "v as string",
     .kv = {ST("v", "1"), UI("id", 7), ST("cmd", "ping")},
     .want = "'v' must be the integer 1",
     .has_id = true,
     .id = 7},
    {.name = "v negative",
     .kv = {IN("v", -1), UI("id", 7), ST("cmd", "ping")},
     .want = "'v' must be the integer",
     .has_id = true,
     .id = 7},
    {.name = "v as float",
     .kv = {RE("v", 1), UI("id", 7), ST("cmd", "ping")},
     .want = "'v' must be the integer",
     .has_id = true,
     .id = 7},
    {.name = "v nil",
     .kv = {NI("v"), UI("id", 7), ST("cmd", "ping")},
     .want = "'v' must be the integer",
     .has_id = true,
     .id = 7},
    // Id.
    {.name = "missing id",
     .kv = {UI("v", 1), ST("cmd", "ping"), MA("args", s_none)},
     .want = "missing key 'id'"},
    {.name = "negative id",
     .kv = {UI("v", 1), IN("id", -1), ST("cmd", "ping")},
     .want = "'id' must be a non-negative integer"},
    {.name = "id as string",
     .kv = {UI("v", 1), ST("id", "7"), ST("cmd", "ping")},
     .want = "'id' must be a non-negative integer"},
    {.name = "id as float",
     .kv = {UI("v", 1), RE("id", 7), ST("cmd", "ping")},
     .want = "'id' must be"},
    {.name = "id nil",
     .kv = {UI("v", 1), NI("id"), ST("cmd", "ping")},
     .want = "'id' must be"},
    {.name = "id bool",
     .kv = {UI("v", 1), BO("id", 1), ST("cmd", "ping")},
     .want = "'id' must be"},
    {.name = "id missing and v wrong",
     .kv = {UI("v", 9), ST("cmd", "ping")},
     .want = "missing key 'id'"},
    // Command.
    {.name = "missing cmd",
     .kv = {UI("v", 1), UI("id", 11), MA("args", s_none)},
     .want = "missing key 'cmd'",
     .has_id = true,
     .id = 11},
    {.name = "cmd empty",
     .kv = {UI("v", 1), UI("id", 12), ST("cmd", "")},
     .want = "'cmd' must be a string of 1..64",
     .has_id = true,
     .id = 12},
    {.name = "cmd too long (65)",
     .kv = {UI("v", 1), UI("id", 13), SN("cmd", s_digits, 65)},
     .want = "'cmd' must be",
     .has_id = true,
     .id = 13},
    {.name = "cmd uppercase",
     .kv = {UI("v", 1), UI("id", 14), ST("cmd", "Ping")},
     .want = "'cmd' must be",
     .has_id = true,
     .id = 14},
    {.name = "cmd with a space",
     .kv = {UI("v", 1), UI("id", 15), ST("cmd", "sched run")},
     .want = "'cmd' must be",
     .has_id = true,
     .id = 15},
    {.name = "cmd with a slash",
     .kv = {UI("v", 1), UI("id", 15), ST("cmd", "a/b")},
     .want = "'cmd' must be",
     .has_id = true,
     .id = 15},
    {.name = "cmd with a NUL",
     .kv = {UI("v", 1), UI("id", 15), SN("cmd", "pi\0ng", 5)},
     .want = "'cmd' must be",
     .has_id = true,
     .id = 15},
    {.name = "cmd not ASCII",
     .kv = {UI("v", 1), UI("id", 15), ST("cmd", "caf\xc3\xa9")},
     .want = "'cmd' must be",
     .has_id = true,
     .id = 15},
    {.name = "cmd an int",
     .kv = {UI("v", 1), UI("id", 16), UI("cmd", 5)},
     .want = "'cmd' must be",
     .has_id = true,
     .id = 16},
    {.name = "cmd nil",
     .kv = {UI("v", 1), UI("id", 16), NI("cmd")},
     .want = "'cmd' must be",
     .has_id = true,
     .id = 16},
    {.name = "cmd bin",
     .kv = {UI("v", 1), UI("id", 16), BI("cmd", "ping")},
     .want = "'cmd' must be",
     .has_id = true,
     .id = 16},
    {.name = "cmd an array",
     .kv = {UI("v", 1), UI("id", 16), AR("cmd", 1)},
     .want = "'cmd' must be",
     .has_id = true,
     .id = 16},
    // Arguments.
    {.name = "args an array",
     .kv = {UI("v", 1), UI("id", 17), ST("cmd", "ping"), AR("args", 2)},
     .want = "'args' must be a map",
     .has_id = true,
     .id = 17},
    {.name = "args an int",
     .kv = {UI("v", 1), UI("id", 17), ST("cmd", "ping"), IN("args", 3)},
     .want = "'args' must be a map",
     .has_id = true,
     .id = 17},
    {.name = "args a string",
     .kv = {UI("v", 1), UI("id", 17), ST("cmd", "ping"), ST("args", "x")},
     .want = "'args' must be a map",
     .has_id = true,
     .id = 17},
    {.name = "args false",
     .kv = {UI("v", 1), UI("id", 17), ST("cmd", "ping"), BO("args", 0)},
     .want = "'args' must be a map",
     .has_id = true,
     .id = 17},
    // Unknown keys.
    {.name = "unknown key",
     .kv = {UI("v", 1), UI("id", 18), ST("cmd", "ping"), MA("args", s_none),
            UI("extra", 1)},
     .want = "unknown key 'extra' in request",
     .has_id = true,
     .id = 18},
    {.name = "key in the wrong case",
     .kv = {UI("v", 1), UI("id", 18), ST("cmd", "ping"), UI("V", 1)},
     .want = "unknown key 'V'",
     .has_id = true,
     .id = 18},
    {.name = "empty key",
     .kv = {UI("v", 1), UI("id", 18), ST("cmd", "ping"), NI("")},
     .want = "unknown key '' in request",
     .has_id = true,
     .id = 18},
    {.name = "result in a request",
     .kv = {UI("v", 1), UI("id", 18), ST("cmd", "ping"), MA("result", s_none)},
     .want = "unknown key 'result'",
     .has_id = true,
     .id = 18},
};

static void
test_wire_req_rejects_malformed_table(void **state)
{
    s_fix_t *f = *state;
    for (size_t i = 0; i < sizeof s_bad_reqs / sizeof s_bad_reqs[0]; i++) {
        const s_case_t *c = &s_bad_reqs[i];
        s_case_bytes(c, &f->sb);
        memset(f->err, 0, sizeof f->err);
        int rc = azo_req_decode(&f->req, f->sb.data, f->sb.size, f->err,
                                sizeof f->err);
        if (rc != AZO_EBADREQ)
            fail_msg("%s: returned %d, expected AZO_EBADREQ", c->name, rc);
        s_assert_err(c->name, f->err, c->want);
        if (f->req.has_id != c->has_id || f->req.id != c->id)
            fail_msg("%s: has_id %d id %llu, expected %d %llu", c->name,
                     f->req.has_id, (unsigned long long)f->req.id, c->has_id,
                     (unsigned long long)c->id);
        // args stays a map, even after a failure.
        assert_non_null(f->req.args);
        assert_int_equal(f->req.args->type, MSGPACK_OBJECT_MAP);

        // err == NULL works and gives the same answer.
        rc = azo_req_decode(&f->req, f->sb.data, f->sb.size, NULL, 0);
        if (rc != AZO_EBADREQ || f->req.has_id != c->has_id)
            fail_msg("%s: different answer with err NULL", c->name);

        // The error reply a handler sends for it decodes, with the id.
        azo_reply_start(&f->reply, f->req.has_id, f->req.id);
        assert_int_equal(azo_reply_fail(&f->reply, rc, "%s", f->err), rc);
        size_t len;
        const void *data = azo_reply_data(&f->reply, &len);
        assert_non_null(data);
        if (azo_rep_decode(&f->rep, data, len, f->err, sizeof f->err) != 0)
            fail_msg("%s: error reply does not decode: %s", c->name, f->err);
        assert_false(f->rep.ok);
        assert_int_equal(f->rep.rc, AZO_EBADREQ);
        assert_string_equal(f->rep.code, "bad_request");
        assert_int_equal(f->rep.has_id, c->has_id);
        if (c->has_id)
            assert_true(f->rep.id == c->id);
    }
}

static void
test_wire_req_failure_clears_previous_decode(void **state)
{
    s_fix_t *f = *state;
    s_pack_req(&f->pk, 5, "sched.run", "nightly");
    assert_int_equal(azo_req_decode(&f->req, f->sb.data, f->sb.size, NULL, 0),
                     0);
    assert_true(f->req.has_id && f->req.id == 5);
    assert_int_equal(f->req.args->via.map.size, 1);

    assert_int_equal(azo_req_decode(&f->req, "\xc1", 1, NULL, 0), AZO_EBADREQ);
    assert_false(f->req.has_id);
    assert_true(f->req.id == 0);
    assert_null(f->req.cmd);
    assert_int_equal(f->req.args->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(f->req.args->via.map.size, 0);
    assert_null(azo_req_arg(&f->req, "job"));
    assert_null(azo_req_unknown_arg(&f->req, ""));

    // A later failure that can read the id reports the new one.
    msgpack_sbuffer_clear(&f->sb);
    static const s_kv_t v2[] = {UI("v", 2), UI("id", 77), {0}};
    s_pack_kvs(&f->pk, v2);
    assert_int_equal(azo_req_decode(&f->req, f->sb.data, f->sb.size, NULL, 0),
                     AZO_EBADREQ);
    assert_true(f->req.has_id && f->req.id == 77);
}

// Peer-chosen key names end up in err, which the runtime logs and sends
// back as the error message: it must stay one printable line.
static void
test_wire_req_unknown_key_err_is_one_line(void **state)
{
    s_fix_t *f = *state;
    static const char *const keys[] = {"x\ny", "\x1b[31mred", "a\rb", "tab\t"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        s_kv_t kv[] = {
            UI("v", 1), UI("id", 1), ST("cmd", "ping"), UI(keys[i], 1), {0}};
        msgpack_sbuffer_clear(&f->sb);
        s_pack_kvs(&f->pk, kv);
        assert_int_equal(azo_req_decode(&f->req, f->sb.data, f->sb.size, f->err,
                                        sizeof f->err),
                         AZO_EBADREQ);
        s_assert_err(keys[i], f->err, "unknown key");
    }
}

// A long unknown key is cut to 64 bytes in err; cutting inside a UTF-8
// sequence makes an error reply that no client can decode.
static void
test_wire_req_unknown_long_utf8_key_reply_decodes(void **state)
{
    s_fix_t *f = *state;
    char key[128] = "a";
    for (int i = 0; i < 40; i++)
        strcat(key, "\xc3\xa9"); // byte 64 is the first half of an e-acute
    s_kv_t kv[] = {
        UI("v", 1), UI("id", 21), ST("cmd", "ping"), UI(key, 1), {0}};
    s_pack_kvs(&f->pk, kv);
    assert_int_equal(
        azo_req_decode(&f->req, f->sb.data, f->sb.size, f->err, sizeof f->err),
        AZO_EBADREQ);
    s_assert_err("long key", f->err, "unknown key 'a");
    assert_true(s_utf8_ok(f->err));

    // What azo_cmd_handle does with it.
    azo_reply_start(&f->reply, f->req.has_id, f->req.id);
    azo_reply_fail(&f->reply, AZO_EBADREQ, "%s", f->err);
    size_t len;
    const void *data = azo_reply_data(&f->reply, &len);
    char err[S_ERRLEN] = "";
    if (azo_rep_decode(&f->rep, data, len, err, sizeof err) != 0)
        fail_msg("error reply does not decode: %s", err);
    assert_true(f->rep.id == 21);
}

// --- replies
// -----------------------------------------------------------------------------

static void
s_decode_reply(s_fix_t *f)
{
    size_t len = 99;
    const void *data = azo_reply_data(&f->reply, &len);
    assert_non_null(data);
    assert_true(len > 0);
    assert_int_equal(azo_mp_check(data, len, f->err, sizeof f->err), 0);
    if (azo_rep_decode(&f->rep, data, len, f->err, sizeof f->err) != 0)
        fail_msg("reply does not decode: %s", f->err);
}

static void
test_wire_reply_ok_round_trip(void **state)
{
    s_fix_t *f = *state;
    size_t len = 99;
    assert_null(azo_reply_data(&f->reply, &len));
    assert_int_equal(len, 0);
    azo_reply_start(&f->reply, true, 9);
    assert_null(azo_reply_data(&f->reply, &len));
    assert_int_equal(len, 0);

    assert_int_equal(azo_reply_ok(&f->reply), 0);
    assert_true(f->reply.done);
    assert_int_equal(f->reply.rc, 0);
    s_decode_reply(f);
    assert_true(f->rep.ok);
    assert_true(f->rep.has_id);
    assert_true(f->rep.id == 9);
    assert_int_equal(f->rep.rc, 0);
    assert_null(f->rep.code);
    assert_null(f->rep.message);
    assert_non_null(f->rep.result);
    assert_int_equal(f->rep.result->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(f->rep.result->via.map.size, 0);

    // A new start forgets the written reply.
    azo_reply_start(&f->reply, true, 10);
    assert_null(azo_reply_data(&f->reply, &len));
    assert_false(f->reply.done);
}

static void
test_wire_reply_result_round_trip(void **state)
{
    s_fix_t *f = *state;
    azo_reply_start(&f->reply, true, UINT64_MAX);
    msgpack_packer *pk = azo_reply_result(&f->reply);
    assert_non_null(pk);
    msgpack_pack_map(pk, 3);
    azo_pack_kint(pk, "n", 3);
    azo_pack_kstr(pk, "name", "scheduler");
    azo_pack_str(pk, "jobs");
    msgpack_pack_array(pk, 2);
    azo_pack_str(pk, "a");
    azo_pack_str(pk, "b");
    s_decode_reply(f);
    assert_true(f->rep.ok);
    assert_true(f->rep.id == UINT64_MAX);
    const msgpack_object *res = f->rep.result;
    assert_int_equal(res->type, MSGPACK_OBJECT_MAP);
    int64_t n;
    assert_int_equal(azo_mp_int(azo_mp_get(res, "n"), &n), 0);
    assert_true(n == 3);
    assert_true(azo_mp_str_eq(azo_mp_get(res, "name"), "scheduler"));
    assert_int_equal(azo_mp_get(res, "jobs")->via.array.size, 2);

    // The result may be any type.
    azo_reply_start(&f->reply, true, 1);
    msgpack_pack_nil(azo_reply_result(&f->reply));
    s_decode_reply(f);
    assert_true(f->rep.ok);
    assert_int_equal(f->rep.result->type, MSGPACK_OBJECT_NIL);
    azo_reply_start(&f->reply, true, 1);
    azo_pack_str(azo_reply_result(&f->reply), "pong");
    s_decode_reply(f);
    assert_true(azo_mp_str_eq(f->rep.result, "pong"));
}

static const int s_codes[] = {
    AZO_EBADREQ,  AZO_ENOCMD,     AZO_ENOTFOUND,  AZO_ECONFLICT, AZO_EUNAVAIL,
    AZO_ETIMEOUT, AZO_EFORBIDDEN, AZO_ESTOREFULL, AZO_EINTERNAL,
};

static void
test_wire_reply_fail_every_code(void **state)
{
    s_fix_t *f = *state;
    for (size_t i = 0; i < sizeof s_codes / sizeof s_codes[0]; i++) {
        azo_reply_start(&f->reply, true, 100 + i);
        int rc = azo_reply_fail(&f->reply, s_codes[i], "failure %zu: %s", i,
                                "caf\xc3\xa9");
        assert_int_equal(rc, s_codes[i]);
        assert_int_equal(f->reply.rc, s_codes[i]);
        assert_true(f->reply.done);
        s_decode_reply(f);
        assert_false(f->rep.ok);
        assert_null(f->rep.result);
        assert_true(f->rep.has_id);
        assert_true(f->rep.id == 100 + i);
        assert_int_equal(f->rep.rc, s_codes[i]);
        assert_string_equal(f->rep.code, azo_err_wire(s_codes[i]));
        char want[64];
        snprintf(want, sizeof want, "failure %zu: caf\xc3\xa9", i);
        assert_string_equal(f->rep.message, want);
    }
}

static void
test_wire_reply_fail_maps_other_codes(void **state)
{
    s_fix_t *f = *state;
    // -errno: returned as is, sent as "internal".
    azo_reply_start(&f->reply, true, 1);
    assert_int_equal(azo_reply_fail(&f->reply, -ENOENT, "no file"), -ENOENT);
    s_decode_reply(f);
    assert_string_equal(f->rep.code, "internal");
    assert_int_equal(f->rep.rc, AZO_EINTERNAL);
    // A failure with a success code still fails.
    azo_reply_start(&f->reply, true, 1);
    assert_int_equal(azo_reply_fail(&f->reply, 0, "oops"), AZO_EINTERNAL);
    assert_int_equal(f->reply.rc, AZO_EINTERNAL);
    s_decode_reply(f);
    assert_false(f->rep.ok);
    assert_string_equal(f->rep.code, "internal");
    azo_reply_start(&f->reply, true, 1);
    assert_int_equal(azo_reply_fail(&f->reply, 5, "odd"), AZO_EINTERNAL);
    s_decode_reply(f);
    assert_false(f->rep.ok);
    // Unknown negative codes.
    azo_reply_start(&f->reply, true, 1);
    assert_int_equal(azo_reply_fail(&f->reply, -5000, "odd"), -5000);
    s_decode_reply(f);
    assert_string_equal(f->rep.code, "internal");
    // An empty message is still a message.
    azo_reply_start(&f->reply, true, 1);
    azo_reply_fail(&f->reply, AZO_ENOCMD, "%s", "");
    s_decode_reply(f);
    assert_string_equal(f->rep.message, "");
    assert_int_equal(f->rep.rc, AZO_ENOCMD);
}

static void
test_wire_reply_fail_truncates_message(void **state)
{
    s_fix_t *f = *state;
    char big[2 * AZO_WIRE_MAX_ERRMSG];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    static const size_t lens[] = {0,
                                  1,
                                  AZO_WIRE_MAX_ERRMSG - 1,
                                  AZO_WIRE_MAX_ERRMSG,
                                  AZO_WIRE_MAX_ERRMSG + 1,
                                  600,
                                  2 * AZO_WIRE_MAX_ERRMSG - 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        azo_reply_start(&f->reply, true, 1);
        azo_reply_fail(&f->reply, AZO_ECONFLICT, "%.*s", (int)lens[i], big);
        s_decode_reply(f);
        size_t want =
            lens[i] < AZO_WIRE_MAX_ERRMSG ? lens[i] : AZO_WIRE_MAX_ERRMSG;
        assert_int_equal(strlen(f->rep.message), want);
        assert_memory_equal(f->rep.message, big, want);
    }
}

// Cutting at AZO_WIRE_MAX_ERRMSG bytes must not split a UTF-8 sequence:
// the reply would carry invalid UTF-8 and every decoder would refuse it.
static void
test_wire_reply_fail_truncation_keeps_utf8(void **state)
{
    s_fix_t *f = *state;
    static const char *const tails[] = {"\xc3\xa9", "\xe2\x82\xac",
                                        "\xf0\x9f\x98\x80"};
    for (size_t t = 0; t < 3; t++)
        for (size_t k = 1; k < strlen(tails[t]); k++) {
            // The multi-byte character straddles the limit by k bytes.
            char msg[AZO_WIRE_MAX_ERRMSG + 16];
            size_t ascii = AZO_WIRE_MAX_ERRMSG + k - strlen(tails[t]);
            memset(msg, 'x', ascii);
            strcpy(msg + ascii, tails[t]);
            strcat(msg, "tail");
            azo_reply_start(&f->reply, true, 1);
            azo_reply_fail(&f->reply, AZO_ENOTFOUND, "%s", msg);
            size_t len;
            const void *data = azo_reply_data(&f->reply, &len);
            char err[S_ERRLEN] = "";
            if (azo_rep_decode(&f->rep, data, len, err, sizeof err) != 0)
                fail_msg("tail %zu straddling by %zu: reply does not decode: "
                         "%s",
                         t, k, err);
            assert_true(strlen(f->rep.message) <= AZO_WIRE_MAX_ERRMSG);
            assert_memory_equal(f->rep.message, msg, ascii);
        }
}

static void
test_wire_reply_without_id_sends_nil(void **state)
{
    s_fix_t *f = *state;
    azo_reply_start(&f->reply, false, 1234);
    azo_reply_fail(&f->reply, AZO_EBADREQ, "cannot read the request");
    size_t len;
    const void *data = azo_reply_data(&f->reply, &len);
    // On the wire: "id": nil, not 1234 and not absent.
    msgpack_zone zone;
    assert_true(msgpack_zone_init(&zone, 1024));
    msgpack_object root;
    assert_int_equal(azo_mp_unpack(data, len, &zone, &root), 0);
    const msgpack_object *id = azo_mp_get(&root, "id");
    assert_non_null(id);
    assert_int_equal(id->type, MSGPACK_OBJECT_NIL);
    assert_int_equal(root.via.map.size, 4);
    assert_true(azo_mp_str_eq(&root.via.map.ptr[0].key, "v"));
    msgpack_zone_destroy(&zone);

    s_decode_reply(f);
    assert_false(f->rep.has_id);
    assert_int_equal(f->rep.rc, AZO_EBADREQ);

    // The same for an ok reply.
    azo_reply_start(&f->reply, false, 1234);
    azo_reply_ok(&f->reply);
    s_decode_reply(f);
    assert_true(f->rep.ok);
    assert_false(f->rep.has_id);
}

static void
test_wire_reply_fail_replaces_result(void **state)
{
    s_fix_t *f = *state;
    azo_reply_start(&f->reply, true, 3);
    msgpack_packer *pk = azo_reply_result(&f->reply);
    msgpack_pack_map(pk, 2); // half written when the handler gives up
    azo_pack_kint(pk, "n", 1);
    assert_int_equal(azo_reply_fail(&f->reply, AZO_EUNAVAIL, "gone"),
                     AZO_EUNAVAIL);
    s_decode_reply(f);
    assert_false(f->rep.ok);
    assert_true(f->rep.id == 3);
    assert_string_equal(f->rep.code, "unavailable");
    assert_string_equal(f->rep.message, "gone");

    azo_reply_start(&f->reply, true, 4);
    azo_reply_ok(&f->reply);
    azo_reply_fail(&f->reply, AZO_ETIMEOUT, "late");
    s_decode_reply(f);
    assert_false(f->rep.ok);
    assert_int_equal(f->rep.rc, AZO_ETIMEOUT);

    // Two failures: the second wins.
    azo_reply_start(&f->reply, true, 5);
    azo_reply_fail(&f->reply, AZO_ETIMEOUT, "first");
    azo_reply_fail(&f->reply, AZO_EFORBIDDEN, "second");
    s_decode_reply(f);
    assert_int_equal(f->rep.rc, AZO_EFORBIDDEN);
    assert_string_equal(f->rep.message, "second");
}

// --- replies: malformed-input table
// ---------------------------------------------------

static const s_kv_t s_err_ok[] = {
    ST("code", "not_found"), ST("message", "no such job"), {0}};
static const s_kv_t s_err_nomsg[] = {ST("code", "not_found"), {0}};
static const s_kv_t s_err_nocode[] = {ST("message", "x"), {0}};
static const s_kv_t s_err_intcode[] = {
    UI("code", 404), ST("message", "x"), {0}};
static const s_kv_t s_err_nilmsg[] = {
    ST("code", "conflict"), NI("message"), {0}};
static const s_kv_t s_err_nulmsg[] = {
    ST("code", "conflict"), SN("message", "a\0b", 3), {0}};
static const s_kv_t s_err_nulcode[] = {
    SN("code", "conflict\0", 9), ST("message", "x"), {0}};

static void
s_make_rep_truncated(msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    static const s_kv_t kv[] = {
        UI("v", 1), UI("id", 1), BO("ok", 0), MA("error", s_err_ok), {0}};
    s_pack_kvs(&pk, kv);
    sb->size -= 1;
}

static const s_case_t s_bad_reps[] = {
    {.name = "empty frame", RAW(""), .want = "empty"},
    {.name = "array", RAW("\x90"), .want = "a reply must be a msgpack map"},
    {.name = "garbage", RAW("\xc1"), .want = "invalid msgpack"},
    {.name = "truncated", .make = s_make_rep_truncated, .want = "truncated"},
    {.name = "missing v",
     .kv = {UI("id", 1), BO("ok", 1), MA("result", s_none)},
     .want = "missing key 'v'"},
    {.name = "v = 2",
     .kv = {UI("v", 2), UI("id", 1), BO("ok", 1), MA("result", s_none)},
     .want = "unsupported protocol version 2"},
    {.name = "unknown key",
     .kv = {UI("v", 1), UI("id", 1), BO("ok", 1), MA("result", s_none),
            UI("extra", 1)},
     .want = "unknown key 'extra' in reply"},
    {.name = "cmd in a reply",
     .kv = {UI("v", 1), UI("id", 1), BO("ok", 1), ST("cmd", "ping")},
     .want = "unknown key 'cmd' in reply"},
    {.name = "missing id",
     .kv = {UI("v", 1), BO("ok", 1), MA("result", s_none)},
     .want = "'id' must be a non-negative integer or nil"},
    {.name = "id a string",
     .kv = {UI("v", 1), ST("id", "1"), BO("ok", 1), MA("result", s_none)},
     .want = "'id' must be"},
    {.name = "id negative",
     .kv = {UI("v", 1), IN("id", -1), BO("ok", 1), MA("result", s_none)},
     .want = "'id' must be"},
    {.name = "missing ok",
     .kv = {UI("v", 1), UI("id", 1), MA("result", s_none)},
     .want = "'ok' must be a boolean"},
    {.name = "ok an int",
     .kv = {UI("v", 1), UI("id", 1), UI("ok", 1), MA("result", s_none)},
     .want = "'ok' must be a boolean"},
    {.name = "ok a string",
     .kv = {UI("v", 1), UI("id", 1), ST("ok", "true"), MA("result", s_none)},
     .want = "'ok' must be a boolean"},
    {.name = "ok nil",
     .kv = {UI("v", 1), UI("id", 1), NI("ok"), MA("result", s_none)},
     .want = "'ok' must be a boolean"},
    {.name = "ok without result",
     .kv = {UI("v", 1), UI("id", 1), BO("ok", 1)},
     .want = "missing key 'result'"},
    {.name = "ok with only an error",
     .kv = {UI("v", 1), UI("id", 1), BO("ok", 1), MA("error", s_err_ok)},
     .want = "missing key 'result'"},
    {.name = "failure without error",
     .kv = {UI("v", 1), UI("id", 1), BO("ok", 0)},
     .want = "'error' must be a map with string 'code' and 'message'"},
    {.name = "failure with only a result",
     .kv = {UI("v", 1), UI("id", 1), BO("ok", 0), MA("result", s_none)},
     .want = "'error' must be a map"},
    {.name = "error a string",
     .kv = {UI("v", 1), UI("id", 1), BO("ok", 0), ST("error", "boom")},
     .want = "'error' must be a map"},
    {.name = "error empty",
     .kv = {UI("v", 1), UI("id", 1), BO("ok", 0), MA("error", s_none)},
     .want = "'error' must be a map"},
    {.name = "error without message",
     .kv = {UI("v", 1), UI("id", 1), BO("ok", 0), MA("error", s_err_nomsg)},
     .want = "'message'"},
    {.name = "error without code",
     .kv = {UI("v", 1), UI("id", 1), BO("ok", 0), MA("error", s_err_nocode)},
     .want = "'code'"},
    {.name = "error code an int",
     .kv = {UI("v", 1), UI("id", 1), BO("ok", 0), MA("error", s_err_intcode)},
     .want = "'code'"},
    {.name = "error message nil",
     .kv = {UI("v", 1), UI("id", 1), BO("ok", 0), MA("error", s_err_nilmsg)},
     .want = "'message'"},
    {.name = "error message with a NUL",
     .kv = {UI("v", 1), UI("id", 1), BO("ok", 0), MA("error", s_err_nulmsg)},
     .want = "'message'"},
    {.name = "error code with a NUL",
     .kv = {UI("v", 1), UI("id", 1), BO("ok", 0), MA("error", s_err_nulcode)},
     .want = "'code'"},
};

static void
test_wire_rep_rejects_malformed_table(void **state)
{
    s_fix_t *f = *state;
    for (size_t i = 0; i < sizeof s_bad_reps / sizeof s_bad_reps[0]; i++) {
        const s_case_t *c = &s_bad_reps[i];
        s_case_bytes(c, &f->sb);
        memset(f->err, 0, sizeof f->err);
        int rc = azo_rep_decode(&f->rep, f->sb.data, f->sb.size, f->err,
                                sizeof f->err);
        if (rc != AZO_EBADREQ)
            fail_msg("%s: returned %d, expected AZO_EBADREQ", c->name, rc);
        s_assert_err(c->name, f->err, c->want);
        if (azo_rep_decode(&f->rep, f->sb.data, f->sb.size, NULL, 0) !=
            AZO_EBADREQ)
            fail_msg("%s: different answer with err NULL", c->name);
    }
}

static void
test_wire_rep_accepts_edge_cases(void **state)
{
    s_fix_t *f = *state;
    // An unknown error code is kept as text and maps to internal.
    static const s_kv_t weird[] = {
        ST("code", "weird"), ST("message", "m"), {0}};
    static const s_kv_t kv1[] = {
        UI("v", 1), NI("id"), BO("ok", 0), MA("error", weird), {0}};
    s_pack_kvs(&f->pk, kv1);
    assert_int_equal(
        azo_rep_decode(&f->rep, f->sb.data, f->sb.size, f->err, sizeof f->err),
        0);
    assert_false(f->rep.has_id);
    assert_false(f->rep.ok);
    assert_string_equal(f->rep.code, "weird");
    assert_string_equal(f->rep.message, "m");
    assert_int_equal(f->rep.rc, AZO_EINTERNAL);

    // Keys in any order.
    static const s_kv_t kv2[] = {
        MA("error", s_err_ok), BO("ok", 0), UI("id", 6), UI("v", 1), {0}};
    msgpack_sbuffer_clear(&f->sb);
    s_pack_kvs(&f->pk, kv2);
    assert_int_equal(
        azo_rep_decode(&f->rep, f->sb.data, f->sb.size, f->err, sizeof f->err),
        0);
    assert_true(f->rep.has_id && f->rep.id == 6);
    assert_int_equal(f->rep.rc, AZO_ENOTFOUND);
    assert_string_equal(f->rep.message, "no such job");

    // A failure after a success clears ok, result and id.
    static const s_kv_t kv3[] = {
        UI("v", 1), UI("id", 7), BO("ok", 1), MA("result", s_none), {0}};
    msgpack_sbuffer_clear(&f->sb);
    s_pack_kvs(&f->pk, kv3);
    assert_int_equal(azo_rep_decode(&f->rep, f->sb.data, f->sb.size, NULL, 0),
                     0);
    assert_true(f->rep.ok && f->rep.result);
    assert_int_equal(azo_rep_decode(&f->rep, "\x91\x01", 2, NULL, 0),
                     AZO_EBADREQ);
    assert_false(f->rep.ok);
    assert_null(f->rep.result);
    assert_false(f->rep.has_id);
    assert_null(f->rep.code);
}

// Like azo_req_decode, a decode that reads no id leaves id 0, not the id
// of the previous message.
static void
test_wire_rep_decode_resets_id(void **state)
{
    s_fix_t *f = *state;
    static const s_kv_t with_id[] = {
        UI("v", 1), UI("id", 7), BO("ok", 1), MA("result", s_none), {0}};
    static const s_kv_t nil_id[] = {
        UI("v", 1), NI("id"), BO("ok", 1), MA("result", s_none), {0}};
    s_pack_kvs(&f->pk, with_id);
    assert_int_equal(azo_rep_decode(&f->rep, f->sb.data, f->sb.size, NULL, 0),
                     0);
    assert_true(f->rep.has_id && f->rep.id == 7);

    msgpack_sbuffer_clear(&f->sb);
    s_pack_kvs(&f->pk, nil_id);
    assert_int_equal(azo_rep_decode(&f->rep, f->sb.data, f->sb.size, NULL, 0),
                     0);
    assert_false(f->rep.has_id);
    assert_true(f->rep.id == 0);

    f->rep.id = 7; // as if left over
    assert_int_equal(azo_rep_decode(&f->rep, "\xc1", 1, NULL, 0), AZO_EBADREQ);
    assert_false(f->rep.has_id);
    assert_true(f->rep.id == 0);
}

// --- events
// --------------------------------------------------------------------------------

static void
test_wire_event_round_trip(void **state)
{
    s_fix_t *f = *state;
    static const int64_t stamps[] = {1700000000123LL, 0, -1, INT64_MAX,
                                     INT64_MIN};
    for (size_t i = 0; i < sizeof stamps / sizeof stamps[0]; i++) {
        msgpack_sbuffer_clear(&f->sb);
        azo_event_pack(&f->pk, stamps[i], "alpha", "scheduler", 2);
        azo_pack_kstr(&f->pk, "job", "nightly");
        azo_pack_kint(&f->pk, "attempt", 3);
        assert_int_equal(azo_mp_check(f->sb.data, f->sb.size, NULL, 0), 0);
        const char *topic = "sched.job.fired";
        assert_int_equal(azo_event_decode(&f->ev, topic, strlen(topic),
                                          f->sb.data, f->sb.size, f->err,
                                          sizeof f->err),
                         0);
        assert_string_equal(f->ev.topic, topic);
        assert_true(f->ev.ts == stamps[i]);
        assert_string_equal(f->ev.node, "alpha");
        assert_string_equal(f->ev.src, "scheduler");
        assert_int_equal(f->ev.root.type, MSGPACK_OBJECT_MAP);
        assert_int_equal(f->ev.root.via.map.size, 6);
        assert_true(azo_mp_str_eq(azo_mp_get(&f->ev.root, "job"), "nightly"));
        int64_t n;
        assert_int_equal(azo_mp_int(azo_mp_get(&f->ev.root, "attempt"), &n), 0);
        assert_true(n == 3);
        assert_int_equal(azo_mp_get(&f->ev.root, "v")->via.u64, AZO_WIRE_V);
    }

    // No extra fields; a topic of exactly AZO_WIRE_MAX_TOPIC bytes; the
    // topic is copied (not NUL-terminated on input).
    char topic[AZO_WIRE_MAX_TOPIC + 8];
    memset(topic, 't', sizeof topic);
    memcpy(topic, "health.target.", 14);
    msgpack_sbuffer_clear(&f->sb);
    int64_t now = azo_wire_now_ms();
    azo_event_pack(&f->pk, now, "n", "health-checker", 0);
    assert_int_equal(azo_event_decode(&f->ev, topic, AZO_WIRE_MAX_TOPIC,
                                      f->sb.data, f->sb.size, NULL, 0),
                     0);
    assert_int_equal(strlen(f->ev.topic), AZO_WIRE_MAX_TOPIC);
    assert_memory_equal(f->ev.topic, topic, AZO_WIRE_MAX_TOPIC);
    assert_true(f->ev.ts == now);
    assert_int_equal(f->ev.root.via.map.size, 4);

    // UTF-8 topics are allowed.
    const char *utf = "health.target.caf\xc3\xa9";
    assert_int_equal(azo_event_decode(&f->ev, utf, strlen(utf), f->sb.data,
                                      f->sb.size, NULL, 0),
                     0);
    assert_string_equal(f->ev.topic, utf);
}

static void
test_wire_now_ms_is_unix_ms(void **state)
{
    (void)state;
    int64_t a = azo_wire_now_ms();
    int64_t b = azo_wire_now_ms();
    assert_true(a > 1600000000000LL); // after 2020, in milliseconds
    assert_true(a < 4102444800000LL); // before 2100
    assert_true(b >= a);
}

static const s_case_t s_bad_events[] = {
    // Topics.
    {.name = "empty topic",
     .topic = "",
     .tlen = 0,
     .want = "invalid topic",
     .kv = {UI("v", 1), IN("ts", 1), ST("node", "a"), ST("src", "b")}},
    {.name = "topic with a space",
     .topic = "sched job",
     .tlen = 9,
     .want = "invalid topic",
     .kv = {UI("v", 1), IN("ts", 1), ST("node", "a"), ST("src", "b")}},
    {.name = "topic with a tab",
     .topic = "sched\tjob",
     .tlen = 9,
     .want = "invalid topic",
     .kv = {UI("v", 1), IN("ts", 1), ST("node", "a"), ST("src", "b")}},
    {.name = "topic with a newline",
     .topic = "sched\n",
     .tlen = 6,
     .want = "invalid topic",
     .kv = {UI("v", 1), IN("ts", 1), ST("node", "a"), ST("src", "b")}},
    {.name = "topic with DEL",
     .topic = "sched\x7f",
     .tlen = 6,
     .want = "invalid topic",
     .kv = {UI("v", 1), IN("ts", 1), ST("node", "a"), ST("src", "b")}},
    {.name = "topic with a NUL",
     .topic = "sched\0job",
     .tlen = 9,
     .want = "invalid topic",
     .kv = {UI("v", 1), IN("ts", 1), ST("node", "a"), ST("src", "b")}},
    {.name = "topic too long",
     .topic = s_digits,
     .tlen = 0 /* 129 */,
     .want = "invalid topic",
     .kv = {UI("v", 1), IN("ts", 1), ST("node", "a"), ST("src", "b")}},
    // Bodies.
    {.name = "empty body", RAW(""), .want = "empty"},
    {.name = "garbage body", RAW("\xc1"), .want = "invalid msgpack"},
    {.name = "array body",
     RAW("\x91\x01"),
     .want = "an event body must be a msgpack map"},
    {.name = "truncated body", RAW("\x84\xa1v\x01\xa2ts"), .want = "declares"},
    {.name = "truncated value", RAW("\x81\xa1v"), .want = "truncated"},
    {.name = "missing v",
     .kv = {IN("ts", 1), ST("node", "a"), ST("src", "b")},
     .want = "missing key 'v'"},
    {.name = "v = 2",
     .kv = {UI("v", 2), IN("ts", 1), ST("node", "a"), ST("src", "b")},
     .want = "unsupported protocol version 2"},
    {.name = "missing ts",
     .kv = {UI("v", 1), ST("node", "a"), ST("src", "b")},
     .want = "'ts' must be an integer"},
    {.name = "ts a string",
     .kv = {UI("v", 1), ST("ts", "1"), ST("node", "a"), ST("src", "b")},
     .want = "'ts' must be an integer"},
    {.name = "ts a float",
     .kv = {UI("v", 1), RE("ts", 1), ST("node", "a"), ST("src", "b")},
     .want = "'ts' must be an integer"},
    {.name = "ts past INT64_MAX",
     .kv = {UI("v", 1), UI("ts", UINT64_MAX), ST("node", "a"), ST("src", "b")},
     .want = "'ts' must be an integer"},
    {.name = "missing node",
     .kv = {UI("v", 1), IN("ts", 1), ST("src", "b")},
     .want = "'node' and 'src' must be strings"},
    {.name = "node an int",
     .kv = {UI("v", 1), IN("ts", 1), IN("node", 1), ST("src", "b")},
     .want = "'node' and 'src'"},
    {.name = "missing src",
     .kv = {UI("v", 1), IN("ts", 1), ST("node", "a")},
     .want = "'node' and 'src'"},
    {.name = "src nil",
     .kv = {UI("v", 1), IN("ts", 1), ST("node", "a"), NI("src")},
     .want = "'node' and 'src'"},
    {.name = "src with a NUL",
     .kv = {UI("v", 1), IN("ts", 1), ST("node", "a"), SN("src", "s\0x", 3)},
     .want = "'node' and 'src'"},
};

static void
test_wire_event_rejects_malformed_table(void **state)
{
    s_fix_t *f = *state;
    char longtopic[AZO_WIRE_MAX_TOPIC + 1];
    memset(longtopic, 'a', sizeof longtopic);
    for (size_t i = 0; i < sizeof s_bad_events / sizeof s_bad_events[0]; i++) {
        const s_case_t *c = &s_bad_events[i];
        s_case_bytes(c, &f->sb);
        const char *topic = c->topic ? c->topic : "sched.job.done";
        size_t tlen = c->topic ? c->tlen : strlen(topic);
        if (c->topic == s_digits) {
            topic = longtopic;
            tlen = sizeof longtopic;
        }
        memset(f->err, 0, sizeof f->err);
        int rc = azo_event_decode(&f->ev, topic, tlen, f->sb.data, f->sb.size,
                                  f->err, sizeof f->err);
        if (rc != AZO_EBADREQ)
            fail_msg("%s: returned %d, expected AZO_EBADREQ", c->name, rc);
        s_assert_err(c->name, f->err, c->want);
        if (c->topic)
            assert_string_equal(f->ev.topic, "");
        if (azo_event_decode(&f->ev, topic, tlen, f->sb.data, f->sb.size, NULL,
                             0) != AZO_EBADREQ)
            fail_msg("%s: different answer with err NULL", c->name);
    }
    // No topic at all.
    assert_int_equal(azo_event_decode(&f->ev, NULL, 0, "\x80", 1, NULL, 0),
                     AZO_EBADREQ);
}

// --- name checks
// -------------------------------------------------------------------------------

static void
test_wire_cmd_ok_edges(void **state)
{
    (void)state;
    assert_false(azo_wire_cmd_ok("", 0));
    assert_false(azo_wire_cmd_ok("ping", 0));
    assert_true(azo_wire_cmd_ok("p", 1));
    assert_true(azo_wire_cmd_ok(s_digits, AZO_WIRE_MAX_CMD));
    assert_false(azo_wire_cmd_ok(s_digits, AZO_WIRE_MAX_CMD + 1));
    assert_false(azo_wire_cmd_ok(s_digits, 70));
    assert_true(azo_wire_cmd_ok("sched.run", 9));
    assert_true(azo_wire_cmd_ok("actor.start", 11));
    assert_true(azo_wire_cmd_ok("a_b-c.9", 7));
    assert_true(azo_wire_cmd_ok(".", 1));
    // Only len bytes count.
    assert_true(azo_wire_cmd_ok("ping PONG", 4));
    assert_false(azo_wire_cmd_ok("ping PONG", 5));

    // Every byte: exactly a-z 0-9 . _ - are allowed.
    for (int c = 0; c < 256; c++) {
        char s[3] = {'a', (char)c, 'b'};
        bool want = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
        if (azo_wire_cmd_ok(s, 3) != want)
            fail_msg("byte 0x%02x: expected %d", c, want);
        if (azo_wire_cmd_ok(s + 1, 1) != want)
            fail_msg("lone byte 0x%02x: expected %d", c, want);
    }
}

static void
test_wire_topic_ok_edges(void **state)
{
    (void)state;
    char t[AZO_WIRE_MAX_TOPIC + 2];
    memset(t, 'x', sizeof t);
    assert_false(azo_wire_topic_ok("", 0));
    assert_false(azo_wire_topic_ok("sup", 0));
    assert_true(azo_wire_topic_ok("x", 1));
    assert_true(azo_wire_topic_ok(t, AZO_WIRE_MAX_TOPIC));
    assert_false(azo_wire_topic_ok(t, AZO_WIRE_MAX_TOPIC + 1));
    assert_true(azo_wire_topic_ok("sup.actor.started", 17));
    assert_true(azo_wire_topic_ok("log.warn", 8));
    assert_true(azo_wire_topic_ok("Sched/Job:1!~", 13)); // printable ASCII
    assert_true(azo_wire_topic_ok("health.target.caf\xc3\xa9", 19));
    assert_true(azo_wire_topic_ok("x.\xe2\x82\xac.\xf0\x9f\x98\x80", 10));
    assert_true(azo_wire_topic_ok("sup.x y", 5)); // only len bytes count
    assert_false(azo_wire_topic_ok("sup.x y", 6));
    // Controls, space and DEL.
    for (int c = 0; c <= 0x20; c++) {
        char s[3] = {'a', (char)c, 'b'};
        if (azo_wire_topic_ok(s, 3))
            fail_msg("byte 0x%02x accepted", c);
    }
    assert_false(azo_wire_topic_ok("a\x7f", 2));
    for (int c = 0x21; c < 0x7f; c++) {
        char s[3] = {'a', (char)c, 'b'};
        if (!azo_wire_topic_ok(s, 3))
            fail_msg("byte 0x%02x refused", c);
    }
}

// DESIGN.md: "The topic is a UTF-8 string"; azo_wire.h: "printable UTF-8".
static void
test_wire_topic_ok_requires_utf8(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "sched.\xff",             // never valid
        "sched.\xc3",             // truncated sequence at the end
        "sched.\xc3.x",           // truncated sequence
        "sched.\x80",             // lone continuation byte
        "sched.\xc0\xae",         // overlong '.'
        "sched.\xed\xa0\x80",     // surrogate
        "sched.\xf4\x90\x80\x80", // past U+10FFFF
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (azo_wire_topic_ok(bad[i], strlen(bad[i])))
            fail_msg("invalid UTF-8 topic %zu accepted", i);
}

// --- decoder reuse
// -------------------------------------------------------------------------------

static void
test_wire_decoders_reused_across_many_messages(void **state)
{
    s_fix_t *f = *state;
    char job[64], cmd[32];
    for (int i = 0; i < 3000; i++) {
        msgpack_sbuffer_clear(&f->sb);
        snprintf(job, sizeof job, "job-%d", i);
        snprintf(cmd, sizeof cmd, "cmd.%d", i % 7);
        switch (i % 5) {
        case 0: // good, small
            s_pack_req(&f->pk, (uint64_t)i, cmd, job);
            break;
        case 1: // good, with enough args to grow the zone past a chunk
            azo_req_pack(&f->pk, (uint64_t)i, cmd);
            msgpack_pack_map(&f->pk, 300);
            azo_pack_kstr(&f->pk, "job", job);
            for (int k = 1; k < 300; k++) {
                char key[16];
                snprintf(key, sizeof key, "k%d", k);
                azo_pack_kint(&f->pk, key, k);
            }
            break;
        case 2: // bad: garbage
            msgpack_sbuffer_write(&f->sb, "\xdd\xff\xff\xff\xff\xc1", 6);
            break;
        case 3: { // bad, with an id
            s_kv_t kv[] = {UI("v", 2), UI("id", i), ST("cmd", cmd), {0}};
            s_pack_kvs(&f->pk, kv);
            break;
        }
        default: // bad: truncated
            s_pack_req(&f->pk, (uint64_t)i, cmd, job);
            f->sb.size -= 1 + (size_t)(i / 5) % 5;
            break;
        }
        int rc = azo_req_decode(&f->req, f->sb.data, f->sb.size, f->err,
                                sizeof f->err);
        if (i % 5 < 2) {
            if (rc != 0)
                fail_msg("message %d: %s", i, f->err);
            assert_true(f->req.has_id && f->req.id == (uint64_t)i);
            assert_string_equal(f->req.cmd, cmd);
            assert_string_equal(azo_req_str(&f->req, "job"), job);
            if (i % 5 == 1) {
                int64_t v;
                assert_int_equal(azo_req_int(&f->req, "k299", &v), 0);
                assert_true(v == 299);
                assert_string_equal(azo_req_unknown_arg(&f->req, "job"), "k1");
            }
        } else {
            assert_int_equal(rc, AZO_EBADREQ);
            assert_int_equal(f->req.has_id, i % 5 == 3);
        }

        // The reply for it, then decoded with the reply decoder.
        azo_reply_start(&f->reply, f->req.has_id, f->req.id);
        if (rc == 0) {
            msgpack_packer *pk = azo_reply_result(&f->reply);
            msgpack_pack_map(pk, 1);
            azo_pack_kstr(pk, "job", job);
        } else
            azo_reply_fail(&f->reply, rc, "%s", f->err);
        size_t len;
        const void *data = azo_reply_data(&f->reply, &len);
        assert_int_equal(
            azo_rep_decode(&f->rep, data, len, f->err, sizeof f->err), 0);
        assert_int_equal(f->rep.ok, rc == 0);
        if (rc == 0)
            assert_true(azo_mp_str_eq(azo_mp_get(f->rep.result, "job"), job));
        // Every other reply decode is a bad one.
        if (i % 2)
            assert_int_equal(azo_rep_decode(&f->rep, "\x80", 1, NULL, 0),
                             AZO_EBADREQ);

        // And an event, good or bad.
        msgpack_sbuffer_clear(&f->sb);
        azo_event_pack(&f->pk, i, "alpha", job, 1);
        azo_pack_kstr(&f->pk, "job", job);
        if (i % 3 == 2)
            f->sb.size -= 2;
        rc = azo_event_decode(&f->ev, "sched.job.done", 14, f->sb.data,
                              f->sb.size, NULL, 0);
        if (i % 3 == 2)
            assert_int_equal(rc, AZO_EBADREQ);
        else {
            assert_int_equal(rc, 0);
            assert_string_equal(f->ev.src, job);
            assert_true(f->ev.ts == i);
        }
    }
}

// "cleared by each decode" (azo_wire.h): decoding the same message twice
// reuses the same zone memory instead of piling up allocations.
static void
test_wire_decoders_clear_their_zone(void **state)
{
    s_fix_t *f = *state;
    s_pack_req(&f->pk, 1, "ping", "x");
    const void *first = NULL;
    for (int i = 0; i < 50; i++) {
        assert_int_equal(
            azo_req_decode(&f->req, f->sb.data, f->sb.size, NULL, 0), 0);
        if (!first)
            first = f->req.root.via.map.ptr;
        assert_ptr_equal(f->req.root.via.map.ptr, first);
    }
    azo_reply_start(&f->reply, true, 1);
    azo_reply_ok(&f->reply);
    size_t len;
    const void *data = azo_reply_data(&f->reply, &len);
    first = NULL;
    for (int i = 0; i < 50; i++) {
        assert_int_equal(azo_rep_decode(&f->rep, data, len, NULL, 0), 0);
        if (!first)
            first = f->rep.root.via.map.ptr;
        assert_ptr_equal(f->rep.root.via.map.ptr, first);
    }
    msgpack_sbuffer_clear(&f->sb);
    azo_event_pack(&f->pk, 1, "a", "b", 0);
    first = NULL;
    for (int i = 0; i < 50; i++) {
        assert_int_equal(
            azo_event_decode(&f->ev, "t", 1, f->sb.data, f->sb.size, NULL, 0),
            0);
        if (!first)
            first = f->ev.root.via.map.ptr;
        assert_ptr_equal(f->ev.root.via.map.ptr, first);
    }
}

// --- mutated envelopes through the decoders
// ------------------------------------------------

static uint64_t
s_rand(uint64_t *s)
{
    // splitmix64: fixed seed, same sequence on every run.
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void
s_check_all_decoders(s_fix_t *f, const uint8_t *p, size_t len, size_t *ok)
{
    int rc = azo_req_decode(&f->req, p, len, f->err, sizeof f->err);
    assert_true(rc == 0 || rc == AZO_EBADREQ);
    if (rc == 0) {
        assert_non_null(f->req.cmd);
        assert_true(azo_wire_cmd_ok(f->req.cmd, strlen(f->req.cmd)));
        assert_true(f->req.has_id);
        (*ok)++;
    } else
        assert_true(f->err[0] != 0);
    assert_int_equal(f->req.args->type, MSGPACK_OBJECT_MAP);

    rc = azo_rep_decode(&f->rep, p, len, f->err, sizeof f->err);
    assert_true(rc == 0 || rc == AZO_EBADREQ);
    if (rc == 0) {
        if (f->rep.ok)
            assert_non_null(f->rep.result);
        else
            assert_true(f->rep.code && f->rep.message && f->rep.rc < 0);
        (*ok)++;
    }

    rc = azo_event_decode(&f->ev, "t", 1, p, len, f->err, sizeof f->err);
    assert_true(rc == 0 || rc == AZO_EBADREQ);
    if (rc == 0) {
        assert_true(f->ev.node && f->ev.src);
        (*ok)++;
    }
}

static void
test_wire_decoders_survive_mutated_envelopes(void **state)
{
    s_fix_t *f = *state;
    // Valid samples: a request, an ok reply, a failed reply, an event.
    uint8_t samples[4][256];
    size_t lens[4];
    msgpack_sbuffer_clear(&f->sb);
    s_pack_req(&f->pk, 77, "sched.run", "nightly");
    memcpy(samples[0], f->sb.data, lens[0] = f->sb.size);
    azo_reply_start(&f->reply, true, 77);
    msgpack_packer *pk = azo_reply_result(&f->reply);
    msgpack_pack_map(pk, 2);
    azo_pack_kint(pk, "n", -3);
    azo_pack_kstr(pk, "s", "caf\xc3\xa9");
    const void *d = azo_reply_data(&f->reply, &lens[1]);
    memcpy(samples[1], d, lens[1]);
    azo_reply_start(&f->reply, false, 0);
    azo_reply_fail(&f->reply, AZO_ENOTFOUND, "no such job");
    d = azo_reply_data(&f->reply, &lens[2]);
    memcpy(samples[2], d, lens[2]);
    msgpack_sbuffer_clear(&f->sb);
    azo_event_pack(&f->pk, 1700000000000LL, "alpha", "scheduler", 1);
    azo_pack_kstr(&f->pk, "job", "x");
    memcpy(samples[3], f->sb.data, lens[3] = f->sb.size);
    size_t ok = 0;
    for (int s = 0; s < 4; s++) {
        size_t before = ok;
        s_check_all_decoders(f, samples[s], lens[s], &ok);
        assert_int_equal(ok, before + 1); // each decodes with its own decoder
    }

    uint64_t seed = 0x77697265ULL; // "wire"
    uint8_t buf[300];
    size_t accepted = 0;
    for (int i = 0; i < 20000; i++) {
        int s = i % 4;
        size_t len = lens[s];
        memcpy(buf, samples[s], len);
        int muts = 1 + (int)(s_rand(&seed) % 3);
        for (int m = 0; m < muts && len > 0; m++) {
            uint64_t r = s_rand(&seed);
            size_t at = (size_t)((r >> 8) % len);
            switch (r % 5) {
            case 0:
                buf[at] ^= (uint8_t)(1u << ((r >> 40) % 8));
                break;
            case 1:
                len = at;
                break;
            case 2:
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = (uint8_t)(r >> 48);
                len++;
                break;
            case 3:
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
                break;
            default:
                buf[at] = (uint8_t)(r >> 48);
                break;
            }
        }
        uint8_t *p = malloc(len ? len : 1); // exact size, for ASan
        assert_non_null(p);
        memcpy(p, buf, len);
        s_check_all_decoders(f, p, len, &accepted);
        free(p);
    }
    print_message("mutated envelopes: %zu decodes succeeded\n", accepted);
    assert_true(accepted >= 500);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T(test_wire_req_round_trip),
        T(test_wire_req_ids_and_names_at_limits),
        T(test_wire_req_args_optional),
        T(test_wire_req_accepts_other_int_encodings),
        T(test_wire_req_rejects_malformed_table),
        T(test_wire_req_failure_clears_previous_decode),
        T(test_wire_req_unknown_key_err_is_one_line),
        T(test_wire_req_unknown_long_utf8_key_reply_decodes),
        T(test_wire_reply_ok_round_trip),
        T(test_wire_reply_result_round_trip),
        T(test_wire_reply_fail_every_code),
        T(test_wire_reply_fail_maps_other_codes),
        T(test_wire_reply_fail_truncates_message),
        T(test_wire_reply_fail_truncation_keeps_utf8),
        T(test_wire_reply_without_id_sends_nil),
        T(test_wire_reply_fail_replaces_result),
        T(test_wire_rep_rejects_malformed_table),
        T(test_wire_rep_accepts_edge_cases),
        T(test_wire_rep_decode_resets_id),
        T(test_wire_event_round_trip),
        T(test_wire_now_ms_is_unix_ms),
        T(test_wire_event_rejects_malformed_table),
        T(test_wire_cmd_ok_edges),
        T(test_wire_topic_ok_edges),
        T(test_wire_topic_ok_requires_utf8),
        T(test_wire_decoders_reused_across_many_messages),
        T(test_wire_decoders_clear_their_zone),
        T(test_wire_decoders_survive_mutated_envelopes),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
