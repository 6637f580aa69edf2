// azo_err — project error codes and their wire names (DESIGN.md "Wire
// contract"). Pure functions, any thread. Fallible functions return 0 or a
// negative code: -errno for system errors, AZO_E* for project errors; the two
// ranges are disjoint (errno values stay below 1000).
#ifndef AZO_ERR_H
#define AZO_ERR_H

#include <stdarg.h>
#include <stddef.h>

typedef enum {
    AZO_OK = 0,
    AZO_EBADREQ = -1000,    // wire: bad_request
    AZO_ENOCMD = -1001,     // wire: unknown_command
    AZO_ENOTFOUND = -1002,  // wire: not_found
    AZO_ECONFLICT = -1003,  // wire: conflict
    AZO_EUNAVAIL = -1004,   // wire: unavailable
    AZO_ETIMEOUT = -1005,   // wire: timeout
    AZO_EFORBIDDEN = -1006, // wire: forbidden
    AZO_ESTOREFULL = -1007, // wire: store_full
    AZO_EINTERNAL = -1008,  // wire: internal
} azo_err_t;

// Returns the wire code for rc ("bad_request", ...). Any -errno, and any
// unknown negative value, maps to "internal". Static storage.
const char *azo_err_wire(int rc);

// Returns the AZO_E* code whose wire name is code (length len), or
// AZO_EINTERNAL when the name is unknown.
int azo_err_from_wire(const char *code, unsigned len);

// Returns a short human description of rc, including strerror text for
// -errno values. Static storage; safe from any thread.
const char *azo_err_str(int rc);

// Writes a one-line message into err (truncated to errlen; nothing when err
// is NULL or errlen 0) and returns rc: `return azo_err_set(err, errlen,
// AZO_EBADREQ, "...", ...)`. The va_list form is for callers that wrap it.
int azo_err_set(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int azo_err_vset(char *err, size_t errlen, int rc, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

#endif
