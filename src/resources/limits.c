/* Limits applied: written into the container's cgroup in the syntax of the
 * hierarchy that carries each controller (v1 or v2), and what stands in for
 * a pids limit where no cgroup can. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <nucleus/resources.h>
#include "cgroup_internal.h"

/* cgroup v1 cpu.shares from a v2-style weight (1..10000, default 100). */
static uint64_t weight_to_shares(uint64_t w)
{
	return 2 + ((w - 1) * 262142) / 9999;
}

/* The directory of the container's cgroup that carries a controller: its
 * v1 hierarchy's (which must have been made: mkerr says why not), else v2
 * where nucleus/ delegates it. */
static int ctrl_dir(const struct cgroup *cg, unsigned ctrl, const char *name, const int *mkerr, char **dir,
		    bool *v1, struct nerr *err)
{
	const struct cgroup_host *h = cg->host;
	int i = cg_v1_index(h, ctrl);

	*dir = NULL;
	if (i >= 0) {
		if (!(cg->v1_mask & (1u << i))) {
			_cleanup_free_ char *d = cg_v1_dir(cg, (size_t)i);
			return nerr_set(err, mkerr[i] ? mkerr[i] : ENOENT, "create cgroup `%s`", d);
		}
		*dir = cg_v1_dir(cg, (size_t)i);
		*v1 = true;
		return 0;
	}
	if (h->v2_mount[0] && cg_v2_has(h, name)) {
		*dir = cg_v2_dir(cg);
		*v1 = false;
		return 0;
	}
	return nerr_set(err, EOPNOTSUPP, "no %s controller is available to nucleus", name);
}

/* Where one limit goes: its controller's directory, whether that is a v1
 * hierarchy, and for --io-limit which device's entry. */
struct limit_target {
	const char *dir;
	bool v1;
	size_t io;
};

static int write_memory(const struct limit_target *t, const struct cgroup_limits *lim, struct nerr *err)
{
	char buf[64];
	int r;

	if (t->v1) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)lim->memory_max);
		if ((r = cg_write_at(t->dir, "memory.limit_in_bytes", buf, err)) < 0)
			return r;
		/* memsw exists only with swap accounting; without it there is no swap limit to set */
		if (!lim->swap) {
			_cleanup_free_ char *sw = xasprintf("%s/memory.memsw.limit_in_bytes", t->dir);
			if (access(sw, F_OK) == 0 &&
			    (r = cg_write_at(t->dir, "memory.memsw.limit_in_bytes", buf, err)) < 0)
				return r;
			cg_write_at(t->dir, "memory.swappiness", "0", NULL);
		}
		return 0;
	}
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)(lim->memory_max / 10 * 9));
	if ((r = cg_write_at(t->dir, "memory.high", buf, err)) < 0)
		return r;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)lim->memory_max);
	if ((r = cg_write_at(t->dir, "memory.max", buf, err)) < 0)
		return r;
	if (!lim->swap && (r = cg_write_at(t->dir, "memory.swap.max", "0", err)) < 0 && r != -ENOENT)
		return r;
	return cg_write_at(t->dir, "memory.oom.group", "1", err);
}

static int write_cpu_quota(const struct limit_target *t, const struct cgroup_limits *lim, struct nerr *err)
{
	uint64_t period = lim->cpu_period_us ? lim->cpu_period_us : 100000;
	char buf[64];
	int r;

	if (!t->v1) {
		snprintf(buf, sizeof(buf), "%llu %llu", (unsigned long long)lim->cpu_quota_us,
			 (unsigned long long)period);
		return cg_write_at(t->dir, "cpu.max", buf, err);
	}
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)period);
	if ((r = cg_write_at(t->dir, "cpu.cfs_period_us", buf, err)) < 0)
		return r;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)lim->cpu_quota_us);
	return cg_write_at(t->dir, "cpu.cfs_quota_us", buf, err);
}

static int write_cpu_weight(const struct limit_target *t, const struct cgroup_limits *lim, struct nerr *err)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%llu",
		 (unsigned long long)(t->v1 ? weight_to_shares(lim->cpu_weight) : lim->cpu_weight));
	return cg_write_at(t->dir, t->v1 ? "cpu.shares" : "cpu.weight", buf, err);
}

