/* Shared by the files of the container module only. */
#ifndef NUCLEUS_CONTAINER_INTERNAL_H
#define NUCLEUS_CONTAINER_INTERNAL_H

#include <signal.h>
#include <nucleus/container.h>
#include <nucleus/isolation.h>
#include <nucleus/filesystem.h>
#include <nucleus/security.h>
#include <jansson.h>
#include <sys/socket.h>
#include <sys/un.h>

/* Messages on the parent<->child socket (SOCK_SEQPACKET). */
enum sync_type {
	SYNC_GO = 1,          /* parent -> child: ids mapped; build the root */
	SYNC_CGROUPS,         /* parent -> child: cgroups joined, limits set */
	SYNC_TTY,             /* child -> parent: pty master attached */
	SYNC_TTY_READY,       /* parent -> child: window size set */
	SYNC_ERROR,           /* child -> parent: setup failed (exit 125) */
	SYNC_EXEC_FAILED,     /* child -> parent: execve failed (126/127) */
	SYNC_WARNING,         /* child -> parent: print and go on */
	SYNC_PID,             /* attach: the workload's host pid */
	SYNC_NOTIFY_FD,       /* child -> parent: the seccomp listener will be fd `code` */
	SYNC_NOTIFY_READY,    /* parent -> child: listener taken; exec */
	SYNC_VERIFY_CONTEXT,  /* child -> parent: /context populated, its fd attached */
	SYNC_VERIFIED,        /* parent -> child: it matches what was hashed at launch */
	SYNC_CGROUP_JOIN,     /* parent -> child: a v1 `tasks` file: write "0" to it */
};

struct sync_msg {
	uint32_t type;
	int32_t code;         /* errno, or exit status for SYNC_EXEC_FAILED */
	char text[1000];
};

int sync_send(int fd, enum sync_type type, int code, const char *text, int pass_fd);
/* Returns 0 on a message, -EPIPE on EOF, other <0 on error. */
int sync_recv(int fd, struct sync_msg *m, int *got_fd);

struct child_args {
	const struct container_config *cfg;
	int sync_fd;
	sigset_t orig_mask;
	struct fs_spec fs;
	const struct sc_program *seccomp;
	struct landlock_spec landlock;
	bool userns;
	const char *hostname;
	const char *workdir;
	/* an ordinary user's secrets, staged by the child in its user
	 * namespace (fs_secrets_stage zeroes them) */
	bool stage_secrets;
	struct fs_secret_data *secrets;
	size_t n_secrets;
};

/* Become the workload identity (identity.c), after the privileged setup
 * and before the capabilities are set: supplementary groups (setgroups_ok
 * false: a single-id user namespace denies setgroups, and none may be
 * asked for), gid, uid. The permitted capabilities survive the change and
 * are made effective again, so caps_apply then sets exactly what the
 * policy keeps. Nothing when the identity is not set. */
int identity_apply(const struct identity *id, bool setgroups_ok, struct nerr *err);
/* Every id of the identity is mapped by the user namespace's maps. */
int identity_check_map(const struct identity *id, const struct userns_map *m, struct nerr *err);

/* execve argv[0] searched in env's PATH; on failure returns 127 (not found)
 * or 126 (not executable) with a message. */
/* The Landlock grants the mounts of --volume and --tmpfs call for: write
 * beneath the writable ones, execute beneath the exec ones (reading is
 * the default rules' everywhere) (workspace.c). */
void container_landlock_volumes(struct landlock_spec *s, const struct fs_config *f);
int exec_argv(char *const *argv, char *const *env, char *msg, size_t len);

/* A process attached to a running container (attach.c): its cgroup, its
 * namespaces, its seccomp filter, Landlock rules, capabilities,
 * no_new_privs and workload identity, never more than the workload has.
 * attach_prepare builds what every such process gets (the filter compiled
 * and checked against the one the container started with); st is
 * borrowed and read again at each spawn (its pid changes on a restart). */
struct attach_prep;
int attach_prepare(const struct container_state *st, struct attach_prep **out, struct nerr *err);
void attach_prep_free(struct attach_prep *p);
/* The namespaces among `mask` (CLONE_NEW* flags) in which process `pid` is
 * not where the caller is. */
