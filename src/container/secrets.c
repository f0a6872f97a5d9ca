/* --secret, --systemd-credential and --credentials-passthrough: the
 * arguments checked (paths and names only; the configuration never holds
 * a secret), then, as the run starts, every source opened without
 * following a symlink, checked, read and handed to fs_secrets_stage,
 * which zeroes what was read. Errors name the flag and the path, never
 * the content (docs/secrets.md). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <nucleus/container.h>

static bool credential_name_ok(const char *name)
{
	return name[0] && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..") && strlen(name) <= 255;
}

int container_secret_add(struct container_config *c, bool credential, const char *arg, struct nerr *err)
{
	const char *flag = credential ? "--systemd-credential" : "--secret";
	const char *colon = strchr(arg, ':');
	_cleanup_free_ char *src = NULL;
	struct fs_secret *s;

	if (!colon || colon == arg || !colon[1])
		return nerr_set(err, 0, "%s `%s`: expected %s:DEST", flag, arg, credential ? "NAME" : "SRC");
	src = strndup(arg, (size_t)(colon - arg));
	if (!src)
		return nerr_set(err, ENOMEM, "%s", flag);
	c->fs.secrets = xrealloc(c->fs.secrets, (c->fs.n_secrets + 1) * sizeof(*c->fs.secrets));
	s = &c->fs.secrets[c->fs.n_secrets++];
	*s = (struct fs_secret){ 0 };
	if (credential)
		s->credential = steal_ptr(src);
	else
		s->src = steal_ptr(src);
	s->dest = xstrdup(colon + 1);
	return 0;
}

void container_secrets_free(struct fs_config *f)
{
	for (size_t i = 0; i < f->n_secrets; i++) {
		free(f->secrets[i].src);
		free(f->secrets[i].dest);
		free(f->secrets[i].credential);
	}
	free(f->secrets);
	f->secrets = NULL;
	f->n_secrets = 0;
}

int container_secrets_validate(struct container_config *c, struct nerr *err)
{
	struct fs_config *f = &c->fs;
	int r;

	for (size_t i = 0; i < f->n_secrets; i++) {
		struct fs_secret *s = &f->secrets[i];
		const char *flag = s->credential ? "--systemd-credential" : "--secret";
		char *norm;

		if (!s->dest || !!s->src == !!s->credential)
			return nerr_set(err, 0, "%s: a secret needs a source or a credential, and a DEST", flag);
		if (s->src && s->src[0] != '/')
			return nerr_set(err, 0, "--secret: SRC `%s` is not an absolute path", s->src);
		if (s->credential && !credential_name_ok(s->credential))
			return nerr_set(err, 0, "--systemd-credential: `%s` is not a credential name "
					"(no `/`, not `.` or `..`)", s->credential);
		if ((r = fs_secret_dest(flag, s->dest, &norm, err)) < 0)
			return r;
		free(s->dest);
		s->dest = norm;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(f->secrets[j].dest, s->dest))
				return nerr_set(err, 0, "%s: DEST `%s` is given twice", flag, s->dest);
			if (!strcmp(fs_secret_name(&f->secrets[j]), fs_secret_name(s)))
				return nerr_set(err, 0, "%s: DEST `%s` and `%s` would both be %s/%s",
						flag, f->secrets[j].dest, s->dest, FS_SECRETS_DIR, fs_secret_name(s));
		}
	}
	if (f->credentials_passthrough) {
		/* a path, never a credential */
		_cleanup_free_ char *kv = xasprintf("CREDENTIALS_DIRECTORY=%s", FS_CREDENTIALS_DIR);

		if ((r = env_add(&c->proc.env, kv, err)) < 0)
			return r;
	}
	return 0;
}

/* `path` beneath `dir` (AT_FDCWD: absolute), no symlink followed anywhere
 * on the way, opened for reading without blocking (a fifo), then checked:
 * a regular file, owned by root or the caller, not writable by group or
 * others, not larger than the cap. Its content in *buf, *len. */
