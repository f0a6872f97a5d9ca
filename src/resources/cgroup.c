/* Container cgroups: create, join, kill, destroy, on the v2 tree and on the
 * v1 controller hierarchies of hybrid and v1 hosts. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <nucleus/resources.h>

static const char *const v2_ctrls[] = { "cpu", "memory", "pids", "io" };

/* The v1 hierarchy that carries a controller, or -1. */
static int v1_index(const struct cgroup_host *h, unsigned ctrl)
{
	for (size_t i = 0; i < h->nv1; i++)
		if (h->v1[i].ctrls & ctrl)
			return (int)i;
	return -1;
}

/* Controllers the nucleus parent can hand to its children on v2. */
static bool v2_has(const struct cgroup_host *h, const char *ctrl)
{
	_cleanup_free_ char *path = xasprintf("%s/%s/cgroup.subtree_control", h->v2_mount, CGROUP_PARENT);
	_cleanup_free_ char *buf = NULL;
	size_t n = strlen(ctrl);

	if (read_file(path, 4096, &buf, NULL) < 0)
		return false;
	for (char *p = buf; (p = strstr(p, ctrl)); p += n)
		if ((p == buf || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
			return true;
	return false;
}

/* nucleus/ on v2: create it and delegate the controllers its parent offers. */
static int v2_parent_prepare(const struct cgroup_host *h, struct nerr *err)
{
	_cleanup_free_ char *dir = xasprintf("%s/%s", h->v2_mount, CGROUP_PARENT);
	_cleanup_free_ char *avail = NULL;
	_cleanup_free_ char *path = NULL;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return nerr_set(err, errno, "create cgroup `%s`", dir);
	if (h->layout != CG_LAYOUT_UNIFIED)
		return 0;
	path = xasprintf("%s/cgroup.controllers", dir);
	if (read_file(path, 4096, &avail, NULL) < 0)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(v2_ctrls); i++) {
		_cleanup_free_ char *ctl = NULL;
		_cleanup_free_ char *want = NULL;

		if (!strstr(avail, v2_ctrls[i]) || v2_has(h, v2_ctrls[i]))
			continue;
		ctl = xasprintf("%s/cgroup.subtree_control", dir);
		want = xasprintf("+%s", v2_ctrls[i]);
		if (write_str(ctl, want) < 0)
			log_debug("cgroup: cannot enable %s in %s", v2_ctrls[i], dir);
	}
	return 0;
}

static int write_at(const char *dir, const char *file, const char *val, struct nerr *err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	int r = write_str(path, val);

	if (r < 0)
		return nerr_set(err, -r, "write `%s` to %s", val, path);
	return 0;
}

static char *v1_dir(const struct cgroup *cg, size_t i)
{
	return xasprintf("%s/%s", cg->host->v1[i].mount, cg->rel);
}

static char *v2_dir(const struct cgroup *cg)
{
	return xasprintf("%s/%s", cg->host->v2_mount, cg->rel);
}

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
	int i = v1_index(h, ctrl);

	*dir = NULL;
	if (i >= 0) {
		if (!(cg->v1_mask & (1u << i))) {
			_cleanup_free_ char *d = v1_dir(cg, (size_t)i);
			return nerr_set(err, mkerr[i] ? mkerr[i] : ENOENT, "create cgroup `%s`", d);
		}
		*dir = v1_dir(cg, (size_t)i);
		*v1 = true;
		return 0;
	}
	if (h->v2_mount[0] && v2_has(h, name)) {
		*dir = v2_dir(cg);
		*v1 = false;
		return 0;
	}
	return nerr_set(err, EOPNOTSUPP, "no %s controller is available to nucleus", name);
}

static int write_memory(const struct cgroup *cg, const struct cgroup_limits *lim, const int *mkerr,
			struct nerr *err)
{
	_cleanup_free_ char *d = NULL;
	char buf[64];
	bool v1;
	int r;

