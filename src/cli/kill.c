/* nucleus kill: a signal to each container's init. */
#include <getopt.h>
#include <signal.h>
#include <jansson.h>
#include <nucleus/audit.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>

static const char kill_help[] =
	"Usage: nucleus kill [OPTIONS] CONTAINER...\n"
	"\n"
	"Send a signal to each container's init process.\n"
	"\n"
	"Options:\n"
	"  -s, --signal SIG  Signal name or number (default KILL)\n"
	"  -h, --help        Show this help\n";

int cmd_kill(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "signal", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int sig = SIGKILL, c, status = 0;

	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "+:s:h", opts)) != -1) {
		switch (c) {
		case 's':
			if ((sig = signal_parse(optarg)) < 0)
				return cli_usage_error("kill", "invalid signal `%s`", optarg);
			break;
		case 'h': fputs(kill_help, stdout); return 0;
		case ':': return cli_usage_error("kill", "%s", cli_opterror());
		default: return cli_usage_error("kill", "%s", cli_opterror());
		}
	}
	if (optind >= argc)
		return cli_usage_error("kill", "no container given");
	for (int i = optind; i < argc; i++) {
		struct container_state st = { 0 };
		struct nerr err = { 0 };

		if (cli_lookup(argv[i], &st) < 0) {
			status = EXIT_NO_CONTAINER;
			continue;
		}
		if (st.audit && st.status == STATUS_RUNNING)
			audit_append(st.audit_path, st.cfg.id, st.cfg.name, "kill", json_pack("{s:i}", "signal", sig));
		if (container_signal(&st, sig, &err) < 0) {
			fprintf(stderr, "nucleus: %s\n", err.msg);
			status = 1;
		} else {
			printf("%s\n", argv[i]);
		}
		container_state_free(&st);
	}
	return status;
}
