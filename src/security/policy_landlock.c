/* The Landlock policy file. Access names (docs/policies.md):
 *   read        read_file read_dir
 *   readdir     read_dir
 *   write       write_file
 *   execute     execute
 *   create      make_reg make_dir make_sym make_fifo make_sock
 *   remove      remove_file remove_dir
 *   truncate    truncate                      (ABI 3)
 *   refer       refer (link/rename across dirs) (ABI 2)
 *   ioctl_dev   ioctl on devices              (ABI 5)
 *   all         every right the ABI handles (devices included)
 *   all_except_execute
 * "read" does not imply "execute". Network: connect, bind (ABI 4).
 * Scopes: signal, abstract_unix_socket (ABI 6). */
#include <errno.h>
#include <string.h>
#include <nucleus/security.h>

#define R(n) (1ULL << (n))
static const struct { const char *name; uint64_t fs; } fs_names[] = {
	{ "read", R(2) | R(3) },
	{ "readdir", R(3) },
	{ "write", R(1) },
	{ "execute", R(0) },
	{ "create", R(8) | R(7) | R(12) | R(10) | R(9) },
	{ "remove", R(5) | R(4) },
	{ "truncate", R(14) },
	{ "refer", R(13) },
	{ "ioctl_dev", R(15) },
	{ "all", 0xffff },
	{ "all_except_execute", 0xffff & ~R(0) },
};

uint64_t landlock_access_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(fs_names); i++)
		if (!strcmp(fs_names[i].name, name))
			return fs_names[i].fs;
	return 0;
}

#define NET_BIND 1ULL
#define NET_CONNECT 2ULL
#define SCOPE_ABSTRACT_UNIX 1ULL
#define SCOPE_SIGNAL 2ULL

static const char *str_of(const struct toml_value *v)
{
	if (!v || v->type != TOML_STRING || memchr(v->u.str.ptr, 0, v->u.str.len))
		return NULL;
	return v->u.str.ptr;
}

/* An array of names -> bits via lookup; unknown names are errors. */
static int names_to_bits(const struct toml_value *arr, const char *file, const char *what,
			 uint64_t (*lookup)(const char *), uint64_t *out, struct nerr *err)
{
	*out = 0;
	if (!arr || arr->type != TOML_ARRAY)
		return nerr_set(err, 0, "%s:%d:%d: %s must be an array of names", file,
				arr ? arr->line : 0, arr ? arr->column : 0, what);
	for (size_t i = 0; i < arr->u.array.len; i++) {
		const struct toml_value *v = arr->u.array.items[i];
		const char *n = str_of(v);
		uint64_t bits = n ? lookup(n) : 0;

		if (!bits)
			return nerr_set(err, 0, "%s:%d:%d: unknown %s `%s`", file, v->line, v->column, what,
					n ? n : "(not a string)");
		*out |= bits;
	}
	return 0;
}

static uint64_t net_lookup(const char *n)
{
	return !strcmp(n, "connect") ? NET_CONNECT : !strcmp(n, "bind") ? NET_BIND : 0;
}

static uint64_t scope_lookup(const char *n)
{
	return !strcmp(n, "signal") ? SCOPE_SIGNAL :
	       !strcmp(n, "abstract_unix_socket") ? SCOPE_ABSTRACT_UNIX : 0;
}

static int check_keys(const struct toml_value *t, const char *const *allowed, const char *file,
		      const char *where, struct nerr *err)
{
	for (size_t i = 0; i < t->u.table.len; i++) {
		bool ok = false;

		for (size_t k = 0; allowed[k]; k++)
			ok |= !strcmp(t->u.table.items[i].key, allowed[k]);
		if (!ok)
			return nerr_set(err, 0, "%s:%d:%d: unknown key `%s`%s", file, t->u.table.items[i].line,
					t->u.table.items[i].column, t->u.table.items[i].key, where);
	}
	return 0;
}

