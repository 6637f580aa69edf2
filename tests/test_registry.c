// Unit tests of azo_registry: names, prefixes, routing, generations.
#include "azo_err.h"
#include "azo_registry.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static int
setup(void **state)
{
    azo_registry_t *reg = azo_registry_new();
    assert_non_null(reg);
    assert_int_equal(azo_registry_add(reg, "scheduler", "sched."), 1);
    assert_int_equal(azo_registry_add(reg, "health-checker", "health."), 2);
    *state = reg;
    return 0;
}

static int
teardown(void **state)
{
    azo_registry_t *reg = *state;
    azo_registry_destroy(&reg);
    assert_null(reg);
    azo_registry_destroy(&reg); // NULL-safe
    return 0;
}

static void
test_registry_sup_is_index_zero(void **state)
{
    azo_registry_t *reg = *state;
    assert_string_equal(azo_registry_name(reg, AZO_REG_SUP), "sup");
    assert_int_equal(azo_registry_find(reg, "sup"), AZO_REG_SUP);
    assert_int_equal(azo_registry_size(reg), 3);
}

static void
test_registry_routes_by_prefix(void **state)
{
    azo_registry_t *reg = *state;
    assert_int_equal(azo_registry_route(reg, "sched.list"), 1);
    assert_int_equal(azo_registry_route(reg, "health.status"), 2);
    assert_int_equal(azo_registry_route(reg, "ping"), AZO_REG_SUP);
    assert_int_equal(azo_registry_route(reg, "actor.restart"), AZO_REG_SUP);
    assert_int_equal(azo_registry_route(reg, "sched"), AZO_REG_SUP);
    assert_int_equal(azo_registry_route(reg, "schedx.list"), AZO_REG_SUP);
}

static void
test_registry_rejects_bad_and_duplicate_names(void **state)
{
    azo_registry_t *reg = *state;
    assert_int_equal(azo_registry_add(reg, "scheduler", "x."), AZO_ECONFLICT);
    assert_int_equal(azo_registry_add(reg, "other", "sched."), AZO_ECONFLICT);
    assert_int_equal(azo_registry_add(reg, "sup", NULL), AZO_ECONFLICT);
    assert_int_equal(azo_registry_add(reg, "", NULL), AZO_EBADREQ);
    assert_int_equal(azo_registry_add(reg, "Upper", NULL), AZO_EBADREQ);
    assert_int_equal(azo_registry_add(reg, "a b", NULL), AZO_EBADREQ);
    char longname[AZO_REG_MAX_NAME + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_int_equal(azo_registry_add(reg, longname, NULL), AZO_EBADREQ);
    assert_int_equal(azo_registry_find(reg, "nope"), AZO_ENOTFOUND);
}

static void
test_registry_fills_up(void **state)
{
    azo_registry_t *reg = *state;
    char name[16];
    int rc = 0;
    for (int i = 0; rc >= 0; i++) {
        snprintf(name, sizeof name, "a%d", i);
        rc = azo_registry_add(reg, name, NULL);
    }
    assert_int_equal(rc, -ENOSPC);
    assert_int_equal(azo_registry_size(reg), AZO_REG_MAX);
}

static void
test_registry_generations_and_endpoints(void **state)
{
    azo_registry_t *reg = *state;
    assert_false(azo_registry_up(reg, 1));
    azo_registry_set_up(reg, 1, 7);
    assert_true(azo_registry_up(reg, 1));
    assert_int_equal(azo_registry_gen(reg, 1), 7);
    azo_registry_set_down(reg, 1);
    assert_false(azo_registry_up(reg, 1));
    assert_int_equal(azo_registry_gen(reg, 1), 7);

    char a[128], b[128], c[128];
    azo_registry_endpoint(reg, 1, 7, a, sizeof a);
    azo_registry_endpoint(reg, 1, 8, b, sizeof b);
    assert_string_not_equal(a, b);
    assert_non_null(strstr(a, "scheduler"));
    // A second registry (another node in this process) never collides.
    azo_registry_t *other = azo_registry_new();
    assert_int_equal(azo_registry_add(other, "scheduler", "sched."), 1);
    azo_registry_endpoint(other, 1, 7, c, sizeof c);
    assert_string_not_equal(a, c);
    azo_registry_events_endpoint(reg, a, sizeof a);
    azo_registry_events_endpoint(other, c, sizeof c);
    assert_string_not_equal(a, c);
    azo_registry_destroy(&other);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registry_sup_is_index_zero, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_registry_routes_by_prefix, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_registry_rejects_bad_and_duplicate_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_fills_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_registry_generations_and_endpoints,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
