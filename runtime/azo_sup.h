// azo_sup — the supervisor of one node. It owns the control ROUTER (its own
// commands, and routing of prefixed commands to the owning actor), the
// events XPUB (forwarding what actors publish, plus sup.actor.* lifecycle
// events), the cluster ROUTER (process actors), the node's LMDB store, and
// the actors' lifecycles: start in config order, restart on exit per
// policy and strategy, stop in reverse config order. One
// thread (the caller of azo_sup_run) runs it. Does not parse command lines
// or load the config file (azod does).
#ifndef AZO_SUP_H
#define AZO_SUP_H

#include "azo_actor.h"
#include "azo_config.h"

#include <czmq.h>

#include <stdbool.h>
#include <stddef.h>

typedef struct azo_sup azo_sup_t;

// Exit codes of azod (and of azo_sup_run).
#define AZO_EXIT_OK        0 // clean stop: shutdown command or signal
#define AZO_EXIT_ERROR     1 // could not start or run
#define AZO_EXIT_USAGE     2 // bad command line or config
#define AZO_EXIT_ESCALATED 3 // sup.escalated: intensity, or a hung thread

// Returns the config schema of a node that can run defs[0..ndefs): the
// node, endpoints, supervisor, store and limits sections and, per actor,
// its child spec and its own keys under actors/<name>/. *n is the number
// of keys. One malloc'd block (strings included): the caller free()s it.
// NULL when out of memory.
azo_cfg_key_t *azo_sup_schema(const azo_actor_def_t *const *defs, size_t ndefs,
                              size_t *n);

// Checks what a config asks of the supervisor beyond the schema: the node
// name, the endpoint policy (non-loopback tcp needs endpoints/insecure until
// CURVE exists), and settings this build cannot honour yet (strategies
// other than one_for_one, mode = process). Needs no resources: azod --check
// runs it. Then each running actor's own check (azo_actor_def_t.check) of
// defs[0..ndefs). Returns 0, or a negative code with the reason in err.
int azo_sup_check(const azo_config_t *cfg, const azo_actor_def_t *const *defs,
                  size_t ndefs, char *err, size_t errlen);

// Prepares a node from a validated config: runs azo_sup_check, creates the data
// directory and takes its lock, opens the store, and binds the control and
// events endpoints. defs (static) lists every actor this binary knows; the
// config's actors section says which run, in what order. cfg is borrowed and
// must outlive the supervisor. On failure returns a negative code, *out is NULL
// and err says what was wrong.
int azo_sup_open(azo_sup_t **out, const azo_config_t *cfg,
                 const azo_actor_def_t *const *defs, size_t ndefs, char *err,
                 size_t errlen);

// Like azo_sup_open, for a node agent (azod --join): *uplink is a DEALER
// connected to the supervisor's cluster endpoint join (CURVE applied); it
// is taken over (*uplink set to NULL) whatever the result. The agent runs
// no actor until the supervisor assigns it some; cfg is the cluster's
// configuration with this node's own keys (node, endpoints, security,
// store) applied.
int azo_sup_open_agent(azo_sup_t **out, const azo_config_t *cfg,
                       const azo_actor_def_t *const *defs, size_t ndefs,
                       zsock_t **uplink, const char *join, char *err,
                       size_t errlen);

// Has the supervisor read signals from fd, a signalfd(2) for SIGINT,
// SIGTERM and SIGHUP that the caller blocked in every thread: INT and TERM
// stop the node, HUP is logged and ignored. Without it the supervisor
// relies on czmq's handler (zsys_interrupted), which can miss a signal
// that arrives just before the loop blocks in poll. fd stays the caller's.
void azo_sup_set_signalfd(azo_sup_t *self, int fd);

// Adopts the process actors an earlier supervisor left running, starts the
// others, and runs until a shutdown command, SIGINT/SIGTERM, or escalation;
// then stops the actors in reverse config order, each within its shutdown
// time. Returns an AZO_EXIT_* code.
int azo_sup_run(azo_sup_t *self);

// True when some actor thread did not stop within its shutdown time and was
// abandoned: the process must then leave with _exit() rather than tear down
// the ZeroMQ context, which would wait for that thread forever.
bool azo_sup_abandoned(const azo_sup_t *self);

// Closes everything and frees *self_p; sets it to NULL.
void azo_sup_close(azo_sup_t **self_p);

#endif
