// azo_cmd — command tables and the handling of one incoming request:
// decode, find the handler, run it, and end with exactly one reply (none
// for one-way messages, later for deferred ones). Shared by the supervisor
// and the actors; each thread uses its own contexts. Does not send: the
// caller owns the transport.
#ifndef AZO_CMD_H
#define AZO_CMD_H

#include "azo_wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// A handler validates req, acts, and writes its reply (azo_reply_ok,
// azo_reply_result, azo_reply_fail). self is the owner's state; req and
// reply are borrowed until return. It returns 0 or a negative code; a
// negative code with no reply written becomes an error reply.
typedef int(azo_cmd_fn)(void *self, const azo_req_t *req, azo_reply_t *reply);

typedef struct {
    const char *name; // full command name, "sched.run"
    azo_cmd_fn *fn;
} azo_cmd_entry_t;

// One incoming request's reply and where it goes.
typedef struct azo_cmd_ctx {
    azo_reply_t reply;               // first member: handlers see &ctx->reply
    int from;                        // registry index of the requester
    uint64_t token;                  // requester's correlation number
    bool oneway;                     // the requester wants no reply
    bool deferred;                   // taken over by azo_cmd_defer
    struct azo_cmd_ctx *next, *prev; // owner's list of deferred replies
} azo_cmd_ctx_t;

// Prepares / frees a context the caller owns.
void azo_cmd_ctx_init(azo_cmd_ctx_t *ctx);
void azo_cmd_ctx_fini(azo_cmd_ctx_t *ctx);

// Decodes body into req and runs the handler for req->cmd from
// cmds[0..ncmds). ctx->from, token and oneway must be set. Returns true when
// ctx->reply holds a reply to send now; false when none is due (one-way, or
// deferred). Bad input, unknown commands and handler failures all end in an
// error reply, never an abort. If err is not NULL, a decoding failure also
// leaves its reason there (for the caller's rate-limited log).
bool azo_cmd_handle(const azo_cmd_entry_t *cmds, size_t ncmds, void *self,
                    azo_req_t *req, azo_cmd_ctx_t *ctx, const void *body,
                    size_t len, char *err, size_t errlen);

// Like azo_cmd_handle for a request already decoded into req.
bool azo_cmd_run(const azo_cmd_entry_t *cmds, size_t ncmds, void *self,
                 const azo_req_t *req, azo_cmd_ctx_t *ctx);

// Finds name in cmds. Returns the entry or NULL.
const azo_cmd_entry_t *azo_cmd_find(const azo_cmd_entry_t *cmds, size_t ncmds,
                                    const char *name);

// Inside a handler: takes the reply over so it can be written after the
// handler returns. Returns a heap context (linked at the head of *list,
// owned by the caller) holding the same id and route, or NULL when out of
// memory or the request is one-way (then the handler replies now, if at
// all). The caller later completes ctx->reply, sends it, and frees the
// context with azo_cmd_ctx_free.
azo_cmd_ctx_t *azo_cmd_defer(azo_reply_t *reply, azo_cmd_ctx_t **list);

// Unlinks *ctx_p from *list, frees it and sets *ctx_p to NULL.
void azo_cmd_ctx_free(azo_cmd_ctx_t **ctx_p, azo_cmd_ctx_t **list);

// Handler for commands that are planned but not built yet: replies
// unavailable, naming the command. Nothing pretends to work.
int azo_cmd_unavailable(void *self, const azo_req_t *req, azo_reply_t *reply);

#endif
