/* Shared by bpf/syscall_trace.bpf.c and src/security/seccomp_trace.c. */
#ifndef NUCLEUS_BPF_TRACE_H
#define NUCLEUS_BPF_TRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TRACE_MAX_NR 1024                 /* syscall numbers recorded per ABI */
#define TRACE_WORDS (TRACE_MAX_NR / 64)
#define TRACE_RING_BYTES (256 * 1024)

/* The name `nucleus attach` gives itself before it joins a container's
 * cgroup: the recorder skips tasks of that name, so the attach's own setup
 * (setns, capset, prctl, landlock, seccomp ...) never enters a trace, while
 * what it runs does. The kernel renames a task at exec, which is where the
 * attached command starts. */
#define TRACE_SETUP_COMM "nucleus-attach"

enum sctrace_abi { ABI_X86_64 = 0, ABI_I386 = 1, ABI_X32 = 2, ABI_COUNT = 3 };

struct sctrace_state {
	__u32 enabled;            /* 0 until the workload's exec (run), 1 when attached late */
	__u32 pad;
	__u64 owner_pid;          /* the tracer, for collecting after a crash */
	__u64 owner_start;
	/* global, so first-seen is decided once; here rather than in a map of
	 * its own, so a syscall costs one lookup less */
	__u64 seen[ABI_COUNT][TRACE_WORDS];
};

struct sctrace_key {
	__u64 cgid;
	__u32 abi;
	__u32 pad;
};

struct sctrace_counts {             /* per CPU: counting costs no atomics */
	__u64 n[TRACE_MAX_NR];
};

struct sctrace_stats {              /* per CPU */
	__u64 events, events_lost, out_of_range;
};

struct sctrace_event {
	__u64 cgid;
	__u64 ts;
	__u32 nr;
	__u32 abi;
	__u32 pid;                /* as the host sees it */
	char comm[16];
};

#endif
