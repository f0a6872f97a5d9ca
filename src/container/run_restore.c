/* nucleus restore: the run's stages around `criu restore` instead of a new
 * child (the way run_oci.c puts a launcher in the child's place). The
 * supervisor, the state entry, the logs, the cgroup with the limits
 * nucleus writes (CRIU does not restore cgroup v2 limits: stage_limits
 * writes them, as for a run) and the BPF programs attached to it are the
 * run's; what differs:
 *   validate  the workload's own state (its root, seccomp filter, ids) is
 *             in the images, not built from the configuration: nothing of
 *             the run's validate but the checks;
 *   clone     a network namespace with lo up (--network none; the dumped
 *             one was external), CRIU's --root (a mount point: the staging
 *             directory), and criu restore started in the container's
 *             cgroup (the restored tree is born there; --cgroup-root maps
 *             the dumped cgroup and its namespace onto it) with
 *             --restore-detached --restore-sibling: the restored init is
 *             the supervisor's child, pid 1 of a new pid namespace, waited
 *             on as a cloned one; the external mounts given their host
 *             sources and the standard fds the supervisor's (--inherit-fd);
 *   map       no ids to write; vm.memfd_noexec of the new pid namespace;
 *   release   nothing to release: it runs. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <jansson.h>
#include <nucleus/checkpoint.h>
#include "run.h"

int restore_stage_validate(struct run *r, struct nerr *err)
{
	struct container_config *cfg = r->cfg;
	int rc;

	if (cfg->rt.kind != RUNTIME_NATIVE)
		return CKPT_FAIL(err, EOPNOTSUPP, "the checkpoint is of another runtime's container");
	if (cfg->net.mode == NETWORK_BRIDGE)
		return CKPT_FAIL(err, EOPNOTSUPP, "--network bridge cannot be restored (none or host only)");
	if (cfg->ns.userns || cfg->ns.rootless)
		return CKPT_FAIL(err, EOPNOTSUPP, "a user namespace cannot be restored");
	if (geteuid() != 0)
		return CKPT_FAIL(err, EPERM, "restore needs root (CRIU does)");
	/* a restart would start the workload afresh from the configuration,
	 * which the restored container was not built from */
	if (cfg->svc.restart != RESTART_NO) {
		log_warn("--restart %s does not apply to a restored container", restart_policy_name(cfg->svc.restart));
		cfg->svc.restart = RESTART_NO;
	}
	r->st.restored_from = xstrdup(r->restore->dir);
	/* CRIU 3.17 knows nothing of Landlock: the restored processes have
	 * their seccomp filter, capabilities and namespaces back, not the
	 * Landlock domain the child gave itself */
	if (landlock_abi() > 0)
		log_warn("restore: the workload's Landlock rules are not restored (CRIU does not carry them); "
			 "its seccomp filter, capabilities, namespaces, cgroup limits and BPF policy are");
	/* the filter the workload has came with it; attach builds its own from
	 * the same configuration and compares the key: the run's, computed
	 * the same way */
	if (cfg->sec.seccomp_profile && !(r->st.seccomp_profile = realpath(cfg->sec.seccomp_profile, NULL)))
		return nerr_set(err, errno, "seccomp profile `%s`", cfg->sec.seccomp_profile);
	r->st.seccomp_flags = cfg->sec.seccomp_log_denied ? SC_FLAG_NOTIFY_DENIED : 0;
	if ((rc = container_seccomp_prepare(cfg->sec.seccomp_trace, r->st.seccomp_profile,
					    cfg->sec.seccomp_profile_sha256, cfg->sec.caps.bounding,
					    r->st.seccomp_flags, false, &r->seccomp, err)) < 0)
		return rc;
	snprintf(r->st.seccomp_key, sizeof(r->st.seccomp_key), "%s", r->seccomp.key);
	return 0;
}

