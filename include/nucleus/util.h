/* util: errors with context, logging, cleanup helpers, strings, files,
 * SHA-256, sizes, and the TOML parser. The lowest layer: includes nothing
 * else of nucleus. */
#ifndef NUCLEUS_UTIL_H
#define NUCLEUS_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/types.h>

#define NUCLEUS_VERSION "0.1.0"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- errors ------------------------------------------------------------
 * Functions return 0 (or a non-negative value) on success and a negative
 * errno on failure, filling a struct nerr with a message that carries the
 * context of every layer it crossed ("create cgroup `x`: mkdir: EACCES"). */
struct nerr {
	int code;        /* positive errno, 0 when no error is set */
	char msg[1024];
};

/* Set the error: "fmt: strerror(errnum)" (just "fmt" when errnum is 0).
 * Returns -errnum, or -EINVAL when errnum is 0, so callers can
 * `return nerr_set(err, errno, "open `%s`", path);` */
int nerr_set(struct nerr *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prepend context: "fmt: <previous message>". Returns -err->code. */
int nerr_prefix(struct nerr *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void nerr_clear(struct nerr *err);

/* ---- logging (stderr, one line each, "nucleus: ...") ------------------ */
enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
extern enum log_level log_threshold;
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_threshold >= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
void log_init_from_env(void);

/* ---- cleanup attributes ------------------------------------------------ */
void cleanup_freep(void *p);
void cleanup_closep(int *fd);
void cleanup_fclosep(FILE **f);
void cleanup_closedirp(DIR **d);
void cleanup_strvp(char ***v);
#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(cleanup_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(cleanup_closedirp)))
#define _cleanup_strv_ __attribute__((cleanup(cleanup_strvp)))

/* Return the value and leave the variable empty, so cleanup skips it. */
#define steal_ptr(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define steal_fd(fd) ({ int _t = (fd); (fd) = -1; _t; })

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- string vectors (NULL-terminated) ---------------------------------- */
size_t strv_len(char *const *v);
/* Appending is amortized O(1): strv_push remembers the vector it grew last.
 * A vector may be changed in place (elements replaced, sorted); to shorten
 * one, set every slot from its new end on to NULL. */
void strv_push(char ***v, const char *s);      /* copies s */
void strv_push_take(char ***v, char *s);       /* takes ownership of s */
void strv_free(char **v);
bool strv_contains(char *const *v, const char *s);
/* The strings with `sep` between them (v NULL or empty: ""). */
char *strv_join(char *const *v, const char *sep);

/* ---- strings and numbers ----------------------------------------------- */
bool str_has_prefix(const char *s, const char *prefix);
/* User input for a one-line error, in buf (len >= 5): control characters
 * as `?`, input longer than buf cut short with "...". */
const char *str_printable(const char *s, char *buf, size_t len);
/* A growing string, always NUL-terminated once anything was added; s is
 * the caller's to free. */
struct strbuf {
	char *s;
	size_t len, cap;
};
void strbuf_add(struct strbuf *b, const char *s, size_t n);
void strbuf_puts(struct strbuf *b, const char *s);
bool str_has_suffix(const char *s, const char *suffix);
/* Parse a decimal unsigned integer in [min, max]; whole string. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* "512K", "64M", "1G", "1.5G", "1024" (bytes), binary multiples. */
int parse_size(const char *s, uint64_t *out);
/* Format bytes back as the shortest exact "64M"/"1536K"/"100" form. */
void format_size(uint64_t bytes, char *buf, size_t len);
/* Decimal with up to 6 fraction digits: "1.5" -> 1500000 (micro-units). */
int parse_decimal_micro(const char *s, uint64_t *out);
int hex_encode(const uint8_t *in, size_t n, char *out, size_t outlen);
bool is_hex_string(const char *s, size_t len);

/* ---- files and fds ------------------------------------------------------ */
/* Read a whole file (at most max bytes; NUL-terminated). */
int read_file(const char *path, size_t max, char **out, size_t *len);
int read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len);
/* The same from an fd, to its end (a pipe's writers all closed). */
int read_fd(int fd, size_t max, char **out, size_t *len);
/* `name` as the shell finds it: as it is with a slash, else the first
 * executable of that name in $PATH (the usual directories without one);
 * NULL: none. */
char *find_program(const char *name);
/* argv (argv[0] a path) run with stdin /dev/null and stdout and stderr
 * into *out (its last `max` bytes at most), waited for: its wait status
 * in *status. <0: it could not be started. */
int run_capture(char *const *argv, size_t max, char **out, int *status);
/* Write the whole buffer to path (O_CREAT|O_TRUNC with mode). */
int write_file(const char *path, const void *buf, size_t len, mode_t mode);
int write_file_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode);
/* Write a short string to an existing file (sysfs/procfs/cgroupfs). */
int write_str(const char *path, const char *s);
int write_str_at(int dirfd, const char *path, const char *s);
/* Atomic replace: temp file in the same directory, fsync, rename (with a
 * directory fd: that directory is fsync'd too, so the rename lasts). */
