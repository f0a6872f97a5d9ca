/* The address allocator: one lease file per container address, under
 *   /run/nucleus-net/ns-<netns inode>/<bridge>/<IPv4 address>
 * holding the container's id, the lock its supervisor holds (the owner),
 * and its published ports, and a tombstone
 *   /run/nucleus-net/ns-<netns inode>/<bridge>/.released-<IPv4 address>
 * for an address whose container has ended while its veth may still exist
 * (the kernel removes it with the container's network namespace, a few ms
 * later, or later still when something else keeps that namespace): the
 * address is not handed out again until the veth is gone. Every change and
 * every decision made from the leases happens under an flock on
 * /run/nucleus-net/lock, so concurrent starts never pick the same address or
 * port. Host state (bridges, forwarding, nftables) belongs to a network
 * namespace, hence the ns-<inode> level.
 *
 * The leases belong to the host, not to a runtime root: a bridge is shared
 * by every container on it whatever its NUCLEUS_ROOT, so one directory must
 * see them all (two roots with their own leases both handed out .2). Hence
 * the owner: a lease is alive while someone holds the flock on the file it
 * names, which is checked the same way from any root. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/file.h>
#include <sys/stat.h>
#include "net_internal.h"

void lease_recs_free(struct lease_rec *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].ports);
		free(r[i].owner);
	}
	free(r);
}

/* Everything in it decides who gets an address and whose ports are
 * unpublished: it must be ours alone, and no symlink. */
static int check_private_dir(const char *dir, struct nerr *err)
{
	struct stat st;

	if (lstat(dir, &st) < 0)
		return nerr_set(err, errno, "`%s`", dir);
	if (!S_ISDIR(st.st_mode))
		return nerr_set(err, ENOTDIR, "`%s` is not a directory", dir);
	if (st.st_uid != geteuid())
		return nerr_set(err, EPERM, "`%s` belongs to uid %u, not to nucleus's user", dir,
				(unsigned)st.st_uid);
	if (st.st_mode & 022)
		return nerr_set(err, EPERM, "`%s` is writable by others (mode %03o)", dir,
				(unsigned)(st.st_mode & 0777));
	return 0;
}

int ipam_open(struct ipam *ip, const char *root, struct nerr *err)
{
	struct stat st;
	_cleanup_free_ char *lock = NULL;
	int r;

	memset(ip, 0, sizeof(*ip));
	ip->lock_fd = -1;
	if (stat("/proc/self/ns/net", &st) < 0)
		return nerr_set(err, errno, "stat /proc/self/ns/net");
	ip->root = xstrdup(root ? root : NET_LEASE_DIR);
	ip->nsdir = xasprintf("%s/ns-%llu", ip->root, (unsigned long long)st.st_ino);
	if ((r = mkdir_p(ip->root, 0700)) < 0) {
		nerr_set(err, -r, "create `%s`", ip->root);
		goto fail;
	}
	if ((r = check_private_dir(ip->root, err)) < 0)
		goto fail;
	lock = xasprintf("%s/lock", ip->root);
	ip->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (ip->lock_fd < 0) {
		r = nerr_set(err, errno, "open `%s`", lock);
		goto fail;
	}
	while ((r = flock(ip->lock_fd, LOCK_EX)) < 0 && errno == EINTR)
		;
	if (r < 0) {
		r = nerr_set(err, errno, "lock `%s`", lock);
		goto fail;
	}
	if (mkdir(ip->nsdir, 0700) < 0 && errno != EEXIST) {
		r = nerr_set(err, errno, "create `%s`", ip->nsdir);
		goto fail;
	}
	return 0;
fail:
	ipam_close(ip);
	return r;
}

void ipam_close(struct ipam *ip)
{
	if (ip->lock_fd >= 0)
		close(ip->lock_fd);
	ip->lock_fd = -1;
	free(ip->root);
	free(ip->nsdir);
	ip->root = ip->nsdir = NULL;
}

char *ipam_path(struct ipam *ip, const char *bridge, const char *file)
{
	return file ? xasprintf("%s/%s/%s", ip->nsdir, bridge, file) : xasprintf("%s/%s", ip->nsdir, bridge);
}

static bool is_lease_name(const char *name)
{
	uint8_t a[4];

	return inet_pton(AF_INET, name, a) == 1;
}

#define TOMBSTONE ".released-"

char *lease_format(const char *id, const char *owner, pid_t pid, const struct cidr *a4, const struct cidr *a6,
		   const struct port_spec *ports, size_t nports)
{
	char buf[128];
	char *t;

	cidr_format(a4, buf, sizeof(buf));
	if (pid > 0)
		t = xasprintf("id %s\nowner %s\nsupervisor %d %llu\naddr4 %s\n", id, owner, (int)pid,
			      (unsigned long long)proc_start_time(pid), buf);
	else
		t = xasprintf("id %s\nowner %s\naddr4 %s\n", id, owner, buf);
	if (a6 && a6->family) {
		char *n;
		cidr_format(a6, buf, sizeof(buf));
		n = xasprintf("%saddr6 %s\n", t, buf);
		free(t);
		t = n;
	}
	for (size_t i = 0; i < nports; i++) {
		char *n;
		port_spec_format(&ports[i], buf, sizeof(buf));
		n = xasprintf("%sport %s\n", t, buf);
		free(t);
		t = n;
	}
	return t;
}

