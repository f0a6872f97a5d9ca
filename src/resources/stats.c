/* A container cgroup's usage (CPU time, memory, pids, block I/O) and OOM
 * kills, read from its v1 controller hierarchies or from v2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nucleus/resources.h>
#include "cgroup_internal.h"

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

bool cgroup_oom_killed_in(const struct cgroup *cg, const char *child)
{
	_cleanup_free_ char *v1 = cg_v1_ctrl_dir(cg, CG_MEMORY);
	uint64_t n = 0;

	if (v1 && child) {
		char *sub = xasprintf("%s/%s", v1, child);

		free(v1);
		v1 = sub;
	}
	if (v1 && read_keyed(v1, "memory.oom_control", "oom_kill", &n) && n)
		return true;
	if (cg->host->v2_mount[0]) {
		_cleanup_free_ char *d = child ? xasprintf("%s/%s/%s", cg->host->v2_mount, cg->rel, child) :
						 cg_v2_dir(cg);
		if (read_keyed(d, "memory.events", "oom_kill", &n) && n)
			return true;
	}
	return false;
}

bool cgroup_oom_killed(const struct cgroup *cg)
{
	return cgroup_oom_killed_in(cg, NULL);
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

/* A file's contents through one of the sums above; false when unreadable. */
static bool read_sum(const char *dir, const char *file, void (*sum)(const char *, uint64_t *, uint64_t *),
		     uint64_t *rd, uint64_t *wr)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	_cleanup_free_ char *buf = NULL;

	if (read_file(path, 1 << 20, &buf, NULL) < 0)
		return false;
	sum(buf, rd, wr);
	return true;
}

int cgroup_sample(const struct cgroup *cg, struct cgroup_sample *s)
{
	const struct cgroup_host *h = cg->host;
	_cleanup_free_ char *v2 = h->v2_mount[0] && cg->v2_fd >= 0 ? cg_v2_dir(cg) : NULL;
	_cleanup_free_ char *cpuacct = cg_v1_ctrl_dir(cg, CG_CPUACCT);
	_cleanup_free_ char *memory = cg_v1_ctrl_dir(cg, CG_MEMORY);
	_cleanup_free_ char *pids = cg_v1_ctrl_dir(cg, CG_PIDS);
	_cleanup_free_ char *blkio = cg_v1_ctrl_dir(cg, CG_BLKIO);
	uint64_t v;

	memset(s, 0, sizeof(*s));
	s->when_ns = now_ns();
	/* CPU: v2's cpu.stat exists with or without the cpu controller. */
	if (v2 && read_keyed(v2, "cpu.stat", "usage_usec", &v)) {
		s->cpu_usage_ns = v * 1000;
		s->have_cpu = true;
	} else if (cpuacct) {
		s->have_cpu = read_u64_file(cpuacct, "cpuacct.usage", &s->cpu_usage_ns);
	}
	if (memory) {
		s->have_memory = read_u64_file(memory, "memory.usage_in_bytes", &s->memory_usage);
		if (read_u64_file(memory, "memory.limit_in_bytes", &v) && v < (1ull << 60))
			s->memory_limit = v;
	} else if (v2 && read_u64_file(v2, "memory.current", &s->memory_usage)) {
		s->have_memory = true;
		read_u64_file(v2, "memory.max", &s->memory_limit);
	}
	if (pids) {
		s->have_pids = read_u64_file(pids, "pids.current", &s->pids);
		read_u64_file(pids, "pids.max", &s->pids_limit);
	} else if (v2 && read_u64_file(v2, "pids.current", &s->pids)) {
		s->have_pids = true;
		read_u64_file(v2, "pids.max", &s->pids_limit);
	}
	if (blkio)
		s->have_blk = read_sum(blkio, "blkio.throttle.io_service_bytes", sum_blkio, &s->blk_read,
				       &s->blk_write);
	else if (v2)
		s->have_blk = read_sum(v2, "io.stat", sum_iostat, &s->blk_read, &s->blk_write);
	return 0;
}
