/* resources: cgroup drivers for the three host layouts, limits and stats.
 *
 * unified: one cgroup2 hierarchy holds membership, BPF and all controllers.
 * hybrid:  cgroup2 (no controllers) for membership/BPF/kill, v1 controller
 *          hierarchies for limits; the process joins every hierarchy.
 * v1:      limits only; no BPF features.
 * Container cgroups live at <hierarchy>/nucleus/<id>; nothing else is touched. */
#ifndef NUCLEUS_RESOURCES_H
#define NUCLEUS_RESOURCES_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <nucleus/util.h>
#include <nucleus/security.h>

#define CGROUP_PARENT "nucleus"

enum cgroup_layout { CG_LAYOUT_NONE, CG_LAYOUT_UNIFIED, CG_LAYOUT_HYBRID, CG_LAYOUT_V1 };

/* v1 controllers nucleus uses, as bits. */
enum cg_ctrl {
	CG_MEMORY = 1u << 0, CG_CPU = 1u << 1, CG_CPUACCT = 1u << 2,
	CG_PIDS = 1u << 3, CG_BLKIO = 1u << 4, CG_FREEZER = 1u << 5,
};

struct cgroup_hier {
	char options[128];       /* controllers of the mount: "cpu,cpuacct" */
	char mount[PATH_MAX];
	unsigned ctrls;          /* enum cg_ctrl bits this hierarchy carries */
};

#define CG_MAX_V1 16
struct cgroup_host {
	enum cgroup_layout layout;
	char v2_mount[PATH_MAX];           /* "" when there is no cgroup2 */
	char v2_root[PATH_MAX];            /* the mount's root within the hierarchy */
	struct cgroup_hier v1[CG_MAX_V1];
	size_t nv1;
};

int cgroup_host_detect(struct cgroup_host *h, struct nerr *err);
/* The same from mountinfo text (for tests). */
int cgroup_host_parse(const char *mountinfo, struct cgroup_host *h);
const char *cgroup_layout_name(enum cgroup_layout l);

struct io_limit {
	unsigned major, minor;
	uint64_t riops, wiops, rbps, wbps;   /* 0: unlimited */
};

/* The limits as bits: which the user gave, which could not be applied. */
enum limit_bit {
	LIMIT_MEMORY = 1u << 0, LIMIT_CPUS = 1u << 1, LIMIT_CPU_WEIGHT = 1u << 2,
	LIMIT_PIDS = 1u << 3, LIMIT_IO = 1u << 4,
};

struct cgroup_limits {
	uint64_t memory_max;      /* bytes, 0: none */
	bool swap;                /* allow swap beyond memory_max */
	uint64_t cpu_quota_us;    /* 0: none */
	uint64_t cpu_period_us;
	uint64_t cpu_weight;      /* 1..10000, 0: default */
	uint64_t pids_max;        /* 0: unlimited */
	struct io_limit *io;
	size_t nio;
	unsigned given;           /* LIMIT_* set by a flag; the others are defaults */
	bool best_effort;         /* --limits best-effort: run without what cannot be applied */
};

/* LIMIT_* of the limits that are set (a value other than "none"). */
unsigned limits_set(const struct cgroup_limits *lim);
/* The limits of `mask` as the flags that ask for them, "--memory 64M,
 * --pids 512 (the default)"; the caller frees. */
char *limits_describe(const struct cgroup_limits *lim, unsigned mask);
/* RLIMIT_NPROC bounds the processes of one uid in one user namespace
 * (Linux >= 5.14 counts it per namespace, not per host user), so for a
 * container with a user namespace whose root is not host root it stands in
 * for a pids limit. */
bool nproc_counts_per_userns(void);

/* "MAJ:MIN riops=N wiops=N rbps=SIZE wbps=SIZE" (any subset, at least one). */
int io_limit_parse(const char *s, struct io_limit *out, struct nerr *err);
/* "1.5" CPUs -> quota over a 100 ms period; refused above the online CPUs. */
int cpus_parse(const char *s, uint64_t *quota_us, uint64_t *period_us, struct nerr *err);

