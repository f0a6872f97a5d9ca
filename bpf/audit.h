/* Shared by bpf/audit.bpf.c and src/audit/kernel.c. */
#ifndef NUCLEUS_BPF_AUDIT_H
#define NUCLEUS_BPF_AUDIT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define AUDIT_RING_BYTES (512 * 1024)
#define AUDIT_PATH_MAX 256
#define AUDIT_ARGS_MAX 256

enum audit_kind {
	AK_EXEC = 1, AK_CONNECT, AK_OPEN, AK_PTRACE, AK_MOUNT, AK_BPF, AK_MODULE,
	AK_SETUID, AK_SETGID,
};

enum audit_source { AS_LSM = 1, AS_TRACEPOINT = 2 };

struct audit_scope {              /* one per audited container */
	__u64 pidns_dev, pidns_ino;
	__u64 owner_pid, owner_start;     /* the supervisor, to collect after a crash */
	__u32 enabled;                    /* set at the workload's exec: the runtime's own
	                                   * setup before it is not the container's doing */
	__u32 pad;
};

struct audit_event {
	__u64 cgid;
	__u64 ts;                 /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 kind;
	__u32 source;
	__u32 pid;                /* as the container sees it */
	__u32 uid;                /* as the host sees it */
	__s32 verdict;            /* the LSM layer's answer (0 or -errno) */
	__u32 has_verdict;        /* 1: fexit on security_*() saw it */
	char comm[16];
	union {
		struct {
			char filename[AUDIT_PATH_MAX];
			char args[AUDIT_ARGS_MAX];   /* NUL-separated */
			__u32 args_len;
			__u32 argc;                  /* strings that are argv (the rest
			                              * may be the environment) */
		} exec;
		struct {
			__u16 family, port;
			__u8 addr[16];
		} connect;
		struct {
			char path[AUDIT_PATH_MAX];
			__u32 flags;
		} open;
		struct {
			__u32 target;     /* host pid */
			__u32 request;
		} ptrace;
		struct {
			char source[64];
			char target[AUDIT_PATH_MAX];
			char type[32];
			__u64 flags;
		} mount;
		struct {
			__u32 cmd;
		} bpf;
		struct {
			char name[64];
			__u32 how;        /* 0 request_module, 1 init/finit_module */
		} module;
		struct {
			__u32 from, to;
		} setid;
	};
};

struct audit_stats {              /* per CPU */
	__u64 events, lost;
};

#endif
