/* Where runtime state lives, and whether it can be trusted. */
#include <errno.h>
#include <fcntl.h>
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

/* A path is looked up again at every use: whoever may rename an entry
 * above the runtime directory could put another directory in its place
 * after the check. Only root and the caller may own the directories above
 * it; one that others may write must be sticky (/tmp), where they cannot
 * rename what is ours. */
static int ancestors_check(const char *rt, struct nerr *err)
{
	_cleanup_free_ char *p = xstrdup(rt);
	uid_t me = geteuid();
	char *slash;

	while ((slash = strrchr(p, '/'))) {
		struct stat st;

		if (slash == p)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(p, &st) == 0 &&
		    ((st.st_uid != 0 && st.st_uid != me) || ((st.st_mode & 022) && !(st.st_mode & S_ISVTX)))) {
			nerr_set(err, 0, "`%s`, above the runtime directory `%s`, is %s: refusing it", p, rt,
				 st.st_uid != 0 && st.st_uid != me ? "owned by another user" : "writable by others");
			if (err)
				err->code = EPERM;
			return -EPERM;
		}
		if (slash == p)
			break;
	}
	return 0;
}

static int rt_fd = -1;

int runtime_dir_fd(struct nerr *err)
{
	const char *rt = runtime_dir();
	int fd, r;

	if (rt_fd >= 0)
		return rt_fd;
	if ((r = ancestors_check(rt, err)) < 0)
		return r;
	fd = open_trusted_at(AT_FDCWD, rt, O_RDONLY | O_DIRECTORY, 0, S_IFDIR, "runtime directory", rt, err);
	if (fd < 0)
		return fd;
	rt_fd = fd;
	return fd;
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

	/* opened again below: a tmpfs may be mounted over what was open */
	if (rt_fd >= 0)
		close(rt_fd);
	rt_fd = -1;
	if ((r = ancestors_check(rt, err)) < 0)
		return r;
	/* 0711: a user-namespaced child must traverse to its staging dir;
	 * it cannot list the others, and their files are 0600. */
	if ((r = mkdir_p(rt, 0711)) < 0)
		return nerr_set(err, -r, "create runtime directory `%s`", rt);
	/* before anything is done in it: someone else's directory (made
	 * before ours could be) is refused, not used */
	if ((r = runtime_dir_fd(err)) < 0)
		return r;
	/* Runtime state belongs in memory: it means nothing after a reboot,
	 * and every state write is fsync'd. Where /run is not a tmpfs (some
	 * VMs and containers), the runtime directory gets one of its own. */
	if (geteuid() == 0 && statfs(rt, &sf) == 0 && sf.f_type != TMPFS_MAGIC && dir_empty(rt)) {
		if (mount("tmpfs", rt, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0711,size=64m") < 0)
			log_debug("cannot mount a tmpfs on %s: %s", rt, strerror(errno));
		close(rt_fd);
		rt_fd = -1;
		if ((r = runtime_dir_fd(err)) < 0)
			return r;
	}
	return 0;
}
