/* nucleus rm: a container's state, and what a crashed supervisor left. */
#include <getopt.h>
#include <jansson.h>
#include <nucleus/audit.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>

static const char rm_help[] =
	"Usage: nucleus rm [OPTIONS] CONTAINER...\n"
	"\n"
	"Remove containers: their state, and whatever a crashed supervisor left behind\n"
	"(cgroups, names).\n"
	"\n"
	"Options:\n"
	"  -f, --force   Kill and remove a running container\n"
	"  -h, --help    Show this help\n";

int cmd_rm(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool force = false;
	int c, status = 0;

	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "+fh", opts)) != -1) {
		switch (c) {
		case 'f': force = true; break;
		case 'h': fputs(rm_help, stdout); return 0;
		default: return cli_usage_error("rm", "%s", cli_opterror());
		}
	}
	if (optind >= argc)
		return cli_usage_error("rm", "no container given");
	for (int i = optind; i < argc; i++) {
		struct nerr err = { 0 };
		char id[33];

		/* A crashed entry may have no readable state: look up by id only. */
		if (state_lookup(argv[i], id, &err) < 0) {
			fprintf(stderr, "nucleus: %s\n", err.msg);
			if (trust_refused(&err))
				return EXIT_RUNTIME;
			status = EXIT_NO_CONTAINER;
			continue;
		}
		struct container_state st = { 0 };
		if (state_read(id, &st, NULL) == 0 && st.audit)
			audit_append(st.audit_path, st.cfg.id, st.cfg.name, "rm", json_pack("{s:b}", "force", force));
		container_state_free(&st);
		if (container_remove(id, force, &err) < 0) {
			fprintf(stderr, "nucleus: %s\n", err.msg);
			status = trust_refused(&err) ? EXIT_RUNTIME : 1;
		} else {
			printf("%s\n", argv[i]);
		}
	}
	return status;
}
