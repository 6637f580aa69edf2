// azo_mp — msgpack validation, packing shortcuts and map lookups.
// Stateless; any thread.
//
// msgpack-c's C unpacker trusts declared lengths: a 5-byte frame declaring
// 2^32 array items makes it try to allocate 96 GiB. azo_mp_check walks the
// bytes first with fixed memory and rejects anything whose declared sizes do
// not fit in the bytes present, so a peer never chooses how much we
// allocate (STYLE §4).
#include "azo_mp.h"
#include "azo_err.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

static uint64_t
s_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

// Returns the length of the well-formed UTF-8 sequence at s[0..n) (no
// overlongs, no surrogates, nothing past U+10FFFF), or 0 if there is none.
static size_t
s_utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    size_t need;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        cp = c & 0x07;
    } else
        return 0;
    if (n <= need)
        return 0;
    for (size_t k = 1; k <= need; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return need + 1;
}

bool
azo_mp_utf8_ok(const void *buf, size_t n)
{
    const uint8_t *s = buf;
    for (size_t i = 0; i < n;) {
        if (s[i] < 0x80) { // the common case, without a call
            i++;
            continue;
        }
        size_t k = s_utf8_seq(s + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

size_t
azo_mp_clean_text(char *dst, size_t dstlen, const void *src, size_t srclen)
{
    const uint8_t *s = src;
    size_t out = 0;
    if (dstlen == 0)
        return 0;
    for (size_t i = 0; i < srclen;) {
        size_t k = s_utf8_seq(s + i, srclen - i);
        if (k == 0 || (k == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
            if (out + 1 >= dstlen)
                break;
            dst[out++] = '?'; // control character or invalid byte
            i += k ? k : 1;
            continue;
        }
        if (out + k >= dstlen)
            break; // never split a character
        memcpy(dst + out, s + i, k);
        out += k;
        i += k;
    }
    dst[out] = 0;
    return out;
}

typedef enum {
    S_SCALAR,
    S_STR,
    S_BIN,
    S_ARRAY,
    S_MAP,
    S_EXT,
    S_BAD,
    S_TRUNC, // the header itself is cut short
} s_kind_t;

// Decodes the header at p (avail bytes). Sets *hdr to the header length,
// *n to the payload length (STR/BIN), the item count (ARRAY/MAP) or the
// remaining scalar bytes.
static s_kind_t
s_header(const uint8_t *p, size_t avail, size_t *hdr, uint64_t *n)
{
    uint8_t c = p[0];
    *n = 0;
    *hdr = 1;
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
        return S_SCALAR;
    if (c >= 0x80 && c <= 0x8f) {
        *n = c & 0x0f;
        return S_MAP;
    }
    if (c >= 0x90 && c <= 0x9f) {
        *n = c & 0x0f;
        return S_ARRAY;
    }
    if (c >= 0xa0 && c <= 0xbf) {
        *n = c & 0x1f;
        return S_STR;
    }
    int lenbytes = 0;
    s_kind_t kind = S_BAD;
    switch (c) {
    case 0xc4:
        lenbytes = 1;
        kind = S_BIN;
        break;
    case 0xc5:
        lenbytes = 2;
        kind = S_BIN;
        break;
    case 0xc6:
        lenbytes = 4;
        kind = S_BIN;
        break;
    case 0xd9:
        lenbytes = 1;
        kind = S_STR;
        break;
    case 0xda:
        lenbytes = 2;
        kind = S_STR;
        break;
    case 0xdb:
        lenbytes = 4;
        kind = S_STR;
        break;
    case 0xdc:
        lenbytes = 2;
        kind = S_ARRAY;
        break;
    case 0xdd:
        lenbytes = 4;
        kind = S_ARRAY;
        break;
    case 0xde:
        lenbytes = 2;
        kind = S_MAP;
        break;
    case 0xdf:
        lenbytes = 4;
        kind = S_MAP;
        break;
    case 0xcc:
    case 0xd0:
        *n = 1;
        return S_SCALAR;
    case 0xcd:
    case 0xd1:
        *n = 2;
        return S_SCALAR;
    case 0xca:
    case 0xce:
    case 0xd2:
        *n = 4;
        return S_SCALAR;
    case 0xcb:
    case 0xcf:
    case 0xd3:
        *n = 8;
        return S_SCALAR;
    case 0xc7:
    case 0xc8:
    case 0xc9:
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        return S_EXT;
    default:
        return S_BAD; // 0xc1 is never used
    }
    if (avail < 1 + (size_t)lenbytes)
        return S_TRUNC;
    *hdr = 1 + (size_t)lenbytes;
    *n = s_be(p + 1, lenbytes);
    return kind;
}

int
azo_mp_check(const void *buf, size_t len, char *err, size_t errlen)
{
    const uint8_t *p = buf;
    if (!buf || len == 0)
        return azo_err_set(err, errlen, AZO_EBADREQ, "empty message");
    if (len > AZO_MP_MAX_BYTES)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "message of %zu bytes exceeds %u", len,
                           AZO_MP_MAX_BYTES);

    // left[d]: objects still expected at depth d; key[d]: true when depth d
    // is a map (even remaining count = next object is a key).
    uint64_t left[AZO_MP_MAX_DEPTH + 1];
    bool ismap[AZO_MP_MAX_DEPTH + 1];
    int depth = 0;
    left[0] = 1;
    ismap[0] = false;
    size_t off = 0, items = 0;

    while (depth > 0 || left[0] > 0) {
        if (left[depth] == 0) {
            depth--;
            continue;
        }
        bool iskey = ismap[depth] && left[depth] % 2 == 0;
        left[depth]--;
        if (off >= len)
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "truncated msgpack at byte %zu", off);
        if (++items > AZO_MP_MAX_ITEMS)
            return azo_err_set(err, errlen, AZO_EBADREQ, "more than %d objects",
                               AZO_MP_MAX_ITEMS);
        size_t avail = len - off, hdr;
        uint64_t n;
        s_kind_t kind = s_header(p + off, avail, &hdr, &n);
        if (kind == S_BAD)
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "invalid msgpack at byte %zu", off);
        if (kind == S_TRUNC)
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "truncated msgpack at byte %zu", off);
        if (kind == S_EXT)
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "msgpack ext type at byte %zu is not allowed",
                               off);
        if (iskey && kind != S_STR)
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "map key at byte %zu is not a string", off);
        switch (kind) {
        case S_SCALAR:
        case S_STR:
        case S_BIN:
            if (n > avail - hdr)
                return azo_err_set(err, errlen, AZO_EBADREQ,
                                   "truncated msgpack at byte %zu (needs %llu "
                                   "bytes, %zu left)",
                                   off, (unsigned long long)n, avail - hdr);
            if (kind == S_STR && !azo_mp_utf8_ok(p + off + hdr, (size_t)n))
                return azo_err_set(err, errlen, AZO_EBADREQ,
                                   "string at byte %zu is not valid UTF-8",
                                   off);
            off += hdr + (size_t)n;
            break;
        case S_ARRAY:
        case S_MAP: {
            uint64_t want = kind == S_MAP ? 2 * n : n;
            // Every object takes at least one byte.
            if (want > avail - hdr)
                return azo_err_set(
                    err, errlen, AZO_EBADREQ,
                    "%s at byte %zu declares %llu items but only "
                    "%zu bytes follow",
                    kind == S_MAP ? "map" : "array", off, (unsigned long long)n,
                    avail - hdr);
            // Even an empty container counts as a level of nesting.
            if (depth == AZO_MP_MAX_DEPTH)
                return azo_err_set(err, errlen, AZO_EBADREQ,
                                   "nesting deeper than %d at byte "
                                   "%zu",
                                   AZO_MP_MAX_DEPTH, off);
            off += hdr;
            if (want == 0)
                break;
            depth++;
            left[depth] = want;
            ismap[depth] = kind == S_MAP;
            break;
        }
        default:
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "invalid msgpack at byte %zu", off);
        }
    }
    if (off != len)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "trailing bytes after the message (%zu of %zu used)",
                           off, len);
    return 0;
}