	if ((r = ctrl_dir(cg, CG_MEMORY, "memory", mkerr, &d, &v1, err)) < 0)
		return r;
	if (v1) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)lim->memory_max);
		if ((r = write_at(d, "memory.limit_in_bytes", buf, err)) < 0)
			return r;
		/* memsw exists only with swap accounting; without it there is no swap limit to set */
		if (!lim->swap) {
			_cleanup_free_ char *sw = xasprintf("%s/memory.memsw.limit_in_bytes", d);
			if (access(sw, F_OK) == 0 && (r = write_at(d, "memory.memsw.limit_in_bytes", buf, err)) < 0)
				return r;
			write_at(d, "memory.swappiness", "0", NULL);
		}
		return 0;
	}
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)(lim->memory_max / 10 * 9));
	if ((r = write_at(d, "memory.high", buf, err)) < 0)
		return r;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)lim->memory_max);
	if ((r = write_at(d, "memory.max", buf, err)) < 0)
		return r;
	if (!lim->swap && (r = write_at(d, "memory.swap.max", "0", err)) < 0 && r != -ENOENT)
		return r;
	return write_at(d, "memory.oom.group", "1", err);
}

static int write_cpu_quota(const struct cgroup *cg, const struct cgroup_limits *lim, const int *mkerr,
			   struct nerr *err)
{
	uint64_t period = lim->cpu_period_us ? lim->cpu_period_us : 100000;
	_cleanup_free_ char *d = NULL;
	char buf[64];
	bool v1;
	int r;

	if ((r = ctrl_dir(cg, CG_CPU, "cpu", mkerr, &d, &v1, err)) < 0)
		return r;
	if (!v1) {
		snprintf(buf, sizeof(buf), "%llu %llu", (unsigned long long)lim->cpu_quota_us,
			 (unsigned long long)period);
		return write_at(d, "cpu.max", buf, err);
	}
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)period);
	if ((r = write_at(d, "cpu.cfs_period_us", buf, err)) < 0)
		return r;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)lim->cpu_quota_us);
	return write_at(d, "cpu.cfs_quota_us", buf, err);
}

static int write_cpu_weight(const struct cgroup *cg, const struct cgroup_limits *lim, const int *mkerr,
			    struct nerr *err)
{
	_cleanup_free_ char *d = NULL;
	char buf[64];
	bool v1;
	int r;

	if ((r = ctrl_dir(cg, CG_CPU, "cpu", mkerr, &d, &v1, err)) < 0)
		return r;
	snprintf(buf, sizeof(buf), "%llu",
		 (unsigned long long)(v1 ? weight_to_shares(lim->cpu_weight) : lim->cpu_weight));
	return write_at(d, v1 ? "cpu.shares" : "cpu.weight", buf, err);
}

static int write_pids(const struct cgroup *cg, const struct cgroup_limits *lim, const int *mkerr,
		      struct nerr *err)
{
	_cleanup_free_ char *d = NULL;
	char buf[64];
	bool v1;
	int r;

	if ((r = ctrl_dir(cg, CG_PIDS, "pids", mkerr, &d, &v1, err)) < 0)
		return r;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)lim->pids_max);
	return write_at(d, "pids.max", buf, err);
}

