/* attach: a new process inside a running container, never with more than
 * the container's workload has; the same process for `nucleus attach` and
 * for the supervisor's health and readiness probes (attach_spawn). */
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

/* What every process attached to one container gets, built once. */
struct attach_prep {
	const struct container_state *st;
	struct sc_program seccomp;
	struct landlock_spec landlock;
	struct cgroup_host host;       /* cg points to it */
	struct cgroup cg;
	bool have_cg;
};

struct attach {
	const struct attach_prep *p;
	const struct container_state *st;
	char **argv, **env;
	bool tty;
	int sync;
	/* attach_spawn: stdout and stderr to out_fd, stdin /dev/null, the
	 * process pid 1 of a pid namespace of its own, nested in the
	 * container's, so that killing it kills every process it left */
	bool probe;
	int out_fd;
	bool redirected;     /* the probe's 1 and 2 are out_fd */
};

int ns_differing(pid_t pid, int mask)
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
		if ((ns[i].flag & mask) && stat(theirs, &a) == 0 && stat(ours, &b) == 0 && a.st_ino != b.st_ino)
			flags |= ns[i].flag;
	}
	return flags;
}

/* Namespaces of the container that differ from ours (setns into one's own
 * user namespace is refused). */
static int ns_to_join(pid_t pid)
{
	return ns_differing(pid, ~0);
}

static void __attribute__((noreturn)) fail(struct attach *at, struct nerr *e)
{
	/* a probe's caller no longer listens: its output says why */
	if (at->redirected)
		dprintf(STDERR_FILENO, "nucleus: %s\n", e->msg);
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
	if (at->probe) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(at->out_fd, STDOUT_FILENO) < 0 ||
		    dup2(at->out_fd, STDERR_FILENO) < 0)
			_exit(125);
		close(null);
		at->redirected = true;
	}
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
	    landlock_apply(&at->p->landlock, NULL, NULL, &e) < 0 ||
	    (st->egress && sc_install_packet_guard(&e) < 0) ||
	    sc_program_install(&at->p->seccomp, st->seccomp_flags, &e) < 0)
		fail(at, &e);
	code = exec_argv(at->argv, at->env, msg, sizeof(msg));
	if (at->redirected)
		dprintf(STDERR_FILENO, "%s\n", msg);
	sync_send(at->sync, SYNC_EXEC_FAILED, code, msg, -1);
	_exit(code);
}

/* A probe's parent, in the container's pid namespace: a pid namespace of
 * the probe's own under it (unshare(CLONE_NEWPID) works only in the
 * caller's active namespace, hence this process), the probe its init: when
 * the probe dies every process it started dies with it, setsid or
 * daemonised or not. Passes the probe's status on. */
static void __attribute__((noreturn)) probe_parent(struct attach *at)
{
	struct nerr e = { 0 };
	siginfo_t si;
	pid_t pid;
	int pfd;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		_exit(125);
	if (unshare(CLONE_NEWPID) < 0) {
		nerr_set(&e, errno, "a pid namespace for the probe");
		fail(at, &e);
	}
	pid = fork();
	if (pid < 0) {
		nerr_set(&e, errno, "fork");
		fail(at, &e);
	}
	if (pid == 0)
		workload(at);
	/* privileged, and visible to the container: not to be traced or read */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	sync_send(at->sync, SYNC_PID, pid, NULL, pfd);
	close(at->sync);
	if (pfd >= 0)
		close(pfd);
	while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0)
		if (errno != EINTR)
			_exit(125);
	_exit(wait_status(&si));
}

/* The intermediate: joins the cgroup and the namespaces, then forks the
 * workload so it is inside the pid namespace too, and passes on its status. */
static void __attribute__((noreturn)) intermediate(struct attach *at, int pidfd, const sigset_t *orig)
{
	const struct attach_prep *p = at->p;
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
	if (p->have_cg && cgroup_join_all(&p->cg, getpid(), &e) < 0)
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
	if (pid == 0) {
		if (at->probe)
			probe_parent(at);
		workload(at);
	}
	if (at->probe) {
		/* the probe's parent tells its pid */
		close(at->sync);
	} else {
		pfd = (int)syscall(SYS_pidfd_open, pid, 0);
		sync_send(at->sync, SYNC_PID, pid, NULL, pfd);
	}
	if (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0)
		_exit(125);
	_exit(wait_status(&si));
}

void attach_prep_free(struct attach_prep *p)
{
	if (!p)
		return;
	if (p->have_cg)
		cgroup_close(&p->cg);
	if (!p->st->cfg.sec.landlock)
		landlock_spec_free(&p->landlock);
	sc_program_free(&p->seccomp);
	free(p);
}

