/* Where runtime state lives. */
#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <nucleus/container.h>

const char *runtime_dir(void)
{
	static char dir[4096];
	const char *env;

	if (dir[0])
		return dir;
	if ((env = getenv("NUCLEUS_ROOT")) && *env == '/')
		snprintf(dir, sizeof(dir), "%s", env);
	else if (geteuid() == 0)
		snprintf(dir, sizeof(dir), "/run/nucleus");
	else if ((env = getenv("XDG_RUNTIME_DIR")) && *env == '/')
		snprintf(dir, sizeof(dir), "%s/nucleus", env);
	else
		snprintf(dir, sizeof(dir), "/tmp/nucleus-%u", (unsigned)geteuid());
	return dir;
}

/* No container state: nothing but (empty) hidden directories like .names. */
static bool dir_empty(const char *path)
{
	_cleanup_closedir_ DIR *d = opendir(path);
	struct dirent *de;

	if (!d)
		return false;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_name[0] == '.') {
			_cleanup_free_ char *sub = xasprintf("%s/%s", path, de->d_name);
			if (rmdir(sub) == 0)
				continue;
		}
		return false;
	}
	return true;
}

int runtime_dir_prepare(struct nerr *err)
{
	const char *rt = runtime_dir();
	struct statfs sf;
	int r;

	/* 0711: a user-namespaced child must traverse to its staging dir;
	 * it cannot list the others, and their files are 0600. */
	if ((r = mkdir_p(rt, 0711)) < 0)
		return nerr_set(err, -r, "create runtime directory `%s`", rt);
	/* Runtime state belongs in memory: it means nothing after a reboot,
	 * and every state write is fsync'd. Where /run is not a tmpfs (some
	 * VMs and containers), the runtime directory gets one of its own. */
	if (geteuid() == 0 && statfs(rt, &sf) == 0 && sf.f_type != TMPFS_MAGIC && dir_empty(rt)) {
		if (mount("tmpfs", rt, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0711,size=64m") < 0)
			log_debug("cannot mount a tmpfs on %s: %s", rt, strerror(errno));
	}
	return 0;
}
