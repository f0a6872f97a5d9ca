/* The topology loader (src/topology): a file into services built by `run`'s
 * own flag parser, every mistake at its FILE:LINE, the dependency graph
 * and the per-service hash. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <nucleus/cli.h>
#include <nucleus/topology.h>

static char dir[64];

static char *write_toml(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);

	if (write_file(path, text, strlen(text), 0644) < 0)
		fail_msg("cannot write %s", path);
	return path;
}

static int load(const char *text, struct topology *t, struct nerr *e, char **path)
{
	*path = write_toml("topology.toml", text);
	memset(e, 0, sizeof(*e));
	return topology_load(*path, run_parse_args, t, e);
}

/* The example (no rootfs: agent-style host binds), a third service
 * on a second network. */
static const char example[] =
	"name = \"myapp\"\n"                                            /* 1 */
	"[networks.internal]\n"
	"subnet = \"10.242.0.0/24\"\n"
	"[networks.back]\n"
	"subnet = \"10.243.0.0/24\"\n"                                  /* 5 */
	"subnet6 = \"fd00:4242::/64\"\n"
	"[volumes.db-data]\n"
	"volume_type = \"persistent\"\n"
	"path = \"/var/lib/nucleus/myapp/db\"\n"
	"owner = \"70:70\"\n"                                           /* 10 */
	"[volumes.cache]\n"
	"volume_type = \"ephemeral\"\n"
	"size = \"128M\"\n"
	"[services.postgres]\n"
	"command = [\"postgres\", \"-D\", \"/var/lib/postgresql/data\"]\n" /* 15 */
	"memory = \"%s\"\n"
	"cpus = 2.0\n"
	"networks = [\"internal\"]\n"
	"volumes = [\"db-data:/var/lib/postgresql/data\", \"cache:/var/cache/postgresql\"]\n"
	"health_check = \"pg_isready -U myapp\"\n"                      /* 20 */
	"[services.web]\n"
	"command = [\"/bin/web-server\"]\n"
	"memory = \"512M\"\n"
	"networks = [\"internal\"]\n"
	"port_forwards = [\"8443:8443\"]\n"                             /* 25 */
	"egress_allow = [\"10.242.0.0/24\"]\n"
	"environment = { GREETING = \"hi\", PORT = 8443 }\n"
	"[[services.web.depends_on]]\n"
	"service = \"postgres\"\n"
	"condition = \"healthy\"\n"                                     /* 30 */
	"[services.worker]\n"
	"command = [\"/bin/worker\", \"--queue\"]\n"
	"cpus = 0.5\n"
	"networks = [\"back\"]\n"
	"health_check = [\"/bin/check\", \"-q\"]\n"                     /* 35 */
	"restart = \"on-failure:3\"\n";

static char *example_with(const char *memory)
{
	return xasprintf(example, memory);
}