int
azo_mp_unpack(const void *buf, size_t len, msgpack_zone *zone,
              msgpack_object *obj)
{
    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack(buf, len, &off, zone, obj);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != len)
        return AZO_EBADREQ;
    return 0;
}

const msgpack_object *
azo_mp_get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t klen = strlen(key);
    const msgpack_object_kv *kv = map->via.map.ptr;
    for (uint32_t i = 0; i < map->via.map.size; i++, kv++)
        if (kv->key.type == MSGPACK_OBJECT_STR &&
            kv->key.via.str.size == klen &&
            memcmp(kv->key.via.str.ptr, key, klen) == 0)
            return &kv->val;
    return NULL;
}

bool
azo_mp_str_eq(const msgpack_object *obj, const char *s)
{
    size_t n = strlen(s);
    return obj && obj->type == MSGPACK_OBJECT_STR && obj->via.str.size == n &&
           memcmp(obj->via.str.ptr, s, n) == 0;
}

const char *
azo_mp_strdup(const msgpack_object *obj, msgpack_zone *zone)
{
    if (!obj || obj->type != MSGPACK_OBJECT_STR)
        return NULL;
    uint32_t n = obj->via.str.size;
    if (memchr(obj->via.str.ptr, 0, n))
        return NULL;
    char *s = msgpack_zone_malloc(zone, (size_t)n + 1);
    if (!s)
        return NULL;
    memcpy(s, obj->via.str.ptr, n);
    s[n] = 0;
    return s;
}

