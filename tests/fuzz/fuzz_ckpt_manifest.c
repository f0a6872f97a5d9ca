/* libFuzzer target for the reader of a checkpoint's manifest.json
 * (ckpt_manifest_from_json): `nucleus restore --input DIR` reads it from a
 * directory anyone may have handed over, before the integrity check can
 * say anything about it.
 *
 * The input is JSON text. Beyond "no crash, no leak": a refusal is one
 * line; a manifest of this format that is accepted, written again
 * (ckpt_manifest_to_json), reads back to the same text; the compatibility
 * check answers for anything accepted. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "nucleus/checkpoint.h"

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_ckpt_manifest: %s\n", what);
		abort();
	}
}

static char *dump(const struct ckpt_manifest *m)
{
	json_t *o = ckpt_manifest_to_json(m);
	char *s;

	check(o != NULL, "the manifest cannot be written");
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	check(s != NULL, "the manifest cannot be encoded");
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ckpt_manifest a, b;
	struct nerr err = { 0 };
	char *first, *second;
	json_error_t je;
	json_t *o, *again;

	o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		return 0;
	if (ckpt_manifest_from_json(o, &a, &err) < 0) {
		check(err.code != 0 && err.msg[0], "a refusal without a message");
		check(!strchr(err.msg, '\n'), "a refusal of more than one line");
		json_decref(o);
		return 0;
	}
	json_decref(o);
	memset(&err, 0, sizeof(err));
	if (ckpt_manifest_compatible(&a, "x86_64", &err) < 0)
		check(err.msg[0] && !strchr(err.msg, '\n'), "an incompatibility not said in one line");
	/* another format is read no further (the compatibility check refuses it) */
	if (a.format != CKPT_FORMAT_VERSION) {
		ckpt_manifest_free(&a);
		return 0;
	}
	first = dump(&a);
	again = json_loads(first, 0, &je);
	check(again != NULL, "the written manifest is not JSON");
	memset(&err, 0, sizeof(err));
	if (ckpt_manifest_from_json(again, &b, &err) < 0) {
		fprintf(stderr, "%s\n%s\n", first, err.msg);
		check(false, "the written manifest is refused");
	}
	json_decref(again);
	second = dump(&b);
	if (strcmp(first, second))
		fprintf(stderr, "%s\n%s\n", first, second);
	check(!strcmp(first, second), "the round trip changed the manifest");
	free(first);
	free(second);
	ckpt_manifest_free(&a);
	ckpt_manifest_free(&b);
	return 0;
}
