/* attach: a new process inside a running container, never with more than
 * the container's workload has. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/close_range.h>
#include <nucleus/resources.h>
#include "internal.h"
#include "trace.h"

struct attach {
	const struct container_state *st;
	char **argv, **env;
	bool tty;
	int sync;
	struct sc_program seccomp;
	struct landlock_spec landlock;
	struct cgroup cg;
	bool have_cg;
};

/* Namespaces of the container that differ from ours (setns into one's own
 * user namespace is refused). */
static int ns_to_join(pid_t pid)
{
	static const struct { const char *name; int flag; } ns[] = {
		{ "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS }, { "pid", CLONE_NEWPID },
		{ "net", CLONE_NEWNET }, { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC },
		{ "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
	};
	int flags = 0;

	for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
		char theirs[64], ours[64];
		struct stat a, b;

		snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", (int)pid, ns[i].name);
		snprintf(ours, sizeof(ours), "/proc/self/ns/%s", ns[i].name);
		if (stat(theirs, &a) == 0 && stat(ours, &b) == 0 && a.st_ino != b.st_ino)
			flags |= ns[i].flag;
	}
	return flags;
}

static void __attribute__((noreturn)) fail(struct attach *at, struct nerr *e)
{
	sync_send(at->sync, SYNC_ERROR, e->code, e->msg, -1);
	_exit(125);
}

/* The workload side, already inside every namespace. */
static void __attribute__((noreturn)) workload(struct attach *at)
{
	const struct container_state *st = at->st;
	struct rlimit_spec rl;
	struct nerr e = { 0 };
	char msg[1000];
	int code;


	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		_exit(125);
	if ((st->cfg.ns.rootless || st->cfg.ns.userns) && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
		nerr_set(&e, errno, "become root in the container's user namespace");
		fail(at, &e);
	}
	if (at->tty) {
		int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC), slave;
		struct sync_msg m;

		if (master < 0 || unlockpt(master) < 0 ||
		    (slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY)) < 0) {
			nerr_set(&e, errno, "open a pty in the container");
			fail(at, &e);
		}
		sync_send(at->sync, SYNC_TTY, 0, NULL, master);
		close(master);
		if (sync_recv(at->sync, &m, NULL) < 0 || m.type != SYNC_TTY_READY)
			_exit(125);
		if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0 || dup2(slave, 0) < 0 ||
		    dup2(slave, 1) < 0 || dup2(slave, 2) < 0) {
			nerr_set(&e, errno, "set up the pty");
			fail(at, &e);
		}
		close(slave);
	} else if (setsid() < 0) {
		nerr_set(&e, errno, "setsid");
		fail(at, &e);
	}
	rlimits_default(&rl);
	if (st->cfg.res.rlimits.memlock)
		rl.memlock = st->cfg.res.rlimits.memlock;
	if (rlimits_apply(&rl, &e) < 0)
		fail(at, &e);
	if (chdir(st->cfg.proc.workdir ? st->cfg.proc.workdir : "/") < 0 && chdir("/") < 0) {
		nerr_set(&e, errno, "chdir");
		fail(at, &e);
	}
	/* the workload's identity, in the workload's order: before the
	 * capabilities, Landlock and seccomp */
	if (at->tty && st->cfg.proc.identity.set && fchown(STDIN_FILENO, st->cfg.proc.identity.uid, (gid_t)-1) < 0) {
		nerr_set(&e, errno, "hand the terminal to the workload");
		fail(at, &e);
	}
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0 ||
	    identity_apply(&st->cfg.proc.identity, !st->cfg.ns.rootless, &e) < 0 ||
	    caps_apply(&st->cfg.sec.caps, &e) < 0 || set_no_new_privs(&e) < 0 ||
	    landlock_apply(&at->landlock, NULL, NULL, &e) < 0 ||
	    (st->egress && sc_install_packet_guard(&e) < 0) ||
	    sc_program_install(&at->seccomp, st->seccomp_flags, &e) < 0)
		fail(at, &e);
	code = exec_argv(at->argv, at->env, msg, sizeof(msg));
	sync_send(at->sync, SYNC_EXEC_FAILED, code, msg, -1);
	_exit(code);
}

/* The intermediate: joins the cgroup and the namespaces, then forks the
 * workload so it is inside the pid namespace too, and passes on its status. */
