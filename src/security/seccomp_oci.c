/* OCI runtime-spec and Docker seccomp profiles (JSON) -> struct sc_profile,
 * resolved for one container on one host: includes/excludes (caps, arches,
 * minKernel) are applied as moby applies them, archMap picks the native
 * entry, and what remains is compiled like the built-in profile, through
 * the same content-addressed cache. See docs/seccomp.md. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/utsname.h>
#include <jansson.h>
#include <seccomp.h>
#include <nucleus/security.h>
#include "seccomp_internal.h"

#define PROFILE_MAX_BYTES (4u << 20)
#define ERRNO_MAX 65535u           /* SECCOMP_RET_DATA is 16 bits */
/* jansson keeps integers as int64; larger values are rewritten before
 * parsing to strings that start with this byte (see rewrite_big_integers) */
#define BIGINT_MARK '\x7f'

static unsigned long parse_count;

unsigned long sc_profile_oci_parse_count(void)
{
	return parse_count;
}

/* ---- context ---------------------------------------------------------------- */

int sc_kernel_version_parse(const char *release, unsigned *major, unsigned *minor, unsigned *patch)
{
	unsigned long v[3] = { 0, 0, 0 };
	const char *s = release;

	for (int i = 0; i < 3; i++) {
		char *end;

		if (!isdigit((unsigned char)*s))
			break;
		errno = 0;
		v[i] = strtoul(s, &end, 10);
		if (errno || v[i] > 0xffffff)
			return -EINVAL;
		s = end;
		if (i < 2 && *s != '.') {
			if (i == 0)
				return -EINVAL;
			break;
		}
		if (i < 2)
			s++;
	}
	if (s == release || !isdigit((unsigned char)*release))
		return -EINVAL;
	*major = (unsigned)v[0];
	*minor = (unsigned)v[1];
	*patch = (unsigned)v[2];
	return 0;
}

void sc_context_resolve(const struct sc_context *in, struct sc_context *out)
{
	static struct { unsigned major, minor, patch; bool done; } running;

	*out = in ? *in : (struct sc_context){ 0 };
	if (!out->arch)
		out->arch = seccomp_arch_native();
	if (!out->kernel.major && !out->kernel.minor && !out->kernel.patch) {
		if (!running.done) {
			struct utsname u;

			if (uname(&u) == 0)
				sc_kernel_version_parse(u.release, &running.major, &running.minor,
							&running.patch);
			running.done = true;
		}
		out->kernel.major = running.major;
		out->kernel.minor = running.minor;
		out->kernel.patch = running.patch;
	}
}

/* Docker's names for an architecture (includes/excludes "arches"), with the
 * spellings Go, Debian and the kernel use, by libseccomp's name for it. */
static const struct {
	const char *scmp;
	const char *docker[4];
} arch_names[] = {
	{ "x86_64", { "amd64", "x86_64" } },
	{ "x86", { "x86", "386", "i386", "i686" } },
	{ "x32", { "x32" } },
	{ "aarch64", { "arm64", "aarch64" } },
	{ "arm", { "arm", "armhf", "armel" } },
	{ "mips", { "mips" } },
	{ "mipsel", { "mipsel", "mipsle" } },
	{ "mips64", { "mips64" } },
	{ "mipsel64", { "mips64le", "mips64el", "mipsel64" } },
	{ "mips64n32", { "mips64n32" } },
	{ "mipsel64n32", { "mips64len32", "mipsel64n32" } },
	{ "ppc", { "ppc" } },
	{ "ppc64", { "ppc64" } },
	{ "ppc64le", { "ppc64le", "ppc64el" } },
	{ "s390", { "s390" } },
	{ "s390x", { "s390x" } },
	{ "parisc", { "parisc" } },
	{ "parisc64", { "parisc64" } },
	{ "riscv64", { "riscv64" } },
	{ "loongarch64", { "loong64", "loongarch64" } },
};

/* ---- the parser's state and error helpers -------------------------------------- */

struct parser {
	struct sc_context ctx;
	const char *const *native_names;   /* Docker names of ctx.arch */
	struct sc_profile *out;
	struct nerr *err;
};

