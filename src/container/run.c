/* The supervisor: the run sequence as a list of stages (the table at the
 * end), each with its undo; the undos run in reverse once a stage fails
 * or the workload has exited. It validates, creates the cgroup, clones the
 * child into its namespaces, maps ids, releases it, then forwards signals
 * and reaps, and stays until the workload ends to clean up after it. */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>
#include <jansson.h>
#include <nucleus/audit.h>
#include "internal.h"

/* What the stages share; each part is set by the stage named and let go
 * of by its undo. */
struct run {
	struct container_config *cfg;
	int *exit_code;
	int notify_fd;                 /* -d: tells the caller the outcome of the start */
	struct container_state st;     /* what state.json says */
	/* validate */
	bool userns;
	struct userns_map map;
	int context_fd;
	int context_mount_fd;          /* copy mode as root: the copy */
	char *context_path;            /* absolute, symlinks resolved */
	FILE *trace_log;
	struct sc_program seccomp;
	struct landlock_spec landlock; /* the child's rules (state.json may name them) */
	/* prepare */
	int lock_fd;                   /* held for the supervisor's whole life */
	char *state_dir;               /* <runtime>/<id> */
	char *staging;                 /* <state_dir>/rootfs */
	int log_dirfd;                 /* -d or audited: where container.log and audit.jsonl go */
	char log_dir[256];
	/* network */
	struct net_lease *lease;       /* --network bridge */
	char **self_hosts;             /* /etc/hosts lines naming it */
	/* cgroup */
	struct cgroup_host cg_host;
	struct cgroup cg;
	bool have_cgroup;
	/* clone */
	int sync[2];
	struct log_pump *log;          /* -d: the workload's output into container.log */
	int sfd;                       /* the forwarded signals */
	sigset_t orig_mask;
	bool mask_set;
	int pidfd;
	pid_t pid;
	bool reaped;
	/* limits */
	uint64_t nproc;                /* RLIMIT_NPROC in place of the pids limit; 0: none */
	/* bpf */
	struct sc_trace *trace;
	struct audit_kernel *audit_kernel;
	struct egress *egress;
	/* register */
	bool name_claimed;
	struct audit_log *audit;
	/* release */
	struct tty_relay *tty;
	struct sc_notify *notify;
};

/* prepare: what the child needs to exist (its staging directory) and
 * the lock that says a supervisor looks after it. */
static int prepare_dirs(struct run *r, struct nerr *err)
{
	const char *rt = runtime_dir();
	int rc;

	if ((rc = runtime_dir_prepare(err)) < 0)
		return rc;
	if ((r->lock_fd = state_dir_create(r->cfg->id, err)) < 0)
		return r->lock_fd;
	r->state_dir = xasprintf("%s/%s", rt, r->cfg->id);
	r->staging = xasprintf("%s/rootfs", r->state_dir);
	if (mkdir(r->staging, 0755) < 0)
		return nerr_set(err, errno, "create `%s`", r->staging);
	/* the logs: out of the shared runtime tmpfs, after the state directory
	 * (a log directory without one is garbage to collect) */
	if (r->cfg->detach || r->cfg->audit.enabled || r->cfg->sec.seccomp_log_denied) {
		r->log_dirfd = container_log_dir_create(r->cfg->id, r->log_dir, sizeof(r->log_dir) - 16, err);
		if (r->log_dirfd < 0)
			return r->log_dirfd;
		if (r->cfg->detach)
			snprintf(r->st.log_path, sizeof(r->st.log_path), "%s/container.log", r->log_dir);
	}
	return 0;
}

/* After clone, while the child builds its root: the name and state.json. */
static int register_state(struct run *r, struct nerr *err)
{
	int rc;

	if ((rc = container_claim_name(r->cfg->name, r->cfg->id, err)) < 0)
		return rc;
	r->name_claimed = true;
	return state_write(&r->st, err);
}

static void trace_seen(const struct sc_trace_entry *e, void *arg)
{
	(void)arg;
	log_debug("trace: first %s/%s (pid %u %s)", sc_trace_abi_name(e->abi), e->name, e->pid, e->comm);
}

static void trace_ready(void *arg)
{
	sc_trace_drain(arg, trace_seen, NULL);
}

/* NUCLEUS_RING_BYTES: the size of a container's ring buffers (a tuning knob,
 * and how the tests make a tiny one). */
static size_t ring_bytes(void)
{
	const char *v = getenv("NUCLEUS_RING_BYTES");
	uint64_t n;

	if (v && parse_u64(v, 4096, 1u << 30, &n) == 0 && !(n & (n - 1)))
		return (size_t)n;
	return 0;
}

/* Trace mode: write what was recorded, then let go of the recorder. */
static void finish_trace(struct run *r)
{
	struct sc_trace_entry *e = NULL;
	struct sc_trace_stats stats;
	struct nerr err = { 0 };
	size_t n = 0;

	if (!r->trace)
		return;
	sc_trace_drain(r->trace, trace_seen, NULL);
	if (sc_trace_collect(r->trace, &e, &n, &stats, &err) < 0) {
		log_error("seccomp trace: %s", err.msg);
	} else if (sc_trace_write_ndjson(e, n, r->trace_log) < 0) {
		log_error("seccomp trace: write `%s`: %s", r->cfg->sec.seccomp_log, strerror(errno));
	} else {
		log_info("seccomp trace: %zu syscalls recorded in %s", n, r->cfg->sec.seccomp_log);
		if (stats.events_lost)
			log_warn("seccomp trace: %llu live events lost (ring buffer full); the recorded set "
				 "and counts are complete", (unsigned long long)stats.events_lost);
	}
	sc_trace_entries_free(e, n);
	sc_trace_stop(r->trace);
	r->trace = NULL;
}

