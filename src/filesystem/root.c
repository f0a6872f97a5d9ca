/* What the container's root holds, as ops (fs_plan): a tmpfs root,
 * read-only host binds or a rootfs's entries, /etc (etc.c), /tmp, /context and its executable
 * subtrees, the volumes and tmpfs mounts (volume.c), /dev, /proc (proc.c), the root made read-only, the switch into
 * it. fs_setup plans and runs the plan (ops.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <nucleus/filesystem.h>
#include "fs_internal.h"

/* Host directories the agent sandbox exposes read-only. A symlink on the
 * host (/bin -> usr/bin on merged-/usr systems) is recreated as a symlink. */
static const char *const host_dirs[] = {
	"/bin", "/sbin", "/usr", "/lib", "/lib64", "/lib32", "/libx32", "/nix",
};

const char *const *fs_root_host_dirs(size_t *n)
{
	*n = ARRAY_SIZE(host_dirs);
	return host_dirs;
}

/* Writable mounts are noexec unless made executable (--allow-exec or a
 * Landlock policy's execute grant; see container/workspace.c). */
static unsigned noexec_unless(const struct fs_spec *s, const char *path)
{
	return strv_contains(s->exec_paths, path) ? 0 : FS_NOEXEC;
}

static void plan_context(const struct fs_spec *s, struct fs_ops *ops)
{
	struct fs_op *op;

	if (s->context_fd < 0)
		return;
	if (s->context_mode == CONTEXT_BIND) {
		/* The fd belongs to the parent's mount namespace and cannot be
		 * the source of a bind here; bind the path and check it is the
		 * same directory the supervisor validated. The same rule as a
		 * copy: no code from the context runs unless it is made
		 * executable. */
		op = fs_ops_add(ops, FS_OP_BIND, "/context", FS_RDONLY | FS_NOSUID | FS_NODEV | FS_REC |
				noexec_unless(s, "/context"));
		op->src = s->context_path;
		op->fd = s->context_fd;
		op->label = "context";
		return;
	}
	if (s->context_mount_fd >= 0) {
		/* the copy the supervisor made */
		op = fs_ops_add(ops, FS_OP_ATTACH, "/context", 0);
		op->fd = s->context_mount_fd;
		op->label = "context";
		return;
	}
	/* A tmpfs of its own, so the root stays read-only while /context is not. */
	op = fs_ops_add(ops, FS_OP_TMPFS, "/context", FS_NOSUID | FS_NODEV | noexec_unless(s, "/context"));
	op->mode = 0755;
	op = fs_ops_add(ops, FS_OP_COPY, "/context", 0);
	op->fd = s->context_fd;
	op->size = s->tmpfs_size;
	op->skipped = s->copy_skipped;
	op->label = "context";
}

/* --rootfs: the supervisor's clone attached out of the way, each of its
 * top-level entries bound read-only into the root (a symlink recreated)
 * except those nucleus provides, the closure's store paths on a tmpfs at
 * /nix/store, /etc layered, the clone's own mount let go. Every bind is
 * a clone of that one tree: what the container sees is what the
 * supervisor opened (and an attestation checks). */
