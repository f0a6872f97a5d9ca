/* The built-in seccomp profile: an allowlist at least as strict as Docker's
 * default for a container without capabilities. Everything not listed fails
 * with EPERM: namespace creation (unshare, setns, clone with CLONE_NEW*),
 * mount and the new mount API, keyctl and friends, bpf, perf_event_open,
 * ptrace and cross-process memory access, userfaultfd, io_uring, kexec,
 * module loading, and the obsolete calls. clone3 fails with ENOSYS so libc
 * falls back to clone(2), whose flags a classic BPF filter can inspect. */
#include <errno.h>
#include <string.h>
#include <nucleus/security.h>
#include "seccomp_internal.h"

static const char *const allowed[] = {
	"accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl", "bind", "brk",
	"cachestat", "capget", "capset", "chdir", "chmod", "chown", "clock_adjtime",
	"clock_getres", "clock_gettime", "clock_nanosleep", "close", "close_range",
	"connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
	"epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait",
	"eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
	"faccessat2", "fadvise64", "fallocate", "fanotify_mark", "fchdir", "fchmod",
	"fchmodat", "fchmodat2", "fchown", "fchownat", "fcntl", "fdatasync",
	"fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr",
	"fstat", "fstatfs", "fsync", "ftruncate", "futex", "futex_requeue",
	"futex_wait", "futex_waitv", "futex_wake", "futimesat", "get_robust_list",
	"get_thread_area", "getcpu", "getcwd", "getdents", "getdents64", "getegid",
	"geteuid", "getgid", "getgroups", "getitimer", "getpeername", "getpgid",
	"getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
	"getresuid", "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt",
	"gettid", "gettimeofday", "getuid", "getxattr", "inotify_add_watch",
	"inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy",
	"io_getevents", "io_pgetevents", "io_setup", "io_submit", "ioctl", "ioprio_get",
	"ioprio_set", "kill", "landlock_add_rule", "landlock_create_ruleset",
	"landlock_restrict_self", "lchown", "lgetxattr", "link", "linkat", "listen",
	"listxattr", "llistxattr", "lremovexattr", "lseek", "lsetxattr", "lstat",
	"madvise", "map_shadow_stack", "membarrier", "memfd_create", "mincore", "mkdir",
	"mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mprotect",
	"mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend",
	"mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync",
	"munlock", "munlockall", "munmap", "nanosleep", "newfstatat", "open", "openat",
	"openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
	"pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "prctl", "pread64",
	"preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6", "pwrite64",
	"pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv",
	"recvfrom", "recvmmsg", "recvmsg", "remap_file_pages", "removexattr", "rename",
	"renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction",
	"rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
	"rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo", "sched_get_priority_max",
	"sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam",
	"sched_getscheduler", "sched_rr_get_interval", "sched_setaffinity",
	"sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp",
	"select", "semctl", "semget", "semop", "semtimedop", "sendfile", "sendmmsg",
	"sendmsg", "sendto", "set_robust_list", "set_thread_area", "set_tid_address",
	"setfsgid", "setfsuid", "setgid", "setgroups", "setitimer", "setpgid",
	"setpriority", "setregid", "setresgid", "setresuid", "setreuid", "setrlimit",
	"setsid", "setsockopt", "setuid", "setxattr", "shmat", "shmctl", "shmdt",
	"shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "socketpair",
	"splice", "stat", "statfs", "statx", "symlink", "symlinkat", "sync",
	"sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
	"timer_delete", "timer_getoverrun", "timer_gettime", "timer_settime",
	"timerfd_create", "timerfd_gettime", "timerfd_settime", "times", "tkill",
	"truncate", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
	"utimes", "vfork", "vmsplice", "wait4", "waitid", "write", "writev",
	NULL,
};

/* Every CLONE_NEW* flag that fits clone(2)'s flags word. */
#define CLONE_NEW_MASK 0x7E020000ull
#define AF_ALG_ 38
#define AF_VSOCK_ 40
#define AF_MAX_ 46     /* AF_MCTP (45) is the newest family in 6.x */

