/* OCI/Docker JSON seccomp profiles: parsing and resolution, error paths,
 * the exact AND of several comparisons on one argument, the cache, and
 * enforcement in forked children. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>
#include <nucleus/security.h>
#include "../../src/security/seccomp_internal.h"
#include "cbpf.h"

static char cache[] = "/tmp/nucleus-unit-oci-XXXXXX";
static char root[4096];         /* the repository */

#define CAP_BIT(n) (1ull << (n))
/* Docker's default capability set */
static const uint64_t docker_caps = CAP_BIT(0) | CAP_BIT(1) | CAP_BIT(3) | CAP_BIT(4) | CAP_BIT(5) |
				    CAP_BIT(6) | CAP_BIT(7) | CAP_BIT(8) | CAP_BIT(10) | CAP_BIT(13) |
				    CAP_BIT(18) | CAP_BIT(27) | CAP_BIT(29) | CAP_BIT(31);
#define SYS_ADMIN CAP_BIT(21)

static int setup(void **state)
{
	char exe[4096];
	ssize_t n;

	if (!mkdtemp(cache))
		return -1;
	setenv("NUCLEUS_CACHE_DIR", cache, 1);
	/* tests run from the repository; otherwise find it from build/tests/ */
	if (access("config/seccomp/agent.json", R_OK) == 0) {
		if (!getcwd(root, sizeof(root)))
			return -1;
	} else if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		snprintf(root, sizeof(root), "%s/../..", dirname(exe));
	}
	return 0;
}

static int teardown(void **state)
{
	return remove_tree(cache);
}

static const char *docker_default(void)
{
	static char path[4200];
	const char *shared = getenv("SHARED_DATA");

	if (shared)
		snprintf(path, sizeof(path), "%s/seccomp/docker-default.json", shared);
	else
		snprintf(path, sizeof(path), "%s/../shared/data/seccomp/docker-default.json", root);
	if (access(path, R_OK) != 0)
		snprintf(path, sizeof(path), "/work/shared/data/seccomp/docker-default.json");
	return path;
}

static const char *config(const char *name)
{
	static char path[4200];

	snprintf(path, sizeof(path), "%s/config/seccomp/%s", root, name);
	return path;
}

static struct sc_context ctx_caps(uint64_t caps)
{
	return (struct sc_context){ .bounding = caps };
}

static bool has_rule_for(const struct sc_profile *p, const char *name)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (strv_contains(p->rules[i].names, name))
			return true;
	return false;
}

/* ---- children under a filter ------------------------------------------------------ */

typedef int (*probe_fn)(long arg);

/* Run fn(arg) in a child under the filter; returns its exit status (an errno,
 * 0 for success, 250 when the filter could not be installed). */
static int in_child(const struct sc_program *p, probe_fn fn, long arg)
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		struct nerr e;
		if (set_no_new_privs(&e) < 0 || sc_program_install(p, 0, &e) < 0)
			_exit(250);
		/* straight to the kernel: a sanitizer's exit hooks would make
		 * calls the filter refuses */
		syscall(SYS_exit_group, fn(arg));
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

static int ret_errno(long r)
{
	return r < 0 ? errno : 0;
}

static int try_personality(long v) { return ret_errno(syscall(SYS_personality, (unsigned long)v)); }
static int try_getpid(long v) { return getpid() > 0 ? 0 : 1; }
/* CLONE_PARENT is not an unshare flag: EINVAL from the kernel, EPERM from the filter */
static int try_unshare_invalid(long v) { return ret_errno(syscall(SYS_unshare, CLONE_PARENT)); }
/* CLONE_NEWNS with CLONE_FS: EINVAL from the kernel, EPERM from the filter */
static int try_clone_newns(long v)
{
	return ret_errno(syscall(SYS_clone, CLONE_NEWNS | CLONE_FS | SIGCHLD, 0, 0, 0, 0));
}
static int try_clone3(long v)
{
	struct clone_args ca = { .flags = CLONE_NEWNS | CLONE_FS, .exit_signal = SIGCHLD };
	return ret_errno(syscall(SYS_clone3, &ca, sizeof(ca)));
}
static int try_ptrace(long v) { return ret_errno(syscall(SYS_ptrace, PTRACE_PEEKDATA, 999999999, 0, 0)); }
static int try_mount(long v) { return ret_errno(mount("x", "/nonexistent", "tmpfs", 0, NULL)); }
static int try_socket(long family) { return ret_errno(socket((int)family, SOCK_STREAM, 0)); }
static int try_ioctl(long req)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	long r = syscall(SYS_ioctl, fd, (unsigned long)req, 0);
	return ret_errno(r);
}

#if defined(__x86_64__)
/* An i386 system call from a 64-bit process: seccomp sees AUDIT_ARCH_I386. */
static long int80(long nr, long a0)
{
	long ret;

	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a0) : "memory", "r8", "r9", "r10", "r11");
	return ret;
}
static int try_personality32(long v)
{
	long r = int80(136, v);      /* personality on i386 */
	return r < 0 ? (int)-r : 0;
}
/* Kernels built without IA32 emulation answer int 0x80 with SIGSEGV. */
static bool have_int80(void)
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);    /* not cmocka's handler: just die */
		_exit(int80(20, 0) == getpid() ? 0 : 1);    /* getpid on i386 */
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}
#endif

/* ---- value sets, exhaustively on small widths ------------------------------------------ */

static bool patset_has(const struct sc_patset *s, uint64_t v, unsigned *hits)
{
	*hits = 0;
	for (size_t i = 0; i < s->n; i++)
		if ((v & s->p[i].mask) == s->p[i].value)
			(*hits)++;
	return *hits > 0;
}

struct cond {
	enum sc_op op;
	uint64_t a, b;
};

static size_t all_conds(unsigned w, struct cond *out)
{
	size_t n = 0;
	uint64_t max = (1ull << w) - 1;

	for (enum sc_op op = SC_OP_NE; op <= SC_OP_GT; op++)
		for (uint64_t a = 0; a <= max; a++)
			out[n++] = (struct cond){ op, a, 0 };
	for (uint64_t a = 0; a <= max; a++)
		for (uint64_t b = 0; b <= max; b++)
			out[n++] = (struct cond){ SC_OP_MASKED_EQ, a, b };
	return n;
}

