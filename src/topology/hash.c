/* A service's hash: what reconciliation compares with the label of the
 * running container to tell whether it still is what the file says. */
#include <errno.h>
#include <string.h>
#include <jansson.h>
#include "internal.h"

int topology_hash_service(const struct topology *t, struct topo_service *s, const char *extra, struct nerr *err)
{
	json_t *o = container_config_to_json(&s->cfg), *topo;
	char *text;
	struct sha256 h;
	uint8_t d[32];

	if (!o)
		return nerr_set(err, ENOMEM, "%s: service `%s`: its configuration as JSON", t->file, s->name);
	/* the id is each container's own; the hash cannot be part of itself */
	json_object_del(o, "id");
	if ((topo = json_object_get(o, "topology")))
		json_object_del(topo, "hash");
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!text)
		return nerr_set(err, ENOMEM, "%s: service `%s`: its configuration as JSON", t->file, s->name);
	sha256_init(&h);
	sha256_update(&h, text, strlen(text) + 1);
	free(text);
	/* what the container uses but its configuration does not say: a
	 * persistent volume's owner (the directory is made with it) */
	for (size_t i = 0; i < t->nvolumes; i++) {
		const struct topo_volume *v = &t->volumes[i];
		_cleanup_free_ char *line = NULL;

		if (!strv_contains(s->volumes, v->name))
			continue;
		line = xasprintf("volume %s %s %s %s%u:%u %llu", v->name,
				 v->type == TOPO_VOLUME_PERSISTENT ? "persistent" : "ephemeral", v->path ? v->path : "-",
				 v->owner_set ? "" : "-", (unsigned)v->uid, (unsigned)v->gid, (unsigned long long)v->size);
		sha256_update(&h, line, strlen(line) + 1);
	}
	if (extra)
		sha256_update(&h, extra, strlen(extra) + 1);
	sha256_final(&h, d);
	hex_encode(d, sizeof(d), s->hash, sizeof(s->hash));
	free(s->cfg.topology_hash);
	s->cfg.topology_hash = xstrdup(s->hash);
	return 0;
}
