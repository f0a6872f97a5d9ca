/* nucleus stop, kill, rm */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>
#include <nucleus/audit.h>
#include <jansson.h>

static const char stop_help[] =
	"Usage: nucleus stop [OPTIONS] CONTAINER...\n"
	"\n"
	"Send SIGTERM to each container's init; after the timeout, SIGKILL every process\n"
	"of its cgroup. Containers are stopped in parallel; each name is printed once\n"
	"its container has exited.\n"
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

/* One container's stop; 0, 1, or EXIT_NO_CONTAINER. */
static int stop_one(const char *query, uint64_t timeout)
{
	struct container_state st = { 0 };
	struct nerr err = { 0 };
	int status = 0;

	if (cli_lookup(query, &st) < 0)
		return EXIT_NO_CONTAINER;
	if (st.audit)
		audit_append(st.audit_path, st.cfg.id, st.cfg.name, "stop", json_pack("{s:I}", "timeout", (json_int_t)timeout));
	if (container_stop(st.cfg.id, (unsigned)timeout, &err) < 0) {
		fprintf(stderr, "nucleus: %s\n", err.msg);
		status = 1;
	}
	container_state_free(&st);
	return status;
}

/* At most this many stops wait at once (as docker's parallel operations). */
#define STOP_PARALLEL 50

int cmd_stop(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "time", required_argument, NULL, 't' }, { "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	uint64_t timeout = 10;
	_cleanup_free_ pid_t *workers = NULL;
	size_t n, next = 0, running = 0;
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
		default: return cli_usage_error("stop", "%s", cli_opterror());
		}
	}
	if (optind >= argc)
		return cli_usage_error("stop", "no container given");
	/* Each stop may wait the whole timeout: one worker per container, so
	 * stopping ten takes one timeout, not ten. Names are printed as their
	 * stops complete. */
	argv += optind;
	n = (size_t)(argc - optind);
	workers = xcalloc(n, sizeof(*workers));
	fflush(stdout);
	fflush(stderr);
	while (next < n || running) {
		int ws, r;
		pid_t pid;
		size_t i;

		while (next < n && running < STOP_PARALLEL) {
			pid = fork();
			if (pid == 0) {
				r = stop_one(argv[next], timeout);
				fflush(stderr);
				_exit(r);
			}
			if (pid < 0) {
				/* no worker: stop it from here */
				if ((r = stop_one(argv[next], timeout)) == 0)
					printf("%s\n", argv[next]);
				else
					status = r;
				fflush(stdout);
				next++;
				continue;
			}
			workers[next++] = pid;
			running++;
		}
		if (!running)
			break;
		pid = waitpid(-1, &ws, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < next && workers[i] != pid; i++)
			;
		if (i == next)
			continue;
		running--;
		workers[i] = 0;
		r = WIFEXITED(ws) ? WEXITSTATUS(ws) : 1;
		if (r == 0) {
			printf("%s\n", argv[i]);
			fflush(stdout);
		} else {
			status = r;
		}
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
