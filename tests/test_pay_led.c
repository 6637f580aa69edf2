// test_pay_led — the payment ledger on a real LMDB in a temp dir: a
// transition writes record, trail, indexes, counters and event together;
// an aborted batch leaves nothing; counters are recounted when lost; the
// event log is pruned to events_kept; a full map refuses a batch and keeps
// everything stored before it.
#include "azo_err.h"
#include "azo_mp.h"
#include "azo_store.h"
#include "azo_testutil.h"
#include "pay_led.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_dbs[] = {"payment-recovery"};

typedef struct {
    char dir[4096];
    azo_store_t *store;
    int db;
    pay_led_t *led;
} fixture_t;

static int
s_open(fixture_t *f, int64_t map, int64_t kept)
{
    char env[4200], err[256];
    snprintf(env, sizeof env, "%s/azo.lmdb", f->dir);
    int rc = azo_store_open(&f->store, env, map, s_dbs, 1, err, sizeof err);
    if (rc == 0) {
        f->db = azo_store_db(f->store, "payment-recovery");
        rc = pay_led_open(&f->led, f->store, f->db, kept, err, sizeof err);
    }
    return rc;
}

static void
s_close(fixture_t *f)
{
    pay_led_destroy(&f->led);
    azo_store_close(&f->store);
}

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (!f || azo_test_tmpdir(f->dir, sizeof f->dir, "pay_led") < 0 ||
        s_open(f, 0, 1000) < 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    s_close(f);
    azo_test_rm_rf(f->dir);
    free(f);
    return 0;
}

static pay_rec_t
s_rec(const char *id, int st)
{
    pay_rec_t r = {.amount = 500,
                   .currency = "USD",
                   .customer = "c",
                   .method = "m",
                   .ikey = "azo_k",
                   .status = (uint8_t)st};
    snprintf(r.id, sizeof r.id, "%s", id);
    return r;
}

static bool
s_has(fixture_t *f, const void *key, size_t klen)
{
    azo_txn_t *txn = NULL;
    assert_int_equal(azo_store_begin(f->store, false, &txn), 0);
    const void *v;
    size_t n;
    bool has = azo_txn_get(txn, f->db, key, klen, &v, &n) == 0;
    azo_store_abort(&txn);
    return has;
}

static int
s_count(const void *k, size_t kl, const void *v, size_t vl, void *a)
{
    (void)k, (void)kl, (void)v, (void)vl;
    ++*(int *)a;
    return 0;
}

static int
s_count_prefix(fixture_t *f, const char *prefix)
{
    int n = 0;
    azo_txn_t *txn = NULL;
    assert_int_equal(azo_store_begin(f->store, false, &txn), 0);
    assert_int_equal(
        azo_txn_each(txn, f->db, prefix, strlen(prefix), s_count, &n), 0);
    azo_store_abort(&txn);
    return n;
}

static void
test_transitions(void **state)
{
    fixture_t *f = *state;
    pay_rec_t a = s_rec("a", PAY_PENDING);
    a.next_ms = 1000;
    assert_int_equal(pay_led_begin(f->led), 0);
    assert_int_equal(
        pay_led_write(f->led, NULL, &a, "submitted", false, NULL, 100), 0);
    assert_int_equal(pay_led_commit(f->led), 0);
    assert_int_equal(a.trail_n, 1);
    assert_int_equal(a.created_ms, 100);
    assert_int_equal(pay_led_meta(f->led)->count[PAY_PENDING], 1);
    char key[PAY_LED_DUE_KEY_MAX];
    assert_true(s_has(f, key, pay_led_due_key(key, 1000, "a")));
    assert_true(s_has(f, "x/pending/a", 11));

    // pending -> processing -> failed (event) -> processing -> succeeded.
    pay_rec_t old = a;
    a.status = PAY_PROCESSING;
    a.attempts = 1;
    a.next_ms = 9000;
    assert_int_equal(pay_led_begin(f->led), 0);
    assert_int_equal(
        pay_led_write(f->led, &old, &a, "attempt", false, NULL, 200), 0);
    assert_int_equal(pay_led_commit(f->led), 0);
    assert_false(s_has(f, key, pay_led_due_key(key, 1000, "a")));
    assert_true(s_has(f, key, pay_led_due_key(key, 9000, "a")));
    assert_false(s_has(f, "x/pending/a", 11));
    assert_true(s_has(f, "x/processing/a", 14));

    old = a;
    a.status = PAY_FAILED;
    a.next_ms = 2200;
    a.recovering = true;
    snprintf(a.err_code, sizeof a.err_code, "http_500");
    assert_int_equal(pay_led_begin(f->led), 0);
    assert_int_equal(pay_led_write(f->led, &old, &a, "retry_scheduled", true,
                                   "pay.failed", 210),
                     0);
    assert_int_equal(pay_led_commit(f->led), 0);
    const pay_ev_t *evs;
    assert_int_equal(pay_led_events(f->led, &evs), 1);
    assert_int_equal(evs[0].seq, 1);
    assert_string_equal(evs[0].topic, "pay.failed");
    assert_int_equal(evs[0].rec.status, PAY_FAILED);

    old = a;
    a.status = PAY_PROCESSING;
    a.attempts = 2;
    assert_int_equal(pay_led_begin(f->led), 0);
    assert_int_equal(
        pay_led_write(f->led, &old, &a, "retry", false, "pay.retry", 2300), 0);
    assert_int_equal(pay_led_commit(f->led), 0);
    old = a;
    a.status = PAY_SUCCEEDED;
    a.next_ms = 0;
    assert_int_equal(pay_led_begin(f->led), 0);
    assert_int_equal(pay_led_write(f->led, &old, &a, "charged", false,
                                   "pay.recovered", 2400),
                     0);
    assert_int_equal(pay_led_commit(f->led), 0);
    const pay_meta_t *m = pay_led_meta(f->led);
    assert_int_equal(m->count[PAY_SUCCEEDED], 1);
    assert_int_equal(m->count[PAY_PENDING] + m->count[PAY_PROCESSING] +
                         m->count[PAY_FAILED] + m->count[PAY_DEAD],
                     0);
    assert_int_equal(m->recovered, 1);
    assert_int_equal(m->seq, 3);
    assert_int_equal(s_count_prefix(f, "d/"), 0); // not due any more
    assert_int_equal(s_count_prefix(f, "t/a/"), 5);
    assert_int_equal(s_count_prefix(f, "e/"), 3);
    azo_txn_t *txn = NULL;
    assert_int_equal(azo_store_begin(f->store, false, &txn), 0);
    assert_int_equal(pay_led_recovered(f->led, txn, "USD"), 500);
    pay_rec_t got;
    assert_int_equal(pay_led_get(f->led, txn, "a", &got), 0);
    assert_int_equal(got.status, PAY_SUCCEEDED);
    assert_int_equal(got.trail_n, 5);
    assert_int_equal(pay_led_get(f->led, txn, "zz", &got), AZO_ENOTFOUND);
    azo_store_abort(&txn);
}

