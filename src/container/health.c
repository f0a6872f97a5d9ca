/* The health check and the readiness check, run by the supervisor: each
 * probe is a process attached to the container (attach_spawn: its cgroup,
 * namespaces, filter, rules and identity) with a timerfd for its schedule
 * and its timeout; docker's states and rules (health_judge). One epoll fd
 * for the supervisor's loop, no threads (the supervisor forks). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include "run.h"

#define NS_PER_MS 1000000ull
#define READY_BACKOFF_FIRST (100 * NS_PER_MS)

enum { CHECK_HEALTH, CHECK_READY, NCHECKS };
enum { FD_TIMER = 1, FD_MID, FD_OUT };

/* One check: its command (or a TCP port), its timer (the next run, or the
 * running probe's timeout) and the probe in flight. */
struct check {
	int kind;
	char **argv;                   /* NULL: a TCP connect (readiness) */
	uint16_t port;
	bool on;                       /* configured and not done (readiness passes once) */
	int timer;
	bool running;
	struct attach_proc proc;
	int out;                       /* the probe's output; -1: closed */
	char buf[HEALTH_OUTPUT_MAX + 1];
	size_t len;
	uint64_t start_ns;             /* CLOCK_REALTIME */
	bool timed_out;
	uint64_t backoff;              /* readiness: the next delay */
};

struct health {
	struct run *r;
	int ep;
	struct attach_prep *prep;      /* built at the first probe, off the start path */
	uint64_t t0;                   /* the (re)start (CLOCK_MONOTONIC): the start period's origin */
	struct check c[NCHECKS];
	/* what SVC_PROBE is about (health_last_probe) */
	struct health_result last;     /* output NULL */
	bool last_readiness;
};

enum health_status health_judge(enum health_status cur, unsigned *streak, bool passed, bool in_start_period,
				unsigned retries)
{
	if (passed) {
		*streak = 0;
		return HEALTH_HEALTHY;
	}
	/* docker: a failure while still starting, within the start period,
	 * does not count */
	if (cur == HEALTH_STARTING && in_start_period)
		return cur;
	(*streak)++;
	if (*streak >= (retries ? retries : 3))
		return HEALTH_UNHEALTHY;
	return cur;
}

void health_log_free(struct health_state *s)
{
	for (size_t i = 0; i < s->nlog; i++) {
		free(s->log[i].output);
		s->log[i].output = NULL;
	}
	s->nlog = 0;
}

static void arm(int timer, uint64_t ns)
{
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(ns / 1000000000ull),
						.tv_nsec = (long)(ns % 1000000000ull) } };

	if (!ns)
		its.it_value.tv_nsec = 1;    /* 0 would disarm */
	timerfd_settime(timer, 0, &its, NULL);
}

static void disarm(int timer)
{
	struct itimerspec its = { 0 };

	timerfd_settime(timer, 0, &its, NULL);
}

static void watch(struct health *h, int fd, int kind, int what)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)kind << 8 | (uint64_t)what };

	epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void close_out(struct health *h, struct check *c)
{
	if (c->out < 0)
		return;
	epoll_ctl(h->ep, EPOLL_CTL_DEL, c->out, NULL);
	close(c->out);
	c->out = -1;
}

/* Keep the first HEALTH_OUTPUT_MAX bytes; read and drop the rest, so the
 * probe never blocks on a full pipe. */
