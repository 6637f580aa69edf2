// azo_log — rate-limited warnings over zsys_warning. No global state: each
// limiter belongs to the thread that owns it.
#include "azo_log.h"

#include <czmq.h>
#include <stdarg.h>

void
azo_ratelog_init(azo_ratelog_t *rl, int64_t window_ms)
{
    rl->window_ms = window_ms;
    rl->window_start = 0;
    rl->suppressed = 0;
}

void
azo_ratelog(azo_ratelog_t *rl, const char *fmt, ...)
{
    int64_t now = zclock_mono();
    if (rl->window_start && now - rl->window_start < rl->window_ms) {
        rl->suppressed++;
        return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (rl->suppressed)
        zsys_warning("%s (%llu similar messages suppressed)", msg,
                     (unsigned long long)rl->suppressed);
    else
        zsys_warning("%s", msg);
    rl->window_start = now;
    rl->suppressed = 0;
}
