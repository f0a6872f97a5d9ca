/* The OTLP/HTTP exporter: an HTTP/1.1 POST of its own, non-blocking, driven
 * by the supervisor's loop through one epoll fd (the socket and a timerfd
 * in it). No threads: the supervisor forks after the start (probes,
 * restarts), and a thread holding a lock at a fork deadlocks the child.
 * One POST at a time; what is queued meanwhile goes in the next. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <nucleus/telemetry.h>

enum xstate { X_IDLE, X_CONNECTING, X_WRITING, X_READING };

struct otel_exporter {
	struct otel_endpoint ep;
	struct otel_attrs resource;
	int epfd, timerfd, sock;
	enum xstate state;
	bool dead;                     /* the collector was not reached: drop the rest */
	bool kicked;                   /* the timer is armed to send what is queued */
	char **queue;                  /* the spans not sent yet, encoded as they were added */
	size_t nqueue;
	char *prefix, *suffix;         /* a request's JSON around its spans' */
	int warm;                      /* connected ahead of the POST: -1, none */
	uint64_t warm_ns;              /* CLOCK_MONOTONIC: when */
	size_t inflight;               /* spans in the POST under way */
	char *req;
	size_t reqlen, sent;
	char resp[256];
	size_t resplen;
	uint64_t deadline;             /* CLOCK_MONOTONIC ns: the POST under way fails then */
	struct otel_counts counts;
};

/* A connection younger than this is used for the next POST: no collector
 * drops an idle connection that soon, and its connect is then off the
 * exit's path. */
#define WARM_MAX_NS 1000000000ull

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct otel_exporter *otel_exporter_new(struct otel_endpoint *ep, struct otel_attrs *resource)
{
	struct otel_exporter *x = xcalloc(1, sizeof(*x));

	x->ep = *ep;
	memset(ep, 0, sizeof(*ep));
	x->resource = *resource;
	memset(resource, 0, sizeof(*resource));
	x->sock = x->warm = -1;
	otel_request_frame(&x->resource, &x->prefix, &x->suffix);
	/* both made now, before anything forks; an exporter without them
	 * drops its spans, it never fails the run */
	x->epfd = epoll_create1(EPOLL_CLOEXEC);
	x->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (x->epfd >= 0 && x->timerfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = x->timerfd };

		if (epoll_ctl(x->epfd, EPOLL_CTL_ADD, x->timerfd, &ev) < 0)
			x->dead = true;
	} else {
		x->dead = true;
	}
	if (x->dead)
		snprintf(x->counts.last_error, sizeof(x->counts.last_error), "epoll or timerfd: %s", strerror(errno));
	return x;
}

static void arm(struct otel_exporter *x, uint64_t ns)
{
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(ns / 1000000000ull),
						.tv_nsec = (long)(ns % 1000000000ull) } };

	timerfd_settime(x->timerfd, 0, &its, NULL);
}

static void drop_queue(struct otel_exporter *x)
{
	x->counts.spans_dropped += (unsigned)x->nqueue;
	for (size_t i = 0; i < x->nqueue; i++)
		free(x->queue[i]);
	x->nqueue = 0;
}

void otel_exporter_add(struct otel_exporter *x, struct otel_span *s)
{
	char *enc = x->dead ? NULL : otel_span_dump(s);

	otel_span_free(s);
	if (!enc) {
		x->counts.spans_dropped++;
		return;
	}
	x->queue = xrealloc(x->queue, (x->nqueue + 1) * sizeof(*x->queue));
	x->queue[x->nqueue++] = enc;
}

