/* nucleus compose: a topology file's services, networks and volumes
 * (src/topology) brought up, reconciled, shown and taken down. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>
#include <nucleus/rotlog.h>
#include <nucleus/topology.h>

static const char compose_help[] =
	"Usage: nucleus compose [-f FILE] COMMAND [OPTIONS]\n"
	"\n"
	"Run a topology: the networks, volumes and services of a TOML file (default\n"
	"./topology.toml), services started in dependency order, independent ones in\n"
	"parallel (see docs/compose.md).\n"
	"\n"
	"Commands:\n"
	"  validate [--json]      Check the file; print the start order\n"
	"  plan [SERVICE...]      What `up` would do (create, recreate, keep, remove), and why\n"
	"  up [-d] [SERVICE...]   Create what is missing, recreate what changed (and its dependants)\n"
	"  ps [--json]            The topology's containers: service, state, health, ports\n"
	"  logs [-f] [SERVICE]    The services' output, each line prefixed `service | `\n"
	"  stop                   Stop the services, dependants first\n"
	"  restart                Stop, then start again in dependency order\n"
	"  down [--volumes]       Stop and remove the services, then the bridges and hosts file\n"
	"\n"
	"Options (before or after COMMAND; `logs` takes --file only, -f is --follow there):\n"
	"  -f, --file FILE             The topology file (default ./topology.toml)\n"
	"  -h, --help                  Show this help\n"
	"\n"
	"Each command's own options: 'nucleus compose COMMAND --help'.\n";

static const char *compose_file;   /* -f before the command */

static const char *file_or_default(void)
{
	return compose_file ? compose_file : TOPOLOGY_DEFAULT_FILE;
}

/* The file loaded and checked; EXIT_RUNTIME (message printed) when not. */
static int load(const char *verb, struct topology *t)
{
	struct nerr err = { 0 };

	memset(t, 0, sizeof(*t));
	if (topology_load(file_or_default(), run_parse_args, t, &err) < 0) {
		fprintf(stderr, "nucleus: compose %s: %s\n", verb, err.msg);
		return EXIT_RUNTIME;
	}
	return 0;
}

/* The same, and the subnets checked against the host's interfaces (what
 * creates: validate, up, restart). */
static int load_checked(const char *verb, struct topology *t)
{
	struct nerr err = { 0 };
	int r;

	if ((r = load(verb, t)))
		return r;
	if (topology_check_host(t, &err) < 0) {
		fprintf(stderr, "nucleus: compose %s: %s\n", verb, err.msg);
		topology_free(t);
		return EXIT_RUNTIME;
	}
	return 0;
}

/* The options every command takes: -f/--file (with `file_short`), -h; the
 * rest the command's own through `fn`. Returns -1 to go on, else the
 * exit status. */
struct opt_extra {
	int (*fn)(int c, const char *arg, void *ctx);
	void *ctx;
};

static int parse_opts(const char *verb, const char *help, int argc, char **argv, const char *shortopts,
		      const struct option *extra, const struct opt_extra *x)
{
	struct option opts[16];
	size_t n = 0;
	int c;

	opts[n++] = (struct option){ "file", required_argument, NULL, 'F' };
	opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	for (size_t i = 0; extra && extra[i].name && n < ARRAY_SIZE(opts) - 1; i++)
		opts[n++] = extra[i];
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, shortopts, opts)) != -1) {
		switch (c) {
		case 'f':
		case 'F': compose_file = optarg; break;
		case 'h': fputs(help, stdout); return 0;
		case ':': return cli_usage_error(verb, "flag `%s` needs a value", argv[optind - 1]);
		case '?': return cli_usage_error(verb, "%s", cli_opterror());
		default:
			if (!x || x->fn(c, optarg, x->ctx) < 0)
				return cli_usage_error(verb, "invalid value `%s` for `%s`", optarg ? optarg : "",
						       argv[optind - 1]);
		}
	}
	return -1;
}