static void __attribute__((noreturn)) intermediate(struct attach *at, int pidfd, const sigset_t *orig)
{
	struct nerr e = { 0 };
	siginfo_t si;
	pid_t pid;
	int pfd;

	sigprocmask(SIG_SETMASK, orig, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		_exit(125);
	/* Named before joining: a `seccomp trace` of the container records
	 * neither this process nor, until its exec, the workload it forks
	 * (which inherits the name), so the setup below is not mistaken for
	 * the workload's calls. */
	if (prctl(PR_SET_NAME, TRACE_SETUP_COMM, 0, 0, 0) < 0)
		_exit(125);
	if (at->have_cg && cgroup_join_all(&at->cg, getpid(), &e) < 0)
		fail(at, &e);
	if (setns(pidfd, ns_to_join(at->st->pid)) < 0) {
		nerr_set(&e, errno, "join the namespaces of %s", at->st->cfg.name);
		fail(at, &e);
	}
	pid = fork();
	if (pid < 0) {
		nerr_set(&e, errno, "fork");
		fail(at, &e);
	}
	if (pid == 0)
		workload(at);
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	sync_send(at->sync, SYNC_PID, pid, NULL, pfd);
	if (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0)
		_exit(125);
	_exit(wait_status(&si));
}

int container_attach(const struct container_state *st, char **argv, char **env, bool tty,
		     int *exit_code, struct nerr *err)
{
	struct attach at = { .st = st, .argv = argv, .env = env, .tty = tty, .sync = -1 };
	struct cgroup_host host;
	struct tty_relay *relay = NULL;
	int sv[2] = { -1, -1 }, pidfd = -1, mid_pidfd = -1, work_pidfd = -1, sfd = -1, rc;
	sigset_t orig;
	bool masked = false;
	pid_t mid;

	*exit_code = 125;
	if (st->status != STATUS_RUNNING || !state_pid_alive(st))
		return nerr_set(err, 0, "container %s is not running", st->cfg.name);
	pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0);
	if (pidfd < 0 || !state_pid_alive(st)) {
		rc = nerr_set(err, 0, "container %s is not running", st->cfg.name);
		goto out;
	}
	/* The same filter the workload got, by its cache key; compiled, not
	 * taken on the cache's word, so a cache rewritten since the start
	 * cannot hand the attached process another filter. */
	if ((rc = container_seccomp_prepare(st->cfg.sec.seccomp_trace, st->seccomp_profile, NULL, st->cfg.sec.caps.bounding,
					    st->seccomp_flags | SC_PREPARE_VERIFY, false, &at.seccomp, err)) < 0)
		goto out;
	if (strcmp(at.seccomp.key, st->seccomp_key)) {
		if (st->seccomp_profile)
			rc = nerr_set(err, 0, "seccomp profile `%s` changed since %s started; "
					  "refusing to attach with a different filter", st->seccomp_profile, st->cfg.name);
		else
			rc = nerr_set(err, 0, "the seccomp filter of %s is not the one this nucleus builds; "
					  "refusing to attach with a different one", st->cfg.name);
		goto out;
	}
	if (at.seccomp.notify_errno) {
		/* the same filter, with the denials answered by the kernel with
		 * the same errno instead of by the container's supervisor (whose
		 * listener belongs to the workload's filter): as strict, not logged */
		sc_program_free(&at.seccomp);
		if ((rc = container_seccomp_prepare(st->cfg.sec.seccomp_trace, st->seccomp_profile, NULL, st->cfg.sec.caps.bounding,
						    (st->seccomp_flags & ~SC_FLAG_NOTIFY_DENIED) | SC_PREPARE_VERIFY,
						    false, &at.seccomp, err)) < 0)
			goto out;
	}
	/* The workload's rules, rebuilt from its configuration as the run
	 * built them: a policy (which the run gave the --allow-exec grants
	 * already) or the default rules and those grants. */
	if (st->cfg.sec.landlock) {
		at.landlock = *st->cfg.sec.landlock;
	} else {
		landlock_default_spec(&at.landlock, st->cfg.fs.context_mode == CONTEXT_COPY, st->cfg.fs.context != NULL);
		for (size_t i = 0; st->cfg.fs.allow_exec && st->cfg.fs.allow_exec[i]; i++)
			landlock_spec_allow_exec(&at.landlock, st->cfg.fs.allow_exec[i]);
		container_landlock_volumes(&at.landlock, &st->cfg.fs);
	}
	if (cgroup_host_detect(&host, NULL) == 0 && cgroup_open(&at.cg, &host, st->cfg.id, NULL) == 0)
		at.have_cg = true;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = nerr_set(err, errno, "socketpair");
		goto out;
	}
	sfd = forward_signals_block(&orig);
	masked = true;
	if (sfd < 0) {
		rc = nerr_set(err, -sfd, "signalfd");
		goto out;
	}
	at.sync = sv[1];
	mid = fork();
	if (mid < 0) {
		rc = nerr_set(err, errno, "fork");
		goto out;
	}
	if (mid == 0) {
		close(sv[0]);
		intermediate(&at, pidfd, &orig);
	}
	close(sv[1]);
	sv[1] = -1;
	mid_pidfd = (int)syscall(SYS_pidfd_open, mid, 0);
	for (;;) {
		struct sync_msg m;
		int fd;

		rc = sync_recv(sv[0], &m, &fd);
		if (rc == -EPIPE)
			break;       /* exec happened (or the intermediate died) */
		if (rc < 0) {
			nerr_set(err, -rc, "read from the attached process");
			break;
		}
		if (m.type == SYNC_PID) {
			work_pidfd = fd;
		} else if (m.type == SYNC_TTY) {
			relay = tty_relay_start(fd, err);
			sync_send(sv[0], SYNC_TTY_READY, 0, NULL, -1);
		} else if (m.type == SYNC_EXEC_FAILED) {
			*exit_code = m.code;
			nerr_set(err, 0, "%s", m.text);
			err->code = ENOEXEC;
		} else if (m.type == SYNC_ERROR) {
			nerr_set(err, 0, "%s", m.text);
			err->code = m.code ? m.code : EIO;
		}
	}
	{
		int status = 125;

		rc = supervise_loop(mid_pidfd, work_pidfd >= 0 ? work_pidfd : mid_pidfd, 0, relay, sfd, NULL, 0, &status, err);
		if (err->code && err->code != ENOEXEC)
			rc = -err->code;
		else if (rc == 0)
			*exit_code = err->code == ENOEXEC ? *exit_code : status;
	}
out:
	tty_relay_stop(relay);
	if (masked)
		sigprocmask(SIG_SETMASK, &orig, NULL);
	for (int i = 0; i < 2; i++)
		if (sv[i] >= 0)
			close(sv[i]);
	if (sfd >= 0)
		close(sfd);
	if (pidfd >= 0)
		close(pidfd);
	if (mid_pidfd >= 0)
		close(mid_pidfd);
	if (work_pidfd >= 0)
		close(work_pidfd);
	if (at.have_cg)
		cgroup_close(&at.cg);
	if (!st->cfg.sec.landlock)
		landlock_spec_free(&at.landlock);
	sc_program_free(&at.seccomp);
	return rc;
}
