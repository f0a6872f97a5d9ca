/* --volume and --tmpfs as text (src/filesystem/volume.c): every form the
 * flags take, every refusal with its message, the destinations checked
 * and normalised, the sizes settled by fs_mounts_check; and the
 * supervisor's opening of a source (a symlink, a fifo refused; :U). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <nucleus/filesystem.h>

static void vol_ok(const char *arg, const char *src, const char *dest, enum fs_volume_access access, bool exec,
		   bool chown)
{
	struct fs_volume v;
	struct nerr e = { 0 };

	if (fs_volume_parse(arg, &v, &e) < 0)
		fail_msg("%s refused: %s", arg, e.msg);
	assert_string_equal(v.src, src);
	assert_string_equal(v.dest, dest);
	assert_int_equal(v.access, access);
	assert_int_equal(v.exec, exec);
	assert_int_equal(v.chown, chown);
	fs_volume_free(&v);
}

static void vol_refused(const char *arg, const char *msg)
{
	struct fs_volume v;
	struct nerr e = { 0 };

	if (fs_volume_parse(arg, &v, &e) == 0)
		fail_msg("%s accepted", arg);
	if (!strstr(e.msg, msg))
		fail_msg("%s: `%s` does not say `%s`", arg, e.msg, msg);
	assert_null(v.src);
	assert_null(v.dest);
}

static void test_volume_forms(void **state)
{
	(void)state;
	vol_ok("/srv/a:/a", "/srv/a", "/a", FS_VOLUME_DEFAULT, false, false);
	vol_ok("/srv/a:/a:ro", "/srv/a", "/a", FS_VOLUME_RO, false, false);
	vol_ok("/srv/a:/a:rw", "/srv/a", "/a", FS_VOLUME_RW, false, false);
	vol_ok("/srv/a:/a:rw,exec", "/srv/a", "/a", FS_VOLUME_RW, true, false);
	vol_ok("/srv/a:/a:noexec,ro", "/srv/a", "/a", FS_VOLUME_RO, false, false);
	vol_ok("/srv/a:/a:U", "/srv/a", "/a", FS_VOLUME_DEFAULT, false, true);
	vol_ok("/srv/a:/a:rw,U,exec", "/srv/a", "/a", FS_VOLUME_RW, true, true);
	/* the destination normalised: repeated and trailing slashes */
	vol_ok("/srv/a://var//lib/app/", "/srv/a", "/var/lib/app", FS_VOLUME_DEFAULT, false, false);
	vol_ok("/srv/file.toml:/etc/app.toml:ro", "/srv/file.toml", "/etc/app.toml", FS_VOLUME_RO, false, false);
}

static void test_volume_refusals(void **state)
{
	(void)state;
	vol_refused("/srv/a", "expected SRC:DEST[:OPTIONS]");
	vol_refused("data:/a", "the source `data` is not an absolute path (named volumes are not supported)");
	vol_refused(":/a", "is not an absolute path");
	vol_refused("/srv/a:a", "--volume destination `a` is not an absolute path");
	vol_refused("/srv/a:", "--volume destination `` is not an absolute path");
	vol_refused("/srv/a:/", "--volume destination cannot be `/`");
	vol_refused("/srv/a:///", "--volume destination cannot be `/`");
	vol_refused("/srv/a:/a/../etc", "has a `..` component");
	vol_refused("/srv/a:/a/./b", "has a `.` component");
	vol_refused("/srv/a:/proc", "is under /proc");
	vol_refused("/srv/a:/proc/sys/x", "is under /proc");
	vol_refused("/srv/a:/dev/shm", "is under /dev");
	vol_refused("/srv/a:/sys", "is under /sys");
	vol_refused("/srv/a:/.nucleus-rootfs/x", "is under /.nucleus-rootfs");
	vol_refused("/srv/a:/a b", "has a blank");
	vol_refused("/srv/a:/a\\b", "has a blank");
	vol_refused("/srv/a:/a:ro,rw", "ro and rw contradict each other");
	vol_refused("/srv/a:/a:exec,noexec", "exec and noexec contradict each other");
	vol_refused("/srv/a:/a:z", "unknown option `z` (ro, rw, exec, noexec, U)");
	vol_refused("/srv/a:/a:ro:rw", "unknown option `ro:rw`");
	vol_refused("/srv/a:/a:ro,", "an empty option");
	vol_refused("/srv/a:/a:", "an empty option");
	/* /procfs, /devices: a prefix is not a parent */
	vol_ok("/srv/a:/procfs", "/srv/a", "/procfs", FS_VOLUME_DEFAULT, false, false);
	vol_ok("/srv/a:/devices/x", "/srv/a", "/devices/x", FS_VOLUME_DEFAULT, false, false);
}

