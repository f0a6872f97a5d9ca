/* libFuzzer target for the workload identity's reader of passwd and group
 * files (identity_resolve_text, src/container/identity.c): they come from a
 * rootfs someone else built.
 *
 * Input: "<user>\n<group>\n<additional>\n" then the passwd text, a NUL,
 * the group text (empty lines: flag not given). Beyond "no crash, no leak":
 * a refusal is one line; an accepted identity is set, its supplementary
 * groups start with its gid and hold no duplicate. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nucleus/container.h>

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_identity: %s\n", what);
		abort();
	}
}

/* the next line of *p (NUL-terminated in place); NULL when there is none */
static char *line(char **p, char *end)
{
	char *s = *p, *nl;

	if (s >= end || !(nl = memchr(s, '\n', (size_t)(end - s))))
		return NULL;
	*nl = '\0';
	*p = nl + 1;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *p = buf, *end = buf + size, *user, *group, *extra, *passwd, *grp;
	struct identity id = { 0 };
	struct nerr e = { 0 };

	memcpy(buf, data, size);
	buf[size] = '\0';
	if (!(user = line(&p, end)) || !(group = line(&p, end)) || !(extra = line(&p, end))) {
		free(buf);
		return 0;
	}
	passwd = p;
	grp = memchr(p, '\0', (size_t)(end - p)) ? p + strlen(p) + 1 : end;
	id.user = *user ? strdup(user) : NULL;
	id.group = *group ? strdup(group) : NULL;
	if (*extra)
		strv_push(&id.additional_groups, extra);
	if (identity_resolve_text(&id, passwd, 0, "/etc/passwd", grp <= end ? grp : "", 0, "/etc/group", &e) < 0) {
		check(e.msg[0] != '\0', "a refusal without a message");
		check(!strchr(e.msg, '\n'), "a refusal of more than one line");
	} else if (id.user || id.group || id.additional_groups) {
		check(id.set, "an accepted identity is not set");
		check(id.ngroups >= 1 && id.groups[0] == id.gid, "the supplementary groups do not start with the gid");
		for (size_t i = 0; i < id.ngroups; i++)
			for (size_t j = i + 1; j < id.ngroups; j++)
				check(id.groups[i] != id.groups[j], "a supplementary group twice");
	}
	identity_free(&id);
	free(buf);
	return 0;
}
