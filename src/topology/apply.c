/* topology: applying a plan. Services start in dependency order, every
 * service whose dependencies hold at once (a process each: starting one
 * waits for its workload to run); stops go the other way, a level of the
 * graph at a time. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <nucleus/topology.h>

#define DEFAULT_TIMEOUT_NS (120ULL * 1000000000ULL)
#define POLL_NS (20 * 1000 * 1000)

static const char *const condition_names[] = {
	[TOPO_STARTED] = "started", [TOPO_HEALTHY] = "healthy", [TOPO_COMPLETED] = "completed successfully",
};

static ssize_t service_index(const struct topology *t, const char *name)
{
	for (size_t i = 0; i < t->nservices; i++)
		if (!strcmp(t->services[i].name, name))
			return (ssize_t)i;
	return -1;
}

/* Until a starter ends (SIGCHLD, blocked by the caller) or the next look
 * at the conditions is due. */
static void pause_briefly(const sigset_t *chld)
{
	struct timespec ts = { 0, POLL_NS };

	sigtimedwait(chld, NULL, &ts);
}

/* ---- stopping, a level of the graph at a time ------------------------------ */

/* How deep a service is: 0 without dependencies. Dependants are deeper
 * than what they depend on, so stopping the deepest level first never
 * stops a dependency under a running dependant. */
static unsigned depth_of(const struct topology *t, size_t i, unsigned *memo)
{
	unsigned d = 0;

	if (memo[i])
		return memo[i] - 1;
	for (size_t k = 0; k < t->services[i].ndeps; k++) {
		ssize_t j = service_index(t, t->services[i].deps[k].service);

		if (j >= 0) {
			unsigned dj = depth_of(t, (size_t)j, memo) + 1;

			if (dj > d)
				d = dj;
		}
	}
	memo[i] = d + 1;
	return d;
}

/* Stop (and with `remove` remove) the containers ids[0..n) in parallel, a
 * process each; 0 or the first failure. */
static int stop_parallel(char (*ids)[33], size_t n, unsigned timeout_s, bool remove, struct nerr *err)
{
	_cleanup_free_ pid_t *pids = xcalloc(n + 1, sizeof(pid_t));
	int r = 0;

	fflush(stdout);
	fflush(stderr);
	for (size_t i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct nerr e = { 0 };
			int rr = 0;

			if (state_exists(ids[i]))
				container_stop(ids[i], timeout_s, &e);
			nerr_clear(&e);
			if (remove && state_exists(ids[i]) && container_remove(ids[i], true, &e) < 0)
				rr = 1;
			_exit(rr);
		}
		if (pids[i] < 0) {
			if (state_exists(ids[i]))
				container_stop(ids[i], timeout_s, NULL);
			if (remove && container_remove(ids[i], true, err) < 0 && !r)
				r = -EIO;
		}
	}
	for (size_t i = 0; i < n; i++) {
		int ws;

		if (pids[i] <= 0)
			continue;
		while (waitpid(pids[i], &ws, 0) < 0 && errno == EINTR)
			;
		if ((!WIFEXITED(ws) || WEXITSTATUS(ws)) && !r)
			r = nerr_set(err, EIO, "remove container %s failed", ids[i]);
	}
	return r;
}

/* Stop `cur`'s containers: those of no service in the file (or wanted
 * gone: want[] false for them) first, then by depth, deepest first. */
