// test_pay_rec — the payment record: submission checks naming the field,
// ISO-4217, record and trail round trips, strict decoding, backoff.
#include "azo_err.h"
#include "azo_mp.h"
#include "pay_rec.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

// Builds a submission map from "key=value" pairs; values that parse as
// integers are packed as integers, "@nil" as nil, others as strings.
static int
s_submit(pay_rec_t *rec, char *err, size_t errlen, int n, ...)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, (uint32_t)n);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *kv = va_arg(ap, const char *);
        const char *eq = strchr(kv, '=');
        azo_pack_strn(&pk, kv, (size_t)(eq - kv));
        const char *v = eq + 1;
        char *end;
        long long x = strtoll(v, &end, 10);
        if (strcmp(v, "@nil") == 0)
            msgpack_pack_nil(&pk);
        else if (*v && !*end)
            msgpack_pack_int64(&pk, x);
        else
            azo_pack_str(&pk, v);
    }
    va_end(ap);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object obj;
    assert_int_equal(azo_mp_unpack(sb.data, sb.size, &zone, &obj), 0);
    int rc = pay_rec_from_args(rec, &obj, err, errlen);
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

#define OK5                                                                    \
    "id=p-1", "amount=1250", "currency=eur", "customer=cus_1",                 \
        "method=pm_card_visa"

static void
test_submit_ok(void **state)
{
    (void)state;
    pay_rec_t r;
    char err[200];
    assert_int_equal(s_submit(&r, err, sizeof err, 5, OK5), 0);
    assert_string_equal(r.id, "p-1");
    assert_int_equal(r.amount, 1250);
    assert_string_equal(r.currency, "EUR");
    assert_int_equal(r.status, PAY_PENDING);
    assert_false(r.recovering);
    assert_int_equal(s_submit(&r, err, sizeof err, 7, OK5, "status=failed",
                              "description=order 7"),
                     0);
    assert_int_equal(r.status, PAY_FAILED);
    assert_true(r.recovering);
    assert_string_equal(r.description, "order 7");
}

static void
s_bad(const char *field, int n, ...)
{
    // Rebuilds through s_submit with up to 7 pairs.
    va_list ap;
    va_start(ap, n);
    const char *kv[8] = {0};
    for (int i = 0; i < n; i++)
        kv[i] = va_arg(ap, const char *);
    va_end(ap);
    pay_rec_t r;
    char err[200] = "";
    int rc = s_submit(&r, err, sizeof err, n, kv[0], kv[1], kv[2], kv[3], kv[4],
                      kv[5], kv[6], kv[7]);
    assert_int_equal(rc, AZO_EBADREQ);
    if (strncmp(err, field, strlen(field)) != 0)
        fail_msg("expected an error naming '%s', got '%s'", field, err);
}

static void
test_submit_bad(void **state)
{
    (void)state;
    s_bad("amount", 5, "id=p", "amount=-5", "currency=USD", "customer=c",
          "method=m");
    s_bad("amount", 5, "id=p", "amount=0", "currency=USD", "customer=c",
          "method=m");
    s_bad("amount", 5, "id=p", "amount=12.5x", "currency=USD", "customer=c",
          "method=m");
    s_bad("amount", 4, "id=p", "currency=USD", "customer=c", "method=m");
    s_bad("currency", 5, "id=p", "amount=1", "currency=XYZ", "customer=c",
          "method=m");
    s_bad("currency", 5, "id=p", "amount=1", "currency=US", "customer=c",
          "method=m");
    s_bad("currency", 5, "id=p", "amount=1", "currency=12", "customer=c",
          "method=m");
    s_bad("customer", 4, "id=p", "amount=1", "currency=USD", "method=m");
    s_bad("customer", 5, "id=p", "amount=1", "currency=USD", "customer=7",
          "method=m");
    s_bad("method", 4, "id=p", "amount=1", "currency=USD", "customer=c");
    s_bad("method", 5, "id=p", "amount=1", "currency=USD", "customer=c",
          "method=@nil");
    s_bad("id", 4, "amount=1", "currency=USD", "customer=c", "method=m");
    s_bad("id", 5, "id=a b", "amount=1", "currency=USD", "customer=c",
          "method=m");
    s_bad("id", 5, "id=a/b", "amount=1", "currency=USD", "customer=c",
          "method=m");
    s_bad("status", 6, "id=p", "amount=1", "currency=USD", "customer=c",
          "method=m", "status=dead");
    s_bad("error", 6, "id=p", "amount=1", "currency=USD", "customer=c",
          "method=m", "error=x");
    s_bad("colour", 6, "id=p", "amount=1", "currency=USD", "customer=c",
          "method=m", "colour=red");
}

