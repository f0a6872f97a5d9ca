/* The service mode as requirements (src/container/mode.c), through the
 * command line: what production refuses, and what it turns on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>
#include "run_args.h"



/* production plus what it needs, then EXTRA: refused with `want` */
#define REFUSED(want, ...) do {                                                          \
	struct container_config c;                                                       \
	struct nerr e;                                                                   \
	assert_true(PARSE(&c, &e, "--service-mode", "production", __VA_ARGS__, "--", "true") < 0); \
	if (!strstr(e.msg, want))                                                        \
		fail_msg("expected [%s] in [%s]", want, e.msg);                           \
	container_config_free(&c);                                                       \
} while (0)

static void production_forbids(void **state)
{
	(void)state;
	REFUSED("production mode forbids --allow-degraded-security", "--memory", "64M", "--no-rootfs-attestation",
		"--allow-degraded-security");
	REFUSED("production mode forbids --allow-chroot-fallback", "--memory", "64M", "--no-rootfs-attestation",
		"--allow-chroot-fallback");
	REFUSED("production mode forbids --network host", "--memory", "64M", "--no-rootfs-attestation",
		"--network", "host", "--allow-host-network");
	REFUSED("production mode forbids --network host", "--memory", "64M", "--no-rootfs-attestation",
		"--allow-host-network");
	REFUSED("production mode forbids --seccomp-mode trace", "--memory", "64M", "--no-rootfs-attestation",
		"--seccomp-mode", "trace", "--seccomp-log", "/tmp/x");
	REFUSED("production mode forbids --limits best-effort", "--memory", "64M", "--no-rootfs-attestation",
		"--limits", "best-effort");
	REFUSED("--trust-level untrusted runs under --runtime gvisor only, not native", "--memory", "64M",
		"--no-rootfs-attestation", "--trust-level", "untrusted", "--runtime", "native");
}

static void production_requires(void **state)
{
	(void)state;
	REFUSED("production mode requires --memory", "--no-rootfs-attestation");
	if (geteuid() != 0) {
		REFUSED("production mode needs root", "--memory", "64M", "--no-rootfs-attestation");
		return;
	}
	REFUSED("production mode requires --rootfs with --verify-rootfs-attestation", "--memory", "64M");
	REFUSED("production mode requires explicit --dns", "--memory", "64M", "--no-rootfs-attestation",
		"--network", "bridge");
}

static void production_turns_on(void **state)
{
	struct container_config c;
	struct nerr e;

	(void)state;
	if (geteuid() != 0 || landlock_abi() < 3)
		return;   /* production_requires checked the refusal */
	assert_int_equal(PARSE(&c, &e, "--service-mode", "production", "--memory", "64M",
			       "--no-rootfs-attestation", "--", "true"), 0);
	assert_true(c.res.require_cgroup);
	assert_false(c.res.limits.best_effort);
	assert_true(c.net.egress.enabled);
	assert_int_equal(c.net.egress.nallow, 0);        /* deny all */
	assert_true(c.audit.enabled);
	assert_true(c.audit.name_source);
	assert_true(c.proc.init);
	assert_int_equal(c.fs.proc_hidepid, 2);
	assert_int_equal(c.sec.landlock_min_abi, 3);
	container_config_free(&c);

	/* the explicit opt-out of the audit trail, and an allow list kept */
	assert_int_equal(PARSE(&c, &e, "--service-mode", "production", "--memory", "64M", "--no-rootfs-attestation",
			       "--no-audit", "--egress-allow", "10.0.0.0/8", "--", "true"), 0);
	assert_false(c.audit.enabled);
	assert_int_equal(c.net.egress.nallow, 1);
	container_config_free(&c);
}

static void agent_mode_is_unchanged(void **state)
{
	struct container_config c;
	struct nerr e;

	(void)state;
	assert_int_equal(PARSE(&c, &e, "--allow-degraded-security", "--", "true"), 0);
	assert_true(c.sec.allow_degraded);
	assert_false(c.net.egress.enabled);
	assert_false(c.audit.enabled);
	assert_false(c.proc.init);
	assert_int_equal(c.fs.proc_hidepid, 0);
	assert_int_equal(c.sec.landlock_min_abi, 0);
	container_config_free(&c);
	assert_true(PARSE(&c, &e, "--service-mode", "staging", "--", "true") < 0);
	assert_non_null(strstr(e.msg, "invalid --service-mode `staging` (agent or production)"));
	container_config_free(&c);
	assert_true(PARSE(&c, &e, "--audit", "--no-audit", "--", "true") < 0);
	assert_non_null(strstr(e.msg, "contradict"));
	container_config_free(&c);
	assert_true(PARSE(&c, &e, "--verify-rootfs-attestation", "--", "true") < 0);
	assert_non_null(strstr(e.msg, "--verify-rootfs-attestation needs --rootfs"));
	container_config_free(&c);
}

/* A volume without ro or rw: read-only in production, read-write in
 * agent mode; an explicit one kept in both. */
static void volume_defaults(void **state)
{
	struct container_config c;
	struct nerr e;

	(void)state;
	assert_int_equal(PARSE(&c, &e, "--service-mode", "production", "--memory", "64M", "--no-rootfs-attestation",
			       "-v", "/srv/a:/a", "-v", "/srv/b:/b:rw", "-v", "/srv/c:/c:ro", "--", "true"), 0);
	assert_int_equal(c.fs.n_volumes, 3);
	assert_int_equal(c.fs.volumes[0].access, FS_VOLUME_RO);
	assert_int_equal(c.fs.volumes[1].access, FS_VOLUME_RW);
	assert_int_equal(c.fs.volumes[2].access, FS_VOLUME_RO);
	container_config_free(&c);
	assert_int_equal(PARSE(&c, &e, "-v", "/srv/a:/a", "-v", "/srv/b:/b:rw", "-v", "/srv/c:/c:ro", "--", "true"), 0);
	assert_int_equal(c.fs.volumes[0].access, FS_VOLUME_RW);
	assert_int_equal(c.fs.volumes[1].access, FS_VOLUME_RW);
	assert_int_equal(c.fs.volumes[2].access, FS_VOLUME_RO);
	container_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(production_forbids),
		cmocka_unit_test(production_requires),
		cmocka_unit_test(production_turns_on),
		cmocka_unit_test(agent_mode_is_unchanged),
		cmocka_unit_test(volume_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
