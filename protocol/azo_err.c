// azo_err — maps project error codes to wire names and back. Stateless.
#include "azo_err.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    int rc;
    const char *wire;
    const char *text;
} s_err_entry_t;

// Order follows azo_err_t so the lookup is an index.
static const s_err_entry_t s_errs[] = {
    {AZO_EBADREQ, "bad_request", "bad request"},
    {AZO_ENOCMD, "unknown_command", "unknown command"},
    {AZO_ENOTFOUND, "not_found", "not found"},
    {AZO_ECONFLICT, "conflict", "conflict"},
    {AZO_EUNAVAIL, "unavailable", "unavailable"},
    {AZO_ETIMEOUT, "timeout", "timed out"},
    {AZO_EFORBIDDEN, "forbidden", "forbidden"},
    {AZO_ESTOREFULL, "store_full", "store full"},
    {AZO_EINTERNAL, "internal", "internal error"},
};

#define S_NERRS (sizeof s_errs / sizeof s_errs[0])

static const s_err_entry_t *
s_find(int rc)
{
    // Range first: the subtraction must not overflow for any rc.
    if (rc > AZO_EBADREQ || rc <= AZO_EBADREQ - (int)S_NERRS)
        return NULL;
    return &s_errs[AZO_EBADREQ - rc];
}

const char *
azo_err_wire(int rc)
{
    const s_err_entry_t *e = s_find(rc);
    return e ? e->wire : "internal";
}

int
azo_err_from_wire(const char *code, unsigned len)
{
    for (unsigned i = 0; i < S_NERRS; i++)
        if (strlen(s_errs[i].wire) == len &&
            memcmp(s_errs[i].wire, code, len) == 0)
            return s_errs[i].rc;
    return AZO_EINTERNAL;
}

const char *
azo_err_str(int rc)
{
    if (rc == 0)
        return "ok";
    const s_err_entry_t *e = s_find(rc);
    if (e)
        return e->text;
    if (rc < 0 && rc > -1000)
        return strerror(-rc); // glibc: thread-safe for known values
    return "unknown error";
}

int
azo_err_vset(char *err, size_t errlen, int rc, const char *fmt, va_list ap)
{
    if (err && errlen)
        (void)vsnprintf(err, errlen, fmt, ap); // truncation is acceptable
    return rc;
}

int
azo_err_set(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    azo_err_vset(err, errlen, rc, fmt, ap);
    va_end(ap);
    return rc;
}
