/* --network bridge: check and allocate before clone (prepare), wire the
 * child's network namespace to the bridge after clone (attach), undo it all
 * when the container ends (detach) or after a crash (gc). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "net_internal.h"
#include <linux/netlink.h>

struct net_lease_priv {
	char *owner;              /* <state_dir>/<id>/lock */
	char *nsdir;              /* NET_LEASE_DIR/ns-<inode> */
	char lease_name[INET_ADDRSTRLEN];
	struct cidr subnet4, subnet6;
	struct port_spec *ports;
	size_t nports;
	int *port_fds;            /* host ports held while the container runs */
	size_t nport_fds;
	struct nl_link bridge;    /* from prepare; index 0: not there yet */
	bool bridge_ready;        /* exists, up, addressed, route_localnet */
	bool ports_published;
	bool attached;            /* a veth was made */
	struct nft *nft;          /* opened by attach for ports, reused by detach */
	struct nl host;           /* rtnetlink in the host namespace, prepare to attach */
};

static bool ipv6_available(void)
{
	_cleanup_free_ char *v = NULL;

	return read_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", 16, &v, NULL) == 0 && v[0] == '0';
}

static uint32_t v4_value(const uint8_t *a)
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

/* The index of a lease file's address in the subnet; 0 when outside it. */
static uint32_t lease_index(const char *name, const struct cidr *s4)
{
	struct cidr a = { .family = 4, .prefix = 32 };

	if (inet_pton(AF_INET, name, a.addr) != 1 || !cidr_contains(s4, &a))
		return 0;
	return v4_value(a.addr) - v4_value(s4->addr);
}

static void short_id(const char *id, char out[13])
{
	snprintf(out, 13, "%s", id);
}

/* ---- the nftables marker: <nsdir>/<bridge>/nat = "<table handle> <subnet4> <subnet6>" ---- */

static char *marker_text(uint64_t handle, const struct cidr *s4, const struct cidr *s6)
{
	char a[64], b[64] = "-";

	cidr_format(s4, a, sizeof(a));
	if (s6 && s6->family)
		cidr_format(s6, b, sizeof(b));
	return xasprintf("%llu %s %s\n", (unsigned long long)handle, a, b);
}

static int marker_parse(const char *text, uint64_t *handle, struct cidr *s4, struct cidr *s6)
{
	unsigned long long h;
	char a[64], b[64];

	if (sscanf(text, "%llu %63s %63s", &h, a, b) != 3 || cidr_parse(a, s4, NULL) < 0)
		return -EINVAL;
	memset(s6, 0, sizeof(*s6));
	if (strcmp(b, "-") && cidr_parse(b, s6, NULL) < 0)
		return -EINVAL;
	*handle = h;
	return 0;
}

/* The bridge's elements in table inet nucleus are in place when the marker
 * names the table as it is now. Otherwise (first container on this bridge,
 * the table was flushed, the bridge came back with other subnets) add them,
 * dropping those of the old subnets. */
static int ensure_bridge_nat(struct net_lease *l, struct nft **nft, struct nerr *err)
{
	struct net_lease_priv *p = l->priv;
	_cleanup_free_ char *path = xasprintf("%s/%s/nat", p->nsdir, l->bridge);
	_cleanup_free_ char *old = NULL, *now = NULL;
	uint64_t handle = 0, old_handle;
	struct cidr o4, o6;
	int probe, r;

	probe = nl_nft_table_handle(&handle);
	now = marker_text(handle, &p->subnet4, &p->subnet6);
	if (read_file(path, 512, &old, NULL) == 0 && probe == 0 && !strcmp(old, now))
		return 0;
	if (!*nft && (r = nft_open(nft, err)) < 0)
		return r;
	if (old && probe == 0 && marker_parse(old, &old_handle, &o4, &o6) == 0 && old_handle == handle)
		nat_bridge_del(*nft, l->bridge, &o4, &o6);
	if ((r = nat_bridge_add(*nft, l->bridge, &p->subnet4, &p->subnet6, probe == -ENOENT, err)) < 0)
		return r;
	{
		/* bridges whose elements an older build added have no pair yet:
		 * without one, what a bridge forwards to itself (br_netfilter)
		 * would be dropped as if it went to another */
		struct ipam ip = { .nsdir = p->nsdir };
		_cleanup_strv_ char **bridges = ipam_bridges(&ip);

		nat_bridge_pairs_add(*nft, bridges);
	}
	if (nl_nft_table_handle(&handle) == 0) {
		free(now);
		now = marker_text(handle, &p->subnet4, &p->subnet6);
		write_file_atomic(path, now, strlen(now), 0600);
	}
	return 0;
}