static void append_part(char **t, const char *part)
{
	char *n = xasprintf("%s; %s", *t, part);

	free(*t);
	*t = n;
}

/* Without a pids cgroup, RLIMIT_NPROC bounds the container where it counts
 * the container alone: its own user namespace (counted per namespace since
 * Linux 5.14) whose root is not host root (host root is exempt). */
static bool nproc_stands_in(const struct run *r)
{
	const struct container_config *c = r->cfg;

	return ((c->ns.rootless && geteuid() != 0) || c->ns.userns) && nproc_counts_per_userns();
}

/* Limits that cannot be applied (LIMIT_* in `failed`, why in e; no_cgroup:
 * there is no cgroup at all). In production, and with --require-cgroup
 * unless --limits best-effort, each is fatal; so is one the user gave,
 * unless --limits best-effort. The pids limit falls back to RLIMIT_NPROC
 * where that bounds the container alone; whatever is dropped is named. */
static int cgroup_failed(struct run *r, unsigned failed, const struct nerr *e, bool no_cgroup, struct nerr *err)
{
	struct cgroup_limits *lim = &r->cfg->res.limits;
	_cleanup_free_ char *dropped = NULL, *given = NULL, *instead = NULL, *warn = NULL;

	if (r->cfg->mode == MODE_PRODUCTION || (r->cfg->res.require_cgroup && (no_cgroup || !lim->best_effort))) {
		*err = *e;
		return nerr_prefix(err, "cgroup");
	}
	if ((failed & LIMIT_PIDS) && nproc_stands_in(r)) {
		_cleanup_free_ char *pids = limits_describe(lim, LIMIT_PIDS);

		r->nproc = lim->pids_max;
		failed &= ~LIMIT_PIDS;
		instead = xasprintf("%s as RLIMIT_NPROC", pids);
	}
	if ((failed & lim->given) && !lim->best_effort) {
		unsigned bad = failed & lim->given;

		given = limits_describe(lim, bad);
		nerr_set(err, 0, "%s cannot be enforced: %s (--limits best-effort runs without %s)", given, e->msg,
			 bad & (bad - 1) || lim->nio > 1 ? "them" : "it");
		err->code = e->code ? e->code : EOPNOTSUPP;
		return -err->code;
	}
	/* what state and ps report is what is enforced */
	if (failed & LIMIT_MEMORY)
		r->st.memory_limit = 0;
	if (failed & LIMIT_PIDS)
		r->st.pids_limit = 0;
	if (failed & LIMIT_CPUS)
		r->st.cpu_quota_us = r->st.cpu_period_us = 0;
	/* "cgroup: WHY; running without a cgroup; not enforced: --memory 64M;
	 * --pids 512 (the default) as RLIMIT_NPROC", each part when it applies */
	dropped = limits_describe(lim, failed);
	warn = xasprintf("cgroup: %s", e->msg);
	if (no_cgroup)
		append_part(&warn, "running without a cgroup");
	if (*dropped) {
		_cleanup_free_ char *t = xasprintf("not enforced: %s", dropped);
		append_part(&warn, t);
	}
	if (instead)
		append_part(&warn, instead);
	if (no_cgroup || *dropped || instead)
		log_warn("%s", warn);
	return 0;
}

/* Before clone: the v2 directory clone3 puts the child into. */
static int setup_membership(struct run *r, struct nerr *err)
{
	struct nerr e = { 0 };

	if (cgroup_host_detect(&r->cg_host, &e) == 0 &&
	    cgroup_create_membership(&r->cg, &r->cg_host, r->cfg->id, &e) == 0) {
		r->have_cgroup = true;
		return 0;
	}
	return cgroup_failed(r, limits_set(&r->cfg->res.limits), &e, true, err);
}

/* A BPF feature that failed to start. Validation refuses these flags for
 * an ordinary user; a refusal here (root in a container without CAP_BPF,
 * say) still says what is missing rather than a bare EPERM. */
static int bpf_failed(const char *what, struct nerr *err)
{
	if (err->code == EPERM || err->code == EACCES) {
		char why[sizeof(err->msg)];
		int code = err->code;

		snprintf(why, sizeof(why), "%s", err->msg);
		nerr_set(err, 0, "%s: the kernel refused BPF (it needs CAP_BPF and CAP_PERFMON on the host): %s",
			 what, why);
		err->code = code;
		return -code;
	}
	return nerr_prefix(err, "%s", what);
}

static void egress_ready(void *arg)
{
	egress_events_drain(arg);
}

static void egress_to_audit(const struct egress_denial *d, void *arg)
{
	struct run *r = arg;

	audit_log_event(r->audit, 0, "egress_denied", "cgroup_bpf", (int)d->pid, -1, d->comm,
			json_pack("{s:s,s:s,s:i,s:s}", "proto", d->proto, "address", d->address,
				  "port", d->port, "hook", d->hook));
}

