/* container: the configuration of one container, the run sequence (the
 * supervising parent and the child that becomes the workload), and where
 * runtime state lives. */
#ifndef NUCLEUS_CONTAINER_H
#define NUCLEUS_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <nucleus/util.h>
#include <nucleus/filesystem.h>
#include <nucleus/resources.h>
#include <nucleus/security.h>
#include <nucleus/network.h>
#include <nucleus/rotlog.h>
#include <nucleus/isolation.h>
#include <nucleus/audit.h>

enum service_mode { MODE_AGENT, MODE_PRODUCTION };

/* Who the workload runs as (process_config.identity; docs/identity.md):
 * --user, --group and --additional-group as given, and the ids they
 * resolve to before anything is created (container_config_validate), in
 * the rootfs's /etc/passwd and /etc/group with --rootfs, else the host's.
 * Owned (identity_free). */
struct identity {
	char *user;                  /* NAME|UID[:GROUP|GID]; NULL: none given */
	char *group;                 /* NAME|GID; NULL: none given */
	char **additional_groups;    /* NAME|GID each, in order; NULL: none */
	/* resolved */
	bool set;                    /* a flag was given: the workload changes to these ids */
	uid_t uid;
	gid_t gid;
	gid_t *groups;               /* supplementary groups for setgroups (gid first) */
	size_t ngroups;
	char *home;                  /* the passwd entry's home; NULL: no entry */
};

struct container_config;

/* ---- service supervision (src/container/service.c, docs/services.md) ---- */
/* A probe command: docker's two forms. `shell`: cmd[0] is one string run
 * with /bin/sh -c (--health-cmd STRING); else cmd is the argv (a JSON array,
 * --health-cmd '["pg_isready","-U","app"]'). */
struct probe_cmd {
	char **cmd;                  /* NULL: none */
	bool shell;
};

/* What the supervisor does when the health check turns unhealthy (podman's
 * --health-on-failure). */
enum health_action { HEALTH_ACTION_NONE, HEALTH_ACTION_KILL, HEALTH_ACTION_RESTART, HEALTH_ACTION_STOP };
enum restart_policy { RESTART_NO, RESTART_ON_FAILURE, RESTART_ALWAYS, RESTART_UNLESS_STOPPED };
/* When READY=1 goes to $NOTIFY_SOCKET: SD_NOTIFY_READY (a bare
 * --sd-notify) when the container is ready (the readiness check passed, else
 * the health check first passed, else it started); CONTAINER: when the
 * workload sends it; HEALTHY: when the health check first passes; STARTED:
 * at the workload's exec. */
enum sd_notify_mode { SD_NOTIFY_OFF, SD_NOTIFY_READY, SD_NOTIFY_CONTAINER, SD_NOTIFY_HEALTHY, SD_NOTIFY_STARTED };

struct health_config {
	struct probe_cmd probe;      /* --health-cmd */
	bool disabled;               /* --no-healthcheck */
	uint64_t interval_ns;        /* default 30 s */
	uint64_t timeout_ns;         /* default 30 s */
	uint64_t start_period_ns;    /* default 0 */
	uint64_t start_interval_ns;  /* default 5 s */
	unsigned retries;            /* default 3 */
	enum health_action on_failure;
};

/* cfg->svc: what the supervisor does for a service besides running it. */
struct service_config {
	struct health_config health;
	struct probe_cmd readiness;  /* --readiness-cmd */
	uint16_t readiness_tcp;      /* --readiness-tcp PORT; 0: none */
	enum restart_policy restart;
	unsigned restart_max;        /* on-failure:N; 0: no limit */
	enum sd_notify_mode sd_notify;
};

void service_config_init(struct service_config *s);
void service_config_free(struct service_config *s);
/* The values as users type them; errors name no flag. A duration is Go's
 * (docker's) form, 1m30s, 500ms, 2h, or plain seconds (30, 0.5). */
int service_duration_parse(const char *s, uint64_t *ns, struct nerr *err);
/* A probe command: a JSON array of strings is the exec form, anything else
 * the shell form. */
int service_probe_parse(const char *s, struct probe_cmd *out, struct nerr *err);
void probe_cmd_free(struct probe_cmd *p);
int service_restart_parse(const char *s, enum restart_policy *policy, unsigned *max, struct nerr *err);
int service_health_action_parse(const char *s, enum health_action *out, struct nerr *err);
int service_sd_notify_parse(const char *s, enum sd_notify_mode *out, struct nerr *err);
/* Names for what the parsers take (JSON, ps, inspect); NULL-terminated,
 * indexed by the enum. */