/* ---- garbage: leases of dead containers, rules of vanished bridges ------------------------ */

/* Nobody's (cut short), its owner's lock free, or its supervisor killed
 * and on its way out: the kill then the next run come faster than the
 * kernel closes a dying process's files. */
static bool lease_dead(const struct lease_rec *r)
{
	return !r->id[0] || !lease_owner_alive(r->owner) || (r->pid && !proc_running(r->pid, r->pid_start));
}

/* Veth host end of a tombstone's container still there? (No RTNL: an ioctl.) */
static bool veth_lingers(const char *id)
{
	char veth[IFNAMSIZ];

	if (!id[0])
		return false;
	veth_host_name(id, veth);
	return if_nametoindex(veth) != 0;
}

static void collect_bridge(struct ipam *ip, const char *bridge, struct nft **nft)
{
	struct lease_rec *recs = NULL, *tombs = NULL;
	size_t n = 0, nt = 0, left = 0;
	struct nerr e = { 0 };

	if (ipam_list(ip, bridge, &recs, &n, &e) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (!lease_dead(&recs[i])) {
			left++;
			continue;
		}
		log_debug("network: collecting lease %s of %s on %s", recs[i].name,
			  recs[i].id[0] ? recs[i].id : "(nobody)", bridge);
		if (recs[i].nports && (*nft || nft_open(nft, &e) == 0))
			nat_ports_del(*nft, recs[i].ports, recs[i].nports, true);
		/* its veth goes with its network namespace (its processes are
		 * killed by whoever collects the container) */
		ipam_release(ip, bridge, recs[i].name);
	}
	lease_recs_free(recs, n);
	if (ipam_tombstones(ip, bridge, &tombs, &nt, &e) < 0)
		return;
	for (size_t i = 0; i < nt; i++)
		if (!veth_lingers(tombs[i].id))
			ipam_bury(ip, bridge, tombs[i].name);
	if (left == 0 && if_nametoindex(bridge) == 0) {
		/* the bridge is gone: so are its rules, and its directory */
		_cleanup_free_ char *marker = ipam_path(ip, bridge, "nat");
		_cleanup_free_ char *dir = ipam_path(ip, bridge, NULL);
		_cleanup_free_ char *text = NULL;
		uint64_t handle, now;
		struct cidr s4, s6;

		if (read_file(marker, 512, &text, NULL) == 0 && marker_parse(text, &handle, &s4, &s6) == 0 &&
		    nl_nft_table_handle(&now) == 0 && now == handle && (*nft || nft_open(nft, &e) == 0))
			nat_bridge_del(*nft, bridge, &s4, &s6);
		for (size_t i = 0; i < nt; i++)
			ipam_bury(ip, bridge, tombs[i].name);
		unlink(marker);
		rmdir(dir);
	}
	lease_recs_free(tombs, nt);
}

static void collect_locked(struct ipam *ip, struct nft **nft)
{
	_cleanup_strv_ char **bridges = ipam_bridges(ip);

	for (size_t i = 0; bridges[i]; i++)
		collect_bridge(ip, bridges[i], nft);
	if (ipam_count(ip) == 0)
		forward_release(ip->nsdir);
}

