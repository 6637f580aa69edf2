// fuzz_actor_cmds — libFuzzer target for every actor's command argument
// validation. The input is the "args" object of a request: for each actor
// definition of azo_actors_all and each command of its table (plus one
// unknown command under its prefix), it is appended as is to a request
// envelope (azo_req_pack) and the whole goes through azo_cmd_handle, as in
// an actor's inbox. Every request must end in exactly one reply that
// decodes (azo_rep_decode) and carries the request's id when the envelope
// decoded; a one-way request must end in none.
//
// Handlers get self == NULL, which suits azo_cmd_unavailable (no state).
// An actor with an init has handlers that use its state and its running
// actor (timers, deferred replies): the scheduler (#5) and the
// health-checker (#6). Their handlers are skipped here, only their
// unknown-command paths run; their argument checks are tested from the
// outside (tests/integration/test_sched.py and test_health.py send each
// command missing, mistyped and unknown arguments, and test_hostile.py
// mixes health.status into its storm). Fuzzing them needs a
// running actor: left for a fuzz target that starts one.
// "<prefix>ping" is answered by the runtime (azo_actor.c), not by the
// tables, and needs a running actor: not fuzzed here. The supervisor's own
// commands live in a static table in azo_sup.c: not fuzzed here either.
#include "azo_actors.h"
#include "azo_cmd.h"
#include "azo_err.h"
#include "azo_fuzz.h"
#include "azo_wire.h"

#include <stdbool.h>
#include <string.h>

#define S_ERRLEN 256 // what the runtime's handlers use
#define S_ID     4242

// The state the handlers of def get; see the file comment.
static void *
s_state(const azo_actor_def_t *def)
{
    (void)def;
    return NULL;
}

// What one input reuses across its requests (one decoder each, as in an
// actor's thread).
typedef struct {
    msgpack_sbuffer sb; // the request being sent
    azo_req_t req;
    azo_cmd_ctx_t ctx;
    azo_rep_t rep;
} s_run_t;

// Sends cmd with args[0..size) through def's table. Returns the reply's
// outcome: 1 ok, 0 failed, -1 none.
static int
s_one(s_run_t *r, const azo_actor_def_t *def, const char *cmd, bool oneway,
      const uint8_t *args, size_t size)
{
    msgpack_sbuffer_clear(&r->sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &r->sb, msgpack_sbuffer_write);
    azo_req_pack(&pk, S_ID, cmd);
    msgpack_sbuffer_write(&r->sb, (const char *)args, size);

    r->ctx.from = 1;
    r->ctx.token = 7;
    r->ctx.oneway = oneway;
    char err[S_ERRLEN] = "";
    bool send =
        azo_cmd_handle(def->cmds, def->ncmds, s_state(def), &r->req, &r->ctx,
                       r->sb.data, r->sb.size, err, sizeof err);
    AZO_FUZZ_CHECK(!r->ctx.deferred); // no actor defers yet
    AZO_FUZZ_CHECK(send == !oneway);
    if (!send)
        return -1;
    size_t len;
    const void *buf = azo_reply_data(&r->ctx.reply, &len);
    AZO_FUZZ_CHECK(buf && len > 0);
    char why[S_ERRLEN] = "";
    int rc = azo_rep_decode(&r->rep, buf, len, why, sizeof why);
    if (rc != 0)
        fprintf(stderr, "%s: reply does not decode: %s\n", cmd, why);
    AZO_FUZZ_CHECK(rc == 0);
    // The envelope is ours: only the args can break it, and then the whole
    // message is refused before its id is read.
    AZO_FUZZ_CHECK(!r->rep.has_id || r->rep.id == S_ID);
    AZO_FUZZ_CHECK(r->rep.ok || r->rep.rc == r->ctx.reply.rc);
    return r->rep.ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_run_t r;
    if (azo_req_init(&r.req) < 0)
        return 0; // out of memory: not a finding
    if (azo_rep_init(&r.rep) < 0) {
        azo_req_fini(&r.req);
        return 0;
    }
    msgpack_sbuffer_init(&r.sb);
    azo_cmd_ctx_init(&r.ctx);
    size_t ndefs;
    const azo_actor_def_t *const *defs = azo_actors_all(&ndefs);
    for (size_t d = 0; d < ndefs; d++) {
        const azo_actor_def_t *def = defs[d];
        bool stateful = def->init != NULL; // see the file comment
        for (size_t i = 0; i < def->ncmds && !stateful; i++) {
            const char *cmd = def->cmds[i].name;
            AZO_FUZZ_CHECK(strncmp(cmd, def->prefix, strlen(def->prefix)) == 0);
            (void)s_one(&r, def, cmd, false, data, size);
        }
        // Under the prefix but in no table: always unknown_command, unless
        // the args already broke the envelope.
        char unknown[AZO_WIRE_MAX_CMD + 1];
        snprintf(unknown, sizeof unknown, "%szz-fuzz", def->prefix);
        AZO_FUZZ_CHECK(s_one(&r, def, unknown, false, data, size) == 0);
        if (def->ncmds > 0 && !stateful)
            AZO_FUZZ_CHECK(
                s_one(&r, def, def->cmds[0].name, true, data, size) == -1);
    }
    azo_cmd_ctx_fini(&r.ctx);
    msgpack_sbuffer_destroy(&r.sb);
    azo_rep_fini(&r.rep);
    azo_req_fini(&r.req);
    return 0;
}
