/* nucleus stop, kill, rm */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>
#include <nucleus/audit.h>
#include <jansson.h>

static const char stop_help[] =
	"Usage: nucleus stop [OPTIONS] CONTAINER...\n"
	"\n"
	"Send SIGTERM to each container's init; after the timeout, SIGKILL every process\n"
	"of its cgroup. Returns once the container has exited.\n"
	"\n"
	"Options:\n"
	"  -t, --time SECS   Seconds to wait before killing (default 10)\n"
	"  -h, --help        Show this help\n";

static const char kill_help[] =
	"Usage: nucleus kill [OPTIONS] CONTAINER...\n"
	"\n"
	"Send a signal to each container's init process.\n"
	"\n"
	"Options:\n"
	"  -s, --signal SIG  Signal name or number (default KILL)\n"
	"  -h, --help        Show this help\n";

static const char rm_help[] =
	"Usage: nucleus rm [OPTIONS] CONTAINER...\n"
	"\n"
	"Remove containers: their state, and whatever a crashed supervisor left behind\n"
	"(cgroups, names).\n"
	"\n"
	"Options:\n"
	"  -f, --force   Kill and remove a running container\n"
	"  -h, --help    Show this help\n";

int cmd_stop(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "time", required_argument, NULL, 't' }, { "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	uint64_t timeout = 10;
	int c, status = 0;

	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "+:t:h", opts)) != -1) {
		switch (c) {
		case 't':
			if (parse_u64(optarg, 0, 86400, &timeout) < 0)
				return cli_usage_error("stop", "invalid timeout `%s`", optarg);
			break;
		case 'h': fputs(stop_help, stdout); return 0;
		case ':': return cli_usage_error("stop", "%s", cli_opterror());
		default: return cli_usage_error("stop", "%s", cli_opterror());
		}
	}
	if (optind >= argc)
		return cli_usage_error("stop", "no container given");
	for (int i = optind; i < argc; i++) {
		struct container_state st = { 0 };
		struct nerr err = { 0 };

		if (cli_lookup(argv[i], &st) < 0) {
			status = EXIT_NO_CONTAINER;
			continue;
		}
		if (st.audit)
			audit_append(st.audit_path, st.id, st.name, "stop", json_pack("{s:I}", "timeout", (json_int_t)timeout));
		if (container_stop(st.id, (unsigned)timeout, &err) < 0) {
			fprintf(stderr, "nucleus: %s\n", err.msg);
			status = 1;
		} else {
			printf("%s\n", argv[i]);
		}
		container_state_free(&st);
	}
	return status;
}

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
			audit_append(st.audit_path, st.id, st.name, "kill", json_pack("{s:i}", "signal", sig));
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
			status = EXIT_NO_CONTAINER;
			continue;
		}
		struct container_state st = { 0 };
		if (state_read(id, &st, NULL) == 0 && st.audit)
			audit_append(st.audit_path, st.id, st.name, "rm", json_pack("{s:b}", "force", force));
		container_state_free(&st);
		if (container_remove(id, force, &err) < 0) {
			fprintf(stderr, "nucleus: %s\n", err.msg);
			status = 1;
		} else {
			printf("%s\n", argv[i]);
		}
	}
	return status;
}
