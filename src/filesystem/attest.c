/* The rootfs manifest: its two line forms, the checks of what it names,
 * and reading it (and the store paths list) through a directory fd. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "attest_internal.h"

int attest_differs(struct nerr *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -ATTEST_DIFFERS;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	for (char *p = err->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	err->code = ATTEST_DIFFERS;
	return -ATTEST_DIFFERS;
}

/* ---- paths ---------------------------------------------------------------- */

/* Components separated by single slashes, none empty, '.' or '..'. */
static const char *rel_unsafe(const char *p)
{
	if (!*p)
		return "an empty path";
	for (const char *c = p;;) {
		const char *end = strchrnul(c, '/');
		size_t n = (size_t)(end - c);

		if (n == 0)
			return "an empty component";
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return "a `.` or `..` component";
		if (memchr(c, '\n', n) || memchr(c, '\r', n))
			return "a line break";
		if (!*end)
			return NULL;
		c = end + 1;
	}
}

const char *attest_store_name_unsafe(const char *name)
{
	const char *why = rel_unsafe(name);

	if (why)
		return why;
	if (strchr(name, '/'))
		return "more than one component after /nix/store/";
	/* store paths are <hash>-<name>; a hidden entry is the store's own
	 * (.links holds a hard link to every file of the store) */
	return name[0] == '.' ? "a hidden name, not a store path" : NULL;
}

const char *attest_path_unsafe(const char *path)
{
	if (path[0] == '/') {
		const char *name = path + strlen(ATTEST_STORE_PREFIX), *why;
		_cleanup_free_ char *first = NULL;

		if (!str_has_prefix(path, ATTEST_STORE_PREFIX))
			return "an absolute path outside /nix/store";
		if ((why = rel_unsafe(name)))
			return why;
		first = strndup(name, strchrnul(name, '/') - name);
		return attest_store_name_unsafe(first);
	}
	if (!strcmp(path, ATTEST_MANIFEST))
		return "the manifest itself";
	return rel_unsafe(path);
}

/* ---- symlink targets: `\` `space` `tab` escaped, so that the target ends
 * at the first space or tab of the line ----------------------------------- */

static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '\\': fputs("\\\\", f); break;
		case ' ': fputs("\\s", f); break;
		case '\t': fputs("\\t", f); break;
		default: fputc(*s, f);
		}
	}
}

static char *unescape(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			*o++ = s[i];
			continue;
		}
		if (++i == n)
			goto bad;
		switch (s[i]) {
		case '\\': *o++ = '\\'; break;
		case 's': *o++ = ' '; break;
		case 't': *o++ = '\t'; break;
		default: goto bad;
		}
	}
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

static bool hex_prefix(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/* ---- parse and format --------------------------------------------------- */

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct attest_entry *)a)->path, ((const struct attest_entry *)b)->path);
}

void attest_manifest_free(struct attest_manifest *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].path);
		free(m->e[i].link);
	}
	free(m->e);
	m->e = NULL;
	m->n = 0;
}

/* One line (without its newline) into e. */
static int parse_line(const char *s, size_t n, size_t lineno, struct attest_entry *e, struct nerr *err)
{
	const char *sep, *why;
	size_t head;

	if (n >= 2 && s[0] == '-' && s[1] == '>') {
		for (head = 2; head < n && s[head] != ' ' && s[head] != '\t'; head++)
			;
		if (head == 2)
			return nerr_set(err, 0, "manifest line %zu: an empty symlink target", lineno);
		if (!(e->link = unescape(s + 2, head - 2)))
			return nerr_set(err, 0, "manifest line %zu: a bad escape in the symlink target "
					"(only \\\\, \\s, \\t)", lineno);
		if (strchr(e->link, '\r'))
			return nerr_set(err, 0, "manifest line %zu: a line break in the symlink target", lineno);
	} else {
		head = 64;
		if (n < head || !hex_prefix(s, head))
			return nerr_set(err, 0, "manifest line %zu: not \"<sha256>  <path>\" nor \"-><target>  <path>\"",
					lineno);
		for (size_t i = 0; i < head; i++)
			e->sha256[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
		e->sha256[head] = '\0';
	}
	sep = s + head;
	if (head + 2 <= n && sep[0] == ' ' && sep[1] == ' ')
		head += 2;
	else if (head + 1 <= n && sep[0] == '\t')
		head += 1;
	else
		return nerr_set(err, 0, "manifest line %zu: two spaces or a tab must follow the %s", lineno,
				e->link ? "symlink target" : "hash");
	e->path = strndup(s + head, n - head);
	if ((why = attest_path_unsafe(e->path)))
		return nerr_set(err, 0, "manifest line %zu: `%s` is not a path it may name: %s", lineno, e->path, why);
	return 0;
}

int attest_manifest_parse(const char *text, size_t len, struct attest_manifest *m, struct nerr *err)
{
	struct attest_manifest out = { 0 };
	size_t cap = 0, lineno = 0;
	int r;

	*m = (struct attest_manifest){ 0 };
	if (memchr(text, '\0', len))
		return nerr_set(err, 0, "manifest: a NUL byte");
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		lineno++;
		if (out.n == cap) {
			cap = cap ? cap * 2 : 256;
			out.e = xrealloc(out.e, cap * sizeof(*out.e));
		}
		out.e[out.n] = (struct attest_entry){ 0 };
		r = parse_line(text + pos, n, lineno, &out.e[out.n], err);
		out.n++;
		if (r < 0) {
			attest_manifest_free(&out);
			return r;
		}
		pos += n + 1;
	}
	if (out.n)
		qsort(out.e, out.n, sizeof(*out.e), entry_cmp);
	for (size_t i = 1; i < out.n; i++) {
		if (!strcmp(out.e[i - 1].path, out.e[i].path)) {
			r = nerr_set(err, 0, "manifest: `%s` is listed twice", out.e[i].path);
			attest_manifest_free(&out);
			return r;
		}
	}
	*m = out;
	return 0;
}

