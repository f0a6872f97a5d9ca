/* After pivot_root: read back the mount table and refuse to run when a
 * mount that should be read-only is writable. The mounts were made by us a
 * moment ago; this catches a flag silently ignored by a kernel or a
 * filesystem, not an attacker. Volumes and tmpfs mounts are writable and
 * executable only as they were asked to be. /proc's hidepid, when asked for, is checked
 * the same way. */
#include <errno.h>
#include <string.h>
#include <nucleus/filesystem.h>
#include "fs_internal.h"

/* `mnt` is `dir` or a mount beneath it (a volume's clone is recursive). */
static bool at_or_under(const char *mnt, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(mnt, dir, n) && (mnt[n] == '\0' || mnt[n] == '/');
}

/* The volumes and tmpfs mounts that were asked to be writable (`exec`
 * false) or executable (`exec` true): mounted so on purpose. */
static bool volume_allows(const struct fs_spec *s, const char *mnt, bool exec)
{
	for (size_t i = 0; i < s->n_volumes; i++)
		if ((exec ? s->volumes[i].exec : s->volumes[i].access == FS_VOLUME_RW) &&
		    at_or_under(mnt, s->volumes[i].dest))
			return true;
	for (size_t i = 0; i < s->n_tmpfs; i++)
		if ((!exec || s->tmpfs[i].exec) && !strcmp(mnt, s->tmpfs[i].dest))
			return true;
	return false;
}

static bool writable_ok(const struct fs_spec *s, const char *mnt)
{
	static const char *const rw[] = { "/tmp", "/dev/shm", "/dev/pts", "/proc" };

	for (size_t i = 0; i < ARRAY_SIZE(rw); i++)
		if (!strcmp(mnt, rw[i]))
			return true;
	if (s->context_fd >= 0 && s->context_mode == CONTEXT_COPY && !strcmp(mnt, "/context"))
		return true;
	/* an executable subtree of /tmp or of a copied /context */
	if (strv_contains(s->exec_paths, mnt) &&
	    (str_has_prefix(mnt, "/tmp/") || (s->context_mode == CONTEXT_COPY && str_has_prefix(mnt, "/context/"))))
		return true;
	if (volume_allows(s, mnt, false))
		return true;
	/* masked /proc files are /dev/null binds, themselves harmless */
	if (str_has_prefix(mnt, "/proc/") && !str_has_prefix(mnt, "/proc/sys") &&
	    strcmp(mnt, "/proc/bus") && strcmp(mnt, "/proc/irq") && strcmp(mnt, "/proc/fs"))
		return true;
	return false;
}

static bool opt_has(const char *opts, const char *o)
{
	size_t n = strlen(o);

	for (const char *p = opts; (p = strstr(p, o)); p += n)
		if ((p == opts || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

/* The superblock options of a mountinfo line: the third word after " - "
 * (the filesystem type and the source come first); "" when malformed. */
static const char *super_options(const char *line)
{
	const char *p = strstr(line, " - ");

	if (!p || !(p = strchr(p + 3, ' ')) || !(p = strchr(p + 1, ' ')))
		return "";
	return p + 1;
}

int fs_audit_mountinfo(const struct fs_spec *s, FILE *f, struct nerr *err)
{
	const char *hidepid = fs_proc_hidepid_option(s);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int r = 0;
	bool proc_seen = false;

	if (s->proc_hidepid && !hidepid)
		return nerr_set(err, EINVAL, "mount audit: unknown hidepid=%d for /proc", s->proc_hidepid);
	while (r == 0 && (len = getline(&line, &cap, f)) > 0) {
		char *save = NULL, *mnt = NULL, *opts = NULL;
		_cleanup_free_ char *super = NULL;
		int field = 0;

		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		super = xstrdup(super_options(line));
		for (char *t = strtok_r(line, " ", &save); t && field < 6; t = strtok_r(NULL, " ", &save)) {
			field++;
			if (field == 5)
				mnt = t;
			else if (field == 6)
				opts = t;
		}
		if (!mnt || !opts)
			continue;
		bool writable = !opt_has(opts, "ro");

		if (writable && !writable_ok(s, mnt))
			r = nerr_set(err, EPERM, "mount audit: `%s` is writable", mnt);
		/* what the workload can write (and the context it was given)
		 * cannot be executed unless it was made executable */
		else if ((writable || !strcmp(mnt, "/context") || str_has_prefix(mnt, "/context/")) &&
			 !opt_has(opts, "noexec") && !strv_contains(s->exec_paths, mnt) && !volume_allows(s, mnt, true))
			r = nerr_set(err, EPERM, "mount audit: `%s` allows execution (noexec expected)", mnt);
		else if (!opt_has(opts, "nosuid") && strcmp(mnt, "/"))
			r = nerr_set(err, EPERM, "mount audit: `%s` allows setuid", mnt);
		/* hidepid is the superblock's: a kernel that ignored it would
		 * show every process of the namespace to every uid */
		else if (!strcmp(mnt, "/proc") && hidepid) {
			proc_seen = true;
			if (!opt_has(super, hidepid))
				r = nerr_set(err, EPERM, "mount audit: `/proc` lacks %s (it has `%s`)", hidepid, super);
		}
	}
	free(line);
	if (r == 0 && hidepid && !proc_seen)
		r = nerr_set(err, EPERM, "mount audit: no /proc to check for %s", hidepid);
	return r;
}

int fs_audit(const struct fs_spec *s, struct nerr *err)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return nerr_set(err, errno, "mount audit: open mountinfo");
	return fs_audit_mountinfo(s, f, err);
}
