/* The configuration's JSON form: every field survives a round trip, and
 * the reader refuses what is not a configuration with a message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <nucleus/container.h>

static void strv_set(char ***v, const char *a, const char *b)
{
	strv_push(v, a);
	if (b)
		strv_push(v, b);
}

static void cidr(const char *s, struct cidr *out)
{
	struct nerr e = { 0 };

	assert_int_equal(cidr_parse(s, out, &e), 0);
}

/* Every field away from its default. */
static void fill(struct container_config *c)
{
	struct bridge_config *b = &c->net.bridge;
	struct egress_config *e = &c->net.egress;
	struct landlock_spec *l;

	container_config_init(c);
	strcpy(c->id, "0123456789abcdef0123456789abcdef");
	strcpy(c->name, "web-1");
	c->mode = MODE_PRODUCTION;
	c->detach = c->remove = true;
	c->ns = (struct ns_config){ .rootless = true, .userns = true, .time = true, .cgroup = false };

	strv_set(&c->proc.argv, "/bin/sh", "-c");
	strv_push(&c->proc.argv, "echo \"hi\"\n\ttab ü");
	strv_set(&c->proc.env, "PATH=/bin", "SECRET=a=b");
	c->proc.workdir = xstrdup("/context/src");
	c->proc.hostname = xstrdup("box");
	c->proc.tty = c->proc.init = c->proc.interactive = true;
	c->proc.identity.user = xstrdup("app:staff");
	c->proc.identity.group = xstrdup("50");
	strv_set(&c->proc.identity.additional_groups, "audio", "4000000000");
	c->proc.identity.set = true;
	c->proc.identity.uid = 4294967294u;
	c->proc.identity.gid = 50;
	c->proc.identity.groups = xcalloc(3, sizeof(gid_t));
	c->proc.identity.groups[0] = 50;
	c->proc.identity.groups[1] = 29;
	c->proc.identity.groups[2] = 4000000000u;
	c->proc.identity.ngroups = 3;
	c->proc.identity.home = xstrdup("/home/app");

	c->fs.context = xstrdup("/home/u/project");
	c->fs.context_mode = CONTEXT_BIND;
	strv_set(&c->fs.allow_exec, "/tmp/bin", "/context/tools");
	strv_set(&c->fs.exec_paths, "/tmp/bin", "/context");
	c->fs.tmpfs_size = 64 << 20;
	c->fs.allow_chroot_fallback = true;
	c->fs.rootfs = xstrdup("/nix/store/0000000000000000000000000000000a-rootfs");
	c->fs.verify_attestation = c->fs.no_attestation = c->fs.verify_context = true;
	c->fs.attestation_sha256 = xstrdup("bb00000000000000000000000000000000000000000000000000000000000002");
	c->fs.proc_hidepid = 2;
	c->fs.n_secrets = 2;
	c->fs.secrets = xcalloc(2, sizeof(*c->fs.secrets));
	c->fs.secrets[0] = (struct fs_secret){ .src = xstrdup("/etc/app/key"), .dest = xstrdup("/run/secrets/key") };
	c->fs.secrets[1] = (struct fs_secret){ .credential = xstrdup("db"), .dest = xstrdup("/etc/app/db") };
	c->fs.credentials_passthrough = true;
	c->fs.n_volumes = 2;
	c->fs.volumes = xcalloc(2, sizeof(*c->fs.volumes));
	c->fs.volumes[0] = (struct fs_volume){ .src = xstrdup("/srv/data"), .dest = xstrdup("/data"),
					       .access = FS_VOLUME_RW, .exec = true, .chown = true };
	c->fs.volumes[1] = (struct fs_volume){ .src = xstrdup("/srv/conf.toml"), .dest = xstrdup("/etc/app.toml"),
					       .access = FS_VOLUME_RO };
	c->fs.n_tmpfs = 1;
	c->fs.tmpfs = xcalloc(1, sizeof(*c->fs.tmpfs));
	c->fs.tmpfs[0] = (struct fs_tmpfs){ .dest = xstrdup("/cache"), .size = 3ull << 30, .mode = 0750, .exec = true };

	c->net.mode = NETWORK_BRIDGE;
	c->net.allow_host_network = true;
	strcpy(b->name, "nuc-test");
	cidr("10.9.0.0/24", &b->subnet4);
	cidr("fd00:9::/64", &b->subnet6);
	b->subnet4_set = b->subnet6_set = true;
	b->ipv6 = false;
	b->nports = 3;
	b->ports = xcalloc(3, sizeof(*b->ports));
	b->ports[0] = (struct port_spec){ .host_family = 4, .host_port = 8080, .cont_port = 80, .count = 1,
					  .proto = IPPROTO_TCP };
	inet_pton(AF_INET, "127.0.0.1", b->ports[0].host_ip);
	b->ports[1] = (struct port_spec){ .host_family = 6, .host_port = 5300, .cont_port = 53, .count = 10,
					  .proto = IPPROTO_UDP };
	inet_pton(AF_INET6, "::1", b->ports[1].host_ip);
	b->ports[2] = (struct port_spec){ .host_family = 0, .host_port = 9000, .cont_port = 9001, .count = 2,
					  .proto = IPPROTO_TCP };
	c->net.bridge_flags = true;
	strv_set(&c->net.dns, "1.1.1.1", "2606:4700::1111");
	strv_set(&c->net.dns_search, "a.example", "b.example");
	strv_set(&c->net.add_hosts, "db:10.0.0.5", "gw:host-gateway");
	strv_set(&c->net.extra_hosts, "10.0.0.5\tdb", "10.9.0.1\tgw");
	c->net.hosts_file = xstrdup("/run/nucleus/compose/myapp/hosts-internal");
	e->enabled = true;
	e->nallow = 2;
	e->allow = xcalloc(2, sizeof(*e->allow));
	cidr("10.0.0.0/8", &e->allow[0]);
	cidr("2001:db8::/32", &e->allow[1]);
	e->ntcp = 2;
	e->tcp_ports = xcalloc(2, sizeof(uint16_t));
	e->tcp_ports[0] = 443;
	e->tcp_ports[1] = 65535;
	e->nudp = 1;
	e->udp_ports = xcalloc(1, sizeof(uint16_t));
	e->udp_ports[0] = 123;
	e->ndns = 1;
	e->dns = xcalloc(1, sizeof(*e->dns));
	cidr("1.1.1.1/32", &e->dns[0]);
	e->private_netns = false;
	e->allow_raw = true;

	c->sec.caps = (struct cap_sets){ .bounding = (1ull << 63) | 0x3, .permitted = 0x2, .effective = 0x2,
					 .inheritable = 0x1, .ambient = 0x1, .root_gains_at_exec = true };
	l = c->sec.landlock = xcalloc(1, sizeof(*l));
	l->min_abi = 4;
	landlock_spec_allow_exec(l, "/usr");
	landlock_spec_allow_exec(l, "/context/bin");
	l->nnet = 1;
	l->net = xcalloc(1, sizeof(*l->net));
	l->net[0].port = 443;
	l->net[0].access = 2;
	l->restrict_net = true;
	l->scopes = 3;
	l->best_effort = true;
	c->sec.allow_degraded = true;
	c->sec.trust = TRUST_UNTRUSTED;
	c->sec.require_lockdown = LOCKDOWN_CONFIDENTIALITY;
	c->sec.landlock_min_abi = 3;
	c->audit.opt_out = c->audit.name_source = true;
	c->sec.caps_policy = xstrdup("/etc/nucleus/caps.toml");
	c->sec.caps_policy_sha256 = xstrdup("aa00000000000000000000000000000000000000000000000000000000000001");
	c->sec.landlock_policy = xstrdup("/etc/nucleus/ll.toml");
	c->sec.landlock_policy_sha256 = xstrdup("bb00000000000000000000000000000000000000000000000000000000000002");
	c->sec.seccomp_profile = xstrdup("profile.json");
	c->sec.seccomp_profile_sha256 = xstrdup("cc00000000000000000000000000000000000000000000000000000000000003");
	c->sec.seccomp_trace = c->sec.seccomp_log_denied = true;
	c->sec.seccomp_log = xstrdup("/tmp/trace.ndjson");
	c->sec.allow_memfd_exec = true;

	c->res.limits = (struct cgroup_limits){ .memory_max = 512 << 20, .swap = true, .cpu_quota_us = 150000,
						.cpu_period_us = 100000, .cpu_weight = 42, .pids_max = 0,
						.given = LIMIT_MEMORY | LIMIT_CPUS | LIMIT_IO, .best_effort = true };
	c->res.limits.nio = 2;
	c->res.limits.io = xcalloc(2, sizeof(struct io_limit));
	c->res.limits.io[0] = (struct io_limit){ 8, 0, 100, 200, 1 << 20, 2 << 20 };
	c->res.limits.io[1] = (struct io_limit){ 259, 3, 0, 7, 0, UINT64_MAX };
	c->res.rlimits = (struct rlimit_spec){ .nofile_soft = 4096, .nofile_hard = UINT64_MAX,
					       .memlock = 8 << 20, .core = 1 };
	c->res.require_cgroup = true;

	c->audit.enabled = true;
	c->audit.log_opts = (struct log_opts){ 1 << 20, 7 };
	c->audit.audit_opts = (struct log_opts){ 3 << 20, 2 };

	strv_set(&c->svc.health.probe.cmd, "pg_isready", "-U");
	strv_push(&c->svc.health.probe.cmd, "app \"x\"");
	c->svc.health.disabled = true;
	c->svc.health.interval_ns = 1500000000;
	c->svc.health.timeout_ns = UINT64_MAX;
	c->svc.health.start_period_ns = 7;
	c->svc.health.start_interval_ns = 250000000;
	c->svc.health.retries = 9;
	c->svc.health.on_failure = HEALTH_ACTION_STOP;
	strv_push(&c->svc.readiness.cmd, "test -e /tmp/ready && echo ok");
	c->svc.readiness.shell = true;
	c->svc.readiness_tcp = 65535;
	c->svc.restart = RESTART_ON_FAILURE;
	c->svc.restart_max = 3;
	c->svc.sd_notify = SD_NOTIFY_CONTAINER;
	c->rt.kind = RUNTIME_GVISOR;
	c->rt.path = xstrdup("/usr/bin/runsc");
	c->rt.platform = xstrdup("ptrace");
	c->topology = xstrdup("myapp");
	c->topology_service = xstrdup("web");
	c->topology_hash = xstrdup("ab00000000000000000000000000000000000000000000000000000000000001");
}