void net_bridge_gc(const char *state_dir)
{
	_cleanup_free_ char *nsdir = NULL, *old = NULL;
	struct ipam ip;
	struct nft *nft = NULL;
	struct nerr e = { 0 };
	struct stat st;

	/* nothing of this network namespace: no lock, nothing to do (every
	 * `nucleus run` comes here) */
	if (stat("/proc/self/ns/net", &st) < 0)
		return;
	if (!state_dir)
		state_dir = "/run/nucleus";
	nsdir = xasprintf("%s/ns-%llu", NET_LEASE_DIR, (unsigned long long)st.st_ino);
	old = xasprintf("%s/.net/ns-%llu", state_dir, (unsigned long long)st.st_ino);
	if ((access(nsdir, F_OK) < 0 && access(old, F_OK) < 0) || ipam_open(&ip, NULL, &e) < 0)
		return;
	ipam_adopt(&ip, state_dir);
	collect_locked(&ip, &nft);
	rmdir(ip.nsdir);           /* when nothing is left in it */
	ipam_close(&ip);
	nft_close(nft);
}

/* ---- prepare: everything that can fail on bad input, before clone --------------------------- */

/* The bridge (if it exists) must carry our gateway; no other interface may
 * have an address in our subnets. */
static int check_host(struct bridge_config *c, struct net_lease_priv *p, struct nerr *err)
{
	struct nl nl;
	struct nl_addr *addrs = NULL;
	size_t n = 0;
	struct cidr gw4, gw6;
	bool has4 = false, has6 = false;
	char a[64], b[64], ifname[IF_NAMESIZE];
	int r;

	if ((r = nl_open(&nl, -1, err)) < 0)
		return r;
	r = nl_link_get(&nl, c->name, &p->bridge, err);
	if (r == -ENODEV) {
		memset(&p->bridge, 0, sizeof(p->bridge));
		nerr_clear(err);
	} else if (r < 0) {
		goto out;
	} else if (!p->bridge.bridge) {
		r = nerr_set(err, 0, "bridge `%s`: an interface of that name exists and is not a bridge", c->name);
		goto out;
	}
	if ((r = nl_addr_dump(&nl, &addrs, &n, err)) < 0)
		goto out;
	subnet_host(&c->subnet4, 1, &gw4);
	subnet_host(&c->subnet6, 1, &gw6);
	for (size_t i = 0; i < n; i++) {
		struct cidr x = { .family = addrs[i].family, .prefix = addrs[i].prefix };
		const struct cidr *mine = x.family == 4 ? &c->subnet4 : &c->subnet6;

		memcpy(x.addr, addrs[i].addr, 16);
		if (x.family == 6 && (!c->ipv6 || (x.addr[0] == 0xfe && (x.addr[1] & 0xc0) == 0x80)))
			continue;     /* link-local addresses are every interface's */
		if (p->bridge.index && addrs[i].index == p->bridge.index) {
			const struct cidr *gw = x.family == 4 ? &gw4 : &gw6;
			if (x.prefix == gw->prefix && !memcmp(x.addr, gw->addr, 16)) {
				*(x.family == 4 ? &has4 : &has6) = true;
				continue;
			}
			cidr_format(&x, a, sizeof(a));
			cidr_format(mine, b, sizeof(b));
			r = nerr_set(err, 0, "bridge `%s` exists with address %s, which is not the gateway of "
				     "subnet %s", c->name, a, b);
			goto out;
		}
		if (cidr_overlap(mine, &x)) {
			cidr_format(&x, a, sizeof(a));
			cidr_format(mine, b, sizeof(b));
			if (!if_indextoname((unsigned)addrs[i].index, ifname))
				snprintf(ifname, sizeof(ifname), "#%d", addrs[i].index);
			r = nerr_set(err, 0, "subnet %s overlaps %s on `%s`", b, a, ifname);
			goto out;
		}
	}
	if (p->bridge.index && p->bridge.up && has4 && (has6 || !c->ipv6)) {
		_cleanup_free_ char *rl = NULL;
		_cleanup_free_ char *path = xasprintf("/proc/sys/net/ipv4/conf/%s/route_localnet", c->name);
		p->bridge_ready = read_file(path, 16, &rl, NULL) == 0 && rl[0] == '1';
	}
	r = 0;
out:
	free(addrs);
	if (r == 0)
		p->host = nl;         /* attach goes on with it */
	else
		nl_close(&nl);
	return r;
}

