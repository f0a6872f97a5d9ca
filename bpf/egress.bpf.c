// SPDX-License-Identifier: GPL-2.0
/* Egress policy on the container's cgroup.
 *
 * connect4/6 and sendmsg4/6 refuse a disallowed destination before a packet
 * exists (EPERM); cgroup_skb/egress is the per-packet backstop for what those
 * hooks never see (ICMP, raw sockets, TCP fast open, v4-mapped v6);
 * sock_create keeps raw and packet sockets out unless the policy allows them.
 * Replies of connections the container accepted are told apart by a mark in
 * socket storage set when the passive open completes (sock_ops), and UDP
 * replies by the peer having written first (an LRU of flows seen at ingress).
 *
 * Everything is keyed by the container's cgroup id, at the container's level
 * of the hierarchy, so sub-cgroups a workload creates are still its own. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"
#include "egress.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define AF_INET 2
#define AF_INET6 10
#define AF_PACKET 17
#define SOCK_RAW 3
#define IPPROTO_ICMP 1
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_ICMPV6 58
#define FLOW_TTL_NS (120ull * 1000000000ull)

CONTAINER_MAP(policy, BPF_MAP_TYPE_HASH, struct egress_policy, 4096);

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct egress_key4);
	__type(value, struct egress_rule);
} rules4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct egress_key6);
	__type(value, struct egress_rule);
} rules6 SEC(".maps");

CONTAINER_MAP(counters, BPF_MAP_TYPE_PERCPU_HASH, struct egress_counters, 4096);

CONTAINER_MAP(ratelimit, BPF_MAP_TYPE_HASH, struct egress_ratelimit, 4096);

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct egress_flow);
	__type(value, __u64);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} passive SEC(".maps");

CONTAINER_RINGS(EGRESS_RING_BYTES, 4096);

static __always_inline struct egress_counters *counters_of(__u64 cgid)
{
	return bpf_map_lookup_elem(&counters, &cgid);
}

static __always_inline bool port_in(const __u16 *ports, __u16 n, __u16 port)
{
	if (n == 0)
		return true;
	for (int i = 0; i < EGRESS_MAX_PORTS; i++) {
		if (i >= n)
			break;
		if (ports[i] == port)
			return true;
	}
	return false;
}

static __always_inline __u32 lookup4(__u64 cgid, const __u8 *addr)
{
	struct egress_key4 k = { .prefixlen = 64 + 32, .cgid = cgid };
	struct egress_rule *r;

	__builtin_memcpy(k.addr, addr, 4);
	r = bpf_map_lookup_elem(&rules4, &k);
	return r ? r->verdict : 0;
}

static __always_inline __u32 lookup6(__u64 cgid, const __u8 *addr)
{
	struct egress_key6 k = { .prefixlen = 64 + 128, .cgid = cgid };
	struct egress_rule *r;

	__builtin_memcpy(k.addr, addr, 16);
	r = bpf_map_lookup_elem(&rules6, &k);
	return r ? r->verdict : 0;
}

static __always_inline bool is_v4mapped(const __u8 *a)
{
	for (int i = 0; i < 10; i++)
		if (a[i])
			return false;
	return a[10] == 0xff && a[11] == 0xff;
}

/* family 4: addr[0..3]; family 6: addr[0..15] (v4-mapped is decided as v4). */
static __always_inline bool decide(__u64 cgid, const struct egress_policy *pol, int family,
				   const __u8 *addr, __u8 proto, __u16 dport)
{
	__u32 verdict;

	if (family == 6 && is_v4mapped(addr)) {
		family = 4;
		addr += 12;
	}
	if (pol->flags & EG_PRIVATE_NETNS) {
		/* the container's own loopback, in its own network namespace */
		if (family == 4 && addr[0] == 127)
			return true;
		if (family == 6) {
			bool lo = addr[15] == 1;
			for (int i = 0; i < 15; i++)
				lo = lo && addr[i] == 0;
			if (lo)
				return true;
		}
	}
	verdict = family == 4 ? lookup4(cgid, addr) : lookup6(cgid, addr);
	if ((verdict & EV_DNS) && (proto == IPPROTO_TCP || proto == IPPROTO_UDP) && dport == 53)
		return true;
	if (!(verdict & EV_ALLOW))
		return false;
	if (proto == IPPROTO_TCP)
		return port_in(pol->tcp_ports, pol->ntcp, dport);
	if (proto == IPPROTO_UDP)
		return port_in(pol->udp_ports, pol->nudp, dport);
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/* Rate-limited denial event; a full ring still lets the verdict stand. */
static __always_inline void report(__u64 cgid, struct egress_counters *c, const struct egress_policy *pol,
				   int family, const __u8 *addr, __u8 proto, __u16 dport, __u8 source,
				   bool task_context)
{
	struct egress_ratelimit *rl, fresh = {};
	struct egress_event *e;
	bool full;
	__u64 now = bpf_ktime_get_ns(), sec = now / 1000000000ull;

	rl = bpf_map_lookup_elem(&ratelimit, &cgid);
	if (!rl) {
		bpf_map_update_elem(&ratelimit, &cgid, &fresh, BPF_NOEXIST);
		rl = bpf_map_lookup_elem(&ratelimit, &cgid);
		if (!rl)
			return;
	}
	if (rl->window != sec) {
		rl->window = sec;
		rl->count = 0;
	}
	if (rl->count >= EGRESS_EVENTS_PER_SEC) {
		if (c)
			c->events_limited++;
		return;
	}
	rl->count++;
	e = ring_reserve(&events, cgid, sizeof(*e), &full);
	if (!e) {
		if (full && c)
			c->events_lost++;
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->cgid = cgid;
	e->ts = now;
	e->family = family;
	e->proto = proto;
	e->source = source;
	e->dport = dport;
	if (family == 4)
		__builtin_memcpy(e->addr, addr, 4);
	else
		__builtin_memcpy(e->addr, addr, 16);
	if (task_context) {
		/* the host pid: bpf_get_ns_current_pid_tgid is not available to
		 * cgroup sock_addr programs before Linux 6.x, so userspace turns
		 * it into the container's view when it reads the event */
		e->pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	}
	if (c)
		c->events++;
	bpf_ringbuf_submit(e, 0);
}

/* ---- connect and sendmsg: refuse before a packet exists -------------------- */

static __always_inline bool udp_reply(__u64 cgid, int family, const __u8 *addr, __u16 rport, __u16 lport)
{
	struct egress_flow f = { .cgid = cgid, .rport = rport, .lport = lport, .family = family };
	__u64 *seen;

	if (!lport)
		return false;
	if (family == 4)
		__builtin_memcpy(f.addr, addr, 4);
	else
		__builtin_memcpy(f.addr, addr, 16);
	seen = bpf_map_lookup_elem(&flows, &f);
	return seen && bpf_ktime_get_ns() - *seen < FLOW_TTL_NS;
}

static __always_inline int sock_addr(struct bpf_sock_addr *ctx, int family, __u8 source)
{
	__u64 cgid = current_container();
	struct egress_policy *pol = bpf_map_lookup_elem(&policy, &cgid);
	struct egress_counters *c;
	__u8 addr[16] = {};
	__u8 proto = ctx->protocol;
	__u16 dport = bpf_ntohs((__u16)ctx->user_port);

	if (!pol)
		return 1;
	if (family == 4) {
		__u32 ip = ctx->user_ip4;
		__builtin_memcpy(addr, &ip, 4);
	} else {
		__u32 ip[4] = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3] };
		__builtin_memcpy(addr, ip, 16);
	}
	if (decide(cgid, pol, family, addr, proto, dport))
		return 1;
	if (proto == IPPROTO_UDP && ctx->sk) {
		int f = family == 6 && is_v4mapped(addr) ? 4 : family;
		if (udp_reply(cgid, f, f == 4 && family == 6 ? addr + 12 : addr, dport, ctx->sk->src_port))
			return 1;
	}
	c = counters_of(cgid);
	if (c)
		c->deny_calls++;
	report(cgid, c, pol, family, addr, proto, dport, source, true);
	return 0;
}