int ns_differing(pid_t pid, int mask);
/* A probe: argv run in the container with stdout and stderr to out_fd,
 * stdin /dev/null, as pid 1 of a pid namespace nested in the container's
 * (SIGKILL to `pidfd` kills it and every process it started). Returns once
 * it is forked: `mid_pidfd` is the supervisor's child to wait for, whose
 * exit status is the probe's (125: it could not be set up, its output says
 * why; 126/127: not executable or not found). */
struct attach_proc {
	pid_t mid;
	int mid_pidfd;                 /* wait for this (waitid P_PIDFD) */
	int pidfd;                     /* the probe: kill this */
};
int attach_spawn(const struct attach_prep *p, char **argv, char **env, int out_fd, struct attach_proc *proc,
		 struct nerr *err);

/* Docker's health rules (health.c), as a pure function: a pass makes it
 * healthy and resets the streak; a failure while `starting` within the
 * start period does not count; `retries` (0: docker's 3) consecutive
 * counted failures make it unhealthy. Returns the new status. */
enum health_status health_judge(enum health_status cur, unsigned *streak, bool passed, bool in_start_period,
				unsigned retries);
/* Free a health state's outputs (the run's own state is never
 * container_state_free'd). */
void health_log_free(struct health_state *s);

/* The child side of the run sequence; never returns. */
void __attribute__((noreturn)) child_main(struct child_args *a);

/* Block the signals the supervisor forwards (and SIGCHLD) before clone, and
 * return a signalfd for them; the previous mask goes to *orig. */
int forward_signals_block(sigset_t *orig);
/* Wait for wait_pidfd to exit, forwarding signals to signal_pidfd and
 * relaying the tty; *exit_code gets the status (128+N for a signal).
 * `init` (>0) is the host pid of the container's pid-namespace init that
 * signal_pidfd names: a signal it has no handler for ends the container
 * (exit 128+N), as it would end an ordinary process. */
struct tty_relay;
struct loop_extra {
	int fd;                        /* -1: none */
	void (*ready)(void *arg);
	void *arg;
};
int supervise_loop(int wait_pidfd, int signal_pidfd, pid_t init, struct tty_relay *tty, int sfd,
		   const struct loop_extra *extra, size_t nextra, int *exit_code, struct nerr *err);
/* The same, telling on_signal(sig, arg) of each signal before it is
 * forwarded (the run's supervisor: a stop is not a crash to restart). */
int supervise_loop_hooked(int wait_pidfd, int signal_pidfd, pid_t init, struct tty_relay *tty, int sfd,
			  const struct loop_extra *extra, size_t nextra, void (*on_signal)(int sig, void *arg),
			  void *arg, int *exit_code, struct nerr *err);
int wait_status(const siginfo_t *si);

/* A container's log directory (logfile.c): container.log and audit.jsonl,
 * out of the shared runtime directory. Created 0700 (owned, never through
 * a symlink); returns its fd, its path in `path`. */
int container_log_dir_create(const char *id, char *path, size_t len, struct nerr *err);
/* Remove it: the directory the state's paths name (NULL or "": where it
 * would be), unless that is the state directory itself. */
void container_log_dir_remove(const char *id, const char *log_path, const char *audit_path);
/* Remove the log directories of this runtime directory's containers whose
 * state is gone (a reboot empties the runtime directory, not the disk). */
void container_log_dirs_gc(void);

/* -d: the workload's stdout and stderr, and the supervisor's own messages,
 * pumped into container.log (logfile.c). */
struct log_pump;
struct cgroup;
#define LOG_PUMP_EXTRAS 4
/* Before clone: pipes for the workload's output made its 1 and 2, stdin
 * /dev/null or (keep_stdin) a pipe held open and never written. The log is
 * `name` in dirfd, capped and rotated by `opts`. */
int log_pump_open(int dirfd, const char *name, const struct log_opts *opts, bool keep_stdin,
		  struct log_pump **out, struct nerr *err);
/* After clone: the supervisor's own stdout and stderr go to the log as stderr. */
void log_pump_started(struct log_pump *p);
/* A restart: new pipes for the next workload's stdout and stderr, on 1 and
 * 2 until log_pump_started takes them back after its clone. */
