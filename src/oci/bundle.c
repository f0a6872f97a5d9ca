/* The bundle on disk: DIR (made 0700, or an existing empty directory),
 * what the plan stages (rootfs/ with its mount points and /etc files, the
 * --rootfs files/), the context's copy, the secrets, then config.json.
 * On error everything written is removed again. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ftw.h>
#include <sys/stat.h>
#include "internal.h"

static int dir_empty(const char *dir, bool *empty, struct nerr *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	*empty = true;
	if (!d)
		return nerr_set(err, errno, "bundle directory `%s`", dir);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			*empty = false;
	closedir(d);
	return 0;
}

static int stage_one(int dfd, const struct oci_stage *s, struct nerr *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	switch (s->kind) {
	case OCI_STAGE_DIR:
		if (mkdirat(dfd, s->path, s->mode) < 0 && errno != EEXIST)
			return nerr_set(err, errno, "create `%s`", s->path);
		/* exactly the mode (the umask trims 01777) */
		if (fchmodat(dfd, s->path, s->mode, 0) < 0)
			return nerr_set(err, errno, "chmod `%s`", s->path);
		return 0;
	case OCI_STAGE_SYMLINK:
		if (symlinkat(s->text, dfd, s->path) < 0)
			return nerr_set(err, errno, "create `%s`", s->path);
		return 0;
	case OCI_STAGE_COPY:
		if ((r = read_file(s->text, 1 << 20, &buf, &len)) < 0)
			return nerr_set(err, -r, "read `%s`", s->text);
		break;
	case OCI_STAGE_FILE:
		break;
	}
	if ((r = write_file_at(dfd, s->path, s->kind == OCI_STAGE_COPY ? buf : s->text,
			       s->kind == OCI_STAGE_COPY ? len : strlen(s->text), s->mode)) < 0)
		return nerr_set(err, -r, "write `%s`", s->path);
	if (fchmodat(dfd, s->path, s->mode, AT_SYMLINK_NOFOLLOW) < 0)
		return nerr_set(err, errno, "chmod `%s`", s->path);
	return 0;
}

static uid_t chown_uid;
static gid_t chown_gid;

static int chown_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return lchown(path, chown_uid, chown_gid) < 0 ? -1 : 0;
}

/* The context copied (copy_tree: modes and times kept, symlinks as links,
 * devices, fifos and sockets skipped), owned by the container's root as
 * fs_context_copy makes it. */
