// sched_cron — cron parsing and next-fire computation (see sched_cron.h for
// the contract and the DST rules). No global state: each call opens what it
// needs from ICU and closes it before returning, so any thread may call.
//
// The search works on "wall milliseconds": a local date and time encoded as
// if it were UTC (days since 1970-01-01 times 86400000 plus the time of day).
// The field-wise search runs on that scale with plain calendar arithmetic;
// ICU only converts the instant `after` to wall time and the found wall time
// back to an instant. Conversion back uses ICU's UCAL_WALLTIME_NEXT_VALID for
// skipped times and UCAL_WALLTIME_FIRST for repeated ones, which is the map
// f(W) = first instant whose wall time is >= W. f never decreases as W grows,
// so the next fire time is f of the first matching W above the highest wall
// time reached up to `after` (higher than the current wall time only while
// `after` is in the second pass of a fall-back overlap).
#include "sched_cron.h"

#include "azo_config.h"
#include "azo_err.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <dlfcn.h>
#include <pthread.h>
#include <unicode/ucal.h>
#include <unicode/uvernum.h>

#define S_MIN_MS  60000LL
#define S_HOUR_MS 3600000LL
#define S_DAY_MS  86400000LL

// The Gregorian calendar repeats every 400 years (146097 days, a whole number
// of weeks): a schedule that has not fired in 401 years never will.
#define S_HORIZON_YEARS 401

// Longest text quoted in a message before it is cut with "...".
#define S_QUOTE_EXPR  64
#define S_QUOTE_TOKEN 32

// ICU, loaded on first use of a named zone (dlopen): UTC schedules never
// need it, and linking it into azod cost every exec of the binary (each
// process actor) about 3 ms of relocations. The fields keep ICU's own
// names, renamed with its version suffix by its headers ("ucal_open_72"),
// so that S_STR(name) is the symbol to look up.
#define S_STR_(x) #x
#define S_STR(x)  S_STR_(x)
#define S_ICU_LIB "libicui18n.so." S_STR(U_ICU_VERSION_MAJOR_NUM)
static struct {
    __typeof__(&ucal_open) ucal_open;
    __typeof__(&ucal_close) ucal_close;
    __typeof__(&ucal_get) ucal_get;
    __typeof__(&ucal_clear) ucal_clear;
    __typeof__(&ucal_setMillis) ucal_setMillis;
    __typeof__(&ucal_getMillis) ucal_getMillis;
    __typeof__(&ucal_setDateTime) ucal_setDateTime;
    __typeof__(&ucal_setAttribute) ucal_setAttribute;
    __typeof__(&ucal_getCanonicalTimeZoneID) ucal_getCanonicalTimeZoneID;
    __typeof__(&ucal_getTimeZoneTransitionDate) ucal_getTimeZoneTransitionDate;
} s_icu;
static bool s_icu_ok;
static pthread_once_t s_icu_once = PTHREAD_ONCE_INIT;

#define S_ICU_SYM(h, f)                                                        \
    (ok = ok && (*(void **)&s_icu.f = dlsym(h, S_STR(f))) != NULL)

static void
s_icu_load(void)
{
    void *h = dlopen(S_ICU_LIB, RTLD_NOW | RTLD_LOCAL);
    bool ok = h != NULL;
    S_ICU_SYM(h, ucal_open);
    S_ICU_SYM(h, ucal_close);
    S_ICU_SYM(h, ucal_get);
    S_ICU_SYM(h, ucal_clear);
    S_ICU_SYM(h, ucal_setMillis);
    S_ICU_SYM(h, ucal_getMillis);
    S_ICU_SYM(h, ucal_setDateTime);
    S_ICU_SYM(h, ucal_setAttribute);
    S_ICU_SYM(h, ucal_getCanonicalTimeZoneID);
    S_ICU_SYM(h, ucal_getTimeZoneTransitionDate);
    s_icu_ok = ok; // h stays open for the process's life
}

// True when ICU is loaded (loading it on first call). Any thread.
static bool
s_icu_ready(void)
{
    (void)pthread_once(&s_icu_once, s_icu_load);
    return s_icu_ok;
}

