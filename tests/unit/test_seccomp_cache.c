/* The seccomp cache is bound to the profile it was compiled from, the
 * program's hash is always computed from the instructions installed, and a
 * forged entry is either refused or, when loaded, shows in that hash. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/filter.h>
#include <nucleus/security.h>
#include "../../src/security/seccomp_internal.h"

static char cache[] = "/tmp/nucleus-unit-sccache-XXXXXX";

/* mount answers EACCES, everything else is allowed */
static const char doc[] =
	"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mount\"],"
	"\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}]}";
static const char other_doc[] =
	"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mount\"],"
	"\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1}]}";

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

static int try_mount(void)
{
	return mount("x", "/nonexistent", "tmpfs", 0, NULL) < 0 ? errno : 0;
}

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

static void entry_path(const struct sc_program *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s/seccomp/%s", cache, p->key);
}

/* The exploit: one RET ALLOW instead of the program, the file digest
 * recomputed; `full` recomputes the program digest too. Header layout as
 * in seccomp.c: n at 76, program digest at 120, file digest at 152, 184
 * bytes in all. Returns the forged program's hash. */
static void forge(const char *path, bool full, char hash[65])
{
	_cleanup_free_ char *buf = NULL, *out = NULL;
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	uint32_t n, one = 1;
	size_t len, names, olen;
	struct sha256 s;

	assert_int_equal(read_file(path, 0, &buf, &len), 0);
	assert_memory_equal(buf, "NUCSCMP4", 8);
	memcpy(&n, buf + 76, 4);
	names = len - 184 - (size_t)n * 8;
	olen = 184 + 8 + names;
	out = xcalloc(1, olen);
	memcpy(out, buf, 184);
	memcpy(out + 76, &one, 4);
	memcpy(out + 184, &allow, 8);
	memcpy(out + 192, buf + len - names, names);
	if (full) {
		sha256_init(&s);
		sha256_update(&s, &allow, 8);
		sha256_final(&s, (uint8_t *)out + 120);
	}
	sha256_init(&s);
	sha256_update(&s, out, 152);
	sha256_update(&s, out + 184, olen - 184);
	sha256_final(&s, (uint8_t *)out + 152);
	assert_int_equal(write_file(path, out, olen, 0600), 0);
	sha256_hex(&allow, 8, hash);
}

static void hash_is_of_the_instructions(void **state)
{
	struct sc_program a, b, c;
	struct nerr e = { 0 };
	char want[65], path[4200];
	struct stat st;

	assert_int_equal(sc_program_prepare_builtin(0, &a, &e), 0);
	sha256_hex(a.insns, (size_t)a.len * 8, want);
	assert_string_equal(a.sha256, want);
	assert_int_equal(a.cache, SC_CACHE_COMPILED);
	assert_int_equal(strlen(a.profile_sha256), 64);
	assert_string_not_equal(a.sha256, a.key);
	assert_int_equal(sc_program_prepare_builtin(0, &b, &e), 0);
	assert_int_equal(b.cache, SC_CACHE_HIT);
	assert_true(b.from_cache);
	assert_string_equal(b.sha256, want);
	assert_string_equal(b.profile_sha256, a.profile_sha256);
	/* uncached: the same program, nothing written */
	assert_int_equal(sc_program_prepare_builtin(SC_FLAG_LOG_DENIED | SC_PREPARE_NO_CACHE, &c, &e), 0);
	assert_int_equal(c.cache, SC_CACHE_BYPASSED);
	entry_path(&c, path, sizeof(path));
	assert_int_equal(stat(path, &st), -1);
	/* the prepare flags are not part of the key */
	sc_program_free(&c);
	assert_int_equal(sc_program_prepare_builtin(SC_PREPARE_VERIFY, &c, &e), 0);
	assert_string_equal(c.key, a.key);
	assert_int_equal(c.cache, SC_CACHE_VERIFIED);
	assert_string_equal(c.sha256, want);
	sc_program_free(&a);
	sc_program_free(&b);
	sc_program_free(&c);
}

