// azo_sched — the scheduler actor: durable interval and cron jobs for the other
// actors (#5). Until #5 lands it owns the "sched." command prefix and answers
// each planned command with an honest `unavailable` error; nothing pretends to
// work. Runs in its own thread like every actor.
#ifndef AZO_SCHED_H
#define AZO_SCHED_H

#include "azo_actor.h"

// The actor's definition, registered by azod as "scheduler".
extern const azo_actor_def_t azo_sched_def;

#endif
