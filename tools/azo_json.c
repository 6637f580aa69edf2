// azo_json — msgpack <-> JSON conversion for the command-line tools.
// Stateless; any thread. Recursion depth is bounded by AZO_MP_MAX_DEPTH in
// both directions, so no input can exhaust the stack.
#include "azo_json.h"
#include "azo_err.h"
#include "azo_mp.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// --- msgpack -> JSON ---------------------------------------------------------

static const char s_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Returns a JSON string holding the padded base64 of data[0..len).
static json_t *
s_base64(const uint8_t *data, size_t len)
{
    // A msgpack bin holds at most 2^32-1 bytes, so this cannot overflow.
    size_t outlen = (len + 2) / 3 * 4;
    char *out = malloc(outlen + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            v |= data[i + 2];
        out[o++] = s_b64[(v >> 18) & 0x3f];
        out[o++] = s_b64[(v >> 12) & 0x3f];
        out[o++] = i + 1 < len ? s_b64[(v >> 6) & 0x3f] : '=';
        out[o++] = i + 2 < len ? s_b64[v & 0x3f] : '=';
    }
    out[o] = 0;
    json_t *s = json_stringn(out, o);
    free(out);
    return s;
}

// A float32 widened to double prints as 0.10000000149011612; the shortest
// decimal that reads back as the same float32 is what the sender meant.
static double
s_float32(double f)
{
    float want = (float)f;
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)want);
        if (strtof(buf, NULL) == want)
            return strtod(buf, NULL);
    }
    return f;
}

static json_t *
s_real(double d, bool is32)
{
    if (!isfinite(d))
        return json_null(); // JSON has no NaN or infinity
    return json_real(is32 ? s_float32(d) : d);
}

static json_t *s_from(const msgpack_object *obj, int depth);

static json_t *
s_from_array(const msgpack_object *obj, int depth)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (uint32_t i = 0; i < obj->via.array.size; i++) {
        json_t *v = s_from(&obj->via.array.ptr[i], depth + 1);
        if (!v || json_array_append_new(arr, v) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *
s_from_map(const msgpack_object *obj, int depth)
{
    json_t *map = json_object();
    if (!map)
        return NULL;
    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        const msgpack_object *k = &obj->via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR) {
            json_decref(map);
            return NULL;
        }
        json_t *v = s_from(&obj->via.map.ptr[i].val, depth + 1);
        // msgpack-c leaves ptr NULL for empty strings.
        const char *kp = k->via.str.size ? k->via.str.ptr : "";
        // setn_new checks the key is UTF-8, takes v even on failure, and
        // keeps keys holding NUL bytes whole.
        if (!v || json_object_setn_new(map, kp, k->via.str.size, v) < 0) {
            json_decref(map);
            return NULL;
        }
    }
    return map;
}

// depth: the number of maps and arrays enclosing obj.
static json_t *
s_from(const msgpack_object *obj, int depth)
{
    char num[24];
    switch (obj->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(obj->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (obj->via.u64 <= INT64_MAX)
            return json_integer((json_int_t)obj->via.u64);
        snprintf(num, sizeof num, "%" PRIu64, obj->via.u64);
        return json_string(num);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)obj->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
        return s_real(obj->via.f64, true);
    case MSGPACK_OBJECT_FLOAT64:
        return s_real(obj->via.f64, false);
    case MSGPACK_OBJECT_STR:
        // msgpack-c leaves ptr NULL for empty strings.
        return json_stringn(obj->via.str.size ? obj->via.str.ptr : "",
                            obj->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return s_base64((const uint8_t *)obj->via.bin.ptr, obj->via.bin.size);
    case MSGPACK_OBJECT_ARRAY:
        if (obj->via.array.size > 0 && depth >= AZO_MP_MAX_DEPTH)
            return NULL;
        return s_from_array(obj, depth);
    case MSGPACK_OBJECT_MAP:
        if (obj->via.map.size > 0 && depth >= AZO_MP_MAX_DEPTH)
            return NULL;
        return s_from_map(obj, depth);
    default:
        return NULL; // ext types have no JSON form
    }
}

json_t *
azo_json_from_mp(const msgpack_object *obj)
{
    return obj ? s_from(obj, 0) : NULL;
}

// --- JSON -> msgpack ---------------------------------------------------------

// Checks the whole value before packing anything, so that a failure leaves
// the caller's buffer untouched.
static int
s_check(const json_t *json, int depth)
{
    size_t i;
    const char *key;
    json_t *v;
    switch (json_typeof(json)) {
    case JSON_OBJECT:
        if (json_object_size(json) > 0 && depth >= AZO_MP_MAX_DEPTH)
            return AZO_EBADREQ;
        // jansson's iteration macros take a non-const object; nothing is
        // modified.
        json_object_foreach((json_t *)json, key, v) if (s_check(v, depth + 1) <
                                                        0) return AZO_EBADREQ;
        return 0;
    case JSON_ARRAY:
        if (json_array_size(json) > 0 && depth >= AZO_MP_MAX_DEPTH)
            return AZO_EBADREQ;
        json_array_foreach(json, i,
                           v) if (s_check(v, depth + 1) < 0) return AZO_EBADREQ;
        return 0;
    default:
        return 0;
    }
}

static void
s_pack(const json_t *json, msgpack_packer *pk)
{
    size_t i, klen;
    const char *key;
    json_t *v;
    switch (json_typeof(json)) {
    case JSON_OBJECT:
        msgpack_pack_map(pk, (uint32_t)json_object_size(json));
        json_object_keylen_foreach((json_t *)json, key, klen, v)
        {
            azo_pack_strn(pk, key, klen);
            s_pack(v, pk);
        }
        break;
    case JSON_ARRAY:
        msgpack_pack_array(pk, (uint32_t)json_array_size(json));
        json_array_foreach(json, i, v) s_pack(v, pk);
        break;
    case JSON_STRING:
        azo_pack_strn(pk, json_string_value(json), json_string_length(json));
        break;
    case JSON_INTEGER:
        msgpack_pack_int64(pk, (int64_t)json_integer_value(json));
        break;
    case JSON_REAL:
        msgpack_pack_double(pk, json_real_value(json));
        break;
    case JSON_TRUE:
        msgpack_pack_true(pk);
        break;
    case JSON_FALSE:
        msgpack_pack_false(pk);
        break;
    case JSON_NULL:
        msgpack_pack_nil(pk);
        break;
    }
}

int
azo_json_to_mp(const json_t *json, msgpack_packer *pk)
{
    if (!json || !pk || s_check(json, 0) < 0)
        return AZO_EBADREQ;
    s_pack(json, pk);
    return 0;
}

int
azo_json_parse_arg(const char *text, msgpack_packer *pk)
{
    if (!text || !pk)
        return AZO_EBADREQ;
    json_error_t jerr;
    json_t *json = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!json) {
        // Not JSON: the text itself, which the wire wants as UTF-8.
        json_t *str = json_string(text);
        if (!str)
            return AZO_EBADREQ;
        json_decref(str);
        azo_pack_str(pk, text);
        return 0;
    }
    int rc = azo_json_to_mp(json, pk);
    json_decref(json);
    return rc;
}