int lease_parse(const char *text, struct lease_rec *r)
{
	_cleanup_free_ char *copy = xstrdup(text);
	char *save = NULL;

	r->id[0] = '\0';
	r->owner = NULL;
	r->pid = 0;
	r->pid_start = 0;
	r->ports = NULL;
	r->nports = 0;
	memset(&r->subnet4, 0, sizeof(r->subnet4));
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (str_has_prefix(l, "id ")) {
			snprintf(r->id, sizeof(r->id), "%s", l + 3);
		} else if (str_has_prefix(l, "owner /") && !r->owner) {
			r->owner = xstrdup(l + 6);
		} else if (str_has_prefix(l, "supervisor ")) {
			unsigned long long pid = 0, start = 0;

			if (sscanf(l + 11, "%llu %llu", &pid, &start) == 2 && pid < INT32_MAX) {
				r->pid = (pid_t)pid;
				r->pid_start = start;
			}
		} else if (str_has_prefix(l, "addr4 ")) {
			if (cidr_parse(l + 6, &r->subnet4, NULL) == 0 && r->subnet4.family == 4)
				continue;
			memset(&r->subnet4, 0, sizeof(r->subnet4));
		} else if (str_has_prefix(l, "port ")) {
			struct port_spec p;
			if (port_spec_parse(l + 5, &p, NULL) < 0)
				continue;
			r->ports = xrealloc(r->ports, (r->nports + 1) * sizeof(p));
			r->ports[r->nports++] = p;
		}
	}
	return r->id[0] ? 0 : -EINVAL;
}

/* The owner's supervisor holds an exclusive flock on its lock file for its
 * whole life: a shared one is refused while it lives. A lock file that is
 * gone (its state was removed) owns nothing. */