typedef struct {
    const char *name;         // in messages
    int low, high;            // values accepted
    int size;                 // largest step
    const char *const *names; // three-letter names, or NULL
    int nnames;               // how many
    int names_base;           // value of names[0]
    const char *hint;         // after "is not a number or name"
} s_field_t;

static const char *const s_month_names[] = {"JAN", "FEB", "MAR", "APR",
                                            "MAY", "JUN", "JUL", "AUG",
                                            "SEP", "OCT", "NOV", "DEC"};
static const char *const s_day_names[] = {"SUN", "MON", "TUE", "WED",
                                          "THU", "FRI", "SAT"};
static const char *const s_month_full[] = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};

enum { S_MINUTE, S_HOUR, S_MDAY, S_MONTH, S_WDAY, S_NFIELDS };

static const s_field_t s_fields[S_NFIELDS] = {
    {"minute", 0, 59, 60, NULL, 0, 0, ""},
    {"hour", 0, 23, 24, NULL, 0, 0, ""},
    {"day-of-month", 1, 31, 31, NULL, 0, 0, ""},
    {"month", 1, 12, 12, s_month_names, 12, 1, " (JAN-DEC)"},
    {"day-of-week", 0, 7, 7, s_day_names, 7, 0, " (SUN-SAT)"},
};