static void strv_equal(char **a, char **b)
{
	assert_int_equal(a == NULL, b == NULL);
	assert_int_equal(strv_len(a), strv_len(b));
	for (size_t i = 0; a && a[i]; i++)
		assert_string_equal(a[i], b[i]);
}

static void str_equal(const char *a, const char *b)
{
	assert_int_equal(a == NULL, b == NULL);
	if (a)
		assert_string_equal(a, b);
}

static void probe_equal(const struct probe_cmd *a, const struct probe_cmd *b)
{
	strv_equal(a->cmd, b->cmd);
	assert_int_equal(a->shell, b->shell);
}

static void service_equal(const struct service_config *a, const struct service_config *b)
{
	probe_equal(&a->health.probe, &b->health.probe);
	assert_int_equal(a->health.disabled, b->health.disabled);
	assert_true(a->health.interval_ns == b->health.interval_ns);
	assert_true(a->health.timeout_ns == b->health.timeout_ns);
	assert_true(a->health.start_period_ns == b->health.start_period_ns);
	assert_true(a->health.start_interval_ns == b->health.start_interval_ns);
	assert_int_equal(a->health.retries, b->health.retries);
	assert_int_equal(a->health.on_failure, b->health.on_failure);
	probe_equal(&a->readiness, &b->readiness);
	assert_int_equal(a->readiness_tcp, b->readiness_tcp);
	assert_int_equal(a->restart, b->restart);
	assert_int_equal(a->restart_max, b->restart_max);
	assert_int_equal(a->sd_notify, b->sd_notify);
}