/* A user string for an error message: quoted, escaped, shortened. */
static const char *quote(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	buf[o++] = '"';
	for (; *s && o + 8 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, len - o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	if (*s)
		o += (size_t)snprintf(buf + o, len - o, "...");
	snprintf(buf + o, len - o, "\"");
	return buf;
}

__attribute__((format(printf, 3, 4)))
static int perr(struct parser *ps, const char *path, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return nerr_set(ps->err, 0, "%s: %s", path, msg);
}

static bool is_bigint(const json_t *v)
{
	return json_is_string(v) && json_string_value(v)[0] == BIGINT_MARK;
}

/* A string member; absent and null are NULL. */
static int get_string(struct parser *ps, const json_t *obj, const char *key, const char *path,
		      const char **out)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || is_bigint(v))
		return perr(ps, path, "expected a string");
	*out = json_string_value(v);
	return 0;
}

/* An array of strings; absent and null are NULL. */
static int get_strings(struct parser *ps, const json_t *obj, const char *key, const char *path,
		       const json_t **out)
{
	const json_t *v = json_object_get(obj, key), *item;
	size_t i;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return perr(ps, path, "expected an array of strings");
	json_array_foreach(v, i, item)
		if (!json_is_string(item) || is_bigint(item))
			return perr(ps, path, "expected an array of strings");
	*out = v;
	return 0;
}

/* An unsigned integer in [0, max]; values above INT64_MAX arrive as
 * BIGINT_MARK strings. */
static int get_uint(struct parser *ps, const json_t *v, const char *path, uint64_t max, uint64_t *out)
{
	if (is_bigint(v)) {
		const char *s = json_string_value(v);

		while (*s == BIGINT_MARK)
			s++;
		*out = strtoull(s, NULL, 16);
	} else if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
	} else {
		return perr(ps, path, "expected an unsigned integer");
	}
	if (*out > max)
		return perr(ps, path, "%llu is out of range (0 to %llu)", (unsigned long long)*out,
			    (unsigned long long)max);
	return 0;
}

static int get_object(struct parser *ps, const json_t *obj, const char *key, const char *path,
		      const json_t **out)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return perr(ps, path, "expected an object");
	*out = v;
	return 0;
}

/* ---- actions, operators, architectures, flags, capabilities ---------------------- */

static int parse_action(struct parser *ps, const char *s, const char *path, struct sc_action *a)
{
	static const struct { const char *name; enum sc_action_kind kind; } actions[] = {
		{ "SCMP_ACT_ALLOW", SC_ALLOW },
		{ "SCMP_ACT_ERRNO", SC_ERRNO },
		{ "SCMP_ACT_KILL_PROCESS", SC_KILL_PROCESS },
		{ "SCMP_ACT_KILL_THREAD", SC_KILL_THREAD },
		{ "SCMP_ACT_KILL", SC_KILL_THREAD },      /* as libseccomp's SCMP_ACT_KILL */
		{ "SCMP_ACT_TRAP", SC_TRAP },
		{ "SCMP_ACT_LOG", SC_LOG },
		{ "SCMP_ACT_TRACE", SC_TRACE },
	};
	char q[96];

	if (!s)
		return perr(ps, path, "missing");
	if (!strcmp(s, "SCMP_ACT_NOTIFY"))
		return perr(ps, path, "SCMP_ACT_NOTIFY hands calls to a seccomp agent, and nucleus "
			    "runs none (use SCMP_ACT_ERRNO or SCMP_ACT_TRACE)");
	for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
		if (!strcmp(s, actions[i].name)) {
			/* runc's default for the errno of ERRNO and the message of TRACE */
			*a = (struct sc_action){ actions[i].kind,
						 actions[i].kind == SC_ERRNO || actions[i].kind == SC_TRACE ? EPERM : 0 };
			return 0;
		}
	return perr(ps, path, "unknown action %s", quote(s, q, sizeof(q)));
}

/* errnoRet / defaultErrnoRet: only for actions that carry a number. */
static int parse_errno_ret(struct parser *ps, const json_t *obj, const char *key, const char *path,
			   struct sc_action *a)
{
	const json_t *v = json_object_get(obj, key);
	uint64_t n;
	int rc;

