// azo_pay — the payment-recovery actor: durable ledger, idempotent retries
// (#7). Until #7 lands it owns the "pay." command prefix and answers each
// planned command with an honest `unavailable` error; nothing pretends to
// work. Runs in its own thread like every actor.
#ifndef AZO_PAY_H
#define AZO_PAY_H

#include "azo_actor.h"

// The actor's definition, registered by azod as "payment-recovery".
extern const azo_actor_def_t azo_pay_def;

#endif
