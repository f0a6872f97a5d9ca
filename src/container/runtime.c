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

/* What nucleus does itself inside a native container and cannot do inside
 * another runtime's: each refused, naming the flag, rather than dropped. */
static int runtime_refusals(const struct container_config *c, struct nerr *err)
{
	const char *rt = runtime_kind_names[c->rt.kind], *what = NULL;

	if (c->ns.userns || c->ns.rootless)
		return nerr_set(err, 0, "--runtime %s needs root and no --userns (the runtime maps no user "
				"namespace of nucleus's)", rt);
	if (c->proc.tty)
		what = "-t";
	else if (c->sec.seccomp_trace)
		what = "--seccomp-mode trace";
	else if (c->sec.seccomp_log_denied)
		what = "--seccomp-log-denied";
	else if (c->svc.readiness_tcp)
		what = "--readiness-tcp";
	else if (c->fs.verify_context)
		what = "--verify-context-integrity";
	if (what)
		return nerr_set(err, 0, "%s is not available with --runtime %s (nucleus does it inside native "
				"containers only)", what, rt);
	return 0;
}

int runtime_config_validate(struct container_config *c, struct nerr *err)
{
	struct runtime_config *rt = &c->rt;
	const char *want;
	char *found, *abs;
	int r;

	if (rt->platform && rt->kind != RUNTIME_GVISOR)
		return nerr_set(err, 0, "--gvisor-platform needs --runtime gvisor");
	if (rt->kind == RUNTIME_NATIVE)
		return 0;
	if ((r = runtime_refusals(c, err)) < 0)
		return r;
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
