// azo_actor — the actor API and its thread-mode runner. An actor is a
// definition (name, command prefix, init/fini, command table, config keys)
// that the runtime runs in its own thread with its own zloop. It talks only
// by messages: commands to other actors (one-way, or with a reply
// callback), replies, and published events. Every function here is called
// from the actor's own thread, except azo_actor_spawn (supervisor thread).
#ifndef AZO_ACTOR_H
#define AZO_ACTOR_H

#include "azo_cmd.h"
#include "azo_config.h"
#include "azo_registry.h"
#include "azo_store.h"

#include <czmq.h>
#include <pthread.h>

typedef struct azo_actor azo_actor_t;

typedef struct {
    const char *name;   // registry name, "scheduler"
    const char *prefix; // command prefix it owns, "sched."
    // Runs in the actor's thread before it takes messages. On success sets
    // *self_p to the actor's state and returns 0; a negative code makes the
    // actor exit with reason "failed".
    int (*init)(azo_actor_t *actor, void **self_p);
    // Runs in the actor's thread when it stops after a successful init;
    // frees the state. May be NULL.
    void (*fini)(void *self);
    const azo_cmd_entry_t *cmds; // commands, each prefixed by prefix
    size_t ncmds;
    const azo_cfg_key_t *keys; // config keys under actors/<name>/,
    size_t nkeys;              // paths relative ("jobs/*/every")
    // Checks the actor's settings beyond what the schema's types say
    // (rules across keys, cron expressions) when the config is loaded:
    // base is "actors/<name>". Returns 0, or AZO_EBADREQ with the reason in
    // err (azo_config_fail names file, line and key). May be NULL. Any
    // thread; no side effects.
    int (*check)(const azo_config_t *cfg, const char *base, char *err,
                 size_t errlen);
    // The default of actors/<name>/failover: true for an actor whose state
    // need not stay on its node (it may be restarted on another node when
    // its node is lost); false keeps it pinned to its node's LMDB.
    bool failover;
} azo_actor_def_t;

// Context. Strings and objects are borrowed for the actor's life.
const char *azo_actor_name(const azo_actor_t *self);
const char *azo_actor_node(const azo_actor_t *self);
zloop_t *azo_actor_loop(azo_actor_t *self);
const azo_config_t *azo_actor_config(const azo_actor_t *self);
azo_store_t *azo_actor_store(azo_actor_t *self);
int azo_actor_db(const azo_actor_t *self); // this actor's named database

// Starts a message: packs the request head for cmd and returns the packer;
// the caller packs exactly one object, the args map, then calls
// azo_actor_send or azo_actor_call. The packer is valid until then.
msgpack_packer *azo_actor_msg(azo_actor_t *self, const char *cmd);

// Sends the started message one-way to actor to (NULL: the owner of the
// command's prefix). Returns 0, AZO_ENOTFOUND (no such actor),
// AZO_EUNAVAIL (down, or its inbox is full).
int azo_actor_send(azo_actor_t *self, const char *to);

// Like azo_actor_send with a blocking wait of up to wait_ms (< 0: forever)
// while the receiver's inbox is full: back-pressure for bulk producers.
int azo_actor_send_wait(azo_actor_t *self, const char *to, int wait_ms);

// The reply callback of azo_actor_call, called exactly once in the actor's
// thread: with the reply, or with a synthesized failure (timeout,
// unavailable). self is the actor's state; rep is borrowed for the call.
typedef void(azo_reply_fn)(void *self, const azo_rep_t *rep, void *arg);

// Sends the started message as a request and calls fn when the reply comes
// or timeout_ms passes. Returns 0 (fn will be called), or a negative code
// (fn will not be called). Pending calls are dropped, without callback,
// when the actor stops.
int azo_actor_call(azo_actor_t *self, const char *to, int64_t timeout_ms,
                   azo_reply_fn *fn, void *arg);

// Every actor also answers "<prefix>ping" itself (the runtime, not the
// command table): {actor, node, mode, pid, gen, uptime_ms}.

// Starts an event on topic: packs v, ts, node and src and returns the
// packer; the caller packs nfields key/value pairs, then azo_actor_publish.
msgpack_packer *azo_actor_event(azo_actor_t *self, const char *topic,
                                uint32_t nfields);

