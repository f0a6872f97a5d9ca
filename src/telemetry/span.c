/* Spans, their attributes and resource, and the OTLP/JSON encoding of an
 * ExportTraceServiceRequest (opentelemetry/proto/trace/v1/trace.proto with
 * the OTLP specification's JSON rules: ids as hex, enums as integers,
 * 64-bit integers as decimal strings, lowerCamelCase keys). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <nucleus/telemetry.h>

static struct otel_attr *attr_slot(struct otel_attrs *a, const char *key)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->v[i].key, key)) {
			free(a->v[i].s);
			a->v[i].s = NULL;
			return &a->v[i];
		}
	a->v = xrealloc(a->v, (a->n + 1) * sizeof(*a->v));
	memset(&a->v[a->n], 0, sizeof(a->v[a->n]));
	a->v[a->n].key = xstrdup(key);
	return &a->v[a->n++];
}

void otel_attrs_str(struct otel_attrs *a, const char *key, const char *value)
{
	struct otel_attr *v = attr_slot(a, key);

	v->type = OTEL_STRING;
	v->s = xstrdup(value);
}

void otel_attrs_int(struct otel_attrs *a, const char *key, int64_t value)
{
	struct otel_attr *v = attr_slot(a, key);

	v->type = OTEL_INT;
	v->i = value;
}

void otel_attrs_bool(struct otel_attrs *a, const char *key, bool value)
{
	struct otel_attr *v = attr_slot(a, key);

	v->type = OTEL_BOOL;
	v->b = value;
}

const struct otel_attr *otel_attrs_get(const struct otel_attrs *a, const char *key)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->v[i].key, key))
			return &a->v[i];
	return NULL;
}

void otel_attrs_free(struct otel_attrs *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].key);
		free(a->v[i].s);
	}
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

static bool all_zero(const uint8_t *id, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (id[i])
			return false;
	return true;
}

void otel_random_id(uint8_t *id, size_t n)
{
	/* GRND_NONBLOCK: an early-boot host without entropy yet gets ids
	 * from the clock and pid rather than a supervisor that waits */
	if (getrandom(id, n, GRND_NONBLOCK) != (ssize_t)n) {
		uint64_t x = realtime_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)id;

		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			id[i] = (uint8_t)x;
		}
	}
	if (all_zero(id, n))
		id[n - 1] = 1;
}

void otel_span_init(struct otel_span *s, const char *name, const uint8_t trace_id[16], const uint8_t *parent_id,
		    uint64_t start_ns)
{
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	s->kind = OTEL_KIND_INTERNAL;
	memcpy(s->trace_id, trace_id, sizeof(s->trace_id));
	if (parent_id)
		memcpy(s->parent_id, parent_id, sizeof(s->parent_id));
	otel_random_id(s->span_id, sizeof(s->span_id));
	s->start_ns = start_ns;
}

void otel_span_set_error(struct otel_span *s, const char *msg)
{
	s->status = OTEL_STATUS_ERROR;
	free(s->status_msg);
	s->status_msg = msg && *msg ? xstrdup(msg) : NULL;
}

void otel_span_free(struct otel_span *s)
{
	free(s->name);
	free(s->status_msg);
	otel_attrs_free(&s->attrs);
	memset(s, 0, sizeof(*s));
}

/* ---- OTEL_RESOURCE_ATTRIBUTES ---------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* [b, e) trimmed and percent-decoded; NULL on a bad escape. */
static char *decode(const char *b, const char *e)
{
	char *out, *o;

	while (b < e && isspace((unsigned char)*b))
		b++;
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	out = o = xmalloc((size_t)(e - b) + 1);
	while (b < e) {
		if (*b == '%') {
			int h, l;

			/* %00 too: a C string would end there */
			if (e - b < 3 || (h = hexval(b[1])) < 0 || (l = hexval(b[2])) < 0 || !(h | l)) {
				free(out);
				return NULL;
			}
			*o++ = (char)(h << 4 | l);
			b += 3;
		} else {
			*o++ = *b++;
		}
	}
	*o = '\0';
	return out;
}

