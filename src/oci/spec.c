/* config.json's content: the process, the root, the mounts (mounts.c),
 * the namespaces, cgroup resources, devices and seccomp (seccomp.c) of
 * the container a native run would make from the same configuration.
 * Objects are built in one fixed order, so the output is byte-stable.
 *
 * Not in the bundle, by design: hooks (nucleus prepares the network
 * namespace itself and names it, opts->netns_path; nothing else needs
 * the runtime to call back), and the BPF programs (egress, audit, the
 * syscall recorder), which nucleus attaches to the cgroup the bundle
 * names (linux.cgroupsPath) around the runtime, not the runtime. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <nucleus/isolation.h>
#include "internal.h"

/* The user namespace's maps as native writes them (run.c's validate
 * stage): --rootless the caller as 0, --userns a subordinate range. */
static int userns_map(const struct container_config *c, struct userns_map *m, struct nerr *err)
{
	memset(m, 0, sizeof(*m));
	if (c->ns.rootless) {
		userns_map_rootless(m, geteuid(), getegid());
		return 0;
	}
	if (c->ns.userns)
		return userns_map_range(m, err);
	return 0;
}

static uint32_t map_id(const struct idmap *m, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (id >= m[i].inside && id - m[i].inside < m[i].count)
			return m[i].outside + (id - m[i].inside);
	return id;
}

void oci_host_ids(const struct container_config *c, uid_t uid, gid_t gid, uid_t *huid, gid_t *hgid)
{
	struct userns_map m;
	struct nerr err = { 0 };

	*huid = uid;
	*hgid = gid;
	if ((c->ns.rootless || c->ns.userns) && userns_map(c, &m, &err) == 0) {
		*huid = map_id(m.uid, m.nuid, uid);
		*hgid = map_id(m.gid, m.ngid, gid);
	}
}

static json_t *caps_json(uint64_t set)
{
	json_t *a = json_array();

	for (int i = 0; i < 64; i++)
		if (set & (1ull << i))
			json_array_append_new(a, json_string(capability_name(i)));
	return a;
}