// Publishes the started event. Never blocks: a slow subscriber loses
// events rather than stalling the actor. Returns 0, AZO_EBADREQ when the
// topic was not a valid one (azo_wire_topic_ok: 1..128 bytes of UTF-8
// without spaces or control characters), or another negative code.
int azo_actor_publish(azo_actor_t *self);

// Publishes on topic the fields of body (len bytes: one msgpack map), but
// those the event envelope has (v, ts, node, src: the envelope's win, so no
// key appears twice). Returns azo_actor_publish's codes, or AZO_EBADREQ
// when body is not a map.
int azo_actor_publish_map(azo_actor_t *self, const char *topic,
                          const void *body, size_t len);

// Inside a command handler: takes reply over to answer after the handler
// returns. Returns the reply to complete later (owned by the runtime until
// azo_actor_reply), or NULL for one-way requests or when out of memory; then
// reply must be written now. Replies still deferred when the actor stops
// are answered "unavailable".
azo_reply_t *azo_actor_defer(azo_actor_t *self, azo_reply_t *reply);

// Sends a deferred reply (written with azo_reply_*) and frees it; sets
// *later_p to NULL. Returns 0 or AZO_EUNAVAIL (requester gone).
int azo_actor_reply(azo_actor_t *self, azo_reply_t **later_p);

// Timers at an absolute monotonic deadline (zclock_mono() milliseconds).
// fn runs once in the actor's thread with the actor's state. Returns a
// timer id > 0 or a negative code.
typedef void(azo_timer_fn)(void *self, void *arg);
int azo_actor_timer_at(azo_actor_t *self, int64_t deadline, azo_timer_fn *fn,
                       void *arg);

// Cancels a pending timer; unknown or fired ids are ignored.
void azo_actor_timer_cancel(azo_actor_t *self, int id);

// Ends the actor after the current callback. failed: exit reason "failed"
// (the supervisor applies the restart policy); otherwise "normal".
// reason is copied.
void azo_actor_exit(azo_actor_t *self, bool failed, const char *reason);

// What the supervisor gives a new actor instance; copied by spawn.
typedef struct {
    const azo_actor_def_t *def; // borrowed, static
    azo_registry_t *reg;        // borrowed
    int idx;                    // registry index
    uint32_t gen;               // inbox generation of this instance
    azo_store_t *store;         // borrowed
    const azo_config_t *cfg;    // borrowed
    const char *node;           // borrowed
    int hwm;                    // inbox and outbox queue limit
    int64_t heartbeat_ms;       // heartbeat interval to the supervisor
    int64_t orphan_grace_ms;    // process: stop after this long alone
    zsock_t *pipe;              // internal: set by spawn
} azo_actor_env_t;

// Supervisor thread: runs env->def in a new joinable thread, with every
// signal blocked. On success returns 0, *pipe_p is the supervisor's end of
// the actor's pipe (owned; send "$TERM" on it to ask the actor to stop) and
// *thread_p the thread. Everything else comes to the supervisor's inbox as
// lifecycle frames (azo_life): heartbeats every env->heartbeat_ms, READY
// once init succeeded, and EXIT as each instance's last act. After EXIT
// the thread waits on the pipe for "RESTART <gen>" (a new instance in the
// same thread) or "STOP" (it ends; join it) — unless the EXIT names a next
// generation: a quick restart, allowed by a "TICKET <ms>" sent after READY
// (see azo_actor.c). A thread that never sends EXIT cannot be killed:
// detach it and close the pipe.
int azo_actor_spawn(const azo_actor_env_t *env, zsock_t **pipe_p,
                    pthread_t *thread_p);

// Process mode (azod --actor): runs env->def in the calling thread until
// it stops, talking to the supervisor only through dealer (borrowed, its
// routing id set and connected to the cluster endpoint). sigfd (borrowed,
// or -1) is a signalfd for SIGTERM/SIGINT, which stop the actor. A standby
// waits, connected, for an ACTIVATE frame before it runs init. The actor
// also stops by itself after env->orphan_grace_ms without a frame from the
// supervisor. Returns the process exit status: 0, or 1 when it failed.
int azo_actor_run_process(const azo_actor_env_t *env, zsock_t *dealer,
                          int sigfd, bool standby);

#endif
