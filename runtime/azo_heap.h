// azo_heap — an intrusive binary min-heap of int64 keys (deadlines), for
// timer queues: an item embeds an azo_heap_node_t and can be removed or
// re-keyed in O(log n) wherever it sits. The heap stores borrowed pointers
// and never frees items. One thread; no locking.
#ifndef AZO_HEAP_H
#define AZO_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Embedded in an item. Zero-initialised (or azo_heap_node_init) = not in a
// heap.
typedef struct {
    int64_t key;
    size_t pos; // index + 1 in the heap, 0 when not in one
} azo_heap_node_t;

// View type: the caller's storage, azo_heap_init/fini.
typedef struct {
    azo_heap_node_t **v; // owned array of borrowed nodes
    size_t n, cap;
} azo_heap_t;

// The item that embeds node as member.
#define AZO_HEAP_ITEM(node, type, member)                                      \
    ((type *)(void *)((char *)(node)-offsetof(type, member)))

void azo_heap_init(azo_heap_t *h);

// Frees the array; the items stay the caller's (their nodes are left as
// they were).
void azo_heap_fini(azo_heap_t *h);

static inline bool
azo_heap_has(const azo_heap_node_t *node)
{
    return node->pos != 0;
}

// Places node at key, or moves it there if it is in the heap already.
// Returns 0 or -ENOMEM (node is then not in the heap).
int azo_heap_set(azo_heap_t *h, azo_heap_node_t *node, int64_t key);

// Takes node out; a node not in the heap is ignored.
void azo_heap_remove(azo_heap_t *h, azo_heap_node_t *node);

// The node with the smallest key, or NULL when empty. Borrowed.
azo_heap_node_t *azo_heap_top(const azo_heap_t *h);

#endif
