/* Shared by the cgroup files of the resources module (membership in
 * cgroup.c, limits in limits.c, usage in stats.c). */
#ifndef NUCLEUS_CGROUP_INTERNAL_H
#define NUCLEUS_CGROUP_INTERNAL_H

#include <nucleus/resources.h>

/* The v1 hierarchy that carries a controller, or -1. */
static inline int cg_v1_index(const struct cgroup_host *h, unsigned ctrl)
{
	for (size_t i = 0; i < h->nv1; i++)
		if (h->v1[i].ctrls & ctrl)
			return (int)i;
	return -1;
}

/* The container's directory on v1 hierarchy i and on v2 (the caller frees). */
static inline char *cg_v1_dir(const struct cgroup *cg, size_t i)
{
	return xasprintf("%s/%s", cg->host->v1[i].mount, cg->rel);
}

static inline char *cg_v2_dir(const struct cgroup *cg)
{
	return xasprintf("%s/%s", cg->host->v2_mount, cg->rel);
}

/* The same on v1 hierarchy i, or on the one that carries a controller, but
 * NULL where the container has no cgroup there. */
static inline char *cg_v1_dir_if(const struct cgroup *cg, size_t i)
{
	return cg->v1_mask & (1u << i) ? cg_v1_dir(cg, i) : NULL;
}

static inline char *cg_v1_ctrl_dir(const struct cgroup *cg, unsigned ctrl)
{
	int i = cg_v1_index(cg->host, ctrl);

	return i >= 0 ? cg_v1_dir_if(cg, (size_t)i) : NULL;
}

/* Controllers the nucleus parent can hand to its children on v2. */
bool cg_v2_has(const struct cgroup_host *h, const char *ctrl);
/* Write a value to dir/file; err names both. */
int cg_write_at(const char *dir, const char *file, const char *val, struct nerr *err);

/* Write every limit that is set, each on its own: one that cannot be
 * written does not keep the others from being applied. *failed gets the
 * LIMIT_* bits of those that were not, err the first failure's reason.
 * mkerr[i]: why v1 hierarchy i has no container cgroup (0 if it was not
 * wanted). */
int cg_limits_write(const struct cgroup *cg, const struct cgroup_limits *lim, const int *mkerr,
		    unsigned *failed, struct nerr *err);

#endif
