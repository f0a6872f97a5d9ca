/* /proc of the container's pid namespace, with the kernel's sensitive files
 * masked and the tunables read-only. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <nucleus/filesystem.h>
#include "fs_internal.h"

/* Read as empty: files get /dev/null bound over them, directories an
 * empty read-only tmpfs. */
static const char *const masked[] = {
	"kcore", "kallsyms", "keys", "key-users", "sysrq-trigger", "timer_list",
	"timer_stats", "sched_debug", "latency_stats", "kpagecount", "kpageflags",
	"kpagecgroup", "config.gz", "vmcore", "acpi", "asound", "scsi", "firmware",
};
static const char *const readonly[] = { "sys", "bus", "irq", "fs" };

int fs_setup_proc(const struct fs_spec *s, int root, struct nerr *err)
{
	_cleanup_free_ char *proc = xasprintf("%s/proc", s->staging);
	_cleanup_free_ char *null = xasprintf("%s/dev/null", s->staging);
	int r;

	if ((r = fs_mkdir_at(root, "proc", 0555, err)) < 0)
		return r;
	if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return nerr_set(err, errno, "mount /proc");
	if (s->proc_rw)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(readonly); i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", proc, readonly[i]);

		if (access(p, F_OK) < 0)
			continue;
		if ((r = fs_bind(p, p, true, err)) < 0)
			return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(masked); i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", proc, masked[i]);
		struct stat st;

		if (lstat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
				  "size=0,nr_inodes=1,mode=0555") < 0)
				return nerr_set(err, errno, "mask /proc/%s", masked[i]);
		} else if (mount(null, p, NULL, MS_BIND, NULL) < 0) {
			return nerr_set(err, errno, "mask /proc/%s", masked[i]);
		}
	}
	return 0;
}
