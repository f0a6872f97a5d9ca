/* The one interpreter of the op list (fs_internal.h), run in the child in
 * its new mount namespace. Everything is created relative to the new
 * root's fd, and directories are opened beneath it with openat2
 * (RESOLVE_IN_ROOT, no symlinks). Every mount goes onto the fd of its
 * mount point, opened that way: a symlink in the tree (a rootfs or a
 * volume the user gave) never redirects one. Only the root tmpfs itself,
 * the pivot and the opening of the root go by the staging directory's
 * path: it is in the runtime directory nucleus checked, not in the
 * container's tree. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <nucleus/filesystem.h>
#include "fs_internal.h"
#include "mount.h"

struct exec_state {
	const char *staging;
	int root;                  /* the new root */
	char *dir_path;            /* the last parent opened beneath it */
	int dir;
	const char *mask_src;      /* the source of the masks in a row, */
	int mask_fd;               /* opened once for them */
	int empty_fd;              /* the first directory mask's empty tmpfs, which
	                            * the next ones in the row are clones of */
};

static void forget_dir(struct exec_state *st)
{
	free(st->dir_path);
	st->dir_path = NULL;
	if (st->dir >= 0)
		close(st->dir);
	st->dir = -1;
}

/* The directory dst is in, opened beneath the root (the last one is kept:
 * /etc's files come one after the other); *name is dst's last component. */
static int parent_dir(struct exec_state *st, const char *dst, const char **name, struct nerr *err)
{
	const char *slash = strrchr(dst, '/');
	_cleanup_free_ char *dir = xasprintf("%.*s", slash > dst ? (int)(slash - dst - 1) : 0, dst + 1);
	int fd;

	*name = slash + 1;
	if (!dir[0])
		return st->root;
	if (st->dir_path && !strcmp(st->dir_path, dir))
		return st->dir;
	if ((fd = fs_open_in_root(st->root, dir, O_PATH | O_DIRECTORY)) < 0)
		return nerr_set(err, -fd, "open `/%s`", dir);
	forget_dir(st);
	st->dir_path = steal_ptr(dir);
	st->dir = fd;
	return fd;
}

/* The mount point dst as an O_PATH fd: beneath the new root without
 * following a symlink; "/" is the staging directory (see above). */
static int open_target(struct exec_state *st, const char *dst, struct nerr *err)
{
	int fd = strcmp(dst, "/") ? fs_open_in_root(st->root, dst + 1, O_PATH)
				  : open(st->staging, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 && !strcmp(dst, "/"))
		fd = -errno;
	return fd < 0 ? nerr_set(err, -fd, "open `%s`", dst) : fd;
}

/* A volume's or a tmpfs's mount point that could not be made: named, and
 * why when it is a symlink on the way (never followed) or a read-only
 * directory of the rootfs or the host's binds. */
static int mount_point_error(const struct fs_op *op, int r, struct nerr *err)
{
	if (!op->label)
		return r;
	if (r == -ELOOP || r == -ENOTDIR)
		return nerr_prefix(err, "%s `%s`: a symlink or a file on the way (never followed)", op->label, op->dst);
	if (r == -EROFS)
		return nerr_prefix(err, "%s `%s`: the mount point does not exist and its directory is read-only "
				   "(give a destination that exists in the rootfs, or one nucleus creates)",
				   op->label, op->dst);
	return nerr_prefix(err, "%s `%s`", op->label, op->dst);
}

