/* The service's events (enum svc_event) and who reacts to them: sd_notify,
 * the span exporter, the health check's on-failure action. */
#include "run.h"

void run_service_event(struct run *r, enum svc_event ev)
{
	run_otlp_event(r, ev);
	switch (ev) {
	case SVC_STARTED:
	case SVC_READY:
	case SVC_HEALTH:
	case SVC_PROBE:
	case SVC_RESTARTING:
	case SVC_STOPPING:
	case SVC_EXITED:
		break;
	}
}