static void patsets_single_conditions_exact(void **state)
{
	for (unsigned w = 1; w <= 6; w++) {
		struct cond *c = calloc(8u << (2 * w), sizeof(*c));
		size_t n = all_conds(w, c);
		struct sc_patset s = { 0 };

		for (size_t i = 0; i < n; i++) {
			sc_patset_from_cmp(&s, w, c[i].op, c[i].a, c[i].b);
			if (c[i].op >= SC_OP_LT && c[i].op <= SC_OP_GT && c[i].op != SC_OP_EQ)
				assert_true(s.n <= 2 * w);     /* a range: at most 2w-2 blocks (+1 for w=1) */
			for (uint64_t v = 0; v < (1ull << w); v++) {
				unsigned hits;
				bool in = patset_has(&s, v, &hits);

				assert_true(hits <= 1);           /* disjoint */
				if (in != sc_cmp_holds(w, c[i].op, c[i].a, c[i].b, v))
					fail_msg("w=%u op=%d a=%llu b=%llu v=%llu", w, c[i].op,
						 (unsigned long long)c[i].a, (unsigned long long)c[i].b,
						 (unsigned long long)v);
			}
		}
		sc_patset_free(&s);
		free(c);
	}
}

static void patsets_pairs_exact(void **state)
{
	const unsigned w = 4;
	struct cond *c = calloc(8u << (2 * w), sizeof(*c));
	size_t n = all_conds(w, c);
	struct sc_patset x = { 0 }, y = { 0 }, z = { 0 };

	for (size_t i = 0; i < n; i++) {
		sc_patset_from_cmp(&x, w, c[i].op, c[i].a, c[i].b);
		for (size_t j = 0; j < n; j++) {
			sc_patset_from_cmp(&y, w, c[j].op, c[j].a, c[j].b);
			assert_int_equal(sc_patset_intersect(&z, &x, &y, 1024), 0);
			for (uint64_t v = 0; v < (1ull << w); v++) {
				unsigned hits;
				bool in = patset_has(&z, v, &hits);
				bool want = sc_cmp_holds(w, c[i].op, c[i].a, c[i].b, v) &&
					    sc_cmp_holds(w, c[j].op, c[j].a, c[j].b, v);

				assert_true(hits <= 1);
				if (in != want)
					fail_msg("(%d %llu %llu) AND (%d %llu %llu) at v=%llu", c[i].op,
						 (unsigned long long)c[i].a, (unsigned long long)c[i].b, c[j].op,
						 (unsigned long long)c[j].a, (unsigned long long)c[j].b,
						 (unsigned long long)v);
			}
		}
	}
	sc_patset_free(&x);
	sc_patset_free(&y);
	sc_patset_free(&z);
	free(c);
}

/* ---- the compiled filter, run in userspace ------------------------------------------- */

static uint64_t rnd_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* values near the interesting edges */
static uint64_t interesting(const uint64_t *datums, size_t n)
{
	static const uint64_t fixed[] = { 0, 1, 2, 7, 8, 9, 0xff, 0x100, 0x7fffffff, 0x80000000,
					  0xffffffff, 1ull << 32, (1ull << 32) | 8, ~0ull, ~0ull >> 1,
					  1ull << 63 };
	uint64_t v;

	switch (rnd() % 4) {
	case 0: return fixed[rnd() % ARRAY_SIZE(fixed)];
	case 1: v = datums[rnd() % n]; return v + (rnd() % 3) - 1;
	case 2: return rnd() & 0x1ff;
	default: return rnd();
	}
}

static uint32_t run_filter(const struct sc_program *prog, uint32_t arch, int nr, uint64_t a0, uint64_t a1)
{
	struct seccomp_data d = { .nr = nr, .arch = arch };

	d.args[0] = a0;
	d.args[1] = a1;
	return sc_bpf_run(prog->insns, prog->len, &d);
}

/* Random conjunctions on a0 and a1, compiled for x86_64 + x86 + x32, run
 * on values near their edges and compared with the definition. */
static void conjunctions_compile_exactly(void **state)
{
	uint32_t arches[] = { SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32 };
	const char *names[] = { "getppid", NULL };

	int compiled = 0;

	if (seccomp_arch_native() != SCMP_ARCH_X86_64)
		skip();
	for (int round = 0; round < 300; round++) {
		struct sc_arg args[6];
		uint64_t datums[12];
		size_t nargs = 1 + rnd() % 4, nd = 0;
		struct sc_rule rule = { .names = (char **)names, .action = { SC_ALLOW, 0 }, .args = args,
					.nargs = nargs };
		struct sc_profile p = { .default_action = { SC_ERRNO, EPERM }, .arches = arches,
					.narches = 3, .rules = &rule, .nrules = 1 };
		struct sc_program prog;
		struct nerr e = { 0 };
		int nr64 = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, "getppid");
		int nr32 = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, "getppid");

		for (size_t i = 0; i < nargs; i++) {
			uint64_t pool[] = { 0, 1, 8, 16, 0xff, 0xffffffff, 1ull << 32, (1ull << 32) + 5, ~0ull,
					    rnd(), rnd() & 0xffff };

			args[i] = (struct sc_arg){ .index = (rnd() % 3 == 0), .op = 1 + rnd() % 7,
						   .value = pool[rnd() % ARRAY_SIZE(pool)],
						   .value_two = pool[rnd() % ARRAY_SIZE(pool)] };
			if (args[i].op == SC_OP_MASKED_EQ && rnd() % 2)
				args[i].value_two &= args[i].value;
			datums[nd++] = args[i].value;
			datums[nd++] = args[i].value_two;
		}
		if (sc_program_compile(&p, 0, &prog, &e) < 0) {
			/* only the size caps may refuse */
			if (!strstr(e.msg, "rules") && !strstr(e.msg, "instructions"))
				fail_msg("%s", e.msg);
			continue;
		}
		for (int k = 0; k < 400; k++) {
			uint64_t a0 = interesting(datums, nd), a1 = interesting(datums, nd);
			bool want64 = true, want32 = true;

			for (size_t i = 0; i < nargs; i++) {
				uint64_t v = args[i].index ? a1 : a0;

				want64 &= sc_cmp_holds(64, args[i].op, args[i].value, args[i].value_two, v);
				/* i386: the arguments are 32-bit values */
				want32 &= sc_cmp_holds(64, args[i].op, args[i].value, args[i].value_two,
						       v & 0xffffffff);
			}
			if ((run_filter(&prog, SCMP_ARCH_X86_64, nr64, a0, a1) == SECCOMP_RET_ALLOW) != want64 ||
			    (run_filter(&prog, SCMP_ARCH_X86, nr32, a0 & 0xffffffff, a1 & 0xffffffff) ==
			     SECCOMP_RET_ALLOW) != want32) {
				for (size_t i = 0; i < nargs; i++)
					print_error("a%u op %d %#llx %#llx\n", args[i].index, args[i].op,
						    (unsigned long long)args[i].value,
						    (unsigned long long)args[i].value_two);
				fail_msg("a0=%#llx a1=%#llx want64=%d want32=%d", (unsigned long long)a0,
					 (unsigned long long)a1, want64, want32);
			}
		}
		sc_program_free(&prog);
		compiled++;
	}
	print_message("%d of 300 random rules compiled and checked\n", compiled);
	assert_true(compiled >= 200);
}

