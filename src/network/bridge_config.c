/* Bridge networking flags: -p, --subnet, --bridge, --add-host, --dns-search,
 * and the arithmetic of subnets. Nothing here touches the system. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "net_internal.h"

#define Q(s) str_printable((s), (char[96]){ 0 }, 96)

static const char *const default_dns[] = { "8.8.8.8", "8.8.4.4", NULL };

const char *const *net_bridge_default_dns(void)
{
	return default_dns;
}

bool valid_ifname(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '-' || *p == '.'))
			return false;
	return true;
}

void veth_host_name(const char *id, char out[IFNAMSIZ])
{
	size_t n = 0;

	strcpy(out, "nv");
	for (const char *p = id; *p && n < 12; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
			out[2 + n++] = *p;
	out[2 + n] = '\0';
}

void subnet_host(const struct cidr *subnet, uint32_t index, struct cidr *out)
{
	unsigned len = subnet->family == 4 ? 4 : 16;

	*out = *subnet;
	/* add index to the address, big-endian, from the last byte */
	for (int i = (int)len - 1; i >= 0 && index; i--) {
		unsigned v = out->addr[i] + (index & 0xff);
		out->addr[i] = (uint8_t)v;
		index = (index >> 8) + (v >> 8);
	}
}

uint32_t subnet_hosts(const struct cidr *s)
{
	unsigned bits = 32 - s->prefix;

	return bits >= 32 ? UINT32_MAX - 1 : (uint32_t)((1ull << bits) - 2);
}

bool cidr_overlap(const struct cidr *a, const struct cidr *b)
{
	struct cidr wide = a->prefix <= b->prefix ? *a : *b;
	const struct cidr *narrow = a->prefix <= b->prefix ? b : a;

	return a->family == b->family && cidr_contains(&wide, narrow);
}

/* ---- -p ---------------------------------------------------------------------------------- */

static int parse_range(const char *s, size_t len, uint16_t *first, uint16_t *count)
{
	char buf[16];
	const char *dash;
	uint64_t a, b;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	dash = strchr(buf, '-');
	if (dash) {
		buf[dash - buf] = '\0';
		if (parse_u64(buf, 1, 65535, &a) < 0 || parse_u64(dash + 1, 1, 65535, &b) < 0 || b < a)
			return -EINVAL;
	} else {
		if (parse_u64(buf, 1, 65535, &a) < 0)
			return -EINVAL;
		b = a;
	}
	*first = (uint16_t)a;
	*count = (uint16_t)(b - a + 1);
	return 0;
}

