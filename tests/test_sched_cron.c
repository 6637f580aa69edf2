// test_sched_cron — unit tests for sched_cron: a table of known fire times
// (UTC and named zones across DST changes), chains of consecutive fires, the
// parse-error table with exact messages, random expressions checked against
// brute-force references, garbage input, and "every" intervals. Pure
// functions: no fixture. The references are independent of the module: they
// build their own value sets from the generated text, use glibc's
// timegm/gmtime_r for calendar arithmetic and ICU only for zone offsets.
#include "sched_cron.h"
#include "azo_err.h"
#include "azo_testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>
#include <unicode/ucal.h>
#include <unicode/ustring.h>

#define S_MIN  60000LL
#define S_HOUR 3600000LL
#define S_DAY  86400000LL

static int64_t
s_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return q * b > a ? q - 1 : q;
}

// Parses "YYYY-MM-DDTHH:MM:SS[.mmm](Z|+HH:MM|-HH:MM)" into Unix ms.
static int64_t
s_ms(const char *iso)
{
    struct tm tm = {0};
    int pos = 0;
    if (sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &pos) != 6)
        fail_msg("bad time in the test table: %s", iso);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t ms = (int64_t)timegm(&tm) * 1000;
    const char *p = iso + pos;
    if (*p == '.') {
        int frac = 0, n = 0;
        if (sscanf(p, ".%3d%n", &frac, &n) != 1 || n != 4)
            fail_msg("bad milliseconds in the test table: %s", iso);
        ms += frac;
        p += n;
    }
    if (strcmp(p, "Z") == 0)
        return ms;
    int oh = 0, om = 0;
    if ((*p != '+' && *p != '-') || sscanf(p + 1, "%2d:%2d", &oh, &om) != 2 ||
        strlen(p) != 6)
        fail_msg("bad offset in the test table: %s", iso);
    int64_t off = (oh * 60 + om) * S_MIN;
    return *p == '+' ? ms - off : ms + off;
}

// Formats Unix ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" for failure messages.
static const char *
s_fmt(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)s_floor_div(ms, 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ms - s_floor_div(ms, 1000) * 1000));
    return buf;
}

static void
s_expect_next(const char *zone, const char *expr, int64_t after, int64_t want)
{
    sched_cron_t c;
    char err[256];
    int rc = sched_cron_parse(&c, expr, zone, err, sizeof err);
    if (rc != 0)
        fail_msg("'%s' in %s: %s", expr, zone ? zone : "UTC", err);
    int64_t got = -1;
    rc = sched_cron_next(&c, after, &got);
    if (rc != 0 || got != want) {
        char a[80], w[80], g[80];
        fail_msg("'%s' in %s after %s: want %s, got %s (rc %d)", expr,
                 zone ? zone : "UTC", s_fmt(after, a, sizeof a),
                 s_fmt(want, w, sizeof w), s_fmt(got, g, sizeof g), rc);
    }
}

typedef struct {
    const char *zone; // NULL: the default, UTC
    const char *expr;
    const char *after;
    const char *next;
} s_case_t;

