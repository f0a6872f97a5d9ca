/* filesystem: the container's root, built in the child inside its new mount
 * namespace: a tmpfs root, read-only host binds, a minimal /etc, /context,
 * /tmp, /dev and /proc, then pivot_root. */
#ifndef NUCLEUS_FILESYSTEM_H
#define NUCLEUS_FILESYSTEM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <nucleus/util.h>

enum context_mode { CONTEXT_COPY, CONTEXT_BIND };

/* The size of /tmp, and what a copied /context may grow by, unless
 * --tmpfs-size says otherwise (and at most --memory). */
#define TMPFS_SIZE_DEFAULT (1ull << 30)

/* --rootfs, opened by the supervisor before clone (rootfs.c): the
 * directory's read-only clone and its Nix closure, which the child
 * attaches (docs/rootfs.md). */
struct fs_store_path {
	char *name;                /* <hash>-<name> under /nix/store */
	int fd;                    /* its detached read-only clone; -1: a symlink */
	char *link;                /* a symlink store path's target */
};

struct fs_rootfs {
	int tree_fd;               /* detached, recursive, read-only clone of DIR */
	bool has_store;            /* a closure: /nix/store is a tmpfs of these */
	struct fs_store_path *store;
	size_t n_store;
	char **top;                /* what the container gets of its top level
	                            * ("/usr", ...; "/nix/store" with a closure) */
};

/* Where the clone is attached while the root is built (then detached). */
#define FS_ROOTFS_TREE "/.nucleus-rootfs"
/* The top-level names the container gets from nucleus, not the rootfs. */
const char *const *fs_rootfs_skip(const struct fs_rootfs *rf);

/* Check DIR (absolute; a directory, not a symlink; owned by root or the
 * caller; not writable by group or others), clone it, and open its
 * closure: the tree's .nucleus-rootfs-store-paths, else `nix-store
 * --query --requisites` when DIR is under /nix/store and nix-store is
 * installed, else none. Nothing is left open on failure. */
int fs_rootfs_open(const char *path, struct fs_rootfs *rf, struct nerr *err);
void fs_rootfs_close(struct fs_rootfs *rf);

/* A check of the rootfs as the container will see it (an attestation):
 * run in the child once the clone and the closure are mounted and
 * read-only, on the directory fds of those mounts (store_fd -1: no
 * closure), before anything of the rootfs is used. */
typedef int (*fs_rootfs_check_fn)(int tree_fd, int store_fd, void *arg, struct nerr *err);

/* --volume and --tmpfs (volume.c; docs/volumes.md). A volume's access
 * before the service mode settles it: FS_VOLUME_DEFAULT becomes read-only
 * in production, read-write in agent mode (container/mode.c); whatever
 * reads it afterwards treats anything but FS_VOLUME_RW as read-only. */
enum fs_volume_access { FS_VOLUME_DEFAULT, FS_VOLUME_RO, FS_VOLUME_RW };

struct fs_volume {
	char *src;                 /* absolute host path (a directory or a file) */
	char *dest;                /* normalised absolute path in the container */
	enum fs_volume_access access;
	bool exec;                 /* mounted without noexec */
	bool chown;                /* :U, the source chowned (recursively) to the
	                            * workload identity before the run */
};

struct fs_tmpfs {
	char *dest;
	uint64_t size;             /* bytes; 0 until validate (fs_mounts_check) */
	unsigned mode;             /* of its root; 01777 unless mode= */
	bool exec;
};

/* The default size of a --tmpfs without size= (at most --memory). */
#define FS_TMPFS_SIZE_DEFAULT (64ull << 20)

/* `SRC:DEST[:OPTS]`, OPTS comma-separated ro, rw, exec, noexec, U. The
 * syntax only: the source is opened at the run (fs_volume_open). */
