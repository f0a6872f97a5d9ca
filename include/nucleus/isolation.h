/* isolation: namespaces, user-namespace id maps, and joining a running
 * container's namespaces (attach). */
#ifndef NUCLEUS_ISOLATION_H
#define NUCLEUS_ISOLATION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <nucleus/util.h>

struct ns_spec {
	bool user;          /* new user namespace (rootless or --userns) */
	bool cgroup;        /* new cgroup namespace (unshared after joining cgroups) */
	bool time;          /* new time namespace */
	bool net;           /* new network namespace (false: host network) */
};
/* clone3 flags for the namespaces created at clone time. The cgroup
 * namespace is not among them: it must be rooted at the container's cgroup,
 * which the child joins after clone, so the child unshares it itself. */
uint64_t ns_clone_flags(const struct ns_spec *s);

struct idmap {
	uint32_t inside, outside, count;
};
struct userns_map {
	struct idmap uid[4], gid[4];
	size_t nuid, ngid;
	bool deny_setgroups;  /* required for an unprivileged single-id map */
};
/* Rootless: the caller's uid/gid become 0 inside, nothing else is mapped. */
void userns_map_rootless(struct userns_map *m, uid_t uid, gid_t gid);
/* --userns (root only): 0..count-1 inside -> a subordinate range of the
 * host from /etc/subuid and /etc/subgid ("root" or "nucleus" entries), or
 * 100000:65536 when neither file names one. */
int userns_map_range(struct userns_map *m, struct nerr *err);
int userns_write_maps(pid_t pid, const struct userns_map *m, struct nerr *err);

/* Namespaces this process can create, probed by creating them in a
 * short-lived child: bits of CLONE_NEW*. */
uint64_t ns_probe(void);
/* Whether an unprivileged user can create a user namespace (probed as
 * nobody when we are root). */
bool userns_unprivileged(void);

/* Bring up the loopback interface of the current network namespace. */
int net_loopback_up(struct nerr *err);

/* The container configuration's namespace part (container_config.ns). */
struct ns_config {
	bool rootless;               /* user namespace with a single-id map */
	bool userns;                 /* root: map to a subordinate range */
	bool time;                   /* a time namespace */
	bool cgroup;                 /* a cgroup namespace (default true) */
};

#endif