static void tmpfs_ok(const char *arg, const char *dest, uint64_t size, unsigned mode, bool exec)
{
	struct fs_tmpfs t;
	struct nerr e = { 0 };

	if (fs_tmpfs_parse(arg, &t, &e) < 0)
		fail_msg("%s refused: %s", arg, e.msg);
	assert_string_equal(t.dest, dest);
	assert_int_equal(t.size, size);
	assert_int_equal(t.mode, mode);
	assert_int_equal(t.exec, exec);
	fs_tmpfs_free(&t);
}

static void tmpfs_refused(const char *arg, const char *msg)
{
	struct fs_tmpfs t;
	struct nerr e = { 0 };

	if (fs_tmpfs_parse(arg, &t, &e) == 0)
		fail_msg("%s accepted", arg);
	if (!strstr(e.msg, msg))
		fail_msg("%s: `%s` does not say `%s`", arg, e.msg, msg);
	assert_null(t.dest);
}

static void test_tmpfs_forms(void **state)
{
	(void)state;
	tmpfs_ok("/cache", "/cache", 0, 01777, false);
	tmpfs_ok("/cache:size=64m", "/cache", 64 << 20, 01777, false);
	tmpfs_ok("/cache:size=1G,mode=700", "/cache", 1 << 30, 0700, false);
	tmpfs_ok("/cache/:mode=0755,exec,size=4k", "/cache", 4096, 0755, true);
	tmpfs_ok("/run/app:noexec", "/run/app", 0, 01777, false);
	tmpfs_refused("cache", "--tmpfs destination `cache` is not an absolute path");
	tmpfs_refused("/", "--tmpfs destination cannot be `/`");
	tmpfs_refused("/dev/shm", "is under /dev");
	tmpfs_refused("/a/../b", "has a `..` component");
	tmpfs_refused("/c:size=0", "invalid size `0`");
	tmpfs_refused("/c:size=100", "invalid size `100` (at least 4k");
	tmpfs_refused("/c:size=lots", "invalid size `lots`");
	tmpfs_refused("/c:mode=888", "invalid mode `888`");
	tmpfs_refused("/c:mode=17777", "invalid mode `17777`");
	tmpfs_refused("/c:mode=", "invalid mode ``");
	tmpfs_refused("/c:uid=1", "unknown option `uid=1` (size=, mode=, exec, noexec)");
	tmpfs_refused("/c:", "an empty option");
	tmpfs_refused("/c:exec,noexec", "exec and noexec contradict each other");
}

static void add_volume(struct fs_config *f, const char *arg)
{
	struct nerr e = { 0 };

	f->volumes = realloc(f->volumes, (f->n_volumes + 1) * sizeof(*f->volumes));
	assert_int_equal(fs_volume_parse(arg, &f->volumes[f->n_volumes++], &e), 0);
}

static void add_tmpfs(struct fs_config *f, const char *arg)
{
	struct nerr e = { 0 };

	f->tmpfs = realloc(f->tmpfs, (f->n_tmpfs + 1) * sizeof(*f->tmpfs));
	assert_int_equal(fs_tmpfs_parse(arg, &f->tmpfs[f->n_tmpfs++], &e), 0);
}

static void free_mounts(struct fs_config *f)
{
	for (size_t i = 0; i < f->n_volumes; i++)
		fs_volume_free(&f->volumes[i]);
	for (size_t i = 0; i < f->n_tmpfs; i++)
		fs_tmpfs_free(&f->tmpfs[i]);
	free(f->volumes);
	free(f->tmpfs);
	memset(f, 0, sizeof(*f));
}

