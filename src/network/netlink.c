/* rtnetlink through libmnl: links, addresses and routes for the bridge, the
 * veth pairs and the container's side of them. Requests that belong
 * together go out in one sendmsg and are acknowledged one by one. */
#include "net_internal.h"   /* its <net/if.h> goes before the linux headers */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/random.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter.h>
#include <libmnl/libmnl.h>

#define LOOPBACK_IFINDEX 1     /* lo has index 1 in every network namespace */
#define NL_BUF 16384

static int sock_setup(struct nl *nl, int bus, int fd, struct nerr *err)
{
	int one = 1, r;

	if ((r = mnl_dl_load(err)) < 0) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	if (fd < 0)
		fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, bus);
	if (fd < 0)
		return nerr_set(err, errno, "netlink socket");
	nl->sk = mnl_socket_fdopen(fd);
	if (!nl->sk) {
		close(fd);
		return nerr_set(err, errno, "netlink socket");
	}
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(nl->sk);
		nl->sk = NULL;
		return nerr_set(err, e, "bind netlink socket");
	}
	/* the kernel's own words on a failure, and acks without our request echoed */
	mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = (uint32_t)now_ns();
	return 0;
}

/* Sockets and /proc/sys/net files belong to the network namespace of the
 * thread that opens them. This thread steps into the container's just long
 * enough to run fn, and back. (A helper thread would be cleaner, but its
 * stack and malloc arena cost more than the rest of the attach on these
 * machines.) */
int nl_netns_run(int netns_fd, int (*fn)(void *arg), void *arg, struct nerr *err)
{
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int r;

	if (self < 0)
		return nerr_set(err, errno, "open /proc/thread-self/ns/net");
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		return nerr_set(err, errno, "join the container's network namespace");
	r = fn(arg);
	if (setns(self, CLONE_NEWNET) < 0) {
		/* never go on in the container's namespace */
		log_error("cannot return to the host network namespace: %s", strerror(errno));
		abort();
	}
	return r;
}

int nl_open(struct nl *nl, int fd, struct nerr *err)
{
	memset(nl, 0, sizeof(*nl));
	return sock_setup(nl, NETLINK_ROUTE, fd, err);
}

void nl_close(struct nl *nl)
{
	if (nl->sk)
		mnl_socket_close(nl->sk);
	nl->sk = NULL;
}

/* ---- requests and their acknowledgements ----------------------------------------- */

/* Up to 8 requests sent together; each may accept one errno as success. */
struct batch {
	char buf[4096];
	size_t len;
	struct nlmsghdr *cur;
	unsigned n;
	uint32_t seq0;
	int ok_errno[8];
	const char *what[8];
};

static void batch_init(struct nl *nl, struct batch *b)
{
	b->len = 0;
	b->cur = NULL;
	b->n = 0;
	b->seq0 = nl->seq + 1;
}

static void batch_close_msg(struct batch *b)
{
	if (b->cur) {
		b->len += NLMSG_ALIGN(b->cur->nlmsg_len);
		b->cur = NULL;
	}
}

static struct nlmsghdr *batch_add(struct nl *nl, struct batch *b, uint16_t type, uint16_t flags, int ok_errno,
				  const char *what)
{
	struct nlmsghdr *h;

	batch_close_msg(b);
	if (b->n >= ARRAY_SIZE(b->ok_errno) || b->len + 1024 > sizeof(b->buf))
		abort();              /* a batch is a handful of small requests */
	h = mnl_nlmsg_put_header(b->buf + b->len);
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	h->nlmsg_seq = ++nl->seq;
	b->ok_errno[b->n] = ok_errno;
	b->what[b->n] = what;
	b->n++;
	b->cur = h;
	return h;
}

struct ext_ack {
	const char *msg;
};

static int ext_ack_attr(const struct nlattr *a, void *data)
{
	struct ext_ack *x = data;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		x->msg = mnl_attr_get_str(a);
	return MNL_CB_OK;
}

