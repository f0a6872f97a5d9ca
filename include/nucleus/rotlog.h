/* rotlog: log files capped by size and rotated the way docker's json-file
 * driver rotates them (NAME -> NAME.1 -> ... -> NAME.<max-file - 1>, the
 * oldest dropped), written without ever blocking on a full disk, and read
 * back across the rotations. Used by the container log and the audit logs. */
#ifndef NUCLEUS_ROTLOG_H
#define NUCLEUS_ROTLOG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <nucleus/util.h>

struct log_opts {
	uint64_t max_size;          /* bytes a file may reach before it is rotated */
	unsigned max_files;         /* files kept, the one being written included */
};

/* container.log: 10 MiB x 3. Docker's own default is no cap at all, which
 * lets one chatty container fill the disk for everyone; 10m/3 is the cap
 * docker's documentation recommends, and keeps the last ~30 MiB. */
#define LOG_DEFAULT_MAX_SIZE (10ull << 20)
#define LOG_DEFAULT_MAX_FILES 3
/* a container's audit.jsonl: 10 MiB x 5. The audit is the record of what
 * the workload did, worth more history than its output; an exec-heavy
 * workload writes ~250 bytes an event, so that is ~200,000 events. */
#define AUDIT_DEFAULT_MAX_SIZE (10ull << 20)
#define AUDIT_DEFAULT_MAX_FILES 5
#define LOG_MAX_FILES_LIMIT 100

/* One --log-opt / --audit-opt KEY=VALUE: max-size=SIZE (10m, 512k, bytes;
 * more than 0) or max-file=N (1 to LOG_MAX_FILES_LIMIT). `flag` names the
 * option in the message. */
int log_opt_parse(struct log_opts *o, const char *arg, const char *flag, struct nerr *err);

/* ---- writing ------------------------------------------------------------------ */
struct rotlog;
struct rotlog_hooks {
	/* A rotation started a new file: the line(s) to begin it with, given
	 * the file just rotated away (readable); NULL for nothing. */
	char *(*header)(int old_fd, void *arg);
	/* Writing works again after `records` records (`bytes` bytes) were
	 * lost to `errnum`: what to write first, so the log says so. */
	char *(*notice)(uint64_t records, uint64_t bytes, int errnum, void *arg);
	void *arg;
};

/* Open (create) NAME in dirfd for appending. The file must be a regular
 * file owned by the caller and writable by nobody else (never a symlink). */
int rotlog_open(int dirfd, const char *name, mode_t mode, const struct log_opts *o,
		const struct rotlog_hooks *h, struct rotlog **out, struct nerr *err);
/* Append `len` bytes holding `records` whole records, in one write, after
 * rotating when they would take the file beyond max_size. Several
 * processes may append to one log: a rotation another one made is
 * followed. A write that fails (a full disk) is counted, never retried,
 * and never blocks: returns -errno. */
int rotlog_write(struct rotlog *l, const char *buf, size_t len, uint64_t records);
/* Records and bytes lost since the last write that worked. */
void rotlog_lost(const struct rotlog *l, uint64_t *records, uint64_t *bytes, int *errnum);
/* Try once more to write the notice of a loss (at the end of a log). */
void rotlog_flush_notice(struct rotlog *l);
void rotlog_close(struct rotlog *l);

/* ---- reading ------------------------------------------------------------------ */
/* Open a file nucleus wrote, to read it: a regular file owned by the
 * caller, not a symlink. -errno (EPERM: someone else's, with a message). */
int rotlog_open_read(int dirfd, const char *path, struct nerr *err);

/* A reader of PATH and its rotated files, from the oldest on, which follows
 * later rotations when asked to read again. */
struct rotlog_reader;
int rotlog_reader_open(const char *path, struct rotlog_reader **out, struct nerr *err);
/* Start at the last n lines, counted from the end across the files. */
void rotlog_reader_tail(struct rotlog_reader *r, uint64_t n);
/* Each complete line there is now (without its newline), oldest first;
 * `file` counts the files from the oldest one present at open (0). */
typedef void (*rotlog_line_fn)(const char *line, size_t len, unsigned file, void *arg);
void rotlog_reader_read(struct rotlog_reader *r, rotlog_line_fn fn, void *arg);
void rotlog_reader_close(struct rotlog_reader *r);

/* ---- directories ------------------------------------------------------------- */
/* Open (with create: make, mode) the directory NAME in dirfd, which must be
 * owned by the caller and writable by nobody else; never through a symlink. */
int dir_open_owned(int dirfd, const char *name, bool create, mode_t mode, struct nerr *err);

#endif