static int op_tmpfs(struct exec_state *st, const struct fs_op *op, const char *path, struct nerr *err)
{
	char size[32] = "", inodes[32] = "";
	int fd, r;

	if (op->size)
		snprintf(size, sizeof(size), ",size=%llu", (unsigned long long)op->size);
	if (op->inodes)
		snprintf(inodes, sizeof(inodes), ",nr_inodes=%u", op->inodes);
	_cleanup_free_ char *data = xasprintf("mode=%04o%s%s%s%s", (unsigned)op->mode, size, inodes,
					      op->options ? "," : "", op->options ? op->options : "");
	if (!strcmp(op->dst, "/")) {
		/* the root on the staging directory, by its path (see above) */
		if (mount(op->src ? op->src : "tmpfs", path, "tmpfs", fs_ms_flags(op->flags & FS_ATTRS), data) < 0)
			return nerr_set(err, errno, "mount the root tmpfs on `%s`", path);
		return 0;
	}
	if ((r = fs_mkdir_at(st->root, op->dst + 1, op->mode, err)) < 0)
		return mount_point_error(op, r, err);
	_cleanup_close_ int target = open_target(st, op->dst, err);
	if (target < 0)
		return mount_point_error(op, target, err);
	_cleanup_free_ char *what = xasprintf("mount tmpfs on %s", op->dst);
	if ((fd = fs_mount_new(target, "tmpfs", op->src ? op->src : "tmpfs", data, op->flags & FS_ATTRS,
			       what, err)) < 0)
		return fd;
	close(fd);
	return 0;
}

/* A symlink at dst, its parents made. */
static int make_symlink(struct exec_state *st, const char *target, const char *dst, struct nerr *err)
{
	const char *name;
	int dir, r;

	if ((r = fs_mkparents_at(st->root, dst + 1, err)) < 0 || (dir = parent_dir(st, dst, &name, err)) < 0)
		return r < 0 ? r : dir;
	if (symlinkat(target, dir, name) < 0)
		return nerr_set(err, errno, "symlink `%s`", dst);
	return 0;
}

/* An empty file at dst (the mount point of a bound file), its parents
 * made beneath the root without following a symlink. */