int
azo_mp_int(const msgpack_object *obj, int64_t *out)
{
    if (!obj)
        return AZO_EBADREQ;
    if (obj->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (obj->via.u64 > INT64_MAX)
            return AZO_EBADREQ;
        *out = (int64_t)obj->via.u64;
        return 0;
    }
    if (obj->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = obj->via.i64;
        return 0;
    }
    return AZO_EBADREQ;
}

void
azo_pack_strn(msgpack_packer *pk, const char *s, size_t len)
{
    msgpack_pack_str(pk, len);
    msgpack_pack_str_body(pk, s, len);
}

void
azo_pack_str(msgpack_packer *pk, const char *s)
{
    if (s)
        azo_pack_strn(pk, s, strlen(s));
    else
        msgpack_pack_nil(pk);
}

void
azo_pack_kstr(msgpack_packer *pk, const char *key, const char *val)
{
    azo_pack_str(pk, key);
    azo_pack_str(pk, val);
}

void
azo_pack_kint(msgpack_packer *pk, const char *key, int64_t val)
{
    azo_pack_str(pk, key);
    msgpack_pack_int64(pk, val);
}

void
azo_pack_kuint(msgpack_packer *pk, const char *key, uint64_t val)
{
    azo_pack_str(pk, key);
    msgpack_pack_uint64(pk, val);
}

void
azo_pack_kbool(msgpack_packer *pk, const char *key, bool val)
{
    azo_pack_str(pk, key);
    if (val)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

void
azo_pack_kreal(msgpack_packer *pk, const char *key, double val)
{
    azo_pack_str(pk, key);
    msgpack_pack_double(pk, val);
}

static msgpack_sbuffer *
s_sbuf(msgpack_packer *pk)
{
    // The deferred-count helpers patch bytes already written, so they only
    // work on a packer that appends to an sbuffer (msgpack_sbuffer_write is
    // static inline, so its address cannot be compared here).
    assert(pk->data);
    return pk->data;
}

static size_t
s_open(msgpack_packer *pk, uint8_t tag)
{
    msgpack_sbuffer *sb = s_sbuf(pk);
    size_t at = sb->size;
    const char hdr[5] = {(char)tag, 0, 0, 0, 0};
    msgpack_sbuffer_write(sb, hdr, sizeof hdr);
    return at;
}

static void
s_close(msgpack_packer *pk, size_t at, uint32_t n)
{
    msgpack_sbuffer *sb = s_sbuf(pk);
    assert(at + 5 <= sb->size);
    uint8_t *p = (uint8_t *)sb->data + at + 1;
    p[0] = (uint8_t)(n >> 24);
    p[1] = (uint8_t)(n >> 16);
    p[2] = (uint8_t)(n >> 8);
    p[3] = (uint8_t)n;
}

size_t
azo_pack_map_open(msgpack_packer *pk)
{
    return s_open(pk, 0xdf);
}

void
azo_pack_map_close(msgpack_packer *pk, size_t at, uint32_t n)
{
    s_close(pk, at, n);
}

size_t
azo_pack_array_open(msgpack_packer *pk)
{
    return s_open(pk, 0xdd);
}

void
azo_pack_array_close(msgpack_packer *pk, size_t at, uint32_t n)
{
    s_close(pk, at, n);
}
