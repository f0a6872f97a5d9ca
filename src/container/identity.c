/* The workload identity: --user, --group and --additional-group resolved
 * in a passwd and a group file read directly (never through NSS, which
 * would consult the host's sources for a rootfs), with docker's rules
 * (docs/identity.md); and taken on by the child and by attach. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/capability.h>
#include <linux/openat2.h>
#include "internal.h"

/* (uid_t)-1 is "leave unchanged" to setresuid: never an id. */
#define ID_MAX 4294967294u
#define ID_FILE_MAX (16u << 20)

void identity_free(struct identity *id)
{
	free(id->user);
	free(id->group);
	strv_free(id->additional_groups);
	free(id->groups);
	free(id->home);
	memset(id, 0, sizeof(*id));
}

static void identity_clear_resolved(struct identity *id)
{
	free(id->groups);
	free(id->home);
	id->groups = NULL;
	id->home = NULL;
	id->ngroups = 0;
	id->uid = 0;
	id->gid = 0;
	id->set = false;
}

/* A numeric id: decimal digits only, as docker's Atoi takes them (no
 * sign), at most ID_MAX. -1: not a number; -ERANGE: a number too big. */
static int id_number(const char *s, uint32_t *out)
{
	uint64_t v;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return -1;
	if (parse_u64(s, 0, ID_MAX, &v) < 0)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

/* The next entry of a passwd or group file, split on ':' in place into at
 * most nf fields (the last keeps any further ':'); blank lines and
 * comments are skipped, surrounding blanks trimmed. 0 at the end. */
static size_t next_entry(char **cur, char **f, size_t nf)
{
	while (**cur) {
		char *line = *cur, *end = strchr(line, '\n');
		size_t len, n = 0;

		if (end) {
			*end = '\0';
			*cur = end + 1;
		} else {
			*cur = line + strlen(line);
		}
		line += strspn(line, " \t");
		len = strlen(line);
		while (len && strchr(" \t\r", line[len - 1]))
			line[--len] = '\0';
		if (!*line || *line == '#')
			continue;
		f[n++] = line;
		for (char *p = line; *p && n < nf; p++) {
			if (*p == ':') {
				*p = '\0';
				f[n++] = p + 1;
			}
		}
		return n;
	}
	return 0;
}

struct pw_entry {
	char *name, *home;
	uint32_t uid, gid;
};

/* The first well-formed entry with that name, or with that uid when name
 * is NULL (a malformed line matches nothing). */
static bool passwd_find(const char *text, const char *name, uint32_t uid, struct pw_entry *out)
{
	_cleanup_free_ char *buf = xstrdup(text);
	char *cur = buf, *f[7];
	size_t n;

	while ((n = next_entry(&cur, f, 7))) {
		uint32_t u, g;

		if (n < 4 || !*f[0] || id_number(f[2], &u) < 0 || id_number(f[3], &g) < 0)
			continue;
		if (name ? strcmp(f[0], name) : u != uid)
			continue;
		out->name = xstrdup(f[0]);
		out->home = n >= 6 && *f[5] ? xstrdup(f[5]) : NULL;
		out->uid = u;
		out->gid = g;
		return true;
	}
	return false;
}

static bool group_find(const char *text, const char *name, uint32_t *gid)
{
	_cleanup_free_ char *buf = xstrdup(text);
	char *cur = buf, *f[4];
	size_t n;

	while ((n = next_entry(&cur, f, 4))) {
		uint32_t g;

		if (n < 3 || !*f[0] || id_number(f[2], &g) < 0 || strcmp(f[0], name))
			continue;
		*gid = g;
		return true;
	}
	return false;
}

static int push_group(struct identity *id, uint32_t gid, struct nerr *err)
{
	for (size_t i = 0; i < id->ngroups; i++)
		if (id->groups[i] == gid)
			return 0;
	if (id->ngroups >= NGROUPS_MAX)
		return nerr_set(err, 0, "more than %d groups", NGROUPS_MAX);
	id->groups = xrealloc(id->groups, (id->ngroups + 1) * sizeof(*id->groups));
	id->groups[id->ngroups++] = gid;
	return 0;
}

/* Every group that lists `user` among its members: initgroups(3). */
static int group_memberships(struct identity *id, const char *text, const char *user, struct nerr *err)
{
	_cleanup_free_ char *buf = xstrdup(text);
	char *cur = buf, *f[4];
	size_t n;
	int r;

	while ((n = next_entry(&cur, f, 4))) {
		char *save = NULL;
		uint32_t g;

		if (n < 4 || !*f[0] || id_number(f[2], &g) < 0)
			continue;
		for (char *m = strtok_r(f[3], ",", &save); m; m = strtok_r(NULL, ",", &save)) {
			size_t len;

			m += strspn(m, " \t");
			len = strcspn(m, " \t");
			if (len == strlen(user) && !strncmp(m, user, len)) {
				if ((r = push_group(id, g, err)) < 0)
					return r;
				break;
			}
		}
	}
	return 0;
}

/* A group given by name or number: a number needs no entry (docker's
 * rule), a name must have one. */
static int group_resolve(const char *spec, const char *text, int text_errno, const char *file, uint32_t *gid,
			 struct nerr *err)
{
	int r;

	if (!*spec)
		return nerr_set(err, 0, "empty group name");
	if ((r = id_number(spec, gid)) == 0)
		return 0;
	if (r == -ERANGE)
		return nerr_set(err, 0, "group id `%s` is out of range (at most %u)", spec, ID_MAX);
	if (!text)
		return nerr_set(err, text_errno, "group `%s`: cannot read %s", spec, file);
	if (!group_find(text, spec, gid))
		return nerr_set(err, 0, "no group `%s` in %s", spec, file);
	return 0;
}

static int resolve(struct identity *id, const char *passwd, int passwd_errno, const char *passwd_name,
		   const char *group, int group_errno, const char *group_name, struct nerr *err)
{
	_cleanup_free_ char *spec = xstrdup(id->user ? id->user : "0");
	struct pw_entry pw = { 0 };
	const char *gspec = id->group;
	char *colon = strchr(spec, ':');
	uint32_t uid, gid = 0;
	bool found = false;
	int r;

	if (colon) {
		*colon = '\0';
		if (id->group)
			return nerr_set(err, 0, "user `%s` names a group and a group is given as well", id->user);
		gspec = colon + 1;
		if (!*gspec)
			return nerr_set(err, 0, "user `%s`: empty group after `:`", id->user);
	}
	if (!*spec)
		return nerr_set(err, 0, "empty user name");
	if ((r = id_number(spec, &uid)) == -ERANGE)
		return nerr_set(err, 0, "user id `%s` is out of range (at most %u)", spec, ID_MAX);
	if (r == 0) {
		/* a number needs no entry; with one, its group and home count */
		found = passwd && passwd_find(passwd, NULL, uid, &pw);
	} else {
		if (!passwd)
			return nerr_set(err, passwd_errno, "user `%s`: cannot read %s", spec, passwd_name);
		if (!(found = passwd_find(passwd, spec, 0, &pw)))
			return nerr_set(err, 0, "no user `%s` in %s", spec, passwd_name);
		uid = pw.uid;
	}
	/* docker: a uid without an entry gets gid 0 */
	if (found)
		gid = pw.gid;
	if (gspec && (r = group_resolve(gspec, group, group_errno, group_name, &gid, err)) < 0)
		goto out;
	id->uid = uid;
	id->gid = gid;
	id->home = steal_ptr(pw.home);
	if ((r = push_group(id, gid, err)) < 0)
		goto out;
	/* the user's own groups, unless a group was named (docker: -u u:g
	 * gets no memberships either) */
	if (!gspec && found && group && (r = group_memberships(id, group, pw.name, err)) < 0)
		goto out;
	for (size_t i = 0; id->additional_groups && id->additional_groups[i]; i++) {
		uint32_t g;

		if ((r = group_resolve(id->additional_groups[i], group, group_errno, group_name, &g, err)) < 0 ||
		    (r = push_group(id, g, err)) < 0)
			goto out;
	}
	id->set = true;
	r = 0;
out:
	free(pw.name);
	free(pw.home);
	return r;
}

int identity_resolve_text(struct identity *id, const char *passwd, int passwd_errno, const char *passwd_name,
			  const char *group, int group_errno, const char *group_name, struct nerr *err)
{
	int r;

	identity_clear_resolved(id);
	if (!id->user && !id->group && !id->additional_groups)
		return 0;
	/* what the configuration's JSON form holds */
	if ((id->user && strlen(id->user) > IDENTITY_NAME_MAX * 2 + 1) ||
	    (id->group && strlen(id->group) > IDENTITY_NAME_MAX))
		return nerr_set(err, 0, "a user or group longer than %d bytes", IDENTITY_NAME_MAX);
	for (size_t i = 0; id->additional_groups && id->additional_groups[i]; i++)
		if (strlen(id->additional_groups[i]) > IDENTITY_NAME_MAX)
			return nerr_set(err, 0, "a group longer than %d bytes", IDENTITY_NAME_MAX);
	if ((r = resolve(id, passwd, passwd_errno, passwd_name, group, group_errno, group_name, err)) < 0)
		identity_clear_resolved(id);
	return r;
}

/* A regular file beneath the rootfs, resolved as if the rootfs were `/`
 * (a symlink in it cannot point at the host's file). */
static int read_in_root(int root, const char *rel, char **out)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	_cleanup_close_ int path = (int)syscall(SYS_openat2, root, rel, &how, sizeof(how));
	char proc[64];
	struct stat st;

	if (path < 0)
		return -errno;
	if (fstat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;     /* a fifo or a device is no passwd file */
	/* opened for reading only now that it is known to be a file */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", path);
	return read_file(proc, ID_FILE_MAX, out, NULL);
}

int identity_resolve(struct identity *id, const char *rootfs, struct nerr *err)
{
	_cleanup_free_ char *passwd = NULL, *group = NULL, *pname = NULL, *gname = NULL;
	int pr, gr;

	if (!id->user && !id->group && !id->additional_groups) {
		identity_clear_resolved(id);
		return 0;
	}
	if (rootfs) {
		_cleanup_close_ int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (root < 0)
			return nerr_set(err, errno, "rootfs `%s`", rootfs);
		pname = xasprintf("%s/etc/passwd", rootfs);
		gname = xasprintf("%s/etc/group", rootfs);
		pr = read_in_root(root, "etc/passwd", &passwd);
		gr = read_in_root(root, "etc/group", &group);
	} else {
		pname = xstrdup("/etc/passwd");
		gname = xstrdup("/etc/group");
		pr = read_file(pname, ID_FILE_MAX, &passwd, NULL);
		gr = read_file(gname, ID_FILE_MAX, &group, NULL);
	}
	if (pr < 0) {
		free(passwd);
		passwd = NULL;
	}
	if (gr < 0) {
		free(group);
		group = NULL;
	}
	return identity_resolve_text(id, passwd, -pr, pname, group, -gr, gname, err);
}

/* Raise the effective set to the permitted one again (a uid change
 * cleared it, SECBIT_KEEP_CAPS kept the permitted set). */
static int caps_effective_again(struct nerr *err)
{
	cap_t c = cap_get_proc();
	int r = 0;

	if (!c)
		return nerr_set(err, errno, "read the capability sets");
	if (cap_fill(c, CAP_EFFECTIVE, CAP_PERMITTED) < 0 || cap_set_proc(c) < 0)
		r = nerr_set(err, errno, "restore the effective capabilities");
	cap_free(c);
	return r;
}

int identity_apply(const struct identity *id, bool setgroups_ok, struct nerr *err)
{
	if (!id->set) {
		/* root's: without the groups of whoever started nucleus */
		if (setgroups_ok && setgroups(0, NULL) < 0)
			return nerr_set(err, errno, "clear the supplementary groups");
		return 0;
	}
	/* The permitted set survives the change of uid (caps_apply then
	 * keeps what the policy says, and needs CAP_SETPCAP to do it). */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return nerr_set(err, errno, "keep capabilities across the uid change");
	if (setgroups_ok) {
		if (setgroups(id->ngroups, id->groups) < 0)
			return nerr_set(err, errno, "set the supplementary groups");
	} else if (id->ngroups) {
		return nerr_set(err, EPERM, "supplementary groups need a user namespace that maps them");
	}
	if (setresgid(id->gid, id->gid, id->gid) < 0)
		return nerr_set(err, errno, "set gid %u", (unsigned)id->gid);
	if (setresuid(id->uid, id->uid, id->uid) < 0)
		return nerr_set(err, errno, "set uid %u", (unsigned)id->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return nerr_set(err, errno, "keep capabilities across the uid change");
	/* A change of the effective uid clears the parent-death signal: the
	 * workload must still die with its supervisor. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return nerr_set(err, errno, "set the parent-death signal");
	return caps_effective_again(err);
}

static bool idmap_has(const struct idmap *m, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (id >= m[i].inside && id - m[i].inside < m[i].count)
			return true;
	return false;
}

/* "0-65535" (the first range; --userns writes one) */
static const char *idmap_range(const struct idmap *m, size_t n, char *buf, size_t len)
{
	if (!n || !m[0].count)
		return "none";
	snprintf(buf, len, "%u-%u", m[0].inside, m[0].inside + m[0].count - 1);
	return buf;
}

int identity_check_map(const struct identity *id, const struct userns_map *m, struct nerr *err)
{
	char range[32];

	if (!id->set)
		return 0;
	if (!idmap_has(m->uid, m->nuid, id->uid))
		return nerr_set(err, 0, "uid %u is outside the ids the user namespace maps (%s)", (unsigned)id->uid,
				idmap_range(m->uid, m->nuid, range, sizeof(range)));
	for (size_t i = 0; i <= id->ngroups; i++) {
		gid_t g = i < id->ngroups ? id->groups[i] : id->gid;

		if (!idmap_has(m->gid, m->ngid, g))
			return nerr_set(err, 0, "gid %u is outside the ids the user namespace maps (%s)", (unsigned)g,
					idmap_range(m->gid, m->ngid, range, sizeof(range)));
	}
	return 0;
}
