/* --volume and --tmpfs: their syntax, the checks of their mount points,
 * and the supervisor's half of a volume (its source opened, chowned for
 * :U, cloned). The planner (root.c) makes ops of them; a compose file's
 * named volumes are the same structures (a persistent one a host path, an
 * ephemeral one a tmpfs with a size). docs/volumes.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <nucleus/filesystem.h>

/* Where nothing may be mounted: the kernel's interfaces nucleus builds. */
static const char *const forbidden[] = { "/proc", "/dev", "/sys", FS_ROOTFS_TREE };

int fs_dest_normalise(const char *dest, const char *what, char **out, struct nerr *err)
{
	_cleanup_free_ char *copy = xstrdup(dest);
	_cleanup_free_ char *norm = xmalloc(strlen(dest) + 2);
	char *save = NULL;
	size_t n = 0;

	*out = NULL;
	if (dest[0] != '/')
		return nerr_set(err, 0, "%s destination `%s` is not an absolute path", what, dest);
	for (const char *p = dest; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '\\' || *p == ',' || *p == ':' || *p == 0x7f)
			return nerr_set(err, 0, "%s destination `%s` has a blank, control, `\\`, `,` or `:` character",
					what, dest);
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "..") || !strcmp(c, "."))
			return nerr_set(err, 0, "%s destination `%s` has a `%s` component (not resolved: give the path)",
					what, dest, c);
		n += (size_t)sprintf(norm + n, "/%s", c);
	}
	norm[n] = '\0';
	if (!n)
		return nerr_set(err, 0, "%s destination cannot be `/`", what);
	if (n >= 4096)
		return nerr_set(err, 0, "%s destination is too long", what);
	for (size_t i = 0; i < ARRAY_SIZE(forbidden); i++) {
		size_t l = strlen(forbidden[i]);

		if (!strncmp(norm, forbidden[i], l) && (norm[l] == '\0' || norm[l] == '/'))
			return nerr_set(err, 0, "%s destination `%s` is under %s, which nucleus builds",
					what, dest, forbidden[i]);
	}
	*out = steal_ptr(norm);
	return 0;
}

/* The next comma-separated option of `*p` (NUL-terminated in place). */
static char *next_opt(char **p)
{
	char *o = *p, *c;

	if (!o)
		return NULL;
	if ((c = strchr(o, ',')))
		*c++ = '\0';
	*p = c;
	return o;
}

int fs_volume_parse(const char *arg, struct fs_volume *out, struct nerr *err)
{
	_cleanup_free_ char *copy = xstrdup(arg);
	char *dest, *opts, *o;
	bool ro = false, rw = false, exec = false, noexec = false;
	int r;

	*out = (struct fs_volume){ 0 };
	if (!(dest = strchr(copy, ':')))
		return nerr_set(err, 0, "--volume `%s`: expected SRC:DEST[:OPTIONS]", arg);
	*dest++ = '\0';
	if ((opts = strchr(dest, ':')))
		*opts++ = '\0';
	if (copy[0] != '/')
		return nerr_set(err, 0, "--volume `%s`: the source `%s` is not an absolute path "
				"(named volumes are not supported)", arg, copy);
	while ((o = next_opt(&opts))) {
		if (!o[0])
			return nerr_set(err, 0, "--volume `%s`: an empty option", arg);
		else if (!strcmp(o, "ro"))
			ro = true;
		else if (!strcmp(o, "rw"))
			rw = true;
		else if (!strcmp(o, "exec"))
			exec = true;
		else if (!strcmp(o, "noexec"))
			noexec = true;
		else if (!strcmp(o, "U"))
			out->chown = true;
		else
			return nerr_set(err, 0, "--volume `%s`: unknown option `%s` (ro, rw, exec, noexec, U)", arg, o);
	}
	if (ro && rw)
		return nerr_set(err, 0, "--volume `%s`: ro and rw contradict each other", arg);
	if (exec && noexec)
		return nerr_set(err, 0, "--volume `%s`: exec and noexec contradict each other", arg);
	if ((r = fs_dest_normalise(dest, "--volume", &out->dest, err)) < 0)
		return r;
	out->src = xstrdup(copy);
	out->access = ro ? FS_VOLUME_RO : rw ? FS_VOLUME_RW : FS_VOLUME_DEFAULT;
	out->exec = exec;
	return 0;
}

