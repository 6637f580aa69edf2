// test_json — unit tests for azo_json (tools/azo_json.[ch]): msgpack -> JSON,
// JSON -> msgpack, and the `key=value` argument parser of azoctl. Each test
// gets a fresh fixture: an sbuffer with its packer and a zone for decoding.
#include "azo_err.h"
#include "azo_json.h"
#include "azo_mp.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct {
    msgpack_sbuffer sbuf; // owned
    msgpack_packer pk;    // writes into sbuf
    msgpack_zone *zone;   // owned; objects decoded by s_unpack
    msgpack_object obj;   // the last object decoded by s_unpack
} fixture_t;

static int
setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    msgpack_sbuffer_init(&f->sbuf);
    msgpack_packer_init(&f->pk, &f->sbuf, msgpack_sbuffer_write);
    f->zone = msgpack_zone_new(4096);
    assert_non_null(f->zone);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture_t *f = *state;
    msgpack_sbuffer_destroy(&f->sbuf);
    msgpack_zone_free(f->zone);
    free(f);
    return 0;
}

// Validates (as the wire does) and decodes what was packed into f->obj.
static const msgpack_object *
s_unpack(fixture_t *f)
{
    assert_int_equal(azo_mp_check(f->sbuf.data, f->sbuf.size, NULL, 0), 0);
    assert_int_equal(
        azo_mp_unpack(f->sbuf.data, f->sbuf.size, f->zone, &f->obj), 0);
    return &f->obj;
}

static void
s_reset(fixture_t *f)
{
    msgpack_sbuffer_clear(&f->sbuf);
}

// Converts what was packed to JSON and returns it compact; caller frees.
static char *
s_packed_to_text(fixture_t *f)
{
    json_t *j = azo_json_from_mp(s_unpack(f));
    assert_non_null(j);
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    assert_non_null(text);
    return text;
}

static void
s_assert_text(fixture_t *f, const char *want)
{
    char *got = s_packed_to_text(f);
    assert_string_equal(got, want);
    free(got);
    s_reset(f);
}

static void
test_json_scalars_from_mp(void **state)
{
    fixture_t *f = *state;
    msgpack_pack_nil(&f->pk);
    s_assert_text(f, "null");
    msgpack_pack_true(&f->pk);
    s_assert_text(f, "true");
    msgpack_pack_false(&f->pk);
    s_assert_text(f, "false");
    msgpack_pack_uint64(&f->pk, 0);
    s_assert_text(f, "0");
    msgpack_pack_int64(&f->pk, -7);
    s_assert_text(f, "-7");
    msgpack_pack_int64(&f->pk, INT64_MIN);
    s_assert_text(f, "-9223372036854775808");
    msgpack_pack_uint64(&f->pk, INT64_MAX);
    s_assert_text(f, "9223372036854775807");
    msgpack_pack_double(&f->pk, 5.5);
    s_assert_text(f, "5.5");
    // A float32 reads as its shortest decimal form: the double nearest 0.1,
    // not 0.100000001490116.
    msgpack_pack_float(&f->pk, 0.1f);
    json_t *j = azo_json_from_mp(s_unpack(f));
    assert_non_null(j);
    assert_true(json_is_real(j) && json_real_value(j) == 0.1);
    json_decref(j);
    s_reset(f);
    msgpack_pack_double(&f->pk, NAN);
    s_assert_text(f, "null");
    msgpack_pack_float(&f->pk, -INFINITY);
    s_assert_text(f, "null");
    azo_pack_str(&f->pk, "h\xc3\xa9llo \"q\"");
    s_assert_text(f, "\"h\xc3\xa9llo \\\"q\\\"\"");
}

static void
test_json_string_with_nul_kept_whole(void **state)
{
    fixture_t *f = *state;
    azo_pack_strn(&f->pk, "a\0b", 3);
    json_t *j = azo_json_from_mp(s_unpack(f));
    assert_non_null(j);
    assert_int_equal(json_string_length(j), 3);
    assert_memory_equal(json_string_value(j), "a\0b", 3);
    json_decref(j);
}

static void
test_json_uint64_above_int64_max_is_string(void **state)
{
    fixture_t *f = *state;
    msgpack_pack_uint64(&f->pk, (uint64_t)INT64_MAX + 1);
    s_assert_text(f, "\"9223372036854775808\"");
    msgpack_pack_uint64(&f->pk, UINT64_MAX);
    s_assert_text(f, "\"18446744073709551615\"");
}

