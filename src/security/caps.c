/* Capability sets: everything not explicitly kept is dropped, from all five
 * sets, and securebits are locked so that uid 0 regains nothing at exec. */
#include <errno.h>
#include <ctype.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/capability.h>
#include <linux/securebits.h>
#include <nucleus/security.h>

int capability_last(void)
{
	static int last = -1;

	if (last < 0) {
		char *buf = NULL;
		uint64_t v;

		if (read_file("/proc/sys/kernel/cap_last_cap", 64, &buf, NULL) == 0) {
			buf[strcspn(buf, "\n")] = '\0';
			if (parse_u64(buf, 0, 63, &v) == 0)
				last = (int)v;
		}
		free(buf);
		if (last < 0)
			last = (int)cap_max_bits() - 1;
	}
	return last;
}

int capability_from_name(const char *name)
{
	char lower[64];
	cap_value_t v;
	size_t i, off = 0;

	if (strncasecmp(name, "cap_", 4) != 0) {
		strcpy(lower, "cap_");
		off = 4;
	}
	for (i = 0; name[i] && off + i < sizeof(lower) - 1; i++)
		lower[off + i] = (char)tolower((unsigned char)name[i]);
	lower[off + i] = '\0';
	if (name[i] || cap_from_name(lower, &v) != 0)
		return -1;
	/* libcap also accepts bare numbers; policy files name capabilities. */
	if (isdigit((unsigned char)lower[4]))
		return -1;
	return v;
}

const char *capability_name(int cap)
{
	static char names[64][32];
	char *n;

	if (cap < 0 || cap > 63)
		return "?";
	if (!names[cap][0]) {
		n = cap_to_name(cap);
		snprintf(names[cap], sizeof(names[cap]), "%s", n ? n : "?");
		for (char *p = names[cap]; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		cap_free(n);
	}
	return names[cap];
}

static int set_flag_bits(cap_t c, cap_flag_t flag, uint64_t bits, int last)
{
	for (int i = 0; i <= last; i++) {
		cap_value_t v = i;

		if ((bits >> i) & 1)
			if (cap_set_flag(c, flag, 1, &v, CAP_SET) < 0)
				return -errno;
	}
	return 0;
}

int caps_apply(const struct cap_sets *keep, struct nerr *err)
{
	int last = capability_last();
	cap_t c;
	int r = 0;

	/* Bounding first: dropping it needs CAP_SETPCAP, which we still hold. */
	for (int i = 0; i <= last; i++) {
		if ((keep->bounding >> i) & 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL)
			return nerr_set(err, errno, "drop capability %s from the bounding set",
					capability_name(i));
	}
	if (!keep->root_gains_at_exec &&
	    prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED, 0, 0, 0) < 0)
		return nerr_set(err, errno, "lock securebits");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return nerr_set(err, errno, "clear ambient capabilities");

	c = cap_init();
	if (!c)
		return nerr_set(err, errno, "cap_init");
	/* Ambient capabilities must also be permitted and inheritable. */
	if ((r = set_flag_bits(c, CAP_PERMITTED, keep->permitted | keep->ambient, last)) < 0 ||
	    (r = set_flag_bits(c, CAP_INHERITABLE, keep->inheritable | keep->ambient, last)) < 0 ||
	    (r = set_flag_bits(c, CAP_EFFECTIVE, keep->effective, last)) < 0) {
		cap_free(c);
		return nerr_set(err, -r, "build capability sets");
	}
	if (cap_set_proc(c) < 0) {
		r = errno;
		cap_free(c);
		return nerr_set(err, r, "set capabilities");
	}
	cap_free(c);
	for (int i = 0; i <= last; i++) {
		if (!((keep->ambient >> i) & 1))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0)
			return nerr_set(err, errno, "raise ambient capability %s", capability_name(i));
	}
	return 0;
}
