/* Which cgroup layout this host has, read from /proc/self/mountinfo rather
 * than assumed from /sys/fs/cgroup. */
#include <errno.h>
#include <string.h>
#include <nucleus/resources.h>

const char *cgroup_layout_name(enum cgroup_layout l)
{
	switch (l) {
	case CG_LAYOUT_UNIFIED: return "unified";
	case CG_LAYOUT_HYBRID: return "hybrid";
	case CG_LAYOUT_V1: return "v1";
	default: return "none";
	}
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

static unsigned ctrl_bits(const char *opts)
{
	static const struct { const char *name; unsigned bit; } map[] = {
		{ "memory", CG_MEMORY }, { "cpu", CG_CPU }, { "cpuacct", CG_CPUACCT },
		{ "pids", CG_PIDS }, { "blkio", CG_BLKIO }, { "freezer", CG_FREEZER },
	};
	_cleanup_free_ char *copy = xstrdup(opts);
	unsigned bits = 0;
	char *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		for (size_t i = 0; i < ARRAY_SIZE(map); i++)
			if (!strcmp(t, map[i].name))
				bits |= map[i].bit;
	return bits;
}

int cgroup_host_parse(const char *mountinfo, struct cgroup_host *h)
{
	_cleanup_free_ char *copy = xstrdup(mountinfo);
	char *save_line = NULL;
	unsigned seen = 0;

	memset(h, 0, sizeof(*h));
	for (char *line = strtok_r(copy, "\n", &save_line); line; line = strtok_r(NULL, "\n", &save_line)) {
		char *sep = strstr(line, " - "), *save = NULL, *mnt = NULL, *root = NULL, *fstype, *super;
		int field = 0;

		if (!sep)
			continue;
		*sep = '\0';
		for (char *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
			if (++field == 4)
				root = t;
			else if (field == 5)
				mnt = t;
		}
		save = NULL;
		fstype = strtok_r(sep + 3, " ", &save);
		(void)strtok_r(NULL, " ", &save);   /* source */
		super = strtok_r(NULL, " ", &save);
		if (!mnt || !fstype)
			continue;
		unescape(mnt);
		if (!strcmp(fstype, "cgroup2") && !h->v2_mount[0]) {
			snprintf(h->v2_mount, sizeof(h->v2_mount), "%s", mnt);
			if (root) {
				unescape(root);
				snprintf(h->v2_root, sizeof(h->v2_root), "%s", root);
			}
		} else if (!strcmp(fstype, "cgroup") && super && h->nv1 < CG_MAX_V1) {
			unsigned bits = ctrl_bits(super);
			struct cgroup_hier *v;
			_cleanup_free_ char *opts = xstrdup(super);
			char *s2 = NULL;

			/* The first mount of a hierarchy wins; named ones carry no limits. */
			if (!bits || (bits & seen))
				continue;
			seen |= bits;
			v = &h->v1[h->nv1++];
			snprintf(v->mount, sizeof(v->mount), "%s", mnt);
			v->ctrls = bits;
			for (char *t = strtok_r(opts, ",", &s2); t; t = strtok_r(NULL, ",", &s2)) {
				if (!ctrl_bits(t))
					continue;
				if (v->options[0])
					strncat(v->options, ",", sizeof(v->options) - strlen(v->options) - 1);
				strncat(v->options, t, sizeof(v->options) - strlen(v->options) - 1);
			}
		}
	}
	if (h->v2_mount[0] && h->nv1)
		h->layout = CG_LAYOUT_HYBRID;
	else if (h->v2_mount[0])
		h->layout = CG_LAYOUT_UNIFIED;
	else if (h->nv1)
		h->layout = CG_LAYOUT_V1;
	else
		h->layout = CG_LAYOUT_NONE;
	return 0;
}

int cgroup_host_detect(struct cgroup_host *h, struct nerr *err)
{
	_cleanup_free_ char *text = NULL;
	int r = read_file("/proc/self/mountinfo", 16 << 20, &text, NULL);

	if (r < 0)
		return nerr_set(err, -r, "read /proc/self/mountinfo");
	return cgroup_host_parse(text, h);
}

unsigned cgroup_v2_level(const struct cgroup_host *h)
{
	unsigned level = 2;    /* nucleus/<id> */

	/* plus every component of the mount's root ("/" has none) */
	for (const char *p = h->v2_root; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			level++;
	return level;
}
