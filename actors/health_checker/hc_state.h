// hc_state — the health-checker's judgement, without I/O: the state of a
// probed target from its run of successes and failures (thresholds), the
// state of an actor from what the supervisor says of it (heartbeat age in
// heartbeat intervals), and the worst of several states. Pure; any thread.
#ifndef HC_STATE_H
#define HC_STATE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    HC_UNKNOWN, // not judged yet
    HC_HEALTHY,
    HC_DEGRADED, // works, but late, slow, over a threshold, or failing
                 // below the failure threshold
    HC_DOWN,
} hc_state_t;

// "unknown", "healthy", "degraded", "down".
const char *hc_state_name(hc_state_t s);

// The worse of a and b (down > degraded > unknown > healthy).
hc_state_t hc_state_worst(hc_state_t a, hc_state_t b);

// A probed target's run of results. Zero-initialised = unknown.
typedef struct {
    hc_state_t state;
    int fails;         // failures in a row
    int oks;           // successes in a row
    uint64_t probes;   // in all
    uint64_t failures; // in all
} hc_track_t;

// Feeds one probe outcome into t: ok (a success, slow if it took longer
// than the target's degraded_after). A failure makes a healthy target
// degraded at once and down at failure_threshold failures in a row; an
// unknown or down target becomes healthy after success_threshold
// successes in a row, a degraded one at its first success. A slow success
// counts as a success but leaves the target degraded. Returns true when
// t->state changed.
bool hc_state_feed(hc_track_t *t, int failure_threshold, int success_threshold,
                   bool ok, bool slow);

// An actor's state from the supervisor's view of it: sup_state
// ("running", "starting", ...), the age of its last heartbeat, its
// heartbeat interval, and the heartbeats missed (liveness) before it
// counts as down. Sets *missed to the heartbeats missed (half an interval
// of slack: an age under 1.5 intervals misses none) and *why to a static
// reason. Running and on time: healthy; running and late: degraded;
// late by liveness heartbeats or more, or not running (stopped, backoff,
// failed, stopping): down; starting: unknown.
hc_state_t hc_state_actor(const char *sup_state, int64_t hb_age_ms,
                          int64_t heartbeat_ms, int liveness, int *missed,
                          const char **why);

#endif
