/* Shared between the files of the filesystem module only. */
#ifndef NUCLEUS_FS_INTERNAL_H
#define NUCLEUS_FS_INTERNAL_H

#include <nucleus/filesystem.h>

int fs_mkdir_at(int root, const char *rel, mode_t mode, struct nerr *err);
int fs_make_readonly(const char *path, bool recursive, struct nerr *err);
int fs_bind(const char *src, const char *dst, bool readonly, struct nerr *err);
int fs_setup_etc(const struct fs_spec *s, int root, struct nerr *err);
int fs_setup_dev(const struct fs_spec *s, int root, struct nerr *err);
int fs_setup_proc(const struct fs_spec *s, int root, struct nerr *err);

#endif
