/* The OCI spec of a configuration (src/oci): the fields for the usual
 * configurations, the seccomp conversion, the refusals, and a golden file:
 * the spec of one fixed configuration, byte for byte.
 *
 * The golden file is tests/oci/golden/rootfs.json (the configuration's
 * hash, org.nucleus.config-sha256, checked apart and written there as
 * @CONFIG_SHA256@: it follows every change of the configuration's JSON
 * form, not of the bundle). After a deliberate
 * change of the output, regenerate it from the repository's root with
 *   NUCLEUS_UPDATE_GOLDEN=1 build/tests/test_oci_spec
 * and review the diff (git diff tests/oci/golden) before committing. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jansson.h>
#include <nucleus/container.h>
#include <nucleus/oci.h>

static char root[4096];         /* the repository */

static int setup(void **state)
{
	char exe[4096];
	ssize_t n;

	(void)state;
	if (access("tests/oci/golden", F_OK) == 0) {
		if (!getcwd(root, sizeof(root)))
			return -1;
	} else if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		snprintf(root, sizeof(root), "%s/../..", dirname(exe));
	}
	return 0;
}

/* A configuration as validation leaves it, built by hand: the tests run
 * as any user (run's parser makes an ordinary user rootless) and on any
 * host. Limits low enough that no test machine's rlimits clamp them. */
static void base(struct container_config *c)
{
	container_config_init(c);
	snprintf(c->id, sizeof(c->id), "0123456789abcdef0123456789abcdef");
	strv_push(&c->proc.argv, "/bin/sh");
	strv_push(&c->proc.argv, "-c");
	strv_push(&c->proc.argv, "echo hello");
	env_defaults(&c->proc.env, false);
	c->proc.workdir = xstrdup("/");
	c->fs.tmpfs_size = 64 << 20;
	c->res.rlimits = (struct rlimit_spec){ .nofile_soft = 256, .nofile_hard = 512, .memlock = 65536, .core = 0 };
	c->ns.rootless = c->ns.userns = false;
}

static json_t *spec_ok(const struct container_config *c, const struct oci_bundle_opts *o)
{
	struct nerr e = { 0 };
	json_t *j = oci_spec_build(c, "/var/lib/bundles/b1", o, &e);

	if (!j)
		fail_msg("oci_spec_build: %s", e.msg);
	return j;
}

static void spec_refused(const struct container_config *c, const char *needle)
{
	struct nerr e = { 0 };
	json_t *j = oci_spec_build(c, "/var/lib/bundles/b1", NULL, &e);

	assert_null(j);
	if (!strstr(e.msg, needle))
		fail_msg("`%s` does not say `%s`", e.msg, needle);
	assert_null(strchr(e.msg, '\n'));
}

static json_t *mount_at(json_t *spec, const char *dest)
{
	size_t i;
	json_t *m;

	json_array_foreach(json_object_get(spec, "mounts"), i, m)
		if (!strcmp(json_string_value(json_object_get(m, "destination")), dest))
			return m;
	return NULL;
}

static bool has_string(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	return false;
}

static bool has_option(json_t *m, const char *opt)
{
	return m && has_string(json_object_get(m, "options"), opt);
}

static json_t *ns_of(json_t *spec, const char *type)
{
	size_t i;
	json_t *n;

	json_array_foreach(json_object_get(json_object_get(spec, "linux"), "namespaces"), i, n)
		if (!strcmp(json_string_value(json_object_get(n, "type")), type))
			return n;
	return NULL;
}

static json_t *path(json_t *j, const char *p)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", p);
	for (char *k = strtok_r(buf, ".", &save); j && k; k = strtok_r(NULL, ".", &save))
		j = json_object_get(j, k);
	return j;
}

static long long int_at(json_t *j, const char *p)
{
	json_t *v = path(j, p);

	if (!json_is_integer(v))
		fail_msg("%s: not an integer", p);
	return json_integer_value(v);
}

/* seccomp rules naming `name` */
static size_t rules_for(json_t *spec, const char *name, json_t **first)
{
	size_t i, n = 0;
	json_t *r;

	json_array_foreach(path(spec, "linux.seccomp.syscalls"), i, r)
		if (has_string(json_object_get(r, "names"), name)) {
			if (!n && first)
				*first = r;
			n++;
		}
	return n;
}

