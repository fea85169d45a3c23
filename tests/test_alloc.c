/* test_alloc.c - allocator callbacks and the counting allocator. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include "bruno.h"

Test(alloc, counting_allocator_tracks_live_peak_and_totals_exactly)
{
    bruno_counting_allocator c;
    bruno_allocator a;
    void *x, *y, *z;
    bruno_counting_allocator_init(&c, NULL);
    a = bruno_counting_allocator_get(&c);
    x = bruno_alloc(&a, 10, 10);   /* 100 */
    y = bruno_alloc(&a, 50, 4);    /* 200 */
    cr_assert(x && y);
    cr_expect_eq(c.live_bytes, 300);
    cr_expect_eq(c.peak_bytes, 300);
    bruno_free(&a, x, 10, 10);
    cr_expect_eq(c.live_bytes, 200);
    cr_expect_eq(c.peak_bytes, 300);
    bruno_counting_allocator_reset_peak(&c);
    cr_expect_eq(c.peak_bytes, 200);
    z = bruno_alloc(&a, 1, 50);
    cr_expect_eq(c.live_bytes, 250);
    cr_expect_eq(c.peak_bytes, 250);
    bruno_free(&a, y, 50, 4);
    bruno_free(&a, z, 1, 50);
    cr_expect_eq(c.live_bytes, 0);
    cr_expect_eq(c.peak_bytes, 250);
    cr_expect_eq(c.total_bytes, 350);
    cr_expect_eq(c.n_allocs, 3);
    cr_expect_eq(c.n_frees, 3);
}

/* tests/impl.c compiles the implementation for POSIX, where the default
   allocation is 64-byte aligned (bruno.h, BRUNO_MALLOC): the fast FeLIF
   kernel's rows then never straddle two cache lines. Checked directly and
   through the counting allocator, whose inner allocator is the default. */
Test(alloc, default_allocation_is_64_byte_aligned)
{
    const size_t sizes[] = {1, 3, 17, 64, 100, 4096, 26112, 262144, 1u << 21};
    bruno_counting_allocator c;
    bruno_allocator a;
    size_t i;
    bruno_counting_allocator_init(&c, NULL);
    a = bruno_counting_allocator_get(&c);
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
        void *p = bruno_alloc(NULL, sizes[i], 1), *q = bruno_alloc(&a, sizes[i], 1);
        cr_assert(p && q);
        cr_expect_eq((uintptr_t)p % 64, 0, "%zu bytes at %p", sizes[i], p);
        cr_expect_eq((uintptr_t)q % 64, 0, "%zu bytes at %p (counting)", sizes[i], q);
        bruno_free(NULL, p, sizes[i], 1);
        bruno_free(&a, q, sizes[i], 1);
    }
    cr_expect_eq(c.live_bytes, 0);
}

Test(alloc, memory_is_zero_filled)
{
    bruno_allocator a = bruno_allocator_default();
    unsigned char *x = (unsigned char *)bruno_alloc(&a, 1000, 1);
    int i, nonzero = 0;
    cr_assert(x);
    for (i = 0; i < 1000; ++i) nonzero += x[i] != 0;
    cr_expect_eq(nonzero, 0);
    bruno_free(&a, x, 1000, 1);
}

Test(alloc, zero_bytes_gives_a_distinct_pointer_counted_as_one_byte)
{
    bruno_counting_allocator c;
    bruno_allocator a;
    void *x, *y;
    bruno_counting_allocator_init(&c, NULL);
    a = bruno_counting_allocator_get(&c);
    x = bruno_alloc(&a, 0, 8);
    y = bruno_alloc(&a, 0, 8);
    cr_assert(x && y);
    cr_expect(x != y);
    cr_expect_eq(c.live_bytes, 2);
    bruno_free(&a, x, 0, 8);
    bruno_free(&a, y, 0, 8);
    cr_expect_eq(c.live_bytes, 0);
}

Test(alloc, overflowing_size_fails_without_calling_the_allocator)
{
    bruno_counting_allocator c;
    bruno_allocator a;
    bruno_counting_allocator_init(&c, NULL);
    a = bruno_counting_allocator_get(&c);
    cr_expect_null(bruno_alloc(&a, (size_t)-1 / 2 + 2, 2));
    cr_expect_eq(c.n_allocs, 0);
    cr_expect_eq(c.live_bytes, 0);
}

Test(alloc, fail_at_fails_exactly_the_kth_allocation)
{
    bruno_counting_allocator c;
    bruno_allocator a;
    void *p[5];
    int i;
    bruno_counting_allocator_init(&c, NULL);
    c.fail_at = 3;
    a = bruno_counting_allocator_get(&c);
    for (i = 0; i < 5; ++i) p[i] = bruno_alloc(&a, 1, 16);
    cr_expect_not_null(p[0]);
    cr_expect_not_null(p[1]);
    cr_expect_null(p[2]);
    cr_expect_not_null(p[3]);
    cr_expect_not_null(p[4]);
    cr_expect_eq(c.live_bytes, 4 * 16);
    for (i = 0; i < 5; ++i) bruno_free(&a, p[i], 1, 16); /* NULL is a no-op */
    cr_expect_eq(c.live_bytes, 0);
    cr_expect_eq(c.n_frees, 4);
}

/* An inner allocator that records its user pointer. */
typedef struct { int allocs, frees; size_t last_size; } spy;
static void *spy_alloc(size_t n, void *u) { ((spy *)u)->allocs++; ((spy *)u)->last_size = n; return malloc(n); }
static void spy_free(void *p, size_t n, void *u) { ((spy *)u)->frees++; ((spy *)u)->last_size = n; free(p); }

