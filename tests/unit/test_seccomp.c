/* The built-in seccomp profile: compiled, cached, and enforced in a child. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>
#include <nucleus/security.h>

static char cache[] = "/tmp/nucleus-unit-cache-XXXXXX";

static int setup(void **state)
{
	if (!mkdtemp(cache))
		return -1;
	setenv("NUCLEUS_CACHE_DIR", cache, 1);
	return 0;
}

static int teardown(void **state)
{
	return remove_tree(cache);
}

/* Run fn in a child under the filter; returns the child's exit status. */
static int in_filtered_child(const struct sc_program *p, int (*fn)(void))
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		struct nerr e;
		if (set_no_new_privs(&e) < 0 || sc_program_install(p, 0, &e) < 0)
			_exit(250);
		_exit(fn());
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

static int try_mount(void) { return mount("x", "/nonexistent", "tmpfs", 0, NULL) < 0 ? errno : 0; }
static int try_unshare(void) { return unshare(CLONE_NEWUSER) < 0 ? errno : 0; }
static int try_keyctl(void) { return syscall(SYS_keyctl, 0, -3, 0) < 0 ? errno : 0; }
static int try_clone3(void)
{
	struct clone_args ca = { .exit_signal = 17 };
	long r = syscall(SYS_clone3, &ca, sizeof(ca));
	if (r == 0)
		_exit(0);
	return r < 0 ? errno : 0;
}
static int try_getpid(void) { return getpid() > 0 ? 0 : 1; }
static int try_socket_hi_bits(void)
{
	/* AF_ALG with high bits set: the kernel reads 32 bits; the filter must too */
	long r = syscall(SYS_socket, (1ul << 32) | 38, 5, 0);
	return r < 0 ? errno : 0;
}

static void default_profile_enforces(void **state)
{
	struct sc_profile prof;
	struct sc_program prog;
	struct nerr e = { 0 };

	assert_int_equal(sc_profile_builtin_default(&prof, &e), 0);
	assert_int_equal(sc_program_prepare(&prof, 0, &prog, &e), 0);
	assert_true(prog.len > 10);
	assert_int_equal(in_filtered_child(&prog, try_mount), EPERM);
	assert_int_equal(in_filtered_child(&prog, try_unshare), EPERM);
	assert_int_equal(in_filtered_child(&prog, try_keyctl), EPERM);
	assert_int_equal(in_filtered_child(&prog, try_clone3), ENOSYS);
	assert_int_equal(in_filtered_child(&prog, try_getpid), 0);
	assert_int_equal(in_filtered_child(&prog, try_socket_hi_bits), EPERM);
	sc_program_free(&prog);
	sc_profile_free(&prof);
}

static void second_prepare_hits_the_cache(void **state)
{
	struct sc_profile prof;
	struct sc_program a, b;
	struct nerr e = { 0 };

	assert_int_equal(sc_profile_builtin_default(&prof, &e), 0);
	assert_int_equal(sc_program_prepare(&prof, 0, &a, &e), 0);
	assert_int_equal(sc_program_prepare(&prof, 0, &b, &e), 0);
	assert_true(b.from_cache);
	assert_string_equal(a.key, b.key);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.insns, b.insns, a.len * 8);
	sc_program_free(&a);
	sc_program_free(&b);
	/* a different flag is a different program */
	assert_int_equal(sc_program_prepare(&prof, SC_FLAG_LOG_DENIED, &a, &e), 0);
	assert_false(a.from_cache);
	sc_program_free(&a);
	sc_profile_free(&prof);
}

static void corrupt_cache_is_recompiled(void **state)
{
	struct sc_profile prof;
	struct sc_program a, b;
	struct nerr e = { 0 };
	char path[256];

	assert_int_equal(sc_profile_builtin_default(&prof, &e), 0);
	assert_int_equal(sc_program_prepare(&prof, 0, &a, &e), 0);
	snprintf(path, sizeof(path), "%s/seccomp/%s", cache, a.key);
	assert_int_equal(write_file(path, "garbage", 7, 0600), 0);
	assert_int_equal(sc_program_prepare(&prof, 0, &b, &e), 0);
	assert_false(b.from_cache);
	assert_int_equal(a.len, b.len);
	sc_program_free(&a);
	sc_program_free(&b);
	sc_profile_free(&prof);
}

/* A cache entry others may write, or a symlink in its place, is never
 * loaded (the rule of all runtime state, trust_fd). */
static void untrusted_cache_entry_is_not_loaded(void **state)
{
	struct sc_profile prof;
	struct sc_program a, b;
	struct nerr e = { 0 };
	char path[256], moved[300];

	assert_int_equal(sc_profile_builtin_default(&prof, &e), 0);
	assert_int_equal(sc_program_prepare(&prof, 0, &a, &e), 0);
	snprintf(path, sizeof(path), "%s/seccomp/%s", cache, a.key);
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(sc_program_prepare(&prof, 0, &b, &e), 0);
	assert_false(b.from_cache);
	sc_program_free(&b);
	/* (recompiled and stored again, 0600) */
	snprintf(moved, sizeof(moved), "%s.real", path);
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(symlink(moved, path), 0);
	assert_int_equal(sc_program_prepare(&prof, 0, &b, &e), 0);
	assert_false(b.from_cache);
	sc_program_free(&b);
	assert_int_equal(unlink(moved), 0);
	assert_int_equal(sc_program_prepare(&prof, 0, &b, &e), 0);
	assert_true(b.from_cache);
	sc_program_free(&a);
	sc_program_free(&b);
	sc_profile_free(&prof);
}

static void builtin_fast_path_matches_profile(void **state)
{
	struct sc_profile prof;
	struct sc_program a, b, c;
	struct nerr e = { 0 };

	assert_int_equal(sc_profile_builtin_default(&prof, &e), 0);
	assert_int_equal(sc_program_prepare(&prof, 0, &a, &e), 0);
	assert_int_equal(sc_program_prepare_builtin(0, &b, &e), 0);   /* compiles or loads */
	assert_int_equal(sc_program_prepare_builtin(0, &c, &e), 0);
	assert_true(c.from_cache);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.insns, b.insns, a.len * 8);
	assert_memory_equal(b.insns, c.insns, b.len * 8);
	assert_int_equal(in_filtered_child(&c, try_mount), EPERM);
	sc_program_free(&a);
	sc_program_free(&b);
	sc_program_free(&c);
	sc_profile_free(&prof);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_profile_enforces),
		cmocka_unit_test(second_prepare_hits_the_cache),
		cmocka_unit_test(corrupt_cache_is_recompiled),
		cmocka_unit_test(untrusted_cache_entry_is_not_loaded),
		cmocka_unit_test(builtin_fast_path_matches_profile),
	};
	return cmocka_run_group_tests_name("seccomp", tests, setup, teardown);
}
