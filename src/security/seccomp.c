/* Prepare a profile's filter (from the cache or compiled: seccomp_cache.c,
 * seccomp_compile.c) and install it. */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <nucleus/security.h>
#include "seccomp_internal.h"

/* An in-memory profile, as text fed to a hash. */
static void profile_describe(const struct sc_profile *p, struct sha256 *s)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "default=%d/%u kflags=%u\n", p->default_action.kind,
		 p->default_action.data, p->flags);
	sha256_update(s, buf, strlen(buf));
	for (size_t i = 0; i < p->narches; i++) {
		snprintf(buf, sizeof(buf), "arch %u\n", p->arches[i]);
		sha256_update(s, buf, strlen(buf));
	}
	for (size_t i = 0; i < p->nrules; i++) {
		const struct sc_rule *r = &p->rules[i];

		snprintf(buf, sizeof(buf), "rule %d/%u", r->action.kind, r->action.data);
		sha256_update(s, buf, strlen(buf));
		for (size_t j = 0; r->names && r->names[j]; j++) {
			sha256_update(s, " ", 1);
			sha256_update(s, r->names[j], strlen(r->names[j]));
		}
		for (size_t j = 0; j < r->nargs; j++) {
			snprintf(buf, sizeof(buf), " [%u %d %llu %llu]", r->args[j].index, r->args[j].op,
				 (unsigned long long)r->args[j].value,
				 (unsigned long long)r->args[j].value_two);
			sha256_update(s, buf, strlen(buf));
		}
		sha256_update(s, "\n", 1);
	}
}

/* The cache key covers everything the compiled program depends on; the
 * profile digest only the profile. */
static void profile_key(const struct sc_profile *p, unsigned flags, char key[65], char profile[65])
{
	struct sha256 s;

	sha256_init(&s);
	profile_describe(p, &s);
	sc_key_final(&s, profile);
	sc_key_env(&s, flags);
	profile_describe(p, &s);
	sc_key_final(&s, key);
}

/* An in-memory profile: guarded compile (it may come from anywhere). */
static int compile_profile(void *arg, unsigned flags, struct sc_program *out, char ***unknown,
			   struct nerr *err)
{
	*unknown = NULL;
	return sc_program_compile_guarded(arg, flags, out, err);
}

int sc_program_prepare(const struct sc_profile *p, unsigned flags,
		       struct sc_program *out, struct nerr *err)
{
	char key[65], profile[65];

	memset(out, 0, sizeof(*out));
	profile_key(p, flags & ~(SC_PREPARE_VERIFY | SC_PREPARE_NO_CACHE), key, profile);
	return sc_prepare_cached(key, profile, flags, compile_profile, (void *)p, out, NULL, err);
}

/* The built-in profile: our own fixed tables, known to compile, so no
 * child is needed. */
static int compile_builtin(void *arg, unsigned flags, struct sc_program *out, char ***unknown,
			   struct nerr *err)
{
	struct sc_profile p;
	int rc;

	(void)arg;
	*unknown = NULL;
	if ((rc = sc_profile_builtin_default(&p, err)) < 0)
		return rc;
	rc = sc_program_compile(&p, flags, out, err);
	sc_profile_free(&p);
	return rc;
}

int sc_program_prepare_builtin(unsigned flags, struct sc_program *out, struct nerr *err)
{
	char key[65], profile[65];
	struct sha256 s;

	memset(out, 0, sizeof(*out));
	sha256_init(&s);
	sc_builtin_digest(&s);
	sc_key_final(&s, profile);
	sc_key_env(&s, flags & ~(SC_PREPARE_VERIFY | SC_PREPARE_NO_CACHE));
	sc_builtin_digest(&s);
	sc_key_final(&s, key);
	return sc_prepare_cached(key, profile, flags, compile_builtin, NULL, out, NULL, err);
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
	unsigned kflags = prog->kflags & SC_KFLAGS_HONOURED;
	long r;

	if (flags & SC_FLAG_LOG_DENIED)
		kflags |= SECCOMP_FILTER_FLAG_LOG;
	if (prog->notify_errno)
		kflags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, kflags, &fprog);
	if (r < 0)
		return nerr_set(err, errno, "install seccomp filter%s",
				errno == EINVAL && kflags ? " (does this kernel know the profile's flags?)" : "");
	return prog->notify_errno ? (int)r : 0;
}
