/* Cgroup layout detection from mountinfo; limits written to and usage
 * sampled from cgroup trees faked in a temporary directory. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <nucleus/resources.h>

static const char hybrid[] =
	"30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
	"34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
	"39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
	"40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static const char unified[] =
	"25 21 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

static const char v1only[] =
	"31 30 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"32 30 0:29 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n";

static const char nested[] =
	"25 21 0:22 /system.slice/box.service /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";

static void level_counts_the_mount_root(void **state)
{
	struct cgroup_host h;

	assert_int_equal(cgroup_host_parse(nested, &h), 0);
	assert_string_equal(h.v2_root, "/system.slice/box.service");
	assert_int_equal(cgroup_v2_level(&h), 4);
}

static const char escaped[] =
	"40 30 0:37 / /mnt/with\\040space rw,relatime - cgroup2 cgroup2 rw\n";

static void detects_hybrid(void **state)
{
	struct cgroup_host h;

	assert_int_equal(cgroup_host_parse(hybrid, &h), 0);
	assert_int_equal(h.layout, CG_LAYOUT_HYBRID);
	assert_string_equal(h.v2_mount, "/sys/fs/cgroup/unified");
	assert_int_equal(h.nv1, 3);   /* name=systemd carries no controller */
	assert_string_equal(h.v1[0].mount, "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(h.v1[0].options, "cpu,cpuacct");
	assert_int_equal(h.v1[0].ctrls, CG_CPU | CG_CPUACCT);
	assert_int_equal(h.v1[2].ctrls, CG_PIDS);
	assert_string_equal(cgroup_layout_name(h.layout), "hybrid");
	assert_string_equal(h.v2_root, "/");
	assert_int_equal(cgroup_v2_level(&h), 2);
}

static void detects_unified(void **state)
{
	struct cgroup_host h;

	assert_int_equal(cgroup_host_parse(unified, &h), 0);
	assert_int_equal(h.layout, CG_LAYOUT_UNIFIED);
	assert_string_equal(h.v2_mount, "/sys/fs/cgroup");
	assert_int_equal(h.nv1, 0);
}

static void detects_v1_and_none(void **state)
{
	struct cgroup_host h;

	assert_int_equal(cgroup_host_parse(v1only, &h), 0);
	assert_int_equal(h.layout, CG_LAYOUT_V1);
	assert_int_equal(h.nv1, 2);
	assert_int_equal(cgroup_host_parse("", &h), 0);
	assert_int_equal(h.layout, CG_LAYOUT_NONE);
}

static void unescapes_paths(void **state)
{
	struct cgroup_host h;

	assert_int_equal(cgroup_host_parse(escaped, &h), 0);
	assert_string_equal(h.v2_mount, "/mnt/with space");
}

/* Limits are named back as the flags that ask for them. */
static void describes_limits(void **state)
{
	struct io_limit io[2] = { { .major = 8, .minor = 0, .rbps = 1 }, { .major = 259, .minor = 1, .wiops = 5 } };
	struct cgroup_limits l = { .memory_max = 64 << 20, .cpu_quota_us = 50000, .cpu_period_us = 100000,
				   .cpu_weight = 200, .pids_max = 512, .io = io, .nio = 2, .given = LIMIT_MEMORY };
	char *t;

	assert_int_equal(limits_set(&l), LIMIT_MEMORY | LIMIT_CPUS | LIMIT_CPU_WEIGHT | LIMIT_PIDS | LIMIT_IO);
	t = limits_describe(&l, ~0u);
	assert_string_equal(t, "--memory 64M, --cpus 0.5, --cpu-weight 200, --pids 512 (the default), "
			       "--io-limit 8:0, --io-limit 259:1");
	free(t);
	l.given |= LIMIT_PIDS;
	l.pids_max = 40;
	t = limits_describe(&l, LIMIT_PIDS | LIMIT_MEMORY);
	assert_string_equal(t, "--memory 64M, --pids 40");
	free(t);
	l.cpu_quota_us = 150000;
	t = limits_describe(&l, LIMIT_CPUS);
	assert_string_equal(t, "--cpus 1.5");
	free(t);
	t = limits_describe(&l, 0);
	assert_string_equal(t, "");
	free(t);
	l = (struct cgroup_limits){ 0 };
	assert_int_equal(limits_set(&l), 0);     /* --pids 0: nothing to enforce */
}

