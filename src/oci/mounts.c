/* The container's filesystem as OCI mounts, mirroring fs_plan (root.c,
 * etc.c, dev.c, proc.c) from the same lists, and what the bundle stages
 * for them: agent mode's root is DIR/rootfs, a tree of mount points and
 * the /etc files nucleus writes; --rootfs is the user's tree, which the
 * bundle never writes into. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "internal.h"

struct builder {
	const struct container_config *c;
	const struct oci_bundle_opts *o;
	struct oci_plan *p;
	bool agent;                /* the root is the bundle's rootfs/ */
};

static void stage(struct oci_plan *p, enum oci_stage_kind kind, char *path, const char *text, unsigned mode)
{
	for (size_t i = 0; i < p->nstage; i++)
		if (!strcmp(p->stage[i].path, path)) {
			free(path);
			return;
		}
	p->stage = xrealloc(p->stage, (p->nstage + 1) * sizeof(*p->stage));
	p->stage[p->nstage++] = (struct oci_stage){ kind, path, text ? xstrdup(text) : NULL, mode };
}

/* A mount point in the bundle's rootfs (agent mode): its parents as
 * directories, itself a directory or an empty file. Over --rootfs the
 * bundle writes nothing into the user's tree, and the runtime makes a
 * missing one itself, in that directory: runc before it makes the root
 * read-only, runsc's gofer likewise (measured: an /etc/hosts, /run and
 * /run/secrets a rootfs lacked were left in it, empty). */
