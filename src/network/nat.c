/* NAT and published ports in one nftables table nucleus owns, through
 * libnftables, and IP forwarding while containers need it.
 *
 * libnftables (and libnftnl, libgmp, libxtables, ... behind it) is opened
 * with dlopen only when a change is needed: once per new bridge, and for
 * containers that publish ports. A `nucleus run` that needs neither never
 * maps it.
 *
 * The table's rules never change after it is made; what changes are set
 * and map elements, added and deleted by key in one transaction each:
 *   bridges, subnets4, subnets6  the bridges (masquerade, hairpin, the
 *                                loopback guard apply to them)
 *   dnat4/dnat6                  proto . port -> container address . port,
 *                                for every local address (-p 8080:80)
 *   dnat4h/dnat6h                host address . proto . port -> ... for
 *                                one address (-p 127.0.0.1:8080:80)
 *   bridge_pairs                 "br" . "br" for each bridge: the isolate
 *                                chain drops what one nucleus bridge
 *                                forwards to another
 * Elements carry the container's id as their comment. */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include "net_internal.h"

struct nft {
	void *dl;
	struct nft_ctx *ctx;
	__typeof__(nft_ctx_new) *ctx_new;
	__typeof__(nft_ctx_free) *ctx_free;
	__typeof__(nft_run_cmd_from_buffer) *run;
	__typeof__(nft_ctx_buffer_output) *buffer_output;
	__typeof__(nft_ctx_buffer_error) *buffer_error;
	__typeof__(nft_ctx_get_error_buffer) *get_error;
};

/* Created with `create table` first: when the table exists the whole
 * transaction fails (EEXIST) and nothing is added twice. */
static const char base_table[] =
	"create table inet nucleus\n"
	"table inet nucleus {\n"
	"  set bridges { type ifname; }\n"
	"  set subnets4 { type ipv4_addr; flags interval; }\n"
	"  set subnets6 { type ipv6_addr; flags interval; }\n"
	"  map dnat4 { type inet_proto . inet_service : ipv4_addr . inet_service; }\n"
	"  map dnat4h { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }\n"
	"  map dnat6 { type inet_proto . inet_service : ipv6_addr . inet_service; }\n"
	"  map dnat6h { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }\n"
	/* published ports: traffic to a local address, from outside
	 * (prerouting) or from the host itself, 127.0.0.1 included (output) */
	"  chain ports {\n"
	"    dnat ip to ip daddr . meta l4proto . th dport map @dnat4h\n"
	"    dnat ip to meta l4proto . th dport map @dnat4\n"
	"    dnat ip6 to ip6 daddr . meta l4proto . th dport map @dnat6h\n"
	"    dnat ip6 to meta l4proto . th dport map @dnat6\n"
	"  }\n"
	"  chain prerouting { type nat hook prerouting priority dstnat; policy accept;\n"
	"    fib daddr type local jump ports\n"
	"  }\n"
	"  chain output { type nat hook output priority -100; policy accept;\n"
	"    fib daddr type local jump ports\n"
	"  }\n"
	"  chain postrouting { type nat hook postrouting priority srcnat; policy accept;\n"
	/* containers reaching out through any other interface */
	"    ip saddr @subnets4 oifname != @bridges masquerade\n"
	"    ip6 saddr @subnets6 oifname != @bridges masquerade\n"
	/* the host via 127.0.0.1, and containers via a host address
	 * (hairpin): the container must answer through the host */
	"    oifname @bridges ct status dnat ip saddr 127.0.0.0/8 masquerade\n"
	"    oifname @bridges ct status dnat ip saddr @subnets4 masquerade\n"
	"    oifname @bridges ct status dnat ip6 saddr @subnets6 masquerade\n"
	"  }\n"
	/* route_localnet on the bridges lets 127.0.0.1 reach containers;
	 * this keeps containers from reaching the host's 127.0.0.0/8 in
	 * return (replies to the host are still addressed to the gateway
	 * here, before NAT undoes the masquerade) */
	"  chain guard { type filter hook prerouting priority mangle; policy accept;\n"
	"    iifname @bridges ip daddr 127.0.0.0/8 drop\n"
	"  }\n"
	"}\n";