SEC("cgroup/connect4")
int egress_connect4(struct bpf_sock_addr *ctx)
{
	return sock_addr(ctx, 4, ES_CONNECT);
}

SEC("cgroup/connect6")
int egress_connect6(struct bpf_sock_addr *ctx)
{
	return sock_addr(ctx, 6, ES_CONNECT);
}

SEC("cgroup/sendmsg4")
int egress_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_addr(ctx, 4, ES_SENDMSG);
}

SEC("cgroup/sendmsg6")
int egress_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sock_addr(ctx, 6, ES_SENDMSG);
}

/* ---- socket creation: no raw or packet sockets unless allowed --------------- */

SEC("cgroup/sock_create")
int egress_sock_create(struct bpf_sock *sk)
{
	__u64 cgid = current_container();
	struct egress_policy *pol = bpf_map_lookup_elem(&policy, &cgid);
	struct egress_counters *c;
	__u8 none[16] = {};

	if (!pol || (pol->flags & EG_ALLOW_RAW))
		return 1;
	if (sk->family != AF_PACKET && sk->type != SOCK_RAW)
		return 1;
	c = counters_of(cgid);
	if (c)
		c->deny_calls++;
	report(cgid, c, pol, sk->family == AF_INET6 ? 6 : 4, none, (__u8)sk->type, 0, ES_SOCKET, true);
	return 0;
}