int port_spec_parse(const char *s, struct port_spec *out, struct nerr *err)
{
	const char *rest = s, *slash, *colon, *end;
	uint16_t hcount, ccount;
	char ip[INET6_ADDRSTRLEN + 1];

	memset(out, 0, sizeof(*out));
	out->proto = IPPROTO_TCP;
	slash = strchr(s, '/');
	end = slash ? slash : s + strlen(s);
	if (slash) {
		if (!strcmp(slash + 1, "tcp"))
			out->proto = IPPROTO_TCP;
		else if (!strcmp(slash + 1, "udp"))
			out->proto = IPPROTO_UDP;
		else
			return nerr_set(err, 0, "invalid port mapping `%s`: the protocol must be tcp or udp", Q(s));
	}
	if (*rest == '[') {
		const char *close = memchr(rest, ']', (size_t)(end - rest));
		size_t n = close ? (size_t)(close - rest - 1) : 0;

		if (!close || close[1] != ':' || n == 0 || n >= sizeof(ip))
			return nerr_set(err, 0, "invalid port mapping `%s`: expected [IPV6]:HOSTPORT:CONTPORT", Q(s));
		memcpy(ip, rest + 1, n);
		ip[n] = '\0';
		if (inet_pton(AF_INET6, ip, out->host_ip) != 1)
			return nerr_set(err, 0, "invalid port mapping `%s`: `%s` is not an IPv6 address", Q(s), Q(ip));
		if (IN6_IS_ADDR_LOOPBACK((struct in6_addr *)out->host_ip))
			return nerr_set(err, 0, "invalid port mapping `%s`: ::1 cannot be published to (the kernel does not "
					"route IPv6 loopback traffic to other interfaces); use 127.0.0.1", Q(s));
		if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)out->host_ip) ||
		    IN6_IS_ADDR_MULTICAST((struct in6_addr *)out->host_ip))
			return nerr_set(err, 0, "invalid port mapping `%s`: `%s` cannot be a host address", Q(s), Q(ip));
		out->host_family = 6;
		rest = close + 2;
	} else {
		int colons = 0;
		for (const char *p = rest; p < end; p++)
			colons += *p == ':';
		if (colons == 2) {
			size_t n = (size_t)(strchr(rest, ':') - rest);
			if (n == 0 || n >= sizeof(ip))
				return nerr_set(err, 0, "invalid port mapping `%s`: expected [HOSTIP:]HOSTPORT:CONTPORT[/tcp|/udp]",
						Q(s));
			memcpy(ip, rest, n);
			ip[n] = '\0';
			if (inet_pton(AF_INET, ip, out->host_ip) != 1)
				return nerr_set(err, 0, "invalid port mapping `%s`: `%s` is not an IPv4 address "
						"(write IPv6 ones in brackets: [2001:db8::1]:8080:80)", Q(s), Q(ip));
			if (out->host_ip[0] >= 224)
				return nerr_set(err, 0, "invalid port mapping `%s`: `%s` cannot be a host address", Q(s), Q(ip));
			out->host_family = 4;
			rest += n + 1;
		} else if (colons == 0) {
			return nerr_set(err, 0, "invalid port mapping `%s`: a host port is needed (HOSTPORT:CONTPORT)", Q(s));
		} else if (colons != 1) {
			return nerr_set(err, 0, "invalid port mapping `%s`: expected [HOSTIP:]HOSTPORT:CONTPORT[/tcp|/udp] "
					"(IPv6 host addresses in brackets)", Q(s));
		}
	}
	colon = memchr(rest, ':', (size_t)(end - rest));
	if (!colon || memchr(colon + 1, ':', (size_t)(end - colon - 1)))
		return nerr_set(err, 0, "invalid port mapping `%s`: expected [HOSTIP:]HOSTPORT:CONTPORT[/tcp|/udp]", Q(s));
	if (parse_range(rest, (size_t)(colon - rest), &out->host_port, &hcount) < 0)
		return nerr_set(err, 0, "invalid port mapping `%s`: the host port must be 1-65535 or a range like 8000-8010", Q(s));
	if (parse_range(colon + 1, (size_t)(end - colon - 1), &out->cont_port, &ccount) < 0)
		return nerr_set(err, 0, "invalid port mapping `%s`: the container port must be 1-65535 or a range like "
				"8000-8010", Q(s));
	if (hcount != ccount)
		return nerr_set(err, 0, "invalid port mapping `%s`: the host and container ranges differ in length", Q(s));
	if (hcount > NET_MAX_PORTS)
		return nerr_set(err, 0, "invalid port mapping `%s`: at most %d ports per container", Q(s), NET_MAX_PORTS);
	out->count = hcount;
	return 0;
}

static bool ip_is_any(const struct port_spec *p)
{
	static const uint8_t zero[16];

	return !memcmp(p->host_ip, zero, sizeof(zero));
}

void port_spec_format(const struct port_spec *p, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN + 3] = "", hp[16], cp[16];

	if (p->host_family == 4) {
		inet_ntop(AF_INET, p->host_ip, ip, sizeof(ip));
		strcat(ip, ":");
	} else if (p->host_family == 6) {
		ip[0] = '[';
		inet_ntop(AF_INET6, p->host_ip, ip + 1, sizeof(ip) - 3);
		strcat(ip, "]:");
	}
	if (p->count > 1) {
		snprintf(hp, sizeof(hp), "%u-%u", p->host_port, p->host_port + p->count - 1);
		snprintf(cp, sizeof(cp), "%u-%u", p->cont_port, p->cont_port + p->count - 1);
	} else {
		snprintf(hp, sizeof(hp), "%u", p->host_port);
		snprintf(cp, sizeof(cp), "%u", p->cont_port);
	}
	snprintf(buf, len, "%s%s:%s/%s", ip, hp, cp, p->proto == IPPROTO_UDP ? "udp" : "tcp");
}

