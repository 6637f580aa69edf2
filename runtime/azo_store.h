// azo_store — the node's LMDB environment, <data_dir>/azo.lmdb, with one
// named database per actor plus the supervisor's ("sup"). The main thread
// opens it (and every named database) before actors start; afterwards every
// thread may use the shared handle with its own transactions (MDB_NOTLS).
// Values are opaque bytes here; callers store msgpack. Does not retry, grow
// the map or hold transactions across calls.
#ifndef AZO_STORE_H
#define AZO_STORE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct azo_store azo_store_t;
typedef struct azo_txn azo_txn_t;

typedef struct {
    int64_t map_bytes;  // map size in effect (may exceed the configured)
    int64_t used_bytes; // last used page * page size
    int64_t entries;    // total entries over all named databases
    int readers;        // reader slots ever used (LMDB me_numreaders: a
                        // high-water mark, not the current count)
} azo_store_info_t;

// Opens (creating if needed, modes 0700 dir / 0600 files) the environment in
// directory dir (e.g. "data/azo.lmdb"; parents are created) with the given
// map size, clears stale reader slots, and opens or creates the named
// databases dbs[0..ndbs). map_bytes 0 keeps LMDB's default or the file's
// size; a size below the data already in the file is raised to fit. On
// success *out owns it. On failure returns -errno (-EINVAL: empty dir or
// negative map_bytes), AZO_EINTERNAL (not an LMDB file, version mismatch,
// corrupt), AZO_EBADREQ (a db name over LMDB's key limit) or AZO_ESTOREFULL
// (map too small to create the dbs); *out is NULL, nothing stays open, and
// err (may be NULL) says what was wrong with which path, e.g.
// "data/azo.lmdb: MDB_INVALID: File is not an LMDB file". dbs is borrowed
// for the call.
int azo_store_open(azo_store_t **out, const char *dir, int64_t map_bytes,
                   const char *const *dbs, size_t ndbs, char *err,
                   size_t errlen);

// Like azo_store_open with AZO_STORE_VOLATILE in flags: commits are not
// synced to disk (MDB_NOSYNC). They survive a crash of this process, not of
// the machine: for state that a power loss makes moot anyway, such as the
// pids of running processes.
#define AZO_STORE_VOLATILE 1u
int azo_store_open_flags(azo_store_t **out, const char *dir, int64_t map_bytes,
                         const char *const *dbs, size_t ndbs, unsigned flags,
                         char *err, size_t errlen);

// Closes *self_p if not NULL and sets it to NULL. No transaction may be open.
void azo_store_close(azo_store_t **self_p);

// Returns the handle of named database name (>= 0), or AZO_ENOTFOUND if it
// was not opened by azo_store_open.
int azo_store_db(const azo_store_t *self, const char *name);

// Fills info. Returns 0 or a negative code.
int azo_store_info(azo_store_t *self, azo_store_info_t *info);

// Begins a transaction; *txn_p owns it until commit or abort. Read
// transactions may run concurrently with one writer and may move between
// threads. A write transaction blocks until the current writer ends, must
// end on the thread that began it, and a thread may hold only one (a second
// would deadlock). Returns 0 or negative.
int azo_store_begin(azo_store_t *self, bool write, azo_txn_t **txn_p);

// Commits and frees *txn_p (set to NULL either way). Returns 0, or
// AZO_ESTOREFULL when the LMDB map or the disk is full (MDB_MAP_FULL,
// ENOSPC, EDQUOT: nothing was written), or another negative code.
int azo_store_commit(azo_txn_t **txn_p);

// Aborts and frees *txn_p if not NULL; sets it to NULL.
void azo_store_abort(azo_txn_t **txn_p);

// Stores key -> val in database db (an azo_store_db handle) of a write
// transaction. Returns 0, AZO_ESTOREFULL (map full; the transaction is then
// unusable: every later call and the commit return AZO_ESTOREFULL again),
// AZO_EBADREQ (empty or over-long key: LMDB's 511-byte limit; the
// transaction stays usable), or another negative code.
int azo_txn_put(azo_txn_t *txn, int db, const void *key, size_t klen,
                const void *val, size_t vlen);

// Looks key up. Returns AZO_EBADREQ for an empty or over-long key. On
// success *val/*vlen point into the map: borrowed until
// the transaction ends; copy before commit or abort. Returns 0 or
// AZO_ENOTFOUND.
int azo_txn_get(azo_txn_t *txn, int db, const void *key, size_t klen,
                const void **val, size_t *vlen);

// Deletes key (write transaction). Returns 0, AZO_ENOTFOUND (transaction
// stays usable), AZO_EBADREQ (bad key) or another negative code.
int azo_txn_del(azo_txn_t *txn, int db, const void *key, size_t klen);

// Called per entry in key order; key and val are borrowed for the call.
// Return 0 to go on, > 0 to stop early (azo_txn_each returns 0), < 0 to
// stop and make azo_txn_each return that code.
typedef int(azo_store_each_fn)(const void *key, size_t klen, const void *val,
                               size_t vlen, void *arg);

// Visits the entries of db whose key starts with prefix (plen 0: all). fn
// must not write through txn. Returns 0, fn's negative code, or another
// negative code.
int azo_txn_each(azo_txn_t *txn, int db, const void *prefix, size_t plen,
                 azo_store_each_fn *fn, void *arg);

// Like azo_txn_each, starting at the first key >= from (flen 0: at the
// prefix): a seek for paging. Keys before the prefix range are never
// visited.
int azo_txn_each_from(azo_txn_t *txn, int db, const void *prefix, size_t plen,
                      const void *from, size_t flen, azo_store_each_fn *fn,
                      void *arg);

// Stores the msgpack value in sb (one complete object, e.g. built with a
// packer on sb) under key. Same returns as azo_txn_put, plus AZO_EBADREQ
// when sb does not hold exactly one valid object (azo_mp_check): nothing
// malformed is ever written.
int azo_txn_put_mp(azo_txn_t *txn, int db, const void *key, size_t klen,
                   const msgpack_sbuffer *sb);

// Looks key up and decodes its value into *obj, allocating from zone.
// Strings in *obj point into the map: borrowed until the transaction ends.
// Returns 0, AZO_ENOTFOUND, or AZO_EINTERNAL when the stored bytes are not
// one valid msgpack object (a corrupt record: logged with the database and
// key, rate-limited by the caller's retries, never an abort).
int azo_txn_get_mp(azo_txn_t *txn, int db, const void *key, size_t klen,
                   msgpack_zone *zone, msgpack_object *obj);

// One-shot helpers, each in its own committed transaction.
int azo_store_put(azo_store_t *self, int db, const void *key, size_t klen,
                  const void *val, size_t vlen);
// On success *val is a malloc'd copy the caller frees. Returns 0 or
// AZO_ENOTFOUND or another negative code.
int azo_store_get(azo_store_t *self, int db, const void *key, size_t klen,
                  void **val, size_t *vlen);
int azo_store_del(azo_store_t *self, int db, const void *key, size_t klen);

#endif