	if (!v || json_is_null(v))
		return 0;
	if ((rc = get_uint(ps, v, path, ERRNO_MAX, &n)) < 0)
		return rc;
	if (a->kind != SC_ERRNO && a->kind != SC_TRACE)
		return perr(ps, path, "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
	a->data = (uint32_t)n;
	return 0;
}

static int parse_op(struct parser *ps, const char *s, const char *path, enum sc_op *op)
{
	static const struct { const char *name; enum sc_op op; } ops[] = {
		{ "SCMP_CMP_NE", SC_OP_NE }, { "SCMP_CMP_LT", SC_OP_LT },
		{ "SCMP_CMP_LE", SC_OP_LE }, { "SCMP_CMP_EQ", SC_OP_EQ },
		{ "SCMP_CMP_GE", SC_OP_GE }, { "SCMP_CMP_GT", SC_OP_GT },
		{ "SCMP_CMP_MASKED_EQ", SC_OP_MASKED_EQ },
	};
	char q[96];

	if (!s)
		return perr(ps, path, "missing");
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (!strcmp(s, ops[i].name)) {
			*op = ops[i].op;
			return 0;
		}
	return perr(ps, path, "unknown operator %s", quote(s, q, sizeof(q)));
}

/* "SCMP_ARCH_X86_64" -> SCMP_ARCH_X86_64; 0 when this libseccomp does not
 * know it. */
static uint32_t arch_token(const char *s)
{
	char name[32];
	size_t n;

	if (!str_has_prefix(s, "SCMP_ARCH_"))
		return 0;
	s += strlen("SCMP_ARCH_");
	n = strlen(s);
	if (n == 0 || n >= sizeof(name))
		return 0;
	for (size_t i = 0; i <= n; i++)
		name[i] = (char)tolower((unsigned char)s[i]);
	return seccomp_arch_resolve_name(name);
}

static int add_arch(struct parser *ps, const char *s, const char *path)
{
	uint32_t tok = arch_token(s);
	char q[96];

	if (!tok)
		return perr(ps, path, "unknown architecture %s", quote(s, q, sizeof(q)));
	for (size_t i = 0; i < ps->out->narches; i++)
		if (ps->out->arches[i] == tok)
			return 0;
	ps->out->arches = xrealloc(ps->out->arches, (ps->out->narches + 1) * sizeof(uint32_t));
	ps->out->arches[ps->out->narches++] = tok;
	return 0;
}

static int parse_arches(struct parser *ps, const json_t *root)
{
	const json_t *list, *map = json_object_get(root, "archMap"), *v;
	char path[64];
	size_t i;
	int rc;

	if ((rc = get_strings(ps, root, "architectures", "architectures", &list)) < 0)
		return rc;
	if (map && json_is_null(map))
		map = NULL;
	if (list && json_array_size(list) && map && json_array_size(map))
		return perr(ps, "archMap", "a profile gives either architectures or archMap, not both");
	json_array_foreach(list, i, v) {
		snprintf(path, sizeof(path), "architectures[%zu]", i);
		if ((rc = add_arch(ps, json_string_value(v), path)) < 0)
			return rc;
	}
	if (!map)
		return 0;
	if (!json_is_array(map))
		return perr(ps, "archMap", "expected an array of objects");
	json_array_foreach(map, i, v) {
		const json_t *subs, *s;
		const char *arch;
		char sp[96];
		size_t j;

		snprintf(path, sizeof(path), "archMap[%zu]", i);
		if (!json_is_object(v))
			return perr(ps, path, "expected an object");
		snprintf(sp, sizeof(sp), "%s.architecture", path);
		if ((rc = get_string(ps, v, "architecture", sp, &arch)) < 0)
			return rc;
		if (!arch)
			return perr(ps, sp, "missing");
		snprintf(sp, sizeof(sp), "%s.subArchitectures", path);
		if ((rc = get_strings(ps, v, "subArchitectures", sp, &subs)) < 0)
			return rc;
		/* only the entry for this machine counts; other entries may name
		 * architectures this libseccomp does not know */
		if (arch_token(arch) != ps->ctx.arch)
			continue;
		if ((rc = add_arch(ps, arch, sp)) < 0)
			return rc;
		json_array_foreach(subs, j, s) {
			snprintf(sp, sizeof(sp), "%s.subArchitectures[%zu]", path, j);
			if ((rc = add_arch(ps, json_string_value(s), sp)) < 0)
				return rc;
		}
	}
	return 0;
}

static int parse_flags(struct parser *ps, const json_t *root)
{
	static const struct { const char *name; unsigned flag; } flags[] = {
		{ "SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC },
		{ "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG },
		{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW },
	};
	const json_t *list, *v;
	char path[48], q[96];
	size_t i;
	int rc;

	if ((rc = get_strings(ps, root, "flags", "flags", &list)) < 0)
		return rc;
	json_array_foreach(list, i, v) {
		const char *s = json_string_value(v);
		size_t k;

		snprintf(path, sizeof(path), "flags[%zu]", i);
		for (k = 0; k < ARRAY_SIZE(flags) && strcmp(s, flags[k].name); k++)
			;
		if (k == ARRAY_SIZE(flags))
			return perr(ps, path, "unsupported flag %s%s", quote(s, q, sizeof(q)),
				    !strcmp(s, "SECCOMP_FILTER_FLAG_NEW_LISTENER")
					    ? " (it needs a seccomp agent, and nucleus runs none)" : "");
		ps->out->flags |= flags[k].flag;
	}
	return 0;
}

/* "CAP_SYS_ADMIN", "sys_admin", "Cap_Sys_Admin" -> 21; -1 when unknown. */
static int cap_number(const char *s)
{
	char name[64] = "cap_";
	size_t n = strlen(s), o = 4;
	cap_value_t v;

	if (n == 0 || n > 40)
		return -1;
	if (strncasecmp(s, "cap_", 4) == 0)
		s += 4;
	if (!isalpha((unsigned char)*s))
		return -1;       /* no numbers: cap_from_name would take "21" */
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && *s != '_')
			return -1;
		name[o++] = (char)tolower((unsigned char)*s);
	}
	name[o] = '\0';
	return cap_from_name(name, &v) == 0 ? (int)v : -1;
}

/* ---- includes / excludes ------------------------------------------------------------- */

struct filter {
	bool caps_given, arches_given, kernel_given;
	bool all_caps, any_cap, arch_match, kernel_ge;
};

static int parse_filter(struct parser *ps, const json_t *obj, const char *path, struct filter *f)
{
	const json_t *caps, *arches, *v;
	const char *kernel;
	char p[160], q[96];
	size_t i;
	int rc;

	memset(f, 0, sizeof(*f));
	if (!obj)
		return 0;
	snprintf(p, sizeof(p), "%s.caps", path);
	if ((rc = get_strings(ps, obj, "caps", p, &caps)) < 0)
		return rc;
	f->caps_given = caps && json_array_size(caps);
	f->all_caps = true;
	json_array_foreach(caps, i, v) {
		int cap = cap_number(json_string_value(v));
		bool have;

		if (cap < 0) {
			snprintf(p, sizeof(p), "%s.caps[%zu]", path, i);
			return perr(ps, p, "unknown capability %s", quote(json_string_value(v), q, sizeof(q)));
		}
		have = cap < 64 && (ps->ctx.bounding >> cap & 1);
		f->all_caps &= have;
		f->any_cap |= have;
	}
	snprintf(p, sizeof(p), "%s.arches", path);
	if ((rc = get_strings(ps, obj, "arches", p, &arches)) < 0)
		return rc;
	f->arches_given = arches && json_array_size(arches);
	/* names of other machines need not be known here: they only never match */
	json_array_foreach(arches, i, v)
		for (size_t k = 0; ps->native_names && k < 4 && ps->native_names[k]; k++)
			if (!strcasecmp(json_string_value(v), ps->native_names[k]))
				f->arch_match = true;
	snprintf(p, sizeof(p), "%s.minKernel", path);
	if ((rc = get_string(ps, obj, "minKernel", p, &kernel)) < 0)
		return rc;
	if (kernel) {
		unsigned maj, min, pat;
		size_t dots = 0, k;

		/* "4.8" or "4.8.0", nothing else */
		for (k = 0; kernel[k] && (isdigit((unsigned char)kernel[k]) || kernel[k] == '.'); k++)
			dots += kernel[k] == '.';
		if (kernel[k] || dots < 1 || dots > 2 || strstr(kernel, "..") || kernel[k - 1] == '.' ||
		    sc_kernel_version_parse(kernel, &maj, &min, &pat) < 0)
			return perr(ps, p, "invalid kernel version %s (expected major.minor, like \"4.8\")",
				    quote(kernel, q, sizeof(q)));
		f->kernel_given = true;
		f->kernel_ge = ps->ctx.kernel.major != maj ? ps->ctx.kernel.major > maj :
			       ps->ctx.kernel.minor != min ? ps->ctx.kernel.minor > min :
			       ps->ctx.kernel.patch >= pat;
	}
	return 0;
}

/* moby's rule: used only when every included cap is in the bounding set, the
 * native arch is among the included arches and the kernel is new enough;
 * skipped when any excluded cap is there, the arch is excluded, or the
 * kernel is at least excludes.minKernel. */
static bool rule_applies(const struct filter *inc, const struct filter *exc)
{
	if ((exc->arches_given && exc->arch_match) || (exc->caps_given && exc->any_cap) ||
	    (exc->kernel_given && exc->kernel_ge))
		return false;
	if ((inc->arches_given && !inc->arch_match) || (inc->caps_given && !inc->all_caps) ||
	    (inc->kernel_given && !inc->kernel_ge))
		return false;
	return true;
}

/* ---- syscalls[] ------------------------------------------------------------------------- */

static bool valid_syscall_name(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '_')
			return false;
	return n > 0 && n <= 64;
}

