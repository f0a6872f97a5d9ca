/* nucleus checkpoint: a running container's process tree dumped by CRIU,
 * from its init (pid 1 of its pid namespace: the workload, or --init's
 * init with the workload under it) down, with its namespaces. What CRIU
 * saves itself: the processes, their memory, fds, seccomp filters, the
 * pid, uts, ipc, time and cgroup namespaces, and the mount namespace with
 * the content of the tmpfs mounts nucleus made inside it (the root, /tmp,
 * /dev). What it is told is outside the container (--external), to be
 * given back at restore: every bind of a host directory or file (the
 * host's /usr, /bin ..., the volumes, a bound /context, /dev's device
 * nodes), keyed by its path in the container; the network namespace when
 * it is the container's own (--network none: only `lo`, re-created at
 * restore). The supervisor's pipes the workload writes its output to
 * (-d) are recorded by inode, to be replaced at restore by the new
 * supervisor's (--inherit-fd). Cgroups: --manage-cgroups=soft records the
 * tree's cgroup (and its cgroup namespace); the limits are nucleus's to
 * write again (CRIU does not restore cgroup v2 limits). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/stat.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include <jansson.h>
#include <nucleus/checkpoint.h>
#include <nucleus/container.h>

/* One line of mountinfo, the fields used. */
struct mnt {
	unsigned id, major, minor;
	char *root, *point, *fstype;
};

static void mnts_free(struct mnt *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].root);
		free(m[i].point);
		free(m[i].fstype);
	}
	free(m);
}

/* "\040" and the like, as mountinfo escapes them */
static char *unescape(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

static int mountinfo_read(const char *path, struct mnt **out, size_t *n, struct nerr *err)
{
	_cleanup_free_ char *text = NULL;
	struct mnt *v = NULL;
	size_t cnt = 0;
	char *save = NULL;
	int rc;

	if ((rc = read_file(path, 16 << 20, &text, NULL)) < 0)
		return nerr_set(err, -rc, "read %s", path);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char root[4096], point[4096], fstype[256];
		unsigned id, maj, min;
		const char *dash = strstr(l, " - ");

		if (!dash || sscanf(l, "%u %*u %u:%u %4095s %4095s", &id, &maj, &min, root, point) != 5 ||
		    sscanf(dash + 3, "%255s", fstype) != 1)
			continue;
		v = xrealloc(v, (cnt + 1) * sizeof(*v));
		v[cnt++] = (struct mnt){ id, maj, min, unescape(root), unescape(point), xstrdup(fstype) };
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* The path on the host of a container's mount whose device the host has
 * mounted too: the host mount of that device whose root is the longest
 * prefix of the container mount's root, and the rest under it. NULL: the
 * device is the container's own (a tmpfs it made, proc, ...). */
static char *host_source(const struct mnt *c, const struct mnt *host, size_t nhost)
{
	const struct mnt *best = NULL;
	size_t best_len = 0;

	for (size_t i = 0; i < nhost; i++) {
		const struct mnt *h = &host[i];
		size_t l = strlen(h->root);

		if (h->major != c->major || h->minor != c->minor)
			continue;
		if (strcmp(h->root, "/") && (strncmp(c->root, h->root, l) || (c->root[l] && c->root[l] != '/')))
			continue;
		if (!strcmp(h->root, "/"))
			l = 0;
		if (!best || l > best_len) {
			best = h;
			best_len = l;
		}
	}
	if (!best)
		return NULL;
	if (!strcmp(best->point, "/"))
		return xstrdup(c->root[best_len] ? c->root + best_len : "/");
	return xasprintf("%s%s", best->point, c->root + best_len);
}

/* The root task's standard fds that come from outside the container: a
 * pipe (the supervisor's, with -d) by its inode, a file of a mount the
 * container does not have (the supervisor's /dev/null, the caller's
 * terminal) as CRIU's external file[MNT_ID:INODE] (hex). Restore passes
 * its own in their place. */
static void stdio_of(pid_t pid, const struct mnt *c, size_t nc, struct ckpt_manifest *m)
{
	for (int i = 0; i < CKPT_STDIO; i++) {
		_cleanup_free_ char *info = NULL;
		char link[64], target[64];
		const char *mid;
		unsigned mnt_id;
		struct stat st;
		bool inside = false;
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, i);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strncmp(target, "pipe:[", 6)) {
			m->stdio[i] = xstrdup(target);
			continue;
		}
		snprintf(link, sizeof(link), "/proc/%d/fdinfo/%d", (int)pid, i);
		if (read_file(link, 4096, &info, NULL) < 0 || !(mid = strstr(info, "mnt_id:")) ||
		    sscanf(mid + 7, "%u", &mnt_id) != 1)
			continue;
		for (size_t k = 0; k < nc; k++)
			inside |= c[k].id == mnt_id;
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, i);
		if (inside || stat(link, &st) < 0)
			continue;
		m->stdio[i] = xasprintf("file[%x:%llx]", mnt_id, (unsigned long long)st.st_ino);
	}
}

