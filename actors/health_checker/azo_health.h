// azo_health — the health-checker actor: heartbeats, TCP/HTTP/exec probes,
// thresholds (#6). Until #6 lands it owns the "health." command prefix and
// answers each planned command with an honest `unavailable` error; nothing
// pretends to work. Runs in its own thread like every actor.
#ifndef AZO_HEALTH_H
#define AZO_HEALTH_H

#include "azo_actor.h"

// The actor's definition, registered by azod as "health-checker".
extern const azo_actor_def_t azo_health_def;

#endif
