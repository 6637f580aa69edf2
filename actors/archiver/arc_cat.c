// arc_cat — the archiver's catalog and intents. See arc_cat.h.
#include "arc_cat.h"

#include "azo_err.h"
#include "azo_mp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_states[] = {"moving", "archived", "restored",
                                       "pruned"};

const char *
arc_state_name(int st)
{
    return st >= 0 && st <= ARC_PRUNED ? s_states[st] : "?";
}

static void
s_key(unsigned char *k, char kind, uint64_t id)
{
    k[0] = (unsigned char)kind;
    k[1] = '/';
    for (int i = 9; i >= 2; i--, id >>= 8)
        k[i] = (unsigned char)id;
}

void
arc_entry_pack(const arc_entry_t *e, msgpack_packer *pk)
{
    msgpack_pack_map(pk, 11);
    azo_pack_kuint(pk, "id", e->id);
    azo_pack_kstr(pk, "original", e->orig);
    azo_pack_kstr(pk, "path", e->path);
    azo_pack_kint(pk, "size", e->size);
    azo_pack_kint(pk, "mtime", e->mtime);
    azo_pack_kstr(pk, "sha256", e->sha);
    azo_pack_kstr(pk, "compression", e->gzip ? "gzip" : "none");
    azo_pack_kstr(pk, "job", e->job);
    azo_pack_kint(pk, "ts", e->ts);
    azo_pack_kstr(pk, "state", arc_state_name(e->state));
    azo_pack_kint(pk, "v", 1);
}

static int
s_str(const msgpack_object *map, const char *key, char *dst, size_t cap)
{
    const msgpack_object *o = azo_mp_get(map, key);
    if (!o || o->type != MSGPACK_OBJECT_STR || o->via.str.size >= cap ||
        memchr(o->via.str.ptr, 0, o->via.str.size))
        return AZO_EINTERNAL;
    memcpy(dst, o->via.str.ptr, o->via.str.size);
    dst[o->via.str.size] = 0;
    return 0;
}

int
arc_entry_unpack(arc_entry_t *e, const msgpack_object *obj)
{
    memset(e, 0, sizeof *e);
    int64_t id = 0;
    char comp[8], st[16];
    if (!obj || obj->type != MSGPACK_OBJECT_MAP ||
        azo_mp_int(azo_mp_get(obj, "id"), &id) || id <= 0 ||
        s_str(obj, "original", e->orig, sizeof e->orig) ||
        s_str(obj, "path", e->path, sizeof e->path) ||
        azo_mp_int(azo_mp_get(obj, "size"), &e->size) || e->size < 0 ||
        azo_mp_int(azo_mp_get(obj, "mtime"), &e->mtime) ||
        s_str(obj, "sha256", e->sha, sizeof e->sha) ||
        s_str(obj, "compression", comp, sizeof comp) ||
        s_str(obj, "job", e->job, sizeof e->job) ||
        azo_mp_int(azo_mp_get(obj, "ts"), &e->ts) ||
        s_str(obj, "state", st, sizeof st))
        return AZO_EINTERNAL;
    e->id = (uint64_t)id;
    e->gzip = strcmp(comp, "gzip") == 0;
    for (int i = 0; i <= ARC_PRUNED; i++)
        if (strcmp(st, s_states[i]) == 0) {
            e->state = (uint8_t)i;
            return 0;
        }
    return AZO_EINTERNAL;
}

int
arc_cat_next_ids(azo_txn_t *txn, int db, uint64_t count, uint64_t *first)
{
    const void *v;
    size_t n;
    uint64_t last = 0;
    int rc = azo_txn_get(txn, db, "n", 1, &v, &n);
    if (rc == 0 && n == 8)
        memcpy(&last, v, 8);
    else if (rc != 0 && rc != AZO_ENOTFOUND)
        return rc;
    *first = last + 1;
    last += count;
    return azo_txn_put(txn, db, "n", 1, &last, 8);
}

int
arc_cat_put(azo_txn_t *txn, int db, const arc_entry_t *e, bool intent)
{
    unsigned char k[10];
    s_key(k, intent ? 'i' : 'c', e->id);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    arc_entry_pack(e, &pk);
    int rc = azo_txn_put(txn, db, k, sizeof k, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

int
arc_cat_del_intent(azo_txn_t *txn, int db, uint64_t id)
{
    unsigned char k[10];
    s_key(k, 'i', id);
    int rc = azo_txn_del(txn, db, k, sizeof k);
    return rc == AZO_ENOTFOUND ? 0 : rc;
}

int
arc_cat_get(azo_txn_t *txn, int db, uint64_t id, bool intent, arc_entry_t *e)
{
    unsigned char k[10];
    s_key(k, intent ? 'i' : 'c', id);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object obj;
    int rc = azo_txn_get_mp(txn, db, k, sizeof k, &zone, &obj);
    if (rc == 0 && arc_entry_unpack(e, &obj) != 0)
        rc = AZO_EINTERNAL;
    msgpack_zone_destroy(&zone);
    return rc;
}

typedef struct {
    arc_cat_fn *fn;
    void *arg;
    int bad;
    arc_entry_t e; // large: kept here, not on the stack of each call
} s_each_t;

static int
s_each(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    (void)key;
    s_each_t *s = arg;
    if (klen != 10)
        return 0;
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object obj;
    int rc = 0;
    if (azo_mp_check(val, vlen, NULL, 0) == 0 &&
        azo_mp_unpack(val, vlen, &zone, &obj) == 0 &&
        arc_entry_unpack(&s->e, &obj) == 0)
        rc = s->fn(&s->e, s->arg);
    else
        s->bad++;
    msgpack_zone_destroy(&zone);
    return rc;
}

int
arc_cat_each(azo_txn_t *txn, int db, bool intents, uint64_t from,
             arc_cat_fn *fn, void *arg, int *bad)
{
    s_each_t *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->fn = fn;
    s->arg = arg;
    unsigned char k[10];
    s_key(k, intents ? 'i' : 'c', from);
    int rc =
        azo_txn_each_from(txn, db, k, 2, k, from ? sizeof k : 0, s_each, s);
    if (bad)
        *bad = s->bad;
    free(s);
    return rc;
}