static void audit_ready(void *arg)
{
	struct run *r = arg;

	audit_kernel_drain(r->audit_kernel, r->audit);
}


/* The child's pid (0 in the child), or <0 with err set. Once the child
 * exists it is r->pid, also when a step here fails after the clone: the
 * clone stage's undo kills and reaps it. */
static pid_t clone_child(struct run *r, uint64_t flags, struct nerr *err)
{
	struct clone_args ca = {
		.flags = flags | CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&r->pidfd,
		.exit_signal = SIGCHLD,
	};
	long pid;
	int rc;

	if (r->have_cgroup && r->cg.v2_fd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)r->cg.v2_fd;
	}
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0 && (ca.flags & CLONE_INTO_CGROUP) && errno != ENOMEM) {
		/* Older kernels: join by writing cgroup.procs instead. */
		ca.flags &= ~CLONE_INTO_CGROUP;
		ca.cgroup = 0;
		pid = syscall(SYS_clone3, &ca, sizeof(ca));
		if (pid > 0) {
			r->pid = (pid_t)pid;
			if (r->have_cgroup && (rc = cgroup_join_all(&r->cg, (pid_t)pid, err)) < 0)
				return rc;
		}
	}
	if (pid < 0)
		return nerr_set(err, errno, "clone3");
	return (pid_t)pid;
}

/* Kill the child, unless it was reaped already, and reap it. */
static void end_child(struct run *r)
{
	siginfo_t si;

	if (r->pid <= 0 || r->reaped)
		return;
	syscall(SYS_pidfd_send_signal, r->pidfd, SIGKILL, NULL, 0);
	waitid(P_PIDFD, (id_t)r->pidfd, &si, WEXITED);
	r->reaped = true;
}

/* vm.memfd_noexec = 2 in the pid namespace of `pidfd` (Linux >= 6.3; the
 * value belongs to the writer's active pid namespace, so the writer is a
 * grandchild forked after setns). Only host root may write it. */
