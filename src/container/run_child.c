/* The run's stages around the child: clone, the id maps, the bridge's
 * veth, and the release until its exec. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>
#include "run.h"

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

	/* A restart's child joins by cgroup.procs: on 6.18 a child cloned
	 * into a cgroup that was ever killed through cgroup.kill (the last
	 * workload's remains) is killed at birth (the kill sequence it is
	 * checked against is its parent's cgroup's). */
	if (r->have_cgroup && r->cg.v2_fd >= 0 && !r->st.restarts) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)r->cg.v2_fd;
	}
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid > 0 && !(ca.flags & CLONE_INTO_CGROUP) && r->have_cgroup) {
		r->pid = (pid_t)pid;
		if ((rc = cgroup_join_all(&r->cg, (pid_t)pid, err)) < 0)
			return rc;
		return (pid_t)pid;
	}
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

/* Before what becomes the workload exists: -d's log (the workload's stdout
 * and stderr are pipes the supervisor pumps into it, its own messages go
 * there too from now on; its stdin is /dev/null, or with -i a pipe kept
 * open, as docker's -di), and the forwarded signals blocked so that none
 * is lost in between (the child restores the mask). A restart has both:
 * log_pump_rearm made the pipes. */
int run_prepare_supervision(struct run *r, struct nerr *err)
{
	int rc;

	if (r->cfg->detach && !r->log &&
	    (rc = log_pump_open(r->log_dirfd, "container.log", &r->cfg->audit.log_opts, r->cfg->proc.interactive,
				&r->log, err)) < 0)
		return rc;
	if (!r->mask_set) {
		r->sfd = forward_signals_block(&r->orig_mask);
		r->mask_set = true;
		if (r->sfd < 0)
			return nerr_set(err, -r->sfd, "signalfd");
	}
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
	/* The v1 hierarchies it joins itself, before it may go on (see
	 * stage_limits). A child that failed while building its root has
	 * closed its end; its message is still queued: read it rather than
	 * report the pipe. */
	rc = 0;
	for (size_t i = 0; i < r->n_v1_tasks && rc >= 0; i++)
		rc = sync_send(r->sync[0], SYNC_CGROUP_JOIN, 0, NULL, r->v1_tasks[i]);
	run_close_v1_tasks(r);
	if (rc >= 0)
		rc = sync_send(r->sync[0], SYNC_CGROUPS, 0, NULL, -1);
	if (rc < 0) {
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
		case SYNC_VERIFY_CONTEXT:
			if (fd < 0 || !r->cfg->fs.verify_context)
				return nerr_set(err, EPROTO, "unexpected context to verify");
			rc = attest_verify(fd, -1, &r->context_manifest, err);
			close(fd);
			if (rc < 0)
				return nerr_prefix(err, "--verify-context-integrity: /context is not the context hashed "
						   "at launch");
			log_debug("run: /context verified");
			if ((rc = sync_send(r->sync[0], SYNC_VERIFIED, 0, NULL, -1)) < 0)
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

/* --verify-rootfs-attestation, in the child: the tree and the closure
 * through the fds of the mounts the container gets, read-only by then. */
static int verify_rootfs(int tree_fd, int store_fd, void *arg, struct nerr *err)
{
	int r = attest_verify(tree_fd, store_fd, arg, err);

	return r < 0 ? nerr_prefix(err, "--verify-rootfs-attestation") : 0;
}

/* After the clone, in the supervisor. */
static int cloned(struct run *r)
{
	/* the child has the rootfs's clones now: nothing here needs them */
	fs_rootfs_close(&r->rootfs);
	/* nor the secrets' content: the child has its own copy */
	container_secrets_data_free(r->secret_data, r->n_secret_data);
	r->secret_data = NULL;
	r->n_secret_data = 0;
	run_close_volumes(r);
	close(r->sync[1]);
	r->sync[1] = -1;
	log_pump_started(r->log);
	log_debug("run: cloned %d", (int)r->pid);
	debug_pause("cloned");
	return 0;
}

/* clone: the child's channel, -d's log, the forwarded signals, then the
 * child in its namespaces (and its cgroup), waiting for the map stage. */
int stage_clone(struct run *r, struct nerr *err)
{
	struct container_config *cfg = r->cfg;
	struct child_args a = { 0 };
	struct ns_spec ns = {
		.user = r->userns, .time = cfg->ns.time,
		.net = cfg->net.mode != NETWORK_HOST,
	};
	pid_t pid;
	_cleanup_close_ int hosts_mount = -1;
	int rc;

	if (r->restore)
		return restore_stage_clone(r, err);
	/* one clone per start: a detached mount is attached once */
	if (r->hosts_fd >= 0 && (rc = fs_file_clone_ro(r->hosts_fd, &hosts_mount, err)) < 0)
		return nerr_prefix(err, "--hosts-file `%s`", cfg->net.hosts_file);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, r->sync) < 0)
		return nerr_set(err, errno, "socketpair");
	if ((rc = run_prepare_supervision(r, err)) < 0)
		return rc;

	if (cfg->rt.kind != RUNTIME_NATIVE) {
		if ((pid = clone_child(r, oci_clone_flags(r), err)) < 0)
			return pid;
		if (pid == 0)
			oci_launcher_main(r);
		r->pid = pid;
		return cloned(r);
	}
	a.cfg = cfg;
	a.sync_fd = r->sync[1];
	a.orig_mask = r->orig_mask;
	a.userns = r->userns;
	a.hostname = r->st.cfg.proc.hostname;
	a.workdir = r->st.cfg.proc.workdir;
	a.seccomp = &r->seccomp;
	a.fs = (struct fs_spec){
		.staging = r->staging, .rootfs = r->rootfs.tree_fd >= 0 ? &r->rootfs : NULL,
		.rootfs_check = r->verify_rootfs ? verify_rootfs : NULL, .rootfs_check_arg = &r->manifest,
		.context_fd = r->context_fd, .context_mount_fd = r->context_mount_fd,
		.context_mode = cfg->fs.context_mode,
		.context_path = r->context_path, .exec_paths = cfg->fs.exec_paths, .tmpfs_size = cfg->fs.tmpfs_size,
		.userns = r->userns, .allow_chroot = cfg->fs.allow_chroot_fallback,
		.proc_hidepid = cfg->fs.proc_hidepid,
		.volumes = cfg->fs.volumes, .n_volumes = cfg->fs.n_volumes, .volume_fds = r->volume_fds,
		.volume_clones = r->volume_clones, .tmpfs = cfg->fs.tmpfs, .n_tmpfs = cfg->fs.n_tmpfs,
		.hostname = a.hostname, .dns = cfg->net.dns, .dns_search = cfg->net.dns_search,
		.extra_hosts = cfg->net.extra_hosts, .self_hosts = r->self_hosts,
		.hosts_mount = hosts_mount >= 0, .hosts_mount_fd = hosts_mount,
		.secrets_mount_fd = r->secrets_mount_fd, .secrets = cfg->fs.secrets, .n_secrets = cfg->fs.n_secrets,
		.notify_dir = sd_notifier_dir(r->sdn),
	};
	a.landlock = r->landlock;
	a.stage_secrets = r->stage_secrets_in_child;
	a.secrets = r->secret_data;
	a.n_secrets = r->n_secret_data;

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
	return cloned(r);
}