/* One file of the root task (its executable, a mapped library) at
 * `link` (/proc/PID/exe, /proc/PID/map_files/RANGE) as an external file
 * unless a mount of the container holds it (mount ids are global: statx
 * from here names the mount CRIU sees). */
static int ext_file(const char *link, const char *path, const struct mnt *c, size_t nc, struct ckpt_manifest *m,
		    struct nerr *err)
{
	struct statx stx;
	char hex[65], *key;
	int rc;

	if (statx(AT_FDCWD, link, 0, STATX_INO | STATX_MNT_ID, &stx) < 0) {
		/* a mapping gone since maps was read (the tree still runs) */
		if (errno == ENOENT)
			return 0;
		return nerr_set(err, errno, "the mount of %s", link);
	}
	if (!(stx.stx_mask & STATX_MNT_ID))
		return CKPT_FAIL(err, EOPNOTSUPP, "the mount of %s: statx has no mount id (Linux < 5.8)", link);
	for (size_t k = 0; k < nc; k++)
		if (c[k].id == stx.stx_mnt_id)
			return 0;     /* the container's own */
	key = xasprintf("file[%x:%llx]", (unsigned)stx.stx_mnt_id, (unsigned long long)stx.stx_ino);
	if (strv_contains(m->ext_files, key)) {
		free(key);
		return 0;
	}
	if ((rc = sha256_file_hex(link, hex, err)) < 0) {
		free(key);
		return rc;
	}
	strv_push_take(&m->ext_files, key);
	strv_push(&m->ext_file_paths, path);
	strv_push(&m->ext_file_sha256, hex);
	return 0;
}

/* --init's init is a fork of nucleus: its executable and the libraries
 * it maps are the host's. (A workload exec'd inside maps the container's.) */
static int files_of(pid_t pid, const struct mnt *c, size_t nc, struct ckpt_manifest *m, struct nerr *err)
{
	_cleanup_free_ char *exe = xasprintf("/proc/%d/exe", (int)pid), *maps_path = xasprintf("/proc/%d/maps", (int)pid);
	_cleanup_free_ char *maps = NULL;
	char target[4096], *save = NULL;
	ssize_t n;
	int rc;

	m->ext_files = xcalloc(1, sizeof(char *));
	m->ext_file_paths = xcalloc(1, sizeof(char *));
	m->ext_file_sha256 = xcalloc(1, sizeof(char *));
	if ((n = readlink(exe, target, sizeof(target) - 1)) <= 0)
		return nerr_set(err, errno, "readlink %s", exe);
	target[n] = '\0';
	if ((rc = ext_file(exe, target, c, nc, m, err)) < 0)
		return rc;
	if ((rc = read_file(maps_path, 1 << 22, &maps, NULL)) < 0)
		return nerr_set(err, -rc, "read %s", maps_path);
	for (char *l = strtok_r(maps, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char range[64], *path = strchr(l, '/');
		_cleanup_free_ char *link = NULL;

		if (!path || sscanf(l, "%63s", range) != 1 || strstr(path, " (deleted)"))
			continue;
		link = xasprintf("/proc/%d/map_files/%s", (int)pid, range);
		if ((rc = ext_file(link, path, c, nc, m, err)) < 0)
			return rc;
	}
	return 0;
}

/* The container's mounts that are binds of the host's (external for
 * CRIU), and each one's source on the host. */
static int find_external(pid_t pid, struct ckpt_manifest *m, struct nerr *err)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/mountinfo", (int)pid);
	struct mnt *c = NULL, *h = NULL;
	size_t nc = 0, nh = 0;
	int rc;

	m->ext_mounts = xcalloc(1, sizeof(char *));
	m->ext_sources = xcalloc(1, sizeof(char *));
	if ((rc = mountinfo_read(path, &c, &nc, err)) < 0)
		return rc;
	if ((rc = mountinfo_read("/proc/self/mountinfo", &h, &nh, err)) < 0) {
		mnts_free(c, nc);
		return rc;
	}
	for (size_t i = 0; i < nc; i++) {
		char *src;

		/* the root is CRIU's --root at restore; proc and the like are
		 * the kernel's, made again */
		if (!strcmp(c[i].point, "/"))
			continue;
		if (!(src = host_source(&c[i], h, nh)))
			continue;
		if (strv_contains(m->ext_mounts, c[i].point)) {
			free(src);    /* mounted over: CRIU keys by the point */
			continue;
		}
		strv_push(&m->ext_mounts, c[i].point);
		strv_push_take(&m->ext_sources, src);
	}
	stdio_of(pid, c, nc, m);
	rc = files_of(pid, c, nc, m, err);
	mnts_free(c, nc);
	mnts_free(h, nh);
	return rc;
}

