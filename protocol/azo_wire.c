// azo_wire — request, reply and event envelopes over msgpack-c. Objects are
// per-thread; no shared state. Every decoder runs azo_mp_check before
// msgpack-c sees the bytes, then checks the envelope's keys and types.
#include "azo_wire.h"
#include "azo_err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define S_ZONE_CHUNK 4096

static const msgpack_object s_empty_map = {.type = MSGPACK_OBJECT_MAP};

// Checks and unpacks buf into root, which must be a map. zone is cleared
// first so one decoder object serves a stream of messages without mallocs.
static int
s_decode_map(msgpack_zone *zone, msgpack_object *root, const void *buf,
             size_t len, const char *what, char *err, size_t errlen)
{
    msgpack_zone_clear(zone);
    root->type = MSGPACK_OBJECT_NIL;
    int rc = azo_mp_check(buf, len, err, errlen);
    if (rc < 0)
        return rc;
    if (azo_mp_unpack(buf, len, zone, root) < 0)
        return azo_err_set(err, errlen, AZO_EBADREQ, "cannot decode msgpack");
    if (root->type != MSGPACK_OBJECT_MAP)
        return azo_err_set(err, errlen, AZO_EBADREQ, "%s must be a msgpack map",
                           what);
    return 0;
}

// Checks "v" of an envelope map.
static int
s_check_version(const msgpack_object *root, char *err, size_t errlen)
{
    const msgpack_object *v = azo_mp_get(root, "v");
    if (!v)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "missing key 'v' (protocol version)");
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "'v' must be the integer %d", AZO_WIRE_V);
    if (v->via.u64 != AZO_WIRE_V)
        return azo_err_set(
            err, errlen, AZO_EBADREQ,
            "unsupported protocol version %llu (this node speaks "
            "%d)",
            (unsigned long long)v->via.u64, AZO_WIRE_V);
    return 0;
}

// Returns the first key of map not in the NULL-terminated list known.
static const msgpack_object *
s_unknown_key(const msgpack_object *map, const char *const *known)
{
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        bool found = false;
        for (const char *const *n = known; *n && !found; n++)
            found = azo_mp_str_eq(k, *n);
        if (!found)
            return k;
    }
    return NULL;
}

static int
s_unknown_fail(const msgpack_object *key, const char *what, char *err,
               size_t errlen)
{
    // The key is the peer's: clean it before it reaches logs and replies.
    char name[65];
    azo_mp_clean_text(name, sizeof name, key->via.str.ptr, key->via.str.size);
    return azo_err_set(err, errlen, AZO_EBADREQ, "unknown key '%s' in %s", name,
                       what);
}

// Reads "id": a non-negative integer.
static int
s_read_id(const msgpack_object *root, bool *has_id, uint64_t *id, char *err,
          size_t errlen)
{
    *has_id = false;
    *id = 0;
    const msgpack_object *o = azo_mp_get(root, "id");
    if (!o)
        return azo_err_set(err, errlen, AZO_EBADREQ, "missing key 'id'");
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "'id' must be a non-negative integer");
    *has_id = true;
    *id = o->via.u64;
    return 0;
}

bool
azo_wire_cmd_ok(const char *cmd, size_t len)
{
    if (len == 0 || len > AZO_WIRE_MAX_CMD)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = cmd[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

bool
azo_wire_topic_ok(const char *topic, size_t len)
{
    if (len == 0 || len > AZO_WIRE_MAX_TOPIC)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)topic[i];
        if (c <= ' ' || c == 0x7f)
            return false;
    }
    return azo_mp_utf8_ok(topic, len);
}

int
azo_req_init(azo_req_t *req)
{
    memset(req, 0, sizeof *req);
    req->zone = msgpack_zone_new(S_ZONE_CHUNK);
    req->args = &s_empty_map;
    return req->zone ? 0 : -ENOMEM;
}

void
azo_req_fini(azo_req_t *req)
{
    if (req->zone)
        msgpack_zone_free(req->zone);
    memset(req, 0, sizeof *req);
}

int
azo_req_decode(azo_req_t *req, const void *buf, size_t len, char *err,
               size_t errlen)
{
    static const char *const known[] = {"v", "id", "cmd", "args", NULL};
    req->has_id = false;
    req->id = 0;
    req->cmd = NULL;
    req->args = &s_empty_map;
    int rc =
        s_decode_map(req->zone, &req->root, buf, len, "a request", err, errlen);
    if (rc < 0)
        return rc;
    const msgpack_object *root = &req->root;
    // The id first, so that every later error reply can carry it.
    rc = s_read_id(root, &req->has_id, &req->id, err, errlen);
    if (rc == 0)
        rc = s_check_version(root, err, errlen);
    if (rc < 0)
        return rc;
    const msgpack_object *unknown = s_unknown_key(root, known);
    if (unknown)
        return s_unknown_fail(unknown, "request", err, errlen);

    const msgpack_object *cmd = azo_mp_get(root, "cmd");
    if (!cmd)
        return azo_err_set(err, errlen, AZO_EBADREQ, "missing key 'cmd'");
    if (cmd->type != MSGPACK_OBJECT_STR ||
        !azo_wire_cmd_ok(cmd->via.str.ptr, cmd->via.str.size))
        return azo_err_set(
            err, errlen, AZO_EBADREQ,
            "'cmd' must be a string of 1..%d characters a-z 0-9 . "
            "_ -",
            AZO_WIRE_MAX_CMD);
    req->cmd = azo_mp_strdup(cmd, req->zone);
    if (!req->cmd)
        return azo_err_set(err, errlen, AZO_EBADREQ, "out of memory");

    const msgpack_object *args = azo_mp_get(root, "args");
    if (args && args->type == MSGPACK_OBJECT_MAP)
        req->args = args;
    else if (args && args->type != MSGPACK_OBJECT_NIL)
        return azo_err_set(err, errlen, AZO_EBADREQ, "'args' must be a map");
    return 0;
}