static void test_agent_default(void **state)
{
	struct container_config c;
	json_t *s, *m, *clone3 = NULL;
	char hex[65];

	(void)state;
	base(&c);
	c.fs.context = xstrdup("/srv/ctx");
	c.fs.context_mode = CONTEXT_COPY;
	free(c.proc.workdir);
	c.proc.workdir = xstrdup("/context");
	s = spec_ok(&c, NULL);
	assert_string_equal(json_string_value(json_object_get(s, "ociVersion")), OCI_SPEC_VERSION);
	assert_string_equal(json_string_value(path(s, "root.path")), "rootfs");
	assert_true(json_is_true(path(s, "root.readonly")));
	assert_string_equal(json_string_value(json_object_get(s, "hostname")), "0123456789ab");
	assert_string_equal(json_string_value(path(s, "process.cwd")), "/context");
	assert_int_equal(int_at(s, "process.user.uid"), 0);
	assert_int_equal(int_at(s, "process.user.gid"), 0);
	assert_null(path(s, "process.user.additionalGids"));
	assert_true(json_is_true(path(s, "process.noNewPrivileges")));
	assert_false(json_is_true(path(s, "process.terminal")));
	assert_int_equal(json_array_size(path(s, "process.capabilities.bounding")), 0);
	assert_int_equal(json_array_size(path(s, "process.capabilities.ambient")), 0);
	assert_true(has_string(path(s, "process.args"), "echo hello"));
	/* the host's system directories read-only, where they are directories */
	if (access("/usr", F_OK) == 0) {
		m = mount_at(s, "/usr");
		assert_non_null(m);
		assert_string_equal(json_string_value(json_object_get(m, "source")), "/usr");
		assert_true(has_option(m, "ro") && has_option(m, "nosuid") && has_option(m, "nodev") &&
			    has_option(m, "rbind"));
	}
	m = mount_at(s, "/tmp");
	assert_string_equal(json_string_value(json_object_get(m, "type")), "tmpfs");
	assert_true(has_option(m, "noexec") && has_option(m, "size=67108864") && has_option(m, "mode=1777"));
	/* a copied context: the bundle's copy, writable, noexec */
	m = mount_at(s, "/context");
	assert_string_equal(json_string_value(json_object_get(m, "source")), "/var/lib/bundles/b1/context");
	assert_true(has_option(m, "rw") && has_option(m, "noexec"));
	m = mount_at(s, "/proc");
	assert_string_equal(json_string_value(json_object_get(m, "type")), "proc");
	assert_false(has_option(m, "hidepid=invisible"));
	assert_true(has_option(mount_at(s, "/dev/pts"), "gid=5"));
	assert_null(mount_at(s, "/sys"));
	/* namespaces: native's; no user, no time */
	assert_non_null(ns_of(s, "pid"));
	assert_non_null(ns_of(s, "mount"));
	assert_non_null(ns_of(s, "ipc"));
	assert_non_null(ns_of(s, "uts"));
	assert_non_null(ns_of(s, "cgroup"));
	assert_non_null(ns_of(s, "network"));
	assert_null(json_object_get(ns_of(s, "network"), "path"));
	assert_null(ns_of(s, "user"));
	assert_null(ns_of(s, "time"));
	assert_null(path(s, "linux.uidMappings"));
	assert_string_equal(json_string_value(path(s, "linux.cgroupsPath")), "/nucleus/0123456789abcdef0123456789abcdef");
	assert_int_equal(int_at(s, "linux.resources.pids.limit"), 512);
	assert_null(path(s, "linux.resources.memory"));
	assert_true(has_string(path(s, "linux.maskedPaths"), "/proc/kcore"));
	assert_true(has_string(path(s, "linux.readonlyPaths"), "/proc/sys"));
	assert_int_equal(json_array_size(path(s, "linux.devices")), 6);
	assert_null(path(s, "linux.sysctl"));
	/* the built-in seccomp profile */
	assert_string_equal(json_string_value(path(s, "linux.seccomp.defaultAction")), "SCMP_ACT_ERRNO");
	assert_int_equal(int_at(s, "linux.seccomp.defaultErrnoRet"), EPERM);
	assert_true(has_string(path(s, "linux.seccomp.architectures"), "SCMP_ARCH_X86_64"));
	assert_int_equal(rules_for(s, "clone3", &clone3), 1);
	assert_string_equal(json_string_value(json_object_get(clone3, "action")), "SCMP_ACT_ERRNO");
	assert_int_equal(json_integer_value(json_object_get(clone3, "errnoRet")), ENOSYS);
	assert_int_equal(rules_for(s, "mount", NULL), 0);
	assert_int_equal(rules_for(s, "socket", NULL), 43);   /* 1..45 but AF_ALG and AF_VSOCK */
	/* annotations */
	assert_string_equal(json_string_value(json_object_get(json_object_get(s, "annotations"), "org.nucleus.id")),
			    c.id);
	assert_string_equal(json_string_value(json_object_get(json_object_get(s, "annotations"), "org.nucleus.mode")),
			    "agent");
	snprintf(hex, sizeof(hex), "%s",
		 json_string_value(json_object_get(json_object_get(s, "annotations"), "org.nucleus.config-sha256")));
	assert_true(is_hex_string(hex, 64));
	json_decref(s);
	container_config_free(&c);
}

