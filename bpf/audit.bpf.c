// SPDX-License-Identifier: GPL-2.0
/* Audit: what a container executes, connects to, mounts, traces, loads,
 * which sensitive files it opens and which ids it switches to, as typed
 * events in a ring buffer of its own.
 *
 * Two sources for the same events. With BPF-LSM (lsm=...,bpf and trampoline
 * support) the lsm/ programs below run inside the kernel's security hooks and
 * change nothing: each returns the verdict it was given. Where the kernel
 * refuses them, the tracepoint programs at the end report the same kinds of
 * event from sched_process_exec and the syscall-entry tracepoint. Either way
 * only cgroups in `scopes` are looked at, as ancestors at the container's
 * level, so sub-cgroups count and other processes cost one failed lookup. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "common.bpf.h"
#include "audit.h"

#define AF_INET 2
#define AF_INET6 10
#define READING_MODULE 2

CONTAINER_MAP(scopes, BPF_MAP_TYPE_HASH, struct audit_scope, 4096);

CONTAINER_MAP(stats, BPF_MAP_TYPE_PERCPU_HASH, struct audit_stats, 4096);

CONTAINER_RINGS(AUDIT_RING_BYTES, 4096);

/* ---- common --------------------------------------------------------------------- */

static __always_inline struct audit_event *begin(__u32 kind, __u32 source, __u64 *cgid_out)
{
	__u64 cgid = current_container();
	struct audit_scope *scope = bpf_map_lookup_elem(&scopes, &cgid);
	struct bpf_pidns_info ns = {};
	struct audit_stats *st;
	struct audit_event *e;
	bool full;

	if (!scope)
		return NULL;
	if (!scope->enabled) {
		if (kind != AK_EXEC)
			return NULL;
		scope->enabled = 1;       /* the workload's exec: from here on */
	}
	st = bpf_map_lookup_elem(&stats, &cgid);
	e = ring_reserve(&events, cgid, sizeof(*e), &full);
	if (!e) {
		if (full && st)
			st->lost++;
		return NULL;
	}
	if (st)
		st->events++;
	e->cgid = cgid;
	e->ts = bpf_ktime_get_ns();
	e->kind = kind;
	e->source = source;
	e->verdict = 0;
	e->has_verdict = 0;
	e->pid = 0;
	if (!bpf_get_ns_current_pid_tgid(scope->pidns_dev, scope->pidns_ino, &ns, sizeof(ns)))
		e->pid = ns.tgid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	*cgid_out = cgid;
	return e;
}

static __always_inline bool scoped(void)
{
	__u64 cgid = current_container();
	struct audit_scope *scope = bpf_map_lookup_elem(&scopes, &cgid);

	return scope && scope->enabled;
}

/* argv of the current (just exec'd) image, NUL-separated */
static __always_inline void read_args(struct audit_event *e)
{
	struct task_struct *task = bpf_get_current_task_btf();
	unsigned long start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long end = BPF_CORE_READ(task, mm, arg_end);
	unsigned long len = end - start;

	if (len > AUDIT_ARGS_MAX)
		len = AUDIT_ARGS_MAX;
	e->exec.args_len = 0;
	if (len && bpf_probe_read_user(e->exec.args, len & (AUDIT_ARGS_MAX - 1) ?: AUDIT_ARGS_MAX,
				       (void *)start) == 0)
		e->exec.args_len = len;
}

/* Opens worth an event: the kernel's own files, devices beyond the usual
 * ones, and anything opened for writing outside the writable places. */
static __always_inline bool prefix(const char *s, const char *p, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] != p[i])
			return false;
	return true;
}

static __always_inline bool sensitive(const char *path, __u32 flags)
{
	bool write = (flags & 3) != 0 || (flags & 0x40) || (flags & 0x200);   /* O_WRONLY|O_RDWR, O_CREAT, O_TRUNC */

	if (prefix(path, "/proc/sys", 9) || prefix(path, "/sys/", 5) || prefix(path, "/proc/kcore", 11) ||
	    prefix(path, "/proc/kallsyms", 14) || prefix(path, "/proc/keys", 10) ||
	    prefix(path, "/proc/sysrq", 11) || prefix(path, "/etc/shadow", 11))
		return true;
	if (prefix(path, "/dev/", 5)) {
		return !(prefix(path, "/dev/null", 9) || prefix(path, "/dev/zero", 9) || prefix(path, "/dev/full", 9) ||
			 prefix(path, "/dev/random", 11) || prefix(path, "/dev/urandom", 12) ||
			 prefix(path, "/dev/tty", 8) || prefix(path, "/dev/pts", 8) || prefix(path, "/dev/ptmx", 9) ||
			 prefix(path, "/dev/shm", 8) || prefix(path, "/dev/fd", 7) || prefix(path, "/dev/std", 8));
	}
	if (write)
		return !(prefix(path, "/tmp", 4) || prefix(path, "/context", 8) || prefix(path, "/proc/self", 10));
	return false;
}