extern const char *const health_action_names[], *const restart_policy_names[], *const sd_notify_mode_names[],
	*const health_status_names[];
const char *health_action_name(enum health_action a);
const char *restart_policy_name(enum restart_policy p);
const char *sd_notify_mode_name(enum sd_notify_mode m);
/* The combinations that cannot work (a health option without a check,
 * --sd-notify=healthy without one, --restart with --rm); part of
 * container_config_validate. */
int service_config_validate(const struct container_config *c, struct nerr *err);

/* ---- the runtime that runs the workload (docs/gvisor.md) ---------------- */
/* native: nucleus's own namespaces, seccomp and Landlock (the default);
 * gvisor: runsc on a bundle generated from this configuration (src/oci/);
 * oci: any OCI runtime binary (runc, crun, youki) on the same bundle. */
enum runtime_kind { RUNTIME_NATIVE, RUNTIME_GVISOR, RUNTIME_OCI };
struct runtime_config {
	enum runtime_kind kind;
	char *path;                  /* gvisor: runsc's path (NULL until validate:
	                              * found in $PATH); oci: the binary, absolute
	                              * after validate */
	char *platform;              /* gvisor: --gvisor-platform; NULL: runsc's default */
};
extern const char *const runtime_kind_names[];   /* indexed by the enum, NULL-terminated */
/* --runtime native|gvisor|oci:PATH; errors name no flag. */
int runtime_parse(const char *s, struct runtime_config *rt, struct nerr *err);
/* The runtime's name as --runtime takes it ("oci:/usr/sbin/runc"). */
char *runtime_describe(const struct runtime_config *rt);
/* The checks that need no system: --gvisor-platform only with gvisor, and
 * the runtime's binary found (an absolute path, or a name in $PATH). */
int runtime_config_validate(struct container_config *c, struct nerr *err);

/* The workload process (container_config.proc); strings owned. */
struct process_config {
	char **argv;                 /* the workload */
	char **env;                  /* final K=V list */
	char *workdir;               /* NULL until validate: /context with a context, else / */
	char *hostname;              /* NULL: the name (resolved by the run) */
	bool tty;
	bool init;                   /* --init: a minimal init as pid 1 */
	bool interactive;            /* -i: with -d, stdin stays open (a pipe nobody
	                              * writes); foreground runs always pass stdin */
	struct identity identity;    /* --user, --group, --additional-group */
};

/* The whole configuration of one container, in parts that belong to the
 * modules that use them. It owns every string and array it holds
 * (container_config_free frees them all), so it can outlive argv, be
 * stored (container_config_to_json) and be read back. */
struct container_config {
	char id[33];
	char name[64];
	enum service_mode mode;
	bool detach;                 /* -d: the supervisor runs in the background */
	bool remove;                 /* --rm: no state kept after exit (-d only;
	                              * foreground runs never keep it) */
	struct ns_config ns;
	struct process_config proc;
	struct fs_config fs;
	struct net_config net;
	struct sec_config sec;
	struct res_config res;
	struct audit_config audit;
	struct service_config svc;
	struct runtime_config rt;    /* --runtime, --gvisor-platform */
	/* compose: the topology and service this container is (NULL: none),
	 * and the hash of the service's effective configuration it was
	 * created from (reconciliation compares it) */
	char *topology;
	char *topology_service;
	char *topology_hash;
};

void container_config_init(struct container_config *c);
void container_config_free(struct container_config *c);
/* Validate what can be validated without touching the system. */
int container_config_validate(struct container_config *c, struct nerr *err);
/* docker's rule for a container name: [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 63. */
bool container_name_valid(const char *s);
/* The service mode as requirements (src/container/mode.c): refuse what the
 * mode forbids and set what it requires; the first step of validation. */
int service_mode_apply(struct container_config *c, struct nerr *err);
/* Check the pins, then parse the policy files named in the config; then
 * plan the executable paths (container_exec_plan). */
int container_config_load_policies(struct container_config *c, struct nerr *err);
/* The configuration as JSON, every field (src/container/config_json.c):
 * container_config_from_json(container_config_to_json(c)) gives c back. */
struct json_t *container_config_to_json(const struct container_config *c);
/* Strict: a wrong type, an unknown key or enum value, a string too long
 * for its field, or a missing required key (id, name, process.argv) is an
 * error (-EINVAL, err says which key). `c` is initialised here
 * (container_config_init) and freed again on error. */
int container_config_from_json(const struct json_t *o, struct container_config *c, struct nerr *err);
/* One --allow-exec argument: /tmp, /context or beneath, canonical. */
int exec_path_parse(const char *arg, char **out, struct nerr *err);
/* c->exec_paths from --allow-exec and the Landlock policy's execute grants
 * on the workspaces (/tmp, /context); a grant nucleus cannot honour (on
 * /dev, /proc, /sys) is an error. */
