// azo_archive — the archiver actor: archiving, log rotation, retention,
// restorable catalog (#8). Until #8 lands it owns the "archive." command prefix
// and answers each planned command with an honest `unavailable` error; nothing
// pretends to work. Runs in its own thread like every actor.
#ifndef AZO_ARCHIVE_H
#define AZO_ARCHIVE_H

#include "azo_actor.h"

// The actor's definition, registered by azod as "archiver".
extern const azo_actor_def_t azo_archive_def;

#endif