static int memfd_noexec_for(int pidfd, struct nerr *err)
{
	pid_t helper;
	int status;

	if (geteuid() != 0 || access("/proc/sys/vm/memfd_noexec", F_OK) < 0)
		return 0;     /* rootless: see docs/security.md; old kernels: none */
	helper = fork();
	if (helper < 0)
		return nerr_set(err, errno, "fork");
	if (helper == 0) {
		pid_t in;

		if (setns(pidfd, CLONE_NEWPID) < 0)
			_exit(1);
		if ((in = fork()) == 0)
			_exit(write_str("/proc/sys/vm/memfd_noexec", "2") < 0 ? 2 : 0);
		if (in < 0 || waitpid(in, &status, 0) < 0)
			_exit(1);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
	}
	if (waitpid(helper, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return nerr_set(err, EPERM, "set vm.memfd_noexec in the container (--allow-memfd-exec runs without)");
	return 0;
}

/* Release the child once everything is in place, then wait for EOF (exec
 * happened) or a message saying why not. */
static int release_child(struct run *r, struct nerr *err)
{
	int *exit_code = r->exit_code;
	struct sync_msg m;
	bool released = true;
	int rc, fd;

	/* before the release: the workload's exec is the first kernel event,
	 * and it must not precede its start in the log */
	if (r->audit)
		audit_container_started(r->audit, r->pid);
	/* A child that failed while building its root has closed its end;
	 * its message is still queued: read it rather than report the pipe. */
	if ((rc = sync_send(r->sync[0], SYNC_CGROUPS, 0, NULL, -1)) < 0) {
		if (rc != -EPIPE && rc != -ECONNRESET)
			return nerr_set(err, -rc, "release the container");
		released = false;
	}
	for (;;) {
		if (r->notify) {
			/* a denial before exec must be answered, or the child waits */
			struct pollfd p[2] = { { .fd = r->sync[0], .events = POLLIN },
					       { .fd = sc_notify_fd(r->notify), .events = POLLIN } };

			if (poll(p, 2, -1) < 0 && errno != EINTR)
				return nerr_set(err, errno, "poll");
			/* the socket first: after exec (EOF) a denial is the workload's */
			if (!p[0].revents) {
				if (p[1].revents & POLLIN)
					sc_notify_ready(r->notify);
				continue;
			}
		}
		rc = sync_recv(r->sync[0], &m, &fd);
		/* exec succeeded: the socket closed with it (reset when a message
		 * was left unread: a profile that denies recvmsg) */
		if (rc == -EPIPE || rc == -ECONNRESET) {
			if (!released)
				return nerr_set(err, EPIPE, "the container exited before it was released");
			sc_notify_set_quiet(r->notify, false);
			return 0;
		}
		if (rc < 0)
			return nerr_set(err, -rc, "read from the container");
		switch (m.type) {
		case SYNC_TTY:
			if (fd < 0)
				return nerr_set(err, EPROTO, "no pty received");
			if (r->log)
				log_pump_set_tty(r->log, fd);
			else
				r->tty = tty_relay_start(fd, err);
			sync_send(r->sync[0], SYNC_TTY_READY, 0, NULL, -1);
			break;
		case SYNC_WARNING:
			log_warn("%s", m.text);
			break;
		case SYNC_NOTIFY_FD:
			if (r->notify || !r->seccomp.notify_errno)
				return nerr_set(err, EPROTO, "unexpected seccomp listener");
			if ((fd = sc_notify_take(r->pid, r->pidfd, m.code, 5000, err)) < 0)
				return fd;
			r->notify = sc_notify_new(fd, r->seccomp.notify_errno, r->audit);
			sc_notify_set_quiet(r->notify, true);
			if ((rc = sync_send(r->sync[0], SYNC_NOTIFY_READY, 0, NULL, -1)) < 0)
				return nerr_set(err, -rc, "release the container");
			break;
		case SYNC_EXEC_FAILED:
			*exit_code = m.code;
			nerr_set(err, 0, "%s", m.text);
			err->code = ENOEXEC;
			return 1;
		case SYNC_ERROR:
		default:
			nerr_set(err, 0, "%s", m.text);
			err->code = m.code ? m.code : EIO;
			return -err->code;
		}
	}
}

static void state_init(struct run *r)
{
	struct container_config *cfg = r->cfg;
	struct container_state *st = &r->st;

	/* the last default, once the name is known: the hostname is the name */
	if (!cfg->proc.hostname)
		cfg->proc.hostname = xstrdup(cfg->name);
	memset(st, 0, sizeof(*st));
	st->cfg = *cfg;                /* borrowed; never freed through st */
	st->status = STATUS_CREATING;
	st->supervisor = getpid();
	st->created_ns = realtime_ns();
	st->remove_on_exit = !cfg->detach || cfg->remove;
	st->memory_limit = cfg->res.limits.memory_max;
	st->pids_limit = cfg->res.limits.pids_max;
	st->cpu_quota_us = cfg->res.limits.cpu_quota_us;
	st->cpu_period_us = cfg->res.limits.cpu_period_us;
}

/* -d: the workload's stdout and stderr are pipes the supervisor pumps into
 * the log; its own messages go there too from now on. Its stdin is
 * /dev/null, or with -i a pipe kept open, as docker's -di. */
static int redirect_to_log(struct run *r, struct nerr *err)
{
	return log_pump_open(r->log_dirfd, "container.log", &r->cfg->audit.log_opts, r->cfg->proc.interactive, &r->log, err);
}

static void notify_caller(struct run *r, const char *msg)
{
	if (r->notify_fd < 0)
		return;
	write_all(r->notify_fd, msg, strlen(msg));
	close(r->notify_fd);
	r->notify_fd = -1;
}

static void report_oom(struct run *r, int *exit_code)
{
	char lim[32];

	if (!r->have_cgroup || !cgroup_oom_killed(&r->cg))
		return;
	r->st.oom_killed = true;
	format_size(r->cfg->res.limits.memory_max, lim, sizeof(lim));
	if (r->cfg->res.limits.memory_max)
		log_error("killed: out of memory (limit %s)", lim);
	else
		log_error("killed: out of memory");
	if (*exit_code < 128)
		*exit_code = 137;
}

/* validate: everything that can fail on bad input fails before anything
 * exists (the ids to map, the context, the trace log, the seccomp profile
 * and filter); the child's Landlock rules are settled here too. */
static int stage_validate(struct run *r, struct nerr *err)
{
	struct container_config *cfg = r->cfg;
	int rc;

	if (!cfg->name[0])
		snprintf(cfg->name, sizeof(cfg->name), "%.12s", cfg->id);
	r->userns = cfg->ns.rootless || cfg->ns.userns;
	if (cfg->ns.rootless)
		userns_map_rootless(&r->map, geteuid(), getegid());
	else if (cfg->ns.userns && (rc = userns_map_range(&r->map, err)) < 0)
		return rc;
	state_init(r);

	if (cfg->fs.context) {
		r->context_fd = open(cfg->fs.context, O_PATH | O_DIRECTORY | O_CLOEXEC);
		r->context_path = realpath(cfg->fs.context, NULL);
		if (r->context_fd < 0 || !r->context_path)
			return nerr_set(err, errno, "context directory `%s`", cfg->fs.context);
		/* As root, the supervisor copies with its own rights (so --userns
		 * reads what the caller can) and the container's root owns the
		 * copy; an ordinary user's child copies as that same user. */
		if (cfg->fs.context_mode == CONTEXT_COPY && geteuid() == 0) {
			uid_t uid = 0;
			gid_t gid = 0;

			if (cfg->ns.userns) {
				uid = r->map.uid[0].outside;
				gid = r->map.gid[0].outside;
			}
			struct copy_skipped skipped = { 0 };
			_cleanup_free_ char *warn = NULL;

			if ((rc = fs_context_copy(r->context_fd, strv_contains(cfg->fs.exec_paths, "/context"),
						  cfg->fs.tmpfs_size, uid, gid, &skipped, &r->context_mount_fd, err)) < 0)
				return rc;
			if ((warn = copy_skipped_message(&skipped)))
				log_warn("%s", warn);
			log_debug("run: context copied");
		}
	}
	if (cfg->sec.seccomp_trace) {
		/* the log is opened now, so a bad path fails before anything exists */
		r->trace_log = fopen(cfg->sec.seccomp_log, "we");
		if (!r->trace_log)
			return nerr_set(err, errno, "--seccomp-log `%s`", cfg->sec.seccomp_log);
	}
	if (cfg->sec.seccomp_profile && !(r->st.seccomp_profile = realpath(cfg->sec.seccomp_profile, NULL)))
		return nerr_set(err, errno, "seccomp profile `%s`", cfg->sec.seccomp_profile);
	r->st.seccomp_flags = cfg->sec.seccomp_log_denied ? SC_FLAG_NOTIFY_DENIED : 0;
	rc = container_seccomp_prepare(cfg->sec.seccomp_trace, r->st.seccomp_profile, cfg->sec.seccomp_profile_sha256,
				       cfg->sec.caps.bounding, r->st.seccomp_flags, true, &r->seccomp, err);
	if (rc < 0)
		return rc;
	if (cfg->sec.seccomp_log_denied && !r->seccomp.notify_errno)
		log_warn("--seccomp-log-denied: the profile's default action is not an errno; "
			 "its denials kill the process and are not logged");
	snprintf(r->st.seccomp_key, sizeof(r->st.seccomp_key), "%s", r->seccomp.key);
	log_debug("run: seccomp filter ready (%s)", r->seccomp.from_cache ? "cached" : "compiled");

	if (!cfg->sec.landlock)
		landlock_default_spec(&r->landlock, cfg->fs.context_mode == CONTEXT_COPY, cfg->fs.context != NULL);
	/* --allow-exec: the rules grant what the mounts allow (a policy file's
	 * own execute grants made its mounts executable: container_exec_plan) */
	for (size_t i = 0; cfg->fs.allow_exec && cfg->fs.allow_exec[i]; i++)
		landlock_spec_allow_exec(cfg->sec.landlock ? cfg->sec.landlock : &r->landlock, cfg->fs.allow_exec[i]);
	if (cfg->sec.landlock)
		r->landlock = *cfg->sec.landlock;
	return 0;
}

/* The state, with what the later stages put into it, goes last: the
 * record of an exited container (undo_prepare) is written from it. */
static void undo_validate(struct run *r)
{
	if (r->context_fd >= 0)
		close(r->context_fd);
	if (r->context_mount_fd >= 0)
		close(r->context_mount_fd);
	free(r->context_path);
	if (r->trace_log)
		fclose(r->trace_log);
	r->trace_log = NULL;
	sc_program_free(&r->seccomp);
	if (!r->cfg->sec.landlock)
		landlock_spec_free(&r->landlock);
	free(r->st.seccomp_profile);
	r->st.seccomp_profile = NULL;
	strv_free(r->st.bpf_pins);
	r->st.bpf_pins = NULL;
	state_set_network(&r->st, NULL, NULL, 0);
}

static int stage_prepare(struct run *r, struct nerr *err)
{
	int rc;

	container_gc();
	if ((rc = prepare_dirs(r, err)) < 0)
		return rc;
	debug_pause("prepared");
	return 0;
}

/* The state directory ends as the record of an exited container (kept for
 * ps -a, logs and rm) or goes, with the name the register stage claimed
 * in it and the logs: after the cgroup's and the bridge's undo, so that a
 * record says nothing of the container is left. The log pump (opened by
 * the clone stage, so that what the stages before it say still reaches the
 * caller) closes between that and the lock: `logs -f` stops reading when
 * the lock goes. */
static void undo_prepare(struct run *r)
{
	struct nerr e = { 0 };

	if (r->staging)
		rmdir(r->staging);
	if (r->st.status == STATUS_EXITED && !r->st.remove_on_exit) {
		/* kept for ps -a, logs and rm; with what the log lost */
		log_pump_lost(r->log, &r->st.log_lost_bytes, &r->st.log_errno);
		if (state_write(&r->st, &e) < 0)
			log_error("cannot record the exit of container %s (ps shows it exited, status unknown): %s",
				  r->st.cfg.name, e.msg);
	} else {
		if (r->name_claimed)
			state_release_name(r->cfg->name, r->cfg->id);
		/* the logs first: a log directory never outlives its state */
		if (r->log_dir[0]) {
			_cleanup_free_ char *file = xasprintf("%s/container.log", r->log_dir);

			container_log_dir_remove(r->cfg->id, file, NULL);
		}
		if (r->state_dir && remove_tree(r->state_dir) < 0)
			log_warn("cannot remove `%s`", r->state_dir);
	}
	log_pump_close(r->log);
	r->log = NULL;
	if (r->log_dirfd >= 0)
		close(r->log_dirfd);
	if (r->lock_fd >= 0)
		close(r->lock_fd);
	free(r->staging);
	free(r->state_dir);
}

/* network: every check on the host, an address, the host ports: before
 * clone, so bad input leaves nothing behind. */
static int stage_network(struct run *r, struct nerr *err)
{
	struct container_config *cfg = r->cfg;
	int rc;

	if (cfg->net.mode != NETWORK_BRIDGE)
		return 0;
	cfg->net.bridge.state_dir = runtime_dir();
	if ((rc = net_bridge_prepare(&cfg->net.bridge, cfg->id, &r->lease, err)) < 0)
		return nerr_prefix(err, "--network bridge");
	r->self_hosts = net_lease_hosts(r->lease, r->st.cfg.proc.hostname);
	state_set_network(&r->st, r->lease, cfg->net.bridge.ports, cfg->net.bridge.nports);
	log_debug("run: network prepared");
	return 0;
}

/* After the cgroup's undo (the network stage comes before the cgroup
 * stage for this): nothing of the container runs any more. */
static void undo_network(struct run *r)
{
	net_bridge_detach(r->lease);
	r->lease = NULL;
	strv_free(r->self_hosts);
	r->self_hosts = NULL;
}

static int stage_cgroup(struct run *r, struct nerr *err)
{
	int rc;

	if ((rc = setup_membership(r, err)) < 0)
		return rc;
	snprintf(r->st.cgroup_layout, sizeof(r->st.cgroup_layout), "%s",
		 r->have_cgroup ? cgroup_layout_name(r->cg_host.layout) : "none");
	log_debug("run: cgroup ready");
	debug_pause("cgroup");
	return 0;
}

static void undo_cgroup(struct run *r)
{
	struct nerr e = { 0 };

	if (r->have_cgroup && cgroup_destroy(&r->cg, &e) < 0)
		log_warn("%s", e.msg);
}

/* clone: the child's channel, -d's log, the forwarded signals, then the
 * child in its namespaces (and its cgroup), waiting for the map stage. */
static int stage_clone(struct run *r, struct nerr *err)
{
	struct container_config *cfg = r->cfg;
	struct child_args a = { 0 };
	struct ns_spec ns = {
		.user = r->userns, .time = cfg->ns.time,
		.net = cfg->net.mode != NETWORK_HOST,
	};
	pid_t pid;
	int rc;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, r->sync) < 0)
		return nerr_set(err, errno, "socketpair");
	if (cfg->detach && (rc = redirect_to_log(r, err)) < 0)
		return rc;

	/* Block forwarded signals before clone so none is lost in between;
	 * the child restores the mask. */
	r->sfd = forward_signals_block(&r->orig_mask);
	r->mask_set = true;
	if (r->sfd < 0)
		return nerr_set(err, -r->sfd, "signalfd");

	a.cfg = cfg;
	a.sync_fd = r->sync[1];
	a.orig_mask = r->orig_mask;
	a.userns = r->userns;
	a.hostname = r->st.cfg.proc.hostname;
	a.workdir = r->st.cfg.proc.workdir;
	a.seccomp = &r->seccomp;
	a.fs = (struct fs_spec){
		.staging = r->staging, .context_fd = r->context_fd, .context_mount_fd = r->context_mount_fd,
		.context_mode = cfg->fs.context_mode,
		.context_path = r->context_path, .exec_paths = cfg->fs.exec_paths, .tmpfs_size = cfg->fs.tmpfs_size,
		.userns = r->userns, .allow_chroot = cfg->fs.allow_chroot_fallback,
		.hostname = a.hostname, .dns = cfg->net.dns, .dns_search = cfg->net.dns_search,
		.extra_hosts = cfg->net.extra_hosts, .self_hosts = r->self_hosts,
	};
	a.landlock = r->landlock;

	if ((pid = clone_child(r, ns_clone_flags(&ns), err)) < 0)
		return pid;
	if (pid == 0) {
		close(r->sync[0]);
		/* the lock is the supervisor's alone: a child that outlives a
		 * killed supervisor for a moment must not look like one */
		close(r->lock_fd);
		child_main(&a);
	}
	r->pid = pid;
	close(r->sync[1]);
	r->sync[1] = -1;
	log_pump_started(r->log);
	log_debug("run: cloned %d", (int)r->pid);
	debug_pause("cloned");
	return 0;
}

