/* Capability and Landlock policy files, and pinning. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <nucleus/security.h>

#define CAP(n) (1ull << (n))
enum { CHOWN = 0, KILL = 5, NET_BIND = 10, NET_RAW = 13, SYS_ADMIN = 21 };

static int caps(const char *text, struct cap_sets *out, struct nerr *e)
{
	memset(e, 0, sizeof(*e));
	return caps_policy_parse(text, strlen(text), "p.toml", out, e);
}

static void caps_strict_and_root_modes(void **state)
{
	struct cap_sets c;
	struct nerr e;

	assert_int_equal(caps("[bounding]\nkeep = [\"net_bind_service\", \"CAP_KILL\"]\n"
			      "[inheritable]\nkeep = [\"NET_BIND_SERVICE\"]\n"
			      "[ambient]\nkeep = [\"Net_Bind_Service\"]\n"
			      "[effective]\nkeep = [\"NET_BIND_SERVICE\"]\n", &c, &e), 0);
	assert_int_equal(c.bounding, CAP(NET_BIND) | CAP(KILL));
	assert_int_equal(c.ambient, CAP(NET_BIND));
	assert_int_equal(c.permitted, CAP(NET_BIND));
	assert_false(c.root_gains_at_exec);

	assert_int_equal(caps("[bounding]\nkeep = [\"CHOWN\", \"KILL\"]\n"
			      "[effective]\nkeep = [\"CHOWN\", \"KILL\"]\n", &c, &e), 0);
	assert_true(c.root_gains_at_exec);
	assert_int_equal(c.permitted, CAP(CHOWN) | CAP(KILL));

	assert_int_equal(caps("", &c, &e), 0);   /* nothing: drop all */
	assert_int_equal(c.bounding | c.effective | c.permitted | c.ambient | c.inheritable, 0);
	assert_false(c.root_gains_at_exec);
}

static void caps_errors(void **state)
{
	struct cap_sets c;
	struct nerr e;

	assert_true(caps("[bounding]\nkeep = [\"CAP_FLY\"]\n", &c, &e) < 0);
	assert_string_equal(e.msg, "p.toml:2:9: unknown capability `CAP_FLY`");
	assert_true(caps("[bounding]\nkeep = [\"0\"]\n", &c, &e) < 0);
	assert_true(caps("[bounding]\nkeep = \"KILL\"\n", &c, &e) < 0);
	assert_non_null(strstr(e.msg, "p.toml:2:"));
	assert_true(caps("[bounds]\nkeep = []\n", &c, &e) < 0);
	assert_non_null(strstr(e.msg, "unknown table `bounds`"));
	assert_true(caps("[bounding]\nkeep = []\nextra = 1\n", &c, &e) < 0);
	assert_non_null(strstr(e.msg, "p.toml:3:1: unknown key `extra`"));
	assert_true(caps("[bounding\n", &c, &e) < 0);
	assert_non_null(strstr(e.msg, "p.toml:1:"));
	/* ambient without inheritable */
	assert_true(caps("[bounding]\nkeep=[\"KILL\"]\n[ambient]\nkeep=[\"KILL\"]\n", &c, &e) < 0);
	assert_non_null(strstr(e.msg, "inheritable"));
	/* an effective set no exec can give */
	assert_true(caps("[bounding]\nkeep=[\"KILL\",\"CHOWN\"]\n[effective]\nkeep=[\"KILL\"]\n", &c, &e) < 0);
	assert_non_null(strstr(e.msg, "cannot be what the workload gets"));
}

static int ll(const char *text, struct landlock_spec *out, struct nerr *e)
{
	memset(e, 0, sizeof(*e));
	return landlock_policy_parse(text, strlen(text), "l.toml", out, e);
}

