/* Where the workload may execute what it wrote. /tmp and a copied /context
 * are mounted noexec (Landlock's execute right governs execve only; without
 * noexec, `ld.so /tmp/x` would map and run code). --allow-exec, or a
 * Landlock policy that grants execute there, makes a path executable: the
 * mount (or a bind of the subtree over itself) loses noexec, and Landlock
 * grants execute beneath it. Mounts and rules always agree; a grant that
 * cannot be honoured is refused. */
#include <errno.h>
#include <string.h>
#include <nucleus/container.h>
#include "internal.h"

/* Mounts the workload can write, which nucleus makes executable on request. */
static const char *const workspaces[] = { "/tmp", "/context" };
/* Kernel filesystems nucleus mounts noexec and never makes executable. */
static const char *const never_exec[] = { "/dev", "/proc", "/sys" };

/* `path` is `dir` or beneath it. */
static bool path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return true;
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

/* An absolute path without empty, "." or ".." components; trailing
 * slashes dropped. NULL when it is not one. */
static char *path_canonical(const char *p)
{
	char *c;
	size_t n;

	if (p[0] != '/')
		return NULL;
	c = xstrdup(p);
	n = strlen(c);
	while (n > 1 && c[n - 1] == '/')
		c[--n] = '\0';
	for (const char *s = c; *s; ) {
		const char *e;
		size_t len;

		s++;                      /* past the '/' */
		e = strchrnul(s, '/');
		len = (size_t)(e - s);
		if ((len == 0 && *e) || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.')) {
			free(c);
			return NULL;
		}
		s = e;
	}
	return c;
}

int exec_path_parse(const char *arg, char **out, struct nerr *err)
{
	_cleanup_free_ char *c = path_canonical(arg);

	if (!c)
		return nerr_set(err, 0, "--allow-exec `%s`: expected an absolute path without `.` or `..`", arg);
	for (size_t i = 0; i < ARRAY_SIZE(workspaces); i++) {
		if (path_within(c, workspaces[i])) {
			*out = steal_ptr(c);
			return 0;
		}
	}
	return nerr_set(err, 0, "--allow-exec `%s`: only /tmp, /context and directories beneath them can be "
			"made executable (the system directories already are)", arg);
}

/* Add `p` unless it, or a directory above it, is there already; drop the
 * entries it covers. */
static void exec_paths_add(char ***v, const char *p)
{
	size_t k = 0;

	for (size_t i = 0; *v && (*v)[i]; i++)
		if (path_within(p, (*v)[i]))
			return;
	for (size_t i = 0; *v && (*v)[i]; i++) {
		if (path_within((*v)[i], p))
			free((*v)[i]);
		else
			(*v)[k++] = (*v)[i];
	}
	if (*v)
		(*v)[k] = NULL;
	strv_push(v, p);
}

int container_exec_plan(struct container_config *c, struct nerr *err)
{
	const struct landlock_spec *l = c->sec.landlock;

	strv_free(c->fs.exec_paths);
	c->fs.exec_paths = NULL;
	for (size_t i = 0; c->fs.allow_exec && c->fs.allow_exec[i]; i++) {
		if (path_within(c->fs.allow_exec[i], "/context") && !c->fs.context)
			return nerr_set(err, 0, "--allow-exec `%s` needs --context", c->fs.allow_exec[i]);
		exec_paths_add(&c->fs.exec_paths, c->fs.allow_exec[i]);
	}
	for (size_t i = 0; l && i < l->nrules; i++) {
		_cleanup_free_ char *p = NULL;

		if (!(l->rules[i].access & landlock_access_from_name("execute")))
			continue;
		if (!(p = path_canonical(l->rules[i].path)))
			return nerr_set(err, 0, "Landlock policy `%s`: rule path `%s` is not a canonical absolute "
					"path", c->sec.landlock_policy, l->rules[i].path);
		for (size_t k = 0; k < ARRAY_SIZE(never_exec); k++)
			if (path_within(p, never_exec[k]))
				return nerr_set(err, 0, "Landlock policy `%s` grants execute on `%s`, which nucleus "
						"mounts noexec and never makes executable", c->sec.landlock_policy, p);
		for (size_t k = 0; k < ARRAY_SIZE(workspaces); k++) {
			const char *w = workspaces[k];

			if (!strcmp(w, "/context") && !c->fs.context)
				continue;
			/* on or beneath a workspace: that subtree; above one
			 * (a grant on /): the whole workspace */
			if (path_within(p, w))
				exec_paths_add(&c->fs.exec_paths, p);
			else if (path_within(w, p))
				exec_paths_add(&c->fs.exec_paths, w);
		}
	}
	return 0;
}

void container_landlock_volumes(struct landlock_spec *s, const struct fs_config *f)
{
	for (size_t i = 0; i < f->n_volumes; i++) {
		if (f->volumes[i].access == FS_VOLUME_RW)
			landlock_spec_allow_write(s, f->volumes[i].dest);
		if (f->volumes[i].exec)
			landlock_spec_allow_exec(s, f->volumes[i].dest);
	}
	for (size_t i = 0; i < f->n_tmpfs; i++) {
		landlock_spec_allow_write(s, f->tmpfs[i].dest);
		if (f->tmpfs[i].exec)
			landlock_spec_allow_exec(s, f->tmpfs[i].dest);
	}
}