/* A child nobody saw exit (a later stage failed) is killed and reaped:
 * nothing of a failed start outlives it. (The log pump closes with the
 * state directory: undo_prepare; the signal mask comes back last.) */
static void undo_clone(struct run *r)
{
	end_child(r);
	if (r->pidfd >= 0)
		close(r->pidfd);
	for (int i = 0; i < 2; i++)
		if (r->sync[i] >= 0)
			close(r->sync[i]);
}

/* map: the child's ids; then it builds its root while the stages up to
 * the release put the rest in place (it waits for SYNC_CGROUPS before it
 * drops privileges and execs). */
static int stage_map(struct run *r, struct nerr *err)
{
	const struct userns_map *map = r->userns ? &r->map : NULL;
	int rc;

	if (map && (rc = userns_write_maps(r->pid, map, err)) < 0)
		return rc;
	/* A user-namespaced child is not host root and cannot write the
	 * sysctl: a helper of the supervisor's, joined to its pid namespace,
	 * does (before the workload can run). */
	if (map && !r->cfg->sec.allow_memfd_exec && (rc = memfd_noexec_for(r->pidfd, err)) < 0)
		return rc;
	if ((rc = sync_send(r->sync[0], SYNC_GO, 0, NULL, -1)) < 0)
		return nerr_set(err, -rc, "release the container");
	return 0;
}

