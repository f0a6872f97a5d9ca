/* attest: the manifest's forms and refusals, build and verify of trees and
 * store closures, every kind of difference; the SHA-256 block functions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <nucleus/attest.h>

/* ---- SHA-256 ---------------------------------------------------------------- */

static void hash_chunked(const uint8_t *p, size_t n, size_t chunk, char out[65])
{
	struct sha256 s;
	uint8_t d[32];

	sha256_init(&s);
	for (size_t off = 0; off < n; off += chunk)
		sha256_update(&s, p + off, n - off < chunk ? n - off : chunk);
	sha256_final(&s, d);
	hex_encode(d, 32, out, 65);
}

static void vectors_of_current(void)
{
	static const struct { size_t n; const char *hex; } around_blocks[] = {
		{ 55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b" },
		{ 56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27" },
		{ 57, "35df609437dcfea3279283ab79fd554e2bf78f8f7ae2de532d8ee300b09e8f73" },
		{ 63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055" },
		{ 64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241" },
		{ 65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e" },
		{ 119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e" },
		{ 120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5" },
		{ 127, "a8d23e75d936f303d248888d9b165ee543f4cbafcad3c9dd2a79bd84faa11d07" },
		{ 128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6" },
		{ 129, "307f8fc2c1622b92762e818d39a185d4d667ad49a4b07ceae1f4afa008a93ec4" },
		{ 1000, "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371" },
	};
	static const size_t chunks[] = { 1, 7, 64, 65, 4096 };
	uint8_t data[1000];
	char hex[65];
	char *million;

	sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < ARRAY_SIZE(around_blocks); i++)
		for (size_t c = 0; c < ARRAY_SIZE(chunks); c++) {
			hash_chunked(data, around_blocks[i].n, chunks[c], hex);
			assert_string_equal(hex, around_blocks[i].hex);
		}
	million = malloc(1000000);
	memset(million, 'a', 1000000);
	hash_chunked((uint8_t *)million, 1000000, 1000, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(million);
}

static void sha256_portable_vectors(void **state)
{
	assert_int_equal(sha256_select("portable"), 0);
	assert_string_equal(sha256_impl(), "portable");
	vectors_of_current();
	sha256_select(NULL);
}

/* The SHA extensions where this CPU has them (this host does); the same
 * vectors, and every length to 600 against the portable function. */
static void sha256_shani_vectors(void **state)
{
	uint8_t data[600];
	char a[65], b[65];

	if (sha256_select("sha-ni") < 0) {
		assert_string_equal(sha256_impl(), "portable");
		return;
	}
	assert_string_equal(sha256_impl(), "sha-ni");
	vectors_of_current();
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 131 + (i >> 3));
	for (size_t n = 0; n <= sizeof(data); n++) {
		assert_int_equal(sha256_select("sha-ni"), 0);
		hash_chunked(data, n, 1 + n % 97, a);
		assert_int_equal(sha256_select("portable"), 0);
		hash_chunked(data, n, 1 + n % 89, b);
		assert_string_equal(a, b);
	}
	assert_int_equal(sha256_select("nope"), -ENOTSUP);
	sha256_select(NULL);
	assert_string_equal(sha256_impl(), "sha-ni");
}

/* ---- the manifest ------------------------------------------------------------- */

#define H1 "3d9f2889d6782537624a4e1a10e68a2ddd53e0ee8bac02676f27308f42ec6bf6"
#define H2 "98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4"

static void parse_both_forms(void **state)
{
	/* unsorted, the original's tab form mixed with ours, upper-case hex */
	static const char text[] =
		"98EA6E4F216F2FB4B69FFF9B3A44842C38686CA685F3F55DC48C5D3FB1107BE4\tetc/a b\n"
		"->busybox  bin/sh\n"
		H1 "  bin/busybox\n"
		"->/nix/store/abc-x/bin/y\tbin/y\n"
		H2 "  /nix/store/abc-x/bin/y\n"
		"->a\\sb\\\\c\\td  odd";
	struct attest_manifest m;
	struct nerr err = { 0 };

	assert_int_equal(attest_manifest_parse(text, strlen(text), &m, &err), 0);
	assert_int_equal(m.n, 6);
	assert_string_equal(m.e[0].path, "/nix/store/abc-x/bin/y");
	assert_string_equal(m.e[0].sha256, H2);
	assert_null(m.e[0].link);
	assert_string_equal(m.e[1].path, "bin/busybox");
	assert_string_equal(m.e[2].path, "bin/sh");
	assert_string_equal(m.e[2].link, "busybox");
	assert_string_equal(m.e[3].path, "bin/y");
	assert_string_equal(m.e[3].link, "/nix/store/abc-x/bin/y");
	assert_string_equal(m.e[4].path, "etc/a b");
	assert_string_equal(m.e[4].sha256, H2);
	assert_string_equal(m.e[5].path, "odd");
	assert_string_equal(m.e[5].link, "a b\\c\td");
	attest_manifest_free(&m);

	assert_int_equal(attest_manifest_parse("", 0, &m, &err), 0);
	assert_int_equal(m.n, 0);
	attest_manifest_free(&m);
}

static void refused(const char *text, const char *want)
{
	struct attest_manifest m = { 0 };
	struct nerr err = { 0 };

	assert_int_equal(attest_manifest_parse(text, strlen(text), &m, &err), -EINVAL);
	if (!strstr(err.msg, want))
		fail_msg("`%s`: got \"%s\", want \"%s\"", text, err.msg, want);
	assert_int_equal(m.n, 0);
	assert_null(m.e);
}

static void parse_refusals(void **state)
{
	struct attest_manifest m;
	struct nerr err = { 0 };

	refused("3d9f  x\n", "line 1: not");
	refused(H1 "  a\n" "zz9f2889d6782537624a4e1a10e68a2ddd53e0ee8bac02676f27308f42ec6bf6  x\n", "line 2: not");
	refused(H1 " x\n", "two spaces or a tab must follow the hash");
	refused(H1 "x\n", "two spaces or a tab");
	refused("\n", "line 1: not");
	refused(H1 "  a\n\n", "line 2: not");
	refused(H1 "  /etc/passwd\n", "an absolute path outside /nix/store");
	refused(H1 "  ../x\n", "`.` or `..`");
	refused(H1 "  a/../b\n", "`.` or `..`");
	refused(H1 "  ./a\n", "`.` or `..`");
	refused(H1 "  a//b\n", "an empty component");
	refused(H1 "  a/\n", "an empty component");
	refused(H1 "  \n", "an empty path");
	refused(H1 "  /nix/store/\n", "an empty path");
	refused(H1 "  /nix/store/../etc/shadow\n", "`.` or `..`");
	refused(H1 "  /nix/store/a/../../b\n", "`.` or `..`");
	refused(H1 "  /nix/storex/a\n", "outside /nix/store");
	refused(H1 "  a\r\n", "a line break");
	refused(H1 "  " ATTEST_MANIFEST "\n", "the manifest itself");
	refused(H1 "  a\n" H2 "\ta\n", "`a` is listed twice");
	refused("->  x\n", "an empty symlink target");
	refused("->a\\qb  x\n", "a bad escape");
	refused("->a\\  x\n", "a bad escape");
	refused("->busybox x\n", "two spaces or a tab must follow the symlink target");
	refused("->busy\rbox  x\n", "a line break in the symlink target");
	/* a NUL byte anywhere */
	assert_int_equal(attest_manifest_parse(H1 "  a\0b\n", sizeof(H1 "  a\0b\n") - 1, &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "NUL"));
}

static void format_round_trip(void **state)
{
	static const char canonical[] =
		"->busybox  bin/sh\n"
		H1 "  bin/with  two spaces\n"
		"->a\\sb\\\\c\\td  odd\n";
	struct attest_manifest m, m2;
	struct nerr err = { 0 };
	char *text, *text2, sum[65], want[65];

	assert_int_equal(attest_manifest_parse(canonical, strlen(canonical), &m, &err), 0);
	text = attest_manifest_format(&m);
	assert_string_equal(text, canonical);
	assert_int_equal(attest_manifest_parse(text, strlen(text), &m2, &err), 0);
	assert_int_equal(m2.n, m.n);
	for (size_t i = 0; i < m.n; i++) {
		assert_string_equal(m.e[i].path, m2.e[i].path);
		assert_string_equal(m.e[i].sha256, m2.e[i].sha256);
		if (m.e[i].link)
			assert_string_equal(m.e[i].link, m2.e[i].link);
		else
			assert_null(m2.e[i].link);
	}
	text2 = attest_manifest_format(&m2);
	assert_string_equal(text, text2);
	attest_manifest_sha256(&m, sum);
	sha256_hex(canonical, strlen(canonical), want);
	assert_string_equal(sum, want);
	free(text);
	free(text2);
	attest_manifest_free(&m);
	attest_manifest_free(&m2);

	m = (struct attest_manifest){ 0 };
	text = attest_manifest_format(&m);
	assert_string_equal(text, "");
	free(text);
}

/* ---- trees ------------------------------------------------------------------------ */

struct tmp {
	char dir[64];
	int fd;
};

static void put(int dfd, const char *path, const char *content)
{
	int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static void put_bytes(int dfd, const char *path, size_t n)
{
	char *b = malloc(n);
	int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	for (size_t i = 0; i < n; i++)
		b[i] = (char)(i * 13 + (i >> 9));
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, b, n), (ssize_t)n);
	close(fd);
	free(b);
}

/* A small rootfs: files (empty, one byte more than 64 KiB, more than the
 * read buffer), a symlink, a nested manifest-named file, an empty dir. */
static void tree_make(struct tmp *t)
{
	strcpy(t->dir, "/tmp/nucleus-test-attest.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	t->fd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(t->fd >= 0);
	assert_int_equal(mkdirat(t->fd, "bin", 0755), 0);
	assert_int_equal(mkdirat(t->fd, "etc", 0755), 0);
	assert_int_equal(mkdirat(t->fd, "etc/deep", 0755), 0);
	assert_int_equal(mkdirat(t->fd, "empty", 0755), 0);
	put(t->fd, "bin/busybox", "#!busybox\n");
	assert_int_equal(symlinkat("busybox", t->fd, "bin/sh"), 0);
	put(t->fd, "etc/passwd", "root:x:0:0::/root:/bin/sh\n");
	put(t->fd, "etc/empty-file", "");
	put(t->fd, "etc/deep/" ATTEST_MANIFEST, "not the top one\n");
	put_bytes(t->fd, "etc/deep/big", 65537);
	put_bytes(t->fd, "etc/deep/bigger", 300 * 1024 + 3);
	/* the top manifest is not part of the tree */
	put(t->fd, ATTEST_MANIFEST, "whatever\n");
}

static void tree_free(struct tmp *t)
{
	close(t->fd);
	assert_int_equal(remove_tree(t->dir), 0);
}

static void build_and_verify(void **state)
{
	struct tmp t;
	struct attest_manifest m;
	struct nerr err = { 0 };
	static const char *paths[] = {
		"bin/busybox", "bin/sh", "etc/deep/" ATTEST_MANIFEST, "etc/deep/big", "etc/deep/bigger",
		"etc/empty-file", "etc/passwd",
	};
	char want[65];

	tree_make(&t);
	assert_int_equal(attest_build(t.fd, -1, &m, &err), 0);
	assert_int_equal(m.n, ARRAY_SIZE(paths));
	for (size_t i = 0; i < m.n; i++)
		assert_string_equal(m.e[i].path, paths[i]);
	assert_string_equal(m.e[1].link, "busybox");
	sha256_hex("#!busybox\n", 10, want);
	assert_string_equal(m.e[0].sha256, want);
	sha256_hex("", 0, want);
	assert_string_equal(m.e[5].sha256, want);
	{
		char *big = NULL;
		size_t len = 0;

		assert_int_equal(read_file_at(t.fd, "etc/deep/bigger", 0, &big, &len), 0);
		assert_int_equal(len, 300 * 1024 + 3);
		sha256_hex(big, len, want);
		assert_string_equal(m.e[4].sha256, want);
		free(big);
	}
	assert_int_equal(attest_verify(t.fd, -1, &m, &err), 0);
	/* an extra empty directory is not a difference: directories are implied */
	assert_int_equal(mkdirat(t.fd, "etc/deep/more", 0755), 0);
	assert_int_equal(attest_verify(t.fd, -1, &m, &err), 0);
	attest_manifest_free(&m);
	tree_free(&t);
}

typedef void (*tamper_fn)(int fd);
static void t_content(int fd) { put(fd, "etc/passwd", "root:x:0:0::/root:/bin/bash\n"); }
static void t_same_size(int fd) { put(fd, "bin/busybox", "#!busyboX\n"); }
static void t_added(int fd) { put(fd, "etc/shadow", "x\n"); }
static void t_added_deep(int fd) { put(fd, "empty/x", ""); }
static void t_removed(int fd) { assert_int_equal(unlinkat(fd, "etc/passwd", 0), 0); }
static void t_link_to_file(int fd) { unlinkat(fd, "bin/sh", 0); put(fd, "bin/sh", "#!busybox\n"); }
static void t_file_to_link(int fd) { unlinkat(fd, "etc/passwd", 0); assert_int_equal(symlinkat("/etc/passwd", fd, "etc/passwd"), 0); }
static void t_link_target(int fd) { unlinkat(fd, "bin/sh", 0); assert_int_equal(symlinkat("/bin/busybox", fd, "bin/sh"), 0); }
static void t_dir_for_file(int fd) { unlinkat(fd, "etc/empty-file", 0); mkdirat(fd, "etc/empty-file", 0755); put(fd, "etc/empty-file/x", ""); }
static void t_fifo(int fd) { assert_int_equal(mkfifoat(fd, "etc/fifo", 0600), 0); }
static void t_socketlike(int fd) { assert_int_equal(mknodat(fd, "etc/null", S_IFCHR | 0600, makedev(1, 3)), 0); }

static void differences(void **state)
{
	static const struct { tamper_fn fn; const char *msg; } cases[] = {
		{ t_content, "`etc/passwd` changed" },
		{ t_same_size, "`bin/busybox` changed" },
		{ t_added, "`etc/shadow` is not in the manifest" },
		{ t_added_deep, "`empty/x` is not in the manifest" },
		{ t_removed, "`etc/passwd` is missing" },
		{ t_link_to_file, "`bin/sh` is a file, the manifest has a symlink" },
		{ t_file_to_link, "`etc/passwd` is a symlink, the manifest has a file" },
		{ t_link_target, "`bin/sh` is a symlink to `/bin/busybox`, the manifest has `busybox`" },
		{ t_dir_for_file, "`etc/empty-file` is missing" },
		{ t_fifo, "`etc/fifo` is a fifo: only regular files and symlinks can be attested" },
		{ t_socketlike, "`etc/null` is a character device: only regular files and symlinks can be attested" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tmp t;
		struct attest_manifest m;
		struct nerr err = { 0 };

		tree_make(&t);
		assert_int_equal(attest_build(t.fd, -1, &m, &err), 0);
		cases[i].fn(t.fd);
		assert_int_equal(attest_verify(t.fd, -1, &m, &err), -ATTEST_DIFFERS);
		if (strcmp(err.msg, cases[i].msg))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err.msg, cases[i].msg);
		attest_manifest_free(&m);
		tree_free(&t);
	}
}

static void fifo_refused_by_build(void **state)
{
	struct tmp t;
	struct attest_manifest m;
	struct nerr err = { 0 };

	tree_make(&t);
	assert_int_equal(mkfifoat(t.fd, "bin/fifo", 0600), 0);
	assert_int_equal(attest_build(t.fd, -1, &m, &err), -ATTEST_DIFFERS);
	assert_string_equal(err.msg, "`bin/fifo` is a fifo: only regular files and symlinks can be attested");
	assert_int_equal(m.n, 0);
	tree_free(&t);
}

/* A store: the rootfs is itself a store path (ccc-root), listing itself, a
 * directory path and a single-file path. */
struct store {
	struct tmp t;     /* t.dir: the store; t.fd its fd */
	int root;
};

static void store_make(struct store *s, const char *list)
{
	strcpy(s->t.dir, "/tmp/nucleus-test-store.XXXXXX");
	assert_non_null(mkdtemp(s->t.dir));
	s->t.fd = open(s->t.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(s->t.fd >= 0);
	assert_int_equal(mkdirat(s->t.fd, "aaa-foo", 0755), 0);
	assert_int_equal(mkdirat(s->t.fd, "aaa-foo/lib", 0755), 0);
	put(s->t.fd, "aaa-foo/lib/libfoo.so", "ELF foo\n");
	assert_int_equal(symlinkat("libfoo.so", s->t.fd, "aaa-foo/lib/libfoo.so.1"), 0);
	put(s->t.fd, "bbb-bar", "#!/bin/sh\necho bar\n");
	put(s->t.fd, "zzz-unlisted", "not in the closure\n");
	assert_int_equal(mkdirat(s->t.fd, "ccc-root", 0755), 0);
	assert_int_equal(mkdirat(s->t.fd, "ccc-root/bin", 0755), 0);
	put(s->t.fd, "ccc-root/bin/app", "app\n");
	assert_int_equal(symlinkat("/nix/store/aaa-foo/lib/libfoo.so.1", s->t.fd, "ccc-root/bin/lib"), 0);
	put(s->t.fd, "ccc-root/" ATTEST_STORE_PATHS, list);
	s->root = openat(s->t.fd, "ccc-root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(s->root >= 0);
}

static void store_free(struct store *s)
{
	close(s->root);
	tree_free(&s->t);
}

#define CLOSURE "/nix/store/aaa-foo\n/nix/store/bbb-bar\n/nix/store/ccc-root\n"

static void store_closure(void **state)
{
	static const char *paths[] = {
		ATTEST_STORE_PATHS, "/nix/store/aaa-foo/lib/libfoo.so", "/nix/store/aaa-foo/lib/libfoo.so.1",
		"/nix/store/bbb-bar", "bin/app", "bin/lib",
	};
	struct store s;
	struct attest_manifest m;
	struct nerr err = { 0 };
	char **list = NULL;

	store_make(&s, CLOSURE);
	assert_int_equal(attest_store_paths_read(s.root, &list, &err), 0);
	assert_int_equal(strv_len(list), 3);
	assert_string_equal(list[2], "/nix/store/ccc-root");
	strv_free(list);
	assert_int_equal(attest_build(s.root, s.t.fd, &m, &err), 0);
	assert_int_equal(m.n, ARRAY_SIZE(paths));
	for (size_t i = 0; i < m.n; i++)
		assert_string_equal(m.e[i].path, paths[i]);
	assert_string_equal(m.e[2].link, "libfoo.so");
	assert_int_equal(attest_verify(s.root, s.t.fd, &m, &err), 0);
	/* what is not listed is not looked at */
	put(s.t.fd, "zzz-unlisted", "changed\n");
	assert_int_equal(attest_verify(s.root, s.t.fd, &m, &err), 0);
	/* without a store: refused, not skipped */
	assert_int_equal(attest_verify(s.root, -1, &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no /nix/store was given"));
	{
		struct attest_manifest none;

		assert_int_equal(attest_build(s.root, -1, &none, &err), -EINVAL);
		assert_int_equal(none.n, 0);
	}

	put(s.t.fd, "aaa-foo/lib/libfoo.so", "ELF fo0\n");
	assert_int_equal(attest_verify(s.root, s.t.fd, &m, &err), -ATTEST_DIFFERS);
	assert_string_equal(err.msg, "`/nix/store/aaa-foo/lib/libfoo.so` changed");
	put(s.t.fd, "aaa-foo/lib/libfoo.so", "ELF foo\n");
	put(s.t.fd, "aaa-foo/lib/evil.so", "x");
	assert_int_equal(attest_verify(s.root, s.t.fd, &m, &err), -ATTEST_DIFFERS);
	assert_string_equal(err.msg, "`/nix/store/aaa-foo/lib/evil.so` is not in the manifest");
	unlinkat(s.t.fd, "aaa-foo/lib/evil.so", 0);
	assert_int_equal(unlinkat(s.t.fd, "bbb-bar", 0), 0);
	assert_int_equal(attest_verify(s.root, s.t.fd, &m, &err), -ATTEST_DIFFERS);
	assert_string_equal(err.msg, "store path `/nix/store/bbb-bar` (listed in " ATTEST_STORE_PATHS ") is missing");
	put(s.t.fd, "bbb-bar", "#!/bin/sh\necho bar\n");
	assert_int_equal(attest_verify(s.root, s.t.fd, &m, &err), 0);
	/* a list that drops a store path is caught before it is used */
	put(s.root, ATTEST_STORE_PATHS, "/nix/store/bbb-bar\n");
	assert_int_equal(attest_verify(s.root, s.t.fd, &m, &err), -ATTEST_DIFFERS);
	assert_string_equal(err.msg, "`" ATTEST_STORE_PATHS "` changed");
	attest_manifest_free(&m);
	store_free(&s);

	/* a listed store path that is not there: attest refuses */
	store_make(&s, CLOSURE "/nix/store/ddd-gone\n");
	assert_int_equal(attest_build(s.root, s.t.fd, &m, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "store path `/nix/store/ddd-gone`"));
	store_free(&s);
}

static void store_paths_refused(void **state)
{
	static const struct { const char *list, *msg; } cases[] = {
		{ "/etc\n", "not beneath /nix/store/" },
		{ "/nix/store/a/b\n", "more than one component" },
		{ "/nix/store/..\n", "`.` or `..`" },
		{ "/nix/store/\n", "an empty path" },
		{ "/nix/store/a\n\n", "line 2" },
		{ "/nix/store/a\n/nix/store/a\n", "listed twice" },
		{ "/nix/store/.links\n", "a hidden name" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct store s;
		struct nerr err = { 0 };
		char **list = NULL;

		store_make(&s, cases[i].list);
		assert_int_equal(attest_store_paths_read(s.root, &list, &err), -EINVAL);
		assert_null(list);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err.msg, cases[i].msg);
		store_free(&s);
	}
}

static void manifest_read_and_pin(void **state)
{
	struct tmp t;
	struct attest_manifest m, m2;
	struct nerr err = { 0 };
	char *text, sum[65];

	tree_make(&t);
	assert_int_equal(attest_build(t.fd, -1, &m, &err), 0);
	text = attest_manifest_format(&m);
	put(t.fd, ATTEST_MANIFEST, text);
	sha256_hex(text, strlen(text), sum);
	assert_int_equal(attest_manifest_read(t.fd, sum, &m2, &err), 0);
	assert_int_equal(m2.n, m.n);
	attest_manifest_free(&m2);
	assert_int_equal(attest_manifest_read(t.fd, NULL, &m2, &err), 0);
	assert_int_equal(attest_verify(t.fd, -1, &m2, &err), 0);
	attest_manifest_free(&m2);
	/* a manifest that is not the pinned one */
	sum[0] = sum[0] == '0' ? '1' : '0';
	assert_int_equal(attest_manifest_read(t.fd, sum, &m2, &err), -ATTEST_DIFFERS);
	assert_non_null(strstr(err.msg, "not the pinned"));
	assert_int_equal(attest_manifest_read(t.fd, "abc", &m2, &err), -EINVAL);
	/* never through a symlink */
	assert_int_equal(unlinkat(t.fd, ATTEST_MANIFEST, 0), 0);
	assert_int_equal(symlinkat("etc/passwd", t.fd, ATTEST_MANIFEST), 0);
	assert_true(attest_manifest_read(t.fd, NULL, &m2, &err) < 0);
	assert_non_null(strstr(err.msg, "is a symlink"));
	assert_int_equal(unlinkat(t.fd, ATTEST_MANIFEST, 0), 0);
	assert_int_equal(attest_manifest_read(t.fd, NULL, &m2, &err), -ENOENT);
	free(text);
	attest_manifest_free(&m);
	tree_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sha256_portable_vectors),
		cmocka_unit_test(sha256_shani_vectors),
		cmocka_unit_test(parse_both_forms),
		cmocka_unit_test(parse_refusals),
		cmocka_unit_test(format_round_trip),
		cmocka_unit_test(build_and_verify),
		cmocka_unit_test(differences),
		cmocka_unit_test(fifo_refused_by_build),
		cmocka_unit_test(store_closure),
		cmocka_unit_test(store_paths_refused),
		cmocka_unit_test(manifest_read_and_pin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
