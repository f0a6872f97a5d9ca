/* CIDR prefixes for both families. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <nucleus/network.h>

int cidr_parse(const char *s, struct cidr *out, struct nerr *err)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t prefix;
	unsigned bits;

	memset(out, 0, sizeof(*out));
	if (alen == 0 || alen >= sizeof(addr))
		return nerr_set(err, 0, "invalid CIDR `%s`", s);
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, out->addr) == 1)
		out->family = 4;
	else if (inet_pton(AF_INET6, addr, out->addr) == 1)
		out->family = 6;
	else
		return nerr_set(err, 0, "invalid CIDR `%s`: `%s` is not an IPv4 or IPv6 address", s, addr);
	bits = out->family == 4 ? 32 : 128;
	if (slash) {
		if (parse_u64(slash + 1, 0, bits, &prefix) < 0)
			return nerr_set(err, 0, "invalid CIDR `%s`: prefix length must be 0-%u", s, bits);
		out->prefix = (unsigned)prefix;
	} else {
		out->prefix = bits;
	}
	/* clear host bits: 10.1.2.3/8 means 10.0.0.0/8 */
	for (unsigned i = out->prefix; i < bits; i++)
		out->addr[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	return 0;
}

void cidr_format(const struct cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, c->prefix);
}

bool cidr_contains(const struct cidr *net, const struct cidr *host)
{
	if (net->family != host->family || host->prefix < net->prefix)
		return false;
	for (unsigned i = 0; i < net->prefix; i++) {
		uint8_t m = (uint8_t)(0x80 >> (i % 8));
		if ((net->addr[i / 8] & m) != (host->addr[i / 8] & m))
			return false;
	}
	return true;
}
