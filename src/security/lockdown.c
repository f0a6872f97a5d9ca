/* --require-kernel-lockdown: the kernel's lockdown level against the one asked for. */
#include <errno.h>
#include <string.h>
#include <nucleus/ebpf.h>
#include <nucleus/security.h>

static const char *const level_names[] = {
	[LOCKDOWN_NONE] = "none", [LOCKDOWN_INTEGRITY] = "integrity",
	[LOCKDOWN_CONFIDENTIALITY] = "confidentiality",
};

const char *lockdown_name(enum lockdown_level l)
{
	return (unsigned)l < ARRAY_SIZE(level_names) ? level_names[l] : "?";
}

int lockdown_parse(const char *s, enum lockdown_level *out)
{
	const char *a = strchr(s, '['), *b = a ? strchr(a, ']') : NULL;
	size_t len;

	/* the kernel's line names all levels and brackets the active one;
	 * a bare word is taken as the active one */
	if (a && b) {
		s = a + 1;
		len = (size_t)(b - s);
	} else if (a || strchr(s, ']')) {
		return -EINVAL;
	} else {
		s += strspn(s, " \t\n");
		len = strcspn(s, " \t\n");
		if (s[len + strspn(s + len, " \t\n")])
			return -EINVAL;   /* several words, none bracketed */
	}
	/* no lockdown line at all: the kernel has no lockdown LSM */
	if (!len) {
		if (a)
			return -EINVAL;
		*out = LOCKDOWN_NONE;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
		if (strlen(level_names[i]) == len && !strncmp(s, level_names[i], len)) {
			*out = (enum lockdown_level)i;
			return 0;
		}
	return -EINVAL;
}

int lockdown_require(enum lockdown_level want, struct nerr *err)
{
	struct host_security hs;
	enum lockdown_level have;

	if (want == LOCKDOWN_NONE)
		return 0;
	/* securityfs is mounted for the read in a private mount namespace
	 * when the host has not mounted it; no file then means no lockdown
	 * LSM in this kernel */
	host_security_read(&hs);
	if (lockdown_parse(hs.lockdown, &have) < 0)
		return nerr_set(err, 0, "unknown kernel lockdown `%s`; --require-kernel-lockdown %s cannot "
				"be checked", hs.lockdown, lockdown_name(want));
	if (have < want)
		return nerr_set(err, 0, "kernel lockdown is `%s`; --require-kernel-lockdown %s needs at least `%s`",
				lockdown_name(have), lockdown_name(want), lockdown_name(want));
	return 0;
}