static int stop_in_order(const struct topology *t, const struct topo_current *cur, size_t ncur,
			 const bool *select, unsigned timeout_s, bool remove, struct nerr *err)
{
	_cleanup_free_ unsigned *memo = xcalloc(t->nservices + 1, sizeof(unsigned));
	_cleanup_free_ char (*ids)[33] = xcalloc(ncur + 1, 33);
	unsigned maxd = 0;
	size_t n = 0;
	int r = 0, rr;

	for (size_t i = 0; i < t->nservices; i++) {
		unsigned d = depth_of(t, i, memo);

		if (d > maxd)
			maxd = d;
	}
	/* not in the file */
	for (size_t i = 0; i < ncur; i++)
		if ((!select || select[i]) && service_index(t, cur[i].service) < 0)
			snprintf(ids[n++], 33, "%s", cur[i].id);
	if (n && (rr = stop_parallel(ids, n, timeout_s, remove, err)) < 0 && !r)
		r = rr;
	for (unsigned d = maxd + 1; d-- > 0;) {
		n = 0;
		for (size_t i = 0; i < ncur; i++) {
			ssize_t j = service_index(t, cur[i].service);

			if ((!select || select[i]) && j >= 0 && depth_of(t, (size_t)j, memo) == d)
				snprintf(ids[n++], 33, "%s", cur[i].id);
		}
		if (n && (rr = stop_parallel(ids, n, timeout_s, remove, r ? NULL : err)) < 0 && !r)
			r = rr;
	}
	return r;
}

int topology_stop(const struct topology *t, unsigned timeout_s, struct nerr *err)
{
	struct topo_current *cur;
	size_t ncur;
	int r;

	if ((r = topology_current(t->name, &cur, &ncur, err)) < 0)
		return r;
	r = stop_in_order(t, cur, ncur, NULL, timeout_s, false, err);
	topology_current_free(cur, ncur);
	return r;
}

/* ---- volumes -------------------------------------------------------------- */

static int volumes_create(const struct topology *t, struct nerr *err)
{
	for (size_t i = 0; i < t->nvolumes; i++) {
		const struct topo_volume *v = &t->volumes[i];
		struct stat sb;

		if (v->type != TOPO_VOLUME_PERSISTENT || !v->path)
			continue;
		if (lstat(v->path, &sb) == 0) {
			if (!S_ISDIR(sb.st_mode))
				return nerr_set(err, ENOTDIR, "volume %s: %s is not a directory", v->name, v->path);
			continue;
		}
		if (mkdir_p(v->path, 0755) < 0)
			return nerr_set(err, errno, "volume %s: create %s", v->name, v->path);
		/* only a directory created here is given its owner: an existing
		 * one is the user's */
		if (v->owner_set && chown(v->path, v->uid, v->gid) < 0)
			return nerr_set(err, errno, "volume %s: chown %s", v->name, v->path);
	}
	return 0;
}

static int volumes_remove(const struct topology *t, struct nerr *err)
{
	int r = 0;

	for (size_t i = 0; i < t->nvolumes; i++) {
		const struct topo_volume *v = &t->volumes[i];

		if (v->type != TOPO_VOLUME_PERSISTENT || !v->path)
			continue;
		if (remove_tree(v->path) < 0 && errno != ENOENT && !r)
			r = nerr_set(err, errno, "volume %s: remove %s", v->name, v->path);
	}
	return r;
}

/* ---- the hosts file ------------------------------------------------------------
 * One per topology, bound at /etc/hosts of each of its bridge containers;
 * their supervisors keep their own lines in it (--hosts-file). Out of the
 * runtime directory, whose entries are containers. */
static char *hosts_dir(const struct topology *t)
{
	return xasprintf("%s-compose/%s", runtime_dir(), t->name);
}

static int hosts_prepare(struct topology *t, struct nerr *err)
{
	_cleanup_free_ char *dir = hosts_dir(t), *path = xasprintf("%s/hosts", dir);
	bool any = false;
	int r;

	for (size_t i = 0; i < t->nservices; i++) {
		struct container_config *c = &t->services[i].cfg;

		if (c->net.mode != NETWORK_BRIDGE || c->net.hosts_file)
			continue;
		c->net.hosts_file = xstrdup(path);
		any = true;
	}
	if (!any)
		return 0;
	if (mkdir_p(dir, 0755) < 0)
		return nerr_set(err, errno, "create %s", dir);
	if ((r = net_hosts_file_init(path, err)) < 0)
		return r;
	return 0;
}

