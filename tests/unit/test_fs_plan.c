/* The filesystem's op list without the system: what fs_plan makes of a
 * spec (which ops, in which order, with which flags, sizes and contents)
 * for the usual runs: no context, a copied or bound context, --allow-exec
 * on /tmp and on subtrees, DNS and hosts lines, a user namespace, the
 * chroot fallback, a writable /proc. And a few small op lists run by the
 * interpreter in a mount namespace of their own (skipped where one cannot
 * be made): a symlink in the tree never redirects a mount, a read-only
 * bind and a masked directory are what they say. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <nucleus/filesystem.h>
#include "../../src/filesystem/fs_internal.h"
#include "../../src/filesystem/mount.h"

#define RO_BIND (FS_RDONLY | FS_NOSUID | FS_NODEV | FS_REC)

static struct fs_spec base_spec(void)
{
	return (struct fs_spec){
		.staging = "/nonexistent/staging", .context_fd = -1, .context_mount_fd = -1, .secrets_mount_fd = -1,
		.tmpfs_size = 1ull << 30, .hostname = "box",
	};
}

static void plan(const struct fs_spec *s, struct fs_ops *ops)
{
	struct nerr e = { 0 };

	assert_int_equal(fs_plan(s, ops, &e), 0);
	assert_true(ops->n > 0);
}

/* The index of the op of `kind` on `dst`, -1 if none; a second one is a
 * failure unless `nth` asks for it. */
static ssize_t find_nth(const struct fs_ops *ops, enum fs_op_kind kind, const char *dst, int nth)
{
	for (size_t i = 0; i < ops->n; i++)
		if (ops->v[i].kind == kind && !strcmp(ops->v[i].dst, dst) && nth-- == 0)
			return (ssize_t)i;
	return -1;
}

static const struct fs_op *find(const struct fs_ops *ops, enum fs_op_kind kind, const char *dst)
{
	ssize_t i = find_nth(ops, kind, dst, 0);

	if (i < 0)
		fail_msg("no %d op on %s", kind, dst);
	assert_int_equal(find_nth(ops, kind, dst, 1), -1);
	return &ops->v[i];
}

static size_t count(const struct fs_ops *ops, enum fs_op_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < ops->n; i++)
		n += ops->v[i].kind == kind;
	return n;
}

static size_t pos(const struct fs_ops *ops, const struct fs_op *op)
{
	return (size_t)(op - ops->v);
}

