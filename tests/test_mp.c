// test_mp — unit tests for azo_mp: the bounded validator azo_mp_check (every
// allowed type, the limits, a malformed-input table, every truncation point,
// a seeded random and mutation test against an independent reference
// validator), the map lookups and the packing helpers. No fixture: each test
// owns its buffers.
#include "azo_err.h"
#include "azo_testutil.h"
#include "azo_mp.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define S_ERRLEN 160

// --- byte builder ---------------------------------------------------------

typedef struct {
    uint8_t *p;
    size_t len;
    size_t cap;
} s_buf_t;

static void
s_put(s_buf_t *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void
s_put1(s_buf_t *b, uint8_t c)
{
    s_put(b, &c, 1);
}

static void
s_put_be(s_buf_t *b, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--)
        s_put1(b, (uint8_t)(v >> (8 * i)));
}

static void
s_buf_free(s_buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

// --- assertions -------------------------------------------------------------

// Asserts that azo_mp_check accepts buf and that msgpack-c then reads it
// back consuming exactly len bytes.
static void
s_assert_ok(const char *name, const void *buf, size_t len)
{
    char err[S_ERRLEN] = "";
    int rc = azo_mp_check(buf, len, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: rejected (%d): %s", name, rc, err);
    if (azo_mp_check(buf, len, NULL, 0) != 0)
        fail_msg("%s: rejected with err NULL", name);

    msgpack_zone zone;
    assert_true(msgpack_zone_init(&zone, 2048));
    msgpack_object obj;
    size_t off = 0;
    msgpack_unpack_return u = msgpack_unpack(buf, len, &off, &zone, &obj);
    if (u != MSGPACK_UNPACK_SUCCESS || off != len)
        fail_msg("%s: msgpack_unpack returned %d, used %zu of %zu", name,
                 (int)u, off, len);
    msgpack_zone_clear(&zone);
    assert_int_equal(azo_mp_unpack(buf, len, &zone, &obj), 0);
    msgpack_zone_destroy(&zone);
}

// Asserts that azo_mp_check rejects buf with AZO_EBADREQ, a one-line reason
// containing want (if not NULL) that fits errlen, and that err == NULL or
// errlen == 0 are honoured. Returns nothing; the reason is left in out when
// out is not NULL.
static void
s_assert_bad_err(const char *name, const void *buf, size_t len,
                 const char *want, char *out, size_t outlen)
{
    char err[S_ERRLEN + 8];
    memset(err, 0x5a, sizeof err);
    int rc = azo_mp_check(buf, len, err, S_ERRLEN);
    if (rc != AZO_EBADREQ)
        fail_msg("%s: returned %d, expected AZO_EBADREQ", name, rc);
    if (!memchr(err, 0, S_ERRLEN))
        fail_msg("%s: err not NUL-terminated within errlen", name);
    for (size_t i = S_ERRLEN; i < sizeof err; i++)
        if (err[i] != 0x5a)
            fail_msg("%s: wrote past errlen", name);
    if (!azo_test_one_line(err))
        fail_msg("%s: err is not one non-empty line: '%s'", name, err);
    if (want && !strstr(err, want))
        fail_msg("%s: err '%s' lacks '%s'", name, err, want);
    if (out) {
        // Truncation is fine: callers look for a substring.
        size_t n = strnlen(err, S_ERRLEN);
        if (n >= outlen)
            n = outlen - 1;
        memcpy(out, err, n);
        out[n] = 0;
    }

    // err may be NULL (with or without a length) or too short.
    if (azo_mp_check(buf, len, NULL, 0) != AZO_EBADREQ)
        fail_msg("%s: different result with err NULL", name);
    if (azo_mp_check(buf, len, NULL, S_ERRLEN) != AZO_EBADREQ)
        fail_msg("%s: different result with err NULL, errlen>0", name);
    char small[8 + 4];
    memset(small, 0x5a, sizeof small);
    if (azo_mp_check(buf, len, small, 0) != AZO_EBADREQ)
        fail_msg("%s: different result with errlen 0", name);
    if (small[0] != 0x5a)
        fail_msg("%s: wrote into err with errlen 0", name);
    if (azo_mp_check(buf, len, small, 8) != AZO_EBADREQ)
        fail_msg("%s: different result with errlen 8", name);
    if (!memchr(small, 0, 8) || small[8] != 0x5a || small[11] != 0x5a)
        fail_msg("%s: short err not cut safely", name);
}

static void
s_assert_bad(const char *name, const void *buf, size_t len, const char *want)
{
    s_assert_bad_err(name, buf, len, want, NULL, 0);
}

// --- generators -------------------------------------------------------------

// n nested one-element arrays around inner.
static void
s_nest_arrays(s_buf_t *b, int n, uint8_t inner)
{
    for (int i = 0; i < n; i++)
        s_put1(b, 0x91);
    s_put1(b, inner);
}

// n nested one-entry maps {"k": ...} around the fixint 1.
static void
s_nest_maps(s_buf_t *b, int n)
{
    for (int i = 0; i < n; i++)
        s_put(b, "\x81\xa1k", 3);
    s_put1(b, 0x01);
}

// An array32 of n nils: n + 1 objects.
static void
s_nils(s_buf_t *b, uint32_t n)
{
    s_put1(b, 0xdd);
    s_put_be(b, n, 4);
    for (uint32_t i = 0; i < n; i++)
        s_put1(b, 0xc0);
}

// [ {"" : nil} * entries, extra nils ]: 2 + 2 * entries + extra objects.
static void
s_map_in_array(s_buf_t *b, uint32_t entries, uint32_t extra)
{
    s_put1(b, 0xdd);
    s_put_be(b, 1 + extra, 4);
    s_put1(b, 0xdf);
    s_put_be(b, entries, 4);
    for (uint32_t i = 0; i < entries; i++)
        s_put(b, "\xa0\xc0", 2);
    for (uint32_t i = 0; i < extra; i++)
        s_put1(b, 0xc0);
}

// An envelope-shaped map packed with the azo_pack helpers.
static void
s_pack_envelope(msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    azo_pack_kuint(&pk, "v", 1);
    azo_pack_kuint(&pk, "id", 123456789012ULL);
    azo_pack_kstr(&pk, "cmd", "sched.run");
    azo_pack_str(&pk, "args");
    msgpack_pack_map(&pk, 7);
    azo_pack_kstr(&pk, "job", "nightly-backup");
    azo_pack_kint(&pk, "neg", -70000);
    azo_pack_kreal(&pk, "ratio", 0.25);
    azo_pack_kbool(&pk, "force", true);
    azo_pack_kstr(&pk, "utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    azo_pack_str(&pk, "list");
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint64(&pk, UINT64_MAX);
    msgpack_pack_nil(&pk);
    msgpack_pack_bin(&pk, 3);
    msgpack_pack_bin_body(&pk, "\xff\x00\xfe", 3);
    azo_pack_str(&pk, "deep");
    msgpack_pack_map(&pk, 1);
    azo_pack_str(&pk, "x");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 0);
    azo_pack_kint(&pk, "ts", 1700000000000LL);
}

// The same kind of content, hand-built with the widest header forms.
static void
s_long_forms(s_buf_t *b)
{
    s_put(b, "\xdf\x00\x00\x00\x04", 5);                   // map32, 4 entries
    s_put(b, "\xd9\x03str", 5);                            // str8 key
    s_put(b, "\xdb\x00\x00\x00\x02xy", 7);                 // str32 value
    s_put(b, "\xda\x00\x01k", 4);                          // str16 key
    s_put(b, "\xdd\x00\x00\x00\x03", 5);                   // array32, 3 items
    s_put(b, "\xcf\x00\x00\x00\x00\x00\x00\x00\x07", 9);   // uint64 7
    s_put(b, "\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00", 9);   // float64 1.0
    s_put(b, "\xc6\x00\x00\x00\x02\xab\xcd", 7);           // bin32
    s_put(b, "\xa1m", 2);                                  // fixstr key
    s_put(b, "\xde\x00\x01\xa1n\xc5\x00\x02\x01\x02", 10); // map16{n:bin16}
    s_put(b, "\xd9\x02\xc3\xa9", 4);                       // str8 "é" key
    s_put(b,
          "\xdc\x00\x02\xd3\x80\x00\x00\x00\x00\x00\x00\x00\xca\x3f\x80"
          "\x00\x00",
          17); // array16 [int64 min, float32 1.0]
}

// --- accepted types
// -----------------------------------------------------------

typedef struct {
    const char *name;
    const char *bytes;
    size_t len;
} s_good_t;

#define S_GOOD(n, lit)                                                         \
    {                                                                          \
        n, lit, sizeof(lit) - 1                                                \
    }

static const s_good_t s_good[] = {
    S_GOOD("positive fixint 0", "\x00"),
    S_GOOD("positive fixint 127", "\x7f"),
    S_GOOD("negative fixint -32", "\xe0"),
    S_GOOD("negative fixint -1", "\xff"),
    S_GOOD("uint8", "\xcc\xff"),
    S_GOOD("uint8 small value", "\xcc\x01"),
    S_GOOD("uint16", "\xcd\xff\xff"),
    S_GOOD("uint16 small value", "\xcd\x00\x01"),
    S_GOOD("uint32", "\xce\xff\xff\xff\xff"),
    S_GOOD("uint32 small value", "\xce\x00\x00\x00\x01"),
    S_GOOD("uint64", "\xcf\xff\xff\xff\xff\xff\xff\xff\xff"),
    S_GOOD("uint64 small value", "\xcf\x00\x00\x00\x00\x00\x00\x00\x01"),
    S_GOOD("int8", "\xd0\x80"),
    S_GOOD("int8 positive", "\xd0\x01"),
    S_GOOD("int16", "\xd1\x80\x00"),
    S_GOOD("int32", "\xd2\x80\x00\x00\x00"),
    S_GOOD("int64", "\xd3\x80\x00\x00\x00\x00\x00\x00\x00"),
    S_GOOD("int64 -1", "\xd3\xff\xff\xff\xff\xff\xff\xff\xff"),
    S_GOOD("float32", "\xca\x3f\x80\x00\x00"),
    S_GOOD("float32 NaN", "\xca\x7f\xc0\x00\x00"),
    S_GOOD("float64", "\xcb\x40\x09\x21\xfb\x54\x44\x2d\x18"),
    S_GOOD("nil", "\xc0"),
    S_GOOD("false", "\xc2"),
    S_GOOD("true", "\xc3"),
    S_GOOD("fixstr empty", "\xa0"),
    S_GOOD("fixstr", "\xa3"
                     "abc"),
    S_GOOD("fixstr 31", "\xbf"
                        "0123456789012345678901234567890"),
    S_GOOD("str8 empty", "\xd9\x00"),
    S_GOOD("str8 short", "\xd9\x05hello"),
    S_GOOD("str16 short", "\xda\x00\x03"
                          "abc"),
    S_GOOD("str32 short", "\xdb\x00\x00\x00\x03"
                          "abc"),
    S_GOOD("str U+0080", "\xa2\xc2\x80"),
    S_GOOD("str U+07FF", "\xa2\xdf\xbf"),
    S_GOOD("str U+0800", "\xa3\xe0\xa0\x80"),
    S_GOOD("str U+D7FF", "\xa3\xed\x9f\xbf"),
    S_GOOD("str U+E000", "\xa3\xee\x80\x80"),
    S_GOOD("str U+FFFF", "\xa3\xef\xbf\xbf"),
    S_GOOD("str U+10000", "\xa4\xf0\x90\x80\x80"),
    S_GOOD("str U+10FFFF", "\xa4\xf4\x8f\xbf\xbf"),
    S_GOOD("str with NUL", "\xa3"
                           "a\x00"
                           "b"),
    S_GOOD("bin8 empty", "\xc4\x00"),
    S_GOOD("bin8 not UTF-8", "\xc4\x02\xff\xfe"),
    S_GOOD("bin16", "\xc5\x00\x02\xc0\xc1"),
    S_GOOD("bin32", "\xc6\x00\x00\x00\x02\xed\xa0"),
    S_GOOD("fixarray empty", "\x90"),
    S_GOOD("fixarray", "\x93\x01\xc0\xa1x"),
    S_GOOD("fixarray 15", "\x9f\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"
                          "\x0b\x0c\x0d\x0e"),
    S_GOOD("array16 empty", "\xdc\x00\x00"),
    S_GOOD("array16 short", "\xdc\x00\x02\x01\x02"),
    S_GOOD("array32 empty", "\xdd\x00\x00\x00\x00"),
    S_GOOD("array32 short", "\xdd\x00\x00\x00\x02\x01\x02"),
    S_GOOD("fixmap empty", "\x80"),
    S_GOOD("fixmap", "\x82\xa1"
                     "a\x01\xa1"
                     "b\xc0"),
    S_GOOD("map16 empty", "\xde\x00\x00"),
    S_GOOD("map16 short", "\xde\x00\x01\xa1"
                          "a\x01"),
    S_GOOD("map32 empty", "\xdf\x00\x00\x00\x00"),
    S_GOOD("map32 short", "\xdf\x00\x00\x00\x01\xa1"
                          "a\x01"),
    S_GOOD("str8 key", "\x81\xd9\x01"
                       "k\xc3"),
    S_GOOD("str16 key", "\x81\xda\x00\x01"
                        "k\xc3"),
    S_GOOD("str32 key", "\x81\xdb\x00\x00\x00\x01"
                        "k\xc3"),
    S_GOOD("empty key", "\x81\xa0\xc0"),
    S_GOOD("UTF-8 key", "\x81\xa2\xc3\xa9\x01"),
    S_GOOD("containers as values", "\x83\xa1"
                                   "a\x90\xa1"
                                   "b\x80\xa1"
                                   "c\x92\x81\xa1"
                                   "d\x91\x90\xc4\x00"),
    S_GOOD("duplicate keys", "\x82\xa1"
                             "a\x01\xa1"
                             "a\x02"),
};

static void
test_mp_check_accepts_every_type(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof s_good / sizeof s_good[0]; i++)
        s_assert_ok(s_good[i].name, s_good[i].bytes, s_good[i].len);
}

static void
test_mp_check_accepts_long_forms_and_envelopes(void **state)
{
    (void)state;
    s_buf_t b = {0};
    s_long_forms(&b);
    s_assert_ok("long forms", b.p, b.len);
    s_buf_free(&b);

    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_pack_envelope(&sb);
    s_assert_ok("envelope", sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);

    // A long string and binary with 16- and 32-bit lengths.
    s_put1(&b, 0x92);
    s_put1(&b, 0xda);
    s_put_be(&b, 300, 2);
    for (int i = 0; i < 300; i++)
        s_put(&b, i % 3 ? "a" : "\xc3\xa9", i % 3 ? 1 : 2);
    b.p[2] = (uint8_t)((b.len - 4) >> 8); // fix the length: 200*1 + 100*2
    b.p[3] = (uint8_t)(b.len - 4);
    s_put1(&b, 0xc6);
    s_put_be(&b, 70000, 4);
    size_t at = b.len;
    for (int i = 0; i < 70000; i++)
        s_put1(&b, (uint8_t)i);
    assert_int_equal(b.len - at, 70000);
    s_assert_ok("long str16 and bin32", b.p, b.len);
    s_buf_free(&b);
}

static void
test_mp_check_accepts_depth_limit(void **state)
{
    (void)state;
    s_buf_t b = {0};
    s_nest_arrays(&b, AZO_MP_MAX_DEPTH, 0x01);
    s_assert_ok("arrays at the depth limit", b.p, b.len);
    s_buf_free(&b);

    s_nest_maps(&b, AZO_MP_MAX_DEPTH);
    s_assert_ok("maps at the depth limit", b.p, b.len);
    s_buf_free(&b);

    // An empty container does not nest: 15 arrays around [] is depth 16.
    s_nest_arrays(&b, AZO_MP_MAX_DEPTH - 1, 0x90);
    s_assert_ok("empty array at the depth limit", b.p, b.len);
    s_buf_free(&b);

    // Mixed maps and arrays, then back up to the top and down again: the
    // depth counter must unwind.
    s_put1(&b, 0x93);
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < AZO_MP_MAX_DEPTH - 1; i++)
            s_put(&b, i % 2 ? "\x91" : "\x81\xa1k", i % 2 ? 1 : 3);
        s_put1(&b, 0xc3);
    }
    s_assert_ok("three branches at the depth limit", b.p, b.len);
    s_buf_free(&b);

    // Siblings after a deep branch at the same level.
    s_put1(&b, 0x92);
    s_nest_arrays(&b, AZO_MP_MAX_DEPTH - 1, 0x01);
    s_put(&b, "\x82\xa1x\x01\xa1y\x90", 7);
    s_assert_ok("sibling after a deep branch", b.p, b.len);
    s_buf_free(&b);
}