static int parse_names(struct parser *ps, const json_t *sc, const char *rp, char ***names)
{
	const json_t *list, *v;
	const char *one;
	char p[96], q[96];
	size_t i;
	int rc;

	snprintf(p, sizeof(p), "%s.names", rp);
	if ((rc = get_strings(ps, sc, "names", p, &list)) < 0)
		return rc;
	snprintf(p, sizeof(p), "%s.name", rp);
	if ((rc = get_string(ps, sc, "name", p, &one)) < 0)
		return rc;
	if (one && list)
		return perr(ps, rp, "gives both name and names");
	if (!one && !list)
		return perr(ps, rp, "no syscall names (names)");
	if (one) {
		if (!valid_syscall_name(one))
			return perr(ps, p, "invalid syscall name %s", quote(one, q, sizeof(q)));
		strv_push(names, one);
	}
	json_array_foreach(list, i, v) {
		const char *s = json_string_value(v);

		if (!valid_syscall_name(s)) {
			snprintf(p, sizeof(p), "%s.names[%zu]", rp, i);
			return perr(ps, p, "invalid syscall name %s", quote(s, q, sizeof(q)));
		}
		strv_push(names, s);
	}
	return 0;
}

static int parse_args(struct parser *ps, const json_t *sc, const char *rp, struct sc_rule *r)
{
	const json_t *args = json_object_get(sc, "args"), *a;
	char p[96], fp[128];
	size_t i;
	int rc;

	if (!args || json_is_null(args))
		return 0;
	snprintf(p, sizeof(p), "%s.args", rp);
	if (!json_is_array(args))
		return perr(ps, p, "expected an array of objects");
	if (json_array_size(args) > 6 * 8)
		return perr(ps, p, "%zu conditions (at most 48)", json_array_size(args));
	r->args = xcalloc(json_array_size(args) + 1, sizeof(*r->args));
	json_array_foreach(args, i, a) {
		struct sc_arg *arg = &r->args[r->nargs++];
		const json_t *v;
		const char *op;
		uint64_t n;

		snprintf(p, sizeof(p), "%s.args[%zu]", rp, i);
		if (!json_is_object(a))
			return perr(ps, p, "expected an object");
		snprintf(fp, sizeof(fp), "%s.index", p);
		if (!(v = json_object_get(a, "index")) || json_is_null(v))
			return perr(ps, fp, "missing");
		if ((rc = get_uint(ps, v, fp, UINT64_MAX, &n)) < 0)
			return rc;
		if (n > 5)
			return perr(ps, fp, "%llu is not an argument index (0 to 5)", (unsigned long long)n);
		arg->index = (unsigned)n;
		snprintf(fp, sizeof(fp), "%s.value", p);
		if (!(v = json_object_get(a, "value")) || json_is_null(v))
			return perr(ps, fp, "missing");
		if ((rc = get_uint(ps, v, fp, UINT64_MAX, &arg->value)) < 0)
			return rc;
		snprintf(fp, sizeof(fp), "%s.valueTwo", p);
		if ((v = json_object_get(a, "valueTwo")) && !json_is_null(v) &&
		    (rc = get_uint(ps, v, fp, UINT64_MAX, &arg->value_two)) < 0)
			return rc;
		snprintf(fp, sizeof(fp), "%s.op", p);
		if ((rc = get_string(ps, a, "op", fp, &op)) < 0 || (rc = parse_op(ps, op, fp, &arg->op)) < 0)
			return rc;
	}
	/* the AND of several conditions on one argument must stay compilable */
	{
		struct sc_alt *alts = NULL;
		size_t n;

		rc = sc_rule_alternatives(r, false, &alts, &n, ps->err);
		free(alts);
		alts = NULL;
		if (rc == 0)
			rc = sc_rule_alternatives(r, true, &alts, &n, ps->err);
		free(alts);
		if (rc < 0)
			return nerr_prefix(ps->err, "%s.args", rp);
	}
	return 0;
}