bool port_spec_conflict(const struct port_spec *a, const struct port_spec *b)
{
	unsigned a_end = a->host_port + a->count, b_end = b->host_port + b->count;

	if (a->proto != b->proto || a->host_port >= b_end || b->host_port >= a_end)
		return false;
	if (!a->host_family || !b->host_family)
		return true;
	if (a->host_family != b->host_family)
		return false;
	return ip_is_any(a) || ip_is_any(b) || !memcmp(a->host_ip, b->host_ip, 16);
}

/* ---- the configuration --------------------------------------------------------------- */

void bridge_config_init(struct bridge_config *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->name, NET_BRIDGE_NAME);
	cidr_parse(NET_BRIDGE_SUBNET4, &c->subnet4, NULL);
	c->ipv6 = true;
}

void bridge_config_free(struct bridge_config *c)
{
	free(c->ports);
	c->ports = NULL;
	c->nports = 0;
}

int bridge_config_set_name(struct bridge_config *c, const char *name, struct nerr *err)
{
	if (!valid_ifname(name))
		return nerr_set(err, 0, "invalid bridge name `%s`: an interface name of 1-15 letters, digits, "
				"`_`, `-` or `.`", Q(name));
	strcpy(c->name, name);
	return 0;
}

static bool v4_in(const struct cidr *c, uint8_t a, uint8_t b, unsigned prefix)
{
	struct cidr net = { .family = 4, .addr = { a, b }, .prefix = prefix };

	return cidr_overlap(&net, c);
}

int bridge_config_add_subnet(struct bridge_config *c, const char *arg, struct nerr *err)
{
	struct cidr net;
	struct nerr e = { 0 };

	if (cidr_parse(arg, &net, &e) < 0 || !strchr(arg, '/'))
		return nerr_set(err, 0, "invalid subnet `%s`: expected a CIDR like 10.213.0.0/24 or fd00:1::/64", Q(arg));
	if (net.family == 4) {
		if (c->subnet4_set)
			return nerr_set(err, 0, "one IPv4 subnet per bridge (`%s` is the second)", Q(arg));
		if (net.prefix < 8 || net.prefix > 30)
			return nerr_set(err, 0, "invalid subnet `%s`: an IPv4 prefix of /8 to /30", Q(arg));
		if (v4_in(&net, 0, 0, 8) || v4_in(&net, 127, 0, 8) || v4_in(&net, 169, 254, 16) ||
		    v4_in(&net, 224, 0, 3))
			return nerr_set(err, 0, "invalid subnet `%s`: a reserved range (this-network, loopback, "
					"link-local, multicast or class E)", Q(arg));
		c->subnet4 = net;
		c->subnet4_set = true;
	} else {
		if (c->subnet6_set)
			return nerr_set(err, 0, "one IPv6 subnet per bridge (`%s` is the second)", Q(arg));
		if (net.prefix < 16 || net.prefix > 120)
			return nerr_set(err, 0, "invalid subnet `%s`: an IPv6 prefix of /16 to /120", Q(arg));
		if (net.addr[0] == 0xff || (net.addr[0] == 0xfe && (net.addr[1] & 0xc0) == 0x80) ||
		    (net.addr[0] == 0 && net.prefix <= 96))
			return nerr_set(err, 0, "invalid subnet `%s`: not a unicast range (multicast, link-local "
					"or the IPv4 compatibility space)", Q(arg));
		c->subnet6 = net;
		c->subnet6_set = true;
	}
	return 0;
}

int bridge_config_add_port(struct bridge_config *c, const char *spec, struct nerr *err)
{
	struct port_spec p;
	size_t total = 0;
	int r;

	if ((r = port_spec_parse(spec, &p, err)) < 0)
		return r;
	for (size_t i = 0; i < c->nports; i++)
		total += c->ports[i].count;
	if (total + p.count > NET_MAX_PORTS)
		return nerr_set(err, 0, "port mapping `%s`: at most %d published ports per container", Q(spec), NET_MAX_PORTS);
	c->ports = xrealloc(c->ports, (c->nports + 1) * sizeof(p));
	c->ports[c->nports++] = p;
	return 0;
}

/* fd00:6e75:636c::/64 ("nucl") for nucleus0; other bridges get the /64 whose
 * fourth group is a hash of the name, so two bridges rarely meet (and when
 * they do, prepare says so). */
