/* The log of a detached container: the supervisor reads the workload's
 * stdout and stderr (and its own messages) from pipes and writes each line
 * as a JSON record that keeps its stream, so `logs` can give stderr back
 * on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <jansson.h>
#include <nucleus/rotlog.h>
#include "internal.h"

/* ---- where the logs live ------------------------------------------------------
 * Not in the runtime directory: that is a small tmpfs shared by every
 * container (and lost at reboot), and a chatty container filling it made
 * every later start fail. As docker keeps them under /var/lib/docker, root's
 * go to /var/log/nucleus/containers/<id>/, a user's to
 * $XDG_STATE_HOME/nucleus/containers/<id>/ (~/.local/state); a user without
 * a home to write to keeps them in the container's state directory. */

#define LOG_MARKER ".runtime"    /* which runtime directory the container belongs to */

/* The runtime directory <parent>/<id> says it belongs to (its marker);
 * false when it is not the caller's log directory. */
static bool marker_of(int parent, const char *id, char *buf, size_t len)
{
	_cleanup_close_ int dfd = dir_open_owned(parent, id, false, 0, NULL);
	_cleanup_close_ int fd = -1;
	ssize_t n;

	if (dfd < 0 || (fd = openat(dfd, LOG_MARKER, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, len - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

static bool ours(int parent, const char *id)
{
	char rt[4096];

	return marker_of(parent, id, rt, sizeof(rt)) && !strcmp(rt, runtime_dir());
}

static bool log_root(char *buf, size_t len)
{
	const char *env;

	if ((env = getenv("NUCLEUS_LOG_ROOT")) && *env == '/')
		snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		snprintf(buf, len, "/var/log/nucleus/containers");
	else if ((env = getenv("XDG_STATE_HOME")) && *env == '/')
		snprintf(buf, len, "%s/nucleus/containers", env);
	else if ((env = getenv("HOME")) && *env == '/' && strcmp(env, "/"))
		snprintf(buf, len, "%s/.local/state/nucleus/containers", env);
	else
		return false;
	return true;
}

int container_log_dir_create(const char *id, char *path, size_t len, struct nerr *err)
{
	char root[4096];
	_cleanup_close_ int rfd = -1;
	_cleanup_close_ int mark = -1;
	const char *rt = runtime_dir();
	int fd, r;

	r = log_root(root, sizeof(root)) ? mkdir_p(root, 0700) : -ENOENT;
	/* an ordinary user without a home to write to: the state directory
	 * (their own runtime directory); root's logs never go back there */
	if (r < 0 && geteuid() != 0 && !getenv("NUCLEUS_LOG_ROOT") && r != -ENOSPC) {
		log_debug("run: no log directory of its own; logs in the state directory");
		if ((r = state_path(id, NULL, path, len)) < 0)
			return nerr_set(err, -r, "state directory of %.12s", id);
		return dir_open_owned(AT_FDCWD, path, false, 0, err);
	}
	if (r < 0)
		return nerr_set(err, -r, "create the log directory `%s`", root);
	if ((rfd = dir_open_owned(AT_FDCWD, root, false, 0, err)) < 0)
		return nerr_prefix(err, "log directory");
	if ((size_t)snprintf(path, len, "%s/%s", root, id) >= len)
		return nerr_set(err, ENAMETOOLONG, "log directory `%s/%s`", root, id);
	if ((fd = dir_open_owned(rfd, id, true, 0700, err)) < 0)
		return nerr_prefix(err, "log directory `%s`", root);
	mark = openat(fd, LOG_MARKER, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (mark < 0 || write_all(mark, rt, strlen(rt)) < 0) {
		r = nerr_set(err, errno, "write `%s/%s`", path, LOG_MARKER);
		close(fd);
		remove_tree_at(rfd, id);
		return r;
	}
	return fd;
}

void container_log_dir_remove(const char *id, const char *log_path, const char *audit_path)
{
	const char *named = log_path && log_path[0] ? log_path : audit_path && audit_path[0] ? audit_path : NULL;
	char dir[4096], state[4096];
	_cleanup_close_ int pfd = -1;
	char *slash;

	if (named)
		snprintf(dir, sizeof(dir), "%s", named);
	else if (!log_root(dir, sizeof(dir)) ||
		 (size_t)snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/%s/x", id) >= sizeof(dir) - strlen(dir))
		return;
	*strrchr(dir, '/') = '\0';
	/* <root>/<id>, and not the state directory (removed with the state) */
	slash = strrchr(dir, '/');
	if (!slash || strcmp(slash + 1, id) || (state_path(id, NULL, state, sizeof(state)) == 0 && !strcmp(dir, state)))
		return;
	*slash = '\0';
	if ((pfd = dir_open_owned(AT_FDCWD, dir[0] ? dir : "/", false, 0, NULL)) < 0)
		return;
	/* only a log directory this runtime directory made, whatever a state
	 * file says */
	if (!ours(pfd, id)) {
		log_debug("`%s/%s` is not a log directory of %s: left alone", dir, id, runtime_dir());
		return;
	}
	if (remove_tree_at(pfd, id) < 0)
		log_warn("cannot remove `%s/%s`", dir, id);
}

void container_log_dirs_gc(void)
{
	char root[4096], state[4096], rt[4096];
	_cleanup_close_ int rfd = -1;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (!log_root(root, sizeof(root)) || (rfd = dir_open_owned(AT_FDCWD, root, false, 0, NULL)) < 0)
		return;
	if ((fd = fcntl(rfd, F_DUPFD_CLOEXEC, 3)) < 0 || !(d = fdopendir(fd)))
		return;
	while ((de = readdir(d))) {
		if (strlen(de->d_name) != 32 || !is_hex_string(de->d_name, 32))
			continue;
		/* a container's directory goes after its state, never before */
		if (state_path(de->d_name, NULL, state, sizeof(state)) < 0 || access(state, F_OK) == 0)
			continue;
		/* another runtime directory's (NUCLEUS_ROOT) are not ours to
		 * collect, unless that directory is gone (and its state with it) */
		if (!marker_of(rfd, de->d_name, rt, sizeof(rt)) ||
		    (strcmp(rt, runtime_dir()) && (rt[0] != '/' || access(rt, F_OK) == 0 || errno != ENOENT)))
			continue;
		log_debug("gc: removing the logs of %.12s, whose state is gone", de->d_name);
		remove_tree_at(rfd, de->d_name);
	}
}

/* ---- the format ----------------------------------------------------------- */

/* Length of the UTF-8 sequence at s (at most n bytes), 0 when it is not
 * valid: the rules of RFC 3629 (and jansson's), no overlongs, no
 * surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t want;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		want = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		want = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		want = 4, cp = c & 0x07;
	else
		return 0;
	if (n < want)
		return 0;
	for (size_t i = 1; i < want; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((want == 3 && cp < 0x800) || (want == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return want;
}

/* Bytes at the end of data that begin a UTF-8 character the next read may
 * complete (0-3). */
static size_t utf8_incomplete_tail(const unsigned char *s, size_t n)
{
	for (size_t back = 1; back <= 3 && back <= n; back++) {
		unsigned char c = s[n - back];
		size_t want;

		if ((c & 0xc0) == 0x80)
			continue;            /* a continuation byte: look further back */
		want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		return want > back ? back : 0;
	}
	return 0;
}

/* One record; invalid UTF-8 becomes U+FFFD, as docker's json-file does. */
static void put_record(FILE *out, const char *stream, const char *ts, const unsigned char *s, size_t n)
{
	_cleanup_free_ char *clean = xmalloc(n * 3 + 1);
	size_t m = 0;
	json_t *o;
	char *text;

	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq(s + i, n - i);

		if (k) {
			memcpy(clean + m, s + i, k);
			m += k;
			i += k;
		} else {
			memcpy(clean + m, "\xef\xbf\xbd", 3);
			m += 3;
			i++;
		}
	}
	o = json_pack("{s:s,s:s%,s:s}", "stream", stream, "log", clean, m, "time", ts);
	text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (text)
		fprintf(out, "%s\n", text);
	free(text);
}

size_t log_encode(FILE *out, const char *stream, const char *data, size_t len, uint64_t time_ns, bool final)
{
	const unsigned char *s = (const unsigned char *)data;
	size_t start = 0, keep = 0;
	char ts[64];

	format_rfc3339(time_ns, ts, sizeof(ts));
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n') {
			put_record(out, stream, ts, s + start, i + 1 - start);
			start = i + 1;
		}
	}
	if (start < len) {
		if (!final)
			keep = utf8_incomplete_tail(s + start, len - start);
		if (len - start > keep)
			put_record(out, stream, ts, s + start, len - start - keep);
	}
	return keep;
}

int log_decode(const char *line, size_t len, struct log_record *r)
{
	json_t *o = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
	json_t *text;
	const char *stream, *t;

	memset(r, 0, sizeof(*r));
	if (!o)
		return -EINVAL;
	text = json_object_get(o, "log");
	stream = json_string_value(json_object_get(o, "stream"));
	t = json_string_value(json_object_get(o, "time"));
	if (!json_is_string(text)) {
		json_decref(o);
		return -EINVAL;
	}
	r->len = json_string_length(text);
	r->text = xmalloc(r->len + 1);
	memcpy(r->text, json_string_value(text), r->len);
	r->text[r->len] = '\0';
	r->is_stderr = stream && !strcmp(stream, "stderr");
	snprintf(r->time, sizeof(r->time), "%s", t ? t : "");
	json_decref(o);
	return 0;
}

/* ---- the pump -------------------------------------------------------------- */

struct log_stream {
	struct log_pump *pump;
	int fd;                  /* read end; -1 once it ended */
	const char *name;        /* "stdout" or "stderr" */
	char carry[4];           /* a UTF-8 character the last read cut in two */
	size_t ncarry;
};

struct log_pump {
	struct rotlog *log;      /* container.log, capped and rotated */
	struct log_stream out, err, tty, self;
	struct log_stream *all[LOG_PUMP_EXTRAS];
	int stdin_w;             /* -d -i: the workload's stdin, held open */
	int self_w;              /* the supervisor's own stdout/stderr */
};

static uint64_t count_records(const char *text, size_t len)
{
	uint64_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	return n;
}

/* A stderr record, once the log can be written again, saying what was lost. */
static char *loss_notice(uint64_t records, uint64_t bytes, int errnum, void *arg)
{
	_cleanup_free_ char *msg = NULL;
	char *text = NULL;
	size_t tlen = 0;
	FILE *mem;

	(void)arg;
	msg = xasprintf("nucleus: %llu log records (%llu bytes) of output were lost: cannot write the log: %s\n",
			(unsigned long long)records, (unsigned long long)bytes, strerror(errnum));
	if (!(mem = open_memstream(&text, &tlen)))
		return NULL;
	log_encode(mem, "stderr", msg, strlen(msg), realtime_ns(), true);
	fclose(mem);
	return text;
}

/* What the log lost and could not say itself (the disk is still full):
 * the state records it, and `logs` says so. */
void log_pump_lost(const struct log_pump *p, uint64_t *bytes, int *errnum)
{
	uint64_t records;

	*bytes = 0;
	*errnum = 0;
	if (!p)
		return;
	rotlog_flush_notice(p->log);
	rotlog_lost(p->log, &records, bytes, errnum);
}

static void stream_init(struct log_stream *s, struct log_pump *p, int fd, const char *name)
{
	s->pump = p;
	s->fd = fd;
	s->name = name;
	s->ncarry = 0;
}

/* Read what is there once; at the end (EOF, or EIO from a pty master
 * whose slaves are all closed) pass on what was kept and let go. Returns
 * bytes read, 0 when nothing was there, -1 when the stream ended. */
static ssize_t stream_pump(struct log_stream *s)
{
	char buf[65536 + sizeof(s->carry)];
	_cleanup_free_ char *text = NULL;
	size_t tlen = 0;
	size_t total;
	ssize_t n;
	FILE *mem;

	if (s->fd < 0)
		return -1;
	memcpy(buf, s->carry, s->ncarry);
	do
		n = read(s->fd, buf + s->ncarry, sizeof(buf) - sizeof(s->carry));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n <= 0 && !s->ncarry) {
		close(s->fd);
		s->fd = -1;
		return -1;
	}
	if (!(mem = open_memstream(&text, &tlen)))
		return 0;
	total = s->ncarry + (n > 0 ? (size_t)n : 0);
	s->ncarry = log_encode(mem, s->name, buf, total, realtime_ns(), n <= 0);
	fclose(mem);
	memcpy(s->carry, buf + total - s->ncarry, s->ncarry);
	/* one write per read: `logs -f` never sees half a burst's order. A
	 * full disk loses the output (counted, told later: in the log once
	 * there is room, else in the state at exit), never blocks the
	 * workload: the pipes are drained all the same. */
	rotlog_write(s->pump->log, text, tlen, count_records(text, tlen));
	if (n <= 0) {
		close(s->fd);
		s->fd = -1;
		return -1;
	}
	return n;
}

static void stream_ready(void *arg)
{
	stream_pump(arg);
}

/* 0, 1 and 2 exist, so the descriptors made below are none of them. */
static int stdio_present(struct nerr *err)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		if (open("/dev/null", O_RDWR) != fd)
			return nerr_set(err, errno, "open /dev/null");
	}
	return 0;
}