static int reserve_one(struct net_lease_priv *p, const struct port_spec *s, int family, uint16_t port,
		       struct nerr *err)
{
	static const uint8_t zero[16];
	const uint8_t *ip = s->host_family == family ? s->host_ip : zero;
	bool tcp = s->proto == IPPROTO_TCP;
	char spec[80], addr[INET6_ADDRSTRLEN];
	int fd, one = 1, r = 0;

	fd = socket(family == 4 ? AF_INET : AF_INET6, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return nerr_set(err, errno, "reserve host port %u", port);
	if (family == 6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* TCP: TIME_WAIT leftovers are no conflict, a listener is; listening
	 * ourselves keeps later host programs off the port, as docker-proxy does */
	if (tcp)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == 4) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
		memcpy(&sa.sin_addr, ip, 4);
		r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	} else {
		struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
		memcpy(&sa.sin6_addr, ip, 16);
		r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	if (r == 0 && tcp)
		r = listen(fd, 0);
	if (r < 0) {
		int e = errno;
		close(fd);
		port_spec_format(s, spec, sizeof(spec));
		inet_ntop(family == 4 ? AF_INET : AF_INET6, ip, addr, sizeof(addr));
		if (e == EADDRINUSE)
			return nerr_set(err, 0, "port mapping %s: host port %u/%s is in use on the host", spec, port,
					tcp ? "tcp" : "udp");
		if (e == EADDRNOTAVAIL)
			return nerr_set(err, 0, "port mapping %s: %s is not an address of this host", spec, addr);
		return nerr_set(err, e, "port mapping %s: reserve host port %u", spec, port);
	}
	p->port_fds = xrealloc(p->port_fds, (p->nport_fds + 1) * sizeof(int));
	p->port_fds[p->nport_fds++] = fd;
	return 0;
}

static int reserve_ports(struct bridge_config *c, struct net_lease_priv *p, struct nerr *err)
{
	for (size_t i = 0; i < c->nports; i++) {
		const struct port_spec *s = &c->ports[i];

		if (s->host_family == 6 && !c->ipv6)
			return nerr_set(err, 0, "a port mapping with an IPv6 host address, but the container has "
					"no IPv6 (the host has IPv6 disabled)");
		for (unsigned k = 0; k < s->count; k++) {
			uint16_t port = (uint16_t)(s->host_port + k);
			int r;

			if (s->host_family != 6 && (r = reserve_one(p, s, 4, port, err)) < 0)
				return r;
			if (s->host_family != 4 && c->ipv6 && (r = reserve_one(p, s, 6, port, err)) < 0)
				return r;
		}
	}
	return 0;
}

static void priv_free(struct net_lease_priv *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nport_fds; i++)
		close(p->port_fds[i]);
	free(p->port_fds);
	free(p->ports);
	free(p->owner);
	free(p->nsdir);
	nft_close(p->nft);
	nl_close(&p->host);
	free(p);
}

/* Under the lock: the bridge's leases are ours to read; pick an address,
 * check every other lease of this namespace for our host ports. */
static int allocate(struct bridge_config *c, const char *id, struct ipam *ip, struct net_lease *l,
		    struct nerr *err)
{
	struct net_lease_priv *p = l->priv;
	_cleanup_strv_ char **bridges = ipam_bridges(ip);
	struct lease_rec *recs = NULL;
	size_t n = 0;
	uint32_t index;
	char a[64], b[64], sid[13];
	_cleanup_free_ char *text = NULL;
	int r;