static void add_rule(struct sc_profile *p, const char *const *names, struct sc_action a,
		     const struct sc_arg *args, size_t nargs)
{
	struct sc_rule *r;

	p->rules = xrealloc(p->rules, (p->nrules + 1) * sizeof(*p->rules));
	r = &p->rules[p->nrules++];
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; names[i]; i++)
		strv_push(&r->names, names[i]);
	r->action = a;
	if (nargs) {
		r->args = xcalloc(nargs, sizeof(*args));
		memcpy(r->args, args, nargs * sizeof(*args));
		r->nargs = nargs;
	}
}

static const char *const clone_names[] = { "clone", NULL };
static const char *const clone3_names[] = { "clone3", NULL };
static const char *const socket_names[] = { "socket", NULL };
static const char *const personality_names[] = { "personality", NULL };
static const uint64_t personas[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };

/* Everything the built-in profile is made of, hashed straight from the
 * static tables: a warm start needs the cache key, not the profile. */
void sc_builtin_digest(struct sha256 *s)
{
	static const char tag[] = "nucleus-builtin-default-v1";
	uint64_t consts[] = { CLONE_NEW_MASK, AF_ALG_, AF_VSOCK_, AF_MAX_, EPERM, ENOSYS };

	sha256_update(s, tag, sizeof(tag));
	for (size_t i = 0; allowed[i]; i++)
		sha256_update(s, allowed[i], strlen(allowed[i]) + 1);
	sha256_update(s, consts, sizeof(consts));
	sha256_update(s, personas, sizeof(personas));
}

int sc_profile_builtin_default(struct sc_profile *p, struct nerr *err)
{
	const struct sc_action allow = { SC_ALLOW, 0 };
	struct sc_arg a;

	(void)err;
	memset(p, 0, sizeof(*p));
	p->default_action = (struct sc_action){ SC_ERRNO, EPERM };
	add_rule(p, allowed, allow, NULL, 0);

	a = (struct sc_arg){ .index = 0, .op = SC_OP_MASKED_EQ, .value = CLONE_NEW_MASK, .value_two = 0 };
	add_rule(p, clone_names, allow, &a, 1);
	add_rule(p, clone3_names, (struct sc_action){ SC_ERRNO, ENOSYS }, NULL, 0);

	/* Every socket family the kernel knows except AF_ALG (kernel crypto) and
	 * AF_VSOCK, each by exact value: socket(2) reads only the low 32 bits of
	 * its family, so a range test on the 64-bit register could be passed
	 * with high bits set. Families newer than AF_MAX_ are refused. */
	for (uint64_t af = 1; af < AF_MAX_; af++) {
		if (af == AF_ALG_ || af == AF_VSOCK_)
			continue;
		a = (struct sc_arg){ .index = 0, .op = SC_OP_EQ, .value = af };
		add_rule(p, socket_names, allow, &a, 1);
	}

	/* personality(2) only to query or to select the ordinary personalities. */
	for (size_t i = 0; i < ARRAY_SIZE(personas); i++) {
		a = (struct sc_arg){ .index = 0, .op = SC_OP_EQ, .value = personas[i] };
		add_rule(p, personality_names, allow, &a, 1);
	}
	return 0;
}

int sc_profile_allow_all(struct sc_profile *p, struct nerr *err)
{
	(void)err;
	memset(p, 0, sizeof(*p));
	p->default_action = (struct sc_action){ SC_ALLOW, 0 };
	return 0;
}

void sc_profile_free(struct sc_profile *p)
{
	for (size_t i = 0; i < p->nrules; i++) {
		strv_free(p->rules[i].names);
		free(p->rules[i].args);
	}
	free(p->rules);
	free(p->arches);
	strv_free(p->unknown);
	memset(p, 0, sizeof(*p));
}