/* The whole plan of a plain run, as the debug log shows it. */
static void test_plain_sequence(void **state)
{
	static const char *const want[] = {
		"tmpfs / mode=0755 size=4194304 inodes=4096 nosuid nodev",
		"bind /bin src=/bin ro nosuid nodev rec try keep-link dir-only",
		"bind /sbin src=/sbin ro nosuid nodev rec try keep-link dir-only",
		"bind /usr src=/usr ro nosuid nodev rec try keep-link dir-only",
		"bind /lib src=/lib ro nosuid nodev rec try keep-link dir-only",
		"bind /lib64 src=/lib64 ro nosuid nodev rec try keep-link dir-only",
		"bind /lib32 src=/lib32 ro nosuid nodev rec try keep-link dir-only",
		"bind /libx32 src=/libx32 ro nosuid nodev rec try keep-link dir-only",
		"bind /nix src=/nix ro nosuid nodev rec try keep-link dir-only",
		"mkdir /etc mode=0755",
		"file /etc/passwd mode=0644",
		"file /etc/group mode=0644",
		"file /etc/nsswitch.conf mode=0644",
		"file /etc/hosts mode=0644",
		"file /etc/hostname mode=0644",
		"file /etc/resolv.conf mode=0644",
		"file /etc/services src=/etc/services mode=0644 try keep",
		"file /etc/protocols src=/etc/protocols mode=0644 try keep",
		"file /etc/os-release src=/etc/os-release mode=0644 try keep",
		"file /etc/os-release src=/usr/lib/os-release mode=0644 try keep",
		"bind /etc/ld.so.cache src=/etc/ld.so.cache ro nosuid nodev rec try keep-link",
		"bind /etc/alternatives src=/etc/alternatives ro nosuid nodev rec try keep-link",
		"bind /etc/ssl/certs src=/etc/ssl/certs ro nosuid nodev rec try keep-link",
		"bind /etc/pki/tls/certs src=/etc/pki/tls/certs ro nosuid nodev rec try keep-link",
		"bind /etc/localtime src=/etc/localtime ro nosuid nodev rec try keep-link",
		"tmpfs /tmp mode=1777 size=1073741824 nosuid nodev noexec",
		"dev /dev",
		"proc /proc mode=0555 nosuid nodev noexec",
		"bind /proc/sys src=/proc/sys ro nosuid nodev rec try src-in-root",
		"bind /proc/bus src=/proc/bus ro nosuid nodev rec try src-in-root",
		"bind /proc/irq src=/proc/irq ro nosuid nodev rec try src-in-root",
		"bind /proc/fs src=/proc/fs ro nosuid nodev rec try src-in-root",
		"mask /proc/kcore src=/dev/null try src-in-root",
		"mask /proc/kallsyms src=/dev/null try src-in-root",
		"mask /proc/keys src=/dev/null try src-in-root",
		"mask /proc/key-users src=/dev/null try src-in-root",
		"mask /proc/sysrq-trigger src=/dev/null try src-in-root",
		"mask /proc/timer_list src=/dev/null try src-in-root",
		"mask /proc/timer_stats src=/dev/null try src-in-root",
		"mask /proc/sched_debug src=/dev/null try src-in-root",
		"mask /proc/latency_stats src=/dev/null try src-in-root",
		"mask /proc/kpagecount src=/dev/null try src-in-root",
		"mask /proc/kpageflags src=/dev/null try src-in-root",
		"mask /proc/kpagecgroup src=/dev/null try src-in-root",
		"mask /proc/config.gz src=/dev/null try src-in-root",
		"mask /proc/vmcore src=/dev/null try src-in-root",
		"mask /proc/acpi src=/dev/null try src-in-root",
		"mask /proc/asound src=/dev/null try src-in-root",
		"mask /proc/scsi src=/dev/null try src-in-root",
		"mask /proc/firmware src=/dev/null try src-in-root",
		"remount / ro nosuid nodev",
		"pivot /",
	};
	struct fs_spec s = base_spec();
	struct fs_ops ops;

	(void)state;
	plan(&s, &ops);
	for (size_t i = 0; i < ops.n && i < ARRAY_SIZE(want); i++) {
		_cleanup_free_ char *d = fs_op_describe(&ops.v[i]);

		if (strcmp(d, want[i]))
			fail_msg("op %zu: `%s`, expected `%s`", i, d, want[i]);
	}
	assert_int_equal(ops.n, ARRAY_SIZE(want));
	/* the fixed files' contents */
	assert_string_equal(find(&ops, FS_OP_FILE, "/etc/passwd")->content,
			    "root:x:0:0:root:/root:/bin/sh\n"
			    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
	assert_string_equal(find(&ops, FS_OP_FILE, "/etc/group")->content, "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n");
	assert_string_equal(find(&ops, FS_OP_FILE, "/etc/hostname")->content, "box\n");
	/* nothing of a context, no fds */
	for (size_t i = 0; i < ops.n; i++) {
		assert_int_equal(ops.v[i].fd, -1);
		assert_false(str_has_prefix(ops.v[i].dst, "/context"));
	}
	fs_ops_free(&ops);
	assert_null(ops.v);
}

/* As root the supervisor made the copy: it is attached after /tmp. */
static void test_context_copy_attached(void **state)
{
	struct fs_spec s = base_spec();
	struct fs_ops ops;
	const struct fs_op *tmp, *ctx, *dev;

	(void)state;
	s.context_fd = 5;
	s.context_mount_fd = 7;
	s.context_path = "/home/u/project";
	plan(&s, &ops);
	tmp = find(&ops, FS_OP_TMPFS, "/tmp");
	ctx = find(&ops, FS_OP_ATTACH, "/context");
	dev = find(&ops, FS_OP_DEV, "/dev");
	assert_int_equal(pos(&ops, ctx), pos(&ops, tmp) + 1);
	assert_int_equal(pos(&ops, dev), pos(&ops, ctx) + 1);
	assert_int_equal(ctx->fd, 7);
	assert_int_equal(ctx->flags, 0);
	/* neither copied again nor bound */
	assert_int_equal(count(&ops, FS_OP_COPY), 0);
	assert_int_equal(find_nth(&ops, FS_OP_BIND, "/context", 0), -1);
	assert_int_equal(find_nth(&ops, FS_OP_TMPFS, "/context", 0), -1);
	/* /tmp stays noexec */
	assert_int_equal(tmp->flags & FS_NOEXEC, FS_NOEXEC);
	fs_ops_free(&ops);
}

/* An ordinary user's child copies: a tmpfs of its own, then the copy into it,
 * capped at what it holds plus --tmpfs-size. */
static void test_context_copy_by_child(void **state)
{
	struct fs_spec s = base_spec();
	struct copy_skipped skipped;
	struct fs_ops ops;
	const struct fs_op *t, *c;

	(void)state;
	s.context_fd = 5;
	s.context_path = "/home/u/project";
	s.tmpfs_size = 64 << 20;
	s.copy_skipped = &skipped;
	plan(&s, &ops);
	t = find(&ops, FS_OP_TMPFS, "/context");
	c = find(&ops, FS_OP_COPY, "/context");
	assert_int_equal(pos(&ops, c), pos(&ops, t) + 1);
	assert_int_equal(pos(&ops, t), pos(&ops, find(&ops, FS_OP_TMPFS, "/tmp")) + 1);
	assert_int_equal(t->flags, FS_NOSUID | FS_NODEV | FS_NOEXEC);
	assert_int_equal(t->mode, 0755);
	assert_int_equal(t->size, 0);       /* capped after the copy */
	assert_int_equal(c->fd, 5);
	assert_int_equal(c->size, 64 << 20);
	assert_ptr_equal(c->skipped, &skipped);
	assert_int_equal(find(&ops, FS_OP_TMPFS, "/tmp")->size, 64 << 20);
	fs_ops_free(&ops);
}

/* A bound context: read-only, noexec, and checked against the fd. */
static void test_context_bind(void **state)
{
	struct fs_spec s = base_spec();
	struct fs_ops ops;
	const struct fs_op *b;

	(void)state;
	s.context_fd = 5;
	s.context_mode = CONTEXT_BIND;
	s.context_path = "/home/u/project";
	plan(&s, &ops);
	b = find(&ops, FS_OP_BIND, "/context");
	assert_string_equal(b->src, "/home/u/project");
	assert_int_equal(b->flags, RO_BIND | FS_NOEXEC);
	assert_int_equal(b->fd, 5);
	assert_string_equal(b->label, "context");
	assert_int_equal(pos(&ops, b), pos(&ops, find(&ops, FS_OP_TMPFS, "/tmp")) + 1);
	assert_int_equal(count(&ops, FS_OP_COPY) + count(&ops, FS_OP_ATTACH), 0);
	fs_ops_free(&ops);

	/* --allow-exec /context: the same bind without noexec */
	char *exec[] = { "/context", NULL };
	s.exec_paths = exec;
	plan(&s, &ops);
	assert_int_equal(find(&ops, FS_OP_BIND, "/context")->flags, RO_BIND);
	assert_int_equal(count(&ops, FS_OP_EXEC), 0);
	fs_ops_free(&ops);
}

/* --allow-exec /tmp makes the tmpfs executable; subtrees are EXEC ops after
 * the context, created where the workspace is writable. */
static void test_allow_exec(void **state)
{
	char *exec[] = { "/tmp", "/context/bin", "/context/a/b", NULL };
	struct fs_spec s = base_spec();
	struct fs_ops ops;
	const struct fs_op *e1, *e2;

	(void)state;
	s.context_fd = 5;
	s.context_mount_fd = 7;
	s.exec_paths = exec;
	plan(&s, &ops);
	assert_int_equal(find(&ops, FS_OP_TMPFS, "/tmp")->flags, FS_NOSUID | FS_NODEV);
	assert_int_equal(count(&ops, FS_OP_EXEC), 2);
	e1 = find(&ops, FS_OP_EXEC, "/context/bin");
	e2 = find(&ops, FS_OP_EXEC, "/context/a/b");
	assert_int_equal(pos(&ops, e1), pos(&ops, find(&ops, FS_OP_ATTACH, "/context")) + 1);
	assert_int_equal(pos(&ops, e2), pos(&ops, e1) + 1);
	assert_int_equal(pos(&ops, find(&ops, FS_OP_DEV, "/dev")), pos(&ops, e2) + 1);
	assert_int_equal(e1->flags, FS_MKDIRS);    /* a copy is writable */
	fs_ops_free(&ops);

	/* a bound context is not: its subtrees must exist; /tmp's are made */
	char *exec2[] = { "/tmp/tools", "/context/bin", NULL };
	s.exec_paths = exec2;
	s.context_mode = CONTEXT_BIND;
	s.context_path = "/home/u/project";
	plan(&s, &ops);
	assert_int_equal(find(&ops, FS_OP_TMPFS, "/tmp")->flags, FS_NOSUID | FS_NODEV | FS_NOEXEC);
	assert_int_equal(find(&ops, FS_OP_EXEC, "/tmp/tools")->flags, FS_MKDIRS);
	assert_int_equal(find(&ops, FS_OP_EXEC, "/context/bin")->flags, 0);
	assert_int_equal(find(&ops, FS_OP_BIND, "/context")->flags, RO_BIND | FS_NOEXEC);
	fs_ops_free(&ops);
}

static void test_hosts_and_dns(void **state)
{
	char *dns[] = { "10.0.42.1", "1.1.1.1", NULL };
	char *search[] = { "example.com", "corp", NULL };
	char *extra[] = { "1.2.3.4\tdb", NULL };
	char *self[] = { "10.0.42.5\tbox", "fd00::5\tbox", NULL };
	struct fs_spec s = base_spec();
	struct fs_ops ops;

	(void)state;
	/* the defaults: 127.0.1.1 names the container, no resolver */
	plan(&s, &ops);
	assert_string_equal(find(&ops, FS_OP_FILE, "/etc/hosts")->content,
			    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tbox\n");
	assert_string_equal(find(&ops, FS_OP_FILE, "/etc/resolv.conf")->content, "");
	fs_ops_free(&ops);

	s.dns = dns;
	s.dns_search = search;
	s.extra_hosts = extra;
	s.self_hosts = self;
	plan(&s, &ops);
	assert_string_equal(find(&ops, FS_OP_FILE, "/etc/hosts")->content,
			    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
			    "10.0.42.5\tbox\nfd00::5\tbox\n1.2.3.4\tdb\n");
	assert_string_equal(find(&ops, FS_OP_FILE, "/etc/resolv.conf")->content,
			    "nameserver 10.0.42.1\nnameserver 1.1.1.1\nsearch example.com corp\n");
	assert_int_equal(find(&ops, FS_OP_FILE, "/etc/resolv.conf")->mode, 0644);
	fs_ops_free(&ops);

	/* --hosts-file: the network's file attached in place of the
	 * generated one (its lines are the supervisors'), over a rootfs too */
	s.hosts_mount = true;
	s.hosts_mount_fd = 42;
	plan(&s, &ops);
	assert_int_equal(find_nth(&ops, FS_OP_FILE, "/etc/hosts", 0), -1);
	assert_int_equal(find(&ops, FS_OP_ATTACH, "/etc/hosts")->fd, 42);
	assert_true(pos(&ops, find(&ops, FS_OP_MKDIR, "/etc")) < pos(&ops, find(&ops, FS_OP_ATTACH, "/etc/hosts")));
	fs_ops_free(&ops);
	ops = (struct fs_ops){ 0 };
	fs_plan_etc_rootfs(&s, "/.nucleus-rootfs/etc", &ops);
	assert_int_equal(find_nth(&ops, FS_OP_FILE, "/etc/hosts", 0), -1);
	assert_int_equal(find(&ops, FS_OP_ATTACH, "/etc/hosts")->fd, 42);
	fs_ops_free(&ops);
}

/* Only /dev knows about the user namespace; the rest of the plan is the same. */
static void test_userns(void **state)
{
	struct fs_spec s = base_spec();
	struct fs_ops a, b;

	(void)state;
	plan(&s, &a);
	s.userns = true;
	plan(&s, &b);
	assert_int_equal(find(&a, FS_OP_DEV, "/dev")->flags, 0);
	assert_int_equal(find(&b, FS_OP_DEV, "/dev")->flags, FS_USERNS);
	assert_int_equal(a.n, b.n);
	for (size_t i = 0; i < a.n; i++) {
		_cleanup_free_ char *x = fs_op_describe(&a.v[i]);
		_cleanup_free_ char *y = fs_op_describe(&b.v[i]);

		if (a.v[i].kind != FS_OP_DEV)
			assert_string_equal(x, y);
	}
	fs_ops_free(&a);
	fs_ops_free(&b);
}

static void test_chroot_fallback(void **state)
{
	struct fs_spec s = base_spec();
	struct fs_ops ops;

	(void)state;
	s.allow_chroot = true;
	plan(&s, &ops);
	assert_int_equal(ops.v[ops.n - 1].kind, FS_OP_PIVOT);
	assert_int_equal(ops.v[ops.n - 1].flags, FS_CHROOT);
	/* the root is made read-only just before */
	assert_int_equal(ops.v[ops.n - 2].kind, FS_OP_REMOUNT);
	assert_string_equal(ops.v[ops.n - 2].dst, "/");
	fs_ops_free(&ops);
}

/* A writable /proc: no read-only binds, nothing masked. */
static void test_proc_rw(void **state)
{
	struct fs_spec s = base_spec();
	struct fs_ops ops;
	const struct fs_op *p;

	(void)state;
	s.proc_rw = true;
	plan(&s, &ops);
	p = find(&ops, FS_OP_PROC, "/proc");
	assert_int_equal(count(&ops, FS_OP_MASK), 0);
	assert_int_equal(ops.v[pos(&ops, p) + 1].kind, FS_OP_REMOUNT);
	assert_null(p->options);
	fs_ops_free(&ops);
}

/* hidepid: the /proc op carries the option; none by default. */
static void test_proc_hidepid(void **state)
{
	struct fs_spec s = base_spec();
	struct fs_ops ops;

	(void)state;
	plan(&s, &ops);
	assert_null(find(&ops, FS_OP_PROC, "/proc")->options);
	fs_ops_free(&ops);
	s.proc_hidepid = 2;
	plan(&s, &ops);
	assert_string_equal(find(&ops, FS_OP_PROC, "/proc")->options, "hidepid=invisible");
	/* still masked and read-only where it was */
	assert_true(count(&ops, FS_OP_MASK) > 0);
	fs_ops_free(&ops);
}

static int audit_text(const struct fs_spec *s, const char *text, struct nerr *e)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int r;

	assert_non_null(f);
	r = fs_audit_mountinfo(s, f, e);
	fclose(f);
	return r;
}

#define MI_ROOT "100 1 0:40 / / ro,nosuid,nodev,relatime - tmpfs tmpfs ro,size=1024k\n"
#define MI_PROC(super) "101 100 0:41 / /proc rw,nosuid,nodev,noexec,relatime - proc proc " super "\n"

/* The audit reads hidepid from /proc's superblock options: a /proc
 * without it (a kernel that dropped it), or no /proc at all, is refused
 * when it was asked for. */
static void test_audit_proc_hidepid(void **state)
{
	struct fs_spec s = base_spec();
	struct nerr e = { 0 };

	(void)state;
	assert_int_equal(audit_text(&s, MI_ROOT MI_PROC("rw"), &e), 0);
	s.proc_hidepid = 2;
	assert_int_equal(audit_text(&s, MI_ROOT MI_PROC("rw,hidepid=invisible"), &e), 0);
	assert_int_equal(audit_text(&s, MI_ROOT "101 100 0:41 / /proc rw,nosuid,nodev,noexec shared:5 - proc proc rw,hidepid=invisible,subset=pid\n", &e), 0);
	assert_int_equal(audit_text(&s, MI_ROOT MI_PROC("rw"), &e), -EPERM);
	assert_non_null(strstr(e.msg, "hidepid=invisible"));
	assert_int_equal(audit_text(&s, MI_ROOT MI_PROC("rw,hidepid=noaccess"), &e), -EPERM);
	/* the mount's own options do not count, only the superblock's */
	assert_int_equal(audit_text(&s, MI_ROOT "101 100 0:41 / /proc rw,nosuid,nodev,noexec,hidepid=invisible - proc proc rw\n", &e), -EPERM);
	assert_int_equal(audit_text(&s, MI_ROOT, &e), -EPERM);
	assert_non_null(strstr(e.msg, "no /proc"));
	/* the other checks still run first */
	assert_int_equal(audit_text(&s, "100 1 0:40 / / rw,nosuid,nodev - tmpfs tmpfs rw\n" MI_PROC("rw,hidepid=invisible"), &e), -EPERM);
	assert_non_null(strstr(e.msg, "`/` is writable"));
}

/* --volume and --tmpfs: after /tmp and the context, before /dev, parents
 * before what is mounted beneath them; the supervisor's clones attached,
 * or (not root) the paths bound with the volume's attributes and checked
 * against the fds; every tmpfs sized, noexec unless exec. */
static void test_volumes_and_tmpfs(void **state)
{
	struct fs_volume vols[] = {
		{ .src = "/srv/data", .dest = "/data/sub", .access = FS_VOLUME_RW },
		{ .src = "/srv/conf", .dest = "/conf", .access = FS_VOLUME_RO, .exec = true },
		{ .src = "/srv/f", .dest = "/data-file", .access = FS_VOLUME_DEFAULT },
	};
	struct fs_tmpfs tmps[] = {
		{ .dest = "/data", .size = 1 << 20, .mode = 0700 },
		{ .dest = "/scratch", .size = 64 << 20, .mode = 01777, .exec = true },
	};
	int fds[] = { 10, 11, 12 };
	struct fs_spec s = base_spec();
	struct fs_ops ops;
	const struct fs_op *op;
	_cleanup_free_ char *d = NULL;

	(void)state;
	s.volumes = vols;
	s.n_volumes = 3;
	s.volume_fds = fds;
	s.volume_clones = true;
	s.tmpfs = tmps;
	s.n_tmpfs = 2;
	plan(&s, &ops);
	/* sorted by destination: /conf /data /data-file /data/sub /scratch */
	ssize_t conf = find_nth(&ops, FS_OP_ATTACH, "/conf", 0), data = find_nth(&ops, FS_OP_TMPFS, "/data", 0);
	ssize_t file = find_nth(&ops, FS_OP_ATTACH, "/data-file", 0), sub = find_nth(&ops, FS_OP_ATTACH, "/data/sub", 0);
	ssize_t scratch = find_nth(&ops, FS_OP_TMPFS, "/scratch", 0);
	assert_true(conf >= 0 && data == conf + 1 && file == data + 1 && sub == file + 1 && scratch == sub + 1);
	assert_true((size_t)conf > pos(&ops, find(&ops, FS_OP_TMPFS, "/tmp")));
	assert_true((size_t)scratch < pos(&ops, find(&ops, FS_OP_DEV, "/dev")));
	assert_int_equal(ops.v[conf].fd, 11);
	assert_int_equal(ops.v[sub].fd, 10);
	assert_int_equal(ops.v[file].fd, 12);
	assert_string_equal(ops.v[sub].label, "volume");
	op = &ops.v[data];
	d = fs_op_describe(op);
	assert_string_equal(d, "tmpfs /data mode=0700 size=1048576 nosuid nodev noexec");
	free(d);
	d = fs_op_describe(&ops.v[scratch]);
	assert_string_equal(d, "tmpfs /scratch mode=1777 size=67108864 nosuid nodev");
	fs_ops_free(&ops);

	/* not root: the paths bound, each with its attributes, checked */
	s.volume_clones = false;
	plan(&s, &ops);
	op = find(&ops, FS_OP_BIND, "/data/sub");
	free(d);
	d = fs_op_describe(op);
	assert_string_equal(d, "bind /data/sub src=/srv/data nosuid nodev noexec rec");
	assert_int_equal(op->fd, 10);
	free(d);
	d = fs_op_describe(find(&ops, FS_OP_BIND, "/conf"));
	assert_string_equal(d, "bind /conf src=/srv/conf ro nosuid nodev rec");
	free(d);
	/* not settled by a mode: read-only */
	d = fs_op_describe(find(&ops, FS_OP_BIND, "/data-file"));
	assert_string_equal(d, "bind /data-file src=/srv/f ro nosuid nodev noexec rec");
	assert_int_equal(count(&ops, FS_OP_ATTACH), 0);
	fs_ops_free(&ops);
}

/* The audit takes a rw volume (and what is mounted beneath it) and a
 * tmpfs mount as writable, an exec one as executable, and nothing more:
 * a read-only volume found writable, or a noexec one executable, fails. */
static void test_audit_volumes(void **state)
{
	struct fs_volume vols[] = {
		{ .src = "/srv/a", .dest = "/a", .access = FS_VOLUME_RW },
		{ .src = "/srv/b", .dest = "/b", .access = FS_VOLUME_RO },
		{ .src = "/srv/c", .dest = "/c", .access = FS_VOLUME_RW, .exec = true },
	};
	struct fs_tmpfs tmps[] = { { .dest = "/t", .size = 4096, .mode = 01777 } };
	struct fs_spec s = base_spec();
	struct nerr e = { 0 };

	(void)state;
	s.volumes = vols;
	s.n_volumes = 3;
	s.tmpfs = tmps;
	s.n_tmpfs = 1;
#define MI(mnt, opts) "110 100 0:50 / " mnt " " opts " - ext4 /dev/sda1 rw\n"
	assert_int_equal(audit_text(&s, MI_ROOT MI("/a", "rw,nosuid,nodev,noexec") MI("/a/sub", "rw,nosuid,nodev,noexec")
				    MI("/b", "ro,nosuid,nodev,noexec") MI("/c", "rw,nosuid,nodev")
				    MI("/t", "rw,nosuid,nodev,noexec"), &e), 0);
	assert_int_equal(audit_text(&s, MI_ROOT MI("/b", "rw,nosuid,nodev,noexec"), &e), -EPERM);
	assert_non_null(strstr(e.msg, "`/b` is writable"));
	assert_int_equal(audit_text(&s, MI_ROOT MI("/a", "rw,nosuid,nodev"), &e), -EPERM);
	assert_non_null(strstr(e.msg, "`/a` allows execution"));
	assert_int_equal(audit_text(&s, MI_ROOT MI("/t", "rw,nosuid,nodev"), &e), -EPERM);
	assert_int_equal(audit_text(&s, MI_ROOT MI("/c", "rw,nodev"), &e), -EPERM);
	assert_non_null(strstr(e.msg, "setuid"));
	/* a prefix is not a parent */
	assert_int_equal(audit_text(&s, MI_ROOT MI("/ab", "rw,nosuid,nodev,noexec"), &e), -EPERM);
#undef MI
}

/* The op lists below run in a child with a mount namespace of its own;
 * its exit status is the number of the first check that failed, 77: no
 * namespace could be made. */
struct exec_dirs {
	char base[64], root[80], outside[80], src[80], file[96];
};

static void exec_dirs_make(struct exec_dirs *d)
{
	snprintf(d->base, sizeof(d->base), "/tmp/fsexec-XXXXXX");
	assert_non_null(mkdtemp(d->base));
	snprintf(d->root, sizeof(d->root), "%s/root", d->base);
	snprintf(d->outside, sizeof(d->outside), "%s/outside", d->base);
	snprintf(d->src, sizeof(d->src), "%s/src", d->base);
	snprintf(d->file, sizeof(d->file), "%s/src/f", d->base);
	assert_int_equal(mkdir(d->root, 0755), 0);
	assert_int_equal(mkdir(d->outside, 0755), 0);
	assert_int_equal(mkdir(d->src, 0755), 0);
	close(open(d->file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
}

static void exec_dirs_remove(struct exec_dirs *d)
{
	unlink(d->file);
	rmdir(d->src);
	rmdir(d->outside);
	rmdir(d->root);
	rmdir(d->base);
}

static bool write_proc(const char *file, const char *text)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC);
	bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	if (fd >= 0)
		close(fd);
	return ok;
}

static int run_in_ns(int (*body)(struct exec_dirs *), struct exec_dirs *d)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char uid_map[32], gid_map[32];

		/* an ordinary user: root of a user namespace of its own */
		snprintf(uid_map, sizeof(uid_map), "0 %u 1", (unsigned)getuid());
		snprintf(gid_map, sizeof(gid_map), "0 %u 1", (unsigned)getgid());
		if (unshare(CLONE_NEWNS) < 0 &&
		    (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 || !write_proc("/proc/self/setgroups", "deny") ||
		     !write_proc("/proc/self/uid_map", uid_map) || !write_proc("/proc/self/gid_map", gid_map)))
			_exit(77);
		_exit(body(d));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static struct fs_op *exec_root(struct fs_ops *ops)
{
	struct fs_op *op = fs_ops_add(ops, FS_OP_TMPFS, "/", FS_NOSUID | FS_NODEV);

	op->mode = 0755;
	op->size = 1 << 20;
	return op;
}

static int symlink_body(struct exec_dirs *d)
{
	struct fs_ops ops = { 0 };
	struct nerr e = { 0 };
	struct stat before, after;
	int r;

	exec_root(&ops);
	fs_ops_add(&ops, FS_OP_SYMLINK, "/evil", 0)->src = d->outside;
	fs_ops_add(&ops, FS_OP_TMPFS, "/evil", FS_NOSUID | FS_NODEV)->mode = 0755;
	if (stat(d->outside, &before) < 0)
		return 1;
	r = fs_ops_execute(&ops, d->root, &e);
	fs_ops_free(&ops);
	if (r != -ELOOP)
		return 2;
	if (!strstr(e.msg, "/evil"))
		return 3;
	/* nothing was mounted on the host's directory */
	if (stat(d->outside, &after) < 0 || after.st_dev != before.st_dev || after.st_ino != before.st_ino)
		return 4;
	return 0;
}

/* A mount point that is a symlink to a host directory: the op fails and
 * nothing is mounted on the host's side. */
static void test_execute_symlink_never_redirects_a_mount(void **state)
{
	struct exec_dirs d;
	int r;

	(void)state;
	exec_dirs_make(&d);
	r = run_in_ns(symlink_body, &d);
	exec_dirs_remove(&d);
	if (r == 77)
		skip();
	assert_int_equal(r, 0);
}

static int readonly_body(struct exec_dirs *d)
{
	struct fs_ops ops = { 0 };
	struct nerr e = { 0 };
	struct statvfs sv;
	struct stat sb;
	char path[160];
	int r, fd;

	exec_root(&ops);
	fs_ops_add(&ops, FS_OP_BIND, "/ro", FS_RDONLY | FS_NOSUID | FS_NODEV | FS_REC)->src = d->src;
	fs_ops_add(&ops, FS_OP_MKDIR, "/masked", 0)->mode = 0755;
	fs_ops_add(&ops, FS_OP_MASK, "/masked", FS_TRY | FS_SRC_IN_ROOT)->src = "/dev/null";
	fs_ops_add(&ops, FS_OP_REMOUNT, "/", FS_RDONLY | FS_NOSUID | FS_NODEV);
	r = fs_ops_execute(&ops, d->root, &e);
	fs_ops_free(&ops);
	if (r < 0) {
		fprintf(stderr, "fs_ops_execute: %s\n", e.msg);
		return 1;
	}
	/* the bind: the source's file, read-only with its attributes */
	snprintf(path, sizeof(path), "%s/ro/f", d->root);
	if (access(path, F_OK) < 0)
		return 2;
	snprintf(path, sizeof(path), "%s/ro/new", d->root);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) >= 0 || errno != EROFS)
		return 3;
	snprintf(path, sizeof(path), "%s/ro", d->root);
	if (statvfs(path, &sv) < 0 || (sv.f_flag & (ST_RDONLY | ST_NOSUID | ST_NODEV)) !=
	    (ST_RDONLY | ST_NOSUID | ST_NODEV) || (sv.f_flag & ST_NOEXEC))
		return 4;
	/* the masked directory: an empty read-only tmpfs, mode 0555 */
	snprintf(path, sizeof(path), "%s/masked", d->root);
	if (statvfs(path, &sv) < 0 || !(sv.f_flag & ST_RDONLY) || !(sv.f_flag & ST_NOEXEC) ||
	    stat(path, &sb) < 0 || (sb.st_mode & 07777) != 0555)
		return 5;
	/* the root: exactly read-only, nosuid, nodev */
	if (statvfs(d->root, &sv) < 0 || (sv.f_flag & (ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC)) !=
	    (ST_RDONLY | ST_NOSUID | ST_NODEV))
		return 6;
	return 0;
}

