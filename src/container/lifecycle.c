/* Removal, garbage collection, names, signals and stop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <jansson.h>
#include <nucleus/audit.h>
#include <nucleus/ebpf.h>
#include <nucleus/container.h>
#include <nucleus/resources.h>
#include "internal.h"

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

/* Kill the init through a pidfd, checked once more after the open. */
static void kill_init(const struct container_state *s)
{
	int fd;

	if (!state_pid_alive(s) || (fd = (int)syscall(SYS_pidfd_open, s->pid, 0)) < 0)
		return;
	if (state_pid_alive(s))
		syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
	close(fd);
}

/* Whatever of a container still runs: nothing survives its supervisor. */
static int kill_cgroup(const char *id, struct nerr *err)
{
	struct cgroup_host host;
	struct cgroup cg;

	if (cgroup_host_detect(&host, NULL) == 0 && cgroup_open(&cg, &host, id, NULL) == 0)
		return cgroup_destroy(&cg, err);
	return 0;
}

/* The host resources of a container nobody looks after any more (its lock
 * is free): the lease, published ports, and its entries in the egress,
 * audit and syscall-recorder maps (with the last audited or traced one,
 * the tracepoints those programs hang on). st NULL: it died before its
 * state was written. */
static void collect_host_resources(const struct container_state *st)
{
	net_bridge_gc(runtime_dir());
	if (!st)
		return;
	if (st->egress)
		egress_gc(st->cgroup_level);
	/* its recorded sets say it too where its state is of the first format */
	if (st->cfg.audit.enabled || bpf_pins_find(st->bpf_pins, "audit"))
		audit_kernel_gc(st->cgroup_level);
	if (st->cfg.sec.seccomp_trace)
		sc_trace_gc(st->cgroup_level);
}

/* Everything of a container nobody looks after (we hold its lock, which
 * goes with it). */
static int remove_locked(const char *id, int lock, const struct container_state *st, struct nerr *err)
{
	char dir[4096];
	int r;

	if (st)
		kill_init(st);
	if ((r = kill_cgroup(id, err)) < 0) {
		close(lock);
		return r;
	}
	if (st)
		state_release_name(st->cfg.name, id);
	else
		state_release_names_of(id);   /* no state to name it */
	/* its logs (kept out of the runtime directory) before its state */
	container_log_dir_remove(id, st ? st->log_path : NULL, st ? st->audit_path : NULL);
	state_path(id, NULL, dir, sizeof(dir));
	r = remove_tree(dir);
	close(lock);
	/* its lease and published ports, now that nobody holds its lock
	 * (also before its state was written: a crash right after clone) */
	collect_host_resources(st);
	if (r < 0)
		return nerr_set(err, -r, "remove `%s`", dir);
	return 0;
}

/* For the container's supervisor: the exit that follows is a stop or a
 * removal, not one to restart (--restart), also when it comes during a
 * restart's backoff (run_restart.c looks for it). */