/* production with --rootfs, limits, an identity, secrets, volumes, tmpfs
 * mounts and a prepared network namespace */
static void test_production_rootfs(void **state)
{
	struct container_config c;
	struct oci_bundle_opts o = { .netns_path = "/run/netns/nc-1", .cgroups_path = "/nucleus/x1" };
	json_t *s, *m, *g;

	(void)state;
	base(&c);
	c.mode = MODE_PRODUCTION;
	c.fs.rootfs = xstrdup("/srv/no-such-rootfs");
	c.fs.proc_hidepid = 2;
	c.res.limits.memory_max = 256 << 20;
	c.res.limits.cpu_quota_us = 150000;
	c.res.limits.cpu_period_us = 100000;
	c.res.limits.cpu_weight = 100;
	c.res.limits.pids_max = 64;
	c.proc.identity.set = true;
	c.proc.identity.uid = 1000;
	c.proc.identity.gid = 1000;
	c.proc.identity.groups = xcalloc(2, sizeof(gid_t));
	c.proc.identity.groups[0] = 1000;
	c.proc.identity.groups[1] = 5;
	c.proc.identity.ngroups = 2;
	c.fs.secrets = xcalloc(2, sizeof(*c.fs.secrets));
	c.fs.secrets[0] = (struct fs_secret){ .src = xstrdup("/etc/app/db"), .dest = xstrdup("/run/secrets/db") };
	c.fs.secrets[1] = (struct fs_secret){ .src = xstrdup("/etc/app/tok"), .dest = xstrdup("/etc/app/token") };
	c.fs.n_secrets = 2;
	c.fs.volumes = xcalloc(2, sizeof(*c.fs.volumes));
	c.fs.volumes[0] = (struct fs_volume){ .src = xstrdup("/srv/data"), .dest = xstrdup("/data"),
					      .access = FS_VOLUME_RW };
	c.fs.volumes[1] = (struct fs_volume){ .src = xstrdup("/srv/cfg"), .dest = xstrdup("/cfg"),
					      .access = FS_VOLUME_RO };
	c.fs.n_volumes = 2;
	c.fs.tmpfs = xcalloc(1, sizeof(*c.fs.tmpfs));
	c.fs.tmpfs[0] = (struct fs_tmpfs){ .dest = xstrdup("/scratch"), .size = 1 << 20, .mode = 0700 };
	c.fs.n_tmpfs = 1;
	c.net.mode = NETWORK_BRIDGE;
	s = spec_ok(&c, &o);
	assert_string_equal(json_string_value(path(s, "root.path")), "/srv/no-such-rootfs");
	assert_true(json_is_true(path(s, "root.readonly")));
	/* nothing of the host's system directories over a rootfs */
	assert_null(mount_at(s, "/usr"));
	assert_int_equal(int_at(s, "process.user.uid"), 1000);
	assert_int_equal(int_at(s, "process.user.gid"), 1000);
	g = path(s, "process.user.additionalGids");
	assert_int_equal(json_array_size(g), 2);
	assert_int_equal(json_integer_value(json_array_get(g, 1)), 5);
	assert_int_equal(int_at(s, "linux.resources.memory.limit"), 256 << 20);
	assert_int_equal(int_at(s, "linux.resources.memory.swap"), 256 << 20);
	assert_int_equal(int_at(s, "linux.resources.cpu.quota"), 150000);
	assert_int_equal(int_at(s, "linux.resources.cpu.period"), 100000);
	assert_int_equal(int_at(s, "linux.resources.cpu.shares"), 2 + (99 * 262142) / 9999);
	assert_int_equal(int_at(s, "linux.resources.pids.limit"), 64);
	assert_string_equal(json_string_value(path(s, "linux.cgroupsPath")), "/nucleus/x1");
	assert_string_equal(json_string_value(json_object_get(ns_of(s, "network"), "path")), "/run/netns/nc-1");
	assert_true(has_option(mount_at(s, "/proc"), "hidepid=invisible"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(s, "annotations"), "org.nucleus.mode")),
			    "production");
	/* secrets: /run a tmpfs of its own over a rootfs, the staged directory
	 * read-only at /run/secrets, a DEST elsewhere bound from its file */
	m = mount_at(s, "/run");
	assert_string_equal(json_string_value(json_object_get(m, "type")), "tmpfs");
	m = mount_at(s, "/run/secrets");
	assert_string_equal(json_string_value(json_object_get(m, "source")), "/var/lib/bundles/b1/secrets");
	assert_true(has_option(m, "ro") && has_option(m, "noexec"));
	m = mount_at(s, "/etc/app/token");
	assert_string_equal(json_string_value(json_object_get(m, "source")), "/var/lib/bundles/b1/secrets/token");
	assert_true(has_option(m, "ro"));
	assert_null(mount_at(s, "/run/secrets/db"));
	/* the generated /etc files bound from the bundle, not written into the rootfs */
	m = mount_at(s, "/etc/hosts");
	assert_string_equal(json_string_value(json_object_get(m, "source")), "/var/lib/bundles/b1/files/hosts");
	assert_true(has_option(m, "ro"));
	assert_non_null(mount_at(s, "/etc/resolv.conf"));
	/* and passwd, since this rootfs has none */
	assert_non_null(mount_at(s, "/etc/passwd"));
	/* volumes rw/ro as configured, tmpfs with its size and mode */
	m = mount_at(s, "/data");
	assert_true(has_option(m, "rw") && has_option(m, "noexec"));
	assert_string_equal(json_string_value(json_object_get(m, "source")), "/srv/data");
	assert_true(has_option(mount_at(s, "/cfg"), "ro"));
	m = mount_at(s, "/scratch");
	assert_true(has_option(m, "size=1048576") && has_option(m, "mode=700") && has_option(m, "noexec"));
	json_decref(s);
	container_config_free(&c);
}

