/* nucleus stop: SIGTERM, then after the timeout SIGKILL, each container in
 * a worker of its own. */
#include <errno.h>
#include <getopt.h>
#include <sys/wait.h>
#include <jansson.h>
#include <nucleus/audit.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>

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
