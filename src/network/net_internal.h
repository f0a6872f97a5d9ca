/* Internal interfaces of the bridge networking module: rtnetlink
 * (netlink.c), leases (ipam.c), nftables and forwarding (nat.c), and the
 * configuration parsers (bridge_config.c) that bridge.c puts together. */
#ifndef NUCLEUS_NET_INTERNAL_H
#define NUCLEUS_NET_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>
#include <nucleus/network.h>

/* ---- netlink.c: rtnetlink through libmnl ----------------------------------------- */
/* mnl_dl.c: dlopen libmnl (once); netlink.c's sockets call it first. */
int mnl_dl_load(struct nerr *err);
struct mnl_socket;
struct nl {
	struct mnl_socket *sk;
	uint32_t portid;
	uint32_t seq;
};
/* A NETLINK_ROUTE socket: a new one in our network namespace (fd -1), or
 * fd, one made elsewhere (see nl_netns_run). */
int nl_open(struct nl *nl, int fd, struct nerr *err);
/* Run fn in the network namespace netns_fd (this thread joins it, and
 * comes back); its result. */
int nl_netns_run(int netns_fd, int (*fn)(void *arg), void *arg, struct nerr *err);
void nl_close(struct nl *nl);

struct nl_link {
	int index;
	unsigned mtu;
	int master;
	bool up, bridge;
	char alias[64];        /* IFLA_IFALIAS, "" without one (or a longer one) */
};
/* -ENODEV when there is no such link. */
int nl_link_get(struct nl *nl, const char *name, struct nl_link *out, struct nerr *err);

struct nl_addr {
	int index;
	int family;            /* 4 or 6 */
	uint8_t addr[16];
	unsigned prefix;
};
int nl_addr_dump(struct nl *nl, struct nl_addr **out, size_t *n, struct nerr *err);

/* Create the bridge if absent (concurrent creators are fine), give it the
 * gateway addresses (gw6 may be NULL), bring it up; its link afterwards.
 * tag: it was absent at prepare, so it is nucleus's: its alias says so
 * (NET_BRIDGE_ALIAS), and only such a bridge is ever deleted. */
#define NET_BRIDGE_ALIAS "nucleus"
int nl_bridge_ensure(struct nl *nl, const char *name, const struct cidr *gw4, const struct cidr *gw6, bool tag,
		     struct nl_link *out, struct nerr *err);
/* RTM_DELLINK; a link already gone is fine. */
int nl_link_del(struct nl *nl, int index, struct nerr *err);
/* A veth pair: `host` enslaved to `master` and up, `peer` created directly
 * in the network namespace netns_fd (down), both with the MTU. */
int nl_veth_add(struct nl *nl, const char *host, int master, unsigned mtu, const char *peer,
		const uint8_t peer_mac[6], int netns_fd, struct nerr *err);
/* Inside the container's namespace (nl opened there): lo up, addresses on
 * ifname, default routes via the gateways (a6/gw6 NULL: IPv4 only). */
int nl_container_setup(struct nl *nl, const char *ifname, const struct cidr *a4, const struct cidr *gw4,
		       const struct cidr *a6, const struct cidr *gw6, struct nerr *err);
/* The handle of nftables table `inet nucleus` (it changes when the table is
 * made again, e.g. after `nft flush ruleset`); -ENOENT when absent. */
int nl_nft_table_handle(uint64_t *handle);

/* ---- ipam.c: leases under /run/nucleus-net/ns-<netns inode>/<bridge>/ ------------- */
struct lease_rec {
	char name[48];         /* the file: the IPv4 address */
	char id[65];
	char *owner;           /* the lock file its supervisor holds; NULL: none */
	pid_t pid;             /* the supervisor and its start time; 0: unknown */
	uint64_t pid_start;
	uint32_t index;        /* host part of the address in the subnet */
	struct cidr subnet4;   /* its addr4 line's subnet; family 0: none */
	struct port_spec *ports;
	size_t nports;
};
void lease_recs_free(struct lease_rec *r, size_t n);

struct ipam {
	char *root;            /* NET_LEASE_DIR */
	char *nsdir;           /* <root>/ns-<inode>: this network namespace's */
	int lock_fd;           /* flock on <root>/lock, held while open */
};
/* Take the lock (blocking) and make the directories; root NULL is
 * NET_LEASE_DIR (others: the unit tests, an older build's <state>/.net).
 * The root must belong to us and be writable by nobody else. */