int nft_open(struct nft **out, struct nerr *err)
{
	struct nft *n = xcalloc(1, sizeof(*n));

	*out = NULL;
	/* libnftables allocates and frees 128 KiB hash tables for every cache
	 * it builds; above the mmap threshold each costs an mmap, page faults
	 * and a TLB-flushing munmap. From the heap they are reused. */
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	mallopt(M_TRIM_THRESHOLD, 16 << 20);
	n->dl = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!n->dl) {
		nerr_set(err, 0, "NAT needs libnftables (Debian package libnftables1): %s", dlerror());
		free(n);
		return -ENOENT;
	}
	n->ctx_new = (__typeof__(n->ctx_new))dlsym(n->dl, "nft_ctx_new");
	n->ctx_free = (__typeof__(n->ctx_free))dlsym(n->dl, "nft_ctx_free");
	n->run = (__typeof__(n->run))dlsym(n->dl, "nft_run_cmd_from_buffer");
	n->buffer_output = (__typeof__(n->buffer_output))dlsym(n->dl, "nft_ctx_buffer_output");
	n->buffer_error = (__typeof__(n->buffer_error))dlsym(n->dl, "nft_ctx_buffer_error");
	n->get_error = (__typeof__(n->get_error))dlsym(n->dl, "nft_ctx_get_error_buffer");
	if (!n->ctx_new || !n->ctx_free || !n->run || !n->buffer_output || !n->buffer_error || !n->get_error ||
	    !(n->ctx = n->ctx_new(NFT_CTX_DEFAULT))) {
		dlclose(n->dl);
		free(n);
		return nerr_set(err, 0, "libnftables.so.1 lacks the functions nucleus uses");
	}
	n->buffer_output(n->ctx);
	n->buffer_error(n->ctx);
	*out = n;
	return 0;
}

void nft_close(struct nft *n)
{
	if (!n)
		return;
	n->ctx_free(n->ctx);
	dlclose(n->dl);
	free(n);
}

/* One transaction. The error is libnftables's first line, mapped back to
 * an errno where the kernel's reason is recognisable. */
static int nft_run(struct nft *n, const char *cmds, const char *what, struct nerr *err)
{
	const char *e, *nl;
	int code = EIO;

	if (n->run(n->ctx, cmds) == 0)
		return 0;
	e = n->get_error(n->ctx);
	if (!e || !*e)
		e = "failed";
	if (str_has_prefix(e, "Error: "))
		e += 7;
	nl = strchr(e, '\n');
	if (strstr(e, "File exists"))
		code = EEXIST;
	else if (strstr(e, "No such file or directory"))
		code = ENOENT;
	else if (strstr(e, "Device or resource busy"))
		code = EBUSY;
	else if (strstr(e, "Operation not permitted"))
		code = EPERM;
	nerr_set(err, 0, "%s: nftables: %.*s", what, nl ? (int)(nl - e) : (int)strlen(e), e);
	err->code = code;
	return -code;
}

/* Containers on different nucleus bridges (two compose networks, a
 * topology and nucleus0) must not reach each other: the host would route
 * between them. A forward hook drops what goes from one bridge to another
 * (a pair not in bridge_pairs), except DNATed traffic: a published port is
 * reachable from anywhere, other bridges included. Added apart from the
 * base table, in one transaction that is safe to repeat (the chain flushed
 * and filled again), so that a table made by an older build gets it too. */
static const char isolate_cmd[] =
	"add set inet nucleus bridge_pairs { type ifname . ifname; }\n"
	"add chain inet nucleus isolate { type filter hook forward priority filter; policy accept; }\n"
	"flush chain inet nucleus isolate\n"
	"add rule inet nucleus isolate ct status dnat accept\n"
	"add rule inet nucleus isolate iifname @bridges oifname @bridges iifname . oifname != @bridge_pairs "
	"counter drop\n";

static void prefix_text(const struct cidr *c, char *buf, size_t len)
{
	cidr_format(c, buf, len);
}

