/* compose's plan (src/topology/plan.c): what runs, as the container store
 * says, against the file; keep, create, recreate (a change, an exit, a
 * recreated dependency), remove. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <nucleus/cli.h>
#include <nucleus/topology.h>

static const char text[] =
	"name = \"pl\"\n"
	"[services.db]\n"
	"command = [\"sleep\", \"60\"]\n"
	"memory = \"128M\"\n"
	"health_check = \"true\"\n"
	"[services.migrate]\n"
	"command = [\"true\"]\n"
	"[[services.migrate.depends_on]]\n"
	"service = \"db\"\n"
	"condition = \"healthy\"\n"
	"[services.web]\n"
	"command = [\"sleep\", \"60\"]\n"
	"[[services.web.depends_on]]\n"
	"service = \"migrate\"\n"
	"condition = \"completed_successfully\"\n"
	"[services.lone]\n"
	"command = [\"sleep\", \"60\"]\n";

static void load(struct topology *t)
{
	struct nerr e = { 0 };

	if (topology_load_text("pl.toml", text, strlen(text), run_parse_args, t, &e) < 0)
		fail_msg("load: %s", e.msg);
}

/* A container of service `svc` as the store would show it. */
static void cur_add(struct topo_current **c, size_t *n, const char *svc, const char *hash,
		    enum container_status st, int code, uint64_t mem)
{
	struct topo_current *e;

	*c = xrealloc(*c, (*n + 1) * sizeof(**c));
	e = &(*c)[(*n)++];
	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%032zu", *n);
	e->service = xstrdup(svc);
	e->hash = xstrdup(hash);
	e->status = st;
	e->exit_code = code;
	e->memory_max = mem;
}

static const struct topo_step *step(const struct topo_plan *p, const char *svc)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->steps[i].service, svc))
			return &p->steps[i];
	fail_msg("no step for %s", svc);
	return NULL;
}

static const char *hash_of(const struct topology *t, const char *svc)
{
	return t->services[topology_service_index(t, svc)].hash;
}

static void all_running(struct topology *t, struct topo_current **c, size_t *n)
{
	cur_add(c, n, "db", hash_of(t, "db"), STATUS_RUNNING, 0, 128 << 20);
	cur_add(c, n, "migrate", hash_of(t, "migrate"), STATUS_EXITED, 0, 0);
	cur_add(c, n, "web", hash_of(t, "web"), STATUS_RUNNING, 0, 0);
	cur_add(c, n, "lone", hash_of(t, "lone"), STATUS_RUNNING, 0, 0);
}

static void nothing_runs(void **state)
{
	struct topology t;
	struct topo_plan p = { 0 };
	struct nerr e = { 0 };

	(void)state;
	load(&t);
	assert_int_equal(topology_plan(&t, NULL, 0, NULL, &p, &e), 0);
	assert_int_equal(p.n, 4);
	/* start order, dependencies first */
	assert_string_equal(p.steps[0].service, "db");
	for (size_t i = 0; i < p.n; i++)
		assert_int_equal(p.steps[i].action, TOPO_CREATE);
	topo_plan_free(&p);
	topology_free(&t);
}

static void unchanged_kept(void **state)
{
	struct topology t;
	struct topo_plan p = { 0 };
	struct topo_current *c = NULL;
	size_t n = 0;
	struct nerr e = { 0 };

	(void)state;
	load(&t);
	all_running(&t, &c, &n);
	assert_int_equal(topology_plan(&t, c, n, NULL, &p, &e), 0);
	assert_int_equal(p.n, 4);
	for (size_t i = 0; i < p.n; i++)
		assert_int_equal(p.steps[i].action, TOPO_KEEP);
	/* migrate exited 0 and web waits for it to complete: kept, not rerun */
	assert_string_equal(step(&p, "migrate")->reason, "unchanged (completed)");
	topo_plan_free(&p);
	topology_current_free(c, n);
	topology_free(&t);
}