int container_exec_plan(struct container_config *c, struct nerr *err);

/* ---- secrets (src/container/secrets.c, docs/secrets.md) ------------------- */
/* One --secret SRC:DEST (credential false) or --systemd-credential
 * NAME:DEST argument, appended to c->fs.secrets as given. */
int container_secret_add(struct container_config *c, bool credential, const char *arg, struct nerr *err);
void container_secrets_free(struct fs_config *f);
/* Check and normalise the secrets' DESTs and names (nothing is opened);
 * --credentials-passthrough sets the workload's CREDENTIALS_DIRECTORY. */
int container_secrets_validate(struct container_config *c, struct nerr *err);
/* Before anything exists, with the caller's rights: every source (and
 * credential) opened and checked, and read into *out (n entries, the
 * names on the tmpfs). */
int container_secrets_read(const struct container_config *c, struct fs_secret_data **out, size_t *n,
			   struct nerr *err);
/* The buffers zeroed, then freed. */
void container_secrets_data_free(struct fs_secret_data *d, size_t n);
/* As root: read, staged (fs_secrets_stage, owned by uid:gid) and zeroed;
 * *mount_fd the tmpfs. */
int container_secrets_stage(const struct container_config *c, uid_t uid, gid_t gid, int *mount_fd,
			    struct nerr *err);

/* ---- the workload identity (src/container/identity.c) --------------------- */
/* A user or group name or number, as given, is at most this long (a
 * --user NAME:GROUP twice that and the colon). */
#define IDENTITY_NAME_MAX 256
void identity_free(struct identity *id);
/* Resolve id->user, id->group and id->additional_groups into the ids
 * (docker's rules, docs/identity.md) against the text of a passwd and a
 * group file; NULL text: the file could not be read (`passwd_errno` or
 * `group_errno` says why), which only a name to look up makes an error.
 * The names are what errors call the files. Errors name no flag. */
int identity_resolve_text(struct identity *id, const char *passwd, int passwd_errno, const char *passwd_name,
			  const char *group, int group_errno, const char *group_name, struct nerr *err);
/* The same, reading `rootfs`'s etc/passwd and etc/group (opened beneath
 * the rootfs: a symlink in it cannot lead out) or, with rootfs NULL, the
 * host's. */
int identity_resolve(struct identity *id, const char *rootfs, struct nerr *err);

/* Names of environment variables a workload may not be given: they change
 * how the dynamic loader or libc behave. */
bool env_name_forbidden(const char *name);
/* Check and add one -e argument ("K=V", or "K" to take the host's value). */
int env_add(char ***env, const char *arg, struct nerr *err);
/* The environment every container starts with (PATH, HOME, TERM ...). */
void env_defaults(char ***env, bool tty);

/* Run to completion. Returns <0 (err set) when nucleus itself failed;
 * otherwise 0 with *exit_code set to the workload's status (128+N for a
 * signal). When the command could not be executed, *exit_code is 126/127
 * and err holds the message. */
int container_run(struct container_config *c, int *exit_code, struct nerr *err);
/* The same, telling notify_fd "ok" once the workload runs, or
 * "<status> <message>" when it could not be started. */
int container_run_notify(struct container_config *c, int notify_fd, int *exit_code, struct nerr *err);
/* -d: start the supervisor in the background and return once the workload
 * runs (0) or could not start (<0, err set; *exit_code as container_run). */
int container_run_detached(struct container_config *c, int *exit_code, struct nerr *err);

/* /run/nucleus for root, $XDG_RUNTIME_DIR/nucleus (or /tmp/nucleus-UID) otherwise. */
const char *runtime_dir(void);
/* Create it (0711), on a tmpfs of its own where / is not one; then
 * runtime_dir_fd. */
int runtime_dir_prepare(struct nerr *err);
/* The runtime directory, opened once and checked (docs/security.md,
 * "Runtime state"): owned by the caller, not writable by others, not a
 * symlink, and no directory above it another user could rename. The fd is
 * the process's (do not close it); <0 with err set: -ENOENT when it does
 * not exist yet, -EPERM (trust_refused) when it is refused. */
int runtime_dir_fd(struct nerr *err);

