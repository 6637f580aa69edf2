// azo_heap — intrusive min-heap of deadlines (see azo_heap.h).
#include "azo_heap.h"

#include <errno.h>
#include <stdlib.h>

void
azo_heap_init(azo_heap_t *h)
{
    *h = (azo_heap_t){0};
}

void
azo_heap_fini(azo_heap_t *h)
{
    free(h->v);
    *h = (azo_heap_t){0};
}

static void
s_put(azo_heap_t *h, size_t i, azo_heap_node_t *node)
{
    h->v[i] = node;
    node->pos = i + 1;
}

static void
s_up(azo_heap_t *h, size_t i)
{
    azo_heap_node_t *node = h->v[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->v[p]->key <= node->key)
            break;
        s_put(h, i, h->v[p]);
        i = p;
    }
    s_put(h, i, node);
}

static void
s_down(azo_heap_t *h, size_t i)
{
    azo_heap_node_t *node = h->v[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = l;
        if (l >= h->n)
            break;
        if (r < h->n && h->v[r]->key < h->v[l]->key)
            m = r;
        if (node->key <= h->v[m]->key)
            break;
        s_put(h, i, h->v[m]);
        i = m;
    }
    s_put(h, i, node);
}

int
azo_heap_set(azo_heap_t *h, azo_heap_node_t *node, int64_t key)
{
    if (node->pos) {
        size_t i = node->pos - 1;
        node->key = key;
        s_up(h, i);
        s_down(h, node->pos - 1);
        return 0;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        azo_heap_node_t **v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    node->key = key;
    s_put(h, h->n++, node);
    s_up(h, h->n - 1);
    return 0;
}

void
azo_heap_remove(azo_heap_t *h, azo_heap_node_t *node)
{
    if (!node->pos)
        return;
    size_t i = node->pos - 1;
    node->pos = 0;
    h->n--;
    if (i == h->n)
        return;
    azo_heap_node_t *moved = h->v[h->n];
    s_put(h, i, moved);
    s_up(h, i);
    s_down(h, moved->pos - 1);
}

azo_heap_node_t *
azo_heap_top(const azo_heap_t *h)
{
    return h->n ? h->v[0] : NULL;
}
