/* Container configuration: defaults, environment, validation. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <nucleus/container.h>

void container_config_init(struct container_config *c)
{
	memset(c, 0, sizeof(*c));
	c->fs.context_mode = CONTEXT_COPY;
	c->ns.cgroup = true;
	c->mode = MODE_AGENT;
	c->net.mode = NETWORK_NONE;
	bridge_config_init(&c->net.bridge);
	c->res.limits.pids_max = 512;
	rlimits_default(&c->res.rlimits);
	c->audit.log_opts = (struct log_opts){ LOG_DEFAULT_MAX_SIZE, LOG_DEFAULT_MAX_FILES };
	c->audit.audit_opts = (struct log_opts){ AUDIT_DEFAULT_MAX_SIZE, AUDIT_DEFAULT_MAX_FILES };
	service_config_init(&c->svc);
}

void container_config_free(struct container_config *c)
{
	strv_free(c->proc.argv);
	strv_free(c->proc.env);
	free(c->proc.workdir);
	free(c->proc.hostname);
	identity_free(&c->proc.identity);
	free(c->fs.context);
	strv_free(c->fs.allow_exec);
	strv_free(c->fs.exec_paths);
	free(c->fs.rootfs);
	container_secrets_free(&c->fs);
	for (size_t i = 0; i < c->fs.n_volumes; i++)
		fs_volume_free(&c->fs.volumes[i]);
	free(c->fs.volumes);
	for (size_t i = 0; i < c->fs.n_tmpfs; i++)
		fs_tmpfs_free(&c->fs.tmpfs[i]);
	free(c->fs.tmpfs);
	free(c->fs.attestation_sha256);
	strv_free(c->net.dns);
	strv_free(c->net.dns_search);
	strv_free(c->net.add_hosts);
	free(c->net.hosts_file);
	strv_free(c->net.extra_hosts);
	bridge_config_free(&c->net.bridge);
	egress_config_free(&c->net.egress);
	if (c->sec.landlock) {
		landlock_spec_free(c->sec.landlock);
		free(c->sec.landlock);
	}
	free(c->sec.caps_policy);
	free(c->sec.caps_policy_sha256);
	free(c->sec.landlock_policy);
	free(c->sec.landlock_policy_sha256);
	free(c->sec.seccomp_profile);
	free(c->sec.seccomp_profile_sha256);
	free(c->sec.seccomp_log);
	free(c->res.limits.io);
	service_config_free(&c->svc);
	free(c->rt.path);
	free(c->rt.platform);
	free(c->topology);
	free(c->topology_service);
	free(c->topology_hash);
	memset(c, 0, sizeof(*c));
}

bool env_name_forbidden(const char *name)
{
	/* Every LD_* variable steers the dynamic loader (LD_PRELOAD,
	 * LD_LIBRARY_PATH, LD_AUDIT, LD_DEBUG_OUTPUT, LD_PROFILE ...);
	 * GLIBC_TUNABLES has had loader bugs of its own. */
	return str_has_prefix(name, "LD_") || !strcmp(name, "GLIBC_TUNABLES");
}

static void env_set(char ***env, const char *kv)
{
	size_t klen = strcspn(kv, "=");

	for (size_t i = 0; *env && (*env)[i]; i++) {
		if (!strncmp((*env)[i], kv, klen) && (*env)[i][klen] == '=') {
			free((*env)[i]);
			(*env)[i] = xstrdup(kv);
			return;
		}
	}
	strv_push(env, kv);
}

int env_add(char ***env, const char *arg, struct nerr *err)
{
	size_t klen = strcspn(arg, "=");
	_cleanup_free_ char *name = strndup(arg, klen);

	if (!name || klen == 0)
		return nerr_set(err, 0, "invalid environment variable `%s`: empty name", arg);
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return nerr_set(err, 0, "invalid environment variable name `%s`", name);
	if (env_name_forbidden(name))
		return nerr_set(err, 0, "environment variable `%s` is not allowed: it changes how "
				"programs are loaded", name);
	if (arg[klen] == '=') {
		env_set(env, arg);
	} else {
		/* "-e NAME" passes the caller's value, as docker does; unset stays unset. */
		const char *v = getenv(name);
		if (v) {
			_cleanup_free_ char *kv = xasprintf("%s=%s", name, v);
			env_set(env, kv);
		}
	}
	return 0;
}

