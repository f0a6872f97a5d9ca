/* The tree against its manifest: the walk (directory fds only, nothing
 * followed), the hashing (a pool of threads over a shared list, biggest
 * files first), and the comparison both ways. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include "attest_internal.h"

#define HASH_BUF (256u << 10)

enum { ROOT_TREE, ROOT_STORE };

struct node {
	char *path;        /* as the manifest writes it */
	const char *rel;   /* what to open beneath its root fd (within path) */
	int root;
	char *link;        /* symlink target; NULL: a regular file */
	uint64_t size;
	char sha256[65];
	int err;           /* hashing: 0, a positive errno, or -1: not a regular file */
};

struct nodes {
	struct node *v;
	size_t n, cap;
};

static void nodes_free(struct nodes *ns)
{
	for (size_t i = 0; i < ns->n; i++) {
		free(ns->v[i].path);
		free(ns->v[i].link);
	}
	free(ns->v);
	*ns = (struct nodes){ 0 };
}

static void nodes_push(struct nodes *ns, char *path, int root, char *link, uint64_t size)
{
	struct node *n;

	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 1024;
		ns->v = xrealloc(ns->v, ns->cap * sizeof(*ns->v));
	}
	n = &ns->v[ns->n++];
	*n = (struct node){ .path = path, .root = root, .link = link, .size = size };
	n->rel = root == ROOT_STORE ? path + strlen(ATTEST_STORE_PREFIX) : path;
}

static int node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct node *)a)->path, ((const struct node *)b)->path);
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct attest_entry *)a)->path, ((const struct attest_entry *)b)->path);
}

/* ---- the walk ---------------------------------------------------------------- */

static const char *type_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFIFO: return "a fifo";
	case S_IFSOCK: return "a socket";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	default: return "not a regular file, symlink or directory";
	}
}

static int read_link(int dfd, const char *name, const char *path, char **out, struct nerr *err)
{
	char buf[PATH_MAX + 1];
	ssize_t n = readlinkat(dfd, name, buf, sizeof(buf));

	if (n < 0)
		return nerr_set(err, errno, "readlink `%s`", path);
	if ((size_t)n >= sizeof(buf))
		return nerr_set(err, ENAMETOOLONG, "readlink `%s`", path);
	buf[n] = '\0';
	if (!n || strchr(buf, '\n') || strchr(buf, '\r'))
		return attest_differs(err, "`%s` is a symlink whose target cannot be attested (empty or a line break)",
				      path);
	*out = xstrdup(buf);
	return 0;
}

/* One entry named `name` in the directory dfd; `path`: its manifest path
 * (taken). Directories are walked; the rest become nodes. */
static int walk_entry(int dfd, const char *name, char *path, int root, struct nodes *out, struct nerr *err);

static int walk_dir(int dfd, const char *prefix, int root, bool top, struct nodes *out, struct nerr *err)
{
	/* an open file description of its own: a dup would share the
	 * caller's directory offset (a second walk would see nothing) */
	_cleanup_close_ int fd2 = attest_open_beneath(dfd, ".", O_RDONLY | O_DIRECTORY);
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r;

	if (fd2 < 0)
		return nerr_set(err, -fd2, "open directory `%s`", prefix[0] ? prefix : ".");
	if (!(d = fdopendir(fd2)))
		return nerr_set(err, errno, "read directory `%s`", prefix[0] ? prefix : ".");
	fd2 = -1;
	for (errno = 0; (de = readdir(d)); errno = 0) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (top && root == ROOT_TREE && !strcmp(de->d_name, ATTEST_MANIFEST))
			continue;
		r = walk_entry(dirfd(d), de->d_name,
			       prefix[0] ? xasprintf("%s/%s", prefix, de->d_name) : xstrdup(de->d_name),
			       root, out, err);
		if (r < 0)
			return r;
	}
	if (errno)
		return nerr_set(err, errno, "read directory `%s`", prefix[0] ? prefix : ".");
	return 0;
}

static int walk_entry(int dfd, const char *name, char *path, int root, struct nodes *out, struct nerr *err)
{
	_cleanup_free_ char *p = path;
	struct stat st;
	char *link = NULL;
	int r;

	if (strchr(name, '\n') || strchr(name, '\r'))
		return attest_differs(err, "`%s` has a line break in its name: it cannot be attested", p);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return nerr_set(err, errno, "stat `%s`", p);
	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int sub = attest_open_beneath(dfd, name, O_RDONLY | O_DIRECTORY);

		if (sub < 0)
			return nerr_set(err, -sub, "open directory `%s`", p);
		return walk_dir(sub, p, root, false, out, err);
	}
	if (S_ISLNK(st.st_mode)) {
		if ((r = read_link(dfd, name, p, &link, err)) < 0)
			return r;
	} else if (!S_ISREG(st.st_mode)) {
		return attest_differs(err, "`%s` is %s: only regular files and symlinks can be attested", p,
				      type_name(st.st_mode));
	}
	nodes_push(out, steal_ptr(p), root, link, (uint64_t)st.st_size);
	return 0;
}

