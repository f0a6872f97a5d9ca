/* --seccomp-log-denied: the workload's filter returns USER_NOTIF where the
 * profile would deny with its default errno; the supervisor receives each
 * such call, writes a `seccomp_denied` audit event and answers with that
 * errno. Nothing is read from the kernel log, and the syscall never runs:
 * the only possible answer is an error. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <jansson.h>
#include <nucleus/audit.h>
#include "internal.h"

#define RATE_PER_SEC 200     /* events written per second; the rest are counted */

struct sc_notify {
	int fd;
	unsigned answer;
	struct audit_log *log;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	size_t req_size, resp_size;
	uint64_t window_start;
	unsigned in_window;
	uint64_t denied, suppressed;
	bool quiet;
};

int sc_notify_take(pid_t pid, int pidfd, int remote_fd, int timeout_ms, struct nerr *err)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
	char path[64], link[64];
	ssize_t n;
	int fd;

	/* the child announced the descriptor before installing its filter;
	 * it appears once seccomp(2) has returned */
	for (;;) {
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, remote_fd, 0);
		if (fd >= 0 || errno != EBADF || now_ns() > deadline)
			break;
		usleep(100);
	}
	if (fd < 0)
		return nerr_set(err, errno == EBADF ? ETIMEDOUT : errno,
				"take the seccomp listener of pid %d", (int)pid);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0 || (link[n] = '\0', strcmp(link, "anon_inode:seccomp notify"))) {
		close(fd);
		return nerr_set(err, EPROTO, "fd %d of pid %d is not a seccomp listener", remote_fd, (int)pid);
	}
	return fd;
}

struct sc_notify *sc_notify_new(int fd, unsigned answer_errno, struct audit_log *log)
{
	struct seccomp_notif_sizes sizes = { 0 };
	struct sc_notify *n = xcalloc(1, sizeof(*n));

	n->fd = fd;
	n->answer = answer_errno;
	n->log = log;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		sizes = (struct seccomp_notif_sizes){ sizeof(*n->req), sizeof(*n->resp), 0 };
	n->req_size = sizes.seccomp_notif > sizeof(*n->req) ? sizes.seccomp_notif : sizeof(*n->req);
	n->resp_size = sizes.seccomp_notif_resp > sizeof(*n->resp) ? sizes.seccomp_notif_resp
								    : sizeof(*n->resp);
	n->req = xcalloc(1, n->req_size);
	n->resp = xcalloc(1, n->resp_size);
	return n;
}

void sc_notify_set_quiet(struct sc_notify *n, bool quiet)
{
	if (n)
		n->quiet = quiet;
}

int sc_notify_fd(const struct sc_notify *n)
{
	return n ? n->fd : -1;
}

static const char *arch_name(uint32_t arch, int *nr, unsigned *abi)
{
	if (arch == AUDIT_ARCH_I386) {
		*abi = 1;
		return "x86";
	}
	if (arch == AUDIT_ARCH_X86_64 && (*nr & 0x40000000)) {
		*nr &= ~0x40000000;
		*abi = 2;
		return "x32";
	}
	*abi = 0;
	return arch == AUDIT_ARCH_X86_64 ? "x86_64" : "other";
}

static void log_denial(struct sc_notify *n, const struct seccomp_notif *req)
{
	uint64_t now = now_ns();
	int nr = req->data.nr;
	unsigned abi;
	const char *arch = arch_name(req->data.arch, &nr, &abi);
	char *name, comm[32] = "", path[64], args[6][24];
	int pid = (int)req->pid;
	FILE *f;

	if (n->quiet)
		return;
	n->denied++;
	if (!n->log)
		return;
	if (now - n->window_start >= 1000000000ull) {
		n->window_start = now;
		n->in_window = 0;
	}
	if (++n->in_window > RATE_PER_SEC) {
		n->suppressed++;
		return;
	}
	snprintf(path, sizeof(path), "/proc/%u/comm", req->pid);
	if ((f = fopen(path, "re"))) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	/* the pid as the container sees it, like the kernel events */
	if ((pid = proc_ns_pid((pid_t)req->pid)) == 0)
		pid = (int)req->pid;
	name = strcmp(arch, "other") ? sc_trace_syscall_name(abi, (unsigned)nr) : NULL;
	for (int i = 0; i < 6; i++)
		snprintf(args[i], sizeof(args[i]), "%#llx", (unsigned long long)req->data.args[i]);
	audit_log_event(n->log, 0, "seccomp_denied", "seccomp", pid, -1, comm,
			json_pack("{s:s,s:i,s:s,s:[ssssss],s:i,s:s}", "syscall", name ? name : "?",
				  "nr", nr, "arch", arch, "args", args[0], args[1], args[2], args[3],
				  args[4], args[5], "errno", (int)n->answer, "errno_name",
				  strerrorname_np((int)n->answer) ? strerrorname_np((int)n->answer) : "?"));
	free(name);
}

void sc_notify_ready(void *arg)
{
	struct sc_notify *n = arg;

	memset(n->req, 0, n->req_size);
	if (ioctl(n->fd, SECCOMP_IOCTL_NOTIF_RECV, n->req) < 0)
		return;             /* ENOENT: the caller died meanwhile */
	log_denial(n, n->req);
	memset(n->resp, 0, n->resp_size);
	n->resp->id = n->req->id;
	n->resp->error = -(int)n->answer;
	n->resp->val = 0;
	n->resp->flags = 0;
	(void)ioctl(n->fd, SECCOMP_IOCTL_NOTIF_SEND, n->resp);
}

void sc_notify_counts(const struct sc_notify *n, uint64_t *denied, uint64_t *suppressed)
{
	*denied = n ? n->denied : 0;
	*suppressed = n ? n->suppressed : 0;
}

void sc_notify_free(struct sc_notify *n)
{
	if (!n)
		return;
	close(n->fd);
	free(n->req);
	free(n->resp);
	free(n);
}
