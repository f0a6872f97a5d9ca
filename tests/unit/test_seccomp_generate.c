/* `nucleus seccomp generate`: a generated profile never allows a call the
 * built-in default (or the --base profile) refuses, argument rules
 * included, unless --allow-syscall names it. Profiles are compiled and run
 * in the userspace BPF interpreter, call by call. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <libgen.h>
#include <string.h>
#include <seccomp.h>
#include <jansson.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <nucleus/security.h>
#include "../../src/security/seccomp_internal.h"
#include "cbpf.h"

static char root[4096];

#define CAP_BIT(n) (1ull << (n))
static const uint64_t docker_caps = CAP_BIT(0) | CAP_BIT(1) | CAP_BIT(3) | CAP_BIT(4) | CAP_BIT(5) |
				    CAP_BIT(6) | CAP_BIT(7) | CAP_BIT(8) | CAP_BIT(10) | CAP_BIT(13) |
				    CAP_BIT(18) | CAP_BIT(27) | CAP_BIT(29) | CAP_BIT(31);
#define SYS_ADMIN CAP_BIT(21)
#define CLONE_NEWUSER_ 0x10000000ull
#define SIGCHLD_ 17

static int setup(void **state)
{
	char exe[4096];
	ssize_t n;

	if (access("config/seccomp/docker-default.json", R_OK) == 0) {
		if (!getcwd(root, sizeof(root)))
			return -1;
	} else if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		snprintf(root, sizeof(root), "%s/../..", dirname(exe));
	}
	return 0;
}

static void record(struct sc_trace_set *s, const char *const *names)
{
	for (size_t i = 0; names[i]; i++) {
		int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, names[i]);

		assert_true(nr >= 0);
		sc_trace_set_add(s, 0, (unsigned)nr, 1);
	}
}

static void load_oci_text(const char *text, uint64_t bounding, struct sc_profile *p)
{
	struct sc_context ctx = { .bounding = bounding };
	struct nerr e = { 0 };

	if (sc_profile_load_oci(text, strlen(text), &ctx, p, &e) < 0)
		fail_msg("%s", e.msg);
}

static void load_docker(uint64_t bounding, struct sc_profile *p)
{
	char path[4200];
	struct sc_context ctx = { .bounding = bounding };
	struct nerr e = { 0 };

	snprintf(path, sizeof(path), "%s/config/seccomp/docker-default.json", root);
	if (sc_profile_load_oci_file(path, &ctx, p, &e) < 0)
		fail_msg("%s", e.msg);
}

static void compile(const struct sc_profile *p, struct sc_program *out)
{
	struct nerr e = { 0 };

	if (sc_program_compile(p, 0, out, &e) < 0)
		fail_msg("%s", e.msg);
}

/* Generate, then load the JSON back and compile it. */
static void generate(const struct sc_trace_set *s, const struct sc_profile *base, char *const *allow,
		     struct sc_program *out, struct sc_generate_report *rep)
{
	struct sc_generate_opts o = { .base = base, .allow = allow };
	struct sc_profile p;
	struct nerr e = { 0 };
	json_t *j;
	char *text;

	assert_int_equal(sc_generate(s, &o, &j, rep, &e), 0);
	text = json_dumps(j, 0);
	json_decref(j);
	load_oci_text(text, 0, &p);
	free(text);
	compile(&p, out);
	sc_profile_free(&p);
}

static bool allowed(const struct sc_program *p, const char *name, uint64_t a0, uint64_t a1)
{
	struct seccomp_data d = { .arch = AUDIT_ARCH_X86_64 };
	uint32_t r;

	d.nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name);
	d.args[0] = a0;
	d.args[1] = a1;
	r = sc_bpf_run(p->insns, p->len, &d) & SECCOMP_RET_ACTION_FULL;
	return r == SECCOMP_RET_ALLOW || r == SECCOMP_RET_LOG;
}

static uint32_t verdict_nr(const struct sc_program *p, int nr, uint64_t a0, uint64_t a1)
{
	struct seccomp_data d = { .arch = AUDIT_ARCH_X86_64, .nr = nr, .args = { a0, a1 } };

	return sc_bpf_run(p->insns, p->len, &d);
}

