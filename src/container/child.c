/* The child: from clone to execve, in the order docs/design.md lays down. Any
 * failure is reported to the parent as one message and ends the child. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <linux/close_range.h>
#include "internal.h"

/* Wait for one message from the parent; SYNC_CGROUPS may arrive early,
 * while the child waits for something else, and is remembered. */
static bool cgroups_ready;

static void __attribute__((noreturn)) fail(struct child_args *a, struct nerr *err);

static int wait_for(struct child_args *a, enum sync_type want)
{
	struct sync_msg m;
	int r;

	if (want == SYNC_CGROUPS && cgroups_ready)
		return 0;
	for (;;) {
		int fd;

		if ((r = sync_recv(a->sync_fd, &m, &fd)) < 0)
			return r;
		if (m.type == SYNC_CGROUP_JOIN) {
			/* "0": this (single-threaded) process, without the global
			 * lock a move by pid takes (cgroup_open_v1_tasks) */
			if (fd < 0 || write(fd, "0", 1) != 1) {
				struct nerr err = { 0 };

				nerr_set(&err, fd < 0 ? EPROTO : errno, "join a cgroup v1 hierarchy");
				fail(a, &err);
			}
		}
		if (fd >= 0)
			close(fd);
		if (m.type == SYNC_CGROUPS)
			cgroups_ready = true;
		if (m.type == want)
			return 0;
	}
}

static void __attribute__((noreturn)) fail(struct child_args *a, struct nerr *err)
{
	sync_send(a->sync_fd, SYNC_ERROR, err->code, err->msg, -1);
	_exit(125);
}

/* A security layer that could not be put in place: fatal, unless agent
 * mode's --allow-degraded-security made it a warning (production refuses
 * that flag). */
static void degraded(struct child_args *a, struct nerr *err)
{
	char msg[sizeof(err->msg) + 64];

	if (!a->cfg->sec.allow_degraded)
		fail(a, err);
	snprintf(msg, sizeof(msg), "%s (running without it: --allow-degraded-security)", err->msg);
	sync_send(a->sync_fd, SYNC_WARNING, 0, msg, -1);
	*err = (struct nerr){ 0 };
}

/* Open a pty in the container's own devpts and hand the master to the
 * parent; the slave becomes the workload's terminal. */
static int setup_tty(struct child_args *a, struct nerr *err)
{
	_cleanup_close_ int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	_cleanup_close_ int slave = -1;
	int r;

	if (master < 0)
		return nerr_set(err, errno, "open /dev/pts/ptmx");
	if (unlockpt(master) < 0)
		return nerr_set(err, errno, "unlockpt");
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0)
		return nerr_set(err, errno, "open the pty slave");
	if ((r = sync_send(a->sync_fd, SYNC_TTY, 0, NULL, master)) < 0)
		return nerr_set(err, -r, "send the pty to the supervisor");
	/* Wait until the parent has given the pty the caller's window size. */
	if ((r = wait_for(a, SYNC_TTY_READY)) < 0)
		return nerr_set(err, -r, "wait for the supervisor");
	if (setsid() < 0)
		return nerr_set(err, errno, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return nerr_set(err, errno, "set the controlling terminal");
	for (int i = 0; i < 3; i++)
		if (dup2(slave, i) < 0)
			return nerr_set(err, errno, "dup2 the pty");
	return 0;
}

static int exec_search(char *const *argv, char *const *env, char *msg, size_t len);

/* EACCES on a noexec mount: say which flag lifts it. */
static void noexec_hint(const char *path, char *msg, size_t len)
{
	struct statvfs sv;
	size_t n = strlen(msg);

	if (statvfs(path, &sv) == 0 && (sv.f_flag & ST_NOEXEC) && n < len)
		snprintf(msg + n, len - n, " (mounted noexec: see --allow-exec)");
}

int exec_argv(char *const *argv, char *const *env, char *msg, size_t len)
{
	int e = exec_search(argv, env, msg, len);

	return (e == ENOENT || e == ENOTDIR) ? 127 : 126;
}

/* execvp with the container's PATH (glibc's would use ours). Returns the
 * errno that decides between 126 and 127. */
static int exec_search(char *const *argv, char *const *env, char *msg, size_t len)
{
	const char *cmd = argv[0], *path = NULL;
	bool eacces = false;

	if (strchr(cmd, '/')) {
		int e;

		execve(cmd, argv, env);
		e = errno;
		snprintf(msg, len, "exec `%s`: %s", cmd, strerror(e));
		if (e == EACCES)
			noexec_hint(cmd, msg, len);
		return e;
	}
	for (size_t i = 0; env[i]; i++)
		if (str_has_prefix(env[i], "PATH="))
			path = env[i] + 5;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	_cleanup_free_ char *copy = xstrdup(path);
	char *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char full[4096];

		snprintf(full, sizeof(full), "%s/%s", *dir ? dir : ".", cmd);
		execve(full, argv, env);
		if (errno == EACCES)
			eacces = true;
		else if (errno != ENOENT && errno != ENOTDIR) {
			snprintf(msg, len, "exec `%s`: %s", full, strerror(errno));
			return errno;
		}
	}
	if (eacces) {
		snprintf(msg, len, "exec `%s`: %s", cmd, strerror(EACCES));
		return EACCES;
	}
	snprintf(msg, len, "exec `%s`: executable file not found in $PATH", cmd);
	return ENOENT;
}

