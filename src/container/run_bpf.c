/* The run's bpf stage: the syscall recorder, the audit programs and the
 * egress policy on the container's cgroup, and their events for the
 * supervisor's loop. */
#include <errno.h>
#include <string.h>
#include "run.h"

static void trace_seen(const struct sc_trace_entry *e, void *arg)
{
	(void)arg;
	log_debug("trace: first %s/%s (pid %u %s)", sc_trace_abi_name(e->abi), e->name, e->pid, e->comm);
}

void run_trace_ready(void *arg)
{
	sc_trace_drain(arg, trace_seen, NULL);
}

/* NUCLEUS_RING_BYTES: the size of a container's ring buffers (a tuning knob,
 * and how the tests make a tiny one). */
static size_t ring_bytes(void)
{
	const char *v = getenv("NUCLEUS_RING_BYTES");
	uint64_t n;

	if (v && parse_u64(v, 4096, 1u << 30, &n) == 0 && !(n & (n - 1)))
		return (size_t)n;
	return 0;
}

/* Trace mode: write what was recorded, then let go of the recorder. */
static void finish_trace(struct run *r)
{
	struct sc_trace_entry *e = NULL;
	struct sc_trace_stats stats;
	struct nerr err = { 0 };
	size_t n = 0;

	if (!r->trace)
		return;
	sc_trace_drain(r->trace, trace_seen, NULL);
	if (sc_trace_collect(r->trace, &e, &n, &stats, &err) < 0) {
		log_error("seccomp trace: %s", err.msg);
	} else if (sc_trace_write_ndjson(e, n, r->trace_log) < 0) {
		log_error("seccomp trace: write `%s`: %s", r->cfg->sec.seccomp_log, strerror(errno));
	} else {
		log_info("seccomp trace: %zu syscalls recorded in %s", n, r->cfg->sec.seccomp_log);
		if (stats.events_lost)
			log_warn("seccomp trace: %llu live events lost (ring buffer full); the recorded set "
				 "and counts are complete", (unsigned long long)stats.events_lost);
	}
	sc_trace_entries_free(e, n);
	sc_trace_stop(r->trace);
	r->trace = NULL;
}

/* A BPF feature that failed to start. Validation refuses these flags for
 * an ordinary user; a refusal here (root in a container without CAP_BPF,
 * say) still says what is missing rather than a bare EPERM. */
static int bpf_failed(const char *what, struct nerr *err)
{
	if (err->code == EPERM || err->code == EACCES) {
		char why[sizeof(err->msg)];
		int code = err->code;

		snprintf(why, sizeof(why), "%s", err->msg);
		nerr_set(err, 0, "%s: the kernel refused BPF (it needs CAP_BPF and CAP_PERFMON on the host): %s",
			 what, why);
		err->code = code;
		return -code;
	}
	return nerr_prefix(err, "%s", what);
}

void run_egress_ready(void *arg)
{
	egress_events_drain(arg);
}

void run_egress_to_audit(const struct egress_denial *d, void *arg)
{
	struct run *r = arg;

	audit_log_event(r->audit, 0, "egress_denied", "cgroup_bpf", (int)d->pid, -1, d->comm,
			json_pack("{s:s,s:s,s:i,s:s}", "proto", d->proto, "address", d->address,
				  "port", d->port, "hook", d->hook));
}

void run_audit_ready(void *arg)
{
	struct run *r = arg;

	audit_kernel_drain(r->audit_kernel, r->audit);
}

/* bpf: the programs on the child's cgroup: the syscall recorder (--seccomp
 * trace), audit's, the egress policy. */
int stage_bpf(struct run *r, struct nerr *err)
{
	int rc;

	if (!r->have_cgroup)
		return 0;
	if (r->cfg->sec.seccomp_trace) {
		if ((rc = sc_trace_start(r->cg.id, cgroup_v2_level(&r->cg_host), true, ring_bytes(),
					 &r->trace, err)) < 0)
			return bpf_failed("seccomp trace", err);
		log_debug("run: syscall recorder armed");
	}
	if (r->cfg->audit.enabled) {
		if ((rc = audit_kernel_start(r->cg.id, cgroup_v2_level(&r->cg_host), r->pid, ring_bytes(),
					     &r->audit_kernel, err)) < 0)
			return bpf_failed("audit", err);
		log_debug("run: audit programs attached (%s)", audit_kernel_source(r->audit_kernel));
		/* the audit log's start event names the source either way; a
		 * service's operator is told when it is only the fallback, which
		 * records but could not deny */
		if (r->cfg->audit.name_source && strcmp(audit_kernel_source(r->audit_kernel), "lsm"))
			log_warn("audit: kernel events come from the tracepoint fallback, not BPF-LSM: %s",
				 audit_kernel_reason(r->audit_kernel));
	}
	if (r->cfg->net.egress.enabled) {
		if ((rc = egress_attach(&r->cfg->net.egress, r->cg.v2_fd, r->cg.id, cgroup_v2_level(&r->cg_host),
					&r->egress, err)) < 0)
			return bpf_failed("egress policy", err);
		log_debug("run: egress policy attached");
	}
	return 0;
}

/* The recorder's findings into the trace log, then the programs off. */
void undo_bpf(struct run *r)
{
	finish_trace(r);
	egress_detach(r->egress);
	r->egress = NULL;
	audit_kernel_stop(r->audit_kernel);
	r->audit_kernel = NULL;
}
