/* --sd-notify: $NOTIFY_SOCKET's address, what of a workload's message is
 * forwarded to systemd, and where the container's socket is bound. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "../../src/container/internal.h"
#include "../../src/filesystem/fs_internal.h"

static void test_address(void **state)
{
	struct sockaddr_un sa;
	socklen_t len;

	(void)state;
	assert_int_equal(sd_notify_address("/run/systemd/notify", &sa, &len), 0);
	assert_string_equal(sa.sun_path, "/run/systemd/notify");
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + strlen("/run/systemd/notify") + 1);
	/* @: the abstract namespace, its length exact (no NUL counted) */
	assert_int_equal(sd_notify_address("@sd-notify", &sa, &len), 0);
	assert_int_equal(sa.sun_path[0], '\0');
	assert_memory_equal(sa.sun_path + 1, "sd-notify", 9);
	assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 10);
	/* relative, empty, a lone @, too long, vsock: not ours */
	assert_int_equal(sd_notify_address("run/notify", &sa, &len), -EINVAL);
	assert_int_equal(sd_notify_address("", &sa, &len), -EINVAL);
	assert_int_equal(sd_notify_address(NULL, &sa, &len), -EINVAL);
	assert_int_equal(sd_notify_address("@", &sa, &len), -EINVAL);
	assert_int_equal(sd_notify_address("vsock:2:1234", &sa, &len), -EINVAL);
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(sd_notify_address(longp, &sa, &len), -EINVAL);
}

static void filtered(const char *in, const char *want, bool want_ready)
{
	char out[256];
	bool ready = !want_ready;
	size_t n = sd_notify_filter(in, strlen(in), out, sizeof(out), &ready);

	if (strcmp(out, want))
		fail_msg("`%s` -> `%s`, expected `%s`", in, out, want);
	assert_int_equal(n, strlen(want));
	assert_int_equal(ready, want_ready);
}

static void test_filter(void **state)
{
	(void)state;
	filtered("READY=1", "READY=1", true);
	filtered("READY=1\nSTATUS=serving", "READY=1\nSTATUS=serving", true);
	/* what a workload may not say: gone, the rest kept in order */
	filtered("MAINPID=1\nREADY=1", "READY=1", true);
	filtered("STATUS=a\nMAINPID=4242\nFDSTORE=1\nFDNAME=x\nBARRIER=1\nWATCHDOG=1\nSTATUS=b",
		 "STATUS=a\nSTATUS=b", false);
	filtered("MAINPID=1", "", false);
	filtered("WATCHDOG=trigger\nWATCHDOG_USEC=1\nNOTIFYACCESS=all\nFDSTOREREMOVE=1\nFDPOLL=0", "", false);
	filtered("RELOADING=1\nMONOTONIC_USEC=123\nERRNO=2\nBUSERROR=org.x.Err\nEXTEND_TIMEOUT_USEC=5000000\nSTOPPING=1",
		 "RELOADING=1\nMONOTONIC_USEC=123\nERRNO=2\nBUSERROR=org.x.Err\nEXTEND_TIMEOUT_USEC=5000000\nSTOPPING=1",
		 false);
	/* exact values only: READY=0, READY=1x are not readiness */
	filtered("READY=0\nREADY=1x\nSTOPPING=2", "", false);
	/* a name that merely starts like one is not it */
	filtered("STATUSX=1\nREADY", "", false);
	/* empty lines, a trailing newline, CRLF-less */
	filtered("\n\nSTATUS=x\n\n", "STATUS=x", false);
	filtered("", "", false);
}

static void test_filter_nul_and_size(void **state)
{
	char out[16];
	bool ready;

	(void)state;
	/* systemd drops a message with a NUL in it; so does the filter */
	assert_int_equal(sd_notify_filter("READY=1\0MAINPID=1", 17, out, sizeof(out), &ready), 0);
	assert_false(ready);
	assert_string_equal(out, "");
	/* what does not fit is left out, never cut */
	assert_int_equal(sd_notify_filter("READY=1\nSTATUS=much too long", 28, out, sizeof(out), &ready), 7);
	assert_string_equal(out, "READY=1");
	assert_true(ready);
}

