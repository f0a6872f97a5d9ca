/* The checkpoint directory's manifest (round trip, strict reader, the
 * compatibility refusals) and its integrity checksum (stable, sensitive to
 * a name, a content and a missing or added file). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jansson.h>
#include <nucleus/checkpoint.h>

static void fill(struct ckpt_manifest *m)
{
	memset(m, 0, sizeof(*m));
	m->format = CKPT_FORMAT_VERSION;
	strcpy(m->nucleus_version, NUCLEUS_VERSION);
	strcpy(m->arch, "x86_64");
	strcpy(m->kernel, "6.1.0-57-amd64");
	strcpy(m->criu_version, "3.17.1");
	strcpy(m->id, "0123456789abcdef0123456789abcdef");
	strcpy(m->name, "counter");
	m->created_ns = 1796684927122958480ull;
	m->started_ns = 1796684921085420160ull;
	m->leave_running = true;
	m->restarts = 2;
	m->stdio[0] = xstrdup("file[17:4]");
	m->stdio[2] = xstrdup("pipe:[10852]");
	m->ext_mounts = xcalloc(1, sizeof(char *));
	m->ext_sources = xcalloc(1, sizeof(char *));
	strv_push(&m->ext_mounts, "/usr");
	strv_push(&m->ext_sources, "/usr");
	strv_push(&m->ext_mounts, "/data");
	strv_push(&m->ext_sources, "/srv/volumes/data");
	m->ext_files = xcalloc(1, sizeof(char *));
	m->ext_file_paths = xcalloc(1, sizeof(char *));
	m->ext_file_sha256 = xcalloc(1, sizeof(char *));
	strv_push(&m->ext_files, "file[14:4c]");
	strv_push(&m->ext_file_paths, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	strv_push(&m->ext_file_sha256, "6b4a45352fd0c540a9c7c718f35ce8c8e46a4e482f9d3885a910c32d1a0e1421");
}

static void test_manifest_round_trip(void **state)
{
	struct ckpt_manifest a, b;
	struct nerr err = { 0 };
	json_t *ja, *jb;

	(void)state;
	fill(&a);
	ja = ckpt_manifest_to_json(&a);
	assert_int_equal(ckpt_manifest_from_json(ja, &b, &err), 0);
	jb = ckpt_manifest_to_json(&b);
	assert_true(json_equal(ja, jb));
	assert_string_equal(b.id, a.id);
	assert_string_equal(b.name, "counter");
	assert_int_equal(b.created_ns, a.created_ns);
	assert_int_equal(b.started_ns, a.started_ns);
	assert_true(b.leave_running);
	assert_int_equal(b.restarts, 2);
	assert_string_equal(b.stdio[0], "file[17:4]");
	assert_null(b.stdio[1]);
	assert_string_equal(b.stdio[2], "pipe:[10852]");
	assert_string_equal(b.ext_sources[1], "/srv/volumes/data");
	assert_null(b.ext_mounts[2]);
	assert_string_equal(b.ext_files[0], "file[14:4c]");
	assert_string_equal(b.ext_file_paths[0], "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_null(b.ext_files[1]);
	json_decref(ja);
	json_decref(jb);
	ckpt_manifest_free(&a);
	ckpt_manifest_free(&b);
}

/* One key changed in the manifest's JSON, read back: the error's words. */
static void refused(const char *key, json_t *value, const char *words)
{
	struct ckpt_manifest m, out;
	struct nerr err = { 0 };
	json_t *o;

	fill(&m);
	o = ckpt_manifest_to_json(&m);
	if (value)
		json_object_set_new(o, key, value);
	else
		json_object_del(o, key);
	assert_true(ckpt_manifest_from_json(o, &out, &err) < 0);
	if (!strstr(err.msg, words))
		fail_msg("%s: `%s` does not say `%s`", key, err.msg, words);
	json_decref(o);
	ckpt_manifest_free(&m);
}

