// azo_store — the node's LMDB environment (DESIGN.md "State"): one env in a
// directory (data.mdb + lock.mdb, so mdb_stat and mdb_dump work), one named
// database per actor. Owns the MDB_env, the MDB_dbi table and the names.
//
// Threads: the main thread opens the store and every named database in one
// write transaction before actors start; LMDB requires dbi handles to be
// opened before other threads use them. After that the store is read-only
// and any thread may begin its own transactions. MDB_NOTLS ties reader slots
// to transactions, not threads, so zactor threads may hold several read
// transactions; a write transaction still belongs to the thread that began
// it (LMDB's writer mutex), and one thread holds at most one.
//
// Does not: retry, grow the map, hold transactions across calls, interpret
// values, or log open errors (they go to the caller's err buffer).
#include "azo_store.h"
#include "azo_fs.h"

#include "azo_err.h"
#include "azo_mp.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <lmdb.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

struct azo_store {
    MDB_env *env;    // owned
    char *path;      // owned, the directory
    char **names;    // owned, ndbs strings
    MDB_dbi *dbis;   // owned, ndbs handles, same order as names
    size_t ndbs;     // entries in names and dbis
    size_t maxkey;   // mdb_env_get_maxkeysize
    atomic_int ntxn; // open transactions, checked at close
};

struct azo_txn {
    MDB_txn *txn;       // owned
    azo_store_t *store; // borrowed
    bool write;         // begun as a write txn
    int failed;         // first error that made LMDB mark the txn broken
};

// Translates an LMDB return value (see STYLE §4). what names the operation
// for the log.
static int
s_rc(int rc, const char *what)
{
    if (rc == 0)
        return 0;
    if (rc == MDB_NOTFOUND)
        return AZO_ENOTFOUND;
    if (rc == MDB_MAP_FULL)
        return AZO_ESTOREFULL;
    if (rc == MDB_BAD_VALSIZE)
        return AZO_EBADREQ;
    if (rc > 0)
        return -rc; // LMDB passes system errors through as errno values
    zsys_error("azo_store: %s: %s", what, mdb_strerror(rc));
    return AZO_EINTERNAL;
}

// Same as s_rc, without logging: open errors go to the caller's err buffer.
static int
s_open_rc(int rc)
{
    if (rc == MDB_MAP_FULL)
        return AZO_ESTOREFULL;
    if (rc == MDB_BAD_VALSIZE)
        return AZO_EBADREQ;
    if (rc > 0)
        return -rc;
    return AZO_EINTERNAL;
}

static void
s_store_free(azo_store_t *self)
{
    if (!self)
        return;
    if (self->env)
        mdb_env_close(self->env);
    for (size_t i = 0; self->names && i < self->ndbs; i++)
        free(self->names[i]);
    free(self->names);
    free(self->dbis);
    free(self->path);
    free(self);
}

// Opens or creates every named database in one write txn. Returns 0 or a
// negative code and fills err.
static int
s_open_dbs(azo_store_t *self, const char *const *dbs, char *err, size_t errlen)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc != 0) {
        (void)azo_err_set(err, errlen, 0, "%s: %s", self->path,
                          mdb_strerror(rc));
        return s_open_rc(rc);
    }
    for (size_t i = 0; i < self->ndbs; i++) {
        rc = mdb_dbi_open(txn, dbs[i], MDB_CREATE, &self->dbis[i]);
        if (rc != 0) {
            (void)azo_err_set(err, errlen, 0, "%s: database \"%s\": %s",
                              self->path, dbs[i], mdb_strerror(rc));
            mdb_txn_abort(txn);
            return s_open_rc(rc);
        }
    }
    rc = mdb_txn_commit(txn); // frees txn even on failure
    if (rc != 0) {
        (void)azo_err_set(err, errlen, 0, "%s: %s", self->path,
                          mdb_strerror(rc));
        if (rc == ENOSPC || rc == EDQUOT)
            return AZO_ESTOREFULL;
        return s_open_rc(rc);
    }
    return 0;
}

int
azo_store_open(azo_store_t **out, const char *dir, int64_t map_bytes,
               const char *const *dbs, size_t ndbs, char *err, size_t errlen)
{
    return azo_store_open_flags(out, dir, map_bytes, dbs, ndbs, 0, err, errlen);
}

