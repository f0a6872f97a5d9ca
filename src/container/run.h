/* The run sequence's stages, shared by run.c (the table, the runner and the
 * stages of the record), run_cgroup.c, run_bpf.c and run_child.c. Private
 * to the container module. */
#ifndef NUCLEUS_CONTAINER_RUN_H
#define NUCLEUS_CONTAINER_RUN_H

#include <signal.h>
#include <stdio.h>
#include <nucleus/attest.h>
#include <nucleus/audit.h>
#include "internal.h"

/* nucleus restore: what the run restores in place of a new child
 * (run_restore.c). */
struct ckpt_manifest;
struct restore_input {
	const char *dir;               /* the checkpoint directory, absolute */
	const struct ckpt_manifest *m;
	const char *criu;              /* the criu binary */
	const int *file_fds;           /* --init: the host's files the init ran, the
	                                * manifest's ext_files' order */
	size_t n_files;
};

/* What the stages share; each part is set by the stage named and let go
 * of by its undo. */
struct run {
	struct container_config *cfg;
	int *exit_code;
	const struct restore_input *restore;   /* NULL: a run */
	int notify_fd;                 /* -d: tells the caller the outcome of the start */
	struct container_state st;     /* what state.json says */
	/* validate */
	bool userns;
	struct userns_map map;
	int context_fd;
	int context_mount_fd;          /* copy mode as root: the copy */
	int secrets_mount_fd;          /* the secrets' tmpfs (fs_secrets_stage); -1: none */
	struct fs_secret_data *secret_data;  /* an ordinary user's: read here, staged by
	                                      * the child (its copy), zeroed after clone */
	size_t n_secret_data;
	bool stage_secrets_in_child;
	struct attest_manifest context_manifest;   /* --verify-context-integrity:
	                                            * the context as hashed at launch */
	char *context_path;            /* absolute, symlinks resolved */
	struct fs_rootfs rootfs;       /* --rootfs: its clone and closure (tree_fd -1: none) */
	struct attest_manifest manifest;  /* --verify-rootfs-attestation: read from the clone */
	bool verify_rootfs;
	int *volume_fds;               /* --volume: fs_volume_open's, one per volume */
	bool volume_clones;            /* detached clones (as root), else O_PATH fds */
	int hosts_fd;                  /* --hosts-file, read-write (its lines); -1: none */
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
	bool hosts_added;              /* its lines are in the --hosts-file */
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
	/* clone, a restore's (run_restore.c) */
	int restore_netns;             /* the new network namespace (lo up); -1: none */
	bool restore_root;             /* CRIU's --root mounted at r->staging */
	/* limits */
	uint64_t nproc;                /* RLIMIT_NPROC in place of the pids limit; 0: none */
	int v1_tasks[CG_MAX_V1];       /* the child joins these itself (release) */
	size_t n_v1_tasks;
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
	/* service supervision (cfg->svc), for the supervisor's loop: each is
	 * NULL when not asked for */
	struct health *health;         /* health.c: the health and readiness probes */
	struct sd_notifier *sdn;       /* sdnotify.c: $NOTIFY_SOCKET and the container's socket */
	struct otlp *otlp;             /* the OpenTelemetry exporter */
	bool stop_requested;           /* stop, a SIGTERM/SIGINT to the supervisor, or an on-failure
	                                * stop: the workload is not restarted */
	bool restart_requested;        /* --health-on-failure restart: restart whatever the policy */
	uint64_t backoff_ns;           /* the last restart's delay */
	int stop_timer;                /* an on-failure stop: SIGKILL when the grace ends; -1: none */
};

/* What happens to a service, for whoever reacts to it (sd_notify, the
 * exporter, the on-failure action, the restart): run_service.c. */
enum svc_event {
	SVC_STARTED,      /* the workload exec'd (after each restart too) */
	SVC_READY,        /* the container became ready (st.ready) */
	SVC_HEALTH,       /* the health status changed (st.health.status) */
	SVC_PROBE,        /* a probe finished (health_last_probe: which, and its result) */
	SVC_RESTARTING,   /* the workload exited and will be restarted (st.restarts counts it) */
	SVC_STOPPING,     /* the container is being stopped */
	SVC_EXITED,       /* the workload exited for good */
};
void run_service_event(struct run *r, enum svc_event ev);
/* The stop timer's expiry (the loop's). */
void run_stop_timer_ready(void *arg);

/* run_restart.c: whether the exit just seen is restarted (policy, stop,
 * on-failure restart); the restart itself (0; 1: a stop came during the
 * backoff; <0 / >0 as a stage); the loop's signal hook. */
bool run_restart_wanted(struct run *r);
int run_restart(struct run *r, struct nerr *err);
void run_signalled(int sig, void *arg);
/* run.c: the rootfs clone, context copy, secrets and volumes again, for a
 * restart. */
int run_reopen_inputs(struct run *r, struct nerr *err);

/* run_child.c: -d's log and the forwarded signals blocked, before what
 * becomes the workload exists (the clone, or a restore's criu). */
int run_prepare_supervision(struct run *r, struct nerr *err);

/* --runtime gvisor|oci:PATH (run_oci.c): the launcher's namespaces, the
 * validate stage's part (the rest of it is the native child's), the
 * launcher (the cloned child), the bundle (the attach stage's part), and
 * the runtime's state and bundle removed once the launcher is gone. */
