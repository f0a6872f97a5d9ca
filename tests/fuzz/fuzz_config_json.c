/* libFuzzer target for the reader of the stored configuration
 * (container_config_from_json: state.json's "config", and later restore,
 * OCI bundles and compose).
 *
 * The input is JSON text. Beyond "no crash, no leak": a refusal is one
 * line; an accepted configuration written again (container_config_to_json)
 * reads back, and writing that gives the same text (the round trip is the
 * identity). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "nucleus/container.h"

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_config_json: %s\n", what);
		abort();
	}
}

static char *dump(const struct container_config *c)
{
	json_t *o = container_config_to_json(c);
	char *s;

	check(o != NULL, "the configuration cannot be written");
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	check(s != NULL, "the configuration cannot be encoded");
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct container_config a, b;
	struct nerr err = { 0 };
	char *first, *second;
	json_error_t je;
	json_t *o, *again;

	o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		return 0;
	if (container_config_from_json(o, &a, &err) < 0) {
		check(err.code != 0 && err.msg[0], "a refusal without a message");
		check(!strchr(err.msg, '\n'), "a refusal of more than one line");
		json_decref(o);
		return 0;
	}
	json_decref(o);
	first = dump(&a);
	again = json_loads(first, 0, &je);
	check(again != NULL, "the written configuration is not JSON");
	memset(&err, 0, sizeof(err));
	if (container_config_from_json(again, &b, &err) < 0) {
		fprintf(stderr, "%s\n%s\n", first, err.msg);
		check(false, "the written configuration is refused");
	}
	json_decref(again);
	second = dump(&b);
	if (strcmp(first, second))
		fprintf(stderr, "%s\n%s\n", first, second);
	check(!strcmp(first, second), "the round trip changed the configuration");
	free(first);
	free(second);
	container_config_free(&a);
	container_config_free(&b);
	return 0;
}