static void and_semantics_enforced(void **state)
{
	struct sc_context ctx = ctx_caps(0);
	struct sc_program prog;
	struct nerr e = { 0 };
	static const char range[] =
		"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
		"{\"names\":[\"exit_group\",\"exit\"],\"action\":\"SCMP_ACT_ALLOW\"},"
		"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
		"{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_GE\"},{\"index\":0,\"value\":16,\"op\":\"SCMP_CMP_LE\"}]}]}";
	static const char not_two[] =
		"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\","
		"\"subArchitectures\":[\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"]}],\"syscalls\":["
		"{\"names\":[\"exit_group\",\"exit\",\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"},"
		"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
		"{\"index\":0,\"value\":5,\"op\":\"SCMP_CMP_NE\"},{\"index\":0,\"value\":9,\"op\":\"SCMP_CMP_NE\"}]}]}";

	assert_int_equal(sc_program_prepare_oci(range, strlen(range), NULL, &ctx, 0, &prog, NULL, &e), 0);
	assert_int_equal(in_child(&prog, try_personality, 8), 0);
	assert_int_equal(in_child(&prog, try_personality, 16), 0);
	assert_int_equal(in_child(&prog, try_personality, 12), 0);
	assert_int_equal(in_child(&prog, try_personality, 7), EPERM);
	assert_int_equal(in_child(&prog, try_personality, 17), EPERM);
	assert_int_equal(in_child(&prog, try_personality, (long)((1ull << 32) | 8)), EPERM);
	assert_int_equal(in_child(&prog, try_personality, 0), EPERM);
	sc_program_free(&prog);

	assert_int_equal(sc_program_prepare_oci(not_two, strlen(not_two), NULL, &ctx, 0, &prog, NULL, &e), 0);
	assert_int_equal(in_child(&prog, try_personality, 5), EPERM);
	assert_int_equal(in_child(&prog, try_personality, 9), EPERM);
	assert_int_equal(in_child(&prog, try_personality, 0), 0);
	assert_int_equal(in_child(&prog, try_personality, 8), 0);
	assert_int_equal(in_child(&prog, try_personality, 10), 0);
	/* a different 64-bit value, as the filter sees it */
	assert_int_equal(in_child(&prog, try_personality, (long)((1ull << 32) | 5)), 0);
#if defined(__x86_64__)
	/* the i386 entry point of the same process: 32-bit arguments */
	if (seccomp_arch_native() == SCMP_ARCH_X86_64 && have_int80()) {
		assert_int_equal(in_child(&prog, try_personality32, 5), EPERM);
		assert_int_equal(in_child(&prog, try_personality32, 9), EPERM);
		assert_int_equal(in_child(&prog, try_personality32, 0), 0);
	}
#endif
	sc_program_free(&prog);
}

/* ---- Docker's profile ------------------------------------------------------------------- */

static void docker_default_loads_unchanged(void **state)
{
	struct sc_context ctx = ctx_caps(docker_caps);
	struct sc_profile p;
	struct sc_program prog;
	struct nerr e = { 0 };

	if (sc_profile_load_oci_file(docker_default(), &ctx, &p, &e) < 0)
		fail_msg("%s", e.msg);
	assert_true(p.nrules >= 10);
	assert_int_equal(p.default_action.kind, SC_ERRNO);
	assert_int_equal(p.default_action.data, EPERM);
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
		/* archMap: the native entry and its sub-architectures */
		assert_int_equal(p.narches, 3);
		assert_int_equal(p.arches[0], SCMP_ARCH_X86_64);
		assert_int_equal(p.arches[1], SCMP_ARCH_X86);
		assert_int_equal(p.arches[2], SCMP_ARCH_X32);
		assert_true(has_rule_for(&p, "arch_prctl"));    /* includes.arches amd64 */
		assert_false(has_rule_for(&p, "s390_runtime_instr"));
	}
	assert_false(has_rule_for(&p, "bpf"));               /* includes.caps CAP_BPF */
	assert_false(has_rule_for(&p, "mount"));
	assert_true(has_rule_for(&p, "ptrace"));             /* includes.minKernel 4.8 */
	if (sc_program_compile(&p, 0, &prog, &e) < 0)
		fail_msg("%s", e.msg);
	assert_true(prog.len > 100);
	sc_program_free(&prog);
	sc_profile_free(&p);
}

static void archmap_of_another_machine(void **state)
{
	struct sc_context ctx = { .bounding = docker_caps, .arch = SCMP_ARCH_AARCH64 };
	struct sc_profile p;
	struct nerr e = { 0 };

	assert_int_equal(sc_profile_load_oci_file(docker_default(), &ctx, &p, &e), 0);
	assert_int_equal(p.narches, 2);
	assert_int_equal(p.arches[0], SCMP_ARCH_AARCH64);
	assert_int_equal(p.arches[1], SCMP_ARCH_ARM);
	assert_false(has_rule_for(&p, "arch_prctl"));
	assert_true(has_rule_for(&p, "set_tls"));            /* includes.arches arm64 */
	sc_profile_free(&p);
}