static const struct {
    const char *name;
    const char *expr; // what it stands for
} s_shortcuts[] = {
    {"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

// Message context of one parse: where the message goes and the expression
// as it is quoted in it.
typedef struct {
    char *err; // borrowed, may be NULL
    size_t errlen;
    char expr[S_QUOTE_EXPR + 4]; // printable, cut with "..."
} s_ctx_t;

// Copies s (n bytes) into buf for quoting in a message: printable ASCII only
// (anything else becomes '?', so hostile input cannot inject control bytes
// into logs), at most max characters, then "..." when cut.
static void
s_quote(char *buf, size_t len, const char *s, size_t n, size_t max)
{
    assert(buf && len > max + 3);
    size_t i = 0;
    for (; i < n && i < max; i++) {
        unsigned char ch = (unsigned char)s[i];
        buf[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    if (i < n)
        memcpy(buf + i, "...", 3), i += 3;
    buf[i] = '\0';
}

// Writes "cron '<expr>': [<field>: ]<message>" and returns AZO_EBADREQ.
static int __attribute__((format(printf, 3, 4)))
s_fail(s_ctx_t *ctx, const s_field_t *f, const char *fmt, ...)
{
    if (!ctx->err || ctx->errlen == 0)
        return AZO_EBADREQ;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(ctx->err, ctx->errlen, "cron '%s': %s%s%s", ctx->expr,
             f ? f->name : "", f ? ": " : "", msg);
    return AZO_EBADREQ;
}

static bool
s_is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

// Reads a digit run [s, e) as a number, saturating at 1000000 (every field
// rejects that much).
static int
s_number(const char *s, const char *e)
{
    int v = 0;
    for (; s < e; s++) {
        if (v < 1000000)
            v = v * 10 + (*s - '0');
    }
    return v;
}

// Reads one value (a number, or a name where the field has names) at *p,
// before end. Returns 0 and advances *p; 1 when no letter or digit is at *p
// (the caller words that message); AZO_EBADREQ with the message written.
static int
s_value(s_ctx_t *ctx, const s_field_t *f, const char **p, const char *end,
        int *v)
{
    const char *s = *p, *q = s;
    bool digits = true;
    while (q < end && isalnum((unsigned char)*q)) {
        digits = digits && isdigit((unsigned char)*q);
        q++;
    }
    char tok[S_QUOTE_TOKEN + 4];
    s_quote(tok, sizeof tok, s, (size_t)(q - s), S_QUOTE_TOKEN);
    if (q == s)
        return 1;
    if (digits) {
        *v = s_number(s, q);
        if (*v < f->low || *v > f->high)
            return s_fail(ctx, f, "%s is out of range %d-%d", tok, f->low,
                          f->high);
        *p = q;
        return 0;
    }
    if (f->names && q - s == 3) {
        for (int i = 0; i < f->nnames; i++) {
            if (strncasecmp(s, f->names[i], 3) == 0) {
                *v = f->names_base + i;
                *p = q;
                return 0;
            }
        }
    }
    return s_fail(ctx, f, "'%s' is not a number or name%s", tok, f->hint);
}

// Parses one list element [s, e) of field f into *bits.
static int
s_element(s_ctx_t *ctx, const s_field_t *f, const char *s, const char *e,
          uint64_t *bits)
{
    char el[S_QUOTE_TOKEN + 4];
    s_quote(el, sizeof el, s, (size_t)(e - s), S_QUOTE_TOKEN);
    const char *p = s;
    int lo, hi, step = 1, rc;
    bool single = false;
    if (*p == '*') {
        lo = f->low, hi = f->high;
        p++;
    } else {
        rc = s_value(ctx, f, &p, e, &lo);
        if (rc == 1)
            return s_fail(ctx, f, "'%s' is not a number or name%s", el,
                          f->hint);
        if (rc != 0)
            return rc;
        hi = lo, single = true;
        if (p < e && *p == '-') {
            p++;
            rc = s_value(ctx, f, &p, e, &hi);
            if (rc == 1)
                return s_fail(ctx, f, "range '%s' has no end", el);
            if (rc != 0)
                return rc;
            if (hi < lo)
                return s_fail(ctx, f, "range '%s' runs backwards", el);
            single = false;
        }
    }
    if (p < e && *p == '/') {
        const char *d = ++p;
        while (p < e && isdigit((unsigned char)*p))
            p++;
        char tok[S_QUOTE_TOKEN + 4];
        s_quote(tok, sizeof tok, d, (size_t)(e - d), S_QUOTE_TOKEN);
        if (p == d || p != e)
            return s_fail(ctx, f, "step '%s' is not a number", tok);
        step = s_number(d, p);
        if (step < 1 || step > f->size)
            return s_fail(ctx, f, "step %s is out of range 1-%d", tok, f->size);
        if (single)
            hi = f->high; // "N/S": N through the maximum
    }
    if (p != e)
        return s_fail(ctx, f, "'%s' is not a number or name%s", el, f->hint);
    for (int v = lo; v <= hi; v += step)
        *bits |= 1ULL << v;
    return 0;
}

// Parses field f from [s, e) (non-empty, no blanks) into *bits.
static int
s_field(s_ctx_t *ctx, const s_field_t *f, const char *s, const char *e,
        uint64_t *bits)
{
    *bits = 0;
    for (;;) {
        const char *c = memchr(s, ',', (size_t)(e - s));
        const char *ee = c ? c : e;
        if (ee == s)
            return s_fail(ctx, f, "empty item in a list");
        int rc = s_element(ctx, f, s, ee, bits);
        if (rc != 0)
            return rc;
        if (!c)
            return 0;
        s = c + 1;
        if (s == e)
            return s_fail(ctx, f, "empty item in a list");
    }
}

static bool
s_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
s_days_in_month(int64_t y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && s_leap(y) ? 29 : days[m - 1];
}

// Rejects what can never fire. Every date recurs on every weekday within
// 400 years, so only the dates themselves matter, and only when both day
// fields must match (with the OR rule every weekday of every month counts).
static int
s_check_fires(s_ctx_t *ctx, const sched_cron_t *c)
{
    if (!(c->flags & (SCHED_CRON_F_DOM_STAR | SCHED_CRON_F_DOW_STAR)))
        return 0;
    for (int m = 1; m <= 12; m++) {
        if (!(c->months >> m & 1))
            continue;
        int dim = m == 2 ? 29 : s_days_in_month(2001, m);
        if (c->mdays & (((1U << dim) - 1) << 1))
            return 0;
    }
    // Only days 30 and 31 can be missing from every month.
    char days[32], months[160];
    bool d30 = c->mdays >> 30 & 1, d31 = c->mdays >> 31 & 1;
    snprintf(days, sizeof days, "%s",
             d30 && d31 ? "days 30 and 31"
             : d30      ? "day 30"
                        : "day 31");
    size_t used = 0, n = 0, total = 0;
    for (int m = 1; m <= 12; m++)
        total += c->months >> m & 1;
    months[0] = '\0';
    for (int m = 1; m <= 12; m++) {
        if (!(c->months >> m & 1))
            continue;
        n++;
        const char *sep = n == 1 ? "" : n == total ? " or " : ", ";
        int w = snprintf(months + used, sizeof months - used, "%s%s", sep,
                         s_month_full[m - 1]);
        if (w > 0 && (size_t)w < sizeof months - used)
            used += (size_t)w;
    }
    return s_fail(ctx, NULL, "never fires: %s never occur%s in %s", days,
                  d30 && d31 ? "" : "s", months);
}

// Parses the five fields of text (NUL-terminated) into *out.
static int
s_parse_fields(s_ctx_t *ctx, sched_cron_t *out, const char *text)
{
    const char *start[S_NFIELDS], *end[S_NFIELDS];
    int n = 0;
    for (const char *p = text; *p;) {
        while (s_is_blank(*p))
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && !s_is_blank(*p))
            p++;
        if (n < S_NFIELDS)
            start[n] = s, end[n] = p;
        n++;
    }
    if (n != S_NFIELDS)
        return s_fail(ctx, NULL, "expected 5 fields, got %d", n);
    uint64_t bits[S_NFIELDS];
    for (int i = 0; i < S_NFIELDS; i++) {
        int rc = s_field(ctx, &s_fields[i], start[i], end[i], &bits[i]);
        if (rc != 0)
            return rc;
    }
    out->minutes = bits[S_MINUTE];
    out->hours = (uint32_t)bits[S_HOUR];
    out->mdays = (uint32_t)bits[S_MDAY];
    out->months = (uint16_t)bits[S_MONTH];
    // Weekday 7 is Sunday.
    out->wdays = (uint8_t)((bits[S_WDAY] | bits[S_WDAY] >> 7) & 0x7f);
    // As cronie: a field that starts with '*' ("*" or "*/S") makes both day
    // fields required; otherwise either may match.
    if (*start[S_MDAY] == '*')
        out->flags |= SCHED_CRON_F_DOM_STAR;
    if (*start[S_WDAY] == '*')
        out->flags |= SCHED_CRON_F_DOW_STAR;
    return s_check_fires(ctx, out);
}

// Copies an ASCII zone name into a UChar buffer of SCHED_CRON_ZONE_MAX.
static void
s_uzone(UChar *dst, const char *zone)
{
    size_t i = 0;
    for (; zone[i] && i < SCHED_CRON_ZONE_MAX - 1; i++)
        dst[i] = (UChar)(unsigned char)zone[i];
    dst[i] = 0;
}

// Checks zone and records it in *out.
static int
s_parse_zone(sched_cron_t *out, const char *zone, char *err, size_t errlen)
{
    if (!zone)
        zone = "UTC";
    size_t n = strnlen(zone, SCHED_CRON_ZONE_MAX);
    char q[S_QUOTE_EXPR + 4];
    s_quote(q, sizeof q, zone, strnlen(zone, S_QUOTE_EXPR + 1), S_QUOTE_EXPR);
    if (n == 0)
        return azo_err_set(err, errlen, AZO_EBADREQ, "time zone '': empty");
    if (n >= SCHED_CRON_ZONE_MAX)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "time zone '%s': longer than %d characters", q,
                           SCHED_CRON_ZONE_MAX - 1);
    // IANA names are ASCII letters, digits and "/_-+"; checking that first
    // keeps anything else away from ICU.
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)zone[i];
        if (!isalnum(ch) && !strchr("/_-+", ch))
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "time zone '%s': unknown", q);
    }
    memcpy(out->zone, zone, n + 1);
    if (strcmp(zone, "UTC") == 0) {
        out->flags |= SCHED_CRON_F_UTC;
        return 0;
    }
    // ICU opens unknown ids as GMT without complaint; the canonical id lookup
    // fails for them, and isSystemID is false for custom ids ("GMT+5") and
    // "Etc/Unknown".
    if (!s_icu_ready())
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "time zone '%s': time zones need ICU (" S_ICU_LIB
                           ", Debian package libicu72), which cannot be "
                           "loaded",
                           q);
    UChar id[SCHED_CRON_ZONE_MAX], canon[SCHED_CRON_ZONE_MAX];
    s_uzone(id, zone);
    UErrorCode st = U_ZERO_ERROR;
    UBool system = 0;
    int32_t len = s_icu.ucal_getCanonicalTimeZoneID(
        id, -1, canon, SCHED_CRON_ZONE_MAX, &system, &st);
    if (U_FAILURE(st) || !system || len <= 0 || len >= SCHED_CRON_ZONE_MAX)
        return azo_err_set(err, errlen, AZO_EBADREQ, "time zone '%s': unknown",
                           q);
    char ascii[SCHED_CRON_ZONE_MAX];
    for (int32_t i = 0; i <= len; i++)
        ascii[i] = canon[i] < 0x80 ? (char)canon[i] : '?';
    ascii[len] = '\0';
    if (strcmp(ascii, "Etc/UTC") == 0 || strcmp(ascii, "Etc/GMT") == 0)
        out->flags |= SCHED_CRON_F_UTC;
    return 0;
}

