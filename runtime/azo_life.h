// azo_life — the lifecycle messages between an actor instance and its
// supervisor, carried in bus frames of kind 'L': heartbeats (which also
// introduce a process actor), ready, exit, and from the supervisor term,
// activate and its own heartbeat. The body is a msgpack map; it crosses a
// socket for process actors, so decoding is strict and never aborts.
// Stateless; any thread.
#ifndef AZO_LIFE_H
#define AZO_LIFE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum {
    AZO_LIFE_HB,       // "hb": alive (an actor's, or the supervisor's)
    AZO_LIFE_READY,    // "ready": init done, takes messages
    AZO_LIFE_EXIT,     // "exit": stopping now; reason and failed say why
    AZO_LIFE_TERM,     // "term": supervisor asks the instance to stop
    AZO_LIFE_ACTIVATE, // "activate": supervisor turns a standby active
} azo_life_ev_t;

typedef struct {
    azo_life_ev_t ev;
    uint32_t gen;     // the instance's generation (0: a standby)
    int64_t pid;      // the sender's process id
    bool standby;     // hb: sent by a standby process
    bool failed;      // exit: a failure (the restart policy applies)
    uint32_t next;    // exit: the generation that follows at once in the
                      // same thread and inbox (a quick restart), or 0
    char reason[128]; // exit: what happened, one line
    int64_t tid;      // hb, ready: the sender's kernel thread id (a
                      // process actor's main thread: its pid), or 0
} azo_life_t;

// Clears sb and packs life into it; next and tid only when not 0. Returns
// 0.
int azo_life_pack(msgpack_sbuffer *sb, const azo_life_t *life);

// Decodes body into *out. Returns 0 or AZO_EBADREQ (malformed, unknown
// event, wrong types, a negative tid). Absent next and tid decode as 0.
int azo_life_decode(const void *body, size_t len, azo_life_t *out);

#endif