static void mark_stopping(const char *id)
{
	char marker[PATH_MAX];
	int fd;

	if (state_path(id, "stopping", marker, sizeof(marker)) == 0 &&
	    (fd = open(marker, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) >= 0)
		close(fd);
}

int container_remove(const char *id, bool force, struct nerr *err)
{
	struct container_state st = { 0 };
	struct cgroup_host host;
	struct cgroup cg;
	int lock, r;
	bool have_state = state_read(id, &st, NULL) == 0;

	lock = state_lock_err(id, false, err);
	if (lock == -EWOULDBLOCK) {
		if (!force) {
			r = nerr_set(err, 0, "container %s is running: stop it first, or remove it with --force",
				     have_state ? st.cfg.name : id);
			container_state_free(&st);
			return r;
		}
		/* The supervisor reaps and cleans up once the init is gone. It
		 * may still be starting (no state, no cgroup yet): keep killing
		 * what appears until it lets go. */
		mark_stopping(id);
		for (int waited = 0; lock == -EWOULDBLOCK && waited < 10000; waited += 10) {
			struct container_state now = { 0 };

			if (state_read(id, &now, NULL) == 0)
				kill_init(&now);
			container_state_free(&now);
			if (cgroup_host_detect(&host, NULL) == 0 && cgroup_open(&cg, &host, id, NULL) == 0) {
				cgroup_kill_all(&cg, NULL);
				cgroup_close(&cg);
			}
			lock = wait_unsupervised(id, 10);
		}
		if (lock < 0 && lock != -EWOULDBLOCK)
			lock = state_lock_err(id, false, err);
	}
	if (lock == -ENOENT) {
		container_state_free(&st);
		return 0;            /* the supervisor removed it already */
	}
	if (lock < 0) {
		container_state_free(&st);
		if (lock == -EWOULDBLOCK)
			return nerr_set(err, EWOULDBLOCK, "container %.12s: its supervisor does not let go", id);
		return lock;         /* refused: err says why */
	}
	/* Nobody looks after it: whatever remains is ours to collect. */
	r = remove_locked(id, lock, have_state ? &st : NULL, err);
	container_state_free(&st);
	return r;
}

/* The exit event of a container whose supervisor ended (SIGKILL, a crash)
 * without recording the exit: a full filesystem looks the same from here. */
#define LOST_EXIT "the supervisor died or could not record the exit; the exit status is unknown"

/* A container that ran detached and whose supervisor died: it stays, as
 * "Exited (unknown)" with its logs, until rm; what it held goes. */
static void record_lost_supervisor(struct container_state *st, int lock)
{
	bool was_running = state_pid_alive(st);
	struct nerr err = { 0 };

	kill_init(st);
	if (kill_cgroup(st->cfg.id, &err) < 0)
		log_debug("gc: %s", err.msg);
	st->status = STATUS_EXITED;
	st->exit_code = EXIT_CODE_UNKNOWN;
	st->finished_ns = realtime_ns();
	nerr_clear(&err);
	/* should this fail (a full filesystem), ps still shows it exited:
	 * a running state nobody supervises is one */
	if (state_write(st, &err) < 0)
		log_warn("container %s has no supervisor and its state cannot be updated (it shows as exited, "
			 "status unknown): %s", st->cfg.name, err.msg);
	if (st->audit)
		audit_append(st->audit_path, st->cfg.id, st->cfg.name, "exit",
			     json_pack("{s:n,s:b,s:s,s:i,s:b}", "status", "signaled", false,
				       "error", LOST_EXIT,
				       "supervisor_pid", (int)st->supervisor, "killed_by_cleanup", was_running));
	close(lock);
	collect_host_resources(st);
}

/* One entry: leave it to its supervisor, keep it for rm, or collect it. */
static void gc_one(const char *id)
{
	struct container_state st = { 0 };
	struct nerr err = { 0 };
	int lock = state_lock_err(id, false, &err), r;

	if (lock < 0) {
		/* supervised, gone, or refused (rm says why) */
		if (lock != -EWOULDBLOCK && lock != -ENOENT)
			log_debug("gc: %s", err.msg);
		return;
	}
	r = state_read(id, &st, &err);
	if (r < 0 && r != -ENOENT) {
		/* a state we cannot trust or parse is not ours to judge */
		log_debug("gc: %s", err.msg);
		close(lock);
		return;
	}
	if (r == 0 && st.status == STATUS_EXITED) {
		close(lock);               /* waits for rm */
	} else if (r == 0 && st.status == STATUS_RUNNING && !st.remove_on_exit) {
		log_debug("gc: %.12s lost its supervisor: kept as exited", id);
		record_lost_supervisor(&st, lock);
	} else {
		/* A start that never completed (its caller was told), or a
		 * container to be removed on exit (foreground runs, --rm): as
		 * its supervisor would have, remove it; the host-wide audit log
		 * keeps the exit event. */
		if (r == 0 && st.status == STATUS_RUNNING && st.audit)
			audit_append(st.audit_path, st.cfg.id, st.cfg.name, "exit",
				     json_pack("{s:n,s:b,s:s,s:i,s:b}", "status", "signaled", false,
					       "error", LOST_EXIT,
					       "supervisor_pid", (int)st.supervisor,
					       "killed_by_cleanup", state_pid_alive(&st)));
		log_debug("gc: collecting %.12s, whose supervisor is gone", id);
		if (remove_locked(id, lock, r == 0 ? &st : NULL, &err) < 0)
			log_debug("gc: %s", err.msg);
	}
	container_state_free(&st);
}

void container_gc(void)
{
	_cleanup_strv_ char **ids = NULL;
	struct nerr err = { 0 };

	if (state_list(&ids, &err) < 0)
		return;
	state_gc_unfinished();
	for (size_t i = 0; ids && ids[i]; i++)
		if (!state_supervised(ids[i]))
			gc_one(ids[i]);
	/* leases of containers whose state is gone too, vanished bridges */
	net_bridge_gc(runtime_dir());
	container_log_dirs_gc();
}

int container_claim_name(const char *name, const char *id, struct nerr *err)
{
	struct container_state st = { 0 };
	char holder[33] = "", what[64];
	bool supervised = false;
	int r;

	for (int attempt = 0; attempt < 3; attempt++) {
		if ((r = state_claim_name(name, id, holder, err)) != -EEXIST)
			return r;
		/* a holder nobody looks after is what the gc makes of it first:
		 * a crashed start goes, a crashed detached run is kept, exited */
		if ((supervised = state_supervised(holder)))
			break;
		gc_one(holder);
		if (state_exists(holder))
			break;
	}
	if (state_read(holder, &st, NULL) < 0)
		snprintf(what, sizeof(what), "%s", supervised ? "starting" : "unreadable");
	else if (st.status == STATUS_EXITED && st.exit_code == EXIT_CODE_UNKNOWN)
		snprintf(what, sizeof(what), "Exited (unknown)");
	else if (st.status == STATUS_EXITED)
		snprintf(what, sizeof(what), "Exited (%d)", st.exit_code);
	else
		snprintf(what, sizeof(what), "%s", st.status == STATUS_RUNNING ? "running" : "starting");
	container_state_free(&st);
	nerr_set(err, 0, "the container name `%s` is already in use by container %.12s (%s): remove it first "
		 "(nucleus rm%s %s)", name, holder, what, supervised ? " -f" : "", name);
	err->code = EEXIST;
	return -EEXIST;
}

int container_signal(const struct container_state *s, int sig, struct nerr *err)
{
	int fd;

	/* only through a pidfd of the recorded process (start time, pid 1 of
	 * its namespace), and only while a supervisor looks after it */
	if (s->status == STATUS_RUNNING && !state_supervised(s->cfg.id)) {
		/* what ps shows it as: exited (what still runs of it goes now) */
		gc_one(s->cfg.id);
		return nerr_set(err, 0, "container %s is not running: its supervisor is gone", s->cfg.name), -ESRCH;
	}
	if (s->status != STATUS_RUNNING || !state_pid_alive(s))
		return nerr_set(err, 0, "container %s is not running", s->cfg.name), -ESRCH;
	fd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	if (fd < 0)
		return nerr_set(err, errno, "pidfd_open %d", (int)s->pid);
	/* The pid could have been reused between the check and the open. */
	if (!state_pid_alive(s)) {
		close(fd);
		return nerr_set(err, 0, "container %s is not running", s->cfg.name), -ESRCH;
	}
	if (syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0) {
		int e = errno;
		close(fd);
		return nerr_set(err, e, "signal container %s", s->cfg.name);
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
	if (st.status == STATUS_RUNNING)
		mark_stopping(id);
	if (st.status == STATUS_RUNNING && !state_supervised(id)) {
		/* its supervisor died: what still runs of it goes, it is kept exited */
		gc_one(id);
	} else if (st.status == STATUS_RUNNING && state_pid_alive(&st)) {
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
