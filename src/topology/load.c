/* topology.toml -> struct topology. Every key is known and typed; each
 * service's keys become `nucleus run` flags, parsed by the CLI's own parser
 * (the callback), so a service is exactly the container `run` would make.
 * Every error is one line, "FILE:LINE: KEY: message". */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <jansson.h>
#include "internal.h"

#define TOPOLOGY_FILE_MAX (1u << 20)

struct loader {
	const char *file;
	char *dir;                   /* the file's directory, absolute */
	struct topology *t;
	topo_parse_args_fn parse;
	struct nerr *err;
};

#define Q(s) str_printable((s), (char[96]){ 0 }, 96)

__attribute__((format(printf, 4, 5)))
static int fail(struct loader *L, int line, const char *key, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return nerr_set(L->err, 0, "%s:%d: %s: %s", L->file, line, Q(key), msg);
}

static const char *type_name(const struct toml_value *v)
{
	switch (v->type) {
	case TOML_STRING: return "a string";
	case TOML_INTEGER: return "an integer";
	case TOML_FLOAT: return "a float";
	case TOML_BOOL: return "a boolean";
	case TOML_ARRAY: return "an array";
	case TOML_TABLE: return "a table";
	default: return "a date or time";
	}
}

static int wrong_type(struct loader *L, const struct toml_keyval *kv, const struct toml_value *v, const char *want)
{
	return fail(L, v->line ? v->line : kv->line, kv->key, "expected %s, not %s", want, type_name(v));
}

/* A string value without NUL bytes (they would cut it short unseen). */
static int get_str(struct loader *L, const struct toml_keyval *kv, const struct toml_value *v, const char **out)
{
	if (v->type != TOML_STRING)
		return wrong_type(L, kv, v, "a string");
	if (strlen(v->u.str.ptr) != v->u.str.len)
		return fail(L, v->line, kv->key, "a NUL byte in the string");
	*out = v->u.str.ptr;
	return 0;
}

static bool key_ok(const struct toml_keyval *kv)
{
	return strlen(kv->key) == kv->key_len;
}

/* docker's container names: [a-zA-Z0-9][a-zA-Z0-9_.-]*; `max` characters. */
static bool valid_name(const char *s, size_t max)
{
	if (!*s || strlen(s) > max)
		return false;
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '.' || *p == '-'))
			return false;
	return true;
}

/* An integer or a float as `run` takes it: "2", "0.5" (no exponent, no
 * trailing zeros). */
static char *format_number(const struct toml_value *v)
{
	char buf[64];
	size_t n;

	if (v->type == TOML_INTEGER)
		return xasprintf("%lld", (long long)v->u.integer);
	snprintf(buf, sizeof(buf), "%.6f", v->u.fp);
	if (!strchr(buf, '.'))
		return xstrdup(buf);     /* inf, nan: the flag's parser refuses them */
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (buf[n - 1] == '.')
		buf[n - 1] = '\0';
	return xstrdup(buf);
}

static char *resolve_path(struct loader *L, const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		for (p += 2; *p == '/'; p++)
			;
	return p[0] == '/' || !p[0] ? xstrdup(p) : xasprintf("%s/%s", L->dir, p);
}

/* ---- the argv of a service, each element knowing the key it came from ---- */
struct args {
	char **v;
	const char **key;
	int *line;
	size_t n, cap;
};

static void arg_take(struct args *a, const char *key, int line, char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 32;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
		a->key = xrealloc(a->key, a->cap * sizeof(*a->key));
		a->line = xrealloc(a->line, a->cap * sizeof(*a->line));
	}
	a->v[a->n] = s;
	a->key[a->n] = key;
	a->line[a->n] = line;
	a->v[++a->n] = NULL;
}

static void arg(struct args *a, const char *key, int line, const char *s)
{
	arg_take(a, key, line, xstrdup(s));
}

static void args_free(struct args *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	free(a->key);
	free(a->line);
}

/* ---- [networks.NAME] ----------------------------------------------------------------- */

static bool overlap(const struct cidr *a, const struct cidr *b)
{
	return a->family && b->family && (cidr_contains(a, b) || cidr_contains(b, a));
}

static int load_network(struct loader *L, const struct toml_keyval *nkv, struct topo_network *n)
{
	const struct toml_value *tab = nkv->value;
	struct bridge_config scratch;
	bool have4 = false;
	int r = 0;

	n->name = xstrdup(nkv->key);
	n->line = nkv->line;
	if (!key_ok(nkv) || !valid_name(nkv->key, 63))
		return fail(L, nkv->line, "networks", "invalid network name `%s`: [a-zA-Z0-9][a-zA-Z0-9_.-]*, "
			    "at most 63 characters", Q(nkv->key));
	if (tab->type != TOML_TABLE)
		return wrong_type(L, nkv, tab, "a table");
	topology_bridge_name(L->t->name, n->name, n->bridge);
	/* the checks of --subnet, on a configuration of our own */
	bridge_config_init(&scratch);
	for (size_t i = 0; i < tab->u.table.len && r == 0; i++) {
		const struct toml_keyval *kv = &tab->u.table.items[i];
		const char *s;
		struct nerr e = { 0 };
		bool six = !strcmp(kv->key, "subnet6");

		if (!key_ok(kv) || (strcmp(kv->key, "subnet") && !six)) {
			r = fail(L, kv->line, kv->key, "unknown key in [networks.%s] (subnet, subnet6)", Q(n->name));
			break;
		}
		if ((r = get_str(L, kv, kv->value, &s)) < 0)
			break;
		if (bridge_config_add_subnet(&scratch, s, &e) < 0) {
			r = fail(L, kv->value->line, kv->key, "%s", e.msg);
			break;
		}
		if (six ? !scratch.subnet6_set : !scratch.subnet4_set) {
			r = fail(L, kv->value->line, kv->key, "`%s` is an %s subnet: %s", Q(s), six ? "IPv4" : "IPv6",
				 six ? "subnet6 is the IPv6 one" : "subnet is the IPv4 one (subnet6 the IPv6 one)");
			break;
		}
		if (six)
			n->subnet6 = scratch.subnet6;
		else {
			n->subnet4 = scratch.subnet4;
			have4 = true;
		}
	}
	bridge_config_free(&scratch);
	if (r == 0 && !have4)
		r = fail(L, nkv->line, "subnet", "[networks.%s] needs an IPv4 subnet (subnet = \"10.42.0.0/24\")",
			 Q(n->name));
	return r;
}

