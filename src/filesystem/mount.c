/* The mount primitives (mount.h): binds, attributes, directories beneath
 * the new root, and the switch into it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "mount.h"

/* One component beneath `dir`: openat2 with no symlink followed and
 * nothing above `dir` reachable (a component is never "." or "..", which
 * the walk refuses first). */
static int open_component(int dir, const char *name)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, dir, name, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

/* The directories of `rel` up to (excluding) its last component, made
 * one at a time, each opened before the next is made in it: a symlink
 * anywhere in the path (a rootfs someone else built may hold any) fails
 * with ELOOP instead of sending the mkdir, or the mount that follows,
 * elsewhere. Returns the fd of the last directory (`dir` duplicated when
 * `rel` has one component); *last points into `rel`. */
int fs_walk_parents_at(int dir, const char *rel, const char **last, struct nerr *err)
{
	_cleanup_free_ char *p = xstrdup(rel);
	char *c = p, *slash;
	int cur = fcntl(dir, F_DUPFD_CLOEXEC, 3);

	if (cur < 0)
		return nerr_set(err, errno, "dup");
	while ((slash = strchr(c, '/'))) {
		int next;

		*slash = '\0';
		if (!c[0] || !strcmp(c, ".") || !strcmp(c, "..")) {
			close(cur);
			return nerr_set(err, EINVAL, "mkdir `/%s`: not a plain path", rel);
		}
		if (mkdirat(cur, c, 0755) < 0 && errno != EEXIST) {
			next = -errno;
		} else {
			next = open_component(cur, c);
		}
		if (next < 0) {
			close(cur);
			return nerr_set(err, -next, "mkdir `/%s`", p);
		}
		close(cur);
		cur = next;
		*slash = '/';
		c = slash + 1;
	}
	if (!c[0] || !strcmp(c, ".") || !strcmp(c, "..")) {
		close(cur);
		return nerr_set(err, EINVAL, "mkdir `/%s`: not a plain path", rel);
	}
	*last = rel + (c - p);
	return cur;
}

int fs_mkdir_at(int dir, const char *rel, mode_t mode, struct nerr *err)
{
	const char *name;
	_cleanup_close_ int parent = fs_walk_parents_at(dir, rel, &name, err);

	if (parent < 0)
		return parent;
	if (mkdirat(parent, name, mode) < 0 && errno != EEXIST)
		return nerr_set(err, errno, "mkdir `/%s`", rel);
	return 0;
}

int fs_mkparents_at(int dir, const char *rel, struct nerr *err)
{
	const char *name;
	int parent = fs_walk_parents_at(dir, rel, &name, err);

	if (parent < 0)
		return parent;
	close(parent);
	return 0;
}

