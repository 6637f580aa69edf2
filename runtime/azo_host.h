// azo_host — the main of a process actor, `azod --actor NAME`: loads the
// effective configuration the supervisor wrote, opens the node's store,
// connects to the supervisor's cluster endpoint and runs the actor (or
// waits as its standby) until it stops. Main thread of that process.
#ifndef AZO_HOST_H
#define AZO_HOST_H

#include "azo_actor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *config;  // the effective configuration file
    const char *actor;   // the actor's name
    uint32_t gen;        // its generation (ignored for a standby)
    const char *cluster; // the supervisor's cluster endpoint, as bound
    const char *node;    // the node's name
    bool standby;        // wait for ACTIVATE before init
} azo_host_opts_t;

// Runs the process actor described by o. defs lists every actor this
// binary knows (as for azo_sup_open); sigfd is a signalfd for SIGTERM and
// SIGINT (borrowed). Returns the process exit status: 0 after a normal
// stop, 1 after a failure, 2 for bad arguments or configuration. Errors
// go to the log (stderr).
int azo_host_run(const azo_host_opts_t *o, const azo_actor_def_t *const *defs,
                 size_t ndefs, int sigfd);

#endif
