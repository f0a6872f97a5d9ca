/* --user, --group and --additional-group resolved against passwd and group
 * files: names, numbers, docker's defaults, memberships, malformed lines,
 * and the errors that name the file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>
#include "run_args.h"

static const char passwd[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"# a comment:x:7:7::/c:/bin/sh\n"
	"\n"
	"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	"broken:x:notanumber:3::/b:/bin/sh\n"
	"short:x:12\n"
	"  alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash  \r\n"
	"bob:x:1001:100::/home/bob:/bin/sh\n"
	"nohome:x:1002:1002::\n"
	"alice:x:2000:2000:second alice, ignored:/x:/bin/sh\n"
	"carol:x:1003:1003";                   /* no newline at the end */

static const char group[] =
	"root:x:0:\n"
	"# staff:x:50:alice\n"
	"daemon:x:1:\n"
	"audio:x:29:alice,bob\n"
	"video:x:44: bob , alice \n"
	"alice:x:1000:\n"
	"users:x:100:\n"
	"bad:x:no:alice\n"
	"dev:x:3000:alicia,alice2\n"
	"docker:x:999:alice";

struct res {
	int r;
	struct identity id;
	struct nerr e;
};

/* Resolve user/group/additional ("a,b") against the files above (NULL:
 * a file that could not be read, ENOENT). */
static struct res resolve(const char *user, const char *grp, const char *add, const char *pw, const char *gr)
{
	struct res x = { 0 };

	x.id.user = user ? xstrdup(user) : NULL;
	x.id.group = grp ? xstrdup(grp) : NULL;
	if (add) {
		_cleanup_free_ char *copy = xstrdup(add);
		char *save = NULL;

		for (char *g = strtok_r(copy, ",", &save); g; g = strtok_r(NULL, ",", &save))
			strv_push(&x.id.additional_groups, g);
	}
	x.r = identity_resolve_text(&x.id, pw, ENOENT, "/r/etc/passwd", gr, ENOENT, "/r/etc/group", &x.e);
	return x;
}