int fs_open_in_root(int root, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, root, rel[0] ? rel : ".", &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

unsigned long fs_ms_flags(unsigned attrs)
{
	return (attrs & MOUNT_ATTR_RDONLY ? MS_RDONLY : 0) | (attrs & MOUNT_ATTR_NOSUID ? MS_NOSUID : 0) |
	       (attrs & MOUNT_ATTR_NODEV ? MS_NODEV : 0) | (attrs & MOUNT_ATTR_NOEXEC ? MS_NOEXEC : 0);
}

int fs_setattr_fd(int fd, unsigned set, unsigned clr, bool recursive, const char *name, struct nerr *err)
{
	struct mount_attr attr = { .attr_set = set, .attr_clr = clr };
	char proc[32];

	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0),
		    &attr, sizeof(attr)) == 0)
		return 0;
	if (errno != ENOSYS)
		return nerr_set(err, errno, set & MOUNT_ATTR_RDONLY ? "make `%s` read-only" : "make `%s` noexec", name);
	/* Before 5.12: only the top mount can be changed, by a bind remount
	 * (which sets exactly `set`) through the fd's /proc/self/fd path. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (mount(NULL, proc, NULL, MS_REMOUNT | MS_BIND | fs_ms_flags(set), NULL) < 0)
		return nerr_set(err, errno, "remount `%s` read-only", name);
	return 0;
}

int fs_clone_at(int dir, const char *src, bool recursive, const char *name, const char *dst_name,
		struct nerr *err)
{
	int tree = open_tree(dir, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (src[0] ? 0 : AT_EMPTY_PATH) |
			     (recursive ? AT_RECURSIVE : 0));

	return tree < 0 ? nerr_set(err, errno, "bind `%s` on `%s`", name, dst_name) : tree;
}

int fs_attach(int tree, int target, unsigned attrs, bool recursive, const char *name, const char *dst_name,
	      struct nerr *err)
{
	struct mount_attr attr = { .attr_set = attrs };
	bool later = false;

	/* the attributes are set while the tree is detached: a read-only
	 * bind is never writable where the container can see it */
	if (attrs && syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0),
			     &attr, sizeof(attr)) < 0) {
		if (errno != ENOSYS)
			return nerr_set(err, errno, attrs & MOUNT_ATTR_RDONLY ? "make `%s` read-only" :
					"make `%s` noexec", dst_name);
		later = true;   /* before 5.12: on the attached mount */
	}
	if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return nerr_set(err, errno, "bind `%s` on `%s`", name, dst_name);
	return later ? fs_setattr_fd(tree, attrs, 0, recursive, dst_name, err) : 0;
}

/* "k=v,flag,..." as fsconfig calls */
static int configure(int fs, const char *options)
{
	_cleanup_free_ char *copy = xstrdup(options);
	char *save = NULL;

	for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(o, '=');
		int r;

		if (eq) {
			*eq = '\0';
			r = fsconfig(fs, FSCONFIG_SET_STRING, o, eq + 1, 0);
		} else {
			r = fsconfig(fs, FSCONFIG_SET_FLAG, o, NULL, 0);
		}
		if (r < 0)
			return -errno;
	}
	return 0;
}

int fs_mount_new(int target, const char *type, const char *source, const char *options, unsigned attrs,
		 const char *what, struct nerr *err)
{
	_cleanup_close_ int fs = fsopen(type, FSOPEN_CLOEXEC);
	int mnt, r;

	if (fs < 0)
		return nerr_set(err, errno, "%s", what);
	if (fsconfig(fs, FSCONFIG_SET_STRING, "source", source, 0) < 0)
		return nerr_set(err, errno, "%s", what);
	/* mount(2)'s MS_RDONLY makes the superblock read-only too */
	if ((attrs & MOUNT_ATTR_RDONLY) && fsconfig(fs, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0)
		return nerr_set(err, errno, "%s", what);
	if (options && (r = configure(fs, options)) < 0)
		return nerr_set(err, -r, "%s", what);
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
	    (mnt = fsmount(fs, FSMOUNT_CLOEXEC, attrs)) < 0)
		return nerr_set(err, errno, "%s", what);
	if (move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		r = nerr_set(err, errno, "%s", what);
		close(mnt);
		return r;
	}
	return mnt;
}

int fs_switch_root(const char *path, bool allow_chroot, struct nerr *err)
{
	if (chdir(path) < 0)
		return nerr_set(err, errno, "chdir `%s`", path);
	/* pivot_root(".", ".") stacks the old root on the new one; detaching
	 * it leaves no path back to the host's tree. */
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) < 0)
			return nerr_set(err, errno, "detach the old root");
		if (chdir("/") < 0)
			return nerr_set(err, errno, "chdir /");
		return 0;
	}
	if (!allow_chroot)
		return nerr_set(err, errno, "pivot_root (use --allow-chroot-fallback to accept chroot)");
	log_warn("pivot_root failed (%s); falling back to chroot as allowed", strerror(errno));
	if (chroot(".") < 0)
		return nerr_set(err, errno, "chroot");
	if (chdir("/") < 0)
		return nerr_set(err, errno, "chdir /");
	return 0;
}
