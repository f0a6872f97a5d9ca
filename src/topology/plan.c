/* topology: what runs (found in the container store by its topology label)
 * against what the file says, and the plan that reconciles them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <nucleus/topology.h>

const char *const topo_action_names[] = {
	[TOPO_KEEP] = "keep", [TOPO_CREATE] = "create", [TOPO_RECREATE] = "recreate", [TOPO_REMOVE] = "remove", NULL,
};

void topology_current_free(struct topo_current *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].service);
		free(c[i].hash);
		strv_free(c[i].ports);
	}
	free(c);
}

int topology_current(const char *name, struct topo_current **out, size_t *n, struct nerr *err)
{
	_cleanup_strv_ char **ids = NULL;
	struct topo_current *c = NULL;
	size_t nc = 0;
	int r;

	*out = NULL;
	*n = 0;
	container_gc();
	if ((r = state_list(&ids, err)) < 0) {
		/* no runtime directory yet: nothing runs */
		if (r == -ENOENT) {
			nerr_clear(err);
			return 0;
		}
		return r;
	}
	for (size_t i = 0; ids && ids[i]; i++) {
		struct container_state st = { 0 };
		struct topo_current *e;
		bool supervised;

		if (state_read(ids[i], &st, NULL) < 0)
			continue;
		if (!st.cfg.topology || strcmp(st.cfg.topology, name) || !st.cfg.topology_service) {
			container_state_free(&st);
			continue;
		}
		c = xrealloc(c, (nc + 1) * sizeof(*c));
		e = &c[nc++];
		memset(e, 0, sizeof(*e));
		snprintf(e->id, sizeof(e->id), "%s", st.cfg.id);
		snprintf(e->name, sizeof(e->name), "%s", st.cfg.name);
		e->service = xstrdup(st.cfg.topology_service);
		e->hash = st.cfg.topology_hash ? xstrdup(st.cfg.topology_hash) : NULL;
		/* as ps: a running one nobody supervises has exited */
		supervised = state_supervised(ids[i]);
		e->status = st.status == STATUS_EXITED ? STATUS_EXITED : supervised ? st.status :
			    st.status == STATUS_RUNNING ? STATUS_EXITED : STATUS_DEAD;
		e->exit_code = st.status == STATUS_RUNNING && e->status == STATUS_EXITED ? EXIT_CODE_UNKNOWN :
			       st.exit_code;
		e->ready = st.ready;
		e->health = st.health.status;
		e->started_ns = st.started_ns;
		e->finished_ns = st.finished_ns;
		e->memory_max = st.cfg.res.limits.memory_max;
		for (size_t j = 0; st.ports && st.ports[j]; j++)
			strv_push(&e->ports, st.ports[j]);
		container_state_free(&st);
	}
	*out = c;
	*n = nc;
	return 0;
}

void topo_plan_free(struct topo_plan *p)
{
	free(p->steps);
	p->steps = NULL;
	p->n = 0;
}

static ssize_t service_index(const struct topology *t, const char *name)
{
	for (size_t i = 0; i < t->nservices; i++)
		if (!strcmp(t->services[i].name, name))
			return (ssize_t)i;
	return -1;
}

static const struct topo_current *current_of(const struct topo_current *cur, size_t ncur, const char *service)
{
	const struct topo_current *best = NULL;

	/* a running one before one that exited (a crashed rerun may have left both) */
	for (size_t i = 0; i < ncur; i++)
		if (!strcmp(cur[i].service, service) && (!best || cur[i].status == STATUS_RUNNING))
			best = &cur[i];
	return best;
}

static void size_text(uint64_t b, char *buf, size_t len)
{
	if (!b)
		snprintf(buf, len, "none");
	else if (!(b % (1ULL << 30)))
		snprintf(buf, len, "%lluG", (unsigned long long)(b >> 30));
	else if (!(b % (1ULL << 20)))
		snprintf(buf, len, "%lluM", (unsigned long long)(b >> 20));
	else
		snprintf(buf, len, "%llu", (unsigned long long)b);
}

/* The services `only` asks for and, recursively, their dependencies. */
static void mark_wanted(const struct topology *t, size_t i, bool *wanted)
{
	if (wanted[i])
		return;
	wanted[i] = true;
	for (size_t d = 0; d < t->services[i].ndeps; d++) {
		ssize_t j = service_index(t, t->services[i].deps[d].service);

		if (j >= 0)
			mark_wanted(t, (size_t)j, wanted);
	}
}

