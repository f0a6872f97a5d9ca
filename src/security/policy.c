/* Policy files: SHA-256 pinning, and the capability policy. */
#include <errno.h>
#include <ctype.h>
#include <string.h>
#include <nucleus/security.h>

int policy_check_pin(const char *what, const char *path, const char *expected_hex, struct nerr *err)
{
	char actual[65], want[65];
	int r;

	if (!expected_hex)
		return 0;
	if (!is_hex_string(expected_hex, 64))
		return nerr_set(err, 0, "%s pin `%s` is not a SHA-256 (64 hex digits)", what, expected_hex);
	for (size_t i = 0; i < 65; i++)
		want[i] = (char)tolower((unsigned char)expected_hex[i]);
	if ((r = sha256_file_hex(path, actual, err)) < 0)
		return nerr_prefix(err, "%s", what);
	if (strcmp(actual, want))
		return nerr_set(err, 0, "%s `%s`: SHA-256 mismatch: expected %s, actual %s",
				what, path, want, actual);
	return 0;
}

static int keep_list(const struct toml_value *table, const char *set, const char *name,
		     uint64_t *out, bool *present, struct nerr *err)
{
	const struct toml_value *t = toml_get(table, set), *keep;

	*out = 0;
	*present = t != NULL;
	if (!t)
		return 0;
	if (t->type != TOML_TABLE)
		return nerr_set(err, 0, "%s:%d:%d: `%s` must be a table", name, t->line, t->column, set);
	for (size_t i = 0; i < t->u.table.len; i++)
		if (strcmp(t->u.table.items[i].key, "keep"))
			return nerr_set(err, 0, "%s:%d:%d: unknown key `%s` in [%s] (only `keep`)", name,
					t->u.table.items[i].line, t->u.table.items[i].column,
					t->u.table.items[i].key, set);
	keep = toml_get(t, "keep");
	if (!keep)
		return 0;
	if (keep->type != TOML_ARRAY)
		return nerr_set(err, 0, "%s:%d:%d: [%s] keep must be an array of capability names",
				name, keep->line, keep->column, set);
	for (size_t i = 0; i < keep->u.array.len; i++) {
		const struct toml_value *v = keep->u.array.items[i];
		int cap;

		if (v->type != TOML_STRING || memchr(v->u.str.ptr, 0, v->u.str.len))
			return nerr_set(err, 0, "%s:%d:%d: [%s] keep: expected a capability name",
					name, v->line, v->column, set);
		cap = capability_from_name(v->u.str.ptr);
		if (cap < 0 || cap > capability_last())
			return nerr_set(err, 0, "%s:%d:%d: unknown capability `%s`", name, v->line, v->column,
					v->u.str.ptr);
		*out |= 1ull << cap;
	}
	return 0;
}

static void names_of(uint64_t mask, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < 64; i++)
		if ((mask >> i) & 1)
			used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
						 used ? " " : "", capability_name(i));
	if (!used)
		snprintf(buf, len, "(none)");
}

int caps_policy_parse(const char *text, size_t len, const char *name, struct cap_sets *out, struct nerr *err)
{
	static const char *const sets[] = { "bounding", "permitted", "effective", "inheritable", "ambient" };
	struct toml_error te;
	struct toml_value *root = toml_parse(text, len, &te);
	uint64_t *dst[] = { &out->bounding, &out->permitted, &out->effective, &out->inheritable, &out->ambient };
	bool present[5];
	uint64_t strict, root_rule;
	char a[1024], b[1024];
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (!root)
		return nerr_set(err, 0, "%s:%d:%d: %s", name, te.line, te.column, te.msg);
	for (size_t i = 0; i < root->u.table.len; i++) {
		bool known = false;

		for (size_t k = 0; k < ARRAY_SIZE(sets); k++)
			known |= !strcmp(root->u.table.items[i].key, sets[k]);
		if (!known) {
			r = nerr_set(err, 0, "%s:%d:%d: unknown table `%s` (bounding, permitted, effective, "
					 "inheritable, ambient)", name, root->u.table.items[i].line,
				     root->u.table.items[i].column, root->u.table.items[i].key);
			goto out;
		}
	}
	for (size_t k = 0; k < ARRAY_SIZE(sets); k++)
		if ((r = keep_list(root, sets[k], name, dst[k], &present[k], err)) < 0)
			goto out;

	/* What the kernel hands uid 0 at exec (no_new_privs keeps permitted
	 * within what it already was):
	 *   with securebits NOROOT: permitted = effective = ambient
	 *   without:                permitted = effective = bounding | inheritable | ambient */
	if (out->ambient & ~out->inheritable) {
		names_of(out->ambient & ~out->inheritable, a, sizeof(a));
		r = nerr_set(err, 0, "%s: ambient capabilities must also be inheritable: %s", name, a);
		goto out;
	}
	if (out->ambient & ~out->bounding) {
		names_of(out->ambient & ~out->bounding, a, sizeof(a));
		r = nerr_set(err, 0, "%s: ambient capabilities must also be in the bounding set: %s", name, a);
		goto out;
	}
	strict = out->ambient;
	root_rule = out->bounding | out->inheritable | out->ambient;
	if (!present[1])
		out->permitted = out->effective;
	if (out->effective == strict && out->permitted == strict) {
		out->root_gains_at_exec = false;
	} else if (out->effective == root_rule && out->permitted == root_rule) {
		out->root_gains_at_exec = true;
	} else {
		names_of(out->effective, a, sizeof(a));
		names_of(root_rule, b, sizeof(b));
		r = nerr_set(err, 0, "%s: the effective set (%s) cannot be what the workload gets: after exec "
				 "the kernel gives it either its ambient set or bounding | inheritable | ambient (%s)",
			     name, a, b);
		goto out;
	}
out:
	toml_free(root);
	return r;
}

int caps_policy_load(const char *path, struct cap_sets *out, struct nerr *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_file(path, 1 << 20, &text, &len);

	if (r < 0)
		return nerr_set(err, -r, "capability policy `%s`", path);
	return caps_policy_parse(text, len, path, out, err);
}