static void docker_default_with_and_without_sys_admin(void **state)
{
	struct sc_context plain = ctx_caps(docker_caps), admin = ctx_caps(docker_caps | SYS_ADMIN);
	struct sc_context old_kernel = { .bounding = docker_caps, .kernel = { 4, 7, 0 } };
	struct sc_program p, a, o;
	struct nerr e = { 0 };

	assert_int_equal(sc_program_prepare_file(docker_default(), &plain, 0, &p, NULL, &e), 0);
	assert_int_equal(sc_program_prepare_file(docker_default(), &admin, 0, &a, NULL, &e), 0);
	assert_int_equal(sc_program_prepare_file(docker_default(), &old_kernel, 0, &o, NULL, &e), 0);
	assert_string_not_equal(p.key, a.key);

	assert_int_equal(in_child(&p, try_getpid, 0), 0);
	assert_int_equal(in_child(&a, try_getpid, 0), 0);
	/* without CAP_SYS_ADMIN: namespace flags refused by the filter */
	assert_int_equal(in_child(&p, try_unshare_invalid, 0), EPERM);
	assert_int_equal(in_child(&p, try_clone_newns, 0), EPERM);
	assert_int_equal(in_child(&p, try_clone3, 0), ENOSYS);
	assert_int_equal(in_child(&p, try_mount, 0), EPERM);
	/* with it: the kernel gets to say no (EINVAL for these flags) */
	assert_int_equal(in_child(&a, try_unshare_invalid, 0), EINVAL);
	assert_int_equal(in_child(&a, try_clone_newns, 0), EINVAL);
	assert_int_equal(in_child(&a, try_clone3, 0), EINVAL);
	/* ptrace: includes.minKernel 4.8 */
	assert_int_equal(in_child(&p, try_ptrace, 0), ESRCH);
	assert_int_equal(in_child(&o, try_ptrace, 0), EPERM);
	sc_program_free(&p);
	sc_program_free(&a);
	sc_program_free(&o);
}

/* ---- includes / excludes ----------------------------------------------------------------- */