/* The listed store paths beneath store_fd, but the tree itself. `differs`:
 * a store path that is not there is a difference (verify), not an error. */
static int walk_store(int tree_fd, int store_fd, char **paths, bool differs, struct nodes *out,
		      struct nerr *err)
{
	struct stat tree, st;
	int r;

	if (fstat(tree_fd, &tree) < 0)
		return nerr_set(err, errno, "stat the tree");
	for (char **p = paths; *p; p++) {
		const char *name = *p + strlen(ATTEST_STORE_PREFIX);

		if (fstatat(store_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT && differs)
				return attest_differs(err, "store path `%s` (listed in %s) is missing", *p,
						      ATTEST_STORE_PATHS);
			return nerr_set(err, errno, "store path `%s` (listed in %s)", *p, ATTEST_STORE_PATHS);
		}
		if (S_ISDIR(st.st_mode) && st.st_dev == tree.st_dev && st.st_ino == tree.st_ino)
			continue;
		if ((r = walk_entry(store_fd, name, xstrdup(*p), ROOT_STORE, out, err)) < 0)
			return r;
	}
	return 0;
}

/* ---- the hashing -------------------------------------------------------------- */

struct pool {
	struct node **order;
	size_t n;
	size_t next;       /* atomic */
	int fds[2];        /* by root */
};

