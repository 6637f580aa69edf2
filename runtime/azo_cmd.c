// azo_cmd — request handling common to the supervisor and actors. Per
// thread; no shared state.
#include "azo_cmd.h"
#include "azo_err.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
azo_cmd_ctx_init(azo_cmd_ctx_t *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    azo_reply_init(&ctx->reply);
}

void
azo_cmd_ctx_fini(azo_cmd_ctx_t *ctx)
{
    azo_reply_fini(&ctx->reply);
}

const azo_cmd_entry_t *
azo_cmd_find(const azo_cmd_entry_t *cmds, size_t ncmds, const char *name)
{
    // Tables are short (tens of entries); a scan beats hashing here.
    for (size_t i = 0; i < ncmds; i++)
        if (strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
    return NULL;
}

bool
azo_cmd_handle(const azo_cmd_entry_t *cmds, size_t ncmds, void *self,
               azo_req_t *req, azo_cmd_ctx_t *ctx, const void *body, size_t len,
               char *err, size_t errlen)
{
    char why[256];
    int rc = azo_req_decode(req, body, len, why, sizeof why);
    if (rc < 0) {
        if (err)
            snprintf(err, errlen, "%s", why);
        ctx->deferred = false;
        azo_reply_start(&ctx->reply, req->has_id, req->id);
        azo_reply_fail(&ctx->reply, rc, "%s", why);
        return !ctx->oneway;
    }
    return azo_cmd_run(cmds, ncmds, self, req, ctx);
}

bool
azo_cmd_run(const azo_cmd_entry_t *cmds, size_t ncmds, void *self,
            const azo_req_t *req, azo_cmd_ctx_t *ctx)
{
    ctx->deferred = false;
    azo_reply_start(&ctx->reply, req->has_id, req->id);
    const azo_cmd_entry_t *e = azo_cmd_find(cmds, ncmds, req->cmd);
    if (!e) {
        azo_reply_fail(&ctx->reply, AZO_ENOCMD, "unknown command '%s'",
                       req->cmd);
        return !ctx->oneway;
    }
    int rc = e->fn(self, req, &ctx->reply);
    if (ctx->deferred || ctx->oneway)
        return false; // nothing to send: do not pack a default reply
    if (!ctx->reply.done) {
        if (rc < 0)
            azo_reply_fail(&ctx->reply, rc, "%s failed: %s", req->cmd,
                           azo_err_str(rc));
        else
            azo_reply_ok(&ctx->reply);
    }
    return !ctx->oneway;
}

azo_cmd_ctx_t *
azo_cmd_defer(azo_reply_t *reply, azo_cmd_ctx_t **list)
{
    // Handlers only ever see the reply inside a context.
    azo_cmd_ctx_t *orig =
        (azo_cmd_ctx_t *)((char *)reply - offsetof(azo_cmd_ctx_t, reply));
    if (orig->oneway)
        return NULL;
    azo_cmd_ctx_t *ctx = malloc(sizeof *ctx);
    if (!ctx)
        return NULL;
    azo_cmd_ctx_init(ctx);
    azo_reply_start(&ctx->reply, reply->has_id, reply->id);
    ctx->from = orig->from;
    ctx->token = orig->token;
    ctx->next = *list;
    if (*list)
        (*list)->prev = ctx;
    *list = ctx;
    orig->deferred = true;
    return ctx;
}

void
azo_cmd_ctx_free(azo_cmd_ctx_t **ctx_p, azo_cmd_ctx_t **list)
{
    if (!ctx_p || !*ctx_p)
        return;
    azo_cmd_ctx_t *ctx = *ctx_p;
    if (ctx->prev)
        ctx->prev->next = ctx->next;
    else if (*list == ctx)
        *list = ctx->next;
    if (ctx->next)
        ctx->next->prev = ctx->prev;
    azo_cmd_ctx_fini(ctx);
    free(ctx);
    *ctx_p = NULL;
}

int
azo_cmd_unavailable(void *self, const azo_req_t *req, azo_reply_t *reply)
{
    (void)self;
    return azo_reply_fail(reply, AZO_EUNAVAIL,
                          "%s is not available in this build yet", req->cmd);
}