static const char filters_profile[] =
	"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":["
	"{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\",\"CAP_NET_ADMIN\"]}},"
	"{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"caps\":[\"CAP_SYS_ADMIN\",\"net_admin\"]}},"
	"{\"names\":[\"getuid\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"arches\":[\"amd64\",\"x32\"]}},"
	"{\"names\":[\"getgid\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"arches\":[\"arm64\"]}},"
	"{\"names\":[\"geteuid\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"minKernel\":\"5.10\"}},"
	"{\"names\":[\"getegid\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"minKernel\":\"5.10\"}},"
	"{\"names\":[\"gettid\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"sys_admin\"]},\"excludes\":{\"minKernel\":\"6.0\"}},"
	"{\"names\":[\"getpgrp\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{}, \"excludes\":{\"caps\":[],\"arches\":null}}"
	"]}";

static void includes_and_excludes(void **state)
{
	static const struct {
		uint64_t caps;
		uint32_t arch;
		unsigned kmaj, kmin;
		const char *present, *absent;
	} cases[] = {
		{ 0, SCMP_ARCH_X86_64, 5, 10, "getppid getuid getgid geteuid getpgrp", "getpid getegid gettid" },
		{ SYS_ADMIN, SCMP_ARCH_X86_64, 5, 9, "getuid getgid getegid gettid getpgrp", "getpid getppid geteuid" },
		{ SYS_ADMIN | CAP_BIT(12), SCMP_ARCH_X86_64, 6, 1, "getpid getuid geteuid", "getppid getegid gettid" },
		{ CAP_BIT(12), SCMP_ARCH_AARCH64, 4, 19, "getegid", "getpid getppid getuid getgid geteuid" },
		{ 0, SCMP_ARCH_X86, 5, 10, "getppid getgid", "getuid" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sc_context ctx = { .bounding = cases[i].caps, .arch = cases[i].arch,
					  .kernel = { cases[i].kmaj, cases[i].kmin, 0 } };
		struct sc_profile p;
		struct nerr e = { 0 };
		char buf[128], *save, *tok;

		assert_int_equal(sc_profile_load_oci(filters_profile, strlen(filters_profile), &ctx, &p, &e), 0);
		snprintf(buf, sizeof(buf), "%s", cases[i].present);
		for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
			if (!has_rule_for(&p, tok))
				fail_msg("case %zu: %s missing", i, tok);
		snprintf(buf, sizeof(buf), "%s", cases[i].absent);
		for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
			if (has_rule_for(&p, tok))
				fail_msg("case %zu: %s should be skipped", i, tok);
		sc_profile_free(&p);
	}
}

/* ---- errors name their JSON path --------------------------------------------------------- */

#define RULE_OK "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"}"
#define DOC(rules) "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[" rules "]}"

static void errors_name_their_path(void **state)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\n  \"syscalls\": [}", "2:16: " },
		{ "", "1:0: " },
		{ "{\"defaultAction\":\"m\\\n\"}", "2:0: invalid escape near '\"m\\\\x0a'" },
		{ "[1]", "expected a JSON object at the top level" },
		{ "{}", "defaultAction: missing" },
		{ "{\"defaultAction\":1}", "defaultAction: expected a string" },
		{ "{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}", "defaultAction: SCMP_ACT_NOTIFY hands calls to a seccomp agent, and nucleus runs none" },
		{ "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"defaultErrnoRet\":1}", "defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE" },
		{ "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":70000}", "defaultErrnoRet: 70000 is out of range (0 to 65535)" },
		{ "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":-1}", "defaultErrnoRet: expected an unsigned integer" },
		{ "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"a\":1,\"a\":2}", "duplicate object key" },
		{ "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_FOO\"]}",
		  "architectures[1]: unknown architecture \"SCMP_ARCH_FOO\"" },
		{ "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"x86_64\"]}",
		  "architectures[0]: unknown architecture \"x86_64\"" },
		{ "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":\"SCMP_ARCH_X86\"}",
		  "architectures: expected an array of strings" },
		{ "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86\"],\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\"}]}",
		  "archMap: a profile gives either architectures or archMap, not both" },
		{ "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"archMap\":{}}", "archMap: expected an array of objects" },
		{ "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"archMap\":[{\"subArchitectures\":[]}]}", "archMap[0].architecture: missing" },
		{ "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"archMap\":[{\"architecture\":\"SCMP_ARCH_FOO\",\"subArchitectures\":[1]}]}",
		  "archMap[0].subArchitectures: expected an array of strings" },
		{ "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"flags\":[\"SECCOMP_FILTER_FLAG_NEW_LISTENER\"]}",
		  "flags[0]: unsupported flag \"SECCOMP_FILTER_FLAG_NEW_LISTENER\" (it needs a seccomp agent" },
		{ "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"flags\":\"SECCOMP_FILTER_FLAG_LOG\"}", "flags: expected an array of strings" },
		{ "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":{}}", "syscalls: expected an array of objects" },
		{ DOC("1"), "syscalls[0]: expected an object" },
		{ DOC("{\"names\":\"read\",\"action\":\"SCMP_ACT_ALLOW\"}"), "syscalls[0].names: expected an array of strings" },
		{ DOC("{\"names\":[\"read\",1],\"action\":\"SCMP_ACT_ALLOW\"}"), "syscalls[0].names: expected an array of strings" },
		{ DOC("{\"names\":[\"read\",\"bad name\"],\"action\":\"SCMP_ACT_ALLOW\"}"), "syscalls[0].names[1]: invalid syscall name \"bad name\"" },
		{ DOC("{\"name\":\"read\",\"names\":[\"write\"],\"action\":\"SCMP_ACT_ALLOW\"}"), "syscalls[0]: gives both name and names" },
		{ DOC("{\"action\":\"SCMP_ACT_ALLOW\"}"), "syscalls[0]: no syscall names" },
		{ DOC(RULE_OK "," RULE_OK ",{\"names\":[\"read\"],\"action\":\"X\"}"), "syscalls[2].action: unknown action \"X\"" },
		{ DOC("{\"names\":[\"read\"]}"), "syscalls[0].action: missing" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_NOTIFY\"}"), "syscalls[0].action: SCMP_ACT_NOTIFY hands calls to a seccomp agent, and nucleus runs none" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"errnoRet\":1}"), "syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":\"1\"}"), "syscalls[0].errnoRet: expected an unsigned integer" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"comment\":1}"), "syscalls[0].comment: expected a string" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":{}}"), "syscalls[0].args: expected an array of objects" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[2]}"), "syscalls[0].args[0]: expected an object" },
		{ DOC(RULE_OK "," RULE_OK "," RULE_OK ",{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_FOO\"}]}"),
		  "syscalls[3].args[0].op: unknown operator \"SCMP_CMP_FOO\"" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1}]}"), "syscalls[0].args[0].op: missing" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}"),
		  "syscalls[0].args[0].index: 6 is not an argument index (0 to 5)" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}"), "syscalls[0].args[0].index: missing" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":\"0\",\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}"),
		  "syscalls[0].args[0].index: expected an unsigned integer" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"op\":\"SCMP_CMP_EQ\"}]}"), "syscalls[0].args[0].value: missing" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":-1,\"op\":\"SCMP_CMP_EQ\"}]}"),
		  "syscalls[0].args[0].value: expected an unsigned integer" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1.5,\"op\":\"SCMP_CMP_EQ\"}]}"),
		  "syscalls[0].args[0].value: expected an unsigned integer" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1,\"valueTwo\":true,\"op\":\"SCMP_CMP_EQ\"}]}"),
		  "syscalls[0].args[0].valueTwo: expected an unsigned integer" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":18446744073709551616,\"op\":\"SCMP_CMP_EQ\"}]}"),
		  "too big integer" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
		      "{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_NE\"},{\"index\":0,\"value\":2,\"op\":\"SCMP_CMP_NE\"},"
		      "{\"index\":1,\"value\":1,\"op\":\"SCMP_CMP_NE\"},{\"index\":1,\"value\":2,\"op\":\"SCMP_CMP_NE\"}]}"),
		  "syscalls[0].args: the argument conditions need more than 1024 rules" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":[]}"), "syscalls[0].includes: expected an object" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":\"CAP_SYS_ADMIN\"}}"),
		  "syscalls[0].includes.caps: expected an array of strings" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"caps\":[\"CAP_SYS_ADMIN\",\"CAP_NOPE\"]}}"),
		  "syscalls[0].excludes.caps[1]: unknown capability \"CAP_NOPE\"" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"21\"]}}"),
		  "syscalls[0].includes.caps[0]: unknown capability \"21\"" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"arches\":[1]}}"),
		  "syscalls[0].includes.arches: expected an array of strings" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"minKernel\":4.8}}"),
		  "syscalls[0].includes.minKernel: expected a string" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"minKernel\":\"4.x\"}}"),
		  "syscalls[0].excludes.minKernel: invalid kernel version \"4.x\"" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"minKernel\":\"4\"}}"),
		  "syscalls[0].excludes.minKernel: invalid kernel version \"4\"" },
		{ DOC("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"action\":\"SCMP_ACT_ALLOW\"}"), "duplicate object key" },
		{ DOC("{\"names\":[\"re\\nad\"],\"action\":\"SCMP_ACT_ALLOW\"}"), "syscalls[0].names[0]: invalid syscall name \"re\\x0aad\"" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sc_context ctx = { .bounding = docker_caps, .arch = SCMP_ARCH_X86_64 };
		struct sc_profile p;
		struct nerr e = { 0 };
		int rc = sc_profile_load_oci(cases[i].json, strlen(cases[i].json), &ctx, &p, &e);

		if (rc >= 0)
			fail_msg("case %zu accepted: %s", i, cases[i].json);
		if (!strstr(e.msg, cases[i].want))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, e.msg, cases[i].want);
		assert_null(strchr(e.msg, '\n'));
		assert_null(p.rules);
	}
}