static void landlock_policy(void **state)
{
	struct landlock_spec s;
	struct nerr e;

	assert_int_equal(ll("min_abi = 4\nscope = [\"signal\"]\n"
			    "[[rules]]\npath = \"/usr\"\naccess = [\"read\", \"execute\"]\n"
			    "[[rules]]\npath = \"/tmp\"\naccess = [\"all_except_execute\"]\n"
			    "[[net]]\nport = 443\naccess = [\"connect\"]\n", &s, &e), 0);
	assert_int_equal(s.min_abi, 4);
	assert_int_equal(s.nrules, 2);
	assert_string_equal(s.rules[0].path, "/usr");
	assert_int_equal(s.rules[0].access, 0x1 | 0x4 | 0x8);
	assert_int_equal(s.rules[1].access & 1, 0);
	assert_true(s.restrict_net);
	assert_int_equal(s.nnet, 1);
	assert_int_equal(s.net[0].port, 443);
	assert_int_equal(s.net[0].access, 2);
	assert_int_equal(s.scopes, 2);
	assert_false(s.best_effort);
	landlock_spec_free(&s);
	/* read does not imply execute */
	assert_int_equal(landlock_access_from_name("read") & 1, 0);
	assert_int_equal(landlock_access_from_name("readdir"), 0x8);
	assert_int_equal(landlock_access_from_name("nope"), 0);
}

static void landlock_errors(void **state)
{
	struct landlock_spec s;
	struct nerr e;

	assert_true(ll("[[rules]]\npath = \"/usr\"\naccess = [\"fly\"]\n", &s, &e) < 0);
	assert_string_equal(e.msg, "l.toml:3:11: unknown access `fly`");
	assert_true(ll("[[rules]]\npath = \"usr\"\naccess = [\"read\"]\n", &s, &e) < 0);
	assert_non_null(strstr(e.msg, "absolute path"));
	assert_true(ll("[[net]]\nport = 70000\naccess = [\"connect\"]\n", &s, &e) < 0);
	assert_true(ll("[[net]]\nport = 1\naccess = [\"listen\"]\n", &s, &e) < 0);
	assert_non_null(strstr(e.msg, "unknown network access `listen`"));
	assert_true(ll("scope = [\"ptrace\"]\n", &s, &e) < 0);
	assert_true(ll("min_abi = 0\n", &s, &e) < 0);
	assert_true(ll("colour = 1\n", &s, &e) < 0);
	assert_non_null(strstr(e.msg, "l.toml:1:1: unknown key `colour`"));
	assert_true(ll("[[rules]]\npath = \"/x\"\naccess = [\"read\"]\nmode = 1\n", &s, &e) < 0);
	/* an empty grant: the kernel refuses such a rule (ENOMSG) at start */
	assert_true(ll("[[net]]\nport = 886\naccess = []\n", &s, &e) < 0);
	assert_non_null(strstr(e.msg, "net[0].access is empty"));
	assert_true(ll("[[rules]]\npath = \"/x\"\naccess = []\n", &s, &e) < 0);
	assert_non_null(strstr(e.msg, "rules[0].access is empty"));
}

static void pins(void **state)
{
	char path[] = "/tmp/nucleus-pin-XXXXXX";
	int fd = mkstemp(path);
	struct nerr e = { 0 };

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	assert_int_equal(policy_check_pin("p", path,
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", &e), 0);
	assert_int_equal(policy_check_pin("p", path,
		"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", &e), 0);
	assert_true(policy_check_pin("p", path,
		"0000000000000000000000000000000000000000000000000000000000000000", &e) < 0);
	assert_non_null(strstr(e.msg, "expected 0000"));
	assert_non_null(strstr(e.msg, "actual ba7816bf"));
	assert_true(policy_check_pin("p", path, "abc", &e) < 0);
	assert_int_equal(policy_check_pin("p", path, NULL, &e), 0);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(caps_strict_and_root_modes),
		cmocka_unit_test(caps_errors),
		cmocka_unit_test(landlock_policy),
		cmocka_unit_test(landlock_errors),
		cmocka_unit_test(pins),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