static void
test_abort_leaves_nothing(void **state)
{
    fixture_t *f = *state;
    pay_rec_t a = s_rec("b", PAY_PENDING);
    assert_int_equal(pay_led_begin(f->led), 0);
    assert_int_equal(
        pay_led_write(f->led, NULL, &a, "submitted", false, "pay.x", 1), 0);
    pay_led_abort(f->led);
    assert_int_equal(pay_led_meta(f->led)->count[PAY_PENDING], 0);
    assert_int_equal(pay_led_meta(f->led)->seq, 0);
    assert_int_equal(s_count_prefix(f, "p/"), 0);
    assert_int_equal(s_count_prefix(f, "t/"), 0);
    const pay_ev_t *evs;
    assert_int_equal(pay_led_events(f->led, &evs), 0);
}

static void
test_recount_and_prune(void **state)
{
    fixture_t *f = *state;
    s_close(f);
    assert_int_equal(s_open(f, 0, 5), 0);
    for (int i = 0; i < 8; i++) {
        char id[16];
        snprintf(id, sizeof id, "p%d", i);
        pay_rec_t r = s_rec(id, i % 2 ? PAY_DEAD : PAY_SUCCEEDED);
        assert_int_equal(pay_led_begin(f->led), 0);
        assert_int_equal(
            pay_led_write(f->led, NULL, &r, "submitted", false, "pay.t", i), 0);
        assert_int_equal(pay_led_commit(f->led), 0);
    }
    // Only the newest 5 events are kept.
    assert_int_equal(s_count_prefix(f, "e/"), 5);
    assert_int_equal(pay_led_meta(f->led)->first, 4);
    assert_int_equal(pay_led_meta(f->led)->seq, 8);
    // Lose the counters: they are counted again at open.
    s_close(f);
    char env[4200], err[256];
    snprintf(env, sizeof env, "%s/azo.lmdb", f->dir);
    azo_store_t *s = NULL;
    assert_int_equal(azo_store_open(&s, env, 0, s_dbs, 1, err, sizeof err), 0);
    assert_int_equal(
        azo_store_del(s, azo_store_db(s, "payment-recovery"), "m", 1), 0);
    azo_store_close(&s);
    assert_int_equal(s_open(f, 0, 5), 0);
    const pay_meta_t *m = pay_led_meta(f->led);
    assert_int_equal(m->count[PAY_SUCCEEDED], 4);
    assert_int_equal(m->count[PAY_DEAD], 4);
    assert_int_equal(m->seq, 8);
    assert_int_equal(m->first, 4);
}

static void
test_store_full(void **state)
{
    fixture_t *f = *state;
    s_close(f);
    azo_test_rm_rf(f->dir);
    assert_int_equal(azo_test_tmpdir(f->dir, sizeof f->dir, "pay_led"), 0);
    assert_int_equal(s_open(f, 1 << 20, 1000), 0); // a 1 MiB map
    int stored = 0, rc = 0;
    for (int i = 0; i < 100000 && rc == 0; i++) {
        char id[16];
        snprintf(id, sizeof id, "f%06d", i);
        pay_rec_t r = s_rec(id, PAY_PENDING);
        rc = pay_led_begin(f->led);
        if (rc == 0)
            rc = pay_led_write(f->led, NULL, &r, "submitted", false, NULL, i);
        if (rc == 0)
            rc = pay_led_commit(f->led);
        else
            pay_led_abort(f->led);
        if (rc == 0)
            stored++;
    }
    assert_int_equal(rc, AZO_ESTOREFULL);
    assert_true(stored > 100);
    assert_int_equal(pay_led_meta(f->led)->count[PAY_PENDING], stored);
    // Every payment stored before the full map is still there, whole.
    s_close(f);
    assert_int_equal(s_open(f, 1 << 20, 1000), 0);
    assert_int_equal(pay_led_meta(f->led)->count[PAY_PENDING], stored);
    azo_txn_t *txn = NULL;
    assert_int_equal(azo_store_begin(f->store, false, &txn), 0);
    for (int i = 0; i < stored; i++) {
        char id[16];
        snprintf(id, sizeof id, "f%06d", i);
        pay_rec_t got;
        assert_int_equal(pay_led_get(f->led, txn, id, &got), 0);
    }
    azo_store_abort(&txn);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_transitions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_recount_and_prune, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_store_full, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