static json_t *u64(uint64_t v)
{
	/* RLIM_INFINITY and the like: the largest value a signed JSON integer
	 * carries, as good as unlimited for every limit */
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* As rlimits.c sets them: never a hard limit above the one nucleus was
 * given (kept lower so that a start works where raising is refused), the
 * soft one at most the hard one. */
static json_t *rlimit(const char *type, int res, uint64_t soft, uint64_t hard)
{
	json_t *o = json_object();
	struct rlimit cur;

	if (getrlimit(res, &cur) == 0 && cur.rlim_max != RLIM_INFINITY && hard > cur.rlim_max)
		hard = cur.rlim_max;
	if (soft > hard)
		soft = hard;

	json_object_set_new(o, "type", json_string(type));
	json_object_set_new(o, "hard", u64(hard));
	json_object_set_new(o, "soft", u64(soft));
	return o;
}

/* What child.c does before the exec: the identity (without --user, root
 * of the container with no supplementary groups), capabilities (what the
 * policy keeps; all five sets empty by default), rlimits, no_new_privs.
 * --init's minimal init has no OCI field: the command is pid 1 (runsc's
 * sentry and runc reap nothing for it), a difference in signal handling,
 * not in confinement. */
static json_t *process_json(const struct container_config *c)
{
	const struct identity *id = &c->proc.identity;
	const struct cap_sets *caps = &c->sec.caps;
	json_t *p = json_object(), *u = json_object(), *cj = json_object(), *rl = json_array();
	uint64_t bounding = caps->bounding;

	json_object_set_new(p, "terminal", json_boolean(c->proc.tty));
	json_object_set_new(u, "uid", json_integer(id->set ? id->uid : 0));
	json_object_set_new(u, "gid", json_integer(id->set ? id->gid : 0));
	if (id->set && id->ngroups) {
		json_t *g = json_array();

		for (size_t i = 0; i < id->ngroups; i++)
			json_array_append_new(g, json_integer(id->groups[i]));
		json_object_set_new(u, "additionalGids", g);
	}
	json_object_set_new(p, "user", u);
	json_object_set_new(p, "args", oci_strings((const char *const *)c->proc.argv));
	json_object_set_new(p, "env", oci_strings((const char *const *)c->proc.env));
	json_object_set_new(p, "cwd", json_string(c->proc.workdir ? c->proc.workdir : "/"));
	/* Native locks securebits so uid 0 gains nothing at exec but its
	 * ambient set; an OCI runtime's uid 0 gets its bounding set at exec:
	 * the bounding set is narrowed to what native's root ends with. */
	if ((!id->set || id->uid == 0) && !caps->root_gains_at_exec)
		bounding &= caps->ambient | caps->permitted;
	json_object_set_new(cj, "bounding", caps_json(bounding));
	json_object_set_new(cj, "effective", caps_json(caps->effective & bounding));
	json_object_set_new(cj, "inheritable", caps_json(caps->inheritable));
	json_object_set_new(cj, "permitted", caps_json(caps->permitted & bounding));
	json_object_set_new(cj, "ambient", caps_json(caps->ambient & bounding));
	json_object_set_new(p, "capabilities", cj);
	json_array_append_new(rl, rlimit("RLIMIT_NOFILE", RLIMIT_NOFILE, c->res.rlimits.nofile_soft, c->res.rlimits.nofile_hard));
	json_array_append_new(rl, rlimit("RLIMIT_MEMLOCK", RLIMIT_MEMLOCK, c->res.rlimits.memlock, c->res.rlimits.memlock));
	json_array_append_new(rl, rlimit("RLIMIT_CORE", RLIMIT_CORE, c->res.rlimits.core, c->res.rlimits.core));
	json_object_set_new(p, "rlimits", rl);
	json_object_set_new(p, "noNewPrivileges", json_true());
	return p;
}

static json_t *ns(const char *type, const char *path)
{
	json_t *o = json_object();

	json_object_set_new(o, "type", json_string(type));
	if (path)
		json_object_set_new(o, "path", json_string(path));
	return o;
}

/* ns_clone_flags's namespaces, the cgroup one (child.c unshares it once
 * it is in its cgroups: a runtime does the same), time with --time-ns
 * (runc 1.1 does not know it; runc 1.2 and crun do). */
static json_t *namespaces_json(const struct container_config *c, const struct oci_bundle_opts *o)
{
	json_t *a = json_array();

	json_array_append_new(a, ns("pid", NULL));
	json_array_append_new(a, ns("mount", NULL));
	json_array_append_new(a, ns("ipc", NULL));
	json_array_append_new(a, ns("uts", NULL));
	if (c->net.mode != NETWORK_HOST)
		json_array_append_new(a, ns("network", o ? o->netns_path : NULL));
	if (c->ns.cgroup)
		json_array_append_new(a, ns("cgroup", NULL));
	if (c->ns.rootless || c->ns.userns)
		json_array_append_new(a, ns("user", NULL));
	if (c->ns.time)
		json_array_append_new(a, ns("time", NULL));
	return a;
}

static json_t *idmap_json(const struct idmap *m, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "containerID", json_integer(m[i].inside));
		json_object_set_new(o, "hostID", json_integer(m[i].outside));
		json_object_set_new(o, "size", json_integer(m[i].count));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *device_rule(bool allow, const char *type, long major, long minor)
{
	json_t *o = json_object();

	json_object_set_new(o, "allow", json_boolean(allow));
	if (type)
		json_object_set_new(o, "type", json_string(type));
	if (major >= 0)
		json_object_set_new(o, "major", json_integer(major));
	if (minor >= 0)
		json_object_set_new(o, "minor", json_integer(minor));
	json_object_set_new(o, "access", json_string("rwm"));
	return o;
}

static json_t *throttle(const struct cgroup_limits *lim, size_t field)
{
	json_t *a = json_array();

	for (size_t i = 0; i < lim->nio; i++) {
		const struct io_limit *io = &lim->io[i];
		uint64_t v = field == 0 ? io->rbps : field == 1 ? io->wbps : field == 2 ? io->riops : io->wiops;
		json_t *o;

		if (!v)
			continue;
		o = json_object();
		json_object_set_new(o, "major", json_integer(io->major));
		json_object_set_new(o, "minor", json_integer(io->minor));
		json_object_set_new(o, "rate", u64(v));
		json_array_append_new(a, o);
	}
	return a;
}

/* limits.c's files: memory (and swap off unless --memory-swap: OCI's swap
 * is memory plus swap, so the same value; runc writes memsw on v1 and
 * memory.swap.max 0 on v2), the CFS quota, cpu.shares from the weight as
 * limits.c converts it (runc turns shares back into cpu.weight on v2),
 * pids, io throttles; the device cgroup allows the nodes /dev has. */
static json_t *resources_json(const struct container_config *c, const struct oci_bundle_opts *o)
{
	const struct cgroup_limits *lim = &c->res.limits;
	size_t n;
	const struct fs_dev_node *nodes = fs_dev_nodes(&n);
	json_t *r = json_object(), *dev = json_array();

	json_array_append_new(dev, device_rule(false, NULL, -1, -1));
	for (size_t i = 0; i < n; i++)
		json_array_append_new(dev, device_rule(true, "c", nodes[i].major, nodes[i].minor));
	json_array_append_new(dev, device_rule(true, "c", 5, 2));      /* /dev/pts/ptmx */
	json_array_append_new(dev, device_rule(true, "c", 136, -1));   /* the ptys */
	json_object_set_new(r, "devices", dev);
	/* the cgroup above holds them (nucleus wrote them): the same values
	 * again here would be hit first and seen there, not where nucleus
	 * looks (an OOM kill reported as a plain SIGKILL) */
	if (o && o->limits_enclosed)
		return r;
	if (lim->memory_max) {
		json_t *m = json_object();

		json_object_set_new(m, "limit", u64(lim->memory_max));
		if (!lim->swap)
			json_object_set_new(m, "swap", u64(lim->memory_max));
		json_object_set_new(r, "memory", m);
	}
	if (lim->cpu_quota_us || lim->cpu_weight) {
		json_t *cpu = json_object();

		if (lim->cpu_weight)
			json_object_set_new(cpu, "shares", u64(2 + ((lim->cpu_weight - 1) * 262142) / 9999));
		if (lim->cpu_quota_us) {
			json_object_set_new(cpu, "quota", u64(lim->cpu_quota_us));
			json_object_set_new(cpu, "period", u64(lim->cpu_period_us));
		}
		json_object_set_new(r, "cpu", cpu);
	}
	if (lim->pids_max) {
		json_t *p = json_object();

		json_object_set_new(p, "limit", u64(lim->pids_max));
		json_object_set_new(r, "pids", p);
	}
	if (lim->nio) {
		static const char *const keys[] = { "throttleReadBpsDevice", "throttleWriteBpsDevice",
						     "throttleReadIOPSDevice", "throttleWriteIOPSDevice" };
		json_t *b = json_object();

		for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
			json_t *t = throttle(lim, i);

			if (json_array_size(t))
				json_object_set_new(b, keys[i], t);
			else
				json_decref(t);
		}
		json_object_set_new(r, "blockIO", b);
	}
	return r;
}

