/* The dependency graph of a topology: references, cycles, the start order
 * and its levels, and the bridge names. */
#include <errno.h>
#include <string.h>
#include "internal.h"

const char *topo_condition_name(enum topo_condition c)
{
	switch (c) {
	case TOPO_STARTED: return "started";
	case TOPO_HEALTHY: return "healthy";
	case TOPO_COMPLETED: return "completed_successfully";
	}
	return "?";
}

void topology_bridge_name(const char *topology, const char *network, char out[16])
{
	struct sha256 s;
	uint8_t d[32];
	char hex[65];

	/* the NUL keeps ("a-b", "c") and ("a", "b-c") apart */
	sha256_init(&s);
	sha256_update(&s, topology, strlen(topology) + 1);
	sha256_update(&s, network, strlen(network));
	sha256_final(&s, d);
	hex_encode(d, sizeof(d), hex, sizeof(hex));
	snprintf(out, 16, "nc%.13s", hex);
}

ssize_t topology_service_index(const struct topology *t, const char *name)
{
	for (size_t i = 0; i < t->nservices; i++)
		if (!strcmp(t->services[i].name, name))
			return (ssize_t)i;
	return -1;
}

void topology_dependencies(const struct topology *t, size_t i, bool *mark)
{
	const struct topo_service *s = &t->services[i];

	for (size_t d = 0; d < s->ndeps; d++)
		if (!mark[s->deps[d].index]) {
			mark[s->deps[d].index] = true;
			topology_dependencies(t, s->deps[d].index, mark);
		}
}

void topology_dependants(const struct topology *t, size_t i, bool *mark)
{
	for (size_t j = 0; j < t->nservices; j++)
		for (size_t d = 0; d < t->services[j].ndeps; d++)
			if (t->services[j].deps[d].index == i && !mark[j]) {
				mark[j] = true;
				topology_dependants(t, j, mark);
			}
}

enum { WHITE, GREY, BLACK };

/* Depth first, in file order: a dependency still on the stack (grey) closes
 * a cycle, which runs from it along the stack to here. */
static int visit(struct topology *t, size_t i, int *colour, size_t *stack, size_t depth, struct nerr *err)
{
	struct topo_service *s = &t->services[i];

	colour[i] = GREY;
	stack[depth] = i;
	for (size_t d = 0; d < s->ndeps; d++) {
		size_t j = s->deps[d].index;
		int r;

		if (colour[j] == GREY) {
			size_t from = depth, len = 0;
			char path[768];

			while (stack[from] != j)
				from--;
			path[0] = '\0';
			for (size_t k = from; k <= depth && len < sizeof(path); k++)
				len += (size_t)snprintf(path + len, sizeof(path) - len, "%s -> ", t->services[stack[k]].name);
			if (len < sizeof(path))
				snprintf(path + len, sizeof(path) - len, "%s", t->services[j].name);
			return nerr_set(err, 0, "%s:%d: depends_on: a dependency cycle: %s", t->file, s->deps[d].line,
					path);
		}
		if (colour[j] == WHITE && (r = visit(t, j, colour, stack, depth + 1, err)) < 0)
			return r;
	}
	colour[i] = BLACK;
	return 0;
}

int topology_graph(struct topology *t, struct nerr *err)
{
	size_t n = t->nservices;
	_cleanup_free_ int *colour = xcalloc(n ? n : 1, sizeof(int));
	_cleanup_free_ size_t *stack = xcalloc(n ? n : 1, sizeof(size_t));
	_cleanup_free_ bool *placed = xcalloc(n ? n : 1, sizeof(bool));
	int r;

	for (size_t i = 0; i < n; i++) {
		struct topo_service *s = &t->services[i];

		for (size_t d = 0; d < s->ndeps; d++) {
			ssize_t j = topology_service_index(t, s->deps[d].service);

			if (j < 0)
				return nerr_set(err, 0, "%s:%d: depends_on: no service `%s` in the file", t->file,
						s->deps[d].line, s->deps[d].service);
			s->deps[d].index = (size_t)j;
			for (size_t e = 0; e < d; e++)
				if (s->deps[e].index == (size_t)j)
					return nerr_set(err, 0, "%s:%d: depends_on: `%s` is listed twice", t->file,
							s->deps[d].line, s->deps[d].service);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (colour[i] == WHITE && (r = visit(t, i, colour, stack, 0, err)) < 0)
			return r;
	/* Kahn's, always taking the first ready service in file order: the
	 * order is stable, and a service's level is known when it is placed */
	free(t->order);
	t->order = xcalloc(n ? n : 1, sizeof(size_t));
	t->nlevels = 0;
	for (size_t k = 0; k < n; k++) {
		size_t i;

		for (i = 0; i < n; i++) {
			bool ready = !placed[i];

			for (size_t d = 0; ready && d < t->services[i].ndeps; d++)
				ready = placed[t->services[i].deps[d].index];
			if (ready)
				break;
		}
		if (i == n)
			return nerr_set(err, EINVAL, "%s: the dependency graph has a cycle", t->file);   /* not reached */
		placed[i] = true;
		t->order[k] = i;
		t->services[i].level = 0;
		for (size_t d = 0; d < t->services[i].ndeps; d++) {
			unsigned l = t->services[t->services[i].deps[d].index].level + 1;

			if (l > t->services[i].level)
				t->services[i].level = l;
		}
		if (t->services[i].level + 1 > t->nlevels)
			t->nlevels = t->services[i].level + 1;
	}
	return 0;
}