static void plan_rootfs(const struct fs_spec *s, struct fs_ops *ops)
{
	const struct fs_rootfs *rf = s->rootfs;
	struct fs_op *op;

	op = fs_ops_add(ops, FS_OP_ATTACH, FS_ROOTFS_TREE, 0);
	op->fd = rf->tree_fd;
	op->label = "rootfs";
	op = fs_ops_add(ops, FS_OP_LAYER, "/", FS_RDONLY | FS_NOSUID | FS_NODEV | FS_REC);
	op->src = FS_ROOTFS_TREE;
	op->skip = fs_rootfs_skip(rf);
	op->label = "rootfs";
	if (rf->has_store) {
		/* nothing of the host's store but the closure */
		op = fs_ops_add(ops, FS_OP_TMPFS, "/nix/store", FS_NOSUID | FS_NODEV);
		op->mode = 0755;
		/* mount points only, and the targets of store paths that are
		 * symlinks (a page each at most) */
		op->size = (1 << 20) + (uint64_t)rf->n_store * 4096;
		op->inodes = (unsigned)rf->n_store + 16;
		for (size_t i = 0; i < rf->n_store; i++) {
			const char *dst = fs_ops_own(ops, xasprintf("/nix/store/%s", rf->store[i].name));

			if (rf->store[i].link) {
				fs_ops_add(ops, FS_OP_SYMLINK, dst, 0)->src = rf->store[i].link;
				continue;
			}
			op = fs_ops_add(ops, FS_OP_ATTACH, dst, 0);
			op->fd = rf->store[i].fd;
			op->label = "store path";
		}
		fs_ops_add(ops, FS_OP_REMOUNT, "/nix/store", FS_RDONLY | FS_NOSUID | FS_NODEV);
	}
	/* the mounts themselves, read-only and final, before any is used */
	if (s->rootfs_check) {
		op = fs_ops_add(ops, FS_OP_CHECK, FS_ROOTFS_TREE, 0);
		op->src = rf->has_store ? "/nix/store" : NULL;
		op->check = s->rootfs_check;
		op->check_arg = s->rootfs_check_arg;
		op->label = "rootfs";
	}
	fs_plan_etc_rootfs(s, FS_ROOTFS_TREE "/etc", ops);
	fs_ops_add(ops, FS_OP_DETACH, FS_ROOTFS_TREE, 0);
}

/* What nucleus puts under /run: the secrets' tmpfs, staged and read-only
 * already (fs_secrets_stage), at /run/secrets, and a read-only bind of its
 * file for each DEST outside it (the bind's source is the tmpfs, so no
 * host path is in mountinfo); --sd-notify=container's socket directory,
 * bound read-only at /run/notify (a socket on a read-only mount still
 * takes datagrams). Over a rootfs, /run is a tmpfs of nucleus (read-only
 * once they are in): the rootfs's own /run may be read-only or a symlink. */
static void plan_run(const struct fs_spec *s, struct fs_ops *ops)
{
	struct fs_op *op;

	if (s->secrets_mount_fd < 0 && !s->notify_dir)
		return;
	if (s->rootfs) {
		op = fs_ops_add(ops, FS_OP_TMPFS, "/run", FS_NOSUID | FS_NODEV | FS_NOEXEC);
		op->mode = 0755;
		op->size = 64 << 10;
		op->inodes = 64;
	}
	if (s->secrets_mount_fd >= 0) {
		op = fs_ops_add(ops, FS_OP_ATTACH, FS_SECRETS_DIR, 0);
		op->fd = s->secrets_mount_fd;
		op->label = "secrets";
	}
	for (size_t i = 0; s->secrets_mount_fd >= 0 && i < s->n_secrets; i++) {
		const struct fs_secret *sec = &s->secrets[i];

		if (str_has_prefix(sec->dest, FS_SECRETS_DIR "/"))
			continue;
		op = fs_ops_add(ops, FS_OP_BIND, sec->dest, FS_RDONLY | FS_NOSUID | FS_NODEV | FS_NOEXEC | FS_SRC_IN_ROOT);
		op->src = fs_ops_own(ops, xasprintf("%s/%s", FS_SECRETS_DIR, fs_secret_name(sec)));
		op->label = "secret";
	}
	if (s->notify_dir) {
		op = fs_ops_add(ops, FS_OP_BIND, FS_NOTIFY_DIR, FS_RDONLY | FS_NOSUID | FS_NODEV | FS_NOEXEC);
		op->src = s->notify_dir;
		op->label = "sd_notify socket";
	}
	if (s->rootfs)
		fs_ops_add(ops, FS_OP_REMOUNT, "/run", FS_RDONLY | FS_NOSUID | FS_NODEV | FS_NOEXEC);
}

/* --volume and --tmpfs, in the order of their destinations: a parent
 * before what is mounted beneath it (a prefix sorts first). Mount points
 * are made by the interpreter without following a symlink, beneath the
 * root: one in a rootfs or in an earlier volume fails the run instead of
 * sending a mount elsewhere. */
struct mount_ref {
	const char *dest;
	size_t volume;             /* its index, or SIZE_MAX: a tmpfs */
	size_t tmpfs;
};

static int cmp_dest(const void *a, const void *b)
{
	return strcmp(((const struct mount_ref *)a)->dest, ((const struct mount_ref *)b)->dest);
}