static json_t *devices_json(void)
{
	size_t n;
	const struct fs_dev_node *nodes = fs_dev_nodes(&n);
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();
		_cleanup_free_ char *path = xasprintf("/dev/%s", nodes[i].name);

		json_object_set_new(o, "path", json_string(path));
		json_object_set_new(o, "type", json_string("c"));
		json_object_set_new(o, "major", json_integer(nodes[i].major));
		json_object_set_new(o, "minor", json_integer(nodes[i].minor));
		json_object_set_new(o, "fileMode", json_integer(0666));
		json_object_set_new(o, "uid", json_integer(0));
		json_object_set_new(o, "gid", json_integer(0));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *paths_json(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* What no field of a bundle carries: refused, so that a bundle never
 * runs a weaker container than its configuration says. Landlock has no
 * OCI field: the default rules (write only to /tmp, /context and
 * writable volumes; execute only from the system directories) are what
 * the bundle's read-only root and binds and its noexec workspaces already
 * say; a policy file's rules beyond them cannot be carried. */
static int refusals(const struct container_config *c, const struct oci_bundle_opts *o, struct nerr *err)
{
	if (c->sec.landlock || c->sec.landlock_policy)
		return nerr_set(err, 0, "--landlock-policy: Landlock has no field in an OCI bundle (a bundle keeps "
				"only the default rules, as read-only mounts and noexec workspaces)");
	if (c->fs.verify_attestation && !(o && o->rootfs_verified))
		return nerr_set(err, 0, "--verify-rootfs-attestation: nothing in a bundle verifies the rootfs when "
				"the runtime mounts it (--no-rootfs-attestation, or --runtime native)");
	if (c->fs.verify_context)
		return nerr_set(err, 0, "--verify-context-integrity: nothing in a bundle verifies /context when the "
				"runtime mounts it");
	if (c->svc.sd_notify == SD_NOTIFY_CONTAINER && !(o && o->notify_dir))
		return nerr_set(err, 0, "--sd-notify=container: a bundle has no notify socket to bind");
	if (c->fs.rootfs) {
		_cleanup_free_ char *list = xasprintf("%s/.nucleus-rootfs-store-paths", c->fs.rootfs);

		if (c->fs.rootfs[0] != '/')
			return nerr_set(err, 0, "--rootfs `%s`: not an absolute path", c->fs.rootfs);
		if (access(list, F_OK) == 0 || str_has_prefix(c->fs.rootfs, "/nix/store/"))
			return nerr_set(err, 0, "--rootfs `%s`: a rootfs with a Nix closure cannot be expressed in a "
					"bundle yet (its /nix/store is made of the closure alone)", c->fs.rootfs);
	}
	return 0;
}

int oci_bundle_check(const struct container_config *c, const struct oci_bundle_opts *o, struct nerr *err)
{
	return refusals(c, o, err);
}

static char *config_sha256(const struct container_config *c)
{
	json_t *j = container_config_to_json(c);
	char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS), hex[65];

	json_decref(j);
	sha256_hex(text, strlen(text), hex);
	free(text);
	return xstrdup(hex);
}

json_t *oci_spec_plan(const struct container_config *c, const struct oci_bundle_opts *o, struct oci_plan *p,
		      struct nerr *err)
{
	json_t *spec = NULL, *root, *linux_, *ann, *sc;
	struct userns_map map;
	char name[64];
	size_t n;
	int r;

	if (refusals(c, o, err) < 0)
		return NULL;
	snprintf(name, sizeof(name), "%s", c->name[0] ? c->name : c->id);
	if (!c->name[0])
		name[12] = '\0';
	p->hostname = xstrdup(c->proc.hostname ? c->proc.hostname : name);
	if ((r = oci_plan_mounts(c, o, p, err)) < 0)
		return NULL;
	if ((r = userns_map(c, &map, err)) < 0)
		return NULL;
	if (!(sc = oci_seccomp(c, o, err)))
		return NULL;

	spec = json_object();
	json_object_set_new(spec, "ociVersion", json_string(OCI_SPEC_VERSION));
	json_object_set_new(spec, "process", process_json(c));
	root = json_object();
	json_object_set_new(root, "path", json_string(c->fs.rootfs ? c->fs.rootfs : OCI_ROOTFS));
	json_object_set_new(root, "readonly", json_true());
	json_object_set_new(spec, "root", root);
	json_object_set_new(spec, "hostname", json_string(p->hostname));
	json_object_set_new(spec, "mounts", json_incref(p->mounts));

	ann = json_object();
	json_object_set_new(ann, "org.nucleus.id", json_string(c->id));
	json_object_set_new(ann, "org.nucleus.name", json_string(name));
	json_object_set_new(ann, "org.nucleus.mode", json_string(c->mode == MODE_PRODUCTION ? "production" : "agent"));
	json_object_set_new(ann, "org.nucleus.runtime",
			    json_string(runtime_kind_names[o ? o->runtime : c->rt.kind]));
	{
		_cleanup_free_ char *sha = config_sha256(c);
		json_object_set_new(ann, "org.nucleus.config-sha256", json_string(sha));
	}
	json_object_set_new(spec, "annotations", ann);

	linux_ = json_object();
	if (map.nuid) {
		json_object_set_new(linux_, "uidMappings", idmap_json(map.uid, map.nuid));
		json_object_set_new(linux_, "gidMappings", idmap_json(map.gid, map.ngid));
	}
	/* No sysctl: the one native sets, vm.memfd_noexec, belongs to the pid
	 * namespace only since 6.3 and lives under vm.*, which runc refuses
	 * as not namespaced; runsc's sentry has no executable memfds. */
	json_object_set_new(linux_, "resources", resources_json(c, o));
	{
		_cleanup_free_ char *cg = o && o->cgroups_path ? xstrdup(o->cgroups_path) :
						   xasprintf("/" CGROUP_PARENT "/%s", c->id);
		json_object_set_new(linux_, "cgroupsPath", json_string(cg));
	}
	json_object_set_new(linux_, "namespaces", namespaces_json(c, o));
	json_object_set_new(linux_, "devices", devices_json());
	json_object_set_new(linux_, "seccomp", sc);
	{
		const char *const *v = fs_proc_masked_paths(&n);
		json_object_set_new(linux_, "maskedPaths", paths_json(v, n));
		v = fs_proc_readonly_paths(&n);
		json_object_set_new(linux_, "readonlyPaths", paths_json(v, n));
	}
	json_object_set_new(spec, "linux", linux_);
	return spec;
}

json_t *oci_spec_build(const struct container_config *c, const char *dir, const struct oci_bundle_opts *o,
		       struct nerr *err)
{
	struct oci_plan p = { 0 };
	json_t *spec;

	if (dir[0] == '/') {
		p.dir = xstrdup(dir);
	} else {
		_cleanup_free_ char *cwd = getcwd(NULL, 0);

		if (!cwd) {
			nerr_set(err, errno, "getcwd");
			return NULL;
		}
		p.dir = xasprintf("%s/%s", cwd, dir);
	}
	spec = oci_spec_plan(c, o, &p, err);
	oci_plan_free(&p);
	return spec;
}