static void test_host_network_and_userns(void **state)
{
	struct container_config c;
	json_t *s;

	(void)state;
	base(&c);
	c.net.mode = NETWORK_HOST;
	c.ns.rootless = true;
	c.ns.time = true;
	c.ns.cgroup = false;
	s = spec_ok(&c, NULL);
	assert_null(ns_of(s, "network"));
	assert_null(ns_of(s, "cgroup"));
	assert_non_null(ns_of(s, "user"));
	assert_non_null(ns_of(s, "time"));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(path(s, "linux.uidMappings"), 0),
							    "hostID")), geteuid());
	assert_false(has_option(mount_at(s, "/dev/pts"), "gid=5"));
	json_decref(s);
	container_config_free(&c);
}

/* --hosts-file: the file bound read-only at /etc/hosts in place of the
 * generated one; a bound context read-only and noexec, unless
 * --allow-exec names it */
static void test_hosts_file_and_bound_context(void **state)
{
	struct container_config c;
	json_t *s, *m;

	(void)state;
	base(&c);
	c.net.mode = NETWORK_BRIDGE;
	c.net.hosts_file = xstrdup("/var/lib/topo/hosts");
	c.fs.context = xstrdup("/srv/ctx");
	c.fs.context_mode = CONTEXT_BIND;
	strv_push(&c.fs.exec_paths, "/context");
	s = spec_ok(&c, NULL);
	m = mount_at(s, "/etc/hosts");
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "source")), "/var/lib/topo/hosts");
	assert_true(has_option(m, "ro"));
	m = mount_at(s, "/context");
	assert_string_equal(json_string_value(json_object_get(m, "source")), "/srv/ctx");
	assert_true(has_option(m, "ro"));
	assert_false(has_option(m, "noexec"));
	assert_true(has_option(mount_at(s, "/tmp"), "noexec"));
	json_decref(s);
	container_config_free(&c);
}