int fs_volume_parse(const char *arg, struct fs_volume *out, struct nerr *err);
/* `DEST[:OPTS]`, OPTS comma-separated size=N[kmg], mode=OCTAL, exec, noexec. */
int fs_tmpfs_parse(const char *arg, struct fs_tmpfs *out, struct nerr *err);
/* A mount point in the container: absolute, no `..` nor `.` (refused, not
 * resolved), repeated or trailing slashes dropped, not `/`, nothing under
 * /proc, /dev or /sys, no whitespace, `\`, `,` or `:`. *out the normalised
 * path (owned). `what` names it in the message ("--volume"). */
int fs_dest_normalise(const char *dest, const char *what, char **out, struct nerr *err);
void fs_volume_free(struct fs_volume *v);
void fs_tmpfs_free(struct fs_tmpfs *t);
/* Every destination once; each tmpfs sized: `memory_max` (0: none) caps
 * it, and a tmpfs without a size gets FS_TMPFS_SIZE_DEFAULT or less. */
struct fs_config;
int fs_mounts_check(struct fs_config *f, uint64_t memory_max, struct nerr *err);
/* The supervisor's half: SRC opened without following its last component
 * (a symlink is refused), a directory or a regular file; :U chowns it to
 * uid:gid (recursively, symlinks not followed, one filesystem; only a
 * source owned by root, the caller or uid already). As root (`clone`):
 * *fd a detached recursive clone with the volume's attributes set
 * (nosuid, nodev, ro unless rw, noexec unless exec), which the child
 * attaches; otherwise *fd the O_PATH descriptor, the child binds the path
 * and checks it is that one. */
int fs_volume_open(const struct fs_volume *v, bool clone, uid_t uid, gid_t gid, int *fd, struct nerr *err);
/* As root: a detached clone of the open file fd (a bind of that very
 * inode: what is written to it later shows), read-only, nosuid, nodev,
 * noexec, private: --hosts-file's, attached at /etc/hosts. */
int fs_file_clone_ro(int fd, int *out, struct nerr *err);
/* A volume's mount attributes (MOUNT_ATTR_*). */
unsigned fs_volume_attrs(const struct fs_volume *v);

struct fs_spec {
	const char *staging;       /* empty host directory the root tmpfs is mounted on */
	const struct fs_rootfs *rootfs;  /* --rootfs in place of the host binds; NULL: none */
	fs_rootfs_check_fn rootfs_check;  /* NULL: none */
	void *rootfs_check_arg;
	int context_fd;            /* O_PATH directory fd of the context, -1 for none */
	int context_mount_fd;      /* copy mode: the copy, made by the supervisor
	                            * (fs_context_copy); -1: the child copies */
	const char *context_path;  /* the same directory by absolute path */
	enum context_mode context_mode;
	char **exec_paths;         /* /tmp, /context or subtrees mounted without noexec */
	uint64_t tmpfs_size;       /* /tmp's size; what a copied /context may grow by */
	bool userns;               /* bind host device nodes instead of mknod */
	bool allow_chroot;         /* chroot when pivot_root is refused */
	bool proc_rw;              /* /proc/sys etc. writable (never by default) */
	int proc_hidepid;          /* /proc's hidepid= (0: off, 1: noaccess, 2: invisible),
	                            * checked by the mount audit */
	const struct fs_volume *volumes;  /* mounted after /tmp and /context, */
	size_t n_volumes;
	const int *volume_fds;     /* fs_volume_open's, one per volume */
	bool volume_clones;        /* they are detached clones (else O_PATH fds) */
	const struct fs_tmpfs *tmpfs;     /* with the tmpfs mounts, parents first */
	size_t n_tmpfs;
	const char *hostname;
	char **dns;                /* nameservers for resolv.conf */
	char **dns_search;
	char **extra_hosts;        /* "ip\tname" lines for /etc/hosts */
	char **self_hosts;         /* "ip\thostname" lines naming the container;
	                            * NULL: 127.0.1.1 */
	bool hosts_mount;          /* --hosts-file: hosts_mount_fd, a detached
	                            * read-only clone of the file, attached at
	                            * /etc/hosts in place of the generated one */
	int hosts_mount_fd;
	struct copy_skipped *copy_skipped;  /* out, copy mode: what was left out (may be NULL) */
	int secrets_mount_fd;      /* fs_secrets_stage's tmpfs, attached at
	                            * /run/secrets; -1: none */
	const struct fs_secret *secrets;  /* a DEST outside /run/secrets gets a
	                            * read-only bind of its file there */
	size_t n_secrets;
	const char *notify_dir;    /* --sd-notify=container: the host directory of
	                            * the supervisor's socket, bound read-only at
	                            * /run/notify; NULL: none */
};

