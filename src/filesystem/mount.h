/* The mount primitives of the filesystem module: what the op interpreter
 * (ops.c) and the op-specific files (dev.c, proc.c) build with. They know
 * nothing of ops or of the spec. Paths are host paths (the new root is
 * still below the staging directory); `rel` names are relative to a
 * directory fd. */
#ifndef NUCLEUS_FS_MOUNT_H
#define NUCLEUS_FS_MOUNT_H

#include <stdbool.h>
#include <sys/types.h>
#include <nucleus/util.h>

/* The mount(2) flags of MOUNT_ATTR_ attributes. */
unsigned long fs_ms_flags(unsigned attrs);
/* mkdir, an existing directory being fine. */
int fs_mkdir_at(int dir, const char *rel, mode_t mode, struct nerr *err);
/* The directories above `rel` (0755), e.g. etc/ssl for etc/ssl/certs. */
int fs_mkparents_at(int dir, const char *rel, struct nerr *err);
/* openat2 beneath `root`: `rel` resolved as if `root` were `/`, no symlink
 * followed on the way. Returns the fd or a negative errno (no message). */
int fs_open_in_root(int root, const char *rel, int flags);
/* Set mount attributes (MOUNT_ATTR_*) on the mount at `path` (and those
 * below it when recursive). */
int fs_mount_setattr(const char *path, unsigned attrs, bool recursive, struct nerr *err);
/* Read-only, nosuid, nodev for a mount and everything below it. */
int fs_make_readonly(const char *path, bool recursive, struct nerr *err);
/* Bind `src` on `dst` (with the mounts below it when recursive), then set
 * `attrs` (MOUNT_ATTR_*, 0: none) on the bind. */
int fs_bind(const char *src, const char *dst, unsigned attrs, bool recursive, struct nerr *err);
/* Enter the new root at `path`: pivot_root and detach the old one, or
 * chroot when pivot_root is refused and `allow_chroot`. The cwd is "/". */
int fs_switch_root(const char *path, bool allow_chroot, struct nerr *err);

#endif
