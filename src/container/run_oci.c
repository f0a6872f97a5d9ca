/* --runtime gvisor and --runtime oci:PATH: the run's stages around another
 * runtime (docs/gvisor.md). The supervisor, the cgroup with its limits,
 * the BPF programs, the bridge, the state and the logs are the native
 * run's; what differs is the child. Instead of the workload it is a
 * launcher: pid 1 of a new pid namespace (so `state_pid_alive`, stop and
 * kill treat it as the container's init, and its end takes everything the
 * runtime started with it), with a mount namespace of its own whose /proc
 * matches that pid namespace (runc and runsc read /proc/<pid> of the pids
 * they start) and, unless --network host, the container's network
 * namespace: the bridge's veth is moved into it as for a native
 * container, and the runtime runs there (runsc's sandbox takes the
 * namespace it is started in; runc's container joins it by the bundle).
 * Released, it starts `RUNTIME run --bundle` on the bundle written from
 * the configuration (src/oci/) and turns the signals it is sent into
 * `RUNTIME kill`: runsc's and runc's `run` do not pass them on to the
 * workload themselves. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <jansson.h>
#include <nucleus/oci.h>
#include "run.h"

/* The cgroup an OCI runtime makes for its container, in the container's. */
#define OCI_CGROUP_CHILD "oci"

const char *oci_cgroup_child(void)
{
	return OCI_CGROUP_CHILD;
}

/* Where the runtime keeps its state (its --root) and the bundle: in the
 * container's state directory, so nothing of it outlives the container. */
static char *runtime_root(const struct run *r)
{
	return xasprintf("%s/oci", r->state_dir);
}

static char *bundle_dir(const struct run *r)
{
	return xasprintf("%s/bundle", r->state_dir);
}

uint64_t oci_clone_flags(const struct run *r)
{
	uint64_t f = CLONE_NEWPID | CLONE_NEWNS;

	if (r->cfg->net.mode != NETWORK_HOST)
		f |= CLONE_NEWNET;
	return f;
}

/* validate: what needs the system (the runtime's platform, the rootfs's
 * attestation, read on the host before the runtime mounts the tree). */
int oci_stage_validate(struct run *r, struct nerr *err)
{
	struct container_config *cfg = r->cfg;
	/* (the notify socket's directory exists from the prepare stage on;
	 * the rootfs is verified below) */
	struct oci_bundle_opts check = { .runtime = cfg->rt.kind, .rootfs_verified = cfg->fs.verify_attestation,
					 .notify_dir = SD_NOTIFY_CONTAINER_DIR };
	int rc;

	/* what a bundle cannot carry, before anything exists */
	if ((rc = oci_bundle_check(cfg, &check, err)) < 0)
		return rc;
	if (cfg->rt.kind == RUNTIME_GVISOR && (rc = runsc_check_platform(cfg->rt.path, cfg->rt.platform, err)) < 0)
		return rc;
	if (cfg->sec.seccomp_profile && !(r->st.seccomp_profile = realpath(cfg->sec.seccomp_profile, NULL)))
		return nerr_set(err, errno, "seccomp profile `%s`", cfg->sec.seccomp_profile);
	if (cfg->fs.verify_attestation) {
		if ((rc = fs_rootfs_open(cfg->fs.rootfs, &r->rootfs, err)) < 0)
			return rc;
		if (r->rootfs.has_store)
			return nerr_set(err, 0, "--verify-rootfs-attestation of a rootfs with a Nix closure is not "
					"supported with --runtime %s", runtime_kind_names[cfg->rt.kind]);
		if ((rc = attest_manifest_read(r->rootfs.tree_fd, cfg->fs.attestation_sha256, &r->manifest, err)) < 0 ||
		    (rc = attest_verify(r->rootfs.tree_fd, -1, &r->manifest, err)) < 0)
			return nerr_prefix(err, "--verify-rootfs-attestation");
		log_debug("run: rootfs verified against its manifest");
		fs_rootfs_close(&r->rootfs);
	}
	return 0;
}

/* The runtime's state and the bundle, once the launcher is gone (a restart
 * writes them again; a kept record keeps neither). Files only: with the
 * launcher, pid 1 of their pid namespace, went every process the runtime
 * started, and the pids its state records are of that namespace, so the
 * runtime's own `delete` must never run out here (it would signal
 * whatever has those pids on the host). */