static void
test_mp_check_accepts_item_limit(void **state)
{
    (void)state;
    s_buf_t b = {0};
    s_nils(&b, AZO_MP_MAX_ITEMS - 1);
    s_assert_ok("array of MAX_ITEMS objects", b.p, b.len);
    s_buf_free(&b);

    // Keys count: [ map of 32767 entries ] is 1 + 1 + 65534 objects.
    s_map_in_array(&b, (AZO_MP_MAX_ITEMS - 2) / 2, 0);
    s_assert_ok("map keys at MAX_ITEMS", b.p, b.len);
    s_buf_free(&b);
}

static void
test_mp_check_accepts_byte_limit(void **state)
{
    (void)state;
    size_t len = AZO_MP_MAX_BYTES;
    uint8_t *p = calloc(1, len + 1);
    assert_non_null(p);
    p[0] = 0xc6; // bin32 filling the buffer exactly
    uint32_t n = (uint32_t)(len - 5);
    p[1] = (uint8_t)(n >> 24);
    p[2] = (uint8_t)(n >> 16);
    p[3] = (uint8_t)(n >> 8);
    p[4] = (uint8_t)n;
    assert_int_equal(azo_mp_check(p, len, NULL, 0), 0);
    // One byte more is refused before anything is parsed.
    s_assert_bad("MAX_BYTES + 1", p, len + 1, "exceeds");
    free(p);
}

