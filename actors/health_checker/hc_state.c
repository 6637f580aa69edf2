// hc_state — thresholds and heartbeat judgement (see hc_state.h).
#include "hc_state.h"

#include <string.h>

const char *
hc_state_name(hc_state_t s)
{
    static const char *const names[] = {"unknown", "healthy", "degraded",
                                        "down"};
    return (unsigned)s < 4 ? names[s] : "unknown";
}

// Severity order: healthy < unknown < degraded < down.
static int
s_rank(hc_state_t s)
{
    switch (s) {
    case HC_HEALTHY:
        return 0;
    case HC_UNKNOWN:
        return 1;
    case HC_DEGRADED:
        return 2;
    case HC_DOWN:
        return 3;
    }
    return 1;
}

hc_state_t
hc_state_worst(hc_state_t a, hc_state_t b)
{
    return s_rank(a) >= s_rank(b) ? a : b;
}

bool
hc_state_feed(hc_track_t *t, int failure_threshold, int success_threshold,
              bool ok, bool slow)
{
    hc_state_t was = t->state;
    t->probes++;
    if (ok) {
        t->fails = 0;
        t->oks++;
        bool recovering = t->state == HC_UNKNOWN || t->state == HC_DOWN;
        if (!recovering || t->oks >= success_threshold)
            t->state = slow ? HC_DEGRADED : HC_HEALTHY;
    } else {
        t->failures++;
        t->oks = 0;
        t->fails++;
        if (t->fails >= failure_threshold)
            t->state = HC_DOWN;
        else if (t->state == HC_HEALTHY)
            t->state = HC_DEGRADED;
    }
    return t->state != was;
}

hc_state_t
hc_state_actor(const char *sup_state, int64_t hb_age_ms, int64_t heartbeat_ms,
               int liveness, int *missed, const char **why)
{
    *missed = 0;
    if (!sup_state) {
        *why = "unknown to the supervisor";
        return HC_UNKNOWN;
    }
    if (strcmp(sup_state, "starting") == 0) {
        *why = "starting";
        return HC_UNKNOWN;
    }
    if (strcmp(sup_state, "running") != 0) {
        *why = strcmp(sup_state, "stopped") == 0    ? "stopped"
               : strcmp(sup_state, "backoff") == 0  ? "waiting to restart"
               : strcmp(sup_state, "stopping") == 0 ? "stopping"
               : strcmp(sup_state, "failed") == 0   ? "failed, not restarted"
                                                    : "not running";
        return HC_DOWN;
    }
    if (heartbeat_ms <= 0 || hb_age_ms < 0) {
        *why = "running";
        return HC_HEALTHY;
    }
    int64_t late = hb_age_ms - heartbeat_ms / 2;
    int64_t n = late > 0 ? late / heartbeat_ms : 0;
    *missed = n > 1000000 ? 1000000 : (int)n;
    if (*missed == 0) {
        *why = "heartbeats on time";
        return HC_HEALTHY;
    }
    if (*missed >= liveness) {
        *why = "heartbeats missed";
        return HC_DOWN;
    }
    *why = "heartbeat late";
    return HC_DEGRADED;
}