static void derive_subnet6(const char *name, struct cidr *out)
{
	uint32_t h = 2166136261u;

	cidr_parse(NET_BRIDGE_SUBNET6, out, NULL);
	if (!strcmp(name, NET_BRIDGE_NAME))
		return;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	h = (h ^ (h >> 16)) & 0xffff;
	if (h == 0)
		h = 1;
	out->addr[6] = (uint8_t)(h >> 8);
	out->addr[7] = (uint8_t)h;
}

int bridge_config_validate(struct bridge_config *c, struct nerr *err)
{
	char a[64], b[64];

	if (!c->subnet6_set)
		derive_subnet6(c->name, &c->subnet6);
	if (c->ipv6 && 128 - c->subnet6.prefix < 32 - c->subnet4.prefix) {
		cidr_format(&c->subnet6, a, sizeof(a));
		cidr_format(&c->subnet4, b, sizeof(b));
		return nerr_set(err, 0, "the IPv6 subnet `%s` has fewer addresses than the IPv4 subnet `%s`", a, b);
	}
	for (size_t i = 0; i < c->nports; i++)
		for (size_t j = 0; j < i; j++)
			if (port_spec_conflict(&c->ports[i], &c->ports[j])) {
				port_spec_format(&c->ports[j], a, sizeof(a));
				port_spec_format(&c->ports[i], b, sizeof(b));
				return nerr_set(err, 0, "port mappings `%s` and `%s` publish the same host port", a, b);
			}
	return 0;
}

void bridge_config_gateway(const struct bridge_config *c, int family, char *buf, size_t len)
{
	struct cidr g, s6 = c->subnet6;

	if (family == 6 && !s6.family)
		derive_subnet6(c->name, &s6);
	subnet_host(family == 6 ? &s6 : &c->subnet4, 1, &g);
	inet_ntop(family == 6 ? AF_INET6 : AF_INET, g.addr, buf, (socklen_t)len);
}

/* ---- --add-host, --dns-search ----------------------------------------------------------- */

static bool valid_hostname(const char *s, size_t n)
{
	if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-' || s[i] == '.' || s[i] == '_'))
			return false;
	return true;
}

int add_host_parse(const char *arg, const char *gateway, char **line, struct nerr *err)
{
	const char *sep = strchr(arg, '=');
	char ip[INET6_ADDRSTRLEN + 2];
	uint8_t bin[16];
	const char *v;
	size_t n;

	*line = NULL;
	if (!sep)
		sep = strchr(arg, ':');
	if (!sep || !valid_hostname(arg, (size_t)(sep - arg)))
		return nerr_set(err, 0, "invalid host entry `%s`: expected NAME:IP with a host name of letters, "
				"digits, `-`, `_` and `.`", Q(arg));
	v = sep + 1;
	n = strlen(v);
	if (n >= 2 && v[0] == '[' && v[n - 1] == ']') {
		v++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(ip))
		return nerr_set(err, 0, "invalid host entry `%s`: expected NAME:IP", Q(arg));
	memcpy(ip, v, n);
	ip[n] = '\0';
	if (!strcmp(ip, "host-gateway")) {
		if (!gateway)
			return nerr_set(err, 0, "host entry `%s`: host-gateway needs a bridge network", Q(arg));
		snprintf(ip, sizeof(ip), "%s", gateway);
	} else if (inet_pton(AF_INET, ip, bin) != 1 && inet_pton(AF_INET6, ip, bin) != 1) {
		return nerr_set(err, 0, "invalid host entry `%s`: `%s` is not an IP address", Q(arg), Q(ip));
	}
	*line = xasprintf("%s\t%.*s", ip, (int)(sep - arg), arg);
	return 0;
}

int dns_search_check(const char *d, struct nerr *err)
{
	size_t n = strlen(d), label = 0;

	if (n == 0 || n > 253 || d[0] == '.' || d[0] == '-')
		goto bad;
	for (size_t i = 0; i < n; i++) {
		char ch = d[i];
		if (ch == '.') {
			if (label == 0)
				goto bad;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '_') || ++label > 63)
			goto bad;
	}
	return 0;
bad:
	return nerr_set(err, 0, "invalid search domain `%s`: expected a domain name", Q(d));
}
