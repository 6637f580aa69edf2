// test_store — unit tests for azo_store. Each test gets its own temporary
// directory (under $AZO_TEST_TMP when it exists, else /tmp) holding the
// environment "azo.lmdb", opened by setup with three named databases.
#include "azo_err.h"
#include "azo_mp.h"
#include "azo_store.h"
#include "azo_testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static const char *const s_dbs[] = {"sup", "pay", "sched"};
#define S_NDBS (sizeof s_dbs / sizeof s_dbs[0])
#define S_MAP  (16 * 1024 * 1024)

typedef struct {
    char tmp[1024];     // the test's own directory
    char env[1040];     // tmp/azo.lmdb
    azo_store_t *store; // owned; NULL when a test closed it
} fixture_t;

static int
s_open(fixture_t *f, int64_t map_bytes)
{
    char err[256];
    int rc = azo_store_open(&f->store, f->env, map_bytes, s_dbs, S_NDBS, err,
                            sizeof err);
    if (rc < 0)
        fprintf(stderr, "open: %d %s\n", rc, err);
    return rc;
}

static int
setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    if (azo_test_tmpdir(f->tmp, sizeof f->tmp, "test_store") < 0) {
        free(f);
        return -1;
    }
    snprintf(f->env, sizeof f->env, "%s/azo.lmdb", f->tmp);
    if (s_open(f, S_MAP) < 0) {
        azo_test_rm_rf(f->tmp);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture_t *f = *state;
    azo_store_close(&f->store);
    azo_test_rm_rf(f->tmp);
    free(f);
    return 0;
}

static int
s_db(fixture_t *f, const char *name)
{
    int db = azo_store_db(f->store, name);
    assert_true(db >= 0);
    return db;
}

// Asserts that key holds the string val (without its NUL).
static void
s_assert_get(azo_store_t *store, int db, const char *key, const char *val)
{
    void *got = NULL;
    size_t n = 0;
    assert_int_equal(azo_store_get(store, db, key, strlen(key), &got, &n), 0);
    assert_int_equal(n, strlen(val));
    assert_memory_equal(got, val, n);
    free(got);
}

static int
s_count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static void
test_store_reopen_keeps_data(void **state)
{
    fixture_t *f = *state;
    int db = s_db(f, "pay");
    assert_int_equal(azo_store_put(f->store, db, "k1", 2, "v1", 2), 0);
    azo_store_close(&f->store);
    assert_null(f->store);
    azo_store_close(&f->store); // NULL-safe
    azo_store_close(NULL);

    assert_int_equal(s_open(f, S_MAP), 0);
    assert_int_equal(azo_store_db(f->store, "pay"), db);
    s_assert_get(f->store, db, "k1", "v1");
}

static void
test_store_reopen_with_more_dbs(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(azo_store_put(f->store, s_db(f, "sup"), "a", 1, "1", 1),
                     0);
    azo_store_close(&f->store);

    const char *const dbs[] = {"new", "sup"};
    char err[256];
    assert_int_equal(
        azo_store_open(&f->store, f->env, S_MAP, dbs, 2, err, sizeof err), 0);
    assert_int_equal(azo_store_db(f->store, "new"), 0);
    assert_int_equal(azo_store_db(f->store, "sup"), 1);
    assert_int_equal(azo_store_db(f->store, "pay"), AZO_ENOTFOUND);
    s_assert_get(f->store, 1, "a", "1");
}

static void
test_store_named_dbs_are_separate(void **state)
{
    fixture_t *f = *state;
    int a = s_db(f, "pay"), b = s_db(f, "sched");
    assert_int_not_equal(a, b);
    assert_int_equal(azo_store_put(f->store, a, "k", 1, "in-a", 4), 0);
    assert_int_equal(azo_store_put(f->store, b, "k", 1, "in-b", 4), 0);
    s_assert_get(f->store, a, "k", "in-a");
    s_assert_get(f->store, b, "k", "in-b");
    assert_int_equal(azo_store_del(f->store, a, "k", 1), 0);
    void *v = NULL;
    size_t n = 0;
    assert_int_equal(azo_store_get(f->store, a, "k", 1, &v, &n), AZO_ENOTFOUND);
    assert_null(v);
    s_assert_get(f->store, b, "k", "in-b");
    assert_int_equal(azo_store_get(f->store, s_db(f, "sup"), "k", 1, &v, &n),
                     AZO_ENOTFOUND);
}