static void note_unknown(struct parser *ps, char *const *names)
{
	for (size_t i = 0; names && names[i]; i++)
		if (seccomp_syscall_resolve_name(names[i]) == __NR_SCMP_ERROR &&
		    !strv_contains(ps->out->unknown, names[i]))
			strv_push(&ps->out->unknown, names[i]);
}

static int parse_rule(struct parser *ps, const json_t *sc, size_t idx)
{
	struct sc_rule r = { 0 };
	const json_t *inc_obj, *exc_obj;
	struct filter inc, exc;
	const char *action, *comment;
	char rp[48], p[96];
	int rc;

	snprintf(rp, sizeof(rp), "syscalls[%zu]", idx);
	if (!json_is_object(sc))
		return perr(ps, rp, "expected an object");
	if ((rc = parse_names(ps, sc, rp, &r.names)) < 0)
		goto fail;
	snprintf(p, sizeof(p), "%s.action", rp);
	if ((rc = get_string(ps, sc, "action", p, &action)) < 0 ||
	    (rc = parse_action(ps, action, p, &r.action)) < 0)
		goto fail;
	snprintf(p, sizeof(p), "%s.errnoRet", rp);
	if ((rc = parse_errno_ret(ps, sc, "errnoRet", p, &r.action)) < 0)
		goto fail;
	snprintf(p, sizeof(p), "%s.comment", rp);
	if ((rc = get_string(ps, sc, "comment", p, &comment)) < 0)   /* a string, if given */
		goto fail;
	(void)comment;
	if ((rc = parse_args(ps, sc, rp, &r)) < 0)
		goto fail;
	snprintf(p, sizeof(p), "%s.includes", rp);
	if ((rc = get_object(ps, sc, "includes", p, &inc_obj)) < 0 ||
	    (rc = parse_filter(ps, inc_obj, p, &inc)) < 0)
		goto fail;
	snprintf(p, sizeof(p), "%s.excludes", rp);
	if ((rc = get_object(ps, sc, "excludes", p, &exc_obj)) < 0 ||
	    (rc = parse_filter(ps, exc_obj, p, &exc)) < 0)
		goto fail;
	if (!rule_applies(&inc, &exc) || !r.names) {
		rc = 0;
		goto fail;          /* not an error: the rule is simply not used */
	}
	note_unknown(ps, r.names);
	ps->out->rules = xrealloc(ps->out->rules, (ps->out->nrules + 1) * sizeof(r));
	ps->out->rules[ps->out->nrules++] = r;
	return 0;
fail:
	strv_free(r.names);
	free(r.args);
	return rc;
}

