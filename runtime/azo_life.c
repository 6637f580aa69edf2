// azo_life — lifecycle message codec. Stateless; any thread.
#include "azo_life.h"
#include "azo_err.h"
#include "azo_mp.h"

#include <string.h>

static const char *const s_names[] = {"hb", "ready", "exit", "term",
                                      "activate"};
#define S_NEVS (sizeof s_names / sizeof s_names[0])

int
azo_life_pack(msgpack_sbuffer *sb, const azo_life_t *life)
{
    msgpack_packer pk;
    msgpack_sbuffer_clear(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6 + (life->next != 0) + (life->tid != 0));
    azo_pack_kstr(&pk, "ev", s_names[life->ev]);
    azo_pack_kuint(&pk, "gen", life->gen);
    azo_pack_kint(&pk, "pid", life->pid);
    azo_pack_kbool(&pk, "standby", life->standby);
    azo_pack_kbool(&pk, "failed", life->failed);
    azo_pack_kstr(&pk, "reason", life->reason);
    if (life->next)
        azo_pack_kuint(&pk, "next", life->next);
    if (life->tid)
        azo_pack_kint(&pk, "tid", life->tid);
    return 0;
}

int
azo_life_decode(const void *body, size_t len, azo_life_t *out)
{
    memset(out, 0, sizeof *out);
    // Small and flat (at most 512 bytes); nothing outlives this call.
    msgpack_zone zone;
    if (len > 512 || azo_mp_check(body, len, NULL, 0) < 0 ||
        !msgpack_zone_init(&zone, 1024))
        return AZO_EBADREQ;
    // msgpack-c leaves root untouched when it fails (out of memory): the
    // lookups below must then find nothing rather than read garbage.
    msgpack_object root = {.type = MSGPACK_OBJECT_NIL};
    int rc = azo_mp_unpack(body, len, &zone, &root);
    const msgpack_object *ev = azo_mp_get(&root, "ev");
    int64_t gen = -1, pid = -1, next = 0, tid = 0;
    rc = rc < 0 || !ev ? AZO_EBADREQ : 0;
    if (rc == 0) {
        rc = AZO_EBADREQ;
        for (size_t i = 0; i < S_NEVS; i++)
            if (azo_mp_str_eq(ev, s_names[i])) {
                out->ev = (azo_life_ev_t)i;
                rc = 0;
            }
    }
    if (rc == 0 && (azo_mp_int(azo_mp_get(&root, "gen"), &gen) < 0 || gen < 0 ||
                    gen > UINT32_MAX ||
                    azo_mp_int(azo_mp_get(&root, "pid"), &pid) < 0 || pid < 0))
        rc = AZO_EBADREQ;
    const msgpack_object *standby = azo_mp_get(&root, "standby");
    const msgpack_object *failed = azo_mp_get(&root, "failed");
    const msgpack_object *reason = azo_mp_get(&root, "reason");
    const msgpack_object *nx = azo_mp_get(&root, "next");
    if (rc == 0 && nx &&
        (azo_mp_int(nx, &next) < 0 || next <= 0 || next > UINT32_MAX))
        rc = AZO_EBADREQ;
    // Optional (older senders leave it out), but never negative.
    const msgpack_object *tid_o = azo_mp_get(&root, "tid");
    if (rc == 0 && tid_o && (azo_mp_int(tid_o, &tid) < 0 || tid < 0))
        rc = AZO_EBADREQ;
    if (rc == 0 && (!standby || standby->type != MSGPACK_OBJECT_BOOLEAN ||
                    !failed || failed->type != MSGPACK_OBJECT_BOOLEAN ||
                    (reason && reason->type != MSGPACK_OBJECT_STR &&
                     reason->type != MSGPACK_OBJECT_NIL)))
        rc = AZO_EBADREQ;
    if (rc == 0) {
        out->gen = (uint32_t)gen;
        out->pid = pid;
        out->standby = standby->via.boolean;
        out->failed = failed->via.boolean;
        out->next = (uint32_t)next;
        out->tid = tid;
        if (reason && reason->type == MSGPACK_OBJECT_STR)
            azo_mp_clean_text(out->reason, sizeof out->reason,
                              reason->via.str.ptr, reason->via.str.size);
    }
    msgpack_zone_destroy(&zone);
    return rc;
}