/* ---- state store -------------------------------------------------------------
 * <runtime>/<id>/state.json (0600, replaced atomically), <runtime>/<id>/lock
 * held by the supervisor for its whole life (so "is anyone looking after
 * this container" is a flock away, with no pid to be mistaken), and
 * <runtime>/.names/<name> -> <id> (created with symlink(2): unique without a
 * global lock). Every one of them is opened through the checked runtime
 * directory fd, without following symlinks, and refused (-EPERM, err says
 * why) unless the caller owns it and nobody else may write it. */
enum container_status { STATUS_CREATING, STATUS_RUNNING, STATUS_EXITED, STATUS_DEAD };
/* The exit status of a container whose supervisor died before it could
 * see the exit ("Exited (unknown)"). */
#define EXIT_CODE_UNKNOWN (-1)

/* The health check as the state store keeps it: docker's status and its
 * last results. */
enum health_status { HEALTH_NONE, HEALTH_STARTING, HEALTH_HEALTHY, HEALTH_UNHEALTHY };
#define HEALTH_LOG_MAX 5             /* results kept, as docker */
#define HEALTH_OUTPUT_MAX 4096       /* bytes of a probe's output kept, as docker */
struct health_result {
	uint64_t start_ns, end_ns;   /* CLOCK_REALTIME */
	int exit_code;               /* -1: killed at its timeout */
	char *output;                /* stdout and stderr, at most HEALTH_OUTPUT_MAX bytes */
};
struct health_state {
	enum health_status status;
	unsigned failing_streak;
	struct health_result log[HEALTH_LOG_MAX];   /* oldest first */
	size_t nlog;
};
const char *health_status_name(enum health_status s);

/* state.json: the configuration the container was started with (under
 * "config"), and what only the run knows. */
#define STATE_FORMAT_VERSION 2

struct container_state {
	/* As configured, names and defaults resolved (the run's own copy is
	 * borrowed: the run never frees its state through container_state_free;
	 * one read by state_read is owned). */
	struct container_config cfg;
	enum container_status status;
	pid_t pid;                   /* the container's init, as the host sees it */
	uint64_t pid_start;          /* its start time (clock ticks since boot) */
	pid_t supervisor;
	uint64_t created_ns, started_ns, finished_ns;   /* CLOCK_REALTIME */
	int exit_code;               /* EXIT_CODE_UNKNOWN: its supervisor died */
	bool oom_killed;
	bool checkpointed;           /* it ended by `nucleus checkpoint` (without --leave-running) */
	char *restored_from;         /* `nucleus restore`'s checkpoint directory; NULL: run */
	bool remove_on_exit;         /* foreground runs and --rm */
	/* what attach needs besides the configuration */
	char seccomp_key[65];
	unsigned seccomp_flags;
	char *seccomp_profile;       /* absolute path of --seccomp-profile; NULL: built-in */
	/* the limits enforced (0: not applied) */
	uint64_t memory_limit, pids_limit, cpu_quota_us, cpu_period_us;
	char cgroup_layout[16];
	bool egress;                 /* an egress policy is attached */
	char **addresses;            /* bridge: the container's addresses */
	char **ports;                /* bridge: published ports, canonical form */
	bool audit;                  /* an audit log is kept (--audit, --seccomp-log-denied) */
	char audit_path[256];
	unsigned cgroup_level;
	/* the pinned BPF sets it uses, by directory name under /sys/fs/bpf/nucleus
	 * ("egress-<version>-l<level>"): another build reads and cleans up there */
	char **bpf_pins;
	char log_path[256];
	uint64_t log_lost_bytes;     /* output the log had no room for */
	int log_errno;               /* why (the first failure) */
	/* service supervision (cfg.svc) */
	struct health_state health;
	bool ready;                  /* the container is ready (enum sd_notify_mode's rule) */
	unsigned restarts;           /* how often the supervisor restarted the workload */
	bool restarting;             /* between an exit and the restart (the backoff) */
	uint64_t restarted_ns;       /* the last restart (CLOCK_REALTIME); 0: none */
};

void container_state_free(struct container_state *s);
/* The seccomp filter a container gets: the allow-all filter of trace mode,
 * an OCI/Docker profile (its SHA-256 checked on the bytes compiled against
 * `pin_sha256` when given), or the built-in default. Unknown syscall names
 * are warned about once when `warn`. */
int container_seccomp_prepare(bool trace, const char *profile, const char *pin_sha256,
			      uint64_t bounding, unsigned flags, bool warn,
			      struct sc_program *out, struct nerr *err);
/* Record a bridge container's addresses and published ports (NULL lease: none). */
void state_set_network(struct container_state *s, const struct net_lease *l,
		       const struct port_spec *ports, size_t nports);