static int check_overlaps(struct loader *L)
{
	struct topology *t = L->t;

	for (size_t i = 0; i < t->nnetworks; i++)
		for (size_t j = 0; j < i; j++) {
			const struct topo_network *a = &t->networks[j], *b = &t->networks[i];
			const struct cidr *x = NULL, *y = NULL;
			char sa[64], sb[64];

			if (overlap(&a->subnet4, &b->subnet4))
				x = &a->subnet4, y = &b->subnet4;
			else if (overlap(&a->subnet6, &b->subnet6))
				x = &a->subnet6, y = &b->subnet6;
			if (!x)
				continue;
			cidr_format(x, sa, sizeof(sa));
			cidr_format(y, sb, sizeof(sb));
			return fail(L, b->line, x->family == 4 ? "subnet" : "subnet6",
				    "network `%s`'s subnet %s overlaps network `%s`'s %s (line %d)", b->name, sb, a->name,
				    sa, a->line);
		}
	return 0;
}

/* ---- [volumes.NAME] ------------------------------------------------------------------- */

static int parse_owner(const char *s, uid_t *uid, gid_t *gid)
{
	const char *colon = strchr(s, ':');
	_cleanup_free_ char *u = colon ? strndup(s, (size_t)(colon - s)) : xstrdup(s);
	uint64_t a, b;

	if (!u || parse_u64(u, 0, UINT32_MAX - 1, &a) < 0)
		return -EINVAL;
	b = a;
	if (colon && parse_u64(colon + 1, 0, UINT32_MAX - 1, &b) < 0)
		return -EINVAL;
	*uid = (uid_t)a;
	*gid = (gid_t)b;
	return 0;
}

static int load_volume(struct loader *L, const struct toml_keyval *vkv, struct topo_volume *v)
{
	const struct toml_value *tab = vkv->value;
	const struct toml_keyval *type = NULL, *path = NULL, *owner = NULL, *size = NULL;
	const char *s;
	int r;

	v->name = xstrdup(vkv->key);
	v->line = vkv->line;
	if (!key_ok(vkv) || !valid_name(vkv->key, 63))
		return fail(L, vkv->line, "volumes", "invalid volume name `%s`: [a-zA-Z0-9][a-zA-Z0-9_.-]*, "
			    "at most 63 characters", Q(vkv->key));
	if (tab->type != TOML_TABLE)
		return wrong_type(L, vkv, tab, "a table");
	for (size_t i = 0; i < tab->u.table.len; i++) {
		const struct toml_keyval *kv = &tab->u.table.items[i];

		if (!key_ok(kv))
			return fail(L, kv->line, kv->key, "unknown key in [volumes.%s]", Q(v->name));
		if (!strcmp(kv->key, "volume_type"))
			type = kv;
		else if (!strcmp(kv->key, "path"))
			path = kv;
		else if (!strcmp(kv->key, "owner"))
			owner = kv;
		else if (!strcmp(kv->key, "size"))
			size = kv;
		else
			return fail(L, kv->line, kv->key, "unknown key in [volumes.%s] (volume_type, path, owner, size)",
				    Q(v->name));
	}
	if (!type)
		return fail(L, vkv->line, "volume_type", "[volumes.%s] needs volume_type = \"persistent\" or "
			    "\"ephemeral\"", Q(v->name));
	if ((r = get_str(L, type, type->value, &s)) < 0)
		return r;
	if (!strcmp(s, "persistent"))
		v->type = TOPO_VOLUME_PERSISTENT;
	else if (!strcmp(s, "ephemeral"))
		v->type = TOPO_VOLUME_EPHEMERAL;
	else
		return fail(L, type->value->line, "volume_type", "`%s`: expected persistent or ephemeral", Q(s));
	if (v->type == TOPO_VOLUME_PERSISTENT) {
		if (size)
			return fail(L, size->line, "size", "a persistent volume has no size (a tmpfs has: ephemeral)");
		if (!path)
			return fail(L, vkv->line, "path", "a persistent volume needs the host directory: path = \"/...\"");
		if ((r = get_str(L, path, path->value, &s)) < 0)
			return r;
		if (s[0] != '/')
			return fail(L, path->value->line, "path", "`%s` is not an absolute path", Q(s));
		if (strstr(s, ":"))
			return fail(L, path->value->line, "path", "`%s`: a `:` cannot be in a volume's path", Q(s));
		v->path = xstrdup(s);
		if (owner) {
			if ((r = get_str(L, owner, owner->value, &s)) < 0)
				return r;
			if (parse_owner(s, &v->uid, &v->gid) < 0)
				return fail(L, owner->value->line, "owner", "`%s`: expected UID:GID (numbers)", Q(s));
			v->owner_set = true;
		}
	} else {
		if (path)
			return fail(L, path->line, "path", "an ephemeral volume is a tmpfs: it has no host path");
		if (owner)
			return fail(L, owner->line, "owner", "an ephemeral volume is a tmpfs: it has no owner");
		if (size) {
			if (size->value->type == TOML_INTEGER && size->value->u.integer >= 0)
				v->size = (uint64_t)size->value->u.integer;
			else if ((r = get_str(L, size, size->value, &s)) < 0)
				return r;
			else if (parse_size(s, &v->size) < 0)
				return fail(L, size->value->line, "size", "`%s`: expected a size such as 64M or 1G", Q(s));
			if (v->size < 4096)
				return fail(L, size->value->line, "size", "at least 4K");
		}
	}
	return 0;
}

