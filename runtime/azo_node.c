// azo_node — node agent <-> supervisor messages (see azo_node.h).
#include "azo_node.h"
#include "azo_err.h"
#include "azo_mp.h"

#include <errno.h>
#include <string.h>

#define S_MAX_BODY (4u * 1024 * 1024) // a state carries the configuration

bool
azo_node_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n > 0 && n <= AZO_NODE_MAX_NAME &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789._-") == n;
}

static void
s_start(msgpack_sbuffer *sb, msgpack_packer *pk, const char *type,
        uint32_t nfields)
{
    msgpack_sbuffer_clear(sb);
    msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(pk, nfields + 2);
    azo_pack_kint(pk, "v", 1);
    azo_pack_kstr(pk, "t", type);
}

int
azo_node_hello_pack(msgpack_sbuffer *sb, const azo_node_hello_t *h)
{
    msgpack_packer pk;
    s_start(sb, &pk, "hello", 5);
    azo_pack_kstr(&pk, "node", h->node);
    azo_pack_kstr(&pk, "version", h->version);
    azo_pack_kint(&pk, "pid", h->pid);
    azo_pack_kbool(&pk, "need_config", h->need_config);
    azo_pack_str(&pk, "actors");
    msgpack_pack_array(&pk, (uint32_t)h->nactors);
    for (int i = 0; i < h->nactors; i++) {
        const azo_node_actor_t *a = &h->actors[i];
        msgpack_pack_map(&pk, 9);
        azo_pack_kstr(&pk, "name", a->name);
        azo_pack_kuint(&pk, "epoch", a->epoch);
        azo_pack_kstr(&pk, "state", a->state);
        azo_pack_kstr(&pk, "mode", a->mode);
        azo_pack_kuint(&pk, "gen", a->gen);
        azo_pack_kuint(&pk, "restarts", a->restarts);
        azo_pack_kint(&pk, "pid", a->pid);
        azo_pack_kint(&pk, "uptime_ms", a->uptime_ms);
        azo_pack_kstr(&pk, "last_exit", a->last_exit[0] ? a->last_exit : NULL);
    }
    return 0;
}

int
azo_node_state_pack(msgpack_sbuffer *sb, const azo_node_state_t *s)
{
    msgpack_packer pk;
    s_start(sb, &pk, "state", 5);
    azo_pack_kstr(&pk, "node", s->node);
    azo_pack_kint(&pk, "heartbeat_ms", s->heartbeat_ms);
    azo_pack_kint(&pk, "liveness", s->liveness);
    azo_pack_str(&pk, "config");
    if (s->config)
        azo_pack_strn(&pk, s->config, s->config_len);
    else
        msgpack_pack_nil(&pk);
    azo_pack_str(&pk, "assign");
    msgpack_pack_array(&pk, (uint32_t)s->nassign);
    for (int i = 0; i < s->nassign; i++) {
        msgpack_pack_map(&pk, 2);
        azo_pack_kstr(&pk, "name", s->assign[i].name);
        azo_pack_kuint(&pk, "epoch", s->assign[i].epoch);
    }
    return 0;
}

// Copies string obj into buf[len]; an absent or nil obj gives "" when
// optional. Returns 0 or AZO_EBADREQ (not a string, too long, has a NUL).
static int
s_str(const msgpack_object *obj, char *buf, size_t len, bool optional)
{
    buf[0] = 0;
    if (!obj || obj->type == MSGPACK_OBJECT_NIL)
        return optional ? 0 : AZO_EBADREQ;
    if (obj->type != MSGPACK_OBJECT_STR || obj->via.str.size >= len ||
        memchr(obj->via.str.ptr, 0, obj->via.str.size))
        return AZO_EBADREQ;
    memcpy(buf, obj->via.str.ptr, obj->via.str.size);
    buf[obj->via.str.size] = 0;
    return 0;
}

static int
s_uint(const msgpack_object *obj, int64_t max, int64_t *out)
{
    if (azo_mp_int(obj, out) < 0 || *out < 0 || *out > max)
        return AZO_EBADREQ;
    return 0;
}

// Unpacks body into *root (zone owned by the caller) and checks its type.
static int
s_open(const void *body, size_t len, msgpack_zone *zone, msgpack_object *root,
       const char *type)
{
    root->type = MSGPACK_OBJECT_NIL;
    if (len > S_MAX_BODY || azo_mp_check(body, len, NULL, 0) < 0 ||
        azo_mp_unpack(body, len, zone, root) < 0 ||
        root->type != MSGPACK_OBJECT_MAP ||
        !azo_mp_str_eq(azo_mp_get(root, "t"), type))
        return AZO_EBADREQ;
    return 0;
}

const char *
azo_node_type(const void *body, size_t len)
{
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, 2048))
        return NULL;
    msgpack_object root;
    const char *type = NULL;
    if (s_open(body, len, &zone, &root, "hello") == 0)
        type = "hello";
    else if (s_open(body, len, &zone, &root, "state") == 0)
        type = "state";
    msgpack_zone_destroy(&zone);
    return type;
}

