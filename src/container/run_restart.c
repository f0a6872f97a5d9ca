/* --restart and --health-on-failure restart: the workload started again by
 * the same supervisor, in the same cgroup (its limits), BPF scope (egress
 * policy, audit, recorder: keyed by the cgroup), network (the lease, its
 * address and published ports) and state record. Only what dies with a
 * workload is made again: the clone..release stages. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <jansson.h>
#include "run.h"

/* docker's backoff: 100 ms, doubled at each restart up to a minute; back
 * to the start once a workload ran for 10 s. */
#define BACKOFF_FIRST_NS 100000000ull
#define BACKOFF_MAX_NS   60000000000ull
#define BACKOFF_RESET_NS 10000000000ull

/* `nucleus stop` leaves this in the container's directory before it
 * signals: the exit that follows is not one to restart. */
static bool stop_marked(const struct run *r)
{
	_cleanup_free_ char *p = xasprintf("%s/stopping", r->state_dir);

	return access(p, F_OK) == 0;
}

bool run_restart_wanted(struct run *r)
{
	const struct service_config *s = &r->cfg->svc;
	int code = *r->exit_code;

	if (r->stop_requested || stop_marked(r))
		return false;
	if (r->restart_requested)
		return true;
	switch (s->restart) {
	case RESTART_NO:
		return false;
	case RESTART_ON_FAILURE:
		return code != 0 && (!s->restart_max || r->st.restarts < s->restart_max);
	case RESTART_ALWAYS:
	case RESTART_UNLESS_STOPPED:
		return true;
	}
	return false;
}

/* The supervisor's terminating signals (systemctl stop, Ctrl-C, kill): the
 * container is being stopped, not crashing. */
void run_signalled(int sig, void *arg)
{
	struct run *r = arg;

	if ((sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) && !r->stop_requested) {
		r->stop_requested = true;
		run_service_event(r, SVC_STOPPING);
	}
}

/* Wait out the backoff; a terminating signal or a stop ends the wait and
 * the container (1). */
static int backoff(struct run *r, uint64_t ns)
{
	uint64_t end = now_ns() + ns;

	for (;;) {
		uint64_t now = now_ns();
		struct pollfd p = { .fd = r->sfd, .events = POLLIN };
		struct signalfd_siginfo si;

		if (r->stop_requested || stop_marked(r))
			return 1;
		if (now >= end)
			return 0;
		/* the marker is looked at every 100 ms */
		if (poll(&p, 1, (int)((end - now) / 1000000 < 100 ? (end - now) / 1000000 + 1 : 100)) > 0 &&
		    read(r->sfd, &si, sizeof(si)) == sizeof(si))
			run_signalled((int)si.ssi_signo, r);
	}
}

static uint64_t backoff_ns(struct run *r)
{
	uint64_t ran = r->st.started_ns ? realtime_ns() - r->st.started_ns : 0;

	if (ran >= BACKOFF_RESET_NS)
		r->backoff_ns = 0;
	r->backoff_ns = r->backoff_ns ? r->backoff_ns * 2 : BACKOFF_FIRST_NS;
	if (r->backoff_ns > BACKOFF_MAX_NS)
		r->backoff_ns = BACKOFF_MAX_NS;
	return r->backoff_ns;
}

int run_restart(struct run *r, struct nerr *err)
{
	struct nerr e = { 0 };
	uint64_t delay;
	int rc;

	r->restart_requested = false;
	r->st.restarts++;
	r->st.restarting = true;
	r->st.restarted_ns = realtime_ns();
	r->st.exit_code = *r->exit_code;
	delay = backoff_ns(r);
	if (r->audit)
		audit_log_event(r->audit, 0, "restart", "runtime", -1, -1, NULL,
				json_pack("{s:i,s:i,s:I}", "exit_code", *r->exit_code, "restarts", (int)r->st.restarts,
					  "delay_ms", (json_int_t)(delay / 1000000)));
	if (state_write(&r->st, &e) < 0)
		log_warn("restart: %s", e.msg);
	log_info("restarting %s (exit status %d, restart %u) in %llu ms", r->cfg->name, *r->exit_code,
		 r->st.restarts, (unsigned long long)(delay / 1000000));
	run_service_event(r, SVC_RESTARTING);

	/* what the last workload left: its relay, its listener, its child
	 * handle; then anything of it still in the cgroup */
	undo_release(r);
	undo_clone(r);
	r->pidfd = -1;
	r->sync[0] = r->sync[1] = -1;
	r->pid = 0;
	r->reaped = false;
	if (r->have_cgroup) {
		cgroup_kill_all(&r->cg, NULL);
		for (int i = 0; i < 500 && cgroup_populated(&r->cg); i++)
			usleep(10000);
	}
	if ((rc = backoff(r, delay)) != 0)
		return rc;

	if ((rc = run_reopen_inputs(r, err)) < 0 || (rc = log_pump_rearm(r->log, err)) < 0)
		return rc;
	r->st.restarting = false;
	if ((rc = stage_clone(r, err)) != 0 || (rc = stage_map(r, err)) != 0 || (rc = stage_attach(r, err)) != 0 ||
	    (rc = stage_limits(r, err)) != 0 || (rc = stage_release(r, err)) != 0)
		return rc;
	log_debug("run: restarted (%u)", r->st.restarts);
	return 0;
}
