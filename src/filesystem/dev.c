/* /dev: a small tmpfs with the usual character devices, a private devpts
 * and /dev/shm. Inside a user namespace mknod is refused, so the host's
 * nodes are bound instead. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <nucleus/filesystem.h>
#include "fs_internal.h"
#include "mount.h"

static const struct fs_dev_node nodes[] = {
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

const struct fs_dev_node *fs_dev_nodes(size_t *n)
{
	*n = ARRAY_SIZE(nodes);
	return nodes;
}

/* A new filesystem on the directory `name` of /dev. */
static int mount_in_dev(int dev, const char *name, const char *type, const char *source, const char *options,
			unsigned attrs, const char *what, struct nerr *err)
{
	_cleanup_close_ int target = openat(dev, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int fd;

	if (target < 0)
		return nerr_set(err, errno, "%s", what);
	if ((fd = fs_mount_new(target, type, source, options, attrs, what, err)) < 0)
		return fd;
	close(fd);
	return 0;
}

/* The DEV op: everything is mounted onto fds (of the mount point beneath
 * the root, of entries of the new tmpfs). */
int fs_op_dev(const struct fs_op *op, int root, struct nerr *err)
{
	_cleanup_close_ int target = -1, dfd = -1;
	bool userns = op->flags & FS_USERNS;
	int r;

	if ((r = fs_mkdir_at(root, op->dst + 1, 0755, err)) < 0)
		return r;
	if ((target = fs_open_in_root(root, op->dst + 1, O_PATH)) < 0)
		return nerr_set(err, -target, "mount tmpfs on /dev");
	/* the new mount's fd: the directory everything below is made in */
	if ((dfd = fs_mount_new(target, "tmpfs", "tmpfs", "mode=0755,size=64k,nr_inodes=64",
				MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, "mount tmpfs on /dev", err)) < 0)
		return dfd;

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
		_cleanup_close_ int tree = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC };
		if (tree < 0)
			return nerr_set(err, errno, "bind /dev/%s", nodes[i].name);
		/* Read-only applies to the node, not the device: writes to
		 * /dev/null still work. nodev would make it unusable. Set
		 * before the node is attached. */
		if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
			return nerr_set(err, errno, "make /dev/%s read-only", nodes[i].name);
		if (move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			return nerr_set(err, errno, "bind /dev/%s", nodes[i].name);
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
	if ((r = mount_in_dev(dfd, "pts", "devpts", "devpts",
			      userns ? "newinstance,ptmxmode=0666,mode=0620"
				     : "newinstance,ptmxmode=0666,mode=0620,gid=5",
			      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, "mount devpts", err)) < 0 ||
	    (r = mount_in_dev(dfd, "shm", "tmpfs", "shm", "mode=1777,size=64m",
			      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, "mount tmpfs on /dev/shm",
			      err)) < 0)
		return r;
	/* exactly read-only, nosuid, noexec, as a bind remount set them */
	if ((r = fs_setattr_fd(dfd, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NODEV,
			       false, "/dev", err)) < 0)
		return nerr_set(err, -r, "make /dev read-only");
	return 0;
}