/* The errno of an NLMSG_ERROR (0: an ack), and the kernel's message. */
static int ack_errno(const struct nlmsghdr *h, const char **msg)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
	struct ext_ack x = { 0 };

	*msg = NULL;
	if (h->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
		return EPROTO;
	if (e->error && (h->nlmsg_flags & NLM_F_ACK_TLVS)) {
		size_t off = sizeof(*e);
		if (!(h->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		if (mnl_nlmsg_get_payload_len(h) > off)
			mnl_attr_parse(h, (unsigned)off, ext_ack_attr, &x);
		*msg = x.msg;
	}
	return -e->error;
}

typedef int (*reply_cb)(const struct nlmsghdr *h, void *data);

/* Send what is in the batch and read until every request is answered;
 * replies other than acks go to cb. The first failure is reported. */
static int batch_send(struct nl *nl, struct batch *b, reply_cb cb, void *data, struct nerr *err)
{
	char rbuf[NL_BUF] __attribute__((aligned(8)));
	unsigned answered = 0;
	int first = 0;

	batch_close_msg(b);
	if (mnl_socket_sendto(nl->sk, b->buf, b->len) < 0)
		return nerr_set(err, errno, "netlink send");
	while (answered < b->n) {
		ssize_t len = mnl_socket_recvfrom(nl->sk, rbuf, sizeof(rbuf));
		const struct nlmsghdr *h = (const struct nlmsghdr *)rbuf;
		int rem = (int)len;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			return nerr_set(err, errno, "netlink receive");
		}
		for (; mnl_nlmsg_ok(h, rem); h = mnl_nlmsg_next(h, &rem)) {
			uint32_t i = h->nlmsg_seq - b->seq0;

			if (h->nlmsg_pid != nl->portid || i >= b->n)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE) {
				const char *kmsg = NULL;
				int e = h->nlmsg_type == NLMSG_DONE ? 0 : ack_errno(h, &kmsg);

				answered++;
				if (e && e != b->ok_errno[i] && !first) {
					if (kmsg)
						nerr_set(err, 0, "%s: %s (%s)", b->what[i], strerror(e), kmsg);
					else
						nerr_set(err, 0, "%s: %s", b->what[i], strerror(e));
					err->code = e;
					first = -e;
				}
			} else if (cb && cb(h, data) < 0 && !first) {
				first = nerr_set(err, EPROTO, "%s: bad reply", b->what[i]);
			}
		}
	}
	return first;
}

/* ---- links ---------------------------------------------------------------------------- */

static struct ifinfomsg *put_ifinfo(struct nlmsghdr *h, int index, unsigned flags, unsigned change)
{
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	ifi->ifi_flags = flags;
	ifi->ifi_change = change;
	return ifi;
}

static int linkinfo_attr(const struct nlattr *a, void *data)
{
	struct nl_link *l = data;

	if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		l->bridge = !strcmp(mnl_attr_get_str(a), "bridge");
	return MNL_CB_OK;
}

static int link_attr(const struct nlattr *a, void *data)
{
	struct nl_link *l = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_MTU:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			l->mtu = mnl_attr_get_u32(a);
		break;
	case IFLA_MASTER:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			l->master = (int)mnl_attr_get_u32(a);
		break;
	case IFLA_LINKINFO:
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
			mnl_attr_parse_nested(a, linkinfo_attr, l);
		break;
	case IFLA_IFALIAS:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			snprintf(l->alias, sizeof(l->alias), "%s", mnl_attr_get_str(a));
		break;
	}
	return MNL_CB_OK;
}

static int link_reply(const struct nlmsghdr *h, void *data)
{
	struct nl_link *l = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);

	if (h->nlmsg_type != RTM_NEWLINK)
		return 0;
	l->index = ifi->ifi_index;
	l->up = ifi->ifi_flags & IFF_UP;
	mnl_attr_parse(h, sizeof(*ifi), link_attr, l);
	return 0;
}

int nl_link_get(struct nl *nl, const char *name, struct nl_link *out, struct nerr *err)
{
	struct batch b;
	struct nlmsghdr *h;
	int r;

	memset(out, 0, sizeof(*out));
	batch_init(nl, &b);
	h = batch_add(nl, &b, RTM_GETLINK, 0, 0, "get link");
	put_ifinfo(h, 0, 0, 0);
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	mnl_attr_put_u32(h, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	r = batch_send(nl, &b, link_reply, out, err);
	if (r == -ENODEV)
		return r;
	if (r < 0)
		return nerr_prefix(err, "`%s`", name);
	return out->index > 0 ? 0 : nerr_set(err, ENODEV, "link `%s`", name);
}

/* ---- addresses and routes --------------------------------------------------------------- */

static void put_addr(struct nl *nl, struct batch *b, int index, const struct cidr *a, const char *what)
{
	struct nlmsghdr *h = batch_add(nl, b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, 0, what);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	size_t alen = a->family == 4 ? 4 : 16;

	ifa->ifa_family = a->family == 4 ? AF_INET : AF_INET6;
	ifa->ifa_prefixlen = (unsigned char)a->prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)index;
	mnl_attr_put(h, IFA_LOCAL, alen, a->addr);
	mnl_attr_put(h, IFA_ADDRESS, alen, a->addr);
	if (a->family == 4) {
		uint8_t brd[4];
		memcpy(brd, a->addr, 4);
		for (unsigned i = a->prefix; i < 32; i++)
			brd[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		mnl_attr_put(h, IFA_BROADCAST, 4, brd);
	} else {
		/* usable at once: nothing else on the bridge can own it */
		mnl_attr_put_u32(h, IFA_FLAGS, IFA_F_NODAD);
	}
}

static void put_default_route(struct nl *nl, struct batch *b, int index, const struct cidr *gw, const char *what)
{
	struct nlmsghdr *h = batch_add(nl, b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, 0, what);
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));

	rt->rtm_family = gw->family == 4 ? AF_INET : AF_INET6;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_STATIC;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	mnl_attr_put(h, RTA_GATEWAY, gw->family == 4 ? 4 : 16, gw->addr);
	mnl_attr_put_u32(h, RTA_OIF, (uint32_t)index);
}

