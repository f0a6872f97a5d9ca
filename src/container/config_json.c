/* The container configuration as JSON: one form for the state store and
 * for what will store or compare a configuration later (restore, OCI
 * bundles, compose). Every field is written; the reader is strict (a
 * wrong type, an unknown key or value, a string too long for its field is
 * an error naming the key) and leaves what is absent at its default. */
#include <errno.h>
#include <limits.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <jansson.h>
#include <nucleus/container.h>

#define STR_MAX 131072          /* MAX_ARG_STRLEN: an argument or a K=V */
#define PATH_MAX_LEN 4095
#define PIN_MAX 64              /* a SHA-256 in hex */

/* ---- writing ------------------------------------------------------------------ */

/* A u64 beyond json_int_t's range is written as a decimal string. */
static json_t *u64_json(uint64_t v)
{
	char buf[24];

	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return json_string(buf);
}

static json_t *str_json(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *strv_json(char *const *v)
{
	json_t *a;

	if (!v)
		return json_null();
	a = json_array();
	for (size_t i = 0; v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *cidr_json(const struct cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8];

	if (!c->family)
		return json_null();
	cidr_format(c, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *cidrs_json(const struct cidr *c, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, cidr_json(&c[i]));
	return a;
}

static json_t *ports_json(const uint16_t *p, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer(p[i]));
	return a;
}

static json_t *log_opts_json(const struct log_opts *l)
{
	return json_pack("{s:o,s:I}", "max_size", u64_json(l->max_size), "max_files", (json_int_t)l->max_files);
}

static json_t *port_spec_json(const struct port_spec *p)
{
	char ip[INET6_ADDRSTRLEN];
	json_t *host = json_null();

	if (p->host_family == 4 && inet_ntop(AF_INET, p->host_ip, ip, sizeof(ip)))
		host = json_string(ip);
	else if (p->host_family == 6 && inet_ntop(AF_INET6, p->host_ip, ip, sizeof(ip)))
		host = json_string(ip);
	return json_pack("{s:i,s:o,s:i,s:i,s:i,s:s}", "host_family", p->host_family, "host_ip", host,
			 "host_port", p->host_port, "cont_port", p->cont_port, "count", p->count,
			 "proto", p->proto == IPPROTO_UDP ? "udp" : "tcp");
}

static json_t *landlock_json(const struct landlock_spec *l)
{
	json_t *rules, *net;

	if (!l)
		return json_null();
	rules = json_array();
	net = json_array();
	for (size_t i = 0; i < l->nrules; i++)
		json_array_append_new(rules, json_pack("{s:s,s:o}", "path", l->rules[i].path,
						       "access", u64_json(l->rules[i].access)));
	for (size_t i = 0; i < l->nnet; i++)
		json_array_append_new(net, json_pack("{s:i,s:o}", "port", l->net[i].port,
						     "access", u64_json(l->net[i].access)));
	return json_pack("{s:i,s:o,s:o,s:b,s:o,s:b}", "min_abi", l->min_abi, "rules", rules, "net", net,
			 "restrict_net", l->restrict_net, "scopes", u64_json(l->scopes),
			 "best_effort", l->best_effort);
}

static json_t *identity_json(const struct identity *id)
{
	json_t *groups = json_array();

	for (size_t i = 0; i < id->ngroups; i++)
		json_array_append_new(groups, json_integer(id->groups[i]));
	return json_pack("{s:o,s:o,s:o,s:b,s:I,s:I,s:o,s:o}", "user", str_json(id->user),
			 "group", str_json(id->group), "additional_groups", strv_json(id->additional_groups),
			 "set", id->set, "uid", (json_int_t)id->uid, "gid", (json_int_t)id->gid, "groups", groups,
			 "home", str_json(id->home));
}

static json_t *process_json(const struct process_config *p)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:b,s:b,s:b,s:o}", "argv", strv_json(p->argv), "env", strv_json(p->env),
			 "workdir", str_json(p->workdir), "hostname", str_json(p->hostname),
			 "tty", p->tty, "init", p->init, "interactive", p->interactive,
			 "identity", identity_json(&p->identity));
}

static json_t *secrets_json(const struct fs_secret *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:o,s:s,s:o}", "src", str_json(v[i].src), "dest", v[i].dest,
						   "credential", str_json(v[i].credential)));
	return a;
}

static const char *const volume_access[] = {
	[FS_VOLUME_DEFAULT] = "default", [FS_VOLUME_RO] = "ro", [FS_VOLUME_RW] = "rw", NULL
};

static json_t *volumes_json(const struct fs_config *f)
{
	json_t *a = json_array();

	for (size_t i = 0; i < f->n_volumes; i++) {
		const struct fs_volume *v = &f->volumes[i];

		json_array_append_new(a, json_pack("{s:o,s:o,s:s,s:b,s:b}", "src", str_json(v->src),
						   "dest", str_json(v->dest), "access", volume_access[v->access],
						   "exec", v->exec, "chown", v->chown));
	}
	return a;
}

static json_t *tmpfs_json(const struct fs_config *f)
{
	json_t *a = json_array();

	for (size_t i = 0; i < f->n_tmpfs; i++) {
		const struct fs_tmpfs *t = &f->tmpfs[i];

		json_array_append_new(a, json_pack("{s:o,s:o,s:I,s:b}", "dest", str_json(t->dest),
						   "size", u64_json(t->size), "mode", (json_int_t)t->mode,
						   "exec", t->exec));
	}
	return a;
}

static json_t *fs_json(const struct fs_config *f)
{
	json_t *o = json_pack("{s:o,s:s,s:o,s:o,s:o,s:b,s:o,s:b,s:o,s:b,s:b,s:i,s:o,s:o}", "context", str_json(f->context),
			 "context_mode", f->context_mode == CONTEXT_BIND ? "bind" : "copy",
			 "allow_exec", strv_json(f->allow_exec), "exec_paths", strv_json(f->exec_paths),
			 "tmpfs_size", u64_json(f->tmpfs_size), "allow_chroot_fallback", f->allow_chroot_fallback,
			 "rootfs", str_json(f->rootfs), "verify_attestation", f->verify_attestation,
			 "attestation_sha256", str_json(f->attestation_sha256), "no_attestation", f->no_attestation,
			 "verify_context", f->verify_context, "proc_hidepid", f->proc_hidepid,
			 "volumes", volumes_json(f), "tmpfs", tmpfs_json(f));

	/* paths and names only: a secret's content is never in the configuration */
	json_object_set_new(o, "secrets", secrets_json(f->secrets, f->n_secrets));
	json_object_set_new(o, "credentials_passthrough", json_boolean(f->credentials_passthrough));
	return o;
}

static json_t *net_json(const struct net_config *n)
{
	const struct bridge_config *b = &n->bridge;
	const struct egress_config *e = &n->egress;
	json_t *ports = json_array(), *bridge, *egress;

	for (size_t i = 0; i < b->nports; i++)
		json_array_append_new(ports, port_spec_json(&b->ports[i]));
	bridge = json_pack("{s:s,s:o,s:o,s:b,s:b,s:b,s:o}", "name", b->name, "subnet4", cidr_json(&b->subnet4),
			   "subnet6", cidr_json(&b->subnet6), "subnet4_set", b->subnet4_set,
			   "subnet6_set", b->subnet6_set, "ipv6", b->ipv6, "ports", ports);
	egress = json_pack("{s:b,s:o,s:o,s:o,s:o,s:b,s:b}", "enabled", e->enabled,
			   "allow", cidrs_json(e->allow, e->nallow), "tcp_ports", ports_json(e->tcp_ports, e->ntcp),
			   "udp_ports", ports_json(e->udp_ports, e->nudp), "dns", cidrs_json(e->dns, e->ndns),
			   "private_netns", e->private_netns, "allow_raw", e->allow_raw);
	return json_pack("{s:s,s:b,s:o,s:b,s:o,s:o,s:o,s:o,s:o,s:o}", "mode", network_mode_name(n->mode),
			 "allow_host_network", n->allow_host_network, "bridge", bridge,
			 "bridge_flags", n->bridge_flags, "dns", strv_json(n->dns),
			 "dns_search", strv_json(n->dns_search), "add_hosts", strv_json(n->add_hosts),
			 "extra_hosts", strv_json(n->extra_hosts), "hosts_file", str_json(n->hosts_file),
			 "egress", egress);
}