int log_pump_open(int dirfd, const char *name, const struct log_opts *opts, bool keep_stdin,
		  struct log_pump **out, struct nerr *err)
{
	struct rotlog_hooks hooks = { NULL, loss_notice, NULL };
	struct log_pump *p;
	int o[2] = { -1, -1 }, e[2] = { -1, -1 }, s[2] = { -1, -1 }, in[2] = { -1, -1 }, rc;

	*out = NULL;
	if ((rc = stdio_present(err)) < 0)
		return rc;
	p = xcalloc(1, sizeof(*p));
	p->stdin_w = p->self_w = -1;
	stream_init(&p->out, p, -1, "stdout");
	stream_init(&p->err, p, -1, "stderr");
	stream_init(&p->tty, p, -1, "stdout");
	stream_init(&p->self, p, -1, "stderr");
	p->all[0] = &p->out, p->all[1] = &p->err, p->all[2] = &p->tty, p->all[3] = &p->self;
	if ((rc = rotlog_open(dirfd, name, 0600, opts, &hooks, &p->log, err)) < 0) {
		nerr_prefix(err, "container log");
		goto fail;
	}
	/* the supervisor's own end never blocks: a message it cannot write
	 * while the pipe is full is lost, the supervisor is not */
	if (pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0 || pipe2(s, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    (keep_stdin ? pipe2(in, O_CLOEXEC) : (in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC))) < 0) {
		rc = nerr_set(err, errno, "create the log pipes");
		goto fail;
	}
	fcntl(o[0], F_SETFL, O_NONBLOCK);
	fcntl(e[0], F_SETFL, O_NONBLOCK);
	/* until clone, 0-2 are the workload's; log_pump_started takes 1 and 2 back */
	if (dup2(in[0], 0) < 0 || dup2(o[1], 1) < 0 || dup2(e[1], 2) < 0) {
		rc = nerr_set(err, errno, "redirect to `%s`", name);
		goto fail;
	}
	close(in[0]);
	close(o[1]);
	close(e[1]);
	p->out.fd = o[0];
	p->err.fd = e[0];
	p->self.fd = s[0];
	p->self_w = s[1];
	p->stdin_w = in[1];
	*out = p;
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (o[i] >= 0) close(o[i]);
		if (e[i] >= 0) close(e[i]);
		if (s[i] >= 0) close(s[i]);
		if (in[i] >= 0) close(in[i]);
	}
	rotlog_close(p->log);
	free(p);
	return rc;
}