	for (size_t bi = 0; bridges[bi]; bi++) {
		struct lease_rec *o = NULL;
		size_t on = 0;

		if (ipam_list(ip, bridges[bi], &o, &on, err) < 0)
			continue;
		for (size_t i = 0; i < on; i++)
			for (size_t k = 0; k < o[i].nports; k++)
				for (size_t m = 0; m < c->nports; m++) {
					if (!port_spec_conflict(&o[i].ports[k], &c->ports[m]))
						continue;
					port_spec_format(&c->ports[m], a, sizeof(a));
					short_id(o[i].id, sid);
					lease_recs_free(o, on);
					return nerr_set(err, 0, "port mapping %s: the host port is already published by container %s",
							a, sid);
				}
		lease_recs_free(o, on);
	}
	/* two bridges with overlapping subnets, neither created yet (two
	 * topologies brought up at once): the host's addresses cannot tell */
	for (size_t bi = 0; bridges[bi]; bi++) {
		struct lease_rec *o = NULL;
		size_t on = 0;

		if (!strcmp(bridges[bi], c->name) || ipam_list(ip, bridges[bi], &o, &on, err) < 0)
			continue;
		for (size_t i = 0; i < on; i++) {
			if (!o[i].subnet4.family || !cidr_overlap(&o[i].subnet4, &c->subnet4))
				continue;
			cidr_format(&c->subnet4, a, sizeof(a));
			cidr_format(&o[i].subnet4, b, sizeof(b));
			r = nerr_set(err, 0, "subnet %s overlaps %s of bridge `%s`", a, b, bridges[bi]);
			lease_recs_free(o, on);
			return r;
		}
		lease_recs_free(o, on);
	}
	if ((r = ipam_list(ip, c->name, &recs, &n, err)) < 0)
		return r;
	{
		/* addresses whose veth lingers are not handed out yet */
		struct lease_rec *t = NULL;
		size_t nt = 0;

		ipam_tombstones(ip, c->name, &t, &nt, err);
		for (size_t i = 0; i < nt; i++) {
			uint32_t idx = lease_index(t[i].name, &c->subnet4);
			if (!idx)
				continue;
			recs = xrealloc(recs, (n + 1) * sizeof(*recs));
			memset(&recs[n], 0, sizeof(*recs));
			recs[n].index = idx;
			snprintf(recs[n].name, sizeof(recs[n].name), "%s", t[i].name);
			n++;
		}
		lease_recs_free(t, nt);
	}
	for (size_t i = 0; i < n; i++) {
		if (!recs[i].index)
			recs[i].index = lease_index(recs[i].name, &c->subnet4);
		if (!recs[i].index) {
			cidr_format(&c->subnet4, b, sizeof(b));
			short_id(recs[i].id, sid);
			lease_recs_free(recs, n);
			return nerr_set(err, 0, "bridge `%s` is in use with another subnet than %s (container %s has "
					"address %s)", c->name, b, sid, recs[i].name);
		}
	}
	r = ipam_pick(recs, n, subnet_hosts(&c->subnet4), &index);
	lease_recs_free(recs, n);
	if (r < 0) {
		cidr_format(&c->subnet4, b, sizeof(b));
		return nerr_set(err, 0, "bridge `%s`: no free address left in %s", c->name, b);
	}
	subnet_host(&c->subnet4, index, &l->addr4);
	subnet_host(&c->subnet4, 1, &l->gateway4);
	if (c->ipv6) {
		subnet_host(&c->subnet6, index, &l->addr6);
		subnet_host(&c->subnet6, 1, &l->gateway6);
	}
	inet_ntop(AF_INET, l->addr4.addr, p->lease_name, sizeof(p->lease_name));
	if ((r = reserve_ports(c, p, err)) < 0)
		return r;
	text = lease_format(id, p->owner, getpid(), &l->addr4, &l->addr6, c->ports, c->nports);
	return ipam_write(ip, c->name, p->lease_name, text, err);
}