static char profile[] = "/tmp/nucleus-unit-oci-spec-XXXXXX";

static void test_custom_seccomp(void **state)
{
	static const char text[] =
		"{\"defaultAction\": \"SCMP_ACT_KILL_PROCESS\",\n"
		" \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"],\n"
		" \"syscalls\": [\n"
		"  {\"names\": [\"read\", \"write\", \"exit_group\", \"no_such_syscall_xyz\"], \"action\": \"SCMP_ACT_ALLOW\"},\n"
		"  {\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},\n"
		"  {\"names\": [\"openat\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13,\n"
		"   \"args\": [{\"index\": 2, \"value\": 64, \"valueTwo\": 64, \"op\": \"SCMP_CMP_MASKED_EQ\"}]}\n"
		" ]}\n";
	struct container_config c;
	struct nerr e = { 0 };
	json_t *s, *r = NULL;
	char hex[65];
	int fd;

	(void)state;
	fd = mkstemp(profile);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	base(&c);
	c.sec.seccomp_profile = xstrdup(profile);
	s = spec_ok(&c, NULL);
	assert_string_equal(json_string_value(path(s, "linux.seccomp.defaultAction")), "SCMP_ACT_KILL_PROCESS");
	assert_null(path(s, "linux.seccomp.defaultErrnoRet"));
	assert_true(has_string(path(s, "linux.seccomp.architectures"), "SCMP_ARCH_X86"));
	/* resolved as native resolves it: no CAP_SYS_ADMIN, so no mount rule;
	 * a name this libseccomp does not know left out */
	assert_int_equal(rules_for(s, "mount", NULL), 0);
	assert_int_equal(rules_for(s, "no_such_syscall_xyz", NULL), 0);
	assert_int_equal(rules_for(s, "read", NULL), 1);
	assert_int_equal(rules_for(s, "openat", &r), 1);
	assert_int_equal(json_integer_value(json_object_get(r, "errnoRet")), 13);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "args"), 0), "op")),
			    "SCMP_CMP_MASKED_EQ");
	json_decref(s);
	/* the pin: the bytes converted are the bytes pinned */
	assert_int_equal(sha256_file_hex(profile, hex, &e), 0);
	c.sec.seccomp_profile_sha256 = xstrdup(hex);
	s = spec_ok(&c, NULL);
	json_decref(s);
	free(c.sec.seccomp_profile_sha256);
	c.sec.seccomp_profile_sha256 = xstrdup("00000000000000000000000000000000000000000000000000000000000000ff");
	spec_refused(&c, "SHA-256 mismatch");
	unlink(profile);
	container_config_free(&c);
}

/* --seccomp-log-denied keeps the errno; an egress policy leaves AF_PACKET out */
static void test_seccomp_log_denied_and_egress(void **state)
{
	struct container_config c;
	json_t *s, *r;
	size_t i;

	(void)state;
	base(&c);
	c.sec.seccomp_log_denied = true;
	c.net.egress.enabled = true;
	s = spec_ok(&c, NULL);
	assert_string_equal(json_string_value(path(s, "linux.seccomp.defaultAction")), "SCMP_ACT_ERRNO");
	assert_int_equal(rules_for(s, "socket", NULL), 42);
	json_array_foreach(path(s, "linux.seccomp.syscalls"), i, r)
		if (has_string(json_object_get(r, "names"), "socket"))
			assert_int_not_equal(json_integer_value(json_object_get(json_array_get(json_object_get(r, "args"), 0),
										"value")), 17);
	json_decref(s);
	container_config_free(&c);
}