static void groups_are(const struct identity *id, size_t n, ...)
{
	va_list ap;

	assert_int_equal(id->ngroups, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(id->groups[i], va_arg(ap, unsigned));
	va_end(ap);
}

static void refused(struct res x, const char *msg)
{
	assert_true(x.r < 0);
	if (!strstr(x.e.msg, msg))
		fail_msg("`%s` does not say `%s`", x.e.msg, msg);
	/* nothing resolved is left behind */
	assert_false(x.id.set);
	assert_null(x.id.groups);
	assert_null(x.id.home);
	identity_free(&x.id);
}

static void nothing_given_is_not_set(void **state)
{
	struct res x = resolve(NULL, NULL, NULL, passwd, group);

	assert_int_equal(x.r, 0);
	assert_false(x.id.set);
	assert_int_equal(x.id.ngroups, 0);
	identity_free(&x.id);
}

static void by_name(void **state)
{
	struct res x = resolve("alice", NULL, NULL, passwd, group);

	assert_int_equal(x.r, 0);
	assert_true(x.id.set);
	assert_int_equal(x.id.uid, 1000);
	assert_int_equal(x.id.gid, 1000);
	assert_string_equal(x.id.home, "/home/alice");
	/* the primary group first, then every group listing alice (blanks
	 * around a member trimmed; alicia and alice2 are not alice) */
	groups_are(&x.id, 4, 1000, 29, 44, 999);
	identity_free(&x.id);
}

static void by_number_with_an_entry(void **state)
{
	/* a number finds its entry: its group, home and memberships */
	struct res x = resolve("1001", NULL, NULL, passwd, group);

	assert_int_equal(x.r, 0);
	assert_int_equal(x.id.uid, 1001);
	assert_int_equal(x.id.gid, 100);
	assert_string_equal(x.id.home, "/home/bob");
	groups_are(&x.id, 3, 100, 29, 44);
	identity_free(&x.id);
}

static void by_number_without_an_entry(void **state)
{
	/* docker: no entry needed; gid 0, no home */
	struct res x = resolve("12345", NULL, NULL, passwd, group);

	assert_int_equal(x.r, 0);
	assert_int_equal(x.id.uid, 12345);
	assert_int_equal(x.id.gid, 0);
	assert_null(x.id.home);
	groups_are(&x.id, 1, 0);
	identity_free(&x.id);
	/* and without any passwd file at all */
	x = resolve("12345", NULL, NULL, NULL, NULL);
	assert_int_equal(x.r, 0);
	assert_int_equal(x.id.uid, 12345);
	assert_int_equal(x.id.gid, 0);
	identity_free(&x.id);
	/* the largest id; (uid_t)-1 is none */
	x = resolve("4294967294", NULL, NULL, passwd, group);
	assert_int_equal(x.r, 0);
	assert_int_equal(x.id.uid, 4294967294u);
	identity_free(&x.id);
	refused(resolve("4294967295", NULL, NULL, passwd, group), "user id `4294967295` is out of range");
	refused(resolve("99999999999999999999999", NULL, NULL, passwd, group), "out of range");
}

static void user_colon_group(void **state)
{
	/* an explicit group: that gid, and no memberships (docker's -u u:g) */
	struct res x = resolve("alice:users", NULL, NULL, passwd, group);

	assert_int_equal(x.r, 0);
	assert_int_equal(x.id.uid, 1000);
	assert_int_equal(x.id.gid, 100);
	assert_string_equal(x.id.home, "/home/alice");
	groups_are(&x.id, 1, 100);
	identity_free(&x.id);
	x = resolve("12345:777", NULL, NULL, passwd, group);
	assert_int_equal(x.r, 0);
	assert_int_equal(x.id.uid, 12345);
	assert_int_equal(x.id.gid, 777);
	groups_are(&x.id, 1, 777);
	identity_free(&x.id);
	refused(resolve("alice:", NULL, NULL, passwd, group), "empty group after `:`");
	refused(resolve(":users", NULL, NULL, passwd, group), "empty user name");
	refused(resolve("alice:users", "audio", NULL, passwd, group), "names a group and a group is given as well");
	refused(resolve("alice:nosuch", NULL, NULL, passwd, group), "no group `nosuch` in /r/etc/group");
}

static void group_flag(void **state)
{
	struct res x = resolve("alice", "audio", NULL, passwd, group);

	assert_int_equal(x.r, 0);
	assert_int_equal(x.id.uid, 1000);
	assert_int_equal(x.id.gid, 29);
	groups_are(&x.id, 1, 29);
	identity_free(&x.id);
	/* --group alone: root with that group */
	x = resolve(NULL, "4321", NULL, passwd, group);
	assert_int_equal(x.r, 0);
	assert_true(x.id.set);
	assert_int_equal(x.id.uid, 0);
	assert_int_equal(x.id.gid, 4321);
	assert_string_equal(x.id.home, "/root");
	identity_free(&x.id);
}

static void additional_groups(void **state)
{
	/* after the user's own, in order, without duplicates */
	struct res x = resolve("bob", NULL, "users,video,5000,audio,daemon", passwd, group);

	assert_int_equal(x.r, 0);
	groups_are(&x.id, 5, 100, 29, 44, 5000, 1);
	identity_free(&x.id);
	/* --additional-group alone: root, root's group, and the extra one */
	x = resolve(NULL, NULL, "audio", passwd, group);
	assert_int_equal(x.r, 0);
	assert_true(x.id.set);
	assert_int_equal(x.id.uid, 0);
	assert_int_equal(x.id.gid, 0);
	groups_are(&x.id, 2, 0, 29);
	identity_free(&x.id);
	refused(resolve("bob", NULL, "audio,nosuch", passwd, group), "no group `nosuch` in /r/etc/group");
	refused(resolve("bob", NULL, "4294967295", passwd, group), "group id `4294967295` is out of range");
}

static void missing_names(void **state)
{
	refused(resolve("mallory", NULL, NULL, passwd, group), "no user `mallory` in /r/etc/passwd");
	/* a name in a comment or on a malformed line is no entry */
	refused(resolve("broken", NULL, NULL, passwd, group), "no user `broken` in /r/etc/passwd");
	refused(resolve("short", NULL, NULL, passwd, group), "no user `short` in /r/etc/passwd");
	refused(resolve("# a comment", NULL, NULL, passwd, group), "no user `# a comment`");
	refused(resolve("alice", "staff", NULL, passwd, group), "no group `staff` in /r/etc/group");
	refused(resolve("alice", "bad", NULL, passwd, group), "no group `bad` in /r/etc/group");
	/* a file that cannot be read matters only for a name */
	refused(resolve("alice", NULL, NULL, NULL, group), "user `alice`: cannot read /r/etc/passwd: No such file");
	refused(resolve("0", "audio", NULL, passwd, NULL), "group `audio`: cannot read /r/etc/group: No such file");
	refused(resolve("", NULL, NULL, passwd, group), "empty user name");
	refused(resolve("alice", "", NULL, passwd, group), "empty group name");
}

static void entries_parsed_leniently(void **state)
{
	/* surrounding blanks and CRLF; the first of two entries wins; an entry
	 * without home; the last line without a newline */
	struct res x = resolve("alice", NULL, NULL, passwd, group);

	assert_int_equal(x.id.uid, 1000);
	identity_free(&x.id);
	x = resolve("nohome", NULL, NULL, passwd, group);
	assert_int_equal(x.r, 0);
	assert_int_equal(x.id.uid, 1002);
	assert_null(x.id.home);
	identity_free(&x.id);
	x = resolve("carol", NULL, NULL, passwd, group);
	assert_int_equal(x.r, 0);
	assert_int_equal(x.id.uid, 1003);
	assert_int_equal(x.id.gid, 1003);
	assert_null(x.id.home);
	identity_free(&x.id);
	/* a user without a group file: only the primary group */
	x = resolve("alice", NULL, NULL, passwd, NULL);
	assert_int_equal(x.r, 0);
	groups_are(&x.id, 1, 1000);
	identity_free(&x.id);
}

static void resolving_again_starts_over(void **state)
{
	struct res x = resolve("alice", NULL, NULL, passwd, group);

	free(x.id.user);
	x.id.user = xstrdup("12345");
	assert_int_equal(identity_resolve_text(&x.id, passwd, 0, "p", group, 0, "g", &x.e), 0);
	assert_int_equal(x.id.uid, 12345);
	assert_null(x.id.home);
	groups_are(&x.id, 1, 0);
	identity_free(&x.id);
}

/* identity_resolve reads a rootfs's files beneath it: an absolute symlink
 * in the rootfs resolves inside the rootfs, not on the host. */
static void rootfs_files_resolve_inside(void **state)
{
	char dir[] = "/tmp/nucleus-test-identity-XXXXXX", path[256];
	struct identity id = { 0 };
	struct nerr e = { 0 };

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/etc", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/real", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/real/passwd", dir);
	assert_int_equal(write_file(path, "svc:x:4242:4343::/srv:/bin/sh\n", 30, 0644), 0);
	/* /etc/passwd -> /real/passwd: the rootfs's, not the host's /real */
	snprintf(path, sizeof(path), "%s/etc/passwd", dir);
	assert_int_equal(symlink("/real/passwd", path), 0);
	/* /etc/group -> /etc/group of the host, by way of ../../..: stays inside */
	snprintf(path, sizeof(path), "%s/etc/group", dir);
	assert_int_equal(symlink("../../../../../../etc/group", path), 0);

	id.user = xstrdup("svc");
	assert_int_equal(identity_resolve(&id, dir, &e), 0);
	assert_int_equal(id.uid, 4242);
	assert_int_equal(id.gid, 4343);
	assert_string_equal(id.home, "/srv");
	identity_free(&id);

	/* root exists in the host's passwd, not in this rootfs */
	id.user = xstrdup("root");
	assert_true(identity_resolve(&id, dir, &e) < 0);
	snprintf(path, sizeof(path), "no user `root` in %s/etc/passwd", dir);
	assert_non_null(strstr(e.msg, path));
	identity_free(&id);
	/* the group file's link points at the rootfs's own /etc/group (itself):
	 * a loop, not the host's file */
	id.user = xstrdup("svc");
	id.group = xstrdup("root");
	assert_true(identity_resolve(&id, dir, &e) < 0);
	assert_non_null(strstr(e.msg, "group `root`: cannot read"));
	identity_free(&id);

	/* a fifo is no passwd file (and reading it would block) */
	snprintf(path, sizeof(path), "%s/etc/passwd", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0644), 0);
	id.user = xstrdup("svc");
	assert_true(identity_resolve(&id, dir, &e) < 0);
	assert_non_null(strstr(e.msg, "cannot read"));
	identity_free(&id);

	remove_tree(dir);
}

