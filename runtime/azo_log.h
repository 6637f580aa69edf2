// azo_log — logging helpers over czmq's zsys log: a rate limiter for
// messages caused by outside input, so that a flood of garbage cannot flood
// the log. A limiter belongs to one thread.
#ifndef AZO_LOG_H
#define AZO_LOG_H

#include <stdint.h>

typedef struct {
    int64_t window_ms;    // at most one message per window
    int64_t window_start; // zclock_mono() of the last message logged
    uint64_t suppressed;  // messages dropped since then
} azo_ratelog_t;

void azo_ratelog_init(azo_ratelog_t *rl, int64_t window_ms);

// Logs a warning unless one was logged less than window_ms ago; the next
// message logged says how many were suppressed in between.
void azo_ratelog(azo_ratelog_t *rl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