/* What a checkpoint of this container cannot carry, refused before CRIU
 * touches it. */
static int check_container(const struct container_state *st, struct nerr *err)
{
	const struct container_config *c = &st->cfg;

	if (geteuid() != 0)
		return CKPT_FAIL(err, EPERM, "checkpoint needs root (CRIU does)");
	if (st->status != STATUS_RUNNING || !state_pid_alive(st))
		return CKPT_FAIL(err, EINVAL, "container %s is not running", c->name);
	if (!state_supervised(c->id))
		return CKPT_FAIL(err, EINVAL, "container %s has no supervisor", c->name);
	if (c->rt.kind != RUNTIME_NATIVE)
		return CKPT_FAIL(err, EOPNOTSUPP, "container %s runs under another runtime (--runtime): only a native "
				"container can be checkpointed", c->name);
	if (c->net.mode == NETWORK_BRIDGE)
		return CKPT_FAIL(err, EOPNOTSUPP, "container %s has --network bridge: its veth and address are not "
				"checkpointed (--network none or host only)", c->name);
	if (c->ns.userns || c->ns.rootless)
		return CKPT_FAIL(err, EOPNOTSUPP, "container %s has a user namespace (--userns/--rootless): not "
				"supported by checkpoint", c->name);
	/* their tmpfs is the container's own to CRIU, which would write their
	 * content into the images */
	if (c->fs.n_secrets || c->fs.credentials_passthrough)
		return CKPT_FAIL(err, EOPNOTSUPP, "container %s has secrets (--secret, credentials): their content "
				 "would be written into the checkpoint; not supported", c->name);
	if (c->proc.tty)
		return CKPT_FAIL(err, EOPNOTSUPP, "container %s has a terminal (-t): not supported by checkpoint",
				c->name);
	if (c->sec.seccomp_log_denied || c->sec.seccomp_trace)
		return CKPT_FAIL(err, EOPNOTSUPP, "container %s has a seccomp listener (--seccomp-log-denied or "
				"trace): CRIU cannot dump it", c->name);
	return 0;
}

/* DIR created (0700), or an empty one taken; images/ in it. */
static int make_dir(const char *dir, struct nerr *err)
{
	_cleanup_free_ char *images = xasprintf("%s/%s", dir, CKPT_IMAGES);

	if (mkdir(dir, 0700) < 0) {
		if (errno != EEXIST || rmdir(dir) < 0 || mkdir(dir, 0700) < 0)
			return nerr_set(err, errno == ENOTEMPTY || errno == EEXIST ? EEXIST : errno,
					"--output `%s`: %s", dir,
					errno == ENOTEMPTY || errno == EEXIST ? "exists and is not empty" : strerror(errno));
	}
	if (mkdir(images, 0700) < 0) {
		rmdir(dir);
		return nerr_set(err, errno, "create `%s`", images);
	}
	return 0;
}

