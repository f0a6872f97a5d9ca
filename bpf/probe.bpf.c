// SPDX-License-Identifier: GPL-2.0
/* Feature probes: one trivial program per type nucleus relies on. Each is
 * loaded on its own by `nucleus info`; loading (verification) is the test. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} probe_events SEC(".maps");

SEC("cgroup_skb/egress")
int probe_cgroup_skb(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup/connect4")
int probe_sock_addr(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/sock_create")
int probe_sock_create(struct bpf_sock *sk)
{
	return 1;
}

SEC("tracepoint/raw_syscalls/sys_enter")
int probe_tracepoint(void *ctx)
{
	return 0;
}

SEC("raw_tp/sys_enter")
int probe_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(probe_tp_btf, struct pt_regs *regs, long id)
{
	return 0;
}

SEC("lsm/bprm_check_security")
int BPF_PROG(probe_lsm, struct linux_binprm *bprm, int ret)
{
	return ret;
}

SEC("raw_tp/sys_enter")
int probe_ringbuf(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 *e = bpf_ringbuf_reserve(&probe_events, sizeof(*e), 0);

	if (e) {
		*e = 1;
		bpf_ringbuf_submit(e, 0);
	}
	return 0;
}