static char *bridge_cmd(bool add, const char *bridge, const struct cidr *s4, const struct cidr *s6)
{
	const char *verb = add ? "add" : "delete";
	char p4[64], p6[64];
	char *t;

	prefix_text(s4, p4, sizeof(p4));
	t = xasprintf("%s element inet nucleus bridges { \"%s\" }\n%s element inet nucleus subnets4 { %s }\n"
		      "%s element inet nucleus bridge_pairs { \"%s\" . \"%s\" }\n",
		      verb, bridge, verb, p4, verb, bridge, bridge);
	if (s6 && s6->family) {
		char *n;
		prefix_text(s6, p6, sizeof(p6));
		n = xasprintf("%s%s element inet nucleus subnets6 { %s }\n", t, verb, p6);
		free(t);
		t = n;
	}
	return t;
}

int nat_bridge_add(struct nft *n, const char *bridge, const struct cidr *s4, const struct cidr *s6,
		   bool table_absent, struct nerr *err)
{
	_cleanup_free_ char *cmd = bridge_cmd(true, bridge, s4, s6);
	struct nerr e = { 0 };
	int r;

	if (table_absent && (r = nft_run(n, base_table, "create table inet nucleus", &e)) < 0 && r != -EEXIST) {
		*err = e;
		return r;
	}
	r = nft_run(n, isolate_cmd, "isolate the bridges", err);
	if (r == -ENOENT && !table_absent) {
		/* the table went away after we looked (nft flush ruleset) */
		if ((r = nft_run(n, base_table, "create table inet nucleus", &e)) < 0 && r != -EEXIST) {
			*err = e;
			return r;
		}
		r = nft_run(n, isolate_cmd, "isolate the bridges", err);
	}
	if (r < 0)
		return r;
	return nft_run(n, cmd, "add the bridge to table inet nucleus", err);
}