static void forward_compatible_and_old_forms(void **state)
{
	static const char doc[] =
		"{\"defaultAction\":\"SCMP_ACT_KILL\",\"newTopLevel\":{\"x\":[1,2]},\"listenerPath\":\"\","
		"\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],"
		"\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\",\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\",\"SECCOMP_FILTER_FLAG_TSYNC\"],"
		"\"syscalls\":[{\"name\":\"read\",\"action\":\"SCMP_ACT_ALLOW\",\"futureKey\":true,\"comment\":\"old single name\"},"
		"{\"names\":[\"write\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":5},"
		"{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_TRACE\"},"
		"{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_KILL_PROCESS\"},"
		"{\"names\":[\"gettid\"],\"action\":\"SCMP_ACT_KILL_THREAD\"},"
		"{\"names\":[\"getuid\"],\"action\":\"SCMP_ACT_TRAP\"},"
		"{\"names\":[\"getgid\"],\"action\":\"SCMP_ACT_LOG\"},"
		"{\"names\":[],\"action\":\"SCMP_ACT_ALLOW\"},"
		"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":null,\"includes\":null,\"excludes\":null},"
		"{\"names\":[\"ioctl\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":1,\"value\":18446744069414584320,"
		"\"valueTwo\":0,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}";
	struct sc_context ctx = ctx_caps(0);
	struct sc_profile p;
	struct sc_program prog;
	struct nerr e = { 0 };

	if (sc_profile_load_oci(doc, strlen(doc), &ctx, &p, &e) < 0)
		fail_msg("%s", e.msg);
	assert_int_equal(p.default_action.kind, SC_KILL_THREAD);    /* SCMP_ACT_KILL */
	assert_int_equal(p.flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW |
				  SECCOMP_FILTER_FLAG_TSYNC);
	assert_int_equal(p.narches, 2);
	assert_int_equal(p.nrules, 9);                               /* the empty names list adds nothing */
	assert_string_equal(p.rules[0].names[0], "read");
	assert_int_equal(p.rules[1].action.kind, SC_ERRNO);
	assert_int_equal(p.rules[1].action.data, 5);
	assert_int_equal(p.rules[2].action.kind, SC_TRACE);
	assert_int_equal(p.rules[2].action.data, EPERM);
	assert_int_equal(p.rules[3].action.kind, SC_KILL_PROCESS);
	assert_int_equal(p.rules[4].action.kind, SC_KILL_THREAD);
	assert_int_equal(p.rules[5].action.kind, SC_TRAP);
	assert_int_equal(p.rules[6].action.kind, SC_LOG);
	assert_int_equal(p.rules[8].nargs, 1);
	assert_true(p.rules[8].args[0].value == 0xFFFFFFFF00000000ull);    /* above INT64_MAX, exact */
	assert_int_equal(sc_program_compile(&p, 0, &prog, &e), 0);
	assert_int_equal(prog.kflags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
	sc_program_free(&prog);
	sc_profile_free(&p);
}

static void big_integers_keep_positions(void **state)
{
	/* an error after a rewritten literal still points at the right column */
	static const char doc[] =
		"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],"
		"\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":18446744073709551615,"
		"\"valueTwo\":9223372036854775808,\"op\":\"SCMP_CMP_EQ\"}]} x]}";
	static const char as_key[] = "{18446744073709551615:1}";
	static const char max[] =
		"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],"
		"\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":18446744073709551615,"
		"\"valueTwo\":9223372036854775808,\"op\":\"SCMP_CMP_EQ\"}]}]}";
	static const char in_string[] =
		"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],"
		"\"action\":\"SCMP_ACT_ALLOW\",\"comment\":\"18446744073709551615\","
		"\"args\":[{\"index\":0,\"value\":\"18446744073709551615\",\"op\":\"SCMP_CMP_EQ\"}]}]}";
	static const char as_action[] = "{\"defaultAction\":18446744073709551615}";
	struct sc_context ctx = ctx_caps(0);
	struct sc_profile p;
	struct nerr e = { 0 };
	char want[32];

	assert_true(sc_profile_load_oci(doc, strlen(doc), &ctx, &p, &e) < 0);
	snprintf(want, sizeof(want), "1:%zu:", strstr(doc, "} x]") - doc + 3);
	if (!strstr(e.msg, want))
		fail_msg("got \"%s\", want \"%s\"", e.msg, want);
	assert_true(sc_profile_load_oci(as_key, strlen(as_key), &ctx, &p, &e) < 0);
	assert_int_equal(sc_profile_load_oci(max, strlen(max), &ctx, &p, &e), 0);
	assert_true(p.rules[0].args[0].value == UINT64_MAX);
	assert_true(p.rules[0].args[0].value_two == 1ull << 63);
	sc_profile_free(&p);
	assert_true(sc_profile_load_oci(in_string, strlen(in_string), &ctx, &p, &e) < 0);
	assert_non_null(strstr(e.msg, "syscalls[0].args[0].value: expected an unsigned integer"));
	assert_true(sc_profile_load_oci(as_action, strlen(as_action), &ctx, &p, &e) < 0);
	assert_non_null(strstr(e.msg, "defaultAction: expected a string"));
}

static void unknown_names_collected(void **state)
{
	static const char doc[] = DOC(
		"{\"names\":[\"exit_group\",\"getpid\",\"nucleus_no_such_call\",\"getppid\",\"nucleus_no_such_call\"],\"action\":\"SCMP_ACT_ALLOW\"},"
		"{\"names\":[\"another_fake_call\"],\"action\":\"SCMP_ACT_ALLOW\"},"
		"{\"names\":[\"skipped_fake_call\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}}");
	struct sc_context ctx = ctx_caps(0);
	struct sc_profile p;
	struct sc_program a, b;
	char **u1 = NULL, **u2 = NULL;
	struct nerr e = { 0 };

	assert_int_equal(sc_profile_load_oci(doc, strlen(doc), &ctx, &p, &e), 0);
	assert_int_equal(strv_len(p.unknown), 2);
	assert_string_equal(p.unknown[0], "nucleus_no_such_call");
	assert_string_equal(p.unknown[1], "another_fake_call");
	sc_profile_free(&p);
	/* the same list from the cache */
	assert_int_equal(sc_program_prepare_oci(doc, strlen(doc), NULL, &ctx, 0, &a, &u1, &e), 0);
	assert_int_equal(sc_program_prepare_oci(doc, strlen(doc), NULL, &ctx, 0, &b, &u2, &e), 0);
	assert_true(b.from_cache);
	assert_int_equal(strv_len(u1), 2);
	assert_int_equal(strv_len(u2), 2);
	assert_string_equal(u2[0], "nucleus_no_such_call");
	assert_string_equal(u2[1], "another_fake_call");
	assert_int_equal(in_child(&b, try_getpid, 0), 0);
	strv_free(u1);
	strv_free(u2);
	sc_program_free(&a);
	sc_program_free(&b);
}

/* ---- the cache ------------------------------------------------------------------------------- */

