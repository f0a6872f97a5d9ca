/* OpenTelemetry: spans, their resource, their OTLP/HTTP JSON encoding, and
 * an exporter that POSTs them without blocking (one pollable fd for the
 * supervisor's loop, no threads). Plain http:// only: the project has no
 * TLS library. See docs/services.md. */
#ifndef NUCLEUS_TELEMETRY_H
#define NUCLEUS_TELEMETRY_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>
#include <nucleus/util.h>

/* The most one export waits for its collector (connect, send, the status
 * line), and the most the supervisor waits at exit for the last one. */
#define OTEL_EXPORT_TIMEOUT_MS 1000

enum otel_value_type { OTEL_STRING, OTEL_INT, OTEL_BOOL };
struct otel_attr {
	char *key;
	enum otel_value_type type;
	char *s;
	int64_t i;
	bool b;
};
struct otel_attrs {
	struct otel_attr *v;
	size_t n;
};
/* A string value replaces one of the same key. */
void otel_attrs_str(struct otel_attrs *a, const char *key, const char *value);
void otel_attrs_int(struct otel_attrs *a, const char *key, int64_t value);
void otel_attrs_bool(struct otel_attrs *a, const char *key, bool value);
const struct otel_attr *otel_attrs_get(const struct otel_attrs *a, const char *key);
void otel_attrs_free(struct otel_attrs *a);

/* Span.SpanKind and Status.StatusCode of trace.proto */
enum otel_kind { OTEL_KIND_UNSPECIFIED, OTEL_KIND_INTERNAL, OTEL_KIND_SERVER, OTEL_KIND_CLIENT };
enum otel_status { OTEL_STATUS_UNSET, OTEL_STATUS_OK, OTEL_STATUS_ERROR };

struct otel_span {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_id[8];          /* all zero: a root span */
	char *name;
	enum otel_kind kind;
	uint64_t start_ns, end_ns;     /* CLOCK_REALTIME */
	struct otel_attrs attrs;
	enum otel_status status;
	char *status_msg;              /* NULL: none */
};
/* A span of TRACE under PARENT (NULL: a root span) with a fresh id. */
void otel_span_init(struct otel_span *s, const char *name, const uint8_t trace_id[16], const uint8_t *parent_id,
		    uint64_t start_ns);
void otel_span_set_error(struct otel_span *s, const char *msg);
void otel_span_free(struct otel_span *s);
/* Random bytes (getrandom; never all zero, which OTLP calls invalid). */
void otel_random_id(uint8_t *id, size_t n);

/* The resource: service.name (OTEL_SERVICE_NAME, else OTEL_RESOURCE_ATTRIBUTES's,
 * else the container's name), container.id, container.name,
 * container.runtime = "nucleus", then OTEL_RESOURCE_ATTRIBUTES's other
 * keys. A malformed OTEL_RESOURCE_ATTRIBUTES is left out whole, with a
 * warning (the SDK specification's rule). */
void otel_resource_from_env(struct otel_attrs *res, const char *container_id, const char *container_name);
/* OTEL_RESOURCE_ATTRIBUTES: "k=v,k2=v2", keys and values trimmed and
 * percent-decoded. 0, or -EINVAL (err says why) leaving out nothing added. */
int otel_parse_resource_attributes(const char *s, struct otel_attrs *out, struct nerr *err);

/* The JSON of an ExportTraceServiceRequest of the spans: one resource,
 * scope "nucleus". */
char *otel_encode(const struct otel_attrs *resource, const struct otel_span *spans, size_t n);
/* The same in parts, so that each span is encoded when it ends, not when
 * it is sent: one span's JSON, and what goes before and after the spans'
 * (comma-separated) in a request. */
char *otel_span_dump(const struct otel_span *s);
void otel_request_frame(const struct otel_attrs *resource, char **prefix, char **suffix);

/* Where to POST: http://HOST[:PORT][/PATH], HOST numeric (IPv4, [IPv6])
 * or localhost; the name is not resolved through DNS, which would block. */
struct otel_endpoint {
	char *url;                     /* as it will be POSTed to */
	char *host;                    /* the Host header: host[:port] as written */
	char *path;
	struct sockaddr_storage addr;
	socklen_t addrlen;
};
/* From the environment: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (verbatim),
 * else OTEL_EXPORTER_OTLP_ENDPOINT, else NUCLEUS_OTLP_ENDPOINT (both base
 * URLs: /v1/traces appended). 1: an endpoint, 0: none set (or
 * OTEL_SDK_DISABLED=true, OTEL_TRACES_EXPORTER=none), <0: unusable (err
 * says why: https, a host name, a bad URL). */
int otel_endpoint_from_env(struct otel_endpoint *ep, struct nerr *err);
/* One URL: BASE adds /v1/traces to its path. */
int otel_endpoint_parse(const char *url, bool base, struct otel_endpoint *ep, struct nerr *err);
void otel_endpoint_free(struct otel_endpoint *ep);

/* The exporter: a queue of spans and one POST at a time. Each POST has
 * OTEL_EXPORT_TIMEOUT_MS; after a failure to reach the collector (refused,
 * timeout, closed without an answer) the rest of the run's spans are
 * dropped and counted, never retried, so a dead collector costs that bound
 * once. */
struct otel_exporter;
struct otel_counts {
	unsigned posts_ok;             /* answered 2xx */
	unsigned posts_failed;         /* not reached, no answer, or not 2xx */
	unsigned spans_sent;           /* in a 2xx-answered POST */
	unsigned spans_dropped;        /* in a failed POST or never sent */
	char last_error[128];          /* why the last POST failed */
};
/* Takes over EP (cleared) and RESOURCE (cleared). */
struct otel_exporter *otel_exporter_new(struct otel_endpoint *ep, struct otel_attrs *resource);
/* Queued (taking over the span: cleared); sent from the loop (otel_exporter_ready)
 * after a kick, or at otel_exporter_start or otel_exporter_flush. */
void otel_exporter_add(struct otel_exporter *x, struct otel_span *s);
/* Sends what is queued from the loop, DELAY_MS from now (the fd becomes
 * readable then; 0: at its next turn); an earlier kick stands, so spans
 * queued meanwhile go in the same POST. */
void otel_exporter_kick(struct otel_exporter *x, unsigned delay_ms);
/* Starts the POST of what is queued now (connect and send are
 * non-blocking; the loop or the flush reads the answer). */
void otel_exporter_start(struct otel_exporter *x);
/* OTEL_BSP_SCHEDULE_DELAY: the batch span processor's delay (ms), 5000 by
 * default as the SDK specification says; a bad value warns, default kept. */
unsigned otel_schedule_delay_ms(void);
/* The fd for the loop (an epoll fd of its own; -1 on a failure to create
 * it, which drops every span), and what to call when it is readable. */
int otel_exporter_fd(struct otel_exporter *x);
void otel_exporter_ready(struct otel_exporter *x);
/* Sends what is queued and waits for every POST, TIMEOUT_MS at most in
 * all; what is left is dropped and counted. */
void otel_exporter_flush(struct otel_exporter *x, int timeout_ms);
const struct otel_counts *otel_exporter_counts(const struct otel_exporter *x);
const char *otel_exporter_url(const struct otel_exporter *x);
void otel_exporter_free(struct otel_exporter *x);

#endif