static void hosts_remove(const struct topology *t)
{
	_cleanup_free_ char *dir = hosts_dir(t), *path = xasprintf("%s/hosts", dir);

	_cleanup_free_ char *parent = xasprintf("%s-compose", runtime_dir());

	unlink(path);
	rmdir(dir);
	rmdir(parent);   /* when no other topology has one */
}

/* After a failed up: the bridges no container holds (net_bridge_remove
 * leaves one in use: -EBUSY), and the hosts file when nothing of the
 * topology is left; what started stays, for `down` or the next `up`. */
static void unused_remove(const struct topology *t)
{
	struct topo_current *cur = NULL;
	size_t ncur = 0;

	for (size_t i = 0; i < t->nnetworks; i++) {
		struct nerr e = { 0 };

		if (t->networks[i].bridge[0])
			net_bridge_remove(t->networks[i].bridge, &e);
	}
	if (topology_current(t->name, &cur, &ncur, NULL) == 0 && !ncur)
		hosts_remove(t);
	topology_current_free(cur, ncur);
}

/* ---- starting --------------------------------------------------------------- */

enum svc_phase { PH_SKIP, PH_WAITING, PH_STARTING, PH_UP };

struct sched {
	enum svc_phase phase;
	pid_t pid;                /* PH_STARTING: the process starting it */
	char *msg;                /* its message (shared memory: a pipe's write end would
	                           * live on in the supervisor it forks) */
	uint64_t waiting_since;   /* dependencies started: their conditions are timed from here */
};

static int dep_fail(struct nerr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int dep_fail(struct nerr *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->code = ECHILD;
	return -ECHILD;
}

/* A dependency's condition: 1 met, 0 not yet, <0 never will be (err says
 * which and why). */
static int condition_met(const struct topology *t, const struct topo_dep *dep, struct nerr *err)
{
	ssize_t j = service_index(t, dep->service);
	struct container_state st = { 0 };
	char id[33];
	int r = 0;
	bool supervised;
	enum container_status s;

	if (j < 0)
		return nerr_set(err, ENOENT, "dependency %s: no such service", dep->service);
	if (state_lookup(t->services[j].cfg.name, id, NULL) < 0 || state_read(id, &st, NULL) < 0)
		return dep_fail(err, "dependency %s: its container %s is gone", dep->service,
				t->services[j].cfg.name);
	supervised = state_supervised(id);
	s = st.status == STATUS_EXITED ? STATUS_EXITED : supervised ? st.status :
	    st.status == STATUS_RUNNING ? STATUS_EXITED : STATUS_DEAD;
	if (st.status == STATUS_RUNNING && s == STATUS_EXITED)
		st.exit_code = EXIT_CODE_UNKNOWN;
	switch (dep->condition) {
	case TOPO_STARTED:
		r = s == STATUS_RUNNING || s == STATUS_EXITED;
		break;
	case TOPO_COMPLETED:
		if (s == STATUS_EXITED && st.exit_code == 0)
			r = 1;
		else if (s == STATUS_EXITED || s == STATUS_DEAD)
			r = dep_fail(err, "dependency %s exited with status %d before completing successfully",
				     dep->service, st.exit_code);
		break;
	case TOPO_HEALTHY:
		if (s == STATUS_RUNNING && st.ready && !st.restarting)
			r = 1;
		else if (s == STATUS_EXITED && st.exit_code == EXIT_CODE_UNKNOWN)
			r = dep_fail(err, "dependency %s exited (status unknown) while waiting for it to be healthy",
				     dep->service);
		else if (s == STATUS_EXITED || s == STATUS_DEAD)
			r = dep_fail(err, "dependency %s exited with status %d while waiting for it to be healthy",
				     dep->service, st.exit_code);
		else if (st.health.status == HEALTH_UNHEALTHY)
			r = dep_fail(err, "dependency %s is unhealthy (failing streak %u) while waiting for it "
				     "to be healthy", dep->service, st.health.failing_streak);
		break;
	}
	container_state_free(&st);
	return r;
}

#define MSG_MAX 1200

/* The process that starts one service: its message in `msg`. */
static void __attribute__((noreturn)) start_child(struct topo_service *svc, char *msg)
{
	struct nerr e = { 0 };
	sigset_t chld;
	int code = 125;

	/* the supervisor it forks gets the mask nucleus run would give it */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_UNBLOCK, &chld, NULL);

	if (container_config_load_policies(&svc->cfg, &e) < 0 || random_id(svc->cfg.id) < 0) {
		if (!e.code)
			nerr_set(&e, errno, "getrandom");
	} else if (container_run_detached(&svc->cfg, &code, &e) == 0 && !e.code) {
		_exit(0);
	}
	snprintf(msg, MSG_MAX, "%s", e.msg);
	_exit(1);
}

