/* The supervisor: validate, create the cgroup, clone the child into its
 * namespaces, map ids, release it, then forward signals and reap. It
 * stays until the workload ends and cleans up after it. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>
#include "internal.h"

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

struct run {
	struct container_config *cfg;
	char *state_dir;               /* <runtime>/<id> */
	char *staging;                 /* <state_dir>/rootfs */
	struct cgroup_host cg_host;
	struct cgroup cg;
	bool have_cgroup;
	struct sc_program seccomp;
	int context_fd;
	char *context_path;            /* absolute, symlinks resolved */
	int sync[2];
	int pidfd;
	pid_t pid;
	sigset_t orig_mask;
	bool mask_set;
	struct tty_relay *tty;
};

static int prepare_dirs(struct run *r, struct nerr *err)
{
	const char *rt = runtime_dir();
	int rc;

	/* 0711: a user-namespaced child must traverse to its staging dir;
	 * it cannot list the others, and their files are 0600. */
	if ((rc = mkdir_p(rt, 0711)) < 0)
		return nerr_set(err, -rc, "create runtime directory `%s`", rt);
	r->state_dir = xasprintf("%s/%s", rt, r->cfg->id);
	if (mkdir(r->state_dir, 0711) < 0) {
		rc = nerr_set(err, errno, "create `%s`", r->state_dir);
		free(r->state_dir);
		r->state_dir = NULL;
		return rc;
	}
	r->staging = xasprintf("%s/rootfs", r->state_dir);
	if (mkdir(r->staging, 0755) < 0)
		return nerr_set(err, errno, "create `%s`", r->staging);
	return 0;
}

static void cleanup(struct run *r)
{
	struct nerr e = { 0 };

	tty_relay_stop(r->tty);
	r->tty = NULL;
	if (r->pidfd >= 0)
		close(r->pidfd);
	for (int i = 0; i < 2; i++)
		if (r->sync[i] >= 0)
			close(r->sync[i]);
	if (r->context_fd >= 0)
		close(r->context_fd);
	if (r->have_cgroup && cgroup_destroy(&r->cg, &e) < 0)
		log_warn("%s", e.msg);
	if (r->staging)
		rmdir(r->staging);
	if (r->state_dir && remove_tree(r->state_dir) < 0)
		log_warn("cannot remove `%s`", r->state_dir);
	free(r->staging);
	free(r->state_dir);
	free(r->context_path);
	sc_program_free(&r->seccomp);
	if (r->mask_set)
		sigprocmask(SIG_SETMASK, &r->orig_mask, NULL);
}

static int setup_cgroup(struct run *r, struct nerr *err)
{
	struct nerr e = { 0 };
	int rc;

	if ((rc = cgroup_host_detect(&r->cg_host, &e)) == 0 &&
	    (rc = cgroup_create(&r->cg, &r->cg_host, r->cfg->id, &r->cfg->limits, &e)) == 0) {
		r->have_cgroup = true;
		return 0;
	}
	if (r->cfg->require_cgroup || r->cfg->mode == MODE_PRODUCTION) {
		*err = e;
		return nerr_prefix(err, "cgroup");
	}
	/* Agent mode runs without limits, as the original does, but says so. */
	log_warn("cgroup: %s; running without resource limits", e.msg);
	return 0;
}

static pid_t clone_child(struct run *r, uint64_t flags, struct nerr *err)
{
	struct clone_args ca = {
		.flags = flags | CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&r->pidfd,
		.exit_signal = SIGCHLD,
	};
	long pid;

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
		if (pid > 0 && r->have_cgroup && cgroup_join_all(&r->cg, (pid_t)pid, err) < 0)
			return -1;
	}
	if (pid < 0)
		return nerr_set(err, errno, "clone3");
	return (pid_t)pid;
}

/* Between clone and the child's exec: map, join, release, then wait for
 * EOF (exec happened) or a message saying why not. */
static int release_child(struct run *r, const struct userns_map *map, int *exit_code, struct nerr *err)
{
	struct sync_msg m;
	int rc, fd;

	if (map && (rc = userns_write_maps(r->pid, map, err)) < 0)
		return rc;
	if (r->have_cgroup && (rc = cgroup_join_v1(&r->cg, r->pid, err)) < 0)
		return rc;
	log_debug("run: joined v1 cgroups");
	if ((rc = sync_send(r->sync[0], SYNC_GO, 0, NULL, -1)) < 0)
		return nerr_set(err, -rc, "release the container");
	for (;;) {
		rc = sync_recv(r->sync[0], &m, &fd);
		if (rc == -EPIPE)
			return 0;            /* exec succeeded */
		if (rc < 0)
			return nerr_set(err, -rc, "read from the container");
		switch (m.type) {
		case SYNC_TTY:
			if (fd < 0)
				return nerr_set(err, EPROTO, "no pty received");
			r->tty = tty_relay_start(fd, err);
			sync_send(r->sync[0], SYNC_TTY_READY, 0, NULL, -1);
			break;
		case SYNC_WARNING:
			log_warn("%s", m.text);
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

static int status_of(const siginfo_t *si)
{
	if (si->si_code == CLD_EXITED)
		return si->si_status;
	return 128 + si->si_status;
}

/* Forward signals, relay the tty, and reap. */
static int supervise(struct run *r, int sfd, int *exit_code, struct nerr *err)
{
	_cleanup_close_ int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };
	int in = -1, master = -1;
	bool exited = false;

	if (ep < 0)
		return nerr_set(err, errno, "epoll_create1");
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = r->pidfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, r->pidfd, &ev);
	if (r->tty) {
		tty_relay_fds(r->tty, &in, &master);
		ev.data.fd = master;
		epoll_ctl(ep, EPOLL_CTL_ADD, master, &ev);
		ev.data.fd = in;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, in, &ev) < 0)
			in = -1;     /* e.g. /dev/null: not pollable, nothing to relay */
	}
	/* With a tty, keep relaying until the pty drains after the exit. */
	while (!exited || master >= 0) {
		struct epoll_event evs[8];
		int n = epoll_wait(ep, evs, 8, exited ? 100 : -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return nerr_set(err, errno, "epoll_wait");
		}
		if (n == 0 && exited)
			break;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == sfd) {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGWINCH && r->tty)
					tty_relay_resize(r->tty);
				else if (!exited)
					syscall(SYS_pidfd_send_signal, r->pidfd, si.ssi_signo, NULL, 0);
			} else if (fd == r->pidfd && !exited) {
				siginfo_t si = { 0 };

				if (waitid(P_PIDFD, (id_t)r->pidfd, &si, WEXITED) == 0) {
					*exit_code = status_of(&si);
					exited = true;
					epoll_ctl(ep, EPOLL_CTL_DEL, r->pidfd, NULL);
				}
			} else if (fd == master) {
				if (tty_relay_pump(r->tty, master) == 1) {
					epoll_ctl(ep, EPOLL_CTL_DEL, master, NULL);
					master = -1;
				}
			} else if (fd == in) {
				if (tty_relay_pump(r->tty, in) < 0) {
					epoll_ctl(ep, EPOLL_CTL_DEL, in, NULL);
					in = -1;
				}
			}
		}
	}
	return 0;
}

