/* /dev: a small tmpfs with the usual character devices, a private devpts
 * and /dev/shm. Inside a user namespace mknod is refused, so the host's
 * nodes are bound instead. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <nucleus/filesystem.h>
#include "fs_internal.h"
#include "mount.h"

static const struct {
	const char *name;
	unsigned major, minor;
} nodes[] = {
	{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static const struct {
	const char *name, *target;
} links[] = {
	{ "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
	{ "ptmx", "pts/ptmx" }, { "core", "/proc/kcore" },
};

/* The DEV op: `path` is dst on the host's side. */
int fs_op_dev(const struct fs_op *op, int root, const char *dev, struct nerr *err)
{
	_cleanup_free_ char *pts = xasprintf("%s/pts", dev);
	_cleanup_free_ char *shm = xasprintf("%s/shm", dev);
	_cleanup_close_ int dfd = -1;
	bool userns = op->flags & FS_USERNS;
	int r;

	if ((r = fs_mkdir_at(root, op->dst + 1, 0755, err)) < 0)
		return r;
	if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=64") < 0)
		return nerr_set(err, errno, "mount tmpfs on /dev");
	dfd = open(dev, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return nerr_set(err, errno, "open /dev");

	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		if (!userns) {
			if (mknodat(dfd, nodes[i].name, S_IFCHR | 0666,
				    makedev(nodes[i].major, nodes[i].minor)) < 0)
				return nerr_set(err, errno, "mknod /dev/%s", nodes[i].name);
			/* umask may have trimmed the mode */
			if (fchmodat(dfd, nodes[i].name, 0666, 0) < 0)
				return nerr_set(err, errno, "chmod /dev/%s", nodes[i].name);
			continue;
		}
		_cleanup_close_ int fd = openat(dfd, nodes[i].name, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
		if (fd < 0)
			return nerr_set(err, errno, "create /dev/%s", nodes[i].name);
		_cleanup_free_ char *src = xasprintf("/dev/%s", nodes[i].name);
		_cleanup_free_ char *dst = xasprintf("%s/%s", dev, nodes[i].name);
		struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC };
		if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
			return nerr_set(err, errno, "bind /dev/%s", nodes[i].name);
		/* Read-only applies to the node, not the device: writes to
		 * /dev/null still work. nodev would make it unusable. */
		if (mount_setattr(AT_FDCWD, dst, 0, &attr, sizeof(attr)) < 0)
			return nerr_set(err, errno, "make /dev/%s read-only", nodes[i].name);
	}
	for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
		if (!strcmp(links[i].name, "core"))
			continue;   /* no /proc/kcore for anyone */
		if (symlinkat(links[i].target, dfd, links[i].name) < 0)
			return nerr_set(err, errno, "symlink /dev/%s", links[i].name);
	}

	if ((r = fs_mkdir_at(dfd, "pts", 0755, err)) < 0 || (r = fs_mkdir_at(dfd, "shm", 01777, err)) < 0)
		return r;
	/* gid=5 (tty) exists only where the host's gid 5 is mapped. */
	if (mount("devpts", pts, "devpts", MS_NOSUID | MS_NOEXEC,
		  userns ? "newinstance,ptmxmode=0666,mode=0620"
			    : "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0)
		return nerr_set(err, errno, "mount devpts");
	if (mount("shm", shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=64m") < 0)
		return nerr_set(err, errno, "mount tmpfs on /dev/shm");
	if (mount(NULL, dev, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) < 0)
		return nerr_set(err, errno, "make /dev read-only");
	return 0;
}
