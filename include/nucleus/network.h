/* network: egress policy (the userspace half of bpf/egress.bpf.c), and
 * later bridge networking, NAT and DNS. */
#ifndef NUCLEUS_NETWORK_H
#define NUCLEUS_NETWORK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <nucleus/util.h>

struct cidr {
	int family;            /* 4 or 6 */
	uint8_t addr[16];      /* network order; host bits cleared */
	unsigned prefix;
};
/* "10.0.0.0/8", "2001:db8::/32", "192.0.2.1" (a host). */
int cidr_parse(const char *s, struct cidr *out, struct nerr *err);
void cidr_format(const struct cidr *c, char *buf, size_t len);
bool cidr_contains(const struct cidr *net, const struct cidr *host);

struct egress_config {
	bool enabled;          /* any egress flag given: default deny */
	struct cidr *allow;
	size_t nallow;
	uint16_t *tcp_ports, *udp_ports;   /* none: every port */
	size_t ntcp, nudp;
	struct cidr *dns;      /* resolvers: TCP/UDP 53 always allowed */
	size_t ndns;
	bool private_netns;    /* its loopback is its own (network none/bridge) */
	bool allow_raw;        /* raw and packet sockets */
};
void egress_config_free(struct egress_config *c);
/* --egress-allow ("" means deny all), --egress-tcp-port, --egress-udp-port */
int egress_add_allow(struct egress_config *c, const char *arg, struct nerr *err);
int egress_add_port(struct egress_config *c, bool tcp, const char *arg, struct nerr *err);
int egress_add_dns(struct egress_config *c, const char *arg, struct nerr *err);

/* A container's policy, attached to its cgroup (v2 directory fd, cgroup id)
 * before its workload runs. */
struct egress;
int egress_attach(const struct egress_config *c, int cgroup_fd, uint64_t cgid, unsigned cgroup_level,
		  struct egress **out, struct nerr *err);
/* Denial events: an fd to poll, and the function that prints them. */
int egress_events_fd(const struct egress *e);
void egress_events_drain(struct egress *e);
/* Besides stderr, hand each denial to a sink (the audit log). */
struct egress_denial {
	const char *proto;     /* "tcp", "udp", "icmp", "raw socket" ... */
	const char *address;   /* "" for socket denials */
	unsigned port;
	unsigned pid;          /* as the container sees it; 0 when unknown */
	const char *comm;
	const char *hook;      /* "connect", "sendmsg", "packet", "socket" */
};
void egress_set_sink(struct egress *e, void (*sink)(const struct egress_denial *, void *), void *arg);
/* Remove the container's map entries (the cgroup takes the programs with it). */
void egress_detach(struct egress *e);
/* The directory name of the pinned set the container uses, under
 * /sys/fs/bpf/nucleus ("egress-<version>-l<level>"): its state records it. */
const char *egress_pin_set(const struct egress *e);

struct egress_totals {
	uint64_t allow_pkts, allow_bytes, deny_pkts, deny_bytes, deny_calls;
	uint64_t events, events_lost, events_limited;
};
/* Drop the entries of supervisors that died without egress_detach()
 * (SIGKILL), in every pinned set whose maps this build knows (another
 * build's too), and unpin other builds' sets that no container uses any
 * more: `rm` calls it; every egress_attach() collects its own set's entries. */
void egress_gc(unsigned cgroup_level);
/* Counters of a running container (summed over CPUs), from the set it
 * recorded (NULL: the set that has its cgroup); -ENOENT without a policy. */
int egress_totals(uint64_t cgid, unsigned cgroup_level, const char *set, struct egress_totals *t,
		  struct nerr *err);

/* ---- bridge networking (--network bridge) -----------------------------------------
 * A host bridge (default nucleus0, 10.0.42.1/24 and fd00:6e75:636c::1/64), one
 * veth pair per container (eth0 inside), addresses from a locked allocator
 * whose leases are files under NET_LEASE_DIR (one per host and network
 * namespace, whatever the runtime root: the bridge is the host's),
 * masquerade and published ports in the nftables table `inet nucleus`.
 * See docs/networking.md.
 *
 * Order in the run sequence:
 *   bridge_config_* while parsing flags, bridge_config_validate() with the rest;
 *   net_bridge_prepare() before clone (after the state lock is held): every
 *     error on bad input comes here, before anything exists on the host;
 *   net_bridge_attach() after clone, before the child is released to exec;
 *   net_bridge_detach() when the workload has exited (or on any failure
 *     after prepare), always;
 *   net_bridge_gc() from `rm` and the start-up garbage collection. */
