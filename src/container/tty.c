/* -t: the caller's terminal in raw mode, bytes relayed to and from the pty
 * master the child passed us, window size kept in step. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include "internal.h"

struct tty_relay {
	int master;
	bool raw;
	struct termios saved;
};

struct tty_relay *tty_relay_start(int master, struct nerr *err)
{
	struct tty_relay *t = xcalloc(1, sizeof(*t));
	struct termios raw;

	(void)err;
	t->master = master;
	tty_relay_resize(t);
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) == 0) {
		raw = t->saved;
		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
			t->raw = true;
	}
	return t;
}

int tty_relay_fds(struct tty_relay *t, int *in, int *master)
{
	*in = STDIN_FILENO;
	*master = t->master;
	return 0;
}

void tty_relay_resize(struct tty_relay *t)
{
	struct winsize ws;

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 ||
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(t->master, TIOCSWINSZ, &ws);
}

int tty_relay_pump(struct tty_relay *t, int fd)
{
	char buf[16384];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (fd == t->master) {
		/* EIO: every slave fd is closed, the container side is gone. */
		if (n <= 0)
			return 1;
		write_all(STDOUT_FILENO, buf, (size_t)n);
		return 0;
	}
	if (n <= 0) {
		/* The caller's input ended: pass EOF on as the terminal would. */
		char eof = 4;
		write_all(t->master, &eof, 1);
		return -1;
	}
	write_all(t->master, buf, (size_t)n);
	return 0;
}

void tty_relay_stop(struct tty_relay *t)
{
	if (!t)
		return;
	if (t->raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
	close(t->master);
	free(t);
}