struct addr_list {
	struct nl_addr *v;
	size_t n;
};

static int addr_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int t = mnl_attr_get_type(a);

	if (t == IFA_ADDRESS || t == IFA_LOCAL)
		tb[t] = a;
	return MNL_CB_OK;
}

static int addr_reply(const struct nlmsghdr *h, void *data)
{
	struct addr_list *l = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	const struct nlattr *a;
	struct nl_addr *e;
	size_t alen;

	if (h->nlmsg_type != RTM_NEWADDR || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return 0;
	mnl_attr_parse(h, sizeof(*ifa), addr_attr, tb);
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	alen = ifa->ifa_family == AF_INET ? 4 : 16;
	if (!a || mnl_attr_get_payload_len(a) != alen)
		return 0;
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	e->index = (int)ifa->ifa_index;
	e->family = ifa->ifa_family == AF_INET ? 4 : 6;
	e->prefix = ifa->ifa_prefixlen;
	memcpy(e->addr, mnl_attr_get_payload(a), alen);
	return 0;
}

int nl_addr_dump(struct nl *nl, struct nl_addr **out, size_t *n, struct nerr *err)
{
	struct addr_list l = { 0 };
	struct batch b;
	struct nlmsghdr *h;
	struct ifaddrmsg *ifa;
	int r;

	batch_init(nl, &b);
	h = batch_add(nl, &b, RTM_GETADDR, NLM_F_DUMP, 0, "list addresses");
	h->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
	ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	if ((r = batch_send(nl, &b, addr_reply, &l, err)) < 0) {
		free(l.v);
		return r;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

/* ---- the bridge, the veth pair, the container's side ------------------------------------ */

int nl_bridge_ensure(struct nl *nl, const char *name, const struct cidr *gw4, const struct cidr *gw6, bool tag,
		     struct nl_link *out, struct nerr *err)
{
	struct batch b;
	struct nlmsghdr *h;
	struct nlattr *info;
	uint8_t mac[6];
	int r;

	/* A fixed address: a bridge that takes its ports' lowest one would
	 * change it as containers come and go, and their neighbour caches
	 * would point at the old one. */
	if (getrandom(mac, sizeof(mac), 0) != sizeof(mac))
		return nerr_set(err, errno, "random bridge address");
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);
	batch_init(nl, &b);
	h = batch_add(nl, &b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, EEXIST, "create bridge");
	put_ifinfo(h, 0, IFF_UP, IFF_UP);
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	mnl_attr_put(h, IFLA_ADDRESS, sizeof(mac), mac);
	info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(h, info);
	if ((r = batch_send(nl, &b, NULL, NULL, err)) < 0)
		return nerr_prefix(err, "bridge `%s`", name);
	if ((r = nl_link_get(nl, name, out, err)) < 0)
		return r == -ENODEV ? nerr_set(err, ENODEV, "bridge `%s` vanished while being set up", name) : r;
	if (!out->bridge)
		return nerr_set(err, 0, "`%s` exists and is not a bridge", name);
	batch_init(nl, &b);
	put_addr(nl, &b, out->index, gw4, "add the bridge's IPv4 address");
	if (gw6)
		put_addr(nl, &b, out->index, gw6, "add the bridge's IPv6 address");
	if (!out->up || tag) {
		h = batch_add(nl, &b, RTM_NEWLINK, 0, 0, "bring the bridge up");
		put_ifinfo(h, out->index, IFF_UP, IFF_UP);
		if (tag)
			mnl_attr_put_strz(h, IFLA_IFALIAS, NET_BRIDGE_ALIAS);
	}
	if ((r = batch_send(nl, &b, NULL, NULL, err)) < 0)
		return nerr_prefix(err, "bridge `%s`", name);
	out->up = true;
	return 0;
}

int nl_link_del(struct nl *nl, int index, struct nerr *err)
{
	struct batch b;
	struct nlmsghdr *h;

	batch_init(nl, &b);
	h = batch_add(nl, &b, RTM_DELLINK, 0, ENODEV, "delete link");
	put_ifinfo(h, index, 0, 0);
	return batch_send(nl, &b, NULL, NULL, err);
}

int nl_veth_add(struct nl *nl, const char *host, int master, unsigned mtu, const char *peer,
		const uint8_t peer_mac[6], int netns_fd, struct nerr *err)
{
	struct batch b;
	struct nlmsghdr *h;
	struct nlattr *info, *data, *p;

	batch_init(nl, &b);
	h = batch_add(nl, &b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, "create veth pair");
	put_ifinfo(h, 0, IFF_UP, IFF_UP);
	mnl_attr_put_strz(h, IFLA_IFNAME, host);
	mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)master);
	if (mtu)
		mnl_attr_put_u32(h, IFLA_MTU, mtu);
	info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
	p = mnl_attr_nest_start(h, VETH_INFO_PEER);
	/* the peer's own ifinfomsg, then its attributes; it cannot come up
	 * before the pair is tied together (ENOTCONN): the container's side
	 * brings it up */
	put_ifinfo(h, 0, 0, 0);
	mnl_attr_put_strz(h, IFLA_IFNAME, peer);
	if (peer_mac)
		mnl_attr_put(h, IFLA_ADDRESS, 6, peer_mac);
	if (mtu)
		mnl_attr_put_u32(h, IFLA_MTU, mtu);
	mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	mnl_attr_nest_end(h, p);
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, info);
	return batch_send(nl, &b, NULL, NULL, err);
}

