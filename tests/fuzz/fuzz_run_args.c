/* libFuzzer target for the flag parser of `nucleus run`.
 *
 * The input is split at NUL bytes into arguments after "run". The parser
 * must return 0 (a valid configuration), 1 (--help) or <0 with a one-line
 * message, and never crash, leak or read out of bounds. Nothing is run:
 * run_parse_args only fills a configuration. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nucleus/cli.h"
#include "nucleus/container.h"

#define MAX_ARGS 64

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_run_args: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[MAX_ARGS + 2];
	struct container_config cfg;
	struct nerr err = { 0 };
	int argc = 0, r;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = "run";
	for (size_t i = 0; i <= size && argc < MAX_ARGS + 1;) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	container_config_init(&cfg);
	r = run_parse_args(argc, argv, &cfg, &err);
	check(r == 0 || r == 1 || r < 0, "an unexpected return");
	if (r < 0) {
		check(err.msg[0] != '\0', "an error without a message");
		check(!strchr(err.msg, '\n'), "a multi-line error");
	}
	if (r == 0)
		for (size_t i = 0; cfg.proc.env && cfg.proc.env[i]; i++)
			check(strchr(cfg.proc.env[i], '=') != NULL && strncmp(cfg.proc.env[i], "LD_", 3),
			      "a malformed or loader environment variable");
	container_config_free(&cfg);
	free(buf);
	return 0;
}