// --- malformed-input table
// ----------------------------------------------------

typedef void (*s_make_fn)(s_buf_t *b);

static void
s_make_deep_arrays(s_buf_t *b)
{
    s_nest_arrays(b, AZO_MP_MAX_DEPTH + 1, 0x01);
}

static void
s_make_deep_maps(s_buf_t *b)
{
    s_nest_maps(b, AZO_MP_MAX_DEPTH + 1);
}

static void
s_make_deep_in_branch(s_buf_t *b)
{
    // A legal branch first, then one level too deep in the second.
    s_put1(b, 0x92);
    s_nest_arrays(b, AZO_MP_MAX_DEPTH - 1, 0x01);
    s_nest_arrays(b, AZO_MP_MAX_DEPTH, 0x01);
}

static void
s_make_too_many_items(s_buf_t *b)
{
    s_nils(b, AZO_MP_MAX_ITEMS);
}

static void
s_make_too_many_keys(s_buf_t *b)
{
    s_map_in_array(b, (AZO_MP_MAX_ITEMS - 2) / 2, 1);
}

static void
s_make_huge_array_count(s_buf_t *b)
{
    // 70000 items declared and present: the item cap, not the byte check.
    s_nils(b, 70000);
}

static void
s_make_trailing(s_buf_t *b)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_pack_envelope(&sb);
    s_put(b, sb.data, sb.size);
    s_put1(b, 0x00);
    msgpack_sbuffer_destroy(&sb);
}

