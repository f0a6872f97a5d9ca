/* --rootfs, the supervisor's half (before clone): the directory checked
 * and cloned once, read-only, into a detached tree; its Nix closure (a
 * store paths list in the tree, else `nix-store -qR`) each opened without
 * following a symlink and cloned the same way. The child attaches these
 * (root.c plans it, ops.c runs it): what it mounts is what was opened
 * and checked here, through the same descriptors. docs/rootfs.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <nucleus/attest.h>
#include <nucleus/filesystem.h>

#define STORE_DIR ATTEST_STORE_DIR
#define STORE_PATHS_MAX (4u << 20)

/* Top-level names of a rootfs that nucleus provides instead (and the
 * place its clone is attached while the root is built). */
static const char *const skip[] = { FS_ROOTFS_TREE + 1, "etc", "tmp", "dev", "proc", "context", NULL };
static const char *const skip_store[] = { FS_ROOTFS_TREE + 1, "etc", "tmp", "dev", "proc", "context", "nix",
					  NULL };

const char *const *fs_rootfs_skip(const struct fs_rootfs *rf)
{
	return rf->has_store ? skip_store : skip;
}

/* What the container gets of the tree's top level, for the Landlock rules
 * that let it execute there (the rootfs is read-only, nosuid, nodev). */
static int list_top(struct fs_rootfs *rf, struct nerr *err)
{
	const char *const *sk = fs_rootfs_skip(rf);
	int fd = openat(rf->tree_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return nerr_set(err, errno, "read the tree");
	}
	while ((de = readdir(d))) {
		bool out = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");

		for (size_t i = 0; !out && sk[i]; i++)
			out = !strcmp(de->d_name, sk[i]);
		if (!out)
			strv_push_take(&rf->top, xasprintf("/%s", de->d_name));
	}
	closedir(d);
	if (rf->has_store)
		strv_push(&rf->top, STORE_DIR);
	return 0;
}

/* `nix-store -qR path`, when nix-store is installed: its closure. 0 and
 * *out NULL when there is no nix-store. */
static int query_closure(const char *path, char ***out, struct nerr *err)
{
	int fds[2], status, r, rd;
	_cleanup_free_ char *text = NULL;
	size_t used = 0;
	pid_t pid;

	*out = NULL;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return nerr_set(err, errno, "pipe");
	if ((pid = fork()) < 0) {
		r = -errno;
		close(fds[0]);
		close(fds[1]);
		return nerr_set(err, -r, "fork");
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* its warnings and errors would break the one-line message:
		 * a failure is reported by its status */
		if (dup2(fds[1], 1) < 0 || (null >= 0 && (dup2(null, 0) < 0 || dup2(null, 2) < 0)))
			_exit(126);
		execlp("nix-store", "nix-store", "--query", "--requisites", path, (char *)NULL);
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(fds[1]);
	rd = read_fd(fds[0], STORE_PATHS_MAX, &text, &used);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return nerr_set(err, errno, "waitpid nix-store");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return 0;    /* no nix-store: no closure to mount */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return nerr_set(err, EIO, "`nix-store --query --requisites %s` failed", path);
	if (rd < 0)
		return nerr_set(err, -rd, "the output of `nix-store --query --requisites %s`", path);
	if ((r = attest_store_paths_parse(text, used, out, err)) < 0)
		return nerr_prefix(err, "nix-store --query --requisites");
	return 0;
}

/* A detached, recursive, read-only clone of what `fd` is. */
static int clone_ro(int fd, const char *name, struct nerr *err)
{
	/* private: nothing the host later mounts under DIR appears in the
	 * container, and nothing propagates back */
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
				   .propagation = MS_PRIVATE };
	int tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);

	if (tree < 0)
		return nerr_set(err, errno, "clone `%s`", name);
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
		int r = nerr_set(err, errno, "make `%s` read-only", name);

		close(tree);
		return r;
	}
	return tree;
}

/* /nix/store on the host, every component a directory, no symlink. */
static int open_store(struct nerr *err)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, STORE_DIR, &how, sizeof(how));

	return fd < 0 ? nerr_set(err, errno, "open " STORE_DIR) : fd;
}

