/* linux.seccomp: the profile a native run would install, resolved the
 * same way (the built-in default, or a profile file resolved against the
 * container's bounding set, its pin checked), as OCI JSON. */
#include <errno.h>
#include <string.h>
#include <seccomp.h>
#include <linux/seccomp.h>
#include "internal.h"

#define PROFILE_MAX (16u << 20)
#define AF_PACKET_ 17

static const struct {
	uint32_t token;
	const char *name;
} arches[] = {
	{ SCMP_ARCH_X86_64, "SCMP_ARCH_X86_64" }, { SCMP_ARCH_X86, "SCMP_ARCH_X86" },
	{ SCMP_ARCH_X32, "SCMP_ARCH_X32" }, { SCMP_ARCH_AARCH64, "SCMP_ARCH_AARCH64" },
	{ SCMP_ARCH_ARM, "SCMP_ARCH_ARM" }, { SCMP_ARCH_RISCV64, "SCMP_ARCH_RISCV64" },
	{ SCMP_ARCH_PPC64LE, "SCMP_ARCH_PPC64LE" }, { SCMP_ARCH_S390X, "SCMP_ARCH_S390X" },
};

static const char *arch_name(uint32_t token)
{
	for (size_t i = 0; i < ARRAY_SIZE(arches); i++)
		if (arches[i].token == token)
			return arches[i].name;
	return NULL;
}

/* OCI runtimes and runsc take every action but a notification without a
 * listener they were told about (the spec's listenerPath): nucleus's
 * --seccomp-log-denied turns denials into notifications its supervisor
 * answers; a bundle keeps the denial itself, an errno (EPERM for a
 * notify rule of a profile, which native answers with EPERM too). */
static const char *action_token(struct sc_action *a)
{
	if (a->kind == SC_NOTIFY)
		*a = (struct sc_action){ SC_ERRNO, EPERM };
	return sc_action_token(a->kind);
}

/* Under an egress policy nucleus stacks a filter refusing AF_PACKET
 * sockets (no cgroup hook sees them): here the profile's allow rule for
 * that family is left out, which leaves socket(AF_PACKET) to the default
 * denial. A profile allowing socket(2) whatever the family cannot be
 * narrowed this way (a conditional rule beside an unconditional one does
 * not decide in libseccomp): it is refused. */
static bool packet_rule(const struct sc_rule *r)
{
	return strv_contains(r->names, "socket") && r->nargs == 1 && r->args[0].index == 0 &&
	       r->args[0].op == SC_OP_EQ && r->args[0].value == AF_PACKET_ &&
	       (r->action.kind == SC_ALLOW || r->action.kind == SC_LOG);
}

static int load(const struct container_config *c, struct sc_profile *p, struct nerr *err)
{
	const char *path = c->sec.seccomp_profile;
	struct sc_context ctx = { .bounding = c->sec.caps.bounding };
	_cleanup_free_ char *buf = NULL;
	char actual[65];
	size_t len;
	int r;

	if (!path)
		return sc_profile_builtin_default(p, err);
	if ((r = read_file(path, PROFILE_MAX, &buf, &len)) < 0)
		return nerr_set(err, -r, "seccomp profile `%s`", path);
	if (c->sec.seccomp_profile_sha256) {
		/* the bytes checked are the bytes converted */
		sha256_hex(buf, len, actual);
		if (strcasecmp(actual, c->sec.seccomp_profile_sha256))
			return nerr_set(err, 0, "seccomp profile `%s`: SHA-256 mismatch: expected %s, actual %s", path,
					c->sec.seccomp_profile_sha256, actual);
	}
	if ((r = sc_profile_load_oci(buf, len, &ctx, p, err)) < 0)
		return nerr_prefix(err, "seccomp profile `%s`", path);
	return 0;
}

static json_t *value(uint64_t v, bool *over)
{
	if (v > INT64_MAX)
		*over = true;
	return json_integer((json_int_t)v);
}