int net_bridge_prepare(struct bridge_config *c, const char *id, struct net_lease **out, struct nerr *err)
{
	struct net_lease *l;
	struct net_lease_priv *p;
	struct ipam ip;
	struct nft *nft = NULL;
	int r;

	*out = NULL;
	if (geteuid() != 0)
		return nerr_set(err, 0, "needs root (rootless containers have no network but loopback)");
	if (!id[0] || strlen(id) >= sizeof(l->id) || strchr(id, '\n'))
		return nerr_set(err, 0, "network: bad container id");
	if (c->ipv6 && !ipv6_available()) {
		if (c->subnet6_set)
			return nerr_set(err, 0, "an IPv6 subnet, but IPv6 is disabled on this host");
		c->ipv6 = false;
	}
	if ((r = bridge_config_validate(c, err)) < 0)
		return r;
	l = xcalloc(1, sizeof(*l));
	p = l->priv = xcalloc(1, sizeof(*p));
	snprintf(l->id, sizeof(l->id), "%s", id);
	snprintf(l->bridge, sizeof(l->bridge), "%s", c->name);
	veth_host_name(id, l->host_ifname);
	p->subnet4 = c->subnet4;
	if (c->ipv6)
		p->subnet6 = c->subnet6;
	/* the lease names it on a line of its own */
	p->owner = xasprintf("%s/%s/lock", c->state_dir ? c->state_dir : "/run/nucleus", id);
	if (p->owner[0] != '/' || strchr(p->owner, '\n')) {
		r = nerr_set(err, 0, "network: the runtime directory `%s` is not an absolute path on one line",
			     c->state_dir);
		goto fail;
	}
	if (c->nports) {
		p->ports = xcalloc(c->nports, sizeof(*p->ports));
		memcpy(p->ports, c->ports, c->nports * sizeof(*p->ports));
		p->nports = c->nports;
	}
	if ((r = check_host(c, p, err)) < 0)
		goto fail;
	if ((r = ipam_open(&ip, NULL, err)) < 0)
		goto fail;
	p->nsdir = xstrdup(ip.nsdir);
	ipam_adopt(&ip, c->state_dir ? c->state_dir : "/run/nucleus");
	collect_locked(&ip, &nft);
	nft_close(nft);
	r = allocate(c, id, &ip, l, err);
	ipam_close(&ip);
	if (r < 0)
		goto fail;
	*out = l;
	return 0;
fail:
	priv_free(p);
	free(l);
	return r;
}

/* ---- attach: after clone, the child waits for us before it execs ---------------------------- */

/* In the container's network namespace: a netlink socket to configure it
 * with, and the sysctls docker users expect there: ports below 1024 and
 * ping for a workload without capabilities (it is its own namespace). */
static int inside_netns(void *arg)
{
	int *fd = arg;

	*fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (*fd < 0)
		return -errno;
	write_str("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0");
	write_str("/proc/sys/net/ipv4/ping_group_range", "0 2147483647");
	/* eth0 (still down) answers for its addresses from the start */
	write_str("/proc/sys/net/ipv6/conf/eth0/accept_dad", "0");
	return 0;
}

