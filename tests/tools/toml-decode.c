/* toml-decode: the decoder interface of toml-test.
 * TOML on stdin -> tagged JSON on stdout, exit 0; or, for invalid TOML,
 * a message on stderr and exit 1. */
#include <stdio.h>
#include <stdlib.h>

#include "toml-json.h"

static char *read_stream(FILE *f, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);

	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);
		char *nb;

		n += got;
		if (got == 0)
			break;
		if (n < cap)
			continue;
		cap *= 2;
		nb = realloc(buf, cap);
		if (!nb)
			free(buf);
		buf = nb;
	}
	if (buf && ferror(f)) {
		free(buf);
		buf = NULL;
	}
	*len = n;
	return buf;
}

int main(void)
{
	struct toml_error err;
	struct toml_value *root;
	json_t *json;
	size_t len;
	char *text = read_stream(stdin, &len);
	int rc = 0;

	if (!text) {
		fprintf(stderr, "toml-decode: cannot read stdin\n");
		return 1;
	}
	root = toml_parse(text, len, &err);
	free(text);
	if (!root) {
		fprintf(stderr, "toml-decode: line %d, column %d: %s\n", err.line, err.column, err.msg);
		return 1;
	}
	json = toml_json_encode(root, 0);
	toml_free(root);
	if (!json || json_dumpf(json, stdout, JSON_INDENT(2)) < 0 || fputc('\n', stdout) == EOF ||
	    fflush(stdout) == EOF) {
		fprintf(stderr, "toml-decode: cannot write JSON\n");
		rc = 1;
	}
	json_decref(json);
	return rc;
}