json_t *oci_seccomp(const struct container_config *c, const struct oci_bundle_opts *o, struct nerr *err)
{
	struct sc_profile p;
	struct sc_action def;
	json_t *j = NULL, *a, *rules;
	bool guard = c->net.egress.enabled && !c->net.egress.allow_raw, over = false;
	const char *native;

	(void)o;
	if (c->sec.seccomp_trace) {
		nerr_set(err, 0, "--seccomp-mode trace records with a BPF program nucleus attaches at the run; "
			 "a bundle cannot express it");
		return NULL;
	}
	if (load(c, &p, err) < 0)
		return NULL;
	j = json_object();
	def = p.default_action;
	json_object_set_new(j, "defaultAction", json_string(action_token(&def)));
	if (def.kind == SC_ERRNO)
		json_object_set_new(j, "defaultErrnoRet", json_integer(def.data));
	/* the filter covers the native architecture whatever the profile
	 * lists; without a list, only it (the built-in default) */
	a = json_array();
	native = arch_name(seccomp_arch_native());
	if (native)
		json_array_append_new(a, json_string(native));
	for (size_t i = 0; i < p.narches; i++) {
		const char *n = arch_name(p.arches[i]);

		if (!n) {
			nerr_set(err, 0, "seccomp profile: architecture %#x has no OCI name here", p.arches[i]);
			goto fail;
		}
		if (!native || strcmp(n, native))
			json_array_append_new(a, json_string(n));
	}
	json_object_set_new(j, "architectures", a);
	if (p.flags) {
		json_t *f = json_array();

		if (p.flags & SECCOMP_FILTER_FLAG_LOG)
			json_array_append_new(f, json_string("SECCOMP_FILTER_FLAG_LOG"));
		if (p.flags & SECCOMP_FILTER_FLAG_SPEC_ALLOW)
			json_array_append_new(f, json_string("SECCOMP_FILTER_FLAG_SPEC_ALLOW"));
		if (p.flags & SECCOMP_FILTER_FLAG_TSYNC)
			json_array_append_new(f, json_string("SECCOMP_FILTER_FLAG_TSYNC"));
		json_object_set_new(j, "flags", f);
	}
	rules = json_array();
	json_object_set_new(j, "syscalls", rules);     /* j holds it: a failure below frees it */
	for (size_t i = 0; i < p.nrules; i++) {
		struct sc_rule *r = &p.rules[i];
		struct sc_action act = r->action;
		json_t *names, *rule;

		if (guard && packet_rule(r))
			continue;
		if (guard && strv_contains(r->names, "socket") && !r->nargs &&
		    (r->action.kind == SC_ALLOW || r->action.kind == SC_LOG)) {
			nerr_set(err, 0, "an egress policy refuses AF_PACKET sockets, and the seccomp profile allows "
				 "socket(2) whatever the family: a bundle cannot refuse one family of it (--egress-allow-raw "
				 "or a profile that lists the families)");
			goto fail;
		}
		/* names this libseccomp does not know: the native filter skips them */
		names = json_array();
		for (size_t k = 0; r->names[k]; k++)
			if (!strv_contains(p.unknown, r->names[k]))
				json_array_append_new(names, json_string(r->names[k]));
		if (!json_array_size(names)) {
			json_decref(names);
			continue;
		}
		rule = json_object();
		json_object_set_new(rule, "names", names);
		json_object_set_new(rule, "action", json_string(action_token(&act)));
		if (act.kind == SC_ERRNO)
			json_object_set_new(rule, "errnoRet", json_integer(act.data));
		if (r->nargs) {
			json_t *args = json_array();

			for (size_t k = 0; k < r->nargs; k++) {
				json_t *arg = json_object();

				json_object_set_new(arg, "index", json_integer(r->args[k].index));
				json_object_set_new(arg, "value", value(r->args[k].value, &over));
				json_object_set_new(arg, "valueTwo", value(r->args[k].value_two, &over));
				json_object_set_new(arg, "op", json_string(sc_op_token(r->args[k].op)));
				json_array_append_new(args, arg);
			}
			json_object_set_new(rule, "args", args);
		}
		json_array_append_new(rules, rule);
	}
	if (over) {
		/* JSON integers here are signed 64-bit */
		nerr_set(err, 0, "seccomp profile: an argument value above 2^63-1 cannot be written");
		goto fail;
	}
	sc_profile_free(&p);
	return j;
fail:
	json_decref(j);
	sc_profile_free(&p);
	return NULL;
}
