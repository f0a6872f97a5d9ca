/* Namespace flags, uid/gid maps, loopback. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <nucleus/isolation.h>

uint64_t ns_clone_flags(const struct ns_spec *s)
{
	uint64_t f = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;

	if (s->net)
		f |= CLONE_NEWNET;
	if (s->user)
		f |= CLONE_NEWUSER;
	if (s->time)
		f |= CLONE_NEWTIME;
	return f;
}

void userns_map_rootless(struct userns_map *m, uid_t uid, gid_t gid)
{
	memset(m, 0, sizeof(*m));
	m->uid[0] = (struct idmap){ 0, uid, 1 };
	m->gid[0] = (struct idmap){ 0, gid, 1 };
	m->nuid = m->ngid = 1;
	m->deny_setgroups = true;
}

/* First "name:start:count" line of a subordinate id file for one of names. */
static bool subid_lookup(const char *file, const char *const *names, uint32_t *start, uint32_t *count)
{
	_cleanup_free_ char *buf = NULL;
	char *save = NULL;

	if (read_file(file, 1 << 20, &buf, NULL) < 0)
		return false;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2;
		uint64_t s, n;

		if (!c1 || !(c2 = strchr(c1 + 1, ':')))
			continue;
		*c1 = *c2 = '\0';
		if (!strv_contains((char *const *)names, line))
			continue;
		if (parse_u64(c1 + 1, 1, UINT32_MAX, &s) < 0 || parse_u64(c2 + 1, 1, UINT32_MAX, &n) < 0)
			continue;
		*start = (uint32_t)s;
		*count = (uint32_t)n;
		return true;
	}
	return false;
}

int userns_map_range(struct userns_map *m, struct nerr *err)
{
	static const char *const names[] = { "nucleus", "root", NULL };
	uint32_t us = 100000, uc = 65536, gs = 100000, gc = 65536;

	memset(m, 0, sizeof(*m));
	if (geteuid() != 0)
		return nerr_set(err, EPERM, "--userns needs root (use --rootless as an ordinary user)");
	subid_lookup("/etc/subuid", names, &us, &uc);
	subid_lookup("/etc/subgid", names, &gs, &gc);
	if (uc > 65536)
		uc = 65536;
	if (gc > 65536)
		gc = 65536;
	m->uid[0] = (struct idmap){ 0, us, uc };
	m->gid[0] = (struct idmap){ 0, gs, gc };
	m->nuid = m->ngid = 1;
	return 0;
}

static int write_map(pid_t pid, const char *file, const struct idmap *map, size_t n, struct nerr *err)
{
	char path[64], buf[256];
	size_t len = 0;
	int r;

	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n",
					map[i].inside, map[i].outside, map[i].count);
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	r = write_str(path, buf);
	if (r < 0)
		return nerr_set(err, -r, "write %s", path);
	return 0;
}

int userns_write_maps(pid_t pid, const struct userns_map *m, struct nerr *err)
{
	int r;

	if (m->deny_setgroups) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
		if ((r = write_str(path, "deny")) < 0)
			return nerr_set(err, -r, "write %s", path);
	}
	if ((r = write_map(pid, "uid_map", m->uid, m->nuid, err)) < 0)
		return r;
	return write_map(pid, "gid_map", m->gid, m->ngid, err);
}

int net_loopback_up(struct nerr *err)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;

	if (fd < 0)
		return nerr_set(err, errno, "socket for loopback");
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return nerr_set(err, errno, "get flags of lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return nerr_set(err, errno, "bring up lo");
	return 0;
}
