// azo_fuzz — what the libFuzzer targets in tests/fuzz share: the entry
// point's prototype and AZO_FUZZ_CHECK for the invariants they test beyond
// "no sanitizer report". Header only; each target is one process.
#ifndef AZO_FUZZ_H
#define AZO_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

// Called by libFuzzer once per input; data is borrowed for the call. Returns
// 0 (libFuzzer reserves other values).
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// A broken invariant is a finding like a crash: say which one and abort, so
// that libFuzzer saves the input as a crash-* artifact.
#define AZO_FUZZ_CHECK(cond)                                                   \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__,         \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

#endif