static void hash_node(struct node *n, int root_fd, uint8_t *buf)
{
	_cleanup_close_ int fd = attest_open_beneath(root_fd, n->rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	struct sha256 s;
	struct stat st;
	uint8_t d[32];
	ssize_t got;

	if (fd < 0) {
		n->err = fd == -ELOOP ? -1 : -fd;
		return;
	}
	if (fstat(fd, &st) < 0) {
		n->err = errno;
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		n->err = -1;
		return;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	sha256_init(&s);
	while ((got = read(fd, buf, HASH_BUF)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			n->err = errno;
			return;
		}
		sha256_update(&s, buf, (size_t)got);
	}
	sha256_final(&s, d);
	hex_encode(d, 32, n->sha256, sizeof(n->sha256));
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	uint8_t *buf = xmalloc(HASH_BUF);
	size_t i;

	while ((i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED)) < p->n)
		hash_node(p->order[i], p->fds[p->order[i]->root], buf);
	free(buf);
	return NULL;
}

static int size_desc(const void *a, const void *b)
{
	uint64_t x = (*(struct node *const *)a)->size, y = (*(struct node *const *)b)->size;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* Hash every regular file of ns; errors are left in each node. */
static void hash_all(struct nodes *ns, int tree_fd, int store_fd)
{
	struct pool p = { .fds = { tree_fd, store_fd } };
	pthread_t tid[8];
	unsigned want, started = 0;

	p.order = xcalloc(ns->n ? ns->n : 1, sizeof(*p.order));
	for (size_t i = 0; i < ns->n; i++)
		if (!ns->v[i].link)
			p.order[p.n++] = &ns->v[i];
	/* biggest first, so that no thread is left with a big file at the end */
	qsort(p.order, p.n, sizeof(*p.order), size_desc);
	want = attest_threads();
	if (want > p.n)
		want = p.n ? (unsigned)p.n : 1;
	for (; started + 1 < want; started++)
		if (pthread_create(&tid[started], NULL, worker, &p) != 0)
			break;
	worker(&p);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	free(p.order);
}

/* ---- build and verify ------------------------------------------------------------ */

/* The tree, and the store paths its list names, as sorted nodes (not hashed). */
static int collect(int dirfd, int store_fd, bool verify, const struct attest_manifest *m, struct nodes *ns,
		   struct nerr *err)
{
	_cleanup_strv_ char **paths = NULL;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	if ((r = walk_dir(dirfd, "", ROOT_TREE, true, ns, err)) < 0)
		return r;
	r = attest_read_beneath(dirfd, ATTEST_STORE_PATHS, 1u << 20, &text, &len);
	if (r < 0 && r != -ENOENT)
		return nerr_set(err, -r, "read `%s`", ATTEST_STORE_PATHS);
	if (r == 0) {
		if (verify) {
			/* the list decides which store paths are walked: it must be
			 * the attested one before it is used */
			struct attest_entry key = { .path = (char *)ATTEST_STORE_PATHS }, *e;
			char have[65];

			e = m->n ? bsearch(&key, m->e, m->n, sizeof(*m->e), entry_cmp) : NULL;
			if (!e)
				return attest_differs(err, "`%s` is not in the manifest", ATTEST_STORE_PATHS);
			if (e->link)
				return attest_differs(err, "`%s` is a file, the manifest has a symlink", ATTEST_STORE_PATHS);
			sha256_hex(text, len, have);
			if (strcmp(have, e->sha256))
				return attest_differs(err, "`%s` changed", ATTEST_STORE_PATHS);
		}
		if ((r = attest_store_paths_parse(text, len, &paths, err)) < 0)
			return r;
		if (paths[0] && store_fd < 0)
			return nerr_set(err, 0, "the tree lists store paths (%s) but no /nix/store was given",
					ATTEST_STORE_PATHS);
		if (paths[0] && (r = walk_store(dirfd, store_fd, paths, verify, ns, err)) < 0)
			return r;
	}
	if (ns->n)
		qsort(ns->v, ns->n, sizeof(*ns->v), node_cmp);
	return 0;
}

static int hash_failed(const struct node *n, bool verify, struct nerr *err)
{
	if (n->err == -1)
		return verify ? attest_differs(err, "`%s` is no longer a regular file", n->path)
			      : nerr_set(err, 0, "`%s` is no longer a regular file", n->path);
	if (n->err == ENOENT && verify)
		return attest_differs(err, "`%s` is missing", n->path);
	return nerr_set(err, n->err, "read `%s`", n->path);
}

int attest_build(int dirfd, int store_fd, struct attest_manifest *m, struct nerr *err)
{
	struct nodes ns = { 0 };
	int r;

	*m = (struct attest_manifest){ 0 };
	if ((r = collect(dirfd, store_fd, false, NULL, &ns, err)) < 0)
		goto out;
	hash_all(&ns, dirfd, store_fd);
	for (size_t i = 0; i < ns.n; i++)
		if (ns.v[i].err) {
			r = hash_failed(&ns.v[i], false, err);
			goto out;
		}
	m->e = xcalloc(ns.n ? ns.n : 1, sizeof(*m->e));
	for (size_t i = 0; i < ns.n; i++) {
		struct attest_entry *e = &m->e[m->n++];

		e->path = steal_ptr(ns.v[i].path);
		e->link = steal_ptr(ns.v[i].link);
		memcpy(e->sha256, ns.v[i].sha256, sizeof(e->sha256));
	}
out:
	nodes_free(&ns);
	return r;
}

/* The first difference of structure (names, types, targets), in path order. */
static int compare_structure(const struct nodes *ns, const struct attest_manifest *m, struct nerr *err)
{
	size_t i = 0, j = 0;

	while (i < ns->n || j < m->n) {
		int c = i == ns->n ? 1 : j == m->n ? -1 : strcmp(ns->v[i].path, m->e[j].path);
		const struct node *n = i < ns->n ? &ns->v[i] : NULL;
		const struct attest_entry *e = j < m->n ? &m->e[j] : NULL;

		if (c < 0)
			return attest_differs(err, "`%s` is not in the manifest", n->path);
		if (c > 0)
			return attest_differs(err, "`%s` is missing", e->path);
		if (n->link && !e->link)
			return attest_differs(err, "`%s` is a symlink, the manifest has a file", n->path);
		if (!n->link && e->link)
			return attest_differs(err, "`%s` is a file, the manifest has a symlink", n->path);
		if (n->link && strcmp(n->link, e->link))
			return attest_differs(err, "`%s` is a symlink to `%s`, the manifest has `%s`", n->path, n->link,
					      e->link);
		i++;
		j++;
	}
	return 0;
}

int attest_verify(int dirfd, int store_fd, const struct attest_manifest *m, struct nerr *err)
{
	struct nodes ns = { 0 };
	int r;

	if ((r = collect(dirfd, store_fd, true, m, &ns, err)) < 0)
		goto out;
	if ((r = compare_structure(&ns, m, err)) < 0)
		goto out;
	hash_all(&ns, dirfd, store_fd);
	/* ns and m are the same paths in the same order now */
	for (size_t i = 0; i < ns.n; i++) {
		if (ns.v[i].link)
			continue;
		if (ns.v[i].err) {
			r = hash_failed(&ns.v[i], true, err);
			goto out;
		}
		if (strcmp(ns.v[i].sha256, m->e[i].sha256)) {
			r = attest_differs(err, "`%s` changed", ns.v[i].path);
			goto out;
		}
	}
out:
	nodes_free(&ns);
	return r;
}
