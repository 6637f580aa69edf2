// test_heap — azo_heap against a brute-force model under random operations.
#include "azo_heap.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

typedef struct {
    int id;
    azo_heap_node_t node;
} s_item_t;

#define N 200

// The smallest key among items in the heap, per the model.
static int64_t
s_model_min(const s_item_t *items, const int64_t *keys, const bool *in)
{
    int64_t min = INT64_MAX;
    for (int i = 0; i < N; i++)
        if (in[i] && keys[i] < min)
            min = keys[i];
    (void)items;
    return min;
}

static void
test_heap_random_ops_match_model(void **state)
{
    (void)state;
    s_item_t items[N];
    int64_t keys[N];
    bool in[N] = {0};
    for (int i = 0; i < N; i++)
        items[i] = (s_item_t){.id = i};
    azo_heap_t h;
    azo_heap_init(&h);
    srand(7);
    size_t count = 0;
    for (int step = 0; step < 20000; step++) {
        int i = rand() % N;
        int op = rand() % 3;
        if (op < 2) { // insert or re-key
            int64_t k = rand() % 1000;
            assert_int_equal(azo_heap_set(&h, &items[i].node, k), 0);
            if (!in[i])
                count++;
            in[i] = true;
            keys[i] = k;
        } else { // remove (also when absent)
            azo_heap_remove(&h, &items[i].node);
            if (in[i])
                count--;
            in[i] = false;
        }
        assert_int_equal(h.n, count);
        assert_int_equal(azo_heap_has(&items[i].node), in[i]);
        azo_heap_node_t *top = azo_heap_top(&h);
        if (!count) {
            assert_null(top);
            continue;
        }
        assert_non_null(top);
        assert_int_equal(top->key, s_model_min(items, keys, in));
        s_item_t *it = AZO_HEAP_ITEM(top, s_item_t, node);
        assert_true(in[it->id]);
    }
    // Drain in order.
    int64_t last = INT64_MIN;
    while (azo_heap_top(&h)) {
        azo_heap_node_t *top = azo_heap_top(&h);
        assert_true(top->key >= last);
        last = top->key;
        azo_heap_remove(&h, top);
    }
    assert_int_equal(h.n, 0);
    azo_heap_fini(&h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_random_ops_match_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
