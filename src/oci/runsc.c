/* What the installed runsc offers: its platforms, read from its own flag
 * help (`runsc flags`: "specifies which platform to use: ptrace (default),
 * kvm."), so a platform it lacks is refused naming the ones it has, before
 * anything exists. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <nucleus/oci.h>

#define HELP_MAX (256u << 10)

/* argv's stdout and stderr, up to HELP_MAX bytes; its exit status. */
static int capture(char *const *argv, char **out, struct nerr *err)
{
	int p[2], status, rc;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return nerr_set(err, errno, "pipe");
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return nerr_set(err, errno, "fork");
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(p[1], STDOUT_FILENO) < 0 ||
		    dup2(p[1], STDERR_FILENO) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	rc = read_fd(p[0], HELP_MAX, out, NULL);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc < 0)
		return nerr_set(err, -rc, "read the output of `%s %s`", argv[0], argv[1]);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int runsc_platforms(const char *runsc, char ***platforms, char **dflt, struct nerr *err)
{
	char *argv[] = { (char *)runsc, "flags", NULL };
	const char *key = "which platform to use:";
	_cleanup_free_ char *help = NULL;
	char *p, *end;
	int rc;

	*platforms = NULL;
	*dflt = NULL;
	if ((rc = capture(argv, &help, err)) < 0)
		return rc;
	if (!(p = strstr(help, key)))
		return nerr_set(err, 0, "`%s flags` does not list the platforms (exit status %d)", runsc, rc);
	p += strlen(key);
	/* the list ends with the sentence: "ptrace (default), kvm." */
	for (end = p; *end && *end != '\n' && !(*end == '.' && (!end[1] || isspace((unsigned char)end[1]))); end++)
		;
	*end = '\0';
	for (char *save = NULL, *item = strtok_r(p, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char name[64];
		bool is_default = strstr(item, "(default)") != NULL;

		if (sscanf(item, " %63[a-z0-9_-]", name) != 1)
			continue;
		strv_push(platforms, name);
		if (is_default && !*dflt)
			*dflt = xstrdup(name);
	}
	if (!*platforms)
		return nerr_set(err, 0, "`%s flags` lists no platform", runsc);
	return 0;
}

int runsc_check_platform(const char *runsc, const char *platform, struct nerr *err)
{
	_cleanup_strv_ char **have = NULL;
	_cleanup_free_ char *dflt = NULL, *list = NULL;
	int rc;

	if ((rc = runsc_platforms(runsc, &have, &dflt, err)) < 0)
		return rc;
	if (!platform)
		platform = dflt;
	if (platform && !strv_contains(have, platform)) {
		list = strv_join(have, ", ");
		return nerr_set(err, 0, "--gvisor-platform %s: this runsc (%s) offers %s", platform, runsc, list);
	}
	/* kvm needs the device: say so now, not as runsc's panic later */
	if (platform && !strcmp(platform, "kvm") && access("/dev/kvm", R_OK | W_OK) < 0)
		return nerr_set(err, errno, "--gvisor-platform kvm: /dev/kvm (runsc's kvm platform needs KVM; "
				"ptrace works without)");
	return 0;
}