static void test_refusals(void **state)
{
	struct container_config c;

	(void)state;
	base(&c);
	c.sec.seccomp_trace = true;
	spec_refused(&c, "--seccomp-mode trace");
	container_config_free(&c);

	base(&c);
	c.sec.landlock_policy = xstrdup("/etc/ll.toml");
	spec_refused(&c, "Landlock");
	container_config_free(&c);

	base(&c);
	c.fs.rootfs = xstrdup("/srv/r");
	c.fs.verify_attestation = true;
	spec_refused(&c, "--verify-rootfs-attestation");
	container_config_free(&c);

	base(&c);
	c.fs.volumes = xcalloc(1, sizeof(*c.fs.volumes));
	c.fs.volumes[0] = (struct fs_volume){ .src = xstrdup("/srv/d"), .dest = xstrdup("/d"), .chown = true };
	c.fs.n_volumes = 1;
	spec_refused(&c, ":U");
	container_config_free(&c);

	base(&c);
	strv_push(&c.fs.exec_paths, "/tmp/bin");
	spec_refused(&c, "--allow-exec /tmp/bin");
	container_config_free(&c);

	base(&c);
	c.fs.rootfs = xstrdup("/nix/store/abc-rootfs");
	spec_refused(&c, "Nix closure");
	container_config_free(&c);

	/* --sd-notify=container: only with the runner's socket directory */
	base(&c);
	c.svc.sd_notify = SD_NOTIFY_CONTAINER;
	spec_refused(&c, "--sd-notify=container");
	{
		struct oci_bundle_opts o = { .notify_dir = "/run/nucleus/x/notify" };
		json_t *s = spec_ok(&c, &o), *m = mount_at(s, "/run/notify");

		assert_non_null(m);
		assert_string_equal(json_string_value(json_object_get(m, "source")), "/run/nucleus/x/notify");
		assert_true(has_option(m, "ro"));
		json_decref(s);
	}
	container_config_free(&c);
}

/* The golden file: a fixed configuration's spec, byte for byte (the
 * header says how to regenerate it). */
