/* What the files of src/oci share: the mounts and what the bundle stages
 * for them (mounts.c), the seccomp profile as OCI JSON (seccomp.c), the
 * whole spec (spec.c), the bundle on disk (bundle.c). */
#ifndef NUCLEUS_OCI_INTERNAL_H
#define NUCLEUS_OCI_INTERNAL_H

#include <jansson.h>
#include <nucleus/oci.h>

/* One thing written into the bundle before the runtime sees it; paths
 * are relative to the bundle. */
enum oci_stage_kind {
	OCI_STAGE_DIR,          /* a directory (0755) */
	OCI_STAGE_FILE,         /* a file with `text` as content (a mount point: "") */
	OCI_STAGE_SYMLINK,      /* a symlink to `text` */
	OCI_STAGE_COPY,         /* the host file `text`'s content */
};

struct oci_stage {
	enum oci_stage_kind kind;
	char *path;
	char *text;
	unsigned mode;
};

struct oci_plan {
	char *dir;              /* the bundle, absolute */
	json_t *mounts;         /* config.json's mounts, in order */
	struct oci_stage *stage;
	size_t nstage;
	bool copy_context;      /* DIR/context: a copy of cfg->fs.context */
	bool secrets;           /* DIR/secrets: the secrets, owned by secrets_uid:gid */
	uid_t secrets_uid;
	gid_t secrets_gid;
	char *hostname;
};

/* The bundle's directories, relative to it. */
#define OCI_ROOTFS "rootfs"
#define OCI_CONTEXT "context"
#define OCI_SECRETS "secrets"
#define OCI_FILES "files"       /* --rootfs: generated /etc files bound over the rootfs's */

/* The container's mounts and what the bundle stages for them (nothing is
 * touched but lstat of host paths). Refuses what a bundle cannot mount. */
int oci_plan_mounts(const struct container_config *c, const struct oci_bundle_opts *o, struct oci_plan *p,
		    struct nerr *err);
void oci_plan_free(struct oci_plan *p);
/* The whole spec; `p` receives the plan (p->dir set by the caller). */
json_t *oci_spec_plan(const struct container_config *c, const struct oci_bundle_opts *o, struct oci_plan *p,
		      struct nerr *err);
/* linux.seccomp for the configuration's active profile. */
json_t *oci_seccomp(const struct container_config *c, const struct oci_bundle_opts *o, struct nerr *err);
/* The uid and gid on the host side of the container's ids (the user
 * namespace's maps applied). */
void oci_host_ids(const struct container_config *c, uid_t uid, gid_t gid, uid_t *huid, gid_t *hgid);
/* An array of strings from a NULL-terminated list. */
json_t *oci_strings(const char *const *v);

#endif