static int write_pids(const struct limit_target *t, const struct cgroup_limits *lim, struct nerr *err)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)lim->pids_max);
	return cg_write_at(t->dir, "pids.max", buf, err);
}

static int write_io(const struct limit_target *t, const struct cgroup_limits *lim, struct nerr *err)
{
	const struct io_limit *io = &lim->io[t->io];
	char buf[160];
	int r;

	if (t->v1) {
		static const char *const files[] = {
			"blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device",
			"blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
		};
		uint64_t vals[] = { io->riops, io->wiops, io->rbps, io->wbps };

		for (size_t f = 0; f < 4; f++) {
			if (!vals[f])
				continue;
			snprintf(buf, sizeof(buf), "%u:%u %llu", io->major, io->minor, (unsigned long long)vals[f]);
			if ((r = cg_write_at(t->dir, files[f], buf, err)) < 0)
				return r;
		}
		return 0;
	}
	char part[4][40] = { "", "", "", "" };

	if (io->riops) snprintf(part[0], sizeof(part[0]), " riops=%llu", (unsigned long long)io->riops);
	if (io->wiops) snprintf(part[1], sizeof(part[1]), " wiops=%llu", (unsigned long long)io->wiops);
	if (io->rbps) snprintf(part[2], sizeof(part[2]), " rbps=%llu", (unsigned long long)io->rbps);
	if (io->wbps) snprintf(part[3], sizeof(part[3]), " wbps=%llu", (unsigned long long)io->wbps);
	snprintf(buf, sizeof(buf), "%u:%u%s%s%s%s", io->major, io->minor, part[0], part[1], part[2], part[3]);
	return cg_write_at(t->dir, "io.max", buf, err);
}

/* The limits in the order they are written (and their failures reported). */
static const struct limit_writer {
	unsigned bit;            /* LIMIT_* */
	unsigned ctrl;           /* CG_* of the v1 hierarchy that carries it */
	const char *name;        /* its controller on v2 */
	int (*write)(const struct limit_target *t, const struct cgroup_limits *lim, struct nerr *err);
} writers[] = {
	{ LIMIT_MEMORY, CG_MEMORY, "memory", write_memory },
	{ LIMIT_CPUS, CG_CPU, "cpu", write_cpu_quota },
	{ LIMIT_CPU_WEIGHT, CG_CPU, "cpu", write_cpu_weight },
	{ LIMIT_PIDS, CG_PIDS, "pids", write_pids },
	{ LIMIT_IO, CG_BLKIO, "io", write_io },
};

int cg_limits_write(const struct cgroup *cg, const struct cgroup_limits *lim, const int *mkerr,
		    unsigned *failed, struct nerr *err)
{
	unsigned set = limits_set(lim);
	struct nerr e = { 0 };
	int first = 0;

	for (size_t w = 0; w < ARRAY_SIZE(writers); w++) {
		const struct limit_writer *lw = &writers[w];
		/* one write per --io-limit device, one for each other limit */
		size_t n = lw->bit == LIMIT_IO ? lim->nio : 1;

		if (!(set & lw->bit))
			continue;
		for (size_t k = 0; k < n; k++) {
			_cleanup_free_ char *d = NULL;
			struct limit_target t = { .io = k };
			int r;

			nerr_clear(&e);
			if ((r = ctrl_dir(cg, lw->ctrl, lw->name, mkerr, &d, &t.v1, &e)) == 0) {
				t.dir = d;
				r = lw->write(&t, lim, &e);
			}
			if (r < 0) {
				*failed |= lw->bit;
				if (!first) {
					first = r;
					*err = e;
				}
			}
		}
	}
	return first;
}

/* Linux 5.14 moved RLIMIT_NPROC's count into the user namespace's ucounts
 * ("ucounts: Implement rlimit counting for RLIMIT_NPROC"). Before that it
 * counted every process of the host user: a container's limit would have
 * been eaten by the caller's other processes. */
bool nproc_counts_per_userns(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return false;
	return major > 5 || (major == 5 && minor >= 14);
}
