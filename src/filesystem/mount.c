/* The mount primitives (mount.h): binds, attributes, directories beneath
 * the new root, and the switch into it. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
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

int fs_mount_setattr(const char *path, unsigned attrs, bool recursive, struct nerr *err)
{
	struct mount_attr attr = { .attr_set = attrs };

	if (syscall(SYS_mount_setattr, AT_FDCWD, path, recursive ? AT_RECURSIVE : 0,
		    &attr, sizeof(attr)) == 0)
		return 0;
	if (errno != ENOSYS)
		return nerr_set(err, errno, attrs & MOUNT_ATTR_RDONLY ? "make `%s` read-only" : "make `%s` noexec",
				path);
	/* Before 5.12: only the top mount can be changed this way. */
	if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | fs_ms_flags(attrs), NULL) < 0)
		return nerr_set(err, errno, "remount `%s` read-only", path);
	return 0;
}

int fs_make_readonly(const char *path, bool recursive, struct nerr *err)
{
	return fs_mount_setattr(path, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, recursive, err);
}

int fs_bind(const char *src, const char *dst, unsigned attrs, bool recursive, struct nerr *err)
{
	if (mount(src, dst, NULL, MS_BIND | (recursive ? MS_REC : 0), NULL) < 0)
		return nerr_set(err, errno, "bind `%s` on `%s`", src, dst);
	if (attrs)
		return fs_mount_setattr(dst, attrs, recursive, err);
	return 0;
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