static int no_args(const char *verb, int argc, char **argv)
{
	if (optind < argc)
		return cli_usage_error(verb, "unexpected argument `%s`", argv[optind]);
	return -1;
}

static const char *const condition_names[] = {
	[TOPO_STARTED] = "started", [TOPO_HEALTHY] = "healthy", [TOPO_COMPLETED] = "completed_successfully",
};

/* ---- validate ------------------------------------------------------------- */

struct flags {
	bool json, detach, volumes, follow;
	uint64_t timeout_s, stop_s;
	bool timeout_set;
};

enum { OPT_JSON = 1000, OPT_VOLUMES, OPT_TIMEOUT };

static int flag_fn(int c, const char *arg, void *ctx)
{
	struct flags *f = ctx;

	switch (c) {
	case OPT_JSON: f->json = true; return 0;
	case OPT_VOLUMES: f->volumes = true; return 0;
	case 'd': f->detach = true; return 0;
	case 'F' + 256: f->follow = true; return 0;
	case OPT_TIMEOUT: f->timeout_set = true; return parse_u64(arg, 1, 86400, &f->timeout_s);
	case 't': return parse_u64(arg, 0, 86400, &f->stop_s);
	}
	return -1;
}

static const char validate_help[] =
	"Usage: nucleus compose validate [-f FILE] [--json]\n"
	"\n"
	"Check the topology file (every key known, every reference resolved, no cycle,\n"
	"`healthy` only on a service with a health check, subnets valid and apart) and\n"
	"print the start order: a service a line, with what it depends on.\n"
	"\n"
	"Options:\n"
	"      --json            The networks, volumes and start order as JSON\n"
	"  -f, --file FILE       The topology file (default ./topology.toml)\n"
	"  -h, --help            Show this help\n";

static int compose_validate(int argc, char **argv)
{
	static const struct option extra[] = { { "json", no_argument, NULL, OPT_JSON }, { NULL, 0, NULL, 0 } };
	struct flags f = { 0 };
	struct opt_extra x = { flag_fn, &f };
	struct topology t;
	int r;

	if ((r = parse_opts("compose validate", validate_help, argc, argv, "+:f:h", extra, &x)) >= 0)
		return r;
	if ((r = no_args("compose validate", argc, argv)) >= 0)
		return r;
	if ((r = load_checked("validate", &t)))
		return r;
	if (f.json) {
		json_t *o = json_object(), *order = json_array(), *nets = json_array(), *vols = json_array();

		json_object_set_new(o, "name", json_string(t.name));
		for (size_t i = 0; i < t.nnetworks; i++) {
			char s4[64] = "", s6[64] = "";

			cidr_format(&t.networks[i].subnet4, s4, sizeof(s4));
			if (t.networks[i].subnet6.family)
				cidr_format(&t.networks[i].subnet6, s6, sizeof(s6));
			json_array_append_new(nets, json_pack("{s:s,s:s,s:s?,s:s}", "name", t.networks[i].name,
							      "subnet", s4, "subnet6", s6[0] ? s6 : NULL,
							      "bridge", t.networks[i].bridge));
		}
		for (size_t i = 0; i < t.nvolumes; i++)
			json_array_append_new(vols, json_pack("{s:s,s:s,s:s?}", "name", t.volumes[i].name, "type",
							      t.volumes[i].type == TOPO_VOLUME_PERSISTENT ?
							      "persistent" : "ephemeral", "path", t.volumes[i].path));
		for (size_t k = 0; k < t.nservices; k++) {
			const struct topo_service *s = &t.services[t.order[k]];
			json_t *deps = json_array(), *snets = json_array();

			for (size_t d = 0; d < s->ndeps; d++)
				json_array_append_new(deps, json_pack("{s:s,s:s}", "service", s->deps[d].service,
								      "condition", condition_names[s->deps[d].condition]));
			for (size_t n = 0; s->networks && s->networks[n]; n++)
				json_array_append_new(snets, json_string(s->networks[n]));
			json_array_append_new(order, json_pack("{s:s,s:s,s:o,s:o,s:s}", "service", s->name, "container",
							       s->cfg.name, "depends_on", deps, "networks", snets,
							       "hash", s->hash));
		}
		json_object_set_new(o, "networks", nets);
		json_object_set_new(o, "volumes", vols);
		json_object_set_new(o, "order", order);
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		for (size_t k = 0; k < t.nservices; k++) {
			const struct topo_service *s = &t.services[t.order[k]];

			printf("%s", s->name);
			for (size_t d = 0; d < s->ndeps; d++)
				printf("%s%s (%s)", d ? ", " : "  depends on ", s->deps[d].service,
				       condition_names[s->deps[d].condition]);
			putchar('\n');
		}
	}
	topology_free(&t);
	return 0;
}