static void config_equal(const struct container_config *a, const struct container_config *b)
{
	service_equal(&a->svc, &b->svc);
	str_equal(a->topology, b->topology);
	str_equal(a->topology_service, b->topology_service);
	str_equal(a->topology_hash, b->topology_hash);
	assert_int_equal(a->rt.kind, b->rt.kind);
	str_equal(a->rt.path, b->rt.path);
	str_equal(a->rt.platform, b->rt.platform);
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->detach, b->detach);
	assert_int_equal(a->remove, b->remove);
	assert_memory_equal(&a->ns, &b->ns, sizeof(a->ns));

	strv_equal(a->proc.argv, b->proc.argv);
	strv_equal(a->proc.env, b->proc.env);
	str_equal(a->proc.workdir, b->proc.workdir);
	str_equal(a->proc.hostname, b->proc.hostname);
	assert_int_equal(a->proc.tty, b->proc.tty);
	assert_int_equal(a->proc.init, b->proc.init);
	assert_int_equal(a->proc.interactive, b->proc.interactive);
	str_equal(a->proc.identity.user, b->proc.identity.user);
	str_equal(a->proc.identity.group, b->proc.identity.group);
	strv_equal(a->proc.identity.additional_groups, b->proc.identity.additional_groups);
	assert_int_equal(a->proc.identity.set, b->proc.identity.set);
	assert_int_equal(a->proc.identity.uid, b->proc.identity.uid);
	assert_int_equal(a->proc.identity.gid, b->proc.identity.gid);
	assert_int_equal(a->proc.identity.ngroups, b->proc.identity.ngroups);
	for (size_t i = 0; i < a->proc.identity.ngroups; i++)
		assert_int_equal(a->proc.identity.groups[i], b->proc.identity.groups[i]);
	str_equal(a->proc.identity.home, b->proc.identity.home);

	str_equal(a->fs.context, b->fs.context);
	assert_int_equal(a->fs.context_mode, b->fs.context_mode);
	strv_equal(a->fs.allow_exec, b->fs.allow_exec);
	strv_equal(a->fs.exec_paths, b->fs.exec_paths);
	assert_int_equal(a->fs.tmpfs_size, b->fs.tmpfs_size);
	assert_int_equal(a->fs.allow_chroot_fallback, b->fs.allow_chroot_fallback);
	str_equal(a->fs.rootfs, b->fs.rootfs);
	assert_int_equal(a->fs.verify_attestation, b->fs.verify_attestation);
	str_equal(a->fs.attestation_sha256, b->fs.attestation_sha256);
	assert_int_equal(a->fs.no_attestation, b->fs.no_attestation);
	assert_int_equal(a->fs.verify_context, b->fs.verify_context);
	assert_int_equal(a->fs.proc_hidepid, b->fs.proc_hidepid);
	assert_int_equal(a->fs.n_secrets, b->fs.n_secrets);
	for (size_t i = 0; i < a->fs.n_secrets; i++) {
		str_equal(a->fs.secrets[i].src, b->fs.secrets[i].src);
		str_equal(a->fs.secrets[i].dest, b->fs.secrets[i].dest);
		str_equal(a->fs.secrets[i].credential, b->fs.secrets[i].credential);
	}
	assert_int_equal(a->fs.credentials_passthrough, b->fs.credentials_passthrough);
	assert_int_equal(a->fs.n_volumes, b->fs.n_volumes);
	for (size_t i = 0; i < a->fs.n_volumes; i++) {
		str_equal(a->fs.volumes[i].src, b->fs.volumes[i].src);
		str_equal(a->fs.volumes[i].dest, b->fs.volumes[i].dest);
		assert_int_equal(a->fs.volumes[i].access, b->fs.volumes[i].access);
		assert_int_equal(a->fs.volumes[i].exec, b->fs.volumes[i].exec);
		assert_int_equal(a->fs.volumes[i].chown, b->fs.volumes[i].chown);
	}
	assert_int_equal(a->fs.n_tmpfs, b->fs.n_tmpfs);
	for (size_t i = 0; i < a->fs.n_tmpfs; i++) {
		str_equal(a->fs.tmpfs[i].dest, b->fs.tmpfs[i].dest);
		assert_int_equal(a->fs.tmpfs[i].size, b->fs.tmpfs[i].size);
		assert_int_equal(a->fs.tmpfs[i].mode, b->fs.tmpfs[i].mode);
		assert_int_equal(a->fs.tmpfs[i].exec, b->fs.tmpfs[i].exec);
	}

	assert_int_equal(a->net.mode, b->net.mode);
	assert_int_equal(a->net.allow_host_network, b->net.allow_host_network);
	assert_string_equal(a->net.bridge.name, b->net.bridge.name);
	assert_memory_equal(&a->net.bridge.subnet4, &b->net.bridge.subnet4, sizeof(struct cidr));
	assert_memory_equal(&a->net.bridge.subnet6, &b->net.bridge.subnet6, sizeof(struct cidr));
	assert_int_equal(a->net.bridge.subnet4_set, b->net.bridge.subnet4_set);
	assert_int_equal(a->net.bridge.subnet6_set, b->net.bridge.subnet6_set);
	assert_int_equal(a->net.bridge.ipv6, b->net.bridge.ipv6);
	assert_int_equal(a->net.bridge.nports, b->net.bridge.nports);
	if (a->net.bridge.nports)
		assert_memory_equal(a->net.bridge.ports, b->net.bridge.ports,
				    a->net.bridge.nports * sizeof(struct port_spec));
	assert_int_equal(a->net.bridge_flags, b->net.bridge_flags);
	strv_equal(a->net.dns, b->net.dns);
	strv_equal(a->net.dns_search, b->net.dns_search);
	strv_equal(a->net.add_hosts, b->net.add_hosts);
	strv_equal(a->net.extra_hosts, b->net.extra_hosts);
	str_equal(a->net.hosts_file, b->net.hosts_file);
	assert_int_equal(a->net.egress.enabled, b->net.egress.enabled);
	assert_int_equal(a->net.egress.nallow, b->net.egress.nallow);
	if (a->net.egress.nallow)
		assert_memory_equal(a->net.egress.allow, b->net.egress.allow, a->net.egress.nallow * sizeof(struct cidr));
	assert_int_equal(a->net.egress.ntcp, b->net.egress.ntcp);
	if (a->net.egress.ntcp)
		assert_memory_equal(a->net.egress.tcp_ports, b->net.egress.tcp_ports, a->net.egress.ntcp * 2);
	assert_int_equal(a->net.egress.nudp, b->net.egress.nudp);
	if (a->net.egress.nudp)
		assert_memory_equal(a->net.egress.udp_ports, b->net.egress.udp_ports, a->net.egress.nudp * 2);
	assert_int_equal(a->net.egress.ndns, b->net.egress.ndns);
	if (a->net.egress.ndns)
		assert_memory_equal(a->net.egress.dns, b->net.egress.dns, a->net.egress.ndns * sizeof(struct cidr));
	assert_int_equal(a->net.egress.private_netns, b->net.egress.private_netns);
	assert_int_equal(a->net.egress.allow_raw, b->net.egress.allow_raw);

	assert_memory_equal(&a->sec.caps, &b->sec.caps, sizeof(a->sec.caps));
	assert_int_equal(a->sec.landlock == NULL, b->sec.landlock == NULL);
	if (a->sec.landlock) {
		const struct landlock_spec *x = a->sec.landlock, *y = b->sec.landlock;

		assert_int_equal(x->min_abi, y->min_abi);
		assert_int_equal(x->nrules, y->nrules);
		for (size_t i = 0; i < x->nrules; i++) {
			assert_string_equal(x->rules[i].path, y->rules[i].path);
			assert_int_equal(x->rules[i].access, y->rules[i].access);
		}
		assert_int_equal(x->nnet, y->nnet);
		for (size_t i = 0; i < x->nnet; i++) {
			assert_int_equal(x->net[i].port, y->net[i].port);
			assert_int_equal(x->net[i].access, y->net[i].access);
		}
		assert_int_equal(x->restrict_net, y->restrict_net);
		assert_int_equal(x->scopes, y->scopes);
		assert_int_equal(x->best_effort, y->best_effort);
	}
	str_equal(a->sec.caps_policy, b->sec.caps_policy);
	str_equal(a->sec.caps_policy_sha256, b->sec.caps_policy_sha256);
	str_equal(a->sec.landlock_policy, b->sec.landlock_policy);
	str_equal(a->sec.landlock_policy_sha256, b->sec.landlock_policy_sha256);
	str_equal(a->sec.seccomp_profile, b->sec.seccomp_profile);
	str_equal(a->sec.seccomp_profile_sha256, b->sec.seccomp_profile_sha256);
	assert_int_equal(a->sec.seccomp_trace, b->sec.seccomp_trace);
	assert_int_equal(a->sec.seccomp_log_denied, b->sec.seccomp_log_denied);
	str_equal(a->sec.seccomp_log, b->sec.seccomp_log);
	assert_int_equal(a->sec.allow_memfd_exec, b->sec.allow_memfd_exec);
	assert_int_equal(a->sec.allow_degraded, b->sec.allow_degraded);
	assert_int_equal(a->sec.trust, b->sec.trust);
	assert_int_equal(a->sec.require_lockdown, b->sec.require_lockdown);
	assert_int_equal(a->sec.landlock_min_abi, b->sec.landlock_min_abi);
	assert_int_equal(a->audit.opt_out, b->audit.opt_out);
	assert_int_equal(a->audit.name_source, b->audit.name_source);

	assert_int_equal(a->res.limits.memory_max, b->res.limits.memory_max);
	assert_int_equal(a->res.limits.swap, b->res.limits.swap);
	assert_int_equal(a->res.limits.cpu_quota_us, b->res.limits.cpu_quota_us);
	assert_int_equal(a->res.limits.cpu_period_us, b->res.limits.cpu_period_us);
	assert_int_equal(a->res.limits.cpu_weight, b->res.limits.cpu_weight);
	assert_int_equal(a->res.limits.pids_max, b->res.limits.pids_max);
	assert_int_equal(a->res.limits.nio, b->res.limits.nio);
	if (a->res.limits.nio)
		assert_memory_equal(a->res.limits.io, b->res.limits.io, a->res.limits.nio * sizeof(struct io_limit));
	assert_int_equal(a->res.limits.given, b->res.limits.given);
	assert_int_equal(a->res.limits.best_effort, b->res.limits.best_effort);
	assert_memory_equal(&a->res.rlimits, &b->res.rlimits, sizeof(a->res.rlimits));
	assert_int_equal(a->res.require_cgroup, b->res.require_cgroup);

	assert_int_equal(a->audit.enabled, b->audit.enabled);
	assert_memory_equal(&a->audit.log_opts, &b->audit.log_opts, sizeof(struct log_opts));
	assert_memory_equal(&a->audit.audit_opts, &b->audit.audit_opts, sizeof(struct log_opts));
}

