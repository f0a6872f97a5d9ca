/* telemetry: the OTLP/JSON encoding, the resource from the environment,
 * the endpoint rules, and the exporter's POST against a socket of the
 * test's own. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <sys/wait.h>
#include <nucleus/container.h>
#include <jansson.h>
#include <nucleus/telemetry.h>
#include "../../src/container/run.h"

static const uint8_t TRACE[16] = { 0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03,
				   0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c };

static void clear_env(void)
{
	static const char *const vars[] = {
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT", "NUCLEUS_OTLP_ENDPOINT",
		"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
		"OTEL_BSP_SCHEDULE_DELAY",
	};

	for (size_t i = 0; i < ARRAY_SIZE(vars); i++)
		unsetenv(vars[i]);
}

/* the value of KEY in an OTLP attribute array, as {"stringValue": ...} etc. */
static json_t *attr(json_t *arr, const char *key)
{
	size_t i;
	json_t *kv;

	json_array_foreach(arr, i, kv)
		if (!strcmp(json_string_value(json_object_get(kv, "key")), key))
			return json_object_get(kv, "value");
	return NULL;
}

static const char *attr_str(json_t *arr, const char *key)
{
	json_t *v = attr(arr, key);

	return v ? json_string_value(json_object_get(v, "stringValue")) : NULL;
}

static void encoding(void **state)
{
	struct otel_attrs res = { 0 };
	struct otel_span s[2];
	json_t *doc, *rs, *spans, *root, *child, *v;

	otel_attrs_str(&res, "service.name", "web");
	otel_span_init(&s[0], "container", TRACE, NULL, 1796672153103720909ull);
	s[0].end_ns = 18446744073709551615ull;       /* the whole fixed64 range, as a string */
	otel_attrs_int(&s[0].attrs, "process.exit.code", 3);
	otel_span_init(&s[1], "clone", TRACE, s[0].span_id, 1796672153103720910ull);
	s[1].end_ns = 1796672153103720999ull;
	otel_attrs_int(&s[1].attrs, "big", INT64_MIN);
	otel_attrs_bool(&s[1].attrs, "ok", true);
	otel_attrs_str(&s[1].attrs, "text", "a \"quoted\"\nline");
	otel_attrs_str(&s[1].attrs, "text", "replaced");
	otel_span_set_error(&s[1], "clone: EPERM");

	char *text = otel_encode(&res, s, 2);
	json_error_t je;

	doc = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		fail_msg("not JSON (%s): %s", je.text, text);
	free(text);
	rs = json_array_get(json_object_get(doc, "resourceSpans"), 0);
	assert_string_equal(attr_str(json_object_get(json_object_get(rs, "resource"), "attributes"), "service.name"),
			    "web");
	v = json_array_get(json_object_get(rs, "scopeSpans"), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(v, "scope"), "name")), "nucleus");
	spans = json_object_get(v, "spans");
	assert_int_equal(json_array_size(spans), 2);
	root = json_array_get(spans, 0);
	child = json_array_get(spans, 1);

	/* ids: lowercase hex, 32 and 16 digits; a root has no parentSpanId */
	assert_string_equal(json_string_value(json_object_get(root, "traceId")), "5b8efff798038103d269b633813fc60c");
	assert_string_equal(json_string_value(json_object_get(child, "traceId")), "5b8efff798038103d269b633813fc60c");
	const char *sid = json_string_value(json_object_get(root, "spanId"));
	assert_int_equal(strlen(sid), 16);
	assert_int_equal(strspn(sid, "0123456789abcdef"), 16);
	assert_null(json_object_get(root, "parentSpanId"));
	assert_string_equal(json_string_value(json_object_get(child, "parentSpanId")), sid);
	assert_string_not_equal(json_string_value(json_object_get(child, "spanId")), sid);
	/* the enum as an integer (SPAN_KIND_INTERNAL), 64-bit values as decimal strings */
	assert_true(json_is_integer(json_object_get(root, "kind")));
	assert_int_equal(json_integer_value(json_object_get(root, "kind")), 1);
	assert_string_equal(json_string_value(json_object_get(root, "startTimeUnixNano")), "1796672153103720909");
	assert_string_equal(json_string_value(json_object_get(root, "endTimeUnixNano")), "18446744073709551615");
	assert_string_equal(json_string_value(json_object_get(child, "name")), "clone");
	v = attr(json_object_get(root, "attributes"), "process.exit.code");
	assert_string_equal(json_string_value(json_object_get(v, "intValue")), "3");
	v = attr(json_object_get(child, "attributes"), "big");
	assert_string_equal(json_string_value(json_object_get(v, "intValue")), "-9223372036854775808");
	v = attr(json_object_get(child, "attributes"), "ok");
	assert_true(json_is_true(json_object_get(v, "boolValue")));
	assert_string_equal(attr_str(json_object_get(child, "attributes"), "text"), "replaced");
	assert_int_equal(json_array_size(json_object_get(child, "attributes")), 3);
	/* status: unset is left out; ERROR is code 2 with its message */
	assert_null(json_object_get(root, "status"));
	v = json_object_get(child, "status");
	assert_int_equal(json_integer_value(json_object_get(v, "code")), 2);
	assert_string_equal(json_string_value(json_object_get(v, "message")), "clone: EPERM");

	json_decref(doc);
	otel_span_free(&s[0]);
	otel_span_free(&s[1]);
	otel_attrs_free(&res);
}

