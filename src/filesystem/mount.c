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

int fs_mkdir_at(int dir, const char *rel, mode_t mode, struct nerr *err)
{
	if (mkdirat(dir, rel, mode) < 0 && errno != EEXIST)
		return nerr_set(err, errno, "mkdir `/%s`", rel);
	return 0;
}

int fs_mkparents_at(int dir, const char *rel, struct nerr *err)
{
	_cleanup_free_ char *p = xstrdup(rel);

	for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdirat(dir, p, 0755) < 0 && errno != EEXIST)
			return nerr_set(err, errno, "mkdir `/%s`", p);
		*s = '/';
	}
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