static json_t *sec_json(const struct sec_config *s)
{
	const struct cap_sets *c = &s->caps;
	json_t *caps = json_pack("{s:o,s:o,s:o,s:o,s:o,s:b}", "bounding", u64_json(c->bounding),
				 "permitted", u64_json(c->permitted), "effective", u64_json(c->effective),
				 "inheritable", u64_json(c->inheritable), "ambient", u64_json(c->ambient),
				 "root_gains_at_exec", c->root_gains_at_exec);

	static const char *const trust[] = { [TRUST_TRUSTED] = "trusted", [TRUST_UNTRUSTED] = "untrusted" };
	static const char *const lockdown[] = { [LOCKDOWN_NONE] = "none", [LOCKDOWN_INTEGRITY] = "integrity",
						[LOCKDOWN_CONFIDENTIALITY] = "confidentiality" };

	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:b,s:o,s:b,s:b,s:s,s:s,s:i}", "caps", caps,
			 "landlock", landlock_json(s->landlock),
			 "caps_policy", str_json(s->caps_policy), "caps_policy_sha256", str_json(s->caps_policy_sha256),
			 "landlock_policy", str_json(s->landlock_policy),
			 "landlock_policy_sha256", str_json(s->landlock_policy_sha256),
			 "seccomp_profile", str_json(s->seccomp_profile),
			 "seccomp_profile_sha256", str_json(s->seccomp_profile_sha256),
			 "seccomp_trace", s->seccomp_trace, "seccomp_log_denied", s->seccomp_log_denied,
			 "seccomp_log", str_json(s->seccomp_log), "allow_memfd_exec", s->allow_memfd_exec,
			 "allow_degraded", s->allow_degraded, "trust_level", trust[s->trust],
			 "require_lockdown", lockdown[s->require_lockdown], "landlock_min_abi", s->landlock_min_abi);
}

static json_t *res_json(const struct res_config *r)
{
	const struct cgroup_limits *l = &r->limits;
	const struct rlimit_spec *rl = &r->rlimits;
	json_t *io = json_array(), *limits, *rlimits;

	for (size_t i = 0; i < l->nio; i++)
		json_array_append_new(io, json_pack("{s:i,s:i,s:o,s:o,s:o,s:o}", "major", (int)l->io[i].major,
						    "minor", (int)l->io[i].minor, "riops", u64_json(l->io[i].riops),
						    "wiops", u64_json(l->io[i].wiops), "rbps", u64_json(l->io[i].rbps),
						    "wbps", u64_json(l->io[i].wbps)));
	limits = json_pack("{s:o,s:b,s:o,s:o,s:o,s:o,s:o,s:i,s:b}", "memory_max", u64_json(l->memory_max),
			   "swap", l->swap, "cpu_quota_us", u64_json(l->cpu_quota_us),
			   "cpu_period_us", u64_json(l->cpu_period_us), "cpu_weight", u64_json(l->cpu_weight),
			   "pids_max", u64_json(l->pids_max), "io", io, "given", (int)l->given,
			   "best_effort", l->best_effort);
	rlimits = json_pack("{s:o,s:o,s:o,s:o}", "nofile_soft", u64_json(rl->nofile_soft),
			    "nofile_hard", u64_json(rl->nofile_hard), "memlock", u64_json(rl->memlock),
			    "core", u64_json(rl->core));
	return json_pack("{s:o,s:o,s:b}", "limits", limits, "rlimits", rlimits, "require_cgroup", r->require_cgroup);
}

static json_t *probe_json(const struct probe_cmd *p)
{
	return json_pack("{s:o,s:b}", "cmd", strv_json(p->cmd), "shell", p->shell);
}

static json_t *service_json(const struct service_config *s)
{
	const struct health_config *h = &s->health;
	json_t *health = json_pack("{s:o,s:b,s:o,s:o,s:o,s:o,s:I,s:s}", "probe", probe_json(&h->probe),
				   "disabled", h->disabled, "interval_ns", u64_json(h->interval_ns),
				   "timeout_ns", u64_json(h->timeout_ns), "start_period_ns", u64_json(h->start_period_ns),
				   "start_interval_ns", u64_json(h->start_interval_ns), "retries", (json_int_t)h->retries,
				   "on_failure", health_action_name(h->on_failure));

	return json_pack("{s:o,s:o,s:I,s:s,s:I,s:s}", "health", health, "readiness", probe_json(&s->readiness),
			 "readiness_tcp", (json_int_t)s->readiness_tcp, "restart", restart_policy_name(s->restart),
			 "restart_max", (json_int_t)s->restart_max, "sd_notify", sd_notify_mode_name(s->sd_notify));
}

json_t *container_config_to_json(const struct container_config *c)
{
	json_t *ns = json_pack("{s:b,s:b,s:b,s:b}", "rootless", c->ns.rootless, "userns", c->ns.userns,
			       "time", c->ns.time, "cgroup", c->ns.cgroup);
	json_t *audit = json_pack("{s:b,s:b,s:b,s:o,s:o}", "enabled", c->audit.enabled, "opt_out", c->audit.opt_out,
				  "name_source", c->audit.name_source,
				  "log_opts", log_opts_json(&c->audit.log_opts),
				  "audit_opts", log_opts_json(&c->audit.audit_opts));

	json_t *rt = json_pack("{s:s,s:o,s:o}", "kind", runtime_kind_names[c->rt.kind], "path", str_json(c->rt.path),
			       "gvisor_platform", str_json(c->rt.platform));

	return json_pack("{s:s,s:s,s:s,s:b,s:b,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:{s:o,s:o,s:o}}", "id", c->id, "name", c->name,
			 "mode", c->mode == MODE_PRODUCTION ? "production" : "agent",
			 "detach", c->detach, "remove", c->remove, "namespaces", ns,
			 "process", process_json(&c->proc), "filesystem", fs_json(&c->fs),
			 "network", net_json(&c->net), "security", sec_json(&c->sec),
			 "resources", res_json(&c->res), "audit", audit, "service", service_json(&c->svc),
			 "runtime", rt, "topology", "name", str_json(c->topology), "service", str_json(c->topology_service),
			 "hash", str_json(c->topology_hash));
}

/* ---- reading ------------------------------------------------------------------
 * `where` is the object's path ("network.bridge"); a key absent keeps the
 * default container_config_init gave it. */

static int bad(struct nerr *err, const char *where, const char *key, const char *what)
{
	return nerr_set(err, 0, "config: %s%s%s: %s", where, *where ? "." : "", key, what);
}