char *attest_manifest_format(const struct attest_manifest *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		abort();
	for (size_t i = 0; i < m->n; i++) {
		if (m->e[i].link) {
			fputs("->", f);
			put_escaped(f, m->e[i].link);
		} else {
			fputs(m->e[i].sha256, f);
		}
		fprintf(f, "  %s\n", m->e[i].path);
	}
	if (fclose(f) != 0)
		abort();
	return buf;
}

void attest_manifest_sha256(const struct attest_manifest *m, char out[65])
{
	_cleanup_free_ char *text = attest_manifest_format(m);

	sha256_hex(text, strlen(text), out);
}

/* ---- reading through a directory fd -------------------------------------- */

int attest_open_beneath(int dirfd, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	do
		fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd < 0 ? -errno : fd;
}

int attest_read_beneath(int dirfd, const char *name, size_t max, char **out, size_t *len)
{
	_cleanup_close_ int fd = attest_open_beneath(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	buf = xmalloc((size_t)st.st_size + 1);
	/* read one byte more than it said: a file that grew is refused */
	n = read_all(fd, buf, (size_t)st.st_size + 1);
	if (n < 0)
		return (int)n;
	if (n > st.st_size)
		return -EFBIG;
	buf[n] = '\0';
	*len = (size_t)n;
	*out = steal_ptr(buf);
	return 0;
}

static int read_failed(int r, const char *name, size_t max, struct nerr *err)
{
	if (r == -EINVAL)
		return nerr_set(err, 0, "`%s` is not a regular file", name);
	if (r == -EFBIG)
		return nerr_set(err, 0, "`%s` is larger than %zu bytes", name, max);
	if (r == -ELOOP)
		return nerr_set(err, 0, "`%s` is a symlink", name);
	return nerr_set(err, -r, "read `%s`", name);
}

int attest_manifest_load(const char *text, size_t len, const char *pin_hex, struct attest_manifest *m,
			 struct nerr *err)
{
	if (pin_hex) {
		char have[65];

		if (strlen(pin_hex) != 64 || !is_hex_string(pin_hex, 64))
			return nerr_set(err, 0, "the manifest's pinned sha256 `%s` is not 64 hex digits", pin_hex);
		sha256_hex(text, len, have);
		if (strcasecmp(have, pin_hex))
			return attest_differs(err, "the manifest's sha256 is %s, not the pinned %s", have, pin_hex);
	}
	return attest_manifest_parse(text, len, m, err);
}

int attest_manifest_read(int dirfd, const char *pin_hex, struct attest_manifest *m, struct nerr *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = attest_read_beneath(dirfd, ATTEST_MANIFEST, ATTEST_MANIFEST_MAX, &text, &len);

	*m = (struct attest_manifest){ 0 };
	if (r == -ENOENT)
		return nerr_set(err, ENOENT, "the tree has no manifest `%s` (nucleus rootfs attest)", ATTEST_MANIFEST);
	if (r < 0)
		return read_failed(r, ATTEST_MANIFEST, ATTEST_MANIFEST_MAX, err);
	return attest_manifest_load(text, len, pin_hex, m, err);
}

int attest_store_paths_parse(const char *text, size_t len, char ***paths, struct nerr *err)
{
	_cleanup_strv_ char **v = NULL;
	size_t lineno = 0;

	*paths = NULL;
	if (memchr(text, '\0', len))
		return nerr_set(err, 0, "%s: a NUL byte", ATTEST_STORE_PATHS);
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		_cleanup_free_ char *line = strndup(text + pos, n);
		const char *why = NULL;

		lineno++;
		pos += n + 1;
		if (!str_has_prefix(line, ATTEST_STORE_PREFIX))
			why = "not beneath /nix/store/";
		else
			why = attest_store_name_unsafe(line + strlen(ATTEST_STORE_PREFIX));
		if (why)
			return nerr_set(err, 0, "%s line %zu: `%s` is not a store path: %s", ATTEST_STORE_PATHS,
					lineno, line, why);
		if (strv_contains(v, line))
			return nerr_set(err, 0, "%s: `%s` is listed twice", ATTEST_STORE_PATHS, line);
		strv_push_take(&v, steal_ptr(line));
	}
	if (!v)
		v = xcalloc(1, sizeof(*v));
	*paths = steal_ptr(v);
	return 0;
}

int attest_store_paths_read(int dirfd, char ***paths, struct nerr *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = attest_read_beneath(dirfd, ATTEST_STORE_PATHS, 1u << 20, &text, &len);

	*paths = NULL;
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return read_failed(r, ATTEST_STORE_PATHS, 1u << 20, err);
	return attest_store_paths_parse(text, len, paths, err);
}

unsigned attest_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 8 ? 8 : (unsigned)n;
}
