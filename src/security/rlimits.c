/* Resource limits of the workload and no_new_privs. */
#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <nucleus/security.h>

void rlimits_default(struct rlimit_spec *r)
{
	r->nofile_soft = 1024;
	r->nofile_hard = 65536;
	r->memlock = 64 * 1024;   /* the original's default; --memlock raises it */
	r->core = 0;
}

static int set_one(int res, const char *name, uint64_t soft, uint64_t hard, struct nerr *err)
{
	struct rlimit cur, want = { .rlim_cur = soft, .rlim_max = hard };

	/* Never try to raise a hard limit above what we were given: keep the
	 * lower of the two so an unprivileged caller still starts. */
	if (getrlimit(res, &cur) == 0 && cur.rlim_max != RLIM_INFINITY) {
		if (want.rlim_max > cur.rlim_max)
			want.rlim_max = cur.rlim_max;
		if (want.rlim_cur > want.rlim_max)
			want.rlim_cur = want.rlim_max;
	}
	if (setrlimit(res, &want) < 0)
		return nerr_set(err, errno, "setrlimit %s", name);
	return 0;
}

int rlimits_apply(const struct rlimit_spec *r, struct nerr *err)
{
	int rc;

	if ((rc = set_one(RLIMIT_NOFILE, "NOFILE", r->nofile_soft, r->nofile_hard, err)) < 0 ||
	    (rc = set_one(RLIMIT_MEMLOCK, "MEMLOCK", r->memlock, r->memlock, err)) < 0 ||
	    (rc = set_one(RLIMIT_CORE, "CORE", r->core, r->core, err)) < 0)
		return rc;
	return 0;
}

int set_no_new_privs(struct nerr *err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return nerr_set(err, errno, "set no_new_privs");
	return 0;
}
