/* The container root: tmpfs, read-only host binds, /tmp, /context, then
 * /dev and /proc (dev.c), /etc (etc.c), and the switch with pivot_root. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <nucleus/filesystem.h>
#include "fs_internal.h"

/* Host directories the agent sandbox exposes read-only. A symlink on the
 * host (/bin -> usr/bin on merged-/usr systems) is recreated as a symlink. */
static const char *const host_dirs[] = {
	"/bin", "/sbin", "/usr", "/lib", "/lib64", "/lib32", "/libx32", "/nix",
};

int fs_mkdir_at(int root, const char *rel, mode_t mode, struct nerr *err)
{
	if (mkdirat(root, rel, mode) < 0 && errno != EEXIST)
		return nerr_set(err, errno, "mkdir `/%s`", rel);
	return 0;
}

/* Read-only, nosuid, nodev for a mount and everything below it. */
int fs_make_readonly(const char *path, bool recursive, struct nerr *err)
{
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
	};

	if (syscall(SYS_mount_setattr, AT_FDCWD, path, recursive ? AT_RECURSIVE : 0,
		    &attr, sizeof(attr)) == 0)
		return 0;
	if (errno != ENOSYS)
		return nerr_set(err, errno, "make `%s` read-only", path);
	/* Before 5.12: only the top mount can be changed this way. */
	if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		return nerr_set(err, errno, "remount `%s` read-only", path);
	return 0;
}

static int make_noexec(const char *path, struct nerr *err)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOEXEC };

	if (syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof(attr)) < 0 &&
	    mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return nerr_set(err, errno, "make `%s` noexec", path);
	return 0;
}

int fs_bind(const char *src, const char *dst, bool readonly, struct nerr *err)
{
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		return nerr_set(err, errno, "bind `%s` on `%s`", src, dst);
	if (readonly)
		return fs_make_readonly(dst, true, err);
	return 0;
}

static int bind_host_dirs(const struct fs_spec *s, int root, struct nerr *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(host_dirs); i++) {
		const char *src = host_dirs[i];
		const char *rel = src + 1;
		struct stat st;
		int r;

		if (lstat(src, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlink(src, target, sizeof(target) - 1);

			if (n < 0)
				return nerr_set(err, errno, "readlink `%s`", src);
			target[n] = '\0';
			if (symlinkat(target, root, rel) < 0)
				return nerr_set(err, errno, "symlink `/%s`", rel);
			continue;
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		if ((r = fs_mkdir_at(root, rel, 0755, err)) < 0)
			return r;
		_cleanup_free_ char *dst = xasprintf("%s/%s", s->staging, rel);
		if ((r = fs_bind(src, dst, true, err)) < 0)
			return r;
	}
	return 0;
}

/* Writable mounts are noexec unless made executable (--allow-exec or a
 * Landlock policy's execute grant; see container/workspace.c). */
static unsigned long noexec_unless(const struct fs_spec *s, const char *path)
{
	return strv_contains(s->exec_paths, path) ? 0 : MS_NOEXEC;
}

static int setup_tmp(const struct fs_spec *s, int root, struct nerr *err)
{
	_cleanup_free_ char *dst = xasprintf("%s/tmp", s->staging);
	int r;

	if ((r = fs_mkdir_at(root, "tmp", 01777, err)) < 0)
		return r;
	char opts[64];

	snprintf(opts, sizeof(opts), "mode=1777,size=%llu", (unsigned long long)s->tmpfs_size);
	if (mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV | noexec_unless(s, "/tmp"), opts) < 0)
		return nerr_set(err, errno, "mount tmpfs on /tmp");
	return 0;
}

