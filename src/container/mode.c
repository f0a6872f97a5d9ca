/* The service mode as requirements over the configuration.
 *
 * This is the one place that knows what `--service-mode production` means.
 * It refuses the flags production forbids and turns the mode into settings
 * the run sequence already obeys (a required cgroup, enforced limits, a
 * deny-all egress policy, the audit trail, an init as pid 1, /proc with
 * hidepid, a minimum Landlock ABI, read-only volumes unless :rw; a security layer that fails is fatal
 * because --allow-degraded-security is refused). Nothing after validation
 * asks which mode it runs in. Everything here runs before anything exists.
 */
#include <unistd.h>
#include <nucleus/container.h>

/* Production's minimum Landlock ABI: 3 is the first that handles truncate
 * (Linux 6.2); below it a workload may truncate any file it can open. */
#define PRODUCTION_LANDLOCK_ABI 3

static int forbids(struct nerr *err, const char *what)
{
	return nerr_set(err, 0, "production mode forbids %s", what);
}

static int production(struct container_config *c, struct nerr *err)
{
	if (c->sec.allow_degraded)
		return forbids(err, "--allow-degraded-security");
	if (c->fs.allow_chroot_fallback)
		return forbids(err, "--allow-chroot-fallback (pivot_root or nothing)");
	if (c->net.allow_host_network || c->net.mode == NETWORK_HOST)
		return forbids(err, "--network host and --allow-host-network");
	if (c->sec.seccomp_trace)
		return forbids(err, "--seccomp-mode trace (an allow-all filter)");
	if (c->res.limits.best_effort)
		return forbids(err, "--limits best-effort");
	if (!(c->res.limits.given & LIMIT_MEMORY))
		return nerr_set(err, 0, "production mode requires --memory");
	if (geteuid() != 0)
		return nerr_set(err, 0, "production mode needs root: its cgroup, egress policy and audit "
				"programs are the host's");
	if (c->net.mode == NETWORK_BRIDGE && !c->net.dns)
		return nerr_set(err, 0, "production mode requires explicit --dns servers with --network bridge "
				"(no public resolver by default)");
	if (!c->fs.verify_attestation && !c->fs.no_attestation)
		return nerr_set(err, 0, "production mode requires --rootfs with --verify-rootfs-attestation "
				"(or --no-rootfs-attestation to run without it, said so)");
	if (landlock_abi() < PRODUCTION_LANDLOCK_ABI)
		return nerr_set(err, 0, "production mode requires Landlock ABI %d or later; this kernel has ABI %d",
				PRODUCTION_LANDLOCK_ABI, landlock_abi());

	c->res.require_cgroup = true;
	c->net.egress.enabled = true;            /* no --egress-allow: deny all */
	if (!c->audit.opt_out)
		c->audit.enabled = true;
	c->audit.name_source = true;
	c->proc.init = true;
	c->fs.proc_hidepid = 2;
	c->sec.landlock_min_abi = PRODUCTION_LANDLOCK_ABI;
	return 0;
}

/* A volume that does not say: read-only for a service (the state it
 * writes is named with :rw, the rest cannot be changed by a compromise),
 * read-write for an agent (a work directory, as docker's default). */
static void volume_defaults(struct container_config *c)
{
	for (size_t i = 0; i < c->fs.n_volumes; i++)
		if (c->fs.volumes[i].access == FS_VOLUME_DEFAULT)
			c->fs.volumes[i].access = c->mode == MODE_PRODUCTION ? FS_VOLUME_RO : FS_VOLUME_RW;
}

int service_mode_apply(struct container_config *c, struct nerr *err)
{
	/* an untrusted workload gets gVisor's wall or does not run (in either
	 * mode); the CLI picks gvisor for it unless --runtime said otherwise */
	if (c->sec.trust == TRUST_UNTRUSTED && c->rt.kind != RUNTIME_GVISOR)
		return nerr_set(err, 0, "--trust-level untrusted runs under --runtime gvisor only, not %s",
				runtime_kind_names[c->rt.kind]);
	if (c->audit.opt_out && c->audit.enabled)
		return nerr_set(err, 0, "--audit and --no-audit contradict each other");
	if (c->fs.no_attestation && (c->fs.verify_attestation || c->fs.attestation_sha256))
		return nerr_set(err, 0, "--no-rootfs-attestation contradicts --verify-rootfs-attestation");
	volume_defaults(c);
	if (c->mode == MODE_PRODUCTION)
		return production(c, err);
	return 0;
}