static int connect_to(struct otel_exporter *x, int *fd)
{
	*fd = socket(x->ep.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return -errno;
	if (connect(*fd, (struct sockaddr *)&x->ep.addr, x->ep.addrlen) < 0 && errno != EINPROGRESS) {
		int e = errno;

		close(*fd);
		*fd = -1;
		return -e;
	}
	return 0;
}

static void close_warm(struct otel_exporter *x)
{
	if (x->warm >= 0)
		close(x->warm);
	x->warm = -1;
}

/* The warm connection, if it is still good: connected or connecting, not
 * closed by the collector, young enough. */
static int take_warm(struct otel_exporter *x)
{
	int fd = x->warm, soerr = 0;
	socklen_t len = sizeof(soerr);
	char c;

	x->warm = -1;
	if (fd < 0)
		return -1;
	if (mono_ns() - x->warm_ns < WARM_MAX_NS && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 &&
	    !soerr && recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN)
		return fd;
	close(fd);
	return -1;
}

void otel_exporter_kick(struct otel_exporter *x, unsigned delay_ms)
{
	/* an earlier kick stands; 1 ns: readable at the loop's next turn */
	if (x->state == X_IDLE && x->nqueue && !x->dead && !x->kicked) {
		arm(x, delay_ms ? delay_ms * 1000000ull : 1);
		x->kicked = true;
		/* the connection for the next POST, made now if the POST waits:
		 * a workload that exits before it is sent, the usual job, finds
		 * it ready (an error is found when it is used) */
		if (delay_ms && x->warm < 0 && connect_to(x, &x->warm) == 0)
			x->warm_ns = mono_ns();
	}
}

int otel_exporter_fd(struct otel_exporter *x)
{
	return x->dead ? -1 : x->epfd;
}

const struct otel_counts *otel_exporter_counts(const struct otel_exporter *x)
{
	return &x->counts;
}

const char *otel_exporter_url(const struct otel_exporter *x)
{
	return x->ep.url;
}

static void close_sock(struct otel_exporter *x)
{
	if (x->sock >= 0) {
		epoll_ctl(x->epfd, EPOLL_CTL_DEL, x->sock, NULL);
		close(x->sock);
	}
	x->sock = -1;
	free(x->req);
	x->req = NULL;
	x->state = X_IDLE;
	arm(x, 0);
}

/* The POST under way ended: STATUS the HTTP status, or 0 with WHY when
 * the collector was not reached or did not answer (then it is dead for
 * the rest of the run). */
static void finish(struct otel_exporter *x, int status, const char *why)
{
	close_sock(x);
	if (status >= 200 && status < 300) {
		x->counts.posts_ok++;
		x->counts.spans_sent += (unsigned)x->inflight;
		log_debug("otlp: %zu span(s) sent to %s", x->inflight, x->ep.url);
	} else {
		x->counts.posts_failed++;
		x->counts.spans_dropped += (unsigned)x->inflight;
		if (status)
			snprintf(x->counts.last_error, sizeof(x->counts.last_error), "HTTP status %d", status);
		else
			snprintf(x->counts.last_error, sizeof(x->counts.last_error), "%s", why);
		log_debug("otlp: %zu span(s) to %s dropped: %s", x->inflight, x->ep.url, x->counts.last_error);
		/* a collector that answers (an error status) is still there */
		if (!status) {
			x->dead = true;
			drop_queue(x);
			close_warm(x);
		}
	}
	x->inflight = 0;
}

static void watch(struct otel_exporter *x, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.fd = x->sock };

	epoll_ctl(x->epfd, op, x->sock, &ev);
}

void otel_exporter_start(struct otel_exporter *x)
{
	size_t len = strlen(x->prefix) + strlen(x->suffix) + x->nqueue, head, n, room;
	char *p;
	int rc;

	if (x->state != X_IDLE || !x->nqueue || x->dead)
		return;
	x->kicked = false;
	for (size_t i = 0; i < x->nqueue; i++)
		len += strlen(x->queue[i]);
	free(x->req);
	room = strlen(x->ep.path) + strlen(x->ep.host) + 256;
	x->req = xmalloc(len + room);
	head = (size_t)snprintf(x->req, room, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: nucleus/%s\r\n"
				"Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
				x->ep.path, x->ep.host, NUCLEUS_VERSION, len - 1);
	p = stpcpy(x->req + head, x->prefix);
	for (size_t i = 0; i < x->nqueue; i++) {
		if (i)
			*p++ = ',';
		p = stpcpy(p, x->queue[i]);
		free(x->queue[i]);
	}
	p = stpcpy(p, x->suffix);
	n = x->nqueue;
	x->nqueue = 0;
	x->inflight = n;
	x->reqlen = (size_t)(p - x->req);
	x->sent = 0;
	x->resplen = 0;
	x->deadline = mono_ns() + OTEL_EXPORT_TIMEOUT_MS * 1000000ull;
	arm(x, OTEL_EXPORT_TIMEOUT_MS * 1000000ull);
	if ((x->sock = take_warm(x)) < 0 && (rc = connect_to(x, &x->sock)) < 0) {
		finish(x, 0, strerror(-rc));
		return;
	}
	x->state = X_CONNECTING;
	watch(x, EPOLLOUT, EPOLL_CTL_ADD);
}