/* A network namespace with only lo, up: what the dumped one held. */
static int make_netns(struct run *r, struct nerr *err)
{
	_cleanup_close_ int host = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (host < 0)
		return nerr_set(err, errno, "open the host's network namespace");
	/* this thread's only (unshare of a network namespace is per thread) */
	if (unshare(CLONE_NEWNET) < 0)
		return nerr_set(err, errno, "create the network namespace");
	if ((rc = net_loopback_up(err)) == 0 &&
	    (r->restore_netns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
		rc = nerr_set(err, errno, "open the network namespace");
	if (setns(host, CLONE_NEWNET) < 0) {
		/* the supervisor cannot stay in the container's */
		log_error("return to the host's network namespace: %s", strerror(errno));
		abort();
	}
	return rc;
}

/* CRIU's --root, which it binds as the container's root: a tmpfs at the
 * staging directory with the root's content as the checkpoint archived it
 * (CRIU dumps the other tmpfs mounts, not the root's), private. */
static int make_root(struct run *r, struct nerr *err)
{
	_cleanup_free_ char *tar = xasprintf("%s/%s/%s", r->restore->dir, CKPT_IMAGES, CKPT_ROOT_TAR);
	int status;
	pid_t pid;

	if (mount("tmpfs", r->staging, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		return nerr_set(err, errno, "mount CRIU's root `%s`", r->staging);
	r->restore_root = true;
	if (mount(NULL, r->staging, NULL, MS_PRIVATE, NULL) < 0)
		return nerr_set(err, errno, "make `%s` private", r->staging);
	if ((pid = fork()) < 0)
		return nerr_set(err, errno, "fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0)
			_exit(126);
		execlp("tar", "tar", "--numeric-owner", "-C", r->staging, "-xpf", tar, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return nerr_set(err, EIO, "extract the container's root (tar status %d)",
				WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}

static pid_t read_pidfile(const char *path, struct nerr *err)
{
	_cleanup_free_ char *text = NULL;
	uint64_t pid;
	int rc;

	if ((rc = read_file(path, 64, &text, NULL)) < 0)
		return nerr_set(err, -rc, "read CRIU's pid file");
	text[strcspn(text, "\n")] = '\0';
	if (parse_u64(text, 2, 1u << 22, &pid) < 0)
		return CKPT_FAIL(err, EPROTO, "CRIU's pid file holds `%.32s`", text);
	return (pid_t)pid;
}

static char **restore_argv(struct run *r, const char *pidfile, struct criu_fd *keep, size_t *nkeep)
{
	const struct ckpt_manifest *m = r->restore->m;
	char **v = NULL;

	strv_push(&v, r->restore->criu);
	strv_push(&v, "restore");
	strv_push_take(&v, xasprintf("--images-dir=%s/%s", r->restore->dir, CKPT_IMAGES));
	/* CRIU's own files (its log, the pid file) in the state directory:
	 * the checkpoint may be read-only, and stays as it was verified */
	strv_push_take(&v, xasprintf("--work-dir=%s", r->state_dir));
	strv_push(&v, "--log-file=criu-restore.log");
	strv_push(&v, "-v4");
	strv_push_take(&v, xasprintf("--root=%s", r->staging));
	strv_push_take(&v, xasprintf("--pidfile=%s", pidfile));
	strv_push(&v, "--restore-detached");
	strv_push(&v, "--restore-sibling");
	strv_push(&v, "--file-locks");
	strv_push(&v, "--manage-cgroups=soft");
	/* iptables-restore is not needed (nor in the VM image): CRIU links
	 * libnftables */
	strv_push(&v, "--network-lock=nftables");
	if (r->have_cgroup)
		strv_push_take(&v, xasprintf("--cgroup-root=/%s", r->cg.rel));
	for (size_t i = 0; m->ext_mounts && m->ext_mounts[i]; i++)
		strv_push_take(&v, xasprintf("--external=mnt[%s]:%s", m->ext_mounts[i], m->ext_sources[i]));
	*nkeep = 0;
	/* the supervisor's 0-2 are the workload's (the log's pipes with -d,
	 * as log_pump_open left them; the caller's otherwise) */
	for (int i = 0; i < CKPT_STDIO; i++) {
		if (!m->stdio[i])
			continue;
		keep[*nkeep] = (struct criu_fd){ i, 10 + i };
		(*nkeep)++;
		strv_push_take(&v, xasprintf("--inherit-fd=fd[%d]:%s", 10 + i, m->stdio[i]));
	}
	if (r->restore_netns >= 0) {
		keep[*nkeep] = (struct criu_fd){ r->restore_netns, 13 };
		(*nkeep)++;
		strv_push(&v, "--inherit-fd=fd[13]:nucleus-netns");
	}
	/* --init's init: the host's files it was running (checked to be the
	 * same when opened) */
	for (size_t i = 0; i < r->restore->n_files; i++) {
		keep[*nkeep] = (struct criu_fd){ r->restore->file_fds[i], 14 + (int)i };
		strv_push_take(&v, xasprintf("--inherit-fd=fd[%d]:%s", 14 + (int)i, m->ext_files[i]));
		(*nkeep)++;
	}
	return v;
}

int restore_stage_clone(struct run *r, struct nerr *err)
{
	struct container_config *cfg = r->cfg;
	_cleanup_free_ char *pidfile = xasprintf("%s/criu-restore.pid", r->state_dir);
	_cleanup_free_ char *log = xasprintf("%s/criu-restore.log", r->state_dir);
	_cleanup_strv_ char **argv = NULL;
	struct criu_fd keep[CKPT_STDIO + 1 + CKPT_MAX_FILES];
	size_t nkeep;
	pid_t pid;
	int rc;

	/* -d: the log's pipes on 0-2, handed to CRIU below */
	if ((rc = run_prepare_supervision(r, err)) < 0)
		return rc;
	if (cfg->net.mode != NETWORK_HOST && (rc = make_netns(r, err)) < 0)
		return rc;
	if ((rc = make_root(r, err)) < 0)
		return rc;
	argv = restore_argv(r, pidfile, keep, &nkeep);
	debug_pause("restoring");
	rc = criu_run(argv, "restore", log, keep, nkeep, r->have_cgroup ? r->cg.v2_fd : -1, err);
	if (rc < 0)
		return rc;
	if ((pid = read_pidfile(pidfile, err)) < 0)
		return pid;
	unlink(pidfile);
	r->pid = pid;
	if ((r->pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
		return nerr_set(err, errno, "pidfd_open %d", (int)pid);
	/* --restore-sibling: the restored init is this process's child */
	if (proc_ns_pid(pid) != 1)
		return CKPT_FAIL(err, EPROTO, "the restored process %d is not pid 1 of its namespace", (int)pid);
	log_pump_started(r->log);
	log_debug("run: restored %d", (int)pid);
	return 0;
}

void restore_undo_clone(struct run *r)
{
	if (r->restore_root && umount2(r->staging, MNT_DETACH) < 0)
		log_warn("cannot unmount `%s`: %s", r->staging, strerror(errno));
	r->restore_root = false;
	if (r->restore_netns >= 0)
		close(r->restore_netns);
	r->restore_netns = -1;
}

int restore_stage_release(struct run *r, struct nerr *err)
{
	int rc;

	if (r->audit)
		audit_container_started(r->audit, r->pid);
	r->st.status = STATUS_RUNNING;
	r->st.pid = r->pid;
	r->st.pid_start = proc_start_time(r->pid);
	r->st.started_ns = realtime_ns();
	/* CRIU's root is held by the restored mount namespace now */
	if (r->restore_root && umount2(r->staging, MNT_DETACH) == 0)
		r->restore_root = false;
	run_service_event(r, SVC_STARTED);
	if ((rc = state_write(&r->st, err)) < 0)
		return rc;
	log_debug("run: workload restored");
	notify_caller(r, "ok");
	return 0;
}

/* ---- nucleus restore ------------------------------------------------------ */

static int start_restore(struct container_config *c, const void *arg, int notify_fd, int *exit_code,
			 struct nerr *err)
{
	return container_run_restore(c, arg, notify_fd, exit_code, err);
}

static int read_config(int dirfd, struct container_config *cfg, struct nerr *err)
{
	_cleanup_free_ char *text = NULL;
	json_error_t je;
	json_t *o;
	int rc;

	if ((rc = read_file_at(dirfd, CKPT_CONFIG, 16 << 20, &text, NULL)) < 0)
		return nerr_set(err, -rc, "read %s", CKPT_CONFIG);
	if (!(o = json_loads(text, JSON_REJECT_DUPLICATES, &je)))
		return nerr_set(err, EINVAL, "%s: %s (line %d)", CKPT_CONFIG, je.text, je.line);
	rc = container_config_from_json(o, cfg, err);
	json_decref(o);
	return rc < 0 ? nerr_prefix(err, "%s", CKPT_CONFIG) : 0;
}

/* The host's files the checkpoint's init ran (--init): opened at their
 * paths, each the same file as at the dump (its sha256). */
static int open_files(const struct ckpt_manifest *m, int *fds, size_t *n, struct nerr *err)
{
	size_t want = strv_len(m->ext_files);

	*n = 0;
	if (want > CKPT_MAX_FILES)
		return CKPT_FAIL(err, E2BIG, "the checkpoint names %zu external files, at most %d", want,
				 CKPT_MAX_FILES);
	for (size_t i = 0; i < want; i++) {
		_cleanup_free_ char *link = NULL;
		char hex[65];
		int fd = open(m->ext_file_paths[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return nerr_set(err, errno, "open `%s` (the checkpoint's init ran it)", m->ext_file_paths[i]);
		fds[(*n)++] = fd;
		link = xasprintf("/proc/self/fd/%d", fd);
		if (sha256_file_hex(link, hex, err) < 0)
			return -err->code;
		if (strcmp(hex, m->ext_file_sha256[i]))
			return CKPT_FAIL(err, EPROTO, "`%s` is not the file the checkpoint's init ran (sha256 %.12s..., "
					 "recorded %.12s...): restore where nucleus and its libraries are the same",
					 m->ext_file_paths[i], hex, m->ext_file_sha256[i]);
	}
	return 0;
}

int container_restore(const char *dir, const char *name, bool detach, int *exit_code, struct nerr *err)
{
	struct criu_info ci = { 0 };
	struct ckpt_manifest m = { 0 };
	struct container_config cfg;
	struct restore_input in = { 0 };
	_cleanup_free_ char *abs = NULL;
	_cleanup_close_ int dirfd = -1;
	int files[CKPT_MAX_FILES];
	bool have_cfg = false;
	int rc;

	*exit_code = 125;
	if ((rc = criu_require(&ci, err)) < 0)
		goto out;
	if (!(abs = realpath(dir, NULL)) || (dirfd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = nerr_set(err, errno, "--input `%s`", dir);
		goto out;
	}
	/* the manifest says whether to read further; the checksum is checked
	 * before CRIU or the configuration's reader sees anything */
	if ((rc = ckpt_manifest_read(dirfd, &m, err)) < 0 || (rc = ckpt_manifest_compatible(&m, NULL, err)) < 0 ||
	    (rc = ckpt_integrity_verify(dirfd, err)) < 0)
		goto out;
	if ((rc = read_config(dirfd, &cfg, err)) < 0)
		goto out;
	have_cfg = true;
	/* a new container: its own id; the name given, else the checkpoint's
	 * (taken when the original is gone) */
	if (random_id(cfg.id) < 0) {
		rc = nerr_set(err, errno, "getrandom");
		goto out;
	}
	if (name)
		snprintf(cfg.name, sizeof(cfg.name), "%s", name);
	if (!container_name_valid(cfg.name)) {
		rc = CKPT_FAIL(err, EINVAL, "invalid container name `%.64s`: only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
			       "allowed, at most 63 characters", name ? name : cfg.name);
		goto out;
	}
	cfg.detach = detach;
	in = (struct restore_input){ .dir = abs, .m = &m, .criu = ci.path };
	if ((rc = open_files(&m, files, &in.n_files, err)) < 0)
		goto out;
	in.file_fds = files;
	if (detach)
		rc = container_detach(start_restore, &cfg, &in, exit_code, err);
	else
		rc = container_run_restore(&cfg, &in, -1, exit_code, err);
	if (rc == 0 && detach && !err->code)
		printf("%s\n", cfg.id);
out:
	for (size_t i = 0; i < in.n_files; i++)
		close(files[i]);
	if (have_cfg)
		container_config_free(&cfg);
	ckpt_manifest_free(&m);
	criu_info_free(&ci);
	return rc;
}
