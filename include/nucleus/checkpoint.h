/* checkpoint: a running container's process tree saved to a directory by
 * CRIU, and a new container restored from one (src/checkpoint/; the
 * restore's stages are the run's: src/container/run_restore.c).
 *
 * A checkpoint directory holds:
 *   images/        CRIU's images (criu dump -D), and nucleus-root.tar: the
 *                  root tmpfs's own content, which CRIU takes from --root
 *   config.json    the container's configuration (container_config_to_json)
 *   manifest.json  what restore checks before anything (ckpt_manifest)
 *   integrity      sha256 over the files above (ckpt_integrity_compute):
 *                  it tells a damaged or altered directory from an intact
 *                  one; it does not say who made it (no key is involved)
 *   criu-dump.log  CRIU's log (not covered) */
#ifndef NUCLEUS_CHECKPOINT_H
#define NUCLEUS_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>
#include <nucleus/util.h>

/* The directory's layout; a restore refuses another. */
#define CKPT_FORMAT_VERSION 1
#define CKPT_IMAGES "images"
#define CKPT_ROOT_TAR "nucleus-root.tar"
#define CKPT_CONFIG "config.json"
#define CKPT_MANIFEST "manifest.json"
#define CKPT_INTEGRITY "integrity"

/* In the container's state directory while a checkpoint without
 * --leave-running runs: the supervisor records the exit that follows as
 * the checkpoint's (container_state.checkpointed). */
#define CKPT_EXIT_MARKER "checkpointed"

/* The root task's standard fds from outside the container, as CRIU names
 * them ("pipe:[INODE]", "file[MNT_ID:INODE]"); restore hands the new
 * supervisor's in their place (--inherit-fd). */
#define CKPT_STDIO 3
/* External files (of --init's init) restore hands CRIU, at most. */
#define CKPT_MAX_FILES 8

struct json_t;

/* A refusal: the message alone (no strerror appended), the code kept. */
#define CKPT_FAIL(err, errnum, ...) (nerr_set((err), 0, __VA_ARGS__), (err)->code = (errnum), -(errnum))

struct ckpt_manifest {
	unsigned format;             /* CKPT_FORMAT_VERSION */
	char nucleus_version[32];
	char arch[32];               /* uname -m of the dumping host */
	char kernel[128];            /* uname -r (informational) */
	char criu_version[32];
	char id[33];                 /* the checkpointed container */
	char name[64];
	uint64_t created_ns;         /* when the checkpoint was taken (CLOCK_REALTIME) */
	bool leave_running;
	/* the runtime fields a restore needs besides the configuration */
	uint64_t started_ns;         /* the workload's start */
	unsigned restarts;
	char *stdio[CKPT_STDIO];     /* "pipe:[123]", "file[2a:1f]"; NULL: the container's own */
	/* --init: the init is a fork of nucleus, its executable and mapped
	 * libraries the host's files (the nucleus binary, libc), on mounts the
	 * container does not have: CRIU's external file keys, each one's host
	 * path and sha256 (restore opens the same path, refused unless it is
	 * the same file); empty for a tree of the container's own files */
	char **ext_files;
	char **ext_file_paths;
	char **ext_file_sha256;
	char **ext_mounts;           /* the mount points dumped as external, in the
	                              * container (their key is the path itself) */
	char **ext_sources;          /* each one's source on the dumping host, for
	                              * one restored on the same host */
};

void ckpt_manifest_free(struct ckpt_manifest *m);
struct json_t *ckpt_manifest_to_json(const struct ckpt_manifest *m);
/* Strict: every key of its type; an unknown key is an error. */
int ckpt_manifest_from_json(const struct json_t *o, struct ckpt_manifest *m, struct nerr *err);
/* Whether this build on this host can restore it: the format and the
 * architecture (uname -m `arch`; NULL: this host's) must match, and the
 * nucleus version's major.minor. -EPROTO with one line saying which. */
int ckpt_manifest_compatible(const struct ckpt_manifest *m, const char *arch, struct nerr *err);
int ckpt_manifest_write(int dirfd, const struct ckpt_manifest *m, struct nerr *err);
int ckpt_manifest_read(int dirfd, struct ckpt_manifest *m, struct nerr *err);

/* sha256 over config.json, manifest.json and every file of images/ in
 * byte order of their names: for each, its name, a NUL, its size as 8
 * bytes big-endian and its content. Anything but a regular file in
 * images/ is refused. hex: 64 digits and a NUL. */
int ckpt_integrity_compute(int dirfd, char hex[65], struct nerr *err);
/* Written as "sha256:<hex>\n" into `integrity`. */
int ckpt_integrity_write(int dirfd, struct nerr *err);
/* -EBADMSG (err: the directory does not match its checksum) or another
 * error reading it. */
int ckpt_integrity_verify(int dirfd, struct nerr *err);

/* The criu binary: its path ($NUCLEUS_CRIU, else criu in $PATH or
 * /usr/sbin), its version, and whether `criu check` passes here (its
 * reason when not: CRIU's last error line, its first one in parentheses
 * when they differ). */
struct criu_info {
	char *path;                  /* NULL: not found */
	char version[32];
	bool works;
	char reason[512];
};
void criu_probe(struct criu_info *ci, bool check);
void criu_info_free(struct criu_info *ci);
/* Refuse unless CRIU works here (what checkpoint and restore say first). */
int criu_require(struct criu_info *ci, struct nerr *err);
/* Run criu with argv (argv[0] the binary) with stdin /dev/null, its
 * output into `log` (NULL: discarded); with `keep` fds (each dup2'ed to
 * its index's value: keep[i].from -> keep[i].to) kept open; `cgroup_fd` >=
 * 0: the child joins that cgroup v2 directory first. 0 once it exited 0;
 * otherwise -EIO, err: "criu STAGE failed: <its last error line>". */
struct criu_fd {
	int from, to;
};
int criu_run(char *const *argv, const char *stage, const char *log, const struct criu_fd *keep, size_t nkeep,
	     int cgroup_fd, struct nerr *err);
/* The first error line of a CRIU log, its cause ("(00.1) Error (criu/x.c:1): what"
 * -> "what"). */
void criu_log_reason(const char *log, char *buf, size_t len);

/* nucleus checkpoint: container `query` (name, id or prefix) dumped into
 * `dir` (created; must not exist or be empty); without leave_running it
 * ends, recorded by its supervisor as checkpointed. */
int container_checkpoint(const char *query, const char *dir, bool leave_running, struct nerr *err);

/* nucleus restore (src/container/run_restore.c): a new container from
 * `dir`, named `name` (NULL: the checkpoint's), supervised as a run's
 * (detach: in the background, its id printed). Returns as container_run. */
int container_restore(const char *dir, const char *name, bool detach, int *exit_code, struct nerr *err);

#endif
