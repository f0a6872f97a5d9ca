/* libFuzzer target for what the OpenTelemetry exporter reads from its
 * environment (src/telemetry): OTEL_RESOURCE_ATTRIBUTES
 * (otel_parse_resource_attributes) and an endpoint URL
 * (otel_endpoint_parse), both set by whoever starts nucleus.
 *
 * Input: the attributes' text, a NUL, the URL. Beyond "no crash, no leak":
 * a refusal is one line; accepted attributes encode into a request that
 * is valid JSON; an accepted URL has a host and a path starting with `/`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <nucleus/telemetry.h>

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_otel: %s\n", what);
		abort();
	}
}

static void refusal(const struct nerr *e)
{
	check(e->msg[0] != '\0', "a refusal without a message");
	check(!strchr(e->msg, '\n'), "a refusal of more than one line");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 2), *url;
	struct otel_attrs attrs = { 0 };
	struct otel_endpoint ep = { 0 };
	struct nerr e = { 0 };

	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = '\0';
	url = buf + strlen(buf) + 1;
	if (url > buf + size)
		url = buf + size;
	if (otel_parse_resource_attributes(buf, &attrs, &e) < 0) {
		refusal(&e);
	} else {
		char *json = otel_encode(&attrs, NULL, 0);
		json_t *o = json_loads(json, 0, NULL);

		check(o != NULL, "the encoded request is not JSON");
		json_decref(o);
		free(json);
	}
	otel_attrs_free(&attrs);
	memset(&e, 0, sizeof(e));
	if (otel_endpoint_parse(url, size & 1, &ep, &e) < 0) {
		refusal(&e);
	} else {
		check(ep.host && ep.host[0], "an endpoint without a host");
		check(ep.path && ep.path[0] == '/', "an endpoint whose path does not start with /");
	}
	otel_endpoint_free(&ep);
	free(buf);
	return 0;
}
