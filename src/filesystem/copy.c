/* Copy of the context directory into the container's tmpfs. Nothing the
 * context holds is ever followed: a symlink to /etc/shadow is copied as a
 * symlink, and inside the container it points at the container's own /etc. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <nucleus/filesystem.h>

#define MAX_DEPTH 256

static int copy_file(int sdir, int ddir, const char *name, const struct stat *st, struct nerr *err)
{
	_cleanup_close_ int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	_cleanup_close_ int out = -1;
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	off_t left = st->st_size;

	if (in < 0)
		return nerr_set(err, errno, "open context file `%s`", name);
	out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return nerr_set(err, errno, "create `%s`", name);
	while (left > 0) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);

		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
			char buf[65536];
			ssize_t r = read(in, buf, sizeof(buf));
			if (r < 0)
				return nerr_set(err, errno, "read `%s`", name);
			if (r == 0)
				break;
			if (write_all(out, buf, (size_t)r) < 0)
				return nerr_set(err, errno, "write `%s`", name);
			n = r;
		} else if (n < 0) {
			if (errno == EINTR)
				continue;
			return nerr_set(err, errno, "copy `%s`", name);
		} else if (n == 0) {
			break;     /* the file shrank while we copied */
		}
		left -= n;
	}
	if (fchmod(out, st->st_mode & 07777) < 0)
		return nerr_set(err, errno, "chmod `%s`", name);
	futimens(out, times);
	return 0;
}

/* Where the copy is, for naming what it skips. */
struct walk {
	struct copy_skipped *skipped;
	char path[4096];           /* relative to the top, "" there */
};

static void skip(struct walk *w, const char *name, mode_t mode)
{
	struct copy_skipped *s = w->skipped;
	unsigned seen;

	log_debug("context: skipping special file `%s%s`", w->path, name);
	if (!s)
		return;
	seen = s->fifos + s->sockets + s->devices;
	if (S_ISFIFO(mode))
		s->fifos++;
	else if (S_ISSOCK(mode))
		s->sockets++;
	else
		s->devices++;
	if (seen < ARRAY_SIZE(s->example))
		snprintf(s->example[seen], sizeof(s->example[seen]), "%s%s", w->path, name);
}

static void count(char *buf, size_t len, unsigned n, const char *what)
{
	size_t used = strlen(buf);

	if (n)
		snprintf(buf + used, len - used, "%s%u %s%s", used ? ", " : "", n, what, n == 1 ? "" : "s");
}

char *copy_skipped_message(const struct copy_skipped *s)
{
	char what[128] = "";
	unsigned n = s->fifos + s->sockets + s->devices;

	if (!n)
		return NULL;
	count(what, sizeof(what), s->fifos, "fifo");
	count(what, sizeof(what), s->sockets, "socket");
	count(what, sizeof(what), s->devices, "device");
	if (n == 1)
		return xasprintf("context copy skipped %s (`%s`): only files, directories and symlinks "
				 "are copied", what, s->example[0]);
	return xasprintf("context copy skipped %s (e.g. `%s`, `%s`): only files, directories and "
			 "symlinks are copied", what, s->example[0], s->example[1]);
}

static int copy_dir(int sdir, int ddir, int depth, struct walk *w, struct nerr *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (depth > MAX_DEPTH)
		return nerr_set(err, ELOOP, "context is nested deeper than %d directories", MAX_DEPTH);
	fd = openat(sdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return nerr_set(err, errno, "open context directory");
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return nerr_set(err, errno, "read context directory");
	}
	while ((de = readdir(d))) {
		struct stat st;
		int r = 0;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(sdir, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return nerr_set(err, errno, "stat `%s`", de->d_name);
		if (S_ISREG(st.st_mode)) {
			r = copy_file(sdir, ddir, de->d_name, &st, err);
		} else if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int s2 = -1, d2 = -1;
			struct timespec times[2] = { st.st_atim, st.st_mtim };

			if (mkdirat(ddir, de->d_name, 0700) < 0)
				return nerr_set(err, errno, "mkdir `%s`", de->d_name);
			s2 = openat(sdir, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			d2 = openat(ddir, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s2 < 0 || d2 < 0)
				return nerr_set(err, errno, "open directory `%s`", de->d_name);
			size_t at = strlen(w->path);

			snprintf(w->path + at, sizeof(w->path) - at, "%s/", de->d_name);
			r = copy_dir(s2, d2, depth + 1, w, err);
			w->path[at] = '\0';
			if (r == 0) {
				fchmod(d2, st.st_mode & 07777);
				futimens(d2, times);
			}
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlinkat(sdir, de->d_name, target, sizeof(target) - 1);

			if (n < 0)
				return nerr_set(err, errno, "readlink `%s`", de->d_name);
			target[n] = '\0';
			if (symlinkat(target, ddir, de->d_name) < 0)
				return nerr_set(err, errno, "symlink `%s`", de->d_name);
		} else {
			skip(w, de->d_name, st.st_mode);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int copy_tree(int src_dirfd, int dst_dirfd, struct copy_skipped *skipped, struct nerr *err)
{
	_cleanup_close_ int s = openat(src_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ struct walk *w = xcalloc(1, sizeof(*w));
	struct stat st;
	int r;

	if (s < 0)
		return nerr_set(err, errno, "open context");
	w->skipped = skipped;
	r = copy_dir(s, dst_dirfd, 0, w, err);
	if (r == 0 && fstat(s, &st) == 0)
		fchmod(dst_dirfd, st.st_mode & 07777);
	return r;
}
