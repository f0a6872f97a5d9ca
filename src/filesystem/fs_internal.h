/* The filesystem module's op list: fs_plan (root.c) turns a spec into an
 * ordered list of ops, without a syscall; fs_ops_execute (ops.c) runs it
 * in the child. Rootfs, volumes, secrets or --tmpfs are more ops of these
 * kinds, not new code paths. Shared between the files of the module only. */
#ifndef NUCLEUS_FS_INTERNAL_H
#define NUCLEUS_FS_INTERNAL_H

#include <sys/mount.h>
#include <nucleus/filesystem.h>

enum fs_op_kind {
	FS_OP_TMPFS,     /* a tmpfs on dst (mode, size, inodes, options; src: the
	                  * source name, NULL "tmpfs"); dst "/" is the root itself */
	FS_OP_BIND,      /* src (a host path; FS_SRC_IN_ROOT: in the new root) on
	                  * dst, the mount point made like the source; fd >= 0:
	                  * the source must be that directory */
	FS_OP_MKDIR,     /* dst, mode */
	FS_OP_FILE,      /* dst with content, or a host file's (src), mode */
	FS_OP_SYMLINK,   /* dst -> src */
	FS_OP_ATTACH,    /* the detached mount fd attached on dst (a directory or
	                  * a file, like the mount's root) */
	FS_OP_LAYER,     /* each entry of the directory src (in the new root, no
	                  * symlink followed) at dst/<name>: directories and files
	                  * bound with the attributes, symlinks recreated; names
	                  * in skip left out; FS_KEEP: an existing dst/<name> is
	                  * left alone; FS_TRY: a missing src skips */
	FS_OP_DETACH,    /* the mount on dst detached and its directory removed */
	FS_OP_CHECK,     /* check(dst's fd, src's fd or -1, check_arg): both
	                  * directories in the new root, opened read-only */
	FS_OP_COPY,      /* the tree of fd copied into the mount on dst, which is
	                  * then capped at what it holds plus size */
	FS_OP_EXEC,      /* the subtree dst of a mount made executable */
	FS_OP_DEV,       /* /dev (dev.c) */
	FS_OP_PROC,      /* procfs on dst (options: e.g. hidepid) (proc.c) */
	FS_OP_MASK,      /* dst reads as empty: an empty read-only tmpfs on a
	                  * directory, src (in the new root) bound on a file */
	FS_OP_REMOUNT,   /* the mount on dst gets exactly the attributes */
	FS_OP_PIVOT,     /* enter the new root */
};

enum {
	/* mount attributes: the kernel's MOUNT_ATTR_ bits */
	FS_RDONLY = MOUNT_ATTR_RDONLY,
	FS_NOSUID = MOUNT_ATTR_NOSUID,
	FS_NODEV = MOUNT_ATTR_NODEV,
	FS_NOEXEC = MOUNT_ATTR_NOEXEC,
	FS_REC = 1u << 4,         /* BIND: the mounts below the source too */
	FS_TRY = 1u << 5,         /* a missing source skips the op */
	FS_KEEP_LINK = 1u << 6,   /* BIND: a symlink source becomes the same symlink */
	FS_DIR_ONLY = 1u << 7,    /* BIND: a source that is not a directory is skipped */
	FS_SRC_IN_ROOT = 1u << 8, /* src is a path in the new root */
	FS_KEEP = 1u << 9,        /* FILE: an existing dst is left alone */
	FS_MKDIRS = 1u << 10,     /* EXEC: create the missing directories */
	FS_USERNS = 1u << 11,     /* DEV: bind the host's nodes (no mknod) */
	FS_CHROOT = 1u << 12,     /* PIVOT: chroot when pivot_root is refused */
};
#define FS_ATTRS (FS_RDONLY | FS_NOSUID | FS_NODEV | FS_NOEXEC)

struct fs_op {
	enum fs_op_kind kind;
	unsigned flags;
	const char *src;           /* host path, symlink target, tmpfs source */
	const char *dst;           /* absolute path inside the new root */
	const char *content;       /* FILE */
	const char *options;       /* more mount options (TMPFS, PROC) */
	const char *label;         /* how errors name it ("context") */
	mode_t mode;
	uint64_t size;             /* TMPFS: bytes (0: no size=); COPY: growth */
	unsigned inodes;           /* TMPFS: nr_inodes (0: none) */
	int fd;                    /* ATTACH, COPY, BIND: see the kinds; else -1 */
	struct copy_skipped *skipped;  /* COPY: out (may be NULL) */
	const char *const *skip;   /* LAYER: names left out (NULL-terminated) */
	fs_rootfs_check_fn check;  /* CHECK */
	void *check_arg;
};

struct fs_ops {
	struct fs_op *v;
	size_t n, cap;
	char **owned;              /* strings the ops point to */
};

/* The ops for `s`, in order; no syscall. */
int fs_plan(const struct fs_spec *s, struct fs_ops *out, struct nerr *err);
/* Run the ops in the child's mount namespace; the new root is mounted on
 * `staging` and entered by the PIVOT op. */
int fs_ops_execute(const struct fs_ops *ops, const char *staging, struct nerr *err);

/* Building a plan (oplist.c). */
struct fs_op *fs_ops_add(struct fs_ops *ops, enum fs_op_kind kind, const char *dst, unsigned flags);
/* `s`, kept until fs_ops_free */
const char *fs_ops_own(struct fs_ops *ops, char *s);
void fs_ops_free(struct fs_ops *ops);
/* One line for the debug log and the tests: "bind /usr src=/usr ro nosuid ..." */
char *fs_op_describe(const struct fs_op *op);

/* The planners of the parts (pure) and the executors of the composite
 * ops; each depends on mount.h only. */
void fs_plan_etc(const struct fs_spec *s, struct fs_ops *ops);
/* /etc over a rootfs: the generated files, the rootfs's own etc layered
 * under them from `src` (its etc in the new root), defaults where neither
 * has one. */
void fs_plan_etc_rootfs(const struct fs_spec *s, const char *src, struct fs_ops *ops);
void fs_plan_proc(const struct fs_spec *s, struct fs_ops *ops);
/* The hidepid= option /proc is mounted with for `s` ("hidepid=invisible"),
 * NULL for none. */
const char *fs_proc_hidepid_option(const struct fs_spec *s);
/* fs_audit on a mountinfo stream (audit.c). */
int fs_audit_mountinfo(const struct fs_spec *s, FILE *f, struct nerr *err);
int fs_op_dev(const struct fs_op *op, int root, struct nerr *err);
int fs_op_proc(const struct fs_op *op, int root, struct nerr *err);

/* Cap a copied context's tmpfs (its mount, or a directory on it) at what
 * it holds plus `grow` bytes (context.c). */
int fs_context_cap(int mount_fd, uint64_t grow, struct nerr *err);

#endif