int
azo_store_open_flags(azo_store_t **out, const char *dir, int64_t map_bytes,
                     const char *const *dbs, size_t ndbs, unsigned flags,
                     char *err, size_t errlen)
{
    assert(out && dir && (dbs || ndbs == 0));
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (*dir == '\0') {
        (void)azo_err_set(err, errlen, 0, "store directory: empty path");
        return -EINVAL;
    }
    if (map_bytes < 0 || (uint64_t)map_bytes > SIZE_MAX) {
        (void)azo_err_set(err, errlen, 0, "%s: map size %lld out of range", dir,
                          (long long)map_bytes);
        return -EINVAL;
    }
    for (size_t i = 0; i < ndbs; i++)
        assert(dbs[i]);

    azo_store_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    atomic_init(&self->ntxn, 0);
    int rc = -ENOMEM;
    int mrc = 0;
    self->path = strdup(dir);
    self->ndbs = ndbs;
    // calloc(0) may return NULL: allocate at least one slot.
    self->names = calloc(ndbs ? ndbs : 1, sizeof *self->names);
    self->dbis = calloc(ndbs ? ndbs : 1, sizeof *self->dbis);
    if (!self->path || !self->names || !self->dbis)
        goto fail;
    for (size_t i = 0; i < ndbs; i++) {
        self->names[i] = strdup(dbs[i]);
        if (!self->names[i])
            goto fail;
    }

    rc = azo_fs_mkdirs(dir, 0700, err, errlen);
    if (rc < 0)
        goto fail;

    mrc = mdb_env_create(&self->env);
    if (mrc != 0) {
        self->env = NULL;
        goto fail_mdb;
    }
    if (map_bytes > 0) {
        // A size below what the file already holds is raised by LMDB at
        // open; azo_store_info reports the real size.
        mrc = mdb_env_set_mapsize(self->env, (size_t)map_bytes);
        if (mrc != 0)
            goto fail_mdb;
    }
    if (ndbs > (size_t)INT32_MAX - 8) {
        mrc = EINVAL;
        goto fail_mdb;
    }
    mrc = mdb_env_set_maxdbs(self->env, (MDB_dbi)(ndbs + 8));
    if (mrc != 0)
        goto fail_mdb;
    unsigned mflags = MDB_NOTLS;
    if (flags & AZO_STORE_VOLATILE)
        mflags |= MDB_NOSYNC;
    mrc = mdb_env_open(self->env, dir, mflags, 0600);
    if (mrc != 0)
        goto fail_mdb;
    int dead = 0;
    mrc = mdb_reader_check(self->env, &dead);
    if (mrc != 0)
        goto fail_mdb;
    self->maxkey = (size_t)mdb_env_get_maxkeysize(self->env);

    rc = s_open_dbs(self, dbs, err, errlen);
    if (rc < 0)
        goto fail;
    *out = self;
    return 0;

fail_mdb:
    (void)azo_err_set(err, errlen, 0, "%s: %s", dir, mdb_strerror(mrc));
    rc = s_open_rc(mrc);
fail:
    if (rc == -ENOMEM && err && errlen && !err[0])
        (void)azo_err_set(err, errlen, 0, "%s: out of memory", dir);
    s_store_free(self); // mdb_env_close also discards a failed mdb_env_open
    return rc;
}

void
azo_store_close(azo_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    azo_store_t *self = *self_p;
    assert(atomic_load(&self->ntxn) == 0); // a txn outliving its env
    s_store_free(self);
    *self_p = NULL;
}

int
azo_store_db(const azo_store_t *self, const char *name)
{
    assert(self && name);
    for (size_t i = 0; i < self->ndbs; i++)
        if (strcmp(self->names[i], name) == 0)
            return (int)i;
    return AZO_ENOTFOUND;
}

int
azo_store_info(azo_store_t *self, azo_store_info_t *info)
{
    assert(self && info);
    memset(info, 0, sizeof *info);
    MDB_envinfo ei;
    MDB_stat st;
    int rc = mdb_env_info(self->env, &ei);
    if (rc == 0)
        rc = mdb_env_stat(self->env, &st);
    if (rc != 0)
        return s_rc(rc, "env info");
    info->map_bytes = (int64_t)ei.me_mapsize;
    info->used_bytes = (int64_t)(ei.me_last_pgno + 1) * (int64_t)st.ms_psize;
    info->readers = (int)ei.me_numreaders;

    MDB_txn *txn = NULL;
    rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return s_rc(rc, "begin read txn");
    for (size_t i = 0; i < self->ndbs; i++) {
        rc = mdb_stat(txn, self->dbis[i], &st);
        if (rc != 0) {
            mdb_txn_abort(txn);
            return s_rc(rc, "db stat");
        }
        info->entries += (int64_t)st.ms_entries;
    }
    mdb_txn_abort(txn); // read-only: nothing to commit
    return 0;
}