uint64_t oci_clone_flags(const struct run *r);
int oci_stage_validate(struct run *r, struct nerr *err);
void __attribute__((noreturn)) oci_launcher_main(struct run *r);
int oci_write_bundle(struct run *r, struct nerr *err);
void oci_cleanup(struct run *r);
/* The name of the OCI runtime's cgroup in the container's. */
const char *oci_cgroup_child(void);
/* A health or readiness probe (`name`: its file's) as the runtime's
 * `exec` of argv with the workload's process settings, from the
 * launcher's namespaces; its output to out_fd. proc->pidfd stays -1: the
 * timeout kills the exec (what it started inside the runtime's container
 * stays until the container ends). */
int oci_probe_spawn(struct run *r, const char *name, char **argv, int out_fd, struct attach_proc *proc,
		    struct nerr *err);

/* nucleus restore (run_restore.c): the validate stage's part; the clone
 * stage's (criu restore, its tree the supervisor's child, in the cgroup,
 * in a new network namespace with lo); the release stage's (it runs). */
int restore_stage_validate(struct run *r, struct nerr *err);
int restore_stage_clone(struct run *r, struct nerr *err);
void restore_undo_clone(struct run *r);
int restore_stage_release(struct run *r, struct nerr *err);
/* run.c: the stages around a restore (the run's, restore set). */
int container_run_restore(struct container_config *cfg, const struct restore_input *in, int notify_fd,
			  int *exit_code, struct nerr *err);

/* The OpenTelemetry spans (run_otlp.c); each a no-op unless an OTLP
 * endpoint is set (r->otlp). init before the first stage; stage after
 * each; finish once everything is undone (it waits for the last POST,
 * OTEL_EXPORT_TIMEOUT_MS at most). */
void run_otlp_init(struct run *r);
void run_otlp_stage(struct run *r, const char *stage, uint64_t start_ns, int rc, const struct nerr *err);
void run_otlp_event(struct run *r, enum svc_event ev);
int run_otlp_fd(struct run *r);
void run_otlp_ready(void *arg);
void run_otlp_finish(struct run *r, int rc, const struct nerr *err);

/* --sd-notify (sdnotify.c). Opened by the prepare stage (MAINPID goes
 * then; with --sd-notify=container the container's socket exists before
 * the clone, and the workload's NOTIFY_SOCKET is set), closed by its undo;
 * nothing (r->sdn NULL) when it is off or $NOTIFY_SOCKET is unset. */
int run_sdnotify_open(struct run *r, struct nerr *err);
void run_sdnotify_close(struct run *r);
/* What systemd hears of each event. */
void run_sdnotify_event(struct run *r, enum svc_event ev);
/* For the supervisor's loop: its fd (-1: none) and what reads it (arg: r). */
int sd_notifier_fd(const struct sd_notifier *n);
void run_sdnotify_ready(void *arg);
/* The container's socket's directory on the host (bound at
 * SD_NOTIFY_CONTAINER_DIR); NULL: none. */
const char *sd_notifier_dir(const struct sd_notifier *n);

/* Each stage: 0 to go on, <0 failed (err says why), >0 stop without an
 * error of the runtime's (the exec failed: *exit_code says how). Each undo
 * undoes what its stage left, whether it completed or not. */
/* --volume: the fds opened at validate closed (after the clone, or on failure). */
void run_close_volumes(struct run *r);
int stage_cgroup(struct run *r, struct nerr *err);
void undo_cgroup(struct run *r);
int stage_clone(struct run *r, struct nerr *err);
void undo_clone(struct run *r);
int stage_map(struct run *r, struct nerr *err);
int stage_attach(struct run *r, struct nerr *err);
int stage_limits(struct run *r, struct nerr *err);
/* The v1 `tasks` files stage_limits opened for the child, closed. */
void run_close_v1_tasks(struct run *r);
int stage_bpf(struct run *r, struct nerr *err);
void undo_bpf(struct run *r);
int stage_release(struct run *r, struct nerr *err);
void undo_release(struct run *r);

/* The health and readiness checks (health.c), when cfg->svc asks for one:
 * started just before the release (stage_health: status `starting`, the
 * timers from zero; SVC_STARTED resets them at the exec), freed by its undo. health_fd is the one fd for the
 * supervisor's loop (-1: none), health_ready its callback. A restart:
 * health_pause when the workload exits or stops (no probe runs, none is
 * left running), health_reset once it runs again (`starting`, streak 0,
 * not ready, the timers from zero; the log is kept). NULL is accepted. */
int stage_health(struct run *r, struct nerr *err);
void undo_health(struct run *r);
int health_start(struct run *r, struct health **out, struct nerr *err);
int health_fd(const struct health *h);
void health_ready(void *arg);
void health_pause(struct health *h);
void health_reset(struct health *h);
void health_free(struct health *h);
/* The probe an SVC_PROBE is about: *readiness says which check; start,
 * end and exit code (output NULL: a health check's is
 * st.health.log[nlog-1].output). NULL before any. */
const struct health_result *health_last_probe(const struct health *h, bool *readiness);

/* -d: tell the caller how the start went ("ok", or "<status> <message>"),
 * once. */
void notify_caller(struct run *r, const char *msg);
/* The BPF objects' events, for the supervisor's loop and the audit log. */
void run_trace_ready(void *arg);
void run_egress_ready(void *arg);
void run_audit_ready(void *arg);
void run_egress_to_audit(const struct egress_denial *d, void *arg);

#endif
