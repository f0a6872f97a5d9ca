/* The content-addressed cache of compiled filters, so that a warm start
 * installs a filter without compiling anything: its keys, its entries, and
 * the protocol every prepare function follows (sc_prepare_cached). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <linux/filter.h>
#include <nucleus/security.h>
#include "seccomp_internal.h"

#define CACHE_MAGIC "NUCSCMP4"

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

/* What every compiled program depends on besides its profile. */
void sc_key_env(struct sha256 *s, unsigned flags)
{
	const struct scmp_version *v = seccomp_version();
	char buf[160];

	sha256_init(s);
	/* the cache format too: builds that write different formats (an
	 * upgrade with containers running) keep to entries of their own */
	snprintf(buf, sizeof(buf), "nucleus-seccomp compiler=%d cache=%s libseccomp=%u.%u.%u native=%u "
		 "flags=%u\n", SC_COMPILER_REV, CACHE_MAGIC, v->major, v->minor, v->micro,
		 seccomp_arch_native(), flags);
	sha256_update(s, buf, strlen(buf));
}

void sc_key_final(struct sha256 *s, char out[65])
{
	uint8_t d[32];

	sha256_final(s, d);
	hex_encode(d, 32, out, 65);
}

/* ---- the cache -------------------------------------------------------------------
 * One file per key: a header (magic, the key itself, kernel flags, counts,
 * the SHA-256 of the profile the program was compiled from, the SHA-256 of
 * the instructions, the SHA-256 of the rest), the instructions, then the
 * unknown syscall names, each NUL-terminated. The key inside the file means
 * an entry renamed or copied under another key is refused, the profile
 * digest binds it to the profile it claims to come from, the program digest
 * is checked against the instructions themselves, and the file digest
 * catches corruption elsewhere. Whoever can write the directory can forge
 * all of that, which is why a pinned profile is compiled anyway
 * (SC_PREPARE_VERIFY) and the audit records the hash of the instructions
 * actually installed, never a digest read from the file. */

/* magic 8, key 64, kflags 4, n 4, names 4, notify errno 4, then three
 * SHA-256: profile, program, file */
#define CACHE_PROFILE_AT 88
#define CACHE_PROGRAM_AT 120
#define CACHE_DIGEST_AT 152
#define CACHE_HDR 184
#define CACHE_MAX_NAMES (64 * 1024)

const char *sc_cache_use_name(enum sc_cache_use u)
{
	switch (u) {
	case SC_CACHE_COMPILED: return "compiled";
	case SC_CACHE_HIT: return "hit";
	case SC_CACHE_VERIFIED: return "verified";
	case SC_CACHE_RECOMPILED: return "recompiled";
	case SC_CACHE_BYPASSED: return "bypassed";
	}
	return "?";
}

void sc_program_digest(const struct sc_program *prog, char out[65])
{
	sha256_hex(prog->insns, (size_t)prog->len * sizeof(struct sock_filter), out);
}

/* A cached filter is code the kernel will run for the workload: only trust
 * files owned by us in a directory nobody else can write. */
static bool cache_trusted(int dirfd, int fd)
{
	/* the rule of all runtime state (trust_fd) */
	return trust_fd(dirfd, S_IFDIR, "seccomp cache", sc_cache_dir(), NULL) == 0 &&
	       trust_fd(fd, S_IFREG, "seccomp cache entry", sc_cache_dir(), NULL) == 0;
}

static void cache_digest(const char *buf, size_t len, uint8_t out[32])
{
	struct sha256 s;

	sha256_init(&s);
	sha256_update(&s, buf, CACHE_DIGEST_AT);
	sha256_update(&s, buf + CACHE_HDR, len - CACHE_HDR);
	sha256_final(&s, out);
}

