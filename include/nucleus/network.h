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
 * before its workload runs; `pid` is its init, for pids as it sees them. */
struct egress;
int egress_attach(const struct egress_config *c, int cgroup_fd, uint64_t cgid, pid_t pid,
		  unsigned cgroup_level, struct egress **out, struct nerr *err);
/* Denial events: an fd to poll, and the function that prints them. */
int egress_events_fd(const struct egress *e);
void egress_events_drain(struct egress *e);
/* Remove the container's map entries (the cgroup takes the programs with it). */
void egress_detach(struct egress *e);

struct egress_totals {
	uint64_t allow_pkts, allow_bytes, deny_pkts, deny_bytes, deny_calls;
	uint64_t events, events_lost, events_limited;
};
/* Counters of a running container (summed over CPUs); -ENOENT without a policy. */
int egress_totals(uint64_t cgid, unsigned cgroup_level, struct egress_totals *t, struct nerr *err);

#endif
