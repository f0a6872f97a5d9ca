/* Landlock: rights per ABI and the default agent rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <nucleus/security.h>

static const struct landlock_path_rule *find(const struct landlock_spec *s, const char *p)
{
	for (size_t i = 0; i < s->nrules; i++)
		if (!strcmp(s->rules[i].path, p))
			return &s->rules[i];
	return NULL;
}

static void rights_per_abi(void **state)
{
	char names[512];

	assert_int_equal(landlock_fs_handled(0), 0);
	assert_int_equal(landlock_fs_handled(1), 0x1fff);
	assert_int_equal(landlock_fs_handled(2), 0x3fff);
	assert_int_equal(landlock_fs_handled(3), 0x7fff);
	assert_int_equal(landlock_fs_handled(4), 0x7fff);
	assert_int_equal(landlock_fs_handled(5), 0xffff);
	landlock_access_names(0x5, names, sizeof(names));
	assert_string_equal(names, "execute read_file");
}

static void default_rules(void **state)
{
	struct landlock_spec s;
	const struct landlock_path_rule *r;

	landlock_default_spec(&s, true, true);
	r = find(&s, "/usr");
	assert_non_null(r);
	assert_true(r->access & 1);              /* execute */
	assert_false(r->access & 2);             /* no write_file */
	r = find(&s, "/tmp");
	assert_non_null(r);
	assert_true(r->access & 2);
	assert_false(r->access & 1);             /* no execute from /tmp */
	assert_non_null(find(&s, "/context"));
	r = find(&s, "/");
	assert_non_null(r);
	assert_int_equal(r->access, 0xc);        /* read only */
	landlock_spec_free(&s);

	landlock_default_spec(&s, false, true);  /* bind mode: read-only */
	assert_null(find(&s, "/context"));
	landlock_spec_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rights_per_abi),
		cmocka_unit_test(default_rules),
	};
	return cmocka_run_group_tests_name("landlock", tests, NULL, NULL);
}
