/* A hosts file shared by the containers of a compose network (--hosts-file):
 * bound read-only at each one's /etc/hosts, and rewritten in place (the
 * same inode, so every bind sees it) as containers come and go. Each
 * container's supervisor adds its own lines when it gets its address and
 * takes them out when it ends; a line says whose it is in a comment:
 *   10.42.0.2\tdb myapp-db\t# nucleus <id>
 * Untagged lines (the localhost ones, whatever the file's creator put
 * there) are kept. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include "net_internal.h"

#define TAG "\t# nucleus "
#define HOSTS_MAX (1u << 20)

int net_hosts_file_init(const char *path, struct nerr *err)
{
	_cleanup_close_ int fd = -1;
	struct stat sb;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST)
		return net_hosts_file_open(path, &fd, err);
	if (fd < 0)
		return nerr_set(err, errno, "create hosts file `%s`", path);
	/* the umask may have taken bits off: the containers' users read it */
	if (fchmod(fd, 0644) < 0 || fstat(fd, &sb) < 0 ||
	    write_all(fd, NET_HOSTS_HEADER, strlen(NET_HOSTS_HEADER)) < 0) {
		int e = errno;
		unlink(path);
		return nerr_set(err, e, "write hosts file `%s`", path);
	}
	return 0;
}

int net_hosts_file_open(const char *path, int *out, struct nerr *err)
{
	_cleanup_close_ int fd = -1;
	struct stat sb;

	*out = -1;
	if (path[0] != '/')
		return nerr_set(err, EINVAL, "--hosts-file `%s`: an absolute path", path);
	fd = open(path, O_RDWR | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return nerr_set(err, errno == ELOOP ? 0 : errno, errno == ELOOP ? "--hosts-file `%s` is a symlink" :
			"--hosts-file `%s`", path);
	if (fstat(fd, &sb) < 0)
		return nerr_set(err, errno, "--hosts-file `%s`", path);
	if (!S_ISREG(sb.st_mode))
		return nerr_set(err, 0, "--hosts-file `%s` is not a regular file", path);
	/* every container of the network trusts what it says */
	if (sb.st_uid != 0 && sb.st_uid != geteuid())
		return nerr_set(err, 0, "--hosts-file `%s` belongs to uid %u, not to root or the caller", path,
				(unsigned)sb.st_uid);
	if (sb.st_mode & 022)
		return nerr_set(err, 0, "--hosts-file `%s` is writable by others (mode %03o)", path,
				(unsigned)(sb.st_mode & 0777));
	if (sb.st_size > HOSTS_MAX)
		return nerr_set(err, 0, "--hosts-file `%s` is larger than 1 MiB", path);
	*out = steal_fd(fd);
	return 0;
}

/* The line's owner (after TAG), NULL when untagged. */
static const char *line_owner(const char *line, size_t len, size_t *olen)
{
	const char *t = memmem(line, len, TAG, strlen(TAG));

	if (!t)
		return NULL;
	t += strlen(TAG);
	*olen = len - (size_t)(t - line);
	return t;
}

/* The fields of a hosts line (address, names), up to a comment. */
static char **line_fields(const char *line, size_t len)
{
	_cleanup_free_ char *copy = xmalloc(len + 1);
	char **v = xcalloc(1, sizeof(char *));
	char *save = NULL, *hash;

	memcpy(copy, line, len);
	copy[len] = '\0';

	if ((hash = strchr(copy, '#')))
		*hash = '\0';
	for (char *f = strtok_r(copy, " \t\r", &save); f; f = strtok_r(NULL, " \t\r", &save))
		strv_push(&v, f);
	return v;
}

/* Another container's line that one of ours supersedes: the same address
 * (that container is gone: its lease is ours now) or a name of ours (its
 * service was made again, e.g. after a killed `compose up`). */
static bool superseded(char *const *fields, char *const *self)
{
	if (!fields[0])
		return false;
	for (size_t i = 0; self && self[i]; i++) {
		_cleanup_strv_ char **mine = line_fields(self[i], strlen(self[i]));

		if (!mine[0])
			continue;
		if (!strcmp(mine[0], fields[0]))
			return true;
		for (size_t a = 1; mine[a]; a++)
			for (size_t b = 1; fields[b]; b++)
				if (!strcmp(mine[a], fields[b]))
					return true;
	}
	return false;
}

static void append(char **t, size_t *len, const char *s, size_t n)
{
	*t = xrealloc(*t, *len + n + 1);
	memcpy(*t + *len, s, n);
	*len += n;
	(*t)[*len] = '\0';
}

char *net_hosts_render(const char *old, const char *owner, char *const *self, char *const *extra)
{
	char *t = xstrdup("");
	size_t len = 0;
	bool localhost = false;
	_cleanup_free_ char *kept = xstrdup("");
	size_t klen = 0;

	for (const char *p = old ? old : ""; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p), olen = 0;
		const char *o = line_owner(p, n, &olen);
		_cleanup_strv_ char **fields = line_fields(p, n);

		if (!fields[0]) {
			/* blank (the padding of a shorter rewrite) or a comment */
			if (n && p[strspn(p, " \t")] == '#')
				append(&kept, &klen, p, n), append(&kept, &klen, "\n", 1);
		} else if (o && olen == strlen(owner) && !memcmp(o, owner, olen)) {
			/* ours: replaced below */
		} else if (o && superseded(fields, self)) {
			/* dropped */
		} else {
			localhost |= strv_contains(fields + 1, "localhost");
			append(&kept, &klen, p, n);
			append(&kept, &klen, "\n", 1);
		}
		p += n + (nl != NULL);
	}
	if (!localhost)
		append(&t, &len, NET_HOSTS_HEADER, strlen(NET_HOSTS_HEADER));
	append(&t, &len, kept, klen);
	for (int pass = 0; pass < 2; pass++)
		for (char *const *v = pass ? extra : self; v && *v; v++) {
			_cleanup_free_ char *line = xasprintf("%s" TAG "%s\n", *v, owner);
			append(&t, &len, line, strlen(line));
		}
	return t;
}