int log_pump_rearm(struct log_pump *p, struct nerr *err);
/* -d -t: the pty master is the workload's output. */
void log_pump_set_tty(struct log_pump *p, int master);
/* The pipes for supervise_loop (fd -1 where there is none). */
void log_pump_extras(struct log_pump *p, struct loop_extra x[LOG_PUMP_EXTRAS]);
/* After the workload's exit: everything it wrote, with a short bound. */
void log_pump_drain(struct log_pump *p, const struct cgroup *cg);
void log_pump_close(struct log_pump *p);
/* Output the log had no room for (a full filesystem) and could not yet
 * say so itself: bytes, and the errno; 0 and 0 when nothing is untold. */
void log_pump_lost(const struct log_pump *p, uint64_t *bytes, int *errnum);

/* Audit events of the runtime (audit_events.c). */
struct audit_log;
struct audit_kernel;
int audit_container_begin(struct audit_log **out, const struct container_config *cfg,
			  const struct container_state *st, const struct audit_kernel *k,
			  const struct sc_program *seccomp, struct nerr *err);
void audit_container_started(struct audit_log *l, pid_t host_pid);
void audit_container_failed(struct audit_log *l, int status, const char *why);
void audit_container_exited(struct audit_log *l, const struct container_state *st, struct audit_kernel *k);

/* --seccomp-log-denied (seccomp_notify.c). */
struct sc_notify;
/* Take fd `remote_fd` of the child once its filter is installed (waits up
 * to timeout_ms), checking that it is a seccomp listener. */
int sc_notify_take(pid_t pid, int pidfd, int remote_fd, int timeout_ms, struct nerr *err);
struct sc_notify *sc_notify_new(int fd, unsigned answer_errno, struct audit_log *log);
int sc_notify_fd(const struct sc_notify *n);
/* Quiet: answer without logging (the runtime's own calls before exec). */
void sc_notify_set_quiet(struct sc_notify *n, bool quiet);
/* Answer one pending denial (the fd is readable). */
void sc_notify_ready(void *arg);
void sc_notify_counts(const struct sc_notify *n, uint64_t *denied, uint64_t *suppressed);
void sc_notify_free(struct sc_notify *n);

/* -t: relay between the caller's terminal and the container's pty. */
struct tty_relay *tty_relay_start(int master, struct nerr *err);
int tty_relay_fds(struct tty_relay *t, int *in, int *master);
/* Pump what is readable; returns 1 when the container side closed. */
int tty_relay_pump(struct tty_relay *t, int fd);
void tty_relay_resize(struct tty_relay *t);
void tty_relay_stop(struct tty_relay *t);

/* The configuration of a state file of the first format (written before the
 * configuration had one JSON form), in that form: a new reference. */
json_t *state_v1_config(const json_t *o);

/* --sd-notify (sdnotify.c, docs/services.md). The container's socket:
 * <state dir>/notify/notify.sock on the host, bound into the container at
 * /run/notify (NOTIFY_SOCKET=/run/notify/notify.sock in the workload). */
#define SD_NOTIFY_DIR_NAME "notify"
#define SD_NOTIFY_SOCKET_NAME "notify.sock"
#define SD_NOTIFY_CONTAINER_DIR FS_NOTIFY_DIR
#define SD_NOTIFY_CONTAINER_SOCKET SD_NOTIFY_CONTAINER_DIR "/" SD_NOTIFY_SOCKET_NAME
/* $NOTIFY_SOCKET (a path, or @name in the abstract namespace) as an
 * address; -EINVAL for anything else. */
int sd_notify_address(const char *s, struct sockaddr_un *sa, socklen_t *len);
/* The lines of a workload's datagram that systemd may see (READY=1,
 * RELOADING=1, STOPPING=1, STATUS=, ERRNO=, BUSERROR=,
 * EXTEND_TIMEOUT_USEC=, MONOTONIC_USEC=), in order, newline-separated and
 * NUL-terminated in out; returns their length, 0 for nothing to forward
 * (a datagram with a NUL in it forwards nothing). *ready: READY=1 was
 * among them. */
size_t sd_notify_filter(const char *msg, size_t len, char *out, size_t size, bool *ready);

/* -d (run_detached.c): `start` (a run, a restore) in a supervisor in the
 * background, told the outcome through notify_fd; returns as
 * container_run_detached. */
int container_detach(int (*start)(struct container_config *c, const void *arg, int notify_fd, int *exit_code,
				  struct nerr *err),
		     struct container_config *c, const void *arg, int *exit_code, struct nerr *err);

#endif
