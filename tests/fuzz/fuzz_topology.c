/* libFuzzer target for the topology loader (src/topology/load.c).
 *
 * The input is a topology.toml; each service goes through `run`'s flag
 * parser as `nucleus compose` does. The loader must return 0 with a
 * consistent model (an order that is a permutation with dependencies
 * first, a hash per service) or <0 with a one-line "FILE:LINE: ..."
 * message, and never crash, leak or read out of bounds. Nothing runs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nucleus/cli.h"
#include "nucleus/topology.h"

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_topology: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct topology t;
	struct nerr err = { 0 };
	int r;

	r = topology_load_text("/fuzz/topology.toml", (const char *)data, size, run_parse_args, &t, &err);
	if (r < 0) {
		check(!strncmp(err.msg, "/fuzz/topology.toml:", 20), "an error without the file's name");
		check(!strchr(err.msg, '\n'), "a multi-line error");
		check(t.services == NULL && t.name == NULL, "a failed load kept something");
		return 0;
	}
	check(t.nservices > 0 && t.order, "a topology without services");
	bool *placed = calloc(t.nservices, sizeof(bool));
	check(placed != NULL, "calloc");
	for (size_t k = 0; k < t.nservices; k++) {
		const struct topo_service *s = &t.services[t.order[k]];

		check(t.order[k] < t.nservices && !placed[t.order[k]], "the order is not a permutation");
		for (size_t d = 0; d < s->ndeps; d++)
			check(placed[s->deps[d].index] && t.services[s->deps[d].index].level < s->level,
			      "a service before its dependency");
		placed[t.order[k]] = true;
		check(strlen(s->hash) == 64 && s->cfg.topology_hash && !strcmp(s->hash, s->cfg.topology_hash),
		      "a service without its hash");
		check(s->cfg.detach && strlen(s->cfg.name) <= 63, "a service that is not a detached, named container");
	}
	for (size_t i = 0; i < t.nnetworks; i++)
		check(strlen(t.networks[i].bridge) == 15, "a bridge name of the wrong length");
	free(placed);
	topology_free(&t);
	return 0;
}