/* A child nobody saw exit (a later stage failed) is killed and reaped:
 * nothing of a failed start outlives it. (The log pump closes with the
 * state directory: undo_prepare; the signal mask comes back last.) */
void undo_clone(struct run *r)
{
	end_child(r);
	if (r->restore)
		restore_undo_clone(r);
	if (r->cfg->rt.kind != RUNTIME_NATIVE)
		oci_cleanup(r);
	if (r->pidfd >= 0)
		close(r->pidfd);
	for (int i = 0; i < 2; i++)
		if (r->sync[i] >= 0)
			close(r->sync[i]);
}

/* map: the child's ids; then it builds its root while the stages up to
 * the release put the rest in place (it waits for SYNC_CGROUPS before it
 * drops privileges and execs). */
int stage_map(struct run *r, struct nerr *err)
{
	const struct userns_map *map = r->userns ? &r->map : NULL;
	int rc;

	/* a restored tree runs already: its pid namespace is new, so the
	 * sysctl is written again from outside (Linux >= 6.3) */
	if (r->restore)
		return r->cfg->sec.allow_memfd_exec ? 0 : memfd_noexec_for(r->pidfd, err);
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
 * network stage's undo detaches it); another runtime's bundle, which
 * joins that namespace. */
int stage_attach(struct run *r, struct nerr *err)
{
	int rc;

	if (r->lease && (rc = net_bridge_attach(&r->cfg->net.bridge, r->lease, r->pid, err)) < 0)
		return rc;
	if (r->cfg->rt.kind != RUNTIME_NATIVE && (rc = oci_write_bundle(r, err)) < 0)
		return rc;
	return 0;
}

/* release: the child may exec; from its exec on it is running. */
int stage_release(struct run *r, struct nerr *err)
{
	int rc;

	if (r->restore)
		return restore_stage_release(r, err);
	rc = release_child(r, err);

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
	/* before the record: what reacts (the health check's reset, ready
	 * without checks) is in it */
	run_service_event(r, SVC_STARTED);
	if ((rc = state_write(&r->st, err)) < 0)
		return rc;
	log_debug("run: workload started");
	notify_caller(r, "ok");
	debug_pause("running");
	return 0;
}

void undo_release(struct run *r)
{
	tty_relay_stop(r->tty);
	r->tty = NULL;
	sc_notify_free(r->notify);
	r->notify = NULL;
}
