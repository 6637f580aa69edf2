// azo_node — the messages between a node agent (`azod --join`) and the
// supervisor over the cluster endpoint, carried in bus frames of kind 'N'.
// An agent says `hello` every cluster heartbeat and whenever one of its
// actors changes state: its name, whether it still needs the cluster's
// configuration, and every actor it runs with its placement epoch. The
// supervisor answers each hello (and pushes on any placement change) with
// `state`: the whole assignment of that node, actor by actor with its
// epoch, plus the configuration when asked. Both sides reconcile to the
// whole state each time, so a lost message costs one heartbeat.
//
// Every message between an agent and the supervisor is two frames:
// [epoch: 4 bytes, big endian][bus frame]. The epoch is that of the actor
// that sent the frame (agent to supervisor) or receives it (supervisor to
// agent), 0 for the node itself; a frame whose epoch is not the actor's
// current placement is refused (fencing). Stateless; any thread.
#ifndef AZO_NODE_H
#define AZO_NODE_H

#include "azo_registry.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AZO_NODE_EPOCH_LEN 4
#define AZO_NODE_MAX_NAME  64 // node names: [A-Za-z0-9._-]{1,64}

// One actor as an agent reports it.
typedef struct {
    char name[AZO_REG_MAX_NAME + 1];
    uint32_t epoch;
    char state[16]; // running, starting, stopping, backoff, stopped, failed
    char mode[8];   // thread | process
    uint32_t gen;
    uint64_t restarts;
    int64_t pid;
    int64_t uptime_ms;
    char last_exit[160];
} azo_node_actor_t;

typedef struct {
    char node[AZO_NODE_MAX_NAME + 1];
    char version[32];
    int64_t pid;
    bool need_config; // the agent has no configuration yet
    int nactors;
    azo_node_actor_t actors[AZO_REG_MAX];
} azo_node_hello_t;

// One placement: actor name runs on the receiving node under epoch.
typedef struct {
    char name[AZO_REG_MAX_NAME + 1];
    uint32_t epoch;
} azo_node_assign_t;

typedef struct {
    char node[AZO_NODE_MAX_NAME + 1]; // the supervisor's node
    int64_t heartbeat_ms;
    int64_t liveness;
    const char *config; // the configuration text, or NULL (a view)
    size_t config_len;
    int nassign;
    azo_node_assign_t assign[AZO_REG_MAX];
} azo_node_state_t;

// True when name is a valid node name.
bool azo_node_name_ok(const char *name);

// Clears sb and packs the message into it. Return 0.
int azo_node_hello_pack(msgpack_sbuffer *sb, const azo_node_hello_t *h);
int azo_node_state_pack(msgpack_sbuffer *sb, const azo_node_state_t *s);

// Which message body holds: "hello", "state", or NULL when it is neither
// (malformed). Cheap: only the type is looked at.
const char *azo_node_type(const void *body, size_t len);

// Decode a body. Strict: wrong types, bad names, too many actors or a
// negative number are AZO_EBADREQ. A state's config points into body.
int azo_node_hello_decode(const void *body, size_t len, azo_node_hello_t *out);
int azo_node_state_decode(const void *body, size_t len, azo_node_state_t *out);

// The epoch frame.
void azo_node_epoch_write(void *buf, uint32_t epoch);
uint32_t azo_node_epoch_read(const void *buf);

#endif