static void forged_entry_is_refused(void **state)
{
	struct sc_context ctx = { 0 };
	struct sc_program a, b;
	struct nerr e = { 0 };
	char path[4200], forged[65];

	assert_int_equal(sc_program_prepare_oci(doc, strlen(doc), NULL, &ctx, 0, &a, NULL, &e), 0);
	assert_int_equal(in_filtered_child(&a, try_mount), EACCES);
	entry_path(&a, path, sizeof(path));
	forge(path, false, forged);
	assert_string_not_equal(forged, a.sha256);

	assert_int_equal(sc_program_prepare_oci(doc, strlen(doc), NULL, &ctx, 0, &b, NULL, &e), 0);
	assert_int_equal(b.cache, SC_CACHE_RECOMPILED);
	assert_false(b.from_cache);
	assert_non_null(strstr(b.cache_note, "do not match its program digest"));
	assert_string_equal(b.sha256, a.sha256);
	assert_int_equal(in_filtered_child(&b, try_mount), EACCES);
	sc_program_free(&b);
	/* and the entry was rewritten */
	assert_int_equal(sc_program_prepare_oci(doc, strlen(doc), NULL, &ctx, 0, &b, NULL, &e), 0);
	assert_int_equal(b.cache, SC_CACHE_HIT);
	assert_string_equal(b.sha256, a.sha256);
	sc_program_free(&b);
	sc_program_free(&a);
}

static void fully_forged_entry(void **state)
{
	struct sc_context ctx = { 0 };
	struct sc_program a, b;
	struct nerr e = { 0 };
	char path[4200], forged[65];

	assert_int_equal(sc_program_prepare_oci(doc, strlen(doc), NULL, &ctx, SC_FLAG_LOG_DENIED, &a, NULL, &e), 0);
	entry_path(&a, path, sizeof(path));
	forge(path, true, forged);

	/* on the cache's word it loads, and its hash says what it is */
	assert_int_equal(sc_program_prepare_oci(doc, strlen(doc), NULL, &ctx, SC_FLAG_LOG_DENIED, &b, NULL, &e), 0);
	assert_int_equal(b.cache, SC_CACHE_HIT);
	assert_int_equal(b.len, 1);
	assert_string_equal(b.sha256, forged);
	sc_program_free(&b);

	/* verified (a pin, attach), it is compiled, compared, and replaced */
	assert_int_equal(sc_program_prepare_oci(doc, strlen(doc), NULL, &ctx, SC_FLAG_LOG_DENIED | SC_PREPARE_VERIFY,
						&b, NULL, &e), 0);
	assert_int_equal(b.cache, SC_CACHE_RECOMPILED);
	assert_non_null(strstr(b.cache_note, "not what the profile compiles to"));
	assert_string_equal(b.sha256, a.sha256);
	assert_int_equal(b.len, a.len);
	assert_memory_equal(b.insns, a.insns, (size_t)a.len * 8);
	assert_int_equal(in_filtered_child(&b, try_mount), EACCES);
	sc_program_free(&b);
	assert_int_equal(sc_program_prepare_oci(doc, strlen(doc), NULL, &ctx, SC_FLAG_LOG_DENIED, &b, NULL, &e), 0);
	assert_int_equal(b.cache, SC_CACHE_HIT);
	assert_string_equal(b.sha256, a.sha256);
	sc_program_free(&b);
	sc_program_free(&a);
}

/* An entry whose key is rewritten to another profile's, with every digest
 * recomputed, still names the profile it came from. */
static void entry_of_another_profile(void **state)
{
	struct sc_context ctx = { 0 };
	struct sc_program a, b, c;
	struct nerr e = { 0 };
	char pa[4200], pb[4200];
	_cleanup_free_ char *buf = NULL;
	struct sha256 s;
	size_t len;

	assert_int_equal(sc_program_prepare_oci(doc, strlen(doc), NULL, &ctx, 0, &a, NULL, &e), 0);
	assert_int_equal(sc_program_prepare_oci(other_doc, strlen(other_doc), NULL, &ctx, 0, &b, NULL, &e), 0);
	assert_string_not_equal(a.profile_sha256, b.profile_sha256);
	entry_path(&a, pa, sizeof(pa));
	entry_path(&b, pb, sizeof(pb));
	assert_int_equal(read_file(pa, 0, &buf, &len), 0);
	memcpy(buf + 8, b.key, 64);
	sha256_init(&s);
	sha256_update(&s, buf, 152);
	sha256_update(&s, buf + 184, len - 184);
	sha256_final(&s, (uint8_t *)buf + 152);
	assert_int_equal(write_file(pb, buf, len, 0600), 0);
	assert_int_equal(sc_program_prepare_oci(other_doc, strlen(other_doc), NULL, &ctx, 0, &c, NULL, &e), 0);
	assert_int_equal(c.cache, SC_CACHE_RECOMPILED);
	assert_non_null(strstr(c.cache_note, "compiled from another profile"));
	assert_string_equal(c.sha256, b.sha256);
	sc_program_free(&a);
	sc_program_free(&b);
	sc_program_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hash_is_of_the_instructions),
		cmocka_unit_test(forged_entry_is_refused),
		cmocka_unit_test(fully_forged_entry),
		cmocka_unit_test(entry_of_another_profile),
	};
	return cmocka_run_group_tests_name("seccomp_cache", tests, setup, teardown);
}