static const char *envv(char **env, const char *k)
{
	size_t n = strlen(k);

	for (size_t i = 0; env && env[i]; i++)
		if (!strncmp(env[i], k, n) && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

static void good_file(void **state)
{
	_cleanup_free_ char *text = example_with("2G"), *path = NULL;
	struct topology t;
	struct nerr e;
	char buf[64];

	/* bridge networks and egress policies are root's (run's own rule) */
	if (geteuid() != 0)
		skip();
	if (load(text, &t, &e, &path) < 0)
		fail_msg("%s", e.msg);
	assert_string_equal(t.name, "myapp");
	assert_string_equal(t.file, path);
	/* networks: their subnets and a bridge of their own */
	assert_int_equal(t.nnetworks, 2);
	assert_string_equal(t.networks[0].name, "internal");
	cidr_format(&t.networks[0].subnet4, buf, sizeof(buf));
	assert_string_equal(buf, "10.242.0.0/24");
	assert_int_equal(t.networks[0].subnet6.family, 0);
	cidr_format(&t.networks[1].subnet6, buf, sizeof(buf));
	assert_string_equal(buf, "fd00:4242::/64");
	assert_int_equal(strlen(t.networks[0].bridge), 15);
	assert_true(!strncmp(t.networks[0].bridge, "nc", 2));
	assert_string_not_equal(t.networks[0].bridge, t.networks[1].bridge);
	assert_int_equal(t.networks[0].line, 2);
	/* volumes */
	assert_int_equal(t.nvolumes, 2);
	assert_int_equal(t.volumes[0].type, TOPO_VOLUME_PERSISTENT);
	assert_string_equal(t.volumes[0].path, "/var/lib/nucleus/myapp/db");
	assert_true(t.volumes[0].owner_set);
	assert_int_equal(t.volumes[0].uid, 70);
	assert_int_equal(t.volumes[0].gid, 70);
	assert_int_equal(t.volumes[1].type, TOPO_VOLUME_EPHEMERAL);
	assert_int_equal(t.volumes[1].size, 128ull << 20);

	/* postgres: what `nucleus run -d --name myapp-postgres --memory 2G ...` builds */
	assert_int_equal(t.nservices, 3);
	struct topo_service *pg = &t.services[0], *web = &t.services[1], *wk = &t.services[2];
	assert_string_equal(pg->name, "postgres");
	assert_int_equal(pg->line, 14);
	assert_string_equal(pg->cfg.name, "myapp-postgres");
	assert_true(pg->cfg.detach);
	assert_string_equal(pg->cfg.topology, "myapp");
	assert_string_equal(pg->cfg.topology_service, "postgres");
	assert_int_equal(pg->cfg.res.limits.memory_max, 2ull << 30);
	assert_int_equal(pg->cfg.res.limits.cpu_quota_us, 2 * pg->cfg.res.limits.cpu_period_us);
	assert_int_equal(strv_len(pg->cfg.proc.argv), 3);
	assert_string_equal(pg->cfg.proc.argv[0], "postgres");
	assert_string_equal(pg->cfg.proc.argv[2], "/var/lib/postgresql/data");
	assert_int_equal(pg->cfg.net.mode, NETWORK_BRIDGE);
	assert_string_equal(pg->cfg.net.bridge.name, t.networks[0].bridge);
	cidr_format(&pg->cfg.net.bridge.subnet4, buf, sizeof(buf));
	assert_string_equal(buf, "10.242.0.0/24");
	assert_int_equal(pg->cfg.fs.n_volumes, 1);
	assert_string_equal(pg->cfg.fs.volumes[0].src, "/var/lib/nucleus/myapp/db");
	assert_string_equal(pg->cfg.fs.volumes[0].dest, "/var/lib/postgresql/data");
	assert_int_equal(pg->cfg.fs.n_tmpfs, 1);
	assert_string_equal(pg->cfg.fs.tmpfs[0].dest, "/var/cache/postgresql");
	assert_int_equal(pg->cfg.fs.tmpfs[0].size, 128ull << 20);
	assert_true(pg->cfg.svc.health.probe.shell);
	assert_string_equal(pg->cfg.svc.health.probe.cmd[0], "pg_isready -U myapp");
	assert_string_equal(pg->networks[0], "internal");
	assert_int_equal(strv_len(pg->volumes), 2);
	assert_int_equal(pg->ndeps, 0);
	assert_int_equal(strlen(pg->hash), 64);
	assert_string_equal(pg->cfg.topology_hash, pg->hash);

	/* web */
	assert_int_equal(web->cfg.net.bridge.nports, 1);
	assert_int_equal(web->cfg.net.bridge.ports[0].host_port, 8443);
	assert_true(web->cfg.net.egress.enabled);
	assert_int_equal(web->cfg.net.egress.nallow, 1);
	assert_string_equal(envv(web->cfg.proc.env, "GREETING"), "hi");
	assert_string_equal(envv(web->cfg.proc.env, "PORT"), "8443");
	assert_int_equal(web->ndeps, 1);
	assert_string_equal(web->deps[0].service, "postgres");
	assert_int_equal(web->deps[0].index, 0);
	assert_int_equal(web->deps[0].condition, TOPO_HEALTHY);
	assert_int_equal(web->deps[0].line, 28);
	assert_string_not_equal(web->hash, pg->hash);

	/* worker: the other network, an exec-form check, half a CPU */
	assert_string_equal(wk->cfg.net.bridge.name, t.networks[1].bridge);
	cidr_format(&wk->cfg.net.bridge.subnet6, buf, sizeof(buf));
	assert_string_equal(buf, "fd00:4242::/64");
	assert_false(wk->cfg.svc.health.probe.shell);
	assert_string_equal(wk->cfg.svc.health.probe.cmd[1], "-q");
	assert_int_equal(wk->cfg.res.limits.cpu_quota_us * 2, wk->cfg.res.limits.cpu_period_us);
	assert_int_equal(wk->cfg.svc.restart, RESTART_ON_FAILURE);
	assert_int_equal(wk->cfg.svc.restart_max, 3);

	/* the order: dependencies first, file order among the rest; levels */
	assert_int_equal(t.order[0], 0);
	assert_int_equal(t.order[1], 1);
	assert_int_equal(t.order[2], 2);
	assert_int_equal(pg->level, 0);
	assert_int_equal(web->level, 1);
	assert_int_equal(wk->level, 0);
	assert_int_equal(t.nlevels, 2);
	assert_int_equal(topology_service_index(&t, "web"), 1);
	assert_int_equal(topology_service_index(&t, "nope"), -1);
	bool mark[3] = { 0 };
	topology_dependants(&t, 0, mark);
	assert_false(mark[0]);
	assert_true(mark[1]);
	assert_false(mark[2]);
	memset(mark, 0, sizeof(mark));
	topology_dependencies(&t, 1, mark);
	assert_true(mark[0]);
	assert_false(mark[2]);
	topology_free(&t);
	assert_null(t.services);
}

static void hash_stable_and_changed(void **state)
{
	_cleanup_free_ char *a = example_with("2G"), *b = example_with("1G"), *p1 = NULL, *p2 = NULL, *p3 = NULL;
	struct topology t1, t2, t3;
	struct nerr e;

	if (geteuid() != 0)
		skip();
	assert_int_equal(load(a, &t1, &e, &p1), 0);
	assert_int_equal(load(a, &t2, &e, &p2), 0);
	assert_int_equal(load(b, &t3, &e, &p3), 0);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(t1.services[i].hash, t2.services[i].hash);
	/* the memory of postgres changes its hash, and only its */
	assert_string_not_equal(t1.services[0].hash, t3.services[0].hash);
	assert_string_equal(t1.services[1].hash, t3.services[1].hash);
	assert_string_equal(t1.services[2].hash, t3.services[2].hash);
	topology_free(&t1);
	topology_free(&t2);
	topology_free(&t3);
}

/* What a volume's definition and a policy file's content do to the hash. */
static void hash_outside_config(void **state)
{
	static const char fmt[] =
		"name = \"h\"\n[volumes.d]\nvolume_type = \"persistent\"\npath = \"/srv/d\"\nowner = \"%s\"\n"
		"[services.a]\ncommand = [\"true\"]\nvolumes = [\"d:/d\"]\ncaps_policy = \"caps.toml\"\n"
		"[services.b]\ncommand = [\"true\"]\n";
	_cleanup_free_ char *x = xasprintf(fmt, "1:1"), *y = xasprintf(fmt, "2:2"), *p = NULL, *c = NULL;
	struct topology t1, t2, t3;
	struct nerr e;

	c = write_toml("caps.toml", "[capabilities]\n");
	assert_int_equal(load(x, &t1, &e, &p), 0);
	free(p);
	assert_int_equal(load(y, &t2, &e, &p), 0);
	assert_string_not_equal(t1.services[0].hash, t2.services[0].hash);
	assert_string_equal(t1.services[1].hash, t2.services[1].hash);
	/* relative to the file's directory */
	assert_string_equal(t1.services[0].cfg.sec.caps_policy, c);
	free(c);
	c = write_toml("caps.toml", "[capabilities]\nbounding = []\n");
	free(p);
	assert_int_equal(load(x, &t3, &e, &p), 0);
	assert_string_not_equal(t1.services[0].hash, t3.services[0].hash);
	assert_string_equal(t1.services[1].hash, t3.services[1].hash);
	topology_free(&t1);
	topology_free(&t2);
	topology_free(&t3);
}

/* Keys beyond the example: each as its flag would set it. */
static void more_keys(void **state)
{
	static const char text[] =
		"name = \"k\"\n"
		"[volumes.scratch]\nvolume_type = \"ephemeral\"\nsize = 8388608\n"
		"[services.a]\n"
		"command = [\"/bin/a\"]\n"
		"egress_allow = []\n"
		"egress_tcp_ports = [443, 80]\n"
		"volumes = [\"./data:/data:ro\", \"scratch:/scratch:mode=0700,exec\"]\n"
		"user = 1000\n"
		"additional_groups = [10, \"20\"]\n"
		"health_check = \"true\"\n"
		"health_interval = 0.5\n"
		"health_retries = 2\n"
		"pids = 64\n"
		"init = true\n"
		"swap = false\n"
		"workdir = \"/srv\"\n"
		"environment = [\"A=1\"]\n"
		"runtime = \"native\"\n"
		"[services.b]\ncommand = [\"/bin/b\"]\ndepends_on = [\"a\", { service = \"c\", condition = \"completed_successfully\" }]\n"
		"[services.c]\ncommand = [\"/bin/c\"]\n";
	_cleanup_free_ char *p = NULL, *data = xasprintf("%s/data", dir);
	struct topology t;
	struct nerr e;

	if (geteuid() != 0)
		skip();
	if (load(text, &t, &e, &p) < 0)
		fail_msg("%s", e.msg);
	const struct container_config *a = &t.services[0].cfg;
	assert_true(a->net.egress.enabled);
	assert_int_equal(a->net.egress.nallow, 0);          /* deny all */
	assert_int_equal(a->net.egress.ntcp, 2);
	assert_int_equal(a->fs.n_volumes, 1);
	assert_string_equal(a->fs.volumes[0].src, data);    /* relative to the file */
	assert_int_equal(a->fs.volumes[0].access, FS_VOLUME_RO);
	assert_int_equal(a->fs.n_tmpfs, 1);
	assert_int_equal(a->fs.tmpfs[0].size, 8ull << 20);
	assert_int_equal(a->fs.tmpfs[0].mode, 0700);
	assert_true(a->fs.tmpfs[0].exec);
	assert_int_equal(a->proc.identity.uid, 1000);
	assert_int_equal(strv_len(a->proc.identity.additional_groups), 2);
	assert_int_equal(a->svc.health.interval_ns, 500000000ull);
	assert_int_equal(a->svc.health.retries, 2);
	assert_int_equal(a->res.limits.pids_max, 64);
	assert_true(a->proc.init);
	assert_false(a->res.limits.swap);
	assert_string_equal(a->proc.workdir, "/srv");
	assert_int_equal(strv_len(t.services[0].volumes), 1);
	assert_string_equal(t.services[0].volumes[0], "scratch");
	assert_int_equal(t.services[1].ndeps, 2);
	assert_int_equal(t.services[1].deps[0].condition, TOPO_STARTED);
	assert_int_equal(t.services[1].deps[1].index, 2);
	assert_int_equal(t.services[1].deps[1].condition, TOPO_COMPLETED);
	assert_string_equal(t.services[t.order[2]].name, "b");
	topology_free(&t);
}

static void order_stable(void **state)
{
	/* d needs c and a; c needs b: a b c d would be file order, but b has
	 * to come before c, and e (independent) stays where it is */
	static const char text[] =
		"name = \"o\"\n"
		"[services.d]\ncommand = [\"true\"]\ndepends_on = [\"c\", \"a\"]\n"
		"[services.a]\ncommand = [\"true\"]\n"
		"[services.c]\ncommand = [\"true\"]\ndepends_on = [\"b\"]\n"
		"[services.e]\ncommand = [\"true\"]\n"
		"[services.b]\ncommand = [\"true\"]\n";
	const char *want[] = { "a", "e", "b", "c", "d" };
	unsigned levels[] = { 0, 0, 0, 1, 2 };
	_cleanup_free_ char *p = NULL;
	struct topology t;
	struct nerr e;

	if (load(text, &t, &e, &p) < 0)
		fail_msg("%s", e.msg);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(t.services[t.order[i]].name, want[i]);
		assert_int_equal(t.services[t.order[i]].level, levels[i]);
	}
	assert_int_equal(t.nlevels, 3);
	topology_free(&t);
}

static void bridge_names(void **state)
{
	char a[16], b[16], c[16], d[16];

	topology_bridge_name("app", "net", a);
	topology_bridge_name("app", "net", b);
	topology_bridge_name("app2", "net", c);
	topology_bridge_name("app-n", "et", d);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_string_not_equal(a, d);
	assert_int_equal(strlen(a), 15);
}

struct bad {
	int line;
	const char *key;
	const char *msg;
	const char *text;
};

#define SVCB "[services.a]\ncommand = [\"true\"]\n"
#define SVC "name = \"x\"\n" SVCB     /* a is at line 2 */

static const struct bad bads[] = {
	{ 2, "version", "unknown key", "name = \"x\"\nversion = 3\n[services.a]\ncommand = [\"true\"]\n" },
	{ 4, "memroy", "unknown key in [services.a]", SVC "memroy = \"1G\"\n" },
	{ 4, "pids", "expected an integer, not a string", SVC "pids = \"many\"\n" },
	{ 3, "command", "expected an array of strings", "name = \"x\"\n[services.a]\ncommand = \"true\"\n" },
	{ 2, "command", "needs a command", "name = \"x\"\n[services.a]\nmemory = \"1G\"\n" },
	{ 4, "memory", "invalid --memory `2X`", SVC "memory = \"2X\"\n" },
	{ 3, "subnet", "invalid subnet `10.0.0.0/33`", "name = \"x\"\n[networks.n]\nsubnet = \"10.0.0.0/33\"\n" SVCB },
	{ 3, "subnet", "is an IPv6 subnet", "name = \"x\"\n[networks.n]\nsubnet = \"fd00::/64\"\n" SVCB },
	{ 2, "subnet", "needs an IPv4 subnet", "name = \"x\"\n[networks.n]\nsubnet6 = \"fd00::/64\"\n" SVCB },
	{ 4, "subnet", "network `m`'s subnet 10.50.1.0/24 overlaps network `n`'s 10.50.0.0/16",
	  "name = \"x\"\n[networks.n]\nsubnet = \"10.50.0.0/16\"\n[networks.m]\nsubnet = \"10.50.1.0/24\"\n" SVCB },
	{ 4, "bridge", "unknown key in [networks.n]", "name = \"x\"\n[networks.n]\nsubnet = \"10.50.0.0/16\"\nbridge = \"b\"\n" SVCB },
	{ 5, "subnet6", "network `m`'s subnet fd00:1:0:1::/64 overlaps network `n`'s fd00:1::/48",
	  "name = \"x\"\n[networks.n]\nsubnet = \"10.50.0.0/24\"\nsubnet6 = \"fd00:1::/48\"\n"
	  "[networks.m]\nsubnet = \"10.51.0.0/24\"\nsubnet6 = \"fd00:1:0:1::/64\"\n" SVCB },
	{ 4, "networks", "no network `nope`", SVC "networks = [\"nope\"]\n" },
	{ 6, "volumes", "an ephemeral volume is a tmpfs, always writable",
	  "name = \"x\"\n[volumes.t]\nvolume_type = \"ephemeral\"\n" SVCB "volumes = [\"t:/t:ro\"]\n" },
	{ 4, "health_check", "expected a string (run with /bin/sh -c) or an array of strings, not an integer",
	  SVC "health_check = 1\n" },
	{ 4, "health_check", "--health-cmd", SVC "health_check = \"\"\n" },
	{ 9, "networks", "one network per service",
	  "name = \"x\"\n[networks.n]\nsubnet = \"10.50.0.0/24\"\n[networks.m]\nsubnet = \"10.51.0.0/24\"\n" SVCB
	  "networks = [\"n\",\n \"m\"]\n" },
	{ 5, "volumes", "no volume `nope`", SVC "volumes = [\"/x:/y\",\n \"nope:/x\"]\n" },
	{ 2, "path", "a persistent volume needs", "name = \"x\"\n[volumes.v]\nvolume_type = \"persistent\"\n" SVCB },
	{ 3, "volume_type", "expected persistent or ephemeral", "name = \"x\"\n[volumes.v]\nvolume_type = \"tmp\"\n" SVCB },
	{ 4, "owner", "expected UID:GID", "name = \"x\"\n[volumes.v]\nvolume_type = \"persistent\"\nowner = \"me\"\npath = \"/v\"\n" SVCB },
	{ 4, "depends_on", "no service `b`", SVC "depends_on = [\"b\"]\n" },
	{ 11, "depends_on", "a dependency cycle: a -> b -> c -> a",
	  SVC "depends_on = [\"b\"]\n[services.b]\ncommand = [\"true\"]\n[[services.b.depends_on]]\nservice = \"c\"\n"
	  "[services.c]\ncommand = [\"true\"]\n[[services.c.depends_on]]\nservice = \"a\"\n" },
	{ 4, "depends_on", "a dependency cycle: a -> a", SVC "depends_on = [\"a\"]\n" },
	{ 4, "condition", "`healthy` needs a health check on `b`",
	  SVC "[[services.a.depends_on]]\nservice = \"b\"\ncondition = \"healthy\"\n[services.b]\ncommand = [\"true\"]\n" },
	{ 6, "condition", "`ready`: expected started, healthy or completed_successfully",
	  SVC "[[services.a.depends_on]]\nservice = \"b\"\ncondition = \"ready\"\n[services.b]\ncommand = [\"true\"]\n" },
	{ 6, "when", "unknown key in depends_on",
	  SVC "[[services.a.depends_on]]\nservice = \"b\"\nwhen = \"now\"\n[services.b]\ncommand = [\"true\"]\n" },
	{ 4, "runtime", "no executable `/nonexistent/rt`", SVC "runtime = \"oci:/nonexistent/rt\"\n" },
	{ 4, "gvisor_platform", "--gvisor-platform needs --runtime gvisor", SVC "gvisor_platform = \"ptrace\"\n" },
	{ 4, "runtime", "unknown runtime `kata`", SVC "runtime = \"kata\"\n" },
	{ 5, "environment", "`LD_PRELOAD` is not allowed", SVC "environment = [\"A=1\",\n\"LD_PRELOAD=/x.so\"]\n" },
	{ 4, "port_forwards", "need --network bridge", SVC "port_forwards = [\"80:80\"]\n" },
	{ 5, "tmpfs_size", "--tmpfs-size 1G is more than --memory 16M", SVC "memory = \"16M\"\ntmpfs_size = \"1G\"\n" },
	{ 4, "restart", "invalid restart policy `sometimes`", SVC "restart = \"sometimes\"\n" },
	{ 4, "service_mode", "invalid --service-mode `prod`", SVC "service_mode = \"prod\"\n" },
	{ 4, "caps_policy", "No such file", SVC "caps_policy = \"/nonexistent/caps.toml\"\n" },
	{ 2, "services", "invalid service name `a b`", "name = \"x\"\n[services.\"a b\"]\ncommand = [\"true\"]\n" },
	{ 2, "services", "longer than 63 characters",
	  "name = \"x\"\n[services.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\ncommand = [\"true\"]\n" },
	{ 1, "name", "invalid topology name", "name = \"-x\"\n[services.a]\ncommand = [\"true\"]\n" },
	{ 1, "name", "needs a name", "[services.a]\ncommand = [\"true\"]\n" },
	{ 1, "services", "no service", "name = \"x\"\n" },
};

static void mistakes(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bads); i++) {
		_cleanup_free_ char *p = NULL, *want = NULL;
		struct topology t;
		struct nerr e;

		if (load(bads[i].text, &t, &e, &p) == 0)
			fail_msg("case %zu (%s) loaded", i, bads[i].msg);
		want = xasprintf("%s:%d: %s: ", p, bads[i].line, bads[i].key);
		if (strncmp(e.msg, want, strlen(want)) || !strstr(e.msg, bads[i].msg))
			fail_msg("case %zu: expected [%s...%s] in [%s]", i, want, bads[i].msg, e.msg);
		assert_null(strchr(e.msg, '\n'));
		assert_null(t.services);     /* nothing kept */
	}
}