/* attach: --network bridge's veth into the child's network namespace (the
 * network stage's undo detaches it). */
static int stage_attach(struct run *r, struct nerr *err)
{
	int rc;

	if (r->lease && (rc = net_bridge_attach(&r->cfg->net.bridge, r->lease, r->pid, err)) < 0)
		return rc;
	return 0;
}

/* limits: v1 controllers, the limits, and the child's membership in them
 * (the cgroup's undo removes them); RLIMIT_NPROC where it stands in for
 * the pids limit. */
static int stage_limits(struct run *r, struct nerr *err)
{
	struct nerr e = { 0 };
	unsigned failed = 0;
	int rc;

	if (r->have_cgroup) {
		if (cgroup_create_limits(&r->cg, &r->cfg->res.limits, &failed, &e) < 0 &&
		    (rc = cgroup_failed(r, failed, &e, false, err)) < 0)
			return rc;
		nerr_clear(&e);
		if (cgroup_join_v1(&r->cg, r->pid, &e) < 0 &&
		    (rc = cgroup_failed(r, limits_set(&r->cfg->res.limits) & ~failed, &e, false, err)) < 0)
			return rc;
		log_debug("run: limits set");
	}
	if (r->nproc) {
		/* the child's own limit, before it execs: lower only */
		struct rlimit cur, want = { r->nproc, r->nproc };

		if (prlimit(r->pid, RLIMIT_NPROC, NULL, &cur) == 0 && cur.rlim_max < want.rlim_max)
			want.rlim_cur = want.rlim_max = cur.rlim_max;
		if (prlimit(r->pid, RLIMIT_NPROC, &want, NULL) < 0)
			return nerr_set(err, errno, "set RLIMIT_NPROC in place of the pids limit");
		log_debug("run: RLIMIT_NPROC %llu", (unsigned long long)want.rlim_max);
	}
	return 0;
}