static void
test_store_unknown_db_not_found(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(azo_store_db(f->store, "nope"), AZO_ENOTFOUND);
    assert_int_equal(azo_store_db(f->store, ""), AZO_ENOTFOUND);
    assert_int_equal(azo_store_db(f->store, "su"), AZO_ENOTFOUND);
    assert_int_equal(azo_store_db(f->store, "sup"), 0);
    assert_int_equal(azo_store_db(f->store, "sched"), 2);
}

static void
test_store_binary_round_trip(void **state)
{
    fixture_t *f = *state;
    int db = s_db(f, "sup");
    const unsigned char key[] = {0x00, 0xff, 0x00, 0x7f};
    unsigned char val[1000];
    for (size_t i = 0; i < sizeof val; i++)
        val[i] = (unsigned char)(i * 31 + 7); // includes zero bytes
    assert_int_equal(
        azo_store_put(f->store, db, key, sizeof key, val, sizeof val), 0);
    void *got = NULL;
    size_t n = 0;
    assert_int_equal(azo_store_get(f->store, db, key, sizeof key, &got, &n), 0);
    assert_int_equal(n, sizeof val);
    assert_memory_equal(got, val, n);
    free(got);

    // Overwrite with an empty value.
    assert_int_equal(azo_store_put(f->store, db, key, sizeof key, NULL, 0), 0);
    assert_int_equal(azo_store_get(f->store, db, key, sizeof key, &got, &n), 0);
    assert_non_null(got);
    assert_int_equal(n, 0);
    free(got);

    assert_int_equal(azo_store_del(f->store, db, key, sizeof key), 0);
    assert_int_equal(azo_store_del(f->store, db, key, sizeof key),
                     AZO_ENOTFOUND);
}

static void
test_store_msgpack_values(void **state)
{
    fixture_t *f = *state;
    int db = s_db(f, "pay");
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    azo_pack_kstr(&pk, "status", "pending");
    azo_pack_kint(&pk, "amount", 1250);

    azo_txn_t *txn = NULL;
    assert_int_equal(azo_store_begin(f->store, true, &txn), 0);
    assert_int_equal(azo_txn_put_mp(txn, db, "p1", 2, &sb), 0);
    // A corrupt record, as another version or damage could leave it.
    assert_int_equal(azo_txn_put(txn, db, "bad", 3, "\xdb\xff\xff\xff", 4), 0);
    // Nothing malformed goes in through the msgpack helper.
    msgpack_sbuffer_write(&sb, "\x01", 1); // trailing bytes now
    assert_int_equal(azo_txn_put_mp(txn, db, "p2", 2, &sb), AZO_EBADREQ);
    assert_int_equal(azo_store_commit(&txn), 0);

    msgpack_zone *zone = msgpack_zone_new(1024);
    msgpack_object obj;
    assert_int_equal(azo_store_begin(f->store, false, &txn), 0);
    assert_int_equal(azo_txn_get_mp(txn, db, "p1", 2, zone, &obj), 0);
    assert_true(azo_mp_str_eq(azo_mp_get(&obj, "status"), "pending"));
    int64_t amount = 0;
    assert_int_equal(azo_mp_int(azo_mp_get(&obj, "amount"), &amount), 0);
    assert_int_equal(amount, 1250);
    assert_int_equal(azo_txn_get_mp(txn, db, "bad", 3, zone, &obj),
                     AZO_EINTERNAL);
    assert_int_equal(azo_txn_get_mp(txn, db, "p2", 2, zone, &obj),
                     AZO_ENOTFOUND);
    azo_store_abort(&txn);
    msgpack_zone_free(zone);
    msgpack_sbuffer_destroy(&sb);
}

static void
test_store_get_missing_not_found(void **state)
{
    fixture_t *f = *state;
    int db = s_db(f, "pay");
    void *v = (void *)&v;
    size_t n = 99;
    assert_int_equal(azo_store_get(f->store, db, "none", 4, &v, &n),
                     AZO_ENOTFOUND);
    assert_null(v);
    assert_int_equal(n, 0);

    azo_txn_t *txn = NULL;
    assert_int_equal(azo_store_begin(f->store, false, &txn), 0);
    const void *p = NULL;
    assert_int_equal(azo_txn_get(txn, db, "none", 4, &p, &n), AZO_ENOTFOUND);
    azo_store_abort(&txn);
    assert_null(txn);
    azo_store_abort(&txn); // NULL-safe
    azo_store_abort(NULL);

    // A missing key does not break a write txn.
    assert_int_equal(azo_store_begin(f->store, true, &txn), 0);
    assert_int_equal(azo_txn_del(txn, db, "none", 4), AZO_ENOTFOUND);
    assert_int_equal(azo_txn_put(txn, db, "k", 1, "v", 1), 0);
    assert_int_equal(azo_store_commit(&txn), 0);
    assert_null(txn);
    s_assert_get(f->store, db, "k", "v");
}

