/* libFuzzer target for the capability and Landlock policy loaders.
 *
 * The first byte chooses the loader (even: capabilities, odd: Landlock); the
 * rest is the TOML text. A rejection must carry a one-line message that
 * names the file; an accepted policy must be well formed: capability sets
 * within the known capabilities and consistent as the kernel requires
 * (ambient within permitted and inheritable, effective within permitted),
 * Landlock rules with absolute paths, known access bits and ports. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>

#include "nucleus/security.h"

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_policy: %s\n", what);
		abort();
	}
}

static void check_error(const struct nerr *err, int r)
{
	check(r < 0, "negative return");
	check(err->msg[0] != '\0', "an error without a message");
	check(!strchr(err->msg, '\n'), "a multi-line error");
	check(strstr(err->msg, "fuzz.toml") != NULL, "an error that does not name the file");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nerr err = { 0 };
	const char *text;
	size_t len;
	int r;

	if (size < 1)
		return 0;
	text = (const char *)data + 1;
	len = size - 1;
	if (!(data[0] & 1)) {
		struct cap_sets s;
		uint64_t all = (CAP_LAST_CAP + 1 >= 64) ? ~0ull : (1ull << (CAP_LAST_CAP + 1)) - 1;

		r = caps_policy_parse(text, len, "fuzz.toml", &s, &err);
		if (r < 0) {
			check_error(&err, r);
			return 0;
		}
		check(!(s.bounding & ~all) && !(s.permitted & ~all) && !(s.effective & ~all) &&
		      !(s.inheritable & ~all) && !(s.ambient & ~all), "an unknown capability bit");
		check(!(s.ambient & ~(s.permitted & s.inheritable)), "ambient outside permitted & inheritable");
		check(!(s.effective & ~s.permitted), "effective outside permitted");
	} else {
		struct landlock_spec s;
		uint64_t fs_all = landlock_fs_handled(99);

		memset(&s, 0, sizeof(s));
		r = landlock_policy_parse(text, len, "fuzz.toml", &s, &err);
		if (r < 0) {
			check_error(&err, r);
			return 0;
		}
		check(s.min_abi >= 0, "negative min_abi");
		for (size_t i = 0; i < s.nrules; i++) {
			check(s.rules[i].path && s.rules[i].path[0] == '/', "a relative rule path");
			check(!(s.rules[i].access & ~fs_all), "an unknown access bit");
		}
		for (size_t i = 0; i < s.nnet; i++)
			/* LANDLOCK_ACCESS_NET_BIND_TCP | _CONNECT_TCP (ABI 4) */
			check(s.net[i].access && !(s.net[i].access & ~3ull), "a net rule without a known access");
		landlock_spec_free(&s);
	}
	return 0;
}