int
sched_cron_parse(sched_cron_t *out, const char *expr, const char *zone,
                 char *err, size_t errlen)
{
    assert(out);
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';
    s_ctx_t ctx = {.err = err, .errlen = errlen};
    if (!expr)
        expr = "";
    s_quote(ctx.expr, sizeof ctx.expr, expr, strnlen(expr, S_QUOTE_EXPR + 1),
            S_QUOTE_EXPR);
    const char *p = expr;
    while (s_is_blank(*p))
        p++;
    int rc;
    if (*p == '@') {
        size_t n = strcspn(p, " \t");
        const char *rest = p + n;
        while (s_is_blank(*rest))
            rest++;
        const char *full = NULL;
        for (size_t i = 0; i < sizeof s_shortcuts / sizeof s_shortcuts[0];
             i++) {
            if (strlen(s_shortcuts[i].name) == n &&
                strncasecmp(p, s_shortcuts[i].name, n) == 0)
                full = s_shortcuts[i].expr;
        }
        if (n == 7 && strncasecmp(p, "@reboot", n) == 0)
            return s_fail(&ctx, NULL,
                          "@reboot is not supported (it has no time to fire "
                          "at)");
        if (!full)
            return s_fail(&ctx, NULL,
                          "unknown shortcut (use @yearly, @annually, "
                          "@monthly, @weekly, @daily, @midnight or @hourly)");
        if (*rest)
            return s_fail(&ctx, NULL,
                          "a shortcut stands alone (expected 1 field)");
        rc = s_parse_fields(&ctx, out, full);
    } else {
        rc = s_parse_fields(&ctx, out, expr);
    }
    if (rc != 0)
        return rc;
    return s_parse_zone(out, zone, err, errlen);
}