static void parents(struct builder *b, const char *dest)
{
	_cleanup_free_ char *d = xstrdup(dest);

	for (char *s = strchr(d + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		stage(b->p, OCI_STAGE_DIR, xasprintf(OCI_ROOTFS "%s", d), NULL, 0755);
		*s = '/';
	}
}

static void mount_point_mode(struct builder *b, const char *dest, bool file, unsigned mode)
{
	if (!b->agent)
		return;
	parents(b, dest);
	stage(b->p, file ? OCI_STAGE_FILE : OCI_STAGE_DIR, xasprintf(OCI_ROOTFS "%s", dest), file ? "" : NULL, mode);
}

static void mount_point(struct builder *b, const char *dest, bool file)
{
	mount_point_mode(b, dest, file, file ? 0644 : 0755);
}

static void mount_add(struct builder *b, const char *dest, const char *type, const char *source, bool file,
		      const char *const *opts)
{
	json_t *m = json_object();

	json_object_set_new(m, "destination", json_string(dest));
	json_object_set_new(m, "type", json_string(type));
	json_object_set_new(m, "source", json_string(source));
	json_object_set_new(m, "options", oci_strings(opts));
	json_array_append_new(b->p->mounts, m);
	mount_point(b, dest, file);
}

/* A bind: `ro` (else rw), nosuid and nodev always, noexec unless `exec`. */
static void bind_add(struct builder *b, const char *dest, const char *source, bool file, bool ro, bool exec)
{
	const char *opts[6] = { "rbind", ro ? "ro" : "rw", "nosuid", "nodev" };

	if (!exec)
		opts[4] = "noexec";
	mount_add(b, dest, "bind", source, file, opts);
}

static void tmpfs_add(struct builder *b, const char *dest, const char *source, unsigned mode, uint64_t size,
		      bool nodev, bool exec)
{
	_cleanup_free_ char *m = xasprintf("mode=%o", mode), *s = xasprintf("size=%llu", (unsigned long long)size);
	const char *opts[6] = { "nosuid" };
	size_t n = 1;

	if (nodev)
		opts[n++] = "nodev";
	if (!exec)
		opts[n++] = "noexec";
	opts[n++] = m;
	opts[n++] = s;
	/* runc gives a tmpfs the mode of the directory it is mounted on,
	 * whatever mode= says: the mount point has the tmpfs's mode (over a
	 * --rootfs, the rootfs's directory decides) */
	mount_point_mode(b, dest, false, mode);
	mount_add(b, dest, "tmpfs", source, false, opts);
}

static bool exec_path(const struct container_config *c, const char *path)
{
	return strv_contains(c->fs.exec_paths, path);
}

/* /proc and /dev as dev.c and proc.c make them. /dev is the runtime's:
 * it creates linux.devices and its usual links (/dev/fd, stdin, stdout,
 * stderr, ptmx; runc adds /dev/core -> /proc/kcore, which is masked). It
 * stays writable, as in every OCI runtime: the runtime makes its nodes in
 * it after the mount, so it cannot be read-only as nucleus's is. */
static void plan_proc_dev(struct builder *b)
{
	const char *hidepid = b->c->fs.proc_hidepid == 2 ? "hidepid=invisible" :
			      b->c->fs.proc_hidepid == 1 ? "hidepid=noaccess" : NULL;
	const char *proc_opts[] = { "nosuid", "noexec", "nodev", hidepid, NULL };
	bool userns = b->c->ns.rootless || b->c->ns.userns;
	const char *pts_opts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
				   userns ? NULL : "gid=5", NULL };
	const char *shm_opts[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=67108864", NULL };
	const char *dev_opts[] = { "nosuid", "noexec", "mode=755", "size=65536", "nr_inodes=64", NULL };

	mount_add(b, "/proc", "proc", "proc", false, proc_opts);
	mount_add(b, "/dev", "tmpfs", "tmpfs", false, dev_opts);
	mount_add(b, "/dev/pts", "devpts", "devpts", false, pts_opts);
	mount_point_mode(b, "/dev/shm", false, 01777);
	mount_add(b, "/dev/shm", "tmpfs", "shm", false, shm_opts);
}

/* The host's system directories, read-only (a symlink recreated as the
 * same symlink, a missing one or a non-directory skipped), then /etc. */
static void plan_host(struct builder *b)
{
	const char *const *dirs, *const *binds;
	const struct fs_etc_copy *copies;
	const struct fs_etc_file *fixed;
	size_t n;

	dirs = fs_root_host_dirs(&n);
	for (size_t i = 0; i < n; i++) {
		char target[4096];
		struct stat st;
		ssize_t len;

		if (lstat(dirs[i], &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			if ((len = readlink(dirs[i], target, sizeof(target) - 1)) <= 0)
				continue;
			target[len] = '\0';
			stage(b->p, OCI_STAGE_SYMLINK, xasprintf(OCI_ROOTFS "%s", dirs[i]), target, 0);
			continue;
		}
		if (S_ISDIR(st.st_mode))
			bind_add(b, dirs[i], dirs[i], false, true, true);
	}
	stage(b->p, OCI_STAGE_DIR, xstrdup(OCI_ROOTFS "/etc"), NULL, 0755);
	fixed = fs_etc_fixed_files(&n);
	for (size_t i = 0; i < n; i++)
		stage(b->p, OCI_STAGE_FILE, xasprintf(OCI_ROOTFS "%s", fixed[i].name), fixed[i].text, 0644);
	/* (hosts, hostname, resolv.conf: spec.c, which knows the names) */
	copies = fs_etc_copies(&n);
	for (size_t i = 0; i < n; i++)
		if (access(copies[i].src, R_OK) == 0)
			stage(b->p, OCI_STAGE_COPY, xasprintf(OCI_ROOTFS "/etc/%s", copies[i].name), copies[i].src,
			      0644);
	binds = fs_etc_bind_paths(&n);
	for (size_t i = 0; i < n; i++) {
		char target[4096];
		struct stat st;
		ssize_t len;

		if (lstat(binds[i], &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			if ((len = readlink(binds[i], target, sizeof(target) - 1)) <= 0)
				continue;
			target[len] = '\0';
			parents(b, binds[i]);
			stage(b->p, OCI_STAGE_SYMLINK, xasprintf(OCI_ROOTFS "%s", binds[i]), target, 0);
			continue;
		}
		bind_add(b, binds[i], binds[i], !S_ISDIR(st.st_mode), true, true);
	}
}

/* hosts, hostname, resolv.conf: written into the bundle's rootfs, or over
 * a --rootfs bound read-only from DIR/files (the rootfs is the user's);
 * there too the defaults for passwd, group and nsswitch.conf where the
 * rootfs has none (as etc.c's layer does). --hosts-file is bound as is. */
static void plan_generated(struct builder *b, const char *hosts, const char *hostname, const char *resolv)
{
	const struct { const char *name, *text; } gen[] = {
		{ "hosts", b->c->net.hosts_file ? NULL : hosts }, { "hostname", hostname }, { "resolv.conf", resolv },
	};

	for (size_t i = 0; i < ARRAY_SIZE(gen); i++) {
		_cleanup_free_ char *dest = xasprintf("/etc/%s", gen[i].name);

		if (!gen[i].text)
			continue;
		if (b->agent) {
			stage(b->p, OCI_STAGE_FILE, xasprintf(OCI_ROOTFS "%s", dest), gen[i].text, 0644);
			continue;
		}
		_cleanup_free_ char *src = xasprintf("%s/" OCI_FILES "/%s", b->p->dir, gen[i].name);
		stage(b->p, OCI_STAGE_DIR, xstrdup(OCI_FILES), NULL, 0755);
		stage(b->p, OCI_STAGE_FILE, xasprintf(OCI_FILES "/%s", gen[i].name), gen[i].text, 0644);
		bind_add(b, dest, src, true, true, false);
	}
	if (!b->agent) {
		size_t n;
		const struct fs_etc_file *fixed = fs_etc_fixed_files(&n);

		for (size_t i = 0; i < n; i++) {
			_cleanup_free_ char *in = xasprintf("%s%s", b->c->fs.rootfs, fixed[i].name);
			const char *base = strrchr(fixed[i].name, '/') + 1;
			struct stat st;

			if (lstat(in, &st) == 0)
				continue;
			_cleanup_free_ char *src = xasprintf("%s/" OCI_FILES "/%s", b->p->dir, base);
			stage(b->p, OCI_STAGE_DIR, xstrdup(OCI_FILES), NULL, 0755);
			stage(b->p, OCI_STAGE_FILE, xasprintf(OCI_FILES "/%s", base), fixed[i].text, 0644);
			bind_add(b, fixed[i].name, src, true, true, false);
		}
	}
	if (b->c->net.hosts_file)
		bind_add(b, "/etc/hosts", b->c->net.hosts_file, true, true, false);
}

/* /tmp, /context (a copy in the bundle, writable; or the host's directory
 * bound read-only) and the subtrees of /context made executable. A copy
 * is not capped at its content plus --tmpfs-size as nucleus's tmpfs is:
 * it is a directory of the bundle's filesystem. */
static int plan_workspace(struct builder *b, struct nerr *err)
{
	const struct container_config *c = b->c;

	tmpfs_add(b, "/tmp", "tmpfs", 01777, c->fs.tmpfs_size, true, exec_path(c, "/tmp"));
	if (c->fs.context) {
		if (c->fs.context_mode == CONTEXT_BIND) {
			bind_add(b, "/context", c->fs.context, false, true, exec_path(c, "/context"));
		} else {
			_cleanup_free_ char *src = xasprintf("%s/" OCI_CONTEXT, b->p->dir);

			b->p->copy_context = true;
			bind_add(b, "/context", src, false, false, exec_path(c, "/context"));
		}
	}
	for (size_t i = 0; c->fs.exec_paths && c->fs.exec_paths[i]; i++) {
		const char *p = c->fs.exec_paths[i];

		if (!strcmp(p, "/tmp") || !strcmp(p, "/context"))
			continue;
		/* nucleus binds a subtree of its own /tmp over itself; a
		 * bundle's binds come from the host, and /tmp is a tmpfs the
		 * runtime makes */
		if (str_has_prefix(p, "/tmp/"))
			return nerr_set(err, 0, "--allow-exec %s: a bundle cannot make part of the container's /tmp "
					"executable (only /tmp as a whole, or /context and beneath)", p);
		if (!c->fs.context)
			return nerr_set(err, 0, "--allow-exec %s: there is no context", p);
		const char *rel = p + strlen("/context");
		_cleanup_free_ char *src = c->fs.context_mode == CONTEXT_BIND ?
			xasprintf("%s%s", c->fs.context, rel) : xasprintf("%s/" OCI_CONTEXT "%s", b->p->dir, rel);
		/* the subtree's writability is the context's */
		bind_add(b, p, src, false, c->fs.context_mode == CONTEXT_BIND, true);
	}
	return 0;
}

/* /run as root.c's plan_run: over --rootfs a tmpfs of its own; the
 * notify socket's directory at /run/notify (when the runner gives one);
 * /run/secrets from DIR/secrets, read-only, and a read-only bind of its
 * file for each DEST elsewhere. */
static void plan_run(struct builder *b)
{
	const struct container_config *c = b->c;
	const char *notify = c->svc.sd_notify == SD_NOTIFY_CONTAINER && b->o && b->o->notify_dir &&
			     b->o->notify_dir[0] ? b->o->notify_dir : NULL;
	bool secrets = c->fs.n_secrets || c->fs.credentials_passthrough;
	_cleanup_free_ char *dir = NULL;

	if (!secrets && !notify)
		return;
	if (!b->agent)
		tmpfs_add(b, "/run", "tmpfs", 0755, 64 << 10, true, false);
	if (notify)
		bind_add(b, FS_NOTIFY_DIR, notify, false, true, false);
	if (!secrets)
		return;
	b->p->secrets = true;
	dir = xasprintf("%s/" OCI_SECRETS, b->p->dir);
	bind_add(b, FS_SECRETS_DIR, dir, false, true, false);
	for (size_t i = 0; i < c->fs.n_secrets; i++) {
		const struct fs_secret *s = &c->fs.secrets[i];

		if (str_has_prefix(s->dest, FS_SECRETS_DIR "/"))
			continue;
		_cleanup_free_ char *src = xasprintf("%s/%s", dir, fs_secret_name(s));
		bind_add(b, s->dest, src, true, true, false);
	}
}

struct mount_ref {
	const char *dest;
	size_t volume, tmpfs;      /* volume SIZE_MAX: a tmpfs */
};

static int cmp_dest(const void *a, const void *b)
{
	return strcmp(((const struct mount_ref *)a)->dest, ((const struct mount_ref *)b)->dest);
}

/* --volume and --tmpfs in the order of their destinations, a parent
 * first (root.c's plan_mounts). */
static int plan_volumes(struct builder *b, struct nerr *err)
{
	const struct fs_config *f = &b->c->fs;
	size_t n = f->n_volumes + f->n_tmpfs;
	_cleanup_free_ struct mount_ref *v = xcalloc(n ? n : 1, sizeof(*v));

	for (size_t i = 0; i < f->n_volumes; i++)
		v[i] = (struct mount_ref){ f->volumes[i].dest, i, 0 };
	for (size_t i = 0; i < f->n_tmpfs; i++)
		v[f->n_volumes + i] = (struct mount_ref){ f->tmpfs[i].dest, SIZE_MAX, i };
	qsort(v, n, sizeof(*v), cmp_dest);
	for (size_t i = 0; i < n; i++) {
		if (v[i].volume == SIZE_MAX) {
			const struct fs_tmpfs *t = &f->tmpfs[v[i].tmpfs];

			tmpfs_add(b, t->dest, "tmpfs", t->mode, t->size, true, t->exec);
			continue;
		}
		const struct fs_volume *vol = &f->volumes[v[i].volume];
		struct stat st;

		if (vol->chown)
			return nerr_set(err, 0, "--volume %s:%s:U: a bundle does not change its sources' owners "
					"(chown the source first)", vol->src, vol->dest);
		/* a file's mount point is a file (nucleus opens the source at
		 * the run; a missing one fails there, and in the runtime) */
		bind_add(b, vol->dest, vol->src, stat(vol->src, &st) == 0 && !S_ISDIR(st.st_mode),
			 vol->access != FS_VOLUME_RW, vol->exec);
	}
	return 0;
}

int oci_plan_mounts(const struct container_config *c, const struct oci_bundle_opts *o, struct oci_plan *p,
		    struct nerr *err)
{
	struct builder b = { .c = c, .o = o, .p = p, .agent = !c->fs.rootfs };
	struct fs_spec s = {
		.hostname = p->hostname, .dns = c->net.dns, .dns_search = c->net.dns_search,
		.extra_hosts = c->net.extra_hosts, .self_hosts = o ? (char **)o->self_hosts : NULL,
	};
	_cleanup_free_ char *hosts = fs_etc_hosts_text(&s), *resolv = fs_etc_resolv_text(&s);
	_cleanup_free_ char *hostname = xasprintf("%s\n", p->hostname);
	int r;

	p->mounts = json_array();
	if (b.agent)
		stage(p, OCI_STAGE_DIR, xstrdup(OCI_ROOTFS), NULL, 0755);
	plan_proc_dev(&b);
	if (b.agent)
		plan_host(&b);
	plan_generated(&b, hosts, hostname, resolv);
	if ((r = plan_workspace(&b, err)) < 0)
		return r;
	if (b.agent)
		mount_point(&b, "/run", false);
	plan_run(&b);
	return plan_volumes(&b, err);
}

void oci_plan_free(struct oci_plan *p)
{
	for (size_t i = 0; i < p->nstage; i++) {
		free(p->stage[i].path);
		free(p->stage[i].text);
	}
	free(p->stage);
	json_decref(p->mounts);
	free(p->dir);
	free(p->hostname);
	memset(p, 0, sizeof(*p));
}

json_t *oci_strings(const char *const *v)
{
	json_t *a = json_array();

	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}