/* strings: escaped as JSON wants, and valid UTF-8 whatever they hold */
static void encoding_strings(void **state)
{
	struct otel_attrs res = { 0 };
	struct otel_span s;
	json_t *doc, *span;
	char *text;

	otel_attrs_str(&res, "k\"ey", "tab\there \\ \"q\" \x01 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	otel_span_init(&s, "n\xff" "ame", TRACE, NULL, 1);
	otel_span_set_error(&s, "bad \xc3( \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82");
	text = otel_encode(&res, &s, 1);
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	free(text);
	span = json_array_get(json_object_get(json_array_get(json_object_get(json_array_get(
		json_object_get(doc, "resourceSpans"), 0), "scopeSpans"), 0), "spans"), 0);
	assert_string_equal(attr_str(json_object_get(json_object_get(json_array_get(json_object_get(doc, "resourceSpans"), 0),
								     "resource"), "attributes"), "k\"ey"),
			    "tab\there \\ \"q\" \x01 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	assert_string_equal(json_string_value(json_object_get(span, "name")), "n\xef\xbf\xbd" "ame");
	/* a lone lead byte, a surrogate, beyond U+10FFFF, a cut sequence */
	assert_string_equal(json_string_value(json_object_get(json_object_get(span, "status"), "message")),
			    "bad \xef\xbf\xbd( \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
			    "\xef\xbf\xbd\xef\xbf\xbd");
	json_decref(doc);
	otel_span_free(&s);
	otel_attrs_free(&res);
}

static void random_ids(void **state)
{
	uint8_t a[8], b[8];

	otel_random_id(a, sizeof(a));
	otel_random_id(b, sizeof(b));
	assert_memory_not_equal(a, b, sizeof(a));
}

static void resource_attributes(void **state)
{
	struct otel_attrs a = { 0 };
	struct nerr e = { 0 };

	/* trimmed, percent-decoded, empty members skipped */
	assert_int_equal(otel_parse_resource_attributes(" k = v ,,a=b%2Cc%3D%20d,", &a, &e), 0);
	assert_int_equal(a.n, 2);
	assert_string_equal(otel_attrs_get(&a, "k")->s, "v");
	assert_string_equal(otel_attrs_get(&a, "a")->s, "b,c= d");
	/* a malformed list adds nothing */
	assert_int_equal(otel_parse_resource_attributes("x=1,broken", &a, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "`broken` is not key=value"));
	assert_int_equal(otel_parse_resource_attributes("x=%zz", &a, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "percent"));
	assert_int_equal(otel_parse_resource_attributes("x=%0", &a, &e), -EINVAL);
	assert_int_equal(otel_parse_resource_attributes("x=a%00b", &a, &e), -EINVAL);
	assert_int_equal(otel_parse_resource_attributes("=v", &a, &e), -EINVAL);
	assert_int_equal(a.n, 2);
	assert_null(otel_attrs_get(&a, "x"));
	otel_attrs_free(&a);
}

static void resource_from_env(void **state)
{
	struct otel_attrs a = { 0 };

	clear_env();
	otel_resource_from_env(&a, "0123456789abcdef0123456789abcdef", "web");
	assert_int_equal(a.n, 4);
	assert_string_equal(otel_attrs_get(&a, "service.name")->s, "web");
	assert_string_equal(otel_attrs_get(&a, "container.id")->s, "0123456789abcdef0123456789abcdef");
	assert_string_equal(otel_attrs_get(&a, "container.name")->s, "web");
	assert_string_equal(otel_attrs_get(&a, "container.runtime")->s, "nucleus");
	assert_string_equal(a.v[0].key, "service.name");
	otel_attrs_free(&a);

	/* OTEL_RESOURCE_ATTRIBUTES: its service.name is taken; container.* are nucleus's */
	setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod%20eu,service.name=shop,container.id=forged", 1);
	otel_resource_from_env(&a, "0123456789abcdef0123456789abcdef", "web");
	assert_int_equal(a.n, 5);
	assert_string_equal(otel_attrs_get(&a, "service.name")->s, "shop");
	assert_string_equal(otel_attrs_get(&a, "container.id")->s, "0123456789abcdef0123456789abcdef");
	assert_string_equal(otel_attrs_get(&a, "deployment.environment")->s, "prod eu");
	otel_attrs_free(&a);

	/* OTEL_SERVICE_NAME wins over both */
	setenv("OTEL_SERVICE_NAME", "checkout", 1);
	otel_resource_from_env(&a, "0123456789abcdef0123456789abcdef", "web");
	assert_string_equal(otel_attrs_get(&a, "service.name")->s, "checkout");
	otel_attrs_free(&a);

	/* a malformed one is left out whole */
	unsetenv("OTEL_SERVICE_NAME");
	setenv("OTEL_RESOURCE_ATTRIBUTES", "team=a,oops", 1);
	otel_resource_from_env(&a, "0123456789abcdef0123456789abcdef", "web");
	assert_int_equal(a.n, 4);
	assert_null(otel_attrs_get(&a, "team"));
	assert_string_equal(otel_attrs_get(&a, "service.name")->s, "web");
	otel_attrs_free(&a);
	clear_env();
}

static void endpoint_urls(void **state)
{
	struct otel_endpoint ep;
	struct nerr e = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ep.addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ep.addr;

	/* a base: /v1/traces under its path, however it ends */
	assert_int_equal(otel_endpoint_parse("http://127.0.0.1:4318", true, &ep, &e), 0);
	assert_string_equal(ep.path, "/v1/traces");
	assert_string_equal(ep.host, "127.0.0.1:4318");
	assert_string_equal(ep.url, "http://127.0.0.1:4318/v1/traces");
	assert_int_equal(in4->sin_family, AF_INET);
	assert_int_equal(ntohs(in4->sin_port), 4318);
	assert_int_equal(ntohl(in4->sin_addr.s_addr), 0x7f000001);
	otel_endpoint_free(&ep);
	assert_int_equal(otel_endpoint_parse("http://127.0.0.1:4318/", true, &ep, &e), 0);
	assert_string_equal(ep.path, "/v1/traces");
	otel_endpoint_free(&ep);
	assert_int_equal(otel_endpoint_parse("http://localhost:4318/otlp/", true, &ep, &e), 0);
	assert_string_equal(ep.path, "/otlp/v1/traces");
	assert_string_equal(ep.host, "localhost:4318");
	assert_int_equal(ntohl(in4->sin_addr.s_addr), 0x7f000001);
	otel_endpoint_free(&ep);
	/* verbatim: the path as written, "/" when none; port 80 by default */
	assert_int_equal(otel_endpoint_parse("http://[::1]:9/custom/path?x=1", false, &ep, &e), 0);
	assert_string_equal(ep.path, "/custom/path?x=1");
	assert_string_equal(ep.host, "[::1]:9");
	assert_int_equal(in6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(in6->sin6_port), 9);
	otel_endpoint_free(&ep);
	assert_int_equal(otel_endpoint_parse("HTTP://10.1.2.3", false, &ep, &e), 0);
	assert_string_equal(ep.path, "/");
	assert_int_equal(ntohs(in4->sin_port), 80);
	otel_endpoint_free(&ep);

	/* refused: no TLS, no DNS, not http, bad ports */
	assert_int_equal(otel_endpoint_parse("https://127.0.0.1:4318", true, &ep, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "no TLS"));
	assert_int_equal(otel_endpoint_parse("http://collector:4318", true, &ep, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "IP address or localhost"));
	assert_int_equal(otel_endpoint_parse("grpc://127.0.0.1:4317", true, &ep, &e), -EINVAL);
	assert_int_equal(otel_endpoint_parse("http://127.0.0.1:99999", true, &ep, &e), -EINVAL);
	assert_int_equal(otel_endpoint_parse("http://127.0.0.1:", true, &ep, &e), -EINVAL);
	assert_int_equal(otel_endpoint_parse("http://:4318", true, &ep, &e), -EINVAL);
	assert_int_equal(otel_endpoint_parse("http://u:p@127.0.0.1:4318", true, &ep, &e), -EINVAL);
	assert_int_equal(otel_endpoint_parse("http://[::1:4318", true, &ep, &e), -EINVAL);
}

static void endpoint_env(void **state)
{
	struct otel_endpoint ep;
	struct nerr e = { 0 };

	clear_env();
	assert_int_equal(otel_endpoint_from_env(&ep, &e), 0);
	setenv("NUCLEUS_OTLP_ENDPOINT", "http://127.0.0.1:3", 1);
	assert_int_equal(otel_endpoint_from_env(&ep, &e), 1);
	assert_string_equal(ep.url, "http://127.0.0.1:3/v1/traces");
	otel_endpoint_free(&ep);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:2/base", 1);
	assert_int_equal(otel_endpoint_from_env(&ep, &e), 1);
	assert_string_equal(ep.url, "http://127.0.0.1:2/base/v1/traces");
	otel_endpoint_free(&ep);
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:1/exactly/here", 1);
	assert_int_equal(otel_endpoint_from_env(&ep, &e), 1);
	assert_string_equal(ep.url, "http://127.0.0.1:1/exactly/here");
	otel_endpoint_free(&ep);
	/* empty is unset */
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "", 1);
	assert_int_equal(otel_endpoint_from_env(&ep, &e), 1);
	assert_string_equal(ep.url, "http://127.0.0.1:2/base/v1/traces");
	otel_endpoint_free(&ep);
	/* the error names the variable */
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://127.0.0.1:2", 1);
	assert_int_equal(otel_endpoint_from_env(&ep, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "OTEL_EXPORTER_OTLP_ENDPOINT: `https://127.0.0.1:2`"));
	/* switched off as the SDK specification says */
	setenv("OTEL_SDK_DISABLED", "true", 1);
	assert_int_equal(otel_endpoint_from_env(&ep, &e), 0);
	unsetenv("OTEL_SDK_DISABLED");
	setenv("OTEL_TRACES_EXPORTER", "none", 1);
	assert_int_equal(otel_endpoint_from_env(&ep, &e), 0);
	clear_env();

	assert_int_equal(otel_schedule_delay_ms(), 5000);
	setenv("OTEL_BSP_SCHEDULE_DELAY", "250", 1);
	assert_int_equal(otel_schedule_delay_ms(), 250);
	setenv("OTEL_BSP_SCHEDULE_DELAY", "soon", 1);
	assert_int_equal(otel_schedule_delay_ms(), 5000);
	clear_env();
}

/* ---- the exporter against the test's own sockets ---------------------------- */

static int listener(int backlog, uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (backlog >= 0)
		assert_int_equal(listen(fd, backlog), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static struct otel_exporter *exporter_to(uint16_t port)
{
	struct otel_endpoint ep;
	struct otel_attrs res = { 0 };
	struct nerr e = { 0 };
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/otlp", port);
	assert_int_equal(otel_endpoint_parse(url, true, &ep, &e), 0);
	otel_attrs_str(&res, "service.name", "t");
	return otel_exporter_new(&ep, &res);
}

static void add_span(struct otel_exporter *x, const char *name)
{
	struct otel_span s;

	otel_span_init(&s, name, TRACE, NULL, 1);
	s.end_ns = 2;
	otel_exporter_add(x, &s);
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void exporter_posts(void **state)
{
	uint16_t port;
	int l = listener(4, &port), c;
	struct otel_exporter *x = exporter_to(port);
	char req[8192] = "";
	ssize_t n = 0, k;
	const char *body = NULL, *cl;
	json_t *doc;
	unsigned long clen = 0;

	add_span(x, "a");
	add_span(x, "b");
	otel_exporter_start(x);
	/* the connection is in the backlog and the request in its buffer:
	 * nothing waited for the test to accept */
	c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(c >= 0);
	/* the whole request: its headers, then Content-Length bytes */
	while (!body || (size_t)n < (size_t)(body - req) + 4 + clen) {
		otel_exporter_ready(x);
		k = recv(c, req + n, sizeof(req) - 1 - (size_t)n, MSG_DONTWAIT);
		if (k > 0)
			n += k;
		else
			usleep(1000);
		req[n] = '\0';
		body = strstr(req, "\r\n\r\n");
		cl = strcasestr(req, "\r\nContent-Length: ");
		clen = cl ? strtoul(cl + 18, NULL, 10) : 0;
	}
	assert_memory_equal(req, "POST /otlp/v1/traces HTTP/1.1\r\n", 31);
	assert_non_null(strstr(req, "\r\nHost: 127.0.0.1:"));
	assert_non_null(strstr(req, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(req, "\r\nConnection: close\r\n"));
	body += 4;
	assert_int_equal(strlen(body), clen);
	doc = json_loads(body, 0, NULL);
	assert_non_null(doc);
	/* both spans in one POST, with the resource */
	assert_int_equal(json_array_size(json_object_get(json_array_get(json_object_get(json_array_get(
		json_object_get(doc, "resourceSpans"), 0), "scopeSpans"), 0), "spans")), 2);
	assert_string_equal(attr_str(json_object_get(json_object_get(json_array_get(json_object_get(doc, "resourceSpans"), 0),
								     "resource"), "attributes"), "service.name"), "t");
	json_decref(doc);
	assert_int_equal(write(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 40), 40);
	otel_exporter_flush(x, 1000);
	assert_int_equal(otel_exporter_counts(x)->posts_ok, 1);
	assert_int_equal(otel_exporter_counts(x)->spans_sent, 2);
	assert_int_equal(otel_exporter_counts(x)->spans_dropped, 0);
	close(c);

	/* an error status is counted; the collector is still there */
	add_span(x, "c");
	otel_exporter_start(x);
	c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_int_equal(write(c, "HTTP/1.1 400 Bad Request\r\n\r\n", 28), 28);
	otel_exporter_flush(x, 1000);
	assert_int_equal(otel_exporter_counts(x)->posts_failed, 1);
	assert_int_equal(otel_exporter_counts(x)->spans_dropped, 1);
	assert_string_equal(otel_exporter_counts(x)->last_error, "HTTP status 400");
	assert_true(otel_exporter_fd(x) >= 0);
	close(c);
	otel_exporter_free(x);
	close(l);
}

static void exporter_dead_collector(void **state)
{
	uint16_t port;
	int l = listener(-1, &port);      /* bound, not listening: refused */
	struct otel_exporter *x = exporter_to(port);
	uint64_t t0 = ms_now();

	add_span(x, "a");
	otel_exporter_flush(x, 1000);
	assert_true(ms_now() - t0 < 500);
	assert_int_equal(otel_exporter_counts(x)->posts_failed, 1);
	assert_string_equal(otel_exporter_counts(x)->last_error, strerror(ECONNREFUSED));
	/* from then on: dropped and counted, never tried */
	assert_int_equal(otel_exporter_fd(x), -1);
	add_span(x, "b");
	add_span(x, "c");
	otel_exporter_flush(x, 1000);
	assert_int_equal(otel_exporter_counts(x)->posts_failed, 1);
	assert_int_equal(otel_exporter_counts(x)->spans_dropped, 3);
	otel_exporter_free(x);
	close(l);
}

static void exporter_silent_collector(void **state)
{
	uint16_t port;
	int l = listener(4, &port);       /* connects, never answers */
	struct otel_exporter *x = exporter_to(port);
	uint64_t t0 = ms_now(), t;

	add_span(x, "a");
	add_span(x, "b");
	otel_exporter_flush(x, 200);
	t = ms_now() - t0;
	assert_true(t >= 190 && t < 600);
	assert_int_equal(otel_exporter_counts(x)->posts_failed, 1);
	assert_int_equal(otel_exporter_counts(x)->spans_dropped, 2);
	assert_string_equal(otel_exporter_counts(x)->last_error, "no answer in time");
	assert_int_equal(otel_exporter_fd(x), -1);
	otel_exporter_free(x);
	close(l);
}

/* A collector in a child: each POST's body, one line each, into OUT. */
static pid_t collector(int l, const char *out)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid)
		return pid;
	for (;;) {
		char req[65536];
		size_t n = 0;
		ssize_t k;
		const char *body = NULL, *cl;
		int c = accept(l, NULL, NULL);
		FILE *f;

		if (c < 0)
			_exit(1);
		while ((k = read(c, req + n, sizeof(req) - 1 - n)) > 0) {
			n += (size_t)k;
			req[n] = '\0';
			if ((body = strstr(req, "\r\n\r\n")) && (cl = strcasestr(req, "\r\nContent-Length: ")) &&
			    n >= (size_t)(body - req) + 4 + strtoul(cl + 18, NULL, 10))
				break;
		}
		if (!body)
			_exit(1);
		f = fopen(out, "a");
		fprintf(f, "%s\n", body + 4);
		fclose(f);
		if (write(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 38) != 38)
			_exit(1);
		close(c);
	}
}

static json_t *span_named(json_t *spans, const char *name)
{
	size_t i;
	json_t *s;

	json_array_foreach(spans, i, s)
		if (!strcmp(json_string_value(json_object_get(s, "name")), name))
			return s;
	return NULL;
}

/* The run's spans (run_otlp.c): stages, a restart and the root, from the
 * events the supervisor's loop would give (the probes': t_otel). */
static void run_spans(void **state)
{
	char out[] = "/tmp/test_otlp.XXXXXX", url[64];
	struct container_config cfg;
	int code = 0, fd = mkstemp(out);
	struct run r = { .cfg = &cfg, .exit_code = &code };
	struct nerr e = { 0 };
	uint16_t port;
	int l = listener(8, &port);
	pid_t pid;
	json_t *doc, *spans, *s, *root;
	json_error_t je;

	assert_true(fd >= 0);
	close(fd);
	pid = collector(l, out);
	clear_env();
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url, 1);
	container_config_init(&cfg);
	snprintf(cfg.id, sizeof(cfg.id), "0123456789abcdef0123456789abcdef");
	snprintf(cfg.name, sizeof(cfg.name), "svc");

	run_otlp_init(&r);
	assert_non_null(r.otlp);
	run_otlp_stage(&r, "validate", realtime_ns(), 0, &e);
	run_otlp_stage(&r, "bpf", realtime_ns(), 0, &e);
	run_otlp_stage(&r, "release", realtime_ns(), 0, &e);
	run_otlp_stage(&r, "supervise", realtime_ns(), 0, &e);   /* the root's, no span */
	/* no health engine: a probe event has nothing to tell */
	run_otlp_event(&r, SVC_PROBE);
	code = 1;
	r.st.restarts = 1;
	run_otlp_event(&r, SVC_RESTARTING);
	run_otlp_event(&r, SVC_STARTED);
	code = 0;
	run_otlp_finish(&r, 0, &e);
	assert_null(r.otlp);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(l);

	/* nothing drove the loop: everything went at the end, in one POST */
	doc = json_load_file(out, JSON_DISABLE_EOF_CHECK, &je);
	assert_non_null(doc);
	unlink(out);
	spans = json_object_get(json_array_get(json_object_get(json_array_get(
		json_object_get(doc, "resourceSpans"), 0), "scopeSpans"), 0), "spans");
	assert_int_equal(json_array_size(spans), 5);
	root = span_named(spans, "container");
	assert_null(json_object_get(root, "parentSpanId"));
	assert_null(json_object_get(root, "status"));
	assert_string_equal(json_string_value(json_object_get(attr(json_object_get(root, "attributes"),
								   "container.restarts"), "intValue")), "1");
	assert_string_equal(json_string_value(json_object_get(attr(json_object_get(root, "attributes"),
								   "process.exit.code"), "intValue")), "0");
	s = span_named(spans, "bpf");
	assert_string_equal(json_string_value(json_object_get(s, "parentSpanId")),
			    json_string_value(json_object_get(root, "spanId")));
	assert_null(json_object_get(s, "status"));
	assert_null(span_named(spans, "health_probe"));
	s = span_named(spans, "restart");
	assert_string_equal(json_string_value(json_object_get(attr(json_object_get(s, "attributes"),
								   "container.restarts"), "intValue")), "1");
	assert_string_equal(json_string_value(json_object_get(attr(json_object_get(s, "attributes"),
								   "process.exit.code"), "intValue")), "1");
	assert_null(json_object_get(s, "status"));
	assert_string_equal(json_string_value(json_object_get(attr(json_object_get(json_object_get(json_array_get(
		json_object_get(doc, "resourceSpans"), 0), "resource"), "attributes"), "service.name"), "stringValue")), "svc");
	json_decref(doc);
	container_config_free(&cfg);
	clear_env();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(encoding),
		cmocka_unit_test(encoding_strings),
		cmocka_unit_test(random_ids),
		cmocka_unit_test(resource_attributes),
		cmocka_unit_test(resource_from_env),
		cmocka_unit_test(endpoint_urls),
		cmocka_unit_test(endpoint_env),
		cmocka_unit_test(exporter_posts),
		cmocka_unit_test(exporter_dead_collector),
		cmocka_unit_test(exporter_silent_collector),
		cmocka_unit_test(run_spans),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