static char *dump(const struct container_config *c)
{
	json_t *o = container_config_to_json(c);
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(o);
	assert_non_null(s);
	return s;
}

/* config -> JSON text -> config: equal field by field, and the text of
 * both the same. */
static void round_trip(const struct container_config *a)
{
	struct container_config b;
	struct nerr e = { 0 };
	char *t1 = dump(a), *t2;
	json_error_t je;
	json_t *o = json_loads(t1, 0, &je);

	assert_non_null(o);
	if (container_config_from_json(o, &b, &e) < 0)
		fail_msg("refused: %s\n%s", e.msg, t1);
	json_decref(o);
	config_equal(a, &b);
	t2 = dump(&b);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	container_config_free(&b);
}

static void every_field_round_trips(void **state)
{
	struct container_config c;

	fill(&c);
	round_trip(&c);
	container_config_free(&c);
}

/* The defaults too, with their NULLs (no context, no policy, no DNS). */
static void defaults_round_trip(void **state)
{
	struct container_config c;

	container_config_init(&c);
	strcpy(c.name, "d");
	strv_push(&c.proc.argv, "true");
	round_trip(&c);
	container_config_free(&c);
}

/* A key left out keeps its default. */
static void absent_keys_keep_defaults(void **state)
{
	struct container_config c, d;
	struct nerr e = { 0 };
	json_t *o = json_pack("{s:s,s:s,s:{s:[s]}}", "id", "", "name", "n", "process", "argv", "sh");

	assert_int_equal(container_config_from_json(o, &c, &e), 0);
	json_decref(o);
	container_config_init(&d);
	strcpy(d.name, "n");
	strv_push(&d.proc.argv, "sh");
	config_equal(&c, &d);
	assert_int_equal(c.res.limits.pids_max, 512);
	assert_true(c.ns.cgroup);
	container_config_free(&c);
	container_config_free(&d);
}