static int open_closure(struct fs_rootfs *rf, char **paths, struct nerr *err)
{
	_cleanup_close_ int store = open_store(err);
	size_t n = strv_len(paths);

	if (store < 0)
		return store;
	rf->store = xcalloc(n ? n : 1, sizeof(*rf->store));
	rf->has_store = true;
	for (size_t i = 0; i < n; i++) {
		const char *name = paths[i] + strlen(STORE_DIR "/");
		struct fs_store_path *sp = &rf->store[rf->n_store];
		_cleanup_close_ int fd = openat(store, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat sb;

		if (fd < 0 || fstat(fd, &sb) < 0)
			return nerr_set(err, errno, "store path `%s`", paths[i]);
		*sp = (struct fs_store_path){ .name = xstrdup(name), .fd = -1 };
		rf->n_store++;
		if (S_ISLNK(sb.st_mode)) {
			char target[4096];
			ssize_t len = readlinkat(fd, "", target, sizeof(target) - 1);

			if (len < 0)
				return nerr_set(err, errno, "readlink `%s`", paths[i]);
			target[len] = '\0';
			sp->link = xstrdup(target);
		} else if (S_ISDIR(sb.st_mode) || S_ISREG(sb.st_mode)) {
			if ((sp->fd = clone_ro(fd, paths[i], err)) < 0)
				return sp->fd;
		} else {
			return nerr_set(err, EINVAL, "store path `%s` is not a directory, file or symlink", paths[i]);
		}
	}
	return 0;
}

int fs_rootfs_open(const char *path, struct fs_rootfs *rf, struct nerr *err)
{
	_cleanup_close_ int dir = -1;
	_cleanup_strv_ char **paths = NULL;
	struct stat sb;
	int r;

	*rf = (struct fs_rootfs){ .tree_fd = -1 };
	if (path[0] != '/')
		return nerr_set(err, EINVAL, "--rootfs `%s` is not an absolute path", path);
	/* the last component not followed; a symlink is refused, not trusted */
	if ((dir = open(path, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC)) < 0) {
		if (errno == ENOTDIR && lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode))
			return nerr_set(err, 0, "--rootfs `%s` is a symlink (give the directory it points to)", path);
		if (errno == ENOTDIR)
			return nerr_set(err, 0, "--rootfs `%s` is not a directory", path);
		return nerr_set(err, errno, "--rootfs `%s`", path);
	}
	if (fstat(dir, &sb) < 0)
		return nerr_set(err, errno, "--rootfs `%s`", path);
	if (sb.st_uid != 0 && sb.st_uid != getuid())
		return nerr_set(err, 0, "--rootfs `%s` is owned by uid %u, neither root nor the caller",
				path, (unsigned)sb.st_uid);
	if (sb.st_mode & (S_IWGRP | S_IWOTH))
		return nerr_set(err, 0, "--rootfs `%s` is writable by group or others (mode %04o)",
				path, (unsigned)(sb.st_mode & 07777));
	if ((rf->tree_fd = clone_ro(dir, path, err)) < 0)
		return err->code == EPERM && geteuid() != 0 ? nerr_prefix(err, "--rootfs needs root") :
			nerr_prefix(err, "--rootfs");
	/* etc is layered under the generated files (root.c): a symlink in
	 * its place is refused rather than followed somewhere else */
	if (fstatat(rf->tree_fd, "etc", &sb, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(sb.st_mode)) {
		r = nerr_set(err, ENOTDIR, "etc is not a directory%s",
			     S_ISLNK(sb.st_mode) ? " (a symlink: not followed)" : "");
		goto fail;
	}
	if ((r = attest_store_paths_read(rf->tree_fd, &paths, err)) < 0)
		goto fail;
	if (!paths && str_has_prefix(path, STORE_DIR "/") && (r = query_closure(path, &paths, err)) < 0)
		goto fail;
	if (paths && (r = open_closure(rf, paths, err)) < 0)
		goto fail;
	if ((r = list_top(rf, err)) < 0)
		goto fail;
	return 0;
fail:
	nerr_prefix(err, "--rootfs `%s`", path);
	fs_rootfs_close(rf);
	return r;
}

void fs_rootfs_close(struct fs_rootfs *rf)
{
	if (rf->tree_fd >= 0)
		close(rf->tree_fd);
	for (size_t i = 0; i < rf->n_store; i++) {
		free(rf->store[i].name);
		free(rf->store[i].link);
		if (rf->store[i].fd >= 0)
			close(rf->store[i].fd);
	}
	free(rf->store);
	strv_free(rf->top);
	*rf = (struct fs_rootfs){ .tree_fd = -1 };
}