static void syntax_and_file(void **state)
{
	_cleanup_free_ char *p = NULL, *want = NULL;
	struct topology t;
	struct nerr e;

	assert_true(load("name = \"x\"\n[services.a\n", &t, &e, &p) < 0);
	want = xasprintf("%s:2:", p);
	assert_true(!strncmp(e.msg, want, strlen(want)));
	memset(&e, 0, sizeof(e));
	assert_true(topology_load("/nonexistent/topology.toml", run_parse_args, &t, &e) < 0);
	assert_non_null(strstr(e.msg, "/nonexistent/topology.toml"));
}

/* A subnet in use on the host is refused, unless on the network's own bridge. */
static void host_subnets(void **state)
{
	struct ifaddrs *ifs, *i;
	struct topo_network n = { .name = "n", .line = 3 };
	struct topology t = { .file = "f.toml", .networks = &n, .nnetworks = 1 };
	struct nerr e = { 0 };
	char want[96];

	assert_int_equal(getifaddrs(&ifs), 0);
	for (i = ifs; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && strcmp(i->ifa_name, "lo"))
			break;
	if (!i) {
		freeifaddrs(ifs);
		skip();
	}
	/* the interface's own /24 (or the network it is in) */
	n.subnet4.family = 4;
	n.subnet4.prefix = 24;
	memcpy(n.subnet4.addr, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
	n.subnet4.addr[3] = 0;
	strcpy(n.bridge, "ncnotthere0");
	assert_true(topology_check_host(&t, &e) < 0);
	snprintf(want, sizeof(want), "f.toml:3: subnet: network `n`'s subnet");
	assert_true(!strncmp(e.msg, want, strlen(want)));
	snprintf(want, sizeof(want), "on `%s`", i->ifa_name);
	assert_non_null(strstr(e.msg, want));
	/* on its own bridge: that is the topology, up */
	snprintf(n.bridge, sizeof(n.bridge), "%s", i->ifa_name);
	memset(&e, 0, sizeof(e));
	assert_int_equal(topology_check_host(&t, &e), 0);
	freeifaddrs(ifs);
	/* a subnet nobody uses */
	strcpy(n.bridge, "ncnotthere0");
	assert_int_equal(cidr_parse("10.253.251.0/24", &n.subnet4, NULL), 0);
	assert_int_equal(topology_check_host(&t, &e), 0);
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/test_topology.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	return remove_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_file),
		cmocka_unit_test(hash_stable_and_changed),
		cmocka_unit_test(hash_outside_config),
		cmocka_unit_test(more_keys),
		cmocka_unit_test(order_stable),
		cmocka_unit_test(bridge_names),
		cmocka_unit_test(mistakes),
		cmocka_unit_test(syntax_and_file),
		cmocka_unit_test(host_subnets),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
