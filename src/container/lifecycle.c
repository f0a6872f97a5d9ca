/* Removal, garbage collection and the detached start. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <nucleus/container.h>
#include <nucleus/resources.h>

/* Wait until no supervisor holds the container's lock; returns the lock fd. */
static int wait_unsupervised(const char *id, int timeout_ms)
{
	for (int waited = 0;; waited += 10) {
		int fd = state_lock(id, false);

		if (fd >= 0 || fd != -EWOULDBLOCK || waited >= timeout_ms)
			return fd;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

int container_remove(const char *id, bool force, struct nerr *err)
{
	struct container_state st = { 0 };
	struct cgroup_host host;
	struct cgroup cg;
	char dir[4096];
	int lock, r;
	bool have_state = state_read(id, &st, NULL) == 0;

	lock = state_lock(id, false);
	if (lock == -EWOULDBLOCK) {
		if (!force) {
			container_state_free(&st);
			return nerr_set(err, 0, "container %s is running: stop it first, or remove it with --force",
					have_state ? st.name : id);
		}
		/* The supervisor reaps and cleans up once the init is gone. It
		 * may still be starting (no state, no cgroup yet): keep killing
		 * what appears until it lets go. */
		for (int waited = 0; lock == -EWOULDBLOCK && waited < 10000; waited += 10) {
			struct container_state now = { 0 };

			if (state_read(id, &now, NULL) == 0 && state_pid_alive(&now))
				kill(now.pid, SIGKILL);
			container_state_free(&now);
			if (cgroup_host_detect(&host, NULL) == 0 && cgroup_open(&cg, &host, id, NULL) == 0) {
				cgroup_kill_all(&cg, NULL);
				cgroup_close(&cg);
			}
			lock = wait_unsupervised(id, 10);
		}
	}
	state_path(id, NULL, dir, sizeof(dir));
	if (lock < 0 && access(dir, F_OK) < 0) {
		container_state_free(&st);
		return 0;            /* the supervisor removed it already */
	}
	if (lock < 0) {
		container_state_free(&st);
		return nerr_set(err, -lock, "lock container %.12s", id);
	}
	/* Nobody looks after it: whatever remains is ours to collect. */
	if (cgroup_host_detect(&host, NULL) == 0 && cgroup_open(&cg, &host, id, NULL) == 0) {
		r = cgroup_destroy(&cg, err);
		if (r < 0) {
			close(lock);
			container_state_free(&st);
			return r;
		}
	}
	if (have_state)
		state_release_name(st.name, id);
	r = remove_tree(dir);
	close(lock);
	/* its lease and published ports, now that nobody holds its lock
	 * (also before its state was written: a crash right after clone) */
	net_bridge_gc(runtime_dir());
	if (have_state && st.egress)
		egress_gc(st.cgroup_level);
	container_state_free(&st);
	if (r < 0)
		return nerr_set(err, -r, "remove `%s`", dir);
	return 0;
}

void container_gc(void)
{
	_cleanup_strv_ char **ids = NULL;
	struct nerr err = { 0 };

	if (state_list(&ids, &err) < 0)
		return;
	for (size_t i = 0; ids && ids[i]; i++) {
		struct container_state st = { 0 };
		bool keep;

		if (state_supervised(ids[i]))
			continue;
		/* A detached container that exited cleanly waits for rm. */
		keep = state_read(ids[i], &st, NULL) == 0 && st.status == STATUS_EXITED;
		container_state_free(&st);
		if (keep)
			continue;
		log_debug("gc: collecting %.12s, whose supervisor is gone", ids[i]);
		nerr_clear(&err);
		if (container_remove(ids[i], false, &err) < 0)
			log_debug("gc: %s", err.msg);
	}
	/* leases of containers whose state is gone too, vanished bridges */
	net_bridge_gc(runtime_dir());
}

int container_run_detached(struct container_config *c, int *exit_code, struct nerr *err)
{
	int p[2], status;
	char msg[1200];
	ssize_t n;
	pid_t pid;

	*exit_code = 125;
	if (pipe2(p, O_CLOEXEC) < 0)
		return nerr_set(err, errno, "pipe");
	pid = fork();
	if (pid < 0)
		return nerr_set(err, errno, "fork");
	if (pid == 0) {
		/* A new session, and a grandchild as the supervisor, so that it
		 * belongs to no terminal and outlives the caller's shell. */
		struct nerr e = { 0 };
		int code;

		close(p[0]);
		setsid();
		pid = fork();
		if (pid != 0)
			_exit(pid < 0 ? 1 : 0);
		container_run_notify(c, p[1], &code, &e);
		_exit(code);
	}
	close(p[1]);
	waitpid(pid, &status, 0);
	n = read_all(p[0], msg, sizeof(msg) - 1);
	close(p[0]);
	if (n <= 0)
		return nerr_set(err, EIO, "the supervisor ended before the container started");
	msg[n] = '\0';
	if (!strncmp(msg, "ok", 2)) {
		*exit_code = 0;
		return 0;
	}
	*exit_code = atoi(msg);
	nerr_set(err, 0, "%s", strchr(msg, ' ') ? strchr(msg, ' ') + 1 : msg);
	return *exit_code == 125 ? -EIO : 0;
}

int container_signal(const struct container_state *s, int sig, struct nerr *err)
{
	int fd;

	if (s->status != STATUS_RUNNING || !state_pid_alive(s))
		return nerr_set(err, 0, "container %s is not running", s->name), -ESRCH;
	fd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	if (fd < 0)
		return nerr_set(err, errno, "pidfd_open %d", (int)s->pid);
	/* The pid could have been reused between the check and the open. */
	if (!state_pid_alive(s)) {
		close(fd);
		return nerr_set(err, 0, "container %s is not running", s->name), -ESRCH;
	}
	if (syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0) {
		int e = errno;
		close(fd);
		return nerr_set(err, e, "signal container %s", s->name);
	}
	close(fd);
	return 0;
}

static bool wait_pid_gone(const struct container_state *s, unsigned ms)
{
	for (unsigned waited = 0; waited <= ms; waited += 20) {
		if (!state_pid_alive(s))
			return true;
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return false;
}

int container_stop(const char *id, unsigned timeout_s, struct nerr *err)
{
	struct container_state st = { 0 };
	int r, lock;

	if ((r = state_read(id, &st, err)) < 0)
		return r;
	if (st.status == STATUS_RUNNING && state_pid_alive(&st)) {
		container_signal(&st, SIGTERM, NULL);
		if (!wait_pid_gone(&st, timeout_s * 1000)) {
			struct cgroup_host host;
			struct cgroup cg;

			/* The whole cgroup, not just the init: nothing survives a stop. */
			if (cgroup_host_detect(&host, NULL) == 0 && cgroup_open(&cg, &host, id, NULL) == 0) {
				cgroup_kill_all(&cg, NULL);
				cgroup_close(&cg);
			}
			container_signal(&st, SIGKILL, NULL);
			wait_pid_gone(&st, 5000);
		}
	}
	container_state_free(&st);
	/* Return once the supervisor has recorded the exit and cleaned up. */
	lock = wait_unsupervised(id, 10000);
	if (lock >= 0)
		close(lock);
	return 0;
}

int signal_parse(const char *s)
{
	static const struct { const char *name; int sig; } sigs[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "ILL", SIGILL },
		{ "TRAP", SIGTRAP }, { "ABRT", SIGABRT }, { "BUS", SIGBUS }, { "FPE", SIGFPE },
		{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
		{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM }, { "CHLD", SIGCHLD },
		{ "CONT", SIGCONT }, { "STOP", SIGSTOP }, { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN },
		{ "TTOU", SIGTTOU }, { "URG", SIGURG }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
		{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
		{ "PWR", SIGPWR }, { "SYS", SIGSYS },
	};
	uint64_t n;

	if (parse_u64(s, 1, 64, &n) == 0)
		return (int)n;
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		if (!strcasecmp(s, sigs[i].name))
			return sigs[i].sig;
	return -1;
}