static void read_out(struct health *h, struct check *c)
{
	char sink[4096];

	for (;;) {
		char *to = c->len < HEALTH_OUTPUT_MAX ? c->buf + c->len : sink;
		size_t room = c->len < HEALTH_OUTPUT_MAX ? HEALTH_OUTPUT_MAX - c->len : sizeof(sink);
		ssize_t n = read(c->out, to, room);

		if (n > 0) {
			if (to != sink)
				c->len += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		close_out(h, c);
		return;
	}
}

static bool connects(int family, uint16_t port)
{
	struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = family == AF_INET ? connect(fd, (struct sockaddr *)&in4, sizeof(in4)) == 0
			       : connect(fd, (struct sockaddr *)&in6, sizeof(in6)) == 0;
	close(fd);
	return ok;
}

/* --readiness-tcp: a child in the container's network namespace connects
 * to 127.0.0.1:PORT and [::1]:PORT; exit 0 when either accepts. It runs
 * nothing of the container's, so it needs neither its cgroup nor its
 * filter. */
static int spawn_tcp(struct health *h, struct check *c, struct nerr *err)
{
	pid_t init = h->r->st.pid;
	int pidfd = (int)syscall(SYS_pidfd_open, init, 0);
	sigset_t none;
	pid_t pid;

	if (pidfd < 0)
		return nerr_set(err, errno, "container %s is not running", h->r->st.cfg.name);
	pid = fork();
	if (pid < 0) {
		close(pidfd);
		return nerr_set(err, errno, "fork");
	}
	if (pid == 0) {
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (setns(pidfd, ns_differing(init, CLONE_NEWUSER | CLONE_NEWNET)) < 0)
			_exit(125);
		_exit(connects(AF_INET, c->port) || connects(AF_INET6, c->port) ? 0 : 1);
	}
	close(pidfd);
	c->proc.mid = pid;
	c->proc.mid_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (c->proc.mid_pidfd < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return nerr_set(err, errno, "pidfd_open");
	}
	c->proc.pidfd = -1;
	return 0;
}

static int spawn_cmd(struct health *h, struct check *c, struct nerr *err)
{
	int p[2], rc;

	bool native = h->r->cfg->rt.kind == RUNTIME_NATIVE;

	if (native && !h->prep && (rc = attach_prepare(&h->r->st, &h->prep, err)) < 0)
		return rc;
	if (pipe2(p, O_CLOEXEC) < 0)
		return nerr_set(err, errno, "pipe");
	/* another runtime's container: through its exec */
	rc = native ? attach_spawn(h->prep, c->argv, h->r->st.cfg.proc.env, p[1], &c->proc, err)
		    : oci_probe_spawn(h->r, c->kind == CHECK_READY ? "readiness" : "health", c->argv, p[1], &c->proc,
				      err);
	close(p[1]);
	if (rc < 0) {
		close(p[0]);
		return rc;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	c->out = p[0];
	watch(h, c->out, c->kind, FD_OUT);
	return 0;
}

static uint64_t timeout_of(const struct health *h)
{
	return h->r->cfg->svc.health.timeout_ns;
}

static void record(struct health *h, struct check *c, int exit_code, const char *output);

/* The workload has exited (not yet reaped: WNOWAIT), or is being
 * restarted: a check now would fail for nothing of its own. */
static bool workload_gone(const struct run *r)
{
	siginfo_t si = { 0 };

	if (r->pidfd < 0 || r->st.restarting)
		return true;
	return waitid(P_PIDFD, (id_t)r->pidfd, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid != 0;
}

static void start_probe(struct health *h, struct check *c)
{
	struct nerr e = { 0 };
	int rc;

	/* SVC_STARTED (health_reset) schedules the checks again */
	if (workload_gone(h->r))
		return;

	c->len = 0;
	c->timed_out = false;
	c->start_ns = realtime_ns();
	rc = c->argv ? spawn_cmd(h, c, &e) : spawn_tcp(h, c, &e);
	if (rc < 0) {
		/* docker's record of a probe that could not run */
		_cleanup_free_ char *msg = xasprintf("nucleus: %s", e.msg);

		record(h, c, -1, msg);
		return;
	}
	c->running = true;
	watch(h, c->proc.mid_pidfd, c->kind, FD_MID);
	arm(c->timer, timeout_of(h));
}

/* At its timeout: the probe, pid 1 of its own pid namespace, is killed and
 * every process it started with it; its parents exit once they are all
 * gone, and that exit (FD_MID) records the result. */
static void time_out(struct health *h, struct check *c)
{
	c->timed_out = true;
	if (c->proc.pidfd >= 0)
		syscall(SYS_pidfd_send_signal, c->proc.pidfd, SIGKILL, NULL, 0);
	else
		syscall(SYS_pidfd_send_signal, c->proc.mid_pidfd, SIGKILL, NULL, 0);
	(void)h;
}

static void end_probe(struct health *h, struct check *c, bool wait)
{
	siginfo_t si = { 0 };

	if (!c->running)
		return;
	epoll_ctl(h->ep, EPOLL_CTL_DEL, c->proc.mid_pidfd, NULL);
	if (wait) {
		if (c->proc.pidfd >= 0)
			syscall(SYS_pidfd_send_signal, c->proc.pidfd, SIGKILL, NULL, 0);
		syscall(SYS_pidfd_send_signal, c->proc.mid_pidfd, SIGKILL, NULL, 0);
		waitid(P_PIDFD, (id_t)c->proc.mid_pidfd, &si, WEXITED);
	}
	close(c->proc.mid_pidfd);
	if (c->proc.pidfd >= 0)
		close(c->proc.pidfd);
	c->proc.mid_pidfd = c->proc.pidfd = -1;
	close_out(h, c);
	c->running = false;
}

static void write_state(struct health *h)
{
	struct nerr e = { 0 };

	if (state_write(&h->r->st, &e) < 0)
		log_warn("health check: cannot record the result: %s", e.msg);
}

/* A probe's result: the health check's status and log, or the readiness
 * check's passing; the next run scheduled before anyone hears of it (an
 * event's reaction may pause or reset the checks). */
static void record(struct health *h, struct check *c, int exit_code, const char *output)
{
	struct run *r = h->r;
	struct health_state *hs = &r->st.health;
	const struct health_config *cfg = &r->cfg->svc.health;
	uint64_t elapsed = now_ns() - h->t0;
	enum health_status before = hs->status;
	bool was_ready = r->st.ready;

	h->last = (struct health_result){ .start_ns = c->start_ns, .end_ns = realtime_ns(), .exit_code = exit_code };
	h->last_readiness = c->kind == CHECK_READY;
	if (c->kind == CHECK_READY) {
		if (exit_code != 0) {
			arm(c->timer, c->backoff);
			c->backoff = c->backoff * 2 > cfg->start_interval_ns ? cfg->start_interval_ns : c->backoff * 2;
			run_service_event(r, SVC_PROBE);
			return;
		}
		c->on = false;
		r->st.ready = true;
		write_state(h);
		run_service_event(r, SVC_PROBE);
		if (!was_ready)
			run_service_event(r, SVC_READY);
		return;
	}
	if (hs->nlog == HEALTH_LOG_MAX) {
		free(hs->log[0].output);
		memmove(hs->log, hs->log + 1, (HEALTH_LOG_MAX - 1) * sizeof(hs->log[0]));
		hs->nlog--;
	}
	hs->log[hs->nlog++] = (struct health_result){ .start_ns = c->start_ns, .end_ns = realtime_ns(),
						      .exit_code = exit_code, .output = xstrdup(output) };
	hs->status = health_judge(hs->status, &hs->failing_streak, exit_code == 0,
				  elapsed < cfg->start_period_ns, cfg->retries);
	/* docker: the start interval while starting within the start period */
	arm(c->timer, hs->status == HEALTH_STARTING && now_ns() - h->t0 < cfg->start_period_ns ?
		      cfg->start_interval_ns : cfg->interval_ns);
	/* without a readiness check, the first healthy is ready */
	if (hs->status == HEALTH_HEALTHY && !h->c[CHECK_READY].argv && !h->c[CHECK_READY].port)
		r->st.ready = true;
	write_state(h);
	run_service_event(r, SVC_PROBE);
	if (hs->status != before)
		run_service_event(r, SVC_HEALTH);
	if (r->st.ready && !was_ready)
		run_service_event(r, SVC_READY);
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), 0 when
 * there is none (overlong forms, surrogates and beyond U+10FFFF refused). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 :
		     (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	uint32_t cp;

	if (!len || len > n)
		return 0;
	cp = len == 1 ? s[0] : s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* A probe's output as the state store can keep it (JSON strings are
 * UTF-8, C strings end at a NUL): each byte that is not part of a valid
 * character, a NUL or a character cut by the truncation, becomes '?'. */
static void output_sanitize(char *buf, size_t len)
{
	unsigned char *s = (unsigned char *)buf;

	for (size_t i = 0; i < len;) {
		size_t n = s[i] ? utf8_seq(s + i, len - i) : 0;

		if (!n) {
			s[i++] = '?';
			continue;
		}
		i += n;
	}
}

static void probe_exited(struct health *h, struct check *c)
{
	siginfo_t si = { 0 };
	int code;

	if (waitid(P_PIDFD, (id_t)c->proc.mid_pidfd, &si, WEXITED | WNOHANG) < 0 || !si.si_pid)
		return;
	code = wait_status(&si);
	/* the probe's processes are gone: what they wrote is all there */
	if (c->out >= 0)
		read_out(h, c);
	output_sanitize(c->buf, c->len);
	c->buf[c->len] = '\0';
	end_probe(h, c, false);
	if (c->timed_out) {
		char msg[96];

		snprintf(msg, sizeof(msg), "Health check exceeded timeout (%.3gs)", (double)timeout_of(h) / 1e9);
		record(h, c, -1, msg);
	} else {
		record(h, c, code, c->buf);
	}
}

void health_ready(void *arg)
{
	struct health *h = arg;
	struct epoll_event evs[8];
	int n = epoll_wait(h->ep, evs, ARRAY_SIZE(evs), 0);

	for (int i = 0; i < n; i++) {
		struct check *c = &h->c[evs[i].data.u64 >> 8];
		int what = (int)(evs[i].data.u64 & 0xff);

		if (what == FD_TIMER) {
			uint64_t ticks;

			if (read(c->timer, &ticks, sizeof(ticks)) != sizeof(ticks))
				continue;
			if (c->running)
				time_out(h, c);
			else if (c->on)
				start_probe(h, c);
		} else if (what == FD_OUT && c->out >= 0) {
			read_out(h, c);
		} else if (what == FD_MID && c->running) {
			probe_exited(h, c);
		}
	}
}

const struct health_result *health_last_probe(const struct health *h, bool *readiness)
{
	*readiness = h && h->last_readiness;
	return h && h->last.end_ns ? &h->last : NULL;
}

int health_fd(const struct health *h)
{
	return h ? h->ep : -1;
}

void health_pause(struct health *h)
{
	if (!h)
		return;
	for (int k = 0; k < NCHECKS; k++) {
		end_probe(h, &h->c[k], true);
		disarm(h->c[k].timer);
	}
}

void health_reset(struct health *h)
{
	const struct health_config *cfg;

	if (!h)
		return;
	cfg = &h->r->cfg->svc.health;
	health_pause(h);
	h->t0 = now_ns();
	h->r->st.ready = false;
	if (h->c[CHECK_HEALTH].on) {
		h->r->st.health.status = HEALTH_STARTING;
		h->r->st.health.failing_streak = 0;
		arm(h->c[CHECK_HEALTH].timer, cfg->start_period_ns ? cfg->start_interval_ns : cfg->interval_ns);
	}
	if (h->c[CHECK_READY].argv || h->c[CHECK_READY].port) {
		/* from the start, quickly at first */
		h->c[CHECK_READY].on = true;
		h->c[CHECK_READY].backoff = READY_BACKOFF_FIRST;
		arm(h->c[CHECK_READY].timer, 0);
	}
}

void health_free(struct health *h)
{
	if (!h)
		return;
	health_pause(h);
	for (int k = 0; k < NCHECKS; k++) {
		if (h->c[k].timer >= 0)
			close(h->c[k].timer);
		strv_free(h->c[k].argv);
	}
	attach_prep_free(h->prep);
	if (h->ep >= 0)
		close(h->ep);
	free(h);
}

static char **probe_argv(const struct probe_cmd *p)
{
	char **v = NULL;

	if (p->shell) {
		strv_push(&v, "/bin/sh");
		strv_push(&v, "-c");
		strv_push(&v, p->cmd[0]);
	} else {
		for (size_t i = 0; p->cmd[i]; i++)
			strv_push(&v, p->cmd[i]);
	}
	return v;
}

int health_start(struct run *r, struct health **out, struct nerr *err)
{
	const struct service_config *svc = &r->cfg->svc;
	bool hc = svc->health.probe.cmd && !svc->health.disabled;
	struct health *h;

	*out = NULL;
	if (!hc && !svc->readiness.cmd && !svc->readiness_tcp)
		return 0;
	h = xcalloc(1, sizeof(*h));
	h->r = r;
	h->ep = epoll_create1(EPOLL_CLOEXEC);
	for (int k = 0; k < NCHECKS; k++) {
		h->c[k].kind = k;
		h->c[k].out = h->c[k].proc.mid_pidfd = h->c[k].proc.pidfd = -1;
		h->c[k].timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (h->c[k].timer < 0 || h->ep < 0) {
			health_free(h);
			return nerr_set(err, errno, "health check: timerfd");
		}
		watch(h, h->c[k].timer, k, FD_TIMER);
	}
	if (hc) {
		h->c[CHECK_HEALTH].argv = probe_argv(&svc->health.probe);
		h->c[CHECK_HEALTH].on = true;
	}
	if (svc->readiness.cmd)
		h->c[CHECK_READY].argv = probe_argv(&svc->readiness);
	h->c[CHECK_READY].port = svc->readiness_tcp;
	health_reset(h);
	*out = h;
	return 0;
}

/* Just before the release: the timers start with the workload (SVC_STARTED
 * starts them again from its exec), and the release's state.json says
 * `starting`, with no write of its own on the start path. */
int stage_health(struct run *r, struct nerr *err)
{
	return health_start(r, &r->health, err);
}

void undo_health(struct run *r)
{
	health_free(r->health);
	r->health = NULL;
}
