/* audit: one event model for what happens to and inside a container —
 * lifecycle, security setup, kernel events — written as JSON lines to the
 * container's audit file, a host-wide log and (under systemd) journald, and
 * read back by `nucleus audit tail`. */
#ifndef NUCLEUS_AUDIT_H
#define NUCLEUS_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <nucleus/util.h>
#include <nucleus/rotlog.h>

#define AUDIT_HOST_LOG_DIR "/var/log/nucleus"
#define AUDIT_HOST_LOG AUDIT_HOST_LOG_DIR "/audit.jsonl"
#define AUDIT_HOST_LOG_MAX (16u << 20)   /* rotated beyond this size */
#define AUDIT_HOST_LOG_KEEP 4            /* audit.jsonl.1 ... .4 */

struct json_t;
struct log_opts;

/* A writer for one container. Lines go to its audit.jsonl (`path`, in its
 * log directory), capped and rotated by `opts` (NULL: never rotated by
 * this writer), to the host-wide log, and to journald when nucleus runs
 * under systemd. A file that begins after a rotation starts with a
 * "rotated" line counting the events before it (audit_rotation_line). */
struct audit_log;
int audit_log_open(const char *id, const char *name, const char *path, const struct log_opts *opts,
		   struct audit_log **out, struct nerr *err);
/* A "rotated" line: *events_before, the events written before its file. */
bool audit_rotation_line(const char *line, uint64_t *events_before);
/* Values of environment variables whose names look secret ("TOKEN",
 * "PASSWORD", "SECRET", "KEY", "CREDENTIAL"...) are never written: they are
 * replaced by "***" wherever they would appear (argv included). */
void audit_log_secrets_from_env(struct audit_log *l, char *const *env);
#define AUDIT_REDACTED "***"
/* Takes `details` (a JSON object, may be NULL). source: "runtime",
 * "tracepoint", "lsm", "seccomp". `when` 0: now (CLOCK_REALTIME ns). */
void audit_log_event(struct audit_log *l, uint64_t when, const char *type, const char *source,
		     int pid, long uid, const char *comm, struct json_t *details);
void audit_log_close(struct audit_log *l);
/* Append one event for a container from another process (stop, kill, rm). */
void audit_append(const char *path, const char *id, const char *name, const char *type,
		  struct json_t *details);
/* The rule for "looks secret", shared by everything that shows arguments
 * (`nucleus ps` shows KEY=*** for such a KEY). */
bool env_name_looks_secret(const char *name);

/* The kernel source: BPF-LSM where it loads, tracepoints otherwise. */
struct audit_kernel;
int audit_kernel_start(uint64_t cgid, unsigned cgroup_level, pid_t init_pid, size_t ring_bytes,
		       struct audit_kernel **out, struct nerr *err);
/* "lsm" or "tracepoint", and why (for the header line and `nucleus info`). */
const char *audit_kernel_source(const struct audit_kernel *k);
const char *audit_kernel_reason(const struct audit_kernel *k);
int audit_kernel_fd(const struct audit_kernel *k);
/* Write the pending kernel events to the log. */
void audit_kernel_drain(struct audit_kernel *k, struct audit_log *l);
void audit_kernel_counts(const struct audit_kernel *k, uint64_t *events, uint64_t *lost);
void audit_kernel_stop(struct audit_kernel *k);
/* The entries of audited containers whose supervisor died, in every set at
 * `level` this build can read; the programs' links go with the last one. */
void audit_kernel_gc(unsigned level);
/* The directory name of the pinned set it uses (the container's state records it). */
const char *audit_kernel_pin_set(const struct audit_kernel *k);
/* The kernel event counters of a running audited container, from the
 * pinned maps of the set it recorded (NULL: the set that has its cgroup),
 * for `nucleus stats`. -ENOENT when it has none. */
int audit_totals(uint64_t cgid, unsigned cgroup_level, const char *set, uint64_t *events, uint64_t *lost);

/* ---- reading ------------------------------------------------------------------ */
struct audit_filter {
	char **types;          /* NULL: every type */
	uint64_t since_ns;     /* 0: from the start */
};
bool audit_line_matches(const char *line, const struct audit_filter *f);
/* One aligned, human-readable line for a JSON line (colour when asked). */
void audit_format_human(const char *line, bool colour, char *out, size_t len);
/* "2026-11-28T10:00:00Z", "10m", "2h" -> CLOCK_REALTIME ns. */
int audit_parse_since(const char *s, uint64_t *ns);

/* The container configuration's audit and log part (container_config.audit). */
struct audit_config {
	bool enabled;                /* --audit: the audit log and kernel events */
	bool opt_out;                /* --no-audit: production mode without its audit trail */
	bool name_source;            /* say on stderr where kernel events come from
	                              * (BPF-LSM, or the tracepoint fallback and why) */
	struct log_opts log_opts;    /* --log-opt: container.log's cap and rotation */
	struct log_opts audit_opts;  /* --audit-opt: the same for its audit.jsonl */
};

#endif
