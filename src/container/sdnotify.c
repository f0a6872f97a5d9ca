/* --sd-notify: the supervisor is the unit's main process and tells systemd
 * ($NOTIFY_SOCKET) what is true of the container: MAINPID (itself) first,
 * READY=1 by the mode's rule, STATUS= lines, STOPPING=1, and WATCHDOG=1
 * every WATCHDOG_USEC/2. With --sd-notify=container the workload has a
 * socket of its own, bound in at /run/notify/notify.sock: the supervisor
 * reads it, keeps what comes from inside the container and passes on only
 * what systemd may hear from a workload (sd_notify_filter). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include "run.h"

struct sd_notifier {
	enum sd_notify_mode mode;
	int out;                     /* datagram socket, unconnected: sendto $NOTIFY_SOCKET */
	struct sockaddr_un addr;
	socklen_t addrlen;
	int ep;                      /* the supervisor loop's fd: the two below */
	int watchdog;                /* timerfd at WATCHDOG_USEC/2; -1: none */
	int in;                      /* the container's socket (mode container); -1: none */
	char *dir;                   /* its directory on the host */
	bool ready, stopping, warned;
	unsigned long forwarded, dropped;
};

int sd_notify_address(const char *s, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = s ? strlen(s) : 0;

	/* sd_notify's rule: a path, or @ for the abstract namespace */
	if (n < 2 || n >= sizeof(sa->sun_path) || (s[0] != '/' && s[0] != '@'))
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, s, n);
	if (s[0] == '@')
		sa->sun_path[0] = '\0';
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (s[0] == '/'));
	return 0;
}

/* What a workload may tell systemd: its readiness, a reload, that it
 * stops, its status and errors, a longer timeout. Never MAINPID (the
 * supervisor is the main process, and a workload naming another pid would
 * have systemd watch or kill it), the fd store, barriers, the watchdog
 * (the supervisor's own) or NOTIFYACCESS. */
static const char *const forwarded_exact[] = { "READY=1", "RELOADING=1", "STOPPING=1", NULL };
static const char *const forwarded_prefix[] = { "STATUS=", "ERRNO=", "BUSERROR=", "EXTEND_TIMEOUT_USEC=",
						"MONOTONIC_USEC=", NULL };

static bool line_forwarded(const char *l, size_t n)
{
	for (size_t i = 0; forwarded_exact[i]; i++)
		if (n == strlen(forwarded_exact[i]) && !memcmp(l, forwarded_exact[i], n))
			return true;
	for (size_t i = 0; forwarded_prefix[i]; i++)
		if (n >= strlen(forwarded_prefix[i]) && !memcmp(l, forwarded_prefix[i], strlen(forwarded_prefix[i])))
			return true;
	return false;
}

size_t sd_notify_filter(const char *msg, size_t len, char *out, size_t size, bool *ready)
{
	size_t o = 0;

	*ready = false;
	if (!size)
		return 0;
	out[0] = '\0';
	/* systemd ignores a message with a NUL in it: so does this */
	if (memchr(msg, '\0', len))
		return 0;
	for (size_t i = 0; i < len;) {
		const char *l = msg + i, *nl = memchr(l, '\n', len - i);
		size_t n = nl ? (size_t)(nl - l) : len - i;

		i += n + 1;
		if (!n || !line_forwarded(l, n) || o + n + 2 > size)
			continue;
		if (n == 7 && !memcmp(l, "READY=1", 7))
			*ready = true;
		if (o)
			out[o++] = '\n';
		memcpy(out + o, l, n);
		o += n;
		out[o] = '\0';
	}
	return o;
}

static void send_msg(struct sd_notifier *n, const char *msg)
{
	if (sendto(n->out, msg, strlen(msg), MSG_NOSIGNAL, (const struct sockaddr *)&n->addr, n->addrlen) < 0) {
		/* once: a watchdog would repeat it twice a period */
		if (!n->warned)
			log_warn("--sd-notify: cannot send to $NOTIFY_SOCKET: %s", strerror(errno));
		n->warned = true;
		return;
	}
	log_debug("sd_notify: %s", msg);
}

