/* Active LSMs and the lockdown mode, from securityfs. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <nucleus/ebpf.h>

static void read_trimmed(const char *path, char *buf, size_t len)
{
	_cleanup_free_ char *s = NULL;

	buf[0] = '\0';
	if (read_file(path, 4096, &s, NULL) < 0)
		return;
	s[strcspn(s, "\n")] = '\0';
	snprintf(buf, len, "%s", s);
}

/* "none [integrity] confidentiality" -> "integrity" */
static void pick_bracketed(char *s)
{
	char *a = strchr(s, '['), *b = a ? strchr(a, ']') : NULL;

	if (a && b) {
		*b = '\0';
		memmove(s, a + 1, strlen(a + 1) + 1);
	}
}

void host_security_read(struct host_security *hs)
{
	int pipefd[2];
	pid_t pid;

	memset(hs, 0, sizeof(*hs));
	read_trimmed("/sys/kernel/security/lsm", hs->lsm, sizeof(hs->lsm));
	read_trimmed("/sys/kernel/security/lockdown", hs->lockdown, sizeof(hs->lockdown));
	if (hs->lsm[0] || geteuid() != 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		pick_bracketed(hs->lockdown);
		return;
	}
	pid = fork();
	if (pid == 0) {
		struct host_security h = { 0 };

		close(pipefd[0]);
		if (unshare(CLONE_NEWNS) == 0 &&
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
		    mount("securityfs", "/sys/kernel/security", "securityfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0) {
			read_trimmed("/sys/kernel/security/lsm", h.lsm, sizeof(h.lsm));
			read_trimmed("/sys/kernel/security/lockdown", h.lockdown, sizeof(h.lockdown));
		}
		write_all(pipefd[1], &h, sizeof(h));
		_exit(0);
	}
	close(pipefd[1]);
	if (pid > 0) {
		if (read_all(pipefd[0], hs, sizeof(*hs)) != sizeof(*hs))
			memset(hs, 0, sizeof(*hs));
		waitpid(pid, NULL, 0);
	}
	close(pipefd[0]);
	hs->lsm[sizeof(hs->lsm) - 1] = '\0';
	hs->lockdown[sizeof(hs->lockdown) - 1] = '\0';
	pick_bracketed(hs->lockdown);
}

bool bpf_lsm_active(void)
{
	static int cached = -1;
	struct host_security hs;

	if (cached < 0) {
		host_security_read(&hs);
		cached = false;
		for (char *save = NULL, *t = strtok_r(hs.lsm, ",", &save); t; t = strtok_r(NULL, ",", &save))
			if (!strcmp(t, "bpf"))
				cached = true;
	}
	return cached;
}