static int hex32(const char hex[65], uint8_t out[32])
{
	for (size_t i = 0; i < 32; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* -ENOENT: no entry; -EPERM: not trusted; -EINVAL: not an entry of this
 * format or not for this key; -EBADMSG: an entry for this key whose
 * digests do not hold (why says which). */
int sc_cache_load(const char *key, const char *profile_sha256, struct sc_program *out,
		  char ***unknown, char *why, size_t whylen)
{
	_cleanup_close_ int dirfd = open(sc_cache_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	uint32_t kflags, n, names, notify_errno;
	uint8_t digest[32], profile[32];
	char program[65];
	struct stat st;
	size_t len;

	snprintf(why, whylen, "unreadable");
	if (dirfd < 0)
		return -errno;
	fd = openat(dirfd, key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (!cache_trusted(dirfd, fd)) {
		snprintf(why, whylen, "the entry or its directory is not owned by this user or is "
			 "writable by others");
		return -EPERM;
	}
	snprintf(why, whylen, "the entry is truncated or in another format");
	if (fstat(fd, &st) < 0 || st.st_size < CACHE_HDR ||
	    st.st_size > CACHE_HDR + 8 * BPF_MAXINSNS + CACHE_MAX_NAMES)
		return -EINVAL;
	len = (size_t)st.st_size;
	buf = xmalloc(len);
	if (read_all(fd, buf, len) != (ssize_t)len)
		return -EIO;
	memcpy(&kflags, buf + 72, 4);
	memcpy(&n, buf + 76, 4);
	memcpy(&names, buf + 80, 4);
	memcpy(&notify_errno, buf + 84, 4);
	if (memcmp(buf, CACHE_MAGIC, 8) || n == 0 || n > BPF_MAXINSNS || names > CACHE_MAX_NAMES ||
	    len != CACHE_HDR + (size_t)n * sizeof(struct sock_filter) + names ||
	    (kflags & ~SC_KFLAGS_HONOURED) || notify_errno > 4095 || (names && buf[len - 1] != '\0'))
		return -EINVAL;
	if (memcmp(buf + 8, key, 64)) {
		snprintf(why, whylen, "the entry belongs to another key");
		return -EBADMSG;
	}
	cache_digest(buf, len, digest);
	if (memcmp(digest, buf + CACHE_DIGEST_AT, 32)) {
		snprintf(why, whylen, "the entry's file digest does not match its contents");
		return -EBADMSG;
	}
	if (hex32(profile_sha256, profile) < 0 || memcmp(profile, buf + CACHE_PROFILE_AT, 32)) {
		snprintf(why, whylen, "the entry was compiled from another profile");
		return -EBADMSG;
	}
	out->insns = xmalloc((size_t)n * sizeof(struct sock_filter));
	memcpy(out->insns, buf + CACHE_HDR, (size_t)n * sizeof(struct sock_filter));
	out->len = (unsigned short)n;
	sc_program_digest(out, program);
	if (hex32(program, digest) < 0 || memcmp(digest, buf + CACHE_PROGRAM_AT, 32)) {
		free(out->insns);
		out->insns = NULL;
		out->len = 0;
		snprintf(why, whylen, "the entry's instructions do not match its program digest");
		return -EBADMSG;
	}
	out->kflags = kflags;
	out->notify_errno = notify_errno;
	if (unknown) {
		*unknown = NULL;
		for (const char *s = buf + len - names; s < buf + len; s += strlen(s) + 1)
			strv_push(unknown, s);
	}
	why[0] = '\0';
	return 0;
}

void sc_cache_store(const char *key, const char *profile_sha256, const struct sc_program *prog,
		    char *const *unknown)
{
	const char *dir = sc_cache_dir();
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, key);
	size_t names = 0, code = (size_t)prog->len * sizeof(struct sock_filter), len, off;
	_cleanup_free_ char *buf = NULL;
	char program[65];
	uint32_t v;

	for (size_t i = 0; unknown && unknown[i]; i++)
		names += strlen(unknown[i]) + 1;
	if (names > CACHE_MAX_NAMES)
		return;
	len = CACHE_HDR + code + names;
	buf = xcalloc(1, len);
	memcpy(buf, CACHE_MAGIC, 8);
	memcpy(buf + 8, key, 64);
	v = prog->kflags;
	memcpy(buf + 72, &v, 4);
	v = prog->len;
	memcpy(buf + 76, &v, 4);
	v = (uint32_t)names;
	memcpy(buf + 80, &v, 4);
	v = prog->notify_errno;
	memcpy(buf + 84, &v, 4);
	sc_program_digest(prog, program);
	if (hex32(profile_sha256, (uint8_t *)buf + CACHE_PROFILE_AT) < 0 ||
	    hex32(program, (uint8_t *)buf + CACHE_PROGRAM_AT) < 0)
		return;
	memcpy(buf + CACHE_HDR, prog->insns, code);
	off = CACHE_HDR + code;
	for (size_t i = 0; unknown && unknown[i]; i++) {
		size_t l = strlen(unknown[i]) + 1;

		memcpy(buf + off, unknown[i], l);
		off += l;
	}
	cache_digest(buf, len, (uint8_t *)buf + CACHE_DIGEST_AT);
	if (mkdir_p(dir, 0700) < 0)
		return;            /* a cache that cannot be written is only slower */
	if (write_file_atomic(path, buf, len, 0600) < 0)
		log_debug("seccomp cache: cannot write %s", path);
}

static bool same_program(const struct sc_program *a, const struct sc_program *b)
{
	return a->len == b->len && a->kflags == b->kflags && a->notify_errno == b->notify_errno &&
	       !memcmp(a->insns, b->insns, (size_t)a->len * sizeof(struct sock_filter));
}

int sc_prepare_cached(const char *key, const char *profile_sha256, unsigned flags,
		      sc_compile_fn compile, void *arg, struct sc_program *out, char ***unknown,
		      struct nerr *err)
{
	bool verify = flags & SC_PREPARE_VERIFY, bypass = flags & SC_PREPARE_NO_CACHE;
	struct sc_program cached = { 0 };
	char **cached_unknown = NULL, **fresh_unknown = NULL, why[160] = "";
	int r = -ENOENT, rc;

	flags &= ~(SC_PREPARE_VERIFY | SC_PREPARE_NO_CACHE);
	snprintf(out->key, sizeof(out->key), "%s", key);
	snprintf(out->profile_sha256, sizeof(out->profile_sha256), "%s", profile_sha256);
	out->cache_note[0] = '\0';
	if (unknown)
		*unknown = NULL;
	if (!bypass)
		r = sc_cache_load(key, profile_sha256, &cached, &cached_unknown, why, sizeof(why));
	if (r == 0 && !verify) {
		out->insns = steal_ptr(cached.insns);
		out->len = cached.len;
		out->kflags = cached.kflags;
		out->notify_errno = cached.notify_errno;
		out->from_cache = true;
		out->cache = SC_CACHE_HIT;
		sc_program_digest(out, out->sha256);
		if (unknown)
			*unknown = cached_unknown;
		else
			strv_free(cached_unknown);
		return 0;
	}
	strv_free(cached_unknown);
	rc = compile(arg, flags, out, &fresh_unknown, err);
	if (rc < 0) {
		sc_program_free(&cached);
		return rc;
	}
	out->from_cache = false;
	sc_program_digest(out, out->sha256);
	if (bypass) {
		out->cache = SC_CACHE_BYPASSED;
	} else if (r == 0 && same_program(&cached, out)) {
		out->cache = SC_CACHE_VERIFIED;
	} else if (r == 0) {
		char theirs[65];

		sc_program_digest(&cached, theirs);
		out->cache = SC_CACHE_RECOMPILED;
		snprintf(out->cache_note, sizeof(out->cache_note),
			 "the cached filter (sha256 %.16s...) is not what the profile compiles to; replaced",
			 theirs);
		log_warn("seccomp cache entry %.16s...: %s", key, out->cache_note);
		sc_cache_store(key, profile_sha256, out, fresh_unknown);
	} else {
		out->cache = r == -ENOENT ? SC_CACHE_COMPILED : SC_CACHE_RECOMPILED;
		if (r != -ENOENT) {
			snprintf(out->cache_note, sizeof(out->cache_note), "%s; recompiled", why);
			/* a forged or damaged entry is worth a warning, an old format is not */
			if (r == -EBADMSG)
				log_warn("seccomp cache entry %.16s...: %s", key, out->cache_note);
			else
				log_debug("seccomp cache entry %.16s...: %s", key, out->cache_note);
		}
		sc_cache_store(key, profile_sha256, out, fresh_unknown);
	}
	sc_program_free(&cached);
	if (unknown)
		*unknown = fresh_unknown;
	else
		strv_free(fresh_unknown);
	return 0;
}