/* ---- plan ---------------------------------------------------------------------- */

static const char plan_help[] =
	"Usage: nucleus compose plan [-f FILE] [--json] [SERVICE...]\n"
	"\n"
	"What `compose up` would do, without doing it: for each service create, recreate,\n"
	"keep or remove, and why. With SERVICE..., only those and their dependencies.\n"
	"\n"
	"Options:\n"
	"      --json            As JSON\n"
	"  -f, --file FILE       The topology file (default ./topology.toml)\n"
	"  -h, --help            Show this help\n";

static int compose_plan(int argc, char **argv)
{
	static const struct option extra[] = { { "json", no_argument, NULL, OPT_JSON }, { NULL, 0, NULL, 0 } };
	struct flags f = { 0 };
	struct opt_extra x = { flag_fn, &f };
	struct topo_plan_opts po = { 0 };
	struct topo_current *cur = NULL;
	struct topo_plan p = { 0 };
	struct nerr err = { 0 };
	struct topology t;
	size_t ncur = 0;
	int r;

	if ((r = parse_opts("compose plan", plan_help, argc, argv, "+:f:h", extra, &x)) >= 0)
		return r;
	/* (the loader runs run's flag parser: optind is its afterwards) */
	po.only = optind < argc ? argv + optind : NULL;
	if ((r = load("plan", &t)))
		return r;
	if (topology_current(t.name, &cur, &ncur, &err) < 0 || topology_plan(&t, cur, ncur, &po, &p, &err) < 0) {
		r = cli_fail(&err);
		goto out;
	}
	if (f.json) {
		json_t *a = json_array();

		for (size_t i = 0; i < p.n; i++)
			json_array_append_new(a, json_pack("{s:s,s:s,s:s?,s:s}", "service", p.steps[i].service, "action",
							   topo_action_names[p.steps[i].action], "container",
							   p.steps[i].id[0] ? p.steps[i].id : NULL, "reason", p.steps[i].reason));
		json_dumpf(a, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(a);
	} else {
		struct text_table tbl = { .ncols = 4 };

		text_table_add(&tbl, "SERVICE", "ACTION", "CONTAINER", "REASON");
		for (size_t i = 0; i < p.n; i++) {
			char id[16];

			snprintf(id, sizeof(id), "%.12s", p.steps[i].id[0] ? p.steps[i].id : "-");
			text_table_add(&tbl, p.steps[i].service, topo_action_names[p.steps[i].action], id,
				       p.steps[i].reason);
		}
		text_table_print(&tbl, stdout);
	}
out:
	topo_plan_free(&p);
	topology_current_free(cur, ncur);
	topology_free(&t);
	return r;
}

static int show_logs(const struct topology *t, char *const *only, bool follow);
static volatile sig_atomic_t logs_interrupted;

/* ---- up, restart --------------------------------------------------------------- */

static const char up_help[] =
	"Usage: nucleus compose up [-f FILE] [-d] [OPTIONS] [SERVICE...]\n"
	"\n"
	"Bring the topology to what the file says: volumes created, then each service\n"
	"started once what it depends on holds (started, healthy, completed_successfully),\n"
	"services whose dependencies hold started in parallel. A running container with\n"
	"the file's configuration is kept; a changed one is recreated with everything that\n"
	"depends on it; one whose service left the file is stopped and removed. A\n"
	"dependency that exits or turns unhealthy while a service waits for it fails `up`\n"
	"at once, naming it. With SERVICE..., only those and their dependencies.\n"
	"\n"
	"Without -d, `up` then stays in the foreground showing the services' output (as\n"
	"`compose logs -f`) until they end or Ctrl-C, which stops them.\n"
	"\n"
	"Options:\n"
	"  -d, --detach          Return once the services are started\n"
	"      --timeout SECS    Wait at most this long for each dependency condition (120)\n"
	"  -t, --time SECS       Stopping what is recreated or removed: SIGKILL after (10)\n"
	"  -f, --file FILE       The topology file (default ./topology.toml)\n"
	"  -h, --help            Show this help\n";

static int do_up(const char *verb, const char *help, int argc, char **argv, bool restart)
{
	static const struct option extra[] = {
		{ "detach", no_argument, NULL, 'd' }, { "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "time", required_argument, NULL, 't' }, { NULL, 0, NULL, 0 },
	};
	struct flags f = { .stop_s = 10, .timeout_s = 120 };
	struct opt_extra x = { flag_fn, &f };
	struct topo_up_opts o = { 0 };
	struct nerr err = { 0 };
	struct topology t;
	int r;

	if ((r = parse_opts(verb, help, argc, argv, "+:f:dt:h", extra, &x)) >= 0)
		return r;
	if (restart && optind < argc)
		return cli_usage_error(verb, "unexpected argument `%s`", argv[optind]);
	o.plan.only = optind < argc ? argv + optind : NULL;
	if ((r = load_checked(verb + strlen("compose "), &t)))
		return r;
	o.timeout_ns = f.timeout_s * 1000000000ULL;
	o.stop_timeout = (unsigned)f.stop_s;
	if (restart && topology_stop(&t, o.stop_timeout, &err) < 0) {
		r = cli_fail(&err);
		goto out;
	}
	o.plan.force_recreate = restart;
	if (topology_up(&t, &o, &err) < 0) {
		fprintf(stderr, "nucleus: %s: %s\n", verb, err.msg);
		r = 1;
	} else if (!restart && !f.detach) {
		/* docker compose: in the foreground, the services' output until
		 * they end or Ctrl-C, which stops them */
		show_logs(&t, o.plan.only, true);
		if (logs_interrupted) {
			fprintf(stderr, "Stopping %s\n", t.name);
			if (topology_stop(&t, o.stop_timeout, &err) < 0)
				r = cli_fail(&err);
		}
	}
out:
	topology_free(&t);
	return r;
}

static int compose_up(int argc, char **argv)
{
	return do_up("compose up", up_help, argc, argv, false);
}

static const char restart_help[] =
	"Usage: nucleus compose restart [-f FILE] [OPTIONS]\n"
	"\n"
	"Stop the topology's services (dependants first), then start them again in\n"
	"dependency order, each a new container (its volumes kept).\n"
	"\n"
	"Options:\n"
	"      --timeout SECS    Wait at most this long for each dependency condition (120)\n"
	"  -t, --time SECS       SIGKILL after (10)\n"
	"  -f, --file FILE       The topology file (default ./topology.toml)\n"
	"  -h, --help            Show this help\n";

static int compose_restart(int argc, char **argv)
{
	return do_up("compose restart", restart_help, argc, argv, true);
}

/* ---- stop, down ------------------------------------------------------------------ */

static const char stop_help[] =
	"Usage: nucleus compose stop [-f FILE] [-t SECS]\n"
	"\n"
	"Stop the topology's containers, dependants first: SIGTERM, SIGKILL after SECS (10).\n"
	"They stay, exited, until `up` (which recreates them) or `down`.\n"
	"\n"
	"Options:\n"
	"  -t, --time SECS       SIGKILL after (10)\n"
	"  -f, --file FILE       The topology file (default ./topology.toml)\n"
	"  -h, --help            Show this help\n";

static const char down_help[] =
	"Usage: nucleus compose down [-f FILE] [-t SECS] [--volumes]\n"
	"\n"
	"Stop and remove the topology's containers, dependants first (ephemeral volumes go\n"
	"with them), then its bridges and hosts file. Containers are found by their\n"
	"topology label, so what a killed `up` started is collected too.\n"
	"\n"
	"Options:\n"
	"  -t, --time SECS       SIGKILL after (10)\n"
	"      --volumes         Remove the persistent volumes' directories too\n"
	"  -f, --file FILE       The topology file (default ./topology.toml)\n"
	"  -h, --help            Show this help\n";

static int do_down(const char *verb, const char *help, int argc, char **argv, bool down)
{
	static const struct option extra[] = {
		{ "time", required_argument, NULL, 't' }, { "volumes", no_argument, NULL, OPT_VOLUMES },
		{ NULL, 0, NULL, 0 },
	};
	struct flags f = { .stop_s = 10 };
	struct opt_extra x = { flag_fn, &f };
	struct nerr err = { 0 };
	struct topology t;
	int r;

	if ((r = parse_opts(verb, help, argc, argv, "+:f:t:h", extra, &x)) >= 0)
		return r;
	if (!down && f.volumes)
		return cli_usage_error(verb, "unknown flag `--volumes`");
	if ((r = no_args(verb, argc, argv)) >= 0)
		return r;
	if ((r = load(verb + strlen("compose "), &t)))
		return r;
	r = down ? topology_down(&t, (unsigned)f.stop_s, f.volumes, &err) : topology_stop(&t, (unsigned)f.stop_s, &err);
	if (r < 0)
		r = cli_fail(&err);
	topology_free(&t);
	return r;
}

static int compose_stop(int argc, char **argv)
{
	return do_down("compose stop", stop_help, argc, argv, false);
}

static int compose_down(int argc, char **argv)
{
	return do_down("compose down", down_help, argc, argv, true);
}

/* ---- ps ------------------------------------------------------------------------------ */

static const char ps_help[] =
	"Usage: nucleus compose ps [-f FILE] [--json]\n"
	"\n"
	"The topology's containers, in start order: service, container, state, health,\n"
	"published ports.\n"
	"\n"
	"Options:\n"
	"      --json            As JSON (service, container, id, state, health, ready, ports)\n"
	"  -f, --file FILE       The topology file (default ./topology.toml)\n"
	"  -h, --help            Show this help\n";

static void state_text(const struct topo_current *c, char *buf, size_t len)
{
	if (c->status == STATUS_EXITED && c->exit_code == EXIT_CODE_UNKNOWN)
		snprintf(buf, len, "exited (unknown)");
	else if (c->status == STATUS_EXITED)
		snprintf(buf, len, "exited (%d)", c->exit_code);
	else
		snprintf(buf, len, "%s", c->status == STATUS_RUNNING ? "running" : c->status == STATUS_CREATING ?
			 "created" : "dead");
}

/* Order: services as the file starts them, then what is not in the file. */
static size_t rank(const struct topology *t, const char *service)
{
	for (size_t k = 0; k < t->nservices; k++)
		if (!strcmp(t->services[t->order[k]].name, service))
			return k;
	return t->nservices;
}

static int compose_ps(int argc, char **argv)
{
	static const struct option extra[] = { { "json", no_argument, NULL, OPT_JSON }, { NULL, 0, NULL, 0 } };
	struct flags f = { 0 };
	struct opt_extra x = { flag_fn, &f };
	struct topo_current *cur = NULL;
	struct nerr err = { 0 };
	struct topology t;
	size_t ncur = 0;
	json_t *arr = NULL;
	struct text_table tbl = { .ncols = 5 };
	int r;

	if ((r = parse_opts("compose ps", ps_help, argc, argv, "+:f:h", extra, &x)) >= 0)
		return r;
	if ((r = no_args("compose ps", argc, argv)) >= 0)
		return r;
	if ((r = load("ps", &t)))
		return r;
	if (topology_current(t.name, &cur, &ncur, &err) < 0) {
		r = cli_fail(&err);
		goto out;
	}
	if (f.json)
		arr = json_array();
	else
		text_table_add(&tbl, "SERVICE", "CONTAINER", "STATE", "HEALTH", "PORTS");
	for (size_t k = 0; k <= t.nservices; k++) {
		for (size_t i = 0; i < ncur; i++) {
			const struct topo_current *c = &cur[i];
			char state[48];
			_cleanup_free_ char *ports = NULL;
			json_t *jp;

			if (rank(&t, c->service) != k)
				continue;
			state_text(c, state, sizeof(state));
			if (f.json) {
				jp = json_array();
				for (size_t p = 0; c->ports && c->ports[p]; p++)
					json_array_append_new(jp, json_string(c->ports[p]));
				json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:o}", "service", c->service,
								     "container", c->name, "id", c->id, "state", state,
								     "health", health_status_name(c->health), "ready",
								     c->ready, "ports", jp));
				continue;
			}
			for (size_t p = 0; c->ports && c->ports[p]; p++) {
				char *n = xasprintf("%s%s%s", ports ? ports : "", ports ? ", " : "", c->ports[p]);

				free(ports);
				ports = n;
			}
			text_table_add(&tbl, c->service, c->name, state,
				       c->health == HEALTH_NONE ? "" : health_status_name(c->health), ports ? ports : "");
		}
	}
	if (f.json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
	} else {
		text_table_print(&tbl, stdout);
	}
