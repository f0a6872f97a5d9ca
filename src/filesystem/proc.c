/* /proc of the container's pid namespace, with the kernel's sensitive files
 * masked and the tunables read-only: the ops (fs_plan_proc) and the mount
 * itself (fs_op_proc). */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mount.h>
#include <nucleus/filesystem.h>
#include "fs_internal.h"
#include "mount.h"

/* Read as empty: files get /dev/null bound over them, directories an
 * empty read-only tmpfs. */
static const char *const masked[] = {
	"/proc/kcore", "/proc/kallsyms", "/proc/keys", "/proc/key-users", "/proc/sysrq-trigger",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/latency_stats",
	"/proc/kpagecount", "/proc/kpageflags", "/proc/kpagecgroup", "/proc/config.gz", "/proc/vmcore",
	"/proc/acpi", "/proc/asound", "/proc/scsi", "/proc/firmware",
};
static const char *const readonly[] = { "/proc/sys", "/proc/bus", "/proc/irq", "/proc/fs" };

const char *const *fs_proc_masked_paths(size_t *n)
{
	*n = ARRAY_SIZE(masked);
	return masked;
}

const char *const *fs_proc_readonly_paths(size_t *n)
{
	*n = ARRAY_SIZE(readonly);
	return readonly;
}

const char *fs_proc_hidepid_option(const struct fs_spec *s)
{
	/* the names, not the numbers: the kernel prints the names back in
	 * mountinfo, which the audit reads */
	static const char *const opt[] = { NULL, "hidepid=noaccess", "hidepid=invisible" };

	return s->proc_hidepid > 0 && s->proc_hidepid < (int)ARRAY_SIZE(opt) ? opt[s->proc_hidepid] : NULL;
}

void fs_plan_proc(const struct fs_spec *s, struct fs_ops *ops)
{
	struct fs_op *p = fs_ops_add(ops, FS_OP_PROC, "/proc", FS_NOSUID | FS_NODEV | FS_NOEXEC);

	p->mode = 0555;
	p->options = fs_proc_hidepid_option(s);
	if (s->proc_rw)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(readonly); i++)
		fs_ops_add(ops, FS_OP_BIND, readonly[i],
			   FS_RDONLY | FS_NOSUID | FS_NODEV | FS_REC | FS_TRY | FS_SRC_IN_ROOT)->src = readonly[i];
	for (size_t i = 0; i < ARRAY_SIZE(masked); i++)
		fs_ops_add(ops, FS_OP_MASK, masked[i], FS_TRY | FS_SRC_IN_ROOT)->src = "/dev/null";
}

int fs_op_proc(const struct fs_op *op, int root, struct nerr *err)
{
	_cleanup_close_ int target = -1;
	int fd, r;

	if ((r = fs_mkdir_at(root, op->dst + 1, op->mode, err)) < 0)
		return r;
	_cleanup_free_ char *what = xasprintf("mount %s", op->dst);
	if ((target = fs_open_in_root(root, op->dst + 1, O_PATH)) < 0)
		return nerr_set(err, -target, "%s", what);
	if ((fd = fs_mount_new(target, "proc", "proc", op->options, op->flags & FS_ATTRS, what, err)) < 0)
		return fd;
	close(fd);
	return 0;
}
