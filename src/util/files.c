/* Whole-file reads and writes, atomic replace, trusted opens, mkdir -p, rm -rf. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <nucleus/util.h>

ssize_t write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int read_fd(int fd, size_t max, char **out, size_t *len)
{
	_cleanup_free_ char *buf = NULL;
	size_t cap = max && max < 4096 ? max : 4096, used = 0;

	buf = xmalloc(cap + 1);
	for (;;) {
		ssize_t n;

		if (used == cap) {
			if (max && cap >= max) {
				char extra;
				/* full: one more byte means the file is too big */
				n = read(fd, &extra, 1);
				if (n < 0 && errno == EINTR)
					continue;
				if (n > 0)
					return -EFBIG;
				break;
			}
			cap = max && cap * 2 > max ? max : cap * 2;
			buf = xrealloc(buf, cap + 1);
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	if (len)
		*len = used;
	*out = steal_ptr(buf);
	return 0;
}

int read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -errno;
	return read_fd(fd, max, out, len);
}

int read_file(const char *path, size_t max, char **out, size_t *len)
{
	return read_file_at(AT_FDCWD, path, max, out, len);
}

int write_file_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode)
{
	_cleanup_close_ int fd = openat(dirfd, path,
					O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write_all(fd, buf, len);
	return n < 0 ? (int)n : 0;
}

int write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	return write_file_at(AT_FDCWD, path, buf, len, mode);
}

int write_str_at(int dirfd, const char *path, const char *s)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(s);
	ssize_t n;

	if (fd < 0)
		return -errno;
	/* cgroupfs and procfs want the value in a single write. */
	n = write(fd, s, len);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int write_str(const char *path, const char *s)
{
	return write_str_at(AT_FDCWD, path, s);
}

int write_file_atomic_at(int dirfd, const char *path, const void *buf, size_t len, mode_t mode)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	_cleanup_close_ int fd = -1;
	int r;

	/* a stale temp file of a pid that was ours once, never followed */
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	r = (int)write_all(fd, buf, len);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && renameat(dirfd, tmp, dirfd, path) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	if (dirfd != AT_FDCWD)
		fsync(dirfd);
	return 0;
}

int write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
	return write_file_atomic_at(AT_FDCWD, path, buf, len, mode);
}

/* ---- files nucleus trusts ------------------------------------------------ */

static int refuse(struct nerr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct nerr *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -EPERM;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* one line, whatever the path holds */
	for (char *p = err->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	err->code = EPERM;
	return -EPERM;
}

int trust_stat(const struct stat *st, mode_t type, const char *what, const char *path, struct nerr *err)
{
	uid_t me = geteuid();

	if (S_ISLNK(st->st_mode))
		return refuse(err, "%s `%s` is a symbolic link: refusing it", what, path);
	if (type && (st->st_mode & S_IFMT) != type)
		return refuse(err, "%s `%s` is not a %s: refusing it", what, path,
			      type == S_IFDIR ? "directory" : "regular file");
	if (st->st_uid != me)
		return refuse(err, "%s `%s` is owned by uid %u, not you (uid %u): refusing it", what, path,
			      (unsigned)st->st_uid, (unsigned)me);
	if (st->st_mode & 022)
		return refuse(err, "%s `%s` is writable by %s (mode %04o): refusing it", what, path,
			      st->st_mode & 002 ? "everyone" : "its group", (unsigned)(st->st_mode & 07777));
	return 0;
}

int trust_fd(int fd, mode_t type, const char *what, const char *path, struct nerr *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return nerr_set(err, errno, "stat %s `%s`", what, path);
	return trust_stat(&st, type, what, path, err);
}

int open_trusted_at(int dirfd, const char *name, int flags, mode_t mode, mode_t type,
		    const char *what, const char *path, struct nerr *err)
{
	int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, mode), r;

	if (fd < 0) {
		int e = errno;
		struct stat st;

		/* ELOOP for a symlink, ENOTDIR, EACCES for another's file: say why */
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && trust_stat(&st, type, what, path, NULL) < 0)
			return trust_stat(&st, type, what, path, err);
		return nerr_set(err, e, "open %s `%s`", what, path);
	}
	/* back to blocking: O_NONBLOCK only kept a planted FIFO from hanging us */
	if (!(flags & O_NONBLOCK))
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if ((r = trust_fd(fd, type, what, path, err)) < 0) {
		close(fd);
		return r;
	}
	return fd;
}

bool trust_refused(const struct nerr *err)
{
	return err && err->code == EPERM;
}

int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = xstrdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int remove_tree_at(int parent, const char *name)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	struct stat st;
	int fd, r = 0;

	if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		struct stat cst;
		int q;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		/* Never cross into another filesystem (a mount left behind). */
		if (fstatat(dirfd(d), de->d_name, &cst, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(cst.st_mode) && cst.st_dev != st.st_dev) {
			r = -EBUSY;
			continue;
		}
		q = remove_tree_at(dirfd(d), de->d_name);
		if (q < 0 && !r)
			r = q;
	}
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT && !r)
		r = -errno;
	return r;
}

int remove_tree(const char *path)
{
	return remove_tree_at(AT_FDCWD, path);
}

char *find_program(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL, *found = NULL;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
	copy = xstrdup(path && path[0] ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", dir[0] ? dir : ".", name);

		if (access(p, X_OK) == 0)
			found = p;
		else
			free(p);
	}
	free(copy);
	return found;
}

int run_capture(char *const *argv, size_t max, char **out, int *status)
{
	char *buf = xmalloc(max + 1);
	size_t used = 0;
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		free(buf);
		return -errno;
	}
	if ((pid = fork()) < 0) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		free(buf);
		return -e;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(p[1], STDOUT_FILENO) < 0 ||
		    dup2(p[1], STDERR_FILENO) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], buf + used, max - used);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		if (used == max)
			used = 0;   /* keep the end: where a failure says why */
	}
	close(p[0]);
	buf[used] = '\0';
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	*out = buf;
	return 0;
}
