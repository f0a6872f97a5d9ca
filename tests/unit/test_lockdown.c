/* The kernel's lockdown line, parsed for --require-kernel-lockdown. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <nucleus/security.h>

static enum lockdown_level parse_ok(const char *s)
{
	enum lockdown_level l = (enum lockdown_level)-1;

	assert_int_equal(lockdown_parse(s, &l), 0);
	return l;
}

static void kernel_lines(void **state)
{
	assert_int_equal(parse_ok("[none] integrity confidentiality"), LOCKDOWN_NONE);
	assert_int_equal(parse_ok("none [integrity] confidentiality"), LOCKDOWN_INTEGRITY);
	assert_int_equal(parse_ok("none integrity [confidentiality]\n"), LOCKDOWN_CONFIDENTIALITY);
}

static void bare_words_and_missing(void **state)
{
	assert_int_equal(parse_ok("integrity"), LOCKDOWN_INTEGRITY);
	assert_int_equal(parse_ok("confidentiality\n"), LOCKDOWN_CONFIDENTIALITY);
	assert_int_equal(parse_ok("none"), LOCKDOWN_NONE);
	/* no file, nothing read: the kernel has no lockdown LSM */
	assert_int_equal(parse_ok(""), LOCKDOWN_NONE);
	assert_int_equal(parse_ok("\n"), LOCKDOWN_NONE);
}

static void refused(void **state)
{
	enum lockdown_level l = LOCKDOWN_CONFIDENTIALITY;

	/* an unknown level must never pass as a weaker or stronger one */
	assert_int_equal(lockdown_parse("none [integrity confidentiality", &l), -EINVAL);
	assert_int_equal(lockdown_parse("none integrity] confidentiality", &l), -EINVAL);
	assert_int_equal(lockdown_parse("none [] confidentiality", &l), -EINVAL);
	assert_int_equal(lockdown_parse("none [secret] confidentiality", &l), -EINVAL);
	assert_int_equal(lockdown_parse("none [integ] confidentiality", &l), -EINVAL);
	assert_int_equal(lockdown_parse("integrityx", &l), -EINVAL);
	assert_int_equal(lockdown_parse("none integrity confidentiality", &l), -EINVAL);
	assert_int_equal(l, LOCKDOWN_CONFIDENTIALITY);    /* untouched on error */
}

static void names_in_order(void **state)
{
	assert_string_equal(lockdown_name(LOCKDOWN_NONE), "none");
	assert_string_equal(lockdown_name(LOCKDOWN_INTEGRITY), "integrity");
	assert_string_equal(lockdown_name(LOCKDOWN_CONFIDENTIALITY), "confidentiality");
	assert_true(LOCKDOWN_NONE < LOCKDOWN_INTEGRITY && LOCKDOWN_INTEGRITY < LOCKDOWN_CONFIDENTIALITY);
}

static void none_required_reads_nothing(void **state)
{
	struct nerr err = { 0 };

	assert_int_equal(lockdown_require(LOCKDOWN_NONE, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kernel_lines),
		cmocka_unit_test(bare_words_and_missing),
		cmocka_unit_test(refused),
		cmocka_unit_test(names_in_order),
		cmocka_unit_test(none_required_reads_nothing),
	};
	return cmocka_run_group_tests_name("lockdown", tests, NULL, NULL);
}