int fs_tmpfs_parse(const char *arg, struct fs_tmpfs *out, struct nerr *err)
{
	_cleanup_free_ char *copy = xstrdup(arg);
	char *opts = strchr(copy, ':'), *o;
	bool exec = false, noexec = false;
	uint64_t v;
	int r;

	*out = (struct fs_tmpfs){ .mode = 01777 };
	if (opts)
		*opts++ = '\0';
	while ((o = next_opt(&opts))) {
		if (!o[0]) {
			return nerr_set(err, 0, "--tmpfs `%s`: an empty option", arg);
		} else if (str_has_prefix(o, "size=")) {
			if (parse_size(o + 5, &v) < 0 || v < 4096)
				return nerr_set(err, 0, "--tmpfs `%s`: invalid size `%s` (at least 4k, such as 64m)",
						arg, o + 5);
			out->size = v;
		} else if (str_has_prefix(o, "mode=")) {
			char *end;

			errno = 0;
			v = strtoull(o + 5, &end, 8);
			if (!o[5] || *end || errno || v > 07777)
				return nerr_set(err, 0, "--tmpfs `%s`: invalid mode `%s` (octal, such as 1777)", arg, o + 5);
			out->mode = (unsigned)v;
		} else if (!strcmp(o, "exec")) {
			exec = true;
		} else if (!strcmp(o, "noexec")) {
			noexec = true;
		} else {
			return nerr_set(err, 0, "--tmpfs `%s`: unknown option `%s` (size=, mode=, exec, noexec)", arg, o);
		}
	}
	if (exec && noexec)
		return nerr_set(err, 0, "--tmpfs `%s`: exec and noexec contradict each other", arg);
	if ((r = fs_dest_normalise(copy, "--tmpfs", &out->dest, err)) < 0)
		return r;
	out->exec = exec;
	return 0;
}

void fs_volume_free(struct fs_volume *v)
{
	free(v->src);
	free(v->dest);
	*v = (struct fs_volume){ 0 };
}

void fs_tmpfs_free(struct fs_tmpfs *t)
{
	free(t->dest);
	*t = (struct fs_tmpfs){ 0 };
}

int fs_mounts_check(struct fs_config *f, uint64_t memory_max, struct nerr *err)
{
	_cleanup_strv_ char **seen = NULL;
	int r;

	for (size_t i = 0; i < f->n_volumes; i++) {
		/* the JSON form is read by the same rules as the flags */
		_cleanup_free_ char *d = NULL;

		if (!f->volumes[i].src || f->volumes[i].src[0] != '/')
			return nerr_set(err, 0, "--volume source `%s` is not an absolute path",
					f->volumes[i].src ? f->volumes[i].src : "");
		if ((r = fs_dest_normalise(f->volumes[i].dest, "--volume", &d, err)) < 0)
			return r;
		if (strcmp(d, f->volumes[i].dest))
			return nerr_set(err, 0, "--volume destination `%s` is not normalised", f->volumes[i].dest);
		if (strv_contains(seen, d))
			return nerr_set(err, 0, "`%s` is the destination of two volumes or tmpfs mounts", d);
		strv_push(&seen, d);
	}
	for (size_t i = 0; i < f->n_tmpfs; i++) {
		struct fs_tmpfs *t = &f->tmpfs[i];
		_cleanup_free_ char *d = NULL;

		if ((r = fs_dest_normalise(t->dest, "--tmpfs", &d, err)) < 0)
			return r;
		if (strcmp(d, t->dest))
			return nerr_set(err, 0, "--tmpfs destination `%s` is not normalised", t->dest);
		if (strv_contains(seen, d))
			return nerr_set(err, 0, "`%s` is the destination of two volumes or tmpfs mounts", d);
		strv_push(&seen, d);
		if (t->mode > 07777)
			return nerr_set(err, 0, "--tmpfs `%s`: invalid mode %o", t->dest, t->mode);
		if (t->size && memory_max && t->size > memory_max) {
			char s[32], m[32];

			format_size(t->size, s, sizeof(s));
			format_size(memory_max, m, sizeof(m));
			return nerr_set(err, 0, "--tmpfs `%s` size %s is more than --memory %s (tmpfs pages are memory)",
					t->dest, s, m);
		}
		/* every tmpfs has a size: unbounded, one would be half the
		 * host's memory */
		if (!t->size)
			t->size = memory_max && memory_max < FS_TMPFS_SIZE_DEFAULT ? memory_max : FS_TMPFS_SIZE_DEFAULT;
	}
	return 0;
}

unsigned fs_volume_attrs(const struct fs_volume *v)
{
	return MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (v->access == FS_VOLUME_RW ? 0 : MOUNT_ATTR_RDONLY) |
	       (v->exec ? 0 : MOUNT_ATTR_NOEXEC);
}

/* :U, below the top: every entry of `dir` chowned, symlinks themselves
 * (never followed), directories descended on the same filesystem only. */
