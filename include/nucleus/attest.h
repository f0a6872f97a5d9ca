/* attest: the rootfs manifest (.nucleus-rootfs-sha256) and the check of a
 * tree against it, both ways. Everything works on directory fds: the
 * caller passes the fd of the mount the container will see, so nothing
 * can change between the check and the use through another path.
 * The format and what is covered: docs/attestation.md. */
#ifndef NUCLEUS_ATTEST_H
#define NUCLEUS_ATTEST_H

#include <nucleus/util.h>

/* Top level of the tree; the manifest is not part of what it covers. */
#define ATTEST_MANIFEST ".nucleus-rootfs-sha256"
/* Top level of the tree: the /nix/store paths of its closure, one a line. */
#define ATTEST_STORE_PATHS ".nucleus-rootfs-store-paths"
#define ATTEST_STORE_DIR "/nix/store"
/* What a manifest may weigh (read through attest_manifest_read). */
#define ATTEST_MANIFEST_MAX (64u << 20)

/* One regular file (link NULL, sha256 its content) or symlink (link its
 * target, sha256 empty). path is relative to the tree, or absolute
 * /nix/store/<name>[/rel] for the files of the closure's store paths. */
struct attest_entry {
	char *path;
	char *link;
	char sha256[65];
};

/* Sorted by path (byte order), no duplicates. */
struct attest_manifest {
	struct attest_entry *e;
	size_t n;
};

/* The return value of attest_verify (and of a pinned manifest that does
 * not match) when the tree differs: err names the first difference.
 * Any other negative errno: the tree or the manifest could not be read. */
#define ATTEST_DIFFERS EBADMSG

/* Both line forms: "<sha256>  <path>" and the original's "<sha256>\t<path>";
 * symlinks "-><target>  <path>" (target escaped: docs/attestation.md).
 * Refuses bad hashes, unsafe paths, duplicates, the manifest itself. */
int attest_manifest_parse(const char *text, size_t len, struct attest_manifest *m, struct nerr *err);
/* The canonical text (two spaces, sorted); never NULL. */
char *attest_manifest_format(const struct attest_manifest *m);
void attest_manifest_free(struct attest_manifest *m);
/* sha256 of attest_manifest_format(m), hex: what --rootfs-attestation-sha256
 * pins when the manifest was written by `nucleus rootfs attest`. */
void attest_manifest_sha256(const struct attest_manifest *m, char out[65]);

/* Walk and hash the tree at dirfd and, when it has a store paths list, the
 * files of each listed store path beneath store_fd (the /nix/store the
 * container gets; -1: none, and a list is then an error). A store path that
 * is the tree itself (same device and inode as dirfd) is skipped. */
int attest_build(int dirfd, int store_fd, struct attest_manifest *m, struct nerr *err);
/* The tree (and the closure's store paths under store_fd) against m: every
 * entry present with the same type, target and content, and nothing else.
 * -ATTEST_DIFFERS with the first difference in err (those of structure in
 * path order, then those of content in path order). */
int attest_verify(int dirfd, int store_fd, const struct attest_manifest *m, struct nerr *err);
/* Read and parse the tree's own manifest through dirfd (no symlink, a
 * regular file, at most ATTEST_MANIFEST_MAX bytes). pin_hex (or NULL):
 * refuse (-ATTEST_DIFFERS) unless sha256(manifest bytes) == pin_hex. */
int attest_manifest_read(int dirfd, const char *pin_hex, struct attest_manifest *m, struct nerr *err);
/* The same for a manifest kept elsewhere, already in memory. */
int attest_manifest_load(const char *text, size_t len, const char *pin_hex, struct attest_manifest *m,
			 struct nerr *err);
/* The tree's ATTEST_STORE_PATHS, read through dirfd: each line an absolute
 * /nix/store/<name> (one component, no '.', '..'); NULL-terminated, in file
 * order. *paths is NULL (and 0 returned) when the tree has no list. */
int attest_store_paths_read(int dirfd, char ***paths, struct nerr *err);
/* The same rules for a list in memory (`nix-store -qR`'s output): every
 * line a store path, none twice; *paths never NULL on success. */
int attest_store_paths_parse(const char *text, size_t len, char ***paths, struct nerr *err);

/* Hashing threads: online CPUs, at most 8. */
unsigned attest_threads(void);

#endif