static int only_keys(const json_t *o, const char *where, const char *const *keys, struct nerr *err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o))
		return nerr_set(err, 0, "config: %s: expected an object", *where ? where : "the configuration");
	json_object_foreach((json_t *)o, k, v) {
		size_t i;

		for (i = 0; keys[i] && strcmp(keys[i], k); i++)
			;
		if (!keys[i])
			return nerr_set(err, 0, "config: %s%s%.64s: unknown key", where, *where ? "." : "", k);
	}
	return 0;
}

static int get_bool(const json_t *o, const char *where, const char *key, bool *out, struct nerr *err)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return bad(err, where, key, "expected true or false");
	*out = json_is_true(v);
	return 0;
}

static int u64_of(const json_t *v, uint64_t max, uint64_t *out)
{
	unsigned long long u;
	char *end;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return -EINVAL;
		if ((uint64_t)json_integer_value(v) > max)
			return -ERANGE;
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	/* beyond json_int_t: a decimal string (u64_json) */
	if (!json_is_string(v))
		return -EINVAL;
	const char *s = json_string_value(v);
	if (!*s || *s == '-' || *s == '+' || *s == ' ' || json_string_length(v) > 20)
		return -EINVAL;
	errno = 0;
	u = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	if (u > max)
		return -ERANGE;
	*out = u;
	return 0;
}

static int get_u64(const json_t *o, const char *where, const char *key, uint64_t max, uint64_t *out,
		   struct nerr *err)
{
	json_t *v = json_object_get(o, key);
	int r;

	if (!v)
		return 0;
	if ((r = u64_of(v, max, out)) == -ERANGE)
		return nerr_set(err, 0, "config: %s%s%s: out of range (at most %llu)", where, *where ? "." : "",
				key, (unsigned long long)max);
	if (r < 0)
		return bad(err, where, key, "expected a non-negative integer");
	return 0;
}

static int get_uint(const json_t *o, const char *where, const char *key, uint64_t max, unsigned *out,
		    struct nerr *err)
{
	uint64_t v = *out;
	int r = get_u64(o, where, key, max, &v, err);

	*out = (unsigned)v;
	return r;
}

static int check_str(const json_t *v, const char *where, const char *key, size_t max, struct nerr *err)
{
	if (!json_is_string(v))
		return bad(err, where, key, "expected a string");
	if (json_string_length(v) > max)
		return nerr_set(err, 0, "config: %s%s%s: longer than %zu bytes", where, *where ? "." : "", key, max);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return bad(err, where, key, "holds a NUL byte");
	return 0;
}

