/* Building and showing an op list; what the planners (root.c, etc.c,
 * proc.c) and the tests use, nothing that runs. */
#include <nucleus/filesystem.h>
#include "fs_internal.h"

struct fs_op *fs_ops_add(struct fs_ops *ops, enum fs_op_kind kind, const char *dst, unsigned flags)
{
	if (ops->n == ops->cap) {
		ops->cap = ops->cap ? ops->cap * 2 : 64;
		ops->v = xrealloc(ops->v, ops->cap * sizeof(*ops->v));
	}
	ops->v[ops->n] = (struct fs_op){ .kind = kind, .dst = dst, .flags = flags, .fd = -1 };
	return &ops->v[ops->n++];
}

const char *fs_ops_own(struct fs_ops *ops, char *s)
{
	strv_push_take(&ops->owned, s);
	return s;
}

void fs_ops_free(struct fs_ops *ops)
{
	free(ops->v);
	strv_free(ops->owned);
	*ops = (struct fs_ops){ 0 };
}

char *fs_op_describe(const struct fs_op *op)
{
	static const char *const kinds[] = {
		[FS_OP_TMPFS] = "tmpfs", [FS_OP_BIND] = "bind", [FS_OP_MKDIR] = "mkdir",
		[FS_OP_FILE] = "file", [FS_OP_SYMLINK] = "symlink", [FS_OP_ATTACH] = "attach",
		[FS_OP_COPY] = "copy", [FS_OP_EXEC] = "exec", [FS_OP_DEV] = "dev", [FS_OP_PROC] = "proc",
		[FS_OP_MASK] = "mask", [FS_OP_REMOUNT] = "remount", [FS_OP_PIVOT] = "pivot",
		[FS_OP_LAYER] = "layer", [FS_OP_DETACH] = "detach", [FS_OP_CHECK] = "check",
	};
	static const char *const names[] = {
		"ro", "nosuid", "nodev", "noexec", "rec", "try", "keep-link", "dir-only", "src-in-root",
		"keep", "mkdirs", "userns", "chroot",
	};
	char *t = xasprintf("%s %s", kinds[op->kind], op->dst);
	char *n;

	if (op->src) {
		n = xasprintf("%s src=%s", t, op->src);
		free(t);
		t = n;
	}
	if (op->mode) {
		n = xasprintf("%s mode=%04o", t, (unsigned)op->mode);
		free(t);
		t = n;
	}
	if (op->size) {
		n = xasprintf("%s size=%llu", t, (unsigned long long)op->size);
		free(t);
		t = n;
	}
	if (op->inodes) {
		n = xasprintf("%s inodes=%u", t, op->inodes);
		free(t);
		t = n;
	}
	if (op->options) {
		n = xasprintf("%s options=%s", t, op->options);
		free(t);
		t = n;
	}
	for (size_t i = 0; op->skip && op->skip[i]; i++) {
		n = xasprintf("%s%s%s", t, i ? "," : " skip=", op->skip[i]);
		free(t);
		t = n;
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!(op->flags & (1u << i)))
			continue;
		n = xasprintf("%s %s", t, names[i]);
		free(t);
		t = n;
	}
	return t;
}
