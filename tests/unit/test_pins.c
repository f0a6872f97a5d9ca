/* Pinned sets' names: which build's set a directory is, at which level, and
 * which set of an object a container recorded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <nucleus/ebpf.h>

static void set_names(void **state)
{
	char v[33];
	unsigned level = 99;

	assert_true(bpf_set_parse("egress-95df90ac556ee535-l2", "egress", v, &level));
	assert_string_equal(v, "95df90ac556ee535");
	assert_int_equal(level, 2);
	/* audit's sets name their source after the level */
	assert_true(bpf_set_parse("audit-e6042b338372892a-l13-tp-eperm", "audit", v, &level));
	assert_string_equal(v, "e6042b338372892a");
	assert_int_equal(level, 13);
	assert_true(bpf_set_parse("audit-e6042b338372892a-l3-lsm", "audit", v, &level));
	assert_int_equal(level, 3);
}

static void not_set_names(void **state)
{
	char v[33];
	unsigned level;

	assert_false(bpf_set_parse("egress-95df90ac556ee535-l2", "audit", v, &level));
	assert_false(bpf_set_parse("egressx-95df90ac556ee535-l2", "egress", v, &level));
	assert_false(bpf_set_parse("egress-95df90ac556ee535", "egress", v, &level));
	assert_false(bpf_set_parse("egress-95df90ac556ee535-l", "egress", v, &level));
	assert_false(bpf_set_parse("egress-95df90ac556ee535-l2x", "egress", v, &level));
	assert_false(bpf_set_parse("egress--l2", "egress", v, &level));
	assert_false(bpf_set_parse("egress-xyz-l2", "egress", v, &level));
	assert_false(bpf_set_parse("egress-0123456789abcdef0123456789abcdef0-l2", "egress", v, &level));
	assert_false(bpf_set_parse("trace", "trace", v, &level));
}

static void recorded_pins(void **state)
{
	char *pins[] = { "egress-95df90ac556ee535-l2", "audit-e6042b338372892a-l2-lsm", NULL };

	assert_string_equal(bpf_pins_find(pins, "audit"), "audit-e6042b338372892a-l2-lsm");
	assert_string_equal(bpf_pins_find(pins, "egress"), "egress-95df90ac556ee535-l2");
	assert_null(bpf_pins_find(pins, "trace"));
	assert_null(bpf_pins_find(NULL, "egress"));    /* a container of an older build */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_names),
		cmocka_unit_test(not_set_names),
		cmocka_unit_test(recorded_pins),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