static int write_io(const struct cgroup *cg, const struct io_limit *io, const int *mkerr, struct nerr *err)
{
	_cleanup_free_ char *d = NULL;
	char buf[160];
	bool v1;
	int r;

	if ((r = ctrl_dir(cg, CG_BLKIO, "io", mkerr, &d, &v1, err)) < 0)
		return r;
	if (v1) {
		static const char *const files[] = {
			"blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device",
			"blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
		};
		uint64_t vals[] = { io->riops, io->wiops, io->rbps, io->wbps };

		for (size_t f = 0; f < 4; f++) {
			if (!vals[f])
				continue;
			snprintf(buf, sizeof(buf), "%u:%u %llu", io->major, io->minor, (unsigned long long)vals[f]);
			if ((r = write_at(d, files[f], buf, err)) < 0)
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
	return write_at(d, "io.max", buf, err);
}

/* Every limit that is set, each on its own: one that cannot be written
 * does not keep the others from being applied. The first failure's reason
 * goes to err. */
static int write_limits(const struct cgroup *cg, const struct cgroup_limits *lim, const int *mkerr,
			unsigned *failed, struct nerr *err)
{
	struct nerr e = { 0 };
	int first = 0;

#define TRY(bit, call)                                          \
	do {                                                    \
		nerr_clear(&e);                                 \
		int r_ = (call);                                \
		if (r_ < 0) {                                   \
			*failed |= (bit);                       \
			if (!first) {                           \
				first = r_;                     \
				*err = e;                       \
			}                                       \
		}                                               \
	} while (0)
	if (lim->memory_max)
		TRY(LIMIT_MEMORY, write_memory(cg, lim, mkerr, &e));
	if (lim->cpu_quota_us)
		TRY(LIMIT_CPUS, write_cpu_quota(cg, lim, mkerr, &e));
	if (lim->cpu_weight)
		TRY(LIMIT_CPU_WEIGHT, write_cpu_weight(cg, lim, mkerr, &e));
	if (lim->pids_max)
		TRY(LIMIT_PIDS, write_pids(cg, lim, mkerr, &e));
	for (size_t k = 0; k < lim->nio; k++)
		TRY(LIMIT_IO, write_io(cg, &lim->io[k], mkerr, &e));
#undef TRY
	return first;
}

/* v1 hierarchies a container joins. Every join is a migration the start-up
 * pays for, so only what is used: pids (the default limit) and memory (usage,
 * OOM) always, cpu and blkio when limited. CPU time and freezing come from
 * cgroup v2, which is always joined where it exists; a v1-only host joins
 * everything nucleus knows. */
static bool v1_wanted(const struct cgroup_host *h, const struct cgroup_hier *v,
		      const struct cgroup_limits *lim)
{
	unsigned want = CG_PIDS | CG_MEMORY;

	if (!h->v2_mount[0])
		want |= CG_CPU | CG_CPUACCT | CG_BLKIO | CG_FREEZER;
	if (lim && (lim->cpu_quota_us || lim->cpu_weight))
		want |= CG_CPU;
	if (lim && lim->nio)
		want |= CG_BLKIO;
	return v->ctrls & want;
}

int cgroup_create_membership(struct cgroup *cg, const struct cgroup_host *h, const char *id,
			     struct nerr *err)
{
	struct stat st;
	int r;

	memset(cg, 0, sizeof(*cg));
	cg->host = h;
	cg->v2_fd = -1;
	snprintf(cg->rel, sizeof(cg->rel), "%s/%s", CGROUP_PARENT, id);
	if (h->layout == CG_LAYOUT_NONE)
		return nerr_set(err, ENOENT, "no cgroup filesystem is mounted");
	if (!h->v2_mount[0])
		return 0;

	_cleanup_free_ char *d = v2_dir(cg);

	if ((r = v2_parent_prepare(h, err)) < 0)
		return r;
	if (mkdir(d, 0755) < 0)
		return nerr_set(err, errno, "create cgroup `%s`", d);
	cg->v2_fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->v2_fd < 0 || fstat(cg->v2_fd, &st) < 0) {
		r = nerr_set(err, errno, "open cgroup `%s`", d);
		cgroup_destroy(cg, NULL);
		return r;
	}
	cg->id = st.st_ino;
	return 0;
}

int cgroup_create_limits(struct cgroup *cg, const struct cgroup_limits *lim, unsigned *failed,
			 struct nerr *err)
{
	const struct cgroup_host *h = cg->host;
	int mkerr[CG_MAX_V1] = { 0 };

	*failed = 0;
	/* a hierarchy that cannot be had fails the limits it carries, and
	 * only those (write_limits says which) */
	for (size_t i = 0; i < h->nv1; i++) {
		_cleanup_free_ char *parent = xasprintf("%s/%s", h->v1[i].mount, CGROUP_PARENT);
		_cleanup_free_ char *d = v1_dir(cg, i);

		if (!v1_wanted(h, &h->v1[i], lim))
			continue;
		if ((mkdir(parent, 0755) < 0 && errno != EEXIST) || mkdir(d, 0755) < 0) {
			mkerr[i] = errno;
			log_debug("cgroup: create `%s`: %s", d, strerror(errno));
			continue;
		}
		cg->v1_mask |= 1u << i;
	}
	return lim ? write_limits(cg, lim, mkerr, failed, err) : 0;
}

int cgroup_create(struct cgroup *cg, const struct cgroup_host *h, const char *id,
		  const struct cgroup_limits *lim, struct nerr *err)
{
	unsigned failed;
	int r;

	if ((r = cgroup_create_membership(cg, h, id, err)) < 0)
		return r;
	if ((r = cgroup_create_limits(cg, lim, &failed, err)) < 0) {
		cgroup_destroy(cg, NULL);
		return r;
	}
	return 0;
}

int cgroup_open(struct cgroup *cg, const struct cgroup_host *h, const char *id, struct nerr *err)
{
	struct stat st;

	memset(cg, 0, sizeof(*cg));
	cg->host = h;
	cg->v2_fd = -1;
	snprintf(cg->rel, sizeof(cg->rel), "%s/%s", CGROUP_PARENT, id);
	if (h->v2_mount[0]) {
		_cleanup_free_ char *d = v2_dir(cg);

		cg->v2_fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cg->v2_fd >= 0 && fstat(cg->v2_fd, &st) == 0)
			cg->id = st.st_ino;
	}
	for (size_t i = 0; i < h->nv1; i++) {
		_cleanup_free_ char *d = v1_dir(cg, i);

		if (access(d, F_OK) == 0)
			cg->v1_mask |= 1u << i;
	}
	if (cg->v2_fd < 0 && !cg->v1_mask)
		return nerr_set(err, ENOENT, "cgroup `%s` does not exist", cg->rel);
	return 0;
}