int nat_bridge_del(struct nft *n, const char *bridge, const struct cidr *s4, const struct cidr *s6)
{
	_cleanup_free_ char *cmd = bridge_cmd(false, bridge, s4, s6);
	struct nerr e = { 0 };
	char *save = NULL;
	int r;

	if ((r = nft_run(n, cmd, "delete", &e)) == 0)
		return 0;
	/* some are gone already: delete the rest one by one */
	for (char *l = strtok_r(cmd, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		nft_run(n, l, "delete", &e);
	return r;
}

void nat_bridge_pairs_add(struct nft *n, char *const *bridges)
{
	struct nerr e = { 0 };

	for (size_t i = 0; bridges && bridges[i]; i++) {
		_cleanup_free_ char *cmd =
			xasprintf("add element inet nucleus bridge_pairs { \"%s\" . \"%s\" }\n", bridges[i], bridges[i]);
		nft_run(n, cmd, "add the bridge's pair", &e);
	}
}

/* ---- published ports ---------------------------------------------------------------------- */

static void append(char **t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(char **t, const char *fmt, ...)
{
	va_list ap;
	char *piece, *n;

	va_start(ap, fmt);
	if (vasprintf(&piece, fmt, ap) < 0)
		abort();
	va_end(ap);
	n = xasprintf("%s%s", *t ? *t : "", piece);
	free(piece);
	free(*t);
	*t = n;
}

/* The element of one port of one spec in one family: the map and its key
 * (and, when adding, the comment and value). */
static void port_element(char **t, bool add, const char *id, const struct port_spec *p, unsigned i, int family,
			 const struct cidr *to)
{
	static const uint8_t zero[16];
	const char *proto = p->proto == IPPROTO_UDP ? "udp" : "tcp";
	bool one_ip = p->host_family == family && memcmp(p->host_ip, zero, 16);
	char host[INET6_ADDRSTRLEN] = "", dst[INET6_ADDRSTRLEN];
	const char *map = family == 4 ? (one_ip ? "dnat4h" : "dnat4") : (one_ip ? "dnat6h" : "dnat6");

	if (one_ip)
		inet_ntop(family == 4 ? AF_INET : AF_INET6, p->host_ip, host, sizeof(host));
	append(t, "%s element inet nucleus %s { %s%s%s . %u", add ? "add" : "delete", map, host, one_ip ? " . " : "",
	       proto, p->host_port + i);
	if (add) {
		inet_ntop(family == 4 ? AF_INET : AF_INET6, to->addr, dst, sizeof(dst));
		append(t, " comment \"%s\" : %s . %u", id, dst, p->cont_port + i);
	}
	append(t, " }\n");
}

char *nat_ports_cmd(bool add, const char *id, const struct port_spec *ports, size_t np, const struct cidr *a4,
		    const struct cidr *a6)
{
	char *t = xstrdup("");

	for (size_t s = 0; s < np; s++) {
		const struct port_spec *p = &ports[s];

		for (unsigned i = 0; i < p->count; i++) {
			if (p->host_family != 6)
				port_element(&t, add, id, p, i, 4, a4);
			if (p->host_family != 4 && a6 && a6->family)
				port_element(&t, add, id, p, i, 6, a6);
		}
	}
	return t;
}

int nat_ports_add(struct nft *n, const char *id, const struct port_spec *p, size_t np, const struct cidr *a4,
		  const struct cidr *a6, struct nerr *err)
{
	_cleanup_free_ char *cmd = nat_ports_cmd(true, id, p, np, a4, a6);
	int r;

	r = nft_run(n, cmd, "publish ports", err);
	if (r == -EEXIST || r == -EBUSY) {
		/* The leases say these host ports are ours, so what holds them
		 * is left over (a container nobody collected): replace it. */
		nat_ports_del(n, p, np, a6 && a6->family);
		r = nft_run(n, cmd, "publish ports", err);
	}
	return r;
}

void nat_ports_del(struct nft *n, const struct port_spec *p, size_t np, bool ipv6)
{
	struct cidr six = { .family = ipv6 ? 6 : 0 };
	_cleanup_free_ char *cmd = nat_ports_cmd(false, "", p, np, NULL, &six);
	struct nerr e = { 0 };
	char *save = NULL;

	if (!*cmd || nft_run(n, cmd, "unpublish ports", &e) == 0)
		return;
	for (char *l = strtok_r(cmd, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		nft_run(n, l, "unpublish ports", &e);
}

/* ---- forwarding ---------------------------------------------------------------------------- */

static const char ip4_forward[] = "/proc/sys/net/ipv4/ip_forward";
static const char ip6_forward[] = "/proc/sys/net/ipv6/conf/all/forwarding";

static int read_flag(const char *path)
{
	_cleanup_free_ char *v = NULL;

	if (read_file(path, 64, &v, NULL) < 0)
		return -1;
	return v[0] == '1';
}

int forward_acquire(const char *nsdir, bool ipv6, struct nerr *err)
{
	_cleanup_free_ char *saved = xasprintf("%s/forwarding", nsdir);
	_cleanup_free_ char *text = NULL;
	int v4, v6 = -1, r;

	if (access(saved, F_OK) == 0)
		return 0;
	v4 = read_flag(ip4_forward);
	if (ipv6)
		v6 = read_flag(ip6_forward);
	if (v4 < 0)
		return nerr_set(err, errno, "read %s", ip4_forward);
	text = xasprintf("ipv4 %d\nipv6 %d\n", v4, v6);
	if ((r = write_file(saved, text, strlen(text), 0600)) < 0)
		return nerr_set(err, -r, "write `%s`", saved);
	if (!v4 && (r = write_str(ip4_forward, "1")) < 0) {
		unlink(saved);
		return nerr_set(err, -r, "enable IPv4 forwarding (%s)", ip4_forward);
	}
	if (v6 == 0 && (r = write_str(ip6_forward, "1")) < 0)
		log_warn("cannot enable IPv6 forwarding (%s): %s; containers reach out over IPv4 only",
			 ip6_forward, strerror(-r));
	return 0;
}

void forward_release(const char *nsdir)
{
	_cleanup_free_ char *saved = xasprintf("%s/forwarding", nsdir);
	_cleanup_free_ char *text = NULL;
	int v4 = 1, v6 = 1;

	if (read_file(saved, 256, &text, NULL) < 0)
		return;
	if (sscanf(text, "ipv4 %d\nipv6 %d", &v4, &v6) < 1)
		v4 = v6 = 1;
	/* only what we changed goes back */
	if (v4 == 0 && read_flag(ip4_forward) == 1)
		write_str(ip4_forward, "0");
	if (v6 == 0 && read_flag(ip6_forward) == 1)
		write_str(ip6_forward, "0");
	unlink(saved);
}
