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
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/kvm.h>
#include <nucleus/oci.h>

#define HELP_MAX (256u << 10)

/* /dev/kvm opens and makes a VM (what runsc's kvm platform does first). */
static int kvm_usable(struct nerr *err)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm;

	if (fd < 0)
		return nerr_set(err, errno, "--gvisor-platform kvm: /dev/kvm (runsc's kvm platform needs KVM; "
				"ptrace works without)");
	vm = ioctl(fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		int e = errno;

		close(fd);
		return nerr_set(err, e, "--gvisor-platform kvm: /dev/kvm cannot create a virtual machine here "
				"(ptrace works without)");
	}
	close(vm);
	close(fd);
	return 0;
}

int runsc_platforms(const char *runsc, char ***platforms, char **dflt, struct nerr *err)
{
	char *argv[] = { (char *)runsc, "flags", NULL };
	const char *key = "which platform to use:";
	_cleanup_free_ char *help = NULL;
	char *p, *end;
	int rc, status;

	*platforms = NULL;
	*dflt = NULL;
	if ((rc = run_capture(argv, HELP_MAX, &help, &status)) < 0)
		return nerr_set(err, -rc, "run `%s flags`", runsc);
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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

/* What the platforms were for this very runsc binary (its device, inode,
 * size and change time), kept in the runtime directory: a `runsc flags`
 * costs a Go program's start (tens of milliseconds), every run. The file
 * is trusted as the state is (the caller's own, not writable by others);
 * anything else in it, or another binary, means asking runsc again. */
#define PLATFORMS_CACHE ".runsc-platforms"

static char *binary_key(const char *runsc)
{
	struct stat st;

	if (stat(runsc, &st) < 0)
		return NULL;
	return xasprintf("%s %llu %llu %lld %lld.%09ld", runsc, (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino, (long long)st.st_size, (long long)st.st_ctim.tv_sec,
			 st.st_ctim.tv_nsec);
}

/* "KEY\nDEFAULT\nP1 P2 ...\n" */
static bool cache_read(const char *key, char ***platforms, char **dflt)
{
	struct nerr e = { 0 };
	int dir = runtime_dir_fd(&e), fd;
	_cleanup_free_ char *text = NULL;
	char *save = NULL, *line;

	if (dir < 0 || (fd = open_trusted_at(dir, PLATFORMS_CACHE, O_RDONLY, 0, S_IFREG, "cache", PLATFORMS_CACHE,
					       &e)) < 0)
		return false;
	if (read_fd(fd, 4096, &text, NULL) < 0) {
		close(fd);
		return false;
	}
	close(fd);
	if (!(line = strtok_r(text, "\n", &save)) || strcmp(line, key) || !(line = strtok_r(NULL, "\n", &save)))
		return false;
	*dflt = strcmp(line, "-") ? xstrdup(line) : NULL;
	if (!(line = strtok_r(NULL, "\n", &save))) {
		free(*dflt);
		*dflt = NULL;
		return false;
	}
	for (char *s2 = NULL, *t = strtok_r(line, " ", &s2); t; t = strtok_r(NULL, " ", &s2))
		strv_push(platforms, t);
	return *platforms != NULL;
}

static void cache_write(const char *key, char **platforms, const char *dflt)
{
	struct nerr e = { 0 };
	int dir = runtime_dir_fd(&e);
	_cleanup_free_ char *list = strv_join(platforms, " ");
	_cleanup_free_ char *text = xasprintf("%s\n%s\n%s\n", key, dflt ? dflt : "-", list);

	if (dir >= 0)
		write_file_atomic_at(dir, PLATFORMS_CACHE, text, strlen(text), 0600);
}

int runsc_check_platform(const char *runsc, const char *platform, struct nerr *err)
{
	_cleanup_strv_ char **have = NULL;
	_cleanup_free_ char *dflt = NULL, *list = NULL, *key = NULL;
	int rc;

	/* none asked for: runsc's own default, which it has */
	if (!platform)
		return 0;
	key = binary_key(runsc);
	if (!key || !cache_read(key, &have, &dflt)) {
		strv_free(have);
		have = NULL;
		if ((rc = runsc_platforms(runsc, &have, &dflt, err)) < 0)
			return rc;
		if (key)
			cache_write(key, have, dflt);
	}
	if (!strv_contains(have, platform)) {
		list = strv_join(have, ", ");
		return nerr_set(err, 0, "--gvisor-platform %s: this runsc (%s) offers %s", platform, runsc, list);
	}
	/* kvm needs a KVM that works: say so now, not as runsc's panic or
	 * hang later */
	if (!strcmp(platform, "kvm") && (rc = kvm_usable(err)) < 0)
		return rc;
	return 0;
}
