/* The supervisor: the run sequence as a list of stages (the table at the
 * end), each with its undo; the undos run in reverse once a stage fails
 * or the workload has exited. It validates, creates the cgroup, clones the
 * child into its namespaces, maps ids, releases it, then forwards signals
 * and reaps, and stays until the workload ends to clean up after it. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nucleus/checkpoint.h>
#include "run.h"

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

void notify_caller(struct run *r, const char *msg)
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

	if (!r->have_cgroup || !(cgroup_oom_killed(&r->cg) || (r->cfg->rt.kind == RUNTIME_OCI &&
								 cgroup_oom_killed_in(&r->cg, oci_cgroup_child()))))
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

/* The workload's identity as the host sees it (the container's root, or
 * its --user), for what the supervisor makes it the owner of. */
static void workload_host_ids(const struct run *r, uid_t *uid, gid_t *gid)
{
	const struct container_config *cfg = r->cfg;

	*uid = cfg->proc.identity.set ? cfg->proc.identity.uid : 0;
	*gid = cfg->proc.identity.set ? cfg->proc.identity.gid : 0;
	if (cfg->ns.userns) {
		/* inside the map's single range: identity_check_map */
		*uid += r->map.uid[0].outside - r->map.uid[0].inside;
		*gid += r->map.gid[0].outside - r->map.gid[0].inside;
	}
}

/* --volume: each source opened (and chowned for :U) now, as the
 * supervisor; as root a detached clone with its attributes set, which the
 * child attaches (no path resolved again), otherwise the O_PATH fd the
 * child's bind is checked against. */
static int open_volumes(struct run *r, struct nerr *err)
{
	const struct fs_config *f = &r->cfg->fs;
	uid_t uid;
	gid_t gid;
	int rc;

	if (!f->n_volumes)
		return 0;
	workload_host_ids(r, &uid, &gid);
	r->volume_clones = geteuid() == 0;
	r->volume_fds = xmalloc(f->n_volumes * sizeof(*r->volume_fds));
	for (size_t i = 0; i < f->n_volumes; i++)
		r->volume_fds[i] = -1;
	for (size_t i = 0; i < f->n_volumes; i++)
		if ((rc = fs_volume_open(&f->volumes[i], r->volume_clones, uid, gid, &r->volume_fds[i], err)) < 0)
			return rc;
	return 0;
}

void run_close_volumes(struct run *r)
{
	for (size_t i = 0; r->volume_fds && i < r->cfg->fs.n_volumes; i++)
		if (r->volume_fds[i] >= 0)
			close(r->volume_fds[i]);
	free(r->volume_fds);
	r->volume_fds = NULL;
}

/* As root, the supervisor copies the context with its own rights (so
 * --userns reads what the caller can) and the workload (the container's
 * root, or its --user) owns the copy; an ordinary user's child copies as
 * that same user. */
static int copy_context(struct run *r, struct nerr *err)
{
	const struct container_config *cfg = r->cfg;
	struct copy_skipped skipped = { 0 };
	_cleanup_free_ char *warn = NULL;
	uid_t uid;
	gid_t gid;
	int rc;

	if (!cfg->fs.context || cfg->fs.context_mode != CONTEXT_COPY || geteuid() != 0)
		return 0;
	workload_host_ids(r, &uid, &gid);
	if ((rc = fs_context_copy(r->context_fd, strv_contains(cfg->fs.exec_paths, "/context"), cfg->fs.tmpfs_size,
				  uid, gid, &skipped, &r->context_mount_fd, err)) < 0)
		return rc;
	if ((warn = copy_skipped_message(&skipped)))
		log_warn("%s", warn);
	log_debug("run: context copied");
	return 0;
}

/* The secrets are read and staged as root, and their buffers zeroed: a
 * bad source refuses before anything exists. An ordinary user cannot
 * mount: the content is read with the caller's rights, and the child
 * stages its copy. */
static int stage_secrets(struct run *r, struct nerr *err)
{
	const struct container_config *cfg = r->cfg;
	uid_t uid;
	gid_t gid;
	int rc;

	if (!cfg->fs.n_secrets && !cfg->fs.credentials_passthrough)
		return 0;
	workload_host_ids(r, &uid, &gid);
	if (geteuid() != 0) {
		if ((rc = container_secrets_read(cfg, &r->secret_data, &r->n_secret_data, err)) < 0)
			return rc;
		r->stage_secrets_in_child = true;
	} else if ((rc = container_secrets_stage(cfg, uid, gid, &r->secrets_mount_fd, err)) < 0) {
		return rc;
	}
	log_debug("run: secrets %s", r->stage_secrets_in_child ? "read" : "staged");
	return 0;
}

