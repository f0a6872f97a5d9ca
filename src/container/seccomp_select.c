/* Which seccomp filter a container gets, for run and for attach. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

#define PROFILE_MAX (16u << 20)

static void warn_unknown(const char *profile, char **unknown)
{
	size_t n = strv_len(unknown), len = 0;
	char *list;

	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		len += strlen(unknown[i]) + 2;
	list = xcalloc(1, len + 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(list, ", ");
		strcat(list, unknown[i]);
	}
	log_warn("seccomp profile `%s`: %zu syscall name%s unknown to this libseccomp, skipped: %s",
		 profile, n, n == 1 ? "" : "s", list);
	free(list);
}

static int pinned_profile(const char *profile, const char *pin, const struct sc_context *ctx,
			  unsigned flags, struct sc_program *out, char ***unknown, struct nerr *err)
{
	char actual[65], want[65];
	size_t len;
	char *buf;
	int r;

	if (!is_hex_string(pin, 64))
		return nerr_set(err, 0, "seccomp profile pin `%s` is not a SHA-256 (64 hex digits)", pin);
	for (size_t i = 0; i < 65; i++)
		want[i] = (char)tolower((unsigned char)pin[i]);
	if ((r = read_file(profile, PROFILE_MAX, &buf, &len)) < 0)
		return nerr_set(err, -r, "seccomp profile `%s`", profile);
	sha256_hex(buf, len, actual);
	if (strcmp(actual, want))
		r = nerr_set(err, 0, "seccomp profile `%s`: SHA-256 mismatch: expected %s, actual %s",
			     profile, want, actual);
	else     /* the pin covers the filter: compiled, whatever the cache holds */
		r = sc_program_prepare_oci(buf, len, profile, ctx, flags | SC_PREPARE_VERIFY, out,
					   unknown, err);
	free(buf);
	return r;
}

int container_seccomp_prepare(bool trace, const char *profile, const char *pin_sha256,
			      uint64_t bounding, unsigned flags, bool warn,
			      struct sc_program *out, struct nerr *err)
{
	struct sc_context ctx = { .bounding = bounding };
	char **unknown = NULL;
	int r;

	if (trace) {
		struct sc_profile all;

		if ((r = sc_profile_allow_all(&all, err)) < 0)
			return r;
		r = sc_program_prepare(&all, flags, out, err);
		sc_profile_free(&all);
		return r;
	}
	if (!profile)
		return sc_program_prepare_builtin(flags, out, err);
	if (pin_sha256)
		r = pinned_profile(profile, pin_sha256, &ctx, flags, out, &unknown, err);
	else
		r = sc_program_prepare_file(profile, &ctx, flags, out, &unknown, err);
	if (r == 0 && warn)
		warn_unknown(profile, unknown);
	strv_free(unknown);
	return r;
}