bool lease_owner_alive(const char *owner)
{
	int fd, r;

	if (!owner || owner[0] != '/')
		return false;
	fd = open(owner, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return !(errno == ENOENT || errno == ENOTDIR);
	r = flock(fd, LOCK_SH | LOCK_NB);
	close(fd);        /* takes our shared lock with it */
	return r < 0 && errno == EWOULDBLOCK;
}

/* Leases (tombstones false) or tombstones (true) of a bridge; r.name is
 * the address either way. */
static int list_files(struct ipam *ip, const char *bridge, bool tombstones, struct lease_rec **out, size_t *n,
		      struct nerr *err)
{
	_cleanup_free_ char *dir = ipam_path(ip, bridge, NULL);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct lease_rec *v = NULL;
	size_t cnt = 0, skip = tombstones ? strlen(TOMBSTONE) : 0;
	struct dirent *de;

	*out = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : nerr_set(err, errno, "open `%s`", dir);
	while ((de = readdir(d))) {
		_cleanup_free_ char *text = NULL;
		struct lease_rec r = { 0 };

		if (tombstones && !str_has_prefix(de->d_name, TOMBSTONE))
			continue;
		if (!is_lease_name(de->d_name + skip) || strlen(de->d_name + skip) >= sizeof(r.name))
			continue;
		strcpy(r.name, de->d_name + skip);
		if (read_file_at(dirfd(d), de->d_name, 1 << 16, &text, NULL) < 0)
			continue;
		/* a lease without an id was cut short by a crash: nobody's */
		if (lease_parse(text, &r) < 0)
			r.id[0] = '\0';
		v = xrealloc(v, (cnt + 1) * sizeof(*v));
		v[cnt++] = r;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int ipam_list(struct ipam *ip, const char *bridge, struct lease_rec **out, size_t *n, struct nerr *err)
{
	return list_files(ip, bridge, false, out, n, err);
}

int ipam_tombstones(struct ipam *ip, const char *bridge, struct lease_rec **out, size_t *n, struct nerr *err)
{
	return list_files(ip, bridge, true, out, n, err);
}

char **ipam_bridges(struct ipam *ip)
{
	_cleanup_closedir_ DIR *d = opendir(ip->nsdir);
	char **v = xcalloc(1, sizeof(char *));   /* non-NULL even when empty */
	struct dirent *de;

	if (!d)
		return v;
	while ((de = readdir(d)))
		if (de->d_type == DT_DIR && valid_ifname(de->d_name))
			strv_push(&v, de->d_name);
	return v;
}

size_t ipam_count(struct ipam *ip)
{
	_cleanup_strv_ char **br = ipam_bridges(ip);
	size_t n = 0;

	for (size_t i = 0; br[i]; i++) {
		_cleanup_free_ char *dir = ipam_path(ip, br[i], NULL);
		_cleanup_closedir_ DIR *d = opendir(dir);
		struct dirent *de;

		while (d && (de = readdir(d)))
			n += is_lease_name(de->d_name);
	}
	return n;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Lowest free index in [2, hosts]: the used ones sorted, the first gap. */
int ipam_pick(const struct lease_rec *r, size_t n, uint32_t hosts, uint32_t *index)
{
	_cleanup_free_ uint32_t *used = xcalloc(n + 1, sizeof(uint32_t));
	uint32_t want = 2;

	for (size_t i = 0; i < n; i++)
		used[i] = r[i].index;
	qsort(used, n, sizeof(uint32_t), cmp_u32);
	for (size_t i = 0; i < n; i++) {
		if (used[i] < want)
			continue;
		if (used[i] > want)
			break;
		want++;
	}
	if (want > hosts)
		return -ENOSPC;
	*index = want;
	return 0;
}

int ipam_write(struct ipam *ip, const char *bridge, const char *name, const char *text, struct nerr *err)
{
	_cleanup_free_ char *dir = ipam_path(ip, bridge, NULL);
	_cleanup_free_ char *path = ipam_path(ip, bridge, name);
	_cleanup_close_ int fd = -1;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return nerr_set(err, errno, "create `%s`", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return nerr_set(err, errno, "create lease `%s`", path);
	if (write_all(fd, text, strlen(text)) < 0) {
		int e = errno;
		unlink(path);
		return nerr_set(err, e, "write lease `%s`", path);
	}
	return 0;
}

void ipam_remove(struct ipam *ip, const char *bridge, const char *name)
{
	_cleanup_free_ char *path = ipam_path(ip, bridge, name);

	unlink(path);
}

void ipam_release(struct ipam *ip, const char *bridge, const char *name)
{
	_cleanup_free_ char *path = ipam_path(ip, bridge, name);
	_cleanup_free_ char *tomb = xasprintf("%s/%s/" TOMBSTONE "%s", ip->nsdir, bridge, name);

	if (rename(path, tomb) < 0)
		unlink(path);
}

void ipam_bury(struct ipam *ip, const char *bridge, const char *name)
{
	_cleanup_free_ char *tomb = xasprintf("%s/%s/" TOMBSTONE "%s", ip->nsdir, bridge, name);

	unlink(tomb);
}

/* One file of an older build's bridge directory: into ours, with an owner
 * line (the lock of its container under that runtime root) when it is a
 * lease. An address both have is reported and left where it is. */
static void adopt_file(struct ipam *ip, const char *bridge, int dfd, const char *name, const char *state_dir)
{
	_cleanup_free_ char *text = NULL, *moved = NULL;
	struct lease_rec r = { 0 };
	struct nerr e = { 0 };
	bool lease = is_lease_name(name);

	if (read_file_at(dfd, name, 1 << 16, &text, NULL) < 0)
		return;
	if (lease && lease_parse(text, &r) == 0 && !r.owner)
		moved = xasprintf("%sowner %s/%s/lock\n", text, state_dir, r.id);
	free(r.ports);
	free(r.owner);
	if (ipam_write(ip, bridge, name, moved ? moved : text, &e) < 0 && lease) {
		log_warn("network: %s on `%s` is leased twice (%s); it stays in the old place", name, bridge, e.msg);
		return;
	}
	unlinkat(dfd, name, 0);
}

void ipam_adopt(struct ipam *ip, const char *state_dir)
{
	_cleanup_free_ char *old_root = NULL, *old_ns = NULL, *base = NULL;
	struct ipam old;
	struct nerr e = { 0 };
	char **bridges;

	if (!state_dir)
		return;
	old_root = xasprintf("%s/.net", state_dir);
	base = xstrdup(strrchr(ip->nsdir, '/') + 1);
	old_ns = xasprintf("%s/%s", old_root, base);
	if (access(old_ns, F_OK) < 0 || ipam_open(&old, old_root, &e) < 0)
		return;
	log_debug("network: adopting the leases of `%s`", old_ns);
	bridges = ipam_bridges(&old);
	for (size_t i = 0; bridges[i]; i++) {
		_cleanup_free_ char *dir = ipam_path(&old, bridges[i], NULL);
		_cleanup_closedir_ DIR *d = opendir(dir);
		struct dirent *de;

		while (d && (de = readdir(d))) {
			const char *n = de->d_name;

			if (is_lease_name(n) || (str_has_prefix(n, TOMBSTONE) && is_lease_name(n + strlen(TOMBSTONE))))
				adopt_file(ip, bridges[i], dirfd(d), n, state_dir);
			else if (!strcmp(n, "nat"))
				unlinkat(dirfd(d), n, 0);   /* ours is written on the next attach */
		}
		rmdir(dir);
	}
	strv_free(bridges);
	{
		/* the values from before any container: ours unless we have some */
		_cleanup_free_ char *from = xasprintf("%s/forwarding", old.nsdir);
		_cleanup_free_ char *to = xasprintf("%s/forwarding", ip->nsdir);
		_cleanup_free_ char *text = NULL;

		if (read_file(from, 256, &text, NULL) == 0 && access(to, F_OK) < 0)
			write_file(to, text, strlen(text), 0600);
		unlink(from);
	}
	rmdir(old.nsdir);
	ipam_close(&old);
}