/* A read-only bind, a masked directory and the root made read-only have
 * exactly the attributes asked for. */
static void test_execute_readonly_bind_and_mask(void **state)
{
	struct exec_dirs d;
	int r;

	(void)state;
	exec_dirs_make(&d);
	r = run_in_ns(readonly_body, &d);
	exec_dirs_remove(&d);
	if (r == 77)
		skip();
	assert_int_equal(r, 0);
}

static int rootfs_check(int tree, int store, void *arg, struct nerr *err);

/* --rootfs: the clone attached out of the way, its entries layered into
 * the root except what nucleus provides, the closure on a tmpfs at
 * /nix/store then made read-only, /etc generated first, the rootfs's
 * own etc under it, defaults last, the clone let go; nothing of the
 * host's directories or /etc. */
static void test_rootfs_sequence(void **state)
{
	static const char *const want[] = {
		"tmpfs / mode=0755 size=4194304 inodes=4096 nosuid nodev",
		"attach /.nucleus-rootfs",
		"layer / src=/.nucleus-rootfs skip=.nucleus-rootfs,etc,tmp,dev,proc,context,nix ro nosuid nodev rec",
		"tmpfs /nix/store mode=0755 size=1056768 inodes=18 nosuid nodev",
		"attach /nix/store/aaa-tools",
		"symlink /nix/store/bbb-link src=aaa-tools",
		"remount /nix/store ro nosuid nodev",
		"check /.nucleus-rootfs src=/nix/store",
		"mkdir /etc mode=0755",
		"file /etc/hosts mode=0644",
		"file /etc/hostname mode=0644",
		"file /etc/resolv.conf mode=0644",
		"layer /etc src=/.nucleus-rootfs/etc ro nosuid nodev rec try keep",
		"file /etc/passwd mode=0644 keep",
		"file /etc/group mode=0644 keep",
		"file /etc/nsswitch.conf mode=0644 keep",
		"detach /.nucleus-rootfs",
		"tmpfs /tmp mode=1777 size=1073741824 nosuid nodev noexec",
		"dev /dev",
	};
	struct fs_store_path store[] = {
		{ .name = "aaa-tools", .fd = 41 },
		{ .name = "bbb-link", .fd = -1, .link = "aaa-tools" },
	};
	struct fs_rootfs rf = { .tree_fd = 40, .has_store = true, .store = store, .n_store = 2 };
	struct fs_spec s = base_spec();
	struct fs_ops ops;

	(void)state;
	s.rootfs = &rf;
	s.rootfs_check = rootfs_check;
	plan(&s, &ops);
	for (size_t i = 0; i < ops.n && i < ARRAY_SIZE(want); i++) {
		_cleanup_free_ char *d = fs_op_describe(&ops.v[i]);

		if (strcmp(d, want[i]))
			fail_msg("op %zu: `%s`, expected `%s`", i, d, want[i]);
	}
	assert_int_equal(find(&ops, FS_OP_ATTACH, "/.nucleus-rootfs")->fd, 40);
	assert_int_equal(find(&ops, FS_OP_ATTACH, "/nix/store/aaa-tools")->fd, 41);
	/* nothing of the host: no bind by a host path, no host /etc file */
	for (size_t i = 0; i < ops.n; i++) {
		if (ops.v[i].kind == FS_OP_BIND)
			assert_true(ops.v[i].flags & FS_SRC_IN_ROOT);
		if (ops.v[i].kind == FS_OP_FILE)
			assert_null(ops.v[i].src);
	}
	assert_int_equal(find_nth(&ops, FS_OP_FILE, "/etc/services", 0), -1);
	/* the root still made read-only and entered */
	assert_int_equal(ops.v[ops.n - 2].kind, FS_OP_REMOUNT);
	assert_int_equal(ops.v[ops.n - 1].kind, FS_OP_PIVOT);
	assert_ptr_equal(find(&ops, FS_OP_CHECK, "/.nucleus-rootfs")->check, rootfs_check);
	fs_ops_free(&ops);

	/* without a closure: no /nix/store, and a rootfs's /nix is its own;
	 * without a check, no check op */
	s.rootfs_check = NULL;
	rf.has_store = false;
	rf.n_store = 0;
	plan(&s, &ops);
	assert_int_equal(find_nth(&ops, FS_OP_TMPFS, "/nix/store", 0), -1);
	assert_int_equal(count(&ops, FS_OP_CHECK), 0);
	{
		_cleanup_free_ char *d = fs_op_describe(find(&ops, FS_OP_LAYER, "/"));
		assert_string_equal(d, "layer / src=/.nucleus-rootfs skip=.nucleus-rootfs,etc,tmp,dev,proc,context "
				    "ro nosuid nodev rec");
	}
	fs_ops_free(&ops);
}