#define NET_BRIDGE_NAME "nucleus0"
#define NET_LEASE_DIR "/run/nucleus-net"
#define NET_BRIDGE_SUBNET4 "10.0.42.0/24"
#define NET_BRIDGE_SUBNET6 "fd00:6e75:636c::/64"
#define NET_MAX_PORTS 128              /* published ports per container, ranges expanded */

/* -p [HOSTIP:]HOSTPORT[-END]:CONTPORT[-END][/tcp|/udp]; HOSTIP may be
 * 0.0.0.0, an IPv4 address or a bracketed IPv6 one ([::], [2001:db8::1]). */
struct port_spec {
	int host_family;       /* 0: every local address of both families; 4 or 6 */
	uint8_t host_ip[16];   /* with host_family 4/6; all zero: any address of it */
	uint16_t host_port;    /* first port of the range */
	uint16_t cont_port;
	uint16_t count;        /* ports in the range, >= 1 */
	uint8_t proto;         /* IPPROTO_TCP or IPPROTO_UDP */
};
int port_spec_parse(const char *s, struct port_spec *out, struct nerr *err);
/* The canonical form: "8080:80/tcp", "127.0.0.1:8080-8081:80-81/udp", "[::1]:…". */
void port_spec_format(const struct port_spec *p, char *buf, size_t len);
/* Both claim a host port for the same protocol on a common host address. */
bool port_spec_conflict(const struct port_spec *a, const struct port_spec *b);

struct bridge_config {
	char name[16];         /* the host bridge (an interface name) */
	struct cidr subnet4;   /* the gateway is its first address */
	struct cidr subnet6;   /* family 0 until validated: derived from the name */
	bool subnet4_set, subnet6_set;
	bool ipv6;             /* dual-stack (default; off when the host has no IPv6) */
	struct port_spec *ports;
	size_t nports;
	/* Set by the caller before prepare: the runtime dir (NULL:
	 * /run/nucleus). The container's supervisor holds <state_dir>/<id>/lock
	 * while it lives; its lease names that file as its owner. */
	const char *state_dir;
};
void bridge_config_init(struct bridge_config *c);
void bridge_config_free(struct bridge_config *c);
int bridge_config_set_name(struct bridge_config *c, const char *name, struct nerr *err);   /* --bridge */
int bridge_config_add_subnet(struct bridge_config *c, const char *cidr, struct nerr *err); /* --subnet, once per family */
int bridge_config_add_port(struct bridge_config *c, const char *spec, struct nerr *err);   /* -p/--publish */
/* Checks that need no system access (subnet sizes, duplicate ports); fills
 * in the derived IPv6 subnet. Idempotent; prepare calls it too. */
int bridge_config_validate(struct bridge_config *c, struct nerr *err);
/* The gateway (the host's address on the bridge), e.g. for host-gateway. */
void bridge_config_gateway(const struct bridge_config *c, int family, char *buf, size_t len);

/* --add-host NAME:IP (or NAME=IP) -> "IP\tNAME" for /etc/hosts (caller frees).
 * IP "host-gateway" becomes `gateway` (NULL: refused, no bridge). */
int add_host_parse(const char *arg, const char *gateway, char **line, struct nerr *err);
/* --dns-search DOMAIN: a plausible DNS name (labels of [A-Za-z0-9_-], 253 max). */
int dns_search_check(const char *domain, struct nerr *err);
/* Resolvers a bridge container gets when no --dns is given (agent mode). */
const char *const *net_bridge_default_dns(void);

/* One container's place on a bridge. Filled by prepare; read-only for callers. */
struct net_lease {
	char id[65];
	char bridge[16];
	char host_ifname[16];  /* the veth's host end ("nv" + 12 characters of the id) */
	struct cidr addr4, addr6;   /* the container's addresses, prefix = the subnet's;
	                             * addr6.family 0 without IPv6 */
	struct cidr gateway4, gateway6;
	unsigned mtu;          /* the bridge's, known after attach */
	struct net_lease_priv *priv;
};
/* Validate against the host (bridge exists with other addresses, subnet
 * overlaps another interface, host port published by another container or in
 * use on the host), collect leases of dead containers (of every runtime
 * root), allocate an address and reserve the host ports. Nothing exists on the host yet but the lease
 * file and the port reservations, both undone by net_bridge_detach(). */
