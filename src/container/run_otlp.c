/* The run's spans for OpenTelemetry (include/nucleus/telemetry.h): a root
 * span "container" for the container's life, a child per run stage (sent
 * together from the supervisor's loop once the workload runs, off the
 * start path), one per health probe and one per restart. Nothing is set up
 * unless an OTLP endpoint variable is set; nothing here fails the run. */
#include <stdlib.h>
#include <string.h>
#include <nucleus/telemetry.h>
#include "run.h"

/* Every stage of the run sequence up to the workload's start gets a span;
 * these two are the root's. */
static const char *const root_stages[] = { "supervise", "teardown" };

struct otlp {
	struct otel_endpoint ep;       /* until the exporter takes it */
	struct otel_exporter *x;       /* made once the container's name is known */
	struct otel_span root;
	bool root_ended;
	bool root_queued;              /* handed to the exporter: ended for good */
	struct otel_span *stages;      /* ended, not yet handed to the exporter */
	size_t nstages;
	struct otel_span restart;      /* from SVC_RESTARTING to the next SVC_STARTED */
	bool restarting;
	unsigned delay_ms;             /* OTEL_BSP_SCHEDULE_DELAY */
};

static void end_root(struct run *r, int rc, const struct nerr *err);

void run_otlp_init(struct run *r)
{
	struct otel_endpoint ep;
	struct nerr e = { 0 };
	uint8_t trace_id[16];
	int rc = otel_endpoint_from_env(&ep, &e);

	if (rc < 0)
		log_warn("OpenTelemetry export off: %s", e.msg);
	if (rc <= 0)
		return;
	r->otlp = xcalloc(1, sizeof(*r->otlp));
	r->otlp->ep = ep;
	r->otlp->delay_ms = otel_schedule_delay_ms();
	otel_random_id(trace_id, sizeof(trace_id));
	otel_span_init(&r->otlp->root, "container", trace_id, NULL, realtime_ns());
}

/* The exporter, with the resource: once validate has named the container. */
static struct otel_exporter *exporter(struct run *r)
{
	struct otlp *o = r->otlp;
	struct otel_attrs res = { 0 };
	char name[sizeof(r->cfg->name)];

	if (o->x)
		return o->x;
	/* a start refused before validate named it: the name it would have had */
	if (r->cfg->name[0])
		snprintf(name, sizeof(name), "%s", r->cfg->name);
	else
		snprintf(name, sizeof(name), "%.12s", r->cfg->id);
	otel_resource_from_env(&res, r->cfg->id, name);
	o->x = otel_exporter_new(&o->ep, &res);
	return o->x;
}

static void hand_stages(struct run *r)
{
	struct otlp *o = r->otlp;

	for (size_t i = 0; i < o->nstages; i++)
		otel_exporter_add(exporter(r), &o->stages[i]);
	free(o->stages);
	o->stages = NULL;
	o->nstages = 0;
}

void run_otlp_stage(struct run *r, const char *stage, uint64_t start_ns, int rc, const struct nerr *err)
{
	struct otlp *o = r->otlp;
	struct otel_span *s;

	if (!o)
		return;
	/* the workload has exited: the root ends, and its POST starts now so
	 * that the collector answers while the stages are undone */
	if (!strcmp(stage, "teardown") && rc == 0) {
		end_root(r, rc, err);
		otel_exporter_start(o->x);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(root_stages); i++)
		if (!strcmp(stage, root_stages[i]))
			return;
	o->stages = xrealloc(o->stages, (o->nstages + 1) * sizeof(*o->stages));
	s = &o->stages[o->nstages++];
	otel_span_init(s, stage, o->root.trace_id, o->root.span_id, start_ns);
	s->end_ns = realtime_ns();
	if (rc != 0)
		otel_span_set_error(s, err->msg[0] ? err->msg : "failed");
	/* the workload runs: the stages go from the loop, as a batch span
	 * processor would send them (with the root, if it ends first) */
	if (rc == 0 && !strcmp(stage, "release")) {
		hand_stages(r);
		otel_exporter_kick(o->x, o->delay_ms);
	}
}

int run_otlp_fd(struct run *r)
{
	return r->otlp && r->otlp->x ? otel_exporter_fd(r->otlp->x) : -1;
}

void run_otlp_ready(void *arg)
{
	struct run *r = arg;

	otel_exporter_ready(r->otlp->x);
}