/* Mount points are made one component at a time, each opened without
 * following a symlink: a symlink in the path (a rootfs may hold any)
 * fails with ELOOP and nothing is made where it points. */
static void test_mkdir_never_follows_a_symlink(void **state)
{
	char tmpl[] = "/tmp/test-fs-mkdir.XXXXXX", outside[] = "/tmp/test-fs-outside.XXXXXX";
	char path[128];
	struct nerr e = { 0 };
	struct stat sb;
	int dir;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	assert_non_null(mkdtemp(outside));
	assert_true((dir = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0);
	assert_int_equal(symlinkat(outside, dir, "link"), 0);
	assert_int_equal(fs_mkdir_at(dir, "link/sub", 0755, &e), -ELOOP);
	assert_non_null(strstr(e.msg, "/link"));
	assert_int_equal(fs_mkdir_at(dir, "a/link2/sub", 0755, &e), 0);  /* plain: made */
	assert_int_equal(symlinkat(outside, dir, "a/l"), 0);
	assert_int_equal(fs_mkparents_at(dir, "a/l/x/y", &e), -ELOOP);
	assert_int_equal(fs_mkdir_at(dir, "a/../b", 0755, &e), -EINVAL);
	/* a symlink as the last component is not followed either: mkdir
	 * finds it there and the mount that follows refuses it (above) */
	assert_int_equal(fs_mkdir_at(dir, "link", 0755, &e), 0);
	snprintf(path, sizeof(path), "%s/sub", outside);
	assert_int_equal(lstat(path, &sb), -1);
	snprintf(path, sizeof(path), "%s/x", outside);
	assert_int_equal(lstat(path, &sb), -1);
	snprintf(path, sizeof(path), "%s/a/link2/sub", tmpl);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	close(dir);
	snprintf(path, sizeof(path), "rm -rf '%s' '%s'", tmpl, outside);
	assert_int_equal(system(path), 0);
}

/* The check sees the clone: a file of the rootfs through tree_fd, no
 * store; its failure is the op's. */
static int rootfs_check_calls;
static int rootfs_check(int tree, int store, void *arg, struct nerr *err)
{
	struct stat sb;

	rootfs_check_calls++;
	if (store != -1 || fstatat(tree, "etc/passwd", &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return nerr_set(err, EINVAL, "the check saw another tree");
	return *(int *)arg ? nerr_set(err, EBADMSG, "tampered") : 0;
}

/* A rootfs's ops up to the clone's detach, run: the entries layered
 * read-only (a file, a directory, a symlink kept as a link), the names
 * nucleus provides left out even as symlinks, /etc generated over the
 * rootfs's own, the clone gone, the check run on it; a failed check
 * fails the setup. */
static int rootfs_body(struct exec_dirs *d)
{
	struct fs_rootfs rf;
	struct fs_spec s = base_spec();
	struct fs_ops ops = { 0 };
	struct nerr e = { 0 };
	char path[192], buf[64] = "";
	struct statvfs sv;
	struct stat sb;
	int fail_check = 0, r, fd;

	if (fs_rootfs_open(d->src, &rf, &e) < 0) {
		fprintf(stderr, "fs_rootfs_open: %s\n", e.msg);
		return 1;
	}
	s.rootfs = &rf;
	s.rootfs_check = rootfs_check;
	s.rootfs_check_arg = &fail_check;
	if (fs_plan(&s, &ops, &e) < 0)
		return 2;
	for (size_t i = 0; i < ops.n; i++)
		if (ops.v[i].kind == FS_OP_DETACH)
			ops.n = i + 1;
	r = fs_ops_execute(&ops, d->root, &e);
	if (r < 0) {
		fprintf(stderr, "fs_ops_execute: %s\n", e.msg);
		return 3;
	}
	if (rootfs_check_calls != 1)
		return 4;
	snprintf(path, sizeof(path), "%s/f", d->root);
	if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode) || statvfs(path, &sv) < 0 || !(sv.f_flag & ST_RDONLY))
		return 5;
	snprintf(path, sizeof(path), "%s/bin", d->root);
	if (readlink(path, buf, sizeof(buf) - 1) < 0 || strcmp(buf, "usr"))
		return 6;
	snprintf(path, sizeof(path), "%s/usr/marker", d->root);
	if (stat(path, &sb) < 0)
		return 7;
	snprintf(path, sizeof(path), "%s/tmp", d->root);
	if (lstat(path, &sb) == 0)
		return 8;    /* the rootfs's tmp -> /etc: left out */
	snprintf(path, sizeof(path), "%s/etc/passwd", d->root);
	memset(buf, 0, sizeof(buf));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || read(fd, buf, sizeof(buf) - 1) <= 0 ||
	    strcmp(buf, "rootfs\n"))
		return 9;
	close(fd);
	snprintf(path, sizeof(path), "%s/etc/hosts", d->root);
	if (stat(path, &sb) < 0)
		return 10;
	snprintf(path, sizeof(path), "%s/etc/group", d->root);   /* the default */
	if (stat(path, &sb) < 0)
		return 11;
	snprintf(path, sizeof(path), "%s" FS_ROOTFS_TREE, d->root);
	if (lstat(path, &sb) == 0)
		return 12;
	/* again on a fresh root, the check failing: so does the setup */
	fs_ops_free(&ops);
	if (umount2(d->root, MNT_DETACH) < 0)
		return 13;
	fail_check = 1;
	fs_rootfs_close(&rf);     /* the attach used the clone up */
	if (fs_rootfs_open(d->src, &rf, &e) < 0 || fs_plan(&s, &ops, &e) < 0)
		return 14;
	for (size_t i = 0; i < ops.n; i++)
		if (ops.v[i].kind == FS_OP_DETACH)
			ops.n = i + 1;
	if (fs_ops_execute(&ops, d->root, &e) != -EBADMSG || !strstr(e.msg, "tampered")) {
		fprintf(stderr, "the failed check: %s\n", e.msg);
		return 15;
	}
	fs_ops_free(&ops);
	fs_rootfs_close(&rf);
	return 0;
}