/* A string or null (NULL). */
static int get_str(const json_t *o, const char *where, const char *key, size_t max, char **out, struct nerr *err)
{
	json_t *v = json_object_get(o, key);
	int r;

	if (!v)
		return 0;
	free(*out);
	*out = NULL;
	if (json_is_null(v))
		return 0;
	if ((r = check_str(v, where, key, max, err)) < 0)
		return r;
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* Into a fixed buffer: the string must fit. */
static int get_buf(const json_t *o, const char *where, const char *key, char *buf, size_t len, bool required,
		   struct nerr *err)
{
	json_t *v = json_object_get(o, key);
	int r;

	if (!v)
		return required ? bad(err, where, key, "missing") : 0;
	if ((r = check_str(v, where, key, len - 1, err)) < 0)
		return r;
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

/* An array of strings, or null (NULL). */
static int get_strv(const json_t *o, const char *where, const char *key, size_t max, char ***out, struct nerr *err)
{
	json_t *v = json_object_get(o, key), *e;
	size_t i;
	int r;

	if (!v)
		return 0;
	strv_free(*out);
	*out = NULL;
	if (json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return bad(err, where, key, "expected an array of strings");
	*out = xcalloc(1, sizeof(char *));
	json_array_foreach(v, i, e) {
		if ((r = check_str(e, where, key, max, err)) < 0)
			return r;
		strv_push(out, json_string_value(e));
	}
	return 0;
}

static int get_enum(const json_t *o, const char *where, const char *key, const char *const *names,
		    const char *expected, int *out, struct nerr *err)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_string(v))
		return bad(err, where, key, "expected a string");
	for (int i = 0; names[i]; i++) {
		if (!strcmp(names[i], json_string_value(v))) {
			*out = i;
			return 0;
		}
	}
	return nerr_set(err, 0, "config: %s%s%s: unknown value `%.64s` (%s)", where, *where ? "." : "", key,
			json_string_value(v), expected);
}

/* A sub-object: absent is NULL (keep the defaults), anything else must be an object. */
static int get_obj(const json_t *o, const char *where, const char *key, json_t **out, struct nerr *err)
{
	json_t *v = json_object_get(o, key);

	*out = v;
	if (v && !json_is_object(v))
		return bad(err, where, key, "expected an object");
	return 0;
}

static int get_arr(const json_t *o, const char *where, const char *key, json_t **out, struct nerr *err)
{
	json_t *v = json_object_get(o, key);

	*out = v;
	if (v && !json_is_array(v))
		return bad(err, where, key, "expected an array");
	return 0;
}

static int cidr_of(const json_t *v, const char *where, const char *key, struct cidr *out, struct nerr *err)
{
	int r;

	if (json_is_null(v)) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	if ((r = check_str(v, where, key, 64, err)) < 0)
		return r;
	if ((r = cidr_parse(json_string_value(v), out, err)) < 0) {
		nerr_prefix(err, "config: %s%s%s", where, *where ? "." : "", key);
		return r;
	}
	return 0;
}

/* The array under key (NULL and 0 when absent), with *out replaced by a
 * buffer of its length (NULL when empty) and *n reset. */
static int array_buf(const json_t *o, const char *where, const char *key, size_t elem, void **out, size_t *n,
		     json_t **a, struct nerr *err)
{
	int r;

	if ((r = get_arr(o, where, key, a, err)) < 0 || !*a)
		return r;
	free(*out);
	*out = json_array_size(*a) ? xcalloc(json_array_size(*a), elem) : NULL;
	*n = 0;
	return 0;
}

static int get_cidrs(const json_t *o, const char *where, const char *key, struct cidr **out, size_t *n,
		     struct nerr *err)
{
	json_t *a, *e;
	size_t i;
	int r;

	if ((r = array_buf(o, where, key, sizeof(**out), (void **)out, n, &a, err)) < 0 || !a)
		return r;
	json_array_foreach(a, i, e) {
		if (json_is_null(e))
			return bad(err, where, key, "expected an array of CIDRs");
		if ((r = cidr_of(e, where, key, &(*out)[i], err)) < 0)
			return r;
		(*n)++;
	}
	return 0;
}

static int get_ports(const json_t *o, const char *where, const char *key, uint16_t **out, size_t *n,
		     struct nerr *err)
{
	json_t *a, *e;
	size_t i;
	int r;

	if ((r = array_buf(o, where, key, sizeof(**out), (void **)out, n, &a, err)) < 0 || !a)
		return r;
	json_array_foreach(a, i, e) {
		uint64_t p;

		if (u64_of(e, 65535, &p) < 0)
			return bad(err, where, key, "expected an array of ports (0-65535)");
		(*out)[(*n)++] = (uint16_t)p;
	}
	return 0;
}

static int log_opts_from(const json_t *o, const char *where, const char *key, struct log_opts *l, struct nerr *err)
{
	static const char *const keys[] = { "max_size", "max_files", NULL };
	char w[64];
	json_t *v;
	int r;

	snprintf(w, sizeof(w), "%s.%s", where, key);
	if ((r = get_obj(o, where, key, &v, err)) < 0 || !v)
		return r;
	if ((r = only_keys(v, w, keys, err)) < 0 ||
	    (r = get_u64(v, w, "max_size", UINT64_MAX, &l->max_size, err)) < 0 ||
	    (r = get_uint(v, w, "max_files", UINT_MAX, &l->max_files, err)) < 0)
		return r;
	return 0;
}

static int landlock_from(const json_t *v, struct landlock_spec **out, struct nerr *err)
{
	static const char *const keys[] = { "min_abi", "rules", "net", "restrict_net", "scopes", "best_effort", NULL };
	static const char *const rkeys[] = { "path", "access", NULL };
	static const char *const nkeys[] = { "port", "access", NULL };
	const char *w = "security.landlock";
	struct landlock_spec *l;
	json_t *rules, *net, *e;
	unsigned abi = 0;
	size_t i;
	int r;

	if (*out) {
		landlock_spec_free(*out);
		free(*out);
		*out = NULL;
	}
	if (json_is_null(v))
		return 0;
	if ((r = only_keys(v, w, keys, err)) < 0)
		return r;
	l = *out = xcalloc(1, sizeof(*l));
	if ((r = get_uint(v, w, "min_abi", 1000, &abi, err)) < 0 ||
	    (r = get_bool(v, w, "restrict_net", &l->restrict_net, err)) < 0 ||
	    (r = get_u64(v, w, "scopes", UINT64_MAX, &l->scopes, err)) < 0 ||
	    (r = get_bool(v, w, "best_effort", &l->best_effort, err)) < 0 ||
	    (r = get_arr(v, w, "rules", &rules, err)) < 0 || (r = get_arr(v, w, "net", &net, err)) < 0)
		return r;
	l->min_abi = (int)abi;
	if (json_array_size(rules))
		l->rules = xcalloc(json_array_size(rules), sizeof(*l->rules));
	json_array_foreach(rules, i, e) {
		char *path = NULL;
		uint64_t access = 0;

		if ((r = only_keys(e, "security.landlock.rules", rkeys, err)) < 0 ||
		    (r = get_u64(e, "security.landlock.rules", "access", UINT64_MAX, &access, err)) < 0 ||
		    (r = get_str(e, "security.landlock.rules", "path", PATH_MAX_LEN, &path, err)) < 0)
			return r;
		if (!path)
			return bad(err, "security.landlock.rules", "path", "missing");
		l->rules[l->nrules].path = path;
		l->rules[l->nrules++].access = access;
	}
	if (json_array_size(net))
		l->net = xcalloc(json_array_size(net), sizeof(*l->net));
	json_array_foreach(net, i, e) {
		uint64_t port = 0, access = 0;

		if ((r = only_keys(e, "security.landlock.net", nkeys, err)) < 0 ||
		    (r = get_u64(e, "security.landlock.net", "port", 65535, &port, err)) < 0 ||
		    (r = get_u64(e, "security.landlock.net", "access", UINT64_MAX, &access, err)) < 0)
			return r;
		l->net[l->nnet].port = (uint16_t)port;
		l->net[l->nnet++].access = access;
	}
	return 0;
}

#define ID_MAX 4294967294u      /* (uid_t)-1 is no id */

static int identity_from(const json_t *o, struct identity *id, struct nerr *err)
{
	static const char *const keys[] = { "user", "group", "additional_groups", "set", "uid", "gid", "groups",
					    "home", NULL };
	const char *w = "process.identity";
	uint64_t uid = id->uid, gid = id->gid;
	json_t *groups, *e;
	size_t i;
	int r;

	if (!o)
		return 0;
	if ((r = only_keys(o, w, keys, err)) < 0 ||
	    (r = get_str(o, w, "user", IDENTITY_NAME_MAX * 2 + 1, &id->user, err)) < 0 ||
	    (r = get_str(o, w, "group", IDENTITY_NAME_MAX, &id->group, err)) < 0 ||
	    (r = get_strv(o, w, "additional_groups", IDENTITY_NAME_MAX, &id->additional_groups, err)) < 0 ||
	    (r = get_bool(o, w, "set", &id->set, err)) < 0 ||
	    (r = get_u64(o, w, "uid", ID_MAX, &uid, err)) < 0 ||
	    (r = get_u64(o, w, "gid", ID_MAX, &gid, err)) < 0 ||
	    (r = get_str(o, w, "home", PATH_MAX_LEN, &id->home, err)) < 0 ||
	    (r = array_buf(o, w, "groups", sizeof(*id->groups), (void **)&id->groups, &id->ngroups, &groups, err)) < 0)
		return r;
	id->uid = (uid_t)uid;
	id->gid = (gid_t)gid;
	if (groups && json_array_size(groups) > NGROUPS_MAX)
		return bad(err, w, "groups", "more than 65536 groups");
	json_array_foreach(groups, i, e) {
		uint64_t g;

		if (u64_of(e, ID_MAX, &g) < 0)
			return bad(err, w, "groups", "expected an array of group ids");
		id->groups[id->ngroups++] = (gid_t)g;
	}
	return 0;
}

static int process_from(const json_t *o, struct process_config *p, struct nerr *err)
{
	static const char *const keys[] = { "argv", "env", "workdir", "hostname", "tty", "init", "interactive",
					    "identity", NULL };
	const char *w = "process";
	json_t *identity;
	int r;

	if (!o)
		return bad(err, "", "process", "missing");
	if ((r = only_keys(o, w, keys, err)) < 0)
		return r;
	if (!json_object_get(o, "argv"))
		return bad(err, w, "argv", "missing");
	if ((r = get_strv(o, w, "argv", STR_MAX, &p->argv, err)) < 0 ||
	    (r = get_strv(o, w, "env", STR_MAX, &p->env, err)) < 0 ||
	    (r = get_str(o, w, "workdir", PATH_MAX_LEN, &p->workdir, err)) < 0 ||
	    (r = get_str(o, w, "hostname", 64, &p->hostname, err)) < 0 ||
	    (r = get_bool(o, w, "tty", &p->tty, err)) < 0 ||
	    (r = get_bool(o, w, "init", &p->init, err)) < 0 ||
	    (r = get_bool(o, w, "interactive", &p->interactive, err)) < 0 ||
	    (r = get_obj(o, w, "identity", &identity, err)) < 0 ||
	    (r = identity_from(identity, &p->identity, err)) < 0)
		return r;
	return 0;
}

static int secrets_from(const json_t *o, struct fs_config *f, struct nerr *err)
{
	static const char *const keys[] = { "src", "dest", "credential", NULL };
	const char *w = "filesystem.secrets";
	json_t *a, *e;
	size_t i;
	int r;

	if ((r = get_arr(o, "filesystem", "secrets", &a, err)) < 0 || !a)
		return r;
	container_secrets_free(f);
	if (json_array_size(a))
		f->secrets = xcalloc(json_array_size(a), sizeof(*f->secrets));
	json_array_foreach(a, i, e) {
		struct fs_secret *s = &f->secrets[f->n_secrets++];

		if (!json_is_object(e))
			return bad(err, "filesystem", "secrets", "expected an array of objects");
		if ((r = only_keys(e, w, keys, err)) < 0 ||
		    (r = get_str(e, w, "src", PATH_MAX_LEN, &s->src, err)) < 0 ||
		    (r = get_str(e, w, "dest", PATH_MAX_LEN, &s->dest, err)) < 0 ||
		    (r = get_str(e, w, "credential", 255, &s->credential, err)) < 0)
			return r;
		if (!s->dest)
			return bad(err, w, "dest", "missing");
	}
	return 0;
}

static int volume_from(const json_t *o, struct fs_volume *v, struct nerr *err)
{
	static const char *const keys[] = { "src", "dest", "access", "exec", "chown", NULL };
	const char *w = "filesystem.volumes";
	int access = FS_VOLUME_DEFAULT, r;

	if (!json_is_object(o))
		return bad(err, "filesystem", "volumes", "expected an array of objects");
	if ((r = only_keys(o, w, keys, err)) < 0 ||
	    (r = get_str(o, w, "src", PATH_MAX_LEN, &v->src, err)) < 0 ||
	    (r = get_str(o, w, "dest", PATH_MAX_LEN, &v->dest, err)) < 0 ||
	    (r = get_enum(o, w, "access", volume_access, "default, ro or rw", &access, err)) < 0 ||
	    (r = get_bool(o, w, "exec", &v->exec, err)) < 0 ||
	    (r = get_bool(o, w, "chown", &v->chown, err)) < 0)
		return r;
	v->access = (enum fs_volume_access)access;
	if (!v->src || !v->dest)
		return bad(err, w, v->src ? "dest" : "src", "missing");
	return 0;
}

static int tmpfs_from(const json_t *o, struct fs_tmpfs *t, struct nerr *err)
{
	static const char *const keys[] = { "dest", "size", "mode", "exec", NULL };
	const char *w = "filesystem.tmpfs";
	int r;

	if (!json_is_object(o))
		return bad(err, "filesystem", "tmpfs", "expected an array of objects");
	t->mode = 01777;
	if ((r = only_keys(o, w, keys, err)) < 0 ||
	    (r = get_str(o, w, "dest", PATH_MAX_LEN, &t->dest, err)) < 0 ||
	    (r = get_u64(o, w, "size", UINT64_MAX, &t->size, err)) < 0 ||
	    (r = get_uint(o, w, "mode", 07777, &t->mode, err)) < 0 ||
	    (r = get_bool(o, w, "exec", &t->exec, err)) < 0)
		return r;
	if (!t->dest)
		return bad(err, w, "dest", "missing");
	return 0;
}

/* The volumes and tmpfs mounts: the arrays replace what was there. */
static int mounts_from(const json_t *o, struct fs_config *f, struct nerr *err)
{
	json_t *vols, *tmps, *e;
	size_t i;
	int r;

	if ((r = get_arr(o, "filesystem", "volumes", &vols, err)) < 0 ||
	    (r = get_arr(o, "filesystem", "tmpfs", &tmps, err)) < 0)
		return r;
	if (vols) {
		for (i = 0; i < f->n_volumes; i++)
			fs_volume_free(&f->volumes[i]);
		free(f->volumes);
		f->volumes = json_array_size(vols) ? xcalloc(json_array_size(vols), sizeof(*f->volumes)) : NULL;
		f->n_volumes = 0;
		json_array_foreach(vols, i, e) {
			f->n_volumes++;
			if ((r = volume_from(e, &f->volumes[i], err)) < 0)
				return r;
		}
	}
	if (tmps) {
		for (i = 0; i < f->n_tmpfs; i++)
			fs_tmpfs_free(&f->tmpfs[i]);
		free(f->tmpfs);
		f->tmpfs = json_array_size(tmps) ? xcalloc(json_array_size(tmps), sizeof(*f->tmpfs)) : NULL;
		f->n_tmpfs = 0;
		json_array_foreach(tmps, i, e) {
			f->n_tmpfs++;
			if ((r = tmpfs_from(e, &f->tmpfs[i], err)) < 0)
				return r;
		}
	}
	return 0;
}

static int fs_from(const json_t *o, struct fs_config *f, struct nerr *err)
{
	static const char *const keys[] = { "context", "context_mode", "allow_exec", "exec_paths", "tmpfs_size",
					    "allow_chroot_fallback", "rootfs", "verify_attestation", "attestation_sha256",
					    "no_attestation", "verify_context", "proc_hidepid", "secrets",
					    "credentials_passthrough", "volumes", "tmpfs", NULL };
	static const char *const modes[] = { [CONTEXT_COPY] = "copy", [CONTEXT_BIND] = "bind", NULL };
	uint64_t hidepid = (uint64_t)f->proc_hidepid;
	const char *w = "filesystem";
	int mode = (int)f->context_mode, r;

	if (!o)
		return 0;
	if ((r = only_keys(o, w, keys, err)) < 0 ||
	    (r = get_str(o, w, "context", PATH_MAX_LEN, &f->context, err)) < 0 ||
	    (r = get_enum(o, w, "context_mode", modes, "copy or bind", &mode, err)) < 0 ||
	    (r = get_strv(o, w, "allow_exec", PATH_MAX_LEN, &f->allow_exec, err)) < 0 ||
	    (r = get_strv(o, w, "exec_paths", PATH_MAX_LEN, &f->exec_paths, err)) < 0 ||
	    (r = get_u64(o, w, "tmpfs_size", UINT64_MAX, &f->tmpfs_size, err)) < 0 ||
	    (r = get_bool(o, w, "allow_chroot_fallback", &f->allow_chroot_fallback, err)) < 0 ||
	    (r = get_str(o, w, "rootfs", PATH_MAX_LEN, &f->rootfs, err)) < 0 ||
	    (r = get_bool(o, w, "verify_attestation", &f->verify_attestation, err)) < 0 ||
	    (r = get_str(o, w, "attestation_sha256", PIN_MAX, &f->attestation_sha256, err)) < 0 ||
	    (r = get_bool(o, w, "no_attestation", &f->no_attestation, err)) < 0 ||
	    (r = get_bool(o, w, "verify_context", &f->verify_context, err)) < 0 ||
	    (r = get_u64(o, w, "proc_hidepid", 2, &hidepid, err)) < 0 ||
	    (r = get_bool(o, w, "credentials_passthrough", &f->credentials_passthrough, err)) < 0 ||
	    (r = secrets_from(o, f, err)) < 0 ||
	    (r = mounts_from(o, f, err)) < 0)
		return r;
	f->context_mode = (enum context_mode)mode;
	f->proc_hidepid = (int)hidepid;
	return 0;
}

static int port_spec_from(const json_t *o, struct port_spec *p, struct nerr *err)
{
	static const char *const keys[] = { "host_family", "host_ip", "host_port", "cont_port", "count", "proto", NULL };
	static const char *const protos[] = { "tcp", "udp", NULL };
	const char *w = "network.bridge.ports";
	uint64_t fam = 0, hp = 0, cp = 0, count = 1;
	int proto = 0, r;
	json_t *ip;

	memset(p, 0, sizeof(*p));
	if ((r = only_keys(o, w, keys, err)) < 0 ||
	    (r = get_u64(o, w, "host_family", 6, &fam, err)) < 0 ||
	    (r = get_u64(o, w, "host_port", 65535, &hp, err)) < 0 ||
	    (r = get_u64(o, w, "cont_port", 65535, &cp, err)) < 0 ||
	    (r = get_u64(o, w, "count", 65535, &count, err)) < 0 ||
	    (r = get_enum(o, w, "proto", protos, "tcp or udp", &proto, err)) < 0)
		return r;
	if (fam != 0 && fam != 4 && fam != 6)
		return bad(err, w, "host_family", "expected 0, 4 or 6");
	p->host_family = (int)fam;
	p->host_port = (uint16_t)hp;
	p->cont_port = (uint16_t)cp;
	p->count = (uint16_t)count;
	p->proto = proto ? IPPROTO_UDP : IPPROTO_TCP;
	ip = json_object_get(o, "host_ip");
	if (ip && !json_is_null(ip)) {
		if ((r = check_str(ip, w, "host_ip", INET6_ADDRSTRLEN, err)) < 0)
			return r;
		if (!fam || inet_pton(fam == 4 ? AF_INET : AF_INET6, json_string_value(ip), p->host_ip) != 1)
			return bad(err, w, "host_ip", "not an address of host_family");
	}
	return 0;
}

static int bridge_from(const json_t *o, struct bridge_config *b, struct nerr *err)
{
	static const char *const keys[] = { "name", "subnet4", "subnet6", "subnet4_set", "subnet6_set", "ipv6",
					    "ports", NULL };
	const char *w = "network.bridge";
	json_t *ports, *e;
	size_t i;
	int r;

	if (!o)
		return 0;
	if ((r = only_keys(o, w, keys, err)) < 0 ||
	    (r = get_buf(o, w, "name", b->name, sizeof(b->name), false, err)) < 0 ||
	    (r = get_bool(o, w, "subnet4_set", &b->subnet4_set, err)) < 0 ||
	    (r = get_bool(o, w, "subnet6_set", &b->subnet6_set, err)) < 0 ||
	    (r = get_bool(o, w, "ipv6", &b->ipv6, err)) < 0 ||
	    (r = get_arr(o, w, "ports", &ports, err)) < 0)
		return r;
	if (json_object_get(o, "subnet4") && (r = cidr_of(json_object_get(o, "subnet4"), w, "subnet4", &b->subnet4, err)) < 0)
		return r;
	if (json_object_get(o, "subnet6") && (r = cidr_of(json_object_get(o, "subnet6"), w, "subnet6", &b->subnet6, err)) < 0)
		return r;
	if (!ports)
		return 0;
	free(b->ports);
	b->ports = NULL;
	b->nports = 0;
	if (json_array_size(ports))
		b->ports = xcalloc(json_array_size(ports), sizeof(*b->ports));
	json_array_foreach(ports, i, e) {
		if ((r = port_spec_from(e, &b->ports[i], err)) < 0)
			return r;
		b->nports++;
	}
	return 0;
}

static int egress_from(const json_t *o, struct egress_config *e, struct nerr *err)
{
	static const char *const keys[] = { "enabled", "allow", "tcp_ports", "udp_ports", "dns", "private_netns",
					    "allow_raw", NULL };
	const char *w = "network.egress";
	int r;

	if (!o)
		return 0;
	if ((r = only_keys(o, w, keys, err)) < 0 ||
	    (r = get_bool(o, w, "enabled", &e->enabled, err)) < 0 ||
	    (r = get_cidrs(o, w, "allow", &e->allow, &e->nallow, err)) < 0 ||
	    (r = get_ports(o, w, "tcp_ports", &e->tcp_ports, &e->ntcp, err)) < 0 ||
	    (r = get_ports(o, w, "udp_ports", &e->udp_ports, &e->nudp, err)) < 0 ||
	    (r = get_cidrs(o, w, "dns", &e->dns, &e->ndns, err)) < 0 ||
	    (r = get_bool(o, w, "private_netns", &e->private_netns, err)) < 0 ||
	    (r = get_bool(o, w, "allow_raw", &e->allow_raw, err)) < 0)
		return r;
	return 0;
}

static int net_from(const json_t *o, struct net_config *n, struct nerr *err)
{
	static const char *const keys[] = { "mode", "allow_host_network", "bridge", "bridge_flags", "dns",
					    "dns_search", "add_hosts", "extra_hosts", "hosts_file", "egress", NULL };
	static const char *const modes[] = { [NETWORK_NONE] = "none", [NETWORK_HOST] = "host",
					     [NETWORK_BRIDGE] = "bridge", NULL };
	const char *w = "network";
	int mode = (int)n->mode, r;
	json_t *bridge, *egress;

	if (!o)
		return 0;
	if ((r = only_keys(o, w, keys, err)) < 0 ||
	    (r = get_enum(o, w, "mode", modes, "none, host or bridge", &mode, err)) < 0 ||
	    (r = get_bool(o, w, "allow_host_network", &n->allow_host_network, err)) < 0 ||
	    (r = get_bool(o, w, "bridge_flags", &n->bridge_flags, err)) < 0 ||
	    (r = get_strv(o, w, "dns", 256, &n->dns, err)) < 0 ||
	    (r = get_strv(o, w, "dns_search", 256, &n->dns_search, err)) < 0 ||
	    (r = get_strv(o, w, "add_hosts", 1024, &n->add_hosts, err)) < 0 ||
	    (r = get_strv(o, w, "extra_hosts", 1024, &n->extra_hosts, err)) < 0 ||
	    (r = get_str(o, w, "hosts_file", PATH_MAX_LEN, &n->hosts_file, err)) < 0 ||
	    (r = get_obj(o, w, "bridge", &bridge, err)) < 0 || (r = bridge_from(bridge, &n->bridge, err)) < 0 ||
	    (r = get_obj(o, w, "egress", &egress, err)) < 0 || (r = egress_from(egress, &n->egress, err)) < 0)
		return r;
	n->mode = (enum network_mode)mode;
	return 0;
}

static int sec_from(const json_t *o, struct sec_config *s, struct nerr *err)
{
	static const char *const keys[] = { "caps", "landlock", "caps_policy", "caps_policy_sha256", "landlock_policy",
					    "landlock_policy_sha256", "seccomp_profile", "seccomp_profile_sha256",
					    "seccomp_trace", "seccomp_log_denied", "seccomp_log", "allow_memfd_exec",
					    "allow_degraded", "trust_level", "require_lockdown", "landlock_min_abi", NULL };
	static const char *const trust[] = { [TRUST_TRUSTED] = "trusted", [TRUST_UNTRUSTED] = "untrusted", NULL };
	static const char *const lockdown[] = { [LOCKDOWN_NONE] = "none", [LOCKDOWN_INTEGRITY] = "integrity",
						[LOCKDOWN_CONFIDENTIALITY] = "confidentiality", NULL };
	int tl = (int)s->trust, ld = (int)s->require_lockdown;
	uint64_t abi = (uint64_t)s->landlock_min_abi;
	static const char *const ckeys[] = { "bounding", "permitted", "effective", "inheritable", "ambient",
					     "root_gains_at_exec", NULL };
	const char *w = "security";
	json_t *caps, *ll;
	int r;

	if (!o)
		return 0;
	if ((r = only_keys(o, w, keys, err)) < 0 ||
	    (r = get_str(o, w, "caps_policy", PATH_MAX_LEN, &s->caps_policy, err)) < 0 ||
	    (r = get_str(o, w, "caps_policy_sha256", PIN_MAX, &s->caps_policy_sha256, err)) < 0 ||
	    (r = get_str(o, w, "landlock_policy", PATH_MAX_LEN, &s->landlock_policy, err)) < 0 ||
	    (r = get_str(o, w, "landlock_policy_sha256", PIN_MAX, &s->landlock_policy_sha256, err)) < 0 ||
	    (r = get_str(o, w, "seccomp_profile", PATH_MAX_LEN, &s->seccomp_profile, err)) < 0 ||
	    (r = get_str(o, w, "seccomp_profile_sha256", PIN_MAX, &s->seccomp_profile_sha256, err)) < 0 ||
	    (r = get_bool(o, w, "seccomp_trace", &s->seccomp_trace, err)) < 0 ||
	    (r = get_bool(o, w, "seccomp_log_denied", &s->seccomp_log_denied, err)) < 0 ||
	    (r = get_str(o, w, "seccomp_log", PATH_MAX_LEN, &s->seccomp_log, err)) < 0 ||
	    (r = get_bool(o, w, "allow_memfd_exec", &s->allow_memfd_exec, err)) < 0 ||
	    (r = get_bool(o, w, "allow_degraded", &s->allow_degraded, err)) < 0 ||
	    (r = get_enum(o, w, "trust_level", trust, "trusted or untrusted", &tl, err)) < 0 ||
	    (r = get_enum(o, w, "require_lockdown", lockdown, "none, integrity or confidentiality", &ld, err)) < 0 ||
	    (r = get_u64(o, w, "landlock_min_abi", 1000, &abi, err)) < 0 ||
	    (r = get_obj(o, w, "caps", &caps, err)) < 0)
		return r;
	s->trust = (enum trust_level)tl;
	s->require_lockdown = (enum lockdown_level)ld;
	s->landlock_min_abi = (int)abi;
	if (caps && ((r = only_keys(caps, "security.caps", ckeys, err)) < 0 ||
		     (r = get_u64(caps, "security.caps", "bounding", UINT64_MAX, &s->caps.bounding, err)) < 0 ||
		     (r = get_u64(caps, "security.caps", "permitted", UINT64_MAX, &s->caps.permitted, err)) < 0 ||
		     (r = get_u64(caps, "security.caps", "effective", UINT64_MAX, &s->caps.effective, err)) < 0 ||
		     (r = get_u64(caps, "security.caps", "inheritable", UINT64_MAX, &s->caps.inheritable, err)) < 0 ||
		     (r = get_u64(caps, "security.caps", "ambient", UINT64_MAX, &s->caps.ambient, err)) < 0 ||
		     (r = get_bool(caps, "security.caps", "root_gains_at_exec", &s->caps.root_gains_at_exec, err)) < 0))
		return r;
	if ((ll = json_object_get(o, "landlock"))) {
		if (!json_is_null(ll) && !json_is_object(ll))
			return bad(err, w, "landlock", "expected an object or null");
		if ((r = landlock_from(ll, &s->landlock, err)) < 0)
			return r;
	}
	return 0;
}

static int res_from(const json_t *o, struct res_config *res, struct nerr *err)
{
	static const char *const keys[] = { "limits", "rlimits", "require_cgroup", NULL };
	static const char *const lkeys[] = { "memory_max", "swap", "cpu_quota_us", "cpu_period_us", "cpu_weight",
					     "pids_max", "io", "given", "best_effort", NULL };
	static const char *const iokeys[] = { "major", "minor", "riops", "wiops", "rbps", "wbps", NULL };
	static const char *const rkeys[] = { "nofile_soft", "nofile_hard", "memlock", "core", NULL };
	const char *w = "resources", *wl = "resources.limits", *wr = "resources.rlimits", *wi = "resources.limits.io";
	struct cgroup_limits *l = &res->limits;
	struct rlimit_spec *rl = &res->rlimits;
	json_t *lim, *rlim, *io, *e;
	size_t i;
	int r;

	if (!o)
		return 0;
	if ((r = only_keys(o, w, keys, err)) < 0 ||
	    (r = get_bool(o, w, "require_cgroup", &res->require_cgroup, err)) < 0 ||
	    (r = get_obj(o, w, "limits", &lim, err)) < 0 || (r = get_obj(o, w, "rlimits", &rlim, err)) < 0)
		return r;
	if (lim && ((r = only_keys(lim, wl, lkeys, err)) < 0 ||
		    (r = get_u64(lim, wl, "memory_max", UINT64_MAX, &l->memory_max, err)) < 0 ||
		    (r = get_bool(lim, wl, "swap", &l->swap, err)) < 0 ||
		    (r = get_u64(lim, wl, "cpu_quota_us", UINT64_MAX, &l->cpu_quota_us, err)) < 0 ||
		    (r = get_u64(lim, wl, "cpu_period_us", UINT64_MAX, &l->cpu_period_us, err)) < 0 ||
		    (r = get_u64(lim, wl, "cpu_weight", 10000, &l->cpu_weight, err)) < 0 ||
		    (r = get_u64(lim, wl, "pids_max", UINT64_MAX, &l->pids_max, err)) < 0 ||
		    (r = get_uint(lim, wl, "given", UINT_MAX, &l->given, err)) < 0 ||
		    (r = get_bool(lim, wl, "best_effort", &l->best_effort, err)) < 0 ||
		    (r = get_arr(lim, wl, "io", &io, err)) < 0))
		return r;
	if (lim && io) {
		free(l->io);
		l->io = NULL;
		l->nio = 0;
		if (json_array_size(io))
			l->io = xcalloc(json_array_size(io), sizeof(*l->io));
		json_array_foreach(io, i, e) {
			struct io_limit *x = &l->io[i];

			if ((r = only_keys(e, wi, iokeys, err)) < 0 ||
			    (r = get_uint(e, wi, "major", UINT_MAX, &x->major, err)) < 0 ||
			    (r = get_uint(e, wi, "minor", UINT_MAX, &x->minor, err)) < 0 ||
			    (r = get_u64(e, wi, "riops", UINT64_MAX, &x->riops, err)) < 0 ||
			    (r = get_u64(e, wi, "wiops", UINT64_MAX, &x->wiops, err)) < 0 ||
			    (r = get_u64(e, wi, "rbps", UINT64_MAX, &x->rbps, err)) < 0 ||
			    (r = get_u64(e, wi, "wbps", UINT64_MAX, &x->wbps, err)) < 0)
				return r;
			l->nio++;
		}
	}
	if (rlim && ((r = only_keys(rlim, wr, rkeys, err)) < 0 ||
		     (r = get_u64(rlim, wr, "nofile_soft", UINT64_MAX, &rl->nofile_soft, err)) < 0 ||
		     (r = get_u64(rlim, wr, "nofile_hard", UINT64_MAX, &rl->nofile_hard, err)) < 0 ||
		     (r = get_u64(rlim, wr, "memlock", UINT64_MAX, &rl->memlock, err)) < 0 ||
		     (r = get_u64(rlim, wr, "core", UINT64_MAX, &rl->core, err)) < 0))
		return r;
	return 0;
}

static int probe_from(const json_t *o, const char *where, const char *key, struct probe_cmd *p, struct nerr *err)
{
	static const char *const keys[] = { "cmd", "shell", NULL };
	_cleanup_free_ char *w = xasprintf("%s.%s", where, key);
	json_t *v;
	int r;

	if ((r = get_obj(o, where, key, &v, err)) < 0 || !v)
		return r;
	if ((r = only_keys(v, w, keys, err)) < 0 || (r = get_strv(v, w, "cmd", STR_MAX, &p->cmd, err)) < 0 ||
	    (r = get_bool(v, w, "shell", &p->shell, err)) < 0)
		return r;
	if (p->cmd && (!p->cmd[0] || !p->cmd[0][0] || (p->shell && p->cmd[1])))
		return bad(err, w, "cmd", "expected a command (one string with shell)");
	if (!p->cmd && p->shell)
		return bad(err, w, "shell", "without a command");
	return 0;
}

static int service_from(const json_t *o, struct service_config *s, struct nerr *err)
{
	static const char *const keys[] = { "health", "readiness", "readiness_tcp", "restart", "restart_max",
					    "sd_notify", NULL };
	static const char *const hkeys[] = { "probe", "disabled", "interval_ns", "timeout_ns", "start_period_ns",
					     "start_interval_ns", "retries", "on_failure", NULL };
	struct health_config *h = &s->health;
	int action = (int)h->on_failure, restart = (int)s->restart, mode = (int)s->sd_notify, r;
	unsigned port = 0;
	json_t *health;

	if (!o)
		return 0;
	if ((r = only_keys(o, "service", keys, err)) < 0 || (r = get_obj(o, "service", "health", &health, err)) < 0 ||
	    (r = probe_from(o, "service", "readiness", &s->readiness, err)) < 0 ||
	    (r = get_uint(o, "service", "readiness_tcp", 65535, &port, err)) < 0 ||
	    (r = get_enum(o, "service", "restart", restart_policy_names, "no, on-failure, always or unless-stopped", &restart,
			  err)) < 0 ||
	    (r = get_uint(o, "service", "restart_max", 1000000, &s->restart_max, err)) < 0 ||
	    (r = get_enum(o, "service", "sd_notify", sd_notify_mode_names, "off, ready, container, healthy or started", &mode,
			  err)) < 0)
		return r;
	s->readiness_tcp = (uint16_t)port;
	s->restart = (enum restart_policy)restart;
	s->sd_notify = (enum sd_notify_mode)mode;
	if (health && ((r = only_keys(health, "service.health", hkeys, err)) < 0 ||
		       (r = probe_from(health, "service.health", "probe", &h->probe, err)) < 0 ||
		       (r = get_bool(health, "service.health", "disabled", &h->disabled, err)) < 0 ||
		       (r = get_u64(health, "service.health", "interval_ns", UINT64_MAX, &h->interval_ns, err)) < 0 ||
		       (r = get_u64(health, "service.health", "timeout_ns", UINT64_MAX, &h->timeout_ns, err)) < 0 ||
		       (r = get_u64(health, "service.health", "start_period_ns", UINT64_MAX, &h->start_period_ns,
				    err)) < 0 ||
		       (r = get_u64(health, "service.health", "start_interval_ns", UINT64_MAX, &h->start_interval_ns,
				    err)) < 0 ||
		       (r = get_uint(health, "service.health", "retries", 1000000, &h->retries, err)) < 0 ||
		       (r = get_enum(health, "service.health", "on_failure", health_action_names, "none, kill, restart or stop",
				     &action, err)) < 0))
		return r;
	h->on_failure = (enum health_action)action;
	return 0;
}

static int config_from(const json_t *o, struct container_config *c, struct nerr *err)
{
	static const char *const keys[] = { "id", "name", "mode", "detach", "remove", "namespaces", "process",
					    "filesystem", "network", "security", "resources", "audit", "service",
					    "runtime", "topology", NULL };
	static const char *const rkeys[] = { "kind", "path", "gvisor_platform", NULL };
	static const char *const tkeys[] = { "name", "service", "hash", NULL };
	static const char *const nskeys[] = { "rootless", "userns", "time", "cgroup", NULL };
	static const char *const akeys[] = { "enabled", "opt_out", "name_source", "log_opts", "audit_opts", NULL };
	static const char *const modes[] = { [MODE_AGENT] = "agent", [MODE_PRODUCTION] = "production", NULL };
	json_t *ns, *proc, *fs, *net, *sec, *res, *audit, *svc, *topo, *rt;
	int mode = (int)c->mode, kind = (int)c->rt.kind, r;

	if ((r = only_keys(o, "", keys, err)) < 0 ||
	    (r = get_buf(o, "", "id", c->id, sizeof(c->id), true, err)) < 0 ||
	    (r = get_buf(o, "", "name", c->name, sizeof(c->name), true, err)) < 0 ||
	    (r = get_enum(o, "", "mode", modes, "agent or production", &mode, err)) < 0 ||
	    (r = get_bool(o, "", "detach", &c->detach, err)) < 0 ||
	    (r = get_bool(o, "", "remove", &c->remove, err)) < 0 ||
	    (r = get_obj(o, "", "namespaces", &ns, err)) < 0 || (r = get_obj(o, "", "process", &proc, err)) < 0 ||
	    (r = get_obj(o, "", "filesystem", &fs, err)) < 0 || (r = get_obj(o, "", "network", &net, err)) < 0 ||
	    (r = get_obj(o, "", "security", &sec, err)) < 0 || (r = get_obj(o, "", "resources", &res, err)) < 0 ||
	    (r = get_obj(o, "", "audit", &audit, err)) < 0 || (r = get_obj(o, "", "service", &svc, err)) < 0 ||
	    (r = get_obj(o, "", "topology", &topo, err)) < 0 || (r = get_obj(o, "", "runtime", &rt, err)) < 0)
		return r;
	if (rt && ((r = only_keys(rt, "runtime", rkeys, err)) < 0 ||
		   (r = get_enum(rt, "runtime", "kind", runtime_kind_names, "native, gvisor or oci", &kind, err)) < 0 ||
		   (r = get_str(rt, "runtime", "path", PATH_MAX_LEN, &c->rt.path, err)) < 0 ||
		   (r = get_str(rt, "runtime", "gvisor_platform", 64, &c->rt.platform, err)) < 0))
		return r;
	c->rt.kind = (enum runtime_kind)kind;
	if (c->rt.kind == RUNTIME_OCI && !c->rt.path)
		return bad(err, "runtime", "path", "an OCI runtime needs its path");
	if (topo && ((r = only_keys(topo, "topology", tkeys, err)) < 0 ||
		     (r = get_str(topo, "topology", "name", 64, &c->topology, err)) < 0 ||
		     (r = get_str(topo, "topology", "service", 64, &c->topology_service, err)) < 0 ||
		     (r = get_str(topo, "topology", "hash", 64, &c->topology_hash, err)) < 0))
		return r;
	c->mode = (enum service_mode)mode;
	if (c->id[0] && !is_hex_string(c->id, 32))
		return bad(err, "", "id", "expected 32 hexadecimal digits");
	if (ns && ((r = only_keys(ns, "namespaces", nskeys, err)) < 0 ||
		   (r = get_bool(ns, "namespaces", "rootless", &c->ns.rootless, err)) < 0 ||
		   (r = get_bool(ns, "namespaces", "userns", &c->ns.userns, err)) < 0 ||
		   (r = get_bool(ns, "namespaces", "time", &c->ns.time, err)) < 0 ||
		   (r = get_bool(ns, "namespaces", "cgroup", &c->ns.cgroup, err)) < 0))
		return r;
	if (audit && ((r = only_keys(audit, "audit", akeys, err)) < 0 ||
		      (r = get_bool(audit, "audit", "enabled", &c->audit.enabled, err)) < 0 ||
		      (r = get_bool(audit, "audit", "opt_out", &c->audit.opt_out, err)) < 0 ||
		      (r = get_bool(audit, "audit", "name_source", &c->audit.name_source, err)) < 0 ||
		      (r = log_opts_from(audit, "audit", "log_opts", &c->audit.log_opts, err)) < 0 ||
		      (r = log_opts_from(audit, "audit", "audit_opts", &c->audit.audit_opts, err)) < 0))
		return r;
	if ((r = process_from(proc, &c->proc, err)) < 0 || (r = fs_from(fs, &c->fs, err)) < 0 ||
	    (r = net_from(net, &c->net, err)) < 0 || (r = sec_from(sec, &c->sec, err)) < 0 ||
	    (r = res_from(res, &c->res, err)) < 0 || (r = service_from(svc, &c->svc, err)) < 0)
		return r;
	return 0;
}

int container_config_from_json(const json_t *o, struct container_config *c, struct nerr *err)
{
	int r;

	container_config_init(c);
	if ((r = config_from(o, c, err)) < 0)
		container_config_free(c);
	return r;
}
