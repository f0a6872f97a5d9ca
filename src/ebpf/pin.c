/* bpffs, the load lock, pinned sets and their collection. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <nucleus/ebpf.h>
#include <nucleus/resources.h>

int bpffs_ensure(struct nerr *err)
{
	struct statfs sf;

	if (statfs("/sys/fs/bpf", &sf) == 0 && sf.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir("/sys/fs/bpf", 0700) < 0 && errno != EEXIST)
		return nerr_set(err, errno, "create /sys/fs/bpf");
	if (mount("bpf", "/sys/fs/bpf", "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0)
		return nerr_set(err, errno, "mount bpffs on /sys/fs/bpf");
	return 0;
}

static int pin_lock(int op, struct nerr *err)
{
	int fd;

	/* The pin directory itself is the lock: bpffs holds no plain files. */
	if (mkdir(BPF_PIN_ROOT, 0700) < 0 && errno != EEXIST)
		return nerr_set(err, errno, "create `%s`", BPF_PIN_ROOT);
	fd = open(BPF_PIN_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return nerr_set(err, errno, "open `%s`", BPF_PIN_ROOT);
	if (flock(fd, op) < 0) {
		int e = errno;
		close(fd);
		return nerr_set(err, e, "lock the BPF load lock");
	}
	return fd;
}

int bpf_load_lock(struct nerr *err)
{
	return pin_lock(LOCK_EX, err);
}

int bpf_use_lock(struct nerr *err)
{
	return pin_lock(LOCK_SH, err);
}

bool bpf_pins_complete(const char *dir, const char *const *names)
{
	for (size_t i = 0; names[i]; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (access(path, F_OK) < 0)
			return false;
	}
	return true;
}

/* ---- versioned sets ----------------------------------------------------------------- */

bool bpf_set_parse(const char *name, const char *object, char version[33], unsigned *level)
{
	size_t n = strlen(object), v = 0;
	const char *p;
	char *end;

	if (strncmp(name, object, n) || name[n] != '-')
		return false;
	p = name + n + 1;
	while (isxdigit((unsigned char)p[v]))
		v++;
	if (!v || v > 32 || strncmp(p + v, "-l", 2) || !isdigit((unsigned char)p[v + 2]))
		return false;
	errno = 0;
	unsigned long l = strtoul(p + v + 2, &end, 10);
	if (errno || l > 1000 || (*end && *end != '-'))
		return false;
	memcpy(version, p, v);
	version[v] = '\0';
	*level = (unsigned)l;
	return true;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **bpf_sets_list(const char *object, unsigned level)
{
	_cleanup_closedir_ DIR *d = opendir(BPF_PIN_ROOT);
	char **names = NULL, version[33];
	struct dirent *de;
	unsigned l;

	while (d && (de = readdir(d)))
		if (bpf_set_parse(de->d_name, object, version, &l) && l == level)
			strv_push(&names, de->d_name);
	if (names)
		qsort(names, strv_len(names), sizeof(*names), cmp_names);
	return names;
}

const char *bpf_pins_find(char *const *pins, const char *object)
{
	char v[33];
	unsigned l;

	for (size_t i = 0; pins && pins[i]; i++)
		if (bpf_set_parse(pins[i], object, v, &l))
			return pins[i];
	return NULL;
}

bool bpf_sets_others(const char *object, const char *version, unsigned level)
{
	_cleanup_closedir_ DIR *d = opendir(BPF_PIN_ROOT);
	struct dirent *de;
	char v[33];
	unsigned l;

	while (d && (de = readdir(d)))
		if (bpf_set_parse(de->d_name, object, v, &l) && l == level && strcmp(v, version))
			return true;
	return false;
}

int bpf_set_mark_abi(const char *dir, const char *abi)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/abi", dir);
	return symlink(abi, path) < 0 && errno != EEXIST ? -errno : 0;
}

bool bpf_set_compatible(const char *dir, const char *version, const char *abi)
{
	_cleanup_free_ char *same = xasprintf("-%s-l", version);
	const char *base = strrchr(dir, '/');
	char path[4096], target[64];
	ssize_t n;

	if (strstr(base ? base + 1 : dir, same))
		return true;         /* the same object: the same maps */
	snprintf(path, sizeof(path), "%s/abi", dir);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return false;        /* pinned by a build that did not say */
	target[n] = '\0';
	return !strcmp(target, abi);
}

/* Whether the cgroup with this id exists: its id is its file handle in
 * cgroupfs, which goes stale when the directory is removed. 1, 0, or -errno
 * when it cannot be told. */
static int cgroup_exists(int mount_fd, uint64_t id)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh = { .handle_bytes = sizeof(uint64_t), .handle_type = 0xfe /* FILEID_KERNFS */ }, .id = id };
	int fd = open_by_handle_at(mount_fd, &h.fh, O_PATH | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return errno == ESTALE || errno == ENOENT ? 0 : -errno;
}

bool bpf_set_in_use(const char *dir, const char *owners)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	struct cgroup_host host;
	_cleanup_close_ int fd = -1, mnt = -1;
	uint64_t key, next, *prev = NULL;

	if ((fd = bpf_pin_open(dir, owners, NULL)) < 0)
		return fd != -ENOENT;          /* no owners: a loader died half-way */
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0 || info.key_size != sizeof(uint64_t))
		return true;
	if (bpf_map_get_next_key(fd, NULL, &next) < 0)
		return false;                  /* empty */
	if (cgroup_host_detect(&host, NULL) < 0 || !host.v2_mount[0] ||
	    (mnt = open(host.v2_mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return true;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (cgroup_exists(mnt, key) != 0)
			return true;
	}
	return false;
}

void bpf_sets_collect(const char *object, const char *version, unsigned level, const char *owners,
		      void (*gone)(const char *version, void *arg), void *arg)
{
	_cleanup_strv_ char **names = bpf_sets_list(object, level);
	char v[33], path[4096];
	unsigned l;

	for (size_t i = 0; names && names[i]; i++) {
		if (!bpf_set_parse(names[i], object, v, &l) || !strcmp(v, version))
			continue;
		snprintf(path, sizeof(path), "%s/%s", BPF_PIN_ROOT, names[i]);
		if (bpf_set_in_use(path, owners))
			continue;
		/* unlinking a pin drops a reference; attached programs keep theirs */
		remove_tree(path);
		log_debug("%s: unpinned %s, which no container uses", object, names[i]);
		if (gone)
			gone(v, arg);
	}
}

int bpf_pin_open(const char *dir, const char *name, struct nerr *err)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return nerr_set(err, -fd, "open pinned `%s`", path);
	return fd;
}

int bpf_ring_open(const char *name, uint32_t bytes, int (*fn)(void *ctx, void *data, size_t size), void *ctx,
		  struct ring_buffer **ring, int *fd, const char *what, struct nerr *err)
{
	int r;

	*ring = NULL;
	if ((*fd = r = bpf_ringbuf_new(name, bytes)) < 0) {
		*fd = -1;
		return nerr_set(err, -r, "create the %s ring buffer", what);
	}
	if (!(*ring = ring_buffer__new(*fd, fn, ctx, NULL)))
		return nerr_set(err, errno, "open the %s ring buffer", what);
	return 0;
}

int bpf_ringbuf_new(const char *name, uint32_t bytes)
{
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_RINGBUF;
	attr.max_entries = bytes;
	snprintf(attr.map_name, sizeof(attr.map_name), "%s", name);
	fd = (int)syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}