/* ---- integers above INT64_MAX ---------------------------------------------------------
 * Argument values are unsigned 64-bit, jansson's integers signed 64-bit. A
 * literal between 2^63 and 2^64-1 (19 or 20 digits) in a value position is
 * rewritten, before parsing, to a string of the same length: the mark byte,
 * 16 hex digits, quotes. Same length keeps every line:column exact. Only
 * done when the text has no mark byte, so a marked string is always ours. */
static char *rewrite_big_integers(const char *text, size_t len)
{
	char *copy = NULL;

	if (memchr(text, BIGINT_MARK, len))
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t j = i, k;
		unsigned long long v = 0;
		bool overflow = false;

		if (text[i] == '"') {
			for (j = i + 1; j < len && text[j] != '"'; j++)
				if (text[j] == '\\')
					j++;
			i = j + 1;
			continue;
		}
		if (!isdigit((unsigned char)text[i]) && text[i] != '-') {
			i++;
			continue;
		}
		while (j < len && (isdigit((unsigned char)text[j]) || strchr("+-.eE", text[j])))
			j++;
		/* a plain integer of 19 or 20 digits, no leading zero, not a key */
		for (k = j; k < len && strchr(" \t\r\n", text[k]); k++)
			;
		if ((j - i == 19 || j - i == 20) && text[i] != '0' && (k == len || text[k] != ':')) {
			size_t d;

			for (d = i; d < j && isdigit((unsigned char)text[d]); d++) {
				unsigned c = (unsigned)(text[d] - '0');

				if (v > (UINT64_MAX - c) / 10)
					overflow = true;
				v = v * 10 + c;
			}
			if (d == j && !overflow && v > INT64_MAX) {
				if (!copy) {
					copy = xmalloc(len + 1);
					memcpy(copy, text, len);
					copy[len] = '\0';
				}
				copy[i] = '"';
				memset(copy + i + 1, BIGINT_MARK, j - i - 18);
				snprintf(copy + j - 17, 18, "%016llx", v);
				copy[j - 1] = '"';
			}
		}
		i = j;
	}
	return copy;
}

