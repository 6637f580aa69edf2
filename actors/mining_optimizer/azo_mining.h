// azo_mining — the mining-optimizer actor: profitability, switching with
// hysteresis (#9). Until #9 lands it owns the "mining." command prefix and
// answers each planned command with an honest `unavailable` error; nothing
// pretends to work. Runs in its own thread like every actor.
#ifndef AZO_MINING_H
#define AZO_MINING_H

#include "azo_actor.h"

// The actor's definition, registered by azod as "mining-optimizer".
extern const azo_actor_def_t azo_mining_def;

#endif
