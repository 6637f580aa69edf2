// azo_idmap — a czmq hash table keyed by 64-bit numbers (request tokens,
// sequence numbers) instead of strings. The keys are the numbers
// themselves (no copies); values are the caller's. Per thread.
#ifndef AZO_IDMAP_H
#define AZO_IDMAP_H

#include <czmq.h>
#include <stdint.h>

// Returns a zhashx whose keys are AZO_IDMAP_KEY(n) for any n != 0 (no
// key duplicator or destructor; no value destructor unless the caller
// sets one), or NULL if out of memory.
zhashx_t *azo_idmap_new(void);

#define AZO_IDMAP_KEY(n) ((void *)(uintptr_t)(n))

#endif