static __always_inline void fill_sockaddr(struct audit_event *e, const void *sa, bool user)
{
	__u16 family = 0;

	if (user)
		bpf_probe_read_user(&family, sizeof(family), sa);
	else
		bpf_probe_read_kernel(&family, sizeof(family), sa);
	e->connect.family = family;
	if (family == AF_INET) {
		struct sockaddr_in in = {};

		if (user)
			bpf_probe_read_user(&in, sizeof(in), sa);
		else
			bpf_probe_read_kernel(&in, sizeof(in), sa);
		e->connect.port = bpf_ntohs(in.sin_port);
		__builtin_memcpy(e->connect.addr, &in.sin_addr, 4);
	} else if (family == AF_INET6) {
		struct sockaddr_in6 in6 = {};

		if (user)
			bpf_probe_read_user(&in6, sizeof(in6), sa);
		else
			bpf_probe_read_kernel(&in6, sizeof(in6), sa);
		e->connect.port = bpf_ntohs(in6.sin6_port);
		__builtin_memcpy(e->connect.addr, &in6.sin6_addr, 16);
	}
}

/* ---- BPF-LSM: audit only, the verdict passes through ------------------------------ */

SEC("lsm/bprm_committed_creds")
int BPF_PROG(lsm_exec, struct linux_binprm *bprm)
{
	__u64 cgid;
	struct audit_event *e = begin(AK_EXEC, AS_LSM, &cgid);

	if (!e)
		return 0;
	bpf_probe_read_kernel_str(e->exec.filename, sizeof(e->exec.filename), BPF_CORE_READ(bprm, filename));
	/* mm->arg_start is not set yet (the ELF loader sets it later); the
	 * strings are already on the new stack at bprm->p: argv, then the
	 * environment, which argc keeps out of the event */
	e->exec.argc = BPF_CORE_READ(bprm, argc);
	e->exec.args_len = 0;
	{
		/* up to the end of the new stack: a read past it would fail whole */
		unsigned long p = BPF_CORE_READ(bprm, p), end = BPF_CORE_READ(bprm, vma, vm_end);
		unsigned long len = end > p ? end - p : 0;

		if (len > AUDIT_ARGS_MAX)
			len = AUDIT_ARGS_MAX;
		if (len && bpf_probe_read_user(e->exec.args, len & (AUDIT_ARGS_MAX - 1) ?: AUDIT_ARGS_MAX,
					       (void *)p) == 0)
			e->exec.args_len = len;
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Attempts are seen at the entry of the LSM layer (fexit on security_*()),
 * not as a BPF-LSM hook: LSMs run in lsm= order and Landlock or Yama,
 * listed before bpf, refuse first, so a BPF-LSM program would never see
 * the attempts that matter most (a mount in a Landlock domain). fexit sees
 * every call and the layer's final verdict, and changes nothing. */
SEC("fexit/security_file_open")
int BPF_PROG(lsm_open, struct file *file, int ret)
{
	char path[AUDIT_PATH_MAX];
	__u32 flags;
	__u64 cgid;
	struct audit_event *e;

	if (!scoped())
		return 0;
	if (bpf_d_path((struct path *)&file->f_path, path, sizeof(path)) < 0)
		return 0;
	flags = BPF_CORE_READ(file, f_flags);
	if (!sensitive(path, flags))
		return 0;
	e = begin(AK_OPEN, AS_LSM, &cgid);
	if (!e)
		return 0;
	__builtin_memcpy(e->open.path, path, sizeof(path));
	e->open.flags = flags;
	e->verdict = ret;
	e->has_verdict = 1;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("fexit/security_socket_connect")
int BPF_PROG(lsm_connect, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	__u64 cgid;
	struct audit_event *e = begin(AK_CONNECT, AS_LSM, &cgid);

	if (!e)
		return 0;
	fill_sockaddr(e, address, false);
	e->verdict = ret;
	e->has_verdict = 1;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("fexit/security_ptrace_access_check")
int BPF_PROG(lsm_ptrace, struct task_struct *child, unsigned int mode, int ret)
{
	__u64 cgid;
	struct audit_event *e = begin(AK_PTRACE, AS_LSM, &cgid);

	if (!e)
		return 0;
	e->ptrace.target = BPF_CORE_READ(child, tgid);
	e->ptrace.request = mode;
	e->verdict = ret;
	e->has_verdict = 1;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* PTRACE_TRACEME asks the parent to trace: no access check on a child */
SEC("fexit/security_ptrace_traceme")
int BPF_PROG(lsm_ptrace_traceme, struct task_struct *parent, int ret)
{
	__u64 cgid;
	struct audit_event *e = begin(AK_PTRACE, AS_LSM, &cgid);

	if (!e)
		return 0;
	e->ptrace.target = BPF_CORE_READ(parent, tgid);
	e->ptrace.request = 0;     /* PTRACE_TRACEME */
	e->verdict = ret;
	e->has_verdict = 1;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("fexit/security_sb_mount")
int BPF_PROG(lsm_mount, const char *dev_name, const struct path *path, const char *type,
	     unsigned long flags, void *data, int ret)
{
	__u64 cgid;
	struct audit_event *e = begin(AK_MOUNT, AS_LSM, &cgid);

	if (!e)
		return 0;
	if (dev_name)
		bpf_probe_read_kernel_str(e->mount.source, sizeof(e->mount.source), dev_name);
	if (type)
		bpf_probe_read_kernel_str(e->mount.type, sizeof(e->mount.type), type);
	bpf_probe_read_kernel_str(e->mount.target, sizeof(e->mount.target),
				  BPF_CORE_READ(path, dentry, d_name.name));
	e->mount.flags = flags;
	e->verdict = ret;
	e->has_verdict = 1;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* The bpf hook grew a parameter in newer kernels: no verdict is read here. */
SEC("lsm/bpf")
int BPF_PROG(lsm_bpf, int cmd)
{
	__u64 cgid;
	struct audit_event *e = begin(AK_BPF, AS_LSM, &cgid);

	if (!e)
		return 0;
	e->bpf.cmd = cmd;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("lsm/kernel_module_request")
int BPF_PROG(lsm_module_request, char *kmod_name, int ret)
{
	__u64 cgid;
	struct audit_event *e = begin(AK_MODULE, AS_LSM, &cgid);

	if (!e)
		return ret;
	bpf_probe_read_kernel_str(e->module.name, sizeof(e->module.name), kmod_name);
	e->module.how = 0;
	bpf_ringbuf_submit(e, 0);
	return ret;
}

SEC("lsm/kernel_read_file")
int BPF_PROG(lsm_module_load, struct file *file, enum kernel_read_file_id id, bool contents, int ret)
{
	__u64 cgid;
	struct audit_event *e;

	if (id != READING_MODULE)
		return ret;
	e = begin(AK_MODULE, AS_LSM, &cgid);
	if (!e)
		return ret;
	bpf_probe_read_kernel_str(e->module.name, sizeof(e->module.name),
				  BPF_CORE_READ(file, f_path.dentry, d_name.name));
	e->module.how = 1;
	bpf_ringbuf_submit(e, 0);
	return ret;
}

SEC("lsm/task_fix_setuid")
int BPF_PROG(lsm_setuid, struct cred *new, const struct cred *old, int flags, int ret)
{
	__u64 cgid;
	struct audit_event *e = begin(AK_SETUID, AS_LSM, &cgid);

	if (!e)
		return ret;
	e->setid.from = BPF_CORE_READ(old, uid.val);
	e->setid.to = BPF_CORE_READ(new, uid.val);
	bpf_ringbuf_submit(e, 0);
	return ret;
}

SEC("lsm/task_fix_setgid")
int BPF_PROG(lsm_setgid, struct cred *new, const struct cred *old, int flags, int ret)
{
	__u64 cgid;
	struct audit_event *e = begin(AK_SETGID, AS_LSM, &cgid);

	if (!e)
		return ret;
	e->setid.from = BPF_CORE_READ(old, gid.val);
	e->setid.to = BPF_CORE_READ(new, gid.val);
	bpf_ringbuf_submit(e, 0);
	return ret;
}

/* ---- the fallback: tracepoints ---------------------------------------------------- */

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tp_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u64 cgid;
	struct audit_event *e = begin(AK_EXEC, AS_TRACEPOINT, &cgid);

	if (!e)
		return 0;
	bpf_probe_read_kernel_str(e->exec.filename, sizeof(e->exec.filename), BPF_CORE_READ(bprm, filename));
	read_args(e);
	e->exec.argc = BPF_CORE_READ(bprm, argc);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

#define NR_open 2
#define NR_connect 42
#define NR_ptrace 101
#define NR_setuid 105
#define NR_setgid 106
#define NR_setreuid 113
#define NR_setregid 114
#define NR_setresuid 117
#define NR_setresgid 119
#define NR_setfsuid 122
#define NR_setfsgid 123
#define NR_mount 165
#define NR_init_module 175
#define NR_openat 257
#define NR_finit_module 313
#define NR_bpf 321
#define NR_openat2 437

SEC("tp_btf/sys_enter")
int BPF_PROG(tp_syscall, struct pt_regs *regs, long id)
{
	unsigned long a0, a1, a2, a3;
	char path[AUDIT_PATH_MAX];
	struct audit_event *e;
	__u32 kind, flags = 0;
	__u64 cgid;

	switch (id) {
	case NR_open: case NR_openat: case NR_openat2:
		kind = AK_OPEN; break;
	case NR_connect: kind = AK_CONNECT; break;
	case NR_ptrace: kind = AK_PTRACE; break;
	case NR_setuid: case NR_setreuid: case NR_setresuid: case NR_setfsuid:
		kind = AK_SETUID; break;
	case NR_setgid: case NR_setregid: case NR_setresgid: case NR_setfsgid:
		kind = AK_SETGID; break;
	case NR_mount: kind = AK_MOUNT; break;
	case NR_init_module: case NR_finit_module: kind = AK_MODULE; break;
	case NR_bpf: kind = AK_BPF; break;
	default:
		return 0;
	}
	if (!scoped())
		return 0;
	a0 = BPF_CORE_READ(regs, di);
	a1 = BPF_CORE_READ(regs, si);
	a2 = BPF_CORE_READ(regs, dx);
	a3 = BPF_CORE_READ(regs, r10);
	if (kind == AK_OPEN) {
		const char *name = (const char *)(id == NR_open ? a0 : a1);

		if (id == NR_open)
			flags = (__u32)a1;
		else if (id == NR_openat)
			flags = (__u32)a2;
		else
			bpf_probe_read_user(&flags, sizeof(flags), (void *)a2);   /* struct open_how.flags */
		if (bpf_probe_read_user_str(path, sizeof(path), name) <= 0 || path[0] != '/' ||
		    !sensitive(path, flags))
			return 0;
	}
	e = begin(kind, AS_TRACEPOINT, &cgid);
	if (!e)
		return 0;
	switch (kind) {
	case AK_OPEN:
		__builtin_memcpy(e->open.path, path, sizeof(path));
		e->open.flags = flags;
		break;
	case AK_CONNECT:
		e->connect.family = 0;
		fill_sockaddr(e, (const void *)a1, true);
		break;
	case AK_PTRACE:
		e->ptrace.request = (__u32)a0;
		e->ptrace.target = (__u32)a1;
		break;
	case AK_SETUID:
	case AK_SETGID:
		e->setid.from = kind == AK_SETUID ? (__u32)bpf_get_current_uid_gid()
						  : (__u32)(bpf_get_current_uid_gid() >> 32);
		/* the requested id: setresuid's effective one, the others' first */
		e->setid.to = (__u32)((id == NR_setresuid || id == NR_setresgid ||
				      id == NR_setreuid || id == NR_setregid) ? a1 : a0);
		break;
	case AK_MOUNT:
		bpf_probe_read_user_str(e->mount.source, sizeof(e->mount.source), (void *)a0);
		bpf_probe_read_user_str(e->mount.target, sizeof(e->mount.target), (void *)a1);
		bpf_probe_read_user_str(e->mount.type, sizeof(e->mount.type), (void *)a2);
		e->mount.flags = a3;
		break;
	case AK_MODULE:
		e->module.how = 1;
		e->module.name[0] = 0;
		break;
	case AK_BPF:
		e->bpf.cmd = (__u32)a0;
		break;
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}
