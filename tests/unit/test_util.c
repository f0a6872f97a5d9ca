/* util: numbers, sizes, SHA-256, files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <nucleus/util.h>

static void sizes(void **state)
{
	uint64_t v;

	assert_int_equal(parse_size("512K", &v), 0);
	assert_int_equal(v, 512 * 1024);
	assert_int_equal(parse_size("64M", &v), 0);
	assert_int_equal(v, 64ull << 20);
	assert_int_equal(parse_size("1G", &v), 0);
	assert_int_equal(v, 1ull << 30);
	assert_int_equal(parse_size("1.5G", &v), 0);
	assert_int_equal(v, 3ull << 29);
	assert_int_equal(parse_size("64m", &v), 0);
	assert_int_equal(v, 64ull << 20);
	assert_int_equal(parse_size("64MiB", &v), 0);
	assert_int_equal(v, 64ull << 20);
	assert_int_equal(parse_size("100", &v), 0);
	assert_int_equal(v, 100);
	assert_int_not_equal(parse_size("", &v), 0);
	assert_int_not_equal(parse_size("M", &v), 0);
	assert_int_not_equal(parse_size("12X", &v), 0);
	assert_int_not_equal(parse_size("-1M", &v), 0);
	assert_int_not_equal(parse_size("1.5", &v), 0);
	assert_int_not_equal(parse_size("99999999999999999999T", &v), 0);
	assert_int_not_equal(parse_size("1..5M", &v), 0);
}

static void sizes_format(void **state)
{
	char b[32];

	format_size(64ull << 20, b, sizeof(b));
	assert_string_equal(b, "64M");
	format_size(1536 * 1024, b, sizeof(b));
	assert_string_equal(b, "1536K");
	format_size(100, b, sizeof(b));
	assert_string_equal(b, "100");
	format_size(1ull << 30, b, sizeof(b));
	assert_string_equal(b, "1G");
}

static void integers_and_decimals(void **state)
{
	uint64_t v;

	assert_int_equal(parse_u64("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_u64("101", 0, 100, &v), -ERANGE);
	assert_int_equal(parse_u64("4x", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_u64("", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(parse_decimal_micro("1.5", &v), 0);
	assert_int_equal(v, 1500000);
	assert_int_equal(parse_decimal_micro("0.25", &v), 0);
	assert_int_equal(v, 250000);
	assert_int_equal(parse_decimal_micro("2", &v), 0);
	assert_int_equal(v, 2000000);
	assert_int_not_equal(parse_decimal_micro("1.2345678", &v), 0);
	assert_int_not_equal(parse_decimal_micro("abc", &v), 0);
	assert_int_not_equal(parse_decimal_micro(".", &v), 0);
}

static void sha256_vectors(void **state)
{
	char hex[65];
	struct sha256 s;
	uint8_t d[32];
	char million[1001];

	sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* one million 'a' fed in uneven pieces */
	memset(million, 'a', sizeof(million));
	sha256_init(&s);
	for (int i = 0; i < 1000; i++)
		sha256_update(&s, million, i % 2 ? 999 : 1001);
	sha256_final(&s, d);
	hex_encode(d, 32, hex, sizeof(hex));
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	assert_true(is_hex_string(hex, 64));
	assert_false(is_hex_string("xyz", 3));
}