/* ---- the document --------------------------------------------------------------------- */

static int parse_document(struct parser *ps, const json_t *root)
{
	const json_t *syscalls, *v;
	const char *def;
	size_t i;
	int rc;

	if (!json_is_object(root))
		return nerr_set(ps->err, 0, "expected a JSON object at the top level");
	if ((rc = get_string(ps, root, "defaultAction", "defaultAction", &def)) < 0 ||
	    (rc = parse_action(ps, def, "defaultAction", &ps->out->default_action)) < 0 ||
	    (rc = parse_errno_ret(ps, root, "defaultErrnoRet", "defaultErrnoRet",
				  &ps->out->default_action)) < 0)
		return rc;
	if ((rc = parse_arches(ps, root)) < 0 || (rc = parse_flags(ps, root)) < 0)
		return rc;
	syscalls = json_object_get(root, "syscalls");
	if (!syscalls || json_is_null(syscalls))
		return 0;
	if (!json_is_array(syscalls))
		return perr(ps, "syscalls", "expected an array of objects");
	json_array_foreach(syscalls, i, v)
		if ((rc = parse_rule(ps, v, i)) < 0)
			return rc;
	return 0;
}

int sc_profile_load_oci(const char *json_text, size_t len, const struct sc_context *ctx,
			struct sc_profile *out, struct nerr *err)
{
	_cleanup_free_ char *rewritten = NULL;
	struct parser ps = { .out = out, .err = err };
	json_error_t je;
	json_t *root;
	int rc;

