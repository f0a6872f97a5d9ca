/* Pinned sets' names: which build's set a directory is, at which level, and
 * which set of an object a container recorded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
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

/* Another build's values are read only when its set says it has our layout. */
static void compatible_sets(void **state)
{
	char tmp[] = "/tmp/nucleus-pins-XXXXXX";
	_cleanup_free_ char *mine = NULL, *same = NULL, *other = NULL, *legacy = NULL;

	assert_non_null(mkdtemp(tmp));
	mine = xasprintf("%s/egress-00000000000000aa-l2", tmp);
	same = xasprintf("%s/egress-00000000000000bb-l2", tmp);
	other = xasprintf("%s/egress-00000000000000cc-l2", tmp);
	legacy = xasprintf("%s/egress-00000000000000dd-l2", tmp);
	const char *dirs[] = { mine, same, other, legacy };
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(mkdir(dirs[i], 0700), 0);
	assert_int_equal(bpf_set_mark_abi(same, "abi1"), 0);
	assert_int_equal(bpf_set_mark_abi(same, "abi1"), 0);      /* again: already there */
	assert_int_equal(bpf_set_mark_abi(other, "abi2"), 0);
	assert_true(bpf_set_compatible(mine, "00000000000000aa", "abi1"));    /* its own: no link needed */
	assert_true(bpf_set_compatible(same, "00000000000000aa", "abi1"));
	assert_false(bpf_set_compatible(other, "00000000000000aa", "abi1"));
	assert_false(bpf_set_compatible(legacy, "00000000000000aa", "abi1"));
	remove_tree(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_names),
		cmocka_unit_test(not_set_names),
		cmocka_unit_test(recorded_pins),
		cmocka_unit_test(compatible_sets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