int landlock_policy_parse(const char *text, size_t len, const char *name, struct landlock_spec *out,
			  struct nerr *err)
{
	static const char *const top[] = { "min_abi", "rules", "net", "scope", NULL };
	static const char *const rule_keys[] = { "path", "access", NULL };
	static const char *const net_keys[] = { "port", "access", NULL };
	struct toml_error te;
	struct toml_value *root = toml_parse(text, len, &te);
	const struct toml_value *v;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (!root)
		return nerr_set(err, 0, "%s:%d:%d: %s", name, te.line, te.column, te.msg);
	if ((r = check_keys(root, top, name, "", err)) < 0)
		goto out;
	if ((v = toml_get(root, "min_abi"))) {
		if (v->type != TOML_INTEGER || v->u.integer < 1 || v->u.integer > 64) {
			r = nerr_set(err, 0, "%s:%d:%d: min_abi must be a positive integer", name, v->line, v->column);
			goto out;
		}
		out->min_abi = (int)v->u.integer;
	}
	if ((v = toml_get(root, "rules"))) {
		if (v->type != TOML_ARRAY) {
			r = nerr_set(err, 0, "%s:%d:%d: rules must be an array of tables ([[rules]])", name,
				     v->line, v->column);
			goto out;
		}
		for (size_t i = 0; i < v->u.array.len; i++) {
			const struct toml_value *t = v->u.array.items[i];
			const char *path;
			uint64_t access;

			if (t->type != TOML_TABLE) {
				r = nerr_set(err, 0, "%s:%d:%d: rules[%zu] must be a table", name, t->line, t->column, i);
				goto out;
			}
			if ((r = check_keys(t, rule_keys, name, " in [[rules]] (path, access)", err)) < 0)
				goto out;
			path = str_of(toml_get(t, "path"));
			if (!path || path[0] != '/') {
				r = nerr_set(err, 0, "%s:%d:%d: rules[%zu].path must be an absolute path", name,
					     t->line, t->column, i);
				goto out;
			}
			if ((r = names_to_bits(toml_get(t, "access"), name, "access", landlock_access_from_name,
					       &access, err)) < 0)
				goto out;
			if (!access) {
				r = nerr_set(err, 0, "%s:%d:%d: rules[%zu].access is empty: a rule grants "
					     "something (what no rule grants is denied)", name, t->line, t->column, i);
				goto out;
			}
			out->rules = xrealloc(out->rules, (out->nrules + 1) * sizeof(*out->rules));
			out->rules[out->nrules].path = xstrdup(path);
			out->rules[out->nrules].access = access;
			out->nrules++;
		}
	}
	if ((v = toml_get(root, "net"))) {
		if (v->type != TOML_ARRAY) {
			r = nerr_set(err, 0, "%s:%d:%d: net must be an array of tables ([[net]])", name, v->line, v->column);
			goto out;
		}
		out->restrict_net = true;
		for (size_t i = 0; i < v->u.array.len; i++) {
			const struct toml_value *t = v->u.array.items[i], *port;
			uint64_t access;

			if (t->type != TOML_TABLE) {
				r = nerr_set(err, 0, "%s:%d:%d: net[%zu] must be a table", name, t->line, t->column, i);
				goto out;
			}
			if ((r = check_keys(t, net_keys, name, " in [[net]] (port, access)", err)) < 0)
				goto out;
			port = toml_get(t, "port");
			if (!port || port->type != TOML_INTEGER || port->u.integer < 0 || port->u.integer > 65535) {
				r = nerr_set(err, 0, "%s:%d:%d: net[%zu].port must be 0-65535", name, t->line, t->column, i);
				goto out;
			}
			if ((r = names_to_bits(toml_get(t, "access"), name, "network access", net_lookup,
					       &access, err)) < 0)
				goto out;
			if (!access) {
				r = nerr_set(err, 0, "%s:%d:%d: net[%zu].access is empty: name connect and/or "
					     "bind (a port no rule names is denied)", name, t->line, t->column, i);
				goto out;
			}
			out->net = xrealloc(out->net, (out->nnet + 1) * sizeof(*out->net));
			out->net[out->nnet].port = (uint16_t)port->u.integer;
			out->net[out->nnet].access = access;
			out->nnet++;
		}
	}
	if ((v = toml_get(root, "scope")) &&
	    (r = names_to_bits(v, name, "scope", scope_lookup, &out->scopes, err)) < 0)
		goto out;
out:
	toml_free(root);
	if (r < 0)
		landlock_spec_free(out);
	return r;
}

int landlock_policy_load(const char *path, struct landlock_spec *out, struct nerr *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_file(path, 1 << 20, &text, &len);

	if (r < 0)
		return nerr_set(err, -r, "Landlock policy `%s`", path);
	return landlock_policy_parse(text, len, path, out, err);
}