void oci_cleanup(struct run *r)
{
	_cleanup_free_ char *root = NULL, *bundle = NULL;
	struct stat st;

	if (!r->state_dir)
		return;
	root = runtime_root(r);
	bundle = bundle_dir(r);
	for (size_t i = 0; i < 2; i++) {
		_cleanup_free_ char *probe = xasprintf("%s/probe-%s.json", r->state_dir, i ? "readiness" : "health");

		unlink(probe);
	}
	if (stat(root, &st) == 0 && remove_tree(root) < 0)
		log_warn("cannot remove `%s`", root);
	if (stat(bundle, &st) == 0 && remove_tree(bundle) < 0)
		log_warn("cannot remove `%s`", bundle);
	/* what runc left of its cgroup: the path to it in the hierarchies
	 * nucleus does not use (runc joins every one), and all of it when
	 * runc was killed */
	if (r->have_cgroup && r->cfg->rt.kind == RUNTIME_OCI)
		cgroup_remove_child(&r->cg, OCI_CGROUP_CHILD);
}

/* attach (after the veth went into the launcher's network namespace):
 * the bundle, joining that namespace by the launcher's /proc (its pid 1,
 * as the runtime, started there, sees it). */
int oci_write_bundle(struct run *r, struct nerr *err)
{
	_cleanup_free_ char *bundle = NULL, *cgpath = NULL;
	struct oci_bundle_opts o = {
		.netns_path = r->cfg->net.mode != NETWORK_HOST ? "/proc/1/ns/net" : NULL,
		.runtime = r->cfg->rt.kind,
		.self_hosts = r->self_hosts,
		/* the validate stage did, on the host (the runtime mounts the
		 * same directory a moment later; native verifies its mounted
		 * clone) */
		.rootfs_verified = r->cfg->fs.verify_attestation,
		.notify_dir = r->sdn && sd_notifier_dir(r->sdn) ? sd_notifier_dir(r->sdn) : "",
	};
	int rc;

	/* a restart's: the last one's state and bundle go first */
	oci_cleanup(r);
	bundle = bundle_dir(r);
	/* runsc is told to leave cgroups alone; runc and crun join and write
	 * the path they are given and remove it when they end: a child of the
	 * container's cgroup (the limits above it hold, the BPF programs
	 * attached to it apply to it), not the container's own */
	if (r->have_cgroup) {
		cgpath = r->cfg->rt.kind == RUNTIME_OCI ? xasprintf("/%s/%s", r->cg.rel, OCI_CGROUP_CHILD) :
							  xasprintf("/%s", r->cg.rel);
		o.cgroups_path = cgpath;
		o.limits_enclosed = r->cfg->rt.kind == RUNTIME_OCI;
	}
	if ((rc = oci_bundle_write(r->cfg, bundle, &o, err)) < 0)
		return nerr_prefix(err, "bundle");
	log_debug("run: bundle written");
	return 0;
}

/* ---- the launcher (the cloned child) ------------------------------------- */

static void __attribute__((noreturn)) launcher_fail(int sync_fd, int code, const char *fmt, const char *arg)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, arg);
	sync_send(sync_fd, SYNC_ERROR, code, msg, -1);
	_exit(125);
}

/* argv with the runtime's global flags: the root, and for runsc the
 * platform, the network mode the configuration's maps to, no cgroup
 * management of its own (the sandbox lives in nucleus's cgroup, which
 * holds the limits and the BPF programs) and the bundle's seccomp profile
 * applied by gVisor's kernel to the workload. */
