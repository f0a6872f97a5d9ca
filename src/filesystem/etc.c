/* A minimal /etc: enough for sh, coreutils, python3 and awk, and nothing
 * else of the host's. The ops only (fs_plan_etc); nothing here runs. */
#include <string.h>
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
static const struct fs_etc_copy etc_copies[] = {
	{ "services", "/etc/services" }, { "protocols", "/etc/protocols" },
	{ "os-release", "/etc/os-release" }, { "os-release", "/usr/lib/os-release" },
};

/* The users, groups and name services of a root that brings none. */
static const struct fs_etc_file fixed[] = {
	{ "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
			 "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n" },
	{ "/etc/group", "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n" },
	{ "/etc/nsswitch.conf", "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"
				"networks: files\nprotocols: files\nservices: files\n" },
};

const char *const *fs_etc_bind_paths(size_t *n)
{
	*n = ARRAY_SIZE(etc_binds);
	return etc_binds;
}

const struct fs_etc_copy *fs_etc_copies(size_t *n)
{
	*n = ARRAY_SIZE(etc_copies);
	return etc_copies;
}

const struct fs_etc_file *fs_etc_fixed_files(size_t *n)
{
	*n = ARRAY_SIZE(fixed);
	return fixed;
}

char *fs_etc_hosts_text(const struct fs_spec *s)
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

char *fs_etc_resolv_text(const struct fs_spec *s)
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

/* What nucleus writes whatever the root: the container's names and
 * resolvers (docker binds its own over an image's the same way). */
static void plan_generated(const struct fs_spec *s, struct fs_ops *ops)
{
	struct fs_op *op;

	if (s->hosts_mount) {
		/* the compose network's file, which its supervisors keep */
		op = fs_ops_add(ops, FS_OP_ATTACH, "/etc/hosts", 0);
		op->fd = s->hosts_mount_fd;
		op->label = "hosts file";
	} else {
		op = fs_ops_add(ops, FS_OP_FILE, "/etc/hosts", 0);
		op->content = fs_ops_own(ops, fs_etc_hosts_text(s));
		op->mode = 0644;
	}
	op = fs_ops_add(ops, FS_OP_FILE, "/etc/hostname", 0);
	op->content = fs_ops_own(ops, xasprintf("%s\n", s->hostname));
	op->mode = 0644;
	op = fs_ops_add(ops, FS_OP_FILE, "/etc/resolv.conf", 0);
	op->content = fs_ops_own(ops, fs_etc_resolv_text(s));
	op->mode = 0644;
}

/* Over a rootfs nothing comes from the host's /etc (its loader cache,
 * alternatives and certificates belong to another tree): the generated
 * files first, then every other entry of the rootfs's own etc bound
 * read-only (or recreated, a symlink) beside them, then the defaults
 * where the rootfs has no passwd, group or nsswitch.conf. */
void fs_plan_etc_rootfs(const struct fs_spec *s, const char *src, struct fs_ops *ops)
{
	struct fs_op *op;

	fs_ops_add(ops, FS_OP_MKDIR, "/etc", 0)->mode = 0755;
	plan_generated(s, ops);
	op = fs_ops_add(ops, FS_OP_LAYER, "/etc", FS_RDONLY | FS_NOSUID | FS_NODEV | FS_REC | FS_TRY | FS_KEEP);
	op->src = src;
	op->label = "rootfs etc";
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
		op = fs_ops_add(ops, FS_OP_FILE, fixed[i].name, FS_KEEP);
		op->content = fixed[i].text;
		op->mode = 0644;
	}
}

void fs_plan_etc(const struct fs_spec *s, struct fs_ops *ops)
{
	struct fs_op *op;

	fs_ops_add(ops, FS_OP_MKDIR, "/etc", 0)->mode = 0755;
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
		op = fs_ops_add(ops, FS_OP_FILE, fixed[i].name, 0);
		op->content = fixed[i].text;
		op->mode = 0644;
	}
	plan_generated(s, ops);
	/* the host's path, read on the host's side (its os-release is often
	 * a link into /usr/lib): nothing the container controls */
	for (size_t i = 0; i < ARRAY_SIZE(etc_copies); i++) {
		op = fs_ops_add(ops, FS_OP_FILE, fs_ops_own(ops, xasprintf("/etc/%s", etc_copies[i].name)),
				FS_TRY | FS_KEEP);
		op->src = etc_copies[i].src;
		op->mode = 0644;
	}
	/* /etc/localtime and friends: a symlink is copied as the link itself */
	for (size_t i = 0; i < ARRAY_SIZE(etc_binds); i++)
		fs_ops_add(ops, FS_OP_BIND, etc_binds[i],
			   FS_RDONLY | FS_NOSUID | FS_NODEV | FS_REC | FS_TRY | FS_KEEP_LINK)->src = etc_binds[i];
}