static void files_roundtrip(void **state)
{
	char dir[] = "/tmp/nucleus-unit-XXXXXX";
	char *buf = NULL, path[128], sub[160];
	size_t len;
	struct stat st;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	assert_int_equal(mkdir_p(path, 0700), 0);
	assert_int_equal(mkdir_p(path, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/state.json", path);
	assert_int_equal(write_file_atomic(sub, "{}\n", 3, 0600), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(read_file(sub, 1024, &buf, &len), 0);
	assert_int_equal(len, 3);
	assert_string_equal(buf, "{}\n");
	free(buf);
	assert_int_equal(read_file(sub, 2, &buf, &len), -EFBIG);
	snprintf(sub, sizeof(sub), "%s/link", path);
	assert_int_equal(symlink("/etc", sub), 0);
	assert_int_equal(remove_tree(dir), 0);
	assert_int_equal(stat("/etc/passwd", &st), 0);   /* the link target survived */
	assert_int_equal(stat(dir, &st), -1);
}

static void errors_carry_context(void **state)
{
	struct nerr e = { 0 };

	assert_int_equal(nerr_set(&e, ENOENT, "open `%s`", "/x"), -ENOENT);
	assert_string_equal(e.msg, "open `/x`: No such file or directory");
	assert_int_equal(nerr_prefix(&e, "context"), -ENOENT);
	assert_string_equal(e.msg, "context: open `/x`: No such file or directory");
	assert_int_equal(nerr_set(&e, 0, "plain"), -EINVAL);
	assert_string_equal(e.msg, "plain");
}

static void ids_are_random_hex(void **state)
{
	char a[33], b[33];

	assert_int_equal(random_id(a), 0);
	assert_int_equal(random_id(b), 0);
	assert_true(is_hex_string(a, 32));
	assert_string_not_equal(a, b);
}

static void string_vectors(void **state)
{
	char **v = NULL;

	strv_push(&v, "a");
	strv_push(&v, "b");
	assert_int_equal(strv_len(v), 2);
	assert_true(strv_contains(v, "b"));
	assert_false(strv_contains(v, "c"));
	strv_free(v);
}

/* The rule of runtime state: the caller's, not writable by others, no
 * symlink, and a refusal that says which and why. */
static void trusted_opens(void **state)
{
	char dir[] = "/tmp/nucleus-trust-XXXXXX", path[128], msg[256];
	struct nerr err = { 0 };
	int d, fd;

	assert_non_null(mkdtemp(dir));
	d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(d >= 0);
	assert_int_equal(trust_fd(d, S_IFDIR, "runtime directory", dir, &err), 0);
	assert_int_equal(write_file_at(d, "f", "x", 1, 0600), 0);
	fd = open_trusted_at(d, "f", O_RDONLY, 0, S_IFREG, "state file", "f", &err);
	assert_true(fd >= 0);
	close(fd);
	/* writable by others */
	assert_int_equal(fchmodat(d, "f", 0666, 0), 0);
	assert_int_equal(open_trusted_at(d, "f", O_RDONLY, 0, S_IFREG, "state file", "f", &err), -EPERM);
	assert_true(trust_refused(&err));
	assert_string_equal(err.msg, "state file `f` is writable by everyone (mode 0666): refusing it");
	assert_int_equal(fchmodat(d, "f", 0620, 0), 0);
	assert_int_equal(open_trusted_at(d, "f", O_RDONLY, 0, S_IFREG, "state file", "f", &err), -EPERM);
	assert_string_equal(err.msg, "state file `f` is writable by its group (mode 0620): refusing it");
	assert_int_equal(fchmodat(d, "f", 0600, 0), 0);
	/* a symlink, even to a file that would pass */
	assert_int_equal(symlinkat("f", d, "l"), 0);
	assert_int_equal(open_trusted_at(d, "l", O_RDONLY, 0, S_IFREG, "lock file", "l", &err), -EPERM);
	assert_string_equal(err.msg, "lock file `l` is a symbolic link: refusing it");
	assert_int_equal(open_trusted_at(d, "l", O_RDONLY | O_DIRECTORY, 0, S_IFDIR, "state directory", "l", &err),
			 -EPERM);
	assert_string_equal(err.msg, "state directory `l` is a symbolic link: refusing it");
	/* a FIFO is refused, without waiting for a writer */
	assert_int_equal(mkfifoat(d, "p", 0600), 0);
	assert_int_equal(open_trusted_at(d, "p", O_RDONLY, 0, S_IFREG, "log", "p", &err), -EPERM);
	assert_string_equal(err.msg, "log `p` is not a regular file: refusing it");
	/* another user's file */
	if (geteuid() == 0) {
		assert_int_equal(fchownat(d, "f", 65534, 65534, 0), 0);
		assert_int_equal(open_trusted_at(d, "f", O_RDONLY, 0, S_IFREG, "state file", "f", &err), -EPERM);
		snprintf(msg, sizeof(msg), "state file `f` is owned by uid 65534, not you (uid 0): refusing it");
		assert_string_equal(err.msg, msg);
	}
	/* missing: its errno, not a refusal */
	assert_int_equal(open_trusted_at(d, "none", O_RDONLY, 0, S_IFREG, "state file", "none", &err), -ENOENT);
	assert_false(trust_refused(&err));
	/* atomic replace next to a directory fd: no temp file left */
	assert_int_equal(write_file_atomic_at(d, "a", "one", 3, 0600), 0);
	assert_int_equal(write_file_atomic_at(d, "a", "two", 3, 0600), 0);
	{
		char *text = NULL;
		size_t len = 0;

		assert_int_equal(read_file_at(d, "a", 0, &text, &len), 0);
		assert_string_equal(text, "two");
		free(text);
		snprintf(path, sizeof(path), "a.tmp.%d", (int)getpid());
		assert_int_equal(faccessat(d, path, F_OK, AT_SYMLINK_NOFOLLOW), -1);
	}
	close(d);
	assert_int_equal(remove_tree(dir), 0);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes),
		cmocka_unit_test(sizes_format),
		cmocka_unit_test(integers_and_decimals),
		cmocka_unit_test(sha256_vectors),
		cmocka_unit_test(files_roundtrip),
		cmocka_unit_test(errors_carry_context),
		cmocka_unit_test(ids_are_random_hex),
		cmocka_unit_test(string_vectors),
		cmocka_unit_test(trusted_opens),
	};
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