int
azo_store_begin(azo_store_t *self, bool write, azo_txn_t **txn_p)
{
    assert(self && txn_p);
    *txn_p = NULL;
    azo_txn_t *txn = calloc(1, sizeof *txn);
    if (!txn)
        return -ENOMEM;
    int rc = mdb_txn_begin(self->env, NULL, write ? 0 : MDB_RDONLY, &txn->txn);
    if (rc != 0) {
        free(txn);
        return s_rc(rc, "begin txn");
    }
    txn->store = self;
    txn->write = write;
    atomic_fetch_add(&self->ntxn, 1);
    *txn_p = txn;
    return 0;
}

static void
s_txn_free(azo_txn_t *txn)
{
    atomic_fetch_sub(&txn->store->ntxn, 1);
    free(txn);
}

int
azo_store_commit(azo_txn_t **txn_p)
{
    assert(txn_p && *txn_p);
    azo_txn_t *txn = *txn_p;
    *txn_p = NULL;
    if (txn->failed) {
        // LMDB would only say MDB_BAD_TXN; report the original cause.
        int failed = txn->failed;
        mdb_txn_abort(txn->txn);
        s_txn_free(txn);
        return failed;
    }
    int rc = mdb_txn_commit(txn->txn); // frees the MDB_txn even on failure
    s_txn_free(txn);
    if (rc == ENOSPC || rc == EDQUOT)
        return AZO_ESTOREFULL;
    return s_rc(rc, "commit");
}

void
azo_store_abort(azo_txn_t **txn_p)
{
    if (!txn_p || !*txn_p)
        return;
    azo_txn_t *txn = *txn_p;
    mdb_txn_abort(txn->txn);
    s_txn_free(txn);
    *txn_p = NULL;
}

// Checks the db index and key shared by put/get/del. Returns 0 or
// AZO_EBADREQ, or the error that broke the txn.
static int
s_txn_check(const azo_txn_t *txn, int db, const void *key, size_t klen)
{
    assert(txn && db >= 0 && (size_t)db < txn->store->ndbs);
    if (klen == 0 || klen > txn->store->maxkey)
        return AZO_EBADREQ;
    assert(key);
    return txn->failed;
}

int
azo_txn_put(azo_txn_t *txn, int db, const void *key, size_t klen,
            const void *val, size_t vlen)
{
    int rc = s_txn_check(txn, db, key, klen);
    if (rc < 0)
        return rc;
    assert(txn->write && (val || vlen == 0));
    MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
    MDB_val v = {.mv_size = vlen, .mv_data = (void *)val};
    int mrc = mdb_put(txn->txn, txn->store->dbis[db], &k, &v, 0);
    if (mrc == 0)
        return 0;
    rc = s_rc(mrc, "put");
    // Past argument checks, a failed put leaves the LMDB txn broken (map
    // full, out of pages, I/O); remember why so commit can say so.
    if (mrc != MDB_BAD_VALSIZE && mrc != EINVAL && mrc != EACCES)
        txn->failed = rc;
    return rc;
}

int
azo_txn_get(azo_txn_t *txn, int db, const void *key, size_t klen,
            const void **val, size_t *vlen)
{
    int rc = s_txn_check(txn, db, key, klen);
    if (rc < 0)
        return rc;
    assert(val && vlen);
    MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
    MDB_val v;
    int mrc = mdb_get(txn->txn, txn->store->dbis[db], &k, &v);
    if (mrc != 0)
        return s_rc(mrc, "get");
    *val = v.mv_data;
    *vlen = v.mv_size;
    return 0;
}

int
azo_txn_del(azo_txn_t *txn, int db, const void *key, size_t klen)
{
    int rc = s_txn_check(txn, db, key, klen);
    if (rc < 0)
        return rc;
    assert(txn->write);
    MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
    int mrc = mdb_del(txn->txn, txn->store->dbis[db], &k, NULL);
    if (mrc == 0)
        return 0;
    rc = s_rc(mrc, "del");
    // A missing key leaves the txn usable; anything else breaks it.
    if (mrc != MDB_NOTFOUND && mrc != MDB_BAD_VALSIZE && mrc != EINVAL &&
        mrc != EACCES)
        txn->failed = rc;
    return rc;
}

int
azo_txn_each(azo_txn_t *txn, int db, const void *prefix, size_t plen,
             azo_store_each_fn *fn, void *arg)
{
    return azo_txn_each_from(txn, db, prefix, plen, NULL, 0, fn, arg);
}

