// azo_idmap — zhashx set up for numeric keys. Stateless helpers.
#include "azo_idmap.h"

static size_t
s_hash(const void *key)
{
    return (size_t)(uintptr_t)key;
}

static int
s_cmp(const void *a, const void *b)
{
    return (uintptr_t)a < (uintptr_t)b ? -1 : (uintptr_t)a > (uintptr_t)b;
}

zhashx_t *
azo_idmap_new(void)
{
    zhashx_t *map = zhashx_new();
    if (!map)
        return NULL;
    zhashx_set_key_hasher(map, s_hash);
    zhashx_set_key_comparator(map, s_cmp);
    zhashx_set_key_duplicator(map, NULL);
    zhashx_set_key_destructor(map, NULL);
    return map;
}