int otel_parse_resource_attributes(const char *s, struct otel_attrs *out, struct nerr *err)
{
	struct otel_attrs got = { 0 };
	const char *p = s;

	while (p && *p) {
		const char *end = strchr(p, ','), *eq;
		_cleanup_free_ char *k = NULL, *v = NULL;

		if (!end)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (!eq) {
			/* "a=1," and ",": an empty member is nothing, not an error */
			const char *q = p;

			while (q < end && isspace((unsigned char)*q))
				q++;
			if (q != end) {
				otel_attrs_free(&got);
				return nerr_set(err, 0, "`%.*s` is not key=value", (int)(end - p), p);
			}
		} else {
			k = decode(p, eq);
			v = decode(eq + 1, end);
			if (!k || !v || !*k) {
				otel_attrs_free(&got);
				return nerr_set(err, 0, "`%.*s`: %s", (int)(end - p), p,
						!k || !v ? "a bad percent escape" : "an empty key");
			}
			otel_attrs_str(&got, k, v);
		}
		p = *end ? end + 1 : end;
	}
	for (size_t i = 0; i < got.n; i++)
		otel_attrs_str(out, got.v[i].key, got.v[i].s);
	otel_attrs_free(&got);
	return 0;
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

void otel_resource_from_env(struct otel_attrs *res, const char *container_id, const char *container_name)
{
	struct otel_attrs user = { 0 };
	const char *ra = env_nonempty("OTEL_RESOURCE_ATTRIBUTES"), *svc = env_nonempty("OTEL_SERVICE_NAME");
	const struct otel_attr *a;
	struct nerr e = { 0 };

	if (ra && otel_parse_resource_attributes(ra, &user, &e) < 0)
		log_warn("OTEL_RESOURCE_ATTRIBUTES left out: %s", e.msg);
	if (!svc)
		svc = (a = otel_attrs_get(&user, "service.name")) ? a->s : container_name;
	otel_attrs_str(res, "service.name", svc);
	otel_attrs_str(res, "container.id", container_id);
	otel_attrs_str(res, "container.name", container_name);
	otel_attrs_str(res, "container.runtime", "nucleus");
	/* what nucleus knows of the container is not overridden */
	for (size_t i = 0; i < user.n; i++)
		if (!otel_attrs_get(res, user.v[i].key))
			otel_attrs_str(res, user.v[i].key, user.v[i].s);
	otel_attrs_free(&user);
}

/* ---- the JSON encoding ---------------------------------------------------
 * Written out directly rather than built as jansson objects: a run encodes
 * a dozen spans right after its workload starts, and building and dumping
 * objects cost ~20 us a span, a measurable part of a start-up. The tests
 * read it back with jansson. */


/* The length of the valid UTF-8 sequence at S, 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80 ||
		    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

/* A JSON string; a byte that is not UTF-8 (a message naming a path, say)
 * becomes U+FFFD, so the request stays valid JSON. */
static void ob_str(struct strbuf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");

	strbuf_add(b, "\"", 1);
	while (*s) {
		size_t run = 0, n;

		while (s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\')
			run++;
		strbuf_add(b, (const char *)s, run);
		s += run;
		if (!*s)
			break;
		if (*s == '"' || *s == '\\') {
			char esc[2] = { '\\', (char)*s };

			strbuf_add(b, esc, 2);
			s++;
		} else if (*s < 0x20) {
			char esc[8];

			snprintf(esc, sizeof(esc), "\\u%04x", *s);
			strbuf_puts(b, esc);
			s++;
		} else if ((n = utf8_len(s))) {
			strbuf_add(b, (const char *)s, n);
			s += n;
		} else {
			strbuf_puts(b, "\\ufffd");
			s++;
		}
	}
	strbuf_add(b, "\"", 1);
}

static void ob_hex(struct strbuf *b, const uint8_t *id, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char buf[2 * 16 + 2] = "\"";

	for (size_t i = 0; i < n; i++) {
		buf[1 + 2 * i] = digits[id[i] >> 4];
		buf[2 + 2 * i] = digits[id[i] & 15];
	}
	buf[1 + 2 * n] = '"';
	strbuf_add(b, buf, 2 + 2 * n);
}

/* fixed64 and int64: decimal strings */
static void ob_u64(struct strbuf *b, uint64_t v)
{
	char buf[24];

	strbuf_add(b, buf, (size_t)snprintf(buf, sizeof(buf), "\"%" PRIu64 "\"", v));
}

static void ob_attrs(struct strbuf *b, const struct otel_attrs *a)
{
	char buf[48];

	strbuf_add(b, "[", 1);
	for (size_t i = 0; i < a->n; i++) {
		const struct otel_attr *v = &a->v[i];

		strbuf_puts(b, i ? ",{\"key\":" : "{\"key\":");
		ob_str(b, v->key);
		switch (v->type) {
		case OTEL_INT:
			snprintf(buf, sizeof(buf), ",\"value\":{\"intValue\":\"%" PRId64 "\"}}", v->i);
			strbuf_puts(b, buf);
			break;
		case OTEL_BOOL:
			strbuf_puts(b, v->b ? ",\"value\":{\"boolValue\":true}}" : ",\"value\":{\"boolValue\":false}}");
			break;
		default:
			strbuf_puts(b, ",\"value\":{\"stringValue\":");
			ob_str(b, v->s);
			strbuf_puts(b, "}}");
			break;
		}
	}
	strbuf_add(b, "]", 1);
}

static void ob_span(struct strbuf *b, const struct otel_span *s)
{
	char buf[32];

	strbuf_puts(b, "{\"traceId\":");
	ob_hex(b, s->trace_id, sizeof(s->trace_id));
	strbuf_puts(b, ",\"spanId\":");
	ob_hex(b, s->span_id, sizeof(s->span_id));
	/* proto3: an empty bytes field (a root's parent) is left out */
	if (!all_zero(s->parent_id, sizeof(s->parent_id))) {
		strbuf_puts(b, ",\"parentSpanId\":");
		ob_hex(b, s->parent_id, sizeof(s->parent_id));
	}
	strbuf_puts(b, ",\"name\":");
	ob_str(b, s->name);
	/* enums as integers */
	snprintf(buf, sizeof(buf), ",\"kind\":%d", (int)s->kind);
	strbuf_puts(b, buf);
	strbuf_puts(b, ",\"startTimeUnixNano\":");
	ob_u64(b, s->start_ns);
	strbuf_puts(b, ",\"endTimeUnixNano\":");
	ob_u64(b, s->end_ns);
	strbuf_puts(b, ",\"attributes\":");
	ob_attrs(b, &s->attrs);
	if (s->status != OTEL_STATUS_UNSET) {
		snprintf(buf, sizeof(buf), ",\"status\":{\"code\":%d", (int)s->status);
		strbuf_puts(b, buf);
		if (s->status_msg) {
			strbuf_puts(b, ",\"message\":");
			ob_str(b, s->status_msg);
		}
		strbuf_add(b, "}", 1);
	}
	strbuf_add(b, "}", 1);
}

char *otel_span_dump(const struct otel_span *s)
{
	struct strbuf b = { 0 };

	ob_span(&b, s);
	return b.s;
}

void otel_request_frame(const struct otel_attrs *resource, char **prefix, char **suffix)
{
	struct strbuf b = { 0 };

	strbuf_puts(&b, "{\"resourceSpans\":[{\"resource\":{\"attributes\":");
	ob_attrs(&b, resource);
	strbuf_puts(&b, "},\"scopeSpans\":[{\"scope\":{\"name\":\"nucleus\",\"version\":\"" NUCLEUS_VERSION "\"},\"spans\":[");
	*prefix = b.s;
	*suffix = xstrdup("]}]}]}");
}

char *otel_encode(const struct otel_attrs *resource, const struct otel_span *spans, size_t n)
{
	struct strbuf b = { 0 };
	_cleanup_free_ char *prefix = NULL, *suffix = NULL;

	otel_request_frame(resource, &prefix, &suffix);
	strbuf_puts(&b, prefix);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_add(&b, ",", 1);
		ob_span(&b, &spans[i]);
	}
	strbuf_puts(&b, suffix);
	return b.s;
}
