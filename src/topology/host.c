/* The host side of validation: a declared subnet must not be in use on the
 * host already, except on the network's own bridge (a topology that is up).
 * `nucleus run` checks the same again under its lock (net_bridge_prepare);
 * this says it at `validate` and before `up` creates anything. */
#include <errno.h>
#include <ifaddrs.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "internal.h"

static unsigned prefix_of(const struct sockaddr *mask, int family)
{
	const uint8_t *b = family == 4 ? (const uint8_t *)&((const struct sockaddr_in *)mask)->sin_addr
				       : (const uint8_t *)&((const struct sockaddr_in6 *)mask)->sin6_addr;
	unsigned n = 0;

	for (unsigned i = 0; i < (family == 4 ? 4u : 16u); i++)
		n += (unsigned)__builtin_popcount(b[i]);
	return n;
}

/* The interface's address `a` (with its prefix) and subnet s share an
 * address: a is in s, or s is inside a's network. */
static bool meets(const struct cidr *a, const struct cidr *s)
{
	struct cidr host = *a, net = *a;

	host.prefix = a->family == 4 ? 32 : 128;
	for (unsigned b = a->prefix; b < host.prefix; b++)
		net.addr[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
	return cidr_contains(s, &host) || cidr_contains(&net, s);
}

int topology_check_host(const struct topology *t, struct nerr *err)
{
	struct ifaddrs *ifs, *i;
	int r = 0;

	if (getifaddrs(&ifs) < 0)
		return nerr_set(err, errno, "the host's addresses (getifaddrs)");
	for (i = ifs; i && r == 0; i = i->ifa_next) {
		int fam = !i->ifa_addr ? 0 : i->ifa_addr->sa_family == AF_INET ? 4 :
			  i->ifa_addr->sa_family == AF_INET6 ? 6 : 0;
		struct cidr a = { .family = fam };

		if (!fam || !i->ifa_netmask)
			continue;
		memcpy(a.addr, fam == 4 ? (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr
					: (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, fam == 4 ? 4 : 16);
		if (fam == 6 && a.addr[0] == 0xfe && (a.addr[1] & 0xc0) == 0x80)
			continue;   /* link-local: every interface has one */
		a.prefix = prefix_of(i->ifa_netmask, fam);
		for (size_t k = 0; k < t->nnetworks; k++) {
			const struct topo_network *n = &t->networks[k];
			const struct cidr *s = fam == 4 ? &n->subnet4 : &n->subnet6;
			char sa[64], ss[64];
			if (!s->family || !strcmp(i->ifa_name, n->bridge) || !meets(&a, s))
				continue;
			inet_ntop(fam == 4 ? AF_INET : AF_INET6, a.addr, sa, sizeof(sa));
			cidr_format(s, ss, sizeof(ss));
			r = nerr_set(err, 0, "%s:%d: %s: network `%s`'s subnet %s overlaps %s/%u on `%s`", t->file,
				     n->line, fam == 4 ? "subnet" : "subnet6", n->name, ss, sa, a.prefix, i->ifa_name);
			break;
		}
	}
	freeifaddrs(ifs);
	return r;
}
