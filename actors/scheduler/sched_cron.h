// sched_cron — schedule arithmetic for the scheduler actor (#5): parses 5-field
// cron expressions and "every" intervals, and computes the next fire time of
// a cron schedule in UTC or a named IANA time zone. Pure functions on values
// the caller owns; any thread (time zones come from ICU, opened per call, no
// process-global state: never TZ, tzset or localtime). It does not keep time,
// set timers or know about jobs.
//
// Cron expressions (Vixie/cronie syntax):
//
//   minute hour day-of-month month day-of-week
//   0-59   0-23 1-31         1-12  0-7 (0 and 7 are Sunday)
//
// Each field is a comma-separated list of `*`, `N`, `A-B`, `*/S`, `A-B/S` or
// `N/S` (N through the field's maximum, every S). Months take JAN-DEC and
// weekdays SUN-SAT, in any case, also in ranges (`MON-FRI`). A range must not
// run backwards (`FRI-SUN` is an error: write `FRI-SAT,SUN` or `5-7`). A step
// runs from 1 to the field's size (60, 24, 31, 12, 7). Fields are separated by
// spaces or tabs. Shortcuts: @yearly and @annually (0 0 1 1 *), @monthly
// (0 0 1 * *), @weekly (0 0 * * 0), @daily and @midnight (0 0 * * *), @hourly
// (0 * * * *); @reboot is rejected (it has no time).
//
// Day rule (as cronie): if day-of-month and day-of-week both start with
// something other than `*`, a day matches when EITHER matches ("0 0 13 * FRI"
// fires on every 13th and every Friday). If either starts with `*` (`*` or
// `*/S`), both must match ("0 0 */2 * MON" fires on odd-numbered Mondays).
// An expression that can never fire ("0 0 30 2 *", "0 0 31 4,6,9,11 *") is
// rejected. Parsing never reads outside the string and never aborts.
//
// Errors name the expression and the field, for example
//   cron 'x 1 * * *': minute: 'x' is not a number or name
//   cron '0 24 * * *': hour: 24 is out of range 0-23
//   cron '0 0 * *': expected 5 fields, got 4
//   cron '*/0 * * * *': minute: step 0 is out of range 1-60
//   cron '0 0 30 2 *': never fires: day 30 never occurs in February
//   time zone 'Mars/Base': unknown
//
// Fire times: a schedule fires at second 0 of each local wall-clock minute in
// its zone that matches. Daylight saving time (the same rule in every zone):
//   - A local time skipped by a spring-forward gap fires once, at the first
//     instant after the gap (cronie): in Europe/Berlin "30 2 * * *" fires on
//     2026-03-29 at 03:00 CEST, and "*/15 * * * *" fires once at 03:00 for
//     02:00, 02:15, 02:30, 02:45 and 03:00 together.
//   - A local time that occurs twice in a fall-back overlap fires once, at
//     its first occurrence: "30 2 * * *" fires on 2026-10-25 at 02:30 CEST,
//     not again at 02:30 CET. This holds for wildcard-hour jobs too (unlike
//     cronie): "0 * * * *" fires at 02:00 CEST and next at 03:00 CET, so the
//     repeated hour does not run twice.
// Time zone data is ICU's (ucal_getTZDataVersion()). ICU is loaded with
// dlopen at the first named zone: UTC schedules never load it.
#ifndef SCHED_CRON_H
#define SCHED_CRON_H

#include <stdint.h>
#include <stddef.h>

// Longest zone name kept, with its NUL (IANA names are at most ~32 bytes).
#define SCHED_CRON_ZONE_MAX 64

// Bounds of an "every" interval.
#define SCHED_CRON_EVERY_MIN_MS 1000LL
#define SCHED_CRON_EVERY_MAX_MS (366LL * 86400000LL)

// Latest after_ms that sched_cron_next accepts: 9999-12-31T23:59:59.999Z.
#define SCHED_CRON_MAX_MS 253402300799999LL

// A parsed schedule: a plain value in the caller's storage (copy it freely,
// nothing to free). Fields are set by sched_cron_parse; read-only otherwise.
typedef struct {
    uint64_t minutes;               // bit m set: minute m (0-59) matches
    uint32_t hours;                 // bit h: hour h (0-23)
    uint32_t mdays;                 // bit d: day of month d (1-31)
    uint16_t months;                // bit m: month m (1-12)
    uint8_t wdays;                  // bit w: weekday w (0 Sunday .. 6 Saturday)
    uint8_t flags;                  // SCHED_CRON_F_*
    char zone[SCHED_CRON_ZONE_MAX]; // zone name as given, "UTC" by default
} sched_cron_t;

#define SCHED_CRON_F_DOM_STAR 0x01 // day-of-month starts with '*'
#define SCHED_CRON_F_DOW_STAR 0x02 // day-of-week starts with '*'
#define SCHED_CRON_F_UTC      0x04 // zone is UTC (no ICU needed)

// Parses expr (5 fields or a @shortcut) in time zone zone (an IANA name such
// as "Europe/Berlin", case-sensitive; NULL means "UTC") into *out. Returns 0,
// or AZO_EBADREQ with a one-line message naming the field in err (err may be
// NULL; truncated to errlen) and *out unspecified. Strings are borrowed.
int sched_cron_parse(sched_cron_t *out, const char *expr, const char *zone,
                     char *err, size_t errlen);

// Sets *next_ms to the first instant strictly after after_ms (Unix ms, UTC)
// at which c fires, following the DST rules above. Returns 0; AZO_EBADREQ if
// after_ms is outside 0..SCHED_CRON_MAX_MS; AZO_ENOTFOUND if nothing fires
// within 400 years (never for a parsed schedule: the calendar repeats every
// 400 years); AZO_EINTERNAL if ICU fails. Under 1 us in UTC, about 3 us in a
// named zone (ICU opens the zone on each call).
int sched_cron_next(const sched_cron_t *c, int64_t after_ms, int64_t *next_ms);

// Parses an interval: one or more <integer><unit> groups, units ms, s, m, h,
// d ("300s", "5m", "1h30m"), between SCHED_CRON_EVERY_MIN_MS (1s) and
// SCHED_CRON_EVERY_MAX_MS (366d). Returns 0 and sets *ms, or AZO_EBADREQ with
// a message in err (may be NULL), e.g. "every '300': expected a duration with
// a unit (250ms, 5s, 10m, 6h, 7d)" or "every '500ms': below the minimum 1s".
int sched_cron_parse_every(const char *text, int64_t *ms, char *err,
                           size_t errlen);

#endif