int cgroup_join_v1(const struct cgroup *cg, pid_t pid, struct nerr *err)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (size_t i = 0; i < cg->host->nv1; i++) {
		_cleanup_free_ char *d = NULL;
		int r;

		if (!(cg->v1_mask & (1u << i)))
			continue;
		d = v1_dir(cg, i);
		if ((r = write_at(d, "cgroup.procs", buf, err)) < 0)
			return r;
	}
	return 0;
}

int cgroup_join_all(const struct cgroup *cg, pid_t pid, struct nerr *err)
{
	char buf[32];
	int r;

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	if (cg->v2_fd >= 0) {
		r = write_str_at(cg->v2_fd, "cgroup.procs", buf);
		if (r < 0)
			return nerr_set(err, -r, "join cgroup `%s`", cg->rel);
	}
	return cgroup_join_v1(cg, pid, err);
}

static int kill_procs_in(const char *dir)
{
	_cleanup_free_ char *path = xasprintf("%s/cgroup.procs", dir);
	_cleanup_free_ char *buf = NULL;
	int n = 0;

	if (read_file(path, 1 << 20, &buf, NULL) < 0)
		return 0;
	for (char *p = buf, *end; *p; p = end) {
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid > 0 && kill((pid_t)pid, SIGKILL) == 0)
			n++;
		while (*end == '\n')
			end++;
	}
	return n;
}

bool cgroup_populated(const struct cgroup *cg)
{
	_cleanup_free_ char *buf = NULL;

	if (cg->v2_fd >= 0 && read_file_at(cg->v2_fd, "cgroup.procs", 1 << 20, &buf, NULL) == 0)
		return buf[0] != '\0';
	for (size_t i = 0; i < cg->host->nv1; i++) {
		_cleanup_free_ char *d = NULL;
		_cleanup_free_ char *path = NULL;
		_cleanup_free_ char *b = NULL;

		if (!(cg->v1_mask & (1u << i)))
			continue;
		d = v1_dir(cg, i);
		path = xasprintf("%s/cgroup.procs", d);
		if (read_file(path, 1 << 20, &b, NULL) == 0 && b[0])
			return true;
	}
	return false;
}