/* Refused, with a message naming the key: `mutate` is applied to a good
 * configuration's JSON. */
static void refused(const char *path, json_t *value, const char *msg)
{
	struct container_config c, good;
	struct nerr e = { 0 };
	json_t *o, *parent;
	char buf[256], *key;

	fill(&good);
	o = container_config_to_json(&good);
	container_config_free(&good);
	snprintf(buf, sizeof(buf), "%s", path);
	parent = o;
	key = buf;
	for (char *dot; (dot = strchr(key, '.')); key = dot + 1) {
		*dot = '\0';
		parent = json_object_get(parent, key);
		assert_non_null(parent);
	}
	if (value)
		json_object_set_new(parent, key, value);
	else
		assert_int_equal(json_object_del(parent, key), 0);
	if (container_config_from_json(o, &c, &e) == 0)
		fail_msg("%s accepted", path);
	json_decref(o);
	if (!strstr(e.msg, msg))
		fail_msg("%s: `%s` does not say `%s`", path, e.msg, msg);
	assert_null(strchr(e.msg, '\n'));
	/* nothing is left allocated in a refused configuration */
	assert_null(c.proc.argv);
	assert_null(c.sec.landlock);
}

static void rejects(void **state)
{
	/* wrong types */
	refused("process.argv", json_string("ls"), "config: process.argv: expected an array of strings");
	refused("process.tty", json_integer(1), "config: process.tty: expected true or false");
	refused("process.identity.uid", json_integer(4294967295), "process.identity.uid: out of range");
	refused("process.identity.groups", json_pack("[i,s]", 1, "x"),
		"config: process.identity.groups: expected an array of group ids");
	refused("process.identity.groups", json_pack("[i]", -1), "process.identity.groups: expected an array of group ids");
	refused("process.identity.shell", json_string("/bin/sh"), "config: process.identity.shell: unknown key");
	refused("process.identity", json_string("root"), "config: process.identity: expected an object");
	refused("detach", json_string("yes"), "config: detach: expected true or false");
	refused("resources.limits.memory_max", json_integer(-1), "config: resources.limits.memory_max: "
		"expected a non-negative integer");
	refused("resources.limits.cpu_weight", json_integer(10001), "resources.limits.cpu_weight: out of range");
	refused("network.egress.tcp_ports", json_pack("[i]", 70000), "network.egress.tcp_ports: expected an array of ports");
	refused("network.bridge", json_string("nucleus0"), "config: network.bridge: expected an object");
	refused("security.landlock", json_integer(3), "config: security.landlock: expected an object or null");
	refused("security.landlock.rules", json_pack("[{s:i}]", "access", 1), "security.landlock.rules.path: missing");
	refused("service.restart", json_string("sometimes"),
		"config: service.restart: unknown value `sometimes` (no, on-failure, always or unless-stopped)");
	refused("service.health", json_pack("{s:{s:[s,s],s:b}}", "probe", "cmd", "a", "b", "shell", 1),
		"config: service.health.probe.cmd: expected a command (one string with shell)");
	refused("runtime.kind", json_string("kata"), "config: runtime.kind: unknown value `kata` (native, gvisor or oci)");
	refused("runtime", json_pack("{s:s}", "kind", "oci"), "config: runtime.path: an OCI runtime needs its path");
	refused("runtime.platform", json_string("ptrace"), "config: runtime.platform: unknown key");
	refused("service.readiness_tcp", json_integer(65536), "service.readiness_tcp: out of range");
	refused("service.health", json_pack("{s:s}", "on_failure", "explode"),
		"service.health.on_failure: unknown value `explode`");
	/* unknown enum values */
	refused("network.mode", json_string("wifi"), "config: network.mode: unknown value `wifi` (none, host or bridge)");
	refused("mode", json_string("service"), "config: mode: unknown value `service`");
	refused("filesystem.context_mode", json_string("overlay"), "unknown value `overlay` (copy or bind)");
	refused("network.bridge.ports", json_pack("[{s:s}]", "proto", "sctp"), "unknown value `sctp` (tcp or udp)");
	refused("filesystem.volumes", json_pack("[{s:s,s:s,s:s}]", "src", "/a", "dest", "/b", "access", "rx"),
		"filesystem.volumes.access: unknown value `rx` (default, ro or rw)");
	refused("filesystem.volumes", json_pack("[{s:s}]", "src", "/a"), "filesystem.volumes.dest: missing");
	refused("filesystem.volumes", json_pack("[s]", "/a:/b"), "filesystem.volumes: expected an array of objects");
	refused("filesystem.tmpfs", json_pack("[{s:s,s:i}]", "dest", "/t", "mode", 010000), "filesystem.tmpfs.mode: out of range");
	refused("filesystem.tmpfs", json_pack("[{s:s,s:b}]", "dest", "/t", "ro", 1), "filesystem.tmpfs.ro: unknown key");
	/* what is not a value of its kind */
	refused("network.egress.allow", json_pack("[s]", "10.0.0.0/33"), "config: network.egress.allow: invalid CIDR");
	refused("id", json_string("not-hex-not-hex-not-hex-not-hex!"), "config: id: expected 32 hexadecimal digits");
	/* too long for its field */
	refused("name", json_string("0123456789012345678901234567890123456789012345678901234567890123"),
		"config: name: longer than 63 bytes");
	refused("network.bridge.name", json_string("a-bridge-name-too-long"), "network.bridge.name: longer than 15 bytes");
	refused("security.seccomp_profile_sha256", json_string("00000000000000000000000000000000000000000000000000000000000000000"),
		"longer than 64 bytes");
	/* missing required keys, unknown keys */
	refused("name", NULL, "config: name: missing");
	refused("process.argv", NULL, "config: process.argv: missing");
	refused("process", NULL, "config: process: missing");
	refused("network.mod", json_string("none"), "config: network.mod: unknown key");
	refused("seccomp", json_true(), "config: seccomp: unknown key");
	refused("filesystem.secrets", json_pack("[{s:s}]", "src", "/k"), "config: filesystem.secrets.dest: missing");
	refused("filesystem.secrets", json_pack("[{s:s,s:s}]", "dest", "/k", "content", "x"),
		"config: filesystem.secrets.content: unknown key");
	refused("filesystem.secrets", json_pack("[s]", "/k"), "config: filesystem.secrets: expected an array of objects");
}

static void not_an_object(void **state)
{
	struct container_config c;
	struct nerr e = { 0 };
	json_t *a = json_array();

	assert_true(container_config_from_json(a, &c, &e) < 0);
	assert_non_null(strstr(e.msg, "expected an object"));
	json_decref(a);
	assert_true(container_config_from_json(NULL, &c, &e) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_field_round_trips),
		cmocka_unit_test(defaults_round_trip),
		cmocka_unit_test(absent_keys_keep_defaults),
		cmocka_unit_test(rejects),
		cmocka_unit_test(not_an_object),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