int state_path(const char *id, const char *file, char *buf, size_t len);
/* Write state.json atomically (temp file, fsync, rename, fsync of the
 * directory). While the container runs, a little room is kept aside for
 * the write that records its exit, should its output fill the filesystem. */
int state_write(const struct container_state *s, struct nerr *err);
int state_read(const char *id, struct container_state *s, struct nerr *err);
/* What state.json holds, the configuration under "config" (inspect); the
 * health check in docker inspect's shape ("Status", "FailingStreak",
 * "Log": [{"Start","End","ExitCode","Output"}]). */
struct json_t *container_state_to_json(const struct container_state *s);
struct json_t *state_health_to_json(const struct health_state *h);
/* Create <runtime>/<id> with its lock held; returns the lock fd. */
int state_dir_create(const char *id, struct nerr *err);
/* Remove what a creator that died inside state_dir_create left. */
void state_gc_unfinished(void);
/* Reserve a name: -EEXIST when another container's directory has it (its id
 * in `holder`); a link to no container is taken over. */
int state_claim_name(const char *name, const char *id, char holder[33], struct nerr *err);
void state_release_name(const char *name, const char *id);
/* Every name that points at `id` (its state may be unreadable). */
void state_release_names_of(const char *id);
/* Find by full id, name, or unique id prefix. ENOENT / EINVAL (ambiguous). */
int state_lookup(const char *query, char id[33], struct nerr *err);
/* Every container id in the store (sorted). */
int state_list(char ***ids, struct nerr *err);
/* Take the container's lock: the supervisor (blocking once at creation);
 * others probe it (nonblocking). Returns the fd or -errno; -EWOULDBLOCK
 * means a supervisor holds it. */
int state_lock(const char *id, bool wait);
/* The same, with err set on a failure other than -EWOULDBLOCK. */
int state_lock_err(const char *id, bool wait, struct nerr *err);
/* Its directory exists. */
bool state_exists(const char *id);
/* A live supervisor looks after this container. */
bool state_supervised(const char *id);
/* The container's init still runs (pid and start time both match, and it
 * is pid 1 of a namespace of its own). */
bool state_pid_alive(const struct container_state *s);
const char *container_status_name(enum container_status st);

/* ---- container.log (-d) -------------------------------------------------------
 * One JSON object a line, docker's json-file idea:
 *   {"stream":"stdout"|"stderr","log":TEXT,"time":"<RFC 3339, ns>"}
 * A line of output is one record; what a read left without a newline is a
 * record of its own (a reader just concatenates). */
/* Write what was read from `stream` as records (invalid UTF-8 becomes
 * U+FFFD). Returns how many bytes at the end begin a UTF-8 character the
 * next read may complete (left out; always 0 when `final`). */
size_t log_encode(FILE *out, const char *stream, const char *data, size_t len, uint64_t time_ns, bool final);
struct log_record {
	char *text;                  /* may hold NULs: use len */
	size_t len;
	bool is_stderr;
	char time[48];
};
/* Parse one line of the log; -EINVAL when it is not a record. */
int log_decode(const char *line, size_t len, struct log_record *r);

/* Remove everything of a container nobody looks after: cgroups, name, state.
 * `force` kills a live one first. */
int container_remove(const char *id, bool force, struct nerr *err);
/* Collect entries whose supervisor died without cleaning up: a start that
 * never completed goes, as does a container that was to be removed on exit
 * (foreground runs, --rm); one that ran detached stays as "Exited
 * (unknown)" with its log and audit log, until rm. Whatever of them still
 * runs or holds host resources (processes, cgroups, addresses, published
 * ports, egress entries) goes either way. */
void container_gc(void);
/* Claim a name for a new container, collecting first a holder nobody looks
 * after; a holder that stays is named ("... already in use by container
 * <id> (Exited (unknown)): remove it first"). */
int container_claim_name(const char *name, const char *id, struct nerr *err);
/* Signal the container's init, sent through a pidfd after checking that the
 * pid still is that process (start time). -ESRCH when it is not running. */
int container_signal(const struct container_state *s, int sig, struct nerr *err);
/* SIGTERM, up to timeout_s seconds, then SIGKILL to the whole cgroup; returns
 * once the supervisor has finished with the container. */
int container_stop(const char *id, unsigned timeout_s, struct nerr *err);
/* Run argv inside a running container: every namespace and the cgroup
 * joined, and the same capabilities, no_new_privs, Landlock rules and
 * seccomp filter as its workload (rebuilt from its state). */
int container_attach(const struct container_state *st, char **argv, char **env, bool tty,
		     int *exit_code, struct nerr *err);
/* A signal by name (KILL, SIGKILL) or number. */
int signal_parse(const char *s);

#endif
