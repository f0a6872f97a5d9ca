/* filesystem: the container's root, built in the child inside its new mount
 * namespace: a tmpfs root, read-only host binds, a minimal /etc, /context,
 * /tmp, /dev and /proc, then pivot_root. */
#ifndef NUCLEUS_FILESYSTEM_H
#define NUCLEUS_FILESYSTEM_H

#include <stdbool.h>
#include <sys/types.h>
#include <nucleus/util.h>

enum context_mode { CONTEXT_COPY, CONTEXT_BIND };

struct fs_spec {
	const char *staging;       /* empty host directory the root tmpfs is mounted on */
	int context_fd;            /* O_PATH directory fd of the context, -1 for none */
	const char *context_path;  /* the same directory by absolute path */
	enum context_mode context_mode;
	bool userns;               /* bind host device nodes instead of mknod */
	bool allow_chroot;         /* chroot when pivot_root is refused */
	bool proc_rw;              /* /proc/sys etc. writable (never by default) */
	const char *hostname;
	char **dns;                /* nameservers for resolv.conf */
	char **dns_search;
	char **extra_hosts;        /* "ip\tname" lines for /etc/hosts */
	char **self_hosts;         /* "ip\thostname" lines naming the container;
	                            * NULL: 127.0.1.1 */
	struct copy_skipped *copy_skipped;  /* out, copy mode: what was left out (may be NULL) */
};

/* Everything up to and including pivot_root; the cwd is "/" afterwards. */
int fs_setup(const struct fs_spec *s, struct nerr *err);
/* Check the finished mount table: everything read-only except the
 * writable set (/tmp, /dev/shm, /dev/pts, a copied /context, /proc). */
int fs_audit(const struct fs_spec *s, struct nerr *err);

/* What a copy cannot carry: fifos, sockets and device nodes. */
struct copy_skipped {
	unsigned fifos, sockets, devices;
	char example[2][256];      /* the first two, relative to the top */
};
/* Copy a directory tree (modes and times kept, symlinks copied as links,
 * never followed; devices, fifos and sockets skipped and counted in
 * *skipped when it is not NULL). */
int copy_tree(int src_dirfd, int dst_dirfd, struct copy_skipped *skipped, struct nerr *err);
/* The one-line warning about what was skipped; NULL when nothing was. */
char *copy_skipped_message(const struct copy_skipped *s);

#endif
