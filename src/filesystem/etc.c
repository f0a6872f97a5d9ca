/* A minimal /etc: enough for sh, coreutils, python3 and awk, and nothing
 * else of the host's. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <nucleus/filesystem.h>
#include "fs_internal.h"

/* Host paths bound read-only: the loader cache, alternatives (awk, editor),
 * CA certificates. /etc/ssl/private is deliberately absent. */
static const char *const etc_binds[] = {
	"/etc/ld.so.cache", "/etc/alternatives", "/etc/ssl/certs",
	"/etc/pki/tls/certs", "/etc/localtime",
};

/* Host files copied in, content only (read-only with the rest of the
 * root): the tables `getent services` and getservbyname read, and what
 * the distribution is. The first of a name that exists wins (os-release
 * may live only in /usr/lib). */
static const struct { const char *name, *src; } etc_copies[] = {
	{ "services", "/etc/services" }, { "protocols", "/etc/protocols" },
	{ "os-release", "/etc/os-release" }, { "os-release", "/usr/lib/os-release" },
};

static int put(int etc, const char *name, const char *text, struct nerr *err)
{
	int r = write_file_at(etc, name, text, strlen(text), 0644);

	if (r < 0)
		return nerr_set(err, -r, "write /etc/%s", name);
	return 0;
}

static char *hosts_text(const struct fs_spec *s)
{
	char *t = xstrdup("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");

	if (!s->self_hosts) {
		char *n = xasprintf("%s127.0.1.1\t%s\n", t, s->hostname);
		free(t);
		t = n;
	}
	for (size_t i = 0; s->self_hosts && s->self_hosts[i]; i++) {
		char *n = xasprintf("%s%s\n", t, s->self_hosts[i]);
		free(t);
		t = n;
	}
	for (size_t i = 0; s->extra_hosts && s->extra_hosts[i]; i++) {
		char *n = xasprintf("%s%s\n", t, s->extra_hosts[i]);
		free(t);
		t = n;
	}
	return t;
}

static char *resolv_text(const struct fs_spec *s)
{
	char *t = xstrdup("");

	for (size_t i = 0; s->dns && s->dns[i]; i++) {
		char *n = xasprintf("%snameserver %s\n", t, s->dns[i]);
		free(t);
		t = n;
	}
	if (s->dns_search && s->dns_search[0]) {
		char *n = xasprintf("%ssearch", t);
		free(t);
		t = n;
		for (size_t i = 0; s->dns_search[i]; i++) {
			n = xasprintf("%s %s", t, s->dns_search[i]);
			free(t);
			t = n;
		}
		n = xasprintf("%s\n", t);
		free(t);
		t = n;
	}
	return t;
}

/* Create the mount point for a bind: a directory or an empty file, with the
 * parents it needs (e.g. etc/ssl for etc/ssl/certs). */
static int make_mountpoint(int root, const char *rel, bool dir, struct nerr *err)
{
	_cleanup_free_ char *p = xstrdup(rel);
	_cleanup_close_ int fd = -1;

	for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdirat(root, p, 0755) < 0 && errno != EEXIST)
			return nerr_set(err, errno, "mkdir `/%s`", p);
		*s = '/';
	}
	if (dir)
		return fs_mkdir_at(root, rel, 0755, err);
	fd = openat(root, rel, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return nerr_set(err, errno, "create `/%s`", rel);
	return 0;
}

int fs_setup_etc(const struct fs_spec *s, int root, struct nerr *err)
{
	_cleanup_close_ int etc = -1;
	_cleanup_free_ char *hosts = hosts_text(s);
	_cleanup_free_ char *resolv = resolv_text(s);
	_cleanup_free_ char *hostname = xasprintf("%s\n", s->hostname);
	int r;

	if ((r = fs_mkdir_at(root, "etc", 0755, err)) < 0)
		return r;
	etc = openat(root, "etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (etc < 0)
		return nerr_set(err, errno, "open /etc");
	if ((r = put(etc, "passwd",
		     "root:x:0:0:root:/root:/bin/sh\n"
		     "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n", err)) < 0 ||
	    (r = put(etc, "group", "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n", err)) < 0 ||
	    (r = put(etc, "nsswitch.conf",
		     "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"
		     "networks: files\nprotocols: files\nservices: files\n", err)) < 0 ||
	    (r = put(etc, "hosts", hosts, err)) < 0 ||
	    (r = put(etc, "hostname", hostname, err)) < 0 ||
	    (r = put(etc, "resolv.conf", resolv, err)) < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(etc_copies); i++) {
		_cleanup_free_ char *text = NULL;
		size_t len;

		if (faccessat(etc, etc_copies[i].name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		/* the host's path, read on the host's side (its os-release is
		 * often a link into /usr/lib): nothing the container controls */
		if (read_file(etc_copies[i].src, 1 << 20, &text, &len) < 0)
			continue;
		if ((r = write_file_at(etc, etc_copies[i].name, text, len, 0644)) < 0)
			return nerr_set(err, -r, "write /etc/%s", etc_copies[i].name);
	}

	for (size_t i = 0; i < ARRAY_SIZE(etc_binds); i++) {
		const char *src = etc_binds[i];
		struct stat st;

		if (lstat(src, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			/* /etc/localtime and friends: copy the link itself */
			char target[4096];
			ssize_t n = readlink(src, target, sizeof(target) - 1);

			if (n < 0)
				continue;
			target[n] = '\0';
			if ((r = make_mountpoint(root, src + 1, true, err)) < 0)
				return r;
			unlinkat(root, src + 1, AT_REMOVEDIR);
			if (symlinkat(target, root, src + 1) < 0)
				return nerr_set(err, errno, "symlink `%s`", src);
			continue;
		}
		if ((r = make_mountpoint(root, src + 1, S_ISDIR(st.st_mode), err)) < 0)
			return r;
		_cleanup_free_ char *dst = xasprintf("%s%s", s->staging, src);
		if ((r = fs_bind(src, dst, true, err)) < 0)
			return r;
	}
	return 0;
}
