/* rotlog: --log-opt values, rotation as docker's json-file does it, the
 * header a rotation begins a file with, reading back across rotations. */
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
#include <nucleus/rotlog.h>

static char dir[64];
static int dfd = -1;

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test-rotlog-XXXXXX");
	assert_non_null(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	return 0;
}

static int teardown(void **state)
{
	close(dfd);
	remove_tree(dir);
	return 0;
}

static char *slurp(const char *name)
{
	char *text = NULL;

	if (read_file_at(dfd, name, 1 << 20, &text, NULL) < 0)
		return NULL;
	return text;
}

static bool exists(const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void opts_parse(void **state)
{
	struct log_opts o = { 1, 1 };
	struct nerr err = { 0 };

	assert_int_equal(log_opt_parse(&o, "max-size=10m", "--log-opt", &err), 0);
	assert_int_equal(o.max_size, 10u << 20);
	assert_int_equal(log_opt_parse(&o, "max-size=512k", "--log-opt", &err), 0);
	assert_int_equal(o.max_size, 512u << 10);
	assert_int_equal(log_opt_parse(&o, "max-size=1000", "--log-opt", &err), 0);
	assert_int_equal(o.max_size, 1000);
	assert_int_equal(log_opt_parse(&o, "max-file=3", "--log-opt", &err), 0);
	assert_int_equal(o.max_files, 3);
	assert_true(log_opt_parse(&o, "max-size=0", "--log-opt", &err) < 0);
	assert_non_null(strstr(err.msg, "max-size=0"));
	assert_true(log_opt_parse(&o, "max-file=0", "--log-opt", &err) < 0);
	assert_true(log_opt_parse(&o, "max-file=101", "--log-opt", &err) < 0);
	assert_true(log_opt_parse(&o, "max-size=", "--log-opt", &err) < 0);
	assert_true(log_opt_parse(&o, "max-size", "--log-opt", &err) < 0);
	assert_true(log_opt_parse(&o, "=1", "--log-opt", &err) < 0);
	assert_true(log_opt_parse(&o, "mode=non-blocking", "--log-opt", &err) < 0);
	assert_string_equal(err.msg, "unknown --log-opt `mode` (max-size or max-file)");
	/* what failed left the values as they were */
	assert_int_equal(o.max_size, 1000);
	assert_int_equal(o.max_files, 3);
}

static void write_lines(struct rotlog *l, int from, int to)
{
	for (int i = from; i <= to; i++) {
		char line[64];

		/* 20 bytes a line */
		snprintf(line, sizeof(line), "line-%014d\n", i);
		assert_int_equal(rotlog_write(l, line, strlen(line), 1), 0);
	}
}

/* name -> name.1 -> name.2; the oldest dropped; no file beyond max_size */
static void rotates_and_caps(void **state)
{
	struct log_opts o = { 100, 3 };
	struct rotlog *l;
	struct nerr err = { 0 };
	char *a, *b, *c;

	assert_int_equal(rotlog_open(dfd, "x.log", 0600, &o, NULL, &l, &err), 0);
	write_lines(l, 1, 20);           /* 5 a file: 4 files' worth */
	rotlog_close(l);
	assert_true(exists("x.log") && exists("x.log.1") && exists("x.log.2"));
	assert_false(exists("x.log.3"));
	c = slurp("x.log");
	b = slurp("x.log.1");
	a = slurp("x.log.2");
	assert_int_equal(strlen(c), 100);
	assert_int_equal(strlen(b), 100);
	assert_int_equal(strlen(a), 100);
	assert_true(!strncmp(a, "line-00000000000006\n", 20));
	assert_true(!strncmp(c + 80, "line-00000000000020\n", 20));
	free(a);
	free(b);
	free(c);
}

static void one_file_starts_over(void **state)
{
	struct log_opts o = { 100, 1 };
	struct rotlog *l;
	char *c;

	assert_int_equal(rotlog_open(dfd, "y.log", 0600, &o, NULL, &l, NULL), 0);
	write_lines(l, 1, 7);
	rotlog_close(l);
	assert_false(exists("y.log.1"));
	c = slurp("y.log");
	assert_string_equal(c, "line-00000000000006\nline-00000000000007\n");
	free(c);
}

static char *count_header(int old_fd, void *arg)
{
	char buf[4096];
	ssize_t n = pread(old_fd, buf, sizeof(buf), 0);
	int lines = 0;

	(*(int *)arg)++;
	for (ssize_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	return xasprintf("# %d before\n", lines);
}

static void header_begins_each_new_file(void **state)
{
	struct log_opts o = { 100, 2 };
	int calls = 0;
	struct rotlog_hooks h = { count_header, NULL, &calls };
	struct rotlog *l;
	char *c;

	assert_int_equal(rotlog_open(dfd, "h.log", 0600, &o, &h, &l, NULL), 0);
	write_lines(l, 1, 6);
	rotlog_close(l);
	assert_int_equal(calls, 1);
	c = slurp("h.log");
	assert_string_equal(c, "# 5 before\nline-00000000000006\n");
	free(c);
}

struct collected {
	char text[4096];
	unsigned files[64];
	size_t n;
};

static void collect(const char *line, size_t len, unsigned file, void *arg)
{
	struct collected *c = arg;

	snprintf(c->text + strlen(c->text), sizeof(c->text) - strlen(c->text), "%.*s,", (int)len, line);
	if (c->n < 64)
		c->files[c->n++] = file;
}

static void reader_crosses_rotations(void **state)
{
	struct log_opts o = { 40, 3 };   /* two lines a file */
	struct rotlog *l;
	struct rotlog_reader *r;
	struct collected c = { 0 };
	char path[128];

	snprintf(path, sizeof(path), "%s/r.log", dir);
	assert_int_equal(rotlog_open(dfd, "r.log", 0600, &o, NULL, &l, NULL), 0);
	write_lines(l, 1, 5);            /* r.log.2: 1 2, r.log.1: 3 4, r.log: 5 */
	assert_int_equal(rotlog_reader_open(path, &r, NULL), 0);
	rotlog_reader_read(r, collect, &c);
	assert_string_equal(c.text, "line-00000000000001,line-00000000000002,line-00000000000003,"
				    "line-00000000000004,line-00000000000005,");
	assert_int_equal(c.files[0], 0);
	assert_int_equal(c.files[4], 2);
	/* it goes on where it was, through a rotation made meanwhile */
	write_lines(l, 6, 8);            /* 5 6 rotated to .1, 7 8 now */
	memset(&c, 0, sizeof(c));
	rotlog_reader_read(r, collect, &c);
	assert_string_equal(c.text, "line-00000000000006,line-00000000000007,line-00000000000008,");
	/* and through three: the file it read was dropped meanwhile */
	write_lines(l, 9, 14);
	memset(&c, 0, sizeof(c));
	rotlog_reader_read(r, collect, &c);
	assert_string_equal(c.text, "line-00000000000009,line-00000000000010,line-00000000000011,"
				    "line-00000000000012,line-00000000000013,line-00000000000014,");
	rotlog_reader_close(r);
	rotlog_close(l);
}

static void reader_tail_counts_across_files(void **state)
{
	struct log_opts o = { 40, 3 };
	struct rotlog *l;
	struct rotlog_reader *r;
	struct collected c = { 0 };
	char path[128];

	snprintf(path, sizeof(path), "%s/t.log", dir);
	assert_int_equal(rotlog_open(dfd, "t.log", 0600, &o, NULL, &l, NULL), 0);
	write_lines(l, 1, 5);
	rotlog_close(l);
	assert_int_equal(rotlog_reader_open(path, &r, NULL), 0);
	rotlog_reader_tail(r, 3);
	rotlog_reader_read(r, collect, &c);
	assert_string_equal(c.text, "line-00000000000003,line-00000000000004,line-00000000000005,");
	rotlog_reader_close(r);
	memset(&c, 0, sizeof(c));
	assert_int_equal(rotlog_reader_open(path, &r, NULL), 0);
	rotlog_reader_tail(r, 50);
	rotlog_reader_read(r, collect, &c);
	assert_int_equal(c.n, 5);
	rotlog_reader_close(r);
	memset(&c, 0, sizeof(c));
	assert_int_equal(rotlog_reader_open(path, &r, NULL), 0);
	rotlog_reader_tail(r, 0);
	rotlog_reader_read(r, collect, &c);
	assert_int_equal(c.n, 0);
	rotlog_reader_close(r);
}

/* What nucleus writes and reads is the caller's: never through a
 * symlink, never a file others can write. */
static void refuses_symlinks_and_shared_files(void **state)
{
	struct log_opts o = { 100, 2 };
	struct rotlog *l = NULL;
	struct nerr err = { 0 };
	int fd;

	assert_int_equal(symlinkat("/etc/passwd", dfd, "s.log"), 0);
	assert_int_equal(rotlog_open(dfd, "s.log", 0600, &o, NULL, &l, &err), -EPERM);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_null(l);
	fd = openat(dfd, "w.log", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0666), 0);
	close(fd);
	assert_int_equal(rotlog_open(dfd, "w.log", 0600, &o, NULL, &l, &err), -EPERM);
	assert_non_null(strstr(err.msg, "writable by others"));
	assert_int_equal(rotlog_open_read(dfd, "w.log", &err), -EPERM);
	assert_int_equal(rotlog_open_read(dfd, "s.log", &err), -EPERM);
	assert_int_equal(mkdirat(dfd, "d", 0777), 0);
	assert_int_equal(fchmodat(dfd, "d", 0777, 0), 0);
	assert_int_equal(dir_open_owned(dfd, "d", false, 0, &err), -EPERM);
	assert_int_equal(symlinkat("d", dfd, "dl"), 0);
	assert_int_equal(dir_open_owned(dfd, "dl", true, 0700, &err), -EPERM);
	assert_non_null(strstr(err.msg, "symbolic link"));
	fd = dir_open_owned(dfd, "e", true, 0700, &err);
	assert_true(fd >= 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(opts_parse),
		cmocka_unit_test_setup_teardown(rotates_and_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(one_file_starts_over, setup, teardown),
		cmocka_unit_test_setup_teardown(header_begins_each_new_file, setup, teardown),
		cmocka_unit_test_setup_teardown(reader_crosses_rotations, setup, teardown),
		cmocka_unit_test_setup_teardown(reader_tail_counts_across_files, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_symlinks_and_shared_files, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