/* --init: pid 1 stays as a minimal init (reaps orphans, forwards every
 * signal to the command, exits with its status); the command runs as its
 * child, in a process group of its own that owns the terminal. The init
 * is forked after every restriction is in force and the workload identity
 * taken on, so it has them too (and, as the same user, may signal the
 * command). Returns in the command's process. */
static void become_init(struct child_args *a)
{
	sigset_t all, saved;
	pid_t cmd;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &saved);
	cmd = fork();
	if (cmd < 0) {
		struct nerr err = { 0 };

		nerr_set(&err, errno, "--init: fork");
		fail(a, &err);
	}
	if (cmd == 0) {
		setpgid(0, 0);
		if (a->cfg->proc.tty)
			tcsetpgrp(STDIN_FILENO, getpid());   /* SIGTTOU is blocked */
		sigprocmask(SIG_SETMASK, &saved, NULL);
		return;
	}
	/* Nothing but 0-2, as after an exec: the command's exec (or its
	 * failure) is what the supervisor waits for on the sync socket, and
	 * no descriptor of the runtime may live on in the container. */
	syscall(SYS_close_range, 3, ~0U, 0);
	prctl(PR_SET_NAME, "nucleus-init", 0, 0, 0);
	/* Dumpable again, as an exec would leave it (a change of uid cleared
	 * it): the init holds nothing but 0-2, and its own workload must be
	 * able to see it (hidepid=invisible hides what it may not ptrace). */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si), status;
		pid_t p;

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(cmd, sig);
			continue;
		}
		while ((p = waitpid(-1, &status, WNOHANG)) > 0)
			if (p == cmd)
				_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
}