static void test_manifest_strict(void **state)
{
	(void)state;
	refused("surprise", json_true(), "surprise: unknown key");
	refused("arch", NULL, "`arch` is not a string");
	refused("arch", json_integer(64), "`arch` is not a string");
	refused("id", json_string("../../etc"), "not a container id");
	refused("created_ns", json_integer(-1), "`created_ns` is not a non-negative integer");
	refused("leave_running", json_string("yes"), "`leave_running` is not a boolean");
	refused("stdio", json_pack("[s,n]", "pipe:[1]"), "`stdio` is not an array of 3");
	refused("stdio", json_pack("[s,n,n]", "/etc/passwd"), "neither a pipe nor an external file");
	refused("external_mounts", json_pack("[s]", "relative"), "not an absolute path");
	refused("external_sources", json_pack("[s,s,s]", "/a", "/b", "/c"), "differ in length");
	refused("external_files", json_pack("[{s:s,s:s}]", "key", "file[1:2]", "path", "/bin/x"),
		"`external_files`[0] is not {key, path, sha256}");
	refused("external_files", json_pack("[{s:s,s:s,s:s}]", "key", "pipe:[1]", "path", "/bin/x", "sha256",
					    "6b4a45352fd0c540a9c7c718f35ce8c8e46a4e482f9d3885a910c32d1a0e1421"),
		"`external_files`[0] is not {key, path, sha256}");
	refused("external_files", json_pack("[{s:s,s:s,s:s}]", "key", "file[1:2]", "path", "rel", "sha256",
					    "6b4a45352fd0c540a9c7c718f35ce8c8e46a4e482f9d3885a910c32d1a0e1421"),
		"`external_files`[0] is not {key, path, sha256}");
}

static void test_manifest_compatible(void **state)
{
	struct ckpt_manifest m;
	struct nerr err = { 0 };

	(void)state;
	fill(&m);
	assert_int_equal(ckpt_manifest_compatible(&m, "x86_64", &err), 0);

	assert_int_equal(ckpt_manifest_compatible(&m, "aarch64", &err), -EPROTO);
	assert_string_equal(err.msg, "checkpoint made on x86_64, this host is aarch64");

	m.format = CKPT_FORMAT_VERSION + 1;
	assert_int_equal(ckpt_manifest_compatible(&m, "x86_64", &err), -EPROTO);
	assert_non_null(strstr(err.msg, "checkpoint format 2, this nucleus reads format 1"));
	m.format = CKPT_FORMAT_VERSION;

	strcpy(m.nucleus_version, "9.4.0");
	assert_int_equal(ckpt_manifest_compatible(&m, "x86_64", &err), -EPROTO);
	assert_non_null(strstr(err.msg, "checkpoint made by nucleus 9.4.0, this is " NUCLEUS_VERSION));
	/* another patch release of the same major.minor reads it */
	{
		char v[32];
		const char *last = strrchr(NUCLEUS_VERSION, '.');

		snprintf(v, sizeof(v), "%.*s.99", (int)(last - NUCLEUS_VERSION), NUCLEUS_VERSION);
		strcpy(m.nucleus_version, v);
		assert_int_equal(ckpt_manifest_compatible(&m, "x86_64", &err), 0);
	}
	ckpt_manifest_free(&m);
}

/* A later format: the reader stops at the format, compatible refuses it. */
static void test_manifest_later_format(void **state)
{
	struct ckpt_manifest m;
	struct nerr err = { 0 };
	json_t *o = json_pack("{s:i,s:s}", "format", 7, "whatever", "the future holds");

	(void)state;
	assert_int_equal(ckpt_manifest_from_json(o, &m, &err), -EINVAL);   /* unknown key first */
	json_object_del(o, "whatever");
	assert_int_equal(ckpt_manifest_from_json(o, &m, &err), 0);
	assert_int_equal(ckpt_manifest_compatible(&m, NULL, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "checkpoint format 7"));
	json_decref(o);
	ckpt_manifest_free(&m);
}

/* ---- the integrity checksum --------------------------------------------- */

static char dir[64];

static void put(const char *name, const char *text)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(write_file(path, text, strlen(text), 0600), 0);
}

static int setup_dir(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_checkpoint.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	put(CKPT_CONFIG, "{}");
	put(CKPT_MANIFEST, "{\"format\": 1}");
	{
		char images[128];

		snprintf(images, sizeof(images), "%s/%s", dir, CKPT_IMAGES);
		mkdir(images, 0700);
	}
	put(CKPT_IMAGES "/pages-1.img", "0123456789");
	put(CKPT_IMAGES "/core-1.img", "core");
	return 0;
}

static int teardown_dir(void **state)
{
	(void)state;
	return remove_tree(dir);
}