// Known fire times. Zoned times carry their local offset, so each line reads
// as local wall time.
static const s_case_t s_cases[] = {
    // Every minute: strictly after, at second 0.
    {NULL, "* * * * *", "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"},
    {NULL, "* * * * *", "2026-01-01T00:00:59.999Z", "2026-01-01T00:01:00Z"},
    {NULL, "* * * * *", "2026-01-01T00:00:00.001Z", "2026-01-01T00:01:00Z"},
    {NULL, "* * * * *", "2026-12-31T23:59:00Z", "2027-01-01T00:00:00Z"},
    {NULL, "* * * * *", "1970-01-01T00:00:00Z", "1970-01-01T00:01:00Z"},
    // Steps, ranges, lists.
    {NULL, "*/15 * * * *", "2026-01-01T10:07:00Z", "2026-01-01T10:15:00Z"},
    {NULL, "*/15 * * * *", "2026-01-01T10:15:00Z", "2026-01-01T10:30:00Z"},
    {NULL, "*/15 * * * *", "2026-01-01T10:45:00Z", "2026-01-01T11:00:00Z"},
    {NULL, "*/15 * * * *", "2026-01-31T23:50:00Z", "2026-02-01T00:00:00Z"},
    {NULL, "5/20 * * * *", "2026-01-01T10:25:00Z", "2026-01-01T10:45:00Z"},
    {NULL, "5/20 * * * *", "2026-01-01T10:45:00Z", "2026-01-01T11:05:00Z"},
    {NULL, "10-20/5 3 * * *", "2026-01-01T03:15:00Z", "2026-01-01T03:20:00Z"},
    {NULL, "10-20/5 3 * * *", "2026-01-01T03:20:00Z", "2026-01-02T03:10:00Z"},
    {NULL, "5,10,40 1,13 * * *", "2026-01-01T01:40:00Z",
     "2026-01-01T13:05:00Z"},
    {NULL, "5,10,40 1,13 * * *", "2026-01-01T13:40:00Z",
     "2026-01-02T01:05:00Z"},
    {NULL, "0 9-17/2 * * 1-5", "2026-01-02T17:30:00Z", "2026-01-05T09:00:00Z"},
    {NULL, "0 9-17/2 * * 1-5", "2026-01-05T09:00:00Z", "2026-01-05T11:00:00Z"},
    {NULL, "0 9-17/2 * * 1-5", "2026-01-05T15:00:00Z", "2026-01-05T17:00:00Z"},
    {NULL, "0 0 1 */3 *", "2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z"},
    {NULL, "0 0 1 */3 *", "2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z"},
    {NULL, "0\t0  1 * *", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"},
    // Names, any case; weekday 7 is Sunday (2026-01-04 is a Sunday).
    {NULL, "0 0 1 jan,Jul *", "2026-01-01T00:00:00Z", "2026-07-01T00:00:00Z"},
    {NULL, "0 0 1 FEB-APR/2 *", "2026-02-01T00:00:00Z", "2026-04-01T00:00:00Z"},
    {NULL, "0 0 1 FEB-APR/2 *", "2026-04-01T00:00:00Z", "2027-02-01T00:00:00Z"},
    {NULL, "0 12 * * MON-FRI", "2026-01-02T12:00:00Z", "2026-01-05T12:00:00Z"},
    {NULL, "30 8 * * sun", "2026-01-01T00:00:00Z", "2026-01-04T08:30:00Z"},
    {NULL, "0 0 * * 7", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},
    {NULL, "0 0 * * 0", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},
    {NULL, "0 0 * * 5-7", "2026-01-04T00:00:00Z", "2026-01-09T00:00:00Z"},
    {NULL, "0 0 * * 5-7", "2026-01-10T00:00:00Z", "2026-01-11T00:00:00Z"},
    {NULL, "0 0 * * 1/2", "2026-01-09T00:00:00Z", "2026-01-11T00:00:00Z"},
    // Month ends: the 31st skips short months, the 30th skips February.
    {NULL, "0 0 31 * *", "2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z"},
    {NULL, "0 0 31 * *", "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z"},
    {NULL, "0 0 31 * *", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z"},
    {NULL, "0 0 31 * *", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z"},
    {NULL, "0 0 31 * *", "2026-08-31T00:00:00Z", "2026-10-31T00:00:00Z"},
    {NULL, "0 0 31 * *", "2026-10-31T00:00:00Z", "2026-12-31T00:00:00Z"},
    {NULL, "0 0 31 * *", "2026-12-31T00:00:00Z", "2027-01-31T00:00:00Z"},
    {NULL, "0 0 30 * *", "2026-01-30T00:00:00Z", "2026-03-30T00:00:00Z"},
    {NULL, "0 0 31 4,6,9,11,12 *", "2026-01-01T00:00:00Z",
     "2026-12-31T00:00:00Z"},
    {NULL, "59 23 31 12 *", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"},
    {NULL, "0 0 28 2 *", "2026-02-28T00:00:00Z", "2027-02-28T00:00:00Z"},
    {NULL, "0 0 28-31 2 *", "2028-02-28T00:00:00Z", "2028-02-29T00:00:00Z"},
    {NULL, "0 0 28-31 2 *", "2027-02-28T00:00:00Z", "2028-02-28T00:00:00Z"},
    // Leap day: 2100 is not a leap year.
    {NULL, "0 0 29 2 *", "2025-01-01T00:00:00Z", "2028-02-29T00:00:00Z"},
    {NULL, "0 0 29 2 *", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"},
    {NULL, "0 0 29 2 *", "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z"},
    {NULL, "0 0 29 2 *", "2399-03-01T00:00:00Z", "2400-02-29T00:00:00Z"},
    // Both day fields restricted: either matches (2026-01-02 is a Friday,
    // 2026-01-13 a Tuesday, 2026-02-13 a Friday).
    {NULL, "0 0 13 * FRI", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
    {NULL, "0 0 13 * FRI", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z"},
    {NULL, "0 0 13 * FRI", "2026-01-13T00:00:00Z", "2026-01-16T00:00:00Z"},
    {NULL, "0 0 13 * FRI", "2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z"},
    {NULL, "0 0 1,15 * 1-5", "2026-01-03T00:00:00Z", "2026-01-05T00:00:00Z"},
    {NULL, "0 0 29 2 SUN", "2026-02-23T00:00:00Z", "2027-02-07T00:00:00Z"},
    // A day field that starts with '*' makes both required: odd Mondays,
    // the 1st on a Sun/Tue/Thu/Sat, Feb 1 on a Monday (2027, then 2038),
    // Feb 29 on a Sunday (2088, then 2128: 40 years).
    {NULL, "0 0 */2 * MON", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z"},
    {NULL, "0 0 */2 * MON", "2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z"},
    {NULL, "0 0 1 * */2", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"},
    {NULL, "0 0 */31 2 MON", "2027-02-02T00:00:00Z", "2038-02-01T00:00:00Z"},
    {NULL, "0 0 29 2 */7", "2088-03-01T00:00:00Z", "2128-02-29T00:00:00Z"},
    // Shortcuts (2026-01-07 is a Wednesday).
    {NULL, "@yearly", "2026-05-05T12:00:00Z", "2027-01-01T00:00:00Z"},
    {NULL, "@annually", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z"},
    {NULL, "@monthly", "2026-05-05T12:00:00Z", "2026-06-01T00:00:00Z"},
    {NULL, "@weekly", "2026-01-07T12:00:00Z", "2026-01-11T00:00:00Z"},
    {NULL, "@daily", "2026-01-07T12:00:00Z", "2026-01-08T00:00:00Z"},
    {NULL, "@midnight", "2026-01-08T00:00:00Z", "2026-01-09T00:00:00Z"},
    {NULL, "@hourly", "2026-01-07T10:00:00Z", "2026-01-07T11:00:00Z"},
    {NULL, " @HOURLY ", "2026-01-07T10:59:59Z", "2026-01-07T11:00:00Z"},
    {"UTC", "0 0 * * *", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
    {"Etc/UTC", "0 0 * * *", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
    // Named zones without a change nearby.
    {"Europe/Berlin", "0 0 * * *", "2026-01-01T00:00:00Z",
     "2026-01-02T00:00:00+01:00"},
    {"Europe/Berlin", "0 0 * * *", "2026-07-01T00:00:00Z",
     "2026-07-02T00:00:00+02:00"},
    {"Asia/Kolkata", "0 0 * * *", "2026-01-01T00:00:00Z",
     "2026-01-02T00:00:00+05:30"},
    {"America/New_York", "0 0 29 2 *", "2025-01-01T00:00:00Z",
     "2028-02-29T00:00:00-05:00"},
    {"Europe/Berlin", "0 0 31 * *", "2026-04-30T22:00:00Z",
     "2026-05-31T00:00:00+02:00"},
    // Europe/Berlin springs forward on 2026-03-29: 02:00 CET -> 03:00 CEST.
    // Skipped times fire once, at 03:00 CEST.
    {"Europe/Berlin", "30 2 * * *", "2026-03-28T02:30:00+01:00",
     "2026-03-29T03:00:00+02:00"},
    {"Europe/Berlin", "30 2 * * *", "2026-03-29T01:59:59+01:00",
     "2026-03-29T03:00:00+02:00"},
    {"Europe/Berlin", "30 2 * * *", "2026-03-29T03:00:00+02:00",
     "2026-03-30T02:30:00+02:00"},
    {"Europe/Berlin", "0 * * * *", "2026-03-29T01:00:00+01:00",
     "2026-03-29T03:00:00+02:00"},
    {"Europe/Berlin", "0 * * * *", "2026-03-29T03:00:00+02:00",
     "2026-03-29T04:00:00+02:00"},
    {"Europe/Berlin", "*/15 * * * *", "2026-03-29T01:50:00+01:00",
     "2026-03-29T03:00:00+02:00"},
    {"Europe/Berlin", "*/15 * * * *", "2026-03-29T03:00:00+02:00",
     "2026-03-29T03:15:00+02:00"},
    {"Europe/Berlin", "45 3 * * *", "2026-03-29T01:50:00+01:00",
     "2026-03-29T03:45:00+02:00"},
    // Europe/Berlin falls back on 2026-10-25: 03:00 CEST -> 02:00 CET, so
    // 02:00-02:59 occurs twice. A repeated time fires at its first
    // occurrence only.
    {"Europe/Berlin", "30 2 * * *", "2026-10-24T02:30:00+02:00",
     "2026-10-25T02:30:00+02:00"},
    {"Europe/Berlin", "30 2 * * *", "2026-10-25T02:30:00+02:00",
     "2026-10-26T02:30:00+01:00"},
    {"Europe/Berlin", "30 2 * * *", "2026-10-25T02:10:00+01:00",
     "2026-10-26T02:30:00+01:00"},
    {"Europe/Berlin", "45 2 * * *", "2026-10-25T02:50:00+02:00",
     "2026-10-26T02:45:00+01:00"},
    {"Europe/Berlin", "0 * * * *", "2026-10-25T01:30:00+02:00",
     "2026-10-25T02:00:00+02:00"},
    {"Europe/Berlin", "0 * * * *", "2026-10-25T02:00:00+02:00",
     "2026-10-25T03:00:00+01:00"},
    {"Europe/Berlin", "0 * * * *", "2026-10-25T02:59:59+02:00",
     "2026-10-25T03:00:00+01:00"},
    {"Europe/Berlin", "0 * * * *", "2026-10-25T02:00:00+01:00",
     "2026-10-25T03:00:00+01:00"},
    {"Europe/Berlin", "*/20 * * * *", "2026-10-25T02:40:00+02:00",
     "2026-10-25T03:00:00+01:00"},
    {"Europe/Berlin", "*/20 * * * *", "2026-10-25T02:20:00+01:00",
     "2026-10-25T03:00:00+01:00"},
    {"Europe/Berlin", "*/20 * * * *", "2026-10-25T03:00:00+01:00",
     "2026-10-25T03:20:00+01:00"},
    // America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01
    // 02:00 EDT -> 01:00 EST (01:00-01:59 twice). US/Eastern is an alias.
    {"America/New_York", "30 2 * * *", "2026-03-07T02:30:00-05:00",
     "2026-03-08T03:00:00-04:00"},
    {"America/New_York", "30 2 * * *", "2026-03-08T03:00:00-04:00",
     "2026-03-09T02:30:00-04:00"},
    {"US/Eastern", "30 2 * * *", "2026-03-07T02:30:00-05:00",
     "2026-03-08T03:00:00-04:00"},
    {"America/New_York", "0 * * * *", "2026-03-08T01:00:00-05:00",
     "2026-03-08T03:00:00-04:00"},
    {"America/New_York", "30 2 * * *", "2026-10-31T02:30:00-04:00",
     "2026-11-01T02:30:00-05:00"},
    {"America/New_York", "30 2 * * *", "2026-11-01T02:30:00-05:00",
     "2026-11-02T02:30:00-05:00"},
    {"America/New_York", "30 1 * * *", "2026-10-31T01:30:00-04:00",
     "2026-11-01T01:30:00-04:00"},
    {"America/New_York", "30 1 * * *", "2026-11-01T01:30:00-04:00",
     "2026-11-02T01:30:00-05:00"},
    {"America/New_York", "30 1 * * *", "2026-11-01T01:10:00-05:00",
     "2026-11-02T01:30:00-05:00"},
    {"America/New_York", "0 * * * *", "2026-11-01T00:30:00-04:00",
     "2026-11-01T01:00:00-04:00"},
    {"America/New_York", "0 * * * *", "2026-11-01T01:00:00-04:00",
     "2026-11-01T02:00:00-05:00"},
    {"America/New_York", "0 * * * *", "2026-11-01T01:00:00-05:00",
     "2026-11-01T02:00:00-05:00"},
    // Australia/Sydney falls back on 2026-04-05 (03:00 AEDT -> 02:00 AEST);
    // Australia/Lord_Howe moves by 30 minutes (2026-10-04 02:00 -> 02:30).
    {"Australia/Sydney", "30 2 * * *", "2026-04-04T02:30:00+11:00",
     "2026-04-05T02:30:00+11:00"},
    {"Australia/Sydney", "30 2 * * *", "2026-04-05T02:30:00+11:00",
     "2026-04-06T02:30:00+10:00"},
    {"Australia/Lord_Howe", "15 2 * * *", "2026-10-03T02:15:00+10:30",
     "2026-10-04T02:30:00+11:00"},
    {"Australia/Lord_Howe", "15 2 * * *", "2026-10-04T02:30:00+11:00",
     "2026-10-05T02:15:00+11:00"},
};

static void
test_sched_cron_known_times(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++)
        s_expect_next(s_cases[i].zone, s_cases[i].expr, s_ms(s_cases[i].after),
                      s_ms(s_cases[i].next));
}

typedef struct {
    const char *zone;
    const char *expr;
    const char *start;
    const char *fires[5]; // consecutive fire times, NULL-terminated
} s_chain_t;

// Consecutive fires from one start: nothing lost or doubled across changes.
static const s_chain_t s_chains[] = {
    {"Europe/Berlin",
     "30 2 * * *",
     "2026-03-27T12:00:00Z",
     {"2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00",
      "2026-03-30T02:30:00+02:00", NULL}},
    {"Europe/Berlin",
     "30 2 * * *",
     "2026-10-23T12:00:00Z",
     {"2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00",
      "2026-10-26T02:30:00+01:00", NULL}},
    {"Europe/Berlin",
     "0 * * * *",
     "2026-03-29T00:30:00+01:00",
     {"2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00",
      "2026-03-29T04:00:00+02:00", NULL}},
    {"Europe/Berlin",
     "0 * * * *",
     "2026-10-25T00:30:00+02:00",
     {"2026-10-25T01:00:00+02:00", "2026-10-25T02:00:00+02:00",
      "2026-10-25T03:00:00+01:00", "2026-10-25T04:00:00+01:00", NULL}},
    {"America/New_York",
     "30 2 * * *",
     "2026-03-06T12:00:00Z",
     {"2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00",
      "2026-03-09T02:30:00-04:00", NULL}},
    {"America/New_York",
     "30 2 * * *",
     "2026-10-30T12:00:00Z",
     {"2026-10-31T02:30:00-04:00", "2026-11-01T02:30:00-05:00",
      "2026-11-02T02:30:00-05:00", NULL}},
    {"America/New_York",
     "0 * * * *",
     "2026-03-08T00:30:00-05:00",
     {"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00",
      "2026-03-08T04:00:00-04:00", NULL}},
    {"America/New_York",
     "0 * * * *",
     "2026-11-01T00:30:00-04:00",
     {"2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00",
      "2026-11-01T03:00:00-05:00", NULL}},
    {NULL,
     "0 0 31 * *",
     "2026-01-15T00:00:00Z",
     {"2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z",
      "2026-07-31T00:00:00Z", NULL}},
};

static void
test_sched_cron_chains_across_changes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof s_chains / sizeof s_chains[0]; i++) {
        int64_t t = s_ms(s_chains[i].start);
        for (size_t k = 0; s_chains[i].fires[k]; k++) {
            int64_t want = s_ms(s_chains[i].fires[k]);
            s_expect_next(s_chains[i].zone, s_chains[i].expr, t, want);
            t = want;
        }
    }
}

typedef struct {
    const char *expr;
    uint64_t minutes;
    uint32_t hours, mdays;
    uint16_t months;
    uint8_t wdays, flags;
} s_bits_t;

#define S_ALL_MIN   ((1ULL << 60) - 1)
#define S_ALL_HOUR  ((1U << 24) - 1)
#define S_ALL_MDAY  (((1U << 31) - 1) << 1)
#define S_ALL_MONTH (((1U << 12) - 1) << 1)
#define S_DS        (SCHED_CRON_F_DOM_STAR | SCHED_CRON_F_DOW_STAR)

// What parsing stores, bit by bit.
static const s_bits_t s_bits[] = {
    {"* * * * *", S_ALL_MIN, S_ALL_HOUR, S_ALL_MDAY, S_ALL_MONTH, 0x7f, S_DS},
    {"0 0 1 1 *", 1, 1, 2, 2, 0x7f, SCHED_CRON_F_DOW_STAR},
    {"@yearly", 1, 1, 2, 2, 0x7f, SCHED_CRON_F_DOW_STAR},
    {"@weekly", 1, 1, S_ALL_MDAY, S_ALL_MONTH, 1, SCHED_CRON_F_DOM_STAR},
    {"@hourly", 1, S_ALL_HOUR, S_ALL_MDAY, S_ALL_MONTH, 0x7f, S_DS},
    {"*/20 */12 */10 */6 */3", 1ULL | 1ULL << 20 | 1ULL << 40, 1 | 1 << 12,
     1 << 1 | 1 << 11 | 1 << 21 | 1U << 31, 1 << 1 | 1 << 7,
     1 | 1 << 3 | 1 << 6, S_DS},
    {"58/1 22/1 30/1 11/1 6/1", 3ULL << 58, 3U << 22, 3U << 30, 3 << 11,
     1 | 1 << 6, 0},
    {"1-3,7 0 1 * MON-FRI", 0x8e, 1, 2, S_ALL_MONTH, 0x3e, 0},
    {"0 0 1 * 5-7", 1, 1, 2, S_ALL_MONTH, 1 | 1 << 5 | 1 << 6, 0},
    {"0 0 1 * */7", 1, 1, 2, S_ALL_MONTH, 1, SCHED_CRON_F_DOW_STAR},
    {"0 0 1 * 0,7", 1, 1, 2, S_ALL_MONTH, 1, 0},
    {"0 0 1 * sat,Sun", 1, 1, 2, S_ALL_MONTH, 1 | 1 << 6, 0},
    {"0 0 1 dec,Jan-feB *", 1, 1, 2, 1 << 1 | 1 << 2 | 1 << 12, 0x7f,
     SCHED_CRON_F_DOW_STAR},
    {"007 05 09 * *", 1 << 7, 1 << 5, 1 << 9, S_ALL_MONTH, 0x7f,
     SCHED_CRON_F_DOW_STAR},
    {"*,5 * * * *", S_ALL_MIN, S_ALL_HOUR, S_ALL_MDAY, S_ALL_MONTH, 0x7f, S_DS},
};

static void
test_sched_cron_parse_sets_bits(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof s_bits / sizeof s_bits[0]; i++) {
        const s_bits_t *b = &s_bits[i];
        sched_cron_t c;
        char err[256];
        if (sched_cron_parse(&c, b->expr, NULL, err, sizeof err) != 0)
            fail_msg("%s: %s", b->expr, err);
        if (c.minutes != b->minutes || c.hours != b->hours ||
            c.mdays != b->mdays || c.months != b->months ||
            c.wdays != b->wdays || (c.flags & S_DS) != b->flags)
            fail_msg("%s: minutes %#llx hours %#x mdays %#x months %#x "
                     "wdays %#x flags %#x",
                     b->expr, (unsigned long long)c.minutes, c.hours, c.mdays,
                     c.months, c.wdays, c.flags);
        assert_true(c.flags & SCHED_CRON_F_UTC);
        assert_string_equal(c.zone, "UTC");
    }
}

typedef struct {
    const char *expr;
    const char *zone;
    const char *msg; // the whole message
} s_bad_t;

static const s_bad_t s_bad[] = {
    {"x 1 * * *", NULL,
     "cron 'x 1 * * *': minute: 'x' is not a number or name"},
    {"0 24 * * *", NULL, "cron '0 24 * * *': hour: 24 is out of range 0-23"},
    {"0 0 * *", NULL, "cron '0 0 * *': expected 5 fields, got 4"},
    {"0 0 * * * *", NULL, "cron '0 0 * * * *': expected 5 fields, got 6"},
    {"", NULL, "cron '': expected 5 fields, got 0"},
    {" \t ", NULL, "cron ' ? ': expected 5 fields, got 0"},
    {NULL, NULL, "cron '': expected 5 fields, got 0"},
    {"*/0 * * * *", NULL,
     "cron '*/0 * * * *': minute: step 0 is out of range 1-60"},
    {"0 */25 * * *", NULL,
     "cron '0 */25 * * *': hour: step 25 is out of range 1-24"},
    {"0 0 1-5/0 * *", NULL,
     "cron '0 0 1-5/0 * *': day-of-month: step 0 is out of range 1-31"},
    {"0 0 * */13 *", NULL,
     "cron '0 0 * */13 *': month: step 13 is out of range 1-12"},
    {"0 0 * * */8", NULL,
     "cron '0 0 * * */8': day-of-week: step 8 is out of range 1-7"},
    {"0 0 30 2 *", NULL,
     "cron '0 0 30 2 *': never fires: day 30 never occurs in February"},
    {"0 0 30,31 FEB *", NULL,
     "cron '0 0 30,31 FEB *': never fires: days 30 "
     "and 31 never occur in February"},
    {"0 0 31 4,6,9,11 *", NULL,
     "cron '0 0 31 4,6,9,11 *': never fires: day 31 never occurs in April, "
     "June, September or November"},
    {"0 0 31 2,apr *", NULL,
     "cron '0 0 31 2,apr *': never fires: day 31 "
     "never occurs in February or April"},
    {"0 0 30 2 */2", NULL,
     "cron '0 0 30 2 */2': never fires: day 30 never occurs in February"},
    {"60 * * * *", NULL, "cron '60 * * * *': minute: 60 is out of range 0-59"},
    {"0 0 0 * *", NULL,
     "cron '0 0 0 * *': day-of-month: 0 is out of range 1-31"},
    {"0 0 32 * *", NULL,
     "cron '0 0 32 * *': day-of-month: 32 is out of range 1-31"},
    {"0 0 * 13 *", NULL, "cron '0 0 * 13 *': month: 13 is out of range 1-12"},
    {"0 0 * 0 *", NULL, "cron '0 0 * 0 *': month: 0 is out of range 1-12"},
    {"0 0 * * 8", NULL, "cron '0 0 * * 8': day-of-week: 8 is out of range 0-7"},
    {"0 0 1-40 * *", NULL,
     "cron '0 0 1-40 * *': day-of-month: 40 is out of range 1-31"},
    {"99999999999 * * * *", NULL,
     "cron '99999999999 * * * *': minute: 99999999999 is out of range 0-59"},
    {"0 0 * FOO *", NULL,
     "cron '0 0 * FOO *': month: 'FOO' is not a number or name (JAN-DEC)"},
    {"0 0 * JANUARY *", NULL,
     "cron '0 0 * JANUARY *': month: 'JANUARY' is not "
     "a number or name (JAN-DEC)"},
    {"0 0 * MON *", NULL,
     "cron '0 0 * MON *': month: 'MON' is not a number or name (JAN-DEC)"},
    {"0 0 * * FUN", NULL,
     "cron '0 0 * * FUN': day-of-week: 'FUN' is not a "
     "number or name (SUN-SAT)"},
    {"0 0 * * JAN", NULL,
     "cron '0 0 * * JAN': day-of-week: 'JAN' is not a "
     "number or name (SUN-SAT)"},
    {"MON 0 * * *", NULL,
     "cron 'MON 0 * * *': minute: 'MON' is not a number or name"},
    {"0 JAN * * *", NULL,
     "cron '0 JAN * * *': hour: 'JAN' is not a number or name"},
    {"5-1 * * * *", NULL,
     "cron '5-1 * * * *': minute: range '5-1' runs "
     "backwards"},
    {"0 0 * * FRI-SUN", NULL,
     "cron '0 0 * * FRI-SUN': day-of-week: range "
     "'FRI-SUN' runs backwards"},
    {"5- * * * *", NULL, "cron '5- * * * *': minute: range '5-' has no end"},
    {"5-/2 * * * *", NULL,
     "cron '5-/2 * * * *': minute: range '5-/2' has no end"},
    {"-5 * * * *", NULL,
     "cron '-5 * * * *': minute: '-5' is not a number or name"},
    {"1,,2 * * * *", NULL, "cron '1,,2 * * * *': minute: empty item in a list"},
    {"1, * * * *", NULL, "cron '1, * * * *': minute: empty item in a list"},
    {"0 ,1 * * *", NULL, "cron '0 ,1 * * *': hour: empty item in a list"},
    {"*/x * * * *", NULL,
     "cron '*/x * * * *': minute: step 'x' is not a number"},
    {"*/ * * * *", NULL, "cron '*/ * * * *': minute: step '' is not a number"},
    {"*/5x * * * *", NULL,
     "cron '*/5x * * * *': minute: step '5x' is not a number"},
    {"1-5/2/3 * * * *", NULL,
     "cron '1-5/2/3 * * * *': minute: step '2/3' is not a number"},
    {"** * * * *", NULL,
     "cron '** * * * *': minute: '**' is not a number or name"},
    {"5x * * * *", NULL,
     "cron '5x * * * *': minute: '5x' is not a number or name"},
    {"? * * * *", NULL,
     "cron '? * * * *': minute: '?' is not a number or name"},
    {"0 0 L * *", NULL,
     "cron '0 0 L * *': day-of-month: 'L' is not a number or name"},
    {"0 0 * * 1#2", NULL,
     "cron '0 0 * * 1#2': day-of-week: '1#2' is not a "
     "number or name (SUN-SAT)"},
    {"0 0 * * *\n", NULL,
     "cron '0 0 * * *?': day-of-week: '*?' is not a "
     "number or name (SUN-SAT)"},
    {"@reboot", NULL,
     "cron '@reboot': @reboot is not supported (it has no time to fire at)"},
    {"@REBOOT", NULL,
     "cron '@REBOOT': @reboot is not supported (it has no time to fire at)"},
    {"@fortnightly", NULL,
     "cron '@fortnightly': unknown shortcut (use @yearly, @annually, "
     "@monthly, @weekly, @daily, @midnight or @hourly)"},
    {"@", NULL,
     "cron '@': unknown shortcut (use @yearly, @annually, @monthly, @weekly, "
     "@daily, @midnight or @hourly)"},
    {"@daily 5", NULL,
     "cron '@daily 5': a shortcut stands alone (expected 1 field)"},
    {"0 0 * * *", "Mars/Base", "time zone 'Mars/Base': unknown"},
    {"0 0 * * *", "europe/berlin", "time zone 'europe/berlin': unknown"},
    {"0 0 * * *", "GMT+5", "time zone 'GMT+5': unknown"},
    {"0 0 * * *", "Etc/Unknown", "time zone 'Etc/Unknown': unknown"},
    {"0 0 * * *", "Europe/Berlin ", "time zone 'Europe/Berlin ': unknown"},
    {"0 0 * * *", "Europe/Berlin\x01", "time zone 'Europe/Berlin?': unknown"},
    {"0 0 * * *", "", "time zone '': empty"},
    {"0 0 * * *",
     "Europe/Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "time zone 'Europe/"
     "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...': longer "
     "than 63 characters"},
    // The expression is checked before the zone.
    {"0 0 * *", "Mars/Base", "cron '0 0 * *': expected 5 fields, got 4"},
};

static const char *const s_field_names[] = {
    "minute", "hour", "day-of-month", "month", "day-of-week", NULL};

static void
test_sched_cron_parse_errors_name_the_field(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof s_bad / sizeof s_bad[0]; i++) {
        const s_bad_t *b = &s_bad[i];
        sched_cron_t c;
        char err[512] = "";
        int rc = sched_cron_parse(&c, b->expr, b->zone, err, sizeof err);
        if (rc != AZO_EBADREQ || strcmp(err, b->msg) != 0)
            fail_msg("'%s' in %s: rc %d\n  want: %s\n  got:  %s",
                     b->expr ? b->expr : "(null)", b->zone ? b->zone : "UTC",
                     rc, b->msg, err);
        assert_true(azo_test_one_line(err));
        // Field errors say which field: "cron '...': <field>: ...".
        const char *after = strstr(err, "': ");
        bool field_error = strncmp(err, "cron ", 5) == 0 && after &&
                           !strstr(err, "fields, got") &&
                           !strstr(err, "never fires") && !strstr(err, "@") &&
                           !strstr(err, "shortcut");
        if (field_error) {
            bool named = false;
            for (size_t f = 0; s_field_names[f]; f++) {
                size_t n = strlen(s_field_names[f]);
                named =
                    named || (strncmp(after + 3, s_field_names[f], n) == 0 &&
                              after[3 + n] == ':');
            }
            if (!named)
                fail_msg("no field named in: %s", err);
        }
    }
}

static void
test_sched_cron_errors_are_cut_and_safe(void **state)
{
    (void)state;
    sched_cron_t c;
    // A long expression is quoted up to 64 characters, then "...".
    char expr[600];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(expr + n, sizeof expr - n, "1,");
    snprintf(expr + n, sizeof expr - n, "x * * * *");
    char err[512];
    assert_int_equal(sched_cron_parse(&c, expr, NULL, err, sizeof err),
                     AZO_EBADREQ);
    char want[200];
    snprintf(want, sizeof want,
             "cron '%.64s...': minute: 'x' is not a number or name", expr);
    assert_string_equal(err, want);
    // A long token is quoted up to 32 characters.
    memset(expr, 'a', 40);
    strcpy(expr + 40, " * * * *");
    assert_int_equal(sched_cron_parse(&c, expr, NULL, err, sizeof err),
                     AZO_EBADREQ);
    snprintf(want, sizeof want,
             "cron '%.48s': minute: '%.32s...' is not a number or name", expr,
             expr);
    assert_string_equal(err, want);
    // No room, a tiny room, or no buffer at all: no overrun, no crash.
    assert_int_equal(sched_cron_parse(&c, "x", NULL, NULL, 0), AZO_EBADREQ);
    char tiny[8] = "zzzzzzz";
    assert_int_equal(sched_cron_parse(&c, "x", NULL, tiny, 0), AZO_EBADREQ);
    assert_string_equal(tiny, "zzzzzzz");
    assert_int_equal(sched_cron_parse(&c, "x", NULL, tiny, sizeof tiny),
                     AZO_EBADREQ);
    assert_string_equal(tiny, "cron 'x");
    assert_int_equal(sched_cron_parse(&c, "0 0 * * *", "Nope/Nope", tiny, 5),
                     AZO_EBADREQ);
    assert_string_equal(tiny, "time");
    // Success clears err.
    strcpy(err, "stale");
    assert_int_equal(sched_cron_parse(&c, "0 0 * * *", NULL, err, sizeof err),
                     0);
    assert_string_equal(err, "");
}

static void
test_sched_cron_zones(void **state)
{
    (void)state;
    sched_cron_t c;
    char err[256];
    assert_int_equal(
        sched_cron_parse(&c, "@daily", "Europe/Berlin", err, sizeof err), 0);
    assert_string_equal(c.zone, "Europe/Berlin");
    assert_false(c.flags & SCHED_CRON_F_UTC);
    // Aliases keep the name given; UTC aliases take the fast path.
    assert_int_equal(
        sched_cron_parse(&c, "@daily", "US/Eastern", err, sizeof err), 0);
    assert_string_equal(c.zone, "US/Eastern");
    assert_int_equal(sched_cron_parse(&c, "@daily", "Etc/UTC", err, sizeof err),
                     0);
    assert_true(c.flags & SCHED_CRON_F_UTC);
    assert_int_equal(sched_cron_parse(&c, "@daily", "GMT", err, sizeof err), 0);
    assert_true(c.flags & SCHED_CRON_F_UTC);
    assert_int_equal(sched_cron_parse(&c, "@daily", NULL, err, sizeof err), 0);
    assert_string_equal(c.zone, "UTC");
    assert_true(c.flags & SCHED_CRON_F_UTC);
    // A fixed-offset IANA zone without DST.
    s_expect_next("Etc/GMT-14", "0 0 * * *", s_ms("2026-01-01T00:00:00Z"),
                  s_ms("2026-01-02T00:00:00+14:00"));
    // The value is plain data: a copy works the same.
    assert_int_equal(
        sched_cron_parse(&c, "30 2 * * *", "Europe/Berlin", err, sizeof err),
        0);
    sched_cron_t copy = c;
    memset(&c, 0xa5, sizeof c);
    int64_t next;
    assert_int_equal(
        sched_cron_next(&copy, s_ms("2026-03-28T02:30:00+01:00"), &next), 0);
    assert_true(next == s_ms("2026-03-29T03:00:00+02:00"));
}

static void
test_sched_cron_next_bounds(void **state)
{
    (void)state;
    sched_cron_t c;
    assert_int_equal(sched_cron_parse(&c, "* * * * *", NULL, NULL, 0), 0);
    int64_t next = 42;
    assert_int_equal(sched_cron_next(&c, -1, &next), AZO_EBADREQ);
    assert_int_equal(sched_cron_next(&c, SCHED_CRON_MAX_MS + 1, &next),
                     AZO_EBADREQ);
    assert_int_equal(sched_cron_next(&c, INT64_MIN, &next), AZO_EBADREQ);
    assert_int_equal(sched_cron_next(&c, INT64_MAX, &next), AZO_EBADREQ);
    assert_true(next == 42);
    assert_int_equal(sched_cron_next(&c, SCHED_CRON_MAX_MS, &next), 0);
    assert_true(next == SCHED_CRON_MAX_MS + 1);
    // The latest start still finds a rare schedule past year 9999.
    assert_int_equal(
        sched_cron_parse(&c, "0 0 29 2 */7", "Europe/Berlin", NULL, 0), 0);
    assert_int_equal(sched_cron_next(&c, SCHED_CRON_MAX_MS, &next), 0);
    assert_true(next > SCHED_CRON_MAX_MS);
    // A hand-made schedule that cannot fire (parsing rejects these) ends
    // with AZO_ENOTFOUND instead of looping.
    assert_int_equal(sched_cron_parse(&c, "0 0 * 2 *", NULL, NULL, 0), 0);
    c.mdays = 1U << 30;
    assert_int_equal(sched_cron_next(&c, 0, &next), AZO_ENOTFOUND);
    assert_int_equal(
        sched_cron_parse(&c, "0 0 * 2 *", "Europe/Berlin", NULL, 0), 0);
    c.mdays = 1U << 30;
    assert_int_equal(sched_cron_next(&c, 0, &next), AZO_ENOTFOUND);
}

// Random expressions against brute force.

typedef struct {
    uint64_t s;
} s_rng_t;

static uint64_t
s_rand(s_rng_t *r)
{
    // xorshift64*
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ULL;
}

static int
s_rnd(s_rng_t *r, int n)
{
    return (int)(s_rand(r) % (uint64_t)n);
}

static const char *const s_months_n[] = {"JAN", "FEB", "MAR", "APR",
                                         "MAY", "JUN", "JUL", "AUG",
                                         "SEP", "OCT", "NOV", "DEC"};
static const char *const s_days_n[] = {"SUN", "MON", "TUE", "WED",
                                       "THU", "FRI", "SAT"};

typedef struct {
    int lo, hi, size;
    const char *const *names; // NULL, or names of lo.. (7 of them for days)
    int nnames;
} s_gen_field_t;

static const s_gen_field_t s_gen[] = {
    {0, 59, 60, NULL, 0},        {0, 23, 24, NULL, 0},   {1, 31, 31, NULL, 0},
    {1, 12, 12, s_months_n, 12}, {0, 7, 7, s_days_n, 7},
};

// Appends value v of field f to buf: a number, or sometimes its name in a
// random case.
static void
s_put_value(s_rng_t *r, const s_gen_field_t *f, int v, char *buf, size_t len)
{
    size_t n = strlen(buf);
    if (f->names && v - f->lo < f->nnames && s_rnd(r, 2)) {
        const char *name = f->names[v - f->lo];
        char w[4];
        for (int i = 0; i < 3; i++)
            w[i] = (char)(s_rnd(r, 2) ? name[i] : name[i] - 'A' + 'a');
        w[3] = '\0';
        snprintf(buf + n, len - n, "%s", w);
    } else {
        snprintf(buf + n, len - n, "%d", v);
    }
}

static void
s_put(char *buf, size_t len, const char *fmt, int v)
{
    size_t n = strlen(buf);
    snprintf(buf + n, len - n, fmt, v);
}

// Appends a random list for field f to buf and sets *set to its values
// (bit v for value v, weekday 7 kept as bit 7).
static void
s_gen_list(s_rng_t *r, const s_gen_field_t *f, char *buf, size_t len,
           uint64_t *set)
{
    *set = 0;
    int items = 1 + s_rnd(r, 3);
    for (int i = 0; i < items; i++) {
        if (i)
            strcat(buf, ",");
        int span = f->hi - f->lo + 1;
        int a = f->lo + s_rnd(r, span), b = f->lo + s_rnd(r, span);
        if (a > b) {
            int t = a;
            a = b, b = t;
        }
        int step = 1 + s_rnd(r, f->size);
        int lo = a, hi = a;
        switch (s_rnd(r, 6)) {
        case 0:
            strcat(buf, "*");
            lo = f->lo, hi = f->hi, step = 1;
            break;
        case 1:
            strcat(buf, "*/");
            s_put(buf, len, "%d", step);
            lo = f->lo, hi = f->hi;
            break;
        case 2:
            s_put_value(r, f, a, buf, len);
            step = 1;
            break;
        case 3:
            s_put_value(r, f, a, buf, len);
            strcat(buf, "-");
            s_put_value(r, f, b, buf, len);
            hi = b, step = 1;
            break;
        case 4:
            s_put_value(r, f, a, buf, len);
            strcat(buf, "-");
            s_put_value(r, f, b, buf, len);
            strcat(buf, "/");
            s_put(buf, len, "%d", step);
            hi = b;
            break;
        default:
            s_put_value(r, f, a, buf, len);
            strcat(buf, "/");
            s_put(buf, len, "%d", step);
            hi = f->hi;
            break;
        }
        for (int v = lo; v <= hi; v += step)
            *set |= 1ULL << v;
    }
}

typedef struct {
    uint64_t set[5]; // minute, hour, day of month, month, weekday
    bool dom_star, dow_star;
    char expr[256];
} s_ref_t;

static bool
s_ref_day(const s_ref_t *r, const struct tm *tm)
{
    if (!(r->set[3] >> (tm->tm_mon + 1) & 1))
        return false;
    bool dom = r->set[2] >> tm->tm_mday & 1;
    bool dow = (r->set[4] >> tm->tm_wday & 1) ||
               (tm->tm_wday == 0 && (r->set[4] >> 7 & 1));
    return r->dom_star || r->dow_star ? dom && dow : dom || dow;
}

static void
s_gm(int64_t ms, struct tm *tm)
{
    time_t t = (time_t)s_floor_div(ms, 1000);
    gmtime_r(&t, tm);
}

// True when local wall time wall (ms, encoded as if UTC) matches.
static bool
s_ref_match(const s_ref_t *r, int64_t wall)
{
    struct tm tm;
    s_gm(wall, &tm);
    return (r->set[0] >> tm.tm_min & 1) && (r->set[1] >> tm.tm_hour & 1) &&
           s_ref_day(r, &tm);
}

static int64_t
s_wall(UCalendar *cal, int64_t t)
{
    UErrorCode st = U_ZERO_ERROR;
    ucal_setMillis(cal, (UDate)t, &st);
    int64_t off = ucal_get(cal, UCAL_ZONE_OFFSET, &st) +
                  ucal_get(cal, UCAL_DST_OFFSET, &st);
    assert_false(U_FAILURE(st));
    return t + off;
}

// Brute force in instant space, one UTC minute at a time, following the
// documented rule directly: a matching wall minute fires at the first
// instant the wall clock reaches it (a skipped one when the clock jumps past
// it, a repeated one only the first time). Starts 3 hours early so the
// highest wall time reached is known at `after`. Returns -1 past 3 days.
static int64_t
s_ref_next_zoned(const s_ref_t *r, UCalendar *cal, int64_t after)
{
    int64_t t = s_floor_div(after, S_MIN) * S_MIN - 3 * S_HOUR;
    int64_t reached = s_wall(cal, t);
    for (int i = 0; i < 3 * 24 * 60 + 3 * 60; i++) {
        t += S_MIN;
        int64_t w = s_wall(cal, t);
        bool fire = false;
        for (int64_t W = s_floor_div(reached, S_MIN) * S_MIN + S_MIN; W <= w;
             W += S_MIN)
            fire = fire || s_ref_match(r, W);
        if (w > reached)
            reached = w;
        if (fire && t > after)
            return t;
    }
    return -1;
}

static void
s_gen_expr(s_rng_t *rng, s_ref_t *ref, bool days)
{
    memset(ref, 0, sizeof *ref);
    for (int f = 0; f < 5; f++) {
        if (f)
            strcat(ref->expr, " ");
        if (f >= 2 && !days) {
            strcat(ref->expr, "*");
            ref->set[f] = f == 4 ? 0xff : ~0ULL;
            continue;
        }
        size_t at = strlen(ref->expr);
        s_gen_list(rng, &s_gen[f], ref->expr, sizeof ref->expr, &ref->set[f]);
        if (f == 2)
            ref->dom_star = ref->expr[at] == '*';
        if (f == 4)
            ref->dow_star = ref->expr[at] == '*';
    }
    ref->dom_star = ref->dom_star || !days;
    ref->dow_star = ref->dow_star || !days;
}

static const char *const s_zones[] = {
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Australia/Sydney",
    "America/St_Johns",
    "Pacific/Chatham",
};

// Random minute and hour fields (so at least one fire a day) in zones with
// and without DST, from random instants and from instants near a change.
static void
test_sched_cron_random_matches_brute_force_in_zones(void **state)
{
    (void)state;
    s_rng_t rng = {0x9e3779b97f4a7c15ULL};
    int64_t lo = s_ms("2024-01-01T00:00:00Z"),
            hi = s_ms("2030-01-01T00:00:00Z");
    for (size_t z = 0; z < sizeof s_zones / sizeof s_zones[0]; z++) {
        UChar id[64];
        u_uastrcpy(id, s_zones[z]);
        UErrorCode st = U_ZERO_ERROR;
        UCalendar *cal = ucal_open(id, -1, "en_US_POSIX", UCAL_GREGORIAN, &st);
        assert_false(U_FAILURE(st));
        for (int i = 0; i < 60; i++) {
            s_ref_t ref;
            s_gen_expr(&rng, &ref, false);
            int64_t after = lo + (int64_t)(s_rand(&rng) % (uint64_t)(hi - lo));
            if (i % 2) {
                // Near the next change, if the zone has one.
                UDate tr;
                ucal_setMillis(cal, (UDate)after, &st);
                if (ucal_getTimeZoneTransitionDate(cal, UCAL_TZ_TRANSITION_NEXT,
                                                   &tr, &st))
                    after = (int64_t)tr - 3 * S_HOUR +
                            (int64_t)(s_rand(&rng) % (uint64_t)(6 * S_HOUR));
                assert_false(U_FAILURE(st));
            }
            if (i % 3 == 0)
                after = s_floor_div(after, S_MIN) * S_MIN; // whole minutes
            sched_cron_t c;
            char err[256];
            if (sched_cron_parse(&c, ref.expr, s_zones[z], err, sizeof err))
                fail_msg("%s", err);
            int64_t got = -1, want = s_ref_next_zoned(&ref, cal, after);
            int rc = sched_cron_next(&c, after, &got);
            if (rc != 0 || got != want || got <= after) {
                char a[80], w[80], g[80];
                fail_msg("'%s' in %s after %s: want %s, got %s (rc %d)",
                         ref.expr, s_zones[z], s_fmt(after, a, sizeof a),
                         s_fmt(want, w, sizeof w), s_fmt(got, g, sizeof g), rc);
            }
            // The result matches in local time.
            assert_true(s_ref_match(&ref, s_wall(cal, got)) ||
                        s_wall(cal, got) > s_wall(cal, got - 1) + 1);
        }
        ucal_close(cal);
    }
}

// Day by day in UTC over up to 401 years: the first matching day, then the
// first matching time in it after `after`. -1 when none.
static int64_t
s_ref_next_utc(const s_ref_t *r, int64_t after)
{
    int64_t day = s_floor_div(after, S_DAY);
    for (int i = 0; i <= 146097 + 366; i++, day++) {
        struct tm tm;
        s_gm(day * S_DAY, &tm);
        if (!s_ref_day(r, &tm))
            continue;
        for (int h = 0; h < 24; h++) {
            if (!(r->set[1] >> h & 1))
                continue;
            for (int m = 0; m < 60; m++) {
                int64_t t = day * S_DAY + h * S_HOUR + m * S_MIN;
                if ((r->set[0] >> m & 1) && t > after)
                    return t;
            }
        }
    }
    return -1;
}

// Random day-of-month, month and weekday fields (the OR and AND rules,
// names, steps, short months, leap days) in UTC from 1970 to 2500. Those
// rejected as never firing must not fire within 401 years either.
static void
test_sched_cron_random_day_rules_match_brute_force(void **state)
{
    (void)state;
    s_rng_t rng = {0x2545f4914f6cdd1dULL};
    int64_t hi = s_ms("2500-01-01T00:00:00Z");
    int rejected = 0;
    for (int i = 0; i < 1500; i++) {
        s_ref_t ref;
        s_gen_expr(&rng, &ref, true);
        if (i % 10 == 0) {
            // Late days of short months, sometimes with a '*' weekday.
            static const char *const dom[] = {"30", "31", "30,31", "29-31",
                                              "*/29"};
            static const char *const mon[] = {"2",       "feb",   "4,6",
                                              "FEB,sep", "2-4/2", "11"};
            static const char *const dow[] = {"*", "*/2", "1", "*/7"};
            int d = s_rnd(&rng, 5), m = s_rnd(&rng, 6), w = s_rnd(&rng, 4);
            snprintf(ref.expr, sizeof ref.expr, "0 0 %s %s %s", dom[d], mon[m],
                     dow[w]);
            static const uint64_t domset[] = {1ULL << 30, 1ULL << 31,
                                              3ULL << 30, 7ULL << 29,
                                              1ULL << 1 | 1ULL << 30};
            static const uint64_t monset[] = {1 << 2,          1 << 2,
                                              1 << 4 | 1 << 6, 1 << 2 | 1 << 9,
                                              1 << 2 | 1 << 4, 1 << 11};
            static const uint64_t dowset[] = {0xff, 0x55, 0x2, 0x81};
            ref.set[0] = 1, ref.set[1] = 1;
            ref.set[2] = domset[d], ref.set[3] = monset[m];
            ref.set[4] = dowset[w];
            ref.dom_star = d == 4;
            ref.dow_star = w != 2;
        }
        int64_t after = (int64_t)(s_rand(&rng) % (uint64_t)hi);
        sched_cron_t c;
        char err[256];
        int rc = sched_cron_parse(&c, ref.expr, NULL, err, sizeof err);
        // Only expensive when it never fires: check the first few of those.
        if (rc != 0) {
            if (!strstr(err, "never fires"))
                fail_msg("%s", err);
            if (rejected++ < 12 && s_ref_next_utc(&ref, after) != -1)
                fail_msg("'%s' rejected but fires", ref.expr);
            continue;
        }
        int64_t got = -1, want = s_ref_next_utc(&ref, after);
        rc = sched_cron_next(&c, after, &got);
        if (rc != 0 || got != want) {
            char a[80], w[80], g[80];
            fail_msg("'%s' after %s: want %s, got %s (rc %d)", ref.expr,
                     s_fmt(after, a, sizeof a), s_fmt(want, w, sizeof w),
                     s_fmt(got, g, sizeof g), rc);
        }
    }
    assert_true(rejected > 0);
}

// Garbage never crashes: either a schedule that computes, or an error that
// is one printable line starting with "cron '".
static void
test_sched_cron_garbage_input(void **state)
{
    (void)state;
    static const char alphabet[] = "0123456789*/-,  \t@?LW#JANMONsunfebxyz"
                                   "\x01\xff\n";
    s_rng_t rng = {0x1234567887654321ULL};
    int ok = 0;
    for (int i = 0; i < 20000; i++) {
        char expr[48];
        int n = s_rnd(&rng, 40);
        for (int k = 0; k < n; k++)
            expr[k] = alphabet[s_rnd(&rng, (int)sizeof alphabet - 1)];
        expr[n] = '\0';
        // Half the time five fields of pieces that are often valid, to get
        // past the field count into values, ranges and steps.
        if (i % 2) {
            static const char *const pieces[] = {
                "*",   "0",   "1",   "2", "7", "12", "30", "*/5",
                "1-5", "3/4", "MON", ",", "-", "/",  "x"};
            expr[0] = '\0';
            for (int f = 0; f < 5; f++) {
                for (int k = 1 + (s_rnd(&rng, 4) == 0); k > 0; k--)
                    strcat(expr, pieces[s_rnd(&rng, 15)]);
                if (f < 4)
                    strcat(expr, " ");
            }
        }
        sched_cron_t c;
        char err[256];
        int rc = sched_cron_parse(&c, expr, NULL, err, sizeof err);
        if (rc == 0) {
            int64_t after = s_ms("2026-05-05T05:05:05Z"), next;
            assert_int_equal(sched_cron_next(&c, after, &next), 0);
            assert_true(next > after);
            ok++;
            continue;
        }
        assert_int_equal(rc, AZO_EBADREQ);
        assert_true(azo_test_one_line(err));
        assert_memory_equal(err, "cron '", 6);
    }
    assert_true(ok > 100);
}

static void
test_sched_cron_every(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ms;
    } good[] = {
        {"300s", 300000},      {"5m", 300000},     {"1h30m", 5400000},
        {"1s", 1000},          {"1500ms", 1500},   {"1d12h", 129600000},
        {"366d", 366 * S_DAY}, {"30m1h", 5400000},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t ms = 0;
        char err[128];
        if (sched_cron_parse_every(good[i].text, &ms, err, sizeof err) != 0)
            fail_msg("%s: %s", good[i].text, err);
        assert_true(ms == good[i].ms);
    }
    static const struct {
        const char *text;
        const char *msg;
    } bad[] = {
        {"300", "every '300': expected a duration with a unit (250ms, 5s, 10m, "
                "6h, 7d)"},
        {"", "every '': expected a duration with a unit (250ms, 5s, 10m, 6h, "
             "7d)"},
        {"5 m", "every '5 m': expected a duration with a unit (250ms, 5s, "
                "10m, 6h, 7d)"},
        {"-5s", "every '-5s': expected a duration with a unit (250ms, 5s, "
                "10m, 6h, 7d)"},
        {"5w", "every '5w': expected a duration with a unit (250ms, 5s, 10m, "
               "6h, 7d)"},
        {"99999999999999999999d", "every '99999999999999999999d': expected a "
                                  "duration with a unit (250ms, 5s, 10m, 6h, "
                                  "7d)"},
        {"500ms", "every '500ms': below the minimum 1s"},
        {"0", "every '0': below the minimum 1s"},
        {"0s", "every '0s': below the minimum 1s"},
        {"367d", "every '367d': above the maximum 366d"},
        {"366d1ms", "every '366d1ms': above the maximum 366d"},
        {"5s\n", "every '5s?': expected a duration with a unit (250ms, 5s, "
                 "10m, 6h, 7d)"},
        {NULL, "every: no duration given"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 77;
        char err[128] = "";
        int rc = sched_cron_parse_every(bad[i].text, &ms, err, sizeof err);
        if (rc != AZO_EBADREQ || strcmp(err, bad[i].msg) != 0)
            fail_msg("'%s': rc %d\n  want: %s\n  got:  %s",
                     bad[i].text ? bad[i].text : "(null)", rc, bad[i].msg, err);
        assert_true(ms == 77);
    }
    int64_t ms;
    assert_int_equal(sched_cron_parse_every("1s", &ms, NULL, 0), 0);
    assert_int_equal(sched_cron_parse_every("x", &ms, NULL, 0), AZO_EBADREQ);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sched_cron_known_times),
        cmocka_unit_test(test_sched_cron_chains_across_changes),
        cmocka_unit_test(test_sched_cron_parse_sets_bits),
        cmocka_unit_test(test_sched_cron_parse_errors_name_the_field),
        cmocka_unit_test(test_sched_cron_errors_are_cut_and_safe),
        cmocka_unit_test(test_sched_cron_zones),
        cmocka_unit_test(test_sched_cron_next_bounds),
        cmocka_unit_test(test_sched_cron_random_matches_brute_force_in_zones),
        cmocka_unit_test(test_sched_cron_random_day_rules_match_brute_force),
        cmocka_unit_test(test_sched_cron_garbage_input),
        cmocka_unit_test(test_sched_cron_every),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