static int start_collect(struct topology *t, struct sched *sc, size_t i, bool wait, struct nerr *err)
{
	const char *msg = sc[i].msg;
	int ws;
	pid_t p;

	while ((p = waitpid(sc[i].pid, &ws, wait ? 0 : WNOHANG)) < 0 && errno == EINTR)
		;
	if (p == 0)
		return 0;
	sc[i].pid = 0;
	if (p < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws)) {
		sc[i].phase = PH_SKIP;
		return nerr_set(err, EIO, "service %s: %s", t->services[i].name, msg[0] ? msg : "could not be started");
	}
	sc[i].phase = PH_UP;
	return 1;
}

static int start_services(struct topology *t, struct sched *sc, const struct topo_up_opts *o, struct nerr *err)
{
	uint64_t timeout = o->timeout_ns ? o->timeout_ns : DEFAULT_TIMEOUT_NS;
	sigset_t chld, old;
	int r = 0;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);

	for (;;) {
		bool busy = false, progress = false;

		for (size_t k = 0; k < t->nservices && !r; k++) {
			size_t i = t->order[k];
			struct topo_service *svc = &t->services[i];
			bool deps_up = true, deps_met = true;

			if (sc[i].phase == PH_STARTING) {
				busy = true;
				if ((r = start_collect(t, sc, i, false, err)) > 0) {
					if (!o->quiet)
						fprintf(stderr, "%s: started\n", svc->name);
					progress = true;
					r = 0;
				}
				continue;
			}
			if (sc[i].phase != PH_WAITING)
				continue;
			busy = true;
			for (size_t d = 0; d < svc->ndeps; d++) {
				ssize_t j = service_index(t, svc->deps[d].service);

				if (j >= 0 && sc[j].phase != PH_UP && sc[j].phase != PH_SKIP)
					deps_up = false;
			}
			if (!deps_up)
				continue;
			if (!sc[i].waiting_since)
				sc[i].waiting_since = now_ns();
			for (size_t d = 0; d < svc->ndeps && deps_met && !r; d++) {
				int m = condition_met(t, &svc->deps[d], err);

				if (m < 0) {
					nerr_prefix(err, "service %s", svc->name);
					r = -ECHILD;
				} else if (!m && now_ns() - sc[i].waiting_since > timeout)
					r = dep_fail(err, "service %s: dependency %s not %s after %llu s",
						     svc->name, svc->deps[d].service, condition_names[svc->deps[d].condition],
						     (unsigned long long)(timeout / 1000000000ULL));
				else if (!m)
					deps_met = false;
			}
			if (r || !deps_met)
				continue;
			fflush(stdout);
			fflush(stderr);
			sc[i].msg[0] = '\0';
			sc[i].pid = fork();
			if (sc[i].pid == 0)
				start_child(svc, sc[i].msg);
			if (sc[i].pid < 0) {
				r = nerr_set(err, errno, "fork");
				continue;
			}
			sc[i].phase = PH_STARTING;
			progress = true;
		}
		if (r || !busy)
			break;
		if (!progress)
			pause_briefly(&chld);
	}
	/* on failure: the starts under way finish (nothing half-made is left);
	 * what started stays, for `down` or the next `up` */
	for (size_t i = 0; i < t->nservices; i++)
		if (sc[i].phase == PH_STARTING)
			start_collect(t, sc, i, true, r ? NULL : err);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