/* ---- [services.NAME] -------------------------------------------------------------------- */

enum kind {
	K_STR,        /* a string */
	K_SCALAR,     /* a string or an integer */
	K_INT,        /* an integer */
	K_NUM,        /* an integer or a float */
	K_DURATION,   /* a string ("1m30s") or a number of seconds */
	K_BOOL,       /* true: the flag (no value) */
	K_STRV,       /* an array of strings (or integers): the flag for each */
	K_INTV,       /* an array of integers */
	K_PROBE,      /* a string (sh -c) or an array (exec form, as JSON) */
	K_PATH,       /* a string, a path relative to the file's directory */
	K_POLICY,     /* a K_PATH whose content counts in the hash */
	K_SPECIAL,
};

struct key_def {
	const char *key;
	enum kind kind;
	const char *flag;
};

static const struct key_def service_keys[] = {
	{ "rootfs", K_PATH, "--rootfs" },
	{ "command", K_SPECIAL, NULL },
	{ "runtime", K_STR, "--runtime" },
	{ "gvisor_platform", K_STR, "--gvisor-platform" },
	{ "trust_level", K_STR, "--trust-level" },
	{ "service_mode", K_STR, "--service-mode" },
	{ "memory", K_SCALAR, "--memory" },
	{ "cpus", K_NUM, "--cpus" },
	{ "cpu_weight", K_INT, "--cpu-weight" },
	{ "pids", K_INT, "--pids" },
	{ "swap", K_BOOL, "--swap" },
	{ "tmpfs_size", K_SCALAR, "--tmpfs-size" },
	{ "limits", K_STR, "--limits" },
	{ "networks", K_SPECIAL, NULL },
	{ "volumes", K_SPECIAL, NULL },
	{ "port_forwards", K_STRV, "-p" },
	{ "egress_allow", K_SPECIAL, "--egress-allow" },
	{ "egress_tcp_ports", K_INTV, "--egress-tcp-port" },
	{ "egress_udp_ports", K_INTV, "--egress-udp-port" },
	{ "dns", K_STRV, "--dns" },
	{ "dns_search", K_STRV, "--dns-search" },
	{ "add_hosts", K_STRV, "--add-host" },
	{ "health_check", K_PROBE, "--health-cmd" },
	{ "health_interval", K_DURATION, "--health-interval" },
	{ "health_timeout", K_DURATION, "--health-timeout" },
	{ "health_retries", K_INT, "--health-retries" },
	{ "health_start_period", K_DURATION, "--health-start-period" },
	{ "health_start_interval", K_DURATION, "--health-start-interval" },
	{ "health_on_failure", K_STR, "--health-on-failure" },
	{ "readiness_check", K_PROBE, "--readiness-cmd" },
	{ "readiness_tcp", K_INT, "--readiness-tcp" },
	{ "restart", K_STR, "--restart" },
	{ "environment", K_SPECIAL, "-e" },
	{ "user", K_SCALAR, "--user" },
	{ "group", K_SCALAR, "--group" },
	{ "additional_groups", K_STRV, "--additional-group" },
	{ "workdir", K_STR, "--workdir" },
	{ "hostname", K_STR, "--hostname" },
	{ "init", K_BOOL, "--init" },
	{ "userns", K_BOOL, "--userns" },
	{ "secrets", K_SPECIAL, "--secret" },
	{ "caps_policy", K_POLICY, "--caps-policy" },
	{ "caps_policy_sha256", K_STR, "--caps-policy-sha256" },
	{ "landlock_policy", K_POLICY, "--landlock-policy" },
	{ "landlock_policy_sha256", K_STR, "--landlock-policy-sha256" },
	{ "seccomp_profile", K_POLICY, "--seccomp-profile" },
	{ "seccomp_profile_sha256", K_STR, "--seccomp-profile-sha256" },
	{ "seccomp_log_denied", K_BOOL, "--seccomp-log-denied" },
	{ "audit", K_BOOL, "--audit" },
	{ "allow_degraded_security", K_BOOL, "--allow-degraded-security" },
	{ "verify_rootfs_attestation", K_BOOL, "--verify-rootfs-attestation" },
	{ "rootfs_attestation_sha256", K_STR, "--rootfs-attestation-sha256" },
	{ "no_rootfs_attestation", K_BOOL, "--no-rootfs-attestation" },
	{ "log_opts", K_STRV, "--log-opt" },
	{ "depends_on", K_SPECIAL, NULL },
};