static int chown_tree(int dir, dev_t dev, uid_t uid, gid_t gid, unsigned depth, const char *src, struct nerr *err)
{
	int fd = fcntl(dir, F_DUPFD_CLOEXEC, 3);
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (depth > 256)
		return nerr_set(err, ELOOP, "--volume `%s`: :U: the tree is too deep", src);
	if (fd < 0 || !(d = fdopendir(fd))) {
		r = nerr_set(err, errno, "--volume `%s`: :U: read a directory", src);
		if (fd >= 0)
			close(fd);
		return r;
	}
	while (r == 0 && (errno = 0, de = readdir(d))) {
		struct stat sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dir, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			r = nerr_set(err, errno, "--volume `%s`: :U: stat `%s`", src, de->d_name);
			break;
		}
		if (sb.st_dev != dev)
			continue;    /* another filesystem mounted below: not ours to change */
		if (fchownat(dir, de->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
			r = nerr_set(err, errno, "--volume `%s`: :U: chown `%s`", src, de->d_name);
			break;
		}
		if (S_ISDIR(sb.st_mode)) {
			_cleanup_close_ int sub = openat(dir, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			r = sub < 0 ? nerr_set(err, errno, "--volume `%s`: :U: open `%s`", src, de->d_name)
				    : chown_tree(sub, dev, uid, gid, depth + 1, src, err);
		}
	}
	if (r == 0 && errno)
		r = nerr_set(err, errno, "--volume `%s`: :U: read a directory", src);
	closedir(d);
	return r;
}

static int volume_chown(int fd, const struct fs_volume *v, uid_t uid, gid_t gid, struct nerr *err)
{
	/* a typo away from handing the host to the workload: refused by
	 * inode (`//`, `/usr/.` or a bind elsewhere are the same) */
	static const char *const system[] = {
		"/", "/bin", "/sbin", "/usr", "/lib", "/lib64", "/etc", "/var", "/home", "/root", "/boot", "/nix",
		"/nix/store", "/opt", "/srv", "/run", "/tmp",
	};
	struct stat sb, sys;

	if (fstat(fd, &sb) < 0)
		return nerr_set(err, errno, "--volume `%s`", v->src);
	for (size_t i = 0; i < ARRAY_SIZE(system); i++)
		if (stat(system[i], &sys) == 0 && sb.st_dev == sys.st_dev && sb.st_ino == sys.st_ino)
			return nerr_set(err, 0, "--volume `%s`: :U refused on the host's %s", v->src, system[i]);
	if (sb.st_uid != 0 && sb.st_uid != getuid() && sb.st_uid != uid)
		return nerr_set(err, 0, "--volume `%s`: :U refused: the source is owned by uid %u (root, the caller "
				"or the workload's only)", v->src, (unsigned)sb.st_uid);
	/* an O_PATH fd cannot be fchown()ed: through /proc/self/fd, the
	 * very inode that was opened */
	_cleanup_free_ char *self = xasprintf("/proc/self/fd/%d", fd);
	if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return nerr_set(err, errno, "--volume `%s`: :U: chown", v->src);
	if (S_ISDIR(sb.st_mode)) {
		_cleanup_close_ int dir = open(self, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dir < 0)
			return nerr_set(err, errno, "--volume `%s`: :U: open", v->src);
		return chown_tree(dir, sb.st_dev, uid, gid, 0, v->src, err);
	}
	return 0;
}

int fs_volume_open(const struct fs_volume *v, bool clone, uid_t uid, gid_t gid, int *out, struct nerr *err)
{
	_cleanup_close_ int fd = open(v->src, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat sb;
	int r;

	*out = -1;
	if (fd < 0)
		return nerr_set(err, errno, "--volume source `%s`", v->src);
	if (fstat(fd, &sb) < 0)
		return nerr_set(err, errno, "--volume source `%s`", v->src);
	if (S_ISLNK(sb.st_mode))
		return nerr_set(err, 0, "--volume source `%s` is a symlink (not followed: give the path it points to)",
				v->src);
	if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode))
		return nerr_set(err, 0, "--volume source `%s` is not a directory or a regular file", v->src);
	if (v->chown) {
		if (!clone)
			return nerr_set(err, 0, "--volume `%s`: :U needs root", v->src);
		if ((r = volume_chown(fd, v, uid, gid, err)) < 0)
			return r;
	}
	if (!clone) {
		*out = steal_fd(fd);
		return 0;
	}
	/* private: nothing the host later mounts below SRC appears in the
	 * container, and nothing propagates back */
	struct mount_attr attr = { .attr_set = fs_volume_attrs(v), .propagation = MS_PRIVATE };
	int tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);

	if (tree < 0)
		return nerr_set(err, errno, "--volume `%s`: clone", v->src);
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
		r = nerr_set(err, errno, "--volume `%s`: set nosuid, nodev%s%s", v->src,
			     v->access == FS_VOLUME_RW ? "" : ", read-only", v->exec ? "" : ", noexec");
		close(tree);
		return r;
	}
	*out = tree;
	return 0;
}

int fs_file_clone_ro(int fd, int *out, struct nerr *err)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					       MOUNT_ATTR_NOEXEC,
				   .propagation = MS_PRIVATE };
	int tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);

	*out = -1;
	if (tree < 0)
		return nerr_set(err, errno, "clone");
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
		int e = errno;
		close(tree);
		return nerr_set(err, e, "set read-only, nosuid, nodev, noexec");
	}
	*out = tree;
	return 0;
}
