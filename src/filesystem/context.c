/* A copied context, made by the supervisor before the container exists: a
 * detached tmpfs (fsopen/fsmount) filled with the copy and handed to the
 * child, which attaches it at /context. The supervisor reads the context
 * with the caller's rights, not those of the container's root (under
 * --userns an unprivileged host uid that cannot read root's 0600 files),
 * and the pages of the copy are not charged to the container's memory
 * limit: they are what it was given, not what it used. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <nucleus/filesystem.h>
#include "fs_internal.h"

#define MAX_DEPTH 256

/* Hand every entry of the copy to the container's root. */
static int chown_tree(int dir, uid_t uid, gid_t gid, int depth, struct nerr *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (depth > MAX_DEPTH)
		return nerr_set(err, ELOOP, "context is nested deeper than %d directories", MAX_DEPTH);
	if (fchown(dir, uid, gid) < 0)
		return nerr_set(err, errno, "chown the context copy");
	if ((fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return nerr_set(err, errno, "open the context copy");
	if (!(d = fdopendir(fd))) {
		close(fd);
		return nerr_set(err, errno, "read the context copy");
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_type == DT_DIR) {
			_cleanup_close_ int sub = openat(dir, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int r;

			if (sub < 0)
				return nerr_set(err, errno, "open `%s` of the context copy", de->d_name);
			if ((r = chown_tree(sub, uid, gid, depth + 1, err)) < 0)
				return r;
		} else if (fchownat(dir, de->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
			return nerr_set(err, errno, "chown `%s` of the context copy", de->d_name);
		}
	}
	return 0;
}

int fs_context_cap(int mount_fd, uint64_t grow, struct nerr *err)
{
	struct statfs sf;
	char opt[64];
	uint64_t used;
	int r;

	if (fstatfs(mount_fd, &sf) < 0)
		return nerr_set(err, errno, "context: statfs");
	used = (uint64_t)(sf.f_blocks - sf.f_bfree) * (uint64_t)sf.f_bsize;
	snprintf(opt, sizeof(opt), "%llu", (unsigned long long)(used + grow));
	/* the superblock's size only: the mount's flags (exec where --allow-exec
	 * /context gave it) stay as they are */
	_cleanup_close_ int fs = fspick(mount_fd, "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC);
	if (fs < 0)
		return nerr_set(err, errno, "context: reopen the tmpfs");
	r = fsconfig(fs, FSCONFIG_SET_STRING, "size", opt, 0);
	if (r == 0)
		r = fsconfig(fs, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0);
	if (r < 0)
		return nerr_set(err, errno, "context: cap the tmpfs");
	return 0;
}

int fs_context_copy(int context_fd, bool exec, uint64_t grow, uid_t uid, gid_t gid,
		    struct copy_skipped *skipped, int *mount_fd, struct nerr *err)
{
	_cleanup_close_ int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	_cleanup_close_ int mnt = -1, root = -1;
	unsigned attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (exec ? 0 : MOUNT_ATTR_NOEXEC);
	int r;

	*mount_fd = -1;
	if (fs < 0)
		return nerr_set(err, errno, "context: create a tmpfs");
	if (fsconfig(fs, FSCONFIG_SET_STRING, "source", "tmpfs", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return nerr_set(err, errno, "context: configure the tmpfs");
	if ((mnt = fsmount(fs, FSMOUNT_CLOEXEC, attr)) < 0)
		return nerr_set(err, errno, "context: mount the tmpfs");
	if ((root = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return nerr_set(err, errno, "context: open the tmpfs");
	if ((r = copy_tree(context_fd, root, skipped, err)) < 0)
		return nerr_prefix(err, "copy context");
	if ((uid || gid) && (r = chown_tree(root, uid, gid, 0, err)) < 0)
		return r;
	if ((r = fs_context_cap(mnt, grow, err)) < 0)
		return r;
	*mount_fd = steal_fd(mnt);
	return 0;
}