int cgroup_kill_all(const struct cgroup *cg, struct nerr *err)
{
	/* cgroup.kill (5.14+) kills atomically, also processes being forked. */
	if (cg->v2_fd >= 0 && write_str_at(cg->v2_fd, "cgroup.kill", "1") == 0)
		return 0;
	/* v1: kill what is there until nothing new appears. */
	for (int round = 0; round < 100; round++) {
		int n = 0;

		if (cg->v2_fd >= 0) {
			_cleanup_free_ char *d = v2_dir(cg);
			n += kill_procs_in(d);
		}
		for (size_t i = 0; i < cg->host->nv1; i++) {
			_cleanup_free_ char *d = NULL;

			if (!(cg->v1_mask & (1u << i)))
				continue;
			d = v1_dir(cg, i);
			n += kill_procs_in(d);
		}
		if (!n)
			return 0;
	}
	return nerr_set(err, EBUSY, "processes of cgroup `%s` keep appearing", cg->rel);
}

/* Child cgroups a workload made (where it was delegated one), deepest first. */
static void rmdir_children(const char *dir, int depth)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;

	if (!d || depth > 32)
		return;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
		rmdir_children(sub, depth + 1);
		rmdir(sub);
	}
}

/* rmdir that kills what is left and waits for the last dying process to
 * leave. The usual case (the pid namespace is gone, and with it every
 * process) succeeds at once. */
static int rmdir_retry(const struct cgroup *cg, const char *dir)
{
	for (int i = 0; i < 200; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		if (i == 0)
			cgroup_kill_all(cg, NULL);
		rmdir_children(dir, 0);
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return -EBUSY;
}

int cgroup_destroy(struct cgroup *cg, struct nerr *err)
{
	int r = 0, q;

	if (!cg->host)
		return 0;
	if (cg->v2_fd >= 0) {
		_cleanup_free_ char *d = v2_dir(cg);

		/* an open directory fd does not keep a cgroup from being removed,
		 * and the kill that a busy cgroup needs uses it */
		if ((q = rmdir_retry(cg, d)) < 0 && !r)
			r = nerr_set(err, -q, "remove cgroup `%s`", d);
		close(cg->v2_fd);
		cg->v2_fd = -1;
	}
	for (size_t i = 0; i < cg->host->nv1; i++) {
		_cleanup_free_ char *d = NULL;

		if (!(cg->v1_mask & (1u << i)))
			continue;
		d = v1_dir(cg, i);
		if ((q = rmdir_retry(cg, d)) < 0 && !r)
			r = nerr_set(err, -q, "remove cgroup `%s`", d);
	}
	cg->v1_mask = 0;
	cg->host = NULL;
	return r;
}

void cgroup_close(struct cgroup *cg)
{
	if (cg->v2_fd >= 0)
		close(cg->v2_fd);
	cg->v2_fd = -1;
}

/* "key value" lines (memory.events, memory.oom_control, cpu.stat, io.stat). */
static bool keyed_value(const char *text, const char *key, uint64_t *v)
{
	size_t n = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, key, n) && p[n] == ' ') {
			*v = strtoull(p + n + 1, NULL, 10);
			return true;
		}
	}
	return false;
}

static bool read_keyed(const char *dir, const char *file, const char *key, uint64_t *v)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	_cleanup_free_ char *buf = NULL;

	if (read_file(path, 1 << 16, &buf, NULL) < 0)
		return false;
	return keyed_value(buf, key, v);
}

static bool read_u64_file(const char *dir, const char *file, uint64_t *v)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	_cleanup_free_ char *buf = NULL;

	if (read_file(path, 256, &buf, NULL) < 0)
		return false;
	if (!strncmp(buf, "max", 3)) {
		*v = 0;
		return true;
	}
	*v = strtoull(buf, NULL, 10);
	return true;
}

bool cgroup_oom_killed(const struct cgroup *cg)
{
	uint64_t n = 0;
	int i = v1_index(cg->host, CG_MEMORY);

	if (i >= 0 && (cg->v1_mask & (1u << i))) {
		_cleanup_free_ char *d = v1_dir(cg, (size_t)i);
		if (read_keyed(d, "memory.oom_control", "oom_kill", &n) && n)
			return true;
	}
	if (cg->host->v2_mount[0]) {
		_cleanup_free_ char *d = v2_dir(cg);
		if (read_keyed(d, "memory.events", "oom_kill", &n) && n)
			return true;
	}
	return false;
}