static const struct key_def *service_key(const struct toml_keyval *kv)
{
	if (!key_ok(kv))
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(service_keys); i++)
		if (!strcmp(service_keys[i].key, kv->key))
			return &service_keys[i];
	return NULL;
}

/* The value of one element of an array key (or of a scalar key). */
static int scalar(struct loader *L, const struct toml_keyval *kv, const struct toml_value *v, bool ints, bool strs,
		  bool floats, char **out)
{
	const char *s;
	int r;

	if (strs && v->type == TOML_STRING) {
		if ((r = get_str(L, kv, v, &s)) < 0)
			return r;
		*out = xstrdup(s);
		return 0;
	}
	if ((ints && v->type == TOML_INTEGER) || (floats && (v->type == TOML_INTEGER || v->type == TOML_FLOAT))) {
		*out = format_number(v);
		return 0;
	}
	return wrong_type(L, kv, v, strs && (ints || floats) ? "a string or a number" : strs ? "a string" :
			  floats ? "a number" : "an integer");
}

static int array_of(struct loader *L, const struct toml_keyval *kv, const char *what)
{
	return kv->value->type == TOML_ARRAY ? 0 : wrong_type(L, kv, kv->value, what);
}

static int probe_arg(struct loader *L, const struct toml_keyval *kv, char **out)
{
	const struct toml_value *v = kv->value;
	json_t *a;
	const char *s;
	int r;

	if (v->type == TOML_STRING)
		return scalar(L, kv, v, false, true, false, out);
	if (v->type != TOML_ARRAY)
		return wrong_type(L, kv, v, "a string (run with /bin/sh -c) or an array of strings");
	if (v->u.array.len == 0)
		return fail(L, v->line, kv->key, "an empty command");
	a = json_array();
	for (size_t i = 0; i < v->u.array.len; i++) {
		if ((r = get_str(L, kv, v->u.array.items[i], &s)) < 0) {
			json_decref(a);
			return r;
		}
		json_array_append_new(a, json_string(s));
	}
	*out = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return *out ? 0 : nerr_set(L->err, ENOMEM, "%s: %s", L->file, kv->key);
}

static const struct topo_network *find_network(const struct topology *t, const char *name)
{
	for (size_t i = 0; i < t->nnetworks; i++)
		if (!strcmp(t->networks[i].name, name))
			return &t->networks[i];
	return NULL;
}

static const struct topo_volume *find_volume(const struct topology *t, const char *name)
{
	for (size_t i = 0; i < t->nvolumes; i++)
		if (!strcmp(t->volumes[i].name, name))
			return &t->volumes[i];
	return NULL;
}

static int service_networks(struct loader *L, struct topo_service *svc, const struct toml_keyval *kv, struct args *a)
{
	const struct toml_value *v = kv->value;
	const struct topo_network *n;
	const char *s;
	char cidr[64];
	int r;

	if ((r = array_of(L, kv, "an array of network names")) < 0)
		return r;
	if (v->u.array.len > 1)
		return fail(L, v->u.array.items[1]->line, kv->key, "one network per service: a container has one "
			    "interface on one bridge (nucleus run cannot attach a second)");
	for (size_t i = 0; i < v->u.array.len; i++) {
		const struct toml_value *e = v->u.array.items[i];

		if ((r = get_str(L, kv, e, &s)) < 0)
			return r;
		if (!(n = find_network(L->t, s)))
			return fail(L, e->line, kv->key, "no network `%s` in [networks]", Q(s));
		strv_push(&svc->networks, s);
		arg(a, kv->key, e->line, "--network");
		arg(a, kv->key, e->line, "bridge");
		arg(a, kv->key, e->line, "--bridge");
		arg(a, kv->key, e->line, n->bridge);
		cidr_format(&n->subnet4, cidr, sizeof(cidr));
		arg(a, kv->key, e->line, "--subnet");
		arg(a, kv->key, e->line, cidr);
		if (n->subnet6.family) {
			cidr_format(&n->subnet6, cidr, sizeof(cidr));
			arg(a, kv->key, e->line, "--subnet");
			arg(a, kv->key, e->line, cidr);
		}
	}
	return 0;
}

/* "VOLUME:DEST[:OPTIONS]": -v PATH:DEST[:OPTIONS] or --tmpfs DEST:size=SIZE[,OPTIONS];
 * "/HOST/PATH:DEST[:OPTIONS]" (or ./ ../, relative to the file): -v as given. */