/* What fs_plan builds the root from, for a description of the same root
 * elsewhere (src/oci, the OCI bundle): the host directories bound
 * read-only, /etc's host binds, copies and fixed files and the generated
 * files' text, /proc's masked and read-only paths, /dev's nodes. */
struct fs_etc_copy { const char *name, *src; };      /* /etc/NAME from the first SRC that exists */
struct fs_etc_file { const char *name, *text; };     /* "/etc/passwd" and its text */
struct fs_dev_node { const char *name; unsigned major, minor; };
const char *const *fs_root_host_dirs(size_t *n);
const char *const *fs_etc_bind_paths(size_t *n);
const struct fs_etc_copy *fs_etc_copies(size_t *n);
const struct fs_etc_file *fs_etc_fixed_files(size_t *n);
char *fs_etc_hosts_text(const struct fs_spec *s);     /* hostname, self_hosts, extra_hosts */
char *fs_etc_resolv_text(const struct fs_spec *s);    /* dns, dns_search */
const char *const *fs_proc_masked_paths(size_t *n);
const char *const *fs_proc_readonly_paths(size_t *n);
const struct fs_dev_node *fs_dev_nodes(size_t *n);
/* /proc's hidepid= mount option for the spec ("hidepid=invisible"), or NULL. */
const char *fs_proc_hidepid_option(const struct fs_spec *s);

/* Everything up to and including pivot_root, as a list of ops planned from
 * the spec and run by one interpreter; the cwd is "/" afterwards. */
int fs_setup(const struct fs_spec *s, struct nerr *err);
/* Check the finished mount table: everything read-only except the
 * writable set (/tmp, /dev/shm, /dev/pts, a copied /context, /proc), and
 * nothing writable executable except the exec paths. */
int fs_audit(const struct fs_spec *s, struct nerr *err);

/* What a copy cannot carry: fifos, sockets and device nodes. */
struct copy_skipped {
	unsigned fifos, sockets, devices;
	char example[2][256];      /* the first two, relative to the top */
};

/* Copy mode, as root: the context copied into a detached tmpfs (noexec
 * unless `exec`, capped at its content plus `grow`), owned by uid:gid (the
 * container's root); *mount_fd is
 * the mount, for fs_spec.context_mount_fd. Charged to the caller, not to
 * the container. */
int fs_context_copy(int context_fd, bool exec, uint64_t grow, uid_t uid, gid_t gid,
		    struct copy_skipped *skipped, int *mount_fd, struct nerr *err);

/* Copy a directory tree (modes and times kept, symlinks copied as links,
 * never followed; devices, fifos and sockets skipped and counted in
 * *skipped when it is not NULL). */
int copy_tree(int src_dirfd, int dst_dirfd, struct copy_skipped *skipped, struct nerr *err);
/* The one-line warning about what was skipped; NULL when nothing was. */
char *copy_skipped_message(const struct copy_skipped *s);

/* --secret SRC:DEST and --systemd-credential NAME:DEST as given (paths and
 * names only, never the content): staged on a read-only tmpfs at
 * /run/secrets (docs/secrets.md). */
struct fs_secret {
	char *src;                   /* --secret: the host file; NULL for a credential */
	char *dest;                  /* absolute, normalised path in the container */
	char *credential;            /* --systemd-credential: NAME in $CREDENTIALS_DIRECTORY */
};

