/* --secret, --systemd-credential: parsing and validation of the
 * arguments, the staging write (the buffer is zeroed), the plan. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <nucleus/container.h>
#include "../../src/filesystem/fs_internal.h"

static void dest_ok(const char *in, const char *want)
{
	struct nerr e = { 0 };
	char *out = NULL;

	if (fs_secret_dest("--secret", in, &out, &e) < 0)
		fail_msg("`%s` refused: %s", in, e.msg);
	assert_string_equal(out, want);
	free(out);
}

static void dest_bad(const char *in, const char *msg)
{
	struct nerr e = { 0 };
	char *out = NULL;

	if (fs_secret_dest("--secret", in, &out, &e) == 0)
		fail_msg("`%s` accepted", in);
	assert_null(out);
	if (!strstr(e.msg, msg))
		fail_msg("`%s`: `%s` does not say `%s`", in, e.msg, msg);
	assert_non_null(strstr(e.msg, "--secret"));
}

static void test_dest(void **state)
{
	dest_ok("/run/secrets/key", "/run/secrets/key");
	dest_ok("//etc///app/token/", "/etc/app/token");
	dest_ok("/run/secretsx", "/run/secretsx");
	dest_ok("/devx/k", "/devx/k");
	dest_bad("key", "not an absolute path");
	dest_bad("", "not an absolute path");
	dest_bad("/", "cannot be `/`");
	dest_bad("/etc/../root/k", "a `..` component");
	dest_bad("/etc/./k", "a `.` component");
	dest_bad("/etc/a b", "a blank");
	dest_bad("/proc/self/k", "under /proc");
	dest_bad("/proc", "under /proc");
	dest_bad("/dev/k", "under /dev");
	dest_bad("/sys/k", "under /sys");
	dest_bad("/run", "would hide /run/secrets");
	dest_bad("/run/secrets", "would hide /run/secrets");
	dest_bad("/run/secrets/a/b", "directly in it");
	dest_bad("/run/secrets/credentials", "reserved");
}

static int validate(const char *const *secrets, const char *const *creds, bool passthrough,
		    struct container_config *c, struct nerr *e)
{
	int r;

	container_config_init(c);
	for (size_t i = 0; secrets && secrets[i]; i++)
		if ((r = container_secret_add(c, false, secrets[i], e)) < 0)
			return r;
	for (size_t i = 0; creds && creds[i]; i++)
		if ((r = container_secret_add(c, true, creds[i], e)) < 0)
			return r;
	c->fs.credentials_passthrough = passthrough;
	return container_secrets_validate(c, e);
}

static void refused(const char *const *secrets, const char *const *creds, const char *msg)
{
	struct container_config c;
	struct nerr e = { 0 };

	if (validate(secrets, creds, false, &c, &e) == 0)
		fail_msg("accepted, expected `%s`", msg);
	if (!strstr(e.msg, msg))
		fail_msg("`%s` does not say `%s`", e.msg, msg);
	container_config_free(&c);
}

static void test_validate(void **state)
{
	struct container_config c;
	struct nerr e = { 0 };

	assert_int_equal(validate((const char *[]){ "/k:/run/secrets/k", "/t:/etc//app/token", NULL },
				  (const char *[]){ "db:/run/secrets/db", NULL }, true, &c, &e), 0);
	assert_int_equal(c.fs.n_secrets, 3);
	assert_string_equal(c.fs.secrets[0].src, "/k");
	assert_null(c.fs.secrets[0].credential);
	assert_string_equal(c.fs.secrets[1].dest, "/etc/app/token");
	assert_string_equal(fs_secret_name(&c.fs.secrets[1]), "token");
	assert_string_equal(c.fs.secrets[2].credential, "db");
	assert_null(c.fs.secrets[2].src);
	/* the workload finds its credentials; a path, nothing else */
	assert_true(strv_contains(c.proc.env, "CREDENTIALS_DIRECTORY=/run/secrets/credentials"));
	container_config_free(&c);

	refused((const char *[]){ "/k", NULL }, NULL, "expected SRC:DEST");
	refused((const char *[]){ ":/run/secrets/k", NULL }, NULL, "expected SRC:DEST");
	refused((const char *[]){ "/k:", NULL }, NULL, "expected SRC:DEST");
	refused((const char *[]){ "k:/run/secrets/k", NULL }, NULL, "SRC `k` is not an absolute path");
	refused((const char *[]){ "/a:/run/secrets/k", "/b:/run/secrets/k", NULL }, NULL, "given twice");
	refused((const char *[]){ "/a:/etc/k", "/b:/run/secrets/k", NULL }, NULL, "would both be /run/secrets/k");
	refused(NULL, (const char *[]){ "../x:/run/secrets/x", NULL }, "not a credential name");
	refused(NULL, (const char *[]){ "a/b:/run/secrets/x", NULL }, "not a credential name");
	refused(NULL, (const char *[]){ "..:/run/secrets/x", NULL }, "not a credential name");
	refused(NULL, (const char *[]){ ".:/run/secrets/x", NULL }, "not a credential name");
	refused(NULL, (const char *[]){ "db", NULL }, "expected NAME:DEST");
}