static int service_volumes(struct loader *L, struct topo_service *svc, const struct toml_keyval *kv, struct args *a)
{
	const struct toml_value *v = kv->value;
	int r;

	if ((r = array_of(L, kv, "an array of \"VOLUME:DEST[:OPTIONS]\"")) < 0)
		return r;
	for (size_t i = 0; i < v->u.array.len; i++) {
		const struct toml_value *e = v->u.array.items[i];
		const struct topo_volume *vol;
		const char *s, *colon, *opts;
		_cleanup_free_ char *name = NULL, *dest = NULL;

		if ((r = get_str(L, kv, e, &s)) < 0)
			return r;
		colon = strchr(s, ':');
		if (!colon || !colon[1])
			return fail(L, e->line, kv->key, "`%s`: expected VOLUME:DEST[:OPTIONS]", Q(s));
		name = strndup(s, (size_t)(colon - s));
		if (name[0] == '/' || str_has_prefix(name, "./") || str_has_prefix(name, "../")) {
			/* a host path, as docker compose's short syntax: a bind */
			_cleanup_free_ char *src = resolve_path(L, name);

			arg(a, kv->key, e->line, "-v");
			arg_take(a, kv->key, e->line, xasprintf("%s%s", src, colon));
			continue;
		}
		if (!(vol = find_volume(L->t, name)))
			return fail(L, e->line, kv->key, "no volume `%s` in [volumes]", Q(name));
		opts = strchr(colon + 1, ':');
		dest = opts ? strndup(colon + 1, (size_t)(opts - colon - 1)) : xstrdup(colon + 1);
		if (vol->type == TOPO_VOLUME_PERSISTENT) {
			arg(a, kv->key, e->line, "-v");
			arg_take(a, kv->key, e->line, xasprintf("%s:%s", vol->path, colon + 1));
		} else {
			char size[32] = "";

			/* a tmpfs has size=, mode=, exec, noexec: ro would be a
			 * volume nothing can ever write */
			for (const char *o = opts ? opts + 1 : NULL; o && *o;) {
				size_t n = strcspn(o, ",");

				if ((n == 2 && !strncmp(o, "ro", 2)) || (n == 2 && !strncmp(o, "rw", 2)))
					return fail(L, e->line, kv->key, "`%s`: an ephemeral volume is a tmpfs, always "
						    "writable (options: mode=, exec, noexec)", Q(s));
				o += n + (o[n] == ',');
			}
			if (vol->size)
				format_size(vol->size, size, sizeof(size));
			arg(a, kv->key, e->line, "--tmpfs");
			arg_take(a, kv->key, e->line, xasprintf("%s%s%s%s%s%s", dest, size[0] || opts ? ":" : "",
								size[0] ? "size=" : "", size,
								size[0] && opts ? "," : "", opts ? opts + 1 : ""));
		}
		if (!strv_contains(svc->volumes, vol->name))
			strv_push(&svc->volumes, vol->name);
	}
	return 0;
}

/* A table KEY = "value" or an array of "KEY=VALUE"; each checked as -e is
 * (env_add), so a refused one is reported at its line. */
static int service_environment(struct loader *L, const struct toml_keyval *kv, struct args *a)
{
	const struct toml_value *v = kv->value;
	int r = 0;

	if (v->type == TOML_TABLE) {
		for (size_t i = 0; i < v->u.table.len; i++) {
			const struct toml_keyval *e = &v->u.table.items[i];
			_cleanup_free_ char *val = NULL;

			if (!key_ok(e) || !e->key[0] || strchr(e->key, '='))
				return fail(L, e->line, kv->key, "invalid variable name `%s`", Q(e->key));
			if (e->value->type == TOML_BOOL)
				val = xstrdup(e->value->u.boolean ? "true" : "false");
			else if ((r = scalar(L, e, e->value, true, true, true, &val)) < 0)
				return r;
			arg(a, kv->key, e->line, "-e");
			arg_take(a, kv->key, e->line, xasprintf("%s=%s", e->key, val));
		}
	} else if (v->type == TOML_ARRAY) {
		for (size_t i = 0; i < v->u.array.len; i++) {
			const char *s;

			if ((r = get_str(L, kv, v->u.array.items[i], &s)) < 0)
				return r;
			arg(a, kv->key, v->u.array.items[i]->line, "-e");
			arg(a, kv->key, v->u.array.items[i]->line, s);
		}
	} else {
		return wrong_type(L, kv, v, "a table (NAME = \"value\") or an array of \"NAME=VALUE\"");
	}
	/* -e's own check runs after every flag: it could not say which line */
	for (size_t i = 0; i < a->n; i++) {
		char **scratch = NULL;
		struct nerr e = { 0 };

		if (strcmp(a->key[i], kv->key) || strcmp(a->v[i], "-e"))
			continue;
		r = env_add(&scratch, a->v[i + 1], &e);
		strv_free(scratch);
		if (r < 0)
			return fail(L, a->line[i], kv->key, "%s", e.msg);
	}
	return 0;
}

static int service_depends(struct loader *L, struct topo_service *svc, const struct toml_keyval *kv)
{
	const struct toml_value *v = kv->value;
	int r;

	if ((r = array_of(L, kv, "an array of tables ([[services.NAME.depends_on]]) or of service names")) < 0)
		return r;
	svc->deps = xcalloc(v->u.array.len ? v->u.array.len : 1, sizeof(*svc->deps));
	for (size_t i = 0; i < v->u.array.len; i++) {
		const struct toml_value *e = v->u.array.items[i];
		struct topo_dep *d = &svc->deps[svc->ndeps];
		const char *s;

		d->line = e->line ? e->line : kv->line;
		if (e->type == TOML_STRING) {
			if ((r = get_str(L, kv, e, &s)) < 0)
				return r;
			d->service = xstrdup(s);
			svc->ndeps++;
			continue;
		}
		if (e->type != TOML_TABLE)
			return wrong_type(L, kv, e, "a table (service, condition) or a service name");
		svc->ndeps++;
		for (size_t k = 0; k < e->u.table.len; k++) {
			const struct toml_keyval *f = &e->u.table.items[k];

			if (key_ok(f) && !strcmp(f->key, "service")) {
				if ((r = get_str(L, f, f->value, &s)) < 0)
					return r;
				free(d->service);
				d->service = xstrdup(s);
			} else if (key_ok(f) && !strcmp(f->key, "condition")) {
				int c = TOPO_STARTED;

				if ((r = get_str(L, f, f->value, &s)) < 0)
					return r;
				while (c <= TOPO_COMPLETED && strcmp(s, topo_condition_name((enum topo_condition)c)))
					c++;
				if (c <= TOPO_COMPLETED)
					d->condition = (enum topo_condition)c;
				else
					return fail(L, f->value->line, "condition", "`%s`: expected started, healthy or "
						    "completed_successfully", Q(s));
			} else {
				return fail(L, f->line, f->key, "unknown key in depends_on (service, condition)");
			}
		}
		if (!d->service)
			return fail(L, d->line, "depends_on", "which service? (service = \"NAME\")");
	}
	return 0;
}