int
azo_txn_each_from(azo_txn_t *txn, int db, const void *prefix, size_t plen,
                  const void *from, size_t flen, azo_store_each_fn *fn,
                  void *arg)
{
    assert(txn && db >= 0 && (size_t)db < txn->store->ndbs && fn);
    assert(prefix || plen == 0);
    assert(from || flen == 0);
    if (txn->failed)
        return txn->failed;
    if (plen > txn->store->maxkey)
        return 0; // no key can be that long, so none matches

    MDB_cursor *cur = NULL;
    int mrc = mdb_cursor_open(txn->txn, txn->store->dbis[db], &cur);
    if (mrc != 0)
        return s_rc(mrc, "cursor open");
    // Start at from when it sorts after the prefix, else at the prefix.
    bool use_from = flen > 0 && flen <= txn->store->maxkey &&
                    (memcmp(from, prefix, flen < plen ? flen : plen) > 0 ||
                     (flen >= plen && memcmp(from, prefix, plen) == 0));
    MDB_val k = {.mv_size = use_from ? flen : plen,
                 .mv_data = (void *)(use_from ? from : prefix)};
    MDB_val v;
    int rc = 0;
    mrc = mdb_cursor_get(cur, &k, &v, k.mv_size ? MDB_SET_RANGE : MDB_FIRST);
    while (mrc == 0) {
        if (plen && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0))
            break; // keys are sorted: past the prefix range
        int r = fn(k.mv_data, k.mv_size, v.mv_data, v.mv_size, arg);
        if (r != 0) {
            rc = r < 0 ? r : 0;
            break;
        }
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        rc = s_rc(mrc, "cursor get");
    mdb_cursor_close(cur);
    return rc;
}

int
azo_store_put(azo_store_t *self, int db, const void *key, size_t klen,
              const void *val, size_t vlen)
{
    azo_txn_t *txn = NULL;
    int rc = azo_store_begin(self, true, &txn);
    if (rc < 0)
        return rc;
    rc = azo_txn_put(txn, db, key, klen, val, vlen);
    if (rc < 0) {
        azo_store_abort(&txn);
        return rc;
    }
    return azo_store_commit(&txn);
}

int
azo_txn_put_mp(azo_txn_t *txn, int db, const void *key, size_t klen,
               const msgpack_sbuffer *sb)
{
    assert(sb);
    if (azo_mp_check(sb->data, sb->size, NULL, 0) < 0)
        return AZO_EBADREQ; // our caller's bug, but never stored
    return azo_txn_put(txn, db, key, klen, sb->data, sb->size);
}

int
azo_txn_get_mp(azo_txn_t *txn, int db, const void *key, size_t klen,
               msgpack_zone *zone, msgpack_object *obj)
{
    assert(zone && obj);
    const void *val;
    size_t vlen;
    int rc = azo_txn_get(txn, db, key, klen, &val, &vlen);
    if (rc < 0)
        return rc;
    char why[160] = "cannot decode msgpack";
    if (azo_mp_check(val, vlen, why, sizeof why) < 0 ||
        azo_mp_unpack(val, vlen, zone, obj) < 0) {
        // Another version's data, or damage: report, never trust it.
        char name[64];
        azo_mp_clean_text(name, sizeof name, key, klen);
        zsys_error("store: corrupt record in database %s, key '%s': %s",
                   txn->store->names[db], name, why);
        return AZO_EINTERNAL;
    }
    return 0;
}

int
azo_store_get(azo_store_t *self, int db, const void *key, size_t klen,
              void **val, size_t *vlen)
{
    assert(val && vlen);
    *val = NULL;
    *vlen = 0;
    azo_txn_t *txn = NULL;
    int rc = azo_store_begin(self, false, &txn);
    if (rc < 0)
        return rc;
    const void *v = NULL;
    size_t n = 0;
    rc = azo_txn_get(txn, db, key, klen, &v, &n);
    if (rc == 0) {
        // The map pointer dies with the txn: copy first.
        void *copy = malloc(n ? n : 1);
        if (!copy) {
            rc = -ENOMEM;
        } else {
            if (n)
                memcpy(copy, v, n);
            *val = copy;
            *vlen = n;
        }
    }
    azo_store_abort(&txn); // read-only: nothing to commit
    return rc;
}

int
azo_store_del(azo_store_t *self, int db, const void *key, size_t klen)
{
    azo_txn_t *txn = NULL;
    int rc = azo_store_begin(self, true, &txn);
    if (rc < 0)
        return rc;
    rc = azo_txn_del(txn, db, key, klen);
    if (rc < 0) {
        azo_store_abort(&txn);
        return rc;
    }
    return azo_store_commit(&txn);
}
