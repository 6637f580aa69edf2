// arc_cat — the archiver's catalog and intents in LMDB (#8). An entry says
// where an archived file came from and where it is: id, original path,
// archive path, size, mtime, SHA-256, compression, job, time, state. An
// intent is written (and committed) before a file is touched and removed in
// the transaction that writes the file's entry, so that after a crash the
// next run knows what was in progress and finishes it. Keys in the actor's
// database:
//   c/<id:be64>    entry
//   i/<id:be64>    intent (same shape as an entry, state "moving")
//   n              the last id given
// Values in the caller's storage; the actor's thread writes.
#ifndef ARC_CAT_H
#define ARC_CAT_H

#include "arc_fs.h"
#include "azo_store.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#define ARC_PATH_MAX 4096
#define ARC_JOB_MAX  128

typedef enum {
    ARC_MOVING,   // an intent: the move or compression may be half done
    ARC_ARCHIVED, // in the archive
    ARC_RESTORED, // put back at its original path
    ARC_PRUNED,   // deleted by max_archived
} arc_state_t;

const char *arc_state_name(int st);

typedef struct {
    uint64_t id;
    char orig[ARC_PATH_MAX]; // where it was
    char path[ARC_PATH_MAX]; // where it is in the archive
    int64_t size;            // bytes of the original
    int64_t mtime;           // the original's mtime, Unix seconds
    char sha[ARC_SHA_HEX];   // SHA-256 of the original's bytes
    bool gzip;               // the archive copy is gzip-compressed
    char job[ARC_JOB_MAX];
    int64_t ts; // when archived (or the intent written), Unix ms
    uint8_t state;
} arc_entry_t;

void arc_entry_pack(const arc_entry_t *e, msgpack_packer *pk);
int arc_entry_unpack(arc_entry_t *e, const msgpack_object *obj);

// Reserves count consecutive ids (the n key, in txn): *first is the
// first. Returns 0 or a negative code.
int arc_cat_next_ids(azo_txn_t *txn, int db, uint64_t count, uint64_t *first);

// Writes e as an intent (i/) or an entry (c/) in txn.
int arc_cat_put(azo_txn_t *txn, int db, const arc_entry_t *e, bool intent);
int arc_cat_del_intent(azo_txn_t *txn, int db, uint64_t id);
// Reads entry (or intent) id. Returns 0, AZO_ENOTFOUND, AZO_EINTERNAL.
int arc_cat_get(azo_txn_t *txn, int db, uint64_t id, bool intent,
                arc_entry_t *e);

// Visits entries (or intents) in id order from id from (0: all); fn
// returns 0 to go on, > 0 to stop. A corrupt value is skipped (counted in
// *bad when not NULL).
typedef int(arc_cat_fn)(const arc_entry_t *e, void *arg);
int arc_cat_each(azo_txn_t *txn, int db, bool intents, uint64_t from,
                 arc_cat_fn *fn, void *arg, int *bad);

#endif