void env_defaults(char ***env, bool tty)
{
	const char *term = getenv("TERM");

	env_set(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	/* The root is read-only: a home that can be written is /tmp. */
	env_set(env, "HOME=/tmp");
	if (tty) {
		_cleanup_free_ char *t = xasprintf("TERM=%s", term && *term ? term : "xterm");
		env_set(env, t);
	}
}

static bool valid_name(const char *s);

bool container_name_valid(const char *s)
{
	return valid_name(s);
}

static bool valid_name(const char *s)
{
	/* docker: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
	if (!*s || strlen(s) > 63)
		return false;
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
			return false;
	return true;
}

static bool valid_hostname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '-' || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return false;
	return true;
}

/* The workload identity, resolved before anything exists (docs/identity.md). */
static int validate_identity(struct container_config *c, struct nerr *err)
{
	struct identity *id = &c->proc.identity;
	int r;

	if ((r = identity_resolve(id, c->fs.rootfs, err)) < 0 || !id->set)
		return r;
	if (c->ns.rootless) {
		/* the map has the caller's ids as 0 and nothing else; setgroups
		 * is denied there */
		if (id->uid != 0)
			return nerr_set(err, 0, "--user %s: --rootless maps a single id (yours, as 0), so the "
					"workload runs as 0; other users need root and --userns", id->user);
		if (id->gid != 0)
			return nerr_set(err, 0, "group %u: --rootless maps a single id (yours, as 0), so the "
					"workload's group is 0; other groups need root and --userns", (unsigned)id->gid);
		for (size_t i = 0; id->additional_groups && id->additional_groups[i]; i++)
			if (strcmp(id->additional_groups[i], "0"))
				return nerr_set(err, 0, "--additional-group %s: supplementary groups need a user "
						"namespace that maps them: --rootless maps a single id",
						id->additional_groups[i]);
		/* the user's own memberships cannot be set either: the workload
		 * keeps the groups it has */
		free(id->groups);
		id->groups = NULL;
		id->ngroups = 0;
	}
	return 0;
}

int container_config_validate(struct container_config *c, struct nerr *err)
{
	struct stat st;
	int r;

	if (!c->proc.argv || !c->proc.argv[0])
		return nerr_set(err, 0, "no command given (usage: nucleus run [OPTIONS] -- COMMAND [ARG...])");
	if (!c->proc.argv[0][0])
		return nerr_set(err, 0, "the command is an empty string");
	if (c->name[0] && !valid_name(c->name))
		return nerr_set(err, 0, "invalid container name `%s`: only [a-zA-Z0-9][a-zA-Z0-9_.-] "
				"are allowed, at most 63 characters", c->name);
	if (c->proc.hostname && !valid_hostname(c->proc.hostname))
		return nerr_set(err, 0, "invalid hostname `%s`", c->proc.hostname);
	/* a pinned manifest is one to verify; then the mode's requirements,
	 * which shape what the rest checks */
	if (c->fs.attestation_sha256)
		c->fs.verify_attestation = true;
	if ((r = service_mode_apply(c, err)) < 0)
		return r;
	if (c->sec.landlock_min_abi > landlock_abi())
		return nerr_set(err, 0, "Landlock ABI %d or later is required; this kernel has ABI %d",
				c->sec.landlock_min_abi, landlock_abi());
	if (c->fs.verify_attestation && !c->fs.rootfs)
		return nerr_set(err, 0, "%s needs --rootfs", c->fs.attestation_sha256 ?
				"--rootfs-attestation-sha256" : "--verify-rootfs-attestation");
	if (c->fs.context) {
		if (stat(c->fs.context, &st) < 0)
			return nerr_set(err, errno, "context directory `%s`", c->fs.context);
		if (!S_ISDIR(st.st_mode))
			return nerr_set(err, 0, "context `%s` is not a directory", c->fs.context);
	}
	if (c->fs.tmpfs_size && c->res.limits.memory_max && c->fs.tmpfs_size > c->res.limits.memory_max) {
		char t[32], m[32];

		format_size(c->fs.tmpfs_size, t, sizeof(t));
		format_size(c->res.limits.memory_max, m, sizeof(m));
		return nerr_set(err, 0, "--tmpfs-size %s is more than --memory %s (tmpfs pages are memory)", t, m);
	}
	if ((r = container_secrets_validate(c, err)) < 0)
		return r;
	if ((r = service_config_validate(c, err)) < 0)
		return r;
	if ((r = runtime_config_validate(c, err)) < 0)
		return r;
	if ((r = fs_mounts_check(&c->fs, c->res.limits.memory_max, err)) < 0)
		return r;
	if (!c->fs.tmpfs_size)
		c->fs.tmpfs_size = c->res.limits.memory_max && c->res.limits.memory_max < TMPFS_SIZE_DEFAULT ?
				c->res.limits.memory_max : TMPFS_SIZE_DEFAULT;
	if (c->proc.workdir && c->proc.workdir[0] != '/')
		return nerr_set(err, 0, "the working directory `%s` is not an absolute path", c->proc.workdir);
	if (!c->proc.workdir)
		c->proc.workdir = xstrdup(c->fs.context ? "/context" : "/");
	if (c->ns.rootless && c->ns.userns)
		return nerr_set(err, 0, "--rootless and --userns cannot be combined");
	if (c->ns.userns && geteuid() != 0)
		return nerr_set(err, 0, "--userns needs root; use --rootless as an ordinary user");
	if (c->sec.require_lockdown != LOCKDOWN_NONE && (r = lockdown_require(c->sec.require_lockdown, err)) < 0)
		return r;
	if ((r = validate_identity(c, err)) < 0)
		return r;
	if (c->net.mode == NETWORK_HOST && !c->net.allow_host_network)
		return nerr_set(err, 0, "--network host shares the host's network namespace; "
				"add --allow-host-network to accept that");
	if (c->net.mode == NETWORK_HOST && !c->net.dns) {
		/* host networking: the host's resolvers (and, under an egress
		 * policy, only those on port 53) */
		_cleanup_free_ char *conf = NULL;
		if (read_file("/etc/resolv.conf", 1 << 16, &conf, NULL) == 0) {
			char *save = NULL;
			for (char *l = strtok_r(conf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
				char ns[64];
				if (sscanf(l, "nameserver %63s", ns) == 1 && egress_add_dns(&c->net.egress, ns, NULL) == 0)
					strv_push(&c->net.dns, ns);
			}
		}
	}
	if (c->net.bridge_flags && c->net.mode != NETWORK_BRIDGE)
		return nerr_set(err, 0, "--bridge, --subnet and --publish need --network bridge");
	if (c->net.mode == NETWORK_BRIDGE) {
		if (c->ns.rootless)
			return nerr_set(err, 0, "--network bridge needs root (rootless containers have "
					"--network none)");
		if ((r = bridge_config_validate(&c->net.bridge, err)) < 0)
			return r;
		/* agent mode: the original's public resolvers (and, under an
		 * egress policy, port 53 to them) */
		for (const char *const *d = net_bridge_default_dns(); !c->net.dns && *d; d++)
			egress_add_dns(&c->net.egress, *d, NULL);
		if (!c->net.dns)
			for (const char *const *d = net_bridge_default_dns(); *d; d++)
				strv_push(&c->net.dns, *d);
	}
	strv_free(c->net.extra_hosts);
	c->net.extra_hosts = NULL;
	for (size_t i = 0; c->net.add_hosts && c->net.add_hosts[i]; i++) {
		char gw[64], *line = NULL;

		if (c->net.mode == NETWORK_BRIDGE)
			bridge_config_gateway(&c->net.bridge, 4, gw, sizeof(gw));
		if ((r = add_host_parse(c->net.add_hosts[i], c->net.mode == NETWORK_BRIDGE ? gw : NULL, &line, err)) < 0)
			return nerr_prefix(err, "--add-host");
		strv_push_take(&c->net.extra_hosts, line);
	}
	/* its lines are the container's bridge addresses */
	if (c->net.hosts_file && c->net.mode != NETWORK_BRIDGE)
		return nerr_set(err, 0, "--hosts-file needs --network bridge");
	if (c->net.hosts_file && c->net.hosts_file[0] != '/')
		return nerr_set(err, 0, "--hosts-file `%s`: an absolute path", c->net.hosts_file);
	c->net.egress.private_netns = c->net.mode != NETWORK_HOST;
	/* never run unfiltered when a policy was asked for */
	if (c->net.egress.enabled)
		c->res.require_cgroup = true;
	if (c->sec.seccomp_trace && !c->sec.seccomp_log)
		return nerr_set(err, 0, "--seccomp-mode trace needs --seccomp-log FILE");
	if (c->sec.seccomp_log && !c->sec.seccomp_trace)
		return nerr_set(err, 0, "--seccomp-log is only for --seccomp-mode trace");
	if (c->sec.seccomp_trace && c->sec.seccomp_log_denied)
		return nerr_set(err, 0, "--seccomp-log-denied has nothing to log in trace mode (allow-all)");
	if (c->sec.seccomp_profile_sha256 && !c->sec.seccomp_profile)
		return nerr_set(err, 0, "--seccomp-profile-sha256 needs --seccomp-profile");
	if (c->sec.seccomp_trace && c->sec.seccomp_profile)
		return nerr_set(err, 0, "--seccomp-mode trace records with an allow-all filter; "
				"it cannot be combined with --seccomp-profile");
	if (c->sec.seccomp_trace || c->audit.enabled)
		c->res.require_cgroup = true;    /* the recorder and audit key on the cgroup */
	/* BPF programs and the pinned maps under /sys/fs/bpf are root's: say
	 * so before anything exists, rather than fail on a bare EPERM later */
	if (geteuid() != 0) {
		if (c->sec.seccomp_trace)
			return nerr_set(err, 0, "--seccomp-mode trace needs root: its recorder is a BPF program "
					"(CAP_BPF and CAP_PERFMON on the host), which a user namespace cannot grant");
		if (c->audit.enabled)
			return nerr_set(err, 0, "--audit needs root: its kernel events come from BPF programs "
					"(CAP_BPF and CAP_PERFMON on the host), which a user namespace cannot grant");
		if (c->net.egress.enabled)
			return nerr_set(err, 0, "egress flags need root: the policy is BPF on the container's cgroup "
					"(CAP_BPF and CAP_NET_ADMIN on the host), which a user namespace cannot grant");
	}
	if (c->remove && !c->detach)
		log_debug("--rm without -d: foreground containers are always removed");
	return 0;
}

/* Pins are checked before a policy is parsed; both before anything exists. */
int container_config_load_policies(struct container_config *cfg, struct nerr *err)
{
	const char *caps = cfg->sec.caps_policy, *caps_sha = cfg->sec.caps_policy_sha256;
	const char *ll = cfg->sec.landlock_policy, *ll_sha = cfg->sec.landlock_policy_sha256;
	int r;

	if ((caps_sha && !caps) || (ll_sha && !ll))
		return nerr_set(err, 0, "a --*-sha256 pin needs its policy file");
	if (caps) {
		if ((r = policy_check_pin("capability policy", caps, caps_sha, err)) < 0 ||
		    (r = caps_policy_load(caps, &cfg->sec.caps, err)) < 0)
			return r;
		/* uid 0's exec rule (bounding | inheritable) is not a non-root
		 * workload's: it would get its ambient set alone */
		if (cfg->proc.identity.set && cfg->proc.identity.uid != 0 && cfg->sec.caps.root_gains_at_exec &&
		    (cfg->sec.caps.effective & ~cfg->sec.caps.ambient))
			return nerr_set(err, 0, "capability policy `%s` gives its capabilities to uid 0 at exec; "
					"the workload runs as uid %u and would get only the ambient ones: make them "
					"ambient (and inheritable) for a non-root --user", caps,
					(unsigned)cfg->proc.identity.uid);
	}
	if (ll) {
		cfg->sec.landlock = xcalloc(1, sizeof(*cfg->sec.landlock));
		if ((r = policy_check_pin("Landlock policy", ll, ll_sha, err)) < 0 ||
		    (r = landlock_policy_load(ll, cfg->sec.landlock, err)) < 0) {
			free(cfg->sec.landlock);
			cfg->sec.landlock = NULL;
			return r;
		}
		if (cfg->sec.landlock->min_abi > landlock_abi())
			return nerr_set(err, 0, "Landlock policy `%s` needs ABI %d; this kernel has ABI %d",
					ll, cfg->sec.landlock->min_abi, landlock_abi());
	}
	return container_exec_plan(cfg, err);
}

