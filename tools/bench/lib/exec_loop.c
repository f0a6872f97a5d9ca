/* exec_loop [-i MICROSECONDS] [-g FILE] [-t SECONDS] COUNT PROGRAM [ARG...]
 *
 * COUNT times: fork, exec PROGRAM with ARG... and the iteration number
 * (0, 1, ...) as its last argument, wait for it; it must exit 0. With -i,
 * sleep that long between two of them. With -g, first wait (at most -t
 * seconds, default 60) until FILE exists: a start signal from outside.
 *
 * The exec-heavy workload and the event source of tools/bench/audit.sh,
 * built there with `gcc -static -O2`. Exit: 0; 1 when a child failed; 2 on
 * bad usage; 3 when FILE never appeared. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

static int number(const char *s, unsigned long long *out)
{
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static void sleep_us(unsigned long long us)
{
	struct timespec ts = { .tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	unsigned long long interval = 0, timeout = 60, count, waited = 0;
	const char *go = NULL;
	char idx[32];
	int c;

	while ((c = getopt(argc, argv, "+i:g:t:")) != -1) {
		switch (c) {
		case 'i': if (number(optarg, &interval) < 0) goto usage; break;
		case 'g': go = optarg; break;
		case 't': if (number(optarg, &timeout) < 0) goto usage; break;
		default: goto usage;
		}
	}
	if (argc - optind < 2 || number(argv[optind], &count) < 0)
		goto usage;

	int nargs = argc - optind - 1;            /* PROGRAM and its ARGs */
	char **args = calloc((size_t)nargs + 2, sizeof(char *));
	if (!args)
		return 1;
	memcpy(args, argv + optind + 1, (size_t)nargs * sizeof(char *));
	args[nargs] = idx;

	if (go) {
		while (access(go, F_OK) < 0) {
			if (waited >= timeout * 1000) {
				fprintf(stderr, "exec_loop: %s did not appear in %llu s\n", go, timeout);
				return 3;
			}
			sleep_us(1000);
			waited++;
		}
	}
	for (unsigned long long i = 0; i < count; i++) {
		int status;
		pid_t pid;

		snprintf(idx, sizeof(idx), "%llu", i);
		pid = fork();
		if (pid < 0) {
			perror("exec_loop: fork");
			return 1;
		}
		if (pid == 0) {
			execv(args[0], args);
			_exit(127);
		}
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR) {
				perror("exec_loop: waitpid");
				return 1;
			}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "exec_loop: %s (run %llu) failed: status 0x%x\n", args[0], i, status);
			return 1;
		}
		if (interval && i + 1 < count)
			sleep_us(interval);
	}
	return 0;
usage:
	fprintf(stderr, "usage: exec_loop [-i MICROSECONDS] [-g FILE] [-t SECONDS] COUNT PROGRAM [ARG...]\n");
	return 2;
}
