/* cli: one function per verb; main.c dispatches to them. Each parses its
 * own flags and returns the process exit status. */
#ifndef NUCLEUS_CLI_H
#define NUCLEUS_CLI_H

#include <nucleus/util.h>
#include <nucleus/container.h>

/* Exit status of nucleus's own failures (bad input, setup errors). */
#define EXIT_RUNTIME 125

int cmd_run(int argc, char **argv);
/* The flag parser of `run` (also the fuzz target). Returns 0, 1 for
 * --help, or <0 with err set. */
int run_parse_args(int argc, char **argv, struct container_config *cfg, struct nerr *err);
int cmd_info(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* Print "nucleus: <msg>" and return EXIT_RUNTIME. */
int cli_fail(const struct nerr *err);
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