out:
	topology_current_free(cur, ncur);
	topology_free(&t);
	return r;
}

/* ---- logs ------------------------------------------------------------------------------ */

static const char logs_help[] =
	"Usage: nucleus compose logs [--file FILE] [-f|--follow] [SERVICE...]\n"
	"\n"
	"The services' output (stdout on stdout, stderr on stderr), each line prefixed with\n"
	"`service | `. With --follow, new output until every container has exited or\n"
	"Ctrl-C. (-f is --follow here: give the file with --file or `compose -f FILE logs`.)\n"
	"\n"
	"Options:\n"
	"  -f, --follow          Keep printing new output\n"
	"      --file FILE       The topology file (default ./topology.toml)\n"
	"  -h, --help            Show this help\n";

struct log_src {
	const char *service;
	char id[33];
	struct rotlog_reader *r;
	bool mid_line[3];
	size_t width;
};

static void emit_prefixed(const char *line, size_t len, unsigned file, void *arg)
{
	struct log_src *s = arg;
	struct log_record rec;
	const char *p, *end;

	(void)file;
	if (!len || log_decode(line, len, &rec) < 0)
		return;
	/* a prefix at the start of each line; a record may hold part of one */
	p = rec.text;
	end = rec.text + rec.len;
	while (p < end) {
		int fd = rec.is_stderr ? STDERR_FILENO : STDOUT_FILENO;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);

		if (!s->mid_line[fd]) {
			char pre[96];

			snprintf(pre, sizeof(pre), "%-*s | ", (int)s->width, s->service);
			write_all(fd, pre, strlen(pre));
		}
		write_all(fd, p, n);
		s->mid_line[fd] = !nl;
		p += n;
	}
	free(rec.text);
}

