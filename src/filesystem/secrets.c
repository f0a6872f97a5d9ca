/* Secrets (--secret, --systemd-credential): their DEST checked, and their
 * content staged by the supervisor on a detached tmpfs that the child
 * attaches at /run/secrets (root.c plans it). The content exists in the
 * supervisor's memory only between the read and the write: each buffer is
 * zeroed right after its file is written, and the tmpfs is made read-only
 * before anyone else can see it. See docs/secrets.md. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <nucleus/filesystem.h>
#include "fs_internal.h"

/* path is dir or below it */
static bool path_equal_or_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

/* A mount point's rules (fs_dest_normalise, shared with --volume), then a
 * secret's own. */
int fs_secret_dest(const char *flag, const char *dest, char **out, struct nerr *err)
{
	_cleanup_free_ char *norm = NULL;
	int r;

	*out = NULL;
	if ((r = fs_dest_normalise(dest, flag, &norm, err)) < 0)
		return r;
	if (path_equal_or_under(FS_SECRETS_DIR, norm))
		return nerr_set(err, 0, "%s: DEST `%s` would hide %s", flag, dest, FS_SECRETS_DIR);
	if (str_has_prefix(norm, FS_SECRETS_DIR "/")) {
		const char *name = norm + strlen(FS_SECRETS_DIR "/");

		if (strchr(name, '/'))
			return nerr_set(err, 0, "%s: DEST `%s`: a secret under %s is a file directly in it",
					flag, dest, FS_SECRETS_DIR);
		if (!strcmp(name, FS_CREDENTIALS_SUBDIR))
			return nerr_set(err, 0, "%s: DEST `%s` is reserved for --credentials-passthrough",
					flag, dest);
	}
	*out = steal_ptr(norm);
	return 0;
}

const char *fs_secret_name(const struct fs_secret *s)
{
	const char *slash = strrchr(s->dest, '/');

	return slash ? slash + 1 : s->dest;
}

int fs_secret_write(int dirfd, const char *name, char *buf, size_t len, uid_t uid, gid_t gid,
		    struct nerr *err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
	int r = 0;

	if (fd < 0)
		r = nerr_set(err, errno, "secret `%s`: create", name);
	else if (write_all(fd, buf, len) < 0)
		r = nerr_set(err, errno, "secret `%s`: write", name);
	else if (fchown(fd, uid, gid) < 0 || fchmod(fd, 0400) < 0)
		r = nerr_set(err, errno, "secret `%s`: chown", name);
	explicit_bzero(buf, len);
	return r;
}

/* The superblock read-only, and the mount: nothing, not even root in the
 * container, writes a secret again. */
static int seal(int mnt, struct nerr *err)
{
	_cleanup_close_ int fs = fspick(mnt, "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC);
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

	if (fs < 0 || fsconfig(fs, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) < 0)
		return nerr_set(err, errno, "secrets: make the tmpfs read-only");
	if (mount_setattr(mnt, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return nerr_set(err, errno, "secrets: make the mount read-only");
	return 0;
}

/* credentials/, 0500, the workload's; *fd its fd */
static int credentials_dir(int root, uid_t uid, gid_t gid, int *fd, struct nerr *err)
{
	if (*fd >= 0)
		return 0;
	if (mkdirat(root, FS_CREDENTIALS_SUBDIR, 0500) < 0 ||
	    (*fd = openat(root, FS_CREDENTIALS_SUBDIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    fchown(*fd, uid, gid) < 0)
		return nerr_set(err, errno, "secrets: create `%s`", FS_CREDENTIALS_SUBDIR);
	return 0;
}

int fs_secrets_stage(struct fs_secret_data *d, size_t n, bool credentials, uid_t uid, gid_t gid,
		     int *mount_fd, struct nerr *err)
{
	_cleanup_close_ int fs = -1, mnt = -1, root = -1, creds = -1;
	uint64_t size = 64 << 10;
	char opt[32];
	int r = 0;

	*mount_fd = -1;
	for (size_t i = 0; i < n; i++)
		size += (d[i].len + 4095) & ~(uint64_t)4095;
	snprintf(opt, sizeof(opt), "%llu", (unsigned long long)size);
	if ((fs = fsopen("tmpfs", FSOPEN_CLOEXEC)) < 0)
		r = nerr_set(err, errno, "secrets: create a tmpfs");
	else if (fsconfig(fs, FSCONFIG_SET_STRING, "source", "secrets", 0) < 0 ||
		 fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0700", 0) < 0 ||
		 fsconfig(fs, FSCONFIG_SET_STRING, "size", opt, 0) < 0 ||
		 fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		r = nerr_set(err, errno, "secrets: configure the tmpfs");
	else if ((mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)) < 0)
		r = nerr_set(err, errno, "secrets: mount the tmpfs");
	else if ((root = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		r = nerr_set(err, errno, "secrets: open the tmpfs");
	for (size_t i = 0; r == 0 && i < n; i++) {
		const char *name = d[i].name;
		int dir = root;

		if (str_has_prefix(name, FS_CREDENTIALS_SUBDIR "/")) {
			if ((r = credentials_dir(root, uid, gid, &creds, err)) < 0)
				break;
			dir = creds;
			name += strlen(FS_CREDENTIALS_SUBDIR "/");
		}
		r = fs_secret_write(dir, name, d[i].buf, d[i].len, uid, gid, err);
	}
	/* whatever happened, no content stays in memory */
	for (size_t i = 0; i < n; i++)
		explicit_bzero(d[i].buf, d[i].len);
	if (r == 0 && credentials)
		r = credentials_dir(root, uid, gid, &creds, err);
	if (r < 0)
		return r;
	if (fchown(root, uid, gid) < 0)
		return nerr_set(err, errno, "secrets: chown the tmpfs");
	if ((r = seal(mnt, err)) < 0)
		return r;
	*mount_fd = steal_fd(mnt);
	return 0;
}