/* Where a configuration error the parser found belongs: the element the
 * flag parser stopped at (getopt's optind, one past it), else the first
 * flag the message names, else the service. */
static const char *mentions(const char *msg, const char *flag)
{
	size_t n = strlen(flag);

	for (const char *p = strstr(msg, flag); p; p = strstr(p + 1, flag)) {
		char before = p == msg ? ' ' : p[-1], after = p[n];

		if ((before == ' ' || before == '`' || before == '(' || before == ',') &&
		    !((after >= 'a' && after <= 'z') || (after >= '0' && after <= '9') || after == '-'))
			return p;
	}
	return NULL;
}

static int parse_error(struct loader *L, struct topo_service *svc, const struct args *a, size_t dashdash,
		       int stopped, const char *msg)
{
	const char *best = NULL;
	size_t at = 0;

	if (stopped >= 1 && (size_t)stopped - 1 < dashdash && (size_t)stopped - 1 >= 4)
		return fail(L, a->line[stopped - 1], a->key[stopped - 1], "%s", msg);
	for (size_t i = 4; i < dashdash; i++) {
		const char *p;

		static const char *const longs[][2] = { { "-p", "--publish" }, { "-v", "--volume" }, { "-e", "--env" } };
		const char *flag = a->v[i];

		if (flag[0] != '-')
			continue;
		for (size_t k = 0; k < ARRAY_SIZE(longs); k++)
			if (!strcmp(flag, longs[k][0]))
				flag = longs[k][1];
		if (!(p = mentions(msg, flag)) && !(p = mentions(msg, a->v[i])))
			continue;
		if (!best || p < best)
			best = p, at = i;
	}
	if (best)
		return fail(L, a->line[at], a->key[at], "%s", msg);
	return nerr_set(L->err, 0, "%s:%d: services.%s: %s", L->file, svc->line, svc->name, msg);
}

