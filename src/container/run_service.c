/* The service's events (enum svc_event) and who reacts to them: sd_notify,
 * the span exporter, the health check's on-failure action. */
#include "run.h"

void run_service_event(struct run *r, enum svc_event ev)
{
	const struct service_config *svc = &r->cfg->svc;

	switch (ev) {
	case SVC_STARTED:
		/* health: a restart starts the checks again (the first start
		 * has none yet: stage_health comes after); with no check at
		 * all, started is ready */
		health_reset(r->health);
		if (!(svc->health.probe.cmd && !svc->health.disabled) && !svc->readiness.cmd && !svc->readiness_tcp &&
		    !r->st.ready) {
			r->st.ready = true;
			run_service_event(r, SVC_READY);
		}
		break;
	case SVC_READY:
	case SVC_HEALTH:
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
