/* The run's cgroup stages: the v2 directory the child is cloned into, then
 * (after clone) the v1 controllers and limits, and what is done when a
 * limit cannot be applied. */
#include <errno.h>
#include <sys/resource.h>
#include "run.h"

static void append_part(char **t, const char *part)
{
	char *n = xasprintf("%s; %s", *t, part);

	free(*t);
	*t = n;
}

/* Without a pids cgroup, RLIMIT_NPROC bounds the container where it counts
 * the container alone: its own user namespace (counted per namespace since
 * Linux 5.14) whose root is not host root (host root is exempt). */
static bool nproc_stands_in(const struct run *r)
{
	const struct container_config *c = r->cfg;

	return ((c->ns.rootless && geteuid() != 0) || c->ns.userns) && nproc_counts_per_userns();
}

/* Limits that cannot be applied (LIMIT_* in `failed`, why in e; no_cgroup:
 * there is no cgroup at all). With --require-cgroup (production sets it)
 * unless --limits best-effort, each is fatal; so is one the user gave,
 * unless --limits best-effort. The pids limit falls back to RLIMIT_NPROC
 * where that bounds the container alone; whatever is dropped is named. */
static int cgroup_failed(struct run *r, unsigned failed, const struct nerr *e, bool no_cgroup, struct nerr *err)
{
	struct cgroup_limits *lim = &r->cfg->res.limits;
	_cleanup_free_ char *dropped = NULL, *given = NULL, *instead = NULL, *warn = NULL;

	if (r->cfg->res.require_cgroup && (no_cgroup || !lim->best_effort)) {
		*err = *e;
		return nerr_prefix(err, "cgroup");
	}
	if ((failed & LIMIT_PIDS) && nproc_stands_in(r)) {
		_cleanup_free_ char *pids = limits_describe(lim, LIMIT_PIDS);

		r->nproc = lim->pids_max;
		failed &= ~LIMIT_PIDS;
		instead = xasprintf("%s as RLIMIT_NPROC", pids);
	}
	if ((failed & lim->given) && !lim->best_effort) {
		unsigned bad = failed & lim->given;

		given = limits_describe(lim, bad);
		nerr_set(err, 0, "%s cannot be enforced: %s (--limits best-effort runs without %s)", given, e->msg,
			 bad & (bad - 1) || lim->nio > 1 ? "them" : "it");
		err->code = e->code ? e->code : EOPNOTSUPP;
		return -err->code;
	}
	/* what state and ps report is what is enforced */
	if (failed & LIMIT_MEMORY)
		r->st.memory_limit = 0;
	if (failed & LIMIT_PIDS)
		r->st.pids_limit = 0;
	if (failed & LIMIT_CPUS)
		r->st.cpu_quota_us = r->st.cpu_period_us = 0;
	/* "cgroup: WHY; running without a cgroup; not enforced: --memory 64M;
	 * --pids 512 (the default) as RLIMIT_NPROC", each part when it applies */
	dropped = limits_describe(lim, failed);
	warn = xasprintf("cgroup: %s", e->msg);
	if (no_cgroup)
		append_part(&warn, "running without a cgroup");
	if (*dropped) {
		_cleanup_free_ char *t = xasprintf("not enforced: %s", dropped);
		append_part(&warn, t);
	}
	if (instead)
		append_part(&warn, instead);
	if (no_cgroup || *dropped || instead)
		log_warn("%s", warn);
	return 0;
}

/* Before clone: the v2 directory clone3 puts the child into. */
static int setup_membership(struct run *r, struct nerr *err)
{
	struct nerr e = { 0 };

	if (cgroup_host_detect(&r->cg_host, &e) == 0 &&
	    cgroup_create_membership(&r->cg, &r->cg_host, r->cfg->id, &e) == 0) {
		r->have_cgroup = true;
		return 0;
	}
	return cgroup_failed(r, limits_set(&r->cfg->res.limits), &e, true, err);
}

int stage_cgroup(struct run *r, struct nerr *err)
{
	int rc;

	if ((rc = setup_membership(r, err)) < 0)
		return rc;
	snprintf(r->st.cgroup_layout, sizeof(r->st.cgroup_layout), "%s",
		 r->have_cgroup ? cgroup_layout_name(r->cg_host.layout) : "none");
	log_debug("run: cgroup ready");
	debug_pause("cgroup");
	return 0;
}

void undo_cgroup(struct run *r)
{
	struct nerr e = { 0 };

	if (r->have_cgroup && cgroup_destroy(&r->cg, &e) < 0)
		log_warn("%s", e.msg);
}

void run_close_v1_tasks(struct run *r)
{
	while (r->n_v1_tasks > 0)
		close(r->v1_tasks[--r->n_v1_tasks]);
}

/* limits: v1 controllers, the limits, and the child's membership in them
 * (the cgroup's undo removes them); RLIMIT_NPROC where it stands in for
 * the pids limit. */
int stage_limits(struct run *r, struct nerr *err)
{
	struct nerr e = { 0 };
	unsigned failed = 0;
	int rc;

	if (r->have_cgroup) {
		/* a restart's workload joins what the first one's start made */
		if (!r->st.restarts && cgroup_create_limits(&r->cg, &r->cfg->res.limits, &failed, &e) < 0 &&
		    (rc = cgroup_failed(r, failed, &e, false, err)) < 0)
			return rc;
		nerr_clear(&e);
		/* The native child moves itself (release_child hands it the
		 * files): writing its pid here would wait for an RCU grace
		 * period per start, milliseconds. A restart's child, another
		 * runtime's launcher and a restored tree are moved from here. */
		if (!r->st.restarts && r->cfg->rt.kind == RUNTIME_NATIVE && !r->restore) {
			if (cgroup_open_v1_tasks(&r->cg, r->v1_tasks, &r->n_v1_tasks, &e) < 0 &&
			    (rc = cgroup_failed(r, limits_set(&r->cfg->res.limits) & ~failed, &e, false, err)) < 0)
				return rc;
		} else if (cgroup_join_v1(&r->cg, r->pid, &e) < 0 &&
		    (rc = cgroup_failed(r, limits_set(&r->cfg->res.limits) & ~failed, &e, false, err)) < 0)
			return rc;
		log_debug("run: limits set");
	}
	if (r->nproc) {
		/* the child's own limit, before it execs: lower only */
		struct rlimit cur, want = { r->nproc, r->nproc };

		if (prlimit(r->pid, RLIMIT_NPROC, NULL, &cur) == 0 && cur.rlim_max < want.rlim_max)
			want.rlim_cur = want.rlim_max = cur.rlim_max;
		if (prlimit(r->pid, RLIMIT_NPROC, &want, NULL) < 0)
			return nerr_set(err, errno, "set RLIMIT_NPROC in place of the pids limit");
		log_debug("run: RLIMIT_NPROC %llu", (unsigned long long)want.rlim_max);
	}
	return 0;
}