static bool all_zero(const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* The staging write: the file is the content, 0400; the buffer is all
 * zeros after return, whether the write succeeded or not. */
static void test_write_zeroes(void **state)
{
	char dir[] = "/tmp/nucleus-secret-XXXXXX", buf[32], got[32] = { 0 };
	struct nerr e = { 0 };
	struct stat st;
	int dfd, fd;

	assert_non_null(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	strcpy(buf, "hunter2-secret");
	assert_int_equal(fs_secret_write(dfd, "key", buf, strlen("hunter2-secret"), getuid(), getgid(), &e), 0);
	assert_true(all_zero(buf, strlen("hunter2-secret")));
	assert_int_equal(fstatat(dfd, "key", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0400);
	assert_int_equal(st.st_uid, getuid());
	fd = openat(dfd, "key", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {  /* root, or the owner: 0400 */
		assert_int_equal(read(fd, got, sizeof(got)), 14);
		assert_string_equal(got, "hunter2-secret");
		close(fd);
	}
	/* the file exists: refused, and the buffer zeroed all the same; the
	 * message names the file, not the content */
	strcpy(buf, "hunter2-secret");
	assert_true(fs_secret_write(dfd, "key", buf, 14, getuid(), getgid(), &e) < 0);
	assert_true(all_zero(buf, 14));
	assert_null(strstr(e.msg, "hunter2"));
	assert_non_null(strstr(e.msg, "key"));
	assert_int_equal(unlinkat(dfd, "key", 0), 0);
	close(dfd);
	assert_int_equal(rmdir(dir), 0);
}

/* The plan: the staged tmpfs at /run/secrets, a DEST elsewhere bound
 * read-only from it (a path in the new root: no host path), before the
 * root is made read-only. */
static void test_plan(void **state)
{
	struct fs_secret secrets[] = {
		{ .src = "/k", .dest = "/run/secrets/k" },
		{ .credential = "db", .dest = "/etc/app/db" },
	};
	struct fs_spec s = {
		.staging = "/nonexistent/staging", .context_fd = -1, .context_mount_fd = -1,
		.tmpfs_size = 1 << 20, .hostname = "box", .secrets_mount_fd = 42,
		.secrets = secrets, .n_secrets = 2,
	};
	struct fs_ops ops;
	struct nerr e = { 0 };
	ssize_t attach = -1, bind = -1, root_ro = -1, run_tmpfs = -1;

	assert_int_equal(fs_plan(&s, &ops, &e), 0);
	for (size_t i = 0; i < ops.n; i++) {
		const struct fs_op *op = &ops.v[i];

		if (op->kind == FS_OP_ATTACH && !strcmp(op->dst, "/run/secrets")) {
			assert_int_equal(op->fd, 42);
			attach = (ssize_t)i;
		} else if (op->kind == FS_OP_BIND && !strcmp(op->dst, "/etc/app/db")) {
			assert_string_equal(op->src, "/run/secrets/db");
			assert_int_equal(op->flags, FS_RDONLY | FS_NOSUID | FS_NODEV | FS_NOEXEC | FS_SRC_IN_ROOT);
			bind = (ssize_t)i;
		} else if (op->kind == FS_OP_REMOUNT && !strcmp(op->dst, "/")) {
			root_ro = (ssize_t)i;
		} else if (op->kind == FS_OP_TMPFS && !strcmp(op->dst, "/run")) {
			run_tmpfs = (ssize_t)i;
		}
		/* a secret under /run/secrets is on the tmpfs, not bound */
		assert_false(op->kind == FS_OP_BIND && !strcmp(op->dst, "/run/secrets/k"));
	}
	assert_true(attach >= 0 && bind > attach && root_ro > bind);
	assert_int_equal(run_tmpfs, -1);  /* host binds: /run is in the root tmpfs */
	fs_ops_free(&ops);

	/* no secrets: nothing at /run */
	s.secrets_mount_fd = -1;
	assert_int_equal(fs_plan(&s, &ops, &e), 0);
	for (size_t i = 0; i < ops.n; i++)
		assert_false(str_has_prefix(ops.v[i].dst, "/run"));
	fs_ops_free(&ops);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dest),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_write_zeroes),
		cmocka_unit_test(test_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
