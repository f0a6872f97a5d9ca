/* nucleus checkpoint and nucleus restore (src/checkpoint/, CRIU). */
#include <getopt.h>
#include <nucleus/checkpoint.h>
#include <nucleus/cli.h>

static const char checkpoint_help[] =
	"Usage: nucleus checkpoint [OPTIONS] CONTAINER --output DIR\n"
	"\n"
	"Save a running container to DIR with CRIU: its process tree (from its init,\n"
	"pid 1 of its pid namespace), memory, namespaces and the content of its tmpfs\n"
	"mounts (/tmp, the root); the host's binds, volumes and /context are recorded\n"
	"as external. DIR also gets the configuration, a manifest and an integrity\n"
	"checksum (sha256 over the files, checked at restore). The container ends, as a\n"
	"checkpointed exit, unless --leave-running. Needs root and a kernel CRIU works\n"
	"on (`nucleus info` shows `criu check`); --network bridge, user namespaces,\n"
	"terminals (-t), seccomp listeners and secrets are refused.\n"
	"\n"
	"Options:\n"
	"  -o, --output DIR      Where to write the checkpoint (created; empty if it exists)\n"
	"      --leave-running   Keep the container running after the dump\n"
	"  -h, --help            Show this help\n";

static const char restore_help[] =
	"Usage: nucleus restore [OPTIONS] --input DIR\n"
	"\n"
	"Start a new container from a checkpoint made by `nucleus checkpoint`: its\n"
	"processes continue where they were, under a new supervisor, with a new id,\n"
	"its cgroup and limits written again by nucleus, its BPF egress and audit\n"
	"programs attached again, a new network namespace with lo (--network none).\n"
	"A checkpoint of another format, architecture or nucleus major.minor, or one\n"
	"that does not match its integrity checksum, is refused. Without -d it stays\n"
	"in the foreground until the workload exits, as `nucleus run`.\n"
	"\n"
	"Options:\n"
	"  -i, --input DIR   The checkpoint directory\n"
	"      --name NAME   The restored container's name (default: the checkpoint's,\n"
	"                    which must be free)\n"
	"  -d, --detach      Run in the background and print the new container's id\n"
	"  -h, --help        Show this help\n";

int cmd_checkpoint(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' }, { "leave-running", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *name = NULL;
	bool leave = false;
	struct nerr err = { 0 };
	int c;

	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, ":o:h", opts)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'L': leave = true; break;
		case 'h': fputs(checkpoint_help, stdout); return 0;
		default: return cli_usage_error("checkpoint", "%s", cli_opterror());
		}
	}
	if (optind < argc)
		name = argv[optind++];
	if (!name)
		return cli_usage_error("checkpoint", "no container given");
	if (optind < argc)
		return cli_usage_error("checkpoint", "unexpected argument `%s`", argv[optind]);
	if (!out)
		return cli_usage_error("checkpoint", "--output DIR is required");
	if (container_checkpoint(name, out, leave, &err) < 0)
		return cli_fail(&err);
	return 0;
}

int cmd_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' }, { "name", required_argument, NULL, 'n' },
		{ "detach", no_argument, NULL, 'd' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *in = NULL, *name = NULL;
	bool detach = false;
	struct nerr err = { 0 };
	int c, exit_code = EXIT_RUNTIME;

	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "+:i:dh", opts)) != -1) {
		switch (c) {
		case 'i': in = optarg; break;
		case 'n': name = optarg; break;
		case 'd': detach = true; break;
		case 'h': fputs(restore_help, stdout); return 0;
		default: return cli_usage_error("restore", "%s", cli_opterror());
		}
	}
	if (optind < argc)
		return cli_usage_error("restore", "unexpected argument `%s`", argv[optind]);
	if (!in)
		return cli_usage_error("restore", "--input DIR is required");
	if (name && !container_name_valid(name))
		return cli_usage_error("restore", "invalid --name `%s`: only [a-zA-Z0-9][a-zA-Z0-9_.-], at most 63 "
				       "characters", name);
	if (container_restore(in, name, detach, &exit_code, &err) < 0)
		return cli_fail(&err);
	if (err.code)
		fprintf(stderr, "nucleus: %s\n", err.msg);
	return exit_code;
}
