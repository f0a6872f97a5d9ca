/* nucleus: subcommand table and dispatch. */
#include <string.h>
#include <nucleus/cli.h>

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "run", cmd_run, "Run a command in a new sandboxed container" },
	{ "ps", cmd_ps, "List containers" },
	{ "stats", cmd_stats, "Show resource usage of running containers" },
	{ "stop", cmd_stop, "Stop containers (SIGTERM, then SIGKILL to the whole cgroup)" },
	{ "kill", cmd_kill, "Send a signal to a container's init process" },
	{ "rm", cmd_rm, "Remove containers" },
	{ "logs", cmd_logs, "Show the output of a detached container" },
	{ "inspect", cmd_inspect, "Show containers' configuration and state (health included) as JSON" },
	{ "attach", cmd_attach, "Run a command inside a running container, under its restrictions" },
	{ "seccomp", cmd_seccomp, "Record the syscalls of a container; generate a profile from them" },
	{ "rootfs", cmd_rootfs, "Attest a rootfs (its manifest of hashes) and verify it" },
	{ "audit", cmd_audit, "Show the audit events of containers (audit tail [-f])" },
	{ "checkpoint", cmd_checkpoint, "Save a running container to a directory with CRIU" },
	{ "restore", cmd_restore, "Start a container from a checkpoint directory" },
	{ "bundle", cmd_bundle, "Write the OCI runtime bundle of a run's options, without running it" },
	{ "compose", cmd_compose, "Run a topology of services from a TOML file (compose up, down, ps ...)" },
	{ "info", cmd_info, "Show what this host's kernel supports and what nucleus will enforce" },
	{ "version", cmd_version, "Show the version" },
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: nucleus [OPTIONS] COMMAND [ARG...]\n"
		"\n"
		"A minimal container runtime for agents and services, where eBPF does the watching.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\n"
		"Options:\n"
		"  -h, --help      Show this help\n"
		"  -v, --version   Show the version\n"
		"\n"
		"Run 'nucleus COMMAND --help' for more information on a command.\n");
}

int main(int argc, char **argv)
{
	log_init_from_env();
	/* as docker: the bare command is a request for help, not an error */
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))
		return cmd_version(argc - 1, argv + 1);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "nucleus: unknown command `%s` (see 'nucleus --help')\n", argv[1]);
	return EXIT_RUNTIME;
}