int write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode);
int write_file_atomic_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode);
ssize_t write_all(int fd, const void *buf, size_t len);
ssize_t read_all(int fd, void *buf, size_t len);
/* ---- files nucleus trusts ------------------------------------------------
 * What nucleus acts on (its runtime state, locks, logs, caches) must be
 * what only the caller could have written: owned by the effective uid, not
 * writable by group or others, reached without following a symlink. A
 * refusal is -EPERM with "<what> `<path>` is owned by uid 1001, not you
 * (uid 1000): refusing it" (and the like) in err, which may be NULL. */
struct stat;
/* `type`: S_IFDIR, S_IFREG, or 0 for any. */
int trust_stat(const struct stat *st, mode_t type, const char *what, const char *path, struct nerr *err);
int trust_fd(int fd, mode_t type, const char *what, const char *path, struct nerr *err);
/* openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, mode),
 * then trust_fd; a symlink is refused by name. Other failures keep their
 * errno ("open <what> `<path>`: ..."). Returns the fd. */
int open_trusted_at(int dirfd, const char *name, int flags, mode_t mode, mode_t type,
		    const char *what, const char *path, struct nerr *err);
/* A refusal of trust_* (err->code EPERM and the wording above). */
bool trust_refused(const struct nerr *err);

/* mkdir -p; existing directories are fine. */
int mkdir_p(const char *path, mode_t mode);
/* rm -rf of a directory tree on one filesystem, without following links. */
int remove_tree(const char *path);
int remove_tree_at(int dirfd, const char *name);

/* ---- SHA-256 ------------------------------------------------------------ */
struct sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t fill;
};
void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
void sha256_final(struct sha256 *s, uint8_t out[32]);
void sha256_hex(const void *data, size_t n, char out[65]);
int sha256_file_hex(const char *path, char out[65], struct nerr *err);
/* The block function in use: "sha-ni" (the x86 SHA extensions, when CPUID
 * says the CPU has them) or "portable". sha256_select picks one by name
 * (NULL: the best this CPU has; for tests and benchmarks, before any thread
 * hashes); -ENOTSUP when the CPU lacks it. */
const char *sha256_impl(void);
int sha256_select(const char *name);

/* ---- random ids ---------------------------------------------------------- */
/* 32 lowercase hex characters from getrandom(). */
int random_id(char out[33]);

/* A process's start time (clock ticks since boot, /proc/PID/stat field
 * 22); 0 when it does not exist. pid + start time name a process for good. */
uint64_t proc_start_time(pid_t pid);
/* pid (started at `start`) runs and is not on its way out: neither a
 * zombie nor exiting (a SIGKILLed supervisor holds its locks until its
 * files are closed, and stays a zombie until reaped). */
bool proc_running(pid_t pid, uint64_t start);
/* A host pid as its innermost pid namespace sees it (NSpid's last field);
 * 0 when the process is gone. */
pid_t proc_ns_pid(pid_t host_pid);

/* Fault injection for crash tests: when NUCLEUS_DEBUG_PAUSE names this
 * point, the process stops itself (SIGSTOP) there. */
void debug_pause(const char *point);

/* ---- monotonic time ------------------------------------------------------ */
uint64_t now_ns(void);          /* CLOCK_MONOTONIC */
uint64_t realtime_ns(void);     /* CLOCK_REALTIME */
void format_rfc3339(uint64_t realtime_ns, char *buf, size_t len);

/* ---- TOML 1.0 ------------------------------------------------------------
 * A document parses into a tree of values; tables keep their keys in
 * document order. Errors carry line:column. */
enum toml_type {
	TOML_STRING, TOML_INTEGER, TOML_FLOAT, TOML_BOOL,
	TOML_DATETIME,        /* offset date-time */
	TOML_DATETIME_LOCAL,  /* local date-time */
	TOML_DATE_LOCAL,
	TOML_TIME_LOCAL,
	TOML_ARRAY,
	TOML_TABLE,
};

struct toml_datetime {
	int year, month, day;
	int hour, minute, second;
	int nanosecond;
	int offset_minutes;     /* for TOML_DATETIME; 0 for Z */
	bool offset_z;          /* written as Z */
	int frac_digits;        /* digits of the fraction as written */
};

struct toml_value;

struct toml_keyval {
	char *key;              /* NUL-terminated, but may also contain NUL */
	size_t key_len;         /* ("\u0000" is a valid quoted key) */
	struct toml_value *value;
	int line, column;       /* where the key was defined */
};

struct toml_value {
	enum toml_type type;
	int line, column;
	union {
		struct { char *ptr; size_t len; } str;   /* may contain NUL */
		int64_t integer;
		double fp;
		bool boolean;
		struct toml_datetime dt;
		struct { struct toml_value **items; size_t len, cap; } array;
		struct { struct toml_keyval *items; size_t len, cap; } table;
	} u;
	unsigned flags;         /* parser-private */
};

struct toml_error {
	int line, column;       /* 1-based; 0 when unknown */
	char msg[256];
};

/* Parse a complete document. Returns the root table or NULL with err set. */
struct toml_value *toml_parse(const char *text, size_t len, struct toml_error *err);
void toml_free(struct toml_value *v);
/* Lookup helpers; NULL when absent. */
const struct toml_value *toml_get(const struct toml_value *table, const char *key);
const char *toml_type_name(enum toml_type t);

#endif