/* bpf: the programs on the child's cgroup: the syscall recorder (--seccomp
 * trace), audit's, the egress policy. */
static int stage_bpf(struct run *r, struct nerr *err)
{
	int rc;

	if (!r->have_cgroup)
		return 0;
	if (r->cfg->sec.seccomp_trace) {
		if ((rc = sc_trace_start(r->cg.id, cgroup_v2_level(&r->cg_host), true, ring_bytes(),
					 &r->trace, err)) < 0)
			return bpf_failed("seccomp trace", err);
		log_debug("run: syscall recorder armed");
	}
	if (r->cfg->audit.enabled) {
		if ((rc = audit_kernel_start(r->cg.id, cgroup_v2_level(&r->cg_host), r->pid, ring_bytes(),
					     &r->audit_kernel, err)) < 0)
			return bpf_failed("audit", err);
		log_debug("run: audit programs attached (%s)", audit_kernel_source(r->audit_kernel));
	}
	if (r->cfg->net.egress.enabled) {
		if ((rc = egress_attach(&r->cfg->net.egress, r->cg.v2_fd, r->cg.id, cgroup_v2_level(&r->cg_host),
					&r->egress, err)) < 0)
			return bpf_failed("egress policy", err);
		log_debug("run: egress policy attached");
	}
	return 0;
}

/* The recorder's findings into the trace log, then the programs off. */
static void undo_bpf(struct run *r)
{
	finish_trace(r);
	egress_detach(r->egress);
	r->egress = NULL;
	audit_kernel_stop(r->audit_kernel);
	r->audit_kernel = NULL;
}

/* register: the name, state.json, and the audit log's start. */
static int stage_register(struct run *r, struct nerr *err)
{
	int rc;

	r->st.egress = r->egress != NULL;
	r->st.audit = r->cfg->audit.enabled || r->cfg->sec.seccomp_log_denied;
	if (r->st.audit)
		snprintf(r->st.audit_path, sizeof(r->st.audit_path), "%s/audit.jsonl", r->log_dir);
	r->st.cgroup_level = r->have_cgroup ? cgroup_v2_level(&r->cg_host) : 0;
	if (r->egress)
		strv_push(&r->st.bpf_pins, egress_pin_set(r->egress));
	if (r->audit_kernel)
		strv_push(&r->st.bpf_pins, audit_kernel_pin_set(r->audit_kernel));
	if ((rc = register_state(r, err)) < 0)
		return rc;
	if (r->st.audit &&
	    (rc = audit_container_begin(&r->audit, r->cfg, &r->st, r->audit_kernel, &r->seccomp, err)) < 0)
		return rc;
	if (r->audit)
		egress_set_sink(r->egress, egress_to_audit, r);
	log_debug("run: state and cgroups ready");
	debug_pause("registered");
	return 0;
}

/* The audit log closes before the programs that feed it come off
 * (undo_bpf): what the egress ring still holds goes into it first. The
 * name and state.json go with the state directory (undo_prepare). */
static void undo_register(struct run *r)
{
	if (r->audit) {
		egress_events_drain(r->egress);
		egress_set_sink(r->egress, NULL, NULL);
	}
	audit_log_close(r->audit);
	r->audit = NULL;
}

/* release: the child may exec; from its exec on it is running. */
static int stage_release(struct run *r, struct nerr *err)
{
	int rc = release_child(r, err);

	if (rc != 0) {
		/* The child reported and exits; make sure of it, then reap. */
		end_child(r);
		if (r->audit)       /* its start is in the log: so is its end */
			audit_container_failed(r->audit, rc > 0 ? *r->exit_code : 125, err->msg);
		return rc;          /* >0: exec failed, exit_code and message are set */
	}
	r->st.status = STATUS_RUNNING;
	r->st.pid = r->pid;
	r->st.pid_start = proc_start_time(r->pid);
	r->st.started_ns = realtime_ns();
	log_debug("run: workload exec'd");
	if ((rc = state_write(&r->st, err)) < 0)
		return rc;
	log_debug("run: workload started");
	notify_caller(r, "ok");
	debug_pause("running");
	return 0;
}