static void sum(char hex[65])
{
	struct nerr err = { 0 };
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ckpt_integrity_compute(fd, hex, &err), 0);
	close(fd);
}

static int verify(struct nerr *err)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), rc;

	assert_true(fd >= 0);
	rc = ckpt_integrity_verify(fd, err);
	close(fd);
	return rc;
}

static void test_integrity(void **state)
{
	struct nerr err = { 0 };
	char a[65], b[65];
	int fd;

	(void)state;
	sum(a);
	sum(b);
	assert_string_equal(a, b);             /* stable */
	assert_int_equal(strlen(a), 64);

	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(ckpt_integrity_write(fd, &err), 0);
	close(fd);
	assert_int_equal(verify(&err), 0);
	/* the checksum file and CRIU's log are not covered */
	put("criu-dump.log", "anything");
	assert_int_equal(verify(&err), 0);

	/* a content changed */
	put(CKPT_IMAGES "/pages-1.img", "0123456780");
	assert_int_equal(verify(&err), -EBADMSG);
	assert_non_null(strstr(err.msg, "integrity check failed"));
	put(CKPT_IMAGES "/pages-1.img", "0123456789");
	assert_int_equal(verify(&err), 0);

	/* the configuration and the manifest are covered */
	put(CKPT_CONFIG, "{ }");
	assert_int_equal(verify(&err), -EBADMSG);
	put(CKPT_CONFIG, "{}");

	/* a file added, then one renamed: the names count */
	put(CKPT_IMAGES "/extra.img", "");
	assert_int_equal(verify(&err), -EBADMSG);
	{
		char from[256], to[256];

		snprintf(from, sizeof(from), "%s/%s/extra.img", dir, CKPT_IMAGES);
		unlink(from);
		assert_int_equal(verify(&err), 0);
		snprintf(from, sizeof(from), "%s/%s/core-1.img", dir, CKPT_IMAGES);
		snprintf(to, sizeof(to), "%s/%s/core-2.img", dir, CKPT_IMAGES);
		assert_int_equal(rename(from, to), 0);
		assert_int_equal(verify(&err), -EBADMSG);
		assert_int_equal(rename(to, from), 0);
	}
	/* bytes moved from one file to the next (sizes are hashed) */
	put(CKPT_IMAGES "/core-1.img", "core0");
	put(CKPT_IMAGES "/pages-1.img", "123456789");
	assert_int_equal(verify(&err), -EBADMSG);
	put(CKPT_IMAGES "/core-1.img", "core");
	put(CKPT_IMAGES "/pages-1.img", "0123456789");

	/* anything but a regular file in images/ */
	{
		char link[256];

		snprintf(link, sizeof(link), "%s/%s/link.img", dir, CKPT_IMAGES);
		assert_int_equal(symlink("/etc/passwd", link), 0);
		assert_int_equal(verify(&err), -EBADMSG);
		assert_non_null(strstr(err.msg, "link.img is not a regular file"));
		unlink(link);
	}
	/* a malformed checksum file */
	put(CKPT_INTEGRITY, "md5:abc\n");
	assert_int_equal(verify(&err), -EBADMSG);
	assert_non_null(strstr(err.msg, "not a sha256 checksum"));
	put(CKPT_INTEGRITY, "");
	assert_int_equal(verify(&err), -EBADMSG);
}

/* The reason CRIU gives, from its log: the first error, without its
 * timestamp and source position. */
static void test_criu_log_reason(void **state)
{
	char path[256], why[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/criu.log", dir);
	put("criu.log", "(00.1) Lock network\n"
			"(02.6) Error (criu/libnetlink.c:54): -22 reported by netlink: Invalid argument\n"
			"(02.7) Error (criu/namespaces.c:1171): Namespaces dumping finished with error 59904\n"
			"(04.2) Error (criu/cr-dump.c:2053): Dumping FAILED.\n");
	criu_log_reason(path, why, sizeof(why));
	assert_string_equal(why, "-22 reported by netlink: Invalid argument");
	put("criu.log", "no error here\n");
	criu_log_reason(path, why, sizeof(why));
	assert_string_equal(why, "no error here");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest_round_trip),
		cmocka_unit_test(test_manifest_strict),
		cmocka_unit_test(test_manifest_compatible),
		cmocka_unit_test(test_manifest_later_format),
		cmocka_unit_test_setup_teardown(test_integrity, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_criu_log_reason, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
