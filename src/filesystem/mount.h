/* The mount primitives of the filesystem module: what the op interpreter
 * (ops.c) and the op-specific files (dev.c, proc.c) build with. They know
 * nothing of ops or of the spec. Sources may be host paths; `rel` names
 * are relative to a directory fd. Mounts go onto the fd of the mount
 * point (open_tree, fsmount, move_mount): no path is resolved again
 * between opening it beneath the root and mounting on it. */
#ifndef NUCLEUS_FS_MOUNT_H
#define NUCLEUS_FS_MOUNT_H

#include <stdbool.h>
#include <sys/types.h>
#include <nucleus/util.h>

/* The mount(2) flags of MOUNT_ATTR_ attributes. */
unsigned long fs_ms_flags(unsigned attrs);
/* mkdir, an existing directory being fine; the directories above it are
 * made too (0755), every component opened beneath `dir` without following
 * a symlink (ELOOP), so nothing in the tree redirects it. */
int fs_mkdir_at(int dir, const char *rel, mode_t mode, struct nerr *err);
/* The directories above `rel` (0755), e.g. etc/ssl for etc/ssl/certs,
 * the same way. */
int fs_mkparents_at(int dir, const char *rel, struct nerr *err);
/* The same walk; returns the fd of the directory `rel`'s last component
 * is in, *last that component. */
int fs_walk_parents_at(int dir, const char *rel, const char **last, struct nerr *err);
/* openat2 beneath `root`: `rel` resolved as if `root` were `/`, no symlink
 * followed on the way. Returns the fd or a negative errno (no message). */
int fs_open_in_root(int root, const char *rel, int flags);
/* Set `set` and clear `clr` (MOUNT_ATTR_*) on the mount `fd` is the root
 * of (and those below it when recursive); `name` for the messages. */
int fs_setattr_fd(int fd, unsigned set, unsigned clr, bool recursive, const char *name, struct nerr *err);
/* A detached clone of the mount at `src` relative to `dir` ("": `dir`
 * itself), with the mounts below it when recursive: the tree's fd.
 * `name` and `dst_name` for the messages. */
int fs_clone_at(int dir, const char *src, bool recursive, const char *name, const char *dst_name,
		struct nerr *err);
/* The detached `tree` given `attrs` (MOUNT_ATTR_*, 0: none), then attached
 * on the mount point `target` (an fd, O_PATH will do). Before 5.12 (no
 * mount_setattr) the attributes can only follow the attach. */
int fs_attach(int tree, int target, unsigned attrs, bool recursive, const char *name, const char *dst_name,
	      struct nerr *err);
/* A new filesystem of `type` (`options` "key=value,flag,..." or NULL;
 * MOUNT_ATTR_RDONLY makes the superblock read-only too, as mount(2)
 * would) mounted on `target` with `attrs`. Returns the new mount's fd
 * (its root) or a negative errno with "`what`: why". */
int fs_mount_new(int target, const char *type, const char *source, const char *options, unsigned attrs,
		 const char *what, struct nerr *err);
/* Enter the new root at `path`: pivot_root and detach the old one, or
 * chroot when pivot_root is refused and `allow_chroot`. The cwd is "/". */
int fs_switch_root(const char *path, bool allow_chroot, struct nerr *err);

#endif
