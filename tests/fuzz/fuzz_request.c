// fuzz_request — libFuzzer target for the control-request decoder. The input
// is one control message body, as a client sends it to the node's ROUTER.
// It goes through azo_mp_check (which must agree with msgpack-c: what it
// accepts unpacks, and re-packs into bytes it accepts again) and through
// azo_req_decode; a decoded request then meets the argument accessors a
// handler uses, and every request, decoded or not, gets the reply the node
// would send, which must decode (azo_rep_decode) with the request's id and
// error code. The raw bytes also go through the text helpers (name checks,
// azo_mp_utf8_ok, azo_mp_clean_text). Does not dispatch to any command
// table (fuzz_actor_cmds does).
#include "azo_err.h"
#include "azo_fuzz.h"
#include "azo_mp.h"
#include "azo_wire.h"

#include <stdbool.h>
#include <string.h>

#define S_ERRLEN 256 // what the runtime's handlers use

// azo_mp_clean_text must give one printable line of valid UTF-8 that fits,
// and leave text that already is one, and fits, unchanged.
static void
s_text(const uint8_t *data, size_t size)
{
    char out[64];
    size_t n = azo_mp_clean_text(out, sizeof out, data, size);
    AZO_FUZZ_CHECK(n < sizeof out && out[n] == 0 && strlen(out) == n);
    AZO_FUZZ_CHECK(azo_mp_utf8_ok(out, n));
    bool printable = true;
    for (size_t i = 0; i < n; i++)
        AZO_FUZZ_CHECK((unsigned char)out[i] >= 0x20 && out[i] != 0x7f);
    for (size_t i = 0; i < size && printable; i++)
        printable = data[i] >= 0x20 && data[i] != 0x7f;
    if (printable && size < sizeof out && azo_mp_utf8_ok(data, size))
        AZO_FUZZ_CHECK(n == size && memcmp(out, data, size) == 0);
    if (azo_wire_topic_ok((const char *)data, size))
        AZO_FUZZ_CHECK(printable && azo_mp_utf8_ok(data, size));
    if (azo_wire_cmd_ok((const char *)data, size))
        AZO_FUZZ_CHECK(printable && size <= AZO_WIRE_MAX_CMD);
}