static int read_secret(int dir, const char *path, uint64_t resolve, const char *flag, const char *shown,
		       char **buf, size_t *len, struct nerr *err)
{
	struct open_how how = { .flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
				.resolve = resolve | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int fd = (int)syscall(SYS_openat2, dir, path, &how, sizeof(how));
	struct stat st;
	size_t got = 0;

	*buf = NULL;
	*len = 0;
	if (fd < 0 && errno == ELOOP)
		return nerr_set(err, 0, "%s `%s`: a symlink is on the path (none is followed)", flag, shown);
	if (fd < 0 && errno == EXDEV)
		return nerr_set(err, 0, "%s `%s`: resolves outside CREDENTIALS_DIRECTORY", flag, shown);
	if (fd < 0)
		return nerr_set(err, errno, "%s `%s`", flag, shown);
	if (fstat(fd, &st) < 0)
		return nerr_set(err, errno, "%s `%s`", flag, shown);
	if (!S_ISREG(st.st_mode))
		return nerr_set(err, 0, "%s `%s`: not a regular file", flag, shown);
	if (st.st_uid != 0 && st.st_uid != getuid())
		return nerr_set(err, 0, "%s `%s`: owned by uid %u, not by root or the caller", flag, shown,
				(unsigned)st.st_uid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return nerr_set(err, 0, "%s `%s`: writable by group or others (mode %04o)", flag, shown,
				(unsigned)(st.st_mode & 07777));
	if ((uint64_t)st.st_size > FS_SECRET_MAX)
		return nerr_set(err, 0, "%s `%s`: larger than %u bytes", flag, shown, FS_SECRET_MAX);
	/* one byte more than the size, to see it grow */
	*buf = xcalloc((size_t)st.st_size + 1, 1);
	for (;;) {
		ssize_t n = read(fd, *buf + got, (size_t)st.st_size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (got += (size_t)n) > (size_t)st.st_size) {
			int e = n < 0 ? errno : EBUSY;

			explicit_bzero(*buf, (size_t)st.st_size + 1);
			free(*buf);
			*buf = NULL;
			return nerr_set(err, e, "%s `%s`: %s", flag, shown, e == EBUSY ? "changed while read" : "read");
		}
		if (n == 0)
			break;
	}
	*len = got;
	return 0;
}

void container_secrets_data_free(struct fs_secret_data *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (d[i].buf)
			explicit_bzero(d[i].buf, d[i].len);
		free(d[i].buf);
		free((char *)d[i].name);
	}
	free(d);
}

static int open_credentials(const char *flag, int *fd, struct nerr *err)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");

	if (*fd >= 0)
		return 0;
	if (!dir || dir[0] != '/')
		return nerr_set(err, 0, "%s: CREDENTIALS_DIRECTORY is not set (nucleus is not run by "
				"systemd with LoadCredential= or LoadCredentialEncrypted=)", flag);
	if ((*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return nerr_set(err, errno, "%s: CREDENTIALS_DIRECTORY `%s`", flag, dir);
	return 0;
}

int container_secrets_read(const struct container_config *c, struct fs_secret_data **out, size_t *out_n,
			   struct nerr *err)
{
	const struct fs_config *f = &c->fs;
	struct fs_secret_data *d = NULL;
	_cleanup_close_ int creds = -1;
	size_t n = 0, total = 0;
	int r = 0;

	*out = NULL;
	*out_n = 0;
	for (size_t i = 0; r == 0 && i < f->n_secrets; i++) {
		const struct fs_secret *s = &f->secrets[i];

		d = xrealloc(d, (n + 1) * sizeof(*d));
		d[n] = (struct fs_secret_data){ .name = xstrdup(fs_secret_name(s)) };
		if (s->credential) {
			if ((r = open_credentials("--systemd-credential", &creds, err)) == 0)
				r = read_secret(creds, s->credential, RESOLVE_BENEATH, "--systemd-credential",
						s->credential, &d[n].buf, &d[n].len, err);
		} else {
			r = read_secret(AT_FDCWD, s->src, 0, "--secret", s->src, &d[n].buf, &d[n].len, err);
		}
		total += d[n++].len;
	}
	if (r == 0 && f->credentials_passthrough &&
	    (r = open_credentials("--credentials-passthrough", &creds, err)) == 0) {
		int dfd = openat(creds, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
		struct dirent *de;

		if (!dir) {
			if (dfd >= 0)
				close(dfd);
			r = nerr_set(err, errno, "--credentials-passthrough: read CREDENTIALS_DIRECTORY");
		}
		while (r == 0 && dir && (de = readdir(dir))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			d = xrealloc(d, (n + 1) * sizeof(*d));
			d[n] = (struct fs_secret_data){ .name = xasprintf("%s/%s", FS_CREDENTIALS_SUBDIR, de->d_name) };
			r = read_secret(creds, de->d_name, RESOLVE_BENEATH, "--credentials-passthrough", de->d_name,
					&d[n].buf, &d[n].len, err);
			total += d[n++].len;
		}
		if (dir)
			closedir(dir);
	}
	if (r == 0 && total > FS_SECRETS_TOTAL_MAX)
		r = nerr_set(err, 0, "secrets: more than %u bytes in all", FS_SECRETS_TOTAL_MAX);
	if (r < 0) {
		container_secrets_data_free(d, n);
		return r;
	}
	*out = d;
	*out_n = n;
	return 0;
}

int container_secrets_stage(const struct container_config *c, uid_t uid, gid_t gid, int *mount_fd,
			    struct nerr *err)
{
	struct fs_secret_data *d;
	size_t n;
	int r;

	*mount_fd = -1;
	if ((r = container_secrets_read(c, &d, &n, err)) < 0)
		return r;
	r = fs_secrets_stage(d, n, c->fs.credentials_passthrough, uid, gid, mount_fd, err);
	container_secrets_data_free(d, n);
	return r;
}