static void
test_json_bin_is_base64(void **state)
{
    fixture_t *f = *state;
    // RFC 4648 section 10 test vectors.
    static const struct {
        const char *in, *out;
    } vec[] = {
        {"", "\"\""},
        {"f", "\"Zg==\""},
        {"fo", "\"Zm8=\""},
        {"foo", "\"Zm9v\""},
        {"foob", "\"Zm9vYg==\""},
        {"fooba", "\"Zm9vYmE=\""},
        {"foobar", "\"Zm9vYmFy\""},
    };
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        size_t n = strlen(vec[i].in);
        msgpack_pack_bin(&f->pk, n);
        msgpack_pack_bin_body(&f->pk, vec[i].in, n);
        s_assert_text(f, vec[i].out);
    }
    static const uint8_t raw[] = {0x00, 0xff, 0xfe, 0x80, 0x3e, 0x3f};
    msgpack_pack_bin(&f->pk, sizeof raw);
    msgpack_pack_bin_body(&f->pk, raw, sizeof raw);
    s_assert_text(f, "\"AP/+gD4/\"");
}

static void
test_json_nested_from_mp(void **state)
{
    fixture_t *f = *state;
    msgpack_pack_map(&f->pk, 3);
    azo_pack_kint(&f->pk, "b", 1);
    azo_pack_str(&f->pk, "a");
    msgpack_pack_array(&f->pk, 3);
    msgpack_pack_nil(&f->pk);
    msgpack_pack_map(&f->pk, 0);
    msgpack_pack_array(&f->pk, 1);
    azo_pack_str(&f->pk, "x");
    azo_pack_str(&f->pk, "c");
    msgpack_pack_map(&f->pk, 1);
    azo_pack_kbool(&f->pk, "d", false);
    // Keys keep their msgpack order.
    s_assert_text(f, "{\"b\":1,\"a\":[null,{},[\"x\"]],\"c\":{\"d\":false}}");
}

static void
test_json_duplicate_key_last_wins(void **state)
{
    fixture_t *f = *state;
    msgpack_pack_map(&f->pk, 2);
    azo_pack_kint(&f->pk, "k", 1);
    azo_pack_kint(&f->pk, "k", 2);
    s_assert_text(f, "{\"k\":2}");
}

// JSON text -> msgpack (checked like a wire message) -> JSON text.
static void
s_round_trip(fixture_t *f, const char *text)
{
    json_error_t jerr;
    json_t *in = json_loads(text, JSON_DECODE_ANY, &jerr);
    assert_non_null(in);
    s_reset(f);
    assert_int_equal(azo_json_to_mp(in, &f->pk), 0);
    json_t *out = azo_json_from_mp(s_unpack(f));
    assert_non_null(out);
    if (!json_equal(in, out)) {
        char *got = json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY);
        print_error("round trip of %s gave %s\n", text, got ? got : "?");
        free(got);
        fail();
    }
    json_decref(in);
    json_decref(out);
}