static void
s_make_two_envelopes(s_buf_t *b)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_pack_envelope(&sb);
    s_put(b, sb.data, sb.size);
    s_put(b, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

typedef struct {
    const char *name;
    const char *bytes; // NULL with make NULL: a NULL buffer
    size_t len;
    const char *want; // substring of err
    s_make_fn make;
} s_bad_t;

#define S_BAD(n, lit, w)                                                       \
    {                                                                          \
        n, lit, sizeof(lit) - 1, w, NULL                                       \
    }
#define S_GEN(n, fn, w)                                                        \
    {                                                                          \
        n, NULL, 0, w, fn                                                      \
    }

static const s_bad_t s_bad[] = {
    {"empty buffer", "", 0, "empty", NULL},
    {"NULL buffer", NULL, 4, "empty", NULL},
    // 0xc1 is never used.
    S_BAD("0xc1", "\xc1", "invalid msgpack at byte 0"),
    S_BAD("0xc1 in an array", "\x92\x01\xc1", "invalid msgpack at byte 2"),
    S_BAD("0xc1 as a map value", "\x81\xa1k\xc1", "byte 3"),
    // Ext types, anywhere.
    S_BAD("fixext1", "\xd4\x01\x00", "ext"),
    S_BAD("fixext2", "\xd5\x01\x00\x00", "ext"),
    S_BAD("fixext4", "\xd6\x01\x00\x00\x00\x00", "ext"),
    S_BAD("fixext8", "\xd7\x01\x00\x00\x00\x00\x00\x00\x00\x00", "ext"),
    S_BAD("fixext16",
          "\xd8\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
          "\x00\x00",
          "ext"),
    S_BAD("ext8", "\xc7\x01\x01\x00", "ext"),
    S_BAD("ext16", "\xc8\x00\x01\x01\x00", "ext"),
    S_BAD("ext32", "\xc9\x00\x00\x00\x01\x01\x00", "ext"),
    S_BAD("timestamp ext as a map value", "\x81\xa2ts\xd6\xff\x00\x00\x00\x00",
          "ext type at byte 4"),
    S_BAD("ext8 in an array", "\x92\x01\xc7\x00\x05", "ext"),
    // Map keys must be strings.
    S_BAD("int key", "\x81\x01\x01", "map key at byte 1 is not a string"),
    S_BAD("negative int key", "\x81\xff\x01", "not a string"),
    S_BAD("nil key", "\x81\xc0\x01", "not a string"),
    S_BAD("bool key", "\x81\xc3\x01", "not a string"),
    S_BAD("float key", "\x81\xca\x00\x00\x00\x00\x01", "not a string"),
    S_BAD("array key", "\x81\x90\x01", "not a string"),
    S_BAD("map key", "\x81\x80\x01", "not a string"),
    S_BAD("bin key", "\x81\xc4\x01k\x01", "not a string"),
    S_BAD("second key an int", "\x82\xa1k\x01\x02\x03", "map key at byte 4"),
    S_BAD("int key in a nested map", "\x81\xa1k\x91\x81\x07\x01",
          "not a string"),
    // Invalid UTF-8, in values and keys.
    S_BAD("overlong 2-byte C0 80", "\xa2\xc0\x80", "UTF-8"),
    S_BAD("overlong 2-byte C1 BF", "\xa2\xc1\xbf", "UTF-8"),
    S_BAD("overlong 3-byte", "\xa3\xe0\x80\xaf", "UTF-8"),
    S_BAD("overlong 3-byte U+07FF", "\xa3\xe0\x9f\xbf", "UTF-8"),
    S_BAD("overlong 4-byte", "\xa4\xf0\x80\x80\xaf", "UTF-8"),
    S_BAD("overlong 4-byte U+FFFF", "\xa4\xf0\x8f\xbf\xbf", "UTF-8"),
    S_BAD("surrogate U+D800", "\xa3\xed\xa0\x80", "UTF-8"),
    S_BAD("surrogate U+DFFF", "\xa3\xed\xbf\xbf", "UTF-8"),
    S_BAD("U+110000", "\xa4\xf4\x90\x80\x80", "UTF-8"),
    S_BAD("lead byte F5", "\xa4\xf5\x80\x80\x80", "UTF-8"),
    S_BAD("lead byte FF", "\xa1\xff", "UTF-8"),
    S_BAD("lead byte FE", "\xa1\xfe", "UTF-8"),
    S_BAD("truncated 2-byte sequence", "\xa1\xc3", "UTF-8"),
    S_BAD("truncated 3-byte sequence", "\xa2\xe2\x82", "UTF-8"),
    S_BAD("truncated 4-byte sequence", "\xa3\xf0\x9f\x98", "UTF-8"),
    // The string ends inside a sequence; the next object's first byte
    // looks like a continuation byte and must not be read as one.
    S_BAD("2-byte sequence cut by the string end", "\x92\xa1\xc3\x80", "UTF-8"),
    S_BAD("3-byte sequence cut by the string end", "\x92\xa2\xe2\x82\x90",
          "UTF-8"),
    S_BAD("truncated sequence then ASCII",
          "\xa3\xe2\x82"
          "a",
          "UTF-8"),
    S_BAD("lone continuation byte", "\xa1\x80", "UTF-8"),
    S_BAD("continuation after ASCII",
          "\xa2"
          "a\xbf",
          "UTF-8"),
    S_BAD("invalid UTF-8 in str16", "\xda\x00\x02\xc3\x28", "UTF-8"),
    S_BAD("invalid UTF-8 in a key", "\x81\xa1\xff\x01",
          "string at byte 1 is not valid UTF-8"),
    // Declared sizes beyond the bytes present.
    S_BAD("str32 0xffffffff",
          "\xdb\xff\xff\xff\xff"
          "abc",
          "truncated"),
    S_BAD("bin32 0xffffffff", "\xc6\xff\xff\xff\xff\x00\x00", "truncated"),
    S_BAD("array32 0xffffffff", "\xdd\xff\xff\xff\xff\x01\x02",
          "array at byte 0 declares 4294967295 items"),
    S_BAD("map32 0xffffffff", "\xdf\xff\xff\xff\xff\xa1k\x01",
          "map at byte 0 declares 4294967295 items"),
    S_BAD("str16 0xffff",
          "\xda\xff\xff"
          "a",
          "truncated"),
    S_BAD("bin16 0xffff", "\xc5\xff\xff\x00", "truncated"),
    S_BAD("array16 0xffff", "\xdc\xff\xff\x01", "declares"),
    S_BAD("map16 0xffff", "\xde\xff\xff\xa1k", "declares"),
    S_BAD("map with half the bytes", "\x82\xa1k\x01", "declares"),
    S_BAD("nested array32 huge", "\x91\xdd\x7f\xff\xff\xff\x00",
          "array at byte 1"),
    S_BAD("uint64 short", "\xcf\x00\x00", "truncated"),
    S_BAD("float64 short", "\xcb\x00", "truncated"),
    S_BAD("float32 short", "\xca\x00\x00\x00", "truncated"),
    S_BAD("int16 short", "\xd1\x00", "truncated"),
    S_BAD("fixstr short",
          "\xa5"
          "ab",
          "truncated"),
    S_BAD("map missing its last value", "\x81\xa1k",
          "truncated msgpack at byte 3"),
    // Limits.
    S_GEN("depth MAX+1 arrays", s_make_deep_arrays, "nesting deeper than 16"),
    S_GEN("depth MAX+1 maps", s_make_deep_maps, "nesting deeper than 16"),
    S_GEN("depth MAX+1 in a second branch", s_make_deep_in_branch, "nesting"),
    S_GEN("MAX_ITEMS+1 objects", s_make_too_many_items,
          "more than 65536 objects"),
    S_GEN("MAX_ITEMS+1 with map keys", s_make_too_many_keys, "more than"),
    S_GEN("70000 nils", s_make_huge_array_count, "more than"),
    // Exactly one object.
    S_BAD("trailing byte", "\x01\x02", "trailing bytes"),
    S_BAD("trailing nil after a map", "\x80\xc0", "(1 of 2 used)"),
    S_BAD("two concatenated maps", "\x81\xa1k\x01\x81\xa1k\x02", "trailing"),
    S_GEN("envelope plus a byte", s_make_trailing, "trailing"),
    S_GEN("two concatenated envelopes", s_make_two_envelopes, "trailing"),
};

static void
test_mp_check_rejects_malformed_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof s_bad / sizeof s_bad[0]; i++) {
        const s_bad_t *t = &s_bad[i];
        if (t->make) {
            s_buf_t b = {0};
            t->make(&b);
            s_assert_bad(t->name, b.p, b.len, t->want);
            s_buf_free(&b);
        } else
            s_assert_bad(t->name, t->bytes, t->len, t->want);
    }
}

// Every strict prefix of a valid message is rejected as cut short.
static void
s_check_prefixes(const char *name, const uint8_t *p, size_t len)
{
    s_assert_ok(name, p, len);
    for (size_t n = 0; n < len; n++) {
        char label[96], err[S_ERRLEN];
        snprintf(label, sizeof label, "%s cut at %zu of %zu", name, n, len);
        // Copy so that ASan catches any read past the prefix.
        uint8_t *copy = malloc(n ? n : 1);
        assert_non_null(copy);
        memcpy(copy, p, n);
        s_assert_bad_err(label, n ? copy : p, n, NULL, err, sizeof err);
        free(copy);
        // A header cut inside its length bytes currently reads "invalid
        // msgpack"; see test_mp_check_truncated_header_says_truncated.
        if (!strstr(err, "truncated") && !strstr(err, "declares") &&
            !strstr(err, "empty") && !strstr(err, "invalid msgpack"))
            fail_msg("%s: unexpected reason '%s'", label, err);
    }
}

static void
test_mp_check_rejects_every_truncation(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_pack_envelope(&sb);
    s_check_prefixes("envelope", (const uint8_t *)sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);

    s_buf_t b = {0};
    s_long_forms(&b);
    s_check_prefixes("long forms", b.p, b.len);
    s_buf_free(&b);

    s_nest_maps(&b, AZO_MP_MAX_DEPTH);
    s_check_prefixes("deep maps", b.p, b.len);
    s_buf_free(&b);

    static const char utf[] = "\x82\xa1k\xaa"
                              "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
                              "\xa1z\x93\x01\xa0\xc0";
    s_check_prefixes("utf-8", (const uint8_t *)utf, sizeof utf - 1);
}

// A message cut inside a length field is truncated, like one cut in its
// payload; "invalid msgpack" suggests a bad type byte instead.
static void
test_mp_check_truncated_header_says_truncated(void **state)
{
    (void)state;
    static const s_good_t cut[] = {
        S_GOOD("str8 without its length", "\xd9"),
        S_GOOD("str16 cut in its length", "\xda\x00"),
        S_GOOD("str32 cut in its length", "\xdb\x00\x00\x00"),
        S_GOOD("bin32 without its length", "\xc6"),
        S_GOOD("array16 cut in its length", "\xdc\x00"),
        S_GOOD("map32 cut in its length", "\xdf\x00\x00"),
        S_GOOD("str16 key cut in its length", "\x81\xda\x00"),
    };
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++)
        s_assert_bad(cut[i].name, cut[i].bytes, cut[i].len, "truncated");
}

