/* Which runtime runs the workload: nucleus's own (native), gVisor's runsc,
 * or another OCI runtime on the bundle src/oci/ generates
 * (docs/gvisor.md). The parts that need no system. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <nucleus/container.h>

const char *const runtime_kind_names[] = {
	[RUNTIME_NATIVE] = "native", [RUNTIME_GVISOR] = "gvisor", [RUNTIME_OCI] = "oci", NULL,
};

int runtime_parse(const char *s, struct runtime_config *rt, struct nerr *err)
{
	if (!strcmp(s, "native") || !strcmp(s, "gvisor")) {
		rt->kind = !strcmp(s, "native") ? RUNTIME_NATIVE : RUNTIME_GVISOR;
		free(rt->path);
		rt->path = NULL;
		return 0;
	}
	if (!strncmp(s, "oci:", 4)) {
		if (!s[4])
			return nerr_set(err, 0, "`oci:` names no runtime (oci:PATH, e.g. oci:runc or "
					"oci:/usr/sbin/runc)");
		rt->kind = RUNTIME_OCI;
		free(rt->path);
		rt->path = xstrdup(s + 4);
		return 0;
	}
	return nerr_set(err, 0, "unknown runtime `%s` (native, gvisor or oci:PATH)", s);
}

char *runtime_describe(const struct runtime_config *rt)
{
	if (rt->kind == RUNTIME_OCI)
		return xasprintf("oci:%s", rt->path ? rt->path : "");
	return xstrdup(runtime_kind_names[rt->kind]);
}

/* `name` as the shell finds it: a name with a slash as it is, else the
 * first executable file of that name in $PATH (or the usual directories). */
static char *find_program(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL, *found = NULL;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
	copy = xstrdup(path && path[0] ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", dir[0] ? dir : ".", name);

		if (access(p, X_OK) == 0)
			found = p;
		else
			free(p);
	}
	free(copy);
	return found;
}

int runtime_config_validate(struct container_config *c, struct nerr *err)
{
	struct runtime_config *rt = &c->rt;
	const char *want;
	char *found, *abs;

	if (rt->platform && rt->kind != RUNTIME_GVISOR)
		return nerr_set(err, 0, "--gvisor-platform needs --runtime gvisor");
	if (rt->kind == RUNTIME_NATIVE)
		return 0;
	want = rt->kind == RUNTIME_GVISOR ? (rt->path ? rt->path : "runsc") : rt->path;
	if (!(found = find_program(want)))
		return rt->kind == RUNTIME_GVISOR ?
			nerr_set(err, 0, "--runtime gvisor: `%s` not found in $PATH (Debian's package runsc has it)",
				 want) :
			nerr_set(err, 0, "--runtime oci:%s: no executable `%s`%s", want, want,
				 strchr(want, '/') ? "" : " in $PATH");
	abs = realpath(found, NULL);
	free(found);
	if (!abs)
		return nerr_set(err, errno, "--runtime %s: `%s`", runtime_kind_names[rt->kind], want);
	free(rt->path);
	rt->path = abs;
	return 0;
}