/* Every destination once; every tmpfs sized, at most --memory. */
static void test_mounts_check(void **state)
{
	struct fs_config f = { 0 };
	struct nerr e = { 0 };

	(void)state;
	add_volume(&f, "/srv/a:/a");
	add_tmpfs(&f, "/t");
	add_tmpfs(&f, "/u:size=1m");
	assert_int_equal(fs_mounts_check(&f, 0, &e), 0);
	assert_int_equal(f.tmpfs[0].size, FS_TMPFS_SIZE_DEFAULT);
	assert_int_equal(f.tmpfs[1].size, 1 << 20);
	f.tmpfs[0].size = 0;
	assert_int_equal(fs_mounts_check(&f, 16 << 20, &e), 0);
	assert_int_equal(f.tmpfs[0].size, 16 << 20);   /* the default, capped by --memory */
	f.tmpfs[0].size = 0;
	assert_true(fs_mounts_check(&f, 512 << 10, &e) < 0);
	if (!strstr(e.msg, "--tmpfs `/u` size 1") || !strstr(e.msg, "is more than --memory 512"))
		fail_msg("%s", e.msg);
	add_volume(&f, "/srv/b:/t/");
	assert_true(fs_mounts_check(&f, 0, &e) < 0);
	assert_non_null(strstr(e.msg, "`/t` is the destination of two volumes or tmpfs mounts"));
	free_mounts(&f);
	add_volume(&f, "/srv/a:/a");
	add_volume(&f, "/srv/b://a");
	assert_true(fs_mounts_check(&f, 0, &e) < 0);
	assert_non_null(strstr(e.msg, "`/a` is the destination of two"));
	free_mounts(&f);
	/* what a JSON configuration could hold: checked by the same rules */
	add_volume(&f, "/srv/a:/a");
	free(f.volumes[0].dest);
	f.volumes[0].dest = strdup("/a/../proc");
	assert_true(fs_mounts_check(&f, 0, &e) < 0);
	assert_non_null(strstr(e.msg, "`..` component"));
	free(f.volumes[0].dest);
	f.volumes[0].dest = strdup("/a//b");
	assert_true(fs_mounts_check(&f, 0, &e) < 0);
	assert_non_null(strstr(e.msg, "is not normalised"));
	free_mounts(&f);
}

/* The supervisor's half, without root: the source's kind checked on the
 * descriptor opened without following it; :U needs root. */
static void test_volume_open(void **state)
{
	char base[] = "/tmp/volume-XXXXXX", path[128], link[128], fifo[128];
	struct fs_volume v = { 0 };
	struct nerr e = { 0 };
	int fd;

	(void)state;
	assert_non_null(mkdtemp(base));
	snprintf(path, sizeof(path), "%s/dir", base);
	snprintf(link, sizeof(link), "%s/link", base);
	snprintf(fifo, sizeof(fifo), "%s/fifo", base);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	v.dest = "/d";
	v.src = path;
	assert_int_equal(fs_volume_open(&v, false, 0, 0, &fd, &e), 0);
	assert_true(fd >= 0);
	close(fd);
	v.src = link;
	assert_true(fs_volume_open(&v, false, 0, 0, &fd, &e) < 0);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(e.msg, "is a symlink (not followed"));
	v.src = fifo;
	assert_true(fs_volume_open(&v, false, 0, 0, &fd, &e) < 0);
	assert_non_null(strstr(e.msg, "is not a directory or a regular file"));
	v.src = "/nonexistent/volume";
	assert_true(fs_volume_open(&v, false, 0, 0, &fd, &e) < 0);
	assert_non_null(strstr(e.msg, "--volume source `/nonexistent/volume`: No such file"));
	v.src = path;
	v.chown = true;
	assert_true(fs_volume_open(&v, false, 0, 0, &fd, &e) < 0);
	assert_non_null(strstr(e.msg, ":U needs root"));
	unlink(fifo);
	unlink(link);
	rmdir(path);
	rmdir(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_volume_forms),
		cmocka_unit_test(test_volume_refusals),
		cmocka_unit_test(test_tmpfs_forms),
		cmocka_unit_test(test_mounts_check),
		cmocka_unit_test(test_volume_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