int nl_container_setup(struct nl *nl, const char *ifname, const struct cidr *a4, const struct cidr *gw4,
		       const struct cidr *a6, const struct cidr *gw6, struct nerr *err)
{
	struct nl_link l;
	struct batch b;
	struct nlmsghdr *h;
	int r;

	if ((r = nl_link_get(nl, ifname, &l, err)) < 0)
		return r == -ENODEV ? nerr_set(err, ENODEV, "no `%s` in the container", ifname) : r;
	batch_init(nl, &b);
	h = batch_add(nl, &b, RTM_NEWLINK, 0, 0, "bring up lo");
	put_ifinfo(h, LOOPBACK_IFINDEX, IFF_UP, IFF_UP);
	if (!l.up) {
		h = batch_add(nl, &b, RTM_NEWLINK, 0, 0, "bring up eth0");
		put_ifinfo(h, l.index, IFF_UP, IFF_UP);
	}
	put_addr(nl, &b, l.index, a4, "add the container's IPv4 address");
	if (a6)
		put_addr(nl, &b, l.index, a6, "add the container's IPv6 address");
	put_default_route(nl, &b, l.index, gw4, "add the IPv4 default route");
	if (a6 && gw6)
		put_default_route(nl, &b, l.index, gw6, "add the IPv6 default route");
	return batch_send(nl, &b, NULL, NULL, err);
}

/* ---- nftables: is our table there (cheaply, without libnftables)? ------------------------ */

static int table_attr(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == NFTA_TABLE_HANDLE && mnl_attr_validate(a, MNL_TYPE_U64) == 0)
		*(uint64_t *)data = be64toh(mnl_attr_get_u64(a));
	return MNL_CB_OK;
}

static int table_reply(const struct nlmsghdr *h, void *data)
{
	if ((h->nlmsg_type & 0xff) == NFT_MSG_NEWTABLE)
		mnl_attr_parse(h, sizeof(struct nfgenmsg), table_attr, data);
	return 0;
}

int nl_nft_table_handle(uint64_t *handle)
{
	struct nl nl = { 0 };
	struct nerr e = { 0 };
	struct batch b;
	struct nlmsghdr *h;
	struct nfgenmsg *g;
	int r;

	*handle = 0;
	if ((r = sock_setup(&nl, NETLINK_NETFILTER, -1, &e)) < 0)
		return -ENOENT;          /* no nf_tables loaded: no table either */
	batch_init(&nl, &b);
	h = batch_add(&nl, &b, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE, 0, 0, "get table");
	g = mnl_nlmsg_put_extra_header(h, sizeof(*g));
	g->nfgen_family = NFPROTO_INET;
	g->version = NFNETLINK_V0;
	mnl_attr_put_strz(h, NFTA_TABLE_NAME, "nucleus");
	r = batch_send(&nl, &b, table_reply, handle, &e);
	nl_close(&nl);
	if (r < 0)
		return r;
	return *handle ? 0 : -ENOENT;
}