static void send_span(struct run *r, struct otel_span *s)
{
	otel_exporter_add(exporter(r), s);
	otel_exporter_kick(r->otlp->x, r->otlp->delay_ms);
}

/* A health or readiness probe, as health_last_probe tells it. */
static void probe_span(struct run *r)
{
	struct otlp *o = r->otlp;
	bool readiness;
	const struct health_result *h = health_last_probe(r->health, &readiness);
	struct otel_span s;

	if (!h)
		return;
	otel_span_init(&s, readiness ? "readiness_probe" : "health_probe", o->root.trace_id, o->root.span_id,
		       h->start_ns);
	s.end_ns = h->end_ns;
	otel_attrs_int(&s.attrs, "process.exit.code", h->exit_code);
	if (!readiness) {
		otel_attrs_str(&s.attrs, "health.status", health_status_name(r->st.health.status));
		otel_attrs_int(&s.attrs, "health.failing_streak", r->st.health.failing_streak);
	}
	if (h->exit_code < 0) {
		otel_span_set_error(&s, "killed at its timeout");
	} else if (h->exit_code) {
		char msg[32];

		snprintf(msg, sizeof(msg), "exit code %d", h->exit_code);
		otel_span_set_error(&s, msg);
	}
	send_span(r, &s);
}

void run_otlp_event(struct run *r, enum svc_event ev)
{
	struct otlp *o = r->otlp;

	if (!o)
		return;
	switch (ev) {
	case SVC_PROBE:
		probe_span(r);
		break;
	case SVC_RESTARTING:
		if (o->restarting)
			otel_span_free(&o->restart);
		otel_span_init(&o->restart, "restart", o->root.trace_id, o->root.span_id, realtime_ns());
		otel_attrs_int(&o->restart.attrs, "container.restarts", r->st.restarts);
		otel_attrs_int(&o->restart.attrs, "process.exit.code", *r->exit_code);
		o->restarting = true;
		break;
	case SVC_STARTED:
		if (o->restarting) {
			o->restart.end_ns = realtime_ns();
			o->restarting = false;
			send_span(r, &o->restart);
		}
		break;
	case SVC_EXITED:
		if (!o->root_ended) {
			o->root.end_ns = realtime_ns();
			o->root_ended = true;
		}
		break;
	default:
		break;
	}
}

/* The root, with what ends it, queued after whatever is still queued. */
static void end_root(struct run *r, int rc, const struct nerr *err)
{
	struct otlp *o = r->otlp;

	if (o->root_queued)
		return;
	if (!o->root_ended)
		o->root.end_ns = realtime_ns();
	if (o->restarting) {
		o->restart.end_ns = o->root.end_ns;
		otel_span_set_error(&o->restart, "the container ended before the restart");
		otel_exporter_add(exporter(r), &o->restart);
		o->restarting = false;
	}
	otel_attrs_int(&o->root.attrs, "process.exit.code", *r->exit_code);
	otel_attrs_int(&o->root.attrs, "container.restarts", r->st.restarts);
	if (r->st.oom_killed)
		otel_attrs_bool(&o->root.attrs, "container.oom_killed", true);
	if (rc < 0 || err->code)
		otel_span_set_error(&o->root, err->msg[0] ? err->msg : "failed");
	/* a start that failed, or a workload quicker than the batch's delay:
	 * its stages go with the root, in one POST */
	hand_stages(r);
	otel_exporter_add(exporter(r), &o->root);
	o->root_queued = true;
}

void run_otlp_finish(struct run *r, int rc, const struct nerr *err)
{
	struct otlp *o = r->otlp;
	const struct otel_counts *c;

	if (!o)
		return;
	end_root(r, rc, err);
	/* the last POST: the supervisor waits for it, at most the bound */
	otel_exporter_flush(o->x, OTEL_EXPORT_TIMEOUT_MS);
	c = otel_exporter_counts(o->x);
	log_debug("otlp: %u POST(s) answered, %u failed; %u span(s) sent, %u dropped",
		  c->posts_ok, c->posts_failed, c->spans_sent, c->spans_dropped);
	if (c->spans_dropped)
		log_warn("OpenTelemetry: %u span(s) not exported to %s (%u of %u POSTs failed: %s)",
			 c->spans_dropped, otel_exporter_url(o->x), c->posts_failed,
			 c->posts_ok + c->posts_failed, c->last_error);
	otel_exporter_free(o->x);
	otel_endpoint_free(&o->ep);
	otel_span_free(&o->root);
	free(o);
	r->otlp = NULL;
}