/* --sd-notify=container: the supervisor's directory bound read-only at
 * /run/notify, before the root is made read-only; over a rootfs, on a
 * /run tmpfs of nucleus's, shared with the secrets and made read-only. */
static void test_plan(void **state)
{
	struct fs_spec s = {
		.staging = "/nonexistent/staging", .context_fd = -1, .context_mount_fd = -1,
		.tmpfs_size = 1 << 20, .hostname = "box", .secrets_mount_fd = -1,
		.notify_dir = "/run/nucleus/abc/notify",
	};
	struct fs_rootfs rf = { .tree_fd = 40 };
	struct fs_ops ops;
	struct nerr e = { 0 };
	ssize_t bind = -1, root_ro = -1, run_tmpfs = -1, run_ro = -1, secrets = -1;

	(void)state;
	assert_int_equal(fs_plan(&s, &ops, &e), 0);
	for (size_t i = 0; i < ops.n; i++) {
		const struct fs_op *op = &ops.v[i];

		if (op->kind == FS_OP_BIND && !strcmp(op->dst, FS_NOTIFY_DIR)) {
			assert_string_equal(op->src, "/run/nucleus/abc/notify");
			assert_int_equal(op->flags, FS_RDONLY | FS_NOSUID | FS_NODEV | FS_NOEXEC);
			bind = (ssize_t)i;
		} else if (op->kind == FS_OP_REMOUNT && !strcmp(op->dst, "/")) {
			root_ro = (ssize_t)i;
		} else if (op->kind == FS_OP_TMPFS && !strcmp(op->dst, "/run")) {
			run_tmpfs = (ssize_t)i;
		}
	}
	assert_true(bind >= 0 && root_ro > bind);
	assert_int_equal(run_tmpfs, -1);
	fs_ops_free(&ops);

	s.rootfs = &rf;
	s.secrets_mount_fd = 42;
	bind = root_ro = -1;
	assert_int_equal(fs_plan(&s, &ops, &e), 0);
	for (size_t i = 0; i < ops.n; i++) {
		const struct fs_op *op = &ops.v[i];

		if (op->kind == FS_OP_TMPFS && !strcmp(op->dst, "/run")) {
			assert_int_equal(run_tmpfs, -1);   /* one /run for both */
			run_tmpfs = (ssize_t)i;
		} else if (op->kind == FS_OP_ATTACH && !strcmp(op->dst, FS_SECRETS_DIR)) {
			secrets = (ssize_t)i;
		} else if (op->kind == FS_OP_BIND && !strcmp(op->dst, FS_NOTIFY_DIR)) {
			bind = (ssize_t)i;
		} else if (op->kind == FS_OP_REMOUNT && !strcmp(op->dst, "/run")) {
			assert_int_equal(op->flags, FS_RDONLY | FS_NOSUID | FS_NODEV | FS_NOEXEC);
			run_ro = (ssize_t)i;
		}
	}
	assert_true(run_tmpfs >= 0 && secrets > run_tmpfs && bind > secrets && run_ro > bind);
	fs_ops_free(&ops);

	/* the socket alone over a rootfs: /run is still nucleus's */
	s.secrets_mount_fd = -1;
	run_tmpfs = run_ro = -1;
	assert_int_equal(fs_plan(&s, &ops, &e), 0);
	for (size_t i = 0; i < ops.n; i++) {
		if (ops.v[i].kind == FS_OP_TMPFS && !strcmp(ops.v[i].dst, "/run"))
			run_tmpfs = (ssize_t)i;
		if (ops.v[i].kind == FS_OP_REMOUNT && !strcmp(ops.v[i].dst, "/run"))
			run_ro = (ssize_t)i;
		assert_false(ops.v[i].kind == FS_OP_ATTACH && !strcmp(ops.v[i].dst, FS_SECRETS_DIR));
	}
	assert_true(run_tmpfs >= 0 && run_ro > run_tmpfs);
	fs_ops_free(&ops);

	/* no socket: nothing at /run */
	s.notify_dir = NULL;
	s.rootfs = NULL;
	assert_int_equal(fs_plan(&s, &ops, &e), 0);
	for (size_t i = 0; i < ops.n; i++)
		assert_false(str_has_prefix(ops.v[i].dst, "/run"));
	fs_ops_free(&ops);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_filter_nul_and_size),
		cmocka_unit_test(test_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
