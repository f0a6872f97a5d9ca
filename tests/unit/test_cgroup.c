/* Cgroup layout detection from mountinfo. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(detects_hybrid),
		cmocka_unit_test(detects_unified),
		cmocka_unit_test(detects_v1_and_none),
		cmocka_unit_test(unescapes_paths),
		cmocka_unit_test(level_counts_the_mount_root),
		cmocka_unit_test(describes_limits),
	};
	return cmocka_run_group_tests_name("cgroup", tests, NULL, NULL);
}