/* ---- passive opens: mark the socket once the handshake completes ------------- */

SEC("sockops")
int egress_sockops(struct bpf_sock_ops *ops)
{
	struct bpf_sock *sk;
	__u32 *mark;

	if (ops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	sk = ops->sk;
	if (!sk)
		return 1;
	mark = bpf_sk_storage_get(&passive, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (mark)
		*mark = 1;
	return 1;
}

/* ---- packets ------------------------------------------------------------------ */

struct parsed {
	int family;
	__u8 proto;
	__u16 sport, dport;
	__u8 addr[16];          /* destination (egress) or source (ingress) */
	bool later_fragment;    /* no transport header */
};

static __always_inline int parse(struct __sk_buff *skb, struct parsed *p, bool ingress)
{
	__u16 ports[2] = {};
	__u32 off;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) < 0)
			return -1;
		p->family = 4;
		p->proto = ip.protocol;
		__builtin_memcpy(p->addr, ingress ? (void *)&ip.saddr : (void *)&ip.daddr, 4);
		off = ip.ihl * 4;
		if (ip.frag_off & bpf_htons(0x1fff)) {
			p->later_fragment = true;
			return 0;
		}
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) < 0)
			return -1;
		p->family = 6;
		p->proto = ip6.nexthdr;   /* extension headers: not TCP/UDP/ICMPv6, so denied */
		__builtin_memcpy(p->addr, ingress ? (void *)&ip6.saddr : (void *)&ip6.daddr, 16);
		off = sizeof(ip6);
	} else {
		return -1;
	}
	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) {
		if (bpf_skb_load_bytes(skb, off, ports, sizeof(ports)) < 0)
			return -1;
		p->sport = bpf_ntohs(ports[0]);
		p->dport = bpf_ntohs(ports[1]);
	}
	return 0;
}

/* Packets of a connection the container accepted (or is accepting). */
static __always_inline bool passive_tcp(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;

	if (!sk)
		return false;
	/* SYN-ACKs come from request sockets (or the listener, with syncookies) */
	if (sk->state == BPF_TCP_NEW_SYN_RECV || sk->state == BPF_TCP_LISTEN)
		return true;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return false;
	return bpf_sk_storage_get(&passive, sk, 0, 0) != NULL;
}

SEC("cgroup_skb/egress")
int egress_skb(struct __sk_buff *skb)
{
	__u64 cgid = bpf_skb_ancestor_cgroup_id(skb, cgroup_level);
	struct egress_policy *pol = bpf_map_lookup_elem(&policy, &cgid);
	struct egress_counters *c;
	struct parsed p = {};
	bool ok;

	if (!pol)
		return 1;
	c = counters_of(cgid);
	if (parse(skb, &p, false) < 0) {
		ok = false;          /* neither IPv4 nor IPv6 (e.g. from a packet socket) */
	} else if (p.later_fragment) {
		/* the first fragment carried the ports and was checked */
		ok = (p.family == 4 ? lookup4(cgid, p.addr) : lookup6(cgid, p.addr)) & EV_ALLOW;
	} else {
		ok = decide(cgid, pol, p.family, p.addr, p.proto, p.dport) ||
		     (p.proto == IPPROTO_TCP && passive_tcp(skb)) ||
		     (p.proto == IPPROTO_UDP && udp_reply(cgid, p.family, p.addr, p.dport, p.sport));
	}
	if (c) {
		if (ok) {
			c->allow_pkts++;
			c->allow_bytes += skb->len;
		} else {
			c->deny_pkts++;
			c->deny_bytes += skb->len;
		}
	}
	if (!ok)
		report(cgid, c, pol, p.family ? p.family : 4, p.addr, p.proto, p.dport, ES_PACKET, false);
	return ok ? 1 : 0;
}

/* UDP peers that write first may be answered (a server behind a port). */
SEC("cgroup_skb/ingress")
int egress_ingress(struct __sk_buff *skb)
{
	__u64 cgid = bpf_skb_ancestor_cgroup_id(skb, cgroup_level);
	struct egress_flow f = {};
	struct parsed p = {};
	__u64 now;

	if (!bpf_map_lookup_elem(&policy, &cgid))
		return 1;
	if (parse(skb, &p, true) < 0 || p.proto != IPPROTO_UDP || p.later_fragment)
		return 1;
	f.cgid = cgid;
	f.family = p.family;
	f.rport = p.sport;
	f.lport = p.dport;
	__builtin_memcpy(f.addr, p.addr, 16);
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&flows, &f, &now, BPF_ANY);
	return 1;
}