static char **runtime_argv(const struct run *r, const char *root)
{
	const struct container_config *cfg = r->cfg;
	char **v = NULL;

	strv_push(&v, cfg->rt.path);
	strv_push(&v, "--root");
	strv_push(&v, root);
	if (cfg->rt.kind == RUNTIME_GVISOR) {
		/* bridge: the sentry's sockets are host sockets in the container's
		 * network namespace (runsc's host network, run from there), so
		 * the cgroup's egress programs see every connection; gVisor's own
		 * stack (--network sandbox) sends through a packet socket, which
		 * no cgroup program sees, and would leave the egress policy
		 * unenforced */
		static const char *const net[] = { [NETWORK_NONE] = "none", [NETWORK_HOST] = "host",
						   [NETWORK_BRIDGE] = "host" };

		if (cfg->rt.platform) {
			strv_push(&v, "--platform");
			strv_push(&v, cfg->rt.platform);
		}
		strv_push(&v, "--network");
		strv_push(&v, net[cfg->net.mode]);
		strv_push(&v, "--ignore-cgroups");
		strv_push(&v, "--oci-seccomp");
		/* --sd-notify=container: the workload connects to the host's
		 * socket bound at /run/notify */
		if (cfg->svc.sd_notify == SD_NOTIFY_CONTAINER) {
			strv_push(&v, "--host-uds");
			strv_push(&v, "open");
		}
	}
	return v;
}

static pid_t spawn(char *const *argv, const sigset_t *mask, int report_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		int e;

		sigprocmask(SIG_SETMASK, mask, NULL);
		execv(argv[0], argv);
		e = errno;
		if (report_fd >= 0)
			(void)!write(report_fd, &e, sizeof(e));
		_exit(127);
	}
	return pid;
}