int topology_up(struct topology *t, const struct topo_up_opts *o, struct nerr *err)
{
	struct topo_current *cur = NULL;
	struct topo_plan plan = { 0 };
	_cleanup_free_ struct sched *sc = xcalloc(t->nservices + 1, sizeof(*sc));
	_cleanup_free_ bool *gone = NULL;
	char *msgs = NULL;
	size_t ncur = 0;
	int r;

	if ((r = topology_current(t->name, &cur, &ncur, err)) < 0)
		return r;
	if ((r = topology_plan(t, cur, ncur, &o->plan, &plan, err)) < 0)
		goto out;
	/* what goes: removals, and the recreated services' old containers,
	 * dependants first */
	gone = xcalloc(ncur + 1, sizeof(bool));
	for (size_t s = 0; s < plan.n; s++) {
		if (plan.steps[s].action != TOPO_REMOVE && plan.steps[s].action != TOPO_RECREATE)
			continue;
		if (!o->quiet)
			fprintf(stderr, "%s: %s (%s)\n", plan.steps[s].service, topo_action_names[plan.steps[s].action],
				plan.steps[s].reason);
		for (size_t c = 0; c < ncur; c++)
			if (!strcmp(cur[c].id, plan.steps[s].id))
				gone[c] = true;
	}
	if ((r = stop_in_order(t, cur, ncur, gone, o->stop_timeout, true, err)) < 0)
		goto out;
	if ((r = volumes_create(t, err)) < 0 || (r = hosts_prepare(t, err)) < 0)
		goto out;
	msgs = mmap(NULL, (t->nservices + 1) * MSG_MAX, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (msgs == MAP_FAILED) {
		msgs = NULL;
		r = nerr_set(err, errno, "mmap");
		goto out;
	}
	for (size_t i = 0; i < t->nservices; i++) {
		sc[i].phase = PH_SKIP;
		sc[i].msg = msgs + i * MSG_MAX;
	}
	for (size_t s = 0; s < plan.n; s++) {
		const struct topo_step *st = &plan.steps[s];

		if (st->index == SIZE_MAX)
			continue;
		sc[st->index].phase = st->action == TOPO_KEEP ? PH_UP : PH_WAITING;
		if (st->action == TOPO_CREATE && !o->quiet)
			fprintf(stderr, "%s: create\n", st->service);
	}
	r = start_services(t, sc, o, err);
	if (r < 0)
		unused_remove(t);
out:
	if (msgs)
		munmap(msgs, (t->nservices + 1) * MSG_MAX);
	topo_plan_free(&plan);
	topology_current_free(cur, ncur);
	return r;
}

int topology_down(const struct topology *t, unsigned timeout_s, bool volumes, struct nerr *err)
{
	struct topo_current *cur;
	size_t ncur;
	int r;

	if ((r = topology_current(t->name, &cur, &ncur, err)) < 0)
		return r;
	/* ephemeral volumes are tmpfs mounts of the containers: gone with them */
	r = stop_in_order(t, cur, ncur, NULL, timeout_s, true, err);
	topology_current_free(cur, ncur);
	if (r < 0)
		return r;
	/* the bridges: a container of another topology never has an address
	 * on them (each topology its own bridges), so -EBUSY only means a
	 * container of this one outlived its stop */
	for (size_t i = 0; i < t->nnetworks; i++) {
		struct nerr e = { 0 };

		if (t->networks[i].bridge[0] && net_bridge_remove(t->networks[i].bridge, &e) < 0 && !r) {
			nerr_set(err, 0, "network %s: %s", t->networks[i].name, e.msg);
			err->code = e.code ? e.code : EIO;
			r = -err->code;
		}
	}
	hosts_remove(t);
	if (volumes && volumes_remove(t, r ? NULL : err) < 0 && !r)
		r = -EIO;
	return r;
}