static int make_file(int root, const char *dst, struct nerr *err)
{
	const char *name;
	_cleanup_close_ int dir = fs_walk_parents_at(root, dst + 1, &name, err);
	int fd;

	if (dir < 0)
		return dir;
	/* one already there (in a read-only rootfs, say): the caller
	 * checks what it is, opening it without following a symlink */
	if (faccessat(dir, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if ((fd = openat(dir, name, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
		return nerr_set(err, errno, "create `%s`", dst);
	close(fd);
	return 0;
}

static int op_bind(struct exec_state *st, const struct fs_op *op, const char *path, struct nerr *err)
{
	_cleanup_free_ char *src_in_root = NULL;
	_cleanup_close_ int src_fd = -1, tree = -1, target = -1;
	const char *src = op->src;
	struct stat st_src;
	int r;

	if (op->flags & FS_SRC_IN_ROOT) {
		/* beneath the new root, a symlink not followed */
		src = src_in_root = xasprintf("%s%s", st->staging, op->src);
		src_fd = fs_open_in_root(st->root, op->src + 1, O_PATH | O_NOFOLLOW);
		r = src_fd < 0 ? src_fd : fstat(src_fd, &st_src) < 0 ? -errno : 0;
	} else {
		r = lstat(src, &st_src) < 0 ? -errno : 0;
	}
	if (r < 0) {
		if (op->flags & FS_TRY)
			return 0;
		r = nerr_set(err, -r, "bind `%s`", op->src);
		return op->label ? nerr_prefix(err, "%s", op->label) : r;
	}
	if (S_ISLNK(st_src.st_mode) && (op->flags & FS_KEEP_LINK)) {
		char target_name[4096];
		ssize_t n = src_fd >= 0 ? readlinkat(src_fd, "", target_name, sizeof(target_name) - 1)
					: readlink(src, target_name, sizeof(target_name) - 1);

		if (n < 0) {
			if (op->flags & FS_TRY)
				return 0;
			return nerr_set(err, errno, "readlink `%s`", src);
		}
		target_name[n] = '\0';
		return make_symlink(st, target_name, op->dst, err);
	}
	if (!S_ISDIR(st_src.st_mode) && (op->flags & FS_DIR_ONLY))
		return 0;
	/* the mount point: like the source, a directory or an empty file;
	 * the root, or a source bound over itself, is one already */
	if (!strcmp(op->dst, "/") || ((op->flags & FS_SRC_IN_ROOT) && !strcmp(op->src, op->dst)))
		;
	else if ((r = fs_mkparents_at(st->root, op->dst + 1, err)) < 0)
		return r;
	else if (S_ISDIR(st_src.st_mode)) {
		if ((r = fs_mkdir_at(st->root, op->dst + 1, 0755, err)) < 0)
			return r;
	} else if ((r = make_file(st->root, op->dst, err)) < 0) {
		return r;
	}
	if ((tree = src_fd >= 0 ? fs_clone_at(src_fd, "", op->flags & FS_REC, src, path, err)
				: fs_clone_at(AT_FDCWD, src, op->flags & FS_REC, src, path, err)) < 0)
		return op->label ? nerr_prefix(err, "%s", op->label) : tree;
	/* the source checked before it is attached */
	if (op->fd >= 0) {
		struct stat want, got;

		if (fstat(op->fd, &want) < 0 || fstat(tree, &got) < 0 ||
		    want.st_dev != got.st_dev || want.st_ino != got.st_ino)
			return nerr_set(err, ESTALE, "%s `%s` changed while the container started",
					op->label ? op->label : "source", op->src);
	}
	if ((target = open_target(st, op->dst, err)) < 0 ||
	    (r = fs_attach(tree, target, op->flags & FS_ATTRS, op->flags & FS_REC, src, path, err)) < 0)
		return op->label ? nerr_prefix(err, "%s", op->label) : target < 0 ? target : r;
	return 0;
}

static int op_file(struct exec_state *st, const struct fs_op *op, struct nerr *err)
{
	_cleanup_free_ char *text = NULL;
	const char *content = op->content, *name;
	size_t len;
	int dir, r;

	if ((dir = parent_dir(st, op->dst, &name, err)) < 0)
		return dir;
	if ((op->flags & FS_KEEP) && faccessat(dir, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (op->src) {
		if ((r = read_file(op->src, 1 << 20, &text, &len)) < 0) {
			if (op->flags & FS_TRY)
				return 0;
			return nerr_set(err, -r, "read `%s`", op->src);
		}
		content = text;
	} else {
		len = strlen(content);
	}
	if ((r = write_file_at(dir, name, content, len, op->mode)) < 0)
		return nerr_set(err, -r, "write %s", op->dst);
	return 0;
}

static int op_copy(struct exec_state *st, const struct fs_op *op, struct nerr *err)
{
	_cleanup_close_ int dfd = fs_open_in_root(st->root, op->dst + 1, O_RDONLY | O_DIRECTORY);
	int r;

	if (dfd < 0)
		return nerr_set(err, -dfd, "open %s", op->dst);
	if ((r = copy_tree(op->fd, dfd, op->skipped, err)) < 0)
		return nerr_prefix(err, "copy %s", op->label ? op->label : op->dst);
	/* dfd is the root of the tmpfs: capped through it */
	return fs_context_cap(dfd, op->size, err);
}

/* A subtree made executable: bound over itself, the bind without noexec.
 * Each component is opened without following symlinks (a copied context
 * may hold any), created where the workspace is writable, and the bind
 * goes through the descriptor. */
static int op_exec(struct exec_state *st, const struct fs_op *op, struct nerr *err)
{
	const char *path = op->dst;
	_cleanup_free_ char *copy = xstrdup(path + 1);
	_cleanup_close_ int dir = fcntl(st->root, F_DUPFD_CLOEXEC, 3);
	char *save = NULL;

	if (dir < 0)
		return nerr_set(err, errno, "dup");
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int next;

		if ((op->flags & FS_MKDIRS) && mkdirat(dir, c, 0755) < 0 && errno != EEXIST)
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

/* A detached mount (the context's copy, a rootfs's clone, a store path)
 * attached on dst, made like the mount's root: a directory or a file. */
static int op_attach(struct exec_state *st, const struct fs_op *op, struct nerr *err)
{
	_cleanup_close_ int target = -1;
	struct stat sb;
	int r;

	if (fstat(op->fd, &sb) < 0)
		return nerr_set(err, errno, "attach %s", op->label ? op->label : op->dst);
	if ((r = S_ISDIR(sb.st_mode) ? fs_mkdir_at(st->root, op->dst + 1, 0755, err)
				     : make_file(st->root, op->dst, err)) < 0 ||
	    (target = open_target(st, op->dst, err)) < 0)
		return mount_point_error(op, r < 0 ? r : target, err);
	/* a mount point of another kind (a file for a directory) would be
	 * refused by move_mount with a less helpful errno */
	struct stat tb;
	if (fstat(target, &tb) == 0 && (tb.st_mode & S_IFMT) != (sb.st_mode & S_IFMT))
		return nerr_set(err, EEXIST, "%s `%s`: the mount point is a %s, the source a %s",
				op->label ? op->label : "attach", op->dst, S_ISDIR(tb.st_mode) ? "directory" : "file",
				S_ISDIR(sb.st_mode) ? "directory" : "file");
	if (move_mount(op->fd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return nerr_set(err, errno, "attach the %s on `%s`", op->label ? op->label : "mount", op->dst);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One entry of a layer: the mount point made in `dst` like the source
 * (nothing followed: dst is a directory nucleus made, the name one
 * component), then the source's clone attached on it. */
static int layer_entry(const struct fs_op *op, int src, int dst, const char *name, struct nerr *err)
{
	_cleanup_close_ int tree = -1, target = -1;
	const char *label = op->label ? op->label : op->src;
	struct stat sb, tb;
	int fd;

	if (fstatat(src, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return nerr_set(err, errno, "%s: `%s`", label, name);
	if ((op->flags & FS_KEEP) && faccessat(dst, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (S_ISLNK(sb.st_mode)) {
		char link[4096];
		ssize_t n = readlinkat(src, name, link, sizeof(link) - 1);

		if (n < 0)
			return nerr_set(err, errno, "%s: readlink `%s`", label, name);
		link[n] = '\0';
		if (symlinkat(link, dst, name) < 0)
			return nerr_set(err, errno, "%s: symlink `%s`", label, name);
		return 0;
	}
	if (S_ISDIR(sb.st_mode)) {
		if (mkdirat(dst, name, 0755) < 0 && errno != EEXIST)
			return nerr_set(err, errno, "%s: mkdir `%s`", label, name);
	} else if (S_ISREG(sb.st_mode)) {
		if ((fd = openat(dst, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)
			return nerr_set(err, errno, "%s: create `%s`", label, name);
		close(fd);
	} else {
		return 0;   /* devices, fifos, sockets: not carried, as by a copy */
	}
	if ((target = openat(dst, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0 || fstat(target, &tb) < 0)
		return nerr_set(err, errno, "%s: open `%s`", label, name);
	if ((tb.st_mode & S_IFMT) != (sb.st_mode & S_IFMT))
		return nerr_set(err, EEXIST, "%s: `%s` is already something else", label, name);
	if ((tree = open_tree(src, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW |
			      (op->flags & FS_REC ? AT_RECURSIVE : 0))) < 0)
		return nerr_set(err, errno, "%s: bind `%s`", label, name);
	return fs_attach(tree, target, op->flags & FS_ATTRS, op->flags & FS_REC, name, name, err) < 0 ?
		nerr_prefix(err, "%s", label) : 0;
}

static int op_layer(struct exec_state *st, const struct fs_op *op, struct nerr *err)
{
	const char *label = op->label ? op->label : op->src;
	_cleanup_close_ int src = fs_open_in_root(st->root, op->src + 1, O_RDONLY | O_DIRECTORY);
	_cleanup_close_ int dst = -1;
	_cleanup_strv_ char **names = NULL;
	struct dirent *de;
	DIR *d;
	int r = 0, fd;

	if (src < 0) {
		if (src == -ENOENT && (op->flags & FS_TRY))
			return 0;
		return nerr_set(err, -src, "%s: open `%s`", label, op->src);
	}
	if ((dst = fs_open_in_root(st->root, op->dst + 1, O_PATH | O_DIRECTORY)) < 0)
		return nerr_set(err, -dst, "%s: open `%s`", label, op->dst);
	if ((fd = fcntl(src, F_DUPFD_CLOEXEC, 3)) < 0 || !(d = fdopendir(fd))) {
		r = nerr_set(err, errno, "%s: read `%s`", label, op->src);
		if (fd >= 0)
			close(fd);
		return r;
	}
	while ((errno = 0, de = readdir(d))) {
		bool skipped = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");

		for (size_t i = 0; !skipped && op->skip && op->skip[i]; i++)
			skipped = !strcmp(de->d_name, op->skip[i]);
		if (!skipped)
			strv_push(&names, de->d_name);
	}
	r = errno;
	closedir(d);
	if (r)
		return nerr_set(err, r, "%s: read `%s`", label, op->src);
	/* in name order: the same tree gives the same mount table */
	if (names)
		qsort(names, strv_len(names), sizeof(*names), cmp_names);
	for (size_t i = 0; names && names[i]; i++)
		if ((r = layer_entry(op, src, dst, names[i], err)) < 0)
			return r;
	return 0;
}

static int op_check(struct exec_state *st, const struct fs_op *op, struct nerr *err)
{
	_cleanup_close_ int tree = fs_open_in_root(st->root, op->dst + 1, O_RDONLY | O_DIRECTORY);
	_cleanup_close_ int store = -1;

	if (tree < 0)
		return nerr_set(err, -tree, "%s: open `%s`", op->label ? op->label : "check", op->dst);
	if (op->src && (store = fs_open_in_root(st->root, op->src + 1, O_RDONLY | O_DIRECTORY)) < 0)
		return nerr_set(err, -store, "%s: open `%s`", op->label ? op->label : "check", op->src);
	return op->check(tree, store, op->check_arg, err);
}

static int op_mask(struct exec_state *st, const struct fs_op *op, struct nerr *err)
{
	_cleanup_close_ int target = fs_open_in_root(st->root, op->dst + 1, O_PATH | O_NOFOLLOW);
	_cleanup_close_ int tree = -1;
	struct stat sb;
	int fd;

	if (target < 0 || fstat(target, &sb) < 0) {
		if (op->flags & FS_TRY)
			return 0;
		return nerr_set(err, target < 0 ? -target : errno, "mask %s", op->dst);
	}
	_cleanup_free_ char *what = xasprintf("mask %s", op->dst);
	if (S_ISDIR(sb.st_mode)) {
		/* one empty read-only tmpfs, cloned for the next directories:
		 * a superblock each would cost a handful of syscalls more per
		 * mask (a mount cannot be cloned before it is attached) */
		if (st->empty_fd >= 0) {
			if ((tree = open_tree(st->empty_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH)) < 0 ||
			    move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
				return nerr_set(err, errno, "%s", what);
			return 0;
		}
		if ((fd = fs_mount_new(target, "tmpfs", "tmpfs", "size=0,nr_inodes=1,mode=0555",
				       FS_RDONLY | FS_NOSUID | FS_NODEV | FS_NOEXEC, what, err)) < 0)
			return fd;
		st->empty_fd = fd;
		return 0;
	}
	if (!st->mask_src || strcmp(st->mask_src, op->src)) {
		if (st->mask_fd >= 0)
			close(st->mask_fd);
		st->mask_src = NULL;
		if ((st->mask_fd = fs_open_in_root(st->root, op->src + 1, O_PATH)) < 0)
			return nerr_set(err, -st->mask_fd, "%s", what);
		st->mask_src = op->src;
	}
	if ((tree = open_tree(st->mask_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH)) < 0 ||
	    move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return nerr_set(err, errno, "%s", what);
	return 0;
}

static int run_op(struct exec_state *st, const struct fs_op *op, struct nerr *err)
{
	_cleanup_free_ char *path = strcmp(op->dst, "/") ? xasprintf("%s%s", st->staging, op->dst)
						       : xstrdup(st->staging);
	_cleanup_close_ int target = -1;
	int r = 0;

	switch (op->kind) {
	case FS_OP_TMPFS:
		return op_tmpfs(st, op, path, err);
	case FS_OP_BIND:
		return op_bind(st, op, path, err);
	case FS_OP_MKDIR:
		return fs_mkdir_at(st->root, op->dst + 1, op->mode, err);
	case FS_OP_FILE:
		return op_file(st, op, err);
	case FS_OP_SYMLINK:
		return make_symlink(st, op->src, op->dst, err);
	case FS_OP_ATTACH:
		return op_attach(st, op, err);
	case FS_OP_LAYER:
		return op_layer(st, op, err);
	case FS_OP_CHECK:
		return op_check(st, op, err);
	case FS_OP_DETACH:
		/* the path is in the root tmpfs nucleus made, and the layer
		 * skipped its name: nothing of the tree sits there */
		if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			return nerr_set(err, errno, "detach `%s`", op->dst);
		if (unlinkat(st->root, op->dst + 1, AT_REMOVEDIR) < 0)
			return nerr_set(err, errno, "remove `%s`", op->dst);
		return 0;
	case FS_OP_COPY:
		return op_copy(st, op, err);
	case FS_OP_EXEC:
		return op_exec(st, op, err);
	case FS_OP_DEV:
		return fs_op_dev(op, st->root, err);
	case FS_OP_PROC:
		return fs_op_proc(op, st->root, err);
	case FS_OP_MASK:
		return op_mask(st, op, err);
	case FS_OP_REMOUNT:
		/* exactly the attributes, as a bind remount would set them */
		if ((target = open_target(st, op->dst, err)) < 0)
			return target;
		if ((r = fs_setattr_fd(target, op->flags & FS_ATTRS, FS_ATTRS & ~(op->flags & FS_ATTRS), false,
				       path, err)) < 0)
			return strcmp(op->dst, "/") ? nerr_set(err, -r, "remount %s", op->dst)
						    : nerr_set(err, -r, "make the root read-only");
		return 0;
	case FS_OP_PIVOT:
		return fs_switch_root(path, op->flags & FS_CHROOT, err);
	}
	return nerr_set(err, EINVAL, "unknown filesystem op %d", op->kind);
}

int fs_ops_execute(const struct fs_ops *ops, const char *staging, struct nerr *err)
{
	struct exec_state st = { .staging = staging, .root = -1, .dir = -1, .mask_fd = -1, .empty_fd = -1 };
	int r = 0;

	/* Nothing we mount may propagate back to the host, nor the host's
	 * later mounts into the container. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return nerr_set(err, errno, "make mounts private");
	for (size_t i = 0; i < ops->n && r == 0; i++) {
		const struct fs_op *op = &ops->v[i];

		if (log_threshold >= LOG_DEBUG) {
			_cleanup_free_ char *d = fs_op_describe(op);
			log_debug("fs: %s", d);
		}
		/* the root is what is mounted on the staging directory: opened
		 * by its path (see above) once something goes in it */
		if (st.root < 0 && strcmp(op->dst, "/") &&
		    (st.root = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			r = nerr_set(err, errno, "open `%s`", staging);
			break;
		}
		r = run_op(&st, op, err);
		/* the masks' source is kept only across masks in a row (their
		 * mounts are elsewhere) */
		if (op->kind != FS_OP_MASK && st.mask_fd >= 0) {
			close(st.mask_fd);
			st.mask_fd = -1;
			st.mask_src = NULL;
		}
		if (op->kind != FS_OP_MASK && st.empty_fd >= 0) {
			close(st.empty_fd);
			st.empty_fd = -1;
		}
		if (op->kind == FS_OP_TMPFS || op->kind == FS_OP_BIND || op->kind == FS_OP_ATTACH ||
		    op->kind == FS_OP_EXEC || op->kind == FS_OP_DEV || op->kind == FS_OP_PROC ||
		    op->kind == FS_OP_MASK || op->kind == FS_OP_LAYER || op->kind == FS_OP_DETACH) {
			/* a mount hides what the kept fds point to */
			forget_dir(&st);
			if (!strcmp(op->dst, "/") && st.root >= 0) {
				close(st.root);
				st.root = -1;
			}
		}
	}
	forget_dir(&st);
	if (st.mask_fd >= 0)
		close(st.mask_fd);
	if (st.empty_fd >= 0)
		close(st.empty_fd);
	if (st.root >= 0)
		close(st.root);
	return r;
}
