/* journald: libsystemd's sd_journal_sendv, opened with dlopen on first use
 * so that nucleus runs where libsystemd is absent, and costs no loader work
 * where the journal is not used. libsystemd passes an entry too large for
 * one datagram through a memfd; without it the native protocol is spoken
 * on the socket the audit log connected (log.c), one datagram an entry. */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <nucleus/util.h>
#include "journal.h"

static int (*p_sd_journal_sendv)(const struct iovec *iov, int n);
static enum { UNTRIED, LOADED, ABSENT } lib_state;

static void journal_lib_load(void)
{
	void *h;

	lib_state = ABSENT;
	if (!(h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL))) {
		log_debug("journal: libsystemd not loaded (%s): the native protocol", dlerror());
		return;
	}
	if (!(p_sd_journal_sendv = (int (*)(const struct iovec *, int))dlsym(h, "sd_journal_sendv"))) {
		log_debug("journal: libsystemd.so.0 lacks sd_journal_sendv: the native protocol");
		dlclose(h);
		return;
	}
	lib_state = LOADED;
	log_debug("journal: libsystemd loaded");
}

void journal_send(int fd, const struct iovec *iov, int n)
{
	struct iovec lines[2 * JOURNAL_FIELDS_MAX];
	struct msghdr mh = { .msg_iov = lines };
	int r;

	if (lib_state == UNTRIED)
		journal_lib_load();
	if (lib_state == LOADED) {
		if ((r = p_sd_journal_sendv(iov, n)) < 0)
			log_debug("journal: sd_journal_sendv: %s", strerror(-r));
		return;
	}
	/* the native protocol: "NAME=value\n" per field; the values here
	 * have no newline (JSON escapes them) */
	if (fd < 0 || n > JOURNAL_FIELDS_MAX)
		return;
	for (int i = 0; i < n; i++) {
		lines[2 * i] = iov[i];
		lines[2 * i + 1] = (struct iovec){ "\n", 1 };
	}
	mh.msg_iovlen = (size_t)(2 * n);
	(void)!sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}