/* A restart: what each start of the workload consumes, made again from
 * the same configuration (the rootfs's clone, a fresh copy of the
 * context, the staged secrets, the volumes' clones); the child attaches
 * detached mounts, which cannot be attached twice. */
int run_reopen_inputs(struct run *r, struct nerr *err)
{
	int rc;

	if (r->cfg->fs.rootfs && (rc = fs_rootfs_open(r->cfg->fs.rootfs, &r->rootfs, err)) < 0)
		return rc;
	if (r->context_mount_fd >= 0)
		close(r->context_mount_fd);
	r->context_mount_fd = -1;
	if ((rc = copy_context(r, err)) < 0)
		return rc;
	if (r->secrets_mount_fd >= 0)
		close(r->secrets_mount_fd);
	r->secrets_mount_fd = -1;
	if ((rc = stage_secrets(r, err)) < 0)
		return rc;
	return open_volumes(r, err);
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
	if (cfg->ns.userns && (rc = identity_check_map(&cfg->proc.identity, &r->map, err)) < 0)
		return nerr_prefix(err, "--userns");
	state_init(r);
	/* a restore: the workload's own state is in the images (run_restore.c) */
	if (r->restore)
		return restore_stage_validate(r, err);
	/* another runtime builds the container from the bundle: none of what
	 * follows (run_oci.c) */
	if (cfg->rt.kind != RUNTIME_NATIVE)
		return oci_stage_validate(r, err);

	/* the rootfs is cloned now, once: the child mounts that clone, and
	 * whatever checks it (an attestation) reads the same one */
	if (cfg->fs.rootfs && (rc = fs_rootfs_open(cfg->fs.rootfs, &r->rootfs, err)) < 0)
		return rc;
	/* a pin is a request to verify; the manifest (and its pin) is read
	 * from the clone now, so a wrong one refuses before anything exists;
	 * the tree is verified by the child, on the mounts (fs_spec.rootfs_check) */
	if (cfg->fs.verify_attestation || cfg->fs.attestation_sha256) {
		if (!cfg->fs.rootfs)
			return nerr_set(err, 0, "%s needs --rootfs", cfg->fs.verify_attestation ?
					"--verify-rootfs-attestation" : "--rootfs-attestation-sha256");
		if ((rc = attest_manifest_read(r->rootfs.tree_fd, cfg->fs.attestation_sha256, &r->manifest, err)) < 0)
			return nerr_prefix(err, "--verify-rootfs-attestation");
		r->verify_rootfs = true;
	}
	if (cfg->fs.context) {
		r->context_fd = open(cfg->fs.context, O_PATH | O_DIRECTORY | O_CLOEXEC);
		r->context_path = realpath(cfg->fs.context, NULL);
		if (r->context_fd < 0 || !r->context_path)
			return nerr_set(err, errno, "context directory `%s`", cfg->fs.context);
		/* hashed before anything reads it for the container; the child's
		 * populated /context is checked against this (SYNC_VERIFY_CONTEXT) */
		if (cfg->fs.verify_context) {
			if ((rc = attest_build(r->context_fd, -1, &r->context_manifest, err)) < 0)
				return nerr_prefix(err, "--verify-context-integrity: hash `%s`", r->context_path);
			log_debug("run: context hashed (%zu entries)", r->context_manifest.n);
			debug_pause("context-hashed");
		}
		if ((rc = copy_context(r, err)) < 0)
			return rc;
	}
	if ((rc = stage_secrets(r, err)) < 0)
		return rc;
	/* last of what reads the host's files: :U changes them */
	if ((rc = open_volumes(r, err)) < 0)
		return rc;
	/* opened once, like a volume: a path swapped later redirects nothing */
	if (cfg->net.hosts_file && (rc = net_hosts_file_open(cfg->net.hosts_file, &r->hosts_fd, err)) < 0)
		return rc;
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

	if (!cfg->sec.landlock) {
		landlock_default_spec(&r->landlock, cfg->fs.context_mode == CONTEXT_COPY, cfg->fs.context != NULL);
		/* a rootfs's programs live where it puts them (/opt, /app...):
		 * what it gives is read-only, nosuid, nodev */
		for (size_t i = 0; r->rootfs.top && r->rootfs.top[i]; i++)
			landlock_spec_allow_exec(&r->landlock, r->rootfs.top[i]);
	}
	/* --allow-exec: the rules grant what the mounts allow (a policy file's
	 * own execute grants made its mounts executable: container_exec_plan) */
	for (size_t i = 0; cfg->fs.allow_exec && cfg->fs.allow_exec[i]; i++)
		landlock_spec_allow_exec(cfg->sec.landlock ? cfg->sec.landlock : &r->landlock, cfg->fs.allow_exec[i]);
	/* the mounts of --volume and --tmpfs, the same way */
	container_landlock_volumes(cfg->sec.landlock ? cfg->sec.landlock : &r->landlock, &cfg->fs);
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
	if (r->secrets_mount_fd >= 0)
		close(r->secrets_mount_fd);
	container_secrets_data_free(r->secret_data, r->n_secret_data);
	r->secret_data = NULL;
	r->n_secret_data = 0;
	free(r->context_path);
	attest_manifest_free(&r->context_manifest);
	fs_rootfs_close(&r->rootfs);
	attest_manifest_free(&r->manifest);
	run_close_volumes(r);
	if (r->hosts_fd >= 0)
		close(r->hosts_fd);
	r->hosts_fd = -1;
	if (r->trace_log)
		fclose(r->trace_log);
	r->trace_log = NULL;
	sc_program_free(&r->seccomp);
	if (!r->cfg->sec.landlock)
		landlock_spec_free(&r->landlock);
	free(r->st.seccomp_profile);
	r->st.seccomp_profile = NULL;
	free(r->st.restored_from);
	r->st.restored_from = NULL;
	strv_free(r->st.bpf_pins);
	r->st.bpf_pins = NULL;
	state_set_network(&r->st, NULL, NULL, 0);
	health_log_free(&r->st.health);
}

