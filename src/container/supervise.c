/* The supervising loop shared by run and attach: forward signals, relay the
 * tty, reap. */
#include <errno.h>
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

int wait_status(const siginfo_t *si)
{
	if (si->si_code == CLD_EXITED)
		return si->si_status;
	return 128 + si->si_status;
}

int supervise_loop(int wait_pidfd, int signal_pidfd, struct tty_relay *tty, int sfd,
		   const struct loop_extra *extra, size_t nextra, int *exit_code, struct nerr *err)
{
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
				else if (!exited)
					syscall(SYS_pidfd_send_signal, signal_pidfd, si.ssi_signo, NULL, 0);
			} else if (fd == wait_pidfd && !exited) {
				siginfo_t si = { 0 };

				if (waitid(P_PIDFD, (id_t)wait_pidfd, &si, WEXITED) == 0) {
					*exit_code = wait_status(&si);
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