/* A service waits for `name` with completed_successfully. */
static bool awaited_completed(const struct topology *t, const char *name)
{
	for (size_t i = 0; i < t->nservices; i++)
		for (size_t d = 0; d < t->services[i].ndeps; d++)
			if (t->services[i].deps[d].condition == TOPO_COMPLETED &&
			    !strcmp(t->services[i].deps[d].service, name))
				return true;
	return false;
}

int topology_plan(const struct topology *t, const struct topo_current *cur, size_t ncur,
		  const struct topo_plan_opts *o, struct topo_plan *p, struct nerr *err)
{
	_cleanup_free_ bool *wanted = xcalloc(t->nservices + 1, sizeof(bool));
	_cleanup_free_ bool *changed = xcalloc(t->nservices + 1, sizeof(bool));

	p->steps = xcalloc(ncur + t->nservices + 1, sizeof(*p->steps));
	p->n = 0;
	for (size_t i = 0; o && o->only && o->only[i]; i++) {
		ssize_t j = service_index(t, o->only[i]);

		if (j < 0) {
			topo_plan_free(p);
			return nerr_set(err, ENOENT, "no service `%s` in %s", o->only[i], t->file);
		}
		mark_wanted(t, (size_t)j, wanted);
	}
	if (!o || !o->only)
		for (size_t i = 0; i < t->nservices; i++)
			wanted[i] = true;
	/* what the file no longer has, and extra containers of a service */
	for (size_t i = 0; i < ncur; i++) {
		struct topo_step *s;
		ssize_t j = service_index(t, cur[i].service);

		if (j >= 0 && current_of(cur, ncur, cur[i].service) == &cur[i])
			continue;
		s = &p->steps[p->n++];
		s->action = TOPO_REMOVE;
		s->service = cur[i].service;
		s->index = SIZE_MAX;
		snprintf(s->id, sizeof(s->id), "%s", cur[i].id);
		snprintf(s->reason, sizeof(s->reason), j < 0 ? "not in the file" : "another container of the service");
	}
	for (size_t k = 0; k < t->nservices; k++) {
		size_t i = t->order[k];
		const struct topo_service *svc = &t->services[i];
		const struct topo_current *c = current_of(cur, ncur, svc->name);
		struct topo_step *s;

		if (!wanted[i])
			continue;
		s = &p->steps[p->n++];
		s->service = svc->name;
		s->index = i;
		if (c)
			snprintf(s->id, sizeof(s->id), "%s", c->id);
		if (!c) {
			s->action = TOPO_CREATE;
			snprintf(s->reason, sizeof(s->reason), "not created");
		} else if (o && o->force_recreate) {
			s->action = TOPO_RECREATE;
			snprintf(s->reason, sizeof(s->reason), "restart");
		} else if (!c->hash || strcmp(c->hash, svc->hash)) {
			s->action = TOPO_RECREATE;
			if (c->memory_max != svc->cfg.res.limits.memory_max) {
				char a[32], b[32];

				size_text(c->memory_max, a, sizeof(a));
				size_text(svc->cfg.res.limits.memory_max, b, sizeof(b));
				snprintf(s->reason, sizeof(s->reason), "memory changed (%s -> %s)", a, b);
			} else {
				snprintf(s->reason, sizeof(s->reason), "configuration changed");
			}
		} else if (c->status != STATUS_RUNNING &&
			   !(c->status == STATUS_EXITED && c->exit_code == 0 && awaited_completed(t, svc->name))) {
			/* a one-shot that completed (what a service waits for with
			 * completed_successfully) is kept: it is not run again */
			s->action = TOPO_RECREATE;
			if (c->status == STATUS_EXITED && c->exit_code == EXIT_CODE_UNKNOWN)
				snprintf(s->reason, sizeof(s->reason), "not running (exited, status unknown)");
			else if (c->status == STATUS_EXITED)
				snprintf(s->reason, sizeof(s->reason), "not running (exited %d)", c->exit_code);
			else
				snprintf(s->reason, sizeof(s->reason), "not running (%s)", container_status_name(c->status));
		} else {
			/* unchanged, unless a dependency is (re)created: in start order,
			 * the dependencies' steps are already decided */
			s->action = TOPO_KEEP;
			snprintf(s->reason, sizeof(s->reason), c->status == STATUS_RUNNING ? "unchanged" :
				 "unchanged (completed)");
			for (size_t d = 0; d < svc->ndeps; d++) {
				ssize_t j = service_index(t, svc->deps[d].service);

				if (j >= 0 && changed[j]) {
					s->action = TOPO_RECREATE;
					snprintf(s->reason, sizeof(s->reason), "depends on %s, recreated", svc->deps[d].service);
					break;
				}
			}
		}
		if (s->action == TOPO_RECREATE)
			changed[i] = true;
	}
	return 0;
}
