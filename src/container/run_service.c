/* The service's events (enum svc_event) and who reacts to them: sd_notify,
 * the span exporter, the health check's on-failure action. */
#include <errno.h>
#include <string.h>
#include <jansson.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "run.h"

/* docker stop's grace before SIGKILL */
#define STOP_GRACE_S 10

/* Everything of the workload, at once (its init first: the loop sees the
 * exit through its pidfd). */
static void kill_workload(struct run *r)
{
	if (r->pidfd >= 0 && !r->reaped)
		syscall(SYS_pidfd_send_signal, r->pidfd, SIGKILL, NULL, 0);
	if (r->have_cgroup)
		cgroup_kill_all(&r->cg, NULL);
}

void run_stop_timer_ready(void *arg)
{
	struct run *r = arg;
	uint64_t n;

	if (read(r->stop_timer, &n, sizeof(n)) == sizeof(n)) {
		log_warn("%s did not stop within %d s of SIGTERM: killing it", r->cfg->name, STOP_GRACE_S);
		kill_workload(r);
	}
}

/* --health-on-failure stop: SIGTERM, then SIGKILL after the grace (as
 * `nucleus stop`), and no restart. */
static void stop_workload(struct run *r)
{
	struct itimerspec t = { .it_value = { .tv_sec = STOP_GRACE_S } };

	r->stop_requested = true;
	run_service_event(r, SVC_STOPPING);
	if (r->pidfd >= 0 && !r->reaped)
		syscall(SYS_pidfd_send_signal, r->pidfd, SIGTERM, NULL, 0);
	if (r->stop_timer < 0)
		r->stop_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (r->stop_timer < 0 || timerfd_settime(r->stop_timer, 0, &t, NULL) < 0) {
		log_warn("no timer for the stop's grace (%s): killing %s now", strerror(errno), r->cfg->name);
		kill_workload(r);
	}
}

/* podman's --health-on-failure, once the check turns unhealthy. */
static void on_unhealthy(struct run *r)
{
	enum health_action a = r->cfg->svc.health.on_failure;

	if (a == HEALTH_ACTION_NONE || r->stop_requested)
		return;
	log_warn("%s is unhealthy: %s", r->cfg->name,
		 a == HEALTH_ACTION_KILL ? "killing it" : a == HEALTH_ACTION_RESTART ? "restarting it" : "stopping it");
	if (r->audit)
		audit_log_event(r->audit, 0, "health_action", "runtime", -1, -1, NULL,
				json_pack("{s:s}", "action", health_action_name(a)));
	switch (a) {
	case HEALTH_ACTION_KILL:
		kill_workload(r);
		break;
	case HEALTH_ACTION_RESTART:
		r->restart_requested = true;
		kill_workload(r);
		break;
	case HEALTH_ACTION_STOP:
		stop_workload(r);
		break;
	case HEALTH_ACTION_NONE:
		break;
	}
}

void run_service_event(struct run *r, enum svc_event ev)
{
	const struct service_config *svc = &r->cfg->svc;

	run_otlp_event(r, ev);
	run_sdnotify_event(r, ev);
	switch (ev) {
	case SVC_STARTED:
		if (r->stop_timer >= 0) {
			close(r->stop_timer);
			r->stop_timer = -1;
		}
		/* health: the checks (started by stage_health before the
		 * release) count from the exec, and start over after a
		 * restart; with no check at all, started is ready (under
		 * --sd-notify=container with a socket, the workload's READY=1 is) */
		health_reset(r->health);
		if (!(svc->health.probe.cmd && !svc->health.disabled) && !svc->readiness.cmd && !svc->readiness_tcp &&
		    !sd_notifier_dir(r->sdn) && !r->st.ready) {
			r->st.ready = true;
			run_service_event(r, SVC_READY);
		}
		break;
	case SVC_READY:
		break;
	case SVC_HEALTH:
		if (r->st.health.status == HEALTH_UNHEALTHY)
			on_unhealthy(r);
		break;
	case SVC_PROBE:
		break;
	case SVC_RESTARTING:
		r->st.ready = false;
		/* fall through */
	case SVC_STOPPING:
	case SVC_EXITED:
		health_pause(r->health);   /* no probe of a workload that is not there */
		break;
	}
}
