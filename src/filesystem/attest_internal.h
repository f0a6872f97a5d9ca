/* Shared between attest.c (the manifest) and attest_walk.c (the tree). */
#ifndef NUCLEUS_ATTEST_INTERNAL_H
#define NUCLEUS_ATTEST_INTERNAL_H

#include <nucleus/attest.h>

#define ATTEST_STORE_PREFIX ATTEST_STORE_DIR "/"

/* NULL when path may be in a manifest, else why not. */
const char *attest_path_unsafe(const char *path);
/* A store path's name (what follows /nix/store/) may be one: NULL, or why not. */
const char *attest_store_name_unsafe(const char *name);

/* openat2(dirfd, rel, flags | O_NOFOLLOW | O_CLOEXEC, beneath, no symlink
 * in any component, no magic link). Returns the fd or -errno. */
int attest_open_beneath(int dirfd, const char *rel, int flags);
/* A whole regular file beneath dirfd, at most max bytes (NUL-terminated):
 * 0, -ENOENT, -EFBIG, -EINVAL (not a regular file), -ELOOP (a symlink), -errno. */
int attest_read_beneath(int dirfd, const char *name, size_t max, char **out, size_t *len);

/* Set err to a difference: the message, code ATTEST_DIFFERS. */
int attest_differs(struct nerr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