/* v1 blkio.throttle.io_service_bytes: "MAJ:MIN Read N" lines. */
static void sum_blkio(const char *text, uint64_t *rd, uint64_t *wr)
{
	char dev[32], op[16];
	unsigned long long v;
	const char *p = text;

	while (p && *p) {
		if (sscanf(p, "%31s %15s %llu", dev, op, &v) == 3) {
			if (!strcmp(op, "Read"))
				*rd += v;
			else if (!strcmp(op, "Write"))
				*wr += v;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
}

/* v2 io.stat: "MAJ:MIN rbytes=N wbytes=N ..." lines. */
static void sum_iostat(const char *text, uint64_t *rd, uint64_t *wr)
{
	for (const char *p = text; p && *p;) {
		const char *r = strstr(p, "rbytes="), *w = strstr(p, "wbytes="), *e = strchr(p, '\n');

		if (r && (!e || r < e))
			*rd += strtoull(r + 7, NULL, 10);
		if (w && (!e || w < e))
			*wr += strtoull(w + 7, NULL, 10);
		p = e ? e + 1 : NULL;
	}
}

int cgroup_sample(const struct cgroup *cg, struct cgroup_sample *s)
{
	const struct cgroup_host *h = cg->host;
	_cleanup_free_ char *v2 = h->v2_mount[0] && cg->v2_fd >= 0 ? v2_dir(cg) : NULL;
	uint64_t v;
	int i;

	memset(s, 0, sizeof(*s));
	s->when_ns = now_ns();
	/* CPU: v2's cpu.stat exists with or without the cpu controller. */
	if (v2 && read_keyed(v2, "cpu.stat", "usage_usec", &v)) {
		s->cpu_usage_ns = v * 1000;
		s->have_cpu = true;
	} else if ((i = v1_index(h, CG_CPUACCT)) >= 0 && (cg->v1_mask & (1u << i))) {
		_cleanup_free_ char *d = v1_dir(cg, (size_t)i);
		s->have_cpu = read_u64_file(d, "cpuacct.usage", &s->cpu_usage_ns);
	}
	if ((i = v1_index(h, CG_MEMORY)) >= 0 && (cg->v1_mask & (1u << i))) {
		_cleanup_free_ char *d = v1_dir(cg, (size_t)i);
		s->have_memory = read_u64_file(d, "memory.usage_in_bytes", &s->memory_usage);
		if (read_u64_file(d, "memory.limit_in_bytes", &v) && v < (1ull << 60))
			s->memory_limit = v;
	} else if (v2 && read_u64_file(v2, "memory.current", &s->memory_usage)) {
		s->have_memory = true;
		read_u64_file(v2, "memory.max", &s->memory_limit);
	}
	if ((i = v1_index(h, CG_PIDS)) >= 0 && (cg->v1_mask & (1u << i))) {
		_cleanup_free_ char *d = v1_dir(cg, (size_t)i);
		s->have_pids = read_u64_file(d, "pids.current", &s->pids);
		read_u64_file(d, "pids.max", &s->pids_limit);
	} else if (v2 && read_u64_file(v2, "pids.current", &s->pids)) {
		s->have_pids = true;
		read_u64_file(v2, "pids.max", &s->pids_limit);
	}
	if ((i = v1_index(h, CG_BLKIO)) >= 0 && (cg->v1_mask & (1u << i))) {
		_cleanup_free_ char *d = v1_dir(cg, (size_t)i);
		_cleanup_free_ char *path = xasprintf("%s/blkio.throttle.io_service_bytes", d);
		_cleanup_free_ char *buf = NULL;
		if (read_file(path, 1 << 20, &buf, NULL) == 0) {
			sum_blkio(buf, &s->blk_read, &s->blk_write);
			s->have_blk = true;
		}
	} else if (v2) {
		_cleanup_free_ char *path = xasprintf("%s/io.stat", v2);
		_cleanup_free_ char *buf = NULL;
		if (read_file(path, 1 << 20, &buf, NULL) == 0) {
			sum_iostat(buf, &s->blk_read, &s->blk_write);
			s->have_blk = true;
		}
	}
	return 0;
}