static bool allows_ret(uint32_t r)
{
	r &= SECCOMP_RET_ACTION_FULL;
	return r == SECCOMP_RET_ALLOW || r == SECCOMP_RET_LOG;
}

static const uint64_t samples[] = {
	0, 1, 2, 8, SIGCHLD_, 38, 40, 0x20000, 0x20008, 0x5412, 21505, 0xffffffff,
	CLONE_NEWUSER_, CLONE_NEWUSER_ | SIGCHLD_, 0x20000000 | SIGCHLD_, (1ull << 32) | 38,
	0x8000000000000000ull, ~0ull,
};

/* Every call the generated program allows, each stricter program allows
 * too: every syscall number up to 470, every pair of sample arguments. */
static void assert_not_laxer(const struct sc_program *gen, const struct sc_program *stricter,
			     const char *what)
{
	for (int nr = 0; nr < 470; nr++)
		for (size_t i = 0; i < ARRAY_SIZE(samples); i++)
			for (size_t j = 0; j < ARRAY_SIZE(samples); j++)
				if (allows_ret(verdict_nr(gen, nr, samples[i], samples[j])) &&
				    !allows_ret(verdict_nr(stricter, nr, samples[i], samples[j])))
					fail_msg("generated profile allows syscall %d (%#llx, %#llx), %s does not",
						 nr, (unsigned long long)samples[i],
						 (unsigned long long)samples[j], what);
}

static void record_everything(struct sc_trace_set *s)
{
	for (unsigned nr = 0; nr < 470; nr++)
		sc_trace_set_add(s, 0, nr, 1);
}

static void clone_keeps_the_default_flag_rule(void **state)
{
	static const char *const names[] = { "clone", "wait4", "exit_group", NULL };
	struct sc_trace_set *s = xcalloc(1, sizeof(*s));
	struct sc_generate_report rep;
	struct sc_program p;

	record(s, names);
	generate(s, NULL, NULL, &p, &rep);
	assert_true(allowed(&p, "clone", SIGCHLD_, 0));
	assert_false(allowed(&p, "clone", CLONE_NEWUSER_ | SIGCHLD_, 0));
	assert_false(allowed(&p, "clone", 0x20000000 | SIGCHLD_, 0));    /* CLONE_NEWCGROUP */
	assert_true(allowed(&p, "execve", 0, 0));
	assert_false(allowed(&p, "unshare", CLONE_NEWUSER_, 0));
	assert_null(rep.denied_default);
	assert_null(rep.allowed_extra);
	assert_false(rep.clone_for_clone3);
	sc_generate_report_free(&rep);
	sc_program_free(&p);
	free(s);
}

static void never_laxer_than_the_default(void **state)
{
	struct sc_trace_set *s = xcalloc(1, sizeof(*s));
	struct sc_generate_report rep;
	struct sc_profile builtin;
	struct sc_program gen, def;
	struct nerr e = { 0 };

	record_everything(s);
	generate(s, NULL, NULL, &gen, &rep);
	assert_int_equal(sc_profile_builtin_default(&builtin, &e), 0);
	compile(&builtin, &def);
	assert_not_laxer(&gen, &def, "the built-in default");
	/* and it is not empty: the default's ordinary calls are there */
	assert_true(allowed(&gen, "read", 0, 0));
	assert_true(allowed(&gen, "socket", 2, 1));
	assert_false(allowed(&gen, "socket", 38, 5));
	assert_true(strv_contains(rep.denied_default, "mount"));
	assert_true(strv_contains(rep.denied_default, "ptrace"));
	sc_generate_report_free(&rep);
	sc_program_free(&gen);
	sc_program_free(&def);
	sc_profile_free(&builtin);
	free(s);
}