static int load_service(struct loader *L, const struct toml_keyval *skv, struct topo_service *svc)
{
	const struct toml_value *tab = skv->value, *command = NULL;
	struct args a = { 0 };
	_cleanup_free_ char *extra = NULL;
	size_t dashdash;
	int r = 0, stopped;
	struct nerr e = { 0 };

	svc->name = xstrdup(skv->key);
	svc->line = skv->line;
	container_config_init(&svc->cfg);
	if (!key_ok(skv) || !valid_name(skv->key, 63))
		return fail(L, skv->line, "services", "invalid service name `%s`: [a-zA-Z0-9][a-zA-Z0-9_.-]*",
			    Q(skv->key));
	if (strlen(L->t->name) + 1 + strlen(skv->key) > 63)
		return fail(L, skv->line, "services", "the container name `%s-%s` is longer than 63 characters",
			    L->t->name, skv->key);
	if (tab->type != TOML_TABLE)
		return wrong_type(L, skv, tab, "a table");
	arg(&a, "services", skv->line, "run");
	arg(&a, "services", skv->line, "-d");
	arg(&a, "services", skv->line, "--name");
	arg_take(&a, "services", skv->line, xasprintf("%s-%s", L->t->name, skv->key));
	for (size_t i = 0; i < tab->u.table.len && r == 0; i++) {
		const struct toml_keyval *kv = &tab->u.table.items[i];
		const struct key_def *k = service_key(kv);
		const struct toml_value *v = kv->value;
		char *val = NULL;

		if (!k) {
			r = fail(L, kv->line, kv->key, "unknown key in [services.%s]", Q(svc->name));
			break;
		}
		switch (k->kind) {
		case K_STR:
		case K_SCALAR:
		case K_INT:
		case K_NUM:
		case K_DURATION:
			if ((r = scalar(L, kv, v, k->kind != K_STR, k->kind != K_INT && k->kind != K_NUM,
					k->kind == K_NUM || k->kind == K_DURATION, &val)) < 0)
				break;
			arg(&a, kv->key, kv->line, k->flag);
			arg_take(&a, kv->key, kv->line, val);
			break;
		case K_PATH:
		case K_POLICY: {
			const char *s;
			char digest[65];
			struct nerr he = { 0 };

			if ((r = get_str(L, kv, v, &s)) < 0)
				break;
			val = resolve_path(L, s);
			if (k->kind == K_POLICY) {
				/* its content is part of what the service is */
				if (sha256_file_hex(val, digest, &he) < 0) {
					free(val);
					r = fail(L, v->line, kv->key, "%s", he.msg);
					break;
				}
				char *more = xasprintf("%s%s %s\n", extra ? extra : "", kv->key, digest);
				free(extra);
				extra = more;
			}
			arg(&a, kv->key, kv->line, k->flag);
			arg_take(&a, kv->key, kv->line, val);
			break;
		}
		case K_BOOL:
			if (v->type != TOML_BOOL) {
				r = wrong_type(L, kv, v, "true or false");
				break;
			}
			if (v->u.boolean)
				arg(&a, kv->key, kv->line, k->flag);
			break;
		case K_STRV:
		case K_INTV:
			if ((r = array_of(L, kv, k->kind == K_INTV ? "an array of integers" : "an array of strings")) < 0)
				break;
			for (size_t j = 0; j < v->u.array.len && r == 0; j++) {
				const struct toml_value *el = v->u.array.items[j];

				if ((r = scalar(L, kv, el, true, k->kind == K_STRV, false, &val)) < 0)
					break;
				arg(&a, kv->key, el->line, k->flag);
				arg_take(&a, kv->key, el->line, val);
			}
			break;
		case K_PROBE:
			if ((r = probe_arg(L, kv, &val)) < 0)
				break;
			arg(&a, kv->key, kv->line, k->flag);
			arg_take(&a, kv->key, kv->line, val);
			break;
		case K_SPECIAL:
			if (!strcmp(k->key, "command")) {
				command = v;
				if ((r = array_of(L, kv, "an array of strings (the argv)")) < 0)
					break;
				if (v->u.array.len == 0)
					r = fail(L, v->line, kv->key, "an empty command");
				for (size_t j = 0; j < v->u.array.len && r == 0; j++) {
					const char *s;

					r = get_str(L, kv, v->u.array.items[j], &s);
				}
			} else if (!strcmp(k->key, "networks")) {
				r = service_networks(L, svc, kv, &a);
			} else if (!strcmp(k->key, "volumes")) {
				r = service_volumes(L, svc, kv, &a);
			} else if (!strcmp(k->key, "environment")) {
				r = service_environment(L, kv, &a);
			} else if (!strcmp(k->key, "depends_on")) {
				r = service_depends(L, svc, kv);
			} else if (!strcmp(k->key, "egress_allow")) {
				/* an empty array: egress denied (--egress-allow "") */
				if ((r = array_of(L, kv, "an array of CIDRs")) < 0)
					break;
				if (v->u.array.len == 0) {
					arg(&a, kv->key, kv->line, k->flag);
					arg(&a, kv->key, kv->line, "");
				}
				for (size_t j = 0; j < v->u.array.len && r == 0; j++) {
					const struct toml_value *el = v->u.array.items[j];

					if ((r = scalar(L, kv, el, false, true, false, &val)) < 0)
						break;
					arg(&a, kv->key, el->line, k->flag);
					arg_take(&a, kv->key, el->line, val);
				}
			} else if (!strcmp(k->key, "secrets")) {
				if ((r = array_of(L, kv, "an array of \"SRC:DEST\"")) < 0)
					break;
				for (size_t j = 0; j < v->u.array.len && r == 0; j++) {
					const struct toml_value *el = v->u.array.items[j];
					const char *s, *colon;
					_cleanup_free_ char *src = NULL, *path = NULL;

					if ((r = get_str(L, kv, el, &s)) < 0)
						break;
					if (!(colon = strchr(s, ':')) || colon == s) {
						r = fail(L, el->line, kv->key, "`%s`: expected SRC:DEST", Q(s));
						break;
					}
					src = strndup(s, (size_t)(colon - s));
					path = resolve_path(L, src);
					arg(&a, kv->key, el->line, k->flag);
					arg_take(&a, kv->key, el->line, xasprintf("%s%s", path, colon));
				}
			}
			break;
		}
	}
	if (r == 0 && !command)
		r = fail(L, skv->line, "command", "[services.%s] needs a command (command = [\"/bin/app\", ...])",
			 Q(svc->name));
	if (r < 0)
		goto out;
	dashdash = a.n;
	arg(&a, "command", command->line, "--");
	for (size_t j = 0; j < command->u.array.len; j++)
		arg(&a, "command", command->u.array.items[j]->line, command->u.array.items[j]->u.str.ptr);
	optind = -1;
	r = L->parse((int)a.n, a.v, &svc->cfg, &e);
	stopped = optind;
	if (r == 1)
		r = nerr_set(&e, 0, "the flag parser showed its help");
	if (r < 0) {
		r = parse_error(L, svc, &a, dashdash, stopped, e.msg);
		goto out;
	}
	svc->cfg.topology = xstrdup(L->t->name);
	svc->cfg.topology_service = xstrdup(svc->name);
	r = topology_hash_service(L->t, svc, extra, L->err);
out:
	args_free(&a);
	return r;
}

/* A dependency waited on until healthy needs a check that can say so. */
static int check_conditions(struct loader *L)
{
	struct topology *t = L->t;

	for (size_t i = 0; i < t->nservices; i++)
		for (size_t d = 0; d < t->services[i].ndeps; d++) {
			const struct topo_dep *dep = &t->services[i].deps[d];
			const struct topo_service *s = &t->services[dep->index];
			const struct service_config *c = &s->cfg.svc;

			if (dep->condition != TOPO_HEALTHY)
				continue;
			if ((c->health.probe.cmd && !c->health.disabled) || c->readiness.cmd || c->readiness_tcp)
				continue;
			return fail(L, dep->line, "condition", "`healthy` needs a health check on `%s` (health_check, "
				    "readiness_check or readiness_tcp; line %d)", s->name, s->line);
		}
	return 0;
}

/* ---- the document ------------------------------------------------------------------------- */

