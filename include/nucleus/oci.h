/* oci: a container's configuration as an OCI runtime-spec bundle
 * (src/oci/, docs/gvisor.md): config.json and the directories it names,
 * for `nucleus bundle`, for --runtime gvisor (runsc) and for --runtime
 * oci:PATH (runc, crun, youki). The bundle is made from the same
 * struct container_config the native runtime runs. */
#ifndef NUCLEUS_OCI_H
#define NUCLEUS_OCI_H

#include <stdbool.h>
#include <nucleus/container.h>

struct json_t;

/* The runtime-spec version the bundles say they follow. */
#define OCI_SPEC_VERSION "1.0.2"

/* What the bundle's writer knows beyond the configuration. */
struct oci_bundle_opts {
	/* The network namespace the container joins (linux.namespaces'
	 * network entry gets this path): one nucleus prepared, with the
	 * bridge's veth in it. NULL: a new, empty one (--network none or a
	 * standalone bundle), or none listed with --network host. */
	const char *netns_path;
	/* linux.cgroupsPath; NULL: "/nucleus/<id>", where nucleus would make
	 * the container's cgroup. */
	const char *cgroups_path;
	/* The runtime that will run it (adjustments runsc needs, such as
	 * what its sentry cannot mount); RUNTIME_NATIVE: a bundle for any. */
	enum runtime_kind runtime;
	/* /etc/hosts's lines naming the container ("ADDR\tNAME", the
	 * bridge's lease); NULL: 127.0.1.1 and the hostname, as nucleus
	 * writes without a bridge address. */
	char *const *self_hosts;
	/* The caller verified the rootfs against its manifest
	 * (--verify-rootfs-attestation) before the runtime mounts it; else
	 * such a configuration is refused: nothing in a bundle verifies it. */
	bool rootfs_verified;
	/* linux.cgroupsPath is a child of a cgroup that already holds the
	 * limits: linux.resources carries the device rules only. */
	bool limits_enclosed;
	/* --sd-notify=container: the host directory of the supervisor's
	 * notify socket, bound read-only at /run/notify (as native binds it;
	 * runsc needs --host-uds to reach a host socket); "": none to bind
	 * (the runner has no $NOTIFY_SOCKET to relay to); NULL: such a
	 * configuration is refused. */
	const char *notify_dir;
};

/* The bundle in `dir` (made 0700 if it does not exist; an existing one
 * must be empty): config.json, rootfs/ (the mount points, and agent
 * mode's /etc files), the context's copy and the secrets staged under
 * it. Nothing is mounted: the runtime does that from config.json. On
 * error what was written is removed again. */
int oci_bundle_write(const struct container_config *c, const char *dir, const struct oci_bundle_opts *o,
		     struct nerr *err);
/* What oci_bundle_write would refuse of the configuration (what no
 * field of a bundle carries), without building anything. */
int oci_bundle_check(const struct container_config *c, const struct oci_bundle_opts *o, struct nerr *err);
/* config.json's content alone (no file is touched), `dir` being where the
 * bundle would be; NULL with err set on error. */
struct json_t *oci_spec_build(const struct container_config *c, const char *dir, const struct oci_bundle_opts *o,
			      struct nerr *err);

/* ---- runsc (src/oci/runsc.c) ---------------------------------------------- */
/* The platforms `runsc` offers, as its flag help lists them, and its
 * default (NULL: none marked). */
int runsc_platforms(const char *runsc, char ***platforms, char **dflt, struct nerr *err);
/* `platform` (NULL: runsc's default) is one runsc offers and can use here
 * (kvm: /dev/kvm); else a one-line error naming the ones it has. */
int runsc_check_platform(const char *runsc, const char *platform, struct nerr *err);

#endif