static void never_laxer_than_default_or_base(void **state)
{
	/* Docker's profile with its own capabilities, and with CAP_SYS_ADMIN
	 * too, where it allows clone with any flags, mount, setns ... */
	const uint64_t bounding[] = { 0, docker_caps, docker_caps | SYS_ADMIN };

	for (size_t k = 0; k < ARRAY_SIZE(bounding); k++) {
		struct sc_trace_set *s = xcalloc(1, sizeof(*s));
		struct sc_generate_report rep;
		struct sc_profile builtin, base;
		struct sc_program gen, def, b;
		struct nerr e = { 0 };

		record_everything(s);
		load_docker(bounding[k], &base);
		generate(s, &base, NULL, &gen, &rep);
		assert_int_equal(sc_profile_builtin_default(&builtin, &e), 0);
		compile(&builtin, &def);
		compile(&base, &b);
		assert_not_laxer(&gen, &def, "the built-in default");
		assert_not_laxer(&gen, &b, "the base");
		assert_false(allowed(&gen, "clone", CLONE_NEWUSER_ | SIGCHLD_, 0));
		assert_true(allowed(&gen, "clone", SIGCHLD_, 0));
		assert_false(allowed(&gen, "mount", 0, 0));
		assert_false(allowed(&gen, "ptrace", 0, 0));   /* Docker's allows it on kernels >= 4.8 */
		sc_generate_report_free(&rep);
		sc_program_free(&gen);
		sc_program_free(&def);
		sc_program_free(&b);
		sc_profile_free(&builtin);
		sc_profile_free(&base);
		free(s);
	}
}

static void allow_syscall_is_explicit(void **state)
{
	static const char *const names[] = { "clone", "read", "exit_group", NULL };
	char *allow[] = { "setns", "clone", "read", NULL };
	struct sc_trace_set *s = xcalloc(1, sizeof(*s));
	struct sc_generate_opts o = { .allow = (char *const[]){ "no_such_call_x", NULL } };
	struct sc_generate_report rep;
	struct sc_program p;
	struct nerr e = { 0 };
	json_t *j;

	record(s, names);
	generate(s, NULL, allow, &p, &rep);
	assert_true(allowed(&p, "setns", 0, 0));
	assert_true(allowed(&p, "clone", CLONE_NEWUSER_ | SIGCHLD_, 0));
	assert_int_equal(strv_len(rep.allowed_extra), 2);       /* read is allowed anyway */
	assert_string_equal(rep.allowed_extra[0], "clone");
	assert_string_equal(rep.allowed_extra[1], "setns");
	sc_generate_report_free(&rep);
	sc_program_free(&p);
	assert_int_equal(sc_generate(s, &o, &j, &rep, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "--allow-syscall no_such_call_x: no such syscall"));
	free(s);
}

static void denials_are_reported(void **state)
{
	static const char *const names[] = { "unshare", "ptrace", "read", NULL };
	struct sc_trace_set *s = xcalloc(1, sizeof(*s));
	struct sc_generate_report rep;
	struct sc_profile base;
	struct sc_program p;

	record(s, names);
	load_docker(0, &base);
	generate(s, &base, NULL, &p, &rep);
	assert_int_equal(strv_len(rep.denied_both), 1);
	assert_string_equal(rep.denied_both[0], "unshare");
	assert_int_equal(strv_len(rep.denied_default), 1);
	assert_string_equal(rep.denied_default[0], "ptrace");
	assert_null(rep.denied_base);
	assert_false(allowed(&p, "ptrace", 0, 0));
	assert_true(allowed(&p, "read", 0, 0));
	sc_generate_report_free(&rep);
	sc_program_free(&p);
	sc_profile_free(&base);
	free(s);
}