static char *file_dir(const char *file)
{
	const char *slash = strrchr(file, '/');
	_cleanup_free_ char *d = slash ? strndup(file, (size_t)(slash - file)) : xstrdup(".");
	char cwd[PATH_MAX];

	if (slash == file)
		return xstrdup("/");
	if (d && d[0] == '/')
		return steal_ptr(d);
	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "/");
	return !strcmp(d, ".") ? xstrdup(cwd) : xasprintf("%s/%s", cwd, d);
}

static int load_root(struct loader *L, const struct toml_value *root)
{
	struct topology *t = L->t;
	const struct toml_keyval *name = NULL, *networks = NULL, *volumes = NULL, *services = NULL;
	const char *s;
	int r;

	for (size_t i = 0; i < root->u.table.len; i++) {
		const struct toml_keyval *kv = &root->u.table.items[i];

		if (key_ok(kv) && !strcmp(kv->key, "name"))
			name = kv;
		else if (key_ok(kv) && !strcmp(kv->key, "networks"))
			networks = kv;
		else if (key_ok(kv) && !strcmp(kv->key, "volumes"))
			volumes = kv;
		else if (key_ok(kv) && !strcmp(kv->key, "services"))
			services = kv;
		else
			return fail(L, kv->line, kv->key, "unknown key (name, networks, volumes, services)");
	}
	if (!name)
		return fail(L, 1, "name", "the topology needs a name (name = \"myapp\")");
	if ((r = get_str(L, name, name->value, &s)) < 0)
		return r;
	if (!valid_name(s, 61))
		return fail(L, name->value->line, "name", "invalid topology name `%s`: [a-zA-Z0-9][a-zA-Z0-9_.-]*, "
			    "short enough for `%s-SERVICE` to be a container name (63 characters)", Q(s), Q(s));
	t->name = xstrdup(s);
	if (networks) {
		const struct toml_value *v = networks->value;

		if (v->type != TOML_TABLE)
			return wrong_type(L, networks, v, "a table ([networks.NAME])");
		t->networks = xcalloc(v->u.table.len ? v->u.table.len : 1, sizeof(*t->networks));
		for (size_t i = 0; i < v->u.table.len; i++)
			if ((r = load_network(L, &v->u.table.items[i], &t->networks[t->nnetworks++])) < 0)
				return r;
		if ((r = check_overlaps(L)) < 0)
			return r;
	}
	if (volumes) {
		const struct toml_value *v = volumes->value;

		if (v->type != TOML_TABLE)
			return wrong_type(L, volumes, v, "a table ([volumes.NAME])");
		t->volumes = xcalloc(v->u.table.len ? v->u.table.len : 1, sizeof(*t->volumes));
		for (size_t i = 0; i < v->u.table.len; i++)
			if ((r = load_volume(L, &v->u.table.items[i], &t->volumes[t->nvolumes++])) < 0)
				return r;
	}
	if (!services || services->value->type != TOML_TABLE || services->value->u.table.len == 0) {
		if (services && services->value->type != TOML_TABLE)
			return wrong_type(L, services, services->value, "a table ([services.NAME])");
		return fail(L, services ? services->line : 1, "services", "no service ([services.NAME])");
	}
	t->services = xcalloc(services->value->u.table.len, sizeof(*t->services));
	for (size_t i = 0; i < services->value->u.table.len; i++)
		if ((r = load_service(L, &services->value->u.table.items[i], &t->services[t->nservices++])) < 0)
			return r;
	if ((r = topology_graph(t, L->err)) < 0)
		return r;
	return check_conditions(L);
}

int topology_load_text(const char *file, const char *text, size_t len, topo_parse_args_fn parse,
		       struct topology *t, struct nerr *err)
{
	struct toml_error te = { 0 };
	struct toml_value *root;
	struct loader L = { .file = file, .t = t, .parse = parse, .err = err };
	int r;

	memset(t, 0, sizeof(*t));
	t->file = xstrdup(file);
	L.file = t->file;
	root = toml_parse(text, len, &te);
	if (!root) {
		r = nerr_set(err, 0, "%s:%d:%d: %s", file, te.line, te.column, te.msg);
		topology_free(t);
		return r;
	}
	L.dir = file_dir(file);
	r = load_root(&L, root);
	toml_free(root);
	free(L.dir);
	if (r < 0)
		topology_free(t);
	return r;
}

int topology_load(const char *file, topo_parse_args_fn parse, struct topology *t, struct nerr *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	memset(t, 0, sizeof(*t));
	if ((r = read_file(file, TOPOLOGY_FILE_MAX, &text, &len)) < 0)
		return nerr_set(err, -r, "%s", file);
	return topology_load_text(file, text, len, parse, t, err);
}

void topology_free(struct topology *t)
{
	for (size_t i = 0; i < t->nnetworks; i++)
		free(t->networks[i].name);
	free(t->networks);
	for (size_t i = 0; i < t->nvolumes; i++) {
		free(t->volumes[i].name);
		free(t->volumes[i].path);
	}
	free(t->volumes);
	for (size_t i = 0; i < t->nservices; i++) {
		struct topo_service *s = &t->services[i];

		free(s->name);
		container_config_free(&s->cfg);
		strv_free(s->networks);
		strv_free(s->volumes);
		for (size_t d = 0; d < s->ndeps; d++)
			free(s->deps[d].service);
		free(s->deps);
	}
	free(t->services);
	free(t->order);
	free(t->name);
	free(t->file);
	memset(t, 0, sizeof(*t));
}