int log_pump_rearm(struct log_pump *p, struct nerr *err)
{
	int o[2] = { -1, -1 }, e[2] = { -1, -1 };

	if (!p)
		return 0;
	/* what the last workload left was read by log_pump_drain */
	if (p->out.fd >= 0)
		close(p->out.fd);
	if (p->err.fd >= 0)
		close(p->err.fd);
	p->out.fd = p->err.fd = -1;
	p->self_w = dup(1);     /* the supervisor's own end, taken back by log_pump_started */
	if (p->self_w < 0 || pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0 ||
	    dup2(o[1], 1) < 0 || dup2(e[1], 2) < 0) {
		int rc = nerr_set(err, errno, "create the log pipes");

		for (int i = 0; i < 2; i++) {
			if (o[i] >= 0) close(o[i]);
			if (e[i] >= 0) close(e[i]);
		}
		log_pump_started(p);
		return rc;
	}
	close(o[1]);
	close(e[1]);
	fcntl(o[0], F_SETFL, O_NONBLOCK);
	fcntl(e[0], F_SETFL, O_NONBLOCK);
	stream_init(&p->out, p, o[0], "stdout");
	stream_init(&p->err, p, e[0], "stderr");
	return 0;
}

void log_pump_started(struct log_pump *p)
{
	if (!p)
		return;
	/* Only the workload holds the write ends now: they end with it. */
	if (p->self_w < 0)
		return;
	dup2(p->self_w, 1);
	dup2(p->self_w, 2);
	close(p->self_w);
	p->self_w = -1;
}