// What azo_mp_check accepts, msgpack-c must unpack, and packing the result
// again must give bytes azo_mp_check still accepts (replies echo objects).
static void
s_msgpack(const uint8_t *data, size_t size)
{
    char err[S_ERRLEN] = "";
    int rc = azo_mp_check(data, size, err, sizeof err);
    AZO_FUZZ_CHECK(rc == 0 || rc == AZO_EBADREQ);
    if (rc < 0) {
        AZO_FUZZ_CHECK(err[0] != 0 && strchr(err, '\n') == NULL);
        return;
    }
    msgpack_zone *zone = msgpack_zone_new(4096);
    if (!zone)
        return; // out of memory: not a finding
    msgpack_object obj;
    AZO_FUZZ_CHECK(azo_mp_unpack(data, size, zone, &obj) == 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    AZO_FUZZ_CHECK(msgpack_pack_object(&pk, obj) == 0);
    AZO_FUZZ_CHECK(sb.size <= size); // msgpack-c packs the shortest forms
    AZO_FUZZ_CHECK(azo_mp_check(sb.data, sb.size, err, sizeof err) == 0);
    msgpack_sbuffer_destroy(&sb);
    msgpack_zone_free(zone);
}

// Reads every argument the way handlers do and checks the accessors agree
// with the argument's type.
static void
s_args(const azo_req_t *req)
{
    const msgpack_object *args = req->args;
    for (uint32_t i = 0; i < args->via.map.size; i++) {
        const msgpack_object *k = &args->via.map.ptr[i].key;
        const msgpack_object *v = &args->via.map.ptr[i].val;
        AZO_FUZZ_CHECK(k->type == MSGPACK_OBJECT_STR);
        char key[64];
        if (k->via.str.size >= sizeof key ||
            memchr(k->via.str.ptr, 0, k->via.str.size))
            continue; // no handler asks for such a name
        memcpy(key, k->via.str.ptr, k->via.str.size);
        key[k->via.str.size] = 0;
        // Keys may repeat: the accessors see the first one.
        const msgpack_object *o = azo_req_arg(req, key);
        AZO_FUZZ_CHECK(o && (o == v || o < v));
        const char *s = azo_req_str(req, key);
        AZO_FUZZ_CHECK(!s || (o->type == MSGPACK_OBJECT_STR &&
                              strlen(s) == o->via.str.size));
        int64_t n;
        int rc = azo_req_int(req, key, &n);
        AZO_FUZZ_CHECK(rc == 0 || rc == AZO_EBADREQ);
        AZO_FUZZ_CHECK(rc < 0 || o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                       o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER);
        bool b;
        rc = azo_req_bool(req, key, &b);
        AZO_FUZZ_CHECK((rc == 0) == (o->type == MSGPACK_OBJECT_BOOLEAN));
    }
    const char *unknown = azo_req_unknown_arg(req, "job,every,cron,name");
    AZO_FUZZ_CHECK(!unknown || args->via.map.size > 0);
    unknown = azo_req_unknown_arg(req, "");
    AZO_FUZZ_CHECK((unknown != NULL) == (args->via.map.size > 0));
}

// The reply in r must decode with the given id, outcome and error code.
static void
s_reply_decodes(const azo_reply_t *r, bool has_id, uint64_t id, bool ok, int rc)
{
    size_t len;
    const void *buf = azo_reply_data(r, &len);
    AZO_FUZZ_CHECK(buf && len > 0);
    azo_rep_t rep;
    if (azo_rep_init(&rep) < 0)
        return; // out of memory: not a finding
    char err[S_ERRLEN] = "";
    int drc = azo_rep_decode(&rep, buf, len, err, sizeof err);
    if (drc != 0)
        fprintf(stderr, "reply does not decode: %s\n", err);
    AZO_FUZZ_CHECK(drc == 0);
    AZO_FUZZ_CHECK(rep.has_id == has_id && rep.id == (has_id ? id : 0));
    AZO_FUZZ_CHECK(rep.ok == ok);
    AZO_FUZZ_CHECK(ok ? rep.result != NULL
                      : rep.rc == rc &&
                            strlen(rep.message) <= AZO_WIRE_MAX_ERRMSG);
    azo_rep_fini(&rep);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_text(data, size);
    s_msgpack(data, size);

    azo_req_t req;
    if (azo_req_init(&req) < 0)
        return 0; // out of memory: not a finding
    azo_reply_t reply;
    azo_reply_init(&reply);
    char err[S_ERRLEN] = "";
    int rc = azo_req_decode(&req, data, size, err, sizeof err);
    AZO_FUZZ_CHECK(rc == 0 || rc == AZO_EBADREQ);
    azo_reply_start(&reply, req.has_id, req.id);
    if (rc == 0) {
        AZO_FUZZ_CHECK(req.has_id && req.cmd &&
                       azo_wire_cmd_ok(req.cmd, strlen(req.cmd)));
        AZO_FUZZ_CHECK(req.args && req.args->type == MSGPACK_OBJECT_MAP);
        s_args(&req);
        // A handler echoing its arguments, then the reply of azo_cmd_run
        // to an unknown command, which quotes the name.
        msgpack_pack_object(azo_reply_result(&reply), *req.args);
        s_reply_decodes(&reply, true, req.id, true, 0);
        azo_reply_fail(&reply, AZO_ENOCMD, "unknown command '%s'", req.cmd);
        s_reply_decodes(&reply, true, req.id, false, AZO_ENOCMD);
    } else {
        // The reply of azo_cmd_handle to an undecodable request.
        AZO_FUZZ_CHECK(err[0] != 0 && strchr(err, '\n') == NULL);
        azo_reply_fail(&reply, rc, "%s", err);
        s_reply_decodes(&reply, req.has_id, req.id, false, rc);
    }
    azo_reply_fini(&reply);
    azo_req_fini(&req);
    return 0;
}
