/* String vectors: appending stays linear, and correct however vectors are
 * mixed, shortened and replaced. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>
#include <nucleus/util.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void long_vectors_are_linear(void **state)
{
	enum { N = 200000 };
	char **v = NULL;
	double t0 = now();

	for (int i = 0; i < N; i++)
		strv_push_take(&v, xasprintf("%d", i));
	/* a scan per push took seconds here (20 billion reads) */
	assert_true(now() - t0 < 1.0);
	assert_int_equal(strv_len(v), N);
	assert_string_equal(v[0], "0");
	assert_string_equal(v[N - 1], "199999");
	assert_null(v[N]);
	strv_free(v);
}

static void interleaved_vectors(void **state)
{
	char **a = NULL, **b = NULL;

	for (int i = 0; i < 1000; i++) {
		strv_push_take(&a, xasprintf("a%d", i));
		strv_push_take(&b, xasprintf("b%d", i));
		if (i % 3 == 0)
			strv_push(&a, "extra");
	}
	assert_int_equal(strv_len(a), 1334);
	assert_int_equal(strv_len(b), 1000);
	assert_string_equal(a[1332], "a999");
	assert_string_equal(a[1333], "extra");
	assert_string_equal(b[999], "b999");
	strv_free(a);
	strv_free(b);
}

static void shortened_then_pushed(void **state)
{
	char **v = NULL;

	for (int i = 0; i < 10; i++)
		strv_push_take(&v, xasprintf("%d", i));
	/* drop the last three */
	for (int i = 7; i < 10; i++) {
		free(v[i]);
		v[i] = NULL;
	}
	strv_push(&v, "x");
	assert_int_equal(strv_len(v), 8);
	assert_string_equal(v[7], "x");
	/* drop only the last one */
	free(v[7]);
	v[7] = NULL;
	strv_push(&v, "y");
	assert_int_equal(strv_len(v), 8);
	assert_string_equal(v[7], "y");
	strv_free(v);
}

static void vectors_made_elsewhere(void **state)
{
	for (int round = 0; round < 50; round++) {
		char **v = NULL, **e;

		for (int i = 0; i < 5; i++)
			strv_push(&v, "old");
		strv_free(v);
		/* the same address may come back for a vector built by hand */
		e = xcalloc(1, sizeof(char *));
		strv_push(&e, "new");
		assert_int_equal(strv_len(e), 1);
		assert_string_equal(e[0], "new");
		strv_free(e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(long_vectors_are_linear),
		cmocka_unit_test(interleaved_vectors),
		cmocka_unit_test(shortened_then_pushed),
		cmocka_unit_test(vectors_made_elsewhere),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