Test(alloc, counting_allocator_forwards_to_the_inner_allocator_with_sizes)
{
    spy s = {0, 0, 0};
    bruno_allocator inner, a;
    bruno_counting_allocator c;
    void *x;
    inner.user = &s;
    inner.alloc = spy_alloc;
    inner.free = spy_free;
    bruno_counting_allocator_init(&c, &inner);
    a = bruno_counting_allocator_get(&c);
    x = bruno_alloc(&a, 3, 7);
    cr_expect_eq(s.allocs, 1);
    cr_expect_eq(s.last_size, 21);
    bruno_free(&a, x, 3, 7);
    cr_expect_eq(s.frees, 1);
    cr_expect_eq(s.last_size, 21);
}

Test(alloc, felif_population_allocates_what_it_reports_and_frees_it)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_pop_config pc = bruno_felif_pop_config_default(&fp, 37);
    bruno_counting_allocator c;
    bruno_felif_pop pop;
    bruno_counting_allocator_init(&c, NULL);
    pc.allocator = bruno_counting_allocator_get(&c);
    cr_assert_eq(bruno_felif_pop_init(&pop, &pc), BRUNO_OK);
    cr_expect_eq(c.live_bytes, bruno_felif_pop_bytes(37));
    bruno_felif_pop_free(&pop);
    cr_expect_eq(c.live_bytes, 0);
    bruno_felif_pop_free(&pop); /* a second free is harmless: nothing more is freed */
    cr_expect_eq(c.n_frees, c.n_allocs);
}

Test(alloc, out_of_memory_is_reported_and_leaks_nothing)
{
    bruno_felif_params fp = bruno_felif_params_default();
    bruno_felif_pop_config pc = bruno_felif_pop_config_default(&fp, 8);
    bruno_counting_allocator c;
    bruno_felif_pop pop;
    bruno_counting_allocator_init(&c, NULL);
    c.fail_at = 1;
    pc.allocator = bruno_counting_allocator_get(&c);
    cr_expect_eq(bruno_felif_pop_init(&pop, &pc), BRUNO_ERR_NOMEM);
    cr_expect_eq(c.live_bytes, 0);
    bruno_felif_pop_free(&pop); /* safe after a failed init */
    cr_expect_eq(c.live_bytes, 0);
}

/* The workspace grows to the largest pass of its kind and stays: training
   on sequences of varying length with inference passes between them (JSB)
   makes it again once per change of kind, not at every longer sequence;
   what it holds is then the prediction of bruno_net_train_bytes for the
   longest training pass. A long pass of one sample, then many samples of
   a short one, are not combined into a workspace larger than either. */
Test(alloc, the_workspace_grows_to_the_largest_pass_of_its_kind_once)
{
    bruno_net_config nc = bruno_net_config_default(3);
    bruno_layer_config d = bruno_layer_config_default(BRUNO_LAYER_DENSE);
    bruno_layer_config l = bruno_layer_config_default(BRUNO_LAYER_LIF);
    bruno_counting_allocator c;
    bruno_net net;
    const bruno_real *y;
    bruno_real x[3 * 50 * 20];
    size_t i, n_allocs, params;
    for (i = 0; i < sizeof x / sizeof x[0]; ++i) x[i] = (bruno_real)(i % 7) * (bruno_real)0.1;
    bruno_counting_allocator_init(&c, NULL);
    nc.allocator = bruno_counting_allocator_get(&c);
    d.n_out = 4;
    cr_assert_eq(bruno_net_init(&net, &nc), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&net, &d), BRUNO_OK);
    cr_assert_eq(bruno_net_add(&net, &l), BRUNO_OK);
    params = c.live_bytes;
    cr_assert_eq(bruno_net_forward(&net, x, 6, 2, 1, &y), BRUNO_OK);
    cr_assert_eq(bruno_net_forward(&net, x, 9, 2, 0, &y), BRUNO_OK); /* inference, longer: made again */
    cr_assert_eq(bruno_net_forward(&net, x, 4, 2, 1, &y), BRUNO_OK); /* training: made for T = 6 */
    cr_expect_eq(c.live_bytes - params, bruno_net_train_bytes(&net, 6, 2));
    n_allocs = c.n_allocs;
    cr_assert_eq(bruno_net_forward(&net, x, 5, 2, 1, &y), BRUNO_OK);
    cr_assert_eq(bruno_net_forward(&net, x, 6, 2, 1, &y), BRUNO_OK);
    cr_assert_eq(bruno_net_forward(&net, x, 3, 1, 0, &y), BRUNO_OK);
    cr_expect_eq(c.n_allocs, n_allocs, "no allocation for passes that fit the largest one");
    /* released: the marks go too; then (50, 1) and (2, 20) each get their own */
    bruno_net_release_workspace(&net);
    cr_assert_eq(bruno_net_forward(&net, x, 50, 1, 1, &y), BRUNO_OK);
    cr_expect_eq(c.live_bytes - params, bruno_net_train_bytes(&net, 50, 1));
    cr_assert_eq(bruno_net_forward(&net, x, 2, 20, 1, &y), BRUNO_OK);
    cr_expect_eq(c.live_bytes - params, bruno_net_train_bytes(&net, 2, 20));
    bruno_net_free(&net);
    cr_expect_eq(c.live_bytes, 0);
}