/* Where the secrets tmpfs is attached, and where --credentials-passthrough
 * puts the caller's credentials (CREDENTIALS_DIRECTORY in the workload). */
#define FS_SECRETS_DIR "/run/secrets"
/* Where --sd-notify=container's socket directory is bound. */
#define FS_NOTIFY_DIR "/run/notify"
#define FS_CREDENTIALS_SUBDIR "credentials"
#define FS_CREDENTIALS_DIR FS_SECRETS_DIR "/" FS_CREDENTIALS_SUBDIR
/* Caps: one secret, and the whole tmpfs. */
#define FS_SECRET_MAX (1u << 20)
#define FS_SECRETS_TOTAL_MAX (16u << 20)

/* Check a --secret/--systemd-credential argument's DEST (absolute, no
 * `..`/`.`/empty component, not under /proc /dev /sys, not /run/secrets
 * itself) and return it normalised (no repeated or trailing slash). */
int fs_secret_dest(const char *flag, const char *dest, char **out, struct nerr *err);
/* The name a secret has on the tmpfs: DEST's path below /run/secrets, or
 * DEST's last component for a DEST elsewhere (bound there read-only). */
const char *fs_secret_name(const struct fs_secret *s);

/* One secret to stage: its content, zeroed by fs_secrets_stage. */
struct fs_secret_data {
	const char *name;            /* relative path on the tmpfs */
	char *buf;
	size_t len;
};

/* Write buf as `name` (0400, uid:gid) in dirfd, then zero buf
 * (explicit_bzero), whatever the outcome. The file must not exist. */
int fs_secret_write(int dirfd, const char *name, char *buf, size_t len, uid_t uid, gid_t gid,
		    struct nerr *err);
/* With the rights to mount (root, or the child in its user namespace): a
 * detached tmpfs (0700, uid:gid, nosuid,nodev,noexec, sized to its
 * content) holding each secret (the `credentials/` directory, 0500, for
 * names below it; made, if empty, when `credentials`), every buffer
 * zeroed, then made read-only; *mount_fd is the mount, for
 * fs_spec.secrets_mount_fd. */
int fs_secrets_stage(struct fs_secret_data *d, size_t n, bool credentials, uid_t uid, gid_t gid,
		     int *mount_fd, struct nerr *err);

/* The container configuration's filesystem part (container_config.fs);
 * its strings are owned (container_config_free). */
struct fs_config {
	char *context;               /* host directory, NULL for none */
	enum context_mode context_mode;
	char **allow_exec;           /* --allow-exec paths, canonical */
	char **exec_paths;           /* what is mounted executable: --allow-exec and
	                              * the policy's execute grants (container_exec_plan) */
	uint64_t tmpfs_size;         /* /tmp, and what a copied /context may grow by;
	                              * 0 until validate: 1G, at most --memory */
	bool allow_chroot_fallback;
	char *rootfs;                /* --rootfs: a directory mounted read-only as /
	                              * instead of the host binds; NULL: host binds */
	bool verify_attestation;     /* --verify-rootfs-attestation */
	char *attestation_sha256;    /* --rootfs-attestation-sha256: the manifest's pin */
	bool no_attestation;         /* --no-rootfs-attestation: production without it, said so */
	bool verify_context;         /* --verify-context-integrity */
	int proc_hidepid;            /* /proc's hidepid= (0, or 2: invisible) */
	struct fs_secret *secrets;   /* --secret, --systemd-credential */
	size_t n_secrets;
	bool credentials_passthrough; /* every credential of $CREDENTIALS_DIRECTORY
	                              * at /run/secrets/credentials, and the
	                              * workload's CREDENTIALS_DIRECTORY there */
	struct fs_volume *volumes;   /* --volume */
	size_t n_volumes;
	struct fs_tmpfs *tmpfs;      /* --tmpfs */
	size_t n_tmpfs;
};

#endif
