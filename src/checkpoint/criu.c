/* The criu binary. nucleus runs it rather than speaking libcriu's RPC
 * (`criu swrk` over a socket, protobuf-c): the RPC is served by the same
 * binary, so it needs the binary anyway and would add libcriu and
 * protobuf-c to the build and the VM image; every option nucleus passes
 * has a command-line form of the same meaning; `criu check` (what decides
 * whether nucleus tries at all) is a command of the binary only; and a
 * dump or restore is one argv an operator can replay or compare by hand
 * (the benchmark does). What the RPC would give besides (notifications
 * between stages) nucleus does not need: the restored tree is placed in
 * its cgroup by starting criu there, not by a callback. */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <nucleus/checkpoint.h>

static char *find_criu(void)
{
	static const char *const dirs[] = { "/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/bin" };
	const char *env = getenv("NUCLEUS_CRIU");
	char *found;

	if (env && *env)
		return access(env, X_OK) == 0 ? xstrdup(env) : NULL;
	if ((found = find_program("criu")) && found[0] == '/')
		return found;
	free(found);
	/* root's tools where a $PATH without sbin would miss them */
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *p = xasprintf("%s/criu", dirs[i]);

		if (access(p, X_OK) == 0)
			return xstrdup(p);
	}
	return NULL;
}

/* "Error (criu/vdso.c:381): vdso: Unexpected ..." -> "vdso: Unexpected ..." */
static const char *error_text(const char *line)
{
	const char *p = strstr(line, "): ");

	return p && !strncmp(line, "Error (", 7) ? p + 3 : line;
}

/* A log's line: "(00.241099) Error (criu/...): what" */
static char *untimed(char *l)
{
	if (l[0] == '(' && strchr(l, ')') && strchr(l, ')')[1] == ' ')
		return strchr(l, ')') + 2;
	return l;
}

/* `first`: the first error line (a log's root cause; its last one says
 * only "Dumping FAILED."), else the last (criu check's summary, with the
 * first in parentheses when they differ). */
static void reason_of(const char *text, bool first_only, char *buf, size_t len)
{
	_cleanup_free_ char *copy = xstrdup(text ? text : "");
	const char *first = NULL, *last = NULL, *any = NULL;
	char *save = NULL;

	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		l = untimed(l);
		if (!*l)
			continue;
		any = l;
		if (strstr(l, "Error (") == l) {
			if (!first)
				first = l;
			last = l;
		}
	}
	if (!last) {
		snprintf(buf, len, "%s", any ? any : "no output");
		return;
	}
	if (first_only)
		snprintf(buf, len, "%s", error_text(first));
	else if (first != last)
		snprintf(buf, len, "%s (%s)", error_text(last), error_text(first));
	else
		snprintf(buf, len, "%s", error_text(last));
}

void criu_log_reason(const char *log, char *buf, size_t len)
{
	_cleanup_free_ char *text = NULL;
	size_t n = 0;

	if (read_file(log, 16 << 20, &text, &n) < 0) {
		snprintf(buf, len, "see %s", log);
		return;
	}
	reason_of(text, true, buf, len);
}

/* What criu prints for --version and check is short; a failure's reason is
 * at its end. */
#define CRIU_OUTPUT_MAX 65535

void criu_probe(struct criu_info *ci, bool check)
{
	_cleanup_free_ char *out = NULL;
	int status;

	memset(ci, 0, sizeof(*ci));
	if (!(ci->path = find_criu())) {
		snprintf(ci->reason, sizeof(ci->reason), "criu not found (install the criu package)");
		return;
	}
	{
		char *argv[] = { ci->path, "--version", NULL };

		if (run_capture(argv, CRIU_OUTPUT_MAX, &out, &status) == 0) {
			const char *v = strstr(out, "Version: ");

			if (v)
				snprintf(ci->version, sizeof(ci->version), "%.*s", (int)strcspn(v + 9, "\n"), v + 9);
		}
		free(out);
		out = NULL;
	}
	if (!check)
		return;
	{
		char *argv[] = { ci->path, "check", NULL };
		int rc = run_capture(argv, CRIU_OUTPUT_MAX, &out, &status);

		if (rc < 0) {
			snprintf(ci->reason, sizeof(ci->reason), "cannot run %s: %s", ci->path, strerror(-rc));
			return;
		}
		ci->works = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (!ci->works)
			reason_of(out, false, ci->reason, sizeof(ci->reason));
	}
}

void criu_info_free(struct criu_info *ci)
{
	free(ci->path);
	memset(ci, 0, sizeof(*ci));
}

int criu_require(struct criu_info *ci, struct nerr *err)
{
	criu_probe(ci, true);
	if (!ci->path)
		return CKPT_FAIL(err, ENOENT, "CRIU is not available: %s", ci->reason);
	if (!ci->works)
		return CKPT_FAIL(err, EOPNOTSUPP, "CRIU cannot work on this host: criu check failed: %s", ci->reason);
	return 0;
}

int criu_run(char *const *argv, const char *stage, const char *log, const struct criu_fd *keep, size_t nkeep,
	     int cgroup_fd, struct nerr *err)
{
	int status, report[2], e = 0;
	pid_t pid;

	if (pipe2(report, O_CLOEXEC) < 0)
		return nerr_set(err, errno, "pipe");
	if ((pid = fork()) < 0) {
		close(report[0]);
		close(report[1]);
		return nerr_set(err, errno, "fork");
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* each fd to pass on: moved out of the way first, then into place
		 * (a target may be another's source) */
		int moved[16];

		if (null < 0 || nkeep > ARRAY_SIZE(moved))
			_exit(127);
		for (size_t i = 0; i < nkeep; i++)
			if ((moved[i] = fcntl(keep[i].from, F_DUPFD_CLOEXEC, 100)) < 0)
				goto fail;
		if (dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			goto fail;
		for (size_t i = 0; i < nkeep; i++)
			if (dup2(moved[i], keep[i].to) < 0)
				goto fail;
		/* the restored tree is born in the cgroup criu runs in */
		if (cgroup_fd >= 0) {
			char me[16];

			snprintf(me, sizeof(me), "%d", (int)getpid());
			if (write_str_at(cgroup_fd, "cgroup.procs", me) < 0)
				goto fail;
		}
		/* not the supervisor's blocked signals (criu waits for its own) */
		{
			sigset_t none;

			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
		}
		execv(argv[0], argv);
fail:
		e = errno;
		(void)!write(report[1], &e, sizeof(e));
		_exit(127);
	}
	close(report[1]);
	if (read(report[0], &e, sizeof(e)) != sizeof(e))
		e = 0;
	close(report[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (e)
		return nerr_set(err, e, "start criu %s", stage);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		char why[512];

		if (log)
			criu_log_reason(log, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "status %d", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		nerr_set(err, 0, "criu %s failed: %s", stage, why);
		err->code = EIO;
		return -EIO;
	}
	return 0;
}
