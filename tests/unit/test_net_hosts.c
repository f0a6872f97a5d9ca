/* The hosts file a compose network shares (--hosts-file): the render of a
 * container's lines (added, replaced, removed, superseding a gone
 * container's), and the in-place rewrite of an open file (same inode,
 * the localhost lines kept, a file that shrinks left without a tail).
 *
 * Run with `--bridge-remove NAME` it calls net_bridge_remove(NAME) and
 * prints its message (tests/integration/t_compose_net.sh, in a network
 * namespace of the test's): 0, or the errno's name. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <nucleus/network.h>

#define H NET_HOSTS_HEADER

static void render_adds_replaces_removes(void **state)
{
	char *self[] = { "10.42.0.2\tdb myapp-db", "fd00::2\tdb myapp-db", NULL };
	char *extra[] = { "1.2.3.4\tfoo", NULL };
	char *t, *u, *v;

	(void)state;
	/* an empty file gets the localhost lines first */
	t = net_hosts_render("", "id1", self, extra);
	assert_string_equal(t, H "10.42.0.2\tdb myapp-db\t# nucleus id1\n"
				 "fd00::2\tdb myapp-db\t# nucleus id1\n"
				 "1.2.3.4\tfoo\t# nucleus id1\n");
	/* a second container's lines go after; the first's stay */
	char *web[] = { "10.42.0.3\tweb myapp-web", NULL };
	u = net_hosts_render(t, "id2", web, NULL);
	assert_string_equal(u, H "10.42.0.2\tdb myapp-db\t# nucleus id1\n"
				 "fd00::2\tdb myapp-db\t# nucleus id1\n"
				 "1.2.3.4\tfoo\t# nucleus id1\n"
				 "10.42.0.3\tweb myapp-web\t# nucleus id2\n");
	/* the first ends: its lines go, nothing else */
	v = net_hosts_render(u, "id1", NULL, NULL);
	assert_string_equal(v, H "10.42.0.3\tweb myapp-web\t# nucleus id2\n");
	free(t);
	free(u);
	free(v);
}

static void render_keeps_untagged_and_supersedes(void **state)
{
	const char *old = "# the topology's\n"
			  "127.0.0.1\tlocalhost\n"
			  "192.0.2.9\tstatic\n"
			  "10.42.0.2\tdb myapp-db\t# nucleus dead1\n"       /* same address */
			  "10.42.0.7\tdb myapp-db\t# nucleus dead2\n"       /* same name */
			  "10.42.0.8\tcache\t# nucleus live\n"
			  "\n\n\n";                                          /* a shorter rewrite's padding */
	char *self[] = { "10.42.0.2\tdb myapp-db", NULL };
	char *t;

	(void)state;
	t = net_hosts_render(old, "new", self, NULL);
	assert_string_equal(t, "# the topology's\n"
			       "127.0.0.1\tlocalhost\n"
			       "192.0.2.9\tstatic\n"
			       "10.42.0.8\tcache\t# nucleus live\n"
			       "10.42.0.2\tdb myapp-db\t# nucleus new\n");
	free(t);
	/* an untagged line is never superseded: it is the file creator's */
	t = net_hosts_render("10.42.0.2\tdb\n", "new", self, NULL);
	assert_string_equal(t, H "10.42.0.2\tdb\n10.42.0.2\tdb myapp-db\t# nucleus new\n");
	free(t);
}

static char dir[] = "/tmp/nucleus-unit-hosts-XXXXXX";

static void file_in_place(void **state)
{
	char path[256], *self[] = { "10.42.0.2\tdb myapp-db", NULL }, *web[] = { "10.42.0.3\tweb", NULL };
	struct nerr e = { 0 };
	struct stat a, b;
	char buf[4096];
	ssize_t n;
	int fd, rfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/hosts", dir);
	assert_int_equal(net_hosts_file_init(path, &e), 0);
	assert_int_equal(stat(path, &a), 0);
	assert_int_equal(a.st_mode & 0777, 0644);
	/* init again: kept */
	assert_int_equal(net_hosts_file_init(path, &e), 0);
	assert_int_equal(net_hosts_file_open(path, &fd, &e), 0);
	/* a reader that opened it before (a bind sees the same inode) */
	rfd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(rfd >= 0);
	assert_int_equal(net_hosts_file_update(fd, "id1", self, NULL, &e), 0);
	assert_int_equal(net_hosts_file_update(fd, "id2", web, NULL, &e), 0);
	n = pread(rfd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	assert_string_equal(buf, H "10.42.0.2\tdb myapp-db\t# nucleus id1\n10.42.0.3\tweb\t# nucleus id2\n");
	/* shrinks: no tail of the old text */
	assert_int_equal(net_hosts_file_update(fd, "id1", NULL, NULL, &e), 0);
	n = pread(rfd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	assert_string_equal(buf, H "10.42.0.3\tweb\t# nucleus id2\n");
	assert_int_equal(stat(path, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	close(rfd);
	close(fd);
	/* refused: writable by others, a symlink, relative */
	chmod(path, 0666);
	assert_int_equal(net_hosts_file_open(path, &fd, &e) < 0, 1);
	assert_non_null(strstr(e.msg, "writable by others"));
	chmod(path, 0644);
	snprintf(buf, sizeof(buf), "%s/link", dir);
	assert_int_equal(symlink(path, buf), 0);
	assert_int_equal(net_hosts_file_open(buf, &fd, &e) < 0, 1);
	assert_non_null(strstr(e.msg, "symlink"));
	assert_int_equal(net_hosts_file_open("hosts", &fd, &e) < 0, 1);
	unlink(buf);
	unlink(path);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(render_adds_replaces_removes),
		cmocka_unit_test(render_keeps_untagged_and_supersedes),
		cmocka_unit_test(file_in_place),
	};

	if (argc == 3 && !strcmp(argv[1], "--bridge-remove")) {
		struct nerr e = { 0 };
		int r = net_bridge_remove(argv[2], &e);

		if (r < 0)
			printf("%s: %s\n", strerrorname_np(-r), e.msg);
		return r < 0 ? 1 : 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