/* A base that allows by default and refuses some arguments by rule. */
static void conditional_denials_of_the_base(void **state)
{
	static const char base_text[] =
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
		"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":22,"
		" \"args\":[{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"}]},"
		"{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":22,"
		" \"args\":[{\"index\":0,\"value\":17,\"op\":\"SCMP_CMP_EQ\"}]}]}";
	static const char *const names[] = { "personality", "clone", "read", NULL };
	struct sc_trace_set *s = xcalloc(1, sizeof(*s));
	struct sc_generate_report rep;
	struct sc_profile base, builtin;
	struct sc_program p, b, def;
	struct nerr e = { 0 };

	record(s, names);
	load_oci_text(base_text, 0, &base);
	generate(s, &base, NULL, &p, &rep);
	/* personality: the default's values, less the one the base refuses */
	assert_true(allowed(&p, "personality", 0, 0));
	assert_true(allowed(&p, "personality", 0xffffffff, 0));
	assert_false(allowed(&p, "personality", 8, 0));
	assert_false(allowed(&p, "personality", 7, 0));
	/* clone: the base's refusal cuts into the default's flag rule, which
	 * no pair of rules expresses for certain: denied, and said so */
	assert_false(allowed(&p, "clone", SIGCHLD_, 0));
	assert_int_equal(strv_len(rep.denied_combined), 1);
	assert_string_equal(rep.denied_combined[0], "clone");
	assert_int_equal(sc_profile_builtin_default(&builtin, &e), 0);
	compile(&builtin, &def);
	compile(&base, &b);
	assert_not_laxer(&p, &def, "the built-in default");
	assert_not_laxer(&p, &b, "the base");
	sc_generate_report_free(&rep);
	sc_program_free(&p);
	sc_program_free(&b);
	sc_program_free(&def);
	sc_profile_free(&base);
	sc_profile_free(&builtin);
	free(s);
}

/* libc tries clone3 first; where it fails with ENOSYS libc uses clone,
 * which the trace never saw. */
static void clone3_brings_clone(void **state)
{
	static const char *const names[] = { "clone3", "exit_group", NULL };
	struct sc_trace_set *s = xcalloc(1, sizeof(*s));
	struct sc_generate_report rep;
	struct sc_program p;
	struct seccomp_data d = { .arch = AUDIT_ARCH_X86_64 };

	record(s, names);
	generate(s, NULL, NULL, &p, &rep);
	assert_true(rep.clone_for_clone3);
	d.nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, "clone3");
	assert_int_equal(sc_bpf_run(p.insns, p.len, &d), SECCOMP_RET_ERRNO | ENOSYS);
	assert_true(allowed(&p, "clone", SIGCHLD_, 0));
	assert_false(allowed(&p, "clone", CLONE_NEWUSER_ | SIGCHLD_, 0));
	sc_generate_report_free(&rep);
	sc_program_free(&p);
	free(s);
}

/* A workload seen through the i386 entry point keeps that ABI, under the
 * same rules, and the report says so. */
static void foreign_abi_is_reported(void **state)
{
	static const char *const names[] = { "read", "exit_group", NULL };
	struct sc_trace_set *s = xcalloc(1, sizeof(*s));
	struct sc_generate_opts o = { 0 };
	struct sc_generate_report rep;
	struct nerr e = { 0 };
	json_t *j;
	char *text;

	record(s, names);
	assert_int_equal(sc_generate(s, &o, &j, &rep, &e), 0);
	assert_int_equal(rep.foreign_abis, 0);
	sc_generate_report_free(&rep);
	json_decref(j);
	sc_trace_set_add(s, 1, 120, 1);         /* clone on i386 */
	assert_int_equal(sc_generate(s, &o, &j, &rep, &e), 0);
	assert_int_equal(rep.foreign_abis, 2);
	text = json_dumps(json_object_get(j, "architectures"), 0);
	assert_string_equal(text, "[\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"]");
	free(text);
	json_decref(j);
	sc_generate_report_free(&rep);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clone_keeps_the_default_flag_rule),
		cmocka_unit_test(never_laxer_than_the_default),
		cmocka_unit_test(never_laxer_than_default_or_base),
		cmocka_unit_test(allow_syscall_is_explicit),
		cmocka_unit_test(denials_are_reported),
		cmocka_unit_test(conditional_denials_of_the_base),
		cmocka_unit_test(clone3_brings_clone),
		cmocka_unit_test(foreign_abi_is_reported),
	};
	return cmocka_run_group_tests_name("seccomp_generate", tests, setup, NULL);
}
