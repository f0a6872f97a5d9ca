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
/* Whether the word `arg` of a run command line is a flag whose value is
 * the next word (`-e`, `--name`; not `--name=x`, `-t`, `-eK=V`). */
bool run_flag_takes_value(const char *arg);
int cmd_bundle(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_seccomp(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_rootfs(int argc, char **argv);
int cmd_compose(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_restore(int argc, char **argv);

/* Exit status when a named container does not exist (docker uses 1). */
#define EXIT_NO_CONTAINER 1

/* Resolve a name/id/prefix and read its state; prints the error. State
 * that cannot be trusted (another user's runtime directory, a symlink)
 * ends the command with EXIT_RUNTIME. */
int cli_lookup(const char *query, struct container_state *st);
/* Rows of strings printed with the columns aligned. */
struct text_table {
	size_t ncols;
	char ***rows;
	size_t nrows;
};
void text_table_add(struct text_table *t, ...);   /* ncols const char * cells */
void text_table_print(struct text_table *t, FILE *out);
/* Columns a string takes: UTF-8 lead bytes only. */
size_t display_width(const char *s);

/* "3 seconds", "About a minute", "2 hours" (docker's wording). */
void human_duration(uint64_t ns, char *buf, size_t len);

struct option;
/* getopt_long for every verb, with one difference: a long flag must be
 * spelled out in full. getopt_long takes any unambiguous abbreviation, so
 * adding a flag could change what an existing command line means (`--user`
 * read as `--userns`). Returns as getopt_long (callers set optind = 0 and
 * opterr = 0 first); '?' also for an abbreviated flag, ':' (when shortopts
 * begins with ':') only for an exactly named flag without its value. */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);
/* After '?' or ':' from cli_getopt: "unknown flag `--user`",
 * "flag `--name` needs a value", ... */
const char *cli_opterror(void);

/* Print "nucleus: <msg>" and return EXIT_RUNTIME. */
int cli_fail(const struct nerr *err);
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A verb made of sub-commands (`nucleus seccomp trace`, `nucleus rootfs
 * attest`): help without one (on stderr, 125) or with -h/--help, else the
 * named one called with argv from its own name on; an unknown one is a
 * usage error listing them. `subs` ends with a NULL name. */
struct cli_subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
};
int cli_subcommands(const char *verb, const char *help, const struct cli_subcommand *subs, int argc, char **argv);

#endif