static void change_takes_dependants(void **state)
{
	struct topology t;
	struct topo_plan p = { 0 };
	struct topo_current *c = NULL;
	size_t n = 0;
	struct nerr e = { 0 };

	(void)state;
	load(&t);
	all_running(&t, &c, &n);
	/* db was created with another configuration and 64M */
	free(c[0].hash);
	c[0].hash = xstrdup("0000");
	c[0].memory_max = 64 << 20;
	assert_int_equal(topology_plan(&t, c, n, NULL, &p, &e), 0);
	assert_int_equal(step(&p, "db")->action, TOPO_RECREATE);
	assert_string_equal(step(&p, "db")->reason, "memory changed (64M -> 128M)");
	assert_string_equal(step(&p, "db")->id, c[0].id);
	assert_int_equal(step(&p, "migrate")->action, TOPO_RECREATE);
	assert_string_equal(step(&p, "migrate")->reason, "depends on db, recreated");
	assert_int_equal(step(&p, "web")->action, TOPO_RECREATE);
	assert_int_equal(step(&p, "lone")->action, TOPO_KEEP);
	topo_plan_free(&p);
	topology_current_free(c, n);
	topology_free(&t);
}

static void exited_removed_and_only(void **state)
{
	struct topology t;
	struct topo_plan p = { 0 };
	struct topo_current *c = NULL;
	size_t n = 0;
	struct nerr e = { 0 };
	char *only[] = { "migrate", NULL };
	struct topo_plan_opts o = { .only = only };

	(void)state;
	load(&t);
	all_running(&t, &c, &n);
	c[3].status = STATUS_EXITED;     /* lone exited 0: nobody waits for it: rerun */
	cur_add(&c, &n, "gone", "1111", STATUS_RUNNING, 0, 0);
	assert_int_equal(topology_plan(&t, c, n, NULL, &p, &e), 0);
	assert_int_equal(step(&p, "lone")->action, TOPO_RECREATE);
	assert_string_equal(step(&p, "lone")->reason, "not running (exited 0)");
	assert_int_equal(step(&p, "gone")->action, TOPO_REMOVE);
	assert_string_equal(step(&p, "gone")->reason, "not in the file");
	assert_int_equal(p.steps[0].action, TOPO_REMOVE);   /* removals first */
	topo_plan_free(&p);
	/* `up migrate`: migrate and what it needs (db), not web or lone */
	assert_int_equal(topology_plan(&t, c, n, &o, &p, &e), 0);
	for (size_t i = 0; i < p.n; i++)
		assert_true(strcmp(p.steps[i].service, "web") && strcmp(p.steps[i].service, "lone"));
	step(&p, "db");
	step(&p, "migrate");
	topo_plan_free(&p);
	only[0] = "nope";
	assert_int_equal(topology_plan(&t, c, n, &o, &p, &e), -ENOENT);
	assert_string_equal(e.msg, "no service `nope` in pl.toml: No such file or directory");
	topology_current_free(c, n);
	topology_free(&t);
}

static void force_recreate(void **state)
{
	struct topology t;
	struct topo_plan p = { 0 };
	struct topo_current *c = NULL;
	size_t n = 0;
	struct nerr e = { 0 };
	struct topo_plan_opts o = { .force_recreate = true };

	(void)state;
	load(&t);
	all_running(&t, &c, &n);
	assert_int_equal(topology_plan(&t, c, n, &o, &p, &e), 0);
	for (size_t i = 0; i < p.n; i++)
		assert_int_equal(p.steps[i].action, TOPO_RECREATE);
	topo_plan_free(&p);
	topology_current_free(c, n);
	topology_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nothing_runs),
		cmocka_unit_test(unchanged_kept),
		cmocka_unit_test(change_takes_dependants),
		cmocka_unit_test(exited_removed_and_only),
		cmocka_unit_test(force_recreate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