// Nesting counts every map and array, empty ones included (azo_mp.h: "nesting
// at most AZO_MP_MAX_DEPTH").
static void
test_mp_check_rejects_empty_container_past_depth(void **state)
{
    (void)state;
    // On the stack: a failed assertion must not leak (LeakSanitizer).
    uint8_t arrays[AZO_MP_MAX_DEPTH + 1], maps[3 * AZO_MP_MAX_DEPTH + 1];
    memset(arrays, 0x91, AZO_MP_MAX_DEPTH);
    arrays[AZO_MP_MAX_DEPTH] = 0x90;
    for (int i = 0; i < AZO_MP_MAX_DEPTH; i++)
        memcpy(maps + 3 * i, "\x81\xa1k", 3);
    maps[3 * AZO_MP_MAX_DEPTH] = 0x80;
    s_assert_bad("empty array at depth MAX+1", arrays, sizeof arrays,
                 "nesting");
    s_assert_bad("empty map at depth MAX+1", maps, sizeof maps, "nesting");
}

// --- random and mutation test
// -------------------------------------------------

static uint64_t
s_rand(uint64_t *s)
{
    // splitmix64: fixed seed, same sequence on every run.
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// An independent reference validator, written from the msgpack spec and the
// azo_mp.h contract, recursive where azo_mp_check is iterative.
typedef struct {
    const uint8_t *p;
    size_t len;
    size_t off;
    size_t items;
    bool empty_nests; // an empty map or array counts as a level (contract)
} s_ref_t;

static bool
s_ref_utf8(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            k = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else
            return false;
        if (i + k >= n)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

static bool
s_ref_take(s_ref_t *r, size_t n, uint64_t *v)
{
    if (r->len - r->off < n)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = (x << 8) | r->p[r->off++];
    if (v)
        *v = x;
    return true;
}

// level: containers around this object.
static bool
s_ref_obj(s_ref_t *r, int level, bool key)
{
    if (r->off >= r->len || ++r->items > AZO_MP_MAX_ITEMS)
        return false;
    uint8_t c = r->p[r->off++];
    uint64_t n = 0;
    int kind; // 0 scalar, 1 str, 2 bin, 3 array, 4 map
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
        kind = 0;
    else if (c <= 0x8f)
        kind = 4, n = c & 0x0f;
    else if (c <= 0x9f)
        kind = 3, n = c & 0x0f;
    else if (c <= 0xbf)
        kind = 1, n = c & 0x1f;
    else if (c == 0xcc || c == 0xd0)
        kind = 0, n = 1;
    else if (c == 0xcd || c == 0xd1)
        kind = 0, n = 2;
    else if (c == 0xca || c == 0xce || c == 0xd2)
        kind = 0, n = 4;
    else if (c == 0xcb || c == 0xcf || c == 0xd3)
        kind = 0, n = 8;
    else if (c == 0xd9 || c == 0xc4)
        kind = c == 0xd9 ? 1 : 2, n = 1;
    else if (c == 0xda || c == 0xc5)
        kind = c == 0xda ? 1 : 2, n = 2;
    else if (c == 0xdb || c == 0xc6)
        kind = c == 0xdb ? 1 : 2, n = 4;
    else if (c == 0xdc || c == 0xde)
        kind = c == 0xdc ? 3 : 4, n = 2;
    else if (c == 0xdd || c == 0xdf)
        kind = c == 0xdd ? 3 : 4, n = 4;
    else
        return false; // 0xc1 and the ext types
    if (key && kind != 1)
        return false;
    if (kind == 0)
        return s_ref_take(r, (size_t)n, NULL);
    // Length fields (str8.., bin.., array16.., map16..) come first.
    if (c >= 0xc4 && !s_ref_take(r, (size_t)n, &n))
        return false;
    if (kind == 1 || kind == 2) {
        if (r->len - r->off < n)
            return false;
        if (kind == 1 && !s_ref_utf8(r->p + r->off, (size_t)n))
            return false;
        r->off += (size_t)n;
        return true;
    }
    if (level + 1 > AZO_MP_MAX_DEPTH && (r->empty_nests || n > 0))
        return false;
    for (uint64_t i = 0; i < n; i++) {
        if (kind == 4 && !s_ref_obj(r, level + 1, true))
            return false;
        if (!s_ref_obj(r, level + 1, false))
            return false;
    }
    return true;
}

static bool
s_ref_check(const uint8_t *p, size_t len, bool empty_nests)
{
    s_ref_t r = {p, len, 0, 0, empty_nests};
    return len > 0 && s_ref_obj(&r, 0, false) && r.off == len;
}

static uint8_t
s_rand_byte(uint64_t *seed)
{
    static const uint8_t heads[] = {
        0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca,
        0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5,
        0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf};
    static const uint8_t utf[] = {0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0,
                                  0x9f, 0x98, 0xed, 0xa0, 0x80, 0xbf,
                                  0xf4, 0x90, 0xc0, 0xff};
    uint64_t r = s_rand(seed);
    switch (r & 7) {
    case 0:
        return (uint8_t)(r >> 8);
    case 1:
    case 2:
        return (uint8_t)((r >> 8) % 6); // small ints, small lengths
    case 3:
        return (uint8_t)(0xa0 + (r >> 8) % 5); // short fixstr
    case 4:
        return (uint8_t)((r >> 8) & 1 ? 0x90 + (r >> 9) % 4
                                      : 0x80 + (r >> 9) % 3);
    case 5:
        return heads[(r >> 8) % sizeof heads];
    case 6:
        return (uint8_t)('a' + (r >> 8) % 26);
    default:
        return utf[(r >> 8) % sizeof utf];
    }
}

typedef struct {
    size_t accepted;
    size_t rejected;
    size_t empty_too_deep; // accepted, with an empty container past depth
} s_tally_t;

static void
s_differential(const char *what, const uint8_t *p, size_t len,
               msgpack_zone *zone, s_tally_t *t)
{
    char err[S_ERRLEN] = "";
    int rc = azo_mp_check(p, len, err, sizeof err);
    bool ref = s_ref_check(p, len, true);
    if (rc != 0 && rc != AZO_EBADREQ)
        fail_msg("%s: returned %d", what, rc);
    // The one known disagreement (an empty container one level past the
    // limit, see test_mp_check_rejects_empty_container_past_depth) is
    // counted and reported at the end so that it cannot hide another one.
    if (rc == 0 && !ref && s_ref_check(p, len, false)) {
        t->empty_too_deep++;
        ref = true;
    }
    if ((rc == 0) != ref) {
        char hex[3 * 64 + 1] = "";
        for (size_t i = 0; i < len && i < 64; i++)
            snprintf(hex + 3 * i, 4, "%02x ", p[i]);
        fail_msg("%s: azo_mp_check %s, reference %s (%s): %s", what,
                 rc == 0 ? "accepts" : "rejects", ref ? "accepts" : "rejects",
                 err, hex);
    }
    if (rc == 0) {
        msgpack_zone_clear(zone);
        msgpack_object obj;
        size_t off = 0;
        msgpack_unpack_return u =
            msgpack_unpack((const char *)p, len, &off, zone, &obj);
        if (u != MSGPACK_UNPACK_SUCCESS || off != len)
            fail_msg("%s: accepted, but msgpack_unpack gives %d (%zu of %zu)",
                     what, (int)u, off, len);
        t->accepted++;
    } else {
        if (!azo_test_one_line(err))
            fail_msg("%s: err is not one line: '%s'", what, err);
        t->rejected++;
    }
}

static void
test_mp_check_random_and_mutated_input(void **state)
{
    (void)state;
    uint64_t seed = 0x617a6f2d6d70ULL; // "azo-mp"
    msgpack_zone zone;
    assert_true(msgpack_zone_init(&zone, 4096));
    uint8_t buf[512];
    s_tally_t rnd = {0, 0, 0}, mut = {0, 0, 0};

    for (int i = 0; i < 20000; i++) {
        // Mostly short buffers: they form complete objects more often.
        uint64_t r = s_rand(&seed);
        size_t len = (size_t)(r & 3 ? (r >> 8) % 10 : (r >> 8) % 48);
        for (size_t k = 0; k < len; k++)
            buf[k] = s_rand_byte(&seed);
        // Copy to an exact-size block so ASan sees any over-read.
        uint8_t *p = malloc(len ? len : 1);
        assert_non_null(p);
        memcpy(p, buf, len);
        s_differential("random", p, len, &zone, &rnd);
        free(p);
    }

    // Valid samples to mutate: an envelope, the long forms, a deep map.
    s_buf_t samples[3] = {{0}, {0}, {0}};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_pack_envelope(&sb);
    s_put(&samples[0], sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    s_long_forms(&samples[1]);
    s_nest_maps(&samples[2], AZO_MP_MAX_DEPTH);

    for (int i = 0; i < 20000; i++) {
        const s_buf_t *src = &samples[i % 3];
        size_t len = src->len;
        assert_true(len + 16 <= sizeof buf);
        memcpy(buf, src->p, len);
        int muts = 1 + (int)(s_rand(&seed) % 4);
        for (int m = 0; m < muts && len > 0; m++) {
            uint64_t r = s_rand(&seed);
            size_t at = (size_t)((r >> 8) % len);
            switch (r % 6) {
            case 0: // bit flip
                buf[at] ^= (uint8_t)(1u << ((r >> 40) % 8));
                break;
            case 1: // truncation
                len = at;
                break;
            case 2: // insertion
                if (len < sizeof buf - 16) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = s_rand_byte(&seed);
                    len++;
                }
                break;
            case 3: // deletion
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
                break;
            case 4: // an interesting byte
                buf[at] = s_rand_byte(&seed);
                break;
            default: // a length byte set to its maximum
                buf[at] = 0xff;
                break;
            }
        }
        uint8_t *p = malloc(len ? len : 1);
        assert_non_null(p);
        memcpy(p, buf, len);
        s_differential("mutated", p, len, &zone, &mut);
        free(p);
    }
    for (int k = 0; k < 3; k++)
        s_buf_free(&samples[k]);
    msgpack_zone_destroy(&zone);

    // The generators must reach both sides, or the test proves nothing.
    print_message("random: %zu accepted, %zu rejected; mutated: %zu accepted, "
                  "%zu rejected\n",
                  rnd.accepted, rnd.rejected, mut.accepted, mut.rejected);
    assert_true(rnd.accepted >= 500 && rnd.rejected >= 5000);
    assert_true(mut.accepted >= 500 && mut.rejected >= 5000);
    if (rnd.empty_too_deep || mut.empty_too_deep)
        fail_msg("%zu inputs accepted with an empty map or array nested "
                 "deeper than %d",
                 rnd.empty_too_deep + mut.empty_too_deep, AZO_MP_MAX_DEPTH);
}

// --- lookups
// ---------------------------------------------------------------------

typedef struct {
    msgpack_zone zone;
    msgpack_object obj;
} s_obj_t;

static void
s_unpack(s_obj_t *o, const char *bytes, size_t len)
{
    assert_true(msgpack_zone_init(&o->zone, 1024));
    size_t off = 0;
    assert_int_equal(msgpack_unpack(bytes, len, &off, &o->zone, &o->obj),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, len);
}

#define S_UNPACK(o, lit) s_unpack(o, lit, sizeof(lit) - 1)

static void
test_mp_get_finds_string_keys(void **state)
{
    (void)state;
    s_obj_t o;
    // {"a": 1, "bb": "a", "": nil, "b": 2, "x\0y": 3, 4: 5, "4": 6}; the
    // int key is there to be skipped (azo_mp_check would refuse it).
    S_UNPACK(&o, "\x87\xa1"
                 "a\x01\xa2"
                 "bb\xa1"
                 "a\xa0\xc0\xa1"
                 "b\x02\xa3"
                 "x\x00"
                 "y\x03\x04\x05\xa1"
                 "4\x06");
    const msgpack_object *v = azo_mp_get(&o.obj, "a");
    assert_non_null(v);
    assert_int_equal(v->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal(v->via.u64, 1);
    v = azo_mp_get(&o.obj, "bb");
    assert_true(azo_mp_str_eq(v, "a"));
    // "b" is a prefix of "bb" and a value elsewhere: only the key "b" counts.
    v = azo_mp_get(&o.obj, "b");
    assert_non_null(v);
    assert_int_equal(v->via.u64, 2);
    v = azo_mp_get(&o.obj, "");
    assert_non_null(v);
    assert_int_equal(v->type, MSGPACK_OBJECT_NIL);
    // "x" is not "x\0y".
    assert_null(azo_mp_get(&o.obj, "x"));
    v = azo_mp_get(&o.obj, "4");
    assert_non_null(v);
    assert_int_equal(v->via.u64, 6);
    assert_null(azo_mp_get(&o.obj, "c"));
    assert_null(azo_mp_get(&o.obj, "aa"));
    assert_null(azo_mp_get(&o.obj, "A"));
    assert_null(azo_mp_get(NULL, "a"));
    msgpack_zone_destroy(&o.zone);

    // Not a map: NULL for every key.
    S_UNPACK(&o, "\x92\xa1"
                 "a\x01");
    assert_null(azo_mp_get(&o.obj, "a"));
    assert_null(azo_mp_get(&o.obj, ""));
    msgpack_zone_destroy(&o.zone);
    S_UNPACK(&o, "\xa1"
                 "a");
    assert_null(azo_mp_get(&o.obj, "a"));
    msgpack_zone_destroy(&o.zone);
    S_UNPACK(&o, "\x80");
    assert_null(azo_mp_get(&o.obj, "a"));
    assert_null(azo_mp_get(&o.obj, ""));
    msgpack_zone_destroy(&o.zone);

    // The first of duplicate keys wins.
    S_UNPACK(&o, "\x82\xa1"
                 "k\x01\xa1"
                 "k\x02");
    v = azo_mp_get(&o.obj, "k");
    assert_non_null(v);
    assert_int_equal(v->via.u64, 1);
    msgpack_zone_destroy(&o.zone);
}

static void
test_mp_str_eq_compares_whole_strings(void **state)
{
    (void)state;
    s_obj_t o;
    // ["ping", "", "pi\0ng", bin "ping", 7, nil]
    S_UNPACK(&o, "\x96\xa4ping\xa0\xa5pi\x00ng\xc4\x04ping\x07\xc0");
    const msgpack_object *a = o.obj.via.array.ptr;
    assert_true(azo_mp_str_eq(&a[0], "ping"));
    assert_false(azo_mp_str_eq(&a[0], "pin"));
    assert_false(azo_mp_str_eq(&a[0], "pings"));
    assert_false(azo_mp_str_eq(&a[0], "Ping"));
    assert_false(azo_mp_str_eq(&a[0], ""));
    assert_true(azo_mp_str_eq(&a[1], ""));
    assert_false(azo_mp_str_eq(&a[1], "x"));
    assert_false(azo_mp_str_eq(&a[2], "pi"));
    assert_false(azo_mp_str_eq(&a[3], "ping")); // bin is not str
    assert_false(azo_mp_str_eq(&a[4], "7"));
    assert_false(azo_mp_str_eq(&a[5], ""));
    assert_false(azo_mp_str_eq(NULL, "ping"));
    assert_false(azo_mp_str_eq(NULL, ""));
    msgpack_zone_destroy(&o.zone);
}

static void
test_mp_strdup_copies_or_refuses(void **state)
{
    (void)state;
    s_obj_t o;
    // ["job-1", "", "a\0b", "\0", bin "x", 1, "café"]
    S_UNPACK(&o, "\x97\xa5job-1\xa0\xa3"
                 "a\x00"
                 "b\xa1\x00\xc4\x01x\x01\xa5"
                 "caf\xc3\xa9");
    const msgpack_object *a = o.obj.via.array.ptr;
    msgpack_zone zone;
    assert_true(msgpack_zone_init(&zone, 256));
    const char *s = azo_mp_strdup(&a[0], &zone);
    assert_non_null(s);
    assert_string_equal(s, "job-1");
    assert_ptr_not_equal(s, a[0].via.str.ptr); // a copy, terminated
    s = azo_mp_strdup(&a[1], &zone);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_null(azo_mp_strdup(&a[2], &zone));
    assert_null(azo_mp_strdup(&a[3], &zone));
    assert_null(azo_mp_strdup(&a[4], &zone));
    assert_null(azo_mp_strdup(&a[5], &zone));
    assert_null(azo_mp_strdup(NULL, &zone));
    s = azo_mp_strdup(&a[6], &zone);
    assert_non_null(s);
    assert_string_equal(s, "caf\xc3\xa9");
    msgpack_zone_destroy(&zone);
    msgpack_zone_destroy(&o.zone);
}

static void
test_mp_int_reads_int64_range(void **state)
{
    (void)state;
    s_obj_t o;
    // [0, 127, INT64_MAX, INT64_MAX+1, UINT64_MAX, -1, INT64_MIN,
    //  int8 5, 1.0, "1", nil, true, [], uint8 200]
    S_UNPACK(&o, "\x9e\x00\x7f"
                 "\xcf\x7f\xff\xff\xff\xff\xff\xff\xff"
                 "\xcf\x80\x00\x00\x00\x00\x00\x00\x00"
                 "\xcf\xff\xff\xff\xff\xff\xff\xff\xff"
                 "\xff"
                 "\xd3\x80\x00\x00\x00\x00\x00\x00\x00"
                 "\xd0\x05"
                 "\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00"
                 "\xa1"
                 "1"
                 "\xc0\xc3\x90\xcc\xc8");
    const msgpack_object *a = o.obj.via.array.ptr;
    int64_t v = 99;
    assert_int_equal(azo_mp_int(&a[0], &v), 0);
    assert_true(v == 0);
    assert_int_equal(azo_mp_int(&a[1], &v), 0);
    assert_true(v == 127);
    assert_int_equal(azo_mp_int(&a[2], &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(azo_mp_int(&a[3], &v), AZO_EBADREQ);
    assert_int_equal(azo_mp_int(&a[4], &v), AZO_EBADREQ);
    assert_int_equal(azo_mp_int(&a[5], &v), 0);
    assert_true(v == -1);
    assert_int_equal(azo_mp_int(&a[6], &v), 0);
    assert_true(v == INT64_MIN);
    assert_int_equal(azo_mp_int(&a[7], &v), 0);
    assert_true(v == 5);
    for (int i = 8; i <= 12; i++)
        assert_int_equal(azo_mp_int(&a[i], &v), AZO_EBADREQ);
    assert_int_equal(azo_mp_int(&a[13], &v), 0);
    assert_true(v == 200);
    assert_int_equal(azo_mp_int(NULL, &v), AZO_EBADREQ);
    msgpack_zone_destroy(&o.zone);
}

static void
test_mp_unpack_needs_exactly_one_object(void **state)
{
    (void)state;
    msgpack_zone zone;
    assert_true(msgpack_zone_init(&zone, 256));
    msgpack_object obj;
    assert_int_equal(azo_mp_unpack("\x81\xa1k\x05", 4, &zone, &obj), 0);
    assert_int_equal(obj.type, MSGPACK_OBJECT_MAP);
    assert_int_equal(obj.via.map.size, 1);
    assert_int_equal(azo_mp_unpack("\x01\x02", 2, &zone, &obj), AZO_EBADREQ);
    assert_int_equal(azo_mp_unpack("\x92\x01", 2, &zone, &obj), AZO_EBADREQ);
    assert_int_equal(azo_mp_unpack("\xc1", 1, &zone, &obj), AZO_EBADREQ);
    msgpack_zone_destroy(&zone);
}

// --- packing
// ------------------------------------------------------------------------

typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_zone zone;
    msgpack_object obj;
} s_pack_t;

static void
s_pack_init(s_pack_t *t)
{
    msgpack_sbuffer_init(&t->sb);
    msgpack_packer_init(&t->pk, &t->sb, msgpack_sbuffer_write);
    assert_true(msgpack_zone_init(&t->zone, 4096));
}

// Checks and unpacks what was packed.
static void
s_pack_read(s_pack_t *t, const char *name)
{
    s_assert_ok(name, t->sb.data, t->sb.size);
    msgpack_zone_clear(&t->zone);
    assert_int_equal(azo_mp_unpack(t->sb.data, t->sb.size, &t->zone, &t->obj),
                     0);
}

static void
s_pack_fini(s_pack_t *t)
{
    msgpack_sbuffer_destroy(&t->sb);
    msgpack_zone_destroy(&t->zone);
}

static void
test_mp_pack_helpers_round_trip(void **state)
{
    (void)state;
    s_pack_t t;
    s_pack_init(&t);
    msgpack_pack_map(&t.pk, 9);
    azo_pack_kstr(&t.pk, "s", "hello");
    azo_pack_kstr(&t.pk, "null", NULL);
    azo_pack_kint(&t.pk, "i", -42);
    azo_pack_kint(&t.pk, "imin", INT64_MIN);
    azo_pack_kuint(&t.pk, "u", UINT64_MAX);
    azo_pack_kbool(&t.pk, "t", true);
    azo_pack_kbool(&t.pk, "f", false);
    azo_pack_kreal(&t.pk, "r", 2.5);
    azo_pack_strn(&t.pk, "k\0z", 3);
    azo_pack_strn(&t.pk, "abcdef", 2);
    s_pack_read(&t, "pack helpers");

    const msgpack_object *o = &t.obj;
    assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(o->via.map.size, 9);
    assert_true(azo_mp_str_eq(azo_mp_get(o, "s"), "hello"));
    assert_int_equal(azo_mp_get(o, "null")->type, MSGPACK_OBJECT_NIL);
    int64_t v;
    assert_int_equal(azo_mp_int(azo_mp_get(o, "i"), &v), 0);
    assert_true(v == -42);
    assert_int_equal(azo_mp_int(azo_mp_get(o, "imin"), &v), 0);
    assert_true(v == INT64_MIN);
    const msgpack_object *u = azo_mp_get(o, "u");
    assert_int_equal(u->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_true(u->via.u64 == UINT64_MAX);
    assert_int_equal(azo_mp_get(o, "t")->type, MSGPACK_OBJECT_BOOLEAN);
    assert_true(azo_mp_get(o, "t")->via.boolean);
    assert_false(azo_mp_get(o, "f")->via.boolean);
    assert_int_equal(azo_mp_get(o, "r")->type, MSGPACK_OBJECT_FLOAT64);
    assert_true(azo_mp_get(o, "r")->via.f64 == 2.5);
    // The key with a NUL: the last entry, whose value is "ab".
    const msgpack_object_kv *kv = &o->via.map.ptr[8];
    assert_int_equal(kv->key.via.str.size, 3);
    assert_memory_equal(kv->key.via.str.ptr, "k\0z", 3);
    assert_true(azo_mp_str_eq(&kv->val, "ab"));
    s_pack_fini(&t);
}

static void
test_mp_pack_open_close_counts(void **state)
{
    (void)state;
    static const uint32_t counts[] = {0, 1, 2, 15, 16, 300, 1000};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        uint32_t n = counts[c];
        char name[64];

        // A map whose entries outgrow the sbuffer's first block.
        s_pack_t t;
        s_pack_init(&t);
        size_t at = azo_pack_map_open(&t.pk);
        assert_int_equal(at, 0);
        for (uint32_t i = 0; i < n; i++) {
            char key[32];
            snprintf(key, sizeof key, "key-number-%06u", i);
            azo_pack_kint(&t.pk, key, (int64_t)i - 500);
        }
        azo_pack_map_close(&t.pk, at, n);
        // The header is map32 with a big-endian count.
        assert_int_equal((uint8_t)t.sb.data[0], 0xdf);
        const uint8_t *h = (const uint8_t *)t.sb.data;
        assert_int_equal((uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 |
                             (uint32_t)h[3] << 8 | h[4],
                         n);
        snprintf(name, sizeof name, "map of %u", n);
        s_pack_read(&t, name);
        assert_int_equal(t.obj.type, MSGPACK_OBJECT_MAP);
        assert_int_equal(t.obj.via.map.size, n);
        if (n) {
            int64_t v;
            assert_int_equal(azo_mp_int(&t.obj.via.map.ptr[n - 1].val, &v), 0);
            assert_true(v == (int64_t)n - 1 - 500);
        }
        s_pack_fini(&t);

        s_pack_init(&t);
        at = azo_pack_array_open(&t.pk);
        for (uint32_t i = 0; i < n; i++)
            azo_pack_str(&t.pk, "element-of-some-length-xxxxxxxxxx");
        azo_pack_array_close(&t.pk, at, n);
        assert_int_equal((uint8_t)t.sb.data[0], 0xdd);
        snprintf(name, sizeof name, "array of %u", n);
        s_pack_read(&t, name);
        assert_int_equal(t.obj.type, MSGPACK_OBJECT_ARRAY);
        assert_int_equal(t.obj.via.array.size, n);
        s_pack_fini(&t);
    }
}

static void
test_mp_pack_open_close_nested(void **state)
{
    (void)state;
    s_pack_t t;
    s_pack_init(&t);
    // {"a": {"x": [1, 2, 3], "y": {}}, "b": [], "c": {"d": {"e": 1}}},
    // every container opened before its size is known.
    size_t top = azo_pack_map_open(&t.pk);
    azo_pack_str(&t.pk, "a");
    size_t a = azo_pack_map_open(&t.pk);
    azo_pack_str(&t.pk, "x");
    size_t x = azo_pack_array_open(&t.pk);
    for (int i = 1; i <= 3; i++)
        msgpack_pack_int(&t.pk, i);
    azo_pack_array_close(&t.pk, x, 3);
    azo_pack_str(&t.pk, "y");
    size_t y = azo_pack_map_open(&t.pk);
    azo_pack_map_close(&t.pk, y, 0);
    azo_pack_map_close(&t.pk, a, 2);
    azo_pack_str(&t.pk, "b");
    size_t b = azo_pack_array_open(&t.pk);
    azo_pack_array_close(&t.pk, b, 0);
    azo_pack_str(&t.pk, "c");
    size_t c = azo_pack_map_open(&t.pk);
    azo_pack_str(&t.pk, "d");
    size_t d = azo_pack_map_open(&t.pk);
    azo_pack_kint(&t.pk, "e", 1);
    // Closed out of order: each close patches only its own header.
    azo_pack_map_close(&t.pk, c, 1);
    azo_pack_map_close(&t.pk, d, 1);
    azo_pack_map_close(&t.pk, top, 3);
    assert_true(top == 0 && a > top && x > a && y > x && b > y);
    s_pack_read(&t, "nested open maps");

    const msgpack_object *o = &t.obj;
    assert_int_equal(o->via.map.size, 3);
    const msgpack_object *oa = azo_mp_get(o, "a");
    assert_int_equal(oa->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(oa->via.map.size, 2);
    const msgpack_object *ox = azo_mp_get(oa, "x");
    assert_int_equal(ox->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(ox->via.array.size, 3);
    assert_int_equal(ox->via.array.ptr[2].via.u64, 3);
    assert_int_equal(azo_mp_get(oa, "y")->via.map.size, 0);
    assert_int_equal(azo_mp_get(o, "b")->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(azo_mp_get(o, "b")->via.array.size, 0);
    const msgpack_object *oe =
        azo_mp_get(azo_mp_get(azo_mp_get(o, "c"), "d"), "e");
    assert_non_null(oe);
    assert_int_equal(oe->via.u64, 1);
    s_pack_fini(&t);
}

static void
test_mp_pack_close_writes_big_endian_count(void **state)
{
    (void)state;
    // The header alone, with counts azo_mp_check would refuse to back.
    static const uint32_t counts[] = {0x01020304, 0xffffffff, 0x00010000};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        s_pack_t t;
        s_pack_init(&t);
        msgpack_pack_nil(&t.pk);
        size_t m = azo_pack_map_open(&t.pk);
        size_t a = azo_pack_array_open(&t.pk);
        msgpack_pack_nil(&t.pk);
        azo_pack_array_close(&t.pk, a, counts[i]);
        azo_pack_map_close(&t.pk, m, counts[i] ^ 0xff00ff00);
        assert_int_equal(m, 1);
        assert_int_equal(a, 6);
        assert_int_equal(t.sb.size, 12);
        const uint8_t *h = (const uint8_t *)t.sb.data;
        uint32_t c = counts[i], d = counts[i] ^ 0xff00ff00;
        uint8_t want[12] = {0xc0,
                            0xdf,
                            (uint8_t)(d >> 24),
                            (uint8_t)(d >> 16),
                            (uint8_t)(d >> 8),
                            (uint8_t)d,
                            0xdd,
                            (uint8_t)(c >> 24),
                            (uint8_t)(c >> 16),
                            (uint8_t)(c >> 8),
                            (uint8_t)c,
                            0xc0};
        assert_memory_equal(h, want, sizeof want);
        s_pack_fini(&t);
    }
}

static void
test_mp_pack_open_after_other_data(void **state)
{
    (void)state;
    // open returns the offset of its own header when the buffer is not empty.
    s_pack_t t;
    s_pack_init(&t);
    msgpack_pack_array(&t.pk, 2);
    azo_pack_str(&t.pk, "first");
    size_t at = azo_pack_map_open(&t.pk);
    assert_int_equal(at, 7);
    azo_pack_kstr(&t.pk, "k", "v");
    azo_pack_map_close(&t.pk, at, 1);
    s_pack_read(&t, "open after other data");
    assert_int_equal(t.obj.via.array.size, 2);
    assert_true(azo_mp_str_eq(azo_mp_get(&t.obj.via.array.ptr[1], "k"), "v"));
    s_pack_fini(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mp_check_accepts_every_type),
        cmocka_unit_test(test_mp_check_accepts_long_forms_and_envelopes),
        cmocka_unit_test(test_mp_check_accepts_depth_limit),
        cmocka_unit_test(test_mp_check_accepts_item_limit),
        cmocka_unit_test(test_mp_check_accepts_byte_limit),
        cmocka_unit_test(test_mp_check_rejects_malformed_table),
        cmocka_unit_test(test_mp_check_rejects_every_truncation),
        cmocka_unit_test(test_mp_check_truncated_header_says_truncated),
        cmocka_unit_test(test_mp_check_rejects_empty_container_past_depth),
        cmocka_unit_test(test_mp_check_random_and_mutated_input),
        cmocka_unit_test(test_mp_get_finds_string_keys),
        cmocka_unit_test(test_mp_str_eq_compares_whole_strings),
        cmocka_unit_test(test_mp_strdup_copies_or_refuses),
        cmocka_unit_test(test_mp_int_reads_int64_range),
        cmocka_unit_test(test_mp_unpack_needs_exactly_one_object),
        cmocka_unit_test(test_mp_pack_helpers_round_trip),
        cmocka_unit_test(test_mp_pack_open_close_counts),
        cmocka_unit_test(test_mp_pack_open_close_nested),
        cmocka_unit_test(test_mp_pack_close_writes_big_endian_count),
        cmocka_unit_test(test_mp_pack_open_after_other_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