/* The socket is ready for what its state waits for. */
static void step(struct otel_exporter *x)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	ssize_t n;

	switch (x->state) {
	case X_IDLE:
		return;
	case X_CONNECTING:
		if (getsockopt(x->sock, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			soerr = errno;
		if (soerr) {
			finish(x, 0, strerror(soerr));
			return;
		}
		x->state = X_WRITING;
		/* fall through */
	case X_WRITING:
		while (x->sent < x->reqlen) {
			n = send(x->sock, x->req + x->sent, x->reqlen - x->sent, MSG_NOSIGNAL);
			if (n < 0 && errno == EAGAIN)
				return;
			if (n < 0) {
				finish(x, 0, strerror(errno));
				return;
			}
			x->sent += (size_t)n;
		}
		x->state = X_READING;
		watch(x, EPOLLIN, EPOLL_CTL_MOD);
		return;
	case X_READING:
		for (;;) {
			int status;

			n = recv(x->sock, x->resp + x->resplen, sizeof(x->resp) - 1 - x->resplen, 0);
			if (n < 0 && errno == EAGAIN)
				return;
			if (n < 0) {
				finish(x, 0, strerror(errno));
				return;
			}
			x->resplen += (size_t)n;
			x->resp[x->resplen] = '\0';
			/* the status line is all it needs */
			if (strstr(x->resp, "\r\n") || x->resplen == sizeof(x->resp) - 1 || n == 0) {
				if (sscanf(x->resp, "HTTP/1.%*d %d", &status) == 1 && status >= 100 && status < 600)
					finish(x, status, NULL);
				else
					finish(x, 0, n == 0 && !x->resplen ? "closed without an answer" : "not an HTTP answer");
				return;
			}
		}
	}
}

void otel_exporter_ready(struct otel_exporter *x)
{
	struct epoll_event evs[2];
	int n = epoll_wait(x->epfd, evs, 2, 0);

	for (int i = 0; i < n; i++) {
		if (evs[i].data.fd == x->timerfd) {
			uint64_t ticks;

			if (read(x->timerfd, &ticks, sizeof(ticks)) != sizeof(ticks))
				continue;
			if (x->state != X_IDLE && mono_ns() >= x->deadline)
				finish(x, 0, "no answer in time");
			else if (x->state == X_IDLE && x->kicked)
				otel_exporter_start(x);
		} else if (evs[i].data.fd == x->sock && x->sock >= 0) {
			step(x);
		}
	}
	/* what was queued while a POST was under way waited long enough */
	if (x->state == X_IDLE && !x->kicked)
		otel_exporter_start(x);
}

void otel_exporter_flush(struct otel_exporter *x, int timeout_ms)
{
	uint64_t end = mono_ns() + (uint64_t)timeout_ms * 1000000ull;

	if (x->epfd < 0 || x->timerfd < 0) {
		drop_queue(x);
		return;
	}
	otel_exporter_start(x);
	while (x->state != X_IDLE || (x->nqueue && !x->dead)) {
		uint64_t now = mono_ns();
		struct epoll_event ev;
		int n;

		if (now >= end)
			break;
		n = epoll_wait(x->epfd, &ev, 1, (int)((end - now + 999999) / 1000000));
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0)
			otel_exporter_ready(x);
	}
	if (x->state != X_IDLE)
		finish(x, 0, "no answer in time");
	drop_queue(x);
}

void otel_exporter_free(struct otel_exporter *x)
{
	if (!x)
		return;
	if (x->state != X_IDLE)
		finish(x, 0, "the exporter closed");
	drop_queue(x);
	free(x->queue);
	close_warm(x);
	free(x->prefix);
	free(x->suffix);
	if (x->timerfd >= 0)
		close(x->timerfd);
	if (x->epfd >= 0)
		close(x->epfd);
	otel_endpoint_free(&x->ep);
	otel_attrs_free(&x->resource);
	free(x);
}