static void on_interrupt(int sig)
{
	(void)sig;
	logs_interrupted = 1;
}

/* The logs of the topology's containers (of services `only`, NULL: all),
 * in start order; with `follow` until every one has ended or a signal
 * (logs_interrupted). */
static int show_logs(const struct topology *t, char *const *only, bool follow)
{
	struct topo_current *cur = NULL;
	struct nerr err = { 0 };
	struct log_src *src = NULL;
	size_t ncur = 0, nsrc = 0, width = 0;

	if (topology_current(t->name, &cur, &ncur, &err) < 0)
		return cli_fail(&err);
	src = xcalloc(ncur + 1, sizeof(*src));
	for (size_t k = 0; k <= t->nservices; k++) {
		for (size_t i = 0; i < ncur; i++) {
			struct container_state st = { 0 };

			if (rank(t, cur[i].service) != k || (only && !strv_contains(only, cur[i].service)))
				continue;
			if (state_read(cur[i].id, &st, NULL) < 0)
				continue;
			if (st.log_path[0] && rotlog_reader_open(st.log_path, &src[nsrc].r, NULL) == 0) {
				src[nsrc].service = cur[i].service;
				snprintf(src[nsrc].id, sizeof(src[nsrc].id), "%s", cur[i].id);
				if (strlen(cur[i].service) > width)
					width = strlen(cur[i].service);
				nsrc++;
			}
			container_state_free(&st);
		}
	}
	for (size_t i = 0; i < nsrc; i++) {
		src[i].width = width;
		rotlog_reader_read(src[i].r, emit_prefixed, &src[i]);
	}
	if (follow) {
		struct sigaction sa = { .sa_handler = on_interrupt };

		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		while (!logs_interrupted) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };
			bool any = false;

			for (size_t i = 0; i < nsrc; i++) {
				rotlog_reader_read(src[i].r, emit_prefixed, &src[i]);
				any |= state_supervised(src[i].id);
			}
			if (!any)
				break;
			nanosleep(&ts, NULL);
		}
		for (size_t i = 0; i < nsrc; i++)
			rotlog_reader_read(src[i].r, emit_prefixed, &src[i]);
	}
	for (size_t i = 0; i < nsrc; i++)
		rotlog_reader_close(src[i].r);
	free(src);
	topology_current_free(cur, ncur);
	return 0;
}