const msgpack_object *
azo_req_arg(const azo_req_t *req, const char *key)
{
    return azo_mp_get(req->args, key);
}

const char *
azo_req_str(const azo_req_t *req, const char *key)
{
    return azo_mp_strdup(azo_req_arg(req, key), req->zone);
}

int
azo_req_int(const azo_req_t *req, const char *key, int64_t *out)
{
    const msgpack_object *o = azo_req_arg(req, key);
    if (!o)
        return AZO_ENOTFOUND;
    return azo_mp_int(o, out);
}

int
azo_req_bool(const azo_req_t *req, const char *key, bool *out)
{
    const msgpack_object *o = azo_req_arg(req, key);
    if (!o)
        return AZO_ENOTFOUND;
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return AZO_EBADREQ;
    *out = o->via.boolean;
    return 0;
}

const char *
azo_req_unknown_arg(const azo_req_t *req, const char *allowed)
{
    const msgpack_object *args = req->args;
    for (uint32_t i = 0; i < args->via.map.size; i++) {
        const msgpack_object *k = &args->via.map.ptr[i].key;
        const char *p = allowed;
        bool found = false;
        while (*p && !found) {
            const char *end = strchr(p, ',');
            size_t n = end ? (size_t)(end - p) : strlen(p);
            found = k->via.str.size == n && memcmp(k->via.str.ptr, p, n) == 0;
            p += n + (end ? 1 : 0);
        }
        if (!found) {
            const char *name = azo_mp_strdup(k, req->zone);
            return name ? name : "?";
        }
    }
    return NULL;
}

void
azo_req_pack(msgpack_packer *pk, uint64_t id, const char *cmd)
{
    msgpack_pack_map(pk, 4);
    azo_pack_kuint(pk, "v", AZO_WIRE_V);
    azo_pack_kuint(pk, "id", id);
    azo_pack_kstr(pk, "cmd", cmd);
    azo_pack_str(pk, "args");
}

void
azo_reply_init(azo_reply_t *r)
{
    memset(r, 0, sizeof *r);
    msgpack_sbuffer_init(&r->sbuf);
    msgpack_packer_init(&r->pk, &r->sbuf, msgpack_sbuffer_write);
}

void
azo_reply_fini(azo_reply_t *r)
{
    msgpack_sbuffer_destroy(&r->sbuf);
    memset(r, 0, sizeof *r);
}

void
azo_reply_start(azo_reply_t *r, bool has_id, uint64_t id)
{
    msgpack_sbuffer_clear(&r->sbuf);
    r->has_id = has_id;
    r->id = id;
    r->rc = 0;
    r->done = false;
}

static void
s_reply_head(azo_reply_t *r, bool ok)
{
    msgpack_sbuffer_clear(&r->sbuf);
    msgpack_pack_map(&r->pk, 4);
    azo_pack_kuint(&r->pk, "v", AZO_WIRE_V);
    azo_pack_str(&r->pk, "id");
    if (r->has_id)
        msgpack_pack_uint64(&r->pk, r->id);
    else
        msgpack_pack_nil(&r->pk);
    azo_pack_kbool(&r->pk, "ok", ok);
    azo_pack_str(&r->pk, ok ? "result" : "error");
    r->done = true;
}

msgpack_packer *
azo_reply_result(azo_reply_t *r)
{
    s_reply_head(r, true);
    r->rc = 0;
    return &r->pk;
}

int
azo_reply_ok(azo_reply_t *r)
{
    msgpack_pack_map(azo_reply_result(r), 0);
    return 0;
}

int
azo_reply_fail(azo_reply_t *r, int rc, const char *fmt, ...)
{
    // Formatted at full length, then cut on a character boundary with
    // control characters replaced: messages quote peers' strings, and the
    // reply must stay valid UTF-8 and one printable line.
    char raw[4 * AZO_WIRE_MAX_ERRMSG], msg[AZO_WIRE_MAX_ERRMSG + 1];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    azo_mp_clean_text(msg, sizeof msg, raw,
                      (size_t)n < sizeof raw ? (size_t)n : sizeof raw - 1);
    if (rc >= 0)
        rc = AZO_EINTERNAL; // a failure must carry a failure code
    s_reply_head(r, false);
    r->rc = rc;
    msgpack_pack_map(&r->pk, 2);
    azo_pack_kstr(&r->pk, "code", azo_err_wire(rc));
    azo_pack_kstr(&r->pk, "message", msg);
    return rc;
}