struct cgroup {
	const struct cgroup_host *host;
	char rel[128];            /* "nucleus/<id>" */
	int v2_fd;                /* directory fd of the v2 cgroup, -1 if none */
	uint64_t id;              /* cgroup v2 id (inode), 0 if none */
	uint32_t v1_mask;         /* bit i: host->v1[i] has our cgroup */
};

/* Create nucleus/<id> on every hierarchy that is needed and write limits.
 * On failure nothing is left behind. */
int cgroup_create(struct cgroup *cg, const struct cgroup_host *h, const char *id,
		  const struct cgroup_limits *lim, struct nerr *err);
/* The same in two steps, so the second can overlap the child's setup:
 * membership (the v2 directory, which clone3 puts the child into), then
 * the v1 controller directories and the limits. The second writes every
 * limit it can: those it could not are *failed (LIMIT_* bits), err says
 * why the first of them failed, and what was applied stays. */
int cgroup_create_membership(struct cgroup *cg, const struct cgroup_host *h, const char *id,
			     struct nerr *err);
int cgroup_create_limits(struct cgroup *cg, const struct cgroup_limits *lim, unsigned *failed,
			 struct nerr *err);
/* Open an existing container cgroup (for attach, stats, kill, rm). */
int cgroup_open(struct cgroup *cg, const struct cgroup_host *h, const char *id, struct nerr *err);
/* Move pid into the container's v1 hierarchies (v2 is joined at clone). */
int cgroup_join_v1(const struct cgroup *cg, pid_t pid, struct nerr *err);
/* The `tasks` file of each v1 hierarchy the container has, opened for
 * writing (O_CLOEXEC) into fds (CG_MAX_V1 entries), *n of them. A process
 * that writes "0" to one moves itself (its calling thread: the whole of a
 * single-threaded process) into that hierarchy without the global
 * threadgroup lock, whose write side waits for an RCU grace period each
 * time; writing a pid to cgroup.procs takes it. The file's opener's
 * credentials are the ones checked. On failure none is left open. */
int cgroup_open_v1_tasks(const struct cgroup *cg, int *fds, size_t *n, struct nerr *err);
/* Move pid into every hierarchy, v2 included (for attach). */
int cgroup_join_all(const struct cgroup *cg, pid_t pid, struct nerr *err);
/* SIGKILL every process of the container cgroup. */
int cgroup_kill_all(const struct cgroup *cg, struct nerr *err);
/* Remove <cgroup>/<name> in every hierarchy, named v1 ones included,
 * where it exists and is empty, and <cgroup> itself in the v1 hierarchies
 * the container has no cgroup in (what another runtime made under the
 * container's cgroup, and the way to it, and did not remove; best
 * effort). */
void cgroup_remove_child(const struct cgroup *cg, const char *name);
/* Kill what is left and remove the directories (retrying while busy). */
int cgroup_destroy(struct cgroup *cg, struct nerr *err);
void cgroup_close(struct cgroup *cg);
/* The kernel's OOM killer killed something in this cgroup. */
bool cgroup_oom_killed(const struct cgroup *cg);
/* The same for <cgroup>/<child> (v1 counts a kill only where the victim
 * was, not in the cgroup whose limit it hit). */
bool cgroup_oom_killed_in(const struct cgroup *cg, const char *child);

struct cgroup_sample {
	uint64_t when_ns;          /* CLOCK_MONOTONIC */
	uint64_t cpu_usage_ns;     /* total CPU time */
	uint64_t memory_usage;     /* bytes */
	uint64_t memory_limit;     /* bytes, 0: none */
	uint64_t pids;
	uint64_t pids_limit;       /* 0: none */
	uint64_t blk_read, blk_write;   /* bytes */
	bool have_cpu, have_memory, have_pids, have_blk;
};
int cgroup_sample(const struct cgroup *cg, struct cgroup_sample *s);
bool cgroup_populated(const struct cgroup *cg);
/* Depth of a container's v2 cgroup below the hierarchy's root (what BPF's
 * ancestor-cgroup helpers count). */
unsigned cgroup_v2_level(const struct cgroup_host *h);

/* The container configuration's resources part (container_config.res). */
struct res_config {
	struct cgroup_limits limits; /* io is owned (container_config_free) */
	struct rlimit_spec rlimits;
	bool require_cgroup;         /* cgroup failure is fatal */
};

#endif
