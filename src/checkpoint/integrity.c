/* The checkpoint directory's integrity checksum: sha256 over what restore
 * reads (the configuration, the manifest, CRIU's images), so a truncated
 * copy or a file changed since the dump is refused before CRIU reads it.
 * It is not an authentication: anyone who can write the directory can
 * write a matching checksum. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <nucleus/checkpoint.h>

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files, as paths relative to the directory, sorted by byte order. */
static int list_files(int dirfd, char ***out, struct nerr *err)
{
	_cleanup_strv_ char **v = xcalloc(1, sizeof(char *));
	int fd = openat(dirfd, CKPT_IMAGES, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return nerr_set(err, errno, "open %s/", CKPT_IMAGES);
	if (!(d = fdopendir(fd))) {
		close(fd);
		return nerr_set(err, errno, "read %s/", CKPT_IMAGES);
	}
	strv_push(&v, CKPT_CONFIG);
	strv_push(&v, CKPT_MANIFEST);
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
			int rc = CKPT_FAIL(err, EBADMSG, "%s/%.200s is not a regular file", CKPT_IMAGES, de->d_name);

			closedir(d);
			return rc;
		}
		strv_push_take(&v, xasprintf("%s/%s", CKPT_IMAGES, de->d_name));
	}
	closedir(d);
	qsort(v, strv_len(v), sizeof(char *), cmp_names);
	*out = v;
	v = NULL;
	return 0;
}

static int hash_file(int dirfd, const char *name, struct sha256 *h, struct nerr *err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	uint8_t size[8], buf[65536];
	struct stat st;
	uint64_t n = 0;
	ssize_t r;

	if (fd < 0 || fstat(fd, &st) < 0)
		return nerr_set(err, errno, "open %s", name);
	if (!S_ISREG(st.st_mode))
		return CKPT_FAIL(err, EBADMSG, "%s is not a regular file", name);
	sha256_update(h, name, strlen(name) + 1);
	for (int i = 0; i < 8; i++)
		size[i] = (uint8_t)((uint64_t)st.st_size >> (56 - 8 * i));
	sha256_update(h, size, sizeof(size));
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return nerr_set(err, errno, "read %s", name);
		}
		sha256_update(h, buf, (size_t)r);
		n += (uint64_t)r;
	}
	/* the size hashed is the size read: a file that changed meanwhile */
	if (n != (uint64_t)st.st_size)
		return CKPT_FAIL(err, EBADMSG, "%s changed while it was read", name);
	return 0;
}

int ckpt_integrity_compute(int dirfd, char hex[65], struct nerr *err)
{
	_cleanup_strv_ char **files = NULL;
	struct sha256 h;
	uint8_t sum[32];
	int rc;

	if ((rc = list_files(dirfd, &files, err)) < 0)
		return rc;
	sha256_init(&h);
	for (size_t i = 0; files[i]; i++)
		if ((rc = hash_file(dirfd, files[i], &h, err)) < 0)
			return rc;
	sha256_final(&h, sum);
	hex_encode(sum, sizeof(sum), hex, 65);
	return 0;
}

int ckpt_integrity_write(int dirfd, struct nerr *err)
{
	char hex[65], line[80];
	int rc;

	if ((rc = ckpt_integrity_compute(dirfd, hex, err)) < 0)
		return rc;
	snprintf(line, sizeof(line), "sha256:%s\n", hex);
	if ((rc = write_file_at(dirfd, CKPT_INTEGRITY, line, strlen(line), 0600)) < 0)
		return nerr_set(err, -rc, "write %s", CKPT_INTEGRITY);
	return 0;
}

int ckpt_integrity_verify(int dirfd, struct nerr *err)
{
	_cleanup_free_ char *text = NULL;
	char hex[65];
	int rc;

	if ((rc = read_file_at(dirfd, CKPT_INTEGRITY, 256, &text, NULL)) < 0)
		return nerr_set(err, -rc, "read %s", CKPT_INTEGRITY);
	text[strcspn(text, "\n")] = '\0';
	if (strncmp(text, "sha256:", 7) || !is_hex_string(text + 7, 64))
		return CKPT_FAIL(err, EBADMSG, "%s: not a sha256 checksum", CKPT_INTEGRITY);
	if ((rc = ckpt_integrity_compute(dirfd, hex, err)) < 0)
		return rc;
	if (strncmp(hex, text + 7, 64))
		return CKPT_FAIL(err, EBADMSG, "integrity check failed: the directory does not match its checksum "
				"(sha256 %.12s..., recorded %.12s...)", hex, text + 7);
	return 0;
}
