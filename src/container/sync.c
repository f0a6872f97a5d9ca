/* The parent<->child socket: small typed messages, optionally with an fd. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include "internal.h"

int sync_send(int fd, enum sync_type type, int code, const char *text, int pass_fd)
{
	struct sync_msg m = { .type = type, .code = code };
	struct iovec iov;
	struct msghdr mh = { 0 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;

	if (text)
		snprintf(m.text, sizeof(m.text), "%s", text);
	iov.iov_base = &m;
	iov.iov_len = offsetof(struct sync_msg, text) + strlen(m.text) + 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (pass_fd >= 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	while (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int sync_recv(int fd, struct sync_msg *m, int *got_fd)
{
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = { 0 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	ssize_t n;

	if (got_fd)
		*got_fd = -1;
	memset(m, 0, sizeof(*m));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EPIPE;
	m->text[sizeof(m->text) - 1] = '\0';
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int passed;

			memcpy(&passed, CMSG_DATA(c), sizeof(int));
			if (got_fd)
				*got_fd = passed;
			else
				close(passed);
		}
	}
	return 0;
}