/* The run flags: the identity lands in the configuration, HOME follows the
 * passwd entry unless -e HOME, and a name that does not resolve fails the
 * parse. */


static void run_flags(void **state)
{
	struct container_config c;
	struct nerr e;

	/* an ordinary user's runs are --rootless: one id */
	if (geteuid() != 0)
		skip();
	assert_int_equal(parse(&c, &e, 8, (char *[]){ "run", "-u", "root", "--additional-group", "12",
						     "--additional-group", "13", "true", NULL }), 0);
	assert_true(c.proc.identity.set);
	assert_string_equal(c.proc.identity.user, "root");
	assert_int_equal(strv_len(c.proc.identity.additional_groups), 2);
	assert_int_equal(c.proc.identity.uid, 0);
	assert_string_equal(env_get(c.proc.env, "HOME"), "/root");
	container_config_free(&c);

	assert_int_equal(parse(&c, &e, 6, (char *[]){ "run", "--user", "root", "-e", "HOME=/tmp/h", "true", NULL }), 0);
	assert_string_equal(env_get(c.proc.env, "HOME"), "/tmp/h");
	container_config_free(&c);

	/* a uid without an entry keeps the default HOME */
	assert_int_equal(parse(&c, &e, 5, (char *[]){ "run", "--user", "54321", "--", "true", NULL }), 0);
	assert_int_equal(c.proc.identity.uid, 54321);
	assert_string_equal(env_get(c.proc.env, "HOME"), "/tmp");
	assert_string_equal(c.proc.argv[0], "true");
	container_config_free(&c);

	/* the original bug: --user was taken for --userns */
	assert_int_equal(parse(&c, &e, 4, (char *[]){ "run", "--user", "12345", "true", NULL }), 0);
	assert_false(c.ns.userns);
	assert_int_equal(c.proc.identity.uid, 12345);
	assert_string_equal(c.proc.argv[0], "true");
	container_config_free(&c);
	assert_true(parse(&c, &e, 4, (char *[]){ "run", "--use", "12345", "true", NULL }) < 0);
	assert_string_equal(e.msg, "unknown flag `--use`");
	container_config_free(&c);

	assert_true(parse(&c, &e, 4, (char *[]){ "run", "--user", "no-such-user-here", "true", NULL }) < 0);
	assert_string_equal(e.msg, "no user `no-such-user-here` in /etc/passwd");
	container_config_free(&c);

	assert_true(parse(&c, &e, 5, (char *[]){ "run", "--rootless", "--group", "5", "true", NULL }) < 0);
	assert_non_null(strstr(e.msg, "--rootless maps a single id"));
	container_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nothing_given_is_not_set),
		cmocka_unit_test(by_name),
		cmocka_unit_test(by_number_with_an_entry),
		cmocka_unit_test(by_number_without_an_entry),
		cmocka_unit_test(user_colon_group),
		cmocka_unit_test(group_flag),
		cmocka_unit_test(additional_groups),
		cmocka_unit_test(missing_names),
		cmocka_unit_test(entries_parsed_leniently),
		cmocka_unit_test(resolving_again_starts_over),
		cmocka_unit_test(rootfs_files_resolve_inside),
		cmocka_unit_test(run_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
