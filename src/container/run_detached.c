/* -d: the supervisor in a new session, in the background; the caller
 * waits only for the outcome of the start. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <nucleus/container.h>
#include "internal.h"

static int start_run(struct container_config *c, const void *arg, int notify_fd, int *exit_code, struct nerr *err)
{
	(void)arg;
	return container_run_notify(c, notify_fd, exit_code, err);
}

int container_run_detached(struct container_config *c, int *exit_code, struct nerr *err)
{
	return container_detach(start_run, c, NULL, exit_code, err);
}

int container_detach(int (*start)(struct container_config *c, const void *arg, int notify_fd, int *exit_code,
				  struct nerr *err),
		     struct container_config *c, const void *arg, int *exit_code, struct nerr *err)
{
	int p[2], status;
	char msg[1200];
	ssize_t n;
	pid_t pid;

	*exit_code = 125;
	if (pipe2(p, O_CLOEXEC) < 0)
		return nerr_set(err, errno, "pipe");
	pid = fork();
	if (pid < 0)
		return nerr_set(err, errno, "fork");
	if (pid == 0) {
		/* A new session, and a grandchild as the supervisor, so that it
		 * belongs to no terminal and outlives the caller's shell. */
		struct nerr e = { 0 };
		int code;

		close(p[0]);
		setsid();
		pid = fork();
		if (pid != 0)
			_exit(pid < 0 ? 1 : 0);
		start(c, arg, p[1], &code, &e);
		_exit(code);
	}
	close(p[1]);
	waitpid(pid, &status, 0);
	n = read_all(p[0], msg, sizeof(msg) - 1);
	close(p[0]);
	if (n <= 0)
		return nerr_set(err, EIO, "the supervisor ended before the container started");
	msg[n] = '\0';
	if (!strncmp(msg, "ok", 2)) {
		*exit_code = 0;
		return 0;
	}
	*exit_code = atoi(msg);
	nerr_set(err, 0, "%s", strchr(msg, ' ') ? strchr(msg, ' ') + 1 : msg);
	return *exit_code == 125 ? -EIO : 0;
}
