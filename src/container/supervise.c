/* The supervising loop shared by run and attach: forward signals, relay the
 * tty, reap. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "internal.h"

static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

int forward_signals_block(sigset_t *orig)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&mask, forwarded[i]);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, orig);
	sigdelset(&mask, SIGCHLD);
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

/* One bit of a /proc/<pid>/status signal mask line ("SigCgt:\t...hex"). */
static bool mask_has(const char *status, const char *field, int sig)
{
	const char *p = strstr(status, field);
	unsigned long long m;

	return p && sscanf(p + strlen(field), " %llx", &m) == 1 && (m >> (sig - 1)) & 1;
}

/* A pid namespace's init gets a signal from outside only when it has a
 * handler (or blocks it): a program run as pid 1 without one (sleep) would ignore Ctrl-C
 * and `kill`. When the init neither catches nor ignores a signal whose
 * default is to terminate, the supervisor ends the container as the
 * signal would have ended an ordinary process. */
static bool init_ignores_by_default(pid_t init, int sig)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	if (sig == SIGWINCH)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)init);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	if (mask_has(buf, "SigCgt:", sig) || mask_has(buf, "SigIgn:", sig) || mask_has(buf, "SigBlk:", sig))
		return false;     /* handled, ignored on purpose, or queued */
	/* An init waiting in sigwaitinfo (tini, dumb-init, --init) has the
	 * waited signals out of SigBlk for the wait, and gets them. */
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)init);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			if (atol(buf) == SYS_rt_sigtimedwait)
				return false;
		}
	}
	return true;
}

int wait_status(const siginfo_t *si)
{
	if (si->si_code == CLD_EXITED)
		return si->si_status;
	return 128 + si->si_status;
}

int supervise_loop(int wait_pidfd, int signal_pidfd, pid_t init, struct tty_relay *tty, int sfd,
		   const struct loop_extra *extra, size_t nextra, int *exit_code, struct nerr *err)
{
	return supervise_loop_hooked(wait_pidfd, signal_pidfd, init, tty, sfd, extra, nextra, NULL, NULL, exit_code,
				     err);
}

int supervise_loop_hooked(int wait_pidfd, int signal_pidfd, pid_t init, struct tty_relay *tty, int sfd,
			  const struct loop_extra *extra, size_t nextra, void (*on_signal)(int sig, void *arg),
			  void *arg, int *exit_code, struct nerr *err)
{
	int ended_by = 0;     /* the signal the supervisor ended the init for */
	_cleanup_close_ int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };
	int in = -1, master = -1;
	bool exited = false;

	if (ep < 0)
		return nerr_set(err, errno, "epoll_create1");
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = wait_pidfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, wait_pidfd, &ev);
	for (size_t i = 0; i < nextra; i++) {
		if (extra[i].fd < 0)
			continue;
		ev.data.fd = extra[i].fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, extra[i].fd, &ev);
	}
	if (tty) {
		tty_relay_fds(tty, &in, &master);
		ev.data.fd = master;
		epoll_ctl(ep, EPOLL_CTL_ADD, master, &ev);
		ev.data.fd = in;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, in, &ev) < 0)
			in = -1;     /* e.g. /dev/null: not pollable, nothing to relay */
	}
	/* With a tty, keep relaying until the pty drains after the exit. */
	while (!exited || master >= 0) {
		struct epoll_event evs[8];
		int n = epoll_wait(ep, evs, 8, exited ? 100 : -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return nerr_set(err, errno, "epoll_wait");
		}
		if (n == 0 && exited)
			break;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == sfd) {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGWINCH && tty)
					tty_relay_resize(tty);
				else if (!exited) {
					int sig = (int)si.ssi_signo;

					if (on_signal)
						on_signal(sig, arg);
					/* asked before sending: an init woken by the
					 * signal is briefly in neither state */
					bool dropped = init > 0 && !ended_by && init_ignores_by_default(init, sig);

					syscall(SYS_pidfd_send_signal, signal_pidfd, sig, NULL, 0);
					if (dropped) {
						log_debug("init has no handler for signal %d: ending the container", sig);
						ended_by = sig;
						syscall(SYS_pidfd_send_signal, signal_pidfd, SIGKILL, NULL, 0);
					}
				}
			} else if (fd == wait_pidfd && !exited) {
				siginfo_t si = { 0 };

				if (waitid(P_PIDFD, (id_t)wait_pidfd, &si, WEXITED) == 0) {
					*exit_code = wait_status(&si);
					if (ended_by && si.si_code == CLD_KILLED && si.si_status == SIGKILL)
						*exit_code = 128 + ended_by;
					exited = true;
					epoll_ctl(ep, EPOLL_CTL_DEL, wait_pidfd, NULL);
				}
			} else if (fd == master) {
				if (tty_relay_pump(tty, master) == 1) {
					epoll_ctl(ep, EPOLL_CTL_DEL, master, NULL);
					master = -1;
				}
			} else if (fd == in) {
				if (tty_relay_pump(tty, in) < 0) {
					epoll_ctl(ep, EPOLL_CTL_DEL, in, NULL);
					in = -1;
				}
			} else {
				for (size_t k = 0; k < nextra; k++)
					if (fd == extra[k].fd)
						extra[k].ready(extra[k].arg);
			}
		}
	}
	return 0;
}

