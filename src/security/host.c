/* What the host's kernel offers, found by asking it. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/seccomp.h>
#include <nucleus/security.h>

const char *const seccomp_action_names[] = {
	"kill_process", "kill_thread", "trap", "errno", "user_notif", "trace", "log", "allow", NULL,
};
static const uint32_t actions[] = {
	SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD, SECCOMP_RET_TRAP, SECCOMP_RET_ERRNO,
	SECCOMP_RET_USER_NOTIF, SECCOMP_RET_TRACE, SECCOMP_RET_LOG, SECCOMP_RET_ALLOW,
};

const char *const seccomp_flag_names[] = {
	"tsync", "log", "spec_allow", "new_listener", "tsync_esrch", "wait_killable_recv", NULL,
};
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
static const unsigned long flags[] = {
	SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW,
	SECCOMP_FILTER_FLAG_NEW_LISTENER, SECCOMP_FILTER_FLAG_TSYNC_ESRCH,
	SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
};

void seccomp_probe(struct seccomp_caps *c)
{
	memset(c, 0, sizeof(*c));
	c->available = syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &actions[7]) == 0;
	for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
		if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &actions[i]) == 0)
			c->actions |= 1u << i;
	/* A known flag gets as far as reading the (NULL) program: EFAULT.
	 * An unknown one is refused first with EINVAL. */
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		unsigned long f = flags[i];

		if (f == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
			f |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f, NULL) < 0 && errno == EFAULT)
			c->flags |= 1u << i;
	}
}