static void cache_hit_skips_the_parser(void **state)
{
	/* CAP_PERFMON too: keys no earlier test has used */
	const uint64_t caps = docker_caps | CAP_BIT(38);
	struct sc_context ctx = ctx_caps(caps);
	struct sc_program a, b, c;
	char **u1 = NULL, **u2 = NULL;
	struct nerr e = { 0 };
	unsigned long parses;

	assert_int_equal(sc_program_prepare_file(docker_default(), &ctx, SC_FLAG_LOG_DENIED, &a, &u1, &e), 0);
	parses = sc_profile_oci_parse_count();
	assert_int_equal(sc_program_prepare_file(docker_default(), &ctx, SC_FLAG_LOG_DENIED, &b, &u2, &e), 0);
	assert_true(b.from_cache);
	assert_int_equal(sc_profile_oci_parse_count(), parses);
	assert_string_equal(a.key, b.key);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.insns, b.insns, a.len * 8);
	assert_int_equal(a.kflags, b.kflags);
	assert_int_equal(strv_len(u1), strv_len(u2));
	for (size_t i = 0; u1 && u1[i]; i++)
		assert_string_equal(u1[i], u2[i]);
	sc_program_free(&b);

	/* everything the resolution depends on is in the key */
	ctx.bounding |= SYS_ADMIN;
	assert_int_equal(sc_program_prepare_file(docker_default(), &ctx, SC_FLAG_LOG_DENIED, &c, NULL, &e), 0);
	assert_false(c.from_cache);
	assert_string_not_equal(a.key, c.key);
	sc_program_free(&c);
	ctx.bounding = caps;
	ctx.kernel.major = 4;
	ctx.kernel.minor = 7;
	assert_int_equal(sc_program_prepare_file(docker_default(), &ctx, SC_FLAG_LOG_DENIED, &c, NULL, &e), 0);
	assert_false(c.from_cache);
	sc_program_free(&c);
	ctx = ctx_caps(caps);
	assert_int_equal(sc_program_prepare_file(docker_default(), &ctx, 0, &c, NULL, &e), 0);
	assert_false(c.from_cache);
	assert_int_equal(sc_profile_oci_parse_count(), parses + 3);
	sc_program_free(&c);
	sc_program_free(&a);
	strv_free(u1);
	strv_free(u2);
}

static void cache_entries_are_checked(void **state)
{
	static const char doc1[] = DOC("{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"}");
	static const char doc2[] = DOC("{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ALLOW\"}");
	struct sc_context ctx = ctx_caps(0);
	struct sc_program a, b, c;
	struct nerr e = { 0 };
	char pa[4200], pb[4200], dir[4200];
	_cleanup_free_ char *buf = NULL;
	size_t len;

	assert_int_equal(sc_program_prepare_oci(doc1, strlen(doc1), NULL, &ctx, 0, &a, NULL, &e), 0);
	assert_int_equal(sc_program_prepare_oci(doc2, strlen(doc2), NULL, &ctx, 0, &b, NULL, &e), 0);
	snprintf(dir, sizeof(dir), "%s/seccomp", cache);
	snprintf(pa, sizeof(pa), "%s/%s", dir, a.key);
	snprintf(pb, sizeof(pb), "%s/%s", dir, b.key);

	/* an entry copied under another key is refused */
	assert_int_equal(read_file(pa, 0, &buf, &len), 0);
	assert_int_equal(write_file(pb, buf, len, 0600), 0);
	assert_int_equal(sc_program_prepare_oci(doc2, strlen(doc2), NULL, &ctx, 0, &c, NULL, &e), 0);
	assert_false(c.from_cache);
	assert_int_equal(c.len, b.len);
	assert_memory_equal(c.insns, b.insns, b.len * 8);
	sc_program_free(&c);

	/* one flipped bit in the instructions is refused */
	buf[len - 3] ^= 1;
	assert_int_equal(write_file(pa, buf, len, 0600), 0);
	assert_int_equal(sc_program_prepare_oci(doc1, strlen(doc1), NULL, &ctx, 0, &c, NULL, &e), 0);
	assert_false(c.from_cache);
	assert_memory_equal(c.insns, a.insns, a.len * 8);
	sc_program_free(&c);

	/* entries in a directory others can write are not trusted */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(sc_program_prepare_oci(doc1, strlen(doc1), NULL, &ctx, 0, &c, NULL, &e), 0);
	assert_false(c.from_cache);
	sc_program_free(&c);
	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(sc_program_prepare_oci(doc1, strlen(doc1), NULL, &ctx, 0, &c, NULL, &e), 0);
	assert_true(c.from_cache);
	sc_program_free(&c);
	sc_program_free(&a);
	sc_program_free(&b);
}