int container_run(struct container_config *cfg, int *exit_code, struct nerr *err)
{
	struct run r = { .cfg = cfg, .context_fd = -1, .sync = { -1, -1 }, .pidfd = -1 };
	struct child_args a = { 0 };
	struct userns_map map;
	bool userns = cfg->rootless || cfg->userns;
	struct ns_spec ns = {
		.user = userns, .time = cfg->time_namespace,
		.net = cfg->network != NETWORK_HOST,
	};
	_cleanup_close_ int sfd = -1;
	sigset_t mask;
	int rc;

	*exit_code = 125;
	log_debug("run: start");
	if (!cfg->name[0])
		snprintf(cfg->name, sizeof(cfg->name), "%.12s", cfg->id);
	if (cfg->rootless)
		userns_map_rootless(&map, geteuid(), getegid());
	else if (cfg->userns && (rc = userns_map_range(&map, err)) < 0)
		return rc;

	/* Everything that can fail on bad input fails before anything exists. */
	if (cfg->context) {
		r.context_fd = open(cfg->context, O_PATH | O_DIRECTORY | O_CLOEXEC);
		r.context_path = realpath(cfg->context, NULL);
		if (r.context_fd < 0 || !r.context_path) {
			rc = nerr_set(err, errno, "context directory `%s`", cfg->context);
			goto out;
		}
	}
	if ((rc = sc_program_prepare_builtin(0, &r.seccomp, err)) < 0)
		goto out;
	log_debug("run: seccomp filter ready (%s)", r.seccomp.from_cache ? "cached" : "compiled");
	if ((rc = prepare_dirs(&r, err)) < 0 || (rc = setup_cgroup(&r, err)) < 0)
		goto out;
	log_debug("run: cgroup ready");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, r.sync) < 0) {
		rc = nerr_set(err, errno, "socketpair");
		goto out;
	}

	/* Block forwarded signals before clone so none is lost in between;
	 * the child restores the mask. */
	sigemptyset(&mask);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&mask, forwarded[i]);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &r.orig_mask);
	r.mask_set = true;
	sigdelset(&mask, SIGCHLD);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		rc = nerr_set(err, errno, "signalfd");
		goto out;
	}

	a.cfg = cfg;
	a.sync_fd = r.sync[1];
	a.orig_mask = r.orig_mask;
	a.userns = userns;
	a.hostname = cfg->hostname ? cfg->hostname : cfg->name;
	a.workdir = cfg->workdir ? cfg->workdir : cfg->context ? "/context" : "/";
	a.seccomp = &r.seccomp;
	a.fs = (struct fs_spec){
		.staging = r.staging, .context_fd = r.context_fd, .context_mode = cfg->context_mode,
		.context_path = r.context_path,
		.userns = userns, .allow_chroot = cfg->allow_chroot_fallback,
		.hostname = a.hostname, .dns = cfg->dns,
	};
	landlock_default_spec(&a.landlock, cfg->context_mode == CONTEXT_COPY, cfg->context != NULL);

	r.pid = clone_child(&r, ns_clone_flags(&ns), err);
	if (r.pid < 0) {
		rc = r.pid;
		goto out;
	}
	if (r.pid == 0) {
		close(r.sync[0]);
		child_main(&a);
	}
	close(r.sync[1]);
	r.sync[1] = -1;
	log_debug("run: cloned %d", (int)r.pid);

	rc = release_child(&r, userns ? &map : NULL, exit_code, err);
	if (rc != 0) {
		siginfo_t si;

		/* The child reported and exits; make sure of it, then reap. */
		syscall(SYS_pidfd_send_signal, r.pidfd, SIGKILL, NULL, 0);
		waitid(P_PIDFD, (id_t)r.pidfd, &si, WEXITED);
		if (rc > 0)
			rc = 0;      /* exec failure: exit_code and message are set */
		goto out;
	}
	log_debug("run: workload started");
	rc = supervise(&r, sfd, exit_code, err);
	log_debug("run: workload exited");
out:
	landlock_spec_free(&a.landlock);
	cleanup(&r);
	log_debug("run: cleaned up");
	return rc;
}