static void plan_mounts(const struct fs_spec *s, struct fs_ops *ops)
{
	size_t n = s->n_volumes + s->n_tmpfs;
	_cleanup_free_ struct mount_ref *v = xcalloc(n ? n : 1, sizeof(*v));
	struct fs_op *op;

	for (size_t i = 0; i < s->n_volumes; i++)
		v[i] = (struct mount_ref){ s->volumes[i].dest, i, 0 };
	for (size_t i = 0; i < s->n_tmpfs; i++)
		v[s->n_volumes + i] = (struct mount_ref){ s->tmpfs[i].dest, SIZE_MAX, i };
	qsort(v, n, sizeof(*v), cmp_dest);
	for (size_t i = 0; i < n; i++) {
		if (v[i].volume != SIZE_MAX) {
			const struct fs_volume *vol = &s->volumes[v[i].volume];

			if (s->volume_clones) {
				/* the supervisor's clone, its attributes set */
				op = fs_ops_add(ops, FS_OP_ATTACH, vol->dest, 0);
			} else {
				/* the path bound here, checked to be what the
				 * supervisor opened (as a bound /context) */
				op = fs_ops_add(ops, FS_OP_BIND, vol->dest, fs_volume_attrs(vol) | FS_REC);
				op->src = vol->src;
			}
			op->fd = s->volume_fds ? s->volume_fds[v[i].volume] : -1;
			op->label = "volume";
			continue;
		}
		const struct fs_tmpfs *t = &s->tmpfs[v[i].tmpfs];

		op = fs_ops_add(ops, FS_OP_TMPFS, t->dest, FS_NOSUID | FS_NODEV | (t->exec ? 0 : FS_NOEXEC));
		op->mode = t->mode;
		op->size = t->size;
		op->label = "tmpfs";
	}
}

int fs_plan(const struct fs_spec *s, struct fs_ops *ops, struct nerr *err)
{
	struct fs_op *op;

	*ops = (struct fs_ops){ 0 };
	op = fs_ops_add(ops, FS_OP_TMPFS, "/", FS_NOSUID | FS_NODEV);
	op->mode = 0755;
	op->size = 4 << 20;
	op->inodes = 4096;
	if (s->rootfs) {
		plan_rootfs(s, ops);
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(host_dirs); i++)
			fs_ops_add(ops, FS_OP_BIND, host_dirs[i], FS_RDONLY | FS_NOSUID | FS_NODEV | FS_REC |
				   FS_TRY | FS_KEEP_LINK | FS_DIR_ONLY)->src = host_dirs[i];
		fs_plan_etc(s, ops);
	}
	op = fs_ops_add(ops, FS_OP_TMPFS, "/tmp", FS_NOSUID | FS_NODEV | noexec_unless(s, "/tmp"));
	op->mode = 01777;
	op->size = s->tmpfs_size;
	plan_context(s, ops);
	/* a subtree of /tmp or /context made executable: created where the
	 * workspace is writable */
	for (size_t i = 0; s->exec_paths && s->exec_paths[i]; i++) {
		const char *p = s->exec_paths[i];

		if (!strcmp(p, "/tmp") || !strcmp(p, "/context"))
			continue;    /* mounted executable */
		fs_ops_add(ops, FS_OP_EXEC, p,
			   str_has_prefix(p, "/tmp/") || s->context_mode == CONTEXT_COPY ? FS_MKDIRS : 0);
	}
	plan_run(s, ops);
	plan_mounts(s, ops);
	fs_ops_add(ops, FS_OP_DEV, "/dev", s->userns ? FS_USERNS : 0);
	fs_plan_proc(s, ops);
	fs_ops_add(ops, FS_OP_REMOUNT, "/", FS_RDONLY | FS_NOSUID | FS_NODEV);
	fs_ops_add(ops, FS_OP_PIVOT, "/", s->allow_chroot ? FS_CHROOT : 0);
	(void)err;
	return 0;
}

int fs_setup(const struct fs_spec *s, struct nerr *err)
{
	struct fs_ops ops;
	int r;

	if ((r = fs_plan(s, &ops, err)) == 0)
		r = fs_ops_execute(&ops, s->staging, err);
	fs_ops_free(&ops);
	return r;
}
