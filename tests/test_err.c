// test_err — unit tests for azo_err: every project code maps to its wire
// name (DESIGN.md "Wire contract") and back, system and unknown codes map to
// "internal", and azo_err_str describes everything. Pure functions: no
// fixture.
#include "azo_err.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

typedef struct {
    int rc;
    const char *wire;
} s_code_t;

// The full list of DESIGN.md, in its order.
static const s_code_t s_codes[] = {
    {AZO_EBADREQ, "bad_request"},  {AZO_ENOCMD, "unknown_command"},
    {AZO_ENOTFOUND, "not_found"},  {AZO_ECONFLICT, "conflict"},
    {AZO_EUNAVAIL, "unavailable"}, {AZO_ETIMEOUT, "timeout"},
    {AZO_EFORBIDDEN, "forbidden"}, {AZO_ESTOREFULL, "store_full"},
    {AZO_EINTERNAL, "internal"},
};
#define S_NCODES (sizeof s_codes / sizeof s_codes[0])

static void
test_err_codes_map_to_wire(void **state)
{
    (void)state;
    for (size_t i = 0; i < S_NCODES; i++) {
        const char *w = azo_err_wire(s_codes[i].rc);
        assert_non_null(w);
        assert_string_equal(w, s_codes[i].wire);
    }
}

static void
test_err_wire_maps_back_to_code(void **state)
{
    (void)state;
    for (size_t i = 0; i < S_NCODES; i++) {
        const char *w = s_codes[i].wire;
        assert_int_equal(azo_err_from_wire(w, (unsigned)strlen(w)),
                         s_codes[i].rc);
        // And the full round trip through both directions.
        const char *again = azo_err_wire(s_codes[i].rc);
        assert_int_equal(azo_err_from_wire(again, (unsigned)strlen(again)),
                         s_codes[i].rc);
    }
}

static void
test_err_from_wire_needs_exact_name(void **state)
{
    (void)state;
    // The name is (code, len): not NUL-terminated, compared in full.
    const char buf[] = "not_foundXYZ";
    assert_int_equal(azo_err_from_wire(buf, 9), AZO_ENOTFOUND);
    assert_int_equal(azo_err_from_wire(buf, 8), AZO_EINTERNAL);  // prefix
    assert_int_equal(azo_err_from_wire(buf, 10), AZO_EINTERNAL); // longer
    assert_int_equal(azo_err_from_wire("timeouts", 7), AZO_ETIMEOUT);

    static const char *const unknown[] = {
        "",
        "bad",
        "BAD_REQUEST",
        "Timeout",
        "bad-request",
        "bad_request ",
        " conflict",
        "unknown",
        "ok",
        "error",
        "internal_error",
    };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        assert_int_equal(
            azo_err_from_wire(unknown[i], (unsigned)strlen(unknown[i])),
            AZO_EINTERNAL);
    // An embedded NUL makes the name different, not shorter.
    assert_int_equal(azo_err_from_wire("conflict\0", 9), AZO_EINTERNAL);
}

static void
test_err_errno_maps_to_internal(void **state)
{
    (void)state;
    static const int errs[] = {ENOENT,    EINVAL, ENOMEM, EAGAIN, EACCES,
                               ETIMEDOUT, EEXIST, ENOSPC, EPIPE,  EINTR};
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++)
        assert_string_equal(azo_err_wire(-errs[i]), "internal");
    // The whole errno range stays below the project range.
    for (int e = 1; e < 1000; e++)
        assert_string_equal(azo_err_wire(-e), "internal");
}

static void
test_err_unknown_negative_maps_to_internal(void **state)
{
    (void)state;
    static const int odd[] = {-1009,  -1010,   -1100,      -2000,
                              -65536, INT_MIN, INT_MIN + 1};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        assert_string_equal(azo_err_wire(odd[i]), "internal");
        const char *s = azo_err_str(odd[i]);
        assert_non_null(s);
        assert_true(s[0] != 0);
    }
}

static void
test_err_str_describes_codes(void **state)
{
    (void)state;
    assert_string_equal(azo_err_str(0), "ok");
    assert_string_equal(azo_err_str(-ENOENT), strerror(ENOENT));
    assert_string_equal(azo_err_str(-ETIMEDOUT), strerror(ETIMEDOUT));
    for (size_t i = 0; i < S_NCODES; i++) {
        const char *s = azo_err_str(s_codes[i].rc);
        assert_non_null(s);
        assert_true(s[0] != 0);
        assert_null(strchr(s, '\n'));
        // Each project code has its own text, not strerror's "Unknown
        // error -1000" and not another code's.
        assert_null(strstr(s, "Unknown error"));
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(s, azo_err_str(s_codes[j].rc));
        assert_string_not_equal(s, azo_err_str(0));
    }
    assert_string_equal(azo_err_str(AZO_ETIMEOUT), "timed out");
    assert_string_equal(azo_err_str(AZO_EINTERNAL), "internal error");
}

static void
test_err_str_positive_is_safe(void **state)
{
    (void)state;
    static const int pos[] = {1, 2, 999, 1000, 1008, 65536};
    for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++) {
        const char *s = azo_err_str(pos[i]);
        assert_non_null(s);
        assert_true(s[0] != 0);
        assert_non_null(azo_err_wire(pos[i]));
    }
}

// Any int is a valid argument: no arithmetic overflow on the way to
// "internal" (run under -fsanitize=undefined to see it).
static void
test_err_large_positive_rc_is_safe(void **state)
{
    (void)state;
    static const int big[] = {INT_MAX - 998, INT_MAX - 1, INT_MAX};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        assert_string_equal(azo_err_wire(big[i]), "internal");
        const char *s = azo_err_str(big[i]);
        assert_non_null(s);
        assert_true(s[0] != 0);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_codes_map_to_wire),
        cmocka_unit_test(test_err_wire_maps_back_to_code),
        cmocka_unit_test(test_err_from_wire_needs_exact_name),
        cmocka_unit_test(test_err_errno_maps_to_internal),
        cmocka_unit_test(test_err_unknown_negative_maps_to_internal),
        cmocka_unit_test(test_err_str_describes_codes),
        cmocka_unit_test(test_err_str_positive_is_safe),
        // Last: under UBSan a failure here aborts the process.
        cmocka_unit_test(test_err_large_positive_rc_is_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