// Schedule arithmetic on wall milliseconds. Civil-date conversions are
// Howard Hinnant's (proleptic Gregorian, exact for any int64 day count used
// here).

static int64_t
s_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return q * b > a ? q - 1 : q;
}

static int64_t
s_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
s_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

// Weekday of a day count, 0 = Sunday (1970-01-01 was a Thursday).
static int
s_weekday(int64_t z)
{
    return (int)(z >= -4 ? (z + 4) % 7 : (z + 5) % 7 + 6);
}

// Lowest set bit of mask at or above from and at or below max, or -1.
static int
s_next_bit(uint64_t mask, int from, int max)
{
    if (from > max)
        return -1;
    uint64_t m = mask >> from << from;
    if (max < 63)
        m &= (2ULL << max) - 1;
    return m ? __builtin_ctzll(m) : -1;
}

static bool
s_day_matches(const sched_cron_t *c, int mday, int wday)
{
    bool dom = c->mdays >> mday & 1, dow = c->wdays >> wday & 1;
    if (c->flags & (SCHED_CRON_F_DOM_STAR | SCHED_CRON_F_DOW_STAR))
        return dom && dow;
    return dom || dow;
}

// Sets *found to the first wall minute at or after start (a whole minute)
// that c matches. Field by field: a month that does not match skips to the
// next one that does, a day to the next day, and so on, so the cost is a few
// steps per candidate month and day, never one per minute. Returns 0 or
// AZO_ENOTFOUND past S_HORIZON_YEARS.
static int
s_next_wall(const sched_cron_t *c, int64_t start, int64_t *found)
{
    int64_t days = s_floor_div(start, S_DAY_MS);
    int64_t rem = start - days * S_DAY_MS;
    int hour = (int)(rem / S_HOUR_MS);
    int minute = (int)(rem % S_HOUR_MS / S_MIN_MS);
    int64_t year;
    int month, mday;
    s_civil_from_days(days, &year, &month, &mday);
    int64_t last_year = year + S_HORIZON_YEARS;

    while (year <= last_year) {
        if (!(c->months >> month & 1)) {
            int m = s_next_bit(c->months, month + 1, 12);
            if (m < 0) {
                year++;
                m = s_next_bit(c->months, 1, 12);
            }
            month = m, mday = 1, hour = 0, minute = 0;
            continue;
        }
        int dim = s_days_in_month(year, month);
        int64_t first = s_days_from_civil(year, month, 1);
        while (mday <= dim &&
               !s_day_matches(c, mday, s_weekday(first + mday - 1)))
            mday++, hour = 0, minute = 0;
        if (mday > dim) {
            if (++month > 12)
                month = 1, year++;
            mday = 1, hour = 0, minute = 0;
            continue;
        }
        int h = s_next_bit(c->hours, hour, 23);
        if (h < 0) {
            mday++, hour = 0, minute = 0;
            continue;
        }
        if (h != hour)
            hour = h, minute = 0;
        int mi = s_next_bit(c->minutes, minute, 59);
        if (mi < 0) {
            hour++, minute = 0;
            continue;
        }
        *found =
            (first + mday - 1) * S_DAY_MS + hour * S_HOUR_MS + mi * S_MIN_MS;
        return 0;
    }
    return AZO_ENOTFOUND;
}