int net_bridge_prepare(struct bridge_config *c, const char *id, struct net_lease **out, struct nerr *err);
/* After clone, from the supervisor in the host network namespace: bridge
 * (created on first use), veth into the child's netns as eth0, addresses,
 * routes, lo up, published ports, forwarding. */
int net_bridge_attach(const struct bridge_config *c, struct net_lease *l, pid_t child_pid, struct nerr *err);
/* Undo everything of the lease (published ports, lease, forwarding count)
 * and free it; NULL is fine. The veth pair goes with the container's network
 * namespace; a host end still attached to a live one is deleted. */
void net_bridge_detach(struct net_lease *l);
/* /etc/hosts lines naming the container: "IP\thostname" per family (strv). */
char **net_lease_hosts(const struct net_lease *l, const char *hostname);
/* Remove what belongs to containers whose supervisor is gone, under any
 * runtime root (leases, published ports, veth host ends, the forwarding
 * count), and the rules of bridges that no longer exist; adopt the leases
 * an older build kept under state_dir. Cheap when there is nothing to
 * collect. */
void net_bridge_gc(const char *state_dir);

/* compose down: delete a bridge nucleus created (its alias says so), its
 * elements in table inet nucleus and its lease directory, and put
 * forwarding back when no lease is left anywhere. Leases of dead
 * containers are collected first; -EBUSY (nothing done) while a live one
 * holds an address on it; -EPERM (nothing done) for nucleus0 and for a
 * bridge nucleus did not create; 0 when it does not exist (its state, if
 * any, dropped). */
int net_bridge_remove(const char *name, struct nerr *err);

/* ---- a hosts file shared by a compose network (--hosts-file; src/network/hosts.c) ----
 * Bound read-only at /etc/hosts of every container given it; each
 * container's supervisor adds its lines ("ADDR\tSERVICE TOPOLOGY-SERVICE
 * NAME...", its --add-host lines) when it gets its address and takes them
 * out when it ends, each tagged "\t# nucleus <id>"; the file is rewritten
 * in place (same inode) under an flock on it. */
#define NET_HOSTS_HEADER "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
/* Create PATH (0644, the localhost lines) unless it exists: an existing
 * one is only checked (net_hosts_file_open), its lines kept. */
int net_hosts_file_init(const char *path, struct nerr *err);
/* Open for reading and writing: absolute, no symlink, a regular file of
 * root or the caller, not writable by group or others, at most 1 MiB. */
int net_hosts_file_open(const char *path, int *fd, struct nerr *err);
/* Pure: the file's new text: owner's lines replaced by `self` and `extra`
 * (each tagged), other containers' lines with an address or a name of
 * `self` dropped (superseded), untagged lines kept, the localhost lines
 * put first when there is none. self, extra: "ADDR\tNAME..." (NULL: none). */
char *net_hosts_render(const char *old, const char *owner, char *const *self, char *const *extra);
/* The render applied to the open file, in place, under an flock. Both
 * NULL: the owner's lines removed. */
int net_hosts_file_update(int fd, const char *owner, char *const *self, char *const *extra, struct nerr *err);

enum network_mode { NETWORK_NONE, NETWORK_HOST, NETWORK_BRIDGE };
/* "none", "host", "bridge"; network_mode_parse: -1 for anything else. */
const char *network_mode_name(enum network_mode m);
int network_mode_parse(const char *s);

/* The container configuration's network part (container_config.net);
 * its strings and arrays are owned (container_config_free). */
struct net_config {
	enum network_mode mode;
	bool allow_host_network;
	struct bridge_config bridge; /* --network bridge: --bridge, --subnet, -p */
	bool bridge_flags;           /* one of those was given */
	char **dns;
	char **dns_search;           /* --dns-search */
	char **add_hosts;            /* --add-host as given */
	char **extra_hosts;          /* their /etc/hosts lines (validate) */
	char *hosts_file;            /* --hosts-file: bound at /etc/hosts, its lines kept
	                              * by the supervisor (compose; NULL: generated) */
	struct egress_config egress;
};

#endif
