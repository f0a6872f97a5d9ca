/* For unit tests of `nucleus run`'s flags: parse an argv into a fresh
 * configuration, and read the environment it ends with. */
#ifndef NUCLEUS_TEST_RUN_ARGS_H
#define NUCLEUS_TEST_RUN_ARGS_H

#include <string.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>

/* argv and argc of `run ...` */
#define ARGS(...) (char *[]){ "run", __VA_ARGS__, NULL }
#define N(...) ((int)(sizeof((char *[]){ "run", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(c, e, ...) parse(c, e, N(__VA_ARGS__), ARGS(__VA_ARGS__))

/* run_parse_args on an initialised configuration and a cleared error */
static inline int parse(struct container_config *c, struct nerr *e, int argc, char **argv)
{
	container_config_init(c);
	memset(e, 0, sizeof(*e));
	return run_parse_args(argc, argv, c, e);
}

/* the value of K in a K=V list, or NULL */
static inline const char *env_get(char **env, const char *k)
{
	size_t n = strlen(k);

	for (size_t i = 0; env && env[i]; i++)
		if (!strncmp(env[i], k, n) && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

#endif