void log_pump_set_tty(struct log_pump *p, int master)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };

	/* no terminal to take the size from: the usual default */
	ioctl(master, TIOCSWINSZ, &ws);
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	if (p->tty.fd >= 0)
		close(p->tty.fd);
	p->tty.fd = master;
}

void log_pump_extras(struct log_pump *p, struct loop_extra x[LOG_PUMP_EXTRAS])
{
	for (size_t i = 0; i < LOG_PUMP_EXTRAS; i++) {
		struct log_stream *s = p ? p->all[i] : NULL;

		x[i] = (struct loop_extra){ s ? s->fd : -1, stream_ready, s };
	}
}

void log_pump_drain(struct log_pump *p, const struct cgroup *cg)
{
	uint64_t deadline = now_ns() + 2000000000ull;
	struct log_stream *s[3];

	if (!p)
		return;
	s[0] = &p->out, s[1] = &p->err, s[2] = &p->tty;
	/* The workload's end closes with its last process (the pid namespace
	 * dies with its init): read up to EOF. Something outside that still
	 * holds a write end must not keep the supervisor: once the cgroup is
	 * empty and nothing came for 100 ms, or after 2 s of it, stop. */
	for (;;) {
		struct pollfd pfd[ARRAY_SIZE(s)];
		struct log_stream *who[ARRAY_SIZE(s)];
		nfds_t n = 0;
		int r;

		for (size_t i = 0; i < ARRAY_SIZE(s); i++)
			if (s[i]->fd >= 0) {
				pfd[n] = (struct pollfd){ .fd = s[i]->fd, .events = POLLIN };
				who[n++] = s[i];
			}
		if (!n || now_ns() > deadline)
			break;
		r = poll(pfd, n, 100);
		if (r < 0 && errno != EINTR)
			break;
		if (r == 0 && (!cg || !cgroup_populated(cg)))
			break;
		for (nfds_t i = 0; r > 0 && i < n; i++)
			if (pfd[i].revents)
				stream_pump(who[i]);
	}
	while (stream_pump(&p->self) > 0)
		;
}

void log_pump_close(struct log_pump *p)
{
	int null;

	if (!p)
		return;
	/* the supervisor's last words, then nobody reads its stderr any more */
	while (stream_pump(&p->self) > 0)
		;
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
	for (size_t i = 0; i < LOG_PUMP_EXTRAS; i++)
		if (p->all[i]->fd >= 0)
			close(p->all[i]->fd);
	if (p->stdin_w >= 0)
		close(p->stdin_w);
	if (p->self_w >= 0)
		close(p->self_w);
	/* a loss the log does not tell yet: one more try */
	rotlog_flush_notice(p->log);
	rotlog_close(p->log);
	free(p);
}
