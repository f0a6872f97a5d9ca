/* State files of the first format (before the configuration had one JSON
 * form): the configuration was spread over the top level, in part. A
 * container started by an older nucleus is still running after an upgrade,
 * and ps, stop, kill, rm, logs and attach must keep working on it, so its
 * state is read by turning those fields into the configuration's form and
 * giving that to the one reader. What the first format did not record
 * keeps its default; nothing it recorded is lost. */
#include <string.h>
#include <jansson.h>
#include "internal.h"

static void copy_key(json_t *to, const char *to_key, const json_t *from, const char *from_key)
{
	json_t *v = json_object_get(from, from_key);

	if (v && !json_is_null(v))
		json_object_set(to, to_key, v);
}

json_t *state_v1_config(const json_t *o)
{
	json_t *c = json_object(), *ns = json_object(), *proc = json_object(), *fs = json_object();
	json_t *net = json_object(), *sec = json_object(), *res = json_object();
	bool detached = json_is_true(json_object_get(o, "detached"));
	const json_t *memlock = json_object_get(o, "memlock");

	copy_key(c, "id", o, "id");
	copy_key(c, "name", o, "name");
	json_object_set_new(c, "detach", json_boolean(detached));
	/* remove_on_exit was "foreground, or --rm" */
	json_object_set_new(c, "remove", json_boolean(detached && json_is_true(json_object_get(o, "remove_on_exit"))));
	copy_key(ns, "rootless", o, "rootless");
	copy_key(ns, "userns", o, "userns");
	copy_key(proc, "argv", o, "command");
	copy_key(proc, "env", o, "env");
	copy_key(proc, "workdir", o, "workdir");
	copy_key(proc, "hostname", o, "hostname");
	/* only whether there was one: the host path was not recorded */
	if (json_is_true(json_object_get(o, "has_context")))
		json_object_set_new(fs, "context", json_string(""));
	copy_key(fs, "context_mode", o, "context_mode");
	copy_key(net, "mode", o, "network");
	copy_key(sec, "caps", o, "caps");
	copy_key(sec, "landlock", o, "landlock_policy");
	copy_key(sec, "seccomp_trace", o, "seccomp_trace");
	if (json_is_integer(memlock) && json_integer_value(memlock) > 0)
		json_object_set_new(res, "rlimits", json_pack("{s:O}", "memlock", memlock));
	json_object_set_new(c, "namespaces", ns);
	json_object_set_new(c, "process", proc);
	json_object_set_new(c, "filesystem", fs);
	json_object_set_new(c, "network", net);
	json_object_set_new(c, "security", sec);
	json_object_set_new(c, "resources", res);
	return c;
}
