/* Rotated logs: capped, rotated as docker's json-file driver does, written
 * without blocking on a full disk, read back across the rotations. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <nucleus/rotlog.h>

int log_opt_parse(struct log_opts *o, const char *arg, const char *flag, struct nerr *err)
{
	const char *eq = strchr(arg, '=');
	size_t klen = eq ? (size_t)(eq - arg) : 0;
	uint64_t v;

	if (!eq || !klen)
		return nerr_set(err, 0, "invalid %s `%s`: expected max-size=SIZE or max-file=N", flag, arg);
	if (klen == 8 && !strncmp(arg, "max-size", klen)) {
		if (parse_size(eq + 1, &v) < 0 || v == 0)
			return nerr_set(err, 0, "invalid %s `%s`: expected a size above 0 such as 10m or 512k",
					flag, arg);
		o->max_size = v;
	} else if (klen == 8 && !strncmp(arg, "max-file", klen)) {
		if (parse_u64(eq + 1, 1, LOG_MAX_FILES_LIMIT, &v) < 0)
			return nerr_set(err, 0, "invalid %s `%s`: expected a number of files from 1 to %d",
					flag, arg, LOG_MAX_FILES_LIMIT);
		o->max_files = (unsigned)v;
	} else {
		return nerr_set(err, 0, "unknown %s `%.*s` (max-size or max-file)", flag, (int)klen, arg);
	}
	return 0;
}

/* What nucleus trusts is the caller's, and nobody else can change it. */
static int check_owned(int fd, bool dir, const char *what, struct nerr *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return nerr_set(err, errno, "stat `%s`", what);
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return nerr_set(err, EPERM, "`%s` is not a %s: refusing it", what, dir ? "directory" : "regular file");
	if (st.st_uid != geteuid())
		return nerr_set(err, EPERM, "`%s` belongs to uid %u, not to uid %u: refusing it", what,
				(unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 022)
		return nerr_set(err, EPERM, "`%s` is writable by others (mode %04o): refusing it", what,
				(unsigned)(st.st_mode & 07777));
	return 0;
}

static int open_failed(struct nerr *err, const char *what)
{
	if (errno == ELOOP)
		return nerr_set(err, EPERM, "`%s` is a symbolic link: refusing it", what);
	return nerr_set(err, errno, "open `%s`", what);
}

int dir_open_owned(int dirfd, const char *name, bool create, mode_t mode, struct nerr *err)
{
	int fd, r;

	if (create && mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
		return nerr_set(err, errno, "create `%s`", name);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOTDIR) {
		struct stat st;

		/* O_DIRECTORY|O_NOFOLLOW says ENOTDIR for a symlink too */
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			return nerr_set(err, EPERM, "`%s` is a symbolic link: refusing it", name);
		return nerr_set(err, EPERM, "`%s` is not a directory: refusing it", name);
	}
	if (fd < 0)
		return open_failed(err, name);
	if ((r = check_owned(fd, true, name, err)) < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int rotlog_open_read(int dirfd, const char *path, struct nerr *err)
{
	int fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int r;

	if (fd < 0)
		return open_failed(err, path);
	if ((r = check_owned(fd, false, path, err)) < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* ---- writing ------------------------------------------------------------------ */

struct rotlog {
	int dirfd;
	char *name;
	mode_t mode;
	struct log_opts o;
	struct rotlog_hooks h;
	int fd;
	uint64_t lost_records, lost_bytes;
	int lost_errno;
};

static int open_current(struct rotlog *l, struct nerr *err)
{
	int fd = openat(l->dirfd, l->name, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
			l->mode);
	int r;

	if (fd < 0)
		return open_failed(err, l->name);
	if ((r = check_owned(fd, false, l->name, err)) < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int rotlog_open(int dirfd, const char *name, mode_t mode, const struct log_opts *o,
		const struct rotlog_hooks *h, struct rotlog **out, struct nerr *err)
{
	struct rotlog *l = xcalloc(1, sizeof(*l));

	*out = NULL;
	l->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (l->dirfd < 0) {
		int r = nerr_set(err, errno, "dup");
		free(l);
		return r;
	}
	l->name = xstrdup(name);
	l->mode = mode;
	l->o = *o;
	if (!l->o.max_files)
		l->o.max_files = 1;
	if (h)
		l->h = *h;
	l->fd = open_current(l, err);
	if (l->fd < 0) {
		int r = l->fd;

		l->fd = -1;
		rotlog_close(l);
		return r;
	}
	*out = l;
	return 0;
}

/* Another writer rotated the log (or removed the file): write to the new one. */
static void follow(struct rotlog *l)
{
	struct stat a, b;
	int fd;

	if (fstat(l->fd, &a) == 0 && fstatat(l->dirfd, l->name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
		return;
	if ((fd = open_current(l, NULL)) >= 0) {
		close(l->fd);
		l->fd = fd;
	}
}

static void rotated_name(const struct rotlog *l, unsigned i, char *buf, size_t len)
{
	if (i)
		snprintf(buf, len, "%s.%u", l->name, i);
	else
		snprintf(buf, len, "%s", l->name);
}

/* NAME -> NAME.1 -> ... -> NAME.<max-1>, dropping the oldest; max-file 1
 * starts the file over. Under the file's lock, so that two writers never
 * rotate one file twice. */
static void rotate(struct rotlog *l)
{
	_cleanup_free_ char *hdr = NULL;
	struct stat a, b;
	char from[512], to[512];
	int fd;

	if (flock(l->fd, LOCK_EX | LOCK_NB) < 0)
		return;        /* another writer is rotating it right now */
	if (fstat(l->fd, &a) < 0 || fstatat(l->dirfd, l->name, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
	    a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		flock(l->fd, LOCK_UN);
		follow(l);     /* it was rotated meanwhile */
		return;
	}
	if (l->h.header)
		hdr = l->h.header(l->fd, l->h.arg);
	for (unsigned i = l->o.max_files - 1; i >= 1; i--) {
		rotated_name(l, i - 1, from, sizeof(from));
		rotated_name(l, i, to, sizeof(to));
		if (renameat(l->dirfd, from, l->dirfd, to) < 0 && errno != ENOENT && i == 1) {
			flock(l->fd, LOCK_UN);
			return;    /* keep writing where we are */
		}
	}
	if (l->o.max_files == 1 && unlinkat(l->dirfd, l->name, 0) < 0) {
		flock(l->fd, LOCK_UN);
		return;
	}
	fd = open_current(l, NULL);
	flock(l->fd, LOCK_UN);
	if (fd < 0)
		return;        /* the next write follows, or tries again */
	if (hdr)
		(void)write_all(fd, hdr, strlen(hdr));
	close(l->fd);
	l->fd = fd;
}

int rotlog_write(struct rotlog *l, const char *buf, size_t len, uint64_t records)
{
	_cleanup_free_ char *notice = NULL, *joined = NULL;
	const char *out = buf;
	size_t n = len, done = 0;
	struct stat st;
	off_t before;

	if (!l)
		return -EBADF;
	if (l->lost_records && l->h.notice &&
	    (notice = l->h.notice(l->lost_records, l->lost_bytes, l->lost_errno, l->h.arg))) {
		size_t nl = strlen(notice);

		joined = xmalloc(nl + len);
		memcpy(joined, notice, nl);
		memcpy(joined + nl, buf, len);
		out = joined;
		n = nl + len;
	}
	follow(l);
	if (fstat(l->fd, &st) < 0)
		st.st_size = 0;
	if (l->o.max_size && st.st_size > 0 && (uint64_t)st.st_size + n > l->o.max_size) {
		rotate(l);
		if (fstat(l->fd, &st) < 0)
			st.st_size = 0;
	}
	before = st.st_size;
	while (done < n) {
		ssize_t w = write(l->fd, out + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;

			/* never half a record: take back what went in, when nobody
			 * else wrote after it */
			if (done && fstat(l->fd, &st) == 0 && st.st_size == before + (off_t)done)
				(void)!ftruncate(l->fd, before);
			l->lost_records += records;
			l->lost_bytes += len;
			l->lost_errno = e;
			return -e;
		}
		done += (size_t)w;
	}
	l->lost_records = l->lost_bytes = 0;
	l->lost_errno = 0;
	return 0;
}

void rotlog_lost(const struct rotlog *l, uint64_t *records, uint64_t *bytes, int *errnum)
{
	*records = l ? l->lost_records : 0;
	*bytes = l ? l->lost_bytes : 0;
	if (errnum)
		*errnum = l ? l->lost_errno : 0;
}

void rotlog_flush_notice(struct rotlog *l)
{
	if (l && l->lost_records && l->h.notice)
		rotlog_write(l, "", 0, 0);
}

void rotlog_close(struct rotlog *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	if (l->dirfd >= 0)
		close(l->dirfd);
	free(l->name);
	free(l);
}

/* ---- reading ------------------------------------------------------------------ */

struct rfile {
	int fd;                  /* -1 once read to the end and left */
	dev_t dev;
	ino_t ino;
	unsigned no;
};

struct rotlog_reader {
	char *path;
	struct rfile *f;
	size_t n, cur;
	unsigned next_no;
	char *partial;
	size_t plen;
};

/* Already open: the same file found twice while the log rotated. (Only
 * open ones: the inode of a file let go may be a new file's now.) */
static bool known(const struct rotlog_reader *r, const struct stat *st)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->f[i].fd >= 0 && r->f[i].ino == st->st_ino && r->f[i].dev == st->st_dev)
			return true;
	return false;
}

/* Open a file of the log and add it as the newest; 0, or <0 when it is
 * not there (or is already known). */
static int add_file(struct rotlog_reader *r, const char *path, struct nerr *err)
{
	struct stat st;
	int fd = rotlog_open_read(AT_FDCWD, path, err);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || known(r, &st)) {
		close(fd);
		return -EEXIST;
	}
	r->f = xrealloc(r->f, (r->n + 1) * sizeof(*r->f));
	r->f[r->n++] = (struct rfile){ fd, st.st_dev, st.st_ino, r->next_no++ };
	return 0;
}

/* The files there are now, oldest first, with the newest one's path last. */
static char **list_files(const char *path)
{
	char **v = NULL;
	unsigned k;

	for (k = 1; k <= LOG_MAX_FILES_LIMIT; k++) {
		_cleanup_free_ char *p = xasprintf("%s.%u", path, k);

		if (access(p, F_OK) < 0)
			break;
	}
	while (--k >= 1)
		strv_push_take(&v, xasprintf("%s.%u", path, k));
	strv_push(&v, path);
	return v;
}

int rotlog_reader_open(const char *path, struct rotlog_reader **out, struct nerr *err)
{
	struct rotlog_reader *r = xcalloc(1, sizeof(*r));
	_cleanup_strv_ char **files = list_files(path);
	int rc;

	r->path = xstrdup(path);
	for (size_t i = 0; files[i]; i++) {
		struct nerr e = { 0 };

		rc = add_file(r, files[i], &e);
		/* rotated away meanwhile, or the newest not there yet: skip it;
		 * a file that is not the caller's stops everything */
		if (rc == -EPERM || (rc < 0 && rc != -ENOENT && rc != -EEXIST)) {
			if (err)
				*err = e;
			rotlog_reader_close(r);
			return rc;
		}
	}
	if (!r->n) {
		rotlog_reader_close(r);
		return nerr_set(err, ENOENT, "open `%s`", path);
	}
	*out = r;
	return 0;
}

/* Offset where the last n lines of the file begin; *found: how many lines
 * that is (fewer when the file has fewer). */
static off_t last_lines(int fd, uint64_t n, uint64_t *found)
{
	char buf[8192];
	off_t end = lseek(fd, 0, SEEK_END), pos = end;

	*found = 0;
	if (end <= 0 || n == 0)
		return end < 0 ? 0 : end;
	while (pos > 0) {
		size_t chunk = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
		ssize_t got;

		pos -= (off_t)chunk;
		got = pread(fd, buf, chunk, pos);
		if (got <= 0)
			break;
		for (ssize_t i = got - 1; i >= 0; i--) {
			/* the newline ending the file does not start a line */
			if (buf[i] == '\n' && pos + i != end - 1 && ++*found == n)
				return pos + i + 1;
		}
	}
	++*found;                /* the first line */
	return 0;
}

void rotlog_reader_tail(struct rotlog_reader *r, uint64_t n)
{
	uint64_t want = n;

	for (size_t i = r->n; i-- > 0;) {
		uint64_t found;
		off_t off = last_lines(r->f[i].fd, want, &found);

		if (found >= want || i == 0) {
			lseek(r->f[i].fd, found >= want ? off : 0, SEEK_SET);
			for (size_t j = 0; j < i; j++) {
				close(r->f[j].fd);
				r->f[j].fd = -1;
			}
			for (size_t j = i + 1; j < r->n; j++)
				lseek(r->f[j].fd, 0, SEEK_SET);
			r->cur = i;
			return;
		}
		want -= found;
	}
}

static void emit_lines(struct rotlog_reader *r, unsigned no, rotlog_line_fn fn, void *arg)
{
	size_t start = 0;

	for (size_t i = 0; i < r->plen; i++) {
		if (r->partial[i] == '\n') {
			fn(r->partial + start, i - start, no, arg);
			start = i + 1;
		}
	}
	memmove(r->partial, r->partial + start, r->plen - start);
	r->plen -= start;
}

static void drain(struct rotlog_reader *r, struct rfile *f, rotlog_line_fn fn, void *arg)
{
	char buf[65536];
	ssize_t got;

	while ((got = read(f->fd, buf, sizeof(buf))) > 0) {
		r->partial = xrealloc(r->partial, r->plen + (size_t)got);
		memcpy(r->partial + r->plen, buf, (size_t)got);
		r->plen += (size_t)got;
		emit_lines(r, f->no, fn, arg);
	}
}

/* The log rotated since the newest file was opened: add the files newer
 * than the one being read. True when there is something new to read. */
static bool refresh(struct rotlog_reader *r)
{
	_cleanup_strv_ char **files = NULL;
	struct rfile *last = &r->f[r->n - 1];
	size_t from = 0, before = r->n;
	struct stat st;

	if (stat(r->path, &st) < 0 || (st.st_ino == last->ino && st.st_dev == last->dev))
		return false;
	files = list_files(r->path);
	/* the ones after the file being read (all, when it was rotated away) */
	for (size_t i = 0; files[i]; i++)
		if (stat(files[i], &st) == 0 && st.st_ino == last->ino && st.st_dev == last->dev)
			from = i + 1;
	for (size_t i = from; files[i]; i++)
		(void)add_file(r, files[i], NULL);
	return r->n > before;
}

void rotlog_reader_read(struct rotlog_reader *r, rotlog_line_fn fn, void *arg)
{
	for (;;) {
		struct rfile *f = &r->f[r->cur];

		drain(r, f, fn, arg);
		if (r->cur + 1 >= r->n && !refresh(r))
			return;
		/* that file is complete: what it left without a newline is a
		 * line of its own */
		f = &r->f[r->cur];
		if (r->plen) {
			fn(r->partial, r->plen, f->no, arg);
			r->plen = 0;
		}
		close(f->fd);
		f->fd = -1;
		r->cur++;
	}
}

void rotlog_reader_close(struct rotlog_reader *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		if (r->f[i].fd >= 0)
			close(r->f[i].fd);
	free(r->f);
	free(r->partial);
	free(r->path);
	free(r);
}