static void test_golden(void **state)
{
	struct container_config c;
	struct oci_bundle_opts o = { .runtime = RUNTIME_GVISOR };
	json_t *s;
	char *text, *want = NULL, file[4200];
	size_t len;

	(void)state;
	base(&c);
	snprintf(c.name, sizeof(c.name), "golden");
	c.fs.rootfs = xstrdup("/srv/golden-rootfs");
	c.res.limits.memory_max = 128 << 20;
	c.res.limits.pids_max = 32;
	c.proc.identity.set = true;
	c.proc.identity.uid = 1000;
	c.proc.identity.gid = 100;
	c.fs.tmpfs = xcalloc(1, sizeof(*c.fs.tmpfs));
	c.fs.tmpfs[0] = (struct fs_tmpfs){ .dest = xstrdup("/var/cache/app"), .size = 8 << 20, .mode = 01777 };
	c.fs.n_tmpfs = 1;
	strv_push(&c.net.dns, "192.0.2.53");
	s = spec_ok(&c, &o);
	/* the configuration's hash is its JSON form's (config_json.c), which
	 * changes with every new field of the configuration: checked here,
	 * not pinned in the file */
	{
		json_t *cj = container_config_to_json(&c);
		char *ct = json_dumps(cj, JSON_COMPACT | JSON_SORT_KEYS), hex[65];
		json_t *ann = json_object_get(s, "annotations");

		sha256_hex(ct, strlen(ct), hex);
		assert_string_equal(json_string_value(json_object_get(ann, "org.nucleus.config-sha256")), hex);
		json_object_set_new(ann, "org.nucleus.config-sha256", json_string("@CONFIG_SHA256@"));
		free(ct);
		json_decref(cj);
	}
	text = json_dumps(s, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	snprintf(file, sizeof(file), "%s/tests/oci/golden/rootfs.json", root);
	{
		_cleanup_free_ char *out = xasprintf("%s\n", text);

		if (getenv("NUCLEUS_UPDATE_GOLDEN"))
			assert_int_equal(write_file(file, out, strlen(out), 0644), 0);
		if (read_file(file, 1 << 20, &want, &len) < 0)
			fail_msg("%s: cannot read (regenerate: NUCLEUS_UPDATE_GOLDEN=1 %s)", file, "build/tests/test_oci_spec");
		if (strcmp(out, want))
			fail_msg("the spec differs from %s (a deliberate change: NUCLEUS_UPDATE_GOLDEN=1 "
				 "build/tests/test_oci_spec, then review the diff)", file);
	}
	/* the same input, the same bytes */
	{
		json_t *again = spec_ok(&c, &o);
		char *t2;

		json_object_set_new(json_object_get(again, "annotations"), "org.nucleus.config-sha256",
				    json_string("@CONFIG_SHA256@"));
		t2 = json_dumps(again, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		assert_string_equal(text, t2);
		free(t2);
		json_decref(again);
	}
	free(want);
	free(text);
	json_decref(s);
	container_config_free(&c);
}

/* oci_bundle_write: DIR 0700 with config.json (the spec, pretty), the
 * staged rootfs and secrets; a non-empty DIR refused untouched; a failure
 * (a secret that cannot be read) removes what was written. */
static void test_bundle_write(void **state)
{
	char tmp[] = "/tmp/nucleus-unit-oci-bundle-XXXXXX";
	struct container_config c;
	struct nerr e = { 0 };
	struct stat st;
	_cleanup_free_ char *dir = NULL, *sec = NULL, *text = NULL, *host = NULL, *cfg = NULL;
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(tmp));
	dir = xasprintf("%s/b", tmp);
	sec = xasprintf("%s/token", tmp);
	assert_int_equal(write_file(sec, "s3cret", 6, 0600), 0);
	base(&c);
	snprintf(c.name, sizeof(c.name), "web");
	c.fs.secrets = xcalloc(1, sizeof(*c.fs.secrets));
	c.fs.secrets[0] = (struct fs_secret){ .src = xstrdup(sec), .dest = xstrdup("/run/secrets/token") };
	c.fs.n_secrets = 1;
	/* as run's parser makes it for an ordinary user: the secrets are the
	 * caller's then (its uid is root's in the container) */
	c.ns.rootless = geteuid() != 0;
	if (oci_bundle_write(&c, dir, NULL, &e) < 0)
		fail_msg("oci_bundle_write: %s", e.msg);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, c.ns.rootless ? 0711 : 0700);
	cfg = xasprintf("%s/config.json", dir);
	assert_int_equal(read_file(cfg, 1 << 20, &text, &len), 0);
	assert_non_null(strstr(text, "\n  \"ociVersion\": \"" OCI_SPEC_VERSION "\""));
	assert_int_equal(text[len - 1], '\n');
	free(cfg);
	cfg = xasprintf("%s/rootfs/etc/hostname", dir);
	assert_int_equal(read_file(cfg, 1 << 10, &host, NULL), 0);
	assert_string_equal(host, "web\n");
	free(cfg);
	cfg = xasprintf("%s/secrets/token", dir);
	assert_int_equal(stat(cfg, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0400);
	free(cfg);
	cfg = xasprintf("%s/rootfs/tmp", dir);
	assert_int_equal(stat(cfg, &st), 0);
	assert_int_equal(st.st_mode & 07777, 01777);
	/* not empty: refused, untouched */
	memset(&e, 0, sizeof(e));
	assert_true(oci_bundle_write(&c, dir, NULL, &e) < 0);
	assert_non_null(strstr(e.msg, "not empty"));
	assert_int_equal(stat(cfg, &st), 0);
	assert_int_equal(remove_tree(dir), 0);
	/* a secret gone: nothing left of DIR */
	unlink(sec);
	memset(&e, 0, sizeof(e));
	assert_true(oci_bundle_write(&c, dir, NULL, &e) < 0);
	assert_non_null(strstr(e.msg, "token"));
	assert_int_equal(stat(dir, &st), -1);
	/* an existing empty DIR: emptied again, kept */
	assert_int_equal(mkdir(dir, 0755), 0);
	memset(&e, 0, sizeof(e));
	assert_true(oci_bundle_write(&c, dir, NULL, &e) < 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(rmdir(dir), 0);
	container_config_free(&c);
	assert_int_equal(remove_tree(tmp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_default),
		cmocka_unit_test(test_production_rootfs),
		cmocka_unit_test(test_host_network_and_userns),
		cmocka_unit_test(test_hosts_file_and_bound_context),
		cmocka_unit_test(test_custom_seccomp),
		cmocka_unit_test(test_seccomp_log_denied_and_egress),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_bundle_write),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