/* `RUNTIME kill ID SIG`, waited for (its own exit is not the workload's). */
static void runtime_kill(const struct run *r, const char *root, int sig, const sigset_t *mask)
{
	_cleanup_strv_ char **argv = runtime_argv(r, root);
	char num[16];
	pid_t pid;

	snprintf(num, sizeof(num), "%d", sig);
	strv_push(&argv, "kill");
	strv_push(&argv, r->cfg->id);
	strv_push(&argv, num);
	if ((pid = spawn(argv, mask, -1)) > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}

void __attribute__((noreturn)) oci_launcher_main(struct run *r)
{
	_cleanup_free_ char *root = runtime_root(r), *bundle = bundle_dir(r);
	_cleanup_strv_ char **argv = NULL;
	int sync_fd = r->sync[1], report[2], e = 0, sfd, status = 0;
	struct nerr err = { 0 };
	struct sync_msg m;
	bool go = false, released = false;
	sigset_t mask;
	pid_t run;

	/* Nothing of the supervisor's stays open here (this child does not
	 * exec, so O_CLOEXEC would not close them): -d's caller waits for the
	 * end of its pipe, and the lock, the rings and the log are the
	 * supervisor's alone. The channel becomes fd 3. */
	if (sync_fd != 3 && (dup2(sync_fd, 3) < 0 || fcntl(3, F_SETFD, FD_CLOEXEC) < 0))
		_exit(125);
	sync_fd = 3;
	if (close_range(4, ~0U, 0) < 0)
		_exit(125);
	/* a session of its own, as a native workload's: the caller's terminal
	 * signals reach the supervisor, which passes them on, and what the
	 * runtime sends its process group stays inside */
	setsid();
	/* the runtime's /proc is this pid namespace's; nothing mounted here
	 * reaches the host */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		launcher_fail(sync_fd, errno, "mount /proc for the runtime: %s", strerror(errno));
	/* the ids (nothing to map here), then everything in place: the bundle
	 * is written and the limits set by then */
	while (!go || !released) {
		int rc = sync_recv(sync_fd, &m, NULL);

		if (rc < 0)
			_exit(125);   /* the supervisor is gone or gave up */
		go |= m.type == SYNC_GO;
		released |= m.type == SYNC_CGROUPS;
	}
	if (r->cfg->net.mode != NETWORK_HOST && net_loopback_up(&err) < 0)
		launcher_fail(sync_fd, err.code, "%s", err.msg);

	/* the signals stop, kill and the supervisor send: read, and passed on */
	sigemptyset(&mask);
	for (int s = 1; s < SIGRTMIN; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaddset(&mask, s);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0)
		launcher_fail(sync_fd, errno, "signalfd: %s", strerror(errno));

	argv = runtime_argv(r, root);
	strv_push(&argv, "run");
	/* an OCI runtime keeps its cgroup (removed by oci_cleanup): the
	 * teardown reads the OOM kills counted there */
	if (r->cfg->rt.kind == RUNTIME_OCI)
		strv_push(&argv, "--keep");
	strv_push(&argv, "--bundle");
	strv_push(&argv, bundle);
	strv_push(&argv, r->cfg->id);
	if (pipe2(report, O_CLOEXEC) < 0)
		launcher_fail(sync_fd, errno, "pipe: %s", strerror(errno));
	if ((run = spawn(argv, &r->orig_mask, report[1])) < 0)
		launcher_fail(sync_fd, errno, "fork: %s", strerror(errno));
	close(report[1]);
	if (read(report[0], &e, sizeof(e)) == sizeof(e)) {
		char msg[512];

		snprintf(msg, sizeof(msg), "exec %s: %s", argv[0], strerror(e));
		sync_send(sync_fd, SYNC_ERROR, e, msg, -1);
		_exit(125);
	}
	close(report[0]);
	/* the runtime runs: the supervisor sees the socket close, as a
	 * native child's exec closes it */
	close(sync_fd);

	for (;;) {
		struct signalfd_siginfo si;
		pid_t pid;

		if (read(sfd, &si, sizeof(si)) != sizeof(si)) {
			if (errno == EINTR)
				continue;
			_exit(125);
		}
		if (si.ssi_signo != SIGCHLD) {
			runtime_kill(r, root, (int)si.ssi_signo, &r->orig_mask);
			continue;
		}
		/* pid 1 of its namespace: every orphan of the runtime's is ours */
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if (pid == run)
				_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
}

/* ---- health and readiness probes ------------------------------------------ */

/* The probe's process: the bundle's (the workload's user, groups,
 * capabilities, no_new_privs, environment, working directory) with the
 * probe's argv, for the runtime's `exec --process`. */
static int probe_process_file(struct run *r, const char *path, char **argv, struct nerr *err)
{
	_cleanup_free_ char *bundle = bundle_dir(r);
	struct oci_bundle_opts o = { .runtime = r->cfg->rt.kind, .rootfs_verified = true, .notify_dir = "" };
	json_t *spec = oci_spec_build(r->cfg, bundle, &o, err), *proc, *args;
	int rc = 0;

	if (!spec)
		return -err->code;
	proc = json_object_get(spec, "process");
	args = json_array();
	for (size_t i = 0; argv[i]; i++)
		json_array_append_new(args, json_string(argv[i]));
	json_object_set_new(proc, "args", args);
	json_object_set_new(proc, "terminal", json_false());
	if (json_dump_file(proc, path, JSON_COMPACT) < 0)
		rc = nerr_set(err, EIO, "write `%s`", path);
	json_decref(spec);
	return rc;
}

int oci_probe_spawn(struct run *r, const char *name, char **argv, int out_fd, struct attach_proc *proc,
		    struct nerr *err)
{
	_cleanup_free_ char *root = runtime_root(r), *file = xasprintf("%s/probe-%s.json", r->state_dir, name);
	_cleanup_strv_ char **cmd = NULL;
	pid_t mid;
	int rc;

	if ((rc = probe_process_file(r, file, argv, err)) < 0)
		return rc;
	cmd = runtime_argv(r, root);
	strv_push(&cmd, "exec");
	strv_push(&cmd, "--process");
	strv_push(&cmd, file);
	strv_push(&cmd, r->cfg->id);
	if ((mid = fork()) < 0)
		return nerr_set(err, errno, "fork");
	if (mid == 0) {
		sigset_t none;
		int status, null;
		pid_t pid;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		/* where the runtime's own `run` is: its pids and its /proc (the
		 * state it reads names pids of that namespace), and its network
		 * namespace (runsc reaches its sandbox by an abstract socket) */
		if (setns(r->pidfd, CLONE_NEWPID | CLONE_NEWNS | (oci_clone_flags(r) & CLONE_NEWNET)) < 0)
			_exit(125);
		if ((pid = fork()) < 0)
			_exit(125);
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
			null = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
			    dup2(out_fd, STDERR_FILENO) < 0)
				_exit(125);
			execv(cmd[0], cmd);
			_exit(127);
		}
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				_exit(125);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
	proc->mid = mid;
	proc->pidfd = -1;
	proc->mid_pidfd = (int)syscall(SYS_pidfd_open, mid, 0);
	if (proc->mid_pidfd < 0) {
		kill(mid, SIGKILL);
		waitpid(mid, NULL, 0);
		return nerr_set(err, errno, "pidfd_open");
	}
	return 0;
}
