/* Container cgroups: create, join, kill, destroy, on the v2 tree and on the
 * v1 controller hierarchies of hybrid and v1 hosts. Writing the limits is
 * limits.c's, reading the usage stats.c's. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <nucleus/resources.h>
#include "cgroup_internal.h"

static const char *const v2_ctrls[] = { "cpu", "memory", "pids", "io" };

bool cg_v2_has(const struct cgroup_host *h, const char *ctrl)
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

		if (!strstr(avail, v2_ctrls[i]) || cg_v2_has(h, v2_ctrls[i]))
			continue;
		ctl = xasprintf("%s/cgroup.subtree_control", dir);
		want = xasprintf("+%s", v2_ctrls[i]);
		if (write_str(ctl, want) < 0)
			log_debug("cgroup: cannot enable %s in %s", v2_ctrls[i], dir);
	}
	return 0;
}

int cg_write_at(const char *dir, const char *file, const char *val, struct nerr *err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	int r = write_str(path, val);

	if (r < 0)
		return nerr_set(err, -r, "write `%s` to %s", val, path);
	return 0;
}

/* A container's cgroup as not yet made or opened anywhere. */
static void cg_init(struct cgroup *cg, const struct cgroup_host *h, const char *id)
{
	memset(cg, 0, sizeof(*cg));
	cg->host = h;
	cg->v2_fd = -1;
	snprintf(cg->rel, sizeof(cg->rel), "%s/%s", CGROUP_PARENT, id);
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

	cg_init(cg, h, id);
	if (h->layout == CG_LAYOUT_NONE)
		return nerr_set(err, ENOENT, "no cgroup filesystem is mounted");
	if (!h->v2_mount[0])
		return 0;

	_cleanup_free_ char *d = cg_v2_dir(cg);

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
	 * only those (cg_limits_write says which) */
	for (size_t i = 0; i < h->nv1; i++) {
		_cleanup_free_ char *parent = xasprintf("%s/%s", h->v1[i].mount, CGROUP_PARENT);
		_cleanup_free_ char *d = cg_v1_dir(cg, i);

		if (!v1_wanted(h, &h->v1[i], lim))
			continue;
		if ((mkdir(parent, 0755) < 0 && errno != EEXIST) || mkdir(d, 0755) < 0) {
			mkerr[i] = errno;
			log_debug("cgroup: create `%s`: %s", d, strerror(errno));
			continue;
		}
		cg->v1_mask |= 1u << i;
	}
	return lim ? cg_limits_write(cg, lim, mkerr, failed, err) : 0;
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

	cg_init(cg, h, id);
	if (h->v2_mount[0]) {
		_cleanup_free_ char *d = cg_v2_dir(cg);

		cg->v2_fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cg->v2_fd >= 0 && fstat(cg->v2_fd, &st) == 0)
			cg->id = st.st_ino;
	}
	for (size_t i = 0; i < h->nv1; i++) {
		_cleanup_free_ char *d = cg_v1_dir(cg, i);

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
		_cleanup_free_ char *d = cg_v1_dir_if(cg, i);
		int r;

		if (d && (r = cg_write_at(d, "cgroup.procs", buf, err)) < 0)
			return r;
	}
	return 0;
}

int cgroup_open_v1_tasks(const struct cgroup *cg, int *fds, size_t *n, struct nerr *err)
{
	*n = 0;
	for (size_t i = 0; i < cg->host->nv1; i++) {
		_cleanup_free_ char *d = cg_v1_dir_if(cg, i);
		_cleanup_free_ char *path = NULL;
		int fd;

		if (!d)
			continue;
		path = xasprintf("%s/tasks", d);
		if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
			int e = errno;

			while (*n > 0)
				close(fds[--*n]);
			return nerr_set(err, e, "open %s", path);
		}
		fds[(*n)++] = fd;
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
		_cleanup_free_ char *d = cg_v1_dir_if(cg, i);
		_cleanup_free_ char *path = NULL;
		_cleanup_free_ char *b = NULL;

		if (!d)
			continue;
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
			_cleanup_free_ char *d = cg_v2_dir(cg);
			n += kill_procs_in(d);
		}
		for (size_t i = 0; i < cg->host->nv1; i++) {
			_cleanup_free_ char *d = cg_v1_dir_if(cg, i);

			if (d)
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
		_cleanup_free_ char *d = cg_v2_dir(cg);

		/* an open directory fd does not keep a cgroup from being removed,
		 * and the kill that a busy cgroup needs uses it */
		if ((q = rmdir_retry(cg, d)) < 0 && !r)
			r = nerr_set(err, -q, "remove cgroup `%s`", d);
		close(cg->v2_fd);
		cg->v2_fd = -1;
	}
	for (size_t i = 0; i < cg->host->nv1; i++) {
		_cleanup_free_ char *d = cg_v1_dir_if(cg, i);

		if (d && (q = rmdir_retry(cg, d)) < 0 && !r)
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

/* Whether `mnt` is a v1 hierarchy where the container has its cgroup. */
static bool v1_ours(const struct cgroup *cg, const char *mnt)
{
	for (size_t i = 0; i < cg->host->nv1; i++)
		if ((cg->v1_mask & (1u << i)) && !strcmp(cg->host->v1[i].mount, mnt))
			return true;
	return false;
}

void cgroup_remove_child(const struct cgroup *cg, const char *name)
{
	_cleanup_fclose_ FILE *f = NULL;
	char line[4096];

	if (!cg->host)
		return;
	if (cg->v2_fd >= 0)
		unlinkat(cg->v2_fd, name, AT_REMOVEDIR);
	/* every v1 hierarchy, named ones too (another runtime joins them all) */
	if (!(f = fopen("/proc/self/mountinfo", "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], fstype[64];
		const char *sep = strstr(line, " - ");
		_cleanup_free_ char *sub = NULL, *dir = NULL;

		if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup") ||
		    sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 || strchr(mnt, '\\'))
			continue;
		dir = xasprintf("%s/%s", mnt, cg->rel);
		sub = xasprintf("%s/%s", dir, name);
		rmdir(sub);
		/* made only as the way to it: not the container's */
		if (!v1_ours(cg, mnt))
			rmdir(dir);
	}
}
