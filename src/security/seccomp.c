/* Profile -> classic BPF with libseccomp, kept in a content-addressed cache so
 * that a warm start installs a filter without compiling anything. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <nucleus/security.h>
#include "seccomp_internal.h"

#define CACHE_MAGIC "NUCSCMP1"

const char *sc_cache_dir(void)
{
	static char dir[4096];
	const char *env;

	if (dir[0])
		return dir;
	if ((env = getenv("NUCLEUS_CACHE_DIR")) && *env)
		snprintf(dir, sizeof(dir), "%s/seccomp", env);
	else if (geteuid() == 0)
		snprintf(dir, sizeof(dir), "/var/cache/nucleus/seccomp");
	else if ((env = getenv("XDG_CACHE_HOME")) && *env == '/')
		snprintf(dir, sizeof(dir), "%s/nucleus/seccomp", env);
	else if ((env = getenv("HOME")) && *env == '/')
		snprintf(dir, sizeof(dir), "%s/.cache/nucleus/seccomp", env);
	else
		snprintf(dir, sizeof(dir), "/tmp/nucleus-cache-%u/seccomp", (unsigned)geteuid());
	return dir;
}

static uint32_t action_to_scmp(struct sc_action a)
{
	switch (a.kind) {
	case SC_ALLOW: return SCMP_ACT_ALLOW;
	case SC_ERRNO: return SCMP_ACT_ERRNO(a.data);
	case SC_KILL_PROCESS: return SCMP_ACT_KILL_PROCESS;
	case SC_KILL_THREAD: return SCMP_ACT_KILL_THREAD;
	case SC_TRAP: return SCMP_ACT_TRAP;
	case SC_LOG: return SCMP_ACT_LOG;
	case SC_TRACE: return SCMP_ACT_TRACE(a.data);
	case SC_NOTIFY: return SCMP_ACT_NOTIFY;
	}
	return SCMP_ACT_KILL_PROCESS;
}

/* What every compiled program depends on besides its profile. */
static void key_env(struct sha256 *s, unsigned flags)
{
	const struct scmp_version *v = seccomp_version();
	char buf[128];

	sha256_init(s);
	snprintf(buf, sizeof(buf), "nucleus-seccomp-v1 libseccomp=%u.%u.%u native=%u flags=%u\n",
		 v->major, v->minor, v->micro, seccomp_arch_native(), flags);
	sha256_update(s, buf, strlen(buf));
}

static void key_final(struct sha256 *s, char out[65])
{
	uint8_t d[32];

	sha256_final(s, d);
	hex_encode(d, 32, out, 65);
}

/* The cache key covers everything the compiled program depends on. */
static void profile_key(const struct sc_profile *p, unsigned flags, char out[65])
{
	struct sha256 s;
	char buf[256];

	key_env(&s, flags);
	snprintf(buf, sizeof(buf), "default=%d/%u\n", p->default_action.kind, p->default_action.data);
	sha256_update(&s, buf, strlen(buf));
	for (size_t i = 0; i < p->narches; i++) {
		snprintf(buf, sizeof(buf), "arch %u\n", p->arches[i]);
		sha256_update(&s, buf, strlen(buf));
	}
	for (size_t i = 0; i < p->nrules; i++) {
		const struct sc_rule *r = &p->rules[i];

		snprintf(buf, sizeof(buf), "rule %d/%u", r->action.kind, r->action.data);
		sha256_update(&s, buf, strlen(buf));
		for (size_t j = 0; r->names && r->names[j]; j++) {
			sha256_update(&s, " ", 1);
			sha256_update(&s, r->names[j], strlen(r->names[j]));
		}
		for (size_t j = 0; j < r->nargs; j++) {
			snprintf(buf, sizeof(buf), " [%u %d %llu %llu]", r->args[j].index, r->args[j].op,
				 (unsigned long long)r->args[j].value,
				 (unsigned long long)r->args[j].value_two);
			sha256_update(&s, buf, strlen(buf));
		}
		sha256_update(&s, "\n", 1);
	}
	key_final(&s, out);
}

/* Names this libseccomp cannot resolve are skipped here; profile parsers
 * collect them in sc_profile.unknown so the user hears about them once. */
static int add_rule(scmp_filter_ctx ctx, const struct sc_profile *p, const struct sc_rule *r,
		    struct nerr *err)
{
	struct scmp_arg_cmp cmps[6];
	uint32_t act = action_to_scmp(r->action);

	if (r->nargs > ARRAY_SIZE(cmps))
		return nerr_set(err, EINVAL, "seccomp rule with %zu argument conditions", r->nargs);
	for (size_t i = 0; i < r->nargs; i++) {
		cmps[i] = (struct scmp_arg_cmp){
			.arg = r->args[i].index,
			.op = (enum scmp_compare)r->args[i].op,
			.datum_a = r->args[i].value,
			.datum_b = r->args[i].value_two,
		};
	}
	for (size_t j = 0; r->names && r->names[j]; j++) {
		int nr = seccomp_syscall_resolve_name(r->names[j]);
		int rc;

		if (nr == __NR_SCMP_ERROR)
			continue;
		/* A rule whose action equals the default adds nothing. */
		if (act == action_to_scmp(p->default_action))
			continue;
		rc = seccomp_rule_add_array(ctx, act, nr, (unsigned)r->nargs, cmps);
		if (rc < 0)
			return nerr_set(err, -rc, "seccomp rule for `%s`", r->names[j]);
	}
	return 0;
}

static int compile(const struct sc_profile *p, unsigned flags, struct sc_program *out,
		   struct nerr *err)
{
	scmp_filter_ctx ctx;
	_cleanup_close_ int mfd = -1;
	struct stat st;
	int rc;

