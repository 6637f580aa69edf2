// azo_registry — party directory for routing. Entries are written by the
// supervisor thread; generation and state are C11 atomics so actor threads
// can read them without locks on every send.
#include "azo_registry.h"
#include "azo_err.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char name[AZO_REG_MAX_NAME + 1];
    char prefix[AZO_REG_MAX_NAME + 2]; // "" when none
    size_t prefix_len;
    _Atomic uint32_t gen;
    _Atomic bool up;
    _Atomic bool starting; // inbox bound, init running: replies only
    _Atomic bool remote;
} s_entry_t;

struct azo_registry {
    unsigned uid; // distinguishes registries (nodes) within one process
    int size;
    s_entry_t entries[AZO_REG_MAX];
};

// Process-wide counter for registry uids: written by whichever thread
// creates a registry (atomically), never read otherwise.
static _Atomic unsigned s_next_uid;

static bool
s_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > AZO_REG_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

azo_registry_t *
azo_registry_new(void)
{
    azo_registry_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->uid = atomic_fetch_add(&s_next_uid, 1);
    strcpy(self->entries[AZO_REG_SUP].name, "sup");
    self->size = 1;
    return self;
}

void
azo_registry_destroy(azo_registry_t **self_p)
{
    if (self_p && *self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

int
azo_registry_add(azo_registry_t *self, const char *name, const char *prefix)
{
    assert(self && name);
    if (!s_name_ok(name) || (prefix && strlen(prefix) > AZO_REG_MAX_NAME))
        return AZO_EBADREQ;
    if (azo_registry_find(self, name) >= 0)
        return AZO_ECONFLICT;
    for (int i = 0; prefix && i < self->size; i++)
        if (strcmp(self->entries[i].prefix, prefix) == 0)
            return AZO_ECONFLICT;
    if (self->size == AZO_REG_MAX)
        return -ENOSPC;
    s_entry_t *e = &self->entries[self->size];
    strcpy(e->name, name);
    if (prefix)
        strcpy(e->prefix, prefix);
    e->prefix_len = strlen(e->prefix);
    return self->size++;
}

int
azo_registry_size(const azo_registry_t *self)
{
    return self->size;
}

int
azo_registry_find(const azo_registry_t *self, const char *name)
{
    for (int i = 0; i < self->size; i++)
        if (strcmp(self->entries[i].name, name) == 0)
            return i;
    return AZO_ENOTFOUND;
}

int
azo_registry_route(const azo_registry_t *self, const char *cmd)
{
    for (int i = 1; i < self->size; i++) {
        const s_entry_t *e = &self->entries[i];
        if (e->prefix_len && strncmp(cmd, e->prefix, e->prefix_len) == 0)
            return i;
    }
    return AZO_REG_SUP;
}

const char *
azo_registry_name(const azo_registry_t *self, int idx)
{
    assert(idx >= 0 && idx < self->size);
    return self->entries[idx].name;
}

uint32_t
azo_registry_gen(const azo_registry_t *self, int idx)
{
    assert(idx >= 0 && idx < self->size);
    return atomic_load_explicit(&self->entries[idx].gen, memory_order_acquire);
}

bool
azo_registry_up(const azo_registry_t *self, int idx)
{
    assert(idx >= 0 && idx < self->size);
    return atomic_load_explicit(&self->entries[idx].up, memory_order_acquire);
}

void
azo_registry_set_up(azo_registry_t *self, int idx, uint32_t gen)
{
    assert(idx >= 0 && idx < self->size);
    atomic_store_explicit(&self->entries[idx].gen, gen, memory_order_release);
    atomic_store_explicit(&self->entries[idx].up, true, memory_order_release);
    atomic_store_explicit(&self->entries[idx].starting, false,
                          memory_order_release);
}

void
azo_registry_set_down(azo_registry_t *self, int idx)
{
    assert(idx >= 0 && idx < self->size);
    atomic_store_explicit(&self->entries[idx].up, false, memory_order_release);
    atomic_store_explicit(&self->entries[idx].starting, false,
                          memory_order_release);
}

void
azo_registry_set_starting(azo_registry_t *self, int idx, uint32_t gen)
{
    assert(idx >= 0 && idx < self->size);
    atomic_store_explicit(&self->entries[idx].up, false, memory_order_release);
    atomic_store_explicit(&self->entries[idx].gen, gen, memory_order_release);
    atomic_store_explicit(&self->entries[idx].starting, true,
                          memory_order_release);
}

bool
azo_registry_takes_replies(const azo_registry_t *self, int idx)
{
    assert(idx >= 0 && idx < self->size);
    return atomic_load_explicit(&self->entries[idx].up, memory_order_acquire) ||
           atomic_load_explicit(&self->entries[idx].starting,
                                memory_order_acquire);
}

void
azo_registry_set_remote(azo_registry_t *self, int idx, bool remote)
{
    assert(idx >= 0 && idx < self->size);
    atomic_store_explicit(&self->entries[idx].remote, remote,
                          memory_order_release);
}

bool
azo_registry_remote(const azo_registry_t *self, int idx)
{
    assert(idx >= 0 && idx < self->size);
    return atomic_load_explicit(&self->entries[idx].remote,
                                memory_order_acquire);
}

void
azo_registry_endpoint(const azo_registry_t *self, int idx, uint32_t gen,
                      char *buf, size_t len)
{
    snprintf(buf, len, "inproc://azo-%d-%u-%s-%u", (int)getpid(), self->uid,
             self->entries[idx].name, gen);
}

void
azo_registry_events_endpoint(const azo_registry_t *self, char *buf, size_t len)
{
    snprintf(buf, len, "inproc://azo-%d-%u-events", (int)getpid(), self->uid);
}
