/* Shared by bpf/egress.bpf.c and src/network/egress.c: plain C structs, no
 * kernel or libc headers beyond fixed-width types. */
#ifndef NUCLEUS_BPF_EGRESS_H
#define NUCLEUS_BPF_EGRESS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define EGRESS_MAX_PORTS 32
#define EGRESS_RING_BYTES (64 * 1024)
#define EGRESS_EVENTS_PER_SEC 20

/* egress_policy.flags */
#define EG_PRIVATE_NETNS  (1u << 0)   /* the container's own loopback is allowed */
#define EG_ALLOW_RAW      (1u << 1)   /* raw and packet sockets may be created */

/* egress_rule.verdict bits: absence of a matching prefix is deny */
#define EV_ALLOW (1u << 0)            /* the policy's TCP/UDP ports, and ICMP */
#define EV_DNS   (1u << 1)            /* TCP and UDP port 53 */

/* egress_event.source */
#define ES_CONNECT 1
#define ES_SENDMSG 2
#define ES_PACKET 3
#define ES_SOCKET 4

struct egress_policy {
	__u32 flags;
	__u16 ntcp, nudp;             /* 0: every port */
	__u16 tcp_ports[EGRESS_MAX_PORTS];
	__u16 udp_ports[EGRESS_MAX_PORTS];
	/* userspace only: the supervisor that owns the entries (pid and start
	 * time), so a SIGKILLed one's are collected, as audit and trace do */
	__u64 owner_pid, owner_start;
};

/* LPM-trie keys: the container's cgroup id is part of the prefix, so one
 * trie holds every container's rules and longest prefix decides within it. */
struct egress_key4 {
	__u32 prefixlen;              /* 64 + CIDR length */
	__u64 cgid;
	__u8 addr[4];
} __attribute__((packed));

struct egress_key6 {
	__u32 prefixlen;
	__u64 cgid;
	__u8 addr[16];
} __attribute__((packed));

struct egress_rule {
	__u32 verdict;
};

struct egress_counters {
	__u64 allow_pkts, allow_bytes;
	__u64 deny_pkts, deny_bytes;
	__u64 deny_calls;             /* connect/sendmsg/socket refused */
	__u64 events, events_lost, events_limited;
};

struct egress_event {
	__u64 cgid;
	__u64 ts;
	__u32 pid;                    /* host pid (userspace: as the container sees it); 0 when unknown */
	__u8 family;                  /* 4 or 6 */
	__u8 proto;                   /* IPPROTO_*; for ES_SOCKET the socket type */
	__u8 source;
	__u8 pad;
	__u16 dport;
	__u16 pad2;
	__u8 addr[16];
	char comm[16];
};

struct egress_flow {                  /* a UDP peer that wrote to the container first */
	__u64 cgid;
	__u8 addr[16];
	__u16 rport, lport;
	__u32 family;
};

struct egress_ratelimit {
	__u64 window;                 /* second of the last event */
	__u32 count;
	__u32 pad;
};

#endif