static int copy_context(const struct container_config *c, int dfd, const char *dir, struct nerr *err)
{
	_cleanup_close_ int src = open(c->fs.context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int dst = -1;
	struct copy_skipped skipped = { 0 };
	_cleanup_free_ char *warn = NULL;
	uid_t uid;
	gid_t gid;
	int r;

	if (src < 0)
		return nerr_set(err, errno, "context directory `%s`", c->fs.context);
	if (mkdirat(dfd, OCI_CONTEXT, 0755) < 0 ||
	    (dst = openat(dfd, OCI_CONTEXT, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return nerr_set(err, errno, "create `" OCI_CONTEXT "`");
	if ((r = copy_tree(src, dst, &skipped, err)) < 0)
		return nerr_prefix(err, "copy the context");
	if ((warn = copy_skipped_message(&skipped)))
		log_warn("%s", warn);
	oci_host_ids(c, 0, 0, &uid, &gid);
	if (uid || gid) {
		_cleanup_free_ char *path = xasprintf("%s/" OCI_CONTEXT, dir);

		chown_uid = uid;
		chown_gid = gid;
		if (nftw(path, chown_one, 64, FTW_PHYS | FTW_MOUNT) != 0)
			return nerr_set(err, errno, "chown `" OCI_CONTEXT "`");
	}
	return 0;
}

/* The secrets as the run stages them (container_secrets_read, then
 * fs_secret_write: 0400, the workload's), in a 0700 directory of the
 * workload's (credentials/ too: not 0500 as on nucleus's tmpfs, so that
 * whoever removes the bundle can): a directory of the bundle, on its
 * filesystem, not a sealed tmpfs; the mount makes it read-only. */
static int stage_secrets(const struct container_config *c, int dfd, struct nerr *err)
{
	const struct identity *id = &c->proc.identity;
	struct fs_secret_data *d = NULL;
	_cleanup_close_ int sdir = -1, creds = -1;
	size_t n = 0;
	uid_t uid;
	gid_t gid;
	int r;

	oci_host_ids(c, id->set ? id->uid : 0, id->set ? id->gid : 0, &uid, &gid);
	if ((r = container_secrets_read(c, &d, &n, err)) < 0)
		return r;
	if (mkdirat(dfd, OCI_SECRETS, 0700) < 0 ||
	    (sdir = openat(dfd, OCI_SECRETS, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = nerr_set(err, errno, "create `" OCI_SECRETS "`");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = d[i].name;
		int dir = sdir;

		if (str_has_prefix(name, FS_CREDENTIALS_SUBDIR "/")) {
			if (creds < 0 && (mkdirat(sdir, FS_CREDENTIALS_SUBDIR, 0700) < 0 ||
					  (creds = openat(sdir, FS_CREDENTIALS_SUBDIR,
							  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
					  fchown(creds, uid, gid) < 0)) {
				r = nerr_set(err, errno, "create `" OCI_SECRETS "/" FS_CREDENTIALS_SUBDIR "`");
				goto out;
			}
			dir = creds;
			name += strlen(FS_CREDENTIALS_SUBDIR "/");
		}
		if ((r = fs_secret_write(dir, name, d[i].buf, d[i].len, uid, gid, err)) < 0)
			goto out;
	}
	if (c->fs.credentials_passthrough && creds < 0 &&
	    (mkdirat(sdir, FS_CREDENTIALS_SUBDIR, 0700) < 0 || fchownat(sdir, FS_CREDENTIALS_SUBDIR, uid, gid, 0) < 0)) {
		r = nerr_set(err, errno, "create `" OCI_SECRETS "/" FS_CREDENTIALS_SUBDIR "`");
		goto out;
	}
	if (fchown(sdir, uid, gid) < 0 || fchmod(sdir, 0700) < 0)
		r = nerr_set(err, errno, "chown `" OCI_SECRETS "`");
out:
	container_secrets_data_free(d, n);
	return r;
}

static int write_bundle(const struct container_config *c, int dfd, const struct oci_plan *p, json_t *spec,
			struct nerr *err)
{
	_cleanup_free_ char *text = NULL;
	int r;

	for (size_t i = 0; i < p->nstage; i++)
		if ((r = stage_one(dfd, &p->stage[i], err)) < 0)
			return r;
	if (p->copy_context && (r = copy_context(c, dfd, p->dir, err)) < 0)
		return r;
	if (p->secrets && (r = stage_secrets(c, dfd, err)) < 0)
		return r;
	text = json_dumps(spec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text)
		return nerr_set(err, ENOMEM, "config.json");
	{
		_cleanup_free_ char *nl = xasprintf("%s\n", text);
		if ((r = write_file_at(dfd, "config.json", nl, strlen(nl), 0600)) < 0)
			return nerr_set(err, -r, "write config.json");
	}
	return 0;
}

int oci_bundle_write(const struct container_config *c, const char *dir, const struct oci_bundle_opts *o,
		     struct nerr *err)
{
	struct oci_plan p = { 0 };
	_cleanup_close_ int dfd = -1;
	json_t *spec;
	bool made = false, empty;
	mode_t mode;
	int r;

	if (dir[0] == '/') {
		p.dir = xstrdup(dir);
	} else {
		_cleanup_free_ char *cwd = getcwd(NULL, 0);

		if (!cwd)
			return nerr_set(err, errno, "getcwd");
		p.dir = xasprintf("%s/%s", cwd, dir);
	}
	if (!(spec = oci_spec_plan(c, o, &p, err))) {
		oci_plan_free(&p);
		return err->code ? -err->code : -EINVAL;
	}
	/* 0700; 0711 with a user namespace, whose root (a host uid of the
	 * subordinate range) must reach rootfs/ and the rest, as nucleus's
	 * container directories are 0711: nothing in DIR can be listed */
	mode = c->ns.userns || c->ns.rootless ? 0711 : 0700;
	if (mkdir(dir, mode) == 0) {
		made = true;
	} else if (errno != EEXIST) {
		r = nerr_set(err, errno, "bundle directory `%s`", dir);
		goto out;
	} else if ((r = dir_empty(dir, &empty, err)) < 0) {
		goto out;
	} else if (!empty) {
		r = nerr_set(err, ENOTEMPTY, "bundle directory `%s` is not empty", dir);
		goto out;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = nerr_set(err, errno, "bundle directory `%s`", dir);
		goto out;
	}
	if (fchmod(dfd, mode) < 0) {
		r = nerr_set(err, errno, "bundle directory `%s`", dir);
		goto out;
	}
	if ((r = write_bundle(c, dfd, &p, spec, err)) < 0) {
		nerr_prefix(err, "bundle `%s`", dir);
		/* what was written goes: all of DIR, or what is in it */
		if (made) {
			remove_tree(dir);
		} else {
			DIR *d = fdopendir(dup(dfd));
			struct dirent *de;

			while (d && (de = readdir(d)))
				if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
					remove_tree_at(dfd, de->d_name);
			if (d)
				closedir(d);
		}
	}
out:
	json_decref(spec);
	oci_plan_free(&p);
	return r;
}
