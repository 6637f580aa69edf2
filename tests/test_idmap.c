// Unit tests of azo_idmap: numeric keys, not strings.
#include "azo_idmap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void
test_idmap_keys_are_numbers(void **state)
{
    (void)state;
    zhashx_t *map = azo_idmap_new();
    assert_non_null(map);
    int values[3];
    uint64_t keys[3] = {1, 0x8000000000000001ULL, 4096};
    for (int i = 0; i < 3; i++)
        assert_int_equal(zhashx_insert(map, AZO_IDMAP_KEY(keys[i]), &values[i]),
                         0);
    // The same number is the same key; a duplicate insert is refused.
    assert_int_equal(zhashx_insert(map, AZO_IDMAP_KEY(1), &values[1]), -1);
    for (int i = 0; i < 3; i++)
        assert_ptr_equal(zhashx_lookup(map, AZO_IDMAP_KEY(keys[i])),
                         &values[i]);
    assert_null(zhashx_lookup(map, AZO_IDMAP_KEY(2)));
    zhashx_delete(map, AZO_IDMAP_KEY(4096));
    assert_null(zhashx_lookup(map, AZO_IDMAP_KEY(4096)));
    assert_int_equal(zhashx_size(map), 2);
    // Many keys, many collisions in the low bits.
    static int many[10000];
    for (uint64_t i = 0; i < 10000; i++)
        assert_int_equal(
            zhashx_insert(map, AZO_IDMAP_KEY((i + 10) << 20), &many[i]), 0);
    for (uint64_t i = 0; i < 10000; i++)
        assert_ptr_equal(zhashx_lookup(map, AZO_IDMAP_KEY((i + 10) << 20)),
                         &many[i]);
    zhashx_destroy(&map);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idmap_keys_are_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