	ctx = seccomp_init(action_to_scmp(p->default_action));
	if (!ctx)
		return nerr_set(err, ENOMEM, "seccomp_init");
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (flags & SC_FLAG_LOG_DENIED)
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	for (size_t i = 0; i < p->narches; i++) {
		rc = seccomp_arch_add(ctx, p->arches[i]);
		if (rc < 0 && rc != -EEXIST) {
			seccomp_release(ctx);
			return nerr_set(err, -rc, "seccomp architecture %u", p->arches[i]);
		}
	}
	for (size_t i = 0; i < p->nrules; i++) {
		rc = add_rule(ctx, p, &p->rules[i], err);
		if (rc < 0) {
			seccomp_release(ctx);
			return rc;
		}
	}
	mfd = memfd_create("nucleus-seccomp", MFD_CLOEXEC);
	if (mfd < 0) {
		seccomp_release(ctx);
		return nerr_set(err, errno, "memfd_create");
	}
	rc = seccomp_export_bpf(ctx, mfd);
	seccomp_release(ctx);
	if (rc < 0)
		return nerr_set(err, -rc, "export seccomp filter");
	if (fstat(mfd, &st) < 0)
		return nerr_set(err, errno, "stat seccomp filter");
	if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return nerr_set(err, E2BIG, "seccomp filter has %lld bytes", (long long)st.st_size);
	out->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	out->insns = xmalloc((size_t)st.st_size);
	if (pread(mfd, out->insns, (size_t)st.st_size, 0) != st.st_size) {
		free(out->insns);
		out->insns = NULL;
		return nerr_set(err, EIO, "read seccomp filter");
	}
	return 0;
}

/* A cached filter is code the kernel will run for the workload: only trust
 * files owned by us in a directory nobody else can write. */
static bool cache_trusted(int dirfd, int fd)
{
	struct stat d, f;

	if (fstat(dirfd, &d) < 0 || fstat(fd, &f) < 0)
		return false;
	return d.st_uid == geteuid() && !(d.st_mode & 022) &&
	       f.st_uid == geteuid() && !(f.st_mode & 022) && S_ISREG(f.st_mode);
}

static int cache_load(const char *key, struct sc_program *out)
{
	_cleanup_close_ int dirfd = open(sc_cache_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len;
	uint32_t n;

	if (dirfd < 0)
		return -errno;
	fd = openat(dirfd, key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (!cache_trusted(dirfd, fd))
		return -EPERM;
	{
		struct stat st;
		if (fstat(fd, &st) < 0 || st.st_size < 12 || st.st_size > 12 + 8 * BPF_MAXINSNS)
			return -EINVAL;
		len = (size_t)st.st_size;
		buf = xmalloc(len);
		if (read_all(fd, buf, len) != (ssize_t)len)
			return -EIO;
	}
	memcpy(&n, buf + 8, 4);
	if (memcmp(buf, CACHE_MAGIC, 8) || n == 0 || n > BPF_MAXINSNS ||
	    len != 12 + (size_t)n * sizeof(struct sock_filter))
		return -EINVAL;
	out->insns = xmalloc(len - 12);
	memcpy(out->insns, buf + 12, len - 12);
	out->len = (unsigned short)n;
	out->from_cache = true;
	return 0;
}

static void cache_store(const char *key, const struct sc_program *prog)
{
	const char *dir = sc_cache_dir();
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, key);
	size_t len = 12 + (size_t)prog->len * sizeof(struct sock_filter);
	_cleanup_free_ char *buf = xmalloc(len);
	uint32_t n = prog->len;

	if (mkdir_p(dir, 0700) < 0)
		return;            /* a cache that cannot be written is only slower */
	memcpy(buf, CACHE_MAGIC, 8);
	memcpy(buf + 8, &n, 4);
	memcpy(buf + 12, prog->insns, len - 12);
	if (write_file_atomic(path, buf, len, 0600) < 0)
		log_debug("seccomp cache: cannot write %s", path);
}

int sc_program_prepare(const struct sc_profile *p, unsigned flags,
		       struct sc_program *out, struct nerr *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	profile_key(p, flags, out->key);
	if (cache_load(out->key, out) == 0)
		return 0;
	rc = compile(p, flags, out, err);
	if (rc < 0)
		return rc;
	cache_store(out->key, out);
	return 0;
}

int sc_program_prepare_builtin(unsigned flags, struct sc_program *out, struct nerr *err)
{
	struct sc_profile p;
	struct sha256 s;
	int rc;

	memset(out, 0, sizeof(*out));
	key_env(&s, flags);
	sc_builtin_digest(&s);
	key_final(&s, out->key);
	if (cache_load(out->key, out) == 0)
		return 0;
	if ((rc = sc_profile_builtin_default(&p, err)) < 0)
		return rc;
	rc = compile(&p, flags, out, err);
	sc_profile_free(&p);
	if (rc < 0)
		return rc;
	cache_store(out->key, out);
	return 0;
}

void sc_program_free(struct sc_program *prog)
{
	free(prog->insns);
	prog->insns = NULL;
	prog->len = 0;
}

int sc_program_install(const struct sc_program *prog, unsigned flags, struct nerr *err)
{
	struct sock_fprog fprog = { .len = prog->len, .filter = prog->insns };
	unsigned kflags = 0;

	if (flags & SC_FLAG_LOG_DENIED)
		kflags |= SECCOMP_FILTER_FLAG_LOG;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, kflags, &fprog) < 0)
		return nerr_set(err, errno, "install seccomp filter");
	return 0;
}