static int compose_logs(int argc, char **argv)
{
	struct topology t;
	bool follow = false;
	int c, r = 0, first;

	/* -f is --follow here (docker compose logs -f) */
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'F' }, { "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "+:fh", opts)) != -1) {
		switch (c) {
		case 'F': compose_file = optarg; break;
		case 'f': follow = true; break;
		case 'h': fputs(logs_help, stdout); return 0;
		case ':': return cli_usage_error("compose logs", "flag `%s` needs a value", argv[optind - 1]);
		default: return cli_usage_error("compose logs", "%s", cli_opterror());
		}
	}
	first = optind;   /* the loader runs run's flag parser */
	if ((r = load("logs", &t)))
		return r;
	for (int i = first; i < argc; i++) {
		if (topology_service_index(&t, argv[i]) < 0) {
			r = cli_usage_error("compose logs", "no service `%s` in %s", argv[i], t.file);
			goto out;
		}
	}
	r = show_logs(&t, first < argc ? argv + first : NULL, follow);
out:
	topology_free(&t);
	return r;
}

/* ---- the verb ----------------------------------------------------------------------------- */

int cmd_compose(int argc, char **argv)
{
	static const struct cli_subcommand subs[] = {
		{ "validate", compose_validate }, { "plan", compose_plan }, { "up", compose_up },
		{ "ps", compose_ps }, { "logs", compose_logs }, { "stop", compose_stop },
		{ "restart", compose_restart }, { "down", compose_down }, { NULL, NULL },
	};
	int i = 1;

	/* docker compose's place for the file: before the command */
	while (i < argc && argv[i][0] == '-' && strcmp(argv[i], "-h") && strcmp(argv[i], "--help")) {
		if ((!strcmp(argv[i], "-f") || !strcmp(argv[i], "--file")) && i + 1 < argc) {
			compose_file = argv[i + 1];
			i += 2;
		} else if (!strncmp(argv[i], "--file=", 7)) {
			compose_file = argv[i] + 7;
			i++;
		} else if (!strncmp(argv[i], "-f", 2) && argv[i][2]) {
			compose_file = argv[i] + 2;
			i++;
		} else {
			return cli_usage_error("compose", "unknown flag `%s`", argv[i]);
		}
	}
	argv[i - 1] = argv[0];
	return cli_subcommands("compose", compose_help, subs, argc - i + 1, argv + i - 1);
}