int attach_prepare(const struct container_state *st, struct attach_prep **out, struct nerr *err)
{
	struct attach_prep *p;
	int rc;

	/* its pid is the launcher's: its namespaces are not the workload's */
	if (st->cfg.rt.kind != RUNTIME_NATIVE)
		return nerr_set(err, 0, "%s runs under --runtime %s: nucleus attaches to native containers only "
				"(the runtime's own exec reaches its workload)", st->cfg.name,
				runtime_kind_names[st->cfg.rt.kind]);
	p = xcalloc(1, sizeof(*p));
	p->st = st;
	/* The same filter the workload got, by its cache key; compiled, not
	 * taken on the cache's word, so a cache rewritten since the start
	 * cannot hand the attached process another filter. */
	if ((rc = container_seccomp_prepare(st->cfg.sec.seccomp_trace, st->seccomp_profile, NULL, st->cfg.sec.caps.bounding,
					    st->seccomp_flags | SC_PREPARE_VERIFY, false, &p->seccomp, err)) < 0)
		goto fail;
	if (strcmp(p->seccomp.key, st->seccomp_key)) {
		if (st->seccomp_profile)
			rc = nerr_set(err, 0, "seccomp profile `%s` changed since %s started; "
					  "refusing to attach with a different filter", st->seccomp_profile, st->cfg.name);
		else
			rc = nerr_set(err, 0, "the seccomp filter of %s is not the one this nucleus builds; "
					  "refusing to attach with a different one", st->cfg.name);
		goto fail;
	}
	if (p->seccomp.notify_errno) {
		/* the same filter, with the denials answered by the kernel with
		 * the same errno instead of by the container's supervisor (whose
		 * listener belongs to the workload's filter): as strict, not logged */
		sc_program_free(&p->seccomp);
		if ((rc = container_seccomp_prepare(st->cfg.sec.seccomp_trace, st->seccomp_profile, NULL, st->cfg.sec.caps.bounding,
						    (st->seccomp_flags & ~SC_FLAG_NOTIFY_DENIED) | SC_PREPARE_VERIFY,
						    false, &p->seccomp, err)) < 0)
			goto fail;
	}
	/* The workload's rules, rebuilt from its configuration as the run
	 * built them: a policy (which the run gave the --allow-exec grants
	 * already) or the default rules and those grants. */
	if (st->cfg.sec.landlock) {
		p->landlock = *st->cfg.sec.landlock;
	} else {
		landlock_default_spec(&p->landlock, st->cfg.fs.context_mode == CONTEXT_COPY, st->cfg.fs.context != NULL);
		for (size_t i = 0; st->cfg.fs.allow_exec && st->cfg.fs.allow_exec[i]; i++)
			landlock_spec_allow_exec(&p->landlock, st->cfg.fs.allow_exec[i]);
		container_landlock_volumes(&p->landlock, &st->cfg.fs);
	}
	if (cgroup_host_detect(&p->host, NULL) == 0 && cgroup_open(&p->cg, &p->host, st->cfg.id, NULL) == 0)
		p->have_cg = true;
	*out = p;
	return 0;
fail:
	sc_program_free(&p->seccomp);
	free(p);
	return rc;
}

/* Fork the intermediate with the child's end of the sync pair sv (closed
 * here after the fork); the signal mask it restores is `mask`. */
static pid_t start_intermediate(struct attach *at, int pidfd, int sv[2], const sigset_t *mask, struct nerr *err)
{
	pid_t mid;

	at->sync = sv[1];
	mid = fork();
	if (mid < 0)
		return nerr_set(err, errno, "fork");
	if (mid == 0) {
		close(sv[0]);
		intermediate(at, pidfd, mask);
	}
	close(sv[1]);
	sv[1] = -1;
	return mid;
}

int attach_spawn(const struct attach_prep *p, char **argv, char **env, int out_fd, struct attach_proc *proc,
		 struct nerr *err)
{
	const struct container_state *st = p->st;
	struct attach at = { .p = p, .st = st, .argv = argv, .env = env, .probe = true, .out_fd = out_fd };
	struct timeval tv = { .tv_sec = 5 };
	int sv[2] = { -1, -1 }, pidfd = -1, rc = 0;
	struct sync_msg m;
	sigset_t none;
	pid_t mid;

	proc->mid_pidfd = proc->pidfd = -1;
	/* the current pid: a restart changes it */
	pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0);
	if (pidfd < 0)
		return nerr_set(err, errno, "container %s is not running", st->cfg.name);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = nerr_set(err, errno, "socketpair");
		goto out;
	}
	/* the joining takes milliseconds; a bound all the same, for the loop */
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	sigemptyset(&none);
	if ((mid = start_intermediate(&at, pidfd, sv, &none, err)) < 0) {
		rc = mid;
		goto out;
	}
	proc->mid = mid;
	proc->mid_pidfd = (int)syscall(SYS_pidfd_open, mid, 0);
	if (proc->mid_pidfd < 0) {
		rc = nerr_set(err, errno, "pidfd_open");
		kill(mid, SIGKILL);
		waitpid(mid, NULL, 0);
		goto out;
	}
	rc = sync_recv(sv[0], &m, &proc->pidfd);
	if (rc == 0 && m.type == SYNC_PID && proc->pidfd >= 0)
		goto out;
	if (rc == 0 && m.type == SYNC_ERROR)
		rc = nerr_set(err, m.code, "%s", m.text);
	else
		rc = nerr_set(err, rc < 0 ? -rc : EIO, "start the probe in %s", st->cfg.name);
	if (proc->pidfd >= 0)
		close(proc->pidfd);
	proc->pidfd = -1;
	syscall(SYS_pidfd_send_signal, proc->mid_pidfd, SIGKILL, NULL, 0);
	waitid(P_PIDFD, (id_t)proc->mid_pidfd, &(siginfo_t){ 0 }, WEXITED);
	close(proc->mid_pidfd);
	proc->mid_pidfd = -1;
out:
	for (int i = 0; i < 2; i++)
		if (sv[i] >= 0)
			close(sv[i]);
	close(pidfd);
	return rc;
}

int container_attach(const struct container_state *st, char **argv, char **env, bool tty,
		     int *exit_code, struct nerr *err)
{
	struct attach at = { .st = st, .argv = argv, .env = env, .tty = tty, .sync = -1, .out_fd = -1 };
	struct attach_prep *prep = NULL;
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
	if ((rc = attach_prepare(st, &prep, err)) < 0)
		goto out;
	at.p = prep;
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
	if ((mid = start_intermediate(&at, pidfd, sv, &orig, err)) < 0) {
		rc = mid;
		goto out;
	}
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
	attach_prep_free(prep);
	return rc;
}