static void
test_store_abort_discards(void **state)
{
    fixture_t *f = *state;
    int db = s_db(f, "pay");
    assert_int_equal(azo_store_put(f->store, db, "keep", 4, "old", 3), 0);
    azo_txn_t *txn = NULL;
    assert_int_equal(azo_store_begin(f->store, true, &txn), 0);
    assert_int_equal(azo_txn_put(txn, db, "new", 3, "x", 1), 0);
    assert_int_equal(azo_txn_put(txn, db, "keep", 4, "changed", 7), 0);
    assert_int_equal(azo_txn_del(txn, db, "keep", 4), 0);
    const void *v;
    size_t n;
    assert_int_equal(azo_txn_get(txn, db, "new", 3, &v, &n), 0); // own write
    azo_store_abort(&txn);
    assert_null(txn);

    void *got = NULL;
    assert_int_equal(azo_store_get(f->store, db, "new", 3, &got, &n),
                     AZO_ENOTFOUND);
    s_assert_get(f->store, db, "keep", "old");
}

static void
test_store_read_txn_sees_snapshot(void **state)
{
    fixture_t *f = *state;
    int db = s_db(f, "sched");
    assert_int_equal(azo_store_put(f->store, db, "k", 1, "v1", 2), 0);

    azo_txn_t *w = NULL, *r1 = NULL, *r2 = NULL;
    assert_int_equal(azo_store_begin(f->store, true, &w), 0);
    assert_int_equal(azo_txn_put(w, db, "k", 1, "v2", 2), 0);
    assert_int_equal(azo_txn_put(w, db, "n", 1, "new", 3), 0);

    // A reader begun during the write sees the last commit.
    assert_int_equal(azo_store_begin(f->store, false, &r1), 0);
    const void *v;
    size_t n;
    assert_int_equal(azo_txn_get(r1, db, "k", 1, &v, &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(v, "v1", 2);
    assert_int_equal(azo_txn_get(r1, db, "n", 1, &v, &n), AZO_ENOTFOUND);
    // The writer sees its own changes.
    assert_int_equal(azo_txn_get(w, db, "k", 1, &v, &n), 0);
    assert_memory_equal(v, "v2", 2);

    assert_int_equal(azo_store_commit(&w), 0);

    // r1 keeps its snapshot; a new reader sees the commit.
    assert_int_equal(azo_txn_get(r1, db, "k", 1, &v, &n), 0);
    assert_memory_equal(v, "v1", 2);
    assert_int_equal(azo_store_begin(f->store, false, &r2), 0);
    assert_int_equal(azo_txn_get(r2, db, "k", 1, &v, &n), 0);
    assert_memory_equal(v, "v2", 2);
    assert_int_equal(azo_txn_get(r2, db, "n", 1, &v, &n), 0);
    assert_memory_equal(v, "new", 3);
    // A read txn may be committed as well as aborted.
    assert_int_equal(azo_store_commit(&r1), 0);
    azo_store_abort(&r2);
}

typedef struct {
    int n;
    int stop_after; // 0: never
    int fail_at;    // 0: never
    char keys[16][16];
} s_each_t;

static int
s_each_cb(const void *key, size_t klen, const void *val, size_t vlen, void *arg)
{
    s_each_t *e = arg;
    assert_true(klen < sizeof e->keys[0] && e->n < 16);
    assert_int_equal(vlen, 1);
    assert_non_null(val);
    memcpy(e->keys[e->n], key, klen);
    e->keys[e->n][klen] = '\0';
    e->n++;
    if (e->fail_at && e->n == e->fail_at)
        return -42;
    if (e->stop_after && e->n == e->stop_after)
        return 1;
    return 0;
}

static void
test_store_each_prefix(void **state)
{
    fixture_t *f = *state;
    int db = s_db(f, "sched");
    const char *keys[] = {"job/3", "job/1", "jobs", "joa",    "job/2",
                          "job",   "jz",    "k",    "job/2/x"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(
            azo_store_put(f->store, db, keys[i], strlen(keys[i]), "v", 1), 0);
    // Same prefix in another db must not show up.
    assert_int_equal(
        azo_store_put(f->store, s_db(f, "pay"), "job/0", 5, "v", 1), 0);

    azo_txn_t *txn = NULL;
    assert_int_equal(azo_store_begin(f->store, false, &txn), 0);

    s_each_t e = {0};
    assert_int_equal(azo_txn_each(txn, db, "job/", 4, s_each_cb, &e), 0);
    assert_int_equal(e.n, 4);
    assert_string_equal(e.keys[0], "job/1");
    assert_string_equal(e.keys[1], "job/2");
    assert_string_equal(e.keys[2], "job/2/x");
    assert_string_equal(e.keys[3], "job/3");

    // No prefix: everything, in key order.
    memset(&e, 0, sizeof e);
    assert_int_equal(azo_txn_each(txn, db, NULL, 0, s_each_cb, &e), 0);
    assert_int_equal(e.n, 9);
    assert_string_equal(e.keys[0], "joa");
    assert_string_equal(e.keys[1], "job");
    assert_string_equal(e.keys[8], "k");

    // No match, before and after every key.
    memset(&e, 0, sizeof e);
    assert_int_equal(azo_txn_each(txn, db, "a", 1, s_each_cb, &e), 0);
    assert_int_equal(azo_txn_each(txn, db, "zz", 2, s_each_cb, &e), 0);
    assert_int_equal(azo_txn_each(txn, db, "job/4", 5, s_each_cb, &e), 0);
    assert_int_equal(e.n, 0);

    // Prefix equal to a whole key.
    assert_int_equal(azo_txn_each(txn, db, "jz", 2, s_each_cb, &e), 0);
    assert_int_equal(e.n, 1);

    // Early stop: > 0 ends the walk and azo_txn_each returns 0.
    memset(&e, 0, sizeof e);
    e.stop_after = 2;
    assert_int_equal(azo_txn_each(txn, db, "job", 3, s_each_cb, &e), 0);
    assert_int_equal(e.n, 2);

    // Error: < 0 ends the walk and is returned.
    memset(&e, 0, sizeof e);
    e.fail_at = 3;
    assert_int_equal(azo_txn_each(txn, db, "job/", 4, s_each_cb, &e), -42);
    assert_int_equal(e.n, 3);

    // A prefix longer than any key can be matches nothing.
    char big[600];
    memset(big, 'j', sizeof big);
    memset(&e, 0, sizeof e);
    assert_int_equal(azo_txn_each(txn, db, big, sizeof big, s_each_cb, &e), 0);
    assert_int_equal(e.n, 0);
    azo_store_abort(&txn);
}

static void
test_store_each_binary_prefix(void **state)
{
    fixture_t *f = *state;
    int db = s_db(f, "sup");
    const unsigned char k1[] = {0xff, 0x00}, k2[] = {0xff, 0xff, 0x01},
                        k3[] = {0xfe, 0xff}, k4[] = {0xff};
    assert_int_equal(azo_store_put(f->store, db, k1, 2, "v", 1), 0);
    assert_int_equal(azo_store_put(f->store, db, k2, 3, "v", 1), 0);
    assert_int_equal(azo_store_put(f->store, db, k3, 2, "v", 1), 0);
    assert_int_equal(azo_store_put(f->store, db, k4, 1, "v", 1), 0);
    azo_txn_t *txn = NULL;
    assert_int_equal(azo_store_begin(f->store, false, &txn), 0);
    s_each_t e = {0};
    const unsigned char p[] = {0xff};
    assert_int_equal(azo_txn_each(txn, db, p, 1, s_each_cb, &e), 0);
    assert_int_equal(e.n, 3);
    assert_memory_equal(e.keys[0], k4, 1);
    assert_memory_equal(e.keys[1], k1, 2);
    assert_memory_equal(e.keys[2], k2, 3);
    azo_store_abort(&txn);
}

static void
test_store_bad_keys_bad_request(void **state)
{
    fixture_t *f = *state;
    int db = s_db(f, "pay");
    char key[512];
    memset(key, 'k', sizeof key);

    // 511 bytes is LMDB's default limit: allowed.
    assert_int_equal(azo_store_put(f->store, db, key, 511, "v", 1), 0);
    void *v = NULL;
    size_t n = 0;
    assert_int_equal(azo_store_get(f->store, db, key, 511, &v, &n), 0);
    free(v);

    assert_int_equal(azo_store_put(f->store, db, key, 512, "v", 1),
                     AZO_EBADREQ);
    assert_int_equal(azo_store_get(f->store, db, key, 512, &v, &n),
                     AZO_EBADREQ);
    assert_int_equal(azo_store_del(f->store, db, key, 512), AZO_EBADREQ);
    assert_int_equal(azo_store_put(f->store, db, "", 0, "v", 1), AZO_EBADREQ);
    assert_int_equal(azo_store_put(f->store, db, NULL, 0, "v", 1), AZO_EBADREQ);
    assert_int_equal(azo_store_get(f->store, db, "", 0, &v, &n), AZO_EBADREQ);
    assert_int_equal(azo_store_del(f->store, db, "", 0), AZO_EBADREQ);

    // A bad key does not break the txn.
    azo_txn_t *txn = NULL;
    assert_int_equal(azo_store_begin(f->store, true, &txn), 0);
    assert_int_equal(azo_txn_put(txn, db, key, 512, "v", 1), AZO_EBADREQ);
    assert_int_equal(azo_txn_put(txn, db, "", 0, "v", 1), AZO_EBADREQ);
    assert_int_equal(azo_txn_put(txn, db, "ok", 2, "v", 1), 0);
    assert_int_equal(azo_store_commit(&txn), 0);
    s_assert_get(f->store, db, "ok", "v");
}

// Fills db with one put per txn until the map is full. Returns how many keys
// were committed.
static int
s_fill(fixture_t *f, int db, char *val, size_t vlen)
{
    int committed = 0;
    for (int i = 0; i < 100000; i++) {
        char key[32];
        int klen = snprintf(key, sizeof key, "key-%06d", i);
        azo_txn_t *txn = NULL;
        assert_int_equal(azo_store_begin(f->store, true, &txn), 0);
        int rc = azo_txn_put(txn, db, key, (size_t)klen, val, vlen);
        if (rc == AZO_ESTOREFULL) {
            // The txn is broken: commit must say so again, not MDB_BAD_TXN.
            assert_int_equal(azo_txn_put(txn, db, "x", 1, "y", 1),
                             AZO_ESTOREFULL);
            assert_int_equal(azo_store_commit(&txn), AZO_ESTOREFULL);
            assert_null(txn);
            return committed;
        }
        assert_int_equal(rc, 0);
        rc = azo_store_commit(&txn);
        if (rc == AZO_ESTOREFULL)
            return committed;
        assert_int_equal(rc, 0);
        committed++;
    }
    fail_msg("the map never filled up");
    return -1;
}

static void
s_check_filled(fixture_t *f, int db, int from, int to, const char *val,
               size_t vlen)
{
    azo_txn_t *txn = NULL;
    assert_int_equal(azo_store_begin(f->store, false, &txn), 0);
    for (int i = from; i < to; i++) {
        char key[32];
        int klen = snprintf(key, sizeof key, "key-%06d", i);
        const void *v;
        size_t n;
        assert_int_equal(azo_txn_get(txn, db, key, (size_t)klen, &v, &n), 0);
        assert_int_equal(n, vlen);
        assert_memory_equal(v, val, n);
    }
    azo_store_abort(&txn);
}

static void
test_store_map_full_keeps_committed(void **state)
{
    fixture_t *f = *state;
    azo_store_close(&f->store);
    azo_test_rm_rf(f->env);
    assert_int_equal(s_open(f, 256 * 1024), 0);
    int db = s_db(f, "pay");

    char val[1500];
    memset(val, 'v', sizeof val);
    int committed = s_fill(f, db, val, sizeof val);
    assert_true(committed > 10);
    s_check_filled(f, db, 0, committed, val, sizeof val);

    azo_store_info_t info;
    assert_int_equal(azo_store_info(f->store, &info), 0);
    assert_int_equal(info.entries, committed);
    assert_true(info.used_bytes <= info.map_bytes);

    // Still usable: delete half, then write again.
    azo_txn_t *txn = NULL;
    assert_int_equal(azo_store_begin(f->store, true, &txn), 0);
    for (int i = 0; i < committed / 2; i++) {
        char key[32];
        int klen = snprintf(key, sizeof key, "key-%06d", i);
        assert_int_equal(azo_txn_del(txn, db, key, (size_t)klen), 0);
    }
    assert_int_equal(azo_store_commit(&txn), 0);
    assert_int_equal(azo_store_put(f->store, db, "small", 5, "ok", 2), 0);
    s_assert_get(f->store, db, "small", "ok");
    s_check_filled(f, db, committed / 2, committed, val, sizeof val);

    // Survives a reopen too.
    azo_store_close(&f->store);
    assert_int_equal(s_open(f, 256 * 1024), 0);
    s_check_filled(f, db, committed / 2, committed, val, sizeof val);
}

static void
test_store_map_full_in_one_txn(void **state)
{
    fixture_t *f = *state;
    azo_store_close(&f->store);
    azo_test_rm_rf(f->env);
    assert_int_equal(s_open(f, 256 * 1024), 0);
    int db = s_db(f, "sched");
    assert_int_equal(azo_store_put(f->store, db, "before", 6, "b", 1), 0);

    char val[3000];
    memset(val, 'w', sizeof val);
    azo_txn_t *txn = NULL;
    assert_int_equal(azo_store_begin(f->store, true, &txn), 0);
    int rc = 0;
    for (int i = 0; i < 10000 && rc == 0; i++) {
        char key[32];
        int klen = snprintf(key, sizeof key, "big-%06d", i);
        rc = azo_txn_put(txn, db, key, (size_t)klen, val, sizeof val);
    }
    assert_int_equal(rc, AZO_ESTOREFULL);
    assert_int_equal(azo_store_commit(&txn), AZO_ESTOREFULL);

    // Nothing from the failed txn, the earlier commit intact.
    s_assert_get(f->store, db, "before", "b");
    void *v = NULL;
    size_t n = 0;
    assert_int_equal(azo_store_get(f->store, db, "big-000000", 10, &v, &n),
                     AZO_ENOTFOUND);

    // One value larger than the whole map.
    size_t huge = 1024 * 1024;
    char *hv = calloc(1, huge);
    assert_non_null(hv);
    assert_int_equal(azo_store_put(f->store, db, "huge", 4, hv, huge),
                     AZO_ESTOREFULL);
    free(hv);
    assert_int_equal(azo_store_put(f->store, db, "after", 5, "a", 1), 0);
    s_assert_get(f->store, db, "after", "a");
}

static void
test_store_small_map_adopts_file_size(void **state)
{
    fixture_t *f = *state;
    int db = s_db(f, "pay");
    char val[4000];
    memset(val, 'z', sizeof val);
    for (int i = 0; i < 200; i++) {
        char key[16];
        int klen = snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(
            azo_store_put(f->store, db, key, (size_t)klen, val, sizeof val), 0);
    }
    azo_store_close(&f->store);

    assert_int_equal(s_open(f, 64 * 1024), 0);
    azo_store_info_t info;
    assert_int_equal(azo_store_info(f->store, &info), 0);
    assert_true(info.used_bytes > 64 * 1024);
    assert_true(info.map_bytes >= info.used_bytes);
    assert_int_equal(info.entries, 200);
    void *v = NULL;
    size_t n = 0;
    assert_int_equal(azo_store_get(f->store, db, "k199", 4, &v, &n), 0);
    assert_int_equal(n, sizeof val);
    free(v);
}

static void
test_store_corrupt_env_fails_cleanly(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(azo_store_put(f->store, 0, "k", 1, "v", 1), 0);
    azo_store_close(&f->store);

    char data[PATH_MAX];
    snprintf(data, sizeof data, "%s/data.mdb", f->env);
    int fd = open(data, O_WRONLY);
    assert_true(fd >= 0);
    unsigned char junk[64 * 1024];
    uint32_t x = 2463534242u; // xorshift32: reproducible junk
    for (size_t i = 0; i < sizeof junk; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        junk[i] = (unsigned char)x;
    }
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    assert_int_equal(close(fd), 0);

    int fds = s_count_fds();
    char err[256] = "";
    azo_store_t *s = (azo_store_t *)&s; // must be reset to NULL
    int rc = azo_store_open(&s, f->env, S_MAP, s_dbs, S_NDBS, err, sizeof err);
    assert_true(rc < 0);
    assert_null(s);
    assert_non_null(strstr(err, f->env));
    assert_non_null(strstr(err, "MDB_"));
    assert_int_equal(s_count_fds(), fds);

    // NULL err is allowed.
    assert_true(azo_store_open(&s, f->env, S_MAP, s_dbs, S_NDBS, NULL, 0) < 0);
    assert_null(s);
    assert_int_equal(s_count_fds(), fds);
}

static void
test_store_parent_is_file_fails_cleanly(void **state)
{
    fixture_t *f = *state;
    char file[1100], dir[1200];
    snprintf(file, sizeof file, "%s/plain", f->tmp);
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(close(fd), 0);

    snprintf(dir, sizeof dir, "%s/sub/azo.lmdb", file);
    int fds = s_count_fds();
    char err[512] = "";
    azo_store_t *s = NULL;
    assert_int_equal(
        azo_store_open(&s, dir, S_MAP, s_dbs, S_NDBS, err, sizeof err),
        -ENOTDIR);
    assert_null(s);
    assert_non_null(strstr(err, dir));
    assert_non_null(strstr(err, "cannot create directory"));
    assert_non_null(strstr(err, strerror(ENOTDIR)));
    assert_int_equal(s_count_fds(), fds);

    // The store directory itself is a file.
    err[0] = '\0';
    assert_int_equal(
        azo_store_open(&s, file, S_MAP, s_dbs, S_NDBS, err, sizeof err),
        -ENOTDIR);
    assert_null(s);
    assert_non_null(strstr(err, file));
}

static void
test_store_bad_args_fail_cleanly(void **state)
{
    fixture_t *f = *state;
    char err[256] = "";
    azo_store_t *s = NULL;
    assert_int_equal(
        azo_store_open(&s, "", S_MAP, s_dbs, S_NDBS, err, sizeof err), -EINVAL);
    assert_null(s);
    assert_true(err[0] != '\0');
    assert_int_equal(
        azo_store_open(&s, f->env, -1, s_dbs, S_NDBS, err, sizeof err),
        -EINVAL);
    assert_null(s);

    // A database name longer than LMDB's key limit.
    azo_store_close(&f->store);
    char name[600];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    const char *const dbs[] = {"ok", name};
    err[0] = '\0';
    assert_int_equal(azo_store_open(&s, f->env, S_MAP, dbs, 2, err, sizeof err),
                     AZO_EBADREQ);
    assert_null(s);
    assert_non_null(strstr(err, f->env));

    // Zero map size keeps the default; no databases is fine.
    assert_int_equal(azo_store_open(&s, f->env, 0, NULL, 0, err, sizeof err),
                     0);
    assert_int_equal(azo_store_db(s, "sup"), AZO_ENOTFOUND);
    azo_store_close(&s);
}

static void
test_store_file_modes(void **state)
{
    fixture_t *f = *state;
    mode_t old = umask(022);
    char dir[1100], path[1200];
    snprintf(dir, sizeof dir, "%s/a/b/azo.lmdb", f->tmp);
    azo_store_t *s = NULL;
    char err[256];
    int rc = azo_store_open(&s, dir, S_MAP, s_dbs, S_NDBS, err, sizeof err);
    umask(old);
    assert_int_equal(rc, 0);
    azo_store_close(&s);

    const char *dirs[] = {"a", "a/b", "a/b/azo.lmdb"};
    for (size_t i = 0; i < 3; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", f->tmp, dirs[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0700);
    }
    const char *files[] = {"data.mdb", "lock.mdb"};
    for (size_t i = 0; i < 2; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
    }
}

// Runs an LMDB tool on the env; returns its exit status, or -1 to skip.
static int
s_run_tool(const char *tool, const char *args, const char *dir)
{
    if (access(tool, X_OK) != 0 || strchr(dir, '\''))
        return -1;
    char cmd[PATH_MAX * 2];
    snprintf(cmd, sizeof cmd, "%s %s '%s' >/dev/null 2>&1", tool, args, dir);
    int st = system(cmd);
    assert_true(st != -1 && WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void
test_store_lmdb_tools_read_env(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(azo_store_put(f->store, 1, "k", 1, "v", 1), 0);
    int st = s_run_tool("/usr/bin/mdb_stat", "-a", f->env);
    if (st < 0)
        skip();
    assert_int_equal(st, 0); // store still open: a second process reads it
    st = s_run_tool("/usr/bin/mdb_dump", "-a", f->env);
    if (st >= 0)
        assert_int_equal(st, 0);
    st = s_run_tool("/usr/bin/mdb_dump", "-s pay", f->env);
    if (st >= 0)
        assert_int_equal(st, 0);
}

typedef struct {
    azo_store_t *store;
    int db;
    int failures;
} s_writer_t;

static void *
s_writer(void *arg)
{
    s_writer_t *w = arg;
    // No cmocka asserts off the main thread: count failures instead.
    for (int i = 0; i < 1000; i++) {
        char key[16], val[32];
        int klen = snprintf(key, sizeof key, "%04d", i);
        int vlen = snprintf(val, sizeof val, "db%d-%d", w->db, i);
        azo_txn_t *txn = NULL;
        if (azo_store_begin(w->store, true, &txn) < 0) {
            w->failures++;
            continue;
        }
        if (azo_txn_put(txn, w->db, key, (size_t)klen, val, (size_t)vlen) < 0) {
            w->failures++;
            azo_store_abort(&txn);
            continue;
        }
        if (azo_store_commit(&txn) < 0)
            w->failures++;
        // Interleave a read txn, as actors do.
        void *v = NULL;
        size_t n = 0;
        if (azo_store_get(w->store, w->db, key, (size_t)klen, &v, &n) < 0 ||
            n != (size_t)vlen)
            w->failures++;
        free(v);
    }
    return NULL;
}

static int
s_count_cb(const void *key, size_t klen, const void *val, size_t vlen,
           void *arg)
{
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    (*(int *)arg)++;
    return 0;
}

static void
test_store_two_threads_write(void **state)
{
    fixture_t *f = *state;
    s_writer_t w[2] = {{f->store, s_db(f, "pay"), 0},
                       {f->store, s_db(f, "sched"), 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, s_writer, &w[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(w[0].failures, 0);
    assert_int_equal(w[1].failures, 0);

    azo_txn_t *txn = NULL;
    assert_int_equal(azo_store_begin(f->store, false, &txn), 0);
    for (int i = 0; i < 2; i++) {
        int count = 0;
        assert_int_equal(
            azo_txn_each(txn, w[i].db, NULL, 0, s_count_cb, &count), 0);
        assert_int_equal(count, 1000);
        const void *v;
        size_t n;
        char want[32];
        snprintf(want, sizeof want, "db%d-999", w[i].db);
        assert_int_equal(azo_txn_get(txn, w[i].db, "0999", 4, &v, &n), 0);
        assert_int_equal(n, strlen(want));
        assert_memory_equal(v, want, n);
    }
    azo_store_abort(&txn);
}

static void
test_store_info_sane(void **state)
{
    fixture_t *f = *state;
    azo_store_info_t info;
    assert_int_equal(azo_store_info(f->store, &info), 0);
    assert_int_equal(info.map_bytes, S_MAP);
    assert_true(info.used_bytes > 0 && info.used_bytes <= info.map_bytes);
    assert_int_equal(info.used_bytes % 512, 0);
    assert_int_equal(info.entries, 0);
    assert_true(info.readers >= 0);
    int64_t used0 = info.used_bytes;

    char val[2000];
    memset(val, 'i', sizeof val);
    for (int i = 0; i < 30; i++) {
        char key[16];
        int klen = snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(azo_store_put(f->store, i % (int)S_NDBS, key,
                                       (size_t)klen, val, sizeof val),
                         0);
    }
    azo_txn_t *r = NULL;
    assert_int_equal(azo_store_begin(f->store, false, &r), 0);
    assert_int_equal(azo_store_info(f->store, &info), 0);
    assert_int_equal(info.entries, 30);
    assert_true(info.used_bytes > used0);
    assert_true(info.used_bytes <= info.map_bytes);
    assert_true(info.readers >= 1); // r holds a slot
    azo_store_abort(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_reopen_keeps_data, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_reopen_with_more_dbs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_named_dbs_are_separate,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_unknown_db_not_found, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_binary_round_trip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_msgpack_values, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_get_missing_not_found, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_abort_discards, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_read_txn_sees_snapshot,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_each_prefix, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_each_binary_prefix, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_bad_keys_bad_request, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_map_full_keeps_committed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_map_full_in_one_txn, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_small_map_adopts_file_size,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_corrupt_env_fails_cleanly,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_parent_is_file_fails_cleanly,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_bad_args_fail_cleanly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_file_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_lmdb_tools_read_env, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_two_threads_write, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_info_sane, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