void child_main(struct child_args *a)
{
	struct nerr err = { 0 };
	struct sync_msg m;
	char msg[1000];
	int r;

	sigprocmask(SIG_SETMASK, &a->orig_mask, NULL);
	/* The workload starts with default dispositions: a signal ignored by
	 * whoever started nucleus (a background job ignores SIGINT) must not
	 * make the container immune to it. */
	for (int sig = 1; sig < NSIG; sig++) {
		/* the kernel's view: glibc hides its own signals 32 and 33 */
		struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } sa, dfl = { 0 };

		if (syscall(SYS_rt_sigaction, sig, NULL, &sa, sizeof(uint64_t)) == 0 && sa.handler == SIG_IGN)
			syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(uint64_t));
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		_exit(125);
	/* Wait for the parent: maps written, cgroups joined. EOF means it died. */
	if (sync_recv(a->sync_fd, &m, NULL) < 0 || m.type != SYNC_GO)
		_exit(125);

	log_debug("child: released");
	if (a->userns) {
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
			nerr_set(&err, errno, "become root in the user namespace");
			fail(a, &err);
		}
		/* the supplementary groups are set with the workload identity
		 * (identity_apply), once */
	}
	/* Since 6.3 per pid namespace: no memfd can be made executable, so
	 * memfd_create + execveat cannot run code that never was a file. */
	if (!a->cfg->sec.allow_memfd_exec && !a->userns && write_str("/proc/sys/vm/memfd_noexec", "2") < 0 &&
	    errno != ENOENT) {
		nerr_set(&err, errno, "set vm.memfd_noexec (--allow-memfd-exec runs without)");
		fail(a, &err);
	}
	if (sethostname(a->hostname, strlen(a->hostname)) < 0) {
		nerr_set(&err, errno, "sethostname");
		fail(a, &err);
	}
	if (a->cfg->net.mode == NETWORK_NONE && net_loopback_up(&err) < 0)
		fail(a, &err);
	log_debug("child: namespaces ready");
	{
		struct copy_skipped skipped = { 0 };
		_cleanup_free_ char *warn = NULL;

		a->fs.copy_skipped = &skipped;
		/* an ordinary user's secrets: the tmpfs is made here, where
		 * this user namespace may mount (the ids are inside ones) */
		if (a->stage_secrets &&
		    fs_secrets_stage(a->secrets, a->n_secrets, a->cfg->fs.credentials_passthrough,
				     a->cfg->proc.identity.set ? a->cfg->proc.identity.uid : 0,
				     a->cfg->proc.identity.set ? a->cfg->proc.identity.gid : 0,
				     &a->fs.secrets_mount_fd, &err) < 0)
			fail(a, &err);
		if (fs_setup(&a->fs, &err) < 0)
			fail(a, &err);
		a->fs.copy_skipped = NULL;
		if ((warn = copy_skipped_message(&skipped)))
			sync_send(a->sync_fd, SYNC_WARNING, 0, warn, -1);
	}
	log_debug("child: root ready");
	if (a->cfg->fs.verify_context && a->cfg->fs.context) {
		/* the supervisor checks it through this fd, with its threads */
		int fd = open("/context", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (fd < 0) {
			nerr_set(&err, errno, "open /context");
			fail(a, &err);
		}
		r = sync_send(a->sync_fd, SYNC_VERIFY_CONTEXT, 0, NULL, fd);
		close(fd);
		if (r < 0 || wait_for(a, SYNC_VERIFIED) < 0)
			_exit(125);
	}
	if (fs_audit(&a->fs, &err) < 0)
		degraded(a, &err);
	log_debug("child: mounts audited");
	if (a->cfg->proc.tty) {
		if (setup_tty(a, &err) < 0)
			fail(a, &err);
	} else if (setsid() < 0) {
		/* No controlling terminal: TIOCSTI cannot reach the caller's. */
		nerr_set(&err, errno, "setsid");
		fail(a, &err);
	}
	if (rlimits_apply(&a->cfg->res.rlimits, &err) < 0)
		fail(a, &err);
	if (chdir(a->workdir) < 0) {
		nerr_set(&err, errno, "working directory `%s`", a->workdir);
		fail(a, &err);
	}
	/* Nothing runs as the workload before it is in its cgroups. */
	if (wait_for(a, SYNC_CGROUPS) < 0)
		_exit(125);
	log_debug("child: cgroups ready");
	/* Only now: the supervisor has joined it to every hierarchy (v1 ones
	 * after clone), so each is rooted at the container's own cgroup. */
	if (a->cfg->ns.cgroup && unshare(CLONE_NEWCGROUP) < 0) {
		nerr_set(&err, errno, "create the cgroup namespace");
		fail(a, &err);
	}
	/* Only 0-2 reach the workload; the sync socket closes at exec. */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		nerr_set(&err, errno, "close_range");
		fail(a, &err);
	}
	/* The workload identity, now that nothing privileged is left to do;
	 * the terminal becomes the workload's, as a login's would. */
	if (a->cfg->proc.tty && a->cfg->proc.identity.set &&
	    fchown(STDIN_FILENO, a->cfg->proc.identity.uid, (gid_t)-1) < 0) {
		nerr_set(&err, errno, "hand the terminal to the workload");
		fail(a, &err);
	}
	if (identity_apply(&a->cfg->proc.identity, !a->cfg->ns.rootless, &err) < 0)
		fail(a, &err);
	if (caps_apply(&a->cfg->sec.caps, &err) < 0 || set_no_new_privs(&err) < 0)
		fail(a, &err);
	{
		_cleanup_free_ char *warn = NULL;
		int abi = 0;

		if (landlock_apply(&a->landlock, &abi, &warn, &err) < 0)
			degraded(a, &err);
		if (warn)
			sync_send(a->sync_fd, SYNC_WARNING, 0, warn, -1);
	}
	log_debug("child: landlock applied");
	if (a->cfg->net.egress.enabled && !a->cfg->net.egress.allow_raw && sc_install_packet_guard(&err) < 0)
		fail(a, &err);
	/* Last: from here on only execve (and reporting its failure) run. */
	if (a->seccomp->notify_errno) {
		/* --seccomp-log-denied: the listener seccomp(2) returns takes the
		 * lowest free descriptor; the supervisor is told which, and takes
		 * it with pidfd_getfd once it exists. Nothing crosses the socket
		 * after the filter is in force, so a profile that denies sendmsg
		 * cannot wedge the start. */
		int next = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);

		if (next < 0) {
			nerr_set(&err, errno, "fcntl");
			fail(a, &err);
		}
		close(next);
		sync_send(a->sync_fd, SYNC_NOTIFY_FD, next, NULL, -1);
	}
	r = sc_program_install(a->seccomp, 0, &err);
	if (r < 0) {
		if (a->seccomp->notify_errno)
			fail(a, &err);   /* the supervisor waits for a listener */
		degraded(a, &err);
	}
	if (r > 0)
		/* exec only once the supervisor holds the listener (if the profile
		 * denies recvmsg, that denial was answered by it: the same proof) */
		(void)wait_for(a, SYNC_NOTIFY_READY);

	if (a->cfg->proc.init)
		become_init(a);
	r = exec_argv(a->cfg->proc.argv, a->cfg->proc.env, msg, sizeof(msg));
	sync_send(a->sync_fd, SYNC_EXEC_FAILED, r, msg, -1);
	_exit(r);
}