int net_bridge_attach(const struct bridge_config *c, struct net_lease *l, pid_t child_pid, struct nerr *err)
{
	struct net_lease_priv *p = l->priv;
	char path[64];
	_cleanup_close_ int netns = -1;
	struct nl *host = &p->host, inside = { 0 };
	struct ipam ip;
	bool v6 = l->addr6.family != 0;
	uint8_t mac[6];
	_cleanup_free_ char *fwd = NULL;
	int r, fd = -1;

	(void)c;
	log_debug("network: attach");
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)child_pid);
	netns = open(path, O_RDONLY | O_CLOEXEC);
	if (netns < 0)
		return nerr_set(err, errno, "open `%s`", path);
	if (!host->sk && (r = nl_open(host, -1, err)) < 0)
		return nerr_prefix(err, "network");
	if (!p->bridge_ready) {
		_cleanup_free_ char *rl = xasprintf("/proc/sys/net/ipv4/conf/%s/route_localnet", l->bridge);

		if ((r = nl_bridge_ensure(host, l->bridge, &l->gateway4, v6 ? &l->gateway6 : NULL, p->bridge.index == 0,
					  &p->bridge, err)) < 0)
			goto out;
		/* 127.0.0.1:PORT reaches published ports (see the guard chain) */
		if ((r = write_str(rl, "1")) < 0) {
			r = nerr_set(err, -r, "write %s", rl);
			goto out;
		}
		/* The host solicits a container's address for forwarded traffic
		 * (NAT, published ports) from the bridge's link-local address,
		 * and sends nothing while that is tentative: without this, the
		 * first IPv6 connection through a new bridge stalled for the
		 * ~1 s of duplicate address detection that starts when its first
		 * port comes up. Nothing else owns addresses on the bridge. */
		if (v6) {
			_cleanup_free_ char *dad = xasprintf("/proc/sys/net/ipv6/conf/%s/accept_dad", l->bridge);

			if ((r = write_str(dad, "0")) < 0) {
				r = nerr_set(err, -r, "write %s", dad);
				goto out;
			}
		}
	}
	l->mtu = p->bridge.mtu;
	log_debug("network: bridge %s ready", l->bridge);
	if ((r = ensure_bridge_nat(l, &p->nft, err)) < 0)
		goto out;
	log_debug("network: nat ready");
	/* the container's MAC follows from its address, so neighbour caches
	 * stay right when an address is handed out again */
	mac[0] = 0x02;
	mac[1] = 0x6e;
	memcpy(mac + 2, l->addr4.addr, 4);
	/* a restarted workload's: the last one's veth goes with its network
	 * namespace, which the kernel tears down in the background */
	for (int i = 0; p->attached && veth_lingers(l->id) && i < 500; i++)
		usleep(10000);
	if ((r = nl_veth_add(host, l->host_ifname, p->bridge.index, p->bridge.mtu, "eth0", mac, netns, err)) < 0) {
		nerr_prefix(err, "veth `%s`", l->host_ifname);
		goto out;
	}
	p->attached = true;
	log_debug("network: veth %s created", l->host_ifname);
	if ((r = nl_netns_run(netns, inside_netns, &fd, err)) < 0) {
		if (!err->code)
			nerr_set(err, -r, "netlink socket in the container's network namespace");
		goto out;
	}
	if ((r = nl_open(&inside, fd, err)) < 0 ||
	    (r = nl_container_setup(&inside, "eth0", &l->addr4, &l->gateway4, v6 ? &l->addr6 : NULL,
				    v6 ? &l->gateway6 : NULL, err)) < 0)
		goto out;
	log_debug("network: container side configured");
	if (p->nports && !p->ports_published) {
		if (!p->nft && (r = nft_open(&p->nft, err)) < 0)
			goto out;
		if ((r = nat_ports_add(p->nft, l->id, p->ports, p->nports, &l->addr4, &l->addr6, err)) < 0)
			goto out;
		p->ports_published = true;
		log_debug("network: ports published");
	}
	if (!p->nports) {
		/* only the ports need it again, at detach */
		nft_close(p->nft);
		p->nft = NULL;
	}
	/* forwarding: once on, it stays while a lease exists (ours does) */
	fwd = xasprintf("%s/forwarding", p->nsdir);
	if (access(fwd, F_OK) < 0) {
		if ((r = ipam_open(&ip, NULL, err)) < 0)
			goto out;
		r = forward_acquire(ip.nsdir, v6, err);
		ipam_close(&ip);
	}
out:
	nl_close(&inside);
	nl_close(host);           /* done with it */
	if (r < 0)
		nerr_prefix(err, "network");
	return r;
}