static void profile_flags_reach_the_installer(void **state)
{
	static const char doc[] =
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\","
		"\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\",\"SECCOMP_FILTER_FLAG_TSYNC\"],"
		"\"syscalls\":[{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}]}";
	struct sc_context ctx = ctx_caps(0);
	struct sc_program a, b;
	struct nerr e = { 0 };

	assert_int_equal(sc_program_prepare_oci(doc, strlen(doc), NULL, &ctx, 0, &a, NULL, &e), 0);
	assert_int_equal(sc_program_prepare_oci(doc, strlen(doc), NULL, &ctx, 0, &b, NULL, &e), 0);
	assert_true(b.from_cache);
	assert_int_equal(a.kflags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
	assert_int_equal(b.kflags, a.kflags);
	assert_int_equal(in_child(&b, try_mount, 0), EACCES);
	assert_int_equal(in_child(&b, try_getpid, 0), 0);
	sc_program_free(&a);
	sc_program_free(&b);
}

static void file_errors_name_the_file(void **state)
{
	struct sc_context ctx = ctx_caps(0);
	struct sc_program p;
	struct nerr e = { 0 };
	char path[4200];

	assert_true(sc_program_prepare_file("/nonexistent/profile.json", &ctx, 0, &p, NULL, &e) < 0);
	assert_non_null(strstr(e.msg, "seccomp profile `/nonexistent/profile.json`: No such file"));
	snprintf(path, sizeof(path), "%s/bad.json", cache);
	{
		static const char bad[] = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\n\"syscalls\":[1]}";
		assert_int_equal(write_file(path, bad, strlen(bad), 0600), 0);
	}
	assert_true(sc_program_prepare_file(path, &ctx, 0, &p, NULL, &e) < 0);
	if (!strstr(e.msg, "bad.json`: syscalls[0]: expected an object"))
		fail_msg("%s", e.msg);
}

/* ---- the example profiles ------------------------------------------------------------------- */

static void example_profiles_enforce(void **state)
{
	struct sc_context ctx = ctx_caps(docker_caps);
	struct sc_program web, agent;
	char **unknown = NULL;
	struct nerr e = { 0 };

	if (sc_program_prepare_file(config("web-service.json"), &ctx, 0, &web, &unknown, &e) < 0)
		fail_msg("%s", e.msg);
	assert_null(unknown);
	if (sc_program_prepare_file(config("agent.json"), &ctx, 0, &agent, &unknown, &e) < 0)
		fail_msg("%s", e.msg);
	assert_null(unknown);

	assert_int_equal(in_child(&web, try_getpid, 0), 0);
	assert_int_equal(in_child(&web, try_socket, AF_INET), 0);
	assert_int_equal(in_child(&web, try_socket, AF_PACKET), EPERM);
	assert_int_equal(in_child(&web, try_ioctl, FIONBIO), EFAULT);       /* allowed: bad pointer */
	assert_int_equal(in_child(&web, try_ioctl, TIOCLINUX), EPERM);      /* inside the range, excluded */
	assert_int_equal(in_child(&web, try_ioctl, TIOCGWINSZ), EPERM);
	assert_int_equal(in_child(&web, try_ioctl, (long)((1ull << 32) | FIONBIO)), EPERM);
	assert_int_equal(in_child(&web, try_unshare_invalid, 0), EPERM);
	assert_int_equal(in_child(&web, try_ptrace, 0), EPERM);
	assert_int_equal(in_child(&web, try_mount, 0), EPERM);
	assert_int_equal(in_child(&web, try_clone3, 0), ENOSYS);

	assert_int_equal(in_child(&agent, try_getpid, 0), 0);
	assert_int_equal(in_child(&agent, try_ioctl, TIOCGWINSZ), ENOTTY);  /* allowed */
	assert_int_equal(in_child(&agent, try_ioctl, TIOCSTI), EPERM);
	assert_int_equal(in_child(&agent, try_ioctl, TIOCLINUX), EPERM);
	assert_int_equal(in_child(&agent, try_ioctl, (long)((1ull << 32) | TIOCSTI)), EPERM);
	assert_int_equal(in_child(&agent, try_ioctl, (long)((1ull << 32) | TIOCGWINSZ)), EPERM);
	assert_int_equal(in_child(&agent, try_ioctl, TIOCGPTN), ENOTTY);
	assert_int_equal(in_child(&agent, try_clone_newns, 0), EPERM);
	assert_int_equal(in_child(&agent, try_unshare_invalid, 0), EPERM);
	assert_int_equal(in_child(&agent, try_mount, 0), EPERM);
	assert_int_equal(in_child(&agent, try_ptrace, 0), EPERM);
	assert_int_equal(in_child(&agent, try_personality, 0xffffffff), 0);
	sc_program_free(&web);
	sc_program_free(&agent);

	/* with CAP_SYS_PTRACE the agent profile lets debuggers work */
	ctx.bounding |= CAP_BIT(19);
	assert_int_equal(sc_program_prepare_file(config("agent.json"), &ctx, 0, &agent, NULL, &e), 0);
	assert_int_equal(in_child(&agent, try_ptrace, 0), ESRCH);
	sc_program_free(&agent);
}

/* libseccomp 2.5.4 never returns from adding these rules: the compile
 * runs in a child that is stopped after a while, and the error says why. */
static void libseccomp_hang_is_an_error(void **state)
{
	static const char doc[] = DOC(
		"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
		"{\"index\":1,\"value\":4294967296,\"op\":\"SCMP_CMP_EQ\"},{\"index\":0,\"value\":5,\"op\":\"SCMP_CMP_NE\"}]},"
		"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
		"{\"index\":1,\"value\":8589934592,\"op\":\"SCMP_CMP_EQ\"},{\"index\":0,\"value\":5,\"op\":\"SCMP_CMP_NE\"}]}");
	struct sc_context ctx = ctx_caps(0);
	struct sc_program prog;
	struct nerr e = { 0 };
	unsigned saved = sc_compile_timeout_ms;
	uint64_t t0 = now_ns();
	int rc;

	sc_compile_timeout_ms = 300;
	rc = sc_program_prepare_oci(doc, strlen(doc), "hang.json", &ctx, 0, &prog, NULL, &e);
	sc_compile_timeout_ms = saved;
	assert_int_equal(rc, -ETIMEDOUT);
	assert_non_null(strstr(e.msg, "seccomp profile `hang.json`: libseccomp did not finish compiling"));
	assert_true(now_ns() - t0 < 5000000000ull);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);     /* no child left behind */
	assert_int_equal(errno, ECHILD);
}

static void kernel_versions(void **state)
{
	unsigned a, b, c;

	assert_int_equal(sc_kernel_version_parse("6.18.44-fc-v782", &a, &b, &c), 0);
	assert_int_equal(a, 6);
	assert_int_equal(b, 18);
	assert_int_equal(c, 44);
	assert_int_equal(sc_kernel_version_parse("5.10", &a, &b, &c), 0);
	assert_int_equal(c, 0);
	assert_int_equal(sc_kernel_version_parse("6.1.0-rc1+", &a, &b, &c), 0);
	assert_int_equal(b, 1);
	assert_int_equal(sc_kernel_version_parse("4.19-generic", &a, &b, &c), 0);
	assert_int_equal(b, 19);
	assert_true(sc_kernel_version_parse("linux", &a, &b, &c) < 0);
	assert_true(sc_kernel_version_parse("6", &a, &b, &c) < 0);
	assert_true(sc_kernel_version_parse("", &a, &b, &c) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(patsets_single_conditions_exact),
		cmocka_unit_test(patsets_pairs_exact),
		cmocka_unit_test(conjunctions_compile_exactly),
		cmocka_unit_test(and_semantics_enforced),
		cmocka_unit_test(docker_default_loads_unchanged),
		cmocka_unit_test(archmap_of_another_machine),
		cmocka_unit_test(docker_default_with_and_without_sys_admin),
		cmocka_unit_test(includes_and_excludes),
		cmocka_unit_test(errors_name_their_path),
		cmocka_unit_test(forward_compatible_and_old_forms),
		cmocka_unit_test(big_integers_keep_positions),
		cmocka_unit_test(unknown_names_collected),
		cmocka_unit_test(cache_hit_skips_the_parser),
		cmocka_unit_test(cache_entries_are_checked),
		cmocka_unit_test(profile_flags_reach_the_installer),
		cmocka_unit_test(file_errors_name_the_file),
		cmocka_unit_test(example_profiles_enforce),
		cmocka_unit_test(libseccomp_hang_is_an_error),
		cmocka_unit_test(kernel_versions),
	};
	return cmocka_run_group_tests_name("seccomp_oci", tests, setup, teardown);
}