int sd_notifier_fd(const struct sd_notifier *n)
{
	return n ? n->ep : -1;
}

const char *sd_notifier_dir(const struct sd_notifier *n)
{
	return n ? n->dir : NULL;
}

/* WATCHDOG_USEC, when it is meant for this process (WATCHDOG_PID unset or
 * this pid: sd_watchdog_enabled's rule); 0: no watchdog. */
static uint64_t watchdog_usec(void)
{
	const char *u = getenv("WATCHDOG_USEC"), *p = getenv("WATCHDOG_PID");
	uint64_t usec, pid;

	if (!u || parse_u64(u, 1, UINT64_MAX, &usec) < 0)
		return 0;
	if (p && (parse_u64(p, 1, UINT32_MAX, &pid) < 0 || pid != (uint64_t)getpid())) {
		log_debug("sd_notify: WATCHDOG_PID=%s is not the supervisor: no watchdog", p);
		return 0;
	}
	return usec;
}

static int add_watchdog(struct sd_notifier *n, uint64_t usec, struct nerr *err)
{
	uint64_t half = usec / 2 ? usec / 2 : 1;
	struct itimerspec it = { .it_interval = { (time_t)(half / 1000000), (long)(half % 1000000) * 1000 } };
	struct epoll_event ev = { .events = EPOLLIN };

	it.it_value = it.it_interval;
	if ((n->watchdog = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0 ||
	    timerfd_settime(n->watchdog, 0, &it, NULL) < 0)
		return nerr_set(err, errno, "--sd-notify: watchdog timer");
	ev.data.fd = n->watchdog;
	if (epoll_ctl(n->ep, EPOLL_CTL_ADD, n->watchdog, &ev) < 0)
		return nerr_set(err, errno, "--sd-notify: epoll_ctl");
	log_debug("sd_notify: watchdog every %llu us", (unsigned long long)half);
	return 0;
}

/* The container's socket: <state>/notify/notify.sock, bound in read-only
 * at /run/notify. Anyone may write to it (0666): whoever the workload runs
 * as, under --user or --userns, can send; what is not from inside the
 * container is dropped (container_sender), not refused by a mode. */
static int add_container_socket(struct sd_notifier *n, const char *state_dir, struct nerr *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	_cleanup_close_ int dfd = -1;
	int one = 1;

	n->dir = xasprintf("%s/" SD_NOTIFY_DIR_NAME, state_dir);
	if (mkdir(n->dir, 0755) < 0 || (dfd = open(n->dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return nerr_set(err, errno, "--sd-notify: create `%s`", n->dir);
	/* through the directory's fd: a long runtime directory would not fit
	 * in sun_path */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/" SD_NOTIFY_SOCKET_NAME, dfd);
	n->in = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->in < 0 || bind(n->in, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    fchmodat(dfd, SD_NOTIFY_SOCKET_NAME, 0666, 0) < 0 ||
	    setsockopt(n->in, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		return nerr_set(err, errno, "--sd-notify: the container's socket in `%s`", n->dir);
	ev.data.fd = n->in;
	if (epoll_ctl(n->ep, EPOLL_CTL_ADD, n->in, &ev) < 0)
		return nerr_set(err, errno, "--sd-notify: epoll_ctl");
	return 0;
}

void sd_notifier_free(struct sd_notifier *n)
{
	if (!n)
		return;
	if (n->forwarded || n->dropped)
		log_debug("sd_notify: %lu messages of the container forwarded, %lu dropped", n->forwarded, n->dropped);
	if (n->dir) {
		/* a kept record of the container keeps no socket */
		_cleanup_free_ char *sock = xasprintf("%s/" SD_NOTIFY_SOCKET_NAME, n->dir);

		unlink(sock);
		rmdir(n->dir);
	}
	free(n->dir);
	for (int *fd = (int[]){ n->out, n->ep, n->watchdog, n->in }, *end = fd + 4; fd < end; fd++)
		if (*fd >= 0)
			close(*fd);
	free(n);
}

int run_sdnotify_open(struct run *r, struct nerr *err)
{
	struct container_config *cfg = r->cfg;
	const char *env = getenv("NOTIFY_SOCKET");
	struct sd_notifier *n;
	uint64_t usec;
	char msg[64];
	int rc;

	if (cfg->svc.sd_notify == SD_NOTIFY_OFF)
		return 0;
	/* not under systemd (or under a Type that does not listen): nothing
	 * to tell, as podman does */
	if (!env || !*env) {
		log_debug("sd_notify: NOTIFY_SOCKET is not set: --sd-notify does nothing");
		return 0;
	}
	n = xcalloc(1, sizeof(*n));
	*n = (struct sd_notifier){ .mode = cfg->svc.sd_notify, .out = -1, .ep = -1, .watchdog = -1, .in = -1 };
	r->sdn = n;
	if (sd_notify_address(env, &n->addr, &n->addrlen) < 0)
		return nerr_set(err, EINVAL, "--sd-notify: NOTIFY_SOCKET `%s` is not a socket path or @name", env);
	if ((n->out = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    (n->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return nerr_set(err, errno, "--sd-notify: socket");
	/* a full queue on systemd's side does not stop the supervisor for long */
	setsockopt(n->out, SOL_SOCKET, SO_SNDTIMEO, &(struct timeval){ 0, 250000 }, sizeof(struct timeval));
	/* first: whatever comes next is from the unit's main process */
	snprintf(msg, sizeof(msg), "MAINPID=%d", (int)getpid());
	send_msg(n, msg);
	if ((usec = watchdog_usec()) && (rc = add_watchdog(n, usec, err)) < 0)
		return rc;
	if (n->mode == SD_NOTIFY_CONTAINER) {
		if ((rc = add_container_socket(n, r->state_dir, err)) < 0)
			return rc;
		if ((rc = env_add(&cfg->proc.env, "NOTIFY_SOCKET=" SD_NOTIFY_CONTAINER_SOCKET, err)) < 0)
			return rc;
		r->st.cfg.proc.env = cfg->proc.env;     /* the state's copy of the pointer */
	}
	return 0;
}

void run_sdnotify_close(struct run *r)
{
	sd_notifier_free(r->sdn);
	r->sdn = NULL;
}

/* A uid of the container's, as the supervisor sees it: in the user
 * namespace's map, else the workload's (or root: the container's root is
 * the host's). */
static bool container_uid(const struct run *r, uid_t uid)
{
	if (r->userns) {
		for (size_t i = 0; i < r->map.nuid; i++)
			if (uid >= r->map.uid[i].outside && uid - r->map.uid[i].outside < r->map.uid[i].count)
				return true;
		return false;
	}
	return uid == 0 || (r->cfg->proc.identity.set && uid == r->cfg->proc.identity.uid);
}

/* A sender is in the container when it is in its pid namespace (attach's
 * processes included); the pid is the kernel's (SCM_CREDENTIALS), in the
 * supervisor's namespace. A sender that has already exited (as
 * systemd-notify does right after sending) cannot be looked up: its
 * message is kept when its uid is one of the container's, which a process
 * on the host has only as that same user or as root. */
static bool container_sender(const struct run *r, const struct ucred *c)
{
	struct stat a, b;
	char p[64];

	if (c->pid <= 0 || r->st.pid <= 0)
		return false;
	snprintf(p, sizeof(p), "/proc/%d/ns/pid", (int)c->pid);
	if (stat(p, &a) < 0)
		return errno == ENOENT && container_uid(r, c->uid);
	snprintf(p, sizeof(p), "/proc/%d/ns/pid", (int)r->st.pid);
	if (stat(p, &b) < 0)
		return false;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void set_ready(struct run *r);

/* One datagram of the container's: taken as systemd takes one (no fds
 * kept), kept only from inside the container, filtered. Returns false when
 * there is nothing more to read. */
static bool receive_one(struct run *r)
{
	struct sd_notifier *n = r->sdn;
	char buf[4096], out[4096];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 16)];
	} ctl;
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof(ctl) };
	struct ucred *cred = NULL;
	bool ready;
	ssize_t len = recvmsg(n->in, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);

	if (len < 0)
		return errno == EINTR;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
			cred = (struct ucred *)CMSG_DATA(c);
		else if (c->cmsg_type == SCM_RIGHTS)     /* FDSTORE=1 and the like: not kept */
			for (int *fd = (int *)CMSG_DATA(c); (char *)(fd + 1) <= (char *)c + c->cmsg_len; fd++)
				close(*fd);
	}
	if (!cred || !container_sender(r, cred)) {
		n->dropped++;
		log_debug("sd_notify: a message from pid %d, not in the container, dropped", cred ? (int)cred->pid : 0);
		return true;
	}
	if ((size_t)len > iov.iov_len) {     /* MSG_TRUNC: its whole length */
		n->dropped++;
		log_debug("sd_notify: a message of %zd bytes from the container, too long, dropped", len);
		return true;
	}
	if (!sd_notify_filter(buf, (size_t)len, out, sizeof(out), &ready)) {
		n->dropped++;
		log_debug("sd_notify: a message from the container with nothing to forward");
		return true;
	}
	n->forwarded++;
	/* every READY=1 goes on (the one after a RELOADING=1 ends a reload);
	 * the first makes the container ready */
	send_msg(n, out);
	if (ready && !n->ready) {
		n->ready = true;
		set_ready(r);
	}
	return true;
}

void run_sdnotify_ready(void *arg)
{
	struct run *r = arg;
	struct sd_notifier *n = r->sdn;
	struct epoll_event evs[2];
	int k = epoll_wait(n->ep, evs, 2, 0);

	for (int i = 0; i < k; i++) {
		if (evs[i].data.fd == n->watchdog) {
			uint64_t ticks;

			if (read(n->watchdog, &ticks, sizeof(ticks)) == sizeof(ticks))
				send_msg(n, "WATCHDOG=1");
		} else if (evs[i].data.fd == n->in) {
			/* a bounded batch: the loop has other work */
			for (int m = 0; m < 64 && receive_one(r); m++)
				;
		}
	}
}

/* The container's own READY=1: the state says so, and whoever reacts to
 * readiness hears it. */
static void set_ready(struct run *r)
{
	if (r->st.ready)
		return;
	r->st.ready = true;
	run_service_event(r, SVC_READY);
}

static void notify_ready(struct sd_notifier *n, const char *status)
{
	char msg[256];

	if (n->ready) {
		send_msg(n, status);
		return;
	}
	n->ready = true;
	snprintf(msg, sizeof(msg), "READY=1\n%s", status);
	send_msg(n, msg);
}

void run_sdnotify_event(struct run *r, enum svc_event ev)
{
	struct sd_notifier *n = r->sdn;
	char msg[128];

	if (!n)
		return;
	switch (ev) {
	case SVC_STARTED:
		if (n->mode == SD_NOTIFY_STARTED)
			notify_ready(n, "STATUS=running");
		else
			send_msg(n, "STATUS=running");
		break;
	case SVC_READY:
		/* a bare --sd-notify: the readiness check passed, else the
		 * health check, else it started (run_service.c decides); the
		 * container mode's is the workload's READY=1, forwarded as it
		 * came */
		if (n->mode == SD_NOTIFY_READY)
			notify_ready(n, "STATUS=running (ready)");
		break;
	case SVC_HEALTH:
		snprintf(msg, sizeof(msg), "STATUS=health: %s", health_status_name(r->st.health.status));
		if (n->mode == SD_NOTIFY_HEALTHY && r->st.health.status == HEALTH_HEALTHY)
			notify_ready(n, msg);
		else
			send_msg(n, msg);
		break;
	case SVC_RESTARTING:
		snprintf(msg, sizeof(msg), "STATUS=restarting (%u)", r->st.restarts);
		send_msg(n, msg);
		break;
	case SVC_STOPPING:
		if (n->stopping)
			break;
		n->stopping = true;
		send_msg(n, "STOPPING=1\nSTATUS=stopping");
		break;
	case SVC_EXITED:
		/* an exit nobody asked for is the service stopping too */
		snprintf(msg, sizeof(msg), "%sSTATUS=exited (%d)", n->stopping ? "" : "STOPPING=1\n", *r->exit_code);
		n->stopping = true;
		send_msg(n, msg);
		break;
	case SVC_PROBE:
		break;
	}
}