/* ---- fake cgroup trees: plain directories with the files cgroupfs would
 * have (write_str does not create files, so a missing one fails as an
 * absent controller file does) ---------------------------------------------- */

static void put(const char *dir, const char *file, const char *text)
{
	char *path = xasprintf("%s/%s", dir, file);

	assert_int_equal(write_file(path, text, strlen(text), 0644), 0);
	free(path);
}

static char *get(const char *dir, const char *file)
{
	char *path = xasprintf("%s/%s", dir, file);
	char *buf = NULL;

	assert_int_equal(read_file(path, 4096, &buf, NULL), 0);
	free(path);
	return buf;
}

static void assert_file(const char *dir, const char *file, const char *want)
{
	char *got = get(dir, file);

	assert_string_equal(got, want);
	free(got);
}

static void rm_tree(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
}

/* A unified host whose nucleus/ delegates `ctrls`, and a container "c"
 * made on it. */
struct fake_v2 {
	char root[32];
	struct cgroup_host h;
	struct cgroup cg;
	char *dir;                /* the container's cgroup */
};

static void fake_v2_create(struct fake_v2 *f, const char *ctrls)
{
	struct nerr err = { 0 };
	char *parent;

	memset(f, 0, sizeof(*f));
	snprintf(f->root, sizeof(f->root), "/tmp/nucleus-test-cg-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	f->h.layout = CG_LAYOUT_UNIFIED;
	snprintf(f->h.v2_mount, sizeof(f->h.v2_mount), "%s", f->root);
	parent = xasprintf("%s/nucleus", f->root);
	assert_int_equal(mkdir(parent, 0755), 0);
	put(parent, "cgroup.controllers", ctrls);
	put(parent, "cgroup.subtree_control", ctrls);
	free(parent);
	assert_int_equal(cgroup_create_membership(&f->cg, &f->h, "c", &err), 0);
	assert_true(f->cg.v2_fd >= 0);
	f->dir = xasprintf("%s/nucleus/c", f->root);
}

static void fake_v2_remove(struct fake_v2 *f)
{
	cgroup_close(&f->cg);
	free(f->dir);
	rm_tree(f->root);
}

/* Every limit in the v2 files, in the kernel's syntax. */
static void writes_v2_limits(void **state)
{
	struct io_limit io[1] = { { .major = 8, .minor = 0, .riops = 10, .wbps = 1 << 20 } };
	struct cgroup_limits lim = { .memory_max = 100 << 20, .cpu_quota_us = 50000, .cpu_period_us = 100000,
				     .cpu_weight = 200, .pids_max = 64, .io = io, .nio = 1 };
	static const char *const want[][2] = {
		{ "memory.high", "94371840" },          /* 90% of the limit */
		{ "memory.max", "104857600" }, { "memory.swap.max", "0" }, { "memory.oom.group", "1" },
		{ "cpu.max", "50000 100000" }, { "cpu.weight", "200" }, { "pids.max", "64" },
		{ "io.max", "8:0 riops=10 wbps=1048576" },
	};
	struct fake_v2 f;
	struct nerr err = { 0 };
	unsigned failed = ~0u;

	fake_v2_create(&f, "cpu io memory pids\n");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		put(f.dir, want[i][0], "");
	assert_int_equal(cgroup_create_limits(&f.cg, &lim, &failed, &err), 0);
	assert_int_equal(failed, 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_file(f.dir, want[i][0], want[i][1]);
	fake_v2_remove(&f);
}

/* A limit that cannot be written fails alone: the others are applied, the
 * first failure's reason is kept. */
static void v2_limit_fails_alone(void **state)
{
	struct cgroup_limits lim = { .memory_max = 1 << 20, .swap = true, .cpu_weight = 7, .pids_max = 9 };
	struct fake_v2 f;
	struct nerr err = { 0 };
	unsigned failed = 0;

	fake_v2_create(&f, "cpu io memory pids\n");
	put(f.dir, "memory.high", "");
	put(f.dir, "memory.oom.group", "");             /* no memory.max: memory fails */
	put(f.dir, "pids.max", "");                     /* no cpu.weight: cpu weight fails */
	assert_int_equal(cgroup_create_limits(&f.cg, &lim, &failed, &err), -ENOENT);
	assert_int_equal(failed, LIMIT_MEMORY | LIMIT_CPU_WEIGHT);
	assert_non_null(strstr(err.msg, "write `1048576` to "));
	assert_non_null(strstr(err.msg, "/nucleus/c/memory.max"));
	assert_file(f.dir, "pids.max", "9");
	fake_v2_remove(&f);
}

/* A controller nucleus/ does not delegate is reported, not written. */
static void v2_missing_controller(void **state)
{
	struct cgroup_limits lim = { .pids_max = 9 };
	struct fake_v2 f;
	struct nerr err = { 0 };
	unsigned failed = 0;

	fake_v2_create(&f, "memory\n");
	assert_int_equal(cgroup_create_limits(&f.cg, &lim, &failed, &err), -EOPNOTSUPP);
	assert_int_equal(failed, LIMIT_PIDS);
	assert_non_null(strstr(err.msg, "no pids controller is available to nucleus"));
	fake_v2_remove(&f);
}

/* On v1 a hierarchy that cannot be created fails the limits it carries. */
static void v1_uncreatable_hierarchy(void **state)
{
	char root[] = "/tmp/nucleus-test-cg-XXXXXX";
	struct cgroup_limits lim = { .memory_max = 1 << 20 };
	struct cgroup_host h = { .layout = CG_LAYOUT_V1, .nv1 = 1 };
	struct cgroup cg;
	struct nerr err = { 0 };
	unsigned failed = 0;

	assert_non_null(mkdtemp(root));
	snprintf(h.v1[0].mount, sizeof(h.v1[0].mount), "%s", root);
	h.v1[0].ctrls = CG_MEMORY;
	put(root, "nucleus", "");                   /* a file where nucleus/ should be */
	assert_int_equal(cgroup_create_membership(&cg, &h, "c4", &err), 0);
	assert_int_equal(cgroup_create_limits(&cg, &lim, &failed, &err), -ENOTDIR);
	assert_int_equal(failed, LIMIT_MEMORY);
	assert_non_null(strstr(err.msg, "create cgroup `"));
	assert_non_null(strstr(err.msg, "/nucleus/c4`"));
	rm_tree(root);
}

/* cgroup_sample reads every kind of usage, and reads `want`. */
static void assert_sample(const struct cgroup *cg, struct cgroup_sample want)
{
	struct cgroup_sample s;

	assert_int_equal(cgroup_sample(cg, &s), 0);
	assert_true(s.have_cpu && s.have_memory && s.have_pids && s.have_blk);
	assert_int_equal(s.cpu_usage_ns, want.cpu_usage_ns);
	assert_int_equal(s.memory_usage, want.memory_usage);
	assert_int_equal(s.memory_limit, want.memory_limit);
	assert_int_equal(s.pids, want.pids);
	assert_int_equal(s.pids_limit, want.pids_limit);
	assert_int_equal(s.blk_read, want.blk_read);
	assert_int_equal(s.blk_write, want.blk_write);
}

/* Usage from v2's files; "max" reads as no limit. */
static void samples_v2(void **state)
{
	static const char *const files[][2] = {
		{ "cpu.stat", "usage_usec 1500\nuser_usec 1000\n" }, { "memory.current", "4096\n" },
		{ "memory.max", "max\n" }, { "pids.current", "3\n" }, { "pids.max", "64\n" },
		{ "io.stat", "8:0 rbytes=100 wbytes=20 rios=1\n259:1 rbytes=5 wbytes=7\n" },
		{ "memory.events", "low 0\noom 1\noom_kill 0\n" },
	};
	struct fake_v2 f;
	struct nerr err = { 0 };

	fake_v2_create(&f, "cpu io memory pids\n");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		put(f.dir, files[i][0], files[i][1]);
	cgroup_close(&f.cg);
	assert_int_equal(cgroup_open(&f.cg, &f.h, "c", &err), 0);
	assert_sample(&f.cg, (struct cgroup_sample){ .cpu_usage_ns = 1500000, .memory_usage = 4096,
						     .pids = 3, .pids_limit = 64, .blk_read = 105,
						     .blk_write = 27 });
	assert_false(cgroup_oom_killed(&f.cg));
	put(f.dir, "memory.events", "low 0\noom 1\noom_kill 2\n");
	assert_true(cgroup_oom_killed(&f.cg));
	fake_v2_remove(&f);
}

/* Usage from the v1 controller hierarchies the container has. */
static void samples_v1(void **state)
{
	char root[] = "/tmp/nucleus-test-cg-XXXXXX";
	static const struct { const char *name; unsigned ctrls; } hier[] = {
		{ "cpuacct", CG_CPU | CG_CPUACCT }, { "memory", CG_MEMORY }, { "pids", CG_PIDS }, { "blkio", CG_BLKIO },
	};
	struct cgroup_host h = { .layout = CG_LAYOUT_V1, .nv1 = 4 };
	struct cgroup cg;
	struct nerr err = { 0 };
	char *d[4];

	assert_non_null(mkdtemp(root));
	for (size_t i = 0; i < 4; i++) {
		snprintf(h.v1[i].mount, sizeof(h.v1[i].mount), "%s/%s", root, hier[i].name);
		h.v1[i].ctrls = hier[i].ctrls;
		d[i] = xasprintf("%s/nucleus/c6", h.v1[i].mount);
		assert_int_equal(mkdir_p(d[i], 0755), 0);
	}
	put(d[0], "cpuacct.usage", "123456789\n");
	put(d[1], "memory.usage_in_bytes", "8192\n");
	put(d[1], "memory.limit_in_bytes", "9223372036854771712\n");   /* v1's "unlimited" */
	put(d[1], "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
	put(d[2], "pids.current", "2\n");
	put(d[2], "pids.max", "max\n");
	put(d[3], "blkio.throttle.io_service_bytes", "8:0 Read 10\n8:0 Write 4\n8:0 Sync 14\n8:16 Read 1\nTotal 15\n");
	assert_int_equal(cgroup_open(&cg, &h, "c6", &err), 0);
	assert_int_equal(cg.v1_mask, 0xf);
	assert_sample(&cg, (struct cgroup_sample){ .cpu_usage_ns = 123456789, .memory_usage = 8192,
						   .pids = 2, .blk_read = 11, .blk_write = 4 });
	assert_true(cgroup_oom_killed(&cg));
	assert_true(cgroup_populated(&cg) == false);
	put(d[2], "cgroup.procs", "42\n");
	assert_true(cgroup_populated(&cg));
	for (size_t i = 0; i < 4; i++)
		free(d[i]);
	rm_tree(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(detects_hybrid),
		cmocka_unit_test(detects_unified),
		cmocka_unit_test(detects_v1_and_none),
		cmocka_unit_test(unescapes_paths),
		cmocka_unit_test(level_counts_the_mount_root),
		cmocka_unit_test(describes_limits),
		cmocka_unit_test(writes_v2_limits),
		cmocka_unit_test(v2_limit_fails_alone),
		cmocka_unit_test(v2_missing_controller),
		cmocka_unit_test(v1_uncreatable_hierarchy),
		cmocka_unit_test(samples_v2),
		cmocka_unit_test(samples_v1),
	};
	return cmocka_run_group_tests_name("cgroup", tests, NULL, NULL);
}