static void
test_json_round_trip_every_type(void **state)
{
    fixture_t *f = *state;
    static const char *const texts[] = {
        "null",
        "true",
        "false",
        "0",
        "42",
        "-1",
        "9223372036854775807",
        "-9223372036854775808",
        "5.5",
        "-0.25",
        "1e300",
        "\"\"",
        "\"caf\xc3\xa9 \\u2603\"",
        "[]",
        "{}",
        "{\"\":\"\"}",
        "[1,\"two\",3.5,null,true,false]",
        "{\"a\":1,\"b\":{\"c\":[1,2,{\"d\":\"e\"}]},\"f\":[]}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        s_round_trip(f, texts[i]);
}

static void
test_json_round_trip_msgpack_bytes(void **state)
{
    fixture_t *f = *state;
    msgpack_pack_map(&f->pk, 4);
    azo_pack_kuint(&f->pk, "v", 1);
    azo_pack_kint(&f->pk, "neg", -300);
    azo_pack_kreal(&f->pk, "r", 2.5);
    azo_pack_str(&f->pk, "list");
    msgpack_pack_array(&f->pk, 2);
    azo_pack_str(&f->pk, "x");
    msgpack_pack_nil(&f->pk);
    size_t n = f->sbuf.size;
    char *orig = malloc(n);
    assert_non_null(orig);
    memcpy(orig, f->sbuf.data, n);

    json_t *j = azo_json_from_mp(s_unpack(f));
    assert_non_null(j);
    s_reset(f);
    assert_int_equal(azo_json_to_mp(j, &f->pk), 0);
    assert_int_equal(f->sbuf.size, n);
    assert_memory_equal(f->sbuf.data, orig, n);
    json_decref(j);
    free(orig);
}

// Returns n nested arrays around the integer 1: [[[1]]] for n = 3.
static json_t *
s_nest(int n)
{
    json_t *j = json_integer(1);
    for (int i = 0; i < n; i++) {
        json_t *a = json_array();
        assert_non_null(a);
        assert_int_equal(json_array_append_new(a, j), 0);
        j = a;
    }
    return j;
}

static void
test_json_depth_limit_to_mp(void **state)
{
    fixture_t *f = *state;
    json_t *ok = s_nest(AZO_MP_MAX_DEPTH);
    assert_int_equal(azo_json_to_mp(ok, &f->pk), 0);
    (void)s_unpack(f); // the wire's own check accepts it
    json_t *back = azo_json_from_mp(&f->obj);
    assert_non_null(back);
    assert_true(json_equal(ok, back));
    json_decref(back);
    json_decref(ok);

    s_reset(f);
    json_t *deep = s_nest(AZO_MP_MAX_DEPTH + 1);
    assert_int_equal(azo_json_to_mp(deep, &f->pk), AZO_EBADREQ);
    assert_int_equal(f->sbuf.size, 0); // nothing written
    json_decref(deep);

    // An object at the bottom counts the same as an array.
    json_t *obj = json_pack("{s:o}", "k", s_nest(AZO_MP_MAX_DEPTH));
    assert_non_null(obj);
    assert_int_equal(azo_json_to_mp(obj, &f->pk), AZO_EBADREQ);
    assert_int_equal(f->sbuf.size, 0);
    json_decref(obj);
}

static void
test_json_depth_limit_from_mp(void **state)
{
    (void)state;
    // Built by hand: azo_mp_check would refuse to decode such bytes.
    msgpack_object one = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER,
                          .via.u64 = 1};
    msgpack_object levels[AZO_MP_MAX_DEPTH + 1];
    const msgpack_object *inner = &one;
    for (int i = 0; i <= AZO_MP_MAX_DEPTH; i++) {
        levels[i].type = MSGPACK_OBJECT_ARRAY;
        levels[i].via.array.size = 1;
        levels[i].via.array.ptr = (msgpack_object *)inner;
        inner = &levels[i];
    }
    json_t *j = azo_json_from_mp(&levels[AZO_MP_MAX_DEPTH - 1]);
    assert_non_null(j);
    json_decref(j);
    assert_null(azo_json_from_mp(&levels[AZO_MP_MAX_DEPTH]));
}

static void
test_json_non_string_map_key_is_null(void **state)
{
    (void)state;
    msgpack_object key = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER,
                          .via.u64 = 7};
    msgpack_object val = {.type = MSGPACK_OBJECT_NIL};
    msgpack_object_kv kv = {.key = key, .val = val};
    msgpack_object map = {.type = MSGPACK_OBJECT_MAP,
                          .via.map = {.size = 1, .ptr = &kv}};
    assert_null(azo_json_from_mp(&map));

    // Also when buried inside an array.
    msgpack_object arr = {.type = MSGPACK_OBJECT_ARRAY,
                          .via.array = {.size = 1, .ptr = &map}};
    assert_null(azo_json_from_mp(&arr));
}

static void
test_json_unconvertible_is_null(void **state)
{
    (void)state;
    assert_null(azo_json_from_mp(NULL));
    msgpack_object ext = {.type = MSGPACK_OBJECT_EXT,
                          .via.ext = {.type = 1, .size = 1, .ptr = "x"}};
    assert_null(azo_json_from_mp(&ext));
    // Not UTF-8: the wire refuses it first, but the converter must too.
    msgpack_object bad = {.type = MSGPACK_OBJECT_STR,
                          .via.str = {.size = 2, .ptr = "\xc3\x28"}};
    assert_null(azo_json_from_mp(&bad));
    msgpack_object kv_bad_key = {
        .type = MSGPACK_OBJECT_MAP,
        .via.map = {.size = 1,
                    .ptr = &(msgpack_object_kv){
                        .key = bad, .val = {.type = MSGPACK_OBJECT_NIL}}}};
    assert_null(azo_json_from_mp(&kv_bad_key));
}

typedef enum {
    T_INT,
    T_REAL,
    T_STR,
    T_TRUE,
    T_FALSE,
    T_NIL,
    T_MAP,
    T_ARR
} s_kind_t;