	parse_count++;
	memset(out, 0, sizeof(*out));
	sc_context_resolve(ctx, &ps.ctx);
	for (size_t i = 0; i < ARRAY_SIZE(arch_names); i++)
		if (seccomp_arch_resolve_name(arch_names[i].scmp) == ps.ctx.arch && ps.ctx.arch)
			ps.native_names = arch_names[i].docker;
	rewritten = rewrite_big_integers(json_text, len);
	root = json_loadb(rewritten ? rewritten : json_text, len,
			  JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		/* jansson quotes the input "near" the error, newlines included */
		char text[sizeof(je.text) * 4];
		size_t o = 0;

		for (const char *c = je.text; *c && o + 5 < sizeof(text); c++)
			o += (unsigned char)*c < 0x20 || *c == 0x7f
				     ? (size_t)snprintf(text + o, sizeof(text) - o, "\\x%02x", (unsigned char)*c)
				     : (size_t)snprintf(text + o, sizeof(text) - o, "%c", *c);
		text[o] = '\0';
		return nerr_set(err, 0, "%d:%d: %s", je.line, je.column, text);
	}
	rc = parse_document(&ps, root);
	json_decref(root);
	if (rc < 0)
		sc_profile_free(out);
	return rc;
}

int sc_profile_load_oci_file(const char *path, const struct sc_context *ctx,
			     struct sc_profile *out, struct nerr *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = read_file(path, PROFILE_MAX_BYTES, &text, &len)) < 0)
		return nerr_set(err, -rc, "seccomp profile `%s`", path);
	if ((rc = sc_profile_load_oci(text, len, ctx, out, err)) < 0)
		return nerr_prefix(err, "seccomp profile `%s`", path);
	return 0;
}

/* ---- prepare: the cache first, the parser only on a miss ------------------------------- */

struct oci_source {
	const char *text, *name;
	size_t len;
	const struct sc_context *ctx;
};

static int compile_oci(void *arg, unsigned flags, struct sc_program *out, char ***unknown,
		       struct nerr *err)
{
	const struct oci_source *src = arg;
	struct sc_profile p;
	int rc;

	*unknown = NULL;
	if ((rc = sc_profile_load_oci(src->text, src->len, src->ctx, &p, err)) < 0)
		return src->name ? nerr_prefix(err, "seccomp profile `%s`", src->name) : rc;
	if ((rc = sc_program_compile_guarded(&p, flags, out, err)) < 0) {
		sc_profile_free(&p);
		return src->name ? nerr_prefix(err, "seccomp profile `%s`", src->name) : rc;
	}
	*unknown = steal_ptr(p.unknown);
	sc_profile_free(&p);
	return 0;
}

int sc_program_prepare_oci(const char *json_text, size_t len, const char *name,
			   const struct sc_context *ctx, unsigned flags,
			   struct sc_program *out, char ***unknown, struct nerr *err)
{
	struct sc_context c;
	struct oci_source src = { .text = json_text, .name = name, .len = len, .ctx = &c };
	struct sha256 s;
	char buf[256], digest[65], key[65];

	memset(out, 0, sizeof(*out));
	if (unknown)
		*unknown = NULL;
	sc_context_resolve(ctx, &c);
	sha256_hex(json_text, len, digest);
	sc_key_env(&s, flags & ~(SC_PREPARE_VERIFY | SC_PREPARE_NO_CACHE));
	snprintf(buf, sizeof(buf), "oci parser=%d nucleus=%s bounding=%016llx arch=%u kernel=%u.%u.%u "
		 "profile=%s\n", SC_OCI_PARSER_REV, NUCLEUS_VERSION, (unsigned long long)c.bounding,
		 c.arch, c.kernel.major, c.kernel.minor, c.kernel.patch, digest);
	sha256_update(&s, buf, strlen(buf));
	sc_key_final(&s, key);
	return sc_prepare_cached(key, digest, flags, compile_oci, &src, out, unknown, err);
}

int sc_program_prepare_file(const char *path, const struct sc_context *ctx, unsigned flags,
			    struct sc_program *out, char ***unknown, struct nerr *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (unknown)
		*unknown = NULL;
	if ((rc = read_file(path, PROFILE_MAX_BYTES, &text, &len)) < 0)
		return nerr_set(err, -rc, "seccomp profile `%s`", path);
	return sc_program_prepare_oci(text, len, path, ctx, flags, out, unknown, err);
}
