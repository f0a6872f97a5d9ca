/* bpffs, the load lock, pinned sets. */
#include <errno.h>
#include <fcntl.h>
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

int bpf_load_lock(struct nerr *err)
{
	int fd;

	/* The pin directory itself is the lock: bpffs holds no plain files. */
	if (mkdir(BPF_PIN_ROOT, 0700) < 0 && errno != EEXIST)
		return nerr_set(err, errno, "create `%s`", BPF_PIN_ROOT);
	fd = open(BPF_PIN_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return nerr_set(err, errno, "open `%s`", BPF_PIN_ROOT);
	if (flock(fd, LOCK_EX) < 0) {
		int e = errno;
		close(fd);
		return nerr_set(err, e, "lock the BPF load lock");
	}
	return fd;
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

void bpf_unpin_stale(const char *name, const char *keep_dir)
{
	_cleanup_closedir_ DIR *d = opendir(BPF_PIN_ROOT);
	size_t n = strlen(name);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[4096];

		if (strncmp(de->d_name, name, n) || de->d_name[n] != '-')
			continue;
		snprintf(path, sizeof(path), "%s/%s", BPF_PIN_ROOT, de->d_name);
		if (!strcmp(path, keep_dir))
			continue;
		/* unlinking a pin drops a reference; attached programs keep theirs */
		remove_tree(path);
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
