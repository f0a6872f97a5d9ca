/* The runtime's own audit events: the source header, lifecycle, and the
 * security setup the workload gets. */
#include <errno.h>
#include <string.h>
#include <jansson.h>
#include <nucleus/audit.h>
#include "internal.h"

static json_t *cap_names(uint64_t mask)
{
	json_t *a = json_array();

	for (int i = 0; i < 64; i++)
		if ((mask >> i) & 1)
			json_array_append_new(a, json_string(capability_name(i)));
	return a;
}

static json_t *egress_json(const struct egress_config *e)
{
	json_t *allow = json_array(), *dns = json_array(), *tcp = json_array(), *udp = json_array();
	char buf[80];

	for (size_t i = 0; i < e->nallow; i++) {
		cidr_format(&e->allow[i], buf, sizeof(buf));
		json_array_append_new(allow, json_string(buf));
	}
	for (size_t i = 0; i < e->ndns; i++) {
		cidr_format(&e->dns[i], buf, sizeof(buf));
		*strchr(buf, '/') = '\0';
		json_array_append_new(dns, json_string(buf));
	}
	for (size_t i = 0; i < e->ntcp; i++)
		json_array_append_new(tcp, json_integer(e->tcp_ports[i]));
	for (size_t i = 0; i < e->nudp; i++)
		json_array_append_new(udp, json_integer(e->udp_ports[i]));
	return json_pack("{s:o,s:o,s:o,s:o,s:s}", "allow", allow, "tcp_ports", tcp, "udp_ports", udp,
			 "dns", dns, "default", "deny");
}

int audit_container_begin(struct audit_log **out, const struct container_config *cfg,
			  const struct container_state *st, const struct audit_kernel *k,
			  const struct sc_program *seccomp, struct nerr *err)
{
	struct audit_log *l;
	json_t *argv = json_array(), *env_keys = json_array();
	int r;

	if ((r = audit_log_open(st->cfg.id, st->cfg.name, st->audit_path, &cfg->audit.audit_opts, &l, err)) < 0)
		return r;
	audit_log_secrets_from_env(l, cfg->proc.env);
	/* the first line says where kernel events come from, and why */
	audit_log_event(l, st->created_ns, "audit", "runtime", -1, -1, NULL,
			json_pack("{s:s,s:s}", "source", k ? audit_kernel_source(k) : "none",
				  "reason", k ? audit_kernel_reason(k) : "no kernel source"));
	for (size_t i = 0; cfg->proc.argv && cfg->proc.argv[i]; i++)
		json_array_append_new(argv, json_string(cfg->proc.argv[i]));
	/* names only: values may be secrets */
	for (size_t i = 0; cfg->proc.env && cfg->proc.env[i]; i++) {
		size_t n = strcspn(cfg->proc.env[i], "=");
		json_array_append_new(env_keys, json_stringn(cfg->proc.env[i], n));
	}
	audit_log_event(l, st->created_ns, "create", "runtime", -1, -1, NULL,
			json_pack("{s:o,s:o,s:s,s:s,s:b,s:I,s:I}", "command", argv, "env", env_keys,
				  "hostname", st->cfg.proc.hostname, "cgroup_layout", st->cgroup_layout,
				  "rootless", cfg->ns.rootless, "memory_limit", (json_int_t)cfg->res.limits.memory_max,
				  "pids_limit", (json_int_t)cfg->res.limits.pids_max));
	audit_log_event(l, 0, "capabilities", "runtime", -1, -1, NULL,
			json_pack("{s:o,s:o,s:o,s:o,s:o}", "bounding", cap_names(cfg->sec.caps.bounding),
				  "permitted", cap_names(cfg->sec.caps.permitted),
				  "effective", cap_names(cfg->sec.caps.effective),
				  "inheritable", cap_names(cfg->sec.caps.inheritable),
				  "ambient", cap_names(cfg->sec.caps.ambient)));
	if (cfg->rt.kind != RUNTIME_NATIVE) {
		/* another runtime applies the profile (runsc inside its kernel,
		 * runc by seccomp(2)) and no Landlock: say that, not what a
		 * native start would have installed */
		audit_log_event(l, 0, "oci_runtime", "runtime", -1, -1, NULL,
				json_pack("{s:s,s:s,s:s?,s:s,s:s}", "runtime", runtime_kind_names[cfg->rt.kind],
					  "path", cfg->rt.path, "platform", cfg->rt.platform,
					  "seccomp", cfg->sec.seccomp_profile ? cfg->sec.seccomp_profile : "builtin-default",
					  "landlock", "none: the bundle's read-only mounts and noexec workspaces instead"));
	} else {
		/* filter_sha256: the instructions handed to seccomp(2), hashed
		 * here, never a digest read from the cache */
		json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:s,s:b,s:s}", "profile",
				      cfg->sec.seccomp_trace ? "allow-all (trace mode)" :
				      cfg->sec.seccomp_profile ? cfg->sec.seccomp_profile : "builtin-default",
				      "filter_sha256", seccomp->sha256,
				      "profile_sha256", seccomp->profile_sha256,
				      "instructions", seccomp->len, "cache_key", seccomp->key,
				      "from_cache", seccomp->from_cache,
				      "cache", sc_cache_use_name(seccomp->cache));

		if (seccomp->cache_note[0])
			json_object_set_new(o, "cache_note", json_string(seccomp->cache_note));
		audit_log_event(l, 0, "seccomp", "runtime", -1, -1, NULL, o);
		audit_log_event(l, 0, "landlock", "runtime", -1, -1, NULL,
				json_pack("{s:i,s:s,s:i}", "abi", landlock_abi(),
					  "rules", cfg->sec.landlock ? cfg->sec.landlock_policy : "default",
					  "paths", cfg->sec.landlock ? (int)cfg->sec.landlock->nrules : -1));
	}
	if (cfg->net.egress.enabled)
		audit_log_event(l, 0, "egress", "runtime", -1, -1, NULL, egress_json(&cfg->net.egress));
	*out = l;
	return 0;
}

/* Written as the workload is released to exec, before anything it does can
 * be recorded: the log's order and its times agree. */
void audit_container_started(struct audit_log *l, pid_t host_pid)
{
	audit_log_event(l, 0, "start", "runtime", -1, -1, NULL, json_pack("{s:i}", "host_pid", host_pid));
}

/* Released, but it never ran the command (126/127), or its last steps
 * before exec failed (125). */
void audit_container_failed(struct audit_log *l, int status, const char *why)
{
	audit_log_event(l, 0, "exit", "runtime", -1, -1, NULL,
			json_pack("{s:i,s:b,s:s}", "status", status, "signaled", false, "error", why));
}

void audit_container_exited(struct audit_log *l, const struct container_state *st, struct audit_kernel *k)
{
	uint64_t events = 0, lost = 0;

	audit_kernel_counts(k, &events, &lost);
	if (lost)
		audit_log_event(l, 0, "audit_lost", "runtime", -1, -1, NULL,
				json_pack("{s:I,s:I}", "events", (json_int_t)events, "lost", (json_int_t)lost));
	if (st->oom_killed)
		audit_log_event(l, st->finished_ns, "oom", "runtime", -1, -1, NULL,
				json_pack("{s:I}", "memory_limit", (json_int_t)st->memory_limit));
	audit_log_event(l, st->finished_ns, "exit", "runtime", -1, -1, NULL,
			json_pack("{s:i,s:b}", "status", st->exit_code, "signaled", st->exit_code > 128));
}