static int setup_context(const struct fs_spec *s, int root, struct nerr *err)
{
	_cleanup_free_ char *dst = xasprintf("%s/context", s->staging);
	_cleanup_close_ int dfd = -1;
	int r;

	if (s->context_fd < 0)
		return 0;
	if ((r = fs_mkdir_at(root, "context", 0755, err)) < 0)
		return r;
	if (s->context_mode == CONTEXT_BIND) {
		struct stat want, got;

		/* The fd belongs to the parent's mount namespace and cannot be the
		 * source of a bind here; bind the path and check it is the same
		 * directory the supervisor validated. */
		if ((r = fs_bind(s->context_path, dst, true, err)) < 0)
			return nerr_prefix(err, "context");
		/* the same rule as a copy: no code from the context runs unless
		 * it is made executable */
		if (noexec_unless(s, "/context") && (r = make_noexec(dst, err)) < 0)
			return nerr_prefix(err, "context");
		if (fstat(s->context_fd, &want) < 0 || stat(dst, &got) < 0 ||
		    want.st_dev != got.st_dev || want.st_ino != got.st_ino)
			return nerr_set(err, ESTALE, "context `%s` changed while the container started",
					s->context_path);
		return 0;
	}
	if (s->context_mount_fd >= 0) {
		/* the copy the supervisor made */
		if (move_mount(s->context_mount_fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return nerr_set(err, errno, "attach the context copy");
		return 0;
	}
	/* A tmpfs of its own, so the root stays read-only while /context is not. */
	if (mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV | noexec_unless(s, "/context"), "mode=0755") < 0)
		return nerr_set(err, errno, "mount tmpfs on /context");
	dfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return nerr_set(err, errno, "open /context");
	if ((r = copy_tree(s->context_fd, dfd, s->copy_skipped, err)) < 0)
		return nerr_prefix(err, "copy context");
	return fs_context_cap(dst, -1, s->tmpfs_size, err);
}

/* A subtree of /tmp or /context made executable: bound over itself, the
 * bind without noexec. Each component is opened without following
 * symlinks (a copied context may hold any), created where the workspace
 * is writable, and the bind goes through the descriptor. */
static int setup_exec_subtree(const struct fs_spec *s, int root, const char *path, struct nerr *err)
{
	bool writable = str_has_prefix(path, "/tmp/") || s->context_mode == CONTEXT_COPY;
	_cleanup_free_ char *copy = xstrdup(path + 1);
	_cleanup_close_ int dir = fcntl(root, F_DUPFD_CLOEXEC, 3);
	char *save = NULL;

	if (dir < 0)
		return nerr_set(err, errno, "dup");
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int next;

		if (writable && mkdirat(dir, c, 0755) < 0 && errno != EEXIST)
			return nerr_set(err, errno, "--allow-exec `%s`: mkdir", path);
		next = openat(dir, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return nerr_set(err, errno == ELOOP || errno == ENOTDIR ? ENOTDIR : errno,
					"--allow-exec `%s`: `%s`%s", path, c,
					errno == ENOENT ? " does not exist in the context" :
					errno == ELOOP || errno == ENOTDIR ? " is not a directory (symlinks are not followed)" : "");
		close(dir);
		dir = next;
	}
	/* a clone of the subtree, made executable while detached, then
	 * attached over the directory itself: no path is resolved again */
	_cleanup_close_ int tree = open_tree(dir, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
					     AT_RECURSIVE);
	struct mount_attr attr = { .attr_clr = MOUNT_ATTR_NOEXEC };

	if (tree < 0)
		return nerr_set(err, errno, "--allow-exec `%s`: open_tree", path);
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return nerr_set(err, errno, "--allow-exec `%s`: make it executable", path);
	if (move_mount(tree, "", dir, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return nerr_set(err, errno, "--allow-exec `%s`: attach", path);
	return 0;
}

static int setup_exec_paths(const struct fs_spec *s, int root, struct nerr *err)
{
	int r;

	for (size_t i = 0; s->exec_paths && s->exec_paths[i]; i++) {
		const char *p = s->exec_paths[i];

		if (!strcmp(p, "/tmp") || !strcmp(p, "/context"))
			continue;    /* mounted executable */
		if ((r = setup_exec_subtree(s, root, p, err)) < 0)
			return r;
	}
	return 0;
}

static int switch_root(const struct fs_spec *s, struct nerr *err)
{
	if (chdir(s->staging) < 0)
		return nerr_set(err, errno, "chdir `%s`", s->staging);
	/* pivot_root(".", ".") stacks the old root on the new one; detaching
	 * it leaves no path back to the host's tree. */
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) < 0)
			return nerr_set(err, errno, "detach the old root");
		if (chdir("/") < 0)
			return nerr_set(err, errno, "chdir /");
		return 0;
	}
	if (!s->allow_chroot)
		return nerr_set(err, errno, "pivot_root (use --allow-chroot-fallback to accept chroot)");
	log_warn("pivot_root failed (%s); falling back to chroot as allowed", strerror(errno));
	if (chroot(".") < 0)
		return nerr_set(err, errno, "chroot");
	if (chdir("/") < 0)
		return nerr_set(err, errno, "chdir /");
	return 0;
}

int fs_setup(const struct fs_spec *s, struct nerr *err)
{
	_cleanup_close_ int root = -1;
	int r;

	/* Nothing we mount may propagate back to the host, nor the host's
	 * later mounts into the container. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return nerr_set(err, errno, "make mounts private");
	if (mount("tmpfs", s->staging, "tmpfs", MS_NOSUID | MS_NODEV,
		  "mode=0755,size=4m,nr_inodes=4096") < 0)
		return nerr_set(err, errno, "mount the root tmpfs on `%s`", s->staging);
	root = open(s->staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return nerr_set(err, errno, "open `%s`", s->staging);

	log_debug("fs: root tmpfs");
	if ((r = bind_host_dirs(s, root, err)) < 0)
		return r;
	log_debug("fs: host dirs");
	if ((r = fs_setup_etc(s, root, err)) < 0)
		return r;
	log_debug("fs: etc");
	if ((r = setup_tmp(s, root, err)) < 0 ||
	    (r = setup_context(s, root, err)) < 0 ||
	    (r = setup_exec_paths(s, root, err)) < 0)
		return r;
	log_debug("fs: tmp, context");
	if ((r = fs_setup_dev(s, root, err)) < 0)
		return r;
	log_debug("fs: dev");
	if ((r = fs_setup_proc(s, root, err)) < 0)
		return r;
	log_debug("fs: proc");
	if (mount(NULL, s->staging, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		return nerr_set(err, errno, "make the root read-only");
	return switch_root(s, err);
}