static int
s_actor(const msgpack_object *o, azo_node_actor_t *a)
{
    int64_t epoch, gen, restarts, pid = 0, up = 0;
    if (o->type != MSGPACK_OBJECT_MAP ||
        s_str(azo_mp_get(o, "name"), a->name, sizeof a->name, false) < 0 ||
        s_str(azo_mp_get(o, "state"), a->state, sizeof a->state, false) < 0 ||
        s_str(azo_mp_get(o, "mode"), a->mode, sizeof a->mode, true) < 0 ||
        s_str(azo_mp_get(o, "last_exit"), a->last_exit, sizeof a->last_exit,
              true) < 0 ||
        s_uint(azo_mp_get(o, "epoch"), UINT32_MAX, &epoch) < 0 ||
        s_uint(azo_mp_get(o, "gen"), UINT32_MAX, &gen) < 0 ||
        s_uint(azo_mp_get(o, "restarts"), INT64_MAX, &restarts) < 0 ||
        (azo_mp_get(o, "pid") &&
         s_uint(azo_mp_get(o, "pid"), INT64_MAX, &pid) < 0) ||
        (azo_mp_get(o, "uptime_ms") &&
         s_uint(azo_mp_get(o, "uptime_ms"), INT64_MAX, &up) < 0))
        return AZO_EBADREQ;
    a->epoch = (uint32_t)epoch;
    a->gen = (uint32_t)gen;
    a->restarts = (uint64_t)restarts;
    a->pid = pid;
    a->uptime_ms = up;
    return 0;
}

int
azo_node_hello_decode(const void *body, size_t len, azo_node_hello_t *out)
{
    memset(out, 0, sizeof *out);
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, 4096))
        return -ENOMEM;
    msgpack_object root;
    int rc = s_open(body, len, &zone, &root, "hello");
    const msgpack_object *need = azo_mp_get(&root, "need_config");
    const msgpack_object *actors = azo_mp_get(&root, "actors");
    int64_t pid = 0;
    if (rc == 0 && (s_str(azo_mp_get(&root, "node"), out->node,
                          sizeof out->node, false) < 0 ||
                    !azo_node_name_ok(out->node) ||
                    s_str(azo_mp_get(&root, "version"), out->version,
                          sizeof out->version, true) < 0 ||
                    (azo_mp_get(&root, "pid") &&
                     s_uint(azo_mp_get(&root, "pid"), INT64_MAX, &pid) < 0) ||
                    (need && need->type != MSGPACK_OBJECT_BOOLEAN) || !actors ||
                    actors->type != MSGPACK_OBJECT_ARRAY ||
                    actors->via.array.size > AZO_REG_MAX))
        rc = AZO_EBADREQ;
    if (rc == 0) {
        out->pid = pid;
        out->need_config = need && need->via.boolean;
        out->nactors = (int)actors->via.array.size;
        for (int i = 0; rc == 0 && i < out->nactors; i++)
            rc = s_actor(&actors->via.array.ptr[i], &out->actors[i]);
    }
    msgpack_zone_destroy(&zone);
    if (rc < 0)
        memset(out, 0, sizeof *out);
    return rc;
}

int
azo_node_state_decode(const void *body, size_t len, azo_node_state_t *out)
{
    memset(out, 0, sizeof *out);
    msgpack_zone zone;
    if (!msgpack_zone_init(&zone, 4096))
        return -ENOMEM;
    msgpack_object root;
    int rc = s_open(body, len, &zone, &root, "state");
    const msgpack_object *cfg = azo_mp_get(&root, "config");
    const msgpack_object *assign = azo_mp_get(&root, "assign");
    if (rc == 0 &&
        (s_str(azo_mp_get(&root, "node"), out->node, sizeof out->node, false) <
             0 ||
         !azo_node_name_ok(out->node) ||
         s_uint(azo_mp_get(&root, "heartbeat_ms"), 3600000,
                &out->heartbeat_ms) < 0 ||
         out->heartbeat_ms < 1 ||
         s_uint(azo_mp_get(&root, "liveness"), 1000, &out->liveness) < 0 ||
         out->liveness < 1 ||
         (cfg && cfg->type != MSGPACK_OBJECT_NIL &&
          cfg->type != MSGPACK_OBJECT_STR) ||
         !assign || assign->type != MSGPACK_OBJECT_ARRAY ||
         assign->via.array.size > AZO_REG_MAX))
        rc = AZO_EBADREQ;
    if (rc == 0 && cfg && cfg->type == MSGPACK_OBJECT_STR) {
        out->config = cfg->via.str.ptr; // points into body
        out->config_len = cfg->via.str.size;
    }
    if (rc == 0)
        out->nassign = (int)assign->via.array.size;
    for (int i = 0; rc == 0 && i < out->nassign; i++) {
        const msgpack_object *o = &assign->via.array.ptr[i];
        int64_t epoch;
        if (o->type != MSGPACK_OBJECT_MAP ||
            s_str(azo_mp_get(o, "name"), out->assign[i].name,
                  sizeof out->assign[i].name, false) < 0 ||
            s_uint(azo_mp_get(o, "epoch"), UINT32_MAX, &epoch) < 0 ||
            epoch == 0)
            rc = AZO_EBADREQ;
        else
            out->assign[i].epoch = (uint32_t)epoch;
    }
    msgpack_zone_destroy(&zone);
    if (rc < 0)
        memset(out, 0, sizeof *out);
    return rc;
}

void
azo_node_epoch_write(void *buf, uint32_t epoch)
{
    uint8_t *p = buf;
    p[0] = (uint8_t)(epoch >> 24);
    p[1] = (uint8_t)(epoch >> 16);
    p[2] = (uint8_t)(epoch >> 8);
    p[3] = (uint8_t)epoch;
}

uint32_t
azo_node_epoch_read(const void *buf)
{
    const uint8_t *p = buf;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}