static void
test_json_parse_arg_table(void **state)
{
    fixture_t *f = *state;
    static const struct {
        const char *text;
        s_kind_t kind;
        const char *str; // T_STR: the expected string
        int64_t i;       // T_INT: value; T_MAP/T_ARR: size
        double d;        // T_REAL
    } table[] = {
        {"5", T_INT, NULL, 5, 0},
        {"-12", T_INT, NULL, -12, 0},
        {"5.5", T_REAL, NULL, 0, 5.5},
        {"1e3", T_REAL, NULL, 0, 1000.0},
        {"true", T_TRUE, NULL, 0, 0},
        {"false", T_FALSE, NULL, 0, 0},
        {"null", T_NIL, NULL, 0, 0},
        {"\"5\"", T_STR, "5", 0, 0},
        {"\"a b\"", T_STR, "a b", 0, 0},
        {"abc", T_STR, "abc", 0, 0},
        {"", T_STR, "", 0, 0},
        {"True", T_STR, "True", 0, 0},
        {"5abc", T_STR, "5abc", 0, 0},
        {"{bad", T_STR, "{bad", 0, 0},
        {"18446744073709551616", T_STR, "18446744073709551616", 0, 0},
        {"{\"a\":1}", T_MAP, NULL, 1, 0},
        {"{}", T_MAP, NULL, 0, 0},
        {"[1,2,3]", T_ARR, NULL, 3, 0},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        s_reset(f);
        assert_int_equal(azo_json_parse_arg(table[i].text, &f->pk), 0);
        const msgpack_object *o = s_unpack(f);
        switch (table[i].kind) {
        case T_INT: {
            int64_t v;
            assert_int_equal(azo_mp_int(o, &v), 0);
            assert_true(v == table[i].i);
            break;
        }
        case T_REAL:
            assert_int_equal(o->type, MSGPACK_OBJECT_FLOAT64);
            assert_true(o->via.f64 == table[i].d);
            break;
        case T_STR:
            assert_int_equal(o->type, MSGPACK_OBJECT_STR);
            assert_int_equal(o->via.str.size, strlen(table[i].str));
            assert_memory_equal(o->via.str.ptr, table[i].str, o->via.str.size);
            break;
        case T_TRUE:
        case T_FALSE:
            assert_int_equal(o->type, MSGPACK_OBJECT_BOOLEAN);
            assert_int_equal(o->via.boolean, table[i].kind == T_TRUE);
            break;
        case T_NIL:
            assert_int_equal(o->type, MSGPACK_OBJECT_NIL);
            break;
        case T_MAP:
            assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
            assert_int_equal(o->via.map.size, table[i].i);
            break;
        case T_ARR:
            assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
            assert_int_equal(o->via.array.size, table[i].i);
            break;
        }
    }
    // The map's content survives too.
    s_reset(f);
    assert_int_equal(azo_json_parse_arg("{\"a\":1}", &f->pk), 0);
    const msgpack_object *a = azo_mp_get(s_unpack(f), "a");
    assert_non_null(a);
    assert_int_equal(a->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(a->via.u64, 1);
}

static void
test_json_parse_arg_too_deep(void **state)
{
    fixture_t *f = *state;
    char text[2 * (AZO_MP_MAX_DEPTH + 1) + 2];
    size_t n = 0;
    for (int i = 0; i <= AZO_MP_MAX_DEPTH; i++)
        text[n++] = '[';
    text[n++] = '1';
    for (int i = 0; i <= AZO_MP_MAX_DEPTH; i++)
        text[n++] = ']';
    text[n] = 0;
    assert_int_equal(azo_json_parse_arg(text, &f->pk), AZO_EBADREQ);
    assert_int_equal(f->sbuf.size, 0);
    assert_int_equal(azo_json_parse_arg(text + 1, &f->pk), 0);
    (void)s_unpack(f);
}

static void
test_json_parse_arg_rejects_bad_utf8(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(azo_json_parse_arg("caf\xe9", &f->pk), AZO_EBADREQ);
    assert_int_equal(f->sbuf.size, 0);
    assert_int_equal(azo_json_parse_arg("caf\xc3\xa9", &f->pk), 0);
    (void)s_unpack(f);
}

static void
test_json_null_arguments(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(azo_json_to_mp(NULL, &f->pk), AZO_EBADREQ);
    assert_int_equal(azo_json_parse_arg(NULL, &f->pk), AZO_EBADREQ);
    assert_int_equal(f->sbuf.size, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_json_scalars_from_mp, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_json_string_with_nul_kept_whole,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_json_uint64_above_int64_max_is_string, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_bin_is_base64, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_json_nested_from_mp, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_json_duplicate_key_last_wins,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_round_trip_every_type, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_json_round_trip_msgpack_bytes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_depth_limit_to_mp, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_json_depth_limit_from_mp, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_json_non_string_map_key_is_null,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_unconvertible_is_null, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_json_parse_arg_table, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_json_parse_arg_too_deep, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_json_parse_arg_rejects_bad_utf8,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_null_arguments, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
