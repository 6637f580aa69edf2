// hc_conf — the health-checker's settings of one probed target, read from
// the config section actors/health-checker/targets/<name> and checked
// (exactly one of tcp, http, exec, zmq; addresses; thresholds; actions),
// and the command lines of exec probes and run actions: a JSON array of
// strings ('["/bin/sh", "-c", "exit 1"]') or words split at blanks, never
// given to a shell. Pure; any thread. Used by the config check (azod
// --check and start-up) and by the actor.
#ifndef HC_CONF_H
#define HC_CONF_H

#include "azo_config.h"
#include "hc_probe.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name; // borrowed from the config
    hc_probe_kind_t kind;
    const char *addr;   // tcp/http/zmq, borrowed ("self" already resolved)
    char **argv;        // exec: owned, NULL-terminated
    const char *expect; // http, borrowed, or NULL
    int64_t period_ms, timeout_ms, initial_delay_ms, degraded_after_ms;
    int failure_threshold, success_threshold;
    size_t output_cap;
    const char *restart; // action: actor to restart, borrowed, or NULL
    char **run;          // action: command to run, owned, or NULL
    int64_t action_every_ms, action_timeout_ms;
    const char *server_key;  // zmq CURVE, borrowed, or NULL
    const char *client_cert; // zmq CURVE: a certificate file, or NULL
    char self_addr[256];     // storage of addr for `zmq = self`
    bool self_pending;       // `zmq = self` with a port chosen at bind ("*"):
                       // addr is known once the node says (hc_conf_set_self)
} hc_target_cfg_t;

// Reads and checks target name under base ("actors/health-checker") into
// *out. self_control is the node's control endpoint, which `zmq = self`
// names. Returns 0, or AZO_EBADREQ with err naming file, line, key and
// what was wrong (out is then empty), or -ENOMEM.
int hc_conf_target(const azo_config_t *cfg, const char *base, const char *name,
                   const char *self_control, hc_target_cfg_t *out, char *err,
                   size_t errlen);

// Sets the address of a `zmq = self` target to the node's control
// endpoint as bound (from the supervisor's status), reached on loopback
// when bound to a wildcard host; clears self_pending.
void hc_conf_set_self(hc_target_cfg_t *t, const char *control);

// Frees what *t owns and empties it.
void hc_conf_target_fini(hc_target_cfg_t *t);

#endif