/* ---- detach ---------------------------------------------------------------------------------- */

void net_bridge_detach(struct net_lease *l)
{
	struct net_lease_priv *p;
	struct nerr e = { 0 };
	struct ipam ip;

	if (!l)
		return;
	p = l->priv;
	if (p->ports_published && (p->nft || nft_open(&p->nft, &e) == 0))
		nat_ports_del(p->nft, p->ports, p->nports, l->addr6.family != 0);
	/* Nothing here waits on the kernel's RTNL: the container's network
	 * namespace is being torn down under it right now, its veth pair with
	 * it. The address is kept back (a tombstone) until that veth is gone. */
	if (ipam_open(&ip, NULL, &e) == 0) {
		if (p->attached)
			ipam_release(&ip, l->bridge, p->lease_name);
		else
			ipam_remove(&ip, l->bridge, p->lease_name);
		if (ipam_count(&ip) == 0)
			forward_release(ip.nsdir);
		ipam_close(&ip);
	} else {
		log_warn("network: %s", e.msg);
	}
	priv_free(p);
	free(l);
}

char **net_lease_hosts(const struct net_lease *l, const char *hostname)
{
	char **v = xcalloc(1, sizeof(char *));
	char a[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET, l->addr4.addr, a, sizeof(a));
	strv_push_take(&v, xasprintf("%s\t%s", a, hostname));
	if (l->addr6.family) {
		inet_ntop(AF_INET6, l->addr6.addr, a, sizeof(a));
		strv_push_take(&v, xasprintf("%s\t%s", a, hostname));
	}
	return v;
}

/* ---- removal (compose down) ------------------------------------------------------------------ */

int net_bridge_remove(const char *name, struct nerr *err)
{
	struct ipam ip;
	struct nft *nft = NULL;
	struct lease_rec *recs = NULL;
	size_t n = 0;
	char sid[13];
	struct nl nl;
	struct nl_link link;
	int r;

	if (!valid_ifname(name))
		return nerr_set(err, EINVAL, "invalid bridge name `%s`", name);
	if (!strcmp(name, NET_BRIDGE_NAME))
		return nerr_set(err, EPERM, "bridge `%s` is the default bridge: it stays", name);
	if (geteuid() != 0)
		return nerr_set(err, EPERM, "removing bridge `%s` needs root", name);
	if ((r = ipam_open(&ip, NULL, err)) < 0)
		return r;
	/* leases of dead containers first, so that only live ones hold it */
	collect_bridge(&ip, name, &nft);
	if ((r = ipam_list(&ip, name, &recs, &n, err)) < 0)
		goto out;
	if (n) {
		short_id(recs[0].id, sid);
		r = nerr_set(err, EBUSY, "bridge `%s` is in use by container %s", name, sid);
		goto out;
	}
	if ((r = nl_open(&nl, -1, err)) < 0)
		goto out;
	r = nl_link_get(&nl, name, &link, err);
	if (r == -ENODEV) {
		nerr_clear(err);
	} else if (r < 0) {
		nl_close(&nl);
		goto out;
	} else if (!link.bridge || strcmp(link.alias, NET_BRIDGE_ALIAS)) {
		/* (the alias nl_bridge_ensure gives the bridges it makes) */
		nl_close(&nl);
		r = nerr_set(err, EPERM, "bridge `%s` was not created by nucleus: left in place", name);
		goto out;
	} else if ((r = nl_link_del(&nl, link.index, err)) < 0) {
		nl_close(&nl);
		nerr_prefix(err, "delete bridge `%s`", name);
		goto out;
	}
	nl_close(&nl);
	/* the bridge is gone: this drops its elements, its tombstones and
	 * its directory */
	collect_bridge(&ip, name, &nft);
	if (ipam_count(&ip) == 0)
		forward_release(ip.nsdir);
	r = 0;
out:
	lease_recs_free(recs, n);
	ipam_close(&ip);
	nft_close(nft);
	return r;
}