static char *ns_inode(pid_t pid, const char *ns)
{
	_cleanup_free_ char *p = xasprintf("/proc/%d/ns/%s", (int)pid, ns);
	_cleanup_free_ char *self = xasprintf("/proc/self/ns/%s", ns);
	struct stat a, b;

	if (stat(p, &a) < 0 || stat(self, &b) < 0 || a.st_ino == b.st_ino)
		return NULL;
	return xasprintf("%llu", (unsigned long long)a.st_ino);
}

static int write_config(int dirfd, const struct container_config *cfg, struct nerr *err)
{
	json_t *o = container_config_to_json(cfg);
	_cleanup_free_ char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	int rc;

	json_decref(o);
	if (!text)
		return nerr_set(err, ENOMEM, "the configuration as JSON");
	if ((rc = write_file_at(dirfd, CKPT_CONFIG, text, strlen(text), 0600)) < 0)
		return nerr_set(err, -rc, "write %s", CKPT_CONFIG);
	return 0;
}

/* The root's own content (the mount points, /etc's files, the symlinks of
 * a merged /usr), which CRIU leaves to --root at restore and does not
 * dump: the root mount alone (open_tree without AT_RECURSIVE: none of
 * the mounts on it) archived by the host's tar. It is read-only from the
 * container's start on, so it is the same before the dump as during. */
static int archive_root(pid_t pid, const char *out, struct nerr *err)
{
	_cleanup_free_ char *ns = xasprintf("/proc/%d/ns/mnt", (int)pid);
	int status;
	pid_t child;

	if ((child = fork()) < 0)
		return nerr_set(err, errno, "fork");
	if (child == 0) {
		int host = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC), ctr = open(ns, O_RDONLY | O_CLOEXEC);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC), tree;
		char dir[64];

		if (host < 0 || ctr < 0 || null < 0 || setns(ctr, CLONE_NEWNS) < 0)
			_exit(126);
		tree = open_tree(AT_FDCWD, "/", OPEN_TREE_CLONE);
		if (tree < 0 || setns(host, CLONE_NEWNS) < 0 || chdir("/") < 0)
			_exit(126);
		snprintf(dir, sizeof(dir), "/proc/self/fd/%d", tree);
		dup2(null, 0);
		dup2(null, 1);
		execlp("tar", "tar", "--numeric-owner", "-C", dir, "-cf", out, ".", (char *)NULL);
		_exit(127);
	}
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return nerr_set(err, EIO, "archive the container's root with tar (status %d%s)",
				WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
				WIFEXITED(status) && WEXITSTATUS(status) == 127 ? ": tar not found" : "");
	return 0;
}

static int dump(const struct container_state *st, const char *dir, const struct ckpt_manifest *m,
		const char *criu, struct nerr *err)
{
	_cleanup_strv_ char **argv = NULL;
	_cleanup_free_ char *images = xasprintf("%s/%s", dir, CKPT_IMAGES);
	_cleanup_free_ char *log = xasprintf("%s/criu-dump.log", dir);
	_cleanup_free_ char *net = ns_inode(st->pid, "net");
	_cleanup_free_ char *root = xasprintf("%s/%s", images, CKPT_ROOT_TAR);
	char pid[16];
	int rc;

	if ((rc = archive_root(st->pid, root, err)) < 0)
		return rc;
	snprintf(pid, sizeof(pid), "%d", (int)st->pid);
	strv_push(&argv, criu);
	strv_push(&argv, "dump");
	strv_push(&argv, "--tree");
	strv_push(&argv, pid);
	strv_push(&argv, "--images-dir");
	strv_push(&argv, images);
	strv_push(&argv, "--work-dir");
	strv_push(&argv, dir);
	strv_push(&argv, "--log-file");
	strv_push(&argv, "criu-dump.log");
	strv_push(&argv, "-v4");
	strv_push(&argv, "--manage-cgroups=soft");
	/* iptables-restore is not needed (nor in the VM image): CRIU links
	 * libnftables */
	strv_push(&argv, "--network-lock=nftables");
	/* a file the workload deleted but holds open, and its locks */
	strv_push(&argv, "--link-remap");
	strv_push(&argv, "--file-locks");
	if (m->leave_running)
		strv_push(&argv, "--leave-running");
	for (size_t i = 0; m->ext_mounts[i]; i++)
		strv_push_take(&argv, xasprintf("--external=mnt[%s]:%s", m->ext_mounts[i], m->ext_mounts[i]));
	/* the container's own network namespace: made again (lo) at restore */
	/* (CRIU reads its conntrack table still: nf_conntrack_netlink
	 * must be loaded, or the dump fails with "-22 reported by netlink") */
	if (net)
		strv_push_take(&argv, xasprintf("--external=net[%s]:nucleus-netns", net));
	for (size_t i = 0; i < CKPT_STDIO; i++)
		if (m->stdio[i] && !strncmp(m->stdio[i], "file[", 5))
			strv_push_take(&argv, xasprintf("--external=%s", m->stdio[i]));
	for (size_t i = 0; m->ext_files[i]; i++)
		strv_push_take(&argv, xasprintf("--external=%s", m->ext_files[i]));
	return criu_run(argv, "dump", log, NULL, 0, -1, err);
}