static void undo_release(struct run *r)
{
	tty_relay_stop(r->tty);
	r->tty = NULL;
	sc_notify_free(r->notify);
	r->notify = NULL;
}

/* supervise: forward signals, relay the tty, pump the log and the BPF
 * rings until the workload exits. */
static int stage_supervise(struct run *r, struct nerr *err)
{
	struct loop_extra extra[4 + LOG_PUMP_EXTRAS] = {
		{ egress_events_fd(r->egress), egress_ready, r->egress },
		{ sc_trace_events_fd(r->trace), trace_ready, r->trace },
		{ audit_kernel_fd(r->audit_kernel), audit_ready, r },
		{ sc_notify_fd(r->notify), sc_notify_ready, r->notify },
	};
	int rc;

	log_pump_extras(r->log, extra + 4);
	rc = supervise_loop(r->pidfd, r->pidfd, r->pid, r->tty, r->sfd, extra, ARRAY_SIZE(extra), r->exit_code, err);
	r->reaped = rc == 0;
	log_pump_drain(r->log, r->have_cgroup ? &r->cg : NULL);
	log_debug("run: workload exited");
	return rc;
}

/* teardown: the exit, as the OOM report, the state and the audit log tell
 * it; what the stages built is undone after it. */
static int stage_teardown(struct run *r, struct nerr *err)
{
	int *exit_code = r->exit_code;

	(void)err;
	report_oom(r, exit_code);
	r->st.status = STATUS_EXITED;
	r->st.exit_code = *exit_code;
	r->st.finished_ns = realtime_ns();
	if (r->audit) {
		uint64_t denied, suppressed;

		sc_notify_counts(r->notify, &denied, &suppressed);
		if (suppressed)
			audit_log_event(r->audit, 0, "seccomp_denied_suppressed", "runtime", -1, -1, NULL,
					json_pack("{s:I,s:I}", "denied", (json_int_t)denied,
						  "not_logged", (json_int_t)suppressed));
		audit_kernel_drain(r->audit_kernel, r->audit);
		audit_container_exited(r->audit, &r->st, r->audit_kernel);
	}
	return 0;
}

struct stage {
	const char *name;
	/* 0: go on; <0: failed (err says why); >0: stop without an error of
	 * the runtime's (the exec failed: *exit_code says how) */
	int (*run)(struct run *r, struct nerr *err);
	/* NULL: nothing to undo. Runs, in reverse order, for every stage that
	 * ran, the one that failed included: it undoes what is there. */
	void (*undo)(struct run *r);
};

/* The run sequence. The undos run in reverse, which fixes some of the
 * order: the network before the cgroup (the cgroup is destroyed before the
 * bridge detaches), the bpf programs before the register stage (the audit
 * log closes before they come off). */
static const struct stage stages[] = {
	{ "validate",  stage_validate,  undo_validate },
	{ "prepare",   stage_prepare,   undo_prepare },
	{ "network",   stage_network,   undo_network },
	{ "cgroup",    stage_cgroup,    undo_cgroup },
	{ "clone",     stage_clone,     undo_clone },
	{ "map",       stage_map,       NULL },
	{ "attach",    stage_attach,    NULL },
	{ "limits",    stage_limits,    NULL },
	{ "bpf",       stage_bpf,       undo_bpf },
	{ "register",  stage_register,  undo_register },
	{ "release",   stage_release,   undo_release },
	{ "supervise", stage_supervise, NULL },
	{ "teardown",  stage_teardown,  NULL },
};

int container_run_notify(struct container_config *cfg, int notify_fd, int *exit_code, struct nerr *err)
{
	struct run r = { .cfg = cfg, .exit_code = exit_code, .notify_fd = notify_fd, .context_fd = -1,
			 .context_mount_fd = -1, .lock_fd = -1, .log_dirfd = -1, .sync = { -1, -1 }, .sfd = -1,
			 .pidfd = -1 };
	size_t ran = 0;
	int rc = 0;

	*exit_code = 125;
	log_debug("run: start");
	while (rc == 0 && ran < ARRAY_SIZE(stages)) {
		rc = stages[ran].run(&r, err);
		if (rc == 0)
			log_debug("run: %s done", stages[ran].name);
		ran++;
	}
	while (ran-- > 0)
		if (stages[ran].undo)
			stages[ran].undo(&r);
	/* last: a signal that came meanwhile acts once nothing is left to undo */
	if (r.mask_set)
		sigprocmask(SIG_SETMASK, &r.orig_mask, NULL);
	if (r.sfd >= 0)
		close(r.sfd);
	if (rc > 0)
		rc = 0;      /* exec failure: exit_code and message are set */
	log_debug("run: cleaned up");
	/* -d: a failed start is reported once nothing of it is left */
	if (rc < 0 || err->code) {
		char msg[sizeof(err->msg) + 8];

		snprintf(msg, sizeof(msg), "%d %s", rc < 0 ? 125 : *exit_code, err->msg);
		notify_caller(&r, msg);
	}
	if (r.notify_fd >= 0)
		close(r.notify_fd);
	return rc;
}

int container_run(struct container_config *cfg, int *exit_code, struct nerr *err)
{
	return container_run_notify(cfg, -1, exit_code, err);
}