// Sets *off to the zone's total UTC offset (ms) at instant t.
static int
s_offset(UCalendar *cal, int64_t t, int64_t *off)
{
    UErrorCode st = U_ZERO_ERROR;
    s_icu.ucal_setMillis(cal, (UDate)t, &st);
    int32_t zone = s_icu.ucal_get(cal, UCAL_ZONE_OFFSET, &st);
    int32_t dst = s_icu.ucal_get(cal, UCAL_DST_OFFSET, &st);
    if (U_FAILURE(st))
        return AZO_EINTERNAL;
    *off = (int64_t)zone + dst;
    return 0;
}

// Sets *t to f(wall): the instant wall occurs, its first occurrence when it
// is repeated, the end of the gap when it is skipped (the calendar's
// attributes say so).
static int
s_wall_to_utc(UCalendar *cal, int64_t wall, int64_t *t)
{
    int64_t days = s_floor_div(wall, S_DAY_MS), year;
    int64_t rem = wall - days * S_DAY_MS;
    int month, mday;
    s_civil_from_days(days, &year, &month, &mday);
    UErrorCode st = U_ZERO_ERROR;
    s_icu.ucal_clear(cal);
    s_icu.ucal_setDateTime(cal, (int32_t)year, month - 1, mday,
                           (int32_t)(rem / S_HOUR_MS),
                           (int32_t)(rem % S_HOUR_MS / S_MIN_MS), 0, &st);
    UDate ms = s_icu.ucal_getMillis(cal, &st);
    if (U_FAILURE(st))
        return AZO_EINTERNAL;
    *t = (int64_t)ms;
    return 0;
}

