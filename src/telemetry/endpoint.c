/* Where spans go: the OTLP exporter's endpoint variables, and an http://
 * URL made into an address without DNS (a lookup could block the
 * supervisor for as long as the resolver likes). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <nucleus/telemetry.h>

void otel_endpoint_free(struct otel_endpoint *ep)
{
	free(ep->url);
	free(ep->host);
	free(ep->path);
	memset(ep, 0, sizeof(*ep));
}

int otel_endpoint_parse(const char *url, bool base, struct otel_endpoint *ep, struct nerr *err)
{
	const char *p, *host_end, *path;
	_cleanup_free_ char *host = NULL;
	uint64_t port = 80;

	memset(ep, 0, sizeof(*ep));
	if (!strncasecmp(url, "https://", 8))
		return nerr_set(err, 0, "`%s`: https is not supported (nucleus has no TLS library); "
				"use http:// (a local collector)", url);
	if (strncasecmp(url, "http://", 7))
		return nerr_set(err, 0, "`%s`: not an http:// URL", url);
	p = url + 7;
	path = p + strcspn(p, "/?#");
	if (*p == '[') {
		host_end = memchr(p, ']', (size_t)(path - p));
		if (!host_end)
			return nerr_set(err, 0, "`%s`: no `]` after an IPv6 address", url);
		host = strndup(p + 1, (size_t)(host_end - p - 1));
		host_end++;
	} else {
		host_end = memchr(p, ':', (size_t)(path - p));
		if (!host_end)
			host_end = path;
		host = strndup(p, (size_t)(host_end - p));
	}
	if (!host)
		abort();
	if (memchr(p, '@', (size_t)(path - p)))
		return nerr_set(err, 0, "`%s`: credentials in the URL are not supported", url);
	if (host_end < path) {
		_cleanup_free_ char *ps = NULL;

		if (*host_end != ':' || !(ps = strndup(host_end + 1, (size_t)(path - host_end - 1))) ||
		    parse_u64(ps, 1, 65535, &port) < 0)
			return nerr_set(err, 0, "`%s`: a bad port", url);
	}
	if (!*host)
		return nerr_set(err, 0, "`%s`: no host", url);

	struct sockaddr_in *in4 = (struct sockaddr_in *)&ep->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ep->addr;
	const char *numeric = !strcasecmp(host, "localhost") ? "127.0.0.1" : host;

	if (inet_pton(AF_INET, numeric, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		ep->addrlen = sizeof(*in4);
	} else if (inet_pton(AF_INET6, numeric, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		ep->addrlen = sizeof(*in6);
	} else {
		return nerr_set(err, 0, "`%s`: the host must be an IP address or localhost "
				"(names are not resolved: a DNS lookup could block the supervisor)", url);
	}
	if (*path == '#')
		path = "";
	ep->host = strndup(p, (size_t)(path - p));
	if (base) {
		/* the specification's rule: the signal's path goes under the base's */
		size_t n = strcspn(path, "?#");

		while (n && path[n - 1] == '/')
			n--;
		ep->path = xasprintf("%.*s/v1/traces", (int)n, path);
	} else {
		ep->path = xasprintf("%s%.*s", *path == '/' ? "" : "/", (int)strcspn(path, "#"), path);
	}
	ep->url = xasprintf("http://%s%s", ep->host, ep->path);
	return 0;
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int otel_endpoint_from_env(struct otel_endpoint *ep, struct nerr *err)
{
	static const struct {
		const char *name;
		bool base;
	} vars[] = {
		{ "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", false },
		{ "OTEL_EXPORTER_OTLP_ENDPOINT", true },
		{ "NUCLEUS_OTLP_ENDPOINT", true },
	};
	const char *v;
	int rc;

	memset(ep, 0, sizeof(*ep));
	if ((v = env_nonempty("OTEL_SDK_DISABLED")) && !strcasecmp(v, "true"))
		return 0;
	if ((v = env_nonempty("OTEL_TRACES_EXPORTER")) && !strcasecmp(v, "none"))
		return 0;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if (!(v = env_nonempty(vars[i].name)))
			continue;
		if ((rc = otel_endpoint_parse(v, vars[i].base, ep, err)) < 0)
			return nerr_prefix(err, "%s", vars[i].name);
		return 1;
	}
	return 0;
}

unsigned otel_schedule_delay_ms(void)
{
	const char *v = env_nonempty("OTEL_BSP_SCHEDULE_DELAY");
	uint64_t ms;

	if (!v)
		return 5000;
	if (parse_u64(v, 0, 3600 * 1000, &ms) < 0) {
		log_warn("OTEL_BSP_SCHEDULE_DELAY `%s` is not a number of milliseconds: 5000 used", v);
		return 5000;
	}
	return (unsigned)ms;
}
