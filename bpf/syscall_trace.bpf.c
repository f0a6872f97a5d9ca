// SPDX-License-Identifier: GPL-2.0
/* The seccomp trace recorder: every syscall a traced container makes sets a
 * bit in its per-ABI bitmap and bumps a per-CPU count; the first time a
 * syscall is seen, an event goes to the container's ring buffer. Other
 * processes cost one cgroup-id lookup that misses.
 *
 * Recording of a container started with --seccomp-mode trace begins at its
 * workload's exec (sched_process_exec), so the runtime's own setup never
 * enters a profile; the exec itself is recorded as execve. The setup of a
 * `nucleus attach`, which joins the cgroup before it restricts itself, is
 * skipped by its task name (TRACE_SETUP_COMM) until it execs. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "common.bpf.h"
#include "trace.h"

#define TS_COMPAT 0x0002              /* x86: a 32-bit syscall is active */
#define X32_SYSCALL_BIT 0x40000000
#define NR_EXECVE_X86_64 59

CONTAINER_MAP(traced, BPF_MAP_TYPE_HASH, struct sctrace_state, 1024);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 3 * 1024);
	__type(key, struct sctrace_key);
	__type(value, struct sctrace_counts);
} counts SEC(".maps");

CONTAINER_MAP(stats, BPF_MAP_TYPE_PERCPU_HASH, struct sctrace_stats, 1024);

CONTAINER_RINGS(TRACE_RING_BYTES, 1024);

static __always_inline void record(struct sctrace_state *t, __u64 cgid, __u32 abi, __u32 nr)
{
	struct sctrace_key key = { .cgid = cgid, .abi = abi };
	struct sctrace_counts *c;
	struct sctrace_stats *st;
	__u64 bit, old, *words;

	if (nr >= TRACE_MAX_NR) {
		st = bpf_map_lookup_elem(&stats, &cgid);
		if (st)
			st->out_of_range++;
		return;
	}
	c = bpf_map_lookup_elem(&counts, &key);
	if (!c || abi >= ABI_COUNT)
		return;
	words = t->seen[abi];
	/* The compiler knows nr < TRACE_MAX_NR from the test above and drops a
	 * plain mask; the verifier needs to see one on this very register. */
	__u64 idx = nr, word;
	asm volatile("%[i] &= 1023" : [i] "+r"(idx));
	c->n[idx]++;
	word = idx / 64;
	bit = 1ull << (idx & 63);
	/* test first: the atomic (and its cache-line traffic) only once */
	if (words[word] & bit)
		return;
	old = __sync_fetch_and_or(&words[word], bit);
	if (old & bit)
		return;                   /* another CPU saw it first */

	struct sctrace_event *e;
	bool full;

	st = bpf_map_lookup_elem(&stats, &cgid);
	e = ring_reserve(&events, cgid, sizeof(*e), &full);
	if (!e) {
		/* the bitmap and counts are exact; only the live line is lost */
		if (full && st)
			st->events_lost++;
		return;
	}
	e->cgid = cgid;
	e->ts = bpf_ktime_get_ns();
	e->nr = nr;
	e->abi = abi;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (st)
		st->events++;
	bpf_ringbuf_submit(e, 0);
}

/* TRACE_SETUP_COMM as the two words of a 16-byte, NUL-padded comm */
#define SETUP_COMM TRACE_SETUP_COMM "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
#define COMM_WORD(o) ((__u64)(__u8)SETUP_COMM[(o)] | (__u64)(__u8)SETUP_COMM[(o) + 1] << 8 | \
		      (__u64)(__u8)SETUP_COMM[(o) + 2] << 16 | (__u64)(__u8)SETUP_COMM[(o) + 3] << 24 | \
		      (__u64)(__u8)SETUP_COMM[(o) + 4] << 32 | (__u64)(__u8)SETUP_COMM[(o) + 5] << 40 | \
		      (__u64)(__u8)SETUP_COMM[(o) + 6] << 48 | (__u64)(__u8)SETUP_COMM[(o) + 7] << 56)

static __always_inline bool is_setup(__u64 w0, __u64 w1)
{
	return w0 == COMM_WORD(0) && w1 == COMM_WORD(8);
}

static __always_inline void on_enter(long id, bool btf)
{
	__u64 cgid = current_container();
	struct sctrace_state *t = bpf_map_lookup_elem(&traced, &cgid);
	struct task_struct *task;
	__u32 status, abi;

	if (!t || !t->enabled)
		return;
	if (btf) {
		task = bpf_get_current_task_btf();
		status = task->thread_info.status;
		/* two loads from the task already at hand */
		if (is_setup(*(__u64 *)&task->comm[0], *(__u64 *)&task->comm[8]))
			return;
	} else {
		__u64 comm[2];

		task = (struct task_struct *)bpf_get_current_task();
		status = BPF_CORE_READ(task, thread_info.status);
		if (bpf_get_current_comm(comm, sizeof(comm)) == 0 && is_setup(comm[0], comm[1]))
			return;
	}
	if (status & TS_COMPAT)
		abi = ABI_I386;
	else if (id & X32_SYSCALL_BIT)
		abi = ABI_X32;
	else
		abi = ABI_X86_64;
	record(t, cgid, abi, (__u32)(id & ~(long)X32_SYSCALL_BIT));
}

SEC("tp_btf/sys_enter")
int BPF_PROG(trace_enter_btf, struct pt_regs *regs, long id)
{
	on_enter(id, true);
	return 0;
}

/* For kernels without trampolines for tracepoints: the same, by raw_tp. */
SEC("raw_tp/sys_enter")
int trace_enter_raw(struct bpf_raw_tracepoint_args *ctx)
{
	on_enter((long)ctx->args[1], false);
	return 0;
}

/* The workload's exec: from here on its syscalls count. */
static __always_inline void on_exec(void)
{
	__u64 cgid = current_container();
	struct sctrace_state *t = bpf_map_lookup_elem(&traced, &cgid);

	if (!t || t->enabled)
		return;
	t->enabled = 1;
	record(t, cgid, ABI_X86_64, NR_EXECVE_X86_64);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(trace_exec_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	on_exec();
	return 0;
}

SEC("raw_tp/sched_process_exec")
int trace_exec_raw(struct bpf_raw_tracepoint_args *ctx)
{
	on_exec();
	return 0;
}
