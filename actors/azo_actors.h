// azo_actors — the actors this build of azod knows, in their default start
// order. Static data; any thread.
#ifndef AZO_ACTORS_H
#define AZO_ACTORS_H

#include "azo_actor.h"

#include <stddef.h>

// Returns the actor definitions (static) and sets *n to their count.
const azo_actor_def_t *const *azo_actors_all(size_t *n);

#endif
