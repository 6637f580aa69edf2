// azo_registry — the node's directory of addressable parties: the
// supervisor (index AZO_REG_SUP) and every actor, with its command prefix,
// the generation of its current inbox and whether it is up. The supervisor
// thread fills it before any actor starts (names and prefixes are fixed from
// then on) and is the only writer of generation and state afterwards; any
// thread reads them to route a message. Does not own sockets.
#ifndef AZO_REGISTRY_H
#define AZO_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AZO_REG_SUP      0  // the supervisor's index
#define AZO_REG_MAX      64 // parties per node
#define AZO_REG_MAX_NAME 32 // names: [a-z0-9-]{1,32}

typedef struct azo_registry azo_registry_t;

// Returns an empty registry holding only the supervisor ("sup"), or NULL if
// out of memory. Inbox endpoints are unique per registry within a process.
azo_registry_t *azo_registry_new(void);
void azo_registry_destroy(azo_registry_t **self_p);

// Adds an actor (supervisor thread, before any actor starts). prefix is its
// command prefix ("sched."), or NULL. Returns its index, or AZO_ECONFLICT
// (name or prefix taken), AZO_EBADREQ (bad name), -ENOSPC (full).
int azo_registry_add(azo_registry_t *self, const char *name,
                     const char *prefix);

// Returns the number of parties, the supervisor included.
int azo_registry_size(const azo_registry_t *self);

// Returns the index of name, or AZO_ENOTFOUND.
int azo_registry_find(const azo_registry_t *self, const char *name);

// Returns the index of the actor whose prefix starts cmd, or AZO_REG_SUP
// when none does (the supervisor owns unprefixed commands).
int azo_registry_route(const azo_registry_t *self, const char *cmd);

// Returns the name of party idx (static for the registry's life).
const char *azo_registry_name(const azo_registry_t *self, int idx);

// Current inbox generation and state of idx (acquire loads).
uint32_t azo_registry_gen(const azo_registry_t *self, int idx);
bool azo_registry_up(const azo_registry_t *self, int idx);

// Supervisor thread: marks idx up on generation gen (release store), or
// down. Senders drop cached sockets for older generations.
void azo_registry_set_up(azo_registry_t *self, int idx, uint32_t gen);
void azo_registry_set_down(azo_registry_t *self, int idx);

// Supervisor thread: idx's thread has bound its inbox for gen and runs its
// init; it is not up (requests are refused) but takes replies, so that an
// answer to a request it sent from init is not lost. set_up or set_down
// end this.
void azo_registry_set_starting(azo_registry_t *self, int idx, uint32_t gen);

// Whether replies may go to idx: up, or starting.
bool azo_registry_takes_replies(const azo_registry_t *self, int idx);

// Whether idx lives outside this process (a process actor): frames for it
// go through the supervisor, which forwards them over the cluster
// endpoint. Set by the supervisor thread before any actor starts; a
// process actor's own registry marks every party remote.
void azo_registry_set_remote(azo_registry_t *self, int idx, bool remote);
bool azo_registry_remote(const azo_registry_t *self, int idx);

// Writes the inproc endpoint of idx's inbox for generation gen into buf.
void azo_registry_endpoint(const azo_registry_t *self, int idx, uint32_t gen,
                           char *buf, size_t len);

// Writes the inproc endpoint where publishers connect (the supervisor binds
// a PULL there and forwards to the events endpoint).
void azo_registry_events_endpoint(const azo_registry_t *self, char *buf,
                                  size_t len);

#endif