static int stage_prepare(struct run *r, struct nerr *err)
{
	int rc;

	container_gc();
	if ((rc = prepare_dirs(r, err)) < 0)
		return rc;
	if ((rc = run_sdnotify_open(r, err)) < 0)
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

	run_sdnotify_close(r);
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

/* --hosts-file: the container's lines in the network's file, from the
 * time it has an address (its peers find it while it starts) to its end
 * (a restart keeps them: the address is kept). Its names: the service, the
 * topology's name for it, its own name and hostname. */
static int hosts_file_add(struct run *r, struct nerr *err)
{
	const struct container_config *cfg = r->cfg;
	_cleanup_strv_ char **names = xcalloc(1, sizeof(char *));
	_cleanup_strv_ char **self = NULL;
	_cleanup_free_ char *joined = NULL;

	if (cfg->topology_service) {
		strv_push(&names, cfg->topology_service);
		if (cfg->topology)
			strv_push_take(&names, xasprintf("%s-%s", cfg->topology, cfg->topology_service));
	}
	if (!strv_contains(names, cfg->name))
		strv_push(&names, cfg->name);
	if (r->st.cfg.proc.hostname && !strv_contains(names, r->st.cfg.proc.hostname))
		strv_push(&names, r->st.cfg.proc.hostname);
	joined = strv_join(names, " ");
	self = net_lease_hosts(r->lease, joined);
	if (net_hosts_file_update(r->hosts_fd, cfg->id, self, cfg->net.extra_hosts, err) < 0)
		return nerr_prefix(err, "--hosts-file `%s`", cfg->net.hosts_file);
	r->hosts_added = true;
	return 0;
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
	if (r->hosts_fd >= 0 && (rc = hosts_file_add(r, err)) < 0)
		return rc;
	log_debug("run: network prepared");
	return 0;
}

/* After the cgroup's undo (the network stage comes before the cgroup
 * stage for this): nothing of the container runs any more. */
static void undo_network(struct run *r)
{
	struct nerr e = { 0 };

	if (r->hosts_added && net_hosts_file_update(r->hosts_fd, r->cfg->id, NULL, NULL, &e) < 0)
		log_warn("--hosts-file `%s`: the container's lines stay: %s", r->cfg->net.hosts_file, e.msg);
	r->hosts_added = false;
	net_bridge_detach(r->lease);
	r->lease = NULL;
	strv_free(r->self_hosts);
	r->self_hosts = NULL;
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
		egress_set_sink(r->egress, run_egress_to_audit, r);
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

/* One workload's life: forward signals, relay the tty, pump the log and
 * the BPF rings until it exits. */
static int supervise_workload(struct run *r, struct nerr *err)
{
	struct loop_extra extra[8 + LOG_PUMP_EXTRAS] = {
		{ egress_events_fd(r->egress), run_egress_ready, r->egress },
		{ sc_trace_events_fd(r->trace), run_trace_ready, r->trace },
		{ audit_kernel_fd(r->audit_kernel), run_audit_ready, r },
		{ sc_notify_fd(r->notify), sc_notify_ready, r->notify },
		{ r->stop_timer, run_stop_timer_ready, r },
		{ health_fd(r->health), health_ready, r->health },
		{ run_otlp_fd(r), run_otlp_ready, r },
		{ sd_notifier_fd(r->sdn), run_sdnotify_ready, r },
	};
	int rc;

	log_pump_extras(r->log, extra + 8);
	rc = supervise_loop_hooked(r->pidfd, r->pidfd, r->pid, r->tty, r->sfd, extra, ARRAY_SIZE(extra),
				   run_signalled, r, r->exit_code, err);
	r->reaped = rc == 0;
	log_pump_drain(r->log, r->have_cgroup ? &r->cg : NULL);
	log_debug("run: workload exited");
	return rc;
}

/* supervise: the workload until it exits for good; --restart (and
 * --health-on-failure restart) start it again first. A restart that
 * fails ends the container with the reason, as an exit. */
static int stage_supervise(struct run *r, struct nerr *err)
{
	int rc;

	for (;;) {
		if ((rc = supervise_workload(r, err)) < 0)
			return rc;
		if (!run_restart_wanted(r))
			return 0;
		rc = run_restart(r, err);
		if (rc == 1 && !err->code)
			return 0;     /* stopped while it waited */
		if (rc != 0) {
			log_error("restart of %s failed: %s", r->cfg->name, err->msg);
			return 0;
		}
	}
}

/* teardown: the exit, as the OOM report, the state and the audit log tell
 * it; what the stages built is undone after it. */
static int stage_teardown(struct run *r, struct nerr *err)
{
	int *exit_code = r->exit_code;

	(void)err;
	report_oom(r, exit_code);
	/* `nucleus checkpoint` without --leave-running: CRIU ended it after
	 * the dump (docker's checkpoint create: the container exits) */
	if (r->state_dir) {
		_cleanup_free_ char *marker = xasprintf("%s/%s", r->state_dir, CKPT_EXIT_MARKER);

		if (access(marker, F_OK) == 0) {
			r->st.checkpointed = true;
			*exit_code = 0;
			unlink(marker);
		}
	}
	r->st.restarting = false;
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
	run_service_event(r, SVC_EXITED);
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
	{ "health",    stage_health,    undo_health },
	{ "release",   stage_release,   undo_release },
	{ "supervise", stage_supervise, NULL },
	{ "teardown",  stage_teardown,  NULL },
};

static int run_stages(struct container_config *cfg, const struct restore_input *restore, int notify_fd,
		      int *exit_code, struct nerr *err)
{
	struct run r = { .cfg = cfg, .exit_code = exit_code, .restore = restore, .notify_fd = notify_fd, .context_fd = -1,
			 .context_mount_fd = -1, .secrets_mount_fd = -1, .rootfs = { .tree_fd = -1 }, .lock_fd = -1, .log_dirfd = -1, .sync = { -1, -1 }, .sfd = -1,
			 .pidfd = -1, .stop_timer = -1, .hosts_fd = -1, .restore_netns = -1 };
	size_t ran = 0;
	int rc = 0;

	*exit_code = 125;
	log_debug("run: start");
	run_otlp_init(&r);
	while (rc == 0 && ran < ARRAY_SIZE(stages)) {
		uint64_t t0 = r.otlp ? realtime_ns() : 0;

		rc = stages[ran].run(&r, err);
		run_otlp_stage(&r, stages[ran].name, t0, rc, err);
		if (rc == 0)
			log_debug("run: %s done", stages[ran].name);
		ran++;
	}
	while (ran-- > 0)
		if (stages[ran].undo)
			stages[ran].undo(&r);
	run_close_v1_tasks(&r);   /* a start that failed before the release */
	/* last: a signal that came meanwhile acts once nothing is left to undo */
	if (r.mask_set)
		sigprocmask(SIG_SETMASK, &r.orig_mask, NULL);
	if (r.sfd >= 0)
		close(r.sfd);
	if (r.stop_timer >= 0)
		close(r.stop_timer);
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
	run_otlp_finish(&r, rc, err);
	return rc;
}

int container_run_notify(struct container_config *cfg, int notify_fd, int *exit_code, struct nerr *err)
{
	return run_stages(cfg, NULL, notify_fd, exit_code, err);
}

int container_run_restore(struct container_config *cfg, const struct restore_input *in, int notify_fd,
			  int *exit_code, struct nerr *err)
{
	return run_stages(cfg, in, notify_fd, exit_code, err);
}

int container_run(struct container_config *cfg, int *exit_code, struct nerr *err)
{
	return container_run_notify(cfg, -1, exit_code, err);
}