int ipam_open(struct ipam *ip, const char *root, struct nerr *err);
void ipam_close(struct ipam *ip);
/* Move what an older nucleus kept under <state_dir>/.net/ns-<inode> (leases
 * per runtime root) into ip, each lease owned by <state_dir>/<id>/lock. */
void ipam_adopt(struct ipam *ip, const char *state_dir);
/* The bridge's leases (none: 0 and an empty list). */
int ipam_list(struct ipam *ip, const char *bridge, struct lease_rec **out, size_t *n, struct nerr *err);
/* Its tombstones: addresses of ended containers whose veth may linger. */
int ipam_tombstones(struct ipam *ip, const char *bridge, struct lease_rec **out, size_t *n, struct nerr *err);
/* Bridge directories of this network namespace. */
char **ipam_bridges(struct ipam *ip);
/* Every lease of this network namespace, over all bridges. */
size_t ipam_count(struct ipam *ip);
/* Lowest free host index in [2, hosts] (1 is the gateway); -ENOSPC. */
int ipam_pick(const struct lease_rec *r, size_t n, uint32_t hosts, uint32_t *index);
/* Create the lease file (O_EXCL) / remove it / turn it into a tombstone /
 * remove the tombstone. */
int ipam_write(struct ipam *ip, const char *bridge, const char *name, const char *text, struct nerr *err);
void ipam_remove(struct ipam *ip, const char *bridge, const char *name);
void ipam_release(struct ipam *ip, const char *bridge, const char *name);
void ipam_bury(struct ipam *ip, const char *bridge, const char *name);
/* "<root>/ns-<inode>/<bridge>/<file>" */
char *ipam_path(struct ipam *ip, const char *bridge, const char *file);
/* The lease text for a container; owner: the lock its supervisor (pid)
 * holds. */
char *lease_format(const char *id, const char *owner, pid_t pid, const struct cidr *a4, const struct cidr *a6,
		   const struct port_spec *ports, size_t nports);
int lease_parse(const char *text, struct lease_rec *r);
/* Someone holds the owner's lock (from any runtime root). */
bool lease_owner_alive(const char *owner);

/* ---- nat.c: the `inet nucleus` table through libnftables (dlopen'd) ---------------- */
struct nft;
int nft_open(struct nft **out, struct nerr *err);
void nft_close(struct nft *n);
/* Install the table once, then the bridge's elements (its name, subnets). */
int nat_bridge_add(struct nft *n, const char *bridge, const struct cidr *s4, const struct cidr *s6,
		   bool table_absent, struct nerr *err);
int nat_bridge_del(struct nft *n, const char *bridge, const struct cidr *s4, const struct cidr *s6);
/* bridge_pairs elements for bridges whose table elements an older build
 * added (add is idempotent). */
void nat_bridge_pairs_add(struct nft *n, char *const *bridges);
/* A container's published ports (map elements tagged with its id). */
int nat_ports_add(struct nft *n, const char *id, const struct port_spec *p, size_t np, const struct cidr *a4,
		  const struct cidr *a6, struct nerr *err);
void nat_ports_del(struct nft *n, const struct port_spec *p, size_t np, bool ipv6);
/* The nft commands for them (also what the unit tests check). */
char *nat_ports_cmd(bool add, const char *id, const struct port_spec *p, size_t np, const struct cidr *a4,
		    const struct cidr *a6);

/* IP forwarding while any lease exists in this network namespace: the
 * previous values are saved in <nsdir>/forwarding and put back by release.
 * Both under the ipam lock. */
int forward_acquire(const char *nsdir, bool ipv6, struct nerr *err);
void forward_release(const char *nsdir);

/* ---- bridge_config.c ---------------------------------------------------------------- */
bool valid_ifname(const char *name);
/* The container's host-side veth name for an id. */
void veth_host_name(const char *id, char out[IFNAMSIZ]);
/* The address `index` of a subnet, with the subnet's prefix. */
void subnet_host(const struct cidr *subnet, uint32_t index, struct cidr *out);
/* Number of host addresses in the IPv4 subnet minus network and broadcast. */
uint32_t subnet_hosts(const struct cidr *subnet4);
bool cidr_overlap(const struct cidr *a, const struct cidr *b);

#endif