const void *
azo_reply_data(const azo_reply_t *r, size_t *len)
{
    *len = r->done ? r->sbuf.size : 0;
    return r->done ? r->sbuf.data : NULL;
}

int
azo_rep_init(azo_rep_t *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->zone = msgpack_zone_new(S_ZONE_CHUNK);
    return rep->zone ? 0 : -ENOMEM;
}

void
azo_rep_fini(azo_rep_t *rep)
{
    if (rep->zone)
        msgpack_zone_free(rep->zone);
    memset(rep, 0, sizeof *rep);
}

int
azo_rep_decode(azo_rep_t *rep, const void *buf, size_t len, char *err,
               size_t errlen)
{
    static const char *const known[] = {"v",      "id",    "ok",
                                        "result", "error", NULL};
    rep->has_id = false;
    rep->id = 0;
    rep->ok = false;
    rep->result = NULL;
    rep->rc = AZO_EINTERNAL;
    rep->code = rep->message = NULL;
    int rc =
        s_decode_map(rep->zone, &rep->root, buf, len, "a reply", err, errlen);
    if (rc < 0)
        return rc;
    const msgpack_object *root = &rep->root;
    rc = s_check_version(root, err, errlen);
    if (rc < 0)
        return rc;
    const msgpack_object *unknown = s_unknown_key(root, known);
    if (unknown)
        return s_unknown_fail(unknown, "reply", err, errlen);
    // Error replies to undecodable requests carry "id": nil.
    const msgpack_object *id = azo_mp_get(root, "id");
    if (id && id->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        rep->has_id = true;
        rep->id = id->via.u64;
    } else if (!id || id->type != MSGPACK_OBJECT_NIL)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "'id' must be a non-negative integer or "
                           "nil");
    const msgpack_object *ok = azo_mp_get(root, "ok");
    if (!ok || ok->type != MSGPACK_OBJECT_BOOLEAN)
        return azo_err_set(err, errlen, AZO_EBADREQ, "'ok' must be a boolean");
    rep->ok = ok->via.boolean;
    if (rep->ok) {
        rep->result = azo_mp_get(root, "result");
        if (!rep->result)
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "missing key 'result'");
        rep->rc = 0;
        return 0;
    }
    const msgpack_object *e = azo_mp_get(root, "error");
    const msgpack_object *code = azo_mp_get(e, "code");
    const msgpack_object *msg = azo_mp_get(e, "message");
    rep->code = azo_mp_strdup(code, rep->zone);
    rep->message = azo_mp_strdup(msg, rep->zone);
    if (!rep->code || !rep->message)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "'error' must be a map with string 'code' and "
                           "'message'");
    rep->rc = azo_err_from_wire(rep->code, (unsigned)strlen(rep->code));
    return 0;
}

void
azo_event_pack(msgpack_packer *pk, int64_t ts, const char *node,
               const char *src, uint32_t nfields)
{
    msgpack_pack_map(pk, 4 + nfields);
    azo_pack_kuint(pk, "v", AZO_WIRE_V);
    azo_pack_kint(pk, "ts", ts);
    azo_pack_kstr(pk, "node", node);
    azo_pack_kstr(pk, "src", src);
}

int
azo_event_init(azo_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->zone = msgpack_zone_new(S_ZONE_CHUNK);
    return ev->zone ? 0 : -ENOMEM;
}

void
azo_event_fini(azo_event_t *ev)
{
    if (ev->zone)
        msgpack_zone_free(ev->zone);
    memset(ev, 0, sizeof *ev);
}

int
azo_event_decode(azo_event_t *ev, const void *topic, size_t tlen,
                 const void *body, size_t len, char *err, size_t errlen)
{
    ev->topic[0] = 0;
    ev->node = ev->src = NULL;
    ev->ts = 0;
    if (!azo_wire_topic_ok(topic, tlen))
        return azo_err_set(err, errlen, AZO_EBADREQ, "invalid topic");
    memcpy(ev->topic, topic, tlen);
    ev->topic[tlen] = 0;
    int rc = s_decode_map(ev->zone, &ev->root, body, len, "an event body", err,
                          errlen);
    if (rc == 0)
        rc = s_check_version(&ev->root, err, errlen);
    if (rc < 0)
        return rc;
    if (azo_mp_int(azo_mp_get(&ev->root, "ts"), &ev->ts) < 0)
        return azo_err_set(err, errlen, AZO_EBADREQ, "'ts' must be an integer");
    ev->node = azo_mp_strdup(azo_mp_get(&ev->root, "node"), ev->zone);
    ev->src = azo_mp_strdup(azo_mp_get(&ev->root, "src"), ev->zone);
    if (!ev->node || !ev->src)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "'node' and 'src' must be strings");
    return 0;
}

int64_t
azo_wire_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