static void
test_currency(void **state)
{
    (void)state;
    const char *good[] = {"USD", "EUR", "JPY", "GBP", "CHF", "AED", "ZWL"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(pay_currency_ok(good[i]));
    const char *bad[] = {"usd", "XYZ", "EU", "EURO", "", "AAA", "ZZZ"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(pay_currency_ok(bad[i]));
    assert_false(pay_currency_ok(NULL));
}

static void
s_roundtrip(const pay_rec_t *in, pay_rec_t *out)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    pay_rec_pack(in, &pk);
    assert_int_equal(azo_mp_check(sb.data, sb.size, NULL, 0), 0);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object obj;
    assert_int_equal(azo_mp_unpack(sb.data, sb.size, &zone, &obj), 0);
    char err[128];
    assert_int_equal(pay_rec_unpack(out, &obj, err, sizeof err), 0);
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&sb);
}

static void
test_record_roundtrip(void **state)
{
    (void)state;
    pay_rec_t a = {.id = "pay_9",
                   .amount = 99,
                   .currency = "USD",
                   .customer = "cus",
                   .method = "pm_fail_2",
                   .ikey = "azo_00ff",
                   .status = PAY_FAILED,
                   .attempts = 3,
                   .calls = 4,
                   .next_ms = 1700000000123,
                   .created_ms = 5,
                   .updated_ms = 6,
                   .trail_n = 7,
                   .recovering = true,
                   .err_code = "http_500",
                   .err_msg = "boom",
                   .err_http = 500,
                   .err_unknown = true};
    pay_rec_t b;
    s_roundtrip(&a, &b);
    assert_memory_equal(&a, &b, sizeof a);
}

static void
test_record_strict(void **state)
{
    (void)state;
    // A map missing fields, a wrong type, a bad status.
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    azo_pack_kstr(&pk, "id", "x");
    azo_pack_kint(&pk, "v", 1);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object obj;
    assert_int_equal(azo_mp_unpack(sb.data, sb.size, &zone, &obj), 0);
    pay_rec_t r;
    char err[128] = "";
    assert_int_equal(pay_rec_unpack(&r, &obj, err, sizeof err), AZO_EBADREQ);
    assert_true(err[0]);
    assert_int_equal(r.id[0], 0);
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&sb);
}

static void
test_trail_roundtrip(void **state)
{
    (void)state;
    pay_trail_t a = {.n = 3,
                     .ts = 17,
                     .from = PAY_PROCESSING,
                     .to = PAY_FAILED,
                     .attempt = 2,
                     .seq = 40,
                     .cause = "retry_scheduled",
                     .code = "rate_limited",
                     .msg = "slow down",
                     .http = 429};
    pay_trail_t b = {
        .n = 1, .ts = 1, .from = -1, .to = PAY_PENDING, .cause = "submitted"};
    const pay_trail_t *in[] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        pay_trail_pack(in[i], &pk);
        msgpack_zone zone;
        msgpack_zone_init(&zone, 1024);
        msgpack_object obj;
        assert_int_equal(azo_mp_unpack(sb.data, sb.size, &zone, &obj), 0);
        pay_trail_t out;
        assert_int_equal(pay_trail_unpack(&out, &obj, NULL, 0), 0);
        assert_memory_equal(in[i], &out, sizeof out);
        msgpack_zone_destroy(&zone);
        msgpack_sbuffer_destroy(&sb);
    }
}

static void
test_backoff(void **state)
{
    (void)state;
    // The default: 2^(attempt-1) s.
    assert_int_equal(pay_backoff(1, 1000, 2, 3600000, 0, 0.5), 1000);
    assert_int_equal(pay_backoff(2, 1000, 2, 3600000, 0, 0.5), 2000);
    assert_int_equal(pay_backoff(5, 1000, 2, 3600000, 0, 0.5), 16000);
    // Capped, also for absurd attempts.
    assert_int_equal(pay_backoff(13, 1000, 2, 3600000, 0, 0.5), 3600000);
    assert_int_equal(pay_backoff(4000, 1000, 2, 3600000, 0, 0.5), 3600000);
    assert_int_equal(pay_backoff(3, 500, 3, 3600000, 0, 0), 4500);
    // Jitter spreads +/- its fraction: r = 0 low end, r -> 1 high end.
    assert_int_equal(pay_backoff(1, 1000, 2, 3600000, 0.1, 0), 900);
    assert_int_equal(pay_backoff(1, 1000, 2, 3600000, 0.1, 0.5), 1000);
    int64_t hi = pay_backoff(1, 1000, 2, 3600000, 0.1, 0.999999);
    assert_true(hi >= 1099 && hi <= 1100);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_ok),
        cmocka_unit_test(test_submit_bad),
        cmocka_unit_test(test_currency),
        cmocka_unit_test(test_record_roundtrip),
        cmocka_unit_test(test_record_strict),
        cmocka_unit_test(test_trail_roundtrip),
        cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