int container_checkpoint(const char *query, const char *dir, bool leave_running, struct nerr *err)
{
	struct container_state st = { 0 };
	struct ckpt_manifest m = { 0 };
	struct criu_info ci = { 0 };
	_cleanup_free_ char *marker = NULL;
	struct utsname u;
	char id[33];
	int rc, dirfd = -1;
	bool made = false;

	if ((rc = criu_require(&ci, err)) < 0)
		goto out;
	if ((rc = state_lookup(query, id, err)) < 0 || (rc = state_read(id, &st, err)) < 0)
		goto out;
	if ((rc = check_container(&st, err)) < 0)
		goto out;
	uname(&u);
	m.format = CKPT_FORMAT_VERSION;
	snprintf(m.nucleus_version, sizeof(m.nucleus_version), "%s", NUCLEUS_VERSION);
	snprintf(m.arch, sizeof(m.arch), "%s", u.machine);
	snprintf(m.kernel, sizeof(m.kernel), "%s", u.release);
	snprintf(m.criu_version, sizeof(m.criu_version), "%s", ci.version);
	snprintf(m.id, sizeof(m.id), "%s", st.cfg.id);
	snprintf(m.name, sizeof(m.name), "%s", st.cfg.name);
	m.leave_running = leave_running;
	m.started_ns = st.started_ns;
	m.restarts = st.restarts;
	if ((rc = find_external(st.pid, &m, err)) < 0)
		goto out;
	if ((rc = make_dir(dir, err)) < 0)
		goto out;
	made = true;
	/* the supervisor records the exit that follows as a checkpoint's */
	if (!leave_running) {
		char path[512];

		if ((rc = state_path(st.cfg.id, CKPT_EXIT_MARKER, path, sizeof(path))) < 0 ||
		    (rc = write_file(path, dir, strlen(dir), 0600)) < 0) {
			rc = nerr_set(err, -rc, "mark the container as being checkpointed");
			goto out;
		}
		marker = xstrdup(path);
	}
	m.created_ns = realtime_ns();
	if ((rc = dump(&st, dir, &m, ci.path, err)) < 0)
		goto out;
	if ((dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = nerr_set(err, errno, "open `%s`", dir);
		goto out;
	}
	if ((rc = write_config(dirfd, &st.cfg, err)) < 0 || (rc = ckpt_manifest_write(dirfd, &m, err)) < 0 ||
	    (rc = ckpt_integrity_write(dirfd, err)) < 0)
		goto out;
	made = false;     /* kept */
	if (marker) {
		free(marker);
		marker = NULL;   /* read by the supervisor */
	}
out:
	if (marker)
		unlink(marker);
	if (made) {
		/* nothing of a failed checkpoint stays but CRIU's log, moved
		 * out of the way for a look */
		_cleanup_free_ char *log = xasprintf("%s/criu-dump.log", dir);
		_cleanup_free_ char *kept = xasprintf("%s.criu-dump.log", dir);

		if (rc < 0 && rename(log, kept) == 0) {
			char msg[sizeof(err->msg)];

			snprintf(msg, sizeof(msg), "%s (CRIU's log: %s)", err->msg, kept);
			snprintf(err->msg, sizeof(err->msg), "%s", msg);
		}
		remove_tree(dir);
	}
	if (dirfd >= 0)
		close(dirfd);
	ckpt_manifest_free(&m);
	criu_info_free(&ci);
	container_state_free(&st);
	return rc;
}