int net_hosts_file_update(int fd, const char *owner, char *const *self, char *const *extra, struct nerr *err)
{
	_cleanup_free_ char *old = NULL, *now = NULL, *buf = NULL;
	struct stat sb;
	size_t n, size;
	ssize_t got;
	int r;

	if (!owner[0] || strchr(owner, '\n'))
		return nerr_set(err, EINVAL, "hosts file: bad owner");
	while ((r = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return nerr_set(err, errno, "lock the hosts file");
	if (fstat(fd, &sb) < 0) {
		r = nerr_set(err, errno, "hosts file");
		goto out;
	}
	size = (size_t)sb.st_size;
	if (size > HOSTS_MAX) {
		r = nerr_set(err, EFBIG, "the hosts file is larger than 1 MiB");
		goto out;
	}
	old = xmalloc(size + 1);
	got = pread(fd, old, size, 0);
	if (got < 0) {
		r = nerr_set(err, errno, "read the hosts file");
		goto out;
	}
	old[got] = '\0';
	now = net_hosts_render(old, owner, self, extra);
	n = strlen(now);
	/* in place, for the binds: one write of the new text, padded with
	 * newlines to the old length so that a reader between this write and
	 * the truncation sees blank lines, never the tail of an old line */
	buf = xmalloc(n > (size_t)got ? n : (size_t)got);
	memcpy(buf, now, n);
	if ((size_t)got > n)
		memset(buf + n, '\n', (size_t)got - n);
	if (pwrite(fd, buf, n > (size_t)got ? n : (size_t)got, 0) < 0 || ftruncate(fd, (off_t)n) < 0) {
		r = nerr_set(err, errno, "rewrite the hosts file");
		goto out;
	}
	r = 0;
out:
	flock(fd, LOCK_UN);
	return r;
}