// Sets *wall to the highest wall time reached up to instant after: the wall
// time just before the last transition, if that is higher than now (after is
// in the second pass of a fall-back overlap), else the current one.
static int
s_max_wall(UCalendar *cal, int64_t after, int64_t off_after, int64_t *wall)
{
    *wall = after + off_after;
    UErrorCode st = U_ZERO_ERROR;
    s_icu.ucal_setMillis(cal, (UDate)after, &st);
    UDate tr = 0;
    UBool has = s_icu.ucal_getTimeZoneTransitionDate(
        cal, UCAL_TZ_TRANSITION_PREVIOUS_INCLUSIVE, &tr, &st);
    if (U_FAILURE(st))
        return AZO_EINTERNAL;
    if (!has)
        return 0;
    int64_t t = (int64_t)tr, off_before;
    int rc = s_offset(cal, t - 1, &off_before);
    if (rc != 0)
        return rc;
    if (t - 1 + off_before > *wall)
        *wall = t - 1 + off_before;
    return 0;
}

static int
s_next_zoned(const sched_cron_t *c, int64_t after, int64_t *next)
{
    if (!s_icu_ready())
        return AZO_EINTERNAL;
    UChar id[SCHED_CRON_ZONE_MAX];
    s_uzone(id, c->zone);
    UErrorCode st = U_ZERO_ERROR;
    UCalendar *cal =
        s_icu.ucal_open(id, -1, "en_US_POSIX", UCAL_GREGORIAN, &st);
    if (U_FAILURE(st)) {
        if (cal)
            s_icu.ucal_close(cal);
        return AZO_EINTERNAL;
    }
    s_icu.ucal_setAttribute(cal, UCAL_SKIPPED_WALL_TIME,
                            UCAL_WALLTIME_NEXT_VALID);
    s_icu.ucal_setAttribute(cal, UCAL_REPEATED_WALL_TIME, UCAL_WALLTIME_FIRST);

    int64_t off;
    int rc = s_offset(cal, after, &off);
    if (rc != 0)
        goto done;
    int64_t start = s_floor_div(after + off, S_MIN_MS) * S_MIN_MS + S_MIN_MS;
    // One pass in the usual case; a second after the jump past an overlap.
    // Later passes only guard against zone data stranger than one transition
    // at a time, and the bound keeps even that from looping.
    for (int pass = 0; pass < 64; pass++) {
        int64_t wall, t;
        rc = s_next_wall(c, start, &wall);
        if (rc != 0)
            goto done;
        rc = s_wall_to_utc(cal, wall, &t);
        if (rc != 0)
            goto done;
        if (t > after) {
            *next = t;
            goto done;
        }
        // wall already occurred (and fired) before after.
        int64_t reached = wall;
        if (pass == 0) {
            rc = s_max_wall(cal, after, off, &reached);
            if (rc != 0)
                goto done;
        }
        if (reached < wall)
            reached = wall;
        start = s_floor_div(reached, S_MIN_MS) * S_MIN_MS + S_MIN_MS;
    }
    rc = AZO_EINTERNAL;
done:
    s_icu.ucal_close(cal);
    return rc;
}

int
sched_cron_next(const sched_cron_t *c, int64_t after_ms, int64_t *next_ms)
{
    assert(c && next_ms);
    assert(c->minutes && c->hours && c->mdays && c->months && c->wdays);
    if (after_ms < 0 || after_ms > SCHED_CRON_MAX_MS)
        return AZO_EBADREQ;
    if (c->flags & SCHED_CRON_F_UTC) {
        int64_t start = s_floor_div(after_ms, S_MIN_MS) * S_MIN_MS + S_MIN_MS;
        return s_next_wall(c, start, next_ms);
    }
    return s_next_zoned(c, after_ms, next_ms);
}

int
sched_cron_parse_every(const char *text, int64_t *ms, char *err, size_t errlen)
{
    assert(ms);
    if (!text)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "every: no duration given");
    char q[S_QUOTE_EXPR + 4];
    s_quote(q, sizeof q, text, strnlen(text, S_QUOTE_EXPR + 1), S_QUOTE_EXPR);
    int64_t v;
    if (azo_config_parse_duration(text, &v) != 0)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "every '%s': expected a duration with a unit "
                           "(250ms, 5s, 10m, 6h, 7d)",
                           q);
    if (v < SCHED_CRON_EVERY_MIN_MS)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "every '%s': below the minimum 1s", q);
    if (v > SCHED_CRON_EVERY_MAX_MS)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "every '%s': above the maximum 366d", q);
    *ms = v;
    return 0;
}