static void test_execute_rootfs(void **state)
{
	struct exec_dirs d;
	char cmd[256];
	int r;

	(void)state;
	exec_dirs_make(&d);
	snprintf(cmd, sizeof(cmd), "cd '%s' && mkdir usr etc && touch usr/marker && ln -s usr bin && "
		 "ln -s /etc tmp && echo rootfs >etc/passwd", d.src);
	assert_int_equal(system(cmd), 0);
	r = run_in_ns(rootfs_body, &d);
	snprintf(cmd, sizeof(cmd), "cd '%s' && rm -rf usr etc bin tmp", d.src);
	assert_int_equal(system(cmd), 0);
	exec_dirs_remove(&d);
	if (r == 77)
		skip();
	assert_int_equal(r, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_sequence),
		cmocka_unit_test(test_context_copy_attached),
		cmocka_unit_test(test_context_copy_by_child),
		cmocka_unit_test(test_context_bind),
		cmocka_unit_test(test_allow_exec),
		cmocka_unit_test(test_hosts_and_dns),
		cmocka_unit_test(test_userns),
		cmocka_unit_test(test_chroot_fallback),
		cmocka_unit_test(test_proc_rw),
		cmocka_unit_test(test_proc_hidepid),
		cmocka_unit_test(test_audit_proc_hidepid),
		cmocka_unit_test(test_volumes_and_tmpfs),
		cmocka_unit_test(test_audit_volumes),
		cmocka_unit_test(test_execute_symlink_never_redirects_a_mount),
		cmocka_unit_test(test_execute_readonly_bind_and_mask),
		cmocka_unit_test(test_rootfs_sequence),
				cmocka_unit_test(test_mkdir_never_follows_a_symlink),
		cmocka_unit_test(test_execute_rootfs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
